/*
 * tests/test_csr.c - decoding and parsing certificate signing requests.
 *
 * The CSRs are made by an independent implementation, the openssl CLI, in
 * a temporary directory when the suite starts: good ones in every encoding
 * users send (PEM, certreq's "NEW CERTIFICATE REQUEST", bare base64 with
 * CRLF, DER), and hostile or mistaken ones (weak and exotic keys, SHA-1,
 * tampered signatures, private keys, certificates, truncations).
 */
#include <CUnit/Basic.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/random.h>

#include <mbedtls/asn1.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_csr.h>

#include "ca/csr.h"
#include "ca/profile.h"
#include "util/err.h"

static char tmpdir[64];

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void
path_in_tmp(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* Run an openssl command line in the temporary directory, quietly. */
static int
ossl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
ossl(const char *fmt, ...)
{
	char args[8192], cmd[8448];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "cd '%s' && openssl %s >/dev/null 2>&1",
		 tmpdir, args);
	return system(cmd) == 0 ? 0 : -1;
}

/* Read a file of the temporary directory; *len receives its size. The
 * buffer is heap, NUL-terminated for convenience, caller frees. */
static unsigned char *
slurp(const char *name, size_t *len)
{
	char path[256];
	FILE *f;
	unsigned char *buf;
	long n;

	path_in_tmp(path, sizeof(path), name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf != NULL) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* Load a CSR file with ca_csr_load; returns rc and fills *err / *c. */
static int
load_file(const char *name, struct ca_csr *c, struct mica_err *err)
{
	unsigned char *buf;
	size_t len = 0;
	int rc;

	buf = slurp(name, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memset(err, 0, sizeof(*err));
	rc = ca_csr_load(buf, len, c, err);
	free(buf);
	return rc;
}

/* Expect NAME to be refused with KIND and CODE. */
static void
expect_refused(const char *name, mica_errkind kind, const char *code)
{
	struct ca_csr c;
	struct mica_err err;
	int rc = load_file(name, &c, &err);

	if (rc != -1 || strcmp(err.code, code) != 0)
		fprintf(stderr, "\n  %s: rc %d code %s (%s), expected %s\n",
			name, rc, err.code, err.msg, code);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(err.kind, kind);
	CU_ASSERT_STRING_EQUAL(err.code, code);
	CU_ASSERT_PTR_NULL(c.der);
	CU_ASSERT_PTR_NULL(c.names);
	ca_csr_free(&c);
}

/* Replace every occurrence of FROM by TO in S (heap, NUL-terminated);
 * returns a new heap string. */
static char *
replace_all(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, from)) != NULL; p += fl)
		n++;
	out = malloc(strlen(s) + n * tl + 1);
	if (out == NULL)
		return NULL;
	for (o = out, p = s; *p != '\0';) {
		if (strncmp(p, from, fl) == 0) {
			memcpy(o, to, tl);
			o += tl;
			p += fl;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

/* The base64 body of a PEM file: the lines between BEGIN and END. */
static char *
pem_body(const char *pem)
{
	const char *b = strstr(pem, "-----\n"), *e = strstr(pem, "-----END");
	char *out;

	if (b == NULL || e == NULL || e < b)
		return NULL;
	b += 6;
	out = malloc((size_t)(e - b) + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, b, (size_t)(e - b));
	out[e - b] = '\0';
	return out;
}

static int
rm_rf_tmp(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	char path[512];

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(tmpdir);
}

/* ------------------------------------------------------------------ */
/* Fixtures: made once by the openssl CLI                              */
/* ------------------------------------------------------------------ */

#define SUBJ "-subj '/CN=www.contoso.test/O=Contoso'"

/* 255 characters: pkcs-9-ub-challengePassword. */
#define LONG_CHALLENGE \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"

/* NAME.pem: a request by p256.key with challengePassword VALUE, encoded
 * as openssl's string_mask MASK chooses, made from a configuration file
 * as docs/API.md tells users to. */
static int
chal_req(const char *name, const char *mask, const char *value)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.cnf", tmpdir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "[req]\nprompt = no\ndistinguished_name = dn\n"
		"attributes = attrs\nstring_mask = %s\n[dn]\n"
		"CN = www.contoso.test\n[attrs]\nchallengePassword = %s\n",
		mask, value);
	if (fclose(f) != 0)
		return -1;
	return ossl("req -new -utf8 -key p256.key -config %s.cnf -out %s.pem",
		    name, name);
}

/* Fifty e-acutes: a CN of a length any relying party takes (at most 64
 * characters, RFC 5280 A.1 ub-common-name). */
#define E_ACUTE_10 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" \
		   "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
#define E_ACUTE_50 E_ACUTE_10 E_ACUTE_10 E_ACUTE_10 E_ACUTE_10 E_ACUTE_10
/* Sixty Cyrillic capital ZHEs (an O of a Russian company's full name is
 * as long; RFC 5280 A.1 ub-organization-name is 64), and sixty-four
 * CJK ideographs (three octets each): values whose escaped form,
 * "\D0\96" a letter, passes mbedtls_x509_dn_gets()'s 255 characters. */
#define ZHE_10 "\xd0\x96\xd0\x96\xd0\x96\xd0\x96\xd0\x96" \
	       "\xd0\x96\xd0\x96\xd0\x96\xd0\x96\xd0\x96"
#define ZHE_60 ZHE_10 ZHE_10 ZHE_10 ZHE_10 ZHE_10 ZHE_10
#define ZHONG_8 "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad" \
		"\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad"
#define ZHONG_64 ZHONG_8 ZHONG_8 ZHONG_8 ZHONG_8 ZHONG_8 ZHONG_8 ZHONG_8 ZHONG_8

/* NAME.pem: a request by p256.key whose subject is DN (the lines of a
 * [dn] section, UTF-8), its values encoded as openssl's string_mask MASK
 * chooses: MASK:0x800 a BMPString (UCS-2), as some Windows tools write
 * it, MASK:0x4 a TeletexString of Latin-1 octets. */
static int
mask_req(const char *name, const char *mask, const char *dn)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.cnf", tmpdir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "[req]\nprompt = no\ndistinguished_name = dn\n"
		"string_mask = %s\n[dn]\n%s\n", mask, dn);
	if (fclose(f) != 0)
		return -1;
	return ossl("req -new -utf8 -key p256.key -config %s.cnf -out %s.pem",
		    name, name);
}

static int
suite_init(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mica-test-csr-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if (ossl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
		 "-out p256.key") ||
	    ossl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 "
		 "-out p384.key") ||
	    ossl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
		 "-out rsa2048.key") ||
	    ossl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 "
		 "-out rsa1024.key") ||
	    /* good requests */
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DNS:WWW.Contoso.test,DNS:www.contoso.test.,IP:192.0.2.1,"
		 "IP:2001:DB8:0:0::1,email:Alice@Contoso.TEST,"
		 "DNS:*.web.contoso.test' -out san.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DNS:www.contoso.test' -outform DER -out san.der") ||
	    ossl("req -new -key p384.key -subj '/CN=Host.Contoso.test' "
		 "-out cn.pem") ||
	    ossl("req -new -key p256.key -subj '/CN=Jane Doe/O=Contoso' "
		 "-out person.pem") ||
	    ossl("req -new -key p256.key -subj '/O=Contoso' -out nocn.pem") ||
	    ossl("req -new -key p256.key -subj '/CN=Jane Doe/emailAddress="
		 "Jane@Contoso.TEST' -out email.pem") ||
	    ossl("req -new -key p256.key -subj '/emailAddress=a@contoso.test"
		 "/CN=Two Addresses/emailAddress=b@contoso.test/emailAddress="
		 "A@CONTOSO.test' -out email2.pem") ||
	    ossl("req -new -key p256.key -subj '/CN=mail.contoso.test/"
		 "emailAddress=admin@contoso.test' -out emailcn.pem") ||
	    ossl("req -new -key p256.key -subj '/CN=Jane Doe/emailAddress="
		 "jane@contoso.test' -addext 'subjectAltName=DNS:"
		 "www.contoso.test' -out emailsan.pem") ||
	    ossl("req -new -key p256.key -subj '/CN=Jane Doe/emailAddress="
		 "jane.contoso.test' -out bademail.pem") ||
	    ossl("req -new -key p256.key -subj '/CN=Jane Doe/emailAddress="
		 "jane@contoso.test/emailAddress=Jane Doe' -out bademail2.pem") ||
	    ossl("req -new -key p256.key -subj / -addext 'subjectAltName="
		 "critical,email:bob@contoso.test' -out nosubj.pem") ||
	    ossl("req -new -key rsa2048.key -sha256 " SUBJ " -out rsa.pem") ||
	    ossl("req -new -key rsa2048.key -sha384 " SUBJ " -outform DER "
		 "-out rsa.der") ||
	    ossl("req -new -key p384.key -sha512 " SUBJ " -out p384.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext "
		 "'keyUsage=critical,digitalSignature' -addext "
		 "'subjectAltName=critical,DNS:www.contoso.test' "
		 "-out critku.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext "
		 "'basicConstraints=CA:FALSE' -out cafalse.pem") ||
	    /* refused requests */
	    ossl("req -new -key rsa1024.key " SUBJ " -out rsa1024.pem") ||
	    ossl("req -new -newkey ec -pkeyopt ec_paramgen_curve:secp521r1 "
		 "-nodes -keyout p521.key " SUBJ " -out p521.pem") ||
	    ossl("req -new -newkey ec -pkeyopt ec_paramgen_curve:secp256k1 "
		 "-nodes -keyout k1.key " SUBJ " -out k1.pem") ||
	    ossl("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		 "-pkeyopt ec_param_enc:explicit -nodes -keyout p256x.key "
		 SUBJ " -out p256x.pem") ||
	    ossl("req -new -newkey ed25519 -nodes -keyout ed.key " SUBJ
		 " -out ed25519.pem") ||
	    ossl("req -new -key rsa2048.key -sha1 " SUBJ " -out sha1.pem") ||
	    ossl("req -new -key p256.key -sha1 " SUBJ " -out ecsha1.pem") ||
	    /* RSASSA-PSS: OpenSSL's defaults (salt as long as it can be),
	     * SHA-384 throughout with a salt of its length, no salt at all;
	     * refused: MGF1 over another hash than the message's, SHA-1 (the
	     * PSS defaults, written out). */
	    ossl("req -new -key rsa2048.key -sigopt rsa_padding_mode:pss "
		 "-sha256 " SUBJ " -out pss.pem") ||
	    ossl("req -new -key rsa2048.key -sigopt rsa_padding_mode:pss "
		 "-sigopt rsa_pss_saltlen:48 -sigopt rsa_mgf1_md:sha384 "
		 "-sha384 " SUBJ " -outform DER -out pss384.der") ||
	    ossl("req -new -key rsa2048.key -sigopt rsa_padding_mode:pss "
		 "-sigopt rsa_mgf1_md:sha512 -sha256 " SUBJ " -out pssmgf.pem") ||
	    ossl("req -new -key rsa2048.key -sigopt rsa_padding_mode:pss "
		 "-sigopt rsa_pss_saltlen:0 -sha256 " SUBJ " -out pss0.pem") ||
	    ossl("req -new -key rsa2048.key -sigopt rsa_padding_mode:pss "
		 "-sha1 " SUBJ " -out psssha1.pem") ||
	    ossl("req -new -key rsa2048.key -sigopt rsa_padding_mode:pss "
		 "-sigopt rsa_mgf1_md:sha1 -sha256 " SUBJ " -out pssmgf1.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext "
		 "'basicConstraints=critical,CA:TRUE' -out ca.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext "
		 "'extendedKeyUsage=critical,serverAuth' -out criteku.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext "
		 "'subjectAltName=DNS:www.contoso.test,URI:https://x.test/' "
		 "-out uri.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext "
		 "'subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:a@b.test' "
		 "-out upn.pem") ||
	    /* a UPN beside a DNS name, as certreq's "upn=" and OpenSSL's
	     * otherName write it; then an otherName of another type */
	    ossl("req -new -key p256.key -subj /CN=Alice -addext "
		 "'subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;"
		 "UTF8:Alice.Smith@Contoso.TEST,DNS:pc1.contoso.test,"
		 "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:Alice.Smith@contoso.test,"
		 "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice.smith@contoso.test' "
		 "-out upn2.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext "
		 "'subjectAltName=otherName:1.2.3.4;UTF8:alice@contoso.test' "
		 "-out othername.pem") ||
	    /* hand-made UPN otherNames (OpenSSL's DER: syntax): an
	     * IA5String, a BMPString, data after the UTF8String, data after
	     * the [0], an empty UTF8String, a NUL, two UTF8Strings, the
	     * UTF8String without its [0] EXPLICIT, no value, an "é", an
	     * empty otherName */
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3024a022060a2b060104018237140203a0141612616c69636540636f"
		 "6e746f736f2e74657374' -out upnia5.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3036a034060a2b060104018237140203a0261e240061006c0069006300"
		 "6500400063006f006e0074006f0073006f002e0074006500730074' "
		 "-out upnbmp.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3026a024060a2b060104018237140203a0160c12616c69636540636f"
		 "6e746f736f2e746573740500' -out upntrail.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3026a024060a2b060104018237140203a0140c12616c69636540636f"
		 "6e746f736f2e746573740500' -out upnafter.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3012a010060a2b060104018237140203a0020c00' "
		 "-out upnempty.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3025a023060a2b060104018237140203a0150c13616c696365004063"
		 "6f6e746f736f2e74657374' -out upnnul.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3036a034060a2b060104018237140203a0260c12616c69636540636f"
		 "6e746f736f2e746573740c10626f6240636f6e746f736f2e74657374' "
		 "-out upntwo.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3022a020060a2b0601040182371402030c12616c69636540636f6e74"
		 "6f736f2e74657374' -out upnbare.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:300ea00c060a2b060104018237140203' -out upnnoval.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3025a023060a2b060104018237140203a0150c13616c6963c3a94063"
		 "6f6e746f736f2e74657374' -out upnutf8.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3002a000' -out upnempty0.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext "
		 "'subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;"
		 "UTF8:al+ice@contoso.test' -out upnplus.pem") ||
	    ossl("req -new -key p256.key -subj /CN=upn:alice@contoso.test "
		 "-out upncn.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext "
		 "'subjectAltName=DNS:my_host.contoso.test' -out under.pem") ||
	    ossl("req -new -key p256.key -subj '/O=-----BEGIN X/CN=a.contoso.test' "
		 "-outform DER -out dashes.der") ||
	    /* hand-made subjectAltName values (OpenSSL's DER: syntax) */
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3011820f61002e636f6e746f736f2e74657374' -out nulsan.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:300a8708c0000200ffffff00' -out ip8san.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:3000' -out emptysan.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DER:30038201610000' -out trailsan.pem") ||
	    ossl("req -new -key p256.key " SUBJ " -addext 'subjectAltName="
		 "DNS:a.contoso.test' -addext '2.5.29.17=DER:3010820e622e636f"
		 "6e746f736f2e74657374' -out dupsan.pem") ||
	    ossl("req -new -key p256.key -utf8 -subj '/CN=J\xc3\xbcrgen/"
		 "CN=www.contoso.test' -out twocn.pem") ||
	    ossl("req -new -key p256.key -utf8 -subj '/CN=J\xc3\xbcrgen "
		 "M\xc3\xbcller' -addext 'subjectAltName=email:jm@contoso.test'"
		 " -out utf8cn.pem") ||
	    /* a right-to-left override and a comma in a UTF-8 subject */
	    ossl("req -new -key p256.key -utf8 -subj '/CN=a\xe2\x80\xae" "b/"
		 "O=\xc3\xa9, Inc.' -addext 'subjectAltName=email:jm@contoso.test'"
		 " -out rlocn.pem") ||
	    ossl("req -x509 -new -key p256.key " SUBJ " -days 1 "
		 "-out cert.pem") ||
	    /* private keys in the shapes people paste */
	    ossl("pkey -in rsa2048.key -traditional -out rsa_trad.key") ||
	    ossl("ec -in p256.key -out ec_trad.key") ||
	    ossl("pkey -in p256.key -outform DER -out p256_key.der") ||
	    ossl("pkcs8 -topk8 -in p256.key -passout pass:secret "
		 "-out p256_enc.key") ||
	    /* renewal proofs: a challengePassword (RFC 2985 5.4.1) */
	    mask_req("bmpcn", "MASK:0x800", "CN = Bmp.Contoso.test") ||
	    mask_req("bmptext", "MASK:0x800",
		     "CN = Sub \xc3\xa9 Caf\xc3\xa9\nO = Contoso, Inc.") ||
	    mask_req("bmprlo", "MASK:0x800", "CN = a\xe2\x80\xae" "b") ||
	    mask_req("t61text", "MASK:0x4", "CN = \xc3\x89" "cole") ||
	    mask_req("bmplong", "MASK:0x800", "CN = " E_ACUTE_50) ||
	    mask_req("cyrlong", "utf8only",
		     "O = " ZHE_60 "\nCN = www.contoso.test") ||
	    mask_req("cjklong", "utf8only", "O = " ZHONG_64 "\nOU = " ZHONG_64
		     "\nL = " ZHONG_64 ZHONG_64 "\nCN = www.contoso.test") ||
	    /* one RDN of two attributes beside one of one */
	    ossl("req -new -key p256.key -multivalue-rdn -subj "
		 "'/O=Contoso/CN=a.contoso.test+OU=b' -out multirdn.pem") ||
	    ossl("req -new -key p256.key -subj "
		 "'/O=Contoso/CN=a.contoso.test/OU=b' -out threerdn.pem") ||
	    /* RSA public exponents of 2^31 - 1 (taken) and 2^32 + 1 (which
	     * Go and Windows cannot use) */
	    ossl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
		 "-pkeyopt rsa_keygen_pubexp:2147483647 -out e31.key") ||
	    ossl("req -new -key e31.key " SUBJ " -out e31.pem") ||
	    ossl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
		 "-pkeyopt rsa_keygen_pubexp:4294967297 -out e33.key") ||
	    ossl("req -new -key e33.key " SUBJ " -out e33.pem") ||
	    /* a CN as a TeletexString (a UniversalString: test_dn_print) */
	    mask_req("t61cn", "MASK:0x4", "CN = T61.Contoso.test") ||
	    chal_req("chal_utf8", "utf8only", "0123456789abcdef0123456789abcdef") ||
	    chal_req("chal_print", "default", "0123456789abcdef0123456789abcdef") ||
	    chal_req("chal_nonascii", "utf8only", "caf\xc3\xa9") ||
	    chal_req("chal_long", "utf8only", LONG_CHALLENGE "x") ||
	    chal_req("chal_max", "utf8only", LONG_CHALLENGE) ||
	    /* an independent view of the public key of san.pem */
	    ossl("pkey -in p256.key -pubout -outform DER -out p256_spki.der") ||
	    ossl("pkey -in rsa2048.key -pubout -outform DER "
		 "-out rsa_spki.der"))
		return -1;
	return 0;
}

static int
suite_clean(void)
{
	return rm_rf_tmp() == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Good requests                                                       */
/* ------------------------------------------------------------------ */

static void
test_pem_with_san(void)
{
	struct ca_csr c;
	struct mica_err err;
	unsigned char *spki;
	unsigned char sha[32];
	size_t spki_len = 0;

	CU_ASSERT_EQUAL_FATAL(load_file("san.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.key_kind, CA_PUBKEY_EC_P256);
	CU_ASSERT_EQUAL(c.key_bits, 256);
	CU_ASSERT_STRING_EQUAL(c.cn, "www.contoso.test");
	CU_ASSERT_PTR_NOT_NULL(strstr(c.subject, "CN=www.contoso.test"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.subject, "O=Contoso"));
	/* canonical, in order, duplicates (case, trailing dot) removed */
	CU_ASSERT_EQUAL_FATAL(c.nnames, 5);
	CU_ASSERT_EQUAL(c.names[0].kind, CA_NAME_DNS);
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "www.contoso.test");
	CU_ASSERT_EQUAL(c.names[1].kind, CA_NAME_IP);
	CU_ASSERT_STRING_EQUAL(c.names[1].value, "192.0.2.1");
	CU_ASSERT_EQUAL(c.names[1].ip_len, 4);
	CU_ASSERT_EQUAL(c.names[2].kind, CA_NAME_IP);
	CU_ASSERT_STRING_EQUAL(c.names[2].value, "2001:db8::1");
	CU_ASSERT_EQUAL(c.names[2].ip_len, 16);
	CU_ASSERT_EQUAL(c.names[3].kind, CA_NAME_EMAIL);
	CU_ASSERT_STRING_EQUAL(c.names[3].value, "Alice@contoso.test");
	CU_ASSERT_EQUAL(c.names[4].kind, CA_NAME_DNS);
	CU_ASSERT_STRING_EQUAL(c.names[4].value, "*.web.contoso.test");

	/* the SPKI is the one OpenSSL derives from the private key */
	spki = slurp("p256_spki.der", &spki_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spki);
	CU_ASSERT_EQUAL(c.spki_len, spki_len);
	if (c.spki_len == spki_len)
		CU_ASSERT_EQUAL(memcmp(c.spki, spki, spki_len), 0);
	mbedtls_sha256(spki, spki_len, sha, 0);
	CU_ASSERT_EQUAL(memcmp(sha, c.spki_sha256, 32), 0);
	free(spki);

	/* the DER kept is the request itself */
	CU_ASSERT_PTR_NOT_NULL(c.der);
	CU_ASSERT(c.der_len > 100);
	CU_ASSERT_EQUAL(c.der[0], 0x30);
	ca_csr_free(&c);
	CU_ASSERT_PTR_NULL(c.der);
	CU_ASSERT_EQUAL(c.nnames, 0);
	ca_csr_free(NULL);
}

static void
test_der_and_rsa(void)
{
	struct ca_csr c;
	struct mica_err err;
	unsigned char *spki;
	size_t spki_len = 0;

	CU_ASSERT_EQUAL_FATAL(load_file("san.der", &c, &err), 0);
	CU_ASSERT_EQUAL(c.nnames, 1);
	ca_csr_free(&c);

	CU_ASSERT_EQUAL_FATAL(load_file("rsa.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.key_kind, CA_PUBKEY_RSA);
	CU_ASSERT_EQUAL(c.key_bits, 2048);
	spki = slurp("rsa_spki.der", &spki_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spki);
	CU_ASSERT_EQUAL(c.spki_len, spki_len);
	if (c.spki_len == spki_len)
		CU_ASSERT_EQUAL(memcmp(c.spki, spki, spki_len), 0);
	free(spki);
	ca_csr_free(&c);

	/* SHA-384 over RSA, DER encoded */
	CU_ASSERT_EQUAL(load_file("rsa.der", &c, &err), 0);
	ca_csr_free(&c);
	/* SHA-512 over P-384 */
	CU_ASSERT_EQUAL_FATAL(load_file("p384.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.key_kind, CA_PUBKEY_EC_P384);
	CU_ASSERT_EQUAL(c.key_bits, 384);
	ca_csr_free(&c);
}

static void
test_cn_only(void)
{
	struct ca_csr c;
	struct mica_err err;

	/* no SAN: a CN that is a host name stands in, canonicalised */
	CU_ASSERT_EQUAL_FATAL(load_file("cn.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.cn, "Host.Contoso.test");
	CU_ASSERT_EQUAL_FATAL(c.nnames, 1);
	CU_ASSERT_EQUAL(c.names[0].kind, CA_NAME_DNS);
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "host.contoso.test");
	ca_csr_free(&c);

	/* a person's name is not a name to certify: parsed, no names */
	CU_ASSERT_EQUAL_FATAL(load_file("person.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.cn, "Jane Doe");
	CU_ASSERT_EQUAL(c.nnames, 0);
	CU_ASSERT_PTR_NULL(c.names);
	ca_csr_free(&c);

	CU_ASSERT_EQUAL_FATAL(load_file("nocn.pem", &c, &err), 0);
	CU_ASSERT_PTR_NULL(c.cn);
	CU_ASSERT_EQUAL(c.nnames, 0);
	ca_csr_free(&c);

	/* a UTF-8 CN is kept as such; the SAN, not the CN, gives the names */
	CU_ASSERT_EQUAL_FATAL(load_file("utf8cn.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.cn, "J\xc3\xbcrgen M\xc3\xbcller");
	/* and the subject shows it as it is, not as "J\C3\BCrgen" */
	CU_ASSERT_STRING_EQUAL(c.subject, "CN=J\xc3\xbcrgen M\xc3\xbcller");
	ca_csr_free(&c);
	/* A character that may not be shown keeps its escapes (U+202E would
	 * turn the rest of a list's line around); RFC 4514's stay. */
	CU_ASSERT_EQUAL_FATAL(load_file("rlocn.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.subject, "CN=a\\E2\\80\\AEb, O=\xc3\xa9\\, Inc.");
	CU_ASSERT_EQUAL_FATAL(c.nnames, 1);
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "jm@contoso.test");
	ca_csr_free(&c);

	/* a BMPString CN is read as its text, and stands in as any CN */
	CU_ASSERT_EQUAL_FATAL(load_file("bmpcn.pem", &c, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.cn);
	CU_ASSERT_STRING_EQUAL(c.cn, "Bmp.Contoso.test");
	/* its subject's octets are UCS-2, never read as UTF-8 */
	for (const char *q = c.subject; *q != '\0'; q++)
		CU_ASSERT((unsigned char)*q < 0x80);
	CU_ASSERT_EQUAL_FATAL(c.nnames, 1);
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "bmp.contoso.test");
	ca_csr_free(&c);

	/* and its text past ASCII is the subject's, not "#1E14..." (RFC
	 * 4514's hex of what is not shown as a string) */
	CU_ASSERT_EQUAL_FATAL(load_file("bmptext.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.subject,
			       "CN=Sub \xc3\xa9 Caf\xc3\xa9, O=Contoso\\, Inc.");
	ca_csr_free(&c);
	/* where a UTF8String's U+202E keeps its escapes, a BMPString's too */
	CU_ASSERT_EQUAL_FATAL(load_file("bmprlo.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.subject, "CN=a\\E2\\80\\AEb");
	ca_csr_free(&c);
	/* fifty characters past ASCII, which mbedtls_x509_dn_gets() wrote
	 * too long for a value (so mica showed the BMPString's hex) */
	CU_ASSERT_EQUAL_FATAL(load_file("bmplong.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.subject, "CN=" E_ACUTE_50);
	ca_csr_free(&c);
	/* UTF8String values of RFC 5280's lengths whose escaped form is
	 * past its 255 characters (they were refused as "too long") */
	CU_ASSERT_EQUAL_FATAL(load_file("cyrlong.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.subject, "O=" ZHE_60 ", CN=www.contoso.test");
	CU_ASSERT_STRING_EQUAL(c.cn, "www.contoso.test");
	ca_csr_free(&c);
	CU_ASSERT_EQUAL_FATAL(load_file("cjklong.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.subject, "O=" ZHONG_64 ", OU=" ZHONG_64
			       ", L=" ZHONG_64 ZHONG_64 ", CN=www.contoso.test");
	ca_csr_free(&c);
	/* a CN as a TeletexString names as any */
	CU_ASSERT_EQUAL_FATAL(load_file("t61cn.pem", &c, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.cn);
	CU_ASSERT_STRING_EQUAL(c.cn, "T61.Contoso.test");
	CU_ASSERT_EQUAL_FATAL(c.nnames, 1);
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "t61.contoso.test");
	ca_csr_free(&c);
	/* a TeletexString read as Latin-1, as OpenSSL reads it */
	CU_ASSERT_EQUAL_FATAL(load_file("t61text.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.subject, "CN=\xc3\x89" "cole");
	ca_csr_free(&c);

	/* two CNs: the last (most specific) one is the CN */
	CU_ASSERT_EQUAL_FATAL(load_file("twocn.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.cn, "www.contoso.test");
	CU_ASSERT_EQUAL(c.nnames, 1);
	ca_csr_free(&c);

	/* an empty subject with the names in a critical SAN (RFC 5280
	 * 4.2.1.6) */
	CU_ASSERT_EQUAL_FATAL(load_file("nosubj.pem", &c, &err), 0);
	CU_ASSERT_PTR_NULL(c.cn);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.subject);
	CU_ASSERT_STRING_EQUAL(c.subject, "");
	CU_ASSERT_EQUAL_FATAL(c.nnames, 1);
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "bob@contoso.test");
	ca_csr_free(&c);
}

/* No SAN and a CN that is no name: the subject's emailAddress attributes
 * are the names (openssl req -subj '/CN=Jane Doe/emailAddress=...'). */
static void
test_subject_email(void)
{
	struct ca_csr c;
	struct mica_err err;

	CU_ASSERT_EQUAL_FATAL(load_file("email.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.cn, "Jane Doe");
	CU_ASSERT_EQUAL_FATAL(c.nnames, 1);
	CU_ASSERT_EQUAL(c.names[0].kind, CA_NAME_EMAIL);
	/* the domain lowercased, the local part as given */
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "Jane@contoso.test");
	ca_csr_free(&c);

	/* every one, in order, an equal one once */
	CU_ASSERT_EQUAL_FATAL(load_file("email2.pem", &c, &err), 0);
	CU_ASSERT_EQUAL_FATAL(c.nnames, 3);
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "a@contoso.test");
	CU_ASSERT_STRING_EQUAL(c.names[1].value, "b@contoso.test");
	CU_ASSERT_STRING_EQUAL(c.names[2].value, "A@contoso.test");
	ca_csr_free(&c);

	/* a CN that is a host name wins: a server's CSR with the admin's
	 * address in its subject (openssl req's prompts) is for the host */
	CU_ASSERT_EQUAL_FATAL(load_file("emailcn.pem", &c, &err), 0);
	CU_ASSERT_EQUAL_FATAL(c.nnames, 1);
	CU_ASSERT_EQUAL(c.names[0].kind, CA_NAME_DNS);
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "mail.contoso.test");
	ca_csr_free(&c);

	/* and so does a subjectAltName */
	CU_ASSERT_EQUAL_FATAL(load_file("emailsan.pem", &c, &err), 0);
	CU_ASSERT_EQUAL_FATAL(c.nnames, 1);
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "www.contoso.test");
	ca_csr_free(&c);

	/* one that is no address, were it the name, names nothing and is
	 * said so - but the CSR stands: an admin may issue it with other
	 * names, a root sign it, a renewal take its key */
	CU_ASSERT_EQUAL_FATAL(load_file("bademail.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.nnames, 0);
	CU_ASSERT_PTR_NULL(c.names);
	CU_ASSERT_EQUAL(c.names_err.kind, MICA_E_POLICY);
	CU_ASSERT_STRING_EQUAL(c.names_err.code, "bad_name");
	CU_ASSERT_PTR_NOT_NULL(strstr(c.names_err.msg, "emailAddress"));
	ca_csr_free(&c);

	/* a good address beside a bad one: none of them (never half a
	 * subject) */
	CU_ASSERT_EQUAL_FATAL(load_file("bademail2.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.nnames, 0);
	CU_ASSERT_EQUAL(c.names_err.kind, MICA_E_POLICY);
	ca_csr_free(&c);

	/* where something else names it, the subject's addresses are not
	 * looked at */
	CU_ASSERT_EQUAL_FATAL(load_file("email.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.names_err.kind, MICA_E_NONE);
	ca_csr_free(&c);
}

static void
test_extensions_tolerated(void)
{
	struct ca_csr c;
	struct mica_err err;

	/* critical keyUsage and SAN are understood */
	CU_ASSERT_EQUAL(load_file("critku.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.nnames, 1);
	ca_csr_free(&c);
	/* a non-critical CA:FALSE is harmless */
	CU_ASSERT_EQUAL(load_file("cafalse.pem", &c, &err), 0);
	ca_csr_free(&c);
}

/* ------------------------------------------------------------------ */
/* Encodings                                                           */
/* ------------------------------------------------------------------ */

static void
test_new_certificate_request_label(void)
{
	unsigned char *pem;
	char *alt, *crlf, *framed;
	size_t len = 0;
	struct ca_csr c;
	struct mica_err err = { 0 };

	pem = slurp("san.pem", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	alt = replace_all((char *)pem, "CERTIFICATE REQUEST",
			  "NEW CERTIFICATE REQUEST");
	CU_ASSERT_PTR_NOT_NULL_FATAL(alt);
	CU_ASSERT_EQUAL(ca_csr_load((unsigned char *)alt, strlen(alt), &c,
				    &err), 0);
	CU_ASSERT_EQUAL(c.nnames, 5);
	ca_csr_free(&c);

	/* as Windows certreq writes it: CRLF, text before, blank lines
	 * after */
	crlf = replace_all(alt, "\n", "\r\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(crlf);
	framed = malloc(strlen(crlf) + 128);
	CU_ASSERT_PTR_NOT_NULL_FATAL(framed);
	snprintf(framed, strlen(crlf) + 128,
		 "\xef\xbb\xbf" "Request for www.contoso.test\r\n\r\n%s\r\n  \r\n",
		 crlf);
	CU_ASSERT_EQUAL(ca_csr_load((unsigned char *)framed, strlen(framed),
				    &c, &err), 0);
	ca_csr_free(&c);

	/* mismatched BEGIN/END labels */
	free(alt);
	alt = replace_all((char *)pem, "END CERTIFICATE REQUEST",
			  "END NEW CERTIFICATE REQUEST");
	CU_ASSERT_EQUAL(ca_csr_load((unsigned char *)alt, strlen(alt), &c,
				    &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");

	free(framed);
	free(crlf);
	free(alt);
	free(pem);
}

/* TEXT (NUL-terminated ASCII) as UTF-16 into a new buffer of *LEN
 * octets: big endian if BE, after a byte order mark if BOM. */
static unsigned char *
utf16_of(const char *text, int be, int bom, size_t *len)
{
	size_t n = strlen(text), k = 0;
	unsigned char *u = malloc(2 * n + 2);

	if (u == NULL)
		return NULL;
	if (bom) {
		u[k++] = be ? 0xfe : 0xff;
		u[k++] = be ? 0xff : 0xfe;
	}
	for (size_t i = 0; i < n; i++) {
		u[k++] = be ? 0 : (unsigned char)text[i];
		u[k++] = be ? (unsigned char)text[i] : 0;
	}
	*len = k;
	return u;
}

/* Exchange's documented way of saving its request
 * ([System.Text.Encoding]::Unicode, no byte order mark) and PowerShell's
 * "> file" (with one) write UTF-16: read as the ASCII it holds. */
static void
test_utf16_text(void)
{
	unsigned char *pem, *u, *der = NULL, *ref = NULL;
	char *crlf;
	size_t len = 0, ulen = 0, der_len = 0, ref_len = 0;
	struct ca_csr c;
	struct mica_err err = { 0 };

	pem = slurp("san.pem", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	crlf = replace_all((char *)pem, "\n", "\r\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(crlf);
	CU_ASSERT_EQUAL_FATAL(ca_csr_decode(pem, len, &ref, &ref_len, &err), 0);
	for (int be = 0; be <= 1; be++)
		for (int bom = 0; bom <= 1; bom++) {
			u = utf16_of(crlf, be, bom, &ulen);
			CU_ASSERT_PTR_NOT_NULL_FATAL(u);
			CU_ASSERT_EQUAL(ca_csr_decode(u, ulen, &der, &der_len, &err), 0);
			CU_ASSERT(der_len == ref_len && der != NULL &&
				  memcmp(der, ref, ref_len) == 0);
			free(der);
			der = NULL;
			CU_ASSERT_EQUAL(ca_csr_load(u, ulen, &c, &err), 0);
			CU_ASSERT_EQUAL(c.nnames, 5);
			ca_csr_free(&c);
			/* an odd length: one octet cut off */
			CU_ASSERT_EQUAL(ca_csr_load(u, ulen - 1, &c, &err), -1);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
			/* a character that is not ASCII (U+00E9) */
			u[(bom ? 2 : 0) + 2 * 5 + be] = 0xe9;
			CU_ASSERT_EQUAL(ca_csr_load(u, ulen, &c, &err), -1);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
			CU_ASSERT(strstr(err.msg, "not ASCII") != NULL);
			free(u);
		}
	/* UTF-32 with its byte order mark (Out-File -Encoding utf32), either
	 * endianness: the same CSR; a character past ASCII refused as
	 * UTF-32's */
	for (int be = 0; be <= 1; be++) {
		size_t n = strlen(crlf), k = 0;

		u = malloc(4 * n + 4);
		CU_ASSERT_PTR_NOT_NULL_FATAL(u);
		memcpy(u, be ? "\0\0\xfe\xff" : "\xff\xfe\0\0", 4);
		k = 4;
		for (size_t i = 0; i < n; i++, k += 4) {
			memset(u + k, 0, 4);
			u[k + (be ? 3 : 0)] = (unsigned char)crlf[i];
		}
		CU_ASSERT_EQUAL(ca_csr_decode(u, k, &der, &der_len, &err), 0);
		CU_ASSERT(der_len == ref_len && der != NULL &&
			  memcmp(der, ref, ref_len) == 0);
		free(der);
		der = NULL;
		u[4 + 4 * 5 + (be ? 2 : 1)] = 0x01;     /* U+0100 and up */
		CU_ASSERT_EQUAL(ca_csr_load(u, k, &c, &err), -1);
		CU_ASSERT(strstr(err.msg, "UTF-32 text with a character that "
				 "is not ASCII") != NULL);
		free(u);
	}
	/* A private key in UTF-16 is still a private key. */
	u = utf16_of("-----BEGIN PRIVATE KEY-----\r\nMIIB\r\n"
		     "-----END PRIVATE KEY-----\r\n", 0, 0, &ulen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_EQUAL(ca_csr_load(u, ulen, &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "private_key_not_csr");
	free(u);
	free(ref);
	free(crlf);
	free(pem);
}

static void
test_bare_base64(void)
{
	unsigned char *pem;
	char *body, *crlf, *oneline;
	size_t len = 0;
	struct ca_csr c;
	struct mica_err err = { 0 };

	pem = slurp("san.pem", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	body = pem_body((char *)pem);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	crlf = replace_all(body, "\n", "\r\n");
	oneline = replace_all(body, "\n", "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(crlf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(oneline);

	CU_ASSERT_EQUAL(ca_csr_load((unsigned char *)crlf, strlen(crlf), &c,
				    &err), 0);
	CU_ASSERT_EQUAL(c.nnames, 5);
	ca_csr_free(&c);
	CU_ASSERT_EQUAL(ca_csr_load((unsigned char *)oneline, strlen(oneline),
				    &c, &err), 0);
	ca_csr_free(&c);

	/* a stray character in the base64 */
	oneline[10] = '!';
	CU_ASSERT_EQUAL(ca_csr_load((unsigned char *)oneline, strlen(oneline),
				    &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");

	free(oneline);
	free(crlf);
	free(body);
	free(pem);
}

static void
test_decode_direct(void)
{
	unsigned char *der = NULL, *pem, *ref;
	size_t der_len = 0, len = 0, ref_len = 0;
	struct mica_err err = { 0 };

	pem = slurp("rsa.pem", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_EQUAL_FATAL(ossl("req -in rsa.pem -outform DER "
				   "-out rsa_copy.der"), 0);
	ref = slurp("rsa_copy.der", &ref_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	CU_ASSERT_EQUAL(ca_csr_decode(pem, len, &der, &der_len, &err), 0);
	CU_ASSERT_EQUAL(der_len, ref_len);
	if (der != NULL && der_len == ref_len)
		CU_ASSERT_EQUAL(memcmp(der, ref, der_len), 0);
	free(der);
	der = NULL;
	/* DER passes through unchanged */
	CU_ASSERT_EQUAL(ca_csr_decode(ref, ref_len, &der, &der_len, &err), 0);
	CU_ASSERT_EQUAL(der_len, ref_len);
	free(der);
	/* NULL outputs are a caller bug, not a crash */
	CU_ASSERT_EQUAL(ca_csr_decode(ref, ref_len, NULL, NULL, &err), -1);
	free(ref);
	free(pem);
}

/* ------------------------------------------------------------------ */
/* Refused requests                                                    */
/* ------------------------------------------------------------------ */

static void
test_tampered_signature(void)
{
	unsigned char *der;
	size_t len = 0, i;
	struct ca_csr c;
	struct mica_err err = { 0 };
	static const char *const files[] = { "san.der", "rsa.der" };

	for (i = 0; i < 2; i++) {
		unsigned char *cn;

		der = slurp(files[i], &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(der);
		/* flip a bit of the signature value */
		der[len - 1] ^= 0x01;
		CU_ASSERT_EQUAL(ca_csr_parse(der, len, &c, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");
		der[len - 1] ^= 0x01;
		CU_ASSERT_EQUAL(ca_csr_parse(der, len, &c, &err), 0);
		ca_csr_free(&c);
		/* change the signed subject: "www" -> "wwx" */
		cn = memmem(der, len, "www.contoso.test", 16);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cn);
		cn[2] = 'x';
		CU_ASSERT_EQUAL(ca_csr_parse(der, len, &c, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");
		free(der);
	}
}

static void
test_weak_and_unsupported_keys(void)
{
	expect_refused("rsa1024.pem", MICA_E_POLICY, "weak_key");
	expect_refused("p521.pem", MICA_E_POLICY, "unsupported_key");
	expect_refused("k1.pem", MICA_E_POLICY, "unsupported_key");
	expect_refused("ed25519.pem", MICA_E_POLICY, "unsupported_key");
	/* an RSA exponent past 2^31 - 1, which Go and Windows cannot use;
	 * 2^31 - 1 itself taken */
	expect_refused("e33.pem", MICA_E_POLICY, "unsupported_key");
	{
		struct ca_csr c;
		struct mica_err err;

		CU_ASSERT_EQUAL(load_file("e31.pem", &c, &err), 0);
		ca_csr_free(&c);
	}
	/* P-256 with its parameters spelled out (RFC 5480 2.1.1 allows
	 * namedCurve only): the message says so, not "another curve". */
	{
		struct ca_csr c;
		struct mica_err err;

		CU_ASSERT_EQUAL(load_file("p256x.pem", &c, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_POLICY);
		CU_ASSERT_STRING_EQUAL(err.code, "unsupported_key");
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "explicit curve parameters"));
		ca_csr_free(&c);
	}
}

/* DER: the element TAG of the LEN octets at BODY, followed by the LEN2
 * octets at TAIL (or none), in a new heap buffer of *OUT_LEN octets;
 * frees BODY. NULL when out of memory. */
static unsigned char *
tlv_then(unsigned char tag, unsigned char *body, size_t len,
	 const unsigned char *tail, size_t len2, size_t *out_len)
{
	unsigned char *out = malloc(len + len2 + 4), *o = out;

	if (out != NULL && body != NULL) {
		*o++ = tag;
		if (len >= 0x100)
			*o++ = 0x82, *o++ = (unsigned char)(len >> 8);
		else if (len >= 0x80)
			*o++ = 0x81;
		*o++ = (unsigned char)len;
		memcpy(o, body, len);
		if (len2 > 0)
			memcpy(o + len, tail, len2);
		*out_len = (size_t)(o - out) + len + len2;
	} else {
		free(out);
		out = NULL;
	}
	free(body);
	return out;
}

/* A heap copy of PREFIX (LEN octets) before the LEN2 octets at BODY (which
 * is freed), its length in *OUT_LEN. */
static unsigned char *
prefixed(const unsigned char *prefix, size_t len, unsigned char *body,
	 size_t len2, size_t *out_len)
{
	unsigned char *out = body != NULL ? malloc(len + len2) : NULL;

	if (out != NULL) {
		memcpy(out, prefix, len);
		memcpy(out + len, body, len2);
		*out_len = len + len2;
	}
	free(body);
	return out;
}

/* A DER CSR (empty subject, no attributes) for an RSA key whose modulus
 * has BITS bits (its top and bottom bits set; e = 65537), "signed"
 * sha256WithRSAEncryption with 256 zero octets: a key refused is refused
 * before any signature is checked. Heap, caller frees; NULL when out of
 * memory. */
static unsigned char *
csr_rsa_bits(size_t bits, size_t *out_len)
{
	static const unsigned char e[] = "\x02\x03\x01\x00\x01";
	static const unsigned char rsa_alg[] = "\x30\x0d\x06\x09\x2a\x86"
		"\x48\x86\xf7\x0d\x01\x01\x01\x05\x00";
	static const unsigned char head[] = "\x02\x01\x00\x30\x00";
	static const unsigned char attrs[] = "\xa0\x00";
	/* sha256WithRSAEncryption, BIT STRING of 256 zero octets */
	unsigned char tail[15 + 5 + 256] =
		"\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b"
		"\x05\x00\x03\x82\x01\x01\x00";
	size_t nlen = (bits + 7) / 8 + 1, len = 0;
	unsigned char *x = calloc(1, nlen);

	if (x == NULL)
		return NULL;
	x[1] = (unsigned char)(1u << ((bits - 1) % 8));
	x[nlen - 1] |= 1;
	x = tlv_then(0x02, x, nlen, e, sizeof(e) - 1, &len); /* n, e */
	x = tlv_then(0x30, x, len, NULL, 0, &len);	/* RSAPublicKey */
	x = prefixed((const unsigned char *)"", 1, x, len, &len);
	x = tlv_then(0x03, x, len, NULL, 0, &len);	/* subjectPublicKey */
	x = prefixed(rsa_alg, sizeof(rsa_alg) - 1, x, len, &len);
	x = tlv_then(0x30, x, len, attrs, 2, &len);	/* SPKI, [0] {} */
	x = prefixed(head, sizeof(head) - 1, x, len, &len);
	x = tlv_then(0x30, x, len, tail, sizeof(tail), &len);	/* CRI */
	x = tlv_then(0x30, x, len, NULL, 0, &len);
	*out_len = len;
	return x;
}

/* An RSA key past 4096 bits is unsupported_key with its size, however
 * large: mbedTLS reads no modulus past 8192 bits, and a 16384-bit key
 * (openssl genrsa 16384) was "malformed" (400 bad_csr, exit 3). */
static void
test_rsa_too_large(void)
{
	static const size_t bits[] = { 4104, 8192, 8200, 16384 };

	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		struct ca_csr c;
		struct mica_err err;
		unsigned char *der;
		size_t len = 0;
		char want[32];

		der = csr_rsa_bits(bits[i], &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(der);
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(ca_csr_parse(der, len, &c, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_POLICY);
		CU_ASSERT_STRING_EQUAL(err.code, "unsupported_key");
		snprintf(want, sizeof(want), "(this one has %zu)", bits[i]);
		if (strstr(err.msg, want) == NULL)
			fprintf(stderr, "\n  %zu bits: %s: %s\n", bits[i],
				err.code, err.msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
		free(der);
	}
}

static void
test_weak_signatures(void)
{
	/* Well-formed but weak: refused by policy (422, exit 4), not as
	 * malformed input. */
	expect_refused("sha1.pem", MICA_E_POLICY, "weak_signature");
	expect_refused("ecsha1.pem", MICA_E_POLICY, "weak_signature");
	/* RSASSA-PSS over SHA-1 (the default hashAlgorithm) is as weak,
	 * and refused the same way (README, docs/API.md: weak_signature). */
	expect_refused("psssha1.pem", MICA_E_POLICY, "weak_signature");
	/* MGF1 over another hash than the message's: RFC 4055 allows it,
	 * mbedTLS cannot verify it; said so rather than "bad signature".
	 * MGF1 over SHA-1 (its default) under SHA-256 is that, not a
	 * signature over SHA-1. */
	expect_refused("pssmgf.pem", MICA_E_BADREQ, "unsupported_signature");
	expect_refused("pssmgf1.pem", MICA_E_BADREQ, "unsupported_signature");
}

/* A DER CSR: the CertificationRequestInfo of FILE (DER, lengths in two
 * octets), signed (with zeros: refused before anything verifies it) with
 * the AlgorithmIdentifier ALG. */
static unsigned char *
csr_with_alg(const char *file, const unsigned char *alg, size_t alg_len,
	     size_t *out_len)
{
	unsigned char *der, *out;
	size_t len = 0, cri_len, body;

	der = slurp(file, &len);
	if (der == NULL || len < 8 || der[0] != 0x30 || der[1] != 0x82 ||
	    der[4] != 0x30 || der[5] != 0x82) {
		free(der);
		return NULL;
	}
	cri_len = 4 + ((size_t)der[6] << 8 | der[7]);
	body = cri_len + alg_len + 5 + 256;
	if ((out = calloc(1, 4 + body)) == NULL) {
		free(der);
		return NULL;
	}
	out[0] = 0x30;
	out[1] = 0x82;
	out[2] = (unsigned char)(body >> 8);
	out[3] = (unsigned char)body;
	memcpy(out + 4, der + 4, cri_len);
	memcpy(out + 4 + cri_len, alg, alg_len);
	memcpy(out + 4 + cri_len + alg_len, "\x03\x82\x01\x01\x00", 5);
	free(der);
	*out_len = 4 + body;
	return out;
}

/* RSASSA-PSS with SHA-1 or MD5 written out as its hashAlgorithm (and
 * MGF1 over it, salt 20): weak_signature, as in PKCS#1 v1.5. */
static void
test_pss_weak_explicit(void)
{
	static const unsigned char sha1[] =
		"\x30\x39\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a"
		"\x30\x2c"
		"\xa0\x0b\x30\x09\x06\x05\x2b\x0e\x03\x02\x1a\x05\x00"
		"\xa1\x18\x30\x16\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x08"
		"\x30\x09\x06\x05\x2b\x0e\x03\x02\x1a\x05\x00"
		"\xa2\x03\x02\x01\x14";
	static const unsigned char md5[] =
		"\x30\x3f\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a"
		"\x30\x32"
		"\xa0\x0e\x30\x0c\x06\x08\x2a\x86\x48\x86\xf7\x0d\x02\x05\x05\x00"
		"\xa1\x1b\x30\x19\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x08"
		"\x30\x0c\x06\x08\x2a\x86\x48\x86\xf7\x0d\x02\x05\x05\x00"
		"\xa2\x03\x02\x01\x14";
	const struct { const unsigned char *alg; size_t len; } v[] = {
		{ sha1, sizeof(sha1) - 1 }, { md5, sizeof(md5) - 1 },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct ca_csr c;
		struct mica_err err;
		unsigned char *der;
		size_t len = 0;

		der = csr_with_alg("pss384.der", v[i].alg, v[i].len, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(der);
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(ca_csr_parse(der, len, &c, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_POLICY);
		CU_ASSERT_STRING_EQUAL(err.code, "weak_signature");
		free(der);
	}
}

/* RSASSA-PSS signed requests (RFC 4055), as certreq makes them with
 * AlternateSignatureAlgorithm: accepted with SHA-2, proof of possession
 * checked like any other (a flipped octet of the signature, of the signed
 * part, or a salt length the signature was not made with: refused). */
static void
test_pss(void)
{
	static const char *const ok[] = { "pss.pem", "pss384.der",
					   "pss0.pem" };
	struct ca_csr c;
	struct mica_err err;
	unsigned char *der;
	size_t len = 0, i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int rc = load_file(ok[i], &c, &err);

		if (rc != 0)
			fprintf(stderr, "\n  %s: %s (%s)\n", ok[i], err.code,
				err.msg);
		CU_ASSERT_EQUAL(rc, 0);
		if (rc == 0) {
			CU_ASSERT_EQUAL(c.key_kind, CA_PUBKEY_RSA);
			CU_ASSERT_EQUAL(c.key_bits, 2048);
			CU_ASSERT_EQUAL(c.nnames, 1);
		}
		ca_csr_free(&c);
	}
	der = slurp("pss384.der", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_FATAL(len > 300);
	/* The last octet of the signature. */
	der[len - 1] ^= 0x01;
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ca_csr_parse(der, len, &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");
	der[len - 1] ^= 0x01;
	/* An octet of the subject, in the signed part. */
	for (i = 4; i + 2 < len; i++)
		if (memcmp(der + i, "contoso", 7) == 0)
			break;
	CU_ASSERT_FATAL(i + 2 < len);
	der[i] ^= 0x20;
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ca_csr_parse(der, len, &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");
	der[i] ^= 0x20;
	/* saltLength [2] INTEGER 48 -> 47: the parameters still well formed,
	 * the signature no longer theirs. */
	for (i = 0; i + 4 < len; i++)
		if (der[i] == 0xa2 && der[i + 1] == 0x03 && der[i + 2] == 0x02 &&
		    der[i + 3] == 0x01 && der[i + 4] == 48)
			break;
	CU_ASSERT_FATAL(i + 4 < len);
	der[i + 4] = 47;
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ca_csr_parse(der, len, &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");
	/* trailerField [3] 2: malformed parameters, refused before the key
	 * is looked at (same length as the salt it replaces). */
	der[i] = 0xa3;
	der[i + 4] = 2;
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ca_csr_parse(der, len, &c, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");
	der[i] = 0xa2;
	der[i + 4] = 48;
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ca_csr_parse(der, len, &c, &err), 0);
	ca_csr_free(&c);
	free(der);
}

/* A request for N distinct DNS names (plus duplicates when DUP). */
static int
make_many(const char *out, int n, int dup)
{
	char san[6000];
	size_t off = 0;
	int i;

	off += (size_t)snprintf(san, sizeof(san), "subjectAltName=");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(san + off, sizeof(san) - off,
					"%sDNS:h%d.contoso.test%s",
					i ? "," : "", i,
					dup ? ",DNS:H0.contoso.test" : "");
	return ossl("req -new -key p256.key " SUBJ " -addext '%s' -out %s",
		    san, out);
}

static void
test_name_count_limit(void)
{
	struct ca_csr c;
	struct mica_err err;

	CU_ASSERT_EQUAL_FATAL(make_many("n100.pem", CA_NAMES_MAX, 0), 0);
	CU_ASSERT_EQUAL_FATAL(make_many("n101.pem", CA_NAMES_MAX + 1, 0), 0);
	CU_ASSERT_EQUAL_FATAL(make_many("n100dup.pem", 50, 1), 0);
	CU_ASSERT_EQUAL(load_file("n100.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.nnames, CA_NAMES_MAX);
	ca_csr_free(&c);
	expect_refused("n101.pem", MICA_E_POLICY, "too_many_names");
	/* 100 SAN entries, 50 distinct once lowercased */
	CU_ASSERT_EQUAL(load_file("n100dup.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.nnames, 50);
	ca_csr_free(&c);
}

static void
test_der_with_dashes(void)
{
	struct ca_csr c;
	struct mica_err err;

	CU_ASSERT_EQUAL(load_file("dashes.der", &c, &err), 0);
	CU_ASSERT_EQUAL(c.nnames, 1);
	ca_csr_free(&c);
}

static void
test_requested_extensions_are_ignored(void)
{
	struct ca_csr c;
	struct mica_err err;

	/* cA=TRUE and a critical EKU are accepted and ignored: the profile
	 * decides every extension of the certificate. */
	CU_ASSERT_EQUAL(load_file("ca.pem", &c, &err), 0);
	ca_csr_free(&c);
	CU_ASSERT_EQUAL(load_file("criteku.pem", &c, &err), 0);
	ca_csr_free(&c);
}

static void
test_upn(void)
{
	struct ca_csr c;
	struct mica_err err;

	CU_ASSERT_EQUAL_FATAL(load_file("upn.pem", &c, &err), 0);
	CU_ASSERT_EQUAL_FATAL(c.nnames, 1);
	CU_ASSERT_EQUAL(c.names[0].kind, CA_NAME_UPN);
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "upn:a@b.test");
	ca_csr_free(&c);
	/* canonical (the domain lowercased, the user part as given), in
	 * order, the same UPN twice kept once - in another case too: Active
	 * Directory finds one account by both */
	CU_ASSERT_EQUAL_FATAL(load_file("upn2.pem", &c, &err), 0);
	CU_ASSERT_EQUAL_FATAL(c.nnames, 2);
	CU_ASSERT_EQUAL(c.names[0].kind, CA_NAME_UPN);
	CU_ASSERT_STRING_EQUAL(c.names[0].value,
			       "upn:Alice.Smith@contoso.test");
	CU_ASSERT_STRING_EQUAL(ca_name_bare(&c.names[0]),
			       "Alice.Smith@contoso.test");
	CU_ASSERT_EQUAL(c.names[1].kind, CA_NAME_DNS);
	CU_ASSERT_STRING_EQUAL(c.names[1].value, "pc1.contoso.test");
	ca_csr_free(&c);
	/* A CN "upn:..." is no name: a UPN is asked for in the SAN. */
	CU_ASSERT_EQUAL_FATAL(load_file("upncn.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.nnames, 0);
	ca_csr_free(&c);
}

static void
test_upn_malformed(void)
{
	static const char *const bad[] = {
		"upnia5.pem", "upnbmp.pem", "upntrail.pem", "upnafter.pem",
		"upnempty.pem", "upnnul.pem", "upntwo.pem", "upnbare.pem",
		"upnnoval.pem", "upnutf8.pem", "upnplus.pem",
	};
	struct ca_csr c;
	struct mica_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i], MICA_E_POLICY, "bad_name");
	/* an otherName that is no SEQUENCE { OID, ... } at all */
	expect_refused("upnempty0.pem", MICA_E_BADREQ, "bad_csr");
	/* The messages say what is wrong, and quote no hostile byte. */
	CU_ASSERT_EQUAL(load_file("upnbmp.pem", &c, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not one UTF8String"));
	CU_ASSERT_EQUAL(load_file("upnnul.pem", &c, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "NUL"));
	CU_ASSERT_PTR_NULL(strstr(err.msg, "alice"));
	CU_ASSERT_EQUAL(load_file("upnutf8.pem", &c, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "beyond ASCII"));
	CU_ASSERT_EQUAL(load_file("upnempty.pem", &c, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "empty UPN"));
	CU_ASSERT_EQUAL(load_file("upnplus.pem", &c, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "\"upn:al+ice@contoso.test\""));
}

static void
test_refused_extensions_and_names(void)
{
	expect_refused("uri.pem", MICA_E_POLICY, "unsupported_name");
	expect_refused("othername.pem", MICA_E_POLICY, "unsupported_name");
	/* The message names the kind, with its article. */
	{
		struct ca_csr c;
		struct mica_err err;

		CU_ASSERT_EQUAL(load_file("othername.pem", &c, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "asks for an otherName other than a Windows UPN subject"));
		ca_csr_free(&c);
		CU_ASSERT_EQUAL(load_file("uri.pem", &c, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "asks for a URI subject"));
		ca_csr_free(&c);
	}
	expect_refused("under.pem", MICA_E_POLICY, "bad_name");
	/* "a\0.contoso.test": no C-string truncation trick */
	expect_refused("nulsan.pem", MICA_E_POLICY, "bad_name");
	/* an 8-octet iPAddress is a name-constraint range, not an address */
	expect_refused("ip8san.pem", MICA_E_POLICY, "bad_name");
	expect_refused("emptysan.pem", MICA_E_BADREQ, "bad_csr");
	expect_refused("trailsan.pem", MICA_E_BADREQ, "bad_csr");
	expect_refused("dupsan.pem", MICA_E_BADREQ, "bad_csr");
}

/* True if any 12-character run of the key's base64 appears in MSG. */
static int
leaks_key(const char *msg, const char *pem)
{
	char *body = pem_body(pem), *clean, *o;
	const char *p;
	size_t n, i;
	int leak = 0;

	if (body == NULL)
		return 1;
	clean = malloc(strlen(body) + 1);
	if (clean == NULL) {
		free(body);
		return 1;
	}
	for (o = clean, p = body; *p != '\0'; p++)
		if (*p != '\n' && *p != '\r')
			*o++ = *p;
	*o = '\0';
	n = strlen(clean);
	for (i = 0; i + 12 <= n && !leak; i++) {
		char win[13];

		memcpy(win, clean + i, 12);
		win[12] = '\0';
		if (strstr(msg, win) != NULL)
			leak = 1;
	}
	free(clean);
	free(body);
	return leak;
}

static void
test_private_keys_refused(void)
{
	static const char *const pems[] = { "p256.key", "rsa2048.key",
					    "rsa_trad.key", "ec_trad.key",
					    "p256_enc.key" };
	size_t i, len = 0;
	unsigned char *buf;
	char *body;
	struct ca_csr c;
	struct mica_err err = { 0 };

	for (i = 0; i < sizeof(pems) / sizeof(pems[0]); i++) {
		buf = slurp(pems[i], &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		CU_ASSERT_EQUAL(ca_csr_load(buf, len, &c, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
		CU_ASSERT_STRING_EQUAL(err.code, "private_key_not_csr");
		CU_ASSERT_FALSE(leaks_key(err.msg, (char *)buf));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "CSR"));

		/* the same key as bare base64, without its PEM lines */
		body = pem_body((char *)buf);
		CU_ASSERT_PTR_NOT_NULL_FATAL(body);
		CU_ASSERT_EQUAL(ca_csr_load((unsigned char *)body,
					    strlen(body), &c, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "private_key_not_csr");
		CU_ASSERT_FALSE(leaks_key(err.msg, (char *)buf));
		free(body);
		free(buf);
	}

	/* DER PKCS#8, through load and through parse */
	buf = slurp("p256_key.der", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL(ca_csr_load(buf, len, &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "private_key_not_csr");
	CU_ASSERT_EQUAL(ca_csr_parse(buf, len, &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "private_key_not_csr");
	free(buf);

	/* A SEQUENCE of a lone INTEGER is no key: malformed, not a warning
	 * about a key that was never sent. */
	{
		static const unsigned char lone[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };

		CU_ASSERT_EQUAL(ca_csr_parse(lone, sizeof(lone), &c, &err), -1);
		CU_ASSERT_STRING_NOT_EQUAL(err.code, "private_key_not_csr");
	}

	/* a CSR with its key pasted after it */
	{
		unsigned char *csr = slurp("san.pem", &len), *key;
		size_t klen = 0;
		char *both;

		key = slurp("p256.key", &klen);
		CU_ASSERT_PTR_NOT_NULL_FATAL(csr);
		CU_ASSERT_PTR_NOT_NULL_FATAL(key);
		both = malloc(len + klen + 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(both);
		memcpy(both, csr, len);
		memcpy(both + len, key, klen + 1);
		CU_ASSERT_EQUAL(ca_csr_load((unsigned char *)both, len + klen,
					    &c, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "private_key_not_csr");
		CU_ASSERT_FALSE(leaks_key(err.msg, (char *)key));
		free(both);
		free(key);
		free(csr);
	}
}

static void
test_certificate_refused(void)
{
	struct ca_csr c;
	struct mica_err err;

	CU_ASSERT_EQUAL(load_file("cert.pem", &c, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "certificate, not"));
	/* the certificate as DER is refused by the parser */
	CU_ASSERT_EQUAL_FATAL(ossl("x509 -in cert.pem -outform DER "
				   "-out cert.der"), 0);
	CU_ASSERT_EQUAL(load_file("cert.der", &c, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
}

static void
test_two_blocks_refused(void)
{
	unsigned char *a, *b;
	size_t la = 0, lb = 0;
	char *both;
	struct ca_csr c;
	struct mica_err err = { 0 };

	a = slurp("san.pem", &la);
	b = slurp("rsa.pem", &lb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	both = malloc(la + lb + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(both);
	memcpy(both, a, la);
	memcpy(both + la, b, lb + 1);
	CU_ASSERT_EQUAL(ca_csr_load((unsigned char *)both, la + lb, &c, &err),
			-1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
	free(both);
	free(b);
	free(a);
}

static void
test_garbage(void)
{
	/* sizeof - 1: the length of the literal, NULs included */
#define J(lit) { lit, sizeof(lit) - 1 }
	static const struct { const char *s; size_t len; } junk[] = {
		J("hello world"),
		J("-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n"
		  "-----END CERTIFICATE REQUEST-----\n"),
		J("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n"),
		J("-----BEGIN CERTIFICATE REQUEST-----\n"
		  "Proc-Type: 4,ENCRYPTED\n\nMIIB\n"
		  "-----END CERTIFICATE REQUEST-----\n"),
		J("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"),
		J("-----BEGIN -----\n"),
		J("-----BEGIN CERTIFICATE REQUEST"),
		J("MIIB"),          /* base64 of a truncated SEQUENCE */
		J("===="),
		J("   \r\n\t "),
		J("0"),
		J("\x30"),
		J("\x30\x00"),
		J("\x30\x80\x00\x00"),   /* BER indefinite length */
		J("\x30\x84\xff\xff\xff\xff"),
		J("\xff\xfe-\x00-\x00"),  /* UTF-16LE */
		J("\xef\xbb\xbf"),        /* a lone UTF-8 BOM */
	};
#undef J
	size_t i;
	struct ca_csr c;
	struct mica_err err;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(ca_csr_load((const unsigned char *)junk[i].s,
					    junk[i].len, &c, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
		CU_ASSERT_PTR_NULL(c.der);
	}

	/* empty input, NULL input */
	CU_ASSERT_EQUAL(ca_csr_load((const unsigned char *)"", 0, &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
	CU_ASSERT_EQUAL(ca_csr_load(NULL, 10, &c, &err), -1);
	CU_ASSERT_EQUAL(ca_csr_parse(NULL, 0, &c, &err), -1);
	CU_ASSERT_EQUAL(ca_csr_parse((const unsigned char *)"\x30\x00", 2, NULL,
				     &err), -1);

	/* a thousand random buffers */
	srand(12345);
	for (i = 0; i < 1000; i++) {
		unsigned char buf[256];
		size_t j, len = 1 + (size_t)rand() % sizeof(buf);

		for (j = 0; j < len; j++)
			buf[j] = (unsigned char)rand();
		if (i % 2 == 0)
			buf[0] = 0x30;   /* make it look like DER */
		CU_ASSERT_EQUAL(ca_csr_load(buf, len, &c, &err), -1);
	}
}

static void
test_truncated_and_trailing(void)
{
	static const char *const files[] = { "san.der", "rsa.der" };
	unsigned char *der, *longer;
	size_t len = 0, i, f;
	struct ca_csr c;
	struct mica_err err = { 0 };
	int bad = 0;

	for (f = 0; f < 2; f++) {
		der = slurp(files[f], &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(der);
		/* every proper prefix is refused (and ASan sees no read
		 * past it: each prefix is copied to an exact-size buffer) */
		for (i = 0; i < len; i++) {
			unsigned char *pre = malloc(i ? i : 1);

			CU_ASSERT_PTR_NOT_NULL_FATAL(pre);
			memcpy(pre, der, i);
			if (ca_csr_parse(pre, i, &c, &err) != -1 ||
			    ca_csr_load(pre, i, &c, &err) != -1)
				bad++;
			free(pre);
		}
		CU_ASSERT_EQUAL(bad, 0);

		/* trailing garbage after the DER */
		longer = malloc(len + 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(longer);
		memcpy(longer, der, len);
		longer[len] = 0x00;
		CU_ASSERT_EQUAL(ca_csr_parse(longer, len + 1, &c, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
		CU_ASSERT_EQUAL(ca_csr_load(longer, len + 1, &c, &err), -1);
		longer[len] = '\n';
		CU_ASSERT_EQUAL(ca_csr_load(longer, len + 1, &c, &err), -1);
		free(longer);

		/* the whole thing still parses */
		CU_ASSERT_EQUAL(ca_csr_parse(der, len, &c, &err), 0);
		ca_csr_free(&c);
		free(der);
	}
}

static void
test_oversize(void)
{
	unsigned char *big = malloc(CA_CSR_MAX + 1);
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct ca_csr c;
	struct mica_err err = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'A', CA_CSR_MAX + 1);
	CU_ASSERT_EQUAL(ca_csr_decode(big, CA_CSR_MAX + 1, &der, &der_len,
				      &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_TOOLARGE);
	CU_ASSERT_STRING_EQUAL(err.code, "too_large");
	CU_ASSERT_PTR_NULL(der);
	CU_ASSERT_EQUAL(ca_csr_load(big, CA_CSR_MAX + 1, &c, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_TOOLARGE);
	big[0] = 0x30;
	CU_ASSERT_EQUAL(ca_csr_parse(big, CA_CSR_MAX + 1, &c, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_TOOLARGE);
	/* exactly the limit is not "too large" (just not a CSR) */
	CU_ASSERT_EQUAL(ca_csr_load(big, CA_CSR_MAX, &c, &err), -1);
	CU_ASSERT_NOT_EQUAL(err.kind, MICA_E_TOOLARGE);
	free(big);
}

/* ------------------------------------------------------------------ */
/* Signed mutations                                                    */
/* ------------------------------------------------------------------ */

static int
rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1;
}

/* Wrap CRI into a CertificationRequest signed by KEY (ECDSA P-256,
 * SHA-256), as a hostile requester would: the parser must survive
 * whatever is signed, since signing proves nothing about well-formedness.
 * OUT needs cri_len + 100 bytes. */
static int
resign(mbedtls_pk_context *key, const unsigned char *cri, size_t cri_len,
       unsigned char *out, size_t *out_len)
{
	static const unsigned char alg[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a,
		0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	unsigned char hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sig_len = 0, body, o = 0;

	mbedtls_sha256(cri, cri_len, hash, 0);
	if (mbedtls_pk_sign(key, MBEDTLS_MD_SHA256, hash, 32, sig, sizeof(sig),
			    &sig_len, rng, NULL) != 0 || sig_len > 120)
		return -1;
	body = cri_len + sizeof(alg) + 3 + sig_len;
	if (body > 0xffff)
		return -1;
	/* DER: the length in its shortest form */
	out[o++] = 0x30;
	if (body >= 0x100) {
		out[o++] = 0x82;
		out[o++] = (unsigned char)(body >> 8);
	} else if (body >= 0x80) {
		out[o++] = 0x81;
	}
	out[o++] = (unsigned char)body;
	memcpy(out + o, cri, cri_len);
	o += cri_len;
	memcpy(out + o, alg, sizeof(alg));
	o += sizeof(alg);
	out[o++] = 0x03;
	out[o++] = (unsigned char)(sig_len + 1);
	out[o++] = 0x00;
	memcpy(out + o, sig, sig_len);
	o += sig_len;
	*out_len = o;
	return 0;
}

static void
test_signed_mutations(void)
{
	static const unsigned char masks[] = { 0x01, 0x80, 0xff };
	mbedtls_pk_context key;
	unsigned char *der, *cri, *buf;
	size_t len = 0, cri_len, hdr, i, m, out_len, ok = 0, j;
	char path[256];
	struct ca_csr c;
	struct mica_err err;

	mbedtls_pk_init(&key);
	path_in_tmp(path, sizeof(path), "p256.key");
	CU_ASSERT_EQUAL_FATAL(mbedtls_pk_parse_keyfile(&key, path, NULL, rng,
						       NULL), 0);
	der = slurp("san.der", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	/* outer header: 30 82 LL LL (the request is 256..65535 bytes) */
	CU_ASSERT_EQUAL_FATAL(der[1], 0x82);
	hdr = 4;
	CU_ASSERT_EQUAL_FATAL(der[hdr], 0x30);
	CU_ASSERT_EQUAL_FATAL(der[hdr + 1], 0x81);   /* CRI 128..255 bytes */
	cri_len = 3 + der[hdr + 2];
	cri = malloc(cri_len);
	buf = malloc(cri_len + 100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cri);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);

	/* the harness itself produces a request we accept */
	memcpy(cri, der + hdr, cri_len);
	CU_ASSERT_EQUAL_FATAL(resign(&key, cri, cri_len, buf, &out_len), 0);
	CU_ASSERT_EQUAL_FATAL(ca_csr_parse(buf, out_len, &c, &err), 0);
	ca_csr_free(&c);

	for (i = 0; i < cri_len; i++) {
		for (m = 0; m < sizeof(masks); m++) {
			memcpy(cri, der + hdr, cri_len);
			cri[i] ^= masks[m];
			if (resign(&key, cri, cri_len, buf, &out_len) != 0) {
				CU_FAIL("signing failed");
				continue;
			}
			memset(&err, 0, sizeof(err));
			if (ca_csr_parse(buf, out_len, &c, &err) == 0) {
				ok++;
				CU_ASSERT(c.nnames <= CA_NAMES_MAX);
				for (j = 0; j < c.nnames; j++)
					CU_ASSERT_PTR_NOT_NULL(memchr(
						c.names[j].value, '\0',
						sizeof(c.names[j].value)));
				CU_ASSERT_PTR_NOT_NULL(c.subject);
				ca_csr_free(&c);
			} else {
				CU_ASSERT(err.kind != MICA_E_NONE);
				CU_ASSERT(err.code[0] != '\0');
				CU_ASSERT(strlen(err.msg) > 0);
			}
		}
	}
	/* flips inside the subject's text survive; structure flips do not */
	CU_ASSERT(ok > 0);
	CU_ASSERT(ok < cri_len * sizeof(masks));
	free(buf);
	free(cri);
	free(der);
	mbedtls_pk_free(&key);
}

/* ------------------------------------------------------------------ */
/* Subjects as text                                                    */
/* ------------------------------------------------------------------ */

/* DER header of TAG and LEN at P: its length. */
static size_t
put_tl(unsigned char *p, unsigned char tag, size_t len)
{
	p[0] = tag;
	if (len < 0x80) {
		p[1] = (unsigned char)len;
		return 2;
	}
	if (len < 0x100) {
		p[1] = 0x81;
		p[2] = (unsigned char)len;
		return 3;
	}
	p[1] = 0x82;
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	return 4;
}

/* The octets put_tl writes for LEN. */
static size_t
tl_size(size_t len)
{
	return len < 0x80 ? 2 : len < 0x100 ? 3 : 4;
}

/* CertificationRequestInfo CRI (LEN octets) signed by p256.key (resign)
 * and read by ca_csr_parse. */
static int
resign_parse(const unsigned char *cri, size_t len, struct ca_csr *c,
	     struct mica_err *err)
{
	unsigned char out[1400];
	size_t out_len;
	mbedtls_pk_context key;
	char path[256];
	int rc = -1;

	if (len + 100 > sizeof(out))
		return -1;
	mbedtls_pk_init(&key);
	path_in_tmp(path, sizeof(path), "p256.key");
	if (mbedtls_pk_parse_keyfile(&key, path, NULL, rng, NULL) == 0 &&
	    resign(&key, cri, len, out, &out_len) == 0)
		rc = ca_csr_parse(out, out_len, c, err);
	mbedtls_pk_free(&key);
	return rc;
}

/* A request of p256.key whose subject is one attribute, of type OID (its
 * whole DER, OID_LEN octets), a TAG holding VAL (LEN octets), signed by
 * resign(). */
static int
attr_request(const unsigned char *cn_oid, size_t oid_len, unsigned char tag,
	     const unsigned char *val, size_t len, struct ca_csr *c,
	     struct mica_err *err)
{
	unsigned char subj[600], cri[1200], *spki;
	size_t spki_len = 0, atv, n = 0, k = 0;

	if (len > 400 || (spki = slurp("p256_spki.der", &spki_len)) == NULL)
		return -1;
	/* Name ::= SEQUENCE { SET { SEQUENCE { OID, value } } } */
	atv = oid_len + tl_size(len) + len;
	n += put_tl(subj + n, 0x30, atv + tl_size(atv) +
		    tl_size(atv + tl_size(atv)));
	n += put_tl(subj + n, 0x31, atv + tl_size(atv));
	n += put_tl(subj + n, 0x30, atv);
	memcpy(subj + n, cn_oid, oid_len);
	n += oid_len;
	n += put_tl(subj + n, tag, len);
	memcpy(subj + n, val, len);
	n += len;
	/* CertificationRequestInfo ::= SEQUENCE { 0, subject, spki, [0] {} } */
	k += put_tl(cri + k, 0x30, 3 + n + spki_len + 2);
	memcpy(cri + k, "\x02\x01\x00", 3);
	k += 3;
	memcpy(cri + k, subj, n);
	k += n;
	memcpy(cri + k, spki, spki_len);
	k += spki_len;
	memcpy(cri + k, "\xa0\x00", 2);
	k += 2;
	free(spki);
	return resign_parse(cri, k, c, err);
}

/* A request of p256.key for CN=legacy.contoso.test whose attributes ([0])
 * are ATTRS (whole DER of each Attribute, ATTRS_LEN octets), signed by
 * resign(). */
static int
attrs_request(const unsigned char *attrs, size_t attrs_len, struct ca_csr *c,
	      struct mica_err *err)
{
	static const unsigned char subj[] = { 0x30, 0x1e, 0x31, 0x1c, 0x30,
		0x1a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x13, 'l', 'e', 'g',
		'a', 'c', 'y', '.', 'c', 'o', 'n', 't', 'o', 's', 'o', '.', 't',
		'e', 's', 't' };
	unsigned char cri[1200], *spki;
	size_t spki_len = 0, k = 0, body;

	if (attrs_len > 600 || (spki = slurp("p256_spki.der", &spki_len)) == NULL)
		return -1;
	body = 3 + sizeof(subj) + spki_len + tl_size(attrs_len) + attrs_len;
	k += put_tl(cri + k, 0x30, body);
	memcpy(cri + k, "\x02\x01\x00", 3);
	k += 3;
	memcpy(cri + k, subj, sizeof(subj));
	k += sizeof(subj);
	memcpy(cri + k, spki, spki_len);
	k += spki_len;
	k += put_tl(cri + k, 0xa0, attrs_len);
	memcpy(cri + k, attrs, attrs_len);
	k += attrs_len;
	free(spki);
	return resign_parse(cri, k, c, err);
}

/* An extension request attribute of type OID (10 octets of contents)
 * asking for subjectAltName dNSName NAME (at most 60 characters), into
 * OUT: its length. */
static size_t
ext_req_attr(const unsigned char *oid, size_t oid_len, const char *name,
	     unsigned char *out)
{
	/* Each part's whole length, from the inside out. */
	size_t nl = strlen(name), gn = 2 + nl, gns = 2 + gn, os = 2 + gns;
	size_t ext_c = 5 + os, ext = 2 + ext_c, exts = 2 + ext, set = 2 + exts;
	size_t n = 0;

	n += put_tl(out + n, 0x30, 2 + oid_len + set);  /* Attribute */
	n += put_tl(out + n, 0x06, oid_len);
	memcpy(out + n, oid, oid_len);
	n += oid_len;
	n += put_tl(out + n, 0x31, exts);               /* values */
	n += put_tl(out + n, 0x30, ext);                /* Extensions */
	n += put_tl(out + n, 0x30, ext_c);              /* Extension */
	memcpy(out + n, "\x06\x03\x55\x1d\x11", 5);   /* subjectAltName */
	n += 5;
	n += put_tl(out + n, 0x04, gns);
	n += put_tl(out + n, 0x30, gn);                 /* GeneralNames */
	n += put_tl(out + n, 0x82, nl);                 /* dNSName */
	memcpy(out + n, name, nl);
	n += nl;
	return n;
}

static int
has_name(const struct ca_csr *c, const char *name)
{
	for (size_t i = 0; i < c->nnames; i++)
		if (strcmp(c->names[i].value, name) == 0)
			return 1;
	return 0;
}

/* Microsoft's older extension request (szOID_CERT_EXTENSIONS), as IIS 6
 * and Exchange 2003 wrote their requests: its subjectAltName is read
 * (it was skipped, and the certificate got the CN alone); beside a
 * PKCS#9 extensionRequest it is ignored; twice, refused. */
static void
test_ms_extension_request(void)
{
	static const unsigned char ms[] = { 0x2b, 0x06, 0x01, 0x04, 0x01,
		0x82, 0x37, 0x02, 0x01, 0x0e };
	static const unsigned char pkcs9[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
		0x0d, 0x01, 0x09, 0x0e };
	unsigned char attrs[400];
	struct ca_csr c;
	struct mica_err err;
	size_t n;

	n = ext_req_attr(ms, sizeof(ms), "mail.contoso.test", attrs);
	CU_ASSERT_EQUAL_FATAL(attrs_request(attrs, n, &c, &err), 0);
	CU_ASSERT(has_name(&c, "mail.contoso.test"));
	CU_ASSERT_EQUAL(c.nnames, 1);   /* the SAN's, not the CN */
	ca_csr_free(&c);

	n = ext_req_attr(pkcs9, sizeof(pkcs9), "www.contoso.test", attrs);
	n += ext_req_attr(ms, sizeof(ms), "mail.contoso.test", attrs + n);
	CU_ASSERT_EQUAL_FATAL(attrs_request(attrs, n, &c, &err), 0);
	CU_ASSERT(has_name(&c, "www.contoso.test"));
	CU_ASSERT(!has_name(&c, "mail.contoso.test"));
	ca_csr_free(&c);
	n = ext_req_attr(ms, sizeof(ms), "mail.contoso.test", attrs);
	n += ext_req_attr(pkcs9, sizeof(pkcs9), "www.contoso.test", attrs + n);
	CU_ASSERT_EQUAL_FATAL(attrs_request(attrs, n, &c, &err), 0);
	CU_ASSERT(has_name(&c, "www.contoso.test"));
	CU_ASSERT(!has_name(&c, "mail.contoso.test"));
	ca_csr_free(&c);

	n = ext_req_attr(ms, sizeof(ms), "mail.contoso.test", attrs);
	n += ext_req_attr(ms, sizeof(ms), "mail.contoso.test", attrs + n);
	CU_ASSERT_EQUAL(attrs_request(attrs, n, &c, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "two extension requests"));
	/* The same form as PKCS#9's: a malformed one is refused alike. */
	n = ext_req_attr(ms, sizeof(ms), "mail.contoso.test", attrs);
	attrs[n - 1 - strlen("mail.contoso.test") - 1] ^= 0x01;  /* dNSName len */
	CU_ASSERT_EQUAL(attrs_request(attrs, n, &c, &err), -1);
}

/* The same, the attribute a commonName. */
static int
cn_request(unsigned char tag, const unsigned char *val, size_t len,
	   struct ca_csr *c, struct mica_err *err)
{
	static const unsigned char oid[] = { 0x06, 0x03, 0x55, 0x04, 0x03 };

	return attr_request(oid, sizeof(oid), tag, val, len, c, err);
}

/* A random octet from what a Name's value holds and ca_dn_print treats
 * apart: letters, RFC 4514's specials, '#' and ' ' (escaped first or
 * last), controls, DEL, UTF-8 of U+00E9, and (seldom) a NUL. */
/* test_dn_print's numbers: xorshift64 from a seed it prints, so that a
 * failure can be run again (MICA_TEST_SEED=N). */
static uint64_t dn_rng_state;

static uint32_t
dn_rand(void)
{
	dn_rng_state ^= dn_rng_state << 13;
	dn_rng_state ^= dn_rng_state >> 7;
	dn_rng_state ^= dn_rng_state << 17;
	return (uint32_t)(dn_rng_state >> 32);
}

static unsigned char
dn_octet(void)
{
	static const unsigned char pick[] = "aZ9,=+<>;\"\\# \x01\x1f\x7f\xc3\xa9.-";
	uint32_t r = dn_rand();

	if (r % 500 == 0)
		return 0;
	return pick[(r >> 9) % (sizeof(pick) - 1)];
}

static void
test_dn_print(void)
{
	/* CN, O, emailAddress, an OID mbedTLS has no name for, and one
	 * whose encoding is not minimal (no dotted form: "??") */
	static const unsigned char oids[][10] = {
		{ 3, 0x55, 0x04, 0x03 }, { 3, 0x55, 0x04, 0x0a },
		{ 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01 },
		{ 3, 0x2a, 0x03, 0x04 }, { 3, 0x2a, 0x80, 0x01 },
	};
	static const int tags[] = {
		MBEDTLS_ASN1_UTF8_STRING, MBEDTLS_ASN1_PRINTABLE_STRING,
		MBEDTLS_ASN1_IA5_STRING, MBEDTLS_ASN1_BMP_STRING,
		MBEDTLS_ASN1_T61_STRING, MBEDTLS_ASN1_OCTET_STRING,
	};
	static const unsigned char uni[] = {
		0, 0, 0, 'U', 0, 0, 0, 'n', 0, 0, 0, 'i', 0, 0, 0, '.',
		0, 0, 0, 'c', 0, 0, 0, 'o', 0, 0, 0, '.', 0, 0, 0, 't',
		0, 0, 0, 'e', 0, 0, 0, 's', 0, 0, 0, 't',
	};
	mbedtls_x509_name node[4];
	unsigned char val[4][400];
	char ours[4096], theirs[4096];
	unsigned long same = 0, longer = 0;
	struct ca_csr c;
	struct mica_err err;

	/* Octet for octet what mbedtls_x509_dn_gets() writes whenever it
	 * writes anything; where it gives up (a value past its 255
	 * characters), the text anyway. */
	{
		const char *fixed = getenv("MICA_TEST_SEED");
		uint64_t seed = 0;

		if (fixed != NULL)
			seed = strtoull(fixed, NULL, 10);
		else if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = (uint64_t)time(NULL);
		dn_rng_state = seed | 1;
		fprintf(stderr, "\n  (names drawn with MICA_TEST_SEED=%llu) ",
			(unsigned long long)seed);
	}
	for (int round = 0; round < 20000; round++) {
		uint32_t r[4];
		int nn, a, b;

		for (int k = 0; k < 4; k++)
			r[k] = dn_rand();
		nn = 1 + (int)(r[0] % 4);
		memset(node, 0, sizeof(node));
		for (int i = 0; i < nn; i++) {
			size_t len = (r[1] >> (8 * i)) % 4 == 0 ? 60 + r[2] % 300
								: r[2] % 40;

			r[2] = r[2] * 1103515245u + 12345u;
			node[i].oid.tag = MBEDTLS_ASN1_OID;
			node[i].oid.p = (unsigned char *)oids[(r[3] >> (3 * i)) % 5] + 1;
			node[i].oid.len = oids[(r[3] >> (3 * i)) % 5][0];
			node[i].val.tag = tags[(r[0] >> (4 + 3 * i)) % 6];
			for (size_t k = 0; k < len; k++)
				val[i][k] = dn_octet();
			node[i].val.p = val[i];
			node[i].val.len = len;
			node[i].next = i + 1 < nn ? &node[i + 1] : NULL;
		}
		a = ca_dn_print(ours, sizeof(ours), node, NULL);
		b = mbedtls_x509_dn_gets(theirs, sizeof(theirs), node);
		if (b >= 0) {
			CU_ASSERT_EQUAL(a, b);
			if (a == b && strcmp(ours, theirs) == 0)
				same++;
			else
				CU_FAIL("ca_dn_print differs from mbedtls_x509_dn_gets");
		} else if (b == MBEDTLS_ERR_X509_INVALID_NAME) {
			CU_ASSERT_EQUAL(a, -2);
		} else {
			CU_ASSERT_EQUAL(b, MBEDTLS_ERR_X509_BUFFER_TOO_SMALL);
			if (a >= 0) {
				CU_ASSERT_EQUAL((size_t)a, strlen(ours));
				longer++;
			} else {
				CU_ASSERT_EQUAL(a, -2);
			}
		}
	}
	CU_ASSERT(same > 5000);
	CU_ASSERT(longer > 100);

	/* Requests as mbedTLS's own parser reads them, multi-valued RDNs
	 * marked (mbedtls_x509_dn_get_next tells them): ca_dn_print with
	 * the same marks writes what mbedtls_x509_dn_gets() writes. */
	{
		static const char *const files[] = {
			"multirdn.pem", "threerdn.pem", "san.pem", "rlocn.pem",
			"bmptext.pem", "twocn.pem", "utf8cn.pem",
		};

		for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
			mbedtls_x509_csr csr;
			mbedtls_x509_name *n;
			unsigned char merged[64] = { 0 }, *pem, *der = NULL;
			size_t plen = 0, dlen = 0, k = 0;

			pem = slurp(files[f], &plen);
			CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
			CU_ASSERT_FATAL(ca_csr_decode(pem, plen, &der, &dlen, &err) == 0);
			mbedtls_x509_csr_init(&csr);
			CU_ASSERT_FATAL(mbedtls_x509_csr_parse_der(&csr, der, dlen) == 0);
			for (n = &csr.subject; n != NULL && k + 1 < 64; n = n->next, k++)
				if (n->next != NULL &&
				    mbedtls_x509_dn_get_next(n) != n->next)
					merged[k + 1] = 1;
			CU_ASSERT(mbedtls_x509_dn_gets(theirs, sizeof(theirs),
						       &csr.subject) > 0);
			CU_ASSERT(ca_dn_print(ours, sizeof(ours), &csr.subject,
					      merged) > 0);
			if (strcmp(ours, theirs) != 0)
				fprintf(stderr, "\n  %s: \"%s\", not \"%s\"\n",
					files[f], ours, theirs);
			CU_ASSERT_STRING_EQUAL(ours, theirs);
			mbedtls_x509_csr_free(&csr);
			free(der);
			free(pem);
		}
	}

	/* a BUF too small is -1, with BUF still a string */
	node[0] = (mbedtls_x509_name){ 0 };
	node[0].oid = (mbedtls_x509_buf){ MBEDTLS_ASN1_OID, 3,
		(unsigned char *)oids[0] + 1 };
	node[0].val = (mbedtls_x509_buf){ MBEDTLS_ASN1_UTF8_STRING, 3,
		(unsigned char *)"a,b" };
	CU_ASSERT_EQUAL(ca_dn_print(ours, 8, node, NULL), 7);
	CU_ASSERT_STRING_EQUAL(ours, "CN=a\\,b");
	CU_ASSERT_EQUAL(ca_dn_print(ours, 7, node, NULL), -1);
	CU_ASSERT_PTR_NOT_NULL(memchr(ours, '\0', 7));

	/* the attributes of one RDN joined by " + ": {CN + OU} is not the
	 * two RDNs CN, OU */
	CU_ASSERT_EQUAL_FATAL(load_file("multirdn.pem", &c, &err), 0);
	/* (DER sorts a SET OF: OU first) */
	CU_ASSERT_STRING_EQUAL(c.subject, "O=Contoso, OU=b + CN=a.contoso.test");
	ca_csr_free(&c);
	CU_ASSERT_EQUAL_FATAL(load_file("threerdn.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.subject, "O=Contoso, CN=a.contoso.test, OU=b");
	ca_csr_free(&c);

	/* a CN as a UniversalString (UCS-4; openssl req writes none): its
	 * text, and the name it holds */
	CU_ASSERT_EQUAL_FATAL(cn_request(0x1c, uni, sizeof(uni), &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.subject, "CN=Uni.co.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.cn);
	CU_ASSERT_STRING_EQUAL(c.cn, "Uni.co.test");
	CU_ASSERT_EQUAL_FATAL(c.nnames, 1);
	CU_ASSERT_STRING_EQUAL(c.names[0].value, "uni.co.test");
	ca_csr_free(&c);
	/* a UTF8String CN of 100 "\xd0\x96": long for a CN (RFC 5280 says
	 * 64), but 200 octets are within what mica keeps (255) */
	memset(val[0], 0, sizeof(val[0]));
	for (int i = 0; i < 200; i += 2)
		memcpy(val[0] + i, "\xd0\x96", 2);
	CU_ASSERT_EQUAL_FATAL(cn_request(0x0c, val[0], 200, &c, &err), 0);
	CU_ASSERT_EQUAL(strncmp(c.subject, "CN=" ZHE_10, 23), 0);
	CU_ASSERT_EQUAL(strlen(c.subject), 203);
	ca_csr_free(&c);
	{
		/* an emailAddress as a BMPString (PKCS#9 says IA5String):
		 * refused, the message naming the type */
		static const unsigned char email[] = { 0x06, 0x09, 0x2a, 0x86,
			0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01 };
		static const unsigned char a_b[] = { 0, 'a', 0, '@', 0, 'b',
			0, '.', 0, 't', 0, 'e', 0, 's', 0, 't' };

		CU_ASSERT_EQUAL_FATAL(attr_request(email, sizeof(email), 0x1e,
						   a_b, sizeof(a_b), &c, &err), 0);
		CU_ASSERT_EQUAL(c.nnames, 0);
		CU_ASSERT_STRING_EQUAL(c.names_err.code, "bad_name");
		CU_ASSERT_PTR_NOT_NULL(strstr(c.names_err.msg, "not an IA5String"));
		ca_csr_free(&c);
	}
}

/* BER's lengths not in their shortest form: the outer SEQUENCE's (not
 * under the signature: the same request re-encoded), and one inside it,
 * signed. */
static void
test_ber_lengths(void)
{
	mbedtls_pk_context key;
	unsigned char *der, *ber, *cri, out[2048];
	size_t len = 0, cri_len, out_len;
	char path[256];
	struct ca_csr c;
	struct mica_err err;

	der = slurp("san.der", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_EQUAL_FATAL(der[1], 0x82);
	CU_ASSERT_EQUAL_FATAL(ca_csr_parse(der, len, &c, &err), 0);
	ca_csr_free(&c);
	/* 30 82 LL LL -> 30 84 00 00 LL LL */
	ber = malloc(len + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ber);
	ber[0] = 0x30;
	ber[1] = 0x84;
	ber[2] = ber[3] = 0;
	memcpy(ber + 4, der + 2, len - 2);
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ca_csr_parse(ber, len + 2, &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not DER"));
	free(ber);

	/* the subject's SEQUENCE as 30 81 LL (LL < 128), signed */
	CU_ASSERT_EQUAL_FATAL(der[4], 0x30);
	CU_ASSERT_EQUAL_FATAL(der[5], 0x81);
	cri_len = 3 + der[6];
	cri = malloc(cri_len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cri);
	/* version 02 01 00 at 7..9, the subject at 10 */
	CU_ASSERT_EQUAL_FATAL(der[10], 0x30);
	CU_ASSERT_FATAL(der[11] < 0x80);
	memcpy(cri, der + 4, 7);                 /* up to the subject's tag */
	cri[7] = 0x81;
	memcpy(cri + 8, der + 11, cri_len - 7);  /* its length, the rest */
	cri[2] = (unsigned char)(der[6] + 1);    /* the CRI one longer */
	CU_ASSERT_FATAL(cri[2] >= 0x80);
	mbedtls_pk_init(&key);
	path_in_tmp(path, sizeof(path), "p256.key");
	CU_ASSERT_EQUAL_FATAL(mbedtls_pk_parse_keyfile(&key, path, NULL, rng,
						       NULL), 0);
	CU_ASSERT_EQUAL_FATAL(resign(&key, cri, cri_len + 1, out, &out_len), 0);
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ca_csr_parse(out, out_len, &c, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not DER"));
	/* and the same bytes with the subject's length written right:
	 * taken (the harness is not what refused it) */
	memcpy(cri, der + 4, cri_len);
	CU_ASSERT_EQUAL_FATAL(resign(&key, cri, cri_len, out, &out_len), 0);
	CU_ASSERT_EQUAL(ca_csr_parse(out, out_len, &c, &err), 0);
	ca_csr_free(&c);
	/* the version INTEGER in two octets, 02 02 00 00 (X.690 8.3.2:
	 * an integer in its fewest octets), signed */
	CU_ASSERT_EQUAL_FATAL(der[7], 0x02);
	CU_ASSERT_EQUAL_FATAL(der[8], 0x01);
	memcpy(cri, der + 4, 3);
	cri[2] = (unsigned char)(der[6] + 1);
	memcpy(cri + 3, "\x02\x02\x00\x00", 4);
	memcpy(cri + 7, der + 10, cri_len - 6);
	CU_ASSERT_EQUAL_FATAL(resign(&key, cri, cri_len + 1, out, &out_len), 0);
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ca_csr_parse(out, out_len, &c, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "an integer not in its shortest form"));
	mbedtls_pk_free(&key);
	free(cri);
	free(der);
}

/* DER nested deeper than any request needs (here in the signature
 * algorithm's parameters, outside what is signed) is refused saying so,
 * not as a length in the wrong form. */
static void
test_nesting_too_deep(void)
{
	unsigned char *der, out[4096], nest[64];
	size_t len = 0, cri_len, alg_off, alg_len, o = 0, nl = 2;
	struct ca_csr c;
	struct mica_err err;
	static const unsigned char ecdsa_sha256[] = {
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };

	der = slurp("san.der", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_EQUAL_FATAL(der[1], 0x82);
	CU_ASSERT_EQUAL_FATAL(der[5], 0x81);
	cri_len = 3 + der[6];
	alg_off = 4 + cri_len;
	CU_ASSERT_EQUAL_FATAL(der[alg_off], 0x30);
	alg_len = 2 + der[alg_off + 1];
	/* 20 SEQUENCEs, each inside the next: 30 26 30 24 ... 30 00 */
	nest[sizeof(nest) - 2] = 0x30;
	nest[sizeof(nest) - 1] = 0x00;
	for (int i = 1; i < 20; i++) {
		nest[sizeof(nest) - nl - 2] = 0x30;
		nest[sizeof(nest) - nl - 1] = (unsigned char)nl;
		nl += 2;
	}
	out[o++] = 0x30;
	out[o++] = 0x82;
	o += 2;
	memcpy(out + o, der + 4, cri_len);
	o += cri_len;
	out[o++] = 0x30;
	out[o++] = (unsigned char)(sizeof(ecdsa_sha256) + nl);
	memcpy(out + o, ecdsa_sha256, sizeof(ecdsa_sha256));
	o += sizeof(ecdsa_sha256);
	memcpy(out + o, nest + sizeof(nest) - nl, nl);
	o += nl;
	memcpy(out + o, der + alg_off + alg_len, len - alg_off - alg_len);
	o += len - alg_off - alg_len;
	out[2] = (unsigned char)((o - 4) >> 8);
	out[3] = (unsigned char)(o - 4);
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ca_csr_parse(out, o, &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nested more than 16 levels"));
	free(der);
}

/* ------------------------------------------------------------------ */
/* challengePassword                                                   */
/* ------------------------------------------------------------------ */

static void
test_challenge_password(void)
{
	struct ca_csr c;
	struct mica_err err;

	/* openssl's UTF8String and PrintableString encodings */
	CU_ASSERT_EQUAL_FATAL(load_file("chal_utf8.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.has_challenge, 1);
	CU_ASSERT_STRING_EQUAL(c.challenge, "0123456789abcdef0123456789abcdef");
	ca_csr_free(&c);
	CU_ASSERT_EQUAL(c.has_challenge, 0);
	CU_ASSERT_EQUAL(c.challenge[0], '\0');
	CU_ASSERT_EQUAL_FATAL(load_file("chal_print.pem", &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.challenge, "0123456789abcdef0123456789abcdef");
	ca_csr_free(&c);
	/* 255 characters is the bound (RFC 2985); 256 is malformed */
	CU_ASSERT_EQUAL_FATAL(load_file("chal_max.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(strlen(c.challenge), 255);
	ca_csr_free(&c);
	expect_refused("chal_long.pem", MICA_E_BADREQ, "bad_csr");
	/* present but not printable ASCII: kept as present, value empty */
	CU_ASSERT_EQUAL_FATAL(load_file("chal_nonascii.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.has_challenge, 1);
	CU_ASSERT_STRING_EQUAL(c.challenge, "");
	ca_csr_free(&c);
	/* none */
	CU_ASSERT_EQUAL_FATAL(load_file("san.pem", &c, &err), 0);
	CU_ASSERT_EQUAL(c.has_challenge, 0);
	CU_ASSERT_STRING_EQUAL(c.challenge, "");
	ca_csr_free(&c);
}

/* Append TAG LEN CONTENT (LEN < 65536) at OUT + *O. */
static void
tlv(unsigned char *out, size_t *o, unsigned char tag, const void *content,
    size_t len)
{
	out[(*o)++] = tag;
	if (len < 0x80) {
		out[(*o)++] = (unsigned char)len;
	} else if (len < 0x100) {
		out[(*o)++] = 0x81;
		out[(*o)++] = (unsigned char)len;
	} else {
		out[(*o)++] = 0x82;
		out[(*o)++] = (unsigned char)(len >> 8);
		out[(*o)++] = (unsigned char)len;
	}
	memcpy(out + *o, content, len);
	*o += len;
}

/* A request by p256.key whose attributes [0] hold ATTRS (already
 * encoded), signed: what a hostile requester can send. */
static int
signed_with_attrs(const unsigned char *attrs, size_t attrs_len,
		  unsigned char *out, size_t *out_len)
{
	static const unsigned char name[] = {
		0x30, 0x19, 0x31, 0x17, 0x30, 0x15, 0x06, 0x03, 0x55, 0x04, 0x03,
		0x0c, 0x0e, 'a', '.', 'c', 'o', 'n', 't', 'o', 's', 'o', '.',
		't', 'e', 's', 't' };
	unsigned char cri_body[2048], cri[2100], *spki;
	size_t o = 0, c = 0, spki_len = 0;
	mbedtls_pk_context key;
	char path[256];
	int rc;

	spki = slurp("p256_spki.der", &spki_len);
	if (spki == NULL || spki_len + attrs_len + 64 > sizeof(cri_body)) {
		free(spki);
		return -1;
	}
	memcpy(cri_body + o, "\x02\x01\x00", 3);
	o += 3;
	memcpy(cri_body + o, name, sizeof(name));
	o += sizeof(name);
	memcpy(cri_body + o, spki, spki_len);
	o += spki_len;
	free(spki);
	tlv(cri_body, &o, 0xa0, attrs, attrs_len);
	tlv(cri, &c, 0x30, cri_body, o);
	mbedtls_pk_init(&key);
	path_in_tmp(path, sizeof(path), "p256.key");
	rc = mbedtls_pk_parse_keyfile(&key, path, NULL, rng, NULL) == 0 &&
	     resign(&key, cri, c, out, out_len) == 0 ? 0 : -1;
	mbedtls_pk_free(&key);
	return rc;
}

/* One challengePassword attribute with the values VALS (already encoded,
 * concatenated) into ATTR. */
static size_t
chal_attr(const unsigned char *vals, size_t vals_len, unsigned char *attr)
{
	static const unsigned char oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
					     0x01, 0x09, 0x07 };
	unsigned char body[600], set[600];
	size_t o = 0, s = 0, a = 0;

	tlv(set, &s, 0x31, vals, vals_len);
	tlv(body, &o, 0x06, oid, sizeof(oid));
	memcpy(body + o, set, s);
	o += s;
	tlv(attr, &a, 0x30, body, o);
	return a;
}

static void
test_challenge_password_hostile(void)
{
	static const unsigned char one[] = { 0x0c, 0x04, 'a', 'b', 'c', 'd' };
	static const unsigned char two[] = { 0x0c, 0x01, 'a', 0x0c, 0x01, 'b' };
	static const unsigned char empty[] = { 0x0c, 0x00 };
	static const unsigned char bmp[] = { 0x1e, 0x04, 0x00, 'a', 0x00, 'b' };
	static const unsigned char bmp_e[] = { 0x1e, 0x04, 0x00, 'a', 0x00, 0xe9 };
	static const unsigned char bmp_hi[] = { 0x1e, 0x04, 0x00, 'a', 0x01, 'b' };
	static const unsigned char bmp_odd[] = { 0x1e, 0x03, 0x00, 'a', 0x00 };
	static const unsigned char bmp_nl[] = { 0x1e, 0x04, 0x00, 'a', 0x00, '\n' };
	static const unsigned char ctl[] = { 0x0c, 0x03, 'a', '\n', 'b' };
	static const unsigned char nul[] = { 0x0c, 0x03, 'a', 0x00, 'b' };
	static const unsigned char ia5[] = { 0x16, 0x02, 'o', 'k' };
	static const unsigned char cut[] = { 0x0c, 0x05, 'a', 'b' };
	unsigned char attrs[1200], der[2400];
	size_t n, der_len;
	struct ca_csr c;
	struct mica_err err;
	struct {
		const char *what;
		const unsigned char *v;
		size_t len;
		int twice;
		int rc;              /* 0 parsed, -1 bad_csr */
		int usable;          /* the value survives */
	} cases[] = {
		{ "one UTF8String value", one, sizeof(one), 0, 0, 1 },
		{ "an IA5String value", ia5, sizeof(ia5), 0, 0, 1 },
		{ "the attribute twice", one, sizeof(one), 1, -1, 0 },
		{ "two values (SINGLE VALUE)", two, sizeof(two), 0, -1, 0 },
		{ "an empty value", empty, sizeof(empty), 0, -1, 0 },
		{ "a value cut short", cut, sizeof(cut), 0, -1, 0 },
		{ "a BMPString of ASCII (NDES's)", bmp, sizeof(bmp), 0, 0, 1 },
		{ "a BMPString of an e-acute: present, not usable", bmp_e,
		  sizeof(bmp_e), 0, 0, 0 },
		{ "a BMPString of U+0162: present, not usable", bmp_hi,
		  sizeof(bmp_hi), 0, 0, 0 },
		{ "a BMPString of an odd length: present, not usable", bmp_odd,
		  sizeof(bmp_odd), 0, 0, 0 },
		{ "a BMPString with a newline: present, not usable", bmp_nl,
		  sizeof(bmp_nl), 0, 0, 0 },
		{ "a newline: present, not usable", ctl, sizeof(ctl), 0, 0, 0 },
		{ "a NUL: present, not usable", nul, sizeof(nul), 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = chal_attr(cases[i].v, cases[i].len, attrs);
		if (cases[i].twice)
			n += chal_attr(cases[i].v, cases[i].len, attrs + n);
		CU_ASSERT_EQUAL_FATAL(signed_with_attrs(attrs, n, der, &der_len), 0);
		memset(&err, 0, sizeof(err));
		if (ca_csr_parse(der, der_len, &c, &err) != cases[i].rc)
			fprintf(stderr, "\n  challenge case \"%s\": %s %s\n",
				cases[i].what, err.code, err.msg);
		if (cases[i].rc == 0) {
			CU_ASSERT_EQUAL(c.has_challenge, 1);
			CU_ASSERT_EQUAL(c.challenge[0] != '\0', cases[i].usable);
			ca_csr_free(&c);
		} else {
			CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
			CU_ASSERT_PTR_NULL(c.der);
		}
	}
	/* The value is compared as sent: "abcd". */
	n = chal_attr(one, sizeof(one), attrs);
	CU_ASSERT_EQUAL_FATAL(signed_with_attrs(attrs, n, der, &der_len), 0);
	CU_ASSERT_EQUAL_FATAL(ca_csr_parse(der, der_len, &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.challenge, "abcd");
	ca_csr_free(&c);
	/* A BMPString's as its ASCII: "ab". */
	n = chal_attr(bmp, sizeof(bmp), attrs);
	CU_ASSERT_EQUAL_FATAL(signed_with_attrs(attrs, n, der, &der_len), 0);
	CU_ASSERT_EQUAL_FATAL(ca_csr_parse(der, der_len, &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.challenge, "ab");
	ca_csr_free(&c);
}

int
main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("csr", suite_init, suite_clean);
	if (s == NULL ||
	    !CU_add_test(s, "parses a PEM CSR with canonical, deduplicated SANs",
			 test_pem_with_san) ||
	    !CU_add_test(s, "parses DER, RSA and P-384 requests",
			 test_der_and_rsa) ||
	    !CU_add_test(s, "uses the CN when there is no SAN",
			 test_cn_only) ||
	    !CU_add_test(s, "uses the subject's emailAddress when nothing else names",
			 test_subject_email) ||
	    !CU_add_test(s, "tolerates critical keyUsage/SAN and CA:FALSE",
			 test_extensions_tolerated) ||
	    !CU_add_test(s, "accepts certreq's NEW CERTIFICATE REQUEST with CRLF",
			 test_new_certificate_request_label) ||
	    !CU_add_test(s, "reads UTF-16 and UTF-32 text (PowerShell, Exchange) as the ASCII it holds",
			 test_utf16_text) ||
	    !CU_add_test(s, "accepts bare base64 with or without CRLF",
			 test_bare_base64) ||
	    !CU_add_test(s, "decodes PEM to the same DER as OpenSSL",
			 test_decode_direct) ||
	    !CU_add_test(s, "refuses a tampered signature or subject",
			 test_tampered_signature) ||
	    !CU_add_test(s, "refuses RSA-1024, P-521, secp256k1 and Ed25519",
			 test_weak_and_unsupported_keys) ||
	    !CU_add_test(s, "refuses an RSA key of 16384 bits as unsupported, not malformed",
			 test_rsa_too_large) ||
	    !CU_add_test(s, "refuses SHA-1 by policy, and in RSASSA-PSS",
			 test_weak_signatures) ||
	    !CU_add_test(s, "refuses RSASSA-PSS with SHA-1 or MD5 written out",
			 test_pss_weak_explicit) ||
	    !CU_add_test(s, "takes RSASSA-PSS requests, their signature checked",
			 test_pss) ||
	    !CU_add_test(s, "ignores requested cA=TRUE and critical EKU "
			 "(the profile decides)",
			 test_requested_extensions_are_ignored) ||
	    !CU_add_test(s, "reads Microsoft's older extension request, "
			 "ignored beside PKCS#9's", test_ms_extension_request) ||
	    !CU_add_test(s, "refuses URI, non-UPN otherNames and bad names",
			 test_refused_extensions_and_names) ||
	    !CU_add_test(s, "reads a UPN otherName, canonical and deduplicated",
			 test_upn) ||
	    !CU_add_test(s, "refuses a malformed UPN otherName: wrong string "
			 "type, trailing data, empty, NUL, two values, "
			 "non-ASCII, Windows-refused characters",
			 test_upn_malformed) ||
	    !CU_add_test(s, "keeps at most 100 distinct names",
			 test_name_count_limit) ||
	    !CU_add_test(s, "reads DER whose subject contains PEM dashes",
			 test_der_with_dashes) ||
	    !CU_add_test(s, "refuses private keys without echoing them",
			 test_private_keys_refused) ||
	    !CU_add_test(s, "refuses a certificate sent as a CSR",
			 test_certificate_refused) ||
	    !CU_add_test(s, "refuses two PEM blocks at once",
			 test_two_blocks_refused) ||
	    !CU_add_test(s, "refuses garbage and empty input", test_garbage) ||
	    !CU_add_test(s, "refuses every truncation and trailing data",
			 test_truncated_and_trailing) ||
	    !CU_add_test(s, "refuses oversize input as too large",
			 test_oversize) ||
	    !CU_add_test(s, "writes subjects as mbedTLS, without its limit "
			 "of 255 characters a value", test_dn_print) ||
	    !CU_add_test(s, "refuses DER nested deeper than a request needs, saying so",
			 test_nesting_too_deep) ||
	    !CU_add_test(s, "refuses lengths not in their shortest form (BER)",
			 test_ber_lengths) ||
	    !CU_add_test(s, "survives every signed single-byte mutation",
			 test_signed_mutations) ||
	    !CU_add_test(s, "reads a challengePassword, bounded to 255 characters",
			 test_challenge_password) ||
	    !CU_add_test(s, "refuses a repeated or multi-valued challengePassword, "
			 "keeps an unprintable one unusable",
			 test_challenge_password_hostile)) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (CU_get_number_of_suites_failed() != 0)
		failed++;
	CU_cleanup_registry();
	return failed != 0;
}

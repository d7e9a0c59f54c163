/*
 * tests/test_x509.c - the DER reader, the certificate and CRL encoders, and
 * the linter.
 *
 * What the encoders emit is judged by independent relying parties: mbedTLS's
 * parser and chain verifier, the openssl CLI (x509 -text, verify
 * -x509_strict, crl -CAfile, verify -crl_check) and, where installed,
 * GnuTLS's certtool. The test signs with its own mbedTLS keys (ca/keys.c is
 * not used here), and also compares the encoders' bytes with DER built by
 * hand from RFC 5280's ASN.1, which then serves as the base for the linter's
 * table of deliberately broken inputs.
 */
#include <CUnit/Basic.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "ca/cacert.h"
#include "ca/der.h"
#include "ca/names.h"
#include "ca/profile.h"
#include "ca/x509.h"
#include "util/err.h"
#include "util/fault.h"

#define DS CA_KU_DIGITAL_SIGNATURE
#define KE CA_KU_KEY_ENCIPHERMENT
#define KA CA_KU_KEY_AGREEMENT

#define CRL_URL "http://ca.contoso.test/crl.der"
#define AIA_URL "http://ca.contoso.test/ca.der"

static const unsigned char ALG_ECDSA_SHA256[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
};
static const unsigned char ALG_RSA_SHA256[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
	0x0b, 0x05, 0x00,
};

struct keypair {
	const char *label;
	mbedtls_pk_context pk;
	unsigned char spki_buf[800];
	const unsigned char *spki;
	size_t spki_len;
	const unsigned char *alg;   /* the signatures this key makes */
	size_t alg_len;
	unsigned char ski[20];
};

struct test_ca {
	const char *label;
	struct keypair *k;
	unsigned char *name;
	size_t name_len;
	int64_t nb, na;
	unsigned char *der;
	size_t der_len;
	char pem[128];          /* path of the PEM certificate */
};

static char tmpdir[64];
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static struct keypair kp_ca_ec = { .label = "ec" },
		      kp_ca_rsa = { .label = "rsa" },
		      kp_ee_ec = { .label = "ec" },
		      kp_ee_rsa = { .label = "rsa" };
static struct test_ca ca_ec = { .label = "ec", .k = &kp_ca_ec },
		      ca_rsa = { .label = "rsa", .k = &kp_ca_rsa };
static int64_t now;
static int have_certtool;
/* Checks that could not run here (no certtool, no fault hook): counted,
 * and main exits 77 (automake's SKIP) rather than 0, since a skipped check
 * is not a passed one. scripts/setup test installs certtool (gnutls-bin)
 * and scripts/test builds the fault hook in. */
static unsigned int skipped;

static void
skip(const char *what)
{
	printf("\n    SKIP: %s ", what);
	skipped++;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void
path_in_tmp(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static int
write_file(const char *name, const void *data, size_t len)
{
	char path[256];
	FILE *f;
	int rc = 0;

	path_in_tmp(path, sizeof(path), name);
	f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	if (fwrite(data, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* Run a shell command (stderr folded into stdout); OUT gets the output,
 * NUL-terminated. Returns the exit status, or -1. */
static int
run(const char *cmd, char *out, size_t size)
{
	char full[2048];
	FILE *f;
	size_t n = 0, r;
	int st;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	f = popen(full, "r");
	if (f == NULL)
		return -1;
	while (n + 1 < size && (r = fread(out + n, 1, size - 1 - n, f)) > 0)
		n += r;
	out[n] = '\0';
	/* Drain whatever did not fit so the child is not killed by SIGPIPE. */
	{
		char sink[4096];

		while (fread(sink, 1, sizeof(sink), f) > 0)
			;
	}
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
count_str(const char *hay, const char *needle)
{
	int n = 0;
	size_t k = strlen(needle);

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += k;
	}
	return n;
}

static int
drbg_rng(void *ctx, unsigned char *buf, size_t len)
{
	return mbedtls_ctr_drbg_random(ctx, buf, len);
}

static int
keypair_gen(struct keypair *k, int rsa)
{
	unsigned char raw[800], *p = raw + sizeof(raw);
	int n;

	mbedtls_pk_init(&k->pk);
	if (mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(
			rsa ? MBEDTLS_PK_RSA : MBEDTLS_PK_ECKEY)) != 0)
		return -1;
	if (rsa) {
		if (mbedtls_rsa_gen_key(mbedtls_pk_rsa(k->pk), drbg_rng, &drbg,
					2048, 65537) != 0)
			return -1;
		k->alg = ALG_RSA_SHA256;
		k->alg_len = sizeof(ALG_RSA_SHA256);
	} else {
		if (mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
					mbedtls_pk_ec(k->pk), drbg_rng,
					&drbg) != 0)
			return -1;
		k->alg = ALG_ECDSA_SHA256;
		k->alg_len = sizeof(ALG_ECDSA_SHA256);
	}
	n = mbedtls_pk_write_pubkey_der(&k->pk, k->spki_buf,
					sizeof(k->spki_buf));
	if (n <= 0)
		return -1;
	k->spki = k->spki_buf + sizeof(k->spki_buf) - n;
	k->spki_len = (size_t)n;
	/* The key identifier computed independently of ca_x509_key_id:
	 * mbedtls_pk_write_pubkey writes exactly the subjectPublicKey bits. */
	n = mbedtls_pk_write_pubkey(&p, raw, &k->pk);
	if (n <= 0 || mbedtls_sha1(p, (size_t)n, k->ski) != 0)
		return -1;
	return 0;
}

/* SHA-256 the TBS and sign it with K. */
static int
sign_tbs(struct keypair *k, const unsigned char *tbs, size_t len,
	 unsigned char *sig, size_t *sig_len)
{
	unsigned char hash[32];

	if (mbedtls_sha256(tbs, len, hash, 0) != 0)
		return -1;
	return mbedtls_pk_sign(&k->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash),
			       sig, MBEDTLS_PK_SIGNATURE_MAX_SIZE, sig_len,
			       drbg_rng, &drbg) == 0 ? 0 : -1;
}

/* Sign TBS with K and wrap: *out heap. */
static int
sign_wrap(struct keypair *k, const unsigned char *tbs, size_t len,
	  unsigned char **out, size_t *out_len)
{
	unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sig_len;
	struct mica_err err;

	if (sign_tbs(k, tbs, len, sig, &sig_len) < 0)
		return -1;
	return ca_x509_wrap(tbs, len, k->alg, k->alg_len, sig, sig_len, out,
			    out_len, &err);
}

static int
write_pem(const char *file, const char *label, const unsigned char *der,
	  size_t len)
{
	struct mica_err err;
	char *pem = NULL;
	int rc;

	if (ca_pem_encode(label, der, len, &pem, &err) < 0)
		return -1;
	rc = write_file(file, pem, strlen(pem));
	free(pem);
	return rc;
}

/* "dns:x", "ip:x" or "email:x" -> a struct ca_name, built by hand. */
static void
mkname(const char *spec, struct ca_name *n)
{
	memset(n, 0, sizeof(*n));
	if (strncmp(spec, "dns:", 4) == 0) {
		n->kind = CA_NAME_DNS;
		snprintf(n->value, sizeof(n->value), "%s", spec + 4);
	} else if (strncmp(spec, "email:", 6) == 0) {
		n->kind = CA_NAME_EMAIL;
		snprintf(n->value, sizeof(n->value), "%s", spec + 6);
	} else if (strncmp(spec, "upn:", 4) == 0) {
		n->kind = CA_NAME_UPN;     /* the value keeps its prefix */
		snprintf(n->value, sizeof(n->value), "%s", spec);
	} else {
		n->kind = CA_NAME_IP;
		snprintf(n->value, sizeof(n->value), "%s", spec + 3);
		if (inet_pton(AF_INET, n->value, n->ip) == 1)
			n->ip_len = 4;
		else if (inet_pton(AF_INET6, n->value, n->ip) == 1)
			n->ip_len = 16;
	}
}

static const unsigned char SERIAL_EE[] = {
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
};

/* A TBS for an end entity of CA, with SUB's key. NAMES must outlive it. */
static void
ee_template(struct ca_tbs_cert *t, const struct test_ca *ca,
	    const struct keypair *sub, const unsigned char *subject,
	    size_t subject_len, const struct ca_name *names, size_t nnames)
{
	memset(t, 0, sizeof(*t));
	t->serial = SERIAL_EE;
	t->serial_len = sizeof(SERIAL_EE);
	t->sig_alg = ca->k->alg;
	t->sig_alg_len = ca->k->alg_len;
	t->issuer = ca->name;
	t->issuer_len = ca->name_len;
	t->subject = subject;
	t->subject_len = subject_len;
	t->not_before = now - 300;
	t->not_after = now + 365 * 86400;
	t->spki = sub->spki;
	t->spki_len = sub->spki_len;
	t->is_ca = 0;
	t->path_len = -1;
	t->key_usage = DS;
	t->eku = CA_EKU_SERVER_AUTH;
	t->names = names;
	t->nnames = nnames;
	memcpy(t->ski, sub->ski, 20);
	t->has_aki = 1;
	memcpy(t->aki, ca->k->ski, 20);
	t->crl_url = CRL_URL;
	t->aia_url = AIA_URL;
}

/* The lint expectation matching a TBS built from T under CA (NULL: T is
 * self-signed). */
static void
expect_of(struct ca_lint_cert_expect *e, const struct ca_tbs_cert *t,
	  const struct test_ca *ca)
{
	memset(e, 0, sizeof(*e));
	e->issuer = t->issuer;
	e->issuer_len = t->issuer_len;
	e->issuer_not_before = ca != NULL ? ca->nb : t->not_before;
	e->issuer_not_after = ca != NULL ? ca->na : t->not_after;
	e->is_ca = t->is_ca;
	e->key_usage = t->key_usage;
	e->eku = t->eku;
	e->names = t->names;
	e->nnames = t->nnames;
	e->aki = ca != NULL ? t->aki : NULL;
	e->aki_len = t->aki_len;
	e->has_path_len = t->is_ca && t->path_len >= 0;
	e->path_len = t->path_len;
}

static int
make_ca(struct test_ca *ca, const char *cn, int path_len, int has_aki)
{
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect e;
	struct mica_err err;
	unsigned char serial[16], *tbs = NULL;
	size_t tbs_len;
	char file[64];
	int rc = -1;

	if (ca_x509_name(cn, "Contoso", &ca->name, &ca->name_len, &err) < 0)
		return -1;
	if (mbedtls_ctr_drbg_random(&drbg, serial, sizeof(serial)) != 0)
		return -1;
	serial[0] = (serial[0] & 0x7f) | 0x01;
	ca->nb = now - 86400;
	ca->na = now + 10 * 365 * 86400LL;
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = ca->k->alg;
	t.sig_alg_len = ca->k->alg_len;
	t.issuer = ca->name;
	t.issuer_len = ca->name_len;
	t.subject = ca->name;
	t.subject_len = ca->name_len;
	t.not_before = ca->nb;
	t.not_after = ca->na;
	t.spki = ca->k->spki;
	t.spki_len = ca->k->spki_len;
	t.is_ca = 1;
	t.path_len = path_len;
	t.key_usage = DS | CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN;
	memcpy(t.ski, ca->k->ski, 20);
	t.has_aki = has_aki;
	memcpy(t.aki, ca->k->ski, 20);
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err) < 0)
		goto out;
	expect_of(&e, &t, NULL);
	if (ca_lint_cert(tbs, tbs_len, &e, &err) < 0) {
		fprintf(stderr, "CA lint: %s\n", err.msg);
		goto out;
	}
	if (sign_wrap(ca->k, tbs, tbs_len, &ca->der, &ca->der_len) < 0)
		goto out;
	snprintf(file, sizeof(file), "ca-%s.pem", ca->label);
	path_in_tmp(ca->pem, sizeof(ca->pem), file);
	if (write_pem(file, "CERTIFICATE", ca->der, ca->der_len) < 0)
		goto out;
	rc = 0;
out:
	free(tbs);
	return rc;
}

static int
suite_init(void)
{
	static const char pers[] = "mica test_x509";

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mica-x509-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if (psa_crypto_init() != PSA_SUCCESS)
		return -1;
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
				  (const unsigned char *)pers,
				  sizeof(pers) - 1) != 0)
		return -1;
	now = (int64_t)time(NULL);
	if (keypair_gen(&kp_ca_ec, 0) < 0 || keypair_gen(&kp_ca_rsa, 1) < 0 ||
	    keypair_gen(&kp_ee_ec, 0) < 0 || keypair_gen(&kp_ee_rsa, 1) < 0)
		return -1;
	if (make_ca(&ca_ec, "Contoso EC Root", 0, 0) < 0 ||
	    make_ca(&ca_rsa, "Contoso RSA Root", -1, 1) < 0)
		return -1;
	have_certtool = system("certtool --version >/dev/null 2>&1") == 0;
	return 0;
}

static int
suite_clean(void)
{
	DIR *d;
	struct dirent *de;
	char path[512];

	/* MICA_TEST_KEEP=1 keeps the files for a look with other tools. */
	if (getenv("MICA_TEST_KEEP") != NULL)
		fprintf(stderr, "\n  kept %s\n", tmpdir);
	else if (tmpdir[0] != '\0' && (d = opendir(tmpdir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", tmpdir,
				 de->d_name);
			unlink(path);
		}
		closedir(d);
		rmdir(tmpdir);
	}
	mbedtls_pk_free(&kp_ca_ec.pk);
	mbedtls_pk_free(&kp_ca_rsa.pk);
	mbedtls_pk_free(&kp_ee_ec.pk);
	mbedtls_pk_free(&kp_ee_rsa.pk);
	free(ca_ec.name);
	free(ca_ec.der);
	free(ca_rsa.name);
	free(ca_rsa.der);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Hand-built DER (an arena of blobs)                                  */
/* ------------------------------------------------------------------ */

typedef struct {
	const unsigned char *p;
	size_t n;
} blob;

static unsigned char arena[1 << 20];
static size_t arena_used;
static const blob END = { NULL, SIZE_MAX };

static blob
B(const void *p, size_t n)
{
	blob b = { arena + arena_used, n };

	if (arena_used + n > sizeof(arena)) {
		fprintf(stderr, "test arena exhausted\n");
		abort();
	}
	if (n > 0)
		memcpy(arena + arena_used, p, n);
	arena_used += n;
	return b;
}

static blob
cat_(blob first, ...)
{
	va_list ap;
	blob b;
	unsigned char tmp[8192];
	size_t n = 0;

	/* Parts may live anywhere in the arena: gather, then copy. */
	va_start(ap, first);
	for (b = first; !(b.p == NULL && b.n == SIZE_MAX);
	     b = va_arg(ap, blob)) {
		if (n + b.n > sizeof(tmp)) {
			fprintf(stderr, "test blob too large\n");
			abort();
		}
		if (b.n > 0)
			memcpy(tmp + n, b.p, b.n);
		n += b.n;
	}
	va_end(ap);
	return B(tmp, n);
}

#define CAT(...) cat_(__VA_ARGS__, END)
#define LIT(...) B((const unsigned char[]){ __VA_ARGS__ }, \
		   sizeof((const unsigned char[]){ __VA_ARGS__ }))
#define STR(s) B((s), strlen(s))
#define EMPTY B("", 0)

static blob
tlv(unsigned tag, blob content)
{
	unsigned char h[6];
	size_t k = 0;

	h[k++] = (unsigned char)tag;
	if (content.n < 0x80) {
		h[k++] = (unsigned char)content.n;
	} else if (content.n <= 0xff) {
		h[k++] = 0x81;
		h[k++] = (unsigned char)content.n;
	} else {
		h[k++] = 0x82;
		h[k++] = (unsigned char)(content.n >> 8);
		h[k++] = (unsigned char)content.n;
	}
	return CAT(B(h, k), content);
}

#define SEQ(...) tlv(0x30, CAT(__VA_ARGS__))

/* Time, formatted by the C library, with the tag the caller chooses. */
static blob
time_blob(int64_t t, int gen)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	gmtime_r(&tt, &tm);
	snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return tlv(gen ? 0x18 : 0x17, STR(gen ? s : s + 2));
}

#define OIDB(...) tlv(0x06, LIT(__VA_ARGS__))

static blob
ext_blob(blob oid, int critical, blob value)
{
	return SEQ(oid, critical ? LIT(0x01, 0x01, 0xff) : EMPTY,
		   tlv(0x04, value));
}

static blob
name_blob(const char *cn, const char *org)
{
	blob cnb = tlv(0x31, SEQ(OIDB(0x55, 0x04, 0x03), tlv(0x0c, STR(cn))));

	if (org == NULL)
		return SEQ(cnb);
	return SEQ(tlv(0x31, SEQ(OIDB(0x55, 0x04, 0x0a), tlv(0x0c, STR(org)))),
		   cnb);
}

/* ------------------------------------------------------------------ */
/* DER reader                                                          */
/* ------------------------------------------------------------------ */

static void
test_der_lengths(void)
{
	static const struct {
		const char *what;
		unsigned char in[12];
		size_t len;
		int ok;
	} cases[] = {
		{ "short form", { 0x04, 0x01, 0xaa }, 3, 1 },
		{ "empty contents", { 0x04, 0x00 }, 2, 1 },
		{ "indefinite length", { 0x30, 0x80, 0x04, 0x00, 0x00, 0x00 },
		  6, 0 },
		{ "long form below 128", { 0x04, 0x81, 0x01, 0xaa }, 4, 0 },
		{ "long form with a leading zero",
		  { 0x04, 0x82, 0x00, 0x01, 0xaa }, 5, 0 },
		{ "five length octets",
		  { 0x04, 0x85, 0x00, 0x00, 0x00, 0x00, 0x01, 0xaa }, 8, 0 },
		{ "reserved length octet", { 0x04, 0xff, 0x00 }, 3, 0 },
		{ "length past the input", { 0x04, 0x05, 0xaa, 0xbb }, 4, 0 },
		{ "long length past the input",
		  { 0x04, 0x84, 0x7f, 0xff, 0xff, 0xff, 0xaa }, 7, 0 },
		{ "truncated length octets", { 0x04, 0x82, 0x01 }, 3, 0 },
		{ "tag only", { 0x04 }, 1, 0 },
		{ "nothing", { 0 }, 0, 0 },
		{ "high tag number form", { 0x1f, 0x81, 0x01, 0x00 }, 4, 0 },
		{ "end-of-contents", { 0x00, 0x00 }, 2, 0 },
	};
	struct ca_der_cur c;
	struct ca_der_tlv t;
	struct mica_err err;
	unsigned char big[3 + 200];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char *copy = malloc(cases[i].len + 1);

		/* An exact-size heap copy, so ASan sees any overread. */
		memcpy(copy, cases[i].in, cases[i].len);
		ca_der_init(&c, cases[i].len ? copy : NULL, cases[i].len);
		mica_err_clear(&err);
		rc = ca_der_get_any(&c, &t, &err);
		if ((rc == 0) != cases[i].ok)
			fprintf(stderr, "\n  case: %s\n", cases[i].what);
		CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
		if (cases[i].ok) {
			CU_ASSERT(ca_der_empty(&c));
		} else {
			CU_ASSERT_STRING_EQUAL(err.code, "bad_der");
			/* a failed read leaves the cursor alone */
			CU_ASSERT_PTR_EQUAL(c.p, cases[i].len ? copy : NULL);
		}
		free(copy);
	}
	/* A 200-octet value takes the 0x81 form and is accepted. */
	big[0] = 0x04;
	big[1] = 0x81;
	big[2] = 200;
	memset(big + 3, 0x5a, 200);
	ca_der_init(&c, big, sizeof(big));
	CU_ASSERT_EQUAL(ca_der_get_any(&c, &t, &err), 0);
	CU_ASSERT_EQUAL(t.len, 200);
	CU_ASSERT_EQUAL(t.raw_len, sizeof(big));
	CU_ASSERT(ca_der_empty(&c));
	/* ca_der_end: trailing data is an error. */
	ca_der_init(&c, big, 2);
	CU_ASSERT_EQUAL(ca_der_end(&c, "x", &err), -1);
	/* Wrong tag is refused without moving. */
	ca_der_init(&c, big, sizeof(big));
	CU_ASSERT_EQUAL(ca_der_enter(&c, 0x30, &c, &err), -1);
	CU_ASSERT_PTR_EQUAL(c.p, big);
}

/* PrintableString's characters (X.680 41.4): SCEP's transactionID. */
static void
test_der_printable(void)
{
	static const char ok[] = "AZaz09 '()+,-./:=?";

	CU_ASSERT_EQUAL(ca_der_printable((const unsigned char *)ok,
					 strlen(ok)), 1);
	CU_ASSERT_EQUAL(ca_der_printable((const unsigned char *)"", 0), 1);
	for (int c = 0; c < 256; c++) {
		unsigned char b = (unsigned char)c;

		if (strchr(ok, c) != NULL && c != 0)
			continue;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9'))
			continue;
		CU_ASSERT_EQUAL(ca_der_printable(&b, 1), 0);
	}
	CU_ASSERT_EQUAL(ca_der_printable((const unsigned char *)"ab*", 3), 0);
	CU_ASSERT_EQUAL(ca_der_printable((const unsigned char *)"a&b", 3), 0);
	CU_ASSERT_EQUAL(ca_der_printable((const unsigned char *)"a\0b", 3), 0);
}

static void
test_der_primitives(void)
{
	struct ca_der_cur c;
	struct mica_err err;
	const unsigned char *v;
	size_t n, i;
	uint64_t u;
	unsigned unused;
	int b;
	static const struct {
		unsigned char in[12];
		size_t len;
		int ok;             /* as a positive INTEGER */
		size_t mag_len;
	} ints[] = {
		{ { 0x02, 0x01, 0x01 }, 3, 1, 1 },
		{ { 0x02, 0x02, 0x00, 0x80 }, 4, 1, 1 },
		{ { 0x02, 0x01, 0x7f }, 3, 1, 1 },
		{ { 0x02, 0x01, 0x00 }, 3, 0, 0 },         /* zero */
		{ { 0x02, 0x01, 0x80 }, 3, 0, 0 },         /* negative */
		{ { 0x02, 0x02, 0x00, 0x01 }, 4, 0, 0 },   /* padded */
		{ { 0x02, 0x02, 0xff, 0x80 }, 4, 0, 0 },   /* padded negative */
		{ { 0x02, 0x00 }, 2, 0, 0 },               /* empty */
		{ { 0x01, 0x01, 0x01 }, 3, 0, 0 },         /* not an INTEGER */
	};

	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		ca_der_init(&c, ints[i].in, ints[i].len);
		CU_ASSERT_EQUAL(ca_der_get_posint(&c, &v, &n, &err) == 0,
				ints[i].ok);
		if (ints[i].ok) {
			CU_ASSERT_EQUAL(n, ints[i].mag_len);
			CU_ASSERT(v[0] != 0);
		} else {
			CU_ASSERT_PTR_EQUAL(c.p, ints[i].in);
		}
	}
	/* uint: 0 is fine, a bound is enforced, 8 octets is the limit. */
	ca_der_init(&c, (const unsigned char *)"\x02\x01\x00", 3);
	CU_ASSERT_EQUAL(ca_der_get_uint(&c, 10, &u, &err), 0);
	CU_ASSERT_EQUAL(u, 0);
	ca_der_init(&c, (const unsigned char *)"\x02\x01\x0b", 3);
	CU_ASSERT_EQUAL(ca_der_get_uint(&c, 10, &u, &err), -1);
	ca_der_init(&c, (const unsigned char *)
		    "\x02\x09\x00\xff\xff\xff\xff\xff\xff\xff\xff", 11);
	CU_ASSERT_EQUAL(ca_der_get_uint(&c, UINT64_MAX, &u, &err), 0);
	CU_ASSERT_EQUAL(u, UINT64_MAX);
	ca_der_init(&c, (const unsigned char *)
		    "\x02\x09\x01\x00\x00\x00\x00\x00\x00\x00\x00", 11);
	CU_ASSERT_EQUAL(ca_der_get_uint(&c, UINT64_MAX, &u, &err), -1);
	ca_der_init(&c, (const unsigned char *)"\x02\x01\xff", 3);
	CU_ASSERT_EQUAL(ca_der_get_uint(&c, 10, &u, &err), -1);

	/* BOOLEAN: DER allows 0x00 and 0xFF only (X.690 11.1). */
	ca_der_init(&c, (const unsigned char *)"\x01\x01\xff", 3);
	CU_ASSERT_EQUAL(ca_der_get_bool(&c, &b, &err), 0);
	CU_ASSERT_EQUAL(b, 1);
	ca_der_init(&c, (const unsigned char *)"\x01\x01\x00", 3);
	CU_ASSERT_EQUAL(ca_der_get_bool(&c, &b, &err), 0);
	CU_ASSERT_EQUAL(b, 0);
	ca_der_init(&c, (const unsigned char *)"\x01\x01\x01", 3);
	CU_ASSERT_EQUAL(ca_der_get_bool(&c, &b, &err), -1);
	ca_der_init(&c, (const unsigned char *)"\x01\x02\xff\xff", 4);
	CU_ASSERT_EQUAL(ca_der_get_bool(&c, &b, &err), -1);
	ca_der_init(&c, (const unsigned char *)"\x01\x00", 2);
	CU_ASSERT_EQUAL(ca_der_get_bool(&c, &b, &err), -1);

	/* OIDs */
	ca_der_init(&c, (const unsigned char *)"\x06\x03\x55\x1d\x13", 5);
	CU_ASSERT_EQUAL(ca_der_get_oid(&c, &v, &n, &err), 0);
	CU_ASSERT(ca_der_oid_eq(v, n, (const unsigned char *)"\x55\x1d\x13",
				3));
	CU_ASSERT(!ca_der_oid_eq(v, n, (const unsigned char *)"\x55\x1d", 2));
	CU_ASSERT(!ca_der_oid_eq(v, n, (const unsigned char *)"\x55\x1d\x14",
				 3));
	ca_der_init(&c, (const unsigned char *)"\x06\x00", 2);
	CU_ASSERT_EQUAL(ca_der_get_oid(&c, &v, &n, &err), -1);
	ca_der_init(&c, (const unsigned char *)"\x06\x02\x55\x81", 4);
	CU_ASSERT_EQUAL(ca_der_get_oid(&c, &v, &n, &err), -1);
	ca_der_init(&c, (const unsigned char *)"\x06\x03\x55\x80\x01", 5);
	CU_ASSERT_EQUAL(ca_der_get_oid(&c, &v, &n, &err), -1);
	ca_der_init(&c, (const unsigned char *)"\x06\x03\x80\x01\x01", 5);
	CU_ASSERT_EQUAL(ca_der_get_oid(&c, &v, &n, &err), -1);

	/* BIT STRINGs */
	ca_der_init(&c, (const unsigned char *)"\x03\x01\x00", 3);
	CU_ASSERT_EQUAL(ca_der_get_bitstring(&c, &v, &n, &unused, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	ca_der_init(&c, (const unsigned char *)"\x03\x02\x01\x02", 4);
	CU_ASSERT_EQUAL(ca_der_get_bitstring(&c, &v, &n, &unused, &err), 0);
	CU_ASSERT_EQUAL(unused, 1);
	ca_der_init(&c, (const unsigned char *)"\x03\x01\x01", 3);
	CU_ASSERT_EQUAL(ca_der_get_bitstring(&c, &v, &n, &unused, &err), -1);
	ca_der_init(&c, (const unsigned char *)"\x03\x02\x08\x00", 4);
	CU_ASSERT_EQUAL(ca_der_get_bitstring(&c, &v, &n, &unused, &err), -1);
	ca_der_init(&c, (const unsigned char *)"\x03\x02\x01\x01", 4);
	CU_ASSERT_EQUAL(ca_der_get_bitstring(&c, &v, &n, &unused, &err), -1);
	ca_der_init(&c, (const unsigned char *)"\x03\x00", 2);
	CU_ASSERT_EQUAL(ca_der_get_bitstring(&c, &v, &n, &unused, &err), -1);
}

static void
test_der_time_parse(void)
{
	static const struct {
		unsigned tag;
		const char *s;
		int ok;
		int64_t t;
	} cases[] = {
		{ 0x17, "700101000000Z", 1, 0 },
		{ 0x17, "500101000000Z", 1, INT64_C(-631152000) },
		{ 0x17, "491231235959Z", 1, INT64_C(2524607999) },
		{ 0x17, "000229120000Z", 1, INT64_C(951825600) },
		{ 0x18, "20500101000000Z", 1, INT64_C(2524608000) },
		{ 0x18, "19491231235959Z", 1, INT64_C(-631152001) },
		{ 0x18, "99991231235959Z", 1, INT64_C(253402300799) },
		{ 0x18, "00000101000000Z", 1, INT64_C(-62167219200) },
		{ 0x18, "24000229000000Z", 1, INT64_C(13574563200) },
		{ 0x17, "010229000000Z", 0, 0 },     /* 2001 is not leap */
		{ 0x18, "21000229000000Z", 0, 0 },   /* 2100 is not leap */
		{ 0x17, "7001010000Z", 0, 0 },       /* no seconds */
		{ 0x17, "700101000000", 0, 0 },      /* no Z */
		{ 0x17, "700101000000+0000", 0, 0 }, /* offset */
		{ 0x17, "700101000000z", 0, 0 },
		{ 0x18, "20500101000000.5Z", 0, 0 }, /* fraction */
		{ 0x18, "20500101000000", 0, 0 },
		{ 0x17, "20500101000000Z", 0, 0 },   /* 4-digit year in UTC */
		{ 0x18, "500101000000Z", 0, 0 },     /* 2-digit year in Gen */
		{ 0x17, "701301000000Z", 0, 0 },     /* month 13 */
		{ 0x17, "700001000000Z", 0, 0 },     /* month 0 */
		{ 0x17, "700100000000Z", 0, 0 },     /* day 0 */
		{ 0x17, "700431000000Z", 0, 0 },     /* April 31 */
		{ 0x17, "700101240000Z", 0, 0 },     /* hour 24 */
		{ 0x17, "700101006000Z", 0, 0 },     /* minute 60 */
		{ 0x17, "700101000060Z", 0, 0 },     /* leap second */
		{ 0x17, "70010100000AZ", 0, 0 },
		{ 0x17, " 70101000000Z", 0, 0 },
		{ 0x17, "7-0101000000Z", 0, 0 },
		{ 0x04, "700101000000Z", 0, 0 },     /* not a Time */
	};
	unsigned char buf[32];
	struct ca_der_cur c;
	struct mica_err err;
	int64_t t;
	int gen;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].s);
		buf[0] = (unsigned char)cases[i].tag;
		buf[1] = (unsigned char)n;
		memcpy(buf + 2, cases[i].s, n);
		ca_der_init(&c, buf, n + 2);
		t = -1;
		if ((ca_der_get_time(&c, &t, &gen, &err) == 0) != cases[i].ok)
			fprintf(stderr, "\n  time case: %s\n", cases[i].s);
		ca_der_init(&c, buf, n + 2);
		CU_ASSERT_EQUAL(ca_der_get_time(&c, &t, &gen, &err) == 0,
				cases[i].ok);
		if (cases[i].ok) {
			CU_ASSERT_EQUAL(t, cases[i].t);
			CU_ASSERT_EQUAL(gen, cases[i].tag == 0x18);
			CU_ASSERT(ca_der_empty(&c));
		}
	}
}

static void
test_der_time_write(void)
{
	static const struct {
		int64_t t;
		const char *s;    /* NULL: refused */
	} cases[] = {
		{ INT64_C(-631152001), "\x18\x0f" "19491231235959Z" },
		{ INT64_C(-631152000), "\x17\x0d" "500101000000Z" },
		{ 0, "\x17\x0d" "700101000000Z" },
		{ INT64_C(951782400), "\x17\x0d" "000229000000Z" },
		{ INT64_C(2524607999), "\x17\x0d" "491231235959Z" },
		{ INT64_C(2524608000), "\x18\x0f" "20500101000000Z" },
		{ INT64_C(2556144000), "\x18\x0f" "20510101000000Z" },
		{ INT64_C(253402300799), "\x18\x0f" "99991231235959Z" },
		{ INT64_C(-62167219200), "\x18\x0f" "00000101000000Z" },
		{ INT64_C(253402300800), NULL },
		{ INT64_C(-62167219201), NULL },
		{ INT64_MAX, NULL },
		{ INT64_MIN, NULL },
	};
	unsigned char out[CA_DER_TIME_MAX];
	struct ca_der_cur c;
	struct mica_err err;
	size_t i, n;
	int64_t t, back;
	int gen;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ca_der_put_time(cases[i].t, out, &n, &err);

		if (cases[i].s == NULL) {
			CU_ASSERT_EQUAL(rc, -1);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_time");
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_EQUAL(n, strlen(cases[i].s));
		CU_ASSERT_EQUAL(memcmp(out, cases[i].s, n), 0);
	}
	/* Random times from year 0 to 9999 agree with gmtime_r and read
	 * back to themselves. */
	for (i = 0; i < 20000; i++) {
		uint64_t r;
		char want[32];
		struct tm tm;
		time_t tt;

		mbedtls_ctr_drbg_random(&drbg, (unsigned char *)&r, sizeof(r));
		t = CA_DER_TIME_MIN + (int64_t)(r % (uint64_t)(CA_DER_TIME_LAST -
							       CA_DER_TIME_MIN + 1));
		CU_ASSERT_EQUAL_FATAL(ca_der_put_time(t, out, &n, &err), 0);
		tt = (time_t)t;
		CU_ASSERT_PTR_NOT_NULL_FATAL(gmtime_r(&tt, &tm));
		/* %Y does not zero-pad years below 1000; format by hand. */
		snprintf(want, sizeof(want), "%04d%02d%02d%02d%02d%02dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (out[0] == 0x17) {
			CU_ASSERT(t >= CA_DER_UTC_MIN && t < CA_DER_UTC_END);
			CU_ASSERT_EQUAL(memcmp(out + 2, want + 2, 13), 0);
		} else {
			CU_ASSERT(t < CA_DER_UTC_MIN || t >= CA_DER_UTC_END);
			CU_ASSERT_EQUAL(memcmp(out + 2, want, 15), 0);
		}
		ca_der_init(&c, out, n);
		CU_ASSERT_EQUAL(ca_der_get_time(&c, &back, &gen, &err), 0);
		CU_ASSERT_EQUAL(back, t);
	}
}

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static void
test_name_encoding(void)
{
	static const unsigned char want[] = {
		0x30, 0x21,
		0x31, 0x10, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x0a,
		0x0c, 0x07, 'C', 'o', 'n', 't', 'o', 's', 'o',
		0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03,
		0x0c, 0x04, 'm', 'a', 'i', 'l',
	};
	static const unsigned char want_cn[] = {
		0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03,
		0x0c, 0x04, 'm', 'a', 'i', 'l',
	};
	unsigned char *out = NULL;
	size_t len;
	struct mica_err err;

	CU_ASSERT_EQUAL_FATAL(ca_x509_name("mail", "Contoso", &out, &len,
					   &err), 0);
	CU_ASSERT_EQUAL(len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(out, want, sizeof(want)), 0);
	free(out);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("mail", NULL, &out, &len, &err), 0);
	CU_ASSERT_EQUAL(len, sizeof(want_cn));
	CU_ASSERT_EQUAL(memcmp(out, want_cn, sizeof(want_cn)), 0);
	free(out);
}

static void
test_name_refusals(void)
{
	char s64[65], s65[66], e64[129], e65[131], cjk64[193];
	const struct {
		const char *cn, *org;
		int ok;
	} cases[] = {
		{ s64, NULL, 1 },
		{ s65, NULL, 0 },
		{ e64, e64, 1 },        /* 64 two-octet characters */
		{ e65, NULL, 0 },
		{ cjk64, NULL, 1 },     /* 64 three-octet characters */
		{ "", NULL, 0 },
		{ NULL, "Contoso", 0 },
		{ "ok", "", 0 },
		{ "ok", s65, 0 },
		{ "a\x01z", NULL, 0 },             /* C0 control */
		{ "a\nz", NULL, 0 },
		{ "a\x7fz", NULL, 0 },             /* DEL */
		{ "a\xc2\x85z", NULL, 0 },         /* C1 control (NEL) */
		{ "a\xc3\x28", NULL, 0 },          /* bad continuation */
		{ "a\xc3", NULL, 0 },              /* truncated */
		{ "\xc0\xaf", NULL, 0 },           /* overlong '/' */
		{ "\xe0\x80\xaf", NULL, 0 },       /* overlong, 3 octets */
		{ "\xed\xa0\x80", NULL, 0 },       /* surrogate */
		{ "\xf4\x90\x80\x80", NULL, 0 },   /* above U+10FFFF */
		{ "\xff", NULL, 0 },
		{ "ok", "Contoso\x1b[31m", 0 },
		{ "Jos\xc3\xa9 \xf0\x9f\x94\x92", "M\xc3\xbcller GmbH", 1 },
	};
	unsigned char *out;
	size_t len, i;
	struct mica_err err;

	memset(s64, 'a', 64);
	s64[64] = '\0';
	memset(s65, 'a', 65);
	s65[65] = '\0';
	for (i = 0; i < 64; i++)
		memcpy(e64 + 2 * i, "\xc3\xa9", 2);
	e64[128] = '\0';
	for (i = 0; i < 65; i++)
		memcpy(e65 + 2 * i, "\xc3\xa9", 2);
	e65[130] = '\0';
	for (i = 0; i < 64; i++)
		memcpy(cjk64 + 3 * i, "\xe4\xb8\xad", 3);
	cjk64[192] = '\0';

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		out = NULL;
		mica_err_clear(&err);
		rc = ca_x509_name(cases[i].cn, cases[i].org, &out, &len, &err);
		if ((rc == 0) != cases[i].ok)
			fprintf(stderr, "\n  name case %zu\n", i);
		CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
		if (rc == 0) {
			struct ca_der_cur c, seq;

			/* one well-formed SEQUENCE, consumed whole */
			ca_der_init(&c, out, len);
			CU_ASSERT_EQUAL(ca_der_enter(&c, 0x30, &seq, &err), 0);
			CU_ASSERT(ca_der_empty(&c));
		} else {
			CU_ASSERT_STRING_EQUAL(err.code, "bad_subject");
			CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
			CU_ASSERT_PTR_NULL(out);
		}
		free(out);
	}
}

/* ------------------------------------------------------------------ */
/* Certificates                                                        */
/* ------------------------------------------------------------------ */

static void
test_key_id(void)
{
	struct keypair *ks[] = { &kp_ca_ec, &kp_ca_rsa, &kp_ee_ec, &kp_ee_rsa };
	unsigned char id[20], *copy, bad[800];
	struct mica_err err;
	size_t i, k;

	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(ca_x509_key_id(ks[i]->spki, ks[i]->spki_len, id,
					       &err), 0);
		CU_ASSERT_EQUAL(memcmp(id, ks[i]->ski, 20), 0);
	}
	/* Every truncation fails (exact-size copies for ASan). */
	for (k = 0; k < kp_ca_rsa.spki_len; k++) {
		copy = malloc(k + 1);
		memcpy(copy, kp_ca_rsa.spki, k);
		CU_ASSERT_EQUAL(ca_x509_key_id(copy, k, id, &err), -1);
		free(copy);
	}
	/* Trailing data and a non-zero unused-bits count fail. */
	memcpy(bad, kp_ca_ec.spki, kp_ca_ec.spki_len);
	bad[kp_ca_ec.spki_len] = 0x00;
	CU_ASSERT_EQUAL(ca_x509_key_id(bad, kp_ca_ec.spki_len + 1, id, &err),
			-1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_spki");
	/* P-256 SPKI: 30 59 30 13 <alg, 19 octets> 03 42 00 04 ...: the
	 * unused-bits octet is at 25 */
	CU_ASSERT_EQUAL(bad[23], 0x03);
	CU_ASSERT_EQUAL(bad[24], 0x42);
	CU_ASSERT_EQUAL(bad[25], 0x00);
	bad[25] = 0x01;
	bad[kp_ca_ec.spki_len - 1] &= 0xfe;
	CU_ASSERT_EQUAL(ca_x509_key_id(bad, kp_ca_ec.spki_len, id, &err), -1);
	CU_ASSERT_EQUAL(ca_x509_key_id(NULL, 0, id, &err), -1);
}

struct combo {
	const char *profile;
	unsigned ku_rsa, ku_ec, eku;
	const char *names[4];
	const char *purpose;       /* openssl verify -purpose, or NULL */
	const char *text[6];       /* expected in openssl x509 -text */
};

static const struct combo combos[] = {
	{ "server", DS | KE, DS, CA_EKU_SERVER_AUTH,
	  { "dns:mail.contoso.test", "ip:10.0.0.1", "ip:2001:db8::1", NULL },
	  "sslserver",
	  { "TLS Web Server Authentication", "DNS:mail.contoso.test",
	    "IP Address:10.0.0.1", "IP Address:2001:DB8:0:0:0:0:0:1",
	    NULL } },
	{ "client", DS, DS, CA_EKU_CLIENT_AUTH,
	  { "email:alice@contoso.test", "dns:laptop.contoso.test",
	    "upn:alice@contoso.test", NULL },
	  "sslclient",
	  { "TLS Web Client Authentication", "email:alice@contoso.test",
	    "DNS:laptop.contoso.test", "othername: UPN::alice@contoso.test",
	    NULL } },
	{ "email", DS | KE, DS | KA, CA_EKU_EMAIL_PROTECTION,
	  { "email:bob@contoso.test", NULL },
	  "smimesign",
	  { "E-mail Protection", "email:bob@contoso.test", NULL } },
	{ "ipsec", DS | KE, DS,
	  CA_EKU_IPSEC_IKE | CA_EKU_SERVER_AUTH | CA_EKU_CLIENT_AUTH,
	  { "dns:vpn.contoso.test", "ip:192.0.2.7", "email:gw@contoso.test",
	    NULL },
	  NULL,
	  { "TLS Web Server Authentication, TLS Web Client Authentication, "
	    "ipsec Internet Key Exchange", "DNS:vpn.contoso.test",
	    "IP Address:192.0.2.7", "email:gw@contoso.test", NULL } },
	{ "codesign", DS, DS, CA_EKU_CODE_SIGNING,
	  { "dns:build.contoso.test", NULL },
	  NULL,
	  { "Code Signing", "DNS:build.contoso.test", NULL } },
};

static void
check_ee(const struct test_ca *ca, struct keypair *sub, const struct combo *cb)
{
	struct ca_name names[4];
	size_t nnames = 0;
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect e;
	struct mica_err err;
	unsigned char *subject = NULL, *tbs = NULL, *der = NULL;
	size_t subject_len, tbs_len, der_len;
	mbedtls_x509_crt chain, trust;
	uint32_t flags = 0;
	char cmd[1024], out[16384], file[64], path[256];
	const char *ku_text;
	int rsa = sub == &kp_ee_rsa;
	size_t i;

	mbedtls_x509_crt_init(&chain);
	mbedtls_x509_crt_init(&trust);
	while (nnames < 4 && cb->names[nnames] != NULL) {
		mkname(cb->names[nnames], &names[nnames]);
		nnames++;
	}
	CU_ASSERT_EQUAL_FATAL(ca_x509_name(names[0].value, "Contoso", &subject,
					   &subject_len, &err), 0);
	ee_template(&t, ca, sub, subject, subject_len, names, nnames);
	t.key_usage = rsa ? cb->ku_rsa : cb->ku_ec;
	t.eku = cb->eku;
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	expect_of(&e, &t, ca);
	if (ca_lint_cert(tbs, tbs_len, &e, &err) != 0)
		fprintf(stderr, "\n  lint: %s\n", err.msg);
	CU_ASSERT_EQUAL(ca_lint_cert(tbs, tbs_len, &e, &err), 0);
	CU_ASSERT_EQUAL_FATAL(sign_wrap(ca->k, tbs, tbs_len, &der, &der_len), 0);

	/* mbedTLS parses it and verifies the chain. */
	CU_ASSERT_EQUAL(mbedtls_x509_crt_parse_der(&chain, der, der_len), 0);
	CU_ASSERT_EQUAL(mbedtls_x509_crt_parse_der(&trust, ca->der,
						   ca->der_len), 0);
	CU_ASSERT_EQUAL(mbedtls_x509_crt_verify(&chain, &trust, NULL, NULL,
						&flags, NULL, NULL), 0);
	CU_ASSERT_EQUAL(flags, 0);

	/* OpenSSL reads it and shows the expected extensions. */
	snprintf(file, sizeof(file), "ee-%s-%s-%s.der", ca->label, sub->label,
		 cb->profile);
	CU_ASSERT_EQUAL_FATAL(write_file(file, der, der_len), 0);
	path_in_tmp(path, sizeof(path), file);
	snprintf(cmd, sizeof(cmd), "openssl x509 -inform DER -noout -text "
		 "-in '%s'", path);
	CU_ASSERT_EQUAL(run(cmd, out, sizeof(out)), 0);
	ku_text = rsa ? (t.key_usage & KE ? "Digital Signature, Key "
			 "Encipherment" : "Digital Signature") :
		  (t.key_usage & KA ? "Digital Signature, Key Agreement" :
		   "Digital Signature");
	{
		const char *always[] = {
			"X509v3 Basic Constraints: critical",
			"CA:FALSE",
			"X509v3 Key Usage: critical",
			ku_text,
			"X509v3 Extended Key Usage: \n",
			"X509v3 Subject Alternative Name: \n",
			"X509v3 Subject Key Identifier",
			"X509v3 Authority Key Identifier",
			"URI:" CRL_URL,
			"CA Issuers - URI:" AIA_URL,
			"Version: 3 (0x2)",
			"Subject: O = Contoso, CN = ",
		};

		for (i = 0; i < sizeof(always) / sizeof(always[0]); i++) {
			if (strstr(out, always[i]) == NULL)
				fprintf(stderr, "\n  missing '%s'\n",
					always[i]);
			CU_ASSERT_PTR_NOT_NULL(strstr(out, always[i]));
		}
	}
	for (i = 0; cb->text[i] != NULL; i++) {
		if (strstr(out, cb->text[i]) == NULL)
			fprintf(stderr, "\n  missing '%s'\n", cb->text[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, cb->text[i]));
	}

	/* openssl verify, strict, with the purpose where OpenSSL knows it. */
	snprintf(file, sizeof(file), "ee-%s-%s-%s.pem", ca->label, sub->label,
		 cb->profile);
	CU_ASSERT_EQUAL_FATAL(write_pem(file, "CERTIFICATE", der, der_len), 0);
	path_in_tmp(path, sizeof(path), file);
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict %s%s "
		 "-CAfile '%s' '%s'", cb->purpose ? "-purpose " : "",
		 cb->purpose ? cb->purpose : "", ca->pem, path);
	CU_ASSERT_EQUAL(run(cmd, out, sizeof(out)), 0);
	if (strstr(out, ": OK") == NULL)
		fprintf(stderr, "\n  %s\n", out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ": OK"));

	/* GnuTLS (libtasn1 is a strict DER parser) agrees. */
	if (have_certtool) {
		snprintf(cmd, sizeof(cmd), "certtool --verify "
			 "--load-ca-certificate '%s' --infile '%s'", ca->pem,
			 path);
		CU_ASSERT_EQUAL(run(cmd, out, sizeof(out)), 0);
		if (strstr(out, "Verified.") == NULL)
			fprintf(stderr, "\n  %s\n", out);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, "Verified."));
	} else {
		skip("GnuTLS certtool --verify: certtool (gnutls-bin) is not installed");
	}

	mbedtls_x509_crt_free(&chain);
	mbedtls_x509_crt_free(&trust);
	free(subject);
	free(tbs);
	free(der);
}

static void
test_certs_accepted(void)
{
	struct test_ca *cas[] = { &ca_ec, &ca_rsa };
	struct keypair *subs[] = { &kp_ee_ec, &kp_ee_rsa };
	size_t i, j, k;

	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			for (k = 0; k < sizeof(combos) / sizeof(combos[0]); k++)
				check_ee(cas[i], subs[j], &combos[k]);
}

static void
test_ca_certs_accepted(void)
{
	struct test_ca *cas[] = { &ca_ec, &ca_rsa };
	char cmd[1024], out[16384], ski_hex[64];
	mbedtls_x509_crt crt;
	size_t i, k;

	for (i = 0; i < 2; i++) {
		mbedtls_x509_crt_init(&crt);
		CU_ASSERT_EQUAL(mbedtls_x509_crt_parse_der(&crt, cas[i]->der,
							   cas[i]->der_len), 0);
		mbedtls_x509_crt_free(&crt);
		snprintf(cmd, sizeof(cmd), "openssl x509 -noout -text -in '%s'",
			 cas[i]->pem);
		CU_ASSERT_EQUAL(run(cmd, out, sizeof(out)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, "X509v3 Basic Constraints: "
					      "critical"));
		CU_ASSERT_PTR_NOT_NULL(strstr(out, i == 0 ? "CA:TRUE, pathlen:0"
					      : "CA:TRUE\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(out, "Digital Signature, "
					      "Certificate Sign, CRL Sign"));
		CU_ASSERT_PTR_NOT_NULL(strstr(out, "Subject: O = Contoso, CN = "
					      "Contoso"));
		CU_ASSERT_EQUAL(strstr(out, "X509v3 Extended Key Usage"), NULL);
		CU_ASSERT_EQUAL(strstr(out, "Subject Alternative Name"), NULL);
		/* the SKI openssl shows is SHA-1 of the key bits */
		for (k = 0; k < 20; k++)
			snprintf(ski_hex + 3 * k, sizeof(ski_hex) - 3 * k,
				 k < 19 ? "%02X:" : "%02X", cas[i]->k->ski[k]);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, ski_hex));
		/* AKI only on the RSA root (has_aki), equal to its SKI */
		CU_ASSERT_EQUAL(count_str(out, ski_hex), i == 0 ? 1 : 2);
		snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict "
			 "-CAfile '%s' '%s'", cas[i]->pem, cas[i]->pem);
		CU_ASSERT_EQUAL(run(cmd, out, sizeof(out)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, ": OK"));
	}
}

static void
test_generalized_time_2051(void)
{
	struct ca_name nm;
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect e;
	struct mica_err err;
	unsigned char *tbs = NULL, *der = NULL;
	size_t tbs_len, der_len;
	mbedtls_x509_crt crt;
	char cmd[512], out[16384], path[256];
	static const unsigned char gen2051[] = "\x18\x0f" "20510101000000Z";
	static const unsigned char gen1949[] = "\x18\x0f" "19491231000000Z";

	mkname("dns:mail.contoso.test", &nm);
	ee_template(&t, &ca_ec, &kp_ee_ec, ca_ec.name, 0, &nm, 1);
	t.subject = (const unsigned char *)"\x30\x00";
	t.subject_len = 2;
	t.not_after = INT64_C(2556144000);          /* 2051-01-01 */
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(memmem(tbs, tbs_len, gen2051,
				      sizeof(gen2051) - 1));
	/* notBefore stays UTCTime */
	CU_ASSERT_EQUAL(memmem(tbs, tbs_len, "\x18\x0f" "20", 4), (void *)
			memmem(tbs, tbs_len, gen2051, sizeof(gen2051) - 1));
	expect_of(&e, &t, &ca_ec);
	e.issuer_not_after = INT64_C(2556144000);
	CU_ASSERT_EQUAL(ca_lint_cert(tbs, tbs_len, &e, &err), 0);
	CU_ASSERT_EQUAL_FATAL(sign_wrap(&kp_ca_ec, tbs, tbs_len, &der,
					&der_len), 0);
	mbedtls_x509_crt_init(&crt);
	CU_ASSERT_EQUAL(mbedtls_x509_crt_parse_der(&crt, der, der_len), 0);
	CU_ASSERT_EQUAL(crt.valid_to.year, 2051);
	mbedtls_x509_crt_free(&crt);
	CU_ASSERT_EQUAL_FATAL(write_file("y2051.der", der, der_len), 0);
	path_in_tmp(path, sizeof(path), "y2051.der");
	snprintf(cmd, sizeof(cmd), "openssl x509 -inform DER -noout -text "
		 "-in '%s'", path);
	CU_ASSERT_EQUAL(run(cmd, out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Not After : Jan  1 00:00:00 2051 "
				      "GMT"));
	/* Empty subject: subjectAltName is critical (RFC 5280 4.2.1.6). */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "X509v3 Subject Alternative Name: "
				      "critical"));
	free(tbs);
	free(der);

	/* And a notBefore in 1949 is GeneralizedTime too. */
	t.not_before = INT64_C(-631238400);          /* 1949-12-31 */
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(memmem(tbs, tbs_len, gen1949,
				      sizeof(gen1949) - 1));
	e.issuer_not_before = t.not_before;
	CU_ASSERT_EQUAL(ca_lint_cert(tbs, tbs_len, &e, &err), 0);
	free(tbs);
}

static void
test_serials(void)
{
	unsigned char s[21];
	struct ca_name nm;
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect e;
	struct mica_err err;
	unsigned char *tbs = NULL, *der = NULL;
	size_t tbs_len, der_len;
	mbedtls_x509_crt crt;
	static const struct {
		unsigned char first;
		size_t len;
		int ok;
		const char *why;
	} cases[] = {
		{ 0x80, 16, 1, "top bit set: 17 octets encoded" },
		{ 0x80, 19, 1, "top bit set: 20 octets encoded" },
		{ 0x7f, 20, 1, "20 octets" },
		{ 0x01, 1, 1, "one octet" },
		{ 0x80, 20, 0, "top bit set: 21 octets encoded" },
		{ 0x01, 21, 0, "21 octets" },
		{ 0x00, 8, 0, "leading zero" },
		{ 0x00, 1, 0, "zero" },
		{ 0x01, 0, 0, "empty" },
	};
	size_t i;

	mkname("dns:mail.contoso.test", &nm);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		memset(s, 0x5a, sizeof(s));
		s[0] = cases[i].first;
		ee_template(&t, &ca_ec, &kp_ee_ec, ca_ec.name, ca_ec.name_len,
			    &nm, 1);
		t.serial = s;
		t.serial_len = cases[i].len;
		tbs = NULL;
		rc = ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err);
		if ((rc == 0) != cases[i].ok)
			fprintf(stderr, "\n  serial case: %s\n", cases[i].why);
		CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
		if (rc < 0) {
			CU_ASSERT_STRING_EQUAL(err.code, "bad_serial");
			CU_ASSERT_PTR_NULL(tbs);
			continue;
		}
		/* TBS: 30 82 LL LL a0 03 02 01 02 02 <len> ... */
		CU_ASSERT_EQUAL(tbs[9], 0x02);
		CU_ASSERT_EQUAL(tbs[10], cases[i].len + (cases[i].first >> 7));
		if (cases[i].first & 0x80) {
			CU_ASSERT_EQUAL(tbs[11], 0x00);
			CU_ASSERT_EQUAL(tbs[12], 0x80);
		} else {
			CU_ASSERT_EQUAL(tbs[11], cases[i].first);
		}
		expect_of(&e, &t, &ca_ec);
		CU_ASSERT_EQUAL(ca_lint_cert(tbs, tbs_len, &e, &err), 0);
		CU_ASSERT_EQUAL_FATAL(sign_wrap(&kp_ca_ec, tbs, tbs_len, &der,
						&der_len), 0);
		mbedtls_x509_crt_init(&crt);
		CU_ASSERT_EQUAL(mbedtls_x509_crt_parse_der(&crt, der, der_len),
				0);
		CU_ASSERT_EQUAL(crt.serial.len, tbs[10]);
		mbedtls_x509_crt_free(&crt);
		free(tbs);
		free(der);
		der = NULL;
	}
}

static void
test_cert_refusals(void)
{
	struct ca_name nm[2], many[CA_NAMES_MAX + 1];
	struct ca_tbs_cert t, base;
	struct mica_err err;
	unsigned char *tbs;
	size_t tbs_len, i;
	static const unsigned char spki_trailing[] = {
		0x30, 0x03, 0x05, 0x01, 0x00,
	};
	enum { N = 24 };
	const char *code;

	mkname("dns:mail.contoso.test", &nm[0]);
	mkname("ip:10.0.0.1", &nm[1]);
	for (i = 0; i <= CA_NAMES_MAX; i++)
		mkname("dns:a.contoso.test", &many[i]);
	ee_template(&base, &ca_ec, &kp_ee_ec, ca_ec.name, ca_ec.name_len, nm,
		    2);
	/* the template itself is fine */
	tbs = NULL;
	CU_ASSERT_EQUAL(ca_x509_tbs_cert(&base, &tbs, &tbs_len, &err), 0);
	free(tbs);

	for (i = 0; i < N; i++) {
		struct ca_name bad_name;

		t = base;
		code = "bad_tbs";
		switch (i) {
		case 0:
			t.not_after = t.not_before;
			code = "bad_validity";
			break;
		case 1:
			t.not_after = t.not_before - 1;
			code = "bad_validity";
			break;
		case 2:
			t.not_after = INT64_C(253402300800);
			code = "bad_validity";
			break;
		case 3:
			t.path_len = 0;                 /* EE with pathLen */
			break;
		case 4:
			t.is_ca = 1;
			t.path_len = -2;
			break;
		case 5:
			t.key_usage |= CA_KU_KEY_CERT_SIGN;   /* EE */
			break;
		case 6:
			t.key_usage = 1u << 7;
			break;
		case 7:
			t.eku = 1u << 7;   /* no such purpose (6 is the last) */
			break;
		case 8:
			bad_name = nm[1];
			bad_name.ip_len = 5;
			t.names = &bad_name;
			t.nnames = 1;
			code = "bad_name";
			break;
		case 9:
			mkname("dns:a b.contoso.test", &bad_name);
			t.names = &bad_name;
			t.nnames = 1;
			code = "bad_name";
			break;
		case 10:
			bad_name = nm[0];
			bad_name.kind = 9;
			t.names = &bad_name;
			t.nnames = 1;
			code = "bad_name";
			break;
		case 11:
			t.names = many;
			t.nnames = CA_NAMES_MAX + 1;
			code = "bad_name";
			break;
		case 12:
			t.subject = (const unsigned char *)"\x30\x00";
			t.subject_len = 2;
			t.nnames = 0;
			code = "bad_name";
			break;
		case 13:
			t.crl_url = "ca.contoso.test/crl";
			code = "bad_url";
			break;
		case 14:
			t.crl_url = "http://ca.contoso.test/a b";
			code = "bad_url";
			break;
		case 15:
			t.aia_url = "http:";
			code = "bad_url";
			break;
		case 16:
			t.aia_url = "http://x/\x01";
			code = "bad_url";
			break;
		case 17:
			t.sig_alg = (const unsigned char *)"\x04\x00";
			t.sig_alg_len = 2;
			break;
		case 18:
			t.issuer = (const unsigned char *)"\x30\x00";
			t.issuer_len = 2;
			break;
		case 19:
			t.spki = spki_trailing;
			t.spki_len = 3;                /* truncated */
			break;
		case 20:
			t.subject_len = ca_ec.name_len - 1;   /* truncated */
			break;
		case 21:
			t.serial = NULL;
			code = "bad_serial";
			break;
		case 22:
			t.issuer = NULL;
			break;
		case 23:
			t.nnames = 1;
			t.names = NULL;
			code = "bad_name";
			break;
		}
		tbs = NULL;
		mica_err_clear(&err);
		if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err) != -1)
			fprintf(stderr, "\n  refusal case %zu accepted\n", i);
		CU_ASSERT_PTR_NULL(tbs);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
		if (strcmp(err.code, code) != 0)
			fprintf(stderr, "\n  case %zu: %s (%s)\n", i, err.code,
				err.msg);
		CU_ASSERT_STRING_EQUAL(err.code, code);
		free(tbs);
	}
	CU_ASSERT_EQUAL(ca_x509_tbs_cert(NULL, &tbs, &tbs_len, &err), -1);
}

/* ------------------------------------------------------------------ */
/* Hand-built certificate: reference for the encoder and the linter    */
/* ------------------------------------------------------------------ */

enum { X_BC, X_KU, X_EKU, X_SAN, X_SKI, X_AKI, X_CRLDP, X_AIA, X_N };

struct cert_parts {
	blob version, serial, alg, issuer, validity, subject, spki, uid;
	blob ext[X_N + 2];   /* room for two more */
	int has_exts;
	blob exts_override;  /* if .p != NULL, replaces [3] */
	blob trailer;
	blob whole;          /* if .p != NULL, the whole input */
};

static blob
oid_bc(void) { return OIDB(0x55, 0x1d, 0x13); }
static blob
oid_ku(void) { return OIDB(0x55, 0x1d, 0x0f); }
static blob
oid_eku(void) { return OIDB(0x55, 0x1d, 0x25); }
static blob
oid_san(void) { return OIDB(0x55, 0x1d, 0x11); }
static blob
oid_ski(void) { return OIDB(0x55, 0x1d, 0x0e); }
static blob
oid_aki(void) { return OIDB(0x55, 0x1d, 0x23); }

static blob
kp_server(void)
{
	return OIDB(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01);
}

static blob
san_blob(const char *dns, const unsigned char ip[4])
{
	return SEQ(tlv(0x82, STR(dns)), tlv(0x87, B(ip, 4)));
}

static blob
aki_value(const unsigned char *ki)
{
	return SEQ(tlv(0x80, B(ki, 20)));
}

static const unsigned char IP_10_0_0_1[4] = { 10, 0, 0, 1 };

/* The end entity of ee_template(ca_ec, kp_ee_ec, subject "mail..."/Contoso,
 * names DNS mail.contoso.test + IP 10.0.0.1), written from RFC 5280's
 * ASN.1 by hand. */
static void
cert_parts_default(struct cert_parts *c, int64_t nb, int64_t na)
{
	memset(c, 0, sizeof(*c));
	c->version = tlv(0xa0, LIT(0x02, 0x01, 0x02));
	c->serial = tlv(0x02, B(SERIAL_EE, sizeof(SERIAL_EE)));
	c->alg = B(ALG_ECDSA_SHA256, sizeof(ALG_ECDSA_SHA256));
	c->issuer = name_blob("Contoso EC Root", "Contoso");
	c->validity = SEQ(time_blob(nb, 0), time_blob(na, 0));
	c->subject = name_blob("mail.contoso.test", "Contoso");
	c->spki = B(kp_ee_ec.spki, kp_ee_ec.spki_len);
	c->uid = EMPTY;
	c->ext[X_BC] = ext_blob(oid_bc(), 1, SEQ(EMPTY));
	c->ext[X_KU] = ext_blob(oid_ku(), 1, LIT(0x03, 0x02, 0x07, 0x80));
	c->ext[X_EKU] = ext_blob(oid_eku(), 0, SEQ(kp_server()));
	c->ext[X_SAN] = ext_blob(oid_san(), 0,
				 san_blob("mail.contoso.test", IP_10_0_0_1));
	c->ext[X_SKI] = ext_blob(oid_ski(), 0,
				 tlv(0x04, B(kp_ee_ec.ski, 20)));
	c->ext[X_AKI] = ext_blob(oid_aki(), 0, aki_value(kp_ca_ec.ski));
	c->ext[X_CRLDP] = ext_blob(OIDB(0x55, 0x1d, 0x1f), 0,
		SEQ(SEQ(tlv(0xa0, tlv(0xa0, tlv(0x86, STR(CRL_URL)))))));
	c->ext[X_AIA] = ext_blob(OIDB(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
				      0x01, 0x01), 0,
		SEQ(SEQ(OIDB(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02),
			tlv(0x86, STR(AIA_URL)))));
	c->has_exts = 1;
	c->trailer = EMPTY;
}

static blob
cert_parts_build(const struct cert_parts *c)
{
	blob exts = EMPTY, x;
	size_t i;

	if (c->whole.p != NULL)
		return c->whole;
	for (i = 0; i < X_N + 2; i++)
		if (c->ext[i].p != NULL)
			exts = CAT(exts, c->ext[i]);
	if (c->exts_override.p != NULL)
		x = c->exts_override;
	else if (c->has_exts)
		x = tlv(0xa3, tlv(0x30, exts));
	else
		x = EMPTY;
	return CAT(tlv(0x30, CAT(c->version, c->serial, c->alg, c->issuer,
				 c->validity, c->subject, c->spki, c->uid, x)),
		   c->trailer);
}

/* Expectation matching cert_parts_default. */
static void
ee_expect(struct ca_lint_cert_expect *e, const struct ca_name *names,
	  size_t nnames)
{
	memset(e, 0, sizeof(*e));
	e->issuer = ca_ec.name;
	e->issuer_len = ca_ec.name_len;
	e->issuer_not_before = ca_ec.nb;
	e->issuer_not_after = ca_ec.na;
	e->is_ca = 0;
	e->key_usage = DS;
	e->eku = CA_EKU_SERVER_AUTH;
	e->names = names;
	e->nnames = nnames;
	e->aki = kp_ca_ec.ski;
}

static void
test_cert_matches_handmade(void)
{
	struct cert_parts cp;
	struct ca_name nm[2];
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect e;
	struct mica_err err;
	unsigned char *subject = NULL, *tbs = NULL;
	size_t subject_len, tbs_len;
	blob ref;

	arena_used = 0;
	mkname("dns:mail.contoso.test", &nm[0]);
	mkname("ip:10.0.0.1", &nm[1]);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("mail.contoso.test", "Contoso",
					   &subject, &subject_len, &err), 0);
	ee_template(&t, &ca_ec, &kp_ee_ec, subject, subject_len, nm, 2);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	cert_parts_default(&cp, t.not_before, t.not_after);
	ref = cert_parts_build(&cp);
	CU_ASSERT_EQUAL(tbs_len, ref.n);
	CU_ASSERT(tbs_len == ref.n && memcmp(tbs, ref.p, ref.n) == 0);
	ee_expect(&e, nm, 2);
	CU_ASSERT_EQUAL(ca_lint_cert(ref.p, ref.n, &e, &err), 0);
	free(subject);
	free(tbs);
}

/* The UPN otherName as written (RFC 5280 4.2.1.6 OtherName, type-id
 * 1.3.6.1.4.1.311.20.2.3, value [0] EXPLICIT UTF8String), octet for
 * octet, what AD CS writes: the SAN of a UPN and an email address. */
static const unsigned char SAN_UPN_EMAIL[] = {
	0x30, 0x38,
	0xa0, 0x22,
	0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03,
	0xa0, 0x14, 0x0c, 0x12,
	'a', 'l', 'i', 'c', 'e', '@', 'c', 'o', 'n', 't', 'o', 's', 'o', '.',
	't', 'e', 's', 't',
	0x81, 0x12,
	'a', 'l', 'i', 'c', 'e', '@', 'c', 'o', 'n', 't', 'o', 's', 'o', '.',
	't', 'e', 's', 't',
};

static blob
upn_other_name(blob oid, blob value)
{
	return tlv(0xa0, CAT(oid, tlv(0xa0, value)));
}

static blob
oid_upn(void)
{
	return OIDB(0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03);
}

static void
test_upn_san(void)
{
	struct cert_parts cp;
	struct ca_name nm[3];
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect e, good;
	struct ca_cert_facts *f;
	struct mica_err err;
	unsigned char *subject = NULL, *tbs = NULL;
	size_t subject_len, tbs_len, i;
	blob ref;
	static const struct {
		const char *what, *expect;
	} bad[] = {
		{ "another otherName type", "name type mica does not issue" },
		{ "an IA5String", "UPN malformed" },
		{ "a BMPString", "UPN malformed" },
		{ "data after the UTF8String", "UPN malformed" },
		{ "data after the [0]", "UPN malformed" },
		{ "two UTF8Strings", "UPN malformed" },
		{ "no [0] EXPLICIT", "UPN malformed" },
		{ "an empty UTF8String", "not printable ASCII" },
		{ "a NUL", "not printable ASCII" },
		{ "UTF-8 beyond ASCII", "not printable ASCII" },
		{ "a UPN where an email was meant", "subjectAltName different" },
		{ "another account", "subjectAltName different" },
	};

	arena_used = 0;
	mkname("upn:alice@contoso.test", &nm[0]);
	mkname("email:alice@contoso.test", &nm[1]);
	mkname("upn:bob@contoso.test", &nm[2]);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("mail.contoso.test", "Contoso",
					   &subject, &subject_len, &err), 0);
	ee_template(&t, &ca_ec, &kp_ee_ec, subject, subject_len, nm, 2);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	/* the SAN octet for octet, and the whole TBS as built by hand */
	CU_ASSERT_PTR_NOT_NULL(memmem(tbs, tbs_len, SAN_UPN_EMAIL,
				      sizeof(SAN_UPN_EMAIL)));
	cert_parts_default(&cp, t.not_before, t.not_after);
	cp.ext[X_SAN] = ext_blob(oid_san(), 0,
		SEQ(upn_other_name(oid_upn(), tlv(0x0c,
						  STR("alice@contoso.test"))),
		    tlv(0x81, STR("alice@contoso.test"))));
	ref = cert_parts_build(&cp);
	CU_ASSERT(tbs_len == ref.n && memcmp(tbs, ref.p, ref.n) == 0);
	expect_of(&good, &t, &ca_ec);
	CU_ASSERT_EQUAL(ca_lint_cert(tbs, tbs_len, &good, &err), 0);
	/* read back as the signer reads it: the same two names */
	f = malloc(sizeof(*f));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(ca_lint_cert_read(tbs, tbs_len, f, &err), 0);
	CU_ASSERT_EQUAL_FATAL(f->nnames, 2);
	CU_ASSERT_EQUAL(f->names[0].kind, CA_NAME_UPN);
	CU_ASSERT_STRING_EQUAL(f->names[0].value, "upn:alice@contoso.test");
	CU_ASSERT_EQUAL(f->names[1].kind, CA_NAME_EMAIL);
	free(f);

	/* the encoder writes no UPN without its prefix */
	{
		struct ca_name raw = nm[0];
		unsigned char *x = NULL;
		size_t xl = 0;

		snprintf(raw.value, sizeof(raw.value), "alice@contoso.test");
		t.names = &raw;
		t.nnames = 1;
		CU_ASSERT_EQUAL(ca_x509_tbs_cert(&t, &x, &xl, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_name");
		free(x);
	}

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		blob san = EMPTY, u = STR("alice@contoso.test");
		int rc;

		arena_used = 0;
		e = good;
		switch (i) {
		case 0:
			san = upn_other_name(OIDB(0x2b, 0x06, 0x01, 0x04, 0x01,
						  0x82, 0x37, 0x14, 0x02, 0x04),
					     tlv(0x0c, u));
			break;
		case 1: san = upn_other_name(oid_upn(), tlv(0x16, u)); break;
		case 2:
			san = upn_other_name(oid_upn(), tlv(0x1e, LIT(0, 'a',
				0, '@', 0, 'b', 0, '.', 0, 't')));
			break;
		case 3:
			san = upn_other_name(oid_upn(), CAT(tlv(0x0c, u),
							    LIT(0x05, 0x00)));
			break;
		case 4:
			san = tlv(0xa0, CAT(oid_upn(), tlv(0xa0, tlv(0x0c, u)),
					    LIT(0x05, 0x00)));
			break;
		case 5:
			san = upn_other_name(oid_upn(), CAT(tlv(0x0c, u),
							    tlv(0x0c, u)));
			break;
		case 6: san = tlv(0xa0, CAT(oid_upn(), tlv(0x0c, u))); break;
		case 7: san = upn_other_name(oid_upn(), tlv(0x0c, EMPTY)); break;
		case 8:
			san = upn_other_name(oid_upn(), tlv(0x0c,
				B("alice\0@contoso.test", 19)));
			break;
		case 9:
			san = upn_other_name(oid_upn(), tlv(0x0c,
				STR("al\xc3\xaf" "ce@contoso.test")));
			break;
		case 10:
		case 11:
			san = upn_other_name(oid_upn(), tlv(0x0c, u));
			break;
		}
		/* expected: alice's UPN; her email (10), bob's UPN (11) */
		e.names = &nm[i == 10 ? 1 : i == 11 ? 2 : 0];
		e.nnames = 1;
		cert_parts_default(&cp, t.not_before, t.not_after);
		cp.ext[X_SAN] = ext_blob(oid_san(), 0, SEQ(san));
		ref = cert_parts_build(&cp);
		mica_err_clear(&err);
		rc = ca_lint_cert(ref.p, ref.n, &e, &err);
		if (rc != -1 || strstr(err.msg, bad[i].expect) == NULL)
			fprintf(stderr, "\n  UPN case %zu (%s): rc %d, '%s'\n",
				i, bad[i].what, rc, err.msg);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].expect));
	}
	/* the handmade UPN itself passes, so each refusal above is its
	 * mutation's */
	arena_used = 0;
	e = good;
	e.names = &nm[0];
	e.nnames = 1;
	cert_parts_default(&cp, t.not_before, t.not_after);
	cp.ext[X_SAN] = ext_blob(oid_san(), 0, SEQ(upn_other_name(oid_upn(),
		tlv(0x0c, STR("alice@contoso.test")))));
	ref = cert_parts_build(&cp);
	CU_ASSERT_EQUAL(ca_lint_cert(ref.p, ref.n, &e, &err), 0);
	free(subject);
	free(tbs);
}

struct lint_case {
	const char *what;
	const char *expect;   /* substring of the message */
};

static const struct lint_case cert_cases[] = {
	{ "wrong version (v2)", "version not v3" },
	{ "version absent (v1)", "version not v3" },
	{ "negative serial", "serial not positive" },
	{ "zero serial", "serial not positive" },
	{ "21-octet serial", "serial longer than 20 octets" },
	{ "non-minimal serial", "serial not minimally encoded" },
	{ "sha1WithRSAEncryption", "signature algorithm unknown" },
	{ "issuer mismatch", "issuer mismatch" },
	{ "notBefore after notAfter", "notBefore not before notAfter" },
	{ "notBefore equal to notAfter", "notBefore not before notAfter" },
	{ "notAfter beyond the issuer's", "validity outside the issuer's" },
	{ "notBefore before the issuer's", "validity outside the issuer's" },
	{ "UTCTime used for 2051 (reads as 1951)", "notBefore not before" },
	{ "GeneralizedTime used for 2030", "GeneralizedTime used" },
	{ "UTCTime without seconds", "malformed notAfter" },
	{ "GeneralizedTime with a fraction", "malformed notAfter" },
	{ "UTCTime with an offset", "malformed notBefore" },
	{ "missing SKI", "subjectKeyIdentifier missing" },
	{ "missing AKI for a non-root", "authorityKeyIdentifier missing" },
	{ "duplicate extension", "duplicate extension" },
	{ "keyUsage not critical", "keyUsage not critical" },
	{ "keyUsage different", "keyUsage different" },
	{ "keyUsage with a trailing zero bit", "trailing zero bits" },
	{ "keyUsage missing", "keyUsage missing" },
	{ "EKU different", "extendedKeyUsage different" },
	{ "EKU missing", "extendedKeyUsage missing" },
	{ "EKU purpose repeated", "extendedKeyUsage repeats" },
	{ "SAN missing", "subjectAltName missing" },
	{ "SAN DNS name different", "subjectAltName different" },
	{ "SAN IP different", "subjectAltName different" },
	{ "SAN with an extra name", "subjectAltName different" },
	{ "SAN critical with a subject", "subjectAltName critical" },
	{ "empty subject, SAN not critical", "not critical with an empty" },
	{ "basicConstraints not critical", "basicConstraints not critical" },
	{ "basicConstraints missing", "basicConstraints missing" },
	{ "cA TRUE in an end entity", "cA does not match" },
	{ "cA FALSE encoded", "cA FALSE encoded" },
	{ "pathLen without cA", "pathLenConstraint without cA" },
	{ "critical FALSE encoded", "critical FALSE encoded" },
	{ "BOOLEAN TRUE as 0x01", "malformed extension criticality" },
	{ "empty extension value", "extension value empty" },
	{ "unknown extension", "unknown extension" },
	{ "empty extensions", "extensions empty" },
	{ "no extensions", "extensions missing" },
	{ "issuerUniqueID present", "unique identifiers present" },
	{ "trailing garbage after the TBS", "trailing data after TBS" },
	{ "data after the extensions", "data after the extensions" },
	{ "indefinite length", "malformed TBSCertificate" },
	{ "non-minimal length", "malformed version" },
	{ "AKI different", "authorityKeyIdentifier different" },
	{ "AKI critical", "authorityKeyIdentifier critical" },
	{ "SPKI missing", "subjectPublicKeyInfo missing" },
	{ "cRLNumber in a certificate", "CRL extension in a certificate" },
	{ "issuer empty", "issuer empty" },
	{ "cRLDistributionPoints critical", "cRLDistributionPoints critical" },
	{ "AIA access method unknown", "method unknown" },
	{ "URI with a space", "URI not an absolute" },
	{ "SKI critical", "subjectKeyIdentifier critical" },
	{ "SAN with an otherName", "name type mica does not issue" },
	{ "subject RDN empty", "empty RDN" },
};

static void
cert_mutate(size_t i, struct cert_parts *c, struct ca_lint_cert_expect *e,
	    int64_t nb, int64_t na)
{
	unsigned char s21[21], ip2[4] = { 10, 0, 0, 2 };

	memset(s21, 0x42, sizeof(s21));
	switch (i) {
	case 0: c->version = tlv(0xa0, LIT(0x02, 0x01, 0x01)); break;
	case 1: c->version = EMPTY; break;
	case 2: c->serial = LIT(0x02, 0x01, 0x80); break;
	case 3: c->serial = LIT(0x02, 0x01, 0x00); break;
	case 4: c->serial = tlv(0x02, B(s21, 21)); break;
	case 5: c->serial = LIT(0x02, 0x02, 0x00, 0x01); break;
	case 6:
		c->alg = LIT(0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
			     0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00);
		break;
	case 7: c->issuer = name_blob("Contoso EC Root", "Fabrikam"); break;
	case 8: c->validity = SEQ(time_blob(na, 0), time_blob(nb, 0)); break;
	case 9: c->validity = SEQ(time_blob(nb, 0), time_blob(nb, 0)); break;
	case 10:
		c->validity = SEQ(time_blob(nb, 0),
				  time_blob(ca_ec.na + 1, 0));
		break;
	case 11:
		c->validity = SEQ(time_blob(ca_ec.nb - 1, 0),
				  time_blob(na, 0));
		break;
	case 12:
		/* 2051 cannot be a UTCTime: "51" reads as 1951. */
		c->validity = SEQ(time_blob(nb, 0),
				  tlv(0x17, STR("510101000000Z")));
		e->issuer_not_after = INT64_C(2556144000) + 86400;
		break;
	case 13:
		c->validity = SEQ(time_blob(nb, 0),
				  tlv(0x18, STR("20300101000000Z")));
		e->issuer_not_after = INT64_C(2556144000);
		break;
	case 14:
		c->validity = SEQ(time_blob(nb, 0),
				  tlv(0x17, STR("3001010000Z")));
		break;
	case 15:
		c->validity = SEQ(time_blob(nb, 0),
				  tlv(0x18, STR("20300101000000.5Z")));
		break;
	case 16:
		c->validity = SEQ(tlv(0x17, STR("200101000000+0100")),
				  time_blob(na, 0));
		break;
	case 17: c->ext[X_SKI] = (blob){ NULL, 0 }; break;
	case 18: c->ext[X_AKI] = (blob){ NULL, 0 }; break;
	case 19: c->ext[X_N] = c->ext[X_SAN]; break;
	case 20:
		c->ext[X_KU] = ext_blob(oid_ku(), 0,
					LIT(0x03, 0x02, 0x07, 0x80));
		break;
	case 21:
		c->ext[X_KU] = ext_blob(oid_ku(), 1,
					LIT(0x03, 0x02, 0x05, 0xa0));
		break;
	case 22:
		c->ext[X_KU] = ext_blob(oid_ku(), 1,
					LIT(0x03, 0x02, 0x06, 0x80));
		break;
	case 23: c->ext[X_KU] = (blob){ NULL, 0 }; break;
	case 24:
		c->ext[X_EKU] = ext_blob(oid_eku(), 0,
			SEQ(OIDB(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03,
				 0x02)));
		break;
	case 25: c->ext[X_EKU] = (blob){ NULL, 0 }; break;
	case 26:
		c->ext[X_EKU] = ext_blob(oid_eku(), 0,
					 SEQ(kp_server(), kp_server()));
		break;
	case 27: c->ext[X_SAN] = (blob){ NULL, 0 }; break;
	case 28:
		c->ext[X_SAN] = ext_blob(oid_san(), 0,
			san_blob("www.contoso.test", IP_10_0_0_1));
		break;
	case 29:
		c->ext[X_SAN] = ext_blob(oid_san(), 0,
			san_blob("mail.contoso.test", ip2));
		break;
	case 30:
		c->ext[X_SAN] = ext_blob(oid_san(), 0,
			SEQ(tlv(0x82, STR("mail.contoso.test")),
			    tlv(0x87, B(IP_10_0_0_1, 4)),
			    tlv(0x82, STR("x.contoso.test"))));
		break;
	case 31:
		c->ext[X_SAN] = ext_blob(oid_san(), 1,
			san_blob("mail.contoso.test", IP_10_0_0_1));
		break;
	case 32: c->subject = LIT(0x30, 0x00); break;
	case 33: c->ext[X_BC] = ext_blob(oid_bc(), 0, SEQ(EMPTY)); break;
	case 34: c->ext[X_BC] = (blob){ NULL, 0 }; break;
	case 35:
		c->ext[X_BC] = ext_blob(oid_bc(), 1,
					SEQ(LIT(0x01, 0x01, 0xff)));
		break;
	case 36:
		c->ext[X_BC] = ext_blob(oid_bc(), 1,
					SEQ(LIT(0x01, 0x01, 0x00)));
		break;
	case 37:
		c->ext[X_BC] = ext_blob(oid_bc(), 1,
					SEQ(LIT(0x02, 0x01, 0x00)));
		break;
	case 38:
		c->ext[X_SKI] = SEQ(oid_ski(), LIT(0x01, 0x01, 0x00),
				    tlv(0x04, tlv(0x04, B(kp_ee_ec.ski, 20))));
		break;
	case 39:
		c->ext[X_BC] = SEQ(oid_bc(), LIT(0x01, 0x01, 0x01),
				   tlv(0x04, SEQ(EMPTY)));
		break;
	case 40:
		c->ext[X_CRLDP] = SEQ(OIDB(0x55, 0x1d, 0x1f),
				      tlv(0x04, EMPTY));
		break;
	case 41:
		c->ext[X_N] = ext_blob(OIDB(0x55, 0x1d, 0x20), 0,
				       SEQ(SEQ(OIDB(0x55, 0x1d, 0x20, 0x00))));
		break;
	case 42: c->exts_override = tlv(0xa3, SEQ(EMPTY)); break;
	case 43: c->has_exts = 0; break;
	case 44: c->uid = LIT(0x81, 0x02, 0x00, 0xff); break;
	case 45: c->trailer = LIT(0x00); break;
	case 46: c->exts_override = CAT(tlv(0xa3, tlv(0x30, CAT(
			c->ext[X_BC], c->ext[X_KU], c->ext[X_EKU],
			c->ext[X_SAN], c->ext[X_SKI], c->ext[X_AKI]))),
			LIT(0x05, 0x00));
		break;
	case 47: {
		/* SEQUENCE with an indefinite length and end-of-contents */
		blob whole = cert_parts_build(c);

		/* 30 82 LL LL <content> -> 30 80 <content> 00 00 */
		c->whole = CAT(LIT(0x30, 0x80), B(whole.p + 4, whole.n - 4),
			       LIT(0x00, 0x00));
		break;
	}
	case 48: c->version = LIT(0xa0, 0x81, 0x03, 0x02, 0x01, 0x02); break;
	case 49: {
		static const unsigned char other[20] = { 1, 2, 3 };

		c->ext[X_AKI] = ext_blob(oid_aki(), 0, aki_value(other));
		break;
	}
	case 50: c->ext[X_AKI] = ext_blob(oid_aki(), 1,
					  aki_value(kp_ca_ec.ski));
		break;
	case 51: c->spki = EMPTY; break;
	case 52:
		c->ext[X_N] = ext_blob(OIDB(0x55, 0x1d, 0x14), 0,
				       LIT(0x02, 0x01, 0x01));
		break;
	case 53: c->issuer = LIT(0x30, 0x00); break;
	case 54:
		c->ext[X_CRLDP] = ext_blob(OIDB(0x55, 0x1d, 0x1f), 1,
			SEQ(SEQ(tlv(0xa0, tlv(0xa0, tlv(0x86,
							STR(CRL_URL)))))));
		break;
	case 55:
		c->ext[X_AIA] = ext_blob(OIDB(0x2b, 0x06, 0x01, 0x05, 0x05,
					      0x07, 0x01, 0x01), 0,
			SEQ(SEQ(OIDB(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30,
				     0x05), tlv(0x86, STR(AIA_URL)))));
		break;
	case 56:
		c->ext[X_CRLDP] = ext_blob(OIDB(0x55, 0x1d, 0x1f), 0,
			SEQ(SEQ(tlv(0xa0, tlv(0xa0, tlv(0x86,
				STR("http://ca.contoso.test/a b.crl")))))));
		break;
	case 57:
		c->ext[X_SKI] = ext_blob(oid_ski(), 1,
					 tlv(0x04, B(kp_ee_ec.ski, 20)));
		break;
	case 58:
		c->ext[X_SAN] = ext_blob(oid_san(), 0,
			SEQ(tlv(0xa0, SEQ(OIDB(0x2b, 0x06, 0x01),
					  tlv(0xa0, tlv(0x0c, STR("x")))))));
		break;
	case 59:
		c->subject = SEQ(tlv(0x31, EMPTY));
		break;
	}
}

static void
test_lint_cert_cases(void)
{
	struct cert_parts cp;
	struct ca_name nm[2];
	struct ca_lint_cert_expect e;
	struct mica_err err;
	int64_t nb = now - 300, na = now + 365 * 86400;
	size_t i;
	blob b;

	CU_ASSERT_EQUAL(sizeof(cert_cases) / sizeof(cert_cases[0]), 60);
	mkname("dns:mail.contoso.test", &nm[0]);
	mkname("ip:10.0.0.1", &nm[1]);
	for (i = 0; i < sizeof(cert_cases) / sizeof(cert_cases[0]); i++) {
		unsigned char *copy;
		int rc;

		arena_used = 0;
		cert_parts_default(&cp, nb, na);
		ee_expect(&e, nm, 2);
		cert_mutate(i, &cp, &e, nb, na);
		b = cert_parts_build(&cp);
		copy = malloc(b.n);
		memcpy(copy, b.p, b.n);
		mica_err_clear(&err);
		rc = ca_lint_cert(copy, b.n, &e, &err);
		if (rc != -1 || strstr(err.msg, cert_cases[i].expect) == NULL)
			fprintf(stderr, "\n  case %zu (%s): rc %d, '%s'\n", i,
				cert_cases[i].what, rc, err.msg);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_INTERNAL);
		CU_ASSERT_STRING_EQUAL(err.code, "lint_failed");
		CU_ASSERT_EQUAL(strncmp(err.msg, "lint: ", 6), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cert_cases[i].expect));
		free(copy);
	}
}

/* Expectations that do not match a good TBS are refused too. */
static void
test_lint_cert_expectations(void)
{
	struct ca_name nm[3];
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect e, good;
	struct mica_err err;
	unsigned char *subject = NULL, *tbs = NULL, other_aki[20];
	size_t subject_len, tbs_len, i;
	const char *want = "";

	mkname("dns:mail.contoso.test", &nm[0]);
	mkname("ip:10.0.0.1", &nm[1]);
	mkname("dns:www.contoso.test", &nm[2]);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("mail.contoso.test", "Contoso",
					   &subject, &subject_len, &err), 0);
	ee_template(&t, &ca_ec, &kp_ee_ec, subject, subject_len, nm, 2);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	expect_of(&good, &t, &ca_ec);
	CU_ASSERT_EQUAL(ca_lint_cert(tbs, tbs_len, &good, &err), 0);
	memset(other_aki, 0x33, sizeof(other_aki));

	for (i = 0; i < 13; i++) {
		e = good;
		switch (i) {
		case 0:
			e.issuer = ca_rsa.name;
			e.issuer_len = ca_rsa.name_len;
			want = "issuer mismatch";
			break;
		case 1:
			e.issuer_not_after = t.not_after - 1;
			want = "validity outside";
			break;
		case 2:
			e.issuer_not_before = t.not_before + 1;
			want = "validity outside";
			break;
		case 3:
			e.is_ca = 1;
			want = "cA does not match";
			break;
		case 4:
			e.key_usage = DS | KE;
			want = "keyUsage different";
			break;
		case 5:
			e.key_usage = 0;
			want = "keyUsage different";
			break;
		case 6:
			e.eku = CA_EKU_SERVER_AUTH | CA_EKU_CLIENT_AUTH;
			want = "extendedKeyUsage different";
			break;
		case 7:
			e.eku = 0;
			want = "extendedKeyUsage different";
			break;
		case 8:
			e.names = &nm[1];   /* IP then www: order matters */
			want = "subjectAltName different";
			break;
		case 9:
			e.nnames = 1;
			want = "subjectAltName different";
			break;
		case 10:
			e.nnames = 3;
			want = "subjectAltName different";
			break;
		case 11:
			e.aki = other_aki;
			want = "authorityKeyIdentifier different";
			break;
		case 12:
			e.aki = NULL;    /* claims self-signed */
			want = "subject differs from issuer";
			break;
		}
		CU_ASSERT_EQUAL(ca_lint_cert(tbs, tbs_len, &e, &err), -1);
		if (strstr(err.msg, want) == NULL)
			fprintf(stderr, "\n  expectation %zu: %s\n", i, err.msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
	}
	CU_ASSERT_EQUAL(ca_lint_cert(NULL, 0, &good, &err), -1);
	CU_ASSERT_EQUAL(ca_lint_cert(tbs, tbs_len, NULL, &err), -1);
	free(subject);
	free(tbs);
}

/* Prefixes never pass; flipped bytes never crash (run under ASan). */
static void
test_lint_cert_truncation(void)
{
	struct ca_name nm[2];
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect e;
	struct mica_err err;
	unsigned char *subject = NULL, *tbs = NULL, *copy;
	size_t subject_len, tbs_len, k, x;
	static const unsigned char flips[] = { 0x01, 0x80, 0xff, 0x7f, 0x20 };

	mkname("dns:mail.contoso.test", &nm[0]);
	mkname("ip:10.0.0.1", &nm[1]);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("mail.contoso.test", "Contoso",
					   &subject, &subject_len, &err), 0);
	ee_template(&t, &ca_ec, &kp_ee_ec, subject, subject_len, nm, 2);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	expect_of(&e, &t, &ca_ec);
	CU_ASSERT_EQUAL(ca_lint_cert(tbs, tbs_len, &e, &err), 0);
	for (k = 0; k < tbs_len; k++) {
		copy = malloc(k ? k : 1);
		memcpy(copy, tbs, k);
		CU_ASSERT_EQUAL(ca_lint_cert(copy, k, &e, &err), -1);
		free(copy);
	}
	for (k = 0; k < tbs_len; k++) {
		for (x = 0; x < sizeof(flips); x++) {
			copy = malloc(tbs_len);
			memcpy(copy, tbs, tbs_len);
			copy[k] ^= flips[x];
			(void)ca_lint_cert(copy, tbs_len, &e, &err);
			free(copy);
		}
	}
	free(subject);
	free(tbs);
}

/* ------------------------------------------------------------------ */
/* CRLs                                                                */
/* ------------------------------------------------------------------ */

static void
crl_template(struct ca_tbs_crl *c, const struct test_ca *ca,
	     const struct ca_crl_entry *entries, size_t n)
{
	memset(c, 0, sizeof(*c));
	c->sig_alg = ca->k->alg;
	c->sig_alg_len = ca->k->alg_len;
	c->issuer = ca->name;
	c->issuer_len = ca->name_len;
	c->this_update = now - 60;
	c->next_update = now + 7 * 86400;
	c->crl_number = 42;
	memcpy(c->aki, ca->k->ski, 20);
	c->entries = entries;
	c->nentries = n;
}

static void
set_entry(struct ca_crl_entry *e, const unsigned char *s, size_t n,
	  int reason, int64_t when)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->serial, s, n);
	e->serial_len = (unsigned char)n;
	e->reason = (signed char)reason;
	e->revoked_at = when;
}

static void
test_crl_accepted(void)
{
	struct test_ca *cas[] = { &ca_ec, &ca_rsa };
	struct ca_crl_entry ents[6];
	struct ca_tbs_crl c;
	struct mica_err err;
	unsigned char *tbs = NULL, *der = NULL, s16[16], s20[20];
	size_t tbs_len, der_len, i;
	mbedtls_x509_crl crl;
	const mbedtls_x509_crl_entry *ce;
	char cmd[1024], out[16384], path[256], file[64];
	int n;

	memset(s16, 0xa5, sizeof(s16));
	memset(s20, 0x3c, sizeof(s20));
	set_entry(&ents[0], SERIAL_EE, sizeof(SERIAL_EE), 1, now - 3600);
	set_entry(&ents[1], s16, 16, 4, now - 7200);
	set_entry(&ents[2], s20, 20, 5, INT64_C(946684800));
	set_entry(&ents[3], (const unsigned char *)"\x07", 1, 0, now - 60);
	set_entry(&ents[4], (const unsigned char *)"\x7f\x01", 2, 10,
		  now - 120);
	set_entry(&ents[5], (const unsigned char *)"\x01\x00", 2, 9, now - 1);

	for (i = 0; i < 2; i++) {
		crl_template(&c, cas[i], ents, 6);
		c.crl_number = INT64_C(0x8000000001);   /* with a sign octet */
		CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err),
				      0);
		if (ca_lint_crl(tbs, tbs_len, cas[i]->name, cas[i]->name_len,
				&err) != 0)
			fprintf(stderr, "\n  crl lint: %s\n", err.msg);
		CU_ASSERT_EQUAL(ca_lint_crl(tbs, tbs_len, cas[i]->name,
					    cas[i]->name_len, &err), 0);
		CU_ASSERT_EQUAL_FATAL(sign_wrap(cas[i]->k, tbs, tbs_len, &der,
						&der_len), 0);

		mbedtls_x509_crl_init(&crl);
		CU_ASSERT_EQUAL(mbedtls_x509_crl_parse_der(&crl, der, der_len),
				0);
		CU_ASSERT_EQUAL(crl.version, 2);
		n = 0;
		for (ce = &crl.entry; ce != NULL && ce->serial.len > 0;
		     ce = ce->next)
			n++;
		CU_ASSERT_EQUAL(n, 6);
		mbedtls_x509_crl_free(&crl);

		snprintf(file, sizeof(file), "crl-%s.der", cas[i]->label);
		CU_ASSERT_EQUAL_FATAL(write_file(file, der, der_len), 0);
		path_in_tmp(path, sizeof(path), file);
		snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in '%s' "
			 "-CAfile '%s' -noout -text", path, cas[i]->pem);
		CU_ASSERT_EQUAL(run(cmd, out, sizeof(out)), 0);
		{
			const char *want[] = {
				"verify OK", "X509v3 CRL Number",
				"X509v3 Authority Key Identifier",
				"Key Compromise", "Superseded",
				"Cessation Of Operation", "AA Compromise",
				"Privilege Withdrawn", "Version 2 (0x1)",
				"Serial Number: 1122334455667788",
				"Serial Number: 07",
				/* read back as positive, 16 octets */
				"Serial Number: A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5"
				"\n",
				"Serial Number: 3C3C3C3C3C3C3C3C3C3C3C3C3C3C3C3C"
				"3C3C3C3C\n",
				"X509v3 CRL Number: \n"
				"                549755813889\n",
				"Revocation Date: Jan  1 00:00:00 2000 GMT",
			};
			size_t k;

			for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
				if (strstr(out, want[k]) == NULL)
					fprintf(stderr, "\n  missing '%s' in:"
						"\n%s\n", want[k], out);
				CU_ASSERT_PTR_NOT_NULL(strstr(out, want[k]));
			}
		}
		/* five reasons, the unspecified one omitted */
		CU_ASSERT_EQUAL(count_str(out, "X509v3 CRL Reason Code"), 5);
		CU_ASSERT_EQUAL(count_str(out, "Unspecified"), 0);

		/* GnuTLS checks the CRL's signature too. */
		if (have_certtool) {
			snprintf(file, sizeof(file), "crl-%s.pem",
				 cas[i]->label);
			CU_ASSERT_EQUAL_FATAL(write_pem(file, "X509 CRL", der,
							der_len), 0);
			path_in_tmp(path, sizeof(path), file);
			snprintf(cmd, sizeof(cmd), "certtool --verify-crl "
				 "--load-ca-certificate '%s' --infile '%s'",
				 cas[i]->pem, path);
			CU_ASSERT_EQUAL(run(cmd, out, sizeof(out)), 0);
			CU_ASSERT_PTR_NOT_NULL(strstr(out, "Revoked "
						      "certificates (6)"));
			CU_ASSERT_PTR_NOT_NULL(strstr(out, "Verification "
						      "output: Verified."));
		} else {
			skip("GnuTLS certtool --verify-crl: certtool (gnutls-bin) is not installed");
		}
		free(tbs);
		free(der);
		tbs = der = NULL;
	}
}

/* A revoked certificate is reported as such by OpenSSL and mbedTLS; one
 * that is not revoked still verifies against the same CRL. */
static void
test_crl_revokes(void)
{
	struct ca_name nm;
	struct ca_tbs_cert t;
	struct ca_crl_entry ent;
	struct ca_tbs_crl c;
	struct mica_err err;
	unsigned char *tbs = NULL, *der = NULL, *crl_der = NULL;
	size_t tbs_len, der_len, crl_len;
	unsigned char serial2[] = { 0x42, 0x42 };
	char cmd[1024], out[16384], ee1[256], ee2[256], crlp[256];
	mbedtls_x509_crt ee, trust;
	mbedtls_x509_crl crl;
	uint32_t flags;

	mkname("dns:mail.contoso.test", &nm);
	ee_template(&t, &ca_ec, &kp_ee_ec, ca_ec.name, 0, &nm, 1);
	t.subject = (const unsigned char *)"\x30\x00";
	t.subject_len = 2;
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(sign_wrap(&kp_ca_ec, tbs, tbs_len, &der,
					&der_len), 0);
	CU_ASSERT_EQUAL_FATAL(write_pem("rev1.pem", "CERTIFICATE", der,
					der_len), 0);
	mbedtls_x509_crt_init(&ee);
	mbedtls_x509_crt_init(&trust);
	mbedtls_x509_crl_init(&crl);
	CU_ASSERT_EQUAL(mbedtls_x509_crt_parse_der(&ee, der, der_len), 0);
	free(tbs);
	free(der);
	t.serial = serial2;
	t.serial_len = sizeof(serial2);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(sign_wrap(&kp_ca_ec, tbs, tbs_len, &der,
					&der_len), 0);
	CU_ASSERT_EQUAL_FATAL(write_pem("rev2.pem", "CERTIFICATE", der,
					der_len), 0);
	free(tbs);
	free(der);

	set_entry(&ent, SERIAL_EE, sizeof(SERIAL_EE), 1, now - 30);
	crl_template(&c, &ca_ec, &ent, 1);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(sign_wrap(&kp_ca_ec, tbs, tbs_len, &crl_der,
					&crl_len), 0);
	CU_ASSERT_EQUAL_FATAL(write_pem("rev.crl", "X509 CRL", crl_der,
					crl_len), 0);
	path_in_tmp(ee1, sizeof(ee1), "rev1.pem");
	path_in_tmp(ee2, sizeof(ee2), "rev2.pem");
	path_in_tmp(crlp, sizeof(crlp), "rev.crl");
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -crl_check "
		 "-CAfile '%s' -CRLfile '%s' '%s'", ca_ec.pem, crlp, ee1);
	CU_ASSERT_NOT_EQUAL(run(cmd, out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "certificate revoked"));
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -crl_check "
		 "-CAfile '%s' -CRLfile '%s' '%s'", ca_ec.pem, crlp, ee2);
	CU_ASSERT_EQUAL(run(cmd, out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ": OK"));

	/* mbedTLS checks the CRL signature and finds the serial. */
	CU_ASSERT_EQUAL(mbedtls_x509_crt_parse_der(&trust, ca_ec.der,
						   ca_ec.der_len), 0);
	CU_ASSERT_EQUAL(mbedtls_x509_crl_parse_der(&crl, crl_der, crl_len), 0);
	flags = 0;
	CU_ASSERT_NOT_EQUAL(mbedtls_x509_crt_verify(&ee, &trust, &crl, NULL,
						    &flags, NULL, NULL), 0);
	CU_ASSERT(flags & MBEDTLS_X509_BADCERT_REVOKED);
	CU_ASSERT_EQUAL(flags & MBEDTLS_X509_BADCRL_NOT_TRUSTED, 0);

	mbedtls_x509_crt_free(&ee);
	mbedtls_x509_crt_free(&trust);
	mbedtls_x509_crl_free(&crl);
	free(tbs);
	free(crl_der);
}

static void
test_crl_empty(void)
{
	struct ca_tbs_crl c;
	struct mica_err err;
	unsigned char *tbs = NULL, *der = NULL, *p, *end;
	size_t tbs_len, der_len, len;
	mbedtls_x509_crl crl;
	char cmd[1024], out[8192], path[256];

	crl_template(&c, &ca_rsa, NULL, 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_lint_crl(tbs, tbs_len, ca_rsa.name, ca_rsa.name_len,
				    &err), 0);
	/* Walk with mbedTLS's reader: after nextUpdate comes [0]. */
	p = tbs;
	end = tbs + tbs_len;
	CU_ASSERT_EQUAL_FATAL(mbedtls_asn1_get_tag(&p, end, &len, 0x30), 0);
	CU_ASSERT_EQUAL(p + len, end);
	CU_ASSERT_EQUAL_FATAL(mbedtls_asn1_get_tag(&p, end, &len, 0x02), 0);
	p += len;                                             /* version */
	CU_ASSERT_EQUAL_FATAL(mbedtls_asn1_get_tag(&p, end, &len, 0x30), 0);
	p += len;                                             /* signature */
	CU_ASSERT_EQUAL_FATAL(mbedtls_asn1_get_tag(&p, end, &len, 0x30), 0);
	p += len;                                             /* issuer */
	CU_ASSERT_EQUAL_FATAL(mbedtls_asn1_get_tag(&p, end, &len, 0x17), 0);
	p += len;                                             /* thisUpdate */
	CU_ASSERT_EQUAL_FATAL(mbedtls_asn1_get_tag(&p, end, &len, 0x17), 0);
	p += len;                                             /* nextUpdate */
	CU_ASSERT_EQUAL(*p, 0xa0);                     /* no SEQUENCE here */
	CU_ASSERT_EQUAL_FATAL(sign_wrap(&kp_ca_rsa, tbs, tbs_len, &der,
					&der_len), 0);
	mbedtls_x509_crl_init(&crl);
	CU_ASSERT_EQUAL(mbedtls_x509_crl_parse_der(&crl, der, der_len), 0);
	CU_ASSERT_EQUAL(crl.entry.serial.len, 0);
	mbedtls_x509_crl_free(&crl);
	CU_ASSERT_EQUAL_FATAL(write_file("empty.crl", der, der_len), 0);
	path_in_tmp(path, sizeof(path), "empty.crl");
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in '%s' "
		 "-CAfile '%s' -noout -text", path, ca_rsa.pem);
	CU_ASSERT_EQUAL(run(cmd, out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "verify OK"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "No Revoked Certificates."));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "X509v3 CRL Number: \n"
				      "                42"));
	free(tbs);
	free(der);
}

static void
test_crl_refusals(void)
{
	struct ca_crl_entry e[1];
	struct ca_tbs_crl c;
	struct mica_err err;
	unsigned char *tbs;
	size_t tbs_len, i;
	static const int reasons[] = { 0, 1, 2, 3, 4, 5, 6, 9, 10 };
	/* 7 is unassigned, removeFromCRL (8) is for delta CRLs only */
	static const int bad_reasons[] = { -1, 7, 8, 11, 127, -128 };
	unsigned char s[21];

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		set_entry(e, SERIAL_EE, sizeof(SERIAL_EE), reasons[i], now);
		crl_template(&c, &ca_ec, e, 1);
		tbs = NULL;
		CU_ASSERT_EQUAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), 0);
		CU_ASSERT_EQUAL(ca_lint_crl(tbs, tbs_len, ca_ec.name,
					    ca_ec.name_len, &err), 0);
		free(tbs);
	}
	for (i = 0; i < sizeof(bad_reasons) / sizeof(bad_reasons[0]); i++) {
		set_entry(e, SERIAL_EE, sizeof(SERIAL_EE), bad_reasons[i], now);
		crl_template(&c, &ca_ec, e, 1);
		tbs = NULL;
		CU_ASSERT_EQUAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_crl");
		CU_ASSERT_PTR_NULL(tbs);
	}
	memset(s, 0x11, sizeof(s));
	for (i = 0; i < 9; i++) {
		const char *code = "bad_serial";

		set_entry(e, s, 8, 1, now);
		crl_template(&c, &ca_ec, e, 1);
		switch (i) {
		case 0: e[0].serial_len = 0; break;
		case 1: e[0].serial_len = 21; break;
		case 2: e[0].serial[0] = 0x80; e[0].serial_len = 20; break;
		case 3: e[0].serial[0] = 0x00; break;
		case 4: c.crl_number = 0; code = "bad_crl"; break;
		case 5: c.crl_number = -5; code = "bad_crl"; break;
		case 6: c.next_update = c.this_update; code = "bad_validity";
			break;
		case 7: c.entries = NULL; code = "bad_crl"; break;
		case 8: e[0].revoked_at = INT64_C(253402300800);
			code = "bad_crl"; break;
		}
		tbs = NULL;
		CU_ASSERT_EQUAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), -1);
		if (strcmp(err.code, code) != 0)
			fprintf(stderr, "\n  crl case %zu: %s\n", i, err.code);
		CU_ASSERT_STRING_EQUAL(err.code, code);
		CU_ASSERT_PTR_NULL(tbs);
	}
	/* A 20-octet serial with the top bit clear and a huge CRL number
	 * are fine. */
	set_entry(e, s, 20, 1, now);
	crl_template(&c, &ca_ec, e, 1);
	c.crl_number = INT64_MAX;
	tbs = NULL;
	CU_ASSERT_EQUAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_lint_crl(tbs, tbs_len, ca_ec.name, ca_ec.name_len,
				    &err), 0);
	free(tbs);
}

/* Hand-built CRL pieces. */
struct crl_parts {
	blob version, alg, issuer, this_up, next_up, revoked, exts, trailer;
};

static blob
reason_ext(int crit, blob enumerated)
{
	return SEQ(ext_blob(OIDB(0x55, 0x1d, 0x15), crit, enumerated));
}

/* An entry's invalidityDate extension, critical or not, whose OCTET
 * STRING holds VALUE. */
static blob
invalid_ext(int crit, blob value)
{
	return ext_blob(OIDB(0x55, 0x1d, 0x18), crit, value);
}

static blob
crl_exts(blob aki, blob num)
{
	return tlv(0xa0, SEQ(aki, num));
}

static blob
crl_aki(int crit)
{
	return ext_blob(oid_aki(), crit, aki_value(kp_ca_ec.ski));
}

static blob
crl_num(int crit, blob integer)
{
	return ext_blob(OIDB(0x55, 0x1d, 0x14), crit, integer);
}

static void
crl_parts_default(struct crl_parts *c, int64_t tu, int64_t nu, int64_t r1)
{
	unsigned char s16[16];

	memset(s16, 0xa5, sizeof(s16));
	c->version = LIT(0x02, 0x01, 0x01);
	c->alg = B(ALG_ECDSA_SHA256, sizeof(ALG_ECDSA_SHA256));
	c->issuer = name_blob("Contoso EC Root", "Contoso");
	c->this_up = time_blob(tu, 0);
	c->next_up = time_blob(nu, 0);
	c->revoked = SEQ(
		SEQ(tlv(0x02, B(SERIAL_EE, sizeof(SERIAL_EE))),
		    time_blob(r1, 0), reason_ext(0, LIT(0x0a, 0x01, 0x01))),
		SEQ(tlv(0x02, CAT(LIT(0x00), B(s16, 16))),
		    time_blob(r1, 0)));
	c->exts = crl_exts(crl_aki(0), crl_num(0, LIT(0x02, 0x01, 0x2a)));
	c->trailer = EMPTY;
}

static blob
crl_parts_build(const struct crl_parts *c)
{
	return CAT(tlv(0x30, CAT(c->version, c->alg, c->issuer, c->this_up,
				 c->next_up, c->revoked, c->exts)),
		   c->trailer);
}

static void
test_crl_matches_handmade(void)
{
	struct ca_crl_entry ents[2];
	struct ca_tbs_crl c;
	struct crl_parts cp;
	struct mica_err err;
	unsigned char *tbs = NULL, s16[16];
	size_t tbs_len;
	blob ref;

	arena_used = 0;
	memset(s16, 0xa5, sizeof(s16));
	set_entry(&ents[0], SERIAL_EE, sizeof(SERIAL_EE), 1, now - 100);
	set_entry(&ents[1], s16, 16, 0, now - 100);
	crl_template(&c, &ca_ec, ents, 2);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), 0);
	crl_parts_default(&cp, c.this_update, c.next_update, now - 100);
	ref = crl_parts_build(&cp);
	CU_ASSERT_EQUAL(tbs_len, ref.n);
	CU_ASSERT(tbs_len == ref.n && memcmp(tbs, ref.p, ref.n) == 0);
	CU_ASSERT_EQUAL(ca_lint_crl(ref.p, ref.n, ca_ec.name, ca_ec.name_len,
				    &err), 0);
	free(tbs);
}

/* RFC 5280 5.3.2: an entry with an invalidity date carries invalidityDate
 * (2.5.29.24, non-critical, a GeneralizedTime even before 2050) after
 * reasonCode, or alone for unspecified; one without carries none. The
 * encoding is exactly the hand-made one, and passes the lint. */
static void
test_crl_invalidity_date(void)
{
	struct ca_crl_entry ents[3];
	struct ca_tbs_crl c;
	struct crl_parts cp;
	struct mica_err err;
	unsigned char *tbs = NULL, *der = NULL, s16[16];
	size_t tbs_len, der_len;
	int64_t r1 = now - 100, inv0 = INT64_C(1796119200), inv1 = now - 86400;
	mbedtls_x509_crl crl;
	blob ref;

	arena_used = 0;
	memset(s16, 0xa5, sizeof(s16));
	/* 2026-12-01T10:00:00Z, before R1 as the tests run after it. */
	if (inv0 > r1)
		inv0 = r1 - 3600;
	set_entry(&ents[0], SERIAL_EE, sizeof(SERIAL_EE), 1, r1);
	ents[0].invalid_at = inv0;
	set_entry(&ents[1], s16, 16, 0, r1);
	ents[1].invalid_at = inv1;
	set_entry(&ents[2], (const unsigned char *)"\x07", 1, 4, r1);
	crl_template(&c, &ca_ec, ents, 3);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), 0);
	crl_parts_default(&cp, c.this_update, c.next_update, r1);
	cp.revoked = SEQ(
		SEQ(tlv(0x02, B(SERIAL_EE, sizeof(SERIAL_EE))), time_blob(r1, 0),
		    SEQ(ext_blob(OIDB(0x55, 0x1d, 0x15), 0,
				 LIT(0x0a, 0x01, 0x01)),
			invalid_ext(0, time_blob(inv0, 1)))),
		SEQ(tlv(0x02, CAT(LIT(0x00), B(s16, 16))), time_blob(r1, 0),
		    SEQ(invalid_ext(0, time_blob(inv1, 1)))),
		SEQ(LIT(0x02, 0x01, 0x07), time_blob(r1, 0),
		    reason_ext(0, LIT(0x0a, 0x01, 0x04))));
	ref = crl_parts_build(&cp);
	CU_ASSERT_EQUAL(tbs_len, ref.n);
	CU_ASSERT(tbs_len == ref.n && memcmp(tbs, ref.p, ref.n) == 0);
	CU_ASSERT_EQUAL(ca_lint_crl(tbs, tbs_len, ca_ec.name, ca_ec.name_len,
				    &err), 0);
	/* mbedTLS takes it (entry extensions are its raw buffer). */
	CU_ASSERT_EQUAL_FATAL(sign_wrap(ca_ec.k, tbs, tbs_len, &der, &der_len),
			      0);
	mbedtls_x509_crl_init(&crl);
	CU_ASSERT_EQUAL(mbedtls_x509_crl_parse_der(&crl, der, der_len), 0);
	mbedtls_x509_crl_free(&crl);
	free(der);
	free(tbs);
	tbs = NULL;

	/* The encoder refuses a date after the revocation, before 1970, or
	 * beside a hold: no CRL of mica's says one. */
	ents[0].invalid_at = r1 + 1;
	CU_ASSERT_EQUAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "invalidity date"));
	ents[0].invalid_at = -5;
	CU_ASSERT_EQUAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), -1);
	ents[0].invalid_at = inv0;
	ents[0].reason = 6;
	CU_ASSERT_EQUAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), -1);
	CU_ASSERT_PTR_NULL(tbs);
}

/* ca_crl_foreach_entry's word on an entry's invalidityDate, which mica
 * revoke --from-crl and mica restore --crl judge by: the time of one as
 * mica writes it, 0 for none, -1 for any other (critical, a UTCTime, two
 * of them). */
struct invalid_seen {
	int64_t v[8];
	size_t n;
};

static int
invalid_seen_cb(void *ctx, const unsigned char *serial, size_t serial_len,
		int64_t revoked_at, int reason, int64_t invalid_at)
{
	struct invalid_seen *s = ctx;

	(void)serial;
	(void)serial_len;
	(void)revoked_at;
	(void)reason;
	if (s->n < sizeof(s->v) / sizeof(s->v[0]))
		s->v[s->n++] = invalid_at;
	return 0;
}

static void
test_crl_entry_invalidity_read(void)
{
	struct crl_parts cp;
	struct ca_crl_info info;
	struct invalid_seen seen;
	struct mica_err err;
	unsigned char *der = NULL;
	size_t der_len;
	int64_t r1 = now - 100, inv = now - 86400;
	blob tbs;

	arena_used = 0;
	crl_parts_default(&cp, now - 60, now + 86400, r1);
	cp.revoked = SEQ(
		SEQ(LIT(0x02, 0x01, 0x01), time_blob(r1, 0),
		    SEQ(invalid_ext(0, time_blob(inv, 1)))),
		SEQ(LIT(0x02, 0x01, 0x02), time_blob(r1, 0)),
		SEQ(LIT(0x02, 0x01, 0x03), time_blob(r1, 0),
		    SEQ(invalid_ext(1, time_blob(inv, 1)))),
		SEQ(LIT(0x02, 0x01, 0x04), time_blob(r1, 0),
		    SEQ(invalid_ext(0, time_blob(inv, 0)))),
		SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
		    SEQ(invalid_ext(0, time_blob(inv, 1)),
			invalid_ext(0, time_blob(inv, 1)))));
	tbs = crl_parts_build(&cp);
	CU_ASSERT_EQUAL_FATAL(sign_wrap(ca_ec.k, tbs.p, tbs.n, &der, &der_len),
			      0);
	memset(&seen, 0, sizeof(seen));
	CU_ASSERT_EQUAL_FATAL(ca_crl_info_read(der, der_len, &info, &err), 0);
	CU_ASSERT_EQUAL(ca_crl_foreach_entry(&info, invalid_seen_cb, &seen,
					     &err), 0);
	CU_ASSERT_EQUAL_FATAL(seen.n, 5);
	CU_ASSERT_EQUAL(seen.v[0], inv);    /* as mica writes it */
	CU_ASSERT_EQUAL(seen.v[1], 0);      /* none */
	CU_ASSERT_EQUAL(seen.v[2], -1);     /* critical */
	CU_ASSERT_EQUAL(seen.v[3], -1);     /* a UTCTime */
	CU_ASSERT_EQUAL(seen.v[4], -1);     /* two */
	free(der);
}

static const struct lint_case crl_cases[] = {
	{ "version v1", "version not v2" },
	{ "version absent", "version not v2" },
	{ "empty revokedCertificates SEQUENCE", "empty revokedCertificates" },
	{ "reasonCode unspecified present", "reasonCode unspecified present" },
	{ "reasonCode 7", "reasonCode invalid" },
	{ "reasonCode 11", "reasonCode invalid" },
	{ "reasonCode critical", "reasonCode critical" },
	{ "reasonCode as INTEGER", "malformed reasonCode" },
	{ "missing cRLNumber", "cRLNumber missing" },
	{ "missing AKI", "authorityKeyIdentifier missing" },
	{ "no crlExtensions", "crlExtensions missing" },
	{ "negative cRLNumber", "malformed cRLNumber" },
	{ "21-octet cRLNumber", "cRLNumber longer than 20 octets" },
	{ "cRLNumber critical", "cRLNumber critical" },
	{ "duplicate cRLNumber", "duplicate extension" },
	{ "deltaCRLIndicator completing itself", "BaseCRLNumber not below" },
	{ "trailing garbage after the TBS", "trailing data after TBSCertList" },
	{ "issuer mismatch", "issuer mismatch" },
	{ "thisUpdate equal to nextUpdate", "thisUpdate not before" },
	{ "nextUpdate missing", "nextUpdate missing" },
	{ "negative revoked serial", "revoked serial not positive" },
	{ "21-octet revoked serial", "revoked serial longer than 20" },
	{ "non-minimal revoked serial", "revoked serial not minimally" },
	{ "GeneralizedTime for 2030", "GeneralizedTime used" },
	{ "invalidityDate as UTCTime", "invalidityDate not a GeneralizedTime" },
	{ "empty crlEntryExtensions", "empty crlEntryExtensions" },
	{ "unknown signature algorithm", "signature algorithm unknown" },
	{ "data after crlExtensions", "data after crlExtensions" },
	{ "revocationDate malformed", "malformed revocationDate" },
	{ "AKI critical", "authorityKeyIdentifier critical" },
	{ "reasonCode 8 (removeFromCRL, delta CRLs only)", "reasonCode invalid" },
	{ "invalidityDate critical", "invalidityDate critical" },
	{ "invalidityDate after the revocationDate", "invalidityDate after" },
	{ "invalidityDate beside certificateHold", "beside certificateHold" },
	{ "invalidityDate twice", "duplicate CRL entry extension" },
	{ "invalidityDate with a fraction", "malformed invalidityDate" },
	{ "holdInstructionCode entry extension", "unknown CRL entry extension" },
	{ "invalidityDate with data after the time", "malformed invalidityDate" },
};


static void
crl_mutate(size_t i, struct crl_parts *c, int64_t r1)
{
	unsigned char s21[21];

	memset(s21, 0x42, sizeof(s21));
	switch (i) {
	case 0: c->version = LIT(0x02, 0x01, 0x00); break;
	case 1: c->version = EMPTY; break;
	case 2: c->revoked = SEQ(EMPTY); break;
	case 3:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
				     reason_ext(0, LIT(0x0a, 0x01, 0x00))));
		break;
	case 4:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
				     reason_ext(0, LIT(0x0a, 0x01, 0x07))));
		break;
	case 5:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
				     reason_ext(0, LIT(0x0a, 0x01, 0x0b))));
		break;
	case 6:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
				     reason_ext(1, LIT(0x0a, 0x01, 0x01))));
		break;
	case 7:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
				     reason_ext(0, LIT(0x02, 0x01, 0x01))));
		break;
	case 8: c->exts = tlv(0xa0, SEQ(crl_aki(0))); break;
	case 9:
		c->exts = tlv(0xa0, SEQ(crl_num(0, LIT(0x02, 0x01, 0x2a))));
		break;
	case 10: c->exts = EMPTY; break;
	case 11:
		c->exts = crl_exts(crl_aki(0), crl_num(0, LIT(0x02, 0x01,
							      0xff)));
		break;
	case 12:
		c->exts = crl_exts(crl_aki(0), crl_num(0, tlv(0x02,
							      B(s21, 21))));
		break;
	case 13:
		c->exts = crl_exts(crl_aki(0), crl_num(1, LIT(0x02, 0x01,
							      0x2a)));
		break;
	case 14:
		c->exts = tlv(0xa0, SEQ(crl_aki(0),
					crl_num(0, LIT(0x02, 0x01, 0x2a)),
					crl_num(0, LIT(0x02, 0x01, 0x2b))));
		break;
	case 15:
		c->exts = tlv(0xa0, SEQ(crl_aki(0),
					crl_num(0, LIT(0x02, 0x01, 0x2a)),
					ext_blob(OIDB(0x55, 0x1d, 0x1b), 1,
						 LIT(0x02, 0x01, 0x2a))));
		break;
	case 16: c->trailer = LIT(0x00); break;
	case 17: c->issuer = name_blob("Contoso EC Root", "Fabrikam"); break;
	case 18: c->next_up = c->this_up; break;
	case 19: c->next_up = EMPTY; break;
	case 20:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0xfe), time_blob(r1, 0)));
		break;
	case 21:
		c->revoked = SEQ(SEQ(tlv(0x02, B(s21, 21)), time_blob(r1, 0)));
		break;
	case 22:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x02, 0x00, 0x05),
				     time_blob(r1, 0)));
		break;
	case 23: c->next_up = tlv(0x18, STR("20300101000000Z")); break;
	case 24:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
			SEQ(invalid_ext(0, time_blob(r1, 0)))));
		break;
	case 25:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
				     SEQ(EMPTY)));
		break;
	case 26:
		c->alg = LIT(0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
			     0x3d, 0x04, 0x03, 0x01);
		break;
	case 27: c->exts = CAT(c->exts, LIT(0x05, 0x00)); break;
	case 28:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05),
				     tlv(0x17, STR("2001010000Z"))));
		break;
	case 29:
		c->exts = crl_exts(crl_aki(1), crl_num(0, LIT(0x02, 0x01,
							      0x2a)));
		break;
	case 30:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
				     reason_ext(0, LIT(0x0a, 0x01, 0x08))));
		break;
	case 31:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
			SEQ(invalid_ext(1, time_blob(r1 - 60, 1)))));
		break;
	case 32:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
			SEQ(invalid_ext(0, time_blob(r1 + 1, 1)))));
		break;
	case 33:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
			SEQ(invalid_ext(0, time_blob(r1 - 60, 1)),
			    ext_blob(OIDB(0x55, 0x1d, 0x15), 0,
				     LIT(0x0a, 0x01, 0x06)))));
		break;
	case 34:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
			SEQ(invalid_ext(0, time_blob(r1 - 60, 1)),
			    invalid_ext(0, time_blob(r1 - 60, 1)))));
		break;
	case 35:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
			SEQ(invalid_ext(0, tlv(0x18, STR("20200101000000.5Z"))))));
		break;
	case 36:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
			SEQ(ext_blob(OIDB(0x55, 0x1d, 0x17), 0,
				     OIDB(0x2a, 0x86, 0x48, 0xce, 0x38, 0x02,
					  0x01)))));
		break;
	case 37:
		c->revoked = SEQ(SEQ(LIT(0x02, 0x01, 0x05), time_blob(r1, 0),
			SEQ(invalid_ext(0, CAT(time_blob(r1 - 60, 1),
					       LIT(0x05, 0x00))))));
		break;
	}
}

static void
test_lint_crl_cases(void)
{
	struct crl_parts cp;
	struct mica_err err;
	int64_t tu = now - 60, nu = now + 86400, r1 = now - 100;
	size_t i, k;
	blob b;

	arena_used = 0;
	crl_parts_default(&cp, tu, nu, r1);
	b = crl_parts_build(&cp);
	CU_ASSERT_EQUAL(ca_lint_crl(b.p, b.n, ca_ec.name, ca_ec.name_len,
				    &err), 0);
	for (i = 0; i < sizeof(crl_cases) / sizeof(crl_cases[0]); i++) {
		unsigned char *copy;
		int rc;

		arena_used = 0;
		crl_parts_default(&cp, tu, nu, r1);
		crl_mutate(i, &cp, r1);
		b = crl_parts_build(&cp);
		copy = malloc(b.n);
		memcpy(copy, b.p, b.n);
		mica_err_clear(&err);
		rc = ca_lint_crl(copy, b.n, ca_ec.name, ca_ec.name_len, &err);
		if (rc != -1 || strstr(err.msg, crl_cases[i].expect) == NULL)
			fprintf(stderr, "\n  crl case %zu (%s): rc %d, '%s'\n",
				i, crl_cases[i].what, rc, err.msg);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_STRING_EQUAL(err.code, "lint_failed");
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, crl_cases[i].expect));
		free(copy);
	}
	/* every prefix of a good CRL fails */
	arena_used = 0;
	crl_parts_default(&cp, tu, nu, r1);
	b = crl_parts_build(&cp);
	for (k = 0; k < b.n; k++) {
		unsigned char *copy = malloc(k ? k : 1);

		memcpy(copy, b.p, k);
		CU_ASSERT_EQUAL(ca_lint_crl(copy, k, ca_ec.name,
					    ca_ec.name_len, &err), -1);
		free(copy);
	}
	for (k = 0; k < b.n; k++) {
		unsigned char *copy = malloc(b.n);

		memcpy(copy, b.p, b.n);
		copy[k] ^= 0x81;
		(void)ca_lint_crl(copy, b.n, ca_ec.name, ca_ec.name_len, &err);
		free(copy);
	}
	CU_ASSERT_EQUAL(ca_lint_crl(NULL, 0, ca_ec.name, ca_ec.name_len,
				    &err), -1);
}

static double
elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static void
test_crl_million(void)
{
	enum { N = 1000000 };
	static const int reasons[] = { 0, 1, 4, 5, 3 };
	struct ca_crl_entry *ents;
	struct ca_tbs_crl c;
	struct mica_err err;
	unsigned char *tbs = NULL;
	size_t tbs_len, i, expect_entries = 0;
	struct timespec t0, t1, t2;

	ents = calloc(N, sizeof(*ents));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ents);
	for (i = 0; i < N; i++) {
		uint64_t v = 0x0123456789abcdefULL + i * 0x9e3779b97f4a7c15ULL;
		size_t k, content;

		for (k = 0; k < 16; k++)
			ents[i].serial[k] = (unsigned char)(v >> (8 * (k % 8)) ^
							    k);
		ents[i].serial[0] = (unsigned char)(0x40 + (i & 0x7f)) | 0x01;
		ents[i].serial_len = 16;
		ents[i].reason = (signed char)reasons[i % 5];
		ents[i].revoked_at = now - (int64_t)(i % 86400);
		/* 02 len [00] <16> + UTCTime 15 + reason 14 */
		content = 18 + (ents[i].serial[0] >> 7) + 15 +
			  (ents[i].reason ? 14 : 0);
		expect_entries += 2 + content;
	}
	crl_template(&c, &ca_ec, ents, N);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CU_ASSERT_EQUAL(ca_lint_crl(tbs, tbs_len, ca_ec.name, ca_ec.name_len,
				    &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	CU_ASSERT(tbs_len > expect_entries);
	CU_ASSERT(tbs_len < expect_entries + 512);
	printf("\n    [info] CRL of %d entries: %zu octets, encoded in %.0f ms,"
	       " linted in %.0f ms ", N, tbs_len, elapsed_ms(&t0, &t1),
	       elapsed_ms(&t1, &t2));
	free(tbs);
	free(ents);
}

/* ------------------------------------------------------------------ */
/* Wrapper and PEM                                                     */
/* ------------------------------------------------------------------ */

static void
test_wrap(void)
{
	static const unsigned char tbs[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	static const unsigned char sig[] = { 0xde, 0xad, 0xbe, 0xef };
	static const unsigned char want[] = {
		0x30, 0x18, 0x30, 0x03, 0x02, 0x01, 0x01,
		0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04,
		0x03, 0x02,
		0x03, 0x05, 0x00, 0xde, 0xad, 0xbe, 0xef,
	};
	unsigned char *out = NULL, big_sig[300], *big_tbs;
	size_t len;
	struct mica_err err;

	CU_ASSERT_EQUAL_FATAL(ca_x509_wrap(tbs, sizeof(tbs), ALG_ECDSA_SHA256,
					   sizeof(ALG_ECDSA_SHA256), sig,
					   sizeof(sig), &out, &len, &err), 0);
	CU_ASSERT_EQUAL(len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(out, want, sizeof(want)), 0);
	free(out);
	/* long forms: a 300-octet signature and a 70000-octet TBS
	 * (30 83 01 11 70 <70000 octets>) */
	memset(big_sig, 0x77, sizeof(big_sig));
	big_tbs = calloc(1, 70005);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big_tbs);
	big_tbs[0] = 0x30;
	big_tbs[1] = 0x83;
	big_tbs[2] = 0x01;
	big_tbs[3] = 0x11;
	big_tbs[4] = 0x70;
	/* one octet short: the TBS length runs past the input */
	CU_ASSERT_EQUAL(ca_x509_wrap(big_tbs, 70004, ALG_RSA_SHA256,
				     sizeof(ALG_RSA_SHA256), big_sig,
				     sizeof(big_sig), &out, &len, &err), -1);
	CU_ASSERT_EQUAL_FATAL(ca_x509_wrap(big_tbs, 70005, ALG_RSA_SHA256,
					   sizeof(ALG_RSA_SHA256), big_sig,
					   sizeof(big_sig), &out, &len, &err),
			      0);
	{
		unsigned char *p = out, *end = out + len;
		size_t l;

		CU_ASSERT_EQUAL(mbedtls_asn1_get_tag(&p, end, &l, 0x30), 0);
		CU_ASSERT_EQUAL(p + l, end);
		p += 70005 + sizeof(ALG_RSA_SHA256);
		CU_ASSERT_EQUAL(mbedtls_asn1_get_tag(&p, end, &l, 0x03), 0);
		CU_ASSERT_EQUAL(l, 301);
		CU_ASSERT_EQUAL(p[0], 0x00);
		CU_ASSERT_EQUAL(p + l, end);
	}
	free(out);
	free(big_tbs);
	out = NULL;
	/* refusals */
	CU_ASSERT_EQUAL(ca_x509_wrap((const unsigned char *)"\x31\x00", 2,
				     ALG_ECDSA_SHA256,
				     sizeof(ALG_ECDSA_SHA256), sig,
				     sizeof(sig), &out, &len, &err), -1);
	CU_ASSERT_EQUAL(ca_x509_wrap((const unsigned char *)"\x30\x00\x00", 3,
				     ALG_ECDSA_SHA256,
				     sizeof(ALG_ECDSA_SHA256), sig,
				     sizeof(sig), &out, &len, &err), -1);
	CU_ASSERT_EQUAL(ca_x509_wrap(tbs, sizeof(tbs), ALG_ECDSA_SHA256,
				     sizeof(ALG_ECDSA_SHA256) - 1, sig,
				     sizeof(sig), &out, &len, &err), -1);
	CU_ASSERT_EQUAL(ca_x509_wrap(tbs, sizeof(tbs), ALG_ECDSA_SHA256,
				     sizeof(ALG_ECDSA_SHA256), sig, 0, &out,
				     &len, &err), -1);
	CU_ASSERT_EQUAL(ca_x509_wrap(tbs, sizeof(tbs), ALG_ECDSA_SHA256,
				     sizeof(ALG_ECDSA_SHA256), NULL, 4, &out,
				     &len, &err), -1);
	CU_ASSERT_PTR_NULL(out);
}

static void
test_pem(void)
{
	unsigned char der[1000], back[1000];
	char *pem = NULL, *line, *save = NULL, b64[2000];
	struct mica_err err;
	size_t i, n, b64_len = 0, olen;
	int lines = 0;

	CU_ASSERT_EQUAL_FATAL(ca_pem_encode("TEST", (const unsigned char *)
					    "abc", 3, &pem, &err), 0);
	CU_ASSERT_STRING_EQUAL(pem, "-----BEGIN TEST-----\nYWJj\n"
			       "-----END TEST-----\n");
	free(pem);
	/* exactly 48 octets: one full line */
	memset(der, 'x', 48);
	CU_ASSERT_EQUAL_FATAL(ca_pem_encode("X509 CRL", der, 48, &pem, &err), 0);
	CU_ASSERT_EQUAL(strlen(pem), strlen("-----BEGIN X509 CRL-----\n") + 65 +
			strlen("-----END X509 CRL-----\n"));
	free(pem);
	for (i = 0; i < sizeof(der); i++)
		der[i] = (unsigned char)(i * 7 + 3);
	for (n = 1; n <= sizeof(der); n += 37) {
		CU_ASSERT_EQUAL_FATAL(ca_pem_encode("CERTIFICATE", der, n, &pem,
						    &err), 0);
		lines = 0;
		b64_len = 0;
		for (line = strtok_r(pem, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			if (line[0] == '-')
				continue;
			CU_ASSERT(strlen(line) <= 64);
			memcpy(b64 + b64_len, line, strlen(line));
			b64_len += strlen(line);
			lines++;
		}
		CU_ASSERT_EQUAL(lines, (int)((n + 47) / 48));
		CU_ASSERT_EQUAL(mbedtls_base64_decode(back, sizeof(back), &olen,
						      (unsigned char *)b64,
						      b64_len), 0);
		CU_ASSERT_EQUAL(olen, n);
		CU_ASSERT_EQUAL(memcmp(back, der, n), 0);
		/* The in-place form: exactly ca_pem_size() bytes, the same
		 * text; any other buffer size is refused. */
		{
			size_t sz = ca_pem_size("CERTIFICATE", n);
			char *buf = malloc(sz + 1);

			CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
			free(pem);  /* strtok_r cut it into lines */
			CU_ASSERT_EQUAL_FATAL(ca_pem_encode("CERTIFICATE", der, n, &pem, &err), 0);
			CU_ASSERT_EQUAL(sz, strlen(pem) + 1);
			CU_ASSERT_EQUAL(ca_pem_encode_buf("CERTIFICATE", der, n, buf, sz, &err), 0);
			CU_ASSERT_STRING_EQUAL(buf, pem);
			CU_ASSERT_EQUAL(ca_pem_encode_buf("CERTIFICATE", der, n, buf, sz + 1, &err), -1);
			CU_ASSERT_EQUAL(ca_pem_encode_buf("CERTIFICATE", der, n, buf, sz - 1, &err), -1);
			free(buf);
		}
		free(pem);
	}
	CU_ASSERT_EQUAL(ca_pem_size("lower", 10), 0);
	CU_ASSERT_EQUAL(ca_pem_size("CERTIFICATE", 0), 0);
	/* refusals */
	pem = NULL;
	CU_ASSERT_EQUAL(ca_pem_encode("lower", der, 10, &pem, &err), -1);
	CU_ASSERT_EQUAL(ca_pem_encode("", der, 10, &pem, &err), -1);
	CU_ASSERT_EQUAL(ca_pem_encode("A-B", der, 10, &pem, &err), -1);
	CU_ASSERT_EQUAL(ca_pem_encode(NULL, der, 10, &pem, &err), -1);
	CU_ASSERT_EQUAL(ca_pem_encode("X\nY", der, 10, &pem, &err), -1);
	CU_ASSERT_EQUAL(ca_pem_encode("CERTIFICATE", der, 0, &pem, &err), -1);
	CU_ASSERT_PTR_NULL(pem);
}

static void
test_lint_fault(void)
{
#ifdef MICA_FAULT_INJECTION
	struct ca_tbs_crl c;
	struct mica_err err;
	unsigned char *tbs = NULL;
	size_t tbs_len;

	crl_template(&c, &ca_ec, NULL, 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), 0);
	setenv("MICA_FAULT", "lint:2", 1);
	mica_fault_reset();
	CU_ASSERT_EQUAL(ca_lint_crl(tbs, tbs_len, ca_ec.name, ca_ec.name_len,
				    &err), 0);
	CU_ASSERT_EQUAL(ca_lint_crl(tbs, tbs_len, ca_ec.name, ca_ec.name_len,
				    &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "lint_failed");
	CU_ASSERT_STRING_EQUAL(err.msg, "lint: fault injected");
	CU_ASSERT_EQUAL(ca_lint_crl(tbs, tbs_len, ca_ec.name, ca_ec.name_len,
				    &err), 0);
	setenv("MICA_FAULT", "lint:0", 1);
	mica_fault_reset();
	CU_ASSERT_EQUAL(ca_lint_cert(tbs, tbs_len, NULL, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.msg, "lint: fault injected");
	unsetenv("MICA_FAULT");
	mica_fault_reset();
	CU_ASSERT_EQUAL(ca_lint_crl(tbs, tbs_len, ca_ec.name, ca_ec.name_len,
				    &err), 0);
	free(tbs);
#else
	skip("built without --enable-fault-injection");
#endif
}

#define GUARD 0xa5

/* Do BUF[FROM..TO) all still hold the guard byte? */
static int
untouched(const unsigned char *buf, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (buf[i] != GUARD)
			return 0;
	return 1;
}

static void
test_writer_bounds(void)
{
	unsigned char buf[32];
	struct ca_der_w w;
	struct mica_err err;

	/* A header for 300 octets needs 4; with room for 3 nothing of it is
	 * written, not even the octets that would fit. */
	memset(buf, GUARD, sizeof(buf));
	ca_der_w_init(&w, buf, 3);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, 300);
	CU_ASSERT(w.failed);
	CU_ASSERT(untouched(buf, 0, sizeof(buf)));
	CU_ASSERT_EQUAL(ca_der_w_done(&w, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_INTERNAL);
	CU_ASSERT_STRING_EQUAL(err.code, "encode_failed");

	/* The header fits; three octets into the one left do not, and a
	 * later one-octet put, which would fit, writes nothing either. */
	memset(buf, GUARD, sizeof(buf));
	ca_der_w_init(&w, buf, 5);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, 300);
	CU_ASSERT_EQUAL(memcmp(buf, "\x30\x82\x01\x2c", 4), 0);
	CU_ASSERT(!w.failed);
	ca_der_w_raw(&w, "abc", 3);
	ca_der_w_byte(&w, 0x01);
	CU_ASSERT(w.failed);
	CU_ASSERT(untouched(buf, 4, sizeof(buf)));
	CU_ASSERT_EQUAL(ca_der_w_done(&w, &err), -1);

	/* A Time element is written whole or not at all: UTCTime (15) into
	 * 14 octets, GeneralizedTime (17) into 16. */
	memset(buf, GUARD, sizeof(buf));
	ca_der_w_init(&w, buf, 14);
	ca_der_w_time(&w, INT64_C(1700000000));
	CU_ASSERT(untouched(buf, 0, sizeof(buf)));
	CU_ASSERT_EQUAL(ca_der_w_done(&w, &err), -1);
	ca_der_w_init(&w, buf, 16);
	ca_der_w_time(&w, INT64_C(2556144000));
	CU_ASSERT(untouched(buf, 0, sizeof(buf)));
	CU_ASSERT_EQUAL(ca_der_w_done(&w, &err), -1);

	/* Exactly full is done; the guard after it holds. */
	ca_der_w_init(&w, buf, 17);
	ca_der_w_time(&w, INT64_C(2556144000));
	CU_ASSERT_EQUAL(ca_der_w_done(&w, &err), 0);
	CU_ASSERT_EQUAL(memcmp(buf, "\x18\x0f" "20510101000000Z", 17), 0);
	CU_ASSERT(untouched(buf, 17, sizeof(buf)));

	/* Short of full is a size mistake too (the passes disagree). */
	ca_der_w_init(&w, buf, 16);
	ca_der_w_time(&w, INT64_C(1700000000));
	CU_ASSERT(!w.failed);
	CU_ASSERT_EQUAL(ca_der_w_done(&w, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "encode_failed");

	/* No buffer at all: nothing fits but nothing. */
	ca_der_w_init(&w, NULL, 0);
	ca_der_w_raw(&w, NULL, 0);
	CU_ASSERT_EQUAL(ca_der_w_done(&w, &err), 0);
	ca_der_w_byte(&w, 1);
	CU_ASSERT_EQUAL(ca_der_w_done(&w, &err), -1);
}

static void
test_pem_buffer_bounds(void)
{
	static const char label[] = "CERTIFICATE";
	unsigned char der[100], *buf;
	struct mica_err err;
	size_t total;

	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (unsigned char)i;
	total = ca_pem_size(label, sizeof(der));
	CU_ASSERT_FATAL(total > 0);
	buf = malloc(total + 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);

	/* One octet short or over: refused before a byte is written. */
	memset(buf, GUARD, total + 16);
	CU_ASSERT_EQUAL(ca_pem_encode_buf(label, der, sizeof(der), (char *)buf,
					  total - 1, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_argument");
	CU_ASSERT(untouched(buf, 0, total + 16));
	CU_ASSERT_EQUAL(ca_pem_encode_buf(label, der, sizeof(der), (char *)buf,
					  total + 1, &err), -1);
	CU_ASSERT(untouched(buf, 0, total + 16));

	/* The exact size: filled to its NUL, the guard after it holds. */
	CU_ASSERT_EQUAL(ca_pem_encode_buf(label, der, sizeof(der), (char *)buf,
					  total, &err), 0);
	CU_ASSERT_EQUAL(buf[total - 1], '\0');
	CU_ASSERT_EQUAL(strlen((char *)buf), total - 1);
	CU_ASSERT(untouched(buf, total, total + 16));
	free(buf);
}

/* RFC 5280 5.2.4 and 5.2.6: a delta CRL (critical Delta CRL Indicator)
 * and a complete CRL naming its deltas (Freshest CRL) lint clean and say
 * so; a delta of itself or of a later CRL, or a delta naming deltas, is
 * refused by the encoder; the linter refuses a Delta CRL Indicator that is
 * not critical and one in a certificate. */
static void
test_crl_delta_and_freshest(void)
{
	struct ca_crl_entry ent;
	struct ca_tbs_crl c;
	struct ca_crl_facts f;
	struct mica_err err;
	unsigned char *tbs = NULL;
	size_t tbs_len = 0;
	static const unsigned char s1[] = { 0x31, 0x32 };

	set_entry(&ent, s1, sizeof(s1), 1, now - 30);
	crl_template(&c, &ca_ec, &ent, 1);
	c.delta_base = 41;
	c.next_update = now + 3600;
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), 0);
	if (ca_lint_crl_read(tbs, tbs_len, ca_ec.name, ca_ec.name_len, &f,
			     &err) != 0)
		fprintf(stderr, "\n  %s\n", err.msg);
	CU_ASSERT_EQUAL(ca_lint_crl_read(tbs, tbs_len, ca_ec.name,
					 ca_ec.name_len, &f, &err), 0);
	CU_ASSERT_EQUAL(f.delta_base, 41);
	CU_ASSERT_EQUAL(f.number, 42);
	CU_ASSERT_EQUAL(f.freshest, 0);
	/* The indicator's critical flag cleared by hand: refused. */
	for (size_t i = 0; i + 8 < tbs_len; i++)
		if (memcmp(tbs + i, "\x06\x03\x55\x1d\x1b\x01\x01\xff", 8) == 0) {
			tbs[i + 7] = 0x00;
			break;
		}
	CU_ASSERT_EQUAL(ca_lint_crl(tbs, tbs_len, ca_ec.name, ca_ec.name_len,
				    &err), -1);
	free(tbs);
	tbs = NULL;

	crl_template(&c, &ca_ec, NULL, 0);
	c.freshest_url = "http://ca.contoso.test/delta.crl";
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_lint_crl_read(tbs, tbs_len, ca_ec.name,
					 ca_ec.name_len, &f, &err), 0);
	CU_ASSERT_EQUAL(f.delta_base, 0);
	CU_ASSERT_EQUAL(f.freshest, 1);
	free(tbs);
	tbs = NULL;

	crl_template(&c, &ca_ec, NULL, 0);
	c.delta_base = 42;                     /* a delta of itself */
	CU_ASSERT_EQUAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), -1);
	c.delta_base = 43;                     /* of a later CRL */
	CU_ASSERT_EQUAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), -1);
	c.delta_base = 41;
	c.freshest_url = "http://ca.contoso.test/delta.crl";
	CU_ASSERT_EQUAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), -1);
	c.delta_base = -1;
	c.freshest_url = NULL;
	CU_ASSERT_EQUAL(ca_x509_tbs_crl(&c, &tbs, &tbs_len, &err), -1);
	CU_ASSERT_PTR_NULL(tbs);
}

int
main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "DER reader refuses non-minimal, indefinite and overrunning "
		  "lengths", test_der_lengths },
		{ "DER reader checks INTEGER, BOOLEAN, OID and BIT STRING "
		  "encodings", test_der_primitives },
		{ "der: PrintableString's characters and no others",
		  test_der_printable },
		{ "DER reader parses only strict RFC 5280 times",
		  test_der_time_parse },
		{ "time writer picks UTCTime for 1950..2049 and agrees with "
		  "gmtime", test_der_time_write },
		{ "Name is O then CN as UTF8Strings", test_name_encoding },
		{ "Name refuses bad lengths, control characters and bad UTF-8",
		  test_name_refusals },
		{ "key identifier is SHA-1 of the subjectPublicKey bits",
		  test_key_id },
		{ "CA certificates are accepted by mbedTLS and OpenSSL",
		  test_ca_certs_accepted },
		{ "end-entity certificates of every profile are accepted by "
		  "mbedTLS, OpenSSL and GnuTLS", test_certs_accepted },
		{ "encoder output equals DER built by hand",
		  test_cert_matches_handmade },
		{ "a UPN is written as AD CS writes it, and lint refuses any "
		  "other otherName, string type or account", test_upn_san },
		{ "notAfter in 2051 is GeneralizedTime", test_generalized_time_2051 },
		{ "serials get a sign octet and are refused beyond 20 octets",
		  test_serials },
		{ "encoder refuses inconsistent certificate fields",
		  test_cert_refusals },
		{ "lint refuses deliberately broken TBSCertificates",
		  test_lint_cert_cases },
		{ "lint refuses a TBS that does not match the expectation",
		  test_lint_cert_expectations },
		{ "lint fails on every truncation and survives flipped bytes",
		  test_lint_cert_truncation },
		{ "CRL with reasons is accepted by mbedTLS and OpenSSL",
		  test_crl_accepted },
		{ "CRL revokes for OpenSSL and mbedTLS", test_crl_revokes },
		{ "empty CRL has no revokedCertificates", test_crl_empty },
		{ "CRL encoder refuses bad reasons, serials and numbers",
		  test_crl_refusals },
		{ "CRL encoder output equals DER built by hand",
		  test_crl_matches_handmade },
		{ "dates an entry with invalidityDate, a GeneralizedTime, when it has one",
		  test_crl_invalidity_date },
		{ "reads an entry's invalidityDate, and flags one mica would not write",
		  test_crl_entry_invalidity_read },
		{ "lint refuses deliberately broken TBSCertLists",
		  test_lint_crl_cases },
		{ "CRL of 1,000,000 entries encodes and lints",
		  test_crl_million },
		{ "wrap builds SEQUENCE { tbs, alg, BIT STRING }", test_wrap },
		{ "PEM has 64 columns and round-trips", test_pem },
		{ "lint fails when the fault point fires", test_lint_fault },
		{ "delta CRLs and the Freshest CRL: encoded, linted, refused when inconsistent",
		  test_crl_delta_and_freshest },
		{ "DER writer given too small a buffer fails without writing "
		  "past it", test_writer_bounds },
		{ "PEM into a wrong-sized buffer is refused without writing",
		  test_pem_buffer_bounds },
	};
	CU_pSuite suite;
	unsigned failed;
	size_t i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("ca/x509", suite_init, suite_clean);
	if (suite == NULL)
		goto fail;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		 CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	if (failed == 0 && skipped != 0)
		printf("SKIP: %u check(s) could not run here (see above)\n",
		       skipped);
	return failed != 0 ? 1 : skipped != 0 ? 77 : 0;
fail:
	CU_cleanup_registry();
	return 1;
}

/*
 * fuzz/fuzz_der.c - the linters ca_lint_cert and ca_lint_crl (ca/x509.h)
 * on arbitrary bytes.
 *
 * The linters are the last gate before a signature: they parse a TBS with
 * their own fail-closed DER cursor (ca/der.c), independently of the
 * encoder. Every input is linted four ways:
 *  1. as a TBSCertificate against fixed expectations (the leaf the harness
 *     builds at start-up with ca_x509_tbs_cert: issuer "Mica Fuzz CA",
 *     server names, keyUsage, EKU, AKI);
 *  2. as a TBSCertList against the same issuer;
 *  3. as a TBSCertificate against expectations read from the input itself
 *     by mbedTLS (the input wrapped with a dummy signature and parsed by
 *     mbedtls_x509_crt_parse_der: issuer, cA, keyUsage, EKU, SAN, AKI), so
 *     that mutations of real certificates get past the "issuer equal",
 *     "SAN equal" rules and exercise every later one;
 *  4. as a TBSCertList against the issuer mbedTLS reads from it.
 * Beyond "no crash, no leak, no UB" and the error convention: whatever a
 * linter accepts in 1 and 2 must be accepted by mbedTLS, an independent
 * relying party, once wrapped (a certificate whose public key mbedTLS
 * cannot load is tolerated: the linter checks the SubjectPublicKeyInfo's
 * structure, the key itself comes re-encoded from the CSR parser).
 *
 * Set MICA_FUZZ_SEED_DIR to make the harness write its leaf and CRL TBS
 * there at start-up (fuzz/make-corpus uses it).
 */
#include "fuzz/fuzz.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#if defined(MBEDTLS_USE_PSA_CRYPTO)
#include <psa/crypto.h>
#endif

#include "ca/cacert.h"
#include "ca/der.h"
#include "ca/keys.h"
#include "ca/names.h"
#include "ca/profile.h"
#include "ca/x509.h"

static unsigned char *issuer;
static size_t issuer_len;
static struct ca_name leaf_names[3];
static struct ca_lint_cert_expect fixed;
static const unsigned char fixed_aki[20] = {
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
	0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05,
};
static const unsigned char dummy_sig[] = {
	0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01,
};

static void
write_seed(const char *dir, const char *name, const unsigned char *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		fuzz_fail("cannot write %s", path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const names[] = { "www.contoso.test", "10.0.0.1", "2001:db8::1" };
	struct mica_err err;
	struct ca_key *key = NULL;
	struct ca_tbs_cert t;
	struct ca_tbs_crl cl;
	struct ca_crl_entry ent[2];
	static const unsigned char serial[] = { 0x5f, 0x1c, 0x0b, 0xad, 0xc0, 0xde };
	unsigned char *spki = NULL, *subject = NULL, *tbs = NULL, *crl = NULL;
	size_t spki_len, subject_len, tbs_len, crl_len, alg_len;
	const char *dir = getenv("MICA_FUZZ_SEED_DIR");

#if defined(MBEDTLS_USE_PSA_CRYPTO)
	if (psa_crypto_init() != PSA_SUCCESS)
		fuzz_fail("psa_crypto_init");
#endif
	for (size_t i = 0; i < 3; i++)
		if (ca_name_parse(names[i], 0, &leaf_names[i], &err) != 0)
			fuzz_fail("harness name: %s", err.msg);
	if (ca_x509_name("Mica Fuzz CA", "Mica", &issuer, &issuer_len, &err) != 0 ||
	    ca_x509_name("www.contoso.test", NULL, &subject, &subject_len, &err) != 0 ||
	    ca_key_generate(CA_KEY_EC_P256, &key, &err) != 0 ||
	    ca_key_spki(key, &spki, &spki_len, &err) != 0)
		fuzz_fail("harness set-up: %s", err.msg);

	fixed.issuer = issuer;
	fixed.issuer_len = issuer_len;
	fixed.issuer_not_before = CA_DER_TIME_MIN;
	fixed.issuer_not_after = CA_DER_TIME_LAST;
	fixed.is_ca = 0;
	fixed.key_usage = CA_KU_DIGITAL_SIGNATURE;
	fixed.eku = CA_EKU_SERVER_AUTH;
	fixed.names = leaf_names;
	fixed.nnames = 3;
	fixed.aki = fixed_aki;

	/* The leaf those expectations describe: a seed that reaches every
	 * rule, and a check that encoder and linter agree. */
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = ca_key_sig_alg(key, &alg_len);
	t.sig_alg_len = alg_len;
	t.issuer = issuer;
	t.issuer_len = issuer_len;
	t.subject = subject;
	t.subject_len = subject_len;
	t.not_before = INT64_C(1767225300);     /* 2025-12-31T23:55:00Z */
	t.not_after = INT64_C(2556143999);      /* 2050-12-31T23:59:59Z */
	t.spki = spki;
	t.spki_len = spki_len;
	t.path_len = -1;
	t.key_usage = fixed.key_usage;
	t.eku = fixed.eku;
	t.names = leaf_names;
	t.nnames = 3;
	if (ca_x509_key_id(spki, spki_len, t.ski, &err) != 0)
		fuzz_fail("harness key id: %s", err.msg);
	t.has_aki = 1;
	memcpy(t.aki, fixed_aki, 20);
	t.crl_url = "http://ca.contoso.test/crl";
	t.aia_url = "http://ca.contoso.test/ca.crt";
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err) != 0)
		fuzz_fail("harness leaf: %s", err.msg);
	if (ca_lint_cert(tbs, tbs_len, &fixed, &err) != 0)
		fuzz_fail("the linter refuses the harness's own leaf: %s", err.msg);

	memset(&cl, 0, sizeof(cl));
	memset(ent, 0, sizeof(ent));
	memcpy(ent[0].serial, serial, sizeof(serial));
	ent[0].serial_len = sizeof(serial);
	ent[0].reason = 1;
	ent[0].revoked_at = INT64_C(1767225600);
	ent[1].serial[0] = 0x80;                /* needs a sign octet */
	ent[1].serial_len = 1;
	ent[1].revoked_at = INT64_C(2556144000); /* 2051: GeneralizedTime */
	cl.sig_alg = t.sig_alg;
	cl.sig_alg_len = t.sig_alg_len;
	cl.issuer = issuer;
	cl.issuer_len = issuer_len;
	cl.this_update = INT64_C(1767225600);
	cl.next_update = INT64_C(1767830400);
	cl.crl_number = 42;
	memcpy(cl.aki, fixed_aki, 20);
	cl.entries = ent;
	cl.nentries = 2;
	if (ca_x509_tbs_crl(&cl, &crl, &crl_len, &err) != 0 ||
	    ca_lint_crl(crl, crl_len, issuer, issuer_len, &err) != 0)
		fuzz_fail("harness CRL: %s", err.msg);

	if (dir != NULL) {
		write_seed(dir, "harness-leaf-tbs.der", tbs, tbs_len);
		write_seed(dir, "harness-crl-tbs.der", crl, crl_len);
	}
	free(crl);
	free(tbs);
	free(spki);
	free(subject);
	ca_key_free(key);
	return 0;
}

/* The signature AlgorithmIdentifier inside a TBS (certificate: after the
 * optional [0] version and the serial; CRL: after the optional version). */
static int
tbs_alg(const uint8_t *data, size_t size, int is_crl, const unsigned char **alg,
	size_t *alg_len)
{
	struct ca_der_cur top, c;
	struct ca_der_tlv skip;
	struct mica_err err;

	ca_der_init(&top, data, size);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, &err) != 0)
		return -1;
	if (!is_crl) {
		if (ca_der_peek(&c, CA_DER_CTX_CONS(0)) && ca_der_get_any(&c, &skip, &err) != 0)
			return -1;
		if (ca_der_get_any(&c, &skip, &err) != 0)     /* serialNumber */
			return -1;
	} else if (ca_der_peek(&c, CA_DER_INTEGER) && ca_der_get_any(&c, &skip, &err) != 0) {
		return -1;
	}
	return ca_der_get_elem(&c, CA_DER_SEQUENCE, alg, alg_len, &err);
}

/* DATA wrapped as a signed object with a dummy signature; NULL if it is
 * not shaped like a TBS. */
static unsigned char *
wrap(const uint8_t *data, size_t size, int is_crl, size_t *len)
{
	const unsigned char *alg;
	size_t alg_len;
	unsigned char *out = NULL;
	struct mica_err err;

	if (tbs_alg(data, size, is_crl, &alg, &alg_len) != 0)
		return NULL;
	if (ca_x509_wrap(data, size, alg, alg_len, dummy_sig, sizeof(dummy_sig),
			 &out, len, &err) != 0)
		return NULL;
	return out;
}

/* 1 if the SubjectPublicKeyInfo of the certificate TBS DATA is one mbedTLS
 * cannot load (unknown algorithm, point not on the curve, bad modulus):
 * the linter checks its structure only, mica's keys come from the CSR
 * parser, which loads them with mbedTLS and re-encodes them. */
static int
key_unloadable(const uint8_t *data, size_t size)
{
	struct ca_der_cur top, c;
	struct ca_der_tlv skip;
	struct mica_err err;
	mbedtls_pk_context pk;
	const unsigned char *spki;
	unsigned char *p;
	size_t spki_len;
	int bad;

	ca_der_init(&top, data, size);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, &err) != 0)
		return 0;
	if (ca_der_peek(&c, CA_DER_CTX_CONS(0)) && ca_der_get_any(&c, &skip, &err) != 0)
		return 0;
	/* serial, signature, issuer, validity, subject */
	for (int i = 0; i < 5; i++)
		if (ca_der_get_any(&c, &skip, &err) != 0)
			return 0;
	if (ca_der_get_elem(&c, CA_DER_SEQUENCE, &spki, &spki_len, &err) != 0)
		return 0;
	mbedtls_pk_init(&pk);
	p = (unsigned char *)spki;
	bad = mbedtls_pk_parse_subpubkey(&p, spki + spki_len, &pk) != 0 ||
	      p != spki + spki_len;
	mbedtls_pk_free(&pk);
	return bad;
}

static void
lint_as_mbedtls_reads_it(const mbedtls_x509_crt *crt, const uint8_t *data, size_t size)
{
	struct ca_lint_cert_expect e;
	struct ca_name names[CA_NAMES_MAX];
	const mbedtls_x509_sequence *s;
	struct mica_err err;
	size_t n = 0;
	int rc;

	memset(&e, 0, sizeof(e));
	e.issuer = crt->issuer_raw.p;
	e.issuer_len = crt->issuer_raw.len;
	e.issuer_not_before = CA_DER_TIME_MIN;
	e.issuer_not_after = CA_DER_TIME_LAST;
	e.is_ca = mbedtls_x509_crt_get_ca_istrue(crt) == 1;
	if (mbedtls_x509_crt_has_ext_type(crt, MBEDTLS_X509_EXT_KEY_USAGE)) {
		const unsigned may = MBEDTLS_X509_KU_ENCIPHER_ONLY | MBEDTLS_X509_KU_DECIPHER_ONLY;

		for (unsigned bit = 0; bit < 7; bit++)
			if (mbedtls_x509_crt_check_key_usage(crt, (0x80u >> bit) | may) == 0)
				e.key_usage |= 1u << bit;
		if (mbedtls_x509_crt_check_key_usage(crt, 0) != 0)
			e.key_usage |= 1u << 7;   /* encipherOnly/decipherOnly: no CA_KU_ */
	}
	for (s = &crt->ext_key_usage; s != NULL && s->buf.p != NULL; s = s->next) {
		static const unsigned char ike[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x11 };

		if (MBEDTLS_OID_CMP(MBEDTLS_OID_SERVER_AUTH, &s->buf) == 0)
			e.eku |= CA_EKU_SERVER_AUTH;
		else if (MBEDTLS_OID_CMP(MBEDTLS_OID_CLIENT_AUTH, &s->buf) == 0)
			e.eku |= CA_EKU_CLIENT_AUTH;
		else if (MBEDTLS_OID_CMP(MBEDTLS_OID_CODE_SIGNING, &s->buf) == 0)
			e.eku |= CA_EKU_CODE_SIGNING;
		else if (MBEDTLS_OID_CMP(MBEDTLS_OID_EMAIL_PROTECTION, &s->buf) == 0)
			e.eku |= CA_EKU_EMAIL_PROTECTION;
		else if (s->buf.len == sizeof(ike) && memcmp(s->buf.p, ike, sizeof(ike)) == 0)
			e.eku |= CA_EKU_IPSEC_IKE;
		else
			e.eku |= 1u << 31;     /* a purpose mica never issues */
	}
	for (s = &crt->subject_alt_names; s != NULL && s->buf.p != NULL && n < CA_NAMES_MAX;
	     s = s->next) {
		char text[300];
		int tag = s->buf.tag & 0x1f, kind;

		if ((s->buf.tag & 0xc0) != MBEDTLS_ASN1_CONTEXT_SPECIFIC)
			continue;
		if (tag == 7) {
			if (s->buf.len != 4 && s->buf.len != 16)
				continue;
			if (inet_ntop(s->buf.len == 4 ? AF_INET : AF_INET6, s->buf.p,
				      text, sizeof(text)) == NULL)
				continue;
			kind = CA_NAME_IP;
		} else if (tag == 1 || tag == 2) {
			if (s->buf.len == 0 || s->buf.len >= sizeof(text) ||
			    memchr(s->buf.p, '\0', s->buf.len) != NULL)
				continue;
			memcpy(text, s->buf.p, s->buf.len);
			text[s->buf.len] = '\0';
			kind = tag == 2 ? CA_NAME_DNS : CA_NAME_EMAIL;
		} else {
			continue;
		}
		if (ca_name_parse(text, kind, &names[n], NULL) == 0)
			n++;
	}
	e.names = n > 0 ? names : NULL;
	e.nnames = n;
	if (crt->authority_key_id.keyIdentifier.len > 0 &&
	    crt->authority_key_id.keyIdentifier.len <= CA_KEYID_MAX) {
		e.aki = crt->authority_key_id.keyIdentifier.p;
		e.aki_len = crt->authority_key_id.keyIdentifier.len;
	}
	/* mbedTLS has no public reader of pathLenConstraint, and does not
	 * parse nameConstraints: those two come from the linter's reader,
	 * so that the rules after them are reached too. */
	{
		struct ca_cert_facts *f = malloc(sizeof(*f));

		if (f == NULL)
			abort();
		if (ca_lint_cert_read(data, size, f, NULL) == 0) {
			e.has_path_len = f->path_len >= 0;
			e.path_len = f->path_len;
			e.nc = f->nc;
			e.nc_len = f->nc_len;
		}
		free(f);
	}

	memset(&err, 0, sizeof(err));
	rc = ca_lint_cert(data, size, &e, &err);
	fuzz_check_err("ca_lint_cert (mbedTLS's expectations)", rc, &err);
	/* The same certificate as a self-signed root: no AKI expected. */
	if (e.aki != NULL) {
		e.aki = NULL;
		memset(&err, 0, sizeof(err));
		rc = ca_lint_cert(data, size, &e, &err);
		fuzz_check_err("ca_lint_cert (as a root)", rc, &err);
	}
}

/* A delta CRL (RFC 5280 5.2.4): mbedTLS 3.6 refuses every CRL with a
 * critical extension, and the Delta CRL Indicator must be critical, so
 * for deltas mbedTLS is no judge (OpenSSL is: tests/e2e/delta_crl.sh). */
static int
is_delta(const uint8_t *data, size_t size)
{
	struct ca_crl_facts f;

	return ca_lint_crl_read(data, size, issuer, issuer_len, &f, NULL) == 0 &&
	       f.delta_base > 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mica_err err;
	mbedtls_x509_crt crt;
	mbedtls_x509_crl crl;
	unsigned char *w;
	size_t wlen;
	int rc_cert, rc_crl, ret;

	/* 1, 2: fixed expectations */
	memset(&err, 0, sizeof(err));
	rc_cert = ca_lint_cert(data, size, &fixed, &err);
	fuzz_check_err("ca_lint_cert", rc_cert, &err);
	if (rc_cert != 0 && (err.kind != MICA_E_INTERNAL || strcmp(err.code, "lint_failed") != 0))
		fuzz_fail("ca_lint_cert failed with %d/%s, not INTERNAL/lint_failed",
			  (int)err.kind, err.code);
	memset(&err, 0, sizeof(err));
	rc_crl = ca_lint_crl(data, size, issuer, issuer_len, &err);
	fuzz_check_err("ca_lint_crl", rc_crl, &err);
	if (rc_crl != 0 && (err.kind != MICA_E_INTERNAL || strcmp(err.code, "lint_failed") != 0))
		fuzz_fail("ca_lint_crl failed with %d/%s, not INTERNAL/lint_failed",
			  (int)err.kind, err.code);
	if (rc_cert == 0 && rc_crl == 0)
		fuzz_fail("the same bytes pass as a certificate and as a CRL");

	/* ca_name_match (sign-ca's self-issued check) on the bytes as a
	 * Name: 1, 0 or -1, symmetric; a Name matches itself; split in two,
	 * the halves compared both ways agree. */
	{
		int a = ca_name_match(data, size, issuer, issuer_len);
		int b = ca_name_match(issuer, issuer_len, data, size);
		int self = ca_name_match(data, size, data, size);
		size_t h = size / 2;

		if (a < -1 || a > 1 || a != b)
			fuzz_fail("ca_name_match: %d one way, %d the other", a, b);
		if (self == 0)
			fuzz_fail("ca_name_match: a Name does not match itself");
		if (a == 1 && self != 1)
			fuzz_fail("ca_name_match: a Name matches the issuer, not itself");
		if (ca_name_match(data, h, data + h, size - h) !=
		    ca_name_match(data + h, size - h, data, h))
			fuzz_fail("ca_name_match: halves disagree");
	}

	/* 3: as a certificate, read by mbedTLS */
	if ((w = wrap(data, size, 0, &wlen)) != NULL) {
		mbedtls_x509_crt_init(&crt);
		ret = mbedtls_x509_crt_parse_der(&crt, w, wlen);
		if (ret == 0)
			lint_as_mbedtls_reads_it(&crt, data, size);
		else if (rc_cert == 0 && !key_unloadable(data, size))
			fuzz_fail("the linter passes a certificate mbedTLS refuses (-0x%04x)",
				  (unsigned)-ret);
		mbedtls_x509_crt_free(&crt);
		free(w);
	} else if (rc_cert == 0) {
		fuzz_fail("the linter passes a certificate that cannot be wrapped");
	}

	/* 4: as a CRL, read by mbedTLS */
	if ((w = wrap(data, size, 1, &wlen)) != NULL) {
		mbedtls_x509_crl_init(&crl);
		ret = mbedtls_x509_crl_parse_der(&crl, w, wlen);
		if (ret == 0) {
			memset(&err, 0, sizeof(err));
			ret = ca_lint_crl(data, size, crl.issuer_raw.p, crl.issuer_raw.len, &err);
			fuzz_check_err("ca_lint_crl (mbedTLS's issuer)", ret, &err);
		} else if (rc_crl == 0 && !is_delta(data, size)) {
			fuzz_fail("the linter passes a CRL mbedTLS refuses (-0x%04x)",
				  (unsigned)-ret);
		}
		mbedtls_x509_crl_free(&crl);
		free(w);
	} else if (rc_crl == 0) {
		fuzz_fail("the linter passes a CRL that cannot be wrapped");
	}
	return 0;
}

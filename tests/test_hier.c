/*
 * tests/test_hier.c - a CA hierarchy (issue 12), below the CLI: PKCS#7
 * certs-only messages, name constraints (encoding, reading, matching,
 * linting), a CA's own certificate request, what the in-process signer of
 * a root accepts as a CA certificate, and the engine's ceremony: an
 * offline root, an issuing CA from its request, install, issuance under
 * the name constraints, rollover to a new key (announced by SCEP's
 * GetNextCACert to a handle opened before it), the root's CRL.
 *
 * Relying party for signatures: mbedTLS (through ca_sig_verify, which
 * calls it) and the structure readers of ca/cacert.c, independent of the
 * encoders. Everything lives under one mkdtemp directory.
 */
#include <CUnit/Basic.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca.h"
#include "ca/ca_int.h"
#include "ca/cacert.h"
#include "ca/csr.h"
#include "ca/der.h"
#include "ca/keys.h"
#include "ca/ocsp.h"
#include "ca/p7.h"
#include "ca/sign.h"
#include "ca/signcheck.h"
#include "ca/x509.h"
#include "util/err.h"
#include "util/log.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_csr.h>

#include "util/hex.h"

#include "tests/crl_find.h"

#define PASSPHRASE "hierarchy test passphrase"
#define DAY ((int64_t)86400)

static char g_tmp[64];

/* ------------------------------------------------------------ helpers */

static char *
dir_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", g_tmp, name);
	return buf;
}

/* A self-signed CA certificate (DER, heap) for a fresh key of TYPE named
 * CN, valid a year; *KEY gets the key. */
/* Write LINE as the passphrase file G_TMP/NAME (mode 0600); its path in
 * PATH. */
static void
pass_file(char *path, size_t size, const char *name, const char *line)
{
	FILE *f;

	snprintf(path, size, "%s/%s", g_tmp, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "%s\n", line);
	fclose(f);
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
}

static int
self_signed(const char *cn, struct ca_key **key, unsigned char **der,
	    size_t *len)
{
	struct ca_tbs_cert t;
	struct mica_err err;
	unsigned char serial[8] = { 0x11, 1, 2, 3, 4, 5, 6, 7 };
	unsigned char *spki = NULL, *name = NULL, *tbs = NULL, sig[CA_SIG_MAX];
	size_t spki_len = 0, name_len = 0, tbs_len = 0, sig_len = 0, alg_len;
	const unsigned char *alg;
	int rc = -1;

	if (ca_key_generate(CA_KEY_EC_P256, key, &err) != 0 ||
	    ca_key_spki(*key, &spki, &spki_len, &err) != 0 ||
	    ca_x509_name(cn, NULL, &name, &name_len, &err) != 0)
		goto out;
	alg = ca_key_sig_alg(*key, &alg_len);
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = t.subject = name;
	t.issuer_len = t.subject_len = name_len;
	t.not_before = (int64_t)time(NULL) - DAY;
	t.not_after = t.not_before + 365 * DAY;
	t.spki = spki;
	t.spki_len = spki_len;
	t.is_ca = 1;
	t.path_len = -1;
	t.key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN;
	if (ca_x509_key_id(spki, spki_len, t.ski, &err) != 0 ||
	    ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err) != 0 ||
	    ca_key_sign(*key, tbs, tbs_len, sig, &sig_len, &err) != 0 ||
	    ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, der, len,
			 &err) != 0)
		goto out;
	rc = 0;
out:
	free(spki);
	free(name);
	free(tbs);
	return rc;
}

/* A request (DER, heap) for NAME with key K, as a server would send:
 * ca_ca_request's shape with CN = NAME, which mica certifies as the one
 * name. */
static int
leaf_csr_key(struct ca_key *k, const char *name, unsigned char **der,
	     size_t *len)
{
	struct mica_err err;
	unsigned char *subj = NULL;
	size_t subj_len = 0;
	int rc = -1;

	if (ca_x509_name(name, NULL, &subj, &subj_len, &err) == 0 &&
	    ca_ca_request(k, subj, subj_len, NULL, 0, NULL, 0, der, len,
			  &err) == 0)
		rc = 0;
	free(subj);
	return rc;
}

/* The same with a new P-256 key. */
static int
leaf_csr(const char *name, unsigned char **der, size_t *len)
{
	struct ca_key *k = NULL;
	struct mica_err err;
	int rc = -1;

	if (ca_key_generate(CA_KEY_EC_P256, &k, &err) == 0)
		rc = leaf_csr_key(k, name, der, len);
	ca_key_free(k);
	return rc;
}

/* Submit to CA, as S does (profile, token), a request for NAME with key
 * K; *OUT the certificate. 0, or -1. */
static int
submit_key(struct ca *ca, const struct ca_principal *cli,
	   const struct ca_submit *s, struct ca_key *k, const char *name,
	   struct ca_issued *out)
{
	struct ca_submit ks = *s;
	struct mica_err err;
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	int rc = -1;

	if (leaf_csr_key(k, name, &csr, &csr_len) == 0) {
		ks.csr = csr;
		ks.csr_len = csr_len;
		rc = ca_submit_csr(ca, cli, &ks, out, &err);
	}
	free(csr);
	return rc;
}

/* Whether key KEY_IDX's current CRL of CA lists SERIAL: 1 with its
 * reasonCode in *REASON (-1 none), 0 not, -1 no CRL. */
static int
key_crl_lists(struct ca *ca, int key_idx, const char *serial, int *reason)
{
	struct ca_crl crl;
	struct mica_err err;
	int found;

	*reason = -1;
	memset(&crl, 0, sizeof(crl));
	if (ca_crl_current_key(ca, key_idx, &crl, &err) != 0)
		return -1;
	found = crl_find(crl.der, crl.der_len, serial, reason);
	ca_crl_free(&crl);
	return found;
}

/* A CA's request signed with SHA-1 (DER, heap): well-formed, and refused
 * by policy wherever mica reads a CSR. mbedTLS writes it; mica never
 * would. */
static int
sha1_ca_csr(unsigned char **der, size_t *len)
{
	static const char pers[] = "mica test_hier sha1";
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context pk;
	mbedtls_x509write_csr w;
	unsigned char buf[2048];
	int ret, rc = -1;

	*der = NULL;
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_pk_init(&pk);
	mbedtls_x509write_csr_init(&w);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent,
				  (const unsigned char *)pers, sizeof(pers) - 1) != 0 ||
	    mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
				mbedtls_ctr_drbg_random, &drbg) != 0)
		goto out;
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA1);
	mbedtls_x509write_csr_set_key(&w, &pk);
	if (mbedtls_x509write_csr_set_subject_name(&w, "CN=Weak Issuing CA") != 0)
		goto out;
	ret = mbedtls_x509write_csr_der(&w, buf, sizeof(buf),
					mbedtls_ctr_drbg_random, &drbg);
	if (ret <= 0 || (*der = malloc((size_t)ret)) == NULL)
		goto out;
	/* mbedTLS writes DER at the end of the buffer. */
	memcpy(*der, buf + sizeof(buf) - (size_t)ret, (size_t)ret);
	*len = (size_t)ret;
	rc = 0;
out:
	mbedtls_x509write_csr_free(&w);
	mbedtls_pk_free(&pk);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return rc;
}

/* ----------------------------------------------------- RSASSA-PSS */

/* AlgorithmIdentifier of RSASSA-PSS with SHA-2 hash H (the last octet of
 * its OID: 1 SHA-256, 2 SHA-384), MGF1 over the same, salt SALT (RFC 4055
 * 3.1), written into OUT (PSS_ALG_LEN octets). */
#define PSS_ALG_LEN 67
static size_t
pss_alg(unsigned char out[PSS_ALG_LEN], unsigned char h, unsigned char salt)
{
	static const unsigned char head[] = {
		0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x0a, 0x30, 0x34,
		0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
		0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60,
		0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
		0xa2, 0x03, 0x02, 0x01, 0x20,
	};

	_Static_assert(sizeof(head) == PSS_ALG_LEN, "pss_alg's size");
	memcpy(out, head, sizeof(head));
	out[29] = h;      /* hashAlgorithm */
	out[59] = h;      /* MGF1's hash */
	out[66] = salt;
	return sizeof(head);
}

/* SPKI of the RSA key in RSA_SPKI as an id-RSASSA-PSS key, with the
 * restrictions ALG (a pss_alg AlgorithmIdentifier) or none (NULL). */
static size_t
pss_spki(const unsigned char *rsa_spki, size_t rsa_len, const unsigned char *alg,
	 unsigned char *out, size_t size)
{
	static const unsigned char bare[] = {
		0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x0a };
	struct ca_der_cur top, s;
	struct ca_der_tlv a, bits;
	size_t alen = alg != NULL ? PSS_ALG_LEN : sizeof(bare), n;

	ca_der_init(&top, rsa_spki, rsa_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &s, NULL) < 0 ||
	    ca_der_get_any(&s, &a, NULL) < 0 || ca_der_get_any(&s, &bits, NULL) < 0)
		return 0;
	n = alen + bits.raw_len;
	if (n > 0xffff || n + 4 > size)
		return 0;
	out[0] = 0x30;
	out[1] = 0x82;
	out[2] = (unsigned char)(n >> 8);
	out[3] = (unsigned char)n;
	memcpy(out + 4, alg != NULL ? alg : bare, alen);
	memcpy(out + 4 + alen, bits.raw, bits.raw_len);
	return n + 4;
}

static void
test_sig_verify_pss(void)
{
	static const char pers[] = "mica test_hier pss";
	static const unsigned char tbs[] = "a to-be-signed body";
	static const unsigned char sha1_defaults[] = {
		0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x0a, 0x30, 0x00 };
	static const unsigned char rsa_sha256[] = {
		0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x0b, 0x05, 0x00 };
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context pk;
	unsigned char buf[1024], spki[1024], pspki[1100], hash[32], sig[256];
	unsigned char a256[PSS_ALG_LEN], a384[PSS_ALG_LEN];
	unsigned char a256_salt20[PSS_ALG_LEN], bad[PSS_ALG_LEN + 1];
	size_t spki_len, pspki_len;
	struct mica_err err;
	int ret;

	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_pk_init(&pk);
	CU_ASSERT_FATAL(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent,
					      (const unsigned char *)pers,
					      sizeof(pers) - 1) == 0);
	CU_ASSERT_FATAL(mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) == 0);
	CU_ASSERT_FATAL(mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), mbedtls_ctr_drbg_random,
					    &drbg, 2048, 65537) == 0);
	ret = mbedtls_pk_write_pubkey_der(&pk, buf, sizeof(buf));
	CU_ASSERT_FATAL(ret > 0);
	spki_len = (size_t)ret;
	memcpy(spki, buf + sizeof(buf) - spki_len, spki_len);
	/* The signature: SHA-256, MGF1 SHA-256, 32 octets of salt. */
	CU_ASSERT_FATAL(mbedtls_sha256(tbs, sizeof(tbs), hash, 0) == 0);
	CU_ASSERT_FATAL(mbedtls_rsa_set_padding(mbedtls_pk_rsa(pk), MBEDTLS_RSA_PKCS_V21,
						MBEDTLS_MD_SHA256) == 0);
	CU_ASSERT_FATAL(mbedtls_rsa_rsassa_pss_sign_ext(mbedtls_pk_rsa(pk),
							mbedtls_ctr_drbg_random, &drbg,
							MBEDTLS_MD_SHA256, 32, hash,
							32, sig) == 0);
	pss_alg(a256, 0x01, 32);
	pss_alg(a384, 0x02, 32);
	pss_alg(a256_salt20, 0x01, 20);

	/* An rsaEncryption key, as AD CS's with AlternateSignatureAlgorithm. */
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, sizeof(tbs), a256, PSS_ALG_LEN, sig, 256,
				      spki, spki_len, &err), 0);
	sig[100] ^= 1;
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, sizeof(tbs), a256, PSS_ALG_LEN, sig, 256,
				      spki, spki_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");
	sig[100] ^= 1;
	/* Not the hash the parameters name. */
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, sizeof(tbs), a384, PSS_ALG_LEN, sig, 256,
				      spki, spki_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");
	/* No parameters: SHA-1 and MGF1 with SHA-1, refused as SHA-1. */
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, sizeof(tbs), sha1_defaults,
				      sizeof(sha1_defaults), sig, 256, spki,
				      spki_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "unsupported_signature");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "SHA-1"));
	/* MGF1 over SHA-384 with a SHA-256 hash: allowed by RFC 4055, not
	 * verifiable with mbedTLS (it hashes M' with the MGF1 hash): said,
	 * not passed off as a bad signature; ca_sig_alg_check the same. */
	memcpy(bad, a256, PSS_ALG_LEN);
	bad[59] = 0x02;
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, sizeof(tbs), bad, PSS_ALG_LEN, sig, 256,
				      spki, spki_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "unsupported_signature");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "MGF1"));
	CU_ASSERT_EQUAL(ca_sig_alg_check(bad, PSS_ALG_LEN, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "unsupported_signature");
	CU_ASSERT_EQUAL(ca_sig_alg_check(a256, PSS_ALG_LEN, &err), 0);
	/* Parameters with a trailing element. */
	memcpy(bad, a256, PSS_ALG_LEN);
	bad[1]++;
	bad[14]++;
	bad[PSS_ALG_LEN] = 0x05;   /* half an element */
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, sizeof(tbs), bad, sizeof(bad), sig, 256,
				      spki, spki_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");

	/* An id-RSASSA-PSS key: without restrictions, with the signature's
	 * own, with another hash than the signature's, and a PKCS#1 v1.5
	 * signature from it. */
	pspki_len = pss_spki(spki, spki_len, NULL, pspki, sizeof(pspki));
	CU_ASSERT_FATAL(pspki_len > 0);
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, sizeof(tbs), a256, PSS_ALG_LEN, sig, 256,
				      pspki, pspki_len, &err), 0);
	pspki_len = pss_spki(spki, spki_len, a256, pspki, sizeof(pspki));
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, sizeof(tbs), a256, PSS_ALG_LEN, sig, 256,
				      pspki, pspki_len, &err), 0);
	pspki_len = pss_spki(spki, spki_len, a384, pspki, sizeof(pspki));
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, sizeof(tbs), a256, PSS_ALG_LEN, sig, 256,
				      pspki, pspki_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "restrictions"));
	/* The key asks for at least 32 octets of salt; 20 is too few. */
	pspki_len = pss_spki(spki, spki_len, a256, pspki, sizeof(pspki));
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, sizeof(tbs), a256_salt20, PSS_ALG_LEN, sig,
				      256, pspki, pspki_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, sizeof(tbs), rsa_sha256,
				      sizeof(rsa_sha256), sig, 256, pspki,
				      pspki_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature");

	mbedtls_pk_free(&pk);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
}

/* ------------------------------------------------------------ PKCS#7 */

static void
test_p7_round_trip(void)
{
	struct ca_key *k1 = NULL, *k2 = NULL;
	unsigned char *c1 = NULL, *c2 = NULL, *p7 = NULL, *p7b = NULL;
	size_t l1 = 0, l2 = 0, len = 0, lenb = 0, n = 0;
	struct ca_p7_cert in[2], out[CA_P7_CERTS_MAX];
	struct ca_der_blob *v = NULL;
	struct mica_err err;

	CU_ASSERT_EQUAL_FATAL(self_signed("P7 One", &k1, &c1, &l1), 0);
	CU_ASSERT_EQUAL_FATAL(self_signed("P7 Two", &k2, &c2, &l2), 0);
	in[0].der = c1;
	in[0].len = l1;
	in[1].der = c2;
	in[1].len = l2;
	CU_ASSERT_EQUAL_FATAL(ca_p7_encode(in, 2, &p7, &len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_p7_decode(p7, len, out, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 2);
	/* The same set, in DER order whatever the order given. */
	in[0].der = c2;
	in[0].len = l2;
	in[1].der = c1;
	in[1].len = l1;
	CU_ASSERT_EQUAL_FATAL(ca_p7_encode(in, 2, &p7b, &lenb, &err), 0);
	CU_ASSERT(len == lenb && memcmp(p7, p7b, len) == 0);
	CU_ASSERT((out[0].len == l1 && memcmp(out[0].der, c1, l1) == 0) ||
		  (out[0].len == l2 && memcmp(out[0].der, c2, l2) == 0));
	/* The bundle loader reads it as a file, DER or base64 in PEM. */
	CU_ASSERT_EQUAL(ca_certs_load(p7, len, &v, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 2);
	ca_blobs_free(v, n);
	{
		char *pem = NULL;

		CU_ASSERT_EQUAL_FATAL(ca_pem_encode("PKCS7", p7, len, &pem, &err), 0);
		CU_ASSERT_EQUAL(ca_certs_load((unsigned char *)pem, strlen(pem), &v,
					      &n, &err), 0);
		CU_ASSERT_EQUAL(n, 2);
		ca_blobs_free(v, n);
		free(pem);
	}
	free(p7);
	free(p7b);
	free(c1);
	free(c2);
	ca_key_free(k1);
	ca_key_free(k2);
}

/* Hostile messages: each refused as bad_pkcs7, never a crash. */
static void
test_p7_refuses_what_is_not_certs_only(void)
{
	struct ca_p7_cert out[CA_P7_CERTS_MAX];
	struct mica_err err;
	size_t n = 0;

	/* ContentInfo { signedData, [0] { SignedData { 1, {}, { data },
	 * [0] { Certificate { {}, {}, BIT STRING '' } }, {} } } }: the
	 * smallest message of the right shape. */
	{
		static const unsigned char ok1[] = {
			0x30, 0x2e, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
			0x0d, 0x01, 0x07, 0x02, 0xa0, 0x21, 0x30, 0x1f, 0x02,
			0x01, 0x01, 0x31, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x2a,
			0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01, 0xa0,
			0x09, 0x30, 0x07, 0x30, 0x00, 0x30, 0x00, 0x03, 0x01,
			0x00, 0x31, 0x00,
		};
		unsigned char m[sizeof(ok1) + 4];

		CU_ASSERT_EQUAL(ca_p7_decode(ok1, sizeof(ok1), out, &n, &err), 0);
		CU_ASSERT_EQUAL(n, 1);
		/* trailing data */
		memcpy(m, ok1, sizeof(ok1));
		m[sizeof(ok1)] = 0;
		CU_ASSERT_EQUAL(ca_p7_decode(m, sizeof(ok1) + 1, out, &n, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_pkcs7");
		/* version 3 */
		memcpy(m, ok1, sizeof(ok1));
		m[19] = 3;
		CU_ASSERT_EQUAL(ca_p7_decode(m, sizeof(ok1), out, &n, &err), -1);
		/* enveloped data, not signed data */
		memcpy(m, ok1, sizeof(ok1));
		m[12] = 3;
		CU_ASSERT_EQUAL(ca_p7_decode(m, sizeof(ok1), out, &n, &err), -1);
		/* encapsulated content is not id-data */
		memcpy(m, ok1, sizeof(ok1));
		m[34] = 2;
		CU_ASSERT_EQUAL(ca_p7_decode(m, sizeof(ok1), out, &n, &err), -1);
		/* the certificates as CRLs [1] */
		memcpy(m, ok1, sizeof(ok1));
		m[35] = 0xa1;
		CU_ASSERT_EQUAL(ca_p7_decode(m, sizeof(ok1), out, &n, &err), -1);
		/* an attribute certificate [2] instead of a Certificate */
		memcpy(m, ok1, sizeof(ok1));
		m[37] = 0xa2;
		CU_ASSERT_EQUAL(ca_p7_decode(m, sizeof(ok1), out, &n, &err), -1);
		/* indefinite length */
		memcpy(m, ok1, sizeof(ok1));
		m[1] = 0x80;
		CU_ASSERT_EQUAL(ca_p7_decode(m, sizeof(ok1), out, &n, &err), -1);
		/* truncated anywhere */
		for (size_t cut = 0; cut < sizeof(ok1); cut++)
			CU_ASSERT_EQUAL(ca_p7_decode(ok1, cut, out, &n, &err), -1);
	}
	CU_ASSERT_EQUAL(ca_p7_decode(NULL, 0, out, &n, &err), -1);
	CU_ASSERT_EQUAL(ca_p7_encode(NULL, 0, NULL, NULL, &err), -1);
	{
		static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
		struct ca_p7_cert c = { junk, sizeof(junk) };
		unsigned char *o = NULL;
		size_t ol = 0;

		CU_ASSERT_EQUAL(ca_p7_encode(&c, 1, &o, &ol, &err), -1);
		CU_ASSERT_PTR_NULL(o);
	}
}

/* ---------------------------------------------------- name constraints */

static int
allows(const struct ca_nc *nc, const char *name)
{
	struct ca_name n;

	if (ca_name_parse(name, 0, &n, NULL) != 0)
		return -1;
	return ca_nc_allows(nc, &n);
}

static void
test_nc_encoding_and_matching(void)
{
	const char *doms[] = { "contoso.test", "corp.fabrikam.test" };
	struct ca_nc *nc = calloc(1, sizeof(*nc));
	unsigned char *v = NULL;
	size_t len = 0;
	struct mica_err err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(nc);
	CU_ASSERT_EQUAL_FATAL(ca_x509_nc_value(doms, 2, &v, &len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_nc_parse(v, len, nc, &err), 0);
	CU_ASSERT_EQUAL(nc->npermitted, 6);
	CU_ASSERT_EQUAL(allows(nc, "contoso.test"), 1);
	CU_ASSERT_EQUAL(allows(nc, "www.contoso.test"), 1);
	CU_ASSERT_EQUAL(allows(nc, "*.web.contoso.test"), 1);
	CU_ASSERT_EQUAL(allows(nc, "evilcontoso.test"), 0);
	CU_ASSERT_EQUAL(allows(nc, "fabrikam.test"), 0);
	CU_ASSERT_EQUAL(allows(nc, "x.corp.fabrikam.test"), 1);
	CU_ASSERT_EQUAL(allows(nc, "alice@contoso.test"), 1);
	CU_ASSERT_EQUAL(allows(nc, "bob@mail.contoso.test"), 1);
	CU_ASSERT_EQUAL(allows(nc, "eve@evilcontoso.test"), 0);
	/* A UPN as the mailbox it reads like (mica's rule, stricter than
	 * RFC 5280's, for which no subtree here constrains it). */
	CU_ASSERT_EQUAL(allows(nc, "upn:alice@contoso.test"), 1);
	CU_ASSERT_EQUAL(allows(nc, "upn:alice@ad.corp.fabrikam.test"), 1);
	CU_ASSERT_EQUAL(allows(nc, "upn:eve@evilcontoso.test"), 0);
	CU_ASSERT_EQUAL(allows(nc, "upn:eve@fabrikam.test"), 0);
	/* No range permitted: both families excluded whole. */
	CU_ASSERT_EQUAL(nc->nexcluded, 2);
	CU_ASSERT_EQUAL(allows(nc, "10.0.0.5"), 0);
	CU_ASSERT_EQUAL(allows(nc, "0.0.0.0"), 0);
	CU_ASSERT_EQUAL(allows(nc, "2001:db8::1"), 0);
	free(v);

	/* Refused as subtrees: upper case, wildcards, nothing, too many. */
	{
		const char *bad1[] = { "Contoso.test" }, *bad2[] = { "*.contoso.test" };

		CU_ASSERT_EQUAL(ca_x509_nc_value(bad1, 1, &v, &len, &err), -1);
		CU_ASSERT_EQUAL(ca_x509_nc_value(bad2, 1, &v, &len, &err), -1);
		CU_ASSERT_EQUAL(ca_x509_nc_value(doms, 0, &v, &len, &err), -1);
		CU_ASSERT_EQUAL(ca_x509_nc_value(doms, CA_NC_PERMIT_MAX + 1, &v,
						 &len, &err), -1);
	}
	free(nc);
}

static void
test_cidr_parsing(void)
{
	static const struct {
		const char *in, *canon;
		size_t ip_len;
		unsigned prefix;
		const char *why;     /* for a refusal: part of the message */
	} t[] = {
		{ "10.0.0.0/8", "10.0.0.0/8", 4, 8, NULL },
		{ "192.0.2.7/32", "192.0.2.7/32", 4, 32, NULL },
		{ "0.0.0.0/0", "0.0.0.0/0", 4, 0, NULL },
		{ "2001:db8::/32", "2001:db8::/32", 16, 32, NULL },
		{ "2001:DB8:0::/48", "2001:db8::/48", 16, 48, NULL },
		{ "::1/128", "::1/128", 16, 128, NULL },
		{ "10.0.0.1/8", NULL, 0, 0, "the range is 10.0.0.0/8" },
		{ "192.0.2.7/24", NULL, 0, 0, "for the one address, /32" },
		{ "2001:db8::1/32", NULL, 0, 0, "the range is 2001:db8::/32" },
		{ "10.0.0.0/33", NULL, 0, 0, "0 to 32 bits" },
		{ "::/129", NULL, 0, 0, "0 to 128 bits" },
		{ "10.0.0.0/08", NULL, 0, 0, "not a plain number" },
		{ "10.0.0.0/+8", NULL, 0, 0, "not a plain number" },
		{ "10.0.0.0/-1", NULL, 0, 0, "not a plain number" },
		{ "10.0.0.0/", NULL, 0, 0, "not a plain number" },
		{ "10.0.0.0/8 ", NULL, 0, 0, "not a plain number" },
		{ "10.0.0.0/1000", NULL, 0, 0, "not a plain number" },
		{ "10.0.0.0/8/8", NULL, 0, 0, "not a plain number" },
		{ "10.0.0.0", NULL, 0, 0, "give the prefix length" },
		{ "/8", NULL, 0, 0, "not an IPv4 or IPv6 address" },
		{ "10.0.0/8", NULL, 0, 0, "not an IPv4 or IPv6 address" },
		{ "010.0.0.0/8", NULL, 0, 0, "not an IPv4 or IPv6 address" },
		{ "fe80::1%eth0/128", NULL, 0, 0, "not an IPv4 or IPv6" },
		{ "contoso.test/8", NULL, 0, 0, "not an IPv4 or IPv6" },
	};
	struct ca_cidr c;
	struct mica_err err;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = ca_cidr_parse(t[i].in, &c, &err);

		if (t[i].canon != NULL) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_STRING_EQUAL(c.text, t[i].canon);
			CU_ASSERT_EQUAL(c.ip_len, t[i].ip_len);
			CU_ASSERT_EQUAL(c.prefix, t[i].prefix);
		} else {
			CU_ASSERT_EQUAL(rc, -1);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_range");
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, t[i].why));
			if (strstr(err.msg, t[i].why) == NULL)
				fprintf(stderr, "%s: %s\n", t[i].in, err.msg);
		}
	}
	/* The mask written for a prefix, bit by bit. */
	CU_ASSERT_EQUAL_FATAL(ca_cidr_parse("172.16.0.0/12", &c, &err), 0);
	CU_ASSERT(c.mask[0] == 0xff && c.mask[1] == 0xf0 && c.mask[2] == 0 &&
		  c.mask[3] == 0);
	CU_ASSERT_EQUAL(ca_cidr_parse(NULL, &c, &err), -1);
	{
		char longer[80];

		memset(longer, '1', sizeof(longer) - 1);
		longer[sizeof(longer) - 1] = '\0';
		CU_ASSERT_EQUAL(ca_cidr_parse(longer, &c, &err), -1);
	}

	/* From an iPAddress subtree: a prefix mask, no bit outside it. */
	{
		static const unsigned char ip[4] = { 10, 0, 0, 0 };
		static const unsigned char m8[4] = { 255, 0, 0, 0 };
		static const unsigned char holes[4] = { 255, 0, 255, 0 };
		static const unsigned char ip2[4] = { 10, 1, 0, 0 };
		static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
		static const unsigned char m32[16] = { 0xff, 0xff, 0xff, 0xff };

		CU_ASSERT_EQUAL(ca_cidr_from_mask(ip, m8, 4, &c, &err), 0);
		CU_ASSERT_STRING_EQUAL(c.text, "10.0.0.0/8");
		CU_ASSERT_EQUAL(ca_cidr_from_mask(ip, holes, 4, &c, &err), -1);
		CU_ASSERT_EQUAL(ca_cidr_from_mask(ip2, m8, 4, &c, &err), -1);
		CU_ASSERT_EQUAL(ca_cidr_from_mask(ip, m8, 8, &c, &err), -1);
		CU_ASSERT_EQUAL(ca_cidr_from_mask(v6, m32, 16, &c, &err), 0);
		CU_ASSERT_STRING_EQUAL(c.text, "2001:db8::/32");
	}
}

static void
test_nc_ranges(void)
{
	struct ca_nc *nc = calloc(1, sizeof(*nc));
	unsigned char *v = NULL;
	size_t len = 0;
	struct mica_err err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(nc);
	/* RFC 5280 4.2.1.10: iPAddress, address then mask; the family with
	 * no range (IPv6) excluded whole. */
	{
		const char *p[] = { "a.test", "10.0.0.0/8" };
		static const unsigned char want[] = {
			0x30, 0x53,
			0xa0, 0x2b,
			0x30, 0x08, 0x82, 0x06, 'a', '.', 't', 'e', 's', 't',
			0x30, 0x08, 0x81, 0x06, 'a', '.', 't', 'e', 's', 't',
			0x30, 0x09, 0x81, 0x07, '.', 'a', '.', 't', 'e', 's',
			't',
			0x30, 0x0a, 0x87, 0x08, 10, 0, 0, 0, 255, 0, 0, 0,
			0xa1, 0x24,
			0x30, 0x22, 0x87, 0x20,
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		};

		CU_ASSERT_EQUAL_FATAL(ca_x509_nc_value(p, 2, &v, &len, &err), 0);
		CU_ASSERT(len == sizeof(want) && memcmp(v, want, len) == 0);
		CU_ASSERT_EQUAL_FATAL(ca_nc_parse(v, len, nc, &err), 0);
		CU_ASSERT_EQUAL(nc->npermitted, 4);
		CU_ASSERT_EQUAL(nc->nexcluded, 1);
		CU_ASSERT_EQUAL(allows(nc, "10.1.2.3"), 1);
		CU_ASSERT_EQUAL(allows(nc, "10.255.255.255"), 1);
		CU_ASSERT_EQUAL(allows(nc, "11.0.0.0"), 0);
		CU_ASSERT_EQUAL(allows(nc, "192.0.2.1"), 0);
		CU_ASSERT_EQUAL(allows(nc, "2001:db8::1"), 0);
		/* An IPv4-mapped address is no name at all (ca_name_parse
		 * refuses it): it never reaches the constraints. */
		CU_ASSERT_EQUAL(allows(nc, "::ffff:10.1.2.3"), -1);
		CU_ASSERT_EQUAL(allows(nc, "www.a.test"), 1);
		free(v);
	}
	/* Both families: no exclusion; one address as a /32. */
	{
		const char *p[] = { "192.0.2.7/32", "a.test", "2001:db8::/32" };

		CU_ASSERT_EQUAL_FATAL(ca_x509_nc_value(p, 3, &v, &len, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_nc_parse(v, len, nc, &err), 0);
		CU_ASSERT_EQUAL(nc->npermitted, 5);
		CU_ASSERT_EQUAL(nc->nexcluded, 0);
		CU_ASSERT_EQUAL(allows(nc, "192.0.2.7"), 1);
		CU_ASSERT_EQUAL(allows(nc, "192.0.2.8"), 0);
		CU_ASSERT_EQUAL(allows(nc, "2001:db8:ffff::1"), 1);
		CU_ASSERT_EQUAL(allows(nc, "2001:db9::1"), 0);
		free(v);
	}
	/* An IPv6 range only: IPv4 excluded. */
	{
		const char *p[] = { "a.test", "2001:db8::/32" };

		CU_ASSERT_EQUAL_FATAL(ca_x509_nc_value(p, 2, &v, &len, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_nc_parse(v, len, nc, &err), 0);
		CU_ASSERT_EQUAL(nc->nexcluded, 1);
		CU_ASSERT_EQUAL(nc->excluded[0].ip_len, 4);
		CU_ASSERT_EQUAL(allows(nc, "10.1.2.3"), 0);
		free(v);
	}
	/* As many permits as mica writes, read back. */
	{
		char d[CA_NC_PERMIT_MAX][32];
		const char *p[CA_NC_PERMIT_MAX];

		for (size_t i = 0; i + 1 < CA_NC_PERMIT_MAX; i++) {
			snprintf(d[i], sizeof(d[i]), "d%zu.test", i);
			p[i] = d[i];
		}
		p[CA_NC_PERMIT_MAX - 1] = "10.0.0.0/8";
		CU_ASSERT_EQUAL_FATAL(ca_x509_nc_value(p, CA_NC_PERMIT_MAX, &v,
						       &len, &err), 0);
		CU_ASSERT_EQUAL(ca_nc_parse(v, len, nc, &err), 0);
		CU_ASSERT_EQUAL(nc->npermitted, 3 * (CA_NC_PERMIT_MAX - 1) + 1);
		free(v);
	}
	/* Refused: ranges alone (DNS would be open), a range not in the
	 * canonical form, host bits set. */
	{
		const char *alone[] = { "10.0.0.0/8" };
		const char *upper[] = { "a.test", "2001:DB8::/32" };
		const char *host[] = { "a.test", "10.0.0.1/8" };

		CU_ASSERT_EQUAL(ca_x509_nc_value(alone, 1, &v, &len, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "DNS"));
		CU_ASSERT_EQUAL(ca_x509_nc_value(upper, 2, &v, &len, &err), -1);
		CU_ASSERT_EQUAL(ca_x509_nc_value(host, 2, &v, &len, &err), -1);
	}
	free(nc);
}

static void
test_nc_reads_other_cas_forms(void)
{
	/* permitted [0] { dNSName ".contoso.test" }, excluded [1] {
	 * iPAddress 10.0.0.0/8, dNSName "secret.contoso.test" } */
	static const unsigned char v1[] = {
		0x30, 0x38, 0xa0, 0x11, 0x30, 0x0f, 0x82, 0x0d, '.', 'c', 'o',
		'n', 't', 'o', 's', 'o', '.', 't', 'e', 's', 't', 0xa1, 0x23,
		0x30, 0x0a, 0x87, 0x08, 10, 0, 0, 0, 255, 0, 0, 0, 0x30, 0x15,
		0x82, 0x13, 'S', 'E', 'C', 'R', 'E', 'T', '.', 'c', 'o', 'n',
		't', 'o', 's', 'o', '.', 't', 'e', 's', 't',
	};
	/* permitted [0] { directoryName }: a form mica cannot judge */
	static const unsigned char v2[] = {
		0x30, 0x08, 0xa0, 0x06, 0x30, 0x04, 0xa4, 0x02, 0x30, 0x00,
	};
	/* maximum present */
	static const unsigned char v3[] = {
		0x30, 0x0d, 0xa0, 0x0b, 0x30, 0x09, 0x82, 0x04, 'a', '.', 'b',
		'c', 0x81, 0x01, 0x01,
	};
	static const unsigned char v4[] = { 0x30, 0x00 };
	struct ca_nc *nc = calloc(1, sizeof(*nc));
	struct mica_err err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(nc);
	CU_ASSERT_EQUAL_FATAL(ca_nc_parse(v1, sizeof(v1), nc, &err), 0);
	CU_ASSERT_EQUAL(allows(nc, "contoso.test"), 0);   /* '.': strictly under */
	CU_ASSERT_EQUAL(allows(nc, "www.contoso.test"), 1);
	CU_ASSERT_EQUAL(allows(nc, "secret.contoso.test"), 0);
	CU_ASSERT_EQUAL(allows(nc, "a.secret.contoso.test"), 0);
	CU_ASSERT_EQUAL(allows(nc, "10.1.2.3"), 0);
	CU_ASSERT_EQUAL(allows(nc, "192.168.1.1"), 1);
	CU_ASSERT_EQUAL(allows(nc, "2001:db8::1"), 1);
	CU_ASSERT_EQUAL(ca_nc_parse(v2, sizeof(v2), nc, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_UNSUPPORTED);
	CU_ASSERT_STRING_EQUAL(err.code, "unsupported_name_constraints");
	CU_ASSERT_EQUAL(ca_nc_parse(v3, sizeof(v3), nc, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_name_constraints");
	CU_ASSERT_EQUAL(ca_nc_parse(v4, sizeof(v4), nc, &err), -1);
	for (size_t cut = 0; cut < sizeof(v1); cut++)
		CU_ASSERT_EQUAL(ca_nc_parse(v1, cut, nc, &err), -1);
	CU_ASSERT_EQUAL(ca_nc_allows(NULL, NULL), 1);
	free(nc);
}

/* ------------------------------------------ a CA's request, a CA's cert */

static void
test_ca_request_is_a_valid_pkcs10(void)
{
	const char *doms[] = { "contoso.test" };
	struct ca_key *k = NULL;
	struct ca_csr csr;
	struct mica_err err;
	unsigned char *subj = NULL, *der = NULL;
	size_t subj_len = 0, len = 0;

	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P384, &k, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("Contoso Issuing CA", "Contoso", &subj,
					   &subj_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ca_request(k, subj, subj_len, "http://ca.test",
					    0, doms, 1, &der, &len, &err), 0);
	/* mica's own CSR parser: the signature verifies, the key is good. */
	CU_ASSERT_EQUAL(ca_csr_parse(der, len, &csr, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(csr.subject, "Contoso Issuing CA"));
	ca_csr_free(&csr);
	/* A tampered request does not verify. */
	der[len - 3] ^= 1;
	CU_ASSERT_EQUAL(ca_csr_parse(der, len, &csr, &err), -1);
	free(der);
	/* Only a CertificationRequestInfo is signed this way. */
	{
		static const unsigned char tbs_like[] = {
			0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x02,
		};

		CU_ASSERT_EQUAL(ca_sign_request(k, tbs_like, sizeof(tbs_like),
						&der, &len, &err), -1);
	}
	free(subj);
	ca_key_free(k);
}

/* What the root's in-process signer takes for a CA certificate. */
static void
test_signcheck_cacert(void)
{
	const char *doms[] = { "contoso.test" };
	struct ca_key *root = NULL, *sub = NULL;
	struct ca_sign_policy pol;
	struct ca_cacert_expect x;
	struct ca_tbs_cert t;
	struct ca_cert_info ci;
	struct mica_err err;
	unsigned char *rder = NULL, *spki = NULL, *subj = NULL, *nc = NULL;
	unsigned char *tbs = NULL, serial[4] = { 0x33, 1, 2, 3 };
	size_t rlen = 0, spki_len = 0, subj_len = 0, nc_len = 0, tbs_len = 0;
	int64_t now = (int64_t)time(NULL);

	CU_ASSERT_EQUAL_FATAL(self_signed("Check Root", &root, &rder, &rlen), 0);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(rder, rlen, &ci, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &sub, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(sub, &spki, &spki_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("Check Sub", NULL, &subj, &subj_len,
					   &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_nc_value(doms, 1, &nc, &nc_len, &err), 0);
	memset(&pol, 0, sizeof(pol));
	pol.subject = ci.subject;
	pol.subject_len = ci.subject_len;
	memcpy(pol.ski, ci.ski, ci.ski_len);
	pol.ski_len = ci.ski_len;
	pol.sig_alg = ca_key_sig_alg(root, &pol.sig_alg_len);
	pol.not_before = ci.not_before;
	pol.not_after = ci.not_after;
	memset(&x, 0, sizeof(x));
	x.subject = subj;
	x.subject_len = subj_len;
	x.spki = spki;
	x.spki_len = spki_len;
	x.path_len = 0;
	x.nc = nc;
	x.nc_len = nc_len;
	x.max_days = 100;

#define BUILD(mod) do {							\
		memset(&t, 0, sizeof(t));				\
		t.serial = serial; t.serial_len = sizeof(serial);	\
		t.sig_alg = pol.sig_alg; t.sig_alg_len = pol.sig_alg_len; \
		t.issuer = ci.subject; t.issuer_len = ci.subject_len;	\
		t.subject = subj; t.subject_len = subj_len;		\
		t.not_before = now - 60; t.not_after = now + 90 * DAY;	\
		t.spki = spki; t.spki_len = spki_len;			\
		t.is_ca = 1; t.path_len = 0;				\
		t.key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN;	\
		t.nc_permit = doms; t.nc_npermit = 1;			\
		ca_x509_key_id(spki, spki_len, t.ski, NULL);		\
		t.has_aki = 1;						\
		memcpy(t.aki, ci.ski, ci.ski_len); t.aki_len = ci.ski_len; \
		mod;							\
		free(tbs); tbs = NULL;					\
		CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, \
						       &err), 0);	\
	} while (0)

	BUILD((void)0);
	CU_ASSERT_EQUAL(ca_signcheck_cacert(&pol, &x, now, tbs, tbs_len, &err), 0);
	BUILD(t.path_len = 1);
	CU_ASSERT_EQUAL(ca_signcheck_cacert(&pol, &x, now, tbs, tbs_len, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "pathLenConstraint"));
	BUILD(t.nc_npermit = 0);
	CU_ASSERT_EQUAL(ca_signcheck_cacert(&pol, &x, now, tbs, tbs_len, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nameConstraints"));
	BUILD(t.subject = ci.subject; t.subject_len = ci.subject_len);
	CU_ASSERT_EQUAL(ca_signcheck_cacert(&pol, &x, now, tbs, tbs_len, &err), -1);
	{
		/* Requested so, the root's name in capitals: self-issued to
		 * relying parties, whose pathLen it would escape. */
		unsigned char *same = NULL;
		size_t same_len = 0;

		CU_ASSERT_EQUAL_FATAL(ca_x509_name("CHECK ROOT", NULL, &same,
						   &same_len, &err), 0);
		x.subject = same;
		x.subject_len = same_len;
		BUILD(t.subject = same; t.subject_len = same_len);
		CU_ASSERT_EQUAL(ca_signcheck_cacert(&pol, &x, now, tbs,
						    tbs_len, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "issuer's name"));
		x.subject = subj;
		x.subject_len = subj_len;
		free(same);
	}
	BUILD(t.not_after = now + 200 * DAY);
	CU_ASSERT_EQUAL(ca_signcheck_cacert(&pol, &x, now, tbs, tbs_len, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "validity"));
	BUILD(t.eku = CA_EKU_SERVER_AUTH);
	CU_ASSERT_EQUAL(ca_signcheck_cacert(&pol, &x, now, tbs, tbs_len, &err), -1);
	BUILD(t.aki[0] ^= 1);
	CU_ASSERT_EQUAL(ca_signcheck_cacert(&pol, &x, now, tbs, tbs_len, &err), -1);
	BUILD(t.key_usage = CA_KU_KEY_CERT_SIGN);
	CU_ASSERT_EQUAL(ca_signcheck_cacert(&pol, &x, now, tbs, tbs_len, &err), -1);
	/* Not a CA at all: the leaf rules would refuse it too. */
	BUILD(t.is_ca = 0; t.path_len = -1; t.nc_npermit = 0;
	      t.key_usage = CA_KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(ca_signcheck_cacert(&pol, &x, now, tbs, tbs_len, &err), -1);
	/* And a leaf with name constraints never passes as a leaf. */
	BUILD((void)0);
	CU_ASSERT_EQUAL(ca_signcheck_leaf(&pol, now, tbs, tbs_len, &err), -1);
#undef BUILD
	free(tbs);
	free(nc);
	free(subj);
	free(spki);
	free(rder);
	ca_key_free(root);
	ca_key_free(sub);
}

/* What a constrained CA's signer takes for a leaf: its allowed domains
 * may have come to hold one its name constraints leave out; relying
 * parties refuse a host or mailbox there, but constrain no UPN, so the
 * signer holds every name, a UPN as a mailbox, to the CA certificate's
 * constraints itself. */
static void
test_signcheck_leaf_name_constraints(void)
{
	const char *doms[] = { "contoso.test" };
	const char *allowed[] = { "contoso.test", "fabrikam.test" };
	struct ca_key *root = NULL, *leaf = NULL;
	struct ca_sign_policy pol;
	struct ca_tbs_cert t;
	struct ca_cert_info ci;
	struct ca_name nm;
	struct ca_nc nc;
	struct mica_err err;
	unsigned char *rder = NULL, *spki = NULL, *ncv = NULL, *tbs = NULL;
	unsigned char serial[4] = { 0x34, 1, 2, 3 };
	size_t rlen = 0, spki_len = 0, ncv_len = 0, tbs_len = 0;
	int64_t now = (int64_t)time(NULL);
	static const unsigned char empty_name[] = { 0x30, 0x00 };
	static const struct {
		const char *name;
		int ok;
	} cases[] = {
		{ "upn:alice@contoso.test", 0 },
		{ "upn:alice@ad.contoso.test", 0 },
		{ "alice@contoso.test", 0 },
		{ "pc1.contoso.test", 0 },
		/* within the allowed domains, outside the constraints */
		{ "upn:administrator@fabrikam.test", -1 },
		{ "admin@fabrikam.test", -1 },
		{ "pc1.fabrikam.test", -1 },
	};

	CU_ASSERT_EQUAL_FATAL(self_signed("Check NC CA", &root, &rder, &rlen), 0);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(rder, rlen, &ci, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &leaf, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(leaf, &spki, &spki_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_nc_value(doms, 1, &ncv, &ncv_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_nc_parse(ncv, ncv_len, &nc, &err), 0);
	memset(&pol, 0, sizeof(pol));
	pol.subject = ci.subject;
	pol.subject_len = ci.subject_len;
	memcpy(pol.ski, ci.ski, ci.ski_len);
	pol.ski_len = ci.ski_len;
	pol.sig_alg = ca_key_sig_alg(root, &pol.sig_alg_len);
	pol.not_before = ci.not_before;
	pol.not_after = ci.not_after;
	pol.domains = allowed;
	pol.ndomains = 2;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(ca_name_parse(cases[i].name, 0, &nm, &err),
				      0);
		memset(&t, 0, sizeof(t));
		t.serial = serial;
		t.serial_len = sizeof(serial);
		t.sig_alg = pol.sig_alg;
		t.sig_alg_len = pol.sig_alg_len;
		t.issuer = ci.subject;
		t.issuer_len = ci.subject_len;
		t.subject = empty_name;   /* as under constraints */
		t.subject_len = sizeof(empty_name);
		t.not_before = now - 60;
		t.not_after = now + 90 * DAY;
		t.spki = spki;
		t.spki_len = spki_len;
		t.path_len = -1;
		t.key_usage = CA_KU_DIGITAL_SIGNATURE;
		t.eku = CA_EKU_CLIENT_AUTH;
		t.names = &nm;
		t.nnames = 1;
		ca_x509_key_id(spki, spki_len, t.ski, NULL);
		t.has_aki = 1;
		memcpy(t.aki, ci.ski, ci.ski_len);
		t.aki_len = ci.ski_len;
		free(tbs);
		tbs = NULL;
		CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err),
				      0);
		/* Without the constraints every one is in the domains. */
		pol.nc = NULL;
		CU_ASSERT_EQUAL(ca_signcheck_leaf(&pol, now, tbs, tbs_len, &err),
				0);
		pol.nc = &nc;
		if (ca_signcheck_leaf(&pol, now, tbs, tbs_len, &err) !=
		    cases[i].ok) {
			fprintf(stderr, "%s: %s\n", cases[i].name,
				cases[i].ok ? "signed" : err.msg);
			CU_FAIL("signer's verdict under name constraints");
		} else if (cases[i].ok != 0) {
			CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "name "
						      "constraints"));
		}
	}
	free(tbs);
	free(ncv);
	free(spki);
	free(rder);
	ca_key_free(root);
	ca_key_free(leaf);
}

/* A Name of one RDN per (TAG, VALUE) of V (N of them), or with MULTI one
 * RDN holding them all, into BUF; its length. OID 2.5.4.3 (CN) unless
 * the tag has 0x100 set (then 2.5.4.10, O). */
struct nm_part { unsigned tag; const char *v; size_t len; };

static size_t
name_der(const struct nm_part *v, size_t n, int multi, unsigned char *buf)
{
	unsigned char atvs[8][80];
	size_t alen[8], total = 0, at = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = v[i].len ? v[i].len : strlen(v[i].v);
		unsigned char *a = atvs[i];

		a[0] = 0x30; a[1] = (unsigned char)(5 + 2 + l);
		a[2] = 0x06; a[3] = 3; a[4] = 0x55; a[5] = 4;
		a[6] = (v[i].tag & 0x100) ? 0x0a : 0x03;
		a[7] = (unsigned char)(v[i].tag & 0xff);
		a[8] = (unsigned char)l;
		memcpy(a + 9, v[i].v, l);
		alen[i] = 9 + l;
		total += alen[i] + (multi ? 0 : 2);
	}
	if (multi)
		total += 2;
	buf[at++] = 0x30;
	buf[at++] = (unsigned char)total;
	if (multi) {
		buf[at++] = 0x31;
		buf[at++] = (unsigned char)(total - 2);
	}
	for (size_t i = 0; i < n; i++) {
		if (!multi) {
			buf[at++] = 0x31;
			buf[at++] = (unsigned char)alen[i];
		}
		memcpy(buf + at, atvs[i], alen[i]);
		at += alen[i];
	}
	return at;
}

/* ------------------------------------ what install-ca reads of a path */

/* TAG, the length of N and V[0..N) at OUT; the octets written. (Lengths
 * below 64 KiB: a test certificate's.) */
static size_t
tlv(unsigned char *out, unsigned tag, const unsigned char *v, size_t n)
{
	size_t h = 0;

	out[h++] = (unsigned char)tag;
	if (n < 0x80)
		out[h++] = (unsigned char)n;
	else if (n < 0x100) {
		out[h++] = 0x81;
		out[h++] = (unsigned char)n;
	} else {
		out[h++] = 0x82;
		out[h++] = (unsigned char)(n >> 8);
		out[h++] = (unsigned char)n;
	}
	memmove(out + h, v, n);
	return h + n;
}

/* An Extension (OID, critical when CRIT, VALUE) at OUT. */
static size_t
ext(unsigned char *out, const unsigned char *oid, size_t oid_len, int crit,
    const unsigned char *value, size_t value_len)
{
	unsigned char body[1024];
	size_t n = 0;

	n += tlv(body + n, CA_DER_OID, oid, oid_len);
	if (crit)
		n += tlv(body + n, CA_DER_BOOLEAN, (const unsigned char *)"\xff", 1);
	n += tlv(body + n, CA_DER_OCTET_STRING, value, value_len);
	return tlv(out, CA_DER_SEQUENCE, body, n);
}

/* A certificate (DER at OUT, its length returned) for SPKI with the
 * Extensions EXTS (a run of Extension elements, none when EXTS_LEN is 0),
 * its signature a placeholder: what ca_cert_info_read reads, not what it
 * verifies. */
static size_t
raw_cert(const unsigned char *spki, size_t spki_len, const unsigned char *exts,
	 size_t exts_len, unsigned char *out)
{
	static const unsigned char head[] = {
		0xa0, 0x03, 0x02, 0x01, 0x02,             /* v3 */
		0x02, 0x01, 0x01,                         /* serial 1 */
		0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04,
		0x03, 0x02,                               /* ecdsa-with-SHA256 */
		0x30, 0x11, 0x31, 0x0f, 0x30, 0x0d, 0x06, 0x03, 0x55, 0x04,
		0x03, 0x0c, 0x06, 'O', 'r', 'g', ' ', 'C', 'A',  /* CN=Org CA */
		0x30, 0x1e, 0x17, 0x0d, '2', '5', '0', '1', '0', '1', '0', '0',
		'0', '0', '0', '0', 'Z', 0x17, 0x0d, '3', '5', '0', '1', '0',
		'1', '0', '0', '0', '0', '0', '0', 'Z',
		0x30, 0x11, 0x31, 0x0f, 0x30, 0x0d, 0x06, 0x03, 0x55, 0x04,
		0x03, 0x0c, 0x06, 'O', 'r', 'g', ' ', 'C', 'A',
	};
	static const unsigned char tail[] = {
		0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04,
		0x03, 0x02, 0x03, 0x02, 0x00, 0x00,
	};
	unsigned char tbs[4096], cert[4096], seq[2048];
	size_t n = 0, m;

	memcpy(tbs, head, sizeof(head));
	n = sizeof(head);
	memcpy(tbs + n, spki, spki_len);
	n += spki_len;
	if (exts_len > 0) {
		m = tlv(seq, CA_DER_SEQUENCE, exts, exts_len);
		n += tlv(tbs + n, CA_DER_CTX_CONS(3), seq, m);
	}
	m = tlv(cert, CA_DER_SEQUENCE, tbs, n);
	memcpy(cert + m, tail, sizeof(tail));
	return tlv(out, CA_DER_SEQUENCE, cert, m + sizeof(tail));
}

/* A placeholder key: the algorithm OID ALG (contents), a short key. */
static size_t
raw_spki(const unsigned char *alg, size_t alg_len, unsigned char *out)
{
	unsigned char a[64], body[128];
	size_t n, m;

	n = tlv(a, CA_DER_OID, alg, alg_len);
	m = tlv(body, CA_DER_SEQUENCE, a, n);
	m += tlv(body + m, CA_DER_BIT_STRING,
		 (const unsigned char *)"\x00\x04\x01\x02\x03", 5);
	return tlv(out, CA_DER_SEQUENCE, body, m);
}

static void
test_path_extensions_read(void)
{
	static const unsigned char oid_pc[] = { 0x55, 0x1d, 0x24 };
	static const unsigned char oid_cdp[] = { 0x55, 0x1d, 0x1f };
	static const unsigned char oid_aia[] = {
		0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01 };
	static const unsigned char ec[] = {
		0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
	static const unsigned char pss[] = {
		0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a };
	static const unsigned char rsa[] = {
		0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
	/* policyConstraints values, and what they read as (require,
	 * inhibit), or refused (-2). */
	static const struct {
		const char *v;
		size_t len;
		int req, inh;
	} pcs[] = {
		{ "\x30\x03\x80\x01\x00", 5, 0, -1 },
		{ "\x30\x06\x80\x01\x02\x81\x01\x01", 8, 2, 1 },
		{ "\x30\x03\x81\x01\x00", 5, -1, 0 },
		{ "\x30\x00", 2, -1, -1 },             /* nothing required */
		{ "\x30\x04\x80\x02\x00\xff", 6, 255, -1 },
		{ "\x30\x04\x80\x02\x02\x00", 6, CA_SKIPCERTS_MAX, -1 },
		{ "\x30\x07\x80\x05\x7f\xff\xff\xff\xff", 9, CA_SKIPCERTS_MAX, -1 },
		{ "\x30\x03\x80\x01\xff", 5, -2, 0 },       /* negative */
		{ "\x30\x04\x80\x02\x00\x05", 6, -2, 0 },   /* not minimal */
		{ "\x30\x02\x80\x00", 4, -2, 0 },           /* empty */
		{ "\x30\x06\x81\x01\x01\x80\x01\x02", 8, -2, 0 },  /* order */
		{ "\x30\x05\xa0\x03\x02\x01\x00", 7, -2, 0 },      /* [0] EXPLICIT */
		{ "\x30\x05\x80\x01\x00\x05\x00", 7, -2, 0 },      /* more */
		{ "\x30\x03\x80\x01\x00\x00", 6, -2, 0 },          /* after it */
		{ "\x02\x01\x00", 3, -2, 0 },
	};
	unsigned char spki[128], exts[2048], der[4096], v[1024], g[512], dp[512];
	struct ca_cert_info ci;
	struct mica_err err;
	size_t sl, el, dl, n, k;

	sl = raw_spki(ec, sizeof(ec), spki);
	/* None: nothing required, nothing critical. */
	dl = raw_cert(spki, sl, NULL, 0, der);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(der, dl, &ci, &err), 0);
	CU_ASSERT_EQUAL(ci.require_explicit, -1);
	CU_ASSERT_EQUAL(ci.inhibit_mapping, -1);
	CU_ASSERT_EQUAL(ci.key_pss, 0);
	CU_ASSERT_EQUAL(ca_cert_names_url(&ci, CA_URL_CRL, "http://a/root.crl"), 0);
	for (size_t i = 0; i < sizeof(pcs) / sizeof(pcs[0]); i++) {
		int crit = (int)(i % 2);

		el = ext(exts, oid_pc, sizeof(oid_pc), crit,
			 (const unsigned char *)pcs[i].v, pcs[i].len);
		dl = raw_cert(spki, sl, exts, el, der);
		if (pcs[i].req == -2) {
			CU_ASSERT_EQUAL(ca_cert_info_read(der, dl, &ci, &err), -1);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_certificate");
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "policyConstraints"));
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(der, dl, &ci, &err), 0);
		CU_ASSERT_EQUAL(ci.require_explicit, pcs[i].req);
		CU_ASSERT_EQUAL(ci.inhibit_mapping, pcs[i].inh);
		CU_ASSERT_EQUAL(ci.pc_critical, crit);
		/* Read, so critical is no longer "unknown". */
		CU_ASSERT_EQUAL(ci.unknown_critical, 0);
	}

	/* The key's algorithm: id-RSASSA-PSS, not rsaEncryption. */
	dl = raw_cert(spki, raw_spki(pss, sizeof(pss), spki), NULL, 0, der);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(der, dl, &ci, &err), 0);
	CU_ASSERT_EQUAL(ci.key_pss, 1);
	dl = raw_cert(spki, raw_spki(rsa, sizeof(rsa), spki), NULL, 0, der);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(der, dl, &ci, &err), 0);
	CU_ASSERT_EQUAL(ci.key_pss, 0);

	/* CDP: a DistributionPoint with a cRLIssuer alone, then one whose
	 * fullName has a dNSName and the URL. AIA: the URL as OCSP, then
	 * another as caIssuers. */
	sl = raw_spki(ec, sizeof(ec), spki);
	n = tlv(g, CA_DER_CTX(2), (const unsigned char *)"a.test", 6);
	n += tlv(g + n, CA_DER_CTX(6), (const unsigned char *)"http://a/root.crl", 17);
	k = tlv(dp, CA_DER_CTX_CONS(0), g, n);               /* fullName */
	n = tlv(g, CA_DER_CTX_CONS(0), dp, k);               /* distributionPoint */
	k = tlv(dp, CA_DER_SEQUENCE, g, n);
	n = tlv(g, CA_DER_CTX_CONS(4), (const unsigned char *)"\x30\x00", 2);
	n = tlv(v, CA_DER_CTX_CONS(2), g, n);                /* cRLIssuer */
	n = tlv(g, CA_DER_SEQUENCE, v, n);
	memcpy(g + n, dp, k);
	n = tlv(v, CA_DER_SEQUENCE, g, n + k);
	el = ext(exts, oid_cdp, sizeof(oid_cdp), 0, v, n);
	n = tlv(g, CA_DER_OID, (const unsigned char *)"\x2b\x06\x01\x05\x05\x07\x30\x01", 8);
	n += tlv(g + n, CA_DER_CTX(6), (const unsigned char *)"http://a/ocsp", 13);
	k = tlv(dp, CA_DER_SEQUENCE, g, n);
	n = tlv(g, CA_DER_OID, (const unsigned char *)"\x2b\x06\x01\x05\x05\x07\x30\x02", 8);
	n += tlv(g + n, CA_DER_CTX(6), (const unsigned char *)"http://a/root.crt", 17);
	k += tlv(dp + k, CA_DER_SEQUENCE, g, n);
	n = tlv(v, CA_DER_SEQUENCE, dp, k);
	el += ext(exts + el, oid_aia, sizeof(oid_aia), 0, v, n);
	dl = raw_cert(spki, sl, exts, el, der);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(der, dl, &ci, &err), 0);
	CU_ASSERT_EQUAL(ca_cert_names_url(&ci, CA_URL_CRL, "http://a/root.crl"), 1);
	CU_ASSERT_EQUAL(ca_cert_names_url(&ci, CA_URL_CRL, "http://a/root.cr"), 0);
	CU_ASSERT_EQUAL(ca_cert_names_url(&ci, CA_URL_CRL, "http://a/root.crt"), 0);
	CU_ASSERT_EQUAL(ca_cert_names_url(&ci, CA_URL_CRL, "a.test"), 0);
	CU_ASSERT_EQUAL(ca_cert_names_url(&ci, CA_URL_CA_ISSUERS, "http://a/root.crt"), 1);
	CU_ASSERT_EQUAL(ca_cert_names_url(&ci, CA_URL_CA_ISSUERS, "http://a/ocsp"), 0);
	CU_ASSERT_EQUAL(ca_cert_names_url(&ci, CA_URL_CA_ISSUERS, "http://a/root.crl"), 0);
	CU_ASSERT_EQUAL(ca_cert_names_url(&ci, 0, "http://a/root.crl"), 0);
}

static void
test_name_match(void)
{
	static const struct nm_part ref[] = { { 0x0c, "Offline Root", 0 } };
	static const struct nm_part same[][1] = {
		{ { 0x13, "Offline Root", 0 } },      /* PrintableString */
		{ { 0x0c, "OFFLINE ROOT", 0 } },
		{ { 0x0c, "  Offline \t Root ", 0 } },
		{ { 0x1e, "\0o\0f\0f\0l\0i\0n\0e\0 \0R\0o\0o\0t", 24 } },
		{ { 0x1c, "\0\0\0O\0\0\0f\0\0\0f\0\0\0l\0\0\0i\0\0\0n"
			  "\0\0\0e\0\0\0 \0\0\0r\0\0\0o\0\0\0o\0\0\0t", 48 } },
	};
	static const struct nm_part other[][1] = {
		{ { 0x0c, "Offline Root 2", 0 } },
		{ { 0x0c, "OfflineRoot", 0 } },
		{ { 0x10c, "Offline Root", 0 } },     /* O, not CN */
		{ { 0x0c, "Offline R\xc3\xb6ot", 0 } },
		{ { 0x04, "Offline Root", 0 } },      /* no string type */
	};
	static const struct nm_part two[] = {
		{ 0x0c, "Offline Root", 0 }, { 0x10c, "Contoso", 0 },
	};
	static const struct nm_part two_rev[] = {
		{ 0x10c, "contoso", 0 }, { 0x13, "offline root", 0 },
	};
	static const struct nm_part latin[][1] = {
		{ { 0x0c, "\xc3\x89" "cole", 0 } },      /* UTF-8 E-acute */
		{ { 0x0c, "\xc3\xa9" "cole", 0 } },      /* e-acute: not folded */
		{ { 0x14, "\xc9" "cole", 0 } },           /* T.61 as Latin-1 */
		{ { 0x0c, "\xc9" "cole", 0 } },           /* not UTF-8: as octets */
		{ { 0x14, "\xc9" "cole", 0 } },
	};
	unsigned char a[200], b[200];
	size_t al, bl;

	al = name_der(ref, 1, 0, a);
	CU_ASSERT_EQUAL(ca_name_match(a, al, a, al), 1);
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		bl = name_der(same[i], 1, 0, b);
		CU_ASSERT_EQUAL(ca_name_match(a, al, b, bl), 1);
		CU_ASSERT_EQUAL(ca_name_match(b, bl, a, al), 1);
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		bl = name_der(other[i], 1, 0, b);
		CU_ASSERT_EQUAL(ca_name_match(a, al, b, bl), 0);
	}
	/* A multi-valued RDN in any order; not the same as two RDNs. */
	al = name_der(two, 2, 1, a);
	bl = name_der(two_rev, 2, 1, b);
	CU_ASSERT_EQUAL(ca_name_match(a, al, b, bl), 1);
	bl = name_der(two, 2, 0, b);
	CU_ASSERT_EQUAL(ca_name_match(a, al, b, bl), 0);
	/* Two RDNs in another order are another name. */
	al = name_der(two_rev, 2, 0, a);
	CU_ASSERT_EQUAL(ca_name_match(a, al, b, bl), 0);
	/* Only ASCII letters fold; Latin-1 T.61 reads as its Unicode. */
	al = name_der(latin[0], 1, 0, a);
	bl = name_der(latin[1], 1, 0, b);
	CU_ASSERT_EQUAL(ca_name_match(a, al, b, bl), 0);
	bl = name_der(latin[2], 1, 0, b);
	CU_ASSERT_EQUAL(ca_name_match(a, al, b, bl), 1);
	al = name_der(latin[3], 1, 0, a);
	bl = name_der(latin[4], 1, 0, b);
	CU_ASSERT_EQUAL(ca_name_match(a, al, b, bl), 0);
	CU_ASSERT_EQUAL(ca_name_match(a, al, a, al), 1);
	/* No Name: -1, never "equal". */
	CU_ASSERT_EQUAL(ca_name_match(a, al - 1, a, al - 1), -1);
	CU_ASSERT_EQUAL(ca_name_match((const unsigned char *)"\x30\x02\x31\x00",
				      4, a, al), -1);
	CU_ASSERT_EQUAL(ca_name_match(NULL, 0, a, al), -1);
}

/* A directory string's text: every string type as UTF-8, a surrogate in
 * UCS-2 or UCS-4 no text (it would be written as no UTF-8 either). */
static void
test_dirstring_text(void)
{
	static const struct {
		unsigned tag;
		const char *v;
		size_t len;
		int rc;
		const char *text;
	} cases[] = {
		{ 0x0c, "Caf\xc3\xa9", 5, 0, "Caf\xc3\xa9" },
		{ 0x13, "Contoso", 7, 0, "Contoso" },
		{ 0x14, "\xc9" "cole", 5, 0, "\xc3\x89" "cole" },   /* Latin-1 */
		{ 0x1e, "\0C\0a\0f\0\xe9", 8, 0, "Caf\xc3\xa9" },
		{ 0x1e, "\x20\x2e", 2, 0, "\xe2\x80\xae" },         /* U+202E */
		{ 0x1c, "\0\0\0C\0\x01\xf5\x12", 8, 0, "C\xf0\x9f\x94\x92" },
		{ 0x1e, "\0C\0", 3, -1, NULL },                  /* odd length */
		{ 0x1e, "\xd8\x3d\xdd\x12", 4, -1, NULL },         /* a pair: UTF-16 */
		{ 0x1e, "\0a\xdc\x00", 4, -1, NULL },              /* a lone one */
		{ 0x1c, "\0\0\xd8\x00", 4, -1, NULL },
		{ 0x1c, "\0\x11\0\0", 4, -1, NULL },               /* past U+10FFFF */
		{ 0x0c, "\xed\xa0\x80", 3, -1, NULL },              /* in UTF-8 */
		{ 0x1e, "\0a\0\0", 4, -1, NULL },                  /* a NUL */
		{ 0x04, "abc", 3, 1, NULL },                     /* no string */
	};
	char out[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ca_dirstring_utf8(cases[i].tag,
					   (const unsigned char *)cases[i].v,
					   cases[i].len, out, sizeof(out));

		if (rc != cases[i].rc)
			fprintf(stderr, "\n  dirstring case %zu: rc %d\n", i, rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0 && cases[i].text != NULL)
			CU_ASSERT_STRING_EQUAL(out, cases[i].text);
	}
}

/* A Name for people (ca_name_text): every string type's text, and what
 * could act on a terminal or pass for another name escaped. */
static void
test_name_text(void)
{
	static const struct {
		const char *what;
		struct nm_part v;
		const char *text;
	} cases[] = {
		{ "a UTF8String as it is", { 0x0c, "Caf\xc3\xa9 Root", 0 },
		  "CN=Caf\xc3\xa9 Root" },
		{ "a BMPString (UCS-2) as its text",
		  { 0x1e, "\0S\0u\0b\0 \0\xe9\0 \0C\0a\0f\0\xe9", 20 },
		  "CN=Sub \xc3\xa9 Caf\xc3\xa9" },
		{ "a UniversalString (UCS-4) as its text",
		  { 0x1c, "\0\0\0C\0\0\0\xe9", 8 }, "CN=C\xc3\xa9" },
		{ "a TeletexString read as Latin-1, as OpenSSL reads it",
		  { 0x14, "\xc9" "cole", 0 }, "CN=\xc3\x89" "cole" },
		{ "a BMPString of odd length: its octets",
		  { 0x1e, "\0S\0u\0", 5 }, "CN=\\x00S\\x00u\\x00" },
		{ "a BMPString with a surrogate: its octets",
		  { 0x1e, "\xd8\x3d\0a", 4 }, "CN=\\xd8\\=\\x00a" },
		{ "RFC 4514's specials escaped: no value reads as two",
		  { 0x0c, "Root, O=Contoso + OU=x;\"<>", 0 },
		  "CN=Root\\, O\\=Contoso \\+ OU\\=x\\;\\\"\\<\\>" },
		{ "'#' or ' ' first, ' ' last escaped",
		  { 0x0c, "#a b ", 0 }, "CN=\\#a b\\ " },
		{ "... ' ' first", { 0x0c, " a", 0 }, "CN=\\ a" },
		{ "... in another type's octets too",
		  { 0x04, "a,b", 0 }, "CN=a\\,b" },
		{ "U+202E and a C1 CSI escaped, byte by byte",
		  { 0x0c, "a\xe2\x80\xae" "b\xc2\x9b" "2J", 0 },
		  "CN=a\\xe2\\x80\\xaeb\\xc2\\x9b2J" },
		{ "... in a BMPString too",
		  { 0x1e, "\0a\x20\x2e\0b\xfe\xff", 8 },
		  "CN=a\\xe2\\x80\\xaeb\\xef\\xbb\\xbf" },
		{ "ESC and a zero-width space",
		  { 0x0c, "\x1b[2Jad\xe2\x80\x8bmin", 0 },
		  "CN=\\x1b[2Jad\\xe2\\x80\\x8bmin" },
		{ "a UTF8String not well formed keeps what is",
		  { 0x0c, "Caf\xe9 \xc3\xa9", 0 }, "CN=Caf\\xe9 \xc3\xa9" },
		{ "a NUL", { 0x0c, "a\0b", 3 }, "CN=a\\x00b" },
		{ "a backslash doubled, so that the text \\x1b is not ESC's",
		  { 0x0c, "a\\x1b", 0 }, "CN=a\\\\x1b" },
		{ "another type's octets, ASCII as it is",
		  { 0x04, "ab\xc3\xa9", 0 }, "CN=ab\\xc3\\xa9" },
	};
	static const struct nm_part two[] = {
		{ 0x1e, "\0C\0A", 4 }, { 0x10c, "Contoso", 0 },
	};
	unsigned char der[200];
	char out[128], small[12];
	size_t l;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		l = name_der(&cases[i].v, 1, 0, der);
		ca_name_text(der, l, out, sizeof(out));
		if (strcmp(out, cases[i].text) != 0)
			fprintf(stderr, "\n  %s: got \"%s\"\n", cases[i].what,
				out);
		CU_ASSERT_STRING_EQUAL(out, cases[i].text);
	}
	/* Most significant last; each value by its own type. */
	l = name_der(two, 2, 0, der);
	ca_name_text(der, l, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "O=Contoso, CN=CA");
	{
		/* serialNumber, title, 1.2.3.4: mbedTLS's short names, else
		 * the dotted OID (every other type read "OID" alike) */
		static const unsigned char sn[] = {
			0x30, 0x2d,
			0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x05,
			0x13, 0x04, '1', '2', '3', '4',
			0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x0c,
			0x0c, 0x04, 'B', 'o', 's', 's',
			0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x2a, 0x03, 0x04,
			0x0c, 0x04, 'x', 'y', 'z', 'w',
		};

		ca_name_text(sn, sizeof(sn), out, sizeof(out));
		CU_ASSERT_STRING_EQUAL(out, "1.2.3.4=xyzw, title=Boss, "
				       "serialNumber=1234");
	}
	/* One RDN of two attributes: " + " (RFC 4514 2.2) */
	l = name_der(two, 2, 1, der);
	ca_name_text(der, l, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "O=Contoso + CN=CA");
	{
		/* forty RDNs: the last (most specific) thirty-two, and "..." */
		unsigned char big[1000];
		char text[600], want[600];
		size_t at = 0, w = 0;

		big[at++] = 0x30;
		big[at++] = 0x82;
		at += 2;
		for (int i = 0; i < 40; i++) {
			static const unsigned char atv[] = { 0x31, 0x0c, 0x30,
				0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x03 };

			memcpy(big + at, atv, sizeof(atv));
			at += sizeof(atv);
			at += (size_t)sprintf((char *)big + at, "%03d", i);
		}
		big[2] = (unsigned char)((at - 4) >> 8);
		big[3] = (unsigned char)(at - 4);
		for (int i = 39; i >= 8; i--)
			w += (size_t)sprintf(want + w, "%sCN=%03d",
					     i == 39 ? "" : ", ", i);
		sprintf(want + w, ", ...");
		ca_name_text(big, at, text, sizeof(text));
		CU_ASSERT_STRING_EQUAL(text, want);
		/* room for the 32 but not for ", ...": "..." all the same */
		ca_name_text(big, at, text, w + 4);
		CU_ASSERT_EQUAL(strncmp(text, want, w), 0);
		CU_ASSERT_STRING_EQUAL(text + w, "...");
	}
	/* Cut at a whole escape: "CN=a" and two of the three. */
	{
		static const struct nm_part rlo = {
			0x0c, "a\xe2\x80\xae" "b\xc2\x9b" "2J", 0 };

		l = name_der(&rlo, 1, 0, der);
	}
	ca_name_text(der, l, small, sizeof(small));
	CU_ASSERT_STRING_EQUAL(small, "CN=a\\xe2...");
	{
		/* cut before a label whose value has no room: never an "O="
		 * that reads as an empty O */
		static const struct nm_part cn_o[] = {
			{ 0x10c, "X", 0 },
			{ 0x0c, "AAAA\xe2\x80\xae" "BBBBBBBB", 0 },
		};
		char mid[32];

		l = name_der(cn_o, 2, 0, der);
		ca_name_text(der, l, mid, sizeof(mid));
		CU_ASSERT_STRING_EQUAL(mid, "CN=AAAA\\xe2\\x80\\xaeBBBBBBBB...");
		ca_name_text(der, l, mid, 12);
		CU_ASSERT_STRING_EQUAL(mid, "CN=AAAA...");
		ca_name_text(der, l, out, sizeof(out));
		CU_ASSERT_STRING_EQUAL(out, "CN=AAAA\\xe2\\x80\\xaeBBBBBBBB, O=X");
	}
	/* No Name: empty. */
	ca_name_text(der, l - 1, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "");
}

/* --------------------------------------------------------- the engine */

static void
test_engine_ceremony(void)
{
	char rdir[PATH_MAX], idir[PATH_MAX], notice[CA_NOTICE_MAX];
	struct ca_init_opts o;
	struct ca_init_result res;
	struct ca_principal cli;
	struct ca_sign_ca_opts so;
	struct ca_issued sub, leaf, leaf0, next, kk_old, kk_new, old1, old2;
	char req0[CA_ID_MAX];
	struct ca_key *kk = NULL;
	struct ca_submit s;
	struct ca *root = NULL, *ica = NULL, *served = NULL;
	struct mica_err err;
	const char *doms[] = { "contoso.test" };
	unsigned char *nx = NULL;
	size_t nx_len = 0;
	unsigned char *csr = NULL, *csr2 = NULL, *lcsr = NULL;
	size_t csr_len = 0, csr2_len = 0, lcsr_len = 0;
	const unsigned char *rder;
	size_t rlen;
	int idx[16];

	memset(&sub, 0, sizeof(sub));
	memset(&leaf, 0, sizeof(leaf));
	memset(&next, 0, sizeof(next));
	ca_principal_cli(&cli);

	/* An offline root. */
	memset(&o, 0, sizeof(o));
	o.datadir = dir_of(rdir, sizeof(rdir), "root");
	o.name = "Engine Root";
	o.kind = CA_INIT_ROOT_ONLY;
	CU_ASSERT_EQUAL_FATAL(ca_init(&o, &res, &err), 0);
	ca_init_result_free(&res);
	CU_ASSERT_EQUAL_FATAL(ca_open(rdir, CA_OPEN_UNLOCK, NULL, &root, &err), 0);
	CU_ASSERT_EQUAL(ca_state(root), CA_STATE_ROOT_ONLY);
	rder = ca_root_der(root, &rlen);
	CU_ASSERT_PTR_NOT_NULL(rder);

	/* An issuing CA from its request. */
	memset(&o, 0, sizeof(o));
	o.datadir = dir_of(idir, sizeof(idir), "issuing");
	o.name = "Engine Issuing CA";
	o.kind = CA_INIT_SUBORDINATE;
	o.domains = doms;
	o.ndomains = 1;
	o.public_url = "http://ca.contoso.test";
	CU_ASSERT_EQUAL_FATAL(ca_init(&o, &res, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(res.csr);
	CU_ASSERT_EQUAL_FATAL(ca_open(idir, CA_OPEN_UNLOCK, NULL, &ica, &err), 0);
	CU_ASSERT_EQUAL(ca_state(ica), CA_STATE_AWAITING);
	CU_ASSERT_EQUAL(ca_chain_count(ica), 0);
	/* Asked again, the same request. */
	CU_ASSERT_EQUAL(ca_renew_ca(ica, &cli, 0, NULL, -1, NULL, &csr2,
				    &csr2_len, &err), 0);
	CU_ASSERT(csr2_len == res.csr_len && memcmp(csr2, res.csr, csr2_len) == 0);
	free(csr2);
	csr2 = NULL;
	/* Nothing is issued yet. */
	CU_ASSERT_EQUAL_FATAL(leaf_csr("www.contoso.test", &lcsr, &lcsr_len), 0);
	memset(&s, 0, sizeof(s));
	s.csr = lcsr;
	s.csr_len = lcsr_len;
	CU_ASSERT_EQUAL(ca_submit_csr(ica, &cli, &s, &leaf, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "awaiting_certificate");
	CU_ASSERT_EQUAL(ca_submit_csr(root, &cli, &s, &leaf, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "root_only");

	/* The root signs it, with the requested name constraints. */
	memset(&so, 0, sizeof(so));
	so.csr = res.csr;
	so.csr_len = res.csr_len;
	so.path_len = 0;
	CU_ASSERT_EQUAL(ca_sign_ca(ica, &cli, &so, &sub, &err), -1);
	CU_ASSERT_EQUAL_FATAL(ca_sign_ca(root, &cli, &so, &sub, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(sub.notice, "http://ca.contoso.test/root.crl"));
	/* It asks for the root's CRL and certificate: nothing to warn of. */
	CU_ASSERT_STRING_EQUAL(sub.warning, "");
	{
		struct ca_cert_info ci, ri;
		struct ca_nc *nc = calloc(1, sizeof(*nc));

		CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(sub.der, sub.der_len, &ci,
							&err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(rder, rlen, &ri, &err), 0);
		CU_ASSERT(ci.is_ca && ci.path_len == 0);
		CU_ASSERT_EQUAL(ca_cert_issued_by(&ci, &ri, &err), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ci.nc);
		CU_ASSERT_EQUAL(ca_nc_parse(ci.nc, ci.nc_len, nc, &err), 0);
		CU_ASSERT_EQUAL(allows(nc, "fabrikam.test"), 0);
		/* Its URL is a DNS name: no address is asked for, and the
		 * root excludes them all. */
		CU_ASSERT_EQUAL(allows(nc, "10.0.0.5"), 0);
		CU_ASSERT_EQUAL(allows(nc, "2001:db8::5"), 0);
		free(nc);
	}

	/* Installed: a wrong chain, then the root. */
	CU_ASSERT_EQUAL(ca_install_cert(ica, &cli, sub.der, sub.der_len,
					sub.der, sub.der_len, notice, &err), -1);
	CU_ASSERT_EQUAL(ca_install_cert(ica, &cli, rder, rlen, rder, rlen,
					notice, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "wrong_key");
	CU_ASSERT_EQUAL_FATAL(ca_install_cert(ica, &cli, sub.der, sub.der_len,
					      rder, rlen, notice, &err), 0);
	CU_ASSERT_EQUAL(ca_state(ica), CA_STATE_ACTIVE);
	CU_ASSERT_EQUAL(ca_chain_count(ica), 2);
	{
		size_t l;
		const unsigned char *top = ca_root_der(ica, &l);

		CU_ASSERT(l == rlen && memcmp(top, rder, l) == 0);
	}
	{
		/* Its end is said as an issuing CA's: renew-ca. */
		char w[512];
		int64_t end = ca_not_after(ica);

		CU_ASSERT_EQUAL(ca_expiry_warning(ica, end - 40 * 86400, w,
						  sizeof(w)), 0);
		CU_ASSERT_EQUAL(ca_expiry_warning(ica, end - 5 * 86400, w,
						  sizeof(w)), 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(w, "the CA certificate expires on"));
		CU_ASSERT_PTR_NOT_NULL(strstr(w, "mica renew-ca"));
		CU_ASSERT_EQUAL(ca_expiry_warning(ica, end + 1, w, sizeof(w)), 2);
	}

	/* Issuance under it: the chain, and the name constraints. */
	CU_ASSERT_EQUAL_FATAL(ca_submit_csr(ica, &cli, &s, &leaf, &err), 0);
	CU_ASSERT_EQUAL(leaf.key_idx, 0);
	leaf0 = leaf;
	leaf0.der = NULL;
	leaf0.der_len = 0;
	/* One through a request an admin approves, read back below. */
	{
		struct ca_principal anon;
		struct ca_issued pend, ok;

		ca_principal_anon(&anon, "192.0.2.7");
		CU_ASSERT_EQUAL_FATAL(ca_submit_csr(ica, &anon, &s, &pend, &err), 0);
		CU_ASSERT_EQUAL(pend.status, CA_REQ_PENDING);
		snprintf(req0, sizeof(req0), "%s", pend.request_id);
		CU_ASSERT_EQUAL_FATAL(ca_request_approve(ica, &cli, req0, &ok, &err), 0);
		ca_issued_free(&pend);
		ca_issued_free(&ok);
		ca_principal_free(&anon);
	}
	/* A key certified under the first CA key, and again after the
	 * rollover (below). */
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &kk, &err), 0);
	CU_ASSERT_EQUAL_FATAL(submit_key(ica, &cli, &s, kk,
					 "kk-old.contoso.test", &kk_old), 0);
	/* Two more of the first key, revoked after the rollover (below). */
	{
		struct ca_submit os = s;
		unsigned char *ocsr = NULL;
		size_t ocsr_len = 0;

		CU_ASSERT_EQUAL_FATAL(leaf_csr("old1.contoso.test", &ocsr,
					       &ocsr_len), 0);
		os.csr = ocsr;
		os.csr_len = ocsr_len;
		CU_ASSERT_EQUAL_FATAL(ca_submit_csr(ica, &cli, &os, &old1,
						    &err), 0);
		free(ocsr);
		CU_ASSERT_EQUAL_FATAL(leaf_csr("old2.contoso.test", &ocsr,
					       &ocsr_len), 0);
		os.csr = ocsr;
		os.csr_len = ocsr_len;
		CU_ASSERT_EQUAL_FATAL(ca_submit_csr(ica, &cli, &os, &old2,
						    &err), 0);
		free(ocsr);
		CU_ASSERT_EQUAL(old1.key_idx, 0);
		CU_ASSERT_EQUAL(old2.key_idx, 0);
	}
	{
		struct ca_cert_info li, ii;

		CU_ASSERT_EQUAL(ca_cert_info_read(leaf.der, leaf.der_len, &li,
						  &err), 0);
		CU_ASSERT_EQUAL(ca_cert_info_read(sub.der, sub.der_len, &ii,
						  &err), 0);
		CU_ASSERT_EQUAL(ca_cert_issued_by(&li, &ii, &err), 0);
		CU_ASSERT(li.aki_len == ii.ski_len &&
			  memcmp(li.aki, ii.ski, ii.ski_len) == 0);
	}
	ca_issued_free(&leaf);
	CU_ASSERT_EQUAL(ca_domain_add(ica, &cli, "fabrikam.test", &err), 0);
	free(lcsr);
	CU_ASSERT_EQUAL_FATAL(leaf_csr("www.fabrikam.test", &lcsr, &lcsr_len), 0);
	s.csr = lcsr;
	s.csr_len = lcsr_len;
	CU_ASSERT_EQUAL(ca_submit_csr(ica, &cli, &s, &leaf, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "name_not_allowed");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "name constraints"));

	/* The chain as a .p7b. */
	{
		unsigned char *p7 = NULL;
		size_t len = 0, n = 0;
		struct ca_p7_cert c[CA_P7_CERTS_MAX];

		CU_ASSERT_EQUAL(ca_chain_p7b(ica, &p7, &len, &err), 0);
		CU_ASSERT_EQUAL(ca_p7_decode(p7, len, c, &n, &err), 0);
		CU_ASSERT_EQUAL(n, 2);
		free(p7);
	}

	/* The root's CRL, imported; not twice. */
	{
		struct ca_crl arl, got;

		CU_ASSERT_EQUAL_FATAL(ca_crl_publish(root, &cli, &arl, &err), 0);
		CU_ASSERT_EQUAL(ca_root_crl_import(ica, &cli, arl.der, arl.der_len,
						   notice, &err), 0);
		CU_ASSERT_EQUAL(ca_root_crl_import(ica, &cli, arl.der, arl.der_len,
						   notice, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "crl_not_newer");
		CU_ASSERT_EQUAL(ca_root_crl_current(ica, &got, &err), 0);
		CU_ASSERT(got.der_len == arl.der_len &&
			  memcmp(got.der, arl.der, arl.der_len) == 0);
		ca_crl_free(&got);
		/* Its own CRL is not one from above. */
		CU_ASSERT_EQUAL(ca_crl_current(ica, &got, &err), 0);
		CU_ASSERT_EQUAL(ca_root_crl_import(ica, &cli, got.der, got.der_len,
						   notice, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "unknown_issuer");
		ca_crl_free(&got);
		ca_crl_free(&arl);
	}

	/* Rollover to a new key: the old key keeps signing its CRL. */
	CU_ASSERT_EQUAL_FATAL(ca_renew_ca(ica, &cli, 1, NULL, -1, NULL, &csr,
					  &csr_len, &err), 0);
	CU_ASSERT_EQUAL(ca_renew_ca(ica, &cli, 0, NULL, -1, NULL, &csr2,
				    &csr2_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "renewal_pending");
	so.csr = csr;
	so.csr_len = csr_len;
	CU_ASSERT_EQUAL_FATAL(ca_sign_ca(root, &cli, &so, &next, &err), 0);
	/* A handle opened before the install stands for a running daemon:
	 * until then SCEP has no next CA certificate to announce. */
	CU_ASSERT_EQUAL_FATAL(ca_open(idir, CA_OPEN_UNLOCK, NULL, &served,
				      &err), 0);
	CU_ASSERT_EQUAL(ca_scep_next_pending(served), 0);
	CU_ASSERT_EQUAL(ca_scep_nextcacert(served, &nx, &nx_len, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_STRING_EQUAL(err.code, "no_next_ca");
	CU_ASSERT_EQUAL_FATAL(ca_install_cert(ica, &cli, next.der, next.der_len,
					      NULL, 0, notice, &err), 0);
	/* After it, the handle that still signs under the old certificate
	 * announces the new one (GetNextCACert), the one just installed
	 * not (it has no next one). */
	CU_ASSERT_EQUAL(ca_scep_next_pending(served), 1);
	CU_ASSERT_EQUAL(ca_scep_next_pending(ica), 0);
	CU_ASSERT_EQUAL_FATAL(ca_scep_nextcacert(served, &nx, &nx_len, &err),
			      0);
	{
		struct ca_p7_cert one = { next.der, next.der_len };
		unsigned char *want = NULL;
		size_t want_len = 0;

		CU_ASSERT_EQUAL_FATAL(ca_p7_encode(&one, 1, &want, &want_len,
						   &err), 0);
		/* The certs-only message of the next certificate is the
		 * reply's content, its OCTET STRING. */
		CU_ASSERT_PTR_NOT_NULL(memmem(nx, nx_len, want, want_len));
		free(want);
	}
	free(nx);
	nx = NULL;
	ca_close(served);
	served = NULL;
	CU_ASSERT_EQUAL(ca_crl_keys(ica, idx), 2);
	CU_ASSERT(idx[0] == 0 && idx[1] == 1);
	{
		size_t l0, l1;
		const unsigned char *c0 = ca_key_cert(ica, 0, &l0);
		const unsigned char *c1 = ca_key_cert(ica, 1, &l1);
		struct ca_crl k0, k1;

		CU_ASSERT(c0 != NULL && l0 == sub.der_len &&
			  memcmp(c0, sub.der, l0) == 0);
		CU_ASSERT(c1 != NULL && l1 == next.der_len &&
			  memcmp(c1, next.der, l1) == 0);
		CU_ASSERT_EQUAL(ca_crl_current_key(ica, 0, &k0, &err), 0);
		CU_ASSERT_EQUAL(ca_crl_current_key(ica, 1, &k1, &err), 0);
		CU_ASSERT(k0.number != k1.number);
		ca_crl_free(&k0);
		ca_crl_free(&k1);
	}
	/* After the rollover, a store restored from a backup takes the CRLs
	 * of both keys of the store it lost (restore --crl, revoke
	 * --from-crl): the old key's, verified with the retired key, lists
	 * a certificate that key signed, revoked since the backup. */
	{
		char bak[PATH_MAX], lost[PATH_MAX], back[PATH_MAX];
		struct ca *l = NULL, *b = NULL;
		struct ca_crl k0, k1, got;
		struct ca_crl_file in[2];
		struct ca_carried w;
		struct ca_cert c;
		int reason;

		snprintf(bak, sizeof(bak), "%s/rollover-backup.db", g_tmp);
		CU_ASSERT_EQUAL_FATAL(ca_backup(ica, bak, &err), 0);
		dir_of(lost, sizeof(lost), "rollover-lost");
		dir_of(back, sizeof(back), "rollover-back");
		CU_ASSERT_EQUAL_FATAL(ca_restore(lost, bak, NULL, NULL, NULL, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_restore(back, bak, NULL, NULL, NULL, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_open(lost, CA_OPEN_UNLOCK, NULL, &l, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_open(back, CA_OPEN_UNLOCK, NULL, &b, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_revoke(l, &cli, leaf0.serial,
						CA_REASON_SUPERSEDED, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_crl_current_key(l, 0, &k0, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_crl_current_key(l, 1, &k1, &err), 0);
		in[0].data = k1.der;
		in[0].len = k1.der_len;
		in[0].name = "key1.crl";
		in[1].data = k0.der;
		in[1].len = k0.der_len;
		in[1].name = "key0.crl";
		CU_ASSERT_EQUAL(ca_revoke_from_crls(b, &cli, in, 2, &w, &err), 0);
		CU_ASSERT_EQUAL(w.crls, 2);
		CU_ASSERT_EQUAL(w.revoked, 1);
		CU_ASSERT_EQUAL(ca_cert_get(b, &cli, leaf0.serial, &c, &err), 0);
		CU_ASSERT(c.status == CA_CERT_REVOKED &&
			  c.reason == CA_REASON_SUPERSEDED);
		ca_cert_free(&c);
		/* Listed in the old key's CRL of the store it was carried to. */
		CU_ASSERT_EQUAL(ca_crl_current_key(b, 0, &got, &err), 0);
		CU_ASSERT_EQUAL(crl_find(got.der, got.der_len, leaf0.serial,
					 &reason), 1);
		CU_ASSERT_EQUAL(reason, CA_REASON_SUPERSEDED);
		ca_crl_free(&got);
		/* The root's CRL is not this CA's. */
		CU_ASSERT_EQUAL(ca_crl_publish(root, &cli, &got, &err), 0);
		in[0].data = got.der;
		in[0].len = got.der_len;
		CU_ASSERT_EQUAL(ca_revoke_from_crls(b, &cli, in, 1, &w, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "other_ca");
		ca_crl_free(&got);
		ca_crl_free(&k0);
		ca_crl_free(&k1);
		ca_close(l);
		ca_close(b);
	}
	/* A certificate is handed out (ACME) with the chain of the key
	 * that signed it: an old one's is the old CA certificate and the
	 * root, not the new CA certificate, whose key did not sign it. */
	{
		char *p0 = NULL, *pr = NULL, *want = NULL;
		const char *c0 = ca_key_chain_pem(ica, 0);
		size_t rl;
		const unsigned char *rd = ca_root_der(ica, &rl);

		CU_ASSERT_PTR_EQUAL(ca_key_chain_pem(ica, 1), ca_chain_pem(ica));
		CU_ASSERT_PTR_NULL(ca_key_chain_pem(ica, 7));
		CU_ASSERT_EQUAL_FATAL(ca_pem_encode("CERTIFICATE", sub.der,
						    sub.der_len, &p0, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_pem_encode("CERTIFICATE", rd, rl, &pr,
						    &err), 0);
		CU_ASSERT_FATAL(asprintf(&want, "%s%s", p0, pr) > 0);
		CU_ASSERT(c0 != NULL && strcmp(c0, want) == 0);
		/* What the API hands out with a certificate it reads back
		 * (a request's): the chain of the key that signed it. */
		CU_ASSERT_PTR_EQUAL(ca_issued_chain_pem(ica, &leaf0), c0);
		leaf0.key_idx = 7;
		CU_ASSERT_PTR_NULL(ca_issued_chain_pem(ica, &leaf0));
		free(want);
		free(p0);
		free(pr);
	}
	free(lcsr);
	CU_ASSERT_EQUAL_FATAL(leaf_csr("new.contoso.test", &lcsr, &lcsr_len), 0);
	s.csr = lcsr;
	s.csr_len = lcsr_len;
	CU_ASSERT_EQUAL_FATAL(ca_submit_csr(ica, &cli, &s, &leaf, &err), 0);
	CU_ASSERT_EQUAL(leaf.key_idx, 1);
	CU_ASSERT_PTR_EQUAL(ca_issued_chain_pem(ica, &leaf), ca_chain_pem(ica));
	/* And read back through a request, approved under the new key:
	 * the new key's chain, the old key's for the one before. */
	{
		struct ca_principal anon;
		struct ca_issued pend, ok, is;
		struct ca_request rq;

		ca_principal_anon(&anon, "192.0.2.8");
		CU_ASSERT_EQUAL_FATAL(ca_submit_csr(ica, &anon, &s, &pend, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_request_approve(ica, &cli, pend.request_id, &ok,
							 &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_request_status(ica, pend.request_id, &is, &rq,
							&err), 0);
		CU_ASSERT_EQUAL(is.key_idx, 1);
		CU_ASSERT_PTR_EQUAL(ca_issued_chain_pem(ica, &is), ca_chain_pem(ica));
		ca_issued_free(&is);
		ca_request_free(&rq);
		CU_ASSERT_EQUAL_FATAL(ca_request_status(ica, req0, &is, &rq, &err), 0);
		CU_ASSERT_EQUAL(is.key_idx, 0);
		CU_ASSERT_PTR_EQUAL(ca_issued_chain_pem(ica, &is), ca_key_chain_pem(ica, 0));
		CU_ASSERT_PTR_NOT_EQUAL(ca_key_chain_pem(ica, 0), ca_chain_pem(ica));
		ca_issued_free(&is);
		ca_request_free(&rq);
		ca_issued_free(&pend);
		ca_issued_free(&ok);
		ca_principal_free(&anon);
	}
	/* The certificate with its chain as one file (mica show --chain,
	 * --p7b, the API's chain.pem/.p7b): the chain of the key that
	 * signed it, the old CA certificate's for a certificate of the
	 * retired key, never the new one's; by serial (admin) and by
	 * request id alike. */
	{
		struct ca_principal anon;
		struct ca_issued pend;
		struct ca_cert c;
		struct ca_p7_cert got[CA_P7_CERTS_MAX];
		unsigned char *b = NULL;
		char *want = NULL, *lp = NULL, ser[CA_SERIAL_MAX];
		size_t bl = 0, n = 0, rl;
		const unsigned char *rd = ca_root_der(ica, &rl);
		int has_sub = 0, has_next = 0, has_root = 0, has_leaf = 0;

		CU_ASSERT_EQUAL_FATAL(ca_cert_get(ica, &cli, leaf0.serial, &c, &err), 0);
		CU_ASSERT_EQUAL(c.key_idx, 0);
		CU_ASSERT_EQUAL_FATAL(ca_pem_encode("CERTIFICATE", c.der, c.der_len,
						    &lp, &err), 0);
		CU_ASSERT_FATAL(asprintf(&want, "%s%s", lp,
					 ca_key_chain_pem(ica, 0)) > 0);
		CU_ASSERT_EQUAL_FATAL(ca_cert_bundle(ica, &cli, leaf0.serial,
						     CA_BUNDLE_PEM, ser, &b, &bl,
						     &err), 0);
		CU_ASSERT_STRING_EQUAL(ser, leaf0.serial);
		CU_ASSERT(bl == strlen(want) && memcmp(b, want, bl) == 0);
		free(b);
		b = NULL;
		CU_ASSERT_EQUAL_FATAL(ca_cert_bundle(ica, &cli, leaf0.serial,
						     CA_BUNDLE_P7B, NULL, &b, &bl,
						     &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_p7_decode(b, bl, got, &n, &err), 0);
		CU_ASSERT_EQUAL(n, 3);
		for (size_t i = 0; i < n; i++) {
#define SAME(d, l) (got[i].len == (l) && memcmp(got[i].der, (d), (l)) == 0)
			has_leaf |= SAME(c.der, c.der_len);
			has_sub |= SAME(sub.der, sub.der_len);
			has_next |= SAME(next.der, next.der_len);
			has_root |= SAME(rd, rl);
#undef SAME
		}
		CU_ASSERT(has_leaf && has_sub && has_root && !has_next);
		free(b);
		b = NULL;
		free(want);
		want = NULL;
		free(lp);
		lp = NULL;
		ca_cert_free(&c);
		/* A certificate of the new key: the current chain. */
		CU_ASSERT_EQUAL_FATAL(ca_cert_get(ica, &cli, leaf.serial, &c, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_pem_encode("CERTIFICATE", c.der, c.der_len,
						    &lp, &err), 0);
		CU_ASSERT_FATAL(asprintf(&want, "%s%s", lp, ca_chain_pem(ica)) > 0);
		CU_ASSERT_EQUAL_FATAL(ca_cert_bundle(ica, &cli, leaf.serial,
						     CA_BUNDLE_PEM, NULL, &b, &bl,
						     &err), 0);
		CU_ASSERT(bl == strlen(want) && memcmp(b, want, bl) == 0);
		free(b);
		b = NULL;
		free(want);
		want = NULL;
		free(lp);
		lp = NULL;
		/* A key this handle does not know: no file rather than one
		 * without its chain. */
		CU_ASSERT_EQUAL(ca_bundle(ica, c.der, c.der_len, 7, CA_BUNDLE_P7B,
					  &b, &bl, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
		CU_ASSERT_STRING_EQUAL(err.code, "chain_unavailable");
		CU_ASSERT_PTR_NULL(b);
		ca_cert_free(&c);
		/* By request id: the approved request of the old key. */
		CU_ASSERT_EQUAL_FATAL(ca_request_bundle(ica, req0, CA_BUNDLE_P7B, ser,
							&b, &bl, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_p7_decode(b, bl, got, &n, &err), 0);
		CU_ASSERT_EQUAL(n, 3);
		has_sub = has_next = 0;
		for (size_t i = 0; i < n; i++) {
			has_sub |= got[i].len == sub.der_len &&
				   memcmp(got[i].der, sub.der, sub.der_len) == 0;
			has_next |= got[i].len == next.der_len &&
				    memcmp(got[i].der, next.der, next.der_len) == 0;
		}
		CU_ASSERT(has_sub && !has_next);
		free(b);
		b = NULL;
		/* Not an admin: not by serial. Pending, then denied: nothing
		 * to hand out, said as the poll says it. */
		ca_principal_anon(&anon, "192.0.2.9");
		CU_ASSERT_EQUAL(ca_cert_bundle(ica, &anon, leaf0.serial, CA_BUNDLE_PEM,
					       NULL, &b, &bl, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_UNAUTH);
		CU_ASSERT_EQUAL(ca_cert_bundle(ica, &cli, "0123456789abcdef",
					       CA_BUNDLE_PEM, NULL, &b, &bl, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
		CU_ASSERT_EQUAL_FATAL(ca_submit_csr(ica, &anon, &s, &pend, &err), 0);
		CU_ASSERT_EQUAL_FATAL(pend.status, CA_REQ_PENDING);
		CU_ASSERT_EQUAL(ca_request_bundle(ica, pend.request_id, CA_BUNDLE_PEM,
						  NULL, &b, &bl, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
		CU_ASSERT_STRING_EQUAL(err.code, "request_pending");
		CU_ASSERT_EQUAL_FATAL(ca_request_deny(ica, &cli, pend.request_id, NULL,
						      &err), 0);
		CU_ASSERT_EQUAL(ca_request_bundle(ica, pend.request_id, CA_BUNDLE_P7B,
						  NULL, &b, &bl, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "request_denied");
		CU_ASSERT_EQUAL(ca_request_bundle(ica, "0123456789abcdef0123456789abcdef",
						  CA_BUNDLE_P7B, NULL, &b, &bl, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
		CU_ASSERT_PTR_NULL(b);
		ca_issued_free(&pend);
		ca_principal_free(&anon);
	}
	/* A certificate of the new CA key, revoked alone: on that key's
	 * CRL (signed ahead), not the retired key's. */
	{
		struct ca_submit ps = s;
		struct ca_issued plain;
		unsigned char *pcsr = NULL;
		size_t pcsr_len = 0;
		int why = 0;

		CU_ASSERT_EQUAL_FATAL(leaf_csr("plain.contoso.test", &pcsr,
					       &pcsr_len), 0);
		ps.csr = pcsr;
		ps.csr_len = pcsr_len;
		CU_ASSERT_EQUAL_FATAL(ca_submit_csr(ica, &cli, &ps, &plain,
						    &err), 0);
		free(pcsr);
		CU_ASSERT_EQUAL_FATAL(ca_revoke_one(ica, &cli, plain.serial,
						    4, &err), 0);
		CU_ASSERT_EQUAL(key_crl_lists(ica, 1, plain.serial, &why), 1);
		CU_ASSERT_EQUAL(why, 4);
		CU_ASSERT_EQUAL(key_crl_lists(ica, 0, plain.serial, &why), 0);
		ca_issued_free(&plain);
	}
	/* A certificate of the retired key, revoked: the CRL said to be
	 * published with it (what 'mica revoke' reports) is the one that
	 * lists it, the retired key's - a complete CRL, then a delta once
	 * the CA makes them - not the current key's, published beside it. */
	{
		struct ca_crl said, k0, d0;
		int why = 0;

		memset(&said, 0, sizeof(said));
		CU_ASSERT_EQUAL_FATAL(ca_revoke_all(ica, &cli, old1.serial,
			CA_REASON_SUPERSEDED, 0, NULL, &said, NULL, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_crl_current_key(ica, 0, &k0, &err), 0);
		CU_ASSERT_EQUAL(crl_find(k0.der, k0.der_len, old1.serial, &why),
				1);
		CU_ASSERT_EQUAL(said.delta_base, 0);
		CU_ASSERT_EQUAL(said.number, k0.number);
		ca_crl_free(&k0);
		ca_crl_free(&said);

		CU_ASSERT_EQUAL_FATAL(ca_crl_set_delta_hours(ica, &cli, 24,
							     &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_revoke_all(ica, &cli, old2.serial,
			CA_REASON_SUPERSEDED, 0, NULL, &said, NULL, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_crl_delta_current_key(ica, 0, &d0,
							       &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_crl_current_key(ica, 0, &k0, &err), 0);
		CU_ASSERT_EQUAL(delta_find(d0.der, d0.der_len, old2.serial,
					   &why), 1);
		CU_ASSERT_EQUAL(said.number, d0.number);
		CU_ASSERT_EQUAL(said.delta_base, k0.number);
		ca_crl_free(&d0);
		ca_crl_free(&k0);
		ca_crl_free(&said);
		CU_ASSERT_EQUAL(ca_crl_set_delta_hours(ica, &cli, 0, &err), 0);
		ca_issued_free(&old1);
		ca_issued_free(&old2);
	}
	/* The same key under the new CA key: a keyCompromise of this one
	 * revokes the other too, each on its own key's CRL, signed ahead. */
	{
		int why = 0;

		CU_ASSERT_EQUAL_FATAL(submit_key(ica, &cli, &s, kk,
						 "kk-new.contoso.test", &kk_new), 0);
		CU_ASSERT_EQUAL_FATAL(ca_revoke(ica, &cli, kk_new.serial,
						CA_REASON_KEY_COMPROMISE, &err), 0);
		CU_ASSERT_EQUAL(key_crl_lists(ica, 1, kk_new.serial, &why), 1);
		CU_ASSERT_EQUAL(why, 1);
		CU_ASSERT_EQUAL(key_crl_lists(ica, 0, kk_old.serial, &why), 1);
		CU_ASSERT_EQUAL(why, 1);
		CU_ASSERT_EQUAL(key_crl_lists(ica, 0, kk_new.serial, &why), 0);
		CU_ASSERT_EQUAL(key_crl_lists(ica, 1, kk_old.serial, &why), 0);
		ca_issued_free(&kk_old);
		ca_issued_free(&kk_new);
		ca_key_free(kk);
		kk = NULL;
	}
	{
		struct ca_cert_info li, ni;

		CU_ASSERT_EQUAL(ca_cert_info_read(leaf.der, leaf.der_len, &li,
						  &err), 0);
		CU_ASSERT_EQUAL(ca_cert_info_read(next.der, next.der_len, &ni,
						  &err), 0);
		CU_ASSERT_EQUAL(ca_cert_issued_by(&li, &ni, &err), 0);
	}
	ca_issued_free(&leaf);

	/* A new passphrase re-seals every key: the retired one still signs
	 * its CRL after a reopen. */
	{
		char pf[PATH_MAX];
		struct ca_crl crl;

		pass_file(pf, sizeof(pf), "newpass",
			  "a new passphrase for every key");
		/* Every key: a handle without CA_OPEN_ALL_KEYS is refused. */
		CU_ASSERT_EQUAL(ca_passphrase_change(ica, &cli, pf, NULL, &err), -1);
		ca_close(ica);
		ica = NULL;
		CU_ASSERT_EQUAL_FATAL(ca_open(idir, CA_OPEN_UNLOCK |
					      CA_OPEN_ALL_KEYS, NULL, &ica,
					      &err), 0);
		{
			/* Two changes at once: the second, whose handle
			 * unsealed the key before the first committed, is
			 * refused and changes nothing. */
			struct ca *other = NULL;
			char pf2[PATH_MAX];

			pass_file(pf2, sizeof(pf2), "otherpass",
				  "the passphrase of the one that lost");
			CU_ASSERT_EQUAL_FATAL(ca_open(idir, CA_OPEN_UNLOCK |
						      CA_OPEN_ALL_KEYS, NULL,
						      &other, &err), 0);
			CU_ASSERT_EQUAL_FATAL(ca_passphrase_change(ica, &cli, pf, NULL, &err), 0);
			CU_ASSERT_EQUAL(ca_passphrase_change(other, &cli, pf2, NULL, &err), -1);
			CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
			CU_ASSERT_STRING_EQUAL(err.code, "passphrase_changed");
			ca_close(other);
			other = NULL;
			CU_ASSERT_EQUAL(ca_open(idir, CA_OPEN_UNLOCK, pf2, &other, &err), -1);
			ca_close(other);
		}
		ca_close(ica);
		ica = NULL;
		CU_ASSERT_EQUAL(ca_open(idir, CA_OPEN_UNLOCK, NULL, &ica, &err), -1);
		CU_ASSERT_EQUAL_FATAL(ca_open(idir, CA_OPEN_UNLOCK, pf, &ica,
					      &err), 0);
		CU_ASSERT_EQUAL(ca_crl_publish(ica, &cli, &crl, &err), 0);
		ca_crl_free(&crl);
		CU_ASSERT_EQUAL(ca_crl_current_key(ica, 0, &crl, &err), 0);
		ca_crl_free(&crl);
	}

	/* sign-ca reads a CSR as every path does: SHA-1 is refused by
	 * policy. And a CA key revoked for keyCompromise is never certified
	 * again, a CA's no more than a server's. */
	CU_ASSERT_EQUAL_FATAL(sha1_ca_csr(&csr2, &csr2_len), 0);
	memset(&so, 0, sizeof(so));
	so.csr = csr2;
	so.csr_len = csr2_len;
	so.path_len = 0;
	CU_ASSERT_EQUAL(ca_sign_ca(root, &cli, &so, &leaf, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_POLICY);
	CU_ASSERT_STRING_EQUAL(err.code, "weak_signature");
	free(csr2);
	csr2 = NULL;
	so.csr = res.csr;
	so.csr_len = res.csr_len;
	CU_ASSERT_EQUAL(ca_revoke(root, &cli, sub.serial,
				  CA_REASON_KEY_COMPROMISE, &err), 0);
	CU_ASSERT_EQUAL(ca_sign_ca(root, &cli, &so, &leaf, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_POLICY);
	CU_ASSERT_STRING_EQUAL(err.code, "key_compromised");

	/* A root is not renewed from above; sign-ca refuses a subordinate. */
	CU_ASSERT_EQUAL(ca_renew_ca(root, &cli, 0, NULL, -1, NULL, &csr2,
				    &csr2_len, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_EQUAL(ca_sign_ca(ica, &cli, &so, &leaf, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "not_a_root");

	free(csr);
	free(lcsr);
	ca_issued_free(&sub);
	ca_issued_free(&next);
	ca_init_result_free(&res);
	ca_close(ica);
	ca_close(root);
}

/* An offline root takes no delta CRL period: no daemon would publish its
 * deltas, and its ARL would name one that expires within hours. */
static void
test_root_only_no_deltas(void)
{
	char rdir[PATH_MAX];
	struct ca_init_opts o;
	struct ca_init_result res;
	struct ca_principal cli;
	struct ca *root = NULL;
	struct mica_err err;
	int hours = -1;

	ca_principal_cli(&cli);
	memset(&o, 0, sizeof(o));
	o.datadir = dir_of(rdir, sizeof(rdir), "nodelta-root");
	o.name = "No Delta Root";
	o.kind = CA_INIT_ROOT_ONLY;
	CU_ASSERT_EQUAL_FATAL(ca_init(&o, &res, &err), 0);
	ca_init_result_free(&res);
	CU_ASSERT_EQUAL_FATAL(ca_open(rdir, CA_OPEN_UNLOCK, NULL, &root, &err), 0);
	CU_ASSERT_EQUAL(ca_crl_set_delta_hours(root, &cli, 2, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "root_only");
	CU_ASSERT_EQUAL(ca_crl_delta_hours(root, &hours, &err), 0);
	CU_ASSERT_EQUAL(hours, 0);
	/* Off stays open (a root given deltas by an older mica). */
	CU_ASSERT_EQUAL(ca_crl_set_delta_hours(root, &cli, 0, &err), 0);
	ca_close(root);
}

/* An offline root signs no OCSP responder certificate and no answers
 * ('mica ocsp-sign'): CA certificates and its CRL, nothing else. */
static void
test_root_only_no_ocsp(void)
{
	char rdir[PATH_MAX];
	struct ca_init_opts o;
	struct ca_init_result res;
	struct ca_ocsp_pass pass;
	struct ca *root = NULL;
	struct mica_err err;

	memset(&o, 0, sizeof(o));
	o.datadir = dir_of(rdir, sizeof(rdir), "noocsp-root");
	o.name = "No OCSP Root";
	o.kind = CA_INIT_ROOT_ONLY;
	CU_ASSERT_EQUAL_FATAL(ca_init(&o, &res, &err), 0);
	ca_init_result_free(&res);
	CU_ASSERT_EQUAL_FATAL(ca_open(rdir, CA_OPEN_UNLOCK, NULL, &root, &err), 0);
	CU_ASSERT_EQUAL(ca_ocsp_refresh_pass(root, SIZE_MAX, &pass, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "root_only");
	ca_close(root);
}

/* Nor does it take allowed domains, as init --root-only refuses --domain:
 * they constrain what a CA issues, and it issues nothing of its own. */
static void
test_root_only_no_domains(void)
{
	char rdir[PATH_MAX];
	struct ca_init_opts o;
	struct ca_init_result res;
	struct ca_principal cli;
	struct ca *root = NULL;
	struct mica_err err;
	char **doms = NULL;

	ca_principal_cli(&cli);
	memset(&o, 0, sizeof(o));
	o.datadir = dir_of(rdir, sizeof(rdir), "nodomain-root");
	o.name = "No Domain Root";
	o.kind = CA_INIT_ROOT_ONLY;
	CU_ASSERT_EQUAL_FATAL(ca_init(&o, &res, &err), 0);
	ca_init_result_free(&res);
	CU_ASSERT_EQUAL_FATAL(ca_open(rdir, CA_OPEN_UNLOCK, NULL, &root, &err), 0);
	CU_ASSERT_EQUAL(ca_domain_add(root, &cli, "contoso.test", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "root_only");
	CU_ASSERT_EQUAL_FATAL(ca_domain_list(root, &doms, &err), 0);
	CU_ASSERT_PTR_NULL(doms[0]);
	ca_strv_free(doms);
	/* Nor a token: nothing serves an offline root. */
	{
		struct ca_token_spec ts;
		struct ca_token info;
		char tok[CA_TOKEN_MAX];

		memset(&ts, 0, sizeof(ts));
		ts.kind = CA_TOKEN_ENROLL;
		ts.uses = 1;
		ts.expires_in = 3600;
		CU_ASSERT_EQUAL(ca_token_create(root, &cli, &ts, tok, &info,
						&err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "root_only");
		CU_ASSERT_STRING_EQUAL(tok, "");
		ts.kind = CA_TOKEN_ADMIN;
		CU_ASSERT_EQUAL(ca_token_create(root, &cli, &ts, tok, &info,
						&err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "root_only");
	}
	ca_close(root);
}

/* A CA keeps 16 keys (indexes 0-15): the rollover past them is refused,
 * saying what is left - a renewal with the same key, which still works. */
static void
test_rollover_key_limit(void)
{
	char rdir[PATH_MAX], idir[PATH_MAX], notice[CA_NOTICE_MAX];
	struct ca_init_opts o;
	struct ca_init_result res;
	struct ca_principal cli;
	struct ca_sign_ca_opts so;
	struct ca_issued sub;
	struct ca *root = NULL, *ica = NULL;
	struct mica_err err;
	const char *doms[] = { "contoso.test" };
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	const unsigned char *rder;
	size_t rlen;
	int i;

	ca_principal_cli(&cli);
	memset(&o, 0, sizeof(o));
	o.datadir = dir_of(rdir, sizeof(rdir), "limit-root");
	o.name = "Limit Root";
	o.kind = CA_INIT_ROOT_ONLY;
	CU_ASSERT_EQUAL_FATAL(ca_init(&o, &res, &err), 0);
	ca_init_result_free(&res);
	CU_ASSERT_EQUAL_FATAL(ca_open(rdir, CA_OPEN_UNLOCK, NULL, &root, &err), 0);
	rder = ca_root_der(root, &rlen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rder);
	memset(&o, 0, sizeof(o));
	o.datadir = dir_of(idir, sizeof(idir), "limit-issuing");
	o.name = "Limit Issuing CA";
	o.kind = CA_INIT_SUBORDINATE;
	o.domains = doms;
	o.ndomains = 1;
	o.public_url = "http://ca.contoso.test";
	CU_ASSERT_EQUAL_FATAL(ca_init(&o, &res, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_open(idir, CA_OPEN_UNLOCK, NULL, &ica, &err), 0);
	memset(&so, 0, sizeof(so));
	so.csr = res.csr;
	so.csr_len = res.csr_len;
	CU_ASSERT_EQUAL_FATAL(ca_sign_ca(root, &cli, &so, &sub, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_install_cert(ica, &cli, sub.der, sub.der_len,
					      rder, rlen, notice, &err), 0);
	ca_issued_free(&sub);
	ca_init_result_free(&res);
	/* Keys 1 to 15. */
	for (i = 1; i < 16; i++) {
		CU_ASSERT_EQUAL_FATAL(ca_renew_ca(ica, &cli, 1, NULL, -1, NULL,
						  &csr, &csr_len, &err), 0);
		so.csr = csr;
		so.csr_len = csr_len;
		CU_ASSERT_EQUAL_FATAL(ca_sign_ca(root, &cli, &so, &sub, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_install_cert(ica, &cli, sub.der,
						      sub.der_len, NULL, 0,
						      notice, &err), 0);
		ca_issued_free(&sub);
		free(csr);
		csr = NULL;
	}
	CU_ASSERT_EQUAL(ca_renew_ca(ica, &cli, 1, NULL, -1, NULL, &csr,
				    &csr_len, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "too_many_keys");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "without --new-key"));
	CU_ASSERT_PTR_NULL(csr);
	CU_ASSERT_EQUAL(ca_renew_ca(ica, &cli, 0, NULL, -1, NULL, &csr,
				    &csr_len, &err), 0);
	free(csr);
	ca_close(ica);
	ca_close(root);
}

/* ------------------------------------- another organisation's root */

/* A CA of another organisation (openssl ca, AD CS), made here: its key,
 * name, key identifier and certificate. */
struct org_ca {
	struct ca_key *key;
	unsigned char *name; size_t name_len;
	unsigned char *spki; size_t spki_len;
	unsigned char ski[20];
	unsigned char *der; size_t len;
};

/* ISSUER's CA certificate (DER, heap) for SPKI named SUBJECT, serial
 * SERIAL, valid from a day ago until NOT_AFTER - not cut to the issuer's
 * end, as openssl ca and AD CS do not cut it. */
static int
org_sign_until(const struct org_ca *issuer, const unsigned char *subject,
	       size_t subject_len, const unsigned char *spki, size_t spki_len,
	       unsigned char serial, int path_len, int64_t not_after,
	       unsigned char **der, size_t *len)
{
	struct ca_tbs_cert t;
	struct mica_err err;
	unsigned char sn[1] = { serial }, *tbs = NULL, sig[CA_SIG_MAX];
	size_t tbs_len = 0, sig_len = 0, alg_len;
	const unsigned char *alg = ca_key_sig_alg(issuer->key, &alg_len);
	int rc = -1;

	memset(&t, 0, sizeof(t));
	t.serial = sn;
	t.serial_len = 1;
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = issuer->name;
	t.issuer_len = issuer->name_len;
	t.subject = subject;
	t.subject_len = subject_len;
	t.not_before = (int64_t)time(NULL) - DAY;
	t.not_after = not_after;
	t.spki = spki;
	t.spki_len = spki_len;
	t.is_ca = 1;
	t.path_len = path_len;
	t.key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN;
	t.has_aki = 1;
	memcpy(t.aki, issuer->ski, 20);
	t.aki_len = 20;
	if (ca_x509_key_id(spki, spki_len, t.ski, &err) == 0 &&
	    ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err) == 0 &&
	    ca_key_sign(issuer->key, tbs, tbs_len, sig, &sig_len, &err) == 0 &&
	    ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, der, len,
			 &err) == 0)
		rc = 0;
	free(tbs);
	return rc;
}

/* org_sign_until for DAYS days from a day ago. */
static int
org_sign(const struct org_ca *issuer, const unsigned char *subject,
	 size_t subject_len, const unsigned char *spki, size_t spki_len,
	 unsigned char serial, int path_len, int64_t days,
	 unsigned char **der, size_t *len)
{
	return org_sign_until(issuer, subject, subject_len, spki, spki_len,
			      serial, path_len,
			      (int64_t)time(NULL) - DAY + days * DAY, der, len);
}

/* A CA named CN with a new key, certified by ISSUER (NULL: self-signed)
 * with serial SERIAL until NOT_AFTER. */
static int
org_ca_new_until(struct org_ca *c, const char *cn, const struct org_ca *issuer,
		 unsigned char serial, int64_t not_after)
{
	struct mica_err err;

	memset(c, 0, sizeof(*c));
	if (ca_key_generate(CA_KEY_EC_P256, &c->key, &err) != 0 ||
	    ca_key_spki(c->key, &c->spki, &c->spki_len, &err) != 0 ||
	    ca_x509_name(cn, NULL, &c->name, &c->name_len, &err) != 0 ||
	    ca_x509_key_id(c->spki, c->spki_len, c->ski, &err) != 0)
		return -1;
	return org_sign_until(issuer != NULL ? issuer : c, c->name,
			      c->name_len, c->spki, c->spki_len, serial, -1,
			      not_after, &c->der, &c->len);
}

/* org_ca_new_until for DAYS days from a day ago. */
static int
org_ca_new(struct org_ca *c, const char *cn, const struct org_ca *issuer,
	   unsigned char serial, int64_t days)
{
	return org_ca_new_until(c, cn, issuer, serial,
				(int64_t)time(NULL) - DAY + days * DAY);
}

static void
org_ca_free(struct org_ca *c)
{
	ca_key_free(c->key);
	free(c->name);
	free(c->spki);
	free(c->der);
	memset(c, 0, sizeof(*c));
}

/* ROOT's CRL number NUMBER (DER, heap) revoking the serials SERIALS (N,
 * one octet each) for REASON. */
static int
org_crl_reason(const struct org_ca *root, const unsigned char *serials,
	       size_t n, int64_t number, int reason, unsigned char **der,
	       size_t *len)
{
	struct ca_crl_entry e[4];
	struct ca_tbs_crl t;
	struct mica_err err;
	unsigned char *tbs = NULL, sig[CA_SIG_MAX];
	size_t tbs_len = 0, sig_len = 0, alg_len;
	const unsigned char *alg = ca_key_sig_alg(root->key, &alg_len);
	int64_t now = (int64_t)time(NULL);
	int rc = -1;

	memset(e, 0, sizeof(e));
	for (size_t i = 0; i < n && i < 4; i++) {
		e[i].serial[0] = serials[i];
		e[i].serial_len = 1;
		e[i].reason = reason;
		e[i].revoked_at = now - 60;
	}
	memset(&t, 0, sizeof(t));
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = root->name;
	t.issuer_len = root->name_len;
	t.this_update = now - 60;
	t.next_update = now + 30 * DAY;
	t.crl_number = number;
	memcpy(t.aki, root->ski, 20);
	t.aki_len = 20;
	t.entries = n > 0 ? e : NULL;
	t.nentries = n;
	if (ca_x509_tbs_crl(&t, &tbs, &tbs_len, &err) == 0 &&
	    ca_key_sign(root->key, tbs, tbs_len, sig, &sig_len, &err) == 0 &&
	    ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, der, len,
			 &err) == 0)
		rc = 0;
	free(tbs);
	return rc;
}

/* The same for cACompromise. */
static int
org_crl(const struct org_ca *root, const unsigned char *serials, size_t n,
	int64_t number, unsigned char **der, size_t *len)
{
	return org_crl_reason(root, serials, n, number, CA_REASON_CA_COMPROMISE,
			      der, len);
}

/* An issuing CA awaiting its certificate in G_TMP/DIR, opened unlocked. */
static struct ca *
org_sub(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct ca_init_opts o;
	struct ca_init_result res;
	struct mica_err err;
	struct ca *ca = NULL;
	const char *doms[] = { "contoso.test" };

	memset(&o, 0, sizeof(o));
	o.datadir = dir_of(path, sizeof(path), dir);
	o.name = name;
	o.kind = CA_INIT_SUBORDINATE;
	o.domains = doms;
	o.ndomains = 1;
	o.public_url = "http://ca.contoso.test";
	if (ca_init(&o, &res, &err) != 0)
		return NULL;
	ca_init_result_free(&res);
	if (ca_open(path, CA_OPEN_UNLOCK, NULL, &ca, &err) != 0)
		return NULL;
	return ca;
}

/* Issue a leaf for NAME from CA for DAYS days: 0 or -1 with *ERR. */
static int
leaf_issue(struct ca *ca, const char *name, int days, struct ca_issued *out,
	   struct mica_err *err)
{
	struct ca_principal cli;
	struct ca_submit s;
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	int rc;

	ca_principal_cli(&cli);
	memset(out, 0, sizeof(*out));
	if (leaf_csr(name, &csr, &csr_len) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "test", "csr");
	memset(&s, 0, sizeof(s));
	s.csr = csr;
	s.csr_len = csr_len;
	s.days = days;
	rc = ca_submit_csr(ca, &cli, &s, out, err);
	free(csr);
	return rc;
}

/* An issuing CA whose certificate ends with its root (sign-ca cuts it so):
 * a renewal from that root would end no later, so the warning of its end
 * says to have it certified under a new root, not "renew it". One that
 * ends before its root is told to renew. */
static void
test_expiry_warning_with_the_root(void)
{
	struct org_ca root;
	struct ca *ica = NULL, *ica2 = NULL;
	struct ca_principal cli;
	struct mica_err err;
	char notice[CA_NOTICE_MAX], w[CA_EXPIRY_WARNING_MAX];
	unsigned char *sub = NULL, *sub2 = NULL, *spki = NULL, *subject = NULL;
	size_t sub_len = 0, sub2_len = 0, spki_len = 0, subject_len = 0;
	struct ca_cert_info ri;

	ca_principal_cli(&cli);
	CU_ASSERT_EQUAL_FATAL(org_ca_new(&root, "Org Root", NULL, 1, 100), 0);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(root.der, root.len, &ri, &err),
			      0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ica = org_sub("org-w", "Org Issuing W"));
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(ica->sh->key, &spki, &spki_len,
					  &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("Org Issuing W", NULL, &subject,
					   &subject_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(org_sign_until(&root, subject, subject_len, spki,
					     spki_len, 0x31, 0,
					     ri.not_after, &sub,
					     &sub_len), 0);
	CU_ASSERT_EQUAL_FATAL(ca_install_cert(ica, &cli, sub, sub_len, root.der,
					      root.len, notice, &err), 0);
	CU_ASSERT_EQUAL(ca_not_after(ica), ca_path_not_after(ica));
	CU_ASSERT_EQUAL(ca_expiry_warning(ica, ca_not_after(ica) - 5 * DAY, w,
					  sizeof(w)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(w, "the CA certificate, and the root "
				      "above it (CN=Org Root) with it, "
				      "expires on"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w, "have this CA certified under a new "
				      "root"));
	CU_ASSERT_PTR_NULL(strstr(w, "renew it"));
	CU_ASSERT_EQUAL(ca_expiry_warning(ica, ca_not_after(ica) + 1, w,
					  sizeof(w)), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(w, "a new root"));

	/* Ending 50 days before the root: renewing it helps. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(ica2 = org_sub("org-w2", "Org Issuing W2"));
	free(spki);
	spki = NULL;
	free(subject);
	subject = NULL;
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(ica2->sh->key, &spki, &spki_len,
					  &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("Org Issuing W2", NULL, &subject,
					   &subject_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(org_sign_until(&root, subject, subject_len, spki,
					     spki_len, 0x32, 0,
					     ri.not_after - 50 * DAY,
					     &sub2, &sub2_len), 0);
	CU_ASSERT_EQUAL_FATAL(ca_install_cert(ica2, &cli, sub2, sub2_len,
					      root.der, root.len, notice,
					      &err), 0);
	CU_ASSERT_EQUAL(ca_expiry_warning(ica2, ca_not_after(ica2) - 5 * DAY,
					  w, sizeof(w)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(w, "renew it before then"));
	ca_close(ica);
	ca_close(ica2);
	free(sub);
	free(sub2);
	free(spki);
	free(subject);
	org_ca_free(&root);
}

/*
 * Two tiers under a root of another organisation that ends first: leaves
 * are cut to the root's end (relying parties refuse them after it), and
 * install-ca says so. Then the root's CRL revokes the CA's certificate:
 * import-crl says so, every issuance is refused ("ca_revoked") but the
 * daemon's own HTTPS certificate, a handle opened before the import (the
 * daemon) finds it at its next look, and a rollover lifts it.
 */
static void
test_revoked_under_org_root(void)
{
	struct org_ca root;
	struct ca *ica = NULL, *served = NULL;
	struct ca_principal cli;
	struct ca_issued leaf;
	struct mica_err err;
	char notice[CA_NOTICE_MAX], adir[PATH_MAX];
	unsigned char *sub = NULL, *crl = NULL, *spki = NULL, *csr = NULL;
	unsigned char *next = NULL, *subject = NULL;
	size_t sub_len = 0, crl_len = 0, spki_len = 0, csr_len = 0;
	size_t next_len = 0, subject_len = 0;
	const unsigned char unrelated = 0x55, own = 0x21;
	struct ca_cert_info ri, si;

	ca_principal_cli(&cli);
	/* The root ends in 100 days, the CA certificate it signs in 730. */
	CU_ASSERT_EQUAL_FATAL(org_ca_new(&root, "Org Root", NULL, 1, 100), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ica = org_sub("org-a", "Org Issuing A"));
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(ica->sh->key, &spki, &spki_len,
					  &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("Org Issuing A", NULL, &subject,
					   &subject_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(org_sign(&root, subject, subject_len, spki,
				       spki_len, own, 0, 730, &sub, &sub_len), 0);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(root.der, root.len, &ri,
						&err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(sub, sub_len, &si, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_install_cert(ica, &cli, sub, sub_len, root.der,
					      root.len, notice, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(notice, "the certificate of CN=Org Root, "
				      "above this CA, ends on"));
	CU_ASSERT_PTR_NOT_NULL(strstr(notice, "cut to end then"));
	CU_ASSERT_EQUAL(ca_not_after(ica), si.not_after);
	CU_ASSERT_EQUAL(ca_path_not_after(ica), ri.not_after);
	{
		/* Its end is the root's: warned of then, not at its own. */
		char w[CA_EXPIRY_WARNING_MAX];

		CU_ASSERT_EQUAL(ca_expiry_warning(ica, ri.not_after - 5 * DAY, w,
						  sizeof(w)), 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(w, "the CA certificate of "
					      "CN=Org Root, above this CA, "
					      "expires on"));
		CU_ASSERT_EQUAL(ca_expiry_warning(ica, ri.not_after + 1, w,
						  sizeof(w)), 2);
	}

	/* 300 days asked: cut to the root's end, and said so. */
	CU_ASSERT_EQUAL_FATAL(leaf_issue(ica, "a1.contoso.test", 300, &leaf,
					 &err), 0);
	CU_ASSERT_EQUAL(leaf.not_after, ri.not_after);
	CU_ASSERT(leaf.clamped);
	CU_ASSERT_PTR_NOT_NULL(strstr(leaf.notice, "validity was shortened to "
				      "end with the CA certificate of "
				      "CN=Org Root, above this CA"));
	ca_issued_free(&leaf);
	/* 30 days: within the path, untouched. */
	CU_ASSERT_EQUAL_FATAL(leaf_issue(ica, "a2.contoso.test", 30, &leaf,
					 &err), 0);
	CU_ASSERT(!leaf.clamped);
	CU_ASSERT(leaf.not_after < ri.not_after);
	ca_issued_free(&leaf);

	/* A handle opened now stands for a running daemon. */
	CU_ASSERT_EQUAL_FATAL(ca_open(dir_of(adir, sizeof(adir), "org-a"),
				      CA_OPEN_UNLOCK, NULL, &served, &err), 0);
	CU_ASSERT_EQUAL(ca_revoked_check(served, 0, &err), 0);

	/* A root CRL revoking another certificate: nothing to say. */
	CU_ASSERT_EQUAL_FATAL(org_crl(&root, &unrelated, 1, 1, &crl, &crl_len),
			      0);
	CU_ASSERT_EQUAL(ca_root_crl_import(ica, &cli, crl, crl_len, notice,
					   &err), 0);
	CU_ASSERT_STRING_EQUAL(notice, "");
	free(crl);
	CU_ASSERT_EQUAL(leaf_issue(ica, "a3.contoso.test", 30, &leaf, &err), 0);
	ca_issued_free(&leaf);

	/* The next revokes this CA's: said, and issuance refused. */
	CU_ASSERT_EQUAL_FATAL(org_crl(&root, &own, 1, 2, &crl, &crl_len), 0);
	CU_ASSERT_EQUAL(ca_root_crl_import(ica, &cli, crl, crl_len, notice,
					   &err), 0);
	free(crl);
	CU_ASSERT_PTR_NOT_NULL(strstr(notice, "revokes this CA's own "
				      "certificate"));
	CU_ASSERT_PTR_NOT_NULL(strstr(notice, "renew-ca --new-key"));
	CU_ASSERT_EQUAL(leaf_issue(ica, "a4.contoso.test", 30, &leaf, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "ca_revoked");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "revokes this CA's certificate"));
	CU_ASSERT_EQUAL(ca_state_issue(ica, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "ca_revoked");
	/* The daemon's own HTTPS certificate is still made: it serves the
	 * CRLs. */
	{
		const char *names[] = { "ca.contoso.test" };

		CU_ASSERT_EQUAL(ca_issue_for_spki(ica, &cli, "server", spki,
						  spki_len, names, 1, 0, &leaf,
						  &err), 0);
		ca_issued_free(&leaf);
	}
	/* The other handle goes by its last look for up to a second, then
	 * finds the new root CRL in the store. */
	CU_ASSERT_EQUAL(ca_revoked_check(served, 0, &err), 0);
	atomic_store(&served->sh->revoked_looked_ms, 1);
	CU_ASSERT_EQUAL(ca_revoked_check(served, 0, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "ca_revoked");
	CU_ASSERT_EQUAL(leaf_issue(served, "a5.contoso.test", 30, &leaf, &err),
			-1);
	CU_ASSERT_STRING_EQUAL(err.code, "ca_revoked");
	/* Reopened (the command line's next command): still refused. */
	ca_close(served);
	served = NULL;
	CU_ASSERT_EQUAL_FATAL(ca_open(dir_of(adir, sizeof(adir), "org-a"),
				      CA_OPEN_UNLOCK, NULL, &served, &err), 0);
	CU_ASSERT_EQUAL(leaf_issue(served, "a6.contoso.test", 30, &leaf, &err),
			-1);
	CU_ASSERT_STRING_EQUAL(err.code, "ca_revoked");
	ca_close(served);
	served = NULL;

	/* Revoked as compromised, its key is not certified again: no
	 * request for the same key. */
	CU_ASSERT_EQUAL(ca_renew_ca(ica, &cli, 0, NULL, -1, NULL, &csr,
				    &csr_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "key_compromised");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "the root's CRL revokes this "
				      "CA's certificate (cACompromise)"));
	CU_ASSERT_PTR_NULL(csr);
	/* Revoked as superseded (a newer CRL says so), it may be: a new
	 * certificate for the same key is what supersedes it. */
	CU_ASSERT_EQUAL_FATAL(org_crl_reason(&root, &own, 1, 3,
					     CA_REASON_SUPERSEDED, &crl,
					     &crl_len), 0);
	CU_ASSERT_EQUAL(ca_root_crl_import(ica, &cli, crl, crl_len, notice,
					   &err), 0);
	free(crl);
	CU_ASSERT_EQUAL(ca_renew_ca(ica, &cli, 0, NULL, -1, NULL, &csr,
				    &csr_len, &err), 0);
	free(csr);
	csr = NULL;
	/* With no reason given (unspecified is left out), judged the worst
	 * way. */
	CU_ASSERT_EQUAL_FATAL(org_crl_reason(&root, &own, 1, 4, 0, &crl,
					     &crl_len), 0);
	CU_ASSERT_EQUAL(ca_root_crl_import(ica, &cli, crl, crl_len, notice,
					   &err), 0);
	free(crl);
	CU_ASSERT_EQUAL(ca_renew_ca(ica, &cli, 0, NULL, -1, NULL, &csr,
				    &csr_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "key_compromised");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "(no reason given)"));

	/* A rollover to a new certificate lifts it. */
	CU_ASSERT_EQUAL_FATAL(ca_renew_ca(ica, &cli, 1, NULL, -1, NULL, &csr,
					  &csr_len, &err), 0);
	free(spki);
	spki = NULL;
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(ica->sh->pending_key, &spki,
					  &spki_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(org_sign(&root, subject, subject_len, spki,
				       spki_len, 0x22, 0, 730, &next,
				       &next_len), 0);
	CU_ASSERT_EQUAL_FATAL(ca_install_cert(ica, &cli, next, next_len, NULL,
					      0, notice, &err), 0);
	CU_ASSERT_EQUAL(ca_revoked_check(ica, 0, &err), 0);
	CU_ASSERT_EQUAL(leaf_issue(ica, "a7.contoso.test", 30, &leaf, &err), 0);
	ca_issued_free(&leaf);

	free(csr);
	free(next);
	free(sub);
	free(spki);
	free(subject);
	ca_close(ica);
	org_ca_free(&root);
}

/* The thisUpdate and nextUpdate of the first SingleResponse of the
 * successful OCSPResponse DER[0..LEN): 0, or -1 if it is not one. */
static int
ocsp_times(const unsigned char *der, size_t len, int64_t *this_update,
	   int64_t *next_update)
{
	struct ca_der_cur c, r, x, rb, basic, tbs, list, one, nu;
	struct ca_der_tlv skip;
	const unsigned char *v;
	size_t n;
	int gen;

	ca_der_init(&c, der, len);
	if (ca_der_enter(&c, CA_DER_SEQUENCE, &r, NULL) < 0 ||
	    ca_der_get_tlv(&r, CA_DER_ENUMERATED, &v, &n, NULL) < 0 ||
	    n != 1 || v[0] != 0 ||
	    ca_der_enter(&r, CA_DER_CTX_CONS(0), &x, NULL) < 0 ||
	    ca_der_enter(&x, CA_DER_SEQUENCE, &rb, NULL) < 0 ||
	    ca_der_get_any(&rb, &skip, NULL) < 0 ||            /* OID */
	    ca_der_get_tlv(&rb, CA_DER_OCTET_STRING, &v, &n, NULL) < 0)
		return -1;
	ca_der_init(&c, v, n);
	if (ca_der_enter(&c, CA_DER_SEQUENCE, &basic, NULL) < 0 ||
	    ca_der_enter(&basic, CA_DER_SEQUENCE, &tbs, NULL) < 0 ||
	    ca_der_get_any(&tbs, &skip, NULL) < 0 ||           /* responderID */
	    ca_der_get_any(&tbs, &skip, NULL) < 0 ||           /* producedAt */
	    ca_der_enter(&tbs, CA_DER_SEQUENCE, &list, NULL) < 0 ||
	    ca_der_enter(&list, CA_DER_SEQUENCE, &one, NULL) < 0 ||
	    ca_der_get_any(&one, &skip, NULL) < 0 ||           /* CertID */
	    ca_der_get_any(&one, &skip, NULL) < 0 ||           /* certStatus */
	    ca_der_get_time(&one, this_update, &gen, NULL) < 0 ||
	    ca_der_enter(&one, CA_DER_CTX_CONS(0), &nu, NULL) < 0 ||
	    ca_der_get_time(&nu, next_update, &gen, NULL) < 0)
		return -1;
	return 0;
}

/* Ask CA about SERIAL (hex) of the key whose certificate is CERT, with a
 * nonce or not: the successful answer in *A (free it), its DER's times. */
static void
ocsp_ask(struct ca *ca, const struct ca_cert_info *cert, const char *serial,
	 int nonce, struct ca_ocsp_answer *a, int64_t *this_update,
	 int64_t *next_update)
{
	struct ca_ocsp_issuer is;
	struct mica_err err;
	unsigned char sn[20], cid[CA_OCSP_CERTID_MAX], req[512];
	size_t sn_len = strlen(serial) / 2, cid_len = 0, req_len = 0;

	CU_ASSERT_EQUAL_FATAL(mica_hex_decode(serial, sn, sn_len), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_issuer_hashes(cert->subject,
		cert->subject_len, cert->spki, cert->spki_len, &is, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &is, sn,
		sn_len, cid, &cid_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_req_encode(cid, cid_len, req,
		sizeof(req), &req_len, &err), 0);
	if (nonce) {
		/* requestExtensions [2] { SEQUENCE { SEQUENCE { nonce OID,
		 * OCTET STRING { OCTET STRING (16) } } } } after the list:
		 * the TBSRequest and the OCSPRequest grow by 31 octets. */
		static const unsigned char ext[] = {
			0xa2, 0x1d, 0x30, 0x1b, 0x30, 0x19, 0x06, 0x09, 0x2b,
			0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02, 0x04,
			0x0c, 0x04, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
		};

		CU_ASSERT_FATAL(req[1] < 0x80 - sizeof(ext) &&
				req[3] < 0x80 - sizeof(ext));
		memcpy(req + req_len, ext, sizeof(ext));
		req_len += sizeof(ext);
		req[1] += sizeof(ext);
		req[3] += sizeof(ext);
	}
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_answer(ca, req, req_len, a, &err), 0);
	CU_ASSERT_EQUAL_FATAL(a->status, 0);
	CU_ASSERT_EQUAL_FATAL(ocsp_times(a->der, a->der_len, this_update,
					 next_update), 0);
	CU_ASSERT_EQUAL(*this_update, a->this_update);
	CU_ASSERT_EQUAL(*next_update, a->next_update);
}

/*
 * Under a root of another organisation that ends in ten hours, an OCSP
 * answer about a leaf is valid until the root ends, not a day (relying
 * parties would keep an answer for when they refuse the path), whether
 * signed ahead of time or for a nonce; the cache headers follow; and the
 * refresh does not sign it again at every pass, since what it would sign
 * ends then too.
 */
static void
test_ocsp_next_update_ends_with_the_path(void)
{
	struct org_ca root;
	struct ca *ica = NULL;
	struct ca_principal cli;
	struct ca_issued leaf;
	struct ca_ocsp_answer a;
	struct mica_err err;
	struct ca_cert_info ri, si;
	char notice[CA_NOTICE_MAX];
	unsigned char *sub = NULL, *spki = NULL, *subject = NULL;
	size_t sub_len = 0, spki_len = 0, subject_len = 0, done = 0;
	int64_t now = (int64_t)time(NULL), end = now + 10 * 3600;
	int64_t tu = 0, nu = 0;

	ca_principal_cli(&cli);
	CU_ASSERT_EQUAL_FATAL(org_ca_new_until(&root, "Org Root Ending", NULL,
					       1, end), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ica = org_sub("org-end",
						   "Org Issuing End"));
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(ica->sh->key, &spki, &spki_len,
					  &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("Org Issuing End", NULL, &subject,
					   &subject_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(org_sign(&root, subject, subject_len, spki,
				       spki_len, 0x31, 0, 730, &sub, &sub_len), 0);
	CU_ASSERT_EQUAL_FATAL(ca_install_cert(ica, &cli, sub, sub_len, root.der,
					      root.len, notice, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(root.der, root.len, &ri,
						&err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(sub, sub_len, &si, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_path_not_after(ica), ri.not_after);
	CU_ASSERT(ri.not_after - now < CA_OCSP_PERIOD);
	CU_ASSERT_EQUAL_FATAL(leaf_issue(ica, "end.contoso.test", 30, &leaf,
					 &err), 0);
	CU_ASSERT(leaf.not_after <= ri.not_after);

	/* Signed on demand (nothing is stored yet). */
	ocsp_ask(ica, &si, leaf.serial, 0, &a, &tu, &nu);
	CU_ASSERT_EQUAL(nu, ri.not_after);
	CU_ASSERT(tu < nu);
	CU_ASSERT(a.max_age > 0 && a.max_age <= ri.not_after - tu);
	ca_ocsp_answer_free(&a);
	/* For a nonce, signed for this request alone. */
	ocsp_ask(ica, &si, leaf.serial, 1, &a, &tu, &nu);
	CU_ASSERT_EQUAL(a.signed_now, 1);
	CU_ASSERT_EQUAL(nu, ri.not_after);
	ca_ocsp_answer_free(&a);

	/* Signed ahead of time: the same end, and a pass right after has
	 * nothing to do (refreshing half a day before a nextUpdate ten
	 * hours away would sign it at every pass). */
	CU_ASSERT_EQUAL(ca_ocsp_refresh(ica, 100000, &done, &err), 0);
	CU_ASSERT_EQUAL(ca_ocsp_refresh(ica, 100000, &done, &err), 0);
	CU_ASSERT_EQUAL(done, 0);
	ocsp_ask(ica, &si, leaf.serial, 0, &a, &tu, &nu);
	CU_ASSERT_EQUAL(a.presigned, 1);
	CU_ASSERT_EQUAL(nu, ri.not_after);
	ca_ocsp_answer_free(&a);

	ca_issued_free(&leaf);
	free(sub);
	free(spki);
	free(subject);
	ca_close(ica);
	org_ca_free(&root);
}

/*
 * Three tiers: an organisation's root, its intermediate, this CA. The
 * root's CRL speaks of the intermediate (its serials, not this CA's):
 * revoking the intermediate stops this CA's issuance and is said at the
 * import; a serial of the root's that happens to equal this CA's (given
 * by the intermediate) does not.
 */
static void
test_revoked_above(void)
{
	struct org_ca root, inter;
	struct ca *ica = NULL;
	struct ca_principal cli;
	struct ca_issued leaf;
	struct mica_err err;
	char notice[CA_NOTICE_MAX], *p1 = NULL, *p2 = NULL, *chain = NULL;
	unsigned char *sub = NULL, *crl = NULL, *spki = NULL, *subject = NULL;
	size_t sub_len = 0, crl_len = 0, spki_len = 0, subject_len = 0;
	const unsigned char own = 0x41, mid = 0x31;

	ca_principal_cli(&cli);
	CU_ASSERT_EQUAL_FATAL(org_ca_new(&root, "Org Root B", NULL, 1, 3650), 0);
	CU_ASSERT_EQUAL_FATAL(org_ca_new(&inter, "Org Intermediate", &root,
					 mid, 1000), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ica = org_sub("org-b", "Org Issuing B"));
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(ica->sh->key, &spki, &spki_len,
					  &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("Org Issuing B", NULL, &subject,
					   &subject_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(org_sign(&inter, subject, subject_len, spki,
				       spki_len, own, 0, 365, &sub, &sub_len), 0);
	CU_ASSERT_EQUAL_FATAL(ca_pem_encode("CERTIFICATE", inter.der, inter.len,
					    &p1, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_pem_encode("CERTIFICATE", root.der, root.len,
					    &p2, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(chain = malloc(strlen(p1) + strlen(p2) + 1));
	strcpy(chain, p1);
	strcat(chain, p2);
	CU_ASSERT_EQUAL_FATAL(ca_install_cert(ica, &cli, sub, sub_len,
					      (unsigned char *)chain,
					      strlen(chain), notice, &err), 0);
	/* This CA's own certificate ends first: nothing above to say. */
	CU_ASSERT_PTR_NULL(strstr(notice, "above this CA, ends on"));
	CU_ASSERT_EQUAL(ca_path_not_after(ica), ca_not_after(ica));
	CU_ASSERT_EQUAL(leaf_issue(ica, "b1.contoso.test", 30, &leaf, &err), 0);
	ca_issued_free(&leaf);

	/* The root's serial 0x41 is another certificate than this CA's. */
	CU_ASSERT_EQUAL_FATAL(org_crl(&root, &own, 1, 1, &crl, &crl_len), 0);
	CU_ASSERT_EQUAL(ca_root_crl_import(ica, &cli, crl, crl_len, notice,
					   &err), 0);
	free(crl);
	CU_ASSERT_STRING_EQUAL(notice, "");
	CU_ASSERT_EQUAL(leaf_issue(ica, "b2.contoso.test", 30, &leaf, &err), 0);
	ca_issued_free(&leaf);

	/* The intermediate revoked: everything under it with it. */
	CU_ASSERT_EQUAL_FATAL(org_crl(&root, &mid, 1, 2, &crl, &crl_len), 0);
	CU_ASSERT_EQUAL(ca_root_crl_import(ica, &cli, crl, crl_len, notice,
					   &err), 0);
	free(crl);
	CU_ASSERT_PTR_NOT_NULL(strstr(notice, "revokes the certificate of "
				      "CN=Org Intermediate, above this CA"));
	CU_ASSERT_EQUAL(leaf_issue(ica, "b3.contoso.test", 30, &leaf, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "ca_revoked");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "CN=Org Intermediate, above "
				      "this CA"));

	free(chain);
	free(p1);
	free(p2);
	free(sub);
	free(spki);
	free(subject);
	ca_close(ica);
	org_ca_free(&inter);
	org_ca_free(&root);
}

/* ------------------------------------------------------------- main */

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
suite_init(void)
{
	snprintf(g_tmp, sizeof(g_tmp), "/tmp/mica-hier-XXXXXX");
	if (mkdtemp(g_tmp) == NULL)
		return -1;
	setenv("MICA_PASSPHRASE", PASSPHRASE, 1);
	/* Cheap PBKDF2 in a --enable-test-kdf build; ignored otherwise. */
	if (getenv(CA_KDF_TEST_ENV) == NULL)
		setenv(CA_KDF_TEST_ENV, "1000", 1);
	mica_log_open("/dev/null");
	return 0;
}

static int
suite_clean(void)
{
	mica_log_open(NULL);
	if (getenv("MICA_TEST_KEEP") == NULL)
		nftw(g_tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int
main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "PKCS#7 certs-only: encodes in DER order, decodes back",
		  test_p7_round_trip },
		{ "PKCS#7: refuses anything but a certs-only message",
		  test_p7_refuses_what_is_not_certs_only },
		{ "name constraints: writes the domains, matches on label boundaries",
		  test_nc_encoding_and_matching },
		{ "address ranges: strict CIDR, refused with the range meant",
		  test_cidr_parsing },
		{ "name constraints: IP ranges permitted, other families excluded",
		  test_nc_ranges },
		{ "name constraints: reads other CAs' forms, refuses what it cannot judge",
		  test_nc_reads_other_cas_forms },
		{ "a CA's own request is a PKCS#10 its signature proves",
		  test_ca_request_is_a_valid_pkcs10 },
		{ "the root signs exactly the CA certificate requested",
		  test_signcheck_cacert },
		{ "a constrained CA's signer refuses a leaf name outside its "
		  "constraints, a UPN too",
		  test_signcheck_leaf_name_constraints },
		{ "names compared as relying parties do (case, spacing, string types)",
		  test_name_match },
		{ "a directory string's text: every string type as UTF-8, no surrogate",
		  test_dirstring_text },
		{ "a Name for people: every string type's text, controls, bidi "
		  "and invisible characters escaped",
		  test_name_text },
		{ "under another organisation's root: leaves end with it; revoked by its CRL, nothing issued until a rollover",
		  test_revoked_under_org_root },
		{ "an issuing CA ending with its root is told of a new root, not to renew",
		  test_expiry_warning_with_the_root },
		{ "an OCSP answer's nextUpdate never passes the end of the CA's path, signed ahead of time or not, and is not signed again at every pass",
		  test_ocsp_next_update_ends_with_the_path },
		{ "three tiers: the root's CRL revoking the CA above stops issuance",
		  test_revoked_above },
		{ "the ceremony: offline root, issuing CA, install, issue, rollover",
		  test_engine_ceremony },
		{ "a rollover past the 16th key is refused, naming what is left",
		  test_rollover_key_limit },
		{ "an offline root takes no delta CRL period",
		  test_root_only_no_deltas },
		{ "an offline root signs no OCSP responder nor answers",
		  test_root_only_no_ocsp },
		{ "an offline root takes no allowed domain and makes no token",
		  test_root_only_no_domains },
		{ "a path's policyConstraints, key algorithm, CDP and caIssuers read",
		  test_path_extensions_read },
		{ "RSASSA-PSS signatures of other CAs' roots: verified, with their keys' restrictions",
		  test_sig_verify_pss },
	};
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("ca/hierarchy", suite_init, suite_clean);
	if (suite == NULL)
		goto fail;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		 CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
fail:
	CU_cleanup_registry();
	return 1;
}

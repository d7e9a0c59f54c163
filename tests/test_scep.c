/*
 * tests/test_scep.c - SCEP (RFC 8894): the pkiMessage reader on messages
 * captured from real clients (tests/scep_vectors.h), hostile variants of
 * them, the CertRep writer, the RA key's decryption with implicit
 * rejection, what the signer agrees to do with the RA key, and
 * GetNextCACert's rule, signature and reply. The whole
 * exchange with real clients is tests/e2e/scep.sh.
 */
#include <CUnit/Basic.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "ca/cacert.h"
#include "ca/der.h"
#include "ca/keys.h"
#include "ca/profile.h"
#include "ca/csr.h"
#include "ca/p7.h"
#include "ca/scep.h"
#include "ca/signcheck.h"
#include "ca/signer_int.h"
#include "ca/x509.h"
#include "util/err.h"
#include "util/log.h"

#include "tests/scep_vectors.h"

static int
rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	return ca_random(buf, len, NULL) == 0 ? 0 : -1;
}

/* The stand-in RA's key, for decrypting the captured messages. */
static int
ra_key(mbedtls_pk_context *pk)
{
	unsigned char *pem = malloc(ra_key_pem_len + 1);
	int r;

	if (pem == NULL)
		return -1;
	memcpy(pem, ra_key_pem, ra_key_pem_len);
	pem[ra_key_pem_len] = '\0';
	mbedtls_pk_init(pk);
	r = mbedtls_pk_parse_key(pk, pem, ra_key_pem_len + 1, NULL, 0, rng,
				 NULL);
	free(pem);
	return r;
}

/* Parse MSG, decrypt its content with the stand-in RA key: the CSR (heap)
 * or NULL. */
static unsigned char *
open_msg(const unsigned char *msg, size_t len, struct ca_scep_msg *m,
	 size_t *csr_len)
{
	mbedtls_pk_context pk;
	struct mica_err err;
	unsigned char key[64], *out = NULL;
	size_t klen = 0;
	int ri;

	if (ca_scep_msg_parse(msg, len, m, &err) != 0)
		return NULL;
	if ((ri = ca_scep_msg_recip(m, ra_der, ra_der_len)) < 0)
		return NULL;
	if (ra_key(&pk) != 0)
		return NULL;
	if (mbedtls_pk_decrypt(&pk, m->recips[ri].ekey, m->recips[ri].ekey_len,
			       key, &klen, sizeof(key), rng, NULL) != 0 ||
	    klen != ca_scep_cipher_key_len(m->cipher) ||
	    ca_scep_decrypt(m, key, &out, csr_len, &err) != 0)
		out = NULL;
	mbedtls_pk_free(&pk);
	return out;
}

static void
check_client_message(const unsigned char *msg, size_t len, const char *cn)
{
	struct ca_scep_msg m;
	struct ca_csr csr;
	struct mica_err err;
	unsigned char *der;
	size_t der_len = 0;

	der = open_msg(msg, len, &m, &der_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_EQUAL(m.type, CA_SCEP_PKCSREQ);
	CU_ASSERT(strlen(m.tid) > 0);
	CU_ASSERT_EQUAL(m.nonce_len, 16);
	CU_ASSERT_EQUAL(m.sig_ok, 1);
	CU_ASSERT_EQUAL(m.signer_rsa, 1);
	CU_ASSERT_EQUAL(m.nrecips, 1);
	CU_ASSERT_EQUAL_FATAL(ca_csr_parse(der, der_len, &csr, &err), 0);
	CU_ASSERT_STRING_EQUAL(csr.cn, cn);
	CU_ASSERT_EQUAL(csr.has_challenge, 1);
	CU_ASSERT_STRING_EQUAL(csr.challenge, "abc");
	ca_csr_free(&csr);
	free(der);
	ca_scep_msg_free(&m);
}

static void
test_reads_what_scepclient_sends(void)
{
	struct ca_scep_msg m;
	struct mica_err err;

	check_client_message(scepclient_pkcsreq_der, scepclient_pkcsreq_der_len,
			     "dev1");
	/* DES-CBC and SHA-1, whatever GetCACaps says; the constructed
	 * encryptedContent of Go's pkcs7. */
	CU_ASSERT_EQUAL_FATAL(ca_scep_msg_parse(scepclient_pkcsreq_der,
						scepclient_pkcsreq_der_len, &m,
						&err), 0);
	CU_ASSERT_EQUAL(m.cipher, CA_SCEP_DES_CBC);
	ca_scep_msg_free(&m);
}

static void
test_reads_what_certmonger_sends(void)
{
	check_client_message(certmonger_pkcsreq_der,
			     certmonger_pkcsreq_der_len, "dev6.example.test");
}

/* Every prefix is refused; every one-bit change is refused, or fails the
 * signature, or still yields exactly the original CSR (a bit in what the
 * signature does not cover and the reader ignores, such as the client
 * certificate's own signature). Never another CSR with a good signature. */
static void
mutate(const unsigned char *orig, size_t len)
{
	struct ca_scep_msg m;
	struct mica_err err;
	unsigned char *buf = malloc(len + 1), *ref, *der;
	size_t ref_len = 0, der_len = 0, bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	ref = open_msg(orig, len, &m, &ref_len);
	ca_scep_msg_free(&m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	for (size_t n = 0; n < len; n++)
		if (ca_scep_msg_parse(orig, n, &m, &err) == 0) {
			bad++;
			ca_scep_msg_free(&m);
		}
	CU_ASSERT_EQUAL(bad, 0);
	/* A byte after it, and an indefinite outer length: refused. */
	memcpy(buf, orig, len);
	buf[len] = 0;
	CU_ASSERT_NOT_EQUAL(ca_scep_msg_parse(buf, len + 1, &m, &err), 0);
	buf[1] = 0x80;
	CU_ASSERT_NOT_EQUAL(ca_scep_msg_parse(buf, len, &m, &err), 0);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(buf, orig, len);
			buf[i] ^= (unsigned char)(1u << bit);
			if (ca_scep_msg_parse(buf, len, &m, &err) != 0)
				continue;
			if (m.sig_ok) {
				ca_scep_msg_free(&m);
				der = open_msg(buf, len, &m, &der_len);
				if (der != NULL &&
				    (der_len != ref_len ||
				     memcmp(der, ref, ref_len) != 0))
					bad++;
				free(der);
			}
			ca_scep_msg_free(&m);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(ref);
	free(buf);
}

static void
test_refuses_truncated_and_mutated_messages(void)
{
	struct ca_scep_msg m;
	struct mica_err err;
	unsigned char *big;

	mutate(scepclient_pkcsreq_der, scepclient_pkcsreq_der_len);
	mutate(certmonger_pkcsreq_der, certmonger_pkcsreq_der_len);
	CU_ASSERT_NOT_EQUAL(ca_scep_msg_parse(NULL, 0, &m, &err), 0);
	big = calloc(1, CA_SCEP_MSG_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	big[0] = 0x30;
	CU_ASSERT_NOT_EQUAL(ca_scep_msg_parse(big, CA_SCEP_MSG_MAX + 1, &m,
					      &err), 0);
	CU_ASSERT_EQUAL(err.kind, MICA_E_TOOLARGE);
	free(big);
}

/* A message to another RA: nobody here is its recipient. */
static void
test_finds_only_its_own_recipient(void)
{
	struct ca_scep_msg m;
	struct mica_err err;
	struct ca_key *k = NULL;
	unsigned char *spki = NULL, *name = NULL, *tbs = NULL, serial[16];
	size_t spki_len = 0, name_len = 0, tbs_len = 0, alg_len = 0;
	struct ca_tbs_cert t;

	CU_ASSERT_EQUAL_FATAL(ca_scep_msg_parse(scepclient_pkcsreq_der,
						scepclient_pkcsreq_der_len, &m,
						&err), 0);
	CU_ASSERT_EQUAL(ca_scep_msg_recip(&m, ra_der, ra_der_len), 0);
	/* Garbage and a certificate of another name and serial. */
	CU_ASSERT_EQUAL(ca_scep_msg_recip(&m, (const unsigned char *)"x", 1),
			-1);
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &k, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(k, &spki, &spki_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("other", NULL, &name, &name_len,
					   &err), 0);
	memset(&t, 0, sizeof(t));
	memset(serial, 0x42, sizeof(serial));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = ca_key_sig_alg(k, &alg_len);
	t.sig_alg_len = alg_len;
	t.issuer = name;
	t.issuer_len = name_len;
	t.subject = name;
	t.subject_len = name_len;
	t.not_before = 0;
	t.not_after = 86400;
	t.spki = spki;
	t.spki_len = spki_len;
	t.path_len = -1;
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	/* (a TBS is not a certificate: that is the point) */
	CU_ASSERT_EQUAL(ca_scep_msg_recip(&m, tbs, tbs_len), -1);
	free(tbs);
	free(name);
	free(spki);
	ca_key_free(k);
	ca_scep_msg_free(&m);
}

/* ------------------------------------------- unsupported algorithms -- */

/* Whole OID TLVs. */
static const unsigned char T_SHA256[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01 };
static const unsigned char T_SHA384[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x02 };
static const unsigned char T_RSA[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const unsigned char T_RSAES_OAEP[] = { 0x06, 0x09, 0x2a, 0x86, 0x48,
	0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07 };
static const unsigned char T_RSASSA_PSS[] = { 0x06, 0x09, 0x2a, 0x86, 0x48,
	0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a };
static const unsigned char T_SHA1_RSA[] = { 0x06, 0x09, 0x2a, 0x86, 0x48,
	0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05 };
static const unsigned char T_SHA256_RSA[] = { 0x06, 0x09, 0x2a, 0x86, 0x48,
	0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b };
static const unsigned char T_AES256_CBC[] = { 0x06, 0x09, 0x60, 0x86, 0x48,
	0x01, 0x65, 0x03, 0x04, 0x01, 0x2a };
static const unsigned char T_AES256_GCM[] = { 0x06, 0x09, 0x60, 0x86, 0x48,
	0x01, 0x65, 0x03, 0x04, 0x01, 0x2e };
static const unsigned char T_DES_CBC[] = { 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02,
	0x07 };
static const unsigned char T_DES_ECB[] = { 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02,
	0x06 };
static const unsigned char T_TRANSACTION_ID[] = { 0x06, 0x0a, 0x60, 0x86,
	0x48, 0x01, 0x86, 0xf8, 0x45, 0x01, 0x09, 0x07 };

/* Where the OID TLV T (N octets) first (LAST 0) or last occurs in MSG:
 * an offset, or LEN when it does not. */
static size_t
find_tlv(const unsigned char *msg, size_t len, const unsigned char *t,
	 size_t n, int last)
{
	size_t at = len;

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(msg + i, t, n) == 0) {
			at = i;
			if (!last)
				break;
		}
	return at;
}

/* A copy (heap) of MSG with the first or LAST occurrence of the OID TLV
 * FROM replaced by TO, of the same length: the message as a client of
 * that algorithm would send it, with the signature or messageDigest no
 * longer matching. */
static unsigned char *
with_alg(const unsigned char *msg, size_t len, const unsigned char *from,
	 const unsigned char *to, size_t n, int last)
{
	unsigned char *b = malloc(len);
	size_t at = find_tlv(msg, len, from, n, last);

	if (b == NULL || at == len) {
		free(b);
		return NULL;
	}
	memcpy(b, msg, len);
	memcpy(b + at, to, n);
	return b;
}

/* RFC 8894 3.2.1.4.5: a message read whole but for an algorithm mica does
 * not support is answered FAILURE badAlg with its transactionID and
 * senderNonce, not HTTP 400. Each kind, on both clients' messages. */
static void
test_reads_an_unsupported_algorithm_for_a_badalg_answer(void)
{
	static const struct {
		const char *what;
		int certmonger;        /* else scepclient */
		const unsigned char *from, *to;
		size_t n;
		int last;
		int envelope;          /* inside the signed content */
	} cases[] = {
		{ "digest SHA-384", 1, T_SHA256, T_SHA384, sizeof(T_SHA256),
		  1, 0 },
		{ "signature RSASSA-PSS", 1, T_RSA, T_RSASSA_PSS,
		  sizeof(T_RSA), 1, 0 },
		{ "sha256WithRSA under a SHA-1 digest", 0, T_SHA1_RSA,
		  T_SHA256_RSA, sizeof(T_SHA1_RSA), 1, 0 },
		{ "key transport RSAES-OAEP", 1, T_RSA, T_RSAES_OAEP,
		  sizeof(T_RSA), 0, 1 },
		{ "key transport RSAES-OAEP", 0, T_RSA, T_RSAES_OAEP,
		  sizeof(T_RSA), 0, 1 },
		{ "content cipher AES-256-GCM", 1, T_AES256_CBC, T_AES256_GCM,
		  sizeof(T_AES256_CBC), 0, 1 },
		{ "content cipher DES-ECB", 0, T_DES_CBC, T_DES_ECB,
		  sizeof(T_DES_CBC), 0, 1 },
	};
	struct ca_scep_msg orig, m;
	struct mica_err err;
	const char *why;
	int ri, fi;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const unsigned char *v = cases[i].certmonger ?
			certmonger_pkcsreq_der : scepclient_pkcsreq_der;
		size_t vl = cases[i].certmonger ? certmonger_pkcsreq_der_len :
			    scepclient_pkcsreq_der_len;
		unsigned char *b = with_alg(v, vl, cases[i].from, cases[i].to,
					    cases[i].n, cases[i].last);

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL_FATAL(ca_scep_msg_parse(v, vl, &orig, &err), 0);
		/* The intact message goes on, to the RA's recipient. */
		CU_ASSERT_EQUAL(ca_scep_msg_check(&orig, ra_der, ra_der_len,
						  &ri, &fi, &why), 0);
		CU_ASSERT_EQUAL(ri, 0);
		mica_err_clear(&err);
		if (ca_scep_msg_parse(b, vl, &m, &err) != 0) {
			fprintf(stderr, "\n    %s: %s\n", cases[i].what,
				err.msg);
			CU_FAIL("a message of an unsupported algorithm was not "
				"read");
			ca_scep_msg_free(&orig);
			free(b);
			continue;
		}
		/* What the answer carries back. */
		CU_ASSERT_STRING_EQUAL(m.tid, orig.tid);
		CU_ASSERT_EQUAL(m.nonce_len, orig.nonce_len);
		CU_ASSERT(memcmp(m.nonce, orig.nonce, orig.nonce_len) == 0);
		CU_ASSERT_EQUAL(m.type, CA_SCEP_PKCSREQ);
		CU_ASSERT_EQUAL(m.sig_ok, 0);
		if (!cases[i].envelope) {
			/* Refused before the signature is checked. */
			CU_ASSERT_PTR_NOT_NULL(m.sig_alg_bad);
			CU_ASSERT_EQUAL(ca_scep_msg_check(&m, ra_der,
							  ra_der_len, &ri, &fi,
							  &why), -1);
			CU_ASSERT_EQUAL(fi, CA_SCEP_BAD_ALG);
		} else {
			CU_ASSERT_PTR_NULL(m.sig_alg_bad);
			CU_ASSERT(m.recips[0].rsa == 0 ||
				  m.cipher == CA_SCEP_CIPHER_UNSUPPORTED);
			/* The envelope is signed content: changed under the
			 * signature, it is badMessageCheck first... */
			CU_ASSERT_EQUAL(ca_scep_msg_check(&m, ra_der,
							  ra_der_len, &ri, &fi,
							  &why), -1);
			CU_ASSERT_EQUAL(fi, CA_SCEP_BAD_MESSAGE_CHECK);
			/* ...and badAlg as its sender, who signed it, sends
			 * it, before anything is decrypted. */
			m.sig_ok = 1;
			CU_ASSERT_EQUAL(ca_scep_msg_check(&m, ra_der,
							  ra_der_len, &ri, &fi,
							  &why), -1);
			CU_ASSERT_EQUAL(fi, CA_SCEP_BAD_ALG);
		}
		ca_scep_msg_free(&m);
		ca_scep_msg_free(&orig);
		free(b);
	}
}

/* badAlg needs the attributes it answers with: a message of an unsupported
 * digest whose transactionID cannot be read stays unreadable (400), and a
 * supported algorithm keeps its strict form. A cipher mica does not know
 * is never run. */
static void
test_an_unsupported_algorithm_excuses_nothing_else(void)
{
	struct ca_scep_msg m;
	struct mica_err err;
	unsigned char *b, *out = NULL, key[CA_SCEP_KEY_MAX];
	size_t at, out_len = 0;

	b = with_alg(certmonger_pkcsreq_der, certmonger_pkcsreq_der_len,
		     T_SHA256, T_SHA384, sizeof(T_SHA256), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	/* transactionID's value: SET { PrintableString } -> an INTEGER */
	at = find_tlv(b, certmonger_pkcsreq_der_len, T_TRANSACTION_ID,
		      sizeof(T_TRANSACTION_ID), 0);
	CU_ASSERT_FATAL(at + sizeof(T_TRANSACTION_ID) + 2 <
			certmonger_pkcsreq_der_len);
	CU_ASSERT_EQUAL_FATAL(b[at + sizeof(T_TRANSACTION_ID)], CA_DER_SET);
	b[at + sizeof(T_TRANSACTION_ID) + 2] = CA_DER_INTEGER;
	mica_err_clear(&err);
	CU_ASSERT_EQUAL(ca_scep_msg_parse(b, certmonger_pkcsreq_der_len, &m,
					  &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_scep");
	CU_ASSERT_EQUAL(m.ct, NULL);
	free(b);
	/* An unsupported cipher: never decrypted, whatever the key. */
	b = with_alg(certmonger_pkcsreq_der, certmonger_pkcsreq_der_len,
		     T_AES256_CBC, T_AES256_GCM, sizeof(T_AES256_CBC), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL_FATAL(ca_scep_msg_parse(b, certmonger_pkcsreq_der_len,
						&m, &err), 0);
	CU_ASSERT_EQUAL(m.cipher, CA_SCEP_CIPHER_UNSUPPORTED);
	CU_ASSERT_EQUAL(ca_scep_cipher_key_len(m.cipher), 0);
	memset(key, 0x5a, sizeof(key));
	mica_err_clear(&err);
	CU_ASSERT_EQUAL(ca_scep_decrypt(&m, key, &out, &out_len, &err), -1);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_scep_alg");
	ca_scep_msg_free(&m);
	free(b);
}

/* --------------------------------------------------------- CertRep -- */

struct signed_attrs {
	struct ca_key *key;
	unsigned char attrs[CA_SCEP_ATTRS_MAX];
	size_t len;
	int checked;
};

/* The RA's signature, after the check a signer makes. */
static int
sign_cb(void *arg, const unsigned char *attrs, size_t len, unsigned char *sig,
	size_t *sig_len, struct mica_err *err)
{
	struct signed_attrs *s = arg;

	if (len <= sizeof(s->attrs)) {
		memcpy(s->attrs, attrs, len);
		s->len = len;
	}
	if (ca_scep_attrs_check(attrs, len, err) != 0)
		return -1;
	s->checked = 1;
	return ca_key_sign(s->key, attrs, len, sig, sig_len, err);
}

/* A self-signed RSA certificate for KEY (the RA's, for the tests). */
static unsigned char *
self_cert(struct ca_key *key, const char *cn, size_t *len)
{
	struct ca_tbs_cert t;
	struct mica_err err;
	unsigned char *spki = NULL, *name = NULL, *tbs = NULL, *der = NULL;
	unsigned char serial[16], sig[CA_SIG_MAX];
	size_t spki_len, name_len, tbs_len, alg_len, sig_len;
	const unsigned char *alg;
	struct ca_der_w w;
	size_t bits, inner;

	memset(serial, 0x11, sizeof(serial));
	if (ca_key_spki(key, &spki, &spki_len, &err) != 0 ||
	    ca_x509_name(cn, NULL, &name, &name_len, &err) != 0)
		goto out;
	memset(&t, 0, sizeof(t));
	alg = ca_key_sig_alg(key, &alg_len);
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = t.subject = name;
	t.issuer_len = t.subject_len = name_len;
	t.not_before = time(NULL) - 60;
	t.not_after = time(NULL) + 86400;
	t.spki = spki;
	t.spki_len = spki_len;
	t.path_len = -1;
	t.key_usage = CA_KU_DIGITAL_SIGNATURE | CA_KU_KEY_ENCIPHERMENT;
	t.ski_len = 20;
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err) != 0 ||
	    ca_key_sign(key, tbs, tbs_len, sig, &sig_len, &err) != 0)
		goto out;
	bits = ca_der_hdr_size(sig_len + 1) + sig_len + 1;
	inner = tbs_len + alg_len + bits;
	*len = ca_der_hdr_size(inner) + inner;
	if ((der = malloc(*len)) == NULL)
		goto out;
	ca_der_w_init(&w, der, *len);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, inner);
	ca_der_w_raw(&w, tbs, tbs_len);
	ca_der_w_raw(&w, alg, alg_len);
	ca_der_w_hdr(&w, CA_DER_BIT_STRING, sig_len + 1);
	ca_der_w_byte(&w, 0);
	ca_der_w_raw(&w, sig, sig_len);
	if (ca_der_w_done(&w, &err) != 0) {
		free(der);
		der = NULL;
	}
out:
	free(spki);
	free(name);
	free(tbs);
	return der;
}

static void
test_certrep_is_signed_only_after_the_signers_check(void)
{
	struct signed_attrs s;
	struct ca_scep_rep r;
	struct ca_scep_msg m;
	struct mica_err err;
	mbedtls_x509_crt crt;
	unsigned char *ra = NULL, *out = NULL, nonce[16];
	size_t ra_len = 0, out_len = 0;
	static const unsigned char content[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };

	memset(&s, 0, sizeof(s));
	memset(nonce, 0x5a, sizeof(nonce));
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_RSA_2048, &s.key, &err),
			      0);
	ra = self_cert(s.key, CA_SCEP_RA_CN, &ra_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ra);
	mbedtls_x509_crt_init(&crt);
	CU_ASSERT_EQUAL_FATAL(mbedtls_x509_crt_parse_der(&crt, ra, ra_len), 0);
	mbedtls_x509_crt_free(&crt);

	/* FAILURE and PENDING: no envelope. */
	memset(&r, 0, sizeof(r));
	r.status = CA_SCEP_FAILURE;
	r.fail_info = CA_SCEP_BAD_REQUEST;
	r.tid = "tid-1";
	r.recipient_nonce = nonce;
	r.recipient_nonce_len = sizeof(nonce);
	CU_ASSERT_EQUAL(ca_scep_rep_encode(&r, ra, ra_len, sign_cb, &s, &out,
					   &out_len, &err), 0);
	CU_ASSERT_EQUAL(s.checked, 1);
	CU_ASSERT(out_len > 0 && out != NULL && out[0] == 0x30);
	/* It is no request: the reader refuses a CertRep. */
	CU_ASSERT_NOT_EQUAL(ca_scep_msg_parse(out, out_len, &m, &err), 0);
	free(out);
	out = NULL;
	r.status = CA_SCEP_PENDING;
	CU_ASSERT_EQUAL(ca_scep_rep_encode(&r, ra, ra_len, sign_cb, &s, &out,
					   &out_len, &err), 0);
	free(out);
	out = NULL;

	/* SUCCESS: encrypted to the client, with each cipher. */
	r.status = CA_SCEP_SUCCESS;
	r.content = content;
	r.content_len = sizeof(content);
	r.recipient = ra;            /* any RSA certificate will do */
	r.recipient_len = ra_len;
	for (int c = CA_SCEP_DES_CBC; c <= CA_SCEP_AES256_CBC; c++) {
		r.cipher = c;
		CU_ASSERT_EQUAL(ca_scep_rep_encode(&r, ra, ra_len, sign_cb, &s,
						   &out, &out_len, &err), 0);
		free(out);
		out = NULL;
	}
	/* Not to an EC key (SCEP encrypts to RSA); no reply without a
	 * transactionID. */
	r.recipient = (const unsigned char *)"junk";
	r.recipient_len = 4;
	CU_ASSERT_NOT_EQUAL(ca_scep_rep_encode(&r, ra, ra_len, sign_cb, &s,
					       &out, &out_len, &err), 0);
	r.status = CA_SCEP_PENDING;
	r.tid = "";
	CU_ASSERT_NOT_EQUAL(ca_scep_rep_encode(&r, ra, ra_len, sign_cb, &s,
					       &out, &out_len, &err), 0);
	free(ra);
	ca_key_free(s.key);
}

/* Hand-made SignedAttributes: the RA key signs CertRep attributes only. */
static size_t
attr(unsigned char *p, unsigned last, unsigned tag, const char *v)
{
	/* SEQUENCE { OID 2.16.840.1.113733.1.9.LAST, SET { TAG V } } */
	static const unsigned char oid[] = { 0x06, 0x0a, 0x60, 0x86, 0x48,
		0x01, 0x86, 0xf8, 0x45, 0x01, 0x09, 0x00 };
	size_t vl = strlen(v), n = 0;

	p[n++] = 0x30;
	p[n++] = (unsigned char)(sizeof(oid) + 4 + vl);
	memcpy(p + n, oid, sizeof(oid));
	p[n + sizeof(oid) - 1] = (unsigned char)last;
	n += sizeof(oid);
	p[n++] = 0x31;
	p[n++] = (unsigned char)(2 + vl);
	p[n++] = (unsigned char)tag;
	p[n++] = (unsigned char)vl;
	memcpy(p + n, v, vl);
	return n + vl;
}

static int
check_set(const char *type, int with_tid, int extra_last)
{
	static const unsigned char ct[] = { 0x30, 0x18, 0x06, 0x09, 0x2a, 0x86,
		0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03, 0x31, 0x0b, 0x06,
		0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01 };
	unsigned char buf[512], md[49] = { 0x30, 0x2f, 0x06, 0x09, 0x2a, 0x86,
		0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04, 0x31, 0x22, 0x04,
		0x20 };
	struct mica_err err;
	size_t n = 3;

	memcpy(buf + n, ct, sizeof(ct));
	n += sizeof(ct);
	memcpy(buf + n, md, sizeof(md));
	n += sizeof(md);
	n += attr(buf + n, 2, 0x13, type);
	n += attr(buf + n, 3, 0x13, "0");
	if (with_tid)
		n += attr(buf + n, 7, 0x13, "tid");
	if (extra_last >= 0)
		n += attr(buf + n, (unsigned)extra_last, 0x13, "tid");
	buf[0] = 0x31;
	buf[1] = 0x81;
	buf[2] = (unsigned char)(n - 3);
	if (n - 3 < 128) {          /* DER: the short form */
		memmove(buf + 2, buf + 3, n - 3);
		buf[1] = (unsigned char)(n - 3);
		n--;
	}
	int r = ca_scep_attrs_check(buf, n, &err);

	if (r != 0 && getenv("SCEP_DEBUG"))
		fprintf(stderr, "%s\n", err.msg);
	return r;
}

static void
test_ra_key_signs_certrep_attributes_only(void)
{
	struct mica_err err;

	CU_ASSERT_EQUAL(check_set("3", 1, -1), 0);
	CU_ASSERT_NOT_EQUAL(check_set("19", 1, -1), 0);  /* a PKCSReq */
	CU_ASSERT_NOT_EQUAL(check_set("17", 1, -1), 0);
	CU_ASSERT_NOT_EQUAL(check_set("3", 0, -1), 0);   /* no transactionID */
	CU_ASSERT_NOT_EQUAL(check_set("3", 1, 7), 0);    /* two of them */
	CU_ASSERT_NOT_EQUAL(check_set("3", 1, 9), 0);    /* an unknown one */
	CU_ASSERT_NOT_EQUAL(check_set("3x", 1, -1), 0);
	CU_ASSERT_NOT_EQUAL(ca_scep_attrs_check((const unsigned char *)"\x30"
						"\x00", 2, &err), 0);
	CU_ASSERT_NOT_EQUAL(ca_scep_attrs_check(NULL, 0, &err), 0);
}

/* ------------------------------------------------------- the RA key -- */

static void
test_ra_key_decrypts_with_implicit_rejection(void)
{
	struct ca_key *k = NULL;
	struct mica_err err;
	mbedtls_pk_context pub;
	unsigned char *spki = NULL, ct[256], garbage[256], out[32], out2[32];
	unsigned char key[16];
	size_t spki_len = 0, ct_len = 0;

	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_RSA_2048, &k, &err), 0);
	CU_ASSERT_EQUAL(ca_key_rsa_len(k), 256);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(k, &spki, &spki_len, &err), 0);
	mbedtls_pk_init(&pub);
	CU_ASSERT_EQUAL_FATAL(mbedtls_pk_parse_public_key(&pub, spki,
							  spki_len), 0);
	memset(key, 0x77, sizeof(key));
	CU_ASSERT_EQUAL_FATAL(mbedtls_pk_encrypt(&pub, key, sizeof(key), ct,
						 &ct_len, sizeof(ct), rng,
						 NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ct_len, 256);
	CU_ASSERT_EQUAL(ca_key_decrypt(k, ct, ct_len, out, 16, &err), 0);
	CU_ASSERT_EQUAL(memcmp(out, key, 16), 0);
	/* Another length than the one encrypted: some other key, the same
	 * every time, and no error to tell it apart. */
	CU_ASSERT_EQUAL(ca_key_decrypt(k, ct, ct_len, out, 24, &err), 0);
	CU_ASSERT_EQUAL(ca_key_decrypt(k, ct, ct_len, out2, 24, &err), 0);
	CU_ASSERT_EQUAL(memcmp(out, out2, 24), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(out, key, 16), 0);
	memset(garbage, 0x33, sizeof(garbage));
	CU_ASSERT_EQUAL(ca_key_decrypt(k, garbage, 256, out, 16, &err), 0);
	CU_ASSERT_EQUAL(ca_key_decrypt(k, garbage, 256, out2, 16, &err), 0);
	CU_ASSERT_EQUAL(memcmp(out, out2, 16), 0);
	/* Only the modulus length, only sane key lengths. */
	CU_ASSERT_NOT_EQUAL(ca_key_decrypt(k, ct, 255, out, 16, &err), 0);
	CU_ASSERT_NOT_EQUAL(ca_key_decrypt(k, ct, 256, out, 0, &err), 0);
	mbedtls_pk_free(&pub);
	free(spki);
	ca_key_free(k);
}

/* The signer's side, as a compromised front end would speak to it. */
static void
test_signer_uses_the_ra_key_only_as_scep_needs(void)
{
	struct ca_signer_state st;
	struct mica_err err;
	unsigned char *reply = NULL, msg[1 + 256];
	size_t reply_len = 0;
	uint16_t rtype = 0;

	memset(&st, 0, sizeof(st));
	st.log_fd = -1;
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_RSA_2048, &st.scep_key,
					      &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(st.scep_key, &st.scep_spki,
					  &st.scep_spki_len, &err), 0);
	/* Its public key, on request. */
	CU_ASSERT_EQUAL(ca_signer_handle(&st, CA_SMSG_SCEP_KEY, 0, NULL, 0,
					 &rtype, &reply, &reply_len), 0);
	CU_ASSERT_EQUAL(rtype, CA_SMSG_OK);
	CU_ASSERT_EQUAL(reply_len, st.scep_spki_len);
	free(reply);
	/* A decryption of the modulus size to a 16-octet key: answered. */
	memset(msg, 0x44, sizeof(msg));
	msg[0] = 16;
	CU_ASSERT_EQUAL(ca_signer_handle(&st, CA_SMSG_SCEP_DECRYPT, 0, msg,
					 sizeof(msg), &rtype, &reply,
					 &reply_len), 0);
	CU_ASSERT_EQUAL(rtype, CA_SMSG_OK);
	CU_ASSERT_EQUAL(reply_len, 16);
	free(reply);
	/* Another size, another key length: refused. */
	CU_ASSERT_EQUAL(ca_signer_handle(&st, CA_SMSG_SCEP_DECRYPT, 0, msg,
					 sizeof(msg) - 1, &rtype, &reply,
					 &reply_len), 0);
	CU_ASSERT_EQUAL(rtype, CA_SMSG_REFUSED);
	free(reply);
	msg[0] = 7;
	CU_ASSERT_EQUAL(ca_signer_handle(&st, CA_SMSG_SCEP_DECRYPT, 0, msg,
					 sizeof(msg), &rtype, &reply,
					 &reply_len), 0);
	CU_ASSERT_EQUAL(rtype, CA_SMSG_REFUSED);
	free(reply);
	/* Anything but CertRep attributes: refused (a TBSCertificate, a
	 * PKCSReq's attributes taken from a captured message). */
	CU_ASSERT_EQUAL(ca_signer_handle(&st, CA_SMSG_SCEP_SIGN, 0, ra_der,
					 ra_der_len, &rtype, &reply,
					 &reply_len), 0);
	CU_ASSERT_EQUAL(rtype, CA_SMSG_REFUSED);
	free(reply);
	/* An RA certificate with a CA key the signer does not hold. */
	CU_ASSERT_EQUAL(ca_signer_handle(&st, CA_SMSG_SCEP_CERT, 0, ra_der,
					 ra_der_len, &rtype, &reply,
					 &reply_len), 0);
	CU_ASSERT_EQUAL(rtype, CA_SMSG_REFUSED);
	free(reply);
	/* Bounds of the wire format. */
	{
		struct ca_signer_hdr h = { CA_SMSG_SCEP_DECRYPT, 0, 1,
					   1 + CA_SCEP_EKEY_MAX + 1 };
		unsigned char raw[CA_SIGNER_HDR];

		ca_signer_hdr_put(&h, raw);
		CU_ASSERT_NOT_EQUAL(ca_signer_hdr_get(raw, &h), 0);
		h.type = CA_SMSG_SCEP_SIGN;
		h.len = CA_SCEP_ATTRS_MAX + 1;
		ca_signer_hdr_put(&h, raw);
		CU_ASSERT_NOT_EQUAL(ca_signer_hdr_get(raw, &h), 0);
		h.type = CA_SMSG_SCEP_KEY;
		h.len = 0;
		ca_signer_hdr_put(&h, raw);
		CU_ASSERT_EQUAL(ca_signer_hdr_get(raw, &h), 0);
	}
	free(st.scep_spki);
	ca_key_free(st.scep_key);
}

/* The CA key certifies the RA key, and only as SCEP's RA. */
static void
test_signer_certifies_only_the_ra(void)
{
	struct ca_key *cak = NULL, *ra = NULL, *other = NULL;
	unsigned char *cak_spki = NULL, *spki = NULL, *ospki = NULL;
	unsigned char *ca_name = NULL, *subj = NULL, *tbs = NULL, serial[16];
	size_t cak_spki_len, spki_len, ospki_len, ca_name_len, subj_len;
	size_t tbs_len, alg_len;
	struct ca_sign_policy p;
	struct ca_tbs_cert t, base;
	struct ca_name san;
	struct mica_err err;
	int64_t now = (int64_t)time(NULL);

	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &cak, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_RSA_2048, &ra, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &other, &err),
			      0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(cak, &cak_spki, &cak_spki_len, &err),
			      0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(ra, &spki, &spki_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(other, &ospki, &ospki_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("Test CA", NULL, &ca_name,
					   &ca_name_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name(CA_SCEP_RA_CN, NULL, &subj,
					   &subj_len, &err), 0);
	memset(&p, 0, sizeof(p));
	p.subject = ca_name;
	p.subject_len = ca_name_len;
	CU_ASSERT_EQUAL_FATAL(ca_x509_key_id(cak_spki, cak_spki_len, p.ski,
					     &err), 0);
	p.ski_len = 20;
	p.sig_alg = ca_key_sig_alg(cak, &alg_len);
	p.sig_alg_len = alg_len;
	p.not_before = now - 86400;
	p.not_after = now + 3650 * 86400;

	memset(serial, 0x21, sizeof(serial));
	memset(&base, 0, sizeof(base));
	base.serial = serial;
	base.serial_len = sizeof(serial);
	base.sig_alg = p.sig_alg;
	base.sig_alg_len = p.sig_alg_len;
	base.issuer = ca_name;
	base.issuer_len = ca_name_len;
	base.subject = subj;
	base.subject_len = subj_len;
	base.not_before = now - 3600;
	base.not_after = now - 3600 + CA_SCEP_RA_DAYS * 86400;
	base.spki = spki;
	base.spki_len = spki_len;
	base.path_len = -1;
	base.key_usage = CA_KU_DIGITAL_SIGNATURE | CA_KU_KEY_ENCIPHERMENT;
	base.eku = CA_EKU_CERT_REQUEST_AGENT;
	CU_ASSERT_EQUAL_FATAL(ca_x509_key_id(spki, spki_len, base.ski, &err),
			      0);
	base.ski_len = 20;
	base.has_aki = 1;
	memcpy(base.aki, p.ski, 20);
	base.aki_len = 20;

#define TRY(want) do { \
		CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, \
						       &err), 0); \
		CU_ASSERT_EQUAL(ca_signcheck_scep_cert(&p, spki, spki_len, \
						       now, tbs, tbs_len, \
						       &err), (want)); \
		free(tbs); \
		tbs = NULL; \
	} while (0)
	t = base;
	TRY(0);
	t = base;
	t.spki = ospki;                 /* another key */
	t.spki_len = ospki_len;
	TRY(-1);
	t = base;
	t.key_usage = CA_KU_DIGITAL_SIGNATURE;
	TRY(-1);
	t = base;
	t.eku = CA_EKU_CLIENT_AUTH;
	TRY(-1);
	t = base;
	t.eku = 0;                       /* no EKU: good for any purpose */
	TRY(-1);
	t = base;
	t.eku = CA_EKU_CERT_REQUEST_AGENT | CA_EKU_CLIENT_AUTH;
	TRY(-1);
	t = base;
	t.eku = CA_EKU_CERT_REQUEST_AGENT | CA_EKU_SERVER_AUTH;
	TRY(-1);
	t = base;
	t.is_ca = 1;
	t.key_usage |= CA_KU_KEY_CERT_SIGN;
	TRY(-1);
	t = base;
	t.not_after = t.not_before + (CA_SCEP_RA_DAYS + 1) * 86400;
	TRY(-1);
	t = base;
	t.subject = ca_name;             /* another subject */
	t.subject_len = ca_name_len;
	TRY(-1);
	t = base;
	memset(&san, 0, sizeof(san));
	CU_ASSERT_EQUAL_FATAL(ca_name_parse("www.example.test", 0, &san,
					    &err), 0);
	t.names = &san;
	t.nnames = 1;
	TRY(-1);
#undef TRY
	/* The RA's purpose is the RA's alone: neither the leaf check (no
	 * profile has it, with or without a name) nor the OCSP responder's
	 * takes it. */
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_signcheck_leaf(&p, now, tbs, tbs_len, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	free(tbs);
	t = base;
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_signcheck_leaf(&p, now, tbs, tbs_len, &err), -1);
	CU_ASSERT_EQUAL(ca_signcheck_ocsp_cert(&p, spki, spki_len, now, tbs,
					       tbs_len, &err), -1);
	free(tbs);
	tbs = NULL;
	free(cak_spki);
	free(spki);
	free(ospki);
	free(ca_name);
	free(subj);
	ca_key_free(cak);
	ca_key_free(ra);
	ca_key_free(other);
}

/* GetCRL's answer: the CRL in the crls [1] of a degenerate SignedData, no
 * certificates, no signers; only a CertificateList's shape goes in. */
static void
test_getcrl_content_carries_the_crl_in_crls(void)
{
	/* SEQUENCE { SEQUENCE {}, SEQUENCE {}, BIT STRING 00 } */
	static const unsigned char crl[] = {
		0x30, 0x07, 0x30, 0x00, 0x30, 0x00, 0x03, 0x01, 0x00,
	};
	static const unsigned char notcrl[] = { 0x04, 0x01, 0x00 };
	struct ca_p7_cert certs[CA_P7_CERTS_MAX];
	struct ca_der_cur c, sd;
	const unsigned char *v;
	unsigned char *out = NULL;
	size_t out_len = 0, n = 0, vl;
	struct mica_err err;

	CU_ASSERT_EQUAL_FATAL(ca_p7_encode_crl(crl, sizeof(crl), &out,
					       &out_len, &err), 0);
	ca_der_init(&c, out, out_len);
	CU_ASSERT_EQUAL_FATAL(ca_der_get_tlv(&c, CA_DER_SEQUENCE, &v, &vl,
					     NULL), 0);
	CU_ASSERT(ca_der_empty(&c));
	ca_der_init(&c, v, vl);
	CU_ASSERT_EQUAL(ca_der_get_tlv(&c, CA_DER_OID, &v, &vl, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ca_der_get_tlv(&c, CA_DER_CTX_CONS(0), &v, &vl,
					     NULL), 0);
	ca_der_init(&c, v, vl);
	CU_ASSERT_EQUAL_FATAL(ca_der_get_tlv(&c, CA_DER_SEQUENCE, &v, &vl,
					     NULL), 0);
	ca_der_init(&sd, v, vl);
	CU_ASSERT_EQUAL(ca_der_get_tlv(&sd, CA_DER_INTEGER, &v, &vl, NULL),
			0);
	CU_ASSERT_EQUAL(ca_der_get_tlv(&sd, CA_DER_SET, &v, &vl, NULL), 0);
	CU_ASSERT_EQUAL(ca_der_get_tlv(&sd, CA_DER_SEQUENCE, &v, &vl, NULL),
			0);
	/* crls [1] holding exactly the CRL, then an empty signerInfos */
	CU_ASSERT_EQUAL_FATAL(ca_der_get_tlv(&sd, CA_DER_CTX_CONS(1), &v,
					     &vl, NULL), 0);
	CU_ASSERT_EQUAL(vl, sizeof(crl));
	CU_ASSERT_EQUAL(memcmp(v, crl, sizeof(crl)), 0);
	CU_ASSERT_EQUAL(ca_der_get_tlv(&sd, CA_DER_SET, &v, &vl, NULL), 0);
	CU_ASSERT_EQUAL(vl, 0);
	CU_ASSERT(ca_der_empty(&sd));
	/* The certs-only reader does not take it for a certificate chain. */
	CU_ASSERT_NOT_EQUAL(ca_p7_decode(out, out_len, certs, &n, &err), 0);
	free(out);
	out = NULL;
	CU_ASSERT_NOT_EQUAL(ca_p7_encode_crl(notcrl, sizeof(notcrl), &out,
					     &out_len, &err), 0);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_NOT_EQUAL(ca_p7_encode_crl(crl, sizeof(crl) - 1, &out,
					     &out_len, &err), 0);
	CU_ASSERT_PTR_NULL(out);
}

/* ------------------------------------------------------- GetNextCACert */

/* A certificate (DER, heap) for SUBJECT_KEY named SUBJECT (a CN), issued
 * by ISSUER_KEY named ISSUER: a CA one when CA, valid until NOT_AFTER. */
static unsigned char *
make_cert(struct ca_key *issuer_key, const char *issuer,
	  struct ca_key *subject_key, const char *subject, int ca,
	  int64_t not_after, unsigned char serial0, size_t *len)
{
	struct ca_tbs_cert t;
	struct mica_err err;
	unsigned char serial[8] = { 0x12, 1, 2, 3, 4, 5, 6, 7 };
	unsigned char *spki = NULL, *iname = NULL, *sname = NULL, *tbs = NULL;
	unsigned char *der = NULL, sig[CA_SIG_MAX];
	size_t spki_len = 0, il = 0, sl = 0, tbs_len = 0, sig_len = 0, alg_len;
	const unsigned char *alg;

	serial[7] = serial0;
	*len = 0;
	if (ca_key_spki(subject_key, &spki, &spki_len, &err) != 0 ||
	    ca_x509_name(issuer, NULL, &iname, &il, &err) != 0 ||
	    ca_x509_name(subject, NULL, &sname, &sl, &err) != 0)
		goto out;
	alg = ca_key_sig_alg(issuer_key, &alg_len);
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = iname;
	t.issuer_len = il;
	t.subject = sname;
	t.subject_len = sl;
	t.not_before = (int64_t)time(NULL) - 2 * 86400;
	t.not_after = not_after;
	t.spki = spki;
	t.spki_len = spki_len;
	t.is_ca = ca;
	t.path_len = ca ? 0 : -1;
	t.key_usage = ca ? CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN :
			   CA_KU_DIGITAL_SIGNATURE;
	if (ca_x509_key_id(spki, spki_len, t.ski, &err) != 0)
		goto out;
	t.ski_len = 20;
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err) != 0 ||
	    ca_key_sign(issuer_key, tbs, tbs_len, sig, &sig_len, &err) != 0 ||
	    ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, &der, len,
			 &err) != 0)
		der = NULL;
out:
	free(spki);
	free(iname);
	free(sname);
	free(tbs);
	return der;
}

/* The certs-only message of DER (heap). */
static unsigned char *
p7_of(const unsigned char *der, size_t len, size_t *out_len)
{
	struct ca_p7_cert c = { der, len };
	struct mica_err err;
	unsigned char *out = NULL;

	*out_len = 0;
	if (ca_p7_encode(&c, 1, &out, out_len, &err) != 0)
		return NULL;
	return out;
}

/* A root, an issuing CA under it, and the certificates a next one could
 * be: the fixtures of the GetNextCACert tests. */
struct nextca_fx {
	struct ca_key *root, *other_root, *cur_key, *next_key;
	unsigned char *root_der, *cur, *next, *bad[6];
	size_t root_len, cur_len, next_len, bad_len[6];
};

static void
nextca_fx_free(struct nextca_fx *f)
{
	ca_key_free(f->root);
	ca_key_free(f->other_root);
	ca_key_free(f->cur_key);
	ca_key_free(f->next_key);
	free(f->root_der);
	free(f->cur);
	free(f->next);
	for (size_t i = 0; i < 6; i++)
		free(f->bad[i]);
}

static int
nextca_fx(struct nextca_fx *f)
{
	struct mica_err err;
	int64_t now = (int64_t)time(NULL), year = now + 365 * 86400;

	memset(f, 0, sizeof(*f));
	if (ca_key_generate(CA_KEY_EC_P256, &f->root, &err) != 0 ||
	    ca_key_generate(CA_KEY_EC_P256, &f->other_root, &err) != 0 ||
	    ca_key_generate(CA_KEY_EC_P256, &f->cur_key, &err) != 0 ||
	    ca_key_generate(CA_KEY_EC_P256, &f->next_key, &err) != 0)
		return -1;
	f->root_der = make_cert(f->root, "Next Root", f->root, "Next Root", 1,
				year, 1, &f->root_len);
	f->cur = make_cert(f->root, "Next Root", f->cur_key, "Issuing CA", 1,
			   year, 2, &f->cur_len);
	f->next = make_cert(f->root, "Next Root", f->next_key, "Issuing CA",
			    1, year + 365 * 86400, 3, &f->next_len);
	/* What must never be announced: another CA's name, from another
	 * root (same names), not a CA, expired, the root itself, a
	 * self-signed stand-in with this CA's name. */
	f->bad[0] = make_cert(f->root, "Next Root", f->next_key, "Other CA", 1,
			      year, 4, &f->bad_len[0]);
	f->bad[1] = make_cert(f->other_root, "Next Root", f->next_key,
			      "Issuing CA", 1, year, 5, &f->bad_len[1]);
	f->bad[2] = make_cert(f->root, "Next Root", f->next_key, "Issuing CA",
			      0, year, 6, &f->bad_len[2]);
	f->bad[3] = make_cert(f->root, "Next Root", f->next_key, "Issuing CA",
			      1, now - 86400, 7, &f->bad_len[3]);
	f->bad[4] = make_cert(f->root, "Next Root", f->root, "Next Root", 1,
			      year, 8, &f->bad_len[4]);
	f->bad[5] = make_cert(f->next_key, "Issuing CA", f->next_key,
			      "Issuing CA", 1, year, 9, &f->bad_len[5]);
	if (f->root_der == NULL || f->cur == NULL || f->next == NULL)
		return -1;
	for (size_t i = 0; i < 6; i++)
		if (f->bad[i] == NULL)
			return -1;
	return 0;
}

/* The rule both sides apply: only this CA's next certificate, from the
 * CA above, in mica's own certs-only form. */
static void
test_nextca_check_accepts_only_the_next_certificate(void)
{
	struct nextca_fx f;
	struct mica_err err;
	unsigned char *p7, *two = NULL;
	size_t len, two_len = 0;
	int64_t now = (int64_t)time(NULL);

	CU_ASSERT_EQUAL_FATAL(nextca_fx(&f), 0);
	p7 = p7_of(f.next, f.next_len, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p7);
	CU_ASSERT_EQUAL(ca_scep_nextca_check(f.cur, f.cur_len, f.root_der,
					     f.root_len, p7, len, now, &err),
			0);
	/* Without the CA above (a root), or with an issuer that did not
	 * issue the current certificate: nothing to check against. */
	CU_ASSERT_EQUAL(ca_scep_nextca_check(f.cur, f.cur_len, NULL, 0, p7,
					     len, now, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_POLICY);
	CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	CU_ASSERT_EQUAL(ca_scep_nextca_check(f.cur, f.cur_len, f.bad[5],
					     f.bad_len[5], p7, len, now, &err),
			-1);
	/* A byte more or less, or the bare certificate: refused. */
	CU_ASSERT_EQUAL(ca_scep_nextca_check(f.cur, f.cur_len, f.root_der,
					     f.root_len, p7, len - 1, now,
					     &err), -1);
	CU_ASSERT_EQUAL(ca_scep_nextca_check(f.cur, f.cur_len, f.root_der,
					     f.root_len, f.next, f.next_len,
					     now, &err), -1);
	/* Expired by the signer's clock. */
	CU_ASSERT_EQUAL(ca_scep_nextca_check(f.cur, f.cur_len, f.root_der,
					     f.root_len, p7, len,
					     now + 3 * 365 * 86400, &err), -1);
	free(p7);
	/* Two certificates (the next one and a stranger riding along). */
	{
		struct ca_p7_cert c[2] = { { f.next, f.next_len },
					   { f.bad[0], f.bad_len[0] } };

		CU_ASSERT_EQUAL_FATAL(ca_p7_encode(c, 2, &two, &two_len, &err),
				      0);
		CU_ASSERT_EQUAL(ca_scep_nextca_check(f.cur, f.cur_len,
						     f.root_der, f.root_len,
						     two, two_len, now, &err),
				-1);
		free(two);
	}
	/* The current certificate is no next one. */
	p7 = p7_of(f.cur, f.cur_len, &len);
	CU_ASSERT_EQUAL(ca_scep_nextca_check(f.cur, f.cur_len, f.root_der,
					     f.root_len, p7, len, now, &err),
			-1);
	free(p7);
	for (size_t i = 0; i < 6; i++) {
		p7 = p7_of(f.bad[i], f.bad_len[i], &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p7);
		CU_ASSERT_EQUAL(ca_scep_nextca_check(f.cur, f.cur_len,
						     f.root_der, f.root_len,
						     p7, len, now, &err), -1);
		free(p7);
	}
	/* A GetCRL's content (a CRL in crls) is no certificate. */
	{
		static const unsigned char crl[] = {
			0x30, 0x07, 0x30, 0x00, 0x30, 0x00, 0x03, 0x01, 0x00,
		};

		CU_ASSERT_EQUAL_FATAL(ca_p7_encode_crl(crl, sizeof(crl), &p7,
						       &len, &err), 0);
		CU_ASSERT_EQUAL(ca_scep_nextca_check(f.cur, f.cur_len,
						     f.root_der, f.root_len,
						     p7, len, now, &err), -1);
		free(p7);
	}
	nextca_fx_free(&f);
}

/* What the signer answers to SCEP_NEXTCA, as a compromised front end would
 * ask: a signature over the attributes it makes itself, for the next
 * certificate only. */
static void
test_signer_signs_getnextcacert_only_for_the_next_certificate(void)
{
	struct ca_signer_state st;
	struct nextca_fx f;
	struct mica_err err;
	unsigned char *reply = NULL, *p7, *attrs = NULL;
	size_t reply_len = 0, len, attrs_len = 0, alg_len;
	const unsigned char *alg;
	uint16_t rtype = 0;

	CU_ASSERT_EQUAL_FATAL(nextca_fx(&f), 0);
	memset(&st, 0, sizeof(st));
	st.log_fd = -1;
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_RSA_2048, &st.scep_key,
					      &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(st.scep_key, &st.scep_spki,
					  &st.scep_spki_len, &err), 0);
	st.ca_cert = f.cur;
	st.ca_cert_len = f.cur_len;
	st.issuer_cert = f.root_der;
	st.issuer_cert_len = f.root_len;
	p7 = p7_of(f.next, f.next_len, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p7);
	CU_ASSERT_EQUAL(ca_signer_handle(&st, CA_SMSG_SCEP_NEXTCA, 0, p7, len,
					 &rtype, &reply, &reply_len), 0);
	CU_ASSERT_EQUAL_FATAL(rtype, CA_SMSG_OK);
	/* The RA key's signature over contentType and the content's
	 * digest: verified with its public key. */
	CU_ASSERT_EQUAL_FATAL(ca_scep_nextca_attrs(p7, len, &attrs, &attrs_len,
						   &err), 0);
	alg = ca_key_sig_alg(st.scep_key, &alg_len);
	CU_ASSERT_EQUAL(ca_sig_verify(attrs, attrs_len, alg, alg_len, reply,
				      reply_len, st.scep_spki,
				      st.scep_spki_len, &err), 0);
	/* It covers the content's digest: another digest does not verify. */
	attrs[attrs_len - 1] ^= 1;
	CU_ASSERT_NOT_EQUAL(ca_sig_verify(attrs, attrs_len, alg, alg_len,
					  reply, reply_len, st.scep_spki,
					  st.scep_spki_len, &err), 0);
	free(reply);
	free(attrs);
	free(p7);
	/* Anything else: refused (a stranger's certificate, the current one,
	 * CertRep attributes, a raw certificate). */
	p7 = p7_of(f.bad[1], f.bad_len[1], &len);
	CU_ASSERT_EQUAL(ca_signer_handle(&st, CA_SMSG_SCEP_NEXTCA, 0, p7, len,
					 &rtype, &reply, &reply_len), 0);
	CU_ASSERT_EQUAL(rtype, CA_SMSG_REFUSED);
	free(reply);
	free(p7);
	p7 = p7_of(f.cur, f.cur_len, &len);
	CU_ASSERT_EQUAL(ca_signer_handle(&st, CA_SMSG_SCEP_NEXTCA, 0, p7, len,
					 &rtype, &reply, &reply_len), 0);
	CU_ASSERT_EQUAL(rtype, CA_SMSG_REFUSED);
	free(reply);
	free(p7);
	CU_ASSERT_EQUAL(ca_signer_handle(&st, CA_SMSG_SCEP_NEXTCA, 0, f.next,
					 f.next_len, &rtype, &reply,
					 &reply_len), 0);
	CU_ASSERT_EQUAL(rtype, CA_SMSG_REFUSED);
	free(reply);
	/* A signer of a root (no issuer) announces nothing. */
	st.issuer_cert = NULL;
	st.issuer_cert_len = 0;
	p7 = p7_of(f.next, f.next_len, &len);
	CU_ASSERT_EQUAL(ca_signer_handle(&st, CA_SMSG_SCEP_NEXTCA, 0, p7, len,
					 &rtype, &reply, &reply_len), 0);
	CU_ASSERT_EQUAL(rtype, CA_SMSG_REFUSED);
	free(reply);
	free(p7);
	/* Bounds of the wire format. */
	{
		struct ca_signer_hdr h = { CA_SMSG_SCEP_NEXTCA, 0, 1,
					   CA_SCEP_NEXTCA_MAX + 1 };
		unsigned char raw[CA_SIGNER_HDR];

		ca_signer_hdr_put(&h, raw);
		CU_ASSERT_NOT_EQUAL(ca_signer_hdr_get(raw, &h), 0);
		h.len = CA_SCEP_NEXTCA_MAX;
		h.key = 1;
		ca_signer_hdr_put(&h, raw);
		CU_ASSERT_NOT_EQUAL(ca_signer_hdr_get(raw, &h), 0);
		h.key = 0;
		ca_signer_hdr_put(&h, raw);
		CU_ASSERT_EQUAL(ca_signer_hdr_get(raw, &h), 0);
	}
	free(st.scep_spki);
	ca_key_free(st.scep_key);
	nextca_fx_free(&f);
}

static int
nextca_sign(void *arg, const unsigned char *content, size_t len,
	    unsigned char *sig, size_t *sig_len, struct mica_err *err)
{
	unsigned char *attrs = NULL;
	size_t attrs_len = 0;
	int rc;

	if (ca_scep_nextca_attrs(content, len, &attrs, &attrs_len, err) != 0)
		return -1;
	rc = ca_key_sign(arg, attrs, attrs_len, sig, sig_len, err);
	free(attrs);
	return rc;
}

/* The reply's shape (RFC 8894 4.7.1): SignedData by the RA around the
 * certs-only content, the RA certificate in certificates, one SignerInfo
 * whose [0] attributes are what the signature covers. */
static void
test_getnextcacert_reply_is_signed_data_around_the_content(void)
{
	struct nextca_fx f;
	struct mica_err err;
	struct ca_der_cur c, sd, x, si;
	struct ca_key *ra = NULL;
	unsigned char *p7, *out = NULL, *ra_cert, *attrs = NULL;
	const unsigned char *v, *sattrs, *alg;
	size_t len, out_len = 0, ra_len, vl, sattrs_len, attrs_len = 0, alg_len;

	CU_ASSERT_EQUAL_FATAL(nextca_fx(&f), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_RSA_2048, &ra, &err), 0);
	ra_cert = make_cert(f.cur_key, "Issuing CA", ra, CA_SCEP_RA_CN, 0,
			    (int64_t)time(NULL) + 86400, 10, &ra_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ra_cert);
	p7 = p7_of(f.next, f.next_len, &len);
	CU_ASSERT_EQUAL_FATAL(ca_scep_nextca_encode(p7, len, ra_cert, ra_len,
						    nextca_sign, ra, &out,
						    &out_len, &err), 0);
	ca_der_init(&c, out, out_len);
	CU_ASSERT_EQUAL_FATAL(ca_der_enter(&c, CA_DER_SEQUENCE, &x, NULL), 0);
	CU_ASSERT(ca_der_empty(&c));
	CU_ASSERT_EQUAL(ca_der_get_tlv(&x, CA_DER_OID, &v, &vl, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ca_der_enter(&x, CA_DER_CTX_CONS(0), &c, NULL),
			      0);
	CU_ASSERT_EQUAL_FATAL(ca_der_enter(&c, CA_DER_SEQUENCE, &sd, NULL), 0);
	CU_ASSERT_EQUAL(ca_der_get_tlv(&sd, CA_DER_INTEGER, &v, &vl, NULL), 0);
	CU_ASSERT_EQUAL(ca_der_get_tlv(&sd, CA_DER_SET, &v, &vl, NULL), 0);
	/* encapContentInfo { id-data, [0] { OCTET STRING content } } */
	CU_ASSERT_EQUAL_FATAL(ca_der_enter(&sd, CA_DER_SEQUENCE, &x, NULL), 0);
	CU_ASSERT_EQUAL(ca_der_get_tlv(&x, CA_DER_OID, &v, &vl, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ca_der_enter(&x, CA_DER_CTX_CONS(0), &c, NULL),
			      0);
	CU_ASSERT_EQUAL_FATAL(ca_der_get_tlv(&c, CA_DER_OCTET_STRING, &v, &vl,
					     NULL), 0);
	CU_ASSERT(vl == len && memcmp(v, p7, len) == 0);
	/* certificates [0]: the RA's alone */
	CU_ASSERT_EQUAL_FATAL(ca_der_get_tlv(&sd, CA_DER_CTX_CONS(0), &v, &vl,
					     NULL), 0);
	CU_ASSERT(vl == ra_len && memcmp(v, ra_cert, ra_len) == 0);
	/* signerInfos: one, whose [0] attributes the RA key signed */
	CU_ASSERT_EQUAL_FATAL(ca_der_enter(&sd, CA_DER_SET, &x, NULL), 0);
	CU_ASSERT(ca_der_empty(&sd));
	CU_ASSERT_EQUAL_FATAL(ca_der_enter(&x, CA_DER_SEQUENCE, &si, NULL), 0);
	CU_ASSERT(ca_der_empty(&x));
	CU_ASSERT_EQUAL(ca_der_get_tlv(&si, CA_DER_INTEGER, &v, &vl, NULL), 0);
	CU_ASSERT_EQUAL(ca_der_get_tlv(&si, CA_DER_SEQUENCE, &v, &vl, NULL), 0);
	CU_ASSERT_EQUAL(ca_der_get_tlv(&si, CA_DER_SEQUENCE, &v, &vl, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ca_der_get_elem(&si, CA_DER_CTX_CONS(0), &sattrs,
					      &sattrs_len, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ca_scep_nextca_attrs(p7, len, &attrs, &attrs_len,
						   &err), 0);
	CU_ASSERT(sattrs_len == attrs_len &&
		  memcmp(sattrs + 1, attrs + 1, attrs_len - 1) == 0);
	CU_ASSERT_EQUAL(ca_der_get_tlv(&si, CA_DER_SEQUENCE, &v, &vl, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ca_der_get_tlv(&si, CA_DER_OCTET_STRING, &v, &vl,
					     NULL), 0);
	CU_ASSERT(ca_der_empty(&si));
	{
		unsigned char *spki = NULL;
		size_t spki_len = 0;

		CU_ASSERT_EQUAL_FATAL(ca_key_spki(ra, &spki, &spki_len, &err),
				      0);
		alg = ca_key_sig_alg(ra, &alg_len);
		CU_ASSERT_EQUAL(ca_sig_verify(attrs, attrs_len, alg, alg_len, v,
					      vl, spki, spki_len, &err), 0);
		free(spki);
	}
	free(attrs);
	free(out);
	out = NULL;
	/* Nothing signed for an empty or oversized content. */
	CU_ASSERT_NOT_EQUAL(ca_scep_nextca_encode(p7, 0, ra_cert, ra_len,
						  nextca_sign, ra, &out,
						  &out_len, &err), 0);
	CU_ASSERT_PTR_NULL(out);
	free(p7);
	free(ra_cert);
	ca_key_free(ra);
	nextca_fx_free(&f);
}

int
main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "the reader accepts what scepclient sends (DES-CBC, SHA-1, Go's constructed content)",
		  test_reads_what_scepclient_sends },
		{ "the reader accepts what certmonger sends (OpenSSL)",
		  test_reads_what_certmonger_sends },
		{ "the reader refuses every truncation, trailing data, BER; no bit flip yields another CSR with a good signature",
		  test_refuses_truncated_and_mutated_messages },
		{ "a message to another RA has no recipient here",
		  test_finds_only_its_own_recipient },
		{ "an unsupported digest, signature, key transport or content cipher is read for a FAILURE badAlg",
		  test_reads_an_unsupported_algorithm_for_a_badalg_answer },
		{ "an unsupported algorithm excuses no unreadable attribute, and is never run",
		  test_an_unsupported_algorithm_excuses_nothing_else },
		{ "a CertRep is signed only after the signer's check, for every status and cipher",
		  test_certrep_is_signed_only_after_the_signers_check },
		{ "the RA key signs CertRep attributes only (not a PKCSReq, no strangers, no repeats)",
		  test_ra_key_signs_certrep_attributes_only },
		{ "the RA key decrypts key transport with implicit rejection, modulus-sized only",
		  test_ra_key_decrypts_with_implicit_rejection },
		{ "the signer uses the RA key only as SCEP needs, within the wire bounds",
		  test_signer_uses_the_ra_key_only_as_scep_needs },
		{ "the signer certifies only SCEP's RA for its own key",
		  test_signer_certifies_only_the_ra },
		{ "a GetCRL answer carries the CRL alone in a degenerate PKCS#7's crls",
		  test_getcrl_content_carries_the_crl_in_crls },
		{ "GetNextCACert: only this CA's next certificate, from the CA above, in mica's certs-only form",
		  test_nextca_check_accepts_only_the_next_certificate },
		{ "the signer signs a GetNextCACert reply only for the next certificate, over attributes of its own",
		  test_signer_signs_getnextcacert_only_for_the_next_certificate },
		{ "a GetNextCACert reply is the RA's SignedData around the certs-only content",
		  test_getnextcacert_reply_is_signed_data_around_the_content },
	};
	CU_pSuite s;
	unsigned failed;

	mica_log_set_level(MICA_LOG_ERR);
	if (psa_crypto_init() != PSA_SUCCESS)
		return 99;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	s = CU_add_suite("scep", NULL, NULL);
	if (s == NULL)
		return 99;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return 99;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

/*
 * fuzz/fuzz_scep.c - SCEP's pkiMessage reader ca_scep_msg_parse and the
 * content decryption ca_scep_decrypt (ca/scep.h): what the network sends
 * /scep; and the RA signer's check ca_scep_attrs_check, what a front end
 * taken over could ask the holder of the RA key to sign.
 *
 * The seeds are pkiMessages real clients sent (scepclient over POST,
 * certmonger over GET; tests/scep_vectors.h). Checked: the reader returns
 * 0 or -1 with a clean error and nothing left allocated; on success it
 * says only what the input holds: a known messageType, a printable
 * transactionID, a nonce of 1..CA_SCEP_NONCE_MAX octets, a signer
 * certificate and 1..CA_SCEP_RECIPS_MAX recipients inside the input, a
 * cipher whose IV length fits, whole blocks of ciphertext no longer than
 * the input. The content is then decrypted with a key made from the input
 * (any key must give 0 or a clean -1, never more octets than it was
 * given); a cipher mica does not support is never run. What the engine
 * answers before decrypting (ca_scep_msg_check) goes on only with a
 * verified message to an RSA key transport of a supported cipher. The same bytes go to the signer's check: 0 or -1
 * "signer_refused". And to GetNextCACert's check ca_scep_nextca_check, as
 * the content a front end taken over could ask the RA to vouch for: the
 * certs-only reader and the certificate reader behind it, with the
 * self-signed stand-in RA of the vectors as both the current CA and its
 * issuer (so that a next certificate gets read); 0 or -1
 * "signer_refused", and 0 only for exactly the certs-only message of one
 * certificate other than the current one.
 */
#include "fuzz/fuzz.h"

#include <psa/crypto.h>

#include "ca/p7.h"
#include "ca/scep.h"

#include "tests/scep_vectors.h"

static int
inside(const uint8_t *data, size_t size, const unsigned char *p, size_t n)
{
	return p >= data && n <= size && p + n <= data + size;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	psa_crypto_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_scep_msg m;
	struct mica_err err;
	unsigned char key[CA_SCEP_KEY_MAX], *out = NULL;
	size_t out_len = 0, klen, i;
	const char *why;
	int rc, ri, fi;

	mica_err_clear(&err);
	rc = ca_scep_msg_parse(data, size, &m, &err);
	fuzz_check_err("ca_scep_msg_parse", rc, &err);
	if (rc == 0) {
		/* Any messageType of one to three digits is read (the engine
		 * refuses the ones it does not serve): only a number outside
		 * that is a broken contract. */
		if (m.type < 0 || m.type > 999)
			fuzz_fail("messageType %d read", m.type);
		if (m.tid[0] == '\0' || strlen(m.tid) > CA_SCEP_TID_MAX)
			fuzz_fail("bad transactionID read");
		for (i = 0; m.tid[i] != '\0'; i++)
			if ((unsigned char)m.tid[i] < 0x20 ||
			    (unsigned char)m.tid[i] > 0x7e)
				fuzz_fail("unprintable transactionID read");
		if (m.nonce_len == 0 || m.nonce_len > CA_SCEP_NONCE_MAX)
			fuzz_fail("bad nonce length %zu", m.nonce_len);
		if (!inside(data, size, m.signer_cert, m.signer_cert_len))
			fuzz_fail("signer certificate outside the input");
		if (m.nrecips == 0 || m.nrecips > CA_SCEP_RECIPS_MAX)
			fuzz_fail("%zu recipients", m.nrecips);
		for (i = 0; i < m.nrecips; i++)
			if (!inside(data, size, m.recips[i].issuer,
				    m.recips[i].issuer_len) ||
			    !inside(data, size, m.recips[i].ekey,
				    m.recips[i].ekey_len) ||
			    m.recips[i].ekey_len > CA_SCEP_EKEY_MAX)
				fuzz_fail("recipient outside the input");
		if (m.sig_ok && m.sig_alg_bad != NULL)
			fuzz_fail("verified with an unsupported algorithm");
		/* What the engine answers before any decryption: go on only
		 * with a verified message, to an RSA key transport of a
		 * supported cipher; else one of the five failInfos. */
		if (ca_scep_msg_check(&m, ra_der, ra_der_len, &ri, &fi,
				      &why) == 0) {
			if (ri < 0 || (size_t)ri >= m.nrecips ||
			    !m.recips[ri].rsa || !m.sig_ok ||
			    ca_scep_cipher_key_len(m.cipher) == 0)
				fuzz_fail("ca_scep_msg_check let through "
					  "what cannot be served");
		} else if (fi < CA_SCEP_BAD_ALG || fi > CA_SCEP_BAD_CERT_ID ||
			   why == NULL) {
			fuzz_fail("ca_scep_msg_check answered failInfo %d", fi);
		}
		/* A key from the input: almost always the wrong one. */
		for (i = 0; i < sizeof(key); i++)
			key[i] = (unsigned char)(size > i ? data[size - 1 - i] : i);
		/* A cipher mica does not support is read (for a FAILURE
		 * badAlg) with no IV and must never be run. */
		klen = ca_scep_cipher_key_len(m.cipher);
		if (m.cipher == CA_SCEP_CIPHER_UNSUPPORTED) {
			if (klen != 0 || m.iv_len != 0 || m.ct_len == 0 ||
			    m.ct_len > size)
				fuzz_fail("bad envelope of another cipher "
					  "read");
			mica_err_clear(&err);
			rc = ca_scep_decrypt(&m, key, &out, &out_len, &err);
			fuzz_check_err("ca_scep_decrypt", rc, &err);
			if (rc == 0 || out != NULL)
				fuzz_fail("a cipher mica does not support "
					  "was run");
			ca_scep_msg_free(&m);
			goto signer;
		}
		if (klen == 0 || m.iv_len == 0 || m.iv_len > sizeof(m.iv) ||
		    m.ct_len == 0 || m.ct_len > size || m.ct_len % 8 != 0)
			fuzz_fail("bad envelope read");
		mica_err_clear(&err);
		rc = ca_scep_decrypt(&m, key, &out, &out_len, &err);
		fuzz_check_err("ca_scep_decrypt", rc, &err);
		if (rc == 0 && (out == NULL || out_len >= m.ct_len + 1))
			fuzz_fail("decryption gave %zu octets of %zu", out_len,
				  m.ct_len);
		if (rc != 0 && out != NULL)
			fuzz_fail("a failed decryption left output");
		free(out);
		ca_scep_msg_free(&m);
	} else if (m.ct != NULL || m.nrecips != 0) {
		fuzz_fail("a refused message left output");
	}
signer:
	mica_err_clear(&err);
	rc = ca_scep_attrs_check(data, size, &err);
	fuzz_check_err("ca_scep_attrs_check", rc, &err);
	if (rc != 0 && strcmp(err.code, "signer_refused") != 0)
		fuzz_fail("the signer's check failed as %s", err.code);

	mica_err_clear(&err);
	rc = ca_scep_nextca_check(ra_der, ra_der_len, ra_der, ra_der_len, data,
				  size, 0, &err);
	fuzz_check_err("ca_scep_nextca_check", rc, &err);
	if (rc != 0 && strcmp(err.code, "signer_refused") != 0)
		fuzz_fail("the next-CA check failed as %s", err.code);
	if (rc == 0) {
		struct ca_p7_cert c[CA_P7_CERTS_MAX];
		size_t n = 0;

		if (ca_p7_decode(data, size, c, &n, NULL) != 0 || n != 1 ||
		    (c[0].len == ra_der_len &&
		     memcmp(c[0].der, ra_der, ra_der_len) == 0))
			fuzz_fail("the next-CA check accepted what is not "
				  "one other certificate");
	}
	return 0;
}

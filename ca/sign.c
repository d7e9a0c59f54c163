/*
 * ca/sign.c - the only door to the CA key for signing (see ca/sign.h).
 *
 * Today the key lives in this process (ca/keys.c) and these functions call
 * it directly. Each entry point says what it signs so that a signer in a
 * separate process can check the TBS against its kind before it signs.
 */
#include "ca/sign.h"

#include <assert.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "ca/x509.h"

int
ca_sign_ready(struct ca *ca, struct mica_err *err)
{
	if (ca->sh->key == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "ca_locked",
				    "the CA key is not unlocked");
	return 0;
}

const unsigned char *
ca_sign_alg(struct ca *ca, size_t *len)
{
	assert(ca->sh->key != NULL);
	return ca_key_sig_alg(ca->sh->key, len);
}

/* Sign TBS with KEY and wrap it into a signed structure (RFC 5280 4.1 and
 * 5.1: the same three fields for a certificate and a CRL). */
static int
sign_wrap(struct ca_key *key, const unsigned char *tbs, size_t tbs_len,
	  unsigned char **out, size_t *out_len, struct mica_err *err)
{
	unsigned char sig[CA_SIG_MAX];
	const unsigned char *alg;
	size_t sig_len = 0, alg_len;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (ca_key_sign(key, tbs, tbs_len, sig, &sig_len, err) != 0)
		return -1;
	alg = ca_key_sig_alg(key, &alg_len);
	rc = ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, out,
			  out_len, err);
	explicit_bzero(sig, sizeof(sig));
	return rc;
}

int
ca_sign_leaf(struct ca *ca, const unsigned char *tbs, size_t tbs_len,
	     unsigned char **der, size_t *der_len, struct mica_err *err)
{
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	return sign_wrap(ca->sh->key, tbs, tbs_len, der, der_len, err);
}

int
ca_sign_crl(struct ca *ca, const unsigned char *tbs, size_t tbs_len,
	    unsigned char **der, size_t *der_len, struct mica_err *err)
{
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	return sign_wrap(ca->sh->key, tbs, tbs_len, der, der_len, err);
}

int
ca_sign_root(struct ca_key *key, const unsigned char *tbs, size_t tbs_len,
	     unsigned char **der, size_t *der_len, struct mica_err *err)
{
	return sign_wrap(key, tbs, tbs_len, der, der_len, err);
}

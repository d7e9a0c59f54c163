/*
 * ca/sign.c - the only door to the CA key for signing (see ca/sign.h).
 *
 * Two ways through it, chosen when the handle is opened:
 *  - the daemon (ca_open_serve): the key lives in the signer processes
 *    (ca/signer.h); these functions send the TBS there and wrap the
 *    signature that comes back. This process never holds the key.
 *  - the command line (CA_OPEN_UNLOCK): one-shot commands that parse no
 *    network input unseal the key in-process, which saves starting a
 *    keeper and a signer for a single signature.
 * Either way the same checks (ca/signcheck.h) run before the key signs,
 * so both paths refuse the same things.
 */
#include "ca/sign.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "ca/signcheck.h"
#include "ca/signer.h"
#include "ca/x509.h"
#include "util/log.h"

int
ca_sign_ready(struct ca *ca, struct mica_err *err)
{
	if (ca->sh->key == NULL && ca->sh->signer == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "ca_locked",
				    "the CA key is not unlocked");
	return 0;
}

const unsigned char *
ca_sign_alg(struct ca *ca, size_t *len)
{
	assert(ca->sh->sig_alg != NULL);
	*len = ca->sh->sig_alg_len;
	return ca->sh->sig_alg;
}

/* The rules the in-process key signs under: the same the signer process
 * learns from the CA certificate and the store. *DOMS (free with
 * ca_strv_free) backs P->domains. */
static int
local_policy(struct ca *ca, struct ca_sign_policy *p, char ***doms,
	     struct mica_err *err)
{
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	*doms = NULL;
	if (db_domain_list(ca->db, doms, err) != 0)
		return -1;
	while ((*doms)[n] != NULL)
		n++;
	p->subject = ca->sh->subject;
	p->subject_len = ca->sh->subject_len;
	memcpy(p->ski, ca->sh->ski, sizeof(p->ski));
	p->sig_alg = ca->sh->sig_alg;
	p->sig_alg_len = ca->sh->sig_alg_len;
	p->not_before = ca->sh->not_before;
	p->not_after = ca->sh->not_after;
	p->domains = (const char *const *)*doms;
	p->ndomains = n;
	return 0;
}

/* Tell the signers the store's allowed domains and their seal (after a
 * 'mica domain add' while the daemon runs). 0 if they took them. */
static int
push_domains(struct ca *ca, struct mica_err *err)
{
	unsigned char mac[32];
	char **v = NULL;
	size_t n = 0;
	int has = 0, rc = -1;

	if (db_domain_list(ca->db, &v, err) != 0 ||
	    db_domains_mac_get(ca->db, mac, &has, err) != 0)
		goto out;
	if (!has) {
		mica_err_set(err, MICA_E_FORBIDDEN, "domains_not_sealed",
			     "the allowed domains carry no seal of the CA key");
		goto out;
	}
	while (v[n] != NULL)
		n++;
	rc = ca_signer_set_domains(ca->sh->signer, (const char *const *)v, n,
				   mac, err);
	if (rc == 0)
		mica_log(MICA_LOG_INFO, "signers: allowed domains updated "
			 "from the store (%zu)", n);
out:
	ca_strv_free(v);
	return rc;
}

/* The signer refused what the engine built: either a bug, or a front end
 * that is no longer ours. Either way an admin must see it in the audit
 * trail (the signer has logged it too). */
struct refusal_tx {
	const char *msg;
};

static int
refusal_body(struct db *db, void *arg, struct mica_err *err)
{
	struct refusal_tx *x = arg;

	return db_audit_add(db, ca_now(), "signer", "signer.refuse", NULL,
			    x->msg, err);
}

static void
audit_refusal(struct ca *ca, const struct mica_err *e)
{
	struct refusal_tx x = { e->msg };
	struct mica_err e2;

	mica_log(MICA_LOG_ERR, "the signer refused a certificate: %s", e->msg);
	if (ca_tx(ca, 0, refusal_body, &x, &e2) != 0)
		mica_log(MICA_LOG_ERR, "could not audit the refusal: %s",
			 e2.msg);
}

/* Sign TBS as KIND, in this process or in a signer; SIG gets the
 * signature. */
static int
sign_raw(struct ca *ca, enum ca_sign_kind kind, const unsigned char *tbs,
	 size_t tbs_len, unsigned char sig[CA_SIG_MAX], size_t *sig_len,
	 uint64_t *floor, struct mica_err *err)
{
	struct ca_sign_policy pol;
	char **doms = NULL;
	int rc = -1;

	if (ca_sign_ready(ca, err) != 0)
		return -1;
	if (ca->sh->signer != NULL) {
		struct mica_err e;

		if (ca_signer_sign(ca->sh->signer, kind, tbs, tbs_len, sig,
				   sig_len, floor, &e) == 0)
			return 0;
		/* The store's domains may have changed since the signers
		 * learnt them: push the sealed list once and try again. */
		if (kind == CA_SIGN_LEAF &&
		    strcmp(e.code, "signer_refused") == 0 &&
		    strstr(e.msg, "outside the allowed domains") != NULL &&
		    push_domains(ca, NULL) == 0 &&
		    ca_signer_sign(ca->sh->signer, kind, tbs, tbs_len, sig,
				   sig_len, floor, &e) == 0)
			return 0;
		if (kind == CA_SIGN_LEAF && strcmp(e.code, "signer_refused") == 0)
			audit_refusal(ca, &e);
		if (err != NULL)
			*err = e;
		return -1;
	}
	if (local_policy(ca, &pol, &doms, err) != 0)
		goto out;
	if ((kind == CA_SIGN_LEAF ?
	     ca_signcheck_leaf(&pol, ca_now(), tbs, tbs_len, err) :
	     ca_signcheck_crl(&pol, ca_now(), tbs, tbs_len, NULL, err)) != 0)
		goto out;
	rc = ca_key_sign(ca->sh->key, tbs, tbs_len, sig, sig_len, err);
out:
	ca_strv_free(doms);
	return rc;
}

/* Wrap TBS and its signature into the signed structure (RFC 5280 4.1 and
 * 5.1: the same three fields for a certificate and a CRL). */
static int
wrap(const unsigned char *tbs, size_t tbs_len, const unsigned char *alg,
     size_t alg_len, unsigned char *sig, size_t sig_len, unsigned char **out,
     size_t *out_len, struct mica_err *err)
{
	int rc = ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, out,
			      out_len, err);

	explicit_bzero(sig, CA_SIG_MAX);
	return rc;
}

int
ca_sign_leaf(struct ca *ca, const unsigned char *tbs, size_t tbs_len,
	     unsigned char **der, size_t *der_len, struct mica_err *err)
{
	unsigned char sig[CA_SIG_MAX];
	size_t sig_len = 0;

	*der = NULL;
	*der_len = 0;
	if (sign_raw(ca, CA_SIGN_LEAF, tbs, tbs_len, sig, &sig_len, NULL,
		     err) != 0)
		return -1;
	return wrap(tbs, tbs_len, ca->sh->sig_alg, ca->sh->sig_alg_len, sig,
		    sig_len, der, der_len, err);
}

int
ca_sign_crl(struct ca *ca, int64_t number, const unsigned char *tbs,
	    size_t tbs_len, unsigned char **der, size_t *der_len,
	    struct mica_err *err)
{
	unsigned char sig[CA_SIG_MAX];
	size_t sig_len = 0;
	uint64_t floor = 0;
	int64_t seen;

	*der = NULL;
	*der_len = 0;
	if (sign_raw(ca, CA_SIGN_CRL, tbs, tbs_len, sig, &sig_len, &floor,
		     err) != 0) {
		if (err != NULL && strcmp(err->code, "crl_number_used") == 0 &&
		    floor <= INT64_MAX)
			number = (int64_t)floor;
		else
			return -1;
	}
	/* Remember the highest number the signers have seen, so the next
	 * CRL gets a higher one even if this one is never stored. */
	seen = atomic_load(&ca->sh->crl_signed);
	while (number > seen &&
	       !atomic_compare_exchange_weak(&ca->sh->crl_signed, &seen,
					     number))
		;
	if (sig_len == 0)
		return -1;   /* the number was used: *err says so */
	return wrap(tbs, tbs_len, ca->sh->sig_alg, ca->sh->sig_alg_len, sig,
		    sig_len, der, der_len, err);
}

int64_t
ca_sign_crl_floor(struct ca *ca)
{
	return atomic_load(&ca->sh->crl_signed);
}

int
ca_sign_root(struct ca_key *key, const unsigned char *tbs, size_t tbs_len,
	     unsigned char **der, size_t *der_len, struct mica_err *err)
{
	unsigned char sig[CA_SIG_MAX];
	const unsigned char *alg;
	size_t sig_len = 0, alg_len;

	*der = NULL;
	*der_len = 0;
	if (ca_key_sign(key, tbs, tbs_len, sig, &sig_len, err) != 0)
		return -1;
	alg = ca_key_sig_alg(key, &alg_len);
	return wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, der, der_len,
		    err);
}

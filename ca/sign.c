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
#include "ca/cacert.h"
#include "ca/der.h"
#include "ca/keys.h"
#include "ca/ocsp.h"
#include "ca/scep.h"
#include "ca/signcheck.h"
#include "ca/signer.h"
#include "ca/x509.h"
#include "util/fault.h"
#include "util/log.h"

int
ca_sign_ready(struct ca *ca, struct mica_err *err)
{
	if (ca->sh->key == NULL && ca->sh->signer == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "ca_locked",
				    "the CA key is not unlocked");
	if (ca->sh->cert_der == NULL)
		return mica_err_set(err, MICA_E_CONFLICT,
				    "awaiting_certificate",
				    "this CA awaits its certificate: have its "
				    "request signed, then 'mica install-ca'");
	return 0;
}

const unsigned char *
ca_sign_alg_key(struct ca *ca, int key_idx, size_t *len)
{
	const struct ca_keyslot *k;

	if (key_idx == ca->sh->key_idx)
		return ca_sign_alg(ca, len);
	if ((k = ca_keyslot(ca, key_idx)) == NULL) {
		*len = 0;
		return NULL;
	}
	*len = k->sig_alg_len;
	return k->sig_alg;
}

const unsigned char *
ca_sign_alg(struct ca *ca, size_t *len)
{
	assert(ca->sh->sig_alg != NULL);
	*len = ca->sh->sig_alg_len;
	return ca->sh->sig_alg;
}

/* The rules the in-process key KEY_IDX signs under: the same the signer
 * process learns from its CA certificate and the store. *DOMS (free with
 * ca_strv_free) backs P->domains. *KEY gets the key. */
static int
local_policy(struct ca *ca, int key_idx, struct ca_sign_policy *p,
	     char ***doms, struct ca_key **key, struct mica_err *err)
{
	const struct ca_keyslot *k = NULL;
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	*doms = NULL;
	if (key_idx != ca->sh->key_idx &&
	    ((k = ca_keyslot(ca, key_idx)) == NULL || k->key == NULL))
		return mica_err_set(err, MICA_E_INTERNAL, "ca_locked",
				    "no unlocked CA key with index %d",
				    key_idx);
	if (db_domain_list(ca->db, doms, err) != 0)
		return -1;
	while ((*doms)[n] != NULL)
		n++;
	if (k == NULL) {
		p->subject = ca->sh->subject;
		p->subject_len = ca->sh->subject_len;
		memcpy(p->ski, ca->sh->ski, ca->sh->ski_len);
		p->ski_len = ca->sh->ski_len;
		p->sig_alg = ca->sh->sig_alg;
		p->sig_alg_len = ca->sh->sig_alg_len;
		p->not_before = ca->sh->not_before;
		p->not_after = ca->sh->not_after;
		p->nc = ca->sh->nc;
		*key = ca->sh->key;
	} else {
		p->subject = k->subject;
		p->subject_len = k->subject_len;
		memcpy(p->ski, k->ski, k->ski_len);
		p->ski_len = k->ski_len;
		p->sig_alg = k->sig_alg;
		p->sig_alg_len = k->sig_alg_len;
		p->not_before = k->not_before;
		p->not_after = k->not_after;
		*key = k->key;
	}
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

/* Sign TBS as KIND with key KEY_IDX, in this process or in a signer; SIG
 * gets the signature. X: what a CA certificate must be (CA_SIGN_CACERT,
 * in-process only). */
static int
sign_raw(struct ca *ca, enum ca_sign_kind kind, int key_idx,
	 const struct ca_cacert_expect *x, const unsigned char *tbs,
	 size_t tbs_len, unsigned char sig[CA_SIG_MAX], size_t *sig_len,
	 uint64_t *floor, struct mica_err *err)
{
	struct ca_sign_policy pol;
	struct ca_key *key = NULL;
	char **doms = NULL;
	int rc = -1;

	if (ca_sign_ready(ca, err) != 0)
		return -1;
	if (kind == CA_SIGN_CACERT) {
		/* The daemon's signers never sign a CA certificate; only the
		 * command line of a root does, with its key in hand. */
		if (ca->sh->signer != NULL || ca->sh->key == NULL)
			return mica_err_set(err, MICA_E_FORBIDDEN,
					    "cacert_in_daemon",
					    "CA certificates are signed on "
					    "the command line of the root "
					    "only");
		if (!ca->sh->self_signed || ca->sh->nchain != 0)
			return mica_err_set(err, MICA_E_CONFLICT, "not_a_root",
					    "only a root signs CA "
					    "certificates here");
	}
	if (ca->sh->signer != NULL) {
		struct mica_err e;

		if (kind == CA_SIGN_LEAF)
			MICA_TEST_GATE("MICA_TEST_LEAF_SIGN_GATE");
		if (ca_signer_sign_key(ca->sh->signer, kind,
				       (unsigned)key_idx, tbs, tbs_len, sig,
				       sig_len, floor, &e) == 0)
			return 0;
		/* The store's domains may have changed since the signers
		 * learnt them: push the sealed list once and try again. */
		if (kind == CA_SIGN_LEAF &&
		    strcmp(e.code, "signer_refused") == 0 &&
		    strstr(e.msg, "outside the allowed domains") != NULL &&
		    push_domains(ca, NULL) == 0 &&
		    ca_signer_sign_key(ca->sh->signer, kind,
				       (unsigned)key_idx, tbs, tbs_len, sig,
				       sig_len, floor, &e) == 0)
			return 0;
		if (kind == CA_SIGN_LEAF && strcmp(e.code, "signer_refused") == 0)
			audit_refusal(ca, &e);
		/* The signer dates "now" by the wall clock as this process
		 * did when it built TBS: a date a day or more away from it
		 * there means the clock stepped in between (a VM resumed,
		 * NTP). Nothing was signed or recorded; the same request
		 * succeeds when made again, so it is no 422 but a 503. */
		if (strcmp(e.code, "signer_refused") == 0 &&
		    strstr(e.msg, "too far from now") != NULL) {
			char why[sizeof(e.msg)];

			memcpy(why, e.msg, sizeof(why));
			why[sizeof(why) - 1] = '\0';
			mica_err_set(&e, MICA_E_UNAVAIL, "clock_stepped",
				     "the clock stepped while this was being "
				     "signed (%s); try again", why);
		}
		if (err != NULL)
			*err = e;
		return -1;
	}
	if (local_policy(ca, key_idx, &pol, &doms, &key, err) != 0)
		goto out;
	switch (kind) {
	case CA_SIGN_LEAF:
		/* As the signers do: a retired key signs no certificate. */
		if (key_idx != ca->sh->key_idx) {
			mica_err_set(err, MICA_E_POLICY, "signer_refused",
				     "signer: a certificate with a retired key");
			goto out;
		}
		if (ca_signcheck_leaf(&pol, ca_now(), tbs, tbs_len, err) != 0)
			goto out;
		break;
	case CA_SIGN_CRL:
		if (ca_signcheck_crl(&pol, ca_now(), tbs, tbs_len, NULL,
				     err) != 0)
			goto out;
		break;
	case CA_SIGN_CACERT:
		if (key_idx != ca->sh->key_idx ||
		    ca_signcheck_cacert(&pol, x, ca_now(), tbs, tbs_len,
					err) != 0)
			goto out;
		break;
	default:
		mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
			     "unknown kind of signature");
		goto out;
	}
	rc = ca_key_sign(key, tbs, tbs_len, sig, sig_len, err);
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
	if (sign_raw(ca, CA_SIGN_LEAF, ca->sh->key_idx, NULL, tbs, tbs_len,
		     sig, &sig_len, NULL, err) != 0)
		return -1;
	return wrap(tbs, tbs_len, ca->sh->sig_alg, ca->sh->sig_alg_len, sig,
		    sig_len, der, der_len, err);
}

int
ca_sign_cacert(struct ca *ca, const struct ca_cacert_expect *x,
	       const unsigned char *tbs, size_t tbs_len, unsigned char **der,
	       size_t *der_len, struct mica_err *err)
{
	unsigned char sig[CA_SIG_MAX];
	size_t sig_len = 0;

	*der = NULL;
	*der_len = 0;
	if (x == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "nothing expected of the CA certificate");
	if (sign_raw(ca, CA_SIGN_CACERT, ca->sh->key_idx, x, tbs, tbs_len,
		     sig, &sig_len, NULL, err) != 0)
		return -1;
	return wrap(tbs, tbs_len, ca->sh->sig_alg, ca->sh->sig_alg_len, sig,
		    sig_len, der, der_len, err);
}

int
ca_sign_crl(struct ca *ca, int key_idx, int64_t number,
	    const unsigned char *tbs, size_t tbs_len, unsigned char **der,
	    size_t *der_len, struct mica_err *err)
{
	unsigned char sig[CA_SIG_MAX];
	const unsigned char *alg;
	size_t sig_len = 0, alg_len = 0;
	uint64_t floor = 0;
	int64_t seen;

	*der = NULL;
	*der_len = 0;
	if ((alg = ca_sign_alg_key(ca, key_idx, &alg_len)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "no CA key with index %d", key_idx);
	if (sign_raw(ca, CA_SIGN_CRL, key_idx, NULL, tbs, tbs_len, sig,
		     &sig_len, &floor, err) != 0) {
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
	return wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, der, der_len,
		    err);
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

int
ca_sign_request(struct ca_key *key, const unsigned char *cri, size_t cri_len,
		unsigned char **der, size_t *der_len, struct mica_err *err)
{
	struct ca_der_cur c;
	uint64_t version;
	struct ca_der_cur in;

	/* A CertificationRequestInfo (version 0 first), never a TBS of a
	 * certificate ([0] version first) or of a CRL (version 1): a
	 * request is the one thing signed here without a policy check. */
	ca_der_init(&c, cri, cri_len);
	if (key == NULL || ca_der_enter(&c, CA_DER_SEQUENCE, &in, NULL) < 0 ||
	    !ca_der_empty(&c) || ca_der_get_uint(&in, 0, &version, NULL) < 0)
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "not a certification request");
	return ca_sign_root(key, cri, cri_len, der, der_len, err);
}

/* ------------------------------------------------------------------ */
/* OCSP                                                                */
/* ------------------------------------------------------------------ */

/* A key of the command line's own (the OCSP responder's, SCEP's RA): made
 * of KIND on first use into *SLOT of the shared state. The command line's
 * handle holds the CA key anyway; these keys are as ephemeral as the
 * keeper's. */
static struct ca_key *
local_key(struct ca *ca, struct ca_key **slot, int kind, struct mica_err *err)
{
	struct ca_key *k;

	pthread_mutex_lock(&ca->sh->lock);
	if (*slot == NULL && ca_key_generate(kind, slot, err) != 0) {
		pthread_mutex_unlock(&ca->sh->lock);
		return NULL;
	}
	k = *slot;
	pthread_mutex_unlock(&ca->sh->lock);
	return k;
}

/* K's SubjectPublicKeyInfo into SPKI (SIZE octets); WHAT names it. */
static int
local_spki(struct ca_key *k, const char *what, unsigned char *spki,
	   size_t size, size_t *len, struct mica_err *err)
{
	unsigned char *der = NULL;
	size_t n = 0;

	if (k == NULL || ca_key_spki(k, &der, &n, err) != 0)
		return -1;
	if (n > size) {
		free(der);
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "%s too large", what);
	}
	memcpy(spki, der, n);
	*len = n;
	free(der);
	return 0;
}

static struct ca_key *
local_ocsp_key(struct ca *ca, struct mica_err *err)
{
	return local_key(ca, &ca->sh->ocsp_key, CA_KEY_EC_P256, err);
}

typedef int (*service_key_fn)(struct ca *ca, unsigned char *spki, size_t size,
			      size_t *len, struct mica_err *err);
typedef int (*service_check_fn)(const struct ca_sign_policy *p,
				const unsigned char *spki, size_t spki_len,
				int64_t now, const unsigned char *tbs,
				size_t tbs_len, struct mica_err *err);

/* The CA key's signature on the TBSCertificate of a service key (KIND:
 * CA_SIGN_OCSP_CERT, CA_SIGN_SCEP_CERT): by the signers, or in-process
 * after the same check (CHECK, against the key KEY_OF gives). */
static int
service_cert(struct ca *ca, enum ca_sign_kind kind, service_key_fn key_of,
	     service_check_fn check, const unsigned char *tbs, size_t tbs_len,
	     unsigned char **der, size_t *der_len, struct mica_err *err)
{
	unsigned char sig[CA_SIG_MAX], spki[1024];
	struct ca_sign_policy pol;
	struct ca_key *key = NULL;
	char **doms = NULL;
	size_t sig_len = 0, spki_len = 0;
	int rc;

	*der = NULL;
	*der_len = 0;
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	if (ca->sh->signer != NULL) {
		if (ca_signer_sign_key(ca->sh->signer, kind,
				       (unsigned)ca->sh->key_idx, tbs, tbs_len,
				       sig, &sig_len, NULL, err) != 0)
			return -1;
	} else {
		if (key_of(ca, spki, sizeof(spki), &spki_len, err) != 0 ||
		    local_policy(ca, ca->sh->key_idx, &pol, &doms, &key,
				 err) != 0) {
			ca_strv_free(doms);
			return -1;
		}
		rc = check(&pol, spki, spki_len, ca_now(), tbs, tbs_len, err);
		if (rc == 0)
			rc = ca_key_sign(key, tbs, tbs_len, sig, &sig_len, err);
		ca_strv_free(doms);
		if (rc != 0)
			return -1;
	}
	return wrap(tbs, tbs_len, ca->sh->sig_alg, ca->sh->sig_alg_len, sig,
		    sig_len, der, der_len, err);
}

int
ca_sign_ocsp_key(struct ca *ca, unsigned char *spki, size_t size,
		 size_t *len, struct mica_err *err)
{
	*len = 0;
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	if (ca->sh->signer != NULL)
		return ca_signer_ocsp_key(ca->sh->signer, spki, size, len, err);
	return local_spki(local_ocsp_key(ca, err), "OCSP key", spki, size, len,
			  err);
}

int
ca_sign_ocsp_cert(struct ca *ca, const unsigned char *tbs, size_t tbs_len,
		  unsigned char **der, size_t *der_len, struct mica_err *err)
{
	return service_cert(ca, CA_SIGN_OCSP_CERT, ca_sign_ocsp_key,
			    ca_signcheck_ocsp_cert, tbs, tbs_len, der, der_len,
			    err);
}

int
ca_sign_ocsp(struct ca *ca, const unsigned char *tbs, size_t tbs_len,
	     unsigned char sig[CA_SIG_MAX], size_t *sig_len,
	     const unsigned char **alg, size_t *alg_len, struct mica_err *err)
{
	struct ca_ocsp_issuer is;
	struct ca_cert_info ci;
	unsigned char spki[512], kh[20];
	struct ca_key *k;
	size_t spki_len = 0;

	*sig_len = 0;
	*alg = ca_key_type_sig_alg(CA_KEY_EC_P256, alg_len);
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	if (ca->sh->signer != NULL)
		return ca_signer_sign_key(ca->sh->signer, CA_SIGN_OCSP, 0, tbs,
					  tbs_len, sig, sig_len, NULL, err);
	/* In-process: the same check the signers make. */
	if ((k = local_ocsp_key(ca, err)) == NULL ||
	    ca_sign_ocsp_key(ca, spki, sizeof(spki), &spki_len, err) != 0 ||
	    ca_ocsp_key_hash(spki, spki_len, kh, err) != 0 ||
	    ca_cert_info_read(ca->sh->cert_der, ca->sh->cert_len, &ci,
			      err) != 0 ||
	    ca_ocsp_issuer_hashes(ci.subject, ci.subject_len, ci.spki,
				  ci.spki_len, &is, err) != 0 ||
	    ca_ocsp_tbs_check(&is, kh, ca_now(), ca->sh->path_not_after, tbs,
			      tbs_len, err) != 0)
		return -1;
	return ca_key_sign(k, tbs, tbs_len, sig, sig_len, err);
}

int
ca_sign_ocsp_ca(struct ca *ca, int key_idx, const unsigned char *tbs,
		size_t tbs_len, unsigned char sig[CA_SIG_MAX], size_t *sig_len,
		const unsigned char **alg, size_t *alg_len,
		struct mica_err *err)
{
	struct ca_ocsp_issuer is;
	struct ca_cert_info ci;
	const struct ca_keyslot *k = NULL;
	const unsigned char *cert;
	struct ca_key *key;
	size_t cert_len;
	int64_t not_after, until;

	*sig_len = 0;
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	if ((*alg = ca_sign_alg_key(ca, key_idx, alg_len)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "no CA key with index %d", key_idx);
	if (ca->sh->signer != NULL)
		return ca_signer_sign_key(ca->sh->signer, CA_SIGN_OCSP_CA,
					  (unsigned)key_idx, tbs, tbs_len, sig,
					  sig_len, NULL, err);
	/* In-process: the same rules the signers apply. */
	if (key_idx == ca->sh->key_idx) {
		key = ca->sh->key;
		cert = ca->sh->cert_der;
		cert_len = ca->sh->cert_len;
		not_after = ca->sh->not_after;
		until = ca->sh->path_not_after;
		if (!(ca->sh->flags & CA_OPEN_OCSP_BY_CA) &&
		    ca_now() < ca->sh->path_not_after - CA_OCSP_DELEGATE_LEFT)
			key = NULL;
	} else {
		k = ca_keyslot(ca, key_idx);
		key = k != NULL ? k->key : NULL;
		cert = k != NULL ? k->cert : NULL;
		cert_len = k != NULL ? k->cert_len : 0;
		not_after = k != NULL ? k->not_after : 0;
		until = k != NULL ? k->path_not_after : 0;
	}
	if (key == NULL || cert == NULL || ca_now() > not_after)
		return mica_err_set(err, MICA_E_POLICY, "signer_refused",
				    "signer: an OCSP response by CA key %d, "
				    "which does not sign them", key_idx);
	if (ca_cert_info_read(cert, cert_len, &ci, err) != 0 ||
	    ca_ocsp_issuer_hashes(ci.subject, ci.subject_len, ci.spki,
				  ci.spki_len, &is, err) != 0 ||
	    ca_ocsp_tbs_check(&is, is.key1, ca_now(), until, tbs, tbs_len,
			      err) != 0)
		return -1;
	return ca_key_sign(key, tbs, tbs_len, sig, sig_len, err);
}

/* ------------------------------------------------------------------ */
/* SCEP's RA key                                                       */
/* ------------------------------------------------------------------ */

/* The in-process RA key, made on first use (as local_ocsp_key). */
static struct ca_key *
local_scep_key(struct ca *ca, struct mica_err *err)
{
	return local_key(ca, &ca->sh->scep_key, CA_KEY_RSA_2048, err);
}

int
ca_sign_scep_key(struct ca *ca, unsigned char *spki, size_t size,
		 size_t *len, struct mica_err *err)
{
	*len = 0;
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	if (ca->sh->signer != NULL)
		return ca_signer_scep_key(ca->sh->signer, spki, size, len, err);
	return local_spki(local_scep_key(ca, err), "RA key", spki, size, len,
			  err);
}

int
ca_sign_scep_cert(struct ca *ca, const unsigned char *tbs, size_t tbs_len,
		  unsigned char **der, size_t *der_len, struct mica_err *err)
{
	return service_cert(ca, CA_SIGN_SCEP_CERT, ca_sign_scep_key,
			    ca_signcheck_scep_cert, tbs, tbs_len, der, der_len,
			    err);
}

int
ca_sign_scep(struct ca *ca, const unsigned char *attrs, size_t len,
	     unsigned char sig[CA_SIG_MAX], size_t *sig_len,
	     struct mica_err *err)
{
	struct ca_key *k;

	*sig_len = 0;
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	if (ca->sh->signer != NULL)
		return ca_signer_sign_key(ca->sh->signer, CA_SIGN_SCEP, 0,
					  attrs, len, sig, sig_len, NULL, err);
	/* In-process: the same check the signers make. */
	if ((k = local_scep_key(ca, err)) == NULL ||
	    ca_scep_attrs_check(attrs, len, err) != 0)
		return -1;
	return ca_key_sign(k, attrs, len, sig, sig_len, err);
}

int
ca_sign_scep_decrypt(struct ca *ca, const unsigned char *ekey,
		     size_t ekey_len, size_t want, unsigned char *out,
		     struct mica_err *err)
{
	struct ca_key *k;

	if (ca_sign_ready(ca, err) != 0)
		return -1;
	if (ca->sh->signer != NULL)
		return ca_signer_scep_decrypt(ca->sh->signer, ekey, ekey_len,
					      want, out, err);
	if ((k = local_scep_key(ca, err)) == NULL)
		return -1;
	if (ekey_len != ca_key_rsa_len(k) || want == 0 ||
	    want > CA_SCEP_KEY_MAX)
		return mica_err_set(err, MICA_E_POLICY, "signer_refused",
				    "signer: not a key transport to the RA "
				    "key");
	return ca_key_decrypt(k, ekey, ekey_len, out, want, err);
}

int
ca_sign_scep_nextca(struct ca *ca, const unsigned char *content, size_t len,
		    unsigned char sig[CA_SIG_MAX], size_t *sig_len,
		    struct mica_err *err)
{
	unsigned char *attrs = NULL;
	size_t attrs_len = 0;
	struct ca_key *k;
	int rc;

	*sig_len = 0;
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	if (ca->sh->signer != NULL)
		return ca_signer_sign_key(ca->sh->signer, CA_SIGN_SCEP_NEXTCA,
					  0, content, len, sig, sig_len, NULL,
					  err);
	/* In-process: the same check and attributes the signers make. */
	if ((k = local_scep_key(ca, err)) == NULL ||
	    ca_scep_nextca_check(ca->sh->cert_der, ca->sh->cert_len,
				 ca->sh->nchain > 0 ? ca->sh->chain[0].der :
				 NULL,
				 ca->sh->nchain > 0 ? ca->sh->chain[0].len : 0,
				 content, len, ca_now(), err) != 0 ||
	    ca_scep_nextca_attrs(content, len, &attrs, &attrs_len, err) != 0)
		return -1;
	rc = ca_key_sign(k, attrs, attrs_len, sig, sig_len, err);
	free(attrs);
	return rc;
}

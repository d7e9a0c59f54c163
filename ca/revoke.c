/*
 * ca/revoke.c - revocation: revoking a certificate and releasing one on
 * hold, each with the CRL that says so. A revocation for keyCompromise
 * also puts the certificate's key on the store's list of keys never
 * certified again; a release from hold never takes one off.
 */
#include "ca/ca.h"

#include <string.h>

#include "ca/ca_int.h"
#include "ca/sign.h"

struct revoke_tx {
	struct ca *ca;
	const struct ca_principal *p;
	const char *serial;
	int release;                /* release from certificateHold */
	int reason;                 /* else revoke with this reason */
	struct ca_crl_ahead *crl;   /* its CRLs, signed ahead */
};

/* The revocation (or release) and the CRL that says so commit together:
 * if the CRL cannot be made, nothing changes, so a revoked certificate is
 * never missing from the served CRL. The CRL was signed ahead, outside
 * the write lock (ca_crl_ahead_new), for a revocation at its time. */
static int
revoke_body(struct db *db, void *arg, struct mica_err *err)
{
	struct revoke_tx *x = arg;
	int64_t now = ca_crl_ahead_time(x->crl);

	if (!x->release) {
		if (db_cert_revoke(db, x->serial, x->reason, now, err) != 0 ||
		    db_audit_add(db, now, x->p->actor, "cert.revoke", x->serial,
				 ca_reason_name(x->reason), err) != 0)
			return -1;
		/* The key itself is compromised: no issuance path certifies
		 * it again (ca_issue), from this commit on. */
		if (x->reason == CA_REASON_KEY_COMPROMISE &&
		    db_key_compromised_add(db, x->serial, now, err) != 0)
			return -1;
	} else {
		if (db_cert_unrevoke(db, x->serial, err) != 0 ||
		    db_audit_add(db, now, x->p->actor, "cert.unrevoke", x->serial,
				 NULL, err) != 0)
			return -1;
	}
	return ca_crl_ahead_store(x->ca, db, x->p->actor, x->crl, err);
}

static int
revoke_run(struct ca *ca, const struct ca_principal *p, const char *serial_in,
	   int release, int reason, struct mica_err *err)
{
	char serial[CA_SERIAL_MAX];
	struct revoke_tx x;
	int rc;

	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (!release && !ca_reason_valid(reason))
		return mica_err_set(err, MICA_E_BADREQ, "bad_reason",
				    "unknown revocation reason");
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	x.ca = ca;
	x.p = p;
	x.serial = serial;
	x.release = release;
	x.reason = reason;
	if ((x.crl = ca_crl_ahead_new(ca, serial, release, reason)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "out of memory");
	rc = ca_tx(ca, CA_TX_DURABLE | CA_TX_OWN, revoke_body, &x, err);
	ca_crl_ahead_free(x.crl);
	if (rc != 0 && err != NULL && err->kind == MICA_E_NOTFOUND)
		mica_err_set(err, MICA_E_NOTFOUND, "not_found",
			     "no certificate with serial %s", serial);
	return rc;
}

int
ca_revoke(struct ca *ca, const struct ca_principal *p, const char *serial_in,
	  int reason, struct mica_err *err)
{
	return revoke_run(ca, p, serial_in, 0, reason, err);
}

int
ca_unrevoke(struct ca *ca, const struct ca_principal *p,
	    const char *serial_in, struct mica_err *err)
{
	return revoke_run(ca, p, serial_in, 1, 0, err);
}

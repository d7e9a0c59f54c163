/*
 * ca/revoke.c - revocation: the RFC 5280 reasons, revoking a certificate
 * and releasing one on hold, each with the CRL that says so.
 */
#include "ca/ca.h"

#include <string.h>
#include <strings.h>

#include "ca/ca_int.h"
#include "ca/sign.h"

/* ----------------------------------------------------------- reasons -- */

static const char *const reason_names[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise",
};

int
ca_reason_parse(const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i < (int)(sizeof(reason_names) / sizeof(reason_names[0])); i++) {
		/* removeFromCRL (8) only exists in delta CRLs. */
		if (reason_names[i] == NULL || i == 8)
			continue;
		if (strcasecmp(s, reason_names[i]) == 0)
			return i;
	}
	return -1;
}

const char *
ca_reason_name(int reason)
{
	if (reason < 0 || reason >= (int)(sizeof(reason_names) / sizeof(reason_names[0])) ||
	    reason_names[reason] == NULL)
		return "unknown";
	return reason_names[reason];
}

/* ------------------------------------------------------- revocation -- */

int
ca_revoke(struct ca *ca, const struct ca_principal *p, const char *serial_in,
	  int reason, struct mica_err *err)
{
	char serial[DB_SERIAL_MAX];

	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (reason < 0 || reason > 10 || reason == 7 || reason == 8)
		return mica_err_set(err, MICA_E_BADREQ, "bad_reason",
				    "unknown revocation reason");
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	/* The revocation and the CRL that lists it commit together: if the
	 * CRL cannot be made, the revocation is refused and nothing changes,
	 * so a revoked certificate is never missing from the served CRL. */
	if (db_begin(ca->db, err) != 0)
		return -1;
	if (db_cert_revoke(ca->db, serial, reason, ca_now(), err) != 0 ||
	    db_audit_add(ca->db, ca_now(), p->actor, "cert.revoke", serial,
			 ca_reason_name(reason), err) != 0 ||
	    ca_crl_publish_tx(ca, p->actor, NULL, err) != 0) {
		db_rollback(ca->db);
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no certificate with serial %s", serial);
		return -1;
	}
	return db_commit(ca->db, err);
}

int
ca_unrevoke(struct ca *ca, const struct ca_principal *p,
	    const char *serial_in, struct mica_err *err)
{
	char serial[DB_SERIAL_MAX];

	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	if (db_begin(ca->db, err) != 0)
		return -1;
	if (db_cert_unrevoke(ca->db, serial, err) != 0 ||
	    db_audit_add(ca->db, ca_now(), p->actor, "cert.unrevoke", serial,
			 NULL, err) != 0 ||
	    ca_crl_publish_tx(ca, p->actor, NULL, err) != 0) {
		db_rollback(ca->db);
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no certificate with serial %s", serial);
		return -1;
	}
	return db_commit(ca->db, err);
}

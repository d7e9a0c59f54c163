/*
 * ca/query.c - reading what the CA has done: certificates, counts and the
 * audit log.
 */
#include "ca/ca.h"

#include <string.h>

#include "ca/ca_int.h"

int
ca_cert_get(struct ca *ca, const struct ca_principal *p, const char *serial_in,
	    struct db_cert *out, struct mica_err *err)
{
	char serial[DB_SERIAL_MAX];

	memset(out, 0, sizeof(*out));
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (db_cert_get(ca->db, serial, out, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no certificate with serial %s", serial);
		return -1;
	}
	return 0;
}

int
ca_cert_list(struct ca *ca, const struct ca_principal *p,
	     const struct db_cert_filter *f, struct db_cert **out, size_t *n,
	     int64_t *next_cursor, struct mica_err *err)
{
	*out = NULL;
	*n = 0;
	*next_cursor = 0;
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (f->name != NULL && strlen(f->name) > CA_NAME_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_name", "name filter too long");
	return db_cert_list(ca->db, f, out, n, next_cursor, err);
}

int
ca_counts(struct ca *ca, struct db_counts *out, struct mica_err *err)
{
	return db_counts(ca->db, ca_now(), out, err);
}

int
ca_audit_list(struct ca *ca, const struct ca_principal *p, int64_t since,
	      int64_t before_id, int limit, struct db_audit **out, size_t *n,
	      struct mica_err *err)
{
	*out = NULL;
	*n = 0;
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (limit <= 0 || limit > 10000)
		limit = 100;
	return db_audit_list(ca->db, since, before_id, limit, out, n, err);
}

/*
 * ca/query.c - reading what the CA has done: certificates, counts and the
 * audit log, handed out as the engine's own types (ca/ca.h), and whether
 * the store answers at all.
 */
#include "ca/ca.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "ca/ca_int.h"

/* The engine's numbers are the store's: the rows move across unchanged. */
_Static_assert((int)CA_CERT_ISSUING == (int)DB_CERT_ISSUING &&
	       (int)CA_CERT_VALID == (int)DB_CERT_VALID &&
	       (int)CA_CERT_REVOKED == (int)DB_CERT_REVOKED, "certificate status");
_Static_assert(CA_FILTER_EXPIRED == DB_FILTER_EXPIRED &&
	       CA_FILTER_CURRENT == DB_FILTER_CURRENT, "certificate filter");
_Static_assert(CA_SERIAL_MAX == DB_SERIAL_MAX, "serial size");

/* ------------------------------------------------------ certificates -- */

/* Move the store's row IN into OUT; IN is left empty (freeable). */
static void
cert_take(struct ca_cert *out, struct db_cert *in)
{
	memset(out, 0, sizeof(*out));
	out->id = in->id;
	memcpy(out->serial, in->serial, sizeof(out->serial));
	out->profile = in->profile;
	out->subject = in->subject;
	out->names = in->names;
	out->request_id = in->request_id;
	out->not_before = in->not_before;
	out->not_after = in->not_after;
	out->der = in->der;
	out->der_len = in->der_len;
	memcpy(out->spki_sha256, in->spki_sha256, sizeof(out->spki_sha256));
	out->status = in->status;
	out->revoked_at = in->revoked_at;
	out->invalid_at = in->invalid_at;
	out->reason = in->reason;
	memcpy(out->renewal_of, in->renewal_of, sizeof(out->renewal_of));
	memcpy(out->renewed_by, in->renewed_by, sizeof(out->renewed_by));
	out->renewed = in->renewal_live;
	out->created_at = in->created_at;
	out->key_idx = in->key_idx;
	in->profile = in->subject = in->names = in->request_id = NULL;
	in->der = NULL;
	in->der_len = 0;
}

void
ca_cert_free(struct ca_cert *c)
{
	if (c == NULL)
		return;
	free(c->profile);
	free(c->subject);
	free(c->names);
	free(c->request_id);
	free(c->der);
	memset(c, 0, sizeof(*c));
}

void
ca_cert_array_free(struct ca_cert *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		ca_cert_free(&a[i]);
	free(a);
}

int
ca_cert_get(struct ca *ca, const struct ca_principal *p, const char *serial_in,
	    struct ca_cert *out, struct mica_err *err)
{
	char serial[CA_SERIAL_MAX];
	struct db_cert c;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (db_cert_get_at(ca->db, serial, ca_now(), &c, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no certificate with serial %s", serial);
		return -1;
	}
	cert_take(out, &c);
	db_cert_free(&c);
	return 0;
}

int
ca_cert_body_check(const struct ca_cert *c, struct mica_err *err)
{
	if (ca_cert_from_crl(c))
		return mica_err_set(err, MICA_E_CONFLICT, "not_issued",
				    "certificate %s is known here only from a CRL "
				    "of this CA that listed it as revoked (restore "
				    "--crl, revoke --from-crl): there are no "
				    "certificate bytes", c->serial);
	if (c->der == NULL || c->der_len == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "not_issued",
				    "certificate %s was recorded but never "
				    "completed (no certificate bytes)", c->serial);
	return 0;
}

int
ca_cert_bundle(struct ca *ca, const struct ca_principal *p,
	       const char *serial, int form, char serial_out[CA_SERIAL_MAX],
	       unsigned char **out, size_t *out_len, struct mica_err *err)
{
	struct ca_cert c;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (ca_cert_get(ca, p, serial, &c, err) != 0)
		return -1;
	if (ca_cert_body_check(&c, err) != 0 ||
	    ca_bundle(ca, c.der, c.der_len, c.key_idx, form, out, out_len,
		      err) != 0)
		goto out;
	if (serial_out != NULL)
		memcpy(serial_out, c.serial, CA_SERIAL_MAX);
	rc = 0;
out:
	ca_cert_free(&c);
	return rc;
}

/* An IPv6 address has many spellings (2001:db8:0:0::1, 2001:DB8::1,
 * 2001:0db8::1); a certificate's is kept in RFC 5952's, which inet_ntop
 * writes. Rewrite the whole filter NAME (room for CA_NAME_TEXT_MAX + 1) so,
 * when it is an IPv6 address; leave anything else, a prefix too. */
static void
ip6_canonical(char name[CA_NAME_TEXT_MAX + 1])
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];

	if (strchr(name, ':') == NULL || inet_pton(AF_INET6, name, a) != 1 ||
	    inet_ntop(AF_INET6, a, text, sizeof(text)) == NULL)
		return;
	_Static_assert(sizeof(text) <= CA_NAME_TEXT_MAX + 1, "filter room");
	memcpy(name, text, strlen(text) + 1);
}

int
ca_cert_list(struct ca *ca, const struct ca_principal *p,
	     const struct ca_cert_filter *f, struct ca_cert **out, size_t *n,
	     struct ca_cursor *next, struct mica_err *err)
{
	struct db_cert_filter df;
	struct db_cert_cursor dn;
	struct db_cert *v = NULL;
	char name[CA_NAME_TEXT_MAX + 1], tok[40];
	size_t count = 0, nl = 0;

	*out = NULL;
	*n = 0;
	memset(next, 0, sizeof(*next));
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (f->name != NULL && (nl = strlen(f->name)) > CA_NAME_TEXT_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_name", "name filter too long");
	if (f->name != NULL && nl == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_name", "name filter is empty");
	memset(&df, 0, sizeof(df));
	/* "mail.contoso.test." is the fully qualified spelling of the name
	 * certificates carry without the root's dot. */
	if (f->name != NULL) {
		memcpy(name, f->name, nl + 1);
		if (nl > 1 && name[nl - 1] == '.' && name[nl - 2] != '.')
			name[nl - 1] = '\0';
		ip6_canonical(name);
	}
	df.status = f->status;
	/* "What expires soon" means certificates still in use, unless a
	 * status is asked for. */
	if (f->expiring_before != 0 && f->status == -1)
		df.status = CA_FILTER_CURRENT;
	df.now = f->now;
	df.expiring_before = f->expiring_before;
	df.name = f->name != NULL ? name : NULL;
	if (f->token_id != NULL) {
		size_t tl = strnlen(f->token_id, sizeof(tok));

		/* The whole token (mica_ID_SECRET) is a secret: said so,
		 * never repeated. */
		if (strncmp(f->token_id, "mica_", 5) == 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
					    "give the token's id, as 'mica token list' "
					    "shows it, not the token itself");
		if (tl == 0 || tl >= sizeof(tok) ||
		    strspn(f->token_id, "0123456789abcdefABCDEF") != tl)
			return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
					    "a token's id is 16 hexadecimal digits, "
					    "as 'mica token list' shows it");
		for (size_t i = 0; i <= tl; i++)
			tok[i] = (char)(f->token_id[i] >= 'A' && f->token_id[i] <= 'F' ?
					f->token_id[i] - 'A' + 'a' : f->token_id[i]);
		df.token_id = tok;
	}
	/* A token that does not exist is a mistyped id, not a token that
	 * issued nothing: said so (revoked and expired tokens are kept). */
	if (df.token_id != NULL) {
		struct db_token t;
		int r, kind;

		memset(&t, 0, sizeof(t));
		r = db_token_get(ca->db, df.token_id, &t, err);
		kind = t.kind;
		db_token_free(&t);
		if (r != 0) {
			if (err != NULL && err->kind == MICA_E_NOTFOUND)
				mica_err_set(err, MICA_E_NOTFOUND, "token_not_found",
					     "no token has this id ('mica token list')");
			return -1;
		}
		/* A certificate names only the enrollment token whose use it
		 * took: an admin token's would list nothing, which after a
		 * leak reads as "it issued nothing". Its deeds are in the
		 * audit trail. */
		if (kind == DB_TOKEN_ADMIN)
			return mica_err_set(err, MICA_E_BADREQ, "admin_token",
					    "this is an admin token: certificates do "
					    "not name the admin token that issued or "
					    "approved them; what it did is in the audit "
					    "trail as actor admin:%s ('mica audit')",
					    df.token_id);
	}
	df.cursor.id = f->cursor.id;
	df.cursor.key = f->cursor.key;
	df.cursor.keyed = f->cursor.keyed;
	df.limit = f->limit;
	df.scan_max = f->scan_max;
	if (db_cert_list(ca->db, &df, &v, &count, &dn, err) != 0)
		return -1;
	if (count > 0 && (*out = calloc(count, sizeof(**out))) == NULL) {
		db_cert_array_free(v, count);
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	}
	for (size_t i = 0; i < count; i++)
		cert_take(&(*out)[i], &v[i]);
	db_cert_array_free(v, count);
	*n = count;
	next->id = dn.id;
	next->key = dn.key;
	next->keyed = dn.keyed;
	return 0;
}

/* ------------------------------------------------------------ counts -- */

int
ca_counts(struct ca *ca, struct ca_counts *out, struct mica_err *err)
{
	struct db_counts c;

	memset(out, 0, sizeof(*out));
	if (db_counts(ca->db, ca_now(), &c, err) != 0)
		return -1;
	out->issuing = c.issuing;
	out->valid = c.valid;
	out->revoked = c.revoked;
	out->expired = c.expired;
	out->pending_requests = c.pending_requests;
	return 0;
}

int
ca_schema_newer(struct ca *ca)
{
	return db_schema_version(ca->db) > db_schema_version_builtin();
}

int
ca_store_check(struct ca *ca, struct mica_err *err)
{
	int64_t last = 0;

	struct statvfs v;
	unsigned long long room;

	if (ca_perm_check(ca, err) != 0 ||
	    db_crl_last_number(ca->db, &last, err) != 0)
		return -1;
	if (ca_schema_newer(ca))
		return mica_err_set(err, MICA_E_UNAVAIL, "schema_too_new",
				    "a newer mica upgraded the store (schema "
				    "version %d; this mica knows up to %d): "
				    "restart 'mica serve' with it",
				    db_schema_version(ca->db),
				    db_schema_version_builtin());
	/* Not known (no statvfs, a file system that reports no blocks):
	 * the writes will say. What this process may use: f_bavail, not
	 * the blocks kept for root, which root in a user namespace (a
	 * rootless container) may not use either. */
	/* The store's own file system (DATA/mica.db may be a symbolic link
	 * to another disk's file; statvfs follows it). */
	if (ca->sh->dbpath == NULL || statvfs(ca->sh->dbpath, &v) != 0 ||
	    v.f_blocks == 0)
		return 0;
	room = (unsigned long long)v.f_bavail * (unsigned long long)v.f_frsize;
	if (v.f_files > 0 && v.f_favail < CA_STORE_INODES_MIN)
		return mica_err_set(err, MICA_E_UNAVAIL, "disk_full",
				    "the file system holding the certificate "
				    "store has %llu free inodes: new files (CRLs, "
				    "the store's journal) cannot be made until it "
				    "has more", (unsigned long long)v.f_favail);
	if (room < CA_STORE_ROOM_MIN)
		return mica_err_set(err, MICA_E_UNAVAIL, "disk_full",
				    "the disk holding the certificate store has "
				    "%llu KiB free: issuance, revocation and CRLs "
				    "fail until it has room", room / 1024);
	return 0;
}

/* --------------------------------------------------------- audit log -- */

void
ca_audit_array_free(struct ca_audit *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(a[i].actor);
		free(a[i].action);
		free(a[i].target);
		free(a[i].detail);
	}
	free(a);
}

int
ca_audit_list(struct ca *ca, const struct ca_principal *p, int64_t since,
	      int64_t before_id, int limit, struct ca_audit **out, size_t *n,
	      struct mica_err *err)
{
	struct db_audit *v = NULL;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (limit <= 0 || limit > 10000)
		limit = 100;
	if (db_audit_list(ca->db, since, before_id, limit, &v, &count, err) != 0)
		return -1;
	if (count > 0 && (*out = calloc(count, sizeof(**out))) == NULL) {
		db_audit_array_free(v, count);
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		struct ca_audit *a = &(*out)[i];

		a->id = v[i].id;
		a->at = v[i].at;
		a->actor = v[i].actor;
		a->action = v[i].action;
		a->target = v[i].target;
		a->detail = v[i].detail;
		v[i].actor = v[i].action = v[i].target = v[i].detail = NULL;
	}
	db_audit_array_free(v, count);
	*n = count;
	return 0;
}

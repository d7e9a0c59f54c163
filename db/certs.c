/*
 * db/certs.c - the certificate table: reserving a serial before signing,
 * completing or discarding it, revocation and hold, renewal links, the
 * paged listing, the walk the CRL is built from, and the dashboard counts.
 *
 * Where db.h leaves room:
 *  - A certificate on hold may be revoked again only with another reason;
 *    hold -> hold is "already_revoked".
 *  - db_counts: valid = VALID and not expired at NOW; expired = VALID past
 *    notAfter; revoked = all revoked; issuing = all ISSUING.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

/* The columns cert_read() reads, in its order. */
#define CERT_COLS \
	"id, serial, profile, subject, names, request_id, not_before, " \
	"not_after, spki_sha256, status, revoked_at, reason, renewal_of, " \
	"renewed_by, created_at"

#define LIKE_MAX      1024       /* name search string */
#define LIST_MAX      1000       /* certificates per page */

static const char *const cert_sql[S__COUNT] = {
	[S_CERT_RESERVE] =
	"INSERT INTO certificate (serial, profile, subject, names, request_id, "
	"not_before, not_after, spki_sha256, status, renewal_of, renewed_by, "
	"created_at, key_idx) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?11, ?12)",
	[S_CERT_NAME_ADD] =
	"INSERT OR IGNORE INTO cert_name (serial, name) VALUES (?1, ?2)",
	[S_CERT_COMPLETE] =
	"UPDATE certificate SET der = ?2, status = 1 "
	"WHERE serial = ?1 AND status = 0",
	/* Revoked while it was being signed: keep the DER (it exists, it must
	 * be accounted for), leave it revoked. */
	[S_CERT_COMPLETE_LATE] =
	"UPDATE certificate SET der = ?2 "
	"WHERE serial = ?1 AND status = 2 AND der IS NULL",
	[S_CERT_STATE] =
	"SELECT status, reason FROM certificate WHERE serial = ?1",
	[S_CERT_DISCARD] =
	"DELETE FROM certificate WHERE serial = ?1 AND status = 0",
	/* The certificate it was renewing must not point at it any more. */
	[S_CERT_DISCARD_UNLINK] =
	"UPDATE certificate SET renewed_by = NULL WHERE serial = "
	"(SELECT renewal_of FROM certificate WHERE serial = ?1) "
	"AND renewed_by = ?1",
	[S_CERT_GET] =
	"SELECT " CERT_COLS ", der FROM certificate WHERE serial = ?1",
	/* ?1 cursor (INT64_MAX for the first page), ?2 status filter, ?3 now,
	 * ?4 expiring_before (0 none), ?5 LIKE pattern or NULL, ?6 limit. */
	[S_CERT_LIST] =
	"SELECT " CERT_COLS " FROM certificate AS c WHERE id < ?1 "
	"AND (?2 = -1 OR (?2 IN (0, 1, 2) AND status = ?2) "
	"     OR (?2 = 10 AND status = 1 AND not_after <= ?3) "
	"     OR (?2 = 11 AND status = 1 AND not_after > ?3)) "
	"AND (?4 = 0 OR (not_after < ?4 AND not_after > ?3)) "
	"AND (?5 IS NULL OR EXISTS (SELECT 1 FROM cert_name AS n "
	"     WHERE n.serial = c.serial AND n.name LIKE ?5 ESCAPE '\\')) "
	"ORDER BY id DESC LIMIT ?6",
	/* certificateHold (6) may be turned into a final revocation. */
	[S_CERT_REVOKE] =
	"UPDATE certificate SET status = 2, revoked_at = ?2, reason = ?3 "
	"WHERE serial = ?1 AND (status IN (0, 1) "
	"                       OR (status = 2 AND reason = 6 AND ?3 <> 6))",
	[S_CERT_UNREVOKE] =
	"UPDATE certificate SET status = CASE WHEN der IS NULL THEN 0 ELSE 1 END, "
	"revoked_at = 0, reason = -1 "
	"WHERE serial = ?1 AND status = 2 AND reason = 6",
	[S_CERT_LINK_OLD] =
	"UPDATE certificate SET renewed_by = ?2 WHERE serial = ?1",
	[S_CERT_LINK_NEW] =
	"UPDATE certificate SET renewal_of = ?1 WHERE serial = ?2",
	/* Pinned to the partial covering index certificate_revoked: no
	 * table access and no sort, whatever the planner's statistics say
	 * (left to itself it may sort every revoked row in a temp B-tree). */
	[S_REVOKED] =
	"SELECT serial, revoked_at, reason FROM certificate "
	"INDEXED BY certificate_revoked "
	"WHERE status = 2 AND not_after > ?1 ORDER BY serial",
	[S_REVOKED_KEY] =
	"SELECT serial, revoked_at, reason FROM certificate "
	"INDEXED BY certificate_revoked_by_key "
	"WHERE status = 2 AND key_idx = ?2 AND not_after > ?1 ORDER BY serial",
	[S_COUNTS] =
	"SELECT (SELECT count(*) FROM certificate WHERE status = 0), "
	"(SELECT count(*) FROM certificate WHERE status = 1 AND not_after > ?1), "
	"(SELECT count(*) FROM certificate WHERE status = 2), "
	"(SELECT count(*) FROM certificate WHERE status = 1 AND not_after <= ?1), "
	"(SELECT count(*) FROM request WHERE status = 0)",
};

/* RFC 5280 5.3.1 CRLReason values a certificate can carry. */
static int
reason_ok(int r)
{
	return r >= 0 && r <= 10 && r != 7 && r != 8;
}

/* Fill C from a row of CERT_COLS (plus der at column 15 if WITH_DER). */
static int
cert_read(sqlite3_stmt *st, struct db_cert *c, int with_der,
	  struct mica_err *err)
{
	const void *spki;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	spki = sqlite3_column_blob(st, 8);
	if (db_col_fixed(st, 1, c->serial, sizeof(c->serial)) != 0 ||
	    db_col_fixed(st, 12, c->renewal_of, sizeof(c->renewal_of)) != 0 ||
	    db_col_fixed(st, 13, c->renewed_by, sizeof(c->renewed_by)) != 0 ||
	    spki == NULL || sqlite3_column_bytes(st, 8) != 32) {
		mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
			     "a stored certificate record is malformed");
		goto out;
	}
	memcpy(c->spki_sha256, spki, 32);
	if (db_col_str(st, 2, &c->profile) != 0 ||
	    db_col_str(st, 3, &c->subject) != 0 ||
	    db_col_str(st, 4, &c->names) != 0 ||
	    db_col_str(st, 5, &c->request_id) != 0 ||
	    (with_der && db_col_blob(st, 15, &c->der, &c->der_len) != 0)) {
		db_oom(err);
		goto out;
	}
	c->not_before = sqlite3_column_int64(st, 6);
	c->not_after = sqlite3_column_int64(st, 7);
	c->status = sqlite3_column_int(st, 9);
	c->revoked_at = sqlite3_column_int64(st, 10);
	c->reason = sqlite3_column_int(st, 11);
	c->created_at = sqlite3_column_int64(st, 14);
	rc = 0;
out:
	if (rc != 0)
		db_cert_free(c);
	return rc;
}

/* cert_read as a db_row_fn, without the DER: the lists. */
static int
cert_row(sqlite3_stmt *st, void *row, struct mica_err *err)
{
	return cert_read(st, row, 0, err);
}

/* Status and reason of SERIAL: 1 found, 0 unknown, -1 error. */
static int
cert_state(struct db *db, const char *serial, int *status, int *reason,
	   struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK, r;

	if ((st = db_stmt(db, S_CERT_STATE, cert_sql, err)) == NULL)
		return -1;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0)
		r = -1;
	else if ((r = db_step_row(db, st, err)) == 1) {
		*status = sqlite3_column_int(st, 0);
		*reason = sqlite3_column_int(st, 1);
	}
	db_stmt_done(st);
	return r;
}

static int
cert_not_found(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_NOTFOUND, "certificate_not_found",
			    "no certificate with this serial");
}

int
db_cert_reserve(struct db *db, const struct db_cert *c, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *p, *end = NULL;
	size_t len = 0;
	int rc = -1, b = SQLITE_OK, own = 0, in_sp = 0;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || c == NULL || c->profile == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(c->serial) ||
	    (c->renewal_of[0] != '\0' && !db_serial_ok(c->renewal_of)) ||
	    (c->renewed_by[0] != '\0' && !db_serial_ok(c->renewed_by)))
		return db_bad_serial(err);
	if (!db_text_ok(c->profile) || !db_text_ok(c->subject) || !db_text_ok(c->names) ||
	    !db_text_ok(c->request_id))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "certificate record too large");
	if (c->not_after < c->not_before)
		return mica_err_set(err, MICA_E_BADREQ, "bad_validity",
				    "notAfter precedes notBefore");
	if (c->key_idx < 0 || c->key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);

	/* The certificate and its name rows land together or not at all. */
	if (db_sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	if ((st = db_stmt(db, S_CERT_RESERVE, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, c->serial, &b);
	db_bind_text(st, 2, c->profile, &b);
	db_bind_text(st, 3, c->subject != NULL ? c->subject : "", &b);
	db_bind_text(st, 4, c->names != NULL ? c->names : "", &b);
	db_bind_text(st, 5, c->request_id, &b);
	db_bind_i64(st, 6, c->not_before, &b);
	db_bind_i64(st, 7, c->not_after, &b);
	db_bind_blob(st, 8, c->spki_sha256, sizeof(c->spki_sha256), &b);
	db_bind_serial_opt(st, 9, c->renewal_of, &b);
	db_bind_serial_opt(st, 10, c->renewed_by, &b);
	db_bind_i64(st, 11, c->created_at, &b);
	db_bind_i64(st, 12, c->key_idx, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "serial_collision",
		      "a certificate with this serial already exists", err) != 0)
		goto out;
	db_stmt_done(st);
	st = NULL;

	if ((st = db_stmt(db, S_CERT_NAME_ADD, cert_sql, err)) == NULL)
		goto out;
	for (p = c->names; p != NULL && *p != '\0'; p += len + (end != NULL)) {
		end = strchr(p, '\n');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 0)
			continue;  /* empty line */
		b = SQLITE_OK;
		db_bind_text(st, 1, c->serial, &b);
		db_bind_textn(st, 2, p, len, &b);
		if (db_binds_ok(db, b, err) != 0 ||
		    db_step_done(db, st, NULL, NULL, err) != 0)
			goto out;
		db_stmt_done(st);
	}
	db_stmt_done(st);
	st = NULL;
	in_sp = 0;
	if (db_sp_commit(db, own, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	if (in_sp)
		db_sp_abort(db, own);
	return rc;
}

int
db_cert_complete(struct db *db, const char *serial, const unsigned char *der,
		 size_t der_len, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, status = 0, reason = 0, r;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || der == NULL || der_len == 0)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_CERT_COMPLETE, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_blob(st, 2, der, der_len, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	db_stmt_done(st);

	/* Not ISSUING. If it was revoked while being signed, the signed
	 * certificate still exists and must be on record. */
	if ((st = db_stmt(db, S_CERT_COMPLETE_LATE, cert_sql, err)) == NULL)
		goto out;
	b = SQLITE_OK;
	db_bind_text(st, 1, serial, &b);
	db_bind_blob(st, 2, der, der_len, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		mica_err_set(err, MICA_E_CONFLICT, "not_issuing",
			     "the certificate was revoked while it was being "
			     "issued; it is recorded as revoked");
		goto out;
	}
	db_stmt_done(st);
	st = NULL;
	if ((r = cert_state(db, serial, &status, &reason, err)) < 0)
		goto out;
	if (r == 0)
		cert_not_found(err);
	else
		mica_err_set(err, MICA_E_CONFLICT, "not_issuing",
			     "the certificate is not being issued");
out:
	db_stmt_done(st);
	return rc;
}

int
db_cert_discard(struct db *db, const char *serial, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, own = 0, in_sp = 0, status = 0, reason = 0, r;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if (db_sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	if ((st = db_stmt(db, S_CERT_DISCARD_UNLINK, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	db_stmt_done(st);
	/* Its cert_name rows go by ON DELETE CASCADE. */
	if ((st = db_stmt(db, S_CERT_DISCARD, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		db_stmt_done(st);
		st = NULL;
		if ((r = cert_state(db, serial, &status, &reason, err)) < 0)
			goto out;
		if (r == 0)
			cert_not_found(err);
		else
			mica_err_set(err, MICA_E_CONFLICT, "not_issuing",
				     "only a certificate that was never signed "
				     "can be discarded");
		goto out;
	}
	db_stmt_done(st);
	st = NULL;
	in_sp = 0;
	if (db_sp_commit(db, own, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	if (in_sp)
		db_sp_abort(db, own);
	return rc;
}

int
db_cert_get(struct db *db, const char *serial, struct db_cert *out,
	    struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || serial == NULL || out == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, S_CERT_GET, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		cert_not_found(err);
		goto out;
	}
	if (cert_read(st, out, 1, err) != 0)
		goto out;
	/* The group-commit writer makes a commit visible before its WAL
	 * sync; a certificate must be on disk before anyone receives it, so
	 * sync what we read (cheap when there is nothing left to write). */
	if (out->der != NULL && db_int_wal_sync(db, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	if (rc != 0)
		db_cert_free(out);
	return rc;
}

void
db_cert_free(struct db_cert *c)
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

/* "%" + S with LIKE's wildcards and the escape character escaped + "%". */
static char *
like_pattern(const char *s)
{
	size_t n = strlen(s), j = 0;
	char *p = malloc(2 * n + 3);

	if (p == NULL)
		return NULL;
	p[j++] = '%';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			p[j++] = '\\';
		p[j++] = s[i];
	}
	p[j++] = '%';
	p[j] = '\0';
	return p;
}

int
db_cert_list(struct db *db, const struct db_cert_filter *f,
	     struct db_cert **out, size_t *n, int64_t *next_cursor,
	     struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_cert *a = NULL;
	size_t cnt = 0;
	char *pattern = NULL;
	int rc = -1, b = SQLITE_OK, limit, more;

	if (db == NULL || f == NULL || out == NULL || n == NULL ||
	    next_cursor == NULL)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	*next_cursor = 0;
	if (f->status != -1 && f->status != DB_CERT_ISSUING &&
	    f->status != DB_CERT_VALID && f->status != DB_CERT_REVOKED &&
	    f->status != DB_FILTER_EXPIRED && f->status != DB_FILTER_CURRENT)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "unknown certificate status filter");
	if (f->cursor < 0 || f->expiring_before < 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "invalid cursor or date");
	if (f->name != NULL) {
		if (strnlen(f->name, LIKE_MAX + 1) > LIKE_MAX)
			return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
					    "name filter too long");
		if ((pattern = like_pattern(f->name)) == NULL)
			return db_oom(err);
	}
	limit = db_clamp_limit(f->limit, LIST_MAX);

	if ((st = db_stmt(db, S_CERT_LIST, cert_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, f->cursor > 0 ? f->cursor : INT64_MAX, &b);
	db_bind_i64(st, 2, f->status, &b);
	db_bind_i64(st, 3, f->now, &b);
	db_bind_i64(st, 4, f->expiring_before, &b);
	db_bind_text(st, 5, pattern, &b);
	/* One more than asked: its presence says there is a next page. */
	db_bind_i64(st, 6, (int64_t)limit + 1, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	if (db_rows(db, st, sizeof(*a), (size_t)limit, cert_row, (void **)&a,
		    &cnt, &more, err) != 0)
		goto out;
	if (more)
		*next_cursor = a[cnt - 1].id;
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	db_stmt_done(st);
	free(pattern);
	db_cert_array_free(a, cnt);
	if (rc != 0)
		*next_cursor = 0;
	return rc;
}

void
db_cert_array_free(struct db_cert *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_cert_free(&a[i]);
	free(a);
}

int
db_cert_revoke(struct db *db, const char *serial, int reason, int64_t at,
	       struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, status = 0, old_reason = 0, r;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if (!reason_ok(reason))
		return mica_err_set(err, MICA_E_BADREQ, "bad_reason",
				    "unknown revocation reason %d", reason);
	if ((st = db_stmt(db, S_CERT_REVOKE, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_i64(st, 2, at, &b);
	db_bind_i64(st, 3, reason, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	db_stmt_done(st);
	st = NULL;
	if ((r = cert_state(db, serial, &status, &old_reason, err)) < 0)
		goto out;
	if (r == 0)
		cert_not_found(err);
	else
		mica_err_set(err, MICA_E_CONFLICT, "already_revoked",
			     old_reason == 6 ?
			     "the certificate is already on hold" :
			     "the certificate is already revoked");
out:
	db_stmt_done(st);
	return rc;
}

int
db_cert_unrevoke(struct db *db, const char *serial, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, status = 0, reason = 0, r;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_CERT_UNREVOKE, cert_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	db_stmt_done(st);
	st = NULL;
	if ((r = cert_state(db, serial, &status, &reason, err)) < 0)
		goto out;
	if (r == 0)
		cert_not_found(err);
	else
		mica_err_set(err, MICA_E_CONFLICT, "not_on_hold",
			     "only a certificate on hold (certificateHold) "
			     "can be reinstated");
out:
	db_stmt_done(st);
	return rc;
}

int
db_cert_link_renewal(struct db *db, const char *old_serial,
		     const char *new_serial, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, own = 0, in_sp = 0;
	const enum db_stmt_id ids[2] = { S_CERT_LINK_OLD, S_CERT_LINK_NEW };

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(old_serial) || !db_serial_ok(new_serial))
		return db_bad_serial(err);
	if (strcmp(old_serial, new_serial) == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "a certificate cannot renew itself");
	if (db_sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	/* Both sides or neither; each must exist. */
	for (int i = 0; i < 2; i++) {
		if ((st = db_stmt(db, ids[i], cert_sql, err)) == NULL)
			goto out;
		b = SQLITE_OK;
		db_bind_text(st, 1, old_serial, &b);
		db_bind_text(st, 2, new_serial, &b);
		if (db_binds_ok(db, b, err) != 0 ||
		    db_step_done(db, st, NULL, NULL, err) != 0)
			goto out;
		if (sqlite3_changes(db->h) != 1) {
			cert_not_found(err);
			goto out;
		}
		db_stmt_done(st);
		st = NULL;
	}
	in_sp = 0;
	if (db_sp_commit(db, own, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	if (in_sp)
		db_sp_abort(db, own);
	return rc;
}

/* The walk of db_revoked_foreach(_key): KEY_IDX < 0 for every key. */
static int
revoked_walk(struct db *db, int key_idx, int64_t now, db_revoked_cb cb,
	     void *ctx, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *serial;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || cb == NULL || key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);
	if ((st = db_stmt(db, key_idx < 0 ? S_REVOKED : S_REVOKED_KEY,
			  cert_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, now, &b);
	if (key_idx >= 0)
		db_bind_i64(st, 2, key_idx, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	/* Rows are handed out straight from SQLite's buffers: nothing is
	 * allocated per certificate. */
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((serial = sqlite3_column_text(st, 0)) == NULL) {
			db_oom(err);
			goto out;
		}
		if (cb(ctx, (const char *)serial, sqlite3_column_int64(st, 1),
		       sqlite3_column_int(st, 2)) != 0)
			goto out;  /* stopped by the caller: err untouched */
	}
	if (r != SQLITE_DONE) {
		db_fail(db, r, NULL, NULL, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_revoked_foreach(struct db *db, int64_t now, db_revoked_cb cb, void *ctx,
		   struct mica_err *err)
{
	return revoked_walk(db, -1, now, cb, ctx, err);
}

int
db_revoked_foreach_key(struct db *db, int key_idx, int64_t now,
		       db_revoked_cb cb, void *ctx, struct mica_err *err)
{
	if (key_idx < 0)
		return db_bad_arg(err);
	return revoked_walk(db, key_idx, now, cb, ctx, err);
}

int
db_counts(struct db *db, int64_t now, struct db_counts *out,
	  struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, S_COUNTS, cert_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, now, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1) {
		/* valid: not expired at NOW; expired: valid but past notAfter;
		 * revoked: all revoked, expired or not. */
		out->issuing = sqlite3_column_int64(st, 0);
		out->valid = sqlite3_column_int64(st, 1);
		out->revoked = sqlite3_column_int64(st, 2);
		out->expired = sqlite3_column_int64(st, 3);
		out->pending_requests = sqlite3_column_int64(st, 4);
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

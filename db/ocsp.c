/*
 * db/ocsp.c - the ocsp_response table (OCSP responses signed ahead of
 * time, one per certificate) and the ocsp_responder table (the delegated
 * responder certificates). See schema/007_ocsp.sql,
 * schema/009_ocsp_compact.sql and schema/012_ocsp_incremental.sql.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

/* An OCSPResponse with one SingleResponse and the responder certificate
 * is about 1 KiB; this bounds a bug, not a response. */
#define OCSP_DER_MAX (64 * 1024)

static const char *const ocsp_sql[S__COUNT] = {
	/* Only a response about a certificate of key ?3, signed the way
	 * ?4 says (schema/011): a client's CertID names one issuer. */
	[S_OCSP_GET] =
	"SELECT o.der, o.this_update, o.next_update, o.responder "
	"FROM ocsp_response AS o JOIN certificate AS c ON c.serial = o.serial "
	"WHERE o.serial = ?1 AND o.next_update > ?2 AND c.key_idx = ?3 "
	"AND o.by_ca = ?4",
	/* Stored only while the certificate still has the state the
	 * response says: a revocation committed after the response was
	 * built leaves no row (and one committed later drops it, by the
	 * trigger). */
	[S_OCSP_PUT] =
	"INSERT OR REPLACE INTO ocsp_response (serial, status, revoked_at, "
	"reason, this_update, next_update, der, responder, by_ca, "
	"refresh_at) "
	"SELECT serial, status, revoked_at, reason, ?5, ?6, ?7, ?8, ?9, "
	"CASE WHEN ?6 < not_after THEN ?10 END "
	"FROM certificate WHERE serial = ?1 AND status = ?2 "
	"AND revoked_at = ?3 AND reason = ?4 "
	"AND coalesce(invalid_at, 0) = ?11",
	/* Certificates of key ?1 that are still valid by date (?2 now) and
	 * have no response, one whose nextUpdate comes before ?3, or one
	 * another signer than ?5 made (the daemon's --ocsp-signer
	 * changed); those after id ?6, in id order, so that a pass walks
	 * the table once however many batches it takes (the unary '+' keeps
	 * SQLite on the id range: from the status index it would start over
	 * at every batch and skip what the batches before it signed). */
	[S_OCSP_TODO] =
	"SELECT c.id, c.serial, c.status, c.revoked_at, c.reason, "
	"coalesce(c.invalid_at, 0) "
	"FROM certificate AS c LEFT JOIN ocsp_response AS o "
	"ON o.serial = c.serial "
	"WHERE c.id > ?6 AND +c.status IN (1, 2) AND c.key_idx = ?1 "
	"AND +c.not_after > ?2 "
	"AND (o.serial IS NULL OR o.next_update < ?3 OR o.by_ca != ?5) "
	"ORDER BY c.id LIMIT ?4",
	[S_OCSP_RESPONDER_ADD] =
	"INSERT INTO ocsp_responder (serial, not_before, not_after, der, "
	"created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_OCSP_COUNT] =
	"SELECT count(*) FROM ocsp_response WHERE next_update > ?1",
	/* What a publication directory must hold: every certificate of key
	 * ?1 that expired after ?3, with its response if fresh at ?2
	 * (whoever signed it: the command line's publication does not know
	 * the daemon's --ocsp-signer, and its refresh replaces a row of the
	 * other kind before it publishes). */
	[S_OCSP_PUBLISH] =
	"SELECT c.serial, c.not_after, o.der, o.this_update, o.responder "
	"FROM certificate AS c LEFT JOIN ocsp_response AS o "
	"ON o.serial = c.serial AND o.next_update > ?2 "
	"WHERE c.status IN (1, 2) AND c.key_idx = ?1 AND c.not_after > ?3",
	[S_OCSP_PRUNE] =
	"DELETE FROM ocsp_response WHERE next_update < ?1",
	[S_OCSP_DIRTY] =
	"SELECT EXISTS (SELECT 1 FROM ocsp_dirty)",
	/* A revocation among the marks (signed at once even while issuance
	 * holds the rest back, web/ocsp.c): a lookup per mark, and the marks
	 * are at most some seconds of issuance. CROSS JOIN keeps that order:
	 * left to itself SQLite walked every revoked certificate through
	 * the status index, reading each row for its serial to look for a
	 * mark - a million rows at 10M certificates, every two seconds
	 * while issuing, and a daemon on a cold cache took 49 s to stop
	 * while the walk went on. */
	[S_OCSP_DIRTY_REVOKED] =
	"SELECT EXISTS (SELECT 1 FROM ocsp_dirty AS d CROSS JOIN "
	"certificate AS c ON c.serial = d.serial WHERE c.status = 2)",
	/* The oldest records of dropped responses, a bounded number a
	 * pass, by the store's clock (the trigger's). */
	[S_OCSP_GONE_PRUNE] =
	"DELETE FROM ocsp_gone WHERE seq IN "
	"(SELECT seq FROM ocsp_gone ORDER BY seq LIMIT 256) "
	"AND at < CAST(strftime('%s', 'now') AS INTEGER) - 86400",
	[S_OCSP_MARKED] =
	"SELECT d.serial, c.id, c.status, c.revoked_at, c.reason, c.key_idx, "
	"c.not_after, coalesce(c.invalid_at, 0) "
	"FROM ocsp_dirty AS d LEFT JOIN certificate AS c "
	"ON c.serial = d.serial LIMIT ?1",
	[S_OCSP_UNMARK] =
	"DELETE FROM ocsp_dirty WHERE serial = ?1",
	/* Through ocsp_response_by_refresh, then each certificate by its
	 * serial: nothing due, nothing read. */
	[S_OCSP_DUE] =
	"SELECT o.serial, c.id, c.status, c.revoked_at, c.reason, c.key_idx, "
	"c.not_after, coalesce(c.invalid_at, 0) FROM ocsp_response AS o "
	"JOIN certificate AS c ON c.serial = o.serial "
	"WHERE o.refresh_at <= ?1 ORDER BY o.refresh_at LIMIT ?2",
	/* Dated after ?1 (the clock was set back since they were signed):
	 * refresh_at is thisUpdate + half the period, so through the index
	 * on refresh_at, past ?2 (now + half the period): usually nothing,
	 * at the cost of one index probe. */
	[S_OCSP_FUTURE_ANY] =
	"SELECT EXISTS (SELECT 1 FROM ocsp_response INDEXED BY "
	"ocsp_response_by_refresh WHERE refresh_at > ?2 AND this_update > ?1)",
	[S_OCSP_FUTURE_DUE] =
	"UPDATE ocsp_response SET refresh_at = ?1 WHERE serial IN (SELECT "
	"serial FROM ocsp_response INDEXED BY ocsp_response_by_refresh "
	"WHERE refresh_at > ?2 AND this_update > ?1)",
	[S_OCSP_NO_REFRESH] =
	"UPDATE ocsp_response SET refresh_at = NULL WHERE serial = ?1",
	[S_OCSP_WALKED_GET] =
	"SELECT EXISTS (SELECT 1 FROM ocsp_walked WHERE key_idx = ?1 "
	"AND by_ca = ?2)",
	[S_OCSP_WALKED_SET] =
	"INSERT OR REPLACE INTO ocsp_walked (key_idx, by_ca) VALUES (?1, ?2)",
	[S_OCSP_SEQ] =
	"SELECT n FROM ocsp_seq WHERE id = 1",
	/* What was stored or dropped after change ?1, each through the
	 * index on its number, once per certificate (a revocation drops a
	 * response, then its re-signing stores one), with the certificate
	 * and its response fresh at ?2 (if any) by serial. */
	[S_OCSP_CHANGED] =
	"SELECT x.serial, c.key_idx, c.not_after, o.der, o.this_update, "
	"o.responder, x.seq FROM "
	"(SELECT serial, max(seq) AS seq FROM "
	"(SELECT serial, seq FROM ocsp_response WHERE seq > ?1 "
	"UNION ALL SELECT serial, seq FROM ocsp_gone WHERE seq > ?1) "
	"GROUP BY serial) AS x "
	"JOIN certificate AS c ON c.serial = x.serial "
	"LEFT JOIN ocsp_response AS o ON o.serial = x.serial "
	"AND o.next_update > ?2",
	[S_OCSP_RESPONDER_GET] =
	"SELECT der FROM ocsp_responder WHERE serial = ?1",
	[S_CERT_STATUS] =
	"SELECT status, revoked_at, reason, key_idx, coalesce(invalid_at, 0) "
	"FROM certificate WHERE serial = ?1",
};

static int by_serial(struct db *db, int id, const char *serial, int fault,
		     struct mica_err *err);

int
db_ocsp_get(struct db *db, const char *serial, int key_idx, int by_ca,
	    int64_t fresh_after, struct db_ocsp_response *out,
	    struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL || key_idx < 0 ||
	    key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_OCSP_GET, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_i64(st, 2, fresh_after, &b);
	db_bind_i64(st, 3, key_idx, &b);
	db_bind_i64(st, 4, by_ca != 0, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "not_found",
			     "no fresh OCSP response for this certificate");
		goto out;
	}
	if (db_col_blob(st, 0, &out->der, &out->der_len) != 0) {
		db_oom(err);
		goto out;
	}
	out->this_update = sqlite3_column_int64(st, 1);
	out->next_update = sqlite3_column_int64(st, 2);
	if (db_col_fixed(st, 3, out->responder, sizeof(out->responder)) != 0 ||
	    (out->responder[0] != '\0' && !db_serial_ok(out->responder))) {
		db_bad_serial(err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	if (rc != 0)
		db_ocsp_response_free(out);
	return rc;
}

void
db_ocsp_response_free(struct db_ocsp_response *r)
{
	if (r == NULL)
		return;
	free(r->der);
	memset(r, 0, sizeof(*r));
}

int
db_ocsp_put(struct db *db, const char *serial, const struct db_cert_state *s,
	    const unsigned char *der, size_t der_len, const char *responder,
	    int by_ca, int64_t this_update, int64_t next_update,
	    int64_t refresh_at, int *stored, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (stored != NULL)
		*stored = 0;
	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || s == NULL || der == NULL || der_len == 0 ||
	    der_len > OCSP_DER_MAX || next_update <= this_update ||
	    (by_ca && responder != NULL))
		return db_bad_arg(err);
	if (!db_serial_ok(serial) ||
	    (responder != NULL && !db_serial_ok(responder)))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_OCSP_PUT, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_i64(st, 2, s->status, &b);
	db_bind_i64(st, 3, s->revoked_at, &b);
	db_bind_i64(st, 4, s->reason, &b);
	db_bind_i64(st, 5, this_update, &b);
	db_bind_i64(st, 6, next_update, &b);
	db_bind_blob(st, 7, der, der_len, &b);
	db_bind_text(st, 8, responder, &b);   /* NULL: SQL NULL */
	db_bind_i64(st, 9, by_ca != 0, &b);
	db_bind_i64(st, 10, refresh_at, &b);
	db_bind_i64(st, 11, s->invalid_at, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	/* Stored for the state it says: the certificate's mark is done
	 * with (not stored: a change raced, the mark stays for it). */
	if (sqlite3_changes(db->h) > 0) {
		if (stored != NULL)
			*stored = 1;
		db_stmt_done(st);
		st = NULL;
		/* Part of the one write: no fault point of its own. */
		if (by_serial(db, S_OCSP_UNMARK, serial, 0, err) != 0)
			goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_todo(struct db *db, int key_idx, int by_ca, int64_t now,
	     int64_t refresh_before, int64_t after, size_t max,
	     struct db_ocsp_todo *out, size_t *n, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL || n == NULL || max == 0 ||
	    max > 1000000 || key_idx < 0 || key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);
	*n = 0;
	if ((st = db_stmt(db, S_OCSP_TODO, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, key_idx, &b);
	db_bind_i64(st, 2, now, &b);
	db_bind_i64(st, 3, refresh_before, &b);
	db_bind_i64(st, 4, (int64_t)max, &b);
	db_bind_i64(st, 5, by_ca != 0, &b);
	db_bind_i64(st, 6, after, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	while (*n < max && (r = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_ocsp_todo *t = &out[*n];

		t->id = sqlite3_column_int64(st, 0);
		if (db_col_fixed(st, 1, t->serial, sizeof(t->serial)) != 0 ||
		    !db_serial_ok(t->serial)) {
			db_bad_serial(err);
			goto out;
		}
		t->state.status = sqlite3_column_int(st, 2);
		t->state.revoked_at = sqlite3_column_int64(st, 3);
		t->state.reason = sqlite3_column_int(st, 4);
		t->state.invalid_at = sqlite3_column_int64(st, 5);
		(*n)++;
	}
	if (*n < max && r != SQLITE_DONE) {
		db_fail(db, r, NULL, NULL, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_count(struct db *db, int64_t now, int64_t *count,
	      struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || count == NULL)
		return db_bad_arg(err);
	*count = 0;
	if ((st = db_stmt(db, S_OCSP_COUNT, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, now, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1)
		*count = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_responder_add(struct db *db, const char *serial,
		      const unsigned char *der, size_t der_len,
		      int64_t not_before, int64_t not_after, int64_t created_at,
		      struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || der == NULL || der_len == 0 ||
	    der_len > OCSP_DER_MAX || not_after <= not_before)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_OCSP_RESPONDER_ADD, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_i64(st, 2, not_before, &b);
	db_bind_i64(st, 3, not_after, &b);
	db_bind_blob(st, 4, der, der_len, &b);
	db_bind_i64(st, 5, created_at, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "serial_exists", "serial already used",
			 err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_cert_state_get(struct db *db, const char *serial, struct db_cert_state *s,
		  struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || s == NULL)
		return db_bad_arg(err);
	memset(s, 0, sizeof(*s));
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_CERT_STATUS, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "cert_not_found",
			     "no such certificate");
		goto out;
	}
	s->status = sqlite3_column_int(st, 0);
	s->revoked_at = sqlite3_column_int64(st, 1);
	s->reason = sqlite3_column_int(st, 2);
	s->key_idx = sqlite3_column_int(st, 3);
	s->invalid_at = sqlite3_column_int64(st, 4);
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_foreach(struct db *db, int key_idx, int64_t now,
		int64_t expired_since, db_ocsp_cb cb, void *ctx,
		struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *serial, *responder;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || cb == NULL || key_idx < 0 || key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_OCSP_PUBLISH, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, key_idx, &b);
	db_bind_i64(st, 2, now, &b);
	db_bind_i64(st, 3, expired_since, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	/* Straight from SQLite's buffers: nothing allocated per row. */
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const void *der = sqlite3_column_blob(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2);

		if ((serial = sqlite3_column_text(st, 0)) == NULL) {
			db_oom(err);
			goto out;
		}
		responder = sqlite3_column_text(st, 4);
		if (responder != NULL &&
		    !db_serial_ok((const char *)responder)) {
			db_bad_serial(err);
			goto out;
		}
		if (cb(ctx, (const char *)serial, sqlite3_column_int64(st, 1),
		       len > 0 ? der : NULL, len, (const char *)responder,
		       sqlite3_column_int64(st, 3)) != 0)
			goto out;   /* stopped by the caller: err is its */
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
db_ocsp_future(struct db *db, int64_t now, int64_t refresh_after, int mark,
	       int *any, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (mark && MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || (!mark && any == NULL))
		return db_bad_arg(err);
	if ((st = db_stmt(db, mark ? S_OCSP_FUTURE_DUE : S_OCSP_FUTURE_ANY,
			  ocsp_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, now, &b);
	db_bind_i64(st, 2, refresh_after, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	if (mark) {
		if (db_step_done(db, st, NULL, NULL, err) != 0)
			goto out;
	} else {
		if ((r = db_step_row(db, st, err)) < 0)
			goto out;
		*any = r == 1 && sqlite3_column_int(st, 0) != 0;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_prune(struct db *db, int64_t before, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_OCSP_PRUNE, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, before, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	db_stmt_done(st);
	if ((st = db_stmt(db, S_OCSP_GONE_PRUNE, ocsp_sql, err)) == NULL ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_dirty(struct db *db, int revoked, int *dirty, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || dirty == NULL)
		return db_bad_arg(err);
	*dirty = 0;
	if ((st = db_stmt(db, revoked ? S_OCSP_DIRTY_REVOKED : S_OCSP_DIRTY,
			  ocsp_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	*dirty = r == 1 && sqlite3_column_int(st, 0) != 0;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_responder_get(struct db *db, const char *serial, unsigned char **der,
		      size_t *der_len, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || der == NULL || der_len == NULL)
		return db_bad_arg(err);
	*der = NULL;
	*der_len = 0;
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_OCSP_RESPONDER_GET, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "not_found",
			     "no such OCSP responder certificate");
		goto out;
	}
	if (db_col_blob(st, 0, der, der_len) != 0) {
		db_oom(err);
		goto out;
	}
	if (*der == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_record",
			     "an OCSP responder certificate without DER");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* Read up to MAX rows of ST (marked or due: serial, id, status,
 * revoked_at, reason, key_idx, not_after, invalid_at) into OUT. */
static int
read_todo(struct db *db, sqlite3_stmt *st, size_t max,
	  struct db_ocsp_todo *out, size_t *n, struct mica_err *err)
{
	int r = SQLITE_DONE;

	while (*n < max && (r = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_ocsp_todo *t = &out[*n];

		memset(t, 0, sizeof(*t));
		if (db_col_fixed(st, 0, t->serial, sizeof(t->serial)) != 0 ||
		    !db_serial_ok(t->serial))
			return db_bad_serial(err);
		t->known = sqlite3_column_type(st, 1) != SQLITE_NULL;
		t->id = sqlite3_column_int64(st, 1);
		t->state.status = sqlite3_column_int(st, 2);
		t->state.revoked_at = sqlite3_column_int64(st, 3);
		t->state.reason = sqlite3_column_int(st, 4);
		t->state.key_idx = sqlite3_column_int(st, 5);
		t->not_after = sqlite3_column_int64(st, 6);
		t->state.invalid_at = sqlite3_column_int64(st, 7);
		(*n)++;
	}
	if (*n < max && r != SQLITE_DONE) {
		db_fail(db, r, NULL, NULL, err);
		return -1;
	}
	return 0;
}

int
db_ocsp_marked(struct db *db, size_t max, struct db_ocsp_todo *out,
	       size_t *n, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (db == NULL || out == NULL || n == NULL || max == 0 ||
	    max > 1000000)
		return db_bad_arg(err);
	*n = 0;
	if ((st = db_stmt(db, S_OCSP_MARKED, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, (int64_t)max, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    read_todo(db, st, max, out, n, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_due(struct db *db, int64_t now, size_t max, struct db_ocsp_todo *out,
	    size_t *n, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (db == NULL || out == NULL || n == NULL || max == 0 ||
	    max > 1000000)
		return db_bad_arg(err);
	*n = 0;
	if ((st = db_stmt(db, S_OCSP_DUE, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, now, &b);
	db_bind_i64(st, 2, (int64_t)max, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    read_todo(db, st, max, out, n, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* Run statement ID with SERIAL as ?1, a write (FAULT: one a test may
 * make fail). */
static int
by_serial(struct db *db, int id, const char *serial, int fault,
	  struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (fault && MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, id, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_unmark(struct db *db, const char *serial, struct mica_err *err)
{
	return by_serial(db, S_OCSP_UNMARK, serial, 1, err);
}

int
db_ocsp_no_refresh(struct db *db, const char *serial, struct mica_err *err)
{
	return by_serial(db, S_OCSP_NO_REFRESH, serial, 1, err);
}

int
db_ocsp_walked(struct db *db, int key_idx, int by_ca, int *walked,
	       struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || walked == NULL)
		return db_bad_arg(err);
	*walked = 0;
	if ((st = db_stmt(db, S_OCSP_WALKED_GET, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, key_idx, &b);
	db_bind_i64(st, 2, by_ca != 0, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	*walked = r == 1 && sqlite3_column_int(st, 0) != 0;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_walked_set(struct db *db, int key_idx, int by_ca,
		   struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || key_idx < 0 || key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_OCSP_WALKED_SET, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, key_idx, &b);
	db_bind_i64(st, 2, by_ca != 0, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_seq(struct db *db, int64_t *seq, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || seq == NULL)
		return db_bad_arg(err);
	*seq = 0;
	if ((st = db_stmt(db, S_OCSP_SEQ, ocsp_sql, err)) == NULL ||
	    (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1)
		*seq = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_changed(struct db *db, int64_t since, int64_t now,
		db_ocsp_change_cb cb, void *ctx, int64_t *last,
		struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *serial, *responder;
	int64_t top = since;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || cb == NULL || last == NULL)
		return db_bad_arg(err);
	*last = since;
	if ((st = db_stmt(db, S_OCSP_CHANGED, ocsp_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, since, &b);
	db_bind_i64(st, 2, now, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const void *der = sqlite3_column_blob(st, 3);
		size_t len = (size_t)sqlite3_column_bytes(st, 3);
		int64_t seq = sqlite3_column_int64(st, 6);

		if ((serial = sqlite3_column_text(st, 0)) == NULL) {
			db_oom(err);
			goto out;
		}
		if (!db_serial_ok((const char *)serial)) {
			db_bad_serial(err);
			goto out;
		}
		responder = sqlite3_column_text(st, 5);
		if (responder != NULL &&
		    !db_serial_ok((const char *)responder)) {
			db_bad_serial(err);
			goto out;
		}
		if (cb(ctx, (const char *)serial, sqlite3_column_int(st, 1),
		       sqlite3_column_int64(st, 2), len > 0 ? der : NULL, len,
		       (const char *)responder,
		       sqlite3_column_int64(st, 4)) != 0)
			goto out;   /* stopped by the caller: err is its */
		if (seq > top)
			top = seq;
	}
	if (r != SQLITE_DONE) {
		db_fail(db, r, NULL, NULL, err);
		goto out;
	}
	*last = top;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ocsp_plan(struct db *db, int id, char *buf, size_t len,
	     struct mica_err *err)
{
	static const char pre[] = "EXPLAIN QUERY PLAN ";
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	size_t used = 0, n;
	int rc = -1, r;

	if (db == NULL || buf == NULL || len == 0 || id < 0 ||
	    id >= S__COUNT || ocsp_sql[id] == NULL)
		return db_bad_arg(err);
	buf[0] = '\0';
	n = sizeof(pre) + strlen(ocsp_sql[id]);
	if ((sql = malloc(n)) == NULL)
		return db_oom(err);
	snprintf(sql, n, "%s%s", pre, ocsp_sql[id]);
	if ((r = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL)) != SQLITE_OK) {
		db_fail(db, r, NULL, NULL, err);
		goto out;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *d = sqlite3_column_text(st, 3);
		int w;

		if (d == NULL)
			continue;
		w = snprintf(buf + used, len - used, "%s%s",
			     used > 0 ? "; " : "", (const char *)d);
		if (w < 0 || (size_t)w >= len - used) {
			mica_err_set(err, MICA_E_INTERNAL, "too_long",
				     "query plan longer than the buffer");
			goto out;
		}
		used += (size_t)w;
	}
	if (r != SQLITE_DONE) {
		db_fail(db, r, NULL, NULL, err);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	free(sql);
	return rc;
}

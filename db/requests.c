/*
 * db/requests.c - the request table: certificate requests waiting for (or
 * after) an operator's decision.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

/* The columns req_read() reads, in its order. */
#define REQ_COLS \
	"id, status, profile, csr_der, names, subject, days, client, " \
	"submitted_at, decided_at, decided_by, deny_reason, serial"

#define REQ_LIST_MAX  10000      /* requests per listing */

static const char *const req_sql[S__COUNT] = {
	[S_REQ_INSERT] =
	"INSERT INTO request (" REQ_COLS ") "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[S_REQ_GET] = "SELECT " REQ_COLS " FROM request WHERE id = ?1",
	/* In the order recorded, after the row ?3 (0: from the first): the
	 * table itself, or request_by_status_row (schema 017) for one
	 * status. */
	[S_REQ_LIST] =
	"SELECT " REQ_COLS ", rowid FROM request WHERE rowid > ?3 "
	"ORDER BY rowid LIMIT ?2",
	[S_REQ_LIST_STATUS] =
	"SELECT " REQ_COLS ", rowid FROM request INDEXED BY request_by_status_row "
	"WHERE status = ?1 AND rowid > ?3 ORDER BY rowid LIMIT ?2",
	[S_REQ_DECIDE] =
	"UPDATE request SET status = ?2, decided_by = ?3, decided_at = ?4, "
	"serial = ?5, deny_reason = ?6 WHERE id = ?1 AND status = 0",
	[S_REQ_EXISTS] = "SELECT 1 FROM request WHERE id = ?1",
	[S_REQ_PENDING] = "SELECT count(*) FROM request WHERE status = 0",
	/* Both use the partial indexes on the pending rows (schema 003); no
	 * ORDER BY, which would steer SQLite to request_by_status and a
	 * comparison of every pending CSR. */
	[S_REQ_PENDING_CLIENT] =
	"SELECT count(*) FROM request WHERE status = 0 AND client = ?1",
	[S_REQ_PENDING_SAME] =
	"SELECT id FROM request WHERE status = 0 AND profile = ?1 AND csr_der = ?2 "
	"LIMIT 1",
};

static int
req_read(sqlite3_stmt *st, void *row, struct mica_err *err)
{
	struct db_request *r = row;
	int64_t days;

	memset(r, 0, sizeof(*r));
	if (db_col_fixed(st, 0, r->id, sizeof(r->id)) != 0 ||
	    db_col_fixed(st, 12, r->serial, sizeof(r->serial)) != 0) {
		db_req_free(r);
		return mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
				    "a stored request record is malformed");
	}
	if (db_col_str(st, 2, &r->profile) != 0 ||
	    db_col_blob(st, 3, &r->csr_der, &r->csr_len) != 0 ||
	    db_col_str(st, 4, &r->names) != 0 ||
	    db_col_str(st, 5, &r->subject) != 0 ||
	    db_col_str(st, 7, &r->client) != 0 ||
	    db_col_str(st, 10, &r->decided_by) != 0 ||
	    db_col_str(st, 11, &r->deny_reason) != 0) {
		db_req_free(r);
		return db_oom(err);
	}
	r->status = sqlite3_column_int(st, 1);
	days = sqlite3_column_int64(st, 6);
	r->days = days > INT_MAX ? INT_MAX : (int)days;
	r->submitted_at = sqlite3_column_int64(st, 8);
	r->decided_at = sqlite3_column_int64(st, 9);
	/* The listings add the row's place (their cursor). */
	if (sqlite3_column_count(st) > 13)
		r->rowid = sqlite3_column_int64(st, 13);
	return 0;
}

/* The code and words GET /api/v1/requests/{id} answers with (docs/API.md:
 * every 404 is "not_found"), so that approve and deny, which reach this,
 * say the same to a script as the poll. */
static int
req_not_found(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_NOTFOUND, "not_found",
			    "no such request");
}

int
db_req_insert(struct db *db, const struct db_request *r, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || r == NULL || r->profile == NULL)
		return db_bad_arg(err);
	if (!db_id_ok(r->id, sizeof(r->id)))
		return mica_err_set(err, MICA_E_BADREQ, "bad_request_id",
				    "invalid request id");
	if (r->csr_der == NULL || r->csr_len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "a request needs its CSR");
	if (r->status != DB_REQ_PENDING && r->status != DB_REQ_ISSUED &&
	    r->status != DB_REQ_DENIED)
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "unknown request status");
	if (r->status == DB_REQ_ISSUED && !db_serial_ok(r->serial))
		return db_bad_serial(err);
	if (r->days < 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days",
				    "negative validity");
	if (!db_text_ok(r->profile) || !db_text_ok(r->names) || !db_text_ok(r->subject) ||
	    !db_text_ok(r->client) || !db_text_ok(r->decided_by) ||
	    !db_text_ok(r->deny_reason))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "request record too large");
	if ((st = db_stmt(db, S_REQ_INSERT, req_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, r->id, &b);
	db_bind_i64(st, 2, r->status, &b);
	db_bind_text(st, 3, r->profile, &b);
	db_bind_blob(st, 4, r->csr_der, r->csr_len, &b);
	db_bind_text(st, 5, r->names != NULL ? r->names : "", &b);
	db_bind_text(st, 6, r->subject != NULL ? r->subject : "", &b);
	db_bind_i64(st, 7, r->days, &b);
	db_bind_text(st, 8, r->client != NULL ? r->client : "", &b);
	db_bind_i64(st, 9, r->submitted_at, &b);
	db_bind_i64(st, 10, r->decided_at, &b);
	db_bind_text(st, 11, r->decided_by, &b);
	db_bind_text(st, 12, r->deny_reason, &b);
	db_bind_serial_opt(st, 13, r->serial, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "request_exists",
		      "a request with this id already exists", err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_req_get(struct db *db, const char *id, struct db_request *out,
	   struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || id == NULL || out == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, S_REQ_GET, req_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		req_not_found(err);
		goto out;
	}
	if (req_read(st, out, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

void
db_req_free(struct db_request *r)
{
	if (r == NULL)
		return;
	free(r->profile);
	free(r->csr_der);
	free(r->names);
	free(r->subject);
	free(r->client);
	free(r->decided_by);
	free(r->deny_reason);
	memset(r, 0, sizeof(*r));
}

int
db_req_list(struct db *db, int status, int64_t after_row, int limit,
	    struct db_request **out, size_t *n, int *more, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_request *a = NULL;
	size_t cnt = 0;
	int rc = -1, b = SQLITE_OK;

	if (db == NULL || out == NULL || n == NULL || more == NULL)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	*more = 0;
	if (status != -1 && status != DB_REQ_PENDING && status != DB_REQ_ISSUED &&
	    status != DB_REQ_DENIED)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "unknown request status filter");
	if ((st = db_stmt(db, status == -1 ? S_REQ_LIST : S_REQ_LIST_STATUS,
			  req_sql, err)) == NULL)
		goto out;
	if (status != -1)
		db_bind_i64(st, 1, status, &b);
	limit = db_clamp_limit(limit, REQ_LIST_MAX);
	/* One row more than the page: whether another page follows. */
	db_bind_i64(st, 2, (int64_t)limit + 1, &b);
	db_bind_i64(st, 3, after_row > 0 ? after_row : 0, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	if (db_rows(db, st, sizeof(*a), (size_t)limit, req_read, (void **)&a,
		    &cnt, more, err) != 0)
		goto out;
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	db_stmt_done(st);
	db_req_array_free(a, cnt);
	return rc;
}

void
db_req_array_free(struct db_request *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_req_free(&a[i]);
	free(a);
}

int
db_req_decide(struct db *db, const char *id, int status, const char *by,
	      const char *serial, const char *reason, int64_t at,
	      struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || id == NULL || !db_id_ok(by, DB_TEXT_MAX))
		return db_bad_arg(err);
	if (status != DB_REQ_ISSUED && status != DB_REQ_DENIED)
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "a request is decided as issued or denied");
	if (status == DB_REQ_ISSUED && !db_serial_ok(serial))
		return db_bad_serial(err);
	if (!db_text_ok(reason))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "denial reason too long");
	if ((st = db_stmt(db, S_REQ_DECIDE, req_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	db_bind_i64(st, 2, status, &b);
	db_bind_text(st, 3, by, &b);
	db_bind_i64(st, 4, at, &b);
	/* Only what belongs to the decision: an issued request has no denial
	 * reason, a denied one no serial. */
	db_bind_text(st, 5, status == DB_REQ_ISSUED ? serial : NULL, &b);
	db_bind_text(st, 6, status == DB_REQ_DENIED ? reason : NULL, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	db_stmt_done(st);
	if ((st = db_stmt(db, S_REQ_EXISTS, req_sql, err)) == NULL)
		goto out;
	b = SQLITE_OK;
	db_bind_text(st, 1, id, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0)
		req_not_found(err);
	else
		mica_err_set(err, MICA_E_CONFLICT, "already_decided",
			     "the request has already been decided");
out:
	db_stmt_done(st);
	return rc;
}

int
db_req_count_pending(struct db *db, int64_t *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || out == NULL)
		return db_bad_arg(err);
	*out = 0;
	if ((st = db_stmt(db, S_REQ_PENDING, req_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1)
		*out = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_req_count_pending_client(struct db *db, const char *client, int64_t *out,
			    struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || client == NULL || out == NULL)
		return db_bad_arg(err);
	*out = 0;
	if ((st = db_stmt(db, S_REQ_PENDING_CLIENT, req_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, client, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1)
		*out = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_req_find_pending(struct db *db, const char *profile,
		    const unsigned char *csr_der, size_t csr_len,
		    char id[40], struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || profile == NULL || csr_der == NULL || csr_len == 0 ||
	    id == NULL)
		return db_bad_arg(err);
	id[0] = '\0';
	if ((st = db_stmt(db, S_REQ_PENDING_SAME, req_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, profile, &b);
	db_bind_blob(st, 2, csr_der, csr_len, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1 && db_col_fixed(st, 0, id, 40) != 0) {
		id[0] = '\0';
		mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
			     "a stored request record is malformed");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

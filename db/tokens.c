/*
 * db/tokens.c - the token table: enrollment and admin tokens (hashes only),
 * consumed atomically one use at a time.
 *
 * db_token_consume on an unknown id is MICA_E_NOTFOUND "token_not_found".
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

#define TOKEN_LIST_MAX 1000      /* tokens per listing page */

/* The columns token_read() reads, in its order. */
#define TOKEN_COLS \
	"id, hash, kind, profile, names, uses_left, expires_at, created_at, " \
	"created_by, comment, revoked, last_used_at"

static const char *const token_sql[S__COUNT] = {
	[S_TOKEN_INSERT] =
	"INSERT INTO token (" TOKEN_COLS ") "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[S_TOKEN_GET] = "SELECT " TOKEN_COLS " FROM token WHERE id = ?1",
	/* One statement: the check and the decrement cannot be separated by
	 * another connection's consume. */
	[S_TOKEN_CONSUME] =
	"UPDATE token SET "
	"uses_left = CASE WHEN uses_left = -1 THEN -1 ELSE uses_left - 1 END, "
	"last_used_at = ?2 "
	"WHERE id = ?1 AND revoked = 0 AND (uses_left = -1 OR uses_left > 0) "
	"AND (expires_at = 0 OR expires_at > ?2)",
	[S_TOKEN_EXISTS] = "SELECT 1 FROM token WHERE id = ?1",
	[S_TOKEN_REFUND] =
	"UPDATE token SET "
	"uses_left = CASE WHEN uses_left = -1 THEN -1 ELSE uses_left + 1 END "
	"WHERE id = ?1",
	[S_TOKEN_TOUCH] = "UPDATE token SET last_used_at = ?2 WHERE id = ?1",
	/* Newest first, before the row ?1: the table itself, by rowid. */
	[S_TOKEN_LIST] =
	"SELECT " TOKEN_COLS ", rowid FROM token WHERE rowid < ?1 "
	"ORDER BY rowid DESC LIMIT ?2",
	/* The usable ones: token_usable (schema 020), rows [?3, ?1), those
	 * expired at ?4 passed over. Its WHERE repeats the index's, or
	 * SQLite may not use it. */
	[S_TOKEN_LIST_USABLE] =
	"SELECT " TOKEN_COLS ", rowid FROM token INDEXED BY token_usable "
	"WHERE revoked = 0 AND uses_left <> 0 AND rowid < ?1 AND rowid >= ?3 "
	"AND (expires_at = 0 OR expires_at > ?4) ORDER BY rowid DESC LIMIT ?2",
	/* The lowest of the next ?2 entries of token_usable before the row
	 * ?1, and how many there are: where a bounded walk stops. */
	[S_TOKEN_USABLE_FLOOR] =
	"SELECT coalesce(min(rowid), 0), count(*) FROM "
	"(SELECT rowid FROM token INDEXED BY token_usable "
	"WHERE revoked = 0 AND uses_left <> 0 AND rowid < ?1 "
	"ORDER BY rowid DESC LIMIT ?2)",
	[S_TOKEN_REVOKE] =
	"UPDATE token SET revoked = 1 WHERE id = ?1 AND revoked = 0",
};

static int
token_read(sqlite3_stmt *st, void *row, struct mica_err *err)
{
	struct db_token *t = row;
	const void *h;

	memset(t, 0, sizeof(*t));
	h = sqlite3_column_blob(st, 1);
	if (db_col_fixed(st, 0, t->id, sizeof(t->id)) != 0 || h == NULL ||
	    sqlite3_column_bytes(st, 1) != (int)sizeof(t->hash)) {
		db_token_free(t);
		return mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
				    "a stored token record is malformed");
	}
	memcpy(t->hash, h, sizeof(t->hash));
	if (db_col_str(st, 3, &t->profile) != 0 ||
	    db_col_str(st, 4, &t->names) != 0 ||
	    db_col_str(st, 8, &t->created_by) != 0 ||
	    db_col_str(st, 9, &t->comment) != 0) {
		db_token_free(t);
		return db_oom(err);
	}
	t->kind = sqlite3_column_int(st, 2);
	t->uses_left = sqlite3_column_int64(st, 5);
	t->expires_at = sqlite3_column_int64(st, 6);
	t->created_at = sqlite3_column_int64(st, 7);
	t->revoked = sqlite3_column_int(st, 10);
	t->last_used_at = sqlite3_column_int64(st, 11);
	/* Listings read the rowid after the columns. */
	if (sqlite3_column_count(st) > 12)
		t->rowid = sqlite3_column_int64(st, 12);
	return 0;
}

static int
token_not_found(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_NOTFOUND, "token_not_found",
			    "no such token");
}

/* 1 if token ID exists, 0 if not, -1 on error. */
static int
token_exists(struct db *db, const char *id, struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK, r;

	if ((st = db_stmt(db, S_TOKEN_EXISTS, token_sql, err)) == NULL)
		return -1;
	db_bind_text(st, 1, id, &b);
	r = db_binds_ok(db, b, err) != 0 ? -1 : db_step_row(db, st, err);
	db_stmt_done(st);
	return r;
}

int
db_token_insert(struct db *db, const struct db_token *t, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || t == NULL)
		return db_bad_arg(err);
	if (!db_id_ok(t->id, sizeof(t->id)))
		return mica_err_set(err, MICA_E_BADREQ, "bad_token_id",
				    "invalid token id");
	if ((t->kind != DB_TOKEN_ENROLL && t->kind != DB_TOKEN_ADMIN) ||
	    t->uses_left < -1 || t->expires_at < 0 ||
	    (t->revoked != 0 && t->revoked != 1))
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "invalid token record");
	if (!db_text_ok(t->profile) || !db_text_ok(t->names) ||
	    !db_text_ok(t->created_by) || !db_text_ok(t->comment))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "token record too large");
	if ((st = db_stmt(db, S_TOKEN_INSERT, token_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, t->id, &b);
	db_bind_blob(st, 2, t->hash, sizeof(t->hash), &b);
	db_bind_i64(st, 3, t->kind, &b);
	db_bind_text(st, 4, t->profile, &b);
	db_bind_text(st, 5, t->names, &b);
	db_bind_i64(st, 6, t->uses_left, &b);
	db_bind_i64(st, 7, t->expires_at, &b);
	db_bind_i64(st, 8, t->created_at, &b);
	db_bind_text(st, 9, t->created_by, &b);
	db_bind_text(st, 10, t->comment, &b);
	db_bind_i64(st, 11, t->revoked, &b);
	db_bind_i64(st, 12, t->last_used_at, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "token_exists",
		      "a token with this id already exists", err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_token_get(struct db *db, const char *id, struct db_token *out,
	     struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || id == NULL || out == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, S_TOKEN_GET, token_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		token_not_found(err);
		goto out;
	}
	if (token_read(st, out, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

void
db_token_free(struct db_token *t)
{
	if (t == NULL)
		return;
	free(t->profile);
	free(t->names);
	free(t->created_by);
	free(t->comment);
	memset(t, 0, sizeof(*t));
}

int
db_token_consume(struct db *db, const char *id, int64_t now,
		 struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || id == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_TOKEN_CONSUME, token_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	db_bind_i64(st, 2, now, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	db_stmt_done(st);
	st = NULL;
	if ((r = token_exists(db, id, err)) < 0)
		goto out;
	if (r == 0)
		token_not_found(err);
	else
		mica_err_set(err, MICA_E_FORBIDDEN, "token_exhausted",
			     "the token is revoked, expired or used up");
out:
	db_stmt_done(st);
	return rc;
}

/* Run a one-parameter-or-two token UPDATE that must hit exactly one row. */
static int
token_update(struct db *db, enum db_stmt_id id, const char *token_id,
	     int64_t arg, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (db == NULL || token_id == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, id, token_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, token_id, &b);
	if (sqlite3_bind_parameter_count(st) >= 2)
		db_bind_i64(st, 2, arg, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		token_not_found(err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_token_refund(struct db *db, const char *id, struct mica_err *err)
{
	if (MICA_FAULT("db_write"))
		return db_fault(err);
	return token_update(db, S_TOKEN_REFUND, id, 0, err);
}

int
db_token_touch(struct db *db, const char *id, int64_t now, struct mica_err *err)
{
	if (MICA_FAULT("db_write"))
		return db_fault(err);
	return token_update(db, S_TOKEN_TOUCH, id, now, err);
}

int
db_token_revoke(struct db *db, const char *id, struct mica_err *err)
{
	if (MICA_FAULT("db_write"))
		return db_fault(err);
	return token_update(db, S_TOKEN_REVOKE, id, 0, err);
}

/* Where a walk of token_usable down from BEFORE through SCAN entries
 * stops: *LOW the lowest rowid it may look at, 0 when the walk reaches
 * the end of the index within SCAN entries (no bound needed). */
static int
usable_floor(struct db *db, int64_t before, int64_t scan, int64_t *low,
	     struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK, r;

	*low = 0;
	if ((st = db_stmt(db, S_TOKEN_USABLE_FLOOR, token_sql, err)) == NULL)
		return -1;
	db_bind_i64(st, 1, before, &b);
	db_bind_i64(st, 2, scan, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0) {
		db_stmt_done(st);
		return -1;
	}
	if (r == 1 && sqlite3_column_int64(st, 1) == scan)
		*low = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return 0;
}

int
db_token_list(struct db *db, int usable, int64_t now, int64_t before_row,
	      int limit, int64_t scan_max, struct db_token **out, size_t *n,
	      int64_t *next_row, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_token *a = NULL;
	size_t cnt = 0;
	int64_t before, low = 0;
	int rc = -1, b = SQLITE_OK, more = 0;

	if (db == NULL || out == NULL || n == NULL || next_row == NULL ||
	    before_row < 0 || scan_max < 0 || now < 0)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	*next_row = 0;
	before = before_row > 0 ? before_row : INT64_MAX;
	limit = db_clamp_limit(limit, TOKEN_LIST_MAX);
	if (usable && scan_max > 0 &&
	    usable_floor(db, before, scan_max, &low, err) != 0)
		goto out;
	if ((st = db_stmt(db, usable ? S_TOKEN_LIST_USABLE : S_TOKEN_LIST,
			  token_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, before, &b);
	/* One row more than the page: whether another page follows. */
	db_bind_i64(st, 2, (int64_t)limit + 1, &b);
	if (usable) {
		db_bind_i64(st, 3, low, &b);
		db_bind_i64(st, 4, now, &b);
	}
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	if (db_rows(db, st, sizeof(*a), (size_t)limit, token_read, (void **)&a,
		    &cnt, &more, err) != 0)
		goto out;
	if (more)
		*next_row = a[cnt - 1].rowid;
	else if (low > 0)
		/* The bounded walk stopped at LOW, the page full or not: the
		 * rows below it were not looked at yet. */
		*next_row = low;
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	db_stmt_done(st);
	db_token_array_free(a, cnt);
	return rc;
}

void
db_token_array_free(struct db_token *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_token_free(&a[i]);
	free(a);
}

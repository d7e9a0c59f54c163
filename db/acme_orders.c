/*
 * db/acme_orders.c - ACME orders and their authorizations (one per
 * identifier; the challenges of an authorization are columns of it).
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

#define ORDER_COLS \
	"id, account_id, status, names, profile, expires, created_at, " \
	"updated_at, serial, error_code, error_detail, replaces, replaces_serial"
#define AUTHZ_COLS \
	"id, order_id, account_id, kind, name, wildcard, status, expires, " \
	"token, chall, chall_status, validated_at, error_code, error_detail"
#define LIST_MAX 10001        /* 10000, and one to tell there are more */

static const char *const order_sql[S__COUNT] = {
	[S_ACME_ORDER_INSERT] =
	"INSERT INTO acme_order (" ORDER_COLS ") VALUES "
	"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, NULL, NULL, ?9, ?10)",
	[S_ACME_ORDER_GET] = "SELECT " ORDER_COLS " FROM acme_order WHERE id = ?1",
	[S_ACME_ORDER_MOVE] =
	"UPDATE acme_order SET status = ?3, serial = ?4, error_code = ?5, "
	"error_detail = ?6, updated_at = ?7 WHERE id = ?1 AND status = ?2",
	/* Newest first, before the row ?1, by rowid (the order made). */
	[S_ACME_ORDER_LIST] =
	"SELECT " ORDER_COLS ", rowid FROM acme_order WHERE rowid < ?1 "
	"ORDER BY rowid DESC LIMIT ?2",
	[S_ACME_ORDER_LIST_ACCT] =
	"SELECT " ORDER_COLS ", rowid FROM acme_order WHERE account_id = ?3 "
	"AND rowid < ?1 ORDER BY rowid DESC LIMIT ?2",
	[S_ACME_ORDER_OPEN] =
	"SELECT count(*), min(expires) FROM acme_order WHERE account_id = ?1 "
	"AND status IN ('pending', 'ready') AND expires > ?2",
	[S_ACME_ORDER_BY_SERIAL] =
	"SELECT " ORDER_COLS " FROM acme_order WHERE serial = ?1",
	/* An order that expired before it was finalized is invalid
	 * (RFC 8555 7.1.6), though its row still says pending or ready. */
	[S_ACME_ORDER_REPLACING] =
	"SELECT 1 FROM acme_order WHERE replaces_serial = ?1 "
	"AND status <> 'invalid' AND id IS NOT ?2 "
	"AND NOT (status IN ('pending', 'ready') AND expires <= ?3) LIMIT 1",
	[S_ACME_ORDER_EXISTS] = "SELECT 1 FROM acme_order WHERE id = ?1",
	[S_ACME_AUTHZ_INSERT] =
	"INSERT INTO acme_authz (" AUTHZ_COLS ") VALUES "
	"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, NULL)",
	[S_ACME_AUTHZ_GET] = "SELECT " AUTHZ_COLS " FROM acme_authz WHERE id = ?1",
	[S_ACME_AUTHZ_OF_ORDER] =
	"SELECT " AUTHZ_COLS " FROM acme_authz WHERE order_id = ?1 ORDER BY rowid",
	[S_ACME_AUTHZ_START] =
	"UPDATE acme_authz SET chall = ?2, chall_status = 'processing' "
	"WHERE id = ?1 AND status = 'pending' AND chall = ''",
	[S_ACME_AUTHZ_FINISH] =
	"UPDATE acme_authz SET status = ?2, chall_status = ?2, validated_at = ?3, "
	"expires = ?4, error_code = ?5, error_detail = ?6 "
	"WHERE id = ?1 AND status = 'pending' AND chall_status = 'processing'",
	/* Deactivated while its challenge was being validated: the
	 * challenge alone records how that ended. */
	[S_ACME_AUTHZ_SETTLE] =
	"UPDATE acme_authz SET chall_status = ?2, error_code = ?3, error_detail = ?4 "
	"WHERE id = ?1 AND status = 'deactivated' AND chall_status = 'processing'",
	[S_ACME_AUTHZ_DEACTIVATE] =
	"UPDATE acme_authz SET status = 'deactivated' "
	"WHERE id = ?1 AND status IN ('pending', 'valid')",
	/* The other valid authorizations of ?1's account for its identifier
	 * (a reused authorization is a copy): their orders not yet issued
	 * become invalid, then they are deactivated too. */
#define AUTHZ_SIBLING \
	"account_id = (SELECT account_id FROM acme_authz WHERE id = ?1) AND " \
	"name = (SELECT name FROM acme_authz WHERE id = ?1) AND " \
	"kind = (SELECT kind FROM acme_authz WHERE id = ?1) AND " \
	"wildcard = (SELECT wildcard FROM acme_authz WHERE id = ?1) AND " \
	"status = 'valid' AND id <> ?1"
	[S_ACME_AUTHZ_SIBLING_ORDERS] =
	"UPDATE acme_order SET status = 'invalid', error_code = 'unauthorized', "
	"error_detail = 'an authorization was deactivated', updated_at = ?2 "
	"WHERE status IN ('pending', 'ready') AND id IN "
	"(SELECT order_id FROM acme_authz WHERE " AUTHZ_SIBLING ")",
	[S_ACME_AUTHZ_SIBLINGS] =
	"UPDATE acme_authz SET status = 'deactivated' WHERE " AUTHZ_SIBLING,
	[S_ACME_AUTHZ_FIND_VALID] =
	"SELECT " AUTHZ_COLS " FROM acme_authz WHERE account_id = ?1 AND "
	"name = ?2 AND status = 'valid' AND kind = ?3 AND expires > ?4 AND "
	"validated_at <= ?4 AND (?5 < 0 OR wildcard = ?5) "
	"ORDER BY expires DESC LIMIT 1",
	[S_ACME_AUTHZ_PROCESSING] =
	"SELECT id FROM acme_authz WHERE chall_status = 'processing' LIMIT ?1",
	/* By the partial index acme_order_processing (schema 019). */
	[S_ACME_ORDER_STALE] =
	"SELECT id FROM acme_order WHERE status = 'processing' AND updated_at < ?2 "
	"ORDER BY updated_at LIMIT ?1",
	[S_ACME_AUTHZ_EXISTS] = "SELECT 1 FROM acme_authz WHERE id = ?1",
};

static int
corrupt(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
			    "a stored ACME order record is malformed");
}

/* A conditional UPDATE of table row ID changed nothing: no row, or a row
 * in another state than expected. */
static int
no_change(struct db *db, enum db_stmt_id exists, const char *id,
	  struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK, r;

	if ((st = db_stmt(db, exists, order_sql, err)) == NULL)
		return -1;
	db_bind_text(st, 1, id, &b);
	r = db_binds_ok(db, b, err) != 0 ? -1 : db_step_row(db, st, err);
	db_stmt_done(st);
	if (r < 0)
		return -1;
	if (r == 0)
		return mica_err_set(err, MICA_E_NOTFOUND, "not_found", "no such ACME object");
	return mica_err_set(err, MICA_E_CONFLICT, "acme_state",
			    "the ACME object is not in the state this needs");
}

static int
status_ok(const char *s, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (s != NULL && strcmp(s, *allowed) == 0)
			return 1;
	return 0;
}

/* -------------------------------------------------------------- orders -- */

static int
order_read(sqlite3_stmt *st, void *row, struct mica_err *err)
{
	struct db_acme_order *o = row;
	memset(o, 0, sizeof(*o));
	if (db_col_fixed(st, 0, o->id, sizeof(o->id)) != 0 ||
	    db_col_fixed(st, 1, o->account_id, sizeof(o->account_id)) != 0 ||
	    db_col_fixed(st, 2, o->status, sizeof(o->status)) != 0 ||
	    db_col_fixed(st, 8, o->serial, sizeof(o->serial)) != 0 ||
	    db_col_fixed(st, 12, o->replaces_serial, sizeof(o->replaces_serial)) != 0)
		return corrupt(err);
	if (db_col_str(st, 3, &o->names) != 0 || db_col_str(st, 4, &o->profile) != 0 ||
	    db_col_str(st, 9, &o->error_code) != 0 ||
	    db_col_str(st, 10, &o->error_detail) != 0 ||
	    db_col_str(st, 11, &o->replaces) != 0) {
		db_acme_order_free(o);
		return db_oom(err);
	}
	if (o->names == NULL || o->profile == NULL) {
		db_acme_order_free(o);
		return corrupt(err);
	}
	o->expires = sqlite3_column_int64(st, 5);
	o->created_at = sqlite3_column_int64(st, 6);
	o->updated_at = sqlite3_column_int64(st, 7);
	/* Listings read the rowid after the columns. */
	if (sqlite3_column_count(st) > 13)
		o->rowid = sqlite3_column_int64(st, 13);
	return 0;
}

void
db_acme_order_free(struct db_acme_order *o)
{
	if (o == NULL)
		return;
	free(o->names);
	free(o->profile);
	free(o->error_code);
	free(o->error_detail);
	free(o->replaces);
	memset(o, 0, sizeof(*o));
}

void
db_acme_order_array_free(struct db_acme_order *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_acme_order_free(&a[i]);
	free(a);
}

int
db_acme_order_insert(struct db *db, const struct db_acme_order *o,
		     struct mica_err *err)
{
	static const char *const initial[] = { "pending", "ready", NULL };
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || o == NULL || o->names == NULL || o->profile == NULL ||
	    !db_id_ok(o->id, sizeof(o->id)) || !status_ok(o->status, initial))
		return db_bad_arg(err);
	if (o->replaces_serial[0] != '\0' && !db_serial_ok(o->replaces_serial))
		return db_bad_serial(err);
	if (!db_text_ok(o->names) || !db_text_ok(o->profile) || !db_text_ok(o->replaces))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large", "order too large");
	if ((st = db_stmt(db, S_ACME_ORDER_INSERT, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, o->id, &b);
	db_bind_text(st, 2, o->account_id, &b);
	db_bind_text(st, 3, o->status, &b);
	db_bind_text(st, 4, o->names, &b);
	db_bind_text(st, 5, o->profile, &b);
	db_bind_i64(st, 6, o->expires, &b);
	db_bind_i64(st, 7, o->created_at, &b);
	db_bind_i64(st, 8, o->created_at, &b);
	db_bind_text(st, 9, o->replaces, &b);
	db_bind_serial_opt(st, 10, o->replaces_serial, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "order_exists", "an order with this id exists", err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* At most one order, by statement SID with text parameter P. */
static int
order_one(struct db *db, enum db_stmt_id sid, const char *p,
	  struct db_acme_order *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || p == NULL || out == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, sid, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, p, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "order_not_found", "no such order");
		goto out;
	}
	rc = order_read(st, out, err);
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_order_get(struct db *db, const char *id, struct db_acme_order *out,
		  struct mica_err *err)
{
	return order_one(db, S_ACME_ORDER_GET, id, out, err);
}

int
db_acme_order_by_serial(struct db *db, const char *serial,
			struct db_acme_order *out, struct mica_err *err)
{
	return order_one(db, S_ACME_ORDER_BY_SERIAL, serial, out, err);
}

int
db_acme_order_move(struct db *db, const char *id, const char *from,
		   const char *to, const char *serial, const char *code,
		   const char *detail, int64_t at, struct mica_err *err)
{
	static const char *const states[] = {
		"pending", "ready", "processing", "valid", "invalid", NULL };
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || id == NULL || !status_ok(from, states) || !status_ok(to, states))
		return db_bad_arg(err);
	if ((strcmp(to, "valid") == 0) != (serial != NULL) ||
	    (serial != NULL && !db_serial_ok(serial)))
		return db_bad_serial(err);
	if (!db_text_ok(code) || !db_text_ok(detail))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large", "error too long");
	if ((st = db_stmt(db, S_ACME_ORDER_MOVE, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	db_bind_text(st, 2, from, &b);
	db_bind_text(st, 3, to, &b);
	db_bind_text(st, 4, serial, &b);
	db_bind_text(st, 5, code, &b);
	db_bind_text(st, 6, detail, &b);
	db_bind_i64(st, 7, at, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		db_stmt_done(st);
		st = NULL;
		no_change(db, S_ACME_ORDER_EXISTS, id, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_order_list(struct db *db, const char *account_id, int64_t before_row,
		   int limit, struct db_acme_order **out, size_t *n,
		   int64_t *next_row, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_acme_order *a = NULL;
	size_t cnt = 0;
	int rc = -1, b = SQLITE_OK, more = 0;

	if (db == NULL || out == NULL || n == NULL || before_row < 0)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	if (next_row != NULL)
		*next_row = 0;
	limit = db_clamp_limit(limit, LIST_MAX);
	if ((st = db_stmt(db, account_id != NULL ? S_ACME_ORDER_LIST_ACCT :
			  S_ACME_ORDER_LIST, order_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, before_row > 0 ? before_row : INT64_MAX, &b);
	/* One row more than the page: whether another page follows. */
	db_bind_i64(st, 2, (int64_t)limit + 1, &b);
	if (account_id != NULL)
		db_bind_text(st, 3, account_id, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	if (db_rows(db, st, sizeof(*a), (size_t)limit, order_read, (void **)&a,
		    &cnt, &more, err) != 0)
		goto out;
	if (more && next_row != NULL)
		*next_row = a[cnt - 1].rowid;
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	db_stmt_done(st);
	db_acme_order_array_free(a, cnt);
	return rc;
}

int
db_acme_order_count_open(struct db *db, const char *account_id, int64_t now,
			 int64_t *out, int64_t *first_expiry, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || account_id == NULL || out == NULL)
		return db_bad_arg(err);
	*out = 0;
	if (first_expiry != NULL)
		*first_expiry = 0;
	if ((st = db_stmt(db, S_ACME_ORDER_OPEN, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, account_id, &b);
	db_bind_i64(st, 2, now, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1) {
		*out = sqlite3_column_int64(st, 0);
		if (first_expiry != NULL && *out > 0)
			*first_expiry = sqlite3_column_int64(st, 1);
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_order_replacing(struct db *db, const char *serial, const char *except_id,
			int64_t now, int *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || serial == NULL || out == NULL)
		return db_bad_arg(err);
	*out = 0;
	if ((st = db_stmt(db, S_ACME_ORDER_REPLACING, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_text(st, 2, except_id, &b);
	db_bind_i64(st, 3, now, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	*out = r;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* ------------------------------------------------------ authorizations -- */

static int
authz_read(sqlite3_stmt *st, void *row, struct mica_err *err)
{
	struct db_acme_authz *a = row;
	memset(a, 0, sizeof(*a));
	if (db_col_fixed(st, 0, a->id, sizeof(a->id)) != 0 ||
	    db_col_fixed(st, 1, a->order_id, sizeof(a->order_id)) != 0 ||
	    db_col_fixed(st, 2, a->account_id, sizeof(a->account_id)) != 0 ||
	    db_col_fixed(st, 3, a->kind, sizeof(a->kind)) != 0 ||
	    db_col_fixed(st, 4, a->name, sizeof(a->name)) != 0 ||
	    db_col_fixed(st, 6, a->status, sizeof(a->status)) != 0 ||
	    db_col_fixed(st, 8, a->token, sizeof(a->token)) != 0 ||
	    db_col_fixed(st, 9, a->chall, sizeof(a->chall)) != 0 ||
	    db_col_fixed(st, 10, a->chall_status, sizeof(a->chall_status)) != 0)
		return corrupt(err);
	if (db_col_str(st, 12, &a->error_code) != 0 ||
	    db_col_str(st, 13, &a->error_detail) != 0) {
		db_acme_authz_free(a);
		return db_oom(err);
	}
	a->wildcard = sqlite3_column_int(st, 5);
	a->expires = sqlite3_column_int64(st, 7);
	a->validated_at = sqlite3_column_int64(st, 11);
	return 0;
}

void
db_acme_authz_free(struct db_acme_authz *a)
{
	if (a == NULL)
		return;
	free(a->error_code);
	free(a->error_detail);
	memset(a, 0, sizeof(*a));
}

void
db_acme_authz_array_free(struct db_acme_authz *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_acme_authz_free(&a[i]);
	free(a);
}

int
db_acme_authz_insert(struct db *db, const struct db_acme_authz *a,
		     struct mica_err *err)
{
	static const char *const initial[] = { "pending", "valid", NULL };
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || a == NULL || !db_id_ok(a->id, sizeof(a->id)) ||
	    !status_ok(a->status, initial))
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_ACME_AUTHZ_INSERT, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, a->id, &b);
	db_bind_text(st, 2, a->order_id, &b);
	db_bind_text(st, 3, a->account_id, &b);
	db_bind_text(st, 4, a->kind, &b);
	db_bind_text(st, 5, a->name, &b);
	db_bind_i64(st, 6, a->wildcard ? 1 : 0, &b);
	db_bind_text(st, 7, a->status, &b);
	db_bind_i64(st, 8, a->expires, &b);
	db_bind_text(st, 9, a->token, &b);
	db_bind_text(st, 10, a->chall, &b);
	db_bind_text(st, 11, a->chall_status, &b);
	db_bind_i64(st, 12, a->validated_at, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "authz_exists", "an authorization with this id exists",
			 err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_authz_get(struct db *db, const char *id, struct db_acme_authz *out,
		  struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || id == NULL || out == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, S_ACME_AUTHZ_GET, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "authz_not_found", "no such authorization");
		goto out;
	}
	rc = authz_read(st, out, err);
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_authz_of_order(struct db *db, const char *order_id,
		       struct db_acme_authz **out, size_t *n,
		       struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_acme_authz *a = NULL;
	size_t cnt = 0;
	int rc = -1, b = SQLITE_OK;

	if (db == NULL || order_id == NULL || out == NULL || n == NULL)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	if ((st = db_stmt(db, S_ACME_AUTHZ_OF_ORDER, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, order_id, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	if (db_rows(db, st, sizeof(*a), 0, authz_read, (void **)&a, &cnt, NULL, err) != 0)
		goto out;
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	db_stmt_done(st);
	db_acme_authz_array_free(a, cnt);
	return rc;
}

int
db_acme_authz_start(struct db *db, const char *id, const char *chall,
		    struct mica_err *err)
{
	static const char *const types[] = { "http-01", "dns-01", "tls-alpn-01", NULL };
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || id == NULL || !status_ok(chall, types))
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_ACME_AUTHZ_START, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	db_bind_text(st, 2, chall, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		db_stmt_done(st);
		st = NULL;
		no_change(db, S_ACME_AUTHZ_EXISTS, id, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_authz_finish(struct db *db, const char *id, int valid, const char *code,
		     const char *detail, int64_t at, int64_t expires,
		     struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || id == NULL || (!valid && code == NULL))
		return db_bad_arg(err);
	if (!db_text_ok(code) || !db_text_ok(detail))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large", "error too long");
	if ((st = db_stmt(db, S_ACME_AUTHZ_FINISH, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	db_bind_text(st, 2, valid ? "valid" : "invalid", &b);
	db_bind_i64(st, 3, valid ? at : 0, &b);
	db_bind_i64(st, 4, expires, &b);
	db_bind_text(st, 5, valid ? NULL : code, &b);
	db_bind_text(st, 6, valid ? NULL : detail, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		db_stmt_done(st);
		st = NULL;
		no_change(db, S_ACME_AUTHZ_EXISTS, id, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_authz_settle(struct db *db, const char *id, int valid, const char *code,
		     const char *detail, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || id == NULL || (!valid && code == NULL))
		return db_bad_arg(err);
	if (!db_text_ok(code) || !db_text_ok(detail))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large", "error too long");
	if ((st = db_stmt(db, S_ACME_AUTHZ_SETTLE, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	db_bind_text(st, 2, valid ? "valid" : "invalid", &b);
	db_bind_text(st, 3, valid ? NULL : code, &b);
	db_bind_text(st, 4, valid ? NULL : detail, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		db_stmt_done(st);
		st = NULL;
		no_change(db, S_ACME_AUTHZ_EXISTS, id, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_authz_relinquish(struct db *db, const char *id, int64_t now,
			 struct mica_err *err)
{
	static const enum db_stmt_id steps[] = {
		S_ACME_AUTHZ_SIBLING_ORDERS, S_ACME_AUTHZ_SIBLINGS,
	};
	sqlite3_stmt *st = NULL;
	int b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || id == NULL)
		return db_bad_arg(err);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if ((st = db_stmt(db, steps[i], order_sql, err)) == NULL)
			return -1;
		db_bind_text(st, 1, id, &b);
		if (i == 0)
			db_bind_i64(st, 2, now, &b);
		if (db_binds_ok(db, b, err) != 0 ||
		    db_step_done(db, st, NULL, NULL, err) != 0) {
			db_stmt_done(st);
			return -1;
		}
		db_stmt_done(st);
	}
	return 0;
}

int
db_acme_authz_deactivate(struct db *db, const char *id, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || id == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_ACME_AUTHZ_DEACTIVATE, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		db_stmt_done(st);
		st = NULL;
		no_change(db, S_ACME_AUTHZ_EXISTS, id, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_authz_find_valid(struct db *db, const char *account_id, const char *kind,
			 const char *name, int wildcard, int64_t now,
			 struct db_acme_authz *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || account_id == NULL || kind == NULL || name == NULL ||
	    out == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, S_ACME_AUTHZ_FIND_VALID, order_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, account_id, &b);
	db_bind_text(st, 2, name, &b);
	db_bind_text(st, 3, kind, &b);
	db_bind_i64(st, 4, now, &b);
	db_bind_i64(st, 5, wildcard, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "authz_not_found", "no valid authorization");
		goto out;
	}
	rc = authz_read(st, out, err);
out:
	db_stmt_done(st);
	return rc;
}

/* The ids statement ID gives (?1: at most MAX; ?2: BEFORE, when
 * WITH_BEFORE). */
static int
id_list(struct db *db, enum db_stmt_id id, int with_before, int64_t before,
	size_t max, char (**ids)[40], size_t *n, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	char (*a)[40] = NULL;
	size_t cnt = 0;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || ids == NULL || n == NULL || max == 0 || max > 10000)
		return db_bad_arg(err);
	*ids = NULL;
	*n = 0;
	if ((a = calloc(max, sizeof(*a))) == NULL)
		return db_oom(err);
	if ((st = db_stmt(db, id, order_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, (int64_t)max, &b);
	if (with_before)
		db_bind_i64(st, 2, before, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	while (cnt < max) {
		if ((r = db_step_row(db, st, err)) < 0)
			goto out;
		if (r == 0)
			break;
		if (db_col_fixed(st, 0, a[cnt], sizeof(a[cnt])) != 0) {
			corrupt(err);
			goto out;
		}
		cnt++;
	}
	*ids = a;
	*n = cnt;
	a = NULL;
	rc = 0;
out:
	db_stmt_done(st);
	free(a);
	return rc;
}

int
db_acme_authz_processing(struct db *db, size_t max, char (**ids)[40], size_t *n,
			 struct mica_err *err)
{
	return id_list(db, S_ACME_AUTHZ_PROCESSING, 0, 0, max, ids, n, err);
}

int
db_acme_order_stale(struct db *db, int64_t before, size_t max,
		    char (**ids)[40], size_t *n, struct mica_err *err)
{
	return id_list(db, S_ACME_ORDER_STALE, 1, before, max, ids, n, err);
}

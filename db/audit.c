/*
 * db/audit.c - the audit table: who did what, appended, listed newest
 * first.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

#define AUDIT_MAX     10000      /* rows per listing */

static const char *const audit_sql[S__COUNT] = {
	[S_AUDIT_ADD] =
	"INSERT INTO audit (at, actor, action, target, detail) "
	"VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_AUDIT_LIST] =
	"SELECT id, at, actor, action, target, detail FROM audit "
	"WHERE at >= ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
};

int
db_audit_add(struct db *db, int64_t at, const char *actor, const char *action,
	     const char *target, const char *detail, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || !db_id_ok(actor, DB_TEXT_MAX) || !db_id_ok(action, DB_TEXT_MAX))
		return db_bad_arg(err);
	if (!db_text_ok(target) || !db_text_ok(detail))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "audit record too large");
	if ((st = db_stmt(db, S_AUDIT_ADD, audit_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, at, &b);
	db_bind_text(st, 2, actor, &b);
	db_bind_text(st, 3, action, &b);
	db_bind_text(st, 4, target, &b);
	db_bind_text(st, 5, detail, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* One row of the list (a db_row_fn). */
static int
audit_read(sqlite3_stmt *st, void *row, struct mica_err *err)
{
	struct db_audit *a = row;

	a->id = sqlite3_column_int64(st, 0);
	a->at = sqlite3_column_int64(st, 1);
	if (db_col_str(st, 2, &a->actor) != 0 ||
	    db_col_str(st, 3, &a->action) != 0 ||
	    db_col_str(st, 4, &a->target) != 0 ||
	    db_col_str(st, 5, &a->detail) != 0) {
		free(a->actor);
		free(a->action);
		free(a->target);
		free(a->detail);
		memset(a, 0, sizeof(*a));
		return db_oom(err);
	}
	return 0;
}

int
db_audit_list(struct db *db, int64_t since, int64_t before_id, int limit,
	      struct db_audit **out, size_t *n, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_audit *a = NULL;
	size_t cnt = 0;
	int rc = -1, b = SQLITE_OK;

	if (db == NULL || out == NULL || n == NULL)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	if ((st = db_stmt(db, S_AUDIT_LIST, audit_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, since, &b);
	db_bind_i64(st, 2, before_id > 0 ? before_id : INT64_MAX, &b);
	db_bind_i64(st, 3, db_clamp_limit(limit, AUDIT_MAX), &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	if (db_rows(db, st, sizeof(*a), 0, audit_read, (void **)&a, &cnt, NULL, err) != 0)
		goto out;
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	db_stmt_done(st);
	db_audit_array_free(a, cnt);
	return rc;
}

void
db_audit_array_free(struct db_audit *a, size_t n)
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

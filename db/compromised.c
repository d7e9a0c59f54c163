/*
 * db/compromised.c - the compromised_key table: the public keys mica never
 * certifies again (added by a revocation for keyCompromise, never
 * removed).
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdint.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "util/fault.h"

static const char *const compromised_sql[S__COUNT] = {
	/* The key comes from the certificate row itself: one statement, no
	 * read for the caller. A key compromised twice stays one row. */
	[S_KEY_COMPROMISED_ADD] =
	"INSERT OR IGNORE INTO compromised_key (spki_sha256, serial, added_at) "
	"SELECT spki_sha256, serial, ?2 FROM certificate WHERE serial = ?1",
	[S_KEY_COMPROMISED_GET] =
	"SELECT 1 FROM compromised_key WHERE spki_sha256 = ?1",
	/* The key's second identity, beside the first (same serial, same
	 * time); only for a certificate whose key is on the list. */
	[S_KEY_COMPROMISED_ADD_ID] =
	"INSERT OR IGNORE INTO compromised_key (spki_sha256, serial, added_at) "
	"SELECT ?1, serial, added_at FROM compromised_key WHERE serial = ?2 "
	"LIMIT 1",
	[S_KEY_SIBLINGS_NEXT] =
	"SELECT serial FROM key_siblings_todo LIMIT 1",
	[S_KEY_SIBLINGS_DONE] =
	"DELETE FROM key_siblings_todo WHERE serial = ?1",
	[S_KEY_TODO_NEXT] =
	"SELECT t.serial, c.der FROM compromised_key_todo t "
	"LEFT JOIN certificate c ON c.serial = t.serial "
	"ORDER BY t.serial LIMIT 1",
	[S_KEY_TODO_DONE] =
	"DELETE FROM compromised_key_todo WHERE serial = ?1",
};

/* Add KEY_ID beside SERIAL's compromised key. */
static int
add_id(struct db *db, const char *serial, const unsigned char *key_id,
       struct mica_err *err)
{
	sqlite3_stmt *st;
	int rc = -1, b = SQLITE_OK;

	if ((st = db_stmt(db, S_KEY_COMPROMISED_ADD_ID, compromised_sql, err)) == NULL)
		return -1;
	db_bind_blob(st, 1, key_id, 32, &b);
	db_bind_text(st, 2, serial, &b);
	if (db_binds_ok(db, b, err) == 0 &&
	    db_step_done(db, st, NULL, NULL, err) == 0)
		rc = 0;
	db_stmt_done(st);
	return rc;
}

int
db_key_compromised_add(struct db *db, const char *serial, int64_t at,
		       const unsigned char *key_id, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_KEY_COMPROMISED_ADD, compromised_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_i64(st, 2, at, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	db_stmt_done(st);
	st = NULL;
	if (key_id != NULL && add_id(db, serial, key_id, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_key_todo_next(struct db *db, char serial[DB_SERIAL_MAX],
		 unsigned char **der, size_t *len, int *found,
		 struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || serial == NULL || der == NULL || len == NULL ||
	    found == NULL)
		return db_bad_arg(err);
	*found = 0;
	*der = NULL;
	*len = 0;
	if ((st = db_stmt(db, S_KEY_TODO_NEXT, compromised_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1) {
		if (db_col_fixed(st, 0, serial, DB_SERIAL_MAX) != 0 ||
		    db_col_blob(st, 1, der, len) != 0) {
			free(*der);
			*der = NULL;
			*len = 0;
			mica_err_set(err, MICA_E_INTERNAL, "internal",
				     "cannot read the list of keys to complete");
			goto out;
		}
		*found = 1;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* Take SERIAL off the todo list whose DELETE statement is ID. */
static int
todo_delete(struct db *db, enum db_stmt_id id, const char *serial,
	    struct mica_err *err)
{
	sqlite3_stmt *st;
	int rc = -1, b = SQLITE_OK;

	if ((st = db_stmt(db, id, compromised_sql, err)) == NULL)
		return -1;
	db_bind_text(st, 1, serial, &b);
	if (db_binds_ok(db, b, err) == 0 && db_step_done(db, st, NULL, NULL, err) == 0)
		rc = 0;
	db_stmt_done(st);
	return rc;
}

int
db_key_todo_done(struct db *db, const char *serial,
		 const unsigned char *key_id, struct mica_err *err)
{
	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || serial == NULL)
		return db_bad_arg(err);
	if (key_id != NULL && add_id(db, serial, key_id, err) != 0)
		return -1;
	return todo_delete(db, S_KEY_TODO_DONE, serial, err);
}

int
db_key_siblings_next(struct db *db, char serial[DB_SERIAL_MAX], int *found,
		     struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || serial == NULL || found == NULL)
		return db_bad_arg(err);
	*found = 0;
	serial[0] = '\0';
	if ((st = db_stmt(db, S_KEY_SIBLINGS_NEXT, compromised_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1) {
		if (db_col_serial(st, 0, serial, err) != 0)
			goto out;
		*found = 1;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_key_siblings_done(struct db *db, const char *serial, struct mica_err *err)
{
	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || serial == NULL)
		return db_bad_arg(err);
	return todo_delete(db, S_KEY_SIBLINGS_DONE, serial, err);
}

int
db_key_compromised(struct db *db, const unsigned char spki_sha256[32],
		   int *out, struct mica_err *err)
{
	return db_hash_listed(db, S_KEY_COMPROMISED_GET, compromised_sql,
			      spki_sha256, out, err);
}

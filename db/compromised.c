/*
 * db/compromised.c - the compromised_key table: the public keys mica never
 * certifies again (added by a revocation for keyCompromise, never
 * removed).
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdint.h>

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
};

int
db_key_compromised_add(struct db *db, const char *serial, int64_t at,
		       struct mica_err *err)
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
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_key_compromised(struct db *db, const unsigned char spki_sha256[32],
		   int *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || spki_sha256 == NULL || out == NULL)
		return db_bad_arg(err);
	*out = 0;
	if ((st = db_stmt(db, S_KEY_COMPROMISED_GET, compromised_sql, err)) == NULL)
		goto out;
	db_bind_blob(st, 1, spki_sha256, 32, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	*out = r;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

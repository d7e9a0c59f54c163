/*
 * db/challenges.c - the renew_challenge table: one-time nonces, kept as
 * hashes, that prove a renewing client holds its certificate's key now.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdint.h>

#include <sqlite3.h>

#include "util/fault.h"

static const char *const challenge_sql[S__COUNT] = {
	/* Expired nonces of every certificate go with each new one: the
	 * table holds only live ones (bounded per certificate below). */
	[S_CHALLENGE_EXPIRE] =
	"DELETE FROM renew_challenge WHERE expires_at <= ?1",
	/* Keep the newest KEEP - 1 of SERIAL to make room for one more. */
	[S_CHALLENGE_TRIM] =
	"DELETE FROM renew_challenge WHERE rowid IN "
	"(SELECT rowid FROM renew_challenge WHERE serial = ?1 "
	"ORDER BY rowid DESC LIMIT -1 OFFSET ?2)",
	[S_CHALLENGE_ADD] =
	"INSERT INTO renew_challenge (hash, serial, expires_at) VALUES (?1, ?2, ?3)",
	/* One statement: the check and the use cannot be separated by
	 * another connection's use of the same nonce. */
	[S_CHALLENGE_CONSUME] =
	"DELETE FROM renew_challenge "
	"WHERE hash = ?1 AND serial = ?2 AND expires_at > ?3 AND "
	"expires_at <= ?3 + ?4",
};

int
db_challenge_add(struct db *db, const char *serial, const unsigned char hash[32],
		 int64_t now, int64_t expires_at, int keep, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, own = 0, in_sp = 0;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || hash == NULL || keep < 1 || expires_at <= now)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	/* The clean-up, the trim and the new nonce land together. */
	if (db_sp_begin(db, &own, err) != 0)
		return -1;
	in_sp = 1;
	if ((st = db_stmt(db, S_CHALLENGE_EXPIRE, challenge_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, now, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	db_stmt_done(st);
	if ((st = db_stmt(db, S_CHALLENGE_TRIM, challenge_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, serial, &b);
	db_bind_i64(st, 2, keep - 1, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	db_stmt_done(st);
	if ((st = db_stmt(db, S_CHALLENGE_ADD, challenge_sql, err)) == NULL)
		goto out;
	db_bind_blob(st, 1, hash, 32, &b);
	db_bind_text(st, 2, serial, &b);
	db_bind_i64(st, 3, expires_at, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
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
db_challenge_consume(struct db *db, const char *serial,
		     const unsigned char hash[32], int64_t now, int64_t ttl,
		     struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || hash == NULL || ttl <= 0)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_CHALLENGE_CONSUME, challenge_sql, err)) == NULL)
		goto out;
	db_bind_blob(st, 1, hash, 32, &b);
	db_bind_text(st, 2, serial, &b);
	db_bind_i64(st, 3, now, &b);
	db_bind_i64(st, 4, ttl, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		mica_err_set(err, MICA_E_FORBIDDEN, "bad_proof",
			     "no such live challenge for this certificate");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/*
 * db/scep.c - the scep_ra table (SCEP's RA certificates) and the scep_tx
 * table (SCEP transactions). See schema/008_scep.sql.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

/* An RA certificate is about 1 KiB; this bounds a bug. */
#define SCEP_DER_MAX (64 * 1024)
#define SCEP_TID_MAX 128

static const char *const scep_sql[S__COUNT] = {
	[S_SCEP_RA_ADD] =
	"INSERT INTO scep_ra (serial, not_before, not_after, der, created_at) "
	"VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_SCEP_TX_ADD] =
	"INSERT INTO scep_tx (tid, signer, csr_hash, request_id, serial, "
	"created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_SCEP_TX_GET] =
	"SELECT csr_hash, request_id, serial, created_at FROM scep_tx "
	"WHERE tid = ?1 AND signer = ?2",
};

int
db_scep_ra_add(struct db *db, const char *serial, const unsigned char *der,
	       size_t der_len, int64_t not_before, int64_t not_after,
	       int64_t created_at, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || der == NULL || der_len == 0 ||
	    der_len > SCEP_DER_MAX || not_after <= not_before)
		return db_bad_arg(err);
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_SCEP_RA_ADD, scep_sql, err)) == NULL)
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

static int
tid_ok(const char *tid)
{
	size_t n;

	if (tid == NULL || (n = strlen(tid)) == 0 || n > SCEP_TID_MAX)
		return 0;
	return 1;
}

int
db_scep_tx_add(struct db *db, const char *tid, const unsigned char signer[32],
	       const struct db_scep_tx *tx, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || !tid_ok(tid) || signer == NULL || tx == NULL ||
	    (tx->request_id[0] == '\0') == (tx->serial[0] == '\0'))
		return db_bad_arg(err);
	if (tx->serial[0] != '\0' && !db_serial_ok(tx->serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, S_SCEP_TX_ADD, scep_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, tid, &b);
	db_bind_blob(st, 2, signer, 32, &b);
	db_bind_blob(st, 3, tx->csr_hash, 32, &b);
	db_bind_serial_opt(st, 4, tx->request_id, &b);
	db_bind_serial_opt(st, 5, tx->serial, &b);
	db_bind_i64(st, 6, tx->created_at, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "scep_tx_exists",
			 "this SCEP transaction is already known", err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_scep_tx_get(struct db *db, const char *tid, const unsigned char signer[32],
	       struct db_scep_tx *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	unsigned char *h = NULL;
	size_t hl = 0;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL || !tid_ok(tid) || signer == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, S_SCEP_TX_GET, scep_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, tid, &b);
	db_bind_blob(st, 2, signer, 32, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "scep_tx_not_found",
			     "no such SCEP transaction");
		goto out;
	}
	if (db_col_blob(st, 0, &h, &hl) != 0 || hl != 32 ||
	    db_col_fixed(st, 1, out->request_id,
			 sizeof(out->request_id)) != 0 ||
	    db_col_fixed(st, 2, out->serial, sizeof(out->serial)) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_row",
			     "a SCEP transaction could not be read");
		goto out;
	}
	memcpy(out->csr_hash, h, 32);
	out->created_at = sqlite3_column_int64(st, 3);
	rc = 0;
out:
	free(h);
	db_stmt_done(st);
	return rc;
}

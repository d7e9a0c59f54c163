/*
 * db/crls.c - the CRL table: each CRL the CA issued, numbered upwards
 * (RFC 5280 5.2.3), and the latest one.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

static const char *const crl_sql[S__COUNT] = {
	[S_CRL_LAST] = "SELECT COALESCE(MAX(number), 0) FROM crl",
	/* RFC 5280 5.2.3: monotonically increasing, checked in the same
	 * statement so that two writers cannot both pass a separate check. */
	[S_CRL_INSERT] =
	"INSERT INTO crl (number, this_update, next_update, der, key_idx, "
	"delta_base) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",   /* number checked
							  * first, same tx */
	/* The complete CRLs (delta_base 0), and the deltas (schema 007). */
	[S_CRL_LATEST] =
	"SELECT number, this_update, next_update, der, delta_base FROM crl "
	"WHERE key_idx = ?1 AND delta_base = 0 ORDER BY number DESC LIMIT 1",
	[S_CRL_LATEST_INFO] =
	"SELECT number, this_update, next_update, NULL, delta_base FROM crl "
	"WHERE key_idx = ?1 AND delta_base = 0 ORDER BY number DESC LIMIT 1",
	[S_CRL_LATEST_DELTA] =
	"SELECT number, this_update, next_update, der, delta_base FROM crl "
	"WHERE key_idx = ?1 AND delta_base > 0 ORDER BY number DESC LIMIT 1",
	[S_CRL_LATEST_DELTA_INFO] =
	"SELECT number, this_update, next_update, NULL, delta_base FROM crl "
	"WHERE key_idx = ?1 AND delta_base > 0 ORDER BY number DESC LIMIT 1",
	[S_CRL_DELTA_GET] = "SELECT hours FROM crl_delta WHERE id = 1",
	[S_CRL_DELTA_SET] =
	"INSERT OR REPLACE INTO crl_delta (id, hours) VALUES (1, ?1)",
	[S_CRL_DELTA_OFF] = "DELETE FROM crl_delta",
};

int
db_crl_last_number(struct db *db, int64_t *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || out == NULL)
		return db_bad_arg(err);
	*out = 0;
	if ((st = db_stmt(db, S_CRL_LAST, crl_sql, err)) == NULL)
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

/* Write DATA into the zero-filled blob TABLE.COLUMN of row ROWID (inserted
 * by the caller in its open transaction). */
static int
blob_fill(struct db *db, const char *table, const char *column,
	  sqlite3_int64 rowid, const unsigned char *data, size_t len,
	  struct mica_err *err)
{
	sqlite3_blob *blob = NULL;
	size_t off = 0, n;
	int rc;

	rc = sqlite3_blob_open(db->h, "main", table, column, rowid, 1, &blob);
	while (rc == SQLITE_OK && off < len) {
		n = len - off > (1u << 20) ? (1u << 20) : len - off;
		rc = sqlite3_blob_write(blob, data + off, (int)n, (int)off);
		off += n;
	}
	if (rc != SQLITE_OK) {
		sqlite3_blob_close(blob);
		return db_fail(db, rc, NULL, NULL, err);
	}
	if ((rc = sqlite3_blob_close(blob)) != SQLITE_OK)
		return db_fail(db, rc, NULL, NULL, err);
	return 0;
}

int
db_crl_insert(struct db *db, const struct db_crl *crl, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t last = 0;
	int rc = -1, b = SQLITE_OK, own = 0, in_sp = 0;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || crl == NULL || crl->der == NULL || crl->der_len == 0)
		return db_bad_arg(err);
	if (crl->key_idx < 0 || crl->key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);
	if (crl->number < 1 || crl->next_update <= crl->this_update ||
	    crl->delta_base < 0 || crl->delta_base >= crl->number)
		return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
				    "a CRL needs a positive number and "
				    "nextUpdate after thisUpdate");
	/* The row and its bytes land together or not at all, and the number
	 * is checked inside the same transaction. (INSERT ... SELECT ... WHERE
	 * would do it in one statement, but makes SQLite copy the blob.) */
	if (db_sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	if (db_crl_last_number(db, &last, err) != 0)
		goto out;
	if (crl->number <= last) {
		mica_err_set(err, MICA_E_CONFLICT, "crl_number_not_increasing",
			     "the CRL number is not greater than the last one");
		goto out;
	}
	if ((st = db_stmt(db, S_CRL_INSERT, crl_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, crl->number, &b);
	db_bind_i64(st, 2, crl->this_update, &b);
	db_bind_i64(st, 3, crl->next_update, &b);
	db_bind_i64(st, 5, crl->key_idx, &b);
	db_bind_i64(st, 6, crl->delta_base, &b);
	/* Insert a zero-filled blob of the right size, then write the DER
	 * into it in place: binding the bytes themselves would make SQLite
	 * copy a CRL of tens of megabytes twice more while building the row. */
	if (b == SQLITE_OK)
		b = sqlite3_bind_zeroblob64(st, 4, crl->der_len);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "crl_number_not_increasing",
		      "the CRL number is not greater than the last one", err) != 0)
		goto out;
	db_stmt_done(st);
	st = NULL;
	if (blob_fill(db, "crl", "der", crl->number, crl->der, crl->der_len, err) != 0)
		goto out;
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

/* The latest complete CRL of KEY_IDX, or (DELTA) its latest delta. */
static int
latest(struct db *db, int key_idx, int with_der, int delta,
       struct db_crl *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r, b = SQLITE_OK;
	enum db_stmt_id id = delta ?
		(with_der ? S_CRL_LATEST_DELTA : S_CRL_LATEST_DELTA_INFO) :
		(with_der ? S_CRL_LATEST : S_CRL_LATEST_INFO);

	if (db == NULL || out == NULL || key_idx < 0 || key_idx >= DB_KEYS_MAX)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, id, crl_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, key_idx, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	out->key_idx = key_idx;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "crl_not_found",
			     delta ? "no delta CRL has been issued yet" :
			     "no CRL has been issued yet");
		goto out;
	}
	out->number = sqlite3_column_int64(st, 0);
	out->this_update = sqlite3_column_int64(st, 1);
	out->next_update = sqlite3_column_int64(st, 2);
	out->delta_base = sqlite3_column_int64(st, 4);
	if (with_der && db_col_blob(st, 3, &out->der, &out->der_len) != 0) {
		db_oom(err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_crl_latest_key(struct db *db, int key_idx, int with_der,
		  struct db_crl *out, struct mica_err *err)
{
	return latest(db, key_idx, with_der, 0, out, err);
}

int
db_crl_latest_delta(struct db *db, int key_idx, int with_der,
		    struct db_crl *out, struct mica_err *err)
{
	return latest(db, key_idx, with_der, 1, out, err);
}

int
db_crl_delta_hours(struct db *db, int *hours, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || hours == NULL)
		return db_bad_arg(err);
	*hours = 0;
	if ((st = db_stmt(db, S_CRL_DELTA_GET, crl_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1)
		*hours = sqlite3_column_int(st, 0);
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_crl_delta_hours_set(struct db *db, int hours, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || hours < 0 || hours > 168)
		return db_bad_arg(err);
	if ((st = db_stmt(db, hours > 0 ? S_CRL_DELTA_SET : S_CRL_DELTA_OFF,
			  crl_sql, err)) == NULL)
		goto out;
	if (hours > 0)
		db_bind_i64(st, 1, hours, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_crl_latest(struct db *db, struct db_crl *out, struct mica_err *err)
{
	return db_crl_latest_key(db, 0, 1, out, err);
}

int
db_crl_latest_info(struct db *db, struct db_crl *out, struct mica_err *err)
{
	return db_crl_latest_key(db, 0, 0, out, err);
}

void
db_crl_free(struct db_crl *crl)
{
	if (crl == NULL)
		return;
	free(crl->der);
	memset(crl, 0, sizeof(*crl));
}

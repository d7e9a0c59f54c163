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
	[S_SCEP_TX_FORGET_ISSUING] =
	"DELETE FROM scep_tx WHERE serial IN "
	"(SELECT serial FROM certificate WHERE status = 0)",
	[S_SCEP_RA_GET] =
	"SELECT der, not_after FROM scep_ra WHERE serial = ?1",
	[S_SCEP_RA_LATEST] =
	"SELECT der, not_after FROM scep_ra WHERE not_after > ?1 "
	"ORDER BY not_after DESC LIMIT 1",
	[S_SCEP_KEY_GET] =
	"SELECT key_salt, key_iter, key_nonce, key_ct FROM scep_ra_key "
	"WHERE id = 1",
	[S_SCEP_KEY_SET] =
	"INSERT OR REPLACE INTO scep_ra_key (id, key_salt, key_iter, "
	"key_nonce, key_ct, created_at) VALUES (1, ?1, ?2, ?3, ?4, ?5)",
	[S_SCEP_TX_GET] =
	"SELECT csr_hash, request_id, serial, created_at FROM scep_tx "
	"WHERE tid = ?1 AND signer = ?2",
	[S_SCEP_TX_BY_CSR] =
	"SELECT 1 FROM scep_tx WHERE csr_hash = ?1 LIMIT 1",
	/* A row iff DB_SCEP_TX_PER_CSR (8) or more transactions have it. */
	[S_SCEP_TX_CSR_FULL] =
	"SELECT 1 FROM scep_tx WHERE csr_hash = ?1 LIMIT 1 OFFSET 7",
	[S_SCEP_TX_OF_CSR] =
	"SELECT csr_hash, request_id, serial, created_at FROM scep_tx "
	"WHERE csr_hash = ?1 ORDER BY created_at LIMIT 1",
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

/* One transaction (TID of SIGNER, or with TID NULL the first recorded
 * with the CSR whose SHA-256 is SIGNER) into OUT. */
static int
tx_read(struct db *db, const char *tid, const unsigned char signer[32],
	struct db_scep_tx *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	unsigned char *h = NULL;
	size_t hl = 0;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL || (tid != NULL && !tid_ok(tid)) ||
	    signer == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, tid != NULL ? S_SCEP_TX_GET : S_SCEP_TX_OF_CSR,
			  scep_sql, err)) == NULL)
		goto out;
	if (tid != NULL) {
		db_bind_text(st, 1, tid, &b);
		db_bind_blob(st, 2, signer, 32, &b);
	} else {
		db_bind_blob(st, 1, signer, 32, &b);
	}
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

int
db_scep_tx_get(struct db *db, const char *tid, const unsigned char signer[32],
	       struct db_scep_tx *out, struct mica_err *err)
{
	if (tid == NULL)
		return db_bad_arg(err);
	return tx_read(db, tid, signer, out, err);
}

int
db_scep_tx_of_csr(struct db *db, const unsigned char csr_hash[32],
		  struct db_scep_tx *out, struct mica_err *err)
{
	return tx_read(db, NULL, csr_hash, out, err);
}

int
db_scep_tx_seen(struct db *db, const unsigned char csr_hash[32], int *seen,
		struct mica_err *err)
{
	return db_hash_listed(db, S_SCEP_TX_BY_CSR, scep_sql, csr_hash, seen, err);
}

int
db_scep_tx_csr_full(struct db *db, const unsigned char csr_hash[32],
		    int *full, struct mica_err *err)
{
	return db_hash_listed(db, S_SCEP_TX_CSR_FULL, scep_sql, csr_hash, full,
			      err);
}

/* db_scep_ra_latest (SERIAL NULL) and db_scep_ra_get. */
static int
ra_get(struct db *db, const char *serial, int64_t now, unsigned char **der,
       size_t *len, int64_t *not_after, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || der == NULL || len == NULL || not_after == NULL)
		return db_bad_arg(err);
	*der = NULL;
	*len = 0;
	if (serial != NULL && !db_serial_ok(serial))
		return db_bad_serial(err);
	if ((st = db_stmt(db, serial != NULL ? S_SCEP_RA_GET : S_SCEP_RA_LATEST,
			  scep_sql, err)) == NULL)
		goto out;
	if (serial != NULL)
		db_bind_text(st, 1, serial, &b);
	else
		db_bind_i64(st, 1, now, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "not_found",
			     "no RA certificate");
		goto out;
	}
	if (db_col_blob(st, 0, der, len) != 0) {
		db_oom(err);
		goto out;
	}
	*not_after = sqlite3_column_int64(st, 1);
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_scep_ra_latest(struct db *db, int64_t now, unsigned char **der,
		  size_t *len, int64_t *not_after, struct mica_err *err)
{
	return ra_get(db, NULL, now, der, len, not_after, err);
}

int
db_scep_ra_get(struct db *db, const char *serial, unsigned char **der,
	       size_t *len, int64_t *not_after, struct mica_err *err)
{
	return ra_get(db, serial, 0, der, len, not_after, err);
}

void
db_scep_key_free(struct db_scep_key *k)
{
	if (k == NULL)
		return;
	free(k->ct);
	memset(k, 0, sizeof(*k));
}

int
db_scep_key_get(struct db *db, struct db_scep_key *out, int *has,
		struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	unsigned char *salt = NULL, *nonce = NULL;
	size_t salt_len = 0, nonce_len = 0;
	int rc = -1, r;

	if (db == NULL || out == NULL || has == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	*has = 0;
	if ((st = db_stmt(db, S_SCEP_KEY_GET, scep_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1) {
		if (db_col_blob(st, 0, &salt, &salt_len) != 0 ||
		    db_col_blob(st, 2, &nonce, &nonce_len) != 0 ||
		    db_col_blob(st, 3, &out->ct, &out->ct_len) != 0 ||
		    salt_len != sizeof(out->salt) ||
		    nonce_len != sizeof(out->nonce)) {
			mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				     "the sealed RA key record is damaged");
			goto out;
		}
		memcpy(out->salt, salt, sizeof(out->salt));
		memcpy(out->nonce, nonce, sizeof(out->nonce));
		out->iter = sqlite3_column_int64(st, 1);
		*has = 1;
	}
	rc = 0;
out:
	free(salt);
	free(nonce);
	db_stmt_done(st);
	if (rc != 0)
		db_scep_key_free(out);
	return rc;
}

int
db_scep_key_set(struct db *db, const struct db_scep_key *k, int64_t now,
		struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || k == NULL || k->ct == NULL || k->ct_len <= 16 ||
	    k->iter <= 0)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_SCEP_KEY_SET, scep_sql, err)) == NULL)
		goto out;
	db_bind_blob(st, 1, k->salt, sizeof(k->salt), &b);
	db_bind_i64(st, 2, k->iter, &b);
	db_bind_blob(st, 3, k->nonce, sizeof(k->nonce), &b);
	db_bind_blob(st, 4, k->ct, k->ct_len, &b);
	db_bind_i64(st, 5, now, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_scep_tx_forget_issuing(struct db *db, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (db == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_SCEP_TX_FORGET_ISSUING, scep_sql, err)) == NULL ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/*
 * db/keys.c - the ca_key table: the CA's keys beside the current one (which
 * lives in the CA row): keys retired by a rollover, which still sign the
 * CRL of what they issued, and a renewal's new key awaiting its
 * certificate (schema/005_hierarchy.sql).
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

static const char *const key_sql[S__COUNT] = {
	[S_KEY_INSERT] =
	"INSERT INTO ca_key (idx, role, key_type, key_salt, key_iter, "
	"key_nonce, key_ct, cert_der, chain_der, created_at) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[S_KEY_DELETE] = "DELETE FROM ca_key WHERE idx = ?1",
	/* Same parameter numbers as S_KEY_INSERT. */
	[S_KEY_UPDATE] =
	"UPDATE ca_key SET key_salt = ?4, key_iter = ?5, key_nonce = ?6, "
	"key_ct = ?7 WHERE idx = ?1",
	[S_KEY_LIST] =
	"SELECT idx, role, key_type, key_salt, key_iter, key_nonce, key_ct, "
	"cert_der, chain_der, created_at FROM ca_key ORDER BY idx",
};

static int
sealed_ok(const struct db_ca_key *k)
{
	return k->key_salt != NULL && k->key_nonce != NULL &&
	       k->key_ct != NULL && k->key_ct_len > 0 && k->key_iter > 0;
}

static void
bind_sealed(sqlite3_stmt *st, const struct db_ca_key *k, int *b)
{
	db_bind_i64(st, 1, k->idx, b);
	db_bind_blob(st, 4, k->key_salt, k->key_salt_len, b);
	db_bind_i64(st, 5, k->key_iter, b);
	db_bind_blob(st, 6, k->key_nonce, k->key_nonce_len, b);
	db_bind_blob(st, 7, k->key_ct, k->key_ct_len, b);
}

int
db_ca_key_insert(struct db *db, const struct db_ca_key *k,
		 struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || k == NULL)
		return db_bad_arg(err);
	if (k->idx < 0 || k->idx >= DB_KEYS_MAX ||
	    (k->role != DB_KEY_RETIRED && k->role != DB_KEY_PENDING) ||
	    !db_id_ok(k->key_type, DB_TEXT_MAX) || !sealed_ok(k) ||
	    (k->role == DB_KEY_RETIRED && (k->cert_der == NULL ||
					   k->cert_len == 0)))
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "incomplete key record");
	if ((st = db_stmt(db, S_KEY_INSERT, key_sql, err)) == NULL)
		goto out;
	bind_sealed(st, k, &b);
	db_bind_i64(st, 2, k->role, &b);
	db_bind_text(st, 3, k->key_type, &b);
	db_bind_blob(st, 8, k->cert_der, k->cert_len, &b);
	db_bind_blob(st, 9, k->chain_der, k->chain_len, &b);
	db_bind_i64(st, 10, k->created_at, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "key_exists",
			 "the key index is taken, or a renewal is pending "
			 "already", err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ca_key_delete(struct db *db, int idx, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_KEY_DELETE, key_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, idx, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		mica_err_set(err, MICA_E_NOTFOUND, "key_not_found",
			     "the CA has no key with this index");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ca_key_update_sealed(struct db *db, const struct db_ca_key *k,
			struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || k == NULL)
		return db_bad_arg(err);
	if (!sealed_ok(k))
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "incomplete key record");
	if ((st = db_stmt(db, S_KEY_UPDATE, key_sql, err)) == NULL)
		goto out;
	bind_sealed(st, k, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		mica_err_set(err, MICA_E_NOTFOUND, "key_not_found",
			     "the CA has no key with this index");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* One row of the list (a db_row_fn). */
static int
key_read(sqlite3_stmt *st, void *row, struct mica_err *err)
{
	struct db_ca_key *k = row;

	k->idx = (int)sqlite3_column_int64(st, 0);
	k->role = (int)sqlite3_column_int64(st, 1);
	k->key_iter = sqlite3_column_int64(st, 4);
	k->created_at = sqlite3_column_int64(st, 9);
	if (db_col_str(st, 2, &k->key_type) != 0 ||
	    db_col_blob(st, 3, &k->key_salt, &k->key_salt_len) != 0 ||
	    db_col_blob(st, 5, &k->key_nonce, &k->key_nonce_len) != 0 ||
	    db_col_blob(st, 6, &k->key_ct, &k->key_ct_len) != 0 ||
	    db_col_blob(st, 7, &k->cert_der, &k->cert_len) != 0 ||
	    db_col_blob(st, 8, &k->chain_der, &k->chain_len) != 0) {
		db_ca_key_free(k);
		return db_oom(err);
	}
	return 0;
}

int
db_ca_key_list(struct db *db, struct db_ca_key **out, size_t *n,
	       struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_ca_key *a = NULL;
	size_t cnt = 0;
	int rc = -1;

	if (db == NULL || out == NULL || n == NULL)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	if ((st = db_stmt(db, S_KEY_LIST, key_sql, err)) == NULL)
		goto out;
	if (db_rows(db, st, sizeof(*a), 0, key_read, (void **)&a, &cnt, NULL, err) != 0)
		goto out;
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	db_stmt_done(st);
	db_ca_key_array_free(a, cnt);
	return rc;
}

void
db_ca_key_free(struct db_ca_key *k)
{
	if (k == NULL)
		return;
	free(k->key_type);
	free(k->key_salt);
	free(k->key_nonce);
	/* Sealed, but no reason to leave it lying in freed memory. */
	if (k->key_ct != NULL)
		explicit_bzero(k->key_ct, k->key_ct_len);
	free(k->key_ct);
	free(k->cert_der);
	free(k->chain_der);
	memset(k, 0, sizeof(*k));
}

void
db_ca_key_array_free(struct db_ca_key *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_ca_key_free(&a[i]);
	free(a);
}

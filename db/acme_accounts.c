/*
 * db/acme_accounts.c - the ACME account table and the External Account
 * Binding credentials that tie accounts to enrollment tokens.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

#define ACCT_COLS \
	"id, thumbprint, jwk, status, contact, token_id, client, created_at, " \
	"deactivated_at"
#define ACCT_LIST_MAX 10001   /* 10000, and one to tell there are more */

static const char *const acct_sql[S__COUNT] = {
	[S_ACME_ACCT_INSERT] =
	"INSERT INTO acme_account (" ACCT_COLS ") "
	"VALUES (?1, ?2, ?3, 'valid', ?4, ?5, ?6, ?7, 0)",
	[S_ACME_ACCT_GET] = "SELECT " ACCT_COLS " FROM acme_account WHERE id = ?1",
	[S_ACME_ACCT_BY_KEY] =
	"SELECT " ACCT_COLS " FROM acme_account WHERE thumbprint = ?1",
	[S_ACME_ACCT_CONTACT] =
	"UPDATE acme_account SET contact = ?2 WHERE id = ?1 AND status = 'valid'",
	[S_ACME_ACCT_DEACTIVATE] =
	"UPDATE acme_account SET status = 'deactivated', deactivated_at = ?2 "
	"WHERE id = ?1 AND status = 'valid'",
	[S_ACME_ACCT_SET_KEY] =
	"UPDATE acme_account SET thumbprint = ?3, jwk = ?4 "
	"WHERE id = ?1 AND thumbprint = ?2 AND status = 'valid'",
	/* Newest first, before the row ?1: the table itself, by rowid. */
	[S_ACME_ACCT_LIST] =
	"SELECT " ACCT_COLS ", rowid FROM acme_account WHERE rowid < ?1 "
	"ORDER BY rowid DESC LIMIT ?2",
	[S_ACME_ACCT_EXISTS] = "SELECT 1 FROM acme_account WHERE id = ?1",
	[S_ACME_EAB_INSERT] =
	"INSERT INTO acme_eab (token_id, hmac_key) VALUES (?1, ?2)",
	[S_ACME_EAB_GET] =
	"SELECT token_id, hmac_key, account_id, bound_at FROM acme_eab "
	"WHERE token_id = ?1",
	/* The key goes in the same statement that binds: once an account
	 * holds the credential, nothing is left to steal. */
	[S_ACME_EAB_BIND] =
	"UPDATE acme_eab SET account_id = ?2, bound_at = ?3, hmac_key = NULL "
	"WHERE token_id = ?1 AND account_id IS NULL",
};

static int
corrupt(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
			    "a stored ACME account record is malformed");
}

static int
acct_read(sqlite3_stmt *st, void *row, struct mica_err *err)
{
	struct db_acme_account *a = row;
	const void *h;

	memset(a, 0, sizeof(*a));
	h = sqlite3_column_blob(st, 1);
	if (db_col_fixed(st, 0, a->id, sizeof(a->id)) != 0 || h == NULL ||
	    sqlite3_column_bytes(st, 1) != 32 ||
	    db_col_fixed(st, 3, a->status, sizeof(a->status)) != 0 ||
	    db_col_fixed(st, 5, a->token_id, sizeof(a->token_id)) != 0)
		return corrupt(err);
	memcpy(a->thumbprint, h, 32);
	if (db_col_str(st, 2, &a->jwk) != 0 || db_col_str(st, 4, &a->contact) != 0 ||
	    db_col_str(st, 6, &a->client) != 0) {
		db_acme_account_free(a);
		return db_oom(err);
	}
	if (a->jwk == NULL) {
		db_acme_account_free(a);
		return corrupt(err);
	}
	a->created_at = sqlite3_column_int64(st, 7);
	a->deactivated_at = sqlite3_column_int64(st, 8);
	/* Listings read the rowid after the columns. */
	if (sqlite3_column_count(st) > 9)
		a->rowid = sqlite3_column_int64(st, 9);
	return 0;
}

void
db_acme_account_free(struct db_acme_account *a)
{
	if (a == NULL)
		return;
	free(a->jwk);
	free(a->contact);
	free(a->client);
	memset(a, 0, sizeof(*a));
}

void
db_acme_account_array_free(struct db_acme_account *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_acme_account_free(&a[i]);
	free(a);
}

static int
acct_not_found(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_NOTFOUND, "account_not_found",
			    "no such ACME account");
}

int
db_acme_account_insert(struct db *db, const struct db_acme_account *a,
		       struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || a == NULL || a->jwk == NULL || !db_id_ok(a->id, sizeof(a->id)))
		return db_bad_arg(err);
	if (!db_text_ok(a->jwk) || !db_text_ok(a->contact) || !db_text_ok(a->client))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "account record too large");
	if ((st = db_stmt(db, S_ACME_ACCT_INSERT, acct_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, a->id, &b);
	db_bind_blob(st, 2, a->thumbprint, 32, &b);
	db_bind_text(st, 3, a->jwk, &b);
	db_bind_text(st, 4, a->contact, &b);
	db_bind_text(st, 5, a->token_id[0] != '\0' ? a->token_id : NULL, &b);
	db_bind_text(st, 6, a->client != NULL ? a->client : "", &b);
	db_bind_i64(st, 7, a->created_at, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "key_in_use",
			 "another ACME account has this key", err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* One account by the statement ID with its one parameter bound by BIND. */
static int
acct_get_by(struct db *db, enum db_stmt_id id, const char *text,
	    const unsigned char *blob, struct db_acme_account *out,
	    struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, id, acct_sql, err)) == NULL)
		goto out;
	if (text != NULL)
		db_bind_text(st, 1, text, &b);
	else
		db_bind_blob(st, 1, blob, 32, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		acct_not_found(err);
		goto out;
	}
	rc = acct_read(st, out, err);
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_account_get(struct db *db, const char *id, struct db_acme_account *out,
		    struct mica_err *err)
{
	if (db == NULL || id == NULL || out == NULL)
		return db_bad_arg(err);
	return acct_get_by(db, S_ACME_ACCT_GET, id, NULL, out, err);
}

int
db_acme_account_by_key(struct db *db, const unsigned char thumbprint[32],
		       struct db_acme_account *out, struct mica_err *err)
{
	if (db == NULL || thumbprint == NULL || out == NULL)
		return db_bad_arg(err);
	return acct_get_by(db, S_ACME_ACCT_BY_KEY, NULL, thumbprint, out, err);
}

/* After a conditional UPDATE changed nothing: not found, or not in the
 * expected state. */
static int
acct_no_change(struct db *db, const char *id, struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK, r;

	if ((st = db_stmt(db, S_ACME_ACCT_EXISTS, acct_sql, err)) == NULL)
		return -1;
	db_bind_text(st, 1, id, &b);
	r = db_binds_ok(db, b, err) != 0 ? -1 : db_step_row(db, st, err);
	db_stmt_done(st);
	if (r < 0)
		return -1;
	if (r == 0)
		return acct_not_found(err);
	return mica_err_set(err, MICA_E_CONFLICT, "acme_state",
			    "the ACME account is not valid");
}

int
db_acme_account_set_contact(struct db *db, const char *id, const char *contact,
			    struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || id == NULL)
		return db_bad_arg(err);
	if (!db_text_ok(contact))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large", "contact too long");
	if ((st = db_stmt(db, S_ACME_ACCT_CONTACT, acct_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	db_bind_text(st, 2, contact, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		db_stmt_done(st);
		st = NULL;
		acct_no_change(db, id, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_account_deactivate(struct db *db, const char *id, int64_t at,
			   struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || id == NULL || at <= 0)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_ACME_ACCT_DEACTIVATE, acct_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	db_bind_i64(st, 2, at, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		db_stmt_done(st);
		st = NULL;
		acct_no_change(db, id, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_account_set_key(struct db *db, const char *id,
			const unsigned char old_thumb[32],
			const unsigned char new_thumb[32], const char *jwk,
			struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || id == NULL || old_thumb == NULL || new_thumb == NULL ||
	    jwk == NULL)
		return db_bad_arg(err);
	if (!db_text_ok(jwk))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large", "key too large");
	if ((st = db_stmt(db, S_ACME_ACCT_SET_KEY, acct_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, id, &b);
	db_bind_blob(st, 2, old_thumb, 32, &b);
	db_bind_blob(st, 3, new_thumb, 32, &b);
	db_bind_text(st, 4, jwk, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "key_in_use", "another ACME account has this key",
			 err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		db_stmt_done(st);
		st = NULL;
		acct_no_change(db, id, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_account_list(struct db *db, int64_t before_row, int limit,
		     struct db_acme_account **out, size_t *n,
		     int64_t *next_row, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_acme_account *a = NULL;
	size_t cnt = 0;
	int rc = -1, b = SQLITE_OK, more = 0;

	if (db == NULL || out == NULL || n == NULL || before_row < 0)
		return db_bad_arg(err);
	*out = NULL;
	*n = 0;
	if (next_row != NULL)
		*next_row = 0;
	limit = db_clamp_limit(limit, ACCT_LIST_MAX);
	if ((st = db_stmt(db, S_ACME_ACCT_LIST, acct_sql, err)) == NULL)
		goto out;
	db_bind_i64(st, 1, before_row > 0 ? before_row : INT64_MAX, &b);
	/* One row more than the page: whether another page follows. */
	db_bind_i64(st, 2, (int64_t)limit + 1, &b);
	if (db_binds_ok(db, b, err) != 0)
		goto out;
	if (db_rows(db, st, sizeof(*a), (size_t)limit, acct_read, (void **)&a,
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
	db_acme_account_array_free(a, cnt);
	return rc;
}

/* ---------------------------------------------------------------- EAB -- */

int
db_acme_eab_insert(struct db *db, const char *token_id,
		   const unsigned char key[32], struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || key == NULL || !db_id_ok(token_id, 40))
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_ACME_EAB_INSERT, acct_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, token_id, &b);
	db_bind_blob(st, 2, key, 32, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "eab_exists",
			 "this token already has an EAB credential", err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_eab_get(struct db *db, const char *token_id, struct db_acme_eab *out,
		struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;
	const void *k;

	if (db == NULL || token_id == NULL || out == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, S_ACME_EAB_GET, acct_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, token_id, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "eab_not_found",
			     "no such EAB credential");
		goto out;
	}
	k = sqlite3_column_blob(st, 1);
	if (db_col_fixed(st, 0, out->token_id, sizeof(out->token_id)) != 0 ||
	    db_col_fixed(st, 2, out->account_id, sizeof(out->account_id)) != 0 ||
	    (k != NULL && sqlite3_column_bytes(st, 1) != 32)) {
		corrupt(err);
		goto out;
	}
	if (k != NULL) {
		memcpy(out->key, k, 32);
		out->has_key = 1;
	}
	out->bound_at = sqlite3_column_int64(st, 3);
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_acme_eab_bind(struct db *db, const char *token_id, const char *account_id,
		 int64_t at, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || token_id == NULL || account_id == NULL || at <= 0)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_ACME_EAB_BIND, acct_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, token_id, &b);
	db_bind_text(st, 2, account_id, &b);
	db_bind_i64(st, 3, at, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		mica_err_set(err, MICA_E_CONFLICT, "eab_used",
			     "this EAB credential is already bound to an account");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

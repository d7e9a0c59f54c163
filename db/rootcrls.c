/*
 * db/rootcrls.c - the root_crl table: CRLs of the CAs above this one (the
 * offline root's ARL), imported after ca/ checked their signature, served
 * at /root.crl. Each import must be newer than the last of its issuer key.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

#define SKI_MAX 64
/* A root's CRL lists few entries; this bounds a hostile file, not a CRL. */
#define ROOT_CRL_MAX (16 * 1024 * 1024)

static const char *const root_crl_sql[S__COUNT] = {
	[S_ROOT_CRL_LAST] =
	"SELECT number, this_update FROM root_crl WHERE issuer_ski = ?1 "
	"ORDER BY number DESC, this_update DESC LIMIT 1",
	[S_ROOT_CRL_INSERT] =
	"INSERT INTO root_crl (issuer_ski, number, this_update, next_update, "
	"der, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_ROOT_CRL_LATEST] =
	"SELECT number, this_update, next_update, der, imported_at "
	"FROM root_crl WHERE issuer_ski = ?1 "
	"ORDER BY number DESC, this_update DESC LIMIT 1 OFFSET ?2",
};

static int
ski_ok(const unsigned char *ski, size_t len)
{
	return ski != NULL && len > 0 && len <= SKI_MAX;
}

int
db_root_crl_insert(struct db *db, const struct db_root_crl *c,
		   struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r, own = 0, in_sp = 0;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || c == NULL)
		return db_bad_arg(err);
	if (!ski_ok(c->issuer_ski, c->issuer_ski_len) || c->number < 0 ||
	    c->der == NULL || c->der_len == 0 || c->der_len > ROOT_CRL_MAX ||
	    c->next_update <= c->this_update)
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "incomplete CRL record");
	/* The check and the insert in one savepoint: two imports racing
	 * cannot both pass. */
	if (db_sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	if ((st = db_stmt(db, S_ROOT_CRL_LAST, root_crl_sql, err)) == NULL)
		goto out;
	db_bind_blob(st, 1, c->issuer_ski, c->issuer_ski_len, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1) {
		int64_t num = sqlite3_column_int64(st, 0);
		int64_t tu = sqlite3_column_int64(st, 1);

		/* RFC 5280 5.2.3: numbers increase; a CRL without one is
		 * newer only by its thisUpdate. */
		if (c->number == 0 && num > 0) {
			mica_err_set(err, MICA_E_CONFLICT, "crl_not_newer",
				     "this CRL has no CRL number, the one "
				     "imported already has number %lld: it "
				     "cannot be told newer (RFC 5280 5.2.3)",
				     (long long)num);
			goto out;
		}
		if (c->number < num ||
		    (c->number == num && (num != 0 || c->this_update <= tu))) {
			if (num == 0)
				mica_err_set(err, MICA_E_CONFLICT,
					     "crl_not_newer", "this CRL is not "
					     "newer than the one imported "
					     "already (neither has a number; "
					     "its thisUpdate is not later)");
			else
				mica_err_set(err, MICA_E_CONFLICT,
					     "crl_not_newer", "this CRL (number "
					     "%lld) is not newer than the one "
					     "imported already (number %lld)",
					     (long long)c->number,
					     (long long)num);
			goto out;
		}
	}
	db_stmt_done(st);
	if ((st = db_stmt(db, S_ROOT_CRL_INSERT, root_crl_sql, err)) == NULL)
		goto out;
	b = SQLITE_OK;
	db_bind_blob(st, 1, c->issuer_ski, c->issuer_ski_len, &b);
	db_bind_i64(st, 2, c->number, &b);
	db_bind_i64(st, 3, c->this_update, &b);
	db_bind_i64(st, 4, c->next_update, &b);
	db_bind_blob(st, 5, c->der, c->der_len, &b);
	db_bind_i64(st, 6, c->imported_at, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
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
db_root_crl_latest(struct db *db, const unsigned char *ski, size_t ski_len,
		   struct db_root_crl *out, struct mica_err *err)
{
	return db_root_crl_nth(db, ski, ski_len, 0, out, err);
}

int
db_root_crl_nth(struct db *db, const unsigned char *ski, size_t ski_len,
		int64_t nth, struct db_root_crl *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL || !ski_ok(ski, ski_len) || nth < 0)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, S_ROOT_CRL_LATEST, root_crl_sql, err)) == NULL)
		goto out;
	db_bind_blob(st, 1, ski, ski_len, &b);
	db_bind_i64(st, 2, nth, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "no_root_crl",
			     "no CRL of the root has been imported "
			     "('mica import-crl')");
		goto out;
	}
	out->number = sqlite3_column_int64(st, 0);
	out->this_update = sqlite3_column_int64(st, 1);
	out->next_update = sqlite3_column_int64(st, 2);
	out->imported_at = sqlite3_column_int64(st, 4);
	if ((out->issuer_ski = malloc(ski_len)) == NULL ||
	    db_col_blob(st, 3, &out->der, &out->der_len) != 0) {
		db_oom(err);
		goto out;
	}
	memcpy(out->issuer_ski, ski, ski_len);
	out->issuer_ski_len = ski_len;
	rc = 0;
out:
	db_stmt_done(st);
	if (rc != 0)
		db_root_crl_free(out);
	return rc;
}

int
db_root_crl_last(struct db *db, const unsigned char *ski, size_t ski_len,
		 int64_t *number, int64_t *this_update, int *found,
		 struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	*found = 0;
	*number = *this_update = 0;
	if (db == NULL || !ski_ok(ski, ski_len))
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_ROOT_CRL_LAST, root_crl_sql, err)) == NULL)
		goto out;
	db_bind_blob(st, 1, ski, ski_len, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1) {
		*number = sqlite3_column_int64(st, 0);
		*this_update = sqlite3_column_int64(st, 1);
		*found = 1;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

void
db_root_crl_free(struct db_root_crl *c)
{
	if (c == NULL)
		return;
	free(c->issuer_ski);
	free(c->der);
	memset(c, 0, sizeof(*c));
}

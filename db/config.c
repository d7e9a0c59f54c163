/*
 * db/config.c - the CA's configuration in the store: the one CA row (its
 * certificate and sealed key), the domains names may be issued under, and
 * the validity overrides of the built-in profiles.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/fault.h"

/* Bounds: the store is not policy, but nothing unbounded goes in. */
#define DOMAIN_MAX    253        /* RFC 1035 2.3.4 */
#define KEY_MAX       128        /* profile names */

static const char *const config_sql[S__COUNT] = {
	[S_CA_INSERT] =
	"INSERT INTO ca (id, name, public_url, key_type, cert_der, key_salt, "
	"key_iter, key_nonce, key_ct, crl_days, created_at, state, key_idx, "
	"chain_der, csr_der) "
	"VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	"?14)",
	[S_CA_UPDATE_KEY] =
	/* Same parameter numbers as S_CA_INSERT: bind_sealed_key() serves both. */
	"UPDATE ca SET key_salt = ?5, key_iter = ?6, key_nonce = ?7, "
	"key_ct = ?8 WHERE id = 1",
	[S_CA_UPDATE_CURRENT] =
	/* Same parameter numbers as S_CA_INSERT. */
	"UPDATE ca SET key_type = ?3, cert_der = ?4, key_salt = ?5, "
	"key_iter = ?6, key_nonce = ?7, key_ct = ?8, state = ?11, "
	"key_idx = ?12, chain_der = ?13, csr_der = ?14 WHERE id = 1",
	[S_CA_SET_CSR] = "UPDATE ca SET csr_der = ?1 WHERE id = 1",
	[S_CA_TLS_GET] = "SELECT tls_serial FROM ca WHERE id = 1",
	[S_CA_TLS_SET] = "UPDATE ca SET tls_serial = ?1 WHERE id = 1",
	[S_CA_RESTORED] =
	"UPDATE ca SET restored_at = ?1, restored_floor = ?2, "
	"crl_floor = max(crl_floor, ?2) WHERE id = 1",
	[S_CA_CRL_FLOOR_RAISE] =
	"UPDATE ca SET crl_floor = max(crl_floor, ?1) WHERE id = 1",
	[S_CA_GET] =
	"SELECT name, public_url, key_type, cert_der, key_salt, key_iter, "
	"key_nonce, key_ct, crl_days, created_at, state, key_idx, chain_der, "
	"csr_der FROM ca WHERE id = 1",
	[S_CA_SETTINGS_GET] = "SELECT public_url, crl_days FROM ca WHERE id = 1",
	[S_CA_URL_SET] = "UPDATE ca SET public_url = ?1 WHERE id = 1",
	[S_CA_CRL_DAYS_SET] = "UPDATE ca SET crl_days = ?1 WHERE id = 1",

	[S_DOMAIN_ADD] = "INSERT INTO ca_domain (domain) VALUES (?1)",
	[S_DOMAIN_REMOVE] = "DELETE FROM ca_domain WHERE domain = ?1",
	[S_DOMAIN_LIST] = "SELECT domain FROM ca_domain ORDER BY domain",
	[S_DOMAINS_MAC_GET] = "SELECT domains_mac FROM ca WHERE id = 1",
	[S_DOMAINS_MAC_SET] = "UPDATE ca SET domains_mac = ?1 WHERE id = 1",

	[S_PROFILE_SET] =
	"INSERT INTO profile_days (profile, default_days, max_days) "
	"VALUES (?1, ?2, ?3) ON CONFLICT (profile) DO UPDATE SET "
	"default_days = excluded.default_days, max_days = excluded.max_days",
	[S_PROFILE_GET] =
	"SELECT default_days, max_days FROM profile_days WHERE profile = ?1",
};

static int
domain_ok(const char *d)
{
	size_t n;

	if (d == NULL || (n = strnlen(d, DOMAIN_MAX + 1)) == 0 || n > DOMAIN_MAX)
		return 0;
	if (d[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (d[i] >= 'A' && d[i] <= 'Z')
			return 0;
	return 1;
}

/* Does CA carry a complete sealed key (salt, iterations, nonce, ct)? */
static int
sealed_key_ok(const struct db_ca *ca)
{
	return ca->key_salt != NULL && ca->key_nonce != NULL &&
	       ca->key_ct != NULL && ca->key_ct_len > 0 && ca->key_iter > 0;
}

/* Bind the sealed key to parameters ?5..?8 of S_CA_INSERT/S_CA_UPDATE_KEY. */
static void
bind_sealed_key(sqlite3_stmt *st, const struct db_ca *ca, int *b)
{
	db_bind_blob(st, 5, ca->key_salt, ca->key_salt_len, b);
	db_bind_i64(st, 6, ca->key_iter, b);
	db_bind_blob(st, 7, ca->key_nonce, ca->key_nonce_len, b);
	db_bind_blob(st, 8, ca->key_ct, ca->key_ct_len, b);
}

/* The state, the current key and the certificates of CA agree: a
 * certificate exactly when not awaiting one, a key index in range. */
static int
current_ok(const struct db_ca *ca)
{
	if (ca->state != DB_CA_ACTIVE && ca->state != DB_CA_AWAITING &&
	    ca->state != DB_CA_ROOT_ONLY)
		return 0;
	if ((ca->state == DB_CA_AWAITING) !=
	    (ca->cert_der == NULL || ca->cert_len == 0))
		return 0;
	if (ca->state == DB_CA_AWAITING && ca->chain_der != NULL)
		return 0;
	return ca->key_idx >= 0 && ca->key_idx < DB_KEYS_MAX &&
	       db_id_ok(ca->key_type, DB_TEXT_MAX) && sealed_key_ok(ca);
}

/* Bind parameters ?3..?8 and ?11..?14 of S_CA_INSERT/S_CA_UPDATE_CURRENT. */
static void
bind_current(sqlite3_stmt *st, const struct db_ca *ca, int *b)
{
	db_bind_text(st, 3, ca->key_type, b);
	db_bind_blob(st, 4, ca->cert_der, ca->cert_len, b);
	bind_sealed_key(st, ca, b);
	db_bind_i64(st, 11, ca->state, b);
	db_bind_i64(st, 12, ca->key_idx, b);
	db_bind_blob(st, 13, ca->chain_der, ca->chain_len, b);
	db_bind_blob(st, 14, ca->csr_der, ca->csr_len, b);
}

int
db_ca_insert(struct db *db, const struct db_ca *ca, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || ca == NULL)
		return db_bad_arg(err);
	if (!db_id_ok(ca->name, DB_TEXT_MAX) || !db_text_ok(ca->public_url) ||
	    !current_ok(ca) || ca->crl_days <= 0)
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "incomplete CA record");
	if ((st = db_stmt(db, S_CA_INSERT, config_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, ca->name, &b);
	/* A CA without a public URL yet has "" (db_ca_get never returns NULL). */
	db_bind_text(st, 2, ca->public_url != NULL ? ca->public_url : "", &b);
	bind_current(st, ca, &b);
	db_bind_i64(st, 9, ca->crl_days, &b);
	db_bind_i64(st, 10, ca->created_at, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "ca_exists", "the CA is already initialised",
		      err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ca_update_key(struct db *db, const struct db_ca *ca, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || ca == NULL)
		return db_bad_arg(err);
	if (!sealed_key_ok(ca))
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "incomplete key record");
	if ((st = db_stmt(db, S_CA_UPDATE_KEY, config_sql, err)) == NULL)
		goto out;
	bind_sealed_key(st, ca, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "conflict", "conflict", err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		mica_err_set(err, MICA_E_NOTFOUND, "ca_not_found",
			     "the CA has not been initialised");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ca_update_current(struct db *db, const struct db_ca *ca,
		     struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || ca == NULL)
		return db_bad_arg(err);
	if (!current_ok(ca))
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "incomplete CA record");
	if ((st = db_stmt(db, S_CA_UPDATE_CURRENT, config_sql, err)) == NULL)
		goto out;
	bind_current(st, ca, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "conflict", "conflict", err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		mica_err_set(err, MICA_E_NOTFOUND, "ca_not_found",
			     "the CA has not been initialised");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ca_set_csr(struct db *db, const unsigned char *csr, size_t len,
	      struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || (csr != NULL && len == 0))
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_CA_SET_CSR, config_sql, err)) == NULL)
		goto out;
	db_bind_blob(st, 1, csr, len, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ca_tls_serial(struct db *db, char serial[DB_SERIAL_MAX],
		 struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || serial == NULL)
		return db_bad_arg(err);
	serial[0] = '\0';
	if ((st = db_stmt(db, S_CA_TLS_GET, config_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    (db_col_fixed(st, 0, serial, DB_SERIAL_MAX) != 0 ||
	     !db_serial_ok(serial))) {
		serial[0] = '\0';
		mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
			     "the daemon's certificate serial in the store is "
			     "malformed");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* Run the update ID of the CA row with its N parameters V[0..N). */
static int
ca_set_i64s(struct db *db, int id, const int64_t *v, int n,
	    struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, id, config_sql, err)) == NULL)
		goto out;
	for (int i = 0; i < n; i++)
		db_bind_i64(st, i + 1, v[i], &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

/* Run the one-parameter update ID of the CA row with V. */
static int
ca_set_i64(struct db *db, int id, int64_t v, struct mica_err *err)
{
	return ca_set_i64s(db, id, &v, 1, err);
}

/* The same with the text V. */
static int
ca_set_text(struct db *db, int id, const char *v, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, id, config_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, v, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ca_set_restored(struct db *db, int64_t at, int64_t floor,
		   struct mica_err *err)
{
	const int64_t v[2] = { at, floor };

	if (at <= 0 || floor < at)
		return db_bad_arg(err);
	return ca_set_i64s(db, S_CA_RESTORED, v, 2, err);
}

int
db_ca_raise_crl_floor(struct db *db, int64_t number, struct mica_err *err)
{
	return ca_set_i64(db, S_CA_CRL_FLOOR_RAISE, number, err);
}

int
db_ca_settings(struct db *db, char **public_url, int *crl_days,
	       struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;
	int64_t days;

	if (db == NULL || crl_days == NULL)
		return db_bad_arg(err);
	if (public_url != NULL)
		*public_url = NULL;
	if ((st = db_stmt(db, S_CA_SETTINGS_GET, config_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "ca_not_found",
			     "the CA has not been initialised");
		goto out;
	}
	if (public_url != NULL && db_col_str(st, 0, public_url) != 0) {
		db_oom(err);
		goto out;
	}
	days = sqlite3_column_int64(st, 1);
	*crl_days = days > INT_MAX ? INT_MAX : days < INT_MIN ? INT_MIN :
		    (int)days;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_ca_set_public_url(struct db *db, const char *url, struct mica_err *err)
{
	if (url == NULL || !db_text_ok(url))
		return db_bad_arg(err);
	return ca_set_text(db, S_CA_URL_SET, url, err);
}

int
db_ca_set_crl_days(struct db *db, int days, struct mica_err *err)
{
	/* The schema's CHECK (crl_days > 0) refuses the rest. */
	if (days <= 0)
		return db_bad_arg(err);
	return ca_set_i64(db, S_CA_CRL_DAYS_SET, days, err);
}

int
db_ca_set_tls_serial(struct db *db, const char *serial, struct mica_err *err)
{
	if (!db_serial_ok(serial))
		return db_bad_serial(err);
	return ca_set_text(db, S_CA_TLS_SET, serial, err);
}

int
db_ca_get(struct db *db, struct db_ca *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;
	int64_t days;

	if (db == NULL || out == NULL)
		return db_bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = db_stmt(db, S_CA_GET, config_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "ca_not_found",
			     "the CA has not been initialised");
		goto out;
	}
	days = sqlite3_column_int64(st, 8);
	if (db_col_str(st, 0, &out->name) != 0 ||
	    db_col_str(st, 1, &out->public_url) != 0 ||
	    db_col_str(st, 2, &out->key_type) != 0 ||
	    db_col_blob(st, 3, &out->cert_der, &out->cert_len) != 0 ||
	    db_col_blob(st, 4, &out->key_salt, &out->key_salt_len) != 0 ||
	    db_col_blob(st, 6, &out->key_nonce, &out->key_nonce_len) != 0 ||
	    db_col_blob(st, 7, &out->key_ct, &out->key_ct_len) != 0 ||
	    db_col_blob(st, 12, &out->chain_der, &out->chain_len) != 0 ||
	    db_col_blob(st, 13, &out->csr_der, &out->csr_len) != 0) {
		db_oom(err);
		goto out;
	}
	out->key_iter = sqlite3_column_int64(st, 5);
	out->crl_days = days > INT_MAX ? INT_MAX : (int)days;
	out->created_at = sqlite3_column_int64(st, 9);
	/* The schema's CHECKs bound both. */
	out->state = (int)sqlite3_column_int64(st, 10);
	out->key_idx = (int)sqlite3_column_int64(st, 11);
	rc = 0;
out:
	db_stmt_done(st);
	if (rc != 0)
		db_ca_free(out);
	return rc;
}

void
db_ca_free(struct db_ca *ca)
{
	if (ca == NULL)
		return;
	free(ca->name);
	free(ca->public_url);
	free(ca->key_type);
	free(ca->cert_der);
	free(ca->key_salt);
	free(ca->key_nonce);
	free(ca->chain_der);
	free(ca->csr_der);
	/* Sealed, but no reason to leave it lying in freed memory. */
	if (ca->key_ct != NULL)
		explicit_bzero(ca->key_ct, ca->key_ct_len);
	free(ca->key_ct);
	memset(ca, 0, sizeof(*ca));
}

int
db_domain_add(struct db *db, const char *domain, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if (!domain_ok(domain))
		return mica_err_set(err, MICA_E_BADREQ, "bad_domain",
				    "a domain is 1 to 253 lowercase characters "
				    "without a trailing dot");
	if ((st = db_stmt(db, S_DOMAIN_ADD, config_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, domain, &b);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, "domain_exists", "the domain is already allowed",
		      err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_domain_remove(struct db *db, const char *domain, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || domain == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_DOMAIN_REMOVE, config_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, domain, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		mica_err_set(err, MICA_E_NOTFOUND, "domain_not_found",
			     "the domain is not in the allowed list");
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_domain_list(struct db *db, char ***out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	char **v = NULL;
	size_t n = 0, cap = 0;
	int rc = -1, r;

	if (db == NULL || out == NULL)
		return db_bad_arg(err);
	*out = NULL;
	if ((st = db_stmt(db, S_DOMAIN_LIST, config_sql, err)) == NULL)
		goto out;
	for (;;) {
		/* Room for this entry and the terminating NULL. */
		if (db_grow((void **)&v, &cap, n + 1, sizeof(*v)) != 0) {
			db_oom(err);
			goto out;
		}
		if ((r = db_step_row(db, st, err)) < 0)
			goto out;
		if (r == 0)
			break;
		if (db_col_str(st, 0, &v[n]) != 0 || v[n] == NULL) {
			db_oom(err);
			goto out;
		}
		n++;
	}
	v[n] = NULL;
	*out = v;
	v = NULL;
	rc = 0;
out:
	db_stmt_done(st);
	db_strv_free(v);
	return rc;
}

void
db_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

int
db_profile_set_days(struct db *db, const char *profile, int default_days,
		    int max_days, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL || !db_id_ok(profile, KEY_MAX))
		return db_bad_arg(err);
	if (default_days < 1 || max_days < default_days || max_days > DB_DAYS_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days",
				    "validity must satisfy 1 <= default <= max "
				    "<= %d days", DB_DAYS_MAX);
	if ((st = db_stmt(db, S_PROFILE_SET, config_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, profile, &b);
	db_bind_i64(st, 2, default_days, &b);
	db_bind_i64(st, 3, max_days, &b);
	if (db_binds_ok(db, b, err) != 0 || db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_profile_get_days(struct db *db, const char *profile, int *default_days,
		    int *max_days, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;
	int64_t d, m;

	if (db == NULL || profile == NULL || default_days == NULL ||
	    max_days == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_PROFILE_GET, config_sql, err)) == NULL)
		goto out;
	db_bind_text(st, 1, profile, &b);
	if (db_binds_ok(db, b, err) != 0 || (r = db_step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "profile_not_overridden",
			     "the profile has no validity override");
		goto out;
	}
	d = sqlite3_column_int64(st, 0);
	m = sqlite3_column_int64(st, 1);
	if (d < 1 || m < d || m > INT_MAX) {
		mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
			     "the stored profile validity is invalid");
		goto out;
	}
	*default_days = (int)d;
	*max_days = (int)m;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_domains_mac_get(struct db *db, unsigned char mac[32], int *has,
		   struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	*has = 0;
	if (db == NULL || mac == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_DOMAINS_MAC_GET, config_sql, err)) == NULL)
		goto out;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_BLOB &&
		    sqlite3_column_bytes(st, 0) == 32) {
			memcpy(mac, sqlite3_column_blob(st, 0), 32);
			*has = 1;
		}
	} else if (r == SQLITE_DONE) {
		mica_err_set(err, MICA_E_NOTFOUND, "no_ca", "no CA in the store");
		goto out;
	} else {
		db_fail(db, r, NULL, NULL, err);
		goto out;
	}
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

int
db_domains_mac_set(struct db *db, const unsigned char *mac,
		   struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return db_fault(err);
	if (db == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_DOMAINS_MAC_SET, config_sql, err)) == NULL)
		goto out;
	if (mac != NULL)
		b = sqlite3_bind_blob(st, 1, mac, 32, SQLITE_TRANSIENT);
	else
		b = sqlite3_bind_null(st, 1);
	if (db_binds_ok(db, b, err) != 0 ||
	    db_step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	db_stmt_done(st);
	return rc;
}

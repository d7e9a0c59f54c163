/*
 * db/db.c - mica's SQLite store (contract in db/db.h).
 *
 * Every statement is prepared once per connection (SQLITE_PREPARE_PERSISTENT)
 * and kept in db->st[]; after each use it is reset and its bindings cleared,
 * so no cached statement holds a read transaction open between calls. Values
 * only ever reach SQL as bound parameters.
 *
 * Writes that touch more than one row (a certificate and its names, the two
 * sides of a renewal link) run inside a SAVEPOINT so that they are atomic
 * whether or not the caller holds a transaction.
 *
 * Where db.h leaves room, this implementation decides:
 *  - Error kinds beyond db.h's list: a foreign-key violation (a certificate
 *    naming an unknown request) is MICA_E_NOTFOUND "not_found"; malformed
 *    values (serial, reason, days, status) are MICA_E_BADREQ; text fields
 *    over 64 KiB are MICA_E_TOOLARGE; NULL handles or required pointers are
 *    MICA_E_INTERNAL "invalid_argument" (a caller bug). CHECK and trigger
 *    violations are MICA_E_INTERNAL "constraint_violated".
 *  - db_open codes: "store_exists" (CONFLICT, DB_OPEN_CREATE on an existing
 *    file or next to a stale -wal/-shm/-journal), "insecure_permissions"
 *    (FORBIDDEN, the file or its -wal/-shm), "not_a_mica_database",
 *    "schema_too_new", and "schema_outdated" (read-only open of an older
 *    schema) (all UNAVAIL). ":memory:" is accepted (no file checks).
 *  - Certificate list, request list and audit list limits are clamped into
 *    range (below 1 -> 1), not refused.
 *  - A certificate on hold may be revoked again only with another reason;
 *    hold -> hold is "already_revoked".
 *  - db_token_consume on an unknown id is MICA_E_NOTFOUND "token_not_found".
 *  - db_counts: valid = VALID and not expired at NOW; expired = VALID past
 *    notAfter; revoked = all revoked; issuing = all ISSUING.
 *  - db_integrity_check also runs PRAGMA foreign_key_check.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "util/fault.h"
#include "util/log.h"

/* ------------------------------------------------------------------ */
/* Statement cache                                                     */
/* ------------------------------------------------------------------ */

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_SP_BEGIN, S_SP_RELEASE, S_SP_ROLLBACK,
	S_JOB_BEGIN, S_JOB_RELEASE, S_JOB_ROLLBACK, S_SYNC_FULL, S_SYNC_NORMAL,
	S_CACHE_WRITER,
	S_INTEGRITY, S_FK_CHECK,
	S_CA_INSERT, S_CA_GET, S_CA_UPDATE_KEY,
	S_DOMAIN_ADD, S_DOMAIN_REMOVE, S_DOMAIN_LIST,
	S_PROFILE_SET, S_PROFILE_GET,
	S_SETTING_SET, S_SETTING_GET,
	S_CERT_RESERVE, S_CERT_NAME_ADD, S_CERT_COMPLETE, S_CERT_COMPLETE_LATE,
	S_CERT_STATE, S_CERT_DISCARD, S_CERT_DISCARD_UNLINK, S_CERT_GET,
	S_CERT_LIST, S_CERT_REVOKE, S_CERT_UNREVOKE, S_CERT_LINK_OLD,
	S_CERT_LINK_NEW, S_REVOKED, S_COUNTS,
	S_CRL_LAST, S_CRL_INSERT, S_CRL_LATEST, S_CRL_LATEST_INFO,
	S_REQ_INSERT, S_REQ_GET, S_REQ_LIST, S_REQ_LIST_STATUS, S_REQ_DECIDE, S_REQ_EXISTS,
	S_REQ_PENDING,
	S_TOKEN_INSERT, S_TOKEN_GET, S_TOKEN_CONSUME, S_TOKEN_EXISTS,
	S_TOKEN_REFUND, S_TOKEN_TOUCH, S_TOKEN_LIST, S_TOKEN_REVOKE,
	S_TOKEN_COUNT_ADMIN,
	S_AUDIT_ADD, S_AUDIT_LIST,
	S__COUNT
};

#define CERT_COLS \
	"id, serial, profile, subject, names, request_id, not_before, " \
	"not_after, spki_sha256, status, revoked_at, reason, renewal_of, " \
	"renewed_by, created_at"
#define REQ_COLS \
	"id, status, profile, csr_der, names, subject, days, client, " \
	"submitted_at, decided_at, decided_by, deny_reason, serial"
#define TOKEN_COLS \
	"id, hash, kind, profile, names, uses_left, expires_at, created_at, " \
	"created_by, comment, revoked, last_used_at"

static const char *const stmt_sql[S__COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SP_BEGIN] = "SAVEPOINT mica_write",
	[S_SP_RELEASE] = "RELEASE mica_write",
	[S_SP_ROLLBACK] = "ROLLBACK TO mica_write",
	[S_JOB_BEGIN] = "SAVEPOINT mica_job",
	[S_JOB_RELEASE] = "RELEASE mica_job",
	[S_JOB_ROLLBACK] = "ROLLBACK TO mica_job",
	[S_SYNC_FULL] = "PRAGMA synchronous = FULL",
	[S_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
	[S_CACHE_WRITER] = "PRAGMA cache_size = -" DB_WRITER_CACHE_KIB,
	[S_INTEGRITY] = "PRAGMA integrity_check",
	[S_FK_CHECK] = "PRAGMA foreign_key_check",

	[S_CA_INSERT] =
	"INSERT INTO ca (id, name, public_url, key_type, cert_der, key_salt, "
	"key_iter, key_nonce, key_ct, crl_days, created_at) "
	"VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[S_CA_UPDATE_KEY] =
	/* Same parameter numbers as S_CA_INSERT: bind_sealed_key() serves both. */
	"UPDATE ca SET key_salt = ?5, key_iter = ?6, key_nonce = ?7, "
	"key_ct = ?8 WHERE id = 1",
	[S_CA_GET] =
	"SELECT name, public_url, key_type, cert_der, key_salt, key_iter, "
	"key_nonce, key_ct, crl_days, created_at FROM ca WHERE id = 1",

	[S_DOMAIN_ADD] = "INSERT INTO ca_domain (domain) VALUES (?1)",
	[S_DOMAIN_REMOVE] = "DELETE FROM ca_domain WHERE domain = ?1",
	[S_DOMAIN_LIST] = "SELECT domain FROM ca_domain ORDER BY domain",

	[S_PROFILE_SET] =
	"INSERT INTO profile_days (profile, default_days, max_days) "
	"VALUES (?1, ?2, ?3) ON CONFLICT (profile) DO UPDATE SET "
	"default_days = excluded.default_days, max_days = excluded.max_days",
	[S_PROFILE_GET] =
	"SELECT default_days, max_days FROM profile_days WHERE profile = ?1",

	[S_SETTING_SET] =
	"INSERT INTO setting (key, value) VALUES (?1, ?2) "
	"ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[S_SETTING_GET] = "SELECT value FROM setting WHERE key = ?1",

	[S_CERT_RESERVE] =
	"INSERT INTO certificate (serial, profile, subject, names, request_id, "
	"not_before, not_after, spki_sha256, status, renewal_of, renewed_by, "
	"created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?11)",
	[S_CERT_NAME_ADD] =
	"INSERT OR IGNORE INTO cert_name (serial, name) VALUES (?1, ?2)",
	[S_CERT_COMPLETE] =
	"UPDATE certificate SET der = ?2, status = 1 "
	"WHERE serial = ?1 AND status = 0",
	/* Revoked while it was being signed: keep the DER (it exists, it must
	 * be accounted for), leave it revoked. */
	[S_CERT_COMPLETE_LATE] =
	"UPDATE certificate SET der = ?2 "
	"WHERE serial = ?1 AND status = 2 AND der IS NULL",
	[S_CERT_STATE] =
	"SELECT status, reason FROM certificate WHERE serial = ?1",
	[S_CERT_DISCARD] =
	"DELETE FROM certificate WHERE serial = ?1 AND status = 0",
	/* The certificate it was renewing must not point at it any more. */
	[S_CERT_DISCARD_UNLINK] =
	"UPDATE certificate SET renewed_by = NULL WHERE serial = "
	"(SELECT renewal_of FROM certificate WHERE serial = ?1) "
	"AND renewed_by = ?1",
	[S_CERT_GET] =
	"SELECT " CERT_COLS ", der FROM certificate WHERE serial = ?1",
	/* ?1 cursor (INT64_MAX for the first page), ?2 status filter, ?3 now,
	 * ?4 expiring_before (0 none), ?5 LIKE pattern or NULL, ?6 limit. */
	[S_CERT_LIST] =
	"SELECT " CERT_COLS " FROM certificate AS c WHERE id < ?1 "
	"AND (?2 = -1 OR (?2 IN (0, 1, 2) AND status = ?2) "
	"     OR (?2 = 10 AND status = 1 AND not_after <= ?3) "
	"     OR (?2 = 11 AND status = 1 AND not_after > ?3)) "
	"AND (?4 = 0 OR (not_after < ?4 AND not_after > ?3)) "
	"AND (?5 IS NULL OR EXISTS (SELECT 1 FROM cert_name AS n "
	"     WHERE n.serial = c.serial AND n.name LIKE ?5 ESCAPE '\\')) "
	"ORDER BY id DESC LIMIT ?6",
	/* certificateHold (6) may be turned into a final revocation. */
	[S_CERT_REVOKE] =
	"UPDATE certificate SET status = 2, revoked_at = ?2, reason = ?3 "
	"WHERE serial = ?1 AND (status IN (0, 1) "
	"                       OR (status = 2 AND reason = 6 AND ?3 <> 6))",
	[S_CERT_UNREVOKE] =
	"UPDATE certificate SET status = CASE WHEN der IS NULL THEN 0 ELSE 1 END, "
	"revoked_at = 0, reason = -1 "
	"WHERE serial = ?1 AND status = 2 AND reason = 6",
	[S_CERT_LINK_OLD] =
	"UPDATE certificate SET renewed_by = ?2 WHERE serial = ?1",
	[S_CERT_LINK_NEW] =
	"UPDATE certificate SET renewal_of = ?1 WHERE serial = ?2",
	/* Pinned to the partial covering index certificate_revoked: no
	 * table access and no sort, whatever the planner's statistics say
	 * (left to itself it may sort every revoked row in a temp B-tree). */
	[S_REVOKED] =
	"SELECT serial, revoked_at, reason FROM certificate "
	"INDEXED BY certificate_revoked "
	"WHERE status = 2 AND not_after > ?1 ORDER BY serial",
	[S_COUNTS] =
	"SELECT (SELECT count(*) FROM certificate WHERE status = 0), "
	"(SELECT count(*) FROM certificate WHERE status = 1 AND not_after > ?1), "
	"(SELECT count(*) FROM certificate WHERE status = 2), "
	"(SELECT count(*) FROM certificate WHERE status = 1 AND not_after <= ?1), "
	"(SELECT count(*) FROM request WHERE status = 0)",

	[S_CRL_LAST] = "SELECT COALESCE(MAX(number), 0) FROM crl",
	/* RFC 5280 5.2.3: monotonically increasing, checked in the same
	 * statement so that two writers cannot both pass a separate check. */
	[S_CRL_INSERT] =
	"INSERT INTO crl (number, this_update, next_update, der) "
	"VALUES (?1, ?2, ?3, ?4)",          /* number checked first, same tx */
	[S_CRL_LATEST] =
	"SELECT number, this_update, next_update, der FROM crl "
	"ORDER BY number DESC LIMIT 1",
	[S_CRL_LATEST_INFO] =
	"SELECT number, this_update, next_update, NULL FROM crl "
	"ORDER BY number DESC LIMIT 1",

	[S_REQ_INSERT] =
	"INSERT INTO request (" REQ_COLS ") "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[S_REQ_GET] = "SELECT " REQ_COLS " FROM request WHERE id = ?1",
	/* Two statements so that the filtered one can use request_by_status. */
	[S_REQ_LIST] =
	"SELECT " REQ_COLS " FROM request ORDER BY submitted_at, rowid LIMIT ?2",
	[S_REQ_LIST_STATUS] =
	"SELECT " REQ_COLS " FROM request WHERE status = ?1 "
	"ORDER BY submitted_at, rowid LIMIT ?2",
	[S_REQ_DECIDE] =
	"UPDATE request SET status = ?2, decided_by = ?3, decided_at = ?4, "
	"serial = ?5, deny_reason = ?6 WHERE id = ?1 AND status = 0",
	[S_REQ_EXISTS] = "SELECT 1 FROM request WHERE id = ?1",
	[S_REQ_PENDING] = "SELECT count(*) FROM request WHERE status = 0",

	[S_TOKEN_INSERT] =
	"INSERT INTO token (" TOKEN_COLS ") "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[S_TOKEN_GET] = "SELECT " TOKEN_COLS " FROM token WHERE id = ?1",
	/* One statement: the check and the decrement cannot be separated by
	 * another connection's consume. */
	[S_TOKEN_CONSUME] =
	"UPDATE token SET "
	"uses_left = CASE WHEN uses_left = -1 THEN -1 ELSE uses_left - 1 END, "
	"last_used_at = ?2 "
	"WHERE id = ?1 AND revoked = 0 AND (uses_left = -1 OR uses_left > 0) "
	"AND (expires_at = 0 OR expires_at > ?2)",
	[S_TOKEN_EXISTS] = "SELECT 1 FROM token WHERE id = ?1",
	[S_TOKEN_REFUND] =
	"UPDATE token SET "
	"uses_left = CASE WHEN uses_left = -1 THEN -1 ELSE uses_left + 1 END "
	"WHERE id = ?1",
	[S_TOKEN_TOUCH] = "UPDATE token SET last_used_at = ?2 WHERE id = ?1",
	[S_TOKEN_LIST] =
	"SELECT " TOKEN_COLS " FROM token ORDER BY created_at DESC, rowid DESC",
	[S_TOKEN_REVOKE] =
	"UPDATE token SET revoked = 1 WHERE id = ?1 AND revoked = 0",
	[S_TOKEN_COUNT_ADMIN] =
	"SELECT count(*) FROM token WHERE kind = 1 AND revoked = 0 "
	"AND uses_left <> 0 AND (expires_at = 0 OR expires_at > ?1)",

	[S_AUDIT_ADD] =
	"INSERT INTO audit (at, actor, action, target, detail) "
	"VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_AUDIT_LIST] =
	"SELECT id, at, actor, action, target, detail FROM audit "
	"WHERE at >= ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
};

struct db {
	sqlite3 *h;
	sqlite3_stmt *st[S__COUNT];
	int readonly;
	struct db_walsync wal;    /* for db_int_wal_sync */
};

/* Input bounds: the store is not policy, but nothing unbounded goes in. */
#define TEXT_MAX      65536      /* any free-text field */
#define DOMAIN_MAX    253        /* RFC 1035 2.3.4 */
#define KEY_MAX       128        /* setting keys */
#define LIKE_MAX      1024       /* name search string */
#define DAYS_MAX      36500
#define LIST_MAX      1000
#define AUDIT_MAX     10000
#define REQ_LIST_MAX  10000

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static int
unavail(struct mica_err *err, const char *msg)
{
	return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable", "%s", msg);
}

static int
fault(struct mica_err *err)
{
	return unavail(err, "the certificate store failed to write (injected fault)");
}

static int
bad_arg(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_INTERNAL, "invalid_argument",
			    "invalid argument to the store");
}

static int
oom(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			    "out of memory");
}

/*
 * Map SQLite result code RC (extended codes are on) to a mica error, as
 * documented in db.h. A unique/primary-key violation becomes a conflict
 * with CONFLICT_CODE and CONFLICT_MSG (generic ones if NULL). SQLite's own
 * message, which may name tables, goes to the log only.
 */
static int
db_fail(struct db *db, int rc, const char *conflict_code,
	const char *conflict_msg, struct mica_err *err)
{
	const char *detail = db != NULL && db->h != NULL ?
			     sqlite3_errmsg(db->h) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		mica_log(MICA_LOG_WARN, "db: busy: %s", detail);
		return unavail(err, "the certificate store is busy; try again");
	case SQLITE_FULL:
		mica_log(MICA_LOG_ERR, "db: full: %s", detail);
		return unavail(err, "the disk holding the certificate store is full");
	case SQLITE_READONLY:
		mica_log(MICA_LOG_ERR, "db: read-only: %s", detail);
		return unavail(err, "the certificate store is read-only");
	case SQLITE_IOERR:
		mica_log(MICA_LOG_ERR, "db: I/O error (%d): %s", rc, detail);
		return unavail(err, "I/O error on the certificate store");
	case SQLITE_CANTOPEN:
		mica_log(MICA_LOG_ERR, "db: cannot open: %s", detail);
		return unavail(err, "cannot open the certificate store");
	case SQLITE_NOMEM:
		return oom(err);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		mica_log(MICA_LOG_ERR, "db: corrupt: %s", detail);
		return mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
				    "the certificate store is damaged");
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
			mica_log(MICA_LOG_DEBUG, "db: conflict: %s", detail);
			return mica_err_set(err, MICA_E_CONFLICT,
				conflict_code != NULL ? conflict_code : "already_exists",
				"%s", conflict_msg != NULL ? conflict_msg :
				"a record with this key already exists");
		}
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
			mica_log(MICA_LOG_DEBUG, "db: foreign key: %s", detail);
			return mica_err_set(err, MICA_E_NOTFOUND, "not_found",
					    "a referenced record does not exist");
		}
		/* CHECK, NOT NULL or trigger: a caller bug the schema caught. */
		mica_log(MICA_LOG_ERR, "db: constraint (%d): %s", rc, detail);
		return mica_err_set(err, MICA_E_INTERNAL, "constraint_violated",
				    "the store refused an inconsistent record");
	default:
		break;
	}
	mica_log(MICA_LOG_ERR, "db: error %d: %s", rc, detail);
	return mica_err_set(err, MICA_E_INTERNAL, "internal",
			    "internal error in the certificate store");
}

/* ------------------------------------------------------------------ */
/* Statements, binding, columns                                        */
/* ------------------------------------------------------------------ */

/* The cached statement ID, prepared on first use; NULL with err set. */
static sqlite3_stmt *
stmt_get(struct db *db, enum stmt_id id, struct mica_err *err)
{
	int rc;

	if (db->st[id] == NULL) {
		rc = sqlite3_prepare_v3(db->h, stmt_sql[id], -1,
					SQLITE_PREPARE_PERSISTENT, &db->st[id],
					NULL);
		if (rc != SQLITE_OK) {
			db_fail(db, rc, NULL, NULL, err);
			sqlite3_finalize(db->st[id]);
			db->st[id] = NULL;
			return NULL;
		}
	} else if (sqlite3_stmt_busy(db->st[id])) {
		/* Re-entered from a db_revoked_foreach callback, say. */
		mica_err_set(err, MICA_E_INTERNAL, "internal",
			     "store statement re-entered while in use");
		return NULL;
	}
	return db->st[id];
}

/* Return a cached statement to its idle state. Accepts NULL. */
static void
stmt_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binding helpers: each keeps the first failure in *RC and then does
 * nothing, so a run of binds is checked once. Strings and blobs are bound
 * SQLITE_STATIC: the statement is reset before the caller's data can go. */
static void
bind_text(sqlite3_stmt *st, int i, const char *s, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = s == NULL ? sqlite3_bind_null(st, i) :
	      sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void
bind_textn(sqlite3_stmt *st, int i, const char *s, size_t n, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = sqlite3_bind_text64(st, i, s, n, SQLITE_STATIC, SQLITE_UTF8);
}

/* "" means "none" for the fixed serial fields of the structs. */
static void
bind_serial_opt(sqlite3_stmt *st, int i, const char *s, int *rc)
{
	bind_text(st, i, s != NULL && s[0] != '\0' ? s : NULL, rc);
}

static void
bind_i64(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = sqlite3_bind_int64(st, i, v);
}

static void
bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	if (p == NULL)
		*rc = sqlite3_bind_null(st, i);
	else if (n == 0)
		*rc = sqlite3_bind_zeroblob(st, i, 0);
	else
		*rc = sqlite3_bind_blob64(st, i, p, n, SQLITE_STATIC);
}

static int
binds_ok(struct db *db, int rc, struct mica_err *err)
{
	return rc == SQLITE_OK ? 0 : db_fail(db, rc, NULL, NULL, err);
}

/* Step a statement that returns no rows. */
static int
step_done(struct db *db, sqlite3_stmt *st, const char *conflict_code,
	  const char *conflict_msg, struct mica_err *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ROW)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "unexpected row from the store");
	return db_fail(db, rc, conflict_code, conflict_msg, err);
}

/* Step a statement expected to return at most one row: 1 row, 0 none, -1. */
static int
step_row(struct db *db, sqlite3_stmt *st, struct mica_err *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(db, rc, NULL, NULL, err);
}

/* Heap copy of a text column (NULL stays NULL). -1 only on OOM. */
static int
col_str(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *s;
	int n;

	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	s = sqlite3_column_text(st, i);
	n = sqlite3_column_bytes(st, i);
	if (s == NULL)
		return -1;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return -1;
	memcpy(*out, s, (size_t)n);
	(*out)[n] = '\0';
	return 0;
}

/* A text column into a fixed buffer ("" for NULL); -1 if it does not fit
 * (a row the store itself could not have written). */
static int
col_fixed(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	const unsigned char *s;
	int n;

	buf[0] = '\0';
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	s = sqlite3_column_text(st, i);
	n = sqlite3_column_bytes(st, i);
	if (s == NULL || (size_t)n >= size)
		return -1;
	memcpy(buf, s, (size_t)n);
	buf[n] = '\0';
	return 0;
}

/* Heap copy of a blob column (NULL, 0 for SQL NULL). -1 only on OOM. */
static int
col_blob(sqlite3_stmt *st, int i, unsigned char **out, size_t *len)
{
	const void *p;
	int n;

	*out = NULL;
	*len = 0;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	p = sqlite3_column_blob(st, i);
	n = sqlite3_column_bytes(st, i);
	if ((*out = malloc(n > 0 ? (size_t)n : 1)) == NULL)
		return -1;
	if (n > 0)
		memcpy(*out, p, (size_t)n);
	*len = (size_t)n;
	return 0;
}

/* Grow *ARR (of *CAP elements of SIZE) so that it holds at least N + 1. */
static int
grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > SIZE_MAX / size)
		return -1;
	if ((p = realloc(*arr, ncap * size)) == NULL)
		return -1;
	memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Savepoints for multi-statement writes                               */
/* ------------------------------------------------------------------ */

static int
exec_cached(struct db *db, enum stmt_id id, struct mica_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = stmt_get(db, id, err)) == NULL)
		return -1;
	rc = step_done(db, st, NULL, NULL, err);
	stmt_done(st);
	return rc;
}

/* Open a savepoint; *OWN records whether it also opened the transaction
 * (then releasing it commits). */
static int
sp_begin(struct db *db, int *own, struct mica_err *err)
{
	*own = sqlite3_get_autocommit(db->h);
	return exec_cached(db, S_SP_BEGIN, err);
}

/* Undo everything since sp_begin. Errors are ignored: SQLite may already
 * have rolled the transaction back itself (I/O error, disk full). */
static void
sp_abort(struct db *db, int own)
{
	if (sqlite3_get_autocommit(db->h))
		return;
	if (own) {
		exec_cached(db, S_ROLLBACK, NULL);
	} else {
		exec_cached(db, S_SP_ROLLBACK, NULL);
		exec_cached(db, S_SP_RELEASE, NULL);
	}
}

static int
sp_commit(struct db *db, int own, struct mica_err *err)
{
	if (exec_cached(db, S_SP_RELEASE, err) == 0)
		return 0;
	sp_abort(db, own);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Validation of what callers pass in                                  */
/* ------------------------------------------------------------------ */

/* RFC 5280 4.1.2.2: at most 20 octets; stored as lowercase hex. */
static int
serial_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, DB_SERIAL_MAX);
	if (n < 2 || n >= DB_SERIAL_MAX || n % 2 != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
bad_serial(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
			    "a serial number is 2 to 40 lowercase hex digits");
}

/* A non-empty, NUL-terminated identifier shorter than SIZE. */
static int
id_ok(const char *s, size_t size)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, size);
	return n > 0 && n < size;
}

static int
text_ok(const char *s)
{
	return s == NULL || strnlen(s, TEXT_MAX + 1) <= TEXT_MAX;
}

/* RFC 5280 5.3.1 CRLReason values a certificate can carry. */
static int
reason_ok(int r)
{
	return r >= 0 && r <= 10 && r != 7 && r != 8;
}

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

static int
clamp_limit(int limit, int max)
{
	return limit < 1 ? 1 : limit > max ? max : limit;
}

/* ------------------------------------------------------------------ */
/* Opening, migrations                                                 */
/* ------------------------------------------------------------------ */

static int
is_memory(const char *path)
{
	return strcmp(path, ":memory:") == 0;
}

/* "PATH" + SUFFIX on the heap; NULL on OOM. */
static char *
side_path(const char *path, const char *suffix)
{
	size_t n = strlen(path), m = strlen(suffix);
	char *p = malloc(n + m + 1);

	if (p != NULL) {
		memcpy(p, path, n);
		memcpy(p + n, suffix, m + 1);
	}
	return p;
}

/*
 * Check that PATH+SUFFIX is a regular file private to its owner. A file
 * that does not exist passes unless MUST_EXIST.
 */
static int
check_private(const char *path, const char *suffix, int must_exist,
	      struct mica_err *err)
{
	struct stat sb;
	char *p;
	int rc = -1;

	if ((p = side_path(path, suffix)) == NULL)
		return oom(err);
	if (stat(p, &sb) != 0) {
		if (errno == ENOENT && !must_exist)
			rc = 0;
		else if (errno == ENOENT)
			unavail(err, "the database file does not exist");
		else
			mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				     "cannot examine the database file: %s",
				     strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		unavail(err, "the database path is not a regular file");
		goto out;
	}
	/* The store holds the sealed CA key and token hashes: refuse to use
	 * it, rather than silently fix it, so the admin learns of the leak. */
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		if (suffix[0] == '\0')
			mica_err_set(err, MICA_E_FORBIDDEN, "insecure_permissions",
				     "the database file is accessible by group "
				     "or others (mode %04o); run chmod 600 on it",
				     (unsigned)(sb.st_mode & 07777));
		else
			mica_err_set(err, MICA_E_FORBIDDEN, "insecure_permissions",
				     "the database's %s file is accessible by "
				     "group or others (mode %04o); run chmod 600 "
				     "on it", suffix,
				     (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

/* One-off query returning a single integer (pragmas at open). */
static int
query_int(struct db *db, const char *sql, int64_t *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		db_fail(db, rc, NULL, NULL, err);
		goto out;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			mica_err_set(err, MICA_E_INTERNAL, "internal",
				     "the store returned no value");
		else
			db_fail(db, rc, NULL, NULL, err);
		goto out;
	}
	*out = sqlite3_column_int64(st, 0);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Run a pragma that returns one text row; copy it into BUF. */
static int
query_text(struct db *db, const char *sql, char *buf, size_t size,
	   struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	buf[0] = '\0';
	if ((rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL)) != SQLITE_OK) {
		db_fail(db, rc, NULL, NULL, err);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);
		snprintf(buf, size, "%s", s != NULL ? (const char *)s : "");
	} else if (rc != SQLITE_DONE) {
		db_fail(db, rc, NULL, NULL, err);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Run every statement of a migration script (no parameters: DDL only). */
static int
exec_script(struct db *db, const char *sql, struct mica_err *err)
{
	const char *tail = sql;
	sqlite3_stmt *st = NULL;
	int rc;

	while (tail != NULL && *tail != '\0') {
		rc = sqlite3_prepare_v2(db->h, tail, -1, &st, &tail);
		if (rc != SQLITE_OK)
			return db_fail(db, rc, NULL, NULL, err);
		if (st == NULL)  /* trailing whitespace or comment */
			continue;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE)
			return db_fail(db, rc, NULL, NULL, err);
	}
	return 0;
}

/* Highest embedded migration; -1 if the table is not strictly increasing
 * (a build error that must not reach a database). */
static int
builtin_version(void)
{
	int v = 0;

	for (size_t i = 0; i < db_nmigrations; i++) {
		if (db_migrations[i].version <= v)
			return -1;
		v = db_migrations[i].version;
	}
	return v;
}

int
db_schema_version_builtin(void)
{
	return builtin_version();
}

int
db_schema_version(struct db *db)
{
	int64_t v;

	if (db == NULL || query_int(db, "PRAGMA user_version", &v, NULL) != 0)
		return -1;
	return v < 0 || v > INT_MAX ? -1 : (int)v;
}

/*
 * Refuse a file that is not a mica database (some other program's SQLite
 * file must not be "migrated") and set *VERSION to its schema version.
 */
static int
check_identity(struct db *db, int *version, struct mica_err *err)
{
	int64_t app, uv, objects;

	if (query_int(db, "PRAGMA application_id", &app, err) != 0 ||
	    query_int(db, "PRAGMA user_version", &uv, err) != 0 ||
	    query_int(db, "SELECT count(*) FROM sqlite_master", &objects, err) != 0) {
		if (err != NULL && strcmp(err->code, "store_corrupt") == 0)
			mica_err_set(err, MICA_E_UNAVAIL, "not_a_mica_database",
				     "the file is not a mica database");
		return -1;
	}
	if (app != DB_APPLICATION_ID && !(app == 0 && uv == 0 && objects == 0))
		return mica_err_set(err, MICA_E_UNAVAIL, "not_a_mica_database",
				    "the file is not a mica database");
	if (uv < 0 || uv > INT_MAX)
		return mica_err_set(err, MICA_E_UNAVAIL, "not_a_mica_database",
				    "the database has an invalid schema version");
	*version = (int)uv;
	return 0;
}

/*
 * Apply every embedded migration newer than VERSION (what the database said
 * at open), each in its own IMMEDIATE transaction. The version is read again
 * under the write lock: another process opening the same file may have
 * migrated it meanwhile. An up-to-date database takes no write lock here.
 */
static int
migrate(struct db *db, int version, struct mica_err *err)
{
	const struct db_migration *m;
	char sql[64];
	int64_t uv;
	int rc = -1;

	for (size_t i = 0; i < db_nmigrations; i++) {
		m = &db_migrations[i];
		if (m->version <= version)
			continue;
		if (exec_cached(db, S_BEGIN, err) != 0)
			goto out;
		if (query_int(db, "PRAGMA user_version", &uv, err) != 0)
			goto out;
		if (m->version <= uv) {
			if (exec_cached(db, S_COMMIT, err) != 0)
				goto out;
			continue;
		}
		if (exec_script(db, m->sql, err) != 0) {
			mica_log(MICA_LOG_ERR, "db: migration %s failed", m->name);
			goto out;
		}
		/* Pragmas take no parameters; the values are our own ints. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", m->version);
		if (exec_script(db, sql, err) != 0)
			goto out;
		if (uv == 0) {
			snprintf(sql, sizeof(sql), "PRAGMA application_id = %d",
				 DB_APPLICATION_ID);
			if (exec_script(db, sql, err) != 0)
				goto out;
		}
		if (exec_cached(db, S_COMMIT, err) != 0)
			goto out;
		mica_log(MICA_LOG_INFO, "db: applied schema migration %s", m->name);
	}
	rc = 0;
out:
	if (rc != 0)
		db_rollback(db);
	return rc;
}

/* Remove what db_open created after a failure (the file and SQLite's side
 * files): a half-initialised store must not be mistaken for a real one. */
static void
unlink_created(const char *path)
{
	static const char *const sfx[] = { "-wal", "-shm", "-journal" };
	char *p;

	unlink(path);
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((p = side_path(path, sfx[i])) != NULL) {
			unlink(p);
			free(p);
		}
	}
}

/*
 * Create PATH empty with mode exactly 0600 (whatever the umask, which could
 * also strip the owner's bits), refusing an existing file or symlink and
 * stale side files: SQLite would replay a leftover -wal or hot -journal into
 * the new database. WHAT names the file in messages ("database", "backup");
 * an existing one is MICA_E_CONFLICT with EXISTS_CODE.
 */
static int
create_file(const char *path, const char *what, const char *exists_code,
	    struct mica_err *err)
{
	static const char *const sfx[] = { "-wal", "-shm", "-journal" };
	struct stat sb;
	char *p;
	int fd, found, rc = -1;

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((p = side_path(path, sfx[i])) == NULL)
			return oom(err);
		found = lstat(p, &sb) == 0;
		free(p);
		if (found)
			return mica_err_set(err, MICA_E_CONFLICT, exists_code,
					    "a %s file of an earlier database is "
					    "next to the %s file; remove it first",
					    sfx[i] + 1, what);
	}
	/* O_EXCL also refuses a symlink planted at PATH. */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return mica_err_set(err, MICA_E_CONFLICT, exists_code,
					    "the %s file already exists", what);
		return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "cannot create the %s file: %s", what,
				    strerror(errno));
	}
	if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
		mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
			     "cannot set the %s file's mode: %s", what,
			     strerror(errno));
		unlink(path);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int
db_open(const char *path, int flags, struct db **out, struct mica_err *err)
{
	struct db *db = NULL;
	char mode[16];
	int rc, ret = -1, created = 0, memory, oflags, version = 0, builtin;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL || path[0] == '\0' ||
	    (flags & ~(DB_OPEN_CREATE | DB_OPEN_READONLY)) != 0 ||
	    ((flags & DB_OPEN_CREATE) && (flags & DB_OPEN_READONLY)))
		return bad_arg(err);
	if ((builtin = builtin_version()) < 0)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "embedded schema migrations are out of order");
	/* An in-memory store starts empty: read-only it would be useless. */
	if ((memory = is_memory(path)) && (flags & DB_OPEN_READONLY))
		return bad_arg(err);

	if (!memory && flags & DB_OPEN_CREATE) {
		if (create_file(path, "database", "store_exists", err) != 0)
			return -1;
		created = 1;
	} else if (!memory) {
		if (check_private(path, "", 1, err) != 0 ||
		    check_private(path, "-wal", 0, err) != 0 ||
		    check_private(path, "-shm", 0, err) != 0)
			return -1;
	}

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		oom(err);
		goto out;
	}
	db->readonly = (flags & DB_OPEN_READONLY) != 0;
	db->wal.fd = -1;
	/* Never SQLITE_OPEN_CREATE for a file: it exists by now, and a missing
	 * file must not be silently replaced by an empty store. One connection
	 * per thread, so SQLite's per-connection mutex is not needed. */
	oflags = (db->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
		 SQLITE_OPEN_NOMUTEX | (memory ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(path, &db->h, oflags, NULL);
	if (rc != SQLITE_OK) {
		db_fail(db, rc, NULL, NULL, err);
		goto out;
	}
	sqlite3_extended_result_codes(db->h, 1);
	/* The WAL's name as SQLite itself derives it (symbolic links to the
	 * database resolved), for db_int_wal_sync. */
	if (!memory) {
		const char *wal = sqlite3_filename_wal(sqlite3_db_filename(db->h, "main"));

		if (wal != NULL && wal[0] != '\0' && (db->wal.path = strdup(wal)) == NULL) {
			oom(err);
			goto out;
		}
	}
	/* SQLite quietly falls back to read-only when it cannot write; a
	 * worker would then keep a useless connection after the store is
	 * writable again. Refuse it so the next request opens afresh. */
	if (!db->readonly && !memory && sqlite3_db_readonly(db->h, "main") == 1) {
		mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
			     "the store is read-only");
		goto out;
	}
	/* Hardening: no writable_schema tricks, no functions with side
	 * effects called from the schema, no extension loading. */
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
#endif
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);

	/* Identify before writing anything (WAL mode rewrites the header). */
	if (check_identity(db, &version, err) != 0)
		goto out;
	if (version > builtin) {
		mica_err_set(err, MICA_E_UNAVAIL, "schema_too_new",
			     "the database has schema version %d but this mica "
			     "knows only up to %d; upgrade mica", version, builtin);
		goto out;
	}
	/* A small page cache per connection: the daemon keeps one connection
	 * per worker thread, the OS caches the file anyway, and the store's
	 * reads are point lookups and one sequential walk (the CRL). */
	if (exec_script(db, "PRAGMA foreign_keys = ON; PRAGMA cache_size = -" DB_CACHE_KIB,
			err) != 0)
		goto out;
	if (!db->readonly) {
		if (query_text(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode),
			       err) != 0)
			goto out;
		if (strcmp(mode, "wal") != 0 && !(memory && strcmp(mode, "memory") == 0)) {
			mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				     "cannot switch the store to WAL mode");
			goto out;
		}
		if (exec_script(db, "PRAGMA synchronous = FULL", err) != 0)
			goto out;
		/* SQLite gives -wal and -shm the database file's mode; check it
		 * (an ACL or odd filesystem could differ). */
		if (!memory && (check_private(path, "-wal", 0, err) != 0 ||
				check_private(path, "-shm", 0, err) != 0))
			goto out;
		if (migrate(db, version, err) != 0)
			goto out;
	} else if (version < builtin) {
		mica_err_set(err, MICA_E_UNAVAIL, "schema_outdated",
			     "the database has schema version %d, this mica needs "
			     "%d; open it read-write once to upgrade it",
			     version, builtin);
		goto out;
	}
	*out = db;
	db = NULL;
	ret = 0;
out:
	db_close(db);
	if (ret != 0 && created)
		unlink_created(path);
	return ret;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < S__COUNT; i++)
		sqlite3_finalize(db->st[i]);
	/* Rolls back an open transaction; the last connection checkpoints
	 * and removes the -wal file. */
	if (sqlite3_close(db->h) != SQLITE_OK) {
		mica_log(MICA_LOG_ERR, "db: close: %s", sqlite3_errmsg(db->h));
		sqlite3_close_v2(db->h);
	}
	db_walsync_clear(&db->wal);
	free(db);
}

/* ------------------------------------------------------------------ */
/* Transactions, integrity, backup                                     */
/* ------------------------------------------------------------------ */

int
db_begin(struct db *db, struct mica_err *err)
{
	if (db == NULL)
		return bad_arg(err);
	if (!sqlite3_get_autocommit(db->h))
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "a store transaction is already open");
	return exec_cached(db, S_BEGIN, err);
}

int
db_commit(struct db *db, struct mica_err *err)
{
	if (db == NULL)
		return bad_arg(err);
	if (sqlite3_get_autocommit(db->h))
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "no store transaction is open");
	if (MICA_FAULT("db_commit")) {
		db_rollback(db);
		return unavail(err, "the certificate store failed to commit "
			       "(injected fault)");
	}
	if (exec_cached(db, S_COMMIT, err) != 0) {
		/* Leave no half-open transaction: the caller sees "nothing
		 * happened" either way. */
		db_rollback(db);
		return -1;
	}
	return 0;
}

void
db_rollback(struct db *db)
{
	if (db == NULL || sqlite3_get_autocommit(db->h))
		return;
	exec_cached(db, S_ROLLBACK, NULL);
}

/* ---- for db/writer.c (declared in db_int.h) ---- */

int
db_int_exec(struct db *db, enum db_int_op op, struct mica_err *err)
{
	static const enum stmt_id ids[] = {
		[DB_INT_JOB_BEGIN] = S_JOB_BEGIN,
		[DB_INT_JOB_RELEASE] = S_JOB_RELEASE,
		[DB_INT_JOB_ROLLBACK] = S_JOB_ROLLBACK,
		[DB_INT_SYNC_FULL] = S_SYNC_FULL,
		[DB_INT_SYNC_NORMAL] = S_SYNC_NORMAL,
		[DB_INT_CACHE_WRITER] = S_CACHE_WRITER,
	};

	if (db == NULL || (unsigned)op >= sizeof(ids) / sizeof(ids[0]))
		return bad_arg(err);
	return exec_cached(db, ids[op], err);
}

int
db_int_in_tx(struct db *db)
{
	return db != NULL && !sqlite3_get_autocommit(db->h);
}

void
db_int_wal_hook(struct db *db, int (*cb)(void *, sqlite3 *, const char *, int),
		void *arg)
{
	sqlite3_wal_autocheckpoint(db->h, 0);
	sqlite3_wal_hook(db->h, cb, arg);
}

int
db_walsync_init(struct db_walsync *ws, struct db *db, struct mica_err *err)
{
	ws->fd = -1;
	ws->path = NULL;
	if (db->wal.path != NULL && (ws->path = strdup(db->wal.path)) == NULL)
		return oom(err);
	return 0;
}

void
db_walsync_clear(struct db_walsync *ws)
{
	if (ws->fd >= 0)
		close(ws->fd);
	ws->fd = -1;
	free(ws->path);
	ws->path = NULL;
}

int
db_walsync_run(struct db_walsync *ws, struct mica_err *err)
{
	struct stat sb;

	if (ws->path == NULL)
		return 0;  /* in memory: nothing to sync */
	if (MICA_FAULT("db_sync")) {
		mica_log(MICA_LOG_ERR, "db: WAL sync failed (injected fault)");
		return unavail(err, "I/O error on the certificate store");
	}
	if (stat(ws->path, &sb) != 0) {
		if (errno == ENOENT)
			return 0;  /* no WAL: everything is in the database file */
		mica_log(MICA_LOG_ERR, "db: cannot find the WAL to sync: %s", strerror(errno));
		return unavail(err, "I/O error on the certificate store");
	}
	/* (Re)open when first needed or when the file was replaced; never
	 * sync a stale file. A new file's name must be durable too. */
	if (ws->fd < 0 || sb.st_dev != ws->dev || sb.st_ino != ws->ino) {
		char dir[PATH_MAX];
		char *slash;
		int dfd;

		if (ws->fd >= 0)
			close(ws->fd);
		if ((ws->fd = open(ws->path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    fstat(ws->fd, &sb) != 0) {
			mica_log(MICA_LOG_ERR, "db: cannot open the WAL to sync: %s",
				 strerror(errno));
			if (ws->fd >= 0)
				close(ws->fd);
			ws->fd = -1;
			return unavail(err, "I/O error on the certificate store");
		}
		ws->dev = sb.st_dev;
		ws->ino = sb.st_ino;
		snprintf(dir, sizeof(dir), "%s", ws->path);
		if ((slash = strrchr(dir, '/')) != NULL)
			*(slash == dir ? slash + 1 : slash) = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	if (fdatasync(ws->fd) != 0) {
		mica_log(MICA_LOG_ERR, "db: WAL sync failed: %s", strerror(errno));
		return unavail(err, "I/O error on the certificate store");
	}
	return 0;
}

int
db_int_wal_sync(struct db *db, struct mica_err *err)
{
	return db == NULL ? 0 : db_walsync_run(&db->wal, err);
}

int
db_int_checkpoint(struct db *db, struct mica_err *err)
{
	int rc = sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_PASSIVE,
					   NULL, NULL);

	/* BUSY: another checkpoint is running; it will do. */
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
		return db_fail(db, rc, NULL, NULL, err);
	return 0;
}

int
db_integrity_check(struct db *db, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *s;
	int rc = -1, r;

	if (db == NULL)
		return bad_arg(err);
	if ((st = stmt_get(db, S_INTEGRITY, err)) == NULL)
		goto out;
	if ((r = step_row(db, st, err)) < 0)
		goto out;
	s = r == 1 ? sqlite3_column_text(st, 0) : NULL;
	if (s == NULL || strcmp((const char *)s, "ok") != 0) {
		mica_log(MICA_LOG_ERR, "db: integrity_check: %s",
			 s != NULL ? (const char *)s : "(no result)");
		mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
			     "the database failed its integrity check");
		goto out;
	}
	stmt_done(st);
	/* Dangling references are damage too (integrity_check ignores them). */
	if ((st = stmt_get(db, S_FK_CHECK, err)) == NULL)
		goto out;
	if ((r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 1) {
		mica_log(MICA_LOG_ERR, "db: foreign_key_check: row %lld of %s",
			 (long long)sqlite3_column_int64(st, 1),
			 (const char *)sqlite3_column_text(st, 0));
		mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
			     "the database failed its integrity check");
		goto out;
	}
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

int
db_backup(struct db *db, const char *dest_path, struct mica_err *err)
{
	static const struct timespec pause = { 0, 20 * 1000 * 1000 };
	sqlite3 *dst = NULL;
	sqlite3_backup *bk = NULL;
	int rc = -1, src, created = 0, tries = 0;

	if (db == NULL || dest_path == NULL || dest_path[0] == '\0' ||
	    is_memory(dest_path))
		return bad_arg(err);
	if (create_file(dest_path, "backup", "backup_exists", err) != 0)
		return -1;
	created = 1;

	src = sqlite3_open_v2(dest_path, &dst,
			      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		mica_log(MICA_LOG_ERR, "db: backup open: %s", sqlite3_errstr(src));
		unavail(err, "cannot open the backup file");
		goto out;
	}
	sqlite3_extended_result_codes(dst, 1);
	if ((bk = sqlite3_backup_init(dst, "main", db->h, "main")) == NULL) {
		mica_log(MICA_LOG_ERR, "db: backup init: %s", sqlite3_errmsg(dst));
		unavail(err, "cannot start the backup");
		goto out;
	}
	/* One step copies everything under a single read transaction of the
	 * source: consistent, and WAL lets writers continue meanwhile. BUSY
	 * or LOCKED (a writer holding a lock the copy needs) are retried for
	 * about as long as the busy timeout. */
	for (;;) {
		src = sqlite3_backup_step(bk, -1);
		if (src == SQLITE_DONE)
			break;
		if (((src & 0xff) == SQLITE_BUSY || (src & 0xff) == SQLITE_LOCKED) &&
		    tries++ < DB_BUSY_TIMEOUT_MS / 20) {
			nanosleep(&pause, NULL);
			continue;
		}
		mica_log(MICA_LOG_ERR, "db: backup step: %s", sqlite3_errstr(src));
		db_fail(NULL, src, NULL, NULL, err);
		goto out;
	}
	src = sqlite3_backup_finish(bk);
	bk = NULL;
	if (src != SQLITE_OK) {
		mica_log(MICA_LOG_ERR, "db: backup finish: %s", sqlite3_errstr(src));
		db_fail(NULL, src, NULL, NULL, err);
		goto out;
	}
	src = sqlite3_close(dst);
	dst = NULL;
	if (src != SQLITE_OK) {
		db_fail(NULL, src, NULL, NULL, err);
		goto out;
	}
	rc = 0;
out:
	if (bk != NULL)
		sqlite3_backup_finish(bk);
	if (dst != NULL)
		sqlite3_close_v2(dst);
	if (rc != 0 && created)
		unlink_created(dest_path);
	return rc;
}

/* ------------------------------------------------------------------ */
/* CA, domains, profiles, settings                                     */
/* ------------------------------------------------------------------ */

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
	bind_blob(st, 5, ca->key_salt, ca->key_salt_len, b);
	bind_i64(st, 6, ca->key_iter, b);
	bind_blob(st, 7, ca->key_nonce, ca->key_nonce_len, b);
	bind_blob(st, 8, ca->key_ct, ca->key_ct_len, b);
}

int
db_ca_insert(struct db *db, const struct db_ca *ca, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL || ca == NULL)
		return bad_arg(err);
	if (!id_ok(ca->name, TEXT_MAX) || !id_ok(ca->key_type, TEXT_MAX) ||
	    !text_ok(ca->public_url) || ca->cert_der == NULL ||
	    ca->cert_len == 0 || !sealed_key_ok(ca) || ca->crl_days <= 0)
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "incomplete CA record");
	if ((st = stmt_get(db, S_CA_INSERT, err)) == NULL)
		goto out;
	bind_text(st, 1, ca->name, &b);
	/* A CA without a public URL yet has "" (db_ca_get never returns NULL). */
	bind_text(st, 2, ca->public_url != NULL ? ca->public_url : "", &b);
	bind_text(st, 3, ca->key_type, &b);
	bind_blob(st, 4, ca->cert_der, ca->cert_len, &b);
	bind_sealed_key(st, ca, &b);
	bind_i64(st, 9, ca->crl_days, &b);
	bind_i64(st, 10, ca->created_at, &b);
	if (binds_ok(db, b, err) != 0 ||
	    step_done(db, st, "ca_exists", "the CA is already initialised",
		      err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

int
db_ca_update_key(struct db *db, const struct db_ca *ca, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL || ca == NULL)
		return bad_arg(err);
	if (!sealed_key_ok(ca))
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "incomplete key record");
	if ((st = stmt_get(db, S_CA_UPDATE_KEY, err)) == NULL)
		goto out;
	bind_sealed_key(st, ca, &b);
	if (binds_ok(db, b, err) != 0 ||
	    step_done(db, st, "conflict", "conflict", err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		mica_err_set(err, MICA_E_NOTFOUND, "ca_not_found",
			     "the CA has not been initialised");
		goto out;
	}
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

int
db_ca_get(struct db *db, struct db_ca *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;
	int64_t days;

	if (db == NULL || out == NULL)
		return bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = stmt_get(db, S_CA_GET, err)) == NULL)
		goto out;
	if ((r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "ca_not_found",
			     "the CA has not been initialised");
		goto out;
	}
	days = sqlite3_column_int64(st, 8);
	if (col_str(st, 0, &out->name) != 0 ||
	    col_str(st, 1, &out->public_url) != 0 ||
	    col_str(st, 2, &out->key_type) != 0 ||
	    col_blob(st, 3, &out->cert_der, &out->cert_len) != 0 ||
	    col_blob(st, 4, &out->key_salt, &out->key_salt_len) != 0 ||
	    col_blob(st, 6, &out->key_nonce, &out->key_nonce_len) != 0 ||
	    col_blob(st, 7, &out->key_ct, &out->key_ct_len) != 0) {
		oom(err);
		goto out;
	}
	out->key_iter = sqlite3_column_int64(st, 5);
	out->crl_days = days > INT_MAX ? INT_MAX : (int)days;
	out->created_at = sqlite3_column_int64(st, 9);
	rc = 0;
out:
	stmt_done(st);
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
		return fault(err);
	if (db == NULL)
		return bad_arg(err);
	if (!domain_ok(domain))
		return mica_err_set(err, MICA_E_BADREQ, "bad_domain",
				    "a domain is 1 to 253 lowercase characters "
				    "without a trailing dot");
	if ((st = stmt_get(db, S_DOMAIN_ADD, err)) == NULL)
		goto out;
	bind_text(st, 1, domain, &b);
	if (binds_ok(db, b, err) != 0 ||
	    step_done(db, st, "domain_exists", "the domain is already allowed",
		      err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

int
db_domain_remove(struct db *db, const char *domain, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL || domain == NULL)
		return bad_arg(err);
	if ((st = stmt_get(db, S_DOMAIN_REMOVE, err)) == NULL)
		goto out;
	bind_text(st, 1, domain, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		mica_err_set(err, MICA_E_NOTFOUND, "domain_not_found",
			     "the domain is not in the allowed list");
		goto out;
	}
	rc = 0;
out:
	stmt_done(st);
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
		return bad_arg(err);
	*out = NULL;
	if ((st = stmt_get(db, S_DOMAIN_LIST, err)) == NULL)
		goto out;
	for (;;) {
		/* Room for this entry and the terminating NULL. */
		if (grow((void **)&v, &cap, n + 1, sizeof(*v)) != 0) {
			oom(err);
			goto out;
		}
		if ((r = step_row(db, st, err)) < 0)
			goto out;
		if (r == 0)
			break;
		if (col_str(st, 0, &v[n]) != 0 || v[n] == NULL) {
			oom(err);
			goto out;
		}
		n++;
	}
	v[n] = NULL;
	*out = v;
	v = NULL;
	rc = 0;
out:
	stmt_done(st);
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
		return fault(err);
	if (db == NULL || !id_ok(profile, KEY_MAX))
		return bad_arg(err);
	if (default_days < 1 || max_days < default_days || max_days > DAYS_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days",
				    "validity must satisfy 1 <= default <= max "
				    "<= %d days", DAYS_MAX);
	if ((st = stmt_get(db, S_PROFILE_SET, err)) == NULL)
		goto out;
	bind_text(st, 1, profile, &b);
	bind_i64(st, 2, default_days, &b);
	bind_i64(st, 3, max_days, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
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
		return bad_arg(err);
	if ((st = stmt_get(db, S_PROFILE_GET, err)) == NULL)
		goto out;
	bind_text(st, 1, profile, &b);
	if (binds_ok(db, b, err) != 0 || (r = step_row(db, st, err)) < 0)
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
	stmt_done(st);
	return rc;
}

int
db_setting_set(struct db *db, const char *key, const char *value,
	       struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL || !id_ok(key, KEY_MAX + 1) || value == NULL)
		return bad_arg(err);
	if (!text_ok(value))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "setting value too long");
	if ((st = stmt_get(db, S_SETTING_SET, err)) == NULL)
		goto out;
	bind_text(st, 1, key, &b);
	bind_text(st, 2, value, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

int
db_setting_get(struct db *db, const char *key, char **out,
	       struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || key == NULL || out == NULL)
		return bad_arg(err);
	*out = NULL;
	if ((st = stmt_get(db, S_SETTING_GET, err)) == NULL)
		goto out;
	bind_text(st, 1, key, &b);
	if (binds_ok(db, b, err) != 0 || (r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "setting_not_found",
			     "the setting is not set");
		goto out;
	}
	if (col_str(st, 0, out) != 0 || *out == NULL) {
		oom(err);
		goto out;
	}
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Certificates                                                        */
/* ------------------------------------------------------------------ */

/* Fill C from a row of CERT_COLS (plus der at column 15 if WITH_DER). */
static int
cert_read(sqlite3_stmt *st, struct db_cert *c, int with_der,
	  struct mica_err *err)
{
	const void *spki;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	spki = sqlite3_column_blob(st, 8);
	if (col_fixed(st, 1, c->serial, sizeof(c->serial)) != 0 ||
	    col_fixed(st, 12, c->renewal_of, sizeof(c->renewal_of)) != 0 ||
	    col_fixed(st, 13, c->renewed_by, sizeof(c->renewed_by)) != 0 ||
	    spki == NULL || sqlite3_column_bytes(st, 8) != 32) {
		mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
			     "a stored certificate record is malformed");
		goto out;
	}
	memcpy(c->spki_sha256, spki, 32);
	if (col_str(st, 2, &c->profile) != 0 ||
	    col_str(st, 3, &c->subject) != 0 ||
	    col_str(st, 4, &c->names) != 0 ||
	    col_str(st, 5, &c->request_id) != 0 ||
	    (with_der && col_blob(st, 15, &c->der, &c->der_len) != 0)) {
		oom(err);
		goto out;
	}
	c->not_before = sqlite3_column_int64(st, 6);
	c->not_after = sqlite3_column_int64(st, 7);
	c->status = sqlite3_column_int(st, 9);
	c->revoked_at = sqlite3_column_int64(st, 10);
	c->reason = sqlite3_column_int(st, 11);
	c->created_at = sqlite3_column_int64(st, 14);
	rc = 0;
out:
	if (rc != 0)
		db_cert_free(c);
	return rc;
}

/* Status and reason of SERIAL: 1 found, 0 unknown, -1 error. */
static int
cert_state(struct db *db, const char *serial, int *status, int *reason,
	   struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK, r;

	if ((st = stmt_get(db, S_CERT_STATE, err)) == NULL)
		return -1;
	bind_text(st, 1, serial, &b);
	if (binds_ok(db, b, err) != 0)
		r = -1;
	else if ((r = step_row(db, st, err)) == 1) {
		*status = sqlite3_column_int(st, 0);
		*reason = sqlite3_column_int(st, 1);
	}
	stmt_done(st);
	return r;
}

static int
cert_not_found(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_NOTFOUND, "certificate_not_found",
			    "no certificate with this serial");
}

int
db_cert_reserve(struct db *db, const struct db_cert *c, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *p, *end = NULL;
	size_t len = 0;
	int rc = -1, b = SQLITE_OK, own = 0, in_sp = 0;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL || c == NULL || c->profile == NULL)
		return bad_arg(err);
	if (!serial_ok(c->serial) ||
	    (c->renewal_of[0] != '\0' && !serial_ok(c->renewal_of)) ||
	    (c->renewed_by[0] != '\0' && !serial_ok(c->renewed_by)))
		return bad_serial(err);
	if (!text_ok(c->profile) || !text_ok(c->subject) || !text_ok(c->names) ||
	    !text_ok(c->request_id))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "certificate record too large");
	if (c->not_after < c->not_before)
		return mica_err_set(err, MICA_E_BADREQ, "bad_validity",
				    "notAfter precedes notBefore");

	/* The certificate and its name rows land together or not at all. */
	if (sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	if ((st = stmt_get(db, S_CERT_RESERVE, err)) == NULL)
		goto out;
	bind_text(st, 1, c->serial, &b);
	bind_text(st, 2, c->profile, &b);
	bind_text(st, 3, c->subject != NULL ? c->subject : "", &b);
	bind_text(st, 4, c->names != NULL ? c->names : "", &b);
	bind_text(st, 5, c->request_id, &b);
	bind_i64(st, 6, c->not_before, &b);
	bind_i64(st, 7, c->not_after, &b);
	bind_blob(st, 8, c->spki_sha256, sizeof(c->spki_sha256), &b);
	bind_serial_opt(st, 9, c->renewal_of, &b);
	bind_serial_opt(st, 10, c->renewed_by, &b);
	bind_i64(st, 11, c->created_at, &b);
	if (binds_ok(db, b, err) != 0 ||
	    step_done(db, st, "serial_collision",
		      "a certificate with this serial already exists", err) != 0)
		goto out;
	stmt_done(st);
	st = NULL;

	if ((st = stmt_get(db, S_CERT_NAME_ADD, err)) == NULL)
		goto out;
	for (p = c->names; p != NULL && *p != '\0'; p += len + (end != NULL)) {
		end = strchr(p, '\n');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 0)
			continue;  /* empty line */
		b = SQLITE_OK;
		bind_text(st, 1, c->serial, &b);
		bind_textn(st, 2, p, len, &b);
		if (binds_ok(db, b, err) != 0 ||
		    step_done(db, st, NULL, NULL, err) != 0)
			goto out;
		stmt_done(st);
	}
	stmt_done(st);
	st = NULL;
	in_sp = 0;
	if (sp_commit(db, own, err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	if (in_sp)
		sp_abort(db, own);
	return rc;
}

int
db_cert_complete(struct db *db, const char *serial, const unsigned char *der,
		 size_t der_len, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, status = 0, reason = 0, r;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL || der == NULL || der_len == 0)
		return bad_arg(err);
	if (!serial_ok(serial))
		return bad_serial(err);
	if ((st = stmt_get(db, S_CERT_COMPLETE, err)) == NULL)
		goto out;
	bind_text(st, 1, serial, &b);
	bind_blob(st, 2, der, der_len, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	stmt_done(st);

	/* Not ISSUING. If it was revoked while being signed, the signed
	 * certificate still exists and must be on record. */
	if ((st = stmt_get(db, S_CERT_COMPLETE_LATE, err)) == NULL)
		goto out;
	b = SQLITE_OK;
	bind_text(st, 1, serial, &b);
	bind_blob(st, 2, der, der_len, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		mica_err_set(err, MICA_E_CONFLICT, "not_issuing",
			     "the certificate was revoked while it was being "
			     "issued; it is recorded as revoked");
		goto out;
	}
	stmt_done(st);
	st = NULL;
	if ((r = cert_state(db, serial, &status, &reason, err)) < 0)
		goto out;
	if (r == 0)
		cert_not_found(err);
	else
		mica_err_set(err, MICA_E_CONFLICT, "not_issuing",
			     "the certificate is not being issued");
out:
	stmt_done(st);
	return rc;
}

int
db_cert_discard(struct db *db, const char *serial, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, own = 0, in_sp = 0, status = 0, reason = 0, r;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL)
		return bad_arg(err);
	if (!serial_ok(serial))
		return bad_serial(err);
	if (sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	if ((st = stmt_get(db, S_CERT_DISCARD_UNLINK, err)) == NULL)
		goto out;
	bind_text(st, 1, serial, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	stmt_done(st);
	/* Its cert_name rows go by ON DELETE CASCADE. */
	if ((st = stmt_get(db, S_CERT_DISCARD, err)) == NULL)
		goto out;
	bind_text(st, 1, serial, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		stmt_done(st);
		st = NULL;
		if ((r = cert_state(db, serial, &status, &reason, err)) < 0)
			goto out;
		if (r == 0)
			cert_not_found(err);
		else
			mica_err_set(err, MICA_E_CONFLICT, "not_issuing",
				     "only a certificate that was never signed "
				     "can be discarded");
		goto out;
	}
	stmt_done(st);
	st = NULL;
	in_sp = 0;
	if (sp_commit(db, own, err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	if (in_sp)
		sp_abort(db, own);
	return rc;
}

int
db_cert_get(struct db *db, const char *serial, struct db_cert *out,
	    struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || serial == NULL || out == NULL)
		return bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = stmt_get(db, S_CERT_GET, err)) == NULL)
		goto out;
	bind_text(st, 1, serial, &b);
	if (binds_ok(db, b, err) != 0 || (r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		cert_not_found(err);
		goto out;
	}
	if (cert_read(st, out, 1, err) != 0)
		goto out;
	/* The group-commit writer makes a commit visible before its WAL
	 * sync; a certificate must be on disk before anyone receives it, so
	 * sync what we read (cheap when there is nothing left to write). */
	if (out->der != NULL && db_int_wal_sync(db, err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	if (rc != 0)
		db_cert_free(out);
	return rc;
}

void
db_cert_free(struct db_cert *c)
{
	if (c == NULL)
		return;
	free(c->profile);
	free(c->subject);
	free(c->names);
	free(c->request_id);
	free(c->der);
	memset(c, 0, sizeof(*c));
}

/* "%" + S with LIKE's wildcards and the escape character escaped + "%". */
static char *
like_pattern(const char *s)
{
	size_t n = strlen(s), j = 0;
	char *p = malloc(2 * n + 3);

	if (p == NULL)
		return NULL;
	p[j++] = '%';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			p[j++] = '\\';
		p[j++] = s[i];
	}
	p[j++] = '%';
	p[j] = '\0';
	return p;
}

int
db_cert_list(struct db *db, const struct db_cert_filter *f,
	     struct db_cert **out, size_t *n, int64_t *next_cursor,
	     struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_cert *a = NULL;
	size_t cnt = 0, cap = 0;
	char *pattern = NULL;
	int rc = -1, b = SQLITE_OK, r, limit;

	if (db == NULL || f == NULL || out == NULL || n == NULL ||
	    next_cursor == NULL)
		return bad_arg(err);
	*out = NULL;
	*n = 0;
	*next_cursor = 0;
	if (f->status != -1 && f->status != DB_CERT_ISSUING &&
	    f->status != DB_CERT_VALID && f->status != DB_CERT_REVOKED &&
	    f->status != DB_FILTER_EXPIRED && f->status != DB_FILTER_CURRENT)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "unknown certificate status filter");
	if (f->cursor < 0 || f->expiring_before < 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "invalid cursor or date");
	if (f->name != NULL) {
		if (strnlen(f->name, LIKE_MAX + 1) > LIKE_MAX)
			return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
					    "name filter too long");
		if ((pattern = like_pattern(f->name)) == NULL)
			return oom(err);
	}
	limit = clamp_limit(f->limit, LIST_MAX);

	if ((st = stmt_get(db, S_CERT_LIST, err)) == NULL)
		goto out;
	bind_i64(st, 1, f->cursor > 0 ? f->cursor : INT64_MAX, &b);
	bind_i64(st, 2, f->status, &b);
	bind_i64(st, 3, f->now, &b);
	bind_i64(st, 4, f->expiring_before, &b);
	bind_text(st, 5, pattern, &b);
	/* One more than asked: its presence says there is a next page. */
	bind_i64(st, 6, (int64_t)limit + 1, &b);
	if (binds_ok(db, b, err) != 0)
		goto out;
	for (;;) {
		if ((r = step_row(db, st, err)) < 0)
			goto out;
		if (r == 0)
			break;
		if (cnt == (size_t)limit) {
			*next_cursor = a[cnt - 1].id;
			break;
		}
		if (grow((void **)&a, &cap, cnt, sizeof(*a)) != 0) {
			oom(err);
			goto out;
		}
		if (cert_read(st, &a[cnt], 0, err) != 0)
			goto out;
		cnt++;
	}
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	stmt_done(st);
	free(pattern);
	db_cert_array_free(a, cnt);
	if (rc != 0)
		*next_cursor = 0;
	return rc;
}

void
db_cert_array_free(struct db_cert *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_cert_free(&a[i]);
	free(a);
}

int
db_cert_revoke(struct db *db, const char *serial, int reason, int64_t at,
	       struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, status = 0, old_reason = 0, r;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL)
		return bad_arg(err);
	if (!serial_ok(serial))
		return bad_serial(err);
	if (!reason_ok(reason))
		return mica_err_set(err, MICA_E_BADREQ, "bad_reason",
				    "unknown revocation reason %d", reason);
	if ((st = stmt_get(db, S_CERT_REVOKE, err)) == NULL)
		goto out;
	bind_text(st, 1, serial, &b);
	bind_i64(st, 2, at, &b);
	bind_i64(st, 3, reason, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	stmt_done(st);
	st = NULL;
	if ((r = cert_state(db, serial, &status, &old_reason, err)) < 0)
		goto out;
	if (r == 0)
		cert_not_found(err);
	else
		mica_err_set(err, MICA_E_CONFLICT, "already_revoked",
			     old_reason == 6 ?
			     "the certificate is already on hold" :
			     "the certificate is already revoked");
out:
	stmt_done(st);
	return rc;
}

int
db_cert_unrevoke(struct db *db, const char *serial, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, status = 0, reason = 0, r;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL)
		return bad_arg(err);
	if (!serial_ok(serial))
		return bad_serial(err);
	if ((st = stmt_get(db, S_CERT_UNREVOKE, err)) == NULL)
		goto out;
	bind_text(st, 1, serial, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	stmt_done(st);
	st = NULL;
	if ((r = cert_state(db, serial, &status, &reason, err)) < 0)
		goto out;
	if (r == 0)
		cert_not_found(err);
	else
		mica_err_set(err, MICA_E_CONFLICT, "not_on_hold",
			     "only a certificate on hold (certificateHold) "
			     "can be reinstated");
out:
	stmt_done(st);
	return rc;
}

int
db_cert_link_renewal(struct db *db, const char *old_serial,
		     const char *new_serial, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, own = 0, in_sp = 0;
	const enum stmt_id ids[2] = { S_CERT_LINK_OLD, S_CERT_LINK_NEW };

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL)
		return bad_arg(err);
	if (!serial_ok(old_serial) || !serial_ok(new_serial))
		return bad_serial(err);
	if (strcmp(old_serial, new_serial) == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "a certificate cannot renew itself");
	if (sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	/* Both sides or neither; each must exist. */
	for (int i = 0; i < 2; i++) {
		if ((st = stmt_get(db, ids[i], err)) == NULL)
			goto out;
		b = SQLITE_OK;
		bind_text(st, 1, old_serial, &b);
		bind_text(st, 2, new_serial, &b);
		if (binds_ok(db, b, err) != 0 ||
		    step_done(db, st, NULL, NULL, err) != 0)
			goto out;
		if (sqlite3_changes(db->h) != 1) {
			cert_not_found(err);
			goto out;
		}
		stmt_done(st);
		st = NULL;
	}
	in_sp = 0;
	if (sp_commit(db, own, err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	if (in_sp)
		sp_abort(db, own);
	return rc;
}

int
db_revoked_foreach(struct db *db, int64_t now, db_revoked_cb cb, void *ctx,
		   struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *serial;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || cb == NULL)
		return bad_arg(err);
	if ((st = stmt_get(db, S_REVOKED, err)) == NULL)
		goto out;
	bind_i64(st, 1, now, &b);
	if (binds_ok(db, b, err) != 0)
		goto out;
	/* Rows are handed out straight from SQLite's buffers: nothing is
	 * allocated per certificate. */
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((serial = sqlite3_column_text(st, 0)) == NULL) {
			oom(err);
			goto out;
		}
		if (cb(ctx, (const char *)serial, sqlite3_column_int64(st, 1),
		       sqlite3_column_int(st, 2)) != 0)
			goto out;  /* stopped by the caller: err untouched */
	}
	if (r != SQLITE_DONE) {
		db_fail(db, r, NULL, NULL, err);
		goto out;
	}
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

int
db_counts(struct db *db, int64_t now, struct db_counts *out,
	  struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL)
		return bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = stmt_get(db, S_COUNTS, err)) == NULL)
		goto out;
	bind_i64(st, 1, now, &b);
	if (binds_ok(db, b, err) != 0 || (r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 1) {
		/* valid: not expired at NOW; expired: valid but past notAfter;
		 * revoked: all revoked, expired or not. */
		out->issuing = sqlite3_column_int64(st, 0);
		out->valid = sqlite3_column_int64(st, 1);
		out->revoked = sqlite3_column_int64(st, 2);
		out->expired = sqlite3_column_int64(st, 3);
		out->pending_requests = sqlite3_column_int64(st, 4);
	}
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

/* ------------------------------------------------------------------ */
/* CRLs                                                                */
/* ------------------------------------------------------------------ */

int
db_crl_last_number(struct db *db, int64_t *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || out == NULL)
		return bad_arg(err);
	*out = 0;
	if ((st = stmt_get(db, S_CRL_LAST, err)) == NULL)
		goto out;
	if ((r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 1)
		*out = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	stmt_done(st);
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
		return fault(err);
	if (db == NULL || crl == NULL || crl->der == NULL || crl->der_len == 0)
		return bad_arg(err);
	if (crl->number < 1 || crl->next_update <= crl->this_update)
		return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
				    "a CRL needs a positive number and "
				    "nextUpdate after thisUpdate");
	/* The row and its bytes land together or not at all, and the number
	 * is checked inside the same transaction. (INSERT ... SELECT ... WHERE
	 * would do it in one statement, but makes SQLite copy the blob.) */
	if (sp_begin(db, &own, err) != 0)
		goto out;
	in_sp = 1;
	if (db_crl_last_number(db, &last, err) != 0)
		goto out;
	if (crl->number <= last) {
		mica_err_set(err, MICA_E_CONFLICT, "crl_number_not_increasing",
			     "the CRL number is not greater than the last one");
		goto out;
	}
	if ((st = stmt_get(db, S_CRL_INSERT, err)) == NULL)
		goto out;
	bind_i64(st, 1, crl->number, &b);
	bind_i64(st, 2, crl->this_update, &b);
	bind_i64(st, 3, crl->next_update, &b);
	/* Insert a zero-filled blob of the right size, then write the DER
	 * into it in place: binding the bytes themselves would make SQLite
	 * copy a CRL of tens of megabytes twice more while building the row. */
	if (b == SQLITE_OK)
		b = sqlite3_bind_zeroblob64(st, 4, crl->der_len);
	if (binds_ok(db, b, err) != 0 ||
	    step_done(db, st, "crl_number_not_increasing",
		      "the CRL number is not greater than the last one", err) != 0)
		goto out;
	stmt_done(st);
	st = NULL;
	if (blob_fill(db, "crl", "der", crl->number, crl->der, crl->der_len, err) != 0)
		goto out;
	in_sp = 0;
	if (sp_commit(db, own, err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	if (in_sp)
		sp_abort(db, own);
	return rc;
}

static int
crl_latest(struct db *db, int with_der, struct db_crl *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || out == NULL)
		return bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = stmt_get(db, with_der ? S_CRL_LATEST : S_CRL_LATEST_INFO, err)) == NULL)
		goto out;
	if ((r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		mica_err_set(err, MICA_E_NOTFOUND, "crl_not_found",
			     "no CRL has been issued yet");
		goto out;
	}
	out->number = sqlite3_column_int64(st, 0);
	out->this_update = sqlite3_column_int64(st, 1);
	out->next_update = sqlite3_column_int64(st, 2);
	if (with_der && col_blob(st, 3, &out->der, &out->der_len) != 0) {
		oom(err);
		goto out;
	}
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

int
db_crl_latest(struct db *db, struct db_crl *out, struct mica_err *err)
{
	return crl_latest(db, 1, out, err);
}

int
db_crl_latest_info(struct db *db, struct db_crl *out, struct mica_err *err)
{
	return crl_latest(db, 0, out, err);
}

void
db_crl_free(struct db_crl *crl)
{
	if (crl == NULL)
		return;
	free(crl->der);
	memset(crl, 0, sizeof(*crl));
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

static int
req_read(sqlite3_stmt *st, struct db_request *r, struct mica_err *err)
{
	int64_t days;

	memset(r, 0, sizeof(*r));
	if (col_fixed(st, 0, r->id, sizeof(r->id)) != 0 ||
	    col_fixed(st, 12, r->serial, sizeof(r->serial)) != 0) {
		db_req_free(r);
		return mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
				    "a stored request record is malformed");
	}
	if (col_str(st, 2, &r->profile) != 0 ||
	    col_blob(st, 3, &r->csr_der, &r->csr_len) != 0 ||
	    col_str(st, 4, &r->names) != 0 ||
	    col_str(st, 5, &r->subject) != 0 ||
	    col_str(st, 7, &r->client) != 0 ||
	    col_str(st, 10, &r->decided_by) != 0 ||
	    col_str(st, 11, &r->deny_reason) != 0) {
		db_req_free(r);
		return oom(err);
	}
	r->status = sqlite3_column_int(st, 1);
	days = sqlite3_column_int64(st, 6);
	r->days = days > INT_MAX ? INT_MAX : (int)days;
	r->submitted_at = sqlite3_column_int64(st, 8);
	r->decided_at = sqlite3_column_int64(st, 9);
	return 0;
}

static int
req_not_found(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_NOTFOUND, "request_not_found",
			    "no request with this id");
}

int
db_req_insert(struct db *db, const struct db_request *r, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL || r == NULL || r->profile == NULL)
		return bad_arg(err);
	if (!id_ok(r->id, sizeof(r->id)))
		return mica_err_set(err, MICA_E_BADREQ, "bad_request_id",
				    "invalid request id");
	if (r->csr_der == NULL || r->csr_len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "a request needs its CSR");
	if (r->status != DB_REQ_PENDING && r->status != DB_REQ_ISSUED &&
	    r->status != DB_REQ_DENIED)
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "unknown request status");
	if (r->status == DB_REQ_ISSUED && !serial_ok(r->serial))
		return bad_serial(err);
	if (r->days < 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days",
				    "negative validity");
	if (!text_ok(r->profile) || !text_ok(r->names) || !text_ok(r->subject) ||
	    !text_ok(r->client) || !text_ok(r->decided_by) ||
	    !text_ok(r->deny_reason))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "request record too large");
	if ((st = stmt_get(db, S_REQ_INSERT, err)) == NULL)
		goto out;
	bind_text(st, 1, r->id, &b);
	bind_i64(st, 2, r->status, &b);
	bind_text(st, 3, r->profile, &b);
	bind_blob(st, 4, r->csr_der, r->csr_len, &b);
	bind_text(st, 5, r->names != NULL ? r->names : "", &b);
	bind_text(st, 6, r->subject != NULL ? r->subject : "", &b);
	bind_i64(st, 7, r->days, &b);
	bind_text(st, 8, r->client != NULL ? r->client : "", &b);
	bind_i64(st, 9, r->submitted_at, &b);
	bind_i64(st, 10, r->decided_at, &b);
	bind_text(st, 11, r->decided_by, &b);
	bind_text(st, 12, r->deny_reason, &b);
	bind_serial_opt(st, 13, r->serial, &b);
	if (binds_ok(db, b, err) != 0 ||
	    step_done(db, st, "request_exists",
		      "a request with this id already exists", err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

int
db_req_get(struct db *db, const char *id, struct db_request *out,
	   struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || id == NULL || out == NULL)
		return bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = stmt_get(db, S_REQ_GET, err)) == NULL)
		goto out;
	bind_text(st, 1, id, &b);
	if (binds_ok(db, b, err) != 0 || (r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		req_not_found(err);
		goto out;
	}
	if (req_read(st, out, err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

void
db_req_free(struct db_request *r)
{
	if (r == NULL)
		return;
	free(r->profile);
	free(r->csr_der);
	free(r->names);
	free(r->subject);
	free(r->client);
	free(r->decided_by);
	free(r->deny_reason);
	memset(r, 0, sizeof(*r));
}

int
db_req_list(struct db *db, int status, int limit, struct db_request **out,
	    size_t *n, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_request *a = NULL;
	size_t cnt = 0, cap = 0;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL || n == NULL)
		return bad_arg(err);
	*out = NULL;
	*n = 0;
	if (status != -1 && status != DB_REQ_PENDING && status != DB_REQ_ISSUED &&
	    status != DB_REQ_DENIED)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "unknown request status filter");
	if ((st = stmt_get(db, status == -1 ? S_REQ_LIST : S_REQ_LIST_STATUS,
			   err)) == NULL)
		goto out;
	if (status != -1)
		bind_i64(st, 1, status, &b);
	bind_i64(st, 2, clamp_limit(limit, REQ_LIST_MAX), &b);
	if (binds_ok(db, b, err) != 0)
		goto out;
	for (;;) {
		if ((r = step_row(db, st, err)) < 0)
			goto out;
		if (r == 0)
			break;
		if (grow((void **)&a, &cap, cnt, sizeof(*a)) != 0) {
			oom(err);
			goto out;
		}
		if (req_read(st, &a[cnt], err) != 0)
			goto out;
		cnt++;
	}
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	stmt_done(st);
	db_req_array_free(a, cnt);
	return rc;
}

void
db_req_array_free(struct db_request *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_req_free(&a[i]);
	free(a);
}

int
db_req_decide(struct db *db, const char *id, int status, const char *by,
	      const char *serial, const char *reason, int64_t at,
	      struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL || id == NULL || !id_ok(by, TEXT_MAX))
		return bad_arg(err);
	if (status != DB_REQ_ISSUED && status != DB_REQ_DENIED)
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "a request is decided as issued or denied");
	if (status == DB_REQ_ISSUED && !serial_ok(serial))
		return bad_serial(err);
	if (!text_ok(reason))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "denial reason too long");
	if ((st = stmt_get(db, S_REQ_DECIDE, err)) == NULL)
		goto out;
	bind_text(st, 1, id, &b);
	bind_i64(st, 2, status, &b);
	bind_text(st, 3, by, &b);
	bind_i64(st, 4, at, &b);
	/* Only what belongs to the decision: an issued request has no denial
	 * reason, a denied one no serial. */
	bind_text(st, 5, status == DB_REQ_ISSUED ? serial : NULL, &b);
	bind_text(st, 6, status == DB_REQ_DENIED ? reason : NULL, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	stmt_done(st);
	if ((st = stmt_get(db, S_REQ_EXISTS, err)) == NULL)
		goto out;
	b = SQLITE_OK;
	bind_text(st, 1, id, &b);
	if (binds_ok(db, b, err) != 0 || (r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 0)
		req_not_found(err);
	else
		mica_err_set(err, MICA_E_CONFLICT, "already_decided",
			     "the request has already been decided");
out:
	stmt_done(st);
	return rc;
}

int
db_req_count_pending(struct db *db, int64_t *out, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (db == NULL || out == NULL)
		return bad_arg(err);
	*out = 0;
	if ((st = stmt_get(db, S_REQ_PENDING, err)) == NULL)
		goto out;
	if ((r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 1)
		*out = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Tokens                                                              */
/* ------------------------------------------------------------------ */

static int
token_read(sqlite3_stmt *st, struct db_token *t, struct mica_err *err)
{
	const void *h;

	memset(t, 0, sizeof(*t));
	h = sqlite3_column_blob(st, 1);
	if (col_fixed(st, 0, t->id, sizeof(t->id)) != 0 || h == NULL ||
	    sqlite3_column_bytes(st, 1) != (int)sizeof(t->hash)) {
		db_token_free(t);
		return mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
				    "a stored token record is malformed");
	}
	memcpy(t->hash, h, sizeof(t->hash));
	if (col_str(st, 3, &t->profile) != 0 ||
	    col_str(st, 4, &t->names) != 0 ||
	    col_str(st, 8, &t->created_by) != 0 ||
	    col_str(st, 9, &t->comment) != 0) {
		db_token_free(t);
		return oom(err);
	}
	t->kind = sqlite3_column_int(st, 2);
	t->uses_left = sqlite3_column_int64(st, 5);
	t->expires_at = sqlite3_column_int64(st, 6);
	t->created_at = sqlite3_column_int64(st, 7);
	t->revoked = sqlite3_column_int(st, 10);
	t->last_used_at = sqlite3_column_int64(st, 11);
	return 0;
}

static int
token_not_found(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_NOTFOUND, "token_not_found",
			    "no such token");
}

/* 1 if token ID exists, 0 if not, -1 on error. */
static int
token_exists(struct db *db, const char *id, struct mica_err *err)
{
	sqlite3_stmt *st;
	int b = SQLITE_OK, r;

	if ((st = stmt_get(db, S_TOKEN_EXISTS, err)) == NULL)
		return -1;
	bind_text(st, 1, id, &b);
	r = binds_ok(db, b, err) != 0 ? -1 : step_row(db, st, err);
	stmt_done(st);
	return r;
}

int
db_token_insert(struct db *db, const struct db_token *t, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL || t == NULL)
		return bad_arg(err);
	if (!id_ok(t->id, sizeof(t->id)))
		return mica_err_set(err, MICA_E_BADREQ, "bad_token_id",
				    "invalid token id");
	if ((t->kind != DB_TOKEN_ENROLL && t->kind != DB_TOKEN_ADMIN) ||
	    t->uses_left < -1 || t->expires_at < 0 ||
	    (t->revoked != 0 && t->revoked != 1))
		return mica_err_set(err, MICA_E_BADREQ, "invalid_argument",
				    "invalid token record");
	if (!text_ok(t->profile) || !text_ok(t->names) ||
	    !text_ok(t->created_by) || !text_ok(t->comment))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "token record too large");
	if ((st = stmt_get(db, S_TOKEN_INSERT, err)) == NULL)
		goto out;
	bind_text(st, 1, t->id, &b);
	bind_blob(st, 2, t->hash, sizeof(t->hash), &b);
	bind_i64(st, 3, t->kind, &b);
	bind_text(st, 4, t->profile, &b);
	bind_text(st, 5, t->names, &b);
	bind_i64(st, 6, t->uses_left, &b);
	bind_i64(st, 7, t->expires_at, &b);
	bind_i64(st, 8, t->created_at, &b);
	bind_text(st, 9, t->created_by, &b);
	bind_text(st, 10, t->comment, &b);
	bind_i64(st, 11, t->revoked, &b);
	bind_i64(st, 12, t->last_used_at, &b);
	if (binds_ok(db, b, err) != 0 ||
	    step_done(db, st, "token_exists",
		      "a token with this id already exists", err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

int
db_token_get(struct db *db, const char *id, struct db_token *out,
	     struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || id == NULL || out == NULL)
		return bad_arg(err);
	memset(out, 0, sizeof(*out));
	if ((st = stmt_get(db, S_TOKEN_GET, err)) == NULL)
		goto out;
	bind_text(st, 1, id, &b);
	if (binds_ok(db, b, err) != 0 || (r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 0) {
		token_not_found(err);
		goto out;
	}
	if (token_read(st, out, err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

void
db_token_free(struct db_token *t)
{
	if (t == NULL)
		return;
	free(t->profile);
	free(t->names);
	free(t->created_by);
	free(t->comment);
	memset(t, 0, sizeof(*t));
}

int
db_token_consume(struct db *db, const char *id, int64_t now,
		 struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL || id == NULL)
		return bad_arg(err);
	if ((st = stmt_get(db, S_TOKEN_CONSUME, err)) == NULL)
		goto out;
	bind_text(st, 1, id, &b);
	bind_i64(st, 2, now, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) == 1) {
		rc = 0;
		goto out;
	}
	stmt_done(st);
	st = NULL;
	if ((r = token_exists(db, id, err)) < 0)
		goto out;
	if (r == 0)
		token_not_found(err);
	else
		mica_err_set(err, MICA_E_FORBIDDEN, "token_exhausted",
			     "the token is revoked, expired or used up");
out:
	stmt_done(st);
	return rc;
}

/* Run a one-parameter-or-two token UPDATE that must hit exactly one row. */
static int
token_update(struct db *db, enum stmt_id id, const char *token_id,
	     int64_t arg, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (db == NULL || token_id == NULL)
		return bad_arg(err);
	if ((st = stmt_get(db, id, err)) == NULL)
		goto out;
	bind_text(st, 1, token_id, &b);
	if (sqlite3_bind_parameter_count(st) >= 2)
		bind_i64(st, 2, arg, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	if (sqlite3_changes(db->h) != 1) {
		token_not_found(err);
		goto out;
	}
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

int
db_token_refund(struct db *db, const char *id, struct mica_err *err)
{
	if (MICA_FAULT("db_write"))
		return fault(err);
	return token_update(db, S_TOKEN_REFUND, id, 0, err);
}

int
db_token_touch(struct db *db, const char *id, int64_t now, struct mica_err *err)
{
	if (MICA_FAULT("db_write"))
		return fault(err);
	return token_update(db, S_TOKEN_TOUCH, id, now, err);
}

int
db_token_revoke(struct db *db, const char *id, struct mica_err *err)
{
	if (MICA_FAULT("db_write"))
		return fault(err);
	return token_update(db, S_TOKEN_REVOKE, id, 0, err);
}

int
db_token_list(struct db *db, struct db_token **out, size_t *n,
	      struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_token *a = NULL;
	size_t cnt = 0, cap = 0;
	int rc = -1, r;

	if (db == NULL || out == NULL || n == NULL)
		return bad_arg(err);
	*out = NULL;
	*n = 0;
	if ((st = stmt_get(db, S_TOKEN_LIST, err)) == NULL)
		goto out;
	for (;;) {
		if ((r = step_row(db, st, err)) < 0)
			goto out;
		if (r == 0)
			break;
		if (grow((void **)&a, &cap, cnt, sizeof(*a)) != 0) {
			oom(err);
			goto out;
		}
		if (token_read(st, &a[cnt], err) != 0)
			goto out;
		cnt++;
	}
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	stmt_done(st);
	db_token_array_free(a, cnt);
	return rc;
}

void
db_token_array_free(struct db_token *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_token_free(&a[i]);
	free(a);
}

int
db_token_count_admin(struct db *db, int64_t now, int64_t *out,
		     struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL)
		return bad_arg(err);
	*out = 0;
	if ((st = stmt_get(db, S_TOKEN_COUNT_ADMIN, err)) == NULL)
		goto out;
	bind_i64(st, 1, now, &b);
	if (binds_ok(db, b, err) != 0 || (r = step_row(db, st, err)) < 0)
		goto out;
	if (r == 1)
		*out = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Audit                                                               */
/* ------------------------------------------------------------------ */

int
db_audit_add(struct db *db, int64_t at, const char *actor, const char *action,
	     const char *target, const char *detail, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, b = SQLITE_OK;

	if (MICA_FAULT("db_write"))
		return fault(err);
	if (db == NULL || !id_ok(actor, TEXT_MAX) || !id_ok(action, TEXT_MAX))
		return bad_arg(err);
	if (!text_ok(target) || !text_ok(detail))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "audit record too large");
	if ((st = stmt_get(db, S_AUDIT_ADD, err)) == NULL)
		goto out;
	bind_i64(st, 1, at, &b);
	bind_text(st, 2, actor, &b);
	bind_text(st, 3, action, &b);
	bind_text(st, 4, target, &b);
	bind_text(st, 5, detail, &b);
	if (binds_ok(db, b, err) != 0 || step_done(db, st, NULL, NULL, err) != 0)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	return rc;
}

int
db_audit_list(struct db *db, int64_t since, int64_t before_id, int limit,
	      struct db_audit **out, size_t *n, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	struct db_audit *a = NULL;
	size_t cnt = 0, cap = 0;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || out == NULL || n == NULL)
		return bad_arg(err);
	*out = NULL;
	*n = 0;
	if ((st = stmt_get(db, S_AUDIT_LIST, err)) == NULL)
		goto out;
	bind_i64(st, 1, since, &b);
	bind_i64(st, 2, before_id > 0 ? before_id : INT64_MAX, &b);
	bind_i64(st, 3, clamp_limit(limit, AUDIT_MAX), &b);
	if (binds_ok(db, b, err) != 0)
		goto out;
	for (;;) {
		if ((r = step_row(db, st, err)) < 0)
			goto out;
		if (r == 0)
			break;
		if (grow((void **)&a, &cap, cnt, sizeof(*a)) != 0) {
			oom(err);
			goto out;
		}
		a[cnt].id = sqlite3_column_int64(st, 0);
		a[cnt].at = sqlite3_column_int64(st, 1);
		/* Count it first so that the cleanup frees a partial row. */
		cnt++;
		if (col_str(st, 2, &a[cnt - 1].actor) != 0 ||
		    col_str(st, 3, &a[cnt - 1].action) != 0 ||
		    col_str(st, 4, &a[cnt - 1].target) != 0 ||
		    col_str(st, 5, &a[cnt - 1].detail) != 0) {
			oom(err);
			goto out;
		}
	}
	*out = a;
	*n = cnt;
	a = NULL;
	cnt = 0;
	rc = 0;
out:
	stmt_done(st);
	db_audit_array_free(a, cnt);
	return rc;
}

void
db_audit_array_free(struct db_audit *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(a[i].actor);
		free(a[i].action);
		free(a[i].target);
		free(a[i].detail);
	}
	free(a);
}

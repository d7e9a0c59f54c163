/*
 * db/stmt.c - the helpers every file of the store runs its SQL with: the
 * per-connection statement cache, binding, stepping, reading columns,
 * SQLite errors as mica errors, and checks of values before they go in.
 *
 * Every statement is prepared once per connection (SQLITE_PREPARE_PERSISTENT)
 * and kept in db->st[]; after each use it is reset and its bindings cleared,
 * so no cached statement holds a read transaction open between calls. Values
 * only ever reach SQL as bound parameters.
 *
 * Where db.h leaves room, the store decides:
 *  - Error kinds beyond db.h's list: a foreign-key violation (a certificate
 *    naming an unknown request) is MICA_E_NOTFOUND "not_found"; malformed
 *    values (serial, reason, days, status) are MICA_E_BADREQ; text fields
 *    over 64 KiB are MICA_E_TOOLARGE; NULL handles or required pointers are
 *    MICA_E_INTERNAL "invalid_argument" (a caller bug). CHECK and trigger
 *    violations are MICA_E_INTERNAL "constraint_violated".
 *  - List limits (certificates, requests, audit) are clamped into range
 *    (below 1 -> 1), not refused.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/log.h"

int
db_unavail(struct mica_err *err, const char *msg)
{
	return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable", "%s", msg);
}

int
db_fault(struct mica_err *err)
{
	return db_unavail(err, "the certificate store failed to write (injected fault)");
}

int
db_bad_arg(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_INTERNAL, "invalid_argument",
			    "invalid argument to the store");
}

int
db_oom(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			    "out of memory");
}

int
db_fail(struct db *db, int rc, const char *conflict_code,
	const char *conflict_msg, struct mica_err *err)
{
	const char *detail = db != NULL && db->h != NULL ?
			     sqlite3_errmsg(db->h) : sqlite3_errstr(rc);
	int sys_errno = db != NULL && db->h != NULL ?
			sqlite3_system_errno(db->h) : 0;

	/* The message carries what the caller must know, and the log line
	 * is debug: the command line prints the message as its one line on
	 * stderr (a log line at error level would be a second), the daemon
	 * logs it with the reply it makes. */
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		mica_log(MICA_LOG_DEBUG, "db: busy: %s", detail);
		return db_unavail(err, "the certificate store is busy; try again");
	case SQLITE_FULL:
		mica_log(MICA_LOG_DEBUG, "db: full: %s", detail);
		return db_unavail(err, "the disk holding the certificate store is full");
	case SQLITE_READONLY: {
		/* Named: which store, on which mount, is what the admin
		 * must fix (or take the read-only one to where it can be
		 * written). */
		const char *file = db != NULL && db->h != NULL ?
				   sqlite3_db_filename(db->h, "main") : NULL;

		mica_log(MICA_LOG_DEBUG, "db: read-only: %s", detail);
		/* A handle opened to write whose store refuses it (its files
		 * writable, their folder not: no -wal or -shm can be made
		 * there) is "store_readonly", as db_open says of one SQLite
		 * opened read-only: 'mica backup' copies either. A handle
		 * opened read-only on purpose was never meant to write. */
		if (file != NULL && file[0] != '\0')
			return mica_err_set(err, MICA_E_UNAVAIL, db->readonly ?
					    "store_unavailable" : "store_readonly",
					    "the store %s is read-only", file);
		return db_unavail(err, "the certificate store is read-only");
	}
	case SQLITE_IOERR:
		mica_log(MICA_LOG_DEBUG, "db: I/O error (%d): %s", rc, detail);
		/* A full disk often shows as an I/O error (the -shm that
		 * cannot grow, a write of the WAL): say which. */
		if (sys_errno == ENOSPC || sys_errno == EDQUOT)
			return db_unavail(err, "the disk holding the certificate "
					  "store is full");
		if (sys_errno != 0)
			return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
					    "I/O error on the certificate store: %s",
					    strerror(sys_errno));
		return db_unavail(err, "I/O error on the certificate store");
	case SQLITE_CANTOPEN:
		mica_log(MICA_LOG_DEBUG, "db: cannot open: %s", detail);
		if (sys_errno != 0)
			return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
					    "cannot open the certificate store: %s",
					    strerror(sys_errno));
		return db_unavail(err, "cannot open the certificate store");
	case SQLITE_NOMEM:
		return db_oom(err);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		/* The message carries the detail: every caller reports it
		 * (the command line as its one line, the daemon in its log;
		 * clients get "internal error"). */
		mica_log(MICA_LOG_DEBUG, "db: corrupt: %s", detail);
		return mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
				    "the certificate store is damaged (%s)",
				    detail);
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

sqlite3_stmt *
db_stmt(struct db *db, enum db_stmt_id id, const char *const sql[S__COUNT],
	struct mica_err *err)
{
	int rc;

	assert(db != NULL && db->h != NULL);
	assert(id >= 0 && id < S__COUNT);
	/* A slot of another file's table: a programming error. */
	assert(sql[id] != NULL);
	if (db->st[id] == NULL) {
		rc = sqlite3_prepare_v3(db->h, sql[id], -1,
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
void
db_stmt_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binding helpers: each keeps the first failure in *RC and then does
 * nothing, so a run of binds is checked once. Strings and blobs are bound
 * SQLITE_STATIC: the statement is reset before the caller's data can go. */
void
db_bind_text(sqlite3_stmt *st, int i, const char *s, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = s == NULL ? sqlite3_bind_null(st, i) :
	      sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

void
db_bind_textn(sqlite3_stmt *st, int i, const char *s, size_t n, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = sqlite3_bind_text64(st, i, s, n, SQLITE_STATIC, SQLITE_UTF8);
}

/* "" means "none" for the fixed serial fields of the structs. */
void
db_bind_serial_opt(sqlite3_stmt *st, int i, const char *s, int *rc)
{
	db_bind_text(st, i, s != NULL && s[0] != '\0' ? s : NULL, rc);
}

void
db_bind_i64(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	*rc = sqlite3_bind_int64(st, i, v);
}

void
db_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n, int *rc)
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

int
db_binds_ok(struct db *db, int rc, struct mica_err *err)
{
	return rc == SQLITE_OK ? 0 : db_fail(db, rc, NULL, NULL, err);
}

/* Step a statement that returns no rows. */
int
db_step_done(struct db *db, sqlite3_stmt *st, const char *conflict_code,
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
int
db_step_row(struct db *db, sqlite3_stmt *st, struct mica_err *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(db, rc, NULL, NULL, err);
}

int
db_hash_listed(struct db *db, enum db_stmt_id id, const char *const sql[S__COUNT],
	       const unsigned char hash[32], int *out, struct mica_err *err)
{
	sqlite3_stmt *st;
	int rc = -1, b = SQLITE_OK, r;

	if (db == NULL || hash == NULL || out == NULL)
		return db_bad_arg(err);
	*out = 0;
	if ((st = db_stmt(db, id, sql, err)) == NULL)
		return -1;
	db_bind_blob(st, 1, hash, 32, &b);
	if (db_binds_ok(db, b, err) == 0 && (r = db_step_row(db, st, err)) >= 0) {
		*out = r;
		rc = 0;
	}
	db_stmt_done(st);
	return rc;
}

/* Heap copy of a text column (NULL stays NULL). -1 only on OOM. */
int
db_col_str(sqlite3_stmt *st, int i, char **out)
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
int
db_col_fixed(sqlite3_stmt *st, int i, char *buf, size_t size)
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

int
db_col_serial(sqlite3_stmt *st, int i, char buf[DB_SERIAL_MAX],
	      struct mica_err *err)
{
	if (db_col_fixed(st, i, buf, DB_SERIAL_MAX) != 0 || !db_serial_ok(buf))
		return mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
				    "a certificate's serial in the store is "
				    "malformed");
	return 0;
}

/* Heap copy of a blob column (NULL, 0 for SQL NULL). -1 only on OOM. */
int
db_col_blob(sqlite3_stmt *st, int i, unsigned char **out, size_t *len)
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
int
db_grow(void **arr, size_t *cap, size_t n, size_t size)
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

int
db_rows(struct db *db, sqlite3_stmt *st, size_t size, size_t max, db_row_fn read,
	void **arr, size_t *n, int *more, struct mica_err *err)
{
	size_t cap = *n;
	int r;

	assert(size > 0 && read != NULL);
	if (more != NULL)
		*more = 0;
	for (;;) {
		if ((r = db_step_row(db, st, err)) <= 0)
			return r;
		if (max > 0 && *n == max) {
			if (more != NULL)
				*more = 1;
			return 0;
		}
		if (db_grow(arr, &cap, *n, size) != 0)
			return db_oom(err);
		if (read(st, (char *)*arr + *n * size, err) != 0)
			return -1;
		(*n)++;
	}
}

/* RFC 5280 4.1.2.2: at most 20 octets; stored as lowercase hex. */
int
db_serial_ok(const char *s)
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

int
db_bad_serial(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
			    "a serial number is 2 to 40 lowercase hex digits");
}

/* A non-empty, NUL-terminated identifier shorter than SIZE. */
int
db_id_ok(const char *s, size_t size)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, size);
	return n > 0 && n < size;
}

int
db_text_ok(const char *s)
{
	return s == NULL || strnlen(s, DB_TEXT_MAX + 1) <= DB_TEXT_MAX;
}

int
db_clamp_limit(int limit, int max)
{
	return limit < 1 ? 1 : limit > max ? max : limit;
}


/*
 * db/db_int.h - private to db/: what the files of the store share.
 *
 * Nothing here is API (that is db/db.h). Who defines what:
 *   db.c      opening, schema migrations, transactions and savepoints
 *   stmt.c    the statement cache, binding, stepping, reading columns,
 *             SQLite errors as mica errors, checks of values going in
 *   wal.c     WAL sync and checkpoints, online backup, integrity check
 *   writer.c  group commit (db_run_tx)
 *   config.c, certs.c, crls.c, requests.c, tokens.c, audit.c,
 *   compromised.c, challenges.c, keys.c, rootcrls.c
 *             one file per table (the CA row, domains and profile
 *             overrides count as the CA's configuration; keys.c is the
 *             CA's other keys, rootcrls.c the CRLs imported from above)
 *   acme_accounts.c, acme_orders.c
 *             ACME: accounts with their External Account Bindings;
 *             orders with their authorizations
 *
 * db/schema_sql.c is generated from schema/NNN_name.sql by
 * scripts/embed-schema; struct db_migration must match what that script
 * emits (it repeats the struct definition in its own translation unit).
 */
#ifndef MICA_DB_INT_H
#define MICA_DB_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>
#include <time.h>

#include "db/db.h"

struct db_migration {
	int version;       /* NNN of schema/NNN_name.sql, strictly increasing */
	const char *name;  /* "001_init" */
	const char *sql;   /* the whole file, applied in one transaction */
};

extern const struct db_migration db_migrations[];
extern const size_t db_nmigrations;

/* application_id written into every mica database ("mica" in ASCII), so
 * that db_open refuses to migrate some other program's SQLite file. */
#define DB_APPLICATION_ID 0x6d696361

/* How long a connection waits for another's write lock before giving up
 * with MICA_E_UNAVAIL. Generous: SQLite's busy handler sleeps up to 100 ms
 * between tries, so on a loaded machine one of several connections taking
 * turns (command-line calls beside the daemon, the daemon's own handles)
 * can lose many turns in a row; 5 s was seen to run out under ASan with
 * both cores busy. */
#define DB_BUSY_TIMEOUT_MS 30000

/* Page cache of each connection, KiB (strings: they go into a PRAGMA).
 * Readers do point lookups (the OS caches the file anyway); the one
 * group-commit writer inserts into every index and keeps more. */
#define DB_CACHE_KIB "128"
#define DB_WRITER_CACHE_KIB "512"

/* PRAGMA journal_size_limit of every writing connection, bytes: when the
 * log starts over, a WAL file larger than this is cut back to it
 * (db/writer.c has the WAL start over from 64 MiB on; a long reader can
 * make it grow past). */
#define DB_WAL_LIMIT "134217728"

/* Longest free-text field (subject, names, comment...): the store is not
 * policy, but nothing unbounded goes in. */
#define DB_TEXT_MAX 65536

/*
 * Statement slots. Every statement the store runs has one: it is prepared
 * on its first use on a connection (SQLITE_PREPARE_PERSISTENT), kept in
 * db->st[] and reused. Each file keeps the SQL text of its own slots in a
 * table of its own, next to the code that runs it, and names that table in
 * db_stmt().
 */
enum db_stmt_id {
	/* db.c */
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_READ_BEGIN,
	S_SP_BEGIN, S_SP_RELEASE, S_SP_ROLLBACK,
	S_JOB_BEGIN, S_JOB_RELEASE, S_JOB_ROLLBACK, S_SYNC_FULL, S_SYNC_NORMAL,
	S_CACHE_WRITER,
	/* wal.c */
	S_INTEGRITY, S_FK_CHECK,
	/* config.c */
	S_CA_INSERT, S_CA_GET, S_CA_UPDATE_KEY, S_CA_UPDATE_CURRENT, S_CA_SET_CSR,
	S_CA_TLS_GET, S_CA_TLS_SET, S_CA_RESTORED, S_CA_CRL_FLOOR_RAISE,
	S_CA_CRL_FLOOR, S_CA_RESTORED_FLOOR, S_CA_SETTINGS_GET, S_CA_URL_SET, S_CA_CRL_DAYS_SET,
	S_DOMAIN_ADD, S_DOMAIN_REMOVE, S_DOMAIN_LIST,
	S_DOMAINS_MAC_GET, S_DOMAINS_MAC_SET,
	S_PROFILE_SET, S_PROFILE_GET,
	/* certs.c */
	S_CERT_RESERVE, S_CERT_NAME_ADD, S_CERT_COMPLETE, S_CERT_COMPLETE_LATE,
	S_CERT_STATE, S_CERT_DISCARD, S_CERT_DISCARD_SCEP, S_CERT_DISCARD_UNLINK, S_CERT_STALE, S_CERT_GET, S_CERT_GET_AT,
	S_CERT_LIST, S_CERT_MAX_ID, S_CERT_LIST_ISSUING, S_CERT_LIST_EXPIRING,
	S_CERT_LIST_EXPIRED, S_CERT_LIST_NAMES, S_CERT_LIST_TOKEN, S_CERT_LIST_TOKEN_SORTED, S_CERT_NAME_COUNT, S_CERT_REVOKE, S_CERT_UNREVOKE, S_CERT_REASON_SET, S_CERT_INVALID_SET, S_CERT_SAME_KEY, S_CERT_OF_KEY, S_CERT_ANY_OF_KEY, S_CERT_LINK_OLD,
	S_CERT_LINK_NEW, S_CERT_UNLINK_OLD, S_CERT_UNLINK_NEW, S_CERT_SET_REQUEST, S_REVOKED, S_COUNTS, S_REVOKED_KEY,
	/* crls.c */
	S_CRL_LAST, S_CRL_LAST_DATE, S_CRL_MAX_NEXT, S_CRL_LINEAGE, S_CRL_INSERT, S_CRL_LATEST, S_CRL_LATEST_INFO,
	S_CRL_LATEST_DELTA, S_CRL_LATEST_DELTA_INFO, S_CRL_DELTA_GET,
	S_CRL_DELTA_SET, S_CRL_DELTA_OFF, S_CRL_BODIES_KEEP,
	/* keys.c */
	S_KEY_INSERT, S_KEY_DELETE, S_KEY_UPDATE, S_KEY_LIST,
	/* rootcrls.c */
	S_ROOT_CRL_LAST, S_ROOT_CRL_INSERT, S_ROOT_CRL_LATEST,
	/* requests.c */
	S_REQ_INSERT, S_REQ_GET, S_REQ_LIST, S_REQ_LIST_STATUS, S_REQ_DECIDE, S_REQ_EXISTS,
	S_REQ_PENDING, S_REQ_PENDING_CLIENT, S_REQ_PENDING_SAME,
	/* tokens.c */
	S_TOKEN_INSERT, S_TOKEN_GET, S_TOKEN_CONSUME, S_TOKEN_EXISTS,
	S_TOKEN_REFUND, S_TOKEN_TOUCH, S_TOKEN_LIST, S_TOKEN_LIST_USABLE,
	S_TOKEN_USABLE_FLOOR, S_TOKEN_REVOKE,
	/* audit.c */
	S_AUDIT_ADD, S_AUDIT_LIST,
	/* compromised.c */
	S_KEY_COMPROMISED_ADD, S_KEY_COMPROMISED_GET,
	S_KEY_COMPROMISED_ADD_ID, S_KEY_TODO_NEXT, S_KEY_TODO_DONE,
	S_KEY_SIBLINGS_NEXT, S_KEY_SIBLINGS_DONE,
	/* challenges.c */
	S_CHALLENGE_EXPIRE, S_CHALLENGE_TRIM, S_CHALLENGE_ADD, S_CHALLENGE_CONSUME,
	/* acme_accounts.c */
	S_ACME_ACCT_INSERT, S_ACME_ACCT_GET, S_ACME_ACCT_BY_KEY,
	S_ACME_ACCT_CONTACT, S_ACME_ACCT_DEACTIVATE, S_ACME_ACCT_SET_KEY,
	S_ACME_ACCT_LIST, S_ACME_ACCT_EXISTS,
	S_ACME_EAB_INSERT, S_ACME_EAB_GET, S_ACME_EAB_BIND,
	/* acme_orders.c */
	S_ACME_ORDER_INSERT, S_ACME_ORDER_GET, S_ACME_ORDER_MOVE,
	S_ACME_ORDER_LIST, S_ACME_ORDER_LIST_ACCT, S_ACME_ORDER_OPEN,
	S_ACME_ORDER_BY_SERIAL, S_ACME_ORDER_REPLACING, S_ACME_ORDER_EXISTS,
	S_ACME_ORDER_STALE,
	S_ACME_AUTHZ_INSERT, S_ACME_AUTHZ_GET, S_ACME_AUTHZ_OF_ORDER,
	S_ACME_AUTHZ_START, S_ACME_AUTHZ_FINISH, S_ACME_AUTHZ_SETTLE,
	S_ACME_AUTHZ_DEACTIVATE,
	S_ACME_AUTHZ_SIBLING_ORDERS, S_ACME_AUTHZ_SIBLINGS,
	S_ACME_AUTHZ_FIND_VALID, S_ACME_AUTHZ_PROCESSING, S_ACME_AUTHZ_EXISTS,
	/* ocsp.c */
	S_OCSP_GET, S_OCSP_PUT, S_OCSP_TODO, S_OCSP_RESPONDER_ADD, S_OCSP_COUNT,
	S_OCSP_PUBLISH, S_OCSP_PRUNE, S_OCSP_GONE_PRUNE, S_OCSP_DIRTY,
	S_OCSP_DIRTY_REVOKED,
	S_OCSP_RESPONDER_GET, S_CERT_STATUS, S_OCSP_MARKED, S_OCSP_DUE, S_OCSP_FUTURE_ANY, S_OCSP_FUTURE_DUE,
	S_OCSP_UNMARK, S_OCSP_NO_REFRESH, S_OCSP_WALKED_GET,
	S_OCSP_WALKED_SET, S_OCSP_SEQ, S_OCSP_CHANGED,
	/* scep.c */
	S_SCEP_RA_ADD, S_SCEP_TX_ADD, S_SCEP_TX_GET, S_SCEP_RA_LATEST,
	S_SCEP_RA_GET, S_SCEP_TX_FORGET_ISSUING, S_SCEP_KEY_GET, S_SCEP_KEY_SET, S_SCEP_TX_BY_CSR, S_SCEP_TX_CSR_FULL, S_SCEP_TX_OF_CSR,
	S__COUNT
};

/* Syncing the WAL file SQLite uses for a database: fdatasync() on a file
 * descriptor of our own (reopened if the file is replaced). Everything any
 * connection committed before the call is then on disk. 0 at once for an
 * in-memory store or when there is no WAL. Fault point "db_sync". One
 * struct per thread that syncs. (wal.c) */
struct db_walsync {
	char *path;
	int fd;
	dev_t dev;
	ino_t ino;
};
int db_walsync_init(struct db_walsync *ws, struct db *db, struct mica_err *err);
int db_walsync_run(struct db_walsync *ws, struct mica_err *err);
void db_walsync_clear(struct db_walsync *ws);

/* One connection (db_open). */
struct db {
	sqlite3 *h;
	sqlite3_stmt *st[S__COUNT];   /* by enum db_stmt_id; NULL until used */
	int readonly;
	struct db_walsync wal;        /* for db_int_wal_sync */
	struct timespec busy_since;   /* busy_wait: when this wait began */
};

/* ---- stmt.c: errors ---- */

/*
 * Map SQLite result code RC (extended codes are on) to a mica error, as
 * documented in db.h, and return -1. A unique/primary-key violation becomes
 * a conflict with CONFLICT_CODE and CONFLICT_MSG (generic ones if NULL).
 * SQLite's own message, which may name tables, goes to the log only.
 * SQLITE_READONLY on a handle opened to write is MICA_E_UNAVAIL
 * "store_readonly" naming the store (as db_open's), on one opened
 * read-only "store_unavailable". DB may be NULL (a connection that is not
 * a struct db, as a backup's).
 */
int db_fail(struct db *db, int rc, const char *conflict_code,
	    const char *conflict_msg, struct mica_err *err);
/* Each sets ERR and returns -1: the store is unavailable (MSG says why);
 * the "db_write" fault point fired; a caller passed NULL or nonsense (a
 * bug: MICA_E_INTERNAL); out of memory; a malformed serial (BADREQ). */
int db_unavail(struct mica_err *err, const char *msg);
int db_fault(struct mica_err *err);
int db_bad_arg(struct mica_err *err);
int db_oom(struct mica_err *err);
int db_bad_serial(struct mica_err *err);

/* ---- stmt.c: statements, binding, columns ---- */

/*
 * The statement of slot ID, prepared from SQL[ID] on its first use on DB.
 * SQL is the calling file's own table (only its slots are set). NULL with
 * ERR set if preparing fails or the statement is still in use (re-entered
 * from a callback). Give it back with db_stmt_done() on every path.
 */
sqlite3_stmt *db_stmt(struct db *db, enum db_stmt_id id,
		      const char *const sql[S__COUNT], struct mica_err *err);
/* Return a statement to its idle state (reset, bindings cleared), so that
 * no cached statement holds a read transaction open. Accepts NULL. */
void db_stmt_done(sqlite3_stmt *st);
/* For tests: SQLite's query plan of ocsp.c's statement ID (an enum
 * db_stmt_id), its lines' details joined by "; ", into BUF[LEN]. */
int db_ocsp_plan(struct db *db, int id, char *buf, size_t len,
		 struct mica_err *err);

/* Binding: each keeps the first failure in *RC and then does nothing, so a
 * run of binds is checked once with db_binds_ok(). Strings and blobs are
 * bound SQLITE_STATIC: the statement is reset before the caller's data can
 * go. A NULL string or blob binds SQL NULL. */
void db_bind_text(sqlite3_stmt *st, int i, const char *s, int *rc);
void db_bind_textn(sqlite3_stmt *st, int i, const char *s, size_t n, int *rc);
/* NULL for "" (the fixed serial fields of the structs use "" for none). */
void db_bind_serial_opt(sqlite3_stmt *st, int i, const char *s, int *rc);
void db_bind_i64(sqlite3_stmt *st, int i, int64_t v, int *rc);
void db_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n, int *rc);
/* 0 if RC is SQLITE_OK, else the error as db_fail(). */
int db_binds_ok(struct db *db, int rc, struct mica_err *err);

/* Step a statement that returns no rows: 0, or -1 (conflicts named as in
 * db_fail()). */
int db_step_done(struct db *db, sqlite3_stmt *st, const char *conflict_code,
		 const char *conflict_msg, struct mica_err *err);
/* Step a statement expected to return at most one row: 1 row, 0 none, -1. */
int db_step_row(struct db *db, sqlite3_stmt *st, struct mica_err *err);
/* Run statement ID of SQL, a "SELECT 1 ... WHERE x = ?1 LIMIT 1" bound to
 * the 32-octet HASH: *OUT 1 if a row names it, else 0. */
int db_hash_listed(struct db *db, enum db_stmt_id id,
		   const char *const sql[S__COUNT], const unsigned char hash[32],
		   int *out, struct mica_err *err);

/* Column I of the current row. A heap copy of text (*OUT NULL for SQL
 * NULL; -1 only on OOM); text into BUF of SIZE ("" for NULL; -1 if it does
 * not fit, a row the store could not have written); a heap copy of a blob
 * (NULL, 0 for SQL NULL; -1 only on OOM). The caller frees the copies. */
int db_col_str(sqlite3_stmt *st, int i, char **out);
int db_col_fixed(sqlite3_stmt *st, int i, char *buf, size_t size);
int db_col_blob(sqlite3_stmt *st, int i, unsigned char **out, size_t *len);
/* A serial (db_serial_ok) from column I into BUF; "store_corrupt" if the
 * column holds anything else. */
int db_col_serial(sqlite3_stmt *st, int i, char buf[DB_SERIAL_MAX],
		  struct mica_err *err);

/* Grow *ARR (of *CAP elements of SIZE, new ones zeroed) so that it holds at
 * least N + 1. -1 on OOM or overflow, *ARR untouched. */
int db_grow(void **arr, size_t *cap, size_t n, size_t size);
/* Fills the zeroed element ROW from the current row of ST; on failure it
 * frees what it took (ROW is then not counted) and sets ERR. */
typedef int (*db_row_fn)(sqlite3_stmt *st, void *row, struct mica_err *err);
/* Step ST (prepared and bound) to its end, appending each row, read by READ,
 * to the array *ARR of *N elements of SIZE bytes (start with NULL and 0). At
 * most MAX rows when MAX > 0; *MORE (if not NULL) then says whether a row
 * was left. 0 when done; -1 with ERR, *ARR and *N then holding the rows
 * read so far for the caller's array free function. */
int db_rows(struct db *db, sqlite3_stmt *st, size_t size, size_t max, db_row_fn read,
	    void **arr, size_t *n, int *more, struct mica_err *err);

/* ---- stmt.c: checks of what callers pass in ---- */

/* RFC 5280 4.1.2.2: 2 to 40 lowercase hex digits, even length. */
int db_serial_ok(const char *s);
/* A non-empty, NUL-terminated identifier shorter than SIZE. */
int db_id_ok(const char *s, size_t size);
/* NULL or at most DB_TEXT_MAX bytes. */
int db_text_ok(const char *s);
/* LIMIT into 1..MAX (list limits are clamped, not refused). */
int db_clamp_limit(int limit, int max);

/* ---- db.c: savepoints, files ---- */

/*
 * A write of several statements that must land together whether or not
 * the caller holds a transaction: db_sp_begin() opens SAVEPOINT mica_write
 * (*OWN records whether that also opened the transaction; then releasing
 * it commits), db_sp_commit() releases it, db_sp_abort() undoes everything
 * since db_sp_begin() and never fails visibly. A failed db_sp_commit() has
 * already aborted.
 */
int db_sp_begin(struct db *db, int *own, struct mica_err *err);
int db_sp_commit(struct db *db, int own, struct mica_err *err);
void db_sp_abort(struct db *db, int own);

/* Is PATH SQLite's in-memory database? */
int db_is_memory(const char *path);
/* ---- crls.c: for db_backup ---- */
/* In the copy DST of SRC just made, put the bodies of SRC's CRLs kept
 * beside it (db_crl_body_put) back into their rows, so that the copy
 * stands alone. Each key's newest complete and delta CRLs must be found
 * intact; older bodies already removed are left out. */
int db_int_crl_inline(struct db *src, sqlite3 *dst, struct mica_err *err);
/*
 * Create PATH empty with mode exactly 0600, refusing an existing file or
 * symlink and stale -wal/-shm/-journal files next to it. WHAT names the
 * file in messages ("database", "backup"); an existing one is
 * MICA_E_CONFLICT with EXISTS_CODE.
 */
int db_create_file(const char *path, const char *what, const char *exists_code,
		   struct mica_err *err);
/* Remove PATH and its SQLite side files (after a failed create). */
void db_unlink_created(const char *path);

/* ---- what db/writer.c needs of a connection's insides ---- */

enum db_int_op {
	DB_INT_JOB_BEGIN,     /* SAVEPOINT around one batched body */
	DB_INT_JOB_RELEASE,
	DB_INT_JOB_ROLLBACK,
	DB_INT_SYNC_FULL,     /* PRAGMA synchronous: COMMIT syncs the WAL */
	DB_INT_SYNC_NORMAL,   /* COMMIT leaves the WAL sync to a later one */
	DB_INT_CACHE_WRITER   /* the writer's larger page cache */
};
/* (db.c) */
int db_int_exec(struct db *db, enum db_int_op op, struct mica_err *err);
/* Is a transaction open on DB? (SQLite rolls one back by itself after an
 * I/O error or a full disk.) (db.c) */
int db_int_in_tx(struct db *db);
/* Stop DB checkpointing at its own commits and call CB after each commit
 * with the number of frames in the WAL (sqlite3_wal_hook). (wal.c) */
void db_int_wal_hook(struct db *db, int (*cb)(void *, sqlite3 *, const char *, int),
		     void *arg);
/* db_walsync_run on DB's own (for its connection's thread). (wal.c) */
int db_int_wal_sync(struct db *db, struct mica_err *err);
/* A PASSIVE checkpoint: copies what it can without blocking writers.
 * (wal.c) */
int db_int_checkpoint(struct db *db, struct mica_err *err);
/* fdatasync() the database file (not the WAL) of DB's connection. (wal.c) */
int db_int_db_sync(struct db *db, struct mica_err *err);
/* Tests only: W checkpoints every CKPT frames and makes the log start over
 * from RESTART frames on (db/writer.c's defines otherwise). Call before
 * any job. (writer.c) */
struct db_writer;
void db_int_writer_frames(struct db_writer *w, int ckpt, int restart);

#endif

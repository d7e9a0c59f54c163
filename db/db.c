/*
 * db/db.c - opening a store: creating its file, checking what it is,
 * applying the schema migrations; then its transactions and savepoints.
 * (The contract is in db/db.h; what the files of db/ share, db/db_int.h.)
 *
 * Writes that touch more than one row (a certificate and its names, the two
 * sides of a renewal link) run inside a SAVEPOINT (db_sp_begin) so that
 * they are atomic whether or not the caller holds a transaction.
 *
 * db_open's error codes, where db.h leaves room: "store_exists" (CONFLICT,
 * DB_OPEN_CREATE on an existing file or next to a stale -wal/-shm/-journal),
 * "insecure_permissions" (FORBIDDEN, the file or its -wal/-shm),
 * "not_a_mica_database", "schema_too_new", and "schema_outdated" (read-only
 * open of an older schema) (all UNAVAIL). ":memory:" is accepted (no file
 * checks). DB_OPEN_BACKUP adds "backup_wal" (BADREQ).
 */
#include "db/db.h"
#include "db/db_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
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

static const char *const tx_sql[S__COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_READ_BEGIN] = "BEGIN DEFERRED",
	[S_SP_BEGIN] = "SAVEPOINT mica_write",
	[S_SP_RELEASE] = "RELEASE mica_write",
	[S_SP_ROLLBACK] = "ROLLBACK TO mica_write",
	[S_JOB_BEGIN] = "SAVEPOINT mica_job",
	[S_JOB_RELEASE] = "RELEASE mica_job",
	[S_JOB_ROLLBACK] = "ROLLBACK TO mica_job",
	[S_SYNC_FULL] = "PRAGMA synchronous = FULL",
	[S_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
	/* Parenthesised: one string, not two elements missing a comma. */
	[S_CACHE_WRITER] = ("PRAGMA cache_size = -" DB_WRITER_CACHE_KIB),
};

/* Run one of this file's statements that returns no rows. */
static int
exec_cached(struct db *db, enum db_stmt_id id, struct mica_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(db, id, tx_sql, err)) == NULL)
		return -1;
	rc = db_step_done(db, st, NULL, NULL, err);
	db_stmt_done(st);
	return rc;
}

/* ---- opening, migrations ---- */

int
db_is_memory(const char *path)
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
		return db_oom(err);
	if (stat(p, &sb) != 0) {
		if (errno == ENOENT && !must_exist)
			rc = 0;
		else if (errno == ENOENT)
			db_unavail(err, "the database file does not exist");
		else
			mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				     "cannot examine the database file: %s",
				     strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
			     "%s is not a regular file (a %s)", p,
			     S_ISDIR(sb.st_mode) ? "directory" : "special file");
		goto out;
	}
	/* The store holds the sealed CA key and token hashes: refuse to use
	 * it, rather than silently fix it, so the admin learns of the leak. */
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		if (suffix[0] == '\0')
			mica_err_set(err, MICA_E_FORBIDDEN, "insecure_permissions",
				     "the database file %s is accessible by group "
				     "or others (mode %04o); run chmod 600 %s", p,
				     (unsigned)(sb.st_mode & 07777), p);
		else
			mica_err_set(err, MICA_E_FORBIDDEN, "insecure_permissions",
				     "the database's %s file %s is accessible by "
				     "group or others (mode %04o); run chmod 600 "
				     "%s", suffix, p,
				     (unsigned)(sb.st_mode & 07777), p);
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

/*
 * SQLite finds a store's write-ahead log and its index by the name the
 * store was opened under. Two names of one file (a hard link, as cp -al or
 * rsync --link-dest make) would each get a log of their own, and commits
 * made through one name would be lost to, or overwritten by, the other:
 * refuse a store with more than one name. A symbolic link is fine, SQLite
 * resolves it. A backup file is read as an immutable snapshot, without a
 * log, so its names do not matter.
 */
static int
check_one_name(const char *path, struct mica_err *err)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "cannot examine the database file: %s",
				    strerror(errno));
	if (sb.st_nlink > 1)
		return mica_err_set(err, MICA_E_UNAVAIL, "store_linked",
				    "the database file %s has %ju names (hard "
				    "links); SQLite finds the write-ahead log by "
				    "name, so writes through another name would "
				    "corrupt the store: remove the other names, "
				    "and copy a store with 'mica backup'", path,
				    (uintmax_t)sb.st_nlink);
	return 0;
}

static int
file_check(const char *path, int one_name, struct mica_err *err)
{
	if (path == NULL)
		return db_bad_arg(err);
	if (db_is_memory(path))
		return 0;
	if (check_private(path, "", 1, err) != 0 ||
	    check_private(path, "-wal", 0, err) != 0 ||
	    check_private(path, "-shm", 0, err) != 0 ||
	    (one_name && check_one_name(path, err) != 0))
		return -1;
	return 0;
}

int
db_file_check(const char *path, struct mica_err *err)
{
	return file_check(path, 1, err);
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

int
db_file_kind(const char *path)
{
	/* https://sqlite.org/fileformat.html 1.3: the magic string, and
	 * the application ID as a big-endian integer at offset 68. */
	static const char magic[16] = "SQLite format 3";
	unsigned char h[100];
	uint32_t app;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return DB_FILE_MAYBE_MICA;
	n = read(fd, h, sizeof(h));
	close(fd);
	if (n < (ssize_t)sizeof(magic))
		return DB_FILE_MAYBE_MICA;
	if (memcmp(h, magic, sizeof(magic)) != 0)
		return DB_FILE_NOT_SQLITE;
	if (n < (ssize_t)sizeof(h))
		return DB_FILE_MAYBE_MICA;
	app = (uint32_t)h[68] << 24 | (uint32_t)h[69] << 16 |
	      (uint32_t)h[70] << 8 | h[71];
	return app != 0 && app != DB_APPLICATION_ID ? DB_FILE_FOREIGN :
	       DB_FILE_MAYBE_MICA;
}

/*
 * Refuse a file that is not a mica database (some other program's SQLite
 * file must not be "migrated"), naming PATH (a -d DIR mistyped to another
 * program's folder is found by its name), and set *VERSION to its schema
 * version.
 */
static int
check_identity(struct db *db, const char *path, int *version,
	       struct mica_err *err)
{
	int64_t app, uv, objects;

	if (query_int(db, "PRAGMA application_id", &app, err) != 0 ||
	    query_int(db, "PRAGMA user_version", &uv, err) != 0 ||
	    query_int(db, "SELECT count(*) FROM sqlite_master", &objects, err) != 0) {
		if (err != NULL && strcmp(err->code, "store_corrupt") == 0)
			mica_err_set(err, MICA_E_UNAVAIL, "not_a_mica_database",
				     "%s is not a mica database", path);
		return -1;
	}
	if (app != DB_APPLICATION_ID && !(app == 0 && uv == 0 && objects == 0))
		return mica_err_set(err, MICA_E_UNAVAIL, "not_a_mica_database",
				    "%s is not a mica database (another "
				    "program's SQLite file)", path);
	if (uv < 0 || uv > INT_MAX)
		return mica_err_set(err, MICA_E_UNAVAIL, "not_a_mica_database",
				    "%s has an invalid schema version", path);
	*version = (int)uv;
	return 0;
}

/*
 * Migration 003 (issue 9's security fixes) reached the main line after 004
 * and 005: a store made by mica between them has schema 4 or 5 without
 * 003's objects, which every later mica, going by the version alone,
 * never applied - and 014 needs its table, so such a store could not be
 * upgraded, and one whose upgrade stopped there was left at 13. A store
 * of schema 4 to 13 without table compromised_key is such a store.
 */
#define LATE_MIGRATION      3
#define LATE_MIGRATION_UPTO 13

static int
lacks_late_migration(struct db *db, int version, int *out,
		     struct mica_err *err)
{
	int64_t n = 0;

	*out = 0;
	if (version <= LATE_MIGRATION || version > LATE_MIGRATION_UPTO)
		return 0;
	if (query_int(db, "SELECT count(*) FROM sqlite_master WHERE "
		      "type = 'table' AND name = 'compromised_key'", &n,
		      err) != 0)
		return -1;
	*out = n == 0;
	return 0;
}

/*
 * Apply every embedded migration newer than VERSION (what the database said
 * at open) and not newer than UPTO but SKIP (0: none; the reference schema
 * of a mica that never had LATE_MIGRATION), and LATE_MIGRATION first where
 * the store lacks it (above), all in one IMMEDIATE transaction: a
 * migration that fails, or a process killed half way, leaves the store at
 * the schema it had, which the mica that made it still opens - not at an
 * intermediate version neither binary knows. Each applied migration is
 * logged once committed, unless QUIET (db_schema_check's reference schema
 * is no news). The version is read again under the write lock: another
 * process opening the same file may have migrated it meanwhile. An
 * up-to-date database takes no write lock here.
 */
static int
migrate(struct db *db, int version, int upto, int skip, int quiet,
	struct mica_err *err)
{
	const struct db_migration *m, *late = NULL;
	char sql[64];
	int64_t uv;
	int lacks = 0, last = 0, rc = -1;

	if (upto <= version)
		return 0;
	if (exec_cached(db, S_BEGIN, err) != 0)
		return -1;
	if (query_int(db, "PRAGMA user_version", &uv, err) != 0 ||
	    lacks_late_migration(db, (int)uv, &lacks, err) != 0)
		goto out;
	for (size_t i = 0; i < db_nmigrations; i++)
		if (db_migrations[i].version == LATE_MIGRATION)
			late = &db_migrations[i];
	if (lacks && (late == NULL || exec_script(db, late->sql, err) != 0)) {
		mica_log(MICA_LOG_ERR, "db: migration %s failed",
			 late != NULL ? late->name : "003");
		goto out;
	}
	for (size_t i = 0; i < db_nmigrations; i++) {
		m = &db_migrations[i];
		if (m->version <= uv || m->version == skip)
			continue;
		if (m->version > upto)
			break;
		if (exec_script(db, m->sql, err) != 0) {
			mica_log(MICA_LOG_ERR, "db: migration %s failed; the "
				 "store keeps schema %d", m->name, (int)uv);
			goto out;
		}
		last = m->version;
	}
	if (last > 0) {
		/* Pragmas take no parameters; the values are our own ints. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", last);
		if (exec_script(db, sql, err) != 0)
			goto out;
		if (uv == 0) {
			snprintf(sql, sizeof(sql), "PRAGMA application_id = %d",
				 DB_APPLICATION_ID);
			if (exec_script(db, sql, err) != 0)
				goto out;
		}
	}
	if (exec_cached(db, S_COMMIT, err) != 0)
		goto out;
	rc = 0;
	if (quiet)
		return 0;
	if (lacks)
		mica_log(MICA_LOG_INFO, "db: applied schema migration %s, which "
			 "the mica that made this store (schema %d) lacked",
			 late->name, (int)uv);
	for (size_t i = 0; i < db_nmigrations; i++) {
		m = &db_migrations[i];
		if (m->version > uv && m->version <= last && m->version != skip)
			mica_log(MICA_LOG_INFO, "db: applied schema migration %s",
				 m->name);
	}
out:
	if (rc != 0)
		db_rollback(db);
	return rc;
}

/* Remove what db_open created after a failure (the file and SQLite's side
 * files): a half-initialised store must not be mistaken for a real one. */
void
db_unlink_created(const char *path)
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
int
db_sides_absent(const char *path, const char *exists_code,
		struct mica_err *err)
{
	static const char *const sfx[] = { "-wal", "-shm", "-journal" };
	struct stat sb;
	char *p;
	int found;

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((p = side_path(path, sfx[i])) == NULL)
			return db_oom(err);
		found = lstat(p, &sb) == 0;
		free(p);
		/* Named by path: for a restore, PATH is DIR/mica.db, not
		 * the backup the user named; and the side file may be a
		 * running command's, not a leftover. */
		if (found)
			return mica_err_set(err, MICA_E_CONFLICT, exists_code,
					    "%s%s exists (the %s of an earlier "
					    "database, or of one another command "
					    "is writing): remove it first if no "
					    "mica is using it", path, sfx[i],
					    sfx[i] + 1);
	}
	return 0;
}

int
db_create_file(const char *path, const char *what, const char *exists_code,
	    struct mica_err *err)
{
	int fd, rc = -1;

	if (db_sides_absent(path, exists_code, err) != 0)
		return -1;
	/* O_EXCL also refuses a symlink planted at PATH. */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return mica_err_set(err, MICA_E_CONFLICT, exists_code,
					    "%s already exists", path);
		return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "cannot create the %s file %s: %s", what,
				    path, strerror(errno));
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

/*
 * SQLite's busy handler: another connection holds the write lock (the
 * daemon storing a large CRL, the command line). SQLite's own
 * (sqlite3_busy_timeout) sleeps ever longer, up to 100 ms between polls,
 * so a writer could sit for most of 100 ms after the lock came free; the
 * group commit's callers would all wait that long. Poll briefly at first,
 * then every 2 ms, up to DB_BUSY_TIMEOUT_MS in all.
 */
static int
busy_wait(void *arg, int n)
{
	struct db *db = arg;
	struct timespec now, nap;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (n == 0)
		db->busy_since = now;
	ms = (long long)(now.tv_sec - db->busy_since.tv_sec) * 1000 +
	     (now.tv_nsec - db->busy_since.tv_nsec) / 1000000;
	if (ms >= DB_BUSY_TIMEOUT_MS)
		return 0;
	nap.tv_sec = 0;
	nap.tv_nsec = n < 4 ? 100000L << n : 2000000L;  /* 0.1 .. 0.8, 2 ms */
	nanosleep(&nap, NULL);
	return 1;
}

/*
 * Process-wide SQLite settings, made once before the first connection
 * (sqlite3_config refuses them after SQLite has initialised).
 *
 * The statement journal: a transaction of the group commit runs each job
 * in SAVEPOINT mica_job, and SQLite keeps the original of every page
 * changed under a savepoint in that journal. Past 64 KiB (16 pages, a
 * batch of three or four issuances) SQLite moves it into a temporary
 * file it creates and unlinks in /var/tmp for each such transaction:
 * a file creation, an unlink and some twenty writes per batch, measured
 * at some 4 pages per certificate. 1 MiB keeps a batch of dozens of
 * issuances in memory, and bounds what a large transaction leaves in
 * the process's heap afterwards (at 4 MiB a daemon publishing a
 * 1M-entry CRL kept 8 MiB more resident).
 */
#define STMT_JOURNAL_SPILL (1 << 20)

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

/*
 * The page cache: by default each connection allocates room for twenty
 * pages (some 90 KB, every page's header written) at its first read and
 * keeps it until closed, in use or not. The daemon holds a dozen and
 * more connections (the timer's, the loaders', the writer's, one per
 * request in progress), and under WAL every commit by another connection
 * empties a connection's cache at its next transaction, so connections
 * that read a few pages between such resets never use most of that room:
 * without the bulk a page freed goes back to malloc for any connection to
 * reuse. Measured (issue 16): some 1.5 MiB less anonymous memory at the
 * peak of an issuance load at eight clients, the rate unchanged.
 */
static void
sqlite_configure(void)
{
	if (sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL,
			   STMT_JOURNAL_SPILL) != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)NULL, 0, 0) != SQLITE_OK)
		mica_log(MICA_LOG_WARN, "db: SQLite was initialised before "
			 "mica could configure it; statement journals of more "
			 "than 64 KiB go to temporary files, and every "
			 "connection's page cache starts with room for 20 pages");
}

/*
 * A backup is opened immutable: SQLite then ignores any -wal beside it.
 * One that is not empty may hold committed transactions (a copy taken by
 * hand while the store was open): refuse it rather than lose them.
 */
static int
backup_wal_check(const char *path, struct mica_err *err)
{
	struct stat sb;
	char *p;
	int rc = 0;

	if ((p = side_path(path, "-wal")) == NULL)
		return db_oom(err);
	if (stat(p, &sb) == 0 && sb.st_size > 0)
		rc = mica_err_set(err, MICA_E_BADREQ, "backup_wal",
				  "a non-empty %s is beside the backup; open the "
				  "backup once with sqlite3 to fold it in", p);
	free(p);
	return rc;
}

/* "file:PATH?immutable=1" on the heap (RFC 3986 escapes in PATH, "//"
 * before an absolute one: an empty authority); NULL on OOM. */
static char *
immutable_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char tail[] = "?immutable=1";
	size_t n = strlen(path);
	char *u, *q;

	if (n > (SIZE_MAX - 16 - sizeof(tail)) / 3 ||
	    (u = malloc(3 * n + 16 + sizeof(tail))) == NULL)
		return NULL;
	q = u;
	memcpy(q, path[0] == '/' ? "file://" : "file:", path[0] == '/' ? 7 : 5);
	q += path[0] == '/' ? 7 : 5;
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("/-._~", *c) != NULL) {
			*q++ = (char)*c;
		} else {
			*q++ = '%';
			*q++ = hex[*c >> 4];
			*q++ = hex[*c & 15];
		}
	}
	memcpy(q, tail, sizeof(tail));
	return u;
}

/*
 * A read-only open of a store SQLite could not read: one on write-protected
 * media (an offline root's), or in a directory this user may not write,
 * where no -shm exists and none can be made, which WAL mode needs (or a
 * -shm left there with no -wal, which SQLite cannot use read-only). Such a
 * store is read immutable (no other process can be writing it there),
 * unless its -wal holds changes not yet in the file, which an immutable
 * read would miss: refused, saying so. 1: open immutable, *REAL set to
 * the file's real path (heap), the one to open; 0: as usual; -1: refused
 * (ERR set).
 *
 * Judged where SQLite itself puts the -wal and -shm: beside the file with
 * every symbolic link resolved. A mica.db that is a link (in a directory
 * nobody may write) to a live store elsewhere must not be read immutable:
 * that store's -shm and -wal are beside its real file, and an immutable
 * read would miss what is only in its -wal.
 */
static int
readonly_place(const char *path, char **real, struct mica_err *err)
{
	struct stat sb;
	char *dir = NULL, *shm = NULL, *wal = NULL, *slash;
	int rc = 0;

	*real = NULL;
	/* Unresolvable (gone, a component not searchable): as usual, and
	 * SQLite says why. */
	if ((dir = realpath(path, NULL)) == NULL)
		return errno == ENOMEM ? db_oom(err) : 0;
	if ((shm = side_path(dir, "-shm")) == NULL ||
	    (wal = side_path(dir, "-wal")) == NULL ||
	    (*real = strdup(dir)) == NULL) {
		rc = db_oom(err);
		goto out;
	}
	/* Absolute: there is a slash. */
	if ((slash = strrchr(dir, '/')) == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK) == 0)
		goto out;
	/* A -shm left beside a store nothing has open (a copy, a store
	 * closed uncleanly): SQLite deletes the -wal when its last
	 * connection closes, so with no -wal nothing is writing it. With
	 * both, a process may be: as usual. */
	if (access(shm, F_OK) == 0 && access(wal, F_OK) == 0)
		goto out;
	if (stat(wal, &sb) == 0 && sb.st_size > 0) {
		rc = mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				  "the store's directory cannot be written and "
				  "%s holds changes not yet in the store: open it "
				  "once where it can be written", wal);
		goto out;
	}
	rc = 1;
out:
	if (rc != 1) {
		free(*real);
		*real = NULL;
	}
	free(dir);
	free(shm);
	free(wal);
	return rc;
}

int
db_open(const char *path, int flags, struct db **out, struct mica_err *err)
{
	struct db *db = NULL;
	char mode[16];
	char *uri = NULL;
	int rc, ret = -1, created = 0, memory, oflags, version = 0, builtin;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL || path[0] == '\0' ||
	    (flags & ~(DB_OPEN_CREATE | DB_OPEN_READONLY | DB_OPEN_BACKUP |
		      DB_OPEN_NO_MIGRATE | DB_OPEN_OLDER)) != 0 ||
	    ((flags & DB_OPEN_CREATE) && (flags & DB_OPEN_READONLY)) ||
	    ((flags & DB_OPEN_OLDER) &&
	     (flags & (DB_OPEN_READONLY | DB_OPEN_BACKUP)) != DB_OPEN_READONLY))
		return db_bad_arg(err);
	if ((builtin = builtin_version()) < 0)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "embedded schema migrations are out of order");
	if (flags & DB_OPEN_BACKUP) {
		if (flags & DB_OPEN_CREATE)
			return db_bad_arg(err);
		flags |= DB_OPEN_READONLY;
	}
	/* An in-memory store starts empty: read-only it would be useless. */
	if ((memory = db_is_memory(path)) && (flags & DB_OPEN_READONLY))
		return db_bad_arg(err);

	if (!memory && flags & DB_OPEN_CREATE) {
		if (db_create_file(path, "database", "store_exists", err) != 0)
			return -1;
		created = 1;
	} else if (!memory &&
		   file_check(path, !(flags & DB_OPEN_BACKUP), err) != 0) {
		return -1;
	}
	if (flags & DB_OPEN_BACKUP) {
		if (backup_wal_check(path, err) != 0)
			return -1;
		if ((uri = immutable_uri(path)) == NULL)
			return db_oom(err);
	} else if (!memory && (flags & DB_OPEN_READONLY)) {
		char *real = NULL;

		if ((rc = readonly_place(path, &real, err)) < 0)
			return -1;
		if (rc == 1) {
			uri = immutable_uri(real);
			free(real);
			if (uri == NULL)
				return db_oom(err);
		}
	}

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		db_oom(err);
		goto out;
	}
	db->readonly = (flags & DB_OPEN_READONLY) != 0;
	db->wal.fd = -1;
	/* Never SQLITE_OPEN_CREATE for a file: it exists by now, and a missing
	 * file must not be silently replaced by an empty store. One connection
	 * per thread, so SQLite's per-connection mutex is not needed. */
	oflags = (db->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
		 SQLITE_OPEN_NOMUTEX | (memory ? SQLITE_OPEN_CREATE : 0) |
		 (uri != NULL ? SQLITE_OPEN_URI : 0);
	pthread_once(&sqlite_once, sqlite_configure);
	rc = sqlite3_open_v2(uri != NULL ? uri : path, &db->h, oflags, NULL);
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
			db_oom(err);
			goto out;
		}
	}
	/* SQLite quietly falls back to read-only when it cannot write; a
	 * worker would then keep a useless connection after the store is
	 * writable again. Refuse it so the next request opens afresh. */
	if (!db->readonly && !memory && sqlite3_db_readonly(db->h, "main") == 1) {
		mica_err_set(err, MICA_E_UNAVAIL, "store_readonly",
			     "the store %s is read-only (a read-only mount, "
			     "write-protected media or a directory this user "
			     "may not write): only commands that read it work "
			     "there", path);
		goto out;
	}
	/* Hardening: no writable_schema tricks, no functions with side
	 * effects called from the schema, no extension loading. */
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
#endif
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_busy_handler(db->h, busy_wait, db);

	/* Identify before writing anything (WAL mode rewrites the header). */
	if (check_identity(db, path, &version, err) != 0)
		goto out;
	if (version > builtin) {
		mica_err_set(err, MICA_E_UNAVAIL, "schema_too_new",
			     "the database has schema version %d but this mica "
			     "knows only up to %d; upgrade mica", version, builtin);
		goto out;
	}
	/* An empty file (made by hand, or an init killed before its schema)
	 * is no store: a command that only opens one must not build the
	 * schema into it (and then refuse: "holds no CA"), nor say to
	 * upgrade it. Only 'mica init' (DB_OPEN_CREATE) makes a store. */
	if (version == 0 && !memory &&
	    !(flags & (DB_OPEN_CREATE | DB_OPEN_BACKUP))) {
		mica_err_set(err, MICA_E_UNAVAIL, "not_a_mica_database",
			     "%s is an empty database, not a mica store (an "
			     "interrupted 'mica init'?): remove it, then run "
			     "'mica init' or 'mica restore'", path);
		goto out;
	}
	/* A small page cache per connection: the daemon keeps one connection
	 * per request running at once, the OS caches the file anyway, and the store's
	 * reads are point lookups and one sequential walk (the CRL). */
	/* secure_delete: what a change frees (the key sealed under the old
	 * passphrase, a revoked token's row) is overwritten, not left in free
	 * pages - whatever SQLite's build chose (Debian's turns it on). */
	if (exec_script(db, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; "
			"PRAGMA cache_size = -" DB_CACHE_KIB, err) != 0)
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
		/* The connection whose transaction starts the log over cuts a
		 * WAL file larger than DB_WAL_LIMIT back to it. */
		if (exec_script(db, "PRAGMA synchronous = FULL; "
				"PRAGMA journal_size_limit = " DB_WAL_LIMIT, err) != 0)
			goto out;
		/* SQLite gives -wal and -shm the database file's mode; check it
		 * (an ACL or odd filesystem could differ). */
		if (!memory && (check_private(path, "-wal", 0, err) != 0 ||
				check_private(path, "-shm", 0, err) != 0))
			goto out;
		if ((flags & DB_OPEN_NO_MIGRATE) && version != 0 &&
		    version < builtin) {
			mica_err_set(err, MICA_E_CONFLICT, "upgrade_pending",
				     "the store has schema version %d; this mica "
				     "upgrades it to %d", version, builtin);
			goto out;
		}
		/* A store made now is not news: only an upgrade of one that
		 * existed is logged, migration by migration. */
		if (migrate(db, version, builtin, 0, version == 0, err) != 0)
			goto out;
	} else if (flags & DB_OPEN_BACKUP) {
		/* Any version the migrations know; db_schema_check judges. */
		if (db_nmigrations == 0 || version < db_migrations[0].version) {
			mica_err_set(err, MICA_E_UNAVAIL, "not_a_mica_database",
				     "the file is not a mica database");
			goto out;
		}
	} else if (version < builtin &&
		   !((flags & DB_OPEN_OLDER) && db_nmigrations > 0 &&
		     version >= db_migrations[0].version)) {
		mica_err_set(err, MICA_E_UNAVAIL, "schema_outdated",
			     "the database has schema version %d, this mica needs "
			     "%d; start the new 'mica serve' (stop an older one "
			     "first) or run a command that writes, such as 'mica "
			     "crl', to upgrade it",
			     version, builtin);
		goto out;
	}
	*out = db;
	db = NULL;
	ret = 0;
out:
	free(uri);
	db_close(db);
	if (ret != 0 && created)
		db_unlink_created(path);
	return ret;
}

/* SQLite's unix VFS (os_unix.c): the lock bytes of a -shm file start at
 * (22 + SQLITE_SHM_NLOCK) * 4, and the dead-man switch follows the
 * SQLITE_SHM_NLOCK lock slots: byte 128, held shared by every connection
 * that has the file mapped. */
#define SHM_DMS_BYTE 128

int
db_open_elsewhere(const char *path, long *pid)
{
	char shm[PATH_MAX];
	struct flock fl;
	int fd, busy = 0;

	*pid = 0;
	if (snprintf(shm, sizeof(shm), "%s-shm", path) >= (int)sizeof(shm) ||
	    (fd = open(shm, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = SHM_DMS_BYTE;
	fl.l_len = 1;
	/* F_GETLK reports another process's lock that would block ours;
	 * this process's own never count. */
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
		busy = 1;
		*pid = (long)fl.l_pid;
	}
	close(fd);
	return busy;
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

/* ---- checking a schema ---- */

/* The objects db_schema_check compares, in an order both sides share. */
static const char schema_sql[] =
	"SELECT type, name, tbl_name, sql FROM sqlite_master "
	"WHERE NOT (type = 'table' AND name IN ('sqlite_stat1', 'sqlite_stat4')) "
	"ORDER BY type, name";

/* A fresh in-memory database with the embedded migrations up to VERSION
 * applied (but SKIP, 0 for none): the schema mica builds for that
 * version. */
static int
reference_open(int version, int skip, struct db **out, struct mica_err *err)
{
	struct db *ref;
	int rc;

	*out = NULL;
	if ((ref = calloc(1, sizeof(*ref))) == NULL)
		return db_oom(err);
	ref->wal.fd = -1;
	pthread_once(&sqlite_once, sqlite_configure);
	rc = sqlite3_open_v2(":memory:", &ref->h, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		db_fail(ref, rc, NULL, NULL, err);
		db_close(ref);
		return -1;
	}
	sqlite3_extended_result_codes(ref->h, 1);
	if (migrate(ref, 0, version, skip, 1, err) != 0) {
		db_close(ref);
		return -1;
	}
	*out = ref;
	return 0;
}

/* Column I of ST as text, "" for NULL (sqlite_master.sql of an
 * automatic index is NULL on both sides). */
static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

/* NAME as printable ASCII, at most SIZE-1 bytes: an object's name in a
 * hostile file must not break the one-line error message. */
static const char *
printable(const char *name, char *buf, size_t size)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < size; i++)
		buf[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
	buf[i] = '\0';
	return buf;
}

int
db_schema_check(struct db *db, struct mica_err *err)
{
	struct db *ref = NULL;
	sqlite3_stmt *have = NULL, *want = NULL;
	char name[80];
	int version, rh, rw, c, lacks, rc = -1;

	if (db == NULL)
		return db_bad_arg(err);
	if ((version = db_schema_version(db)) < 0) {
		db_unavail(err, "cannot read the schema version");
		goto out;
	}
	if (db_nmigrations == 0 || version < db_migrations[0].version ||
	    version > builtin_version()) {
		mica_err_set(err, MICA_E_BADREQ, "schema_version",
			     "schema version %d is not one this mica knows",
			     version);
		goto out;
	}
	/* A store of a mica that never had migration LATE_MIGRATION is
	 * compared with what that mica made; opening it for writing adds
	 * it (migrate). */
	if (lacks_late_migration(db, version, &lacks, err) != 0 ||
	    reference_open(version, lacks ? LATE_MIGRATION : 0, &ref, err) != 0)
		goto out;
	rh = sqlite3_prepare_v2(db->h, schema_sql, -1, &have, NULL);
	if (rh != SQLITE_OK) {
		db_fail(db, rh, NULL, NULL, err);
		goto out;
	}
	rw = sqlite3_prepare_v2(ref->h, schema_sql, -1, &want, NULL);
	if (rw != SQLITE_OK) {
		db_fail(ref, rw, NULL, NULL, err);
		goto out;
	}
	for (;;) {
		rh = sqlite3_step(have);
		rw = sqlite3_step(want);
		if (rh != SQLITE_ROW && rh != SQLITE_DONE) {
			db_fail(db, rh, NULL, NULL, err);
			goto out;
		}
		if (rw != SQLITE_ROW && rw != SQLITE_DONE) {
			db_fail(ref, rw, NULL, NULL, err);
			goto out;
		}
		if (rh == SQLITE_DONE && rw == SQLITE_DONE)
			break;
		/* Ordered by (type, name): the smaller side has an object
		 * the other lacks. */
		if (rw == SQLITE_DONE)
			c = -1;
		else if (rh == SQLITE_DONE)
			c = 1;
		else if ((c = strcmp(col_text(have, 0), col_text(want, 0))) == 0)
			c = strcmp(col_text(have, 1), col_text(want, 1));
		if (c < 0) {
			mica_err_set(err, MICA_E_BADREQ, "schema_mismatch",
				     "schema differs from mica's version %d: "
				     "unknown %s %s", version,
				     printable(col_text(have, 0), name, 16),
				     printable(col_text(have, 1), name + 16,
					       sizeof(name) - 16));
			goto out;
		}
		if (c > 0) {
			mica_err_set(err, MICA_E_BADREQ, "schema_mismatch",
				     "schema differs from mica's version %d: "
				     "%s %s is missing", version, col_text(want, 0),
				     col_text(want, 1));
			goto out;
		}
		if (strcmp(col_text(have, 2), col_text(want, 2)) != 0 ||
		    strcmp(col_text(have, 3), col_text(want, 3)) != 0 ||
		    (sqlite3_column_type(have, 3) == SQLITE_NULL) !=
		    (sqlite3_column_type(want, 3) == SQLITE_NULL)) {
			mica_err_set(err, MICA_E_BADREQ, "schema_mismatch",
				     "schema differs from mica's version %d: "
				     "%s %s is changed", version, col_text(want, 0),
				     col_text(want, 1));
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(have);
	sqlite3_finalize(want);
	db_close(ref);
	return rc;
}

/* ---- transactions ---- */

int
db_begin(struct db *db, struct mica_err *err)
{
	if (db == NULL)
		return db_bad_arg(err);
	if (!sqlite3_get_autocommit(db->h))
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "a store transaction is already open");
	return exec_cached(db, S_BEGIN, err);
}

int
db_commit(struct db *db, struct mica_err *err)
{
	if (db == NULL)
		return db_bad_arg(err);
	if (sqlite3_get_autocommit(db->h))
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "no store transaction is open");
	if (MICA_FAULT("db_commit")) {
		db_rollback(db);
		return db_unavail(err, "the certificate store failed to commit "
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

int
db_read_begin(struct db *db, struct mica_err *err)
{
	if (db == NULL)
		return db_bad_arg(err);
	if (!sqlite3_get_autocommit(db->h))
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "a store transaction is already open");
	/* A deferred transaction takes no lock: its first read starts the
	 * snapshot that every later read of it sees (WAL mode), while the
	 * writer goes on committing. */
	return exec_cached(db, S_READ_BEGIN, err);
}

void
db_read_end(struct db *db)
{
	/* Nothing was written: ending it is releasing the snapshot. */
	db_rollback(db);
}

/* ---- savepoints (db_int.h) ---- */

/* Open a savepoint; *OWN records whether it also opened the transaction
 * (then releasing it commits). */
int
db_sp_begin(struct db *db, int *own, struct mica_err *err)
{
	*own = sqlite3_get_autocommit(db->h);
	return exec_cached(db, S_SP_BEGIN, err);
}

/* Undo everything since db_sp_begin. Errors are ignored: SQLite may already
 * have rolled the transaction back itself (I/O error, disk full). */
void
db_sp_abort(struct db *db, int own)
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

int
db_sp_commit(struct db *db, int own, struct mica_err *err)
{
	if (exec_cached(db, S_SP_RELEASE, err) == 0)
		return 0;
	db_sp_abort(db, own);
	return -1;
}

/* For db/writer.c. */
int
db_int_exec(struct db *db, enum db_int_op op, struct mica_err *err)
{
	static const enum db_stmt_id ids[] = {
		[DB_INT_JOB_BEGIN] = S_JOB_BEGIN,
		[DB_INT_JOB_RELEASE] = S_JOB_RELEASE,
		[DB_INT_JOB_ROLLBACK] = S_JOB_ROLLBACK,
		[DB_INT_SYNC_FULL] = S_SYNC_FULL,
		[DB_INT_SYNC_NORMAL] = S_SYNC_NORMAL,
		[DB_INT_CACHE_WRITER] = S_CACHE_WRITER,
	};

	if (db == NULL || (unsigned)op >= sizeof(ids) / sizeof(ids[0]))
		return db_bad_arg(err);
	return exec_cached(db, ids[op], err);
}

int
db_int_in_tx(struct db *db)
{
	return db != NULL && !sqlite3_get_autocommit(db->h);
}

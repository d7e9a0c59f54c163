/*
 * tests/test_db.c - the SQLite store: creation and permissions, migrations,
 * every state transition, filters, concurrency, backup, faults.
 *
 * Every test works on its own database file under one mkdtemp directory
 * (removed at the end), so tests are independent of order. Where the test
 * must look under the store (schema version, triggers, a foreign file) it
 * opens the file with SQLite directly.
 */
#include <CUnit/Basic.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/db_int.h"   /* db_migrations: to build an old store */
#include "util/err.h"
#include "util/fault.h"
#include "util/log.h"

#define NOW ((int64_t)1700000000)
#define DAY ((int64_t)86400)

static char tmpdir[64];
static int file_seq;

static const unsigned char DER[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* A fresh path under tmpdir (BUF must hold 128 bytes). */
static char *
new_path(char *buf, const char *stem)
{
	snprintf(buf, 128, "%s/%s-%d.db", tmpdir, stem, ++file_seq);
	return buf;
}

static char *
side(char *buf, const char *path, const char *suffix)
{
	snprintf(buf, 160, "%s%s", path, suffix);
	return buf;
}

/* Create and open a new database; NULL (with a CUnit failure) if not. */
static struct db *
fresh(char *path)
{
	struct mica_err err;
	struct db *db = NULL;
	char buf[128];

	if (path == NULL)
		path = buf;
	new_path(path, "t");
	CU_ASSERT_EQUAL(db_open(path, DB_OPEN_CREATE, &db, &err), 0);
	return db;
}

static mode_t
mode_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_mode & 07777 : (mode_t)-1;
}

static int
exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* Run SQL on PATH with SQLite directly; returns the sqlite3_exec code. */
static int
raw_exec(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	int rc;

	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return -1;
	}
	sqlite3_exec(h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc;
}

static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -12345;

	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_busy_timeout(h, 5000) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* Is DOMAIN among DB's allowed domains? 1 yes, 0 no, -1 error. */
static int
has_domain(struct db *db, const char *domain)
{
	struct mica_err err;
	char **v = NULL;
	int found = 0;

	if (db_domain_list(db, &v, &err) != 0)
		return -1;
	for (char **p = v; *p != NULL; p++)
		found |= strcmp(*p, domain) == 0;
	db_strv_free(v);
	return found;
}

static void
cert_init(struct db_cert *c, const char *serial, const char *names,
	  int64_t not_after)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	c->profile = (char *)"server";
	c->subject = (char *)"CN=test";
	c->names = (char *)names;
	c->not_before = NOW - DAY;
	c->not_after = not_after;
	memset(c->spki_sha256, 0xab, sizeof(c->spki_sha256));
	c->created_at = NOW;
}

/* Reserve and complete: a VALID certificate. */
static int
add_valid(struct db *db, const char *serial, const char *names,
	  int64_t not_after)
{
	struct db_cert c;
	struct mica_err err;

	cert_init(&c, serial, names, not_after);
	if (db_cert_reserve(db, &c, &err) != 0)
		return -1;
	return db_cert_complete(db, serial, DER, sizeof(DER), &err);
}

/* A db_revoked_cb that counts. */
static int
count_cb(void *ctx, const char *serial_hex, int64_t revoked_at, int reason,
	 int64_t invalid_at)
{
	(void)invalid_at;
	(void)serial_hex;
	(void)revoked_at;
	(void)reason;
	(*(int *)ctx)++;
	return 0;
}

static int
cert_status(struct db *db, const char *serial)
{
	struct db_cert c;
	struct mica_err err;
	int s;

	if (db_cert_get(db, serial, &c, &err) != 0)
		return -1;
	s = c.status;
	db_cert_free(&c);
	return s;
}

static void
token_init(struct db_token *t, const char *id, int kind, int64_t uses,
	   int64_t expires)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id);
	memset(t->hash, 0x5a, sizeof(t->hash));
	t->kind = kind;
	t->uses_left = uses;
	t->expires_at = expires;
	t->created_at = NOW;
	t->created_by = (char *)"cli";
}

static void
req_init(struct db_request *r, const char *id, int64_t at)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->profile = (char *)"server";
	r->csr_der = (unsigned char *)DER;
	r->csr_len = sizeof(DER);
	r->names = (char *)"www.example.test";
	r->subject = (char *)"CN=www.example.test";
	r->client = (char *)"192.0.2.7";
	r->submitted_at = at;
}

/* ------------------------------------------------------------------ */
/* Opening, permissions, migrations                                    */
/* ------------------------------------------------------------------ */

static void
test_create_mode(void)
{
	struct mica_err err;
	struct db *db = NULL;
	char path[128], s[160];
	mode_t old;

	/* Even with a permissive umask the files come out 0600. */
	old = umask(0);
	new_path(path, "mode");
	CU_ASSERT_EQUAL_FATAL(db_open(path, DB_OPEN_CREATE, &db, &err), 0);
	umask(old);
	CU_ASSERT_EQUAL(db_audit_add(db, NOW, "cli", "test", NULL, NULL, &err), 0);
	CU_ASSERT_EQUAL(mode_of(path), 0600);
	CU_ASSERT_EQUAL(mode_of(side(s, path, "-wal")), 0600);
	CU_ASSERT_EQUAL(mode_of(side(s, path, "-shm")), 0600);
	CU_ASSERT_EQUAL(db_schema_version(db), db_schema_version_builtin());
	CU_ASSERT(db_schema_version_builtin() >= 1);
	/* What a change frees is overwritten (the old sealed key), however
	 * SQLite was built. */
	{
		sqlite3_stmt *q = NULL;

		CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db->h, "PRAGMA secure_delete",
							 -1, &q, NULL), SQLITE_OK);
		CU_ASSERT_EQUAL(sqlite3_step(q), SQLITE_ROW);
		CU_ASSERT_EQUAL(sqlite3_column_int(q, 0), 1);
		sqlite3_finalize(q);
	}
	db_close(db);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA application_id"), 0x6d696361);

	/* A umask that would strip the owner's write bit: still exactly 0600
	 * (and usable read-write). */
	old = umask(0277);
	new_path(path, "umask");
	db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(path, DB_OPEN_CREATE, &db, &err), 0);
	umask(old);
	CU_ASSERT_EQUAL(mode_of(path), 0600);
	CU_ASSERT_EQUAL(db_audit_add(db, NOW, "cli", "test", NULL, NULL, &err), 0);
	CU_ASSERT_EQUAL(mode_of(side(s, path, "-wal")), 0600);
	db_close(db);
	/* WAL is recorded in the file header (bytes 18 and 19 are 2). */
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM pragma_journal_mode "
				      "WHERE journal_mode = 'wal'"), 1);
}

static void
test_create_refuses_existing(void)
{
	struct mica_err err;
	struct db *db = NULL;
	char path[128], s[160];
	int fd;

	new_path(path, "exists");
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(db_open(path, DB_OPEN_CREATE, &db, &err), -1);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "store_exists");
	CU_ASSERT(exists(path));   /* not removed: it was not ours */

	/* A stale -wal would be replayed into the new database. */
	new_path(path, "stale");
	fd = open(side(s, path, "-wal"), O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(db_open(path, DB_OPEN_CREATE, &db, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT(!exists(path));

	/* A symlink planted at the path is not followed. */
	new_path(path, "link");
	CU_ASSERT_EQUAL_FATAL(symlink("/nonexistent-mica-target", path), 0);
	CU_ASSERT_EQUAL(db_open(path, DB_OPEN_CREATE, &db, &err), -1);
	CU_ASSERT(!exists("/nonexistent-mica-target"));
}

static void
test_refuses_insecure_modes(void)
{
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0602, 0620, 0701 };
	struct mica_err err;
	struct db *db;
	char path[128], s[160];
	size_t i;
	int fd;

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	db_close(db);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		db = NULL;
		CU_ASSERT_EQUAL_FATAL(chmod(path, bad[i]), 0);
		CU_ASSERT_EQUAL(db_open(path, 0, &db, &err), -1);
		CU_ASSERT_PTR_NULL(db);
		CU_ASSERT_EQUAL(err.kind, MICA_E_FORBIDDEN);
		CU_ASSERT_STRING_EQUAL(err.code, "insecure_permissions");
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "chmod 600"));
		CU_ASSERT_EQUAL(db_open(path, DB_OPEN_READONLY, &db, &err), -1);
	}
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);

	/* A leftover readable -wal is refused too. */
	fd = open(side(s, path, "-wal"), O_CREAT | O_WRONLY, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	fchmod(fd, 0644);
	close(fd);
	CU_ASSERT_EQUAL(db_open(path, 0, &db, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_FORBIDDEN);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "-wal"));
	CU_ASSERT_EQUAL(chmod(s, 0600), 0);

	db = NULL;
	CU_ASSERT_EQUAL(db_open(path, 0, &db, &err), 0);
	db_close(db);
}

/* What a file in the store's place is, from its header alone, for the
 * message that refuses to overwrite it: mica's, not SQLite at all, or
 * another program's SQLite database. Nothing is created beside it. */
static void
test_file_kind(void)
{
	struct mica_err err;
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char path[128], other[128], text[128], buf[160];
	FILE *f;

	new_path(path, "kind-mica");
	CU_ASSERT_EQUAL_FATAL(db_open(path, DB_OPEN_CREATE, &db, &err), 0);
	db_close(db);
	CU_ASSERT_EQUAL(db_file_kind(path), DB_FILE_MAYBE_MICA);
	new_path(text, "kind-text");
	CU_ASSERT_FATAL((f = fopen(text, "w")) != NULL);
	for (int i = 0; i < 20; i++)
		fputs("not a database at all\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(db_file_kind(text), DB_FILE_NOT_SQLITE);
	new_path(other, "kind-other");
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(other, &h), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(h, "PRAGMA application_id = 12345; "
				     "CREATE TABLE t(a)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	CU_ASSERT_EQUAL(db_file_kind(other), DB_FILE_FOREIGN);
	CU_ASSERT(!exists(side(buf, other, "-wal")));
	CU_ASSERT(!exists(side(buf, text, "-journal")));
	/* Nothing to tell: missing, empty. */
	CU_ASSERT_EQUAL(db_file_kind(new_path(buf, "kind-missing")), DB_FILE_MAYBE_MICA);
	CU_ASSERT_FATAL((f = fopen(buf, "w")) != NULL);
	fclose(f);
	CU_ASSERT_EQUAL(db_file_kind(buf), DB_FILE_MAYBE_MICA);
}

static void
test_missing_file(void)
{
	struct mica_err err;
	struct db *db = NULL;
	char path[128];

	new_path(path, "missing");
	CU_ASSERT_EQUAL(db_open(path, 0, &db, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
	CU_ASSERT_STRING_EQUAL(err.code, "store_unavailable");
	CU_ASSERT(!exists(path));
	/* A directory is not a database. */
	CU_ASSERT_EQUAL(db_open(tmpdir, 0, &db, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
	/* Bad arguments. */
	CU_ASSERT_EQUAL(db_open(NULL, 0, &db, &err), -1);
	CU_ASSERT_EQUAL(db_open(path, DB_OPEN_CREATE | DB_OPEN_READONLY, &db,
				&err), -1);
	CU_ASSERT_EQUAL(db_open(path, 0x100, &db, &err), -1);
	CU_ASSERT_EQUAL(db_open(":memory:", DB_OPEN_READONLY, &db, &err), -1);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT(!exists(path));
}

static void
test_migrations_idempotent(void)
{
	struct mica_err err;
	struct db *db;
	char path[128];
	char **v = NULL;

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(db_domain_add(db, "example.test", &err), 0);
	db_close(db);
	for (int i = 0; i < 3; i++) {
		db = NULL;
		CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
		CU_ASSERT_EQUAL(db_schema_version(db), db_schema_version_builtin());
		CU_ASSERT_EQUAL(db_integrity_check(db, &err), 0);
		CU_ASSERT_EQUAL(db_domain_list(db, &v, &err), 0);
		CU_ASSERT(v != NULL && v[0] != NULL && v[1] == NULL &&
			  strcmp(v[0], "example.test") == 0);
		db_strv_free(v);
		db_close(db);
	}
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_master "
				      "WHERE name = 'certificate'"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_master "
				      "WHERE name = 'setting'"), 0);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"),
			db_schema_version_builtin());
}

static void
test_refuses_newer_schema(void)
{
	struct mica_err err;
	struct db *db;
	char path[128], sql[64];

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	db_close(db);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 db_schema_version_builtin() + 1);
	CU_ASSERT_EQUAL_FATAL(raw_exec(path, sql), SQLITE_OK);
	db = NULL;
	CU_ASSERT_EQUAL(db_open(path, 0, &db, &err), -1);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
	CU_ASSERT_STRING_EQUAL(err.code, "schema_too_new");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "upgrade mica"));
	CU_ASSERT_EQUAL(db_open(path, DB_OPEN_READONLY, &db, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "schema_too_new");
	/* Left as it was. */
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"),
			db_schema_version_builtin() + 1);
}

/* A store made by a mica that knew only schema 001: opened read-write it
 * is brought up to date (the unused setting table goes, 002), and its
 * data stays. */
static void
test_migrates_v1_store(void)
{
	const struct db_migration *v1 = NULL;
	struct mica_err err;
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char path[128], sql[64];
	int fd;

	for (size_t i = 0; i < db_nmigrations; i++)
		if (db_migrations[i].version == 1)
			v1 = &db_migrations[i];
	CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
	new_path(path, "v1");
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	/* What db_open did when 001 was the newest migration. */
	CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE,
					      NULL), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(h, v1->sql, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", DB_APPLICATION_ID);
	CU_ASSERT_EQUAL(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(h, "PRAGMA user_version = 1; "
				     "INSERT INTO ca_domain VALUES ('kept.test'); "
				     "INSERT INTO setting VALUES ('k', 'v'); "
				     "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	/* Read-only it is refused as outdated, and left as it was. */
	CU_ASSERT_EQUAL(db_open(path, DB_OPEN_READONLY, &db, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "schema_outdated");
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), 1);
	/* DB_OPEN_OLDER opens it as it is, read-only (mica backup beside
	 * an older daemon), and only with DB_OPEN_READONLY. */
	CU_ASSERT_EQUAL_FATAL(db_open(path, DB_OPEN_READONLY | DB_OPEN_OLDER,
				      &db, &err), 0);
	CU_ASSERT_EQUAL(db_schema_version(db), 1);
	db_close(db);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), 1);
	CU_ASSERT_EQUAL(db_open(path, DB_OPEN_OLDER, &db, &err), -1);
	CU_ASSERT_EQUAL(db_open(path, DB_OPEN_OLDER | DB_OPEN_BACKUP, &db,
				&err), -1);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), 1);

	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	CU_ASSERT(db_schema_version_builtin() >= 2);
	CU_ASSERT_EQUAL(db_schema_version(db), db_schema_version_builtin());
	CU_ASSERT_EQUAL(has_domain(db, "kept.test"), 1);
	CU_ASSERT_EQUAL(db_integrity_check(db, &err), 0);
	db_close(db);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_master "
				      "WHERE name = 'setting'"), 0);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"),
			db_schema_version_builtin());
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA application_id"), DB_APPLICATION_ID);
}

/* open_backup PATH: DB_OPEN_BACKUP, then db_schema_check; its result, the
 * error in *ERR. */
static int
open_backup_check(const char *path, struct mica_err *err)
{
	struct db *db = NULL;
	int rc;

	if (db_open(path, DB_OPEN_BACKUP, &db, err) != 0)
		return -1;
	rc = db_schema_check(db, err);
	db_close(db);
	return rc;
}

/* A backup is read immutable (no -wal/-shm made beside it) at any schema
 * version mica knows, and its schema must be exactly what the migrations
 * up to that version build. */
static void
test_schema_check(void)
{
	static const struct {
		const char *sql, *msg;
	} bad[] = {
		{ "CREATE TRIGGER x AFTER INSERT ON audit BEGIN SELECT 1; END",
		  "unknown trigger x" },
		{ "DROP TRIGGER compromised_key_no_delete",
		  "trigger compromised_key_no_delete is missing" },
		{ "CREATE TABLE zz (a)", "unknown table zz" },
		{ "CREATE VIEW v AS SELECT 1", "unknown view v" },
		{ "DROP INDEX audit_by_at; CREATE INDEX audit_by_at ON audit (at DESC)",
		  "index audit_by_at is changed" },
	};
	const struct db_migration *v1 = NULL;
	struct mica_err err;
	struct db *db;
	sqlite3 *h = NULL;
	char path[128], copy[128], sp[160], sql[4096];
	int fd;

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	db_close(db);
	CU_ASSERT(!exists(side(sp, path, "-wal")));
	CU_ASSERT_EQUAL(open_backup_check(path, &err), 0);
	CU_ASSERT(!exists(side(sp, path, "-wal")));
	CU_ASSERT(!exists(side(sp, path, "-shm")));
	/* Bad flags: a backup is never created. */
	db = NULL;
	CU_ASSERT_EQUAL(db_open(path, DB_OPEN_BACKUP | DB_OPEN_CREATE, &db, &err), -1);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		db = fresh(copy);
		CU_ASSERT_PTR_NOT_NULL_FATAL(db);
		db_close(db);
		CU_ASSERT_EQUAL_FATAL(raw_exec(copy, bad[i].sql), SQLITE_OK);
		CU_ASSERT_EQUAL(open_backup_check(copy, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
		CU_ASSERT_STRING_EQUAL(err.code, "schema_mismatch");
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].msg));
	}

	/* A non-empty -wal beside it, which immutable would ignore. */
	fd = open(side(sp, path, "-wal"), O_CREAT | O_EXCL | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "x", 1), 1);
	close(fd);
	CU_ASSERT_EQUAL(open_backup_check(path, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "backup_wal");
	unlink(sp);

	/* A store of schema 001 matches the schema of version 1. */
	for (size_t i = 0; i < db_nmigrations; i++)
		if (db_migrations[i].version == 1)
			v1 = &db_migrations[i];
	CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
	new_path(path, "v1backup");
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE,
					      NULL), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(h, v1->sql, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; "
		 "PRAGMA user_version = 1", DB_APPLICATION_ID);
	CU_ASSERT_EQUAL(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	CU_ASSERT_EQUAL(open_backup_check(path, &err), 0);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), 1);
	/* ... but not that of version 2 (002 drops the setting table). */
	CU_ASSERT_EQUAL(raw_exec(path, "PRAGMA user_version = 2"), SQLITE_OK);
	CU_ASSERT_EQUAL(open_backup_check(path, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "schema_mismatch");
	/* Version 0 is no mica store at all. */
	CU_ASSERT_EQUAL(raw_exec(path, "PRAGMA user_version = 0"), SQLITE_OK);
	CU_ASSERT_EQUAL(open_backup_check(path, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "not_a_mica_database");
}

/* 62 hex zeros: with two more digits, a 32-octet blob literal. */
#define Z62 "00000000000000000000000000000000000000000000000000000000000000"

/* A store as a mica of schema VERSION made it, at PATH (named after
 * STEM): the migrations up to VERSION but SKIP (0: none; a mica that
 * never had that one) applied, mica's application_id, in
 * an open transaction for the caller's rows, which end with its own
 * "PRAGMA user_version = VERSION; COMMIT". NULL on failure. */
static sqlite3 *
old_store_skip(char path[128], const char *stem, int version, int skip)
{
	char sql[64];
	sqlite3 *h = NULL;
	int fd, ok = 1;

	new_path(path, stem);
	if ((fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600)) < 0)
		return NULL;
	close(fd);
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		ok = 0;
	for (size_t i = 0; ok && i < db_nmigrations; i++)
		if (db_migrations[i].version <= version &&
		    db_migrations[i].version != skip &&
		    sqlite3_exec(h, db_migrations[i].sql, NULL, NULL, NULL) != SQLITE_OK)
			ok = 0;
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", DB_APPLICATION_ID);
	if (ok && sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		ok = 0;
	if (!ok) {
		sqlite3_close(h);
		return NULL;
	}
	return h;
}

static sqlite3 *
old_store(char path[128], const char *stem, int version)
{
	return old_store_skip(path, stem, version, 0);
}

/* A store made before 003: opening it read-write lists the keys of the
 * certificates already revoked for keyCompromise as compromised, and only
 * those (not certificateHold, not superseded, not valid ones). */
static void
test_migration_backfills_compromised_keys(void)
{
	struct mica_err err;
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char path[128];
	unsigned char key[32];
	int bad = -1;

	h = old_store(path, "v2", 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	/* Keys 0x01.. (keyCompromise), 0x02.. (certificateHold), 0x03..
	 * (superseded), 0x04.. (valid), 0x05.. (keyCompromise again, on a
	 * second certificate of key 0x01: one row). */
	CU_ASSERT_EQUAL(sqlite3_exec(h,
		"INSERT INTO certificate (serial, profile, not_before, not_after, der, "
		"spki_sha256, status, revoked_at, reason, created_at) VALUES "
		"('01', 'server', 1, 2, x'30', x'" Z62 "01', 2, 100, 1, 1), "
		"('02', 'server', 1, 2, x'30', x'" Z62 "02', 2, 100, 6, 1), "
		"('03', 'server', 1, 2, x'30', x'" Z62 "03', 2, 100, 4, 1), "
		"('04', 'server', 1, 2, x'30', x'" Z62 "04', 1, 0, -1, 1), "
		"('05', 'server', 1, 2, x'30', x'" Z62 "01', 2, 200, 1, 1); "
		"PRAGMA user_version = 2; COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	CU_ASSERT(db_schema_version_builtin() >= 3);
	memset(key, 0, sizeof(key));
	for (unsigned char k = 1; k <= 4; k++) {
		key[31] = k;
		CU_ASSERT_EQUAL(db_key_compromised(db, key, &bad, &err), 0);
		CU_ASSERT_EQUAL(bad, k == 1);
	}
	db_close(db);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM compromised_key"), 1);
}

/* Schema 022: a store of schema 21 with a key listed as compromised (and
 * a sibling an older mica left revoked for another reason) queues the key
 * for the sweep that raises its siblings. */
static void
test_migration_022_queues_listed_keys(void)
{
	struct mica_err err;
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char path[128];

	h = old_store(path, "v21", 21);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(sqlite3_exec(h,
		"INSERT INTO compromised_key (spki_sha256, serial, added_at) "
		"VALUES (x'" Z62 "01', 'aa01', 100); "
		"PRAGMA user_version = 21; COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM key_siblings_todo"), 0);
	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	db_close(db);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM key_siblings_todo "
				"WHERE serial = 'aa01'"), 1);
}

/* An upgrade is one transaction: a store of schema 18 whose migration 020
 * fails (an index of its name is in the way) keeps schema 18 and nothing
 * of 019, so the mica that made it still opens it; once the obstacle is
 * gone the upgrade goes through. */
static void
test_failed_upgrade_changes_nothing(void)
{
	struct mica_err err;
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char path[128];

	h = old_store(path, "v18", 18);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(sqlite3_exec(h,
		"CREATE INDEX token_usable ON token (id); "
		"PRAGMA user_version = 18; COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	CU_ASSERT_NOT_EQUAL(db_open(path, 0, &db, &err), 0);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), 18);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM "
				"pragma_table_info('certificate') WHERE name = 'token_id'"), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_master "
				"WHERE name = 'acme_order_processing'"), 0);

	CU_ASSERT_EQUAL(raw_exec(path, "DROP INDEX token_usable"), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	db_close(db);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), db_schema_version_builtin());
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM "
				"pragma_table_info('certificate') WHERE name = 'token_id'"), 1);
}

/* A store of schema 009, with names in upper case (an email's local part
 * kept its case): 010 lowercases cert_name, keeping one row where two
 * differed only in case, adds the expiry index, and the names are found
 * whatever case the search uses. */
static void
test_migrates_v9_names(void)
{
	struct db_cert_filter f;
	struct db_cert *a = NULL;
	struct db_cert_cursor next;
	struct mica_err err;
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char path[128];
	size_t n = 0;

	h = old_store(path, "v9", 9);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(sqlite3_exec(h,
		"INSERT INTO certificate (serial, profile, names, not_before, "
		"not_after, der, spki_sha256, status, created_at) VALUES "
		"('01', 'email', 'Alice@contoso.test', 1, 2000000000, x'30', "
		"zeroblob(32), 1, 1), "
		"('02', 'server', 'www.contoso.test', 1, 2000000000, x'30', "
		"zeroblob(32), 1, 1); "
		"INSERT INTO cert_name (serial, name) VALUES "
		"('01', 'Alice@contoso.test'), ('01', 'alice@contoso.test'), "
		"('02', 'www.contoso.test'); "
		"PRAGMA user_version = 9; COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	CU_ASSERT(db_schema_version_builtin() >= 10);
	memset(&f, 0, sizeof(f));
	f.status = -1;
	f.now = NOW;
	f.limit = 10;
	f.name = "ALICE@contoso.test";
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT(n == 1 && strcmp(a[0].serial, "01") == 0 &&
		  strcmp(a[0].names, "Alice@contoso.test") == 0);
	db_cert_array_free(a, n);
	db_close(db);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM cert_name"), 2);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM cert_name "
				"WHERE name <> lower(name)"), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_master "
				"WHERE name = 'certificate_by_expiry'"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"),
			db_schema_version_builtin());
}

/* A store of schema 019 with tokens used up, revoked and usable: 020 adds
 * the index of the usable ones, which the active listing then walks. */
static void
test_migration_020_indexes_usable_tokens(void)
{
	struct db_token *a = NULL;
	struct mica_err err;
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char path[128];
	int64_t next = -1;
	size_t n = 0;

	h = old_store(path, "v19", 19);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(sqlite3_exec(h,
		"INSERT INTO token (id, hash, kind, uses_left, expires_at, "
		"created_at, revoked) VALUES "
		"('used', zeroblob(32), 0, 0, 0, 1, 0), "
		"('live', zeroblob(32), 0, 3, 0, 2, 0), "
		"('gone', zeroblob(32), 1, -1, 0, 3, 1); "
		"PRAGMA user_version = 19; COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_token_list(db, 1, NOW, 0, 10, 0, &a, &n,
					    &next, &err), 0);
	CU_ASSERT(n == 1 && strcmp(a[0].id, "live") == 0 && next == 0);
	db_token_array_free(a, n);
	db_close(db);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_master "
				"WHERE name = 'token_usable'"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"),
			db_schema_version_builtin());
}

/* Migration 012 on a store of schema 011 with a pre-signed response: the
 * response gets its refresh time (half a day before its nextUpdate, or
 * none when it outlives its certificate), the change counter starts,
 * and no key counts as walked (the first refresh walks once). */
static void
test_migration_012_upgrades_ocsp_rows(void)
{
	struct mica_err err;
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char path[128];

	h = old_store(path, "v11", 11);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	/* 0a outlives its response, 0b expires before its response's
	 * nextUpdate. */
	CU_ASSERT_EQUAL(sqlite3_exec(h,
		"INSERT INTO certificate (serial, profile, not_before, not_after, der, "
		"spki_sha256, status, created_at) VALUES "
		"('0a', 'server', 1, 900000, x'30', x'" Z62 "0a', 1, 1), "
		"('0b', 'server', 1, 150000, x'30', x'" Z62 "0b', 1, 1); "
		"INSERT INTO ocsp_response (serial, status, revoked_at, reason, "
		"this_update, next_update, der, by_ca) VALUES "
		"('0a', 1, 0, -1, 100000, 186400, x'30', 1), "
		"('0b', 1, 0, -1, 100000, 186400, x'30', 1); "
		"PRAGMA user_version = 11; COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	CU_ASSERT(db_schema_version(db) >= 12);
	db_close(db);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT refresh_at FROM ocsp_response "
				      "WHERE serial = '0a'"), 186400 - 43200);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT refresh_at IS NULL FROM "
				      "ocsp_response WHERE serial = '0b'"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT n FROM ocsp_seq"), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM ocsp_walked"), 0);
	/* From now on: a revocation drops the response under a change
	 * number, and marks the certificate. */
	CU_ASSERT_EQUAL(raw_exec(path, "UPDATE certificate SET status = 2, "
				       "revoked_at = 5, reason = 1 "
				       "WHERE serial = '0a'"), SQLITE_OK);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT seq FROM ocsp_gone "
				      "WHERE serial = '0a'"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM ocsp_dirty "
				      "WHERE serial = '0a'"), 1);
}

/* The statements of the OCSP passes find their rows through indexes:
 * with nothing to do they read nothing, whatever the store holds. */
static void
test_ocsp_pass_statements_use_indexes(void)
{
	struct db *db = fresh(NULL);
	struct mica_err err;
	char plan[1024];

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(db_ocsp_plan(db, S_OCSP_DUE, plan, sizeof(plan), &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "ocsp_response_by_refresh (refresh_at<?)"));
	CU_ASSERT_PTR_NULL(strstr(plan, "SCAN"));
	CU_ASSERT_EQUAL(db_ocsp_plan(db, S_OCSP_CHANGED, plan, sizeof(plan), &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "ocsp_response_by_seq (seq>?)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "SEARCH ocsp_gone USING INTEGER PRIMARY KEY (rowid>?)"));
	CU_ASSERT_PTR_NULL(strstr(plan, "SCAN c"));
	CU_ASSERT_PTR_NULL(strstr(plan, "SCAN o"));
	/* The marks are the work list itself; each certificate by serial. */
	CU_ASSERT_EQUAL(db_ocsp_plan(db, S_OCSP_MARKED, plan, sizeof(plan), &err), 0);
	CU_ASSERT_PTR_NULL(strstr(plan, "SCAN c"));
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "(serial=?)"));
	db_close(db);
}

/* Upgrading to schema 14: the certificates of RSA keys already on the
 * compromised list (rsaEncryption in their DER) wait for the engine to
 * add their moduli; db_key_todo_done adds one beside its key, at the
 * same time, and takes the certificate off. */
static void
test_migration_14_lists_compromised_rsa_keys(void)
{
	struct mica_err err;
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char path[128], serial[DB_SERIAL_MAX];
	unsigned char *der = NULL, id[32];
	size_t len = 0;
	int found = -1, bad = -1;

	h = old_store(path, "v13", 13);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	/* 0a: RSA, compromised; 0b: EC, compromised; 0c: RSA, not. */
	CU_ASSERT_EQUAL(sqlite3_exec(h,
		"INSERT INTO certificate (serial, profile, not_before, not_after, der, "
		"spki_sha256, status, revoked_at, reason, created_at) VALUES "
		"('0a', 'server', 1, 900000, x'3010300d06092a864886f70d0101010500', "
		"x'" Z62 "0a', 2, 5, 1, 1), "
		"('0b', 'server', 1, 900000, x'301306072a8648ce3d020106082a8648ce3d030107', "
		"x'" Z62 "0b', 2, 6, 1, 1), "
		"('0c', 'server', 1, 900000, x'3010300d06092a864886f70d0101010500', "
		"x'" Z62 "0c', 1, 0, -1, 1); "
		"INSERT INTO compromised_key (spki_sha256, serial, added_at) VALUES "
		"(x'" Z62 "0a', '0a', 5), (x'" Z62 "0b', '0b', 6); "
		"PRAGMA user_version = 13; COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	CU_ASSERT(db_schema_version(db) >= 14);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM compromised_key_todo"), 1);
	CU_ASSERT_EQUAL(db_key_todo_next(db, serial, &der, &len, &found, &err), 0);
	CU_ASSERT_EQUAL(found, 1);
	CU_ASSERT_STRING_EQUAL(serial, "0a");
	CU_ASSERT_EQUAL(len, 17);
	CU_ASSERT_PTR_NOT_NULL(der);
	free(der);
	memset(id, 0xab, sizeof(id));
	CU_ASSERT_EQUAL(db_key_compromised(db, id, &bad, &err), 0);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(db_key_todo_done(db, "0a", id, &err), 0);
	CU_ASSERT_EQUAL(db_key_compromised(db, id, &bad, &err), 0);
	CU_ASSERT_EQUAL(bad, 1);
	CU_ASSERT_EQUAL(db_key_todo_next(db, serial, &der, &len, &found, &err), 0);
	CU_ASSERT_EQUAL(found, 0);
	CU_ASSERT_PTR_NULL(der);
	db_close(db);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT added_at FROM compromised_key "
				      "WHERE spki_sha256 = x'" "abababababababababababababababab"
				      "abababababababababababababababab'"), 5);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM compromised_key"), 3);
}

/* The list of compromised keys: filled from a certificate row, idempotent,
 * never emptied. */
static void
test_compromised_keys_are_kept(void)
{
	struct db *db = fresh(NULL);
	struct db_cert c;
	struct mica_err err;
	unsigned char key[32];
	int bad = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	cert_init(&c, "0a", "a.test", NOW + DAY);
	c.spki_sha256[0] = 0x0a;
	CU_ASSERT_EQUAL_FATAL(db_cert_reserve(db, &c, &err), 0);
	memcpy(key, c.spki_sha256, 32);
	CU_ASSERT_EQUAL(db_key_compromised(db, key, &bad, &err), 0);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(db_key_compromised_add(db, "0a", NOW, NULL, &err), 0);
	CU_ASSERT_EQUAL(db_key_compromised_add(db, "0a", NOW + 1, NULL, &err), 0);
	/* an unknown serial adds nothing */
	CU_ASSERT_EQUAL(db_key_compromised_add(db, "0b", NOW, NULL, &err), 0);
	CU_ASSERT_EQUAL(db_key_compromised(db, key, &bad, &err), 0);
	CU_ASSERT_EQUAL(bad, 1);
	CU_ASSERT_EQUAL(sqlite3_exec(db->h, "DELETE FROM compromised_key", NULL, NULL,
				     NULL) & 0xff, SQLITE_CONSTRAINT);
	CU_ASSERT_EQUAL(sqlite3_exec(db->h, "UPDATE compromised_key SET added_at = 0",
				     NULL, NULL, NULL) & 0xff, SQLITE_CONSTRAINT);
	CU_ASSERT_EQUAL(db_key_compromised(db, key, &bad, &err), 0);
	CU_ASSERT_EQUAL(bad, 1);
	CU_ASSERT_EQUAL(db_key_compromised_add(db, "zz", NOW, NULL, &err), -1);
	db_close(db);
}

/* A store made by a mica that knew schema 004 (one CA, one key, no
 * hierarchy): 005 rebuilds the CA row and adds the key indexes, and a
 * single-tier CA comes out active with its one key at index 0, its
 * certificates and CRLs that key's. */
static void
test_migrates_v4_store(void)
{
	struct mica_err err;
	struct db *db = NULL;
	struct db_ca ca;
	struct db_crl crl;
	struct db_ca_key *keys = NULL;
	sqlite3 *h = NULL;
	char path[128];
	size_t nkeys = 9;
	int walked = 0;

	h = old_store(path, "v4", 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(sqlite3_exec(h,
		"PRAGMA user_version = 4; "
		"INSERT INTO ca VALUES (1, 'Old Root', 'http://ca.test', 'ec-p256', "
		"x'3003020101', x'01010101010101010101010101010101', 600000, "
		"x'020202020202020202020202', x'0303', 7, 1700000000, NULL); "
		"INSERT INTO certificate (serial, profile, not_before, not_after, der, "
		"spki_sha256, status, revoked_at, reason, created_at) VALUES "
		"('0a', 'server', 1700000000, 1900000000, x'3003020101', "
		"zeroblob(32), 2, 1700000100, 1, 1700000000); "
		"INSERT INTO crl VALUES (3, 1700000000, 1700600000, x'3003020101'); "
		"COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	CU_ASSERT_EQUAL(db_schema_version(db), db_schema_version_builtin());
	CU_ASSERT_EQUAL_FATAL(db_ca_get(db, &ca, &err), 0);
	CU_ASSERT_STRING_EQUAL(ca.name, "Old Root");
	CU_ASSERT_EQUAL(ca.state, DB_CA_ACTIVE);
	CU_ASSERT_EQUAL(ca.key_idx, 0);
	CU_ASSERT_PTR_NULL(ca.chain_der);
	CU_ASSERT_PTR_NULL(ca.csr_der);
	CU_ASSERT(ca.cert_len == 5 && ca.key_ct_len == 2 && ca.key_iter == 600000);
	db_ca_free(&ca);
	CU_ASSERT_EQUAL(db_ca_key_list(db, &keys, &nkeys, &err), 0);
	CU_ASSERT_EQUAL(nkeys, 0);
	db_ca_key_array_free(keys, nkeys);
	CU_ASSERT_EQUAL(db_crl_latest(db, &crl, &err), 0);
	CU_ASSERT_EQUAL(crl.number, 3);
	CU_ASSERT_EQUAL(crl.key_idx, 0);
	db_crl_free(&crl);
	CU_ASSERT_EQUAL(db_revoked_foreach_key(db, 0, 1700000000, NULL, count_cb,
					       &walked, &err), 0);
	CU_ASSERT_EQUAL(walked, 1);
	CU_ASSERT_EQUAL(db_integrity_check(db, &err), 0);
	db_close(db);
}

/* A store of a mica whose schema had 001, 002, 004 (and later) but not
 * 003, which reached the main line after them: made at schema 4 or 5,
 * or left at 13 by an upgrade that stopped at 014. Opened for writing,
 * 003 is applied and the upgrade goes on: its keyCompromise revocation
 * is on the list, the schema is mica's own; as a backup, its schema is
 * checked against what that mica made. */
static void
test_migrates_a_store_without_003(void)
{
	static const int versions[] = { 4, 5, 13 };

	for (size_t k = 0; k < sizeof(versions) / sizeof(versions[0]); k++) {
		struct mica_err err;
		struct db *db = NULL;
		sqlite3 *h;
		char path[128], stem[16], sql[400];
		unsigned char key[32];
		int bad = -1;

		snprintf(stem, sizeof(stem), "no003v%d", versions[k]);
		h = old_store_skip(path, stem, versions[k], 3);
		CU_ASSERT_PTR_NOT_NULL_FATAL(h);
		snprintf(sql, sizeof(sql),
			 "INSERT INTO certificate (serial, profile, not_before, not_after, der, "
			 "spki_sha256, status, revoked_at, reason, created_at) VALUES "
			 "('0a', 'server', 1700000000, 1900000000, x'3003020101', "
			 "x'%064x', 2, 1700000100, 1, 1700000000); "
			 "PRAGMA user_version = %d; COMMIT", 7, versions[k]);
		CU_ASSERT_EQUAL(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(h);
		/* As a backup: the schema that mica made. */
		CU_ASSERT_EQUAL_FATAL(db_open(path, DB_OPEN_BACKUP, &db, &err), 0);
		if (db_schema_check(db, &err) != 0)
			fprintf(stderr, "\n  schema %d: %s\n", versions[k], err.msg);
		CU_ASSERT_EQUAL(db_schema_check(db, &err), 0);
		db_close(db);
		db = NULL;
		/* Opened to write: 003 added, every migration after it. */
		if (db_open(path, 0, &db, &err) != 0)
			fprintf(stderr, "\n  schema %d: %s\n", versions[k], err.msg);
		CU_ASSERT_PTR_NOT_NULL_FATAL(db);
		CU_ASSERT_EQUAL(db_schema_version(db), db_schema_version_builtin());
		CU_ASSERT_EQUAL(db_schema_check(db, &err), 0);
		memset(key, 0, sizeof(key));
		key[31] = 7;
		CU_ASSERT_EQUAL(db_key_compromised(db, key, &bad, &err), 0);
		CU_ASSERT_EQUAL(bad, 1);
		CU_ASSERT_EQUAL(db_integrity_check(db, &err), 0);
		db_close(db);
	}
}

static void
test_refuses_foreign_file(void)
{
	struct mica_err err;
	struct db *db = NULL;
	char path[128];
	int fd;

	/* Another program's SQLite database: not migrated, not touched. */
	new_path(path, "foreign");
	{
		sqlite3 *h = NULL;
		CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &h), SQLITE_OK);
		CU_ASSERT_EQUAL(sqlite3_exec(h, "CREATE TABLE other (x)", NULL,
					     NULL, NULL), SQLITE_OK);
		sqlite3_close(h);
	}
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0600), 0);
	CU_ASSERT_EQUAL(db_open(path, 0, &db, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "not_a_mica_database");
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_master"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), 0);

	/* Not SQLite at all. */
	new_path(path, "junk");
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "this is not a database, just some text "
			      "long enough to have a header.............."
			      "..................................", 115), 115);
	close(fd);
	CU_ASSERT_EQUAL(db_open(path, 0, &db, &err), -1);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_STRING_EQUAL(err.code, "not_a_mica_database");
}

static void
test_readonly(void)
{
	struct mica_err err;
	struct db *db, *ro = NULL;
	char path[128];
	char opath[128];

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(db_domain_add(db, "k.test", &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_open(path, DB_OPEN_READONLY, &ro, &err), 0);
	CU_ASSERT_EQUAL(has_domain(ro, "k.test"), 1);
	CU_ASSERT_EQUAL(db_domain_add(ro, "w.test", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
	CU_ASSERT_STRING_EQUAL(err.code, "store_unavailable");
	db_close(ro);
	db_close(db);

	/* An open never initialises an empty file, read-only or not: only
	 * DB_OPEN_CREATE makes a store. */
	new_path(opath, "empty");
	close(open(opath, O_CREAT | O_WRONLY, 0600));
	ro = NULL;
	CU_ASSERT_EQUAL(db_open(opath, DB_OPEN_READONLY, &ro, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "not_a_mica_database");
	CU_ASSERT_EQUAL(db_open(opath, 0, &ro, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "not_a_mica_database");
	{
		struct stat sb;

		CU_ASSERT_EQUAL(stat(opath, &sb), 0);
		CU_ASSERT_EQUAL(sb.st_size, 0);
	}
}

/* A sealed key's fields, filled with bytes V. */
struct sealed_bytes {
	unsigned char salt[16], nonce[12], ct[48];
};

static void
ca_row_init(struct db_ca *ca, struct sealed_bytes *k, int v)
{
	memset(k->salt, v, sizeof(k->salt));
	memset(k->nonce, v, sizeof(k->nonce));
	memset(k->ct, v, sizeof(k->ct));
	memset(ca, 0, sizeof(*ca));
	ca->name = (char *)"Contoso Issuing CA";
	ca->public_url = (char *)"https://ca.contoso.test";
	ca->key_type = (char *)"ec-p256";
	ca->key_salt = k->salt; ca->key_salt_len = sizeof(k->salt);
	ca->key_iter = 600000;
	ca->key_nonce = k->nonce; ca->key_nonce_len = sizeof(k->nonce);
	ca->key_ct = k->ct; ca->key_ct_len = sizeof(k->ct);
	ca->crl_days = 7;
	ca->created_at = NOW;
}

static void
key_row_init(struct db_ca_key *k, struct sealed_bytes *b, int idx, int role)
{
	memset(k, 0, sizeof(*k));
	k->idx = idx;
	k->role = role;
	k->key_type = (char *)"ec-p384";
	k->key_salt = b->salt; k->key_salt_len = sizeof(b->salt);
	k->key_iter = 600000;
	k->key_nonce = b->nonce; k->key_nonce_len = sizeof(b->nonce);
	k->key_ct = b->ct; k->key_ct_len = sizeof(b->ct);
	k->created_at = NOW;
}

/* A CA awaiting its certificate has none; an active one must; the keys a
 * rollover retires and a pending renewal's are kept apart, one pending at
 * most. */
static void
test_ca_states_and_keys(void)
{
	static const unsigned char CSR[] = { 0x30, 0x02, 0x05, 0x00 };
	struct sealed_bytes kb, rb, pb;
	struct db_ca ca, got;
	struct db_ca_key k, *keys = NULL;
	struct mica_err err;
	size_t n = 0;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	ca_row_init(&ca, &kb, 1);
	ca.state = DB_CA_AWAITING;
	ca.cert_der = (unsigned char *)DER;
	ca.cert_len = sizeof(DER);
	CU_ASSERT_EQUAL(db_ca_insert(db, &ca, &err), -1);   /* cert while awaiting */
	ca.cert_der = NULL;
	ca.cert_len = 0;
	ca.state = DB_CA_ACTIVE;
	CU_ASSERT_EQUAL(db_ca_insert(db, &ca, &err), -1);   /* active, no cert */
	ca.state = DB_CA_AWAITING;
	ca.csr_der = (unsigned char *)CSR;
	ca.csr_len = sizeof(CSR);
	ca.key_idx = DB_KEYS_MAX;
	CU_ASSERT_EQUAL(db_ca_insert(db, &ca, &err), -1);   /* index out of range */
	ca.key_idx = 0;
	CU_ASSERT_EQUAL_FATAL(db_ca_insert(db, &ca, &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_ca_get(db, &got, &err), 0);
	CU_ASSERT_EQUAL(got.state, DB_CA_AWAITING);
	CU_ASSERT_PTR_NULL(got.cert_der);
	CU_ASSERT(got.csr_len == sizeof(CSR) && memcmp(got.csr_der, CSR, sizeof(CSR)) == 0);
	db_ca_free(&got);

	/* Installed: active, with a chain, the request gone. */
	ca.state = DB_CA_ACTIVE;
	ca.cert_der = (unsigned char *)DER;
	ca.cert_len = sizeof(DER);
	ca.chain_der = (unsigned char *)DER;
	ca.chain_len = sizeof(DER);
	ca.csr_der = NULL;
	ca.csr_len = 0;
	CU_ASSERT_EQUAL(db_ca_update_current(db, &ca, &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_ca_get(db, &got, &err), 0);
	CU_ASSERT_EQUAL(got.state, DB_CA_ACTIVE);
	CU_ASSERT(got.chain_len == sizeof(DER));
	CU_ASSERT_PTR_NULL(got.csr_der);
	db_ca_free(&got);
	CU_ASSERT_EQUAL(db_ca_set_csr(db, CSR, sizeof(CSR), &err), 0);

	/* The CRL number floor only rises: a restore's time, a number
	 * carried in from a CRL published elsewhere. */
	{
		int64_t floor = -1;

		CU_ASSERT_EQUAL(db_ca_set_restored(db, 10, 1000, &err), 0);
		CU_ASSERT_EQUAL(db_ca_crl_floor(db, &floor, &err), 0);
		CU_ASSERT_EQUAL(floor, 1000);
		CU_ASSERT_EQUAL(db_ca_raise_crl_floor(db, 5000, &err), 0);
		CU_ASSERT_EQUAL(db_ca_raise_crl_floor(db, 4000, &err), 0);
		CU_ASSERT_EQUAL(db_ca_crl_floor(db, &floor, &err), 0);
		CU_ASSERT_EQUAL(floor, 5000);
		CU_ASSERT_EQUAL(db_ca_set_restored(db, 30, 3000, &err), 0);
		CU_ASSERT_EQUAL(db_ca_crl_floor(db, &floor, &err), 0);
		CU_ASSERT_EQUAL(floor, 5000);
		/* A floor below the restore's second is no floor. */
		CU_ASSERT_EQUAL(db_ca_set_restored(db, 3000, 30, &err), -1);
	}

	/* A pending key, then a second: a conflict. A retired key needs its
	 * certificate. */
	key_row_init(&k, &pb, 1, DB_KEY_PENDING);
	CU_ASSERT_EQUAL(db_ca_key_insert(db, &k, &err), 0);
	k.idx = 2;
	CU_ASSERT_EQUAL(db_ca_key_insert(db, &k, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	key_row_init(&k, &rb, 3, DB_KEY_RETIRED);
	CU_ASSERT_EQUAL(db_ca_key_insert(db, &k, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	k.cert_der = (unsigned char *)DER;
	k.cert_len = sizeof(DER);
	CU_ASSERT_EQUAL(db_ca_key_insert(db, &k, &err), 0);
	k.idx = 16;
	CU_ASSERT_EQUAL(db_ca_key_insert(db, &k, &err), -1);
	CU_ASSERT_EQUAL_FATAL(db_ca_key_list(db, &keys, &n, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT(keys[0].idx == 1 && keys[0].role == DB_KEY_PENDING &&
		  keys[0].cert_der == NULL);
	CU_ASSERT(keys[1].idx == 3 && keys[1].role == DB_KEY_RETIRED &&
		  keys[1].cert_len == sizeof(DER));
	CU_ASSERT_STRING_EQUAL(keys[1].key_type, "ec-p384");
	db_ca_key_array_free(keys, n);

	/* Re-sealed (a passphrase change), deleted (installed). */
	memset(rb.ct, 9, sizeof(rb.ct));
	key_row_init(&k, &rb, 3, DB_KEY_RETIRED);
	CU_ASSERT_EQUAL(db_ca_key_update_sealed(db, &k, &err), 0);
	k.idx = 5;
	CU_ASSERT_EQUAL(db_ca_key_update_sealed(db, &k, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_EQUAL(db_ca_key_delete(db, 1, &err), 0);
	CU_ASSERT_EQUAL(db_ca_key_delete(db, 1, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_EQUAL_FATAL(db_ca_key_list(db, &keys, &n, &err), 0);
	CU_ASSERT(n == 1 && keys[0].key_ct[0] == 9);
	db_ca_key_array_free(keys, n);
	db_close(db);
}

/* Each key's CRLs and revoked certificates apart; one number series. */
static void
test_crls_and_revocations_per_key(void)
{
	struct db_crl crl, got;
	struct db_cert c;
	struct mica_err err;
	int n0 = 0, n1 = 0, all = 0;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	memset(&crl, 0, sizeof(crl));
	crl.this_update = NOW;
	crl.next_update = NOW + DAY;
	crl.der = (unsigned char *)DER;
	crl.der_len = sizeof(DER);
	crl.number = 1;
	crl.key_idx = 0;
	CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), 0);
	crl.number = 2;
	crl.key_idx = 1;
	CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), 0);
	crl.number = 2;
	crl.key_idx = 0;
	CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), -1);   /* one series */
	crl.number = 3;
	crl.key_idx = 16;
	CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), -1);
	CU_ASSERT_EQUAL(db_crl_latest(db, &got, &err), 0);
	CU_ASSERT(got.number == 1 && got.key_idx == 0 && got.der != NULL);
	db_crl_free(&got);
	CU_ASSERT_EQUAL(db_crl_latest_key(db, 1, 0, &got, &err), 0);
	CU_ASSERT(got.number == 2 && got.key_idx == 1 && got.der == NULL);
	db_crl_free(&got);
	CU_ASSERT_EQUAL(db_crl_latest_key(db, 2, 1, &got, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);

	cert_init(&c, "0a", "a.test", NOW + DAY);
	c.key_idx = 0;
	CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), 0);
	cert_init(&c, "0b", "b.test", NOW + DAY);
	c.key_idx = 1;
	CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), 0);
	cert_init(&c, "0c", "c.test", NOW + DAY);
	c.key_idx = 16;
	CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), -1);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "0a", 1, NOW, &err), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "0b", 1, NOW, &err), 0);
	CU_ASSERT_EQUAL(db_revoked_foreach_key(db, 0, NOW, NULL, count_cb, &n0, &err), 0);
	CU_ASSERT_EQUAL(db_revoked_foreach_key(db, 1, NOW, NULL, count_cb, &n1, &err), 0);
	CU_ASSERT_EQUAL(db_revoked_foreach(db, NOW, count_cb, &all, &err), 0);
	CU_ASSERT(n0 == 1 && n1 == 1 && all == 2);
	CU_ASSERT_EQUAL(db_revoked_foreach_key(db, -1, NOW, NULL, count_cb, &n0, &err), -1);
	db_close(db);
}

/* A revoked certificate of the profile the engine keeps on the CRLs stays
 * in the walk once it has expired; any other leaves it. The same key's
 * expired certificate of that profile is a sibling a keyCompromise still
 * revokes. */
static void
test_revoked_kept_profile(void)
{
	struct db *db = fresh(NULL);
	struct mica_err err;
	struct db_cert c;
	char (*also)[DB_SERIAL_MAX] = NULL;
	size_t nalso = 0;
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	/* 01 server and 02 codesign, both revoked and expired; 03 codesign
	 * revoked, still valid; 04 codesign expired, valid, of 02's key;
	 * 05 server expired, valid, of 02's key too. */
	static const struct { const char *serial, *profile; int64_t na; int revoke; } rows[] = {
		{ "01", "server", NOW - DAY, 1 }, { "02", "codesign", NOW - DAY, 1 },
		{ "03", "codesign", NOW + DAY, 1 }, { "04", "codesign", NOW - 2 * DAY, 0 },
		{ "05", "server", NOW - 2 * DAY, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cert_init(&c, rows[i].serial, "x.test", rows[i].na);
		c.not_before = rows[i].na - 30 * DAY;
		c.profile = (char *)rows[i].profile;
		if (i != 0)   /* 02..05 share one key; 01 has another */
			memset(c.spki_sha256, 0xcd, sizeof(c.spki_sha256));
		CU_ASSERT_EQUAL_FATAL(db_cert_reserve(db, &c, &err), 0);
		CU_ASSERT_EQUAL_FATAL(db_cert_complete(db, rows[i].serial, DER, sizeof(DER), &err), 0);
		if (rows[i].revoke)
			CU_ASSERT_EQUAL(db_cert_revoke(db, rows[i].serial, 1, rows[i].na - DAY, &err), 0);
	}
	n = 0;
	CU_ASSERT_EQUAL(db_revoked_foreach_key(db, 0, NOW, NULL, count_cb, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 1);          /* 03 alone */
	n = 0;
	CU_ASSERT_EQUAL(db_revoked_foreach_key(db, 0, NOW, "codesign", count_cb, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 2);          /* 02 and 03, not the server's 01 */
	CU_ASSERT_EQUAL(db_cert_same_key(db, "02", NOW, NULL, &also, &nalso, &err), 0);
	CU_ASSERT_EQUAL(nalso, 0);      /* 03 revoked for keyCompromise; 04, 05 expired */
	free(also);
	also = NULL;
	CU_ASSERT_EQUAL(db_cert_same_key(db, "02", NOW, "codesign", &also, &nalso, &err), 0);
	CU_ASSERT_EQUAL_FATAL(nalso, 1);
	CU_ASSERT_STRING_EQUAL(also[0], "04");
	free(also);
	db_close(db);
}

/* The CRLs imported from above: newer ones only, per issuer key. */
static void
test_root_crls(void)
{
	static const unsigned char SKI_A[] = { 1, 2, 3 }, SKI_B[] = { 4, 5 };
	struct db_root_crl c, got;
	struct mica_err err;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(db_root_crl_latest(db, SKI_A, sizeof(SKI_A), &got, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	memset(&c, 0, sizeof(c));
	c.issuer_ski = (unsigned char *)SKI_A;
	c.issuer_ski_len = sizeof(SKI_A);
	c.number = 5;
	c.this_update = NOW;
	c.next_update = NOW + 180 * DAY;
	c.der = (unsigned char *)DER;
	c.der_len = sizeof(DER);
	c.imported_at = NOW;
	CU_ASSERT_EQUAL(db_root_crl_insert(db, &c, &err), 0);
	CU_ASSERT_EQUAL(db_root_crl_insert(db, &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "crl_not_newer");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "(number 5) is not newer than "
				      "the one imported already (number 5)"));
	c.number = 4;
	c.this_update = NOW + DAY;
	CU_ASSERT_EQUAL(db_root_crl_insert(db, &c, &err), -1);
	/* One without a number after one with: said so, not "older". */
	c.number = 0;
	CU_ASSERT_EQUAL(db_root_crl_insert(db, &c, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "crl_not_newer");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "has no CRL number"));
	c.number = 6;
	CU_ASSERT_EQUAL(db_root_crl_insert(db, &c, &err), 0);
	/* Another issuer key counts apart; without numbers, by thisUpdate. */
	c.issuer_ski = (unsigned char *)SKI_B;
	c.issuer_ski_len = sizeof(SKI_B);
	c.number = 0;
	c.this_update = NOW;
	CU_ASSERT_EQUAL(db_root_crl_insert(db, &c, &err), 0);
	CU_ASSERT_EQUAL(db_root_crl_insert(db, &c, &err), -1);
	c.this_update = NOW + 1;
	CU_ASSERT_EQUAL(db_root_crl_insert(db, &c, &err), 0);
	c.next_update = c.this_update;
	c.this_update += 5;
	CU_ASSERT_EQUAL(db_root_crl_insert(db, &c, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	CU_ASSERT_EQUAL(db_root_crl_latest(db, SKI_A, sizeof(SKI_A), &got, &err), 0);
	CU_ASSERT(got.number == 6 && got.this_update == NOW + DAY &&
		  got.der_len == sizeof(DER) && got.issuer_ski_len == 3);
	db_root_crl_free(&got);
	CU_ASSERT_EQUAL(db_root_crl_latest(db, SKI_B, sizeof(SKI_B), &got, &err), 0);
	CU_ASSERT(got.number == 0 && got.this_update == NOW + 1);
	db_root_crl_free(&got);
	db_root_crl_free(NULL);
	db_close(db);
}

static void
test_memory_database(void)
{
	struct mica_err err;
	struct db *db = NULL;

	CU_ASSERT_EQUAL_FATAL(db_open(":memory:", DB_OPEN_CREATE, &db, &err), 0);
	CU_ASSERT_EQUAL(add_valid(db, "01", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(cert_status(db, "01"), DB_CERT_VALID);
	CU_ASSERT_EQUAL(db_integrity_check(db, &err), 0);
	db_close(db);
	db_close(NULL);
}

/* A connection's page cache holds the pages it read, not room for twenty
 * allocated at its first read whatever it reads (db/db.c,
 * sqlite_configure, in force since this program's first db_open): the
 * daemon keeps a dozen connections and more. Across a fresh connection's
 * first read (its schema), what SQLite allocates beyond the schema and
 * the pages cached stays well under that bulk (some 14 unused pages of
 * 4 KiB, 60 KB). Measured from after the open, so that what a build
 * allocates at open (lookaside, where it is not left out) does not count. */
static void
test_page_cache_without_bulk(void)
{
	struct db *a;
	sqlite3 *h = NULL;
	char path[128];
	sqlite3_int64 before, other;
	int schema = -1, cache = -1, hi;

	a = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL),
			      SQLITE_OK);
	before = sqlite3_memory_used();
	CU_ASSERT_EQUAL(sqlite3_exec(h, "SELECT count(*) FROM sqlite_master",
				     NULL, NULL, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_db_status(h, SQLITE_DBSTATUS_SCHEMA_USED,
					  &schema, &hi, 0), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_db_status(h, SQLITE_DBSTATUS_CACHE_USED,
					  &cache, &hi, 0), SQLITE_OK);
	other = sqlite3_memory_used() - before - schema - cache;
	CU_ASSERT(schema > 0 && cache > 0);
	if (other >= 32 * 1024)
		fprintf(stderr, "a connection's first read allocated %lld bytes "
			"beyond its schema (%d) and cached pages (%d)\n",
			(long long)other, schema, cache);
	CU_ASSERT(other < 32 * 1024);
	sqlite3_close(h);
	db_close(a);
}

/* ------------------------------------------------------------------ */
/* CA, domains, profiles, settings                                     */
/* ------------------------------------------------------------------ */

static void
test_ca_row(void)
{
	unsigned char salt[16], nonce[12], ct[48];
	struct db_ca ca, got;
	struct mica_err err;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(db_ca_get(db, &got, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);

	memset(salt, 1, sizeof(salt));
	memset(nonce, 2, sizeof(nonce));
	memset(ct, 3, sizeof(ct));
	memset(&ca, 0, sizeof(ca));
	ca.name = (char *)"Contoso Root";
	ca.public_url = (char *)"https://ca.contoso.test";
	ca.key_type = (char *)"ec-p256";
	ca.cert_der = (unsigned char *)DER;
	ca.cert_len = sizeof(DER);
	ca.key_salt = salt; ca.key_salt_len = sizeof(salt);
	ca.key_iter = 600000;
	ca.key_nonce = nonce; ca.key_nonce_len = sizeof(nonce);
	ca.key_ct = ct; ca.key_ct_len = sizeof(ct);
	ca.crl_days = 7;
	ca.created_at = NOW;
	CU_ASSERT_EQUAL(db_ca_insert(db, &ca, &err), 0);
	CU_ASSERT_EQUAL(db_ca_insert(db, &ca, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "ca_exists");

	CU_ASSERT_EQUAL_FATAL(db_ca_get(db, &got, &err), 0);
	CU_ASSERT_STRING_EQUAL(got.name, "Contoso Root");
	CU_ASSERT_STRING_EQUAL(got.public_url, "https://ca.contoso.test");
	CU_ASSERT_STRING_EQUAL(got.key_type, "ec-p256");
	CU_ASSERT(got.cert_len == sizeof(DER) &&
		  memcmp(got.cert_der, DER, sizeof(DER)) == 0);
	CU_ASSERT(got.key_salt_len == 16 && memcmp(got.key_salt, salt, 16) == 0);
	CU_ASSERT(got.key_nonce_len == 12 && memcmp(got.key_nonce, nonce, 12) == 0);
	CU_ASSERT(got.key_ct_len == 48 && memcmp(got.key_ct, ct, 48) == 0);
	CU_ASSERT_EQUAL(got.key_iter, 600000);
	CU_ASSERT_EQUAL(got.crl_days, 7);
	CU_ASSERT_EQUAL(got.created_at, NOW);
	db_ca_free(&got);
	CU_ASSERT_PTR_NULL(got.name);
	db_ca_free(&got);
	db_ca_free(NULL);

	/* Incomplete records are refused before reaching SQL. */
	ca.crl_days = 0;
	CU_ASSERT_EQUAL(db_ca_insert(db, &ca, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	db_close(db);
}

static void
test_domains(void)
{
	static const char *const bad[] = {
		"", "Example.test", "example.test.", NULL,
	};
	struct mica_err err;
	struct db *db = fresh(NULL);
	char **v = NULL, big[300];

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(db_domain_list(db, &v, &err), 0);
	CU_ASSERT(v != NULL && v[0] == NULL);
	db_strv_free(v);

	CU_ASSERT_EQUAL(db_domain_add(db, "zeta.test", &err), 0);
	CU_ASSERT_EQUAL(db_domain_add(db, "alpha.test", &err), 0);
	CU_ASSERT_EQUAL(db_domain_add(db, "alpha.test", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(db_domain_add(db, bad[i], &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(db_domain_add(db, big, &err), -1);

	CU_ASSERT_EQUAL_FATAL(db_domain_list(db, &v, &err), 0);
	CU_ASSERT(v[0] && strcmp(v[0], "alpha.test") == 0);
	CU_ASSERT(v[1] && strcmp(v[1], "zeta.test") == 0);
	CU_ASSERT_PTR_NULL(v[2]);
	db_strv_free(v);

	CU_ASSERT_EQUAL(db_domain_remove(db, "zeta.test", &err), 0);
	CU_ASSERT_EQUAL(db_domain_remove(db, "zeta.test", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_EQUAL_FATAL(db_domain_list(db, &v, &err), 0);
	CU_ASSERT(v[0] && strcmp(v[0], "alpha.test") == 0 && v[1] == NULL);
	db_strv_free(v);
	db_strv_free(NULL);
	db_close(db);
}

static void
test_profiles(void)
{
	struct mica_err err;
	struct db *db = fresh(NULL);
	int d = 0, m = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(db_profile_get_days(db, "server", &d, &m, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_EQUAL(db_profile_set_days(db, "server", 90, 397, &err), 0);
	CU_ASSERT_EQUAL(db_profile_get_days(db, "server", &d, &m, &err), 0);
	CU_ASSERT(d == 90 && m == 397);
	CU_ASSERT_EQUAL(db_profile_set_days(db, "server", 30, 60, &err), 0);
	CU_ASSERT_EQUAL(db_profile_get_days(db, "server", &d, &m, &err), 0);
	CU_ASSERT(d == 30 && m == 60);
	/* default > max, zero, negative: refused, old values kept. */
	CU_ASSERT_EQUAL(db_profile_set_days(db, "server", 61, 60, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	CU_ASSERT_EQUAL(db_profile_set_days(db, "server", 0, 60, &err), -1);
	CU_ASSERT_EQUAL(db_profile_set_days(db, "server", -5, -1, &err), -1);
	CU_ASSERT_EQUAL(db_profile_set_days(db, "server", 1, DB_DAYS_MAX + 1,
					    &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_days");
	CU_ASSERT_EQUAL(db_profile_get_days(db, "server", &d, &m, &err), 0);
	CU_ASSERT(d == 30 && m == 60);
	CU_ASSERT_EQUAL(db_profile_set_days(db, "long", 1, DB_DAYS_MAX, &err), 0);

	/* Names are data, never SQL. */
	CU_ASSERT_EQUAL(db_profile_set_days(db, "x'; DROP TABLE ca; --", 1, 2,
					    &err), 0);
	CU_ASSERT_EQUAL(db_profile_get_days(db, "x'; DROP TABLE ca; --", &d, &m,
					    &err), 0);
	CU_ASSERT(d == 1 && m == 2);
	CU_ASSERT_EQUAL(db_profile_set_days(db, "", 1, 2, &err), -1);
	CU_ASSERT_EQUAL(db_integrity_check(db, &err), 0);
	db_close(db);
}

/* ------------------------------------------------------------------ */
/* Certificates                                                        */
/* ------------------------------------------------------------------ */

static void
test_cert_lifecycle(void)
{
	struct db_cert c, got;
	struct mica_err err;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	cert_init(&c, "0a1b", "www.example.test\nexample.test", NOW + 90 * DAY);
	c.request_id = NULL;
	CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), 0);

	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "0a1b", &got, &err), 0);
	CU_ASSERT_EQUAL(got.status, DB_CERT_ISSUING);
	CU_ASSERT_PTR_NULL(got.der);
	CU_ASSERT_EQUAL(got.der_len, 0);
	CU_ASSERT_EQUAL(got.reason, -1);
	CU_ASSERT_EQUAL(got.revoked_at, 0);
	CU_ASSERT_STRING_EQUAL(got.names, "www.example.test\nexample.test");
	CU_ASSERT_STRING_EQUAL(got.profile, "server");
	CU_ASSERT_STRING_EQUAL(got.subject, "CN=test");
	CU_ASSERT_PTR_NULL(got.request_id);
	CU_ASSERT_STRING_EQUAL(got.renewal_of, "");
	CU_ASSERT_EQUAL(memcmp(got.spki_sha256, c.spki_sha256, 32), 0);
	CU_ASSERT_EQUAL(got.not_after, NOW + 90 * DAY);
	CU_ASSERT(got.id > 0);
	db_cert_free(&got);

	/* Same serial again: conflict, whatever else differs. */
	cert_init(&c, "0a1b", "other.test", NOW + DAY);
	CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "serial_collision");
	/* ...and the failed write left no transaction open behind it. */
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	CU_ASSERT_EQUAL(db_commit(db, &err), 0);

	CU_ASSERT_EQUAL(db_cert_complete(db, "0a1b", DER, sizeof(DER), &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "0a1b", &got, &err), 0);
	CU_ASSERT_EQUAL(got.status, DB_CERT_VALID);
	CU_ASSERT(got.der_len == sizeof(DER) &&
		  memcmp(got.der, DER, sizeof(DER)) == 0);
	db_cert_free(&got);
	CU_ASSERT_PTR_NULL(got.der);

	/* Completing twice, or something unknown. */
	CU_ASSERT_EQUAL(db_cert_complete(db, "0a1b", DER, sizeof(DER), &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "not_issuing");
	CU_ASSERT_EQUAL(db_cert_complete(db, "ffff", DER, sizeof(DER), &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_EQUAL(db_cert_get(db, "ffff", &got, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	db_cert_free(NULL);

	/* A valid certificate cannot be discarded. */
	CU_ASSERT_EQUAL(db_cert_discard(db, "0a1b", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_EQUAL(cert_status(db, "0a1b"), DB_CERT_VALID);
	db_close(db);
}

static void
test_cert_refuses_bad_serials(void)
{
	static const char *const bad[] = {
		"", "a", "abc", "0A1B", "0g", "-1", "0a 1b", "0a\n",
		"000102030405060708090a0b0c0d0e0f1011121314",  /* 21 octets */
	};
	struct db_cert c;
	struct mica_err err;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cert_init(&c, "00", "a.test", NOW + DAY);
		memset(c.serial, 0, sizeof(c.serial));
		memcpy(c.serial, bad[i], strnlen(bad[i], sizeof(c.serial) - 1));
		if (strlen(bad[i]) >= sizeof(c.serial))  /* fill, unterminated */
			memset(c.serial, 'a', sizeof(c.serial));
		CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
		CU_ASSERT_EQUAL(db_cert_revoke(db, bad[i], 1, NOW, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
		CU_ASSERT_EQUAL(db_cert_complete(db, bad[i], DER, sizeof(DER),
						 &err), -1);
	}
	/* Exactly 20 octets is fine. */
	cert_init(&c, "000102030405060708090a0b0c0d0e0f10111213", "a.test",
		  NOW + DAY);
	CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), 0);
	/* notAfter before notBefore. */
	cert_init(&c, "77", "a.test", NOW - 2 * DAY);
	CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	db_close(db);
}

static void
test_revocation_transitions(void)
{
	static const int bad_reasons[] = { -1, 7, 8, 11, 100 };
	struct db_cert got;
	struct mica_err err;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL_FATAL(add_valid(db, "01", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL_FATAL(add_valid(db, "02", "b.test", NOW + DAY), 0);

	for (size_t i = 0; i < sizeof(bad_reasons) / sizeof(bad_reasons[0]); i++) {
		CU_ASSERT_EQUAL(db_cert_revoke(db, "01", bad_reasons[i], NOW,
					       &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	}
	CU_ASSERT_EQUAL(cert_status(db, "01"), DB_CERT_VALID);

	/* valid -> revoked (keyCompromise); again -> conflict. */
	CU_ASSERT_EQUAL(db_cert_revoke(db, "01", 1, NOW + 5, &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "01", &got, &err), 0);
	CU_ASSERT(got.status == DB_CERT_REVOKED && got.reason == 1 &&
		  got.revoked_at == NOW + 5);
	db_cert_free(&got);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "01", 4, NOW + 6, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "already_revoked");
	CU_ASSERT_EQUAL(db_cert_unrevoke(db, "01", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "not_on_hold");

	/* valid -> hold -> valid. */
	CU_ASSERT_EQUAL(db_cert_unrevoke(db, "02", &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "not_on_hold");
	CU_ASSERT_EQUAL(db_cert_revoke(db, "02", 6, NOW, &err), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "02", 6, NOW + 1, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "already_revoked");
	CU_ASSERT_EQUAL(db_cert_unrevoke(db, "02", &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "02", &got, &err), 0);
	CU_ASSERT(got.status == DB_CERT_VALID && got.reason == -1 &&
		  got.revoked_at == 0);
	db_cert_free(&got);

	/* hold -> superseded (final): then neither unrevoke nor revoke. */
	CU_ASSERT_EQUAL(db_cert_revoke(db, "02", 6, NOW, &err), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "02", 4, NOW + 9, &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "02", &got, &err), 0);
	CU_ASSERT(got.status == DB_CERT_REVOKED && got.reason == 4 &&
		  got.revoked_at == NOW + 9);
	db_cert_free(&got);
	CU_ASSERT_EQUAL(db_cert_unrevoke(db, "02", &err), -1);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "02", 1, NOW, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "already_revoked");

	/* superseded -> keyCompromise by db_cert_reason_set: the date
	 * stays; only from the reason it has, never to or from a hold. */
	CU_ASSERT_EQUAL(db_cert_reason_set(db, "02", 3, 1, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_EQUAL(db_cert_reason_set(db, "02", 4, 6, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	CU_ASSERT_EQUAL(db_cert_reason_set(db, "02", 4, 7, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	CU_ASSERT_EQUAL(db_cert_reason_set(db, "02", 4, 1, &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "02", &got, &err), 0);
	CU_ASSERT(got.status == DB_CERT_REVOKED && got.reason == 1 &&
		  got.revoked_at == NOW + 9);
	db_cert_free(&got);
	CU_ASSERT_EQUAL(db_cert_reason_set(db, "02", 4, 1, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_EQUAL(db_cert_reason_set(db, "99", 4, 1, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_EQUAL(db_cert_reason_set(db, "zz", 4, 1, &err), -1);

	/* Unknown serials. */
	CU_ASSERT_EQUAL(db_cert_revoke(db, "99", 1, NOW, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_EQUAL(db_cert_unrevoke(db, "99", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	db_close(db);
}

static void
test_reserve_atomic(void)
{
	struct db_cert c;
	struct db_cert_filter f = { .status = -1, .now = NOW, .limit = 10,
				    .name = "ok.test" };
	struct db_cert *a = NULL;
	struct mica_err err;
	struct db *db;
	char path[128];
	size_t n = 0;
	struct db_cert_cursor next;

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	db_close(db);
	/* Make the insert of one particular name fail, after the certificate
	 * row and a first name went in. */
	CU_ASSERT_EQUAL_FATAL(raw_exec(path,
		"CREATE TRIGGER boom BEFORE INSERT ON cert_name "
		"WHEN NEW.name = 'boom.test' BEGIN "
		"SELECT RAISE(ABORT, 'boom'); END"), SQLITE_OK);
	db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);

	/* Outside a transaction: nothing of it remains. */
	cert_init(&c, "01", "ok.test\nboom.test", NOW + DAY);
	CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), -1);
	CU_ASSERT_EQUAL(cert_status(db, "01"), -1);
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	db_cert_array_free(a, n);

	/* Inside the caller's transaction: the reserve undoes only itself. */
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	CU_ASSERT_EQUAL(db_domain_add(db, "kept.test", &err), 0);
	CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), -1);
	CU_ASSERT_EQUAL(db_commit(db, &err), 0);
	CU_ASSERT_EQUAL(cert_status(db, "01"), -1);
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	db_cert_array_free(a, n);
	CU_ASSERT_EQUAL(has_domain(db, "kept.test"), 1);

	/* Duplicate and empty lines in the names are harmless. */
	cert_init(&c, "02", "ok.test\n\nok.test\n", NOW + DAY);
	CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM cert_name"), 1);
	db_close(db);
}

static void
test_revoked_while_issuing(void)
{
	struct db_cert c, got;
	struct mica_err err;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	cert_init(&c, "aa", "a.test", NOW + DAY);
	CU_ASSERT_EQUAL_FATAL(db_cert_reserve(db, &c, &err), 0);
	/* Put on hold before the DER arrives, reinstated: back to issuing. */
	CU_ASSERT_EQUAL(db_cert_revoke(db, "aa", 6, NOW, &err), 0);
	CU_ASSERT_EQUAL(db_cert_unrevoke(db, "aa", &err), 0);
	CU_ASSERT_EQUAL(cert_status(db, "aa"), DB_CERT_ISSUING);

	/* Revoked while signing: the DER is kept, the state stays revoked,
	 * and the caller is told (1) so that it commits and delivers
	 * nothing. */
	CU_ASSERT_EQUAL(db_cert_revoke(db, "aa", 0, NOW, &err), 0);
	CU_ASSERT_EQUAL(db_cert_complete(db, "aa", DER, sizeof(DER), &err), 1);
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "aa", &got, &err), 0);
	CU_ASSERT_EQUAL(got.status, DB_CERT_REVOKED);
	CU_ASSERT(got.der != NULL && got.der_len == sizeof(DER));
	db_cert_free(&got);
	/* A second DER is never accepted. */
	CU_ASSERT_EQUAL(db_cert_complete(db, "aa", DER, 3, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "not_issuing");
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "aa", &got, &err), 0);
	CU_ASSERT_EQUAL(got.der_len, sizeof(DER));
	db_cert_free(&got);
	db_close(db);
}

static void
test_discard(void)
{
	struct db_cert c, *a = NULL;
	struct db_cert_filter f = { .status = -1, .now = NOW, .limit = 10,
				    .name = "gone.test" };
	struct mica_err err;
	struct db *db = fresh(NULL);
	size_t n = 0;
	struct db_cert_cursor next;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	cert_init(&c, "0b", "gone.test", NOW + DAY);
	CU_ASSERT_EQUAL_FATAL(db_cert_reserve(db, &c, &err), 0);
	/* A SCEP transaction recorded with the reservation goes with it;
	 * another's stays. */
	{
		struct db_scep_tx tx, got;
		unsigned char signer[32] = { 1 };

		memset(&tx, 0, sizeof(tx));
		tx.created_at = NOW;
		snprintf(tx.serial, sizeof(tx.serial), "0b");
		CU_ASSERT_EQUAL(db_scep_tx_add(db, "t-0b", signer, &tx, &err), 0);
		snprintf(tx.serial, sizeof(tx.serial), "0c");
		CU_ASSERT_EQUAL(db_scep_tx_add(db, "t-0c", signer, &tx, &err), 0);
		CU_ASSERT_EQUAL(db_cert_discard(db, "0b", &err), 0);
		CU_ASSERT_EQUAL(db_scep_tx_get(db, "t-0b", signer, &got, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
		CU_ASSERT_EQUAL(db_scep_tx_get(db, "t-0c", signer, &got, &err), 0);
		/* A restore forgets those of rows still issuing (the
		 * sweep leaves a backup's to the admin). */
		cert_init(&c, "0e", "gone.test", NOW + DAY);
		CU_ASSERT_EQUAL_FATAL(db_cert_reserve(db, &c, &err), 0);
		snprintf(tx.serial, sizeof(tx.serial), "0e");
		CU_ASSERT_EQUAL(db_scep_tx_add(db, "t-0e", signer, &tx, &err), 0);
		CU_ASSERT_EQUAL(db_scep_tx_forget_issuing(db, &err), 0);
		CU_ASSERT_EQUAL(db_scep_tx_get(db, "t-0e", signer, &got, &err), -1);
		CU_ASSERT_EQUAL(db_scep_tx_get(db, "t-0c", signer, &got, &err), 0);
		CU_ASSERT_EQUAL(db_cert_discard(db, "0e", &err), 0);
		cert_init(&c, "0b", "gone.test", NOW + DAY);
	}
	CU_ASSERT_EQUAL(cert_status(db, "0b"), -1);
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	db_cert_array_free(a, n);
	CU_ASSERT_EQUAL(db_cert_discard(db, "0b", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	/* The serial may be reserved again afterwards. */
	CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), 0);
	/* A revoked (never signed) row is not discardable either. */
	CU_ASSERT_EQUAL(db_cert_revoke(db, "0b", 0, NOW, &err), 0);
	CU_ASSERT_EQUAL(db_cert_discard(db, "0b", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	db_close(db);
}

/* The bound on one CSR's SCEP transactions (its key's holder records an
 * alias per re-ask): full at DB_SCEP_TX_PER_CSR, another CSR's apart. */
static void
test_scep_tx_per_csr(void)
{
	struct db_scep_tx tx;
	struct mica_err err;
	struct db *db = fresh(NULL);
	unsigned char signer[32] = { 2 }, other[32];
	char tid[16];
	int full = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	memset(&tx, 0, sizeof(tx));
	memset(tx.csr_hash, 0x5a, 32);
	memset(other, 0x5b, 32);
	tx.created_at = NOW;
	snprintf(tx.request_id, sizeof(tx.request_id), "0a");
	for (int i = 0; i < DB_SCEP_TX_PER_CSR; i++) {
		CU_ASSERT_EQUAL(db_scep_tx_csr_full(db, tx.csr_hash, &full,
						    &err), 0);
		CU_ASSERT_EQUAL(full, 0);
		snprintf(tid, sizeof(tid), "t%d", i);
		CU_ASSERT_EQUAL(db_scep_tx_add(db, tid, signer, &tx, &err), 0);
	}
	CU_ASSERT_EQUAL(db_scep_tx_csr_full(db, tx.csr_hash, &full, &err), 0);
	CU_ASSERT_EQUAL(full, 1);
	CU_ASSERT_EQUAL(db_scep_tx_csr_full(db, other, &full, &err), 0);
	CU_ASSERT_EQUAL(full, 0);
	db_close(db);
}

static void
test_renewal_links(void)
{
	struct db_cert c, got;
	struct mica_err err;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL_FATAL(add_valid(db, "10", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL_FATAL(add_valid(db, "11", "a.test", NOW + 90 * DAY), 0);
	CU_ASSERT_EQUAL(db_cert_link_renewal(db, "10", "11", &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "10", &got, &err), 0);
	CU_ASSERT_STRING_EQUAL(got.renewed_by, "11");
	CU_ASSERT_STRING_EQUAL(got.renewal_of, "");
	db_cert_free(&got);
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "11", &got, &err), 0);
	CU_ASSERT_STRING_EQUAL(got.renewal_of, "10");
	CU_ASSERT_STRING_EQUAL(got.renewed_by, "");
	db_cert_free(&got);

	/* Unknown new serial: the old side must not be half-linked. */
	CU_ASSERT_EQUAL(db_cert_link_renewal(db, "11", "99", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "11", &got, &err), 0);
	CU_ASSERT_STRING_EQUAL(got.renewed_by, "");
	db_cert_free(&got);
	CU_ASSERT_EQUAL(db_cert_link_renewal(db, "11", "11", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);

	/* A renewal reserved with renewal_of and then discarded unlinks. */
	cert_init(&c, "12", "a.test", NOW + DAY);
	strcpy(c.renewal_of, "11");
	CU_ASSERT_EQUAL_FATAL(db_cert_reserve(db, &c, &err), 0);
	CU_ASSERT_EQUAL(db_cert_link_renewal(db, "11", "12", &err), 0);
	CU_ASSERT_EQUAL(db_cert_discard(db, "12", &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "11", &got, &err), 0);
	CU_ASSERT_STRING_EQUAL(got.renewed_by, "");
	db_cert_free(&got);
	db_close(db);
}

/* Does a listing of every certificate (EXPIRING: of what expires within
 * 30 days of NOW) hold SERIAL? 1 with its renewal_live in *LIVE, 0, or
 * -1 if the listing failed. */
static int
listed(struct db *db, const char *serial, int expiring, int *live)
{
	struct db_cert_filter f;
	struct db_cert_cursor next;
	struct db_cert *a = NULL;
	struct mica_err err;
	size_t n = 0;
	int found = 0;

	memset(&f, 0, sizeof(f));
	f.status = -1;
	f.now = NOW;
	f.expiring_before = expiring ? NOW + 30 * DAY : 0;
	f.limit = 100;
	if (db_cert_list(db, &f, &a, &n, &next, &err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i].serial, serial) == 0) {
			found = 1;
			*live = a[i].renewal_live;
		}
	db_cert_array_free(a, n);
	return found;
}

static int
expiring_holds(struct db *db, const char *serial, int *live)
{
	return listed(db, serial, 1, live);
}

/* The renewal_live of SERIAL in a listing of every certificate (-1 if
 * not listed), and from db_cert_get_at (through *AT). */
static int
live_of(struct db *db, const char *serial, int *at)
{
	struct db_cert got;
	struct mica_err err;
	int live = -1;

	if (listed(db, serial, 0, &live) != 1)
		live = -1;
	*at = -1;
	if (db_cert_get_at(db, serial, NOW, &got, &err) == 0) {
		*at = got.renewal_live;
		db_cert_free(&got);
	}
	return live;
}

/* "Renewed" looks down the chain of renewals: A renewed by B, B revoked
 * as superseded by C; while C is valid nobody has to renew A. */
static void
test_renewal_chain(void)
{
	struct db_cert got;
	struct mica_err err;
	struct db *db = fresh(NULL);
	int live = -1, at = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL_FATAL(add_valid(db, "a0", "chain.test", NOW + 5 * DAY), 0);
	CU_ASSERT_EQUAL_FATAL(add_valid(db, "b0", "chain.test", NOW + 60 * DAY), 0);
	CU_ASSERT_EQUAL_FATAL(add_valid(db, "c0", "chain.test", NOW + 90 * DAY), 0);
	CU_ASSERT_EQUAL(expiring_holds(db, "a0", &live), 1);
	CU_ASSERT_EQUAL(live, 0);
	CU_ASSERT_EQUAL(live_of(db, "a0", &at), 0);
	CU_ASSERT_EQUAL(at, 0);

	CU_ASSERT_EQUAL_FATAL(db_cert_link_renewal(db, "a0", "b0", &err), 0);
	CU_ASSERT_EQUAL(expiring_holds(db, "a0", &live), 0);
	CU_ASSERT_EQUAL(live_of(db, "a0", &at), 1);
	CU_ASSERT_EQUAL(at, 1);
	/* db_cert_get does not look: 0 whatever the chain. */
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "a0", &got, &err), 0);
	CU_ASSERT_EQUAL(got.renewal_live, 0);
	db_cert_free(&got);

	/* B revoked, renewed by nothing: A is to renew again. */
	CU_ASSERT_EQUAL_FATAL(db_cert_revoke(db, "b0", 4, NOW, &err), 0);
	CU_ASSERT_EQUAL(expiring_holds(db, "a0", &live), 1);
	CU_ASSERT_EQUAL(live, 0);
	CU_ASSERT_EQUAL(live_of(db, "a0", &at), 0);
	CU_ASSERT_EQUAL(at, 0);
	/* ... until C renews B: A is renewed, through B, and so is B. */
	CU_ASSERT_EQUAL_FATAL(db_cert_link_renewal(db, "b0", "c0", &err), 0);
	CU_ASSERT_EQUAL(expiring_holds(db, "a0", &live), 0);
	CU_ASSERT_EQUAL(live_of(db, "a0", &at), 1);
	CU_ASSERT_EQUAL(at, 1);
	CU_ASSERT_EQUAL(live_of(db, "b0", &at), 1);
	CU_ASSERT_EQUAL(live_of(db, "c0", &at), 0);
	/* At a time when C has expired too, nothing renews A. */
	CU_ASSERT_EQUAL_FATAL(db_cert_get_at(db, "a0", NOW + 91 * DAY, &got, &err), 0);
	CU_ASSERT_EQUAL(got.renewal_live, 0);
	db_cert_free(&got);
	/* C revoked: A is to renew again. */
	CU_ASSERT_EQUAL_FATAL(db_cert_revoke(db, "c0", 4, NOW, &err), 0);
	CU_ASSERT_EQUAL(expiring_holds(db, "a0", &live), 1);
	CU_ASSERT_EQUAL(live_of(db, "a0", &at), 0);
	CU_ASSERT_EQUAL(at, 0);
	CU_ASSERT_EQUAL(db_cert_get_at(db, "ff", NOW, &got, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	db_close(db);
}

/* The walk follows at most 16 renewed_by links: a valid certificate 16
 * links down renews the first, one 17 links down does not; and a cycle
 * (never made by mica, but a store edited by hand may hold one) ends. */
static void
test_renewal_chain_depth(void)
{
	struct mica_err err;
	struct db *db = fresh(NULL);
	static const char *const s[18] = {
		"40", "41", "42", "43", "44", "45", "46", "47", "48",
		"49", "4a", "4b", "4c", "4d", "4e", "4f", "50", "51",
	};
	int live = -1, at = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	for (int i = 0; i < 18; i++) {
		CU_ASSERT_EQUAL_FATAL(add_valid(db, s[i], "deep.test",
						i == 0 ? NOW + 5 * DAY :
						NOW + (60 + i) * DAY), 0);
		if (i > 0)
			CU_ASSERT_EQUAL_FATAL(db_cert_link_renewal(db, s[i - 1],
								   s[i], &err), 0);
	}
	/* Links 1 to 15 revoked: the 16th renews the first. */
	for (int i = 1; i <= 15; i++)
		CU_ASSERT_EQUAL_FATAL(db_cert_revoke(db, s[i], 4, NOW, &err), 0);
	CU_ASSERT_EQUAL(live_of(db, s[0], &at), 1);
	CU_ASSERT_EQUAL(at, 1);
	CU_ASSERT_EQUAL(expiring_holds(db, s[0], &live), 0);
	/* The 16th revoked too: the 17th is one link too far. */
	CU_ASSERT_EQUAL_FATAL(db_cert_revoke(db, s[16], 4, NOW, &err), 0);
	CU_ASSERT_EQUAL(live_of(db, s[0], &at), 0);
	CU_ASSERT_EQUAL(at, 0);
	CU_ASSERT_EQUAL(expiring_holds(db, s[0], &live), 1);
	CU_ASSERT_EQUAL(live_of(db, s[1], &at), 1);   /* 16 links from s[1] */

	/* A cycle of revoked certificates: the walk ends, nothing renews. */
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(db->h, "UPDATE certificate SET "
					   "renewed_by = '42' WHERE serial = '44'",
					   NULL, NULL, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL(live_of(db, s[1], &at), 0);
	CU_ASSERT_EQUAL(at, 0);
	CU_ASSERT_EQUAL(expiring_holds(db, s[0], &live), 1);
	CU_ASSERT_EQUAL(live, 0);
	db_close(db);
}

struct walk {
	char serials[16][DB_SERIAL_MAX];
	int64_t at[16];
	int reason[16];
	int64_t inv[16];
	int n, stop_after;
};

static int
walk_cb(void *ctx, const char *serial, int64_t at, int reason, int64_t inv)
{
	struct walk *w = ctx;

	if (w->n < 16) {
		snprintf(w->serials[w->n], DB_SERIAL_MAX, "%s", serial);
		w->at[w->n] = at;
		w->reason[w->n] = reason;
		w->inv[w->n] = inv;
	}
	w->n++;
	return w->stop_after > 0 && w->n >= w->stop_after;
}

static void
test_revoked_foreach(void)
{
	struct mica_err err;
	struct walk w;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	/* Inserted out of order; one expired; one valid; one issuing. */
	CU_ASSERT_EQUAL(add_valid(db, "30", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(add_valid(db, "10", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(add_valid(db, "20", "a.test", NOW - 1), 0);
	CU_ASSERT_EQUAL(add_valid(db, "0f", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(add_valid(db, "40", "a.test", NOW + DAY), 0);
	{
		struct db_cert c;
		cert_init(&c, "05", "a.test", NOW + DAY);
		CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), 0);
	}
	CU_ASSERT_EQUAL(db_cert_revoke(db, "30", 1, NOW + 3, &err), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "10", 6, NOW + 1, &err), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "20", 4, NOW + 2, &err), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "0f", 5, NOW + 4, &err), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "05", 0, NOW + 5, &err), 0);

	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(db_revoked_foreach(db, NOW, walk_cb, &w, &err), 0);
	CU_ASSERT_EQUAL_FATAL(w.n, 4);   /* "20" expired, "40" valid */
	CU_ASSERT_STRING_EQUAL(w.serials[0], "05");
	CU_ASSERT_STRING_EQUAL(w.serials[1], "0f");
	CU_ASSERT_STRING_EQUAL(w.serials[2], "10");
	CU_ASSERT_STRING_EQUAL(w.serials[3], "30");
	CU_ASSERT(w.reason[2] == 6 && w.at[2] == NOW + 1);
	CU_ASSERT(w.reason[3] == 1 && w.at[3] == NOW + 3);

	/* Later, more have expired. */
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(db_revoked_foreach(db, NOW + DAY, walk_cb, &w, &err), 0);
	CU_ASSERT_EQUAL(w.n, 0);

	/* The callback stops the walk: -1, err untouched. */
	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	mica_err_set(&err, MICA_E_NONE, "sentinel", "untouched");
	CU_ASSERT_EQUAL(db_revoked_foreach(db, NOW, walk_cb, &w, &err), -1);
	CU_ASSERT_EQUAL(w.n, 2);
	CU_ASSERT_STRING_EQUAL(err.code, "sentinel");
	/* ...and the statement is usable again right after. */
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(db_revoked_foreach(db, NOW, walk_cb, &w, &err), 0);
	CU_ASSERT_EQUAL(w.n, 4);
	db_close(db);
}

struct big_walk { int64_t n; char last[DB_SERIAL_MAX]; int ordered; };

static int
big_cb(void *ctx, const char *serial, int64_t at, int reason, int64_t inv)
{
	(void)inv;
	struct big_walk *w = ctx;

	if (w->n > 0 && strcmp(w->last, serial) >= 0)
		w->ordered = 0;
	snprintf(w->last, sizeof(w->last), "%s", serial);
	w->n++;
	return 0;
}

/* RFC 5280 5.3.2: the invalidity date of a revoked certificate, only
 * ever moved earlier, never after its revocation, never on a hold; the
 * CRL's walk and a read give it back. */
static void
test_invalidity_date(void)
{
	struct mica_err err;
	struct db_cert c;
	struct walk w;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(add_valid(db, "30", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(add_valid(db, "10", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(add_valid(db, "40", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "30", 1, NOW, &err), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "10", 6, NOW, &err), 0);

	/* None until one is given. */
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(db_revoked_foreach(db, NOW, walk_cb, &w, &err), 0);
	CU_ASSERT_EQUAL_FATAL(w.n, 2);
	CU_ASSERT_EQUAL(w.inv[0], 0);
	CU_ASSERT_EQUAL(w.inv[1], 0);

	CU_ASSERT_EQUAL(db_cert_invalid_set(db, "30", NOW - 100, &err), 0);
	/* A later one leaves the earlier, and one after the revocation
	 * changes nothing: neither is an error. */
	CU_ASSERT_EQUAL(db_cert_invalid_set(db, "30", NOW - 50, &err), 0);
	CU_ASSERT_EQUAL(db_cert_invalid_set(db, "30", NOW + 1, &err), 0);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "30", &c, &err), 0);
	CU_ASSERT_EQUAL(c.invalid_at, NOW - 100);
	db_cert_free(&c);
	CU_ASSERT_EQUAL(db_cert_invalid_set(db, "30", NOW - 200, &err), 0);
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(db_revoked_foreach(db, NOW, walk_cb, &w, &err), 0);
	CU_ASSERT_EQUAL_FATAL(w.n, 2);
	CU_ASSERT_STRING_EQUAL(w.serials[1], "30");
	CU_ASSERT_EQUAL(w.inv[1], NOW - 200);
	CU_ASSERT_EQUAL(w.inv[0], 0);
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(db_revoked_foreach_key(db, 0, NOW, NULL, walk_cb, &w, &err), 0);
	CU_ASSERT_EQUAL_FATAL(w.n, 2);
	CU_ASSERT_EQUAL(w.inv[1], NOW - 200);

	/* A hold, a valid certificate, an unknown one, no date. */
	CU_ASSERT_EQUAL(db_cert_invalid_set(db, "10", NOW - 100, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_EQUAL(db_cert_invalid_set(db, "40", NOW - 100, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_EQUAL(db_cert_invalid_set(db, "99", NOW - 100, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_EQUAL(db_cert_invalid_set(db, "30", 0, &err), -1);

	/* The store itself refuses what mica never writes. */
	CU_ASSERT_NOT_EQUAL(sqlite3_exec(db->h, "UPDATE certificate SET "
		"invalid_at = revoked_at + 1 WHERE serial = '30'", NULL, NULL,
		NULL), SQLITE_OK);
	CU_ASSERT_NOT_EQUAL(sqlite3_exec(db->h, "UPDATE certificate SET "
		"invalid_at = 5 WHERE serial = '10'", NULL, NULL, NULL),
		SQLITE_OK);
	CU_ASSERT_NOT_EQUAL(sqlite3_exec(db->h, "UPDATE certificate SET "
		"invalid_at = 5 WHERE serial = '40'", NULL, NULL, NULL),
		SQLITE_OK);
	/* A hold revoked for good keeps none; released, none either. */
	CU_ASSERT_EQUAL(db_cert_unrevoke(db, "10", &err), 0);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(db_cert_get(db, "10", &c, &err), 0);
	CU_ASSERT_EQUAL(c.invalid_at, 0);
	db_cert_free(&c);
	db_close(db);
}

/* Schema 025: the OCSP answers signed before invalidity dates were written
 * into them are signed again - their certificates marked at the upgrade,
 * those without a date left alone. */
static void
test_upgrade_24_marks_dated_revocations(void)
{
	struct mica_err err;
	struct db *db;
	char path[128], sql[1024];
	sqlite3 *h;
	sqlite3_stmt *st;
	int marked = -1;

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	db_close(db);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO certificate (serial, profile, not_before, not_after, "
		 "spki_sha256, status, der, revoked_at, reason, created_at, "
		 "invalid_at) VALUES ('0a', 'server', 0, %lld, zeroblob(32), 2, "
		 "x'30', %lld, 1, 0, %lld), ('0b', 'server', 0, %lld, "
		 "zeroblob(32), 2, x'30', %lld, 1, 0, NULL); "
		 "DELETE FROM ocsp_dirty; "
		 "ALTER TABLE ca DROP COLUMN restored_floor; "
		 "DROP INDEX scep_tx_by_serial; "
		 "PRAGMA user_version = 24",
		 (long long)(NOW + DAY), (long long)NOW, (long long)(NOW - DAY),
		 (long long)(NOW + DAY), (long long)NOW);
	CU_ASSERT_EQUAL_FATAL(raw_exec(path, sql), SQLITE_OK);
	db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	db_close(db);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &h), SQLITE_OK);
	if (sqlite3_prepare_v2(h, "SELECT group_concat(serial) FROM ocsp_dirty",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);

		marked = s != NULL && strcmp((const char *)s, "0a") == 0;
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	CU_ASSERT_EQUAL(marked, 1);
}

/* A store of schema 22 with tens of thousands of revoked certificates
 * upgrades to 23 (the invalidity date's covering indexes in place of the
 * old ones): remade in the pages a drop freed, or dropped with
 * secure_delete on, every page went through SQLite 3.40's spilled
 * statement journal, which failed with SQLITE_FULL. */
static void
test_upgrade_22_with_many_revoked(void)
{
	enum { N = 60000 };
	struct big_walk w = { 0, "", 1 };
	struct mica_err err;
	struct db *db;
	char path[128], sql[1024];

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	db_close(db);
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
		 "WHERE i < %d) INSERT INTO certificate (serial, profile, "
		 "not_before, not_after, spki_sha256, status, der, revoked_at, "
		 "reason, created_at) SELECT printf('%%016x', (i * 2654435761) "
		 "%% 4294967311), 'server', 0, %lld, zeroblob(32), 2, x'30', "
		 "%lld, 1, 0 FROM n",
		 N, (long long)(NOW + DAY), (long long)NOW);
	CU_ASSERT_EQUAL_FATAL(raw_exec(path, sql), SQLITE_OK);
	/* Back to schema 22, as an older mica left it (tests/e2e/backup.sh
	 * undoes 023 to 025 alike). */
	CU_ASSERT_EQUAL_FATAL(raw_exec(path,
		"ALTER TABLE ca DROP COLUMN restored_floor; "
		"DROP INDEX scep_tx_by_serial; "
		"DROP INDEX certificate_by_token; "
		"DROP TRIGGER ocsp_response_forget_invalid; "
		"DROP INDEX certificate_crl; DROP INDEX certificate_crl_by_key; "
		"CREATE INDEX certificate_revoked ON certificate (serial, "
		"not_after, revoked_at, reason, status) WHERE status = 2; "
		"CREATE INDEX certificate_revoked_by_key ON certificate (key_idx, "
		"serial, not_after, revoked_at, reason, status) WHERE status = 2; "
		"ALTER TABLE certificate DROP COLUMN invalid_at; "
		"PRAGMA user_version = 22"), SQLITE_OK);
	db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	CU_ASSERT_EQUAL(db_revoked_foreach(db, NOW, big_cb, &w, &err), 0);
	CU_ASSERT_EQUAL(w.n, N);
	CU_ASSERT(w.ordered);
	db_close(db);
}

static void
test_revoked_foreach_large(void)
{
	enum { N = 200000 };
	struct mica_err err;
	struct big_walk w = { 0, "", 1 };
	struct timespec t0, t1;
	struct db *db;
	char path[128], sql[1024];
	double secs;

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	db_close(db);
	/* Bulk-load directly: the point is the walk, not the inserts. Every
	 * tenth certificate is expired. */
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
		 "WHERE i < %d) INSERT INTO certificate (serial, profile, "
		 "not_before, not_after, spki_sha256, status, der, revoked_at, "
		 "reason, created_at) SELECT printf('%%016x', (i * 2654435761) "
		 "%% 4294967311), 'server', 0, CASE WHEN i %% 10 = 0 THEN %lld "
		 "ELSE %lld END, zeroblob(32), 2, x'30', %lld, 1, 0 FROM n",
		 N, (long long)(NOW - 1), (long long)(NOW + DAY), (long long)NOW);
	CU_ASSERT_EQUAL_FATAL(raw_exec(path, sql), SQLITE_OK);
	db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(db_revoked_foreach(db, NOW, big_cb, &w, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	CU_ASSERT_EQUAL(w.n, N - N / 10);
	CU_ASSERT(w.ordered);
	/* ~50 ms on a laptop for 200k; a sort or table lookups would show. */
	CU_ASSERT(secs < 2.0);
	db_close(db);
}

/* Is row B after row A in ORDER (0 newest first, 1 soonest expiry
 * first, 2 most recently expired first)? */
static int
list_after(const struct db_cert *a, const struct db_cert *b, int order)
{
	if (order == 0)
		return b->id < a->id;
	if (order == 1)
		return b->not_after > a->not_after ||
		       (b->not_after == a->not_after && b->id > a->id);
	return b->not_after < a->not_after ||
	       (b->not_after == a->not_after && b->id < a->id);
}

/* Page through F by PAGE rows: every row once, each page in ORDER after
 * the last; returns how many rows there were. */
static size_t
list_all(struct db *db, struct db_cert_filter *f, int page, int order)
{
	struct db_cert *a = NULL, last;
	struct db_cert_cursor next;
	struct mica_err err;
	size_t n = 0, total = 0;
	int have_last = 0, pages = 0;

	memset(&f->cursor, 0, sizeof(f->cursor));
	memset(&last, 0, sizeof(last));
	f->limit = page;
	do {
		CU_ASSERT_EQUAL_FATAL(db_cert_list(db, f, &a, &n, &next, &err), 0);
		CU_ASSERT(n <= (size_t)page);
		for (size_t i = 0; i < n; i++) {
			if (have_last)
				CU_ASSERT(list_after(&last, &a[i], order));
			last.id = a[i].id;
			last.not_after = a[i].not_after;
			have_last = 1;
		}
		total += n;
		if (next.id != 0 && f->scan_max > 0 && order == 0) {
			/* A bounded walk (scan_max) goes on below the ids it
			 * looked at, the page full or not. */
			CU_ASSERT(!next.keyed);
			CU_ASSERT(n == 0 || next.id <= a[n - 1].id);
		} else if (next.id != 0) {
			CU_ASSERT(n == (size_t)page && next.id == a[n - 1].id);
			CU_ASSERT_EQUAL(next.keyed, order != 0);
			if (order != 0)
				CU_ASSERT_EQUAL(next.key, a[n - 1].not_after);
		}
		db_cert_array_free(a, n);
		f->cursor = next;
	} while (next.id != 0 && ++pages < 100000);
	memset(&f->cursor, 0, sizeof(f->cursor));
	return total;
}

/* F's WANT rows again, page by page, 1 and 3 at a time; and with each
 * page looking at no more than 4 ids (the API's bound), 3 and 100 at a
 * time. F's scan bound is left 0. */
static void
list_pages_agree(struct db *db, struct db_cert_filter *f, int order,
		 size_t want)
{
	CU_ASSERT_EQUAL(list_all(db, f, 1, order), want);
	CU_ASSERT_EQUAL(list_all(db, f, 3, order), want);
	f->scan_max = 4;
	CU_ASSERT_EQUAL(list_all(db, f, 3, order), want);
	CU_ASSERT_EQUAL(list_all(db, f, 100, order), want);
	f->scan_max = 0;
}

/* The certificates of one token (schema 024): 30 certificates, ids
 * 1..30; i % 3 == 0 issued with token "ab12", i % 3 == 1 with "cd34",
 * the others with none; i % 5 == 0 expired, i % 7 == 0 revoked, 29 and
 * 30 issuing; names host<i>.example.test. Each filter alone and with the
 * others, read at once and page by page, against what the rows say. */
static void
test_list_by_token(void)
{
	struct db_cert_filter f;
	struct db_cert *a = NULL;
	struct db_cert_cursor next;
	struct mica_err err;
	struct db *db = fresh(NULL);
	char serial[8], name[32];
	size_t n = 0;
	static const char *const toks[3] = { "ab12", "cd34", NULL };

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	for (int i = 1; i <= 30; i++) {
		int64_t na = i % 5 == 0 ? NOW - i : NOW + i * DAY;
		struct db_cert c;

		snprintf(serial, sizeof(serial), "%02x", i);
		snprintf(name, sizeof(name), "host%d.example.test", i);
		cert_init(&c, serial, name, na);
		c.token_id = toks[i % 3];
		CU_ASSERT_EQUAL_FATAL(db_cert_reserve(db, &c, &err), 0);
		if (i >= 29)
			continue;
		CU_ASSERT_EQUAL(db_cert_complete(db, serial, DER, sizeof(DER), &err), 0);
		if (i % 7 == 0)
			CU_ASSERT_EQUAL(db_cert_revoke(db, serial, 1, NOW, &err), 0);
	}

	static const struct {
		const char *token;
		int status;
		int64_t expiring_before;
		const char *name;
		size_t expect;
	} cases[] = {
		{ "ab12", -1, 0, NULL, 10 },                 /* 3, 6, ..., 30 */
		{ "cd34", -1, 0, NULL, 10 },                 /* 1, 4, ..., 28 */
		{ "ab12", DB_CERT_ISSUING, 0, NULL, 1 },     /* 30 */
		{ "ab12", DB_CERT_REVOKED, 0, NULL, 1 },     /* 21 */
		{ "cd34", DB_CERT_REVOKED, 0, NULL, 2 },     /* 7, 28 */
		{ "ab12", DB_FILTER_EXPIRED, 0, NULL, 1 },   /* 15 (30 issuing) */
		{ "ab12", DB_FILTER_CURRENT, 0, NULL, 7 },   /* 3 6 9 12 18 24 27 */
		{ "ab12", -1, NOW + 12 * DAY + DAY / 2, NULL, 4 },   /* 3 6 9 12 */
		{ "cd34", DB_FILTER_CURRENT, NOW + 20 * DAY, NULL, 5 }, /* 1 4 13 16 19 */
		{ "ab12", -1, 0, "host1*", 3 },              /* 12, 15, 18 */
		{ "ab12", -1, 0, "host15.example.test", 1 },
		{ "ab12", -1, 0, "host16.example.test", 0 }, /* cd34's */
		{ "ef", -1, 0, NULL, 0 },                    /* no such token */
		{ "", -1, 0, NULL, 30 },                     /* none: every one */
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int order = cases[k].expiring_before ? 1 :
			    cases[k].status == DB_FILTER_EXPIRED ? 2 : 0;
		size_t want = cases[k].expect;

		memset(&f, 0, sizeof(f));
		f.token_id = cases[k].token;
		f.status = cases[k].status;
		f.now = NOW;
		f.expiring_before = cases[k].expiring_before;
		f.name = cases[k].name;
		f.limit = 1000;
		CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
		if (n != want)
			fprintf(stderr, "\n  token case %zu: %zu rows, want %zu\n",
				k, n, want);
		CU_ASSERT_EQUAL(n, want);
		for (size_t i = 0; i < n; i++) {
			int id = (int)strtol(a[i].serial, NULL, 16);

			/* only the token's, as the rows were made */
			if (cases[k].token[0] != '\0')
				CU_ASSERT_EQUAL(id % 3, cases[k].token[0] == 'a' ? 0 : 1);
			if (i > 0)
				CU_ASSERT(list_after(&a[i - 1], &a[i], order));
		}
		db_cert_array_free(a, n);
		list_pages_agree(db, &f, order, want);
	}

	/* Not a token's id: refused, whatever it holds. */
	static const char *const bad[] = {
		"AB12", "ab12'", "x", "ab 12", "0123456789012345678901234567890123456789",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memset(&f, 0, sizeof(f));
		f.status = -1;
		f.now = NOW;
		f.limit = 10;
		f.token_id = bad[k];
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_filter");
		CU_ASSERT_PTR_NULL(a);
	}
	db_close(db);
}

static void
test_list_filters_and_paging(void)
{
	struct db_cert_filter f;
	struct db_cert *a = NULL;
	struct mica_err err;
	struct db *db = fresh(NULL);
	char serial[8], name[32];
	struct db_cert_cursor next;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	/* 25 certificates: ids 1..25; i % 5 == 0 expired, i % 7 == 0
	 * revoked, 24 and 25 issuing; names host<i>.example.test; 1..4
	 * expire at the same second (ties are ordered by id). */
	for (int i = 1; i <= 25; i++) {
		int64_t na = i % 5 == 0 ? NOW - i : NOW + (i < 5 ? 3 : i) * DAY;

		snprintf(serial, sizeof(serial), "%02x", i);
		snprintf(name, sizeof(name), "host%d.example.test", i);
		if (i >= 24) {
			struct db_cert c;
			cert_init(&c, serial, name, na);
			CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), 0);
			continue;
		}
		CU_ASSERT_EQUAL(add_valid(db, serial, name, na), 0);
		if (i % 7 == 0)
			CU_ASSERT_EQUAL(db_cert_revoke(db, serial, 1, NOW, &err), 0);
	}

	static const struct {
		int status;
		int64_t expiring_before;
		const char *name;
		size_t expect;
	} cases[] = {
		{ -1, 0, NULL, 25 },
		{ DB_CERT_ISSUING, 0, NULL, 2 },
		{ DB_CERT_REVOKED, 0, NULL, 3 },            /* 7, 14, 21 */
		{ DB_CERT_VALID, 0, NULL, 20 },
		{ DB_FILTER_EXPIRED, 0, NULL, 4 },          /* 5, 10, 15, 20 */
		{ DB_FILTER_CURRENT, 0, NULL, 16 },
		/* not_after in (NOW, NOW + 10.5 days): 1..10 minus expired 5, 10 */
		{ -1, NOW + 10 * DAY + DAY / 2, NULL, 8 },
		{ DB_FILTER_CURRENT, NOW + 10 * DAY + DAY / 2, NULL, 7 },
		{ DB_FILTER_EXPIRED, NOW + 10 * DAY + DAY / 2, NULL, 0 },
		{ -1, 0, "host1.example.test", 1 },         /* exactly */
		{ -1, 0, "HOST1.Example.TEST", 1 },         /* ASCII-caseless */
		{ -1, 0, "host1*", 11 },                    /* 1, 10..19 */
		{ -1, 0, "HOST1*", 11 },
		{ DB_CERT_REVOKED, 0, "host1*", 1 },        /* 14 */
		{ DB_FILTER_EXPIRED, 0, "host1*", 2 },      /* 10, 15 */
		{ -1, NOW + 10 * DAY + DAY / 2, "host*", 8 },
		{ -1, 0, "host1.example", 0 },              /* not a substring */
		{ -1, 0, "example.test", 0 },
		{ -1, 0, "host25.example.test", 1 },
		{ -1, 0, "nomatch", 0 },
		{ -1, 0, "", 25 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int order = cases[k].expiring_before ? 1 :
			    cases[k].status == DB_FILTER_EXPIRED ? 2 : 0;
		size_t want = cases[k].expect;

		memset(&f, 0, sizeof(f));
		f.status = cases[k].status;
		f.now = NOW;
		f.expiring_before = cases[k].expiring_before;
		f.name = cases[k].name;
		f.limit = 1000;
		CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
		if (n != want)
			fprintf(stderr, "\n  case %zu: %zu rows, want %zu\n", k, n,
				want);
		CU_ASSERT_EQUAL(n, want);
		CU_ASSERT_EQUAL(next.id, 0);
		for (size_t i = 0; i < n; i++) {
			CU_ASSERT_PTR_NULL(a[i].der);   /* DER not loaded */
			if (i > 0)
				CU_ASSERT(list_after(&a[i - 1], &a[i], order));
		}
		db_cert_array_free(a, n);
		list_pages_agree(db, &f, order, want);
	}

	/* A bounded walk for matches older than the ids it may look at
	 * (revoked are 7, 14, 21; 25..22 are looked at): an empty page that
	 * says where to go on, then the next ids. */
	memset(&f, 0, sizeof(f));
	f.status = DB_CERT_REVOKED;
	f.now = NOW;
	f.limit = 100;
	f.scan_max = 4;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT(n == 0 && next.id == 22 && !next.keyed);
	db_cert_array_free(a, n);
	f.cursor = next;
	f.scan_max = 8;         /* 21..14 */
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT(n == 2 && strcmp(a[0].serial, "15") == 0 &&
		  strcmp(a[1].serial, "0e") == 0 && next.id == 14);
	db_cert_array_free(a, n);
	f.cursor = next;        /* 13..6: 7; 5..1 are left */
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT(n == 1 && strcmp(a[0].serial, "07") == 0 && next.id == 6);
	db_cert_array_free(a, n);
	f.cursor = next;        /* 5..1: none, and the end */
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT(n == 0 && next.id == 0);
	db_cert_array_free(a, n);
	/* Without a filter every id matches: no bound, no early end. */
	f.status = -1;
	memset(&f.cursor, 0, sizeof(f.cursor));
	f.limit = 10;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT(n == 10 && next.id == a[9].id);
	db_cert_array_free(a, n);
	f.scan_max = -1;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);

	/* The newest first. */
	memset(&f, 0, sizeof(f));
	f.status = -1;
	f.now = NOW;
	f.limit = 4;
	CU_ASSERT_EQUAL_FATAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT(n == 4 && strcmp(a[0].serial, "19") == 0);   /* 25 */
	CU_ASSERT(next.id == a[3].id && !next.keyed);
	db_cert_array_free(a, n);

	/* Exactly one full last page: no phantom next page. */
	f.limit = 25;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT(n == 25 && next.id == 0);
	db_cert_array_free(a, n);

	/* Limits are clamped to 1..1000. */
	f.limit = 0;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT(n == 1 && next.id != 0);
	db_cert_array_free(a, n);
	f.limit = -7;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT_EQUAL(n, 1);
	db_cert_array_free(a, n);
	f.limit = 1 << 30;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT_EQUAL(n, 25);
	db_cert_array_free(a, n);

	/* Unknown status filter. */
	f.status = 3;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	CU_ASSERT(a == NULL && n == 0);
	db_cert_array_free(NULL, 0);
	db_close(db);
}

/* A cursor must come from a page of the same order; name filters are
 * printable ASCII, bounded, and a prefix has a character before its '*'. */
static void
test_list_refuses_bad_cursors_and_names(void)
{
	static const struct {
		int64_t expiring_before;
		int status;
		struct db_cert_cursor cur;
		const char *name;
	} bad[] = {
		{ 0, -1, { -1, 0, 0 }, NULL },                 /* negative id */
		{ 0, -1, { 5, -3, 1 }, NULL },                 /* negative key */
		{ 0, -1, { 5, 100, 1 }, NULL },                /* keyed, newest first */
		{ NOW + DAY, -1, { 5, 0, 0 }, NULL },          /* unkeyed, by expiry */
		{ 0, DB_FILTER_EXPIRED, { 5, 0, 0 }, NULL },
		{ 0, -1, { 0, 7, 1 }, NULL },                  /* key without id */
		{ 0, -1, { 5, 0, 2 }, NULL },
		{ 0, -1, { 0, 0, 0 }, "*" },
		{ 0, -1, { 0, 0, 0 }, "a b" },
		{ 0, -1, { 0, 0, 0 }, "caf\xc3\xa9.test" },
		{ 0, -1, { 0, 0, 0 }, "a\tb" },
	};
	struct db_cert_filter f;
	struct db_cert *a = NULL;
	struct db_cert_cursor next;
	struct mica_err err;
	struct db *db = fresh(NULL);
	char *longname;
	size_t n = 7;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(add_valid(db, "01", "a.test", NOW + DAY), 0);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memset(&f, 0, sizeof(f));
		f.status = bad[k].status;
		f.now = NOW;
		f.expiring_before = bad[k].expiring_before;
		f.cursor = bad[k].cur;
		f.name = bad[k].name;
		f.limit = 10;
		CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
		CU_ASSERT(a == NULL && n == 0 && next.id == 0);
	}
	/* Huge but well-formed cursors are only past the end. */
	memset(&f, 0, sizeof(f));
	f.status = -1;
	f.now = NOW;
	f.limit = 10;
	f.cursor.id = 1;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT(n == 0 && next.id == 0);
	f.cursor.id = INT64_MAX;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT_EQUAL(n, 1);
	db_cert_array_free(a, n);
	f.expiring_before = NOW + 2 * DAY;
	f.cursor.keyed = 1;
	f.cursor.key = INT64_MAX;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	/* A key before now: from now on. */
	f.cursor.key = 0;
	f.cursor.id = INT64_MAX;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT_EQUAL(n, 1);
	db_cert_array_free(a, n);
	/* The cursor's own row is not repeated; a later one follows. */
	f.cursor.key = NOW + DAY;
	f.cursor.id = 1;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	f.cursor.key = NOW + DAY - 1;
	f.cursor.id = INT64_MAX;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT_EQUAL(n, 1);
	db_cert_array_free(a, n);
	/* Too long a name. */
	longname = malloc(DB_NAME_FILTER_MAX + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(longname);
	memset(longname, 'a', DB_NAME_FILTER_MAX + 1);
	longname[DB_NAME_FILTER_MAX + 1] = '\0';
	memset(&f, 0, sizeof(f));
	f.status = -1;
	f.now = NOW;
	f.limit = 10;
	f.name = longname;
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	longname[DB_NAME_FILTER_MAX] = '\0';
	CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(longname);
	db_close(db);
}

/* Does PLAN (eqp's) scan the table c, as a whole or through a whole
 * index? (Not the few rows of a renewal chain, "SCAN chain".) */
static int
scans_c(const char *plan)
{
	return strstr(plan, "SCAN c;") != NULL || strstr(plan, "SCAN c ") != NULL;
}

/* What the planner does with each listing statement, on a store with
 * enough rows that a scan would matter. */
static void
eqp(struct db *db, enum db_stmt_id id, char *out, size_t outsz)
{
	sqlite3_stmt *q = NULL;
	char *sql;
	size_t o = 0;

	out[0] = '\0';
	CU_ASSERT_PTR_NOT_NULL_FATAL(db->st[id]);
	sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sqlite3_sql(db->st[id]));
	CU_ASSERT_PTR_NOT_NULL_FATAL(sql);
	CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(db->h, sql, -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(q, 3);
		int w = snprintf(out + o, outsz - o, "%s; ", d ? d : "");

		if (w < 0 || (size_t)w >= outsz - o)
			break;
		o += (size_t)w;
	}
	sqlite3_finalize(q);
	sqlite3_free(sql);
}

/* A new store at PATH with N certificates (serials printf('%08x', i),
 * not_after spread over a year around NOW, every tenth revoked), then
 * THEN (more SQL) run on it; opened, or NULL with a CUnit failure. */
static struct db *
bulk_store(char *path, int n, const char *then)
{
	struct mica_err err;
	struct db *db;
	char *sql;

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	db_close(db);
	sql = sqlite3_mprintf(
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
		"WHERE i < %d) INSERT INTO certificate (serial, profile, "
		"not_before, not_after, spki_sha256, status, der, revoked_at, "
		"reason, created_at) SELECT printf('%%08x', i), 'server', 0, "
		"%lld + (i * 7919) %% (365 * 86400) - 180 * 86400, zeroblob(32), "
		"CASE WHEN i %% 10 = 0 THEN 2 ELSE 1 END, x'30', "
		"CASE WHEN i %% 10 = 0 THEN 1 ELSE 0 END, "
		"CASE WHEN i %% 10 = 0 THEN 1 ELSE -1 END, 0 FROM n; %s",
		n, (long long)NOW, then);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sql);
	CU_ASSERT_EQUAL_FATAL(raw_exec(path, sql), SQLITE_OK);
	sqlite3_free(sql);
	db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	return db;
}

/* The OCSP refresh asks every two seconds while issuance goes on
 * whether a revocation is among the marks (db_ocsp_dirty, revoked): the
 * answer must come from the few marks, each looked up by serial, never
 * from a walk of the revoked certificates (a million rows at 10M). On a
 * store without statistics, as mica's are, with 1,200 revoked
 * certificates and three marks: the right answer both ways, the plan,
 * and the work it took. */
static void
test_ocsp_revoked_mark_reads_the_marks(void)
{
	struct mica_err err;
	struct db *db;
	sqlite3_stmt *st;
	char path[128], plan[1024];
	int dirty = -1;

	db = bulk_store(path, 12000, "DELETE FROM ocsp_dirty; "
			"INSERT INTO ocsp_dirty (serial) VALUES ('00000001'), "
			"('00000002'), ('00000003')");

	/* Three valid certificates marked: no revocation among them. */
	CU_ASSERT_EQUAL(db_ocsp_dirty(db, 1, &dirty, &err), 0);
	CU_ASSERT_EQUAL(dirty, 0);
	CU_ASSERT_EQUAL(db_ocsp_dirty(db, 0, &dirty, &err), 0);
	CU_ASSERT_EQUAL(dirty, 1);
	st = db->st[S_OCSP_DIRTY_REVOKED];
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
	CU_ASSERT_EQUAL(db_ocsp_dirty(db, 1, &dirty, &err), 0);
	/* A walk of the 1,200 revoked rows takes tens of thousands of
	 * steps; three lookups a few dozen. */
	CU_ASSERT(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0) < 200);
	eqp(db, S_OCSP_DIRTY_REVOKED, plan, sizeof(plan));
	if (strstr(plan, "SCAN d") == NULL ||
	    strstr(plan, "certificate_by_status") != NULL)
		fprintf(stderr, "\n  plan: %s\n", plan);
	CU_ASSERT_PTR_NOT_NULL(strstr(plan, "SCAN d"));
	CU_ASSERT_PTR_NULL(strstr(plan, "certificate_by_status"));
	db_close(db);

	/* A revoked one marked too: found. */
	CU_ASSERT_EQUAL_FATAL(raw_exec(path, "INSERT INTO ocsp_dirty (serial) "
				       "VALUES ('00000fa0')"), SQLITE_OK);
	db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	CU_ASSERT_EQUAL(db_ocsp_dirty(db, 1, &dirty, &err), 0);
	CU_ASSERT_EQUAL(dirty, 1);
	db_close(db);
}

/* Every listing plan walks an index in its page's order (no scan of the
 * table, no sort), except the lookup of a few names' certificates; a
 * broad name prefix and a narrow one find the same rows. */
static void
test_list_plans_use_indexes(void)
{
	enum { N = 12000 };
	struct db_cert_filter f;
	struct db_cert *a = NULL;
	struct db_cert_cursor next;
	struct mica_err err;
	struct db *db;
	char path[128], plan[8192];
	size_t n = 0;

	/* Names: every certificate "w<i>.bulk.test"; not_after spread over
	 * a year around NOW; every tenth revoked. */
	db = bulk_store(path, N, "INSERT INTO cert_name (serial, name) "
			"SELECT serial, 'w' || id || '.bulk.test' FROM "
			"certificate; ANALYZE");

	static const struct {
		int status;
		int64_t expiring_before;
		const char *name;
		enum db_stmt_id id;
		const char *uses;       /* in the plan */
	} cases[] = {
		{ -1, 0, NULL, S_CERT_LIST, "INTEGER PRIMARY KEY (rowid>? AND rowid<?)" },
		{ DB_FILTER_CURRENT, 0, NULL, S_CERT_LIST, "INTEGER PRIMARY KEY (rowid>? AND rowid<?)" },
		{ DB_CERT_ISSUING, 0, NULL, S_CERT_LIST_ISSUING, "certificate_by_status (status=?" },
		{ -1, NOW + 30 * DAY, NULL, S_CERT_LIST_EXPIRING,
		  "certificate_by_expiry (not_after>? AND not_after<?)" },
		{ DB_FILTER_EXPIRED, 0, NULL, S_CERT_LIST_EXPIRED,
		  "certificate_by_status (status=? AND not_after<?)" },
		{ -1, 0, "w77.bulk.test", S_CERT_LIST_NAMES, "cert_name_by_name (name>? AND name<?)" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		memset(&f, 0, sizeof(f));
		f.status = cases[k].status;
		f.now = NOW;
		f.expiring_before = cases[k].expiring_before;
		f.name = cases[k].name;
		f.limit = 50;
		CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
		db_cert_array_free(a, n);
		eqp(db, cases[k].id, plan, sizeof(plan));
		if (strstr(plan, cases[k].uses) == NULL ||
		    (cases[k].id != S_CERT_LIST_NAMES &&
		     cases[k].id != S_CERT_LIST_ISSUING &&
		     strstr(plan, "TEMP B-TREE") != NULL) ||
		    scans_c(plan) || strstr(plan, "BLOOM") != NULL ||
		    strstr(plan, "AUTOMATIC") != NULL)
			fprintf(stderr, "\n  case %zu: plan %s\n", k, plan);
		CU_ASSERT_PTR_NOT_NULL(strstr(plan, cases[k].uses));
		CU_ASSERT_FALSE(scans_c(plan));
		/* The renewal walk of each row looks certificates up by
		 * serial: never a Bloom filter or an automatic index, which
		 * SQLite builds by reading a whole table, once a row. */
		CU_ASSERT_PTR_NULL(strstr(plan, "BLOOM"));
		CU_ASSERT_PTR_NULL(strstr(plan, "AUTOMATIC"));
		if (cases[k].id != S_CERT_LIST_NAMES &&
		    cases[k].id != S_CERT_LIST_ISSUING)
			CU_ASSERT_PTR_NULL(strstr(plan, "TEMP B-TREE"));
	}

	/* One certificate with its renewal: by serial, the same walk. */
	{
		struct db_cert got;

		CU_ASSERT_EQUAL(db_cert_get_at(db, "00000001", NOW, &got, &err), 0);
		db_cert_free(&got);
		eqp(db, S_CERT_GET_AT, plan, sizeof(plan));
		if (strstr(plan, "BLOOM") != NULL || scans_c(plan))
			fprintf(stderr, "\n  get_at: plan %s\n", plan);
		CU_ASSERT_PTR_NULL(strstr(plan, "BLOOM"));
		CU_ASSERT_PTR_NULL(strstr(plan, "AUTOMATIC"));
		CU_ASSERT_FALSE(scans_c(plan));
	}

	/* "w1*" matches 3112 names (w1, w1x, w1xx, w1xxx, w10000..w12000):
	 * few, looked up and sorted; "w*" all of them: walked newest
	 * first. Both agree with an exact count. */
	memset(&f, 0, sizeof(f));
	f.status = -1;
	f.now = NOW;
	f.name = "w1*";
	CU_ASSERT_EQUAL(list_all(db, &f, 100, 0), 3112);
	f.name = "w*";
	CU_ASSERT_EQUAL(list_all(db, &f, 1000, 0), N);
	f.expiring_before = NOW + 30 * DAY;
	f.name = NULL;
	{
		size_t all = list_all(db, &f, 97, 1);

		CU_ASSERT(all > 0);
		f.name = "w*";   /* the broad prefix walks the expiry index */
		CU_ASSERT_EQUAL(list_all(db, &f, 97, 1), all);
		f.name = "w1*";
		CU_ASSERT(list_all(db, &f, 97, 1) < all);
	}
	f.expiring_before = 0;
	f.name = NULL;
	f.status = DB_FILTER_EXPIRED;
	CU_ASSERT(list_all(db, &f, 250, 2) > 0);
	db_close(db);
}

static void
test_list_like_escaping(void)
{
	static const struct {
		const char *search;
		const char *only;   /* the one serial expected, NULL = none */
	} cases[] = {
		{ "a%b.test", "01" },
		{ "a_b.test", "03" },
		{ "a\\b.test", "04" },
		{ "a%*", "01" },
		{ "a_*", "03" },
		{ "a\\*", "04" },
		{ "%", NULL },
		{ "_*", NULL },
		{ "%%", NULL },
		{ "'", NULL },
	};
	struct db_cert_filter f;
	struct db_cert *a = NULL;
	struct mica_err err;
	struct db *db = fresh(NULL);
	size_t n = 0;
	struct db_cert_cursor next;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(add_valid(db, "01", "a%b.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(add_valid(db, "02", "axb.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(add_valid(db, "03", "a_b.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(add_valid(db, "04", "a\\b.test", NOW + DAY), 0);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		memset(&f, 0, sizeof(f));
		f.status = -1;
		f.now = NOW;
		f.limit = 10;
		f.name = cases[k].search;
		CU_ASSERT_EQUAL(db_cert_list(db, &f, &a, &n, &next, &err), 0);
		if (cases[k].only == NULL) {
			CU_ASSERT_EQUAL(n, 0);
		} else {
			CU_ASSERT_EQUAL(n, 1);
			if (n == 1)
				CU_ASSERT_STRING_EQUAL(a[0].serial, cases[k].only);
		}
		db_cert_array_free(a, n);
	}
	db_close(db);
}

static void
test_counts(void)
{
	struct db_counts c;
	struct db_request r;
	struct db_cert cert;
	struct mica_err err;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(db_counts(db, NOW, &c, &err), 0);
	CU_ASSERT(c.issuing == 0 && c.valid == 0 && c.revoked == 0 &&
		  c.expired == 0 && c.pending_requests == 0);
	CU_ASSERT_EQUAL(add_valid(db, "01", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(add_valid(db, "02", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(add_valid(db, "03", "a.test", NOW), 0);   /* expired */
	CU_ASSERT_EQUAL(add_valid(db, "04", "a.test", NOW - DAY), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "04", 1, NOW, &err), 0);
	cert_init(&cert, "05", "a.test", NOW + DAY);
	CU_ASSERT_EQUAL(db_cert_reserve(db, &cert, &err), 0);
	req_init(&r, "req1", NOW);
	CU_ASSERT_EQUAL(db_req_insert(db, &r, &err), 0);
	CU_ASSERT_EQUAL(db_counts(db, NOW, &c, &err), 0);
	CU_ASSERT_EQUAL(c.issuing, 1);
	CU_ASSERT_EQUAL(c.valid, 2);
	CU_ASSERT_EQUAL(c.expired, 1);
	CU_ASSERT_EQUAL(c.revoked, 1);
	CU_ASSERT_EQUAL(c.pending_requests, 1);
	db_close(db);
}

/* ------------------------------------------------------------------ */
/* CRLs                                                                */
/* ------------------------------------------------------------------ */

static void
test_crl_numbering(void)
{
	struct db_crl crl, got;
	struct mica_err err;
	struct db *db = fresh(NULL);
	int64_t last = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(db_crl_last_number(db, &last, &err), 0);
	CU_ASSERT_EQUAL(last, 0);
	CU_ASSERT_EQUAL(db_crl_latest(db, &got, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);

	memset(&crl, 0, sizeof(crl));
	crl.this_update = NOW;
	crl.next_update = NOW + 7 * DAY;
	crl.der = (unsigned char *)DER;
	crl.der_len = sizeof(DER);
	crl.number = 1;
	CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), 0);
	crl.number = 5;
	CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), 0);
	/* Equal or lower: conflict. */
	for (int64_t bad = 5; bad >= 1; bad -= 2) {
		crl.number = bad;
		CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
		CU_ASSERT_STRING_EQUAL(err.code, "crl_number_not_increasing");
	}
	crl.number = 4;   /* gap below the max */
	CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	/* Malformed. */
	crl.number = 0;
	CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	crl.number = 9;
	crl.next_update = crl.this_update;
	CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);

	crl.number = 6;
	crl.next_update = NOW + DAY;
	crl.der_len = 3;
	CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), 0);
	CU_ASSERT_EQUAL(db_crl_last_number(db, &last, &err), 0);
	CU_ASSERT_EQUAL(last, 6);
	CU_ASSERT_EQUAL_FATAL(db_crl_latest(db, &got, &err), 0);
	CU_ASSERT(got.number == 6 && got.this_update == NOW &&
		  got.next_update == NOW + DAY && got.der_len == 3 &&
		  memcmp(got.der, DER, 3) == 0);
	db_crl_free(&got);
	CU_ASSERT_PTR_NULL(got.der);
	db_crl_free(NULL);

	/* A large CRL (written into the row in 1 MiB pieces) comes back
	 * byte for byte. */
	{
		size_t big = (3u << 20) + 17;
		unsigned char *p = malloc(big);

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		for (size_t i = 0; i < big; i++)
			p[i] = (unsigned char)(i * 2654435761u >> 13);
		crl.number = 7;
		crl.der = p;
		crl.der_len = big;
		CU_ASSERT_EQUAL(db_crl_insert(db, &crl, &err), 0);
		CU_ASSERT_EQUAL_FATAL(db_crl_latest(db, &got, &err), 0);
		CU_ASSERT(got.number == 7 && got.der_len == big &&
			  memcmp(got.der, p, big) == 0);
		db_crl_free(&got);
		/* Number and dates without the bytes. */
		CU_ASSERT_EQUAL_FATAL(db_crl_latest_info(db, &got, &err), 0);
		CU_ASSERT(got.number == 7 && got.this_update == NOW &&
			  got.next_update == NOW + DAY && got.der == NULL &&
			  got.der_len == 0);
		db_crl_free(&got);
		free(p);
	}
	db_close(db);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

static void
test_requests(void)
{
	struct db_request r, got, *a = NULL;
	struct mica_err err;
	struct db *db = fresh(NULL);
	size_t n = 0;
	int64_t pending = -1;
	int more = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	req_init(&r, "r-late", NOW + 20);
	CU_ASSERT_EQUAL(db_req_insert(db, &r, &err), 0);
	req_init(&r, "r-early", NOW + 10);
	r.days = 30;
	CU_ASSERT_EQUAL(db_req_insert(db, &r, &err), 0);
	req_init(&r, "r-mid", NOW + 15);
	CU_ASSERT_EQUAL(db_req_insert(db, &r, &err), 0);
	CU_ASSERT_EQUAL(db_req_insert(db, &r, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	r.csr_der = NULL;
	strcpy(r.id, "r-nocsr");
	CU_ASSERT_EQUAL(db_req_insert(db, &r, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);

	CU_ASSERT_EQUAL_FATAL(db_req_get(db, "r-early", &got, &err), 0);
	CU_ASSERT_EQUAL(got.status, DB_REQ_PENDING);
	CU_ASSERT_EQUAL(got.days, 30);
	CU_ASSERT(got.csr_len == sizeof(DER) &&
		  memcmp(got.csr_der, DER, sizeof(DER)) == 0);
	CU_ASSERT_STRING_EQUAL(got.client, "192.0.2.7");
	CU_ASSERT_PTR_NULL(got.decided_by);
	CU_ASSERT_STRING_EQUAL(got.serial, "");
	db_req_free(&got);
	CU_ASSERT_EQUAL(db_req_get(db, "nope", &got, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);

	CU_ASSERT_EQUAL(db_req_count_pending(db, &pending, &err), 0);
	CU_ASSERT_EQUAL(pending, 3);

	/* Decide: issued, then again -> conflict (either way). */
	CU_ASSERT_EQUAL(db_req_decide(db, "r-mid", DB_REQ_ISSUED, "cli", "0a0b",
				      NULL, NOW + 30, &err), 0);
	CU_ASSERT_EQUAL(db_req_decide(db, "r-mid", DB_REQ_DENIED, "cli", NULL,
				      "no", NOW + 31, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.code, "already_decided");
	CU_ASSERT_EQUAL(db_req_decide(db, "r-mid", DB_REQ_ISSUED, "cli", "0c0d",
				      NULL, NOW + 31, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_EQUAL(db_req_decide(db, "nope", DB_REQ_DENIED, "cli", NULL,
				      "no", NOW, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	/* Issued needs a serial; pending is not a decision. */
	CU_ASSERT_EQUAL(db_req_decide(db, "r-late", DB_REQ_ISSUED, "cli", NULL,
				      NULL, NOW, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	CU_ASSERT_EQUAL(db_req_decide(db, "r-late", DB_REQ_PENDING, "cli", NULL,
				      NULL, NOW, &err), -1);
	CU_ASSERT_EQUAL(db_req_decide(db, "r-late", DB_REQ_DENIED, "admin:t1",
				      NULL, "not ours", NOW + 40, &err), 0);

	CU_ASSERT_EQUAL_FATAL(db_req_get(db, "r-mid", &got, &err), 0);
	CU_ASSERT(got.status == DB_REQ_ISSUED && got.decided_at == NOW + 30);
	CU_ASSERT_STRING_EQUAL(got.serial, "0a0b");
	CU_ASSERT_STRING_EQUAL(got.decided_by, "cli");
	CU_ASSERT_PTR_NULL(got.deny_reason);
	db_req_free(&got);
	CU_ASSERT_EQUAL_FATAL(db_req_get(db, "r-late", &got, &err), 0);
	CU_ASSERT_EQUAL(got.status, DB_REQ_DENIED);
	CU_ASSERT_STRING_EQUAL(got.deny_reason, "not ours");
	CU_ASSERT_STRING_EQUAL(got.serial, "");
	db_req_free(&got);
	db_req_free(NULL);

	/* Lists, in the order recorded (r-late was recorded first, though
	 * submitted last: a token's request is recorded once issued). */
	CU_ASSERT_EQUAL_FATAL(db_req_list(db, -1, 0, 100, &a, &n, &more, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(more, 0);
	CU_ASSERT_STRING_EQUAL(a[0].id, "r-late");
	CU_ASSERT_STRING_EQUAL(a[1].id, "r-early");
	CU_ASSERT_STRING_EQUAL(a[2].id, "r-mid");
	CU_ASSERT(a[0].rowid > 0 && a[1].rowid > a[0].rowid && a[2].rowid > a[1].rowid);
	db_req_array_free(a, n);
	CU_ASSERT_EQUAL_FATAL(db_req_list(db, DB_REQ_PENDING, 0, 100, &a, &n, &more, &err), 0);
	CU_ASSERT(n == 1 && strcmp(a[0].id, "r-early") == 0);
	db_req_array_free(a, n);
	/* By pages: a cut page says more follow; the next starts after the
	 * last row, and a row recorded meanwhile comes after, whatever its
	 * submission time. */
	CU_ASSERT_EQUAL_FATAL(db_req_list(db, -1, 0, 2, &a, &n, &more, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(more, 1);
	CU_ASSERT_STRING_EQUAL(a[1].id, "r-early");
	{
		int64_t row = a[1].rowid;

		db_req_array_free(a, n);
		req_init(&r, "r-tie", NOW - 1000);
		CU_ASSERT_EQUAL_FATAL(db_req_insert(db, &r, &err), 0);
		CU_ASSERT_EQUAL_FATAL(db_req_list(db, -1, row, 2, &a, &n, &more, &err), 0);
		CU_ASSERT_EQUAL_FATAL(n, 2);
		CU_ASSERT_EQUAL(more, 0);
		CU_ASSERT_STRING_EQUAL(a[0].id, "r-mid");
		CU_ASSERT_STRING_EQUAL(a[1].id, "r-tie");
		db_req_array_free(a, n);
		/* The status listing goes on the same way (r-mid issued, r-tie
		 * pending: after r-early's place only r-tie). */
		CU_ASSERT_EQUAL_FATAL(db_req_list(db, DB_REQ_PENDING, row, 5, &a, &n, &more, &err), 0);
		CU_ASSERT(n == 1 && strcmp(a[0].id, "r-tie") == 0 && more == 0);
		db_req_array_free(a, n);
	}
	CU_ASSERT_EQUAL_FATAL(db_req_decide(db, "r-tie", DB_REQ_DENIED, "cli", NULL,
					    "tie", NOW + 40, &err), 0);
	CU_ASSERT_EQUAL(db_req_list(db, 9, 0, 2, &a, &n, &more, &err), -1);
	CU_ASSERT_EQUAL(db_req_count_pending(db, &pending, &err), 0);
	CU_ASSERT_EQUAL(pending, 1);

	/* A certificate may name its request; not one that does not exist. */
	{
		struct db_cert c;
		cert_init(&c, "0a0b", "www.example.test", NOW + DAY);
		c.request_id = (char *)"r-mid";
		CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), 0);
		cert_init(&c, "0c0c", "www.example.test", NOW + DAY);
		c.request_id = (char *)"r-ghost";
		CU_ASSERT_EQUAL(db_cert_reserve(db, &c, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
		CU_ASSERT_EQUAL(cert_status(db, "0c0c"), -1);
	}
	db_close(db);
}

/* ------------------------------------------------------------------ */
/* Tokens                                                              */
/* ------------------------------------------------------------------ */

static void
test_tokens(void)
{
	struct db_token t, got, *a = NULL;
	struct mica_err err;
	struct db *db = fresh(NULL);
	int64_t next = 0;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	token_init(&t, "once", DB_TOKEN_ENROLL, 1, 0);
	t.profile = (char *)"server";
	t.names = (char *)"*.example.test";
	t.comment = (char *)"for the web farm";
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), 0);
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);

	CU_ASSERT_EQUAL_FATAL(db_token_get(db, "once", &got, &err), 0);
	CU_ASSERT_EQUAL(memcmp(got.hash, t.hash, 32), 0);
	CU_ASSERT(got.kind == DB_TOKEN_ENROLL && got.uses_left == 1 &&
		  got.revoked == 0 && got.last_used_at == 0);
	CU_ASSERT_STRING_EQUAL(got.profile, "server");
	CU_ASSERT_STRING_EQUAL(got.names, "*.example.test");
	CU_ASSERT_STRING_EQUAL(got.comment, "for the web farm");
	db_token_free(&got);
	db_token_free(NULL);

	/* One use: consumed once, then exhausted; refund gives it back. */
	CU_ASSERT_EQUAL(db_token_consume(db, "once", NOW, &err), 0);
	CU_ASSERT_EQUAL(db_token_consume(db, "once", NOW, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_FORBIDDEN);
	CU_ASSERT_STRING_EQUAL(err.code, "token_exhausted");
	CU_ASSERT_EQUAL_FATAL(db_token_get(db, "once", &got, &err), 0);
	CU_ASSERT(got.uses_left == 0 && got.last_used_at == NOW);
	db_token_free(&got);
	CU_ASSERT_EQUAL(db_token_refund(db, "once", &err), 0);
	CU_ASSERT_EQUAL(db_token_consume(db, "once", NOW + 1, &err), 0);
	CU_ASSERT_EQUAL(db_token_consume(db, "nope", NOW, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);

	/* Unlimited stays unlimited. */
	token_init(&t, "many", DB_TOKEN_ENROLL, -1, 0);
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), 0);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(db_token_consume(db, "many", NOW, &err), 0);
	CU_ASSERT_EQUAL(db_token_refund(db, "many", &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_token_get(db, "many", &got, &err), 0);
	CU_ASSERT_EQUAL(got.uses_left, -1);
	db_token_free(&got);

	/* Expired at NOW (expires_at == NOW counts as expired). */
	token_init(&t, "old", DB_TOKEN_ENROLL, 5, NOW);
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), 0);
	CU_ASSERT_EQUAL(db_token_consume(db, "old", NOW, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_FORBIDDEN);
	CU_ASSERT_EQUAL(db_token_consume(db, "old", NOW - 1, &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_token_get(db, "old", &got, &err), 0);
	CU_ASSERT_EQUAL(got.uses_left, 4);   /* the refused try took nothing */
	db_token_free(&got);

	/* Revoked: refused; revoking twice or unknown -> not found. */
	CU_ASSERT_EQUAL(db_token_revoke(db, "many", &err), 0);
	CU_ASSERT_EQUAL(db_token_consume(db, "many", NOW, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_FORBIDDEN);
	CU_ASSERT_EQUAL(db_token_revoke(db, "many", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_EQUAL(db_token_revoke(db, "nope", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_EQUAL_FATAL(db_token_get(db, "many", &got, &err), 0);
	CU_ASSERT_EQUAL(got.revoked, 1);   /* kept, marked */
	db_token_free(&got);

	CU_ASSERT_EQUAL(db_token_touch(db, "old", NOW + 99, &err), 0);
	CU_ASSERT_EQUAL(db_token_touch(db, "nope", NOW, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_NOTFOUND);
	CU_ASSERT_EQUAL(db_token_refund(db, "nope", &err), -1);
	CU_ASSERT_EQUAL_FATAL(db_token_get(db, "old", &got, &err), 0);
	CU_ASSERT_EQUAL(got.last_used_at, NOW + 99);
	db_token_free(&got);

	/* Admin tokens: live, expiring, expired, used up, revoked. */
	token_init(&t, "adm1", DB_TOKEN_ADMIN, -1, 0);
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), 0);
	token_init(&t, "adm2", DB_TOKEN_ADMIN, -1, NOW + DAY);
	t.created_at = NOW + 5;
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), 0);
	token_init(&t, "adm3", DB_TOKEN_ADMIN, -1, NOW - 1);
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), 0);
	token_init(&t, "adm4", DB_TOKEN_ADMIN, 0, 0);
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), 0);
	token_init(&t, "adm5", DB_TOKEN_ADMIN, -1, 0);
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), 0);
	CU_ASSERT_EQUAL(db_token_revoke(db, "adm5", &err), 0);

	/* Invalid records. */
	token_init(&t, "bad", 7, 1, 0);
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	token_init(&t, "bad", DB_TOKEN_ENROLL, -2, 0);
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), -1);
	token_init(&t, "", DB_TOKEN_ENROLL, 1, 0);
	CU_ASSERT_EQUAL(db_token_insert(db, &t, &err), -1);

	/* All tokens, the last made first (the order recorded, not the
	 * clock's created_at: adm2's is later), revoked included, hashes
	 * included; one page holds them, none follows. */
	CU_ASSERT_EQUAL_FATAL(db_token_list(db, 0, NOW, 0, 100, 0, &a, &n,
					    &next, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 8);
	CU_ASSERT_STRING_EQUAL(a[0].id, "adm5");
	CU_ASSERT_STRING_EQUAL(a[3].id, "adm2");
	CU_ASSERT_STRING_EQUAL(a[n - 1].id, "once");
	CU_ASSERT_EQUAL(memcmp(a[0].hash, t.hash, 32), 0);
	CU_ASSERT_EQUAL(next, 0);
	db_token_array_free(a, n);
	/* The usable ones at NOW: not revoked (many, adm5), used up (once,
	 * adm4) or expired (old at NOW itself, adm3). */
	CU_ASSERT_EQUAL_FATAL(db_token_list(db, 1, NOW, 0, 100, 0, &a, &n,
					    &next, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(a[0].id, "adm2");
	CU_ASSERT_STRING_EQUAL(a[1].id, "adm1");
	CU_ASSERT_EQUAL(next, 0);
	db_token_array_free(a, n);
	/* A day on, adm2 has expired too. */
	CU_ASSERT_EQUAL_FATAL(db_token_list(db, 1, NOW + DAY, 0, 100, 0, &a,
					    &n, &next, &err), 0);
	CU_ASSERT(n == 1 && strcmp(a[0].id, "adm1") == 0);
	db_token_array_free(a, n);
	CU_ASSERT_EQUAL(db_token_list(db, 0, NOW, -1, 100, 0, &a, &n, &next,
				      &err), -1);
	CU_ASSERT_EQUAL(db_token_list(db, 0, NOW, 0, 100, -1, &a, &n, &next,
				      &err), -1);
	db_token_array_free(NULL, 0);
	db_close(db);
}

/* Walk the token listing (USABLE or all) at NOW in pages of LIMIT,
 * looking at SCAN entries at most per page: the ids joined by spaces into
 * OUT (of SIZE), *PAGES the pages it took. -1 if a page failed, came back
 * larger than LIMIT, or the walk did not end within 100 pages. */
static int
token_walk(struct db *db, int usable, int limit, int64_t scan, char *out,
	   size_t size, int *pages)
{
	struct db_token *a = NULL;
	struct mica_err err;
	int64_t before = 0, next;
	size_t n, len = 0;

	out[0] = '\0';
	for (*pages = 1; *pages <= 100; (*pages)++) {
		if (db_token_list(db, usable, NOW, before, limit, scan, &a, &n,
				  &next, &err) != 0 || n > (size_t)limit)
			return -1;
		for (size_t i = 0; i < n; i++)
			len += (size_t)snprintf(out + len, size - len, "%s%s",
						len > 0 ? " " : "", a[i].id);
		db_token_array_free(a, n);
		if (len >= size)
			return -1;
		if (next == 0)
			return 0;
		/* A page goes down, never back. */
		if (before != 0 && next >= before)
			return -1;
		before = next;
	}
	return -1;
}

/* Keyset pages of tokens: every token once, in the order made, whatever
 * the page size; the usable ones apart (the used-up one-use challenges of
 * an MDM left out by the index of schema 020), and a bounded walk ending
 * pages early with a cursor rather than reading every entry. */
static void
test_token_pages(void)
{
	struct db_token t, *a = NULL;
	struct mica_err err;
	struct db *db = fresh(NULL);
	char all[1024], want_all[1024], usable[1024], want_usable[1024];
	char got[1024], id[16];
	int64_t next;
	size_t n, la = 0, lu = 0;
	int pages;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	want_all[0] = want_usable[0] = '\0';
	/* t30 ... t01, newest first: every third used up, every fifth
	 * expired, every seventh revoked; the others usable. */
	for (int i = 1; i <= 30; i++) {
		snprintf(id, sizeof(id), "t%02d", i);
		token_init(&t, id, DB_TOKEN_ENROLL, i % 3 == 0 ? 0 : 1,
			   i % 5 == 0 ? NOW - 1 : 0);
		CU_ASSERT_EQUAL_FATAL(db_token_insert(db, &t, &err), 0);
		if (i % 7 == 0)
			CU_ASSERT_EQUAL_FATAL(db_token_revoke(db, id, &err), 0);
	}
	for (int i = 30; i >= 1; i--) {
		la += (size_t)snprintf(want_all + la, sizeof(want_all) - la,
				       "%st%02d", la > 0 ? " " : "", i);
		if (i % 3 != 0 && i % 5 != 0 && i % 7 != 0)
			lu += (size_t)snprintf(want_usable + lu,
					       sizeof(want_usable) - lu,
					       "%st%02d", lu > 0 ? " " : "", i);
	}
	/* One page, then pages of 7 and of 1: the same rows in the same
	 * order, none repeated or skipped at a page boundary. */
	CU_ASSERT_EQUAL(token_walk(db, 0, 100, 0, all, sizeof(all), &pages), 0);
	CU_ASSERT_STRING_EQUAL(all, want_all);
	CU_ASSERT_EQUAL(pages, 1);
	CU_ASSERT_EQUAL(token_walk(db, 0, 7, 0, got, sizeof(got), &pages), 0);
	CU_ASSERT_STRING_EQUAL(got, want_all);
	CU_ASSERT_EQUAL(pages, 5);
	CU_ASSERT_EQUAL(token_walk(db, 0, 1, 0, got, sizeof(got), &pages), 0);
	CU_ASSERT_STRING_EQUAL(got, want_all);
	CU_ASSERT_EQUAL(pages, 30);
	/* A page of exactly what is left says no more follow. */
	CU_ASSERT_EQUAL(token_walk(db, 0, 10, 0, got, sizeof(got), &pages), 0);
	CU_ASSERT_EQUAL(pages, 3);

	CU_ASSERT_EQUAL(token_walk(db, 1, 100, 0, usable, sizeof(usable),
				   &pages), 0);
	CU_ASSERT_STRING_EQUAL(usable, want_usable);
	CU_ASSERT_EQUAL(token_walk(db, 1, 2, 0, got, sizeof(got), &pages), 0);
	CU_ASSERT_STRING_EQUAL(got, want_usable);
	/* Looking at 4 entries of the index a page: 30 tokens, 20 not used
	 * up, 17 of those not revoked either: five pages, short ones (the
	 * expired tokens among the entries), the same tokens. */
	CU_ASSERT_EQUAL(token_walk(db, 1, 100, 4, got, sizeof(got), &pages), 0);
	CU_ASSERT_STRING_EQUAL(got, want_usable);
	CU_ASSERT_EQUAL(pages, 5);
	/* The first bounded page: t29 t26 t25 t23 looked at (t28 revoked,
	 * t27 used up: not in the index), t25 expired; the next starts
	 * below t23 (row 23). */
	CU_ASSERT_EQUAL_FATAL(db_token_list(db, 1, NOW, 0, 100, 4, &a, &n,
					    &next, &err), 0);
	CU_ASSERT(n == 3 && strcmp(a[0].id, "t29") == 0 &&
		  strcmp(a[1].id, "t26") == 0 && strcmp(a[2].id, "t23") == 0);
	CU_ASSERT_EQUAL(next, 23);
	db_token_array_free(a, n);

	/* A token used up meanwhile leaves the usable listing at once (the
	 * index follows the row). */
	CU_ASSERT_EQUAL(db_token_consume(db, "t29", NOW, &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_token_list(db, 1, NOW, 0, 1, 0, &a, &n,
					    &next, &err), 0);
	CU_ASSERT(n == 1 && strcmp(a[0].id, "t26") == 0);
	CU_ASSERT_EQUAL(next, 26);
	db_token_array_free(a, n);
	db_close(db);
}

/* Walk the ACME accounts (ACCT NULL) or the orders (of ACCT, "" for every
 * account's, ORDERS set) in pages of LIMIT: the ids joined by spaces into
 * OUT (of SIZE), *PAGES the pages it took. -1 if a page failed, came back
 * larger than LIMIT, went back up, or the walk did not end within 100
 * pages. */
static int
acme_walk(struct db *db, int orders, const char *acct, int limit, char *out,
	  size_t size, int *pages)
{
	struct mica_err err;
	int64_t before = 0, next;
	size_t n, len = 0;

	out[0] = '\0';
	for (*pages = 1; *pages <= 100; (*pages)++) {
		struct db_acme_account *a = NULL;
		struct db_acme_order *o = NULL;
		int rc;

		if (orders)
			rc = db_acme_order_list(db, acct[0] != '\0' ? acct : NULL,
						before, limit, &o, &n, &next, &err);
		else
			rc = db_acme_account_list(db, before, limit, &a, &n, &next,
						  &err);
		if (rc != 0 || n > (size_t)limit)
			return -1;
		for (size_t i = 0; i < n; i++)
			len += (size_t)snprintf(out + len, size - len, "%s%s",
						len > 0 ? " " : "",
						orders ? o[i].id : a[i].id);
		db_acme_account_array_free(a, orders ? 0 : n);
		db_acme_order_array_free(o, orders ? n : 0);
		if (len >= size)
			return -1;
		if (next == 0)
			return 0;
		/* A page goes down, never back. */
		if (before != 0 && next >= before)
			return -1;
		before = next;
	}
	return -1;
}

/* Keyset pages of ACME accounts and orders: every row once, newest first
 * in the order made (not the clock's created_at), whatever the page size,
 * an account's orders apart; a negative cursor refused. */
static void
test_acme_pages(void)
{
	struct db_acme_account acc, *a = NULL;
	struct db_acme_order ord;
	struct mica_err err;
	struct db *db = fresh(NULL);
	char got[1024], want[1024], want_a1[512], id[16];
	size_t n, lw, la1;
	int64_t next;
	int pages;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	/* a01 ... a12, a05's clock set back an hour. */
	want[0] = '\0';
	lw = 0;
	for (int i = 1; i <= 12; i++) {
		memset(&acc, 0, sizeof(acc));
		snprintf(acc.id, sizeof(acc.id), "a%02d", i);
		memset(acc.thumbprint, i, sizeof(acc.thumbprint));
		acc.jwk = (char *)"{}";
		acc.created_at = i == 5 ? NOW - 3600 : NOW + i;
		CU_ASSERT_EQUAL_FATAL(db_acme_account_insert(db, &acc, &err), 0);
	}
	for (int i = 12; i >= 1; i--)
		lw += (size_t)snprintf(want + lw, sizeof(want) - lw, "%sa%02d",
				       lw > 0 ? " " : "", i);
	/* One page, then pages of 5 and of 1: the same rows in the same
	 * order, none repeated or skipped at a page boundary. */
	CU_ASSERT_EQUAL(acme_walk(db, 0, NULL, 100, got, sizeof(got), &pages), 0);
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(pages, 1);
	CU_ASSERT_EQUAL(acme_walk(db, 0, NULL, 5, got, sizeof(got), &pages), 0);
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(pages, 3);
	CU_ASSERT_EQUAL(acme_walk(db, 0, NULL, 1, got, sizeof(got), &pages), 0);
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(pages, 12);
	/* A page exactly as long as what is left says no page follows. */
	CU_ASSERT_EQUAL(acme_walk(db, 0, NULL, 6, got, sizeof(got), &pages), 0);
	CU_ASSERT_EQUAL(pages, 2);
	CU_ASSERT_EQUAL(acme_walk(db, 0, NULL, 12, got, sizeof(got), &pages), 0);
	CU_ASSERT_EQUAL(pages, 1);

	/* o01 ... o20, every third a01's, the others a02's. */
	want[0] = want_a1[0] = '\0';
	lw = la1 = 0;
	for (int i = 1; i <= 20; i++) {
		memset(&ord, 0, sizeof(ord));
		snprintf(ord.id, sizeof(ord.id), "o%02d", i);
		snprintf(ord.account_id, sizeof(ord.account_id), "%s",
			 i % 3 == 0 ? "a01" : "a02");
		snprintf(ord.status, sizeof(ord.status), "pending");
		ord.names = (char *)"www.contoso.test";
		ord.profile = (char *)"server";
		ord.created_at = NOW + 20 - i;  /* a clock going backwards */
		ord.expires = NOW + DAY;
		CU_ASSERT_EQUAL_FATAL(db_acme_order_insert(db, &ord, &err), 0);
	}
	for (int i = 20; i >= 1; i--) {
		snprintf(id, sizeof(id), "o%02d", i);
		lw += (size_t)snprintf(want + lw, sizeof(want) - lw, "%s%s",
				       lw > 0 ? " " : "", id);
		if (i % 3 == 0)
			la1 += (size_t)snprintf(want_a1 + la1, sizeof(want_a1) - la1,
						"%s%s", la1 > 0 ? " " : "", id);
	}
	CU_ASSERT_EQUAL(acme_walk(db, 1, "", 100, got, sizeof(got), &pages), 0);
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(pages, 1);
	CU_ASSERT_EQUAL(acme_walk(db, 1, "", 7, got, sizeof(got), &pages), 0);
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(pages, 3);
	CU_ASSERT_EQUAL(acme_walk(db, 1, "a01", 2, got, sizeof(got), &pages), 0);
	CU_ASSERT_STRING_EQUAL(got, want_a1);
	CU_ASSERT_EQUAL(pages, 3);
	CU_ASSERT_EQUAL(acme_walk(db, 1, "a03", 2, got, sizeof(got), &pages), 0);
	CU_ASSERT_STRING_EQUAL(got, "");
	/* One account's orders are read in order from its index, without a
	 * sort: each ACME issuance reads them in its write transaction. */
	{
		char plan[1024];

		eqp(db, S_ACME_ORDER_LIST_ACCT, plan, sizeof(plan));
		if (strstr(plan, "TEMP B-TREE") != NULL)
			fprintf(stderr, "\n  plan %s\n", plan);
		CU_ASSERT_PTR_NOT_NULL(strstr(plan, "acme_order_by_account (account_id=? AND rowid<?)"));
		CU_ASSERT_PTR_NULL(strstr(plan, "TEMP B-TREE"));
	}

	/* No NEXT_ROW wanted: the first page alone; a negative cursor is
	 * no cursor. */
	CU_ASSERT_EQUAL_FATAL(db_acme_account_list(db, 0, 3, &a, &n, NULL, &err), 0);
	CU_ASSERT(n == 3 && strcmp(a[0].id, "a12") == 0);
	db_acme_account_array_free(a, n);
	CU_ASSERT_EQUAL(db_acme_account_list(db, -1, 3, &a, &n, &next, &err), -1);
	CU_ASSERT_EQUAL(db_acme_order_list(db, NULL, -1, 3, NULL, &n, &next, &err), -1);
	db_close(db);
}

struct racer {
	const char *path;
	const char *token;
	pthread_barrier_t *start;
	int result;
	mica_errkind kind;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct mica_err err;
	struct db *db = NULL;

	r->result = -2;
	if (db_open(r->path, 0, &db, &err) != 0) {
		pthread_barrier_wait(r->start);
		return NULL;
	}
	pthread_barrier_wait(r->start);
	r->result = db_token_consume(db, r->token, NOW, &err);
	r->kind = r->result == 0 ? MICA_E_NONE : err.kind;
	db_close(db);
	return NULL;
}

static void
test_token_race(void)
{
	enum { ROUNDS = 20, THREADS = 4 };
	struct db_token t;
	struct mica_err err;
	struct racer rc[THREADS];
	pthread_t th[THREADS];
	pthread_barrier_t start;
	struct db *db;
	char path[128], id[16];

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	for (int r = 0; r < ROUNDS; r++) {
		snprintf(id, sizeof(id), "race%d", r);
		token_init(&t, id, DB_TOKEN_ENROLL, 1, 0);
		CU_ASSERT_EQUAL_FATAL(db_token_insert(db, &t, &err), 0);
	}
	db_close(db);

	for (int r = 0; r < ROUNDS; r++) {
		int wins = 0, exhausted = 0;

		snprintf(id, sizeof(id), "race%d", r);
		pthread_barrier_init(&start, NULL, THREADS);
		for (int i = 0; i < THREADS; i++) {
			rc[i] = (struct racer){ path, id, &start, -2, MICA_E_NONE };
			CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, race,
							     &rc[i]), 0);
		}
		for (int i = 0; i < THREADS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&start);
		for (int i = 0; i < THREADS; i++) {
			wins += rc[i].result == 0;
			exhausted += rc[i].result == -1 &&
				     rc[i].kind == MICA_E_FORBIDDEN;
		}
		CU_ASSERT_EQUAL(wins, 1);
		CU_ASSERT_EQUAL(exhausted, THREADS - 1);
	}
}

/* ------------------------------------------------------------------ */
/* Audit                                                               */
/* ------------------------------------------------------------------ */

static void
test_audit(void)
{
	struct db_audit *a = NULL;
	struct mica_err err;
	struct db *db;
	char path[128], target[16];
	size_t n = 0;
	int64_t before;

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	for (int i = 0; i < 10; i++) {
		snprintf(target, sizeof(target), "t%d", i);
		CU_ASSERT_EQUAL(db_audit_add(db, NOW + i, i % 2 ? "cli" : "admin:x",
					     "issue", target,
					     i == 3 ? NULL : "ok", &err), 0);
	}
	CU_ASSERT_EQUAL(db_audit_add(db, NOW, NULL, "issue", NULL, NULL, &err), -1);
	CU_ASSERT_EQUAL(db_audit_add(db, NOW, "cli", "", NULL, NULL, &err), -1);

	CU_ASSERT_EQUAL_FATAL(db_audit_list(db, 0, 0, 100, &a, &n, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 10);
	CU_ASSERT_STRING_EQUAL(a[0].target, "t9");
	CU_ASSERT_EQUAL(a[0].at, NOW + 9);
	CU_ASSERT_STRING_EQUAL(a[0].actor, "cli");
	CU_ASSERT_STRING_EQUAL(a[9].target, "t0");
	CU_ASSERT_PTR_NULL(a[6].detail);      /* t3 */
	for (size_t i = 1; i < n; i++)
		CU_ASSERT(a[i].id < a[i - 1].id);
	db_audit_array_free(a, n);

	/* since: only at >= NOW + 6; limit 3. */
	CU_ASSERT_EQUAL_FATAL(db_audit_list(db, NOW + 6, 0, 100, &a, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 4);
	db_audit_array_free(a, n);
	CU_ASSERT_EQUAL_FATAL(db_audit_list(db, 0, 0, 3, &a, &n, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(a[2].target, "t7");
	before = a[2].id;
	db_audit_array_free(a, n);
	/* before_id pages on. */
	CU_ASSERT_EQUAL_FATAL(db_audit_list(db, 0, before, 3, &a, &n, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(a[0].target, "t6");
	db_audit_array_free(a, n);
	/* Limit clamped: 0 -> 1. */
	CU_ASSERT_EQUAL_FATAL(db_audit_list(db, 0, 0, 0, &a, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 1);
	db_audit_array_free(a, n);
	db_audit_array_free(NULL, 0);
	db_close(db);

	/* Append-only, even for someone using SQLite directly. */
	CU_ASSERT_NOT_EQUAL(raw_exec(path, "UPDATE audit SET actor = 'x'"), SQLITE_OK);
	CU_ASSERT_NOT_EQUAL(raw_exec(path, "DELETE FROM audit"), SQLITE_OK);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM audit"), 10);
}

static void
test_schema_protects_issued(void)
{
	struct db *db;
	char path[128];

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(add_valid(db, "01", "a.test", NOW + DAY), 0);
	db_close(db);
	CU_ASSERT_NOT_EQUAL(raw_exec(path, "DELETE FROM certificate"), SQLITE_OK);
	CU_ASSERT_NOT_EQUAL(raw_exec(path, "UPDATE certificate SET der = x'00'"),
			    SQLITE_OK);
	CU_ASSERT_NOT_EQUAL(raw_exec(path, "UPDATE certificate SET serial = '02'"),
			    SQLITE_OK);
	CU_ASSERT_NOT_EQUAL(raw_exec(path, "UPDATE certificate SET status = 0"),
			    SQLITE_OK);
	CU_ASSERT_NOT_EQUAL(raw_exec(path, "UPDATE certificate SET status = 2, "
					   "reason = 7"), SQLITE_OK);
	CU_ASSERT_NOT_EQUAL(raw_exec(path, "UPDATE certificate SET serial = 'AB'"),
			    SQLITE_OK);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM certificate "
				      "WHERE status = 1 AND der IS NOT NULL"), 1);
}

/* ------------------------------------------------------------------ */
/* Transactions, backup, integrity, faults                             */
/* ------------------------------------------------------------------ */

static void
test_transactions(void)
{
	struct db_counts c;
	struct mica_err err;
	struct db *db = fresh(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	/* Rollback leaves nothing. */
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	CU_ASSERT_EQUAL(db_begin(db, &err), -1);   /* no nesting */
	CU_ASSERT_EQUAL(add_valid(db, "01", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "01", 1, NOW, &err), 0);
	CU_ASSERT_EQUAL(db_audit_add(db, NOW, "cli", "revoke", "01", NULL, &err), 0);
	CU_ASSERT_EQUAL(db_domain_add(db, "k.test", &err), 0);
	db_rollback(db);
	db_rollback(db);   /* no-op outside a transaction */
	db_rollback(NULL);
	CU_ASSERT_EQUAL(cert_status(db, "01"), -1);
	CU_ASSERT_EQUAL(has_domain(db, "k.test"), 0);
	CU_ASSERT_EQUAL(db_counts(db, NOW, &c, &err), 0);
	CU_ASSERT(c.valid == 0 && c.revoked == 0);

	/* Commit keeps everything. */
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	CU_ASSERT_EQUAL(add_valid(db, "02", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(db_domain_add(db, "k.test", &err), 0);
	CU_ASSERT_EQUAL(db_commit(db, &err), 0);
	CU_ASSERT_EQUAL(cert_status(db, "02"), DB_CERT_VALID);
	CU_ASSERT_EQUAL(has_domain(db, "k.test"), 1);
	CU_ASSERT_EQUAL(db_commit(db, &err), -1);   /* nothing open */

	/* A failed write inside a transaction undoes only itself. */
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	CU_ASSERT_EQUAL(add_valid(db, "03", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(add_valid(db, "03", "b.test", NOW + DAY), -1);
	CU_ASSERT_EQUAL(db_commit(db, &err), 0);
	CU_ASSERT_EQUAL(cert_status(db, "03"), DB_CERT_VALID);
	db_close(db);
}

/* Checks that could not run in this build (no fault hook): main then exits
 * 77 (automake's SKIP) rather than 0, since a skipped check is not a passed
 * one. scripts/test builds the hook in. */
static unsigned int skipped;

static void
test_fault_injection(void)
{
#ifdef MICA_FAULT_INJECTION
	struct db_audit *a = NULL;
	struct mica_err err;
	struct db *db = fresh(NULL);
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	/* Every write function refuses when "db_write" fires. */
	setenv("MICA_FAULT", "db_write:0", 1);
	mica_fault_reset();
	CU_ASSERT_EQUAL(db_audit_add(db, NOW, "cli", "x", NULL, NULL, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
	CU_ASSERT_STRING_EQUAL(err.code, "store_unavailable");
	CU_ASSERT_EQUAL(add_valid(db, "01", "a.test", NOW + DAY), -1);
	CU_ASSERT_EQUAL(db_profile_set_days(db, "server", 1, 2, &err), -1);
	CU_ASSERT_EQUAL(db_domain_add(db, "a.test", &err), -1);
	CU_ASSERT_EQUAL(db_token_consume(db, "x", NOW, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
	unsetenv("MICA_FAULT");
	mica_fault_reset();
	CU_ASSERT_EQUAL(cert_status(db, "01"), -1);

	/* A certificate is handed out only once the WAL is synced. */
	{
		struct db_cert c;

		CU_ASSERT_EQUAL(add_valid(db, "02", "b.test", NOW + DAY), 0);
		setenv("MICA_FAULT", "db_sync:1", 1);
		mica_fault_reset();
		CU_ASSERT_EQUAL(db_cert_get(db, "02", &c, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
		CU_ASSERT_PTR_NULL(c.der);
		CU_ASSERT_EQUAL(db_cert_get(db, "02", &c, &err), 0);
		CU_ASSERT_PTR_NOT_NULL(c.der);
		db_cert_free(&c);
		unsetenv("MICA_FAULT");
		mica_fault_reset();
	}

	/* The second write of a transaction fails: the caller rolls back and
	 * nothing of the first remains. */
	setenv("MICA_FAULT", "db_write:2", 1);
	mica_fault_reset();
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	CU_ASSERT_EQUAL(db_audit_add(db, NOW, "cli", "one", NULL, NULL, &err), 0);
	CU_ASSERT_EQUAL(db_audit_add(db, NOW, "cli", "two", NULL, NULL, &err), -1);
	db_rollback(db);
	unsetenv("MICA_FAULT");
	mica_fault_reset();
	CU_ASSERT_EQUAL(db_audit_list(db, 0, 0, 10, &a, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	db_audit_array_free(a, n);

	/* The commit fails: rolled back, reported unavailable, no
	 * transaction left open. */
	setenv("MICA_FAULT", "db_commit:1", 1);
	mica_fault_reset();
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	CU_ASSERT_EQUAL(db_audit_add(db, NOW, "cli", "one", NULL, NULL, &err), 0);
	CU_ASSERT_EQUAL(db_commit(db, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
	CU_ASSERT_STRING_EQUAL(err.code, "store_unavailable");
	unsetenv("MICA_FAULT");
	mica_fault_reset();
	CU_ASSERT_EQUAL(db_audit_list(db, 0, 0, 10, &a, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	db_audit_array_free(a, n);
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);   /* none was left open */
	CU_ASSERT_EQUAL(db_commit(db, &err), 0);
	db_close(db);
#else
	printf("\n    SKIP: built without --enable-fault-injection ");
	skipped++;
#endif
}

/* Put CRL NUMBER of LEN octets (a pattern from SEED) beside the store and
 * record it. Returns what db_crl_body_put set body_put to, or -1. */
static int
put_crl(struct db *db, int64_t number, unsigned char *buf, size_t len,
	unsigned seed, int record)
{
	struct db_crl crl;
	struct mica_err err;

	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)((i + seed) * 2654435761u >> 13);
	memset(&crl, 0, sizeof(crl));
	crl.number = number;
	crl.this_update = NOW;
	crl.next_update = NOW + DAY;
	crl.der = buf;
	crl.der_len = len;
	if (db_crl_body_put(db, &crl, &err) != 0)
		return -1;
	if (record && db_crl_insert(db, &crl, &err) != 0)
		return -1;
	return crl.body_put;
}

/* Whether this process holds an SQLite temporary file open ("etilqs_",
 * unlinked as soon as it is made). */
static int
holds_sqlite_temp_file(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char p[300], to[PATH_MAX];
	int found = 0;
	ssize_t n;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		snprintf(p, sizeof(p), "/proc/self/fd/%s", de->d_name);
		if ((n = readlink(p, to, sizeof(to) - 1)) > 0) {
			to[n] = '\0';
			if (strstr(to, "etilqs_") != NULL)
				found = 1;
		}
	}
	closedir(d);
	return found;
}

/* A transaction of the group commit changes pages under SAVEPOINT
 * mica_job, and SQLite keeps their originals in a statement journal,
 * which it moved into a temporary file past 64 KiB (a file created and
 * unlinked per batch of a few issuances). db_open raises that bound:
 * some 400 KiB of changed pages under a savepoint stay in memory. */
static void
test_statement_journal_in_memory(void)
{
	struct db *db;
	char path[128];

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(db->h,
		"BEGIN;"
		"CREATE TABLE scratch (x BLOB);"
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
		"WHERE i < 200) INSERT INTO scratch SELECT zeroblob(2000) FROM n;"
		"SAVEPOINT a;"
		"UPDATE scratch SET x = randomblob(2000);",
		NULL, NULL, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL(holds_sqlite_temp_file(), 0);
	CU_ASSERT_EQUAL(sqlite3_exec(db->h, "ROLLBACK TO a; RELEASE a; ROLLBACK;",
				     NULL, NULL, NULL), SQLITE_OK);
	db_close(db);
}

static void
test_crl_bodies(void)
{
	enum { LEN = 100000 };
	struct db_crl got;
	struct mica_err err;
	struct db *db, *copy = NULL, *mem = NULL;
	unsigned char *buf = malloc(LEN), *want = malloc(LEN);
	char path[128], dest[128], f[200], g[210];
	FILE *fp;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);

	/* Written beside the store, synced, private; the row keeps no bytes. */
	CU_ASSERT_EQUAL(put_crl(db, 1, buf, LEN, 1, 1), 1);
	memcpy(want, buf, LEN);
	snprintf(f, sizeof(f), "%s-crls/1.crl", path);
	CU_ASSERT(exists(f));
	CU_ASSERT_EQUAL(mode_of(f), 0600);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT der IS NULL AND body_len = 100000 "
				"AND length(body_sha256) = 32 FROM crl WHERE number = 1"), 1);
	CU_ASSERT_EQUAL_FATAL(db_crl_latest(db, &got, &err), 0);
	CU_ASSERT(got.number == 1 && got.der_len == LEN &&
		  memcmp(got.der, want, LEN) == 0);
	db_crl_free(&got);

	/* One octet changed, or the file gone: refused, saying what to do. */
	fp = fopen(f, "r+b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fseek(fp, 5000, SEEK_SET);
	fputc(want[5000] ^ 1, fp);
	fclose(fp);
	CU_ASSERT_EQUAL(db_crl_latest(db, &got, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "crl_body_damaged");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "mica crl"));
	CU_ASSERT_PTR_NULL(got.der);
	snprintf(g, sizeof(g), "%s.moved", f);
	CU_ASSERT_EQUAL(rename(f, g), 0);
	CU_ASSERT_EQUAL(db_crl_latest(db, &got, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "crl_body_damaged");
	fp = fopen(g, "r+b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fseek(fp, 5000, SEEK_SET);
	fputc(want[5000], fp);
	fclose(fp);
	CU_ASSERT_EQUAL(rename(g, f), 0);
	CU_ASSERT_EQUAL(db_crl_latest(db, &got, &err), 0);
	db_crl_free(&got);
	/* Out of descriptors is not damage: "unreadable", try again (the
	 * daemon then serves the CRL it has, not a new one). */
	{
		struct rlimit was, low;
		int fd = dup(0);

		CU_ASSERT_FATAL(fd >= 0);
		close(fd);
		CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_NOFILE, &was), 0);
		low = was;
		low.rlim_cur = (rlim_t)fd;   /* the lowest free number: none left */
		CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_NOFILE, &low), 0);
		CU_ASSERT_EQUAL(db_crl_latest(db, &got, &err), -1);
		CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_NOFILE, &was), 0);
		CU_ASSERT_STRING_EQUAL(err.code, "crl_body_unreadable");
		CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
		CU_ASSERT_PTR_NULL(got.der);
		CU_ASSERT_EQUAL(db_crl_latest(db, &got, &err), 0);
		db_crl_free(&got);
	}
	/* The number and dates need no body. */
	CU_ASSERT_EQUAL(db_crl_latest_info(db, &got, &err), 0);
	CU_ASSERT(got.number == 1 && got.der == NULL);

	/* A second body for a number that has one is not written over it:
	 * the CRL goes into the row (here, refused as a number used twice). */
	CU_ASSERT_EQUAL(put_crl(db, 1, buf, LEN, 7, 0), 0);
	CU_ASSERT_EQUAL(db_crl_latest(db, &got, &err), 0);
	CU_ASSERT(got.der_len == LEN && memcmp(got.der, want, LEN) == 0);
	db_crl_free(&got);

	/* Each key keeps its two newest complete CRLs' bodies; older ones,
	 * and any never recorded (a crash, a lost race) at or below the
	 * highest number, go when the next body is written. */
	CU_ASSERT_EQUAL(put_crl(db, 2, buf, LEN, 2, 1), 1);
	CU_ASSERT_EQUAL(put_crl(db, 4, buf, LEN, 4, 0), 1);   /* never recorded */
	CU_ASSERT_EQUAL(put_crl(db, 5, buf, LEN, 5, 1), 1);
	CU_ASSERT_EQUAL(put_crl(db, 6, buf, LEN, 6, 1), 1);
	memcpy(want, buf, LEN);
	for (int i = 1; i <= 6; i++) {
		snprintf(f, sizeof(f), "%s-crls/%d.crl", path, i);
		CU_ASSERT_EQUAL(exists(f), i == 2 || i == 5 || i == 6);
	}
	/* Temporary bodies of a recorded number: one a crash left an hour
	 * ago goes; one being written now (another publisher's, whose
	 * number was taken meanwhile) stays for it to finish. */
	{
		struct timespec ts[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };

		snprintf(f, sizeof(f), "%s-crls/3.crl.AbCdEf.tmp", path);
		fp = fopen(f, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
		fclose(fp);
		CU_ASSERT_EQUAL(utimensat(AT_FDCWD, f, ts, 0), 0);
		snprintf(g, sizeof(g), "%s-crls/5.crl.GhIjKl.tmp", path);
		fp = fopen(g, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
		fclose(fp);
	}
	CU_ASSERT_EQUAL(put_crl(db, 7, buf, LEN, 7, 0), 1);   /* 2 goes */
	CU_ASSERT(!exists(f));
	CU_ASSERT(exists(g));
	unlink(g);
	snprintf(f, sizeof(f), "%s-crls/2.crl", path);
	CU_ASSERT(!exists(f));
	snprintf(f, sizeof(f), "%s-crls/7.crl", path);
	CU_ASSERT(exists(f));   /* above the highest recorded: being written */

	/* A backup stands alone: the newest body is back in its row. */
	new_path(dest, "crlbackup");
	CU_ASSERT_EQUAL_FATAL(db_backup(db, dest, &err), 0);
	CU_ASSERT_EQUAL(raw_int(dest, "SELECT der IS NOT NULL AND body_len IS NULL "
				"FROM crl WHERE number = 6"), 1);
	CU_ASSERT_EQUAL_FATAL(db_open(dest, 0, &copy, &err), 0);
	CU_ASSERT_EQUAL(db_integrity_check(copy, &err), 0);
	CU_ASSERT_EQUAL_FATAL(db_crl_latest(copy, &got, &err), 0);
	CU_ASSERT(got.number == 6 && got.der_len == LEN &&
		  memcmp(got.der, want, LEN) == 0);
	db_crl_free(&got);
	db_close(copy);
	/* ... and is refused, leaving nothing, when that body is missing. */
	snprintf(f, sizeof(f), "%s-crls/6.crl", path);
	snprintf(g, sizeof(g), "%s.moved", f);
	CU_ASSERT_EQUAL(rename(f, g), 0);
	new_path(dest, "crlbackup");
	CU_ASSERT_EQUAL(db_backup(db, dest, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "crl_body_damaged");
	CU_ASSERT(!exists(dest));
	CU_ASSERT_EQUAL(rename(g, f), 0);

	/* A body of megabytes (a CRL of some 200,000 entries and up) is
	 * hashed on a thread while it is written, and read back into a
	 * buffer populated at once: reading it checks the file against the
	 * row's SHA-256, so the row has the true one; a changed octet near
	 * its end is still caught. */
	{
		size_t big = (size_t)9 << 20;
		unsigned char *b = malloc(big);

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(put_crl(db, 8, b, big, 8, 1), 1);
		CU_ASSERT_EQUAL(db_crl_latest(db, &got, &err), 0);
		CU_ASSERT(got.number == 8 && got.der_len == big &&
			  got.der != NULL && memcmp(got.der, b, big) == 0);
		db_crl_free(&got);
		snprintf(f, sizeof(f), "%s-crls/8.crl", path);
		fp = fopen(f, "r+b");
		CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
		fseek(fp, (long)big - 3, SEEK_SET);
		fputc(b[big - 3] ^ 0x40, fp);
		fclose(fp);
		CU_ASSERT_EQUAL(db_crl_latest(db, &got, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "crl_body_damaged");
		free(b);
	}
	db_close(db);

	/* A store in memory keeps bodies in its rows. */
	CU_ASSERT_EQUAL_FATAL(db_open(":memory:", DB_OPEN_CREATE, &mem, &err), 0);
	CU_ASSERT_EQUAL(put_crl(mem, 1, buf, 100, 1, 1), 0);
	CU_ASSERT_EQUAL(db_crl_latest(mem, &got, &err), 0);
	CU_ASSERT(got.der_len == 100 && memcmp(got.der, buf, 100) == 0);
	db_crl_free(&got);
	db_close(mem);
	free(buf);
	free(want);
}

static void
test_backup(void)
{
	struct db_cert got;
	struct db_audit *a = NULL;
	struct mica_err err;
	struct db *db, *copy = NULL;
	char path[128], dest[128], dest2[128], s[160];
	size_t n = 0;
	int fd;

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(add_valid(db, "01", "a.test", NOW + DAY), 0);
	CU_ASSERT_EQUAL(db_cert_revoke(db, "01", 1, NOW, &err), 0);
	CU_ASSERT_EQUAL(db_audit_add(db, NOW, "cli", "revoke", "01", NULL, &err), 0);

	new_path(dest, "backup");
	CU_ASSERT_EQUAL_FATAL(db_backup(db, dest, &err), 0);
	CU_ASSERT_EQUAL(mode_of(dest), 0600);
	/* Never over an existing file. */
	CU_ASSERT_EQUAL(db_backup(db, dest, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT(exists(dest));
	/* A hot journal next to the destination would be rolled into the
	 * fresh copy: refused. */
	new_path(dest2, "journal");
	fd = open(side(s, dest2, "-journal"), O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(db_backup(db, dest2, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT(!exists(dest2));
	/* Into a directory that does not exist: refused, nothing left. */
	CU_ASSERT_EQUAL(db_backup(db, "/nonexistent-mica-dir/b.db", &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
	db_close(db);

	CU_ASSERT_EQUAL_FATAL(db_open(dest, 0, &copy, &err), 0);
	CU_ASSERT_EQUAL(db_integrity_check(copy, &err), 0);
	CU_ASSERT_EQUAL(db_schema_version(copy), db_schema_version_builtin());
	CU_ASSERT_EQUAL_FATAL(db_cert_get(copy, "01", &got, &err), 0);
	CU_ASSERT(got.status == DB_CERT_REVOKED && got.der_len == sizeof(DER));
	db_cert_free(&got);
	CU_ASSERT_EQUAL(db_audit_list(copy, 0, 0, 10, &a, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 1);
	db_audit_array_free(a, n);
	db_close(copy);
}

struct writer {
	const char *path;
	atomic_int stop, written, failed;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct mica_err err;
	struct db *db = NULL;

	if (db_open(w->path, 0, &db, &err) != 0) {
		w->failed = 1;
		return NULL;
	}
	while (!w->stop && w->written < 100000) {
		if (db_audit_add(db, NOW, "cli", "load", NULL, "x", &err) != 0) {
			w->failed++;
			break;
		}
		w->written++;
	}
	db_close(db);
	return NULL;
}

/* Wait (polling, at most 60 s: a busy machine) until W has written more
 * than N rows, failed, or finished; 0 once it has written more than N. */
static int
wait_written(struct writer *w, int n)
{
	struct timespec tick = { 0, 1000 * 1000 };

	for (int i = 0; i < 60 * 1000; i++) {
		if (w->written > n)
			return 0;
		if (w->failed || w->written >= 100000)
			break;
		nanosleep(&tick, NULL);
	}
	return -1;
}

static void
test_backup_while_writing(void)
{
	struct writer w;
	struct mica_err err;
	struct db *db, *copy = NULL;
	pthread_t th;
	char path[128], dest[128];
	int64_t rows;
	int before;

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	for (int i = 0; i < 200; i++)
		CU_ASSERT_EQUAL(db_audit_add(db, NOW, "cli", "seed", NULL, NULL, &err), 0);
	memset(&w, 0, sizeof(w));
	w.path = path;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, writer_main, &w), 0);
	/* The writer is going before the backup starts, and goes on after it
	 * (conditions with a deadline, not a pause that must be long enough). */
	CU_ASSERT_EQUAL(wait_written(&w, 0), 0);
	before = w.written;
	new_path(dest, "hot");
	CU_ASSERT_EQUAL(db_backup(db, dest, &err), 0);
	CU_ASSERT_EQUAL(wait_written(&w, before), 0);   /* writes went on */
	w.stop = 1;
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(w.failed, 0);
	db_close(db);

	CU_ASSERT_EQUAL_FATAL(db_open(dest, 0, &copy, &err), 0);
	CU_ASSERT_EQUAL(db_integrity_check(copy, &err), 0);
	db_close(copy);
	rows = raw_int(dest, "SELECT count(*) FROM audit");
	CU_ASSERT(rows >= 200 && rows <= 200 + w.written);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM audit"),
			200 + w.written);
}

static void
test_integrity_check(void)
{
	struct mica_err err;
	struct db *db;
	char path[128];

	db = fresh(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(db_integrity_check(db, &err), 0);
	db_close(db);
	/* A dangling reference (written behind the store's back with
	 * foreign keys off) fails the check. */
	{
		sqlite3 *h = NULL;
		CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &h), SQLITE_OK);
		CU_ASSERT_EQUAL(sqlite3_exec(h,
			"INSERT INTO certificate (serial, profile, request_id, "
			"not_before, not_after, spki_sha256, created_at) VALUES "
			"('01', 'p', 'ghost', 0, 1, zeroblob(32), 0)",
			NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(h);
	}
	db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	CU_ASSERT_EQUAL(db_integrity_check(db, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_INTERNAL);
	CU_ASSERT_STRING_EQUAL(err.code, "store_corrupt");
	db_close(db);
}

/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* Transaction bodies and the batching writer                         */
/* ------------------------------------------------------------------ */

struct wbody {
	const char *path;          /* the database file, for outside looks */
	const char *domain;        /* added by the body */
	const char *other;         /* the batch partner's domain, or NULL */
	const char *second;        /* add this too, then fail (or NULL) */
	struct db *ran_on;         /* the connection the body was given */
	int saw_partner;           /* partner's row visible inside the body */
	int partner_outside;       /* count of it seen by another connection */
	atomic_int *hold;          /* spin while nonzero (holds the writer) */
};

static int
wbody_fn(struct db *db, void *arg, struct mica_err *err)
{
	struct wbody *b = arg;

	b->ran_on = db;
	while (b->hold != NULL && atomic_load(b->hold))
		usleep(1000);
	if (db_domain_add(db, b->domain, err) != 0)
		return -1;
	if (b->other != NULL && has_domain(db, b->other) == 1) {
		char q[160];

		b->saw_partner = 1;
		snprintf(q, sizeof(q), "SELECT count(*) FROM ca_domain WHERE domain = '%s'",
			 b->other);
		b->partner_outside = (int)raw_int(b->path, q);
	}
	if (b->second != NULL) {
		if (db_domain_add(db, b->second, err) != 0)
			return -1;
		/* A duplicate: the store refuses it, the body fails. */
		return db_domain_add(db, b->second, err);
	}
	return 0;
}

struct wcall {
	struct db_writer *w;
	struct wbody *b;
	int flags;
	int rc;
	struct mica_err err;
	atomic_int *queued;
};

static void *
wcall_main(void *arg)
{
	struct wcall *c = arg;

	atomic_fetch_add(c->queued, 1);
	c->rc = db_run_tx(c->w, NULL, c->flags, wbody_fn, c->b, &c->err);
	return NULL;
}

static void
test_writer_batches(void)
{
	char path[128];
	struct db *db = fresh(path);
	struct db_writer *w = NULL;
	struct mica_err err;
	atomic_int hold = 1, queued = 0;
	struct wbody b0 = { .path = path, .domain = "zero.test", .hold = &hold };
	struct wbody b1 = { .path = path, .domain = "one.test", .other = "two.test" };
	struct wbody b2 = { .path = path, .domain = "two.test", .other = "one.test" };
	struct wcall c0 = { .b = &b0, .flags = DB_TX_DURABLE, .queued = &queued };
	struct wcall c1 = { .b = &b1, .flags = DB_TX_DURABLE, .queued = &queued };
	struct wcall c2 = { .b = &b2, .flags = 0, .queued = &queued };
	pthread_t t0, t1, t2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL_FATAL(db_writer_open(path, &w, &err), 0);
	c0.w = c1.w = c2.w = w;
	/* b0 holds the writer, so b1 and b2 queue up behind it and run as
	 * the next batch: one transaction, seen from inside and outside. */
	pthread_create(&t0, NULL, wcall_main, &c0);
	while (atomic_load(&queued) < 1)
		usleep(1000);
	usleep(20000);
	pthread_create(&t1, NULL, wcall_main, &c1);
	pthread_create(&t2, NULL, wcall_main, &c2);
	while (atomic_load(&queued) < 3)
		usleep(1000);
	usleep(200000);  /* let both reach the queue */
	atomic_store(&hold, 0);
	pthread_join(t0, NULL);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CU_ASSERT_EQUAL(c0.rc, 0);
	CU_ASSERT_EQUAL(c1.rc, 0);
	CU_ASSERT_EQUAL(c2.rc, 0);
	/* Bodies run on the writer's connection, not the caller's. */
	CU_ASSERT_PTR_NOT_NULL(b0.ran_on);
	CU_ASSERT_PTR_EQUAL(b0.ran_on, b1.ran_on);
	CU_ASSERT_PTR_EQUAL(b1.ran_on, b2.ran_on);
	CU_ASSERT_PTR_NOT_EQUAL(b0.ran_on, db);
	/* The later of the two saw the earlier one's row in its own
	 * transaction while no other connection could: one batch. */
	CU_ASSERT_EQUAL(b1.saw_partner + b2.saw_partner, 1);
	CU_ASSERT_EQUAL(b1.partner_outside + b2.partner_outside, 0);
	db_writer_close(w);
	/* Everything is committed, durable or not, once the calls return. */
	CU_ASSERT_EQUAL(has_domain(db, "zero.test"), 1);
	CU_ASSERT_EQUAL(has_domain(db, "one.test"), 1);
	CU_ASSERT_EQUAL(has_domain(db, "two.test"), 1);
	CU_ASSERT_EQUAL(db_integrity_check(db, &err), 0);
	db_close(db);
}

static void
test_writer_isolates_failures(void)
{
	char path[128];
	struct db *db = fresh(path);
	struct db_writer *w = NULL;
	struct mica_err err;
	atomic_int hold = 1, queued = 0;
	struct wbody b0 = { .path = path, .domain = "hold.test", .hold = &hold };
	struct wbody good = { .path = path, .domain = "good.test" };
	struct wbody bad = { .path = path, .domain = "bad.test", .second = "bad2.test" };
	struct wcall c0 = { .b = &b0, .flags = DB_TX_DURABLE, .queued = &queued };
	struct wcall cg = { .b = &good, .flags = DB_TX_DURABLE, .queued = &queued };
	struct wcall cb = { .b = &bad, .flags = DB_TX_DURABLE, .queued = &queued };
	pthread_t t0, tg, tb;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL_FATAL(db_writer_open(path, &w, &err), 0);
	c0.w = cg.w = cb.w = w;
	pthread_create(&t0, NULL, wcall_main, &c0);
	while (atomic_load(&queued) < 1)
		usleep(1000);
	usleep(20000);
	pthread_create(&tb, NULL, wcall_main, &cb);
	pthread_create(&tg, NULL, wcall_main, &cg);
	while (atomic_load(&queued) < 3)
		usleep(1000);
	usleep(200000);
	atomic_store(&hold, 0);
	pthread_join(t0, NULL);
	pthread_join(tb, NULL);
	pthread_join(tg, NULL);
	/* The failing body gets its own error and leaves nothing; its batch
	 * partners commit. */
	CU_ASSERT_EQUAL(c0.rc, 0);
	CU_ASSERT_EQUAL(cg.rc, 0);
	CU_ASSERT_EQUAL(cb.rc, -1);
	CU_ASSERT_EQUAL(cb.err.kind, MICA_E_CONFLICT);
	CU_ASSERT_EQUAL(has_domain(db, "hold.test"), 1);
	CU_ASSERT_EQUAL(has_domain(db, "good.test"), 1);
	CU_ASSERT_EQUAL(has_domain(db, "bad.test"), 0);
	CU_ASSERT_EQUAL(has_domain(db, "bad2.test"), 0);

#ifdef MICA_FAULT_INJECTION
	/* A failing commit fails the whole batch, and the writer goes on. */
	{
		struct wbody f = { .path = path, .domain = "commit.test" };
		struct wbody n = { .path = path, .domain = "next.test" };

		setenv("MICA_FAULT", "db_commit:1", 1);
		mica_fault_reset();
		CU_ASSERT_EQUAL(db_run_tx(w, NULL, DB_TX_DURABLE, wbody_fn, &f, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
		CU_ASSERT_EQUAL(db_run_tx(w, NULL, DB_TX_DURABLE, wbody_fn, &n, &err), 0);
		unsetenv("MICA_FAULT");
		mica_fault_reset();
		CU_ASSERT_EQUAL(has_domain(db, "commit.test"), 0);
		CU_ASSERT_EQUAL(has_domain(db, "next.test"), 1);
	}
	/* A failing WAL sync: the durable caller is told the store failed
	 * (its rows are committed but not known to be on disk, so it must
	 * hand nothing out); a non-durable one never waits for the sync. From
	 * then on the writer refuses everything, even once the disk answers
	 * again, until it is reopened. */
	{
		struct wbody r = { .path = path, .domain = "relaxed.test" };
		struct wbody d = { .path = path, .domain = "sync.test" };
		struct wbody a = { .path = path, .domain = "after.test" };
		struct wbody x = { .path = path, .domain = "reopened.test" };

		setenv("MICA_FAULT", "db_sync:0", 1);
		mica_fault_reset();
		CU_ASSERT_EQUAL(db_run_tx(w, NULL, 0, wbody_fn, &r, &err), 0);
		CU_ASSERT_EQUAL(db_run_tx(w, NULL, DB_TX_DURABLE, wbody_fn, &d, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
		unsetenv("MICA_FAULT");
		mica_fault_reset();
		CU_ASSERT_EQUAL(db_run_tx(w, NULL, DB_TX_DURABLE, wbody_fn, &a, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
		CU_ASSERT_EQUAL(db_run_tx(w, NULL, 0, wbody_fn, &a, &err), -1);
		CU_ASSERT_EQUAL(has_domain(db, "relaxed.test"), 1);
		CU_ASSERT_EQUAL(has_domain(db, "after.test"), 0);
		db_writer_close(w);
		w = NULL;
		CU_ASSERT_EQUAL_FATAL(db_writer_open(path, &w, &err), 0);
		CU_ASSERT_EQUAL(db_run_tx(w, NULL, DB_TX_DURABLE, wbody_fn, &x, &err), 0);
		CU_ASSERT_EQUAL(has_domain(db, "reopened.test"), 1);
	}
#else
	printf("\n    SKIP: failing commits and syncs need --enable-fault-injection ");
	skipped++;
#endif
	db_writer_close(w);
	db_close(db);
}

/* A writer that finds the lock taken by another connection (the command
 * line beside the daemon) waits for it, then writes: mica's busy handler
 * keeps retrying until the lock is free, within DB_BUSY_TIMEOUT_MS. */
static void
test_writer_waits_for_lock(void)
{
	char path[128];
	struct db *db = fresh(path);
	struct db_writer *w = NULL;
	struct mica_err err;
	atomic_int queued = 0;
	struct wbody b = { .path = path, .domain = "waited.test" };
	struct wcall c = { .b = &b, .flags = DB_TX_DURABLE, .queued = &queued };
	sqlite3 *h = NULL;
	pthread_t t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL_FATAL(db_writer_open(path, &w, &err), 0);
	c.w = w;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE,
					      NULL), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL,
					   NULL), SQLITE_OK);
	pthread_create(&t, NULL, wcall_main, &c);
	while (atomic_load(&queued) < 1)
		usleep(1000);
	/* While the lock is held the writer waits (a broken handler would
	 * give up at once with a 503); a slow start only makes this wait
	 * shorter, never the test fail. */
	usleep(300000);
	CU_ASSERT_EQUAL(has_domain(db, "waited.test"), 0);
	CU_ASSERT_EQUAL(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(c.rc, 0);
	CU_ASSERT_EQUAL(has_domain(db, "waited.test"), 1);
	sqlite3_close(h);
	db_writer_close(w);
	db_close(db);
}

/* Back-to-back writes through the writer, and the WAL's size meanwhile. */
#define WAL_JOBS    600    /* per writing thread */
#define WAL_CKPT    20     /* frames: db_int_writer_frames */
#define WAL_RESTART 200

struct walw {
	struct db_writer *w;
	int id;
	int failed;
};

static int
walw_body(struct db *db, void *arg, struct mica_err *err)
{
	const int *n = arg;
	char d[200];

	/* Long names: a few rows fill a page, so every commit writes some. */
	snprintf(d, sizeof(d), "%0120d.wal-%d.test", n[1], n[0]);
	return db_domain_add(db, d, err);
}

static void *
walw_main(void *arg)
{
	struct walw *t = arg;
	struct mica_err err;

	for (int i = 0; i < WAL_JOBS; i++) {
		int n[2] = { t->id, i };

		if (db_run_tx(t->w, NULL, i % 8 == 0 ? DB_TX_DURABLE : 0,
			      walw_body, n, &err) != 0)
			t->failed++;
	}
	return NULL;
}

static void
test_writer_bounds_wal(void)
{
	char path[128], wal[160];
	struct db *db = fresh(path);
	struct db_writer *w = NULL;
	struct mica_err err;
	struct walw t[2] = { { .id = 0 }, { .id = 1 } };
	pthread_t th[2];
	int joined[2] = { 0, 0 };
	struct stat st;
	off_t peak = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL_FATAL(db_writer_open(path, &w, &err), 0);
	db_int_writer_frames(w, WAL_CKPT, WAL_RESTART);
	side(wal, path, "-wal");
	for (int i = 0; i < 2; i++) {
		t[i].w = w;
		pthread_create(&th[i], NULL, walw_main, &t[i]);
	}
	/* Passive checkpoints alone never catch up with commits that follow
	 * each other without a pause: with the restart disabled the WAL grew
	 * to 7.8 MB here (some 1,900 frames). */
	while (!joined[0] || !joined[1]) {
		if (stat(wal, &st) == 0 && st.st_size > peak)
			peak = st.st_size;
		usleep(500);
		for (int i = 0; i < 2; i++)
			if (!joined[i] && pthread_tryjoin_np(th[i], NULL) == 0)
				joined[i] = 1;
	}
	CU_ASSERT_EQUAL(t[0].failed + t[1].failed, 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM ca_domain "
				"WHERE domain LIKE '%.wal-_.test'"), 2 * WAL_JOBS);
	/* Started over at RESTART frames (or half as many again when a
	 * reader was in the way), never far past it. */
	CU_ASSERT(peak > 0);
	CU_ASSERT(peak <= (off_t)3 * WAL_RESTART * (4096 + 24) + 32);
	if (peak > (off_t)3 * WAL_RESTART * (4096 + 24) + 32)
		fprintf(stderr, "WAL peak %lld bytes\n", (long long)peak);
	db_writer_close(w);
	CU_ASSERT_EQUAL(db_integrity_check(db, &err), 0);
	db_close(db);
}

static void
test_run_tx_direct(void)
{
	char path[128];
	struct db *db = fresh(path);
	struct mica_err err;
	struct wbody ok = { .path = path, .domain = "direct.test" };
	struct wbody relaxed = { .path = path, .domain = "relaxed.test" };
	struct wbody bad = { .path = path, .domain = "b.test", .second = "b2.test" };

	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(db_run_tx(NULL, db, DB_TX_DURABLE, wbody_fn, &ok, &err), 0);
	CU_ASSERT_PTR_EQUAL(ok.ran_on, db);
	CU_ASSERT_EQUAL(db_run_tx(NULL, db, 0, wbody_fn, &relaxed, &err), 0);
	CU_ASSERT_EQUAL(db_run_tx(NULL, db, DB_TX_DURABLE, wbody_fn, &bad, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	/* Committed rows are visible to another connection; the failed body
	 * left nothing and no transaction open. */
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM ca_domain "
				"WHERE domain IN ('direct.test', 'relaxed.test')"), 2);
	CU_ASSERT_EQUAL(has_domain(db, "b.test"), 0);
	CU_ASSERT_EQUAL(db_begin(db, &err), 0);
	db_rollback(db);
	/* Bad arguments are refused. */
	CU_ASSERT_EQUAL(db_run_tx(NULL, NULL, 0, wbody_fn, &ok, &err), -1);
	CU_ASSERT_EQUAL(db_run_tx(NULL, db, 0x100, wbody_fn, &ok, &err), -1);
	db_close(db);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
suite_init(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mica-test-db-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* The store logs the failures these tests provoke on purpose; a
	 * level below MICA_LOG_ERR keeps the run readable. */
	mica_log_set_level(MICA_LOG_ERR - 1);
	return 0;
}

static int
suite_clean(void)
{
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "creates the database 0600 (and its -wal, -shm) whatever the umask",
		  test_create_mode },
		{ "refuses to create over an existing file, stale -wal or symlink",
		  test_create_refuses_existing },
		{ "refuses a database (or -wal) accessible by group or others",
		  test_refuses_insecure_modes },
		{ "refuses a missing database without creating it, and bad flags",
		  test_missing_file },
		{ "applies migrations once; reopening is idempotent",
		  test_migrations_idempotent },
		{ "refuses a database with a newer schema than the binary",
		  test_refuses_newer_schema },
		{ "migrates a store of schema 001 forward, keeping its data",
		  test_migrates_v1_store },
		{ "reads a backup immutable at its own schema version, and refuses one whose schema is not mica's",
		  test_schema_check },
		{ "migration 003 lists the keys of certificates revoked for keyCompromise",
		  test_migration_backfills_compromised_keys },
		{ "migration 022 queues the keys listed as compromised for the sweep that raises their siblings",
		  test_migration_022_queues_listed_keys },
		{ "a migration that fails leaves the store at the schema it had, nothing half applied",
		  test_failed_upgrade_changes_nothing },
		{ "migration 010 keeps searchable names lowercase and indexes expiry",
		  test_migrates_v9_names },
		{ "migration 020 indexes the usable tokens",
		  test_migration_020_indexes_usable_tokens },
		{ "migration 012 gives pre-signed responses their refresh time and starts the change counter",
		  test_migration_012_upgrades_ocsp_rows },
		{ "the OCSP refresh and publication statements find their rows through indexes",
		  test_ocsp_pass_statements_use_indexes },
		{ "a compromised key is added from its certificate and never removed",
		  test_compromised_keys_are_kept },
		{ "migration 14 lists the compromised RSA keys for their moduli",
		  test_migration_14_lists_compromised_rsa_keys },
		{ "refuses another program's SQLite file and non-SQLite files",
		  test_refuses_foreign_file },
		{ "opens read-only: reads work, writes are unavailable",
		  test_readonly },
		{ "works on an in-memory database", test_memory_database },
		{ "stores one CA row; a second is a conflict", test_ca_row },
		{ "keeps a CA awaiting its certificate, then active; its other keys",
		  test_ca_states_and_keys },
		{ "keeps each key's CRLs and revocations apart, one number series",
		  test_crls_and_revocations_per_key },
		{ "imports only newer CRLs of the CAs above, per issuer key",
		  test_root_crls },
		{ "migrates a schema-4 store: one active CA, its key at index 0",
		  test_migrates_v4_store },
		{ "migrates a store of a mica that never had migration 003 (schema 4, 5, 13)",
		  test_migrates_a_store_without_003 },
		{ "adds, lists, removes allowed domains; refuses malformed ones",
		  test_domains },
		{ "stores profile validity overrides", test_profiles },
		{ "reserves, completes, gets a certificate; serials are unique",
		  test_cert_lifecycle },
		{ "refuses malformed serial numbers", test_cert_refuses_bad_serials },
		{ "revokes, holds, reinstates; refuses to revoke twice",
		  test_revocation_transitions },
		{ "reserves a certificate and its names atomically",
		  test_reserve_atomic },
		{ "keeps the DER of a certificate revoked while being signed",
		  test_revoked_while_issuing },
		{ "discards only unsigned certificates, with their names",
		  test_discard },
		{ "links renewals on both sides or not at all", test_renewal_links },
		{ "looks down a chain of renewals for one still valid", test_renewal_chain },
		{ "looks 16 renewals down at most, and ends on a cycle",
		  test_renewal_chain_depth },
		{ "walks revoked, unexpired certificates in serial order",
		  test_revoked_foreach },
		{ "keeps a revocation's invalidity date, only ever earlier",
		  test_invalidity_date },
		{ "streams 180,000 revoked certificates quickly, in order",
		  test_revoked_foreach_large },
		{ "bounds one CSR's SCEP transactions", test_scep_tx_per_csr },
		{ "upgrades a store of schema 22 with 60,000 revoked certificates",
		  test_upgrade_22_with_many_revoked },
		{ "upgrades to 25 marking the dated revocations' OCSP answers",
		  test_upgrade_24_marks_dated_revocations },
		{ "lists by status, expiry and name, each in its order, with keyset paging",
		  test_list_filters_and_paging },
		{ "lists one token's certificates, with the other filters and paging",
		  test_list_by_token },
		{ "keeps a revoked certificate of the kept profile in the CRL walk once expired",
		  test_revoked_kept_profile },
		{ "refuses a cursor of another order, a negative one, a bad name filter",
		  test_list_refuses_bad_cursors_and_names },
		{ "every listing walks an index in page order; broad and narrow prefixes agree",
		  test_list_plans_use_indexes },
		{ "the OCSP refresh finds a revocation among its marks by the marks",
		  test_ocsp_revoked_mark_reads_the_marks },
		{ "searches names literally: % and _ are not wildcards",
		  test_list_like_escaping },
		{ "counts certificates by state and pending requests",
		  test_counts },
		{ "numbers CRLs strictly increasingly", test_crl_numbering },
		{ "stores requests; deciding twice is a conflict", test_requests },
		{ "consumes, refunds, expires and revokes tokens", test_tokens },
		{ "lists tokens by keyset pages, the usable ones by their index",
		  test_token_pages },
		{ "lists ACME accounts and orders by keyset pages, newest made first",
		  test_acme_pages },
		{ "lets exactly one of four connections consume a one-use token",
		  test_token_race },
		{ "lists the append-only audit log by time, page and limit",
		  test_audit },
		{ "schema refuses to rewrite or delete an issued certificate",
		  test_schema_protects_issued },
		{ "rollback leaves nothing; commit keeps everything",
		  test_transactions },
		{ "fails writes and commits cleanly at injected faults",
		  test_fault_injection },
		{ "keeps large CRL bodies beside the store, checked, pruned, and in backups",
		  test_crl_bodies },
		{ "keeps a transaction's statement journal in memory, not in a temporary file",
		  test_statement_journal_in_memory },
		{ "backs up to a new 0600 file holding the same rows",
		  test_backup },
		{ "backs up consistently while another connection writes",
		  test_backup_while_writing },
		{ "integrity check passes on a sound store, fails on damage",
		  test_integrity_check },
		{ "batches bodies from many threads into one transaction",
		  test_writer_batches },
		{ "rolls back only the failing body of a batch; a failed commit or sync fails its callers",
		  test_writer_isolates_failures },
		{ "a connection caches the pages it reads, with no bulk room for twenty",
		  test_page_cache_without_bulk },
		{ "runs a body unbatched on the caller's connection",
		  test_run_tx_direct },
		{ "a writer waits for a lock another connection holds, then writes",
		  test_writer_waits_for_lock },
		{ "keeps the WAL bounded while bodies follow each other without a pause",
		  test_writer_bounds_wal },
		{ "tells another program's file in the store's place from the header",
		  test_file_kind },
	};
	CU_pSuite suite;
	unsigned int failed;
	size_t i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("db", suite_init, suite_clean);
	if (suite == NULL)
		goto fail;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		 CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	if (failed == 0 && skipped != 0)
		printf("SKIP: %u test(s) could not run in this build\n", skipped);
	return failed != 0 ? 1 : skipped != 0 ? 77 : 0;
fail:
	CU_cleanup_registry();
	return 1;
}

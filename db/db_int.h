/*
 * db/db_int.h - private to db/: the embedded schema migrations.
 *
 * db/schema_sql.c is generated from schema/NNN_name.sql by
 * scripts/embed-schema; the definitions below must match what that script
 * emits (it repeats the struct definition in its own translation unit).
 */
#ifndef MICA_DB_INT_H
#define MICA_DB_INT_H

#include <stddef.h>
#include <sys/types.h>

#include <sqlite3.h>

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
 * with MICA_E_UNAVAIL. */
#define DB_BUSY_TIMEOUT_MS 5000

/* Page cache of each connection, KiB (strings: they go into a PRAGMA).
 * Readers do point lookups (the OS caches the file anyway); the one
 * group-commit writer inserts into every index and keeps more. */
#define DB_CACHE_KIB "128"
#define DB_WRITER_CACHE_KIB "512"

/* What db/writer.c needs of a connection's insides (db.c defines these). */
enum db_int_op {
	DB_INT_JOB_BEGIN,     /* SAVEPOINT around one batched body */
	DB_INT_JOB_RELEASE,
	DB_INT_JOB_ROLLBACK,
	DB_INT_SYNC_FULL,     /* PRAGMA synchronous: COMMIT syncs the WAL */
	DB_INT_SYNC_NORMAL,   /* COMMIT leaves the WAL sync to a later one */
	DB_INT_CACHE_WRITER   /* the writer's larger page cache */
};
int db_int_exec(struct db *db, enum db_int_op op, struct mica_err *err);
/* Is a transaction open on DB? (SQLite rolls one back by itself after an
 * I/O error or a full disk.) */
int db_int_in_tx(struct db *db);
/* Stop DB checkpointing at its own commits and call CB after each commit
 * with the number of frames in the WAL (sqlite3_wal_hook). */
void db_int_wal_hook(struct db *db, int (*cb)(void *, sqlite3 *, const char *, int),
		     void *arg);
/* Syncing the WAL file SQLite uses for a database: fdatasync() on a file
 * descriptor of our own (reopened if the file is replaced). Everything any
 * connection committed before the call is then on disk. 0 at once for an
 * in-memory store or when there is no WAL. Fault point "db_sync". One
 * struct per thread that syncs. */
struct db_walsync {
	char *path;
	int fd;
	dev_t dev;
	ino_t ino;
};
int db_walsync_init(struct db_walsync *ws, struct db *db, struct mica_err *err);
int db_walsync_run(struct db_walsync *ws, struct mica_err *err);
void db_walsync_clear(struct db_walsync *ws);
/* db_walsync_run on DB's own (for its connection's thread). */
int db_int_wal_sync(struct db *db, struct mica_err *err);
/* A PASSIVE checkpoint: copies what it can without blocking writers. */
int db_int_checkpoint(struct db *db, struct mica_err *err);

#endif

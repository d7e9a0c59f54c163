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

#endif

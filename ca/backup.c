/*
 * ca/backup.c - copying the store while the CA runs, and restoring a copy
 * into an empty data directory.
 */
#include "ca/ca.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/ca_int.h"

/* ACTION: "ca.backup" or "ca.restore", by the command line. */
static int
audit_body(struct db *db, void *arg, struct mica_err *err)
{
	return db_audit_add(db, ca_now(), "cli", (const char *)arg, NULL, NULL,
			    err);
}

int
ca_backup(struct ca *ca, const char *dest, struct mica_err *err)
{
	if (access(dest, F_OK) == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "exists",
				    "%s exists; refusing to overwrite it", dest);
	if (db_backup(ca->db, dest, err) != 0)
		return -1;
	return ca_tx(ca, CA_TX_DURABLE, audit_body, (void *)"ca.backup", err);
}

int
ca_restore(const char *datadir, const char *file, struct mica_err *err)
{
	struct db *src = NULL, *dst = NULL;
	struct db_ca row;
	struct ca boot;
	char dbpath[PATH_MAX];
	mode_t old_umask;
	int rc = -1;

	memset(&row, 0, sizeof(row));
	if (ca_path_join(dbpath, sizeof(dbpath), datadir, CA_DB_FILE) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path", "data directory path too long");
	if (access(dbpath, F_OK) == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "ca_exists",
				    "%s already holds a CA; restore into an empty directory", datadir);
	old_umask = umask(077);
	if (mkdir(datadir, 0700) != 0 && errno != EEXIST) {
		umask(old_umask);
		return mica_err_set(err, MICA_E_UNAVAIL, "datadir",
				    "cannot create the data directory: %s", strerror(errno));
	}
	umask(old_umask);
	if (ca_datadir_check(datadir, err) != 0)
		return -1;
	if (db_open(file, DB_OPEN_READONLY, &src, err) != 0)
		goto out;
	if (db_integrity_check(src, err) != 0)
		goto out;
	if (db_ca_get(src, &row, err) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "not_a_backup",
			     "%s holds no mica CA", file);
		goto out;
	}
	if (db_backup(src, dbpath, err) != 0)
		goto out;
	/* Reopen read-write: applies any newer migrations and checks it. */
	if (db_open(dbpath, 0, &dst, err) != 0 || db_integrity_check(dst, err) != 0)
		goto out;
	/* No handle yet: a bootstrap one, which ca_tx() runs directly. */
	memset(&boot, 0, sizeof(boot));
	boot.db = dst;
	if (ca_tx(&boot, CA_TX_DURABLE, audit_body, (void *)"ca.restore", err) != 0)
		goto out;
	rc = 0;
out:
	db_ca_free(&row);
	db_close(src);
	db_close(dst);
	if (rc != 0 && access(dbpath, F_OK) == 0 && src != NULL)
		ca_db_unlink(dbpath);
	return rc;
}

/*
 * ca/perm.c - the data directory and the store stay private to their
 * owner: checked at every open and, in a long-running daemon, again from
 * its timer, because an admin may loosen a mode (chmod -R a+r, a restore
 * by hand) while it runs.
 *
 * The store holds the sealed CA key and the token hashes, and the data
 * directory usually the passphrase file: a directory group or others may
 * read (or write: swap files) is refused, not fixed silently, so the
 * admin learns of the leak - as the files themselves are (db/db.c).
 */
#include "ca/ca.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/ca_int.h"
#include "util/fsname.h"
#include "util/log.h"

int
ca_datadir_check(const char *datadir, struct mica_err *err)
{
	struct stat sb;

	if (stat(datadir, &sb) != 0)
		return mica_err_set(err, MICA_E_UNAVAIL, "datadir",
				    "cannot examine the data directory %s: %s", datadir,
				    strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return mica_err_set(err, MICA_E_UNAVAIL, "datadir",
				    "%s is not a directory", datadir);
	if (sb.st_mode & (S_IRWXG | S_IRWXO))
		return mica_err_set(err, MICA_E_FORBIDDEN, "insecure_permissions",
				    "the data directory %s is accessible by group or "
				    "others (mode %04o); run chmod 700 %s", datadir,
				    (unsigned)(sb.st_mode & 07777), datadir);
	return 0;
}

int
ca_store_in_the_way(const char *datadir, const char *dbpath, const char *hint,
		    struct mica_err *err)
{
	struct stat sb;

	if (lstat(dbpath, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "ca_exists",
				    "%s is an empty file, not a CA (an "
				    "interrupted 'mica init'?): remove it first",
				    dbpath);
	/* Another program's file by that name (a -d mistyped to another
	 * program's folder) is no CA: say what it is. */
	switch (db_file_kind(dbpath)) {
	case DB_FILE_NOT_SQLITE:
		return mica_err_set(err, MICA_E_CONFLICT, "ca_exists",
				    "%s is not a mica database (not an SQLite "
				    "file at all); %s", dbpath, hint);
	case DB_FILE_FOREIGN:
		return mica_err_set(err, MICA_E_CONFLICT, "ca_exists",
				    "%s is not a mica database (another "
				    "program's SQLite file); %s", dbpath, hint);
	default:
		return mica_err_set(err, MICA_E_CONFLICT, "ca_exists",
				    "%s already holds a CA; %s", datadir, hint);
	}
}

int
ca_datadir_lock(const char *datadir, int wait, const char *code, int *fd,
		struct mica_err *err)
{
	int e;

	if ((*fd = open(datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return mica_err_set(err, MICA_E_UNAVAIL, code,
				    "cannot open %s: %s", datadir,
				    strerror(errno));
	while (flock(*fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		e = errno;
		close(*fd);
		*fd = -1;
		if (e == EWOULDBLOCK)
			return 1;
		return mica_err_set(err, MICA_E_UNAVAIL, code,
				    "cannot lock %s: %s", datadir, strerror(e));
	}
	return 0;
}

int
ca_store_name(const char *datadir, const char *tmp, const char *dbpath,
	      const char *hint, struct mica_err *err)
{
	char wal[PATH_MAX + 8];
	struct stat sb;
	int e;

	/* The last close checkpoints the WAL into the file and removes it;
	 * one left with frames in it would stay behind under TMP's name. */
	snprintf(wal, sizeof(wal), "%s-wal", tmp);
	if (stat(wal, &sb) == 0 && sb.st_size > 0)
		return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "the new store %s was not checkpointed "
				    "(its -wal is left)", tmp);
	if (mica_rename_noreplace(tmp, dbpath) != 0)
		return errno == EEXIST ?
		       ca_store_in_the_way(datadir, dbpath, hint, err) :
		       mica_err_set(err, MICA_E_UNAVAIL, "datadir",
				    "cannot rename %s to %s: %s", tmp, dbpath,
				    strerror(errno));
	if (mica_sync_dir(datadir) == 0)
		return 0;
	/* Not durably named: taken back, the caller's failure says why. */
	e = errno;
	ca_db_unlink(dbpath);
	return mica_err_set(err, MICA_E_UNAVAIL, "datadir",
			    "cannot sync %s: %s", datadir, strerror(e));
}

/* The message for clients: the details (paths, modes) go to the log. */
#define INSECURE_MSG "the data directory or the store became accessible by group " \
	"or others; nothing is issued until an admin makes them private again"

#define LINKED_MSG "the certificate store has a second name (a hard link), " \
	"through which another process would corrupt it; the log says where"

void
ca_perm_lost(struct ca_shared *sh, struct mica_err *err)
{
	assert(sh != NULL && err != NULL);
	if (strcmp(err->code, "store_linked") == 0) {
		if (!atomic_exchange(&sh->linked, 1))
			mica_log(MICA_LOG_WARN, "%s", err->msg);
		mica_err_set(err, MICA_E_UNAVAIL, "store_linked", LINKED_MSG);
		return;
	}
	if (err->kind != MICA_E_FORBIDDEN)
		return;
	if (!atomic_exchange(&sh->insecure, 1))
		mica_log(MICA_LOG_ERR, "%s; refusing to issue until it is fixed",
			 err->msg);
	mica_err_set(err, MICA_E_UNAVAIL, "insecure_store", INSECURE_MSG);
}

int
ca_perm_check(struct ca *ca, struct mica_err *err)
{
	struct mica_err e;
	char dir[PATH_MAX];
	size_t n, tail = strlen("/" CA_DB_FILE);

	assert(ca != NULL && ca->sh != NULL && ca->sh->dbpath != NULL);
	/* The store is DATADIR "/" CA_DB_FILE (ca_open). */
	n = strlen(ca->sh->dbpath);
	assert(n > tail && n - tail < sizeof(dir));
	memcpy(dir, ca->sh->dbpath, n - tail);
	dir[n - tail] = '\0';
	memset(&e, 0, sizeof(e));
	if (ca_datadir_check(dir, &e) == 0 && db_file_check(ca->sh->dbpath, &e) == 0) {
		atomic_store(&ca->sh->linked, 0);
		if (atomic_exchange(&ca->sh->insecure, 0))
			mica_log(MICA_LOG_INFO, "the data directory and the store are "
				 "private again; issuing again");
		return 0;
	}
	/* Only permissions make the store insecure; one that cannot be
	 * examined is unavailable, as after any other store failure. */
	ca_perm_lost(ca->sh, &e);
	if (err != NULL)
		*err = e;
	return -1;
}

int
ca_insecure(struct ca *ca, struct mica_err *err)
{
	if (ca->sh == NULL || !atomic_load(&ca->sh->insecure))
		return 0;
	return mica_err_set(err, MICA_E_UNAVAIL, "insecure_store", INSECURE_MSG);
}

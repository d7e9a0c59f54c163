/*
 * db/wal.c - keeping an open store's file safe: syncing the WAL (for the
 * group-commit writer, db/writer.c), checkpoints, online backups, and the
 * integrity check.
 *
 * db_integrity_check also runs PRAGMA foreign_key_check.
 */
#include "db/db.h"
#include "db/db_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "util/fault.h"
#include "util/fsname.h"
#include "util/leftover.h"
#include "util/log.h"

static const char *const wal_sql[S__COUNT] = {
	[S_INTEGRITY] = "PRAGMA integrity_check",
	[S_FK_CHECK] = "PRAGMA foreign_key_check",
};

/* ---- WAL sync and checkpoints (for db/writer.c) ---- */

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
		return db_oom(err);
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
		return db_unavail(err, "I/O error on the certificate store");
	}
	if (stat(ws->path, &sb) != 0) {
		if (errno == ENOENT)
			return 0;  /* no WAL: everything is in the database file */
		mica_log(MICA_LOG_ERR, "db: cannot find the WAL to sync: %s", strerror(errno));
		return db_unavail(err, "I/O error on the certificate store");
	}
	/* (Re)open when first needed or when the file was replaced; never
	 * sync a stale file. A new file's name must be durable too. */
	if (ws->fd < 0 || sb.st_dev != ws->dev || sb.st_ino != ws->ino) {
		if (ws->fd >= 0)
			close(ws->fd);
		if ((ws->fd = open(ws->path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    fstat(ws->fd, &sb) != 0) {
			mica_log(MICA_LOG_ERR, "db: cannot open the WAL to sync: %s",
				 strerror(errno));
			if (ws->fd >= 0)
				close(ws->fd);
			ws->fd = -1;
			return db_unavail(err, "I/O error on the certificate store");
		}
		ws->dev = sb.st_dev;
		ws->ino = sb.st_ino;
		(void)mica_sync_dir_of(ws->path);
	}
	if (fdatasync(ws->fd) != 0) {
		mica_log(MICA_LOG_ERR, "db: WAL sync failed: %s", strerror(errno));
		return db_unavail(err, "I/O error on the certificate store");
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
db_int_db_sync(struct db *db, struct mica_err *err)
{
	sqlite3_file *f = NULL;
	int rc;

	rc = sqlite3_file_control(db->h, "main", SQLITE_FCNTL_FILE_POINTER, &f);
	if (rc != SQLITE_OK || f == NULL || f->pMethods == NULL)
		return db_fail(db, rc != SQLITE_OK ? rc : SQLITE_MISUSE, NULL, NULL, err);
	if ((rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL)) != SQLITE_OK)
		return db_fail(db, rc, NULL, NULL, err);
	return 0;
}

/* ---- integrity, backup ---- */

int
db_integrity_check(struct db *db, struct mica_err *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *s;
	int rc = -1, r;

	if (db == NULL)
		return db_bad_arg(err);
	if ((st = db_stmt(db, S_INTEGRITY, wal_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
		goto out;
	s = r == 1 ? sqlite3_column_text(st, 0) : NULL;
	if (s == NULL || strcmp((const char *)s, "ok") != 0) {
		mica_log(MICA_LOG_ERR, "db: integrity_check: %s",
			 s != NULL ? (const char *)s : "(no result)");
		mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
			     "the database failed its integrity check");
		goto out;
	}
	db_stmt_done(st);
	/* Dangling references are damage too (integrity_check ignores them). */
	if ((st = db_stmt(db, S_FK_CHECK, wal_sql, err)) == NULL)
		goto out;
	if ((r = db_step_row(db, st, err)) < 0)
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
	db_stmt_done(st);
	return rc;
}

/* The copy into DEST failed with RC: a full disk or an I/O error is the
 * copy's (the source is only read), said of DEST by name - not "the
 * certificate store", which reads as the store being copied. Others as
 * any store error. */
static int
copy_fail(sqlite3 *dst, int rc, const char *dest, struct mica_err *err)
{
	int e = dst != NULL ? sqlite3_system_errno(dst) : 0;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "cannot write %s: the disk is full", dest);
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "cannot write %s: %s", dest,
				    e != 0 ? strerror(e) : sqlite3_errstr(rc));
	default:
		return db_fail(NULL, rc, NULL, NULL, err);
	}
}

/* A new, empty file beside DEST (DEST.tmp-XXXXXX, mode 0600) for the copy;
 * its name in TMP, and *FD locked until the copy is named (or removed):
 * the next backup to DEST removes only those no live backup holds. */
static int
backup_tmp(const char *dest, char *tmp, size_t size, int *fd,
	   struct mica_err *err)
{
	(void)mica_tmp_sweep(dest, ".tmp-", "an interrupted 'mica backup'");
	if ((*fd = mica_tmp_create(dest, ".tmp-", tmp, size)) < 0)
		return errno == ENAMETOOLONG ?
		       mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "the path %s is too long", dest) :
		       mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "cannot create a file beside %s: %s", dest,
				    strerror(errno));
	return 0;
}

/* Is TMP still the file this run made and holds open as FD? In a
 * folder others may write (a group's), another user could rename a file
 * of theirs over the name between its making and its use: the copy would
 * go into their file, or theirs be installed as the backup. */
static int
backup_tmp_ours(const char *tmp, int fd, const char *dest,
		struct mica_err *err)
{
	struct stat a, b;

	if (lstat(tmp, &a) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino && S_ISREG(a.st_mode))
		return 0;
	return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
			    "the temporary file %s beside %s was replaced by "
			    "another process: no backup written (is its folder "
			    "writable by others?)", tmp, dest);
}

/* Put the finished copy TMP in place as DEST - never over a file that
 * appeared there meanwhile - and make the name durable. */
static int
backup_install(const char *tmp, const char *dest, struct mica_err *err)
{
	int e;

	/* Not link() alone: a backup may go to a stick formatted FAT or
	 * exFAT, which has no hard links. */
	if (mica_rename_noreplace(tmp, dest) != 0)
		return errno == EEXIST ?
		       mica_err_set(err, MICA_E_CONFLICT, "backup_exists",
				    "%s exists; refusing to overwrite it", dest) :
		       mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "cannot write %s: %s", dest, strerror(errno));
	if (mica_sync_dir_of(dest) != 0) {
		e = errno;
		unlink(dest);
		return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "cannot write %s: %s", dest, strerror(e));
	}
	return 0;
}

/* The source's highest CRL number (0 for none or on error): what a CRL
 * published meanwhile by another process moves. */
static int64_t
crl_high(struct db *db)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;

	if (sqlite3_prepare_v2(db->h, "SELECT max(number) FROM crl", -1, &st,
			       NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int backup_once(struct db *db, const char *dest_path,
		       struct mica_err *err);

int
db_backup(struct db *db, const char *dest_path, struct mica_err *err)
{
	/* The CRLs' bodies are read beside the source after its pages are
	 * copied: a daemon publishing meanwhile prunes the bodies of CRLs
	 * two behind, perhaps the newest of the copy's snapshot. Then a
	 * later snapshot has the newer CRL, whose body is there: copy
	 * again (a body missing with no CRL published is damage, said). */
	for (int attempt = 1;; attempt++) {
		struct mica_err e;
		int64_t before = crl_high(db);

		mica_err_clear(&e);
		if (backup_once(db, dest_path, &e) == 0)
			return 0;
		if (attempt == 5 || strcmp(e.code, "crl_body_damaged") != 0 ||
		    crl_high(db) == before) {
			if (err != NULL)
				*err = e;
			return -1;
		}
	}
}

static int
backup_once(struct db *db, const char *dest_path, struct mica_err *err)
{
	static const struct timespec pause = { 0, 20 * 1000 * 1000 };
	sqlite3 *dst = NULL;
	sqlite3_backup *bk = NULL;
	char tmp[PATH_MAX];
	int rc = -1, src, created = 0, tries = 0, lockfd = -1;
	struct stat sb;

	if (db == NULL || dest_path == NULL || dest_path[0] == '\0' ||
	    db_is_memory(dest_path))
		return db_bad_arg(err);
	/* The copy is made under a temporary name and linked into place
	 * whole: a copy cut short (a full disk, a kill) never sits at
	 * DEST_PATH, where it would pass for a backup - one without its
	 * CRLs' bodies, say - and keep the next 'mica backup' out. */
	if (lstat(dest_path, &sb) == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "backup_exists",
				    "%s already exists", dest_path);
	/* A -wal or hot -journal beside DEST_PATH would be rolled into the
	 * copy once it takes that name. */
	if (db_sides_absent(dest_path, "backup_exists", err) != 0)
		return -1;
	if (backup_tmp(dest_path, tmp, sizeof(tmp), &lockfd, err) != 0)
		return -1;
	created = 1;

	src = sqlite3_open_v2(tmp, &dst,
			      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		mica_log(MICA_LOG_DEBUG, "db: backup open: %s", sqlite3_errstr(src));
		copy_fail(dst, src, dest_path, err);
		goto out;
	}
	sqlite3_extended_result_codes(dst, 1);
	/* What SQLite opened by name is the file made above. */
	if (backup_tmp_ours(tmp, lockfd, dest_path, err) != 0)
		goto out;
	if ((bk = sqlite3_backup_init(dst, "main", db->h, "main")) == NULL) {
		mica_log(MICA_LOG_DEBUG, "db: backup init: %s", sqlite3_errmsg(dst));
		mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
			     "cannot start the copy into %s: %s", dest_path,
			     sqlite3_errmsg(dst));
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
		mica_log(MICA_LOG_DEBUG, "db: backup step: %s", sqlite3_errstr(src));
		copy_fail(dst, src, dest_path, err);
		goto out;
	}
	src = sqlite3_backup_finish(bk);
	bk = NULL;
	if (src != SQLITE_OK) {
		mica_log(MICA_LOG_DEBUG, "db: backup finish: %s", sqlite3_errstr(src));
		copy_fail(dst, src, dest_path, err);
		goto out;
	}
	/* Tests kill the command here: the pages are copied, the CRLs'
	 * bodies not yet (util/fault.h). */
	MICA_TEST_GATE("MICA_TEST_BACKUP_GATE");
	if (db_int_crl_inline(db, dst, err) != 0) {
		/* A store error there is the copy's (the bodies are read
		 * from files beside the source, written into DST). */
		if (err != NULL && err->kind == MICA_E_UNAVAIL)
			copy_fail(dst, sqlite3_extended_errcode(dst), dest_path,
				  err);
		goto out;
	}
	src = sqlite3_close(dst);
	dst = NULL;
	if (src != SQLITE_OK) {
		copy_fail(NULL, src, dest_path, err);
		goto out;
	}
	if (backup_tmp_ours(tmp, lockfd, dest_path, err) != 0 ||
	    backup_install(tmp, dest_path, err) != 0)
		goto out;
	rc = 0;
out:
	if (bk != NULL)
		sqlite3_backup_finish(bk);
	if (dst != NULL)
		sqlite3_close_v2(dst);
	if (rc != 0 && created)
		db_unlink_created(tmp);
	/* Only now: the copy is named DEST or removed. */
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}

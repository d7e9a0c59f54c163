/*
 * ca/lock.c - one `mica serve` per data directory (ca/ca.h).
 *
 * Two daemons on one store would each take the other's TLS certificate
 * for one it renewed, sign OCSP responder certificates over each other's
 * and publish CRLs in turn; the second would usually fail only later, on
 * a port already taken, after it had changed the store. So the daemon
 * takes an exclusive flock(2) on DIR/serve.lock before it creates or
 * opens anything, and holds it until it stops. The kernel releases the
 * lock when the process dies however it dies: a lock file left behind
 * never keeps the next start out. The file is never removed (removing a
 * lock file races with a process that opened it and is about to lock
 * it); it holds the process id of the daemon that holds the lock, for
 * the message the next one prints.
 *
 * The keeper forked by the daemon closes every descriptor it did not
 * ask for (ca/signer_proc.c), so it never holds the lock after its
 * daemon is gone.
 *
 * The lock is on the data directory, and a store is one file: a data
 * directory whose mica.db is a symbolic link to another one's would let
 * two daemons serve one store. So when DIR/mica.db leads out of DIR,
 * the daemon also locks serve.lock in the directory that holds the file
 * it leads to, as a daemon of that directory does.
 */
#include "ca/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/ca_int.h"
#include "util/log.h"

#define PID_TEXT_MAX 24

/* The process id written in the lock file FD, or 0 if there is none yet
 * (the holder locks first and writes its id after). */
static long
holder_pid(int fd)
{
	char buf[PID_TEXT_MAX];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') ||
	    pid <= 0)
		return 0;
	return pid;
}

/* Lock DIR/serve.lock into *FD_OUT. DATADIR and STORE (NULL: the data
 * directory's own lock) only name what is locked in the messages. */
static int
lock_one(const char *dir, const char *datadir, const char *store,
	 int *fd_out, struct mica_err *err)
{
	char path[PATH_MAX], text[PID_TEXT_MAX];
	struct stat sb;
	int fd, n;

	*fd_out = -1;
	if (ca_path_join(path, sizeof(path), dir, CA_SERVE_LOCK_FILE) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "data directory path too long");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
		  O_NONBLOCK, 0600);
	if (fd < 0)
		return mica_err_set(err, MICA_E_UNAVAIL, "lock",
				    "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return mica_err_set(err, MICA_E_UNAVAIL, "lock",
				    "%s is not a regular file", path);
	}
	/* A command looking whether a daemon runs (ca_serve_running) holds
	 * a shared lock for an instant: tried again for a moment first. */
	for (int tries = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; tries++) {
		int e = errno;

		if (e == EWOULDBLOCK && tries < 20) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			continue;
		}
		long pid = e == EWOULDBLOCK ? holder_pid(fd) : 0;
		char who[48] = "";

		close(fd);
		if (e != EWOULDBLOCK)
			return mica_err_set(err, MICA_E_UNAVAIL, "lock",
					    "cannot lock %s: %s", path,
					    strerror(e));
		if (pid > 0)
			snprintf(who, sizeof(who), " (process %ld)", pid);
		if (store != NULL)
			return mica_err_set(err, MICA_E_CONFLICT, "already_serving",
					    "another mica serve%s is serving the "
					    "store of %s, %s: stop it first", who,
					    datadir, store);
		return mica_err_set(err, MICA_E_CONFLICT, "already_serving",
				    "another mica serve%s is serving %s: stop "
				    "it first", who, datadir);
	}
	/* Only for the message above: the lock is what counts, so a pid that
	 * cannot be written (a full disk) does not stop the daemon. */
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && n > 0 &&
	    pwrite(fd, text, (size_t)n, 0) != (ssize_t)n &&
	    ftruncate(fd, 0) != 0)
		mica_log(MICA_LOG_WARN, "%s: cannot record this process's id", path);
	*fd_out = fd;
	return 0;
}

/* The directory that holds DATADIR's store, when it is not DATADIR (its
 * mica.db a symbolic link) into DIR: 1, else 0 (no store yet, or none
 * that resolves: opening it says why). */
static int
store_dir(const char *datadir, char *dir, size_t size, char *store,
	  size_t store_size)
{
	char path[PATH_MAX], *real, *self, *slash;
	int rc = 0;

	if (ca_path_join(path, sizeof(path), datadir, CA_DB_FILE) != 0 ||
	    (real = realpath(path, NULL)) == NULL)
		return 0;
	if ((self = realpath(datadir, NULL)) != NULL &&
	    (slash = strrchr(real, '/')) != NULL &&
	    strlen(real) < store_size && (size_t)(slash - real) + 2 <= size) {
		snprintf(store, store_size, "%s", real);
		/* Absolute: "/mica.db" leaves "/". */
		snprintf(dir, size, "%.*s", slash == real ? 1 : (int)(slash - real),
			 real);
		rc = strcmp(dir, self) != 0;
	}
	free(self);
	free(real);
	return rc;
}

int
ca_serve_lock(const char *datadir, struct ca_serve_lock *l,
	      struct mica_err *err)
{
	char dir[PATH_MAX], store[PATH_MAX];
	mode_t old_umask;

	l->fd[0] = l->fd[1] = -1;
	/* The directory as 'mica init' makes it, if this is the first start:
	 * the lock must be held before the CA is created in it. */
	old_umask = umask(077);
	if (mkdir(datadir, 0700) != 0 && errno != EEXIST) {
		int e = errno;

		umask(old_umask);
		return mica_err_set(err, MICA_E_UNAVAIL, "datadir",
				    "cannot create the data directory %s: %s",
				    datadir, strerror(e));
	}
	umask(old_umask);
	if (ca_datadir_check(datadir, err) != 0 ||
	    lock_one(datadir, datadir, NULL, &l->fd[0], err) != 0)
		return -1;
	/* A store reached through a symbolic link (DIR/mica.db) may be
	 * another data directory's: one lock beside the store itself too,
	 * which every daemon on it takes. */
	if (store_dir(datadir, dir, sizeof(dir), store, sizeof(store)) &&
	    lock_one(dir, datadir, store, &l->fd[1], err) != 0) {
		ca_serve_unlock(l);
		return -1;
	}
	return 0;
}

/* Is DIR/serve.lock held by a process? 1 (*PID), 0 no (or no file). */
static int
held(const char *dir, long *pid)
{
	char path[PATH_MAX];
	int fd, r = 0;

	if (ca_path_join(path, sizeof(path), dir, CA_SERVE_LOCK_FILE) != 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
		       O_NONBLOCK)) < 0)
		return 0;
	/* A shared lock is enough to tell, and is let go at once. */
	if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			r = 1;
			*pid = holder_pid(fd);
		}
	} else {
		flock(fd, LOCK_UN);
	}
	close(fd);
	return r;
}

int
ca_serve_running(const char *datadir, long *pid)
{
	char dir[PATH_MAX], store[PATH_MAX];

	*pid = 0;
	if (held(datadir, pid))
		return 1;
	return store_dir(datadir, dir, sizeof(dir), store, sizeof(store)) &&
	       held(dir, pid);
}

void
ca_serve_unlock(struct ca_serve_lock *l)
{
	for (int i = 1; i >= 0; i--) {
		if (l->fd[i] < 0)
			continue;
		/* Still under the lock: the next daemon finds no stale id
		 * (one left by a failure here is only ever shown, never
		 * trusted). */
		if (ftruncate(l->fd[i], 0) != 0)
			mica_log(MICA_LOG_WARN, "serve.lock: cannot clear the "
				 "process id");
		close(l->fd[i]);
		l->fd[i] = -1;
	}
}

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

int
ca_serve_lock(const char *datadir, int *fd_out, struct mica_err *err)
{
	char path[PATH_MAX], text[PID_TEXT_MAX];
	struct stat sb;
	mode_t old_umask;
	int fd, n;

	*fd_out = -1;
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
	if (ca_datadir_check(datadir, err) != 0)
		return -1;
	if (ca_path_join(path, sizeof(path), datadir, CA_SERVE_LOCK_FILE) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "data directory path too long");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
		  0600);
	if (fd < 0)
		return mica_err_set(err, MICA_E_UNAVAIL, "lock",
				    "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return mica_err_set(err, MICA_E_UNAVAIL, "lock",
				    "%s is not a regular file", path);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		long pid = e == EWOULDBLOCK ? holder_pid(fd) : 0;

		close(fd);
		if (e != EWOULDBLOCK)
			return mica_err_set(err, MICA_E_UNAVAIL, "lock",
					    "cannot lock %s: %s", path,
					    strerror(e));
		if (pid > 0)
			return mica_err_set(err, MICA_E_CONFLICT, "already_serving",
					    "another mica serve (process %ld) is "
					    "serving %s: stop it first", pid, datadir);
		return mica_err_set(err, MICA_E_CONFLICT, "already_serving",
				    "another mica serve is serving %s: stop "
				    "it first", datadir);
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

void
ca_serve_unlock(int fd)
{
	if (fd < 0)
		return;
	/* Still under the lock: the next daemon finds no stale id (one
	 * left by a failure here is only ever shown, never trusted). */
	if (ftruncate(fd, 0) != 0)
		mica_log(MICA_LOG_WARN, "serve.lock: cannot clear the process id");
	close(fd);
}

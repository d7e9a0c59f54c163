/*
 * util/leftover.c - temporary files locked while written, and the sweep
 * of those killed writers left (util/leftover.h).
 */
#include "util/leftover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fault.h"
#include "util/log.h"

#define TMP_RANDOM 6             /* the X's of mkstemp(3) */
#define CREATE_TRIES 8

int
mica_flock(int fd, int op)
{
	/* Tests stand in for a file system without locks. */
	if (MICA_FAULT("flock")) {
		errno = ENOLCK;
		return -1;
	}
	return flock(fd, op);
}

int
mica_flock_unsupported(int e)
{
	/* ENOLCK: NFS without a lock manager; EOPNOTSUPP (ENOTSUP on
	 * Linux): FUSE and CIFS mounts without locks; EINVAL: the rest. */
	return e == ENOLCK || e == EOPNOTSUPP || e == EINVAL;
}

int
mica_tmp_create(const char *path, const char *sep, char *tmp, size_t size)
{
	struct stat a, b;
	int fd, n;

	for (int i = 0; i < CREATE_TRIES; i++) {
		n = snprintf(tmp, size, "%s%sXXXXXX", path, sep);
		if (n < 0 || (size_t)n >= size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
			return -1;
		/* Tests hold the writer here, its file made, not yet locked,
		 * and lock it themselves as a sweep would (util/fault.h). */
		MICA_TEST_GATE("MICA_TEST_TMP_GATE");
		if ((mica_flock(fd, LOCK_EX | LOCK_NB) != 0 &&
		     !mica_flock_unsupported(errno)) || fstat(fd, &a) != 0) {
			int e = errno;

			close(fd);
			/* A sweep holds it: it took the file for a dead
			 * writer's and removes it; another name is made. */
			if (e == EWOULDBLOCK)
				continue;
			unlink(tmp);
			errno = e;
			return -1;
		}
		/* A sweep that locked the file between its creation and our
		 * lock may have removed the name: then it is not ours to
		 * write under, and another name is made. */
		if (lstat(tmp, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

/* 1 if NAME is PREFIX followed by exactly TMP_RANDOM characters of
 * mkstemp's alphabet (and nothing else), else 0. */
static int
tmp_name(const char *name, const char *prefix, size_t plen)
{
	const char *r = name + plen;

	if (strncmp(name, prefix, plen) != 0 || strlen(r) != TMP_RANDOM)
		return 0;
	for (int i = 0; i < TMP_RANDOM; i++)
		if (!((r[i] >= 'A' && r[i] <= 'Z') || (r[i] >= 'a' && r[i] <= 'z') ||
		      (r[i] >= '0' && r[i] <= '9')))
			return 0;
	return 1;
}

/* Remove NAME under DFD if it is a regular file of ours that nobody holds
 * locked: 1 removed, 0 not. */
static int
remove_dead(int dfd, const char *name)
{
	static const char *const sides[] = { "-journal", "-wal", "-shm" };
	struct stat a, b;
	char side[NAME_MAX + 16];
	int fd, rc = 0;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
		    O_NOCTTY);
	if (fd < 0)
		return 0;
	/* A live writer holds its lock: EWOULDBLOCK, and the file stays. */
	if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode) || a.st_uid != geteuid() ||
	    mica_flock(fd, LOCK_EX | LOCK_NB) != 0)
		goto out;
	/* Still the file we locked under that name. */
	if (fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) != 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		goto out;
	/* The side files first: a -journal or -wal without its database is
	 * harmless, a database without them might be replayed wrong. */
	for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", name, sides[i]);
		if (fstatat(dfd, side, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(b.st_mode) && b.st_uid == geteuid())
			(void)unlinkat(dfd, side, 0);
	}
	rc = unlinkat(dfd, name, 0) == 0;
out:
	close(fd);
	return rc;
}

int
mica_tmp_sweep_at(int dfd, const char *dir, const char *prefix,
		  const char *what)
{
	struct dirent *de;
	size_t plen = strlen(prefix);
	DIR *d;
	int fd, n = 0;

	if ((fd = dup(dfd)) < 0)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (tmp_name(de->d_name, prefix, plen) &&
		    remove_dead(dfd, de->d_name)) {
			mica_log(MICA_LOG_INFO, "removed %s/%s, left by %s",
				 dir, de->d_name, what);
			n++;
		}
	closedir(d);
	return n;
}

int
mica_tmp_sweep(const char *path, const char *sep, const char *what)
{
	char dir[PATH_MAX], prefix[NAME_MAX + 1];
	const char *slash = strrchr(path, '/'), *base;
	int dfd, n;

	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	} else if ((size_t)(slash - path) >= sizeof(dir)) {
		return 0;
	} else {
		/* "/x" lives in "/". */
		snprintf(dir, sizeof(dir), "%.*s",
			 slash == path ? 1 : (int)(slash - path), path);
		base = slash + 1;
	}
	if (base[0] == '\0' ||
	    snprintf(prefix, sizeof(prefix), "%s%s", base, sep) >=
	    (int)sizeof(prefix))
		return 0;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;
	n = mica_tmp_sweep_at(dfd, dir, prefix, what);
	close(dfd);
	return n;
}

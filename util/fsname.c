/*
 * util/fsname.c - rename without replacing, and directory syncs
 * (util/fsname.h).
 */
#include "util/fsname.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fault.h"

int
mica_rename_noreplace(const char *from, const char *to)
{
	int e;

	/* Fault point (tests): a file system without RENAME_NOREPLACE. */
	if (MICA_FAULT("fs_no_noreplace"))
		errno = EINVAL;
	else if (renameat2(AT_FDCWD, from, AT_FDCWD, to,
			   RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(from, to) != 0)
		return -1;
	if (unlink(from) == 0)
		return 0;
	/* Not both names: TO goes again, FROM stays the one. */
	e = errno;
	(void)unlink(to);
	errno = e;
	return -1;
}

int
mica_sync_dir(const char *dir)
{
	int fd, e;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (fsync(fd) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

int
mica_sync_dir_of(const char *path)
{
	char dir[PATH_MAX];

	if (mica_dir_of(path, dir, sizeof(dir)) != 0)
		return -1;
	return mica_sync_dir(dir);
}

int
mica_dir_of(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);

	if (n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (slash == NULL)
		memcpy(out, ".", 2);
	else {
		memcpy(out, path, n);   /* "/" itself when under the root */
		out[n] = '\0';
	}
	return 0;
}

/* Is PATH's folder sticky and writable by its group or by all? Its
 * stat into *DS. */
static int
shared_dir(const char *path, struct stat *ds)
{
	char dir[PATH_MAX];

	return path != NULL && mica_dir_of(path, dir, sizeof(dir)) == 0 &&
	       stat(dir, ds) == 0 && (ds->st_mode & S_ISVTX) &&
	       (ds->st_mode & (S_IWGRP | S_IWOTH));
}

int
mica_shared_dir(const char *path)
{
	struct stat ds;

	return shared_dir(path, &ds);
}

int
mica_planted(const char *path)
{
	struct stat st, ds;

	return path != NULL && lstat(path, &st) == 0 &&
	       (S_ISLNK(st.st_mode) || S_ISFIFO(st.st_mode)) &&
	       shared_dir(path, &ds) && st.st_uid != geteuid() &&
	       st.st_uid != ds.st_uid;
}

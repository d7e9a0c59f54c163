/*
 * util/fsname.c - rename without replacing (util/fsname.h).
 */
#include "util/fsname.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

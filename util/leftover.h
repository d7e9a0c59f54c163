/*
 * util/leftover.h - temporary files that a process killed half-way leaves
 * behind, and their removal by the next run.
 *
 * A file is written under a temporary name beside its target and renamed
 * over it once whole. The writer holds an exclusive flock(2) on the
 * temporary file from its creation until it is renamed or removed; the
 * kernel drops that lock however the writer ends, kill -9 included. So a
 * file of the temporary pattern that can be locked has no live writer:
 * it is a leftover, and the next run removes it. Guesses from process
 * ids or ages are never used (a container's commands all share one PID).
 */
#ifndef MICA_UTIL_LEFTOVER_H
#define MICA_UTIL_LEFTOVER_H

#include <stddef.h>

/* flock(2), or -1 with errno ENOLCK where the fault point "flock" fires
 * (util/fault.h: a file system without locks, for tests). */
int mica_flock(int fd, int op);

/* 1 if E, an errno from flock(2), says the file system takes no locks
 * (some NFS, FUSE and CIFS mounts), else 0. Where there are none, writers
 * go on unlocked and sweeps, which need a lock to remove anything, remove
 * nothing. */
int mica_flock_unsupported(int e);

/* Create a new empty file (mode 0600, close-on-exec) named PATH, then SEP,
 * then six characters mkstemp(3) picks, its name into TMP (SIZE bytes),
 * and lock it (where the file system has locks): the descriptor, which
 * the caller keeps open until the file is renamed or removed, or -1 with
 * errno set (ENAMETOOLONG: TMP too small). */
int mica_tmp_create(const char *path, const char *sep, char *tmp, size_t size);

/* Remove what killed writers left beside PATH: the regular files of this
 * user named exactly PATH, SEP and six mkstemp characters that no process
 * holds locked, each with its SQLite side files (-journal, -wal, -shm).
 * Each removal is logged at INFO, naming the file and WHAT left it ("an
 * interrupted 'mica backup'"). Returns how many were removed; nothing
 * else is ever touched, and errors only leave files in place. */
int mica_tmp_sweep(const char *path, const char *sep, const char *what);

/* The same for a directory already open as DFD (DIR names it in the
 * log): files named PREFIX and six mkstemp characters. */
int mica_tmp_sweep_at(int dfd, const char *dir, const char *prefix,
		      const char *what);

#endif

/*
 * util/fsname.h - give a finished file its name without replacing one
 * that appeared meanwhile, shared by db/ (backups) and ca/ (init and
 * restore), and make a directory's names durable.
 */
#ifndef MICA_UTIL_FSNAME_H
#define MICA_UTIL_FSNAME_H

#include <stddef.h>

/* Rename FROM to TO (same directory or file system) unless TO exists:
 * renameat2(RENAME_NOREPLACE), or where the file system does not have it
 * (NFS: EINVAL) link() and unlink(), which refuse an existing TO as well.
 * A file system with no hard links (FAT, exFAT: EPERM from link) has
 * RENAME_NOREPLACE. 0, or -1 with errno set (EEXIST: TO exists), FROM
 * then still under its name and TO as it was. */
int mica_rename_noreplace(const char *from, const char *to);

/* fsync the directory DIR, so that a name made, changed or removed in it
 * is on disk. 0, or -1 with errno set by the call that failed. */
int mica_sync_dir(const char *dir);
/* The directory that holds PATH into OUT (SIZE bytes): "." for a bare
 * name, "/" for one under the root, else PATH up to its last '/'. 0, or
 * -1 (errno ENAMETOOLONG) when it does not fit. */
int mica_dir_of(const char *path, char *out, size_t size);
/* mica_sync_dir of mica_dir_of(PATH). */
int mica_sync_dir_of(const char *path);
/* Is PATH, as lstat() sees it, a symbolic link or a FIFO that another
 * user planted in a shared folder: its folder sticky and writable by its
 * group or by all (/tmp), PATH owned neither by this process's user nor
 * by the folder's owner? Following such a link, or writing into such a
 * FIFO, would let that user aim mica's output (a certificate, a token, a
 * log line) at a file of theirs or of ours - what the kernel's
 * protected_symlinks and protected_fifos settings refuse to open(), but
 * not a realpath() then rename(). 1 if so, else 0 (also when PATH is
 * none of these or cannot be looked at). */
int mica_planted(const char *path);
/* Is the folder holding PATH sticky and writable by its group or by all
 * (/tmp)? Another user can make a name there that is not yet taken, but
 * cannot replace one that is ours (or the folder owner's). */
int mica_shared_dir(const char *path);

#endif

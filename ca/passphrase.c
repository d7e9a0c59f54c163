/*
 * ca/passphrase.c - the secrets that open the CA key: reading a passphrase
 * (file, environment or the data directory's file), generating one for a
 * new CA, and re-sealing the keys (the CA's, SCEP's RA key) under a new
 * passphrase.
 */
#include "ca/ca.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "ca/sign.h"
#include "util/fault.h"
#include "util/fsname.h"
#include "util/hex.h"
#include "util/leftover.h"
#include "util/log.h"

void
ca_pass_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Refuse a file that group or others may read: whoever can read the
 * passphrase can unseal the key from a copy of the database. */
int
ca_pass_read_file(const char *path, char **out, struct mica_err *err)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t len = 0;
	int fd = -1, rc = -1;

	*out = NULL;
	/* O_NONBLOCK: a FIFO (or a tty) is refused below as not a regular
	 * file, and must not hang the command first waiting for a writer;
	 * a regular file reads the same with it. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
		       O_NONBLOCK)) < 0) {
		int e = errno;
		struct stat lst;

		if (e == ELOOP && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
			mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
				     "the passphrase file %s is a symbolic link; "
				     "give the file it names", path);
		else
			mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
				     "cannot open the passphrase file %s: %s",
				     path, strerror(e));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
			     "the passphrase file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		mica_err_set(err, MICA_E_FORBIDDEN, "insecure_permissions",
			     "the passphrase file %s is readable by group or "
			     "others; run chmod 600 %s", path, path);
		goto out;
	}
	if ((buf = calloc(1, CA_PASS_MAX + 2)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	while (len < CA_PASS_MAX + 1 &&
	       (n = read(fd, buf + len, CA_PASS_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* Not a passphrase cut short at the failure. */
			mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
				     "cannot read the passphrase file %s: %s",
				     path, strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > CA_PASS_MAX) {
		mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
			     "the passphrase file %s is larger than %d bytes",
			     path, CA_PASS_MAX);
		goto out;
	}
	/* The passphrase is every byte of the file but one final line ending
	 * (LF or CRLF). Anything that would make part of the file not count
	 * (a NUL, a second line, a stray CR) is refused rather than cut off:
	 * a passphrase silently shortened to its first line, or to the bytes
	 * before a NUL, is a far weaker one than its owner believes. */
	if (memchr(buf, '\0', len) != NULL) {
		mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
			     "the passphrase file %s contains a NUL byte; it must hold "
			     "the passphrase alone, on one line", path);
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	buf[len] = '\0';
	if (memchr(buf, '\n', len) != NULL) {
		mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
			     "the passphrase file %s holds more than one line; it must "
			     "hold the passphrase alone, on one line", path);
		goto out;
	}
	if (memchr(buf, '\r', len) != NULL) {
		mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
			     "the passphrase file %s contains a carriage return that "
			     "does not end its only line", path);
		goto out;
	}
	if (len == 0) {
		mica_err_set(err, MICA_E_BADREQ, "passphrase_file",
			     "the passphrase file %s is empty", path);
		goto out;
	}
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, CA_PASS_MAX + 2);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

void
ca_pass_env_scrub(void)
{
	static const char name[] = "MICA_PASSPHRASE=";
	char *env = getenv("MICA_PASSPHRASE");
	size_t len = env != NULL ? strlen(env) : 0;

	/* Drop the variable, so that nothing this process starts inherits it,
	 * then wipe the whole "NAME=value" string where the kernel shows it
	 * (/proc/PID/environ reads this very memory; getenv() points just
	 * past the '='). */
	unsetenv("MICA_PASSPHRASE");
	if (env != NULL)
		explicit_bzero(env - (sizeof(name) - 1), sizeof(name) - 1 + len);
}

/* 1 if PATH is DATADIR's passphrase file (the same file, by whatever
 * name), else 0. */
static int
is_datadir_file(const char *datadir, const char *path)
{
	char own[PATH_MAX];
	struct stat a, b;

	if (ca_path_join(own, sizeof(own), datadir, CA_PASS_FILE) != 0 ||
	    stat(path, &a) != 0 || stat(own, &b) != 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static const char SRC_FILE[] = "--passphrase-file";
static const char SRC_ENV[] = "MICA_PASSPHRASE";
static const char SRC_DATADIR[] = CA_PASS_FILE " in the data directory";

/* ca_pass_source, and in PATH (SIZE bytes) the name of DATADIR's file
 * when that is the source: the name whose existence decided it is the
 * one ca_pass_get reads, joined once. A DATADIR too long to name its
 * file in SIZE leaves PATH "" and the source NULL. */
static const char *
pass_source(const char *datadir, const char *file, char *path, size_t size)
{
	const char *env = getenv("MICA_PASSPHRASE");

	path[0] = '\0';
	if (file != NULL)
		return SRC_FILE;
	if (env != NULL && env[0] != '\0')
		return SRC_ENV;
	if (ca_path_join(path, size, datadir, CA_PASS_FILE) != 0) {
		path[0] = '\0';
		return NULL;
	}
	return access(path, F_OK) == 0 ? SRC_DATADIR : NULL;
}

const char *
ca_pass_source(const char *datadir, const char *file)
{
	char path[PATH_MAX];

	return pass_source(datadir, file, path, sizeof(path));
}

int
ca_pass_get(const char *datadir, const char *file, char **out,
	    int *from_datadir, struct mica_err *err)
{
	char path[PATH_MAX];
	const char *src, *env;

	if (from_datadir != NULL)
		*from_datadir = 0;
	if ((src = pass_source(datadir, file, path, sizeof(path))) == SRC_FILE) {
		/* FILE as given: a relative name is the caller's, from the
		 * working directory, never joined to DATADIR. */
		if (ca_pass_read_file(file, out, err) != 0)
			return -1;
		if (from_datadir != NULL)
			*from_datadir = is_datadir_file(datadir, file);
		return 0;
	}
	/* The variable is taken as it is, as it always was: refusing a line
	 * break here could lock out a CA sealed under one. A new passphrase
	 * is held to ca_pass_check_new. */
	if (src == SRC_ENV) {
		env = getenv("MICA_PASSPHRASE");
		if (strlen(env) > CA_PASS_MAX)
			return mica_err_set(err, MICA_E_BADREQ, "passphrase",
					    "MICA_PASSPHRASE is longer than %d bytes", CA_PASS_MAX);
		if ((*out = strdup(env)) == NULL)
			return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
					    "out of memory");
		return 0;
	}
	if (path[0] == '\0')
		return mica_err_set(err, MICA_E_BADREQ, "bad_path", "data directory path too long");
	if (src == NULL)
		return mica_err_set(err, MICA_E_UNAUTH, "no_passphrase",
				    "no passphrase: set MICA_PASSPHRASE or use --passphrase-file "
				    "(no %s file in the data directory)", CA_PASS_FILE);
	if (ca_pass_read_file(path, out, err) != 0)
		return -1;
	if (from_datadir != NULL)
		*from_datadir = 1;
	return 0;
}

int
ca_pass_check_new(const char *pass, struct mica_err *err)
{
	size_t chars = 0;

	if (strpbrk(pass, "\r\n") != NULL)
		return mica_err_set(err, MICA_E_BADREQ, "passphrase",
				    "a new passphrase cannot contain a line break "
				    "(CR or LF)");
	/* Characters, not bytes: UTF-8 continuation bytes do not count. */
	for (const unsigned char *c = (const unsigned char *)pass; *c; c++)
		if ((*c & 0xc0) != 0x80)
			chars++;
	if (chars < CA_PASS_MIN)
		return mica_err_set(err, MICA_E_POLICY, "passphrase_too_short",
				    "a new passphrase needs at least %d characters "
				    "(this one has %zu)", CA_PASS_MIN, chars);
	return 0;
}

int
ca_pass_generate(const char *path, char **out, struct mica_err *err)
{
	unsigned char raw[32];
	char *pass = NULL, line[80], tmp[PATH_MAX];
	size_t off = 0;
	int fd = -1, rc = -1;

	tmp[0] = '\0';
	if (ca_random(raw, sizeof(raw), err) != 0)
		goto out;
	if ((pass = malloc(65)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	mica_hex_encode(raw, sizeof(raw), pass);
	/* Written whole under a name of its own, then named PATH: a run
	 * killed half-way must not leave an empty or cut PATH, which every
	 * later start would take for the passphrase (a first 'mica serve'
	 * finishes under the one in the data directory). What such a run
	 * left, nobody holding it, goes first. */
	(void)mica_tmp_sweep(path, CA_PASS_NEW_SEP, "an interrupted 'mica init'");
	if ((fd = mica_tmp_create(path, CA_PASS_NEW_SEP, tmp, sizeof(tmp))) < 0) {
		tmp[0] = '\0';
		mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
			     "cannot create the passphrase file: %s", strerror(errno));
		goto out;
	}
	snprintf(line, sizeof(line), "%s\n", pass);
	while (off < strlen(line)) {
		ssize_t n = write(fd, line + off, strlen(line) - off);
		if (n <= 0) {
			mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
				     "cannot write the passphrase file: %s", strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
			     "cannot sync the passphrase file: %s", strerror(errno));
		goto out;
	}
	/* Tests kill the command here: the file written, not yet named. */
	MICA_TEST_GATE("MICA_TEST_PASSGEN_GATE");
	if (mica_rename_noreplace(tmp, path) != 0) {
		mica_err_set(err, errno == EEXIST ? MICA_E_CONFLICT : MICA_E_UNAVAIL,
			     "passphrase_file", "cannot create the passphrase "
			     "file: %s", strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	if (mica_sync_dir_of(path) != 0) {
		mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
			     "cannot sync the passphrase file: %s", strerror(errno));
		unlink(path);
		goto out;
	}
	*out = pass;
	pass = NULL;
	rc = 0;
out:
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(line, sizeof(line));
	ca_pass_free(pass);
	if (tmp[0] != '\0')
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ------------------------------------------------------- the sealed key -- */

void
ca_row_set_sealed(struct db_ca *row, struct ca_sealed_key *sealed)
{
	row->key_salt = sealed->salt;
	row->key_salt_len = sizeof(sealed->salt);
	row->key_iter = sealed->iter;
	row->key_nonce = sealed->nonce;
	row->key_nonce_len = sizeof(sealed->nonce);
	row->key_ct = sealed->ct;
	row->key_ct_len = sealed->ct_len;
}

/* The CA's other keys, re-sealed (a passphrase change). */
struct resealed {
	int idx;
	struct ca_sealed_key sealed;
};

struct reseal_tx {
	const struct db_ca *row;
	const struct resealed *others;
	size_t nothers;
	const struct ca_sealed_key *ra;      /* SCEP's RA key, or NULL */
	const char *actor;
	const unsigned char *salt;   /* the unsealed key's, or NULL */
};

static int
reseal_body(struct db *db, void *arg, struct mica_err *err)
{
	struct reseal_tx *x = arg;
	struct db_ca cur;
	int same;

	/* Two changes at once: the second would seal over the first's keys
	 * while the first renames its passphrase file into place last,
	 * leaving the file and the keys at odds. The key this handle
	 * unsealed must still be the one stored. */
	memset(&cur, 0, sizeof(cur));
	if (db_ca_get(db, &cur, err) != 0)
		return -1;
	same = x->salt != NULL && cur.key_salt_len == 16 &&
	       memcmp(cur.key_salt, x->salt, 16) == 0;
	db_ca_free(&cur);
	if (!same)
		return mica_err_set(err, MICA_E_CONFLICT, "passphrase_changed",
				    "another command changed the passphrase "
				    "meanwhile; nothing changed (run 'mica "
				    "passphrase' again, with the passphrase "
				    "that one set as --passphrase-file)");
	if (db_ca_update_key(db, x->row, err) != 0)
		return -1;
	for (size_t i = 0; i < x->nothers; i++) {
		struct db_ca_key k;
		struct ca_sealed_key *s = (struct ca_sealed_key *)
					  &x->others[i].sealed;

		memset(&k, 0, sizeof(k));
		k.idx = x->others[i].idx;
		k.key_salt = s->salt;
		k.key_salt_len = sizeof(s->salt);
		k.key_iter = s->iter;
		k.key_nonce = s->nonce;
		k.key_nonce_len = sizeof(s->nonce);
		k.key_ct = s->ct;
		k.key_ct_len = s->ct_len;
		if (db_ca_key_update_sealed(db, &k, err) != 0)
			return -1;
	}
	if (x->ra != NULL) {
		struct db_scep_key r;

		memset(&r, 0, sizeof(r));
		memcpy(r.salt, x->ra->salt, sizeof(r.salt));
		memcpy(r.nonce, x->ra->nonce, sizeof(r.nonce));
		r.iter = x->ra->iter;
		r.ct = x->ra->ct;          /* borrowed */
		r.ct_len = x->ra->ct_len;
		if (db_scep_key_set(db, &r, ca_now(), err) != 0)
			return -1;
	}
	return db_audit_add(db, ca_now(), x->actor, "ca.passphrase", NULL,
			    x->nothers > 0 || x->ra != NULL ?
			    (x->ra != NULL ? "keys (and SCEP's RA key) "
			     "re-sealed under a new passphrase" : "keys "
			     "re-sealed under a new passphrase") :
			    "key re-sealed under a new passphrase", err);
}

/* DATADIR/.passphrase.HEX, HEX the salt SALT (16 octets) of the sealed
 * CA key whose passphrase it holds. */
static int
pass_file_pending(const char *datadir, const unsigned char *salt, char *out,
		  size_t size)
{
	char hex[33];
	int n;

	mica_hex_encode(salt, 16, hex);
	n = snprintf(out, size, "%s/.%s.%s", datadir, CA_PASS_FILE, hex);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The new passphrase, in a temporary file beside DATADIR's passphrase file
 * (0600, synced), to be renamed over it once the re-seal has committed.
 * The file is named by SALT, the new sealed key's: if the command dies
 * between the commit and the rename, the next open finds it by the salt
 * in the store and finishes the job (ca_pass_roll_forward). TMP gets its
 * name. */
static int
pass_file_prepare(const char *datadir, const char *pass,
		  const unsigned char *salt, char *tmp, size_t tmpsz,
		  struct mica_err *err)
{
	size_t len = strlen(pass), off = 0;
	char *line = NULL;
	int fd = -1, rc = -1;

	if (pass_file_pending(datadir, salt, tmp, tmpsz) != 0) {
		tmp[0] = '\0';
		return mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "data directory path too long");
	}
	if ((line = malloc(len + 2)) == NULL) {
		tmp[0] = '\0';
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	}
	memcpy(line, pass, len);
	line[len++] = '\n';
	line[len] = '\0';
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		       O_NOFOLLOW, 0600)) < 0) {
		mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
			     "cannot create a file in %s for the new passphrase: %s",
			     datadir, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(fd, 0600) != 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, line + off, len - off);
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
		     "cannot write the new passphrase to %s: %s", tmp,
		     strerror(errno));
	unlink(tmp);
	tmp[0] = '\0';
out:
	if (fd >= 0)
		close(fd);
	explicit_bzero(line, len);
	free(line);
	return rc;
}

/* 1 if NAME is one pass_file_pending makes: ".passphrase." and the 32
 * lowercase hex digits of a salt. */
static int
pass_file_pending_name(const char *name)
{
	static const char prefix[] = "." CA_PASS_FILE ".";
	const char *h = name + sizeof(prefix) - 1;

	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0 ||
	    strlen(h) != 32)
		return 0;
	for (int i = 0; i < 32; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return 1;
}

/* Remove what killed runs of 'mica passphrase' left in DATADIR: each
 * .passphrase.SALT holds a passphrase (a copy an admin who moves the
 * passphrase off the machine would not know to shred). Only names mica
 * makes: an admin's own .passphrase.old (the passphrase that backups
 * made before the change still need) is not a leftover. Run once this
 * command's own has been renamed into place, under the directory lock:
 * no other change is between writing its file and renaming it. */
static void
pass_file_sweep(const char *datadir)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(datadir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (pass_file_pending_name(de->d_name) &&
		    unlinkat(dirfd(d), de->d_name, 0) == 0)
			mica_log(MICA_LOG_INFO, "removed %s/%s, left by an "
				 "interrupted 'mica passphrase'", datadir,
				 de->d_name);
	closedir(d);
}

/* Rename TMP over DATADIR's passphrase file, and sync the directory. */
static int
pass_file_install(const char *datadir, const char *tmp, struct mica_err *err)
{
	char path[PATH_MAX];

	if (ca_path_join(path, sizeof(path), datadir, CA_PASS_FILE) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "data directory path too long");
	/* TMP gone after the re-seal committed: another command's open
	 * found it by the new salt and moved it here already
	 * (ca_pass_roll_forward). No other change swept it: this one holds
	 * the directory lock until its own sweep. */
	if (rename(tmp, path) != 0 && errno != ENOENT)
		return mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
				    "%s", strerror(errno));
	if (mica_sync_dir(datadir) != 0)
		return mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
				    "cannot sync %s: %s", datadir,
				    strerror(errno));
	return 0;
}

int
ca_passphrase_change(struct ca *ca, const struct ca_principal *p,
		     const char *new_file, int *datadir_file,
		     struct mica_err *err)
{
	char tmp[PATH_MAX] = "", own[PATH_MAX];
	struct ca_sealed_key sealed, ra;
	struct resealed others[CA_KEYS_MAX];
	struct db_ca row;
	struct reseal_tx x;
	char *pass = NULL;
	size_t n = 0;
	int rc = -1, lockfd = -1;

	memset(&sealed, 0, sizeof(sealed));
	memset(&ra, 0, sizeof(ra));
	memset(&row, 0, sizeof(row));
	memset(others, 0, sizeof(others));
	if (datadir_file != NULL)
		*datadir_file = CA_PASSFILE_NONE;
	if (ca_require_admin(p, err) != 0)
		return -1;
	/* Without CA_OPEN_ALL_KEYS SCEP's RA key would stay sealed under the
	 * old passphrase, and the next start would make another RA. */
	if (ca->sh->key == NULL || !(ca->sh->flags & CA_OPEN_ALL_KEYS))
		return mica_err_set(err, MICA_E_INTERNAL, "ca_locked",
				    "the CA keys are not unlocked");
	if (ca_pass_read_file(new_file, &pass, err) != 0)
		return -1;
	if (ca_pass_check_new(pass, err) != 0)
		goto out;
	/* The old passphrase came from the data directory's file: that file
	 * gets the new one, or the next command would find the old. It is
	 * written (and synced) first, renamed into place once the re-seal
	 * has committed. */
	if (ca_key_seal(ca->sh->key, pass, strlen(pass), CA_KDF_DEFAULT_ITER,
			&sealed, err) != 0)
		goto out;
	/* DATADIR's lock, from before this change writes its .passphrase.SALT
	 * until it has swept the others: a change that committed after
	 * another opened the store would otherwise sweep that one's file,
	 * still to be renamed, and leave DATADIR/passphrase at odds with the
	 * key. It waits for a change that holds it. */
	if (ca->sh->pass_in_datadir &&
	    (ca_datadir_lock(ca->sh->datadir, 1, "passphrase_file", &lockfd,
			     err) != 0 ||
	     pass_file_prepare(ca->sh->datadir, pass, sealed.salt, tmp,
			       sizeof(tmp), err) != 0))
		goto out;
	/* Tests hold the command here: its file written, not committed. */
	MICA_TEST_GATE("MICA_TEST_PASSPHRASE_PREPARED_GATE");
	/* Every key of the CA is sealed under the one passphrase: those a
	 * rollover retired and a pending renewal's too. */
	for (size_t i = 0; i < ca->sh->nretired; i++) {
		if (ca->sh->retired[i].key == NULL)
			continue;
		others[n].idx = ca->sh->retired[i].idx;
		if (ca_key_seal(ca->sh->retired[i].key, pass, strlen(pass),
				CA_KDF_DEFAULT_ITER, &others[n++].sealed,
				err) != 0)
			goto out;
	}
	if (ca->sh->pending_key != NULL) {
		others[n].idx = ca->sh->pending_idx;
		if (ca_key_seal(ca->sh->pending_key, pass, strlen(pass),
				CA_KDF_DEFAULT_ITER, &others[n++].sealed,
				err) != 0)
			goto out;
	}
	if (ca->sh->scep_key_stored &&
	    ca_key_seal(ca->sh->scep_key, pass, strlen(pass),
			CA_KDF_DEFAULT_ITER, &ra, err) != 0)
		goto out;
	ca_row_set_sealed(&row, &sealed);
	x.row = &row;
	x.others = others;
	x.nothers = n;
	x.ra = ca->sh->scep_key_stored ? &ra : NULL;
	x.actor = p->actor;
	x.salt = ca->sh->unsealed_salt_set ? ca->sh->unsealed_salt : NULL;
	if (ca_tx(ca, CA_TX_DURABLE, reseal_body, &x, err) != 0)
		goto out;
	/* Tests kill the command here: committed, the file not yet renamed
	 * (util/fault.h). */
	MICA_TEST_GATE("MICA_TEST_PASSPHRASE_GATE");
	if (tmp[0] != '\0') {
		struct mica_err e2;

		if (pass_file_install(ca->sh->datadir, tmp, &e2) != 0) {
			/* Committed: the key is under the new passphrase. */
			mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
				     "the keys are now sealed under the passphrase in "
				     "%s, but %s/%s still holds the old one (%s): copy "
				     "%s there (mode 0600)", new_file, ca->sh->datadir,
				     CA_PASS_FILE, e2.msg, new_file);
			goto out;
		}
		tmp[0] = '\0';
		pass_file_sweep(ca->sh->datadir);
		if (datadir_file != NULL)
			*datadir_file = CA_PASSFILE_UPDATED;
	} else if (datadir_file != NULL &&
		   ca_path_join(own, sizeof(own), ca->sh->datadir,
				CA_PASS_FILE) == 0 &&
		   access(own, F_OK) == 0 && !is_datadir_file(ca->sh->datadir,
							      new_file)) {
		*datadir_file = CA_PASSFILE_LEFT;
	}
	rc = 0;
out:
	if (tmp[0] != '\0')
		unlink(tmp);
	if (lockfd >= 0)
		close(lockfd);
	ca_pass_free(pass);
	ca_sealed_key_free(&sealed);
	ca_sealed_key_free(&ra);
	for (size_t i = 0; i < CA_KEYS_MAX; i++)
		ca_sealed_key_free(&others[i].sealed);
	return rc;
}

int
ca_pass_roll_forward(const char *datadir, const unsigned char *salt,
		     size_t salt_len, struct mica_err *err)
{
	char pending[PATH_MAX], path[PATH_MAX];
	struct stat sb;

	if (salt == NULL || salt_len != 16 ||
	    pass_file_pending(datadir, salt, pending, sizeof(pending)) != 0 ||
	    ca_path_join(path, sizeof(path), datadir, CA_PASS_FILE) != 0 ||
	    lstat(pending, &sb) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	/* The key is sealed under the passphrase in PENDING (its name is
	 * the salt in the store): 'mica passphrase' committed the re-seal
	 * and died before this rename. */
	if (rename(pending, path) != 0)
		return mica_err_set(err, MICA_E_UNAVAIL, "passphrase_file",
				    "an interrupted 'mica passphrase' left the "
				    "passphrase that now opens the key in %s, "
				    "and it cannot be moved over %s (%s): run "
				    "mv %s %s", pending, path, strerror(errno),
				    pending, path);
	(void)mica_sync_dir(datadir);
	mica_log(MICA_LOG_WARN, "%s now holds the new passphrase of an "
		 "interrupted 'mica passphrase' (it was in %s)", path, pending);
	return 0;
}

/*
 * ca/backup.c - copying the store while the CA runs, and restoring a copy
 * into an empty data directory.
 */
#include "ca/ca.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca_int.h"
#include "ca/cacert.h"
#include "ca/keys.h"
#include "util/fault.h"

/* ACTION ("ca.backup"), by the command line. */
static int
audit_body(struct db *db, void *arg, struct mica_err *err)
{
	return db_audit_add(db, ca_now(), ca_cli_actor(), (const char *)arg, NULL, NULL,
			    err);
}

/* What the restore's transaction does and finds. */
struct restored_tx {
	int64_t issuing;                /* its issuing rows */
	const struct ca_carry *carry;   /* revocations to carry in, or NULL */
	struct ca_carried carried;
};

/* The floor of the restored store's CRL numbers: the time in
 * microseconds, never below NOW's second (ca_now may be a test's clock). */
static int64_t
restore_floor(int64_t now)
{
	struct timespec ts;
	int64_t us = now * 1000000;

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    (int64_t)ts.tv_sec == now)
		us += (int64_t)ts.tv_nsec / 1000;
	return us;
}

/* The restored copy: when, its issuing rows counted, the revocations of
 * the CRLs given carried in, all said in the audit trail. */
static int
restored_body(struct db *db, void *arg, struct mica_err *err)
{
	struct restored_tx *x = arg;
	struct db_counts c;
	char detail[400];
	size_t n = 0;
	int64_t now = ca_now();

	/* Counted after the CRLs are carried in: an issuing row one of
	 * them revokes is no longer the admin's to revoke. CRL numbers go
	 * on above the time in microseconds (schema 025): the store the
	 * backup was taken of may have published after it, however fast
	 * (in seconds, a store that revoked in a loop ran ahead of the
	 * clock, and this one gave its numbers again). */
	if (db_ca_set_restored(db, now, restore_floor(now), err) != 0 ||
	    db_scep_tx_forget_issuing(db, err) != 0 ||
	    (x->carry != NULL &&
	     ca_carry_apply(db, x->carry, ca_cli_actor(), &x->carried, err) != 0) ||
	    db_counts(db, now, &c, err) != 0)
		return -1;
	x->issuing = c.issuing;
	detail[0] = '\0';
	if (c.issuing > 0)
		n = (size_t)snprintf(detail, sizeof(detail), "%lld "
			 "certificate(s) recorded as issuing in the backup: "
			 "perhaps completed and handed out after it was taken",
			 (long long)c.issuing);
	if (x->carry != NULL && n < sizeof(detail))
		snprintf(detail + n, sizeof(detail) - n, "%s%zu CRL(s) carried "
			 "in: %zu revoked, %zu never seen recorded revoked, %zu "
			 "revoked already, %zu raised to keyCompromise",
			 n > 0 ? "; " : "", x->carried.crls,
			 x->carried.revoked, x->carried.unknown,
			 x->carried.already, x->carried.raised);
	return db_audit_add(db, now, ca_cli_actor(), "ca.restore", NULL,
			    detail[0] != '\0' ? detail : NULL, err);
}

/* DEST may take a new backup: not a folder, nothing there. */
static int
backup_dest_ok(const char *dest, struct mica_err *err)
{
	struct stat sb;

	/* A folder is a likely slip ("mica backup /secure"): name the
	 * file it wants rather than speak of overwriting the folder. */
	if (stat(dest, &sb) == 0 && S_ISDIR(sb.st_mode))
		return mica_err_set(err, MICA_E_USAGE, "bad_path",
				    "%s is a directory; give the backup a file "
				    "name in it, such as %s/mica-backup.db",
				    dest, dest);
	if (access(dest, F_OK) == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "exists",
				    "%s exists; refusing to overwrite it", dest);
	return 0;
}

int
ca_backup(struct ca *ca, const char *dest, struct mica_err *err)
{
	if (backup_dest_ok(dest, err) != 0 || db_backup(ca->db, dest, err) != 0)
		return -1;
	/* Nothing can be written where a read-only handle's store lies
	 * (an offline root's stick): the copy is still worth having. */
	if (ca->sh->flags & CA_OPEN_READONLY)
		return 0;
	return ca_tx(ca, CA_TX_DURABLE, audit_body, (void *)"ca.backup", err);
}

int
ca_backup_older(const char *datadir, const char *dest, int *version,
		struct mica_err *err)
{
	char path[PATH_MAX];
	struct db *db = NULL;
	int rc;

	if (ca_path_join(path, sizeof(path), datadir, CA_DB_FILE) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "data directory path too long");
	if (ca_datadir_check(datadir, err) != 0 ||
	    backup_dest_ok(dest, err) != 0)
		return -1;
	/* Its pages only: this mica's statements expect the newest schema
	 * (the copy's crl rows, which db_backup reads to put the bodies
	 * back, are as old as the bodies' files, schema 13). */
	if (db_open(path, DB_OPEN_READONLY | DB_OPEN_OLDER, &db, err) != 0)
		return -1;
	if (version != NULL)
		*version = db_schema_version(db);
	rc = db_backup(db, dest, err);
	db_close(db);
	return rc;
}

/*
 * Check FILE before anything is written: a mica store (immutable: SQLite
 * leaves no -wal/-shm beside it), whose schema is exactly what mica builds
 * for its version, so that no trigger or view of its own comes along
 * (nothing but sqlite_master is read before this check, and reading it
 * runs none), and that passes integrity_check. The copy is made from SRC.
 */
static int
restore_source(const char *file, struct db **src, struct mica_err *err)
{
	struct stat sb;

	/* Said of FILE by name: the store's own "the database file does not
	 * exist" (exit 8) would read as if DIR were missing something. */
	if (stat(file, &sb) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_backup",
				    "cannot read the backup %s: %s", file,
				    strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return mica_err_set(err, MICA_E_BADREQ, "bad_backup",
				    "the backup %s is not a regular file", file);
	if (db_open(file, DB_OPEN_BACKUP, src, err) == 0 &&
	    db_schema_check(*src, err) == 0 &&
	    db_integrity_check(*src, err) == 0)
		return 0;
	/* What the file holds is malformed input, not a store failure. */
	if (err != NULL && (strcmp(err->code, "schema_mismatch") == 0 ||
			    strcmp(err->code, "schema_version") == 0 ||
			    strcmp(err->code, "not_a_mica_database") == 0 ||
			    strcmp(err->code, "store_corrupt") == 0))
		mica_err_set(err, MICA_E_BADREQ, "bad_backup",
			     "%s is not a backup as mica makes them (%s); "
			     "refusing it", file, err->msg);
	/* A newer mica's backup is no more usable here: exit 3 as
	 * 'restore --help' says, not 8 as if the store were busy. */
	else if (err != NULL && strcmp(err->code, "schema_too_new") == 0)
		mica_err_set(err, MICA_E_BADREQ, "bad_backup",
			     "%s comes from a newer mica (%s); refusing it",
			     file, err->msg);
	return -1;
}

/* 1 if K is the key certified by CERT (DER), 0 if not, -1 on error. */
static int
key_fits(const struct ca_key *k, const unsigned char *cert, size_t cert_len,
	 struct mica_err *err)
{
	struct ca_cert_info ci;
	unsigned char *spki = NULL;
	size_t n = 0;
	int rc;

	if (ca_cert_info_read(cert, cert_len, &ci, err) != 0 ||
	    ca_key_spki(k, &spki, &n, err) != 0)
		return -1;
	rc = n == ci.spki_len && memcmp(spki, ci.spki, n) == 0;
	free(spki);
	return rc;
}

/* Every unsealed key of CA (the current one once it has its certificate,
 * those a rollover retired) is the key of its certificate. A pending
 * renewal's key has no certificate yet, nor has a subordinate's awaiting
 * it. */
static int
keys_fit(struct ca *ca, const char *file, struct mica_err *err)
{
	struct ca_shared *sh = ca->sh;
	int r;

	if (sh->key != NULL && sh->cert_der != NULL && sh->cert_len > 0) {
		if ((r = key_fits(sh->key, sh->cert_der, sh->cert_len, err)) < 0)
			return -1;
		if (r == 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_backup",
					    "the sealed CA key in %s is not the "
					    "key of its certificate; refusing it",
					    file);
	}
	for (size_t i = 0; i < sh->nretired; i++) {
		if (sh->retired[i].key == NULL || sh->retired[i].cert == NULL)
			continue;
		if ((r = key_fits(sh->retired[i].key, sh->retired[i].cert,
				  sh->retired[i].cert_len, err)) < 0)
			return -1;
		if (r == 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_backup",
					    "the sealed key %d in %s is not the "
					    "key of its certificate; refusing it",
					    sh->retired[i].idx, file);
	}
	return 0;
}

/*
 * The restored store must open as every later command will open it
 * (read-only): its CA row and certificates must parse. With a passphrase
 * (SOURCE not NULL), every sealed CA key (the current one, its other
 * generations') must also open and be the key of its certificate: a
 * backup whose key is damaged is found now, not at the first signature.
 * SCEP's RA key is tried too (CA_OPEN_ALL_KEYS), but one that does not open
 * is only warned about, as at any open: the next 'mica serve' makes
 * another. Without a passphrase, the sealed keys cannot be checked.
 */
static int
restore_usable(const char *datadir, const char *dbfile, const char *file,
	       const char *passphrase_file, const char *source,
	       const struct ca_crl_file *crls, size_t ncrls,
	       struct ca_carry **carry, struct mica_err *err)
{
	struct mica_err e;
	struct ca *ca = NULL;
	int flags = CA_OPEN_READONLY;

	if (source != NULL)
		flags |= CA_OPEN_UNLOCK | CA_OPEN_ALL_KEYS;
	if (ca_open_file(datadir, dbfile, flags, passphrase_file, &ca,
			 &e) == 0) {
		int rc = source != NULL ? keys_fit(ca, file, err) : 0;

		/* The CRLs given must be the backup's CA's own. */
		if (rc == 0 && ncrls > 0)
			rc = ca_carry_read(ca, crls, ncrls, 1, carry, err);
		ca_close(ca);
		return rc;
	}
	if (e.kind == MICA_E_NOTFOUND)
		return mica_err_set(err, MICA_E_BADREQ, "not_a_backup",
				    "%s holds no mica CA", file);
	if (source != NULL && e.kind == MICA_E_UNAUTH)
		return mica_err_set(err, MICA_E_UNAUTH, e.code,
				    "the CA key in %s does not open with the "
				    "passphrase from %s: a wrong passphrase (give "
				    "the one it was sealed under with "
				    "--passphrase-file) or a damaged sealed key; "
				    "nothing restored", file, source);
	/* The passphrase's own source failed (unreadable, group-readable,
	 * too long): as any command would say it. */
	if (strcmp(e.code, "passphrase_file") == 0 ||
	    strcmp(e.code, "passphrase") == 0 ||
	    strcmp(e.code, "insecure_permissions") == 0) {
		*err = e;
		return -1;
	}
	return mica_err_set(err, MICA_E_BADREQ, "bad_backup",
			    "%s holds an unusable CA (%s); refusing it", file,
			    e.msg);
}

/* The copy is made under this name in DIR, and becomes DIR/mica.db only
 * once complete: a restore killed while copying leaves no mica.db that
 * the next restore (or any command) would take for a CA. */
#define RESTORE_PARTIAL CA_DB_FILE ".partial"

/* Remove what a killed restore left in the directory DFD: its partial copy,
 * the copy's side files and db_backup's temporary file. Only under the
 * restore lock, so none is a running restore's. */
static void
partial_sweep(int dfd)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(dfd)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, RESTORE_PARTIAL,
			    sizeof(RESTORE_PARTIAL) - 1) == 0)
			unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

/* Publish the CRLs of the store just restored in DATADIR, which list
 * what was carried in. */
static int
restore_publish(const char *datadir, const char *passphrase_file,
		struct mica_err *err)
{
	struct ca_principal p;
	struct ca *ca = NULL;
	int rc;

	ca_principal_cli(&p);
	if (ca_open(datadir, CA_OPEN_UNLOCK, passphrase_file, &ca, err) != 0)
		return -1;
	rc = ca_crl_publish(ca, &p, NULL, err);
	ca_close(ca);
	return rc;
}

/* Every CRL file of CRLS must read as a CRL before anything is made. */
static int
crls_readable(const struct ca_crl_file *crls, size_t n, struct mica_err *err)
{
	struct ca_crl_info crl;
	unsigned char *der;
	size_t len;

	for (size_t i = 0; i < n; i++) {
		if (ca_crl_file_check(&crls[i], &der, &len, &crl, err) != 0)
			return -1;
		free(der);
	}
	return 0;
}

int
ca_restore(const char *datadir, const char *file, const char *passphrase_file,
	   int *key_checked, int64_t *issuing, struct mica_err *err)
{
	return ca_restore_crls(datadir, file, passphrase_file, NULL, 0,
			       key_checked, issuing, NULL, err);
}

int
ca_restore_crls(const char *datadir, const char *file,
		const char *passphrase_file, const struct ca_crl_file *crls,
		size_t ncrls, int *key_checked, int64_t *issuing,
		struct ca_carried *carried, struct mica_err *err)
{
	const char *source;
	struct db *src = NULL, *dst = NULL;
	struct ca boot;
	struct ca_carry *carry = NULL;
	struct restored_tx x;
	char dbpath[PATH_MAX], partial[PATH_MAX];
	mode_t old_umask;
	int rc = -1, r, made_dir = 0, copied = 0, dfd = -1;

	if (key_checked != NULL)
		*key_checked = 0;
	if (issuing != NULL)
		*issuing = 0;
	if (carried != NULL)
		memset(carried, 0, sizeof(*carried));
	memset(&x, 0, sizeof(x));
	if (ca_path_join(dbpath, sizeof(dbpath), datadir, CA_DB_FILE) != 0 ||
	    ca_path_join(partial, sizeof(partial), datadir,
			 RESTORE_PARTIAL) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path", "data directory path too long");
	if (access(dbpath, F_OK) == 0)
		return ca_store_in_the_way(datadir, dbpath,
					   "restore into an empty directory", err);
	/* A passphrase file given must be usable (readable, 0600, one
	 * line), and the backup as mica makes them, before anything is
	 * created or copied. */
	if (passphrase_file != NULL) {
		char *pass = NULL;

		if (ca_pass_read_file(passphrase_file, &pass, err) != 0)
			return -1;
		ca_pass_free(pass);
	}
	/* Carrying revocations in publishes the CRLs that list them: the
	 * CA key must open, and each CRL must at least read as one. */
	if (ncrls > 0) {
		if (ca_pass_source(datadir, passphrase_file) == NULL)
			return mica_err_set(err, MICA_E_UNAUTH, "no_passphrase",
					    "--crl publishes a CRL listing what "
					    "it carries in, which needs the CA "
					    "key: give its passphrase "
					    "(--passphrase-file, MICA_PASSPHRASE "
					    "or %s/%s); nothing restored",
					    datadir, CA_PASS_FILE);
		if (crls_readable(crls, ncrls, err) != 0)
			return -1;
	}
	if (restore_source(file, &src, err) != 0)
		goto out;
	old_umask = umask(077);
	if (mkdir(datadir, 0700) == 0) {
		made_dir = 1;
	} else if (errno != EEXIST) {
		umask(old_umask);
		mica_err_set(err, MICA_E_UNAVAIL, "datadir",
			     "cannot create the data directory %s: %s", datadir,
			     strerror(errno));
		goto out;
	}
	umask(old_umask);
	/* Tests hold the directory's lock here, as a restore that made no
	 * directory and took the lock first would (util/fault.h). */
	MICA_TEST_GATE("MICA_TEST_RESTORE_DIR_GATE");
	if (ca_datadir_check(datadir, err) != 0)
		goto out;
	/* One restore into DIR at a time (the lock goes with the process,
	 * however it ends): a partial copy found under the lock is a killed
	 * restore's, and goes. */
	if ((r = ca_datadir_lock(datadir, 0, "datadir", &dfd, err)) != 0) {
		if (r > 0)
			mica_err_set(err, MICA_E_CONFLICT, "restore_running",
				     "another restore or init into %s is "
				     "running",
				     datadir);
		goto out;
	}
	if (access(dbpath, F_OK) == 0) {
		ca_store_in_the_way(datadir, dbpath,
				    "restore into an empty directory", err);
		goto out;
	}
	/* SQLite would replay a -wal or hot -journal left beside mica.db
	 * into the restored store once it takes that name. */
	if (db_sides_absent(dbpath, "backup_exists", err) != 0)
		goto out;
	partial_sweep(dfd);
	if (db_backup(src, partial, err) != 0) {
		/* A store copied by hand (sqlite3's .backup, cp) keeps its
		 * CRLs' bodies in a folder beside it, which did not come
		 * along: the file is no backup as 'mica backup' makes them
		 * (those hold the bodies), not an internal error. */
		if (err != NULL && strcmp(err->code, "crl_body_damaged") == 0)
			mica_err_set(err, MICA_E_BADREQ, "bad_backup",
				     "%s keeps its CRLs in a folder beside it, "
				     "%s-crls, and one is missing or damaged "
				     "there; restore a file made by 'mica backup' "
				     "(which holds them), or copy the store's "
				     "mica.db-crls folder beside %s under that "
				     "name", file, file, file);
		goto out;
	}
	copied = 1;
	db_close(src);
	src = NULL;
	/* Reopen read-write: a backup of an older schema is upgraded here,
	 * in the copy; the backup file itself is never written. */
	if (db_open(partial, 0, &dst, err) != 0 ||
	    db_integrity_check(dst, err) != 0)
		goto out;
	source = ca_pass_source(datadir, passphrase_file);
	if (restore_usable(datadir, RESTORE_PARTIAL, file, passphrase_file,
			   source, crls, ncrls, &carry, err) != 0)
		goto out;
	/* No handle yet: a bootstrap one, which ca_tx() runs directly. */
	memset(&boot, 0, sizeof(boot));
	boot.db = dst;
	x.carry = carry;
	if (ca_tx(&boot, CA_TX_DURABLE, restored_body, &x, err) != 0)
		goto out;
	if (issuing != NULL)
		*issuing = x.issuing;
	if (carried != NULL)
		*carried = x.carried;
	/* The last connection's close checkpoints the copy's WAL into it and
	 * removes it: the file is then whole on its own, and may be named. */
	db_close(dst);
	dst = NULL;
	/* The marker of a first start of 'mica serve' killed before it
	 * made its CA: the restored CA is not that start's (ca_init). */
	(void)unlinkat(dfd, CA_FIRST_START_FILE, 0);
	if (ca_store_name(datadir, partial, dbpath,
			  "restore into an empty directory", err) != 0)
		goto out;
	copied = 0;
	if (key_checked != NULL)
		*key_checked = source != NULL;
	rc = 0;
	/* Named, with the revocations carried in: the CRLs that list them
	 * are published now, on the store as every command opens it (their
	 * bodies live beside mica.db, not beside the partial copy). */
	if (carry != NULL) {
		struct mica_err pe;

		mica_err_clear(&pe);
		if (restore_publish(datadir, passphrase_file, &pe) != 0) {
			mica_err_set(err, MICA_E_INTERNAL, "crl_not_published",
				     "restored into %s with the revocations "
				     "carried in, but the CRL that lists them "
				     "could not be published (%s): run 'mica -d "
				     "%s crl'", datadir, pe.msg, datadir);
			rc = -1;
		}
	}
out:
	ca_carry_free(carry);
	db_close(src);
	db_close(dst);
	if (rc != 0 && copied)
		ca_db_unlink(partial);
	/* The directory this restore made goes again - only under its lock:
	 * another restore that took the lock first (this one then refused)
	 * writes into it, still empty, and would find it gone. */
	if (rc != 0 && made_dir &&
	    (dfd >= 0 || ca_datadir_lock(datadir, 0, "datadir", &dfd, NULL) == 0))
		rmdir(datadir);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

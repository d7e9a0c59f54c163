/*
 * ca/handle.c - a handle on a data directory: whether a CA is there, opening
 * it (the shared state: the cached root, its facts and the unsealed key),
 * cloning a handle for another thread, closing, and the group-commit
 * writer that handles share.
 */
#include "ca/ca.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/x509_crt.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "ca/x509.h"

/* ------------------------------------------------ the data directory -- */

int
ca_path_join(char *out, size_t size, const char *dir, const char *file)
{
	int n = snprintf(out, size, "%s/%s", dir, file);

	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

void
ca_db_unlink(const char *dbpath)
{
	char p[PATH_MAX + 8];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
}

int
ca_exists(const char *datadir)
{
	char path[PATH_MAX];

	if (ca_path_join(path, sizeof(path), datadir, CA_DB_FILE) != 0)
		return 0;
	return access(path, F_OK) == 0;
}

static int64_t
x509_time_to_unix(const mbedtls_x509_time *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = t->year - 1900;
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->day;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	return (int64_t)timegm(&tm);
}

/* ------------------------------------------------------ shared state -- */

static void
shared_free(struct ca_shared *sh)
{
	if (sh == NULL)
		return;
	db_writer_close(sh->writer);
	ca_key_free(sh->key);
	free(sh->dbpath);
	free(sh->root_der);
	free(sh->root_pem);
	free(sh->subject);
	free(sh->name);
	free(sh->public_url);
	free(sh->crl_url);
	free(sh->aia_url);
	pthread_mutex_destroy(&sh->lock);
	free(sh);
}

/* Fill the cached CA facts from the CA row. */
static int
shared_load(struct ca_shared *sh, const struct db_ca *row, struct mica_err *err)
{
	mbedtls_x509_crt crt;
	unsigned char fp[32];
	int rc = -1;

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, row->cert_der, row->cert_len) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_root",
			     "the stored root certificate does not parse");
		goto out;
	}
	if ((sh->root_der = malloc(row->cert_len)) == NULL ||
	    (sh->subject = malloc(crt.subject_raw.len)) == NULL)
		goto oom;
	memcpy(sh->root_der, row->cert_der, row->cert_len);
	sh->root_len = row->cert_len;
	memcpy(sh->subject, crt.subject_raw.p, crt.subject_raw.len);
	sh->subject_len = crt.subject_raw.len;
	sh->not_before = x509_time_to_unix(&crt.valid_from);
	sh->not_after = x509_time_to_unix(&crt.valid_to);
	if (ca_x509_key_id(crt.pk_raw.p, crt.pk_raw.len, sh->ski, err) != 0)
		goto out;
	if (ca_pem_encode("CERTIFICATE", sh->root_der, sh->root_len,
			  &sh->root_pem, err) != 0)
		goto out;
	ca_sha256(sh->root_der, sh->root_len, fp);
	for (int i = 0; i < 32; i++)
		snprintf(sh->fingerprint + 3 * i, sizeof(sh->fingerprint) - 3 * (size_t)i,
			 i < 31 ? "%02X:" : "%02X", fp[i]);
	if ((sh->name = strdup(row->name)) == NULL ||
	    (sh->public_url = strdup(row->public_url)) == NULL)
		goto oom;
	if (asprintf(&sh->crl_url, "%s/crl", row->public_url) < 0) {
		sh->crl_url = NULL;
		goto oom;
	}
	if (asprintf(&sh->aia_url, "%s/ca.crt", row->public_url) < 0) {
		sh->aia_url = NULL;
		goto oom;
	}
	sh->crl_days = row->crl_days > 0 ? row->crl_days : 7;
	rc = 0;
	goto out;
oom:
	mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
out:
	mbedtls_x509_crt_free(&crt);
	return rc;
}

/* ---------------------------------------------------------- handles -- */

int
ca_open(const char *datadir, int flags, const char *passphrase_file,
	struct ca **out, struct mica_err *err)
{
	struct ca *ca = NULL;
	struct ca_shared *sh = NULL;
	struct db_ca row;
	struct ca_sealed_key sealed;
	char path[PATH_MAX], *pass = NULL;
	int rc = -1;

	memset(&row, 0, sizeof(row));
	*out = NULL;
	if (ca_path_join(path, sizeof(path), datadir, CA_DB_FILE) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "data directory path too long");
	if (access(path, F_OK) != 0)
		return mica_err_set(err, MICA_E_NOTFOUND, "no_ca",
				    "no CA in %s: run 'mica init' first", datadir);
	if (ca_datadir_check(datadir, err) != 0)
		return -1;
	if ((ca = calloc(1, sizeof(*ca))) == NULL ||
	    (sh = calloc(1, sizeof(*sh))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	pthread_mutex_init(&sh->lock, NULL);
	sh->refs = 1;
	sh->flags = flags;
	ca->sh = sh;
	if ((sh->dbpath = strdup(path)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	if (db_open(path, (flags & CA_OPEN_READONLY) ? DB_OPEN_READONLY : 0,
		    &ca->db, err) != 0)
		goto out;
	if (db_ca_get(ca->db, &row, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "no_ca",
				     "the database in %s holds no CA", datadir);
		goto out;
	}
	if (shared_load(sh, &row, err) != 0)
		goto out;
	if (flags & CA_OPEN_UNLOCK) {
		if (ca_pass_get(datadir, passphrase_file, &pass, err) != 0)
			goto out;
		if (row.key_salt_len != sizeof(sealed.salt) ||
		    row.key_nonce_len != sizeof(sealed.nonce)) {
			mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				     "the sealed CA key record is damaged");
			goto out;
		}
		memcpy(sealed.salt, row.key_salt, sizeof(sealed.salt));
		memcpy(sealed.nonce, row.key_nonce, sizeof(sealed.nonce));
		sealed.iter = row.key_iter;
		sealed.ct = row.key_ct;
		sealed.ct_len = row.key_ct_len;
		if (ca_key_unseal(&sealed, pass, strlen(pass), &sh->key, err) != 0)
			goto out;
	}
	*out = ca;
	ca = NULL;
	rc = 0;
out:
	ca_pass_free(pass);
	db_ca_free(&row);
	ca_close(ca);
	return rc;
}

int
ca_clone(struct ca *parent, struct ca **out, struct mica_err *err)
{
	struct ca *ca;

	*out = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	if (db_open(parent->sh->dbpath,
		    (parent->sh->flags & CA_OPEN_READONLY) ? DB_OPEN_READONLY : 0,
		    &ca->db, err) != 0) {
		/* Loosened while the parent was open: the other handles stop
		 * issuing too. */
		if (err != NULL)
			ca_perm_lost(parent->sh, err);
		free(ca);
		return -1;
	}
	pthread_mutex_lock(&parent->sh->lock);
	parent->sh->refs++;
	pthread_mutex_unlock(&parent->sh->lock);
	ca->sh = parent->sh;
	*out = ca;
	return 0;
}

void
ca_close(struct ca *ca)
{
	int last = 0;

	if (ca == NULL)
		return;
	db_close(ca->db);
	if (ca->sh != NULL) {
		pthread_mutex_lock(&ca->sh->lock);
		last = --ca->sh->refs == 0;
		pthread_mutex_unlock(&ca->sh->lock);
		if (last)
			shared_free(ca->sh);
	}
	free(ca);
}

int
ca_batch_writes(struct ca *ca, struct mica_err *err)
{
	if (ca->sh->writer != NULL)
		return 0;
	if (ca->sh->flags & CA_OPEN_READONLY)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "a read-only CA does not write");
	return db_writer_open(ca->sh->dbpath, &ca->sh->writer, err);
}

/* ------------------------------------------------------ cached facts -- */

struct db *
ca_db(struct ca *ca)
{
	return ca->db;
}

const unsigned char *
ca_root_der(struct ca *ca, size_t *len)
{
	*len = ca->sh->root_len;
	return ca->sh->root_der;
}

const char *ca_root_pem(struct ca *ca) { return ca->sh->root_pem; }
const char *ca_root_fingerprint(struct ca *ca) { return ca->sh->fingerprint; }
const char *ca_name(struct ca *ca) { return ca->sh->name; }
const char *ca_public_url(struct ca *ca) { return ca->sh->public_url; }
int64_t ca_not_after(struct ca *ca) { return ca->sh->not_after; }

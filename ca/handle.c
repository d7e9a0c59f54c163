/*
 * ca/handle.c - a handle on a data directory: whether a CA is there, opening
 * it (the shared state: the cached root, its facts, and either the unsealed
 * key - the command line - or the daemon's signer processes, which hold it
 * instead), cloning a handle for another thread, closing, and the
 * group-commit writer that handles share.
 */
#include "ca/ca.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/x509_crt.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "ca/x509.h"
#include "util/log.h"

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

/* ca_open_serve: the key goes to signer processes, never into this one. */
#define OPEN_SIGNER 0x100

struct seal_tx {
	const unsigned char *mac;
	size_t n;
};

static int
seal_body(struct db *db, void *arg, struct mica_err *err)
{
	struct seal_tx *x = arg;
	char detail[64];

	snprintf(detail, sizeof(detail), "%zu domain(s)", x->n);
	if (db_domains_mac_set(db, x->mac, err) != 0)
		return -1;
	return db_audit_add(db, ca_now(), "serve", "domain.seal", NULL, detail,
			    err);
}

/* ------------------------------------------------------ shared state -- */

static void
shared_free(struct ca_shared *sh)
{
	if (sh == NULL)
		return;
	db_writer_close(sh->writer);
	ca_signer_stop(sh->signer);
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
	{
		enum ca_key_type kt;

		if (row->key_type == NULL ||
		    ca_key_type_parse(row->key_type, &kt) != 0 ||
		    (sh->sig_alg = ca_key_type_sig_alg(kt,
						       &sh->sig_alg_len)) == NULL) {
			mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				     "the CA's key type is unknown");
			goto out;
		}
	}
	rc = 0;
	goto out;
oom:
	mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
out:
	mbedtls_x509_crt_free(&crt);
	return rc;
}

/* ---------------------------------------------------------- handles -- */

/* Start the signers for SH's key (ca_open_serve): hand them the sealed
 * key, the passphrase, the CA certificate, the allowed domains with their
 * seal and the last CRL number; seal the domains if the store has no seal
 * yet (the first start after an upgrade). */
static int
start_signers(struct ca *ca, const struct db_ca *row,
	      const struct ca_sealed_key *sealed, char *pass, int nsigners,
	      struct mica_err *err)
{
	struct ca_signer_config c;
	unsigned char mac[32], newmac[32];
	char **doms = NULL;
	size_t n = 0;
	int64_t last = 0;
	int has = 0, sealed_now = 0, rc = -1;

	if (db_domain_list(ca->db, &doms, err) != 0 ||
	    db_domains_mac_get(ca->db, mac, &has, err) != 0 ||
	    db_crl_last_number(ca->db, &last, err) != 0)
		goto out;
	while (doms[n] != NULL)
		n++;
	memset(&c, 0, sizeof(c));
	c.sealed = sealed;
	c.pass = pass;
	c.pass_len = strlen(pass);
	c.ca_cert = row->cert_der;
	c.ca_cert_len = row->cert_len;
	c.domains = (const char *const *)doms;
	c.ndomains = n;
	c.domains_mac = has ? mac : NULL;
	c.crl_number = last > 0 ? (uint64_t)last : 0;
	c.nsigners = nsigners;
	if (ca_signer_start(&c, &ca->sh->signer, newmac, &sealed_now,
			    err) != 0)
		goto out;
	atomic_store(&ca->sh->crl_signed, last);
	if (sealed_now) {
		struct seal_tx x = { newmac, n };

		if (ca_tx(ca, CA_TX_DURABLE, seal_body, &x, err) != 0)
			goto out;
		mica_log(MICA_LOG_INFO, "sealed the %zu allowed domain(s) with "
			 "the CA key (first start with a signer process)", n);
	}
	rc = 0;
out:
	explicit_bzero(newmac, sizeof(newmac));
	ca_strv_free(doms);
	return rc;
}

static int
open_handle(const char *datadir, int flags, const char *passphrase_file,
	    int nsigners, struct ca **out, struct mica_err *err)
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
	if (flags & (CA_OPEN_UNLOCK | OPEN_SIGNER)) {
		if (ca_pass_get(datadir, passphrase_file, &pass, err) != 0)
			goto out;
		if (flags & OPEN_SIGNER)
			ca_pass_env_scrub();
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
		if (flags & OPEN_SIGNER) {
			if (start_signers(ca, &row, &sealed, pass, nsigners,
					  err) != 0)
				goto out;
		} else if (ca_key_unseal(&sealed, pass, strlen(pass), &sh->key,
					 err) != 0) {
			goto out;
		}
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
ca_open(const char *datadir, int flags, const char *passphrase_file,
	struct ca **out, struct mica_err *err)
{
	return open_handle(datadir, flags & ~OPEN_SIGNER, passphrase_file, 0,
			   out, err);
}

int
ca_open_serve(const char *datadir, const char *passphrase_file, int nsigners,
	      struct ca **out, struct mica_err *err)
{
	if (nsigners < 0 || nsigners > CA_SIGNER_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_signers",
				    "1 to %d signer processes", CA_SIGNER_MAX);
	return open_handle(datadir, OPEN_SIGNER, passphrase_file, nsigners,
			   out, err);
}

void
ca_signer_on_loss(struct ca *ca, int signo)
{
	ca_signer_notify(ca->sh->signer, signo);
}

int
ca_signer_ok(struct ca *ca)
{
	return ca->sh->signer == NULL || ca_signer_alive(ca->sh->signer);
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

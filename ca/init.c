/*
 * ca/init.c - creating a CA: the data directory, the passphrase, a fresh
 * key and its self-signed root (linted before it is signed), the store, and
 * the first CRL; or, for an issuing CA under another root, the key and its
 * certificate request, the CA then awaiting its certificate.
 */
#include "ca/ca.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "ca/names.h"
#include "ca/sign.h"
#include "ca/x509.h"
#include "util/fault.h"
#include "util/leftover.h"

#define ROOT_SKEW 3600          /* root notBefore backdated one hour */

struct init_tx {
	const struct db_ca *row;
	const struct ca_name *domains;
	size_t ndomains;
	unsigned char domains_mac[32];   /* the key's seal on them */
	char detail[256];
};

static int
init_body(struct db *db, void *arg, struct mica_err *err)
{
	struct init_tx *x = arg;

	if (db_ca_insert(db, x->row, err) != 0)
		return -1;
	for (size_t i = 0; i < x->ndomains; i++)
		if (db_domain_add(db, x->domains[i].value, err) != 0)
			return -1;
	if (db_domains_mac_set(db, x->domains_mac, err) != 0)
		return -1;
	return db_audit_add(db, x->row->created_at, ca_cli_actor(), "ca.init", x->row->name,
			    x->detail, err);
}

/* The store's name while init builds it: DATADIR/.mica.db.init-XXXXXX. */
#define INIT_TMP_PREFIX "." CA_DB_FILE ".init-"

/* A name for the store while init builds it, free (the caller creates
 * it). Only under DATADIR's lock, which init holds until that store is
 * named mica.db or removed. */
static int
init_tmp_name(const char *datadir, char *out, size_t size,
	      struct mica_err *err)
{
	int fd, n = snprintf(out, size, "%s/" INIT_TMP_PREFIX "XXXXXX", datadir);

	if (n < 0 || (size_t)n >= size) {
		out[0] = '\0';
		return mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "data directory path too long");
	}
	/* mkstemp picks the name; the store is created afresh under it
	 * (db_open refuses an existing file). */
	if ((fd = mkstemp(out)) < 0) {
		mica_err_set(err, MICA_E_UNAVAIL, "datadir",
			     "cannot create a file in %s: %s", datadir,
			     strerror(errno));
		out[0] = '\0';
		return -1;
	}
	close(fd);
	unlink(out);
	return 0;
}

/* Remove the stores killed inits left in DATADIR (open as DFD, whose lock
 * the caller holds: no live init is building one). */
static void
init_sweep(int dfd, const char *datadir)
{
	(void)mica_tmp_sweep_at(dfd, datadir, INIT_TMP_PREFIX,
				"an interrupted 'mica init' (or first start "
				"of 'mica serve')");
}

void
ca_init_sweep(const char *datadir)
{
	int dfd = -1;

	/* Not waited for: a holder is an init at work (which sweeps), a
	 * restore or a passphrase change; the next open sweeps then. */
	if (ca_datadir_lock(datadir, 0, "datadir", &dfd, NULL) != 0)
		return;
	init_sweep(dfd, datadir);
	close(dfd);
}

void
ca_init_result_free(struct ca_init_result *res)
{
	if (res == NULL)
		return;
	free(res->csr);
	res->csr = NULL;
	res->csr_len = 0;
}

/* The host of URL ("http://HOST:PORT/...", "http://[V6]/...") as an
 * address range of that one address, when it is an IP address: 1 and
 * *OUT, else 0. */
static int
url_address(const char *url, struct ca_cidr *out)
{
	static const unsigned char ones[16] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	struct ca_name nm;
	char host[64];

	ca_url_host(url, host, sizeof(host));
	return host[0] != '\0' &&
	       ca_name_parse(host, CA_NAME_IP, &nm, NULL) == 0 &&
	       ca_cidr_from_mask(nm.ip, ones, nm.ip_len, out, NULL) == 0;
}

/* The request of an issuing CA for its certificate: SUBJECT and the key
 * K's, asking for a CA certificate with PATH_LEN, the allowed domains as
 * its name constraints (with the address of PUBLIC_URL, when it is one,
 * as a range of one address: the daemon's own HTTPS certificate names
 * it; every other address excluded, ca_x509_nc_value), and the root's CRL
 * and certificate at this CA's URL (/root.crl, /root.crt: 'mica
 * import-crl' keeps the one, the chain the other). Signed by K. *CSR
 * heap. */
int
ca_ca_request(struct ca_key *k, const unsigned char *subject,
	      size_t subject_len, const char *public_url, int path_len,
	      const char *const *domains, size_t ndomains, unsigned char **csr,
	      size_t *csr_len, struct mica_err *err)
{
	struct ca_tbs_csr r;
	unsigned char *spki = NULL, *cri = NULL;
	size_t spki_len = 0, cri_len = 0;
	char crl[300], aia[300];
	const char *pv[CA_NC_PERMIT_MAX];
	struct ca_cidr own;
	int rc = -1;

	*csr = NULL;
	*csr_len = 0;
	if (ca_key_spki(k, &spki, &spki_len, err) != 0)
		goto out;
	memset(&r, 0, sizeof(r));
	r.subject = subject;
	r.subject_len = subject_len;
	r.spki = spki;
	r.spki_len = spki_len;
	r.path_len = path_len;
	/* Ranges alone constrain no DNS name (ca_x509_nc_value refuses
	 * them): the address is asked for only beside a domain. */
	if (ndomains > 0 && url_address(public_url, &own)) {
		/* Left out, it would be excluded with every other address,
		 * and the CA's own HTTPS certificate could not name it. */
		if (ndomains >= CA_NC_PERMIT_MAX) {
			mica_err_set(err, MICA_E_USAGE, "bad_domain",
				     "at most %d domains with an IP address "
				     "URL: its address %s takes a permitted "
				     "subtree of the %d a CA certificate has",
				     CA_NC_PERMIT_MAX - 1, own.text,
				     CA_NC_PERMIT_MAX);
			goto out;
		}
		for (size_t i = 0; i < ndomains; i++)
			pv[i] = domains[i];
		pv[ndomains] = own.text;
		r.nc_permit = pv;
		r.nc_npermit = ndomains + 1;
	} else {
		r.nc_permit = domains;
		r.nc_npermit = ndomains;
	}
	if (public_url != NULL && public_url[0] != '\0') {
		snprintf(crl, sizeof(crl), "%s/root.crl", public_url);
		snprintf(aia, sizeof(aia), "%s/root.crt", public_url);
		r.crl_url = crl;
		r.aia_url = aia;
	}
	if (ca_x509_tbs_csr(&r, &cri, &cri_len, err) != 0 ||
	    ca_sign_request(k, cri, cri_len, csr, csr_len, err) != 0)
		goto out;
	rc = 0;
out:
	free(spki);
	free(cri);
	return rc;
}

int
ca_init(const struct ca_init_opts *o, struct ca_init_result *res,
	struct mica_err *err)
{
	enum ca_key_type kt;
	struct ca_key *key = NULL;
	struct ca_sealed_key sealed;
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect ex;
	struct db *db = NULL;
	struct db_ca row;
	struct ca *ca = NULL, boot;
	struct init_tx x;
	struct ca_principal cli;
	unsigned char serial[16], fp[32];
	unsigned char *spki = NULL, *subject = NULL, *tbs = NULL, *cert = NULL;
	size_t spki_len = 0, subject_len = 0, tbs_len = 0, cert_len = 0;
	size_t alg_len;
	const unsigned char *alg;
	char dbpath[PATH_MAX], passpath[PATH_MAX], serial_hex[CA_SERIAL_MAX];
	char tmppath[PATH_MAX] = "";
	char *pass = NULL;
	struct ca_name *doms = NULL;
	const char *dv[100];
	int days = o->days > 0 ? o->days : 3650;
	int generated = 0, created = 0, made_dir = 0, rc = -1, dfd = -1;
	int root_only = o->kind == CA_INIT_ROOT_ONLY;
	int sub = o->kind == CA_INIT_SUBORDINATE;
	int64_t now = ca_now();
	mode_t old_umask;

	memset(&sealed, 0, sizeof(sealed));
	memset(&row, 0, sizeof(row));
	memset(res, 0, sizeof(*res));
	if (o->kind != CA_INIT_ROOT && !root_only && !sub)
		return mica_err_set(err, MICA_E_USAGE, "bad_kind",
				    "unknown kind of CA");
	if (o->name == NULL || o->name[0] == '\0')
		return mica_err_set(err, MICA_E_USAGE, "bad_name",
				    "the CA needs a name (--name \"Contoso Root CA\")");
	/* The name is shown in every list and on the pages: plain text
	 * (a bad option, as the others here). */
	if (ca_text_check(o->name, 64, "CA name", err) != 0 ||
	    ca_text_check(o->org, 64, "organization", err) != 0) {
		if (err != NULL)
			err->kind = MICA_E_USAGE;
		return -1;
	}
	/* An offline root is never served: a URL, if any, is where its CRL
	 * and certificate are published by hand. */
	if (!(root_only && o->public_url == NULL) &&
	    (o->public_url == NULL || !ca_public_url_new_ok(o->public_url)))
		return mica_err_set(err, MICA_E_USAGE, "bad_url",
				    "--public-url must be an http:// or https:// URL of a host and "
				    "perhaps a path, without a trailing slash, query or '.'/'..' "
				    "segments, such as http://ca.contoso.test:8080");
	if (root_only && o->ndomains > 0)
		return mica_err_set(err, MICA_E_USAGE, "bad_domain",
				    "an offline root issues no certificates "
				    "of its own: give --domain to the issuing "
				    "CA ('mica init --subordinate')");
	if (sub && o->days > 0)
		return mica_err_set(err, MICA_E_USAGE, "bad_days",
				    "an issuing CA's validity is decided by "
				    "the CA that signs it (sign-ca --days)");
	if (o->path_len < 0 || o->path_len > 16 || (!sub && o->path_len != 0))
		return mica_err_set(err, MICA_E_USAGE, "bad_path_len",
				    "--path-len is 0..16, for an issuing CA");
	if (ca_key_type_parse(o->key_type ? o->key_type : "ec-p256", &kt) != 0)
		return mica_err_set(err, MICA_E_USAGE, "bad_key_type",
				    "--key must be one of ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096");
	if (days < 1 || days > CA_DAYS_MAX)
		return mica_err_set(err, MICA_E_USAGE, "bad_days",
				    "--days must be between 1 and %d", CA_DAYS_MAX);
	if (o->crl_days < 0 || o->crl_days > CA_CRL_DAYS_MAX)
		return mica_err_set(err, MICA_E_USAGE, "bad_days",
				    "--crl-days must be between 1 and 365");
	if (o->ndomains > 100 || (sub && o->ndomains > CA_NC_PERMIT_MAX))
		return mica_err_set(err, MICA_E_USAGE, "bad_domain",
				    "at most %d domains", sub ?
				    CA_NC_PERMIT_MAX : 100);
	if (o->ndomains > 0 && (doms = calloc(o->ndomains, sizeof(*doms))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	for (size_t i = 0; i < o->ndomains; i++) {
		if (ca_domain_parse(o->domains[i], &doms[i], err) != 0) {
			char why[sizeof(err->msg)];

			snprintf(why, sizeof(why), "%s", err->msg);
			mica_err_set(err, MICA_E_USAGE, "bad_domain", "--domain %s is %s",
				     o->domains[i], why);
			goto out;
		}
		dv[i] = doms[i].value;
	}

	old_umask = umask(077);
	if (mkdir(o->datadir, 0700) == 0)
		made_dir = 1;
	else if (errno != EEXIST) {
		umask(old_umask);
		mica_err_set(err, MICA_E_UNAVAIL, "datadir",
			     "cannot create the data directory %s: %s", o->datadir,
			     strerror(errno));
		goto out;
	}
	umask(old_umask);
	if (ca_path_join(dbpath, sizeof(dbpath), o->datadir, CA_DB_FILE) != 0 ||
	    ca_path_join(passpath, sizeof(passpath), o->datadir, CA_PASS_FILE) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_path", "data directory path too long");
		goto out;
	}
	if (access(dbpath, F_OK) == 0) {
		/* A subordinate's init killed after its store, before its
		 * request was written out: say where the request is. */
		ca_store_in_the_way(o->datadir, dbpath,
				    o->kind == CA_INIT_SUBORDINATE ?
				    "refusing to overwrite it ('mica renew-ca "
				    "--csr-out FILE' writes the request of one "
				    "awaiting its certificate again)" :
				    "refusing to overwrite it", err);
		goto out;
	}
	/* A directory made by hand (mkdir under umask 022) would leave the
	 * passphrase and the store in view: refused, as at every open. */
	if (ca_datadir_check(o->datadir, err) != 0)
		goto out;
	/* DATADIR's lock, until the store built under a name of its own is
	 * named mica.db or removed: a store of that name found under the
	 * lock is a killed init's, and goes. Waited for: an init or restore
	 * at work there makes a CA, which the check after refuses. */
	if (ca_datadir_lock(o->datadir, 1, "datadir", &dfd, err) != 0)
		goto out;
	if (access(dbpath, F_OK) == 0) {
		ca_store_in_the_way(o->datadir, dbpath,
				    "refusing to overwrite it", err);
		goto out;
	}

	/* Passphrase first: a failure here leaves nothing behind. */
	if (o->passphrase_file != NULL) {
		if (ca_pass_read_file(o->passphrase_file, &pass, err) != 0 ||
		    ca_pass_check_new(pass, err) != 0)
			goto out;
	} else if (getenv("MICA_PASSPHRASE") != NULL &&
		   getenv("MICA_PASSPHRASE")[0] != '\0') {
		if (ca_pass_get(o->datadir, NULL, &pass, NULL, err) != 0 ||
		    ca_pass_check_new(pass, err) != 0)
			goto out;
	} else if (o->first_start && access(passpath, F_OK) == 0) {
		/* serve's first start, with a passphrase file already in
		 * DATADIR (a first start killed after it wrote one, before
		 * the store was named mica.db; or one put there for it): what
		 * serve reads at every later start, so the key is sealed
		 * under it, never under another that would make it useless. */
		if (ca_pass_read_file(passpath, &pass, err) != 0 ||
		    ca_pass_check_new(pass, err) != 0)
			goto out;
		res->passphrase_kept = 1;
	} else {
		if (access(passpath, F_OK) == 0) {
			mica_err_set(err, MICA_E_CONFLICT, "passphrase_exists",
				     "%s/%s exists; use --passphrase-file to use it, or remove it",
				     o->datadir, CA_PASS_FILE);
			goto out;
		}
		if (ca_pass_generate(passpath, &pass, err) != 0)
			goto out;
		generated = 1;
		snprintf(res->passphrase_path, sizeof(res->passphrase_path), "%s", passpath);
	}

	/* The root: fresh key, self-signed, linted before it is signed. */
	if (ca_key_generate(kt, &key, err) != 0 ||
	    ca_key_spki(key, &spki, &spki_len, err) != 0 ||
	    ca_x509_name(o->name, o->org, &subject, &subject_len, err) != 0 ||
	    ca_serial_new(serial, serial_hex, err) != 0)
		goto out;
	if (sub) {
		/* An issuing CA: the request, and no certificate yet. */
		if (ca_ca_request(key, subject, subject_len, o->public_url,
				  o->path_len, dv, o->ndomains, &res->csr,
				  &res->csr_len, err) != 0)
			goto out;
		goto seal;
	}
	alg = ca_key_sig_alg(key, &alg_len);
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = subject;
	t.issuer_len = subject_len;
	t.subject = subject;
	t.subject_len = subject_len;
	t.not_before = now - ROOT_SKEW;
	t.not_after = now + (int64_t)days * 86400;
	t.spki = spki;
	t.spki_len = spki_len;
	t.is_ca = 1;
	t.path_len = -1;
	t.key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN | CA_KU_DIGITAL_SIGNATURE;
	if (ca_x509_key_id(spki, spki_len, t.ski, err) != 0)
		goto out;
	t.has_aki = 1;
	memcpy(t.aki, t.ski, sizeof(t.aki));
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, err) != 0)
		goto out;
	memset(&ex, 0, sizeof(ex));
	ex.issuer = subject;
	ex.issuer_len = subject_len;
	ex.issuer_not_before = t.not_before;
	ex.issuer_not_after = t.not_after;
	ex.is_ca = 1;
	ex.key_usage = t.key_usage;
	ex.aki = t.aki;
	if (ca_lint_cert(tbs, tbs_len, &ex, err) != 0)
		goto out;
	if (ca_sign_root(key, tbs, tbs_len, &cert, &cert_len, err) != 0)
		goto out;
seal:
	if (ca_key_seal(key, pass, strlen(pass),
			o->kdf_iter > 0 ? o->kdf_iter : CA_KDF_DEFAULT_ITER,
			&sealed, err) != 0)
		goto out;

	/* The store is built under a name of its own and renamed to
	 * mica.db whole: an init killed half-way (the schema's migrations,
	 * the CA's row) leaves no mica.db that holds no CA and would keep
	 * the next init out as "already holds a CA". */
	init_sweep(dfd, o->datadir);
	if (init_tmp_name(o->datadir, tmppath, sizeof(tmppath), err) != 0)
		goto out;
	if (db_open(tmppath, DB_OPEN_CREATE, &db, err) != 0) {
		tmppath[0] = '\0';
		goto out;
	}
	/* Tests kill the command here: the schema is built, the CA's row
	 * not yet written (util/fault.h). */
	MICA_TEST_GATE("MICA_TEST_INIT_GATE");
	row.name = (char *)o->name;
	row.public_url = (char *)(o->public_url != NULL ? o->public_url : "");
	row.key_type = (char *)ca_key_type_name(kt);
	row.cert_der = cert;
	row.cert_len = cert_len;
	ca_row_set_sealed(&row, &sealed);
	row.crl_days = o->crl_days > 0 ? o->crl_days :
		       root_only ? CA_ROOT_CRL_DAYS : 7;
	row.created_at = now;
	row.state = sub ? DB_CA_AWAITING : root_only ? DB_CA_ROOT_ONLY :
		    DB_CA_ACTIVE;
	row.csr_der = res->csr;
	row.csr_len = res->csr_len;
	x.row = &row;
	x.domains = doms;
	x.ndomains = o->ndomains;
	if (ca_domains_mac(key, dv, o->ndomains, x.domains_mac, err) != 0)
		goto out;
	if (sub)
		snprintf(x.detail, sizeof(x.detail), "issuing CA awaiting its "
			 "certificate, key %s", ca_key_type_name(kt));
	else
		snprintf(x.detail, sizeof(x.detail), "%s %s, key %s, %d days",
			 root_only ? "offline root" : "root", serial_hex,
			 ca_key_type_name(kt), days);
	/* No handle exists yet: a bootstrap one on the new store, which
	 * ca_tx() runs directly. */
	memset(&boot, 0, sizeof(boot));
	boot.db = db;
	if (ca_tx(&boot, CA_TX_DURABLE, init_body, &x, err) != 0)
		goto out;
	db_close(db);
	db = NULL;
	/* A first start of 'mica serve' killed before it made its CA left
	 * its marker: this CA is not that start's, and serve, finding the
	 * marker beside it, would make and print an admin token for it.
	 * Gone before the store is named (the naming syncs DATADIR). */
	if (!o->first_start)
		(void)unlinkat(dfd, CA_FIRST_START_FILE, 0);
	if (ca_store_name(o->datadir, tmppath, dbpath,
			  "refusing to overwrite it", err) != 0)
		goto out;
	tmppath[0] = '\0';
	created = 1;
	close(dfd);
	dfd = -1;
	memset(&row, 0, sizeof(row));
	if (sub) {
		rc = 0;
		goto out;
	}

	/* The first CRL, through the normal path (with MICA_PASSPHRASE set,
	 * ca_open finds it in the environment again). */
	if (ca_open(o->datadir, CA_OPEN_UNLOCK,
		    generated || res->passphrase_kept ? passpath :
		    o->passphrase_file, &ca, err) != 0)
		goto out;
	ca_principal_cli(&cli);
	if (ca_crl_publish(ca, &cli, NULL, err) != 0)
		goto out;
	ca_sha256(cert, cert_len, fp);
	for (int i = 0; i < 32; i++)
		snprintf(res->fingerprint + 3 * i, sizeof(res->fingerprint) - 3 * (size_t)i,
			 i < 31 ? "%02X:" : "%02X", fp[i]);
	rc = 0;
out:
	ca_close(ca);
	db_close(db);
	if (rc != 0 && tmppath[0] != '\0')
		ca_db_unlink(tmppath);
	if (rc != 0 && created)
		ca_db_unlink(dbpath);
	if (dfd >= 0)
		close(dfd);
	if (rc != 0 && generated) {
		unlink(passpath);
		res->passphrase_path[0] = '\0';
	}
	/* A refused init changes nothing: the directory it made goes too
	 * (rmdir removes it only if it is empty again). */
	if (rc != 0 && made_dir)
		rmdir(o->datadir);
	if (rc != 0)
		ca_init_result_free(res);
	ca_pass_free(pass);
	ca_sealed_key_free(&sealed);
	ca_key_free(key);
	free(spki);
	free(subject);
	free(tbs);
	free(cert);
	free(doms);
	return rc;
}

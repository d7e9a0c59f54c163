/*
 * ca/handle.c - a handle on a data directory: whether a CA is there, opening
 * it (the shared state: the cached root, its facts, and either the unsealed
 * key - the command line - or the daemon's signer processes, which hold it
 * instead), cloning a handle for another thread, closing, and the
 * group-commit writer that handles share.
 */
#include "ca/ca.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "ca/ocsp.h"
#include "ca/x509.h"
#include "util/fault.h"
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
	snprintf(p, sizeof(p), "%s-journal", dbpath);
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

/* Store the RA key the keeper made (sealed), with its audit line. */
static int
scep_key_body(struct db *db, void *arg, struct mica_err *err)
{
	const struct ca_sealed_key *k = arg;
	struct db_scep_key row;

	memset(&row, 0, sizeof(row));
	memcpy(row.salt, k->salt, sizeof(row.salt));
	memcpy(row.nonce, k->nonce, sizeof(row.nonce));
	row.iter = k->iter;
	row.ct = k->ct;
	row.ct_len = k->ct_len;
	if (db_scep_key_set(db, &row, ca_now(), err) != 0)
		return -1;
	return db_audit_add(db, ca_now(), "serve", "scep.ra_key", NULL,
			    "RSA-2048, sealed", err);
}

/* ------------------------------------------------------ shared state -- */

static void
slot_free(struct ca_keyslot *k)
{
	ca_key_free(k->key);
	free(k->cert);
	free(k->subject);
	free(k->chain_pem);
	memset(k, 0, sizeof(*k));
}

static void
shared_free(struct ca_shared *sh)
{
	if (sh == NULL)
		return;
	db_writer_close(sh->writer);
	ca_signer_stop(sh->signer);
	ca_key_free(sh->key);
	ca_key_free(sh->pending_key);
	ca_key_free(sh->ocsp_key);
	ca_ocsp_state_free(sh->ocsp);
	ca_key_free(sh->scep_key);
	ca_scep_state_free(sh->scep);
	for (size_t i = 0; i < sh->nretired; i++)
		slot_free(&sh->retired[i]);
	free(sh->dbpath);
	free(sh->datadir);
	free(sh->cert_der);
	free(sh->cert_pem);
	free(sh->chain_buf);
	free(sh->chain_pem);
	free(sh->root_pem);
	free(sh->subject);
	free(sh->nc);
	for (size_t i = 0; i < sh->nnc_above; i++)
		free(sh->nc_above[i]);
	free(sh->name);
	free(sh->public_url);
	free(sh->crl_url);
	free(sh->aia_url);
	free(sh->ocsp_url);
	pthread_mutex_destroy(&sh->lock);
	pthread_mutex_destroy(&sh->crl_lock);
	pthread_mutex_destroy(&sh->revoked_lock);
	free(sh);
}

static int
oom(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			    "out of memory");
}

/* The base of the CDP and AIA URLs: printable, no quoting characters, no
 * trailing slash (the paths are appended). */
int
ca_public_url_ok(const char *u)
{
	size_t n;

	if (u == NULL)
		return 0;
	n = strlen(u);
	if (n < 8 || n > CA_PUBLIC_URL_MAX)
		return 0;
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f ||
		    u[i] == '"' || u[i] == '<' || u[i] == '>' || u[i] == '\\')
			return 0;
	return u[n - 1] != '/';
}

/* Is the path segment SEG[0..N) "." or "..", also percent-encoded
 * ("%2e", RFC 3986 6.2.2.2)? */
static int
dot_segment(const char *seg, size_t n)
{
	size_t dots = 0;

	for (size_t i = 0; i < n; dots++) {
		if (seg[i] == '.')
			i++;
		else if (n - i >= 3 && seg[i] == '%' && seg[i + 1] == '2' &&
			 (seg[i + 2] == 'e' || seg[i + 2] == 'E'))
			i += 3;
		else
			return 0;
	}
	return dots == 1 || dots == 2;
}

int
ca_public_url_new_ok(const char *u)
{
	const char *host, *path, *seg, *port;

	if (!ca_public_url_ok(u))
		return 0;
	host = u + (u[4] == 's' ? 8 : 7);
	path = host + strcspn(host, "/");
	/* A host (no user@ before it, RFC 9110 4.2.4): a name, or an IPv6
	 * literal in brackets; then perhaps a port of 1 to 65535. No query
	 * or fragment: the paths are appended. */
	if (path == host || memchr(host, '@', (size_t)(path - host)) != NULL ||
	    host[0] == ':' || strpbrk(u, "?#") != NULL)
		return 0;
	if (host[0] == '[') {
		const char *close = memchr(host, ']', (size_t)(path - host));

		if (close == NULL || close == host + 1)
			return 0;
		port = close + 1;
		if (port != path && *port != ':')
			return 0;
	} else {
		port = memchr(host, ':', (size_t)(path - host));
		if (port == NULL)
			port = path;
	}
	if (port != path) {
		long v = 0;

		if (path - port < 2 || path - port > 6)
			return 0;
		for (const char *d = port + 1; d < path; d++) {
			if (*d < '0' || *d > '9')
				return 0;
			v = v * 10 + (*d - '0');
		}
		if (v < 1 || v > 65535)
			return 0;
	}
	/* Path segments a client would not rewrite: "/../y" is fetched as
	 * "/y" (RFC 3986 5.2.4), not where the CRL is served. */
	for (seg = path; *seg == '/'; ) {
		size_t n = strcspn(seg + 1, "/");

		if (n == 0 || dot_segment(seg + 1, n))
			return 0;
		seg += 1 + n;
	}
	return 1;
}

/* Is the host HOST[0..N) of a URL one only this machine reaches: the
 * name localhost (RFC 6761 6.3), a loopback or unspecified address, as
 * inet_pton reads it (an IPv6 literal in brackets, an IPv4-mapped one
 * too)? Other spellings of an IPv4 address ("127.1") are no host name a
 * new CA takes. */
static int
host_is_local(const char *h, size_t n)
{
	static const char lh[] = "localhost", dlh[] = ".localhost";
	unsigned char a[16];
	char buf[64];

	if (n > 0 && h[n - 1] == '.')
		n--;                     /* "localhost." is localhost */
	if ((n == sizeof(lh) - 1 && strncasecmp(h, lh, n) == 0) ||
	    (n >= sizeof(dlh) && strncasecmp(h + n - (sizeof(dlh) - 1), dlh,
					     sizeof(dlh) - 1) == 0))
		return 1;
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return 0;
		memcpy(buf, h + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, a) != 1)
			return 0;
		/* ::1, ::, and ::ffff:a.b.c.d as the IPv4 address. */
		if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
			return a[12] == 127 || (a[12] | a[13] | a[14] | a[15]) == 0;
		for (int i = 0; i < 15; i++)
			if (a[i] != 0)
				return 0;
		return a[15] <= 1;
	}
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, a) != 1)
		return 0;
	return a[0] == 127 || (a[0] | a[1] | a[2] | a[3]) == 0;
}

int
ca_public_url_warning(const char *u, char *buf, size_t size)
{
	const char *host, *end;
	size_t n;

	if (size > 0)
		buf[0] = '\0';
	if (u == NULL || !ca_public_url_ok(u))
		return 0;
	if (strncmp(u, "https://", 8) == 0) {
		snprintf(buf, size, "certificates will point to %s for their "
			 "CRL and CA certificate: relying parties expect "
			 "http:// there (RFC 5280 4.2.1.13, 4.2.2.1): fetching "
			 "revocation over TLS needs revocation checked for that "
			 "TLS server first, and many clients never fetch it", u);
		return 1;
	}
	host = u + 7;
	end = host + strcspn(host, "/");
	n = (size_t)(end - host);
	/* Without the port: after an IPv6 literal's ']', else the last ':'. */
	if (host[0] == '[') {
		const char *close = memchr(host, ']', n);

		if (close != NULL)
			n = (size_t)(close + 1 - host);
	} else {
		const char *colon = memchr(host, ':', n);

		if (colon != NULL)
			n = (size_t)(colon - host);
	}
	if (!host_is_local(host, n))
		return 0;
	snprintf(buf, size, "certificates will point to %s for their CRL and "
		 "CA certificate, an address only this machine reaches: other "
		 "machines cannot check their revocation (Windows: \"revocation "
		 "information not available\"); each certificate names it for "
		 "its life, so give a name clients resolve (--public-url, "
		 "'mica config set --public-url')", u);
	return 1;
}

int
ca_nc_allows_path(const struct ca_shared *sh, const struct ca_name *name)
{
	if (sh == NULL)
		return 1;
	if (!ca_nc_allows(sh->nc, name))
		return 0;
	for (size_t i = 0; i < sh->nnc_above; i++)
		if (!ca_nc_allows(sh->nc_above[i], name))
			return 0;
	return 1;
}

int
ca_nc_any(const struct ca_shared *sh)
{
	return sh != NULL && (sh->nc != NULL || sh->nnc_above > 0);
}

int
ca_key_urls(const char *public_url, int idx, char *crl, size_t crl_size,
	    char *aia, size_t aia_size)
{
	int a, b;

	if (idx == 0) {
		a = snprintf(crl, crl_size, "%s/crl", public_url);
		b = snprintf(aia, aia_size, "%s/ca.crt", public_url);
	} else {
		a = snprintf(crl, crl_size, "%s/crl/%d", public_url, idx);
		b = snprintf(aia, aia_size, "%s/ca/%d.crt", public_url, idx);
	}
	return (a < 0 || (size_t)a >= crl_size || b < 0 ||
		(size_t)b >= aia_size) ? -1 : 0;
}

/* Fill the facts of key slot K from its CA certificate CERT (copied). */
static int
slot_load(struct ca_keyslot *k, int idx, const char *key_type,
	  const unsigned char *cert, size_t cert_len, struct mica_err *err)
{
	struct ca_cert_info ci;
	enum ca_key_type kt;

	k->idx = idx;
	if (key_type == NULL || ca_key_type_parse(key_type, &kt) != 0 ||
	    (k->sig_alg = ca_key_type_sig_alg(kt, &k->sig_alg_len)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				    "a CA key's type is unknown");
	if (ca_cert_info_read(cert, cert_len, &ci, err) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_root",
				    "a stored CA certificate does not parse");
	if ((k->cert = malloc(cert_len)) == NULL ||
	    (k->subject = malloc(ci.subject_len)) == NULL)
		return oom(err);
	memcpy(k->cert, cert, cert_len);
	k->cert_len = cert_len;
	memcpy(k->subject, ci.subject, ci.subject_len);
	k->subject_len = ci.subject_len;
	memcpy(k->ski, ci.ski, ci.ski_len);
	k->ski_len = ci.ski_len;
	k->not_before = ci.not_before;
	k->not_after = ci.not_after;
	return 0;
}

/* CERT, then CHAIN[SERVED[0..N)], as one PEM text into *OUT (heap): the
 * chain handed out with a certificate CERT's key signed. */
static int
chain_pem_make(const unsigned char *cert, size_t cert_len,
	       const struct ca_der_blob *chain, const size_t *served, size_t n,
	       char **out, struct mica_err *err)
{
	size_t total, i, left, k;
	char *p;

	*out = NULL;
	total = ca_pem_size("CERTIFICATE", cert_len);
	for (i = 0; i < n; i++)
		total += ca_pem_size("CERTIFICATE", chain[i].len);
	if ((*out = malloc(total)) == NULL)
		return oom(err);
	(*out)[0] = '\0';
	p = *out;
	left = total;
	for (i = 0; i <= n; i++) {
		const unsigned char *d = i == 0 ? cert : chain[served[i - 1]].der;
		size_t l = i == 0 ? cert_len : chain[served[i - 1]].len;

		k = ca_pem_size("CERTIFICATE", l);
		assert(k <= left);
		if (ca_pem_encode_buf("CERTIFICATE", d, l, p, k, err) != 0) {
			free(*out);
			*out = NULL;
			return -1;
		}
		p += k - 1;   /* over the NUL: the next one follows */
		left -= k - 1;
	}
	return 0;
}

/* The order in which a chain of N certificates (issuer first, as stored)
 * is handed out, into SERVED: every one but the root at index ROOT (the
 * first self-signed one; SIZE_MAX if none), then the root (chain_load
 * says why). */
static void
chain_order(size_t n, size_t root, size_t *served)
{
	size_t i, k;

	for (i = 0, k = 0; i < n; i++)
		if (i != root)
			served[k++] = i;
	if (root != SIZE_MAX)
		served[k++] = root;
	assert(k == n);
}

/* A retired key's chain, as a certificate it signed is handed out with:
 * its CA certificate K->cert, then the chain stored with it (CHAIN_DER,
 * issuer first; may be empty), into K->chain_pem. A rollover can change
 * what is above (a new root, a cross-certificate), so this is the chain
 * that key's certificate had, not the current key's. */
static int
slot_chain(struct ca_keyslot *k, const unsigned char *chain_der,
	   size_t chain_len, struct mica_err *err)
{
	struct ca_der_blob chain[CA_CHAIN_MAX];
	size_t served[CA_CHAIN_MAX], n = 0, root = SIZE_MAX;

	if (chain_der != NULL && chain_len > 0 &&
	    ca_der_split(chain_der, chain_len, chain, CA_CHAIN_MAX, &n,
			 err) != 0)
		return -1;
	k->path_not_after = k->not_after;
	for (size_t i = 0; i < n && root == SIZE_MAX; i++) {
		struct ca_cert_info ci;

		if (ca_cert_info_read(chain[i].der, chain[i].len, &ci, err) != 0)
			return -1;
		/* The path up to the root, as chain_load's (crosses, after
		 * the root, left out). */
		if (ci.not_after < k->path_not_after)
			k->path_not_after = ci.not_after;
		if (ci.subject_len == ci.issuer_len &&
		    memcmp(ci.subject, ci.issuer, ci.subject_len) == 0)
			root = i;
	}
	chain_order(n, root, served);
	return chain_pem_make(k->cert, k->cert_len, chain, served, n,
			      &k->chain_pem, err);
}

/* The chain above the CA's certificate, and the root at its top: the
 * first self-signed certificate of the chain (crosses follow it). The
 * chain is stored issuer first (chain[0] is what signed this CA) and
 * handed out (ca_chain_der, chain_pem) with the self-signed root after
 * the cross-certificates: a relying party that trusts only an older root
 * and meets the new root's self-signed certificate among the untrusted
 * ones before the cross-certificate ends its path there (OpenSSL 3.0
 * takes the first issuer that fits: "self-signed certificate in
 * certificate chain"), while one that trusts the new root finds it in
 * its own store whatever the order. RFC 8446 4.4.2 lets the root be
 * anywhere in what a server sends, or left out. */
static int
chain_load(struct ca_shared *sh, const struct db_ca *row, struct mica_err *err)
{
	size_t i, root = SIZE_MAX;

	if (row->chain_der != NULL && row->chain_len > 0) {
		if ((sh->chain_buf = malloc(row->chain_len)) == NULL)
			return oom(err);
		memcpy(sh->chain_buf, row->chain_der, row->chain_len);
		sh->chain_buf_len = row->chain_len;
		if (ca_der_split(sh->chain_buf, sh->chain_buf_len, sh->chain,
				 CA_CHAIN_MAX, &sh->nchain, err) != 0)
			return -1;
	}
	sh->root_der = sh->cert_der;
	sh->root_len = sh->cert_len;
	sh->path_not_after = sh->not_after;
	sh->path_end_name[0] = '\0';
	for (i = 0; i < sh->nchain; i++) {
		struct ca_cert_info ci;

		if (ca_cert_info_read(sh->chain[i].der, sh->chain[i].len, &ci,
				      err) != 0)
			return -1;
		sh->root_der = sh->chain[i].der;
		sh->root_len = sh->chain[i].len;
		/* Relying parties check every certificate of the path up to
		 * the root they trust, its own validity too (OpenSSL:
		 * "certificate has expired" at that depth). A root of
		 * another organisation may end before the certificate it
		 * gave this CA (sign-ca cuts it; openssl ca, AD CS do not).
		 * A cross-certificate is left out: it serves only devices
		 * with the old root, and its end would cut everyone's. */
		if (ci.not_after < sh->path_not_after) {
			sh->path_not_after = ci.not_after;
			ca_name_text(ci.subject, ci.subject_len,
				     sh->path_end_name,
				     sizeof(sh->path_end_name));
		}
		/* Constraints of a kind mica does not read (dirName...) are
		 * left to relying parties; install-ca said so. */
		if (ci.nc != NULL) {
			struct ca_nc *nc = malloc(sizeof(*nc));

			if (nc == NULL)
				return oom(err);
			if (ca_nc_parse(ci.nc, ci.nc_len, nc, NULL) == 0)
				sh->nc_above[sh->nnc_above++] = nc;
			else
				free(nc);
		}
		if (ci.subject_len == ci.issuer_len &&
		    memcmp(ci.subject, ci.issuer, ci.subject_len) == 0) {
			root = i;
			break;
		}
	}
	sh->npath = root != SIZE_MAX ? root + 1 : sh->nchain;
	chain_order(sh->nchain, root, sh->served);
	return chain_pem_make(sh->cert_der, sh->cert_len, sh->chain, sh->served,
			      sh->nchain, &sh->chain_pem, err);
}

/* Fill the cached CA facts from the CA row and its other keys. */
static int
shared_load(struct ca_shared *sh, const struct db_ca *row,
	    const struct db_ca_key *keys, size_t nkeys, struct mica_err *err)
{
	struct ca_keyslot cur;
	char crl[1100], aia[1100];
	unsigned char fp[32];
	int rc = -1;

	memset(&cur, 0, sizeof(cur));
	sh->state = row->state;
	sh->key_idx = row->key_idx;
	sh->pending_idx = -1;
	/* The row is what init wrote, unless the file was edited (or came
	 * from a tampered backup): refused here, at every open, rather
	 * than put into what the CA signs or serves. */
	if (row->crl_days < 0 || row->crl_days > CA_CRL_DAYS_MAX) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_record",
			     "the CA's CRL validity (%d days) is not 1 to %d",
			     row->crl_days, CA_CRL_DAYS_MAX);
		goto out;
	}
	if (row->public_url[0] != '\0' && !ca_public_url_ok(row->public_url)) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_record",
			     "the CA's public URL is not a URL mica init "
			     "would take");
		goto out;
	}
	if ((sh->name = strdup(row->name)) == NULL ||
	    (sh->public_url = strdup(row->public_url)) == NULL)
		goto oom;
	if (row->state == DB_CA_AWAITING) {
		enum ca_key_type kt;

		/* No certificate yet: only the key's algorithm is known. */
		if (row->key_type == NULL ||
		    ca_key_type_parse(row->key_type, &kt) != 0 ||
		    (sh->sig_alg = ca_key_type_sig_alg(kt,
						       &sh->sig_alg_len)) == NULL) {
			mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				     "the CA's key type is unknown");
			goto out;
		}
	} else {
		struct ca_cert_info ci;

		if (slot_load(&cur, row->key_idx, row->key_type, row->cert_der,
			      row->cert_len, err) != 0)
			goto out;
		sh->sig_alg = cur.sig_alg;
		sh->sig_alg_len = cur.sig_alg_len;
		sh->cert_der = cur.cert;
		sh->cert_len = cur.cert_len;
		sh->subject = cur.subject;
		sh->subject_len = cur.subject_len;
		cur.cert = cur.subject = NULL;
		memcpy(sh->ski, cur.ski, cur.ski_len);
		sh->ski_len = cur.ski_len;
		sh->not_before = cur.not_before;
		sh->not_after = cur.not_after;
		if (ca_cert_info_read(sh->cert_der, sh->cert_len, &ci, err) != 0)
			goto out;
		sh->self_signed = ci.issuer_len == ci.subject_len &&
				  memcmp(ci.issuer, ci.subject,
					 ci.subject_len) == 0;
		if (ci.nc != NULL) {
			if ((sh->nc = malloc(sizeof(*sh->nc))) == NULL)
				goto oom;
			if (ca_nc_parse(ci.nc, ci.nc_len, sh->nc, err) != 0)
				goto out;
		}
		if (ca_pem_encode("CERTIFICATE", sh->cert_der, sh->cert_len,
				  &sh->cert_pem, err) != 0 ||
		    chain_load(sh, row, err) != 0 ||
		    ca_pem_encode("CERTIFICATE", sh->root_der, sh->root_len,
				  &sh->root_pem, err) != 0)
			goto out;
		ca_sha256(sh->root_der, sh->root_len, fp);
		for (int i = 0; i < 32; i++)
			snprintf(sh->fingerprint + 3 * i,
				 sizeof(sh->fingerprint) - 3 * (size_t)i,
				 i < 31 ? "%02X:" : "%02X", fp[i]);
	}
	/* An offline root names no URL in what it signs unless given one. */
	if (row->public_url[0] != '\0') {
		if (ca_key_urls(row->public_url, row->key_idx, crl, sizeof(crl),
				aia, sizeof(aia)) != 0) {
			mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				     "the CA's public URL is too long");
			goto out;
		}
		if ((sh->crl_url = strdup(crl)) == NULL ||
		    (sh->aia_url = strdup(aia)) == NULL)
			goto oom;
		/* One responder for the current key's certificates (its
		 * certificate is issued by that key, RFC 6960 4.2.2.2). */
		if (snprintf(crl, sizeof(crl), "%s/ocsp", row->public_url) >=
		    (int)sizeof(crl)) {
			mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				     "the CA's public URL is too long");
			goto out;
		}
		if ((sh->ocsp_url = strdup(crl)) == NULL)
			goto oom;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].role == DB_KEY_PENDING) {
			sh->pending_idx = keys[i].idx;
			continue;
		}
		if (sh->nretired == CA_KEYS_MAX)
			break;
		if (slot_load(&sh->retired[sh->nretired], keys[i].idx,
			      keys[i].key_type, keys[i].cert_der,
			      keys[i].cert_len, err) != 0 ||
		    slot_chain(&sh->retired[sh->nretired], keys[i].chain_der,
			       keys[i].chain_len, err) != 0) {
			slot_free(&sh->retired[sh->nretired]);
			goto out;
		}
		sh->nretired++;
	}
	rc = 0;
	goto out;
oom:
	oom(err);
out:
	slot_free(&cur);
	return rc;
}

/* ---------------------------------------------------------- handles -- */

/* The sealed form of a key as the store keeps it. */
static int
sealed_from(const unsigned char *salt, size_t salt_len, int64_t iter,
	    const unsigned char *nonce, size_t nonce_len,
	    unsigned char *ct, size_t ct_len, struct ca_sealed_key *out,
	    struct mica_err *err)
{
	memset(out, 0, sizeof(*out));
	if (salt_len != sizeof(out->salt) || nonce_len != sizeof(out->nonce))
		return mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				    "the sealed CA key record is damaged");
	memcpy(out->salt, salt, sizeof(out->salt));
	memcpy(out->nonce, nonce, sizeof(out->nonce));
	out->iter = iter;
	out->ct = ct;        /* borrowed: the row owns it */
	out->ct_len = ct_len;
	return 0;
}

static int
key_sealed(const struct db_ca_key *k, struct ca_sealed_key *out,
	   struct mica_err *err)
{
	return sealed_from(k->key_salt, k->key_salt_len, k->key_iter,
			   k->key_nonce, k->key_nonce_len, k->key_ct,
			   k->key_ct_len, out, err);
}

/* Start the signers for SH's keys (ca_open_serve): hand them the sealed
 * keys, the passphrase, the CA certificates, the allowed domains with
 * their seal and the last CRL number; seal the domains if the store has
 * no seal yet (the first start after an upgrade). */
static int
start_signers(struct ca *ca, const struct db_ca *row,
	      const struct ca_sealed_key *sealed, const struct db_ca_key *keys,
	      size_t nkeys, char *pass, int nsigners, struct mica_err *err)
{
	struct ca_signer_config c;
	struct ca_signer_key retired[CA_KEYS_MAX];
	struct ca_sealed_key rsealed[CA_KEYS_MAX], ra, ra_new;
	struct db_scep_key ra_row;
	unsigned char mac[32], newmac[32];
	char **doms = NULL;
	size_t n = 0, nr = 0;
	int64_t last = 0;
	int has = 0, sealed_now = 0, has_ra = 0, rc = -1;

	memset(&ra_row, 0, sizeof(ra_row));
	memset(&ra_new, 0, sizeof(ra_new));
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].role != DB_KEY_RETIRED)
			continue;
		if (nr == CA_KEYS_MAX - 1 ||
		    key_sealed(&keys[i], &rsealed[nr], err) != 0)
			goto out;
		retired[nr].idx = (unsigned)keys[i].idx;
		retired[nr].sealed = &rsealed[nr];
		retired[nr].cert = keys[i].cert_der;
		retired[nr].cert_len = keys[i].cert_len;
		nr++;
	}
	if (db_domain_list(ca->db, &doms, err) != 0 ||
	    db_domains_mac_get(ca->db, mac, &has, err) != 0 ||
	    db_crl_last_number(ca->db, &last, err) != 0 ||
	    db_scep_key_get(ca->db, &ra_row, &has_ra, err) != 0)
		goto out;
	if (has_ra && sealed_from(ra_row.salt, sizeof(ra_row.salt),
				  ra_row.iter, ra_row.nonce,
				  sizeof(ra_row.nonce), ra_row.ct,
				  ra_row.ct_len, &ra, err) != 0)
		goto out;
	while (doms[n] != NULL)
		n++;
	memset(&c, 0, sizeof(c));
	c.sealed = sealed;
	c.key_idx = (unsigned)row->key_idx;
	c.retired = retired;
	c.nretired = nr;
	c.pass = pass;
	c.pass_len = strlen(pass);
	c.ca_cert = row->cert_der;
	c.ca_cert_len = row->cert_len;
	if (ca->sh->nchain > 0) {
		c.issuer_cert = ca->sh->chain[0].der;
		c.issuer_cert_len = ca->sh->chain[0].len;
	}
	c.domains = (const char *const *)doms;
	c.ndomains = n;
	c.domains_mac = has ? mac : NULL;
	c.crl_number = last > 0 ? (uint64_t)last : 0;
	c.nsigners = nsigners;
	c.scep_sealed = has_ra ? &ra : NULL;
	c.ocsp_by_ca = (ca->sh->flags & CA_OPEN_OCSP_BY_CA) != 0;
	c.ocsp_ca_from = ca->sh->path_not_after - CA_OCSP_DELEGATE_LEFT;
	if (ca_signer_start(&c, &ca->sh->signer, newmac, &sealed_now,
			    err) != 0)
		goto out;
	/* SCEP's RA key, made (and sealed) by the keeper the first time. */
	if (ca_signer_scep_new_sealed(ca->sh->signer, &ra_new) &&
	    ca_tx(ca, CA_TX_DURABLE, scep_key_body, &ra_new, err) != 0)
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
	ca_sealed_key_free(&ra_new);
	db_scep_key_free(&ra_row);
	ca_strv_free(doms);
	return rc;
}

/* Unseal every key of the CA into SH (the command line's CA_OPEN_UNLOCK):
 * the current one, those a rollover retired (they sign their CRLs) and a
 * pending renewal's. All are sealed under the one passphrase. */
static int
unseal_all(struct ca_shared *sh, const struct ca_sealed_key *sealed,
	   const struct db_ca_key *keys, size_t nkeys, const char *pass,
	   struct mica_err *err)
{
	struct ca_sealed_key s;

	if (ca_key_unseal(sealed, pass, strlen(pass), &sh->key, err) != 0)
		return -1;
	for (size_t i = 0; i < nkeys; i++) {
		struct ca_key **dst = NULL;

		if (keys[i].role == DB_KEY_PENDING) {
			dst = &sh->pending_key;
		} else {
			for (size_t j = 0; j < sh->nretired; j++)
				if (sh->retired[j].idx == keys[i].idx)
					dst = &sh->retired[j].key;
		}
		if (dst == NULL || *dst != NULL)
			continue;
		if (key_sealed(&keys[i], &s, err) != 0 ||
		    ca_key_unseal(&s, pass, strlen(pass), dst, err) != 0)
			return -1;
	}
	return 0;
}

/* SCEP's RA key, if the store holds one, into SH (CA_OPEN_ALL_KEYS).
 * One that does not open with PASS (sealed before a passphrase change
 * that did not re-seal it) is left alone with a warning: the next 'mica
 * serve' makes another, as it would have anyway. */
static int
unseal_ra(struct ca *ca, const char *pass, struct mica_err *err)
{
	struct db_scep_key row;
	struct ca_sealed_key s;
	struct mica_err e;
	int has = 0, rc = -1;

	memset(&row, 0, sizeof(row));
	mica_err_clear(&e);
	if (db_scep_key_get(ca->db, &row, &has, err) != 0)
		goto out;
	if (has) {
		if (sealed_from(row.salt, sizeof(row.salt), row.iter,
				row.nonce, sizeof(row.nonce), row.ct,
				row.ct_len, &s, &e) == 0 &&
		    ca_key_unseal(&s, pass, strlen(pass), &ca->sh->scep_key,
				  &e) == 0)
			ca->sh->scep_key_stored = 1;
		else
			mica_log(MICA_LOG_WARN, "the sealed SCEP RA key does "
				 "not open with this passphrase (%s); it is "
				 "left as it is", e.msg);
	}
	rc = 0;
out:
	db_scep_key_free(&row);
	return rc;
}

static int
open_handle(const char *datadir, const char *dbfile, int flags,
	    const char *passphrase_file, int nsigners, struct ca **out,
	    struct mica_err *err)
{
	struct ca *ca = NULL;
	struct ca_shared *sh = NULL;
	struct db_ca row;
	struct db_ca_key *keys = NULL;
	struct ca_sealed_key sealed;
	char path[PATH_MAX], *pass = NULL;
	size_t nkeys = 0;
	int rc = -1;

	memset(&row, 0, sizeof(row));
	*out = NULL;
	if (ca_path_join(path, sizeof(path), datadir, dbfile) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "data directory path too long");
	if (access(path, F_OK) != 0) {
		int e = errno;
		struct stat lsb;

		/* Only a store that is not there is "no CA": one this user
		 * may not reach (the daemon's own, run as another user) or
		 * a link to nothing must not send anyone to 'mica init'. */
		if (e == ENOENT && lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode))
			return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
					    "%s is a symbolic link to nothing",
					    path);
		if (e == ENOTDIR)
			return mica_err_set(err, MICA_E_UNAVAIL, "datadir",
					    "%s is not a directory", datadir);
		if (e != ENOENT)
			return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
					    "cannot reach the store %s: %s",
					    path, strerror(e));
		return mica_err_set(err, MICA_E_NOTFOUND, "no_ca",
				    "no CA in %s: run 'mica init' first", datadir);
	}
	if (ca_datadir_check(datadir, err) != 0)
		return -1;
	if ((ca = calloc(1, sizeof(*ca))) == NULL ||
	    (sh = calloc(1, sizeof(*sh))) == NULL) {
		free(ca);
		return oom(err);
	}
	pthread_mutex_init(&sh->lock, NULL);
	pthread_mutex_init(&sh->crl_lock, NULL);
	pthread_mutex_init(&sh->revoked_lock, NULL);
	sh->refs = 1;
	sh->flags = flags;
	sh->pending_idx = -1;
	ca->sh = sh;
	if ((sh->dbpath = strdup(path)) == NULL ||
	    (sh->datadir = strdup(datadir)) == NULL) {
		oom(err);
		goto out;
	}
	if (db_open(path, (flags & CA_OPEN_READONLY) ? DB_OPEN_READONLY :
		    (flags & OPEN_SIGNER) ? 0 : DB_OPEN_NO_MIGRATE, &ca->db,
		    err) != 0) {
		long pid = 0;
		int locked;

		/* A command of a new mica on the store of an older daemon
		 * still running (the package upgraded, the daemon not yet
		 * restarted): upgraded under it, that daemon could no longer
		 * open the store, and answered 503 to everything without
		 * stopping. The new daemon upgrades it at its start. */
		if (err == NULL || strcmp(err->code, "upgrade_pending") != 0)
			goto out;
		/* A daemon from before serve.lock takes none: any process
		 * that has the store open (a command of the older mica too)
		 * keeps it. */
		locked = ca_serve_running(datadir, &pid);
		if (locked || db_open_elsewhere(path, &pid)) {
			char who[40] = "";

			if (pid > 0)
				snprintf(who, sizeof(who), " (process %ld)", pid);
			if (locked)
				mica_err_set(err, MICA_E_CONFLICT, "serve_outdated",
					     "a mica serve%s runs on %s with an "
					     "older store schema than this mica's: "
					     "restart it with this mica (its start "
					     "upgrades the store), then run this "
					     "command again", who, datadir);
			else
				mica_err_set(err, MICA_E_CONFLICT, "serve_outdated",
					     "the store in %s is open in another "
					     "process%s, and this mica would upgrade "
					     "its schema under it: stop that process "
					     "(an older mica serve?) and start the new "
					     "one (its start upgrades the store), then "
					     "run this command again", datadir, who);
			goto out;
		}
		if (db_open(path, 0, &ca->db, err) != 0)
			goto out;
	}
	if (db_ca_get(ca->db, &row, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "no_ca",
				     "the database in %s holds no CA", datadir);
		goto out;
	}
	if (db_ca_key_list(ca->db, &keys, &nkeys, err) != 0 ||
	    shared_load(sh, &row, keys, nkeys, err) != 0)
		goto out;
	if (!(flags & CA_OPEN_READONLY) && ca_key_backfill(ca, err) != 0)
		goto out;
	/* The daemon serves a CA that can issue: not an offline root, not
	 * one still waiting for its certificate. One whose certificate the
	 * root revoked is served all the same (web/daemon.c says why). */
	if ((flags & OPEN_SIGNER) && ca_state_certified(ca, err) != 0)
		goto out;
	if (flags & (CA_OPEN_UNLOCK | OPEN_SIGNER)) {
		if (ca_pass_roll_forward(datadir, row.key_salt,
					 row.key_salt_len, err) != 0 ||
		    ca_pass_get(datadir, passphrase_file, &pass,
				&sh->pass_in_datadir, err) != 0)
			goto out;
		if (flags & OPEN_SIGNER)
			ca_pass_env_scrub();
		if (sealed_from(row.key_salt, row.key_salt_len, row.key_iter,
				row.key_nonce, row.key_nonce_len, row.key_ct,
				row.key_ct_len, &sealed, err) != 0)
			goto out;
		if (row.key_salt_len == sizeof(sh->unsealed_salt)) {
			memcpy(sh->unsealed_salt, row.key_salt,
			       sizeof(sh->unsealed_salt));
			sh->unsealed_salt_set = 1;
		}
		if (flags & OPEN_SIGNER) {
			if (start_signers(ca, &row, &sealed, keys, nkeys, pass,
					  nsigners, err) != 0)
				goto out;
		} else if (unseal_all(sh, &sealed, keys, nkeys, pass,
				      err) != 0 ||
			   ((flags & CA_OPEN_ALL_KEYS) &&
			    unseal_ra(ca, pass, err) != 0)) {
			goto out;
		}
	}
	/* A sweep that fails changes nothing and is tried again at the
	 * next open: the CA stays usable meanwhile. */
	if (!(flags & CA_OPEN_READONLY)) {
		struct mica_err se;

		if (ca_key_sweep(ca, &se) != 0)
			mica_log(MICA_LOG_WARN, "cannot yet revoke the other "
				 "certificates of keys compromised before: %s",
				 se.msg);
		/* A killed init's store, which nothing else would find
		 * (an init or restore that followed made mica.db). */
		ca_init_sweep(datadir);
	}
	*out = ca;
	ca = NULL;
	rc = 0;
out:
	ca_pass_free(pass);
	db_ca_free(&row);
	db_ca_key_array_free(keys, nkeys);
	ca_close(ca);
	return rc;
}

/* Take the key of index IDX out of HAVE (N pairs), or NULL. */
static struct ca_key *
take_key(struct ca_key **keys, const int *idx, size_t n, int want)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i] != NULL && idx[i] == want) {
			struct ca_key *k = keys[i];

			keys[i] = NULL;
			return k;
		}
	return NULL;
}

int
ca_reload(struct ca *ca, struct mica_err *err)
{
	struct ca_shared *old = ca->sh, *nw;
	struct db_ca row;
	struct db_ca_key *keys = NULL;
	struct ca_key *have[CA_KEYS_MAX + 2];
	int idx[CA_KEYS_MAX + 2];
	size_t nkeys = 0, n = 0, i;
	int rc = -1;

	assert(old->refs == 1 && old->signer == NULL && old->writer == NULL);
	memset(&row, 0, sizeof(row));
	if ((nw = calloc(1, sizeof(*nw))) == NULL)
		return oom(err);
	pthread_mutex_init(&nw->lock, NULL);
	pthread_mutex_init(&nw->crl_lock, NULL);
	/* The revocation is worked out again for the new certificate (a
	 * rollover lifts it): nothing of it is carried over. */
	pthread_mutex_init(&nw->revoked_lock, NULL);
	nw->refs = 1;
	nw->flags = old->flags;
	nw->pending_idx = -1;
	if ((nw->dbpath = strdup(old->dbpath)) == NULL ||
	    (nw->datadir = strdup(old->datadir)) == NULL) {
		oom(err);
		goto out;
	}
	if (db_ca_get(ca->db, &row, err) != 0 ||
	    db_ca_key_list(ca->db, &keys, &nkeys, err) != 0 ||
	    shared_load(nw, &row, keys, nkeys, err) != 0)
		goto out;
	/* The unsealed keys follow their indexes to their new places. */
	if (old->key != NULL) {
		have[n] = old->key;
		idx[n++] = old->key_idx;
	}
	for (i = 0; i < old->nretired; i++)
		if (old->retired[i].key != NULL) {
			have[n] = old->retired[i].key;
			idx[n++] = old->retired[i].idx;
		}
	if (old->pending_key != NULL) {
		have[n] = old->pending_key;
		idx[n++] = old->pending_idx;
	}
	nw->key = take_key(have, idx, n, nw->key_idx);
	for (i = 0; i < nw->nretired; i++)
		nw->retired[i].key = take_key(have, idx, n,
					      nw->retired[i].idx);
	if (nw->pending_idx >= 0)
		nw->pending_key = take_key(have, idx, n, nw->pending_idx);
	for (i = 0; i < n; i++)
		ca_key_free(have[i]);
	old->key = old->pending_key = NULL;
	for (i = 0; i < old->nretired; i++)
		old->retired[i].key = NULL;
	atomic_store(&nw->crl_signed, atomic_load(&old->crl_signed));
	atomic_store(&nw->issuing_ms, atomic_load(&old->issuing_ms));
	atomic_store(&nw->crl_background, atomic_load(&old->crl_background));
	ca->sh = nw;
	nw = old;   /* freed below */
	rc = 0;
out:
	db_ca_free(&row);
	db_ca_key_array_free(keys, nkeys);
	shared_free(nw);
	return rc;
}

int
ca_open(const char *datadir, int flags, const char *passphrase_file,
	struct ca **out, struct mica_err *err)
{
	return open_handle(datadir, CA_DB_FILE, flags & ~OPEN_SIGNER,
			   passphrase_file, 0, out, err);
}

int
ca_open_file(const char *datadir, const char *dbfile, int flags,
	     const char *passphrase_file, struct ca **out,
	     struct mica_err *err)
{
	return open_handle(datadir, dbfile, flags & ~OPEN_SIGNER,
			   passphrase_file, 0, out, err);
}

int
ca_open_serve(const char *datadir, const char *passphrase_file, int nsigners,
	      int flags, struct ca **out, struct mica_err *err)
{
	if (nsigners < 0 || nsigners > CA_SIGNER_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_signers",
				    "1 to %d signer processes", CA_SIGNER_MAX);
	if ((flags & ~CA_OPEN_OCSP_BY_CA) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "unknown flags for a served CA");
	return open_handle(datadir, CA_DB_FILE, OPEN_SIGNER | flags,
			   passphrase_file, nsigners, out, err);
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

int64_t
ca_signer_stall_ms(struct ca *ca)
{
	return ca->sh->signer != NULL ? ca_signer_stalled_ms(ca->sh->signer) : 0;
}

void
ca_signer_give_up(struct ca *ca)
{
	if (ca->sh->signer != NULL)
		ca_signer_abandon(ca->sh->signer);
}

int
ca_clone(struct ca *parent, struct ca **out, struct mica_err *err)
{
	struct ca *ca;

	*out = NULL;
	if (MICA_FAULT("clone"))
		return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "cannot open the store (fault injected)");
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

const unsigned char *
ca_cert_der(struct ca *ca, size_t *len)
{
	*len = ca->sh->cert_len;
	return ca->sh->cert_der;
}

const char *ca_cert_pem(struct ca *ca) { return ca->sh->cert_pem; }
const char *ca_chain_pem(struct ca *ca) { return ca->sh->chain_pem; }

const char *
ca_key_chain_pem(struct ca *ca, int key_idx)
{
	const struct ca_keyslot *k;

	if (key_idx == ca->sh->key_idx)
		return ca->sh->chain_pem;
	k = ca_keyslot(ca, key_idx);
	return k != NULL ? k->chain_pem : NULL;
}

const char *
ca_issued_chain_pem(struct ca *ca, const struct ca_issued *is)
{
	return ca_key_chain_pem(ca, is->key_idx);
}

size_t
ca_chain_count(struct ca *ca)
{
	return ca->sh->cert_der != NULL ? 1 + ca->sh->nchain : 0;
}

const unsigned char *
ca_chain_der(struct ca *ca, size_t i, size_t *len)
{
	if (i == 0 && ca->sh->cert_der != NULL) {
		*len = ca->sh->cert_len;
		return ca->sh->cert_der;
	}
	if (ca->sh->cert_der == NULL || i > ca->sh->nchain) {
		*len = 0;
		return NULL;
	}
	*len = ca->sh->chain[ca->sh->served[i - 1]].len;
	return ca->sh->chain[ca->sh->served[i - 1]].der;
}

int
ca_state(struct ca *ca)
{
	switch (ca->sh->state) {
	case DB_CA_AWAITING: return CA_STATE_AWAITING;
	case DB_CA_ROOT_ONLY: return CA_STATE_ROOT_ONLY;
	default: return CA_STATE_ACTIVE;
	}
}

int
ca_state_issue(struct ca *ca, struct mica_err *err)
{
	if (ca_state_certified(ca, err) != 0)
		return -1;
	return ca_revoked_check(ca, 0, err);
}

int
ca_state_certified(struct ca *ca, struct mica_err *err)
{
	if (ca->sh->state == DB_CA_ROOT_ONLY)
		return mica_err_set(err, MICA_E_CONFLICT, "root_only",
				    "this is an offline root: it signs CA "
				    "certificates ('mica sign-ca') and its CRL, "
				    "nothing else, and is never served");
	if (ca->sh->state == DB_CA_AWAITING)
		return mica_err_set(err, MICA_E_CONFLICT,
				    "awaiting_certificate",
				    "this CA awaits its certificate: have its "
				    "request signed, then 'mica install-ca'");
	return 0;
}

const struct ca_keyslot *
ca_keyslot(struct ca *ca, int idx)
{
	for (size_t i = 0; i < ca->sh->nretired; i++)
		if (ca->sh->retired[i].idx == idx)
			return &ca->sh->retired[i];
	return NULL;
}

const char *ca_root_pem(struct ca *ca) { return ca->sh->root_pem; }
const char *ca_root_fingerprint(struct ca *ca) { return ca->sh->fingerprint; }
const char *ca_name(struct ca *ca) { return ca->sh->name; }
const char *ca_public_url(struct ca *ca) { return ca->sh->public_url; }
int64_t ca_not_after(struct ca *ca) { return ca->sh->not_after; }
int64_t ca_path_not_after(struct ca *ca) { return ca->sh->path_not_after; }

/* AT in UTC for people (RFC3339 0) or as RFC 3339 (1); its number when
 * it has no date. */
static void
date_out(int64_t at, int rfc3339, char out[CA_DATE_TEXT])
{
	struct tm tm;
	time_t t = (time_t)at;
	size_t n = 0;

	if (gmtime_r(&t, &tm) != NULL)
		n = rfc3339 ? strftime(out, CA_DATE_TEXT, "%Y-%m-%dT%H:%M:%SZ", &tm) :
			      strftime(out, CA_DATE_TEXT, "%Y-%m-%d %H:%M UTC", &tm);
	if (n == 0)
		snprintf(out, CA_DATE_TEXT, "%lld", (long long)at);
}

void
ca_date_text(int64_t at, char out[CA_DATE_TEXT])
{
	date_out(at, 0, out);
}

void
ca_date_rfc3339(int64_t at, char out[CA_DATE_TEXT])
{
	date_out(at, 1, out);
}

/* ca_expiry_warning for WHAT, which ends at END; ACTION what to do, and
 * WHERE where it is told. */
static int
expiry_say(const char *what, int64_t end, int64_t now, const char *action,
	   const char *where, char *buf, size_t size)
{
	char date[CA_DATE_TEXT], in[32];
	int64_t left = end - now;

	if (left > (int64_t)CA_EXPIRY_WARN_DAYS * 86400)
		return 0;
	ca_date_text(end, date);
	if (end <= now) {
		snprintf(buf, size, "the %s expired on %s: relying parties "
			 "refuse what it signs; %s (%s)", what, date, action,
			 where);
		return 2;
	}
	if (left >= 2 * 86400)
		snprintf(in, sizeof(in), "in %lld days", (long long)(left / 86400));
	else if (left >= 86400)
		snprintf(in, sizeof(in), "in 1 day");
	else if (left >= 2 * 3600)
		snprintf(in, sizeof(in), "in %lld hours", (long long)(left / 3600));
	else if (left >= 3600)
		snprintf(in, sizeof(in), "in 1 hour");
	else
		snprintf(in, sizeof(in), "within the hour");
	snprintf(buf, size, "the %s expires on %s (%s): %s before then (%s)",
		 what, date, in, action, where);
	return 1;
}

int
ca_expiry_warning(struct ca *ca, int64_t now, char *buf, size_t size)
{
	struct ca_shared *sh = ca->sh;

	assert(buf != NULL && size > 0);
	buf[0] = '\0';
	if (sh->state == DB_CA_AWAITING || sh->cert_der == NULL)
		return 0;
	if (sh->self_signed)
		return expiry_say("root CA certificate", sh->not_after, now,
				  "make a new root", "README: 'Replacing the "
				  "root at the end of its life'", buf, size);
	/* sign-ca cuts an issuing CA's certificate to its root's end; another
	 * organisation's root may end first all the same (openssl ca, AD CS
	 * do not cut), and relying parties refuse everything under it then. */
	if (sh->path_end_name[0] != '\0') {
		char what[220];

		snprintf(what, sizeof(what), "CA certificate of %s, above this "
			 "CA,", sh->path_end_name);
		return expiry_say(what, sh->path_not_after, now, "have this CA "
				  "certified under one that lasts", "'mica "
				  "renew-ca --help'", buf, size);
	}
	/* Cut to the root's end (sign-ca does so): a renewal from that root
	 * is cut the same, so "renew it" would not help; a new root would.
	 * The root is read only within the warning's days: /healthz asks
	 * this at every request. */
	if (sh->root_der != NULL && sh->root_der != sh->cert_der &&
	    sh->not_after - now <= (int64_t)CA_EXPIRY_WARN_DAYS * 86400) {
		struct ca_cert_info ci;
		char name[160], what[220];

		if (ca_cert_info_read(sh->root_der, sh->root_len, &ci,
				      NULL) == 0 &&
		    ci.not_after <= sh->not_after) {
			ca_name_text(ci.subject, ci.subject_len, name,
				     sizeof(name));
			snprintf(what, sizeof(what), "CA certificate, and the "
				 "root above it (%s) with it,", name);
			return expiry_say(what, sh->not_after, now, "have "
					  "this CA certified under a new "
					  "root", "README: 'Replacing the "
					  "root at the end of its life'", buf,
					  size);
		}
	}
	return expiry_say("CA certificate", sh->not_after, now, "renew it",
			  "'mica renew-ca --help'", buf, size);
}

/*
 * web/tls.c - the daemon's own TLS certificate and its HTTPS listener
 * (web/tls.h). The key is generated at every start and kept in memory
 * only; its certificate is issued by the CA like any other (CDP and AIA
 * included), for the names clients may type to reach the daemon.
 */
#include "web/tls.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/keys.h"
#include "ca/names.h"
#include "ca/x509.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/log.h"
#include "web/listener.h"
#include "web/parse.h"
#include "web/server.h"

/* Names for the daemon's certificate: what clients may type to reach it:
 * "localhost" (which ca_issue_for_spki allows an admin) and whatever else
 * passes ca_name_parse. */
static size_t
tls_names(struct web_tls *t, char names[WEB_TLS_NAMES_MAX][256])
{
	char cand[6][256];
	size_t nc = 0, n = 0;

	snprintf(cand[nc++], 256, "localhost");
	snprintf(cand[nc++], 256, "127.0.0.1");
	if (!t->addr->wildcard)
		snprintf(cand[nc++], 256, "%s", t->addr->host);
	ca_url_host(ca_public_url(t->srv->parent), cand[nc], 256);
	if (cand[nc][0] != '\0')
		nc++;
	web_host_name(cand[nc++], 256);
	for (size_t i = 0; i < nc && n < WEB_TLS_NAMES_MAX; i++) {
		struct ca_name nm;
		int dup = 0;

		if (strcmp(cand[i], "localhost") == 0) {
			nm.kind = CA_NAME_DNS;
			snprintf(nm.value, sizeof(nm.value), "localhost");
		} else if (ca_name_parse(cand[i], 0, &nm, NULL) != 0 ||
			   nm.kind == CA_NAME_EMAIL || nm.kind == CA_NAME_UPN) {
			continue;
		}
		for (size_t k = 0; k < n; k++)
			if (strcmp(names[k], nm.value) == 0)
				dup = 1;
		if (!dup)
			snprintf(names[n++], 256, "%s", nm.value);
	}
	return n;
}

/* A renewal that failed is tried again this much later. */
#define RETRY_MS INT64_C(300000)

/* A certificate tls_issue made: T's once it is served (tls_adopt). */
struct tls_new {
	char serial[sizeof(((struct ca_issued *)0)->serial)];
	int64_t not_before, not_after;
	char names[sizeof(((struct web_tls *)0)->names)];
};
static void tls_abandon(struct web_tls *t, const struct tls_new *nw);

/* A fresh key (in memory only) and a certificate for it from our own CA,
 * described in *NEW. On success *key_pem (zeroize with ca_key_pem_free)
 * and *cert_pem (free). */
static int
tls_issue(struct web_tls *t, char **key_pem, char **cert_pem,
	  struct tls_new *nw, struct mica_err *err)
{
	struct web_server *srv = t->srv;
	char names[WEB_TLS_NAMES_MAX][256];
	const char *np[WEB_TLS_NAMES_MAX];
	unsigned char *spki = NULL;
	size_t spki_len = 0, n, o = 0;
	struct ca_issued out;
	struct ca_principal p;
	int rc = -1, r, def = 0, max = 0;

	*key_pem = *cert_pem = NULL;
	memset(nw, 0, sizeof(*nw));
	memset(&out, 0, sizeof(out));
	web_daemon_principal(&p);
	if ((n = tls_names(t, names)) == 0) {
		mica_err_set(err, MICA_E_INTERNAL, "tls_names", "no usable name for the TLS certificate");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		np[i] = names[i];
	if (ca_key_generate_pem(CA_KEY_EC_P256, key_pem, &spki, &spki_len, err) != 0)
		goto out;
	pthread_mutex_lock(&srv->parent_lock);
	/* WEB_TLS_DAYS, or less where the admin capped the server profile
	 * ('mica profile set server --max-days 30': short-lived server
	 * certificates): the daemon's own follows the rule it enforces. */
	r = ca_profile_days(srv->parent, "server", &def, &max, err);
	if (r == 0)
		r = ca_issue_for_spki(srv->parent, &p, "server", spki, spki_len,
				      np, n, max < WEB_TLS_DAYS ? max : WEB_TLS_DAYS,
				      &out, err);
	pthread_mutex_unlock(&srv->parent_lock);
	if (r != 0)
		goto out;
	nw->not_before = out.not_before;
	nw->not_after = out.not_after;
	snprintf(nw->serial, sizeof(nw->serial), "%s", out.serial);
	if (ca_pem_encode("CERTIFICATE", out.der, out.der_len, cert_pem, err) != 0)
		goto abandon;
	/* Under a root, clients trust the root only: send the issuing CA
	 * and what is above it with the certificate. */
	if (ca_chain_count(srv->parent) > 1) {
		char *all = NULL;

		if (asprintf(&all, "%s%s", *cert_pem,
			     ca_chain_pem(srv->parent)) < 0) {
			mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				     "out of memory");
			goto abandon;
		}
		free(*cert_pem);
		*cert_pem = all;
	}
	/* The names the certificate has, for the banner: the engine leaves
	 * out those it may not certify (under a root, "localhost" is outside
	 * the name constraints), so not NAMES but the record. */
	{
		struct ca_cert c;
		struct mica_err ge;
		const char *nm;
		size_t len;

		memset(&c, 0, sizeof(c));
		mica_err_clear(&ge);
		pthread_mutex_lock(&srv->parent_lock);
		r = ca_cert_get(srv->parent, &p, out.serial, &c, &ge);
		pthread_mutex_unlock(&srv->parent_lock);
		if (r == 0 && c.names != NULL) {
			for (nm = c.names; *nm != '\0'; nm += len + (nm[len] == '\n')) {
				int k;

				len = strcspn(nm, "\n");
				k = snprintf(nw->names + o, sizeof(nw->names) - o,
					     "%s%.*s", o > 0 ? ", " : "",
					     (int)len, nm);
				if (k < 0 || (size_t)k >= sizeof(nw->names) - o)
					break;
				o += (size_t)k;
			}
		}
		ca_cert_free(&c);
	}
	rc = 0;
	goto out;
abandon:
	tls_abandon(t, nw);
out:
	if (rc != 0) {
		ca_key_pem_free(*key_pem);
		free(*cert_pem);
		*key_pem = *cert_pem = NULL;
	}
	free(spki);
	ca_issued_free(&out);
	ca_principal_free(&p);
	return rc;
}

/* NW is served now: the daemon's state follows it (the store recorded it
 * as the daemon's when it was issued). */
static void
tls_adopt(struct web_tls *t, const struct tls_new *nw)
{
	t->not_before = nw->not_before;
	t->not_after = nw->not_after;
	snprintf(t->serial, sizeof(t->serial), "%s", nw->serial);
	snprintf(t->names, sizeof(t->names), "%s", nw->names);
}

/* NW was issued but is never served, and its key is gone. */
static void
tls_abandon(struct web_tls *t, const struct tls_new *nw)
{
	struct ca_principal p;
	struct mica_err e;
	int r;

	web_daemon_principal(&p);
	pthread_mutex_lock(&t->srv->parent_lock);
	r = ca_tls_abandon(t->srv->parent, &p, nw->serial, &e);
	pthread_mutex_unlock(&t->srv->parent_lock);
	ca_principal_free(&p);
	if (r != 0)
		mica_log(MICA_LOG_WARN, "the unused HTTPS certificate %s is "
			 "not revoked: %s (%s)", nw->serial, e.msg, e.code);
	else
		mica_log(MICA_LOG_INFO, "revoked the unused HTTPS certificate "
			 "%s (cessationOfOperation)", nw->serial);
}

/* The HTTPS listener on the listening socket FD (closed on failure). */
static struct web_listener *
tls_listen(struct web_tls *t, int fd, const char *key, const char *cert,
	   struct mica_err *err)
{
	struct web_listener *l;

	if (MICA_FAULT("tls_listener")) {
		mica_err_set(err, MICA_E_INTERNAL, "fault", "injected fault");
		l = NULL;
	} else
		l = web_listener_start(t->srv, 1, t->addr, t->url, t->threads,
				       fd, key, cert, err);
	if (l == NULL)
		close(fd);
	return l;
}

int
web_tls_start(struct web_tls *t, int fd, struct mica_err *err)
{
	struct tls_new nw;
	char *key = NULL, *cert = NULL;

	assert(t->listener == NULL && fd >= 0);
	if (tls_issue(t, &key, &cert, &nw, err) != 0) {
		close(fd);
		return -1;
	}
	t->listener = tls_listen(t, fd, key, cert, err);
	/* GnuTLS has parsed both; our copy of the key goes now. */
	ca_key_pem_free(key);
	free(cert);
	if (t->listener == NULL) {
		tls_abandon(t, &nw);
		return -1;
	}
	tls_adopt(t, &nw);
	return 0;
}

/* New certificate, new listener on a duplicate of the listening socket,
 * then the old listener stops accepting, finishes what it has, and goes.
 * Until the new one serves, T still describes the old one: a failure is
 * retried (web_tls_maintain). */
static int
tls_rotate(struct web_tls *t, struct mica_err *err)
{
	struct web_listener *old = t->listener, *nl;
	struct tls_new nw;
	char *key = NULL, *cert = NULL;
	int fd;

	if (old == NULL)
		return 0;
	if ((fd = web_listener_dup_fd(old)) < 0)
		return mica_err_set(err, MICA_E_INTERNAL, "dup", "cannot duplicate the listening socket");
	if (tls_issue(t, &key, &cert, &nw, err) != 0) {
		close(fd);
		return -1;
	}
	nl = tls_listen(t, fd, key, cert, err);
	ca_key_pem_free(key);
	free(cert);
	if (nl == NULL) {
		tls_abandon(t, &nw);
		return -1;
	}
	t->listener = nl;
	tls_adopt(t, &nw);
	web_listeners_stop(old, NULL);
	return 0;
}

void
web_tls_maintain(struct web_tls *t, int force)
{
	int64_t now = (int64_t)time(NULL), mono = mica_mono_ms(), life, renew_at;
	struct mica_err e;
	char ts[32];

	if (t->listener == NULL)
		return;
	if (!force) {
		life = t->not_after - t->not_before;
		renew_at = t->not_after - life / 3;
		/* A failed renewal is retried RETRY_MS later, on the
		 * monotonic clock: on the wall clock, a failure followed by
		 * the clock set back a month would wait that month. */
		if (t->failed_ms != 0 && mono - t->failed_ms < RETRY_MS)
			return;
		/* Before its notBefore, the clock was set back (it ran ahead,
		 * then NTP or an admin corrected it): clients with the right
		 * time refuse a certificate that is not valid yet, however
		 * long it has left. */
		if (now < renew_at && now >= t->not_before)
			return;
		/* Cut to the end of the CA's path already (its own
		 * certificate's, or one above it): a new one cannot do
		 * better. */
		if (ca_path_not_after(t->srv->parent) <= t->not_after &&
		    now >= t->not_before && now < t->not_after)
			return;
	}
	if (tls_rotate(t, &e) != 0) {
		t->failed_ms = mono != 0 ? mono : 1;
		mica_log(MICA_LOG_ERR, "cannot renew the HTTPS certificate: %s: %s",
			 e.code, e.msg);
	} else {
		t->failed_ms = 0;
		mica_log(MICA_LOG_INFO, "new HTTPS certificate %s, valid until %s",
			 t->serial, web_time_str(t->not_after, ts));
	}
}

/*
 * web/web.c - `mica serve` start-up and lifetime: the CA (created on first
 * start), the listeners, the per-thread engine handles, signals, the CRL
 * timer and the daemon's own TLS certificate.
 *
 * Threads: libmicrohttpd runs a pool of worker threads per listener (epoll
 * where available); each worker lazily clones its own engine handle (its
 * own SQLite connection) from the one opened at start. The main thread
 * only waits for signals and, once a minute, maintains the CRL and the TLS
 * certificate.
 *
 * The TLS key is generated at every start and kept in memory only; its
 * certificate is issued by the CA like any other (CDP and AIA included).
 * Renewal hands the listening socket from the old HTTPS daemon to a new
 * one, so no connection is refused while it happens.
 */
#include "web/web_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ca/keys.h"
#include "ca/names.h"
#include "ca/x509.h"
#include "util/log.h"

/* GnuTLS priorities: TLS 1.2 and 1.3 only (RFC 8996 deprecates older). */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define TLS_NAMES_MAX  8

struct web_addr {
	int on;
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN];  /* numeric */
	int port;
	int wildcard;                 /* 0.0.0.0 or :: */
};

struct web_server {
	const struct web_opts *o;
	struct ca *parent;               /* opened at start; main thread */
	pthread_mutex_t parent_lock;
	pthread_key_t key;               /* per-thread clone of parent */
	int key_made;
	int api_over_http;
	unsigned threads;
	struct web_addr http_addr, https_addr;
	struct web_listener *http, *https;
	char http_url[160], https_url[160];
	unsigned char *root_der;
	size_t root_der_len;
	char *root_pem;
	struct web_ratelimit rl;
	struct ca_acme *acme;            /* ACME service (its own workers) */
	/* CRL cache */
	pthread_mutex_t crl_lock;
	struct web_blob *crl_der, *crl_pem;
	int64_t crl_number, crl_this, crl_next;
	struct timespec crl_checked;
	int crl_loaded;
	/* the daemon's TLS certificate */
	int64_t tls_not_before, tls_not_after, tls_last_try;
	char tls_serial[CA_SERIAL_MAX];
	char tls_names[TLS_NAMES_MAX * 64];
};

/* ------------------------------------------------- small services -- */

int
web_api_over_http(const struct web_server *srv)
{
	return srv != NULL && srv->api_over_http;
}

const char *
web_https_url(const struct web_server *srv)
{
	return srv != NULL && srv->https_addr.on ? srv->https_url : NULL;
}

struct web_ratelimit *
web_server_rl(struct web_server *srv)
{
	return &srv->rl;
}

struct ca_acme *
web_server_acme(struct web_server *srv)
{
	return srv != NULL ? srv->acme : NULL;
}

void
web_server_root(struct web_server *srv, const unsigned char **der,
		size_t *der_len, const char **pem)
{
	*der = srv != NULL ? srv->root_der : NULL;
	*der_len = srv != NULL ? srv->root_der_len : 0;
	*pem = srv != NULL ? srv->root_pem : NULL;
}

/* The daemon acting on its own behalf (timer, its TLS certificate):
 * everything the command line may do, recorded as "daemon" in the audit. */
static void
daemon_principal(struct ca_principal *p)
{
	ca_principal_cli(p);
	snprintf(p->actor, sizeof(p->actor), "daemon");
}

static void
thread_ca_free(void *p)
{
	ca_close(p);
}

struct ca *
web_thread_ca(struct web_server *srv, struct mica_err *err)
{
	struct ca *ca;
	struct mica_err e;
	int rc;

	if (srv == NULL) {
		mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
			     "the certificate store is unavailable");
		return NULL;
	}
	if ((ca = pthread_getspecific(srv->key)) != NULL)
		return ca;
	pthread_mutex_lock(&srv->parent_lock);
	rc = ca_clone(srv->parent, &ca, &e);
	pthread_mutex_unlock(&srv->parent_lock);
	if (rc != 0) {
		mica_log(MICA_LOG_ERR, "cannot open the store for a worker: %s", e.msg);
		mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
			     "the certificate store is unavailable; try again later");
		return NULL;
	}
	if (pthread_setspecific(srv->key, ca) != 0) {
		ca_close(ca);
		mica_err_set(err, MICA_E_INTERNAL, "thread_key", "cannot keep a store handle");
		return NULL;
	}
	return ca;
}

/* ------------------------------------------------------------- CRL -- */

/* Caller holds crl_lock. Takes over CRL->der (set to NULL) without a copy:
 * a large CRL is tens of megabytes, and its PEM form a third more. */
static int
crl_load(struct web_server *srv, struct ca_crl *crl, struct mica_err *err)
{
	struct web_blob *d = NULL, *p = NULL;
	size_t pem_size;

	if (crl->der == NULL || crl->der_len == 0)
		return mica_err_set(err, MICA_E_INTERNAL, "crl_empty", "stored CRL is empty");
	if ((pem_size = ca_pem_size("X509 CRL", crl->der_len)) == 0)
		return mica_err_set(err, MICA_E_INTERNAL, "crl_too_large", "the CRL is too large");
	if ((p = web_blob_new(NULL, pem_size - 1)) == NULL)
		goto oom;
	if (ca_pem_encode_buf("X509 CRL", crl->der, crl->der_len, (char *)p->data,
			      pem_size, err) != 0) {
		web_blob_unref(p);
		return -1;
	}
	d = web_blob_adopt(crl->der, crl->der_len);
	crl->der = NULL;
	if (d == NULL)
		goto oom;
	web_blob_unref(srv->crl_der);
	web_blob_unref(srv->crl_pem);
	srv->crl_der = d;
	srv->crl_pem = p;
	srv->crl_number = crl->number;
	srv->crl_this = crl->this_update;
	srv->crl_next = crl->next_update;
	srv->crl_loaded = 1;
	return 0;
oom:
	web_blob_unref(p);
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
}

int
web_crl_get(struct web_server *srv, struct ca *ca, int force,
	    struct web_blob **der, struct web_blob **pem, int64_t *this_update,
	    int64_t *next_update, int64_t *number, struct mica_err *err)
{
	struct timespec mono;
	struct mica_err e;
	struct ca_crl crl;
	int64_t now = (int64_t)time(NULL);

	*der = *pem = NULL;
	if (srv == NULL)
		return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "the certificate store is unavailable");
	mica_err_clear(&e);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	pthread_mutex_lock(&srv->crl_lock);
	/* Another process (the CLI) may publish too: look at the store at
	 * most once a second, and only copy the CRL when its number moved. */
	if (force || !srv->crl_loaded || mono.tv_sec != srv->crl_checked.tv_sec) {
		memset(&crl, 0, sizeof(crl));
		/* The number first: the bytes only when they changed. */
		if (ca_crl_info(ca, &crl, &e) == 0) {
			if ((!srv->crl_loaded || crl.number != srv->crl_number) &&
			    (ca_crl_current(ca, &crl, &e) != 0 || crl_load(srv, &crl, &e) != 0))
				mica_log(MICA_LOG_ERR, "cannot load the CRL: %s", e.msg);
			srv->crl_checked = mono;
		} else if (e.kind != MICA_E_NOTFOUND) {
			mica_log(MICA_LOG_WARN, "cannot read the CRL: %s", e.msg);
			if (!srv->crl_loaded) {
				ca_crl_free(&crl);
				pthread_mutex_unlock(&srv->crl_lock);
				if (err != NULL)
					*err = e;
				return -1;
			}
		}
		ca_crl_free(&crl);
	}
	if (!srv->crl_loaded || srv->crl_next <= now) {
		/* Never serve an expired CRL: publish one now, or refuse. */
		struct ca_principal p;

		daemon_principal(&p);
		memset(&crl, 0, sizeof(crl));
		if (ca_crl_publish(ca, &p, &crl, &e) != 0 || crl_load(srv, &crl, &e) != 0) {
			ca_crl_free(&crl);
			ca_principal_free(&p);
			pthread_mutex_unlock(&srv->crl_lock);
			mica_log(MICA_LOG_ERR, "the CRL has expired and cannot be republished: %s",
				 e.msg);
			return mica_err_set(err, MICA_E_UNAVAIL, "crl_expired",
					    "the CRL has expired and a new one cannot be published now");
		}
		mica_log(MICA_LOG_INFO, "published CRL number %lld (it had expired)",
			 (long long)crl.number);
		ca_crl_free(&crl);
		ca_principal_free(&p);
	}
	*der = web_blob_ref(srv->crl_der);
	*pem = web_blob_ref(srv->crl_pem);
	*this_update = srv->crl_this;
	*next_update = srv->crl_next;
	*number = srv->crl_number;
	pthread_mutex_unlock(&srv->crl_lock);
	return 0;
}

void
web_crl_changed(struct web_server *srv, struct ca *ca)
{
	struct web_blob *d = NULL, *p = NULL;
	struct mica_err e;
	int64_t tu, nu, num;

	if (srv == NULL)
		return;
	if (web_crl_get(srv, ca, 1, &d, &p, &tu, &nu, &num, &e) != 0)
		mica_log(MICA_LOG_WARN, "cannot reload the CRL: %s", e.msg);
	web_blob_unref(d);
	web_blob_unref(p);
}

/* The timer: republish when less than half of the CRL's period remains,
 * well before nextUpdate, so relying parties never see it lapse. */
static void
crl_maintain(struct web_server *srv)
{
	struct ca_crl crl;
	struct mica_err e;
	struct ca_principal p;
	int64_t now = (int64_t)time(NULL);
	int need;

	memset(&crl, 0, sizeof(crl));
	pthread_mutex_lock(&srv->parent_lock);
	if (ca_crl_info(srv->parent, &crl, &e) == 0) {
		need = now >= crl.this_update + (crl.next_update - crl.this_update) / 2;
	} else if (e.kind == MICA_E_NOTFOUND) {
		need = 1;
	} else {
		mica_log(MICA_LOG_WARN, "cannot read the CRL: %s", e.msg);
		need = 0;
	}
	ca_crl_free(&crl);
	if (need) {
		daemon_principal(&p);
		if (ca_crl_publish(srv->parent, &p, &crl, &e) == 0) {
			char t[32];

			mica_log(MICA_LOG_INFO, "published CRL number %lld, next update %s",
				 (long long)crl.number, web_time_str(crl.next_update, t));
		} else {
			mica_log(MICA_LOG_ERR, "cannot publish the CRL: %s: %s", e.code, e.msg);
		}
		ca_crl_free(&crl);
		ca_principal_free(&p);
	}
	web_crl_changed(srv, srv->parent);
	pthread_mutex_unlock(&srv->parent_lock);
}

/* --------------------------------------------------------- addresses -- */

static int
parse_addr(const char *opt, const char *s, struct web_addr *a, struct mica_err *err)
{
	char host[128];
	const char *colon;
	size_t hl;
	int64_t port;
	int v6 = 0;

	memset(a, 0, sizeof(*a));
	if (strcmp(s, "none") == 0)
		return 0;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		hl = (size_t)(rb - s - 1);
		colon = rb + 1;
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hl);
		v6 = 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	if (web_parse_int(colon + 1, 1, 65535, &port) != 0)
		goto bad;
	a->port = (int)port;
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		a->wildcard = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		inet_ntop(AF_INET6, &s6->sin6_addr, a->host, sizeof(a->host));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;

		if (host[0] == '\0' || strcmp(host, "*") == 0)
			snprintf(host, sizeof(host), "0.0.0.0");
		else if (strcmp(host, "localhost") == 0)
			snprintf(host, sizeof(host), "127.0.0.1");
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		a->wildcard = s4->sin_addr.s_addr == htonl(INADDR_ANY);
		inet_ntop(AF_INET, &s4->sin_addr, a->host, sizeof(a->host));
	}
	a->on = 1;
	return 0;
bad:
	return mica_err_set(err, MICA_E_USAGE, "bad_address",
			    "%s wants ADDR:PORT with a numeric address (127.0.0.1:8080, "
			    "0.0.0.0:8080, [::1]:8080) or none", opt);
}

/* This host's name if it is a usable DNS name, else "localhost". */
static void
host_name(char *out, size_t size)
{
	char buf[256];
	size_t n;

	if (gethostname(buf, sizeof(buf)) != 0)
		buf[0] = '\0';
	buf[sizeof(buf) - 1] = '\0';
	n = strlen(buf);
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];

		if (c >= 'A' && c <= 'Z')
			buf[i] = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '.'))
			n = 0;
	}
	snprintf(out, size, "%s", n > 0 && n < size ? buf : "localhost");
}

/* "http://127.0.0.1:8080"; a wildcard address is shown as the host name.
 * -1 if it does not fit in OUT. */
static int
addr_url(const struct web_addr *a, const char *scheme, char *out, size_t size)
{
	char host[256];
	int n;

	if (a->wildcard)
		host_name(host, sizeof(host));
	else
		snprintf(host, sizeof(host), "%s", a->host);
	if (strchr(host, ':') != NULL)
		n = snprintf(out, size, "%s://[%s]:%d", scheme, host, a->port);
	else
		n = snprintf(out, size, "%s://%s:%d", scheme, host, a->port);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* --------------------------------------------------------- listeners -- */

static struct web_listener *
listener_start(struct web_server *srv, int tls, const struct web_addr *a,
	       int fd, const char *key_pem, const char *cert_pem,
	       struct mica_err *err)
{
	struct MHD_OptionItem ops[8];
	struct web_listener *l;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
			     MHD_USE_ERROR_LOG;
	size_t k = 0;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		return NULL;
	}
	l->srv = srv;
	l->tls = tls;
	atomic_init(&l->inflight, 0);
	snprintf(l->url, sizeof(l->url), "%s", tls ? srv->https_url : srv->http_url);
	/* epoll: a slow client costs a connection slot, never a worker. */
	flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ?
		 MHD_USE_EPOLL : MHD_USE_POLL;
	if (tls)
		flags |= MHD_USE_TLS;
	if (a->ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (srv->threads > 1)
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
						    (intptr_t)srv->threads, NULL };
	if (fd >= 0)
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET,
						    (intptr_t)fd, NULL };
	else
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0,
						    (void *)(uintptr_t)&a->ss };
	if (tls) {
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
						    (void *)(uintptr_t)key_pem };
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
						    (void *)(uintptr_t)cert_pem };
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						    (void *)(uintptr_t)TLS_PRIORITIES };
	}
	ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	l->d = MHD_start_daemon(flags, (uint16_t)a->port, NULL, NULL,
				web_mhd_access, l,
				MHD_OPTION_EXTERNAL_LOGGER, web_mhd_log, NULL,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)WEB_CONN_LIMIT,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)WEB_PER_IP_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)WEB_CONN_TIMEOUT,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_CONN_MEMORY,
				MHD_OPTION_URI_LOG_CALLBACK, web_mhd_uri, (void *)l,
				MHD_OPTION_NOTIFY_COMPLETED, web_mhd_completed, (void *)l,
				MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
				MHD_OPTION_ARRAY, ops,
				MHD_OPTION_END);
	if (l->d == NULL) {
		free(l);
		mica_err_set(err, MICA_E_UNAVAIL, "listen_failed",
			     "cannot serve %s on %s:%d (address in use or not available)",
			     tls ? "HTTPS" : "HTTP", a->host, a->port);
		return NULL;
	}
	return l;
}

/* Wait (at most SECONDS) until no request of L1/L2 is in flight. */
static void
drain(struct web_listener *l1, struct web_listener *l2, int seconds)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	for (int i = 0; i < seconds * 20; i++) {
		int n = (l1 != NULL ? atomic_load(&l1->inflight) : 0) +
			(l2 != NULL ? atomic_load(&l2->inflight) : 0);

		if (n <= 0)
			return;
		if (i == 0)
			mica_log(MICA_LOG_INFO, "finishing %d request%s in flight", n,
				 n == 1 ? "" : "s");
		nanosleep(&ts, NULL);
	}
	mica_log(MICA_LOG_WARN, "requests still in flight after %d s; closing them",
		 seconds);
}

/* Stop accepting, let what is in flight finish, stop. Either may be NULL. */
static void
listeners_stop(struct web_listener *a, struct web_listener *b)
{
	MHD_socket fa = MHD_INVALID_SOCKET, fb = MHD_INVALID_SOCKET;

	if (a != NULL)
		fa = MHD_quiesce_daemon(a->d);
	if (b != NULL)
		fb = MHD_quiesce_daemon(b->d);
	drain(a, b, WEB_DRAIN_SECONDS);
	/* A quiesced daemon leaves its listening socket to us, to close
	 * after the daemon's threads are gone. */
	if (a != NULL) {
		MHD_stop_daemon(a->d);
		if (fa != MHD_INVALID_SOCKET)
			close(fa);
		free(a);
	}
	if (b != NULL) {
		MHD_stop_daemon(b->d);
		if (fb != MHD_INVALID_SOCKET)
			close(fb);
		free(b);
	}
}

/* -------------------------------------------------- TLS certificate -- */

/* The host part of an http(s) URL into OUT. */
static void
url_host(const char *url, char *out, size_t size)
{
	const char *p = url != NULL ? strstr(url, "://") : NULL;
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += 3;
	if (*p == '[') {
		p++;
		n = strcspn(p, "]");
	} else {
		n = strcspn(p, ":/");
	}
	if (n < size) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
}

/* Names for the daemon's certificate: what clients may type to reach it:
 * "localhost" (which ca_issue_for_spki allows an admin) and whatever else
 * passes ca_name_parse. */
static size_t
tls_names(struct web_server *srv, char names[TLS_NAMES_MAX][256])
{
	char cand[6][256];
	size_t nc = 0, n = 0;

	snprintf(cand[nc++], 256, "localhost");
	snprintf(cand[nc++], 256, "127.0.0.1");
	if (!srv->https_addr.wildcard)
		snprintf(cand[nc++], 256, "%s", srv->https_addr.host);
	url_host(ca_public_url(srv->parent), cand[nc], 256);
	if (cand[nc][0] != '\0')
		nc++;
	host_name(cand[nc++], 256);
	for (size_t i = 0; i < nc && n < TLS_NAMES_MAX; i++) {
		struct ca_name nm;
		int dup = 0;

		if (strcmp(cand[i], "localhost") == 0) {
			nm.kind = CA_NAME_DNS;
			snprintf(nm.value, sizeof(nm.value), "localhost");
		} else if (ca_name_parse(cand[i], 0, &nm, NULL) != 0 ||
			   nm.kind == CA_NAME_EMAIL) {
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

/* A fresh key (in memory only) and a certificate for it from our own CA.
 * On success *key_pem (zeroize with ca_key_pem_free) and *cert_pem (free). */
static int
tls_issue(struct web_server *srv, char **key_pem, char **cert_pem,
	  struct mica_err *err)
{
	char names[TLS_NAMES_MAX][256];
	const char *np[TLS_NAMES_MAX];
	unsigned char *spki = NULL;
	size_t spki_len = 0, n, o = 0;
	struct ca_issued out;
	struct ca_principal p;
	int rc = -1, r;

	*key_pem = *cert_pem = NULL;
	memset(&out, 0, sizeof(out));
	daemon_principal(&p);
	if ((n = tls_names(srv, names)) == 0) {
		mica_err_set(err, MICA_E_INTERNAL, "tls_names", "no usable name for the TLS certificate");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		np[i] = names[i];
	if (ca_key_generate_pem(CA_KEY_EC_P256, key_pem, &spki, &spki_len, err) != 0)
		goto out;
	pthread_mutex_lock(&srv->parent_lock);
	r = ca_issue_for_spki(srv->parent, &p, "server", spki, spki_len, np, n,
			      WEB_TLS_DAYS, &out, err);
	pthread_mutex_unlock(&srv->parent_lock);
	if (r != 0)
		goto out;
	if (ca_pem_encode("CERTIFICATE", out.der, out.der_len, cert_pem, err) != 0)
		goto out;
	srv->tls_not_before = out.not_before;
	srv->tls_not_after = out.not_after;
	snprintf(srv->tls_serial, sizeof(srv->tls_serial), "%s", out.serial);
	srv->tls_names[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(srv->tls_names + o, sizeof(srv->tls_names) - o, "%s%s",
				 i > 0 ? ", " : "", names[i]);

		if (k < 0 || (size_t)k >= sizeof(srv->tls_names) - o)
			break;
		o += (size_t)k;
	}
	rc = 0;
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

static int
https_start(struct web_server *srv, struct mica_err *err)
{
	char *key = NULL, *cert = NULL;

	if (tls_issue(srv, &key, &cert, err) != 0)
		return -1;
	srv->https = listener_start(srv, 1, &srv->https_addr, -1, key, cert, err);
	/* GnuTLS has parsed both; our copy of the key goes now. */
	ca_key_pem_free(key);
	free(cert);
	return srv->https != NULL ? 0 : -1;
}

/* New certificate, new daemon on a duplicate of the listening socket, then
 * the old daemon stops accepting, finishes what it has, and goes. */
static int
https_rotate(struct web_server *srv, struct mica_err *err)
{
	const union MHD_DaemonInfo *di;
	struct web_listener *old = srv->https, *nl;
	char *key = NULL, *cert = NULL;
	MHD_socket ofd;
	int fd;

	if (old == NULL)
		return 0;
	di = MHD_get_daemon_info(old->d, MHD_DAEMON_INFO_LISTEN_FD);
	if (di == NULL || di->listen_fd == MHD_INVALID_SOCKET)
		return mica_err_set(err, MICA_E_INTERNAL, "listen_fd", "no listening socket");
	if (tls_issue(srv, &key, &cert, err) != 0)
		return -1;
	if ((fd = fcntl(di->listen_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		ca_key_pem_free(key);
		free(cert);
		return mica_err_set(err, MICA_E_INTERNAL, "dup", "cannot duplicate the listening socket");
	}
	nl = listener_start(srv, 1, &srv->https_addr, fd, key, cert, err);
	ca_key_pem_free(key);
	free(cert);
	if (nl == NULL) {
		close(fd);
		return -1;
	}
	srv->https = nl;
	ofd = MHD_quiesce_daemon(old->d);
	drain(old, NULL, WEB_DRAIN_SECONDS);
	MHD_stop_daemon(old->d);
	if (ofd != MHD_INVALID_SOCKET)
		close(ofd);
	free(old);
	return 0;
}

/* Renew the TLS certificate when less than a third of its life is left
 * (or now, if FORCE). Failures are retried every five minutes. */
static void
tls_maintain(struct web_server *srv, int force)
{
	int64_t now = (int64_t)time(NULL), life, renew_at;
	struct mica_err e;
	char t[32];

	if (srv->https == NULL)
		return;
	if (!force) {
		life = srv->tls_not_after - srv->tls_not_before;
		renew_at = srv->tls_not_after - life / 3;
		if (now < renew_at || now - srv->tls_last_try < 300)
			return;
		/* Cut to the CA's own end already: a new one cannot do better. */
		if (ca_not_after(srv->parent) <= srv->tls_not_after && now < srv->tls_not_after)
			return;
	}
	srv->tls_last_try = now;
	if (https_rotate(srv, &e) != 0)
		mica_log(MICA_LOG_ERR, "cannot renew the HTTPS certificate: %s: %s",
			 e.code, e.msg);
	else
		mica_log(MICA_LOG_INFO, "new HTTPS certificate %s, valid until %s",
			 srv->tls_serial, web_time_str(srv->tls_not_after, t));
}

/* ---------------------------------------------------------- start-up -- */

/* jansson's memory is wiped when freed: a reply may hold a new token. */
static void *
json_zmalloc(size_t n)
{
	return malloc(n);
}

static void
json_zfree(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static int
init_ca(struct web_server *srv, struct ca_init_result *res, struct mica_err *err)
{
	const struct web_opts *o = srv->o;
	struct ca_init_opts io;
	char host[256], name[65], url[220];

	host_name(host, sizeof(host));
	/* RFC 5280 ub-common-name: 64 characters. */
	snprintf(name, sizeof(name), "mica Root CA (%.48s)", host);
	if (o->public_url != NULL)
		snprintf(url, sizeof(url), "%s", o->public_url);
	else if (srv->http_addr.on) {
		if (addr_url(&srv->http_addr, "http", url, sizeof(url)) != 0)
			return mica_err_set(err, MICA_E_USAGE, "public_url_required",
					    "the host name is too long for a URL: give --public-url");
	} else
		return mica_err_set(err, MICA_E_USAGE, "public_url_required",
				    "--public-url is required with --http none: certificates "
				    "name it for the CRL and the CA certificate");
	memset(&io, 0, sizeof(io));
	io.datadir = o->datadir;
	io.name = name;
	io.domains = o->domains;
	io.ndomains = o->ndomains;
	io.public_url = url;
	io.passphrase_file = o->passphrase_file;
	if (ca_init(&io, res, err) != 0)
		return -1;
	printf("created a new CA in %s: \"%s\"\n", o->datadir, name);
	printf("certificates point to %s/crl and %s/ca.crt\n", url, url);
	if (res->passphrase_path[0] != '\0')
		printf("CA key passphrase written to %s: keep a copy offline, "
		       "the CA key is useless without it\n", res->passphrase_path);
	if (o->ndomains == 0)
		printf("no --domain given: issuance needs allowed domains "
		       "(mica domain add ...), except for admin-named certificates\n");
	fflush(stdout);
	mica_log(MICA_LOG_INFO, "created a new CA in %s", o->datadir);
	return 0;
}

/* The first admin token, printed once. */
static int
first_admin_token(struct web_server *srv, struct mica_err *err)
{
	struct ca_token_spec spec;
	struct ca_principal p;
	char token[CA_TOKEN_MAX];
	int rc;

	memset(&spec, 0, sizeof(spec));
	spec.kind = CA_TOKEN_ADMIN;
	spec.uses = -1;
	spec.comment = "created by mica serve at first start";
	daemon_principal(&p);
	rc = ca_token_create(srv->parent, &p, &spec, token, NULL, err);
	ca_principal_free(&p);
	if (rc != 0)
		return -1;
	printf("admin token: %s\n", token);
	printf("this admin token will not be shown again: store it now\n");
	fflush(stdout);
	explicit_bzero(token, sizeof(token));
	return 0;
}

static int
copy_root(struct web_server *srv, struct mica_err *err)
{
	const unsigned char *der;
	size_t len;

	der = ca_root_der(srv->parent, &len);
	if (der == NULL || len == 0 || ca_root_pem(srv->parent) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "no_root", "the CA has no root certificate");
	if ((srv->root_der = malloc(len)) == NULL ||
	    (srv->root_pem = strdup(ca_root_pem(srv->parent))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	memcpy(srv->root_der, der, len);
	srv->root_der_len = len;
	return 0;
}

static void
banner(struct web_server *srv)
{
	printf("root CA: %s\n", ca_name(srv->parent));
	printf("root SHA-256 fingerprint: %s\n", ca_root_fingerprint(srv->parent));
	if (srv->http != NULL)
		printf("http: %s (pages / and /request, /ca.crt /ca.pem /crl /crl.pem /healthz%s)\n",
		       srv->http_url, srv->api_over_http ? " /api/v1" : "");
	if (srv->https != NULL)
		printf("https: %s (everything, API under /api/v1; certificate for %s)\n",
		       srv->https_url, srv->tls_names);
	if (srv->https != NULL)
		printf("acme: %s/acme/directory (%s)\n", srv->https_url,
		       ca_acme_eab_required(srv->acme) ?
		       "external account binding required: mica token create --enroll --acme" :
		       "open: any client proving a name within the allowed domains");
	fflush(stdout);
	mica_log(MICA_LOG_INFO, "serving%s%s%s%s with %u thread%s per listener",
		 srv->http != NULL ? " " : "", srv->http != NULL ? srv->http_url : "",
		 srv->https != NULL ? " " : "", srv->https != NULL ? srv->https_url : "",
		 srv->threads, srv->threads == 1 ? "" : "s");
}

static void
server_free(struct web_server *srv)
{
	if (srv == NULL)
		return;
	web_blob_unref(srv->crl_der);
	web_blob_unref(srv->crl_pem);
	free(srv->root_der);
	free(srv->root_pem);
	web_rl_destroy(&srv->rl);
	pthread_mutex_destroy(&srv->crl_lock);
	pthread_mutex_destroy(&srv->parent_lock);
	free(srv);
}

int
web_serve(const struct web_opts *o, struct mica_err *err)
{
	struct web_server *srv;
	struct ca_init_result ires;
	struct web_blob *d = NULL, *p = NULL;
	sigset_t set, oldset;
	int64_t tu, nu, num;
	long cores;
	int rc = -1, first = 0, sig;

	if (o == NULL || o->datadir == NULL)
		return mica_err_set(err, MICA_E_USAGE, "usage", "no data directory");
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	srv->o = o;
	pthread_mutex_init(&srv->parent_lock, NULL);
	pthread_mutex_init(&srv->crl_lock, NULL);
	web_rl_init(&srv->rl);
	srv->api_over_http = o->api_over_http;

	if (parse_addr("--http", o->http_addr ? o->http_addr : WEB_DEFAULT_HTTP,
		       &srv->http_addr, err) != 0 ||
	    parse_addr("--https", o->https_addr ? o->https_addr : WEB_DEFAULT_HTTPS,
		       &srv->https_addr, err) != 0) {
		server_free(srv);
		return -1;
	}
	if (!srv->http_addr.on && !srv->https_addr.on) {
		server_free(srv);
		return mica_err_set(err, MICA_E_USAGE, "usage",
				    "--http and --https cannot both be none");
	}
	if (addr_url(&srv->http_addr, "http", srv->http_url, sizeof(srv->http_url)) != 0 ||
	    addr_url(&srv->https_addr, "https", srv->https_url, sizeof(srv->https_url)) != 0) {
		server_free(srv);
		return mica_err_set(err, MICA_E_USAGE, "usage", "the host name is too long");
	}
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (o->threads < 0 || o->threads > WEB_THREADS_MAX) {
		server_free(srv);
		return mica_err_set(err, MICA_E_USAGE, "usage",
				    "--threads must be from 1 to %d", WEB_THREADS_MAX);
	}
	/* A worker blocks while its certificate's commit reaches the disk;
	 * WEB_THREADS_PER_CORE workers per core keep the cores signing
	 * meanwhile. */
	if (cores < 1)
		cores = 1;
	if (cores > WEB_THREADS_MAX / WEB_THREADS_PER_CORE)
		cores = WEB_THREADS_MAX / WEB_THREADS_PER_CORE;
	srv->threads = o->threads > 0 ? (unsigned)o->threads :
		       (unsigned)(cores * WEB_THREADS_PER_CORE);
#ifdef M_ARENA_MAX
	/* glibc gives each thread that mallocs its own arena (up to eight
	 * per core), and every arena keeps what it freed: with two listeners'
	 * workers that is much of the daemon's memory under load. Not fewer
	 * than WEB_THREADS_PER_CORE per core, though: mbedTLS allocates its
	 * bignums with calloc, which takes the arena lock every time, and one
	 * arena per core cost a tenth of the issuance rate in lock waits. */
	mallopt(M_ARENA_MAX, (int)(cores * WEB_THREADS_PER_CORE));
#endif
	if (o->log_file != NULL && mica_log_open(o->log_file) != 0) {
		server_free(srv);
		return mica_err_set(err, MICA_E_UNAVAIL, "log_file",
				    "cannot open the log file: %s", strerror(errno));
	}
	json_set_alloc_funcs(json_zmalloc, json_zfree);

	/* Every thread started from here on inherits this mask; the main
	 * thread takes the signals synchronously with sigtimedwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);   /* the signing service is gone */
	pthread_sigmask(SIG_BLOCK, &set, &oldset);
	signal(SIGPIPE, SIG_IGN);

	if (!ca_exists(o->datadir)) {
		if (init_ca(srv, &ires, err) != 0)
			goto out;
		first = 1;
	}
	/* The key goes to signer processes; this one, which parses
	 * everything the network sends, never holds it. */
	if (ca_open_serve(o->datadir, o->passphrase_file, o->signers,
			  &srv->parent, err) != 0)
		goto out;
	ca_signer_on_loss(srv->parent, SIGUSR2);
	/* Many workers issue at once: let them share commits. */
	if (ca_batch_writes(srv->parent, err) != 0)
		goto out;
	if (copy_root(srv, err) != 0)
		goto out;
	/* ACME's validation workers clone their handles now, while no
	 * other thread uses the parent. */
	if (ca_acme_open(srv->parent, &o->acme, &srv->acme, err) != 0)
		goto out;
	if (pthread_key_create(&srv->key, thread_ca_free) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "thread_key", "cannot create a thread key");
		goto out;
	}
	srv->key_made = 1;
	if (first && first_admin_token(srv, err) != 0)
		goto out;

	crl_maintain(srv);
	pthread_mutex_lock(&srv->parent_lock);
	rc = web_crl_get(srv, srv->parent, 1, &d, &p, &tu, &nu, &num, err);
	pthread_mutex_unlock(&srv->parent_lock);
	web_blob_unref(d);
	web_blob_unref(p);
	if (rc != 0)
		goto out;
	rc = -1;

	if (srv->http_addr.on &&
	    (srv->http = listener_start(srv, 0, &srv->http_addr, -1, NULL, NULL, err)) == NULL)
		goto out;
	if (srv->https_addr.on && https_start(srv, err) != 0)
		goto out;
	banner(srv);

	for (;;) {
		struct timespec ts = { WEB_TICK_SECONDS, 0 };

		sig = sigtimedwait(&set, NULL, &ts);
		if (sig < 0) {
			if (errno == EAGAIN) {
				crl_maintain(srv);
				tls_maintain(srv, 0);
			}
			continue;
		}
		if (!ca_signer_ok(srv->parent)) {
			/* The keeper is gone, and the key with it: nothing
			 * can be signed again until a restart. */
			mica_log(MICA_LOG_ERR, "stopping: the signing service "
				 "is gone");
			mica_err_set(err, MICA_E_UNAVAIL, "signer_gone",
				     "the signing service stopped");
			goto out;
		}
		if (sig == SIGUSR2)
			continue;
		if (sig == SIGHUP) {
			if (mica_log_reopen() != 0)
				fprintf(stderr, "mica: cannot reopen the log file\n");
			mica_log(MICA_LOG_INFO, "log reopened (SIGHUP)");
		} else if (sig == SIGUSR1) {
			mica_log(MICA_LOG_INFO, "renewing the HTTPS certificate (SIGUSR1)");
			tls_maintain(srv, 1);
		} else {
			mica_log(MICA_LOG_INFO, "stopping (%s)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
	}
	rc = 0;
out:
	/* Workers close their engine handles as their threads exit inside
	 * MHD_stop_daemon; the parent handle goes last. */
	listeners_stop(srv->http, srv->https);
	srv->http = srv->https = NULL;
	ca_acme_close(srv->acme);
	srv->acme = NULL;
	if (srv->key_made)
		pthread_key_delete(srv->key);
	ca_close(srv->parent);
	if (rc == 0)
		mica_log(MICA_LOG_INFO, "stopped");
	server_free(srv);
	pthread_sigmask(SIG_SETMASK, &oldset, NULL);
	return rc;
}

/*
 * web/server.h - what every request may use of the running daemon: the
 * engine (a pool of handles cloned from the daemon's, one held by each
 * request while it runs), the
 * root certificate, the HTTPS URL, the --api-over-http switch and the
 * table of failed authentications. web/daemon.c fills one in at start-up;
 * tests may build one around a CA of their own.
 */
#ifndef MICA_WEB_SERVER_H
#define MICA_WEB_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "ca/ca.h"
#include "util/err.h"
#include "web/proxy.h"
#include "web/ratelimit.h"

struct web_crl_cache;
struct ca_acme;

/* Engine handles kept idle for the next request (web_thread_release):
 * more than this many are closed instead. */
#define WEB_POOL_MAX 64

struct web_server {
	struct ca *parent;               /* opened at start; parent_lock */
	pthread_mutex_t parent_lock;
	pthread_key_t key;               /* the handle this thread holds */
	int key_made;
	pthread_mutex_t pool_lock;
	struct ca *idle[WEB_POOL_MAX];   /* clones of parent no thread holds */
	size_t nidle;
	int api_over_http;
	int hsts;                        /* HTTPS answers carry HSTS
					  * (web_hsts_applies) */
	char https_url[160];             /* "" without an HTTPS listener */
	unsigned char *root_der;
	size_t root_der_len;
	char *root_pem;
	struct web_ratelimit rl;
	struct web_proxies proxies;      /* --trusted-proxy */
	struct web_crl_cache *crl;       /* web/crl_cache.h; may be NULL */
	struct ca_acme *acme;            /* ACME (ca/acme.h, its own workers);
					  * the daemon opens and closes it;
					  * NULL without */
	atomic_ulong requests;           /* requests begun, ever (relaxed):
					  * the daemon's main thread reads
					  * it to see when it has gone quiet */
	atomic_int stopping;             /* the daemon stops (not a TLS
					  * rotation's listener) */
	atomic_int store_too_new;        /* a newer mica upgraded the store:
					  * the daemon stops (SIGUSR2 wakes
					  * its main thread) to be restarted */
};

/* A newer mica upgraded the store: nothing this daemon does will work
 * again; wake its main thread, which stops (exit 8) so that a supervisor
 * restarts it - with that mica. */
void web_server_store_too_new(struct web_server *srv);

/* Initialise SRV (locks, an empty failed-authentication table, no CA
 * yet). Free with web_server_fini. */
void web_server_init(struct web_server *srv);
/*
 * Attach the opened engine handle PARENT (the caller keeps ownership and
 * closes it after web_server_fini): copy its root certificate and prepare
 * the pool of handles cloned from it. -1 with ERR on failure.
 */
int web_server_attach(struct web_server *srv, struct ca *parent,
		      struct mica_err *err);
/* Undo web_server_init/attach, closing the pool's idle handles. Worker
 * threads must be gone (one that exited holding a handle closed it).
 * SRV may be NULL. */
void web_server_fini(struct web_server *srv);

/*
 * The engine handle this thread holds (its own store connection): taken
 * on first use from those idle in SRV's pool, else cloned from the
 * daemon's, and held until web_thread_release (or closed when the thread
 * exits holding it). Each request's dispatch gives its handle back at its
 * end (web/dispatch.c), so the workers of both listeners and the slow
 * lanes share as many connections as requests run at once, rather than
 * one per thread (each connection keeps its own parsed schema, statements
 * and page cache: about 150 KiB). NULL with ERR (MICA_E_UNAVAIL) if the
 * store cannot be opened or SRV is NULL.
 */
struct ca *web_thread_ca(struct web_server *srv, struct mica_err *err);
/* Give the handle this thread holds back to SRV's pool (none: nothing).
 * The caller must not use it afterwards. */
void web_thread_release(struct web_server *srv);
/* 1 if --api-over-http was given (0 for a NULL server). */
int web_api_over_http(const struct web_server *srv);
/* "https://HOST:PORT" of the HTTPS listener, or NULL if there is none. */
const char *web_https_url(const struct web_server *srv);
/* The daemon's table of failed authentications. */
struct web_ratelimit *web_server_rl(struct web_server *srv);
/* The daemon's ACME service (NULL for a NULL server or without one). */
struct ca_acme *web_server_acme(struct web_server *srv);
/* The trusted proxies (--trusted-proxy); NULL for a NULL server. */
const struct web_proxies *web_server_proxies(const struct web_server *srv);
/* The root certificate as DER and PEM, valid for the daemon's lifetime
 * (NULL for a NULL server). */
void web_server_root(struct web_server *srv, const unsigned char **der,
		     size_t *der_len, const char **pem);
/* The daemon acting on its own behalf (timers, its TLS certificate, the
 * first admin token): everything the command line may do, recorded as
 * "daemon" in the audit. Free with ca_principal_free. */
void web_daemon_principal(struct ca_principal *p);

#endif

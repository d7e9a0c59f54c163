/*
 * web/web.h - `mica serve`: the CA as an HTTP/HTTPS service.
 *
 * Two libmicrohttpd daemons share one static route table (web/routes.c):
 * plain HTTP serves what is public and signed (the root certificate, the
 * CRL, a health check) because devices and Windows fetch CDP/AIA over HTTP
 * before they can check HTTPS; HTTPS serves that and the JSON API under
 * /api/v1. Handlers are thin: parse, validate, call the engine (ca/ca.h),
 * render. The engine decides authorization; the route table only turns
 * obviously missing credentials into 401/403 early.
 */
#ifndef MICA_WEB_H
#define MICA_WEB_H

#include <stddef.h>

#include "ca/acme.h"
#include "util/err.h"

#define WEB_DEFAULT_HTTP  "127.0.0.1:8080"
#define WEB_DEFAULT_HTTPS "127.0.0.1:8443"

struct web_opts {
	const char *datadir;          /* the CA's data directory */
	const char *http_addr;        /* "ADDR:PORT", "[V6]:PORT" or "none";
				       * NULL = WEB_DEFAULT_HTTP */
	const char *https_addr;       /* same; NULL = WEB_DEFAULT_HTTPS */
	int api_over_http;            /* serve /api/v1 over plain HTTP to
				       * anyone (behind a TLS-terminating
				       * proxy); otherwise only to loopback */
	const char *const *trusted_proxies; /* "ADDR[/PREFIX]": connections
				       * from these give the client in
				       * X-Forwarded-For */
	size_t ntrusted_proxies;
	/* Used only when the data directory holds no CA yet: */
	const char *const *domains;   /* allowed domains for the new CA */
	size_t ndomains;
	const char *public_url;       /* CDP/AIA base; NULL = from --http */
	const char *passphrase_file;  /* NULL: $MICA_PASSPHRASE, else
				       * DATADIR/passphrase */
	const char *log_file;         /* NULL = stderr */
	int threads;                  /* worker threads per listener;
				       * 0 = number of online cores */
	int signers;                  /* signer processes holding the CA
				       * key; 0 = one per core */
	struct ca_acme_opts acme;     /* ACME at /acme/directory (HTTPS) */
	const char *publish_dir;      /* keep it current (ca_publish), or
				       * NULL */
	int ocsp_by_ca;               /* OCSP responses signed by the CA
				       * key itself (--ocsp-signer ca), not
				       * by the delegated responder */
};

/*
 * Run the daemon until SIGTERM or SIGINT: initialise a CA in o->datadir if
 * there is none (printing the new admin token once), open and unlock it,
 * issue the daemon's own TLS certificate, start the listeners, print the
 * root fingerprint and the URLs to stdout, then serve. SIGHUP reopens the
 * log file; SIGUSR1 re-issues the TLS certificate now. The CRL is
 * republished on a timer and the TLS certificate renewed before it
 * expires. On SIGTERM/SIGINT new connections are refused, requests in
 * flight are finished (at most WEB_DRAIN_SECONDS), the store is closed.
 * Returns 0 after a clean shutdown, -1 with *err filled if start-up failed
 * (bad options, store, passphrase, address in use...).
 * Must be called from the main thread before any other thread is created:
 * it blocks the signals it handles in every thread it starts.
 */
int web_serve(const struct web_opts *o, struct mica_err *err);

#endif

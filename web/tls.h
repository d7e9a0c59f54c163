/*
 * web/tls.h - the daemon's own TLS certificate and the HTTPS listener that
 * serves it: a key that exists only in memory, a certificate issued by the
 * CA at every start, renewed when a third of its life is left by handing
 * the listening socket to a new listener, so no connection is refused
 * meanwhile.
 */
#ifndef MICA_WEB_TLS_H
#define MICA_WEB_TLS_H

#include <stdint.h>

#include "ca/ca.h"
#include "util/err.h"
#include "web/addr.h"
#include "web/http.h"

#define WEB_TLS_DAYS       90            /* the daemon's TLS certificate */
#define WEB_TLS_NAMES_MAX  8

struct web_server;

struct web_tls {
	/* Set by the caller before web_tls_start: */
	struct web_server *srv;
	const struct web_addr *addr;      /* the --https address */
	const char *url;                  /* "https://HOST:PORT" */
	unsigned threads;                 /* workers of the listener */
	/* Kept by this module: */
	struct web_listener *listener;    /* the HTTPS listener, or NULL */
	int64_t not_before, not_after;
	int64_t failed_ms;                /* CLOCK_MONOTONIC of the last failed
					   * renewal; 0: it succeeded */
	char serial[sizeof(((struct ca_issued *)0)->serial)];
	char names[WEB_TLS_NAMES_MAX * 64];   /* "localhost, 127.0.0.1, ..." */
};

/* Issue the certificate and start the HTTPS listener (T->listener) on
 * FD, a socket listening on T->addr (web_listen), which it takes: the
 * caller binds first, so that an address in use issues nothing. -1 with
 * ERR on failure (FD closed; a certificate issued but not served is
 * revoked, ca_tls_abandon). The caller stops the listener
 * (web_listeners_stop). Main thread only, as web_tls_maintain. */
int web_tls_start(struct web_tls *t, int fd, struct mica_err *err);

/* Renew the certificate when less than a third of its life is left, or
 * when the clock is before its notBefore (set back since; now if FORCE):
 * a new listener on a duplicate of the listening socket, then the old one
 * stops accepting, finishes its requests and goes. Failures are logged
 * and retried every five minutes. */
void web_tls_maintain(struct web_tls *t, int force);

#endif

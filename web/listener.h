/*
 * web/listener.h - starting and stopping one libmicrohttpd daemon (an
 * HTTP or HTTPS listener) with mica's limits, its own listening socket
 * and the acceptor that hands each connection to the least busy worker,
 * and handing that socket on.
 */
#ifndef MICA_WEB_LISTENER_H
#define MICA_WEB_LISTENER_H

#include "util/err.h"
#include "web/addr.h"
#include "web/http.h"

#define WEB_CONN_LIMIT     512           /* connections per listener: past
					  * it the slowest make room
					  * (web/conns.h) */
#define WEB_CONN_SLACK     64            /* libmicrohttpd's own limit is
					  * this much higher (and one per
					  * worker, web/listener.c): dropped
					  * ones are closed a moment later */
#define WEB_PER_IP_LIMIT   64            /* connections per client address */
#define WEB_CONN_TIMEOUT   10            /* idle seconds before a close */
#define WEB_CONN_MEMORY    (32 * 1024)   /* per-connection pool: caps the
					  * request line and headers */
#define WEB_DRAIN_SECONDS  10            /* grace for requests in flight */

/*
 * GnuTLS priorities: TLS 1.2 and 1.3 only (RFC 8996 deprecates older);
 * AEAD ciphers only (RFC 9325 4.2: no CBC, whose MAC-then-encrypt gave
 * Lucky13 and its kin), with ephemeral ECDH key exchange only (forward
 * secrecy; no static RSA), and no SHA-1 signatures in the handshake.
 */
#define WEB_TLS_PRIORITIES \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:" \
	"-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:" \
	"-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1"

/*
 * Start a listener for SRV on A (or on the already listening socket FD,
 * when FD >= 0; the listener then owns it) with THREADS workers. TLS
 * listeners take the key and certificate as PEM (GnuTLS copies both; the
 * caller may wipe its copies on return). URL is what the listener is
 * called in messages. NULL with ERR if the daemon cannot start (address
 * in use...). Stop with web_listeners_stop.
 */
struct web_listener *web_listener_start(struct web_server *srv, int tls,
					const struct web_addr *a, const char *url,
					unsigned threads, int fd,
					const char *key_pem, const char *cert_pem,
					struct mica_err *err);

/* A listening socket for A: non-blocking, close-on-exec, address reuse
 * (a restart must not wait out TIME_WAIT), IPv6 only on an IPv6 address
 * (as libmicrohttpd without dual stack). -1 with ERR ("listen_failed",
 * saying why: address in use...). TLS: only for the message. */
int web_listen(const struct web_addr *a, int tls, struct mica_err *err);

/* Socket C (a new connection) as a socket of worker W of N: libmicrohttpd
 * gives a connection added from outside to the worker its number falls on,
 * modulo N, and numbers are not handed out in turn (the workers' own
 * store connections take some), so C is moved (dup, close) to the lowest
 * free number from C on that falls on W, trying at most TRIES numbers.
 * Returns the socket to use: C's new number, or C itself when none was
 * found (out of descriptors). The acceptor's (web/listener.c), exposed
 * for tests/test_web.c. */
int web_fd_on_worker(int c, unsigned w, unsigned n, int tries);

/* The listening socket of L, duplicated (close-on-exec), for a new
 * listener to take over; -1 if there is none. */
int web_listener_dup_fd(struct web_listener *l);

/* Stop accepting on A and B, let their requests in flight finish (at most
 * WEB_DRAIN_SECONDS), stop them and free them. Either may be NULL. */
void web_listeners_stop(struct web_listener *a, struct web_listener *b);

#endif

/*
 * web/conns.h - the connections of one listener, and what keeps slow
 * clients from holding them: libmicrohttpd's idle timeout restarts on
 * every byte, so a client trickling one byte every few seconds would keep
 * its slot for ever, and enough of them (from enough addresses to get
 * past the per-address cap) lock everyone out. Here, as nginx's
 * client_header_timeout and client_body_timeout:
 *   - the request head must be complete WEB_HEAD_TIMEOUT seconds after the
 *     connection opened (TLS handshake included) or after the previous
 *     answer on it;
 *   - a body must come at WEB_BODY_MIN_RATE bytes a second on average
 *     once WEB_BODY_GRACE seconds have passed;
 *   - when a new connection arrives and WEB_CONN_SOFT connections are
 *     open, the one that has waited longest for its head or body is
 *     dropped first, so a new client is served at once.
 * A connection is dropped with shutdown(2) on its socket, under the table's
 * lock: libmicrohttpd then sees the end of it and closes it, and as it
 * tells us before it closes the socket (the entry goes under the same
 * lock), a socket number is never shut down after it was reused.
 */
#ifndef MICA_WEB_CONNS_H
#define MICA_WEB_CONNS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define WEB_HEAD_TIMEOUT   10            /* s: the whole request head */
#define WEB_BODY_GRACE     10            /* s before the rate counts */
#define WEB_BODY_MIN_RATE  1024          /* bytes/s on average after that */
#define WEB_REAP_MS        250           /* how often deadlines are looked at */

struct web_conns;
struct web_conn;

/* A table for a listener that keeps at most SOFT connections open when new
 * ones arrive (the listener's hard limit must be above it). NULL on
 * allocation failure. */
struct web_conns *web_conns_new(unsigned soft);
/* Free CS once no connection of it is left (after the listener stopped)
 * and its reaper is stopped. NULL ok. */
void web_conns_free(struct web_conns *cs);

/* Start and stop the reaper thread, which calls web_conns_reap every
 * WEB_REAP_MS and logs what it dropped (at most every ten seconds). */
int web_conns_start(struct web_conns *cs, struct mica_err *err);
void web_conns_stop(struct web_conns *cs);

/* Milliseconds of CLOCK_MONOTONIC: the NOW of the functions below. */
int64_t web_now_ms(void);

/* A new connection is about to be accepted: if SOFT are open, drop the
 * ones that waited longest (web_conns_reap's order) until one is free. */
void web_conns_admit(struct web_conns *cs);

/* A connection on socket FD opened at NOW; NULL on allocation failure
 * (the connection is then simply not watched). */
struct web_conn *web_conn_open(struct web_conns *cs, int fd, int64_t now);
/* It closed: forget it (before its socket is closed). C may be NULL. */
void web_conn_close(struct web_conns *cs, struct web_conn *c);

/* The request C's worker is reading or answering (a struct web_req), or
 * NULL: libmicrohttpd may close a connection without ever reporting the
 * end of a request it had announced (one whose arguments overflow the
 * connection's memory), and the close then ends it (web/http.c). Only
 * the connection's worker thread uses it, so it takes no lock. */
void web_conn_set_req(struct web_conn *c, void *req);
void *web_conn_req(const struct web_conn *c);

/* The phases of a request on C (NULL ok): its head is complete (a body
 * may follow), N more body bytes arrived, it is being answered (no
 * deadline of ours: a handler's time is ours), it was answered (waiting
 * for the next head on a kept-alive connection). */
void web_conn_head_done(struct web_conns *cs, struct web_conn *c, int64_t now);
void web_conn_body(struct web_conns *cs, struct web_conn *c, size_t n);
void web_conn_busy(struct web_conns *cs, struct web_conn *c);
void web_conn_idle(struct web_conns *cs, struct web_conn *c, int64_t now);

struct web_reaped {
	unsigned head;     /* head not complete within WEB_HEAD_TIMEOUT */
	unsigned body;     /* body slower than WEB_BODY_MIN_RATE */
	unsigned room;     /* the longest waiting, to make room */
};

/*
 * One pass at NOW: drop every connection past its head deadline or below
 * the body rate, then, while more than SOFT are open, the one waiting
 * longest (for its head, or for its body, since its phase began). Adds
 * what it dropped to *OUT (may be NULL; updated under the table's lock).
 * Connections being answered are never dropped.
 */
void web_conns_reap(struct web_conns *cs, int64_t now, struct web_reaped *out);

/* Connections open and not dropped. */
unsigned web_conns_live(struct web_conns *cs);

#endif

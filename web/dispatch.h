/*
 * web/dispatch.h - the dispatcher: one request in, one reply out, through
 * the route table in a fixed order of checks. It knows nothing of
 * libmicrohttpd: web/http.c hands it a struct web_request.
 */
#ifndef MICA_WEB_DISPATCH_H
#define MICA_WEB_DISPATCH_H

#include <stddef.h>

#include "web/reply.h"
#include "web/routes.h"

struct web_server;

/* A request whose head and body have been read. */
struct web_request {
	const char *uri;                 /* raw request target */
	size_t path_len;                 /* uri[0..path_len) is the path */
	const char *query;               /* after '?', or NULL */
	const char *method;
	const char *client;              /* printable client address */
	const unsigned char *client_key; /* 16 octets (web_client_describe) */
	int loopback;                    /* the client is on loopback */
	int tls;                         /* it came over HTTPS */
	const char *authz;               /* raw Authorization, or NULL */
	const char *ctype;               /* raw Content-Type, or NULL */
	const char *host;                /* raw Host (ACME builds its URLs
					  * from it), or NULL */
	const char *fetch_site;          /* raw Sec-Fetch-Site (a browser's
					  * Fetch Metadata), or NULL */
	const char *origin;              /* raw Origin (RFC 6454), or NULL */
	const char *accept;              /* raw Accept (its first line), or
					  * NULL */
	const unsigned char *body;
	size_t body_len;
};

/*
 * Answer RQ through REP using the route table TABLE[0..N) (web_routes()
 * in the daemon), in this order:
 *   the target "*" (200 + Allow for OPTIONS, 400 for any other method) ->
 *   decode the path (dot segments refused) -> the pages -> match (404, or
 *   405 + Allow) -> HTTPS required for the API (unless loopback or
 *   --api-over-http; a browser on loopback must name it localhost or a
 *   loopback address, not a name that a DNS rebinding pointed there) ->
 *   an API call other than GET or HEAD that a browser says another site
 *   made (Sec-Fetch-Site: cross-site or same-site; without it, an Origin
 *   of another host or "null"): 403 cross_site -> query string (unknown parameters refused) ->
 *   Content-Type -> an admin route without a token: 401 before the store
 *   is touched -> authentication (bearer token, failures rate-limited per
 *   client address and token id) -> the route's auth level (401/403) -> the handler -> the one
 *   error-reply path (web_dispatch_error: problem documents under /acme/).
 * SRV may be NULL (unit tests): the pages are skipped and anything that
 * needs the store answers 503.
 */
void web_dispatch(struct web_server *srv, const struct web_route *table,
		  size_t n, const struct web_request *rq, struct web_reply *rep);

/*
 * The one error reply of a request for the path RAW[0..LEN) (as sent,
 * without the query), whoever refuses it (web_dispatch, or web/http.c
 * before it): under /acme/ (web_route_acme) an ACME problem document with
 * a fresh Replay-Nonce (web_acme_error), for ACME clients read nothing
 * else; elsewhere mica's JSON error (web_reply_error). Keeps REP's close
 * flag and Retry-After. SRV may be NULL (no nonce then).
 */
void web_dispatch_error(struct web_server *srv, const char *raw, size_t len,
			struct web_reply *rep, const struct mica_err *e);

#endif

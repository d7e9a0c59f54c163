/*
 * web/routes.h - the one static route table (method, path pattern,
 * handler, who may call it, which query parameters it takes) and the
 * matcher that looks a request up in it.
 */
#ifndef MICA_WEB_ROUTES_H
#define MICA_WEB_ROUTES_H

#include <stddef.h>

#include "util/err.h"

#define WEB_PARAM_MAX      96            /* one {id}/{serial} segment */
#define WEB_ACME_PREFIX    "/acme/"      /* every WEB_AUTH_ACME route, and
					  * nothing else, lies under it */

enum web_auth {
	WEB_AUTH_PUBLIC = 0,  /* public files: plain HTTP too, no token */
	WEB_AUTH_ANY,         /* API; a token is optional (anon allowed) */
	WEB_AUTH_ADMIN,       /* API; an admin token is required */
	WEB_AUTH_ACME,        /* ACME (web/acme.c): HTTPS only, no bearer
			       * token; the engine checks each request's
			       * JWS */
};

struct web_ctx;
struct web_reply;
/* A handler fills REP and returns 0, or returns -1 with ERR filled (the
 * dispatcher renders it through web_reply_error). */
typedef int (*web_handler_fn)(struct web_ctx *c, struct web_reply *rep,
			      struct mica_err *err);

struct web_route {
	const char *method;     /* "GET" (also answers HEAD), "POST", "DELETE" */
	const char *pattern;    /* "/api/v1/requests/{id}/approve" */
	web_handler_fn fn;
	int auth;               /* enum web_auth */
	const char *query;      /* allowed query keys, space-separated;
				 * WEB_QUERY_IGNORED: any query, not read */
};

/* The query of a public file (a CRL, a CA certificate, an OCSP GET):
 * relying parties and caches fetch these by the URL a certificate names,
 * and a query a proxy or a download link adds ("?download=1", a cache
 * buster) is ignored as a web server ignores it on a static file, rather
 * than answered with an API error a certificate client cannot read. */
#define WEB_QUERY_IGNORED "*"

#define WEB_MAX_PARAMS 2
#define WEB_TAIL_MAX   3073     /* a "{*}" tail: an OCSP request in base64,
				 * 1 KiB of it percent-encoded (3 octets
				 * each) */
struct web_match {
	const struct web_route *route;
	size_t nparams;
	char param[WEB_MAX_PARAMS][WEB_PARAM_MAX];
	int overlong;           /* a "{x}" segment of WEB_PARAM_MAX bytes or
				 * more: its param is "" (refused before the
				 * handler, 400 bad_path) */
	char allow[64];         /* methods for the path, when BAD_METHOD */
	char tail[WEB_TAIL_MAX];   /* a "{*}" route's rest of the path, raw
				    * (still percent-encoded) */
};

enum { WEB_ROUTE_OK = 0, WEB_ROUTE_NOT_FOUND, WEB_ROUTE_BAD_METHOD };

/* The daemon's route table (static storage). */
const struct web_route *web_routes(size_t *n);
/*
 * The methods the routes of TABLE take, HEAD beside GET, then OPTIONS
 * (which the server takes for "*"), as an Allow value into ALLOW (SIZE
 * bytes, cut short if it does not fit): what "OPTIONS *" answers.
 */
void web_routes_methods(const struct web_route *table, size_t n, char *allow,
			size_t size);
/*
 * Match METHOD and a decoded PATH against TABLE: "{name}" matches one
 * non-empty segment; one of WEB_PARAM_MAX bytes or more is matched as ""
 * with m->overlong set, when no route takes the path otherwise. Returns
 * WEB_ROUTE_OK (m->route and params set), WEB_ROUTE_NOT_FOUND, or
 * WEB_ROUTE_BAD_METHOD
 * (some route has the path, none the method; m->allow lists them, with
 * HEAD beside GET).
 */
int web_route_match(const struct web_route *table, size_t n,
		    const char *method, const char *path, struct web_match *m);

/*
 * Match METHOD and the raw (undecoded) path RAW[0..LEN) against the routes
 * of TABLE whose pattern ends in "{*}" ("/ocsp/{*}"): the raw path must
 * start with the part before "{*}", and the rest, without '?' or '#',
 * goes into m->tail as sent, for the handler to decode (RFC 6960 A.1: a
 * GET's base64 may hold '/', raw or as %2F, which the path decoder
 * rightly refuses elsewhere); a rest of WEB_TAIL_MAX or more octets, or
 * none, leaves m->tail "" for the handler to refuse in its own terms.
 * WEB_ROUTE_OK, WEB_ROUTE_BAD_METHOD (such a path by another method:
 * m->allow lists the route's) or WEB_ROUTE_NOT_FOUND.
 */
int web_route_match_tail(const struct web_route *table, size_t n,
			 const char *method, const char *raw, size_t len,
			 struct web_match *m);

/*
 * Is the request METHOD RAW[0..LEN) (the path as sent) one whose handler
 * may take seconds (it may sign a CRL), to be run on the listener's slow
 * lane (web/slow.h), off the pool threads? 0 for anything else, unmatched
 * or malformed included (the dispatcher then answers it as usual).
 */
int web_route_slow(const struct web_route *table, size_t n, const char *method,
		   const char *raw, size_t len);

/*
 * Is the request path RAW[0..LEN) (as sent, without the query) under
 * WEB_ACME_PREFIX? Judged on the decoded path, as the routes are matched
 * (web_path_parse); a path that does not decode, on the bytes as sent.
 * ACME clients expect every answer there, errors included, as an RFC 7807
 * problem document (web_dispatch_error).
 */
int web_route_acme(const char *raw, size_t len);

/*
 * What the access log may say of a request path, RAW[0..LEN) as the
 * client sent it (without the query): the pattern of the route it decodes
 * to ("/api/v1/requests/{id}", whatever the method), the path of a page
 * ("/admin"), or "(other path)". Never a byte the client chose: a token
 * pasted into a URL could be spelled in any case and percent-encoding, and
 * an id segment may hold anything. Static storage.
 */
const char *web_log_path(const char *raw, size_t len);

/* METHOD if it is one of RFC 9110's, else "OTHER" (static storage). */
const char *web_log_method(const char *method);

#endif

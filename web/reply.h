/*
 * web/reply.h - what a request is answered with, and the one error-reply
 * path: an error kind becomes an HTTP status and a JSON body that never
 * carries internals.
 */
#ifndef MICA_WEB_REPLY_H
#define MICA_WEB_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"
#include "web/blob.h"

#define WEB_EXTRA_HEADERS  4             /* struct web_reply's hdr[] */

struct web_reply {
	int status;                /* HTTP status */
	const char *ctype;         /* static string; NULL = no body */
	struct web_blob *blob;     /* body (owned reference), or */
	const void *pbody;         /* a body that outlives the daemon */
	size_t plen;
	char location[160];        /* Location, "" = none */
	char allow[64];            /* Allow (405), "" = none */
	int retry_after;           /* seconds; 0 = no Retry-After */
	int max_age;               /* -1: Cache-Control: no-store;
				    * >= 0: public, max-age=N */
	int www_auth;              /* WWW-Authenticate: Bearer; 2: with
				    * error="invalid_token" */
	char etag[48];             /* ETag (quoted), "" = none */
	int64_t last_modified;     /* Last-Modified, Unix time; 0 = none */
	int64_t expires;           /* Expires, Unix time; 0 = none */
	int close;                 /* Connection: close */
	/* More headers (ACME: Replay-Nonce, Link, its own Location); NAME
	 * is a static string. */
	struct web_header {
		const char *name;
		char value[400];
	} hdr[WEB_EXTRA_HEADERS];
	size_t nhdr;
};

/* An empty reply: status 500 until something sets it, no body, no-store. */
void web_reply_init(struct web_reply *r);
/* Drop the body reference and reset. */
void web_reply_clear(struct web_reply *r);
/* Give R's body (blob or pbody) a strong ETag: the first 16 bytes of its
 * SHA-256, quoted, so a client holding it gets 304 for If-None-Match
 * (RFC 9110 8.8.3, 13.1.2). Without a body, nothing. */
void web_reply_etag_body(struct web_reply *r);
/* Serialise OBJ (reference stolen, even on failure) as the JSON body with
 * STATUS. SECRET marks the body for zeroizing. -1 on allocation failure. */
int web_reply_json(struct web_reply *r, int status, json_t *obj, int secret,
		   struct mica_err *err);
/*
 * The one error-reply path: status from mica_err_http_status(e->kind), body
 * {"error": code, "message": msg}. Internal errors are answered with a
 * generic message (the detail goes to the log, never to the client);
 * codes and messages are reduced to printable ASCII. Adds Retry-After for
 * 429/503 (R's own retry_after if set before) and WWW-Authenticate for
 * 401; keeps R's close flag. Replaces whatever else R held.
 */
void web_reply_error(struct web_reply *r, const struct mica_err *e);
/* The same, with the members of EXTRA (borrowed; NULL for none) beside
 * "error" and "message": what a client needs to act on a refusal, such
 * as the serial of the certificate a request was issued as already.
 * Never "error" or "message" themselves, and nothing for an internal
 * error. */
void web_reply_error_with(struct web_reply *r, const struct mica_err *e,
			  json_t *extra);
/* Make the refusal R holds (written by web_reply_error or an ACME problem)
 * a 405 with Allow: ALLOW (RFC 9110 15.5.6): the methods the resource
 * takes, such as "GET, HEAD". */
void web_reply_not_allowed(struct web_reply *r, const char *allow);
/* Add header NAME (static) with the formatted value to R; -1 when R has
 * no room or the value does not fit (a bug: the callers' values are
 * bounded). */
int web_reply_header(struct web_reply *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Convenience: build an error from parts and reply with it. */
void web_reply_fail(struct web_reply *r, mica_errkind kind, const char *code,
		    const char *msg);

#endif

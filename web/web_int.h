/*
 * web/web_int.h - private to web/ (and tests/test_web.c): the request state,
 * the route table, the text parsers, the reply helpers and the JSON
 * renderers that the files of web/ share.
 *
 * Layers inside web/:
 *   web.c     start-up, listeners, signals, CRL timer, TLS self-renewal
 *   http.c    libmicrohttpd glue: body accumulation with caps, one reply
 *             path, access log, rate limiting of failed authentications
 *   parse.c   pure text parsing of hostile input: path, query, headers
 *   routes.c  the one static route table and the dispatcher
 *   api.c     the handlers: parse -> validate -> engine -> render
 *   json.c    JSON body validation and rendering (jansson)
 *   acme.c    ACME (RFC 8555): its handlers, URLs, headers and problem
 *             documents
 *   api_acme.c the admin's ACME API: accounts, orders, EAB credentials
 */
#ifndef MICA_WEB_INT_H
#define MICA_WEB_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "ca/ca.h"
#include "util/err.h"
#include "web/web.h"

/* ------------------------------------------------------------ limits -- */

#define WEB_BODY_MAX       (64 * 1024)   /* request body cap (413 above) */
#define WEB_DISCARD_MAX    (1024 * 1024) /* a chunked body beyond the cap is
					  * read and dropped up to this, so
					  * the client gets its 413; past it
					  * the connection is closed */
#define WEB_PATH_MAX       512           /* decoded path */
#define WEB_PARAM_MAX      96            /* one {id}/{serial} segment */
#define WEB_QUERY_KEYS     16            /* most key=value pairs */
#define WEB_CONN_LIMIT     512           /* connections per listener */
#define WEB_PER_IP_LIMIT   64            /* connections per client address */
#define WEB_CONN_TIMEOUT   10            /* idle seconds before a close */
#define WEB_CONN_MEMORY    (32 * 1024)   /* per-connection pool: caps the
					  * request line and headers */
#define WEB_DRAIN_SECONDS  10            /* grace for requests in flight */
#define WEB_TLS_DAYS       90            /* the daemon's TLS certificate */
#define WEB_TICK_SECONDS   60            /* CRL and TLS maintenance */
#define WEB_RL_SLOTS       1024          /* failed-authentication table */
#define WEB_RL_PROBE       8             /* slots probed per address */
#define WEB_RL_FAILS       10            /* failures allowed per window */
#define WEB_RL_WINDOW      60            /* seconds */
#define WEB_THREADS_MAX    256
#define WEB_THREADS_PER_CORE 4           /* default workers per listener */

#define WEB_EXTRA_HEADERS  4             /* struct web_reply's hdr[] */
#define WEB_HOST_MAX       128           /* a Host header kept for ACME */

/* ------------------------------------------------------------- blobs -- */

/* A refcounted immutable byte buffer: reply bodies and the cached CRL, so a
 * response can be sent while the cache moves on. SECRET blobs (a reply that
 * carries a new token) are zeroized when the last reference goes. */
struct web_blob {
	atomic_int refs;
	int secret;
	int adopted;              /* data is a separate heap buffer */
	size_t len;
	unsigned char *data;      /* inline[] unless adopted */
	unsigned char inline_[];
};

/* A new blob holding a copy of DATA (LEN bytes, plus a NUL not counted in
 * len), or LEN zero bytes when DATA is NULL; one reference. NULL on
 * allocation failure. */
struct web_blob *web_blob_new(const void *data, size_t len);
/* A blob that takes over the heap buffer DATA (LEN bytes, no NUL added):
 * no copy, for large bodies such as the CRL. On failure DATA is freed. */
struct web_blob *web_blob_adopt(void *data, size_t len);
/* Take one more reference (B may be NULL); returns B. */
struct web_blob *web_blob_ref(struct web_blob *b);
/* Drop one reference; frees (zeroizing secret blobs) on the last. NULL ok. */
void web_blob_unref(struct web_blob *b);

/* ----------------------------------------------------------- replies -- */

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
	int www_auth;              /* WWW-Authenticate: Bearer */
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
/* Serialise OBJ (reference stolen, even on failure) as the JSON body with
 * STATUS. SECRET marks the body for zeroizing. -1 on allocation failure. */
int web_reply_json(struct web_reply *r, int status, json_t *obj, int secret,
		   struct mica_err *err);
/*
 * The one error-reply path: status from mica_err_http_status(e->kind), body
 * {"error": code, "message": msg}. Internal errors are answered with a
 * generic message (the detail goes to the log, never to the client);
 * codes and messages are reduced to printable ASCII. Adds Retry-After for
 * 429/503 and WWW-Authenticate for 401. Replaces whatever R held.
 */
void web_reply_error(struct web_reply *r, const struct mica_err *e);
/* Convenience: build an error from parts and reply with it. */
void web_reply_fail(struct web_reply *r, mica_errkind kind, const char *code,
		    const char *msg);

/* ---------------------------------------------------------- parsing -- */

/*
 * Percent-decode IN[0..LEN) into OUT (OUTSZ bytes, NUL-terminated). PLUS
 * turns '+' into a space (query strings). Refuses a malformed escape, a
 * decoded NUL or control character (< 0x20, 0x7f), and output that does
 * not fit. Returns the decoded length or -1.
 */
int web_pct_decode(const char *in, size_t len, int plus, char *out,
		   size_t outsz);

/*
 * Decode and check the path part of a request target (RAW[0..LEN), without
 * the query). It must start with '/'; each segment is percent-decoded on
 * its own and may not decode to '/' or '\\'; "." and ".." segments, in
 * clear or encoded (%2e%2e), are refused rather than resolved, so nothing
 * can climb out of a route. MICA_E_BADREQ "bad_path" on refusal.
 */
int web_path_parse(const char *raw, size_t len, char *out, size_t outsz,
		   struct mica_err *err);

struct web_query {
	size_t n;
	char *key[WEB_QUERY_KEYS];   /* point into buf */
	char *val[WEB_QUERY_KEYS];   /* "" when the pair has no '=' */
	char *buf;                   /* heap */
};

/* Parse a query string (without '?', may be NULL or empty): '&'-separated
 * key=value pairs, percent-decoded ('+' = space). Refuses empty or
 * duplicate keys, bad escapes, more than WEB_QUERY_KEYS pairs, and a string
 * longer than 2048 bytes: MICA_E_BADREQ "bad_query". Free with
 * web_query_free (also after failure). */
int web_query_parse(const char *qs, struct web_query *q, struct mica_err *err);
void web_query_free(struct web_query *q);
/* Every key must be in ALLOWED (space-separated words; NULL = none):
 * MICA_E_BADREQ "unknown_parameter" naming the first stranger. */
int web_query_allow(const struct web_query *q, const char *allowed,
		    struct mica_err *err);
/* The value of KEY or NULL. */
const char *web_query_get(const struct web_query *q, const char *key);
/* KEY as a decimal integer in [MIN, MAX]; *OUT = DEF when absent.
 * MICA_E_BADREQ "bad_parameter" if present but not such a number. */
int web_query_int(const struct web_query *q, const char *key, int64_t min,
		  int64_t max, int64_t def, int64_t *out, struct mica_err *err);

/* Strict decimal: optional '-', digits only, no overflow, in [MIN, MAX].
 * 0 or -1. */
int web_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* The media type of a Content-Type header, lowercased, parameters and
 * blanks dropped ("Application/JSON; charset=utf-8" -> "application/json").
 * NULL or empty header -> "". -1 if it does not fit or has bad bytes. */
int web_media_type(const char *header, char *out, size_t outsz);

/* The credentials of an "Authorization: Bearer <token>" header (scheme
 * case-insensitive, RFC 6750 2.1) into TOK (TOKSZ bytes). -1 for another
 * scheme, an empty or oversized token, or bytes outside the token68 set. */
int web_bearer(const char *header, char *tok, size_t toksz);

/* A request or token id from a URL: 1..CA_ID_MAX-1 characters of
 * [0-9a-f]. 1 yes, 0 no. */
int web_id_valid(const char *id);

/* "2026-11-24T17:30:00Z" (RFC 3339, UTC) into BUF[32]. */
const char *web_time_str(int64_t t, char buf[32]);

/* ---------------------------------------------------------- clients -- */

struct sockaddr;
/*
 * Describe the peer SA: printable address into TEXT, a 16-octet key for
 * the rate limiter (IPv4 as v4-mapped; IPv6 cut to its /64, as one host
 * usually owns a whole /64), and whether it is loopback (127.0.0.0/8, ::1,
 * ::ffff:127.0.0.0/104). Unknown families: "unknown", not loopback.
 */
void web_client_describe(const struct sockaddr *sa, char *text, size_t textsz,
			 unsigned char key[16], int *loopback);

/* Failed bearer authentications per client, in a fixed-size table:
 * WEB_RL_FAILS failures within WEB_RL_WINDOW seconds block the client for
 * the rest of the window. Thread-safe. */
struct web_rl_slot {
	unsigned char key[16];
	int64_t start;     /* window start; 0 = free slot */
	int fails;
};
struct web_ratelimit {
	pthread_mutex_t lock;
	struct web_rl_slot slot[WEB_RL_SLOTS];
};
void web_rl_init(struct web_ratelimit *rl);
void web_rl_destroy(struct web_ratelimit *rl);
/* 0 if KEY may try to authenticate at NOW, else the seconds to wait. */
int web_rl_check(struct web_ratelimit *rl, const unsigned char key[16],
		 int64_t now);
/* Record one failure of KEY at NOW. */
void web_rl_fail(struct web_ratelimit *rl, const unsigned char key[16],
		 int64_t now);

/* ----------------------------------------------------------- routes -- */

enum web_auth {
	WEB_AUTH_PUBLIC = 0,  /* public files: plain HTTP too, no token */
	WEB_AUTH_ANY,         /* API; a token is optional (anon allowed) */
	WEB_AUTH_ADMIN,       /* API; an admin token is required */
	WEB_AUTH_ACME,        /* ACME (web/acme.c): HTTPS only, no bearer
			       * token; the engine checks each request's
			       * JWS */
};

struct web_ctx;
/* A handler fills REP and returns 0, or returns -1 with ERR filled (the
 * dispatcher renders it through web_reply_error). */
typedef int (*web_handler_fn)(struct web_ctx *c, struct web_reply *rep,
			      struct mica_err *err);

struct web_route {
	const char *method;     /* "GET" (also answers HEAD), "POST", "DELETE" */
	const char *pattern;    /* "/api/v1/requests/{id}/approve" */
	web_handler_fn fn;
	int auth;               /* enum web_auth */
	const char *query;      /* allowed query keys, space-separated */
};

#define WEB_MAX_PARAMS 2
struct web_match {
	const struct web_route *route;
	size_t nparams;
	char param[WEB_MAX_PARAMS][WEB_PARAM_MAX];
	char allow[64];         /* methods for the path, when BAD_METHOD */
};

enum { WEB_ROUTE_OK = 0, WEB_ROUTE_NOT_FOUND, WEB_ROUTE_BAD_METHOD };

/* The daemon's route table (static storage). */
const struct web_route *web_routes(size_t *n);
/*
 * Match METHOD and a decoded PATH against TABLE: "{name}" matches one
 * non-empty segment of at most WEB_PARAM_MAX-1 bytes. Returns WEB_ROUTE_OK
 * (m->route and params set), WEB_ROUTE_NOT_FOUND, or WEB_ROUTE_BAD_METHOD
 * (some route has the path, none the method; m->allow lists them, with
 * HEAD beside GET).
 */
int web_route_match(const struct web_route *table, size_t n,
		    const char *method, const char *path, struct web_match *m);

/* ----------------------------------------------- server and requests -- */

struct web_server;

struct web_listener {
	struct web_server *srv;
	struct MHD_Daemon *d;
	int tls;
	atomic_int inflight;      /* requests begun and not completed */
	char url[160];            /* "https://127.0.0.1:8443" */
};

/* Per request, created by the URI callback, freed at completion. */
struct web_req {
	struct web_listener *lst;
	char *uri;                /* raw request target, heap */
	size_t path_len;          /* uri[0..path_len) is the path */
	const char *query;        /* after '?', or NULL */
	char method[16];
	char client[64];
	unsigned char client_key[16];
	int loopback;
	struct timespec t0;
	unsigned char *body;
	size_t body_len, body_cap;
	size_t body_seen;         /* including discarded bytes */
	int started;
	int too_large;
	int status;               /* for the access log */
	char host[WEB_HOST_MAX];  /* the Host header, "" if absent or longer */
};

/* What a handler sees. */
struct web_ctx {
	struct web_server *srv;        /* NULL in unit tests */
	struct ca *ca;                 /* this worker's engine handle */
	const struct ca_principal *p;
	const struct web_match *m;
	const struct web_query *q;
	const char *ctype;             /* media type, "" if none */
	const unsigned char *body;
	size_t body_len;
	const char *client;
	int64_t now;
	const char *method;            /* "GET", "HEAD", "POST"... */
	const char *host;              /* the Host header, "" if none */
};

/* Answer request R (body complete) through REP. AUTHZ and CTYPE are the
 * raw Authorization and Content-Type headers (NULL if absent). */
void web_dispatch(struct web_server *srv, struct web_listener *lst,
		  struct web_req *r, const char *authz, const char *ctype,
		  struct web_reply *rep);

/* libmicrohttpd callbacks (http.c); CLS is the struct web_listener. The
 * URI callback creates the struct web_req (it sees the raw request target,
 * before libmicrohttpd decodes it); the access handler accumulates the
 * body under the caps and dispatches on the final call; the completion
 * callback writes the access log line and frees the request. */
void *web_mhd_uri(void *cls, const char *uri, struct MHD_Connection *conn);
enum MHD_Result web_mhd_access(void *cls, struct MHD_Connection *conn,
			       const char *url, const char *method,
			       const char *version, const char *upload_data,
			       size_t *upload_data_size, void **req_cls);
void web_mhd_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
		       enum MHD_RequestTerminationCode toe);
/* libmicrohttpd's own messages, to the log at debug level. */
void web_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* ------------------------------------------------- server services -- */

/* This thread's engine handle, cloned from the daemon's on first use and
 * closed when the thread exits. NULL with ERR (MICA_E_UNAVAIL) if the
 * store cannot be opened. */
struct ca *web_thread_ca(struct web_server *srv, struct mica_err *err);
/* 1 if --api-over-http was given (0 for a NULL server). */
int web_api_over_http(const struct web_server *srv);
/* "https://HOST:PORT" of the HTTPS listener, or NULL if there is none. */
const char *web_https_url(const struct web_server *srv);
/* The daemon's table of failed authentications. */
struct web_ratelimit *web_server_rl(struct web_server *srv);
/* The daemon's ACME service (NULL for a NULL server). */
struct ca_acme *web_server_acme(struct web_server *srv);
/* The root certificate as DER and PEM, valid for the daemon's lifetime. */
void web_server_root(struct web_server *srv, const unsigned char **der,
		     size_t *der_len, const char **pem);

/* The current CRL from the cache (refreshed from the store at most once a
 * second, at once after FORCE): new references to the DER and PEM blobs
 * and nextUpdate. If the stored CRL has expired, one is published; if that
 * fails, MICA_E_UNAVAIL ("crl_expired"): an expired CRL is never served. */
int web_crl_get(struct web_server *srv, struct ca *ca, int force,
		struct web_blob **der, struct web_blob **pem,
		int64_t *this_update, int64_t *next_update, int64_t *number,
		struct mica_err *err);

/* After a revocation or publication through the API: reload the cache now
 * so the next GET /crl has the new CRL. Failures are logged only. */
void web_crl_changed(struct web_server *srv, struct ca *ca);

/* ------------------------------------------------------------- JSON -- */

enum web_jtype {
	WEB_J_STRING = 1,
	WEB_J_INT,
	WEB_J_BOOL,
	WEB_J_STRARRAY,     /* array of strings */
};

struct web_field {
	const char *name;
	int type;            /* enum web_jtype */
	int required;
	size_t max;          /* strings: most bytes; arrays: most items */
};

/* Parse BODY as one JSON object (UTF-8, no duplicate keys, nothing after
 * it, no NUL in strings). MICA_E_BADREQ "bad_json" otherwise. *out owned
 * by the caller (json_decref). */
int web_json_parse(const unsigned char *body, size_t len, json_t **out,
		   struct mica_err *err);
/* Check OBJ against SPEC: unknown keys -> "unknown_field", wrong type,
 * over-long string, too many items -> "bad_field", missing required ->
 * "missing_field" (all MICA_E_BADREQ, naming the field). JSON null counts
 * as absent. */
int web_json_check(json_t *obj, const struct web_field *spec, size_t n,
		   struct mica_err *err);
/* Getters after web_json_check: NULL/DEF when absent or null. */
const char *web_json_str(json_t *obj, const char *key);
int64_t web_json_int(json_t *obj, const char *key, int64_t def);
int web_json_bool(json_t *obj, const char *key, int def);

/* A JSON string from S: null for NULL; bytes that are not valid UTF-8 are
 * replaced by '?'. New reference (NULL on allocation failure). */
json_t *web_jstr(const char *s);
/* RFC 3339 time string, or null for 0. */
json_t *web_jtime(int64_t t);
/* An array from a '\n'-separated list (NULL -> []). */
json_t *web_jlines(const char *s);
/* PEM text of DER under LABEL, or NULL. */
json_t *web_jpem(const char *label, const unsigned char *der, size_t len);

const char *web_cert_status_name(const struct ca_cert *c, int64_t now);
const char *web_req_status_name(int status);

json_t *web_json_cert(const struct ca_cert *c, int64_t now);
json_t *web_json_request(const struct ca_request *r, int admin);
json_t *web_json_token(const struct ca_token *t, int64_t now);
json_t *web_json_audit(const struct ca_audit *a);
/* An issuance result: {id?, status, serial, certificate, chain:[root],
 * not_before, not_after, notice?}. ROOT_PEM may be NULL (no chain). */
json_t *web_json_issued(const struct ca_issued *is, const char *root_pem);

/* Handlers (api.c), referenced by the route table. */
int web_h_ca_der(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_ca_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_crl_der(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_crl_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_healthz(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_req_submit(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_req_list(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_req_get(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_req_approve(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_req_deny(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_list(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_get(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_renew(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_revoke(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_unrevoke(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_crl_publish(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_token_create(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_token_list(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_token_delete(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_audit(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_status(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);

/* Add header NAME (static) with the formatted value to REP; -1 when REP
 * has no room or the value does not fit (a bug: the callers' values are
 * bounded). */
int web_reply_header(struct web_reply *rep, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ACME (web/acme.c): RFC 8555 on the HTTPS listener. */
int web_h_acme_directory(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_nonce(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_new_account(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_account(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_orders(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_key_change(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_new_order(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_order(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_finalize(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_authz(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_chall(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_cert(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_revoke(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_renewal_info(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
/* The admin's ACME API (web/api_acme.c). */
int web_h_api_acme_accounts(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_api_acme_deactivate(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_api_acme_orders(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_api_acme_eab(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);

#endif

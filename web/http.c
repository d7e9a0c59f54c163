/*
 * web/http.c - the libmicrohttpd side of a request: the per-request state
 * machine (URI callback -> first call -> body chunks -> final call ->
 * completion), what is checked once the head is in (framing, the client
 * behind a trusted proxy, the body cap), turning a struct web_reply into a
 * response, the access log, and telling the listener's table of
 * connections (web/conns.h) where each connection stands.
 */
#include "web/http.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include "util/fault.h"
#include "util/log.h"
#include "web/assets.h"
#include "web/conns.h"
#include "web/dispatch.h"
#include "web/parse.h"
#include "web/proxy.h"
#include "web/reply.h"
#include "web/routes.h"
#include "web/server.h"
#include "web/slow.h"

/* Per request, created by the URI callback, freed at completion. */
struct web_req {
	struct web_listener *lst;
	struct web_conn *conn;    /* its connection's entry, or NULL */
	char *uri;                /* raw request target, heap */
	const char *target;       /* libmicrohttpd's, in its buffer (only
				   * compared: head_scan_line), or NULL */
	size_t target_len;        /* its length then */
	char *authority;          /* an absolute-form target's host[:port],
				   * heap, or NULL: it stands for Host */
	char *accept;             /* the Accept lines joined (accept_value),
				   * heap, or NULL */
	size_t path_len;          /* uri[0..path_len) is the path */
	const char *query;        /* after '?', or NULL */
	char method[16];
	char client[64];
	unsigned char peer[16];   /* the connection's address */
	int peer_ok;              /* peer is set */
	unsigned char client_key[16];
	int loopback;
	struct timespec t0;
	unsigned char *body;
	size_t body_len, body_cap;
	size_t body_seen;         /* including discarded bytes */
	int started;
	int too_large;
	int empty_path;           /* an absolute-form target's path was
				   * empty: r->uri is "/" then */
	int answered;             /* its 413 written mid-body: nothing
				   * more is sent (answer_mid_body) */
	int status;               /* for the access log */
	/* A request for a slow route (web/slow.h) is answered from the
	 * lane: its connection suspended meanwhile. */
	int deferred;             /* DEFER_NONE, DEFER_QUEUED, DEFER_DONE */
	struct MHD_Connection *mhd;
	struct web_request rq;    /* what the lane dispatches */
	struct web_reply rep;     /* its answer, sent on resumption */
	struct web_slow_job job;
};

enum { DEFER_NONE = 0, DEFER_QUEUED, DEFER_DONE };

/* libmicrohttpd's free callback for a blob body. */
static void
blob_release(void *cls)
{
	web_blob_unref(cls);
}

void
web_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	mica_log(MICA_LOG_DEBUG, "http: %s", line);
}

enum MHD_Result
web_mhd_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct web_listener *lst = cls;

	(void)addr;
	(void)addrlen;
	web_conns_admit(lst->conns);
	return MHD_YES;
}

static void req_end(struct web_req *r, enum MHD_RequestTerminationCode toe);

void
web_mhd_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
		   enum MHD_ConnectionNotificationCode toe)
{
	struct web_listener *lst = cls;
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = ci != NULL ?
				  web_conn_open(lst->conns, ci->connect_fd, web_now_ms()) : NULL;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct web_req *r = *socket_context != NULL ?
				    web_conn_req(*socket_context) : NULL;

		/* A request libmicrohttpd announced (web_mhd_uri) and then
		 * dropped without reporting its end: 0.9.75 does that when
		 * the arguments overflow the connection's memory (a query of
		 * some 500 '&'). It is ended here, or it would stay counted
		 * in flight and its memory lost. libmicrohttpd reports every
		 * other end before this notice (MHD_connection_close_). */
		if (r != NULL) {
			web_conn_set_req(*socket_context, NULL);
			req_end(r, MHD_REQUEST_TERMINATED_WITH_ERROR);
		}
		web_conn_close(lst->conns, *socket_context);
		*socket_context = NULL;
	}
	/* The acceptor counted it on its worker when it placed it
	 * (web/listener.c). */
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED && ci != NULL)
		atomic_fetch_sub(&lst->load[(unsigned)ci->connect_fd % lst->nworkers], 1);
}

void *
web_mhd_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct web_listener *lst = cls;
	const union MHD_ConnectionInfo *ci;
	struct web_req *r;
	char *q;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->lst = lst;
	/* libmicrohttpd bounds the request line by the connection's memory
	 * pool, so the copy is bounded too. */
	if (uri != NULL) {
		r->target = uri;
		r->target_len = strlen(uri);
	} else {
		uri = "";
	}
	/* An absolute-form target ("GET http://host/path"), which a server
	 * must accept (RFC 9112 3.2.2), is routed by its path, and its
	 * authority is the request's host: Host is then ignored. */
	if ((r->uri = web_origin_form(uri)) != NULL) {
		if ((r->authority = web_target_authority(uri)) == NULL) {
			free(r->uri);
			free(r);
			return NULL;
		}
		r->empty_path = web_target_path_empty(uri);
	} else if ((r->uri = strdup(uri)) == NULL) {
		free(r);
		return NULL;
	}
	if ((q = strchr(r->uri, '?')) != NULL) {
		r->path_len = (size_t)(q - r->uri);
		r->query = q + 1;
	} else {
		r->path_len = strlen(r->uri);
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	r->conn = ci != NULL ? ci->socket_context : NULL;
	if (r->conn != NULL)
		web_conn_set_req(r->conn, r);
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	web_client_describe(ci != NULL ? ci->client_addr : NULL, r->client,
			    sizeof(r->client), r->client_key, &r->loopback);
	r->peer_ok = web_addr16(ci != NULL ? ci->client_addr : NULL, r->peer) == 0;
	atomic_fetch_add(&lst->inflight, 1);
	if (lst->srv != NULL)
		atomic_fetch_add_explicit(&lst->srv->requests, 1,
					  memory_order_relaxed);
	return r;
}

/* RFC 9110 5.6.7 IMF-fixdate of T into BUF: 0, or -1. */
static int
http_date(int64_t t, char *buf, size_t size)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
					  "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May",
					  "Jun", "Jul", "Aug", "Sep", "Oct",
					  "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return -1;
	return snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d GMT",
			wd[tm.tm_wday], tm.tm_mday, mo[tm.tm_mon],
			tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			tm.tm_sec) < (int)size ? 0 : -1;
}

/* The header fields of REP for R, each handed to ADD(CTX, name, value):
 * one list for the responses libmicrohttpd sends (send_reply) and the one
 * mica writes itself (answer_mid_body). */
static void
reply_fields(struct web_req *r, const struct web_reply *rep,
	     void (*add)(void *ctx, const char *name, const char *value), void *ctx)
{
	char buf[64];

	if (rep->ctype != NULL)
		add(ctx, MHD_HTTP_HEADER_CONTENT_TYPE, rep->ctype);
	add(ctx, "X-Content-Type-Options", "nosniff");
	/* Every response, pages and JSON alike: nothing inline, nothing from
	 * another origin, never framed. */
	add(ctx, "Content-Security-Policy", WEB_PAGES_CSP);
	add(ctx, "X-Frame-Options", "DENY");
	add(ctx, "Referrer-Policy", "no-referrer");
	if (rep->max_age < 0) {
		add(ctx, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	} else {
		snprintf(buf, sizeof(buf), "public, max-age=%d", rep->max_age);
		add(ctx, MHD_HTTP_HEADER_CACHE_CONTROL, buf);
	}
	if (rep->etag[0] != '\0')
		add(ctx, MHD_HTTP_HEADER_ETAG, rep->etag);
	if (rep->last_modified > 0 &&
	    http_date(rep->last_modified, buf, sizeof(buf)) == 0)
		add(ctx, MHD_HTTP_HEADER_LAST_MODIFIED, buf);
	if (rep->expires > 0 && http_date(rep->expires, buf, sizeof(buf)) == 0)
		add(ctx, MHD_HTTP_HEADER_EXPIRES, buf);
	if (rep->location[0] != '\0')
		add(ctx, MHD_HTTP_HEADER_LOCATION, rep->location);
	if (rep->allow[0] != '\0')
		add(ctx, MHD_HTTP_HEADER_ALLOW, rep->allow);
	if (rep->retry_after > 0) {
		snprintf(buf, sizeof(buf), "%d", rep->retry_after);
		add(ctx, MHD_HTTP_HEADER_RETRY_AFTER, buf);
	}
	if (rep->www_auth)
		add(ctx, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    rep->www_auth == 2 ?
		    "Bearer realm=\"mica\", error=\"invalid_token\"" :
		    "Bearer realm=\"mica\"");
	if (rep->close || atomic_load(&r->lst->closing))
		add(ctx, MHD_HTTP_HEADER_CONNECTION, "close");
	for (size_t i = 0; i < rep->nhdr && i < WEB_EXTRA_HEADERS; i++)
		add(ctx, rep->hdr[i].name, rep->hdr[i].value);
	/* RFC 6797: once a browser has been here over HTTPS, it never comes
	 * back over plain HTTP (where a token could be read). Not on the
	 * HTTP listener: a browser ignores it there (RFC 6797 8.1). Only
	 * where the URLs it upgrades reach this listener (web_hsts_applies):
	 * it covers every port of the host name. */
	if (r->lst->tls && r->lst->srv->hsts)
		add(ctx, "Strict-Transport-Security", WEB_HSTS);
}

static void
mhd_field(void *ctx, const char *name, const char *value)
{
	MHD_add_response_header(ctx, name, value);
}

static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct web_req *r, struct web_reply *rep)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	/* A representation the client holds already (a CRL, an OCSP
	 * response): 304 with its validators and no body (RFC 9110 15.4.5).
	 * The body stays in the response: libmicrohttpd sends no body with
	 * a 304 but still a Content-Length, which must then be the 200's
	 * (RFC 9110 8.6) - a "Content-Length: 0" would tell a cache that
	 * freshens its stored response with the 304's fields that the CRL
	 * it holds is empty. */
	if (rep->status == 200 && rep->etag[0] != '\0' &&
	    web_not_modified(r->method,
			     MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_IF_NONE_MATCH),
			     rep->etag))
		rep->status = 304;
	if (rep->blob != NULL) {
		resp = MHD_create_response_from_buffer_with_free_callback_cls(
			rep->blob->len, rep->blob->data, blob_release, rep->blob);
		if (resp != NULL)
			rep->blob = NULL;   /* the response owns the reference */
	} else {
		resp = MHD_create_response_from_buffer(rep->plen,
						       (void *)(uintptr_t)(rep->pbody != NULL ? rep->pbody : ""),
						       MHD_RESPMEM_PERSISTENT);
	}
	if (resp == NULL)
		return MHD_NO;
	reply_fields(r, rep, mhd_field, resp);
	r->status = rep->status;
	ret = MHD_queue_response(conn, (unsigned int)rep->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Fail R with an error of KIND into REP through the one error reply of
 * the dispatcher (web_dispatch_error): an ACME problem document with a
 * fresh nonce under /acme/, mica's JSON error elsewhere. */
static void
req_fail(struct web_req *r, struct web_reply *rep, mica_errkind kind,
	 const char *code, const char *msg)
{
	struct mica_err e;

	mica_err_set(&e, kind, code, "%s", msg);
	web_dispatch_error(r->lst->srv, r->uri, r->path_len, rep, &e);
}

/* Tests (tests/e2e/slow_lane.sh, fault-injection builds): with
 * MICA_TEST_SLOW_GATE=PATH, each request queued for the slow lane appends
 * a line to PATH.queued, and each job of the lane waits at the gate
 * (util/fault.h) before it runs. */
#define SLOW_GATE "MICA_TEST_SLOW_GATE"

/* The lane's side of a slow request: dispatch it, then let libmicrohttpd
 * resume the connection, which calls web_mhd_access again to send it. */
static void
slow_run(void *arg)
{
	struct web_req *r = arg;
	const struct web_route *table;
	size_t ntable;

	MICA_TEST_GATE(SLOW_GATE);
	table = web_routes(&ntable);
	web_dispatch(r->lst->srv, table, ntable, &r->rq, &r->rep);
	r->deferred = DEFER_DONE;
	MHD_resume_connection(r->mhd);
}

/* R came for a slow lane that stopped (the daemon stops, or a TLS
 * rotation retires this listener): its answer into REP. */
static void
lane_closed(struct web_req *r, struct web_reply *rep)
{
	req_fail(r, rep, MICA_E_UNAVAIL, "shutting_down",
		 "this connection is being closed (the server stops, or renews "
		 "its TLS certificate); send the request again");
}

/* The lane stopped before running it (the daemon is stopping). */
static void
slow_cancel(void *arg)
{
	struct web_req *r = arg;

	r->rep.close = 1;
	req_fail(r, &r->rep, MICA_E_UNAVAIL, "shutting_down",
		 "the server is stopping; try again");
	r->deferred = DEFER_DONE;
	MHD_resume_connection(r->mhd);
}

/*
 * What a field's value hides. libmicrohttpd 0.9.75 keeps a field line's
 * bytes where they came, but hands its value out as a C string: a NUL
 * octet ends it there, and "Authorization: Bearer mica_x<NUL>junk" would
 * be read as "Bearer mica_x" where a proxy in front read all of it (RFC
 * 9110 5.5: a field value never holds NUL; a recipient must reject the
 * message or replace it). The head is parsed in place, one line after
 * the other, in order, each CR LF (or bare LF) written over with NULs: in
 * the connection's buffer, between the end of one value and the next
 * field's name there is only the line's end, 1 or 2 octets, both NUL;
 * after the last value, that and the empty line's end, 2 to 4 octets,
 * up to the end of the head (MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE
 * counts from the method). More is what a NUL hid, or a line folded into
 * the field (RFC 9112 5.2: 400 or unfold; the library appends it to the
 * name, elsewhere). NULs that end a value, where its line (or the empty
 * line after it) ends in a bare LF, cannot be told from a CR: there are
 * at most two, and they hide nothing after them. Another release of
 * libmicrohttpd may lay the head out otherwise: a value outside the head
 * means the layout is not the one known, and nothing is judged.
 */
#if MHD_VERSION <= 0x00097500
#define HEAD_SCAN 1
#else
#define HEAD_SCAN 0
#endif

struct head_scan {
	struct web_framing *f;
	const char *head, *head_end;  /* the head in libmicrohttpd's buffer,
				       * or NULL: not judged */
	const char *end;              /* the last value's end, or NULL */
	int unknown;                  /* a value outside the head */
};

/* Only NULs in [END, NEXT), and from MIN to MAX of them? */
static int
line_end_ok(const char *end, const char *next, size_t min, size_t max)
{
	uintptr_t e = (uintptr_t)end, n = (uintptr_t)next;

	if (n < e || n - e < min || n - e > max)
		return 0;
	for (; end < next; end++)
		if (*end != '\0')
			return 0;
	return 1;
}

/* Where the field KEY: VALUE lies in the head: after the last value? */
static void
head_scan_field(struct head_scan *s, const char *key, const char *value)
{
	uintptr_t v = (uintptr_t)value;

	if (s->head == NULL || s->unknown)
		return;
	if (value == NULL || v < (uintptr_t)s->head || v >= (uintptr_t)s->head_end) {
		s->unknown = 1;
		return;
	}
	if (s->end != NULL && !line_end_ok(s->end, key, 1, 2))
		s->f->n_hidden++;
	s->end = value + strlen(value);
}

/* S for a head whose request line starts at METHOD (libmicrohttpd's,
 * in its buffer), its fields to count into F. */
static void
head_scan_start(struct head_scan *s, struct web_framing *f,
		struct MHD_Connection *conn, const char *method)
{
	const union MHD_ConnectionInfo *ci;

	memset(s, 0, sizeof(*s));
	s->f = f;
	if (!HEAD_SCAN || method == NULL)
		return;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (ci == NULL || ci->header_size == 0)
		return;
	s->head = method;
	s->head_end = method + ci->header_size;
}

/* After the last field: the head's end is where it should be? */
static void
head_scan_done(struct head_scan *s)
{
	if (s->head == NULL || s->unknown || s->end == NULL)
		return;
	if (!line_end_ok(s->end, s->head_end, 2, 4))
		s->f->n_hidden++;
}

/* Does the request line hide something behind a NUL? libmicrohttpd
 * leaves it in place: METHOD, a NUL for the blank after it and the
 * blanks it skips, TARGET[0..TLEN) (as the URI callback saw it, before
 * the query was cut off), a NUL for the blank before the version,
 * VERSION. More between them is what a NUL in the method or the target
 * hid: "GET /healthz<NUL>x" would be served as "GET /healthz". In a
 * head with no field, the same holds after VERSION as after a last
 * value (head_scan_done). Called after head_scan_done. */
static void
head_scan_line(struct head_scan *s, const char *method, const char *target,
	       size_t tlen, const char *version)
{
	const char *p;

	if (s->head == NULL || target == NULL || version == NULL ||
	    (uintptr_t)target < (uintptr_t)s->head ||
	    (uintptr_t)target >= (uintptr_t)s->head_end ||
	    (uintptr_t)version <= (uintptr_t)target ||
	    (uintptr_t)version >= (uintptr_t)s->head_end)
		return;
	p = method + strlen(method);
	if (*p++ != '\0')
		return;
	while (p < target && *p == ' ')
		p++;
	if (p != target || target + tlen + 1 != version)
		s->f->target_hidden = 1;
	/* No field (HTTP/1.0): the head ends after the version, as it
	 * would after a last value. A line that starts with a NUL ends the
	 * head for the library, what follows the NUL unread. */
	if (s->end == NULL && !s->unknown &&
	    !line_end_ok(version + strlen(version), s->head_end, 2, 4))
		s->f->n_hidden++;
}

/* Count the framing fields of a request head (all their lines: libmicro-
 * httpd's lookup returns only the first), the Authorization lines, the
 * names that are not tokens, and the lines with more than their value
 * (head_scan_field). */
static enum MHD_Result
framing_count(void *cls, enum MHD_ValueKind kind, const char *key,
	      const char *value)
{
	struct head_scan *s = cls;
	struct web_framing *f = s->f;

	(void)kind;
	if (key == NULL)
		return MHD_YES;
	head_scan_field(s, key, value);
	if (!web_field_name_ok(key))
		f->n_bad_name++;
	if (!web_field_value_ok(value))
		f->n_bad_value++;
	if ((strncasecmp(key, "Content-Length", 14) == 0 && key[14] != '\0') ||
	    (strncasecmp(key, "Transfer-Encoding", 17) == 0 && key[17] != '\0'))
		f->n_framing_like++;
	if (strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) == 0)
		f->n_auth++;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_TYPE) == 0)
		f->n_ctype++;
	if (strcasecmp(key, MHD_HTTP_HEADER_ORIGIN) == 0)
		f->n_origin++;
	if (strcasecmp(key, "Sec-Fetch-Site") == 0)
		f->n_fetch_site++;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		if (f->n_length++ == 0)
			f->length = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		if (f->n_te++ == 0)
			f->te = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
		if (f->n_host++ == 0)
			f->host = value;
	}
	return MHD_YES;
}

struct xff_lines {
	size_t n;
	const char *line[WEB_XFF_LINES_MAX];
};

/* Collect the X-Forwarded-For lines; with more than fit, the rightmost
 * (the last ones, added by the proxies nearest to us) are kept. */
static enum MHD_Result
xff_collect(void *cls, enum MHD_ValueKind kind, const char *key,
	    const char *value)
{
	struct xff_lines *x = cls;

	(void)kind;
	if (key == NULL || value == NULL || strcasecmp(key, "X-Forwarded-For") != 0)
		return MHD_YES;
	if (x->n == WEB_XFF_LINES_MAX) {
		memmove(x->line, x->line + 1, (WEB_XFF_LINES_MAX - 1) * sizeof(x->line[0]));
		x->n--;
	}
	x->line[x->n++] = value;
	return MHD_YES;
}

/* Accept lines: their count and joined length; with BUF, joined there. */
struct accept_lines {
	size_t n, len;
	char *buf;
};

static enum MHD_Result
accept_join(void *cls, enum MHD_ValueKind kind, const char *key,
	    const char *value)
{
	struct accept_lines *a = cls;
	size_t vl;

	(void)kind;
	if (key == NULL || value == NULL ||
	    strcasecmp(key, MHD_HTTP_HEADER_ACCEPT) != 0)
		return MHD_YES;
	vl = strlen(value);
	if (a->n > 0) {
		if (a->buf != NULL)
			memcpy(a->buf + a->len, ", ", 2);
		a->len += 2;
	}
	if (a->buf != NULL)
		memcpy(a->buf + a->len, value, vl);
	a->len += vl;
	a->n++;
	return MHD_YES;
}

/* The request's Accept, NULL if none. RFC 9110 5.3: the lines of a list
 * field are one list, in order, joined by commas; libmicrohttpd's lookup
 * returns only the first, and "Accept: application/pem-certificate-chain;
 * q=0" then "Accept: application/pkix-cert" read so would be a 406. More
 * than one line: joined into R->accept (freed at completion); out of
 * memory, the first line. */
static const char *
accept_value(struct MHD_Connection *conn, struct web_req *r)
{
	struct accept_lines a;
	size_t len;

	memset(&a, 0, sizeof(a));
	MHD_get_connection_values(conn, MHD_HEADER_KIND, accept_join, &a);
	if (a.n > 1 && r->accept == NULL && (r->accept = malloc(a.len + 1)) != NULL) {
		len = a.len;
		memset(&a, 0, sizeof(a));
		a.buf = r->accept;
		MHD_get_connection_values(conn, MHD_HEADER_KIND, accept_join, &a);
		assert(a.len == len);
		r->accept[len] = '\0';
	}
	if (r->accept != NULL)
		return r->accept;
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
}

/* Behind a trusted proxy, the client is who the proxy says it is
 * (web/proxy.h); from anyone else, the peer. */
static void
client_resolve(struct MHD_Connection *conn, struct web_req *r)
{
	const struct web_proxies *px = web_server_proxies(r->lst->srv);
	struct xff_lines x;
	unsigned char a[16];

	if (!r->peer_ok || !web_proxies_match(px, r->peer))
		return;
	memset(&x, 0, sizeof(x));
	MHD_get_connection_values(conn, MHD_HEADER_KIND, xff_collect, &x);
	web_client_resolve(px, r->peer, x.line, x.n, a);
	web_client_describe16(a, r->client, sizeof(r->client), r->client_key, &r->loopback);
}

/* Refuse now, before the body is read: libmicrohttpd then answers without
 * reading the body (no "100 Continue") and closes the connection. */
static enum MHD_Result
refuse_early(struct MHD_Connection *conn, struct web_req *r, mica_errkind kind,
	     const char *code, const char *msg)
{
	struct web_reply rep;
	enum MHD_Result ret;

	web_reply_init(&rep);
	rep.close = 1;
	req_fail(r, &rep, kind, code, msg);
	ret = send_reply(conn, r, &rep);
	web_reply_clear(&rep);
	return ret;
}

static int
body_append(struct web_req *r, const char *data, size_t n)
{
	if (r->body_len + n > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 4096;
		unsigned char *nb;

		while (cap < r->body_len + n)
			cap *= 2;
		if (cap > WEB_BODY_MAX)
			cap = WEB_BODY_MAX;
		if ((nb = realloc(r->body, cap)) == NULL)
			return -1;
		r->body = nb;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	return 0;
}

/* A response head being written by hand (answer_mid_body). */
struct raw_head {
	char *p, *end;
	int overflow;
};

static void
raw_field(void *ctx, const char *name, const char *value)
{
	struct raw_head *h = ctx;
	int n;

	if (h->overflow)
		return;
	n = snprintf(h->p, (size_t)(h->end - h->p), "%s: %s\r\n", name, value);
	if (n < 0 || n >= h->end - h->p)
		h->overflow = 1;
	else
		h->p += n;
}

/* All of BUF[0..LEN) to the client of CONN, on its TLS session or its
 * socket, within a few seconds; -1 if it could not be. */
static int
raw_send(struct MHD_Connection *conn, int tls, const char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t ss = NULL;
	int fd;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return -1;
	fd = ci->connect_fd;
	if (tls) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (ci == NULL || ci->tls_session == NULL)
			return -1;
		ss = (gnutls_session_t)ci->tls_session;
	}
	/* The socket is non-blocking, and its send buffer empty (the
	 * connection was reading): a response head and a short body go out
	 * at once, but wait a little for room all the same. */
	for (int tries = 0; len > 0 && tries < 50; tries++) {
		ssize_t n;

		if (ss != NULL) {
			n = gnutls_record_send(ss, buf, len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				n = -2;
			else if (n < 0)
				return -1;
		} else {
			n = send(fd, buf, len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				n = -2;
			else if (n < 0)
				return -1;
		}
		if (n == -2) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			/* GnuTLS wants the same record again: same
			 * arguments, so nothing moves. */
			(void)poll(&pfd, 1, 100);
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	if (len > 0)
		return -1;
	/* Nothing more comes from this side: the client sees the end of the
	 * response, and the connection's end, while it is still sending. */
	if (ss != NULL)
		(void)gnutls_bye(ss, GNUTLS_SHUT_WR);
	(void)shutdown(fd, SHUT_WR);
	return 0;
}

/* A body past WEB_DISCARD_MAX that is still coming (a chunked one: a
 * declared length is refused before its body, in web_mhd_access's first
 * call). libmicrohttpd takes no response before the body's end
 * (MHD_queue_response refuses it), and closing now would reset the
 * connection under a client that is still sending: it would see only
 * the reset. So the 413 is written here, by hand, with the fields
 * send_reply gives it, and "Connection: close"; the caller then reads
 * and drops up to WEB_DISCARD_MAX more, so that a client that reads as
 * it sends (curl) sees the answer and stops, before the connection is
 * closed. -1 if it could not be written. */
static int
answer_mid_body(struct MHD_Connection *conn, struct web_req *r)
{
	struct web_reply rep;
	struct raw_head h;
	char head[8192], len[32], date[64];
	const void *body;
	size_t blen;
	int n, rc = -1;

	web_reply_init(&rep);
	rep.close = 1;
	req_fail(r, &rep, MICA_E_TOOLARGE, "body_too_large",
		 "request body larger than 64 KiB");
	body = rep.blob != NULL ? rep.blob->data : rep.pbody;
	blen = rep.blob != NULL ? rep.blob->len : rep.plen;
	h.p = head;
	h.end = head + sizeof(head);
	h.overflow = 0;
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n", rep.status,
		     MHD_get_reason_phrase_for((unsigned int)rep.status));
	h.p += n;
	/* RFC 9110 6.6.1, as libmicrohttpd adds it to its own. */
	if (http_date((int64_t)time(NULL), date, sizeof(date)) == 0)
		raw_field(&h, MHD_HTTP_HEADER_DATE, date);
	snprintf(len, sizeof(len), "%zu", blen);
	raw_field(&h, MHD_HTTP_HEADER_CONTENT_LENGTH, len);
	reply_fields(r, &rep, raw_field, &h);
	if (h.overflow || (size_t)(h.end - h.p) < 2 + blen)
		goto out;
	memcpy(h.p, "\r\n", 2);
	h.p += 2;
	/* A HEAD's answer has no content, but the Content-Length it would
	 * have (RFC 9110 9.3.2), as libmicrohttpd sends it. */
	if (strcmp(r->method, "HEAD") != 0 && blen > 0) {
		memcpy(h.p, body, blen);
		h.p += blen;
	}
	if (raw_send(conn, r->lst->tls, head, (size_t)(h.p - head)) != 0)
		goto out;
	r->status = rep.status;
	rc = 0;
out:
	web_reply_clear(&rep);
	return rc;
}

enum MHD_Result
web_mhd_access(void *cls, struct MHD_Connection *conn, const char *url,
	       const char *method, const char *version, const char *upload_data,
	       size_t *upload_data_size, void **req_cls)
{
	struct web_listener *lst = cls;
	struct web_req *r = *req_cls;
	struct web_reply rep;
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;     /* out of memory in the URI callback */
	if (!r->started) {
		struct web_framing f;
		struct head_scan hs;
		struct mica_err e;
		int64_t clen;

		r->started = 1;
		web_conn_head_done(lst->conns, r->conn, web_now_ms());
		if (method == NULL || strlen(method) >= sizeof(r->method))
			snprintf(r->method, sizeof(r->method), "-");
		else
			snprintf(r->method, sizeof(r->method), "%s", method);
		/* "OPTIONS http://host" is "OPTIONS *" (RFC 9112 3.2.4), not
		 * "OPTIONS /". */
		if (r->empty_path && strcmp(r->method, "OPTIONS") == 0) {
			assert(r->uri[0] == '/');
			r->uri[0] = '*';
		}
		client_resolve(conn, r);
		/* libmicrohttpd frames the body by the first Content-Length
		 * and reads whatever follows as the next request: a proxy in
		 * front that used another line would disagree. RFC 9112 6.3:
		 * 400, then close. */
		memset(&f, 0, sizeof(f));
		head_scan_start(&hs, &f, conn, method);
		MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_count, &hs);
		head_scan_done(&hs);
		head_scan_line(&hs, method, r->target, r->target_len, version);
		f.http11 = web_http11(version);
		f.target = r->uri;
		f.method = method != NULL ? method : "";
		if (web_framing_check(&f, &e) != 0)
			return refuse_early(conn, r, e.kind, e.code, e.msg);
		if (r->authority != NULL &&
		    (r->authority[0] == '\0' || !web_host_ok(r->authority)))
			return refuse_early(conn, r, MICA_E_BADREQ, "bad_request_target",
					    "the request target's authority is not a "
					    "host name or address with an optional port");
		/* A Host with blanks after it (not part of the value, RFC
		 * 9110 5.5; libmicrohttpd keeps them): the request's host is
		 * the value without them, as an absolute-form target's
		 * authority would be. */
		if (r->authority == NULL && f.host != NULL &&
		    web_value_len(f.host) != strlen(f.host) &&
		    (r->authority = strndup(f.host, web_value_len(f.host))) == NULL)
			return refuse_early(conn, r, MICA_E_INTERNAL, "out_of_memory",
					    "out of memory");
		if (f.length != NULL) {
			if (web_parse_int(f.length, 0, INT64_MAX, &clen) != 0)
				return refuse_early(conn, r, MICA_E_BADREQ, "bad_framing",
						    "invalid Content-Length");
			if (clen > WEB_BODY_MAX) {
				const char *expect = MHD_lookup_connection_value(
					conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

				r->too_large = 1;
				/* Answered before the body arrives, the 413 may
				 * be lost: closing a socket with unread bytes
				 * makes the kernel send a reset, and a client
				 * still sending sees only that. So a body up to
				 * WEB_DISCARD_MAX is read and dropped, and the
				 * 413 comes after it. A client that waits for
				 * "100 Continue" sends nothing more: refusing
				 * at once is clean; so is a body too large to
				 * be worth reading. Not an HTTP/1.0 client's
				 * Expect: it sends its body without waiting,
				 * and the server must ignore the expectation
				 * (RFC 9110 10.1.1). */
				if (clen > WEB_DISCARD_MAX ||
				    (f.http11 && expect != NULL &&
				     strcasecmp(expect, "100-continue") == 0))
					return refuse_early(conn, r, MICA_E_TOOLARGE, "body_too_large",
							    "request body larger than 64 KiB");
			}
		}
		return MHD_YES;
	}
	if (r->deferred == DEFER_DONE) {
		/* Resumed: the lane's answer. (libmicrohttpd does not call
		 * the handler of a suspended connection: QUEUED never gets
		 * here.) */
		r->deferred = DEFER_NONE;
		ret = send_reply(conn, r, &r->rep);
		web_reply_clear(&r->rep);
		return ret;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;

		r->body_seen += n;
		*upload_data_size = 0;
		web_conn_body(lst->conns, r->conn, n);
		if (!r->too_large && r->body_len + n > WEB_BODY_MAX) {
			/* A chunked body grew past the cap: stop keeping it. */
			r->too_large = 1;
			free(r->body);
			r->body = NULL;
			r->body_len = r->body_cap = 0;
		}
		if (r->too_large) {
			if (r->body_seen <= WEB_DISCARD_MAX)
				return MHD_YES;
			/* Still coming past WEB_DISCARD_MAX (chunked): the
			 * 413 now, then up to WEB_DISCARD_MAX more dropped
			 * while the client notices, then closed. */
			if (!r->answered) {
				if (answer_mid_body(conn, r) != 0)
					return MHD_NO;
				r->answered = 1;
			}
			return r->body_seen > 2 * (size_t)WEB_DISCARD_MAX ? MHD_NO : MHD_YES;
		}
		if (body_append(r, upload_data, n) != 0)
			return MHD_NO;
		return MHD_YES;
	}
	if (r->answered)
		return MHD_NO;     /* answered (answer_mid_body): closed now */
	web_conn_busy(lst->conns, r->conn);
	web_reply_init(&rep);
	if (r->too_large) {
		rep.close = 1;
		req_fail(r, &rep, MICA_E_TOOLARGE, "body_too_large",
			 "request body larger than 64 KiB");
	} else {
		struct web_request rq;
		const struct web_route *table;
		size_t ntable;

		table = web_routes(&ntable);
		memset(&rq, 0, sizeof(rq));
		rq.uri = r->uri;
		rq.path_len = r->path_len;
		rq.query = r->query;
		rq.method = r->method;
		rq.client = r->client;
		rq.client_key = r->client_key;
		rq.loopback = r->loopback;
		rq.tls = lst->tls;
		rq.authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);
		rq.ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_CONTENT_TYPE);
		rq.host = r->authority != NULL ? r->authority :
			  MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_HOST);
		rq.fetch_site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							    "Sec-Fetch-Site");
		rq.origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_ORIGIN);
		rq.accept = accept_value(conn, r);
		rq.body = r->body;
		rq.body_len = r->body_len;
		if (lst->slow != NULL &&
		    web_route_slow(table, ntable, r->method, r->uri, r->path_len)) {
			int rc;

			/* The header values stay in the connection's memory
			 * while it is suspended; the rest is R's. */
			r->rq = rq;
			r->mhd = conn;
			web_reply_init(&r->rep);
			r->job.run = slow_run;
			r->job.cancel = slow_cancel;
			r->job.arg = r;
			/* A lane stopped already (the daemon stopping, a
			 * request on a connection kept open): answered now,
			 * on this thread, which sends it before it stops. */
			if (web_slow_stopping(lst->slow)) {
				lane_closed(r, &rep);
				ret = send_reply(conn, r, &rep);
				web_reply_clear(&rep);
				return ret;
			}
			r->deferred = DEFER_QUEUED;
			MHD_suspend_connection(conn);
			if ((rc = web_slow_submit(lst->slow, &r->job)) == 0) {
				MICA_TEST_NOTE(SLOW_GATE, "queued");
			} else {
				if (rc == -2)
					lane_closed(r, &r->rep);
				else {
					r->rep.retry_after = 5;
					req_fail(r, &r->rep, MICA_E_UNAVAIL, "busy",
						 "too many slow requests at once; try again");
				}
				r->deferred = DEFER_DONE;
				MHD_resume_connection(conn);
			}
			return MHD_YES;
		}
#ifdef MICA_FAULT_INJECTION
		/* tests/e2e/workers.sh: with MICA_TEST_POOL_GATE=PATH, each
		 * GET /ca.pem waits at the gate on its pool thread. */
		if (r->path_len == 7 && memcmp(r->uri, "/ca.pem", 7) == 0)
			MICA_TEST_GATE("MICA_TEST_POOL_GATE");
#endif
		web_dispatch(lst->srv, table, ntable, &rq, &rep);
	}
	ret = send_reply(conn, r, &rep);
	web_reply_clear(&rep);
	return ret;
}

static const char *
termination_note(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:   return "";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return " (timeout)";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return " (shutdown)";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:    return " (client closed)";
	default:                                     return " (error)";
	}
}

void
web_mhd_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
		  enum MHD_RequestTerminationCode toe)
{
	struct web_req *r = *req_cls;

	(void)cls;
	(void)conn;
	if (r == NULL)
		return;
	*req_cls = NULL;
	if (r->conn != NULL && web_conn_req(r->conn) == r)
		web_conn_set_req(r->conn, NULL);
	req_end(r, toe);
}

/* The end of request R, however it ended: logged, uncounted, freed. */
static void
req_end(struct web_req *r, enum MHD_RequestTerminationCode toe)
{
	struct timespec t1;
	long long ms;

	/* Answered: the connection now waits for its next head. Only then:
	 * otherwise it is closing, and its entry may go any moment. */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		web_conn_idle(r->lst->conns, r->conn, web_now_ms());
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (long long)(t1.tv_sec - r->t0.tv_sec) * 1000 +
	     (t1.tv_nsec - r->t0.tv_nsec) / 1000000;
	/* Not the path as sent: the route it names (web_log_path). Tokens
	 * never travel in URLs, but a client may paste one into a URL by
	 * mistake, in any spelling; query strings are not logged either. */
	mica_log(MICA_LOG_INFO, "%s %s %s %d %lldms%s", r->client,
		 r->method[0] != '\0' ? web_log_method(r->method) : "-",
		 web_log_path(r->uri, r->path_len), r->status, ms, termination_note(toe));
	atomic_fetch_sub(&r->lst->inflight, 1);
	if (r->deferred == DEFER_DONE)   /* answered, never sent */
		web_reply_clear(&r->rep);
	free(r->body);
	free(r->uri);
	free(r->authority);
	free(r->accept);
	free(r);
}

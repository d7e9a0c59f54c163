/*
 * web/http.c - the libmicrohttpd side of a request: the per-request state
 * machine (URI callback -> first call -> body chunks -> final call ->
 * completion), the body cap, the one reply path and the one error-reply
 * path, the access log, and the table of failed authentications.
 */
#include "web/assets.h"
#include "web/web_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/log.h"

/* ------------------------------------------------------------- blobs -- */

struct web_blob *
web_blob_new(const void *data, size_t len)
{
	struct web_blob *b;

	if (len > SIZE_MAX - sizeof(*b) - 1)
		return NULL;
	if ((b = malloc(sizeof(*b) + len + 1)) == NULL)
		return NULL;
	atomic_init(&b->refs, 1);
	b->secret = 0;
	b->adopted = 0;
	b->len = len;
	b->data = b->inline_;
	if (data != NULL)
		memcpy(b->data, data, len);
	else
		memset(b->data, 0, len);
	b->data[len] = '\0';
	return b;
}

struct web_blob *
web_blob_adopt(void *data, size_t len)
{
	struct web_blob *b;

	if (data == NULL || (b = malloc(sizeof(*b))) == NULL) {
		free(data);
		return NULL;
	}
	atomic_init(&b->refs, 1);
	b->secret = 0;
	b->adopted = 1;
	b->len = len;
	b->data = data;
	return b;
}

struct web_blob *
web_blob_ref(struct web_blob *b)
{
	if (b != NULL)
		atomic_fetch_add(&b->refs, 1);
	return b;
}

void
web_blob_unref(struct web_blob *b)
{
	if (b == NULL || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	if (b->secret)
		explicit_bzero(b->data, b->len);
	if (b->adopted)
		free(b->data);
	free(b);
}

/* libmicrohttpd's free callback for a blob body. */
static void
blob_release(void *cls)
{
	web_blob_unref(cls);
}

/* ----------------------------------------------------------- replies -- */

void
web_reply_init(struct web_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 500;
	r->max_age = -1;
}

void
web_reply_clear(struct web_reply *r)
{
	web_blob_unref(r->blob);
	web_reply_init(r);
}

/* Enough JSON for humans reading curl output, and a trailing newline. */
#define JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER)

int
web_reply_json(struct web_reply *r, int status, json_t *obj, int secret,
	       struct mica_err *err)
{
	struct web_blob *b;
	size_t n;

	if (obj == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	n = json_dumpb(obj, NULL, 0, JSON_FLAGS);
	if (n == 0 || (b = web_blob_new(NULL, n + 1)) == NULL) {
		json_decref(obj);
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	}
	b->secret = secret;
	if (json_dumpb(obj, (char *)b->data, n, JSON_FLAGS) != n) {
		json_decref(obj);
		web_blob_unref(b);
		return mica_err_set(err, MICA_E_INTERNAL, "json_dump",
				    "cannot render the reply");
	}
	json_decref(obj);
	b->data[n] = '\n';
	web_blob_unref(r->blob);
	r->blob = b;
	r->pbody = NULL;
	r->plen = 0;
	r->status = status;
	r->ctype = "application/json";
	return 0;
}

/* Copy S into OUT keeping only printable ASCII (others become '?'). */
static void
ascii_copy(char *out, size_t outsz, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 1 < outsz; s++) {
		unsigned char c = (unsigned char)*s;

		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[o] = '\0';
}

/* An error code is snake_case: anything else becomes the kind's default. */
static int
code_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static const char *
default_message(mica_errkind kind)
{
	switch (kind) {
	case MICA_E_BADREQ:      return "malformed request";
	case MICA_E_UNAUTH:      return "missing or invalid token";
	case MICA_E_FORBIDDEN:   return "not allowed";
	case MICA_E_NOTFOUND:    return "not found";
	case MICA_E_CONFLICT:    return "the current state does not allow this";
	case MICA_E_TOOLARGE:    return "request too large";
	case MICA_E_UNSUPPORTED: return "unsupported media type";
	case MICA_E_POLICY:      return "refused by policy";
	case MICA_E_RATE:        return "too many attempts; try again later";
	case MICA_E_UNAVAIL:     return "the certificate store is unavailable; try again later";
	default:                 return "internal error";
	}
}

void
web_reply_error(struct web_reply *r, const struct mica_err *e)
{
	static const char fallback[] =
		"{\"error\": \"internal\", \"message\": \"internal error\"}\n";
	mica_errkind kind = e != NULL ? e->kind : MICA_E_INTERNAL;
	char code[48], msg[256];
	int status, close = r->close, retry = r->retry_after, rc = -1;
	json_t *obj;

	if (kind == MICA_E_NONE || kind == MICA_E_USAGE)
		kind = kind == MICA_E_USAGE ? MICA_E_BADREQ : MICA_E_INTERNAL;
	status = mica_err_http_status(kind);
	if (kind == MICA_E_INTERNAL) {
		/* The detail stays in the log, the client learns nothing. */
		if (e != NULL) {
			ascii_copy(code, sizeof(code), e->code);
			ascii_copy(msg, sizeof(msg), e->msg);
			mica_log(MICA_LOG_ERR, "internal error: %s: %s", code, msg);
		}
		snprintf(code, sizeof(code), "internal");
		snprintf(msg, sizeof(msg), "internal error");
	} else {
		snprintf(code, sizeof(code), "%s",
			 e != NULL && code_ok(e->code) ? e->code : mica_err_kind_code(kind));
		ascii_copy(msg, sizeof(msg), e != NULL ? e->msg : NULL);
		if (msg[0] == '\0')
			snprintf(msg, sizeof(msg), "%s", default_message(kind));
		if (kind == MICA_E_UNAVAIL)
			mica_log(MICA_LOG_WARN, "store unavailable: %s: %s", code, msg);
	}
	web_reply_clear(r);
	r->close = close;
	obj = json_object();
	if (obj != NULL &&
	    json_object_set_new(obj, "error", json_string(code)) == 0 &&
	    json_object_set_new(obj, "message", json_string(msg)) == 0) {
		rc = web_reply_json(r, status, obj, 0, NULL);   /* steals obj */
		obj = NULL;
	}
	json_decref(obj);
	if (rc != 0) {
		web_reply_clear(r);
		r->close = close;
		r->ctype = "application/json";
		r->pbody = fallback;
		r->plen = sizeof(fallback) - 1;
	}
	r->status = status;
	if (kind == MICA_E_UNAUTH)
		r->www_auth = 1;
	if (kind == MICA_E_RATE)
		r->retry_after = retry > 0 ? retry : WEB_RL_WINDOW;
	if (kind == MICA_E_UNAVAIL)
		r->retry_after = retry > 0 ? retry : 5;
}

int
web_reply_header(struct web_reply *rep, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (rep->nhdr >= WEB_EXTRA_HEADERS)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(rep->hdr[rep->nhdr].value, sizeof(rep->hdr[rep->nhdr].value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rep->hdr[rep->nhdr].value))
		return -1;
	rep->hdr[rep->nhdr++].name = name;
	return 0;
}

void
web_reply_fail(struct web_reply *r, mica_errkind kind, const char *code,
	       const char *msg)
{
	struct mica_err e;

	mica_err_set(&e, kind, code, "%s", msg != NULL ? msg : "");
	web_reply_error(r, &e);
}

/* ------------------------------------------------------ rate limiter -- */

static uint64_t rl_seed;

void
web_rl_init(struct web_ratelimit *rl)
{
	memset(rl->slot, 0, sizeof(rl->slot));
	pthread_mutex_init(&rl->lock, NULL);
	/* A secret seed, so nobody can pick addresses that collide. */
	if (getrandom(&rl_seed, sizeof(rl_seed), 0) != (ssize_t)sizeof(rl_seed))
		rl_seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
}

void
web_rl_destroy(struct web_ratelimit *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

static size_t
rl_hash(const unsigned char key[16])
{
	uint64_t h = 1469598103934665603ULL ^ rl_seed;

	for (int i = 0; i < 16; i++) {
		h ^= key[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 29;
	return (size_t)(h % WEB_RL_SLOTS);
}

/* Caller holds the lock. */
static struct web_rl_slot *
rl_find(struct web_ratelimit *rl, const unsigned char key[16])
{
	size_t h = rl_hash(key);

	for (size_t i = 0; i < WEB_RL_PROBE; i++) {
		struct web_rl_slot *s = &rl->slot[(h + i) % WEB_RL_SLOTS];

		if (s->start != 0 && memcmp(s->key, key, 16) == 0)
			return s;
	}
	return NULL;
}

int
web_rl_check(struct web_ratelimit *rl, const unsigned char key[16], int64_t now)
{
	struct web_rl_slot *s;
	int wait = 0;

	pthread_mutex_lock(&rl->lock);
	s = rl_find(rl, key);
	if (s != NULL && now - s->start < WEB_RL_WINDOW &&
	    s->fails >= WEB_RL_FAILS) {
		wait = (int)(WEB_RL_WINDOW - (now - s->start));
		if (wait < 1)
			wait = 1;
	}
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

void
web_rl_fail(struct web_ratelimit *rl, const unsigned char key[16], int64_t now)
{
	struct web_rl_slot *s;

	pthread_mutex_lock(&rl->lock);
	s = rl_find(rl, key);
	if (s == NULL) {
		/* A free or stale slot in the probe range, else the oldest. */
		size_t h = rl_hash(key);

		for (size_t i = 0; i < WEB_RL_PROBE; i++) {
			struct web_rl_slot *c = &rl->slot[(h + i) % WEB_RL_SLOTS];

			if (c->start == 0 || now - c->start >= WEB_RL_WINDOW) {
				s = c;
				break;
			}
			if (s == NULL || c->start < s->start)
				s = c;
		}
		memcpy(s->key, key, 16);
		s->start = 0;
	}
	if (s->start == 0 || now - s->start >= WEB_RL_WINDOW) {
		s->start = now > 0 ? now : 1;
		s->fails = 0;
	}
	if (s->fails < WEB_RL_FAILS * 100)
		s->fails++;
	pthread_mutex_unlock(&rl->lock);
}

/* ----------------------------------------------------- MHD callbacks -- */

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
	if ((r->uri = strdup(uri != NULL ? uri : "")) == NULL) {
		free(r);
		return NULL;
	}
	if ((q = strchr(r->uri, '?')) != NULL) {
		r->path_len = (size_t)(q - r->uri);
		r->query = q + 1;
	} else {
		r->path_len = strlen(r->uri);
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	web_client_describe(ci != NULL ? ci->client_addr : NULL, r->client,
			    sizeof(r->client), r->client_key, &r->loopback);
	atomic_fetch_add(&lst->inflight, 1);
	return r;
}

static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct web_req *r, struct web_reply *rep)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char buf[64];

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
	if (rep->ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->ctype);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	/* Every response, pages and JSON alike: nothing inline, nothing from
	 * another origin, never framed. */
	MHD_add_response_header(resp, "Content-Security-Policy", WEB_PAGES_CSP);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (rep->max_age < 0) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	} else {
		snprintf(buf, sizeof(buf), "public, max-age=%d", rep->max_age);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, buf);
	}
	if (rep->location[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, rep->location);
	if (rep->allow[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
	if (rep->retry_after > 0) {
		snprintf(buf, sizeof(buf), "%d", rep->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, buf);
	}
	if (rep->www_auth)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"mica\"");
	if (rep->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	for (size_t i = 0; i < rep->nhdr && i < WEB_EXTRA_HEADERS; i++)
		MHD_add_response_header(resp, rep->hdr[i].name, rep->hdr[i].value);
	r->status = rep->status;
	ret = MHD_queue_response(conn, (unsigned int)rep->status, resp);
	MHD_destroy_response(resp);
	return ret;
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
	web_reply_fail(&rep, kind, code, msg);
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
		const char *cl;
		int64_t clen;

		r->started = 1;
		if (method == NULL || strlen(method) >= sizeof(r->method))
			snprintf(r->method, sizeof(r->method), "-");
		else
			snprintf(r->method, sizeof(r->method), "%s", method);
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			if (web_parse_int(cl, 0, INT64_MAX, &clen) != 0)
				return refuse_early(conn, r, MICA_E_BADREQ, "bad_request",
						    "invalid Content-Length");
			if (clen > WEB_BODY_MAX) {
				r->too_large = 1;
				return refuse_early(conn, r, MICA_E_TOOLARGE, "body_too_large",
						    "request body larger than 64 KiB");
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;

		r->body_seen += n;
		*upload_data_size = 0;
		if (!r->too_large && r->body_len + n > WEB_BODY_MAX) {
			/* A chunked body grew past the cap: stop keeping it. */
			r->too_large = 1;
			free(r->body);
			r->body = NULL;
			r->body_len = r->body_cap = 0;
		}
		if (r->too_large)
			return r->body_seen > WEB_DISCARD_MAX ? MHD_NO : MHD_YES;
		if (body_append(r, upload_data, n) != 0)
			return MHD_NO;
		return MHD_YES;
	}
	web_reply_init(&rep);
	if (r->too_large) {
		rep.close = 1;
		web_reply_fail(&rep, MICA_E_TOOLARGE, "body_too_large",
			       "request body larger than 64 KiB");
	} else {
		const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							       MHD_HTTP_HEADER_HOST);

		/* ACME builds its URLs from it (web/acme.c checks it). */
		if (host != NULL && strlen(host) < sizeof(r->host))
			snprintf(r->host, sizeof(r->host), "%s", host);
		web_dispatch(lst->srv, lst, r,
			     MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_AUTHORIZATION),
			     MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_CONTENT_TYPE),
			     &rep);
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
	struct timespec t1;
	long long ms;
	size_t plen;

	if (r == NULL)
		return;
	*req_cls = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (long long)(t1.tv_sec - r->t0.tv_sec) * 1000 +
	     (t1.tv_nsec - r->t0.tv_nsec) / 1000000;
	/* The path only: query strings are not logged (they may name what
	 * a client looked for), tokens never travel in URLs. */
	plen = r->path_len > 200 ? 200 : r->path_len;
	{
		/* A client may still paste a token into a URL by mistake:
		 * blank out anything from "mica_" on, so no secret reaches the
		 * log. */
		char path[201];
		char *tok;

		memcpy(path, r->uri, plen);
		path[plen] = '\0';
		if ((tok = strstr(path, "mica_")) != NULL)
			snprintf(tok, sizeof(path) - (size_t)(tok - path), "[redacted]");
		mica_log(MICA_LOG_INFO, "%s %s %s %d %lldms%s", r->client,
			 r->method[0] != '\0' ? r->method : "-", path,
			 r->status, ms, termination_note(toe));
	}
	atomic_fetch_sub(&r->lst->inflight, 1);
	free(r->body);
	free(r->uri);
	free(r);
}

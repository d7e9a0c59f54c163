/*
 * web/reply.c - replies (web/reply.h): JSON bodies and the one error-reply
 * path.
 */
#include "web/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "util/log.h"
#include "util/shown.h"
#include "web/ratelimit.h"

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

void
web_reply_etag_body(struct web_reply *r)
{
	const unsigned char *b = r->blob != NULL ? r->blob->data : r->pbody;
	size_t n = r->blob != NULL ? r->blob->len : r->plen;
	unsigned char h[32];
	char *o = r->etag;

	r->etag[0] = '\0';
	if (b == NULL || mbedtls_sha256(b, n, h, 0) != 0)
		return;
	_Static_assert(sizeof(r->etag) >= 2 * 16 + 3, "room for the ETag");
	*o++ = '"';
	for (int i = 0; i < 16; i++)
		o += sprintf(o, "%02x", h[i]);
	*o++ = '"';
	*o = '\0';
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

int
web_reply_header(struct web_reply *r, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->nhdr >= WEB_EXTRA_HEADERS)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(r->hdr[r->nhdr].value, sizeof(r->hdr[r->nhdr].value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(r->hdr[r->nhdr].value))
		return -1;
	r->hdr[r->nhdr++].name = name;
	return 0;
}

/* Copy S into OUT keeping the characters a log line shows as they are
 * (util/shown.h: printable ASCII, and printable UTF-8 such as the "ü" of
 * a name the client gave, so "münchen" and "mänchen" stay two names);
 * each byte of a control, a bidirectional or invisible character, or of
 * no character becomes '?'. A character is copied whole or not at all,
 * so OUT is well-formed UTF-8 (which json_string requires). */
static void
text_copy(char *out, size_t outsz, const char *s)
{
	size_t o = 0, len = s != NULL ? strlen(s) : 0;

	for (size_t i = 0; i < len && o + 1 < outsz;) {
		size_t n = mica_shown_len((const unsigned char *)s + i, len - i);

		if (n == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + n >= outsz)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
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

/* web_reply_error, with the members of EXTRA (NULL: none; not "error"
 * or "message", nor for an internal error) added to the body. */
static void
reply_error(struct web_reply *r, const struct mica_err *e, json_t *extra)
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
			text_copy(code, sizeof(code), e->code);
			text_copy(msg, sizeof(msg), e->msg);
			mica_log(MICA_LOG_ERR, "internal error: %s: %s", code, msg);
		}
		snprintf(code, sizeof(code), "internal");
		snprintf(msg, sizeof(msg), "internal error");
	} else {
		snprintf(code, sizeof(code), "%s",
			 e != NULL && code_ok(e->code) ? e->code : mica_err_kind_code(kind));
		text_copy(msg, sizeof(msg), e != NULL ? e->msg : NULL);
		if (msg[0] == '\0')
			snprintf(msg, sizeof(msg), "%s", default_message(kind));
		if (kind == MICA_E_UNAVAIL)
			mica_log(MICA_LOG_WARN, "unavailable (503): %s: %s", code, msg);
	}
	web_reply_clear(r);
	r->close = close;
	obj = json_object();
	if (obj != NULL &&
	    json_object_set_new(obj, "error", json_string(code)) == 0 &&
	    json_object_set_new(obj, "message", json_string(msg)) == 0 &&
	    (extra == NULL || kind == MICA_E_INTERNAL ||
	     json_object_update_missing(obj, extra) == 0)) {
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
	/* RFC 6750 3.1: a token that was sent and refused is named
	 * invalid_token; a request without one gets the challenge alone. */
	if (kind == MICA_E_UNAUTH)
		r->www_auth = strcmp(e->code, "bad_token") == 0 ? 2 : 1;
	if (kind == MICA_E_RATE)
		r->retry_after = retry > 0 ? retry : WEB_RL_WINDOW;
	if (kind == MICA_E_UNAVAIL)
		r->retry_after = retry > 0 ? retry : 5;
}

void
web_reply_error(struct web_reply *r, const struct mica_err *e)
{
	reply_error(r, e, NULL);
}

void
web_reply_error_with(struct web_reply *r, const struct mica_err *e,
		     json_t *extra)
{
	reply_error(r, e, extra);
}

void
web_reply_not_allowed(struct web_reply *r, const char *allow)
{
	r->status = 405;
	snprintf(r->allow, sizeof(r->allow), "%s", allow);
}

void
web_reply_fail(struct web_reply *r, mica_errkind kind, const char *code,
	       const char *msg)
{
	struct mica_err e;

	mica_err_set(&e, kind, code, "%s", msg != NULL ? msg : "");
	web_reply_error(r, &e);
}

/*
 * web/parse.c - parsing what clients send: request paths, query strings,
 * Content-Type and Authorization headers, ids, peer addresses.
 *
 * All of it is hostile input. Every parser here is bounded by its output
 * buffer, refuses rather than repairs (a bad escape is an error, not a
 * literal '%'), and never echoes more of the input than a parameter name
 * into a message.
 */
#include "web/parse.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <mbedtls/base64.h>

#include "ca/ca.h"
#include "util/decimal.h"
#include "util/hex.h"

#define QUERY_MAX 2048

int
web_pct_decode(const char *in, size_t len, int flags, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '%') {
			int h, l;

			if (len - i < 3)
				return -1;
			h = mica_hex_val((unsigned char)in[i + 1]);
			l = mica_hex_val((unsigned char)in[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (unsigned char)(h * 16 + l);
			i += 2;
		} else if (c == '+' && (flags & WEB_PCT_PLUS)) {
			c = ' ';
		}
		if ((c == '\r' || c == '\n') && (flags & WEB_PCT_DROP_NL))
			continue;
		/* A decoded NUL would cut the string short of what was
		 * checked; control characters have no business in a URL. */
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

int
web_path_parse(const char *raw, size_t len, char *out, size_t outsz,
	       struct mica_err *err)
{
	char seg[WEB_PATH_MAX];
	size_t pos = 1, o = 0;
	int n;

	if (outsz < 2 || len == 0 || raw[0] != '/')
		return mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "the request path must start with '/'");
	/* A fragment is the client's own (RFC 3986 3.5) and never part of
	 * a request target (RFC 9112 3.2); '#' there is "%23". */
	if (memchr(raw, '#', len) != NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_path",
				    "'#' in the request path: a fragment is not "
				    "sent (write %%23 for the character)");
	out[o++] = '/';
	for (;;) {
		const char *slash = memchr(raw + pos, '/', len - pos);
		size_t end = slash != NULL ? (size_t)(slash - raw) : len;

		if (end - pos >= sizeof(seg))
			return mica_err_set(err, MICA_E_BADREQ, "bad_path",
					    "request path too long");
		n = web_pct_decode(raw + pos, end - pos, 0, seg, sizeof(seg));
		if (n < 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_path",
					    "malformed or forbidden escape in the request path");
		/* An encoded '/' or '\' would let one segment act as two
		 * after decoding; refuse it instead of guessing. */
		if (memchr(seg, '/', (size_t)n) != NULL ||
		    memchr(seg, '\\', (size_t)n) != NULL)
			return mica_err_set(err, MICA_E_BADREQ, "bad_path",
					    "encoded slash in the request path");
		/* RFC 3986 5.2.4 would resolve dot segments; nothing here
		 * needs them, so they are refused, not resolved. */
		if (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_path",
					    "dot segments are not allowed in the request path");
		if (o + (size_t)n + 2 > outsz)
			return mica_err_set(err, MICA_E_BADREQ, "bad_path",
					    "request path too long");
		memcpy(out + o, seg, (size_t)n);
		o += (size_t)n;
		if (slash == NULL)
			break;
		out[o++] = '/';
		pos = end + 1;
	}
	out[o] = '\0';
	return 0;
}

void
web_query_free(struct web_query *q)
{
	if (q == NULL)
		return;
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

int
web_query_parse(const char *qs, struct web_query *q, struct mica_err *err)
{
	return web_query_parse_max(qs, QUERY_MAX, 0, q, err);
}

int
web_query_parse_max(const char *qs, size_t max, int flags,
		    struct web_query *q, struct mica_err *err)
{
	size_t len, o = 0, cap;
	const char *p, *end;

	memset(q, 0, sizeof(*q));
	if (qs == NULL || *qs == '\0')
		return 0;
	len = strnlen(qs, max + 1);
	if (len > max)
		return mica_err_set(err, MICA_E_BADREQ, "bad_query",
				    "query string too long");
	/* Decoding never grows; each pair adds two NULs. */
	cap = len + 2 * WEB_QUERY_KEYS + 2;
	if ((q->buf = malloc(cap)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	p = qs;
	end = qs + len;
	while (p <= end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp != NULL ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		const char *ke = eq != NULL ? eq : pe;
		int n;

		if (q->n == WEB_QUERY_KEYS)
			return mica_err_set(err, MICA_E_BADREQ, "bad_query",
					    "too many query parameters");
		if (ke == p)
			return mica_err_set(err, MICA_E_BADREQ, "bad_query",
					    "empty query parameter name");
		n = web_pct_decode(p, (size_t)(ke - p), WEB_PCT_PLUS, q->buf + o,
				   cap - o);
		if (n <= 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_query",
					    "malformed query parameter");
		q->key[q->n] = q->buf + o;
		o += (size_t)n + 1;
		if (eq != NULL) {
			n = web_pct_decode(eq + 1, (size_t)(pe - eq - 1),
					   WEB_PCT_PLUS | flags, q->buf + o,
					   cap - o);
			if (n < 0)
				return mica_err_set(err, MICA_E_BADREQ, "bad_query",
						    "malformed query parameter value");
		} else {
			if (o >= cap)
				return mica_err_set(err, MICA_E_BADREQ, "bad_query",
						    "malformed query string");
			q->buf[o] = '\0';
			n = 0;
		}
		q->val[q->n] = q->buf + o;
		o += (size_t)n + 1;
		for (size_t i = 0; i < q->n; i++)
			if (strcmp(q->key[i], q->key[q->n]) == 0)
				return mica_err_set(err, MICA_E_BADREQ, "bad_query",
						    "query parameter given twice");
		q->n++;
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return 0;
}

/* Is WORD one of the space-separated words of LIST? */
static int
word_in(const char *word, const char *list)
{
	size_t wl = strlen(word);

	if (list == NULL || wl == 0)
		return 0;
	for (const char *p = list; *p != '\0';) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n == wl && strncmp(p, word, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/* A parameter name safe to quote in a message: short printable ASCII. */
static int
quotable(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    *s == '"' || *s == '\\' || n >= 32)
			return 0;
	return 1;
}

int
web_query_allow(const struct web_query *q, const char *allowed,
		struct mica_err *err)
{
	for (size_t i = 0; i < q->n; i++)
		if (!word_in(q->key[i], allowed)) {
			if (quotable(q->key[i]))
				return mica_err_set(err, MICA_E_BADREQ,
						    "unknown_parameter",
						    "unknown query parameter \"%s\"",
						    q->key[i]);
			return mica_err_set(err, MICA_E_BADREQ, "unknown_parameter",
					    "unknown query parameter");
		}
	return 0;
}

const char *
web_query_get(const struct web_query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->key[i], key) == 0)
			return q->val[i];
	return NULL;
}

int
web_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char one[1 + 19 + 1];   /* '-', 19 digits, NUL */
	const char *d;
	int neg;

	/* util/decimal.h's number once its leading zeros are gone: the
	 * digits and the range are checked in one place. */
	if (s == NULL)
		return -1;
	neg = *s == '-';
	d = s + neg;
	if (*d < '0' || *d > '9')
		return -1;
	/* Leading zeros, before another digit only ("00-5" is no number). */
	while (d[0] == '0' && d[1] >= '0' && d[1] <= '9')
		d++;
	if (strlen(d) > 19)
		return -1;
	snprintf(one, sizeof(one), "%s%s", neg && strcmp(d, "0") != 0 ? "-" : "", d);
	return mica_decimal(one, min, max, out);
}

int
web_query_int(const struct web_query *q, const char *key, int64_t min,
	      int64_t max, int64_t def, int64_t *out, struct mica_err *err)
{
	const char *v = web_query_get(q, key);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	assert(min >= 0);
	/* One spelling per number (util/decimal.h): "030" is not 30 here,
	 * as it is not in JSON, and "+30" or " 30" is a mistake to say. */
	if (mica_decimal(v, min, max, out) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_parameter",
				    "query parameter \"%s\" must be a whole number "
				    "from %lld to %lld, in digits without a sign or a "
				    "leading zero", key, (long long)min, (long long)max);
	return 0;
}

/* RFC 9110 5.6.2 tchar */
static int
is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int
web_media_type(const char *header, char *out, size_t outsz)
{
	size_t o = 0;
	int slash = 0;
	const char *p = header;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (p == NULL)
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	for (; *p != '\0' && *p != ';' && *p != ' ' && *p != '\t'; p++) {
		int c = (unsigned char)*p;

		if (c == '/') {
			if (slash++ || o == 0)
				return -1;
		} else if (!is_tchar(c)) {
			return -1;
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[o] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	/* type "/" subtype, then nothing or parameters */
	if (o == 0) {
		if (*p != '\0')
			return -1;
		return 0;
	}
	if (!slash || out[o - 1] == '/' || (*p != '\0' && *p != ';')) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* Skip OWS (RFC 9110 5.6.3) from P. */
static const char *
ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token from *P (moved past it): its length, 0 if none. */
static size_t
token_at(const char **p)
{
	const char *s = *p;

	while (is_tchar((unsigned char)**p))
		(*p)++;
	return (size_t)(*p - s);
}

/* RFC 9110 12.4.2 qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 * from *P (moved past it) in thousandths; -1 if it is none. ".2" is read
 * as 0.2: Java's HttpURLConnection ends its default Accept so ("*; q=.2"). */
static int
qvalue_at(const char **p)
{
	const char *s = *p;
	int q = 0, scale = 100;

	if (*s != '0' && *s != '1' && !(*s == '.' && s[1] >= '0' && s[1] <= '9'))
		return -1;
	if (*s != '.')
		q = (*s++ - '0') * 1000;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9' && scale > 0; s++, scale /= 10)
			q += (*s - '0') * scale;
	if (q > 1000 || (*s >= '0' && *s <= '9'))
		return -1;
	*p = s;
	return q;
}

/* One element of an Accept list at *P: media-range (type "/" subtype, or
 * "*" alone as Java's default Accept sends it) and parameters, its q in
 * *Q (1000 unless said). 0 and *P past it, or -1 and *P where reading
 * stopped. The type and subtype into *TYPE, *TLEN, *SUB, *SLEN. */
static int
accept_elem(const char **p, const char **type, size_t *tlen, const char **sub,
	    size_t *slen, int *q)
{
	const char *s = *p;
	int rc = -1;

	*q = 1000;
	*type = s;
	if ((*tlen = token_at(&s)) == 0)
		goto out;
	if (*s == '/') {
		s++;
		*sub = s;
		if ((*slen = token_at(&s)) == 0)
			goto out;
	} else if (*tlen == 1 && **type == '*') {
		*sub = *type;
		*slen = 1;
	} else {
		goto out;
	}
	for (;;) {
		const char *name;
		size_t nlen;

		s = ows(s);
		if (*s != ';')
			break;
		s = ows(s + 1);
		name = s;
		if ((nlen = token_at(&s)) == 0 || *s != '=')
			goto out;    /* never past the end, nor a ',' */
		s++;
		if (nlen == 1 && (*name == 'q' || *name == 'Q')) {
			if ((*q = qvalue_at(&s)) < 0)
				goto out;
		} else if (*s == '"') {
			/* RFC 9110 5.6.4 quoted-string: the value is not
			 * compared (media type parameters are not). */
			for (s++; *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				else if (*s == '\0')
					goto out;
			}
			s++;
		} else if (token_at(&s) == 0) {
			goto out;
		}
	}
	rc = *s == ',' || *s == '\0' ? 0 : -1;
out:
	*p = s;
	return rc;
}

/* How specifically the range TYPE/SUB names media type MT: 3 exactly, 2
 * by its type, 1 for any, 0 not at all. Case does not count (RFC 9110
 * 8.3.1). */
static int
range_match(const char *type, size_t tlen, const char *sub, size_t slen,
	    const char *mt)
{
	const char *slash = strchr(mt, '/');
	size_t mtl = (size_t)(slash - mt);

	if (tlen == 1 && *type == '*')
		return slen == 1 && *sub == '*' ? 1 : 0;
	if (tlen != mtl || strncasecmp(type, mt, tlen) != 0)
		return 0;
	if (slen == 1 && *sub == '*')
		return 2;
	return slen == strlen(slash + 1) && strncasecmp(sub, slash + 1, slen) == 0 ? 3 : 0;
}

int
web_accept_pick(const char *accept, const char *const *types, size_t n)
{
	int spec[WEB_ACCEPT_TYPES_MAX], q[WEB_ACCEPT_TYPES_MAX], best = -1, read = 0;
	const char *p = accept;

	assert(n > 0 && n <= WEB_ACCEPT_TYPES_MAX);
	if (accept == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		assert(strchr(types[i], '/') != NULL);
		spec[i] = 0;
		q[i] = 0;
	}
	while (*p != '\0') {
		const char *type, *sub;
		size_t tlen, slen;
		int eq;

		p = ows(p);
		if (*p == ',') {               /* empty elements (5.6.1) */
			p++;
			continue;
		}
		if (*p == '\0')
			break;
		if (accept_elem(&p, &type, &tlen, &sub, &slen, &eq) != 0) {
			/* An element we cannot read counts for nothing: on to
			 * the next (a comma in a quoted string ends it too
			 * early, and is read as the start of another). */
			while (*p != '\0' && *p != ',')
				p++;
			continue;
		}
		read++;
		/* The most specific range that names a type gives its q
		 * (12.5.1); of equally specific ones, the highest. */
		for (size_t i = 0; i < n; i++) {
			int m = range_match(type, tlen, sub, slen, types[i]);

			if (m > spec[i] || (m > 0 && m == spec[i] && eq > q[i])) {
				spec[i] = m;
				q[i] = eq;
			}
		}
	}
	/* Nothing readable: as if there were no Accept (12.5.1 lets a server
	 * disregard the field). */
	if (read == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (q[i] > 0 && (best < 0 || q[i] > q[best]))
			best = (int)i;
	/* None acceptable, and no range names the default (text/html,
	 * application/json): the field is disregarded (12.5.1), the default
	 * sent. Only a client that refuses the default itself (q=0 on a
	 * range naming it) and takes none of the others gets a 406. */
	if (best < 0 && spec[0] == 0)
		return 0;
	return best;
}

int
web_bearer(const char *header, char *tok, size_t toksz)
{
	const char *p = header;
	size_t n = 0, pad = 0;

	if (p == NULL || toksz == 0 || strncasecmp(p, "bearer", 6) != 0)
		return -1;
	p += 6;
	if (*p != ' ')
		return -1;
	while (*p == ' ')
		p++;
	/* RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
	 * "~" / "+" / "/" ) *"=" */
	for (; *p != '\0' && *p != ' '; p++) {
		int c = (unsigned char)*p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("-._~+/=", c) != NULL))
			goto bad;
		/* '=' is padding: at the end only, after one other. */
		if (c == '=')
			pad++;
		else if (pad > 0)
			goto bad;
		if (n + 1 >= toksz)
			goto bad;
		tok[n++] = (char)c;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0' || n == pad)
		goto bad;
	tok[n] = '\0';
	return 0;
bad:
	explicit_bzero(tok, toksz);
	return -1;
}

int
web_field_name_ok(const char *name)
{
	if (*name == '\0')
		return 0;
	for (; *name != '\0'; name++)
		if (!is_tchar((unsigned char)*name))
			return 0;
	return 1;
}

int
web_field_value_ok(const char *value)
{
	if (value == NULL)
		return 1;
	for (const unsigned char *v = (const unsigned char *)value; *v != '\0'; v++)
		if ((*v < ' ' && *v != '\t') || *v == 0x7f)
			return 0;
	return 1;
}

size_t
web_value_len(const char *v)
{
	size_t n = strlen(v);

	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n;
}

int
web_host_ok(const char *h)
{
	return web_host_ok_n(h, strlen(h));
}

int
web_host_ok_n(const char *h, size_t n)
{
	const char *p = h, *e = h + n;

	if (p < e && *p == '[') {
		/* An IPv6 literal: hex digits, colons, dots (an embedded
		 * IPv4 address); parsed no further. */
		for (p++; p < e && *p != ']'; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return 0;
		if (p == e || *p++ != ']' || p - h < 4)
			return 0;
	} else {
		/* reg-name or IPv4address: unreserved, pct-encoded and
		 * sub-delims (RFC 3986 3.2.2). */
		for (; p < e && *p != ':'; p++)
			if (*p == '\0' || (!isalnum((unsigned char)*p) &&
			    strchr("-._~%!$&'()*+,;=", *p) == NULL))
				return 0;
	}
	/* A port a client can have connected to: 1..65535 (RFC 3986 lets
	 * it be empty or any digits; a URL built on "h:" or "h:99999" -
	 * ACME's, a redirect's - would reach nothing). */
	if (p < e && *p == ':') {
		long v = 0;
		size_t nd = 0;

		for (p++; p < e; p++, nd++) {
			if (!isdigit((unsigned char)*p) || nd == 5)
				return 0;
			v = v * 10 + (*p - '0');
		}
		if (v < 1 || v > 65535)
			return 0;
	}
	return p == e;
}

/* The length of the host part of Host value H (without ":port"). */
static size_t
host_len(const char *h)
{
	const char *close;

	if (*h == '[')
		return (close = strchr(h, ']')) != NULL ? (size_t)(close - h) + 1 : 0;
	return strcspn(h, ":");
}

int
web_host_loopback(const char *host)
{
	struct in_addr a4;
	char buf[16];
	size_t n;

	if (host == NULL || !web_host_ok(host))
		return 0;
	n = host_len(host);
	if ((n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(host, "[::1]", 5) == 0))
		return 1;
	/* 127.0.0.0/8 in dotted-decimal (what a browser puts in Host). */
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, host, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, &a4) == 1 &&
	       (ntohl(a4.s_addr) >> 24) == 127;
}

int
web_origin_foreign(const char *origin, const char *host)
{
	const char *o;
	size_t on, hn;

	if (origin == NULL)
		return 0;
	origin += strspn(origin, " \t");
	if (host == NULL || !web_host_ok(host))
		return 1;
	if ((o = strstr(origin, "://")) == NULL)
		return 1;                 /* "null", or not an origin */
	o += 3;
	if (!web_host_ok(o))
		return 1;
	on = host_len(o);
	hn = host_len(host);
	return on == 0 || on != hn || strncasecmp(o, host, on) != 0;
}

/* After an absolute-form target's scheme ("http://", "https://"), or NULL. */
static const char *
after_scheme(const char *uri)
{
	if (strncasecmp(uri, "http://", 7) == 0)
		return uri + 7;
	if (strncasecmp(uri, "https://", 8) == 0)
		return uri + 8;
	return NULL;
}

char *
web_target_authority(const char *uri)
{
	const char *p = after_scheme(uri);

	return p != NULL ? strndup(p, strcspn(p, "/?#")) : NULL;
}

int
web_target_path_empty(const char *uri)
{
	const char *p = after_scheme(uri);

	return p != NULL && p[strcspn(p, "/?#")] != '/';
}

char *
web_origin_form(const char *uri)
{
	const char *p;
	char *out;

	if ((p = after_scheme(uri)) == NULL)
		return NULL;
	p += strcspn(p, "/?#");
	if (*p == '/')
		return strdup(p);
	if ((out = malloc(strlen(p) + 2)) == NULL)
		return NULL;
	out[0] = '/';
	strcpy(out + 1, p);
	return out;
}

/* Does the If-None-Match list INM name ETAG (weak comparison, RFC 9110
 * 8.8.3.2), or is it "*"? */
static int
etag_listed(const char *inm, const char *etag)
{
	const char *p = inm, *e = etag;
	size_t el;

	if (strncmp(e, "W/", 2) == 0)
		e += 2;
	el = strlen(e);
	for (;;) {
		const char *start, *q;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		if (*p == '*')
			return 1;
		start = p;
		if (strncmp(p, "W/", 2) == 0)
			start = p += 2;
		if (*p != '"')
			return 0;   /* not an entity-tag: match nothing */
		if ((q = strchr(p + 1, '"')) == NULL)
			return 0;
		if ((size_t)(q + 1 - start) == el && memcmp(start, e, el) == 0)
			return 1;
		p = q + 1;
	}
}

int
web_not_modified(const char *method, const char *inm, const char *etag)
{
	if (method == NULL ||
	    (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
		return 0;
	/* If-None-Match decides (13.2.2 step 3). If-Modified-Since is not
	 * trusted: Last-Modified counts whole seconds, and a CRL or OCSP
	 * response can change within one (a revocation right after a
	 * publication); a cache told 304 would keep the old one, that says
	 * "good", as long as no later one came. The ETag tells them apart. */
	return inm != NULL && etag != NULL && etag[0] != '\0' &&
	       etag_listed(inm, etag);
}

int
web_http11(const char *version)
{
	/* libmicrohttpd passes only "HTTP/d.d" (its other versions get its
	 * own 400 or 505). */
	return version != NULL && strncmp(version, "HTTP/1.", 7) == 0 &&
	       version[7] >= '1' && version[7] <= '9' && version[8] == '\0';
}

int
web_framing_check(const struct web_framing *f, struct mica_err *err)
{
	const char *p;
	size_t n;

	if (f->n_bad_name > 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_header",
				    "a header field name is not a token (white space "
				    "before the colon?)");
	if (f->n_auth > 1)
		return mica_err_set(err, MICA_E_BADREQ, "bad_header",
				    "more than one Authorization header");
	if (f->n_ctype > 1)
		return mica_err_set(err, MICA_E_BADREQ, "bad_header",
				    "more than one Content-Type header");
	/* The cross-site check (web/dispatch.c) reads the first line of
	 * each; a proxy may read the last. */
	if (f->n_origin > 1 || f->n_fetch_site > 1)
		return mica_err_set(err, MICA_E_BADREQ, "bad_header",
				    "more than one %s header",
				    f->n_origin > 1 ? "Origin" : "Sec-Fetch-Site");
	if (f->n_bad_value > 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_header",
				    "a header field value has a control character "
				    "in it");
	if (f->n_framing_like > 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_header",
				    "a header field name begins like Content-Length "
				    "or Transfer-Encoding (a line folded after it?)");
	if (f->n_hidden > 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_header",
				    "a header field line goes on after its value: "
				    "a NUL octet in the value, or a line folded "
				    "into it");

	if (f->target_hidden)
		return mica_err_set(err, MICA_E_BADREQ, "bad_request_target",
				    "the request line has a NUL octet in it");
	/* RFC 9110 9.1, RFC 9112 3: a method is a token; libmicrohttpd
	 * takes any octets up to the first blank ("G@T", a control
	 * character, UTF-8), which a proxy may read otherwise. */
	if (f->method != NULL) {
		const unsigned char *m = (const unsigned char *)f->method;

		if (*m == '\0')
			return mica_err_set(err, MICA_E_BADREQ, "bad_method",
					    "the method is not a token");
		for (; *m != '\0'; m++)
			if (!is_tchar(*m))
				return mica_err_set(err, MICA_E_BADREQ, "bad_method",
						    "the method is not a token");
	}
	if (f->target != NULL)
		for (const unsigned char *t = (const unsigned char *)f->target;
		     *t != '\0'; t++)
			if (*t <= ' ' || *t == 0x7f)
				return mica_err_set(err, MICA_E_BADREQ,
						    "bad_request_target",
						    "the request target has a blank "
						    "or a control character in it "
						    "(percent-encode it)");
	if (f->n_host > 1)
		return mica_err_set(err, MICA_E_BADREQ, "bad_framing",
				    "more than one Host header");
	if (f->n_host == 0 && f->http11)
		return mica_err_set(err, MICA_E_BADREQ, "bad_header",
				    "an HTTP/1.1 request needs a Host header");
	/* Without the whitespace after it, which is not part of the value
	 * (the caller uses it so: web_value_len). */
	if (f->n_host == 1 && !web_host_ok_n(f->host != NULL ? f->host : "",
					     web_value_len(f->host != NULL ? f->host : "")))
		return mica_err_set(err, MICA_E_BADREQ, "bad_header",
				    "the Host header is not a host name or address "
				    "with an optional port from 1 to 65535");
	if (f->n_length > 1)
		return mica_err_set(err, MICA_E_BADREQ, "bad_framing",
				    "more than one Content-Length header");
	if (f->n_te > 1)
		return mica_err_set(err, MICA_E_BADREQ, "bad_framing",
				    "more than one Transfer-Encoding header");
	if (f->n_te > 0 && !f->http11)
		return mica_err_set(err, MICA_E_BADREQ, "bad_framing",
				    "Transfer-Encoding in an HTTP/1.0 request");
	if (f->n_te > 0 && f->n_length > 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_framing",
				    "both Content-Length and Transfer-Encoding");
	if (f->n_te > 0) {
		/* libmicrohttpd drops the blanks before a value, not those
		 * after it: "chunked " is refused, as it must be, since
		 * libmicrohttpd would not decode it as chunked and would
		 * take the chunks for the next request. RFC 9110 5.5 lets
		 * a server refuse a request it cannot frame safely. */
		p = f->te != NULL ? f->te : "";
		if (strcasecmp(p, "chunked") != 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_framing",
					    "the only transfer coding accepted is chunked");
	}
	if (f->n_length > 0) {
		p = f->length != NULL ? f->length : "";
		n = strlen(p);
		if (n == 0 || n > 18 || strspn(p, "0123456789") != n)
			return mica_err_set(err, MICA_E_BADREQ, "bad_framing",
					    "invalid Content-Length");
	}
	return 0;
}

int
web_id_valid(const char *id)
{
	size_t n = id != NULL ? strnlen(id, CA_ID_MAX) : 0;

	if (n == 0 || n >= CA_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

const char *
web_time_str(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	buf[0] = '\0';
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "1970-01-01T00:00:00Z");
	return buf;
}

int
web_addr16(const struct sockaddr *sa, unsigned char out[16])
{
	memset(out, 0, 16);
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		out[10] = out[11] = 0xff;
		memcpy(out + 12, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		memcpy(out, s6->sin6_addr.s6_addr, 16);
		return 0;
	}
	return -1;
}

void
web_client_describe16(const unsigned char a[16], char *text, size_t textsz,
		      unsigned char key[16], int *loopback)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char lo6[16] = { [15] = 1 };

	memset(key, 0, 16);
	if (memcmp(a, v4mapped, 12) == 0) {
		/* A dual-stack socket's IPv4 client is an IPv4 client. */
		if (inet_ntop(AF_INET, a + 12, text, (socklen_t)textsz) == NULL)
			snprintf(text, textsz, "unknown");
		memcpy(key, a, 16);
		*loopback = a[12] == 127;
		return;
	}
	if (inet_ntop(AF_INET6, a, text, (socklen_t)textsz) == NULL)
		snprintf(text, textsz, "unknown");
	/* One host usually owns a whole /64. */
	memcpy(key, a, 8);
	*loopback = memcmp(a, lo6, 16) == 0;
}

void
web_client_describe(const struct sockaddr *sa, char *text, size_t textsz,
		    unsigned char key[16], int *loopback)
{
	unsigned char a[16];

	if (web_addr16(sa, a) != 0) {
		memset(key, 0, 16);
		*loopback = 0;
		snprintf(text, textsz, "unknown");
		return;
	}
	web_client_describe16(a, text, textsz, key, loopback);
}

static int
b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int
web_b64_decode(char *b64, size_t n, unsigned char *out, size_t size,
	       size_t *out_len)
{
	size_t pad = 0, data;

	*out_len = 0;
	for (size_t i = 0; i < n; i++) {
		/* A space can only be a '+' that something between the
		 * client and here decoded as a form would (a client that
		 * sent '+' raw, a proxy that turned it into " " and then
		 * %20): taking it back is unambiguous, and what the DER
		 * reader gets is judged as strictly as ever. Boulder's and
		 * CFSSL's responders do the same. */
		if (b64[i] == ' ')
			b64[i] = '+';
		if (b64[i] == '=')
			pad++;
		else if (pad > 0 || !b64_char((unsigned char)b64[i]))
			return -1;   /* '=' inside, or not base64 at all */
	}
	data = n - pad;
	switch (data % 4) {
	case 0:
		if (pad != 0)
			return -1;
		break;
	case 2:
		if (pad == 0) {
			b64[n++] = '=';
			b64[n++] = '=';
		} else if (pad != 2) {
			return -1;
		}
		break;
	case 3:
		if (pad == 0)
			b64[n++] = '=';
		else if (pad != 1)
			return -1;
		break;
	default:
		return -1;
	}
	if (mbedtls_base64_decode(out, size, out_len, (const unsigned char *)b64,
				  n) != 0 || *out_len == 0) {
		*out_len = 0;
		return -1;
	}
	return 0;
}

/*
 * ca/acme_http01.c - the http-01 challenge (RFC 8555 8.3): fetch
 * http://NAME/.well-known/acme-challenge/TOKEN and compare the body with
 * the key authorization.
 *
 * A small HTTP/1.1 client, for one GET with "Connection: close": the
 * response is read whole (at most RESP_MAX octets) before its head is
 * parsed, so nothing here waits on the server's framing. Redirects are
 * followed at most MAX_REDIRECTS times, to http or https only, on the
 * standard ports or the configured ones; every hop connects through
 * ca_acme_connect, so its address is checked like the first.
 */
#include "ca/acme.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ca/acme_int.h"
#include "util/shown.h"
#include "util/hex.h"

#define RESP_MAX       16384
#define MAX_REDIRECTS  10
#define LOC_MAX        1024

struct target {
	int https;
	char host[256];       /* a name or an IP literal (no brackets) */
	int ip;
	int port;
	char path[LOC_MAX];
};

/* ------------------------------------------------- response parsing -- */

/* The value of a header line LINE (LEN octets, no CR/LF) if its name is
 * NAME, trimmed; NULL otherwise. */
static const char *
header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *v, *end = line + len;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	v = line + nl + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*vlen = (size_t)(end - v);
	return v;
}

int
ca_acme_http_head(const char *head, size_t len, int *status, char *loc,
		  size_t locsize, long *clen, int *chunked)
{
	const char *p = head, *end = head + len;
	int first = 1;

	*status = 0;
	*clen = -1;
	*chunked = 0;
	if (locsize > 0)
		loc[0] = '\0';
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *v;
		size_t ll, vl;

		if (eol == NULL)
			return -1;
		ll = (size_t)(eol - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		for (size_t i = 0; i < ll; i++)
			if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
				return -1;
		if (first) {
			/* RFC 9112 4: HTTP/1.x SP 3DIGIT SP reason */
			if (ll < 12 || strncmp(p, "HTTP/1.", 7) != 0 ||
			    (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
			    p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
			    p[11] < '0' || p[11] > '9' || (ll > 12 && p[12] != ' '))
				return -1;
			*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
			first = 0;
		} else if (ll == 0) {
			return eol + 1 == end ? 0 : -1;
		} else if ((v = header_value(p, ll, "Location", &vl)) != NULL) {
			if (loc[0] != '\0' || vl == 0 || vl >= locsize)
				return -1;
			memcpy(loc, v, vl);
			loc[vl] = '\0';
		} else if ((v = header_value(p, ll, "Content-Length", &vl)) != NULL) {
			long n = 0;

			if (vl == 0 || vl > 7 || *clen >= 0)
				return -1;
			for (size_t i = 0; i < vl; i++) {
				if (v[i] < '0' || v[i] > '9')
					return -1;
				n = n * 10 + (v[i] - '0');
			}
			*clen = n;
		} else if ((v = header_value(p, ll, "Transfer-Encoding", &vl)) != NULL) {
			if (vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0)
				*chunked = 1;
			else
				return -1;
		}
		p = eol + 1;
	}
	return -1;   /* no blank line */
}

int
ca_acme_http_unchunk(const unsigned char *in, size_t len, unsigned char *out,
		     size_t size, size_t *outlen)
{
	size_t i = 0, o = 0;

	*outlen = 0;
	for (;;) {
		size_t n = 0, digits = 0;

		while (i < len && mica_hex_val(in[i]) >= 0) {
			if (++digits > 6)
				return -1;
			n = n * 16 + (size_t)mica_hex_val(in[i++]);
		}
		if (digits == 0)
			return -1;
		/* chunk extensions (RFC 9112 7.1.1) are skipped */
		while (i < len && in[i] != '\n')
			i++;
		if (i >= len)
			return -1;
		i++;
		if (n == 0)
			break;
		if (n > len - i || n > size - o)
			return -1;
		memcpy(out + o, in + i, n);
		o += n;
		i += n;
		if (i < len && in[i] == '\r')
			i++;
		if (i >= len || in[i] != '\n')
			return -1;
		i++;
	}
	*outlen = o;
	return 0;
}

/* ------------------------------------------------------ the request -- */

struct conn {
	int fd;
	struct ca_acme_tls *tls;
};

static int
conn_write(const struct ca_acme_vctx *v, struct conn *c, const char *buf, size_t len)
{
	if (c->tls != NULL)
		return ca_acme_tls_write(c->tls, buf, len);
	while (len > 0) {
		ssize_t w = write(c->fd, buf, len);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (ca_acme_wait(v, c->fd, POLLOUT) != 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static ssize_t
conn_read(const struct ca_acme_vctx *v, struct conn *c, void *buf, size_t size)
{
	if (c->tls != NULL)
		return ca_acme_tls_read(c->tls, buf, size);
	for (;;) {
		ssize_t r = read(c->fd, buf, size);

		if (r >= 0)
			return r;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (ca_acme_wait(v, c->fd, POLLIN) != 0)
			return -1;
	}
}

/* "scheme://host:port" of T, for messages. */
static void
target_text(const struct target *t, char *out, size_t size)
{
	snprintf(out, size, "%s://%s%s%s:%d%.64s", t->https ? "https" : "http",
		 strchr(t->host, ':') ? "[" : "", t->host,
		 strchr(t->host, ':') ? "]" : "", t->port, t->path);
}

/* GET T; the whole response into BUF (RESP_MAX + 1), *LEN. */
static int
fetch(const struct ca_acme_vctx *v, const struct target *t, char *buf,
      size_t *len, struct ca_acme_verr *e)
{
	struct conn c = { -1, NULL };
	char req[LOC_MAX + 512], where[LOC_MAX + 300], port_text[8];
	int n, rc = -1, default_port = t->https ? t->port == 443 : t->port == 80;

	*len = 0;
	target_text(t, where, sizeof(where));
	if (ca_acme_connect(v, t->host, t->ip, t->port, &c.fd, e) != 0)
		return -1;
	if (t->https && ca_acme_tls_open(v, c.fd, t->ip ? NULL : t->host, "http/1.1",
					 &c.tls, e) != 0)
		goto out;
	if (default_port)
		port_text[0] = '\0';
	else
		snprintf(port_text, sizeof(port_text), ":%d", t->port);
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s%s%s%s\r\n"
		     "User-Agent: mica-acme-validation\r\nAccept: */*\r\n"
		     "Connection: close\r\n\r\n",
		     t->path, strchr(t->host, ':') ? "[" : "", t->host,
		     strchr(t->host, ':') ? "]" : "", port_text);
	if (n < 0 || (size_t)n >= sizeof(req) || conn_write(v, &c, req, (size_t)n) != 0) {
		ca_acme_vfail(e, "connection", "cannot send the request to %s", where);
		goto out;
	}
	for (;;) {
		ssize_t r = conn_read(v, &c, buf + *len, RESP_MAX + 1 - *len);

		if (r < 0) {
			ca_acme_vfail(e, "connection", "%s while reading from %s",
				      ca_acme_ms_left(v) == 0 ? "timed out" : "error", where);
			goto out;
		}
		if (r == 0)
			break;
		if ((*len += (size_t)r) > RESP_MAX) {
			/* Not the key authorization, whatever it holds: a
			 * wrong answer (as docs/API.md lists them). */
			ca_acme_vfail(e, "incorrect_response", "the response of %s is "
				      "larger than %d octets", where, RESP_MAX);
			goto out;
		}
	}
	rc = 0;
out:
	ca_acme_tls_close(c.tls);
	if (c.fd >= 0)
		close(c.fd);
	return rc;
}

/* RFC 3986 5.2.4: PATH (LEN octets) without its "." and ".." segments,
 * into OUT (SIZE): 0, or -1 when it does not fit. */
static int
remove_dots(const char *path, size_t len, char *out, size_t size)
{
	const char *p = path, *end = path + len;
	size_t o = 0;

	while (p < end) {
		size_t left = (size_t)(end - p), n;

		if (left >= 3 && memcmp(p, "../", 3) == 0) {
			p += 3;
		} else if (left >= 2 && memcmp(p, "./", 2) == 0) {
			p += 2;
		} else if (left >= 3 && memcmp(p, "/./", 3) == 0) {
			p += 2;                          /* "/" stays */
		} else if (left == 2 && memcmp(p, "/.", 2) == 0) {
			p = "/";
			end = p + 1;
		} else if ((left >= 4 && memcmp(p, "/../", 4) == 0) ||
			   (left == 3 && memcmp(p, "/..", 3) == 0)) {
			/* "/" stays, and the segment before goes */
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			if (left == 3) {
				p = "/";
				end = p + 1;
			} else {
				p += 3;
			}
		} else if ((left == 1 && p[0] == '.') ||
			   (left == 2 && memcmp(p, "..", 2) == 0)) {
			break;
		} else {
			/* the first segment, with its "/", moves to OUT */
			n = p[0] == '/' ? 1 : 0;
			while (n < left && p[n] != '/')
				n++;
			if (o + n >= size)
				return -1;
			memcpy(out + o, p, n);
			o += n;
			p += n;
		}
	}
	if (o == 0 || out[0] != '/') {
		/* a request's path is absolute */
		if (o + 1 >= size)
			return -1;
		memmove(out + 1, out, o);
		out[0] = '/';
		o++;
	}
	out[o] = '\0';
	return 0;
}

int
ca_acme_ref_path(const char *base, const char *ref, char *out, size_t size)
{
	const char *bq = base + strcspn(base, "?"), *rq;
	char merged[2 * LOC_MAX];
	size_t bl = (size_t)(bq - base), rl, at;

	if (ref[0] == '\0' || ref[0] == '?') {
		/* the same path, its query or this one */
		rq = ref[0] == '?' ? ref : bq;
		if (bl + strlen(rq) >= size)
			return -1;
		memcpy(out, base, bl);
		snprintf(out + bl, size - bl, "%s", rq);
		return 0;
	}
	rq = ref + strcspn(ref, "?");
	rl = (size_t)(rq - ref);
	if (ref[0] == '/') {
		at = 0;
	} else {
		/* RFC 3986 5.2.3: the base's path up to its last "/" */
		at = bl;
		while (at > 0 && base[at - 1] != '/')
			at--;
		if (at == 0) {
			merged[0] = '/';
			at = 1;
		} else {
			memcpy(merged, base, at);
		}
	}
	if (at + rl >= sizeof(merged))
		return -1;
	memcpy(merged + at, ref, rl);
	if (remove_dots(merged, at + rl, out, size) != 0)
		return -1;
	at = strlen(out);
	if (at + strlen(rq) >= size)
		return -1;
	snprintf(out + at, size - at, "%s", rq);
	return 0;
}

/* Has REF a scheme (RFC 3986 3.1: a letter, then letters, digits, "+",
 * "-" or ".", then ":")? */
static int
has_scheme(const char *ref)
{
	size_t i = 0;

	if (!((ref[0] >= 'a' && ref[0] <= 'z') ||
	      (ref[0] >= 'A' && ref[0] <= 'Z')))
		return 0;
	while (ref[i] != '\0' && ref[i] != ':') {
		char c = ref[i++];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.'))
			return 0;
	}
	return ref[i] == ':';
}

/* Follow LOC from CUR into NEXT, as RFC 3986 5.2 resolves a reference
 * against the URL asked: absolute http(s) URLs on the allowed ports, one
 * without its scheme ("//host/path"), or a path on the same origin,
 * absolute or relative ("moved/TOKEN", "../x", "?q"); a fragment is not
 * sent. */
static int
redirect(const struct ca_acme_vctx *v, const struct target *cur,
	 const char *loc, struct target *next, struct ca_acme_verr *e)
{
	char ref[LOC_MAX + 8], path[LOC_MAX];
	const char *p, *hs, *he;
	size_t rl;
	int port = -1;

	*next = *cur;
	for (const char *c = loc; *c != '\0'; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return ca_acme_vfail(e, "connection", "redirect to an invalid location");
	rl = strcspn(loc, "#");
	if (rl >= LOC_MAX)
		return ca_acme_vfail(e, "connection", "redirect to an invalid location");
	if (loc[0] == '/' && loc[1] == '/') {
		/* a network-path reference: the scheme of the URL asked */
		snprintf(ref, sizeof(ref), "%s:%.*s",
			 cur->https ? "https" : "http", (int)rl, loc);
	} else {
		memcpy(ref, loc, rl);
		ref[rl] = '\0';
		if (!has_scheme(ref)) {
			if (ca_acme_ref_path(cur->path, ref, next->path,
					     sizeof(next->path)) != 0)
				return ca_acme_vfail(e, "connection", "redirect "
						     "to an invalid location");
			return 0;
		}
	}
	p = ref;
	if (strncasecmp(p, "http://", 7) == 0) {
		next->https = 0;
		p += 7;
	} else if (strncasecmp(p, "https://", 8) == 0) {
		next->https = 1;
		p += 8;
	} else {
		return ca_acme_vfail(e, "connection",
				     "redirect to something other than http or https");
	}
	if (*p == '[') {
		hs = p + 1;
		if ((he = strchr(hs, ']')) == NULL)
			return ca_acme_vfail(e, "connection", "redirect to an invalid location");
		p = he + 1;
		next->ip = 1;
	} else {
		hs = p;
		he = p + strcspn(p, ":/?");
		p = he;
		next->ip = 0;
	}
	if (he == hs || (size_t)(he - hs) >= sizeof(next->host) ||
	    memchr(hs, '@', (size_t)(he - hs)) != NULL)
		return ca_acme_vfail(e, "connection", "redirect to an invalid host");
	memcpy(next->host, hs, (size_t)(he - hs));
	next->host[he - hs] = '\0';
	if (!next->ip) {
		struct ca_name nm;

		/* An IPv4 literal is an address, anything else a DNS name. */
		if (ca_name_parse(next->host, 0, &nm, NULL) == 0 && nm.kind == CA_NAME_IP)
			next->ip = 1;
	}
	if (*p == ':') {
		char *end;
		long n = strtol(p + 1, &end, 10);

		if (end == p + 1 || n < 1 || n > 65535)
			return ca_acme_vfail(e, "connection", "redirect to an invalid port");
		port = (int)n;
		p = end;
	}
	/* RFC 8555 8.3: standard ports only; a lab's configured ones stand in
	 * for them. */
	if (port < 0)
		port = next->https ? v->a->o.tls_port : v->a->o.http_port;
	if (next->https ? (port != 443 && port != v->a->o.tls_port) :
			  (port != 80 && port != v->a->o.http_port))
		return ca_acme_vfail(e, "connection", "redirect to port %d, which is "
				     "not the %s port", port, next->https ? "https" : "http");
	next->port = port;
	if (*p != '/' && *p != '?' && *p != '\0')
		return ca_acme_vfail(e, "connection", "redirect to an invalid location");
	/* the path resolved against the new origin's root */
	snprintf(path, sizeof(path), "%s%s", *p == '/' ? "" : "/", p);
	if (ca_acme_ref_path("/", path, next->path, sizeof(next->path)) != 0)
		return ca_acme_vfail(e, "connection", "redirect to an invalid location");
	return 0;
}

int
ca_acme_http01(const struct ca_acme_vctx *v, const char *name, int ip,
	       const char *token, const char *key_authz, struct ca_acme_verr *e)
{
	struct target t, next;
	char *buf = NULL, where[LOC_MAX + 300], loc[LOC_MAX];
	unsigned char *body = NULL;
	int rc = -1;

	if ((buf = malloc(RESP_MAX + 1)) == NULL || (body = malloc(RESP_MAX)) == NULL) {
		ca_acme_vfail(e, "server_internal", "out of memory");
		goto out;
	}
	memset(&t, 0, sizeof(t));
	snprintf(t.host, sizeof(t.host), "%s", name);
	t.ip = ip;
	t.port = v->a->o.http_port;
	snprintf(t.path, sizeof(t.path), "/.well-known/acme-challenge/%s", token);
	for (int hop = 0;; hop++) {
		const char *sep;
		size_t len, hl, blen;
		long clen;
		int status, chunked;

		target_text(&t, where, sizeof(where));
		if (fetch(v, &t, buf, &len, e) != 0)
			goto out;
		buf[len] = '\0';
		if ((sep = strstr(buf, "\r\n\r\n")) != NULL)
			hl = (size_t)(sep - buf) + 4;
		else if ((sep = strstr(buf, "\n\n")) != NULL)
			hl = (size_t)(sep - buf) + 2;
		else
			hl = 0;
		if (hl == 0 || ca_acme_http_head(buf, hl, &status, loc, sizeof(loc),
						 &clen, &chunked) != 0) {
			ca_acme_vfail(e, "connection", "%s did not answer with HTTP", where);
			goto out;
		}
		if (status == 301 || status == 302 || status == 303 || status == 307 ||
		    status == 308) {
			if (hop == MAX_REDIRECTS) {
				ca_acme_vfail(e, "connection", "more than %d redirects",
					      MAX_REDIRECTS);
				goto out;
			}
			if (loc[0] == '\0') {
				ca_acme_vfail(e, "connection", "%s redirects without a Location",
					      where);
				goto out;
			}
			if (redirect(v, &t, loc, &next, e) != 0)
				goto out;
			t = next;
			continue;
		}
		if (status != 200) {
			ca_acme_vfail(e, "unauthorized", "%s answered %d", where, status);
			goto out;
		}
		if (chunked) {
			if (ca_acme_http_unchunk((unsigned char *)buf + hl, len - hl, body,
						 RESP_MAX, &blen) != 0) {
				ca_acme_vfail(e, "connection", "%s sent a broken chunked body", where);
				goto out;
			}
		} else {
			blen = len - hl;
			if (clen >= 0) {
				if ((size_t)clen > blen) {
					ca_acme_vfail(e, "connection", "%s closed before the end "
						      "of its body", where);
					goto out;
				}
				blen = (size_t)clen;
			}
			memcpy(body, buf + hl, blen);
		}
		/* RFC 8555 8.3: white space at the end is ignored. */
		while (blen > 0 && (body[blen - 1] == ' ' || body[blen - 1] == '\t' ||
				    body[blen - 1] == '\r' || body[blen - 1] == '\n'))
			blen--;
		if (blen != strlen(key_authz) || memcmp(body, key_authz, blen) != 0) {
			/* Shown (util/shown.h: a NUL in it would end the
			 * text, and what was sent read as the answer due),
			 * cut at a whole escape, and before the URL, which
			 * the detail's end may cut. */
			char got[100];
			size_t g = 0, i = 0;

			while (i < blen) {
				char c[MICA_SHOWN_CHAR_MAX + 1];
				size_t cl, n;

				n = mica_shown_char(body + i, blen - i, c, &cl);
				if (g + cl >= sizeof(got))
					break;
				memcpy(got + g, c, cl);
				g += cl;
				i += n;
			}
			got[g] = '\0';
			ca_acme_vfail(e, "incorrect_response", "wrong key "
				      "authorization: got \"%s\"%s from %s", got,
				      i < blen ? "..." : "", where);
			goto out;
		}
		rc = 0;
		break;
	}
out:
	free(buf);
	free(body);
	return rc;
}

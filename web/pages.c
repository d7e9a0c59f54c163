/*
 * web/pages.c - the web pages as answers (web/pages.h). "/" is rendered
 * here with its placeholders filled in, HTML-escaped, so it works with
 * JavaScript off; everything else is sent as embedded.
 */
#include "web/pages.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "web/assets.h"
#include "web/parse.h"
#include "web/server.h"

/* Append S to the growing page, HTML-escaped. */
static int
html_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n,
	    int escape)
{
	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		char one[2] = { s[i], 0 };
		size_t rl;

		if (escape) {
			switch (s[i]) {
			case '&': rep = "&amp;"; break;
			case '<': rep = "&lt;"; break;
			case '>': rep = "&gt;"; break;
			case '"': rep = "&quot;"; break;
			case '\'': rep = "&#39;"; break;
			default: break;
			}
		}
		if (rep == NULL)
			rep = one;
		rl = strlen(rep);
		if (*len + rl + 1 > *cap) {
			size_t ncap = (*cap + rl + 1) * 2;
			char *nb = realloc(*buf, ncap);
			if (nb == NULL)
				return -1;
			*buf = nb;
			*cap = ncap;
		}
		memcpy(*buf + *len, rep, rl);
		*len += rl;
		(*buf)[*len] = '\0';
	}
	return 0;
}

/* The "/" page with its placeholders filled in (web/assets.h), so it
 * shows the CA, its fingerprint and counts with JavaScript off. */
static int
render_index(struct web_server *srv, const struct web_asset *a,
	     struct web_reply *rep, struct mica_err *err)
{
	struct ca_counts counts;
	struct ca *ca;
	char *buf = NULL, nv[32], nr[32], np[32];
	size_t len = 0, cap = 0;
	const char *p = (const char *)a->data, *end = p + a->len;

	if ((ca = web_thread_ca(srv, err)) == NULL || ca_counts(ca, &counts, err) != 0)
		return -1;
	snprintf(nv, sizeof(nv), "%lld", (long long)counts.valid);
	snprintf(nr, sizeof(nr), "%lld", (long long)counts.revoked);
	snprintf(np, sizeof(np), "%lld", (long long)counts.pending_requests);
	const struct { const char *key; const char *val; } vars[] = {
		{ "{{CA_NAME}}", ca_name(ca) },
		{ "{{FINGERPRINT}}", ca_root_fingerprint(ca) },
		{ "{{COUNT_VALID}}", nv },
		{ "{{COUNT_REVOKED}}", nr },
		{ "{{COUNT_PENDING}}", np },
		{ "{{PUBLIC_URL}}", ca_public_url(ca) },
	};
	while (p < end) {
		const char *open = strstr(p, "{{");
		size_t i;

		if (open == NULL || open >= end) {
			if (html_append(&buf, &len, &cap, p, (size_t)(end - p), 0) != 0)
				goto oom;
			break;
		}
		if (html_append(&buf, &len, &cap, p, (size_t)(open - p), 0) != 0)
			goto oom;
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
			size_t kl = strlen(vars[i].key);
			if (strncmp(open, vars[i].key, kl) == 0) {
				const char *v = vars[i].val ? vars[i].val : "";
				if (html_append(&buf, &len, &cap, v, strlen(v), 1) != 0)
					goto oom;
				p = open + kl;
				break;
			}
		}
		if (i == sizeof(vars) / sizeof(vars[0])) {
			if (html_append(&buf, &len, &cap, "{{", 2, 0) != 0)
				goto oom;
			p = open + 2;
		}
	}
	if ((rep->blob = web_blob_new(buf, len)) == NULL)
		goto oom;
	free(buf);
	rep->status = 200;
	rep->ctype = a->content_type;
	rep->max_age = -1;
	return 0;
oom:
	free(buf);
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
}

/* The pages that take a token: the console (an admin token) and the
 * request page (an optional enrollment token). */
static int
takes_token(const char *path)
{
	return strcmp(path, "/admin") == 0 || strcmp(path, "/request") == 0;
}

/* A page that takes a token is served over HTTPS only, so its token never
 * crosses the network in clear: over plain HTTP it redirects to the same
 * page on the HTTPS listener (a browser keeps the #fragment, so
 * /request#id=... still works), or answers 403 without one. The one
 * exception is --api-over-http, which says a TLS-terminating proxy is in
 * front: then the browser's origin is HTTPS, as for the API itself. */
int
web_page_exists(const char *path)
{
	return web_asset_find(path) != NULL;
}

/* Where to send a browser that asked for PATH over plain HTTP: the host it
 * asked for (HOST, the request's Host header, which the framing checked)
 * with the port of HTTPS, the listener's URL, else that URL itself. A
 * listener on 0.0.0.0 has no name of its own, and the machine's
 * (gethostname) is seldom the name clients reach the CA by. */
static void
https_location(const char *https, const char *host, const char *path,
	       char *out, size_t size)
{
	const char *port = strrchr(https, ':');
	size_t n = 0, i;
	int ok = host != NULL && port != NULL && strchr(port, ']') == NULL;

	if (ok && host[0] == '[') {
		n = strcspn(host, "]");
		ok = host[n] == ']' && n > 1;
		n++;
		for (i = 1; ok && i + 1 < n; i++)
			ok = isxdigit((unsigned char)host[i]) || host[i] == ':' ||
			     host[i] == '.';
	} else if (ok) {
		n = strcspn(host, ":");
		ok = n > 0;
		for (i = 0; ok && i < n; i++)
			ok = isalnum((unsigned char)host[i]) || host[i] == '.' ||
			     host[i] == '-';
	}
	if (ok && n <= 100)
		snprintf(out, size, "https://%.*s%s%s", (int)n, host, port, path);
	else
		snprintf(out, size, "%s%s", https, path);
}

/* The page PATH names with a slash after it ("/admin/", "/request/", as
 * a hand or a bookmark writes them), its path without the slash in BASE
 * (of SIZE); NULL if PATH is not one. Files are not pages: "/app.js/" is
 * no name of anything. */
static const struct web_asset *
slashed_page(const char *path, char *base, size_t size)
{
	const struct web_asset *a;
	size_t n = strlen(path);

	if (n < 3 || n > size || path[n - 1] != '/')
		return NULL;
	memcpy(base, path, n - 1);
	base[n - 1] = '\0';
	a = web_asset_find(base);
	return a != NULL && strncmp(a->content_type, "text/html", 9) == 0 ? a : NULL;
}

/* Where a page asked for with a slash after it moves to: PATH, and QUERY
 * as it came when it is printable ASCII and fits (a browser keeps the
 * #fragment across a redirect by itself, so /request/#id=... still
 * shows that request). A path alone, relative (RFC 9110 10.2.2): the
 * Host header is not needed, nor trusted. */
static void
slash_location(const char *path, const char *query, char *out, size_t size)
{
	size_t pl = strlen(path), ql;
	int ok = query != NULL && *query != '\0';

	/* A page's path is a few characters: never longer than Location. */
	assert(pl < size);
	if (pl >= size) {
		out[0] = '\0';
		return;
	}
	for (const char *q = query; ok && *q != '\0'; q++)
		ok = *q > 0x20 && *q < 0x7f;
	ql = ok ? strlen(query) : 0;
	memcpy(out, path, pl);
	if (ok && pl + 1 + ql < size) {
		out[pl] = '?';
		memcpy(out + pl + 1, query, ql);
		pl += 1 + ql;
	}
	out[pl] = '\0';
}

int
web_page_serve(struct web_server *srv, int tls, const char *method,
	       const char *path, const char *query, const char *host,
	       struct web_reply *rep, struct mica_err *err)
{
	const struct web_asset *a;
	char base[WEB_PATH_MAX];
	int slashed = 0;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return 1;
	if ((a = web_asset_find(path)) == NULL) {
		if ((a = slashed_page(path, base, sizeof(base))) == NULL)
			return 1;
		path = a->path;
		slashed = 1;
	}
	if (takes_token(path) && !tls && !web_api_over_http(srv)) {
		const char *https = web_https_url(srv);

		if (https != NULL && *https != '\0') {
			rep->status = 302;
			https_location(https, host, path, rep->location,
				       sizeof(rep->location));
			rep->ctype = "text/plain; charset=utf-8";
			rep->pbody = "This page takes a token: it is served over HTTPS only.\n";
			rep->plen = strlen(rep->pbody);
			return 0;
		}
		mica_err_set(err, MICA_E_FORBIDDEN, "https_required",
			     "this page takes a token: it is served over HTTPS only");
		return -1;
	}
	if (slashed) {
		rep->status = 301;
		slash_location(path, query, rep->location, sizeof(rep->location));
		rep->ctype = "text/plain; charset=utf-8";
		rep->pbody = "This page has no slash after its name.\n";
		rep->plen = strlen(rep->pbody);
		return 0;
	}
	if (strcmp(path, "/") == 0)
		return render_index(srv, a, rep, err) == 0 ? 0 : -1;
	rep->status = 200;
	rep->ctype = a->content_type;
	rep->pbody = a->data;
	rep->plen = a->len;
	rep->max_age = 300;
	return 0;
}

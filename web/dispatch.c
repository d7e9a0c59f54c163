/*
 * web/dispatch.c - the dispatcher (web/dispatch.h): every request goes
 * through the same checks in the same order before a handler sees it, and
 * every failure leaves through web_dispatch_error.
 */
#include "web/dispatch.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ca/ca.h"
#include "web/acme.h"
#include "web/api.h"
#include "web/pages.h"
#include "web/parse.h"
#include "web/ratelimit.h"
#include "web/server.h"

void
web_dispatch_error(struct web_server *srv, const char *raw, size_t len,
		   struct web_reply *rep, const struct mica_err *e)
{
	if (web_route_acme(raw, len))
		web_acme_error(srv, rep, e);
	else
		web_reply_error(rep, e);
}

/* 405 with Allow: ALLOW (no error kind means 405: it is set here). */
static void
not_allowed(struct web_server *srv, const struct web_request *rq,
	    struct web_reply *rep, const char *allow)
{
	struct mica_err err;

	mica_err_set(&err, MICA_E_BADREQ, "method_not_allowed",
		     "method not allowed for this resource");
	web_dispatch_error(srv, rq->uri, rq->path_len, rep, &err);
	web_reply_not_allowed(rep, allow);
}

/* 1 if a browser's Sec-Fetch-Site (Fetch Metadata) says the request was
 * made by a page of another origin: "cross-site", or "same-site" (another
 * host of the same site: a port or a name beside the CA's). The CA's own
 * pages send "same-origin"; an address typed or a bookmark, "none";
 * clients that are not browsers, nothing. A browser without Fetch
 * Metadata (Safari before 16.4, Firefox before 90) sends Origin with a
 * POST: another host's, or "null" (a sandboxed or file: page), is
 * another site. */
static int
cross_site(const struct web_request *rq)
{
	const char *v = rq->fetch_site;
	size_t n;

	if (v == NULL)
		return web_origin_foreign(rq->origin, rq->host);
	v += strspn(v, " \t");
	n = strcspn(v, " \t");
	return (n == 10 && strncasecmp(v, "cross-site", n) == 0) ||
	       (n == 9 && strncasecmp(v, "same-site", n) == 0);
}

void
web_dispatch(struct web_server *srv, const struct web_route *table, size_t ntable,
	     const struct web_request *rq, struct web_reply *rep)
{
	char path[WEB_PATH_MAX], ctype[64], tok[CA_TOKEN_MAX];
	struct web_match m;
	char tail_allow[sizeof(m.allow)] = "";
	struct web_query q;
	struct ca_principal p;
	struct mica_err err;
	struct web_ctx c;
	struct ca *ca = NULL;
	int64_t now = (int64_t)time(NULL);
	int wait, scep_get;

	memset(&q, 0, sizeof(q));
	memset(&p, 0, sizeof(p));
	memset(tok, 0, sizeof(tok));
	mica_err_clear(&err);

	/* The asterisk form (RFC 9112 3.2.4) asks about the server as a
	 * whole, and is for OPTIONS only (RFC 9110 9.3.7): 200, the methods
	 * it takes in Allow, no content. */
	if (rq->path_len == 1 && rq->uri[0] == '*' && rq->query == NULL) {
		if (strcmp(rq->method, "OPTIONS") != 0) {
			mica_err_set(&err, MICA_E_BADREQ, "bad_request_target",
				     "the request target \"*\" is for OPTIONS only");
			goto fail;
		}
		rep->status = 200;
		web_routes_methods(table, ntable, rep->allow, sizeof(rep->allow));
		goto out;
	}
	/* A "{*}" route takes its tail raw (web_route_match_tail): public
	 * files only, so nothing below but the handler needs the path. Such
	 * a path by another method is 405 (whatever its tail: a long one, or
	 * one with %2F, which the path parser refuses), unless another route
	 * takes it. */
	switch (web_route_match_tail(table, ntable, rq->method, rq->uri,
				     rq->path_len, &m)) {
	case WEB_ROUTE_OK:
		if (m.route->auth != WEB_AUTH_PUBLIC) {
			mica_err_set(&err, MICA_E_INTERNAL, "bad_route",
				     "a tail route must be public");
			goto fail;
		}
		goto matched;
	case WEB_ROUTE_BAD_METHOD:
		snprintf(tail_allow, sizeof(tail_allow), "%s", m.allow);
		break;
	default:
		break;
	}
	if (web_path_parse(rq->uri, rq->path_len, path, sizeof(path), &err) != 0) {
		if (tail_allow[0] != '\0') {
			not_allowed(srv, rq, rep, tail_allow);
			goto out;
		}
		goto fail;
	}
	if (srv != NULL) {
		int a = web_page_serve(srv, rq->tls, rq->method, path, rq->query,
				       rq->host, rep, &err);

		if (a == 0)
			goto out;
		if (a < 0)
			goto fail;
	}
	switch (web_route_match(table, ntable, rq->method, path, &m)) {
	case WEB_ROUTE_OK:
		break;
	case WEB_ROUTE_BAD_METHOD:
		not_allowed(srv, rq, rep, m.allow);
		goto out;
	default:
		if (tail_allow[0] != '\0') {
			not_allowed(srv, rq, rep, tail_allow);
			goto out;
		}
		/* A page exists for GET and HEAD only (RFC 9110 15.5.6). */
		if (srv != NULL && web_page_exists(path)) {
			not_allowed(srv, rq, rep, "GET, HEAD");
			goto out;
		}
		mica_err_set(&err, MICA_E_NOTFOUND, "not_found", "no such resource");
		goto fail;
	}
matched:
	/* ACME lives on the HTTPS listener only: its clients are given the
	 * directory's https URL, and nothing else of it is meant for HTTP. */
	if (m.route->auth == WEB_AUTH_ACME && !rq->tls) {
		const char *https = web_https_url(srv);

		mica_err_set(&err, MICA_E_FORBIDDEN, "https_required",
			     "ACME is served over HTTPS only: use %s/acme/directory",
			     https != NULL && *https != '\0' ? https : "https://...");
		goto fail;
	}
	if (m.route->auth != WEB_AUTH_PUBLIC && m.route->auth != WEB_AUTH_ACME &&
	    !rq->tls && !rq->loopback && !web_api_over_http(srv)) {
		const char *https = web_https_url(srv);

		if (https != NULL && *https != '\0')
			mica_err_set(&err, MICA_E_FORBIDDEN, "https_required",
				     "the API is served over HTTPS only: use %s/api/v1/...",
				     https);
		else
			mica_err_set(&err, MICA_E_FORBIDDEN, "https_required",
				     "the API is served over HTTPS only");
		goto fail;
	}
	/* Plain HTTP from loopback is for scripts on the CA's host. A
	 * browser there that calls it by another name was sent by a page
	 * whose name was pointed at 127.0.0.1 (DNS rebinding): to the
	 * browser that page and the API are one origin. */
	if (m.route->auth != WEB_AUTH_PUBLIC && m.route->auth != WEB_AUTH_ACME &&
	    !rq->tls && !web_api_over_http(srv) &&
	    (rq->fetch_site != NULL || rq->origin != NULL) &&
	    !web_host_loopback(rq->host)) {
		mica_err_set(&err, MICA_E_FORBIDDEN, "https_required",
			     "a browser calls the API over plain HTTP only as "
			     "localhost or a loopback address: use HTTPS (a "
			     "reverse proxy on this host that terminates TLS "
			     "needs --trusted-proxy and --api-over-http)");
		goto fail;
	}
	/* No other site's page may make a browser call the API: a form or a
	 * no-cors fetch needs no preflight (a raw CSR as text/plain is
	 * one), and would file requests in the name of a browser inside the
	 * network, from its address. The pages' own calls are same-origin;
	 * a token needs a preflight, which no CORS header ever answers. */
	if ((m.route->auth == WEB_AUTH_ANY || m.route->auth == WEB_AUTH_ADMIN) &&
	    strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0 &&
	    cross_site(rq)) {
		mica_err_set(&err, MICA_E_FORBIDDEN, "cross_site",
			     "the browser says another site's page sent this: "
			     "the API takes calls from its own pages and from "
			     "clients that are not browsers");
		goto fail;
	}
	/* SCEP's GET PKIOperation carries a whole message in its query,
	 * perhaps in lines (web/parse.h). */
	scep_get = m.route->fn == web_h_scep_get;
	if ((m.route->query == NULL ||
	     strcmp(m.route->query, WEB_QUERY_IGNORED) != 0) &&
	    (web_query_parse_max(rq->query,
				 scep_get ? WEB_QUERY_SCEP_MAX : 2048,
				 scep_get ? WEB_PCT_DROP_NL : 0, &q, &err) != 0 ||
	     web_query_allow(&q, m.route->query, &err) != 0))
		goto fail;
	if (web_media_type(rq->ctype, ctype, sizeof(ctype)) != 0) {
		/* A Content-Type describes a body: a GET or HEAD without one
		 * (a download) is not refused for what it says of nothing. */
		if (rq->body_len > 0 || (strcmp(rq->method, "GET") != 0 &&
					 strcmp(rq->method, "HEAD") != 0)) {
			mica_err_set(&err, MICA_E_UNSUPPORTED,
				     "unsupported_media_type",
				     "malformed Content-Type");
			goto fail;
		}
		ctype[0] = '\0';
	}

	ca_principal_anon(&p, rq->client);
	if (m.route->auth == WEB_AUTH_ADMIN && rq->authz == NULL) {
		/* Nothing to look up: refuse before touching the store. */
		mica_err_set(&err, MICA_E_UNAUTH, "missing_token",
			     "this needs an admin token (Authorization: Bearer ...)");
		goto fail;
	}
	if (m.route->auth != WEB_AUTH_PUBLIC) {
		if ((ca = web_thread_ca(srv, &err)) == NULL)
			goto fail;
		/* An ACME request authenticates by its JWS, never a token. */
		if (rq->authz != NULL && m.route->auth != WEB_AUTH_ACME) {
			char label[WEB_RL_LABEL_MAX];
			int bearer = web_bearer(rq->authz, tok, sizeof(tok));

			/* Failures count per client address and token id, so
			 * strangers (behind the same proxy or NAT) never lock
			 * out a valid token; checked before the token is
			 * looked at, so a blocked guesser learns nothing. */
			web_rl_label(bearer == 0 ? tok : NULL, label);
			if ((wait = web_rl_check(web_server_rl(srv), rq->client_key, label,
						 now)) > 0) {
				rep->retry_after = wait;
				mica_err_set(&err, MICA_E_RATE, "too_many_attempts",
					     "too many failed authentications; try again later");
				goto fail;
			}
			if (bearer != 0) {
				web_rl_fail(web_server_rl(srv), rq->client_key, label, now);
				mica_err_set(&err, MICA_E_UNAUTH, "bad_token",
					     "expected \"Authorization: Bearer <token>\"");
				goto fail;
			}
			if (ca_authenticate(ca, tok, rq->client, &p, &err) != 0) {
				if (err.kind == MICA_E_UNAUTH)
					web_rl_fail(web_server_rl(srv), rq->client_key, label, now);
				goto fail;
			}
			explicit_bzero(tok, sizeof(tok));
		}
		if (m.route->auth == WEB_AUTH_ADMIN && p.kind != CA_PRINCIPAL_ADMIN) {
			if (p.kind == CA_PRINCIPAL_ANON)
				mica_err_set(&err, MICA_E_UNAUTH, "missing_token",
					     "this needs an admin token (Authorization: Bearer ...)");
			else
				mica_err_set(&err, MICA_E_FORBIDDEN, "admin_required",
					     "this needs an admin token; an enrollment token is not enough");
			goto fail;
		}
	}

	/* Where the handler would refuse a malformed id, after the
	 * token: one too long to be any (web_route_match). */
	if (m.overlong) {
		mica_err_set(&err, MICA_E_BADREQ, "bad_path",
			     "a path segment is longer than %d bytes",
			     WEB_PARAM_MAX - 1);
		goto fail;
	}
	memset(&c, 0, sizeof(c));
	c.srv = srv;
	c.ca = ca;
	c.p = &p;
	c.m = &m;
	c.q = &q;
	c.ctype = ctype;
	c.body = rq->body;
	c.body_len = rq->body_len;
	c.client = rq->client;
	c.now = now;
	c.method = rq->method;
	c.host = rq->host;
	c.accept = rq->accept;
	if (m.route->fn(&c, rep, &err) != 0)
		goto fail;
	goto out;
fail:
	web_dispatch_error(srv, rq->uri, rq->path_len, rep, &err);
out:
	explicit_bzero(tok, sizeof(tok));
	ca_principal_free(&p);
	web_query_free(&q);
	/* Nothing of the request uses the store after this: its handle goes
	 * back to the pool for the next request, on any thread. */
	web_thread_release(srv);
}

/*
 * web/routes.c - the one static route table and the dispatcher.
 *
 * The table says, for every endpoint, the method, the path pattern, the
 * handler, who may call it and which query parameters it takes. The
 * dispatcher applies it in a fixed order for every request:
 *   decode the path (dot segments refused) -> match (404 / 405 + Allow)
 *   -> HTTPS required for the API (unless loopback or --api-over-http)
 *   -> query string (unknown parameters refused) -> Content-Type
 *   -> authentication (bearer token, failures rate-limited per client)
 *   -> the route's auth level -> the handler -> one error-reply path.
 * The engine checks authorization again on every call; the table only
 * answers the obvious cases early and uniformly.
 */
#include "web/assets.h"
#include "web/web_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct web_route routes[] = {
	/* Public and signed: plain HTTP too (CDP/AIA, bootstrap). */
	{ "GET",    "/ca.crt",   web_h_ca_der,  WEB_AUTH_PUBLIC, NULL },
	{ "GET",    "/ca.pem",   web_h_ca_pem,  WEB_AUTH_PUBLIC, NULL },
	{ "GET",    "/crl",      web_h_crl_der, WEB_AUTH_PUBLIC, NULL },
	{ "GET",    "/crl.pem",  web_h_crl_pem, WEB_AUTH_PUBLIC, NULL },
	{ "GET",    "/healthz",  web_h_healthz, WEB_AUTH_PUBLIC, NULL },

	/* Requests: submit (token optional), poll by unguessable id. */
	{ "POST",   "/api/v1/requests",               web_h_req_submit,  WEB_AUTH_ANY,   "profile days" },
	{ "GET",    "/api/v1/requests",               web_h_req_list,    WEB_AUTH_ADMIN, "status limit" },
	{ "GET",    "/api/v1/requests/{id}",          web_h_req_get,     WEB_AUTH_ANY,   NULL },
	{ "POST",   "/api/v1/requests/{id}/approve",  web_h_req_approve, WEB_AUTH_ADMIN, NULL },
	{ "POST",   "/api/v1/requests/{id}/deny",     web_h_req_deny,    WEB_AUTH_ADMIN, NULL },

	/* Certificates. Renewal with the same key needs no token. */
	{ "GET",    "/api/v1/certificates",                   web_h_cert_list,     WEB_AUTH_ADMIN,
	  "status expiring_days name limit cursor" },
	{ "GET",    "/api/v1/certificates/{serial}",          web_h_cert_get,      WEB_AUTH_ADMIN, NULL },
	{ "POST",   "/api/v1/certificates/{serial}/renew",    web_h_cert_renew,    WEB_AUTH_ANY,   "days supersede" },
	{ "POST",   "/api/v1/certificates/{serial}/revoke",   web_h_cert_revoke,   WEB_AUTH_ADMIN, NULL },
	{ "POST",   "/api/v1/certificates/{serial}/unrevoke", web_h_cert_unrevoke, WEB_AUTH_ADMIN, NULL },

	{ "POST",   "/api/v1/crl",         web_h_crl_publish,  WEB_AUTH_ADMIN, NULL },
	{ "POST",   "/api/v1/tokens",      web_h_token_create, WEB_AUTH_ADMIN, NULL },
	{ "GET",    "/api/v1/tokens",      web_h_token_list,   WEB_AUTH_ADMIN, NULL },
	{ "DELETE", "/api/v1/tokens/{id}", web_h_token_delete, WEB_AUTH_ADMIN, NULL },
	{ "GET",    "/api/v1/audit",       web_h_audit,        WEB_AUTH_ADMIN, "since before limit" },
	{ "GET",    "/api/v1/status",      web_h_status,       WEB_AUTH_ADMIN, NULL },

	/* The admin's view of ACME. */
	{ "GET",    "/api/v1/acme/accounts",                 web_h_api_acme_accounts,   WEB_AUTH_ADMIN, "limit" },
	{ "POST",   "/api/v1/acme/accounts/{id}/deactivate", web_h_api_acme_deactivate, WEB_AUTH_ADMIN, NULL },
	{ "GET",    "/api/v1/acme/orders",                   web_h_api_acme_orders,     WEB_AUTH_ADMIN, "account limit" },
	{ "POST",   "/api/v1/acme/eab",                      web_h_api_acme_eab,        WEB_AUTH_ADMIN, NULL },

	/* ACME (RFC 8555): every POST is a JWS the engine verifies. */
	{ "GET",    "/acme/directory",           web_h_acme_directory,    WEB_AUTH_ACME, NULL },
	{ "GET",    "/acme/new-nonce",           web_h_acme_nonce,        WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/new-account",         web_h_acme_new_account,  WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/acct/{id}",           web_h_acme_account,      WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/acct/{id}/orders",    web_h_acme_orders,       WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/key-change",          web_h_acme_key_change,   WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/new-order",           web_h_acme_new_order,    WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/order/{id}",          web_h_acme_order,        WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/order/{id}/finalize", web_h_acme_finalize,     WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/authz/{id}",          web_h_acme_authz,        WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/chall/{id}/{type}",   web_h_acme_chall,        WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/cert/{serial}",       web_h_acme_cert,         WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/revoke-cert",         web_h_acme_revoke,       WEB_AUTH_ACME, NULL },
	{ "GET",    "/acme/renewal-info/{id}",   web_h_acme_renewal_info, WEB_AUTH_ACME, NULL },
};

const struct web_route *
web_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

/* Does PATH fit PAT? "{x}" takes one non-empty segment. Fills M's params. */
static int
pattern_match(const char *pat, const char *path, struct web_match *m)
{
	const char *p = pat, *s = path;

	m->nparams = 0;
	while (*p != '\0' && *s != '\0') {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			size_t len = strcspn(s, "/");

			if (close == NULL || len == 0 || len >= WEB_PARAM_MAX ||
			    m->nparams == WEB_MAX_PARAMS)
				return 0;
			memcpy(m->param[m->nparams], s, len);
			m->param[m->nparams][len] = '\0';
			m->nparams++;
			p = close + 1;
			s += len;
		} else {
			if (*p != *s)
				return 0;
			p++;
			s++;
		}
	}
	return *p == '\0' && *s == '\0';
}

/* RFC 9110 9.3.2: HEAD is GET without the body (libmicrohttpd drops it). */
static int
method_fits(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 ||
	       (strcmp(route_method, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

static void
allow_add(char *allow, size_t size, const char *method)
{
	size_t len = strlen(method), n = strlen(allow);

	for (const char *p = allow; *p != '\0';) {
		size_t w = strcspn(p, ",");

		if (w == len && strncmp(p, method, len) == 0)
			return;
		p += w;
		while (*p == ',' || *p == ' ')
			p++;
	}
	snprintf(allow + n, size - n, "%s%s", n > 0 ? ", " : "", method);
}

int
web_route_match(const struct web_route *table, size_t n, const char *method,
		const char *path, struct web_match *m)
{
	struct web_match tmp;
	int path_known = 0;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		if (!pattern_match(table[i].pattern, path, &tmp))
			continue;
		path_known = 1;
		if (method_fits(table[i].method, method)) {
			*m = tmp;
			m->route = &table[i];
			m->allow[0] = '\0';
			return WEB_ROUTE_OK;
		}
		allow_add(m->allow, sizeof(m->allow), table[i].method);
		if (strcmp(table[i].method, "GET") == 0)
			allow_add(m->allow, sizeof(m->allow), "HEAD");
	}
	if (!path_known) {
		m->allow[0] = '\0';
		return WEB_ROUTE_NOT_FOUND;
	}
	return WEB_ROUTE_BAD_METHOD;
}

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

/* GET of a web page or its files. 0 if answered (or failed into ERR), 1 if
 * PATH is not an asset. /admin is served over HTTPS only: its token must
 * never cross the network in clear. */
static int
serve_asset(struct web_server *srv, struct web_listener *lst,
	    const char *method, const char *path, struct web_reply *rep,
	    struct mica_err *err)
{
	const struct web_asset *a;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return 1;
	if ((a = web_asset_find(path)) == NULL)
		return 1;
	if (strcmp(path, "/admin") == 0 && !lst->tls) {
		const char *https = web_https_url(srv);

		if (https != NULL && *https != '\0') {
			rep->status = 302;
			snprintf(rep->location, sizeof(rep->location), "%s/admin", https);
			rep->ctype = "text/plain; charset=utf-8";
			rep->pbody = "The admin console is served over HTTPS only.\n";
			rep->plen = strlen(rep->pbody);
			return 0;
		}
		mica_err_set(err, MICA_E_FORBIDDEN, "https_required",
			     "the admin console is served over HTTPS only");
		return -1;
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

void
web_dispatch(struct web_server *srv, struct web_listener *lst,
	     struct web_req *r, const char *authz, const char *ctype_hdr,
	     struct web_reply *rep)
{
	char path[WEB_PATH_MAX], ctype[64], tok[CA_TOKEN_MAX];
	const struct web_route *table;
	struct web_match m;
	struct web_query q;
	struct ca_principal p;
	struct mica_err err;
	struct web_ctx c;
	struct ca *ca = NULL;
	size_t ntable;
	int64_t now = (int64_t)time(NULL);
	int wait;

	memset(&q, 0, sizeof(q));
	memset(&p, 0, sizeof(p));
	memset(tok, 0, sizeof(tok));
	mica_err_clear(&err);
	table = web_routes(&ntable);

	if (web_path_parse(r->uri, r->path_len, path, sizeof(path), &err) != 0)
		goto fail;
	if (srv != NULL) {
		int a = serve_asset(srv, lst, r->method, path, rep, &err);
		if (a == 0)
			goto out;
		if (a < 0)
			goto fail;
	}
	switch (web_route_match(table, ntable, r->method, path, &m)) {
	case WEB_ROUTE_OK:
		break;
	case WEB_ROUTE_BAD_METHOD:
		mica_err_set(&err, MICA_E_BADREQ, "method_not_allowed",
			     "method not allowed for this resource");
		web_reply_error(rep, &err);
		rep->status = 405;   /* no error kind means 405: set it here */
		snprintf(rep->allow, sizeof(rep->allow), "%s", m.allow);
		goto out;
	default:
		mica_err_set(&err, MICA_E_NOTFOUND, "not_found", "no such resource");
		goto fail;
	}
	/* ACME lives on the HTTPS listener only: its clients are given the
	 * directory's https URL, and nothing else of it is meant for HTTP. */
	if (m.route->auth == WEB_AUTH_ACME && !lst->tls) {
		mica_err_set(&err, MICA_E_FORBIDDEN, "https_required",
			     "ACME is served over HTTPS only: use %s/acme/directory",
			     web_https_url(srv) != NULL ? web_https_url(srv) : "https://...");
		goto fail;
	}
	if (m.route->auth != WEB_AUTH_PUBLIC && m.route->auth != WEB_AUTH_ACME &&
	    !lst->tls && !r->loopback && !web_api_over_http(srv)) {
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
	if (web_query_parse(r->query, &q, &err) != 0 ||
	    web_query_allow(&q, m.route->query, &err) != 0)
		goto fail;
	if (web_media_type(ctype_hdr, ctype, sizeof(ctype)) != 0) {
		mica_err_set(&err, MICA_E_UNSUPPORTED, "unsupported_media_type",
			     "malformed Content-Type");
		goto fail;
	}

	ca_principal_anon(&p, r->client);
	if (m.route->auth != WEB_AUTH_PUBLIC) {
		if ((ca = web_thread_ca(srv, &err)) == NULL)
			goto fail;
		/* An ACME request authenticates by its JWS, never a token. */
		if (authz != NULL && m.route->auth != WEB_AUTH_ACME) {
			/* Checked before the token is even looked at, so a
			 * blocked client learns nothing from further tries. */
			if ((wait = web_rl_check(web_server_rl(srv), r->client_key, now)) > 0) {
				rep->retry_after = wait;
				mica_err_set(&err, MICA_E_RATE, "too_many_attempts",
					     "too many failed authentications; try again later");
				goto fail;
			}
			if (web_bearer(authz, tok, sizeof(tok)) != 0) {
				web_rl_fail(web_server_rl(srv), r->client_key, now);
				mica_err_set(&err, MICA_E_UNAUTH, "bad_token",
					     "expected \"Authorization: Bearer <token>\"");
				goto fail;
			}
			if (ca_authenticate(ca, tok, r->client, &p, &err) != 0) {
				if (err.kind == MICA_E_UNAUTH)
					web_rl_fail(web_server_rl(srv), r->client_key, now);
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

	memset(&c, 0, sizeof(c));
	c.srv = srv;
	c.ca = ca;
	c.p = &p;
	c.m = &m;
	c.q = &q;
	c.ctype = ctype;
	c.body = r->body;
	c.body_len = r->body_len;
	c.client = r->client;
	c.now = now;
	c.method = r->method;
	c.host = r->host;
	if (m.route->fn(&c, rep, &err) != 0)
		goto fail;
	goto out;
fail:
	web_reply_error(rep, &err);
out:
	explicit_bzero(tok, sizeof(tok));
	ca_principal_free(&p);
	web_query_free(&q);
}

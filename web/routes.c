/*
 * web/routes.c - the one static route table and its matcher.
 *
 * The table says, for every endpoint, the method, the path pattern, the
 * handler, who may call it and which query parameters it takes; the
 * dispatcher (web/dispatch.c) applies it. The engine checks authorization
 * again on every call; the table only answers the obvious cases early and
 * uniformly.
 */
#include "web/routes.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "web/acme.h"
#include "web/api.h"
#include "web/assets.h"
#include "web/parse.h"

static const struct web_route routes[] = {
	/* Public and signed: plain HTTP too (CDP/AIA, bootstrap). */
	{ "GET",    "/ca.crt",   web_h_ca_der,  WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/ca.pem",   web_h_ca_pem,  WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/crl",      web_h_crl_der, WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/crl.pem",  web_h_crl_pem, WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/healthz",  web_h_healthz, WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	/* The hierarchy: the root devices install, the chain servers send,
	 * the root's CRL (imported from the offline root), and each key's
	 * CRL and CA certificate after a rollover (what its certificates
	 * name: URL/crl/N, URL/ca/N.crt). */
	{ "GET",    "/root.crt",     web_h_root_der,  WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/root.pem",     web_h_root_pem,  WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/ca-chain.pem", web_h_chain_pem, WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/ca.p7b",       web_h_chain_p7b, WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/root.crl",     web_h_root_crl,  WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/crl/{key}",    web_h_crl_key,   WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/ca/{file}",    web_h_ca_key,    WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	/* Delta CRLs (RFC 5280 5.2.4), when the CA publishes them. */
	{ "GET",    "/delta.crl",        web_h_delta_crl,     WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/delta.crl/{key}",  web_h_delta_crl_key, WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	/* OCSP (RFC 6960 A.1, RFC 5019): what every certificate names in
	 * its AIA. The GET's tail is a base64 request (web/ocsp.c). */
	{ "POST",   "/ocsp",         web_h_ocsp_post, WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	{ "GET",    "/ocsp/{*}",     web_h_ocsp_get,  WEB_AUTH_PUBLIC, WEB_QUERY_IGNORED },
	/* SCEP (RFC 8894 4): its messages are signed and encrypted, so
	 * plain HTTP too; the same at NDES's and Cisco's paths. */
	{ "GET",    "/scep",         web_h_scep_get,  WEB_AUTH_PUBLIC, "operation message" },
	{ "POST",   "/scep",         web_h_scep_post, WEB_AUTH_PUBLIC, "operation message" },
	/* The URL an admin types into a device or an MDM, with a slash
	 * after it, or with the file name clients of Cisco's add. */
	{ "GET",    "/scep/",        web_h_scep_get,  WEB_AUTH_PUBLIC, "operation message" },
	{ "POST",   "/scep/",        web_h_scep_post, WEB_AUTH_PUBLIC, "operation message" },
	{ "GET",    "/scep/pkiclient.exe", web_h_scep_get,  WEB_AUTH_PUBLIC, "operation message" },
	{ "POST",   "/scep/pkiclient.exe", web_h_scep_post, WEB_AUTH_PUBLIC, "operation message" },
	{ "GET",    "/certsrv/mscep/mscep.dll", web_h_scep_get,  WEB_AUTH_PUBLIC, "operation message" },
	{ "POST",   "/certsrv/mscep/mscep.dll", web_h_scep_post, WEB_AUTH_PUBLIC, "operation message" },
	{ "GET",    "/cgi-bin/pkiclient.exe",   web_h_scep_get,  WEB_AUTH_PUBLIC, "operation message" },
	{ "POST",   "/cgi-bin/pkiclient.exe",   web_h_scep_post, WEB_AUTH_PUBLIC, "operation message" },

	/* Requests: submit (token optional), poll by unguessable id, and
	 * by the same id fetch the certificate with its chain. */
	{ "POST",   "/api/v1/requests",               web_h_req_submit,  WEB_AUTH_ANY,   "profile days" },
	{ "GET",    "/api/v1/requests",               web_h_req_list,    WEB_AUTH_ADMIN, "status limit cursor" },
	{ "GET",    "/api/v1/requests/{id}",          web_h_req_get,     WEB_AUTH_ANY,   NULL },
	{ "GET",    "/api/v1/requests/{id}/certificate.pem", web_h_req_cert_pem, WEB_AUTH_ANY, NULL },
	{ "GET",    "/api/v1/requests/{id}/certificate.p7b", web_h_req_cert_p7b, WEB_AUTH_ANY, NULL },
	{ "POST",   "/api/v1/requests/{id}/approve",  web_h_req_approve, WEB_AUTH_ADMIN, NULL },
	{ "POST",   "/api/v1/requests/{id}/deny",     web_h_req_deny,    WEB_AUTH_ADMIN, NULL },

	/* Certificates. Renewal with the same key needs no token, but a fresh
	 * proof of the key: a nonce from renew-challenge, signed in the CSR. */
	{ "GET",    "/api/v1/certificates",                   web_h_cert_list,     WEB_AUTH_ADMIN,
	  "status expiring_days name token limit cursor" },
	{ "GET",    "/api/v1/certificates/{serial}",          web_h_cert_get,      WEB_AUTH_ADMIN, NULL },
	/* The certificate with its chain, as a server imports it. */
	{ "GET",    "/api/v1/certificates/{serial}/chain.pem", web_h_cert_chain_pem, WEB_AUTH_ADMIN, NULL },
	{ "GET",    "/api/v1/certificates/{serial}/chain.p7b", web_h_cert_chain_p7b, WEB_AUTH_ADMIN, NULL },
	{ "POST",   "/api/v1/certificates/{serial}/renew",    web_h_cert_renew,    WEB_AUTH_ANY,   "days supersede force" },
	{ "POST",   "/api/v1/certificates/{serial}/renew-challenge", web_h_cert_renew_challenge,
	  WEB_AUTH_ANY, NULL },
	{ "POST",   "/api/v1/certificates/{serial}/revoke",   web_h_cert_revoke,   WEB_AUTH_ADMIN, NULL },
	{ "POST",   "/api/v1/certificates/{serial}/unrevoke", web_h_cert_unrevoke, WEB_AUTH_ADMIN, NULL },

	{ "POST",   "/api/v1/crl",         web_h_crl_publish,  WEB_AUTH_ADMIN, NULL },
	{ "POST",   "/api/v1/tokens",      web_h_token_create, WEB_AUTH_ADMIN, NULL },
	/* An iPhone/macOS profile with a one-use SCEP challenge (a download;
	 * the admin token in the header, never in a URL). */
	{ "POST",   "/api/v1/scep/mobileconfig", web_h_scep_mobileconfig, WEB_AUTH_ADMIN, NULL },
	{ "GET",    "/api/v1/tokens",      web_h_token_list,   WEB_AUTH_ADMIN, "status limit cursor" },
	{ "DELETE", "/api/v1/tokens/{id}", web_h_token_delete, WEB_AUTH_ADMIN, NULL },
	{ "GET",    "/api/v1/audit",       web_h_audit,        WEB_AUTH_ADMIN, "since before limit" },
	{ "GET",    "/api/v1/status",      web_h_status,       WEB_AUTH_ADMIN, NULL },

	/* The admin's view of ACME. */
	{ "GET",    "/api/v1/acme/accounts",                 web_h_api_acme_accounts,   WEB_AUTH_ADMIN, "limit cursor" },
	{ "POST",   "/api/v1/acme/accounts/{id}/deactivate", web_h_api_acme_deactivate, WEB_AUTH_ADMIN, NULL },
	{ "GET",    "/api/v1/acme/orders",                   web_h_api_acme_orders,     WEB_AUTH_ADMIN, "account limit cursor" },
	{ "POST",   "/api/v1/acme/eab",                      web_h_api_acme_eab,        WEB_AUTH_ADMIN, NULL },

	/* ACME (RFC 8555): every POST is a JWS the engine verifies. */
	{ "GET",    "/acme/directory",           web_h_acme_directory,    WEB_AUTH_ACME, NULL },
	{ "GET",    "/acme/new-nonce",           web_h_acme_nonce,        WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/new-account",         web_h_acme_new_account,  WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/acct/{id}",           web_h_acme_account,      WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/acct/{id}/orders",    web_h_acme_orders,       WEB_AUTH_ACME, NULL },
	{ "POST",   "/acme/acct/{id}/orders/{n}", web_h_acme_orders,      WEB_AUTH_ACME, NULL },
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

/* Does PATH fit PAT? "{x}" takes one non-empty segment. Fills M's params;
 * a segment of WEB_PARAM_MAX bytes or more fits too, as an empty param
 * with m->overlong set (the route's to refuse as a bad id, not a 404). */
static int
pattern_match(const char *pat, const char *path, struct web_match *m)
{
	const char *p = pat, *s = path;

	m->nparams = 0;
	m->overlong = 0;
	while (*p != '\0' && *s != '\0') {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			size_t len = strcspn(s, "/");

			if (close == NULL || len == 0 ||
			    m->nparams == WEB_MAX_PARAMS)
				return 0;
			if (len >= WEB_PARAM_MAX) {
				m->overlong = 1;
				m->param[m->nparams][0] = '\0';
			} else {
				memcpy(m->param[m->nparams], s, len);
				m->param[m->nparams][len] = '\0';
			}
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

void
web_routes_methods(const struct web_route *table, size_t n, char *allow,
		   size_t size)
{
	if (size == 0)
		return;
	allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		allow_add(allow, size, table[i].method);
		if (strcmp(table[i].method, "GET") == 0)
			allow_add(allow, size, "HEAD");
	}
	allow_add(allow, size, "OPTIONS");
}

/* Paths clients take from Windows servers, whose IIS matches them in any
 * case (NDES is documented as /CertSrv/mscep/mscep.dll as often as in
 * lower case; a device profile keeps what the admin typed): PATH, or the
 * route's spelling of it. */
static const char *
iis_path(const char *path)
{
	static const char *const paths[] = {
		"/certsrv/mscep/mscep.dll", "/cgi-bin/pkiclient.exe",
		"/scep/pkiclient.exe",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (strcasecmp(path, paths[i]) == 0)
			return paths[i];
	return path;
}

int
web_route_match(const struct web_route *table, size_t n, const char *method,
		const char *path, struct web_match *m)
{
	struct web_match tmp;
	const struct web_route *overlong = NULL;
	int path_known = 0;

	memset(m, 0, sizeof(*m));
	path = iis_path(path);
	for (size_t i = 0; i < n; i++) {
		if (!pattern_match(table[i].pattern, path, &tmp))
			continue;
		path_known = 1;
		if (method_fits(table[i].method, method)) {
			/* A route that takes the segments as they are goes
			 * before one that would refuse one as too long. */
			if (tmp.overlong) {
				if (overlong == NULL)
					overlong = &table[i];
				continue;
			}
			*m = tmp;
			m->route = &table[i];
			m->allow[0] = '\0';
			return WEB_ROUTE_OK;
		}
		allow_add(m->allow, sizeof(m->allow), table[i].method);
		if (strcmp(table[i].method, "GET") == 0)
			allow_add(m->allow, sizeof(m->allow), "HEAD");
	}
	if (overlong != NULL) {
		(void)pattern_match(overlong->pattern, path, m);
		m->route = overlong;
		m->allow[0] = '\0';
		return WEB_ROUTE_OK;
	}
	if (!path_known) {
		m->allow[0] = '\0';
		return WEB_ROUTE_NOT_FOUND;
	}
	return WEB_ROUTE_BAD_METHOD;
}

/* The handlers that may take seconds: each may sign a CRL (a revocation,
 * a release from hold, a renewal that supersedes, a publication), which
 * at a million entries takes seconds. */
static const web_handler_fn slow_handlers[] = {
	web_h_cert_renew, web_h_cert_revoke, web_h_cert_unrevoke,
	web_h_crl_publish, web_h_acme_revoke,
};

int
web_route_slow(const struct web_route *table, size_t n, const char *method,
	       const char *raw, size_t len)
{
	char path[WEB_PATH_MAX];
	struct web_match m;
	struct mica_err err;

	/* Every slow route is a POST: the rest need not be parsed twice. */
	if (method == NULL || strcmp(method, "POST") != 0 ||
	    web_path_parse(raw, len, path, sizeof(path), &err) != 0 ||
	    web_route_match(table, n, method, path, &m) != WEB_ROUTE_OK)
		return 0;
	for (size_t i = 0; i < sizeof(slow_handlers) / sizeof(slow_handlers[0]); i++)
		if (m.route->fn == slow_handlers[i])
			return 1;
	return 0;
}

int
web_route_acme(const char *raw, size_t len)
{
	static const size_t plen = sizeof(WEB_ACME_PREFIX) - 1;
	char path[WEB_PATH_MAX];

	if (raw == NULL)
		return 0;
	if (web_path_parse(raw, len, path, sizeof(path), NULL) == 0)
		return strncmp(path, WEB_ACME_PREFIX, plen) == 0;
	return len >= plen && memcmp(raw, WEB_ACME_PREFIX, plen) == 0;
}

/* The part of a "{*}" pattern before it, or 0 if PAT has none. */
static size_t
tail_prefix(const char *pat)
{
	size_t n = strlen(pat);

	return n >= 3 && strcmp(pat + n - 3, "{*}") == 0 ? n - 3 : 0;
}

int
web_route_match_tail(const struct web_route *table, size_t n,
		     const char *method, const char *raw, size_t len,
		     struct web_match *m)
{
	int known = 0;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; raw != NULL && i < n; i++) {
		size_t pre = tail_prefix(table[i].pattern);

		if (pre == 0 || len < pre ||
		    memcmp(raw, table[i].pattern, pre) != 0 ||
		    memchr(raw + pre, '?', len - pre) != NULL ||
		    memchr(raw + pre, '#', len - pre) != NULL)
			continue;
		if (!method_fits(table[i].method, method)) {
			/* The path is the route's, whatever its tail's
			 * length: 405, not a 404 for a long one. */
			known = 1;
			allow_add(m->allow, sizeof(m->allow), table[i].method);
			if (strcmp(table[i].method, "GET") == 0)
				allow_add(m->allow, sizeof(m->allow), "HEAD");
			continue;
		}
		/* An empty tail, or one too long to be what the route takes,
		 * is still the route's to refuse in its own terms (an OCSP
		 * malformedRequest, not a JSON 400/404): it gets "". */
		if (len - pre < WEB_TAIL_MAX) {
			memcpy(m->tail, raw + pre, len - pre);
			m->tail[len - pre] = '\0';
		}
		m->route = &table[i];
		m->allow[0] = '\0';
		return WEB_ROUTE_OK;
	}
	return known ? WEB_ROUTE_BAD_METHOD : WEB_ROUTE_NOT_FOUND;
}

const char *
web_log_path(const char *raw, size_t len)
{
	const struct web_asset *a;
	struct web_match m;
	char path[WEB_PATH_MAX];

	/* A tail route is logged by its pattern, never its tail. */
	for (size_t i = 0; raw != NULL && i < sizeof(routes) / sizeof(routes[0]);
	     i++) {
		size_t pre = tail_prefix(routes[i].pattern);

		if (pre > 0 && len > pre && memcmp(raw, routes[i].pattern,
						   pre) == 0)
			return routes[i].pattern;
	}
	if (raw != NULL && len == 1 && raw[0] == '*')
		return "*";     /* the asterisk form: "OPTIONS *" */
	if (raw == NULL || web_path_parse(raw, len, path, sizeof(path), NULL) != 0)
		return "(other path)";
	if ((a = web_asset_find(path)) != NULL)
		return a->path;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (pattern_match(routes[i].pattern, path, &m))
			return routes[i].pattern;
	return "(other path)";
}

const char *
web_log_method(const char *method)
{
	static const char *const known[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
		"TRACE", "PATCH",
	};

	for (size_t i = 0; method != NULL && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(method, known[i]) == 0)
			return known[i];
	return "OTHER";
}

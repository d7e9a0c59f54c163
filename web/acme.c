/*
 * web/acme.c - ACME (RFC 8555) over HTTPS: the directory, the nonces, and
 * one handler per resource. Each is parse -> engine (ca/acme.h, which
 * verifies the JWS and decides) -> render, and every reply - success or
 * problem - carries a fresh Replay-Nonce and the directory's Link.
 *
 * URLs are built from the request's Host header (checked: a host name or
 * address and a port, nothing else), so a client reaches the CA by the
 * name it was given (https://ca.contoso.test:8443/acme/directory) and the
 * JWS "url" it signs is compared with exactly what it asked for.
 *
 * Errors are RFC 7807 problem documents (application/problem+json) with
 * the ACME error types (RFC 8555 6.7); the engine's codes are mapped here,
 * and an internal error tells the client nothing but "serverInternal".
 */
#include "web/acme.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/acme.h"
#include "ca/x509.h"
#include "util/log.h"
#include "web/api.h"
#include "web/blob.h"
#include "web/crl_cache.h"
#include "web/json.h"
#include "web/parse.h"
#include "web/reply.h"
#include "web/server.h"

#define BASE_MAX 160   /* "https://" HOST (at most 100) "/acme" */
#define URL_MAX 384    /* BASE_MAX, a path of ours and two ids */
#define ARI_RETRY_AFTER (6 * 3600)   /* RFC 9773 4.3: poll again in hours */

struct acme_call {
	struct web_ctx *c;
	struct web_reply *rep;
	struct ca_acme *a;
	char base[BASE_MAX];        /* "https://HOST/acme" */
	char url[WEB_PATH_MAX + BASE_MAX];   /* this request's URL */
	char acct_prefix[BASE_MAX + 8];      /* base "/acct/" */
	struct ca_acme_req req;
	/* A new order refused for its names: each name refused, said as
	 * subproblems (RFC 8555 6.7.1), or NULL. */
	const struct ca_acme_order *refused;
};

/* -------------------------------------------------------- problems -- */

static const struct {
	const char *code;           /* the engine's */
	const char *type;           /* RFC 8555 6.7 */
	int status;
} types[] = {
	{ "malformed",                 "malformed",               400 },
	{ "bad_nonce",                 "badNonce",                400 },
	{ "unauthorized",              "unauthorized",            403 },
	/* RFC 8555 7.3.6: a request of a deactivated account is 401. */
	{ "account_deactivated",       "unauthorized",            401 },
	{ "account_does_not_exist",    "accountDoesNotExist",     400 },
	/* Its key revoked for keyCompromise: anyone may hold it. */
	{ "account_key_compromised",   "unauthorized",            403 },
	{ "rejected_identifier",       "rejectedIdentifier",      400 },
	{ "unsupported_identifier",    "unsupportedIdentifier",   400 },
	{ "bad_csr",                   "badCSR",                  400 },
	{ "order_not_ready",           "orderNotReady",           403 },
	{ "bad_public_key",            "badPublicKey",            400 },
	{ "bad_signature_algorithm",   "badSignatureAlgorithm",   400 },
	{ "bad_eab_algorithm",         "badSignatureAlgorithm",   400 },
	{ "external_account_required", "externalAccountRequired", 403 },
	{ "bad_revocation_reason",     "badRevocationReason",     400 },
	{ "already_revoked",           "alreadyRevoked",          400 },
	{ "already_replaced",          "alreadyReplaced",         409 },
	{ "invalid_contact",           "invalidContact",          400 },
	{ "unsupported_contact",       "unsupportedContact",      400 },
	{ "rate_limited",              "rateLimited",             429 },
	{ "connection",                "connection",              400 },
	{ "dns",                       "dns",                     400 },
	{ "incorrect_response",        "incorrectResponse",       400 },
	{ "tls",                       "tls",                     400 },
	{ "server_internal",           "serverInternal",          500 },
	{ "key_in_use",                "malformed",               409 },
	/* The CA cannot issue (the root's CRL revokes its certificate): the
	 * server's matter, not the client's request; said as it is. */
	{ "ca_revoked",                "serverInternal",          503 },
	/* The dispatcher's, before any handler (web_acme_error). */
	{ "method_not_allowed",        "malformed",               405 },
	/* RFC 9110 15.5.7: the certificate in no format the Accept allows;
	 * ACME has no type of its own for it. */
	{ "not_acceptable",            "malformed",               406 },
	/* The engine's policy, in ACME's words: a name the account may not
	 * have is a rejected identifier; a key or CSR it may not certify is a
	 * bad CSR. */
	{ "name_not_allowed",          "rejectedIdentifier",      400 },
	{ "name_not_in_scope",         "rejectedIdentifier",      400 },
	{ "name_kind_not_allowed",     "rejectedIdentifier",      400 },
	{ "profile_not_in_scope",      "rejectedIdentifier",      400 },
	{ "too_many_names",            "rejectedIdentifier",      400 },
	{ "no_names",                  "rejectedIdentifier",      400 },
	{ "bad_name",                  "rejectedIdentifier",      400 },
	{ "weak_key",                  "badCSR",                  400 },
	{ "unsupported_key",           "badCSR",                  400 },
	{ "weak_signature",            "badCSR",                  400 },
	{ "key_compromised",           "badCSR",                  400 },
	{ "account_key",               "badCSR",                  400 },
	{ "bad_token",                 "unauthorized",            403 },
	{ "token_exhausted",           "unauthorized",            403 },
};

/* The ACME type and HTTP status of an engine error. */
static void
problem_type(const struct mica_err *e, const char **type, int *status)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(e->code, types[i].code) == 0) {
			*type = types[i].type;
			*status = types[i].status;
			/* A missing resource is 404 whatever its type, a body
			 * of another media type 415 (RFC 8555 6.2), one too
			 * large 413. */
			if (e->kind == MICA_E_NOTFOUND)
				*status = 404;
			else if (e->kind == MICA_E_UNSUPPORTED)
				*status = 415;
			else if (e->kind == MICA_E_TOOLARGE)
				*status = 413;
			return;
		}
	switch (e->kind) {
	case MICA_E_UNAUTH:
	case MICA_E_FORBIDDEN:   *type = "unauthorized"; *status = 403; break;
	case MICA_E_NOTFOUND:    *type = "malformed"; *status = 404; break;
	case MICA_E_CONFLICT:    *type = "malformed"; *status = 409; break;
	case MICA_E_TOOLARGE:    *type = "malformed"; *status = 413; break;
	case MICA_E_UNSUPPORTED: *type = "malformed"; *status = 415; break;
	case MICA_E_POLICY:      *type = "rejectedIdentifier"; *status = 400; break;
	case MICA_E_RATE:        *type = "rateLimited"; *status = 429; break;
	case MICA_E_UNAVAIL:     *type = "serverInternal"; *status = 503; break;
	case MICA_E_BADREQ:
	case MICA_E_USAGE:       *type = "malformed"; *status = 400; break;
	default:                 *type = "serverInternal"; *status = 500; break;
	}
}

/* SRC as a problem's detail, which clients print to a terminal:
 * printable ASCII, any other byte as \xNN - as the engine's messages
 * already show controls and blanks (util/shown.h), so that a name is
 * shown one way ("b\xc3\xbccher", not "b??cher" beside "x\x20"). A
 * byte is never cut in half of its escape. */
static void
printable(char *detail, size_t size, const char *src)
{
	size_t n = 0;

	for (const unsigned char *s = (const unsigned char *)src; *s != '\0';
	     s++) {
		if (*s >= 0x20 && *s < 0x7f) {
			if (n + 1 >= size)
				break;
			detail[n++] = (char)*s;
		} else {
			if (n + 4 >= size)
				break;
			snprintf(detail + n, 5, "\\x%02x", *s);
			n += 4;
		}
	}
	detail[n] = '\0';
}

/* RFC 8555 6.7.1: each name of order O refused, as a problem of its own
 * with the identifier it is about. */
static int
subproblems(json_t *problem, const struct ca_acme_order *o)
{
	json_t *a = json_array();

	if (a == NULL || json_object_set_new(problem, "subproblems", a) != 0)
		return -1;
	for (size_t i = 0; i < o->nrejected; i++) {
		const struct ca_acme_rejected *x = &o->rejected[i];
		const char *type;
		char detail[256], urn[96];
		int status;
		json_t *sp;

		problem_type(&x->why, &type, &status);
		snprintf(urn, sizeof(urn), "urn:ietf:params:acme:error:%s", type);
		printable(detail, sizeof(detail), x->why.msg);
		sp = json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", urn,
			       "detail", detail, "identifier",
			       "type", x->ident.ip ? "ip" : "dns",
			       "value", x->ident.value);
		if (sp == NULL || json_array_append_new(a, sp) != 0)
			return -1;
	}
	return 0;
}

/* RFC 7807 with the ACME type into the reply. */
static void
problem(struct acme_call *k, const struct mica_err *e)
{
	static const char *const algs[] = CA_ACME_JWS_ALGS;
	static const char *const macs[] = { "HS256", "HS384", "HS512" };
	struct web_reply *rep = k->rep;
	const char *type;
	char detail[256], urn[96];
	int status, retry = rep->retry_after, close = rep->close;
	json_t *o;

	problem_type(e, &type, &status);
	if (strcmp(type, "serverInternal") == 0 &&
	    strcmp(e->code, "ca_revoked") != 0) {
		mica_log(MICA_LOG_ERR, "acme: %s: %s", e->code, e->msg);
		snprintf(detail, sizeof(detail), "%s", e->kind == MICA_E_UNAVAIL ?
			 "the CA is unavailable; try again shortly" : "internal error");
	} else {
		printable(detail, sizeof(detail), e->msg);
	}
	snprintf(urn, sizeof(urn), "urn:ietf:params:acme:error:%s", type);
	web_reply_clear(rep);
	rep->close = close;
	o = json_object();
	if (o == NULL ||
	    json_object_set_new(o, "type", json_string(urn)) != 0 ||
	    json_object_set_new(o, "detail", json_string(detail)) != 0 ||
	    json_object_set_new(o, "status", json_integer(status)) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (o != NULL && strcmp(type, "badSignatureAlgorithm") == 0) {
		/* RFC 8555 6.2: say which algorithms would do (for an
		 * external account binding, the MACs). */
		json_t *a = json_array();
		int mac = strcmp(e->code, "bad_eab_algorithm") == 0;
		const char *const *l = mac ? macs : algs;
		size_t n = mac ? sizeof(macs) / sizeof(macs[0]) :
				 sizeof(algs) / sizeof(algs[0]);

		for (size_t i = 0; a != NULL && i < n; i++)
			json_array_append_new(a, json_string(l[i]));
		json_object_set_new(o, "algorithms", a);
	}
	if (o != NULL && k->refused != NULL && k->refused->nrejected > 0 &&
	    subproblems(o, k->refused) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (web_reply_json(rep, status, o, 0, NULL) != 0) {
		static const char fallback[] =
			"{\"type\": \"urn:ietf:params:acme:error:serverInternal\", "
			"\"detail\": \"internal error\", \"status\": 500}\n";

		web_reply_clear(rep);
		rep->close = close;
		rep->status = 500;
		rep->pbody = fallback;
		rep->plen = sizeof(fallback) - 1;
	}
	rep->ctype = "application/problem+json";
	if (status == 429 || status == 503)
		rep->retry_after = retry > 0 ? retry : (status == 429 ? 10 : 5);
}

/* ------------------------------------------------------- the request -- */

/* A Host header we may build URLs on: a name or IPv4 address, or an IPv6
 * address in brackets, and an optional port from 1 to 65535
 * (web_host_ok); a name of letters, digits, dots and hyphens only. */
static int
host_ok(const char *h)
{
	const char *p = h;
	size_t n = strlen(h);

	if (n == 0 || n > 100 || !web_host_ok(h))
		return 0;
	if (*p == '[')
		p = strchr(p, ']') + 1;         /* web_host_ok: there is one */
	else
		for (; *p != '\0' && *p != ':'; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
				return 0;
	return p != h;
}

/* The request's path, from its route's pattern and parameters. */
static int
request_path(const struct web_ctx *c, char *out, size_t size)
{
	const char *p = c->m->route->pattern;
	size_t o = 0, k = 0;

	while (*p != '\0') {
		const char *add = p;
		size_t n = 1;

		if (*p == '{') {
			const char *close = strchr(p, '}');

			if (close == NULL || k >= c->m->nparams)
				return -1;
			add = c->m->param[k++];
			n = strlen(add);
			p = close + 1;
		} else {
			p++;
		}
		if (o + n >= size)
			return -1;
		memcpy(out + o, add, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

/* Set up K for an ACME call; a POST must carry a JWS. */
static int
begin(struct web_ctx *c, struct web_reply *rep, struct acme_call *k, int post,
      struct mica_err *err)
{
	char path[WEB_PATH_MAX];
	int n;

	memset(k, 0, sizeof(*k));
	k->c = c;
	k->rep = rep;
	if ((k->a = web_server_acme(c->srv)) == NULL)
		return mica_err_set(err, MICA_E_UNAVAIL, "server_internal",
				    "ACME is not running");
	if (c->host == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "malformed",
				    "the request needs a Host header naming this server");
	/* Present but not one to build URLs on ("h:0", "h:", a long name):
	 * say so, not that it is missing. */
	if (!host_ok(c->host))
		return mica_err_set(err, MICA_E_BADREQ, "malformed",
				    "the Host header must be a host name or address of "
				    "at most 100 characters, with a port from 1 to 65535 "
				    "if any");
	if (request_path(c, path, sizeof(path)) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "path", "request path too long");
	n = snprintf(k->base, sizeof(k->base), "https://%s/acme", c->host);
	if (n < 0 || (size_t)n >= sizeof(k->base) ||
	    snprintf(k->url, sizeof(k->url), "https://%s%s", c->host, path) >= (int)sizeof(k->url) ||
	    snprintf(k->acct_prefix, sizeof(k->acct_prefix), "%s/acct/", k->base) >=
	    (int)sizeof(k->acct_prefix))
		return mica_err_set(err, MICA_E_BADREQ, "malformed", "the URL is too long");
	if (post && strcmp(c->ctype, "application/jose+json") != 0)
		return mica_err_set(err, MICA_E_UNSUPPORTED, "malformed",
				    "ACME requests are JWS with Content-Type: "
				    "application/jose+json");
	k->req.body = c->body;
	k->req.body_len = c->body_len;
	k->req.url = k->url;
	k->req.acct_prefix = k->acct_prefix;
	k->req.client = c->client;
	return 0;
}

/* Every ACME reply: the problem if RC failed, a fresh nonce (RFC 8555
 * 6.5: also on errors, so a client can retry badNonce at once) and the
 * directory's Link (7.1). The handler itself never fails: ACME errors are
 * problem documents, not mica's JSON errors. */
static int
finish(struct acme_call *k, int rc, const struct mica_err *err)
{
	char nonce[CA_ACME_NONCE_MAX];

	if (rc != 0)
		problem(k, err);
	if (k->a != NULL) {
		ca_acme_nonce(k->a, nonce);
		web_reply_header(k->rep, "Replay-Nonce", "%s", nonce);
	}
	if (k->base[0] != '\0')
		web_reply_header(k->rep, "Link", "<%s/directory>;rel=\"index\"", k->base);
	return 0;
}

void
web_acme_error(struct web_server *srv, struct web_reply *rep,
	       const struct mica_err *e)
{
	struct acme_call k;

	/* No Link: the Host of a request refused this early (over plain
	 * HTTP, say) need not name the ACME listener. */
	memset(&k, 0, sizeof(k));
	k.rep = rep;
	k.a = web_server_acme(srv);
	finish(&k, -1, e);
}

/* ------------------------------------------------------------ render -- */

static json_t *
problem_json(const char *code, const char *detail)
{
	struct mica_err e;
	const char *type;
	char urn[96];
	int status;
	json_t *o = json_object();

	mica_err_set(&e, MICA_E_BADREQ, code, "%s", detail != NULL ? detail : "");
	snprintf(e.code, sizeof(e.code), "%s", code);
	problem_type(&e, &type, &status);
	snprintf(urn, sizeof(urn), "urn:ietf:params:acme:error:%s", type);
	json_object_set_new(o, "type", json_string(urn));
	json_object_set_new(o, "detail", mica_jstr(detail != NULL ? detail : ""));
	json_object_set_new(o, "status", json_integer(status));
	return o;
}

static json_t *
account_json(struct acme_call *k, const struct ca_acme_account *acct)
{
	json_t *o = json_object();
	char url[URL_MAX];

	snprintf(url, sizeof(url), "%s/acct/%s/orders", k->base, acct->id);
	json_object_set_new(o, "status", json_string(acct->status));
	if (acct->contact != NULL)
		json_object_set_new(o, "contact", mica_jlines(acct->contact));
	json_object_set_new(o, "orders", json_string(url));
	json_object_set_new(o, "createdAt", web_jtime(acct->created_at));
	return o;
}

static json_t *
ident_json(int ip, const char *value)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string(ip ? "ip" : "dns"));
	json_object_set_new(o, "value", json_string(value));
	return o;
}

static json_t *
order_json(struct acme_call *k, const struct ca_acme_order *ord)
{
	json_t *o = json_object(), *ids = json_array(), *az = json_array();
	char url[URL_MAX];

	json_object_set_new(o, "status", json_string(ord->status));
	json_object_set_new(o, "expires", web_jtime(ord->expires));
	for (size_t i = 0; i < ord->nidents; i++)
		json_array_append_new(ids, ident_json(ord->idents[i].ip, ord->idents[i].value));
	json_object_set_new(o, "identifiers", ids);
	for (size_t i = 0; i < ord->nauthz; i++) {
		snprintf(url, sizeof(url), "%s/authz/%s", k->base, ord->authz[i]);
		json_array_append_new(az, json_string(url));
	}
	json_object_set_new(o, "authorizations", az);
	snprintf(url, sizeof(url), "%s/order/%s/finalize", k->base, ord->id);
	json_object_set_new(o, "finalize", json_string(url));
	if (ord->serial[0] != '\0') {
		snprintf(url, sizeof(url), "%s/cert/%s", k->base, ord->serial);
		json_object_set_new(o, "certificate", json_string(url));
	}
	if (ord->error_code != NULL)
		json_object_set_new(o, "error", problem_json(ord->error_code, ord->error_detail));
	if (ord->replaces != NULL)
		json_object_set_new(o, "replaces", mica_jstr(ord->replaces));
	return o;
}

static json_t *
chall_json(struct acme_call *k, const struct ca_acme_authz *z, int type)
{
	json_t *o = json_object();
	char url[URL_MAX];
	const char *status = "pending";

	snprintf(url, sizeof(url), "%s/chall/%s/%s", k->base, z->id, ca_acme_chall_name(type));
	if (z->tried == type)
		status = z->tried_status;
	json_object_set_new(o, "type", json_string(ca_acme_chall_name(type)));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "status", json_string(status));
	json_object_set_new(o, "token", json_string(z->token));
	if (z->tried == type && z->validated_at != 0)
		json_object_set_new(o, "validated", web_jtime(z->validated_at));
	if (z->tried == type && z->error_code != NULL)
		json_object_set_new(o, "error", problem_json(z->error_code, z->error_detail));
	return o;
}

static json_t *
authz_json(struct acme_call *k, const struct ca_acme_authz *z)
{
	static const int order[] = { CA_ACME_HTTP01, CA_ACME_DNS01, CA_ACME_TLSALPN01 };
	json_t *o = json_object(), *ch = json_array();

	json_object_set_new(o, "identifier", ident_json(z->ident.ip, z->ident.value));
	json_object_set_new(o, "status", json_string(z->status));
	json_object_set_new(o, "expires", web_jtime(z->expires));
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (z->offered & (unsigned)order[i])
			json_array_append_new(ch, chall_json(k, z, order[i]));
	json_object_set_new(o, "challenges", ch);
	if (z->wildcard)
		json_object_set_new(o, "wildcard", json_true());
	return o;
}

/* Reply 200/201 with OBJ (stolen). */
static int
reply(struct acme_call *k, int status, json_t *obj, struct mica_err *err)
{
	return web_reply_json(k->rep, status, obj, 0, err);
}

/* ---------------------------------------------------------- handlers -- */

int
web_h_acme_directory(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	static const struct { const char *key, *path; } res[] = {
		{ "newNonce", "new-nonce" }, { "newAccount", "new-account" },
		{ "newOrder", "new-order" }, { "revokeCert", "revoke-cert" },
		{ "keyChange", "key-change" }, { "renewalInfo", "renewal-info" },
	};
	struct acme_call k;
	json_t *o, *meta;
	char url[URL_MAX];
	int rc;

	if ((rc = begin(c, rep, &k, 0, err)) == 0) {
		o = json_object();
		meta = json_object();
		for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
			snprintf(url, sizeof(url), "%s/%s", k.base, res[i].path);
			json_object_set_new(o, res[i].key, json_string(url));
		}
		json_object_set_new(meta, "externalAccountRequired",
				    json_boolean(ca_acme_eab_required(k.a)));
		if (ca_public_url(c->ca) != NULL)
			json_object_set_new(meta, "website", mica_jstr(ca_public_url(c->ca)));
		json_object_set_new(o, "meta", meta);
		rc = reply(&k, 200, o, err);
	}
	if (rc != 0)
		problem(&k, err);
	return 0;
}

int
web_h_acme_nonce(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	int rc = begin(c, rep, &k, 0, err);

	if (rc == 0) {
		/* RFC 8555 7.2: 200 to HEAD, 204 to GET, no body. */
		rep->status = strcmp(c->method, "HEAD") == 0 ? 200 : 204;
		rep->ctype = NULL;
	}
	return finish(&k, rc, err);
}

int
web_h_acme_new_account(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	struct ca_acme_account acct;
	int rc, created = 0;

	memset(&acct, 0, sizeof(acct));
	if ((rc = begin(c, rep, &k, 1, err)) == 0 &&
	    (rc = ca_acme_new_account(c->ca, k.a, &k.req, &acct, &created, err)) == 0 &&
	    (rc = reply(&k, created ? 201 : 200, account_json(&k, &acct), err)) == 0)
		web_reply_header(rep, "Location", "%s%s", k.acct_prefix, acct.id);
	ca_acme_account_free(&acct);
	return finish(&k, rc, err);
}

int
web_h_acme_account(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	struct ca_acme_account acct;
	int rc;

	memset(&acct, 0, sizeof(acct));
	if ((rc = begin(c, rep, &k, 1, err)) == 0 &&
	    (rc = ca_acme_account_post(c->ca, k.a, &k.req, c->m->param[0], &acct, err)) == 0)
		rc = reply(&k, 200, account_json(&k, &acct), err);
	ca_acme_account_free(&acct);
	return finish(&k, rc, err);
}

int
web_h_acme_orders(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	char (*ids)[CA_ID_MAX] = NULL, url[URL_MAX];
	size_t n = 0;
	int64_t before = 0, next = 0;
	json_t *o, *a;
	int rc;

	/* /acme/acct/ID/orders/PLACE: a page after the first, as the "next"
	 * link of the one before gave it (RFC 8555 7.1.2.1) - digits, no
	 * leading zero; anything else names no page (-1). */
	if (c->m->nparams > 1) {
		const char *pg = c->m->param[1];
		size_t len = strlen(pg);

		before = len > 0 && len <= 18 && pg[0] != '0' &&
			 strspn(pg, "0123456789") == len ? strtoll(pg, NULL, 10) : -1;
	}
	if ((rc = begin(c, rep, &k, 1, err)) == 0 &&
	    (rc = ca_acme_orders_post(c->ca, k.a, &k.req, c->m->param[0], before,
				      &ids, &n, &next, err)) == 0) {
		o = json_object();
		a = json_array();
		for (size_t i = 0; i < n; i++) {
			snprintf(url, sizeof(url), "%s/order/%s", k.base, ids[i]);
			json_array_append_new(a, json_string(url));
		}
		json_object_set_new(o, "orders", a);
		rc = reply(&k, 200, o, err);
		if (rc == 0 && next > 0)
			web_reply_header(rep, "Link", "<%s%s/orders/%lld>;rel=\"next\"",
					 k.acct_prefix, c->m->param[0], (long long)next);
	}
	free(ids);
	return finish(&k, rc, err);
}

int
web_h_acme_key_change(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	struct ca_acme_account acct;
	char other[CA_ID_MAX] = "";
	int rc;

	memset(&acct, 0, sizeof(acct));
	if ((rc = begin(c, rep, &k, 1, err)) == 0 &&
	    (rc = ca_acme_key_change(c->ca, k.a, &k.req, &acct, other, err)) == 0)
		rc = reply(&k, 200, account_json(&k, &acct), err);
	ca_acme_account_free(&acct);
	finish(&k, rc, err);
	/* RFC 8555 7.3.5: a conflict names the account that has the key. */
	if (rc != 0 && other[0] != '\0')
		web_reply_header(rep, "Location", "%s%s", k.acct_prefix, other);
	return 0;
}

int
web_h_acme_new_order(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	struct ca_acme_order o;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = begin(c, rep, &k, 1, err)) == 0 &&
	    (rc = ca_acme_new_order(c->ca, k.a, &k.req, &o, err)) == 0 &&
	    (rc = reply(&k, 201, order_json(&k, &o), err)) == 0)
		web_reply_header(rep, "Location", "%s/order/%s", k.base, o.id);
	/* The open orders' limit: when the first of them expires. */
	if (rc != 0 && o.retry_after > 0)
		rep->retry_after = (int)o.retry_after;
	k.refused = &o;
	finish(&k, rc, err);
	ca_acme_order_free(&o);
	return 0;
}

/* An order reply: Retry-After while it is processing (RFC 8555 7.4). */
static int
order_reply(struct acme_call *k, const struct ca_acme_order *o, int location,
	    struct mica_err *err)
{
	if (reply(k, 200, order_json(k, o), err) != 0)
		return -1;
	if (strcmp(o->status, "processing") == 0)
		k->rep->retry_after = 1;
	if (location)
		web_reply_header(k->rep, "Location", "%s/order/%s", k->base, o->id);
	return 0;
}

int
web_h_acme_order(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	struct ca_acme_order o;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = begin(c, rep, &k, 1, err)) == 0 &&
	    (rc = ca_acme_order_post(c->ca, k.a, &k.req, c->m->param[0], &o, err)) == 0)
		rc = order_reply(&k, &o, 0, err);
	ca_acme_order_free(&o);
	return finish(&k, rc, err);
}

int
web_h_acme_finalize(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	struct ca_acme_order o;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = begin(c, rep, &k, 1, err)) == 0 &&
	    (rc = ca_acme_finalize(c->ca, k.a, &k.req, c->m->param[0], &o, err)) == 0)
		rc = order_reply(&k, &o, 1, err);
	ca_acme_order_free(&o);
	return finish(&k, rc, err);
}

int
web_h_acme_authz(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	struct ca_acme_authz z;
	int rc;

	memset(&z, 0, sizeof(z));
	if ((rc = begin(c, rep, &k, 1, err)) == 0 &&
	    (rc = ca_acme_authz_post(c->ca, k.a, &k.req, c->m->param[0], &z, err)) == 0 &&
	    (rc = reply(&k, 200, authz_json(&k, &z), err)) == 0 &&
	    strcmp(z.tried_status, "processing") == 0)
		rep->retry_after = 1;
	ca_acme_authz_free(&z);
	return finish(&k, rc, err);
}

int
web_h_acme_chall(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	struct ca_acme_authz z;
	int rc, type = ca_acme_chall_parse(c->m->param[1]);

	memset(&z, 0, sizeof(z));
	if ((rc = begin(c, rep, &k, 1, err)) == 0 && type == 0)
		rc = mica_err_set(err, MICA_E_NOTFOUND, "malformed", "no such challenge type");
	if (rc == 0 &&
	    (rc = ca_acme_chall_post(c->ca, k.a, &k.req, c->m->param[0], type, &z, err)) == 0 &&
	    (rc = reply(&k, 200, chall_json(&k, &z, type), err)) == 0) {
		if (z.tried == type && strcmp(z.tried_status, "processing") == 0)
			rep->retry_after = 1;
		web_reply_header(rep, "Link", "<%s/authz/%s>;rel=\"up\"", k.base, z.id);
	}
	ca_acme_authz_free(&z);
	return finish(&k, rc, err);
}

/* The formats of a certificate, in the order of preference (RFC 8555
 * 7.4.2: the PEM chain unless the client asks for another). */
enum { CERT_PEM, CERT_DER, CERT_P7 };
static const char *const cert_types[] = {
	"application/pem-certificate-chain",   /* RFC 8555 9.1 */
	"application/pkix-cert",               /* RFC 2585 4.1: the leaf */
	"application/pkcs7-mime",              /* RFC 8551 3.2.2 certs-only */
};

/* The certificate as the request's Accept asks: the PEM chain, the leaf's
 * DER, or the chain as a PKCS#7 certs-only message; 406 for none of
 * them. Checked once the certificate is found and the account may read
 * it, so that an unknown one is 404 whatever the Accept. */
int
web_h_acme_cert(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	unsigned char *der = NULL, *p7 = NULL;
	const char *chain;
	char *leaf = NULL;
	size_t len = 0, ll, rl, p7_len = 0;
	struct web_blob *b;
	int rc, key_idx = 0,
	    form = web_accept_pick(c->accept, cert_types,
				   sizeof(cert_types) / sizeof(cert_types[0]));

	if ((rc = begin(c, rep, &k, 1, err)) != 0 ||
	    (rc = ca_acme_cert_post(c->ca, k.a, &k.req, c->m->param[0], &der, &len,
				    &chain, &key_idx, err)) != 0)
		goto out;
	switch (form) {
	case CERT_PEM:
		if ((rc = ca_pem_encode("CERTIFICATE", der, len, &leaf, err)) != 0)
			break;
		/* RFC 8555 9.1: the certificate, then its issuers upwards:
		 * the CA certificate of the key that signed it (a key a
		 * rollover retired, for an older one), up to the root. */
		ll = strlen(leaf);
		rl = chain != NULL ? strlen(chain) : 0;
		if ((b = web_blob_new(NULL, ll + rl)) == NULL) {
			rc = mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
			break;
		}
		memcpy(b->data, leaf, ll);
		if (rl > 0)
			memcpy(b->data + ll, chain, rl);
		rep->blob = b;
		rep->status = 200;
		rep->ctype = cert_types[CERT_PEM];
		break;
	case CERT_DER:
		if ((rep->blob = web_blob_adopt(der, len)) == NULL) {   /* frees DER */
			der = NULL;
			rc = mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
			break;
		}
		der = NULL;
		rep->status = 200;
		rep->ctype = cert_types[CERT_DER];
		break;
	case CERT_P7:
		/* The same certificates as the PEM chain (ca_bundle: never
		 * without the chain of the key that signed it). */
		if ((rc = ca_bundle(c->ca, der, len, key_idx, CA_BUNDLE_P7B, &p7,
				    &p7_len, err)) != 0)
			break;
		if ((rep->blob = web_blob_adopt(p7, p7_len)) == NULL) {   /* frees P7 */
			rc = mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
			break;
		}
		rep->status = 200;
		rep->ctype = "application/pkcs7-mime; smime-type=certs-only";
		break;
	default:
		rc = mica_err_set(err, MICA_E_BADREQ, "not_acceptable",
				  "the certificate is served as "
				  "application/pem-certificate-chain (the default), "
				  "application/pkix-cert or application/pkcs7-mime: "
				  "the Accept header allows none of them");
		break;
	}
out:
	free(leaf);
	free(der);
	return finish(&k, rc, err);
}

int
web_h_acme_revoke(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	int rc;

	if ((rc = begin(c, rep, &k, 1, err)) == 0 &&
	    (rc = ca_acme_revoke(c->ca, k.a, &k.req, err)) == 0) {
		/* /crl serves the new CRL from now on. */
		web_crl_changed(c->srv, c->ca);
		rep->status = 200;
		rep->ctype = NULL;
	}
	return finish(&k, rc, err);
}

int
web_h_acme_renewal_info(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct acme_call k;
	int64_t start = 0, end = 0;
	json_t *o, *w;
	int rc;

	if ((rc = begin(c, rep, &k, 0, err)) == 0 &&
	    (rc = ca_acme_renewal_info(c->ca, c->m->param[0], &start, &end, err)) == 0) {
		o = json_object();
		w = json_object();
		json_object_set_new(w, "start", web_jtime(start));
		json_object_set_new(w, "end", web_jtime(end));
		json_object_set_new(o, "suggestedWindow", w);
		if ((rc = reply(&k, 200, o, err)) == 0)
			rep->retry_after = ARI_RETRY_AFTER;
	}
	if (rc != 0)
		problem(&k, err);
	return 0;
}

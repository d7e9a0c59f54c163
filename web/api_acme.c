/*
 * web/api_acme.c - the admin's ACME API under /api/v1/acme: the accounts
 * (list, deactivate), the orders, and External Account Binding
 * credentials for new ACME clients. Handlers as in web/api.c: parse ->
 * engine (which checks the admin) -> render.
 */
#include "web/acme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/acme.h"
#include "ca/names.h"
#include "web/api.h"
#include "web/json.h"
#include "web/parse.h"
#include "web/reply.h"

static json_t *
account_json(const struct ca_acme_account *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(a->id));
	json_object_set_new(o, "status", json_string(a->status));
	json_object_set_new(o, "contact", mica_jlines(a->contact));
	json_object_set_new(o, "token_id", a->token_id[0] != '\0' ?
			    json_string(a->token_id) : json_null());
	json_object_set_new(o, "key_thumbprint", json_string(a->thumbprint));
	json_object_set_new(o, "client", mica_jstr(a->client));
	json_object_set_new(o, "created_at", web_jtime(a->created_at));
	json_object_set_new(o, "deactivated_at", web_jtime(a->deactivated_at));
	return o;
}

static json_t *
order_json(const struct ca_acme_order *ord)
{
	json_t *o = json_object(), *names = json_array();

	for (size_t i = 0; i < ord->nidents; i++)
		json_array_append_new(names, json_string(ord->idents[i].value));
	json_object_set_new(o, "id", json_string(ord->id));
	json_object_set_new(o, "account_id", json_string(ord->account_id));
	json_object_set_new(o, "status", json_string(ord->status));
	json_object_set_new(o, "names", names);
	json_object_set_new(o, "profile", mica_jstr(ord->profile));
	json_object_set_new(o, "serial", ord->serial[0] != '\0' ?
			    json_string(ord->serial) : json_null());
	json_object_set_new(o, "error", ord->error_code != NULL ?
			    mica_jstr(ord->error_detail) : json_null());
	json_object_set_new(o, "created_at", web_jtime(ord->created_at));
	json_object_set_new(o, "expires", web_jtime(ord->expires));
	return o;
}

int
web_h_api_acme_accounts(struct web_ctx *c, struct web_reply *rep,
			struct mica_err *err)
{
	struct ca_acme_account *v = NULL;
	struct ca_cursor after, next;
	size_t n = 0;
	int64_t limit;
	json_t *o, *a;

	/* Keyset pages, as the token listing's: "cursor" in, "next_cursor"
	 * out (web_cursor_parse). */
	if (web_query_int(c->q, "limit", 1, 10000, 1000, &limit, err) != 0 ||
	    web_cursor_parse(web_query_get(c->q, "cursor"), &after, err) != 0 ||
	    ca_acme_account_list(c->ca, c->p, &after, (int)limit, &v, &n, &next,
				 err) != 0)
		return -1;
	o = json_object();
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, account_json(&v[i]));
	json_object_set_new(o, "accounts", a);
	json_object_set_new(o, "next_cursor", web_cursor_json(&next));
	ca_acme_account_array_free(v, n);
	return web_reply_json(rep, 200, o, 0, err);
}

int
web_h_api_acme_deactivate(struct web_ctx *c, struct web_reply *rep,
			  struct mica_err *err)
{
	json_t *o;

	if (!web_id_valid(c->m->param[0]))
		return mica_err_set(err, MICA_E_BADREQ, "bad_id",
				    "malformed id (lowercase hexadecimal expected)");
	if (web_no_body(c, err) != 0)
		return -1;
	if (ca_acme_account_deactivate(c->ca, c->p, c->m->param[0], err) != 0)
		return -1;
	o = json_object();
	json_object_set_new(o, "id", json_string(c->m->param[0]));
	json_object_set_new(o, "status", json_string("deactivated"));
	return web_reply_json(rep, 200, o, 0, err);
}

int
web_h_api_acme_orders(struct web_ctx *c, struct web_reply *rep,
		      struct mica_err *err)
{
	struct ca_acme_order *v = NULL;
	const char *acct = web_query_get(c->q, "account");
	struct ca_cursor after, next;
	size_t n = 0;
	int64_t limit;
	json_t *o, *a;

	if (acct != NULL && !web_id_valid(acct))
		return mica_err_set(err, MICA_E_BADREQ, "bad_parameter",
				    "account must be an account id");
	if (web_query_int(c->q, "limit", 1, 10000, 100, &limit, err) != 0 ||
	    web_cursor_parse(web_query_get(c->q, "cursor"), &after, err) != 0 ||
	    ca_acme_order_list(c->ca, c->p, acct, &after, (int)limit, &v, &n,
			       &next, err) != 0)
		return -1;
	o = json_object();
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, order_json(&v[i]));
	json_object_set_new(o, "orders", a);
	json_object_set_new(o, "next_cursor", web_cursor_json(&next));
	ca_acme_order_array_free(v, n);
	return web_reply_json(rep, 200, o, 0, err);
}

int
web_h_api_acme_eab(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	static const struct web_field spec[] = {
		{ "profile",    WEB_J_STRING,   0, 32 },
		{ "names",      WEB_J_STRARRAY, 0, CA_NAMES_MAX },
		{ "uses",       WEB_J_INT,      0, 0 },
		{ "expires_in", WEB_J_INT,      0, 0 },
		{ "comment",    WEB_J_STRING,   0, 4 * CA_TEXT_MAX },
	};
	struct ca_token_spec ts;
	char kid[CA_ID_MAX], hmac[CA_ACME_HMAC_MAX];
	const char **names = NULL;
	json_t *j = NULL, *o, *a;
	int rc = -1;

	memset(&ts, 0, sizeof(ts));
	ts.kind = CA_TOKEN_ENROLL;
	if (c->body_len > 0) {
		if (strcmp(c->ctype, "application/json") != 0)
			return mica_err_set(err, MICA_E_UNSUPPORTED, "unsupported_media_type",
					    "send the body with Content-Type: application/json");
		if (web_json_parse(c->body, c->body_len, &j, err) != 0 ||
		    web_json_check(j, spec, sizeof(spec) / sizeof(spec[0]), err) != 0)
			goto out;
		ts.profile = web_json_str(j, "profile");
		ts.comment = web_json_str(j, "comment");
		ts.uses = web_json_int(j, "uses", 0);
		if (web_json_has(j, "uses") && (ts.uses < -1 || ts.uses == 0)) {
			mica_err_set(err, MICA_E_BADREQ, "bad_field",
				     "field \"uses\" must be a positive number, or -1 for "
				     "unlimited (the default)");
			goto out;
		}
		if (web_token_limits(j, &ts.expires_in, err) != 0)
			goto out;
		if (web_json_has(j, "names")) {
			a = json_object_get(j, "names");
			if ((names = calloc(json_array_size(a), sizeof(*names))) == NULL) {
				mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
				goto out;
			}
			for (size_t i = 0; i < json_array_size(a); i++)
				names[i] = json_string_value(json_array_get(a, i));
			ts.names = names;
			ts.nnames = json_array_size(a);
		}
	}
	if (ca_acme_eab_create(c->ca, c->p, &ts, kid, hmac, err) != 0)
		goto out;
	o = json_object();
	json_object_set_new(o, "eab_kid", json_string(kid));
	json_object_set_new(o, "eab_hmac_key", json_string(hmac));
	json_object_set_new(o, "notice", json_string(
		"store the HMAC key now: it is not shown again, and is wiped once "
		"an ACME account is bound with it"));
	(void)web_scope_warning(c, &ts, o);
	/* The body carries a secret: zeroized when sent. */
	rc = web_reply_json(rep, 201, o, 1, err);
	explicit_bzero(hmac, sizeof(hmac));
out:
	free(names);
	json_decref(j);
	return rc;
}

/*
 * web/json.c - JSON in (validating request bodies against a field spec)
 * and JSON out (rendering certificates, requests, tokens, audit rows).
 *
 * Bodies are parsed strictly: one object, no duplicate keys, no trailing
 * bytes, no NUL in strings, no unknown fields (a typo such as "profil"
 * must not silently fall back to a default). Error messages name our own
 * field names only and never quote client input.
 */
#include "web/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/csr.h"
#include "ca/x509.h"
#include "util/hex.h"
#include "util/jstr.h"
#include "web/parse.h"

/* --------------------------------------------------------------- in -- */

int
web_json_parse(const unsigned char *body, size_t len, json_t **out,
	       struct mica_err *err)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (body == NULL || len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_json",
				    "the body must be a JSON object");
	/* jansson's own message quotes the input: report the position only.
	 * Any JSON value is read, so that valid JSON that is no object
	 * (null, a string) is said to be no object, not malformed. */
	j = json_loadb((const char *)body, len,
		       JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (j == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_json",
				    "malformed JSON (line %d, column %d: %s)",
				    jerr.line, jerr.column, mica_json_why(&jerr));
	if (!json_is_object(j)) {
		json_decref(j);
		return mica_err_set(err, MICA_E_BADREQ, "bad_json",
				    "the body must be a JSON object");
	}
	*out = j;
	return 0;
}

static const char *
type_name(int t)
{
	switch (t) {
	case WEB_J_STRING:   return "a string";
	case WEB_J_INT:      return "an integer";
	case WEB_J_BOOL:     return "true or false";
	case WEB_J_STRARRAY: return "an array of strings";
	}
	return "?";
}

/* A key we may quote: short, printable, no quotes. */
static int
key_quotable(const char *k)
{
	size_t n = 0;

	for (; *k != '\0'; k++, n++)
		if ((unsigned char)*k < 0x20 || (unsigned char)*k >= 0x7f ||
		    *k == '"' || *k == '\\' || n >= 32)
			return 0;
	return n > 0;
}

int
web_json_check(json_t *obj, const struct web_field *spec, size_t n,
	       struct mica_err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; i < n; i++)
			if (strcmp(spec[i].name, key) == 0)
				break;
		if (i == n) {
			if (key_quotable(key))
				return mica_err_set(err, MICA_E_BADREQ, "unknown_field",
						    "unknown field \"%s\"", key);
			return mica_err_set(err, MICA_E_BADREQ, "unknown_field",
					    "unknown field");
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct web_field *f = &spec[i];
		int ok = 1;

		v = json_object_get(obj, f->name);
		if (v == NULL || json_is_null(v)) {
			if (f->required)
				return mica_err_set(err, MICA_E_BADREQ, "missing_field",
						    "field \"%s\" is required", f->name);
			continue;
		}
		switch (f->type) {
		case WEB_J_STRING:
			ok = json_is_string(v);
			if (ok && f->max > 0 && json_string_length(v) > f->max)
				return mica_err_set(err, MICA_E_BADREQ, "bad_field",
						    "field \"%s\" is longer than %zu bytes",
						    f->name, f->max);
			break;
		case WEB_J_INT:
			ok = json_is_integer(v);
			break;
		case WEB_J_BOOL:
			ok = json_is_boolean(v);
			break;
		case WEB_J_STRARRAY:
			ok = json_is_array(v);
			if (ok && f->max > 0 && json_array_size(v) > f->max)
				return mica_err_set(err, MICA_E_BADREQ, "bad_field",
						    "field \"%s\" has more than %zu items",
						    f->name, f->max);
			for (size_t k = 0; ok && k < json_array_size(v); k++) {
				json_t *it = json_array_get(v, k);

				if (!json_is_string(it))
					return mica_err_set(err, MICA_E_BADREQ, "bad_field",
							    "field \"%s\" must be %s (item %zu is not a string)",
							    f->name, type_name(f->type), k);
				if (json_string_length(it) == 0 ||
				    json_string_length(it) > 255)
					return mica_err_set(err, MICA_E_BADREQ, "bad_field",
							    "field \"%s\": item %zu must be 1 to 255 bytes long",
							    f->name, k);
			}
			break;
		default:
			ok = 0;
		}
		if (!ok)
			return mica_err_set(err, MICA_E_BADREQ, "bad_field",
					    "field \"%s\" must be %s", f->name,
					    type_name(f->type));
	}
	return 0;
}

int
web_json_has(json_t *obj, const char *key)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

	return v != NULL && !json_is_null(v);
}

const char *
web_json_str(json_t *obj, const char *key)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t
web_json_int(json_t *obj, const char *key, int64_t def)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

int
web_json_bool(json_t *obj, const char *key, int def)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

	return json_is_boolean(v) ? json_is_true(v) : def;
}

/* -------------------------------------------------------------- out -- */

json_t *
web_jtime(int64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	return json_string(web_time_str(t, buf));
}

json_t *
web_jpem(const char *label, const unsigned char *der, size_t len)
{
	char *pem = NULL;
	json_t *j;

	if (der == NULL || len == 0 || ca_pem_encode(label, der, len, &pem, NULL) != 0)
		return NULL;
	j = json_string(pem);
	free(pem);
	return j;
}

const char *
web_cert_status_name(const struct ca_cert *c, int64_t now)
{
	switch (c->status) {
	case CA_CERT_ISSUING: return "issuing";
	case CA_CERT_REVOKED: return "revoked";
	case CA_CERT_VALID:   return c->not_after <= now ? "expired" : "valid";
	}
	return "unknown";
}

const char *
web_req_status_name(int status)
{
	switch (status) {
	case CA_REQ_PENDING: return "pending";
	case CA_REQ_ISSUED:  return "issued";
	case CA_REQ_DENIED:  return "denied";
	}
	return "unknown";
}

/* Set KEY to V (stolen) in O; a NULL V (allocation failure) marks the
 * whole object as failed through *bad. */
static void
put(json_t *o, const char *key, json_t *v, int *bad)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*bad = 1;
}

static json_t *
done(json_t *o, int bad)
{
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
opt_str(const char *s)
{
	return s != NULL && *s != '\0' ? mica_jstr(s) : json_null();
}

json_t *
web_json_cert(const struct ca_cert *c, const char *chain_pem, int64_t now)
{
	json_t *o = json_object();
	char hex[65];
	int bad = 0;

	if (o == NULL)
		return NULL;
	mica_hex_encode(c->spki_sha256, sizeof(c->spki_sha256), hex);
	put(o, "serial", json_string(c->serial), &bad);
	put(o, "status", json_string(web_cert_status_name(c, now)), &bad);
	put(o, "profile", mica_jstr(c->profile), &bad);
	put(o, "subject", mica_jstr(c->subject), &bad);
	put(o, "names", mica_jlines(c->names), &bad);
	put(o, "not_before", web_jtime(c->not_before), &bad);
	put(o, "not_after", web_jtime(c->not_after), &bad);
	put(o, "request_id", opt_str(c->request_id), &bad);
	put(o, "renewal_of", opt_str(c->renewal_of), &bad);
	put(o, "renewed_by", opt_str(c->renewed_by), &bad);
	put(o, "renewed", json_boolean(c->renewed), &bad);
	if (c->status == CA_CERT_REVOKED) {
		put(o, "revoked_at", web_jtime(c->revoked_at), &bad);
		put(o, "revocation_reason", json_string(ca_reason_name(c->reason)), &bad);
		put(o, "invalidity_date", c->invalid_at > 0 ?
		    web_jtime(c->invalid_at) : json_null(), &bad);
	}
	put(o, "spki_sha256", ca_cert_from_crl(c) ? json_null() : json_string(hex), &bad);
	put(o, "created_at", web_jtime(c->created_at), &bad);
	if (c->der != NULL && c->der_len > 0) {
		put(o, "certificate", web_jpem("CERTIFICATE", c->der, c->der_len), &bad);
		/* Beside it, as a request's answer has it: the chain of the
		 * key that signed it, up to the root. */
		put(o, "chain", mica_jpems(chain_pem), &bad);
	}
	return done(o, bad);
}

json_t *
web_json_request(const struct ca_request *r, int admin)
{
	json_t *o = json_object();
	char key[16];
	int bad = 0;

	if (o == NULL)
		return NULL;
	put(o, "id", json_string(r->id), &bad);
	put(o, "status", json_string(web_req_status_name(r->status)), &bad);
	put(o, "profile", mica_jstr(r->profile), &bad);
	put(o, "subject", mica_jstr(r->subject), &bad);
	put(o, "names", mica_jlines(r->names), &bad);
	put(o, "days", r->days > 0 ? json_integer(r->days) : json_null(), &bad);
	put(o, "key", ca_csr_key_text(r->csr_der, r->csr_len, key, sizeof(key)) == 0 ?
	    json_string(key) : json_null(), &bad);
	put(o, "submitted_at", web_jtime(r->submitted_at), &bad);
	put(o, "decided_at", web_jtime(r->decided_at), &bad);
	put(o, "serial", opt_str(r->serial), &bad);
	if (r->status == CA_REQ_DENIED)
		put(o, "reason", opt_str(r->deny_reason), &bad);
	if (admin) {
		put(o, "client", mica_jstr(r->client), &bad);
		put(o, "decided_by", mica_jstr(r->decided_by), &bad);
	}
	return done(o, bad);
}

json_t *
web_json_token(const struct ca_token *t, int64_t now)
{
	json_t *o = json_object();
	int bad = 0;

	if (o == NULL)
		return NULL;
	/* Never the hash: it is what a stolen database would be attacked
	 * with, and no client needs it. */
	put(o, "id", json_string(t->id), &bad);
	put(o, "kind", json_string(t->kind == CA_TOKEN_ADMIN ? "admin" : "enroll"), &bad);
	put(o, "status", json_string(ca_token_status(t, now)), &bad);
	put(o, "profile", mica_jstr(t->profile), &bad);
	put(o, "names", t->names != NULL ? mica_jlines(t->names) : json_null(), &bad);
	put(o, "uses_left", t->uses_left < 0 ? json_null() : json_integer(t->uses_left), &bad);
	put(o, "expires_at", web_jtime(t->expires_at), &bad);
	put(o, "created_at", web_jtime(t->created_at), &bad);
	put(o, "created_by", mica_jstr(t->created_by), &bad);
	put(o, "comment", mica_jstr(t->comment), &bad);
	put(o, "last_used_at", web_jtime(t->last_used_at), &bad);
	/* Says no more than status "revoked", but 'mica token list --json'
	 * has always carried it: scripts get one shape from both. */
	put(o, "revoked", json_boolean(t->revoked), &bad);
	return done(o, bad);
}

json_t *
web_json_audit(const struct ca_audit *a)
{
	json_t *o = json_object();
	int bad = 0;

	if (o == NULL)
		return NULL;
	put(o, "id", json_integer(a->id), &bad);
	put(o, "at", web_jtime(a->at), &bad);
	put(o, "actor", mica_jstr(a->actor), &bad);
	put(o, "action", mica_jstr(a->action), &bad);
	put(o, "target", mica_jstr(a->target), &bad);
	put(o, "detail", mica_jstr(a->detail), &bad);
	return done(o, bad);
}

json_t *
web_json_issued(const struct ca_issued *is, const char *chain_pem)
{
	json_t *o = json_object();
	int bad = 0;

	if (o == NULL)
		return NULL;
	/* "id" names the request the result answers (submissions, token
	 * holders' included, and approvals record one). A renewal records
	 * none: its answer has no "id", the serial names the result. */
	if (is->request_id[0] != '\0')
		put(o, "id", json_string(is->request_id), &bad);
	put(o, "status", json_string(web_req_status_name(is->status)), &bad);
	if (is->status != CA_REQ_ISSUED || is->der == NULL)
		return done(o, bad);
	put(o, "serial", json_string(is->serial), &bad);
	put(o, "certificate", web_jpem("CERTIFICATE", is->der, is->der_len), &bad);
	/* The chain from the issuing CA up to the root: one PEM string per
	 * certificate (a single tier has one, the root). */
	put(o, "chain", mica_jpems(chain_pem), &bad);
	put(o, "not_before", web_jtime(is->not_before), &bad);
	put(o, "not_after", web_jtime(is->not_after), &bad);
	if (is->notice[0] != '\0')
		put(o, "notice", mica_jstr(is->notice), &bad);
	else if (is->clamped)
		put(o, "notice", json_string("validity cut to the CA certificate's notAfter"), &bad);
	return done(o, bad);
}

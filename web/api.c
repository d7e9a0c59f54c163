/*
 * web/api.c - the handlers. Each one is parse -> validate -> call the
 * engine -> render; policy and authorization live in the engine. A handler
 * returns 0 with the reply filled, or -1 with the error for the
 * dispatcher's one error-reply path.
 */
#include "web/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/csr.h"
#include "ca/names.h"
#include "util/decimal.h"
#include "util/log.h"
#include "web/crl_cache.h"
#include "web/json.h"
#include "web/server.h"

/* Free text is checked by the engine (ca_text_check: characters, not
 * octets, and says so); the JSON bound only caps memory, well above the
 * octets that many characters can fill, so text just over the limit is
 * told its limit in characters (201 emoji are 804 octets). */
#define TEXT_OCTETS_MAX (16 * CA_TEXT_MAX)
#define NAME_FILTER_MAX CA_NAME_TEXT_MAX
#define LIST_SCAN_MAX 20000   /* ids a listing page may look at (docs/API.md) */
/* /healthz is 503 once a signature has waited this long for its signer. */
#define WEB_SIGNER_STALL_MS 15000

/* --------------------------------------------------------- helpers -- */

static int
oom(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
}

static int
param_serial(struct web_ctx *c, char out[CA_SERIAL_MAX], struct mica_err *err)
{
	return ca_serial_parse(c->m->param[0], out, err);
}

static int
param_id(struct web_ctx *c, struct mica_err *err)
{
	if (!web_id_valid(c->m->param[0]))
		return mica_err_set(err, MICA_E_BADREQ, "bad_id",
				    "malformed id (lowercase hexadecimal expected)");
	return 0;
}

static int
is_json(const struct web_ctx *c)
{
	return strcmp(c->ctype, "application/json") == 0;
}

/* Media types a raw CSR may come with: what certreq, Exchange and openssl
 * users send (DER, base64 or PEM; ca_csr_decode tells them apart). */
static int
is_raw_csr(const struct web_ctx *c)
{
	static const char *const types[] = {
		"application/pkcs10", "application/x-pkcs10",
		"application/x-pem-file", "text/plain",
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(c->ctype, types[i]) == 0)
			return 1;
	return 0;
}

/* An optional JSON object body: empty -> *out NULL; otherwise it must be
 * application/json and fit SPEC. */
static int
json_body(struct web_ctx *c, const struct web_field *spec, size_t n,
	  json_t **out, struct mica_err *err)
{
	*out = NULL;
	if (c->body_len == 0)
		return 0;
	if (!is_json(c))
		return mica_err_set(err, MICA_E_UNSUPPORTED, "unsupported_media_type",
				    "send the body with Content-Type: application/json");
	if (web_json_parse(c->body, c->body_len, out, err) != 0)
		return -1;
	if (web_json_check(*out, spec, n, err) != 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int
web_no_body(struct web_ctx *c, struct mica_err *err)
{
	json_t *j = NULL;

	if (json_body(c, NULL, 0, &j, err) != 0)
		return -1;
	json_decref(j);
	return 0;
}

/* "days" from JSON: absent -> 0; present -> 1..CA_DAYS_MAX. */
static int
json_days(json_t *j, int *days, struct mica_err *err)
{
	int64_t d = web_json_int(j, "days", 0);

	*days = 0;
	if (web_json_has(j, "days") && (d < 1 || d > CA_DAYS_MAX))
		return mica_err_set(err, MICA_E_BADREQ, "bad_field",
				    "field \"days\" must be from 1 to %d", CA_DAYS_MAX);
	*days = (int)d;
	return 0;
}

/* The strings of a JSON array (checked by web_json_check) as a heap array
 * of pointers into J. */
static int
json_strv(json_t *j, const char *key, const char ***out, size_t *n,
	  struct mica_err *err)
{
	json_t *a = json_object_get(j, key);
	const char **v;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return 0;
	if ((v = calloc(json_array_size(a), sizeof(*v))) == NULL)
		return oom(err);
	for (size_t i = 0; i < json_array_size(a); i++)
		v[i] = json_string_value(json_array_get(a, i));
	*out = v;
	*n = json_array_size(a);
	return 0;
}

/* A JSON object from a key and an array, for list replies. */
static json_t *
list_object(const char *key, json_t *arr)
{
	json_t *o;

	if (arr == NULL)
		return NULL;
	if ((o = json_object()) == NULL) {
		json_decref(arr);
		return NULL;
	}
	/* json_object_set_new drops ARR when it fails. */
	if (json_object_set_new(o, key, arr) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Render an issuance result: 201 Created (or 202 Accepted while pending,
 * with Retry-After: a client polls the Location). */
static int
reply_issued(struct web_ctx *c, struct web_reply *rep, const struct ca_issued *is,
	     int ok_status, struct mica_err *err)
{
	int status = ok_status;

	if (is->status == CA_REQ_PENDING) {
		status = 202;
		rep->retry_after = 60;
	}
	if (is->request_id[0] != '\0')
		snprintf(rep->location, sizeof(rep->location), "/api/v1/requests/%s",
			 is->request_id);
	else if (is->serial[0] != '\0')
		snprintf(rep->location, sizeof(rep->location), "/api/v1/certificates/%s",
			 is->serial);
	return web_reply_json(rep, status, web_json_issued(is, ca_issued_chain_pem(c->ca, is)), 0, err);
}

/* Reply with a certificate and its chain (ca_bundle's *B, B_LEN, taken
 * over) in FORM, SERIAL its serial. Downloads, not public files: no
 * cache keeps them (Cache-Control: no-store, as every API reply), but
 * an ETag of the bytes answers a client holding them already with 304;
 * the file is named by the serial. The media types are ACME's for the
 * PEM chain (RFC 8555 9.1) and /ca.p7b's for the PKCS#7. */
static int
reply_bundle(struct web_reply *rep, int form, const char *serial,
	     unsigned char *b, size_t b_len, struct mica_err *err)
{
	int p7 = form == CA_BUNDLE_P7B;

	if ((rep->blob = web_blob_adopt(b, b_len)) == NULL)   /* frees B */
		return oom(err);
	rep->status = 200;
	rep->ctype = p7 ? "application/x-pkcs7-certificates" :
		     "application/pem-certificate-chain";
	rep->max_age = -1;
	web_reply_etag_body(rep);
	/* SERIAL is lowercase hexadecimal (ca_serial_parse). */
	if (web_reply_header(rep, "Content-Disposition",
			     "attachment; filename=\"%s.%s\"", serial,
			     p7 ? "p7b" : "pem") != 0)
		return oom(err);
	return 0;
}

/* ---------------------------------------------------- public files -- */

int
web_h_ca_der(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	const unsigned char *der;
	const char *pem;
	size_t len;

	web_server_root(c->srv, &der, &len, &pem);
	if (der == NULL)
		return mica_err_set(err, MICA_E_UNAVAIL, "unavailable", "the root is not loaded");
	rep->status = 200;
	rep->ctype = "application/pkix-cert";   /* RFC 2585 3 */
	rep->pbody = der;
	rep->plen = len;
	rep->max_age = 3600;
	web_reply_etag_body(rep);
	return 0;
}

int
web_h_ca_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	const unsigned char *der;
	const char *pem;
	size_t len;

	web_server_root(c->srv, &der, &len, &pem);
	if (pem == NULL)
		return mica_err_set(err, MICA_E_UNAVAIL, "unavailable", "the root is not loaded");
	rep->status = 200;
	rep->ctype = "application/x-pem-file";
	rep->pbody = pem;
	rep->plen = strlen(pem);
	rep->max_age = 3600;
	web_reply_etag_body(rep);
	return 0;
}

static int
crl_reply(struct web_ctx *c, struct web_reply *rep, int pem, struct mica_err *err)
{
	struct web_blob *der_b = NULL, *pem_b = NULL;
	struct ca *ca;
	int64_t tu, nu, num, age;

	if ((ca = web_thread_ca(c->srv, err)) == NULL)
		return -1;
	if (web_crl_get(c->srv, ca, 0, &der_b, pem ? &pem_b : NULL, &tu, &nu,
			&num, err) != 0)
		return -1;
	rep->status = 200;
	if (pem) {
		rep->blob = pem_b;
		rep->ctype = "application/x-pem-file";
		web_blob_unref(der_b);
	} else {
		rep->blob = der_b;
		rep->ctype = "application/pkix-crl";   /* RFC 2585 3 */
	}
	/* Caches may keep it, but never past nextUpdate, and for at most an
	 * hour so a revocation shows up soon. */
	age = nu - c->now;
	if (age < 0)
		age = 0;
	if (age > 3600)
		age = 3600;
	rep->max_age = (int)age;
	web_crl_validators(rep, num, tu, pem);
	return 0;
}

void
web_crl_validators(struct web_reply *rep, int64_t number, int64_t this_update,
		   int pem)
{
	/* One CRL number (and thisUpdate: a CA made anew at the same URL
	 * numbers from 1 again) is one content; the PEM form is another
	 * representation of it (RFC 9110 8.8.3: a strong validator). */
	snprintf(rep->etag, sizeof(rep->etag), "\"crl-%llx-%llx%s\"",
		 (unsigned long long)number, (unsigned long long)this_update,
		 pem ? "-pem" : "");
	rep->last_modified = this_update;
}

int
web_h_crl_der(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	return crl_reply(c, rep, 0, err);
}

int
web_h_crl_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	return crl_reply(c, rep, 1, err);
}

int
web_h_healthz(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	char warning[CA_EXPIRY_WARNING_MAX], rwarning[CA_EXPIRY_WARNING_MAX];
	struct ca *ca;
	json_t *o;
	int64_t stall;
	int ex, rx;

	if ((ca = web_thread_ca(c->srv, err)) == NULL)
		return -1;
	/* A real query on this worker's connection: the store answers. */
	if (ca_store_check(ca, err) != 0) {
		if (err != NULL && strcmp(err->code, "schema_too_new") == 0)
			web_server_store_too_new(c->srv);
		return -1;
	}
	if (web_crl_check(c->srv, ca, err) != 0)
		return -1;
	/* Signatures take milliseconds: a signer that has not answered for
	 * this long is stopped or starved, and every issuance sent to it
	 * waits for the signer timeout (five minutes). */
	if ((stall = ca_signer_stall_ms(ca)) >= WEB_SIGNER_STALL_MS)
		return mica_err_set(err, MICA_E_UNAVAIL, "signer_stalled",
				    "a signature has waited %lld s for its signer "
				    "(a signer process stopped or starved of CPU); "
				    "requests sent to it wait up to five minutes",
				    (long long)(stall / 1000));
	/* An expired CA signs nothing relying parties take: down;
	 * one near its end: up, with the warning for the monitoring. */
	if ((ex = ca_expiry_warning(ca, c->now, warning, sizeof(warning))) == 2)
		return mica_err_set(err, MICA_E_UNAVAIL, "ca_expired", "%s",
				    warning);
	/* Likewise a CA whose certificate, or one above it, the root's CRL
	 * revokes: it issues nothing (the daemon serves its CRLs still). A
	 * root CRL imported by the command line is seen within a second. */
	if (ca_revoked_check(ca, 0, err) != 0) {
		if (err != NULL && strcmp(err->code, "ca_revoked") == 0)
			err->kind = MICA_E_UNAVAIL;
		return -1;
	}
	/* The root's CRL, the CDP of this CA's own certificate, past its
	 * nextUpdate: relying parties that check revocation refuse all
	 * this CA issued, though it issues on. */
	if ((rx = ca_root_crl_warning(ca, c->now, rwarning,
				      sizeof(rwarning))) == 2)
		return mica_err_set(err, MICA_E_UNAVAIL, "root_crl_expired",
				    "%s", rwarning);
	if (ex != 1 && rx == 1) {
		memcpy(warning, rwarning, sizeof(warning));
		ex = 1;
	}
	o = json_object();
	if (o == NULL || json_object_set_new(o, "status", json_string("ok")) != 0 ||
	    (ex == 1 && json_object_set_new(o, "warning",
					    json_string(warning)) != 0)) {
		json_decref(o);
		return oom(err);
	}
	return web_reply_json(rep, 200, o, 0, err);
}

/* The text of a listing cursor: for certificates "ID" in the newest-first
 * order, "KEY.ID" in the expiry orders (KEY the last row's notAfter); for
 * requests, tokens and ACME accounts and orders "ID" (the last row's place
 * in the order recorded); written by web_cursor_json, read back by
 * web_cursor_parse. Both parts are whole decimal
 * numbers, ID at least 1, KEY at least 0, neither above INT64_MAX: a
 * cursor is short, and anything else is refused before the store sees it
 * (which then checks that a certificate cursor's form fits the order
 * asked for). An "ID" cursor carries no list of its own: one from another
 * listing is a place in this one, and gives its rows from there on. */
#define CURSOR_TEXT_MAX 40

int
web_cursor_parse(const char *s, struct ca_cursor *out, struct mica_err *err)
{
	char key[CURSOR_TEXT_MAX + 1];
	const char *dot;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return 0;
	n = strnlen(s, CURSOR_TEXT_MAX + 1);
	if (n == 0 || n > CURSOR_TEXT_MAX)
		goto bad;
	if ((dot = strchr(s, '.')) != NULL) {
		memcpy(key, s, (size_t)(dot - s));
		key[dot - s] = '\0';
		/* One spelling per cursor: no sign, no leading zero. */
		if (mica_decimal(key, 0, INT64_MAX, &out->key) != 0)
			goto bad;
		out->keyed = 1;
		s = dot + 1;
	}
	if (mica_decimal(s, 1, INT64_MAX, &out->id) != 0)
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return mica_err_set(err, MICA_E_BADREQ, "bad_parameter",
			    "query parameter \"cursor\" must be the next_cursor "
			    "of a previous page");
}

json_t *
web_cursor_json(const struct ca_cursor *c)
{
	char t[CURSOR_TEXT_MAX + 1];

	if (c->id == 0)
		return json_null();
	if (c->keyed)
		snprintf(t, sizeof(t), "%lld.%lld", (long long)c->key,
			 (long long)c->id);
	else
		snprintf(t, sizeof(t), "%lld", (long long)c->id);
	return json_string(t);
}

/* -------------------------------------------------------- requests -- */

int
web_h_req_submit(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	static const struct web_field spec[] = {
		{ "csr",     WEB_J_STRING,   1, 2 * CA_CSR_MAX },
		{ "profile", WEB_J_STRING,   0, 32 },
		{ "days",    WEB_J_INT,      0, 0 },
		{ "names",   WEB_J_STRARRAY, 0, CA_NAMES_MAX },
	};
	struct ca_submit s;
	struct ca_issued out;
	json_t *j = NULL;
	const char **names = NULL;
	size_t nnames = 0;
	int64_t days = 0;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	memset(&out, 0, sizeof(out));
	if (c->body_len == 0) {
		mica_err_set(err, MICA_E_BADREQ, "missing_csr",
			     "send a CSR: JSON {\"csr\": \"-----BEGIN CERTIFICATE REQUEST...\"} "
			     "or the CSR itself with Content-Type: application/pkcs10");
		goto out;
	}
	if (is_json(c)) {
		int d;

		if (c->q->n > 0) {
			mica_err_set(err, MICA_E_BADREQ, "bad_parameter",
				     "with a JSON body, give profile and days in the JSON");
			goto out;
		}
		if (json_body(c, spec, sizeof(spec) / sizeof(spec[0]), &j, err) != 0 ||
		    json_days(j, &d, err) != 0 ||
		    json_strv(j, "names", &names, &nnames, err) != 0)
			goto out;
		/* An empty list is a script's empty variable, not a wish for
		 * the CSR's names: those come from leaving it out. */
		if (web_json_has(j, "names") && nnames == 0) {
			mica_err_set(err, MICA_E_BADREQ, "bad_field",
				     "field \"names\" lists no name: leave it out "
				     "for the CSR's own names");
			goto out;
		}
		s.csr = (const unsigned char *)web_json_str(j, "csr");
		s.csr_len = json_string_length(json_object_get(j, "csr"));
		s.profile = web_json_str(j, "profile");
		s.days = d;
		s.names = names;
		s.nnames = nnames;
	} else if (is_raw_csr(c)) {
		if (web_query_int(c->q, "days", 1, CA_DAYS_MAX, 0, &days, err) != 0)
			goto out;
		s.csr = c->body;
		s.csr_len = c->body_len;
		s.profile = web_query_get(c->q, "profile");
		s.days = (int)days;
	} else {
		mica_err_set(err, MICA_E_UNSUPPORTED, "unsupported_media_type",
			     "send application/json, or the CSR as application/pkcs10 "
			     "(DER, base64 or PEM)");
		goto out;
	}
	if (ca_submit_csr(c->ca, c->p, &s, &out, err) != 0)
		goto out;
	rc = reply_issued(c, rep, &out, 201, err);
out:
	free(names);
	json_decref(j);
	ca_issued_free(&out);
	return rc;
}

int
web_h_req_list(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	const char *st = web_query_get(c->q, "status");
	struct ca_request *v = NULL;
	struct ca_cursor after, next;
	json_t *arr, *o;
	size_t n = 0;
	int64_t limit;
	int status = -1, rc = -1;

	if (st == NULL || strcmp(st, "all") == 0)
		status = -1;
	else if (strcmp(st, "pending") == 0)
		status = CA_REQ_PENDING;
	else if (strcmp(st, "issued") == 0)
		status = CA_REQ_ISSUED;
	else if (strcmp(st, "denied") == 0)
		status = CA_REQ_DENIED;
	else
		return mica_err_set(err, MICA_E_BADREQ, "bad_parameter",
				    "status must be pending, issued, denied or all");
	if (web_query_int(c->q, "limit", 1, 1000, 100, &limit, err) != 0 ||
	    web_cursor_parse(web_query_get(c->q, "cursor"), &after, err) != 0)
		return -1;
	if (ca_request_list(c->ca, c->p, status, &after, (int)limit, &v, &n,
			    &next, err) != 0)
		return -1;
	if ((arr = json_array()) == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, web_json_request(&v[i], 1)) != 0) {
			json_decref(arr);
			goto oom;
		}
	if ((o = list_object("requests", arr)) == NULL ||
	    json_object_set_new(o, "next_cursor", web_cursor_json(&next)) != 0) {
		json_decref(o);
		goto oom;
	}
	rc = web_reply_json(rep, 200, o, 0, err);
	ca_request_array_free(v, n);
	return rc;
oom:
	ca_request_array_free(v, n);
	return oom(err);
}

int
web_h_req_get(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct ca_issued is;
	struct ca_request req;
	json_t *o = NULL, *iss = NULL;
	const char *key;
	json_t *v;
	int rc = -1;

	if (param_id(c, err) != 0)
		return -1;
	if (ca_request_status(c->ca, c->m->param[0], &is, &req, err) != 0)
		return -1;
	/* The id is the capability: whoever knows it may see the request,
	 * but only an admin sees who submitted it. */
	o = web_json_request(&req, c->p->kind == CA_PRINCIPAL_ADMIN);
	iss = web_json_issued(&is, ca_issued_chain_pem(c->ca, &is));
	if (o == NULL || iss == NULL) {
		oom(err);
		goto out;
	}
	json_object_foreach(iss, key, v) {
		if (strcmp(key, "id") == 0 || strcmp(key, "status") == 0)
			continue;
		if (json_object_set(o, key, v) != 0) {
			oom(err);
			goto out;
		}
	}
	/* What became of the certificate since, in the words of its own
	 * answer (web_json_cert), so whoever polls with the id alone is told
	 * not to install one that was revoked or has expired. */
	if (req.status == CA_REQ_ISSUED && is.der != NULL) {
		struct ca_cert cs;
		int bad;

		memset(&cs, 0, sizeof(cs));
		cs.status = is.revoked ? CA_CERT_REVOKED : CA_CERT_VALID;
		cs.not_after = is.not_after;
		bad = json_object_set_new(o, "certificate_status",
					  json_string(web_cert_status_name(&cs, c->now))) != 0;
		if (!bad && is.revoked)
			bad = json_object_set_new(o, "revoked_at", web_jtime(is.revoked_at)) != 0 ||
			      json_object_set_new(o, "revocation_reason",
						  json_string(ca_reason_name(is.reason))) != 0 ||
			      json_object_set_new(o, "invalidity_date", is.invalid_at > 0 ?
						  web_jtime(is.invalid_at) : json_null()) != 0;
		if (bad) {
			oom(err);
			goto out;
		}
	}
	if (req.status == CA_REQ_PENDING)
		rep->retry_after = 60;
	rc = web_reply_json(rep, 200, o, 0, err);
	o = NULL;
out:
	json_decref(o);
	json_decref(iss);
	ca_issued_free(&is);
	ca_request_free(&req);
	return rc;
}

/* A request's certificate with its chain in FORM. Pending or denied:
 * 409 with the request's "status", as the poll reports it (pending with
 * Retry-After, as the poll has). */
static int
req_bundle(struct web_ctx *c, struct web_reply *rep, int form,
	   struct mica_err *err)
{
	char serial[CA_SERIAL_MAX];
	unsigned char *b = NULL;
	size_t len = 0;
	json_t *x;
	int pending;

	if (param_id(c, err) != 0)
		return -1;
	if (ca_request_bundle(c->ca, c->m->param[0], form, serial, &b, &len,
			      err) == 0)
		return reply_bundle(rep, form, serial, b, len, err);
	pending = strcmp(err->code, "request_pending") == 0;
	if (err->kind != MICA_E_CONFLICT ||
	    (!pending && strcmp(err->code, "request_denied") != 0))
		return -1;
	if ((x = json_object()) == NULL ||
	    json_object_set_new(x, "status", json_string(pending ? "pending" :
							  "denied")) != 0) {
		json_decref(x);
		return oom(err);
	}
	web_reply_error_with(rep, err, x);
	json_decref(x);
	if (pending)
		rep->retry_after = 60;
	return 0;
}

int
web_h_req_cert_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	return req_bundle(c, rep, CA_BUNDLE_PEM, err);
}

int
web_h_req_cert_p7b(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	return req_bundle(c, rep, CA_BUNDLE_P7B, err);
}

int
web_h_req_approve(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct ca_issued out;
	int rc;

	if (param_id(c, err) != 0 || web_no_body(c, err) != 0)
		return -1;
	if (ca_request_approve(c->ca, c->p, c->m->param[0], &out, err) != 0) {
		json_t *x;

		/* Issued already (an approval whose answer was lost, another
		 * admin's): still 409, with the serial to fetch it by. */
		if (err->kind != MICA_E_CONFLICT || out.status != CA_REQ_ISSUED ||
		    out.serial[0] == '\0')
			return -1;
		if ((x = json_object()) == NULL ||
		    json_object_set_new(x, "status", json_string("issued")) != 0 ||
		    json_object_set_new(x, "serial", json_string(out.serial)) != 0) {
			json_decref(x);
			return oom(err);
		}
		web_reply_error_with(rep, err, x);
		json_decref(x);
		return 0;
	}
	rc = reply_issued(c, rep, &out, 200, err);
	ca_issued_free(&out);
	return rc;
}

/* The 409 of a deny whose request was decided already (ERR): with its
 * "status", and "serial" when issued. 0 when the reply is made, -1 to
 * answer ERR as it is (the request could not be read again). */
static int
decided_409(struct web_ctx *c, struct web_reply *rep, const struct mica_err *err)
{
	struct ca_issued is;
	struct ca_request req;
	struct mica_err e;
	json_t *x = NULL;
	int rc = -1;

	if (ca_request_status(c->ca, c->m->param[0], &is, &req, &e) != 0)
		return -1;
	if ((x = json_object()) == NULL ||
	    json_object_set_new(x, "status",
				json_string(web_req_status_name(req.status))) != 0 ||
	    (req.status == CA_REQ_ISSUED && is.serial[0] != '\0' &&
	     json_object_set_new(x, "serial", json_string(is.serial)) != 0))
		goto out;
	web_reply_error_with(rep, err, x);
	rc = 0;
out:
	json_decref(x);
	ca_request_free(&req);
	ca_issued_free(&is);
	return rc;
}

int
web_h_req_deny(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	static const struct web_field spec[] = {
		{ "reason", WEB_J_STRING, 0, TEXT_OCTETS_MAX },
	};
	json_t *j = NULL, *o;
	const char *reason;
	int rc = -1;

	if (param_id(c, err) != 0 || json_body(c, spec, 1, &j, err) != 0)
		return -1;
	reason = web_json_str(j, "reason");
	if (ca_request_deny(c->ca, c->p, c->m->param[0], reason, err) != 0) {
		/* Decided already: 409 with what it became, as approve's
		 * (an issued one with the serial to fetch it by), so that an
		 * admin whose deny lost to an approval learns of the
		 * certificate. */
		if (err->kind == MICA_E_CONFLICT &&
		    strcmp(err->code, "already_decided") == 0 &&
		    decided_409(c, rep, err) == 0)
			rc = 0;
		goto out;
	}
	/* The reply says what was recorded, as a later GET shows it. */
	if (reason == NULL || reason[0] == '\0')
		reason = CA_DENY_REASON_DEFAULT;
	o = json_object();
	if (o == NULL ||
	    json_object_set_new(o, "id", json_string(c->m->param[0])) != 0 ||
	    json_object_set_new(o, "status", json_string("denied")) != 0 ||
	    json_object_set_new(o, "reason", mica_jstr(reason)) != 0) {
		json_decref(o);
		oom(err);
		goto out;
	}
	rc = web_reply_json(rep, 200, o, 0, err);
out:
	json_decref(j);
	return rc;
}

/* ---------------------------------------------------- certificates -- */

/* A name filter: what names are made of - printable ASCII without
 * blanks, which an email address's local part may use much of
 * (alice+tag@, o'brien@: RFC 5322 dot-atom) - nothing else. */
static int
name_filter_ok(char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    n >= NAME_FILTER_MAX)
			return 0;
	}
	return n > 0;
}

int
web_h_cert_list(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	const char *st = web_query_get(c->q, "status");
	const char *nm = web_query_get(c->q, "name");
	const char *tok = web_query_get(c->q, "token");
	struct ca_cert_filter f;
	struct ca_cert *v = NULL;
	char name[NAME_FILTER_MAX + 1];
	struct ca_cursor next;
	int64_t exp_days, limit;
	json_t *arr, *o;
	size_t n = 0;
	int rc;

	memset(&f, 0, sizeof(f));
	f.now = c->now;
	if (st == NULL || strcmp(st, "all") == 0)
		f.status = -1;
	else if (strcmp(st, "valid") == 0)
		f.status = CA_FILTER_CURRENT;
	else if (strcmp(st, "expired") == 0)
		f.status = CA_FILTER_EXPIRED;
	else if (strcmp(st, "revoked") == 0)
		f.status = CA_CERT_REVOKED;
	else if (strcmp(st, "issuing") == 0)
		f.status = CA_CERT_ISSUING;
	else
		return mica_err_set(err, MICA_E_BADREQ, "bad_parameter",
				    "status must be valid, revoked, expired, issuing or all");
	if (web_query_int(c->q, "expiring_days", 1, 3650, 0, &exp_days, err) != 0 ||
	    web_query_int(c->q, "limit", 1, 1000, 100, &limit, err) != 0 ||
	    web_cursor_parse(web_query_get(c->q, "cursor"), &f.cursor, err) != 0)
		return -1;
	if (nm != NULL) {
		if (strlen(nm) > NAME_FILTER_MAX)
			return mica_err_set(err, MICA_E_BADREQ, "bad_parameter",
					    "name filter too long");
		snprintf(name, sizeof(name), "%s", nm);
		if (!name_filter_ok(name))
			return mica_err_set(err, MICA_E_BADREQ, "bad_parameter",
					    "name filter: printable ASCII without blanks "
					    "(a name, or a prefix ending in *)");
		f.name = name;
	}
	/* The engine checks the id (and never repeats a whole token). */
	if (tok != NULL)
		f.token_id = tok;
	if (exp_days > 0)
		f.expiring_before = c->now + exp_days * 86400;
	f.limit = (int)limit;
	/* A request never walks the whole store for a rare match: at most
	 * LIST_SCAN_MAX ids a page, then a cursor to go on from. */
	f.scan_max = LIST_SCAN_MAX;
	if (ca_cert_list(c->ca, c->p, &f, &v, &n, &next, err) != 0)
		return -1;
	if ((arr = json_array()) == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, web_json_cert(&v[i], NULL, c->now)) != 0) {
			json_decref(arr);
			goto oom;
		}
	if ((o = list_object("certificates", arr)) == NULL ||
	    json_object_set_new(o, "next_cursor", web_cursor_json(&next)) != 0) {
		json_decref(o);
		goto oom;
	}
	rc = web_reply_json(rep, 200, o, 0, err);
	ca_cert_array_free(v, n);
	return rc;
oom:
	ca_cert_array_free(v, n);
	return oom(err);
}

/* Reply with the stored certificate SERIAL. */
/* Seconds from now until AT (0 if past), read from the clock when the
 * reply is made: AT came from the engine's clock, and under load the
 * request's start time may be a second or more behind it. */
static int64_t
seconds_left(int64_t at)
{
	int64_t now = (int64_t)time(NULL);

	return at > now ? at - now : 0;
}

/* The certificate SERIAL; with ALSO (a revocation's answer), its member
 * "also_revoked" lists the other certificates the revocation took (those
 * of the same key, for keyCompromise), [] when none. */
static int
reply_cert_also(struct web_ctx *c, struct web_reply *rep, const char *serial,
		const struct ca_serials *also, int raised_from,
		struct mica_err *err)
{
	struct ca_cert cert;
	json_t *o, *a = NULL;
	int rc;

	if (ca_cert_get(c->ca, c->p, serial, &cert, err) != 0)
		return -1;
	o = web_json_cert(&cert, ca_key_chain_pem(c->ca, cert.key_idx),
			  c->now);
	ca_cert_free(&cert);
	if (o != NULL && also != NULL) {
		if ((a = json_array()) == NULL ||
		    json_object_set_new(o, "also_revoked", a) != 0) {
			json_decref(o);
			return oom(err);
		}
		for (size_t i = 0; i < also->n; i++)
			if (json_array_append_new(a, json_string(also->v[i])) != 0) {
				json_decref(o);
				return oom(err);
			}
	}
	/* A keyCompromise that raised an earlier revocation's reason. */
	if (o != NULL && raised_from >= 0 &&
	    json_object_set_new(o, "reason_raised_from",
				json_string(ca_reason_name(raised_from))) != 0) {
		json_decref(o);
		return oom(err);
	}
	rc = web_reply_json(rep, 200, o, 0, err);
	return rc;
}

static int
reply_cert(struct web_ctx *c, struct web_reply *rep, const char *serial,
	   struct mica_err *err)
{
	return reply_cert_also(c, rep, serial, NULL, -1, err);
}

int
web_h_cert_get(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	char serial[CA_SERIAL_MAX];

	if (param_serial(c, serial, err) != 0)
		return -1;
	return reply_cert(c, rep, serial, err);
}

static int
cert_bundle(struct web_ctx *c, struct web_reply *rep, int form,
	    struct mica_err *err)
{
	char serial[CA_SERIAL_MAX];
	unsigned char *b = NULL;
	size_t len = 0;

	if (param_serial(c, serial, err) != 0 ||
	    ca_cert_bundle(c->ca, c->p, serial, form, serial, &b, &len, err) != 0)
		return -1;
	return reply_bundle(rep, form, serial, b, len, err);
}

int
web_h_cert_chain_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	return cert_bundle(c, rep, CA_BUNDLE_PEM, err);
}

int
web_h_cert_chain_p7b(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	return cert_bundle(c, rep, CA_BUNDLE_P7B, err);
}

int
web_h_cert_renew(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	static const struct web_field spec[] = {
		{ "csr",       WEB_J_STRING, 0, 2 * CA_CSR_MAX },
		{ "days",      WEB_J_INT,    0, 0 },
		{ "supersede", WEB_J_BOOL,   0, 0 },
		{ "force",     WEB_J_BOOL,   0, 0 },
	};
	static const char *const flag_name[] = { "supersede", "force" };
	static const int flag_bit[] = { CA_RENEW_SUPERSEDE, CA_RENEW_FORCE };
	char serial[CA_SERIAL_MAX];
	struct ca_issued out;
	const unsigned char *csr = NULL;
	size_t csr_len = 0;
	json_t *j = NULL;
	int days = 0, flags = 0, rc = -1;

	memset(&out, 0, sizeof(out));
	if (param_serial(c, serial, err) != 0)
		return -1;
	if (c->body_len == 0 || is_json(c)) {
		if (c->body_len > 0 && c->q->n > 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_parameter",
					    "with a JSON body, give days, supersede and force in the JSON");
		if (json_body(c, spec, sizeof(spec) / sizeof(spec[0]), &j, err) != 0 ||
		    json_days(j, &days, err) != 0)
			goto out;
		if (j != NULL && web_json_str(j, "csr") != NULL) {
			csr = (const unsigned char *)web_json_str(j, "csr");
			csr_len = json_string_length(json_object_get(j, "csr"));
		}
		for (size_t i = 0; i < 2; i++)
			if (web_json_bool(j, flag_name[i], 0))
				flags |= flag_bit[i];
	} else if (is_raw_csr(c)) {
		csr = c->body;
		csr_len = c->body_len;
	} else {
		mica_err_set(err, MICA_E_UNSUPPORTED, "unsupported_media_type",
			     "send application/json, or the CSR as application/pkcs10");
		goto out;
	}
	if (j == NULL) {
		/* Query form (no JSON body). */
		int64_t d;

		if (web_query_int(c->q, "days", 1, CA_DAYS_MAX, 0, &d, err) != 0)
			goto out;
		days = (int)d;
		for (size_t i = 0; i < 2; i++) {
			const char *v = web_query_get(c->q, flag_name[i]);

			if (v == NULL || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
				continue;
			if (strcmp(v, "true") != 0 && strcmp(v, "1") != 0) {
				mica_err_set(err, MICA_E_BADREQ, "bad_parameter",
					     "%s must be true or false (1 or 0)",
					     flag_name[i]);
				goto out;
			}
			flags |= flag_bit[i];
		}
	}
	if (ca_renew(c->ca, c->p, serial, csr, csr_len, days, flags, &out, err) != 0)
		goto out;
	rc = reply_issued(c, rep, &out, 201, err);
	if (rc == 0 && out.serial[0] != '\0')
		snprintf(rep->location, sizeof(rep->location), "/api/v1/certificates/%s",
			 out.serial);
	if (flags & CA_RENEW_SUPERSEDE)
		web_crl_changed(c->srv, c->ca);
out:
	json_decref(j);
	ca_issued_free(&out);
	return rc;
}

int
web_h_cert_renew_challenge(struct web_ctx *c, struct web_reply *rep,
			   struct mica_err *err)
{
	char serial[CA_SERIAL_MAX], nonce[CA_CHALLENGE_LEN + 1];
	int64_t expires_at = 0;
	json_t *o;
	int rc;

	if (param_serial(c, serial, err) != 0 || web_no_body(c, err) != 0)
		return -1;
	if (ca_renew_challenge(c->ca, serial, nonce, &expires_at, err) != 0)
		return -1;
	o = json_object();
	if (o == NULL ||
	    json_object_set_new(o, "serial", json_string(serial)) != 0 ||
	    json_object_set_new(o, "challenge", json_string(nonce)) != 0 ||
	    json_object_set_new(o, "expires_at", web_jtime(expires_at)) != 0 ||
	    json_object_set_new(o, "expires_in",
				json_integer(seconds_left(expires_at))) != 0) {
		json_decref(o);
		explicit_bzero(nonce, sizeof(nonce));
		return oom(err);
	}
	explicit_bzero(nonce, sizeof(nonce));
	/* Zeroized when sent, as a token's reply. */
	rc = web_reply_json(rep, 200, o, 1, err);
	return rc;
}

int
web_h_cert_revoke(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	static const struct web_field spec[] = {
		{ "reason", WEB_J_STRING, 0, 40 },
		{ "invalidity_date", WEB_J_STRING, 0, 40 },
	};
	char serial[CA_SERIAL_MAX];
	struct ca_serials also = { NULL, 0 };
	const char *rs, *is;
	json_t *j = NULL;
	int reason = 0, rc = -1, raised_from = -1;
	int64_t invalid_at = 0;

	if (param_serial(c, serial, err) != 0 || json_body(c, spec, 2, &j, err) != 0)
		return -1;
	rs = web_json_str(j, "reason");
	if (rs != NULL && (reason = ca_reason_parse(rs)) < 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_reason",
			     "unknown revocation reason (RFC 5280 5.3.1 names such as "
			     "keyCompromise, superseded, cessationOfOperation, certificateHold)");
		goto out;
	}
	/* RFC 5280 5.3.2: when it became invalid, RFC 3339 in UTC. */
	is = web_json_str(j, "invalidity_date");
	if (is != NULL && ca_invalidity_parse(is, &invalid_at, err) != 0)
		goto out;
	if (ca_revoke_all(c->ca, c->p, serial, reason, invalid_at, &also, NULL,
			  &raised_from, err) != 0)
		goto out;
	web_crl_changed(c->srv, c->ca);
	rc = reply_cert_also(c, rep, serial, &also, raised_from, err);
out:
	ca_serials_free(&also);
	json_decref(j);
	return rc;
}

int
web_h_cert_unrevoke(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	char serial[CA_SERIAL_MAX];

	if (param_serial(c, serial, err) != 0 || web_no_body(c, err) != 0)
		return -1;
	if (ca_unrevoke(c->ca, c->p, serial, err) != 0)
		return -1;
	web_crl_changed(c->srv, c->ca);
	return reply_cert(c, rep, serial, err);
}

int
web_h_crl_publish(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct ca_crl crl;
	json_t *o;
	int rc;

	if (web_no_body(c, err) != 0)
		return -1;
	memset(&crl, 0, sizeof(crl));
	if (ca_crl_publish(c->ca, c->p, &crl, err) != 0)
		return -1;
	/* The cache serves it from now on, taking its bytes: reading back
	 * a large CRL just written (and checking its hash) would cost as
	 * much again. The number and dates stay for the answer. */
	web_crl_published(c->srv, c->ca, &crl);
	o = json_object();
	if (o == NULL ||
	    json_object_set_new(o, "number", json_integer(crl.number)) != 0 ||
	    json_object_set_new(o, "this_update", web_jtime(crl.this_update)) != 0 ||
	    json_object_set_new(o, "next_update", web_jtime(crl.next_update)) != 0) {
		json_decref(o);
		ca_crl_free(&crl);
		return oom(err);
	}
	ca_crl_free(&crl);
	rc = web_reply_json(rep, 201, o, 0, err);
	snprintf(rep->location, sizeof(rep->location), "/crl");
	return rc;
}

/* ---------------------------------------------------------- tokens -- */

int
web_token_limits(json_t *j, int64_t *expires_in, struct mica_err *err)
{
	*expires_in = web_json_int(j, "expires_in", 0);
	if (web_json_has(j, "expires_in") &&
	    (*expires_in <= 0 || *expires_in > CA_TOKEN_LIFE_MAX))
		return mica_err_set(err, MICA_E_BADREQ, "bad_field",
				    "field \"expires_in\" must be between 1 second and 10 "
				    "years (%lld seconds); leave it out for a token that "
				    "does not expire", (long long)CA_TOKEN_LIFE_MAX);
	if (web_json_has(j, "names") && json_array_size(json_object_get(j, "names")) == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_field",
				    "field \"names\" lists no name: leave it out for "
				    "any name in the CA's domains");
	return 0;
}

int
web_scope_warning(struct web_ctx *c, const struct ca_token_spec *ts, json_t *o)
{
	char warning[CA_SCOPE_WARNING_MAX];

	if (!ca_token_scope_unreachable(c->ca, ts->names, ts->nnames, warning,
					sizeof(warning)))
		return 0;
	return json_object_set_new(o, "warning", json_string(warning));
}

int
web_h_token_create(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	static const struct web_field spec[] = {
		{ "kind",       WEB_J_STRING,   1, 8 },
		{ "profile",    WEB_J_STRING,   0, 32 },
		{ "names",      WEB_J_STRARRAY, 0, CA_NAMES_MAX },
		{ "uses",       WEB_J_INT,      0, 0 },
		{ "expires_in", WEB_J_INT,      0, 0 },
		{ "comment",    WEB_J_STRING,   0, TEXT_OCTETS_MAX },
	};
	struct ca_token_spec ts;
	struct ca_token info;
	char token[CA_TOKEN_MAX];
	const char *kind;
	const char **names = NULL;
	size_t nnames = 0;
	json_t *j = NULL, *o;
	int rc = -1;

	memset(&ts, 0, sizeof(ts));
	memset(&info, 0, sizeof(info));
	memset(token, 0, sizeof(token));
	if (c->body_len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "missing_body",
				    "send {\"kind\": \"enroll\"|\"admin\", ...}");
	if (json_body(c, spec, sizeof(spec) / sizeof(spec[0]), &j, err) != 0)
		return -1;
	kind = web_json_str(j, "kind");
	if (strcmp(kind, "enroll") == 0) {
		ts.kind = CA_TOKEN_ENROLL;
		ts.uses = 1;
	} else if (strcmp(kind, "admin") == 0) {
		ts.kind = CA_TOKEN_ADMIN;
		ts.uses = -1;
	} else {
		mica_err_set(err, MICA_E_BADREQ, "bad_kind", "kind must be enroll or admin");
		goto out;
	}
	/* As the command line: an admin token is never limited in uses. */
	if (ts.kind == CA_TOKEN_ADMIN && web_json_has(j, "uses")) {
		mica_err_set(err, MICA_E_BADREQ, "bad_scope",
			     "an admin token has no \"uses\": it lasts until revoked "
			     "or expired");
		goto out;
	}
	ts.uses = web_json_int(j, "uses", ts.uses);
	if (ts.uses < -1 || ts.uses == 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_field",
			     "field \"uses\" must be a positive number, or -1 for unlimited");
		goto out;
	}
	if (web_token_limits(j, &ts.expires_in, err) != 0)
		goto out;
	ts.profile = web_json_str(j, "profile");
	ts.comment = web_json_str(j, "comment");
	if (json_strv(j, "names", &names, &nnames, err) != 0)
		goto out;
	ts.names = names;
	ts.nnames = nnames;
	if (ca_token_create(c->ca, c->p, &ts, token, &info, err) != 0)
		goto out;
	o = web_json_token(&info, c->now);
	if (o == NULL ||
	    json_object_set_new(o, "token", json_string(token)) != 0 ||
	    json_object_set_new(o, "notice", json_string(
		    "store the token now: it is not shown again")) != 0 ||
	    web_scope_warning(c, &ts, o) != 0) {
		json_decref(o);
		oom(err);
		goto out;
	}
	/* The body carries the secret: zeroized when sent. */
	rc = web_reply_json(rep, 201, o, 1, err);
out:
	explicit_bzero(token, sizeof(token));
	ca_token_free(&info);
	free(names);
	json_decref(j);
	return rc;
}

/* POST /api/v1/scep/mobileconfig {name, profile?, url?, expires_in?}: an
 * iPhone/macOS profile with a new one-use challenge (ca_scep_mobileconfig),
 * downloaded as a file. The token it holds never appears in a URL: the
 * admin's own token comes in the Authorization header, the answer in the
 * body, zeroized once sent and never cached. */
int
web_h_scep_mobileconfig(struct web_ctx *c, struct web_reply *rep,
			struct mica_err *err)
{
	static const struct web_field spec[] = {
		{ "name",       WEB_J_STRING, 1, 253 },
		{ "profile",    WEB_J_STRING, 0, 32 },
		{ "url",        WEB_J_STRING, 0, CA_MOBILECONFIG_URL_MAX },
		{ "expires_in", WEB_J_INT,    0, 0 },
	};
	struct ca_mobileconfig_spec ms;
	struct ca_name canon;
	const char *fname_src;
	char fname[64], token_id[CA_ID_MAX], *doc = NULL;
	size_t doc_len = 0, k = 0;
	json_t *j = NULL;
	int rc = -1;

	memset(&ms, 0, sizeof(ms));
	if (c->body_len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "missing_body",
				    "send {\"name\": \"DEVICE NAME\", ...}");
	if (json_body(c, spec, sizeof(spec) / sizeof(spec[0]), &j, err) != 0)
		return -1;
	ms.name = fname_src = web_json_str(j, "name");
	ms.profile = web_json_str(j, "profile");
	ms.url = web_json_str(j, "url");
	ms.expires_in = web_json_int(j, "expires_in", 7 * 86400);
	if (ca_scep_mobileconfig(c->ca, c->p, &ms, &doc, &doc_len, token_id,
				 err) != 0)
		goto out;
	/* The file's name: the device's as the profile names it (its
	 * canonical form: "Phone-1.Contoso.test." makes
	 * phone-1.contoso.test.mobileconfig), in characters any file
	 * system and header takes. */
	if (ca_name_parse(ms.name, 0, &canon, NULL) == 0)
		fname_src = canon.value;
	for (const char *q = fname_src; *q != '\0' && k < 40; q++, k++)
		fname[k] = ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
			    (*q >= '0' && *q <= '9') || *q == '.' || *q == '-') ?
			   *q : '_';
	fname[k] = '\0';
	/* Adopted or, on failure, wiped and freed: DOC is gone either way. */
	rep->blob = web_blob_adopt_secret(doc, doc_len);
	doc = NULL;
	if (rep->blob == NULL) {
		oom(err);
		goto out;
	}
	rep->status = 200;
	rep->ctype = "application/x-apple-aspen-config";
	rep->max_age = -1;
	/* The challenge's token id (not its secret): the admin page revokes
	 * the token when its answer comes after its admin signed out. */
	if (web_reply_header(rep, "Content-Disposition",
			     "attachment; filename=\"%s.mobileconfig\"",
			     fname) != 0 ||
	    web_reply_header(rep, "X-Mica-Token-Id", "%s", token_id) != 0) {
		oom(err);
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int
web_h_token_list(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	const char *st = web_query_get(c->q, "status");
	struct ca_token *v = NULL;
	struct ca_cursor after, next;
	json_t *arr, *o;
	size_t n = 0;
	int64_t limit;
	int filter, rc;

	/* Every kind of token by default, as the listing always showed
	 * (a page of them now, not the whole table); "active" for what
	 * still works, without the used-up challenges an MDM leaves. */
	if (st == NULL || strcmp(st, "all") == 0)
		filter = CA_TOKENS_ALL;
	else if (strcmp(st, "active") == 0)
		filter = CA_TOKENS_ACTIVE;
	else
		return mica_err_set(err, MICA_E_BADREQ, "bad_parameter",
				    "status must be active or all");
	if (web_query_int(c->q, "limit", 1, 1000, 100, &limit, err) != 0 ||
	    web_cursor_parse(web_query_get(c->q, "cursor"), &after, err) != 0)
		return -1;
	if (ca_token_list(c->ca, c->p, filter, &after, (int)limit, &v, &n,
			  &next, err) != 0)
		return -1;
	if ((arr = json_array()) == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, web_json_token(&v[i], c->now)) != 0) {
			json_decref(arr);
			goto oom;
		}
	if ((o = list_object("tokens", arr)) == NULL ||
	    json_object_set_new(o, "next_cursor", web_cursor_json(&next)) != 0) {
		json_decref(o);
		goto oom;
	}
	rc = web_reply_json(rep, 200, o, 0, err);
	ca_token_array_free(v, n);
	return rc;
oom:
	ca_token_array_free(v, n);
	return oom(err);
}

int
web_h_token_delete(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	json_t *o;

	if (param_id(c, err) != 0 || web_no_body(c, err) != 0)
		return -1;
	if (ca_token_revoke(c->ca, c->p, c->m->param[0], err) != 0)
		return -1;
	o = json_object();
	if (o == NULL ||
	    json_object_set_new(o, "id", json_string(c->m->param[0])) != 0 ||
	    json_object_set_new(o, "status", json_string("revoked")) != 0) {
		json_decref(o);
		return oom(err);
	}
	return web_reply_json(rep, 200, o, 0, err);
}

/* ---------------------------------------------------- audit, status -- */

int
web_h_audit(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct ca_audit *v = NULL;
	int64_t since, before, limit;
	size_t n = 0;
	json_t *arr, *o;
	int rc;

	if (web_query_int(c->q, "since", 0, INT64_MAX, 0, &since, err) != 0 ||
	    web_query_int(c->q, "before", 1, INT64_MAX, 0, &before, err) != 0 ||
	    web_query_int(c->q, "limit", 1, 10000, 100, &limit, err) != 0)
		return -1;
	if (ca_audit_list(c->ca, c->p, since, before, (int)limit, &v, &n, err) != 0)
		return -1;
	if ((arr = json_array()) == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, web_json_audit(&v[i])) != 0) {
			json_decref(arr);
			goto oom;
		}
	/* Newest first: the next page is everything before the last id. */
	if ((o = list_object("audit", arr)) == NULL ||
	    json_object_set_new(o, "next_before",
				n > 0 && n == (size_t)limit ? json_integer(v[n - 1].id)
							    : json_null()) != 0) {
		json_decref(o);
		goto oom;
	}
	rc = web_reply_json(rep, 200, o, 0, err);
	ca_audit_array_free(v, n);
	return rc;
oom:
	ca_audit_array_free(v, n);
	return oom(err);
}

int
web_h_status(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct ca_counts counts;
	struct web_blob *der_b = NULL;
	int64_t tu = 0, nu = 0, num = 0;
	json_t *o, *cnt, *crl;
	char warning[CA_EXPIRY_WARNING_MAX];
	int bad = 0;

	if (ca_counts(c->ca, &counts, err) != 0)
		return -1;
	if (web_crl_get(c->srv, c->ca, 0, &der_b, NULL, &tu, &nu, &num, err) != 0)
		return -1;
	web_blob_unref(der_b);
	o = json_object();
	cnt = json_object();
	crl = json_object();
	if (o == NULL || cnt == NULL || crl == NULL) {
		json_decref(o);
		json_decref(cnt);
		json_decref(crl);
		return oom(err);
	}
	bad |= json_object_set_new(cnt, "valid", json_integer(counts.valid));
	bad |= json_object_set_new(cnt, "revoked", json_integer(counts.revoked));
	bad |= json_object_set_new(cnt, "expired", json_integer(counts.expired));
	bad |= json_object_set_new(cnt, "issuing", json_integer(counts.issuing));
	bad |= json_object_set_new(cnt, "pending_requests", json_integer(counts.pending_requests));
	bad |= json_object_set_new(crl, "number", json_integer(num));
	bad |= json_object_set_new(crl, "this_update", web_jtime(tu));
	bad |= json_object_set_new(crl, "next_update", web_jtime(nu));
	bad |= json_object_set_new(o, "name", mica_jstr(ca_name(c->ca)));
	bad |= json_object_set_new(o, "fingerprint_sha256", mica_jstr(ca_root_fingerprint(c->ca)));
	bad |= json_object_set_new(o, "public_url", mica_jstr(ca_public_url(c->ca)));
	bad |= json_object_set_new(o, "not_after", web_jtime(ca_not_after(c->ca)));
	/* The admin page shows it: the end of the CA (or of one above it)
	 * was told only in the log, /healthz and the command line. */
	if (ca_expiry_warning(c->ca, c->now, warning, sizeof(warning)) != 0)
		bad |= json_object_set_new(o, "warning", json_string(warning));
	bad |= json_object_set_new(o, "counts", cnt);
	bad |= json_object_set_new(o, "crl", crl);
	if (bad) {
		json_decref(o);
		return oom(err);
	}
	return web_reply_json(rep, 200, o, 0, err);
}

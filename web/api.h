/*
 * web/api.h - the handlers of the route table (web/api.c) and what a
 * handler sees of its request. Each handler is parse -> validate -> call
 * the engine -> render, and returns 0 with REP filled or -1 with ERR for
 * the dispatcher's one error-reply path.
 */
#ifndef MICA_WEB_API_H
#define MICA_WEB_API_H

#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"
#include "util/err.h"
#include "web/parse.h"
#include "web/reply.h"
#include "web/routes.h"

struct web_server;

/* What a handler sees. */
struct web_ctx {
	struct web_server *srv;        /* NULL in unit tests */
	struct ca *ca;                 /* this worker's engine handle */
	const struct ca_principal *p;
	const struct web_match *m;
	const struct web_query *q;
	const char *ctype;             /* media type, "" if none */
	const unsigned char *body;
	size_t body_len;
	const char *client;
	int64_t now;
	const char *method;            /* "GET", "HEAD", "POST"... */
	const char *host;              /* the Host header, NULL if none */
	const char *accept;            /* the Accept header, NULL if none
					* (web_accept_pick reads it) */
};

/* A body that carries nothing, for the actions that take none: empty, or
 * the JSON object {}. Anything else is refused (415 another media type,
 * 400 bad_json or unknown_field), so that a request the client meant
 * otherwise changes nothing. */
int web_no_body(struct web_ctx *c, struct mica_err *err);
/* Into O, the answer that made a token for TS: a "warning" when its scope
 * names something no certificate can be issued for
 * (ca_token_scope_unreachable). -1 when out of memory. */
int web_scope_warning(struct web_ctx *c, const struct ca_token_spec *ts,
		      json_t *o);

/* A listing's "cursor" query parameter S (NULL: none, the first page)
 * into OUT; MICA_E_BADREQ "bad_parameter" unless it is the text of a
 * next_cursor (all zero in OUT then). */
int web_cursor_parse(const char *s, struct ca_cursor *out, struct mica_err *err);
/* The "next_cursor" of a listing: C as text, JSON null when C->id is 0
 * (no page follows). New reference, NULL when out of memory. */
json_t *web_cursor_json(const struct ca_cursor *c);

/* Handlers (api.c), referenced by the route table. */
int web_h_ca_der(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_ca_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_crl_der(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
/* A CRL's ETag and Last-Modified (its number and thisUpdate; PEM: the
 * PEM form's), so that caches revalidate with 304 (web/http.c). */
void web_crl_validators(struct web_reply *rep, int64_t number,
			int64_t this_update, int pem);
int web_h_crl_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_healthz(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_req_submit(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_req_list(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_req_get(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
/* The certificate of an issued request with its chain, for whoever has
 * the id: PEM (certificate.pem) or PKCS#7 (certificate.p7b). */
int web_h_req_cert_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_req_cert_p7b(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_req_approve(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_req_deny(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_list(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_get(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
/* Admin: a certificate with its chain, PEM (chain.pem) or PKCS#7
 * (chain.p7b). */
int web_h_cert_chain_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_chain_p7b(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_renew(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_renew_challenge(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_revoke(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_cert_unrevoke(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_crl_publish(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
/* The limits a token's JSON J may set, checked as the command line checks
 * them: "expires_in", when given, 1 s to 10 years (into *EXPIRES_IN, 0 when
 * absent: no expiry); "names", when given, not empty. */
int web_token_limits(json_t *j, int64_t *expires_in, struct mica_err *err);
int web_h_token_create(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_scep_mobileconfig(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_token_list(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_token_delete(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_audit(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_status(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
/* The hierarchy's public files (hier.c): the root, the chain as PEM and as
 * PKCS#7, the root's imported CRL, each key's CRL and CA certificate. */
int web_h_root_der(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_root_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_chain_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_chain_p7b(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_root_crl(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_crl_key(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_ca_key(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
/* Delta CRLs (hier.c): /delta.crl (key 0) and /delta.crl/N. */
int web_h_delta_crl(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_delta_crl_key(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
/* SCEP (scep.c): GET and POST /scep?operation=..., and its aliases. */
int web_h_scep_get(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_scep_post(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
/* OCSP (ocsp.c): POST /ocsp, GET /ocsp/{base64 request}. */
int web_h_ocsp_post(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_ocsp_get(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
/*
 * The DER request a GET /ocsp/{TAIL} carries (TAIL as sent, still
 * percent-encoded: RFC 6960 A.1's URL encoding of the base64 of the
 * request) into DER[0..SIZE), *DER_LEN its length. Also taken: leading
 * slashes (an AIA URL ending in '/'), base64 without its '=' padding
 * when its length says what it holds, a space for '+' (a '+' a proxy
 * decoded). At most 1 KiB of base64. Anything else (empty, not base64,
 * wrong padding, '=' inside): -1 with MICA_E_BADREQ "malformed_ocsp".
 * Pure; DER is not read as OCSP here (ca_ocsp_req_parse does that).
 */
int web_ocsp_get_decode(const char *tail, unsigned char *der, size_t size,
			size_t *der_len, struct mica_err *err);

#endif

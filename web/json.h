/*
 * web/json.h - JSON request bodies (strict validation against a field
 * list) and the JSON renderings of the engine's records (jansson).
 */
#ifndef MICA_WEB_JSON_H
#define MICA_WEB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ca/ca.h"
#include "util/err.h"
#include "util/jstr.h"

enum web_jtype {
	WEB_J_STRING = 1,
	WEB_J_INT,
	WEB_J_BOOL,
	WEB_J_STRARRAY,     /* array of strings */
};

struct web_field {
	const char *name;
	int type;            /* enum web_jtype */
	int required;
	size_t max;          /* strings: most bytes; arrays: most items */
};

/* Parse BODY as one JSON object (UTF-8, no duplicate keys, nothing after
 * it, no NUL in strings). MICA_E_BADREQ "bad_json" otherwise. *out owned
 * by the caller (json_decref). */
int web_json_parse(const unsigned char *body, size_t len, json_t **out,
		   struct mica_err *err);
/* Check OBJ against SPEC: unknown keys -> "unknown_field", wrong type,
 * over-long string, too many items -> "bad_field", missing required ->
 * "missing_field" (all MICA_E_BADREQ, naming the field). JSON null counts
 * as absent. */
int web_json_check(json_t *obj, const struct web_field *spec, size_t n,
		   struct mica_err *err);
/* Getters after web_json_check: NULL/DEF when absent or null. */
int web_json_has(json_t *obj, const char *key);   /* present, not null */
const char *web_json_str(json_t *obj, const char *key);
int64_t web_json_int(json_t *obj, const char *key, int64_t def);
int web_json_bool(json_t *obj, const char *key, int def);

/* RFC 3339 time string, or null for 0. */
json_t *web_jtime(int64_t t);
/* PEM text of DER under LABEL, or NULL. */
json_t *web_jpem(const char *label, const unsigned char *der, size_t len);

const char *web_cert_status_name(const struct ca_cert *c, int64_t now);
const char *web_req_status_name(int status);

/* A certificate as the API shows it; with its bytes (ca_cert_get, not a
 * listing), "certificate" and "chain" (CHAIN_PEM, ca_key_chain_pem of
 * its key, split: [] when NULL). */
json_t *web_json_cert(const struct ca_cert *c, const char *chain_pem,
		      int64_t now);
json_t *web_json_request(const struct ca_request *r, int admin);
json_t *web_json_token(const struct ca_token *t, int64_t now);
json_t *web_json_audit(const struct ca_audit *a);
/* An issuance result: {id?, status, serial, certificate, chain:[issuing
 * CA ... root], not_before, not_after, notice?}. CHAIN_PEM (the PEM
 * certificates of the chain, concatenated: ca_chain_pem) may be NULL (no
 * chain). */
json_t *web_json_issued(const struct ca_issued *is, const char *chain_pem);

#endif

/*
 * ca/jws.h - JSON Web Signatures (RFC 7515) and JSON Web Keys (RFC 7517)
 * as ACME uses them (RFC 8555 6.2): the flattened JSON serialization with
 * a protected header only, signed with ES256, ES384 or RS256 by an
 * account key, or with HS256/384/512 by an External Account Binding key.
 *
 * Everything here reads hostile bytes: bounded, strict (no unprotected
 * header, no unknown header or key member, no duplicate JSON member, one
 * spelling of every base64url value), fail-closed, and never echoes input
 * in a message. Error codes are those of the ACME error types they map to
 * (RFC 8555 6.7), in snake_case: "malformed", "bad_signature_algorithm",
 * "bad_public_key" (MICA_E_BADREQ).
 *
 * EdDSA (RFC 8037) is refused with bad_signature_algorithm: mbedTLS 3.6
 * has no Ed25519.
 */
#ifndef MICA_CA_JWS_H
#define MICA_CA_JWS_H

#include <stddef.h>

#include <jansson.h>

#include "util/err.h"

#define CA_JWS_NONCE_MAX   64      /* a nonce, with NUL */
#define CA_JWS_URL_MAX     512     /* "url" and "kid", without NUL */
#define CA_JWS_HEADER_MAX  8192    /* decoded protected header */
#define CA_JWK_JSON_MAX    1400    /* RFC 7638 form of an RSA-4096 key */

enum ca_jws_alg {
	CA_JWS_NONE = 0,
	CA_JWS_ES256, CA_JWS_ES384, CA_JWS_RS256,       /* account keys */
	CA_JWS_HS256, CA_JWS_HS384, CA_JWS_HS512,       /* EAB MACs */
};

struct ca_jwk {
	int kind;                     /* enum ca_pubkey_kind (ca/profile.h) */
	int bits;
	unsigned char thumbprint[32]; /* RFC 7638 SHA-256 thumbprint */
	char *json;                   /* RFC 7638 canonical form: the required
				       * members in lexicographic order */
	unsigned char *spki;          /* SubjectPublicKeyInfo DER, as mbedTLS
				       * writes it (comparable byte for byte) */
	size_t spki_len;
};

/* Free the fields of K and zero it. Accepts NULL. */
void ca_jwk_free(struct ca_jwk *k);

/*
 * A public JWK from OBJ: EC on P-256 or P-384 (kty, crv, x, y, coordinates
 * of exactly the curve's size, a point on the curve) or RSA (kty, n, e,
 * minimal octets, 2048..4096 bits, e odd and at least 65537). "kid",
 * "use" and "alg" may be present (strings, ignored); private members are
 * refused, so are all others. OKP (Ed25519) is bad_signature_algorithm,
 * anything else bad_public_key. On success *OUT owns its fields.
 */
int ca_jwk_from_json(json_t *obj, struct ca_jwk *out, struct mica_err *err);
/* The same from JSON text (as ca_jwk_free'd keys are stored). */
int ca_jwk_parse(const char *text, size_t len, struct ca_jwk *out,
		 struct mica_err *err);

/* The RFC 7638 thumbprint a JWK of the key in SPKI (DER, as mbedTLS writes
 * it: ca_csr's spki) would have, into OUT: 0; 1 when no account key can be
 * that key (not P-256, P-384 or RSA); -1 out of memory. */
int ca_jwk_spki_thumbprint(const unsigned char *spki, size_t len,
			   unsigned char out[32]);

/* ca_jws_parse flags: what the protected header must hold. */
#define CA_JWS_NEED_NONCE 0x1  /* a "nonce" (every request to the server) */
#define CA_JWS_NEED_JWK   0x2  /* "jwk", not "kid" */
#define CA_JWS_NEED_KID   0x4  /* "kid", not "jwk" */
#define CA_JWS_MAC        0x8  /* an HMAC algorithm (EAB): "kid", no nonce */
#define CA_JWS_NO_NONCE   0x10 /* no "nonce" (the inner JWS of key-change) */

struct ca_jws {
	int alg;                      /* enum ca_jws_alg */
	char nonce[CA_JWS_NONCE_MAX]; /* "" when absent */
	char *url;                    /* the "url" header */
	char *kid;                    /* NULL when a "jwk" was given */
	int has_jwk;
	struct ca_jwk jwk;            /* when has_jwk */
	unsigned char *payload;       /* decoded, NUL-terminated (not counted) */
	size_t payload_len;           /* 0: POST-as-GET (RFC 8555 6.3) */
	char *signing_input;          /* protected "." payload, as sent */
	size_t signing_input_len;
	unsigned char *sig;
	size_t sig_len;
};

/* Free the fields of J and zero it. Accepts NULL. */
void ca_jws_free(struct ca_jws *j);

/*
 * Parse BODY (a request body: one JSON object with exactly "protected",
 * "payload" and "signature") with the header rules of FLAGS. The
 * signature is not checked here: see ca_jws_verify. The "url" and "kid"
 * are at most CA_JWS_URL_MAX printable ASCII characters; a nonce is
 * base64url text. On success *OUT owns its fields (free with ca_jws_free,
 * also after a failure).
 */
int ca_jws_parse(const unsigned char *body, size_t len, int flags,
		 struct ca_jws *out, struct mica_err *err);
/* The same for a JWS that is a JSON value inside another's payload (the
 * inner JWS of key-change, an externalAccountBinding). */
int ca_jws_parse_json(json_t *obj, int flags, struct ca_jws *out,
		      struct mica_err *err);

/* Check J's signature with KEY: the algorithm must fit the key (ES256 with
 * P-256, ES384 with P-384, RS256 with RSA) and the signature must verify
 * over J's signing input. MICA_E_BADREQ "malformed" otherwise. */
int ca_jws_verify(const struct ca_jws *j, const struct ca_jwk *key,
		  struct mica_err *err);
/* Check J's MAC (HS256/384/512) with KEY, in constant time. */
int ca_jws_verify_mac(const struct ca_jws *j, const unsigned char *key,
		      size_t key_len, struct mica_err *err);

/* J's payload as a JSON object (no duplicate members, no NUL in strings),
 * without its members whose value is null (null is absent); *OUT a new
 * reference. "malformed" for an empty or non-object payload. */
int ca_jws_payload_json(const struct ca_jws *j, json_t **out,
			struct mica_err *err);

#endif

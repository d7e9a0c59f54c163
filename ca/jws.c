/*
 * ca/jws.c - JWS and JWK as ACME uses them (ca/jws.h).
 *
 * JSON comes from Jansson only (JSON_REJECT_DUPLICATES; without
 * JSON_ALLOW_NUL it refuses \u0000 in strings), binary fields from the
 * strict base64url decoder (util/b64url.h), keys and signatures from
 * mbedTLS. A key is turned into a SubjectPublicKeyInfo
 * and parsed by mbedTLS, which checks that an EC point is on its curve; the
 * SPKI mbedTLS writes back is what the rest of mica compares.
 */
#include "ca/jws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>

#include "ca/keys.h"
#include "ca/profile.h"
#include "util/b64url.h"
#include "util/jstr.h"

#define SPKI_MAX 1024   /* an RSA-4096 SubjectPublicKeyInfo is 550 octets */

static int
malformed(struct mica_err *err, const char *msg)
{
	return mica_err_set(err, MICA_E_BADREQ, "malformed", "%s", msg);
}

static int
bad_key(struct mica_err *err, const char *msg)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_public_key", "%s", msg);
}

/* A base64url string member of OBJ decoded into a new heap buffer of at
 * most MAX octets. 0, or -1 (absent, not a string, bad encoding, too big). */
static int
b64_member(json_t *obj, const char *key, size_t max, unsigned char **out,
	   size_t *len)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t sl;

	*out = NULL;
	*len = 0;
	if (v == NULL || !json_is_string(v))
		return -1;
	s = json_string_value(v);
	sl = json_string_length(v);
	if (sl > MICA_B64URL_ENCLEN(max))
		return -1;
	if ((*out = malloc(MICA_B64URL_DECLEN(sl) + 1)) == NULL)
		return -1;
	if (mica_b64url_decode(s, sl, *out, MICA_B64URL_DECLEN(sl), len) != 0 ||
	    *len > max) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* --------------------------------------------------------------- JWK -- */

void
ca_jwk_free(struct ca_jwk *k)
{
	if (k == NULL)
		return;
	free(k->json);
	free(k->spki);
	memset(k, 0, sizeof(*k));
}

/* RFC 7517 4: members of a JWK this server does not know are ignored
 * ("kid", "use", "alg", and the "ext" and "key_ops" of a key WebCrypto
 * exported; the key is read from its required members alone). But a
 * private key's members are refused, with a message of their own: whoever
 * sent them has given the key away. */
static int
no_private_members(json_t *obj, struct mica_err *err)
{
	static const char *const private_members[] = {
		"d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL };

	for (const char *const *w = private_members; *w != NULL; w++)
		if (json_object_get(obj, *w) != NULL)
			return bad_key(err, "the JWK holds private key material: "
				       "send the public key only");
	return 0;
}

/* The SPKI that mbedTLS writes for PK, into K (heap). */
static int
spki_from_pk(mbedtls_pk_context *pk, struct ca_jwk *k, struct mica_err *err)
{
	unsigned char buf[SPKI_MAX];
	int n = mbedtls_pk_write_pubkey_der(pk, buf, sizeof(buf));

	if (n <= 0)
		return bad_key(err, "the JWK does not make a usable public key");
	if ((k->spki = malloc((size_t)n)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	/* mbedTLS writes at the end of the buffer. */
	memcpy(k->spki, buf + sizeof(buf) - (size_t)n, (size_t)n);
	k->spki_len = (size_t)n;
	return 0;
}

/* SubjectPublicKeyInfo up to the point's first octet (RFC 5480), as
 * mbedTLS writes it. */
static const unsigned char p256_prefix[] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
	0x07, 0x03, 0x42, 0x00, 0x04 };
static const unsigned char p384_prefix[] = {
	0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62,
	0x00, 0x04 };

/* RFC 7638 3.2: an EC key's required members, sorted, no white space. */
static char *
ec_json(const char *crv, const unsigned char *x, const unsigned char *y,
	size_t clen)
{
	char xs[80], ys[80], *out;

	mica_b64url_encode(x, clen, xs, sizeof(xs));
	mica_b64url_encode(y, clen, ys, sizeof(ys));
	if (asprintf(&out, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		     crv, xs, ys) < 0)
		return NULL;
	return out;
}

/* The same for RSA: N and E in their minimal octets. */
static char *
rsa_json(const unsigned char *n, size_t nl, const unsigned char *e, size_t el)
{
	char *ns, es[16], *out = NULL;

	if (el > 8 || (ns = malloc(MICA_B64URL_ENCLEN(nl) + 1)) == NULL)
		return NULL;
	mica_b64url_encode(n, nl, ns, MICA_B64URL_ENCLEN(nl) + 1);
	mica_b64url_encode(e, el, es, sizeof(es));
	if (asprintf(&out, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", es, ns) < 0)
		out = NULL;
	free(ns);
	return out;
}

/* RFC 7518 6.2: an EC public key on P-256 or P-384. */
static int
jwk_ec(json_t *obj, struct ca_jwk *k, struct mica_err *err)
{
	unsigned char *x = NULL, *y = NULL, der[200], *p = der;
	const unsigned char *prefix;
	size_t xl = 0, yl = 0, clen, plen;
	const char *crv;
	mbedtls_pk_context pk;
	int rc = -1;

	mbedtls_pk_init(&pk);
	if (no_private_members(obj, err) != 0)
		goto out;
	crv = json_string_value(json_object_get(obj, "crv"));
	if (crv == NULL) {
		bad_key(err, "an EC JWK needs \"crv\"");
		goto out;
	}
	if (strcmp(crv, "P-256") == 0) {
		k->kind = CA_PUBKEY_EC_P256;
		k->bits = 256;
		clen = 32;
		prefix = p256_prefix;
		plen = sizeof(p256_prefix);
	} else if (strcmp(crv, "P-384") == 0) {
		k->kind = CA_PUBKEY_EC_P384;
		k->bits = 384;
		clen = 48;
		prefix = p384_prefix;
		plen = sizeof(p384_prefix);
	} else {
		bad_key(err, "EC account keys must be on P-256 or P-384");
		goto out;
	}
	/* RFC 7518 6.2.1.2: the coordinates are the full size of the curve. */
	if (b64_member(obj, "x", clen, &x, &xl) != 0 || xl != clen ||
	    b64_member(obj, "y", clen, &y, &yl) != 0 || yl != clen) {
		bad_key(err, "the EC JWK's coordinates are not of the curve's size");
		goto out;
	}
	_Static_assert(sizeof(p384_prefix) + 96 <= sizeof(der), "der");
	memcpy(p, prefix, plen);
	p += plen;
	memcpy(p, x, clen);
	p += clen;
	memcpy(p, y, clen);
	p += clen;
	if (mbedtls_pk_parse_public_key(&pk, der, (size_t)(p - der)) != 0) {
		bad_key(err, "the EC JWK is not a point on its curve");
		goto out;
	}
	if (spki_from_pk(&pk, k, err) != 0)
		goto out;
	if ((k->json = ec_json(crv, x, y, clen)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	rc = 0;
out:
	mbedtls_pk_free(&pk);
	free(x);
	free(y);
	return rc;
}

/* RFC 7518 6.3: an RSA public key. */
static int
jwk_rsa(json_t *obj, struct ca_jwk *k, struct mica_err *err)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nl = 0, el = 0, bits;
	mbedtls_pk_context pk;
	mbedtls_rsa_context *rsa;
	int rc = -1;

	mbedtls_pk_init(&pk);
	if (no_private_members(obj, err) != 0)
		goto out;
	if (b64_member(obj, "n", 512, &n, &nl) != 0 ||
	    b64_member(obj, "e", 4, &e, &el) != 0 || nl == 0 || el == 0) {
		bad_key(err, "an RSA JWK needs \"n\" (at most 4096 bits) and \"e\"");
		goto out;
	}
	/* RFC 7518 6.3.1.1: the minimum number of octets. */
	if (n[0] == 0 || e[0] == 0) {
		bad_key(err, "the RSA JWK's values have leading zero octets");
		goto out;
	}
	bits = nl * 8;
	for (unsigned char top = n[0]; !(top & 0x80); top <<= 1)
		bits--;
	if (bits < 2048 || bits > 4096) {
		bad_key(err, "RSA account keys must have 2048 to 4096 bits");
		goto out;
	}
	/* The same rule as certified keys: an odd exponent of at least 65537. */
	{
		unsigned long ev = 0;

		for (size_t i = 0; i < el; i++)
			ev = ev << 8 | e[i];
		if (!(ev & 1) || ev < 65537)
			ev = 0;
		if (ev == 0) {
			bad_key(err, "the RSA JWK's exponent must be odd and at least 65537");
			goto out;
		}
	}
	if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0 ||
	    (rsa = mbedtls_pk_rsa(pk)) == NULL ||
	    mbedtls_rsa_import_raw(rsa, n, nl, NULL, 0, NULL, 0, NULL, 0, e, el) != 0 ||
	    mbedtls_rsa_complete(rsa) != 0 || mbedtls_rsa_check_pubkey(rsa) != 0) {
		bad_key(err, "the RSA JWK is not a usable public key");
		goto out;
	}
	k->kind = CA_PUBKEY_RSA;
	k->bits = (int)bits;
	if (spki_from_pk(&pk, k, err) != 0)
		goto out;
	if ((k->json = rsa_json(n, nl, e, el)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	rc = 0;
out:
	mbedtls_pk_free(&pk);
	free(n);
	free(e);
	return rc;
}

int
ca_jwk_from_json(json_t *obj, struct ca_jwk *out, struct mica_err *err)
{
	const char *kty;
	int rc;

	memset(out, 0, sizeof(*out));
	if (obj == NULL || !json_is_object(obj))
		return bad_key(err, "the JWK must be a JSON object");
	kty = json_string_value(json_object_get(obj, "kty"));
	if (kty == NULL)
		return bad_key(err, "the JWK has no \"kty\"");
	if (strcmp(kty, "EC") == 0)
		rc = jwk_ec(obj, out, err);
	else if (strcmp(kty, "RSA") == 0)
		rc = jwk_rsa(obj, out, err);
	else if (strcmp(kty, "OKP") == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_signature_algorithm",
				    "EdDSA keys are not supported (mbedTLS has no Ed25519): "
				    "use an ES256, ES384 or RS256 account key");
	else
		return bad_key(err, "unsupported JWK key type (EC and RSA are)");
	if (rc != 0) {
		ca_jwk_free(out);
		return -1;
	}
	ca_sha256(out->json, strlen(out->json), out->thumbprint);
	return 0;
}

int
ca_jwk_spki_thumbprint(const unsigned char *spki, size_t len,
		       unsigned char out[32])
{
	unsigned char n[512], e[8];
	size_t nl, el;
	char *json = NULL;
	int rsa = 0;
	mbedtls_pk_context pk;
	mbedtls_mpi N, E;

	if (len == sizeof(p256_prefix) + 64 &&
	    memcmp(spki, p256_prefix, sizeof(p256_prefix)) == 0)
		json = ec_json("P-256", spki + sizeof(p256_prefix),
			       spki + sizeof(p256_prefix) + 32, 32);
	else if (len == sizeof(p384_prefix) + 96 &&
		 memcmp(spki, p384_prefix, sizeof(p384_prefix)) == 0)
		json = ec_json("P-384", spki + sizeof(p384_prefix),
			       spki + sizeof(p384_prefix) + 48, 48);
	else {
		mbedtls_pk_init(&pk);
		mbedtls_mpi_init(&N);
		mbedtls_mpi_init(&E);
		if (mbedtls_pk_parse_public_key(&pk, spki, len) == 0 &&
		    mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA &&
		    mbedtls_rsa_export(mbedtls_pk_rsa(pk), &N, NULL, NULL, NULL,
				       &E) == 0 &&
		    (nl = mbedtls_mpi_size(&N)) <= sizeof(n) &&
		    (el = mbedtls_mpi_size(&E)) <= sizeof(e) && nl > 0 &&
		    el > 0 && mbedtls_mpi_write_binary(&N, n, nl) == 0 &&
		    mbedtls_mpi_write_binary(&E, e, el) == 0) {
			rsa = 1;
			json = rsa_json(n, nl, e, el);
		}
		mbedtls_mpi_free(&N);
		mbedtls_mpi_free(&E);
		mbedtls_pk_free(&pk);
		if (!rsa)
			return 1;
	}
	if (json == NULL)
		return -1;
	ca_sha256(json, strlen(json), out);
	free(json);
	return 0;
}

/* Jansson's parser with the strict flags; NULL and ERR set on failure. */
static json_t *
load_strict(const char *text, size_t len, const char *what, struct mica_err *err)
{
	json_error_t jerr;
	json_t *j;

	/* Jansson's own message quotes the input: report the position only.
	 * Any value parses (a string, a number), to be refused as not an
	 * object below - not as "not valid JSON", which it is. */
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (j == NULL) {
		mica_err_set(err, MICA_E_BADREQ, "malformed",
			     "%s is not valid JSON (line %d, column %d: %s)", what,
			     jerr.line, jerr.column, mica_json_why(&jerr));
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		mica_err_set(err, MICA_E_BADREQ, "malformed", "%s must be a JSON object", what);
		return NULL;
	}
	return j;
}

int
ca_jwk_parse(const char *text, size_t len, struct ca_jwk *out,
	     struct mica_err *err)
{
	json_t *j;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > CA_JWK_JSON_MAX * 2)
		return bad_key(err, "the JWK is too large");
	if ((j = load_strict(text, len, "the JWK", err)) == NULL)
		return -1;
	rc = ca_jwk_from_json(j, out, err);
	json_decref(j);
	return rc;
}

/* --------------------------------------------------------------- JWS -- */

void
ca_jws_free(struct ca_jws *j)
{
	if (j == NULL)
		return;
	free(j->url);
	free(j->kid);
	ca_jwk_free(&j->jwk);
	if (j->payload != NULL)
		mbedtls_platform_zeroize(j->payload, j->payload_len);
	free(j->payload);
	free(j->signing_input);
	free(j->sig);
	memset(j, 0, sizeof(*j));
}

static int
alg_parse(const char *s)
{
	static const struct { const char *name; int alg; } algs[] = {
		{ "ES256", CA_JWS_ES256 }, { "ES384", CA_JWS_ES384 },
		{ "RS256", CA_JWS_RS256 }, { "HS256", CA_JWS_HS256 },
		{ "HS384", CA_JWS_HS384 }, { "HS512", CA_JWS_HS512 },
	};

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(s, algs[i].name) == 0)
			return algs[i].alg;
	return CA_JWS_NONE;
}

static int
is_mac(int alg)
{
	return alg == CA_JWS_HS256 || alg == CA_JWS_HS384 || alg == CA_JWS_HS512;
}

/* A printable ASCII string of 1..MAX characters, copied to the heap. */
static int
url_member(json_t *v, char **out)
{
	const char *s;
	size_t n;

	*out = NULL;
	if (v == NULL || !json_is_string(v))
		return -1;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > CA_JWS_URL_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return -1;
	return (*out = strdup(s)) == NULL ? -1 : 0;
}

/* RFC 8555 6.2: the protected header (decoded JSON object HDR). */
static int
header_parse(json_t *hdr, int flags, struct ca_jws *out, struct mica_err *err)
{
	json_t *jwk, *kid, *nonce;
	const char *alg;

	/* RFC 7515 4: a member this server does not know is ignored - "typ",
	 * which the acme-client gem (GitLab's Let's Encrypt) puts in every
	 * header, "cty", "x5c" - as Boulder and step-ca ignore it. But
	 * "crit" names extensions that must be understood, and this server
	 * understands none (4.1.11); and "b64" (RFC 7797) would change what
	 * the signature covers. */
	if (json_object_get(hdr, "crit") != NULL || json_object_get(hdr, "b64") != NULL)
		return malformed(err, "the protected header asks for a JWS extension "
				 "(\"crit\", \"b64\") this server does not implement");
	alg = json_string_value(json_object_get(hdr, "alg"));
	if (alg == NULL)
		return malformed(err, "the protected header has no \"alg\"");
	out->alg = alg_parse(alg);
	if (out->alg == CA_JWS_NONE || is_mac(out->alg) != !!(flags & CA_JWS_MAC))
		return mica_err_set(err, MICA_E_BADREQ,
				    (flags & CA_JWS_MAC) ? "bad_eab_algorithm" :
				    "bad_signature_algorithm",
				    (flags & CA_JWS_MAC) ?
				    "an external account binding is signed with HS256, HS384 or HS512" :
				    "unsupported JWS algorithm (ES256, ES384 and RS256 are)");
	if (url_member(json_object_get(hdr, "url"), &out->url) != 0)
		return malformed(err, "the protected header needs a \"url\" of printable ASCII");
	nonce = json_object_get(hdr, "nonce");
	if (nonce != NULL) {
		const char *s = json_string_value(nonce);
		size_t n = json_string_length(nonce), dl;
		unsigned char tmp[CA_JWS_NONCE_MAX];

		if (flags & (CA_JWS_NO_NONCE | CA_JWS_MAC))
			return malformed(err, "this JWS must not carry a nonce");
		if (s == NULL || n == 0 || n >= CA_JWS_NONCE_MAX ||
		    mica_b64url_decode(s, n, tmp, sizeof(tmp), &dl) != 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_nonce",
					    "the nonce is not a base64url string this server could have made");
		memcpy(out->nonce, s, n + 1);
	} else if (flags & CA_JWS_NEED_NONCE) {
		return mica_err_set(err, MICA_E_BADREQ, "bad_nonce",
				    "the protected header has no \"nonce\"");
	}
	jwk = json_object_get(hdr, "jwk");
	kid = json_object_get(hdr, "kid");
	if ((jwk != NULL) == (kid != NULL))
		return malformed(err, "the protected header needs exactly one of \"jwk\" and \"kid\"");
	if (jwk != NULL && ((flags & (CA_JWS_NEED_KID | CA_JWS_MAC))))
		return malformed(err, "this request is signed with an account's key: use \"kid\", not \"jwk\"");
	if (kid != NULL && (flags & CA_JWS_NEED_JWK))
		return malformed(err, "this request must carry the key itself (\"jwk\"), not \"kid\"");
	if (jwk != NULL) {
		if (ca_jwk_from_json(jwk, &out->jwk, err) != 0)
			return -1;
		out->has_jwk = 1;
	} else if (url_member(kid, &out->kid) != 0) {
		return malformed(err, "\"kid\" must be a string of printable ASCII");
	}
	return 0;
}

int
ca_jws_parse_json(json_t *obj, int flags, struct ca_jws *out,
		  struct mica_err *err)
{
	json_t *jp, *jy, *js, *hdr = NULL;
	const char *ps, *ys, *ss;
	size_t pl, yl, sl, dl;
	unsigned char *hbuf = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (obj == NULL || !json_is_object(obj))
		return malformed(err, "a JWS must be a JSON object (flattened serialization)");
	jp = json_object_get(obj, "protected");
	jy = json_object_get(obj, "payload");
	js = json_object_get(obj, "signature");
	/* RFC 8555 6.2: no unprotected header, no general serialization. */
	if (json_object_size(obj) != 3 || jp == NULL || jy == NULL || js == NULL ||
	    !json_is_string(jp) || !json_is_string(jy) || !json_is_string(js))
		return malformed(err, "a JWS has exactly \"protected\", \"payload\" and "
				 "\"signature\", all strings");
	ps = json_string_value(jp);
	pl = json_string_length(jp);
	ys = json_string_value(jy);
	yl = json_string_length(jy);
	ss = json_string_value(js);
	sl = json_string_length(js);
	if (pl == 0 || pl > MICA_B64URL_ENCLEN(CA_JWS_HEADER_MAX))
		return malformed(err, "the protected header is empty or too large");
	if ((hbuf = malloc(MICA_B64URL_DECLEN(pl))) == NULL)
		goto oom;
	if (mica_b64url_decode(ps, pl, hbuf, MICA_B64URL_DECLEN(pl), &dl) != 0) {
		malformed(err, "the protected header is not base64url");
		goto out;
	}
	if ((hdr = load_strict((const char *)hbuf, dl, "the protected header", err)) == NULL)
		goto out;
	if (header_parse(hdr, flags, out, err) != 0)
		goto out;
	if ((out->payload = malloc(MICA_B64URL_DECLEN(yl) + 1)) == NULL)
		goto oom;
	if (mica_b64url_decode(ys, yl, out->payload, MICA_B64URL_DECLEN(yl),
			       &out->payload_len) != 0) {
		malformed(err, "the payload is not base64url");
		goto out;
	}
	out->payload[out->payload_len] = '\0';
	if (sl == 0 || sl > MICA_B64URL_ENCLEN(512) ||
	    (out->sig = malloc(MICA_B64URL_DECLEN(sl))) == NULL ||
	    mica_b64url_decode(ss, sl, out->sig, MICA_B64URL_DECLEN(sl), &out->sig_len) != 0) {
		if (out->sig == NULL && sl > 0 && sl <= MICA_B64URL_ENCLEN(512))
			goto oom;
		malformed(err, "the signature is not base64url of at most 512 octets");
		goto out;
	}
	out->signing_input_len = pl + 1 + yl;
	if ((out->signing_input = malloc(out->signing_input_len + 1)) == NULL)
		goto oom;
	memcpy(out->signing_input, ps, pl);
	out->signing_input[pl] = '.';
	memcpy(out->signing_input + pl + 1, ys, yl);
	out->signing_input[out->signing_input_len] = '\0';
	rc = 0;
	goto out;
oom:
	mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
out:
	if (rc != 0)
		ca_jws_free(out);
	json_decref(hdr);
	free(hbuf);
	return rc;
}

int
ca_jws_parse(const unsigned char *body, size_t len, int flags,
	     struct ca_jws *out, struct mica_err *err)
{
	json_t *j;
	int rc;

	memset(out, 0, sizeof(*out));
	if (body == NULL || len == 0)
		return malformed(err, "the request body must be a JWS (application/jose+json)");
	if ((j = load_strict((const char *)body, len, "the request body", err)) == NULL)
		return -1;
	rc = ca_jws_parse_json(j, flags, out, err);
	json_decref(j);
	return rc;
}

/* r || s (RFC 7518 3.4) as the DER ECDSA-Sig-Value mbedTLS verifies. */
static int
ecdsa_der(const unsigned char *sig, size_t half, unsigned char *buf,
	  size_t size, size_t *len)
{
	mbedtls_mpi r, s;
	unsigned char *p = buf + size;
	int n, total = 0, rc = -1;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (mbedtls_mpi_read_binary(&r, sig, half) != 0 ||
	    mbedtls_mpi_read_binary(&s, sig + half, half) != 0)
		goto out;
	if ((n = mbedtls_asn1_write_mpi(&p, buf, &s)) < 0)
		goto out;
	total += n;
	if ((n = mbedtls_asn1_write_mpi(&p, buf, &r)) < 0)
		goto out;
	total += n;
	if ((n = mbedtls_asn1_write_len(&p, buf, (size_t)total)) < 0)
		goto out;
	total += n;
	if ((n = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED |
					MBEDTLS_ASN1_SEQUENCE)) < 0)
		goto out;
	total += n;
	memmove(buf, p, (size_t)total);
	*len = (size_t)total;
	rc = 0;
out:
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return rc;
}

int
ca_jws_verify(const struct ca_jws *j, const struct ca_jwk *key,
	      struct mica_err *err)
{
	unsigned char hash[64], der[160];
	const unsigned char *sig = j->sig;
	size_t sig_len = j->sig_len, hlen;
	mbedtls_md_type_t md;
	mbedtls_pk_context pk;
	int ok = 0, size_ok = 0;

	switch (j->alg) {
	case CA_JWS_ES256:
		ok = key->kind == CA_PUBKEY_EC_P256;
		size_ok = j->sig_len == 64;
		md = MBEDTLS_MD_SHA256;
		break;
	case CA_JWS_ES384:
		ok = key->kind == CA_PUBKEY_EC_P384;
		size_ok = j->sig_len == 96;
		md = MBEDTLS_MD_SHA384;
		break;
	case CA_JWS_RS256:
		ok = key->kind == CA_PUBKEY_RSA;
		size_ok = j->sig_len == ((size_t)key->bits + 7) / 8;
		md = MBEDTLS_MD_SHA256;
		break;
	default:
		md = MBEDTLS_MD_NONE;
		break;
	}
	/* An algorithm this key cannot sign with: the problem document then
	 * lists the algorithms (RFC 8555 6.2). */
	if (!ok)
		return mica_err_set(err, MICA_E_BADREQ, "bad_signature_algorithm",
				    "the JWS algorithm does not fit the key (ES256 for "
				    "P-256, ES384 for P-384, RS256 for RSA)");
	if (!size_ok)
		return mica_err_set(err, MICA_E_BADREQ, "malformed",
				    "the JWS signature is not of the key's size");
	hlen = mbedtls_md_get_size(mbedtls_md_info_from_type(md));
	if (mbedtls_md(mbedtls_md_info_from_type(md), (const unsigned char *)j->signing_input,
		       j->signing_input_len, hash) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "hash_failed", "cannot hash");
	if (j->alg != CA_JWS_RS256) {
		if (ecdsa_der(j->sig, j->sig_len / 2, der, sizeof(der), &sig_len) != 0)
			return mica_err_set(err, MICA_E_BADREQ, "malformed",
					    "the JWS signature is not a valid ECDSA signature");
		sig = der;
	}
	mbedtls_pk_init(&pk);
	ok = mbedtls_pk_parse_public_key(&pk, key->spki, key->spki_len) == 0 &&
	     mbedtls_pk_verify(&pk, md, hash, hlen, sig, sig_len) == 0;
	mbedtls_pk_free(&pk);
	if (!ok)
		return mica_err_set(err, MICA_E_BADREQ, "malformed",
				    "the JWS signature does not verify");
	return 0;
}

int
ca_jws_verify_mac(const struct ca_jws *j, const unsigned char *key,
		  size_t key_len, struct mica_err *err)
{
	unsigned char mac[64];
	mbedtls_md_type_t md;
	size_t mlen;
	int ok;

	switch (j->alg) {
	case CA_JWS_HS256: md = MBEDTLS_MD_SHA256; break;
	case CA_JWS_HS384: md = MBEDTLS_MD_SHA384; break;
	case CA_JWS_HS512: md = MBEDTLS_MD_SHA512; break;
	default:
		return mica_err_set(err, MICA_E_BADREQ, "bad_eab_algorithm",
				    "an external account binding is signed with HS256, HS384 or HS512");
	}
	mlen = mbedtls_md_get_size(mbedtls_md_info_from_type(md));
	if (mbedtls_md_hmac(mbedtls_md_info_from_type(md), key, key_len,
			    (const unsigned char *)j->signing_input,
			    j->signing_input_len, mac) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "hmac_failed", "cannot compute a MAC");
	/* The length is public (it follows from alg); the bytes are not. */
	ok = j->sig_len == mlen && ca_ct_equal(mac, j->sig, mlen);
	mbedtls_platform_zeroize(mac, sizeof(mac));
	if (!ok)
		return mica_err_set(err, MICA_E_UNAUTH, "unauthorized",
				    "the external account binding's MAC does not verify");
	return 0;
}

int
ca_jws_payload_json(const struct ca_jws *j, json_t **out, struct mica_err *err)
{
	const char *key;
	json_t *v, *tmp;

	*out = NULL;
	if (j->payload_len == 0)
		return malformed(err, "this request needs a JSON object as its payload");
	*out = load_strict((const char *)j->payload, j->payload_len, "the payload", err);
	if (*out == NULL)
		return -1;
	/* A member whose value is null is absent (as for mica's REST API):
	 * RFC 8555's optional fields, such as revokeCert's "reason", may be
	 * left out, and a client that writes null for one it leaves unset
	 * means the same. A required one is then missing, and says so. */
	json_object_foreach_safe(*out, tmp, key, v)
		if (json_is_null(v))
			json_object_del(*out, key);
	return 0;
}

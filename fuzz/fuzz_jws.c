/*
 * fuzz/fuzz_jws.c - the JWS, JWK and base64url readers of ACME (ca/jws.h,
 * util/b64url.h) on hostile bytes: every request body an ACME client
 * sends goes through them before anything else looks at it.
 *
 * Input: octet 0 picks the ca_jws_parse flags (and whether the rest is
 * read as a JWS, a JWK or base64url text); the rest is the text. Checked
 * beyond "no crash, no leak, no undefined behaviour":
 *  - the error convention (fuzz_check_err), and every error code is one
 *    of the ACME types this parser may give;
 *  - a parsed JWS has a url of printable ASCII within its bound, exactly
 *    one of kid and jwk as the flags demand, a nonce of base64url text,
 *    a signing input made of the two encoded parts and a '.';
 *  - a parsed JWK has a 32-octet thumbprint over its canonical JSON, and
 *    that JSON parses back to the same thumbprint (a fixed point);
 *  - base64url decodes only what it would encode the same way.
 */
#include "fuzz/fuzz.h"

#include "ca/jws.h"
#include "ca/keys.h"
#include "util/b64url.h"

static const char *const codes[] = {
	"malformed", "bad_signature_algorithm", "bad_eab_algorithm",
	"bad_public_key", "bad_nonce",
	"unauthorized", "out_of_memory", "hash_failed", "hmac_failed", NULL };

static void
check_code(const char *what, int rc, const struct mica_err *err)
{
	fuzz_check_err(what, rc, err);
	if (rc == 0)
		return;
	for (const char *const *c = codes; *c != NULL; c++)
		if (strcmp(err->code, *c) == 0)
			return;
	fuzz_fail("%s: unexpected error code %s", what, err->code);
}

static void
check_jwk(const struct ca_jwk *k)
{
	struct ca_jwk again;
	struct mica_err err;
	unsigned char tp[32];

	if (k->json == NULL || k->spki == NULL || k->spki_len == 0)
		fuzz_fail("a parsed JWK without its canonical form or SPKI");
	ca_sha256(k->json, strlen(k->json), tp);
	if (memcmp(tp, k->thumbprint, 32) != 0)
		fuzz_fail("the thumbprint is not the SHA-256 of the canonical JWK");
	if (ca_jwk_parse(k->json, strlen(k->json), &again, &err) != 0)
		fuzz_fail("the canonical JWK does not parse back: %s", err.msg);
	if (memcmp(again.thumbprint, k->thumbprint, 32) != 0 ||
	    again.spki_len != k->spki_len || memcmp(again.spki, k->spki, k->spki_len) != 0)
		fuzz_fail("the canonical JWK is not a fixed point");
	ca_jwk_free(&again);
}

static void
check_jws(const struct ca_jws *j, int flags)
{
	size_t n = strlen(j->url);
	const char *dot;

	if (n == 0 || n > CA_JWS_URL_MAX)
		fuzz_fail("url length %zu", n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)j->url[i] <= 0x20 || (unsigned char)j->url[i] >= 0x7f)
			fuzz_fail("url with a non-printable octet");
	if ((j->kid != NULL) == (j->has_jwk != 0))
		fuzz_fail("kid and jwk both or neither");
	if ((flags & CA_JWS_NEED_JWK) && !j->has_jwk)
		fuzz_fail("jwk demanded, kid accepted");
	if ((flags & (CA_JWS_NEED_KID | CA_JWS_MAC)) && j->kid == NULL)
		fuzz_fail("kid demanded, jwk accepted");
	if ((flags & CA_JWS_NEED_NONCE) && j->nonce[0] == '\0')
		fuzz_fail("nonce demanded, none given");
	if ((flags & (CA_JWS_NO_NONCE | CA_JWS_MAC)) && j->nonce[0] != '\0')
		fuzz_fail("a nonce where none may be");
	if (j->signing_input == NULL ||
	    strlen(j->signing_input) != j->signing_input_len ||
	    (dot = strchr(j->signing_input, '.')) == NULL || strchr(dot + 1, '.') != NULL)
		fuzz_fail("signing input is not protected.payload");
	if (j->payload == NULL || j->payload[j->payload_len] != '\0')
		fuzz_fail("payload not NUL-terminated");
	if (j->has_jwk)
		check_jwk(&j->jwk);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int flag_sets[] = {
		0, CA_JWS_NEED_NONCE | CA_JWS_NEED_JWK, CA_JWS_NEED_NONCE | CA_JWS_NEED_KID,
		CA_JWS_MAC, CA_JWS_NEED_JWK | CA_JWS_NO_NONCE, CA_JWS_NEED_NONCE,
	};
	struct mica_err err;
	int sel, flags, rc;

	if (size < 1 || size > 65536)
		return 0;
	sel = data[0];
	data++;
	size--;
	if (sel < 0xe0) {
		struct ca_jws j;

		flags = flag_sets[sel % (sizeof(flag_sets) / sizeof(flag_sets[0]))];
		rc = ca_jws_parse(data, size, flags, &j, &err);
		check_code("ca_jws_parse", rc, &err);
		if (rc == 0) {
			json_t *pl = NULL;

			check_jws(&j, flags);
			rc = ca_jws_payload_json(&j, &pl, &err);
			check_code("ca_jws_payload_json", rc, &err);
			json_decref(pl);
			if (j.has_jwk) {
				/* Random bytes never verify; the call must just fail
				 * cleanly (or, for a lucky self-signed input, pass). */
				rc = ca_jws_verify(&j, &j.jwk, &err);
				check_code("ca_jws_verify", rc, &err);
			}
			if (flags & CA_JWS_MAC) {
				rc = ca_jws_verify_mac(&j, data, size > 32 ? 32 : size, &err);
				check_code("ca_jws_verify_mac", rc, &err);
			}
		}
		ca_jws_free(&j);
	} else if (sel < 0xf0) {
		struct ca_jwk k;

		rc = ca_jwk_parse((const char *)data, size, &k, &err);
		check_code("ca_jwk_parse", rc, &err);
		if (rc == 0)
			check_jwk(&k);
		ca_jwk_free(&k);
	} else {
		unsigned char *out = malloc(MICA_B64URL_DECLEN(size) + 1);
		char *enc = malloc(size + 2);
		size_t n = 0;

		if (out == NULL || enc == NULL)
			abort();
		if (mica_b64url_decode((const char *)data, size, out,
				       MICA_B64URL_DECLEN(size), &n) == 0) {
			size_t e = mica_b64url_encode(out, n, enc, size + 2);

			if (e != size || memcmp(enc, data, size) != 0)
				fuzz_fail("decoded %zu octets that encode to another text", n);
		}
		free(out);
		free(enc);
	}
	return 0;
}

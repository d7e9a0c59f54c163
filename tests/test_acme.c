/*
 * tests/test_acme.c - ACME (RFC 8555) below the HTTP layer: base64url,
 * JWS and JWK (ES256, ES384, RS256, HS256), nonces, the hostile-input
 * readers of validation (hosts files, HTTP response heads, chunked bodies,
 * DNS answers, tls-alpn-01 certificates), the address filter, and the
 * engine's whole flow with a CA - EAB, account, order, an http-01
 * responder on loopback answered by the validation workers, finalize
 * through ca_issue, revocation, ARI - with the refusals beside it.
 *
 * JWS, keys, certificates and CSRs are made here with mbedTLS, not with
 * the code under test; the RFC 7638 thumbprint has its RFC test vector.
 */
#include <CUnit/Basic.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <poll.h>
#include <stdatomic.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include "ca/acme.h"
#include "ca/acme_int.h"
#include "ca/dns.h"
#include "ca/jws.h"
#include "db/db.h"
#include "util/b64url.h"
#include "util/fault.h"
#include "util/hex.h"
#include "util/log.h"

#define PASSPHRASE "acme test passphrase"
#define BASE "https://ca.contoso.test:8443/acme"

static mbedtls_entropy_context g_entropy;
static mbedtls_ctr_drbg_context g_drbg;
static char g_tmp[64];

/* ------------------------------------------------------------ helpers -- */

static char *
b64(const void *p, size_t n)
{
	char *s = malloc(MICA_B64URL_ENCLEN(n) + 1);

	CU_ASSERT_FATAL(s != NULL);
	mica_b64url_encode(p, n, s, MICA_B64URL_ENCLEN(n) + 1);
	return s;
}

struct tkey {
	mbedtls_pk_context pk;
	int rsa;
	size_t clen;           /* EC coordinate length */
	char jwk[1600];
	const char *alg;
};

static void
tkey_free(struct tkey *k)
{
	mbedtls_pk_free(&k->pk);
}

/* An EC key on P-256 (or P-384) and its JWK. */
static void
tkey_ec(struct tkey *k, int p384)
{
	unsigned char der[200];
	char *x, *y;
	int n;

	memset(k, 0, sizeof(*k));
	mbedtls_pk_init(&k->pk);
	CU_ASSERT_FATAL(mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0);
	CU_ASSERT_FATAL(mbedtls_ecp_gen_key(p384 ? MBEDTLS_ECP_DP_SECP384R1 : MBEDTLS_ECP_DP_SECP256R1,
					    mbedtls_pk_ec(k->pk), mbedtls_ctr_drbg_random,
					    &g_drbg) == 0);
	k->clen = p384 ? 48 : 32;
	k->alg = p384 ? "ES384" : "ES256";
	n = mbedtls_pk_write_pubkey_der(&k->pk, der, sizeof(der));
	CU_ASSERT_FATAL(n > 0);
	/* The SPKI ends with the uncompressed point 04 || x || y. */
	x = b64(der + sizeof(der) - 2 * k->clen, k->clen);
	y = b64(der + sizeof(der) - k->clen, k->clen);
	snprintf(k->jwk, sizeof(k->jwk), "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}",
		 p384 ? "P-384" : "P-256", x, y);
	free(x);
	free(y);
}

static void
tkey_rsa(struct tkey *k)
{
	unsigned char n[256], e[4];
	char *ns, *es;

	memset(k, 0, sizeof(*k));
	mbedtls_pk_init(&k->pk);
	k->rsa = 1;
	k->alg = "RS256";
	CU_ASSERT_FATAL(mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) == 0);
	CU_ASSERT_FATAL(mbedtls_rsa_gen_key(mbedtls_pk_rsa(k->pk), mbedtls_ctr_drbg_random,
					    &g_drbg, 2048, 65537) == 0);
	CU_ASSERT_FATAL(mbedtls_rsa_export_raw(mbedtls_pk_rsa(k->pk), n, sizeof(n), NULL, 0,
					       NULL, 0, NULL, 0, e, sizeof(e)) == 0);
	ns = b64(n, sizeof(n));
	es = b64(e + 1, 3);   /* 65537: 01 00 01 */
	snprintf(k->jwk, sizeof(k->jwk), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", ns, es);
	free(ns);
	free(es);
}

/* The JWS signature of K over INPUT: r || s for EC, PKCS#1 v1.5 for RSA. */
static char *
tsign(struct tkey *k, const char *input)
{
	unsigned char hash[64], sig[600], raw[96];
	size_t slen = 0;
	mbedtls_md_type_t md = k->clen == 48 ? MBEDTLS_MD_SHA384 : MBEDTLS_MD_SHA256;
	const mbedtls_md_info_t *mi = mbedtls_md_info_from_type(md);

	CU_ASSERT_FATAL(mbedtls_md(mi, (const unsigned char *)input, strlen(input), hash) == 0);
	CU_ASSERT_FATAL(mbedtls_pk_sign(&k->pk, md, hash, mbedtls_md_get_size(mi), sig,
					sizeof(sig), &slen, mbedtls_ctr_drbg_random, &g_drbg) == 0);
	if (k->rsa)
		return b64(sig, slen);
	{
		unsigned char *p = sig, *end = sig + slen;
		size_t len;
		mbedtls_mpi r, s;

		mbedtls_mpi_init(&r);
		mbedtls_mpi_init(&s);
		CU_ASSERT_FATAL(mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED |
						     MBEDTLS_ASN1_SEQUENCE) == 0);
		CU_ASSERT_FATAL(mbedtls_asn1_get_mpi(&p, end, &r) == 0);
		CU_ASSERT_FATAL(mbedtls_asn1_get_mpi(&p, end, &s) == 0);
		mbedtls_mpi_write_binary(&r, raw, k->clen);
		mbedtls_mpi_write_binary(&s, raw + k->clen, k->clen);
		mbedtls_mpi_free(&r);
		mbedtls_mpi_free(&s);
		return b64(raw, 2 * k->clen);
	}
}

/* A flattened JWS from a protected header text and payload text (NULL:
 * POST-as-GET), signed by K. Heap. */
static char *
jws_raw(struct tkey *k, const char *prot, const char *payload)
{
	char *p64 = b64(prot, strlen(prot));
	char *y64 = b64(payload ? payload : "", payload ? strlen(payload) : 0);
	char *input, *sig, *out;

	CU_ASSERT_FATAL(asprintf(&input, "%s.%s", p64, y64) > 0);
	sig = tsign(k, input);
	CU_ASSERT_FATAL(asprintf(&out, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
				 p64, y64, sig) > 0);
	free(p64);
	free(y64);
	free(input);
	free(sig);
	return out;
}

/* The usual JWS: alg of K, NONCE, URL, and KID or (NULL) the JWK. */
static char *
jws(struct tkey *k, const char *url, const char *nonce, const char *kid,
    const char *payload)
{
	char prot[2048];

	if (kid != NULL)
		snprintf(prot, sizeof(prot), "{\"alg\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\",\"kid\":\"%s\"}",
			 k->alg, nonce, url, kid);
	else
		snprintf(prot, sizeof(prot), "{\"alg\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\",\"jwk\":%s}",
			 k->alg, nonce, url, k->jwk);
	return jws_raw(k, prot, payload);
}

static int
parse_verify(const char *body, int flags, struct tkey *k, struct mica_err *err)
{
	struct ca_jws j;
	struct ca_jwk key;
	int rc;

	if (ca_jws_parse((const unsigned char *)body, strlen(body), flags, &j, err) != 0) {
		ca_jws_free(&j);
		return -1;
	}
	if (k == NULL) {
		rc = j.has_jwk ? ca_jws_verify(&j, &j.jwk, err) : -1;
	} else {
		CU_ASSERT_FATAL(ca_jwk_parse(k->jwk, strlen(k->jwk), &key, err) == 0);
		rc = ca_jws_verify(&j, &key, err);
		ca_jwk_free(&key);
	}
	ca_jws_free(&j);
	return rc;
}

/* ------------------------------------------------------------ base64url -- */

static void
test_b64url_round_trips_and_is_canonical(void)
{
	unsigned char in[64], out[64];
	char enc[100];
	size_t n;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(in); len++) {
		size_t e = mica_b64url_encode(in, len, enc, sizeof(enc));

		CU_ASSERT(e == MICA_B64URL_ENCLEN(len));
		CU_ASSERT(strchr(enc, '=') == NULL);
		CU_ASSERT(mica_b64url_decode(enc, e, out, sizeof(out), &n) == 0);
		CU_ASSERT(n == len && memcmp(in, out, len) == 0);
	}
	mica_b64url_encode((const unsigned char *)"\xfb\xff", 2, enc, sizeof(enc));
	CU_ASSERT_STRING_EQUAL(enc, "-_8");
}

static void
test_b64url_refuses_other_spellings(void)
{
	static const char *const bad[] = {
		"AQ==", "A", "AB/C", "AB+C", "AB C", "AQ\n", "AR", "AQF",
		"Zm9v\xc3\xa9",
	};
	unsigned char out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT(mica_b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n) != 0);
	/* output too small */
	CU_ASSERT(mica_b64url_decode("AAAAAAAA", 8, out, 5, &n) != 0);
	CU_ASSERT(mica_b64url_decode("AQ", 2, out, 1, &n) == 0 && n == 1 && out[0] == 1);
}

/* ----------------------------------------------------------- JWS, JWK -- */

static void
test_jwk_thumbprint_matches_rfc7638(void)
{
	/* RFC 7638 3.1 */
	static const char jwk[] =
		"{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAt"
		"VT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93"
		"lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajr"
		"n1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-cs"
		"FCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
	struct ca_jwk k;
	struct mica_err err;
	char *tp;

	CU_ASSERT_FATAL(ca_jwk_parse(jwk, strlen(jwk), &k, &err) == 0);
	tp = b64(k.thumbprint, 32);
	CU_ASSERT_STRING_EQUAL(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	CU_ASSERT(k.kind == CA_PUBKEY_RSA && k.bits == 2048);
	free(tp);
	ca_jwk_free(&k);
	/* The thumbprint of a key from its SubjectPublicKeyInfo (a CSR's) is
	 * the thumbprint of its JWK, for every kind of account key. */
	for (int i = 0; i < 3; i++) {
		struct tkey t;
		unsigned char der[1024], th[32];
		int n;

		if (i < 2)
			tkey_ec(&t, i);
		else
			tkey_rsa(&t);
		n = mbedtls_pk_write_pubkey_der(&t.pk, der, sizeof(der));
		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_FATAL(ca_jwk_parse(t.jwk, strlen(t.jwk), &k, &err) == 0);
		CU_ASSERT(ca_jwk_spki_thumbprint(der + sizeof(der) - n, (size_t)n, th) == 0);
		CU_ASSERT(memcmp(th, k.thumbprint, 32) == 0);
		ca_jwk_free(&k);
		tkey_free(&t);
	}
	/* A key no account key can be (P-521): none. */
	{
		mbedtls_pk_context pk;
		unsigned char der[300], th[32];
		int n;

		mbedtls_pk_init(&pk);
		CU_ASSERT_FATAL(mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0);
		CU_ASSERT_FATAL(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP521R1, mbedtls_pk_ec(pk),
						    mbedtls_ctr_drbg_random, &g_drbg) == 0);
		n = mbedtls_pk_write_pubkey_der(&pk, der, sizeof(der));
		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT(ca_jwk_spki_thumbprint(der + sizeof(der) - n, (size_t)n, th) == 1);
		mbedtls_pk_free(&pk);
	}
}

static void
test_jws_es256_es384_rs256_verify(void)
{
	struct tkey k256, k384, krsa;
	struct mica_err err;
	char *b;

	tkey_ec(&k256, 0);
	tkey_ec(&k384, 1);
	tkey_rsa(&krsa);
	b = jws(&k256, BASE "/new-account", "AAAA", NULL, "{}");
	CU_ASSERT(parse_verify(b, CA_JWS_NEED_JWK | CA_JWS_NEED_NONCE, NULL, &err) == 0);
	free(b);
	b = jws(&k384, BASE "/new-account", "AAAA", NULL, "{}");
	CU_ASSERT(parse_verify(b, CA_JWS_NEED_JWK, NULL, &err) == 0);
	free(b);
	b = jws(&krsa, BASE "/new-account", "AAAA", NULL, "{}");
	CU_ASSERT(parse_verify(b, CA_JWS_NEED_JWK, NULL, &err) == 0);
	free(b);
	b = jws(&k256, BASE "/order/1", "AAAA", BASE "/acct/1", NULL);
	CU_ASSERT(parse_verify(b, CA_JWS_NEED_KID, &k256, &err) == 0);
	/* Signed by one key, checked with another. */
	CU_ASSERT(parse_verify(b, CA_JWS_NEED_KID, &k384, &err) != 0);
	free(b);
	tkey_free(&k256);
	tkey_free(&k384);
	tkey_free(&krsa);
}

static void
test_jws_refuses_hostile_structures(void)
{
	static const char *const bodies[] = {
		"", "[]", "{}", "null", "{\"protected\":\"e30\"}",
		"{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\",\"header\":{}}",
		"{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\"}",
		"{\"protected\":\"e30\",\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"AA\"}",
		"{\"protected\":1,\"payload\":\"\",\"signature\":\"AA\"}",
		"{\"signatures\":[],\"payload\":\"\",\"protected\":\"e30\"}",
		"{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"AA\"} x",
		"{\"protected\":\"e30=\",\"payload\":\"\",\"signature\":\"AA\"}",
	};
	struct ca_jws j;
	struct mica_err err;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		CU_ASSERT(ca_jws_parse((const unsigned char *)bodies[i], strlen(bodies[i]), 0,
				       &j, &err) != 0);
		CU_ASSERT(err.kind == MICA_E_BADREQ);
		ca_jws_free(&j);
	}
	/* Why, in words of the server's own (the input is never quoted). */
	CU_ASSERT(ca_jws_parse((const unsigned char *)bodies[7], strlen(bodies[7]), 0,
			       &j, &err) != 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "a member given twice"));
	CU_ASSERT(ca_jws_parse((const unsigned char *)bodies[10], strlen(bodies[10]), 0,
			       &j, &err) != 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "something after the value"));
	/* Valid JSON that is no object is said to be no object (a protected
	 * header "x" was "not valid JSON"). */
	CU_ASSERT(ca_jws_parse((const unsigned char *)"\"x\"", 3, 0, &j, &err) != 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "the request body must be a JSON object"));
	ca_jws_free(&j);
	{
		static const char hx[] =
			"{\"protected\":\"Ingi\",\"payload\":\"\",\"signature\":\"AA\"}";

		CU_ASSERT(ca_jws_parse((const unsigned char *)hx, strlen(hx), 0, &j, &err) != 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "the protected header must be a JSON object"));
		ca_jws_free(&j);
	}
}

static void
test_jws_refuses_hostile_headers(void)
{
	struct tkey k, k384;
	struct mica_err err;
	char prot[2048], *b;
	const char *cases[] = {
		"{\"alg\":\"none\",\"nonce\":\"AAAA\",\"url\":\"u\",\"jwk\":JWK}",
		"{\"alg\":\"HS256\",\"nonce\":\"AAAA\",\"url\":\"u\",\"jwk\":JWK}",
		"{\"alg\":\"ES256\",\"nonce\":\"AAAA\",\"url\":\"u\",\"jwk\":JWK,\"crit\":[\"b64\"]}",
		"{\"alg\":\"ES256\",\"nonce\":\"AAAA\",\"url\":\"u\",\"jwk\":JWK,\"crit\":[\"exp\"],\"exp\":1}",
		"{\"alg\":\"ES256\",\"nonce\":\"AAAA\",\"url\":\"u\",\"jwk\":JWK,\"b64\":false}",
		"{\"alg\":\"ES256\",\"nonce\":\"AAAA\",\"url\":\"u\",\"jwk\":JWK,\"kid\":\"x\"}",
		"{\"alg\":\"ES256\",\"nonce\":\"AAAA\",\"jwk\":JWK}",
		"{\"alg\":\"ES256\",\"url\":\"u\",\"jwk\":JWK}",
		"{\"alg\":\"ES256\",\"nonce\":\"AA AA\",\"url\":\"u\",\"jwk\":JWK}",
		"{\"alg\":\"ES256\",\"nonce\":\"AAAA\",\"url\":\"u\x01\",\"jwk\":JWK}",
		"{\"alg\":\"ES256\",\"alg\":\"ES256\",\"nonce\":\"AAAA\",\"url\":\"u\",\"jwk\":JWK}",
		"{\"alg\":\"ES384\",\"nonce\":\"AAAA\",\"url\":\"u\",\"jwk\":JWK}",
	};

	tkey_ec(&k, 0);
	tkey_ec(&k384, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *at = strstr(cases[i], "JWK");

		snprintf(prot, sizeof(prot), "%.*s%s%s", (int)(at - cases[i]), cases[i],
			 k.jwk, at + 3);
		b = jws_raw(&k, prot, "{}");
		CU_ASSERT(parse_verify(b, CA_JWS_NEED_NONCE, NULL, &err) != 0);
		free(b);
	}
	/* RFC 7515 4: a member the server does not know is ignored, not
	 * refused: the acme-client gem (GitLab's Let's Encrypt) sends "typ"
	 * in every header, its EAB's too. */
	{
		const char *ignored[] = { "\"typ\":\"JWT\"", "\"cty\":\"json\"",
					  "\"x5u\":\"https://x/\"", "\"foo\":{\"bar\":[1]}" };

		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
			snprintf(prot, sizeof(prot), "{%s,\"alg\":\"ES256\",\"nonce\":\"AAAA\","
				 "\"url\":\"u\",\"jwk\":%s}", ignored[i], k.jwk);
			b = jws_raw(&k, prot, "{}");
			CU_ASSERT(parse_verify(b, CA_JWS_NEED_NONCE, NULL, &err) == 0);
			free(b);
		}
	}
	/* A tampered payload. */
	b = jws(&k, "u", "AAAA", NULL, "{}");
	{
		char *p = strstr(b, "\"payload\":\"") + 11;

		p[0] = p[0] == 'A' ? 'B' : 'A';
	}
	CU_ASSERT(parse_verify(b, CA_JWS_NEED_NONCE, NULL, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "malformed");
	free(b);
	/* A nonce that is not a string is a bad nonce (RFC 8555 6.5). */
	snprintf(prot, sizeof(prot), "{\"alg\":\"ES256\",\"nonce\":12345,\"url\":\"u\",\"jwk\":%s}",
		 k.jwk);
	b = jws_raw(&k, prot, "{}");
	CU_ASSERT(parse_verify(b, CA_JWS_NEED_NONCE, NULL, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_nonce");
	free(b);
	/* ES256 named by an ES384 key. */
	snprintf(prot, sizeof(prot), "{\"alg\":\"ES256\",\"nonce\":\"AAAA\",\"url\":\"u\",\"jwk\":%s}",
		 k384.jwk);
	b = jws_raw(&k384, prot, "{}");
	CU_ASSERT(parse_verify(b, CA_JWS_NEED_NONCE, NULL, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature_algorithm");
	free(b);
	tkey_free(&k);
	tkey_free(&k384);
}

static void
test_jwk_refuses_bad_keys(void)
{
	struct tkey k;
	struct ca_jwk out;
	struct mica_err err;
	char buf[2000], *x;
	const char *bad[] = {
		/* off the curve: x and y of the generator swapped */
		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU\",\"y\":\"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY\"}",
		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",
		"{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",
		"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
		"{\"kty\":\"oct\",\"k\":\"AAAA\"}",
		"{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}",
		"{\"crv\":\"P-256\"}",
		"[]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT(ca_jwk_parse(bad[i], strlen(bad[i]), &out, &err) != 0);
		ca_jwk_free(&out);
	}
	CU_ASSERT(ca_jwk_parse(bad[3], strlen(bad[3]), &out, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature_algorithm");
	/* A private key member is refused; a member the server does not
	 * know is ignored (RFC 7517 4): "kid", "use", WebCrypto's "ext" and
	 * "key_ops", a stranger - the key and its thumbprint the same. */
	tkey_ec(&k, 0);
	snprintf(buf, sizeof(buf), "%.*s,\"d\":\"AAAA\"}", (int)strlen(k.jwk) - 1, k.jwk);
	CU_ASSERT(ca_jwk_parse(buf, strlen(buf), &out, &err) != 0);
	CU_ASSERT(strstr(err.msg, "private") != NULL);
	{
		const char *extra[] = { "\"zz\":\"AAAA\"", "\"kid\":\"x\",\"use\":\"sig\"",
					"\"ext\":true,\"key_ops\":[\"verify\"]" };
		struct ca_jwk plain;

		CU_ASSERT_FATAL(ca_jwk_parse(k.jwk, strlen(k.jwk), &plain, &err) == 0);
		for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
			snprintf(buf, sizeof(buf), "%.*s,%s}", (int)strlen(k.jwk) - 1, k.jwk,
				 extra[i]);
			if (ca_jwk_parse(buf, strlen(buf), &out, &err) != 0) {
				CU_FAIL("a JWK with a member the server does not know is refused");
				continue;
			}
			CU_ASSERT(memcmp(out.thumbprint, plain.thumbprint, 32) == 0);
			CU_ASSERT_STRING_EQUAL(out.json, plain.json);
			ca_jwk_free(&out);
		}
		ca_jwk_free(&plain);
	}
	tkey_free(&k);
	/* RSA exponent 3 */
	tkey_rsa(&k);
	x = strstr(k.jwk, "\"e\":\"");
	CU_ASSERT_FATAL(x != NULL);
	memcpy(x + 5, "Aw\"}", 5);
	CU_ASSERT(ca_jwk_parse(k.jwk, strlen(k.jwk), &out, &err) != 0);
	tkey_free(&k);
}

static void
test_eab_mac_verifies_in_constant_time(void)
{
	unsigned char key[32], mac[32];
	const char *prot = "{\"alg\":\"HS256\",\"kid\":\"k1\",\"url\":\"u\"}", *pay = "{}";
	char *p64 = b64(prot, strlen(prot)), *y64 = b64(pay, 2), *in, *sig, *body;
	struct ca_jws j;
	struct mica_err err;

	memset(key, 7, sizeof(key));
	CU_ASSERT_FATAL(asprintf(&in, "%s.%s", p64, y64) > 0);
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32,
			(unsigned char *)in, strlen(in), mac);
	sig = b64(mac, 32);
	CU_ASSERT_FATAL(asprintf(&body, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
				 p64, y64, sig) > 0);
	CU_ASSERT_FATAL(ca_jws_parse((unsigned char *)body, strlen(body), CA_JWS_MAC, &j, &err) == 0);
	CU_ASSERT_STRING_EQUAL(j.kid, "k1");
	CU_ASSERT(ca_jws_verify_mac(&j, key, 32, &err) == 0);
	key[31] ^= 1;
	CU_ASSERT(ca_jws_verify_mac(&j, key, 32, &err) != 0);
	ca_jws_free(&j);
	/* An account key's JWS is not a MAC, and a MAC not an account's. */
	CU_ASSERT(ca_jws_parse((unsigned char *)body, strlen(body), CA_JWS_NEED_NONCE, &j, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_signature_algorithm");
	ca_jws_free(&j);
	free(p64); free(body);
	/* A binding signed with an account key's algorithm: its own code,
	 * whose problem lists the MACs, not ES256 and the others. */
	prot = "{\"alg\":\"ES256\",\"kid\":\"k1\",\"url\":\"u\"}";
	p64 = b64(prot, strlen(prot));
	CU_ASSERT_FATAL(asprintf(&body, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
				 p64, y64, sig) > 0);
	CU_ASSERT(ca_jws_parse((unsigned char *)body, strlen(body), CA_JWS_MAC, &j, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_eab_algorithm");
	ca_jws_free(&j);
	free(p64); free(y64); free(in); free(sig); free(body);
}

/* ------------------------------------------------------------- nonces -- */

static void
test_nonce_is_accepted_once(void)
{
	struct ca_acme_nonces a, b;
	struct mica_err err;
	char n1[CA_ACME_NONCE_MAX], n2[CA_ACME_NONCE_MAX], other[CA_ACME_NONCE_MAX];

	CU_ASSERT_FATAL(ca_acme_nonces_init(&a, &err) == 0);
	CU_ASSERT_FATAL(ca_acme_nonces_init(&b, &err) == 0);
	ca_acme_nonce_make(&a, n1);
	ca_acme_nonce_make(&a, n2);
	ca_acme_nonce_make(&b, other);
	CU_ASSERT(strcmp(n1, n2) != 0);
	CU_ASSERT(ca_acme_nonce_use(&a, n2, &err) == 0);
	CU_ASSERT(ca_acme_nonce_use(&a, n2, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_nonce");
	CU_ASSERT(ca_acme_nonce_use(&a, n1, &err) == 0);
	CU_ASSERT(ca_acme_nonce_use(&a, other, &err) != 0);   /* another process's */
	CU_ASSERT(ca_acme_nonce_use(&a, "AAAA", &err) != 0);
	CU_ASSERT(ca_acme_nonce_use(&a, "", &err) != 0);
	/* Out of the window. */
	ca_acme_nonce_make(&a, n1);
	for (unsigned i = 0; i < CA_ACME_NONCE_WINDOW; i++)
		ca_acme_nonce_make(&a, n2);
	CU_ASSERT(ca_acme_nonce_use(&a, n1, &err) != 0);
	CU_ASSERT(ca_acme_nonce_use(&a, n2, &err) == 0);
	ca_acme_nonces_destroy(&a);
	ca_acme_nonces_destroy(&b);
}

/* ------------------------------------------------- validation readers -- */

static void
test_hosts_file_parse(void)
{
	static const char text[] =
		"# lab\n127.0.0.1 localhost\n10.1.2.3\tWWW.Contoso.Test. mail.contoso.test # comment\n"
		"::1 v6.contoso.test\nnot-an-address x.contoso.test\nfe80::1%eth0 scoped.test\n"
		"10.0.0.9 bad!name ok.contoso.test";
	struct ca_acme_hosts h;
	struct mica_err err;
	int www = 0, ok = 0, bad = 0;

	CU_ASSERT_FATAL(ca_acme_hosts_parse(text, sizeof(text) - 1, &h, &err) == 0);
	for (size_t i = 0; i < h.n; i++) {
		www |= strcmp(h.v[i].name, "www.contoso.test") == 0 && h.v[i].addr.ss_family == AF_INET;
		ok |= strcmp(h.v[i].name, "ok.contoso.test") == 0;
		bad |= strcmp(h.v[i].name, "x.contoso.test") == 0 || strstr(h.v[i].name, "!") != NULL;
	}
	CU_ASSERT(www && ok && !bad);
	CU_ASSERT(h.n == 5);
	ca_acme_hosts_free(&h);
}

static void
test_http_head_and_chunks(void)
{
	char loc[64];
	long clen;
	int status, chunked;
	unsigned char out[64];
	size_t n;
	static const char good[] = "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n";
	static const char *const bad[] = {
		"HTTP/1.1 200\r\n",
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 99 X\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nextra",
	};

	CU_ASSERT(ca_acme_http_head(good, sizeof(good) - 1, &status, loc, sizeof(loc),
				    &clen, &chunked) == 0);
	CU_ASSERT(status == 302 && strcmp(loc, "/x") == 0 && clen == 0 && !chunked);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT(ca_acme_http_head(bad[i], strlen(bad[i]), &status, loc, sizeof(loc),
					    &clen, &chunked) != 0);
	CU_ASSERT(ca_acme_http_unchunk((const unsigned char *)"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
				       27, out, sizeof(out), &n) == 0 && n == 5 &&
		  memcmp(out, "abcde", 5) == 0);
	CU_ASSERT(ca_acme_http_unchunk((const unsigned char *)"5\r\nabc", 6, out, sizeof(out), &n) != 0);
	CU_ASSERT(ca_acme_http_unchunk((const unsigned char *)"fffffff\r\n", 9, out, sizeof(out), &n) != 0);
	CU_ASSERT(ca_acme_http_unchunk((const unsigned char *)"zz\r\n", 4, out, sizeof(out), &n) != 0);
	CU_ASSERT(ca_acme_http_unchunk((const unsigned char *)"40\r\n", 4, out, 8, &n) != 0);
}

/* A DNS answer to query ID for _acme-challenge.www.contoso.test: the
 * question, then ANS (already encoded records) with ANCOUNT. */
static size_t
dns_answer(unsigned char *buf, uint16_t id, int flags2, int ancount,
	   const unsigned char *ans, size_t alen)
{
	size_t n = 0;

	CU_ASSERT_FATAL(ca_dns_query(id, "_acme-challenge.www.contoso.test", 16, buf, 512, &n) == 0);
	buf[2] = 0x81;
	buf[3] = (unsigned char)flags2;
	buf[7] = (unsigned char)ancount;
	if (alen > 0)
		memcpy(buf + n, ans, alen);
	return n + alen;
}

static void
test_dns_answers_are_read_strictly(void)
{
	unsigned char msg[600];
	struct ca_dns_txt txt;
	struct mica_err err;
	size_t n;
	/* owner = pointer to the question name (offset 12), TXT IN, TTL,
	 * rdlength 7: "abc" "de" */
	static const unsigned char txt_rr[] = {
		0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60, 0, 7, 3, 'a', 'b', 'c', 2, 'd', 'e' };
	/* CNAME question -> t.contoso.test (labels "t" + pointer to the
	 * "contoso.test" of the question at 12+16+4=32), then TXT at t. */
	static const unsigned char cname_rr[] = {
		0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 't', 0xc0, 32,
		1, 't', 0xc0, 32, 0, 16, 0, 1, 0, 0, 0, 60, 0, 2, 1, 'z' };
	static const unsigned char loop_rr[] = {
		0xc0, 0x31, 0, 16, 0, 1, 0, 0, 0, 60, 0, 2, 1, 'z' };

	n = dns_answer(msg, 0x1234, 0x80, 1, txt_rr, sizeof(txt_rr));
	CU_ASSERT(ca_dns_parse_txt(msg, n, 0x1234, "_acme-challenge.www.contoso.test", &txt, &err) == 0);
	CU_ASSERT(txt.n == 1 && strcmp(txt.v[0], "abcde") == 0);
	CU_ASSERT(ca_dns_parse_txt(msg, n, 0x1235, "_acme-challenge.www.contoso.test", &txt, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "dns_mismatch");
	CU_ASSERT(ca_dns_parse_txt(msg, n, 0x1234, "_acme-challenge.mail.contoso.test", &txt, &err) != 0);
	/* every truncation of a good answer fails or reads less */
	for (size_t cut = 0; cut < n; cut++)
		CU_ASSERT(ca_dns_parse_txt(msg, cut, 0x1234, "_acme-challenge.www.contoso.test",
					   &txt, &err) != 0 || txt.n == 0);
	n = dns_answer(msg, 7, 0x80, 2, cname_rr, sizeof(cname_rr));
	CU_ASSERT(ca_dns_parse_txt(msg, n, 7, "_acme-challenge.www.contoso.test", &txt, &err) == 0);
	CU_ASSERT(txt.n == 1 && strcmp(txt.v[0], "z") == 0);
	/* a pointer to itself or forwards */
	n = dns_answer(msg, 7, 0x80, 1, loop_rr, sizeof(loop_rr));
	CU_ASSERT(ca_dns_parse_txt(msg, n, 7, "_acme-challenge.www.contoso.test", &txt, &err) != 0);
	/* NXDOMAIN, truncated, SERVFAIL */
	n = dns_answer(msg, 7, 0x83, 0, NULL, 0);
	CU_ASSERT(ca_dns_parse_txt(msg, n, 7, "_acme-challenge.www.contoso.test", &txt, &err) == 0);
	CU_ASSERT(txt.rcode == CA_DNS_RCODE_NXDOMAIN && txt.n == 0);
	n = dns_answer(msg, 7, 0x80, 0, NULL, 0);
	msg[2] |= 0x02;
	CU_ASSERT(ca_dns_parse_txt(msg, n, 7, "_acme-challenge.www.contoso.test", &txt, &err) == 0);
	CU_ASSERT(txt.truncated);
	n = dns_answer(msg, 7, 0x82, 0, NULL, 0);
	CU_ASSERT(ca_dns_parse_txt(msg, n, 7, "_acme-challenge.www.contoso.test", &txt, &err) != 0);
}

/* An answer whose message ends before the records its header counts -
 * a UDP answer cut at 512 octets by a server or middlebox that did not
 * set TC - is read as truncated (asked again over TCP), never as an
 * answer with fewer records, nor as a malformed one; an answer whose
 * authority and additional records are all there is read as before. */
static void
test_dns_answer_cut_without_tc_is_truncated(void)
{
	unsigned char msg[600];
	struct ca_dns_txt txt;
	struct mica_err err;
	size_t n;
	static const unsigned char txt_rr[] = {
		0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60, 0, 3, 2, 'o', 'k' };
	/* authority: contoso.test (the question's, at 32) NS ns.contoso.test;
	 * additional: an OPT-like record of the root, no data */
	static const unsigned char ns_ar[] = {
		0xc0, 0x20, 0, 2, 0, 1, 0, 0, 0, 60, 0, 5, 2, 'n', 's', 0xc0, 0x20,
		0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0 };
	const char *qn = "_acme-challenge.www.contoso.test";

	/* Two TXT records counted, one there. */
	n = dns_answer(msg, 9, 0x80, 2, txt_rr, sizeof(txt_rr));
	memset(&err, 0, sizeof(err));
	CU_ASSERT(ca_dns_parse_txt(msg, n, 9, qn, &txt, &err) == 0);
	CU_ASSERT(txt.truncated);
	CU_ASSERT_EQUAL(txt.n, 0);
	/* The answer whole, its authority and additional sections counted
	 * and missing: the answer is no less cut. */
	n = dns_answer(msg, 9, 0x80, 1, txt_rr, sizeof(txt_rr));
	msg[9] = 1;
	msg[11] = 1;
	CU_ASSERT(ca_dns_parse_txt(msg, n, 9, qn, &txt, &err) == 0);
	CU_ASSERT(txt.truncated);
	CU_ASSERT_EQUAL(txt.n, 0);
	/* ... and with them, read as it is; cut anywhere in them, truncated. */
	memcpy(msg + n, ns_ar, sizeof(ns_ar));
	n += sizeof(ns_ar);
	CU_ASSERT(ca_dns_parse_txt(msg, n, 9, qn, &txt, &err) == 0);
	CU_ASSERT(!txt.truncated);
	CU_ASSERT(txt.n == 1 && strcmp(txt.v[0], "ok") == 0);
	for (size_t cut = n - sizeof(ns_ar) - sizeof(txt_rr); cut < n; cut++) {
		CU_ASSERT(ca_dns_parse_txt(msg, cut, 9, qn, &txt, &err) == 0);
		CU_ASSERT(txt.truncated && txt.n == 0);
	}
	/* Malformed is still malformed: an owner pointing forwards. */
	n = dns_answer(msg, 9, 0x80, 1, txt_rr, sizeof(txt_rr));
	msg[n - sizeof(txt_rr) + 1] = 0x7f;
	CU_ASSERT(ca_dns_parse_txt(msg, n, 9, qn, &txt, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "dns");
}

#define DNS_LAB_RECORDS 4      /* TXT records of 200 octets: over 512 */

/* A DNS server on loopback that answers over UDP with the first 512
 * octets of a larger answer and TC clear (what a non-compliant server or
 * middlebox does), and over TCP with the whole answer. */
struct dns_lab {
	int udp, tcp;
	uint16_t port;
	atomic_int stop;
	int udp_answered, tcp_answered;
	pthread_t thread;
};

/* The whole answer to query Q[0..QLEN) into A (SIZE octets): its length,
 * 0 if it does not fit. */
static size_t
dns_lab_answer(const unsigned char *q, size_t qlen, unsigned char *a, size_t size)
{
	static const unsigned char head[] = {
		0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60, 0, 201, 200 };
	size_t n = qlen;

	if (qlen < 12 || qlen + DNS_LAB_RECORDS * (sizeof(head) + 200) > size)
		return 0;
	memcpy(a, q, qlen);
	a[2] = 0x81;
	a[3] = 0x80;
	a[7] = DNS_LAB_RECORDS;
	for (int i = 0; i < DNS_LAB_RECORDS; i++) {
		memcpy(a + n, head, sizeof(head));
		n += sizeof(head);
		memset(a + n, 'a' + i, 200);
		n += 200;
	}
	return n;
}

static void *
dns_lab_run(void *arg)
{
	struct dns_lab *l = arg;
	unsigned char q[514], a[2048];

	while (!atomic_load(&l->stop)) {
		struct pollfd p[2] = { { l->udp, POLLIN, 0 }, { l->tcp, POLLIN, 0 } };
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		struct timeval tv = { 5, 0 };
		ssize_t r;
		size_t n;
		int s;

		if (poll(p, 2, 100) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			r = recvfrom(l->udp, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
			if (r > 0 && (n = dns_lab_answer(q, (size_t)r, a, sizeof(a))) > 0 &&
			    sendto(l->udp, a, n > 512 ? 512 : n, 0,
				   (struct sockaddr *)&from, fl) > 0)
				l->udp_answered++;
		}
		if ((p[1].revents & POLLIN) && (s = accept(l->tcp, NULL, NULL)) >= 0) {
			setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			if (recv(s, q, 2, MSG_WAITALL) == 2 &&
			    (size_t)(q[0] << 8 | q[1]) <= sizeof(q) - 2 &&
			    recv(s, q + 2, (size_t)(q[0] << 8 | q[1]), MSG_WAITALL) ==
			    (ssize_t)(q[0] << 8 | q[1]) &&
			    (n = dns_lab_answer(q + 2, (size_t)(q[0] << 8 | q[1]),
						a + 2, sizeof(a) - 2)) > 0) {
				a[0] = (unsigned char)(n >> 8);
				a[1] = (unsigned char)n;
				if (send(s, a, n + 2, MSG_NOSIGNAL) == (ssize_t)(n + 2))
					l->tcp_answered++;
			}
			close(s);
		}
	}
	return NULL;
}

/* Start L on one port for UDP and TCP: 0, or -1. */
static int
dns_lab_start(struct dns_lab *l)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	memset(l, 0, sizeof(*l));
	for (int tries = 0; tries < 20; tries++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		l->udp = socket(AF_INET, SOCK_DGRAM, 0);
		l->tcp = socket(AF_INET, SOCK_STREAM, 0);
		if (l->udp >= 0 && l->tcp >= 0 &&
		    bind(l->udp, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    getsockname(l->udp, (struct sockaddr *)&sin, &sl) == 0 &&
		    bind(l->tcp, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(l->tcp, 4) == 0) {
			l->port = ntohs(sin.sin_port);
			atomic_init(&l->stop, 0);
			if (pthread_create(&l->thread, NULL, dns_lab_run, l) == 0)
				return 0;
		}
		/* That port's TCP side is someone else's: another pair. */
		if (l->udp >= 0)
			close(l->udp);
		if (l->tcp >= 0)
			close(l->tcp);
	}
	return -1;
}

static void
dns_lab_stop(struct dns_lab *l)
{
	atomic_store(&l->stop, 1);
	pthread_join(l->thread, NULL);
	close(l->udp);
	close(l->tcp);
}

/* The lookup asks again over TCP when the UDP answer was cut without TC,
 * and reads every record of the whole answer. */
static void
test_dns_lookup_retries_a_cut_answer_over_tcp(void)
{
	struct dns_lab l;
	struct sockaddr_in sin;
	struct timespec deadline;
	struct ca_dns_txt txt;
	struct mica_err err;
	char want[201];

	CU_ASSERT_FATAL(dns_lab_start(&l) == 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(l.port);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 20;
	memset(&err, 0, sizeof(err));
	CU_ASSERT(ca_dns_txt_lookup((struct sockaddr *)&sin, sizeof(sin),
				    "_acme-challenge.www.contoso.test", &deadline,
				    NULL, &txt, &err) == 0);
	dns_lab_stop(&l);
	if (err.code[0] != '\0')
		fprintf(stderr, "lookup: %s: %s\n", err.code, err.msg);
	CU_ASSERT_EQUAL(l.udp_answered, 1);
	CU_ASSERT_EQUAL(l.tcp_answered, 1);
	CU_ASSERT(!txt.truncated);
	CU_ASSERT_EQUAL_FATAL(txt.n, DNS_LAB_RECORDS);
	for (int i = 0; i < DNS_LAB_RECORDS; i++) {
		memset(want, 'a' + i, 200);
		want[200] = '\0';
		CU_ASSERT_STRING_EQUAL(txt.v[i], want);
	}
}

/* A self-signed tls-alpn-01 certificate for NAME: SAN (NAME and EXTRA if
 * not NULL) and acmeIdentifier of DIGEST, CRITICAL or not. */
static int
alpn_cert(const char *name, const char *extra, const unsigned char digest[32],
	  int critical, unsigned char **der, size_t *len)
{
	mbedtls_x509write_cert w;
	mbedtls_x509_san_list san[2];
	struct tkey k;
	unsigned char buf[2048], val[34], serial[1] = { 1 };
	int n;

	tkey_ec(&k, 0);
	mbedtls_x509write_crt_init(&w);
	mbedtls_x509write_crt_set_subject_key(&w, &k.pk);
	mbedtls_x509write_crt_set_issuer_key(&w, &k.pk);
	mbedtls_x509write_crt_set_subject_name(&w, "CN=acme");
	mbedtls_x509write_crt_set_issuer_name(&w, "CN=acme");
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_serial_raw(&w, serial, 1);
	mbedtls_x509write_crt_set_validity(&w, "20250101000000", "20350101000000");
	memset(san, 0, sizeof(san));
	san[0].node.type = MBEDTLS_X509_SAN_DNS_NAME;
	san[0].node.san.unstructured_name.p = (unsigned char *)name;
	san[0].node.san.unstructured_name.len = strlen(name);
	if (extra != NULL) {
		san[0].next = &san[1];
		san[1].node.type = MBEDTLS_X509_SAN_DNS_NAME;
		san[1].node.san.unstructured_name.p = (unsigned char *)extra;
		san[1].node.san.unstructured_name.len = strlen(extra);
	}
	mbedtls_x509write_crt_set_subject_alternative_name(&w, san);
	val[0] = 0x04;
	val[1] = 32;
	memcpy(val + 2, digest, 32);
	mbedtls_x509write_crt_set_extension(&w, "\x2b\x06\x01\x05\x05\x07\x01\x1f", 8,
					    critical, val, sizeof(val));
	n = mbedtls_x509write_crt_der(&w, buf, sizeof(buf), mbedtls_ctr_drbg_random, &g_drbg);
	mbedtls_x509write_crt_free(&w);
	tkey_free(&k);
	if (n <= 0)
		return -1;
	*der = malloc((size_t)n);
	memcpy(*der, buf + sizeof(buf) - n, (size_t)n);
	*len = (size_t)n;
	return 0;
}

static void
test_tls_alpn_certificate_check(void)
{
	const char *ka = "tok.thumb";
	unsigned char d[32], *der = NULL;
	size_t len = 0;
	struct ca_acme_verr e;

	mbedtls_sha256((const unsigned char *)ka, strlen(ka), d, 0);
	CU_ASSERT_FATAL(alpn_cert("www.contoso.test", NULL, d, 1, &der, &len) == 0);
	CU_ASSERT(ca_acme_tlsalpn_cert(der, len, "www.contoso.test", 0, ka, &e) == 0);
	CU_ASSERT(ca_acme_tlsalpn_cert(der, len, "WWW.contoso.test", 0, ka, &e) == 0);
	CU_ASSERT(ca_acme_tlsalpn_cert(der, len, "mail.contoso.test", 0, ka, &e) != 0);
	CU_ASSERT(ca_acme_tlsalpn_cert(der, len, "www.contoso.test", 0, "tok.other", &e) != 0);
	CU_ASSERT_STRING_EQUAL(e.code, "incorrect_response");
	for (size_t cut = 0; cut < len; cut += 7)
		CU_ASSERT(ca_acme_tlsalpn_cert(der, cut, "www.contoso.test", 0, ka, &e) != 0);
	free(der);
	CU_ASSERT_FATAL(alpn_cert("www.contoso.test", NULL, d, 0, &der, &len) == 0);
	CU_ASSERT(ca_acme_tlsalpn_cert(der, len, "www.contoso.test", 0, ka, &e) != 0);
	free(der);
	CU_ASSERT_FATAL(alpn_cert("www.contoso.test", "evil.test", d, 1, &der, &len) == 0);
	CU_ASSERT(ca_acme_tlsalpn_cert(der, len, "www.contoso.test", 0, ka, &e) != 0);
	free(der);
}

static void
test_addresses_validation_may_connect_to(void)
{
	struct ca_acme a;
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	static const struct { const char *ip; int lab, prod; } v[] = {
		{ "127.0.0.1", 1, 0 }, { "127.8.9.10", 1, 0 }, { "169.254.1.1", 1, 0 },
		{ "10.0.0.1", 1, 1 }, { "192.168.1.1", 1, 1 }, { "8.8.8.8", 1, 1 },
		{ "0.0.0.0", 0, 0 }, { "224.0.0.1", 0, 0 }, { "255.255.255.255", 0, 0 },
		{ "::1", 1, 0 }, { "fe80::1", 1, 0 }, { "::", 0, 0 }, { "ff02::1", 0, 0 },
		{ "::ffff:127.0.0.1", 1, 0 }, { "2001:db8::1", 1, 1 },
	};

	memset(&a, 0, sizeof(a));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const struct sockaddr *sa;

		memset(&s4, 0, sizeof(s4));
		memset(&s6, 0, sizeof(s6));
		if (inet_pton(AF_INET, v[i].ip, &s4.sin_addr) == 1) {
			s4.sin_family = AF_INET;
			sa = (struct sockaddr *)&s4;
		} else {
			CU_ASSERT_FATAL(inet_pton(AF_INET6, v[i].ip, &s6.sin6_addr) == 1);
			s6.sin6_family = AF_INET6;
			sa = (struct sockaddr *)&s6;
		}
		a.o.allow_loopback = 0;
		CU_ASSERT(ca_acme_addr_allowed(&a, sa) == v[i].prod);
		a.o.allow_loopback = 1;
		CU_ASSERT(ca_acme_addr_allowed(&a, sa) == v[i].lab);
	}
}

/* ---------------------------------------------------- the engine flow -- */

static char g_cadir[PATH_MAX], g_hosts[PATH_MAX];
static struct ca *g_ca;
static struct ca_acme *g_acme;
static struct ca_principal g_cli;
static int g_http_port;
static int g_listen = -1;
static pthread_t g_httpd;
static pthread_mutex_t g_ka_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_ka[200];          /* what the responder answers */
static char g_path[200];        /* for the path it was asked */
static char g_moved[200];       /* if set, g_path redirects here (relative) */
static int g_nul;               /* if set, a NUL after the answer */
/* If g_hold is set, the responder, once it has read a request, sets
 * g_held and answers only when g_hold is cleared (g_hold_cond). */
static int g_hold, g_held;
static pthread_cond_t g_hold_cond = PTHREAD_COND_INITIALIZER;

/* The handles open on the test's CA: g_ca and its clones (each with a
 * store connection of its own). g_handles: how many before the workers
 * started. */
static int g_handles = -1;

static int
handles(void)
{
	int n;

	pthread_mutex_lock(&g_ca->sh->lock);
	n = g_ca->sh->refs;
	pthread_mutex_unlock(&g_ca->sh->lock);
	return n;
}

/* The http-01 responder: one request per connection. */
static void *
httpd(void *arg)
{
	(void)arg;
	for (;;) {
		char req[2048], resp[512], path[200], ka[200], moved[200];
		char to[420];
		ssize_t n;
		size_t rlen;
		int nul, c = accept(g_listen, NULL, NULL);

		if (c < 0)
			return NULL;
		n = read(c, req, sizeof(req) - 1);
		req[n > 0 ? n : 0] = '\0';
		pthread_mutex_lock(&g_ka_lock);
		if (g_hold) {
			g_held = 1;
			pthread_cond_broadcast(&g_hold_cond);
			while (g_hold)
				pthread_cond_wait(&g_hold_cond, &g_ka_lock);
		}
		snprintf(path, sizeof(path), "%s", g_path);
		snprintf(ka, sizeof(ka), "%s", g_ka);
		snprintf(moved, sizeof(moved), "%s", g_moved);
		nul = g_nul;
		pthread_mutex_unlock(&g_ka_lock);
		/* moved: the challenge's path redirects, by a reference
		 * relative to it, to MOVED in the same folder */
		snprintf(to, sizeof(to), "GET /.well-known/acme-challenge/%s ", moved);
		if (moved[0] != '\0' && strncmp(req + 4, path, strlen(path)) == 0 &&
		    req[4 + strlen(path)] == ' ')
			snprintf(resp, sizeof(resp), "HTTP/1.1 302 Found\r\nLocation: %s\r\n"
				 "Content-Length: 0\r\nConnection: close\r\n\r\n", moved);
		else if (moved[0] != '\0' && strncmp(req, to, strlen(to)) == 0)
			snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s\n", strlen(ka) + 1, ka);
		else if (moved[0] == '\0' && strncmp(req, "GET ", 4) == 0 &&
			 strncmp(req + 4, path, strlen(path)) == 0)
			snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s\n", strlen(ka) + 1, ka);
		else
			snprintf(resp, sizeof(resp), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
		rlen = strlen(resp);
		if (nul && strncmp(resp, "HTTP/1.1 200", 12) == 0) {
			/* the answer, then a NUL where its LF was */
			resp[rlen - 1] = '\0';
		}
		if (write(c, resp, rlen) < 0)
			perror("write");
		close(c);
	}
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int
suite_init(void)
{
	static const char pers[] = "mica test_acme";
	static const char *const domains[] = { "contoso.test" };
	struct ca_init_opts o;
	struct ca_init_result res;
	struct ca_acme_opts ao;
	struct mica_err err;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	FILE *f;

	mica_log_set_level(MICA_LOG_ERR);
	mbedtls_entropy_init(&g_entropy);
	mbedtls_ctr_drbg_init(&g_drbg);
	if (mbedtls_ctr_drbg_seed(&g_drbg, mbedtls_entropy_func, &g_entropy,
				  (const unsigned char *)pers, sizeof(pers) - 1) != 0)
		return -1;
	snprintf(g_tmp, sizeof(g_tmp), "/tmp/mica-acme-XXXXXX");
	if (mkdtemp(g_tmp) == NULL)
		return -1;
	snprintf(g_cadir, sizeof(g_cadir), "%s/ca", g_tmp);
	snprintf(g_hosts, sizeof(g_hosts), "%s/hosts", g_tmp);
	setenv("MICA_PASSPHRASE", PASSPHRASE, 1);
	memset(&o, 0, sizeof(o));
	o.datadir = g_cadir;
	o.name = "ACME Test Root";
	o.domains = domains;
	o.ndomains = 1;
	o.public_url = "http://ca.contoso.test:8080";
	if (ca_init(&o, &res, &err) != 0 ||
	    ca_open(g_cadir, CA_OPEN_UNLOCK, NULL, &g_ca, &err) != 0) {
		fprintf(stderr, "CA: %s\n", err.msg);
		return -1;
	}
	ca_principal_cli(&g_cli);
	/* The responder on an ephemeral loopback port. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((g_listen = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(g_listen, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(g_listen, 16) != 0 ||
	    getsockname(g_listen, (struct sockaddr *)&sin, &sl) != 0)
		return -1;
	g_http_port = ntohs(sin.sin_port);
	if (pthread_create(&g_httpd, NULL, httpd, NULL) != 0)
		return -1;
	if ((f = fopen(g_hosts, "w")) == NULL)
		return -1;
	fprintf(f, "127.0.0.1 www.contoso.test mail.contoso.test a.web.contoso.test\n");
	fclose(f);
	memset(&ao, 0, sizeof(ao));
	ao.hosts_file = g_hosts;
	ao.http_port = g_http_port;
	ao.tls_port = 1;          /* nothing listens there */
	ao.dns = "127.0.0.1:1";
	ao.allow_loopback = 1;
	ao.workers = 2;
	ao.timeout = 5;
	g_handles = handles();
	if (ca_acme_open(g_ca, &ao, &g_acme, &err) != 0) {
		fprintf(stderr, "acme: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
suite_clean(void)
{
	ca_acme_close(g_acme);
	if (g_listen >= 0) {
		shutdown(g_listen, SHUT_RDWR);
		close(g_listen);
		pthread_join(g_httpd, NULL);
	}
	ca_close(g_ca);
	mbedtls_ctr_drbg_free(&g_drbg);
	mbedtls_entropy_free(&g_entropy);
	if (g_tmp[0] != '\0')
		nftw(g_tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* A client of the engine: a key, its account URL, and the request. */
struct client {
	struct tkey k;
	char kid[256];
	char url[256];
	char *body;
	struct ca_acme_req r;
};

static const struct ca_acme_req *
req(struct client *c, const char *path, const char *payload, int use_jwk)
{
	char nonce[CA_ACME_NONCE_MAX];

	free(c->body);
	ca_acme_nonce(g_acme, nonce);
	snprintf(c->url, sizeof(c->url), BASE "%s", path);
	c->body = jws(&c->k, c->url, nonce, use_jwk ? NULL : c->kid, payload);
	memset(&c->r, 0, sizeof(c->r));
	c->r.body = (const unsigned char *)c->body;
	c->r.body_len = strlen(c->body);
	c->r.url = c->url;
	c->r.acct_prefix = BASE "/acct/";
	c->r.client = "127.0.0.1";
	return &c->r;
}

/* The newAccount payload of client C with an externalAccountBinding for
 * key id KID MACed with KEY (KLEN octets), into PAYLOAD. */
static void
eab_payload(struct client *c, const char *kid, const unsigned char *key,
	    size_t klen, char *payload, size_t size)
{
	char prot[256], *p64, *y64, *in, *sig;
	unsigned char mac[32];

	snprintf(prot, sizeof(prot), "{\"alg\":\"HS256\",\"kid\":\"%s\",\"url\":\"" BASE "/new-account\"}", kid);
	p64 = b64(prot, strlen(prot));
	y64 = b64(c->k.jwk, strlen(c->k.jwk));
	CU_ASSERT_FATAL(asprintf(&in, "%s.%s", p64, y64) > 0);
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, klen,
			(unsigned char *)in, strlen(in), mac);
	sig = b64(mac, 32);
	snprintf(payload, size, "{\"termsOfServiceAgreed\":true,"
		 "\"contact\":[\"mailto:ops@contoso.test\"],\"externalAccountBinding\":"
		 "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}}", p64, y64, sig);
	free(p64); free(y64); free(in); free(sig);
}

/* An EAB credential (scope NAME or any) into KID and KEY (32 octets). */
static void
eab_new(const char *scope_name, char kid[CA_ID_MAX], unsigned char key[32])
{
	struct ca_token_spec spec;
	struct mica_err err;
	const char *names[1] = { scope_name };
	char hmac[CA_ACME_HMAC_MAX];
	size_t klen;

	memset(&spec, 0, sizeof(spec));
	spec.kind = CA_TOKEN_ENROLL;
	spec.names = scope_name ? names : NULL;
	spec.nnames = scope_name ? 1 : 0;
	CU_ASSERT_FATAL(ca_acme_eab_create(g_ca, &g_cli, &spec, kid, hmac, &err) == 0);
	CU_ASSERT(hmac[0] != '-' && kid[0] != '-');
	CU_ASSERT_FATAL(mica_b64url_decode(hmac, strlen(hmac), key, 32, &klen) == 0);
	CU_ASSERT_FATAL(klen == 32);
}

/* An EAB credential (scope NAME or any) and an account bound with it. */
static void
client_new(struct client *c, const char *scope_name, char kid_out[CA_ID_MAX])
{
	struct ca_acme_account acct;
	struct mica_err err;
	char kid[CA_ID_MAX], payload[3000];
	unsigned char key[32];
	int created = 0;

	memset(c, 0, sizeof(*c));
	tkey_ec(&c->k, 0);
	eab_new(scope_name, kid, key);
	if (kid_out != NULL)
		snprintf(kid_out, CA_ID_MAX, "%s", kid);
	eab_payload(c, kid, key, sizeof(key), payload, sizeof(payload));
	CU_ASSERT_FATAL(ca_acme_new_account(g_ca, g_acme, req(c, "/new-account", payload, 1),
					    &acct, &created, &err) == 0);
	CU_ASSERT(created == 1);
	snprintf(c->kid, sizeof(c->kid), BASE "/acct/%s", acct.id);
	ca_acme_account_free(&acct);
}

/* newAccount for a fresh key with an EAB of KID MACed with KEY: 0, or -1
 * with ERR. */
static int
eab_try(const char *kid, const unsigned char *key, struct mica_err *err)
{
	struct client c;
	struct ca_acme_account acct;
	char payload[3000];
	int created = 0, rc;

	memset(&c, 0, sizeof(c));
	tkey_ec(&c.k, 0);
	eab_payload(&c, kid, key, 32, payload, sizeof(payload));
	memset(&acct, 0, sizeof(acct));
	rc = ca_acme_new_account(g_ca, g_acme, req(&c, "/new-account", payload, 1),
				 &acct, &created, err);
	ca_acme_account_free(&acct);
	free(c.body);
	tkey_free(&c.k);
	return rc;
}

/* RFC 8555 7.3.4: whoever lacks the HMAC key learns nothing of a key id:
 * an unknown one, a wrong MAC and a binding used already are answered
 * alike; a wrong MAC does not use the credential up. */
static void
test_eab_refusals_tell_nothing_of_the_key_id(void)
{
	struct mica_err unknown, bad_mac, used, used_right, err;
	char kid[CA_ID_MAX], kid2[CA_ID_MAX];
	unsigned char key[32], key2[32], wrong[32];
	int64_t accounts;

	eab_new(NULL, kid, key);
	eab_new(NULL, kid2, key2);
	memcpy(wrong, key, 32);
	wrong[0] ^= 0x80;
	CU_ASSERT(eab_try("0123456789abcdef", wrong, &unknown) != 0);
	CU_ASSERT(eab_try(kid, wrong, &bad_mac) != 0);
	/* The MAC of the all-zero key, which a refusal computes when there
	 * is no key, opens nothing. */
	{
		static const unsigned char zero[32];

		CU_ASSERT(eab_try("0123456789abcdef", zero, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.msg, unknown.msg);
	}
	/* The credential still binds one account with its key... */
	CU_ASSERT_FATAL(eab_try(kid, key, &err) == 0);
	accounts = 0;
	{
		struct ca_acme_account *v = NULL;
		size_t n = 0;

		CU_ASSERT_FATAL(ca_acme_account_list(g_ca, &g_cli, NULL, 10000, &v, &n, NULL, &err) == 0);
		accounts = (int64_t)n;
		ca_acme_account_array_free(v, n);
	}
	/* ... and only one. */
	CU_ASSERT(eab_try(kid, wrong, &used) != 0);
	CU_ASSERT(eab_try(kid, key, &used_right) != 0);
	{
		struct ca_acme_account *v = NULL;
		size_t n = 0;

		CU_ASSERT_FATAL(ca_acme_account_list(g_ca, &g_cli, NULL, 10000, &v, &n, NULL, &err) == 0);
		CU_ASSERT((int64_t)n == accounts);
		ca_acme_account_array_free(v, n);
	}
	CU_ASSERT(unknown.kind == MICA_E_UNAUTH);
	CU_ASSERT(bad_mac.kind == unknown.kind && used.kind == unknown.kind &&
		  used_right.kind == unknown.kind);
	CU_ASSERT_STRING_EQUAL(bad_mac.code, unknown.code);
	CU_ASSERT_STRING_EQUAL(used.code, unknown.code);
	CU_ASSERT_STRING_EQUAL(bad_mac.msg, unknown.msg);
	CU_ASSERT_STRING_EQUAL(used.msg, unknown.msg);
	CU_ASSERT_STRING_EQUAL(used_right.msg, unknown.msg);
	/* A malformed key id is no different. */
	CU_ASSERT(eab_try("NOT-AN-ID", key2, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.msg, unknown.msg);
	/* The other credential, never tried with its key, still works. */
	CU_ASSERT(eab_try(kid2, key2, &err) == 0);
}

static void
client_free(struct client *c)
{
	free(c->body);
	tkey_free(&c->k);
}

/* Are refusals A and B the same to the client: the same kind (the HTTP
 * status), code (the ACME type) and words? */
static void
same_refusal(const struct mica_err *a, const struct mica_err *b)
{
	CU_ASSERT_EQUAL(a->kind, b->kind);
	CU_ASSERT_STRING_EQUAL(a->code, b->code);
	CU_ASSERT_STRING_EQUAL(a->msg, b->msg);
}

/* Wait (at most 20 s) until authorization ID is no longer pending. */
static void
wait_authz(struct client *c, const char *id, struct ca_acme_authz *z)
{
	struct mica_err err;
	char path[128];

	snprintf(path, sizeof(path), "/authz/%s", id);
	for (int i = 0; i < 400; i++) {
		CU_ASSERT_FATAL(ca_acme_authz_post(g_ca, g_acme, req(c, path, NULL, 0), id, z, &err) == 0);
		if (strcmp(z->status, "pending") != 0)
			return;
		ca_acme_authz_free(z);
		usleep(50000);
	}
	CU_FAIL("the authorization stayed pending");
}

/* Have the http-01 responder answer TOKEN's challenge for client C. */
static void
http01_answer(struct client *c, const char *token)
{
	struct ca_jwk jk;
	struct mica_err err;

	CU_ASSERT_FATAL(ca_jwk_parse(c->k.jwk, strlen(c->k.jwk), &jk, &err) == 0);
	pthread_mutex_lock(&g_ka_lock);
	snprintf(g_path, sizeof(g_path), "/.well-known/acme-challenge/%s", token);
	ca_acme_key_authz(token, jk.thumbprint, g_ka, sizeof(g_ka));
	pthread_mutex_unlock(&g_ka_lock);
	ca_jwk_free(&jk);
}

/* A CSR for NAMES with key K and SUBJECT, in base64url (heap). */
static char *
csr_b64_subject(const char *const *names, size_t n, struct tkey *k,
		const char *subject)
{
	mbedtls_x509write_csr w;
	mbedtls_x509_san_list san[4];
	unsigned char buf[2048];
	char *out;
	int len;

	mbedtls_x509write_csr_init(&w);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&w, &k->pk);
	mbedtls_x509write_csr_set_subject_name(&w, subject);
	memset(san, 0, sizeof(san));
	for (size_t i = 0; i < n; i++) {
		san[i].node.type = MBEDTLS_X509_SAN_DNS_NAME;
		san[i].node.san.unstructured_name.p = (unsigned char *)names[i];
		san[i].node.san.unstructured_name.len = strlen(names[i]);
		san[i].next = i + 1 < n ? &san[i + 1] : NULL;
	}
	mbedtls_x509write_csr_set_subject_alternative_name(&w, san);
	len = mbedtls_x509write_csr_der(&w, buf, sizeof(buf), mbedtls_ctr_drbg_random, &g_drbg);
	CU_ASSERT_FATAL(len > 0);
	out = b64(buf + sizeof(buf) - len, (size_t)len);
	mbedtls_x509write_csr_free(&w);
	return out;
}

/* The same with the subject "CN=x" (a CN that names no host). */
static char *
csr_b64_key(const char *const *names, size_t n, struct tkey *k)
{
	return csr_b64_subject(names, n, k, "CN=x");
}

/* The same with a fresh key. */
static char *
csr_b64(const char *const *names, size_t n)
{
	struct tkey k;
	char *out;

	tkey_ec(&k, 0);
	out = csr_b64_key(names, n, &k);
	tkey_free(&k);
	return out;
}

/* CRT's ARI identifier (RFC 9773 4.1): base64url of its authority key
 * identifier, ".", base64url of its serial, into OUT. */
static void
ari_certid(const mbedtls_x509_crt *crt, char *out, size_t out_len)
{
	char *a64 = b64(crt->authority_key_id.keyIdentifier.p,
			crt->authority_key_id.keyIdentifier.len);
	char *s64 = b64(crt->serial.p, crt->serial.len);

	snprintf(out, out_len, "%s.%s", a64, s64);
	free(a64);
	free(s64);
}

static int64_t
count_certs(void)
{
	struct ca_counts n;
	struct mica_err err;

	CU_ASSERT_FATAL(ca_counts(g_ca, &n, &err) == 0);
	return n.valid + n.revoked + n.issuing;
}

/* Does "what expires soon" (valid, within 400 days) list SERIAL? */
static int
expiring_lists(const char *serial)
{
	struct ca_cert_filter f;
	struct ca_cert *v = NULL;
	struct ca_cursor cur;
	struct mica_err err;
	size_t n = 0;
	int found = 0;

	memset(&f, 0, sizeof(f));
	f.status = CA_FILTER_CURRENT;
	f.now = (int64_t)time(NULL);
	f.expiring_before = f.now + 400 * INT64_C(86400);
	do {
		f.limit = 1000;
		if (ca_cert_list(g_ca, &g_cli, &f, &v, &n, &cur, &err) != 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			found |= strcmp(v[i].serial, serial) == 0;
		ca_cert_array_free(v, n);
		f.cursor = cur;
	} while (cur.id != 0 && !found);
	return found;
}

/* Run SQL (from sqlite3_mprintf; freed here) on the test store from
 * outside, as another process would: it must change rows. */
static void
store_update(char *sql)
{
	char db[PATH_MAX + 16];
	sqlite3 *h = NULL;

	CU_ASSERT_FATAL(sql != NULL);
	snprintf(db, sizeof(db), "%s/mica.db", g_cadir);
	CU_ASSERT_FATAL(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
	CU_ASSERT_FATAL(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
	CU_ASSERT(sqlite3_changes(h) > 0);
	sqlite3_close(h);
	sqlite3_free(sql);
}

static void
test_flow_http01_to_certificate_and_refusals(void)
{
	struct client c;
	struct ca_acme_order o, o2;
	struct ca_acme_authz z;
	struct mica_err err;
	struct db_acme_eab cred;
	unsigned char *der = NULL;
	const char *chain = NULL;
	size_t der_len = 0;
	char path[200], payload[4000], kid[CA_ID_MAX], *csr;
	const char *names[1] = { "www.contoso.test" }, *other[1] = { "mail.contoso.test" };
	int64_t before;
	struct tkey ck;                 /* the certified key */
	mbedtls_x509_crt crt, root;
	uint32_t flags;
	size_t rl;
	const unsigned char *rd;

	client_new(&c, "www.contoso.test", kid);
	/* The HMAC key is gone from the store once bound. */
	CU_ASSERT(db_acme_eab_get(ca_db(g_ca), kid, &cred, &err) == 0);
	CU_ASSERT(cred.has_key == 0 && cred.account_id[0] != '\0');
	/* Out of the token's scope: refused at the order. */
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"mail.contoso.test\"}]}", 0),
		&o, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "name_not_in_scope");
	/* A trailing dot is refused, not silently dropped: the client
	 * would not recognise its name in the authorization. */
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.contoso.test.\"}]}", 0),
		&o, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "rejected_identifier");
	CU_ASSERT(strstr(err.msg, "dot") != NULL);
	/* A bad name says which rule it breaks. */
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www..contoso.test\"}]}", 0),
		&o, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "rejected_identifier");
	CU_ASSERT(strstr(err.msg, "not a valid DNS name: ") != NULL);
	CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"WWW.contoso.test\"}]}", 0),
		&o, &err) == 0);
	CU_ASSERT_STRING_EQUAL(o.status, "pending");
	CU_ASSERT_FATAL(o.nauthz == 1 && o.nidents == 1);
	CU_ASSERT_STRING_EQUAL(o.idents[0].value, "www.contoso.test");
	/* Finalize before the challenge: not ready. */
	csr = csr_b64(names, 1);
	snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	snprintf(path, sizeof(path), "/order/%s/finalize", o.id);
	CU_ASSERT(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0), o.id, &o2, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "order_not_ready");
	/* A payload that is no finalize is malformed, whatever the state. */
	CU_ASSERT(ca_acme_finalize(g_ca, g_acme, req(&c, path, "{\"cs\":\"x\"}", 0),
				   o.id, &o2, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "malformed");
	/* http-01, answered by the responder. */
	CU_ASSERT_FATAL(ca_acme_authz_post(g_ca, g_acme, req(&c, (snprintf(path, sizeof(path),
		"/authz/%s", o.authz[0]), path), NULL, 0), o.authz[0], &z, &err) == 0);
	CU_ASSERT(z.offered == (CA_ACME_HTTP01 | CA_ACME_DNS01 | CA_ACME_TLSALPN01));
	http01_answer(&c, z.token);
	snprintf(path, sizeof(path), "/chall/%s/http-01", z.id);
	ca_acme_authz_free(&z);
	CU_ASSERT_FATAL(ca_acme_chall_post(g_ca, g_acme, req(&c, path, "{}", 0), o.authz[0],
					   CA_ACME_HTTP01, &z, &err) == 0);
	CU_ASSERT(z.tried == CA_ACME_HTTP01);
	ca_acme_authz_free(&z);
	wait_authz(&c, o.authz[0], &z);
	CU_ASSERT_STRING_EQUAL(z.status, "valid");
	/* RFC 8555 7.1.4: valid, it lists only the challenge validated. */
	CU_ASSERT(z.offered == CA_ACME_HTTP01);
	ca_acme_authz_free(&z);
	snprintf(path, sizeof(path), "/chall/%s/dns-01", o.authz[0]);
	CU_ASSERT(ca_acme_chall_post(g_ca, g_acme, req(&c, path, "{}", 0), o.authz[0],
				     CA_ACME_DNS01, &z, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "malformed");
	/* The challenge tried, posted again: {} or nothing reads it, a
	 * payload that is no JSON object is malformed all the same. */
	snprintf(path, sizeof(path), "/chall/%s/http-01", o.authz[0]);
	CU_ASSERT(ca_acme_chall_post(g_ca, g_acme, req(&c, path, "{}", 0), o.authz[0],
				     CA_ACME_HTTP01, &z, &err) == 0);
	ca_acme_authz_free(&z);
	CU_ASSERT(ca_acme_chall_post(g_ca, g_acme, req(&c, path, "[]", 0), o.authz[0],
				     CA_ACME_HTTP01, &z, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "malformed");
	CU_ASSERT(ca_acme_chall_post(g_ca, g_acme, req(&c, path, "\"x\"", 0), o.authz[0],
				     CA_ACME_HTTP01, &z, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "malformed");
	/* A CSR for other names: badCSR, nothing issued. */
	before = count_certs();
	free(csr);
	csr = csr_b64(other, 1);
	snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	snprintf(path, sizeof(path), "/order/%s/finalize", o.id);
	CU_ASSERT(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0), o.id, &o2, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
	CU_ASSERT(count_certs() == before);
	/* Not a CSR: badCSR, saying why. */
	CU_ASSERT(ca_acme_finalize(g_ca, g_acme, req(&c, path, "{\"csr\":\"MIIBAA\"}", 0), o.id,
				   &o2, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
	CU_ASSERT(err.msg[0] != '\0');
	/* RFC 8555 11.1: the account's key, or another account's, is never
	 * certified. */
	{
		struct client d;

		client_new(&d, NULL, NULL);
		for (int i = 0; i < 2; i++) {
			free(csr);
			csr = csr_b64_key(names, 1, i == 0 ? &c.k : &d.k);
			snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
			CU_ASSERT(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0), o.id,
						   &o2, &err) != 0);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
			CU_ASSERT(strstr(err.msg, "account key") != NULL);
		}
		client_free(&d);
	}
	CU_ASSERT(count_certs() == before);
	/* RFC 8555 7.4: a CN asks for an identifier as the subjectAltName
	 * does. One the order lacks is badCSR, the right subjectAltName
	 * notwithstanding (the certificate would have left it out), and
	 * the order stays ready; the order's own name is fine (the right
	 * CSR below has it, in capitals). */
	{
		static const char *const cns[] = { "CN=mail.contoso.test", "CN=10.0.0.1" };

		for (size_t i = 0; i < sizeof(cns) / sizeof(cns[0]); i++) {
			tkey_ec(&ck, 0);
			free(csr);
			csr = csr_b64_subject(names, 1, &ck, cns[i]);
			tkey_free(&ck);
			snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
			CU_ASSERT(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0), o.id,
						   &o2, &err) != 0);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
			CU_ASSERT(strstr(err.msg, "common name") != NULL);
		}
	}
	CU_ASSERT(count_certs() == before);
	/* The right CSR. */
	free(csr);
	tkey_ec(&ck, 0);
	csr = csr_b64_subject(names, 1, &ck, "CN=WWW.contoso.test");
	snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	CU_ASSERT_FATAL(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0), o.id, &o2, &err) == 0);
	CU_ASSERT_STRING_EQUAL(o2.status, "valid");
	CU_ASSERT(o2.serial[0] != '\0');
	CU_ASSERT(count_certs() == before + 1);
	/* A replay of that very request: badNonce; a second finalize: not ready. */
	{
		struct ca_acme_order o3;

		CU_ASSERT(ca_acme_finalize(g_ca, g_acme, &c.r, o.id, &o3, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_nonce");
		CU_ASSERT(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0), o.id, &o3, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "order_not_ready");
	}
	CU_ASSERT(count_certs() == before + 1);
	/* RFC 8555 6.3: the certificate and the list of orders are read
	 * with POST-as-GET, as an order is: a payload is malformed. */
	snprintf(path, sizeof(path), "/cert/%s", o2.serial);
	CU_ASSERT(ca_acme_cert_post(g_ca, g_acme, req(&c, path, "{}", 0), o2.serial,
				    &der, &der_len, &chain, NULL, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "malformed");
	CU_ASSERT(strstr(err.msg, "POST-as-GET") != NULL);
	CU_ASSERT(der == NULL);
	{
		char (*ids)[CA_ID_MAX] = NULL, lpath[600];
		const char *acct = c.kid + strlen(BASE "/acct/");
		size_t nids = 0;
		int64_t next = 0;

		snprintf(lpath, sizeof(lpath), "/acct/%s/orders", acct);
		CU_ASSERT(ca_acme_orders_post(g_ca, g_acme, req(&c, lpath, "{}", 0), acct,
					      0, &ids, &nids, &next, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "malformed");
		CU_ASSERT(strstr(err.msg, "POST-as-GET") != NULL);
		CU_ASSERT(ca_acme_orders_post(g_ca, g_acme, req(&c, lpath, NULL, 0), acct,
					      0, &ids, &nids, &next, &err) == 0);
		CU_ASSERT_EQUAL(next, 0);
		CU_ASSERT(nids >= 1);
		free(ids);
	}
	/* The certificate verifies against the root. */
	snprintf(path, sizeof(path), "/cert/%s", o2.serial);
	CU_ASSERT_FATAL(ca_acme_cert_post(g_ca, g_acme, req(&c, path, NULL, 0), o2.serial,
					  &der, &der_len, &chain, NULL, &err) == 0);
	/* Handed out with the chain of the key that signed it: here the
	 * current one's. */
	CU_ASSERT(chain != NULL && chain == ca_chain_pem(g_ca));
	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&root);
	rd = ca_root_der(g_ca, &rl);
	CU_ASSERT(mbedtls_x509_crt_parse_der(&crt, der, der_len) == 0);
	CU_ASSERT(mbedtls_x509_crt_parse_der(&root, rd, rl) == 0);
	CU_ASSERT(mbedtls_x509_crt_verify(&crt, &root, NULL, "www.contoso.test", &flags,
					  NULL, NULL) == 0);
	/* ARI: two thirds in. */
	{
		char certid[128];
		int64_t start, end, nb = (int64_t)time(NULL);

		ari_certid(&crt, certid, sizeof(certid));
		CU_ASSERT(ca_acme_renewal_info(g_ca, certid, &start, &end, &err) == 0);
		CU_ASSERT(start > nb + 200 * 86400 && start < nb + 250 * 86400 && end > start);
		/* RFC 9773 5: an order may replace it, only one. */
		{
			struct ca_acme_order r1, r2;

			snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\","
				 "\"value\":\"www.contoso.test\"}],\"replaces\":\"%s\"}", certid);
			CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order", payload, 0),
						    &r1, &err) == 0);
			CU_ASSERT(r1.replaces != NULL && strcmp(r1.replaces, certid) == 0);
			/* Not a string: malformed (it was an internal error). */
			memset(&err, 0, sizeof(err));
			CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
				"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.contoso.test\"}],"
				"\"replaces\":5}", 0), &r2, &err) != 0);
			CU_ASSERT_STRING_EQUAL(err.code, "malformed");
			CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order", payload, 0),
						    &r2, &err) != 0);
			CU_ASSERT_STRING_EQUAL(err.code, "already_replaced");
			/* Finalized (its authorization is the earlier one's),
			 * the order's certificate renews the one it replaces;
			 * an order without "replaces" for the same names renews
			 * the account's newest (certbot's renewal). A renewed
			 * certificate is not "expiring": nobody has to renew it. */
			{
				struct ca_acme_order f1, r3, f3;
				struct ca_cert cc;
				char *c2;

				CU_ASSERT_STRING_EQUAL_FATAL(r1.status, "ready");
				c2 = csr_b64(names, 1);
				snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", c2);
				snprintf(path, sizeof(path), "/order/%s/finalize", r1.id);
				CU_ASSERT_FATAL(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0),
								 r1.id, &f1, &err) == 0);
				CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, o2.serial, &cc, &err) == 0);
				CU_ASSERT_STRING_EQUAL(cc.renewed_by, f1.serial);
				CU_ASSERT_EQUAL(cc.status, CA_CERT_VALID);
				ca_cert_free(&cc);
				CU_ASSERT_FALSE(expiring_lists(o2.serial));
				CU_ASSERT_TRUE(expiring_lists(f1.serial));
				CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
					"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.contoso.test\"}]}",
					0), &r3, &err) == 0);
				CU_ASSERT_STRING_EQUAL_FATAL(r3.status, "ready");
				snprintf(path, sizeof(path), "/order/%s/finalize", r3.id);
				CU_ASSERT_FATAL(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0),
								 r3.id, &f3, &err) == 0);
				CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, f1.serial, &cc, &err) == 0);
				CU_ASSERT_STRING_EQUAL(cc.renewed_by, f3.serial);
				ca_cert_free(&cc);
				CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, f3.serial, &cc, &err) == 0);
				CU_ASSERT_STRING_EQUAL(cc.renewal_of, f1.serial);
				ca_cert_free(&cc);
				CU_ASSERT_FALSE(expiring_lists(f1.serial));
				/* Without "replaces", a certificate of another kind
				 * of key for the same names is not the one renewed:
				 * a server may keep an RSA and an ECDSA certificate
				 * side by side (certbot --key-type, one lineage
				 * each), and the RSA one must stay "expiring" until
				 * an RSA one renews it. */
				{
					struct ca_acme_order r4, f4, r5, f5;
					struct tkey rk;
					char *c4;

					tkey_rsa(&rk);
					c4 = csr_b64_key(names, 1, &rk);
					CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
						"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.contoso.test\"}]}",
						0), &r4, &err) == 0);
					CU_ASSERT_STRING_EQUAL_FATAL(r4.status, "ready");
					snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", c4);
					snprintf(path, sizeof(path), "/order/%s/finalize", r4.id);
					CU_ASSERT_FATAL(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0),
									 r4.id, &f4, &err) == 0);
					CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, f4.serial, &cc, &err) == 0);
					CU_ASSERT_STRING_EQUAL(cc.renewal_of, "");
					ca_cert_free(&cc);
					CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, f3.serial, &cc, &err) == 0);
					CU_ASSERT_STRING_EQUAL(cc.renewed_by, "");
					ca_cert_free(&cc);
					CU_ASSERT_TRUE(expiring_lists(f3.serial));
					/* The RSA one's renewal renews it, past the
					 * ECDSA one issued since. */
					CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
						"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.contoso.test\"}]}",
						0), &r5, &err) == 0);
					snprintf(path, sizeof(path), "/order/%s/finalize", r5.id);
					snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", c2);
					CU_ASSERT_FATAL(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0),
									 r5.id, &f5, &err) == 0);
					CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, f3.serial, &cc, &err) == 0);
					CU_ASSERT_STRING_EQUAL(cc.renewed_by, f5.serial);
					ca_cert_free(&cc);
					CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, f4.serial, &cc, &err) == 0);
					CU_ASSERT_STRING_EQUAL(cc.renewed_by, "");
					ca_cert_free(&cc);
					CU_ASSERT_TRUE(expiring_lists(f4.serial));
					free(c4);
					tkey_free(&rk);
					ca_acme_order_free(&r4);
					ca_acme_order_free(&f4);
					ca_acme_order_free(&r5);
					ca_acme_order_free(&f5);
				}
				free(c2);
				ca_acme_order_free(&f1);
				ca_acme_order_free(&r3);
				ca_acme_order_free(&f3);
			}
			ca_acme_order_free(&r1);
		}
		/* The serial as DER INTEGER contents, minimal and positive:
		 * a 0x00 it does not need, or the same octets read as a
		 * negative number, is no certID of it. */
		{
			unsigned char padded[40];
			char *a64 = b64(crt.authority_key_id.keyIdentifier.p,
					crt.authority_key_id.keyIdentifier.len);
			char *s64, bad[160];

			CU_ASSERT_FATAL(crt.serial.len + 1 <= sizeof(padded));
			padded[0] = 0;
			memcpy(padded + 1, crt.serial.p, crt.serial.len);
			if ((crt.serial.p[0] & 0x80) == 0) {
				s64 = b64(padded, crt.serial.len + 1);
				snprintf(bad, sizeof(bad), "%s.%s", a64, s64);
				free(s64);
				CU_ASSERT(ca_acme_renewal_info(g_ca, bad, &start,
							       &end, &err) != 0);
				CU_ASSERT_STRING_EQUAL(err.code, "malformed");
			}
			padded[0] = 0xff;
			s64 = b64(padded, crt.serial.len + 1);
			snprintf(bad, sizeof(bad), "%s.%s", a64, s64);
			free(s64);
			CU_ASSERT(ca_acme_renewal_info(g_ca, bad, &start, &end,
						       &err) != 0);
			free(a64);
		}
		certid[0] ^= 1;
		CU_ASSERT(ca_acme_renewal_info(g_ca, certid, &start, &end, &err) != 0);
	}
	/* Revocation by the certificate's key is refused for another key;
	 * by the ordering account it works, once. keyCompromise from an
	 * account revokes that certificate only; from the certificate's key
	 * it revokes the key's others too. */
	{
		char *c64 = b64(der, der_len), *t64;
		const char *tn[1] = { "twin.contoso.test" };
		struct ca_issued twin, twin2;
		struct ca_cert tc;
		unsigned char spki[300];
		int sl = mbedtls_pk_write_pubkey_der(&ck.pk, spki, sizeof(spki));

		CU_ASSERT_FATAL(sl > 0);
		CU_ASSERT_FATAL(ca_issue_for_spki(g_ca, &g_cli, "server",
			spki + sizeof(spki) - sl, (size_t)sl, tn, 1, 0, &twin, &err) == 0);
		CU_ASSERT_FATAL(ca_issue_for_spki(g_ca, &g_cli, "server",
			spki + sizeof(spki) - sl, (size_t)sl, tn, 1, 0, &twin2, &err) == 0);

		snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\",\"reason\":1}", c64);
		CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&c, "/revoke-cert", payload, 1), &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "unauthorized");
		snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\",\"reason\":6}", c64);
		CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&c, "/revoke-cert", payload, 0), &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_revocation_reason");
		/* The certificate with a byte after it is malformed (400),
		 * not one this server did not issue (404). */
		{
			unsigned char *longer = malloc(der_len + 1);
			char *l64;

			CU_ASSERT_FATAL(longer != NULL);
			memcpy(longer, der, der_len);
			longer[der_len] = 0;
			l64 = b64(longer, der_len + 1);
			snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\"}", l64);
			CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&c, "/revoke-cert", payload, 0), &err) != 0);
			CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
			CU_ASSERT_STRING_EQUAL(err.code, "malformed");
			free(l64);
			free(longer);
		}
		/* RFC 8555 7.6: an account that neither ordered the
		 * certificate nor proved its names is unauthorized, and learns
		 * no more: not that its reason would not do, nor (below) that
		 * the certificate is revoked already. Reading the certificate
		 * it is told what an unknown serial gets. */
		{
			struct client d;
			struct mica_err mine, none;
			char cpath[128];

			client_new(&d, NULL, NULL);
			for (int i = 0; i < 2; i++) {
				const char *sn = i == 0 ? o2.serial : "7e57";
				unsigned char *dd = NULL;
				const char *dchain = NULL;
				size_t dl = 0;

				snprintf(cpath, sizeof(cpath), "/cert/%s", sn);
				CU_ASSERT(ca_acme_cert_post(g_ca, g_acme, req(&d, cpath, NULL, 0), sn,
							    &dd, &dl, &dchain, NULL,
							    i == 0 ? &mine : &none) != 0);
				CU_ASSERT(dd == NULL);
			}
			CU_ASSERT_EQUAL(mine.kind, MICA_E_NOTFOUND);
			same_refusal(&mine, &none);
			for (int r = 0; r < 2; r++) {
				snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\","
					 "\"reason\":%s}", c64, r == 0 ? "6" : "\"x\"");
				CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&d, "/revoke-cert", payload, 0),
							 &err) != 0);
				CU_ASSERT_EQUAL(err.kind, MICA_E_FORBIDDEN);
				CU_ASSERT_STRING_EQUAL(err.code, "unauthorized");
			}
			snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\",\"reason\":1}", c64);
			CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&c, "/revoke-cert", payload, 0), &err) == 0);
			for (int r = 0; r < 3; r++) {
				snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\""
					 "%s}", c64, r == 0 ? ",\"reason\":1" : r == 1 ?
					 ",\"reason\":6" : "");
				CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&d, "/revoke-cert", payload, 0),
							 &err) != 0);
				CU_ASSERT_STRING_EQUAL(err.code, "unauthorized");
			}
			client_free(&d);
		}
		CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, o2.serial, &tc, &err) == 0);
		CU_ASSERT_EQUAL(tc.status, CA_CERT_REVOKED);
		CU_ASSERT_EQUAL(tc.reason, CA_REASON_KEY_COMPROMISE);
		ca_cert_free(&tc);
		/* The owner, once it is allowed: the reason first, then that
		 * the certificate is revoked already. */
		snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\",\"reason\":6}", c64);
		CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&c, "/revoke-cert", payload, 0), &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_revocation_reason");
		/* A reason that is no number at all is malformed. */
		snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\",\"reason\":\"1\"}", c64);
		CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&c, "/revoke-cert", payload, 0), &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "malformed");
		snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\",\"reason\":1}", c64);
		CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&c, "/revoke-cert", payload, 0), &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "already_revoked");
		/* A store that cannot say who ordered the certificate is a
		 * server error, not a verdict of "not authorized". */
		{
			char db[PATH_MAX + 16];
			sqlite3 *h = NULL;

			snprintf(db, sizeof(db), "%s/mica.db", g_cadir);
			CU_ASSERT_FATAL(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) ==
					SQLITE_OK);
			CU_ASSERT_FATAL(sqlite3_exec(h, "ALTER TABLE acme_order RENAME TO "
						     "acme_order_away", NULL, NULL, NULL) == SQLITE_OK);
			CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&c, "/revoke-cert", payload, 0),
						 &err) != 0);
			CU_ASSERT_EQUAL(err.kind, MICA_E_INTERNAL);
			CU_ASSERT_FATAL(sqlite3_exec(h, "ALTER TABLE acme_order_away RENAME TO "
						     "acme_order", NULL, NULL, NULL) == SQLITE_OK);
			sqlite3_close(h);
		}
		free(c64);
		CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, twin.serial, &tc, &err) == 0);
		CU_ASSERT_EQUAL(tc.status, CA_CERT_VALID);
		ca_cert_free(&tc);
		/* Signed with the key itself: the key's other one goes too. */
		{
			struct client e;

			memset(&e, 0, sizeof(e));
			e.k = ck;
			t64 = b64(twin.der, twin.der_len);
			snprintf(payload, sizeof(payload),
				 "{\"certificate\":\"%s\",\"reason\":1}", t64);
			CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&e, "/revoke-cert",
					payload, 1), &err) == 0);
			free(t64);
			free(e.body);   /* e.k is ck's, freed below */
		}
		CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, twin2.serial, &tc, &err) == 0);
		CU_ASSERT_EQUAL(tc.status, CA_CERT_REVOKED);
		CU_ASSERT_EQUAL(tc.reason, CA_REASON_KEY_COMPROMISE);
		ca_cert_free(&tc);
		ca_issued_free(&twin);
		ca_issued_free(&twin2);
	}
	/* That key, revoked for keyCompromise, opens no account and becomes
	 * no account's. */
	{
		struct client e;
		struct ca_acme_account acct;
		char prot[2000], ipl[2000], conflict[CA_ID_MAX], *inner;
		int created;

		memset(&e, 0, sizeof(e));
		e.k = ck;
		CU_ASSERT(ca_acme_new_account(g_ca, g_acme, req(&e, "/new-account",
			"{\"termsOfServiceAgreed\":true}", 1), &acct, &created, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_public_key");
		snprintf(prot, sizeof(prot), "{\"alg\":\"ES256\",\"url\":\"" BASE
			 "/key-change\",\"jwk\":%s}", ck.jwk);
		snprintf(ipl, sizeof(ipl), "{\"account\":\"%s\",\"oldKey\":%s}", c.kid, c.k.jwk);
		inner = jws_raw(&ck, prot, ipl);
		CU_ASSERT(ca_acme_key_change(g_ca, g_acme, req(&c, "/key-change", inner, 0), &acct,
					     conflict, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_public_key");
		free(inner);
		client_free(&e);
	}
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&root);
	/* A new order for the same name reuses the valid authorization. Its
	 * certificate revoked with "reason": null is revoked as with no
	 * reason (RFC 8555 7.6: the reason is optional; null is absent, as
	 * in the REST API): unspecified. */
	{
		struct ca_acme_order o4, f4;
		struct ca_cert cc;
		char *c4, *d64;
		unsigned char *d4 = NULL;
		const char *chain4 = NULL;
		size_t dl4 = 0;

		CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
			"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.contoso.test\"}]}", 0),
			&o4, &err) == 0);
		CU_ASSERT_STRING_EQUAL(o4.status, "ready");
		c4 = csr_b64(names, 1);
		snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", c4);
		snprintf(path, sizeof(path), "/order/%s/finalize", o4.id);
		CU_ASSERT_FATAL(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0), o4.id,
						 &f4, &err) == 0);
		snprintf(path, sizeof(path), "/cert/%s", f4.serial);
		CU_ASSERT_FATAL(ca_acme_cert_post(g_ca, g_acme, req(&c, path, NULL, 0), f4.serial,
						  &d4, &dl4, &chain4, NULL, &err) == 0);
		d64 = b64(d4, dl4);
		snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\",\"reason\":null}", d64);
		CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&c, "/revoke-cert", payload, 0), &err) == 0);
		CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, f4.serial, &cc, &err) == 0);
		CU_ASSERT_EQUAL(cc.status, CA_CERT_REVOKED);
		CU_ASSERT_EQUAL(cc.reason, CA_REASON_UNSPECIFIED);
		ca_cert_free(&cc);
		/* A required member null is missing, and said to be. */
		CU_ASSERT(ca_acme_revoke(g_ca, g_acme, req(&c, "/revoke-cert",
			"{\"certificate\":null}", 0), &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "malformed");
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "\"certificate\""));
		free(d64);
		free(d4);
		free(c4);
		ca_acme_order_free(&o4);
		ca_acme_order_free(&f4);
	}
	/* ...but not one that lapses before the new order would: the order
	 * would stay ready on an expired proof, and be finalized on it. */
	{
		struct ca_acme_order o6;

		store_update(sqlite3_mprintf("UPDATE acme_authz SET expires = %lld "
					     "WHERE status = 'valid'",
					     (long long)time(NULL) + 3600));
		CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
			"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.contoso.test\"}]}", 0),
			&o6, &err) == 0);
		CU_ASSERT_STRING_EQUAL(o6.status, "pending");
		ca_acme_order_free(&o6);
	}
	/* ...but not one proved under a clock since set back by 100 days:
	 * its 7 days would last 107. A new proof is asked for. */
	{
		struct ca_acme_order o5;

		store_update(sqlite3_mprintf("UPDATE acme_authz SET validated_at = %lld, "
					     "expires = %lld WHERE status = 'valid'",
					     (long long)time(NULL) + 100 * 86400,
					     (long long)time(NULL) + 107 * 86400));
		CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
			"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.contoso.test\"}]}", 0),
			&o5, &err) == 0);
		CU_ASSERT_STRING_EQUAL(o5.status, "pending");
		ca_acme_order_free(&o5);
	}
	free(der);
	free(csr);
	ca_acme_order_free(&o);
	ca_acme_order_free(&o2);
	client_free(&c);
}

/* Account C's certificate for NAME by http-01: its order (finalized, with
 * the serial) in *O and its ARI identifier (RFC 9773 4.1) in CERTID. */
static void
issue_http01(struct client *c, const char *name, struct ca_acme_order *o,
	     char *certid, size_t certid_len)
{
	struct ca_acme_order n;
	struct ca_acme_authz z;
	struct mica_err err;
	mbedtls_x509_crt crt;
	unsigned char *der = NULL;
	const char *chain = NULL;
	size_t der_len = 0;
	char path[200], payload[4000], *csr;
	const char *names[1] = { name };

	snprintf(payload, sizeof(payload),
		 "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}", name);
	CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(c, "/new-order", payload, 0),
					  &n, &err) == 0);
	snprintf(path, sizeof(path), "/authz/%s", n.authz[0]);
	CU_ASSERT_FATAL(ca_acme_authz_post(g_ca, g_acme, req(c, path, NULL, 0), n.authz[0],
					   &z, &err) == 0);
	http01_answer(c, z.token);
	snprintf(path, sizeof(path), "/chall/%s/http-01", z.id);
	ca_acme_authz_free(&z);
	CU_ASSERT_FATAL(ca_acme_chall_post(g_ca, g_acme, req(c, path, "{}", 0), n.authz[0],
					   CA_ACME_HTTP01, &z, &err) == 0);
	ca_acme_authz_free(&z);
	wait_authz(c, n.authz[0], &z);
	CU_ASSERT_STRING_EQUAL_FATAL(z.status, "valid");
	ca_acme_authz_free(&z);
	csr = csr_b64(names, 1);
	snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	free(csr);
	snprintf(path, sizeof(path), "/order/%s/finalize", n.id);
	CU_ASSERT_FATAL(ca_acme_finalize(g_ca, g_acme, req(c, path, payload, 0), n.id, o,
					 &err) == 0);
	ca_acme_order_free(&n);
	snprintf(path, sizeof(path), "/cert/%s", o->serial);
	CU_ASSERT_FATAL(ca_acme_cert_post(g_ca, g_acme, req(c, path, NULL, 0), o->serial,
					  &der, &der_len, &chain, NULL, &err) == 0);
	mbedtls_x509_crt_init(&crt);
	CU_ASSERT_FATAL(mbedtls_x509_crt_parse_der(&crt, der, der_len) == 0);
	ari_certid(&crt, certid, certid_len);
	mbedtls_x509_crt_free(&crt);
	free(der);
}

/* RFC 9773 5: an order replaces only a certificate of its account that
 * shares a name with it. Otherwise an account could mark any certificate
 * of its own renewed by an order for other names, and so take it off the
 * list of what expires soon. */
static void
test_replaces_needs_a_shared_name(void)
{
	struct client d;
	struct ca_acme_order mail, r;
	struct ca_cert cc;
	struct mica_err err;
	char certid[128], payload[512];

	client_new(&d, NULL, NULL);
	issue_http01(&d, "mail.contoso.test", &mail, certid, sizeof(certid));
	snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\","
		 "\"value\":\"www.contoso.test\"}],\"replaces\":\"%s\"}", certid);
	memset(&err, 0, sizeof(err));
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&d, "/new-order", payload, 0), &r,
				    &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "malformed");
	CU_ASSERT(strstr(err.msg, "shares no identifier") != NULL);
	CU_ASSERT_FATAL(ca_cert_get(g_ca, &g_cli, mail.serial, &cc, &err) == 0);
	CU_ASSERT_STRING_EQUAL(cc.renewed_by, "");
	ca_cert_free(&cc);
	CU_ASSERT_TRUE(expiring_lists(mail.serial));
	/* With the name among others, it may. */
	snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\","
		 "\"value\":\"www.contoso.test\"},{\"type\":\"dns\","
		 "\"value\":\"mail.contoso.test\"}],\"replaces\":\"%s\"}", certid);
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&d, "/new-order", payload, 0), &r,
				    &err) == 0);
	ca_acme_order_free(&r);
	ca_acme_order_free(&mail);
	client_free(&d);
}

/* RFC 9773 5: one order replaces a certificate; one that expired before
 * it was finalized (the client shown it invalid) replaces nothing, and
 * another order may then replace the certificate. */
static void
test_expired_order_replaces_nothing(void)
{
	struct client d;
	struct ca_acme_order first, r;
	struct mica_err err;
	char certid[128], payload[512];

	client_new(&d, NULL, NULL);
	issue_http01(&d, "mail.contoso.test", &first, certid, sizeof(certid));
	ca_acme_order_free(&first);
	snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\","
		 "\"value\":\"mail.contoso.test\"}],\"replaces\":\"%s\"}", certid);
	CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&d, "/new-order", payload, 0),
					  &first, &err) == 0);
	memset(&err, 0, sizeof(err));
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&d, "/new-order", payload, 0), &r,
				    &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "already_replaced");
	/* A day on, the client never finalized it. */
	store_update(sqlite3_mprintf("UPDATE acme_order SET expires = %lld WHERE id = '%q'",
				     (long long)time(NULL) - 60, first.id));
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&d, "/new-order", payload, 0), &r,
				    &err) == 0);
	CU_ASSERT(r.replaces != NULL && strcmp(r.replaces, certid) == 0);
	ca_acme_order_free(&r);
	/* That one replaces it now. */
	memset(&err, 0, sizeof(err));
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&d, "/new-order", payload, 0), &r,
				    &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "already_replaced");
	ca_acme_order_free(&first);
	client_free(&d);
}

/* At most CA_ACME_OPEN_ORDERS pending or ready orders per account; one
 * more is rateLimited with nothing stored, told to come back when the
 * oldest expires, and room comes back as one expires. */
static void
test_open_orders_are_limited(void)
{
	struct client d;
	struct ca_acme_order o;
	struct mica_err err;
	char payload[256], first[CA_ID_MAX] = "";
	int made = 0;
	time_t t;

	client_new(&d, NULL, NULL);
	for (int i = 0; i < CA_ACME_OPEN_ORDERS; i++) {
		snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":"
			 "\"dns\",\"value\":\"o%d.contoso.test\"}]}", i);
		if (ca_acme_new_order(g_ca, g_acme, req(&d, "/new-order", payload, 0),
				      &o, &err) == 0) {
			made++;
			if (first[0] == '\0')
				snprintf(first, sizeof(first), "%s", o.id);
			ca_acme_order_free(&o);
		}
	}
	CU_ASSERT_EQUAL_FATAL(made, CA_ACME_OPEN_ORDERS);
	snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":"
		 "\"dns\",\"value\":\"one-more.contoso.test\"}]}");
	memset(&err, 0, sizeof(err));
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&d, "/new-order", payload, 0),
				    &o, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "rate_limited");
	CU_ASSERT(strstr(err.msg, "orders waiting") != NULL);
	/* Retry-After: when the oldest of them expires (all made just now:
	 * an order's lifetime), not seconds. */
	t = time(NULL);
	CU_ASSERT(o.retry_after > CA_ACME_ORDER_HOURS * 3600 - 120 &&
		  o.retry_after <= CA_ACME_ORDER_HOURS * 3600);
	ca_acme_order_free(&o);
	/* One expires in five minutes: that is the wait. */
	store_update(sqlite3_mprintf("UPDATE acme_order SET expires = %lld WHERE id = '%q'",
				     (long long)t + 300, first));
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&d, "/new-order", payload, 0),
				    &o, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "rate_limited");
	CU_ASSERT(o.retry_after > 300 - 60 && o.retry_after <= 300);
	ca_acme_order_free(&o);
	/* One expires: room for one more. */
	store_update(sqlite3_mprintf("UPDATE acme_order SET expires = %lld WHERE id = '%q'",
				     (long long)time(NULL) - 60, first));
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&d, "/new-order", payload, 0),
				    &o, &err) == 0);
	CU_ASSERT_EQUAL(o.retry_after, 0);
	ca_acme_order_free(&o);
	client_free(&d);
}

/* An http-01 redirect's Location resolved as RFC 3986 5.2 resolves a
 * reference: its examples (5.4.1 and 5.4.2, paths and queries). */
static void
test_redirect_references(void)
{
	static const char *const cases[][2] = {
		{ "g", "/b/c/g" }, { "./g", "/b/c/g" }, { "g/", "/b/c/g/" },
		{ "/g", "/g" }, { "?y", "/b/c/d;p?y" }, { "g?y", "/b/c/g?y" },
		{ ";x", "/b/c/;x" }, { "g;x", "/b/c/g;x" }, { "", "/b/c/d;p?q" },
		{ ".", "/b/c/" }, { "./", "/b/c/" }, { "..", "/b/" },
		{ "../", "/b/" }, { "../g", "/b/g" }, { "../..", "/" },
		{ "../../", "/" }, { "../../g", "/g" },
		{ "../../../g", "/g" }, { "../../../../g", "/g" },
		{ "/./g", "/g" }, { "/../g", "/g" }, { "g.", "/b/c/g." },
		{ ".g", "/b/c/.g" }, { "g..", "/b/c/g.." }, { "..g", "/b/c/..g" },
		{ "./../g", "/b/g" }, { "./g/.", "/b/c/g/" }, { "g/./h", "/b/c/g/h" },
		{ "g/../h", "/b/c/h" }, { "g;x=1/./y", "/b/c/g;x=1/y" },
		{ "g;x=1/../y", "/b/c/y" }, { "g?y/./x", "/b/c/g?y/./x" },
		{ "g?y/../x", "/b/c/g?y/../x" },
	};
	char out[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ca_acme_ref_path("/b/c/d;p?q", cases[i][0], out, sizeof(out));

		CU_ASSERT(rc == 0 && strcmp(out, cases[i][1]) == 0);
		if (rc != 0 || strcmp(out, cases[i][1]) != 0)
			fprintf(stderr, "\n  \"%s\": \"%s\", not \"%s\"\n",
				cases[i][0], rc == 0 ? out : "(refused)", cases[i][1]);
	}
	/* what an http-01 responder moved says */
	CU_ASSERT(ca_acme_ref_path("/.well-known/acme-challenge/T", "moved-T", out,
				   sizeof(out)) == 0 &&
		  strcmp(out, "/.well-known/acme-challenge/moved-T") == 0);
	/* too long for OUT: refused, never cut */
	CU_ASSERT(ca_acme_ref_path("/a/b", "ccccccccccccccccc", out, 8) == -1);
}

/* An order of client C for NAME, its http-01 challenge answered by the
 * responder - redirecting first by "moved-TOKEN" (MOVED), or with a NUL
 * after the answer (NUL) - and validated: the authorization, no longer
 * pending, into *Z (free with ca_acme_authz_free). */
static void
http01_validate(struct client *c, const char *name, int moved, int nul,
		struct ca_acme_authz *z)
{
	struct ca_acme_order o;
	struct mica_err err;
	char path[200], body[200];

	snprintf(body, sizeof(body),
		 "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}", name);
	CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(c, "/new-order", body, 0),
					  &o, &err) == 0);
	snprintf(path, sizeof(path), "/authz/%s", o.authz[0]);
	CU_ASSERT_FATAL(ca_acme_authz_post(g_ca, g_acme, req(c, path, NULL, 0),
					   o.authz[0], z, &err) == 0);
	http01_answer(c, z->token);
	pthread_mutex_lock(&g_ka_lock);
	if (moved)
		snprintf(g_moved, sizeof(g_moved), "moved-%s", z->token);
	g_nul = nul;
	pthread_mutex_unlock(&g_ka_lock);
	snprintf(path, sizeof(path), "/chall/%s/http-01", z->id);
	ca_acme_authz_free(z);
	CU_ASSERT_FATAL(ca_acme_chall_post(g_ca, g_acme, req(c, path, "{}", 0), o.authz[0],
					   CA_ACME_HTTP01, z, &err) == 0);
	ca_acme_authz_free(z);
	wait_authz(c, o.authz[0], z);
	pthread_mutex_lock(&g_ka_lock);
	g_moved[0] = '\0';
	g_nul = 0;
	pthread_mutex_unlock(&g_ka_lock);
	ca_acme_order_free(&o);
}

/* A web server that moved its challenge folder and says so with a
 * reference relative to the path asked ("Location: moved-TOKEN", RFC
 * 9110 10.2.2): followed, the authorization valid. */
static void
test_http01_follows_relative_redirect(void)
{
	struct client c;
	struct ca_acme_authz z;

	client_new(&c, NULL, NULL);
	http01_validate(&c, "a.web.contoso.test", 1, 0, &z);
	CU_ASSERT_STRING_EQUAL(z.status, "valid");
	ca_acme_authz_free(&z);

	/* The answer and a NUL: a wrong answer, its detail showing the NUL
	 * (it ended the text, which then read as the answer due) */
	http01_validate(&c, "mail.contoso.test", 0, 1, &z);
	CU_ASSERT_STRING_EQUAL(z.status, "invalid");
	CU_ASSERT(z.error_detail != NULL && strstr(z.error_detail, "\\x00\"") != NULL);
	if (z.error_detail != NULL && strstr(z.error_detail, "\\x00\"") == NULL)
		fprintf(stderr, "\n  detail: %s\n", z.error_detail);
	ca_acme_authz_free(&z);
	client_free(&c);
}

/* RFC 8555 7.3: contacts are mailto: URLs of one plain address each, at
 * most CA_ACME_CONTACTS_MAX. The scheme in capitals is the same scheme
 * (RFC 3986 3.1), kept as "mailto:" - it was unsupportedContact; what
 * would smuggle more (hfields, lists, line breaks) stays refused. */
static void
test_account_contacts(void)
{
	static const struct {
		const char *contact, *code;
	} bad[] = {
		{ "[\"tel:+15550100\"]", "unsupported_contact" },
		{ "[\"mailto:a@contoso.test?bcc=b@fabrikam.test\"]", "invalid_contact" },
		{ "[\"mailto:a@contoso.test,b@fabrikam.test\"]", "invalid_contact" },
		{ "[\"mailto:a@contoso.test\\r\\nBcc: b@fabrikam.test\"]", "invalid_contact" },
		{ "[\"mailto:contoso.test\"]", "invalid_contact" },
		{ "[\"mailto:%00@contoso.test\"]", "invalid_contact" },
		{ "[\"mailto:a%40b@contoso.test\"]", "invalid_contact" },
		{ "[\"mailto:a..b@contoso.test\"]", "invalid_contact" },
		{ "[\"mailto:.a@contoso.test\"]", "invalid_contact" },
		{ "[\"mailto:a@-contoso.test\"]", "invalid_contact" },
		{ "[\"mailto:a@contoso-.test\"]", "invalid_contact" },
		{ "[\"mailto:a@contoso..test\"]", "invalid_contact" },
		{ "[\"mailto:a@contoso.test.\"]", "invalid_contact" },
		{ "[\"mailto:a@contoso_x.test\"]", "invalid_contact" },
		{ "[\"mailto:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@c.test\"]",
		  "invalid_contact" },
		{ "[\"mailto:a@b\",\"mailto:a@b\",\"mailto:a@b\",\"mailto:a@b\",\"mailto:a@b\"]",
		  "invalid_contact" },
		{ "\"mailto:a@contoso.test\"", "malformed" },
		{ "[5]", "malformed" },
	};
	struct client c;
	struct ca_acme_account acct;
	struct mica_err err;
	char path[600], payload[300];
	const char *id;

	client_new(&c, NULL, NULL);
	id = c.kid + strlen(BASE "/acct/");
	snprintf(path, sizeof(path), "/acct/%s", id);
	/* A contact given twice (its host name in any case) is kept once. */
	CU_ASSERT_FATAL(ca_acme_account_post(g_ca, g_acme, req(&c, path,
			"{\"contact\":[\"mailto:it-ops+acme@x-1.contoso.test\","
			"\"MAILTO:it-ops+acme@X-1.Contoso.TEST\",\"mailto:b@c\"]}", 0),
			id, &acct, &err) == 0);
	CU_ASSERT(acct.contact != NULL &&
		  strcmp(acct.contact,
			 "mailto:it-ops+acme@x-1.contoso.test\nmailto:b@c") == 0);
	ca_acme_account_free(&acct);
	CU_ASSERT_FATAL(ca_acme_account_post(g_ca, g_acme, req(&c, path,
			"{\"contact\":[\"MAILTO:ops@contoso.test\",\"Mailto:it@contoso.test\"]}", 0),
			id, &acct, &err) == 0);
	CU_ASSERT(acct.contact != NULL &&
		  strcmp(acct.contact, "mailto:ops@contoso.test\nmailto:it@contoso.test") == 0);
	ca_acme_account_free(&acct);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(payload, sizeof(payload), "{\"contact\":%s}", bad[i].contact);
		CU_ASSERT(ca_acme_account_post(g_ca, g_acme, req(&c, path, payload, 0), id,
					       &acct, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, bad[i].code);
	}
	/* None of them changed what was there. */
	CU_ASSERT_FATAL(ca_acme_account_post(g_ca, g_acme, req(&c, path, NULL, 0), id,
					     &acct, &err) == 0);
	CU_ASSERT(acct.contact != NULL &&
		  strcmp(acct.contact, "mailto:ops@contoso.test\nmailto:it@contoso.test") == 0);
	ca_acme_account_free(&acct);
	client_free(&c);
}

/* The list of CLIENT's orders from BEFORE (0: the first page): its ids
 * into *IDS (heap), their number into *N, the next page's place into
 * *NEXT. */
static void
orders_page(struct client *c, int64_t before, char (**ids)[CA_ID_MAX],
	    size_t *n, int64_t *next)
{
	const char *acct = c->kid + strlen(BASE "/acct/");
	struct mica_err err;
	char path[200];

	if (before > 0)
		snprintf(path, sizeof(path), "/acct/%s/orders/%lld", acct, (long long)before);
	else
		snprintf(path, sizeof(path), "/acct/%s/orders", acct);
	CU_ASSERT_FATAL(ca_acme_orders_post(g_ca, g_acme, req(c, path, NULL, 0), acct,
					    before, ids, n, next, &err) == 0);
}

/* RFC 8555 7.1.2.1: an account's list of orders leaves the invalid ones
 * out, and comes in pages linked by "next". It read the newest 1000 rows
 * and then left the invalid ones out: behind 1000 invalid orders, an
 * account's live order was listed nowhere, and of more than 1000 the
 * older ones were cut without a word. */
static void
test_orders_list_pages(void)
{
	struct client c;
	struct ca_acme_order o;
	struct mica_err err;
	char (*ids)[CA_ID_MAX] = NULL;
	const char *acct;
	size_t n = 0;
	int64_t next = -1;

	client_new(&c, NULL, NULL);
	acct = c.kid + strlen(BASE "/acct/");
	CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
			"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"live.contoso.test\"}]}", 0),
			&o, &err) == 0);
	/* 1000 failed orders after it. */
	store_update(sqlite3_mprintf(
		"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) "
		"INSERT INTO acme_order (id, account_id, status, names, profile, expires, "
		"created_at, updated_at, error_code) SELECT printf('inv%%05d', i), '%q', "
		"'invalid', 'x.contoso.test', 'server', 1, 1, 1, 'malformed' FROM s",
		CA_ACME_ORDERS_PAGE, acct));
	orders_page(&c, 0, &ids, &n, &next);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT(n == 1 && strcmp(ids[0], o.id) == 0);
	CU_ASSERT_EQUAL(next, 0);
	free(ids);
	/* A page and one more of open orders after those: two pages, the
	 * second with the last of them and the first order. */
	store_update(sqlite3_mprintf(
		"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) "
		"INSERT INTO acme_order (id, account_id, status, names, profile, expires, "
		"created_at, updated_at) SELECT printf('pen%%05d', i), '%q', "
		"'pending', 'x.contoso.test', 'server', %lld, 1, 1 FROM s",
		CA_ACME_ORDERS_PAGE + 1, acct, (long long)time(NULL) + 3600));
	orders_page(&c, 0, &ids, &n, &next);
	CU_ASSERT_EQUAL(n, CA_ACME_ORDERS_PAGE);
	CU_ASSERT(n > 0 && strcmp(ids[0], "pen01001") == 0);
	CU_ASSERT(next > 0);
	free(ids);
	ids = NULL;
	if (next > 0) {
		orders_page(&c, next, &ids, &n, &next);
		CU_ASSERT_EQUAL(n, 2);
		CU_ASSERT(n == 2 && strcmp(ids[0], "pen00001") == 0 &&
			  strcmp(ids[1], o.id) == 0);
		CU_ASSERT_EQUAL(next, 0);
		free(ids);
	}
	ca_acme_order_free(&o);
	client_free(&c);
}

/* RFC 8555 7.4: identifiers "MUST appear either in the commonName ... or
 * in an extensionRequest attribute requesting a subjectAltName
 * extension, or both". A CSR whose CN names one of the order's names and
 * whose subjectAltName names the others asks for all of them (it was
 * badCSR: only the subjectAltName counted); one that names fewer is
 * still badCSR. */
static void
test_finalize_counts_the_cn_as_an_identifier(void)
{
	static const char *const www[] = { "www.contoso.test" };
	struct client c;
	struct ca_acme_authz z;
	struct ca_acme_order o, o2;
	struct mica_err err;
	struct tkey ck;
	char path[200], *csr, *payload;
	int64_t before;

	client_new(&c, NULL, NULL);
	http01_validate(&c, "www.contoso.test", 0, 0, &z);
	CU_ASSERT_STRING_EQUAL(z.status, "valid");
	ca_acme_authz_free(&z);
	http01_validate(&c, "mail.contoso.test", 0, 0, &z);
	CU_ASSERT_STRING_EQUAL(z.status, "valid");
	ca_acme_authz_free(&z);
	CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
			"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.contoso.test\"},"
			"{\"type\":\"dns\",\"value\":\"mail.contoso.test\"}]}", 0), &o, &err) == 0);
	CU_ASSERT_STRING_EQUAL(o.status, "ready");
	snprintf(path, sizeof(path), "/order/%s/finalize", o.id);
	before = count_certs();
	/* A CN that names no host, the subjectAltName one of two names. */
	tkey_ec(&ck, 0);
	csr = csr_b64_subject(www, 1, &ck, "CN=x");
	CU_ASSERT_FATAL(asprintf(&payload, "{\"csr\":\"%s\"}", csr) > 0);
	CU_ASSERT(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0), o.id, &o2, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_csr");
	CU_ASSERT(count_certs() == before);
	free(csr);
	free(payload);
	/* The other in the CN: both asked for. */
	csr = csr_b64_subject(www, 1, &ck, "CN=mail.contoso.test");
	CU_ASSERT_FATAL(asprintf(&payload, "{\"csr\":\"%s\"}", csr) > 0);
	CU_ASSERT(ca_acme_finalize(g_ca, g_acme, req(&c, path, payload, 0), o.id, &o2, &err) == 0);
	if (strcmp(o2.status, "valid") != 0)
		fprintf(stderr, "\n  finalize: %s\n", err.msg);
	CU_ASSERT_STRING_EQUAL(o2.status, "valid");
	CU_ASSERT(count_certs() == before + 1);
	/* The certificate names both. */
	if (o2.serial[0] != '\0') {
		unsigned char *der = NULL;
		size_t der_len = 0;
		const char *chain = NULL;
		mbedtls_x509_crt crt;
		int dns = 0;

		snprintf(path, sizeof(path), "/cert/%s", o2.serial);
		CU_ASSERT_FATAL(ca_acme_cert_post(g_ca, g_acme, req(&c, path, NULL, 0), o2.serial,
						  &der, &der_len, &chain, NULL, &err) == 0);
		mbedtls_x509_crt_init(&crt);
		CU_ASSERT_FATAL(mbedtls_x509_crt_parse_der(&crt, der, der_len) == 0);
		for (const mbedtls_x509_sequence *q = &crt.subject_alt_names; q != NULL && q->buf.p != NULL;
		     q = q->next)
			dns += (q->buf.len == 16 && memcmp(q->buf.p, "www.contoso.test", 16) == 0) ||
			       (q->buf.len == 17 && memcmp(q->buf.p, "mail.contoso.test", 17) == 0);
		CU_ASSERT(dns == 2);
		mbedtls_x509_crt_free(&crt);
		free(der);
	}
	free(csr);
	free(payload);
	tkey_free(&ck);
	ca_acme_order_free(&o2);
	ca_acme_order_free(&o);
	client_free(&c);
}

/* RFC 8555 7.5.2: an authorization deactivated while its challenge is
 * being validated stays deactivated, and the challenge says how the
 * validation ended: it was left "processing" for ever (a client polling
 * it was told Retry-After: 1 for good), and queued again at every start,
 * taking a place of the validations a restart resumes. */
static void
test_deactivation_during_validation_settles_the_challenge(void)
{
	struct client c;
	struct ca_acme_order o;
	struct ca_acme_authz z;
	struct mica_err err;
	struct timespec until;
	char path[200];
	char (*left)[40] = NULL;
	size_t nleft = 0;
	int held = 1;

	client_new(&c, NULL, NULL);
	CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
			"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"mail.contoso.test\"}]}", 0),
			&o, &err) == 0);
	snprintf(path, sizeof(path), "/authz/%s", o.authz[0]);
	CU_ASSERT_FATAL(ca_acme_authz_post(g_ca, g_acme, req(&c, path, NULL, 0),
					   o.authz[0], &z, &err) == 0);
	http01_answer(&c, z.token);
	ca_acme_authz_free(&z);
	pthread_mutex_lock(&g_ka_lock);
	g_hold = 1;
	g_held = 0;
	pthread_mutex_unlock(&g_ka_lock);
	snprintf(path, sizeof(path), "/chall/%s/http-01", o.authz[0]);
	CU_ASSERT_FATAL(ca_acme_chall_post(g_ca, g_acme, req(&c, path, "{}", 0), o.authz[0],
					   CA_ACME_HTTP01, &z, &err) == 0);
	CU_ASSERT_STRING_EQUAL(z.tried_status, "processing");
	ca_acme_authz_free(&z);
	/* The worker has asked the responder: the validation is under way. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&g_ka_lock);
	while (!g_held && held)
		held = pthread_cond_timedwait(&g_hold_cond, &g_ka_lock, &until) == 0;
	pthread_mutex_unlock(&g_ka_lock);
	CU_ASSERT(held);
	snprintf(path, sizeof(path), "/authz/%s", o.authz[0]);
	CU_ASSERT(ca_acme_authz_post(g_ca, g_acme, req(&c, path, "{\"status\":\"deactivated\"}", 0),
				     o.authz[0], &z, &err) == 0);
	CU_ASSERT_STRING_EQUAL(z.status, "deactivated");
	ca_acme_authz_free(&z);
	pthread_mutex_lock(&g_ka_lock);
	g_hold = 0;
	pthread_cond_broadcast(&g_hold_cond);
	pthread_mutex_unlock(&g_ka_lock);
	/* The answer was right: the challenge is valid, the authorization
	 * still deactivated, its order invalid. */
	for (int i = 0; i < 400; i++) {
		CU_ASSERT_FATAL(ca_acme_authz_post(g_ca, g_acme, req(&c, path, NULL, 0),
						   o.authz[0], &z, &err) == 0);
		if (strcmp(z.tried_status, "processing") != 0)
			break;
		ca_acme_authz_free(&z);
		usleep(50000);
	}
	CU_ASSERT_STRING_EQUAL(z.status, "deactivated");
	CU_ASSERT_STRING_EQUAL(z.tried_status, "valid");
	ca_acme_authz_free(&z);
	CU_ASSERT(db_acme_authz_processing(g_ca->db, 1000, &left, &nleft, &err) == 0);
	for (size_t i = 0; i < nleft; i++)
		CU_ASSERT(strcmp(left[i], o.authz[0]) != 0);
	free(left);
	snprintf(path, sizeof(path), "/order/%s", o.id);
	ca_acme_order_free(&o);
	CU_ASSERT(ca_acme_order_post(g_ca, g_acme, req(&c, path, NULL, 0),
				     strrchr(path, '/') + 1, &o, &err) == 0);
	CU_ASSERT_STRING_EQUAL(o.status, "invalid");
	ca_acme_order_free(&o);
	client_free(&c);
}

/* RFC 8555 11.1 both ways, and a key compromised since: an account key
 * is never certified (by any path: mica issue, the API, SCEP); a key a
 * certificate certifies becomes no account's (newAccount, keyChange); an
 * account whose key was revoked for keyCompromise since acts no more. */
static void
test_account_keys_and_certified_keys(void)
{
	struct client c, e;
	struct ca_acme_account acct;
	struct ca_issued is;
	struct mica_err err;
	unsigned char spki[300], h[32];
	char prot[2000], ipl[2000], conflict[CA_ID_MAX], path[600], *inner;
	char payload[3000], kid[CA_ID_MAX];
	unsigned char key[32];
	const char *tn[1] = { "keys.contoso.test" };
	int sl, created;

	client_new(&c, NULL, NULL);
	/* 1. the account's key is certified by no path */
	sl = mbedtls_pk_write_pubkey_der(&c.k.pk, spki, sizeof(spki));
	CU_ASSERT_FATAL(sl > 0);
	CU_ASSERT(ca_issue_for_spki(g_ca, &g_cli, "server", spki + sizeof(spki) - sl,
				    (size_t)sl, tn, 1, 0, &is, &err) != 0);
	CU_ASSERT_EQUAL(err.kind, MICA_E_POLICY);
	CU_ASSERT_STRING_EQUAL(err.code, "account_key");

	/* 2. a certified key opens no account, and becomes none's */
	memset(&e, 0, sizeof(e));
	tkey_ec(&e.k, 0);
	sl = mbedtls_pk_write_pubkey_der(&e.k.pk, spki, sizeof(spki));
	CU_ASSERT_FATAL(sl > 0);
	CU_ASSERT_FATAL(ca_issue_for_spki(g_ca, &g_cli, "server", spki + sizeof(spki) - sl,
					  (size_t)sl, tn, 1, 0, &is, &err) == 0);
	eab_new(NULL, kid, key);
	eab_payload(&e, kid, key, sizeof(key), payload, sizeof(payload));
	CU_ASSERT(ca_acme_new_account(g_ca, g_acme, req(&e, "/new-account", payload, 1),
				      &acct, &created, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_public_key");
	CU_ASSERT(strstr(err.msg, is.serial) != NULL);
	snprintf(prot, sizeof(prot), "{\"alg\":\"ES256\",\"url\":\"" BASE
		 "/key-change\",\"jwk\":%s}", e.k.jwk);
	snprintf(ipl, sizeof(ipl), "{\"account\":\"%s\",\"oldKey\":%s}", c.kid, c.k.jwk);
	inner = jws_raw(&e.k, prot, ipl);
	CU_ASSERT(ca_acme_key_change(g_ca, g_acme, req(&c, "/key-change", inner, 0), &acct,
				     conflict, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_public_key");
	free(inner);
	ca_issued_free(&is);

	/* 3. the account's key revoked for keyCompromise since (an older
	 * mica certified account keys): the account acts no more, nor is
	 * it found again by its key */
	snprintf(path, sizeof(path), "/acct/%s", c.kid + strlen(BASE "/acct/"));
	CU_ASSERT(ca_acme_account_post(g_ca, g_acme, req(&c, path, NULL, 0),
				       c.kid + strlen(BASE "/acct/"), &acct, &err) == 0);
	ca_acme_account_free(&acct);
	sl = mbedtls_pk_write_pubkey_der(&c.k.pk, spki, sizeof(spki));
	CU_ASSERT_FATAL(sl > 0);
	mbedtls_sha256(spki + sizeof(spki) - sl, (size_t)sl, h, 0);
	{
		char db[PATH_MAX + 16];
		sqlite3 *hd = NULL;
		sqlite3_stmt *st = NULL;

		snprintf(db, sizeof(db), "%s/mica.db", g_cadir);
		CU_ASSERT_FATAL(sqlite3_open_v2(db, &hd, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
		sqlite3_busy_timeout(hd, 10000);
		CU_ASSERT_FATAL(sqlite3_prepare_v2(hd, "INSERT INTO compromised_key "
			"(spki_sha256, serial, added_at) VALUES (?1, '7e57', 1)", -1, &st,
			NULL) == SQLITE_OK);
		sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
		CU_ASSERT(sqlite3_step(st) == SQLITE_DONE);
		sqlite3_finalize(st);
		sqlite3_close(hd);
	}
	CU_ASSERT(ca_acme_account_post(g_ca, g_acme, req(&c, path, NULL, 0),
				       c.kid + strlen(BASE "/acct/"), &acct, &err) != 0);
	CU_ASSERT_EQUAL(err.kind, MICA_E_UNAUTH);
	CU_ASSERT_STRING_EQUAL(err.code, "account_key_compromised");
	CU_ASSERT(ca_acme_new_account(g_ca, g_acme, req(&c, "/new-account",
			"{\"onlyReturnExisting\":true}", 1), &acct, &created, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "account_key_compromised");
	/* it changes nothing (a contact), but may deactivate its account
	 * (RFC 8555 7.3.6 takes rights away only) */
	CU_ASSERT(ca_acme_account_post(g_ca, g_acme, req(&c, path,
			"{\"contact\":[\"mailto:x@contoso.test\"]}", 0),
			c.kid + strlen(BASE "/acct/"), &acct, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "account_key_compromised");
	CU_ASSERT(ca_acme_account_post(g_ca, g_acme, req(&c, path,
			"{\"status\":\"deactivated\",\"contact\":[]}", 0),
			c.kid + strlen(BASE "/acct/"), &acct, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "account_key_compromised");
	CU_ASSERT_FATAL(ca_acme_account_post(g_ca, g_acme, req(&c, path,
			"{\"status\":\"deactivated\"}", 0),
			c.kid + strlen(BASE "/acct/"), &acct, &err) == 0);
	CU_ASSERT_STRING_EQUAL(acct.status, "deactivated");
	ca_acme_account_free(&acct);
	CU_ASSERT(ca_acme_account_post(g_ca, g_acme, req(&c, path, NULL, 0),
				       c.kid + strlen(BASE "/acct/"), &acct, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "account_deactivated");
	client_free(&c);
	free(e.body);
	tkey_free(&e.k);
}

static void
test_flow_refusals_before_any_order(void)
{
	struct client c, d;
	struct ca_acme_account acct;
	struct ca_acme_order o;
	struct ca_acme_authz z;
	struct mica_err err;
	char kid[CA_ID_MAX], path[600];
	int created;

	/* No EAB: refused (EAB is required). */
	memset(&c, 0, sizeof(c));
	tkey_ec(&c.k, 0);
	CU_ASSERT(ca_acme_new_account(g_ca, g_acme, req(&c, "/new-account",
		"{\"termsOfServiceAgreed\":true}", 1), &acct, &created, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "external_account_required");
	CU_ASSERT(ca_acme_new_account(g_ca, g_acme, req(&c, "/new-account",
		"{\"onlyReturnExisting\":true}", 1), &acct, &created, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "account_does_not_exist");
	client_free(&c);
	client_new(&c, NULL, kid);
	/* The JWS names another URL than the request's. */
	req(&c, "/new-order", "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.contoso.test\"}]}", 0);
	c.r.url = BASE "/new-account";
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, &c.r, &o, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "unauthorized");
	/* Outside the allowed domains; unknown identifier types. */
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.fabrikam.test\"}]}", 0),
		&o, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "name_not_allowed");
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
		"{\"identifiers\":[{\"type\":\"email\",\"value\":\"a@contoso.test\"}]}", 0),
		&o, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "unsupported_identifier");
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
		"{\"identifiers\":[]}", 0), &o, &err) != 0);
	/* RFC 8555 7.5.2: a deactivated authorization can no longer be
	 * validated; starting one of its challenges says so (it answered
	 * 200, the challenge "pending", and nothing ever started). */
	CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"gone.contoso.test\"}]}", 0),
		&o, &err) == 0);
	snprintf(path, sizeof(path), "/authz/%s", o.authz[0]);
	CU_ASSERT_FATAL(ca_acme_authz_post(g_ca, g_acme, req(&c, path, "{\"status\":\"deactivated\"}", 0),
					   o.authz[0], &z, &err) == 0);
	CU_ASSERT_STRING_EQUAL(z.status, "deactivated");
	ca_acme_authz_free(&z);
	snprintf(path, sizeof(path), "/chall/%s/http-01", o.authz[0]);
	CU_ASSERT(ca_acme_chall_post(g_ca, g_acme, req(&c, path, "{}", 0), o.authz[0],
				     CA_ACME_HTTP01, &z, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "malformed");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "deactivated"));
	/* Reading it still works. */
	CU_ASSERT(ca_acme_chall_post(g_ca, g_acme, req(&c, path, NULL, 0), o.authz[0],
				     CA_ACME_HTTP01, &z, &err) == 0);
	ca_acme_authz_free(&z);
	/* Its order is invalid now, and RFC 8555 7.1.2.1 leaves invalid
	 * orders out of the account's list. */
	{
		char (*ids)[CA_ID_MAX] = NULL, lpath[600];
		const char *mine = c.kid + strlen(BASE "/acct/");
		size_t nids = 0;
		int64_t next = 0;

		struct ca_acme_order live;

		CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
			"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"live.contoso.test\"}]}", 0),
			&live, &err) == 0);
		snprintf(lpath, sizeof(lpath), "/acct/%s/orders", mine);
		CU_ASSERT(ca_acme_orders_post(g_ca, g_acme, req(&c, lpath, NULL, 0), mine,
					      0, &ids, &nids, &next, &err) == 0);
		/* The live one listed, the invalid one not. */
		CU_ASSERT_EQUAL(nids, 1);
		for (size_t i = 0; i < nids; i++) {
			CU_ASSERT(strcmp(ids[i], o.id) != 0);
			CU_ASSERT_STRING_EQUAL(ids[i], live.id);
		}
		free(ids);
		ca_acme_order_free(&live);
	}
	ca_acme_order_free(&o);
	/* Another account may not touch this one's order. */
	CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.web.contoso.test\"}]}", 0),
		&o, &err) == 0);
	client_new(&d, NULL, NULL);
	/* Nor learn that it exists: every resource of c's answers d as an
	 * unknown id does - the order, its finalize, its authorization
	 * (read or deactivated), its challenge (read or started), c's list
	 * of orders - and nothing changes. */
	{
		static const char unknown[] = "0123456789abcdef0123456789abcdef";
		const char *mine_acct = c.kid + strlen(BASE "/acct/");
		char (*ids)[CA_ID_MAX] = NULL;
		struct ca_acme_order o2;
		struct ca_acme_authz z2;
		struct mica_err mine, none;
		size_t nids = 0;
		int64_t next = 0;
		char *csr;
		const char *names[1] = { "x.web.contoso.test" };
		char fin[4000];

		csr = csr_b64(names, 1);
		snprintf(fin, sizeof(fin), "{\"csr\":\"%s\"}", csr);
		free(csr);
		for (int i = 0; i < 2; i++) {
			const char *id = i == 0 ? o.id : unknown;
			struct mica_err *e = i == 0 ? &mine : &none;

			snprintf(path, sizeof(path), "/order/%s", id);
			CU_ASSERT(ca_acme_order_post(g_ca, g_acme, req(&d, path, NULL, 0), id,
						     &o2, e) != 0);
		}
		CU_ASSERT_EQUAL(mine.kind, MICA_E_NOTFOUND);
		CU_ASSERT_STRING_EQUAL(mine.code, "malformed");
		same_refusal(&mine, &none);
		for (int i = 0; i < 2; i++) {
			const char *id = i == 0 ? o.id : unknown;

			snprintf(path, sizeof(path), "/order/%s/finalize", id);
			CU_ASSERT(ca_acme_finalize(g_ca, g_acme, req(&d, path, fin, 0), id, &o2,
						   i == 0 ? &mine : &none) != 0);
		}
		same_refusal(&mine, &none);
		for (int i = 0; i < 4; i++) {
			const char *id = i % 2 == 0 ? o.authz[0] : unknown;

			snprintf(path, sizeof(path), "/authz/%s", id);
			CU_ASSERT(ca_acme_authz_post(g_ca, g_acme, req(&d, path, i < 2 ? NULL :
				"{\"status\":\"deactivated\"}", 0), id, &z2,
				i % 2 == 0 ? &mine : &none) != 0);
			if (i % 2 == 1) {
				CU_ASSERT_EQUAL(mine.kind, MICA_E_NOTFOUND);
				same_refusal(&mine, &none);
			}
		}
		for (int i = 0; i < 4; i++) {
			const char *id = i % 2 == 0 ? o.authz[0] : unknown;

			snprintf(path, sizeof(path), "/chall/%s/dns-01", id);
			CU_ASSERT(ca_acme_chall_post(g_ca, g_acme, req(&d, path, i < 2 ? NULL : "{}", 0),
				id, CA_ACME_DNS01, &z2, i % 2 == 0 ? &mine : &none) != 0);
			if (i % 2 == 1) {
				CU_ASSERT_EQUAL(mine.kind, MICA_E_NOTFOUND);
				same_refusal(&mine, &none);
			}
		}
		for (int i = 0; i < 2; i++) {
			const char *id = i == 0 ? mine_acct : unknown;

			snprintf(path, sizeof(path), "/acct/%s/orders", id);
			CU_ASSERT(ca_acme_orders_post(g_ca, g_acme, req(&d, path, NULL, 0), id,
						      0, &ids, &nids, &next,
						      i == 0 ? &mine : &none) != 0);
			CU_ASSERT(ids == NULL);
		}
		same_refusal(&mine, &none);
		/* c's authorization is as it was: pending, no challenge tried. */
		snprintf(path, sizeof(path), "/authz/%s", o.authz[0]);
		CU_ASSERT_FATAL(ca_acme_authz_post(g_ca, g_acme, req(&c, path, NULL, 0), o.authz[0],
						   &z2, &err) == 0);
		CU_ASSERT_STRING_EQUAL(z2.status, "pending");
		CU_ASSERT_EQUAL(z2.tried, 0);
		ca_acme_authz_free(&z2);
	}
	snprintf(path, sizeof(path), "/order/%s", o.id);
	{
		struct ca_acme_order o2;

		/* d signs with its key but claims c's account. */
		snprintf(d.kid, sizeof(d.kid), "%s", c.kid);
		CU_ASSERT(ca_acme_order_post(g_ca, g_acme, req(&d, path, NULL, 0), o.id, &o2, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "malformed");
	}
	/* A wildcard is offered dns-01 only; dns-01 against a dead resolver
	 * fails with a dns error and ends the order. */
	snprintf(path, sizeof(path), "/authz/%s", o.authz[0]);
	CU_ASSERT_FATAL(ca_acme_authz_post(g_ca, g_acme, req(&c, path, NULL, 0), o.authz[0], &z, &err) == 0);
	CU_ASSERT(z.offered == CA_ACME_DNS01 && z.wildcard);
	CU_ASSERT_STRING_EQUAL(z.ident.value, "web.contoso.test");
	ca_acme_authz_free(&z);
	snprintf(path, sizeof(path), "/chall/%s/http-01", o.authz[0]);
	CU_ASSERT(ca_acme_chall_post(g_ca, g_acme, req(&c, path, "{}", 0), o.authz[0],
				     CA_ACME_HTTP01, &z, &err) != 0);
	snprintf(path, sizeof(path), "/chall/%s/dns-01", o.authz[0]);
	CU_ASSERT_FATAL(ca_acme_chall_post(g_ca, g_acme, req(&c, path, "{}", 0), o.authz[0],
					   CA_ACME_DNS01, &z, &err) == 0);
	ca_acme_authz_free(&z);
	wait_authz(&c, o.authz[0], &z);
	CU_ASSERT_STRING_EQUAL(z.status, "invalid");
	CU_ASSERT(z.error_code != NULL && strcmp(z.error_code, "dns") == 0);
	ca_acme_authz_free(&z);
	{
		struct ca_acme_order o2;

		snprintf(path, sizeof(path), "/order/%s", o.id);
		CU_ASSERT_FATAL(ca_acme_order_post(g_ca, g_acme, req(&c, path, NULL, 0), o.id, &o2, &err) == 0);
		CU_ASSERT_STRING_EQUAL(o2.status, "invalid");
		ca_acme_order_free(&o2);
	}
	ca_acme_order_free(&o);
	/* The admin deactivates c: nothing more works. */
	snprintf(path, sizeof(path), "%s", c.kid + strlen(BASE "/acct/"));
	CU_ASSERT(ca_acme_account_deactivate(g_ca, &g_cli, path, &err) == 0);
	CU_ASSERT(ca_acme_account_deactivate(g_ca, &g_cli, path, &err) != 0);
	CU_ASSERT(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.contoso.test\"}]}", 0),
		&o, &err) != 0);
	CU_ASSERT_STRING_EQUAL(err.code, "account_deactivated");
	ca_acme_order_free(&o);
	client_free(&c);
	client_free(&d);
}

static void
test_key_change_moves_the_account_to_a_new_key(void)
{
	struct client c;
	struct tkey nk;
	struct ca_acme_account acct;
	struct mica_err err;
	char inner_prot[2000], inner_payload[2000], conflict[CA_ID_MAX], *inner;

	client_new(&c, NULL, NULL);
	tkey_ec(&nk, 1);
	snprintf(inner_prot, sizeof(inner_prot), "{\"alg\":\"ES384\",\"url\":\"" BASE "/key-change\",\"jwk\":%s}",
		 nk.jwk);
	snprintf(inner_payload, sizeof(inner_payload), "{\"account\":\"%s\",\"oldKey\":%s}",
		 c.kid, c.k.jwk);
	inner = jws_raw(&nk, inner_prot, inner_payload);
	CU_ASSERT(ca_acme_key_change(g_ca, g_acme, req(&c, "/key-change", inner, 0), &acct,
				     conflict, &err) == 0);
	ca_acme_account_free(&acct);
	/* The old key is no longer the account's. */
	CU_ASSERT(ca_acme_account_post(g_ca, g_acme, req(&c, "/acct/x", NULL, 0),
				       c.kid + strlen(BASE "/acct/"), &acct, &err) != 0);
	tkey_free(&c.k);
	c.k = nk;
	{
		char path[600];

		snprintf(path, sizeof(path), "/acct/%s", c.kid + strlen(BASE "/acct/"));
		CU_ASSERT(ca_acme_account_post(g_ca, g_acme, req(&c, path, NULL, 0),
					       c.kid + strlen(BASE "/acct/"), &acct, &err) == 0);
		ca_acme_account_free(&acct);
	}
	free(inner);
	client_free(&c);
}

/* The validation workers clone a handle (a store connection) when they
 * take a validation and close it once the queue is empty: the tests
 * before validated (an http-01 that passed, a dns-01 that failed), and
 * afterwards g_ca has the clones it had before the workers started (each
 * would cost the daemon some 200 KB). */
static void
test_validation_workers_close_their_connections(void)
{
	int n = -1;

	CU_ASSERT_FATAL(g_handles > 0);
	for (int i = 0; i < 400 && (n = handles()) != g_handles; i++)
		usleep(25000);
	CU_ASSERT_EQUAL(n, g_handles);
}

#ifdef MICA_FAULT_INJECTION
/* A worker that cannot open the store (the "clone" fault: ca_clone fails)
 * keeps the validation queued and tries again every second; once the
 * store opens, the validation is done. */
static void
test_validation_waits_for_the_store(void)
{
	struct client c;
	struct ca_acme_order o;
	struct ca_acme_authz z;
	struct mica_err err;
	char kid[CA_ID_MAX], path[200];
	int posted;

	client_new(&c, NULL, kid);
	CU_ASSERT_FATAL(ca_acme_new_order(g_ca, g_acme, req(&c, "/new-order",
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.web.contoso.test\"}]}", 0),
		&o, &err) == 0);
	CU_ASSERT_FATAL(o.nauthz == 1);
	snprintf(path, sizeof(path), "/authz/%s", o.authz[0]);
	CU_ASSERT_FATAL(ca_acme_authz_post(g_ca, g_acme, req(&c, path, NULL, 0), o.authz[0],
					   &z, &err) == 0);
	http01_answer(&c, z.token);
	ca_acme_authz_free(&z);
	/* No fatal assertion while the fault is armed: the tests after
	 * this one need the store. */
	setenv("MICA_FAULT", "clone:0", 1);
	mica_fault_reset();
	snprintf(path, sizeof(path), "/chall/%s/http-01", o.authz[0]);
	posted = ca_acme_chall_post(g_ca, g_acme, req(&c, path, "{}", 0), o.authz[0],
				    CA_ACME_HTTP01, &z, &err) == 0;
	CU_ASSERT(posted);
	if (posted) {
		ca_acme_authz_free(&z);
		/* Two seconds of failing to open: still waiting, not
		 * failed. */
		usleep(2000000);
		snprintf(path, sizeof(path), "/authz/%s", o.authz[0]);
		if (ca_acme_authz_post(g_ca, g_acme, req(&c, path, NULL, 0), o.authz[0],
				       &z, &err) == 0) {
			CU_ASSERT_STRING_EQUAL(z.status, "pending");
			CU_ASSERT_STRING_EQUAL(z.tried_status, "processing");
			ca_acme_authz_free(&z);
		} else {
			CU_FAIL("the authorization cannot be read");
		}
	}
	setenv("MICA_FAULT", "", 1);
	mica_fault_reset();
	CU_ASSERT_FATAL(posted);
	wait_authz(&c, o.authz[0], &z);
	CU_ASSERT_STRING_EQUAL(z.status, "valid");
	ca_acme_authz_free(&z);
	ca_acme_order_free(&o);
	client_free(&c);
}
#endif

int
main(void)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "base64url round trips and has one spelling", test_b64url_round_trips_and_is_canonical },
		{ "base64url refuses padding, other alphabets and stray bits", test_b64url_refuses_other_spellings },
		{ "the JWK thumbprint is RFC 7638's, from a JWK or from a key's SPKI",
		  test_jwk_thumbprint_matches_rfc7638 },
		{ "JWS with ES256, ES384 and RS256 verify; another key does not", test_jws_es256_es384_rs256_verify },
		{ "JWS structures that are not ACME's flattened form are refused", test_jws_refuses_hostile_structures },
		{ "JWS headers: none, HMAC, crit, jwk+kid, missing url or nonce, tampering", test_jws_refuses_hostile_headers },
		{ "JWK: off-curve, short, Ed25519, weak RSA, private members are refused; others ignored",
		  test_jwk_refuses_bad_keys },
		{ "an EAB MAC verifies only with its key", test_eab_mac_verifies_in_constant_time },
		{ "a nonce is accepted once, by the process that made it, within the window", test_nonce_is_accepted_once },
		{ "hosts(5) files: comments, aliases, IPv6, bad lines skipped", test_hosts_file_parse },
		{ "HTTP response heads and chunked bodies are read strictly", test_http_head_and_chunks },
		{ "DNS answers: id, question, CNAME, pointers only backwards, rcodes", test_dns_answers_are_read_strictly },
		{ "a DNS answer that ends before the records it counts is truncated, not short",
		  test_dns_answer_cut_without_tc_is_truncated },
		{ "a UDP answer cut at 512 octets without TC is asked again over TCP",
		  test_dns_lookup_retries_a_cut_answer_over_tcp },
		{ "tls-alpn-01 certificates: one name, a critical acmeIdentifier, the digest", test_tls_alpn_certificate_check },
		{ "validation connects to loopback and link-local only in a lab", test_addresses_validation_may_connect_to },
		{ "an order replaces only a certificate it shares a name with (RFC 9773 5)",
		  test_replaces_needs_a_shared_name },
		{ "an order that expired unfinalized replaces nothing (RFC 9773 5)",
		  test_expired_order_replaces_nothing },
		{ "an account has at most 100 orders waiting; one more is rateLimited until the oldest expires",
		  test_open_orders_are_limited },
		{ "EAB account, order, http-01, finalize, certificate, ARI, revocation; refusals on the way "
		  "(account keys, a compromised key)",
		  test_flow_http01_to_certificate_and_refusals },
		{ "an http-01 redirect's Location is resolved as RFC 3986 5.2 says",
		  test_redirect_references },
		{ "http-01 follows a redirect relative to the path asked",
		  test_http01_follows_relative_redirect },
		{ "contacts: mailto: in any case, one plain address each, at most four, kept once",
		  test_account_contacts },
		{ "an account's list of orders leaves invalid ones out before it is cut in pages linked by next",
		  test_orders_list_pages },
		{ "finalize takes a CN naming one identifier and a subjectAltName naming the others (RFC 8555 7.4)",
		  test_finalize_counts_the_cn_as_an_identifier },
		{ "an authorization deactivated during its validation settles its challenge (RFC 8555 7.5.2)",
		  test_deactivation_during_validation_settles_the_challenge },
		{ "an account key is never certified, a certified key is no account's, "
		  "a compromised one acts no more", test_account_keys_and_certified_keys },
		{ "no EAB, wrong url, foreign names and accounts, failed dns-01, deactivation",
		  test_flow_refusals_before_any_order },
#ifdef MICA_FAULT_INJECTION
		{ "a validation waits while the store cannot be opened, then is done",
		  test_validation_waits_for_the_store },
#endif
		{ "validation workers hold no store connection once the queue is empty",
		  test_validation_workers_close_their_connections },
		{ "key change moves the account to the new key", test_key_change_moves_the_account_to_a_new_key },
		{ "an unknown EAB key id, a wrong MAC and a used binding are answered alike",
		  test_eab_refusals_tell_nothing_of_the_key_id },
	};
	CU_pSuite suite;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if ((suite = CU_add_suite("acme", suite_init, suite_clean)) == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL) {
			CU_cleanup_registry();
			return 1;
		}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
	if (CU_get_number_of_suites_failed() > 0)
		failures++;
	CU_cleanup_registry();
	return failures == 0 ? 0 : 1;
}

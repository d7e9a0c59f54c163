/*
 * ca/keys.h - the CA's private key. ca/keys.c is the only file of mica that
 * touches private key material; everything else asks it to sign.
 *
 * At rest the key (PKCS#8/SEC1 DER) is sealed with AES-256-GCM under a key
 * derived by PBKDF2-HMAC-SHA256 from a passphrase, with a random per-CA
 * 16-byte salt, a random 12-byte nonce and an iteration count recorded next
 * to it (at least CA_KDF_MIN_ITER). Decrypted material is zeroized on free.
 */
#ifndef MICA_CA_KEYS_H
#define MICA_CA_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CA_KDF_MIN_ITER     600000
#define CA_KDF_DEFAULT_ITER 600000
/*
 * Test builds only (./configure --enable-test-kdf, which scripts/test uses):
 * the environment variable MICA_TEST_INSECURE_KDF_ITER=N, with N between
 * CA_KDF_TEST_MIN_ITER and CA_KDF_MIN_ITER, makes ca_key_seal use N
 * iterations whatever the caller asks, and lets ca_key_unseal open keys
 * sealed with as few as CA_KDF_TEST_MIN_ITER; an empty value counts as
 * unset, any other value makes both fail. Without the variable, and always in a build without the switch, a
 * key is never sealed or opened below CA_KDF_MIN_ITER. It exists so that
 * the end-to-end tests, which run hundreds of CLI commands that each unseal
 * the key, do not spend most of their time in PBKDF2.
 */
#define CA_KDF_TEST_MIN_ITER 1000
#define CA_KDF_TEST_ENV     "MICA_TEST_INSECURE_KDF_ITER"
#define CA_SIG_MAX          1024   /* room for any signature we make */

enum ca_key_type {
	CA_KEY_EC_P256 = 1, CA_KEY_EC_P384, CA_KEY_RSA_2048, CA_KEY_RSA_3072,
	CA_KEY_RSA_4096,
};

/* "ec-p256" ... -> type; -1 if unknown. */
int ca_key_type_parse(const char *s, enum ca_key_type *out);
const char *ca_key_type_name(enum ca_key_type t);

struct ca_key;   /* a usable private key; signing is thread-safe */

/* Generate a fresh key. */
int ca_key_generate(enum ca_key_type type, struct ca_key **out,
		    struct mica_err *err);
/* Generate a key and return it as unencrypted PKCS#8 DER (for the daemon's
 * own TLS key, which libmicrohttpd needs as PEM): *pem heap NUL-terminated
 * PEM ("PRIVATE KEY"), caller zeroizes and frees with ca_key_pem_free. Also
 * returns the SubjectPublicKeyInfo DER. */
int ca_key_generate_pem(enum ca_key_type type, char **pem,
			unsigned char **spki, size_t *spki_len,
			struct mica_err *err);
void ca_key_pem_free(char *pem);
void ca_key_free(struct ca_key *k);
enum ca_key_type ca_key_get_type(const struct ca_key *k);

struct ca_sealed_key {
	unsigned char salt[16];
	int64_t iter;
	unsigned char nonce[12];
	unsigned char *ct;     /* ciphertext || 16-byte tag, heap */
	size_t ct_len;
};
void ca_sealed_key_free(struct ca_sealed_key *s);

/* Seal K under PASS (PASS_LEN bytes) with ITER iterations (>= CA_KDF_MIN_ITER;
 * in a test build MICA_TEST_INSECURE_KDF_ITER replaces ITER, see above). */
int ca_key_seal(const struct ca_key *k, const char *pass, size_t pass_len,
		int64_t iter, struct ca_sealed_key *out, struct mica_err *err);
/* Unseal; wrong passphrase or tampered data -> MICA_E_UNAUTH code
 * "wrong_passphrase". ITER below CA_KDF_MIN_ITER (CA_KDF_TEST_MIN_ITER in a
 * test build with MICA_TEST_INSECURE_KDF_ITER set) or above 100M -> BADREQ. */
int ca_key_unseal(const struct ca_sealed_key *s, const char *pass,
		  size_t pass_len, struct ca_key **out, struct mica_err *err);

/* SubjectPublicKeyInfo DER of K; *spki heap, caller frees. */
int ca_key_spki(const struct ca_key *k, unsigned char **spki, size_t *len,
		struct mica_err *err);

/* AlgorithmIdentifier DER of the signatures K makes (ecdsa-with-SHA256 for
 * P-256, ecdsa-with-SHA384 for P-384, sha256WithRSAEncryption with NULL
 * parameters for RSA). Points to static storage. */
const unsigned char *ca_key_sig_alg(const struct ca_key *k, size_t *len);
/* The same for a key of type T (NULL, *len 0, for an unknown type): what a
 * process that holds no key (the daemon's front end) writes into a TBS. */
const unsigned char *ca_key_type_sig_alg(enum ca_key_type t, size_t *len);

/* Hash DATA with the key's digest and sign it; SIG must have CA_SIG_MAX
 * bytes. Thread-safe (a small pool of contexts, no global lock held while
 * another thread signs). Fault point "sign". */
int ca_key_sign(struct ca_key *k, const unsigned char *data, size_t len,
		unsigned char *sig, size_t *sig_len, struct mica_err *err);

/* RSA keys only (SCEP's RA key): the modulus in octets, 0 for EC. */
size_t ca_key_rsa_len(const struct ca_key *k);

/*
 * RSAES-PKCS1-v1_5 decryption (RFC 8017 7.2.2) of IN (exactly
 * ca_key_rsa_len octets) with K: SCEP's key transport (RFC 8894 3.5.2).
 * To give a chosen-ciphertext attacker no padding oracle, a ciphertext
 * that does not decrypt to exactly WANT octets yields WANT octets derived
 * from the key and IN instead (implicit rejection): the caller's content
 * decryption then fails as with any wrong key. OUT gets WANT (1..64)
 * octets. -1 only for bad arguments or an EC key.
 */
int ca_key_decrypt(struct ca_key *k, const unsigned char *in, size_t in_len,
		   unsigned char *out, size_t want, struct mica_err *err);

/* A MAC only the key's holder can make: HMAC-SHA256 of DATA under a key
 * derived from K's private key and LABEL (domain separation), into OUT[32].
 * The signer uses it to tell a policy the CA key approved (the allowed
 * domains, sealed by the command line that holds the key) from one a
 * compromised front end wrote into the store. */
int ca_key_mac(const struct ca_key *k, const char *label,
	       const unsigned char *data, size_t len, unsigned char out[32],
	       struct mica_err *err);

/* Fill BUF with LEN random bytes from the kernel CSPRNG (getrandom). */
int ca_random(void *buf, size_t len, struct mica_err *err);

/* Constant-time equality of two LEN-byte buffers: 1 equal, 0 not. */
int ca_ct_equal(const void *a, const void *b, size_t len);

/* SHA-256 of DATA into OUT[32]. */
void ca_sha256(const void *data, size_t len, unsigned char out[32]);

#endif

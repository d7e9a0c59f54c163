/*
 * ca/keys.c - the CA's private key: generation, sealing at rest, signing.
 *
 * This is the only file of mica that sees private key material. Everything
 * else holds an opaque struct ca_key and asks it to sign, so moving signing
 * into a separate process later changes this file only.
 *
 * Randomness comes straight from the kernel (getrandom(2)) through
 * mica_rng(), which has mbedTLS's f_rng signature and keeps no state: no
 * global DRBG, hence nothing to lock and nothing to reseed after fork().
 *
 * PSA: mbedTLS 3.6 routes some operations (hashes when a legacy module is
 * absent, key parsing helpers) through PSA crypto, which must be initialised
 * once per process. Every entry point that creates or unpacks key material
 * (ca_key_generate, ca_key_generate_pem, ca_key_seal, ca_key_unseal) calls
 * crypto_ready(), which runs psa_crypto_init() exactly once (pthread_once).
 * Signing needs no call: a struct ca_key can only exist after one of them.
 */
#include "ca/keys.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/base64.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/gcm.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <psa/crypto.h>

#include "util/fault.h"
#include "util/log.h"

/* Parsed copies of the key; signers beyond this many wait for a free one. */
#define CA_KEY_SLOTS 8

/* Largest private key DER we write or accept: RSA-4096 in PKCS#1 is about
 * 2.4 KB, the PKCS#8 wrapping adds 26 bytes. */
#define KEY_DER_MAX  6144
/* Largest SubjectPublicKeyInfo (RSA-4096: 550 bytes). */
#define SPKI_DER_MAX 2048

/* A passphrase longer than this is refused at seal and unseal alike, so
 * hostile input cannot make us hash megabytes; nobody types 4 KB. */
#define PASS_MAX     4096
#define KDF_MAX_ITER INT64_C(100000000)

#define SEAL_SALT_LEN  16
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN   16
#define SEAL_KEY_LEN   32

/*
 * Additional authenticated data of the AES-256-GCM seal, version 1:
 *
 *     "mica-ca-key-v1" (14 bytes, no NUL) || iter (8 bytes, big-endian)
 *
 * The iteration count is stored beside the ciphertext, in the clear, so it
 * is bound here: lowering it in the store (to make a brute-force cheaper, or
 * just by mistake) breaks the tag instead of silently weakening the seal.
 * The salt needs no binding (any change changes the derived key), nor does
 * the key type: struct ca_sealed_key does not record one, the type is
 * implied by the sealed DER itself (algorithm, curve, modulus size), which
 * is ciphertext and therefore authenticated. The label versions the format
 * and keeps this key from opening anything sealed for another purpose.
 */
#define SEAL_AAD_LABEL     "mica-ca-key-v1"
#define SEAL_AAD_LABEL_LEN (sizeof(SEAL_AAD_LABEL) - 1)
#define SEAL_AAD_LEN       (SEAL_AAD_LABEL_LEN + 8)

struct ca_key_slot {
	pthread_mutex_t mu;
	mbedtls_pk_context pk;
};

struct ca_key {
	enum ca_key_type type;
	atomic_uint next;                 /* round-robin start for signers */
	int nslots;                       /* slots initialised (for free) */
	struct ca_key_slot slots[CA_KEY_SLOTS];
	unsigned char *spki;              /* public, cached at creation */
	size_t spki_len;
};

/* ------------------------------------------------------------------ */
/* Randomness, PSA initialisation                                      */
/* ------------------------------------------------------------------ */

int
ca_random(void *buf, size_t len, struct mica_err *err)
{
	unsigned char *p = buf;
	size_t done = 0;

	if (len == 0)
		return 0;
	if (buf == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "random_failed",
				    "no randomness available");
	while (done < len) {
		/* Flags 0: the urandom pool, but block until it was seeded
		 * once at boot; reads over 256 bytes may come back short. */
		ssize_t n = getrandom(p + done, len - done, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			mica_log(MICA_LOG_ERR, "keys: getrandom failed (errno %d)",
				 errno);
			return mica_err_set(err, MICA_E_INTERNAL, "random_failed",
					    "no randomness available");
		}
		done += (size_t)n;
	}
	return 0;
}

/* mbedTLS f_rng: stateless, so safe from any thread without a lock. */
static int
mica_rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	return ca_random(buf, len, NULL) == 0 ? 0 :
	       MBEDTLS_ERR_ERROR_GENERIC_ERROR;
}

static pthread_once_t psa_once = PTHREAD_ONCE_INIT;
static psa_status_t psa_status = PSA_ERROR_BAD_STATE;

static void
psa_init_once(void)
{
	psa_status = psa_crypto_init();
}

static int
crypto_ready(struct mica_err *err)
{
	if (pthread_once(&psa_once, psa_init_once) != 0 ||
	    psa_status != PSA_SUCCESS) {
		mica_log(MICA_LOG_ERR, "keys: psa_crypto_init failed (%d)",
			 (int)psa_status);
		return mica_err_set(err, MICA_E_INTERNAL, "crypto_init_failed",
				    "the crypto library could not start");
	}
	return 0;
}

int
ca_ct_equal(const void *a, const void *b, size_t len)
{
	if (len == 0)
		return 1;
	return mbedtls_ct_memcmp(a, b, len) == 0;
}

void
ca_sha256(const void *data, size_t len, unsigned char out[32])
{
	/* The software SHA-256 cannot fail. If a hardware backend ever did,
	 * returning garbage would make unequal secrets compare equal (both
	 * sides hashed to the same junk), so stop instead. */
	if (mbedtls_sha256(data, len, out, 0) != 0)
		abort();
}

/* ------------------------------------------------------------------ */
/* Key types                                                           */
/* ------------------------------------------------------------------ */

static const struct {
	enum ca_key_type type;
	const char *name;
} key_types[] = {
	{ CA_KEY_EC_P256,  "ec-p256"  },
	{ CA_KEY_EC_P384,  "ec-p384"  },
	{ CA_KEY_RSA_2048, "rsa-2048" },
	{ CA_KEY_RSA_3072, "rsa-3072" },
	{ CA_KEY_RSA_4096, "rsa-4096" },
};

int
ca_key_type_parse(const char *s, enum ca_key_type *out)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (strcmp(s, key_types[i].name) == 0) {
			if (out != NULL)
				*out = key_types[i].type;
			return 0;
		}
	return -1;
}

const char *
ca_key_type_name(enum ca_key_type t)
{
	size_t i;

	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (key_types[i].type == t)
			return key_types[i].name;
	return "unknown";
}

static int
type_is_ec(enum ca_key_type t)
{
	return t == CA_KEY_EC_P256 || t == CA_KEY_EC_P384;
}

static unsigned int
type_rsa_bits(enum ca_key_type t)
{
	switch (t) {
	case CA_KEY_RSA_2048: return 2048;
	case CA_KEY_RSA_3072: return 3072;
	case CA_KEY_RSA_4096: return 4096;
	default:              return 0;
	}
}

/* Digest of the signatures: SHA-384 goes with P-384 (RFC 5480 4, matching
 * the hash to the curve strength), SHA-256 with the rest. */
static mbedtls_md_type_t
type_md(enum ca_key_type t)
{
	return t == CA_KEY_EC_P384 ? MBEDTLS_MD_SHA384 : MBEDTLS_MD_SHA256;
}

/* Which of our types a parsed key is; -1 for anything else (P-521, RSA-1024,
 * Ed25519...), which we neither generate nor accept. */
static int
type_of_pk(const mbedtls_pk_context *pk, enum ca_key_type *t)
{
	switch (mbedtls_pk_get_type(pk)) {
	case MBEDTLS_PK_ECKEY:
		switch (mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*pk))) {
		case MBEDTLS_ECP_DP_SECP256R1: *t = CA_KEY_EC_P256; return 0;
		case MBEDTLS_ECP_DP_SECP384R1: *t = CA_KEY_EC_P384; return 0;
		default:                       return -1;
		}
	case MBEDTLS_PK_RSA:
		switch (mbedtls_pk_get_bitlen(pk)) {
		case 2048: *t = CA_KEY_RSA_2048; return 0;
		case 3072: *t = CA_KEY_RSA_3072; return 0;
		case 4096: *t = CA_KEY_RSA_4096; return 0;
		default:   return -1;
		}
	default:
		return -1;
	}
}

/* ------------------------------------------------------------------ */
/* Building a struct ca_key                                            */
/* ------------------------------------------------------------------ */

/* Fill an initialised PK context with a fresh key of type T. */
static int
gen_pk(enum ca_key_type t, mbedtls_pk_context *pk, struct mica_err *err)
{
	int ret;

	if (type_is_ec(t)) {
		mbedtls_ecp_group_id gid = t == CA_KEY_EC_P256 ?
			MBEDTLS_ECP_DP_SECP256R1 : MBEDTLS_ECP_DP_SECP384R1;

		ret = mbedtls_pk_setup(pk,
			mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
		if (ret == 0)
			ret = mbedtls_ecp_gen_key(gid, mbedtls_pk_ec(*pk),
						  mica_rng, NULL);
	} else if (type_rsa_bits(t) != 0) {
		ret = mbedtls_pk_setup(pk,
			mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
		/* e = 65537: RFC 8017 leaves it free, CA/B BR 6.1.6 and
		 * every verifier expect F4. */
		if (ret == 0)
			ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), mica_rng,
						  NULL, type_rsa_bits(t), 65537);
	} else {
		return mica_err_set(err, MICA_E_BADREQ, "bad_key_type",
				    "unknown key type");
	}
	if (ret != 0) {
		mica_log(MICA_LOG_ERR, "keys: key generation failed (-0x%04x)",
			 (unsigned int)-ret);
		return mica_err_set(err, MICA_E_INTERNAL, "keygen_failed",
				    "key generation failed");
	}
	return 0;
}

/* Private key DER of PK at the END of BUF (mbedtls_pk_write_key_der's
 * convention): SEC1 ECPrivateKey (RFC 5915) or PKCS#1 RSAPrivateKey
 * (RFC 8017 A.1.2). *DER points into BUF; the caller zeroizes BUF. */
static int
write_key_der(const mbedtls_pk_context *pk, unsigned char *buf, size_t size,
	      unsigned char **der, size_t *der_len, struct mica_err *err)
{
	int ret = mbedtls_pk_write_key_der(pk, buf, size);

	if (ret <= 0) {
		mica_log(MICA_LOG_ERR, "keys: writing the key failed (-0x%04x)",
			 (unsigned int)-ret);
		return mica_err_set(err, MICA_E_INTERNAL, "key_write_failed",
				    "the key could not be serialised");
	}
	*der_len = (size_t)ret;
	*der = buf + size - *der_len;
	return 0;
}

void
ca_key_free(struct ca_key *k)
{
	int i;

	if (k == NULL)
		return;
	for (i = 0; i < k->nslots; i++) {
		mbedtls_pk_free(&k->slots[i].pk);   /* zeroizes the key */
		pthread_mutex_destroy(&k->slots[i].mu);
	}
	free(k->spki);
	mbedtls_platform_zeroize(k, sizeof(*k));
	free(k);
}

/*
 * Build a struct ca_key from private key DER (any form mbedtls_pk_parse_key
 * reads). Every slot gets its own parse, so signers share no mutable state;
 * the DER itself is not kept. EXPECT, if non-zero, is the type the key must
 * have. Parse failures and foreign key types are reported with BADKIND and
 * code "bad_key" (the caller knows whether that is the user's fault).
 */
static int
key_from_der(const unsigned char *der, size_t der_len, enum ca_key_type expect,
	     mica_errkind badkind, struct ca_key **out, struct mica_err *err)
{
	struct ca_key *k = NULL;
	mbedtls_pk_context pub;
	unsigned char spki[SPKI_DER_MAX];
	enum ca_key_type t;
	int i, ret, rc = -1;

	mbedtls_pk_init(&pub);
	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
		goto out;
	}
	atomic_init(&k->next, 0);
	for (i = 0; i < CA_KEY_SLOTS; i++) {
		if (pthread_mutex_init(&k->slots[i].mu, NULL) != 0) {
			mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				     "out of resources");
			goto out;
		}
		mbedtls_pk_init(&k->slots[i].pk);
		k->nslots = i + 1;
		ret = mbedtls_pk_parse_key(&k->slots[i].pk, der, der_len,
					   NULL, 0, mica_rng, NULL);
		if (ret != 0) {
			mica_log(MICA_LOG_ERR, "keys: parsing the key failed "
				 "(-0x%04x)", (unsigned int)-ret);
			mica_err_set(err, badkind, "bad_key",
				     "the key could not be read");
			goto out;
		}
		if (mbedtls_pk_get_type(&k->slots[i].pk) == MBEDTLS_PK_RSA &&
		    mbedtls_rsa_set_padding(mbedtls_pk_rsa(k->slots[i].pk),
					    MBEDTLS_RSA_PKCS_V15,
					    MBEDTLS_MD_NONE) != 0) {
			mica_err_set(err, MICA_E_INTERNAL, "bad_key",
				     "the key could not be set up");
			goto out;
		}
	}

	if (type_of_pk(&k->slots[0].pk, &t) != 0) {
		mica_err_set(err, badkind, "bad_key",
			     "unsupported key type (want %s, %s, %s, %s or %s)",
			     key_types[0].name, key_types[1].name,
			     key_types[2].name, key_types[3].name,
			     key_types[4].name);
		goto out;
	}
	if (expect != 0 && t != expect) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_key",
			     "the key has an unexpected type");
		goto out;
	}
	k->type = t;

	ret = mbedtls_pk_write_pubkey_der(&k->slots[0].pk, spki, sizeof(spki));
	if (ret <= 0) {
		mica_err_set(err, MICA_E_INTERNAL, "key_write_failed",
			     "the public key could not be serialised");
		goto out;
	}
	if ((k->spki = malloc((size_t)ret)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
		goto out;
	}
	memcpy(k->spki, spki + sizeof(spki) - (size_t)ret, (size_t)ret);
	k->spki_len = (size_t)ret;

	/* The SEC1 form carries the public point beside the scalar and the
	 * parser trusts it. Check once that the public key we are about to
	 * publish in every certificate matches the private key we sign with:
	 * a mismatch would issue certificates nobody can verify. */
	if (mbedtls_pk_parse_public_key(&pub, k->spki, k->spki_len) != 0 ||
	    mbedtls_pk_check_pair(&pub, &k->slots[0].pk, mica_rng, NULL) != 0) {
		mica_err_set(err, badkind, "bad_key",
			     "the public and private halves of the key differ");
		goto out;
	}

	*out = k;
	k = NULL;
	rc = 0;
out:
	mbedtls_pk_free(&pub);
	ca_key_free(k);
	return rc;
}

int
ca_key_generate(enum ca_key_type type, struct ca_key **out,
		struct mica_err *err)
{
	mbedtls_pk_context pk;
	unsigned char buf[KEY_DER_MAX];
	unsigned char *der = NULL;
	size_t der_len = 0;
	int rc = -1;

	mbedtls_pk_init(&pk);
	if (out == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
			     "no place for the key");
		goto out;
	}
	*out = NULL;
	if (crypto_ready(err) != 0 || gen_pk(type, &pk, err) != 0)
		goto out;
	if (write_key_der(&pk, buf, sizeof(buf), &der, &der_len, err) != 0)
		goto out;
	if (key_from_der(der, der_len, type, MICA_E_INTERNAL, out, err) != 0)
		goto out;
	rc = 0;
out:
	mbedtls_platform_zeroize(buf, sizeof(buf));
	mbedtls_pk_free(&pk);
	return rc;
}

enum ca_key_type
ca_key_get_type(const struct ca_key *k)
{
	return k != NULL ? k->type : (enum ca_key_type)0;
}

int
ca_key_spki(const struct ca_key *k, unsigned char **spki, size_t *len,
	    struct mica_err *err)
{
	if (spki == NULL || len == NULL || k == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "no key");
	*spki = NULL;
	*len = 0;
	if ((*spki = malloc(k->spki_len)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	memcpy(*spki, k->spki, k->spki_len);
	*len = k->spki_len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The slot pool                                                       */
/* ------------------------------------------------------------------ */

/*
 * Lock a slot and return its index (or -1). Start at a different slot each
 * call and take the first free one, so up to CA_KEY_SLOTS threads sign at
 * once with no lock in common; when all are busy, queue on the start slot
 * (spreading the waiters over the pool too).
 */
static int
slot_acquire(struct ca_key *k)
{
	unsigned int start, i;

	start = atomic_fetch_add_explicit(&k->next, 1, memory_order_relaxed) %
		CA_KEY_SLOTS;
	for (i = 0; i < CA_KEY_SLOTS; i++) {
		unsigned int s = (start + i) % CA_KEY_SLOTS;

		if (pthread_mutex_trylock(&k->slots[s].mu) == 0)
			return (int)s;
	}
	if (pthread_mutex_lock(&k->slots[start].mu) != 0)
		return -1;
	return (int)start;
}

static void
slot_release(struct ca_key *k, int s)
{
	pthread_mutex_unlock(&k->slots[s].mu);
}

/* ------------------------------------------------------------------ */
/* Signing                                                             */
/* ------------------------------------------------------------------ */

/* DER AlgorithmIdentifiers (RFC 5280 4.1.1.2). ECDSA: RFC 5758 3.2, the
 * parameters MUST be absent. RSA: RFC 4055 5, the parameters MUST be NULL. */
static const unsigned char alg_ecdsa_sha256[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
};
static const unsigned char alg_ecdsa_sha384[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
};
static const unsigned char alg_sha256_rsa[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
	0x0b, 0x05, 0x00,
};

const unsigned char *
ca_key_type_sig_alg(enum ca_key_type t, size_t *len)
{
	const unsigned char *alg = NULL;
	size_t n = 0;

	switch (t) {
	case CA_KEY_EC_P256:
		alg = alg_ecdsa_sha256;
		n = sizeof(alg_ecdsa_sha256);
		break;
	case CA_KEY_EC_P384:
		alg = alg_ecdsa_sha384;
		n = sizeof(alg_ecdsa_sha384);
		break;
	case CA_KEY_RSA_2048:
	case CA_KEY_RSA_3072:
	case CA_KEY_RSA_4096:
		alg = alg_sha256_rsa;
		n = sizeof(alg_sha256_rsa);
		break;
	}
	if (len != NULL)
		*len = n;
	return alg;
}

const unsigned char *
ca_key_sig_alg(const struct ca_key *k, size_t *len)
{
	if (k == NULL) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	return ca_key_type_sig_alg(k->type, len);
}

int
ca_key_sign(struct ca_key *k, const unsigned char *data, size_t len,
	    unsigned char *sig, size_t *sig_len, struct mica_err *err)
{
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	const mbedtls_md_info_t *md;
	mbedtls_md_type_t mdt;
	int slot = -1, ret, rc = -1;

	if (MICA_FAULT("sign"))
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "signing failed (fault injected)");
	if (k == NULL || sig == NULL || sig_len == NULL ||
	    (data == NULL && len != 0))
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "signing failed (bad arguments)");
	*sig_len = 0;
	mdt = type_md(k->type);
	if ((md = mbedtls_md_info_from_type(mdt)) == NULL ||
	    mbedtls_md(md, data, len, hash) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
			     "signing failed (digest)");
		goto out;
	}
	if ((slot = slot_acquire(k)) < 0) {
		mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
			     "signing failed (lock)");
		goto out;
	}
	/* ECDSA: deterministic k (RFC 6979) with mica_rng for blinding; the
	 * output is the DER Ecdsa-Sig-Value X.509 wants (RFC 3279 2.2.3).
	 * RSA: PKCS#1 v1.5 (RFC 8017 8.2), padding fixed at slot setup;
	 * mbedTLS checks the CRT result against the public key before
	 * returning it, so a glitch cannot leak a factor. */
	ret = mbedtls_pk_sign(&k->slots[slot].pk, mdt, hash,
			      mbedtls_md_get_size(md), sig, CA_SIG_MAX,
			      sig_len, mica_rng, NULL);
	slot_release(k, slot);
	if (ret != 0) {
		mica_log(MICA_LOG_ERR, "keys: signing failed (-0x%04x)",
			 (unsigned int)-ret);
		*sig_len = 0;
		mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
			     "signing failed");
		goto out;
	}
	rc = 0;
out:
	return rc;
}

size_t
ca_key_rsa_len(const struct ca_key *k)
{
	if (k == NULL || (k->type != CA_KEY_RSA_2048 &&
			  k->type != CA_KEY_RSA_3072 &&
			  k->type != CA_KEY_RSA_4096))
		return 0;
	return mbedtls_pk_get_len(&k->slots[0].pk);
}

int
ca_key_decrypt(struct ca_key *k, const unsigned char *in, size_t in_len,
	       unsigned char *out, size_t want, struct mica_err *err)
{
	unsigned char pt[512], fake[32];
	size_t n = 0, len = ca_key_rsa_len(k);
	int slot, ret;

	if (len == 0 || in == NULL || in_len != len || out == NULL ||
	    want == 0 || want > 64 || len > sizeof(pt))
		return mica_err_set(err, MICA_E_INTERNAL, "decrypt_failed",
				    "decryption failed (bad arguments)");
	if ((slot = slot_acquire(k)) < 0)
		return mica_err_set(err, MICA_E_INTERNAL, "decrypt_failed",
				    "decryption failed (lock)");
	ret = mbedtls_pk_decrypt(&k->slots[slot].pk, in, in_len, pt, &n,
				 sizeof(pt), mica_rng, NULL);
	slot_release(k, slot);
	/* Implicit rejection: the same work on either path, and an answer of
	 * the right length either way. */
	for (size_t off = 0; off < want; off += sizeof(fake)) {
		size_t m = want - off < sizeof(fake) ? want - off : sizeof(fake);
		unsigned char label[32];

		ca_sha256(&off, sizeof(off), label);
		if (ca_key_mac(k, "scep-implicit-rejection", in, in_len, fake,
			       err) != 0) {
			mbedtls_platform_zeroize(pt, sizeof(pt));
			return -1;
		}
		for (size_t i = 0; i < m; i++)
			out[off + i] = (unsigned char)(fake[i] ^ label[i]);
	}
	if (ret == 0 && n == want)
		memcpy(out, pt, want);
	mbedtls_platform_zeroize(pt, sizeof(pt));
	mbedtls_platform_zeroize(fake, sizeof(fake));
	return 0;
}

int
ca_key_mac(const struct ca_key *k, const char *label,
	   const unsigned char *data, size_t len, unsigned char out[32],
	   struct mica_err *err)
{
	static const char tag[] = "mica key-derived MAC v1";
	struct ca_key *mk = (struct ca_key *)k;   /* see ca_key_seal */
	unsigned char buf[KEY_DER_MAX], mk_key[32];
	unsigned char *der = NULL;
	size_t der_len = 0;
	mbedtls_md_context_t md;
	const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	int slot, ret, rc = -1;

	mbedtls_md_init(&md);
	if (k == NULL || label == NULL || out == NULL || sha == NULL ||
	    (data == NULL && len != 0)) {
		mica_err_set(err, MICA_E_INTERNAL, "mac_failed",
			     "MAC failed (bad arguments)");
		goto out;
	}
	if ((slot = slot_acquire(mk)) < 0) {
		mica_err_set(err, MICA_E_INTERNAL, "mac_failed",
			     "MAC failed (lock)");
		goto out;
	}
	ret = write_key_der(&mk->slots[slot].pk, buf, sizeof(buf), &der,
			    &der_len, err);
	slot_release(mk, slot);
	if (ret != 0)
		goto out;
	/* MAC key = SHA-256(tag NUL label NUL private-key-DER): a one-way
	 * function of the key, different for every label. */
	if (mbedtls_md_setup(&md, sha, 0) != 0 ||
	    mbedtls_md_starts(&md) != 0 ||
	    mbedtls_md_update(&md, (const unsigned char *)tag,
			      sizeof(tag)) != 0 ||
	    mbedtls_md_update(&md, (const unsigned char *)label,
			      strlen(label) + 1) != 0 ||
	    mbedtls_md_update(&md, der, der_len) != 0 ||
	    mbedtls_md_finish(&md, mk_key) != 0 ||
	    mbedtls_md_hmac(sha, mk_key, sizeof(mk_key), data, len,
			    out) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "mac_failed", "MAC failed");
		goto out;
	}
	rc = 0;
out:
	mbedtls_md_free(&md);
	mbedtls_platform_zeroize(buf, sizeof(buf));
	mbedtls_platform_zeroize(mk_key, sizeof(mk_key));
	return rc;
}

/* ------------------------------------------------------------------ */
/* Sealing                                                             */
/* ------------------------------------------------------------------ */

void
ca_sealed_key_free(struct ca_sealed_key *s)
{
	if (s == NULL)
		return;
	free(s->ct);   /* ciphertext: not secret, but tidy */
	memset(s, 0, sizeof(*s));
}

static int
check_pass(const char *pass, size_t pass_len, struct mica_err *err)
{
	if (pass == NULL || pass_len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "empty_passphrase",
				    "the passphrase must not be empty");
	if (pass_len > PASS_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "passphrase_too_long",
				    "the passphrase is longer than %d bytes",
				    PASS_MAX);
	return 0;
}

/*
 * The iteration count MICA_TEST_INSECURE_KDF_ITER asks for (keys.h): 0 when
 * it is unset or empty or this is not a --enable-test-kdf build, -1 (ERR
 * set) when it holds anything but a count in CA_KDF_TEST_MIN_ITER..
 * CA_KDF_MIN_ITER, so that a mistyped value fails loudly instead of
 * silently meaning 600,000.
 */
static int64_t
test_kdf_iter(struct mica_err *err)
{
#ifdef MICA_TEST_KDF
	const char *s = getenv(CA_KDF_TEST_ENV);
	char *end;
	long long v;

	if (s == NULL || s[0] == '\0')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '\0' ||
	    v < CA_KDF_TEST_MIN_ITER || v > CA_KDF_MIN_ITER) {
		mica_err_set(err, MICA_E_BADREQ, "bad_kdf_iterations",
			     CA_KDF_TEST_ENV " must be a count between %d "
			     "and %d", CA_KDF_TEST_MIN_ITER, CA_KDF_MIN_ITER);
		return -1;
	}
	return (int64_t)v;
#else
	(void)err;
	return 0;
#endif
}

/* ITER is acceptable for a seal: CA_KDF_MIN_ITER..KDF_MAX_ITER, or from
 * CA_KDF_TEST_MIN_ITER in a test build told so (TEST is test_kdf_iter()). */
static int
check_iter(int64_t iter, int64_t test, struct mica_err *err)
{
	int64_t min = test > 0 ? CA_KDF_TEST_MIN_ITER : CA_KDF_MIN_ITER;

	if (iter < min || iter > KDF_MAX_ITER)
		return mica_err_set(err, MICA_E_BADREQ, "bad_kdf_iterations",
				    "the key derivation iteration count must be "
				    "between %lld and %lld", (long long)min,
				    (long long)KDF_MAX_ITER);
	return 0;
}

static void
seal_aad(unsigned char aad[SEAL_AAD_LEN], int64_t iter)
{
	uint64_t v = (uint64_t)iter;
	int i;

	memcpy(aad, SEAL_AAD_LABEL, SEAL_AAD_LABEL_LEN);
	for (i = 0; i < 8; i++)
		aad[SEAL_AAD_LABEL_LEN + (size_t)i] =
			(unsigned char)(v >> (56 - 8 * i));
}

/* The AES key: PBKDF2-HMAC-SHA256 (RFC 8018 5.2) of the passphrase. */
static int
derive_key(const char *pass, size_t pass_len, const unsigned char *salt,
	   int64_t iter, unsigned char dk[SEAL_KEY_LEN], struct mica_err *err)
{
	int ret = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256,
		(const unsigned char *)pass, pass_len, salt, SEAL_SALT_LEN,
		(unsigned int)iter, SEAL_KEY_LEN, dk);

	if (ret != 0) {
		mica_log(MICA_LOG_ERR, "keys: PBKDF2 failed (-0x%04x)",
			 (unsigned int)-ret);
		return mica_err_set(err, MICA_E_INTERNAL, "kdf_failed",
				    "key derivation failed");
	}
	return 0;
}

int
ca_key_seal(const struct ca_key *k, const char *pass, size_t pass_len,
	    int64_t iter, struct ca_sealed_key *out, struct mica_err *err)
{
	/* The pool's mutexes are not part of the key's value: locking one to
	 * read the key leaves the key as const as the caller expects. */
	struct ca_key *mk = (struct ca_key *)k;
	unsigned char buf[KEY_DER_MAX], dk[SEAL_KEY_LEN], aad[SEAL_AAD_LEN];
	unsigned char *der = NULL, *ct = NULL;
	size_t der_len = 0;
	mbedtls_gcm_context gcm;
	int64_t test;
	int slot, ret, rc = -1;

	mbedtls_gcm_init(&gcm);
	if (out == NULL || k == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
			     "nothing to seal");
		goto out;
	}
	memset(out, 0, sizeof(*out));
	if ((test = test_kdf_iter(err)) < 0)
		goto out;
	if (test > 0)
		iter = test;
	if (check_pass(pass, pass_len, err) != 0 ||
	    check_iter(iter, test, err) != 0 || crypto_ready(err) != 0)
		goto out;

	if ((slot = slot_acquire(mk)) < 0) {
		mica_err_set(err, MICA_E_INTERNAL, "seal_failed",
			     "sealing failed (lock)");
		goto out;
	}
	ret = write_key_der(&mk->slots[slot].pk, buf, sizeof(buf), &der,
			    &der_len, err);
	slot_release(mk, slot);
	if (ret != 0)
		goto out;

	if (ca_random(out->salt, sizeof(out->salt), err) != 0 ||
	    ca_random(out->nonce, sizeof(out->nonce), err) != 0)
		goto out;
	if (derive_key(pass, pass_len, out->salt, iter, dk, err) != 0)
		goto out;
	if ((ct = malloc(der_len + SEAL_TAG_LEN)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
		goto out;
	}
	seal_aad(aad, iter);
	if ((ret = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, dk,
				      SEAL_KEY_LEN * 8)) != 0 ||
	    (ret = mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT,
					     der_len, out->nonce,
					     SEAL_NONCE_LEN, aad, sizeof(aad),
					     der, ct, SEAL_TAG_LEN,
					     ct + der_len)) != 0) {
		mica_log(MICA_LOG_ERR, "keys: AES-GCM seal failed (-0x%04x)",
			 (unsigned int)-ret);
		mica_err_set(err, MICA_E_INTERNAL, "seal_failed",
			     "sealing the key failed");
		goto out;
	}
	out->iter = iter;
	out->ct = ct;
	out->ct_len = der_len + SEAL_TAG_LEN;
	ct = NULL;
	rc = 0;
out:
	if (rc != 0 && out != NULL)
		memset(out, 0, sizeof(*out));
	free(ct);   /* only on failure; may hold partial output */
	mbedtls_gcm_free(&gcm);
	mbedtls_platform_zeroize(buf, sizeof(buf));
	mbedtls_platform_zeroize(dk, sizeof(dk));
	return rc;
}

int
ca_key_unseal(const struct ca_sealed_key *s, const char *pass,
	      size_t pass_len, struct ca_key **out, struct mica_err *err)
{
	unsigned char pt[KEY_DER_MAX], dk[SEAL_KEY_LEN], aad[SEAL_AAD_LEN];
	size_t pt_len;
	mbedtls_gcm_context gcm;
	int64_t test;
	int ret, rc = -1;

	mbedtls_gcm_init(&gcm);
	if (out == NULL || s == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
			     "nothing to unseal");
		goto out;
	}
	*out = NULL;
	/* Cheap checks first: each refusal here saves a PBKDF2 run. */
	if ((test = test_kdf_iter(err)) < 0 ||
	    check_pass(pass, pass_len, err) != 0 ||
	    check_iter(s->iter, test, err) != 0)
		goto out;
	if (s->ct == NULL || s->ct_len <= SEAL_TAG_LEN ||
	    s->ct_len - SEAL_TAG_LEN > sizeof(pt)) {
		mica_err_set(err, MICA_E_BADREQ, "sealed_key_invalid",
			     "the sealed key is malformed");
		goto out;
	}
	if (crypto_ready(err) != 0)
		goto out;
	pt_len = s->ct_len - SEAL_TAG_LEN;

	if (derive_key(pass, pass_len, s->salt, s->iter, dk, err) != 0)
		goto out;
	seal_aad(aad, s->iter);
	if ((ret = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, dk,
				      SEAL_KEY_LEN * 8)) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "unseal_failed",
			     "unsealing the key failed");
		goto out;
	}
	/* Verifies the tag before releasing any plaintext (and wipes the
	 * output on failure). A wrong passphrase and a damaged blob look the
	 * same by design: GCM cannot tell them apart, neither do we. */
	ret = mbedtls_gcm_auth_decrypt(&gcm, pt_len, s->nonce, SEAL_NONCE_LEN,
				       aad, sizeof(aad), s->ct + pt_len,
				       SEAL_TAG_LEN, s->ct, pt);
	if (ret == MBEDTLS_ERR_GCM_AUTH_FAILED) {
		mica_err_set(err, MICA_E_UNAUTH, "wrong_passphrase",
			     "wrong passphrase (or the sealed key is damaged)");
		goto out;
	}
	if (ret != 0) {
		mica_log(MICA_LOG_ERR, "keys: AES-GCM open failed (-0x%04x)",
			 (unsigned int)-ret);
		mica_err_set(err, MICA_E_INTERNAL, "unseal_failed",
			     "unsealing the key failed");
		goto out;
	}
	if (key_from_der(pt, pt_len, 0, MICA_E_BADREQ, out, err) != 0)
		goto out;
	rc = 0;
out:
	mbedtls_gcm_free(&gcm);
	mbedtls_platform_zeroize(pt, sizeof(pt));
	mbedtls_platform_zeroize(dk, sizeof(dk));
	return rc;
}

/* ------------------------------------------------------------------ */
/* A key for the daemon's TLS                                          */
/* ------------------------------------------------------------------ */

/* privateKeyAlgorithm of PKCS#8 (RFC 5208 5): rsaEncryption with NULL
 * parameters (RFC 8017 A.1), id-ecPublicKey with the namedCurve
 * (RFC 5480 2.1.1). */
static const unsigned char p8_alg_rsa[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
	0x01, 0x05, 0x00,
};
static const unsigned char p8_alg_p256[] = {
	0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
	0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
};
static const unsigned char p8_alg_p384[] = {
	0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
	0x05, 0x2b, 0x81, 0x04, 0x00, 0x22,
};

/*
 * Wrap the SEC1/PKCS#1 DER that ends at BUF + SIZE (starting at *DER) into
 * a PKCS#8 PrivateKeyInfo (RFC 5208 5), written backwards in front of it:
 *
 *   SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING { key } }
 */
static int
wrap_pkcs8(enum ca_key_type t, unsigned char *buf, unsigned char **der,
	   size_t *der_len)
{
	const unsigned char *alg;
	size_t alg_len, n = *der_len;
	unsigned char *p = *der;
	int ret;

	if (t == CA_KEY_EC_P256) {
		alg = p8_alg_p256;
		alg_len = sizeof(p8_alg_p256);
	} else if (t == CA_KEY_EC_P384) {
		alg = p8_alg_p384;
		alg_len = sizeof(p8_alg_p384);
	} else {
		alg = p8_alg_rsa;
		alg_len = sizeof(p8_alg_rsa);
	}
#define ADD(call) \
	do { if ((ret = (call)) < 0) return -1; n += (size_t)ret; } while (0)
	ADD(mbedtls_asn1_write_len(&p, buf, n));
	ADD(mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_OCTET_STRING));
	ADD(mbedtls_asn1_write_raw_buffer(&p, buf, alg, alg_len));
	ADD(mbedtls_asn1_write_int(&p, buf, 0));
	ADD(mbedtls_asn1_write_len(&p, buf, n));
	ADD(mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED |
				   MBEDTLS_ASN1_SEQUENCE));
#undef ADD
	*der = p;
	*der_len = n;
	return 0;
}

/*
 * PEM (RFC 7468 10, label "PRIVATE KEY") of DER into a new heap string.
 * Done here rather than with mbedtls_pem_write_buffer so that every
 * intermediate copy of the key (the base64 text) is ours to zeroize.
 */
static int
pem_private_key(const unsigned char *der, size_t der_len, char **pem,
		struct mica_err *err)
{
	static const char head[] = "-----BEGIN PRIVATE KEY-----\n";
	static const char foot[] = "-----END PRIVATE KEY-----\n";
	unsigned char *b64 = NULL;
	size_t b64_size = 0, b64_len = 0, size, i, off;
	char *s = NULL;
	int rc = -1;

	*pem = NULL;
	(void)mbedtls_base64_encode(NULL, 0, &b64_size, der, der_len);
	if (b64_size == 0 || b64_size > 4 * KEY_DER_MAX ||
	    (b64 = malloc(b64_size)) == NULL ||
	    mbedtls_base64_encode(b64, b64_size, &b64_len, der, der_len) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "key_write_failed",
			     "the key could not be encoded");
		goto out;
	}
	/* header, base64 in lines of 64 (RFC 7468 2), footer, NUL */
	size = sizeof(head) - 1 + b64_len + (b64_len + 63) / 64 +
	       sizeof(foot) - 1 + 1;
	if ((s = malloc(size)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
		goto out;
	}
	off = 0;
	memcpy(s, head, sizeof(head) - 1);
	off += sizeof(head) - 1;
	for (i = 0; i < b64_len; i += 64) {
		size_t n = b64_len - i < 64 ? b64_len - i : 64;

		memcpy(s + off, b64 + i, n);
		off += n;
		s[off++] = '\n';
	}
	memcpy(s + off, foot, sizeof(foot) - 1);
	off += sizeof(foot) - 1;
	s[off] = '\0';
	*pem = s;
	rc = 0;
out:
	if (b64 != NULL) {
		mbedtls_platform_zeroize(b64, b64_size);
		free(b64);
	}
	return rc;
}

int
ca_key_generate_pem(enum ca_key_type type, char **pem, unsigned char **spki,
		    size_t *spki_len, struct mica_err *err)
{
	mbedtls_pk_context pk;
	unsigned char buf[KEY_DER_MAX], pub[SPKI_DER_MAX];
	unsigned char *der = NULL, *sp = NULL;
	size_t der_len = 0, sp_len = 0;
	char *s = NULL;
	int ret, rc = -1;

	mbedtls_pk_init(&pk);
	if (pem == NULL || spki == NULL || spki_len == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
			     "no place for the key");
		goto out;
	}
	*pem = NULL;
	*spki = NULL;
	*spki_len = 0;
	if (crypto_ready(err) != 0 || gen_pk(type, &pk, err) != 0)
		goto out;

	ret = mbedtls_pk_write_pubkey_der(&pk, pub, sizeof(pub));
	if (ret <= 0 || (sp = malloc((size_t)ret)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "key_write_failed",
			     "the public key could not be serialised");
		goto out;
	}
	sp_len = (size_t)ret;
	memcpy(sp, pub + sizeof(pub) - sp_len, sp_len);

	if (write_key_der(&pk, buf, sizeof(buf), &der, &der_len, err) != 0)
		goto out;
	if (wrap_pkcs8(type, buf, &der, &der_len) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "key_write_failed",
			     "the key could not be serialised");
		goto out;
	}
	if (pem_private_key(der, der_len, &s, err) != 0)
		goto out;

	*pem = s;
	*spki = sp;
	*spki_len = sp_len;
	s = NULL;
	sp = NULL;
	rc = 0;
out:
	ca_key_pem_free(s);
	free(sp);
	mbedtls_platform_zeroize(buf, sizeof(buf));
	mbedtls_pk_free(&pk);
	return rc;
}

void
ca_key_pem_free(char *pem)
{
	if (pem == NULL)
		return;
	mbedtls_platform_zeroize(pem, strlen(pem));
	free(pem);
}

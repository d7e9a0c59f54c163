/*
 * ca/cacert.c - reading CA certificates, bundles and CRLs from outside
 * (see ca/cacert.h): another CA's root, the certificate it issued to this
 * CA, its chain as a PEM bundle or a PKCS#7 .p7b, and its CRL.
 */
#include "ca/cacert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#if defined(MBEDTLS_USE_PSA_CRYPTO)
#include <psa/crypto.h>
#endif

#include "ca/der.h"
#include "ca/p7.h"
#include "ca/profile.h"

#define CRL_DER_MAX (16u * 1024 * 1024)
#define EXTS_MAX    32

static int
bad_cert(struct mica_err *err, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_certificate",
			    "certificate: %s", why);
}

static int
bad_crl(struct mica_err *err, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_crl", "CRL: %s", why);
}

/* Extensions mica reads (2.5.29.x and id-pe-authorityInfoAccess). */
static const unsigned char OID_BC[] = { 0x55, 0x1d, 0x13 };
static const unsigned char OID_KU[] = { 0x55, 0x1d, 0x0f };
static const unsigned char OID_SKI[] = { 0x55, 0x1d, 0x0e };
static const unsigned char OID_AKI[] = { 0x55, 0x1d, 0x23 };
static const unsigned char OID_NC[] = { 0x55, 0x1d, 0x1e };
static const unsigned char OID_CRL_NUMBER[] = { 0x55, 0x1d, 0x14 };

/* Extensions other CAs write that change nothing mica decides: known,
 * so a critical one is not "unknown" (a relying party processes them). */
static const struct {
	unsigned char oid[8];
	size_t len;
} known_other[] = {
	{ { 0x55, 0x1d, 0x25 }, 3 },     /* extendedKeyUsage */
	{ { 0x55, 0x1d, 0x11 }, 3 },     /* subjectAltName */
	{ { 0x55, 0x1d, 0x12 }, 3 },     /* issuerAltName */
	{ { 0x55, 0x1d, 0x1f }, 3 },     /* cRLDistributionPoints */
	{ { 0x55, 0x1d, 0x2e }, 3 },     /* freshestCRL */
	{ { 0x55, 0x1d, 0x20 }, 3 },     /* certificatePolicies */
	{ { 0x55, 0x1d, 0x21 }, 3 },     /* policyMappings */
	{ { 0x55, 0x1d, 0x24 }, 3 },     /* policyConstraints */
	{ { 0x55, 0x1d, 0x36 }, 3 },     /* inhibitAnyPolicy */
	{ { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01 }, 8 },  /* AIA */
	{ { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x0b }, 8 },  /* SIA */
};

static int
oid_is(const unsigned char *oid, size_t len, const unsigned char *want,
       size_t want_len)
{
	return ca_der_oid_eq(oid, len, want, want_len);
}

/* RFC 5280 4.2.1.9: SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLen INTEGER
 * OPTIONAL }. An explicit FALSE (not DER) is read as what it says. */
static int
read_bc(const unsigned char *v, size_t len, struct ca_cert_info *o,
	struct mica_err *err)
{
	struct ca_der_cur top, c;
	uint64_t pl;
	int ca = 0;

	ca_der_init(&top, v, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, NULL) < 0 ||
	    !ca_der_empty(&top))
		return bad_cert(err, "malformed basicConstraints");
	if (ca_der_peek(&c, CA_DER_BOOLEAN) &&
	    ca_der_get_bool(&c, &ca, NULL) < 0)
		return bad_cert(err, "malformed basicConstraints");
	if (ca_der_peek(&c, CA_DER_INTEGER)) {
		if (ca_der_get_uint(&c, 255, &pl, NULL) < 0)
			return bad_cert(err, "malformed pathLenConstraint");
		o->path_len = (int)pl;
	}
	if (!ca_der_empty(&c))
		return bad_cert(err, "malformed basicConstraints");
	o->is_ca = ca;
	return 0;
}

/* RFC 5280 4.2.1.3 keyUsage as CA_KU_* (bits past decipherOnly, and
 * trailing zero bits some encoders leave, are ignored). */
static int
read_ku(const unsigned char *v, size_t len, struct ca_cert_info *o,
	struct mica_err *err)
{
	struct ca_der_cur c;
	const unsigned char *bits;
	size_t nbytes, i;
	unsigned unused, m = 0;

	ca_der_init(&c, v, len);
	if (ca_der_get_bitstring(&c, &bits, &nbytes, &unused, NULL) < 0 ||
	    !ca_der_empty(&c))
		return bad_cert(err, "malformed keyUsage");
	for (i = 0; i < nbytes * 8 - unused && i < 9; i++)
		if (bits[i / 8] & (0x80u >> (i % 8)))
			m |= 1u << i;
	o->has_ku = 1;
	o->key_usage = m;
	return 0;
}

static int
read_ski(const unsigned char *v, size_t len, struct ca_cert_info *o,
	 struct mica_err *err)
{
	struct ca_der_cur c;
	const unsigned char *ki;
	size_t n;

	ca_der_init(&c, v, len);
	if (ca_der_get_tlv(&c, CA_DER_OCTET_STRING, &ki, &n, NULL) < 0 ||
	    !ca_der_empty(&c) || n == 0 || n > CA_KEYID_MAX)
		return bad_cert(err, "malformed subjectKeyIdentifier");
	memcpy(o->ski, ki, n);
	o->ski_len = n;
	o->has_ski = 1;
	return 0;
}

/* RFC 5280 4.2.1.1: SEQUENCE { keyIdentifier [0] OPTIONAL,
 * authorityCertIssuer [1] OPTIONAL, authorityCertSerialNumber [2]
 * OPTIONAL }; only the key identifier is kept. */
static int
read_aki(const unsigned char *v, size_t len, struct ca_cert_info *o,
	 struct mica_err *err)
{
	struct ca_der_cur top, c;
	struct ca_der_tlv t;

	ca_der_init(&top, v, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, NULL) < 0 ||
	    !ca_der_empty(&top))
		return bad_cert(err, "malformed authorityKeyIdentifier");
	if (ca_der_peek(&c, CA_DER_CTX(0))) {
		if (ca_der_get_any(&c, &t, NULL) < 0 || t.len == 0 ||
		    t.len > CA_KEYID_MAX)
			return bad_cert(err, "malformed authorityKeyIdentifier");
		o->aki = t.val;
		o->aki_len = t.len;
	}
	if (ca_der_peek(&c, CA_DER_CTX_CONS(1)) &&
	    ca_der_get_any(&c, &t, NULL) < 0)
		return bad_cert(err, "malformed authorityKeyIdentifier");
	if (ca_der_peek(&c, CA_DER_CTX(2)) && ca_der_get_any(&c, &t, NULL) < 0)
		return bad_cert(err, "malformed authorityKeyIdentifier");
	if (!ca_der_empty(&c))
		return bad_cert(err, "malformed authorityKeyIdentifier");
	return 0;
}

/* Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (RFC 5280 4.1), each
 * extnID at most once. */
static int
read_exts(struct ca_der_cur *c, struct ca_cert_info *o, struct mica_err *err)
{
	struct ca_der_cur seq, e;
	const unsigned char *oid, *val, *seen[EXTS_MAX];
	size_t oid_len, len, nseen = 0, seen_len[EXTS_MAX], i;
	int crit;

	if (ca_der_enter(c, CA_DER_SEQUENCE, &seq, NULL) < 0 ||
	    ca_der_empty(&seq))
		return bad_cert(err, "malformed extensions");
	while (!ca_der_empty(&seq)) {
		crit = 0;
		if (ca_der_enter(&seq, CA_DER_SEQUENCE, &e, NULL) < 0 ||
		    ca_der_get_oid(&e, &oid, &oid_len, NULL) < 0 ||
		    (ca_der_peek(&e, CA_DER_BOOLEAN) &&
		     ca_der_get_bool(&e, &crit, NULL) < 0) ||
		    ca_der_get_tlv(&e, CA_DER_OCTET_STRING, &val, &len,
				   NULL) < 0 ||
		    !ca_der_empty(&e))
			return bad_cert(err, "malformed extension");
		for (i = 0; i < nseen; i++)
			if (oid_is(oid, oid_len, seen[i], seen_len[i]))
				return bad_cert(err, "an extension appears "
						"twice");
		if (nseen == EXTS_MAX)
			return bad_cert(err, "too many extensions");
		seen[nseen] = oid;
		seen_len[nseen++] = oid_len;
		if (oid_is(oid, oid_len, OID_BC, sizeof(OID_BC))) {
			if (read_bc(val, len, o, err) < 0)
				return -1;
		} else if (oid_is(oid, oid_len, OID_KU, sizeof(OID_KU))) {
			if (read_ku(val, len, o, err) < 0)
				return -1;
		} else if (oid_is(oid, oid_len, OID_SKI, sizeof(OID_SKI))) {
			if (read_ski(val, len, o, err) < 0)
				return -1;
		} else if (oid_is(oid, oid_len, OID_AKI, sizeof(OID_AKI))) {
			if (read_aki(val, len, o, err) < 0)
				return -1;
		} else if (oid_is(oid, oid_len, OID_NC, sizeof(OID_NC))) {
			o->nc = val;
			o->nc_len = len;
		} else {
			int known = 0;

			for (i = 0; i < sizeof(known_other) /
			     sizeof(known_other[0]); i++)
				if (oid_is(oid, oid_len, known_other[i].oid,
					   known_other[i].len))
					known = 1;
			if (!known && crit)
				o->unknown_critical = 1;
		}
	}
	return 0;
}

int
ca_cert_info_read(const unsigned char *der, size_t len,
		  struct ca_cert_info *o, struct mica_err *err)
{
	struct ca_der_cur top, cert, tbs, v, val;
	struct ca_der_tlv t;
	const unsigned char *bits;
	size_t nbytes;
	unsigned unused;
	uint64_t version = 0;

	if (o == NULL)
		return bad_cert(err, "nothing to read");
	memset(o, 0, sizeof(*o));
	o->path_len = -1;
	if (der == NULL || len == 0 || len > CA_CERT_DER_MAX)
		return bad_cert(err, "empty or larger than 16 KiB");
	o->der = der;
	o->der_len = len;
	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
	 * signatureValue BIT STRING } (RFC 5280 4.1) */
	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &cert, NULL) < 0 ||
	    !ca_der_empty(&top))
		return bad_cert(err, "not one DER certificate");
	o->tbs = cert.p;
	if (ca_der_enter(&cert, CA_DER_SEQUENCE, &tbs, NULL) < 0)
		return bad_cert(err, "malformed TBSCertificate");
	o->tbs_len = (size_t)(cert.p - o->tbs);
	if (ca_der_get_elem(&cert, CA_DER_SEQUENCE, &o->sig_alg,
			    &o->sig_alg_len, NULL) < 0 ||
	    ca_der_get_bitstring(&cert, &bits, &nbytes, &unused, NULL) < 0 ||
	    unused != 0 || nbytes == 0 || !ca_der_empty(&cert))
		return bad_cert(err, "malformed signature");
	o->sig = bits;
	o->sig_len = nbytes;

	/* version [0] EXPLICIT DEFAULT v1 */
	if (ca_der_peek(&tbs, CA_DER_CTX_CONS(0))) {
		if (ca_der_enter(&tbs, CA_DER_CTX_CONS(0), &v, NULL) < 0 ||
		    ca_der_get_uint(&v, 255, &version, NULL) < 0 ||
		    !ca_der_empty(&v))
			return bad_cert(err, "malformed version");
	}
	if (version != 0 && version != 2)
		return bad_cert(err, "not version 1 or 3");
	o->version = (int)version + 1;
	if (ca_der_get_tlv(&tbs, CA_DER_INTEGER, &o->serial, &o->serial_len,
			   NULL) < 0 || o->serial_len == 0 ||
	    o->serial_len > 21)
		return bad_cert(err, "malformed serial number");
	if (ca_der_get_any(&tbs, &t, NULL) < 0 || t.tag != CA_DER_SEQUENCE)
		return bad_cert(err, "malformed signature field");
	if (ca_der_get_elem(&tbs, CA_DER_SEQUENCE, &o->issuer, &o->issuer_len,
			    NULL) < 0)
		return bad_cert(err, "malformed issuer");
	if (ca_der_enter(&tbs, CA_DER_SEQUENCE, &val, NULL) < 0 ||
	    ca_der_get_time(&val, &o->not_before, NULL, NULL) < 0 ||
	    ca_der_get_time(&val, &o->not_after, NULL, NULL) < 0 ||
	    !ca_der_empty(&val) || o->not_after <= o->not_before)
		return bad_cert(err, "malformed validity");
	if (ca_der_get_elem(&tbs, CA_DER_SEQUENCE, &o->subject,
			    &o->subject_len, NULL) < 0)
		return bad_cert(err, "malformed subject");
	if (ca_der_get_elem(&tbs, CA_DER_SEQUENCE, &o->spki, &o->spki_len,
			    NULL) < 0)
		return bad_cert(err, "malformed public key");
	/* issuerUniqueID [1], subjectUniqueID [2]: read past them. */
	if (ca_der_peek(&tbs, CA_DER_CTX(1)) && ca_der_get_any(&tbs, &t, NULL) < 0)
		return bad_cert(err, "malformed issuerUniqueID");
	if (ca_der_peek(&tbs, CA_DER_CTX(2)) && ca_der_get_any(&tbs, &t, NULL) < 0)
		return bad_cert(err, "malformed subjectUniqueID");
	if (ca_der_peek(&tbs, CA_DER_CTX_CONS(3))) {
		if (version != 2)
			return bad_cert(err, "extensions in a version 1 "
					"certificate");
		if (ca_der_enter(&tbs, CA_DER_CTX_CONS(3), &v, NULL) < 0)
			return bad_cert(err, "malformed extensions");
		if (read_exts(&v, o, err) < 0)
			return -1;
		if (!ca_der_empty(&v))
			return bad_cert(err, "malformed extensions");
	}
	if (!ca_der_empty(&tbs))
		return bad_cert(err, "data after the extensions");
	if (!o->has_ski && ca_x509_key_id(o->spki, o->spki_len, o->ski,
					  NULL) == 0)
		o->ski_len = 20;
	if (o->ski_len == 0)
		return bad_cert(err, "malformed public key");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Signatures                                                          */
/* ------------------------------------------------------------------ */

static const struct {
	unsigned char oid[9];
	size_t len;
	mbedtls_md_type_t md;
	mbedtls_pk_type_t pk;
} sigalgs[] = {
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b }, 9,
	  MBEDTLS_MD_SHA256, MBEDTLS_PK_RSA },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c }, 9,
	  MBEDTLS_MD_SHA384, MBEDTLS_PK_RSA },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d }, 9,
	  MBEDTLS_MD_SHA512, MBEDTLS_PK_RSA },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 }, 8,
	  MBEDTLS_MD_SHA256, MBEDTLS_PK_ECDSA },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 }, 8,
	  MBEDTLS_MD_SHA384, MBEDTLS_PK_ECDSA },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 }, 8,
	  MBEDTLS_MD_SHA512, MBEDTLS_PK_ECDSA },
};

int
ca_sig_verify(const unsigned char *tbs, size_t tbs_len,
	      const unsigned char *alg, size_t alg_len,
	      const unsigned char *sig, size_t sig_len,
	      const unsigned char *spki, size_t spki_len,
	      struct mica_err *err)
{
	struct ca_der_cur top, a;
	struct ca_der_tlv prm;
	const unsigned char *oid;
	size_t oid_len, i, k = SIZE_MAX;
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	const mbedtls_md_info_t *md;
	mbedtls_pk_context pk;
	int rc = -1;

	mbedtls_pk_init(&pk);
	ca_der_init(&top, alg, alg_len);
	if (alg == NULL || ca_der_enter(&top, CA_DER_SEQUENCE, &a, NULL) < 0 ||
	    !ca_der_empty(&top) || ca_der_get_oid(&a, &oid, &oid_len, NULL) < 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_signature",
				    "malformed signature algorithm");
	for (i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
		if (oid_is(oid, oid_len, sigalgs[i].oid, sigalgs[i].len))
			k = i;
	if (k == SIZE_MAX)
		return mica_err_set(err, MICA_E_UNSUPPORTED,
				    "unsupported_signature",
				    "a signature algorithm mica does not "
				    "verify (it takes RSA PKCS#1 v1.5 and "
				    "ECDSA with SHA-256, -384 or -512)");
	/* RSA: NULL parameters (RFC 4055 5; absent tolerated); ECDSA: none
	 * (RFC 5758 3.2). */
	if (!ca_der_empty(&a)) {
		if (sigalgs[k].pk != MBEDTLS_PK_RSA ||
		    ca_der_get_any(&a, &prm, NULL) < 0 ||
		    prm.tag != CA_DER_NULL || prm.len != 0 || !ca_der_empty(&a))
			return mica_err_set(err, MICA_E_BADREQ, "bad_signature",
					    "malformed signature parameters");
	}
#if defined(MBEDTLS_USE_PSA_CRYPTO)
	if (psa_crypto_init() != PSA_SUCCESS)
		return mica_err_set(err, MICA_E_INTERNAL, "crypto_init_failed",
				    "the crypto library could not start");
#endif
	md = mbedtls_md_info_from_type(sigalgs[k].md);
	if (md == NULL || mbedtls_md(md, tbs, tbs_len, hash) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "hash_failed",
			     "hash unavailable");
		goto out;
	}
	if (mbedtls_pk_parse_public_key(&pk, spki, spki_len) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_signature",
			     "the issuer's public key does not parse");
		goto out;
	}
	if (mbedtls_pk_verify_ext(sigalgs[k].pk, NULL, &pk, sigalgs[k].md,
				  hash, mbedtls_md_get_size(md), sig,
				  sig_len) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_signature",
			     "the signature does not verify with the "
			     "issuer's key");
		goto out;
	}
	rc = 0;
out:
	mbedtls_platform_zeroize(hash, sizeof(hash));
	mbedtls_pk_free(&pk);
	return rc;
}

int
ca_cert_issued_by(const struct ca_cert_info *child,
		  const struct ca_cert_info *issuer, struct mica_err *err)
{
	/* RFC 5280 6.1.3 (a)(4): the issuer's name, byte for byte as the
	 * CAs that matter write it (7.1 allows more; mica does not). */
	if (child->issuer_len != issuer->subject_len ||
	    memcmp(child->issuer, issuer->subject, child->issuer_len) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "not_issued_by",
				    "the issuer name is not the CA's subject");
	if (ca_sig_verify(child->tbs, child->tbs_len, child->sig_alg,
			  child->sig_alg_len, child->sig, child->sig_len,
			  issuer->spki, issuer->spki_len, err) != 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Files of certificates                                               */
/* ------------------------------------------------------------------ */

void
ca_blobs_free(struct ca_der_blob *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i].der);
	free(v);
}

static int
b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* Base64 IN[0..LEN) with blanks and line breaks into *OUT (heap). */
static int
b64_decode(const unsigned char *in, size_t len, unsigned char **out,
	   size_t *out_len)
{
	unsigned char *clean, *buf = NULL;
	size_t n = 0, olen = 0;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if ((clean = malloc(len + 1)) == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' ||
		    in[i] == '\n')
			continue;
		if (!b64_char(in[i]))
			goto out;
		clean[n++] = in[i];
	}
	if (n == 0 ||
	    mbedtls_base64_decode(NULL, 0, &olen, clean, n) !=
	    MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || olen == 0 ||
	    (buf = malloc(olen)) == NULL ||
	    mbedtls_base64_decode(buf, olen, &olen, clean, n) != 0)
		goto out;
	*out = buf;
	*out_len = olen;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	free(clean);
	return rc;
}

static const unsigned char *
find_str(const unsigned char *hay, size_t hay_len, const char *needle)
{
	size_t nl = strlen(needle);

	if (nl == 0 || hay_len < nl)
		return NULL;
	for (size_t i = 0; i + nl <= hay_len; i++)
		if (hay[i] == (unsigned char)needle[0] &&
		    memcmp(hay + i, needle, nl) == 0)
			return hay + i;
	return NULL;
}

/* Add DER (taking it) to *V, checking it is one certificate. */
static int
add_cert(struct ca_der_blob *v, size_t *n, unsigned char *der, size_t len,
	 struct mica_err *err)
{
	struct ca_cert_info ci;

	if (*n == CA_BUNDLE_MAX) {
		free(der);
		return bad_cert(err, "more than 16 certificates in one file");
	}
	if (ca_cert_info_read(der, len, &ci, err) != 0) {
		free(der);
		return -1;
	}
	v[*n].der = der;
	v[*n].len = len;
	(*n)++;
	return 0;
}

/* A PKCS#7 certs-only message's certificates into *V. */
static int
add_p7(struct ca_der_blob *v, size_t *n, const unsigned char *der,
       size_t len, struct mica_err *err)
{
	struct ca_p7_cert c[CA_P7_CERTS_MAX];
	size_t k;

	if (ca_p7_decode(der, len, c, &k, err) != 0)
		return -1;
	for (size_t i = 0; i < k; i++) {
		unsigned char *cp = malloc(c[i].len);

		if (cp == NULL)
			return mica_err_set(err, MICA_E_INTERNAL,
					    "out_of_memory", "out of memory");
		memcpy(cp, c[i].der, c[i].len);
		if (add_cert(v, n, cp, c[i].len, err) != 0)
			return -1;
	}
	return 0;
}

/* DER of one certificate, or of a PKCS#7 message (told apart by the
 * second element of the outer SEQUENCE: an OID in a ContentInfo). */
static int
add_der(struct ca_der_blob *v, size_t *n, const unsigned char *der,
	size_t len, struct mica_err *err)
{
	struct ca_der_cur top, c;
	unsigned char *cp;

	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, NULL) == 0 &&
	    ca_der_peek(&c, CA_DER_OID))
		return add_p7(v, n, der, len, err);
	if ((cp = malloc(len ? len : 1)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	memcpy(cp, der, len);
	return add_cert(v, n, cp, len, err);
}

int
ca_certs_load(const unsigned char *in, size_t len, struct ca_der_blob **out,
	      size_t *n, struct mica_err *err)
{
	static const char *const labels[] = {
		"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE",
		"PKCS7",
	};
	struct ca_der_blob *v = NULL;
	const unsigned char *p, *end = in + len;
	unsigned char *der = NULL;
	size_t cnt = 0, der_len = 0;
	int rc = -1, any_pem = 0;

	*out = NULL;
	*n = 0;
	if (in == NULL || len == 0)
		return bad_cert(err, "empty file");
	if (len > CA_BUNDLE_FILE_MAX)
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "larger than %d bytes", CA_BUNDLE_FILE_MAX);
	if ((v = calloc(CA_BUNDLE_MAX, sizeof(*v))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	if (in[0] == 0x30) {
		if (add_der(v, &cnt, in, len, err) != 0)
			goto out;
		goto done;
	}
	/* PEM: every block whose label we know, in order; other blocks (a
	 * private key by mistake, a CRL) are not certificates. */
	for (p = in; p < end;) {
		const unsigned char *b = find_str(p, (size_t)(end - p),
						  "-----BEGIN "), *le, *e;
		char endline[64];
		size_t i, ll;

		if (b == NULL)
			break;
		any_pem = 1;
		le = find_str(b + 11, (size_t)(end - b - 11), "-----");
		if (le == NULL) {
			bad_cert(err, "malformed PEM header");
			goto out;
		}
		ll = (size_t)(le - (b + 11));
		for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
			if (strlen(labels[i]) == ll &&
			    memcmp(b + 11, labels[i], ll) == 0)
				break;
		if (ll >= 40) {
			bad_cert(err, "malformed PEM header");
			goto out;
		}
		snprintf(endline, sizeof(endline), "-----END %.*s-----",
			 (int)ll, (const char *)(b + 11));
		if ((e = find_str(le + 5, (size_t)(end - le - 5),
				  endline)) == NULL) {
			bad_cert(err, "PEM block without its END line");
			goto out;
		}
		if (i < sizeof(labels) / sizeof(labels[0])) {
			if (b64_decode(le + 5, (size_t)(e - le - 5), &der,
				       &der_len) != 0) {
				bad_cert(err, "bad base64 in a PEM block");
				goto out;
			}
			if (add_der(v, &cnt, der, der_len, err) != 0)
				goto out;
			free(der);
			der = NULL;
		}
		p = e + strlen(endline);
	}
	if (!any_pem) {
		/* Bare base64 of a certificate or a .p7b. */
		if (b64_decode(in, len, &der, &der_len) != 0 || der_len == 0 ||
		    der[0] != 0x30) {
			bad_cert(err, "neither PEM, DER nor base64 of a "
				 "certificate or PKCS#7");
			goto out;
		}
		if (add_der(v, &cnt, der, der_len, err) != 0)
			goto out;
	}
done:
	if (cnt == 0) {
		bad_cert(err, "no certificate in the file");
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	rc = 0;
out:
	free(der);
	ca_blobs_free(v, cnt);
	return rc;
}

int
ca_pem_or_der(const unsigned char *in, size_t len, const char *label,
	      size_t max, unsigned char **out, size_t *out_len,
	      struct mica_err *err)
{
	char begin[80], endl[80];
	const unsigned char *b, *e;
	unsigned char *der = NULL;
	size_t der_len = 0;

	*out = NULL;
	*out_len = 0;
	if (in == NULL || len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_pem", "empty file");
	if (in[0] == 0x30) {
		if (len > max)
			goto large;
		if ((der = malloc(len)) == NULL)
			goto oom;
		memcpy(der, in, len);
		*out = der;
		*out_len = len;
		return 0;
	}
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(endl, sizeof(endl), "-----END %s-----", label);
	if ((b = find_str(in, len, begin)) != NULL) {
		b += strlen(begin);
		if ((e = find_str(b, (size_t)(in + len - b), endl)) == NULL)
			return mica_err_set(err, MICA_E_BADREQ, "bad_pem",
					    "a PEM block without its END line");
	} else if (find_str(in, len, "-----BEGIN ") != NULL) {
		return mica_err_set(err, MICA_E_BADREQ, "bad_pem",
				    "no PEM block labelled %s", label);
	} else {
		b = in;
		e = in + len;
	}
	if (b64_decode(b, (size_t)(e - b), &der, &der_len) != 0 ||
	    der_len == 0 || der[0] != 0x30) {
		free(der);
		return mica_err_set(err, MICA_E_BADREQ, "bad_pem",
				    "neither DER, PEM nor base64 of DER");
	}
	if (der_len > max) {
		free(der);
		goto large;
	}
	*out = der;
	*out_len = der_len;
	return 0;
large:
	return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
			    "larger than %zu bytes", max);
oom:
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			    "out of memory");
}

void
ca_name_text(const unsigned char *name, size_t len, char *buf, size_t size)
{
	static const struct {
		unsigned char oid[10];
		size_t len;
		const char *label;
	} attrs[] = {
		{ { 0x55, 0x04, 0x03 }, 3, "CN" },
		{ { 0x55, 0x04, 0x0a }, 3, "O" },
		{ { 0x55, 0x04, 0x0b }, 3, "OU" },
		{ { 0x55, 0x04, 0x06 }, 3, "C" },
		{ { 0x55, 0x04, 0x07 }, 3, "L" },
		{ { 0x55, 0x04, 0x08 }, 3, "ST" },
		{ { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01,
		    0x19 }, 10, "DC" },
		{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01 }, 9,
		  "emailAddress" },
	};
	struct ca_der_cur top, seq, rdn, atv;
	struct ca_der_tlv v;
	const unsigned char *oid;
	size_t oid_len, used = 0, i, k;
	/* RDNs, most significant first in DER; shown last-first. */
	struct { const char *label; const unsigned char *val; size_t len; }
		parts[16];
	size_t nparts = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	ca_der_init(&top, name, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &seq, NULL) < 0)
		return;
	while (!ca_der_empty(&seq) && nparts < 16) {
		if (ca_der_enter(&seq, CA_DER_SET, &rdn, NULL) < 0)
			return;
		while (!ca_der_empty(&rdn) && nparts < 16) {
			if (ca_der_enter(&rdn, CA_DER_SEQUENCE, &atv, NULL) < 0 ||
			    ca_der_get_oid(&atv, &oid, &oid_len, NULL) < 0 ||
			    ca_der_get_any(&atv, &v, NULL) < 0)
				return;
			parts[nparts].label = "OID";
			for (k = 0; k < sizeof(attrs) / sizeof(attrs[0]); k++)
				if (oid_is(oid, oid_len, attrs[k].oid,
					   attrs[k].len))
					parts[nparts].label = attrs[k].label;
			parts[nparts].val = v.val;
			parts[nparts].len = v.len;
			nparts++;
		}
	}
	for (i = nparts; i-- > 0;) {
		int n = snprintf(buf + used, size - used, "%s%s=",
				 used > 0 ? ", " : "", parts[i].label);

		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
		for (k = 0; k < parts[i].len && used + 1 < size; k++) {
			unsigned char c = parts[i].val[k];

			/* UTF-8 passes; controls do not reach a terminal. */
			buf[used++] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
		}
		buf[used] = '\0';
	}
}

int
ca_der_split(const unsigned char *buf, size_t len, struct ca_der_blob *v,
	     size_t max, size_t *n, struct mica_err *err)
{
	struct ca_der_cur c;
	struct ca_der_tlv t;

	*n = 0;
	ca_der_init(&c, buf, len);
	while (!ca_der_empty(&c)) {
		if (ca_der_get_any(&c, &t, NULL) < 0 ||
		    t.tag != CA_DER_SEQUENCE)
			return bad_cert(err, "the stored chain is damaged");
		if (*n == max)
			return bad_cert(err, "the stored chain is too long");
		v[*n].der = (unsigned char *)t.raw;
		v[*n].len = t.raw_len;
		(*n)++;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* CRLs                                                                */
/* ------------------------------------------------------------------ */

int
ca_crl_info_read(const unsigned char *der, size_t len,
		 struct ca_crl_info *o, struct mica_err *err)
{
	struct ca_der_cur top, crl, tbs, list, ctx, exts, e, ent, a;
	const unsigned char *bits, *oid, *val, *num;
	size_t nbytes, oid_len, vlen, num_len;
	unsigned unused;
	uint64_t version;
	int crit;

	if (o == NULL)
		return bad_crl(err, "nothing to read");
	memset(o, 0, sizeof(*o));
	o->number = -1;
	if (der == NULL || len == 0 || len > CRL_DER_MAX)
		return bad_crl(err, "empty or larger than 16 MiB");
	/* CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm,
	 * signatureValue } (RFC 5280 5.1) */
	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &crl, NULL) < 0 ||
	    !ca_der_empty(&top))
		return bad_crl(err, "not one DER CertificateList");
	o->tbs = crl.p;
	if (ca_der_enter(&crl, CA_DER_SEQUENCE, &tbs, NULL) < 0)
		return bad_crl(err, "malformed TBSCertList");
	o->tbs_len = (size_t)(crl.p - o->tbs);
	if (ca_der_get_elem(&crl, CA_DER_SEQUENCE, &o->sig_alg,
			    &o->sig_alg_len, NULL) < 0 ||
	    ca_der_get_bitstring(&crl, &bits, &nbytes, &unused, NULL) < 0 ||
	    unused != 0 || nbytes == 0 || !ca_der_empty(&crl))
		return bad_crl(err, "malformed signature");
	o->sig = bits;
	o->sig_len = nbytes;
	/* version INTEGER OPTIONAL (v2 = 1) */
	if (ca_der_peek(&tbs, CA_DER_INTEGER) &&
	    (ca_der_get_uint(&tbs, 255, &version, NULL) < 0 || version != 1))
		return bad_crl(err, "not version 1 or 2");
	if (ca_der_enter(&tbs, CA_DER_SEQUENCE, &a, NULL) < 0)
		return bad_crl(err, "malformed signature field");
	if (ca_der_get_elem(&tbs, CA_DER_SEQUENCE, &o->issuer, &o->issuer_len,
			    NULL) < 0)
		return bad_crl(err, "malformed issuer");
	if (ca_der_get_time(&tbs, &o->this_update, NULL, NULL) < 0)
		return bad_crl(err, "malformed thisUpdate");
	if ((ca_der_peek(&tbs, CA_DER_UTC_TIME) ||
	     ca_der_peek(&tbs, CA_DER_GEN_TIME)) &&
	    ca_der_get_time(&tbs, &o->next_update, NULL, NULL) < 0)
		return bad_crl(err, "malformed nextUpdate");
	if (ca_der_peek(&tbs, CA_DER_SEQUENCE)) {
		o->entries = tbs.p;
		if (ca_der_enter(&tbs, CA_DER_SEQUENCE, &list, NULL) < 0)
			return bad_crl(err, "malformed revokedCertificates");
		o->entries_len = (size_t)(tbs.p - o->entries);
		while (!ca_der_empty(&list)) {
			const unsigned char *sv;
			size_t sl;
			int64_t when;

			if (ca_der_enter(&list, CA_DER_SEQUENCE, &ent, NULL) < 0 ||
			    ca_der_get_tlv(&ent, CA_DER_INTEGER, &sv, &sl,
					   NULL) < 0 ||
			    ca_der_get_time(&ent, &when, NULL, NULL) < 0 ||
			    (!ca_der_empty(&ent) &&
			     ca_der_enter(&ent, CA_DER_SEQUENCE, &e, NULL) < 0) ||
			    !ca_der_empty(&ent))
				return bad_crl(err, "malformed entry");
			o->nentries++;
		}
	}
	if (ca_der_peek(&tbs, CA_DER_CTX_CONS(0))) {
		if (ca_der_enter(&tbs, CA_DER_CTX_CONS(0), &ctx, NULL) < 0 ||
		    ca_der_enter(&ctx, CA_DER_SEQUENCE, &exts, NULL) < 0 ||
		    !ca_der_empty(&ctx))
			return bad_crl(err, "malformed crlExtensions");
		while (!ca_der_empty(&exts)) {
			crit = 0;
			if (ca_der_enter(&exts, CA_DER_SEQUENCE, &e, NULL) < 0 ||
			    ca_der_get_oid(&e, &oid, &oid_len, NULL) < 0 ||
			    (ca_der_peek(&e, CA_DER_BOOLEAN) &&
			     ca_der_get_bool(&e, &crit, NULL) < 0) ||
			    ca_der_get_tlv(&e, CA_DER_OCTET_STRING, &val, &vlen,
					   NULL) < 0 || !ca_der_empty(&e))
				return bad_crl(err, "malformed extension");
			if (oid_is(oid, oid_len, OID_CRL_NUMBER,
				   sizeof(OID_CRL_NUMBER))) {
				/* CRLNumber ::= INTEGER (0..MAX), RFC 5280
				 * 5.2.3: kept when it fits 63 bits. */
				ca_der_init(&e, val, vlen);
				if (ca_der_get_tlv(&e, CA_DER_INTEGER, &num,
						   &num_len, NULL) < 0 ||
				    !ca_der_empty(&e) || num_len == 0 ||
				    (num[0] & 0x80) != 0)
					return bad_crl(err, "malformed "
						       "cRLNumber");
				while (num_len > 1 && num[0] == 0) {
					num++;
					num_len--;
				}
				if (num_len < 8 ||
				    (num_len == 8 && num[0] < 0x80)) {
					o->number = 0;
					for (size_t i = 0; i < num_len; i++)
						o->number = o->number << 8 |
							    num[i];
				}
			} else if (oid_is(oid, oid_len, OID_AKI,
					  sizeof(OID_AKI))) {
				struct ca_cert_info tmp;

				memset(&tmp, 0, sizeof(tmp));
				if (read_aki(val, vlen, &tmp, NULL) < 0)
					return bad_crl(err, "malformed "
						       "authorityKeyIdentifier");
				o->aki = tmp.aki;
				o->aki_len = tmp.aki_len;
			}
			/* Anything else (issuingDistributionPoint...) is
			 * for relying parties to judge. */
		}
	}
	if (!ca_der_empty(&tbs))
		return bad_crl(err, "data after the extensions");
	return 0;
}

int
ca_crl_lists(const struct ca_crl_info *crl, const unsigned char *serial,
	     size_t serial_len)
{
	struct ca_der_cur top, list, ent;
	const unsigned char *sv;
	size_t sl;

	if (crl->entries == NULL)
		return 0;
	ca_der_init(&top, crl->entries, crl->entries_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &list, NULL) < 0)
		return 0;
	while (!ca_der_empty(&list)) {
		if (ca_der_enter(&list, CA_DER_SEQUENCE, &ent, NULL) < 0 ||
		    ca_der_get_tlv(&ent, CA_DER_INTEGER, &sv, &sl, NULL) < 0)
			return 0;
		if (sl == serial_len && memcmp(sv, serial, sl) == 0)
			return 1;
	}
	return 0;
}

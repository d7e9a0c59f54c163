/*
 * ca/ocsp_der.c - OCSP requests and responses in DER (see ca/ocsp.h).
 */
#include "ca/ocsp.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>

#include "ca/ca.h"          /* ca_reason_valid */
#include "ca/der.h"
#include "ca/signcheck.h"   /* CA_SIGN_CLOCK_SLACK */

/* The hashAlgorithms a CertID may name (RFC 6960 4.1.1 leaves it open):
 * id-sha1 1.3.14.3.2.26, what RFC 5019 clients send; id-sha256, -sha384
 * and -sha512 2.16.840.1.101.3.4.2.1..3 (RFC 5754 2), which clients that
 * follow their signature's hash send ('openssl ocsp -sha384'). */
static const unsigned char OID_SHA1[] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
static const unsigned char OID_SHA256[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
};
static const unsigned char OID_SHA384[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
};
static const unsigned char OID_SHA512[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
};

static const struct hash_alg {
	int hash;                      /* enum ca_ocsp_hash */
	const unsigned char *oid;
	size_t oid_len;
	size_t len;                    /* octets of its digest */
} HASHES[] = {
	{ CA_OCSP_SHA1, OID_SHA1, sizeof(OID_SHA1), 20 },
	{ CA_OCSP_SHA256, OID_SHA256, sizeof(OID_SHA256), 32 },
	{ CA_OCSP_SHA384, OID_SHA384, sizeof(OID_SHA384), 48 },
	{ CA_OCSP_SHA512, OID_SHA512, sizeof(OID_SHA512), 64 },
};

static const struct hash_alg *
hash_alg(int hash)
{
	for (size_t i = 0; i < sizeof(HASHES) / sizeof(HASHES[0]); i++)
		if (HASHES[i].hash == hash)
			return &HASHES[i];
	return NULL;
}

size_t
ca_ocsp_hash_len(int hash)
{
	const struct hash_alg *h = hash_alg(hash);

	return h != NULL ? h->len : 0;
}

/* IS's issuerNameHash and issuerKeyHash under HASH (known). */
static void
issuer_of(const struct ca_ocsp_issuer *is, int hash,
	  const unsigned char **name, const unsigned char **key)
{
	switch (hash) {
	case CA_OCSP_SHA1:
		*name = is->name1;
		*key = is->key1;
		break;
	case CA_OCSP_SHA256:
		*name = is->name256;
		*key = is->key256;
		break;
	case CA_OCSP_SHA384:
		*name = is->name384;
		*key = is->key384;
		break;
	default:
		assert(hash == CA_OCSP_SHA512);
		*name = is->name512;
		*key = is->key512;
		break;
	}
}

/* id-pkix-ocsp-nonce 1.3.6.1.5.5.7.48.1.2, id-pkix-ocsp-basic ...48.1.1 */
static const unsigned char OID_NONCE[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02,
};
static const unsigned char OID_BASIC[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01,
};

static int
malformed(struct mica_err *err, const char *what)
{
	return mica_err_set(err, MICA_E_BADREQ, "malformed_ocsp",
			    "malformed OCSP request: %s", what);
}

/* AlgorithmIdentifier of one of HASHES, parameters NULL or absent (RFC
 * 5754 2: both are seen). *HASH gets enum ca_ocsp_hash. Any other
 * algorithm (MD5, a made-up OID) is refused: mica cannot tell whether
 * such a CertID names its CA, and must not guess. */
static int
get_hash_alg(struct ca_der_cur *c, int *hash, struct mica_err *err)
{
	struct ca_der_cur alg;
	const unsigned char *oid, *v;
	size_t oid_len, n, i;

	if (ca_der_enter(c, CA_DER_SEQUENCE, &alg, err) < 0 ||
	    ca_der_get_oid(&alg, &oid, &oid_len, err) < 0)
		return -1;
	for (i = 0; i < sizeof(HASHES) / sizeof(HASHES[0]); i++)
		if (ca_der_oid_eq(oid, oid_len, HASHES[i].oid,
				  HASHES[i].oid_len))
			break;
	if (i == sizeof(HASHES) / sizeof(HASHES[0]))
		return mica_err_set(err, MICA_E_BADREQ, "malformed_ocsp",
				    "unsupported hash algorithm in a CertID");
	*hash = HASHES[i].hash;
	if (!ca_der_empty(&alg) &&
	    (ca_der_get_tlv(&alg, CA_DER_NULL, &v, &n, err) < 0 || n != 0))
		return malformed(err, "hash parameters");
	return ca_der_end(&alg, "AlgorithmIdentifier", err);
}

/* CertID ::= SEQUENCE { hashAlgorithm, issuerNameHash OCTET STRING,
 * issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 * (RFC 6960 4.1.1). */
static int
get_certid(struct ca_der_cur *c, struct ca_ocsp_certid *id,
	   struct mica_err *err)
{
	struct ca_der_cur in;
	const unsigned char *start = c->p, *mag;
	size_t n, n2, mag_len;

	memset(id, 0, sizeof(*id));
	if (ca_der_enter(c, CA_DER_SEQUENCE, &in, err) < 0 ||
	    get_hash_alg(&in, &id->hash, err) < 0 ||
	    ca_der_get_tlv(&in, CA_DER_OCTET_STRING, &id->name_hash, &n,
			   err) < 0 ||
	    ca_der_get_tlv(&in, CA_DER_OCTET_STRING, &id->key_hash, &n2,
			   err) < 0)
		return -1;
	id->hash_len = ca_ocsp_hash_len(id->hash);
	if (n != id->hash_len || n2 != id->hash_len)
		return malformed(err, "CertID hash of the wrong length");
	/* Any INTEGER is a CertificateSerialNumber the request may ask
	 * about; one no certificate of mica's can have (zero, negative,
	 * past 20 octets: RFC 5280 4.1.2.2) is answered unknown, as a
	 * serial never issued, not refused as malformed. */
	if (ca_der_get_int(&in, &mag, &mag_len, err) < 0)
		return -1;
	if (ca_der_end(&in, "CertID", err) < 0)
		return -1;
	if ((mag[0] & 0x80) == 0 && !(mag_len == 1 && mag[0] == 0)) {
		if (mag[0] == 0x00) {
			mag++;
			mag_len--;
		}
		if (mag_len <= sizeof(id->serial)) {
			memcpy(id->serial, mag, mag_len);
			id->serial_len = mag_len;
		}
	}
	id->raw = start;
	id->raw_len = (size_t)(c->p - start);
	return 0;
}

/* Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension. With NONCE set,
 * the RFC 9654 nonce is taken; any other critical extension refuses the
 * request (RFC 5280 4.2, by analogy: one it does not know), and so does
 * a critical FALSE written out (not DER). */
static int
get_exts(struct ca_der_cur *c, const unsigned char **nonce,
	 size_t *nonce_len, int only_nonce, struct mica_err *err)
{
	struct ca_der_cur seq, e, v;
	const unsigned char *oid, *val, *nv;
	size_t oid_len, len, nn, count = 0;
	int crit;

	if (ca_der_enter(c, CA_DER_SEQUENCE, &seq, err) < 0)
		return -1;
	if (ca_der_empty(&seq))
		return malformed(err, "empty extensions");
	while (!ca_der_empty(&seq)) {
		/* A few are plenty: bound the work a request can ask for. */
		if (++count > 8)
			return malformed(err, "too many extensions");
		crit = 0;
		if (ca_der_enter(&seq, CA_DER_SEQUENCE, &e, err) < 0 ||
		    ca_der_get_oid(&e, &oid, &oid_len, err) < 0)
			return -1;
		/* critical BOOLEAN DEFAULT FALSE (RFC 5280 4.1): DER leaves
		 * FALSE out (X.690 11.5), and no client writes it. */
		if (ca_der_peek(&e, CA_DER_BOOLEAN)) {
			if (ca_der_get_bool(&e, &crit, err) < 0)
				return -1;
			if (!crit)
				return malformed(err, "critical FALSE written "
						 "out (DER leaves a DEFAULT "
						 "out)");
		}
		if (ca_der_get_tlv(&e, CA_DER_OCTET_STRING, &val, &len,
				   err) < 0 ||
		    ca_der_end(&e, "Extension", err) < 0)
			return -1;
		if (nonce != NULL &&
		    ca_der_oid_eq(oid, oid_len, OID_NONCE, sizeof(OID_NONCE))) {
			if (*nonce != NULL)
				return malformed(err, "two nonces");
			/* RFC 9654 2.1: Nonce ::= OCTET STRING (SIZE(1..128)) */
			ca_der_init(&v, val, len);
			if (ca_der_get_tlv(&v, CA_DER_OCTET_STRING, &nv, &nn,
					   err) < 0 ||
			    ca_der_end(&v, "nonce", err) < 0)
				return -1;
			if (nn < 1 || nn > CA_OCSP_NONCE_MAX)
				return malformed(err, "nonce not 1..128 octets "
						 "(RFC 9654)");
			*nonce = nv;
			*nonce_len = nn;
			continue;
		}
		if (crit || only_nonce)
			return malformed(err, crit ? "unknown critical extension" :
					 "an extension other than the nonce");
	}
	return 0;
}

/* optionalSignature [0] EXPLICIT Signature, Signature ::= SEQUENCE {
 * signatureAlgorithm AlgorithmIdentifier, signature BIT STRING, certs
 * [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL } (RFC 6960 4.1.1).
 * Read for its shape only: mica answers anyone (RFC 5019 2.1.2 lets a
 * responder leave the signature unchecked), so neither the signature nor
 * the certificates are verified. Each certificate must be a Certificate's
 * SEQUENCE { tbsCertificate SEQUENCE, AlgorithmIdentifier, BIT STRING }
 * (RFC 5280 4.1); its contents are not looked into. The request's
 * CA_OCSP_REQ_MAX bounds how many there can be. */
static int
get_signature(struct ca_der_cur *c, struct mica_err *err)
{
	struct ca_der_cur x, sig, certs, list, cert, tbs;
	const unsigned char *bits;
	size_t nbits;
	unsigned unused;

	if (ca_der_enter(c, CA_DER_CTX_CONS(0), &x, err) < 0 ||
	    ca_der_enter(&x, CA_DER_SEQUENCE, &sig, err) < 0 ||
	    ca_der_end(&x, "optionalSignature", err) < 0 ||
	    ca_der_get_algid(&sig, NULL, NULL, NULL, err) < 0 ||
	    ca_der_get_bitstring(&sig, &bits, &nbits, &unused, err) < 0)
		return -1;
	if (nbits == 0)
		return malformed(err, "an empty request signature");
	if (ca_der_peek(&sig, CA_DER_CTX_CONS(0))) {
		if (ca_der_enter(&sig, CA_DER_CTX_CONS(0), &certs, err) < 0 ||
		    ca_der_enter(&certs, CA_DER_SEQUENCE, &list, err) < 0 ||
		    ca_der_end(&certs, "certs", err) < 0)
			return -1;
		while (!ca_der_empty(&list))
			if (ca_der_enter(&list, CA_DER_SEQUENCE, &cert,
					 err) < 0 ||
			    ca_der_enter(&cert, CA_DER_SEQUENCE, &tbs,
					 err) < 0 ||
			    ca_der_get_algid(&cert, NULL, NULL, NULL, err) < 0 ||
			    ca_der_get_bitstring(&cert, &bits, &nbits, &unused,
						 err) < 0 ||
			    ca_der_end(&cert, "Certificate", err) < 0)
				return -1;
	}
	return ca_der_end(&sig, "Signature", err);
}

static int
req_parse(const unsigned char *der, size_t len, struct ca_ocsp_req *out,
	  struct mica_err *err)
{
	struct ca_der_cur top, req, tbs, v, list, one, x;
	struct ca_der_tlv skip;
	uint64_t version;

	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0)
		return malformed(err, "empty");
	if (len > CA_OCSP_REQ_MAX)
		return malformed(err, "too large");
	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &req, err) < 0 ||
	    ca_der_end(&top, "OCSPRequest", err) < 0 ||
	    ca_der_enter(&req, CA_DER_SEQUENCE, &tbs, err) < 0)
		goto bad;
	/* optionalSignature [0] EXPLICIT: not checked (RFC 5019 2.1.2:
	 * responders need not), but it must be well formed and last. */
	if (ca_der_peek(&req, CA_DER_CTX_CONS(0)) &&
	    get_signature(&req, err) < 0)
		goto bad;
	if (ca_der_end(&req, "OCSPRequest", err) < 0)
		goto bad;

	/* version [0] EXPLICIT Version DEFAULT v1: only v1 is known, and
	 * DER leaves it out (X.690 11.5), as every client does. */
	if (ca_der_peek(&tbs, CA_DER_CTX_CONS(0))) {
		if (ca_der_enter(&tbs, CA_DER_CTX_CONS(0), &v, err) < 0 ||
		    ca_der_get_uint(&v, 255, &version, err) < 0 ||
		    ca_der_end(&v, "version", err) < 0)
			goto bad;
		return malformed(err, version != 0 ? "version not v1" :
				 "version v1 written out (DER leaves a "
				 "DEFAULT out)");
	}
	/* requestorName [1] EXPLICIT GeneralName: ignored. */
	if (ca_der_peek(&tbs, CA_DER_CTX_CONS(1)) &&
	    ca_der_get_any(&tbs, &skip, err) < 0)
		goto bad;
	if (ca_der_enter(&tbs, CA_DER_SEQUENCE, &list, err) < 0)
		goto bad;
	if (ca_der_empty(&list))
		return malformed(err, "no CertID");
	while (!ca_der_empty(&list)) {
		if (out->nids == CA_OCSP_IDS_MAX)
			return malformed(err, "too many CertIDs");
		if (ca_der_enter(&list, CA_DER_SEQUENCE, &one, err) < 0 ||
		    get_certid(&one, &out->ids[out->nids], err) < 0)
			goto bad;
		/* singleRequestExtensions [0] EXPLICIT: none mica knows. */
		if (ca_der_peek(&one, CA_DER_CTX_CONS(0))) {
			if (ca_der_enter(&one, CA_DER_CTX_CONS(0), &x,
					 err) < 0 ||
			    get_exts(&x, NULL, NULL, 0, err) < 0 ||
			    ca_der_end(&x, "singleRequestExtensions",
				       err) < 0)
				goto bad;
		}
		if (ca_der_end(&one, "Request", err) < 0)
			goto bad;
		out->nids++;
	}
	/* requestExtensions [2] EXPLICIT */
	if (ca_der_peek(&tbs, CA_DER_CTX_CONS(2))) {
		if (ca_der_enter(&tbs, CA_DER_CTX_CONS(2), &x, err) < 0 ||
		    get_exts(&x, &out->nonce, &out->nonce_len, 0, err) < 0 ||
		    ca_der_end(&x, "requestExtensions", err) < 0)
			goto bad;
	}
	if (ca_der_end(&tbs, "TBSRequest", err) < 0)
		goto bad;
	return 0;
bad:
	/* Every failure is the client's: one kind, one code. */
	if (err != NULL && strcmp(err->code, "malformed_ocsp") != 0) {
		char why[sizeof(err->msg)];

		memcpy(why, err->msg, sizeof(why));
		mica_err_set(err, MICA_E_BADREQ, "malformed_ocsp",
			     "malformed OCSP request (%.200s)", why);
	}
	return -1;
}

int
ca_ocsp_req_parse(const unsigned char *der, size_t len,
		  struct ca_ocsp_req *out, struct mica_err *err)
{
	if (req_parse(der, len, out, err) == 0)
		return 0;
	memset(out, 0, sizeof(*out));   /* nothing half-read is used */
	return -1;
}

/* The value octets of SPKI's subjectPublicKey BIT STRING (RFC 6960
 * 4.1.1: issuerKeyHash; 4.2.1: KeyHash), without the unused-bits octet. */
static int
spki_key(const unsigned char *spki, size_t spki_len,
	 const unsigned char **key, size_t *key_len, struct mica_err *err)
{
	struct ca_der_cur c, in;
	const unsigned char *alg;
	size_t alg_len;
	unsigned unused;

	ca_der_init(&c, spki, spki_len);
	if (ca_der_enter(&c, CA_DER_SEQUENCE, &in, err) < 0 ||
	    ca_der_end(&c, "SubjectPublicKeyInfo", err) < 0 ||
	    ca_der_get_elem(&in, CA_DER_SEQUENCE, &alg, &alg_len, err) < 0 ||
	    ca_der_get_bitstring(&in, key, key_len, &unused, err) < 0 ||
	    ca_der_end(&in, "SubjectPublicKeyInfo", err) < 0)
		return -1;
	return 0;
}

int
ca_ocsp_issuer_hashes(const unsigned char *subject, size_t subject_len,
		      const unsigned char *spki, size_t spki_len,
		      struct ca_ocsp_issuer *out, struct mica_err *err)
{
	const unsigned char *key;
	size_t key_len;

	memset(out, 0, sizeof(*out));
	if (subject == NULL || spki_key(spki, spki_len, &key, &key_len,
					err) < 0)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "the issuer's key does not parse");
	if (mbedtls_sha1(subject, subject_len, out->name1) != 0 ||
	    mbedtls_sha1(key, key_len, out->key1) != 0 ||
	    mbedtls_sha256(subject, subject_len, out->name256, 0) != 0 ||
	    mbedtls_sha256(key, key_len, out->key256, 0) != 0 ||
	    mbedtls_sha512(subject, subject_len, out->name384, 1) != 0 ||
	    mbedtls_sha512(key, key_len, out->key384, 1) != 0 ||
	    mbedtls_sha512(subject, subject_len, out->name512, 0) != 0 ||
	    mbedtls_sha512(key, key_len, out->key512, 0) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "hash_failed",
				    "hashing failed");
	return 0;
}

int
ca_ocsp_key_hash(const unsigned char *spki, size_t spki_len,
		 unsigned char out[20], struct mica_err *err)
{
	const unsigned char *key;
	size_t key_len;

	if (spki_key(spki, spki_len, &key, &key_len, err) < 0 ||
	    mbedtls_sha1(key, key_len, out) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "the responder's key does not parse");
	return 0;
}

int
ca_ocsp_certid_is(const struct ca_ocsp_certid *id,
		  const struct ca_ocsp_issuer *is)
{
	const unsigned char *name, *key;

	if (ca_ocsp_hash_len(id->hash) == 0 ||
	    id->hash_len != ca_ocsp_hash_len(id->hash))
		return 0;
	issuer_of(is, id->hash, &name, &key);
	/* Public values: no need for constant time. */
	return memcmp(id->name_hash, name, id->hash_len) == 0 &&
	       memcmp(id->key_hash, key, id->hash_len) == 0;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* An element of N content octets, whole. */
static size_t
tlv(size_t n)
{
	return ca_der_hdr_size(n) + n;
}

int
ca_ocsp_certid_encode(int hash, const struct ca_ocsp_issuer *is,
		      const unsigned char *serial, size_t serial_len,
		      unsigned char out[CA_OCSP_CERTID_MAX], size_t *len,
		      struct mica_err *err)
{
	const struct hash_alg *h = hash_alg(hash);
	const unsigned char *oid, *nh, *kh;
	struct ca_der_w w;
	size_t oid_len, hl, alg, ser, body;
	int pad;

	if (h == NULL || is == NULL ||
	    serial == NULL || serial_len == 0 || serial_len > 20 ||
	    serial[0] == 0)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "bad CertID");
	oid = h->oid;
	oid_len = h->oid_len;
	hl = h->len;
	issuer_of(is, hash, &nh, &kh);
	pad = (serial[0] & 0x80) != 0;
	alg = tlv(oid_len) + 2;
	ser = serial_len + (size_t)pad;
	body = tlv(alg) + 2 * tlv(hl) + tlv(ser);
	*len = tlv(body);
	assert(*len <= CA_OCSP_CERTID_MAX);
	ca_der_w_init(&w, out, *len);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, body);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, alg);
	ca_der_w_hdr(&w, CA_DER_OID, oid_len);
	ca_der_w_raw(&w, oid, oid_len);
	ca_der_w_hdr(&w, CA_DER_NULL, 0);
	ca_der_w_hdr(&w, CA_DER_OCTET_STRING, hl);
	ca_der_w_raw(&w, nh, hl);
	ca_der_w_hdr(&w, CA_DER_OCTET_STRING, hl);
	ca_der_w_raw(&w, kh, hl);
	ca_der_w_hdr(&w, CA_DER_INTEGER, ser);
	if (pad)
		ca_der_w_byte(&w, 0);
	ca_der_w_raw(&w, serial, serial_len);
	return ca_der_w_done(&w, err);
}

int
ca_ocsp_req_encode(const unsigned char *certid, size_t certid_len,
		   unsigned char *out, size_t size, size_t *len,
		   struct mica_err *err)
{
	struct ca_der_w w;
	size_t req, list, tbs;

	/* OCSPRequest { TBSRequest { requestList { Request { CertID } } } } */
	req = tlv(certid_len);
	list = tlv(req);
	tbs = tlv(list);
	*len = tlv(tbs);
	if (certid == NULL || certid_len > CA_OCSP_CERTID_MAX || *len > size)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "bad CertID");
	ca_der_w_init(&w, out, *len);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, tbs);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, list);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, req);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, certid_len);
	ca_der_w_raw(&w, certid, certid_len);
	return ca_der_w_done(&w, err);
}

#define GENTIME 17   /* a GeneralizedTime element */

/* revoked [1] IMPLICIT RevokedInfo ::= SEQUENCE { revocationTime,
 * revocationReason [0] EXPLICIT CRLReason OPTIONAL }: content octets. */
static size_t
revoked_len(const struct ca_ocsp_single *s)
{
	return GENTIME + (s->reason > 0 ? 5 : 0);
}

/* singleExtensions [1] EXPLICIT Extensions { invalidityDate }: whole
 * element, 0 when S has no invalidity date. */
static size_t
single_exts_len(const struct ca_ocsp_single *s)
{
	return s->invalid_at > 0 ? tlv(tlv(CA_DER_INVALIDITY_TLV)) : 0;
}

static size_t
single_len(const struct ca_ocsp_single *s)
{
	size_t st = s->status == CA_OCSP_REVOKED ? tlv(revoked_len(s)) : 2;

	return s->certid_len + st + GENTIME + tlv(GENTIME) +
	       single_exts_len(s);
}

static int
check_single(const struct ca_ocsp_single *s)
{
	if (s->certid == NULL || s->certid_len == 0 ||
	    s->certid_len > CA_OCSP_CERTID_MAX * 4 ||
	    s->this_update < 0 || s->this_update > CA_DER_TIME_LAST ||
	    s->next_update <= s->this_update ||
	    s->next_update > CA_DER_TIME_LAST || s->invalid_at < 0)
		return -1;
	switch (s->status) {
	case CA_OCSP_GOOD:
	case CA_OCSP_UNKNOWN:
		return s->invalid_at == 0 ? 0 : -1;
	case CA_OCSP_REVOKED:
		if (s->revoked_at < 0 || s->revoked_at > CA_DER_TIME_LAST ||
		    (s->reason > 0 && !ca_reason_valid(s->reason)))
			return -1;
		/* Never after the revocation, never on a hold (as in a CRL
		 * entry: ca/lint.c). */
		if (s->invalid_at > 0 &&
		    (s->invalid_at > s->revoked_at ||
		     s->reason == CA_REASON_HOLD))
			return -1;
		return 0;
	default:
		return -1;
	}
}

int
ca_ocsp_tbs_encode(const struct ca_ocsp_tbs *t, unsigned char **out,
		   size_t *out_len, struct mica_err *err)
{
	struct ca_der_w w;
	unsigned char *buf = NULL;
	size_t resp = 0, ext = 0, nonce_ext = 0, body, total, i;

	*out = NULL;
	*out_len = 0;
	if (t == NULL || t->singles == NULL || t->nsingles == 0 ||
	    t->nsingles > CA_OCSP_IDS_MAX || t->produced_at < 0 ||
	    t->produced_at > CA_DER_TIME_LAST ||
	    (t->nonce != NULL &&
	     (t->nonce_len < 1 || t->nonce_len > CA_OCSP_NONCE_MAX)))
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "bad OCSP response data");
	for (i = 0; i < t->nsingles; i++) {
		if (check_single(&t->singles[i]) != 0)
			return mica_err_set(err, MICA_E_INTERNAL,
					    "bad_argument",
					    "bad OCSP single response");
		resp += tlv(single_len(&t->singles[i]));
	}
	if (t->nonce != NULL) {
		/* Extension { extnID, extnValue OCTET STRING { Nonce } } */
		nonce_ext = tlv(sizeof(OID_NONCE)) +
			    tlv(tlv(t->nonce_len));
		ext = tlv(tlv(tlv(nonce_ext)));
	}
	body = 24 + GENTIME + tlv(resp) + ext;
	total = tlv(body);
	if ((buf = malloc(total)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	ca_der_w_init(&w, buf, total);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, body);
	/* version absent (v1); responderID byKey [2] EXPLICIT KeyHash */
	ca_der_w_hdr(&w, CA_DER_CTX_CONS(2), 22);
	ca_der_w_hdr(&w, CA_DER_OCTET_STRING, 20);
	ca_der_w_raw(&w, t->key_hash, 20);
	ca_der_w_gentime(&w, t->produced_at);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, resp);
	for (i = 0; i < t->nsingles; i++) {
		const struct ca_ocsp_single *s = &t->singles[i];

		ca_der_w_hdr(&w, CA_DER_SEQUENCE, single_len(s));
		ca_der_w_raw(&w, s->certid, s->certid_len);
		switch (s->status) {
		case CA_OCSP_GOOD:       /* good [0] IMPLICIT NULL */
			ca_der_w_hdr(&w, CA_DER_CTX(0), 0);
			break;
		case CA_OCSP_UNKNOWN:    /* unknown [2] IMPLICIT NULL */
			ca_der_w_hdr(&w, CA_DER_CTX(2), 0);
			break;
		default:                 /* revoked [1] IMPLICIT RevokedInfo */
			ca_der_w_hdr(&w, CA_DER_CTX_CONS(1), revoked_len(s));
			ca_der_w_gentime(&w, s->revoked_at);
			if (s->reason > 0) {
				ca_der_w_hdr(&w, CA_DER_CTX_CONS(0), 3);
				ca_der_w_hdr(&w, CA_DER_ENUMERATED, 1);
				ca_der_w_byte(&w, (unsigned char)s->reason);
			}
			break;
		}
		ca_der_w_gentime(&w, s->this_update);
		ca_der_w_hdr(&w, CA_DER_CTX_CONS(0), GENTIME);
		ca_der_w_gentime(&w, s->next_update);
		if (s->invalid_at > 0) {
			/* singleExtensions [1] EXPLICIT Extensions */
			ca_der_w_hdr(&w, CA_DER_CTX_CONS(1),
				     tlv(CA_DER_INVALIDITY_TLV));
			ca_der_w_hdr(&w, CA_DER_SEQUENCE, CA_DER_INVALIDITY_TLV);
			ca_der_w_raw(&w, CA_DER_INVALIDITY_HEAD,
				     CA_DER_INVALIDITY_HEAD_LEN);
			ca_der_w_gentime(&w, s->invalid_at);
		}
	}
	if (t->nonce != NULL) {
		/* responseExtensions [1] EXPLICIT Extensions */
		ca_der_w_hdr(&w, CA_DER_CTX_CONS(1), tlv(tlv(nonce_ext)));
		ca_der_w_hdr(&w, CA_DER_SEQUENCE, tlv(nonce_ext));
		ca_der_w_hdr(&w, CA_DER_SEQUENCE, nonce_ext);
		ca_der_w_hdr(&w, CA_DER_OID, sizeof(OID_NONCE));
		ca_der_w_raw(&w, OID_NONCE, sizeof(OID_NONCE));
		ca_der_w_hdr(&w, CA_DER_OCTET_STRING, tlv(t->nonce_len));
		ca_der_w_hdr(&w, CA_DER_OCTET_STRING, t->nonce_len);
		ca_der_w_raw(&w, t->nonce, t->nonce_len);
	}
	if (ca_der_w_done(&w, err) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = total;
	return 0;
}

int
ca_ocsp_basic_encode(const unsigned char *tbs, size_t tbs_len,
		     const unsigned char *alg, size_t alg_len,
		     const unsigned char *sig, size_t sig_len,
		     unsigned char **out, size_t *out_len, struct mica_err *err)
{
	struct ca_der_w w;
	unsigned char *buf = NULL;
	size_t basic, total;

	*out = NULL;
	*out_len = 0;
	if (tbs == NULL || alg == NULL || sig == NULL ||
	    tbs_len > CA_OCSP_TBS_MAX || alg_len > 256 || sig_len > 4096)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "bad OCSP response parts");
	/* BasicOCSPResponse ::= SEQUENCE { tbsResponseData,
	 * signatureAlgorithm, signature BIT STRING, certs [0] EXPLICIT
	 * SEQUENCE OF Certificate OPTIONAL } (RFC 6960 4.2.1): here
	 * without certs. */
	basic = tbs_len + alg_len + tlv(sig_len + 1);
	total = tlv(basic);
	if ((buf = malloc(total)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	ca_der_w_init(&w, buf, total);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, basic);
	ca_der_w_raw(&w, tbs, tbs_len);
	ca_der_w_raw(&w, alg, alg_len);
	ca_der_w_hdr(&w, CA_DER_BIT_STRING, sig_len + 1);
	ca_der_w_byte(&w, 0);
	ca_der_w_raw(&w, sig, sig_len);
	if (ca_der_w_done(&w, err) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = total;
	return 0;
}

int
ca_ocsp_resp_wrap(const unsigned char *basic, size_t basic_len,
		  const unsigned char *cert, size_t cert_len,
		  unsigned char **out, size_t *out_len, struct mica_err *err)
{
	struct ca_der_w w;
	struct ca_der_cur top, b;
	struct mica_err derr;
	const unsigned char *parts, *e;
	unsigned char *buf = NULL;
	size_t parts_len, e_len, body, rb, total;

	*out = NULL;
	*out_len = 0;
	if (basic == NULL || (cert == NULL) != (cert_len == 0) ||
	    cert_len > 65536 || basic_len > CA_OCSP_TBS_MAX + 8192)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "bad OCSP response parts");
	/* What ca_ocsp_basic_encode wrote: SEQUENCE { ResponseData,
	 * AlgorithmIdentifier, BIT STRING } and no certs. The three are
	 * copied as they are; only the lengths around them change. */
	ca_der_init(&top, basic, basic_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &b, &derr) < 0 ||
	    !ca_der_empty(&top))
		goto bad;
	parts = b.p;
	if (ca_der_get_elem(&b, CA_DER_SEQUENCE, &e, &e_len, &derr) < 0 ||
	    ca_der_get_elem(&b, CA_DER_SEQUENCE, &e, &e_len, &derr) < 0 ||
	    ca_der_get_elem(&b, CA_DER_BIT_STRING, &e, &e_len, &derr) < 0 ||
	    !ca_der_empty(&b))
		goto bad;
	parts_len = (size_t)(b.p - parts);
	/* certs [0] EXPLICIT SEQUENCE OF Certificate: the one responder
	 * certificate (RFC 6960 4.2.2.2), so that clients can check the
	 * delegation. None when the CA key signed (4.2.2.2: the issuer
	 * needs no certificate in the response). */
	body = parts_len + (cert != NULL ? tlv(tlv(cert_len)) : 0);
	/* ResponseBytes ::= SEQUENCE { responseType, response OCTET STRING } */
	rb = tlv(sizeof(OID_BASIC)) + tlv(tlv(body));
	/* OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED,
	 * responseBytes [0] EXPLICIT ResponseBytes } */
	total = tlv(3 + tlv(tlv(rb)));
	if ((buf = malloc(total)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	ca_der_w_init(&w, buf, total);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, 3 + tlv(tlv(rb)));
	ca_der_w_hdr(&w, CA_DER_ENUMERATED, 1);
	ca_der_w_byte(&w, CA_OCSP_SUCCESSFUL);
	ca_der_w_hdr(&w, CA_DER_CTX_CONS(0), tlv(rb));
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, rb);
	ca_der_w_hdr(&w, CA_DER_OID, sizeof(OID_BASIC));
	ca_der_w_raw(&w, OID_BASIC, sizeof(OID_BASIC));
	ca_der_w_hdr(&w, CA_DER_OCTET_STRING, tlv(body));
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, body);
	ca_der_w_raw(&w, parts, parts_len);
	if (cert != NULL) {
		ca_der_w_hdr(&w, CA_DER_CTX_CONS(0), tlv(cert_len));
		ca_der_w_hdr(&w, CA_DER_SEQUENCE, cert_len);
		ca_der_w_raw(&w, cert, cert_len);
	}
	if (ca_der_w_done(&w, err) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = total;
	return 0;
bad:
	return mica_err_set(err, MICA_E_INTERNAL, "bad_record",
			    "a stored OCSP response is malformed");
}

void
ca_ocsp_resp_error(int status, unsigned char out[CA_OCSP_ERROR_LEN])
{
	assert(status > 0 && status < 0x80);
	out[0] = CA_DER_SEQUENCE;
	out[1] = 3;
	out[2] = CA_DER_ENUMERATED;
	out[3] = 1;
	out[4] = (unsigned char)status;
}

/* ------------------------------------------------------------------ */
/* What the OCSP key agrees to sign                                    */
/* ------------------------------------------------------------------ */

static int
refuse(struct mica_err *err, const char *rule)
{
	return mica_err_set(err, MICA_E_POLICY, "signer_refused",
			    "signer: %s", rule);
}

/* A GeneralizedTime (RFC 6960 4.2.2.1: OCSP times are GeneralizedTime). */
static int
get_gentime(struct ca_der_cur *c, int64_t *t, struct mica_err *err)
{
	int gen = 0;

	if (ca_der_get_time(c, t, &gen, err) < 0)
		return -1;
	if (!gen)
		return refuse(err, "an OCSP time that is not GeneralizedTime");
	return 0;
}

/* The singleExtensions at C of a SingleResponse revoked at RT (-1: not
 * revoked) for REASON (0 when none is given): only a non-critical
 * invalidityDate, as ca_ocsp_tbs_encode writes it and a CRL entry has it
 * (ca/lint.c), nothing after. */
static int
check_single_exts(struct ca_der_cur *c, int64_t rt, int reason,
		  struct mica_err *err)
{
	struct ca_der_cur x, exts, e, v;
	const unsigned char *oid, *val;
	size_t oid_len, val_len;
	int64_t t;
	struct mica_err derr;

	if (ca_der_enter(c, CA_DER_CTX_CONS(1), &x, &derr) < 0 ||
	    ca_der_enter(&x, CA_DER_SEQUENCE, &exts, &derr) < 0 ||
	    !ca_der_empty(&x) || !ca_der_empty(c))
		return refuse(err, "singleExtensions malformed");
	if (ca_der_enter(&exts, CA_DER_SEQUENCE, &e, &derr) < 0 ||
	    ca_der_get_oid(&e, &oid, &oid_len, &derr) < 0)
		return refuse(err, "singleExtensions malformed");
	if (!ca_der_oid_eq(oid, oid_len,
			   (const unsigned char *)CA_DER_OID_INVALIDITY,
			   CA_DER_OID_INVALIDITY_LEN))
		return refuse(err, "a single extension other than the "
			      "invalidityDate");
	if (!ca_der_empty(&exts))
		return refuse(err, "more than one single extension");
	if (ca_der_peek(&e, CA_DER_BOOLEAN))
		return refuse(err, "invalidityDate critical or malformed");
	if (ca_der_get_tlv(&e, CA_DER_OCTET_STRING, &val, &val_len,
			   &derr) < 0 || !ca_der_empty(&e))
		return refuse(err, "invalidityDate malformed");
	ca_der_init(&v, val, val_len);
	if (get_gentime(&v, &t, &derr) < 0 || !ca_der_empty(&v))
		return refuse(err, "invalidityDate malformed");
	if (rt < 0 || reason == CA_REASON_HOLD)
		return refuse(err, "invalidityDate on a status that is not "
			      "revoked, or on hold");
	if (t > rt)
		return refuse(err, "invalidityDate after the revocationTime");
	if (t <= 0)
		return refuse(err, "invalidityDate not after 1970");
	return 0;
}

int
ca_ocsp_tbs_check(const struct ca_ocsp_issuer *is,
		  const unsigned char key_hash[20], int64_t now,
		  int64_t until, const unsigned char *tbs, size_t tbs_len,
		  struct mica_err *err)
{
	struct ca_der_cur top, rd, rid, list, one, rev, r, nu, x;
	struct ca_der_tlv tl;
	struct ca_ocsp_certid id;
	const unsigned char *kh, *nonce = NULL;
	size_t kh_len, nonce_len = 0, n = 0;
	int64_t produced, tu, next, rt;
	uint64_t reason;
	struct mica_err derr;

	if (is == NULL || key_hash == NULL || tbs == NULL)
		return refuse(err, "no policy");
	if (tbs_len > CA_OCSP_TBS_MAX)
		return refuse(err, "OCSP response data too large");
	ca_der_init(&top, tbs, tbs_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &rd, &derr) < 0 ||
	    !ca_der_empty(&top))
		return refuse(err, "ResponseData malformed");
	if (ca_der_peek(&rd, CA_DER_CTX_CONS(0)))
		return refuse(err, "ResponseData version given (v1 omits it)");
	if (ca_der_enter(&rd, CA_DER_CTX_CONS(2), &rid, &derr) < 0 ||
	    ca_der_get_tlv(&rid, CA_DER_OCTET_STRING, &kh, &kh_len,
			   &derr) < 0 ||
	    !ca_der_empty(&rid))
		return refuse(err, "responderID is not byKey");
	if (kh_len != 20 || memcmp(kh, key_hash, 20) != 0)
		return refuse(err, "responderID is not the OCSP key");
	if (get_gentime(&rd, &produced, &derr) < 0)
		return refuse(err, "producedAt malformed");
	if (produced < now - CA_SIGN_CLOCK_SLACK ||
	    produced > now + CA_SIGN_CLOCK_SLACK)
		return refuse(err, "producedAt too far from now");
	if (ca_der_enter(&rd, CA_DER_SEQUENCE, &list, &derr) < 0 ||
	    ca_der_empty(&list))
		return refuse(err, "responses malformed");
	while (!ca_der_empty(&list)) {
		if (++n > CA_OCSP_IDS_MAX)
			return refuse(err, "too many responses");
		if (ca_der_enter(&list, CA_DER_SEQUENCE, &one, &derr) < 0 ||
		    get_certid(&one, &id, &derr) < 0)
			return refuse(err, "CertID malformed");
		if (!ca_ocsp_certid_is(&id, is))
			return refuse(err, "a CertID of another issuer");
		if (ca_der_get_any(&one, &tl, &derr) < 0)
			return refuse(err, "certStatus malformed");
		rt = -1;
		reason = 0;
		switch (tl.tag) {
		case CA_DER_CTX(0):
		case CA_DER_CTX(2):
			if (tl.len != 0)
				return refuse(err, "certStatus malformed");
			break;
		case CA_DER_CTX_CONS(1):
			ca_der_init(&rev, tl.val, tl.len);
			if (get_gentime(&rev, &rt, &derr) < 0)
				return refuse(err, "revocationTime malformed");
			if (!ca_der_empty(&rev)) {
				if (ca_der_enter(&rev, CA_DER_CTX_CONS(0), &r,
						 &derr) < 0 ||
				    ca_der_get_tlv(&r, CA_DER_ENUMERATED,
						   &kh, &kh_len, &derr) < 0 ||
				    !ca_der_empty(&r) || kh_len != 1 ||
				    !ca_der_empty(&rev))
					return refuse(err, "revocationReason "
						      "malformed");
				reason = kh[0];
				if (!ca_reason_valid((int)reason) ||
				    reason == 0)
					return refuse(err, "revocationReason "
						      "unknown");
			}
			break;
		default:
			return refuse(err, "certStatus unknown");
		}
		if (get_gentime(&one, &tu, &derr) < 0)
			return refuse(err, "thisUpdate malformed");
		if (tu < now - CA_SIGN_CLOCK_SLACK ||
		    tu > now + CA_SIGN_CLOCK_SLACK)
			return refuse(err, "thisUpdate too far from now");
		if (ca_der_enter(&one, CA_DER_CTX_CONS(0), &nu, &derr) < 0 ||
		    get_gentime(&nu, &next, &derr) < 0 || !ca_der_empty(&nu))
			return refuse(err, "nextUpdate missing or malformed");
		if (next <= tu || next - tu > CA_OCSP_PERIOD_MAX)
			return refuse(err, "nextUpdate not within the period");
		if (until > 0 && next > until)
			return refuse(err, "nextUpdate after the end of the "
				      "CA's path");
		if (!ca_der_empty(&one) &&
		    check_single_exts(&one, rt, (int)reason, err) != 0)
			return -1;
	}
	if (ca_der_peek(&rd, CA_DER_CTX_CONS(1))) {
		if (ca_der_enter(&rd, CA_DER_CTX_CONS(1), &x, &derr) < 0 ||
		    get_exts(&x, &nonce, &nonce_len, 1, &derr) < 0 ||
		    !ca_der_empty(&x))
			return refuse(err, "responseExtensions malformed");
		if (nonce == NULL)
			return refuse(err, "a response extension other than "
				      "the nonce");
	}
	if (!ca_der_empty(&rd))
		return refuse(err, "data after the ResponseData");
	return 0;
}

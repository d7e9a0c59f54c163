/*
 * ca/ocsp.h - OCSP (RFC 6960, with the RFC 5019 lightweight profile) in
 * DER: the strict, bounded reader of an OCSPRequest, the writer of the
 * ResponseData a responder signs and of the OCSPResponse around it, and
 * the strict reader of a ResponseData that the holder of the OCSP key runs
 * before it signs (ca/signcheck.h). mbedTLS has no OCSP; this uses mica's
 * own DER cursor and bounded writer (ca/der.h). Pure: no I/O, no key, the
 * clock passed in. The responder that answers from the store is
 * ca/ocsp.c (ca_ocsp_answer in ca/ca.h).
 */
#ifndef MICA_CA_OCSP_H
#define MICA_CA_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Bounds on what a client may send: a request of a few CertIDs is a few
 * hundred octets (RFC 5019 2.1.1 asks for one CertID per request). */
#define CA_OCSP_REQ_MAX     4096
#define CA_OCSP_IDS_MAX     4
/* RFC 9654 2.1: a nonce of 1..128 octets (RFC 8954, which it obsoletes,
 * said 32; a responder must take 16..32, may answer longer ones without
 * the nonce, and must refuse 0 or over 128 as malformedRequest). */
#define CA_OCSP_NONCE_MAX   128
/* Longest ResponseData the signer accepts (a few CertIDs, a nonce). */
#define CA_OCSP_TBS_MAX     (8u * 1024)
/* A response's validity (nextUpdate - thisUpdate), the most the signer
 * accepts, and the delegated responder certificate's lifetime. */
#define CA_OCSP_PERIOD      (INT64_C(24) * 3600)
#define CA_OCSP_PERIOD_MAX  (INT64_C(7) * 24 * 3600)
#define CA_OCSP_CERT_DAYS   4
/* A delegated responder certificate must have this much left (a response
 * it signs never outlives it), and ends with the CA path: in the path's
 * last CA_OCSP_DELEGATE_LEFT none can be made, and the current CA key
 * signs the responses itself (RFC 6960 4.2.2.2). */
#define CA_OCSP_DELEGATE_LEFT (CA_OCSP_PERIOD + INT64_C(12) * 3600)
/* The responder certificate's subject CN (the signer accepts no other). */
#define CA_OCSP_SUBJECT_CN  "mica OCSP responder"

/* OCSPResponseStatus (RFC 6960 4.2.1). */
enum ca_ocsp_rstatus {
	CA_OCSP_SUCCESSFUL = 0,
	CA_OCSP_MALFORMED = 1,
	CA_OCSP_INTERNAL_ERROR = 2,
	CA_OCSP_TRY_LATER = 3,
	CA_OCSP_UNAUTHORIZED = 6,
};

/* CertStatus (RFC 6960 4.2.1). */
enum ca_ocsp_cstatus {
	CA_OCSP_GOOD = 0,
	CA_OCSP_REVOKED = 1,
	CA_OCSP_UNKNOWN = 2,
};

/* The hash of a CertID: SHA-1 (what RFC 5019 clients send), SHA-256,
 * SHA-384 or SHA-512 (RFC 5754 2's OIDs). */
enum ca_ocsp_hash {
	CA_OCSP_SHA1 = 1,
	CA_OCSP_SHA256 = 2,
	CA_OCSP_SHA384 = 3,
	CA_OCSP_SHA512 = 4,
};

/* The digest length of HASH (enum ca_ocsp_hash): 20, 32, 48 or 64; 0 for
 * anything else. */
size_t ca_ocsp_hash_len(int hash);

/* A CertID (RFC 6960 4.1.1) as read from a request. */
struct ca_ocsp_certid {
	int hash;                          /* enum ca_ocsp_hash */
	const unsigned char *raw;          /* the whole CertID, into the input */
	size_t raw_len;
	const unsigned char *name_hash;    /* issuerNameHash, into the input */
	const unsigned char *key_hash;     /* issuerKeyHash, into the input */
	size_t hash_len;                   /* ca_ocsp_hash_len(hash) */
	unsigned char serial[20];          /* magnitude, no leading zero */
	size_t serial_len;                 /* 1..20; 0: a serial no
					    * certificate of mica's has
					    * (zero, negative, longer) */
};

/* An OCSPRequest as read by ca_ocsp_req_parse. Pointers go into the
 * input, which must outlive it. */
struct ca_ocsp_req {
	struct ca_ocsp_certid ids[CA_OCSP_IDS_MAX];
	size_t nids;                       /* 1..CA_OCSP_IDS_MAX */
	const unsigned char *nonce;        /* RFC 9654 nonce, NULL if none */
	size_t nonce_len;                  /* 1..CA_OCSP_NONCE_MAX */
};

/*
 * Read an OCSPRequest (RFC 6960 4.1.1) strictly: DER only, the whole
 * input consumed, at most CA_OCSP_REQ_MAX octets; version absent (v1
 * written out is not DER, X.690 11.5, nor is a critical FALSE); a
 * requestorName and a signature are read and ignored (mica answers
 * anyone, RFC 5019 2.1.2); 1..CA_OCSP_IDS_MAX CertIDs, each with SHA-1,
 * SHA-256, SHA-384 or SHA-512 (parameters NULL or absent; any other
 * algorithm is refused), hashes of that length and any
 * DER INTEGER serial (one no certificate has is answered unknown; a
 * non-minimal one is refused); request
 * extensions: the nonce
 * (1..128 octets, RFC 9654), others ignored unless critical; no
 * singleRequestExtensions that are critical. Anything else: -1 with
 * MICA_E_BADREQ "malformed_ocsp" (answered malformedRequest).
 */
int ca_ocsp_req_parse(const unsigned char *der, size_t len,
		      struct ca_ocsp_req *out, struct mica_err *err);

/* What a CertID must hash to for one issuer: each hash of enum
 * ca_ocsp_hash of its subject Name (whole DER) and of its subjectPublicKey
 * BIT STRING value. key1 is also the KeyHash of a responderID byKey. */
struct ca_ocsp_issuer {
	unsigned char name1[20], key1[20];
	unsigned char name256[32], key256[32];
	unsigned char name384[48], key384[48];
	unsigned char name512[64], key512[64];
};

/* Fill *OUT from the issuer's SUBJECT and SPKI (whole elements). */
int ca_ocsp_issuer_hashes(const unsigned char *subject, size_t subject_len,
			  const unsigned char *spki, size_t spki_len,
			  struct ca_ocsp_issuer *out, struct mica_err *err);

/* Does ID name the issuer IS? 1 yes, 0 no. */
int ca_ocsp_certid_is(const struct ca_ocsp_certid *id,
		      const struct ca_ocsp_issuer *is);

/* The responder's KeyHash (RFC 6960 4.2.1): SHA-1 of the subjectPublicKey
 * BIT STRING value of SPKI. */
int ca_ocsp_key_hash(const unsigned char *spki, size_t spki_len,
		     unsigned char out[20], struct mica_err *err);

/* Longest CertID ca_ocsp_certid_encode writes (173 octets: SHA-512, a
 * 20-octet serial with its leading zero), and the longest a client's is
 * kept in the responder's memory (ca/ocsp.c's answers of serials never
 * issued). */
#define CA_OCSP_CERTID_MAX 192

/* Write the CertID of SERIAL (magnitude, 1..20 octets, no leading zero)
 * under IS with HASH (enum ca_ocsp_hash) into OUT; *LEN its length. */
int ca_ocsp_certid_encode(int hash, const struct ca_ocsp_issuer *is,
			  const unsigned char *serial, size_t serial_len,
			  unsigned char out[CA_OCSP_CERTID_MAX], size_t *len,
			  struct mica_err *err);

/* The request an RFC 5019 client sends for CERTID (one CertID, no
 * nonce, no version, no signature): what a GET /ocsp/{base64} names, and
 * so the file name of a published response. OUT holds SIZE octets; *LEN
 * its length. */
int ca_ocsp_req_encode(const unsigned char *certid, size_t certid_len,
		       unsigned char *out, size_t size, size_t *len,
		       struct mica_err *err);

/* One SingleResponse. */
struct ca_ocsp_single {
	const unsigned char *certid;       /* whole CertID DER (echoed) */
	size_t certid_len;
	int status;                        /* enum ca_ocsp_cstatus */
	int64_t revoked_at;                /* REVOKED: revocationTime */
	int reason;                        /* REVOKED: CRLReason, or -1 / 0
					    * (unspecified): omitted */
	int64_t invalid_at;                /* REVOKED, not on hold: the
					    * invalidity date, written as
					    * the singleExtension (RFC 6960
					    * 4.4: RFC 5280 5.3.2), 0 none;
					    * at most revoked_at */
	int64_t this_update, next_update;
};

/* A ResponseData (RFC 6960 4.2.1): version v1 (absent), responderID
 * byKey, producedAt, the responses, and the nonce extension when set. */
struct ca_ocsp_tbs {
	unsigned char key_hash[20];        /* the responder's KeyHash */
	int64_t produced_at;
	const struct ca_ocsp_single *singles;
	size_t nsingles;                   /* 1..CA_OCSP_IDS_MAX */
	const unsigned char *nonce;        /* NULL: no nonce */
	size_t nonce_len;                  /* 1..CA_OCSP_NONCE_MAX */
};

/* Encode T's ResponseData. Times in GeneralizedTime (RFC 6960 4.2.2.1).
 * *OUT heap. */
int ca_ocsp_tbs_encode(const struct ca_ocsp_tbs *t, unsigned char **out,
		       size_t *out_len, struct mica_err *err);

/*
 * May the OCSP key sign this ResponseData at time NOW? Read strictly: no
 * version (v1), responderID byKey equal to KEY_HASH, producedAt,
 * thisUpdate within CA_SIGN_CLOCK_SLACK of NOW, a nextUpdate after
 * thisUpdate by at most CA_OCSP_PERIOD_MAX and, with UNTIL > 0, not
 * after UNTIL (the end of the CA's path: no answer outlives the issuer),
 * 1..CA_OCSP_IDS_MAX responses
 * whose CertIDs all name the issuer IS, statuses well formed (a known
 * CRLReason), as single extension at most a non-critical invalidityDate
 * (GeneralizedTime, after 1970, not after the revocationTime, on a
 * revoked status that is no hold), at most the nonce as response
 * extension, at most CA_OCSP_TBS_MAX octets. 0 yes; -1 with
 * MICA_E_POLICY "signer_refused" and "signer: <rule>".
 */
int ca_ocsp_tbs_check(const struct ca_ocsp_issuer *is,
		      const unsigned char key_hash[20], int64_t now,
		      int64_t until, const unsigned char *tbs, size_t tbs_len,
		      struct mica_err *err);

/* The BasicOCSPResponse { TBS, ALG, SIG } without its optional certs
 * field: what the store keeps of a pre-signed response (the responder
 * certificate, the same in every response, is added when one is served,
 * by ca_ocsp_resp_wrap). *OUT heap. */
int ca_ocsp_basic_encode(const unsigned char *tbs, size_t tbs_len,
			 const unsigned char *alg, size_t alg_len,
			 const unsigned char *sig, size_t sig_len,
			 unsigned char **out, size_t *out_len,
			 struct mica_err *err);

/* The successful OCSPResponse: responseBytes of type id-pkix-ocsp-basic
 * around the BasicOCSPResponse BASIC (as ca_ocsp_basic_encode wrote it:
 * no certs) with certs [0] { CERT } added (CERT NULL and CERT_LEN 0: none,
 * for a response the CA key signed itself). BASIC is re-read strictly
 * (SEQUENCE of SEQUENCE, SEQUENCE, BIT STRING, nothing else; else -1
 * with MICA_E_INTERNAL "bad_record"). *OUT heap. */
int ca_ocsp_resp_wrap(const unsigned char *basic, size_t basic_len,
		      const unsigned char *cert, size_t cert_len,
		      unsigned char **out, size_t *out_len,
		      struct mica_err *err);

/* An unsuccessful OCSPResponse (STATUS not CA_OCSP_SUCCESSFUL): exactly 5
 * octets, SEQUENCE { ENUMERATED STATUS }, into OUT. */
#define CA_OCSP_ERROR_LEN 5
void ca_ocsp_resp_error(int status, unsigned char out[CA_OCSP_ERROR_LEN]);

#endif

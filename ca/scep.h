/*
 * ca/scep.h - SCEP (RFC 8894) messages in CMS (RFC 5652): the strict,
 * bounded reader of a client's pkiMessage (SignedData around
 * EnvelopedData), the decryption of its content once the content-encryption
 * key is known, the writer of the CertRep a CA answers with, and the check
 * the holder of the RA key runs on the signed attributes it is asked to
 * sign (ca/signcheck.h's counterpart for SCEP).
 *
 * mbedTLS has no CMS; this is mica's own DER code (ca/der.h) with mbedTLS
 * for the primitives (X.509 certificates, RSA, SHA, DES, AES). Nothing here
 * touches a private key: the RSA decryption of the content-encryption key
 * and the signature of a CertRep are the signer's (ca/sign.h), reached
 * through the callbacks below. Pure apart from the kernel's randomness
 * (nonces, content-encryption keys, IVs): no I/O, no store.
 *
 * What real clients send, and what is accepted beyond strict DER:
 *  - micromdm's scepclient (Go's pkcs7): DER throughout, but the
 *    encryptedContent as [0] constructed around one OCTET STRING (RFC 5652
 *    says [0] IMPLICIT OCTET STRING, primitive); SHA-1 digests and
 *    sha1WithRSAEncryption signatures; DES-CBC content encryption whatever
 *    GetCACaps says. Both forms of encryptedContent are accepted (the
 *    constructed one with 1..CA_SCEP_CHUNKS_MAX definite-length OCTET
 *    STRINGs), and SHA-1 is accepted for a client's own message (its
 *    integrity rests on the RSA key transport to mica's RA key, and
 *    refusing it would refuse that client); mica itself signs with SHA-256.
 *  - Indefinite lengths are refused (no client seen here sends them).
 * The reply mirrors the client's content-encryption algorithm, so that a
 * client decrypts what it could encrypt (RFC 8894 3.5.2).
 */
#ifndef MICA_CA_SCEP_H
#define MICA_CA_SCEP_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CA_SCEP_MSG_MAX        (64 * 1024)   /* a pkiMessage accepted */
#define CA_SCEP_CERTS_MAX      8      /* certificates in a pkiMessage */
#define CA_SCEP_RECIPS_MAX     8      /* RecipientInfos in an envelope */
#define CA_SCEP_CHUNKS_MAX     64     /* pieces of a constructed content */
#define CA_SCEP_TID_MAX        128    /* transactionID, printable */
#define CA_SCEP_NONCE_MAX      32     /* sender/recipient nonce (RFC: 16) */
#define CA_SCEP_KEY_MAX        32     /* content-encryption key */
#define CA_SCEP_ATTRS_MAX      4096   /* signed attributes the RA signs */
#define CA_SCEP_EKEY_MAX       512    /* an RSA-4096 encryptedKey */
/* The RA certificate: its subject CN, lifetime, and when it is renewed. */
#define CA_SCEP_RA_CN          "mica SCEP RA"
#define CA_SCEP_RA_DAYS        90
#define CA_SCEP_RA_RENEW_LEFT  (INT64_C(30) * 86400)

/* messageType (RFC 8894 3.2.1.2). */
enum ca_scep_type {
	CA_SCEP_CERTREP = 3,
	CA_SCEP_RENEWALREQ = 17,
	CA_SCEP_PKCSREQ = 19,
	CA_SCEP_CERTPOLL = 20,
	CA_SCEP_GETCERT = 21,
	CA_SCEP_GETCRL = 22,
};

/* pkiStatus (3.2.1.3) and failInfo (3.2.1.4). */
enum ca_scep_status {
	CA_SCEP_SUCCESS = 0, CA_SCEP_FAILURE = 2, CA_SCEP_PENDING = 3,
};
enum ca_scep_fail {
	CA_SCEP_BAD_ALG = 0, CA_SCEP_BAD_MESSAGE_CHECK = 1,
	CA_SCEP_BAD_REQUEST = 2, CA_SCEP_BAD_TIME = 3, CA_SCEP_BAD_CERT_ID = 4,
};

/* Content-encryption algorithms (3.5.2). */
enum ca_scep_cipher {
	CA_SCEP_CIPHER_UNSUPPORTED = 0,   /* any other: answered badAlg */
	CA_SCEP_DES_CBC = 1,        /* 1.3.14.3.2.7: scepclient's */
	CA_SCEP_DES3_CBC = 2,       /* 1.2.840.113549.3.7 */
	CA_SCEP_AES128_CBC = 3,     /* 2.16.840.1.101.3.4.1.2 */
	CA_SCEP_AES192_CBC = 4,
	CA_SCEP_AES256_CBC = 5,
};
/* Octets of the key of CIPHER (8, 24, 16, 24, 32), 0 if unknown. */
size_t ca_scep_cipher_key_len(int cipher);

/* One KeyTransRecipientInfo (RFC 5652 6.2.1) with an
 * issuerAndSerialNumber. */
struct ca_scep_recip {
	const unsigned char *issuer; size_t issuer_len;   /* whole Name */
	const unsigned char *serial; size_t serial_len;   /* INTEGER contents */
	int rsa;            /* keyEncryptionAlgorithm is rsaEncryption (PKCS#1
			     * v1.5); else one mica does not support (RSAES-
			     * OAEP, say), and EKEY is not to be decrypted */
	const unsigned char *ekey; size_t ekey_len;       /* encryptedKey */
};

/* A client's pkiMessage as read by ca_scep_msg_parse. Pointers go into the
 * input (which must outlive it) except CT, heap. */
struct ca_scep_msg {
	int type;                                  /* enum ca_scep_type */
	char tid[CA_SCEP_TID_MAX + 1];             /* transactionID */
	unsigned char nonce[CA_SCEP_NONCE_MAX];    /* senderNonce */
	size_t nonce_len;
	int sig_ok;                /* 1: the SignerInfo's signature and the
				    * messageDigest verify */
	const char *sig_alg_bad;   /* NULL, or why the SignerInfo's digest or
				    * signature algorithm is not one mica
				    * verifies with (static text): then
				    * sig_ok is 0 */
	const unsigned char *signer_cert;   /* the certificate the SignerInfo
					     * names, whole DER */
	size_t signer_cert_len;
	unsigned char signer_hash[32];      /* SHA-256 of that certificate:
					     * a transaction belongs to the
					     * certificate that signed it */
	int signer_rsa;                     /* its key is RSA */
	int signer_key_ok;                  /* ... of a size and exponent a
					     * CSR may have (ca_rsa_key_check),
					     * else the signature is not
					     * verified (sig_ok 0) */
	/* The envelope (RFC 8894 3.3): */
	struct ca_scep_recip recips[CA_SCEP_RECIPS_MAX];
	size_t nrecips;
	int cipher;                         /* enum ca_scep_cipher;
					     * UNSUPPORTED: iv_len 0, CT
					     * read but not to be decrypted */
	unsigned char iv[16]; size_t iv_len;
	unsigned char *ct; size_t ct_len;   /* encryptedContent, heap */
};

/*
 * Read DER[0..LEN) (at most CA_SCEP_MSG_MAX) as a pkiMessage: ContentInfo
 * signedData { SignedData version 1, digestAlgorithms, encapContentInfo
 * id-data with an OCTET STRING holding ContentInfo envelopedData {
 * EnvelopedData version 0, 1..CA_SCEP_RECIPS_MAX KeyTransRecipientInfos
 * (issuerAndSerialNumber, rsaEncryption), EncryptedContentInfo id-data,
 * one of the ciphers above with its IV } }, certificates [0] of
 * 1..CA_SCEP_CERTS_MAX, no CRLs, exactly one SignerInfo version 1 with an
 * issuerAndSerialNumber naming one of those certificates, SHA-1, SHA-256 or
 * SHA-512, signed attributes with contentType id-data, messageDigest,
 * messageType (a number; the engine serves 19, 17, 20, 21 and 22),
 * transactionID and a senderNonce (at
 * most CA_SCEP_NONCE_MAX octets), rsaEncryption or shaNWithRSAEncryption }
 * and nothing after it. Then the signature over the signed attributes (as a
 * SET, RFC 5652 5.4) and the messageDigest are verified: OUT->sig_ok says
 * whether they did (a message read whole but not verified can still be
 * answered with FAILURE badMessageCheck, which needs only its
 * transactionID and nonce).
 * An algorithm mica does not support is no reason not to read the rest
 * (RFC 8894 3.2.1.4.5: it is answered FAILURE badAlg, ca_scep_msg_check):
 * a digest or signature algorithm of any OID (parameters: any one element)
 * sets OUT->sig_alg_bad and is not verified, a keyEncryptionAlgorithm
 * other than rsaEncryption clears that recipient's rsa, a content cipher
 * other than those above makes OUT->cipher CA_SCEP_CIPHER_UNSUPPORTED
 * (parameters: any one element). Known algorithms keep their strict form.
 * Anything malformed, and any message whose signed attributes cannot be
 * read: -1 with MICA_E_BADREQ "bad_scep" (answered 400). Free with
 * ca_scep_msg_free.
 */
int ca_scep_msg_parse(const unsigned char *der, size_t len,
		      struct ca_scep_msg *out, struct mica_err *err);
void ca_scep_msg_free(struct ca_scep_msg *m);

/* The recipient of M that is the certificate CERT (whole DER; its issuer
 * and serial), or -1. */
int ca_scep_msg_recip(const struct ca_scep_msg *m, const unsigned char *cert,
		      size_t cert_len);

/*
 * What M, read whole, gets before anything of it is decrypted (RFC 8894
 * 3.2.1.4), in this order: FAILURE badAlg for a signer's key that is not
 * RSA or not one a CSR may have, or a digest or signature algorithm mica
 * does not verify with (all refused before the signature is checked);
 * badMessageCheck for a signature that does not verify; badRequest for a
 * messageType the engine does not serve; badMessageCheck when no
 * recipient is the certificate RA_CERT (whole DER); badAlg for that
 * recipient's key-encryption algorithm or the content cipher when mica
 * does not support them. Decided from what the message says in the clear
 * and from its signature alone, never from its encrypted content, so the
 * answer tells nothing of that content. 0: go on, *RI the recipient
 * (index into M->recips) to decrypt; -1: answer FAILURE *FAIL_INFO (enum
 * ca_scep_fail), *WHY (static text) for the log. Pure.
 */
int ca_scep_msg_check(const struct ca_scep_msg *m,
		      const unsigned char *ra_cert, size_t ra_cert_len,
		      int *ri, int *fail_info, const char **why);

/*
 * Decrypt M's content with KEY (ca_scep_cipher_key_len(M->cipher)
 * octets), CBC with PKCS#7 padding. *OUT heap (caller frees), at most
 * M->ct_len octets. A wrong key or padding: MICA_E_BADREQ "bad_scep"; a
 * cipher mica does not support: MICA_E_BADREQ "bad_scep_alg".
 */
int ca_scep_decrypt(const struct ca_scep_msg *m, const unsigned char *key,
		    unsigned char **out, size_t *out_len,
		    struct mica_err *err);

/* IssuerAndSerialNumber (GetCert, GetCRL) or IssuerAndSubject (CertPoll):
 * SEQUENCE { Name, INTEGER | Name } read whole from a decrypted content.
 * *A and *B cover the two elements' whole encodings (the INTEGER's
 * contents for a serial). */
int ca_scep_pair_parse(const unsigned char *der, size_t len, int second_int,
		       const unsigned char **a, size_t *a_len,
		       const unsigned char **b, size_t *b_len,
		       struct mica_err *err);

/* What a CertRep says. */
struct ca_scep_rep {
	int status;                               /* enum ca_scep_status */
	int fail_info;                            /* FAILURE: enum
						   * ca_scep_fail */
	const char *tid;                          /* echoed */
	const unsigned char *recipient_nonce;     /* the client's senderNonce */
	size_t recipient_nonce_len;
	/* SUCCESS: the content, a degenerate PKCS#7 (ca/p7.h), encrypted
	 * with CIPHER to the RSA key of RECIPIENT (a certificate, whole
	 * DER: the client's signer certificate). */
	const unsigned char *content; size_t content_len;
	int cipher;
	const unsigned char *recipient; size_t recipient_len;
};

/* The signature over the signed attributes of a CertRep: made by the RA
 * key (ca_sign_scep), SIG CA_SIG_MAX octets (ca/keys.h). */
typedef int (*ca_scep_sign_fn)(void *arg, const unsigned char *attrs,
			       size_t attrs_len, unsigned char *sig,
			       size_t *sig_len, struct mica_err *err);

/*
 * Encode R as a CertRep pkiMessage (RFC 8894 3.3.2) signed by the RA
 * (certificate RA_CERT, whole DER, RSA with SHA-256: SIGN makes the
 * signature), the RA certificate in its certificates. *OUT heap.
 */
int ca_scep_rep_encode(const struct ca_scep_rep *r,
		       const unsigned char *ra_cert, size_t ra_cert_len,
		       ca_scep_sign_fn sign, void *arg, unsigned char **out,
		       size_t *out_len, struct mica_err *err);

/*
 * May the RA key sign this SignedAttributes SET (DER, tag 0x31)? Only one
 * of a CertRep: at most CA_SCEP_ATTRS_MAX octets, attributes only of
 * contentType (id-data), messageDigest, signingTime and SCEP's, each once,
 * messageType "3", a pkiStatus of 0, 2 or 3, a transactionID, nonces.
 * 0 yes; -1 with MICA_E_POLICY "signer_refused" and "signer: <rule>".
 */
int ca_scep_attrs_check(const unsigned char *attrs, size_t len,
			struct mica_err *err);

/* ------------------------------------------------------------------ */
/* GetNextCACert (RFC 8894 3.5.2, 4.7)                                 */
/* ------------------------------------------------------------------ */

/* The largest certs-only message of a next CA certificate signed. */
#define CA_SCEP_NEXTCA_MAX     (16 * 1024)

/*
 * May the RA key vouch for CONTENT[0..LEN) as this CA's next certificate?
 * Yes only when CONTENT is exactly the certs-only PKCS#7 mica writes
 * (ca_p7_encode) of one certificate that is: not CUR (this CA's current
 * certificate, whole DER), a version 3 CA certificate that may sign
 * certificates, with no critical extension mica does not know, named as
 * CUR is (the same subject), not expired at NOW, and issued - name and
 * signature - by ISSUER, the CA certificate that issued CUR (that too is
 * checked). So a front end that lies can have the RA announce only a
 * certificate the CA above really made for this CA's name. Pure: no I/O.
 * 0 yes; -1 with MICA_E_POLICY "signer_refused" and "signer: <rule>".
 */
int ca_scep_nextca_check(const unsigned char *cur, size_t cur_len,
			 const unsigned char *issuer, size_t issuer_len,
			 const unsigned char *content, size_t len, int64_t now,
			 struct mica_err *err);

/*
 * The SignedAttributes SET (DER, tag 0x31) the RA key signs for a
 * GetNextCACert reply carrying CONTENT: contentType id-data and the
 * messageDigest (SHA-256) of CONTENT, nothing else. The signer builds it
 * itself from the content it checked; the writer builds the same. *OUT
 * heap.
 */
int ca_scep_nextca_attrs(const unsigned char *content, size_t len,
			 unsigned char **out, size_t *out_len,
			 struct mica_err *err);

/* The RA key's signature over ca_scep_nextca_attrs(CONTENT): made by the
 * signer (ca_sign_scep_nextca) after ca_scep_nextca_check. SIG
 * CA_SIG_MAX octets. */
typedef int (*ca_scep_nextca_sign_fn)(void *arg, const unsigned char *content,
				      size_t content_len, unsigned char *sig,
				      size_t *sig_len, struct mica_err *err);

/*
 * The GetNextCACert reply (RFC 8894 4.7.1, application/x-x509-next-ca-cert):
 * ContentInfo signedData { SignedData version 1, SHA-256, encapContentInfo
 * id-data with CONTENT (a certs-only PKCS#7) as its OCTET STRING, the RA
 * certificate RA_CERT in certificates, one SignerInfo by the RA (issuer and
 * serial, SHA-256, the attributes above, rsaEncryption) }. *OUT heap.
 */
int ca_scep_nextca_encode(const unsigned char *content, size_t len,
			  const unsigned char *ra_cert, size_t ra_cert_len,
			  ca_scep_nextca_sign_fn sign, void *arg,
			  unsigned char **out, size_t *out_len,
			  struct mica_err *err);

#endif

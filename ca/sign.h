/*
 * ca/sign.h - private to ca/: the only door to the CA key for signing.
 *
 * The engine builds a TBS (to-be-signed) structure, lints it, and then asks
 * here for the signed DER, saying what the TBS is: a leaf certificate, a
 * CRL, a CA certificate (an offline root's, in-process only), a CA's own
 * certificate request, or the self-signed root of a new CA. Nothing else in ca/ calls
 * ca_key_sign() (ca/keys.c holds the key material), so that this file's
 * body can become the client of a signer in a separate process, which
 * re-checks what it is asked to sign, without touching the rest of the
 * engine. (ca/passphrase.c re-seals the key under a new passphrase; that
 * is not signing.)
 *
 * Contracts common to the functions below: TBS is the DER of a
 * TBSCertificate or TBSCertList whose signature field is the
 * AlgorithmIdentifier from ca_sign_alg(); on success *DER is the signed
 * structure (heap, the caller frees it) and *DER_LEN its length.
 */
#ifndef MICA_CA_SIGN_H
#define MICA_CA_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "ca/keys.h"
#include "ca/signcheck.h"
#include "util/err.h"

struct ca;

/* 0 if CA's key is unlocked (the handle was opened with CA_OPEN_UNLOCK),
 * else MICA_E_INTERNAL "ca_locked"; MICA_E_CONFLICT
 * "awaiting_certificate" while the CA has no certificate to sign under. */
int ca_sign_ready(struct ca *ca, struct mica_err *err);

/* The AlgorithmIdentifier (DER, owned by the handle) CA's key signs with,
 * for the signature field of a TBS. The key must be unlocked. */
const unsigned char *ca_sign_alg(struct ca *ca, size_t *len);

/* Sign an end-entity certificate's TBS with CA's key. */
int ca_sign_leaf(struct ca *ca, const unsigned char *tbs, size_t tbs_len,
		 unsigned char **der, size_t *der_len, struct mica_err *err);

/* The AlgorithmIdentifier of key KEY_IDX (the current key or a retired
 * one), NULL if the CA has no such key. */
const unsigned char *ca_sign_alg_key(struct ca *ca, int key_idx, size_t *len);

/* Sign a CRL's TBS, whose cRLNumber is NUMBER, with CA's key KEY_IDX (the
 * current key, or a retired one for the certificates it issued). When the
 * signers have already signed that number (a CRL signed, then never
 * stored), MICA_E_CONFLICT "crl_number_used": publish again with a number
 * above ca_sign_crl_floor(). */
int ca_sign_crl(struct ca *ca, int key_idx, int64_t number,
		const unsigned char *tbs, size_t tbs_len, unsigned char **der,
		size_t *der_len, struct mica_err *err);
/* The highest CRL number known to have been signed with CA's key by this
 * process's signers (0 if none yet). */
int64_t ca_sign_crl_floor(struct ca *ca);

/* Sign the self-signed root of a new CA with its own, freshly generated
 * KEY (ca_init; there is no handle yet). */
int ca_sign_root(struct ca_key *key, const unsigned char *tbs, size_t tbs_len,
		 unsigned char **der, size_t *der_len, struct mica_err *err);

/* Sign a CA certificate's TBS with this root's key, in this process: only
 * a handle opened on the command line (CA_OPEN_UNLOCK) of a self-signed
 * root may (MICA_E_FORBIDDEN "cacert_in_daemon" for the daemon's,
 * MICA_E_CONFLICT "not_a_root" for a subordinate), and only what
 * ca_signcheck_cacert() accepts for X. */
int ca_sign_cacert(struct ca *ca, const struct ca_cacert_expect *x,
		   const unsigned char *tbs, size_t tbs_len,
		   unsigned char **der, size_t *der_len, struct mica_err *err);

/* Sign a CertificationRequestInfo (a CA's own request, ca_x509_tbs_csr)
 * with KEY, a key of this CA that the caller holds (a new CA's, a
 * renewal's): the proof of possession the CA above checks. *DER is the
 * CertificationRequest. */
int ca_sign_request(struct ca_key *key, const unsigned char *cri,
		    size_t cri_len, unsigned char **der, size_t *der_len,
		    struct mica_err *err);

/*
 * OCSP (ca/ocsp.h). Responses are signed by a delegated responder key
 * (or, ca_sign_ocsp_ca, by the CA key that issued the certificates): in
 * the daemon it is made by the keeper at start and
 * lives in the signers only; in-process (the command line, the tests) it is
 * made on first use and lives in the handle. Both are ephemeral.
 *
 * ca_sign_ocsp_key: the OCSP key's SubjectPublicKeyInfo into SPKI (SIZE
 * octets), *LEN its length.
 * ca_sign_ocsp_cert: sign the responder certificate's TBS with the
 * current CA key, after ca_signcheck_ocsp_cert; *DER as above.
 * ca_sign_ocsp: sign a ResponseData with the OCSP key after
 * ca_ocsp_tbs_check against this CA's issuer hashes and KEY_HASH (the
 * OCSP key's); SIG (CA_SIG_MAX) and *SIG_LEN get the signature, *ALG the
 * AlgorithmIdentifier (static).
 */
int ca_sign_ocsp_key(struct ca *ca, unsigned char *spki, size_t size,
		     size_t *len, struct mica_err *err);
int ca_sign_ocsp_cert(struct ca *ca, const unsigned char *tbs, size_t tbs_len,
		      unsigned char **der, size_t *der_len,
		      struct mica_err *err);
int ca_sign_ocsp(struct ca *ca, const unsigned char *tbs, size_t tbs_len,
		 unsigned char sig[CA_SIG_MAX], size_t *sig_len,
		 const unsigned char **alg, size_t *alg_len,
		 struct mica_err *err);
/* Sign a ResponseData with CA key KEY_IDX itself (RFC 6960 4.2.2.2: the
 * CA that issued the certificates), after ca_ocsp_tbs_check against that
 * key's issuer hashes and KeyHash: a retired key while its CA certificate
 * is valid, the current key only on a handle opened with
 * CA_OPEN_OCSP_BY_CA (the signers are told the same at start). SIG and
 * *ALG (the key's AlgorithmIdentifier, owned by the handle) as above. */
int ca_sign_ocsp_ca(struct ca *ca, int key_idx, const unsigned char *tbs,
		    size_t tbs_len, unsigned char sig[CA_SIG_MAX],
		    size_t *sig_len, const unsigned char **alg,
		    size_t *alg_len, struct mica_err *err);

/*
 * SCEP (ca/scep.h). The RA key is RSA and never the CA key: in the daemon
 * the keeper makes it at start and it lives in the signers only;
 * in-process (the tests) it is made on first use and lives in the handle.
 * Both are ephemeral; the RA certificate is renewed at each start.
 *
 * ca_sign_scep_key: its SubjectPublicKeyInfo, as ca_sign_ocsp_key.
 * ca_sign_scep_cert: sign the RA certificate's TBS with the current CA key
 * after ca_signcheck_scep_cert; *DER as above.
 * ca_sign_scep: sign a CertRep's SignedAttributes SET with the RA key after
 * ca_scep_attrs_check (SHA-256, PKCS#1 v1.5); SIG CA_SIG_MAX octets.
 * ca_sign_scep_decrypt: the RA key's PKCS#1 v1.5 decryption of a client's
 * key transport to a content key of WANT octets (ca_key_decrypt: implicit
 * rejection).
 * ca_sign_scep_nextca: for a GetNextCACert reply carrying CONTENT, the RA
 * key's signature over ca_scep_nextca_attrs(CONTENT), after
 * ca_scep_nextca_check against this CA's certificate and its issuer's
 * (the signers': those they were started with); SIG CA_SIG_MAX octets.
 */
int ca_sign_scep_key(struct ca *ca, unsigned char *spki, size_t size,
		     size_t *len, struct mica_err *err);
int ca_sign_scep_cert(struct ca *ca, const unsigned char *tbs, size_t tbs_len,
		      unsigned char **der, size_t *der_len,
		      struct mica_err *err);
int ca_sign_scep(struct ca *ca, const unsigned char *attrs, size_t len,
		 unsigned char sig[CA_SIG_MAX], size_t *sig_len,
		 struct mica_err *err);
int ca_sign_scep_decrypt(struct ca *ca, const unsigned char *ekey,
			 size_t ekey_len, size_t want, unsigned char *out,
			 struct mica_err *err);
int ca_sign_scep_nextca(struct ca *ca, const unsigned char *content,
			size_t len, unsigned char sig[CA_SIG_MAX],
			size_t *sig_len, struct mica_err *err);

#endif

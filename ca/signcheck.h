/*
 * ca/signcheck.h - what the holder of a CA key agrees to sign.
 *
 * The signer process is handed bytes by a front end it does not trust (one
 * memory-safety bug away from an attacker). Before it signs, it reads the
 * to-be-signed structure with the linter's own parser and checks it against
 * rules the front end cannot change: a leaf is never a CA and never signs
 * certificates or CRLs, names only what the CA's allowed domains permit,
 * and its CA certificate's name constraints permit (a UPN as the mailbox
 * it reads like: relying parties constrain none), lies within the CA's
 * validity and a bounded lifetime, and carries the
 * extended key usages of one of mica's built-in profiles; a CRL is well
 * formed, names this CA, and has a plausible date. Whether a CRL number
 * increases is the caller's to track (it needs state shared by every
 * signer). Pure functions: no I/O, no key, the clock passed in.
 *
 * The in-process signing of the command line runs the same checks, so both
 * paths refuse the same things.
 */
#ifndef MICA_CA_SIGNCHECK_H
#define MICA_CA_SIGNCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "ca/x509.h"
#include "util/err.h"

/* Longest leaf lifetime the signer accepts (the profile maximum an admin
 * can set, ca/profile.h), and how far from the signer's clock a notBefore
 * or thisUpdate may lie. */
#define CA_SIGN_LEAF_MAX_DAYS   3650
#define CA_SIGN_CLOCK_SLACK     (INT64_C(24) * 3600)
/* Longest CRL period accepted (nextUpdate - thisUpdate). */
#define CA_SIGN_CRL_MAX_DAYS    400

struct ca_sign_policy {
	const unsigned char *subject;   /* the CA's subject Name, whole DER */
	size_t subject_len;
	unsigned char ski[CA_KEYID_MAX];   /* the CA key's identifier: its
					    * certificate's SKI extension */
	size_t ski_len;                 /* 1..CA_KEYID_MAX */
	const unsigned char *sig_alg;   /* AlgorithmIdentifier the key makes */
	size_t sig_alg_len;
	int64_t not_before, not_after;  /* the CA certificate's validity */
	const char *const *domains;     /* allowed domains; none = any name */
	size_t ndomains;
	const struct ca_nc *nc;         /* the CA certificate's name
					 * constraints, NULL: none */
};

/*
 * May a leaf certificate with this TBSCertificate be signed under P at
 * time NOW? 0 yes; -1 with MICA_E_FORBIDDEN, code "signer_refused" and a
 * message "signer: <rule>" naming the rule that refused it.
 */
int ca_signcheck_leaf(const struct ca_sign_policy *p, int64_t now,
		      const unsigned char *tbs, size_t tbs_len,
		      struct mica_err *err);

/*
 * May this TBSCertList be signed under P at time NOW? On 0, *NUMBER gets
 * its cRLNumber (UINT64_MAX if longer than 64 bits, which is refused by
 * callers that compare). Errors as ca_signcheck_leaf.
 */
int ca_signcheck_crl(const struct ca_sign_policy *p, int64_t now,
		     const unsigned char *tbs, size_t tbs_len,
		     uint64_t *number, struct mica_err *err);

/* What a CA certificate this root signs must say: the subordinate's (or,
 * cross-signing, the other root's) subject and key as requested, and the
 * constraints the root's operator chose. */
struct ca_cacert_expect {
	const unsigned char *subject; size_t subject_len;   /* whole Name */
	const unsigned char *spki; size_t spki_len;         /* whole element */
	int path_len;                   /* pathLenConstraint, -1: none */
	const unsigned char *nc;        /* nameConstraints value (critical),
					 * NULL: none */
	size_t nc_len;
	int64_t max_days;               /* longest validity */
};

/*
 * May this TBSCertificate of a CA certificate be signed under P at time
 * NOW? Only the command line asks, in-process, on an offline root (the
 * daemon's signers know no such request): a CA certificate (cA TRUE,
 * keyCertSign and cRLSign, no EKU, no subjectAltName) for exactly X's
 * subject, key, path length and name constraints, issued by P's CA with
 * its key identifier, within its validity. Errors as ca_signcheck_leaf.
 */
int ca_signcheck_cacert(const struct ca_sign_policy *p,
			const struct ca_cacert_expect *x, int64_t now,
			const unsigned char *tbs, size_t tbs_len,
			struct mica_err *err);

/*
 * May this TBSCertificate of the delegated OCSP responder's certificate
 * (RFC 6960 4.2.2.2) be signed under P at time NOW? Only for exactly the
 * OCSP key SPKI (the signer's own, ephemeral), subject CN
 * CA_OCSP_SUBJECT_CN (ca/ocsp.h), no CA, keyUsage digitalSignature only,
 * extendedKeyUsage id-kp-OCSPSigning only, id-pkix-ocsp-nocheck, no
 * subjectAltName, CRL DP or AIA, this CA's key identifier, a validity of
 * at most CA_OCSP_CERT_DAYS starting near NOW. Errors as
 * ca_signcheck_leaf.
 */
int ca_signcheck_ocsp_cert(const struct ca_sign_policy *p,
			   const unsigned char *spki, size_t spki_len,
			   int64_t now, const unsigned char *tbs,
			   size_t tbs_len, struct mica_err *err);

/*
 * The same for SCEP's RA certificate (ca/scep.h): exactly the RA key SPKI
 * (the signers'), subject CN CA_SCEP_RA_CN, no CA, keyUsage
 * digitalSignature and keyEncipherment, extendedKeyUsage Certificate
 * Request Agent only (CA_EKU_CERT_REQUEST_AGENT), no names, no CRL DP or
 * AIA, this CA's key identifier, at most CA_SCEP_RA_DAYS starting near
 * NOW. Errors as ca_signcheck_leaf.
 */
int ca_signcheck_scep_cert(const struct ca_sign_policy *p,
			   const unsigned char *spki, size_t spki_len,
			   int64_t now, const unsigned char *tbs,
			   size_t tbs_len, struct mica_err *err);

#endif

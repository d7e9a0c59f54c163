/*
 * ca/signcheck.h - what the holder of a CA key agrees to sign.
 *
 * The signer process is handed bytes by a front end it does not trust (one
 * memory-safety bug away from an attacker). Before it signs, it reads the
 * to-be-signed structure with the linter's own parser and checks it against
 * rules the front end cannot change: a leaf is never a CA and never signs
 * certificates or CRLs, names only what the CA's allowed domains permit,
 * lies within the CA's validity and a bounded lifetime, and carries the
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
	unsigned char ski[20];          /* the CA key's identifier */
	const unsigned char *sig_alg;   /* AlgorithmIdentifier the key makes */
	size_t sig_alg_len;
	int64_t not_before, not_after;  /* the CA certificate's validity */
	const char *const *domains;     /* allowed domains; none = any name */
	size_t ndomains;
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

#endif

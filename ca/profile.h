/*
 * ca/profile.h - certificate profiles (the "templates" of Certificate
 * Services) and the issuance policy, as pure functions: no I/O, no keys,
 * no clock (the caller passes "now"), so they are tested with tables.
 */
#ifndef MICA_CA_PROFILE_H
#define MICA_CA_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "ca/names.h"
#include "util/err.h"

/* keyUsage bits, in the bit order of RFC 5280 4.2.1.3 (bit 0 = MSB of the
 * first octet). Stored as a mask 1 << bitnumber. */
#define CA_KU_DIGITAL_SIGNATURE (1u << 0)
#define CA_KU_NON_REPUDIATION   (1u << 1)
#define CA_KU_KEY_ENCIPHERMENT  (1u << 2)
#define CA_KU_DATA_ENCIPHERMENT (1u << 3)
#define CA_KU_KEY_AGREEMENT     (1u << 4)
#define CA_KU_KEY_CERT_SIGN     (1u << 5)
#define CA_KU_CRL_SIGN          (1u << 6)

/* extendedKeyUsage flags */
#define CA_EKU_SERVER_AUTH      (1u << 0)  /* 1.3.6.1.5.5.7.3.1 */
#define CA_EKU_CLIENT_AUTH      (1u << 1)  /* 1.3.6.1.5.5.7.3.2 */
#define CA_EKU_CODE_SIGNING     (1u << 2)  /* 1.3.6.1.5.5.7.3.3 */
#define CA_EKU_EMAIL_PROTECTION (1u << 3)  /* 1.3.6.1.5.5.7.3.4 */
#define CA_EKU_IPSEC_IKE        (1u << 4)  /* 1.3.6.1.5.5.7.3.17 (RFC 4945) */
/* id-kp-OCSPSigning: only the delegated OCSP responder's certificate
 * (ca/ocsp.h), which no profile issues. */
#define CA_EKU_OCSP_SIGNING     (1u << 5)  /* 1.3.6.1.5.5.7.3.9 */
/* Microsoft's Certificate Request Agent (szOID_ENROLLMENT_AGENT): only
 * SCEP's RA certificate (ca/scep.h), which no profile issues either. Windows'
 * NDES gives its RA certificates this purpose alone; with no EKU at all a
 * relying party would take the RA's key for any purpose, TLS client
 * authentication included. */
#define CA_EKU_CERT_REQUEST_AGENT (1u << 6) /* 1.3.6.1.4.1.311.20.2.1 */

/* The profile whose revoked certificates stay on the CRLs after they
 * expire: a code-signing certificate signs what outlives it (a timestamped
 * Authenticode signature is checked against the CRL long after), so its
 * revocation must stay published (CA/Browser Forum Code Signing Baseline
 * Requirements 4.10.1; AD CS keeps such entries too). Every other revoked
 * certificate leaves the CRL once it has expired (RFC 5280 3.3). */
#define CA_PROFILE_KEPT_ON_CRL "codesign"

/* Public key kinds accepted in CSRs. */
enum ca_pubkey_kind { CA_PUBKEY_RSA = 1, CA_PUBKEY_EC_P256 = 2, CA_PUBKEY_EC_P384 = 3 };

struct ca_profile {
	const char *name;          /* "server", "client", "email", "ipsec", "codesign" */
	const char *description;   /* one line for `mica profile list` */
	unsigned ku_rsa;           /* keyUsage for an RSA subject key */
	unsigned ku_ec;            /* keyUsage for an EC subject key */
	unsigned eku;              /* CA_EKU_* */
	unsigned name_kinds;       /* allowed CA_NAME_* kinds */
	int min_names;             /* at least this many names (1 for all) */
	int default_days;          /* built-in default validity */
	int max_days;              /* built-in maximum validity */
};

/* The built-in profiles, in display order; *n receives the count. */
const struct ca_profile *ca_profiles(size_t *n);
/* NULL if NAME is not a profile. */
const struct ca_profile *ca_profile_find(const char *name);

/* Is NAME (a canonical DNS name, possibly "*.x") equal to DOMAIN or under it
 * on a label boundary? "a.contoso.test" and "contoso.test" are under
 * "contoso.test"; "evilcontoso.test" is not. For email names and UPNs the
 * part after '@' is checked. IP names are never "under" a domain. */
int ca_name_in_domain(const struct ca_name *name, const char *domain);

/* Does a token scope pattern cover NAME? Patterns are canonical names;
 * "*.web.contoso.test" covers the literal "*.web.contoso.test" and any name
 * exactly one label below web.contoso.test; other patterns match exactly
 * (DNS names case-insensitive, IPs by octets, emails and UPNs octet for
 * octet). */
int ca_scope_covers(const char *pattern, const struct ca_name *name);

struct ca_policy_input {
	const struct ca_profile *profile;
	int default_days, max_days;     /* effective (after admin overrides) */
	const char *const *domains;     /* the CA's allowed domains */
	size_t ndomains;
	const struct ca_name *names;    /* requested names (canonical) */
	size_t nnames;
	/* Token scope; all NULL/0 when the caller is an admin (no scope). */
	int scoped;                     /* 1 if the scope below applies */
	const char *scope_profile;      /* NULL = any profile */
	const char *const *scope_names; /* NULL = any DNS name or email within
					 * the domains (an IP address or a
					 * UPN only when a pattern names it) */
	size_t nscope_names;
	int key_kind;                   /* enum ca_pubkey_kind */
	int key_bits;
	int requested_days;             /* 0 = profile default */
	int64_t now;
	int64_t ca_not_after;           /* the end of the CA's path: its
					 * certificate's notAfter, or an
					 * earlier one above it
					 * (ca_path_not_after) */
	/* The daemon's own TLS certificate, asked for by an admin (never
	 * with a scope): the single label "localhost" is allowed. Every
	 * other single-label DNS name is refused, here as for any request,
	 * and other names must be under the allowed domains like any other
	 * (the signer process signs nothing else; ca_issue_for_spki leaves
	 * out the machine's names that are not). */
	int daemon_tls;
};

struct ca_policy_decision {
	int64_t not_before;      /* now - 5 minutes (clock skew) */
	int64_t not_after;       /* min(not_before + days, ca_not_after) */
	int days;                /* validity granted, whole days */
	int clamped;             /* 1 if cut to ca_not_after */
	unsigned key_usage;      /* CA_KU_* for this key kind */
	unsigned eku;            /* CA_EKU_* */
};

/*
 * Decide whether the request may be issued: the one place that says yes or
 * no, for every way mica issues an end-entity certificate. Returns 0 and
 * fills *out, or -1 with MICA_E_POLICY (code says which rule: "name_not_allowed",
 * "name_kind_not_allowed", "no_names", "too_many_names", "days_out_of_range",
 * "profile_not_in_scope", "name_not_in_scope", "weak_key") or MICA_E_BADREQ.
 * The message names the offending name. Pure: no I/O.
 */
int ca_policy_check(const struct ca_policy_input *in,
		    struct ca_policy_decision *out, struct mica_err *err);

#endif

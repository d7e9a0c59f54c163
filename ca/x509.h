/*
 * ca/x509.h - DER encoders for what mica signs (certificates and CRLs, built
 * with mbedTLS's asn1write functions), and the linter that checks a
 * to-be-signed structure against RFC 5280 before any signature is made.
 *
 * Nothing here touches a private key: the engine builds a TBS, lints it,
 * asks ca/keys.c to sign the bytes, then wraps TBS + algorithm + signature.
 */
#ifndef MICA_CA_X509_H
#define MICA_CA_X509_H

#include <stddef.h>
#include <stdint.h>

#include "ca/names.h"
#include "util/err.h"

/* Longest key identifier mica writes or accepts (SKI/AKI keyIdentifier):
 * its own are SHA-1 (20 octets), another CA's may be longer. */
#define CA_KEYID_MAX 64
/* Most permitted domains and address ranges mica writes into a CA
 * certificate. */
#define CA_NC_PERMIT_MAX 32

/* Build a Name (RDNSequence) DER with CN and, if ORG is not NULL, O:
 * SEQUENCE { SET { AttributeTypeAndValue CN UTF8String } ... } in the order
 * O then CN (most significant first). CN 1..64 characters (RFC 5280 ub).
 * *out heap. */
int ca_x509_name(const char *cn, const char *org, unsigned char **out,
		 size_t *out_len, struct mica_err *err);

struct ca_tbs_cert {
	const unsigned char *serial;   /* big-endian magnitude, 1..20 octets,
					* first octet non-zero; the encoder
					* adds a leading 0x00 if the top bit
					* is set (must still fit in 20 octets:
					* callers use <= 19 random octets, or
					* 16 with the top bit cleared) */
	size_t serial_len;
	const unsigned char *sig_alg;  /* AlgorithmIdentifier DER (ca/keys.h) */
	size_t sig_alg_len;
	const unsigned char *issuer;   /* Name DER (the issuer's subject, raw) */
	size_t issuer_len;
	const unsigned char *subject;  /* Name DER */
	size_t subject_len;
	int64_t not_before, not_after; /* UTCTime for 1950..2049, else
					* GeneralizedTime (RFC 5280 4.1.2.5) */
	const unsigned char *spki;     /* SubjectPublicKeyInfo DER */
	size_t spki_len;
	/* Extensions, in this order when present: */
	int is_ca;                     /* basicConstraints CA:TRUE critical;
					* for end entities basicConstraints
					* CA:FALSE critical is written */
	int path_len;                  /* -1 = no pathLenConstraint */
	unsigned key_usage;            /* CA_KU_* (ca/profile.h), critical; 0 = none */
	unsigned eku;                  /* CA_EKU_*, not critical; 0 = none */
	const struct ca_name *names;   /* subjectAltName, non-critical
					* (critical if SUBJECT is empty) */
	size_t nnames;
	const char *const *nc_permit;  /* nameConstraints (CA certificates
					* only), critical: permitted DNS
					* domains and address ranges
					* (ca_x509_nc_value); none written
					* when nc_npermit is 0 */
	size_t nc_npermit;
	unsigned char ski[CA_KEYID_MAX];  /* subjectKeyIdentifier, always
					   * written */
	size_t ski_len;                /* 1..CA_KEYID_MAX; 0 means 20 */
	int has_aki;
	unsigned char aki[CA_KEYID_MAX];  /* authorityKeyIdentifier keyIdentifier */
	size_t aki_len;                /* 1..CA_KEYID_MAX; 0 means 20 */
	const char *crl_url;           /* cRLDistributionPoints URI, NULL = none */
	const char *aia_url;           /* authorityInfoAccess caIssuers, NULL = none */
	const char *ocsp_url;          /* authorityInfoAccess OCSP (written
					* before caIssuers), NULL = none */
	int ocsp_nocheck;              /* id-pkix-ocsp-nocheck (RFC 6960
					* 4.2.2.2.1): the delegated OCSP
					* responder's certificate only */
};

/* Encode the TBSCertificate (v3). *out heap. */
int ca_x509_tbs_cert(const struct ca_tbs_cert *t, unsigned char **out,
		     size_t *out_len, struct mica_err *err);

/* SKI per RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT
 * STRING contents of SPKI. */
int ca_x509_key_id(const unsigned char *spki, size_t spki_len,
		   unsigned char out[20], struct mica_err *err);

/*
 * The value (extnValue contents) of a nameConstraints extension (RFC 5280
 * 4.2.1.10) from N PERMIT entries (1..CA_NC_PERMIT_MAX, at least one a
 * domain), each a canonical DNS domain D or a canonical address range
 * (ca_cidr_parse's text, "10.0.0.0/8"). permittedSubtrees: for D, dNSName
 * D (D and every name under it), rfc822Name D (mailboxes at D) and
 * rfc822Name ".D" (mailboxes at hosts under D); for a range, iPAddress
 * address and mask. excludedSubtrees: iPAddress 0.0.0.0/0 when no IPv4
 * range is permitted, ::/0 when no IPv6 one is (CA/Browser Forum BR
 * 7.1.2.10.8), so that no address escapes. *out heap.
 */
int ca_x509_nc_value(const char *const *permit, size_t n,
		     unsigned char **out, size_t *out_len,
		     struct mica_err *err);

/* What a CA's certificate signing request (PKCS#10, RFC 2986) says: the
 * extensions it asks for in an extensionRequest (PKCS#9), for the CA
 * above to copy or to decide on (Windows' SubCA template, openssl ca
 * with copy_extensions). */
struct ca_tbs_csr {
	const unsigned char *subject;  /* Name DER */
	size_t subject_len;
	const unsigned char *spki;     /* SubjectPublicKeyInfo DER */
	size_t spki_len;
	int path_len;                  /* basicConstraints cA TRUE, critical,
					* with this pathLenConstraint; -1 none */
	const char *const *nc_permit;  /* nameConstraints as in ca_tbs_cert */
	size_t nc_npermit;
	const char *crl_url;           /* cRLDistributionPoints asked for the
					* CA certificate, NULL = none */
	const char *aia_url;           /* caIssuers asked, NULL = none */
};

/* Encode the CertificationRequestInfo (v1) asking for a CA certificate:
 * basicConstraints as above, keyUsage keyCertSign, cRLSign and
 * digitalSignature (critical), then the nameConstraints, CDP and AIA
 * given. Sign it and wrap it with ca_x509_wrap (the same three fields as
 * a certificate, RFC 2986 4.2). *out heap. */
int ca_x509_tbs_csr(const struct ca_tbs_csr *r, unsigned char **out,
		    size_t *out_len, struct mica_err *err);

struct ca_crl_entry {
	unsigned char serial[20];  /* magnitude, big-endian, no leading zeros */
	unsigned char serial_len;  /* 1..20 */
	signed char reason;        /* CRLReason; 0 (unspecified) is omitted */
	int64_t revoked_at;
	int64_t invalid_at;        /* RFC 5280 5.3.2 invalidityDate, 0 none;
				    * not after revoked_at, not on hold */
};

struct ca_tbs_crl {
	const unsigned char *sig_alg;  size_t sig_alg_len;
	const unsigned char *issuer;   size_t issuer_len;
	int64_t this_update, next_update;
	int64_t crl_number;            /* > 0 */
	unsigned char aki[CA_KEYID_MAX];  /* the issuing key's identifier */
	size_t aki_len;                /* 1..CA_KEYID_MAX; 0 means 20 */
	const struct ca_crl_entry *entries;   /* may be NULL when n == 0: then
					       * revokedCertificates is
					       * omitted (RFC 5280 5.1.2.6) */
	size_t nentries;
	int64_t delta_base;            /* > 0: a delta CRL completing the
					* complete CRL of this number (Delta
					* CRL Indicator, critical, RFC 5280
					* 5.2.4); 0: a complete CRL */
	const char *freshest_url;      /* a complete CRL: where its deltas
					* are (Freshest CRL, 5.2.6); NULL:
					* none */
};

/* Encode the TBSCertList (v2, with AKI and cRLNumber extensions; each entry
 * carries reasonCode unless unspecified, and invalidityDate, a
 * GeneralizedTime, when it has one). Must cope with 1M entries in
 * about a second and use little more memory than the output. *out heap. */
int ca_x509_tbs_crl(const struct ca_tbs_crl *t, unsigned char **out,
		    size_t *out_len, struct mica_err *err);

/* SEQUENCE { TBS, sig_alg, BIT STRING sig } -> *out heap. For certificates
 * and CRLs alike. */
int ca_x509_wrap(const unsigned char *tbs, size_t tbs_len,
		 const unsigned char *sig_alg, size_t sig_alg_len,
		 const unsigned char *sig, size_t sig_len,
		 unsigned char **out, size_t *out_len, struct mica_err *err);

/* What the linter checks a certificate TBS against. */
struct ca_lint_cert_expect {
	const unsigned char *issuer; size_t issuer_len;  /* must equal */
	int64_t issuer_not_before, issuer_not_after;      /* validity within */
	int is_ca;
	unsigned key_usage;            /* exact keyUsage expected */
	unsigned eku;                  /* exact EKU set expected */
	const struct ca_name *names;   /* exact SAN set expected (order kept) */
	size_t nnames;
	const unsigned char *aki;      /* NULL for a self-signed root */
	size_t aki_len;                /* 0 means 20 */
	int has_path_len;              /* a CA: pathLenConstraint expected */
	int path_len;                  /* ... equal to this (else absent) */
	const unsigned char *nc;       /* exact nameConstraints value
					* expected (critical), NULL: absent */
	size_t nc_len;
	const struct ca_nc *issuer_nc; /* the issuing CA certificate's name
					* constraints: every name must satisfy
					* them (NULL: none) */
	int service;                   /* a service's own certificate that
					* names no host (SCEP's RA, found by
					* GetCACert): no subjectAltName */
};

/* Name constraints as read from a CA certificate (RFC 5280 4.2.1.10), in
 * the name forms mica issues: dNSName, rfc822Name, iPAddress. */
#define CA_NC_MAX (3 * CA_NC_PERMIT_MAX)   /* what mica writes: three
					    * subtrees per domain */
struct ca_nc_subtree {
	int kind;                      /* CA_NAME_DNS, _EMAIL or _IP */
	char value[256];               /* DNS or email constraint, lowercase
					* (may start with '.'; "" matches all) */
	unsigned char ip[16], mask[16];
	size_t ip_len;                 /* 4 or 16 */
};
struct ca_nc {
	struct ca_nc_subtree permitted[CA_NC_MAX], excluded[CA_NC_MAX];
	size_t npermitted, nexcluded;
};

/* Read a nameConstraints extnValue into *NC: GeneralSubtrees of dNSName,
 * rfc822Name and iPAddress (address and mask), minimum 0 and no maximum
 * (RFC 5280: MUST). A subtree of any other form (directoryName, URI...)
 * is refused, MICA_E_UNSUPPORTED "unsupported_name_constraints": mica
 * could not tell which of its names such a CA may certify. Malformed:
 * MICA_E_BADREQ "bad_name_constraints". */
int ca_nc_parse(const unsigned char *val, size_t len, struct ca_nc *nc,
		struct mica_err *err);

/* Does NAME satisfy NC (RFC 5280 4.2.1.10): outside every excluded
 * subtree of its form and, when NC permits any subtree of that form,
 * within one? 1 yes, 0 no. NC NULL: yes. DNS: equal, or under it on a
 * label boundary ("." prefix: strictly under). Email: a constraint with
 * '@' is one mailbox, one starting with '.' a host under it, otherwise a
 * host. IP: within the address and mask. Case-insensitive. A UPN, which
 * no subtree of NC constrains for relying parties, is judged as the email
 * address after its "upn:" (mica's own rule: see ca/lint.c). */
int ca_nc_allows(const struct ca_nc *nc, const struct ca_name *name);

/*
 * Lint a DER TBSCertificate independently of the encoder (own fail-closed
 * DER cursor, whole input consumed): version v3; serial positive, <= 20
 * octets, minimally encoded; signature algorithm known; issuer equal;
 * validity encodings by year (UTCTime < 2050 <= GeneralizedTime, Z, seconds)
 * and notBefore < notAfter within the issuer's; SPKI present; extensions
 * unique, none empty; basicConstraints matches is_ca; keyUsage critical and
 * equal; EKU equal; SAN present (for end entities) and equal to names; SKI
 * present; AKI present and equal (non-root). MICA_E_INTERNAL code
 * "lint_failed" with the rule in the message. Fault point "lint".
 */
int ca_lint_cert(const unsigned char *tbs, size_t tbs_len,
		 const struct ca_lint_cert_expect *e, struct mica_err *err);

/* Lint a DER TBSCertList: v2, issuer, thisUpdate < nextUpdate, time
 * encodings, revokedCertificates absent or non-empty, each serial positive
 * <= 20 octets, entries' reasonCode not "unspecified" (omitted instead),
 * entries' invalidityDate a GeneralizedTime in Zulu without fraction,
 * not after the revocationDate, and never beside certificateHold, AKI and cRLNumber (non-critical, positive, <= 20 octets) present. */
int ca_lint_crl(const unsigned char *tbs, size_t tbs_len,
		const unsigned char *issuer, size_t issuer_len,
		struct mica_err *err);

/* What a TBSCertificate says, as read by ca_lint_cert_read() (for the
 * signer process, which is told nothing it can trust and so must learn what
 * it is asked to sign from the bytes themselves). Pointers go into the TBS. */
struct ca_cert_facts {
	const unsigned char *sig_alg; size_t sig_alg_len;  /* whole element */
	const unsigned char *issuer; size_t issuer_len;    /* whole Name */
	const unsigned char *subject; size_t subject_len;  /* whole Name */
	int64_t not_before, not_after;
	int is_ca;                     /* basicConstraints cA */
	unsigned key_usage;            /* CA_KU_*; 0 when absent */
	unsigned eku;                  /* CA_EKU_*; 0 when absent */
	const unsigned char *aki;      /* keyIdentifier, NULL when absent */
	size_t aki_len;
	int path_len;                  /* pathLenConstraint, -1 when absent */
	const unsigned char *spki;     /* SubjectPublicKeyInfo, whole element */
	size_t spki_len;
	const unsigned char *ski;      /* subjectKeyIdentifier, NULL if absent */
	size_t ski_len;
	const unsigned char *nc;       /* nameConstraints value, NULL if absent */
	size_t nc_len;
	int nc_critical;
	int ocsp_nocheck;              /* id-pkix-ocsp-nocheck present */
	int has_aia;                   /* authorityInfoAccess or CRL DP */
	struct ca_name names[CA_NAMES_MAX];   /* subjectAltName, in order */
	size_t nnames;
};

/* Read a DER TBSCertificate into *F with the linter's fail-closed parser:
 * only the shapes mica issues are understood (v3, known extensions each
 * once, SAN of dNSName/rfc822Name/iPAddress); anything else is refused
 * (MICA_E_INTERNAL "lint_failed", as ca_lint_cert). Names are copied as
 * they are written; a name that is not printable ASCII or longer than
 * CA_NAME_MAX is refused. Does not judge the values: that is the caller's
 * policy, followed by ca_lint_cert() for the remaining RFC 5280 rules. */
int ca_lint_cert_read(const unsigned char *tbs, size_t tbs_len,
		      struct ca_cert_facts *f, struct mica_err *err);

/* What a TBSCertList says (ca_lint_crl_read). */
struct ca_crl_facts {
	const unsigned char *sig_alg; size_t sig_alg_len;  /* whole element */
	uint64_t delta_base;           /* Delta CRL Indicator; 0: none */
	int freshest;                  /* a Freshest CRL extension */
	int64_t this_update, next_update;
	uint64_t number;               /* cRLNumber; UINT64_MAX if longer */
	const unsigned char *aki; size_t aki_len;
	size_t nentries;
};

/* ca_lint_crl(), also returning what the CRL says in *F (may be NULL). */
int ca_lint_crl_read(const unsigned char *tbs, size_t tbs_len,
		     const unsigned char *issuer, size_t issuer_len,
		     struct ca_crl_facts *f, struct mica_err *err);

/* Base64 PEM armour: "-----BEGIN LABEL-----\n" + 64-column base64 + END.
 * *out heap, NUL-terminated. */
int ca_pem_encode(const char *label, const unsigned char *der, size_t len,
		  char **out, struct mica_err *err);
/* The same into the caller's BUF, which must hold exactly
 * ca_pem_size(LABEL, LEN) bytes (the NUL included); 0 when LABEL or LEN
 * cannot be encoded. For large objects (a CRL) kept in one buffer. */
size_t ca_pem_size(const char *label, size_t len);
int ca_pem_encode_buf(const char *label, const unsigned char *der, size_t len,
		      char *buf, size_t size, struct mica_err *err);

#endif

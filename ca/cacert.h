/*
 * ca/cacert.h - CA certificates and CRLs that come from outside: another
 * CA's root (an OpenSSL root, Active Directory Certificate Services), the
 * certificate it issued to this CA, its CRL. No store, no key.
 *
 * Unlike the linter (ca/x509.h), which accepts exactly what mica writes,
 * these readers accept what other CAs write - version 1 roots, extensions
 * mica never writes (certificate policies, Microsoft's CA version...) -
 * while staying bounded and fail-closed: the DER is read with ca/der.h's
 * cursor, every element consumed, an unknown critical extension refused
 * where it matters. Signatures are verified with mbedTLS.
 */
#ifndef MICA_CA_CACERT_H
#define MICA_CA_CACERT_H

#include <stddef.h>
#include <stdint.h>

#include "ca/x509.h"
#include "util/err.h"

#define CA_CERT_DER_MAX   (16 * 1024)    /* largest certificate read */
#define CA_BUNDLE_MAX     16             /* certificates in one file */
#define CA_BUNDLE_FILE_MAX (512 * 1024)  /* largest file of them */

/* What a certificate says (pointers into its DER). */
struct ca_cert_info {
	const unsigned char *der; size_t der_len;         /* the certificate */
	const unsigned char *tbs; size_t tbs_len;         /* whole TBS element */
	const unsigned char *sig_alg; size_t sig_alg_len; /* outer, whole */
	const unsigned char *sig; size_t sig_len;         /* signature octets */
	const unsigned char *serial; size_t serial_len;   /* INTEGER contents */
	const unsigned char *issuer; size_t issuer_len;   /* whole Name */
	const unsigned char *subject; size_t subject_len; /* whole Name */
	const unsigned char *spki; size_t spki_len;       /* whole element */
	int64_t not_before, not_after;
	int version;                 /* 1 or 3 */
	int is_ca;                   /* basicConstraints cA */
	int bc_critical;             /* basicConstraints marked critical */
	int path_len;                /* pathLenConstraint, -1 when absent */
	int has_ku;                  /* keyUsage present */
	unsigned key_usage;          /* CA_KU_* */
	unsigned char ski[CA_KEYID_MAX];  /* the extension's, else computed
					   * (RFC 5280 4.2.1.2 method 1) */
	size_t ski_len;
	int has_ski;                 /* the extension is present */
	const unsigned char *aki; size_t aki_len;   /* keyIdentifier or NULL */
	const unsigned char *nc; size_t nc_len;     /* nameConstraints value */
	const unsigned char *eku; size_t eku_len;   /* extendedKeyUsage value */
	const unsigned char *cdp; size_t cdp_len;   /* cRLDistributionPoints
						     * value */
	const unsigned char *aia; size_t aia_len;   /* authorityInfoAccess
						     * value */
	int require_explicit;        /* policyConstraints requireExplicitPolicy
				      * (SkipCerts, at most CA_SKIPCERTS_MAX),
				      * -1 when absent */
	int inhibit_mapping;         /* its inhibitPolicyMapping, likewise */
	int pc_critical;             /* policyConstraints marked critical */
	int inhibit_any;             /* inhibitAnyPolicy present */
	int key_pss;                 /* the key is id-RSASSA-PSS (RFC 4055
				      * 1.2), not rsaEncryption */
	int unknown_critical;        /* an extension mica does not know, marked
				      * critical */
};

/* A SkipCerts above this is read as this: more than any path holds. */
#define CA_SKIPCERTS_MAX 255

/* Does the extendedKeyUsage of C (when it has one) list PURPOSE (the
 * contents octets of a KeyPurposeId)? 1 yes or no extension, 0 no, -1 a
 * malformed extension. As OpenSSL, NSS and Windows judge a CA
 * certificate's EKU: anyExtendedKeyUsage alone does not count. */
int ca_eku_allows(const struct ca_cert_info *c, const unsigned char *purpose,
		  size_t purpose_len);

/* Does the cRLDistributionPoints (CA_URL_CRL: a fullName) or the
 * authorityInfoAccess (CA_URL_CA_ISSUERS: an id-ad-caIssuers
 * accessLocation) of C name URL, a uniformResourceIdentifier octet for
 * octet? 1 yes, 0 no (or no such extension, or one malformed). */
enum { CA_URL_CRL = 1, CA_URL_CA_ISSUERS = 2 };
int ca_cert_names_url(const struct ca_cert_info *c, int where,
		      const char *url);

/* Read one DER certificate (the whole input). MICA_E_BADREQ
 * "bad_certificate" with the rule in the message. */
int ca_cert_info_read(const unsigned char *der, size_t len,
		      struct ca_cert_info *out, struct mica_err *err);

/* Does SIG (over TBS, with the AlgorithmIdentifier ALG) verify with the
 * key in SPKI? RSA PKCS#1 v1.5 or ECDSA with SHA-256/384/512, or
 * RSASSA-PSS (RFC 4055) with those hashes and MGF1 over one of them, from
 * an rsaEncryption key or an id-RSASSA-PSS one (whose restrictions must
 * hold). 0 yes; MICA_E_BADREQ "bad_signature" no; MICA_E_UNSUPPORTED
 * "unsupported_signature" for another algorithm (SHA-1, Ed25519...). */
int ca_sig_verify(const unsigned char *tbs, size_t tbs_len,
		  const unsigned char *alg, size_t alg_len,
		  const unsigned char *sig, size_t sig_len,
		  const unsigned char *spki, size_t spki_len,
		  struct mica_err *err);

/* Is ALG (a signature's AlgorithmIdentifier) one ca_sig_verify takes,
 * its parameters well formed? Its errors, without verifying anything. */
int ca_sig_alg_check(const unsigned char *alg, size_t alg_len,
		     struct mica_err *err);

/* Was CHILD signed by the key of ISSUER (and named it as its issuer)? */
int ca_cert_issued_by(const struct ca_cert_info *child,
		      const struct ca_cert_info *issuer, struct mica_err *err);

/* A certificate in a bundle: a heap copy of its DER. */
struct ca_der_blob {
	unsigned char *der;
	size_t len;
};
void ca_blobs_free(struct ca_der_blob *v, size_t n);

/*
 * The certificates of a file as one gets them: PEM ("CERTIFICATE",
 * "X509 CERTIFICATE", "TRUSTED CERTIFICATE" blocks, or a "PKCS7" block),
 * DER of one certificate, DER of a PKCS#7 certs-only message (.p7b,
 * ca/p7.h), or bare base64 of either. At most CA_BUNDLE_MAX, each at most
 * CA_CERT_DER_MAX. *OUT heap (free with ca_blobs_free), in file order.
 * MICA_E_BADREQ "bad_certificate" when nothing usable is there.
 */
int ca_certs_load(const unsigned char *in, size_t len,
		  struct ca_der_blob **out, size_t *n, struct mica_err *err);

/* The DER of a file holding one object (a CRL): DER as it is (first
 * octet 0x30), the one PEM block labelled LABEL (a second is refused),
 * or bare base64 of the DER; at most MAX octets. *OUT heap. MICA_E_BADREQ "bad_pem". */
int ca_pem_or_der(const unsigned char *in, size_t len, const char *label,
		  size_t max, unsigned char **out, size_t *out_len,
		  struct mica_err *err);

/* A Name (whole DER element) for people: "CN=Contoso Issuing CA 1,
 * O=Contoso", most significant last as mica shows subjects; attributes
 * by mbedTLS's short name (CN, O, serialNumber, title...), else as its
 * dotted OID; RFC 4514 2.4's special characters of a value after a
 * backslash, one RDN's attributes joined by " + ", the 32 most specific
 * attributes and then "..." for more. A value
 * of a directory string type is its text (ca_dirstring_utf8: a
 * BMPString's UCS-2 and a UniversalString's UCS-4 in UTF-8, a
 * TeletexString read as Latin-1, as OpenSSL reads it) as util/shown.h
 * shows text: a control, a bidirectional or invisible character as \xNN
 * of its UTF-8 octets, a backslash doubled. Any other value, and one that
 * does not decode (a BMPString of odd length, a surrogate, a NUL), is
 * its octets, printable ASCII as it is and the others \xNN (a UTF8String
 * that is not well formed keeps its well-formed characters). So the text
 * is well-formed UTF-8 that no list, page or terminal shows as another
 * name: what the store's subject, an audit detail and a message hold.
 * Cut to fit BUF (SIZE > 0) at a whole character or escape, "..." saying
 * so (SIZE > 4), never after a label without a character of its value. */
void ca_name_text(const unsigned char *name, size_t len, char *buf,
		  size_t size);

/* Whether two Names (whole DER elements) name the same entity as relying
 * parties compare names (RFC 5280 7.1, OpenSSL's canonical form): string
 * values of any directory string type compared as Unicode, with leading
 * and trailing white space dropped, inner runs of it taken as one space
 * and ASCII letters in either case, the attributes of a multi-valued RDN
 * in any order; other values octet for octet. 1 if equal, 0 if not, -1 if
 * either is no Name (or memory ran out). */
int ca_name_match(const unsigned char *a, size_t alen,
		  const unsigned char *b, size_t blen);
/* The value V (LEN octets) of a directory string of type TAG
 * (UTF8String, PrintableString, IA5String, VisibleString, TeletexString
 * read as Latin-1, BMPString, UniversalString) as UTF-8 text into OUT
 * (SIZE octets, NUL-terminated): 0; 1 when TAG is no string type; -1 when
 * the value does not decode (an ASCII type's octet past 0x7f, a BMPString
 * of odd length, a surrogate, which UCS-2 and UCS-4 have none of), holds
 * a NUL or does not fit. */
int ca_dirstring_utf8(unsigned tag, const unsigned char *v, size_t len,
		      char *out, size_t size);

/* Split a concatenation of DER certificates (a chain as the store keeps
 * it) into elements pointing into BUF: at most MAX into V, *N of them. */
int ca_der_split(const unsigned char *buf, size_t len, struct ca_der_blob *v,
		 size_t max, size_t *n, struct mica_err *err);

/* What a CRL from outside says (the root's ARL), read leniently. */
struct ca_crl_info {
	const unsigned char *tbs; size_t tbs_len;
	const unsigned char *sig_alg; size_t sig_alg_len;
	const unsigned char *sig; size_t sig_len;
	const unsigned char *issuer; size_t issuer_len;
	int64_t this_update, next_update;   /* next_update 0 when absent */
	int64_t number;                     /* cRLNumber, -1 when absent or
					     * beyond 63 bits */
	int number_big;                     /* a cRLNumber beyond 63 bits */
	int delta;                          /* deltaCRLIndicator: a delta CRL
					     * (RFC 5280 5.2.4) */
	int part;                           /* an issuingDistributionPoint that
					     * narrows its scope (user or
					     * attribute certificates only,
					     * some reasons, indirect) */
	int unknown_critical;               /* a critical extension of no
					     * kind above (RFC 5280 5.2: the
					     * CRL cannot be used) */
	const unsigned char *idp_dp; size_t idp_dp_len;  /* the IDP's
					     * distributionPoint (a
					     * DistributionPointName), NULL
					     * when none */
	const unsigned char *aki; size_t aki_len;   /* NULL when absent */
	size_t nentries;
	const unsigned char *entries; size_t entries_len;  /* revoked list */
};

/* Read a DER CertificateList (the whole input), up to 16 MiB. */
int ca_crl_info_read(const unsigned char *der, size_t len,
		     struct ca_crl_info *out, struct mica_err *err);
/* Is CRL one relying parties take for certificate C's revocation as far
 * as its scope goes: no distributionPoint in its issuingDistributionPoint,
 * or one of whose names C's cRLDistributionPoints names too (RFC 5280
 * 6.3.3 (b)(2)(i); OpenSSL and GnuTLS otherwise look for another CRL)?
 * 1 yes, 0 no. */
int ca_crl_scope_covers(const struct ca_crl_info *crl,
			const struct ca_cert_info *c);
/* Call CB for each entry of CRL, in order: SERIAL (the INTEGER's
 * contents, positive), its revocationDate, its reasonCode (RFC 5280
 * 5.3.1, 0..10; -1 when it has none) and its invalidityDate (5.3.2: 0
 * when it has none, -1 when it is no GeneralizedTime in RFC 5280's form
 * after 1970, is critical, or there are two; the caller judges). An
 * entry with a certificateIssuer (an indirect CRL's), an unknown
 * critical extension or a malformed reasonCode is MICA_E_BADREQ
 * "bad_crl". CB returning non-zero stops the walk: -1 then, ERR left to
 * CB. */
typedef int (*ca_crl_entry_cb)(void *ctx, const unsigned char *serial,
			       size_t serial_len, int64_t revoked_at,
			       int reason, int64_t invalid_at);
int ca_crl_foreach_entry(const struct ca_crl_info *crl, ca_crl_entry_cb cb,
			 void *ctx, struct mica_err *err);
/* 1 if the CRL lists SERIAL (INTEGER contents), else 0. */
int ca_crl_lists(const struct ca_crl_info *crl, const unsigned char *serial,
		 size_t serial_len);

#endif

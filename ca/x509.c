/*
 * ca/x509.c - DER encoders for what mica signs: Names, TBSCertificate (v3),
 * TBSCertList (v2), the signed wrapper, PEM armour, and key identifiers.
 *
 * Certificates are small and built with mbedTLS's asn1write functions,
 * which write backwards from the end of a buffer sized from the inputs.
 * CRLs may hold a million entries, so they are written forwards by a
 * two-pass writer: the first pass checks every entry and computes the exact
 * encoded length, the second writes into one allocation of that size with
 * ca/der.h's bounded writer, which checks the room before every octet. No
 * intermediate structures, and peak memory is the output itself. Both
 * kinds of writer are given the end of their buffer (mbedTLS's writers
 * the start they write back towards), so a size mistake stops before it
 * writes, and fails as MICA_E_INTERNAL "encode_failed".
 *
 * The inputs come from the engine, but some of them (names, URLs, serials
 * of imported data) started outside, so every field is checked and a bad
 * one is refused with MICA_E_BADREQ ("bad_subject", "bad_serial",
 * "bad_validity", "bad_name", "bad_url", "bad_tbs", "bad_crl"); an
 * allocation or writer failure is MICA_E_INTERNAL. Nothing produced here is
 * trusted: ca/lint.c re-parses the bytes before anything is signed.
 */
#include "ca/x509.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>

#include "ca/ca.h"   /* ca_reason_valid */
#include "ca/der.h"
#include "ca/profile.h"
#include "util/bigmem.h"
#include "util/shown.h"

/* Bounds on what we are asked to encode; generous for mica's own inputs,
 * and they keep every length computation far from overflow. */
#define DN_VALUE_MAX_CHARS 64      /* ub-common-name, ub-organization-name */
#define DN_VALUE_MAX_BYTES (DN_VALUE_MAX_CHARS * 4)
#define ALG_MAX            256
#define NAME_DER_MAX       4096
#define SPKI_MAX           4096
#define URL_MAX            1024
#define SIG_MAX            4096
#define CRL_SERIAL_MAX     20
/* CRLs: one entry is at most 2 + 23 + 17 + 2 + 12 + 26 = 82 octets (a
 * serial of 20 octets with its sign octet, a GeneralizedTime, reasonCode
 * and invalidityDate); keep the whole TBS below 4 GiB so four length
 * octets always suffice. */
#define CRL_ENTRY_MAX      96
#define CRL_ENTRIES_MAX    (((size_t)UINT32_MAX - 65536) / CRL_ENTRY_MAX)

/* OIDs (contents octets). */
static const unsigned char OID_CN[] = { 0x55, 0x04, 0x03 };
static const unsigned char OID_O[] = { 0x55, 0x04, 0x0a };
static const unsigned char OID_BC[] = { 0x55, 0x1d, 0x13 };
static const unsigned char OID_KU[] = { 0x55, 0x1d, 0x0f };
static const unsigned char OID_EKU[] = { 0x55, 0x1d, 0x25 };
static const unsigned char OID_SAN[] = { 0x55, 0x1d, 0x11 };
static const unsigned char OID_SKI[] = { 0x55, 0x1d, 0x0e };
static const unsigned char OID_AKI[] = { 0x55, 0x1d, 0x23 };
static const unsigned char OID_CRLDP[] = { 0x55, 0x1d, 0x1f };
static const unsigned char OID_CRL_NUMBER[] = { 0x55, 0x1d, 0x14 };
static const unsigned char OID_NC[] = { 0x55, 0x1d, 0x1e };
/* deltaCRLIndicator and freshestCRL (RFC 5280 5.2.4, 5.2.6) */
static const unsigned char OID_DELTA[] = { 0x55, 0x1d, 0x1b };
static const unsigned char OID_FRESHEST[] = { 0x55, 0x1d, 0x2e };
/* pkcs-9-at-extensionRequest 1.2.840.113549.1.9.14 (RFC 2985 5.4.2) */
static const unsigned char OID_EXT_REQ[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e,
};
static const unsigned char OID_AIA[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01,
};
static const unsigned char OID_CA_ISSUERS[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02,
};
/* id-ad-ocsp (RFC 5280 4.2.2.1) */
static const unsigned char OID_AD_OCSP[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01,
};
/* id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1) */
static const unsigned char OID_OCSP_NOCHECK[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x05,
};

/* id-kp-* (RFC 5280 4.2.1.12, RFC 4945 5.1.3.12) and Microsoft's
 * Certificate Request Agent, in the order written. */
static const struct {
	unsigned flag;
	unsigned char oid[10];
	size_t len;
} eku_oids[] = {
	{ CA_EKU_SERVER_AUTH,
	  { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 }, 8 },
	{ CA_EKU_CLIENT_AUTH,
	  { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02 }, 8 },
	{ CA_EKU_CODE_SIGNING,
	  { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03 }, 8 },
	{ CA_EKU_EMAIL_PROTECTION,
	  { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04 }, 8 },
	{ CA_EKU_IPSEC_IKE,
	  { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x11 }, 8 },
	{ CA_EKU_OCSP_SIGNING,
	  { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09 }, 8 },
	{ CA_EKU_CERT_REQUEST_AGENT,
	  { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x01 }, 10 },
};
#define NEKU (sizeof(eku_oids) / sizeof(eku_oids[0]))
#define EKU_ALL (CA_EKU_SERVER_AUTH | CA_EKU_CLIENT_AUTH | \
		 CA_EKU_CODE_SIGNING | CA_EKU_EMAIL_PROTECTION | \
		 CA_EKU_IPSEC_IKE | CA_EKU_OCSP_SIGNING | \
		 CA_EKU_CERT_REQUEST_AGENT)
#define KU_ALL  0x7fu   /* digitalSignature .. cRLSign */

static int
oom(struct mica_err *err)
{
	mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	return -1;
}

static int
enc_fail(struct mica_err *err)
{
	mica_err_set(err, MICA_E_INTERNAL, "encode_failed",
		     "DER encoding failed");
	return -1;
}

/* Is BUF[0..LEN) exactly one DER element with TAG (and, if NONEMPTY,
 * non-empty contents)? */
static int
one_element(const unsigned char *buf, size_t len, unsigned tag, int nonempty)
{
	struct ca_der_cur c;
	const unsigned char *v;
	size_t n;

	if (buf == NULL)
		return 0;
	ca_der_init(&c, buf, len);
	if (ca_der_get_tlv(&c, tag, &v, &n, NULL) < 0 || !ca_der_empty(&c))
		return 0;
	return !nonempty || n > 0;
}

/* ------------------------------------------------------------------ */
/* Name                                                                */
/* ------------------------------------------------------------------ */

/*
 * Check S as a DirectoryString value: valid UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), no C0/C1 control
 * characters or DEL, 1..64 characters. *len gets the byte length.
 */
static int
check_dirstring(const char *s, const char *what, size_t *len,
		struct mica_err *err)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n, i = 0, chars = 0;

	n = strnlen(s, DN_VALUE_MAX_BYTES + 1);
	if (n == 0 || n > DN_VALUE_MAX_BYTES)
		goto bad_len;
	while (i < n) {
		uint32_t cp;
		size_t cl;

		if ((cl = mica_utf8_next(u + i, n - i, &cp)) == 0)
			goto bad_utf8;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return mica_err_set(err, MICA_E_BADREQ, "bad_subject",
					    "%s contains a control character",
					    what);
		i += cl;
		chars++;
	}
	if (chars > DN_VALUE_MAX_CHARS)
		goto bad_len;
	*len = n;
	return 0;
bad_len:
	return mica_err_set(err, MICA_E_BADREQ, "bad_subject",
			    "%s must be 1..%d characters", what,
			    DN_VALUE_MAX_CHARS);
bad_utf8:
	return mica_err_set(err, MICA_E_BADREQ, "bad_subject",
			    "%s is not valid UTF-8", what);
}

/* SET { SEQUENCE { type, UTF8String value } } written backwards. */
static int
write_rdn(unsigned char **p, unsigned char *start, const unsigned char *oid,
	  size_t oid_len, const char *val, size_t val_len)
{
	int ret;
	size_t len = 0;

	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_utf8_string(p, start,
								 val, val_len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start,
							 (const char *)oid,
							 oid_len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start,
							 CA_DER_SEQUENCE));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start,
							 CA_DER_SET));
	return (int)len;
}

int
ca_x509_name(const char *cn, const char *org, unsigned char **out,
	     size_t *out_len, struct mica_err *err)
{
	/* Two RDNs of at most 256 value octets plus headers. */
	unsigned char buf[2 * (DN_VALUE_MAX_BYTES + 32) + 16];
	unsigned char *p = buf + sizeof(buf);
	size_t cn_len, org_len = 0, len = 0;
	int ret;

	if (out == NULL || out_len == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "ca_x509_name: no output");
	*out = NULL;
	*out_len = 0;
	if (cn == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_subject",
				    "common name missing");
	if (check_dirstring(cn, "common name", &cn_len, err) < 0)
		return -1;
	if (org != NULL &&
	    check_dirstring(org, "organization", &org_len, err) < 0)
		return -1;
	/* Backwards: CN last in the sequence, so written first. */
	ret = write_rdn(&p, buf, OID_CN, sizeof(OID_CN), cn, cn_len);
	if (ret < 0)
		return enc_fail(err);
	len += (size_t)ret;
	if (org != NULL) {
		ret = write_rdn(&p, buf, OID_O, sizeof(OID_O), org, org_len);
		if (ret < 0)
			return enc_fail(err);
		len += (size_t)ret;
	}
	if ((ret = mbedtls_asn1_write_len(&p, buf, len)) < 0)
		return enc_fail(err);
	len += (size_t)ret;
	if ((ret = mbedtls_asn1_write_tag(&p, buf, CA_DER_SEQUENCE)) < 0)
		return enc_fail(err);
	len += (size_t)ret;
	/* Written backwards: the Name fills the end of BUF. */
	assert(p >= buf && (size_t)(buf + sizeof(buf) - p) == len);
	*out = malloc(len);
	if (*out == NULL)
		return oom(err);
	memcpy(*out, p, len);
	*out_len = len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* TBSCertificate                                                      */
/* ------------------------------------------------------------------ */

/* An IA5String we are willing to put in a GeneralName: printable ASCII
 * without spaces, 1..MAX octets. */
static int
ia5_ok(const char *s, size_t max, size_t *len)
{
	size_t n = strnlen(s, max + 1), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	*len = n;
	return 1;
}

/* An absolute URI (RFC 3986 3.1 scheme, then ":" and something), as
 * RFC 5280 4.2.1.6 requires of a uniformResourceIdentifier. */
static int
check_url(const char *url, const char *what, size_t *len,
	  struct mica_err *err)
{
	size_t i;

	if (!ia5_ok(url, URL_MAX, len))
		goto bad;
	if (!((url[0] >= 'a' && url[0] <= 'z') ||
	      (url[0] >= 'A' && url[0] <= 'Z')))
		goto bad;
	for (i = 1; i < *len && url[i] != ':'; i++) {
		char ch = url[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '+' || ch == '-' ||
		      ch == '.'))
			goto bad;
	}
	if (i >= *len - 1)
		goto bad;
	return 0;
bad:
	return mica_err_set(err, MICA_E_BADREQ, "bad_url",
			    "%s is not an absolute URI of printable ASCII "
			    "(at most %d octets)", what, URL_MAX);
}

/*
 * Wrap the extnValue contents that were just written (VLEN octets in front
 * of *p) into Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT
 * FALSE, extnValue OCTET STRING } (RFC 5280 4.1). DER omits a FALSE
 * critical (X.690 11.5).
 */
static int
write_ext(unsigned char **p, unsigned char *start, const unsigned char *oid,
	  size_t oid_len, int critical, size_t vlen)
{
	int ret;
	size_t len = vlen;

	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, vlen));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start,
							 CA_DER_OCTET_STRING));
	if (critical)
		MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_bool(p, start, 1));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start,
							 (const char *)oid,
							 oid_len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start,
							 CA_DER_SEQUENCE));
	return (int)len;
}

/* Tag and length in front of LEN octets already written. */
static int
write_hdr(unsigned char **p, unsigned char *start, unsigned char tag,
	  size_t len)
{
	int ret;
	size_t n = 0;

	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_tag(p, start, tag));
	return (int)n;
}

/* GeneralName uniformResourceIdentifier [6] IA5String. */
static int
write_uri(unsigned char **p, unsigned char *start, const char *url,
	  size_t url_len)
{
	return mbedtls_asn1_write_tagged_string(p, start, CA_DER_CTX(6),
						url, url_len);
}

/* RFC 5280 4.2.1.9 basicConstraints. */
static int
write_bc(unsigned char **p, unsigned char *start, const struct ca_tbs_cert *t)
{
	int ret;
	size_t len = 0;

	if (t->is_ca) {
		if (t->path_len >= 0)
			MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_int(
					p, start, t->path_len));
		MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_bool(p, start, 1));
	}
	/* An end entity: cA DEFAULT FALSE is omitted, leaving an empty
	 * SEQUENCE (X.690 11.5). */
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_SEQUENCE, len));
	return write_ext(p, start, OID_BC, sizeof(OID_BC), 1, len);
}

/*
 * RFC 5280 4.2.1.3 keyUsage: a named BIT STRING where bit n is the n-th bit
 * from the most significant of the first octet; DER drops trailing zero
 * bits and counts them as unused (X.690 11.2.2).
 */
static int
write_ku(unsigned char **p, unsigned char *start, unsigned ku)
{
	unsigned char v[3];
	unsigned nbits = 0, bit, nbytes;
	size_t len;
	int ret;

	for (bit = 0; bit < 9; bit++)
		if (ku & (1u << bit))
			nbits = bit + 1;
	nbytes = (nbits + 7) / 8;
	assert(nbytes + 1 <= sizeof(v));
	memset(v, 0, sizeof(v));
	v[0] = (unsigned char)(nbytes * 8 - nbits);
	for (bit = 0; bit < nbits; bit++)
		if (ku & (1u << bit))
			v[1 + bit / 8] |= (unsigned char)(0x80u >> (bit % 8));
	len = 0;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, v,
								1 + nbytes));
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_BIT_STRING, len));
	return write_ext(p, start, OID_KU, sizeof(OID_KU), 1, len);
}

/* RFC 5280 4.2.1.12 extendedKeyUsage, purposes in eku_oids order. */
static int
write_eku(unsigned char **p, unsigned char *start, unsigned eku)
{
	size_t len = 0, i;
	int ret;

	for (i = NEKU; i-- > 0;) {
		if ((eku & eku_oids[i].flag) == 0)
			continue;
		MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(
				p, start, (const char *)eku_oids[i].oid,
				eku_oids[i].len));
	}
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_SEQUENCE, len));
	return write_ext(p, start, OID_EKU, sizeof(OID_EKU), 0, len);
}

/* GeneralName otherName [0] { type-id 1.3.6.1.4.1.311.20.2.3, value [0]
 * EXPLICIT UTF8String } (RFC 5280 4.2.1.6), as AD CS writes a UPN: the
 * value is NM's without "upn:", ASCII (so UTF-8 as it is). */
static int
write_upn(unsigned char **p, unsigned char *start, const struct ca_name *nm)
{
	const char *v = ca_name_bare(nm);
	size_t len = 0, vlen = strlen(v);
	int ret;

	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start,
			(const unsigned char *)v, vlen));
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_UTF8_STRING, len));
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_CTX_CONS(0), len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start, CA_UPN_OID,
							 CA_UPN_OID_LEN));
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_CTX_CONS(0), len));
	return (int)len;
}

/* RFC 5280 4.2.1.6 subjectAltName; critical when the subject is empty. */
static int
write_san(unsigned char **p, unsigned char *start, const struct ca_tbs_cert *t,
	  int critical)
{
	size_t len = 0, i;
	int ret;

	for (i = t->nnames; i-- > 0;) {
		const struct ca_name *nm = &t->names[i];

		switch (nm->kind) {
		case CA_NAME_DNS:
		case CA_NAME_EMAIL:
			MBEDTLS_ASN1_CHK_ADD(len,
				mbedtls_asn1_write_tagged_string(p, start,
					nm->kind == CA_NAME_DNS ?
					CA_DER_CTX(2) : CA_DER_CTX(1),
					nm->value, strlen(nm->value)));
			break;
		case CA_NAME_IP:
			MBEDTLS_ASN1_CHK_ADD(len,
				mbedtls_asn1_write_raw_buffer(p, start, nm->ip,
							      nm->ip_len));
			MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start,
					CA_DER_CTX(7), nm->ip_len));
			break;
		case CA_NAME_UPN:
			MBEDTLS_ASN1_CHK_ADD(len, write_upn(p, start, nm));
			break;
		default:
			return MBEDTLS_ERR_ASN1_INVALID_DATA;
		}
	}
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_SEQUENCE, len));
	return write_ext(p, start, OID_SAN, sizeof(OID_SAN), critical, len);
}

/* A key identifier's length: 0 stands for SHA-1's 20 octets. */
static size_t
keyid_len(size_t n)
{
	return n == 0 ? 20 : n;
}

/* KeyIdentifier OCTET STRING inside extnValue (RFC 5280 4.2.1.2). */
static int
write_ski(unsigned char **p, unsigned char *start, const unsigned char *ski,
	  size_t ski_len)
{
	int ret;
	size_t len = 0;

	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_octet_string(p, start,
								  ski, ski_len));
	return write_ext(p, start, OID_SKI, sizeof(OID_SKI), 0, len);
}

/* AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT ... }
 * (RFC 5280 4.2.1.1), non-critical. */
static int
write_aki(unsigned char **p, unsigned char *start, const unsigned char *aki,
	  size_t aki_len)
{
	int ret;
	size_t len = 0;

	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start,
								aki, aki_len));
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_CTX(0), aki_len));
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_SEQUENCE, len));
	return write_ext(p, start, OID_AKI, sizeof(OID_AKI), 0, len);
}

/*
 * RFC 5280 4.2.1.13: SEQUENCE { DistributionPoint SEQUENCE {
 *   distributionPoint [0] { fullName [0] { uniformResourceIdentifier } } } }
 * DistributionPointName is a CHOICE, so its [0] is explicit (constructed);
 * fullName [0] IMPLICIT GeneralNames is constructed as a SEQUENCE is.
 */
static int
write_crldp(unsigned char **p, unsigned char *start, const char *url,
	    size_t url_len)
{
	int ret;
	size_t len = 0;

	MBEDTLS_ASN1_CHK_ADD(len, write_uri(p, start, url, url_len));
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_CTX_CONS(0), len));
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_CTX_CONS(0), len));
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_SEQUENCE, len));
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_SEQUENCE, len));
	return write_ext(p, start, OID_CRLDP, sizeof(OID_CRLDP), 0, len);
}

/* RFC 5280 4.2.2.1 authorityInfoAccess: an OCSP URI (when OCSP_URL is
 * set), then one caIssuers URI (when URL is set); non-critical (MUST). */
static int
write_aia2(unsigned char **p, unsigned char *start, const char *url,
	   size_t url_len, const char *ocsp_url, size_t ocsp_len)
{
	int ret;
	size_t len = 0, one;

	if (url != NULL) {
		one = 0;
		MBEDTLS_ASN1_CHK_ADD(one, write_uri(p, start, url, url_len));
		MBEDTLS_ASN1_CHK_ADD(one, mbedtls_asn1_write_oid(p, start,
			(const char *)OID_CA_ISSUERS, sizeof(OID_CA_ISSUERS)));
		MBEDTLS_ASN1_CHK_ADD(one, write_hdr(p, start, CA_DER_SEQUENCE,
						    one));
		len += one;
	}
	if (ocsp_url != NULL) {
		one = 0;
		MBEDTLS_ASN1_CHK_ADD(one, write_uri(p, start, ocsp_url,
						    ocsp_len));
		MBEDTLS_ASN1_CHK_ADD(one, mbedtls_asn1_write_oid(p, start,
			(const char *)OID_AD_OCSP, sizeof(OID_AD_OCSP)));
		MBEDTLS_ASN1_CHK_ADD(one, write_hdr(p, start, CA_DER_SEQUENCE,
						    one));
		len += one;
	}
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_SEQUENCE, len));
	return write_ext(p, start, OID_AIA, sizeof(OID_AIA), 0, len);
}

static int
write_aia(unsigned char **p, unsigned char *start, const char *url,
	  size_t url_len)
{
	return write_aia2(p, start, url, url_len, NULL, 0);
}

/* RFC 6960 4.2.2.2.1 id-pkix-ocsp-nocheck: extnValue NULL, non-critical. */
static int
write_nocheck(unsigned char **p, unsigned char *start)
{
	int ret;
	size_t len = 0;

	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_NULL, 0));
	return write_ext(p, start, OID_OCSP_NOCHECK, sizeof(OID_OCSP_NOCHECK),
			 0, len);
}

/* A permitted subtree given as text is an address range when it has a
 * '/' (ca_cidr_parse), else a DNS domain. */
static int
nc_is_range(const char *permit)
{
	return strchr(permit, '/') != NULL;
}

/* GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0
 * (omitted in DER), maximum absent (MUST) } with base [TAG] VAL. */
static int
write_subtree(unsigned char **p, unsigned char *start, unsigned char tag,
	      const unsigned char *val, size_t len)
{
	int ret;
	size_t one = 0;

	MBEDTLS_ASN1_CHK_ADD(one, mbedtls_asn1_write_raw_buffer(p, start, val,
								 len));
	MBEDTLS_ASN1_CHK_ADD(one, write_hdr(p, start, tag, one));
	MBEDTLS_ASN1_CHK_ADD(one, write_hdr(p, start, CA_DER_SEQUENCE, one));
	return (int)one;
}

/*
 * RFC 5280 4.2.1.10 NameConstraints ::= SEQUENCE { permittedSubtrees [0]
 * GeneralSubtrees, excludedSubtrees [1] GeneralSubtrees }. For each
 * domain D: dNSName D, rfc822Name D, rfc822Name ".D", so that a stolen
 * issuing key can name neither a host nor a mailbox outside D; for each
 * range: iPAddress, the address then the mask (8 or 32 octets). An
 * address family with no range permitted is excluded whole (0.0.0.0/0,
 * ::/0), as CA/Browser Forum BR 7.1.2.10.8 has it: without that an IP
 * address would be unconstrained, and GnuTLS judges IPv6 addresses only
 * by IPv6 subtrees. Writes the NameConstraints SEQUENCE only (the
 * extnValue contents); the permits are checked (check_nc_permits).
 */
static int
write_nc_value(unsigned char **p, unsigned char *start,
	       const char *const *permit, size_t n)
{
	static const unsigned char zeros[32];
	int ret, has4 = 0, has6 = 0;
	size_t len = 0, ex = 0, i, dl;
	struct ca_cidr c;
	unsigned char ipm[32];

	for (i = 0; i < n; i++) {
		if (nc_is_range(permit[i]) &&
		    ca_cidr_parse(permit[i], &c, NULL) == 0) {
			has4 |= c.ip_len == 4;
			has6 |= c.ip_len == 16;
		}
	}
	/* Written backwards: excludedSubtrees [1] first, ::/0 before
	 * 0.0.0.0/0, so that it reads IPv4 then IPv6. */
	if (!has6)
		MBEDTLS_ASN1_CHK_ADD(ex, write_subtree(p, start, CA_DER_CTX(7),
						       zeros, 32));
	if (!has4)
		MBEDTLS_ASN1_CHK_ADD(ex, write_subtree(p, start, CA_DER_CTX(7),
						       zeros, 8));
	if (ex > 0)
		MBEDTLS_ASN1_CHK_ADD(ex, write_hdr(p, start, CA_DER_CTX_CONS(1),
						   ex));
	for (i = n; i-- > 0;) {
		if (nc_is_range(permit[i])) {
			if (ca_cidr_parse(permit[i], &c, NULL) != 0)
				return MBEDTLS_ERR_ASN1_INVALID_DATA;
			memcpy(ipm, c.ip, c.ip_len);
			memcpy(ipm + c.ip_len, c.mask, c.ip_len);
			MBEDTLS_ASN1_CHK_ADD(len, write_subtree(p, start,
					CA_DER_CTX(7), ipm, 2 * c.ip_len));
			continue;
		}
		/* ".D" (rfc822), "D" (rfc822), "D" (DNS), backwards. */
		dl = strlen(permit[i]);
		{
			size_t one = 0;

			MBEDTLS_ASN1_CHK_ADD(one, mbedtls_asn1_write_raw_buffer(
					p, start,
					(const unsigned char *)permit[i], dl));
			MBEDTLS_ASN1_CHK_ADD(one, mbedtls_asn1_write_raw_buffer(
					p, start, (const unsigned char *)".",
					1));
			MBEDTLS_ASN1_CHK_ADD(one, write_hdr(p, start,
							    CA_DER_CTX(1),
							    one));
			MBEDTLS_ASN1_CHK_ADD(one, write_hdr(p, start,
							    CA_DER_SEQUENCE,
							    one));
			len += one;
		}
		MBEDTLS_ASN1_CHK_ADD(len, write_subtree(p, start, CA_DER_CTX(1),
				(const unsigned char *)permit[i], dl));
		MBEDTLS_ASN1_CHK_ADD(len, write_subtree(p, start, CA_DER_CTX(2),
				(const unsigned char *)permit[i], dl));
	}
	/* permittedSubtrees [0] IMPLICIT GeneralSubtrees: constructed. */
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_CTX_CONS(0), len));
	len += ex;
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_SEQUENCE, len));
	return (int)len;
}

/* RFC 5280 4.2.1.10: "Conforming CAs MUST mark this extension as
 * critical". */
static int
write_nc(unsigned char **p, unsigned char *start, const char *const *permit,
	 size_t n)
{
	int ret;
	size_t len = 0;

	MBEDTLS_ASN1_CHK_ADD(len, write_nc_value(p, start, permit, n));
	return write_ext(p, start, OID_NC, sizeof(OID_NC), 1, len);
}

/* Permitted subtrees: canonical DNS names (ca_name_parse: lowercase, no
 * trailing dot, no wildcard) and canonical address ranges
 * (ca_cidr_parse's text), with at least one DNS name: constraints bind
 * only the name forms they list (RFC 5280 4.2.1.10), so ranges alone
 * would leave every DNS name and mailbox open. */
static int
check_nc_permits(const char *const *permit, size_t n, struct mica_err *err)
{
	struct ca_name nm;
	struct ca_cidr c;
	size_t ndns = 0;

	if (n > CA_NC_PERMIT_MAX || (n > 0 && permit == NULL))
		return mica_err_set(err, MICA_E_BADREQ, "bad_name_constraints",
				    "at most %d permitted subtrees",
				    CA_NC_PERMIT_MAX);
	for (size_t i = 0; i < n; i++) {
		if (permit[i] != NULL && nc_is_range(permit[i])) {
			if (ca_cidr_parse(permit[i], &c, err) != 0)
				return -1;
			if (strcmp(c.text, permit[i]) != 0)
				return mica_err_set(err, MICA_E_BADREQ,
						    "bad_name_constraints",
						    "a permitted range is not "
						    "in canonical form (%s)",
						    c.text);
			continue;
		}
		if (permit[i] == NULL ||
		    ca_name_parse(permit[i], CA_NAME_DNS, &nm, NULL) != 0 ||
		    nm.kind != CA_NAME_DNS || nm.value[0] == '*' ||
		    strcmp(nm.value, permit[i]) != 0)
			return mica_err_set(err, MICA_E_BADREQ,
					    "bad_name_constraints",
					    "a permitted subtree is not a "
					    "canonical DNS domain");
		ndns++;
	}
	if (n > 0 && ndns == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_name_constraints",
				    "address ranges alone leave every DNS name "
				    "unconstrained: permit a DNS domain too");
	return 0;
}

/* Upper bound of the octets write_nc writes for PERMIT: a domain's three
 * subtrees, a range's one (at most 36 octets, less than three times its
 * text), the two exclusions (2 x 36) and the headers. */
static size_t
nc_size(const char *const *permit, size_t n)
{
	size_t sz = 32 + 2 * 40;

	for (size_t i = 0; i < n; i++)
		sz += 3 * (strlen(permit[i]) + 1 + 8);
	return sz;
}

/* Extensions in the header's order, so written last-first. */
static int
write_exts(unsigned char **p, unsigned char *start,
	   const struct ca_tbs_cert *t, size_t crl_len, size_t aia_len,
	   size_t ocsp_len, int subject_empty)
{
	int ret;
	size_t len = 0;

	if (t->ocsp_nocheck)
		MBEDTLS_ASN1_CHK_ADD(len, write_nocheck(p, start));
	if (t->aia_url != NULL || t->ocsp_url != NULL)
		MBEDTLS_ASN1_CHK_ADD(len, write_aia2(p, start, t->aia_url,
						     aia_len, t->ocsp_url,
						     ocsp_len));
	if (t->crl_url != NULL)
		MBEDTLS_ASN1_CHK_ADD(len, write_crldp(p, start, t->crl_url,
						      crl_len));
	if (t->has_aki)
		MBEDTLS_ASN1_CHK_ADD(len, write_aki(p, start, t->aki,
						    keyid_len(t->aki_len)));
	MBEDTLS_ASN1_CHK_ADD(len, write_ski(p, start, t->ski,
					    keyid_len(t->ski_len)));
	if (t->nc_npermit > 0)
		MBEDTLS_ASN1_CHK_ADD(len, write_nc(p, start, t->nc_permit,
						   t->nc_npermit));
	if (t->nnames > 0)
		MBEDTLS_ASN1_CHK_ADD(len, write_san(p, start, t,
						    subject_empty));
	if (t->eku != 0)
		MBEDTLS_ASN1_CHK_ADD(len, write_eku(p, start, t->eku));
	if (t->key_usage != 0)
		MBEDTLS_ASN1_CHK_ADD(len, write_ku(p, start, t->key_usage));
	MBEDTLS_ASN1_CHK_ADD(len, write_bc(p, start, t));
	/* extensions [3] EXPLICIT Extensions (RFC 5280 4.1) */
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_SEQUENCE, len));
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_CTX_CONS(3), len));
	return (int)len;
}

/* Check the serial rules of RFC 5280 4.1.2.2 on a magnitude: 1..20 octets
 * once encoded (a 0x00 is prepended when the top bit is set), no leading
 * zero octet. */
static int
check_serial(const unsigned char *s, size_t n, const char *what,
	     struct mica_err *err)
{
	if (s == NULL || n == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "%s missing", what);
	if (s[0] == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "%s has a leading zero octet or is zero",
				    what);
	if (n + ((s[0] & 0x80) != 0) > 20)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "%s longer than 20 octets once encoded",
				    what);
	return 0;
}

/* INTEGER from a positive magnitude, written backwards. */
static int
write_serial(unsigned char **p, unsigned char *start, const unsigned char *s,
	     size_t n)
{
	int ret;
	size_t len = 0;

	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, s, n));
	if (s[0] & 0x80) {
		static const unsigned char zero = 0;

		MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(
				p, start, &zero, 1));
	}
	MBEDTLS_ASN1_CHK_ADD(len, write_hdr(p, start, CA_DER_INTEGER, len));
	return (int)len;
}

/* Everything ca_x509_tbs_cert refuses, before any byte is written. */
static int
check_tbs_cert(const struct ca_tbs_cert *t, size_t *crl_len, size_t *aia_len,
	       size_t *ocsp_len, struct mica_err *err)
{
	size_t i, n;

	if (check_serial(t->serial, t->serial_len, "serial", err) < 0)
		return -1;
	if (t->sig_alg_len > ALG_MAX ||
	    !one_element(t->sig_alg, t->sig_alg_len, CA_DER_SEQUENCE, 1))
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "signature algorithm is not one DER "
				    "AlgorithmIdentifier");
	/* RFC 5280 4.1.2.4: the issuer field MUST contain a non-empty DN. */
	if (t->issuer_len > NAME_DER_MAX ||
	    !one_element(t->issuer, t->issuer_len, CA_DER_SEQUENCE, 1))
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "issuer is not one non-empty DER Name");
	if (t->subject_len > NAME_DER_MAX ||
	    !one_element(t->subject, t->subject_len, CA_DER_SEQUENCE, 0))
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "subject is not one DER Name");
	if (t->spki_len > SPKI_MAX ||
	    !one_element(t->spki, t->spki_len, CA_DER_SEQUENCE, 1))
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "subject public key is not one DER "
				    "SubjectPublicKeyInfo");
	if (t->not_before < CA_DER_TIME_MIN || t->not_after > CA_DER_TIME_LAST)
		return mica_err_set(err, MICA_E_BADREQ, "bad_validity",
				    "validity outside years 0000..9999");
	if (t->not_before >= t->not_after)
		return mica_err_set(err, MICA_E_BADREQ, "bad_validity",
				    "notBefore must be before notAfter");
	/* RFC 5280 4.2.1.9: pathLenConstraint only with cA TRUE. */
	if (t->path_len < -1 || (!t->is_ca && t->path_len != -1))
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "path length constraint needs a CA and "
				    "a value >= 0");
	if ((t->key_usage & ~KU_ALL) != 0 || (t->eku & ~EKU_ALL) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "unknown key usage bits");
	/* RFC 5280 4.2.1.3: keyCertSign requires cA TRUE. */
	if ((t->key_usage & CA_KU_KEY_CERT_SIGN) && !t->is_ca)
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "keyCertSign in a non-CA certificate");
	if (t->nnames > CA_NAMES_MAX || (t->nnames > 0 && t->names == NULL))
		return mica_err_set(err, MICA_E_BADREQ, "bad_name",
				    "at most %d subject alternative names",
				    CA_NAMES_MAX);
	for (i = 0; i < t->nnames; i++) {
		const struct ca_name *nm = &t->names[i];

		if (nm->kind == CA_NAME_IP) {
			if (nm->ip_len != 4 && nm->ip_len != 16)
				return mica_err_set(err, MICA_E_BADREQ,
						    "bad_name", "IP address "
						    "of %zu octets", nm->ip_len);
		} else if (nm->kind == CA_NAME_DNS ||
			   nm->kind == CA_NAME_EMAIL ||
			   nm->kind == CA_NAME_UPN) {
			if (!ia5_ok(nm->value, sizeof(nm->value) - 1, &n))
				return mica_err_set(err, MICA_E_BADREQ,
						    "bad_name", "name %zu is "
						    "not printable ASCII", i);
			if (nm->kind == CA_NAME_UPN &&
			    (n <= CA_UPN_PREFIX_LEN ||
			     strncmp(nm->value, CA_UPN_PREFIX,
				     CA_UPN_PREFIX_LEN) != 0))
				return mica_err_set(err, MICA_E_BADREQ,
						    "bad_name", "name %zu is "
						    "a UPN without \"upn:\"", i);
		} else {
			return mica_err_set(err, MICA_E_BADREQ, "bad_name",
					    "name %zu of unknown kind", i);
		}
	}
	/* RFC 5280 4.1.2.6: an empty subject needs subjectAltName. */
	if (t->subject_len == 2 && t->nnames == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_name",
				    "an empty subject needs alternative names");
	if (t->ski_len > CA_KEYID_MAX || t->aki_len > CA_KEYID_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "key identifier longer than %d octets",
				    CA_KEYID_MAX);
	/* RFC 5280 4.2.1.10: name constraints only in a CA certificate. */
	if (t->nc_npermit > 0 && !t->is_ca)
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "name constraints in a non-CA certificate");
	if (check_nc_permits(t->nc_permit, t->nc_npermit, err) < 0)
		return -1;
	if (t->crl_url != NULL &&
	    check_url(t->crl_url, "CRL distribution point", crl_len, err) < 0)
		return -1;
	if (t->aia_url != NULL &&
	    check_url(t->aia_url, "CA issuers URL", aia_len, err) < 0)
		return -1;
	if (t->ocsp_url != NULL &&
	    check_url(t->ocsp_url, "OCSP URL", ocsp_len, err) < 0)
		return -1;
	return 0;
}

int
ca_x509_tbs_cert(const struct ca_tbs_cert *t, unsigned char **out,
		 size_t *out_len, struct mica_err *err)
{
	unsigned char *buf = NULL, *p;
	unsigned char tm[2][CA_DER_TIME_MAX];
	size_t size, len = 0, crl_len = 0, aia_len = 0, ocsp_len = 0, tm_len[2];
	int ret, rc = -1;

	if (out == NULL || out_len == NULL || t == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "ca_x509_tbs_cert: missing argument");
	*out = NULL;
	*out_len = 0;
	if (check_tbs_cert(t, &crl_len, &aia_len, &ocsp_len, err) < 0)
		return -1;
	if (ca_der_put_time(t->not_before, tm[0], &tm_len[0], err) < 0 ||
	    ca_der_put_time(t->not_after, tm[1], &tm_len[1], err) < 0)
		return -1;

	/* Every variable part plus 1 KiB for the fixed parts (version,
	 * validity, basicConstraints, keyUsage, EKU, SKI, AKI and all
	 * headers come to about 400 octets): an upper bound, not the exact
	 * size. mbedTLS's writers are given BUF as their end (they write
	 * backwards), so a bound too small fails as "encode_failed" before
	 * anything lands outside BUF. */
	size = 1024 + 24 + t->sig_alg_len + t->issuer_len + t->subject_len +
	       t->spki_len + crl_len + 32 + aia_len + 32 + ocsp_len + 64 +
	       t->nnames * (sizeof(t->names[0].value) + 8) +
	       2 * CA_KEYID_MAX + nc_size(t->nc_permit, t->nc_npermit);
	buf = malloc(size);
	if (buf == NULL) {
		oom(err);
		goto out;
	}
	p = buf + size;

#define ADD(call) do {				\
		if ((ret = (call)) < 0)		\
			goto enc;		\
		len += (size_t)ret;		\
	} while (0)

	ADD(write_exts(&p, buf, t, crl_len, aia_len, ocsp_len,
		       t->subject_len == 2));
	ADD(mbedtls_asn1_write_raw_buffer(&p, buf, t->spki, t->spki_len));
	ADD(mbedtls_asn1_write_raw_buffer(&p, buf, t->subject,
					  t->subject_len));
	/* Validity ::= SEQUENCE { notBefore Time, notAfter Time } */
	ADD(mbedtls_asn1_write_raw_buffer(&p, buf, tm[1], tm_len[1]));
	ADD(mbedtls_asn1_write_raw_buffer(&p, buf, tm[0], tm_len[0]));
	ADD(write_hdr(&p, buf, CA_DER_SEQUENCE, tm_len[0] + tm_len[1]));
	ADD(mbedtls_asn1_write_raw_buffer(&p, buf, t->issuer, t->issuer_len));
	ADD(mbedtls_asn1_write_raw_buffer(&p, buf, t->sig_alg,
					  t->sig_alg_len));
	ADD(write_serial(&p, buf, t->serial, t->serial_len));
	/* version [0] EXPLICIT INTEGER v3(2) */
	ADD(mbedtls_asn1_write_int(&p, buf, 2));
	ADD(write_hdr(&p, buf, CA_DER_CTX_CONS(0), 3));
	ADD(write_hdr(&p, buf, CA_DER_SEQUENCE, len));
#undef ADD
	assert(p >= buf && (size_t)(buf + size - p) == len);

	*out = malloc(len);
	if (*out == NULL) {
		oom(err);
		goto out;
	}
	memcpy(*out, p, len);
	*out_len = len;
	rc = 0;
	goto out;
enc:
	enc_fail(err);
out:
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Key identifier                                                      */
/* ------------------------------------------------------------------ */

int
ca_x509_key_id(const unsigned char *spki, size_t spki_len,
	       unsigned char out[20], struct mica_err *err)
{
	struct ca_der_cur top, c, alg;
	const unsigned char *oid, *bits;
	size_t oid_len, nbytes;
	unsigned unused;

	if (spki == NULL || spki_len > SPKI_MAX)
		goto bad;
	/* SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
	 *   subjectPublicKey BIT STRING } (RFC 5280 4.1) */
	ca_der_init(&top, spki, spki_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, NULL) < 0 ||
	    !ca_der_empty(&top) ||
	    ca_der_enter(&c, CA_DER_SEQUENCE, &alg, NULL) < 0 ||
	    ca_der_get_oid(&alg, &oid, &oid_len, NULL) < 0 ||
	    ca_der_get_bitstring(&c, &bits, &nbytes, &unused, NULL) < 0 ||
	    !ca_der_empty(&c) || unused != 0 || nbytes == 0)
		goto bad;
	/* RFC 5280 4.2.1.2 (1): SHA-1 of the BIT STRING value, excluding
	 * tag, length and the unused-bits octet. */
	if (mbedtls_sha1(bits, nbytes, out) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "hash_failed",
				    "SHA-1 failed");
	return 0;
bad:
	return mica_err_set(err, MICA_E_BADREQ, "bad_spki",
			    "malformed SubjectPublicKeyInfo");
}

/* ------------------------------------------------------------------ */
/* Name constraints and a CA's request                                 */
/* ------------------------------------------------------------------ */

int
ca_x509_nc_value(const char *const *permit, size_t n, unsigned char **out,
		 size_t *out_len, struct mica_err *err)
{
	unsigned char *buf, *p;
	size_t size;
	int ret;

	if (out == NULL || out_len == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "ca_x509_nc_value: no output");
	*out = NULL;
	*out_len = 0;
	if (n == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_name_constraints",
				    "no permitted subtree");
	if (check_nc_permits(permit, n, err) < 0)
		return -1;
	size = nc_size(permit, n);
	if ((buf = malloc(size)) == NULL)
		return oom(err);
	p = buf + size;
	if ((ret = write_nc_value(&p, buf, permit, n)) < 0) {
		free(buf);
		return enc_fail(err);
	}
	/* Written backwards: move it to the front. */
	memmove(buf, p, (size_t)ret);
	*out = buf;
	*out_len = (size_t)ret;
	return 0;
}

int
ca_x509_tbs_csr(const struct ca_tbs_csr *r, unsigned char **out,
		size_t *out_len, struct mica_err *err)
{
	struct ca_tbs_cert t;
	unsigned char *buf = NULL, *p;
	size_t size, len = 0, ext, crl_len = 0, aia_len = 0;
	int ret, rc = -1;

	if (r == NULL || out == NULL || out_len == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "ca_x509_tbs_csr: missing argument");
	*out = NULL;
	*out_len = 0;
	if (r->subject_len > NAME_DER_MAX ||
	    !one_element(r->subject, r->subject_len, CA_DER_SEQUENCE, 1))
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "subject is not one non-empty DER Name");
	if (r->spki_len > SPKI_MAX ||
	    !one_element(r->spki, r->spki_len, CA_DER_SEQUENCE, 1))
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "subject public key is not one DER "
				    "SubjectPublicKeyInfo");
	if (r->path_len < -1 || r->path_len > 16)
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "path length constraint out of range");
	if (check_nc_permits(r->nc_permit, r->nc_npermit, err) < 0)
		return -1;
	if ((r->crl_url != NULL &&
	     check_url(r->crl_url, "CRL distribution point", &crl_len,
		       err) < 0) ||
	    (r->aia_url != NULL &&
	     check_url(r->aia_url, "CA issuers URL", &aia_len, err) < 0))
		return -1;
	/* The extensions a CA certificate would carry, without the key
	 * identifiers (the CA above computes them). */
	memset(&t, 0, sizeof(t));
	t.is_ca = 1;
	t.path_len = r->path_len;
	t.key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN |
		      CA_KU_DIGITAL_SIGNATURE;
	t.nc_permit = r->nc_permit;
	t.nc_npermit = r->nc_npermit;
	size = 512 + r->subject_len + r->spki_len + crl_len + aia_len +
	       nc_size(r->nc_permit, r->nc_npermit);
	if ((buf = malloc(size)) == NULL)
		return oom(err);
	p = buf + size;

#define ADD(call) do {				\
		if ((ret = (call)) < 0)		\
			goto enc;		\
		len += (size_t)ret;		\
	} while (0)

	/* Extensions ::= SEQUENCE OF Extension */
	if (r->aia_url != NULL)
		ADD(write_aia(&p, buf, r->aia_url, aia_len));
	if (r->crl_url != NULL)
		ADD(write_crldp(&p, buf, r->crl_url, crl_len));
	if (t.nc_npermit > 0)
		ADD(write_nc(&p, buf, t.nc_permit, t.nc_npermit));
	ADD(write_ku(&p, buf, t.key_usage));
	ADD(write_bc(&p, buf, &t));
	ADD(write_hdr(&p, buf, CA_DER_SEQUENCE, len));
	/* Attribute ::= SEQUENCE { type extensionRequest, values SET {
	 * Extensions } } inside attributes [0] IMPLICIT SET OF Attribute
	 * (RFC 2986 4.1, RFC 2985 5.4.2). */
	ADD(write_hdr(&p, buf, CA_DER_SET, len));
	ADD(mbedtls_asn1_write_oid(&p, buf, (const char *)OID_EXT_REQ,
				   sizeof(OID_EXT_REQ)));
	ADD(write_hdr(&p, buf, CA_DER_SEQUENCE, len));
	ADD(write_hdr(&p, buf, CA_DER_CTX_CONS(0), len));
	ADD(mbedtls_asn1_write_raw_buffer(&p, buf, r->spki, r->spki_len));
	ADD(mbedtls_asn1_write_raw_buffer(&p, buf, r->subject,
					  r->subject_len));
	/* version INTEGER { v1(0) } */
	ADD(mbedtls_asn1_write_int(&p, buf, 0));
	ADD(write_hdr(&p, buf, CA_DER_SEQUENCE, len));
#undef ADD
	ext = len;
	assert(p >= buf && (size_t)(buf + size - p) == ext);
	if ((*out = malloc(ext)) == NULL) {
		oom(err);
		goto out;
	}
	memcpy(*out, p, ext);
	*out_len = ext;
	rc = 0;
	goto out;
enc:
	enc_fail(err);
out:
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------ */
/* TBSCertList                                                         */
/* ------------------------------------------------------------------ */

/* RFC 5280 5.3.1 reasonCode (2.5.29.21), non-critical: SEQUENCE { OID,
 * OCTET STRING { ENUMERATED r } }, 2 + 5 + 2 + 3 octets with r. */
static const unsigned char ENTRY_REASON_HEAD[] = {
	0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01,
};
#define ENTRY_REASON_TLV (sizeof(ENTRY_REASON_HEAD) + 1)
/* RFC 5280 5.3.2 invalidityDate (CA_DER_INVALIDITY_HEAD). */
#define ENTRY_INVALID_TLV CA_DER_INVALIDITY_TLV

/* Contents length of an entry's crlEntryExtensions SEQUENCE, 0 when it
 * has none. */
static size_t
entry_exts(const struct ca_crl_entry *e)
{
	return (e->reason != 0 ? ENTRY_REASON_TLV : 0) +
	       (e->invalid_at != 0 ? ENTRY_INVALID_TLV : 0);
}

/* Contents length of a revokedCertificates entry. */
static size_t
entry_content(const struct ca_crl_entry *e)
{
	size_t n = 2 + e->serial_len + ((e->serial[0] & 0x80) != 0) +
		   ca_der_time_size(e->revoked_at);

	if (entry_exts(e) > 0)
		n += 2 + entry_exts(e);
	assert(2 + n <= CRL_ENTRY_MAX);
	return n;
}

/*
 * Sizes of the two CRL extensions (all short-form lengths: a key
 * identifier has at most CA_KEYID_MAX = 64 octets):
 *   AKI:       SEQUENCE { OID(2+3), OCTET STRING { SEQUENCE { [0] k } } }
 *   cRLNumber: SEQUENCE { OID(2+3), OCTET STRING { INTEGER n } }
 */
#define AKI_KEYID_TLV(k) (2 + (k))
#define AKI_VALUE_TLV(k) (2 + AKI_KEYID_TLV(k))
#define AKI_EXT_BODY(k)  (2 + 3 + 2 + AKI_VALUE_TLV(k))
#define NUM_EXT_BODY(n) (2 + 3 + 2 + 2 + (n))

/* AKI + cRLNumber extensions (contents of the Extensions SEQUENCE). */
static size_t
crl_ext_content(size_t aki_len, size_t num_len)
{
	return 2 + AKI_EXT_BODY(aki_len) + 2 + NUM_EXT_BODY(num_len);
}

int
ca_x509_tbs_crl(const struct ca_tbs_crl *t, unsigned char **out,
		size_t *out_len, struct mica_err *err)
{
	struct ca_der_w w;
	unsigned char *buf = NULL;
	unsigned char num[9], base[9];
	size_t i, num_len, revoked = 0, exts, content, total, n, aki_len;
	size_t base_len = 0, delta_ext = 0, fresh_val = 0, fresh_ext = 0;
	size_t url_len = 0;
	uint64_t v;
	int rc = -1;

	if (t == NULL || out == NULL || out_len == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "ca_x509_tbs_crl: missing argument");
	*out = NULL;
	*out_len = 0;
	if (t->sig_alg_len > ALG_MAX ||
	    !one_element(t->sig_alg, t->sig_alg_len, CA_DER_SEQUENCE, 1))
		return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
				    "signature algorithm is not one DER "
				    "AlgorithmIdentifier");
	/* RFC 5280 5.1.2.3: the issuer MUST be a non-empty DN. */
	if (t->issuer_len > NAME_DER_MAX ||
	    !one_element(t->issuer, t->issuer_len, CA_DER_SEQUENCE, 1))
		return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
				    "issuer is not one non-empty DER Name");
	if (t->this_update < CA_DER_TIME_MIN ||
	    t->next_update > CA_DER_TIME_LAST ||
	    t->this_update >= t->next_update)
		return mica_err_set(err, MICA_E_BADREQ, "bad_validity",
				    "thisUpdate must be before nextUpdate");
	/* RFC 5280 5.2.3: a non-negative integer of at most 20 octets; we
	 * count from 1. */
	if (t->crl_number <= 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
				    "CRL number must be positive");
	if (t->nentries > CRL_ENTRIES_MAX || (t->nentries > 0 &&
					      t->entries == NULL))
		return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
				    "too many CRL entries");
	if (t->aki_len > CA_KEYID_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
				    "key identifier longer than %d octets",
				    CA_KEYID_MAX);
	aki_len = keyid_len(t->aki_len);

	/* Pass 1: check every entry, sum the exact size. */
	for (i = 0; i < t->nentries; i++) {
		const struct ca_crl_entry *e = &t->entries[i];

		if (e->serial_len == 0 || e->serial_len > CRL_SERIAL_MAX ||
		    check_serial(e->serial, e->serial_len, "revoked serial",
				 NULL) < 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
					    "CRL entry %zu: serial must be a "
					    "1..20 octet positive integer "
					    "without leading zeros", i);
		if (!ca_reason_valid(e->reason))
			return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
					    "CRL entry %zu: invalid reason "
					    "code %d", i, e->reason);
		if (e->revoked_at < CA_DER_TIME_MIN ||
		    e->revoked_at > CA_DER_TIME_LAST)
			return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
					    "CRL entry %zu: revocation date "
					    "out of range", i);
		/* 5.3.2: when the certificate became invalid, which the
		 * store keeps no later than its revocation. */
		if (e->invalid_at < 0 ||
		    (e->invalid_at != 0 &&
		     (e->invalid_at < CA_DER_TIME_MIN ||
		      e->invalid_at > e->revoked_at ||
		      e->reason == CA_REASON_HOLD)))
			return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
					    "CRL entry %zu: invalidity date "
					    "out of range", i);
		n = entry_content(e);
		revoked += ca_der_hdr_size(n) + n;
	}

	/* cRLNumber magnitude, big-endian, with a sign octet if needed:
	 * at most 8 + 1 octets, written backwards from the end of NUM. */
	v = (uint64_t)t->crl_number;
	num_len = 0;
	do {
		assert(num_len < sizeof(num));
		num[sizeof(num) - 1 - num_len++] = (unsigned char)v;
		v >>= 8;
	} while (v != 0);
	if (num[sizeof(num) - num_len] & 0x80) {
		assert(num_len < sizeof(num));
		num[sizeof(num) - 1 - num_len++] = 0;
	}
	exts = crl_ext_content(aki_len, num_len);
	/* Delta CRL Indicator: SEQUENCE { OID, TRUE, OCTET STRING {
	 * INTEGER base } } (critical, 5.2.4). Freshest CRL: SEQUENCE { OID,
	 * OCTET STRING { CRLDistributionPoints with one fullName URI } }. */
	if (t->delta_base < 0 || t->delta_base >= t->crl_number ||
	    (t->delta_base > 0 && t->freshest_url != NULL))
		return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
				    "a delta CRL completes a lower number, "
				    "and names no deltas itself");
	if (t->delta_base > 0) {
		v = (uint64_t)t->delta_base;
		base_len = 0;
		do {
			base[sizeof(base) - 1 - base_len++] = (unsigned char)v;
			v >>= 8;
		} while (v != 0);
		if (base[sizeof(base) - base_len] & 0x80)
			base[sizeof(base) - 1 - base_len++] = 0;
		delta_ext = 2 + sizeof(OID_DELTA) + 3 + 2 + 2 + base_len;
		exts += ca_der_hdr_size(delta_ext) + delta_ext;
	}
	if (t->freshest_url != NULL) {
		if (check_url(t->freshest_url, "Freshest CRL URL", &url_len,
			      err) < 0)
			return -1;
		/* SEQUENCE { SEQUENCE { [0] { [0] { [6] uri } } } } */
		fresh_val = ca_der_hdr_size(url_len) + url_len;
		for (int k = 0; k < 4; k++)
			fresh_val += ca_der_hdr_size(fresh_val);
		fresh_ext = 2 + sizeof(OID_FRESHEST) +
			    ca_der_hdr_size(fresh_val) + fresh_val;
		exts += ca_der_hdr_size(fresh_ext) + fresh_ext;
	}

	/* CRL_ENTRIES_MAX keeps all of it below 2^32: four length octets. */
	content = 3 + t->sig_alg_len + t->issuer_len +
		  ca_der_time_size(t->this_update) +
		  ca_der_time_size(t->next_update) +
		  (t->nentries > 0 ? ca_der_hdr_size(revoked) + revoked : 0) +
		  ca_der_hdr_size(ca_der_hdr_size(exts) + exts) +
		  ca_der_hdr_size(exts) + exts;
	assert(content <= (size_t)UINT32_MAX - 8);
	total = ca_der_hdr_size(content) + content;

	buf = malloc(total);
	if (buf == NULL) {
		oom(err);
		goto out;
	}
	mica_mem_big(buf, total);

	/* Pass 2: write forwards, exactly TOTAL octets. RFC 5280 5.1.2. */
	ca_der_w_init(&w, buf, total);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, content);
	/* version v2(1): needed because extensions are present (5.1.2.1) */
	ca_der_w_hdr(&w, CA_DER_INTEGER, 1);
	ca_der_w_byte(&w, 1);
	ca_der_w_raw(&w, t->sig_alg, t->sig_alg_len);
	ca_der_w_raw(&w, t->issuer, t->issuer_len);
	ca_der_w_time(&w, t->this_update);
	ca_der_w_time(&w, t->next_update);
	/* revokedCertificates: absent when empty (5.1.2.6), never an empty
	 * SEQUENCE. */
	if (t->nentries > 0) {
		ca_der_w_hdr(&w, CA_DER_SEQUENCE, revoked);
		for (i = 0; i < t->nentries; i++) {
			const struct ca_crl_entry *e = &t->entries[i];
			size_t pad = (e->serial[0] & 0x80) != 0;

			/* Pass 1 checked every entry. */
			assert(e->serial_len >= 1 &&
			       e->serial_len <= CRL_SERIAL_MAX &&
			       ca_reason_valid(e->reason));
			ca_der_w_hdr(&w, CA_DER_SEQUENCE, entry_content(e));
			ca_der_w_hdr(&w, CA_DER_INTEGER, e->serial_len + pad);
			if (pad)
				ca_der_w_byte(&w, 0);
			ca_der_w_raw(&w, e->serial, e->serial_len);
			ca_der_w_time(&w, e->revoked_at);
			/* crlEntryExtensions (5.3): absent when empty */
			if (entry_exts(e) > 0)
				ca_der_w_hdr(&w, CA_DER_SEQUENCE, entry_exts(e));
			if (e->reason != 0) {
				ca_der_w_raw(&w, ENTRY_REASON_HEAD,
					     sizeof(ENTRY_REASON_HEAD));
				ca_der_w_byte(&w, (unsigned char)e->reason);
			}
			if (e->invalid_at != 0) {
				ca_der_w_raw(&w, CA_DER_INVALIDITY_HEAD,
					     CA_DER_INVALIDITY_HEAD_LEN);
				ca_der_w_gentime(&w, e->invalid_at);
			}
		}
	}
	/* crlExtensions [0] EXPLICIT Extensions: AKI (5.2.1), cRLNumber
	 * (5.2.3), both non-critical. */
	ca_der_w_hdr(&w, CA_DER_CTX_CONS(0), ca_der_hdr_size(exts) + exts);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, exts);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, AKI_EXT_BODY(aki_len));
	ca_der_w_hdr(&w, CA_DER_OID, sizeof(OID_AKI));
	ca_der_w_raw(&w, OID_AKI, sizeof(OID_AKI));
	ca_der_w_hdr(&w, CA_DER_OCTET_STRING, AKI_VALUE_TLV(aki_len));
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, AKI_KEYID_TLV(aki_len));
	ca_der_w_hdr(&w, CA_DER_CTX(0), aki_len);
	ca_der_w_raw(&w, t->aki, aki_len);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, NUM_EXT_BODY(num_len));
	ca_der_w_hdr(&w, CA_DER_OID, sizeof(OID_CRL_NUMBER));
	ca_der_w_raw(&w, OID_CRL_NUMBER, sizeof(OID_CRL_NUMBER));
	ca_der_w_hdr(&w, CA_DER_OCTET_STRING, 2 + num_len);
	ca_der_w_hdr(&w, CA_DER_INTEGER, num_len);
	ca_der_w_raw(&w, num + sizeof(num) - num_len, num_len);
	if (t->delta_base > 0) {
		ca_der_w_hdr(&w, CA_DER_SEQUENCE, delta_ext);
		ca_der_w_hdr(&w, CA_DER_OID, sizeof(OID_DELTA));
		ca_der_w_raw(&w, OID_DELTA, sizeof(OID_DELTA));
		ca_der_w_hdr(&w, CA_DER_BOOLEAN, 1);
		ca_der_w_byte(&w, 0xff);
		ca_der_w_hdr(&w, CA_DER_OCTET_STRING, 2 + base_len);
		ca_der_w_hdr(&w, CA_DER_INTEGER, base_len);
		ca_der_w_raw(&w, base + sizeof(base) - base_len, base_len);
	}
	if (t->freshest_url != NULL) {
		size_t l = ca_der_hdr_size(url_len) + url_len;   /* [6] uri */
		size_t l1 = ca_der_hdr_size(l) + l;              /* [0] full */
		size_t l2 = ca_der_hdr_size(l1) + l1;            /* [0] dpn */
		size_t l3 = ca_der_hdr_size(l2) + l2;            /* DP */

		ca_der_w_hdr(&w, CA_DER_SEQUENCE, fresh_ext);
		ca_der_w_hdr(&w, CA_DER_OID, sizeof(OID_FRESHEST));
		ca_der_w_raw(&w, OID_FRESHEST, sizeof(OID_FRESHEST));
		ca_der_w_hdr(&w, CA_DER_OCTET_STRING, fresh_val);
		ca_der_w_hdr(&w, CA_DER_SEQUENCE, l3);
		ca_der_w_hdr(&w, CA_DER_SEQUENCE, l2);
		ca_der_w_hdr(&w, CA_DER_CTX_CONS(0), l1);
		ca_der_w_hdr(&w, CA_DER_CTX_CONS(0), l);
		ca_der_w_hdr(&w, CA_DER_CTX(6), url_len);
		ca_der_w_raw(&w, t->freshest_url, url_len);
	}
	/* The size pass and the write pass agree, or nothing escapes. */
	if (ca_der_w_done(&w, err) != 0)
		goto out;
	*out = buf;
	*out_len = total;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Signed wrapper and PEM                                              */
/* ------------------------------------------------------------------ */

int
ca_x509_wrap(const unsigned char *tbs, size_t tbs_len,
	     const unsigned char *sig_alg, size_t sig_alg_len,
	     const unsigned char *sig, size_t sig_len, unsigned char **out,
	     size_t *out_len, struct mica_err *err)
{
	struct ca_der_w w;
	unsigned char *buf;
	size_t content, total;

	if (out == NULL || out_len == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "ca_x509_wrap: no output");
	*out = NULL;
	*out_len = 0;
	if (tbs_len > (size_t)UINT32_MAX - 65536 ||
	    !one_element(tbs, tbs_len, CA_DER_SEQUENCE, 1))
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "to-be-signed data is not one DER "
				    "SEQUENCE");
	if (sig_alg_len > ALG_MAX ||
	    !one_element(sig_alg, sig_alg_len, CA_DER_SEQUENCE, 1))
		return mica_err_set(err, MICA_E_BADREQ, "bad_tbs",
				    "signature algorithm is not one DER "
				    "AlgorithmIdentifier");
	if (sig == NULL || sig_len == 0 || sig_len > SIG_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_signature",
				    "signature missing or too long");
	/* Certificate / CertificateList ::= SEQUENCE { tbs, signatureAlgorithm,
	 * signatureValue BIT STRING } (RFC 5280 4.1, 5.1); the signature is
	 * whole octets, so 0 unused bits. */
	content = tbs_len + sig_alg_len + ca_der_hdr_size(1 + sig_len) + 1 +
		  sig_len;
	total = ca_der_hdr_size(content) + content;
	buf = malloc(total);
	if (buf == NULL)
		return oom(err);
	mica_mem_big(buf, total);
	ca_der_w_init(&w, buf, total);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, content);
	ca_der_w_raw(&w, tbs, tbs_len);
	ca_der_w_raw(&w, sig_alg, sig_alg_len);
	ca_der_w_hdr(&w, CA_DER_BIT_STRING, 1 + sig_len);
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

/* RFC 7468 2: a label is printable ASCII without '-' runs at the ends;
 * we only ever use uppercase words ("CERTIFICATE", "X509 CRL"). */
static int
label_ok(const char *label)
{
	size_t n, i;

	if (label == NULL)
		return 0;
	n = strnlen(label, 65);
	if (n == 0 || n > 64 || label[0] == ' ' || label[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if (!((label[i] >= 'A' && label[i] <= 'Z') ||
		      (label[i] >= '0' && label[i] <= '9') || label[i] == ' '))
			return 0;
	return 1;
}

size_t
ca_pem_size(const char *label, size_t len)
{
	size_t b64, lines;

	if (!label_ok(label) || len == 0 || len > SIZE_MAX / 2)
		return 0;
	b64 = (len + 2) / 3 * 4;
	lines = (b64 + 63) / 64;
	return 2 * (sizeof("-----END ") - 1 + strlen(label) + sizeof("-----\n") - 1) +
	       2 /* BEGIN is 2 longer than END */ + b64 + lines + 1;
}

int
ca_pem_encode_buf(const char *label, const unsigned char *der, size_t len,
		  char *buf, size_t size, struct mica_err *err)
{
	static const char b1[] = "-----BEGIN ", e1[] = "-----END ",
			  dashes[] = "-----\n";
	struct ca_der_w w;
	unsigned char line[65];   /* 64 columns and mbedTLS's NUL */
	size_t lab, total, off, olen;

	if (!label_ok(label))
		return mica_err_set(err, MICA_E_BADREQ, "bad_label",
				    "PEM label must be 1..64 uppercase "
				    "letters, digits or spaces");
	if (der == NULL || len == 0 || len > SIZE_MAX / 2)
		return mica_err_set(err, MICA_E_BADREQ, "bad_der",
				    "nothing to encode");
	total = ca_pem_size(label, len);
	if (buf == NULL || size != total)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "ca_pem_encode_buf: wrong buffer size");
	lab = strlen(label);
	ca_der_w_init(&w, (unsigned char *)buf, size);
	ca_der_w_raw(&w, b1, sizeof(b1) - 1);
	ca_der_w_raw(&w, label, lab);
	ca_der_w_raw(&w, dashes, sizeof(dashes) - 1);
	/* 48 input octets make one 64-column line. */
	for (off = 0; off < len; off += 48) {
		size_t chunk = len - off < 48 ? len - off : 48;

		if (mbedtls_base64_encode(line, sizeof(line), &olen, der + off,
					  chunk) != 0)
			return enc_fail(err);
		assert(olen < sizeof(line));
		ca_der_w_raw(&w, line, olen);
		ca_der_w_byte(&w, '\n');
	}
	ca_der_w_raw(&w, e1, sizeof(e1) - 1);
	ca_der_w_raw(&w, label, lab);
	ca_der_w_raw(&w, dashes, sizeof(dashes) - 1);
	ca_der_w_byte(&w, '\0');
	/* ca_pem_size and the writes agree, or the caller gets nothing. */
	return ca_der_w_done(&w, err);
}

int
ca_pem_encode(const char *label, const unsigned char *der, size_t len,
	      char **out, struct mica_err *err)
{
	size_t total;
	char *buf;

	if (out == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "ca_pem_encode: no output");
	*out = NULL;
	if ((total = ca_pem_size(label, len)) == 0)
		return ca_pem_encode_buf(label, der, len, NULL, 0, err);
	if ((buf = malloc(total)) == NULL)
		return oom(err);
	if (ca_pem_encode_buf(label, der, len, buf, total, err) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

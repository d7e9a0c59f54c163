/*
 * ca/lint.c - check a to-be-signed certificate or CRL against RFC 5280 and
 * against what the engine meant to issue, before any signature is made.
 *
 * The linter shares nothing with the encoder but the DER reader and the
 * one list of revocation reasons (ca/reasons.c): it takes the bytes,
 * re-parses them with a fail-closed cursor that must consume everything,
 * and compares what it finds with the expectations it was given. A bug in ca/x509.c (or memory corruption between encoding and
 * signing) then stops issuance instead of producing a certificate nobody
 * meant to sign.
 *
 * Every refusal is MICA_E_INTERNAL with code "lint_failed" and a message
 * "lint: <rule>" naming the rule, so an operator can tell which one fired.
 */
#include "ca/x509.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ca/ca.h"   /* ca_reason_valid */
#include "ca/der.h"
#include "ca/profile.h"
#include "util/fault.h"

#define MAX_EXTS 16   /* mica writes at most 8 */
#define SKI_MAX  64

enum ext_id {
	EXT_BC, EXT_KU, EXT_EKU, EXT_SAN, EXT_SKI, EXT_AKI, EXT_CRLDP,
	EXT_AIA, EXT_CRL_NUMBER, EXT_REASON, EXT_NC, EXT_NOCHECK, EXT_DELTA,
	EXT_FRESHEST, EXT_UNKNOWN,
};

static const struct {
	enum ext_id id;
	const char *name;
	unsigned char oid[9];
	size_t len;
} known_exts[] = {
	{ EXT_BC, "basicConstraints", { 0x55, 0x1d, 0x13 }, 3 },
	{ EXT_KU, "keyUsage", { 0x55, 0x1d, 0x0f }, 3 },
	{ EXT_EKU, "extendedKeyUsage", { 0x55, 0x1d, 0x25 }, 3 },
	{ EXT_SAN, "subjectAltName", { 0x55, 0x1d, 0x11 }, 3 },
	{ EXT_SKI, "subjectKeyIdentifier", { 0x55, 0x1d, 0x0e }, 3 },
	{ EXT_AKI, "authorityKeyIdentifier", { 0x55, 0x1d, 0x23 }, 3 },
	{ EXT_CRLDP, "cRLDistributionPoints", { 0x55, 0x1d, 0x1f }, 3 },
	{ EXT_AIA, "authorityInfoAccess",
	  { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01 }, 8 },
	{ EXT_CRL_NUMBER, "cRLNumber", { 0x55, 0x1d, 0x14 }, 3 },
	{ EXT_REASON, "reasonCode", { 0x55, 0x1d, 0x15 }, 3 },
	{ EXT_NC, "nameConstraints", { 0x55, 0x1d, 0x1e }, 3 },
	/* RFC 5280 5.2.4 and 5.2.6: delta CRLs */
	{ EXT_DELTA, "deltaCRLIndicator", { 0x55, 0x1d, 0x1b }, 3 },
	{ EXT_FRESHEST, "freshestCRL", { 0x55, 0x1d, 0x2e }, 3 },
	/* id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1) */
	{ EXT_NOCHECK, "ocspNoCheck",
	  { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x05 }, 9 },
};
#define NKNOWN (sizeof(known_exts) / sizeof(known_exts[0]))

/* id-kp-* purposes and their CA_EKU_* flags (RFC 5280 4.2.1.12, RFC 4945),
 * and Microsoft's Certificate Request Agent (SCEP's RA). */
static const struct {
	unsigned flag;
	unsigned char oid[10];
	size_t len;
} eku_purposes[] = {
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

/* id-ad-caIssuers and id-ad-ocsp (RFC 5280 4.2.2.1). */
static const unsigned char OID_CA_ISSUERS[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02,
};
static const unsigned char OID_OCSP[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01,
};
/* id-ce-cRLReasons (RFC 5280 5.3.1) */
static const unsigned char OID_REASON[] = { 0x55, 0x1d, 0x15 };

/* The signature AlgorithmIdentifiers mica may use, whole DER: ECDSA with
 * absent parameters (RFC 5758 3.2), RSA PKCS#1 v1.5 with NULL parameters
 * (RFC 4055 5). */
static const struct {
	unsigned char der[15];
	size_t len;
} known_algs[] = {
	/* ecdsa-with-SHA256, -SHA384, -SHA512 */
	{ { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03,
	    0x02 }, 12 },
	{ { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03,
	    0x03 }, 12 },
	{ { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03,
	    0x04 }, 12 },
	/* sha256WithRSAEncryption, sha384..., sha512... */
	{ { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	    0x01, 0x0b, 0x05, 0x00 }, 15 },
	{ { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	    0x01, 0x0c, 0x05, 0x00 }, 15 },
	{ { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	    0x01, 0x0d, 0x05, 0x00 }, 15 },
};

struct ext {
	enum ext_id id;
	const char *name;
	int critical;
	const unsigned char *val;   /* extnValue contents */
	size_t len;
};

static int
bad(struct mica_err *err, const char *rule)
{
	mica_err_set(err, MICA_E_INTERNAL, "lint_failed", "lint: %s", rule);
	return -1;
}

/* A DER error while reading WHAT; keep the reader's reason. */
static int
bad_der(struct mica_err *err, const char *what, const struct mica_err *derr)
{
	mica_err_set(err, MICA_E_INTERNAL, "lint_failed",
		     "lint: malformed %s (%s)", what, derr->msg);
	return -1;
}

static int
alg_known(const unsigned char *raw, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(known_algs) / sizeof(known_algs[0]); i++)
		if (known_algs[i].len == len &&
		    memcmp(known_algs[i].der, raw, len) == 0)
			return 1;
	return 0;
}

/*
 * RFC 5280 4.1.2.2 / 5.1.2.6 serial numbers: positive, minimally encoded,
 * at most 20 octets of INTEGER contents. Read with our own checks so the
 * message names the rule.
 */
static int
lint_serial(struct ca_der_cur *c, const char *what, struct mica_err *err)
{
	struct mica_err derr;
	const unsigned char *v;
	size_t n;
	char rule[96];

	if (ca_der_get_tlv(c, CA_DER_INTEGER, &v, &n, &derr) < 0)
		return bad_der(err, what, &derr);
	if (n == 0) {
		snprintf(rule, sizeof(rule), "%s empty", what);
		return bad(err, rule);
	}
	if (n > 1 && ((v[0] == 0x00 && (v[1] & 0x80) == 0) ||
		      (v[0] == 0xff && (v[1] & 0x80) != 0))) {
		snprintf(rule, sizeof(rule), "%s not minimally encoded", what);
		return bad(err, rule);
	}
	if ((v[0] & 0x80) != 0 || (n == 1 && v[0] == 0)) {
		snprintf(rule, sizeof(rule), "%s not positive", what);
		return bad(err, rule);
	}
	if (n > 20) {
		snprintf(rule, sizeof(rule), "%s longer than 20 octets", what);
		return bad(err, rule);
	}
	return 0;
}

/*
 * A Time and its encoding rule (RFC 5280 4.1.2.5, 5.1.2.4): UTCTime for
 * 1950..2049, GeneralizedTime from 2050 (and before 1950), "Z", seconds.
 * The strict form itself is the reader's job.
 */
static int
lint_time(struct ca_der_cur *c, const char *what, int64_t *t,
	  struct mica_err *err)
{
	struct mica_err derr;
	char rule[96];
	int gen;

	if (ca_der_get_time(c, t, &gen, &derr) < 0)
		return bad_der(err, what, &derr);
	if (gen && *t >= CA_DER_UTC_MIN && *t < CA_DER_UTC_END) {
		snprintf(rule, sizeof(rule), "%s: GeneralizedTime used for a "
			 "year 1950..2049", what);
		return bad(err, rule);
	}
	/* A UTCTime can only express 1950..2049; nothing more to check. */
	return 0;
}

/* IA5String contents we accept in a URI or name: printable, no space. */
static int
ia5_printable(const unsigned char *v, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * Name ::= SEQUENCE OF RelativeDistinguishedName; RDN ::= SET SIZE (1..MAX)
 * OF AttributeTypeAndValue; ATV ::= SEQUENCE { type OID, value } with a
 * string value (RFC 5280 4.1.2.4). RAW is the whole Name element.
 */
static int
lint_name(const unsigned char *raw, size_t raw_len, const char *what,
	  int *empty, struct mica_err *err)
{
	struct ca_der_cur top, seq, rdn, atv;
	struct ca_der_tlv v;
	struct mica_err derr;
	const unsigned char *oid;
	size_t oid_len;
	char rule[96];

	ca_der_init(&top, raw, raw_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &seq, &derr) < 0)
		return bad_der(err, what, &derr);
	*empty = ca_der_empty(&seq);
	while (!ca_der_empty(&seq)) {
		if (ca_der_enter(&seq, CA_DER_SET, &rdn, &derr) < 0)
			return bad_der(err, what, &derr);
		if (ca_der_empty(&rdn))
			goto empty_rdn;
		while (!ca_der_empty(&rdn)) {
			if (ca_der_enter(&rdn, CA_DER_SEQUENCE, &atv, &derr) < 0 ||
			    ca_der_get_oid(&atv, &oid, &oid_len, &derr) < 0 ||
			    ca_der_get_any(&atv, &v, &derr) < 0 ||
			    ca_der_end(&atv, "AttributeTypeAndValue", &derr) < 0)
				return bad_der(err, what, &derr);
			switch (v.tag) {
			case CA_DER_UTF8_STRING: case CA_DER_PRINTABLE:
			case CA_DER_IA5_STRING: case 0x14 /* Teletex */:
			case 0x1c /* Universal */: case 0x1e /* BMP */:
				break;
			default:
				snprintf(rule, sizeof(rule), "%s attribute "
					 "value is not a string", what);
				return bad(err, rule);
			}
			if (v.len == 0) {
				snprintf(rule, sizeof(rule), "%s attribute "
					 "value empty", what);
				return bad(err, rule);
			}
		}
	}
	return 0;
empty_rdn:
	snprintf(rule, sizeof(rule), "%s has an empty RDN", what);
	return bad(err, rule);
}

/*
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (RFC 5280 4.1):
 * parse into OUT (at most MAX_EXTS), each known to mica, each extnID once
 * (4.2: "MUST NOT include more than one instance"), critical only when
 * TRUE (DER omits the DEFAULT), extnValue non-empty.
 */
static int
lint_exts(struct ca_der_cur *c, struct ext *out, size_t *n,
	  struct mica_err *err)
{
	struct ca_der_cur seq, e;
	struct mica_err derr;
	const unsigned char *oid;
	size_t oid_len, i, k;
	int crit;

	*n = 0;
	if (ca_der_enter(c, CA_DER_SEQUENCE, &seq, &derr) < 0)
		return bad_der(err, "extensions", &derr);
	if (ca_der_empty(&seq))
		return bad(err, "extensions empty");
	while (!ca_der_empty(&seq)) {
		struct ext x;

		if (*n == MAX_EXTS)
			return bad(err, "too many extensions");
		if (ca_der_enter(&seq, CA_DER_SEQUENCE, &e, &derr) < 0 ||
		    ca_der_get_oid(&e, &oid, &oid_len, &derr) < 0)
			return bad_der(err, "extension", &derr);
		x.id = EXT_UNKNOWN;
		x.name = NULL;
		for (k = 0; k < NKNOWN; k++) {
			if (ca_der_oid_eq(oid, oid_len, known_exts[k].oid,
					  known_exts[k].len)) {
				x.id = known_exts[k].id;
				x.name = known_exts[k].name;
			}
		}
		if (x.id == EXT_UNKNOWN)
			return bad(err, "unknown extension");
		x.critical = 0;
		if (ca_der_peek(&e, CA_DER_BOOLEAN)) {
			if (ca_der_get_bool(&e, &crit, &derr) < 0)
				return bad_der(err, "extension criticality",
					       &derr);
			if (!crit)
				return bad(err, "extension critical FALSE "
					   "encoded (DER omits the default)");
			x.critical = 1;
		}
		if (ca_der_get_tlv(&e, CA_DER_OCTET_STRING, &x.val, &x.len,
				   &derr) < 0 ||
		    ca_der_end(&e, "Extension", &derr) < 0)
			return bad_der(err, "extension", &derr);
		if (x.len == 0)
			return bad(err, "extension value empty");
		for (i = 0; i < *n; i++)
			if (out[i].id == x.id)
				return bad(err, "duplicate extension");
		out[(*n)++] = x;
	}
	return 0;
}

static const struct ext *
find_ext(const struct ext *exts, size_t n, enum ext_id id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (exts[i].id == id)
			return &exts[i];
	return NULL;
}

/* Start a cursor over an extension value that must be one element with
 * TAG, consumed whole; *inner gets its contents. */
static int
ext_enter(const struct ext *x, unsigned tag, struct ca_der_cur *inner,
	  struct mica_err *err)
{
	struct ca_der_cur c;
	struct mica_err derr;

	ca_der_init(&c, x->val, x->len);
	if (ca_der_enter(&c, tag, inner, &derr) < 0 ||
	    ca_der_end(&c, x->name, &derr) < 0)
		return bad_der(err, x->name, &derr);
	return 0;
}

/* RFC 5280 4.2.1.9: critical; cA TRUE or absent; pathLen only with cA.
 * *PATH_LEN gets the pathLenConstraint, -1 when absent. */
static int
lint_bc(const struct ext *x, int *is_ca, int *path_len, struct mica_err *err)
{
	struct ca_der_cur c;
	struct mica_err derr;
	uint64_t pl;
	int ca = 0;

	*path_len = -1;
	if (x == NULL)
		return bad(err, "basicConstraints missing");
	if (!x->critical)
		return bad(err, "basicConstraints not critical");
	if (ext_enter(x, CA_DER_SEQUENCE, &c, err) < 0)
		return -1;
	if (ca_der_peek(&c, CA_DER_BOOLEAN)) {
		if (ca_der_get_bool(&c, &ca, &derr) < 0)
			return bad_der(err, "basicConstraints", &derr);
		if (!ca)
			return bad(err, "basicConstraints cA FALSE encoded "
				   "(DER omits the default)");
	}
	if (ca_der_peek(&c, CA_DER_INTEGER)) {
		if (ca_der_get_uint(&c, INT32_MAX, &pl, &derr) < 0)
			return bad_der(err, "pathLenConstraint", &derr);
		if (!ca)
			return bad(err, "pathLenConstraint without cA");
		*path_len = (int)pl;
	}
	if (ca_der_end(&c, "basicConstraints", &derr) < 0)
		return bad_der(err, "basicConstraints", &derr);
	*is_ca = ca;
	return 0;
}

/* RFC 5280 4.2.1.3 keyUsage as a CA_KU_* mask: a named BIT STRING in DER
 * (no trailing zero bits, X.690 11.2.2), at least one bit set, nothing past
 * decipherOnly (bit 8). */
static int
lint_ku(const struct ext *x, unsigned *mask, struct mica_err *err)
{
	struct ca_der_cur c;
	struct mica_err derr;
	const unsigned char *bits;
	size_t nbytes, nbits, i;
	unsigned unused, m = 0;

	ca_der_init(&c, x->val, x->len);
	if (ca_der_get_bitstring(&c, &bits, &nbytes, &unused, &derr) < 0 ||
	    ca_der_end(&c, "keyUsage", &derr) < 0)
		return bad_der(err, "keyUsage", &derr);
	if (nbytes == 0)
		return bad(err, "keyUsage has no bits set");
	if ((bits[nbytes - 1] & (1u << unused)) == 0)
		return bad(err, "keyUsage has trailing zero bits");
	nbits = nbytes * 8 - unused;
	if (nbits > 9)
		return bad(err, "keyUsage has unknown bits");
	for (i = 0; i < nbits; i++)
		if (bits[i / 8] & (0x80u >> (i % 8)))
			m |= 1u << i;
	*mask = m;
	return 0;
}

/* RFC 5280 4.2.1.12 extendedKeyUsage as CA_EKU_* flags; any purpose mica
 * does not issue makes the set differ. */
static int
lint_eku(const struct ext *x, unsigned *flags, struct mica_err *err)
{
	struct ca_der_cur c;
	struct mica_err derr;
	const unsigned char *oid;
	size_t oid_len, k;
	unsigned f = 0, one;

	if (ext_enter(x, CA_DER_SEQUENCE, &c, err) < 0)
		return -1;
	if (ca_der_empty(&c))
		return bad(err, "extendedKeyUsage empty");
	while (!ca_der_empty(&c)) {
		if (ca_der_get_oid(&c, &oid, &oid_len, &derr) < 0)
			return bad_der(err, "extendedKeyUsage", &derr);
		one = 0;
		for (k = 0; k < sizeof(eku_purposes) / sizeof(eku_purposes[0]);
		     k++)
			if (ca_der_oid_eq(oid, oid_len, eku_purposes[k].oid,
					  eku_purposes[k].len))
				one = eku_purposes[k].flag;
		if (one == 0)
			return bad(err, "extendedKeyUsage different "
				   "(unexpected purpose)");
		if (f & one)
			return bad(err, "extendedKeyUsage repeats a purpose");
		f |= one;
	}
	*flags = f;
	return 0;
}

/* The otherName G (tag [0] constructed) as the UPN mica writes, its text
 * "upn:..." into OUT (room for a ca_name's value): type-id
 * 1.3.6.1.4.1.311.20.2.3, value [0] EXPLICIT one UTF8String of 1 to
 * CA_UPN_MAX printable ASCII octets, nothing after either. Any other
 * otherName is a name type mica does not issue. */
static int
read_upn(const struct ca_der_tlv *g, char *out, size_t size,
	 struct mica_err *err)
{
	struct ca_der_cur c, v;
	const unsigned char *oid, *s;
	size_t oid_len, len;

	ca_der_init(&c, g->val, g->len);
	if (ca_der_get_oid(&c, &oid, &oid_len, NULL) < 0 ||
	    !ca_der_oid_eq(oid, oid_len, (const unsigned char *)CA_UPN_OID,
			   CA_UPN_OID_LEN))
		return bad(err, "subjectAltName has a name type mica does "
			   "not issue (an otherName other than a UPN)");
	if (ca_der_enter(&c, CA_DER_CTX_CONS(0), &v, NULL) < 0 ||
	    !ca_der_empty(&c) ||
	    ca_der_get_tlv(&v, CA_DER_UTF8_STRING, &s, &len, NULL) < 0 ||
	    !ca_der_empty(&v))
		return bad(err, "subjectAltName UPN malformed");
	if (!ia5_printable(s, len) || len > CA_UPN_MAX ||
	    CA_UPN_PREFIX_LEN + len >= size)
		return bad(err, "subjectAltName UPN not printable ASCII or "
			   "too long");
	memcpy(out, CA_UPN_PREFIX, CA_UPN_PREFIX_LEN);
	memcpy(out + CA_UPN_PREFIX_LEN, s, len);
	out[CA_UPN_PREFIX_LEN + len] = '\0';
	return 0;
}

/* RFC 5280 4.2.1.6: GeneralNames equal to the expected names, in order. */
static int
lint_san(const struct ext *x, const struct ca_lint_cert_expect *e,
	 struct mica_err *err)
{
	struct ca_der_cur c;
	struct ca_der_tlv g;
	struct mica_err derr;
	size_t i = 0, vlen;
	char upn[sizeof(e->names[0].value)];

	if (ext_enter(x, CA_DER_SEQUENCE, &c, err) < 0)
		return -1;
	if (ca_der_empty(&c))
		return bad(err, "subjectAltName empty");
	while (!ca_der_empty(&c)) {
		const struct ca_name *nm;

		if (ca_der_get_any(&c, &g, &derr) < 0)
			return bad_der(err, "subjectAltName", &derr);
		if (g.tag != CA_DER_CTX(1) && g.tag != CA_DER_CTX(2) &&
		    g.tag != CA_DER_CTX(7) && g.tag != CA_DER_CTX_CONS(0))
			return bad(err, "subjectAltName has a name type mica "
				   "does not issue");
		if (g.tag == CA_DER_CTX_CONS(0) &&
		    read_upn(&g, upn, sizeof(upn), err) < 0)
			return -1;
		if (i >= e->nnames)
			return bad(err, "subjectAltName different (more "
				   "names than expected)");
		nm = &e->names[i++];
		if (g.tag == CA_DER_CTX_CONS(0)) {
			if (nm->kind != CA_NAME_UPN ||
			    strncmp(nm->value, upn, sizeof(nm->value)) != 0)
				return bad(err, "subjectAltName different");
			continue;
		}
		if (g.tag == CA_DER_CTX(7)) {
			if (g.len != 4 && g.len != 16)
				return bad(err, "subjectAltName iPAddress not "
					   "4 or 16 octets");
			if (nm->kind != CA_NAME_IP || nm->ip_len != g.len ||
			    memcmp(nm->ip, g.val, g.len) != 0)
				return bad(err, "subjectAltName different");
			continue;
		}
		if (!ia5_printable(g.val, g.len))
			return bad(err, "subjectAltName name not printable "
				   "ASCII");
		vlen = strnlen(nm->value, sizeof(nm->value));
		if (nm->kind != (g.tag == CA_DER_CTX(2) ? CA_NAME_DNS :
				 CA_NAME_EMAIL) ||
		    vlen != g.len || memcmp(nm->value, g.val, g.len) != 0)
			return bad(err, "subjectAltName different");
	}
	if (i != e->nnames)
		return bad(err, "subjectAltName different (fewer names than "
			   "expected)");
	return 0;
}

/* RFC 5280 4.2.1.2: KeyIdentifier OCTET STRING; *ki gets its contents. */
static int
lint_ski(const struct ext *x, const unsigned char **ki, size_t *ki_len,
	 struct mica_err *err)
{
	struct ca_der_cur c;
	struct mica_err derr;

	if (x == NULL)
		return bad(err, "subjectKeyIdentifier missing");
	if (x->critical)
		return bad(err, "subjectKeyIdentifier critical");
	ca_der_init(&c, x->val, x->len);
	if (ca_der_get_tlv(&c, CA_DER_OCTET_STRING, ki, ki_len, &derr) < 0 ||
	    ca_der_end(&c, "subjectKeyIdentifier", &derr) < 0)
		return bad_der(err, "subjectKeyIdentifier", &derr);
	if (*ki_len == 0 || *ki_len > SKI_MAX)
		return bad(err, "subjectKeyIdentifier of a bad length");
	return 0;
}

/* RFC 5280 4.2.1.1: non-critical, SEQUENCE { keyIdentifier [0] } and
 * nothing else (mica never writes the issuer/serial form). */
static int
lint_aki(const struct ext *x, const unsigned char **ki, size_t *ki_len,
	 struct mica_err *err)
{
	struct ca_der_cur c;
	struct mica_err derr;

	if (x->critical)
		return bad(err, "authorityKeyIdentifier critical");
	if (ext_enter(x, CA_DER_SEQUENCE, &c, err) < 0)
		return -1;
	if (ca_der_get_tlv(&c, CA_DER_CTX(0), ki, ki_len, &derr) < 0 ||
	    ca_der_end(&c, "authorityKeyIdentifier", &derr) < 0)
		return bad_der(err, "authorityKeyIdentifier", &derr);
	if (*ki_len == 0 || *ki_len > SKI_MAX)
		return bad(err, "authorityKeyIdentifier of a bad length");
	return 0;
}

/* A GeneralName that must be a uniformResourceIdentifier. */
static int
lint_uri(struct ca_der_cur *c, const char *what, struct mica_err *err)
{
	struct mica_err derr;
	const unsigned char *v;
	size_t n;

	if (ca_der_get_tlv(c, CA_DER_CTX(6), &v, &n, &derr) < 0)
		return bad_der(err, what, &derr);
	if (!ia5_printable(v, n) || memchr(v, ':', n) == NULL)
		return bad(err, "URI not an absolute printable URI");
	return 0;
}

/* RFC 5280 4.2.1.13: DistributionPoints with fullName URIs only. */
static int
lint_crldp(const struct ext *x, struct mica_err *err)
{
	struct ca_der_cur c, dp, dpn, full;
	struct mica_err derr;

	if (x->critical)
		return bad(err, "cRLDistributionPoints critical");
	if (ext_enter(x, CA_DER_SEQUENCE, &c, err) < 0)
		return -1;
	if (ca_der_empty(&c))
		return bad(err, "cRLDistributionPoints empty");
	while (!ca_der_empty(&c)) {
		if (ca_der_enter(&c, CA_DER_SEQUENCE, &dp, &derr) < 0 ||
		    ca_der_enter(&dp, CA_DER_CTX_CONS(0), &dpn, &derr) < 0 ||
		    ca_der_end(&dp, "DistributionPoint", &derr) < 0 ||
		    ca_der_enter(&dpn, CA_DER_CTX_CONS(0), &full, &derr) < 0 ||
		    ca_der_end(&dpn, "DistributionPointName", &derr) < 0)
			return bad_der(err, "cRLDistributionPoints", &derr);
		if (ca_der_empty(&full))
			return bad(err, "cRLDistributionPoints fullName empty");
		while (!ca_der_empty(&full))
			if (lint_uri(&full, "cRLDistributionPoints", err) < 0)
				return -1;
	}
	return 0;
}

/* RFC 5280 4.2.2.1: non-critical, caIssuers or OCSP URIs. */
static int
lint_aia(const struct ext *x, struct mica_err *err)
{
	struct ca_der_cur c, ad;
	struct mica_err derr;
	const unsigned char *oid;
	size_t oid_len;

	if (x->critical)
		return bad(err, "authorityInfoAccess critical");
	if (ext_enter(x, CA_DER_SEQUENCE, &c, err) < 0)
		return -1;
	if (ca_der_empty(&c))
		return bad(err, "authorityInfoAccess empty");
	while (!ca_der_empty(&c)) {
		if (ca_der_enter(&c, CA_DER_SEQUENCE, &ad, &derr) < 0 ||
		    ca_der_get_oid(&ad, &oid, &oid_len, &derr) < 0)
			return bad_der(err, "authorityInfoAccess", &derr);
		if (!ca_der_oid_eq(oid, oid_len, OID_CA_ISSUERS,
				   sizeof(OID_CA_ISSUERS)) &&
		    !ca_der_oid_eq(oid, oid_len, OID_OCSP, sizeof(OID_OCSP)))
			return bad(err, "authorityInfoAccess method unknown");
		if (lint_uri(&ad, "authorityInfoAccess", err) < 0)
			return -1;
		if (ca_der_end(&ad, "AccessDescription", &derr) < 0)
			return bad_der(err, "authorityInfoAccess", &derr);
	}
	return 0;
}

/* SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, BIT STRING }. */
static int
lint_spki(struct ca_der_cur *c, struct mica_err *err)
{
	struct ca_der_cur spki, alg;
	struct ca_der_tlv params;
	struct mica_err derr;
	const unsigned char *oid, *bits;
	size_t oid_len, nbytes;
	unsigned unused;

	if (!ca_der_peek(c, CA_DER_SEQUENCE))
		return bad(err, "subjectPublicKeyInfo missing");
	if (ca_der_enter(c, CA_DER_SEQUENCE, &spki, &derr) < 0 ||
	    ca_der_enter(&spki, CA_DER_SEQUENCE, &alg, &derr) < 0 ||
	    ca_der_get_oid(&alg, &oid, &oid_len, &derr) < 0)
		return bad_der(err, "subjectPublicKeyInfo", &derr);
	if (!ca_der_empty(&alg) && ca_der_get_any(&alg, &params, &derr) < 0)
		return bad_der(err, "subjectPublicKeyInfo", &derr);
	if (ca_der_end(&alg, "AlgorithmIdentifier", &derr) < 0 ||
	    ca_der_get_bitstring(&spki, &bits, &nbytes, &unused, &derr) < 0 ||
	    ca_der_end(&spki, "SubjectPublicKeyInfo", &derr) < 0)
		return bad_der(err, "subjectPublicKeyInfo", &derr);
	if (unused != 0 || nbytes == 0)
		return bad(err, "subjectPublicKeyInfo key not whole octets");
	return 0;
}

/* Parse the element at C that must be a Name; *raw is the whole element. */
static int
get_name(struct ca_der_cur *c, const char *what, const unsigned char **raw,
	 size_t *raw_len, int *empty, struct mica_err *err)
{
	struct mica_err derr;

	if (ca_der_get_elem(c, CA_DER_SEQUENCE, raw, raw_len, &derr) < 0)
		return bad_der(err, what, &derr);
	return lint_name(*raw, *raw_len, what, empty, err);
}

int
ca_lint_cert(const unsigned char *tbs, size_t tbs_len,
	     const struct ca_lint_cert_expect *e, struct mica_err *err)
{
	struct ca_der_cur top, c, v, val, ex;
	struct mica_err derr;
	struct ext exts[MAX_EXTS];
	const struct ext *x;
	const unsigned char *raw, *subj, *ski = NULL, *aki;
	size_t raw_len, subj_len, nexts, ski_len = 0, aki_len, want_aki_len;
	int64_t nb, na;
	uint64_t version;
	unsigned ku = 0, eku = 0;
	int empty, subject_empty, is_ca = 0, path_len = -1;

	if (MICA_FAULT("lint"))
		return mica_err_set(err, MICA_E_INTERNAL, "lint_failed",
				    "lint: fault injected");
	if (tbs == NULL || e == NULL || (e->nnames > 0 && e->names == NULL))
		return bad(err, "nothing to check");

	ca_der_init(&top, tbs, tbs_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, &derr) < 0)
		return bad_der(err, "TBSCertificate", &derr);
	if (!ca_der_empty(&top))
		return bad(err, "trailing data after TBSCertificate");

	/* version [0] EXPLICIT INTEGER v3(2) (4.1.2.1: extensions need v3) */
	if (!ca_der_peek(&c, CA_DER_CTX_CONS(0)))
		return bad(err, "version not v3");
	if (ca_der_enter(&c, CA_DER_CTX_CONS(0), &v, &derr) < 0 ||
	    ca_der_get_uint(&v, 255, &version, &derr) < 0 ||
	    ca_der_end(&v, "version", &derr) < 0)
		return bad_der(err, "version", &derr);
	if (version != 2)
		return bad(err, "version not v3");

	if (lint_serial(&c, "serial", err) < 0)
		return -1;

	/* signature (4.1.2.3) */
	if (ca_der_get_elem(&c, CA_DER_SEQUENCE, &raw, &raw_len, &derr) < 0)
		return bad_der(err, "signature algorithm", &derr);
	if (!alg_known(raw, raw_len))
		return bad(err, "signature algorithm unknown");

	/* issuer (4.1.2.4): non-empty and the issuing CA's subject, byte
	 * for byte (RFC 5280 7.1 name chaining). */
	if (get_name(&c, "issuer", &raw, &raw_len, &empty, err) < 0)
		return -1;
	if (empty)
		return bad(err, "issuer empty");
	if (e->issuer == NULL || raw_len != e->issuer_len ||
	    memcmp(raw, e->issuer, raw_len) != 0)
		return bad(err, "issuer mismatch");

	/* validity (4.1.2.5) */
	if (ca_der_enter(&c, CA_DER_SEQUENCE, &val, &derr) < 0)
		return bad_der(err, "validity", &derr);
	if (lint_time(&val, "notBefore", &nb, err) < 0 ||
	    lint_time(&val, "notAfter", &na, err) < 0)
		return -1;
	if (ca_der_end(&val, "validity", &derr) < 0)
		return bad_der(err, "validity", &derr);
	if (nb >= na)
		return bad(err, "notBefore not before notAfter");
	if (nb < e->issuer_not_before || na > e->issuer_not_after)
		return bad(err, "validity outside the issuer's");

	/* subject (4.1.2.6) */
	if (get_name(&c, "subject", &subj, &subj_len, &subject_empty,
		     err) < 0)
		return -1;
	if (e->aki == NULL && (subj_len != e->issuer_len ||
			       memcmp(subj, e->issuer, subj_len) != 0))
		return bad(err, "self-signed certificate subject differs "
			   "from issuer");

	if (lint_spki(&c, err) < 0)
		return -1;

	/* 4.1.2.8: conforming CAs MUST NOT generate unique identifiers. */
	if (ca_der_peek(&c, CA_DER_CTX(1)) || ca_der_peek(&c, CA_DER_CTX(2)) ||
	    ca_der_peek(&c, CA_DER_CTX_CONS(1)) ||
	    ca_der_peek(&c, CA_DER_CTX_CONS(2)))
		return bad(err, "unique identifiers present");

	/* extensions [3] EXPLICIT (4.1.2.9) */
	if (!ca_der_peek(&c, CA_DER_CTX_CONS(3)))
		return bad(err, "extensions missing (subjectKeyIdentifier "
			   "missing)");
	if (ca_der_enter(&c, CA_DER_CTX_CONS(3), &ex, &derr) < 0)
		return bad_der(err, "extensions", &derr);
	if (lint_exts(&ex, exts, &nexts, err) < 0)
		return -1;
	if (ca_der_end(&ex, "extensions", &derr) < 0)
		return bad_der(err, "extensions", &derr);
	if (!ca_der_empty(&c))
		return bad(err, "data after the extensions");

	for (size_t i = 0; i < nexts; i++)
		if (exts[i].id == EXT_CRL_NUMBER || exts[i].id == EXT_REASON ||
		    exts[i].id == EXT_DELTA || exts[i].id == EXT_FRESHEST)
			return bad(err, "CRL extension in a certificate");

	if (lint_bc(find_ext(exts, nexts, EXT_BC), &is_ca, &path_len, err) < 0)
		return -1;
	if (is_ca != (e->is_ca != 0))
		return bad(err, "basicConstraints cA does not match");
	if (e->has_path_len ? path_len != e->path_len : path_len != -1)
		return bad(err, "pathLenConstraint does not match");

	/* nameConstraints (4.2.1.10): only in a CA certificate, critical,
	 * exactly as meant. */
	x = find_ext(exts, nexts, EXT_NC);
	if (x != NULL && !is_ca)
		return bad(err, "nameConstraints in an end-entity certificate");
	if ((x == NULL) != (e->nc == NULL))
		return bad(err, e->nc == NULL ? "nameConstraints unexpected" :
			   "nameConstraints missing");
	if (x != NULL) {
		struct ca_nc *nc;
		struct mica_err nerr;

		if (!x->critical)
			return bad(err, "nameConstraints not critical");
		if (x->len != e->nc_len || memcmp(x->val, e->nc, x->len) != 0)
			return bad(err, "nameConstraints different");
		if ((nc = malloc(sizeof(*nc))) == NULL)
			return bad(err, "out of memory");
		if (ca_nc_parse(x->val, x->len, nc, &nerr) != 0) {
			free(nc);
			return bad(err, "nameConstraints malformed");
		}
		free(nc);
	}

	/* keyUsage (4.2.1.3): critical (mica's choice, allowed by the RFC)
	 * and exactly the expected bits. */
	x = find_ext(exts, nexts, EXT_KU);
	if (e->key_usage != 0 && x == NULL)
		return bad(err, "keyUsage missing");
	if (e->key_usage == 0 && x != NULL)
		return bad(err, "keyUsage different (none expected)");
	if (x != NULL) {
		if (!x->critical)
			return bad(err, "keyUsage not critical");
		if (lint_ku(x, &ku, err) < 0)
			return -1;
		if (ku != e->key_usage)
			return bad(err, "keyUsage different");
		if ((ku & CA_KU_KEY_CERT_SIGN) && !is_ca)
			return bad(err, "keyCertSign without cA");
	}

	x = find_ext(exts, nexts, EXT_EKU);
	if (e->eku != 0 && x == NULL)
		return bad(err, "extendedKeyUsage missing");
	if (e->eku == 0 && x != NULL)
		return bad(err, "extendedKeyUsage different (none expected)");
	if (x != NULL) {
		if (x->critical)
			return bad(err, "extendedKeyUsage critical");
		if (lint_eku(x, &eku, err) < 0)
			return -1;
		if (eku != e->eku)
			return bad(err, "extendedKeyUsage different");
	}

	/* subjectAltName (4.2.1.6): required for end entities (mica names
	 * them there, not in the CN) and with an empty subject, critical
	 * exactly when the subject is empty. */
	/* id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): in the delegated OCSP
	 * responder's certificate only, non-critical, NULL. */
	x = find_ext(exts, nexts, EXT_NOCHECK);
	if (x != NULL && e->eku != CA_EKU_OCSP_SIGNING)
		return bad(err, "ocspNoCheck outside an OCSP responder "
			   "certificate");
	if (x != NULL && (x->critical || x->len != 2 || x->val[0] != 0x05 ||
			  x->val[1] != 0x00))
		return bad(err, "ocspNoCheck not a non-critical NULL");
	if (e->eku == CA_EKU_OCSP_SIGNING && x == NULL)
		return bad(err, "ocspNoCheck missing in an OCSP responder "
			   "certificate");

	x = find_ext(exts, nexts, EXT_SAN);
	if (x == NULL) {
		/* The OCSP responder's certificate names no host: a client
		 * finds it in the response (RFC 6960 4.2.2.2); nor does
		 * SCEP's RA's (RFC 8894 3.1: found by GetCACert). */
		if ((!e->is_ca && e->eku != CA_EKU_OCSP_SIGNING &&
		     !e->service) ||
		    e->nnames > 0 || subject_empty)
			return bad(err, "subjectAltName missing");
	} else {
		if (subject_empty && !x->critical)
			return bad(err, "subjectAltName not critical with an "
				   "empty subject");
		if (!subject_empty && x->critical)
			return bad(err, "subjectAltName critical with a "
				   "non-empty subject");
		if (lint_san(x, e, err) < 0)
			return -1;
	}
	/* The names must be ones the issuing CA may certify: a certificate
	 * outside its name constraints would be rejected by every relying
	 * party that checks them (RFC 5280 6.1.3 (b), (c)). */
	for (size_t i = 0; e->issuer_nc != NULL && i < e->nnames; i++)
		if (!ca_nc_allows(e->issuer_nc, &e->names[i]))
			return bad(err, "a name is outside the issuing CA's "
				   "name constraints");

	if (lint_ski(find_ext(exts, nexts, EXT_SKI), &ski, &ski_len, err) < 0)
		return -1;

	x = find_ext(exts, nexts, EXT_AKI);
	if (e->aki != NULL) {
		if (x == NULL)
			return bad(err, "authorityKeyIdentifier missing");
		if (lint_aki(x, &aki, &aki_len, err) < 0)
			return -1;
		want_aki_len = e->aki_len == 0 ? 20 : e->aki_len;
		if (aki_len != want_aki_len ||
		    memcmp(aki, e->aki, want_aki_len) != 0)
			return bad(err, "authorityKeyIdentifier different");
	} else if (x != NULL) {
		/* A self-signed root may carry an AKI (4.2.1.1), but then
		 * it names its own key. */
		if (lint_aki(x, &aki, &aki_len, err) < 0)
			return -1;
		if (aki_len != ski_len || memcmp(aki, ski, ski_len) != 0)
			return bad(err, "authorityKeyIdentifier of a "
				   "self-signed certificate differs from its "
				   "subjectKeyIdentifier");
	}

	x = find_ext(exts, nexts, EXT_CRLDP);
	if (x != NULL && lint_crldp(x, err) < 0)
		return -1;
	x = find_ext(exts, nexts, EXT_AIA);
	if (x != NULL && lint_aia(x, err) < 0)
		return -1;
	return 0;
}

/* Copy the GeneralNames of a subjectAltName into F->names. */
static int
read_san(const struct ext *x, struct ca_cert_facts *f, struct mica_err *err)
{
	struct ca_der_cur c;
	struct ca_der_tlv g;
	struct mica_err derr;

	if (ext_enter(x, CA_DER_SEQUENCE, &c, err) < 0)
		return -1;
	if (ca_der_empty(&c))
		return bad(err, "subjectAltName empty");
	while (!ca_der_empty(&c)) {
		struct ca_name *nm;

		if (ca_der_get_any(&c, &g, &derr) < 0)
			return bad_der(err, "subjectAltName", &derr);
		if (f->nnames == CA_NAMES_MAX)
			return bad(err, "subjectAltName has too many names");
		nm = &f->names[f->nnames];
		memset(nm, 0, sizeof(*nm));
		switch (g.tag) {
		case CA_DER_CTX(7):
			if (g.len != 4 && g.len != 16)
				return bad(err, "subjectAltName iPAddress not "
					   "4 or 16 octets");
			nm->kind = CA_NAME_IP;
			memcpy(nm->ip, g.val, g.len);
			nm->ip_len = g.len;
			break;
		case CA_DER_CTX(1):
		case CA_DER_CTX(2):
			if (!ia5_printable(g.val, g.len) || g.len > 254)
				return bad(err, "subjectAltName name not "
					   "printable ASCII or too long");
			nm->kind = g.tag == CA_DER_CTX(2) ? CA_NAME_DNS :
				   CA_NAME_EMAIL;
			memcpy(nm->value, g.val, g.len);
			nm->value[g.len] = '\0';
			break;
		case CA_DER_CTX_CONS(0):
			if (read_upn(&g, nm->value, sizeof(nm->value), err) < 0)
				return -1;
			nm->kind = CA_NAME_UPN;
			break;
		default:
			return bad(err, "subjectAltName has a name type mica "
				   "does not issue");
		}
		f->nnames++;
	}
	return 0;
}

int
ca_lint_cert_read(const unsigned char *tbs, size_t tbs_len,
		  struct ca_cert_facts *f, struct mica_err *err)
{
	struct ca_der_cur top, c, v, val, ex;
	struct mica_err derr;
	struct ext exts[MAX_EXTS];
	const struct ext *x;
	size_t nexts;
	uint64_t version;
	int empty;

	if (tbs == NULL || f == NULL)
		return bad(err, "nothing to read");
	memset(f, 0, offsetof(struct ca_cert_facts, names));
	f->nnames = 0;
	f->path_len = -1;

	ca_der_init(&top, tbs, tbs_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, &derr) < 0)
		return bad_der(err, "TBSCertificate", &derr);
	if (!ca_der_empty(&top))
		return bad(err, "trailing data after TBSCertificate");
	if (ca_der_enter(&c, CA_DER_CTX_CONS(0), &v, &derr) < 0 ||
	    ca_der_get_uint(&v, 255, &version, &derr) < 0 ||
	    ca_der_end(&v, "version", &derr) < 0)
		return bad_der(err, "version", &derr);
	if (version != 2)
		return bad(err, "version not v3");
	if (lint_serial(&c, "serial", err) < 0)
		return -1;
	if (ca_der_get_elem(&c, CA_DER_SEQUENCE, &f->sig_alg, &f->sig_alg_len,
			    &derr) < 0)
		return bad_der(err, "signature algorithm", &derr);
	if (get_name(&c, "issuer", &f->issuer, &f->issuer_len, &empty,
		     err) < 0)
		return -1;
	if (ca_der_enter(&c, CA_DER_SEQUENCE, &val, &derr) < 0)
		return bad_der(err, "validity", &derr);
	if (lint_time(&val, "notBefore", &f->not_before, err) < 0 ||
	    lint_time(&val, "notAfter", &f->not_after, err) < 0)
		return -1;
	if (ca_der_end(&val, "validity", &derr) < 0)
		return bad_der(err, "validity", &derr);
	if (get_name(&c, "subject", &f->subject, &f->subject_len, &empty,
		     err) < 0)
		return -1;
	f->spki = c.p;
	if (lint_spki(&c, err) < 0)
		return -1;
	f->spki_len = (size_t)(c.p - f->spki);
	if (!ca_der_peek(&c, CA_DER_CTX_CONS(3)))
		return bad(err, "extensions missing");
	if (ca_der_enter(&c, CA_DER_CTX_CONS(3), &ex, &derr) < 0)
		return bad_der(err, "extensions", &derr);
	if (lint_exts(&ex, exts, &nexts, err) < 0)
		return -1;
	if (ca_der_end(&ex, "extensions", &derr) < 0)
		return bad_der(err, "extensions", &derr);
	if (!ca_der_empty(&c))
		return bad(err, "data after the extensions");

	if (lint_bc(find_ext(exts, nexts, EXT_BC), &f->is_ca, &f->path_len,
		    err) < 0)
		return -1;
	if ((x = find_ext(exts, nexts, EXT_SKI)) != NULL &&
	    lint_ski(x, &f->ski, &f->ski_len, err) < 0)
		return -1;
	if ((x = find_ext(exts, nexts, EXT_NC)) != NULL) {
		f->nc = x->val;
		f->nc_len = x->len;
		f->nc_critical = x->critical;
	}
	if ((x = find_ext(exts, nexts, EXT_KU)) != NULL &&
	    lint_ku(x, &f->key_usage, err) < 0)
		return -1;
	if ((x = find_ext(exts, nexts, EXT_EKU)) != NULL &&
	    lint_eku(x, &f->eku, err) < 0)
		return -1;
	if ((x = find_ext(exts, nexts, EXT_SAN)) != NULL &&
	    read_san(x, f, err) < 0)
		return -1;
	if ((x = find_ext(exts, nexts, EXT_AKI)) != NULL &&
	    lint_aki(x, &f->aki, &f->aki_len, err) < 0)
		return -1;
	f->ocsp_nocheck = find_ext(exts, nexts, EXT_NOCHECK) != NULL;
	f->has_aia = find_ext(exts, nexts, EXT_AIA) != NULL ||
		     find_ext(exts, nexts, EXT_CRLDP) != NULL;
	return 0;
}

/* ------------------------------------------------------------------ */
/* CRL                                                                 */
/* ------------------------------------------------------------------ */

/* A magnitude of at most 8 octets as a number. */
static uint64_t
number_of(const unsigned char *m, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && i < 8; i++)
		v = v << 8 | m[i];
	return v;
}

/* The reasonCode of an entry (5.3.1), in VAL (the OCTET STRING's
 * contents), into *REASON. */
static int
lint_entry_reason(const unsigned char *val, size_t val_len, int *reason,
		  struct mica_err *err)
{
	struct ca_der_cur e;
	struct mica_err derr;
	const unsigned char *r;
	size_t r_len;

	/* CRLReason ::= ENUMERATED, one octet for 0..10. */
	ca_der_init(&e, val, val_len);
	if (ca_der_get_tlv(&e, CA_DER_ENUMERATED, &r, &r_len, &derr) < 0 ||
	    ca_der_end(&e, "reasonCode", &derr) < 0)
		return bad_der(err, "reasonCode", &derr);
	if (r_len != 1)
		return bad(err, "reasonCode not one octet");
	/* 5.3.1: unspecified (0) SHOULD be expressed by omitting the
	 * extension; mica always does. */
	if (r[0] == 0)
		return bad(err, "reasonCode unspecified present");
	/* 5.3.1: 7 is unassigned; removeFromCRL (8) belongs in delta CRLs
	 * only. */
	if (!ca_reason_valid(r[0]))
		return bad(err, "reasonCode invalid");
	*reason = r[0];
	return 0;
}

/* The invalidityDate of an entry revoked at WHEN (5.3.2), in VAL. */
static int
lint_entry_invalidity(const unsigned char *val, size_t val_len, int64_t when,
		      struct mica_err *err)
{
	struct ca_der_cur e;
	struct mica_err derr;
	int64_t t;
	int gen;

	/* InvalidityDate ::= GeneralizedTime, whatever the year; the strict
	 * form (Zulu, seconds, no fraction: 4.1.2.5.2) is what
	 * ca_der_get_time reads. */
	ca_der_init(&e, val, val_len);
	if (ca_der_get_time(&e, &t, &gen, &derr) < 0 ||
	    ca_der_end(&e, "invalidityDate", &derr) < 0)
		return bad_der(err, "invalidityDate", &derr);
	if (!gen)
		return bad(err, "invalidityDate not a GeneralizedTime");
	/* mica dates it no later than the revocation, never before 1970. */
	if (t > when)
		return bad(err, "invalidityDate after the revocationDate");
	if (t <= 0)
		return bad(err, "invalidityDate not after 1970");
	return 0;
}

/* One revokedCertificates entry (RFC 5280 5.1.2.6, 5.3.1, 5.3.2). */
static int
lint_crl_entry(struct ca_der_cur *list, struct mica_err *err)
{
	struct ca_der_cur ent, exts, e;
	struct mica_err derr;
	const unsigned char *oid, *val;
	size_t oid_len, val_len;
	int64_t when;
	int crit, is_reason, reason = 0, seen_reason = 0, seen_invalid = 0;

	if (ca_der_enter(list, CA_DER_SEQUENCE, &ent, &derr) < 0)
		return bad_der(err, "CRL entry", &derr);
	if (lint_serial(&ent, "revoked serial", err) < 0 ||
	    lint_time(&ent, "revocationDate", &when, err) < 0)
		return -1;
	if (ca_der_empty(&ent))
		return 0;
	if (ca_der_enter(&ent, CA_DER_SEQUENCE, &exts, &derr) < 0 ||
	    ca_der_end(&ent, "CRL entry", &derr) < 0)
		return bad_der(err, "CRL entry", &derr);
	if (ca_der_empty(&exts))
		return bad(err, "empty crlEntryExtensions");
	while (!ca_der_empty(&exts)) {
		const char *name;

		if (ca_der_enter(&exts, CA_DER_SEQUENCE, &e, &derr) < 0 ||
		    ca_der_get_oid(&e, &oid, &oid_len, &derr) < 0)
			return bad_der(err, "CRL entry extension", &derr);
		is_reason = ca_der_oid_eq(oid, oid_len, OID_REASON,
					  sizeof(OID_REASON));
		if (!is_reason &&
		    !ca_der_oid_eq(oid, oid_len,
				   (const unsigned char *)CA_DER_OID_INVALIDITY,
				   CA_DER_OID_INVALIDITY_LEN))
			return bad(err, "unknown CRL entry extension");
		name = is_reason ? "reasonCode" : "invalidityDate";
		if (is_reason ? seen_reason++ : seen_invalid++)
			return bad(err, "duplicate CRL entry extension");
		/* Both non-critical (5.3.1, 5.3.2). */
		if (ca_der_peek(&e, CA_DER_BOOLEAN)) {
			if (ca_der_get_bool(&e, &crit, &derr) < 0)
				return bad_der(err, name, &derr);
			return bad(err, is_reason ? "reasonCode critical" :
				   "invalidityDate critical");
		}
		if (ca_der_get_tlv(&e, CA_DER_OCTET_STRING, &val, &val_len,
				   &derr) < 0 ||
		    ca_der_end(&e, name, &derr) < 0)
			return bad_der(err, name, &derr);
		if (is_reason ? lint_entry_reason(val, val_len, &reason, err) :
		    lint_entry_invalidity(val, val_len, when, err))
			return -1;
	}
	/* A hold is no statement that the certificate became invalid: mica
	 * never dates one. */
	if (seen_invalid && reason == CA_REASON_HOLD)
		return bad(err, "invalidityDate beside certificateHold");
	return 0;
}

int
ca_lint_crl(const unsigned char *tbs, size_t tbs_len,
	    const unsigned char *issuer, size_t issuer_len,
	    struct mica_err *err)
{
	return ca_lint_crl_read(tbs, tbs_len, issuer, issuer_len, NULL, err);
}

int
ca_lint_crl_read(const unsigned char *tbs, size_t tbs_len,
		 const unsigned char *issuer, size_t issuer_len,
		 struct ca_crl_facts *f, struct mica_err *err)
{
	struct ca_der_cur top, c, list, ctx;
	struct mica_err derr;
	struct ext exts[MAX_EXTS];
	const struct ext *x;
	const unsigned char *raw, *ki, *num;
	size_t raw_len, ki_len, nexts, num_len, i;
	int64_t this_update, next_update;
	uint64_t version;
	const unsigned char *alg;
	size_t nentries = 0, alg_len;
	uint64_t delta_base = 0;
	int empty;

	if (MICA_FAULT("lint"))
		return mica_err_set(err, MICA_E_INTERNAL, "lint_failed",
				    "lint: fault injected");
	if (tbs == NULL || issuer == NULL)
		return bad(err, "nothing to check");

	ca_der_init(&top, tbs, tbs_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, &derr) < 0)
		return bad_der(err, "TBSCertList", &derr);
	if (!ca_der_empty(&top))
		return bad(err, "trailing data after TBSCertList");

	/* version v2(1): required with extensions (5.1.2.1) */
	if (!ca_der_peek(&c, CA_DER_INTEGER))
		return bad(err, "version not v2");
	if (ca_der_get_uint(&c, 255, &version, &derr) < 0)
		return bad_der(err, "version", &derr);
	if (version != 1)
		return bad(err, "version not v2");

	if (ca_der_get_elem(&c, CA_DER_SEQUENCE, &alg, &alg_len, &derr) < 0)
		return bad_der(err, "signature algorithm", &derr);
	if (!alg_known(alg, alg_len))
		return bad(err, "signature algorithm unknown");

	if (get_name(&c, "issuer", &raw, &raw_len, &empty, err) < 0)
		return -1;
	if (empty)
		return bad(err, "issuer empty");
	if (raw_len != issuer_len || memcmp(raw, issuer, raw_len) != 0)
		return bad(err, "issuer mismatch");

	if (lint_time(&c, "thisUpdate", &this_update, err) < 0)
		return -1;
	/* 5.1.2.5: conforming CRL issuers MUST include nextUpdate. */
	if (!ca_der_peek(&c, CA_DER_UTC_TIME) &&
	    !ca_der_peek(&c, CA_DER_GEN_TIME))
		return bad(err, "nextUpdate missing");
	if (lint_time(&c, "nextUpdate", &next_update, err) < 0)
		return -1;
	if (this_update >= next_update)
		return bad(err, "thisUpdate not before nextUpdate");

	/* 5.1.2.6: absent when there are no revoked certificates. */
	if (ca_der_peek(&c, CA_DER_SEQUENCE)) {
		if (ca_der_enter(&c, CA_DER_SEQUENCE, &list, &derr) < 0)
			return bad_der(err, "revokedCertificates", &derr);
		if (ca_der_empty(&list))
			return bad(err, "empty revokedCertificates SEQUENCE");
		while (!ca_der_empty(&list)) {
			if (lint_crl_entry(&list, err) < 0)
				return -1;
			nentries++;
		}
	}

	/* crlExtensions [0] EXPLICIT: AKI (5.2.1) and cRLNumber (5.2.3) are
	 * both required of conforming CRL issuers. */
	if (!ca_der_peek(&c, CA_DER_CTX_CONS(0)))
		return bad(err, "crlExtensions missing (cRLNumber missing)");
	if (ca_der_enter(&c, CA_DER_CTX_CONS(0), &ctx, &derr) < 0)
		return bad_der(err, "crlExtensions", &derr);
	if (lint_exts(&ctx, exts, &nexts, err) < 0)
		return -1;
	if (ca_der_end(&ctx, "crlExtensions", &derr) < 0)
		return bad_der(err, "crlExtensions", &derr);
	if (!ca_der_empty(&c))
		return bad(err, "data after crlExtensions");
	for (i = 0; i < nexts; i++)
		if (exts[i].id != EXT_AKI && exts[i].id != EXT_CRL_NUMBER &&
		    exts[i].id != EXT_DELTA && exts[i].id != EXT_FRESHEST)
			return bad(err, "extension not allowed in a CRL");
	/* 5.2.4: deltaCRLIndicator, critical, BaseCRLNumber; a delta names
	 * no further deltas. 5.2.6: freshestCRL, non-critical,
	 * CRLDistributionPoints syntax. */
	if ((x = find_ext(exts, nexts, EXT_DELTA)) != NULL) {
		const unsigned char *b;
		size_t b_len;

		if (!x->critical)
			return bad(err, "deltaCRLIndicator not critical");
		ca_der_init(&ctx, x->val, x->len);
		if (ca_der_get_posint(&ctx, &b, &b_len, &derr) < 0 ||
		    ca_der_end(&ctx, "deltaCRLIndicator", &derr) < 0)
			return bad_der(err, "deltaCRLIndicator", &derr);
		if (b_len > 8)
			return bad(err, "BaseCRLNumber too large");
		delta_base = 0;
		for (i = 0; i < b_len; i++)
			delta_base = delta_base << 8 | b[i];
		if (find_ext(exts, nexts, EXT_FRESHEST) != NULL)
			return bad(err, "freshestCRL in a delta CRL");
	}
	if ((x = find_ext(exts, nexts, EXT_FRESHEST)) != NULL &&
	    lint_crldp(x, err) < 0)
		return -1;

	x = find_ext(exts, nexts, EXT_AKI);
	if (x == NULL)
		return bad(err, "authorityKeyIdentifier missing");
	if (lint_aki(x, &ki, &ki_len, err) < 0)
		return -1;

	x = find_ext(exts, nexts, EXT_CRL_NUMBER);
	if (x == NULL)
		return bad(err, "cRLNumber missing");
	if (x->critical)
		return bad(err, "cRLNumber critical");
	ca_der_init(&ctx, x->val, x->len);
	if (ca_der_get_posint(&ctx, &num, &num_len, &derr) < 0 ||
	    ca_der_end(&ctx, "cRLNumber", &derr) < 0)
		return bad_der(err, "cRLNumber", &derr);
	if (num_len + ((num[0] & 0x80) != 0) > 20)
		return bad(err, "cRLNumber longer than 20 octets");
	if (delta_base > 0 && (num_len > 8 || delta_base >= number_of(num,
								     num_len)))
		return bad(err, "BaseCRLNumber not below the cRLNumber");
	if (f != NULL) {
		f->sig_alg = alg;
		f->sig_alg_len = alg_len;
		f->this_update = this_update;
		f->next_update = next_update;
		f->aki = ki;
		f->aki_len = ki_len;
		f->nentries = nentries;
		f->delta_base = delta_base;
		f->freshest = find_ext(exts, nexts, EXT_FRESHEST) != NULL;
		if (num_len > 8) {
			f->number = UINT64_MAX;
		} else {
			f->number = 0;
			for (i = 0; i < num_len; i++)
				f->number = f->number << 8 | num[i];
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Name constraints                                                    */
/* ------------------------------------------------------------------ */

static int
nc_bad(struct mica_err *err, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_name_constraints",
			    "nameConstraints: %s", why);
}

/* GeneralSubtrees ::= SEQUENCE SIZE (1..MAX) OF GeneralSubtree, the
 * contents of C, into V (*N of them). */
static int
nc_subtrees(struct ca_der_cur *c, struct ca_nc_subtree *v, size_t *n,
	    struct mica_err *err)
{
	struct ca_der_cur st;
	struct ca_der_tlv g, m;
	size_t i;

	if (ca_der_empty(c))
		return nc_bad(err, "empty GeneralSubtrees");
	while (!ca_der_empty(c)) {
		struct ca_nc_subtree *t;

		if (*n == CA_NC_MAX)
			return nc_bad(err, "too many subtrees");
		if (ca_der_enter(c, CA_DER_SEQUENCE, &st, NULL) < 0 ||
		    ca_der_get_any(&st, &g, NULL) < 0)
			return nc_bad(err, "malformed GeneralSubtree");
		/* minimum [0] BaseDistance DEFAULT 0: DER omits it, but a
		 * written 0 means the same; maximum [1] MUST be absent. */
		if (ca_der_peek(&st, CA_DER_CTX(0))) {
			if (ca_der_get_any(&st, &m, NULL) < 0 || m.len != 1 ||
			    m.val[0] != 0)
				return nc_bad(err, "minimum other than 0");
		}
		if (!ca_der_empty(&st))
			return nc_bad(err, "maximum present or trailing data");
		t = &v[*n];
		memset(t, 0, sizeof(*t));
		switch (g.tag) {
		case CA_DER_CTX(1):   /* rfc822Name */
		case CA_DER_CTX(2):   /* dNSName */
			if (g.len >= sizeof(t->value))
				return nc_bad(err, "name too long");
			for (i = 0; i < g.len; i++) {
				if (g.val[i] < 0x21 || g.val[i] > 0x7e)
					return nc_bad(err, "name not printable "
						      "ASCII");
				t->value[i] = (char)((g.val[i] >= 'A' &&
						      g.val[i] <= 'Z') ?
						     g.val[i] + 32 : g.val[i]);
			}
			t->value[g.len] = '\0';
			t->kind = g.tag == CA_DER_CTX(2) ? CA_NAME_DNS :
				  CA_NAME_EMAIL;
			break;
		case CA_DER_CTX(7):   /* iPAddress: address then mask */
			if (g.len != 8 && g.len != 32)
				return nc_bad(err, "iPAddress subtree not 8 or "
					      "32 octets");
			t->kind = CA_NAME_IP;
			t->ip_len = g.len / 2;
			memcpy(t->ip, g.val, t->ip_len);
			memcpy(t->mask, g.val + t->ip_len, t->ip_len);
			break;
		default:
			return mica_err_set(err, MICA_E_UNSUPPORTED,
					    "unsupported_name_constraints",
					    "nameConstraints of a name form "
					    "mica does not issue (directoryName, "
					    "URI, otherName...)");
		}
		(*n)++;
	}
	return 0;
}

int
ca_nc_parse(const unsigned char *val, size_t len, struct ca_nc *nc,
	    struct mica_err *err)
{
	struct ca_der_cur top, seq, sub;

	if (val == NULL || nc == NULL)
		return nc_bad(err, "nothing to read");
	memset(nc, 0, sizeof(*nc));
	ca_der_init(&top, val, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &seq, NULL) < 0 ||
	    !ca_der_empty(&top))
		return nc_bad(err, "not one SEQUENCE");
	/* RFC 5280 4.2.1.10: "MUST NOT issue ... where name constraints is
	 * an empty sequence". */
	if (ca_der_empty(&seq))
		return nc_bad(err, "empty");
	if (ca_der_peek(&seq, CA_DER_CTX_CONS(0))) {
		if (ca_der_enter(&seq, CA_DER_CTX_CONS(0), &sub, NULL) < 0)
			return nc_bad(err, "malformed permittedSubtrees");
		if (nc_subtrees(&sub, nc->permitted, &nc->npermitted, err) < 0)
			return -1;
	}
	if (ca_der_peek(&seq, CA_DER_CTX_CONS(1))) {
		if (ca_der_enter(&seq, CA_DER_CTX_CONS(1), &sub, NULL) < 0)
			return nc_bad(err, "malformed excludedSubtrees");
		if (nc_subtrees(&sub, nc->excluded, &nc->nexcluded, err) < 0)
			return -1;
	}
	if (!ca_der_empty(&seq))
		return nc_bad(err, "unknown element");
	return 0;
}

/* Is HOST (lowercase) within the DNS constraint C (RFC 5280 4.2.1.10:
 * adding labels to the left)? A leading '.' (a common reading for
 * hosts, as OpenSSL's) means strictly under. */
static int
nc_dns_match(const char *host, const char *c)
{
	size_t hl = strlen(host), cl = strlen(c);

	if (cl == 0)
		return 1;
	if (c[0] == '.')
		return hl > cl && strcasecmp(host + hl - cl, c) == 0;
	if (hl == cl)
		return strcasecmp(host, c) == 0;
	return hl > cl && host[hl - cl - 1] == '.' &&
	       strcasecmp(host + hl - cl, c) == 0;
}

static int
nc_match(const struct ca_nc_subtree *t, const struct ca_name *n)
{
	const char *at;

	switch (n->kind) {
	case CA_NAME_DNS:
		return nc_dns_match(n->value, t->value);
	case CA_NAME_EMAIL:
		if (strchr(t->value, '@') != NULL)
			return strcasecmp(n->value, t->value) == 0;
		if ((at = strrchr(n->value, '@')) == NULL)
			return 0;
		if (t->value[0] == '.')
			return nc_dns_match(at + 1, t->value);
		return strcasecmp(at + 1, t->value) == 0;
	case CA_NAME_IP:
		if (n->ip_len != t->ip_len)
			return 0;
		for (size_t i = 0; i < n->ip_len; i++)
			if ((n->ip[i] & t->mask[i]) != (t->ip[i] & t->mask[i]))
				return 0;
		return 1;
	default:
		return 0;
	}
}

int
ca_nc_allows(const struct ca_nc *nc, const struct ca_name *name)
{
	struct ca_name mbox;
	size_t i;
	int any = 0;

	if (nc == NULL)
		return 1;
	/* A UPN is constrained by no subtree mica writes or reads (RFC 5280
	 * 4.2.1.10: a form without subtrees is not constrained; Windows
	 * since Vista checks a UPN only against otherName UPN subtrees), so
	 * relying parties would take one for any domain. mica judges it as
	 * the mailbox it reads like: a CA held to contoso.test certifies no
	 * account of another domain either. */
	if (name->kind == CA_NAME_UPN) {
		memset(&mbox, 0, sizeof(mbox));
		mbox.kind = CA_NAME_EMAIL;
		snprintf(mbox.value, sizeof(mbox.value), "%s",
			 ca_name_bare(name));
		name = &mbox;
	}
	for (i = 0; i < nc->nexcluded; i++)
		if (nc->excluded[i].kind == name->kind &&
		    nc_match(&nc->excluded[i], name))
			return 0;
	for (i = 0; i < nc->npermitted; i++) {
		if (nc->permitted[i].kind != name->kind)
			continue;
		any = 1;
		if (nc_match(&nc->permitted[i], name))
			return 1;
	}
	return !any;
}

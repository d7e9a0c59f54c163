/*
 * ca/cacert.c - reading CA certificates, bundles and CRLs from outside
 * (see ca/cacert.h): another CA's root, the certificate it issued to this
 * CA, its chain as a PEM bundle or a PKCS#7 .p7b, and its CRL.
 */
#include "ca/cacert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#if defined(MBEDTLS_USE_PSA_CRYPTO)
#include <psa/crypto.h>
#endif

#include "ca/der.h"
#include "ca/p7.h"
#include "ca/profile.h"
#include "util/shown.h"

#define CRL_DER_MAX (16u * 1024 * 1024)
#define EXTS_MAX    32

static int
bad_cert(struct mica_err *err, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_certificate",
			    "certificate: %s", why);
}

static int
bad_crl(struct mica_err *err, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_crl", "CRL: %s", why);
}

/* Extensions mica reads (2.5.29.x and id-pe-authorityInfoAccess). */
static const unsigned char OID_BC[] = { 0x55, 0x1d, 0x13 };
static const unsigned char OID_KU[] = { 0x55, 0x1d, 0x0f };
static const unsigned char OID_SKI[] = { 0x55, 0x1d, 0x0e };
static const unsigned char OID_AKI[] = { 0x55, 0x1d, 0x23 };
static const unsigned char OID_NC[] = { 0x55, 0x1d, 0x1e };
static const unsigned char OID_CRL_NUMBER[] = { 0x55, 0x1d, 0x14 };
static const unsigned char OID_DELTA_CRL[] = { 0x55, 0x1d, 0x1b };
static const unsigned char OID_IDP[] = { 0x55, 0x1d, 0x1c };
static const unsigned char OID_REASON_CODE[] = { 0x55, 0x1d, 0x15 };
static const unsigned char OID_CERT_ISSUER[] = { 0x55, 0x1d, 0x1d };
static const unsigned char OID_EKU[] = { 0x55, 0x1d, 0x25 };
static const unsigned char OID_CDP[] = { 0x55, 0x1d, 0x1f };
static const unsigned char OID_PC[] = { 0x55, 0x1d, 0x24 };
static const unsigned char OID_AIA[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01 };
static const unsigned char OID_CA_ISSUERS[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02 };
/* id-RSASSA-PSS (RFC 4055 3.1), as a key's algorithm and a signature's. */
static const unsigned char OID_PSS[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a };

/* Extensions other CAs write that change nothing mica decides: known,
 * so a critical one is not "unknown" (a relying party processes them).
 * The policy ones among them matter to relying parties only when an
 * explicit policy is required (RFC 5280 6.1.3 (d)-(f), 6.1.5 (g)): mica's
 * leaves carry no certificatePolicies, so the valid policy tree is empty
 * at the leaf whatever the CAs above say (policies, mappings, anyPolicy
 * inhibited or not), and that fails the path only once explicit_policy
 * reaches 0 - what policyConstraints' requireExplicitPolicy, read below,
 * decides (install-ca judges it). */
static const struct {
	unsigned char oid[8];
	size_t len;
} known_other[] = {
	{ { 0x55, 0x1d, 0x11 }, 3 },     /* subjectAltName */
	{ { 0x55, 0x1d, 0x12 }, 3 },     /* issuerAltName */
	{ { 0x55, 0x1d, 0x2e }, 3 },     /* freshestCRL */
	{ { 0x55, 0x1d, 0x20 }, 3 },     /* certificatePolicies */
	{ { 0x55, 0x1d, 0x21 }, 3 },     /* policyMappings */
	{ { 0x55, 0x1d, 0x36 }, 3 },     /* inhibitAnyPolicy */
	{ { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x0b }, 8 },  /* SIA */
};

static const unsigned char OID_INHIBIT_ANY[] = { 0x55, 0x1d, 0x36 };

static int
oid_is(const unsigned char *oid, size_t len, const unsigned char *want,
       size_t want_len)
{
	return ca_der_oid_eq(oid, len, want, want_len);
}

/* RFC 5280 4.2.1.9: SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLen INTEGER
 * OPTIONAL }. An explicit FALSE (not DER) is read as what it says. */
static int
read_bc(const unsigned char *v, size_t len, struct ca_cert_info *o,
	struct mica_err *err)
{
	struct ca_der_cur top, c;
	uint64_t pl;
	int ca = 0;

	ca_der_init(&top, v, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, NULL) < 0 ||
	    !ca_der_empty(&top))
		return bad_cert(err, "malformed basicConstraints");
	if (ca_der_peek(&c, CA_DER_BOOLEAN) &&
	    ca_der_get_bool(&c, &ca, NULL) < 0)
		return bad_cert(err, "malformed basicConstraints");
	if (ca_der_peek(&c, CA_DER_INTEGER)) {
		if (ca_der_get_uint(&c, 255, &pl, NULL) < 0)
			return bad_cert(err, "malformed pathLenConstraint");
		o->path_len = (int)pl;
	}
	if (!ca_der_empty(&c))
		return bad_cert(err, "malformed basicConstraints");
	o->is_ca = ca;
	return 0;
}

/* RFC 5280 4.2.1.3 keyUsage as CA_KU_* (bits past decipherOnly, and
 * trailing zero bits some encoders leave, are ignored). */
static int
read_ku(const unsigned char *v, size_t len, struct ca_cert_info *o,
	struct mica_err *err)
{
	struct ca_der_cur c;
	const unsigned char *bits;
	size_t nbytes, i;
	unsigned unused, m = 0;

	ca_der_init(&c, v, len);
	if (ca_der_get_bitstring(&c, &bits, &nbytes, &unused, NULL) < 0 ||
	    !ca_der_empty(&c))
		return bad_cert(err, "malformed keyUsage");
	for (i = 0; i < nbytes * 8 - unused && i < 9; i++)
		if (bits[i / 8] & (0x80u >> (i % 8)))
			m |= 1u << i;
	o->has_ku = 1;
	o->key_usage = m;
	return 0;
}

static int
read_ski(const unsigned char *v, size_t len, struct ca_cert_info *o,
	 struct mica_err *err)
{
	struct ca_der_cur c;
	const unsigned char *ki;
	size_t n;

	ca_der_init(&c, v, len);
	if (ca_der_get_tlv(&c, CA_DER_OCTET_STRING, &ki, &n, NULL) < 0 ||
	    !ca_der_empty(&c) || n == 0 || n > CA_KEYID_MAX)
		return bad_cert(err, "malformed subjectKeyIdentifier");
	memcpy(o->ski, ki, n);
	o->ski_len = n;
	o->has_ski = 1;
	return 0;
}

/* RFC 5280 4.2.1.1: SEQUENCE { keyIdentifier [0] OPTIONAL,
 * authorityCertIssuer [1] OPTIONAL, authorityCertSerialNumber [2]
 * OPTIONAL }; only the key identifier is kept. */
static int
read_aki(const unsigned char *v, size_t len, struct ca_cert_info *o,
	 struct mica_err *err)
{
	struct ca_der_cur top, c;
	struct ca_der_tlv t;

	ca_der_init(&top, v, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, NULL) < 0 ||
	    !ca_der_empty(&top))
		return bad_cert(err, "malformed authorityKeyIdentifier");
	if (ca_der_peek(&c, CA_DER_CTX(0))) {
		if (ca_der_get_any(&c, &t, NULL) < 0 || t.len == 0 ||
		    t.len > CA_KEYID_MAX)
			return bad_cert(err, "malformed authorityKeyIdentifier");
		o->aki = t.val;
		o->aki_len = t.len;
	}
	if (ca_der_peek(&c, CA_DER_CTX_CONS(1)) &&
	    ca_der_get_any(&c, &t, NULL) < 0)
		return bad_cert(err, "malformed authorityKeyIdentifier");
	if (ca_der_peek(&c, CA_DER_CTX(2)) && ca_der_get_any(&c, &t, NULL) < 0)
		return bad_cert(err, "malformed authorityKeyIdentifier");
	if (!ca_der_empty(&c))
		return bad_cert(err, "malformed authorityKeyIdentifier");
	return 0;
}

/* SkipCerts ::= INTEGER (0..MAX), implicitly tagged TAG, into *OUT: a
 * value above CA_SKIPCERTS_MAX as that (no path is that long). */
static int
read_skipcerts(struct ca_der_cur *c, unsigned tag, int *out)
{
	const unsigned char *v;
	size_t n, i;
	unsigned x = 0;

	if (ca_der_get_tlv(c, tag, &v, &n, NULL) < 0 || n == 0 ||
	    (v[0] & 0x80) != 0 || (n > 1 && v[0] == 0 && (v[1] & 0x80) == 0))
		return -1;
	for (i = 0; i < n; i++) {
		x = x * 256 + v[i];
		if (x > CA_SKIPCERTS_MAX) {
			x = CA_SKIPCERTS_MAX;
			break;
		}
	}
	*out = (int)x;
	return 0;
}

/* RFC 5280 4.2.1.11: SEQUENCE { requireExplicitPolicy [0] SkipCerts
 * OPTIONAL, inhibitPolicyMapping [1] SkipCerts OPTIONAL }. An empty
 * SEQUENCE (which CAs must not write) requires nothing: read as what it
 * says, as OpenSSL does outside its policy checks. */
static int
read_pc(const unsigned char *v, size_t len, struct ca_cert_info *o,
	struct mica_err *err)
{
	struct ca_der_cur top, c;

	ca_der_init(&top, v, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, NULL) < 0 ||
	    !ca_der_empty(&top))
		return bad_cert(err, "malformed policyConstraints");
	if (ca_der_peek(&c, CA_DER_CTX(0)) &&
	    read_skipcerts(&c, CA_DER_CTX(0), &o->require_explicit) < 0)
		return bad_cert(err, "malformed policyConstraints");
	if (ca_der_peek(&c, CA_DER_CTX(1)) &&
	    read_skipcerts(&c, CA_DER_CTX(1), &o->inhibit_mapping) < 0)
		return bad_cert(err, "malformed policyConstraints");
	if (!ca_der_empty(&c))
		return bad_cert(err, "malformed policyConstraints");
	return 0;
}

/* Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (RFC 5280 4.1), each
 * extnID at most once. */
static int
read_exts(struct ca_der_cur *c, struct ca_cert_info *o, struct mica_err *err)
{
	struct ca_der_cur seq, e;
	const unsigned char *oid, *val, *seen[EXTS_MAX];
	size_t oid_len, len, nseen = 0, seen_len[EXTS_MAX], i;
	int crit;

	if (ca_der_enter(c, CA_DER_SEQUENCE, &seq, NULL) < 0 ||
	    ca_der_empty(&seq))
		return bad_cert(err, "malformed extensions");
	while (!ca_der_empty(&seq)) {
		crit = 0;
		if (ca_der_enter(&seq, CA_DER_SEQUENCE, &e, NULL) < 0 ||
		    ca_der_get_oid(&e, &oid, &oid_len, NULL) < 0 ||
		    (ca_der_peek(&e, CA_DER_BOOLEAN) &&
		     ca_der_get_bool(&e, &crit, NULL) < 0) ||
		    ca_der_get_tlv(&e, CA_DER_OCTET_STRING, &val, &len,
				   NULL) < 0 ||
		    !ca_der_empty(&e))
			return bad_cert(err, "malformed extension");
		for (i = 0; i < nseen; i++)
			if (oid_is(oid, oid_len, seen[i], seen_len[i]))
				return bad_cert(err, "an extension appears "
						"twice");
		if (nseen == EXTS_MAX)
			return bad_cert(err, "too many extensions");
		seen[nseen] = oid;
		seen_len[nseen++] = oid_len;
		if (oid_is(oid, oid_len, OID_BC, sizeof(OID_BC))) {
			if (read_bc(val, len, o, err) < 0)
				return -1;
			o->bc_critical = crit;
		} else if (oid_is(oid, oid_len, OID_KU, sizeof(OID_KU))) {
			if (read_ku(val, len, o, err) < 0)
				return -1;
		} else if (oid_is(oid, oid_len, OID_SKI, sizeof(OID_SKI))) {
			if (read_ski(val, len, o, err) < 0)
				return -1;
		} else if (oid_is(oid, oid_len, OID_AKI, sizeof(OID_AKI))) {
			if (read_aki(val, len, o, err) < 0)
				return -1;
		} else if (oid_is(oid, oid_len, OID_NC, sizeof(OID_NC))) {
			o->nc = val;
			o->nc_len = len;
		} else if (oid_is(oid, oid_len, OID_CDP, sizeof(OID_CDP))) {
			o->cdp = val;    /* read by ca_crl_scope_covers */
			o->cdp_len = len;
		} else if (oid_is(oid, oid_len, OID_EKU, sizeof(OID_EKU))) {
			o->eku = val;    /* read by who needs it (ca_eku_allows) */
			o->eku_len = len;
		} else if (oid_is(oid, oid_len, OID_AIA, sizeof(OID_AIA))) {
			o->aia = val;    /* read by ca_cert_names_url */
			o->aia_len = len;
		} else if (oid_is(oid, oid_len, OID_PC, sizeof(OID_PC))) {
			if (read_pc(val, len, o, err) < 0)
				return -1;
			o->pc_critical = crit;
		} else {
			int known = 0;

			/* inhibitAnyPolicy (2.5.29.54): a limit a
			 * cross-certificate must not drop (ca/subca.c). */
			if (oid_is(oid, oid_len, OID_INHIBIT_ANY,
				   sizeof(OID_INHIBIT_ANY)))
				o->inhibit_any = 1;
			for (i = 0; i < sizeof(known_other) /
			     sizeof(known_other[0]); i++)
				if (oid_is(oid, oid_len, known_other[i].oid,
					   known_other[i].len))
					known = 1;
			if (!known && crit)
				o->unknown_critical = 1;
		}
	}
	return 0;
}

int
ca_eku_allows(const struct ca_cert_info *c, const unsigned char *purpose,
	      size_t purpose_len)
{
	struct ca_der_cur top, seq;
	const unsigned char *oid;
	size_t oid_len;

	if (c->eku == NULL)
		return 1;
	ca_der_init(&top, c->eku, c->eku_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &seq, NULL) < 0 ||
	    !ca_der_empty(&top) || ca_der_empty(&seq))
		return -1;
	while (!ca_der_empty(&seq)) {
		if (ca_der_get_oid(&seq, &oid, &oid_len, NULL) < 0)
			return -1;
		if (oid_is(oid, oid_len, purpose, purpose_len))
			return 1;
	}
	return 0;
}

/* Is URI (a GeneralName, whole) the uniformResourceIdentifier URL? */
static int
uri_is(const struct ca_der_tlv *t, const char *url)
{
	size_t n = strlen(url);

	return t->tag == CA_DER_CTX(6) && t->len == n &&
	       memcmp(t->val, url, n) == 0;
}

int
ca_cert_names_url(const struct ca_cert_info *c, int where, const char *url)
{
	struct ca_der_cur top, seq, e, dpn, names;
	struct ca_der_tlv t;
	const unsigned char *oid;
	size_t oid_len;

	if (url == NULL)
		return 0;
	if (where == CA_URL_CRL && c->cdp != NULL) {
		/* SEQUENCE OF DistributionPoint { distributionPoint [0]
		 * DistributionPointName OPTIONAL, ... }, the name a fullName
		 * [0] GeneralNames (RFC 5280 4.2.1.13). */
		ca_der_init(&top, c->cdp, c->cdp_len);
		if (ca_der_enter(&top, CA_DER_SEQUENCE, &seq, NULL) < 0)
			return 0;
		while (!ca_der_empty(&seq)) {
			if (ca_der_enter(&seq, CA_DER_SEQUENCE, &e, NULL) < 0)
				return 0;
			if (!ca_der_peek(&e, CA_DER_CTX_CONS(0)))
				continue;
			if (ca_der_enter(&e, CA_DER_CTX_CONS(0), &dpn,
					 NULL) < 0)
				return 0;
			if (!ca_der_peek(&dpn, CA_DER_CTX_CONS(0)))
				continue;
			if (ca_der_enter(&dpn, CA_DER_CTX_CONS(0), &names,
					 NULL) < 0)
				return 0;
			while (!ca_der_empty(&names)) {
				if (ca_der_get_any(&names, &t, NULL) < 0)
					return 0;
				if (uri_is(&t, url))
					return 1;
			}
		}
	} else if (where == CA_URL_CA_ISSUERS && c->aia != NULL) {
		/* SEQUENCE OF AccessDescription { accessMethod,
		 * accessLocation GeneralName } (RFC 5280 4.2.2.1). */
		ca_der_init(&top, c->aia, c->aia_len);
		if (ca_der_enter(&top, CA_DER_SEQUENCE, &seq, NULL) < 0)
			return 0;
		while (!ca_der_empty(&seq)) {
			if (ca_der_enter(&seq, CA_DER_SEQUENCE, &e, NULL) < 0 ||
			    ca_der_get_oid(&e, &oid, &oid_len, NULL) < 0 ||
			    ca_der_get_any(&e, &t, NULL) < 0)
				return 0;
			if (oid_is(oid, oid_len, OID_CA_ISSUERS,
				   sizeof(OID_CA_ISSUERS)) && uri_is(&t, url))
				return 1;
		}
	}
	return 0;
}

/* Is SPKI's algorithm id-RSASSA-PSS? */
static int
spki_is_pss(const unsigned char *spki, size_t len)
{
	struct ca_der_cur top, s, a;
	const unsigned char *oid;
	size_t oid_len;

	ca_der_init(&top, spki, len);
	return ca_der_enter(&top, CA_DER_SEQUENCE, &s, NULL) == 0 &&
	       ca_der_enter(&s, CA_DER_SEQUENCE, &a, NULL) == 0 &&
	       ca_der_get_oid(&a, &oid, &oid_len, NULL) == 0 &&
	       oid_is(oid, oid_len, OID_PSS, sizeof(OID_PSS));
}

int
ca_cert_info_read(const unsigned char *der, size_t len,
		  struct ca_cert_info *o, struct mica_err *err)
{
	struct ca_der_cur top, cert, tbs, v, val;
	struct ca_der_tlv t;
	const unsigned char *bits;
	size_t nbytes;
	unsigned unused;
	uint64_t version = 0;

	if (o == NULL)
		return bad_cert(err, "nothing to read");
	memset(o, 0, sizeof(*o));
	o->path_len = -1;
	o->require_explicit = -1;
	o->inhibit_mapping = -1;
	if (der == NULL || len == 0 || len > CA_CERT_DER_MAX)
		return bad_cert(err, "empty or larger than 16 KiB");
	o->der = der;
	o->der_len = len;
	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
	 * signatureValue BIT STRING } (RFC 5280 4.1) */
	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &cert, NULL) < 0 ||
	    !ca_der_empty(&top))
		return bad_cert(err, "not one DER certificate");
	o->tbs = cert.p;
	if (ca_der_enter(&cert, CA_DER_SEQUENCE, &tbs, NULL) < 0)
		return bad_cert(err, "malformed TBSCertificate");
	o->tbs_len = (size_t)(cert.p - o->tbs);
	if (ca_der_get_elem(&cert, CA_DER_SEQUENCE, &o->sig_alg,
			    &o->sig_alg_len, NULL) < 0 ||
	    ca_der_get_bitstring(&cert, &bits, &nbytes, &unused, NULL) < 0 ||
	    unused != 0 || nbytes == 0 || !ca_der_empty(&cert))
		return bad_cert(err, "malformed signature");
	o->sig = bits;
	o->sig_len = nbytes;

	/* version [0] EXPLICIT DEFAULT v1 */
	if (ca_der_peek(&tbs, CA_DER_CTX_CONS(0))) {
		if (ca_der_enter(&tbs, CA_DER_CTX_CONS(0), &v, NULL) < 0 ||
		    ca_der_get_uint(&v, 255, &version, NULL) < 0 ||
		    !ca_der_empty(&v))
			return bad_cert(err, "malformed version");
	}
	if (version != 0 && version != 2)
		return bad_cert(err, "not version 1 or 3");
	o->version = (int)version + 1;
	if (ca_der_get_tlv(&tbs, CA_DER_INTEGER, &o->serial, &o->serial_len,
			   NULL) < 0 || o->serial_len == 0 ||
	    o->serial_len > 21)
		return bad_cert(err, "malformed serial number");
	if (ca_der_get_any(&tbs, &t, NULL) < 0 || t.tag != CA_DER_SEQUENCE)
		return bad_cert(err, "malformed signature field");
	if (ca_der_get_elem(&tbs, CA_DER_SEQUENCE, &o->issuer, &o->issuer_len,
			    NULL) < 0)
		return bad_cert(err, "malformed issuer");
	if (ca_der_enter(&tbs, CA_DER_SEQUENCE, &val, NULL) < 0 ||
	    ca_der_get_time(&val, &o->not_before, NULL, NULL) < 0 ||
	    ca_der_get_time(&val, &o->not_after, NULL, NULL) < 0 ||
	    !ca_der_empty(&val) || o->not_after <= o->not_before)
		return bad_cert(err, "malformed validity");
	if (ca_der_get_elem(&tbs, CA_DER_SEQUENCE, &o->subject,
			    &o->subject_len, NULL) < 0)
		return bad_cert(err, "malformed subject");
	if (ca_der_get_elem(&tbs, CA_DER_SEQUENCE, &o->spki, &o->spki_len,
			    NULL) < 0)
		return bad_cert(err, "malformed public key");
	o->key_pss = spki_is_pss(o->spki, o->spki_len);
	/* issuerUniqueID [1], subjectUniqueID [2]: read past them. */
	if (ca_der_peek(&tbs, CA_DER_CTX(1)) && ca_der_get_any(&tbs, &t, NULL) < 0)
		return bad_cert(err, "malformed issuerUniqueID");
	if (ca_der_peek(&tbs, CA_DER_CTX(2)) && ca_der_get_any(&tbs, &t, NULL) < 0)
		return bad_cert(err, "malformed subjectUniqueID");
	if (ca_der_peek(&tbs, CA_DER_CTX_CONS(3))) {
		if (version != 2)
			return bad_cert(err, "extensions in a version 1 "
					"certificate");
		if (ca_der_enter(&tbs, CA_DER_CTX_CONS(3), &v, NULL) < 0)
			return bad_cert(err, "malformed extensions");
		if (read_exts(&v, o, err) < 0)
			return -1;
		if (!ca_der_empty(&v))
			return bad_cert(err, "malformed extensions");
	}
	if (!ca_der_empty(&tbs))
		return bad_cert(err, "data after the extensions");
	if (!o->has_ski && ca_x509_key_id(o->spki, o->spki_len, o->ski,
					  NULL) == 0)
		o->ski_len = 20;
	if (o->ski_len == 0)
		return bad_cert(err, "malformed public key");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Signatures                                                          */
/* ------------------------------------------------------------------ */

static const struct {
	unsigned char oid[9];
	size_t len;
	mbedtls_md_type_t md;
	mbedtls_pk_type_t pk;
} sigalgs[] = {
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b }, 9,
	  MBEDTLS_MD_SHA256, MBEDTLS_PK_RSA },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c }, 9,
	  MBEDTLS_MD_SHA384, MBEDTLS_PK_RSA },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d }, 9,
	  MBEDTLS_MD_SHA512, MBEDTLS_PK_RSA },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 }, 8,
	  MBEDTLS_MD_SHA256, MBEDTLS_PK_ECDSA },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 }, 8,
	  MBEDTLS_MD_SHA384, MBEDTLS_PK_ECDSA },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 }, 8,
	  MBEDTLS_MD_SHA512, MBEDTLS_PK_ECDSA },
};

/* rsaEncryption, id-mgf1, SHA-2 hashes (id-RSASSA-PSS is above). */
static const unsigned char OID_RSA[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const unsigned char OID_MGF1[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08 };
static const struct {
	unsigned char oid[9];
	mbedtls_md_type_t md;
} pss_hashes[] = {
	{ { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 }, MBEDTLS_MD_SHA256 },
	{ { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 }, MBEDTLS_MD_SHA384 },
	{ { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03 }, MBEDTLS_MD_SHA512 },
};
#define PSS_SALT_MAX 1024

struct pss {
	mbedtls_md_type_t md, mgf_md;
	int salt;
};

static int
unsupported_pss(struct mica_err *err, const char *why)
{
	return mica_err_set(err, MICA_E_UNSUPPORTED, "unsupported_signature",
			    "an RSASSA-PSS signature mica does not verify: %s "
			    "(it takes SHA-256, -384 or -512, with MGF1 over the "
			    "same hash)", why);
}

static int
bad_pss(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_signature",
			    "malformed RSASSA-PSS parameters");
}

/* HashAlgorithm ::= AlgorithmIdentifier, parameters NULL or absent (RFC
 * 4055 2.1: both are accepted). */
static int
pss_hash(struct ca_der_cur *c, mbedtls_md_type_t *md, struct mica_err *err)
{
	struct ca_der_cur a;
	struct ca_der_tlv prm;
	const unsigned char *oid;
	size_t oid_len;

	if (ca_der_enter(c, CA_DER_SEQUENCE, &a, NULL) < 0 ||
	    ca_der_get_oid(&a, &oid, &oid_len, NULL) < 0)
		return bad_pss(err);
	if (!ca_der_empty(&a) &&
	    (ca_der_get_any(&a, &prm, NULL) < 0 || prm.tag != CA_DER_NULL ||
	     prm.len != 0 || !ca_der_empty(&a)))
		return bad_pss(err);
	for (size_t i = 0; i < sizeof(pss_hashes) / sizeof(pss_hashes[0]); i++)
		if (oid_is(oid, oid_len, pss_hashes[i].oid, 9)) {
			*md = pss_hashes[i].md;
			return 0;
		}
	return unsupported_pss(err, "its hash is not SHA-2");
}

/*
 * RSASSA-PSS-params (RFC 4055 3.1) from the contents of an
 * AlgorithmIdentifier after its OID (C). The defaults (SHA-1, MGF1 with
 * SHA-1) are refused as SHA-1; EMPTY_OK: no parameters at all is allowed
 * (a key's, RFC 4055 1.2: no restriction, *P untouched).
 */
static int
pss_params(struct ca_der_cur *c, int empty_ok, struct pss *p,
	   struct mica_err *err)
{
	struct ca_der_cur seq, f, mgf;
	const unsigned char *oid;
	size_t oid_len;
	uint64_t v;

	if (ca_der_empty(c)) {
		if (empty_ok)
			return 0;
		return bad_pss(err);
	}
	if (ca_der_enter(c, CA_DER_SEQUENCE, &seq, NULL) < 0 ||
	    !ca_der_empty(c))
		return bad_pss(err);
	p->md = p->mgf_md = MBEDTLS_MD_NONE;
	p->salt = 20;
	if (ca_der_peek(&seq, CA_DER_CTX_CONS(0))) {
		if (ca_der_enter(&seq, CA_DER_CTX_CONS(0), &f, NULL) < 0)
			return bad_pss(err);
		if (pss_hash(&f, &p->md, err) != 0)
			return -1;
		if (!ca_der_empty(&f))
			return bad_pss(err);
	}
	if (ca_der_peek(&seq, CA_DER_CTX_CONS(1))) {
		if (ca_der_enter(&seq, CA_DER_CTX_CONS(1), &f, NULL) < 0 ||
		    ca_der_enter(&f, CA_DER_SEQUENCE, &mgf, NULL) < 0 ||
		    !ca_der_empty(&f) ||
		    ca_der_get_oid(&mgf, &oid, &oid_len, NULL) < 0)
			return bad_pss(err);
		if (!oid_is(oid, oid_len, OID_MGF1, sizeof(OID_MGF1)))
			return unsupported_pss(err, "its mask generation is not MGF1");
		if (pss_hash(&mgf, &p->mgf_md, err) != 0)
			return -1;
		if (!ca_der_empty(&mgf))
			return bad_pss(err);
	}
	if (ca_der_peek(&seq, CA_DER_CTX_CONS(2))) {
		if (ca_der_enter(&seq, CA_DER_CTX_CONS(2), &f, NULL) < 0 ||
		    ca_der_get_uint(&f, PSS_SALT_MAX, &v, NULL) < 0 ||
		    !ca_der_empty(&f))
			return bad_pss(err);
		p->salt = (int)v;
	}
	if (ca_der_peek(&seq, CA_DER_CTX_CONS(3))) {
		/* trailerFieldBC (1), the only one defined. */
		if (ca_der_enter(&seq, CA_DER_CTX_CONS(3), &f, NULL) < 0 ||
		    ca_der_get_uint(&f, 1, &v, NULL) < 0 || v != 1 ||
		    !ca_der_empty(&f))
			return bad_pss(err);
	}
	if (!ca_der_empty(&seq))
		return bad_pss(err);
	if (p->md == MBEDTLS_MD_NONE || p->mgf_md == MBEDTLS_MD_NONE)
		return unsupported_pss(err, "its hash or its MGF1 hash is "
				       "SHA-1 (the default)");
	/* mbedTLS 3.6 hashes M' with the MGF1 hash (rsa.c, hash_mprime):
	 * another hash there would fail as a bad signature. RFC 4055 allows
	 * it; AD CS, OpenSSL and GnuTLS use one hash for both. */
	if (p->md != p->mgf_md)
		return unsupported_pss(err, "its MGF1 hash is not its hash");
	return 0;
}

/*
 * The issuer's key for mbedTLS: an rsaEncryption or EC SPKI as it is. An
 * id-RSASSA-PSS key (RFC 4055 1.2; mbedTLS reads none) is the same
 * RSAPublicKey: it is given to mbedTLS as rsaEncryption, for PSS
 * signatures only (PSS 1, else "unsupported"), and the restrictions its
 * parameters set (hash, MGF1 hash, minimum salt) must hold for SIG.
 */
static int
issuer_key(const unsigned char *spki, size_t spki_len, int pss,
	   const struct pss *sig, mbedtls_pk_context *pk, struct mica_err *err)
{
	struct ca_der_cur top, s, a;
	const unsigned char *oid, *bits;
	size_t oid_len, nbytes;
	unsigned unused;
	unsigned char buf[1100];
	struct ca_der_w w;
	struct pss kp;
	size_t bs_len, alg_len, inner;

	ca_der_init(&top, spki, spki_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &s, NULL) < 0 ||
	    ca_der_enter(&s, CA_DER_SEQUENCE, &a, NULL) < 0 ||
	    ca_der_get_oid(&a, &oid, &oid_len, NULL) < 0 ||
	    !oid_is(oid, oid_len, OID_PSS, sizeof(OID_PSS))) {
		if (mbedtls_pk_parse_public_key(pk, spki, spki_len) != 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_signature",
					    "the issuer's public key does not "
					    "parse");
		return 0;
	}
	if (!pss)
		return mica_err_set(err, MICA_E_BADREQ, "bad_signature",
				    "an RSASSA-PSS key made a signature that "
				    "is not RSASSA-PSS");
	kp.md = MBEDTLS_MD_NONE;
	if (pss_params(&a, 1, &kp, err) != 0)
		return -1;
	if (kp.md != MBEDTLS_MD_NONE &&
	    (kp.md != sig->md || kp.mgf_md != sig->mgf_md || sig->salt < kp.salt))
		return mica_err_set(err, MICA_E_BADREQ, "bad_signature",
				    "the signature's RSASSA-PSS parameters break "
				    "the restrictions of the issuer's key");
	if (ca_der_get_bitstring(&s, &bits, &nbytes, &unused, NULL) < 0 ||
	    unused != 0 || !ca_der_empty(&s) || !ca_der_empty(&top))
		return mica_err_set(err, MICA_E_BADREQ, "bad_signature",
				    "the issuer's public key does not parse");
	/* SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING } */
	alg_len = 2 + sizeof(OID_RSA) + 2;
	bs_len = 1 + nbytes;
	if (nbytes > 1040)
		return mica_err_set(err, MICA_E_UNSUPPORTED,
				    "unsupported_signature",
				    "the issuer's RSA key is too large");
	inner = ca_der_hdr_size(alg_len) + alg_len + ca_der_hdr_size(bs_len) +
		bs_len;
	ca_der_w_init(&w, buf, ca_der_hdr_size(inner) + inner);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, inner);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, alg_len);
	ca_der_w_hdr(&w, CA_DER_OID, sizeof(OID_RSA));
	ca_der_w_raw(&w, OID_RSA, sizeof(OID_RSA));
	ca_der_w_hdr(&w, CA_DER_NULL, 0);
	ca_der_w_hdr(&w, CA_DER_BIT_STRING, bs_len);
	ca_der_w_byte(&w, 0);
	ca_der_w_raw(&w, bits, nbytes);
	if (ca_der_w_done(&w, err) != 0)
		return -1;
	if (mbedtls_pk_parse_public_key(pk, buf, ca_der_hdr_size(inner) +
					inner) != 0 ||
	    mbedtls_pk_get_type(pk) != MBEDTLS_PK_RSA)
		return mica_err_set(err, MICA_E_BADREQ, "bad_signature",
				    "the issuer's public key does not parse");
	return 0;
}

/* The AlgorithmIdentifier ALG of a signature: its hash, mbedTLS's kind
 * of signature and, for RSASSA-PSS (*IS_PSS 1), its parameters. */
static int
sig_alg_read(const unsigned char *alg, size_t alg_len,
	     mbedtls_md_type_t *md_type, mbedtls_pk_type_t *pk_type,
	     int *is_pss, struct pss *pss, struct mica_err *err)
{
	struct ca_der_cur top, a;
	struct ca_der_tlv prm;
	const unsigned char *oid;
	size_t oid_len, i, k = SIZE_MAX;

	*is_pss = 0;
	memset(pss, 0, sizeof(*pss));
	ca_der_init(&top, alg, alg_len);
	if (alg == NULL || ca_der_enter(&top, CA_DER_SEQUENCE, &a, NULL) < 0 ||
	    !ca_der_empty(&top) || ca_der_get_oid(&a, &oid, &oid_len, NULL) < 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_signature",
				    "malformed signature algorithm");
	if (oid_is(oid, oid_len, OID_PSS, sizeof(OID_PSS))) {
		/* RSASSA-PSS (RFC 4055 3.1), as AD CS signs with
		 * AlternateSignatureAlgorithm: parameters required. */
		if (pss_params(&a, 0, pss, err) != 0)
			return -1;
		*is_pss = 1;
		*md_type = pss->md;
		*pk_type = MBEDTLS_PK_RSASSA_PSS;
		return 0;
	}
	for (i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
		if (oid_is(oid, oid_len, sigalgs[i].oid, sigalgs[i].len))
			k = i;
	if (k == SIZE_MAX)
		return mica_err_set(err, MICA_E_UNSUPPORTED,
				    "unsupported_signature",
				    "a signature algorithm mica does not "
				    "verify (it takes RSA PKCS#1 v1.5, "
				    "RSASSA-PSS and ECDSA with SHA-256, "
				    "-384 or -512)");
	/* RSA: NULL parameters (RFC 4055 5; absent tolerated); ECDSA:
	 * none (RFC 5758 3.2). */
	if (!ca_der_empty(&a)) {
		if (sigalgs[k].pk != MBEDTLS_PK_RSA ||
		    ca_der_get_any(&a, &prm, NULL) < 0 ||
		    prm.tag != CA_DER_NULL || prm.len != 0 ||
		    !ca_der_empty(&a))
			return mica_err_set(err, MICA_E_BADREQ,
					    "bad_signature",
					    "malformed signature parameters");
	}
	*md_type = sigalgs[k].md;
	*pk_type = sigalgs[k].pk;
	return 0;
}

int
ca_sig_alg_check(const unsigned char *alg, size_t alg_len,
		 struct mica_err *err)
{
	mbedtls_md_type_t md;
	mbedtls_pk_type_t pk;
	struct pss pss;
	int is_pss;

	return sig_alg_read(alg, alg_len, &md, &pk, &is_pss, &pss, err);
}

int
ca_sig_verify(const unsigned char *tbs, size_t tbs_len,
	      const unsigned char *alg, size_t alg_len,
	      const unsigned char *sig, size_t sig_len,
	      const unsigned char *spki, size_t spki_len,
	      struct mica_err *err)
{
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	const mbedtls_md_info_t *md;
	mbedtls_md_type_t md_type;
	mbedtls_pk_type_t pk_type;
	mbedtls_pk_rsassa_pss_options opts;
	mbedtls_pk_context pk;
	struct pss pss;
	int is_pss = 0, rc = -1;

	mbedtls_pk_init(&pk);
	if (sig_alg_read(alg, alg_len, &md_type, &pk_type, &is_pss, &pss,
			 err) != 0)
		return -1;
#if defined(MBEDTLS_USE_PSA_CRYPTO)
	if (psa_crypto_init() != PSA_SUCCESS)
		return mica_err_set(err, MICA_E_INTERNAL, "crypto_init_failed",
				    "the crypto library could not start");
#endif
	md = mbedtls_md_info_from_type(md_type);
	if (md == NULL || mbedtls_md(md, tbs, tbs_len, hash) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "hash_failed",
			     "hash unavailable");
		goto out;
	}
	if (issuer_key(spki, spki_len, is_pss, &pss, &pk, err) != 0)
		goto out;
	if (is_pss && mbedtls_pk_get_type(&pk) != MBEDTLS_PK_RSA) {
		mica_err_set(err, MICA_E_BADREQ, "bad_signature",
			     "an RSASSA-PSS signature from a key that is not RSA");
		goto out;
	}
	opts.mgf1_hash_id = pss.mgf_md;
	opts.expected_salt_len = pss.salt;
	if (mbedtls_pk_verify_ext(pk_type, is_pss ? &opts : NULL, &pk, md_type,
				  hash, mbedtls_md_get_size(md), sig,
				  sig_len) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_signature",
			     "the signature does not verify with the "
			     "issuer's key");
		goto out;
	}
	rc = 0;
out:
	mbedtls_platform_zeroize(hash, sizeof(hash));
	mbedtls_pk_free(&pk);
	return rc;
}

int
ca_cert_issued_by(const struct ca_cert_info *child,
		  const struct ca_cert_info *issuer, struct mica_err *err)
{
	/* RFC 5280 6.1.3 (a)(4): the issuer's name, byte for byte as the
	 * CAs that matter write it (7.1 allows more; mica does not). */
	if (child->issuer_len != issuer->subject_len ||
	    memcmp(child->issuer, issuer->subject, child->issuer_len) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "not_issued_by",
				    "the issuer name is not the CA's subject");
	if (ca_sig_verify(child->tbs, child->tbs_len, child->sig_alg,
			  child->sig_alg_len, child->sig, child->sig_len,
			  issuer->spki, issuer->spki_len, err) != 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Files of certificates                                               */
/* ------------------------------------------------------------------ */

void
ca_blobs_free(struct ca_der_blob *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i].der);
	free(v);
}

static int
b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* Base64 IN[0..LEN) with blanks and line breaks into *OUT (heap). */
static int
b64_decode(const unsigned char *in, size_t len, unsigned char **out,
	   size_t *out_len)
{
	unsigned char *clean, *buf = NULL;
	size_t n = 0, olen = 0;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if ((clean = malloc(len + 1)) == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' ||
		    in[i] == '\n')
			continue;
		if (!b64_char(in[i]))
			goto out;
		clean[n++] = in[i];
	}
	if (n == 0 ||
	    mbedtls_base64_decode(NULL, 0, &olen, clean, n) !=
	    MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || olen == 0 ||
	    (buf = malloc(olen)) == NULL ||
	    mbedtls_base64_decode(buf, olen, &olen, clean, n) != 0)
		goto out;
	*out = buf;
	*out_len = olen;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	free(clean);
	return rc;
}

static const unsigned char *
find_str(const unsigned char *hay, size_t hay_len, const char *needle)
{
	size_t nl = strlen(needle);

	if (nl == 0 || hay_len < nl)
		return NULL;
	for (size_t i = 0; i + nl <= hay_len; i++)
		if (hay[i] == (unsigned char)needle[0] &&
		    memcmp(hay + i, needle, nl) == 0)
			return hay + i;
	return NULL;
}

/* Add DER (taking it) to *V, checking it is one certificate. */
static int
add_cert(struct ca_der_blob *v, size_t *n, unsigned char *der, size_t len,
	 struct mica_err *err)
{
	struct ca_cert_info ci;

	if (*n == CA_BUNDLE_MAX) {
		free(der);
		return bad_cert(err, "more than 16 certificates in one file");
	}
	if (ca_cert_info_read(der, len, &ci, err) != 0) {
		free(der);
		return -1;
	}
	v[*n].der = der;
	v[*n].len = len;
	(*n)++;
	return 0;
}

/* A PKCS#7 certs-only message's certificates into *V. */
static int
add_p7(struct ca_der_blob *v, size_t *n, const unsigned char *der,
       size_t len, struct mica_err *err)
{
	struct ca_p7_cert c[CA_P7_CERTS_MAX];
	size_t k;

	if (ca_p7_decode(der, len, c, &k, err) != 0)
		return -1;
	for (size_t i = 0; i < k; i++) {
		unsigned char *cp = malloc(c[i].len);

		if (cp == NULL)
			return mica_err_set(err, MICA_E_INTERNAL,
					    "out_of_memory", "out of memory");
		memcpy(cp, c[i].der, c[i].len);
		if (add_cert(v, n, cp, c[i].len, err) != 0)
			return -1;
	}
	return 0;
}

/* DER of one certificate, or of a PKCS#7 message (told apart by the
 * second element of the outer SEQUENCE: an OID in a ContentInfo). */
static int
add_der(struct ca_der_blob *v, size_t *n, const unsigned char *der,
	size_t len, struct mica_err *err)
{
	struct ca_der_cur top, c;
	unsigned char *cp;

	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &c, NULL) == 0 &&
	    ca_der_peek(&c, CA_DER_OID))
		return add_p7(v, n, der, len, err);
	/* A root.crl given for root.crt: named as what it is, not as a
	 * certificate with a "malformed validity". */
	{
		struct ca_crl_info ci;

		if (ca_crl_info_read(der, len, &ci, NULL) == 0)
			return bad_cert(err, "this is a CRL, not a certificate");
	}
	if ((cp = malloc(len ? len : 1)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	memcpy(cp, der, len);
	return add_cert(v, n, cp, len, err);
}

int
ca_certs_load(const unsigned char *in, size_t len, struct ca_der_blob **out,
	      size_t *n, struct mica_err *err)
{
	static const char *const labels[] = {
		"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE",
		"PKCS7",
	};
	struct ca_der_blob *v = NULL;
	const unsigned char *p, *end = in + len;
	unsigned char *der = NULL;
	size_t cnt = 0, der_len = 0;
	int rc = -1, any_pem = 0, crl_pem = 0;

	*out = NULL;
	*n = 0;
	if (in == NULL || len == 0)
		return bad_cert(err, "empty file");
	if (len > CA_BUNDLE_FILE_MAX)
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "larger than %d bytes", CA_BUNDLE_FILE_MAX);
	if ((v = calloc(CA_BUNDLE_MAX, sizeof(*v))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	if (in[0] == 0x30) {
		if (add_der(v, &cnt, in, len, err) != 0)
			goto out;
		goto done;
	}
	/* PEM: every block whose label we know, in order; other blocks (a
	 * private key by mistake, a CRL) are not certificates. */
	for (p = in; p < end;) {
		const unsigned char *b = find_str(p, (size_t)(end - p),
						  "-----BEGIN "), *le, *e;
		char endline[64];
		size_t i, ll;

		if (b == NULL)
			break;
		any_pem = 1;
		le = find_str(b + 11, (size_t)(end - b - 11), "-----");
		if (le == NULL) {
			bad_cert(err, "malformed PEM header");
			goto out;
		}
		ll = (size_t)(le - (b + 11));
		for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
			if (strlen(labels[i]) == ll &&
			    memcmp(b + 11, labels[i], ll) == 0)
				break;
		if (ll >= 40) {
			bad_cert(err, "malformed PEM header");
			goto out;
		}
		snprintf(endline, sizeof(endline), "-----END %.*s-----",
			 (int)ll, (const char *)(b + 11));
		if ((e = find_str(le + 5, (size_t)(end - le - 5),
				  endline)) == NULL) {
			bad_cert(err, "PEM block without its END line");
			goto out;
		}
		if (ll == 8 && memcmp(b + 11, "X509 CRL", 8) == 0)
			crl_pem = 1;
		if (i < sizeof(labels) / sizeof(labels[0])) {
			if (b64_decode(le + 5, (size_t)(e - le - 5), &der,
				       &der_len) != 0) {
				bad_cert(err, "bad base64 in a PEM block");
				goto out;
			}
			if (add_der(v, &cnt, der, der_len, err) != 0)
				goto out;
			free(der);
			der = NULL;
		}
		p = e + strlen(endline);
	}
	if (!any_pem) {
		/* Bare base64 of a certificate or a .p7b. */
		if (b64_decode(in, len, &der, &der_len) != 0 || der_len == 0 ||
		    der[0] != 0x30) {
			bad_cert(err, "neither PEM, DER nor base64 of a "
				 "certificate or PKCS#7");
			goto out;
		}
		if (add_der(v, &cnt, der, der_len, err) != 0)
			goto out;
	}
done:
	if (cnt == 0) {
		bad_cert(err, crl_pem ? "the file holds a CRL, not a "
			 "certificate" : "no certificate in the file");
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	rc = 0;
out:
	free(der);
	ca_blobs_free(v, cnt);
	return rc;
}

int
ca_pem_or_der(const unsigned char *in, size_t len, const char *label,
	      size_t max, unsigned char **out, size_t *out_len,
	      struct mica_err *err)
{
	char begin[80], endl[80];
	const unsigned char *b, *e;
	unsigned char *der = NULL;
	size_t der_len = 0;

	*out = NULL;
	*out_len = 0;
	if (in == NULL || len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_pem", "empty file");
	if (in[0] == 0x30) {
		if (len > max)
			goto large;
		if ((der = malloc(len)) == NULL)
			goto oom;
		memcpy(der, in, len);
		*out = der;
		*out_len = len;
		return 0;
	}
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(endl, sizeof(endl), "-----END %s-----", label);
	if ((b = find_str(in, len, begin)) != NULL) {
		b += strlen(begin);
		if ((e = find_str(b, (size_t)(in + len - b), endl)) == NULL)
			return mica_err_set(err, MICA_E_BADREQ, "bad_pem",
					    "a PEM block without its END line");
		/* With two blocks, which one was meant? (An older CRL
		 * before the new one would be taken, and refused as not
		 * newer.) Refused, as a CSR with two is (ca/csr.c). */
		if (find_str(e + strlen(endl),
			     (size_t)(in + len - (e + strlen(endl))),
			     begin) != NULL)
			return mica_err_set(err, MICA_E_BADREQ, "bad_pem",
					    "more than one PEM block labelled "
					    "%s: give exactly one", label);
	} else if (find_str(in, len, "-----BEGIN ") != NULL) {
		return mica_err_set(err, MICA_E_BADREQ, "bad_pem",
				    "no PEM block labelled %s", label);
	} else {
		b = in;
		e = in + len;
	}
	if (b64_decode(b, (size_t)(e - b), &der, &der_len) != 0 ||
	    der_len == 0 || der[0] != 0x30) {
		free(der);
		return mica_err_set(err, MICA_E_BADREQ, "bad_pem",
				    "neither DER, PEM nor base64 of DER");
	}
	if (der_len > max) {
		free(der);
		goto large;
	}
	*out = der;
	*out_len = der_len;
	return 0;
large:
	return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
			    "larger than %zu bytes", max);
oom:
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			    "out of memory");
}

/* S[0..LEN) at BUF[*USED..SIZE) with a NUL, as mica_shown writes it (a
 * character it does not take as \xNN, a backslash doubled), RFC 4514
 * 2.4's special characters of a value escaped with a backslash ("\,",
 * "\+", and '#' or ' ' first, ' ' last), so that no value reads as two
 * attributes; with BYTES each octet on its own (octets of no string, not
 * to be read as UTF-8). Cut at a whole character or escape: 1 when cut,
 * else 0. */
static int
name_value_put(const unsigned char *s, size_t len, int bytes, char *buf,
	       size_t size, size_t *used)
{
	size_t i = 0;

	while (i < len) {
		char c[MICA_SHOWN_CHAR_MAX + 2];
		size_t cl, n;

		n = mica_shown_char(s + i, bytes ? 1 : len - i, c + 1, &cl);
		if (n == 1 &&
		    ((s[i] != '\0' && strchr(",+\"<>;=", s[i]) != NULL) ||
		     (i == 0 && (s[i] == '#' || s[i] == ' ')) ||
		     (i + 1 == len && s[i] == ' '))) {
			c[0] = '\\';
			cl++;
		} else {
			memmove(c, c + 1, cl);
		}
		if (cl >= size - *used)
			return 1;
		memcpy(buf + *used, c, cl);
		*used += cl;
		buf[*used] = '\0';
		i += n;
	}
	return 0;
}

/* The value V of an attribute as ca_name_text shows it, at BUF[*USED..SIZE)
 * with a NUL; *USED moves past it. Cut at a whole character or escape:
 * 1 when cut, else 0. */
static int
name_value_text(const struct ca_der_tlv *v, char *buf, size_t size,
		size_t *used)
{
	int cut;

	/* Room for any directory string's UTF-8: two octets for one of a
	 * TeletexString (Latin-1), three for two of a BMPString. */
	size_t room = v->len < SIZE_MAX / 2 ? 2 * v->len + 1 : 0;
	char *text = room > 0 ? malloc(room) : NULL;

	if (text != NULL &&
	    ca_dirstring_utf8(v->tag, v->val, v->len, text, room) == 0) {
		cut = name_value_put((const unsigned char *)text, strlen(text),
				     0, buf, size, used);
		free(text);
		return cut;
	}
	free(text);
	/* No text: a UTF8String not well formed (or holding a NUL) as any
	 * text from outside; the octets of another type one by one - those
	 * of an odd-length BMPString or a surrogate read as UTF-8 would show
	 * what the certificate does not hold. */
	return name_value_put(v->val, v->len, v->tag != CA_DER_UTF8_STRING,
			      buf, size, used);
}

/* At most this many attributes are shown, the most specific ones (a
 * hostile Name could push its CN out of a shorter list); "..." ends the
 * text when some are left out. */
#define NAME_TEXT_PARTS 32

/* The label of the attribute type OID (LEN octets) into LABEL: mbedTLS's
 * short name (CN, O, serialNumber, title...), else its dotted form, else
 * "OID" (an encoding that has none). */
static void
attr_label(const unsigned char *oid, size_t len, char *label, size_t size)
{
	mbedtls_asn1_buf b = { MBEDTLS_ASN1_OID, len, (unsigned char *)oid };
	const char *short_name = NULL;

	if (mbedtls_oid_get_attr_short_name(&b, &short_name) == 0)
		snprintf(label, size, "%s", short_name);
	else if (mbedtls_oid_get_numeric_string(label, size, &b) <= 0)
		snprintf(label, size, "OID");
}

void
ca_name_text(const unsigned char *name, size_t len, char *buf, size_t size)
{
	struct ca_der_cur top, seq, rdn, atv;
	struct ca_der_tlv v;
	const unsigned char *oid;
	size_t oid_len, used = 0, i, nrdn = 0, mark, vstart;
	/* Room for "..." when the text is cut (BUF is too small for it). */
	size_t lim = size > 4 ? size - 3 : size;
	int cut = 0;
	/* RDNs, most significant first in DER; shown last-first, the
	 * attributes of one RDN joined by " + " (RFC 4514 2.2). The last
	 * NAME_TEXT_PARTS are kept, in a ring. */
	struct {
		const unsigned char *oid;
		size_t oid_len;
		struct ca_der_tlv v;
		size_t rdn;
	} parts[NAME_TEXT_PARTS];
	size_t nparts = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	ca_der_init(&top, name, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &seq, NULL) < 0)
		return;
	while (!ca_der_empty(&seq)) {
		if (ca_der_enter(&seq, CA_DER_SET, &rdn, NULL) < 0)
			return;
		while (!ca_der_empty(&rdn)) {
			size_t at = nparts % NAME_TEXT_PARTS;

			if (ca_der_enter(&rdn, CA_DER_SEQUENCE, &atv, NULL) < 0 ||
			    ca_der_get_oid(&atv, &oid, &oid_len, NULL) < 0 ||
			    ca_der_get_any(&atv, &v, NULL) < 0)
				return;
			parts[at].oid = oid;
			parts[at].oid_len = oid_len;
			parts[at].v = v;
			parts[at].rdn = nrdn;
			nparts++;
		}
		nrdn++;
	}
	for (i = nparts; i-- > 0 && nparts - i <= NAME_TEXT_PARTS;) {
		size_t at = i % NAME_TEXT_PARTS;
		const char *sep = i + 1 == nparts ? "" :
			parts[at].rdn == parts[(i + 1) % NAME_TEXT_PARTS].rdn ?
			" + " : ", ";
		char label[64];
		int n;

		attr_label(parts[at].oid, parts[at].oid_len, label,
			   sizeof(label));
		mark = used;
		n = snprintf(buf + used, lim - used, "%s%s=", sep, label);
		if (n < 0 || (size_t)n >= lim - used) {
			used = mark;
			cut = 1;
			break;
		}
		used += (size_t)n;
		vstart = used;
		if (name_value_text(&parts[at].v, buf, lim, &used) != 0) {
			/* no label without a character of its value */
			if (used == vstart)
				used = mark;
			cut = 1;
			break;
		}
	}
	buf[used] = '\0';
	if (cut) {
		/* the room kept for it */
		if (lim < size)
			memcpy(buf + used, "...", 4);
	} else if (nparts > NAME_TEXT_PARTS) {
		/* attributes left out: said, in the room kept if need be */
		if (size - used > 5)
			memcpy(buf + used, ", ...", 6);
		else if (lim < size)
			memcpy(buf + used, "...", 4);
	}
}

/* ------------------------------------------------------------------ */
/* Names compared as relying parties compare them                     */
/* ------------------------------------------------------------------ */

/* A growing buffer of canonical octets. */
struct canon_buf {
	unsigned char *p;
	size_t n, cap;
	int oom;
};

static void
canon_put(struct canon_buf *b, const void *v, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->n < n) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *p;

		while (cap - b->n < n && cap < ((size_t)1 << 28))
			cap *= 2;
		if (cap - b->n < n || (p = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, v, n);
	b->n += n;
}

static void
canon_len(struct canon_buf *b, size_t n)
{
	unsigned char l[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16),
			       (unsigned char)(n >> 8), (unsigned char)n };

	canon_put(b, l, sizeof(l));
}

/* The I-th code point of a directory string of type TAG: *CP, and how
 * many octets it took; 0 at a malformed one. A surrogate is malformed in
 * a BMPString or a UniversalString as in UTF-8 (RFC 3629 3): UCS-2 and
 * UCS-4 have none, and one would be written as no UTF-8 at all. */
static size_t
canon_cp(unsigned tag, const unsigned char *v, size_t len, uint32_t *cp)
{
	switch (tag) {
	case CA_DER_PRINTABLE:
	case CA_DER_IA5_STRING:
	case 0x1a:                  /* VisibleString */
		if (v[0] >= 0x80)
			return 0;
		*cp = v[0];
		return 1;
	case 0x14:                  /* TeletexString: read as Latin-1 */
		*cp = v[0];
		return 1;
	case 0x1e:                  /* BMPString: UCS-2, big-endian */
		if (len < 2)
			return 0;
		*cp = (uint32_t)v[0] << 8 | v[1];
		return *cp >= 0xd800 && *cp <= 0xdfff ? 0 : 2;
	case 0x1c:                  /* UniversalString: UCS-4 */
		if (len < 4)
			return 0;
		*cp = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
		      (uint32_t)v[2] << 8 | v[3];
		return *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff) ?
		       0 : 4;
	case CA_DER_UTF8_STRING:
		return mica_utf8_next(v, len, cp);
	}
	return 0;
}

static void
canon_utf8(struct canon_buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	canon_put(b, u, n);
}

int
ca_dirstring_utf8(unsigned tag, const unsigned char *v, size_t len, char *out,
		  size_t size)
{
	struct canon_buf b = { 0 };
	uint32_t cp;
	size_t i, k;
	int rc = -1;

	if (tag != CA_DER_UTF8_STRING && tag != CA_DER_PRINTABLE &&
	    tag != CA_DER_IA5_STRING && tag != 0x14 && tag != 0x1a &&
	    tag != 0x1c && tag != 0x1e)
		return 1;
	for (i = 0; i < len; i += k) {
		if ((k = canon_cp(tag, v + i, len - i, &cp)) == 0 || cp == 0)
			goto out;
		canon_utf8(&b, cp);
	}
	if (b.oom || b.n >= size)
		goto out;
	if (b.n > 0)
		memcpy(out, b.p, b.n);
	out[b.n] = '\0';
	rc = 0;
out:
	free(b.p);
	return rc;
}

/* One attribute's canonical octets into B: its OID, then its value -
 * a directory string as folded UTF-8 (marked 0), anything else, or a
 * string that does not decode, as its tag and octets. */
static void
canon_ava(struct canon_buf *b, const unsigned char *oid, size_t oid_len,
	  const struct ca_der_tlv *v)
{
	size_t at, i, k;
	uint32_t cp;
	int space = 0, any = 0;

	canon_len(b, oid_len);
	canon_put(b, oid, oid_len);
	at = b->n;
	canon_put(b, "", 1);        /* 0: a folded string */
	for (i = 0; i < v->len; i += k) {
		if ((k = canon_cp(v->tag, v->val + i, v->len - i, &cp)) == 0)
			break;
		if (cp == ' ' || (cp >= 0x09 && cp <= 0x0d)) {
			space = any;        /* leading white space dropped */
			continue;
		}
		if (space)
			canon_put(b, " ", 1);
		space = 0;
		any = 1;
		canon_utf8(b, cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
	}
	if (i < v->len) {
		/* Not a string this reads (or no string type): as it is. */
		unsigned char tag = (unsigned char)v->tag;

		b->n = at;
		canon_put(b, &tag, 1);
		canon_put(b, v->val, v->len);
	}
}

/* qsort order of canonical attributes: [4-octet length][octets]. */
static int
canon_cmp(const void *x, const void *y)
{
	const unsigned char *const *a = x, *const *b = y;
	size_t la = (size_t)(*a)[0] << 24 | (size_t)(*a)[1] << 16 |
		    (size_t)(*a)[2] << 8 | (*a)[3];
	size_t lb = (size_t)(*b)[0] << 24 | (size_t)(*b)[1] << 16 |
		    (size_t)(*b)[2] << 8 | (*b)[3];
	int c = memcmp(*a + 4, *b + 4, la < lb ? la : lb);

	return c != 0 ? c : la < lb ? -1 : la > lb;
}

/* NAME's canonical form into OUT: per RDN its attribute count, then its
 * attributes sorted, each with its length. 0, or -1. */
static int
canon_name(const unsigned char *name, size_t len, struct canon_buf *out)
{
	struct ca_der_cur top, seq, rdn, atv;
	struct ca_der_tlv v;
	const unsigned char *oid;
	size_t oid_len;

	ca_der_init(&top, name, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &seq, NULL) < 0 ||
	    !ca_der_empty(&top))
		return -1;
	while (!ca_der_empty(&seq)) {
		struct canon_buf one = { 0 };
		const unsigned char *ptr[64];
		size_t offs[64], n = 0;

		if (ca_der_enter(&seq, CA_DER_SET, &rdn, NULL) < 0)
			return -1;
		while (!ca_der_empty(&rdn)) {
			size_t at = one.n;

			if (n == sizeof(offs) / sizeof(offs[0]) ||
			    ca_der_enter(&rdn, CA_DER_SEQUENCE, &atv, NULL) < 0 ||
			    ca_der_get_oid(&atv, &oid, &oid_len, NULL) < 0 ||
			    ca_der_get_any(&atv, &v, NULL) < 0 ||
			    !ca_der_empty(&atv)) {
				free(one.p);
				return -1;
			}
			canon_len(&one, 0);     /* its length, below */
			canon_ava(&one, oid, oid_len, &v);
			if (one.oom) {
				free(one.p);
				return -1;
			}
			one.p[at] = (unsigned char)((one.n - at - 4) >> 24);
			one.p[at + 1] = (unsigned char)((one.n - at - 4) >> 16);
			one.p[at + 2] = (unsigned char)((one.n - at - 4) >> 8);
			one.p[at + 3] = (unsigned char)(one.n - at - 4);
			offs[n++] = at;
		}
		if (n == 0) {
			free(one.p);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			ptr[i] = one.p + offs[i];
		qsort(ptr, n, sizeof(ptr[0]), canon_cmp);
		canon_len(out, n);
		for (size_t i = 0; i < n; i++) {
			size_t l = (size_t)ptr[i][0] << 24 |
				   (size_t)ptr[i][1] << 16 |
				   (size_t)ptr[i][2] << 8 | ptr[i][3];

			canon_put(out, ptr[i], l + 4);
		}
		free(one.p);
		if (out->oom)
			return -1;
	}
	return 0;
}

int
ca_name_match(const unsigned char *a, size_t alen, const unsigned char *b,
	      size_t blen)
{
	struct canon_buf ca_ = { 0 }, cb = { 0 };
	int rc = -1;

	if (a == NULL || b == NULL)
		return -1;
	/* The same octets are the same name: no folding needed. */
	if (alen == blen && memcmp(a, b, alen) == 0)
		rc = canon_name(a, alen, &ca_) == 0 ? 1 : -1;
	else if (canon_name(a, alen, &ca_) == 0 &&
		 canon_name(b, blen, &cb) == 0)
		rc = ca_.n == cb.n && (ca_.n == 0 ||
				       memcmp(ca_.p, cb.p, ca_.n) == 0);
	free(ca_.p);
	free(cb.p);
	return rc;
}

int
ca_der_split(const unsigned char *buf, size_t len, struct ca_der_blob *v,
	     size_t max, size_t *n, struct mica_err *err)
{
	struct ca_der_cur c;
	struct ca_der_tlv t;

	*n = 0;
	ca_der_init(&c, buf, len);
	while (!ca_der_empty(&c)) {
		if (ca_der_get_any(&c, &t, NULL) < 0 ||
		    t.tag != CA_DER_SEQUENCE)
			return bad_cert(err, "the stored chain is damaged");
		if (*n == max)
			return bad_cert(err, "the stored chain is too long");
		v[*n].der = (unsigned char *)t.raw;
		v[*n].len = t.raw_len;
		(*n)++;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* CRLs                                                                */
/* ------------------------------------------------------------------ */

/* IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0]
 * OPTIONAL, onlyContainsUserCerts [1] BOOLEAN DEFAULT FALSE,
 * onlyContainsCACerts [2] ..., onlySomeReasons [3] ReasonFlags OPTIONAL,
 * indirectCRL [4] ..., onlyContainsAttributeCerts [5] ... } (RFC 5280
 * 5.2.5): *NARROW 1 when the CRL leaves out CA certificates or some
 * reasons, or speaks for other issuers; 0 for a whole CRL, or one of CA
 * certificates only (an ARL). -1 when malformed. */
static int
idp_narrows(const unsigned char *val, size_t vlen, int *narrow,
	    const unsigned char **dp, size_t *dp_len)
{
	struct ca_der_cur c, s;
	const unsigned char *v;
	size_t l;

	*narrow = 0;
	*dp = NULL;
	*dp_len = 0;
	ca_der_init(&c, val, vlen);
	if (ca_der_enter(&c, CA_DER_SEQUENCE, &s, NULL) < 0 || !ca_der_empty(&c))
		return -1;
	if (ca_der_peek(&s, CA_DER_CTX_CONS(0))) {
		if (ca_der_get_tlv(&s, CA_DER_CTX_CONS(0), &v, &l, NULL) < 0)
			return -1;
		*dp = v;
		*dp_len = l;
	}
	for (unsigned tag = 1; tag <= 5; tag++) {
		unsigned t = CA_DER_CTX(tag);   /* IMPLICIT, primitive */

		if (!ca_der_peek(&s, t))
			continue;
		if (ca_der_get_tlv(&s, t, &v, &l, NULL) < 0 || l == 0)
			return -1;
		/* A BOOLEAN TRUE ([1], [2], [4], [5]) or any reasons ([3]). */
		if (tag != 2 && (tag == 3 || v[0] != 0))
			*narrow = 1;
	}
	return ca_der_empty(&s) ? 0 : -1;
}

/* Does the fullName of the DistributionPointName DPN[0..LEN) hold the
 * GeneralName NAME (whole element)? 1 yes, 0 no; -1 when DPN is not a
 * well-formed fullName (a nameRelativeToCRLIssuer is never a match). */
static int
dpn_has(const unsigned char *dpn, size_t len, const struct ca_der_tlv *name)
{
	struct ca_der_cur c, names;
	struct ca_der_tlv t;

	ca_der_init(&c, dpn, len);
	if (!ca_der_peek(&c, CA_DER_CTX_CONS(0)))
		return 0;
	if (ca_der_enter(&c, CA_DER_CTX_CONS(0), &names, NULL) < 0 ||
	    !ca_der_empty(&c))
		return -1;
	while (!ca_der_empty(&names)) {
		if (ca_der_get_any(&names, &t, NULL) < 0)
			return -1;
		if (t.raw_len == name->raw_len &&
		    memcmp(t.raw, name->raw, t.raw_len) == 0)
			return 1;
	}
	return 0;
}

int
ca_crl_scope_covers(const struct ca_crl_info *crl, const struct ca_cert_info *c)
{
	struct ca_der_cur top, dps, idp, names, dp;
	struct ca_der_tlv name;
	const unsigned char *v;
	size_t l;

	if (crl->idp_dp == NULL)
		return 1;
	if (c->cdp == NULL)
		return 0;
	/* Each name of the IDP's fullName against each DistributionPoint's
	 * fullName in C's CDP. */
	ca_der_init(&idp, crl->idp_dp, crl->idp_dp_len);
	if (ca_der_enter(&idp, CA_DER_CTX_CONS(0), &names, NULL) < 0)
		return 0;
	while (!ca_der_empty(&names)) {
		if (ca_der_get_any(&names, &name, NULL) < 0)
			return 0;
		ca_der_init(&top, c->cdp, c->cdp_len);
		if (ca_der_enter(&top, CA_DER_SEQUENCE, &dps, NULL) < 0)
			return 0;
		while (!ca_der_empty(&dps)) {
			if (ca_der_enter(&dps, CA_DER_SEQUENCE, &dp, NULL) < 0)
				return 0;
			if (!ca_der_peek(&dp, CA_DER_CTX_CONS(0)))
				continue;
			if (ca_der_get_tlv(&dp, CA_DER_CTX_CONS(0), &v, &l, NULL) < 0)
				return 0;
			if (dpn_has(v, l, &name) == 1)
				return 1;
		}
	}
	return 0;
}

int
ca_crl_info_read(const unsigned char *der, size_t len,
		 struct ca_crl_info *o, struct mica_err *err)
{
	struct ca_der_cur top, crl, tbs, list, ctx, exts, e, ent, a;
	const unsigned char *bits, *oid, *val, *num;
	size_t nbytes, oid_len, vlen, num_len, nseen = 0;
	struct { const unsigned char *oid; size_t len; } seen[32];
	unsigned unused;
	uint64_t version;
	int crit;

	if (o == NULL)
		return bad_crl(err, "nothing to read");
	memset(o, 0, sizeof(*o));
	o->number = -1;
	if (der == NULL || len == 0 || len > CRL_DER_MAX)
		return bad_crl(err, "empty or larger than 16 MiB");
	/* CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm,
	 * signatureValue } (RFC 5280 5.1) */
	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &crl, NULL) < 0 ||
	    !ca_der_empty(&top))
		return bad_crl(err, "not one DER CertificateList");
	o->tbs = crl.p;
	if (ca_der_enter(&crl, CA_DER_SEQUENCE, &tbs, NULL) < 0)
		return bad_crl(err, "malformed TBSCertList");
	o->tbs_len = (size_t)(crl.p - o->tbs);
	if (ca_der_get_elem(&crl, CA_DER_SEQUENCE, &o->sig_alg,
			    &o->sig_alg_len, NULL) < 0 ||
	    ca_der_get_bitstring(&crl, &bits, &nbytes, &unused, NULL) < 0 ||
	    unused != 0 || nbytes == 0 || !ca_der_empty(&crl))
		return bad_crl(err, "malformed signature");
	o->sig = bits;
	o->sig_len = nbytes;
	/* version INTEGER OPTIONAL (v2 = 1) */
	if (ca_der_peek(&tbs, CA_DER_INTEGER) &&
	    (ca_der_get_uint(&tbs, 255, &version, NULL) < 0 || version != 1))
		return bad_crl(err, "not version 1 or 2");
	if (ca_der_enter(&tbs, CA_DER_SEQUENCE, &a, NULL) < 0)
		return bad_crl(err, "malformed signature field");
	if (ca_der_get_elem(&tbs, CA_DER_SEQUENCE, &o->issuer, &o->issuer_len,
			    NULL) < 0)
		return bad_crl(err, "malformed issuer");
	if (ca_der_get_time(&tbs, &o->this_update, NULL, NULL) < 0)
		return bad_crl(err, "malformed thisUpdate");
	if ((ca_der_peek(&tbs, CA_DER_UTC_TIME) ||
	     ca_der_peek(&tbs, CA_DER_GEN_TIME)) &&
	    ca_der_get_time(&tbs, &o->next_update, NULL, NULL) < 0)
		return bad_crl(err, "malformed nextUpdate");
	if (ca_der_peek(&tbs, CA_DER_SEQUENCE)) {
		o->entries = tbs.p;
		if (ca_der_enter(&tbs, CA_DER_SEQUENCE, &list, NULL) < 0)
			return bad_crl(err, "malformed revokedCertificates");
		o->entries_len = (size_t)(tbs.p - o->entries);
		while (!ca_der_empty(&list)) {
			const unsigned char *sv;
			size_t sl;
			int64_t when;

			if (ca_der_enter(&list, CA_DER_SEQUENCE, &ent, NULL) < 0 ||
			    ca_der_get_tlv(&ent, CA_DER_INTEGER, &sv, &sl,
					   NULL) < 0 ||
			    ca_der_get_time(&ent, &when, NULL, NULL) < 0 ||
			    (!ca_der_empty(&ent) &&
			     ca_der_enter(&ent, CA_DER_SEQUENCE, &e, NULL) < 0) ||
			    !ca_der_empty(&ent))
				return bad_crl(err, "malformed entry");
			o->nentries++;
		}
	}
	if (ca_der_peek(&tbs, CA_DER_CTX_CONS(0))) {
		if (ca_der_enter(&tbs, CA_DER_CTX_CONS(0), &ctx, NULL) < 0 ||
		    ca_der_enter(&ctx, CA_DER_SEQUENCE, &exts, NULL) < 0 ||
		    !ca_der_empty(&ctx))
			return bad_crl(err, "malformed crlExtensions");
		while (!ca_der_empty(&exts)) {
			crit = 0;
			if (ca_der_enter(&exts, CA_DER_SEQUENCE, &e, NULL) < 0 ||
			    ca_der_get_oid(&e, &oid, &oid_len, NULL) < 0 ||
			    (ca_der_peek(&e, CA_DER_BOOLEAN) &&
			     ca_der_get_bool(&e, &crit, NULL) < 0) ||
			    ca_der_get_tlv(&e, CA_DER_OCTET_STRING, &val, &vlen,
					   NULL) < 0 || !ca_der_empty(&e))
				return bad_crl(err, "malformed extension");
			/* RFC 5280 5.2 (4.2): an extension appears once;
			 * which of two cRLNumbers would be meant? */
			if (nseen == sizeof(seen) / sizeof(seen[0]))
				return bad_crl(err, "too many extensions");
			for (size_t k = 0; k < nseen; k++)
				if (oid_is(oid, oid_len, seen[k].oid, seen[k].len))
					return bad_crl(err, "an extension twice");
			seen[nseen].oid = oid;
			seen[nseen++].len = oid_len;
			if (oid_is(oid, oid_len, OID_DELTA_CRL,
				   sizeof(OID_DELTA_CRL))) {
				o->delta = 1;
			} else if (oid_is(oid, oid_len, OID_IDP, sizeof(OID_IDP))) {
				if (idp_narrows(val, vlen, &o->part, &o->idp_dp,
						&o->idp_dp_len) < 0)
					return bad_crl(err, "malformed "
						       "issuingDistributionPoint");
			} else if (crit && !oid_is(oid, oid_len, OID_CRL_NUMBER,
						   sizeof(OID_CRL_NUMBER)) &&
				   !oid_is(oid, oid_len, OID_AKI, sizeof(OID_AKI))) {
				o->unknown_critical = 1;
			}
			if (oid_is(oid, oid_len, OID_CRL_NUMBER,
				   sizeof(OID_CRL_NUMBER))) {
				/* CRLNumber ::= INTEGER (0..MAX), RFC 5280
				 * 5.2.3: kept when it fits 63 bits. */
				ca_der_init(&e, val, vlen);
				if (ca_der_get_tlv(&e, CA_DER_INTEGER, &num,
						   &num_len, NULL) < 0 ||
				    !ca_der_empty(&e) || num_len == 0 ||
				    (num[0] & 0x80) != 0)
					return bad_crl(err, "malformed "
						       "cRLNumber");
				while (num_len > 1 && num[0] == 0) {
					num++;
					num_len--;
				}
				if (num_len < 8 ||
				    (num_len == 8 && num[0] < 0x80)) {
					o->number = 0;
					for (size_t i = 0; i < num_len; i++)
						o->number = o->number << 8 |
							    num[i];
				} else {
					o->number_big = 1;
				}
			} else if (oid_is(oid, oid_len, OID_AKI,
					  sizeof(OID_AKI))) {
				struct ca_cert_info tmp;

				memset(&tmp, 0, sizeof(tmp));
				if (read_aki(val, vlen, &tmp, NULL) < 0)
					return bad_crl(err, "malformed "
						       "authorityKeyIdentifier");
				o->aki = tmp.aki;
				o->aki_len = tmp.aki_len;
			}
			/* Anything else non-critical (freshestCRL...) is
			 * for relying parties to judge. */
		}
	}
	if (!ca_der_empty(&tbs))
		return bad_crl(err, "data after the extensions");
	return 0;
}

int
ca_crl_lists(const struct ca_crl_info *crl, const unsigned char *serial,
	     size_t serial_len)
{
	struct ca_der_cur top, list, ent;
	const unsigned char *sv;
	size_t sl;

	if (crl->entries == NULL)
		return 0;
	ca_der_init(&top, crl->entries, crl->entries_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &list, NULL) < 0)
		return 0;
	while (!ca_der_empty(&list)) {
		if (ca_der_enter(&list, CA_DER_SEQUENCE, &ent, NULL) < 0 ||
		    ca_der_get_tlv(&ent, CA_DER_INTEGER, &sv, &sl, NULL) < 0)
			return 0;
		if (sl == serial_len && memcmp(sv, serial, sl) == 0)
			return 1;
	}
	return 0;
}

int
ca_crl_foreach_entry(const struct ca_crl_info *crl, ca_crl_entry_cb cb,
		     void *ctx, struct mica_err *err)
{
	struct ca_der_cur top, list, ent, exts, e, v;
	const unsigned char *sv, *oid, *val, *rv;
	size_t sl, oid_len, vlen, rl;
	int64_t when, invalid;
	int crit, reason, gen;

	if (crl->entries == NULL)
		return 0;
	ca_der_init(&top, crl->entries, crl->entries_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &list, NULL) < 0)
		return bad_crl(err, "malformed revokedCertificates");
	while (!ca_der_empty(&list)) {
		reason = -1;
		invalid = 0;
		if (ca_der_enter(&list, CA_DER_SEQUENCE, &ent, NULL) < 0 ||
		    ca_der_get_tlv(&ent, CA_DER_INTEGER, &sv, &sl, NULL) < 0 ||
		    ca_der_get_time(&ent, &when, NULL, NULL) < 0)
			return bad_crl(err, "malformed entry");
		/* crlEntryExtensions (RFC 5280 5.3) */
		if (!ca_der_empty(&ent)) {
			if (ca_der_enter(&ent, CA_DER_SEQUENCE, &exts, NULL) < 0 ||
			    !ca_der_empty(&ent))
				return bad_crl(err, "malformed entry");
			while (!ca_der_empty(&exts)) {
				crit = 0;
				if (ca_der_enter(&exts, CA_DER_SEQUENCE, &e,
						 NULL) < 0 ||
				    ca_der_get_oid(&e, &oid, &oid_len, NULL) < 0 ||
				    (ca_der_peek(&e, CA_DER_BOOLEAN) &&
				     ca_der_get_bool(&e, &crit, NULL) < 0) ||
				    ca_der_get_tlv(&e, CA_DER_OCTET_STRING, &val,
						   &vlen, NULL) < 0 ||
				    !ca_der_empty(&e))
					return bad_crl(err, "malformed entry "
						       "extension");
				if (oid_is(oid, oid_len, OID_REASON_CODE,
					   sizeof(OID_REASON_CODE))) {
					/* RFC 5280 5.3.1: CRLReason ::=
					 * ENUMERATED */
					ca_der_init(&v, val, vlen);
					if (reason != -1 ||
					    ca_der_get_tlv(&v, CA_DER_ENUMERATED,
							   &rv, &rl, NULL) < 0 ||
					    !ca_der_empty(&v) || rl != 1 ||
					    rv[0] > 10)
						return bad_crl(err, "malformed "
							       "reasonCode");
					reason = rv[0];
				} else if (oid_is(oid, oid_len,
						  (const unsigned char *)CA_DER_OID_INVALIDITY,
						  CA_DER_OID_INVALIDITY_LEN)) {
					/* RFC 5280 5.3.2: non-critical, a
					 * GeneralizedTime (Zulu, whole
					 * seconds); another form, a critical
					 * one, or two, is -1 for the caller to
					 * judge: the entry itself stands. */
					int64_t t = 0;

					ca_der_init(&v, val, vlen);
					if (invalid != 0 || crit ||
					    ca_der_get_time(&v, &t, &gen,
							    NULL) < 0 ||
					    !ca_der_empty(&v) || !gen || t <= 0)
						invalid = -1;
					else
						invalid = t;
				} else if (oid_is(oid, oid_len, OID_CERT_ISSUER,
						  sizeof(OID_CERT_ISSUER))) {
					/* RFC 5280 5.3.3: an indirect CRL's
					 * entry of another issuer. */
					return bad_crl(err, "an entry names "
						       "another issuer "
						       "(certificateIssuer)");
				} else if (crit) {
					return bad_crl(err, "an entry has a "
						       "critical extension mica "
						       "does not know");
				}
				/* Others non-critical: left aside. */
			}
		}
		if (sl == 0 || (sv[0] & 0x80) != 0)
			return bad_crl(err, "an entry's serial is not positive");
		if (cb(ctx, sv, sl, when, reason, invalid) != 0)
			return -1;
	}
	return 0;
}

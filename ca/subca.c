/*
 * ca/subca.c - a root signs CA certificates (mica sign-ca): an issuing
 * CA's, from its request (mica's own, Windows' certreq, openssl req), or,
 * cross-signing, another root's, so that devices trusting only this root
 * keep working when that one replaces it.
 *
 * This runs on the command line of the root alone, in-process: the key of
 * an offline root is never in a daemon, and the daemon's signers have no
 * message for a CA certificate (ca/signer_int.h). The certificate is
 * recorded (status issuing) before it is signed and stored before it is
 * returned, like any other, so 'mica revoke' and the root's CRL cover it.
 */
#include "ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ca/ca_int.h"
#include "ca/cacert.h"
#include "ca/csr.h"
#include "ca/der.h"
#include "ca/sign.h"
#include "ca/signcheck.h"
#include "ca/x509.h"
#include "util/fault.h"

#define SUBCA_DAYS  1825          /* 5 years */
#define SUBCA_SKEW  3600          /* notBefore backdated an hour: the
				   * offline root's clock may run ahead */
#define URL_MAX     1024
/* The same request signed again within this long (the same key, name and
 * options) gets the certificate signed the first time back: a sign-ca
 * killed after its commit, before its --out file, is run again. A second
 * certificate would extend the validity by less than this; later, a CA
 * renewed with the same key gets a new one. */
#define SUBCA_AGAIN_WINDOW 86400
#define SUBCA_AGAIN_MAX    8      /* such certificates compared, newest first */

/* id-pkcs9-at-extensionRequest, and the extensions read from it. */
static const unsigned char OID_EXT_REQ[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e,
};
static const unsigned char OID_NC[] = { 0x55, 0x1d, 0x1e };
static const unsigned char OID_CRLDP[] = { 0x55, 0x1d, 0x1f };
static const unsigned char OID_AIA[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01,
};
static const unsigned char OID_CA_ISSUERS[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02,
};

/* What a CA's request asks for, as far as a root here takes it. */
struct careq {
	const unsigned char *subject; size_t subject_len;   /* whole Name */
	const unsigned char *spki; size_t spki_len;
	char permit[CA_NC_PERMIT_MAX][256];  /* permitted DNS domains and
					      * address ranges (CIDR) */
	size_t npermit;
	char crl_url[URL_MAX + 1];           /* "" when not asked */
	char aia_url[URL_MAX + 1];
};

static int
bad_req(struct mica_err *err, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
			    "the CA's request: %s", why);
}

/* A URI GeneralName [6] into OUT, if it is printable ASCII and fits. */
static int
take_uri(const struct ca_der_tlv *g, char out[URL_MAX + 1])
{
	if (g->tag != CA_DER_CTX(6) || g->len == 0 || g->len > URL_MAX)
		return 0;
	for (size_t i = 0; i < g->len; i++)
		if (g->val[i] < 0x21 || g->val[i] > 0x7e)
			return 0;
	memcpy(out, g->val, g->len);
	out[g->len] = '\0';
	return 1;
}

/* The first fullName URI of a requested cRLDistributionPoints. */
static void
req_crldp(const unsigned char *v, size_t len, char out[URL_MAX + 1])
{
	struct ca_der_cur top, seq, dp, dpn, full;
	struct ca_der_tlv g;

	ca_der_init(&top, v, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &seq, NULL) < 0 ||
	    ca_der_enter(&seq, CA_DER_SEQUENCE, &dp, NULL) < 0 ||
	    ca_der_enter(&dp, CA_DER_CTX_CONS(0), &dpn, NULL) < 0 ||
	    ca_der_enter(&dpn, CA_DER_CTX_CONS(0), &full, NULL) < 0)
		return;
	while (!ca_der_empty(&full))
		if (ca_der_get_any(&full, &g, NULL) < 0 || take_uri(&g, out))
			return;
}

/* The first caIssuers URI of a requested authorityInfoAccess. */
static void
req_aia(const unsigned char *v, size_t len, char out[URL_MAX + 1])
{
	struct ca_der_cur top, seq, ad;
	struct ca_der_tlv g;
	const unsigned char *oid;
	size_t oid_len;

	ca_der_init(&top, v, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &seq, NULL) < 0)
		return;
	while (!ca_der_empty(&seq)) {
		if (ca_der_enter(&seq, CA_DER_SEQUENCE, &ad, NULL) < 0 ||
		    ca_der_get_oid(&ad, &oid, &oid_len, NULL) < 0 ||
		    ca_der_get_any(&ad, &g, NULL) < 0)
			return;
		if (ca_der_oid_eq(oid, oid_len, OID_CA_ISSUERS,
				  sizeof(OID_CA_ISSUERS)) && take_uri(&g, out))
			return;
	}
}

/* The permitted dNSName and iPAddress subtrees of requested
 * nameConstraints (mica's own requests list rfc822Name ones too: the root
 * writes those itself for each domain, and its own exclusions of the
 * address families no range is asked for; requested excludedSubtrees are
 * not copied). */
static int
req_nc(const unsigned char *v, size_t len, struct careq *r,
       struct mica_err *err)
{
	struct ca_nc *nc;
	int rc = -1;

	if ((nc = malloc(sizeof(*nc))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	if (ca_nc_parse(v, len, nc, err) != 0)
		goto out;
	for (size_t i = 0; i < nc->npermitted; i++) {
		const struct ca_nc_subtree *t = &nc->permitted[i];
		struct ca_name nm;
		struct ca_cidr c;

		if (t->kind != CA_NAME_DNS && t->kind != CA_NAME_IP)
			continue;
		if (r->npermit == CA_NC_PERMIT_MAX) {
			bad_req(err, "too many permitted subtrees");
			goto out;
		}
		if (t->kind == CA_NAME_IP) {
			if (ca_cidr_from_mask(t->ip, t->mask, t->ip_len, &c,
					      NULL) != 0) {
				bad_req(err, "a requested iPAddress subtree is "
					"not an address range (a prefix mask, "
					"no address bits set outside it)");
				goto out;
			}
			snprintf(r->permit[r->npermit++], sizeof(r->permit[0]),
				 "%s", c.text);
			continue;
		}
		if (ca_name_parse(t->value, CA_NAME_DNS, &nm, NULL) != 0 ||
		    nm.value[0] == '*') {
			bad_req(err, "a requested permitted subtree is not a "
				"DNS domain");
			goto out;
		}
		snprintf(r->permit[r->npermit++], sizeof(r->permit[0]), "%s",
			 nm.value);
	}
	rc = 0;
out:
	free(nc);
	return rc;
}

/* Does PERMIT hold a DNS domain (not only address ranges)? */
static int
has_domain(char permit[][256], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strchr(permit[i], '/') == NULL)
			return 1;
	return 0;
}

/* RANGE's first (LAST 0) or last (LAST 1) address as a name. */
static void
range_end(const struct ca_cidr *c, int last, struct ca_name *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = CA_NAME_IP;
	out->ip_len = c->ip_len;
	for (size_t i = 0; i < c->ip_len; i++)
		out->ip[i] = (unsigned char)(last ? c->ip[i] | ~c->mask[i] :
					     c->ip[i] & c->mask[i]);
}

/* Does one permitted iPAddress subtree of NC hold the whole range C,
 * when NC permits any range of C's family (none: the family is not
 * constrained by them)? Two ranges that hold its two ends may leave a
 * gap between them. */
static int
range_within(const struct ca_nc *nc, const struct ca_cidr *c)
{
	int any = 0;

	for (size_t i = 0; i < nc->npermitted; i++) {
		const struct ca_nc_subtree *t = &nc->permitted[i];
		int in = 1;

		if (t->kind != CA_NAME_IP || t->ip_len != c->ip_len)
			continue;
		any = 1;
		/* T's mask no longer than C's, and C's network in T. */
		for (size_t k = 0; in && k < c->ip_len; k++)
			in = (t->mask[k] & c->mask[k]) == t->mask[k] &&
			     (c->ip[k] & t->mask[k]) == (t->ip[k] & t->mask[k]);
		if (in)
			return 1;
	}
	return !any;
}

/*
 * Cross-signing a root that has name constraints of its own, with the
 * subtrees PERMIT (N, --permit's canonical texts): devices that trust
 * only this root reach the other one's CAs through the cross-certificate
 * alone, so it must not let through more than the other root lets
 * through itself. Each --permit must lie within the other root's
 * constraints (NC_DER, its nameConstraints value), and every subtree it
 * excludes must be one mica writes as well: a whole address family with
 * no range permitted. Other exclusions (a DNS name, a mailbox, a range
 * inside a permitted one) the cross-certificate cannot carry, so it is
 * refused rather than let devices accept what the other root excluded.
 */
static int
cross_nc_keeps(const unsigned char *nc_der, size_t nc_len,
	       char permit[][256], size_t n,
	       struct mica_err *err)
{
	struct ca_nc *nc;
	struct mica_err pe;
	int rc = -1;

	if ((nc = calloc(1, sizeof(*nc))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	if (ca_nc_parse(nc_der, nc_len, nc, &pe) != 0) {
		mica_err_set(err, MICA_E_POLICY, "no_name_constraints",
			     "the root to cross-sign has name constraints "
			     "mica cannot read (%s): it cannot tell what the "
			     "cross-certificate would let through", pe.msg);
		goto out;
	}
	for (size_t i = 0; i < nc->nexcluded; i++) {
		const struct ca_nc_subtree *x = &nc->excluded[i];
		int whole = x->kind == CA_NAME_IP, fam = 0;

		for (size_t k = 0; whole && k < x->ip_len; k++)
			whole = x->mask[k] == 0;
		/* mica excludes a family whole when no range of it is
		 * permitted. */
		for (size_t k = 0; whole && k < n; k++)
			if (strchr(permit[k], '/') != NULL &&
			    (strchr(permit[k], ':') != NULL) == (x->ip_len == 16))
				fam = 1;
		if (!whole || fam) {
			mica_err_set(err, MICA_E_POLICY, "excluded_subtrees",
				     "the root to cross-sign excludes %s%s from "
				     "what it certifies, which a cross-certificate "
				     "made by mica cannot carry: devices that trust "
				     "this root would accept it through the "
				     "other root's CAs", x->kind == CA_NAME_IP ?
				     "an address range" : "",
				     x->kind == CA_NAME_IP ? "" : x->value);
			goto out;
		}
	}
	for (size_t k = 0; k < n; k++) {
		struct ca_name a, b;
		struct ca_cidr c;
		int ok;

		if (strchr(permit[k], '/') != NULL) {
			if (ca_cidr_parse(permit[k], &c, NULL) != 0)
				goto bad;
			range_end(&c, 0, &a);
			range_end(&c, 1, &b);
			ok = ca_nc_allows(nc, &a) && ca_nc_allows(nc, &b) &&
			     range_within(nc, &c);
		} else {
			char mb[300];

			if (ca_name_parse(permit[k], CA_NAME_DNS, &a, NULL) != 0)
				goto bad;
			ok = ca_nc_allows(nc, &a);
			/* mica permits the domain's mailboxes too, at it and
			 * under it (rfc822Name D and .D): the other root must
			 * let both through. */
			snprintf(mb, sizeof(mb), "postmaster@%s", permit[k]);
			ok = ok && ca_name_parse(mb, CA_NAME_EMAIL, &b, NULL) == 0 &&
			     ca_nc_allows(nc, &b);
			snprintf(mb, sizeof(mb), "postmaster@x.%s", permit[k]);
			ok = ok && ca_name_parse(mb, CA_NAME_EMAIL, &b, NULL) == 0 &&
			     ca_nc_allows(nc, &b);
		}
		if (!ok) {
			mica_err_set(err, MICA_E_POLICY, "name_not_allowed",
				     "--permit %s goes beyond the name constraints "
				     "of the root to cross-sign: devices that trust "
				     "this root would accept there what it does not "
				     "certify itself", permit[k]);
			goto out;
		}
	}
	rc = 0;
	goto out;
bad:
	mica_err_set(err, MICA_E_INTERNAL, "internal", "a --permit reread");
out:
	free(nc);
	return rc;
}

/*
 * The text of a CA's subject, which sign-ca copies as it is into a
 * certificate every relying party below it shows (from a CA's request,
 * or from the root to cross-sign): each value of a directory string
 * type, read as text, passes the free-text rules (ca_text_check: no
 * controls, invisible characters or blanks around it - zlint warns of
 * leading and trailing white space in a DN), and holds no NUL. WHO and
 * CODE begin the refusal ("the CA's request", "bad_csr").
 */
static int
careq_subject_ok(const unsigned char *name, size_t len, const char *who,
		 const char *code, struct mica_err *err)
{
	struct ca_der_cur top, seq, rdn, atv;
	struct ca_der_tlv v;
	const unsigned char *oid;
	size_t oid_len;
	char text[4 * 128 + 1];
	struct mica_err why;
	int rc;

	ca_der_init(&top, name, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &seq, NULL) < 0)
		goto malformed;
	while (!ca_der_empty(&seq)) {
		if (ca_der_enter(&seq, CA_DER_SET, &rdn, NULL) < 0)
			goto malformed;
		while (!ca_der_empty(&rdn)) {
			if (ca_der_enter(&rdn, CA_DER_SEQUENCE, &atv, NULL) < 0 ||
			    ca_der_get_oid(&atv, &oid, &oid_len, NULL) < 0 ||
			    ca_der_get_any(&atv, &v, NULL) < 0)
				goto malformed;
			/* Every directory string type, as relying parties
			 * show it (a BMPString's text too). */
			if ((rc = ca_dirstring_utf8(v.tag, v.val, v.len, text,
						    sizeof(text))) == 1)
				continue;
			if (rc != 0)
				return mica_err_set(err, MICA_E_BADREQ, code,
						    "%s: a value of its subject "
						    "is not text, too long or "
						    "holds a NUL", who);
			mica_err_clear(&why);
			if (ca_text_check(text, 128, "value", &why) != 0)
				return mica_err_set(err, MICA_E_BADREQ, code,
						    "%s: a value of its "
						    "subject: %s", who, why.msg);
		}
	}
	return 0;
malformed:
	return mica_err_set(err, MICA_E_BADREQ, code, "%s: malformed subject",
			    who);
}

/*
 * Read what a CA's request (its signature already verified by
 * ca_csr_parse) asks for: CertificationRequest { CertificationRequestInfo
 * { version, subject, subjectPKInfo, attributes [0] }, ... } with the
 * extensions of an extensionRequest (RFC 2986 4.1, RFC 2985 5.4.2).
 */
static int
read_careq(const unsigned char *der, size_t len, struct careq *r,
	   struct mica_err *err)
{
	struct ca_der_cur top, req, cri, attrs, attr, vals, exts, e;
	const unsigned char *oid, *val;
	size_t oid_len, vlen;
	uint64_t version;
	int crit;

	memset(r, 0, sizeof(*r));
	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &req, NULL) < 0 ||
	    ca_der_enter(&req, CA_DER_SEQUENCE, &cri, NULL) < 0 ||
	    ca_der_get_uint(&cri, 0, &version, NULL) < 0 ||
	    ca_der_get_elem(&cri, CA_DER_SEQUENCE, &r->subject,
			    &r->subject_len, NULL) < 0 ||
	    ca_der_get_elem(&cri, CA_DER_SEQUENCE, &r->spki, &r->spki_len,
			    NULL) < 0 ||
	    ca_der_enter(&cri, CA_DER_CTX_CONS(0), &attrs, NULL) < 0)
		return bad_req(err, "malformed");
	if (r->subject_len <= 2)
		return bad_req(err, "a CA needs a subject name");
	if (careq_subject_ok(r->subject, r->subject_len, "the CA's request",
			     "bad_csr", err) != 0)
		return -1;
	while (!ca_der_empty(&attrs)) {
		if (ca_der_enter(&attrs, CA_DER_SEQUENCE, &attr, NULL) < 0 ||
		    ca_der_get_oid(&attr, &oid, &oid_len, NULL) < 0)
			return bad_req(err, "malformed attribute");
		if (!ca_der_oid_eq(oid, oid_len, OID_EXT_REQ,
				   sizeof(OID_EXT_REQ)))
			continue;
		if (ca_der_enter(&attr, CA_DER_SET, &vals, NULL) < 0 ||
		    ca_der_enter(&vals, CA_DER_SEQUENCE, &exts, NULL) < 0)
			return bad_req(err, "malformed extension request");
		while (!ca_der_empty(&exts)) {
			crit = 0;
			if (ca_der_enter(&exts, CA_DER_SEQUENCE, &e, NULL) < 0 ||
			    ca_der_get_oid(&e, &oid, &oid_len, NULL) < 0 ||
			    (ca_der_peek(&e, CA_DER_BOOLEAN) &&
			     ca_der_get_bool(&e, &crit, NULL) < 0) ||
			    ca_der_get_tlv(&e, CA_DER_OCTET_STRING, &val, &vlen,
					   NULL) < 0)
				return bad_req(err, "malformed extension");
			if (ca_der_oid_eq(oid, oid_len, OID_NC, sizeof(OID_NC))) {
				if (req_nc(val, vlen, r, err) != 0)
					return -1;
			} else if (ca_der_oid_eq(oid, oid_len, OID_CRLDP,
						 sizeof(OID_CRLDP))) {
				req_crldp(val, vlen, r->crl_url);
			} else if (ca_der_oid_eq(oid, oid_len, OID_AIA,
						 sizeof(OID_AIA))) {
				req_aia(val, vlen, r->aia_url);
			}
		}
	}
	return 0;
}

struct subca_reserve_tx {
	const struct db_cert *rec;
	const unsigned char *spki; size_t spki_len;
};

/* A key revoked for keyCompromise is never certified again, a CA's key
 * no more than a server's: checked in the transaction that reserves the
 * serial, as ca_issue() does. */
static int
subca_reserve_body(struct db *db, void *arg, struct mica_err *err)
{
	struct subca_reserve_tx *x = arg;

	if (ca_key_certifiable(db, x->spki, x->spki_len, x->rec->spki_sha256,
			       err) != 0)
		return -1;
	return db_cert_reserve(db, x->rec, err);
}

struct subca_complete_tx {
	const char *serial;
	const unsigned char *der; size_t der_len;
	const char *actor, *detail;
	int late;                   /* revoked while being signed */
};

static int
subca_complete_body(struct db *db, void *arg, struct mica_err *err)
{
	struct subca_complete_tx *x = arg;
	char why[480];
	int r;

	if ((r = db_cert_complete(db, x->serial, x->der, x->der_len, err)) < 0)
		return -1;
	/* Revoked while it was being signed: on record, revoked, and
	 * handed to no one (as ca_issue does). */
	x->late = r == 1;
	snprintf(why, sizeof(why), "%s%s", x->detail,
		 x->late ? "; revoked while being signed, not delivered" : "");
	return db_audit_add(db, ca_now(), x->actor, "ca.sign", x->serial, why,
			    err);
}

/* A certificate handed back again (subca_again): one more line in the
 * audit trail, under its own action, so that the trail shows each time
 * the root gave it out without showing a second signature. */
static int
subca_again_body(struct db *db, void *arg, struct mica_err *err)
{
	struct subca_complete_tx *x = arg;

	return db_audit_add(db, ca_now(), x->actor, "ca.sign.again", x->serial,
			    x->detail, err);
}

static int
subca_discard_body(struct db *db, void *arg, struct mica_err *err)
{
	return db_cert_discard(db, arg, err);
}

/* Is U a URL a relying party fetches a CRL or certificate from (RFC 5280
 * 4.2.1.13, 4.2.2.1: http, or ldap in a directory)? A request's
 * file:///etc/passwd or javascript: goes nowhere into a CA certificate. */
static int
fetch_url(const char *u)
{
	return strncasecmp(u, "http://", 7) == 0 ||
	       strncasecmp(u, "https://", 8) == 0 ||
	       strncasecmp(u, "ldap://", 7) == 0;
}

/* A URL for the CDP or AIA: as given (by OPTION), else this root's public
 * URL with SUFFIX, else the request's if it is one to fetch from (OUT gets
 * the choice, "" for none; *FROM says where it came from, a static
 * string). */
static void
pick_url(const char *given, const char *option, const char *public_url,
	 const char *suffix, const char *requested, char out[URL_MAX + 1],
	 const char **from)
{
	if (given != NULL) {
		snprintf(out, URL_MAX + 1, "%s", given);
		*from = "as given";
	} else if (public_url[0] != '\0') {
		snprintf(out, URL_MAX + 1, "%s%s", public_url, suffix);
		*from = "this root's URL";
	} else if (requested[0] != '\0' && !fetch_url(requested)) {
		out[0] = '\0';
		*from = "the request's is not an http, https or ldap URL: "
			"left out";
	} else {
		snprintf(out, URL_MAX + 1, "%s", requested);
		/* A cross-certificate has no request to take it from. The
		 * note names the option that would have given this URL. */
		if (requested[0] != '\0')
			*from = "the request's";
		else if (strcmp(option, "--aia-url") == 0)
			*from = "no --aia-url, and this root has no public URL";
		else
			*from = "no --crl-url, and this root has no public URL";
	}
}

/* The validity of a certificate signed at WHEN for DAYS days, cut to the
 * end of the root and, cross-signing, to OTHER_NA, the other root's end
 * (0: none): *NB, *NA, and *CLAMPED when the root's end cut it. */
static void
subca_validity(const struct ca *ca, int days, int64_t other_na, int64_t when,
	       int64_t *nb, int64_t *na, int *clamped)
{
	*na = when + (int64_t)days * 86400;
	*clamped = 0;
	if (other_na != 0 && other_na < *na)
		*na = other_na;
	if (*na > ca->sh->not_after) {
		*na = ca->sh->not_after;
		*clamped = 1;
	}
	*nb = when - SUBCA_SKEW;
	if (*nb < ca->sh->not_before)
		*nb = ca->sh->not_before;
}

/*
 * Has this root signed this same certificate lately? T is the one about to
 * be signed (at NOW); a certificate of its key (HASH) and PROFILE, valid,
 * recorded within SUBCA_AGAIN_WINDOW, is the same when T with that one's
 * serial and the validity DAYS (and OTHER_NA) give at its time is its TBS
 * byte for byte: the same subject, key, path length, name constraints,
 * URLs and validity. Then OUT gets it (again = 1) and *FOUND = 1.
 */
static int
subca_again(struct ca *ca, const struct ca_tbs_cert *t, const unsigned char hash[32],
	    const char *profile, int days, int64_t other_na, int64_t now,
	    struct ca_issued *out, int *found, struct mica_err *err)
{
	char (*serials)[DB_SERIAL_MAX] = NULL;
	size_t n = 0;
	int rc = -1;

	*found = 0;
	if (db_cert_of_key(ca->db, hash, profile, now - SUBCA_AGAIN_WINDOW, now,
			   SUBCA_AGAIN_MAX, &serials, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n && !*found; i++) {
		struct db_cert c;
		struct ca_cert_info info;
		struct ca_tbs_cert t2;
		unsigned char *tbs = NULL;
		size_t tbs_len = 0;
		int clamped;

		memset(&c, 0, sizeof(c));
		if (db_cert_get(ca->db, serials[i], &c, err) != 0)
			goto out;
		if (c.der == NULL ||
		    ca_cert_info_read(c.der, c.der_len, &info, err) != 0) {
			db_cert_free(&c);
			continue;
		}
		t2 = *t;
		t2.serial = info.serial;
		t2.serial_len = info.serial_len;
		subca_validity(ca, days, other_na, c.created_at, &t2.not_before,
			       &t2.not_after, &clamped);
		if (ca_x509_tbs_cert(&t2, &tbs, &tbs_len, err) != 0) {
			db_cert_free(&c);
			goto out;
		}
		if (tbs_len == info.tbs_len &&
		    memcmp(tbs, info.tbs, tbs_len) == 0) {
			snprintf(out->serial, sizeof(out->serial), "%s", c.serial);
			out->status = CA_REQ_ISSUED;
			out->der = c.der;       /* INFO points into it: done */
			out->der_len = c.der_len;
			c.der = NULL;
			out->not_before = c.not_before;
			out->not_after = c.not_after;
			out->clamped = clamped;
			out->again = 1;
			*found = 1;
		}
		free(tbs);
		db_cert_free(&c);
	}
	rc = 0;
out:
	free(serials);
	return rc;
}

/* OUT's notice, for a certificate signed now or handed back again: the
 * CDP decides where relying parties look for this root's CRL, so say
 * which it is (CRL_URL, "" for none) and where it came from (FROM); and
 * whether the validity was cut to this root's end (OUT->clamped). */
static void
sign_notice(struct ca_issued *out, const char *crl_url, const char *from,
	    const char *aia_url, const char *aia_from)
{
	snprintf(out->notice, sizeof(out->notice),
		 "%sCDP %.90s (%s); caIssuers %.90s (%s)",
		 out->clamped ? "validity cut to this root's end; " : "",
		 crl_url[0] != '\0' ? crl_url : "none", from,
		 aia_url[0] != '\0' ? aia_url : "none", aia_from);
}

/* OUT's warning when the certificate names no CDP (CRL_URL "") or no
 * caIssuers (AIA_URL ""). A CA certificate without a CDP cannot be
 * checked by relying parties that check revocation (OpenSSL's
 * -crl_check_all, Windows' chain revocation check), so revoking it here
 * reaches none of them. That is said loudly, not refused: an issuing
 * CA's request from openssl or certreq asks for no URL and has always
 * been signed so, and a closed network may want exactly that; a
 * cross-certificate is treated the same. */
static void
sign_warning(struct ca_issued *out, int cross, const char *crl_url,
	     const char *aia_url)
{
	const char *what = cross ? "the cross-certificate" :
				   "the CA certificate";

	if (crl_url[0] == '\0')
		snprintf(out->warning, sizeof(out->warning),
			 "%s names no CRL distribution point%s: relying "
			 "parties that check revocation cannot check it, and "
			 "revoking it reaches none of them; sign it again with "
			 "--crl-url URL%s, where this root's CRL%s published",
			 what, aia_url[0] == '\0' ? " and no caIssuers URL" :
			 "", aia_url[0] == '\0' ? " and --aia-url URL" : "",
			 aia_url[0] == '\0' ? " and certificate are" : " is");
	else if (aia_url[0] == '\0')
		snprintf(out->warning, sizeof(out->warning),
			 "%s names no caIssuers URL: relying parties that "
			 "fetch issuers cannot find this root's certificate; "
			 "sign it again with --aia-url URL, where it is "
			 "published",
			 what);
}

int
ca_sign_ca(struct ca *ca, const struct ca_principal *p,
	   const struct ca_sign_ca_opts *o, struct ca_issued *out,
	   struct mica_err *err)
{
	struct careq *r = NULL;
	struct ca_csr csr;
	struct ca_cert_info other;
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect ex;
	struct ca_cacert_expect want;
	struct db_cert rec;
	struct subca_reserve_tx rx;
	struct subca_complete_tx cx;
	unsigned char serial[16], hash[32];
	unsigned char *tbs = NULL, *cert = NULL, *nc = NULL, *other_der = NULL;
	size_t tbs_len = 0, cert_len = 0, nc_len = 0, alg_len, i;
	const char *permit[CA_NC_PERMIT_MAX], *crl_from = "", *aia_from = "";
	char serial_hex[CA_SERIAL_MAX], subj[300], detail[400];
	/* The subject for the audit detail: shorter than SUBJ (which the
	 * store keeps), the validity after it; ca_name_text says "..." when
	 * it cuts. */
	char shown[256], until[CA_DATE_TEXT];
	char *names = NULL;
	size_t npermit = 0, names_len = 0;
	int64_t now = ca_now(), nb, na, other_na;
	int days, reserved = 0, clamped = 0, again = 0, rc = -1;
	struct mica_err e2;

	memset(out, 0, sizeof(*out));
	memset(&csr, 0, sizeof(csr));
	memset(&rec, 0, sizeof(rec));
	memset(&other, 0, sizeof(other));
	if (ca_require_admin(p, err) != 0 || ca_sign_ready(ca, err) != 0)
		return -1;
	if (!ca->sh->self_signed || ca->sh->nchain != 0)
		return mica_err_set(err, MICA_E_CONFLICT, "not_a_root",
				    "only a root signs CA certificates here; "
				    "this CA is itself issued by another");
	if (ca->sh->key == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "ca_locked",
				    "signing a CA certificate needs the key");
	if (o->days < 0 || o->days > CA_DAYS_MAX || o->path_len < -1 ||
	    o->path_len > 16 || o->npermit > CA_NC_PERMIT_MAX)
		return mica_err_set(err, MICA_E_USAGE, "bad_option",
				    "--days 1..%d, --path-len 0..16, at most "
				    "%d --permit", CA_DAYS_MAX,
				    CA_NC_PERMIT_MAX);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");

	/* Who is certified: a request (its proof of possession checked),
	 * or, cross-signing, another root's self-signed certificate. */
	if (o->csr != NULL) {
		if (ca_csr_load(o->csr, o->csr_len, &csr, err) != 0 ||
		    read_careq(csr.der, csr.der_len, r, err) != 0)
			goto out;
		ca_name_text(r->subject, r->subject_len, subj, sizeof(subj));
	} else if (o->cross && o->cert != NULL) {
		struct ca_der_blob *v = NULL;
		size_t n = 0;

		if (ca_certs_load(o->cert, o->cert_len, &v, &n, err) != 0)
			goto out;
		if (n != 1) {
			ca_blobs_free(v, n);
			mica_err_set(err, MICA_E_BADREQ, "bad_certificate",
				     "give the other root's certificate alone");
			goto out;
		}
		other_der = v[0].der;   /* OTHER points into it */
		v[0].der = NULL;
		if (ca_cert_info_read(other_der, v[0].len, &other, err) != 0) {
			ca_blobs_free(v, n);
			goto out;
		}
		ca_blobs_free(v, n);
		if (!(other.subject_len == other.issuer_len &&
		      memcmp(other.subject, other.issuer,
			     other.subject_len) == 0) ||
		    ca_cert_issued_by(&other, &other, &e2) != 0 ||
		    !other.is_ca) {
			mica_err_set(err, MICA_E_BADREQ, "not_a_root",
				     "the certificate to cross-sign must be "
				     "a self-signed CA certificate");
			goto out;
		}
		/* Its subject goes into a certificate of this root as it
		 * is: held to what a CA's request is held to. */
		if (careq_subject_ok(other.subject, other.subject_len,
				     "the root to cross-sign",
				     "bad_certificate", err) != 0)
			goto out;
		r->subject = other.subject;
		r->subject_len = other.subject_len;
		r->spki = other.spki;
		r->spki_len = other.spki_len;
		ca_name_text(r->subject, r->subject_len, subj, sizeof(subj));
	} else {
		mica_err_set(err, MICA_E_USAGE, "usage",
			     "give a request (--csr), or with --cross the "
			     "other root's certificate (--cert)");
		goto out;
	}
	/* Compared as relying parties compare names: a certificate whose
	 * subject they take for its issuer's is self-issued, and they do
	 * not count it against pathLenConstraint - a CA of this one's name
	 * in another case or spacing could sign CAs under its pathLen 0. */
	if (ca_name_match(r->subject, r->subject_len, ca->sh->subject,
			  ca->sh->subject_len) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "same_subject",
			     "the CA certified must have a name of its own: "
			     "relying parties take %s for this CA's name "
			     "(they compare names ignoring case and spacing)",
			     subj);
		goto out;
	}
	{
		size_t ol = 0;
		const unsigned char *own = ca_cert_der(ca, &ol);
		struct ca_cert_info me;

		if (ca_cert_info_read(own, ol, &me, err) != 0)
			goto out;
		if (me.spki_len == r->spki_len &&
		    memcmp(me.spki, r->spki, r->spki_len) == 0) {
			mica_err_set(err, MICA_E_BADREQ, "same_key",
				     "the CA certified must have a key of its "
				     "own");
			goto out;
		}
	}

	/* The name constraints: the root's operator decides (--permit),
	 * else what the request asks; an issuing CA without any could
	 * certify every name on the Internet for the devices trusting
	 * this root. */
	if (o->permit != NULL && o->npermit > 0) {
		for (i = 0; i < o->npermit; i++) {
			struct ca_name nm;
			struct ca_cidr c;
			struct mica_err ce;

			/* An address range (it has a '/'), else a domain. */
			if (strchr(o->permit[i], '/') != NULL) {
				if (ca_cidr_parse(o->permit[i], &c, &ce) != 0) {
					mica_err_set(err, MICA_E_USAGE,
						     "bad_range", "--permit %s",
						     ce.msg);
					goto out;
				}
				snprintf(r->permit[i], sizeof(r->permit[i]),
					 "%s", c.text);
				continue;
			}
			if (ca_name_parse(o->permit[i], 0, &nm, NULL) == 0 &&
			    nm.kind == CA_NAME_IP) {
				mica_err_set(err, MICA_E_USAGE, "bad_range",
					     "--permit %s: give an address "
					     "as a range of one, %s/%d",
					     nm.value, nm.value,
					     nm.ip_len == 4 ? 32 : 128);
				goto out;
			}
			if (ca_name_parse(o->permit[i], CA_NAME_DNS, &nm,
					  NULL) != 0 || nm.value[0] == '*') {
				mica_err_set(err, MICA_E_USAGE, "bad_domain",
					     "--permit %s is not a DNS domain "
					     "nor an address range (CIDR)",
					     o->permit[i]);
				goto out;
			}
			snprintf(r->permit[i], sizeof(r->permit[i]), "%s",
				 nm.value);
		}
		r->npermit = o->npermit;
		if (!has_domain(r->permit, r->npermit)) {
			mica_err_set(err, MICA_E_USAGE, "bad_domain",
				     "--permit needs a DNS domain too: address "
				     "ranges alone would leave every DNS name "
				     "open to the issuing CA");
			goto out;
		}
		if (o->cross && other.nc != NULL &&
		    cross_nc_keeps(other.nc, other.nc_len, r->permit,
				   r->npermit, err) != 0)
			goto out;
	} else if (o->cross) {
		r->npermit = 0;
		/* The other root's own constraints bind what it issues only
		 * for devices that trust it directly: through a
		 * cross-certificate without them, devices that trust this
		 * root would accept names it excluded for itself. mica
		 * writes permitted DNS and address subtrees only, so the
		 * admin names them. */
		if (other.nc != NULL) {
			mica_err_set(err, MICA_E_POLICY, "no_name_constraints",
				     "the root to cross-sign has name constraints "
				     "of its own, which the cross-certificate would "
				     "drop: give the domains it may certify with "
				     "--permit DOMAIN");
			goto out;
		}
	}
	/* The other root's other limits bind, likewise, only those who
	 * trust it directly, and mica's CA certificates carry none of them:
	 * refused rather than dropped (devices trusting this root would
	 * accept through the cross-certificate what that root refuses for
	 * itself). */
	if (o->cross && other.eku != NULL) {
		mica_err_set(err, MICA_E_POLICY, "cross_limits",
			     "the root to cross-sign limits the purposes of "
			     "what it certifies (extendedKeyUsage), which a "
			     "cross-certificate from mica cannot carry: devices "
			     "that trust this root would accept for any purpose "
			     "what that root allows for some only; not signed");
		goto out;
	}
	if (o->cross && (other.require_explicit >= 0 ||
			 other.inhibit_mapping >= 0 || other.inhibit_any)) {
		mica_err_set(err, MICA_E_POLICY, "cross_limits",
			     "the root to cross-sign constrains certificate "
			     "policies (policyConstraints or inhibitAnyPolicy), "
			     "which a cross-certificate from mica cannot carry: "
			     "devices that trust this root would not apply them; "
			     "not signed");
		goto out;
	}
	if (o->cross && other.has_ku &&
	    (other.key_usage & CA_KU_CRL_SIGN) == 0) {
		mica_err_set(err, MICA_E_POLICY, "cross_limits",
			     "the root to cross-sign may not sign CRLs (its "
			     "keyUsage has no cRLSign), which a "
			     "cross-certificate from mica always allows: devices "
			     "that trust this root would take CRLs that root "
			     "may not sign; not signed");
		goto out;
	}
	if (!o->cross && !has_domain(r->permit, r->npermit)) {
		mica_err_set(err, MICA_E_POLICY, "no_name_constraints",
			     "the request asks for no DNS name constraints: "
			     "give the domains the issuing CA may certify "
			     "with --permit DOMAIN (repeatable; address "
			     "ranges as --permit 10.0.0.0/8)");
		goto out;
	}
	for (i = 0; i < r->npermit; i++)
		permit[i] = r->permit[i];
	npermit = r->npermit;
	if (npermit > 0 &&
	    ca_x509_nc_value(permit, npermit, &nc, &nc_len, err) != 0)
		goto out;

	/* Validity: within this root's. */
	days = o->days > 0 ? o->days : SUBCA_DAYS;
	other_na = o->cross ? other.not_after : 0;
	subca_validity(ca, days, other_na, now, &nb, &na, &clamped);
	if (na <= now) {
		mica_err_set(err, MICA_E_CONFLICT, "expired",
			     "this root (or the one to cross-sign) has no "
			     "validity left");
		goto out;
	}

	/* Cut to URL_MAX, a URL would name another place. */
	if ((o->crl_url != NULL && strlen(o->crl_url) > URL_MAX) ||
	    (o->aia_url != NULL && strlen(o->aia_url) > URL_MAX)) {
		mica_err_set(err, MICA_E_USAGE, "bad_url",
			     "--crl-url and --aia-url are at most %d characters",
			     URL_MAX);
		goto out;
	}
	/* A file: or javascript: URL would be signed into a CA certificate
	 * for its life, and nobody fetches from it. */
	if ((o->crl_url != NULL && !fetch_url(o->crl_url)) ||
	    (o->aia_url != NULL && !fetch_url(o->aia_url))) {
		mica_err_set(err, MICA_E_USAGE, "bad_url",
			     "--crl-url and --aia-url must be http://, https:// "
			     "or ldap:// URLs (RFC 5280 4.2.1.13, 4.2.2.1)");
		goto out;
	}
	{
		char crl[URL_MAX + 1], aia[URL_MAX + 1];

		pick_url(o->crl_url, "--crl-url", ca->sh->public_url,
			 "/root.crl", r->crl_url, crl, &crl_from);
		pick_url(o->aia_url, "--aia-url", ca->sh->public_url,
			 "/root.crt", r->aia_url, aia, &aia_from);
		snprintf(r->crl_url, sizeof(r->crl_url), "%s", crl);
		snprintf(r->aia_url, sizeof(r->aia_url), "%s", aia);
	}

	if (ca_serial_new(serial, serial_hex, err) != 0)
		goto out;
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = ca_sign_alg(ca, &alg_len);
	t.sig_alg_len = alg_len;
	t.issuer = ca->sh->subject;
	t.issuer_len = ca->sh->subject_len;
	t.subject = r->subject;
	t.subject_len = r->subject_len;
	t.not_before = nb;
	t.not_after = na;
	t.spki = r->spki;
	t.spki_len = r->spki_len;
	t.is_ca = 1;
	t.path_len = o->path_len;
	/* Nor more CAs below the other root than it allows itself. */
	if (o->cross && other.path_len >= 0 &&
	    (t.path_len < 0 || t.path_len > other.path_len))
		t.path_len = other.path_len;
	t.key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN |
		      CA_KU_DIGITAL_SIGNATURE;
	/* Nor a use of its key it does not have (digitalSignature: OCSP
	 * responses signed by that key). */
	if (o->cross && other.has_ku &&
	    (other.key_usage & CA_KU_DIGITAL_SIGNATURE) == 0)
		t.key_usage &= ~CA_KU_DIGITAL_SIGNATURE;
	t.nc_permit = permit;
	t.nc_npermit = npermit;
	/* A cross-certificate carries the other root's own key identifier,
	 * so that what that root issued names it either way. */
	if (o->cross && o->cert != NULL) {
		memcpy(t.ski, other.ski, other.ski_len);
		t.ski_len = other.ski_len;
	} else if (ca_x509_key_id(r->spki, r->spki_len, t.ski, err) != 0) {
		goto out;
	} else {
		t.ski_len = 20;
	}
	t.has_aki = 1;
	memcpy(t.aki, ca->sh->ski, ca->sh->ski_len);
	t.aki_len = ca->sh->ski_len;
	t.crl_url = r->crl_url[0] != '\0' ? r->crl_url : NULL;
	t.aia_url = r->aia_url[0] != '\0' ? r->aia_url : NULL;
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, err) != 0)
		goto out;
	memset(&ex, 0, sizeof(ex));
	ex.issuer = ca->sh->subject;
	ex.issuer_len = ca->sh->subject_len;
	ex.issuer_not_before = ca->sh->not_before;
	ex.issuer_not_after = ca->sh->not_after;
	ex.is_ca = 1;
	ex.key_usage = t.key_usage;
	ex.aki = ca->sh->ski;
	ex.aki_len = ca->sh->ski_len;
	ex.has_path_len = t.path_len >= 0;
	ex.path_len = t.path_len;
	ex.nc = nc;
	ex.nc_len = nc_len;
	if (ca_lint_cert(tbs, tbs_len, &ex, err) != 0)
		goto out;

	/* The same request again (its answer lost): the certificate it got,
	 * not a second one for the same key. */
	ca_sha256(r->spki, r->spki_len, hash);
	if (subca_again(ca, &t, hash, o->cross ? "cross" : "subca", days,
			other_na, now, out, &again, err) != 0)
		goto out;
	if (again) {
		ca_name_text(r->subject, r->subject_len, shown, sizeof(shown));
		snprintf(detail, sizeof(detail), "%s %s, the same request "
			 "again: written again, not signed anew", o->cross ?
			 "cross-certificate for" : "CA certificate for", shown);
		memset(&cx, 0, sizeof(cx));
		cx.serial = out->serial;
		cx.actor = p->actor;
		cx.detail = detail;
		if (ca_tx(ca, CA_TX_DURABLE, subca_again_body, &cx, err) != 0)
			goto out;
		sign_notice(out, r->crl_url, crl_from, r->aia_url, aia_from);
		sign_warning(out, o->cross, r->crl_url, r->aia_url);
		rc = 0;
		goto out;
	}

	/* Record before signing, as for every certificate. */
	for (i = 0; i < npermit; i++)
		names_len += strlen(permit[i]) + 1;
	if ((names = calloc(1, names_len + 1)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
		goto out;
	}
	for (i = 0; i < npermit; i++) {
		strcat(names, permit[i]);
		if (i + 1 < npermit)
			strcat(names, "\n");
	}
	snprintf(rec.serial, sizeof(rec.serial), "%s", serial_hex);
	rec.profile = (char *)(o->cross ? "cross" : "subca");
	rec.subject = subj;
	rec.names = names;
	rec.not_before = t.not_before;
	rec.not_after = t.not_after;
	memcpy(rec.spki_sha256, hash, 32);
	rec.status = DB_CERT_ISSUING;
	rec.reason = -1;
	rec.created_at = now;
	rec.key_idx = ca->sh->key_idx;
	rx.rec = &rec;
	rx.spki = r->spki;
	rx.spki_len = r->spki_len;
	if (ca_tx(ca, CA_TX_DURABLE, subca_reserve_body, &rx, err) != 0)
		goto out;
	reserved = 1;

	memset(&want, 0, sizeof(want));
	want.subject = r->subject;
	want.subject_len = r->subject_len;
	want.spki = r->spki;
	want.spki_len = r->spki_len;
	want.path_len = t.path_len;
	want.nc = nc;
	want.nc_len = nc_len;
	want.max_days = days;
	if (ca_sign_cacert(ca, &want, tbs, tbs_len, &cert, &cert_len, err) != 0)
		goto out;
	ca_name_text(r->subject, r->subject_len, shown, sizeof(shown));
	ca_date_rfc3339(na, until);
	snprintf(detail, sizeof(detail), "%s %s, path length %d, %zu "
		 "permitted domain(s) and range(s), until %s", o->cross ?
		 "cross-certificate for" :
		 "CA certificate for", shown, t.path_len, npermit, until);
	cx.serial = serial_hex;
	cx.der = cert;
	cx.der_len = cert_len;
	cx.actor = p->actor;
	cx.detail = detail;
	cx.late = 0;
	if (ca_tx(ca, CA_TX_DURABLE, subca_complete_body, &cx, err) != 0)
		goto out;
	reserved = 0;
	/* Tests kill the command here: recorded, not yet written out. */
	MICA_TEST_GATE("MICA_TEST_SIGN_CA_GATE");
	if (cx.late) {
		mica_err_set(err, MICA_E_CONFLICT, "not_issuing",
			     "the certificate was revoked while it was being "
			     "signed; it is recorded as revoked");
		goto out;
	}

	snprintf(out->serial, sizeof(out->serial), "%s", serial_hex);
	out->status = CA_REQ_ISSUED;
	out->der = cert;
	out->der_len = cert_len;
	cert = NULL;
	out->not_before = t.not_before;
	out->not_after = t.not_after;
	out->clamped = clamped;
	sign_notice(out, r->crl_url, crl_from, r->aia_url, aia_from);
	sign_warning(out, o->cross, r->crl_url, r->aia_url);
	rc = 0;
out:
	if (reserved)
		ca_tx(ca, 0, subca_discard_body, serial_hex, &e2);
	if (cert != NULL)
		explicit_bzero(cert, cert_len);
	free(cert);
	free(tbs);
	free(nc);
	free(names);
	free(other_der);
	ca_csr_free(&csr);
	free(r);
	return rc;
}

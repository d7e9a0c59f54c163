/*
 * ca/signcheck.c - what the holder of a CA key agrees to sign (see
 * ca/signcheck.h). The rules here are the last line: they hold even when
 * everything that parsed network input before them is an attacker's.
 */
#include "ca/signcheck.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/cacert.h"
#include "ca/names.h"
#include "ca/ocsp.h"
#include "ca/profile.h"
#include "ca/scep.h"
#include "ca/x509.h"

#define DAY INT64_C(86400)

static int
refuse(struct mica_err *err, const char *rule)
{
	return mica_err_set(err, MICA_E_POLICY, "signer_refused",
			    "signer: %s", rule);
}

/* Keep the linter's rule, say the signer refused. */
static int
refuse_lint(struct mica_err *err, const struct mica_err *lerr)
{
	const char *m = lerr->msg;

	if (strncmp(m, "lint: ", 6) == 0)
		m += 6;
	return mica_err_set(err, MICA_E_POLICY, "signer_refused",
			    "signer: %s", m);
}

/* The name's canonical text (for IP names, from its octets). */
static int
canonical(const struct ca_name *raw, struct ca_name *out)
{
	char text[INET6_ADDRSTRLEN];

	if (raw->kind == CA_NAME_IP) {
		if (inet_ntop(raw->ip_len == 4 ? AF_INET : AF_INET6, raw->ip,
			      text, sizeof(text)) == NULL)
			return -1;
		/* As stored: a renewal carries the names an earlier mica
		 * certified, an IPv4-mapped address among them, which only
		 * new names refuse (the policy has said so already). */
		return ca_name_parse(text, CA_NAME_IP | CA_NAME_STORED, out,
				     NULL);
	}
	if (ca_name_parse(raw->value, raw->kind, out, NULL) != 0)
		return -1;
	/* Written exactly as mica writes it, or it is not ours. */
	return strcmp(out->value, raw->value) == 0 ? 0 : -1;
}

static int
name_allowed(const struct ca_sign_policy *p, const struct ca_name *n)
{
	size_t i;

	if (n->kind == CA_NAME_IP)
		return 1;   /* domains say nothing about addresses */
	if (p->ndomains == 0)
		return 1;
	for (i = 0; i < p->ndomains; i++)
		if (p->domains[i] != NULL && ca_name_in_domain(n, p->domains[i]))
			return 1;
	return 0;
}

/* The profile whose extended key usages and key usage this is, or NULL. */
static const struct ca_profile *
find_profile(unsigned eku, unsigned ku)
{
	const struct ca_profile *prof;
	size_t n, i;

	prof = ca_profiles(&n);
	for (i = 0; i < n; i++)
		if (prof[i].eku == eku &&
		    (ku == prof[i].ku_rsa || ku == prof[i].ku_ec))
			return &prof[i];
	return NULL;
}

/* Read TBS, a certificate to be signed, into a new *FP (the caller frees
 * it, also on failure) and check what all this CA signs shares: the CA
 * key's signature algorithm, this CA as issuer, this CA's key as
 * authorityKeyIdentifier. */
static int
read_ours(const struct ca_sign_policy *p, const unsigned char *tbs,
	  size_t tbs_len, struct ca_cert_facts **fp, struct mica_err *err)
{
	struct ca_cert_facts *f;
	struct mica_err lerr;

	if ((*fp = f = malloc(sizeof(*f))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	if (ca_lint_cert_read(tbs, tbs_len, f, &lerr) != 0)
		return refuse_lint(err, &lerr);
	if (f->sig_alg_len != p->sig_alg_len ||
	    memcmp(f->sig_alg, p->sig_alg, p->sig_alg_len) != 0)
		return refuse(err, "signature algorithm is not the CA key's");
	if (f->issuer_len != p->subject_len ||
	    memcmp(f->issuer, p->subject, p->subject_len) != 0)
		return refuse(err, "issuer is not this CA");
	if (f->aki == NULL || f->aki_len != p->ski_len ||
	    memcmp(f->aki, p->ski, p->ski_len) != 0)
		return refuse(err, "authorityKeyIdentifier is not this CA's key");
	return 0;
}

int
ca_signcheck_leaf(const struct ca_sign_policy *p, int64_t now,
		  const unsigned char *tbs, size_t tbs_len,
		  struct mica_err *err)
{
	struct ca_cert_facts *f = NULL;
	struct ca_lint_cert_expect e;
	const struct ca_profile *prof;
	struct mica_err lerr;
	unsigned char *cn = NULL;
	size_t cn_len = 0, i;
	int rc = -1;

	if (p == NULL || p->subject == NULL || p->sig_alg == NULL ||
	    p->ski_len == 0 || p->ski_len > sizeof(p->ski))
		return refuse(err, "no policy");
	if (read_ours(p, tbs, tbs_len, &f, err) != 0)
		goto out;
	if (f->is_ca) {
		refuse(err, "a CA certificate (basicConstraints cA TRUE)");
		goto out;
	}
	if (f->key_usage & (CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN)) {
		refuse(err, "keyUsage keyCertSign or cRLSign in a leaf");
		goto out;
	}
	if (f->nc != NULL) {
		refuse(err, "nameConstraints in a leaf");
		goto out;
	}

	/* Validity: inside the CA's, of a bounded length, starting near
	 * now (no back-dated or post-dated certificates). */
	if (f->not_before < p->not_before || f->not_after > p->not_after) {
		refuse(err, "validity outside the CA's");
		goto out;
	}
	if (f->not_after - f->not_before >
	    CA_SIGN_LEAF_MAX_DAYS * DAY + CA_SIGN_CLOCK_SLACK) {
		refuse(err, "validity longer than the longest profile allows");
		goto out;
	}
	if (f->not_before < now - CA_SIGN_CLOCK_SLACK ||
	    f->not_before > now + CA_SIGN_CLOCK_SLACK) {
		refuse(err, "notBefore too far from now");
		goto out;
	}

	if ((prof = find_profile(f->eku, f->key_usage)) == NULL) {
		refuse(err, "key usages of no known profile");
		goto out;
	}
	if (f->nnames == 0) {
		refuse(err, "no subjectAltName");
		goto out;
	}
	for (i = 0; i < f->nnames; i++) {
		struct ca_name c;
		char rule[sizeof(c.value) + 64];

		if (f->names[i].kind == CA_NAME_DNS &&
		    strcmp(f->names[i].value, "localhost") == 0) {
			/* The daemon's own TLS certificate names it. */
			continue;
		}
		if (canonical(&f->names[i], &c) != 0) {
			refuse(err, "a subjectAltName is not a canonical name");
			goto out;
		}
		if (((unsigned)c.kind & prof->name_kinds) == 0) {
			refuse(err, "a name kind the profile does not issue");
			goto out;
		}
		if (!name_allowed(p, &c)) {
			snprintf(rule, sizeof(rule), "%s is outside the "
				 "allowed domains", c.value);
			refuse(err, rule);
			goto out;
		}
		if (i == 0)
			f->names[0] = c;   /* the IP's text, for the CN below */
	}

	/* Subject: empty, or CN = the first name, exactly as mica writes it
	 * (ca/x509.c; a UPN without its "upn:"), so no other attribute can
	 * smuggle in a name. */
	if (!(f->subject_len == 2 && f->subject[0] == 0x30 &&
	      f->subject[1] == 0x00)) {
		const char *first = ca_name_bare(&f->names[0]);

		if (strlen(first) > 64 ||
		    ca_x509_name(first, NULL, &cn, &cn_len, NULL) != 0 ||
		    cn_len != f->subject_len ||
		    memcmp(cn, f->subject, cn_len) != 0) {
			refuse(err, "subject is not the first name");
			goto out;
		}
	}

	/* Everything else RFC 5280 asks, with what was read as expectations
	 * (names[0] now canonical: the same octets, the same text). */
	memset(&e, 0, sizeof(e));
	e.issuer = p->subject;
	e.issuer_len = p->subject_len;
	e.issuer_not_before = p->not_before;
	e.issuer_not_after = p->not_after;
	e.is_ca = 0;
	e.key_usage = f->key_usage;
	e.eku = f->eku;
	e.names = f->names;
	e.nnames = f->nnames;
	e.aki = p->ski;
	e.aki_len = p->ski_len;
	/* Relying parties hold DNS names, mailboxes and addresses to the
	 * CA certificate's name constraints, but no UPN (mica writes no
	 * otherName subtree): only this check keeps a UPN of another
	 * domain out of a constrained CA's certificates. */
	e.issuer_nc = p->nc;
	if (ca_lint_cert(tbs, tbs_len, &e, &lerr) != 0) {
		refuse_lint(err, &lerr);
		goto out;
	}
	rc = 0;
out:
	free(cn);
	free(f);
	return rc;
}

int
ca_signcheck_crl(const struct ca_sign_policy *p, int64_t now,
		 const unsigned char *tbs, size_t tbs_len, uint64_t *number,
		 struct mica_err *err)
{
	struct ca_crl_facts f;
	struct mica_err lerr;

	if (p == NULL || p->subject == NULL || p->sig_alg == NULL ||
	    p->ski_len == 0 || p->ski_len > sizeof(p->ski))
		return refuse(err, "no policy");
	if (ca_lint_crl_read(tbs, tbs_len, p->subject, p->subject_len, &f,
			     &lerr) != 0)
		return refuse_lint(err, &lerr);
	if (f.sig_alg_len != p->sig_alg_len ||
	    memcmp(f.sig_alg, p->sig_alg, p->sig_alg_len) != 0)
		return refuse(err, "signature algorithm is not the CA key's");
	if (f.aki_len != p->ski_len || memcmp(f.aki, p->ski, p->ski_len) != 0)
		return refuse(err, "authorityKeyIdentifier is not this CA's key");
	if (f.this_update < now - CA_SIGN_CLOCK_SLACK ||
	    f.this_update > now + CA_SIGN_CLOCK_SLACK)
		return refuse(err, "thisUpdate too far from now");
	if (f.next_update - f.this_update > CA_SIGN_CRL_MAX_DAYS * DAY)
		return refuse(err, "CRL period too long");
	if (f.number == UINT64_MAX)
		return refuse(err, "cRLNumber too large");
	if (number != NULL)
		*number = f.number;
	return 0;
}

int
ca_signcheck_cacert(const struct ca_sign_policy *p,
		    const struct ca_cacert_expect *x, int64_t now,
		    const unsigned char *tbs, size_t tbs_len,
		    struct mica_err *err)
{
	struct ca_cert_facts *f = NULL;
	struct ca_lint_cert_expect e;
	struct mica_err lerr;
	const unsigned ku_need = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN;
	int rc = -1;

	if (p == NULL || p->subject == NULL || p->sig_alg == NULL ||
	    p->ski_len == 0 || p->ski_len > sizeof(p->ski) || x == NULL ||
	    x->subject == NULL || x->spki == NULL || x->max_days <= 0)
		return refuse(err, "no policy");
	if (read_ours(p, tbs, tbs_len, &f, err) != 0)
		goto out;
	if (!f->is_ca) {
		refuse(err, "not a CA certificate");
		goto out;
	}
	if ((f->key_usage & ku_need) != ku_need ||
	    (f->key_usage & ~(ku_need | CA_KU_DIGITAL_SIGNATURE)) != 0) {
		refuse(err, "keyUsage of a CA certificate is keyCertSign and "
		       "cRLSign");
		goto out;
	}
	if (f->eku != 0 || f->nnames != 0) {
		refuse(err, "extendedKeyUsage or subjectAltName in a CA "
		       "certificate");
		goto out;
	}
	if (f->path_len != x->path_len) {
		refuse(err, "pathLenConstraint is not the one requested");
		goto out;
	}
	if ((f->nc == NULL) != (x->nc == NULL) ||
	    (f->nc != NULL && (!f->nc_critical || f->nc_len != x->nc_len ||
			       memcmp(f->nc, x->nc, x->nc_len) != 0))) {
		refuse(err, "nameConstraints are not the ones requested");
		goto out;
	}
	if (f->subject_len != x->subject_len ||
	    memcmp(f->subject, x->subject, x->subject_len) != 0 ||
	    f->spki_len != x->spki_len ||
	    memcmp(f->spki, x->spki, x->spki_len) != 0) {
		refuse(err, "subject or key is not the one requested");
		goto out;
	}
	/* Self-issued to relying parties (RFC 5280 7.1 matching), it
	 * would escape the pathLenConstraint it carries. */
	if (ca_name_match(f->subject, f->subject_len, p->subject,
			  p->subject_len) != 0) {
		refuse(err, "the subject is the issuer's name");
		goto out;
	}
	if (f->ski == NULL) {
		refuse(err, "no subjectKeyIdentifier");
		goto out;
	}
	if (f->not_before < p->not_before || f->not_after > p->not_after) {
		refuse(err, "validity outside the CA's");
		goto out;
	}
	if (f->not_after - f->not_before >
	    x->max_days * DAY + CA_SIGN_CLOCK_SLACK) {
		refuse(err, "validity longer than requested");
		goto out;
	}
	if (f->not_before < now - CA_SIGN_CLOCK_SLACK ||
	    f->not_before > now + CA_SIGN_CLOCK_SLACK) {
		refuse(err, "notBefore too far from now");
		goto out;
	}
	memset(&e, 0, sizeof(e));
	e.issuer = p->subject;
	e.issuer_len = p->subject_len;
	e.issuer_not_before = p->not_before;
	e.issuer_not_after = p->not_after;
	e.is_ca = 1;
	e.key_usage = f->key_usage;
	e.aki = p->ski;
	e.aki_len = p->ski_len;
	e.has_path_len = x->path_len >= 0;
	e.path_len = x->path_len;
	e.nc = x->nc;
	e.nc_len = x->nc_len;
	if (ca_lint_cert(tbs, tbs_len, &e, &lerr) != 0) {
		refuse_lint(err, &lerr);
		goto out;
	}
	rc = 0;
out:
	free(f);
	return rc;
}

/* The certificate of a key the signers made for a service (the OCSP
 * responder's, SCEP's RA): for exactly that SPKI, subject CN CN, no CA, no
 * names, the key usages KU and EKU (and ocsp-nocheck when NOCHECK), this
 * CA's key identifier, at most DAYS long, starting near NOW. */
static int
service_cert(const struct ca_sign_policy *p, const unsigned char *spki,
	     size_t spki_len, const char *cn_text, unsigned ku, unsigned eku,
	     int nocheck, int64_t days, const char *what, int64_t now,
	     const unsigned char *tbs, size_t tbs_len, struct mica_err *err)
{
	struct ca_cert_facts *f = NULL;
	struct ca_lint_cert_expect e;
	struct mica_err lerr;
	unsigned char *cn = NULL;
	size_t cn_len = 0;
	int rc = -1;

	if (p == NULL || p->subject == NULL || p->sig_alg == NULL ||
	    p->ski_len == 0 || p->ski_len > sizeof(p->ski) || spki == NULL)
		return refuse(err, "no policy");
	if ((f = malloc(sizeof(*f))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	if (ca_lint_cert_read(tbs, tbs_len, f, &lerr) != 0) {
		refuse_lint(err, &lerr);
		goto out;
	}
	if (f->sig_alg_len != p->sig_alg_len ||
	    memcmp(f->sig_alg, p->sig_alg, p->sig_alg_len) != 0) {
		refuse(err, "signature algorithm is not the CA key's");
		goto out;
	}
	if (f->issuer_len != p->subject_len ||
	    memcmp(f->issuer, p->subject, p->subject_len) != 0) {
		refuse(err, "issuer is not this CA");
		goto out;
	}
	if (f->spki_len != spki_len || memcmp(f->spki, spki, spki_len) != 0) {
		refuse(err, what);
		goto out;
	}
	if (ca_x509_name(cn_text, NULL, &cn, &cn_len, NULL) != 0 ||
	    f->subject_len != cn_len || memcmp(f->subject, cn, cn_len) != 0) {
		refuse(err, "a service certificate's subject is not mica's");
		goto out;
	}
	if (f->is_ca || f->key_usage != ku || f->eku != eku ||
	    f->ocsp_nocheck != nocheck || f->nnames != 0 || f->has_aia ||
	    f->nc != NULL) {
		refuse(err, "a service certificate has its key usages and "
		       "nothing else");
		goto out;
	}
	if (f->aki == NULL || f->aki_len != p->ski_len ||
	    memcmp(f->aki, p->ski, p->ski_len) != 0) {
		refuse(err, "authorityKeyIdentifier is not this CA's key");
		goto out;
	}
	if (f->not_before < p->not_before || f->not_after > p->not_after) {
		refuse(err, "validity outside the CA's");
		goto out;
	}
	if (f->not_after - f->not_before > days * DAY) {
		refuse(err, "a service certificate lives too long");
		goto out;
	}
	if (f->not_before < now - CA_SIGN_CLOCK_SLACK ||
	    f->not_before > now + CA_SIGN_CLOCK_SLACK) {
		refuse(err, "notBefore too far from now");
		goto out;
	}
	memset(&e, 0, sizeof(e));
	e.issuer = p->subject;
	e.issuer_len = p->subject_len;
	e.issuer_not_before = p->not_before;
	e.issuer_not_after = p->not_after;
	e.key_usage = ku;
	e.eku = eku;
	e.service = 1;
	e.aki = p->ski;
	e.aki_len = p->ski_len;
	if (ca_lint_cert(tbs, tbs_len, &e, &lerr) != 0) {
		refuse_lint(err, &lerr);
		goto out;
	}
	rc = 0;
out:
	free(cn);
	free(f);
	return rc;
}

int
ca_signcheck_ocsp_cert(const struct ca_sign_policy *p,
		       const unsigned char *spki, size_t spki_len, int64_t now,
		       const unsigned char *tbs, size_t tbs_len,
		       struct mica_err *err)
{
	return service_cert(p, spki, spki_len, CA_OCSP_SUBJECT_CN,
			    CA_KU_DIGITAL_SIGNATURE, CA_EKU_OCSP_SIGNING, 1,
			    CA_OCSP_CERT_DAYS,
			    "an OCSP responder certificate for another key",
			    now, tbs, tbs_len, err);
}

int
ca_signcheck_scep_cert(const struct ca_sign_policy *p,
		       const unsigned char *spki, size_t spki_len, int64_t now,
		       const unsigned char *tbs, size_t tbs_len,
		       struct mica_err *err)
{
	return service_cert(p, spki, spki_len, CA_SCEP_RA_CN,
			    CA_KU_DIGITAL_SIGNATURE | CA_KU_KEY_ENCIPHERMENT,
			    CA_EKU_CERT_REQUEST_AGENT, 0, CA_SCEP_RA_DAYS,
			    "an RA certificate for another key", now, tbs,
			    tbs_len, err);
}

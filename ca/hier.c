/*
 * ca/hier.c - this CA in a hierarchy: installing the certificate a CA
 * above issued to it (an issuing CA awaiting its first, a renewal with or
 * without a new key), the request for its next one, its chain, and the
 * root's CRL imported while the root stays offline.
 *
 * A certificate from above is checked as a relying party would check the
 * chain it starts (RFC 5280 6.1, the parts a CA can judge): every issuer
 * named and its signature verified, each a CA allowed to sign
 * certificates, valid now, path lengths respected, up to a self-signed
 * root that the admin gave. Only then does it replace anything.
 */
#include "ca/ca.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/cacert.h"
#include "ca/der.h"
#include "ca/p7.h"
#include "ca/sign.h"
#include "ca/x509.h"
#include "util/clock.h"
#include "util/fault.h"

/* How far ahead of this machine's clock a CA certificate's notBefore or
 * a root CRL's thisUpdate may be: relying parties (OpenSSL, GnuTLS, NSS)
 * allow none, and refuse what a not-yet-valid CA signs and a CRL not yet
 * valid (with it, every certificate under the root) until then. */
#define CLOCK_AHEAD  (5 * 60)

/* "2026-12-07 09:00 UTC (3 h 20 min from now)" for AT, ahead of NOW. */
static void
ahead_text(int64_t at, int64_t now, char *out, size_t size)
{
	char date[CA_DATE_TEXT];
	int64_t min = (at - now + 59) / 60;

	ca_date_text(at, date);
	if (min >= 60)
		snprintf(out, size, "%s (%lld h %lld min from now)", date,
			 (long long)(min / 60), (long long)(min % 60));
	else
		snprintf(out, size, "%s (%lld min from now)", date, (long long)min);
}
#define POOL_MAX     (2 * CA_BUNDLE_MAX + CA_CHAIN_MAX)

static int
oom(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			    "out of memory");
}

static int
same_name(const unsigned char *a, size_t al, const unsigned char *b,
	  size_t bl)
{
	return al == bl && memcmp(a, b, al) == 0;
}

static int
self_issued(const struct ca_cert_info *c)
{
	return same_name(c->subject, c->subject_len, c->issuer, c->issuer_len);
}

static int key_condemned_refused(struct ca *ca, const char *advice,
				 struct mica_err *err);

/* ------------------------------------------------------------ chain -- */

int
ca_chain_p7b(struct ca *ca, unsigned char **out, size_t *len,
	     struct mica_err *err)
{
	struct ca_p7_cert c[CA_P7_CERTS_MAX];
	size_t n = ca_chain_count(ca);

	*out = NULL;
	*len = 0;
	if (n == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "awaiting_certificate",
				    "this CA has no certificate yet");
	/* Never a chain cut short, which a relying party would take for
	 * the whole one (the chain's own bound keeps it well under). */
	if (n > CA_P7_CERTS_MAX)
		return mica_err_set(err, MICA_E_INTERNAL, "chain_too_long",
				    "the chain has %zu certificates, a .p7b at most %d",
				    n, CA_P7_CERTS_MAX);
	for (size_t i = 0; i < n; i++)
		c[i].der = ca_chain_der(ca, i, &c[i].len);
	return ca_p7_encode(c, n, out, len, err);
}

int
ca_bundle(struct ca *ca, const unsigned char *der, size_t der_len,
	  int key_idx, int form, unsigned char **out, size_t *out_len,
	  struct mica_err *err)
{
	struct ca_p7_cert c[CA_P7_CERTS_MAX];
	struct ca_der_blob *above = NULL;
	const char *chain = ca_key_chain_pem(ca, key_idx);
	char *leaf = NULL;
	size_t n = 0, ll, cl;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	assert(form == CA_BUNDLE_PEM || form == CA_BUNDLE_P7B);
	if (der == NULL || der_len == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "not_issued",
				    "no certificate bytes");
	/* A handle opened before a rollover made elsewhere knows no chain
	 * for the new key: none rather than a wrong one (restarted, it
	 * does). */
	if (chain == NULL || *chain == '\0')
		return mica_err_set(err, MICA_E_UNAVAIL, "chain_unavailable",
				    "the chain of the CA key that signed this "
				    "certificate is not loaded (a key rollover "
				    "after 'mica serve' started: restart it)");
	if (form == CA_BUNDLE_PEM) {
		if (ca_pem_encode("CERTIFICATE", der, der_len, &leaf, err) != 0)
			goto out;
		ll = strlen(leaf);
		cl = strlen(chain);
		if ((*out = malloc(ll + cl + 1)) == NULL) {
			oom(err);
			goto out;
		}
		memcpy(*out, leaf, ll);
		memcpy(*out + ll, chain, cl + 1);
		*out_len = ll + cl;
		rc = 0;
		goto out;
	}
	if (ca_certs_load((const unsigned char *)chain, strlen(chain), &above,
			  &n, err) != 0)
		goto out;
	if (n + 1 > CA_P7_CERTS_MAX) {
		mica_err_set(err, MICA_E_INTERNAL, "chain_too_long",
			     "%zu certificates do not fit one PKCS#7 message",
			     n + 1);
		goto out;
	}
	c[0].der = der;
	c[0].len = der_len;
	for (size_t i = 0; i < n; i++) {
		c[i + 1].der = above[i].der;
		c[i + 1].len = above[i].len;
	}
	rc = ca_p7_encode(c, n + 1, out, out_len, err);
out:
	free(leaf);
	ca_blobs_free(above, n);
	return rc;
}

/* ------------------------------------------------------- install-ca -- */

/* The certificates an install works with: parsed, each with its source
 * (the --cert file, the --chain file, or the chain already installed). */
enum { FROM_CERT = 1, FROM_CHAIN = 2, FROM_STORE = 3 };
struct pooled {
	struct ca_cert_info ci;
	int from;
	int used;            /* on the path, or kept as a cross-certificate */
};

struct pool {
	struct pooled c[POOL_MAX];
	size_t n;
};

static int
pool_add(struct pool *p, const unsigned char *der, size_t len, int from,
	 struct mica_err *err)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].ci.der_len == len &&
		    memcmp(p->c[i].ci.der, der, len) == 0) {
			/* Given twice (a .p7b carrying the root, and the root
			 * with --chain): the admin vouched for it. */
			if (from == FROM_CHAIN)
				p->c[i].from = FROM_CHAIN;
			return 0;
		}
	if (p->n == POOL_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_certificate",
				    "too many certificates");
	memset(&p->c[p->n], 0, sizeof(p->c[p->n]));
	if (ca_cert_info_read(der, len, &p->c[p->n].ci, err) != 0)
		return -1;
	p->c[p->n].from = from;
	p->n++;
	return 0;
}

/* Is C a certificate that may sign certificates, valid at NOW? */
static int
can_sign_certs(const struct ca_cert_info *c, int64_t now, const char *what,
	       struct mica_err *err)
{
	char name[160];

	ca_name_text(c->subject, c->subject_len, name, sizeof(name));
	/* A version 1 certificate can only be a trust anchor (RFC 5280
	 * 6.1.4 (k)): the self-signed root. */
	if (!c->is_ca && !(c->version == 1 && self_issued(c)))
		return mica_err_set(err, MICA_E_BADREQ, "not_a_ca",
				    "%s (%s) is not a CA certificate "
				    "(basicConstraints cA)", what, name);
	if (c->has_ku && (c->key_usage & CA_KU_KEY_CERT_SIGN) == 0)
		return mica_err_set(err, MICA_E_BADREQ, "not_a_ca",
				    "%s (%s) may not sign certificates "
				    "(keyUsage without keyCertSign)", what, name);
	if (c->not_after <= now)
		return mica_err_set(err, MICA_E_BADREQ, "expired",
				    "%s (%s) has expired", what, name);
	if (c->not_before > now + CLOCK_AHEAD) {
		char when[96];

		ahead_text(c->not_before, now, when, sizeof(when));
		return mica_err_set(err, MICA_E_BADREQ, "not_yet_valid",
				    "%s (%s) is not valid until %s: relying "
				    "parties refuse what it signs until then; "
				    "check the clocks of the machine that signed "
				    "it and of this one, or install it then",
				    what, name, when);
	}
	return 0;
}

/*
 * The path from P->c[LEAF] up to a self-signed root given by the admin
 * (FROM_CHAIN, or the installed chain for a renewal): *PATH the pool
 * indexes, leaf first. At each step the issuer is a pooled certificate
 * whose subject is the issuer's name and whose key verifies the
 * signature. Of several, one that may sign certificates now comes first
 * (an earlier issuance of the same name and key, expired, is often given
 * beside the current one, and relying parties build past it), then a
 * self-signed one, which ends the path (a root before a cross-certificate
 * of it), then the one that ends last; with none valid, the one so
 * chosen of the others is refused for what is wrong with it.
 */
static int
build_path(struct pool *p, size_t leaf, int64_t now, size_t path[CA_CHAIN_MAX + 1],
	   size_t *npath, struct mica_err *err)
{
	size_t cur = leaf, below = 0;

	*npath = 0;
	path[(*npath)++] = leaf;
	p->c[leaf].used = 1;
	for (;;) {
		const struct ca_cert_info *c = &p->c[cur].ci;
		size_t best = SIZE_MAX, i;
		struct mica_err e2, why;
		int have_why = 0, best_ok = 0, best_ends = 0;
		char name[160];

		/* RFC 5280 6.1.4 (l): the CA certificates below the next
		 * issuer, self-issued ones not counted (this CA's own
		 * counts: it issues certificates). */
		if (!self_issued(c))
			below++;
		for (i = 0; i < p->n; i++) {
			const struct ca_cert_info *u = &p->c[i].ci;

			if (i == cur || p->c[i].used ||
			    !same_name(c->issuer, c->issuer_len, u->subject,
				       u->subject_len))
				continue;
			if (ca_cert_issued_by(c, u, &e2) != 0) {
				/* The issuer's certificate was given but does
				 * not serve (an algorithm mica cannot verify,
				 * another key of the same name): say so, not
				 * that it is missing. */
				why = e2;
				have_why = 1;
				continue;
			}
			{
				int ok = can_sign_certs(u, now, "", NULL) == 0;
				int ends = self_issued(u) &&
					   p->c[i].from != FROM_CERT;

				if (best == SIZE_MAX || ok > best_ok ||
				    (ok == best_ok && (ends > best_ends ||
				     (ends == best_ends && u->not_after >
				      p->c[best].ci.not_after)))) {
					best = i;
					best_ok = ok;
					best_ends = ends;
				}
			}
		}
		if (best == SIZE_MAX) {
			ca_name_text(c->issuer, c->issuer_len, name,
				     sizeof(name));
			if (have_why)
				return mica_err_set(err, why.kind, why.code,
						    "the certificate given for "
						    "%s does not verify the "
						    "chain's certificate: %s",
						    name, why.msg);
			/* The issuer given, its name written otherwise (a
			 * UTF8String for the BMPString it has): OpenSSL
			 * matches them (RFC 5280 7.1), GnuTLS and mica,
			 * which copies the name into what it issues, do
			 * not. */
			for (i = 0; i < p->n; i++)
				if (i != cur &&
				    ca_name_match(c->issuer, c->issuer_len,
						  p->c[i].ci.subject,
						  p->c[i].ci.subject_len) == 1)
					return mica_err_set(err, MICA_E_BADREQ,
						"chain_incomplete", "the "
						"certificate's issuer name, %s, "
						"is that of a certificate given, "
						"written otherwise (other string "
						"types): relying parties that "
						"compare names octet for octet "
						"(GnuTLS) would not chain them. "
						"Have it signed with the issuer's "
						"name as the issuer's certificate "
						"has it", name);
			return mica_err_set(err, MICA_E_BADREQ,
					    "chain_incomplete",
					    "no certificate given for %s, which "
					    "signed the chain's certificate: give "
					    "the chain up to the root with "
					    "--chain", name);
		}
		if (*npath == CA_CHAIN_MAX + 1)
			return mica_err_set(err, MICA_E_BADREQ,
					    "chain_incomplete",
					    "the chain is longer than %d "
					    "certificates", CA_CHAIN_MAX);
		if (can_sign_certs(&p->c[best].ci, now, "a CA of the chain",
				   err) != 0)
			return -1;
		/* RFC 5280 6.1.4 (o): a relying party refuses a path with a
		 * critical extension it does not know - everything this CA
		 * would issue. */
		if (p->c[best].ci.unknown_critical) {
			ca_name_text(p->c[best].ci.subject,
				     p->c[best].ci.subject_len, name, sizeof(name));
			return mica_err_set(err, MICA_E_UNSUPPORTED,
					    "unsupported_extension",
					    "a CA of the chain (%s) has a critical "
					    "extension mica does not know: relying "
					    "parties would refuse what this CA "
					    "issues", name);
		}
		/* 6.1.4 (m): no more below it than it allows. */
		if (p->c[best].ci.path_len >= 0 &&
		    below > (size_t)p->c[best].ci.path_len) {
			ca_name_text(p->c[best].ci.subject,
				     p->c[best].ci.subject_len, name, sizeof(name));
			return mica_err_set(err, MICA_E_BADREQ, "path_too_long",
					    "%s allows %d CA(s) below it "
					    "(pathLenConstraint), and the "
					    "path puts %zu there, this CA "
					    "included", name,
					    p->c[best].ci.path_len, below);
		}
		p->c[best].used = 1;
		path[(*npath)++] = best;
		if (self_issued(&p->c[best].ci)) {
			if (p->c[best].from == FROM_CERT)
				return mica_err_set(err, MICA_E_BADREQ,
						    "root_not_given",
						    "the root must come with "
						    "--chain (the root you "
						    "trust), not with the "
						    "certificate");
			return 0;
		}
		cur = best;
	}
}

/*
 * RFC 5280 6.1's explicit_policy, for the path PATH (NPATH, this CA's
 * certificate first) and a leaf of this CA's: a CA whose policyConstraints
 * says requireExplicitPolicy SkipCerts sets it to SkipCerts, each
 * certificate below it that is not self-issued takes one off (6.1.4 (h)),
 * and so does the leaf (6.1.5 (a)); at 0 the path needs a policy in every
 * certificate (6.1.5 (g)). mica's leaves carry no certificatePolicies:
 * relying parties then refuse every one of them. The root counts too:
 * Chromium and GnuTLS process a trust anchor's constraints as a
 * certificate of the path (RFC 5280 leaves that to them), and it is the
 * organisation's root that mica hands out. Whatever the other policy
 * extensions say (certificatePolicies, policyMappings,
 * inhibitPolicyMapping, inhibitAnyPolicy) matters to leaves without a
 * policy only once one is required: the valid policy tree is empty at
 * such a leaf anyway.
 */
static int
explicit_policy_check(const struct pool *p, const size_t *path, size_t npath,
		      struct mica_err *err)
{
	size_t below = 1;        /* the leaf */
	char name[160];

	for (size_t k = 0; k < npath; k++) {
		const struct ca_cert_info *c = &p->c[path[k]].ci;

		if (k > 0 && !self_issued(&p->c[path[k - 1]].ci))
			below++;
		if (c->require_explicit < 0 ||
		    (size_t)c->require_explicit > below)
			continue;
		ca_name_text(c->subject, c->subject_len, name, sizeof(name));
		return mica_err_set(err, MICA_E_BADREQ, "explicit_policy",
				    "%s (%s) requires a certificate policy of "
				    "this CA's leaves (policyConstraints "
				    "requireExplicitPolicy %d), and mica's "
				    "carry no certificatePolicies: relying "
				    "parties would refuse every one",
				    k == 0 ? "the certificate" :
				    "a CA of the chain", name,
				    c->require_explicit);
	}
	return 0;
}

/* The key an installed certificate is for. */
enum install_mode { FOR_AWAITING = 1, FOR_SAME_KEY, FOR_NEW_KEY };

struct install_tx {
	struct ca *ca;
	const struct ca_principal *p;
	enum install_mode mode;
	const unsigned char *cert; size_t cert_len;
	unsigned char *chain; size_t chain_len;   /* NULL for none */
	unsigned char mac[32];                    /* the new key's seal on
						   * the allowed domains */
	char detail[256];
};

static int
install_body(struct db *db, void *arg, struct mica_err *err)
{
	struct install_tx *x = arg;
	struct db_ca row;
	struct db_ca_key *keys = NULL, *pending = NULL, retired;
	size_t nkeys = 0;
	int rc = -1;

	memset(&row, 0, sizeof(row));
	if (db_ca_get(db, &row, err) != 0 ||
	    db_ca_key_list(db, &keys, &nkeys, err) != 0)
		goto out;
	for (size_t i = 0; i < nkeys; i++)
		if (keys[i].role == DB_KEY_PENDING)
			pending = &keys[i];
	if (x->mode == FOR_NEW_KEY) {
		if (pending == NULL || row.state != DB_CA_ACTIVE) {
			mica_err_set(err, MICA_E_CONFLICT, "not_awaiting",
				     "the renewal's key changed meanwhile");
			goto out;
		}
		/* The current key retires with its certificate and chain:
		 * it signs the CRL of what it issued from now on. */
		memset(&retired, 0, sizeof(retired));
		retired.idx = row.key_idx;
		retired.role = DB_KEY_RETIRED;
		retired.key_type = row.key_type;
		retired.key_salt = row.key_salt;
		retired.key_salt_len = row.key_salt_len;
		retired.key_iter = row.key_iter;
		retired.key_nonce = row.key_nonce;
		retired.key_nonce_len = row.key_nonce_len;
		retired.key_ct = row.key_ct;
		retired.key_ct_len = row.key_ct_len;
		retired.cert_der = row.cert_der;
		retired.cert_len = row.cert_len;
		retired.chain_der = row.chain_der;
		retired.chain_len = row.chain_len;
		retired.created_at = row.created_at;
		if (db_ca_key_delete(db, pending->idx, err) != 0 ||
		    db_ca_key_insert(db, &retired, err) != 0)
			goto out;
		/* The row now describes the new key (its buffers stay the
		 * key list's until both are freed below). */
		{
			struct db_ca cur = row;

			cur.key_type = pending->key_type;
			cur.key_salt = pending->key_salt;
			cur.key_salt_len = pending->key_salt_len;
			cur.key_iter = pending->key_iter;
			cur.key_nonce = pending->key_nonce;
			cur.key_nonce_len = pending->key_nonce_len;
			cur.key_ct = pending->key_ct;
			cur.key_ct_len = pending->key_ct_len;
			cur.key_idx = pending->idx;
			cur.cert_der = (unsigned char *)x->cert;
			cur.cert_len = x->cert_len;
			cur.chain_der = x->chain;
			cur.chain_len = x->chain_len;
			cur.csr_der = NULL;
			cur.csr_len = 0;
			cur.state = DB_CA_ACTIVE;
			if (db_ca_update_current(db, &cur, err) != 0)
				goto out;
		}
		/* The signers trust the allowed domains with the current
		 * key's seal: the new key seals them. */
		if (db_domains_mac_set(db, x->mac, err) != 0)
			goto out;
	} else {
		struct db_ca cur = row;

		if ((x->mode == FOR_AWAITING) != (row.state == DB_CA_AWAITING)) {
			mica_err_set(err, MICA_E_CONFLICT, "not_awaiting",
				     "the CA's state changed meanwhile");
			goto out;
		}
		cur.cert_der = (unsigned char *)x->cert;
		cur.cert_len = x->cert_len;
		cur.chain_der = x->chain;
		cur.chain_len = x->chain_len;
		cur.state = DB_CA_ACTIVE;
		/* A pending renewal's request stays until it is installed. */
		if (pending == NULL) {
			cur.csr_der = NULL;
			cur.csr_len = 0;
		}
		if (db_ca_update_current(db, &cur, err) != 0)
			goto out;
	}
	if (db_audit_add(db, ca_now(), x->p->actor, "ca.install", NULL,
			 x->detail, err) != 0)
		goto out;
	rc = 0;
out:
	/* ROW's key buffers may have been lent to CUR: free ROW alone. */
	db_ca_free(&row);
	db_ca_key_array_free(keys, nkeys);
	return rc;
}

/* SPKI of K (heap). */
static int
key_spki(struct ca_key *k, unsigned char **spki, size_t *len,
	 struct mica_err *err)
{
	*spki = NULL;
	*len = 0;
	if (k == NULL)
		return 0;
	return ca_key_spki(k, spki, len, err);
}

/* Append what the admin should know (A, B and C, any NULL) to NOTICE. */
static void
note(char *notice, const char *a, const char *b, const char *c)
{
	size_t n;

	if (notice == NULL)
		return;
	n = strlen(notice);
	/* "; " between notes, none after the last. */
	snprintf(notice + n, CA_NOTICE_MAX - n, "%s%s%s%s", n > 0 ? "; " : "",
		 a != NULL ? a : "", b != NULL ? b : "", c != NULL ? c : "");
}

/* What relying parties will refuse of the path PATH (NPATH, this CA's
 * certificate first), though mica installs it: said, not refused - the
 * organisation's root is what it is - but before any leaf is issued. */
static void
chain_notes(const struct pool *p, const size_t *path, size_t npath,
	    char *notice)
{
	static const struct {
		unsigned char oid[8];
		const char *what;
	} purposes[] = {
		{ { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 },
		  "serverAuth: browsers, Windows and OpenSSL refuse the "
		  "server certificates issued under it" },
		{ { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02 },
		  "clientAuth: client certificates issued under it are "
		  "refused" },
		{ { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04 },
		  "emailProtection: S/MIME certificates issued under it "
		  "(profile email) are refused" },
		{ { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03 },
		  "codeSigning: code-signing certificates issued under it "
		  "(profile codesign) are refused" },
	};
	char name[160], what[320];

	for (size_t i = 0; i < npath; i++) {
		const struct ca_cert_info *c = &p->c[path[i]].ci;
		int kind = 0, bits = 0;

		ca_name_text(c->subject, c->subject_len, name, sizeof(name));
		for (size_t k = 0; k < sizeof(purposes) / sizeof(purposes[0]); k++)
			if (ca_eku_allows(c, purposes[k].oid, 8) != 1) {
				snprintf(what, sizeof(what), " has an "
					 "extendedKeyUsage without %s",
					 purposes[k].what);
				note(notice, name, what, NULL);
			}
		/* The default security level of OpenSSL on Debian and
		 * Ubuntu (2), and browsers, refuse a chain with it. */
		if (ca_spki_key(c->spki, c->spki_len, &kind, &bits, NULL) == 0 &&
		    kind == CA_PUBKEY_RSA && bits > 0 && bits < 2048) {
			snprintf(what, sizeof(what), " has a key of %d bits: "
				 "OpenSSL at its default security level and "
				 "browsers refuse every certificate under it", bits);
			note(notice, name, what, NULL);
		}
		/* An id-RSASSA-PSS key (RFC 4055), not one that merely signs
		 * with PSS: Chromium's verifier knows no such key and refuses
		 * the chain (ERR_CERT_INVALID); OpenSSL, GnuTLS and NSS take
		 * it. */
		if (c->key_pss)
			note(notice, name, " has an RSASSA-PSS key (not "
			     "rsaEncryption): Chromium refuses every "
			     "certificate under it", NULL);
		/* RFC 5280 4.2.1.11 has CAs mark it critical; GnuTLS (3.7)
		 * does not process it, takes it for an unknown critical
		 * extension, and refuses the path - the root's too. */
		if (c->pc_critical)
			note(notice, name, " has a critical policyConstraints, "
			     "which GnuTLS does not process: it refuses every "
			     "certificate under it", NULL);
		/* RFC 5280 4.2.1.3: a CA certificate must have it; OpenSSL's
		 * verify -x509_strict refuses the chain without it. */
		if (!c->has_ku && c->version == 3)
			note(notice, name, " has no keyUsage: OpenSSL's "
			     "verify -x509_strict refuses every certificate "
			     "under it", NULL);
		/* The same of the other extensions RFC 5280 has a CA
		 * certificate carry, as it has them: a subjectKeyIdentifier
		 * (4.2.1.2), a critical basicConstraints (4.2.1.9), an
		 * authorityKeyIdentifier unless self-signed (4.2.1.1). */
		if (c->version == 3 && !c->has_ski)
			note(notice, name, " has no subjectKeyIdentifier: "
			     "OpenSSL's verify -x509_strict refuses every "
			     "certificate under it", NULL);
		if (c->version == 3 && c->is_ca && !c->bc_critical)
			note(notice, name, " has a basicConstraints not marked "
			     "critical: OpenSSL's verify -x509_strict refuses "
			     "every certificate under it", NULL);
		if (c->version == 3 && c->aki == NULL &&
		    !same_name(c->subject, c->subject_len, c->issuer,
			       c->issuer_len))
			note(notice, name, " has no authorityKeyIdentifier: "
			     "OpenSSL's verify -x509_strict refuses every "
			     "certificate under it", NULL);
		/* Each CA of the path signs the CRL of what is under it. */
		if (c->has_ku && (c->key_usage & CA_KU_CRL_SIGN) == 0)
			note(notice, name, " may not sign CRLs (keyUsage without "
			     "cRLSign): relying parties that check revocation "
			     "refuse the certificates under it, and its CRL "
			     "cannot be imported", NULL);
	}
}

/* Does THIS, this CA's certificate, signed by a CA below the root, name
 * this CA's own URL/root.crl or URL/root.crt (the places its request asks
 * for, which serve the root's CRL and certificate) for its issuer's? A
 * CA that copies the request's extensions (openssl ca's copy_extensions)
 * writes them: relying parties then fetch the root's CRL for the
 * intermediate's, do not find the certificate's revocation there
 * ("unable to get certificate CRL"), and fetch the root's certificate as
 * its issuer. */
static void
url_notes(const struct ca *ca, const struct ca_cert_info *this,
	  const char *issuer, char *notice)
{
	const char *base = ca->sh->public_url;
	char crl[1100], crt[1100], what[600];
	const char *kind;
	int bad_crl, bad_crt;

	if (base == NULL || base[0] == '\0')
		return;
	snprintf(crl, sizeof(crl), "%s/root.crl", base);
	snprintf(crt, sizeof(crt), "%s/root.crt", base);
	bad_crl = ca_cert_names_url(this, CA_URL_CRL, crl) == 1;
	bad_crt = ca_cert_names_url(this, CA_URL_CA_ISSUERS, crt) == 1;
	if (!bad_crl && !bad_crt)
		return;
	kind = bad_crl && bad_crt ? "CRL and certificate" :
	       bad_crl ? "CRL" : "certificate";
	snprintf(what, sizeof(what), "the issuer, %s, is not the root, yet the "
		 "certificate names this CA's %s, which serve%s the root's %s, "
		 "for the issuer's: relying parties will not find the issuer's "
		 "%s there; have it sign this CA's request with its own CRL "
		 "distribution point and caIssuers (openssl ca without "
		 "copy_extensions, or with its own crlDistributionPoints and "
		 "authorityInfoAccess)", issuer,
		 bad_crl && bad_crt ? "/root.crl and /root.crt" :
		 bad_crl ? "/root.crl" : "/root.crt",
		 bad_crl && bad_crt ? "" : "s", kind, kind);
	note(notice, what, NULL, NULL);
}

/* May P->c[I], another CA's certificate for a key of the path, be kept
 * and handed out as a cross-certificate: a CA certificate valid now, of
 * no critical extension mica does not know, and - when its issuer's
 * certificate was given too - signed by it? (One that is none of these
 * would only mislead the devices it is handed to.) */
static int
cross_usable(const struct pool *p, size_t i, int64_t now)
{
	const struct ca_cert_info *c = &p->c[i].ci;
	struct mica_err e;

	if (can_sign_certs(c, now, "a cross-certificate", NULL) != 0 ||
	    c->unknown_critical)
		return 0;
	for (size_t k = 0; k < p->n; k++) {
		const struct ca_cert_info *u = &p->c[k].ci;

		if (k != i && same_name(c->issuer, c->issuer_len, u->subject,
					u->subject_len) &&
		    ca_cert_issued_by(c, u, &e) == 0)
			return 1;
	}
	/* Its issuer given, and none verifies it: a forgery or damage. */
	for (size_t k = 0; k < p->n; k++)
		if (k != i && same_name(c->issuer, c->issuer_len,
					p->c[k].ci.subject, p->c[k].ci.subject_len))
			return 0;
	return 1;
}

int
ca_install_cert(struct ca *ca, const struct ca_principal *p,
		const unsigned char *cert, size_t cert_len,
		const unsigned char *chain, size_t chain_len,
		char notice[CA_NOTICE_MAX], struct mica_err *err)
{
	struct ca_der_blob *a = NULL, *b = NULL;
	struct pool *pool = NULL;
	struct install_tx x;
	struct ca_nc *nc = NULL;
	unsigned char *cur_spki = NULL, *new_spki = NULL;
	size_t na = 0, nb = 0, cur_len = 0, new_len = 0, target = SIZE_MAX;
	size_t left_out = 0;
	size_t path[CA_CHAIN_MAX + 1], npath = 0, i, total;
	char **doms = NULL, name[160];
	struct ca_name url_host;
	int64_t now = ca_now();
	int rc = -1, url_host_ok = 0;

	memset(&x, 0, sizeof(x));
	memset(&url_host, 0, sizeof(url_host));
	if (notice != NULL)
		notice[0] = '\0';
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca->sh->state == DB_CA_ROOT_ONLY)
		return mica_err_set(err, MICA_E_CONFLICT, "root_only",
				    "an offline root is self-signed: it installs "
				    "no certificate from above");
	if (ca->sh->key == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "ca_locked",
				    "installing a certificate needs the CA key");
	if (ca->sh->state == DB_CA_AWAITING && chain == NULL)
		return mica_err_set(err, MICA_E_USAGE, "chain_required",
				    "give the chain up to the root with --chain");
	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		return oom(err);
	if (ca_certs_load(cert, cert_len, &a, &na, err) != 0 ||
	    (chain != NULL && ca_certs_load(chain, chain_len, &b, &nb,
					    err) != 0))
		goto out;
	for (i = 0; i < na; i++)
		if (pool_add(pool, a[i].der, a[i].len, FROM_CERT, err) != 0)
			goto out;
	for (i = 0; i < nb; i++)
		if (pool_add(pool, b[i].der, b[i].len, FROM_CHAIN, err) != 0)
			goto out;
	/* A renewal without --chain: the installed chain, whose root the
	 * admin trusted at the first install. */
	if (chain == NULL)
		for (i = 0; i < ca->sh->nchain; i++)
			if (pool_add(pool, ca->sh->chain[i].der,
				     ca->sh->chain[i].len, FROM_STORE,
				     err) != 0)
				goto out;

	/* Which key is it for: a pending renewal's new key, or the key this
	 * CA has (awaiting its first certificate, or renewing with it)? */
	if (key_spki(ca->sh->key, &cur_spki, &cur_len, err) != 0 ||
	    key_spki(ca->sh->pending_key, &new_spki, &new_len, err) != 0)
		goto out;
	for (i = 0; i < pool->n && target == SIZE_MAX; i++) {
		const struct ca_cert_info *c = &pool->c[i].ci;

		if (pool->c[i].from != FROM_CERT)
			continue;
		if (new_spki != NULL && c->spki_len == new_len &&
		    memcmp(c->spki, new_spki, new_len) == 0) {
			x.mode = FOR_NEW_KEY;
			target = i;
		} else if (c->spki_len == cur_len &&
			   memcmp(c->spki, cur_spki, cur_len) == 0) {
			x.mode = ca->sh->state == DB_CA_AWAITING ?
				 FOR_AWAITING : FOR_SAME_KEY;
			target = i;
		}
	}
	if (target == SIZE_MAX) {
		mica_err_set(err, MICA_E_BADREQ, "wrong_key",
			     "no certificate in the file is for this CA's key%s",
			     ca->sh->pending_key != NULL ?
			     " or its pending renewal's" : "");
		goto out;
	}
	if (x.mode == FOR_SAME_KEY &&
	    key_condemned_refused(ca, "a new certificate for the same key "
				  "leaves it as exposed; install one for a new "
				  "key (renew-ca --new-key)", err) != 0)
		goto out;
	{
		const struct ca_cert_info *c = &pool->c[target].ci;

		if (c->version != 3 || self_issued(c)) {
			mica_err_set(err, MICA_E_BADREQ, "not_a_ca",
				     "the certificate must be a version 3 CA "
				     "certificate issued by another CA");
			goto out;
		}
		if (can_sign_certs(c, now, "the certificate", err) != 0)
			goto out;
		/* It signs CRLs too (RFC 5280 4.2.1.3). */
		if (c->has_ku && (c->key_usage & CA_KU_CRL_SIGN) == 0) {
			mica_err_set(err, MICA_E_BADREQ, "not_a_ca",
				     "the certificate may not sign CRLs "
				     "(keyUsage without cRLSign)");
			goto out;
		}
		if (c->unknown_critical) {
			mica_err_set(err, MICA_E_UNSUPPORTED,
				     "unsupported_extension",
				     "the certificate has a critical extension "
				     "mica does not know: it could not honour "
				     "it");
			goto out;
		}
		if (c->nc != NULL) {
			if ((nc = malloc(sizeof(*nc))) == NULL) {
				oom(err);
				goto out;
			}
			if (ca_nc_parse(c->nc, c->nc_len, nc, err) != 0)
				goto out;
		}
		/* The certificates already issued name this subject as their
		 * issuer: the same key keeps it. */
		if (x.mode == FOR_SAME_KEY &&
		    !same_name(c->subject, c->subject_len, ca->sh->subject,
			       ca->sh->subject_len)) {
			mica_err_set(err, MICA_E_BADREQ, "subject_changed",
				     "the certificate's subject is not the "
				     "current one: certificates already issued "
				     "name it as their issuer");
			goto out;
		}
		/* ... and this key identifier as their authority key's
		 * (RFC 5280 4.2.1.1): a CA above that makes it otherwise on
		 * renewal (random, truncated SHA-256) would leave them, and
		 * this key's CRL, unmatched by relying parties. */
		if (x.mode == FOR_SAME_KEY && ca->sh->cert_der != NULL &&
		    (c->ski_len != ca->sh->ski_len ||
		     memcmp(c->ski, ca->sh->ski, c->ski_len) != 0)) {
			mica_err_set(err, MICA_E_BADREQ, "key_id_changed",
				     "the certificate's subjectKeyIdentifier is "
				     "not the current one's: certificates "
				     "already issued name it as their "
				     "authorityKeyIdentifier, and relying "
				     "parties would find their issuer no more. "
				     "Have it signed with the same key "
				     "identifier (openssl: subjectKeyIdentifier="
				     "hash, the SHA-1 of the key), or renew with "
				     "a new key (renew-ca --new-key)");
			goto out;
		}
		/* The certificate in use, given again: nothing is renewed,
		 * and the audit trail must not say so. */
		if (x.mode == FOR_SAME_KEY && ca->sh->cert_der != NULL &&
		    c->der_len == ca->sh->cert_len &&
		    memcmp(c->der, ca->sh->cert_der, c->der_len) == 0) {
			int missing = 0;

			/* An install killed between its commit and its
			 * first CRLs: finish it, as the admin asks. */
			if (ca_crl_missing(ca, &missing, err) != 0)
				goto out;
			if (missing) {
				if (ca_crl_publish(ca, p, NULL, err) != 0)
					goto out;
				note(notice, "this certificate was installed "
				     "already, by an install-ca interrupted "
				     "before its CRL: published it now",
				     NULL, NULL);
				rc = 0;
				goto out;
			}
			mica_err_set(err, MICA_E_CONFLICT, "already_installed",
				     "this CA certificate is the one installed "
				     "already");
			goto out;
		}
		if (x.mode == FOR_NEW_KEY &&
		    !same_name(c->subject, c->subject_len, ca->sh->subject,
			       ca->sh->subject_len))
			note(notice, "the new certificate's subject differs "
			     "from the current one", NULL, NULL);
	}
	if (build_path(pool, target, now, path, &npath, err) != 0 ||
	    explicit_policy_check(pool, path, npath, err) != 0)
		goto out;

	/* The chain kept: the path above the certificate, then the
	 * cross-certificates given (another CA's certificate for a key of
	 * the path: what devices with only an older root need). */
	total = 0;
	for (i = 1; i < npath; i++)
		total += pool->c[path[i]].ci.der_len;
	for (i = 0; i < pool->n; i++) {
		const struct ca_cert_info *c = &pool->c[i].ci;

		if (pool->c[i].used)
			continue;
		for (size_t k = 1; k < npath; k++) {
			const struct ca_cert_info *q = &pool->c[path[k]].ci;

			if (same_name(c->subject, c->subject_len, q->subject,
				      q->subject_len) &&
			    same_name(c->spki, c->spki_len, q->spki,
				      q->spki_len) && cross_usable(pool, i, now)) {
				pool->c[i].used = 2;
				total += c->der_len;
				break;
			}
		}
		if (pool->c[i].used == 0 && pool->c[i].from != FROM_STORE)
			left_out++;
	}
	/* Once, however many: one note each would fill NOTICE. */
	if (left_out > 0)
		note(notice, left_out == 1 ? "a certificate given is not in "
		     "the chain and was left out" : "certificates given are "
		     "not in the chain and were left out", NULL, NULL);
	{
		unsigned char *q;
		size_t kept = 0;

		if ((x.chain = malloc(total)) == NULL) {
			oom(err);
			goto out;
		}
		q = x.chain;
		for (i = 1; i < npath; i++) {
			memcpy(q, pool->c[path[i]].ci.der,
			       pool->c[path[i]].ci.der_len);
			q += pool->c[path[i]].ci.der_len;
			kept++;
		}
		for (i = 0; i < pool->n; i++)
			if (pool->c[i].used == 2 && kept < CA_CHAIN_MAX) {
				memcpy(q, pool->c[i].ci.der,
				       pool->c[i].ci.der_len);
				q += pool->c[i].ci.der_len;
				kept++;
			}
		x.chain_len = (size_t)(q - x.chain);
	}

	chain_notes(pool, path, npath, notice);
	if (npath > 2) {
		ca_name_text(pool->c[path[1]].ci.subject,
			     pool->c[path[1]].ci.subject_len, name,
			     sizeof(name));
		url_notes(ca, &pool->c[target].ci, name, notice);
	}
	/* A CA above that ends first (a root of another organisation whose
	 * own end is near): relying parties refuse every path through it
	 * after then, so leaves are cut to end by then (ca_path_not_after). */
	{
		int64_t own_end = pool->c[target].ci.not_after, end = own_end;
		size_t first = 0;

		for (i = 1; i < npath; i++)
			if (pool->c[path[i]].ci.not_after < end) {
				end = pool->c[path[i]].ci.not_after;
				first = path[i];
			}
		if (end < own_end) {
			char d1[CA_DATE_TEXT], d2[CA_DATE_TEXT], what[200];

			ca_date_text(end, d1);
			ca_date_text(own_end, d2);
			ca_name_text(pool->c[first].ci.subject,
				     pool->c[first].ci.subject_len, name,
				     sizeof(name));
			snprintf(what, sizeof(what), ", above this CA, ends on "
				 "%s, before this CA's certificate (%s): "
				 "certificates it issues are cut to end then",
				 d1, d2);
			note(notice, "the certificate of ", name, what);
		}
	}

	/* The allowed domains the name constraints leave out: the policy
	 * will refuse their names, say so now. The public URL's host too:
	 * the daemon's HTTPS certificate names it, and 'mica serve' cannot
	 * start without a name it may certify. */
	if (db_domain_list(ca->db, &doms, err) != 0)
		goto out;
	url_host_ok = ca_url_host_name(ca->sh->public_url, &url_host);
	if (url_host_ok && nc != NULL && !ca_nc_allows(nc, &url_host)) {
		note(notice, "the public URL's host, ", url_host.value,
		     ", is outside the certificate's name constraints: the "
		     "daemon's HTTPS certificate cannot name it ('mica config "
		     "set --public-url' to a host they permit)");
		url_host_ok = 0;
	}
	for (char **d = doms; nc != NULL && *d != NULL; d++) {
		struct ca_name nm;

		if (ca_name_parse(*d, CA_NAME_DNS, &nm, NULL) == 0 &&
		    !ca_nc_allows(nc, &nm)) {
			note(notice, "allowed domain ", *d, " is outside the "
			     "certificate's name constraints: its names will "
			     "be refused");
		}
	}
	/* Those of the CAs above add up (RFC 5280 6.1.4 (g)): issuance
	 * applies them too (ca_nc_allows_path). */
	for (i = 1; i < npath; i++) {
		const struct ca_cert_info *c = &pool->c[path[i]].ci;
		struct ca_nc *up;

		if (c->nc == NULL)
			continue;
		if ((up = malloc(sizeof(*up))) == NULL) {
			oom(err);
			goto out;
		}
		ca_name_text(c->subject, c->subject_len, name, sizeof(name));
		if (ca_nc_parse(c->nc, c->nc_len, up, NULL) != 0) {
			free(up);
			note(notice, "the name constraints of ", name, " are of a "
			     "kind mica does not read: relying parties apply "
			     "them, mica does not");
			continue;
		}
		for (char **d = doms; *d != NULL; d++) {
			struct ca_name nm;

			if (ca_name_parse(*d, CA_NAME_DNS, &nm, NULL) == 0 &&
			    !ca_nc_allows(up, &nm)) {
				char what[300];

				snprintf(what, sizeof(what), " is outside the "
					 "name constraints of %s, above this CA: "
					 "its names will be refused", name);
				note(notice, "allowed domain ", *d, what);
			}
		}
		if (url_host_ok && !ca_nc_allows(up, &url_host)) {
			char what[400];

			snprintf(what, sizeof(what), ", is outside the name "
				 "constraints of %s, above this CA: the daemon's "
				 "HTTPS certificate cannot name it ('mica config "
				 "set --public-url' to a host they permit)", name);
			note(notice, "the public URL's host, ", url_host.value,
			     what);
			url_host_ok = 0;
		}
		free(up);
	}
	if (x.mode == FOR_NEW_KEY) {
		size_t nd = 0;

		while (doms[nd] != NULL)
			nd++;
		if (ca_domains_mac(ca->sh->pending_key,
				   (const char *const *)doms, nd, x.mac,
				   err) != 0)
			goto out;
	}

	x.ca = ca;
	x.p = p;
	x.cert = pool->c[target].ci.der;
	x.cert_len = pool->c[target].ci.der_len;
	ca_name_text(pool->c[path[npath - 1]].ci.subject,
		     pool->c[path[npath - 1]].ci.subject_len, name,
		     sizeof(name));
	snprintf(x.detail, sizeof(x.detail), "%s, chain of %zu to %s",
		 x.mode == FOR_NEW_KEY ? "rollover to a new key" :
		 x.mode == FOR_SAME_KEY ? "renewal with the same key" :
		 "first certificate", npath, name);
	if (ca_tx(ca, CA_TX_DURABLE, install_body, &x, err) != 0)
		goto out;
	/* Tests kill the command here: the certificate is installed, its
	 * CRLs not yet published (util/fault.h). */
	MICA_TEST_GATE("MICA_TEST_INSTALL_GATE");
	/* Then sign under it: reload what the handle knows, and publish
	 * the CRL of every key (the first one of a new certificate). */
	if (ca_reload(ca, err) != 0 || ca_crl_publish(ca, p, NULL, err) != 0) {
		/* The certificate is installed (committed above): an error
		 * that named only the cause (a busy store) would read as
		 * nothing done. Say what is, and what finishes it. */
		mica_err_set(err, MICA_E_INTERNAL, "crl_not_published",
			     "installed the CA certificate, but its CRL could "
			     "not be published (%s): run this install-ca "
			     "again, or 'mica crl'", err->msg);
		goto out;
	}
	/* No log line: the command says what it installed, and the audit
	 * trail (ca.install) keeps the detail. */
	rc = 0;
out:
	explicit_bzero(x.mac, sizeof(x.mac));
	free(x.chain);
	free(nc);
	free(cur_spki);
	free(new_spki);
	ca_strv_free(doms);
	ca_blobs_free(a, na);
	ca_blobs_free(b, nb);
	free(pool);
	return rc;
}

/* --------------------------------------------------------- renew-ca -- */

struct renew_tx {
	const struct db_ca_key *pending;   /* a new key to keep, or NULL */
	const unsigned char *csr; size_t csr_len;
	const char *actor;
	const char *detail;
};

static int
renew_body(struct db *db, void *arg, struct mica_err *err)
{
	struct renew_tx *x = arg;

	if (x->pending != NULL && db_ca_key_insert(db, x->pending, err) != 0)
		return -1;
	if (x->pending != NULL && db_ca_set_csr(db, x->csr, x->csr_len,
						err) != 0)
		return -1;
	return db_audit_add(db, ca_now(), x->actor, "ca.renew", NULL,
			    x->detail, err);
}

/* The pathLenConstraint that a CA request DER (LEN) of this CA's own asks
 * for in its basicConstraints: -1 when none, or unreadable. */
static int
request_path_len(const unsigned char *der, size_t len)
{
	static const unsigned char oid_ext_req[] = {
		0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e,
	};
	static const unsigned char oid_bc[] = { 0x55, 0x1d, 0x13 };
	struct ca_der_cur top, req, cri, attrs, attr, vals, exts, e, bc;
	const unsigned char *oid, *val;
	size_t oid_len, vlen;
	uint64_t v;
	int b;

	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &req, NULL) < 0 ||
	    ca_der_enter(&req, CA_DER_SEQUENCE, &cri, NULL) < 0 ||
	    ca_der_get_uint(&cri, 0, &v, NULL) < 0 ||
	    ca_der_get_tlv(&cri, CA_DER_SEQUENCE, &val, &vlen, NULL) < 0 ||
	    ca_der_get_tlv(&cri, CA_DER_SEQUENCE, &val, &vlen, NULL) < 0 ||
	    ca_der_enter(&cri, CA_DER_CTX_CONS(0), &attrs, NULL) < 0)
		return -1;
	while (!ca_der_empty(&attrs)) {
		if (ca_der_enter(&attrs, CA_DER_SEQUENCE, &attr, NULL) < 0 ||
		    ca_der_get_oid(&attr, &oid, &oid_len, NULL) < 0)
			return -1;
		if (!ca_der_oid_eq(oid, oid_len, oid_ext_req,
				   sizeof(oid_ext_req)))
			continue;
		if (ca_der_enter(&attr, CA_DER_SET, &vals, NULL) < 0 ||
		    ca_der_enter(&vals, CA_DER_SEQUENCE, &exts, NULL) < 0)
			return -1;
		while (!ca_der_empty(&exts)) {
			if (ca_der_enter(&exts, CA_DER_SEQUENCE, &e, NULL) < 0 ||
			    ca_der_get_oid(&e, &oid, &oid_len, NULL) < 0 ||
			    (ca_der_peek(&e, CA_DER_BOOLEAN) &&
			     ca_der_get_bool(&e, &b, NULL) < 0) ||
			    ca_der_get_tlv(&e, CA_DER_OCTET_STRING, &val,
					   &vlen, NULL) < 0)
				return -1;
			if (!ca_der_oid_eq(oid, oid_len, oid_bc,
					   sizeof(oid_bc)))
				continue;
			/* RFC 5280 4.2.1.9 */
			ca_der_init(&top, val, vlen);
			if (ca_der_enter(&top, CA_DER_SEQUENCE, &bc, NULL) < 0 ||
			    (ca_der_peek(&bc, CA_DER_BOOLEAN) &&
			     ca_der_get_bool(&bc, &b, NULL) < 0) ||
			    !ca_der_peek(&bc, CA_DER_INTEGER) ||
			    ca_der_get_uint(&bc, 16, &v, NULL) < 0)
				return -1;
			return (int)v;
		}
	}
	return -1;
}

/*
 * Asked again while a request is out (a pending renewal's, or the first
 * one of a CA awaiting its certificate), renew-ca writes that request as
 * it was. A --key (KEY_TYPE, NULL when not given) or --path-len (PATH_LEN,
 * -1 when not given) that it does not match is refused rather than left
 * unsaid: the admin would carry a request for another key or path length
 * than the one asked for to the root.
 */
static int
pending_request_matches(const struct ca *ca, const struct db_ca *row,
			const char *key_type, int path_len,
			struct mica_err *err)
{
	const struct ca_key *k = ca->sh->pending_idx >= 0 ?
				 ca->sh->pending_key : ca->sh->key;
	const char *what = ca->sh->pending_idx >= 0 ?
			   "the pending renewal's request" :
			   "the request of this CA, which awaits its "
			   "certificate,";
	enum ca_key_type kt;
	int pl;

	if (key_type != NULL) {
		if (ca_key_type_parse(key_type, &kt) != 0)
			return mica_err_set(err, MICA_E_USAGE, "bad_key_type",
					    "--key must be one of ec-p256, "
					    "ec-p384, rsa-2048, rsa-3072, "
					    "rsa-4096");
		if (k != NULL && kt != ca_key_get_type(k))
			return mica_err_set(err, MICA_E_CONFLICT,
					    "request_pending",
					    "%s is for an %s key: it is "
					    "written again as it was, not for "
					    "--key %s; install the certificate "
					    "signed for it, then ask for the "
					    "next one", what,
					    ca_key_type_name(ca_key_get_type(k)),
					    key_type);
	}
	if (path_len >= 0 &&
	    (pl = request_path_len(row->csr_der, row->csr_len)) != path_len)
		return mica_err_set(err, MICA_E_CONFLICT, "request_pending",
				    "%s asks for path length %d: it is written "
				    "again as it was, not for --path-len %d; "
				    "install the certificate signed for it, "
				    "then ask for the next one", what,
				    pl < 0 ? 0 : pl, path_len);
	return 0;
}

/* Is the canonical DNS name D strictly under DOMAIN, on a label
 * boundary? */
static int
dns_under(const char *d, const char *domain)
{
	size_t dl = strlen(d), ml = strlen(domain);

	return dl > ml && d[dl - ml - 1] == '.' &&
	       strcmp(d + dl - ml, domain) == 0;
}

/*
 * The allowed domains DOMS (NULL-terminated, heap; reordered and cut in
 * place) as a request asks for them: a domain under another of the list
 * is left out (the other's subtree holds it, RFC 5280 4.2.1.10), and what
 * remains must fit the permitted subtrees of a CA certificate, one of
 * them taken by the address of PUBLIC_URL when it is one (ca_ca_request).
 * Cut to fit, the request would ask silently for fewer domains than the
 * CA allows, and its next certificate would not permit the others.
 * *ND gets their number.
 */
static int
request_domains(char **doms, const char *public_url, size_t *nd,
		struct mica_err *err)
{
	struct ca_name nm;
	char host[64];
	size_t n = 0, all = 0, room = CA_NC_PERMIT_MAX;
	unsigned char *gone;

	while (doms[all] != NULL)
		all++;
	if ((gone = calloc(all + 1, 1)) == NULL)
		return oom(err);
	for (size_t i = 0; i < all; i++)
		for (size_t j = 0; j < all && !gone[i]; j++)
			gone[i] = j != i && dns_under(doms[i], doms[j]);
	for (size_t i = 0; i < all; i++) {
		if (gone[i]) {
			free(doms[i]);
			doms[i] = NULL;
		} else {
			doms[n] = doms[i];
			if (n++ != i)
				doms[i] = NULL;
		}
	}
	free(gone);
	host[0] = '\0';
	if (public_url != NULL)
		ca_url_host(public_url, host, sizeof(host));
	if (n > 0 && host[0] != '\0' &&
	    ca_name_parse(host, CA_NAME_IP, &nm, NULL) == 0)
		room--;
	*nd = n;
	if (n <= room)
		return 0;
	return mica_err_set(err, MICA_E_POLICY, "too_many_domains",
			    "this CA allows %zu domains (not counting those "
			    "under another), and a CA certificate's name "
			    "constraints permit at most %zu%s: remove those "
			    "it need not certify ('mica domain remove'), then "
			    "ask again", n, room,
			    room < CA_NC_PERMIT_MAX ? " beside the address "
			    "of its URL" : "");
}

int
ca_renew_ca(struct ca *ca, const struct ca_principal *p, int new_key,
	    const char *key_type, int path_len, const char *passphrase_file,
	    unsigned char **csr, size_t *csr_len, struct mica_err *err)
{
	struct db_ca row;
	struct ca_key *k = NULL;
	struct ca_sealed_key sealed;
	struct db_ca_key pend;
	struct renew_tx x;
	struct ca_cert_info ci;
	enum ca_key_type kt;
	char **doms = NULL, *pass = NULL, detail[128];
	size_t nd = 0;
	int idx = 0, rc = -1;

	*csr = NULL;
	*csr_len = 0;
	memset(&row, 0, sizeof(row));
	memset(&sealed, 0, sizeof(sealed));
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca->sh->state == DB_CA_ROOT_ONLY || ca->sh->self_signed)
		return mica_err_set(err, MICA_E_CONFLICT,
				    ca->sh->state == DB_CA_ROOT_ONLY ?
				    "root_only" : "is_root",
				    "a root is not renewed from above: make a "
				    "new root and cross-sign it with the old "
				    "one ('mica sign-ca --cross')");
	if (ca->sh->key == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "ca_locked",
				    "a request needs the CA key");
	if (db_ca_get(ca->db, &row, err) != 0)
		goto out;
	/* A request already given out (awaiting, or a pending renewal's):
	 * the same again. */
	if (ca->sh->state == DB_CA_AWAITING || ca->sh->pending_idx >= 0) {
		if (ca->sh->pending_idx >= 0 && !new_key) {
			mica_err_set(err, MICA_E_CONFLICT, "renewal_pending",
				     "a renewal with a new key is pending: "
				     "install its certificate, or ask for its "
				     "request again with --new-key");
			goto out;
		}
		if (row.csr_der == NULL) {
			mica_err_set(err, MICA_E_NOTFOUND, "no_request",
				     "the request given out was not kept");
			goto out;
		}
		if (pending_request_matches(ca, &row, key_type, path_len,
					    err) != 0)
			goto out;
		*csr = row.csr_der;
		*csr_len = row.csr_len;
		row.csr_der = NULL;
		rc = 0;
		goto out;
	}
	if (db_domain_list(ca->db, &doms, err) != 0)
		goto out;
	if (request_domains(doms, ca->sh->public_url, &nd, err) != 0)
		goto out;
	if (path_len < 0) {
		if (ca_cert_info_read(ca->sh->cert_der, ca->sh->cert_len, &ci,
				      err) != 0)
			goto out;
		path_len = ci.path_len >= 0 ? ci.path_len : 0;
	}
	if (!new_key) {
		/* A key whose certificate was revoked as compromised is
		 * never certified again (sign-ca refuses it on a mica root;
		 * another root would sign what it is sent). */
		if (key_condemned_refused(ca, "its key is not certified "
					  "again; ask for a certificate for a "
					  "new key (renew-ca --new-key)",
					  err) != 0)
			goto out;
		if (ca_ca_request(ca->sh->key, ca->sh->subject,
				  ca->sh->subject_len, ca->sh->public_url,
				  path_len, (const char *const *)doms, nd, csr,
				  csr_len, err) != 0)
			goto out;
		x.pending = NULL;
		snprintf(detail, sizeof(detail), "request for a renewal with "
			 "the same key %d", ca->sh->key_idx);
	} else {
		/* The next free index: above every key the CA has had. */
		idx = ca->sh->key_idx;
		for (size_t i = 0; i < ca->sh->nretired; i++)
			if (ca->sh->retired[i].idx > idx)
				idx = ca->sh->retired[i].idx;
		if (++idx >= CA_KEYS_MAX) {
			/* Say what is left: the same key renews as often
			 * as it must; a new key means a new issuing CA. */
			mica_err_set(err, MICA_E_CONFLICT, "too_many_keys",
				     "this CA has had %d keys already, the most "
				     "it keeps: renew its certificate with the "
				     "current key (renew-ca without --new-key), "
				     "or set up a new issuing CA for a new key",
				     CA_KEYS_MAX);
			goto out;
		}
		if (ca_key_type_parse(key_type != NULL ? key_type :
				      row.key_type, &kt) != 0) {
			mica_err_set(err, MICA_E_USAGE, "bad_key_type",
				     "--key must be one of ec-p256, ec-p384, "
				     "rsa-2048, rsa-3072, rsa-4096");
			goto out;
		}
		/* Sealed under the CA's passphrase, as every key of it. */
		if (ca_pass_get(ca->sh->datadir, passphrase_file, &pass,
				NULL, err) != 0 ||
		    ca_key_generate(kt, &k, err) != 0 ||
		    ca_key_seal(k, pass, strlen(pass), CA_KDF_DEFAULT_ITER,
				&sealed, err) != 0 ||
		    ca_ca_request(k, ca->sh->subject, ca->sh->subject_len,
				  ca->sh->public_url, path_len,
				  (const char *const *)doms, nd, csr, csr_len,
				  err) != 0)
			goto out;
		memset(&pend, 0, sizeof(pend));
		pend.idx = idx;
		pend.role = DB_KEY_PENDING;
		pend.key_type = (char *)ca_key_type_name(kt);
		pend.key_salt = sealed.salt;
		pend.key_salt_len = sizeof(sealed.salt);
		pend.key_iter = sealed.iter;
		pend.key_nonce = sealed.nonce;
		pend.key_nonce_len = sizeof(sealed.nonce);
		pend.key_ct = sealed.ct;
		pend.key_ct_len = sealed.ct_len;
		pend.created_at = ca_now();
		x.pending = &pend;
		snprintf(detail, sizeof(detail), "request for a renewal with a "
			 "new key %d (%s)", idx, ca_key_type_name(kt));
	}
	x.csr = *csr;
	x.csr_len = *csr_len;
	x.actor = p->actor;
	x.detail = detail;
	if (ca_tx(ca, CA_TX_DURABLE, renew_body, &x, err) != 0)
		goto out;
	if (k != NULL) {
		ca->sh->pending_key = k;
		ca->sh->pending_idx = idx;
		k = NULL;
	}
	rc = 0;
out:
	if (rc != 0) {
		free(*csr);
		*csr = NULL;
		*csr_len = 0;
	}
	ca_key_free(k);
	ca_pass_free(pass);
	ca_sealed_key_free(&sealed);
	ca_strv_free(doms);
	db_ca_free(&row);
	return rc;
}

/* ------------------------------------------------------ the root CRL -- */

struct rootcrl_tx {
	const struct db_root_crl *crl;
	const char *actor;
	char detail[200];
};

static int
rootcrl_body(struct db *db, void *arg, struct mica_err *err)
{
	struct rootcrl_tx *x = arg;

	if (db_root_crl_insert(db, x->crl, err) != 0)
		return -1;
	return db_audit_add(db, ca_now(), x->actor, "rootcrl.import", NULL,
			    x->detail, err);
}

/* ---------------------------------------- a CA certificate revoked -- */

/* How often a handle looks in the store for a root CRL imported by
 * another process (the command line, while the daemon runs): an indexed
 * read of one row, as the CRL cache's look for a new CRL number. */
#define REVOKED_LOOK_MS 1000

/* The certificate at POS of SH's path: 0 this CA's own, I + 1 chain[I]. */
static const unsigned char *
path_der(const struct ca_shared *sh, size_t pos, size_t *len)
{
	*len = pos == 0 ? sh->cert_len : sh->chain[pos - 1].len;
	return pos == 0 ? sh->cert_der : sh->chain[pos - 1].der;
}

/* The newest imported CRL of each CA on SH's path - the root's, and those
 * of the CAs between it and this one (three tiers) - is what tells
 * whether a certificate of the path is revoked: the CRL of the
 * certificate's issuer. Which certificate of the path one of them lists:
 * 0 none, else 1 + its place (1 this CA's own; the issuer is then at
 * that place). This CA's own first, the one a relying party meets
 * first. */
static int
revoked_in(struct ca *ca, int *which, struct mica_err *err)
{
	const struct ca_shared *sh = ca->sh;

	*which = 0;
	for (size_t pos = 0; pos < sh->npath && *which == 0; pos++) {
		struct ca_cert_info c, up;
		struct ca_crl_info crl;
		struct db_root_crl row;
		const unsigned char *d, *u;
		size_t l, ul;
		struct mica_err e;

		d = path_der(sh, pos, &l);
		u = path_der(sh, pos + 1, &ul);
		if (d == NULL || u == NULL ||
		    ca_cert_info_read(d, l, &c, NULL) != 0 ||
		    ca_cert_info_read(u, ul, &up, NULL) != 0 ||
		    self_issued(&c) ||
		    !same_name(c.issuer, c.issuer_len, up.subject,
			       up.subject_len) ||
		    (c.aki != NULL && !same_name(c.aki, c.aki_len, up.ski,
						 up.ski_len)))
			continue;
		memset(&row, 0, sizeof(row));
		if (db_root_crl_latest(ca->db, up.ski, up.ski_len, &row,
				       &e) != 0) {
			if (e.kind == MICA_E_NOTFOUND)
				continue;
			if (err != NULL)
				*err = e;
			return -1;
		}
		/* It was read whole at its import: one that no longer
		 * parses is a damaged store. */
		if (ca_crl_info_read(row.der, row.der_len, &crl, err) != 0) {
			db_root_crl_free(&row);
			return -1;
		}
		if (ca_crl_lists(&crl, c.serial, c.serial_len))
			*which = (int)pos + 1;
		db_root_crl_free(&row);
	}
	return 0;
}

/* Which CRLs the store holds for the CAs of SH's path (their numbers and
 * thisUpdates, by index lookups): a mark that changes when one of them
 * does. */
static int
revoked_mark(struct ca *ca, uint64_t *mark, struct mica_err *err)
{
	const struct ca_shared *sh = ca->sh;
	uint64_t h = UINT64_C(1469598103934665603);

	for (size_t pos = 1; pos <= sh->npath; pos++) {
		struct ca_cert_info up;
		const unsigned char *u;
		size_t ul;
		int64_t v[3] = { 0, -1, -1 };
		int found = 0;

		if ((u = path_der(sh, pos, &ul)) == NULL ||
		    ca_cert_info_read(u, ul, &up, NULL) != 0)
			continue;
		if (db_root_crl_last(ca->db, up.ski, up.ski_len, &v[1], &v[2],
				     &found, err) != 0)
			return -1;
		v[0] = found;
		for (size_t i = 0; i < 3; i++)
			for (size_t b = 0; b < 8; b++) {
				h ^= (uint64_t)v[i] >> (8 * b) & 0xff;
				h *= UINT64_C(1099511628211);
			}
	}
	*mark = h;
	return 0;
}

/* Look at the store's newest CRLs of the path's CAs; work out what they
 * revoke if one is another than the one looked at last. Under
 * SH->revoked_lock. */
static int
revoked_look(struct ca *ca, struct mica_err *err)
{
	struct ca_shared *sh = ca->sh;
	uint64_t mark;
	int which = 0;

	if (revoked_mark(ca, &mark, err) != 0)
		return -1;
	if (sh->revoked_known && mark == sh->revoked_mark)
		return 0;
	if (revoked_in(ca, &which, err) != 0)
		return -1;
	sh->revoked_mark = mark;
	sh->revoked_known = 1;
	atomic_store(&sh->revoked, which);
	return 0;
}

/* The name of the certificate at POS of SH's path, for a message. */
static void
path_name(const struct ca_shared *sh, size_t pos, char *buf, size_t size)
{
	struct ca_cert_info c;
	const unsigned char *d;
	size_t l;

	buf[0] = '\0';
	d = path_der(sh, pos, &l);
	if (d != NULL && ca_cert_info_read(d, l, &c, NULL) == 0)
		ca_name_text(c.subject, c.subject_len, buf, size);
}

/* Whose CRL revokes WHICH (ca_shared's revoked): "the root's CRL", or
 * "the CRL of NAME" of a CA between the root and this one. */
static void
revoker_text(const struct ca_shared *sh, int which, char *buf, size_t size)
{
	char name[100];

	if ((size_t)which >= sh->npath) {
		snprintf(buf, size, "the root's CRL");
		return;
	}
	path_name(sh, (size_t)which, name, sizeof(name));
	snprintf(buf, size, "the CRL of %s", name);
}

/* The reason an entry gives SERIAL (own_revocation's walk). */
struct own_entry {
	const unsigned char *serial;
	size_t serial_len;
	int found, reason;
};

static int
own_entry_cb(void *ctx, const unsigned char *serial, size_t len,
	     int64_t revoked_at, int reason, int64_t invalid_at)
{
	struct own_entry *o = ctx;

	(void)revoked_at;
	(void)invalid_at;
	if (len == o->serial_len && memcmp(serial, o->serial, len) == 0) {
		o->found = 1;
		o->reason = reason;
		return 1;
	}
	return 0;
}

/* Whether the path's CRLs revoke this CA's own certificate for a reason
 * that condemns its key: keyCompromise, cACompromise, aACompromise,
 * unspecified or none given (openssl ca -revoke without -crl_reason) -
 * not superseded, affiliationChanged, cessationOfOperation,
 * privilegeWithdrawn or a hold, which a new certificate for the same key
 * may follow. 1 so (BY says whose CRL, REASON_NAME the reason), 0 not,
 * -1 the store. */
static int
own_key_condemned(struct ca *ca, char *by, size_t by_size,
		  const char **reason_name, struct mica_err *err)
{
	struct ca_shared *sh = ca->sh;
	struct ca_cert_info c, up;
	struct ca_crl_info crl;
	struct db_root_crl row;
	struct own_entry o;
	struct mica_err e;
	const unsigned char *u;
	size_t ul;
	int revoked;

	mica_err_clear(&e);
	if (ca_revoked_check(ca, 1, &e) != 0 &&
	    strcmp(e.code, "ca_revoked") != 0) {
		if (err != NULL)
			*err = e;
		return -1;
	}
	revoked = atomic_load(&sh->revoked) == 1;
	if (sh->cert_der == NULL ||
	    ca_cert_info_read(sh->cert_der, sh->cert_len, &c, err) != 0 ||
	    (u = path_der(sh, 1, &ul)) == NULL ||
	    ca_cert_info_read(u, ul, &up, err) != 0)
		return revoked ? -1 : 0;
	/* The latest CRL imported that lists it decides: the CA above
	 * drops the entry once the certificate has expired (RFC 5280 3.3),
	 * and the key is no less exposed then; a hold released was never
	 * a compromise. */
	for (int64_t n = 0;; n++) {
		memset(&row, 0, sizeof(row));
		if (db_root_crl_nth(ca->db, up.ski, up.ski_len, n, &row,
				    &e) != 0) {
			if (e.kind == MICA_E_NOTFOUND)
				return 0;
			if (err != NULL)
				*err = e;
			return -1;
		}
		memset(&o, 0, sizeof(o));
		o.serial = c.serial;
		o.serial_len = c.serial_len;
		o.reason = -1;
		if (ca_crl_info_read(row.der, row.der_len, &crl, &e) != 0 ||
		    (ca_crl_foreach_entry(&crl, own_entry_cb, &o, &e) != 0 &&
		     !o.found)) {
			/* Unreadable entries of the CRL that revokes it now:
			 * judged the worst way. */
			o.found = n == 0 && revoked;
			o.reason = -1;
		}
		db_root_crl_free(&row);
		if (!o.found)
			continue;
		if (!ca_reason_condemns_key(o.reason, 1))
			return 0;
		revoker_text(sh, 1, by, by_size);
		*reason_name = o.reason < 0 ? "no reason given" :
			       ca_reason_name(o.reason);
		return 1;
	}
}

/* -1 with MICA_E_CONFLICT "key_compromised" (whose CRL, why, ADVICE)
 * when the current key must not be certified again (own_key_condemned),
 * or with the store's error; else 0. */
static int
key_condemned_refused(struct ca *ca, const char *advice, struct mica_err *err)
{
	const char *why = NULL;
	char by[140];
	int k;

	if ((k = own_key_condemned(ca, by, sizeof(by), &why, err)) <= 0)
		return k;
	return mica_err_set(err, MICA_E_CONFLICT, "key_compromised",
			    "%s revokes this CA's certificate (%s): %s", by,
			    why, advice);
}

int
ca_revoked_check(struct ca *ca, int now, struct mica_err *err)
{
	struct ca_shared *sh = ca->sh;
	int64_t ms = mica_mono_ms(), last;
	int which, known, r = 0;
	char name[100], by[140];

	/* A single-tier CA is its own root; one awaiting its certificate
	 * has none to be revoked. */
	if (sh->cert_der == NULL || sh->nchain == 0)
		return 0;
	last = atomic_load(&sh->revoked_looked_ms);
	if (now || last == 0 || ms - last >= REVOKED_LOOK_MS) {
		/* One look at a time: the others meanwhile go by what the
		 * last one found - unless none was made yet. */
		if (now || last == 0)
			pthread_mutex_lock(&sh->revoked_lock);
		else if (pthread_mutex_trylock(&sh->revoked_lock) != 0)
			goto say;
		last = atomic_load(&sh->revoked_looked_ms);
		if (now || !sh->revoked_known || last == 0 ||
		    ms - last >= REVOKED_LOOK_MS) {
			if ((r = revoked_look(ca, err)) == 0)
				atomic_store(&sh->revoked_looked_ms,
					     ms != 0 ? ms : 1);
		}
		known = sh->revoked_known;
		pthread_mutex_unlock(&sh->revoked_lock);
		/* A store that does not answer now: what the last look
		 * found stands; with none made, nothing is issued (the
		 * issuance would need the store anyway). */
		if (r != 0 && !known)
			return -1;
	}
say:
	if ((which = atomic_load(&sh->revoked)) == 0)
		return 0;
	revoker_text(sh, which, by, sizeof(by));
	if (which == 1)
		return mica_err_set(err, MICA_E_CONFLICT, "ca_revoked",
				    "%s revokes this CA's "
				    "certificate: relying parties refuse all it "
				    "issues; a new certificate lifts this "
				    "(renew-ca --new-key, then install-ca; "
				    "README: Two-tier set-up)", by);
	path_name(sh, (size_t)which - 1, name, sizeof(name));
	return mica_err_set(err, MICA_E_CONFLICT, "ca_revoked",
			    "%s revokes %s, above this CA: relying "
			    "parties refuse all this CA issues; a new certificate "
			    "under a CA not revoked lifts this (renew-ca "
			    "--new-key, then install-ca --chain)", by, name);
}

/* What import-crl says when the path's CRLs revoke WHICH (ca_shared's
 * revoked). */
static void
revoked_notice(const struct ca_shared *sh, int which,
	       const struct ca_cert_info *imported, char *notice)
{
	struct ca_cert_info up;
	const unsigned char *u;
	char name[100], by[140];
	size_t ul;

	/* The CRL just imported, or another one imported before. */
	if ((u = path_der(sh, (size_t)which, &ul)) != NULL &&
	    ca_cert_info_read(u, ul, &up, NULL) == 0 &&
	    same_name(up.ski, up.ski_len, imported->ski, imported->ski_len))
		snprintf(by, sizeof(by), "this CRL");
	else
		revoker_text(sh, which, by, sizeof(by));
	if (which == 1) {
		snprintf(notice, CA_NOTICE_MAX, "%s revokes this CA's own "
			 "certificate: relying parties reject everything it "
			 "issued, and it issues nothing more (CLI, API, ACME, "
			 "SCEP: \"ca_revoked\"; /healthz 503) until a new "
			 "certificate is installed: 'mica renew-ca --new-key "
			 "--csr-out next.csr', have its CA sign it, then "
			 "'mica install-ca --cert next.crt' (README: "
			 "\"Two-tier set-up\"), or, if it is a certificateHold, "
			 "until a newer CRL that releases it is imported", by);
		return;
	}
	path_name(sh, (size_t)which - 1, name, sizeof(name));
	snprintf(notice, CA_NOTICE_MAX, "%s revokes the certificate of "
		 "%s, above this CA: relying parties reject everything this CA "
		 "issued, and it issues nothing more (\"ca_revoked\"; /healthz "
		 "503) until it is certified under a CA that is not revoked: "
		 "'mica renew-ca --new-key --csr-out next.csr', have it signed, "
		 "then 'mica install-ca --cert next.crt --chain ...' (README: "
		 "\"Two-tier set-up\"), or, if it is a certificateHold, until "
		 "a newer CRL that releases it is imported", by, name);
}

int
ca_root_crl_import(struct ca *ca, const struct ca_principal *p,
		   const unsigned char *in, size_t len,
		   char notice[CA_NOTICE_MAX], struct mica_err *err)
{
	struct ca_crl_info crl;
	struct ca_cert_info issuer;
	struct db_root_crl row;
	struct rootcrl_tx x;
	unsigned char *der = NULL;
	size_t der_len = 0, i;
	int64_t now = ca_now();
	int found = 0, other_key = 0, rc = -1;
	char name[160], clock_note[400] = "";

	if (notice != NULL)
		notice[0] = '\0';
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca->sh->nchain == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "no_chain",
				    "this CA has no CA above it whose CRL it "
				    "could serve");
	if (ca_pem_or_der(in, len, "X509 CRL", 16u * 1024 * 1024, &der,
			  &der_len, err) != 0 ||
	    ca_crl_info_read(der, der_len, &crl, err) != 0)
		goto out;
	/* Served at /root.crl, the root's CRL must be whole: a delta lists
	 * only what changed since its base (RFC 5280 5.2.4: it never stands
	 * in for a complete CRL) and, served alone, hides what the base
	 * revoked - this CA, say; one whose issuingDistributionPoint leaves
	 * out CA certificates or some reasons does not cover this CA's
	 * certificate (5.2.5, 6.3.3); an unknown critical extension makes
	 * it unusable (5.2); and a CRL number over 63 bits could not be
	 * told newer or older than the one held. */
	if (crl.delta) {
		mica_err_set(err, MICA_E_BADREQ, "bad_crl",
			     "this is a delta CRL (deltaCRLIndicator): import "
			     "the root's complete CRL");
		goto out;
	}
	if (crl.part) {
		mica_err_set(err, MICA_E_BADREQ, "bad_crl",
			     "the CRL's issuingDistributionPoint narrows its "
			     "scope (user or attribute certificates only, some "
			     "reasons, or indirect): it does not cover this "
			     "CA's certificate; import the root's complete CRL");
		goto out;
	}
	if (crl.unknown_critical) {
		mica_err_set(err, MICA_E_BADREQ, "bad_crl",
			     "the CRL has a critical extension mica does not "
			     "know: relying parties could not use it "
			     "(RFC 5280 5.2)");
		goto out;
	}
	if (crl.number_big) {
		mica_err_set(err, MICA_E_BADREQ, "bad_crl",
			     "the CRL's number is over 63 bits: mica cannot "
			     "compare it with the one it holds");
		goto out;
	}
	/* Its issuer: a CA of this CA's chain, by name, key identifier and
	 * signature. */
	for (i = 0; i < ca->sh->nchain && !found; i++) {
		struct mica_err e2;

		if (ca_cert_info_read(ca->sh->chain[i].der,
				      ca->sh->chain[i].len, &issuer, err) != 0)
			goto out;
		if (!same_name(crl.issuer, crl.issuer_len, issuer.subject,
			       issuer.subject_len))
			continue;
		if (crl.aki != NULL && !same_name(crl.aki, crl.aki_len,
						  issuer.ski, issuer.ski_len)) {
			other_key = 1;
			continue;
		}
		if (ca_sig_verify(crl.tbs, crl.tbs_len, crl.sig_alg,
				  crl.sig_alg_len, crl.sig, crl.sig_len,
				  issuer.spki, issuer.spki_len, &e2) != 0) {
			if (e2.kind == MICA_E_UNSUPPORTED) {
				if (err != NULL)
					*err = e2;
				goto out;
			}
			continue;
		}
		found = 1;
	}
	if (!found) {
		ca_name_text(crl.issuer, crl.issuer_len, name, sizeof(name));
		if (other_key)
			mica_err_set(err, MICA_E_BADREQ, "unknown_issuer",
				     "the CRL of %s names another key of it "
				     "(its authorityKeyIdentifier is not the key "
				     "identifier of that CA's certificate in this "
				     "CA's chain): relying parties would not "
				     "take it for that certificate's", name);
		else
			mica_err_set(err, MICA_E_BADREQ, "unknown_issuer",
				     "the CRL of %s is not signed by a CA of "
				     "this CA's chain", name);
		goto out;
	}
	/* A CA between the root and this one (three tiers) publishes its
	 * own CRL where the certificates it signed say; /root.crl serves
	 * the root's alone (ca_root_crl_current), but theirs is kept too,
	 * to tell whether it revokes the certificate it signed
	 * (ca_revoked_check). */
	if (issuer.has_ku && (issuer.key_usage & CA_KU_CRL_SIGN) == 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_crl",
			     "its issuer may not sign CRLs (keyUsage)");
		goto out;
	}
	/* A CRL whose issuingDistributionPoint names a place is taken by
	 * relying parties only for certificates whose cRLDistributionPoints
	 * name it too (RFC 5280 6.3.3 (b)(2)(i)): the certificate of the
	 * path the root signed - this CA's, or the CA's below the root. */
	for (i = 0; i <= ca->sh->nchain; i++) {
		struct ca_cert_info below;
		const unsigned char *d = i == 0 ? ca->sh->cert_der :
					 ca->sh->chain[i - 1].der;
		size_t dl = i == 0 ? ca->sh->cert_len : ca->sh->chain[i - 1].len;

		if (d == NULL || ca_cert_info_read(d, dl, &below, NULL) != 0 ||
		    !same_name(below.issuer, below.issuer_len, issuer.subject,
			       issuer.subject_len) ||
		    same_name(below.subject, below.subject_len, below.issuer,
			      below.issuer_len))
			continue;
		if (!ca_crl_scope_covers(&crl, &below)) {
			ca_name_text(below.subject, below.subject_len, name,
				     sizeof(name));
			mica_err_set(err, MICA_E_BADREQ, "bad_crl",
				     "the CRL's issuingDistributionPoint names "
				     "no place the certificate of %s names in "
				     "its cRLDistributionPoints: relying "
				     "parties would not take it for that "
				     "certificate. Publish the root's CRL for "
				     "the place its certificates name", name);
			goto out;
		}
		break;
	}
	/* RFC 5280 5.1.2.5: conforming issuers include nextUpdate; a CRL
	 * without one, or past it, tells a relying party nothing now. */
	if (crl.next_update == 0 || crl.next_update <= now) {
		mica_err_set(err, MICA_E_CONFLICT, "crl_expired",
			     "the CRL has expired (or has no nextUpdate): "
			     "publish a new one on its CA");
		goto out;
	}
	if (crl.this_update > now + CLOCK_AHEAD) {
		char when[96];

		ahead_text(crl.this_update, now, when, sizeof(when));
		mica_err_set(err, MICA_E_BADREQ, "not_yet_valid",
			     "the CRL is not valid until %s (its thisUpdate): "
			     "relying parties would refuse it, and so every "
			     "certificate under the root, until then; the CRL "
			     "served stays the one before. Check the root "
			     "machine's clock, or import it then", when);
		goto out;
	}
	/* A higher number dated before the CRL it replaces: newer by RFC
	 * 5280 5.2.3, which is what counts here, but older to a relying
	 * party that goes by the date (Windows CryptoAPI keeps the one it
	 * has): taken, and said (the root's clock was likely wrong). */
	{
		struct mica_err e2;
		int64_t held_n = 0, held_tu = 0;
		int held = 0;

		if (crl.number > 0 &&
		    db_root_crl_last(ca->db, issuer.ski, issuer.ski_len,
				     &held_n, &held_tu, &held, &e2) == 0 &&
		    held && held_n > 0 && crl.number > held_n &&
		    crl.this_update < held_tu && notice != NULL) {
			char a[CA_DATE_TEXT], b[CA_DATE_TEXT];

			ca_date_text(crl.this_update, a);
			ca_date_text(held_tu, b);
			snprintf(clock_note, sizeof(clock_note),
				 "CRL %lld is dated %s, before CRL %lld which "
				 "it replaces (%s): relying parties that go by "
				 "the date (Windows) keep the older one until it "
				 "expires. Check the clock of the CA that "
				 "signed it", (long long)crl.number, a,
				 (long long)held_n, b);
		}
	}
	memset(&row, 0, sizeof(row));
	row.issuer_ski = issuer.ski;
	row.issuer_ski_len = issuer.ski_len;
	row.number = crl.number >= 0 ? crl.number : 0;
	row.this_update = crl.this_update;
	row.next_update = crl.next_update;
	row.der = der;
	row.der_len = der_len;
	row.imported_at = now;
	memset(&x, 0, sizeof(x));
	x.crl = &row;
	x.actor = p->actor;
	ca_name_text(crl.issuer, crl.issuer_len, name, sizeof(name));
	snprintf(x.detail, sizeof(x.detail), "CRL %lld of %s, %zu entries",
		 (long long)row.number, name, crl.nentries);
	if (ca_tx(ca, CA_TX_DURABLE, rootcrl_body, &x, err) != 0)
		goto out;
	/* What it revokes, worked out now for this handle (the daemon's
	 * find it within a second): this CA's certificate, or one above
	 * it that the root signed (the CA between them, in three tiers). */
	{
		struct mica_err e2;
		int which;

		(void)ca_revoked_check(ca, 1, &e2);
		if ((which = atomic_load(&ca->sh->revoked)) != 0 &&
		    notice != NULL)
			revoked_notice(ca->sh, which, &issuer, notice);
		if (notice != NULL && clock_note[0] != '\0')
			note(notice, clock_note, NULL, NULL);
	}
	rc = 0;
out:
	free(der);
	return rc;
}

int
ca_root_crl_current(struct ca *ca, struct ca_crl *out, struct mica_err *err)
{
	struct ca_cert_info root;
	struct db_root_crl row;

	memset(out, 0, sizeof(*out));
	if (ca->sh->root_der == NULL)
		return mica_err_set(err, MICA_E_NOTFOUND, "no_root_crl",
				    "this CA has no certificate yet");
	/* A single-tier CA is its own root: its own CRL. */
	if (ca->sh->nchain == 0)
		return ca_crl_current_key(ca, ca->sh->key_idx, out, err);
	if (ca_cert_info_read(ca->sh->root_der, ca->sh->root_len, &root,
			      err) != 0)
		return -1;
	memset(&row, 0, sizeof(row));
	if (db_root_crl_latest(ca->db, root.ski, root.ski_len, &row, err) != 0)
		return -1;
	out->number = row.number;
	out->this_update = row.this_update;
	out->next_update = row.next_update;
	out->der = row.der;
	out->der_len = row.der_len;
	row.der = NULL;
	db_root_crl_free(&row);
	return 0;
}

int
ca_root_crl_warning(struct ca *ca, int64_t now, char *buf, size_t size)
{
	struct ca_cert_info ci;
	struct ca_crl crl;
	struct mica_err e;
	char date[CA_DATE_TEXT], in[32], url[1100];
	int64_t left, period, ahead;

	assert(buf != NULL && size > 0);
	buf[0] = '\0';
	/* Only an issuing CA under a root serves the root's CRL, and
	 * relying parties fetch it only when this CA's certificate names it
	 * as its CRL distribution point (sign-ca's default): an AD CS or
	 * OpenSSL root, an intermediate, or sign-ca --crl-url names its own,
	 * and the copy imported to learn of a revocation matters to nobody
	 * else. */
	if (ca->sh->nchain == 0 || ca->sh->root_der == NULL ||
	    ca->sh->public_url == NULL ||
	    snprintf(url, sizeof(url), "%s/root.crl", ca->sh->public_url) >=
	    (int)sizeof(url) ||
	    ca_cert_info_read(ca->sh->cert_der, ca->sh->cert_len, &ci,
			      &e) != 0 ||
	    ca_cert_names_url(&ci, CA_URL_CRL, url) != 1)
		return 0;
	if (ca_root_crl_current(ca, &crl, &e) != 0)
		return 0;
	left = crl.next_update - now;
	period = crl.next_update - crl.this_update;
	ca_crl_free(&crl);
	/* A third of its period ahead, at most CA_EXPIRY_WARN_DAYS: a CRL
	 * of a month is not warned of all its life. */
	ahead = period / 3;
	if (ahead > (int64_t)CA_EXPIRY_WARN_DAYS * 86400)
		ahead = (int64_t)CA_EXPIRY_WARN_DAYS * 86400;
	if (left > ahead)
		return 0;
	ca_date_text(now + left, date);
	if (left <= 0) {
		snprintf(buf, size, "the root's CRL served at /root.crl (the "
			 "CRL distribution point of this CA's certificate) "
			 "expired on %s: relying parties that check revocation "
			 "refuse every certificate under this CA; import the "
			 "root's next one ('mica import-crl --help')", date);
		return 2;
	}
	if (left >= 2 * 86400)
		snprintf(in, sizeof(in), "in %lld days", (long long)(left / 86400));
	else if (left >= 2 * 3600)
		snprintf(in, sizeof(in), "in %lld hours", (long long)(left / 3600));
	else
		snprintf(in, sizeof(in), "within two hours");
	snprintf(buf, size, "the root's CRL served at /root.crl expires on %s "
		 "(%s): relying parties that check revocation refuse every "
		 "certificate under this CA once it has; import the root's "
		 "next one before then ('mica import-crl --help')", date, in);
	return 1;
}

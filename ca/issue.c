/*
 * ca/issue.c - the one path by which mica makes an end-entity
 * certificate, and the daemon's own TLS certificate through it.
 *
 * Issuance follows "record before you hand out":
 *   1. validate (CSR signature, key, policy) - nothing stored yet;
 *   2. build the TBS and lint it;
 *   3. transaction: refuse a compromised key, consume a token use,
 *      reserve the serial (status issuing, with names, validity and key
 *      hash) - short, no signing;
 *   4. sign, outside any transaction, so workers sign in parallel;
 *   5. transaction: store the DER (issuing -> valid), decide the request,
 *      link renewals, write the audit row;
 *   6. only then return the certificate.
 * A crash between 3 and 5 leaves an "issuing" row that admins see and can
 * revoke; nobody ever received that certificate. The row records the
 * token whose use it took, and once it is older than any live issuance
 * can be, ca_issue_sweep (the daemon, at start and every minute) forgets
 * it and gives the use back, as step 4's failure would have.
 */
#include "ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>

#include "ca/ca_int.h"
#include "ca/jws.h"
#include "ca/keys.h"
#include "ca/sign.h"
#include "ca/x509.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/log.h"

void
ca_issued_free(struct ca_issued *r)
{
	if (r == NULL)
		return;
	free(r->der);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------ policy -- */

int
ca_run_policy(struct ca *ca, const struct ca_principal *p,
	      const struct ca_profile *prof, const struct ca_name *names,
	      size_t nnames, int key_kind, int key_bits, int days,
	      int daemon_tls, struct ca_policy_decision *d,
	      struct mica_err *err)
{
	struct ca_policy_input in;
	char **domains = NULL;
	int rc = -1;

	/* An offline root, a CA still awaiting its certificate or one whose
	 * certificate the root revoked issues nothing: say so before judging
	 * the request. The daemon's own HTTPS certificate is made under a
	 * revoked one too: without it the daemon would not start, and it
	 * serves the CRLs that tell relying parties of the revocation. */
	if ((daemon_tls ? ca_state_certified(ca, err) :
	     ca_state_issue(ca, err)) != 0)
		return -1;
	memset(&in, 0, sizeof(in));
	in.profile = prof;
	if (ca_profile_limits(ca, prof, &in.default_days, &in.max_days, err) != 0)
		goto out;
	if (db_domain_list(ca->db, &domains, err) != 0)
		goto out;
	for (char **dp = domains; *dp != NULL; dp++)
		in.ndomains++;
	in.domains = (const char *const *)domains;
	in.names = names;
	in.nnames = nnames;
	if (p->kind == CA_PRINCIPAL_ENROLL) {
		in.scoped = 1;
		in.scope_profile = p->scope_profile;
		in.scope_names = (const char *const *)p->scope_names;
		in.nscope_names = p->nscope_names;
	}
	in.key_kind = key_kind;
	in.key_bits = key_bits;
	in.requested_days = days;
	in.now = ca_now();
	/* The end of the whole path, not only of this CA's certificate: a
	 * root may end first, and relying parties refuse the leaf then. */
	in.ca_not_after = ca->sh->path_not_after;
	in.daemon_tls = daemon_tls;
	rc = ca_policy_check(&in, d, err);
	/* A CA certificate issued from above may constrain the names further
	 * (RFC 5280 4.2.1.10): what it may not certify, it never signs. */
	for (size_t i = 0; rc == 0 && ca_nc_any(ca->sh) && i < nnames; i++) {
		if (!ca_nc_allows(ca->sh->nc, &names[i]))
			rc = mica_err_set(err, MICA_E_POLICY, "name_not_allowed",
					  "%s is outside this CA certificate's "
					  "name constraints", names[i].value);
		else if (!ca_nc_allows_path(ca->sh, &names[i]))
			rc = mica_err_set(err, MICA_E_POLICY, "name_not_allowed",
					  "%s is outside the name constraints of "
					  "a CA certificate above this one (RFC "
					  "5280 6.1.4: relying parties apply them "
					  "all)", names[i].value);
	}
	/* Nor before the CA certificate (one from above may start the
	 * minute it was signed). */
	if (rc == 0 && d->not_before < ca->sh->not_before &&
	    ca->sh->not_before < d->not_after)
		d->not_before = ca->sh->not_before;
out:
	db_strv_free(domains);
	return rc;
}

/* ------------------------------------------------------- the path -- */

/* ca_issue()'s store transactions, as bodies for ca_tx(). */
struct reserve_tx {
	const struct ca_issue_job *j;
	const struct db_cert *rec;
	int failed_at;              /* 1 consuming the token, 2 reserving,
				     * 3 using the renewal nonce, 4 the
				     * caller's record (on_record) */
};

/* The RSA half of a key's identity (ca_int.h). The SPKI is walked by
 * hand: its algorithm OID decides, and only the modulus is read. */
int
ca_key_rsa_id(const unsigned char *spki, size_t len, unsigned char out[32])
{
	static const char label[] = "mica rsa modulus";
	unsigned char *p = (unsigned char *)spki, *end, *alg_end;
	mbedtls_asn1_buf oid;
	mbedtls_sha256_context h;
	size_t l;

	if (spki == NULL || len == 0)
		return -1;
	end = p + len;
	if (mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0)
		return -1;
	end = p + l;
	if (mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0)
		return -1;
	alg_end = p + l;
	if (mbedtls_asn1_get_tag(&p, alg_end, &oid.len, MBEDTLS_ASN1_OID) != 0)
		return -1;
	oid.p = p;
	if (MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS1_RSA, &oid) != 0)
		return 0;
	p = alg_end;
	if (mbedtls_asn1_get_bitstring_null(&p, end, &l) != 0 ||
	    mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0 ||
	    mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_INTEGER) != 0)
		return -1;
	/* The modulus as an unsigned number: without DER's sign octet. */
	while (l > 1 && *p == 0) {
		p++;
		l--;
	}
	mbedtls_sha256_init(&h);
	if (mbedtls_sha256_starts(&h, 0) != 0 ||
	    mbedtls_sha256_update(&h, (const unsigned char *)label,
				  sizeof(label)) != 0 ||
	    mbedtls_sha256_update(&h, p, l) != 0 ||
	    mbedtls_sha256_finish(&h, out) != 0) {
		mbedtls_sha256_free(&h);
		return -1;
	}
	mbedtls_sha256_free(&h);
	return 1;
}

/* "A compromised key is never certified again, by anyone": checked here,
 * on the path every issuance takes, in the transaction that reserves the
 * serial, so a revocation for keyCompromise committed before it cannot
 * be missed. One primary-key lookup, two for an RSA key (its modulus:
 * whoever holds the factors has the private key for every exponent). */
int
ca_key_check(struct db *db, const unsigned char *spki, size_t spki_len,
	     const unsigned char spki_hash[32], struct mica_err *err)
{
	unsigned char id[32];
	int bad = 0, r;

	if (db_key_compromised(db, spki_hash, &bad, err) != 0)
		return -1;
	if (!bad && (r = ca_key_rsa_id(spki, spki_len, id)) != 0) {
		if (r < 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_key",
					    "the public key does not parse");
		if (db_key_compromised(db, id, &bad, err) != 0)
			return -1;
	}
	if (bad)
		return mica_err_set(err, MICA_E_POLICY, "key_compromised",
				    "this public key was revoked for key compromise "
				    "and is never certified again: generate a new key");
	return 0;
}

int
ca_account_key(struct db *db, const unsigned char *spki, size_t spki_len,
	       int *is, struct mica_err *err)
{
	struct db_acme_account a;
	struct mica_err e2;
	unsigned char th[32];
	int r;

	*is = 0;
	if ((r = ca_jwk_spki_thumbprint(spki, spki_len, th)) == 1)
		return 0;       /* no account key is of its kind */
	if (r != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	if (db_acme_account_by_key(db, th, &a, &e2) == 0) {
		db_acme_account_free(&a);
		*is = 1;
		return 0;
	}
	if (e2.kind == MICA_E_NOTFOUND)
		return 0;
	if (err != NULL)
		*err = e2;
	return -1;
}

int
ca_key_certifiable(struct db *db, const unsigned char *spki, size_t spki_len,
		   const unsigned char spki_hash[32], struct mica_err *err)
{
	int is;

	if (ca_key_check(db, spki, spki_len, spki_hash, err) != 0 ||
	    ca_account_key(db, spki, spki_len, &is, err) != 0)
		return -1;
	/* RFC 8555 11.1: an ACME account's key (of any account, of any
	 * status) is never certified. */
	if (is)
		return mica_err_set(err, MICA_E_POLICY, "account_key",
				    "this public key is an ACME account's key "
				    "(RFC 8555 11.1): a certificate needs a key "
				    "of its own");
	return 0;
}

static int
reserve_body(struct db *db, void *arg, struct mica_err *err)
{
	struct reserve_tx *x = arg;

	if (ca_key_certifiable(db, x->j->spki, x->j->spki_len,
			       x->j->spki_hash, err) != 0)
		return -1;
	/* The proof is used up with the renewal it allows, or not at all. */
	if (x->j->consume_challenge != NULL &&
	    db_challenge_consume(db, x->j->renewal_of, x->j->consume_challenge,
				 ca_now(), CA_CHALLENGE_TTL, err) != 0) {
		x->failed_at = 3;
		return -1;
	}
	/* Consuming the use also records it (last_used_at), here. */
	if (x->j->consume_token != NULL &&
	    db_token_consume(db, x->j->consume_token, ca_now(), err) != 0) {
		x->failed_at = 1;
		return -1;
	}
	if (db_cert_reserve(db, x->rec, err) != 0) {
		x->failed_at = 2;
		return -1;
	}
	if (ca_on_record_run(x->j->on_record, db, "", x->rec->serial,
			     err) != 0) {
		x->failed_at = 4;
		return -1;
	}
	return 0;
}

struct complete_tx {
	struct ca *ca;
	const struct ca_issue_job *j;
	const char *serial_hex;
	const unsigned char *cert;
	size_t cert_len;
	const char *detail;
	struct ca_crl_ahead *crl;   /* a superseding renewal: the CRLs that
				     * revoke the old certificate */
	int late;                   /* revoked while being signed */
};

static int
complete_body(struct db *db, void *arg, struct mica_err *err)
{
	struct complete_tx *x = arg;
	const struct ca_issue_job *j = x->j;
	int r;

	if ((r = db_cert_complete(db, x->serial_hex, x->cert, x->cert_len,
				  err)) < 0)
		return -1;
	if ((x->late = r == 1)) {
		/* Revoked while it was being signed (a keyCompromise of its
		 * key, or by serial): its DER goes on record, revoked, and
		 * no one gets it; the request it answers stays as it was. */
		char why[300];

		snprintf(why, sizeof(why), "%s; revoked while being signed, "
			 "not delivered", x->detail);
		return db_audit_add(db, ca_now(), j->p->actor, j->action,
				    x->serial_hex, why, err);
	}
	if (j->request_id != NULL &&
	    db_req_decide(db, j->request_id, DB_REQ_ISSUED, j->p->actor,
			  x->serial_hex, NULL, ca_now(), err) != 0)
		return -1;
	if (j->record != NULL) {
		snprintf(j->record->serial, sizeof(j->record->serial), "%s", x->serial_hex);
		j->record->decided_at = ca_now();
		if (db_req_insert(db, j->record, err) != 0 ||
		    db_cert_set_request(db, x->serial_hex, j->record->id, err) != 0)
			return -1;
	}
	if (j->renewal_of != NULL) {
		if (db_cert_link_renewal(db, j->renewal_of, x->serial_hex, err) != 0)
			return -1;
		/* A superseding renewal runs with CA_TX_OWN: the CRL,
		 * signed ahead, is stored in this transaction (or signed
		 * here if it lost a race). The revocation is audited as
		 * one, like any other. */
		if (j->supersede) {
			char why[96];
			int64_t at = ca_crl_ahead_time(x->crl);

			snprintf(why, sizeof(why), "%s, renewed by %s",
				 ca_reason_name(CA_REASON_SUPERSEDED), x->serial_hex);
			if (db_cert_revoke(db, j->renewal_of, CA_REASON_SUPERSEDED,
					   at, err) != 0 ||
			    db_audit_add(db, at, j->p->actor, "cert.revoke",
					 j->renewal_of, why, err) != 0 ||
			    ca_crl_ahead_store(x->ca, db, j->p->actor, x->crl, NULL,
					       err) != 0)
				return -1;
		}
	}
	if (j->on_stored != NULL &&
	    j->on_stored(db, j->on_stored_arg, x->serial_hex, err) != 0)
		return -1;
	return db_audit_add(db, ca_now(), j->p->actor, j->action, x->serial_hex,
			    x->detail, err);
}

struct discard_tx {
	const char *serial_hex;
	const char *token;          /* give one use back, or NULL */
};

static int
discard_body(struct db *db, void *arg, struct mica_err *err)
{
	struct discard_tx *x = arg;

	if (db_cert_discard(db, x->serial_hex, err) != 0)
		return -1;
	return x->token != NULL ? db_token_refund(db, x->token, err) : 0;
}

/* ------------------------------------------------------- the sweep -- */

#define SWEEP_BATCH 100

struct sweep_tx {
	const char *actor;
	int64_t before, now;
	size_t certs, orders;   /* this batch's */
	size_t refunds;         /* token uses given back in this batch */
};

static int
sweep_body(struct db *db, void *arg, struct mica_err *err)
{
	struct sweep_tx *x = arg;
	struct db_cert_stale *rows = NULL;
	char (*ids)[40] = NULL;
	char detail[300], names[128];
	size_t n = 0, m = 0;
	int rc = -1;

	x->certs = x->orders = x->refunds = 0;
	if (db_cert_stale_list(db, x->before, SWEEP_BATCH, &rows, &n, err) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct mica_err e2;
		const char *use = "";

		if (db_cert_discard(db, rows[i].serial, err) != 0)
			goto out;
		if (rows[i].token_id[0] != '\0') {
			if (db_token_refund(db, rows[i].token_id, &e2) == 0) {
				use = "; the use of token ";
				x->refunds++;
			} else if (e2.kind != MICA_E_NOTFOUND) {
				*err = e2;
				goto out;
			}
		}
		/* The names, on one line, as many as fit. */
		snprintf(names, sizeof(names), "%s", rows[i].names != NULL ? rows[i].names : "");
		for (char *c = names; *c != '\0'; c++)
			if (*c == '\n')
				*c = ',';
		snprintf(detail, sizeof(detail), "issuance interrupted (the process "
			 "stopped before the certificate was stored), never handed "
			 "out; names %s%s%s%s", names[0] ? names : "-", use,
			 use[0] ? rows[i].token_id : "", use[0] ? " given back" : "");
		if (db_audit_add(db, x->now, x->actor, "cert.abandoned",
				 rows[i].serial, detail, err) != 0)
			goto out;
	}
	x->certs = n;
	if (db_acme_order_stale(db, x->before, SWEEP_BATCH, &ids, &m, err) != 0)
		goto out;
	for (size_t i = 0; i < m; i++) {
		static const char why[] = "issuance was interrupted (the server "
					  "stopped); finalize a new order";

		if (db_acme_order_move(db, ids[i], "processing", "invalid", NULL,
				       "server_internal", why, x->now, err) != 0 ||
		    db_audit_add(db, x->now, x->actor, "acme.order.invalid", ids[i],
				 why, err) != 0)
			goto out;
	}
	x->orders = m;
	rc = 0;
out:
	db_cert_stale_free(rows, n);
	free(ids);
	return rc;
}

int
ca_issue_sweep(struct ca *ca, const char *actor, int64_t *certs,
	       int64_t *orders, int64_t *refunds, struct mica_err *err)
{
	struct sweep_tx x;
	int64_t nc = 0, no = 0, nr = 0;

	if (certs != NULL)
		*certs = 0;
	if (orders != NULL)
		*orders = 0;
	if (refunds != NULL)
		*refunds = 0;
	/* A look first, outside any transaction: there is rarely anything,
	 * and a write transaction every minute would take the write lock
	 * from the certificates being issued. */
	{
		struct db_cert_stale *rows = NULL;
		char (*ids)[40] = NULL;
		size_t n = 0, m = 0;
		int64_t before = ca_now() - CA_ISSUE_ABANDON_S;

		if (db_cert_stale_list(ca->db, before, 1, &rows, &n, err) != 0)
			return -1;
		db_cert_stale_free(rows, n);
		if (n == 0) {
			if (db_acme_order_stale(ca->db, before, 1, &ids, &m, err) != 0)
				return -1;
			free(ids);
			if (m == 0)
				return 0;
		}
	}
	memset(&x, 0, sizeof(x));
	x.actor = actor;
	do {
		x.now = ca_now();
		x.before = x.now - CA_ISSUE_ABANDON_S;
		if (ca_tx(ca, CA_TX_DURABLE, sweep_body, &x, err) != 0)
			return -1;
		nc += (int64_t)x.certs;
		no += (int64_t)x.orders;
		nr += (int64_t)x.refunds;
		if (certs != NULL)
			*certs = nc;
		if (orders != NULL)
			*orders = no;
		if (refunds != NULL)
			*refunds = nr;
	} while (x.certs == SWEEP_BATCH || x.orders == SWEEP_BATCH);
	return 0;
}

struct lint_refused_tx {
	const char *actor, *names, *detail;
};

static int
lint_refused_body(struct db *db, void *arg, struct mica_err *err)
{
	struct lint_refused_tx *x = arg;

	return db_audit_add(db, ca_now(), x->actor, "lint.refused", x->names,
			    x->detail, err);
}

/* The background OCSP refresh (web/ocsp.c) holds its signing back while
 * this is recent: the cores go to the certificates being asked for. */
static void
issuing_now(struct ca *ca)
{
	atomic_store(&ca->sh->issuing_ms, mica_mono_ms());
}

int64_t
ca_issue_idle_ms(struct ca *ca)
{
	int64_t at = atomic_load(&ca->sh->issuing_ms);

	return at == 0 ? INT64_MAX : mica_mono_ms() - at;
}

int
ca_issue(struct ca *ca, const struct ca_issue_job *j, struct ca_issued *out,
	 struct mica_err *err)
{
	struct ca_tbs_cert t;
	struct ca_lint_cert_expect ex;
	struct db_cert rec;
	unsigned char serial[16], *subject = NULL, *tbs = NULL, *cert = NULL;
	size_t subject_len = 0, tbs_len = 0, cert_len = 0, alg_len;
	const unsigned char *alg;
	char serial_hex[CA_SERIAL_MAX], subj_disp[300], detail[300];
	char *names_joined = NULL;
	const char *cn = NULL;
	int reserved = 0, consumed = 0, rc = -1, tries = 0, crc;
	struct mica_err e2;
	struct reserve_tx rx;
	struct complete_tx cx;
	struct discard_tx dx;
	struct lint_refused_tx lx;

	if (ca_insecure(ca, err) != 0 ||
	    (j->daemon_tls ? ca_state_certified(ca, err) :
	     ca_state_issue(ca, err)) != 0 ||
	    ca_sign_ready(ca, err) != 0)
		return -1;
	issuing_now(ca);
	memset(&rec, 0, sizeof(rec));
	/* Subject: CN = the first name when it fits the 64-character bound;
	 * otherwise an empty subject with a critical SAN (RFC 5280 4.2.1.6).
	 * A UPN's CN is the UPN itself, without "upn:", as AD CS's user
	 * certificates show the account. */
	if (strlen(ca_name_bare(&j->names[0])) <= 64)
		cn = ca_name_bare(&j->names[0]);
	/* Under name constraints relying parties read the CN as a host name
	 * and check it against the dNSName subtrees: OpenSSL refuses one of
	 * dots and digits, GnuTLS and NSS one with an '@' (an email address
	 * of an ipsec certificate, which has serverAuth). Anything but a
	 * host name (an address, an email address, a UPN) goes in the SAN
	 * alone. */
	if (ca_nc_any(ca->sh) && j->names[0].kind != CA_NAME_DNS)
		cn = NULL;
	/* A TLS server's CN is one of its host names or addresses (CA/B
	 * Forum BR 7.1.4.3, zlint's e_subject_common_name_not_exactly_
	 * from_san): an email address first (an ipsec certificate) goes in
	 * the SAN alone there too. */
	if ((j->d->eku & CA_EKU_SERVER_AUTH) &&
	    j->names[0].kind == CA_NAME_EMAIL)
		cn = NULL;
	if (cn != NULL) {
		if (ca_x509_name(cn, NULL, &subject, &subject_len, err) != 0)
			goto out;
		snprintf(subj_disp, sizeof(subj_disp), "CN=%s", cn);
	} else {
		static const unsigned char empty_name[] = { 0x30, 0x00 };
		if ((subject = malloc(2)) == NULL)
			goto oom;
		memcpy(subject, empty_name, 2);
		subject_len = 2;
		subj_disp[0] = '\0';
	}
	if ((names_joined = ca_join_names(j->names, j->nnames)) == NULL)
		goto oom;
	alg = ca_sign_alg(ca, &alg_len);

again:
	if (ca_serial_new(serial, serial_hex, err) != 0)
		goto out;
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = ca->sh->subject;
	t.issuer_len = ca->sh->subject_len;
	t.subject = subject;
	t.subject_len = subject_len;
	t.not_before = j->d->not_before;
	t.not_after = j->d->not_after;
	t.spki = j->spki;
	t.spki_len = j->spki_len;
	t.is_ca = 0;
	t.path_len = -1;
	t.key_usage = j->d->key_usage;
	t.eku = j->d->eku;
	t.names = j->names;
	t.nnames = j->nnames;
	if (ca_x509_key_id(j->spki, j->spki_len, t.ski, err) != 0)
		goto out;
	t.has_aki = 1;
	memcpy(t.aki, ca->sh->ski, ca->sh->ski_len);
	t.aki_len = ca->sh->ski_len;
	t.crl_url = ca->sh->crl_url;
	t.aia_url = ca->sh->aia_url;
	t.ocsp_url = ca->sh->ocsp_url;
	free(tbs);
	tbs = NULL;
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, err) != 0)
		goto out;
	memset(&ex, 0, sizeof(ex));
	ex.issuer = ca->sh->subject;
	ex.issuer_len = ca->sh->subject_len;
	ex.issuer_not_before = ca->sh->not_before;
	ex.issuer_not_after = ca->sh->not_after;
	ex.key_usage = t.key_usage;
	ex.eku = t.eku;
	ex.names = j->names;
	ex.nnames = j->nnames;
	ex.aki = ca->sh->ski;
	ex.aki_len = ca->sh->ski_len;
	ex.issuer_nc = ca->sh->nc;
	if (ca_lint_cert(tbs, tbs_len, &ex, err) != 0) {
		/* Never sign what fails the lint; leave a trace for admins. */
		snprintf(detail, sizeof(detail), "refused before signing: %s", err ? err->msg : "lint");
		lx.actor = j->p->actor;
		lx.names = names_joined;
		lx.detail = detail;
		if (ca_tx(ca, 0, lint_refused_body, &lx, &e2) != 0)
			mica_log(MICA_LOG_WARN, "cannot record a refused lint: %s", e2.msg);
		mica_log(MICA_LOG_ERR, "lint refused a certificate for %s: %s",
			 j->names[0].value, err ? err->msg : "");
		goto out;
	}

	/* Record the intent (and consume the token use) before signing. */
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.serial, sizeof(rec.serial), "%s", serial_hex);
	rec.profile = (char *)j->prof->name;
	rec.subject = subj_disp;
	rec.names = names_joined;
	rec.request_id = (char *)j->request_id;
	rec.not_before = t.not_before;
	rec.not_after = t.not_after;
	memcpy(rec.spki_sha256, j->spki_hash, 32);
	rec.status = DB_CERT_ISSUING;
	rec.reason = -1;
	rec.created_at = ca_now();
	rec.key_idx = ca->sh->key_idx;
	rec.token_id = j->consume_token;
	rx.j = j;
	rx.rec = &rec;
	rx.failed_at = 0;
	if (ca_tx(ca, 0, reserve_body, &rx, err) != 0) {
		if (rx.failed_at == 1) {
			/* Used up or gone meanwhile: the client's token is bad.
			 * A failing store stays a store failure (503). */
			if (err != NULL && (err->kind == MICA_E_FORBIDDEN ||
					    err->kind == MICA_E_NOTFOUND))
				mica_err_set(err, MICA_E_UNAUTH, "bad_token",
					     "the token is not valid (unknown, revoked, expired or used up)");
		} else if (rx.failed_at == 2 && err != NULL &&
			   err->kind == MICA_E_CONFLICT && ++tries < 4) {
			goto again;    /* two serials of one millisecond
					 * with one 80-bit tail: draw again */
		} else if (rx.failed_at == 3 && err != NULL &&
			   err->kind == MICA_E_FORBIDDEN) {
			mica_err_set(err, MICA_E_FORBIDDEN, "bad_proof",
				     "the CSR's challengePassword is not a live renewal "
				     "challenge of certificate %s (unknown, used, expired "
				     "or for another certificate): ask for a new one and "
				     "sign a new CSR with it", j->renewal_of);
		}
		goto out;
	}
	reserved = 1;
	consumed = j->consume_token != NULL;
	/* Tests hold a protocol's issuance here, reserved and not signed (a
	 * process killed now: tests/e2e/scep.sh). */
	if (j->on_record != NULL)
		MICA_TEST_GATE("MICA_TEST_RECORDED_ISSUE_GATE");

	/* Sign outside any transaction. */
	if (ca_sign_leaf(ca, tbs, tbs_len, &cert, &cert_len, err) != 0)
		goto out;

	/* Store it; only a committed certificate leaves this function. A
	 * renewal that supersedes publishes a CRL in the same transaction, on
	 * this handle's connection, so it does not hold up the batch. */
	snprintf(detail, sizeof(detail), "profile %s, %d days%s%s%s%s%s%s",
		 j->prof->name, j->d->days,
		 j->renewal_of ? ", renews " : "", j->renewal_of ? j->renewal_of : "",
		 j->consume_challenge ? ", fresh proof of possession" : "",
		 j->d->clamped ? (ca->sh->path_end_name[0] != '\0' ?
				  ", clamped to the notAfter of a CA above" :
				  ", clamped to the CA's notAfter") : "",
		 j->note != NULL ? ", " : "", j->note != NULL ? j->note : "");
	cx.ca = ca;
	cx.j = j;
	cx.serial_hex = serial_hex;
	cx.cert = cert;
	cx.cert_len = cert_len;
	cx.detail = detail;
	cx.crl = NULL;
	cx.late = 0;
	if (j->supersede && j->renewal_of != NULL &&
	    (cx.crl = ca_crl_ahead_new(ca, j->renewal_of, 0,
				       CA_REASON_SUPERSEDED, 0)) == NULL)
		goto oom;
	crc = ca_tx(ca, CA_TX_DURABLE | (j->supersede ? CA_TX_OWN : 0),
		    complete_body, &cx, err);
	ca_crl_ahead_free(cx.crl);
	if (crc != 0) {
		/* Gone: this took so long (a stopped process) that the sweep
		 * took the row for one a crash left, and gave the use back. */
		if (err != NULL && err->kind == MICA_E_NOTFOUND &&
		    strcmp(err->code, "certificate_not_found") == 0)
			mica_err_set(err, MICA_E_UNAVAIL, "issuance_abandoned",
				     "issuance took longer than %d s and was "
				     "abandoned; nothing was issued: submit again",
				     CA_ISSUE_ABANDON_S);
		goto out;
	}
	reserved = 0;
	issuing_now(ca);
	if (cx.late) {
		mica_err_set(err, MICA_E_CONFLICT, "not_issuing",
			     "the certificate was revoked while it was being "
			     "issued; it is recorded as revoked");
		goto out;
	}

	snprintf(out->serial, sizeof(out->serial), "%s", serial_hex);
	out->status = CA_REQ_ISSUED;
	out->der = cert;
	out->der_len = cert_len;
	out->key_idx = rec.key_idx;
	cert = NULL;
	out->not_before = t.not_before;
	out->not_after = t.not_after;
	out->clamped = j->d->clamped;
	if (j->d->clamped && ca->sh->path_end_name[0] != '\0')
		snprintf(out->notice, sizeof(out->notice),
			 "validity was shortened to end with the CA certificate "
			 "of %s, above this CA, which ends first",
			 ca->sh->path_end_name);
	else if (j->d->clamped)
		snprintf(out->notice, sizeof(out->notice),
			 "validity was shortened to end with the CA certificate");
	rc = 0;
	goto out;
oom:
	mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
out:
	if (rc != 0 && reserved) {
		/* Nothing left the process: forget the reservation and give the
		 * token use back. If the store is failing this may fail too; the
		 * row then stays "issuing", visible to admins and revocable. */
		dx.serial_hex = serial_hex;
		dx.token = consumed ? j->consume_token : NULL;
		ca_tx(ca, 0, discard_body, &dx, &e2);
	}
	if (cert != NULL)
		explicit_bzero(cert, cert_len);
	free(cert);
	free(tbs);
	free(subject);
	free(names_joined);
	return rc;
}

/* ------------------------------------------- the daemon's certificate -- */

int
ca_spki_key(const unsigned char *spki, size_t len, int *kind, int *bits,
	    struct mica_err *err)
{
	mbedtls_pk_context pk;
	const mbedtls_ecp_keypair *ec;
	int rc = -1;

	*kind = 0;
	*bits = 0;
	mbedtls_pk_init(&pk);
	if (mbedtls_pk_parse_public_key(&pk, spki, len) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_key", "the public key does not parse");
		goto out;
	}
	*bits = (int)mbedtls_pk_get_bitlen(&pk);
	switch (mbedtls_pk_get_type(&pk)) {
	case MBEDTLS_PK_RSA:
		*kind = CA_PUBKEY_RSA;
		break;
	case MBEDTLS_PK_ECKEY:
		if ((ec = mbedtls_pk_ec(pk)) == NULL)
			break;
		switch (mbedtls_ecp_keypair_get_group_id(ec)) {
		case MBEDTLS_ECP_DP_SECP256R1: *kind = CA_PUBKEY_EC_P256; break;
		case MBEDTLS_ECP_DP_SECP384R1: *kind = CA_PUBKEY_EC_P384; break;
		default: break;
		}
		break;
	default:
		break;
	}
	rc = 0;
out:
	mbedtls_pk_free(&pk);
	return rc;
}

int
ca_renewal_link_cert(struct db *db, const struct db_cert *prev,
		     const char *serial, struct mica_err *err)
{
	if (strcmp(prev->serial, serial) == 0 || prev->status != DB_CERT_VALID ||
	    prev->renewed_by[0] != '\0' || prev->not_after <= ca_now())
		return 0;
	return db_cert_link_renewal(db, prev->serial, serial, err);
}

int
ca_renewal_link_current(struct db *db, const char *prev, const char *serial,
			struct mica_err *err)
{
	struct db_cert c;
	int rc;

	if (prev == NULL || prev[0] == '\0' || strcmp(prev, serial) == 0)
		return 0;
	memset(&c, 0, sizeof(c));
	if (db_cert_get(db, prev, &c, err) != 0)
		return err->kind == MICA_E_NOTFOUND ? 0 : -1;
	rc = ca_renewal_link_cert(db, &c, serial, err);
	db_cert_free(&c);
	return rc;
}

/* PREV, the daemon's recorded certificate, was abandoned
 * (cessationOfOperation) by a ca_tls_abandon that revoked it but did
 * not get to undo its record (the daemon killed, the store failing):
 * finish that, so that PREV becomes the one it renewed, which the new
 * certificate then renews. */
static int
tls_unabandoned(struct db *db, char prev[DB_SERIAL_MAX], struct mica_err *err)
{
	struct db_cert c, o;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	if (db_cert_get(db, prev, &c, err) != 0)
		return err->kind == MICA_E_NOTFOUND ? 0 : -1;
	if (c.status == DB_CERT_VALID || c.reason != CA_REASON_CESSATION ||
	    c.renewal_of[0] == '\0')
		goto out;
	if (db_cert_get(db, c.renewal_of, &o, err) != 0) {
		rc = err->kind == MICA_E_NOTFOUND ? 0 : -1;
		goto out;
	}
	if (strcmp(o.renewed_by, prev) != 0)
		goto out;
	if ((rc = db_cert_unlink_renewal(db, c.renewal_of, prev, err)) == 0)
		snprintf(prev, DB_SERIAL_MAX, "%s", c.renewal_of);
out:
	db_cert_free(&o);
	db_cert_free(&c);
	return rc;
}

/* In the transaction that stores the daemon's new TLS certificate
 * SERIAL: the certificate it had before (of a key that went with its
 * process, or that it replaced when the certificate was due) is renewed
 * by this one if still current, and SERIAL is the daemon's from now on.
 * In the same commit as the certificate: a daemon killed before it
 * serves it leaves nothing unaccounted for (the next start's renews it
 * in turn). If it is never served, ca_tls_abandon undoes this. */
static int
daemon_tls_stored(struct db *db, void *arg, const char *serial,
		  struct mica_err *err)
{
	char prev[DB_SERIAL_MAX];

	(void)arg;
	if (db_ca_tls_serial(db, prev, err) != 0) {
		/* A damaged record must not keep the daemon from its
		 * certificate: it is overwritten below. */
		if (strcmp(err->code, "store_corrupt") != 0)
			return -1;
		mica_log(MICA_LOG_WARN, "the record of the daemon's previous "
			 "TLS certificate is malformed; replaced");
		prev[0] = '\0';
	}
	if (prev[0] != '\0' && tls_unabandoned(db, prev, err) != 0)
		return -1;
	if (ca_renewal_link_current(db, prev, serial, err) != 0)
		return -1;
	return db_ca_set_tls_serial(db, serial, err);
}

/* The body of ca_tls_abandon: ARG the serial never served. The one it
 * renewed (the one still served) is no longer renewed, and is the
 * daemon's again. */
static int
tls_abandon_body(struct db *db, void *arg, struct mica_err *err)
{
	const char *serial = arg;
	char rec[DB_SERIAL_MAX];
	struct db_cert c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (db_cert_get(db, serial, &c, err) != 0)
		return -1;
	if (c.renewal_of[0] != '\0' &&
	    db_cert_unlink_renewal(db, c.renewal_of, serial, err) != 0)
		goto out;
	if (db_ca_tls_serial(db, rec, err) != 0)
		rec[0] = '\0';
	if (strcmp(rec, serial) == 0 && c.renewal_of[0] != '\0' &&
	    db_ca_set_tls_serial(db, c.renewal_of, err) != 0)
		goto out;
	rc = 0;
out:
	db_cert_free(&c);
	return rc;
}

int
ca_tls_abandon(struct ca *ca, const struct ca_principal *p,
	       const char *serial_in, struct mica_err *err)
{
	char serial[CA_SERIAL_MAX];

	if (ca_require_admin(p, err) != 0 ||
	    ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	/* Revoked first: whatever happens next, a certificate whose key
	 * is gone is not left valid. Its renewal link then no longer
	 * counts (a renewal counts while valid); the transaction below
	 * only tidies the record. */
	if (ca_revoke_one(ca, p, serial, CA_REASON_CESSATION, err) != 0)
		return -1;
	return ca_tx(ca, CA_TX_DURABLE, tls_abandon_body, serial, err);
}

int
ca_issue_for_spki(struct ca *ca, const struct ca_principal *p,
		  const char *profile, const unsigned char *spki,
		  size_t spki_len, const char *const *names, size_t nnames,
		  int days, struct ca_issued *out, struct mica_err *err)
{
	const struct ca_profile *prof;
	struct ca_policy_decision d;
	struct ca_name *v = NULL;
	struct ca_issue_job j;
	unsigned char hash[32];
	char **doms = NULL;
	size_t nv = 0, nc_out = 0;
	int kind, bits, rc = -1;

	memset(out, 0, sizeof(*out));
	if (ca_require_admin(p, err) != 0)
		return -1;
	if ((prof = ca_profile_get(profile, err)) == NULL)
		return -1;
	if (nnames == 0 || nnames > CA_NAMES_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "no_names", "1 to %d names", CA_NAMES_MAX);
	if ((v = calloc(nnames, sizeof(*v))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	if (db_domain_list(ca->db, &doms, err) != 0)
		goto out;
	for (size_t i = 0; i < nnames; i++) {
		struct ca_name *nm = &v[nv];
		int under = doms[0] == NULL;

		/* The parser wants two labels; "localhost" is handed to the
		 * policy as it is, which allows it for this certificate only
		 * (daemon_tls). */
		if (names[i] != NULL && strcasecmp(names[i], "localhost") == 0) {
			nm->kind = CA_NAME_DNS;
			snprintf(nm->value, sizeof(nm->value), "localhost");
			/* Not under name constraints from above, though. */
			if (ca_nc_allows_path(ca->sh, nm))
				nv++;
			else
				mica_log(MICA_LOG_INFO, "the daemon's certificate "
					 "leaves out localhost: outside this CA "
					 "certificate's name constraints");
			continue;
		}
		if (ca_name_parse(names[i], 0, nm, err) != 0)
			goto out;
		/* The machine's other names (its host name, the host of
		 * the public URL) go in only under an allowed domain: the
		 * signer signs nothing else. */
		for (char **dm = doms; *dm != NULL && !under; dm++)
			under = ca_name_in_domain(nm, *dm);
		if (!ca_nc_allows_path(ca->sh, nm)) {
			/* Said as it is: the constraints of this CA's
			 * certificate or one above it, not its domains. */
			mica_log(MICA_LOG_INFO, "the daemon's certificate "
				 "leaves out %s: outside the name constraints "
				 "of this CA's certificate or of one above it",
				 nm->value);
			nc_out++;
			continue;
		}
		if (nm->kind == CA_NAME_IP)
			under = 1;
		if (under)
			nv++;
		else
			mica_log(MICA_LOG_INFO, "the daemon's certificate "
				 "leaves out %s: not under an allowed domain",
				 nm->value);
	}
	if (nv == 0) {
		mica_err_set(err, MICA_E_POLICY, "name_not_allowed",
			     "none of the daemon's names is allowed%s",
			     nc_out > 0 ? " (some are outside the name "
			     "constraints of this CA's certificate or of one "
			     "above it: see the log; --public-url names the "
			     "host clients reach the daemon by)" : "");
		goto out;
	}
	nnames = nv;
	if (ca_spki_key(spki, spki_len, &kind, &bits, err) != 0 ||
	    ca_run_policy(ca, p, prof, v, nnames, kind, bits, days, 1, &d,
			  err) != 0)
		goto out;
	ca_sha256(spki, spki_len, hash);
	memset(&j, 0, sizeof(j));
	j.p = p;
	j.prof = prof;
	j.spki = spki;
	j.spki_len = spki_len;
	j.spki_hash = hash;
	j.names = v;
	j.nnames = nnames;
	j.d = &d;
	j.action = "cert.issue";
	j.on_stored = daemon_tls_stored;
	j.daemon_tls = 1;
	rc = ca_issue(ca, &j, out, err);
out:
	ca_strv_free(doms);
	free(v);
	return rc;
}

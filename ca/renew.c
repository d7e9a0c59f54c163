/*
 * ca/renew.c - renewing a certificate: same names and profile, the old key
 * or a new one, and who may do which; and the one-time challenges that let
 * a client without a token prove it holds the old key now.
 *
 * A CSR is no secret (it travels to admins, logs, tickets): a copy of the
 * victim's old CSR once sufficed to renew - and, with supersede, to revoke
 * - the victim's certificate. The CSR's self-signature proves possession
 * only if it covers something fresh: a nonce mica handed out for this
 * certificate minutes ago, in the challengePassword attribute.
 */
#include "ca/ca.h"

#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "ca/ca_int.h"
#include "ca/csr.h"
#include "ca/keys.h"
#include "util/hex.h"

/* A certificate that may still be renewed by its holder: signed, not
 * revoked, not expired. */
static int
renewable(const struct db_cert *old, const char *serial, struct mica_err *err)
{
	if (old->status == DB_CERT_REVOKED)
		return mica_err_set(err, MICA_E_CONFLICT, "revoked",
				    "certificate %s is revoked and cannot be renewed", serial);
	if (old->der == NULL)
		return mica_err_set(err, MICA_E_CONFLICT, "not_issued",
				    "certificate %s was never completed; revoke it instead",
				    serial);
	if (old->not_after <= ca_now())
		return mica_err_set(err, MICA_E_CONFLICT, "expired",
				    "certificate %s has expired; request a new one", serial);
	return 0;
}

static int
get_old(struct ca *ca, const char *serial, struct db_cert *old,
	struct mica_err *err)
{
	if (db_cert_get(ca->db, serial, old, err) == 0)
		return 0;
	if (err != NULL && err->kind == MICA_E_NOTFOUND)
		mica_err_set(err, MICA_E_NOTFOUND, "not_found",
			     "no certificate with serial %s", serial);
	return -1;
}

struct challenge_tx {
	const char *serial;
	const unsigned char *hash;
	int64_t now, expires_at;
};

static int
challenge_body(struct db *db, void *arg, struct mica_err *err)
{
	struct challenge_tx *x = arg;

	return db_challenge_add(db, x->serial, x->hash, x->now, x->expires_at,
				CA_CHALLENGES_PER_CERT, err);
}

int
ca_renew_challenge(struct ca *ca, const char *serial_in,
		   char nonce[CA_CHALLENGE_LEN + 1], int64_t *expires_at,
		   struct mica_err *err)
{
	char serial[CA_SERIAL_MAX];
	unsigned char raw[CA_CHALLENGE_LEN / 2], hash[32];
	struct db_cert old;
	struct challenge_tx x;
	int rc = -1;

	_Static_assert(CA_CHALLENGE_LEN <= CA_CSR_CHALLENGE_MAX, "nonce length");
	nonce[0] = '\0';
	*expires_at = 0;
	memset(&old, 0, sizeof(old));
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (get_old(ca, serial, &old, err) != 0 || renewable(&old, serial, err) != 0)
		goto out;
	if (ca_random(raw, sizeof(raw), err) != 0)
		goto out;
	mica_hex_encode(raw, sizeof(raw), nonce);
	ca_sha256((const unsigned char *)nonce, CA_CHALLENGE_LEN, hash);
	x.serial = serial;
	x.hash = hash;
	x.now = ca_now();
	x.expires_at = x.now + CA_CHALLENGE_TTL;
	/* Not durable: a nonce lost with the machine's power only makes its
	 * client ask again; the renewal that uses it is durable. */
	if (ca_tx(ca, 0, challenge_body, &x, err) != 0)
		goto out;
	*expires_at = x.expires_at;
	rc = 0;
out:
	explicit_bzero(raw, sizeof(raw));
	if (rc != 0)
		explicit_bzero(nonce, CA_CHALLENGE_LEN + 1);
	db_cert_free(&old);
	return rc;
}

/* ca_renew, and ca_renew_proved when PROVED (the caller verified a
 * signature of the old certificate's key over this request). */
static int
renew(struct ca *ca, const struct ca_principal *p, const char *serial_in,
      const unsigned char *csr_in, size_t csr_len, int days, int flags,
      int proved, const struct ca_on_record *rec, struct ca_issued *out,
      struct mica_err *err)
{
	int supersede = (flags & CA_RENEW_SUPERSEDE) != 0;
	int force = (flags & CA_RENEW_FORCE) != 0;
	char when[CA_DATE_TEXT], note[160];
	char serial[CA_SERIAL_MAX];
	struct db_cert old;
	struct ca_csr csr;
	struct ca_name *names = NULL;
	size_t nnames = 0;
	const struct ca_profile *prof;
	struct ca_policy_decision d;
	struct ca_issue_job j;
	mbedtls_x509_crt crt;
	unsigned char *spki = NULL, hash[32], proof[32];
	size_t spki_len = 0;
	int key_kind = 0, key_bits = 0, same_key = 0, fresh = 0, rc = -1;
	struct ca_principal eff;

	memset(out, 0, sizeof(*out));
	memset(&old, 0, sizeof(old));
	memset(&csr, 0, sizeof(csr));
	mbedtls_x509_crt_init(&crt);
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (days < 0 || days > CA_DAYS_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days", "days must be positive");
	if (get_old(ca, serial, &old, err) != 0)
		goto out;
	if (old.der == NULL && old.status == DB_CERT_REVOKED) {
		/* One known only from a CRL (restore --crl) has no body. */
		mica_err_set(err, MICA_E_CONFLICT, "revoked",
			     "certificate %s is revoked and cannot be renewed", serial);
		goto out;
	}
	if (old.der == NULL) {
		mica_err_set(err, MICA_E_CONFLICT, "not_issued",
			     "certificate %s was never completed; revoke it instead", serial);
		goto out;
	}
	/* A subordinate or cross certificate this root signed is renewed by
	 * signing the subordinate's new CSR, never as a leaf. */
	if (ca_profile_is_ca(old.profile)) {
		mica_err_set(err, MICA_E_CONFLICT, "ca_certificate",
			     "certificate %s is a CA certificate; renew it with "
			     "'mica sign-ca' on the subordinate's new CSR "
			     "(made by 'mica renew-ca')", serial);
		goto out;
	}
	if ((prof = ca_profile_get(old.profile, err)) == NULL ||
	    ca_stored_names_parse(old.names, &names, &nnames, err) != 0)
		goto out;
	if (csr_in == NULL) {
		/* Reuse the old key: the caller proves nothing, so admin only. */
		if (ca_require_admin(p, err) != 0)
			goto out;
		if (mbedtls_x509_crt_parse_der(&crt, old.der, old.der_len) != 0) {
			mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				     "the stored certificate does not parse");
			goto out;
		}
		spki_len = crt.pk_raw.len;
		if ((spki = malloc(spki_len)) == NULL) {
			mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
			goto out;
		}
		memcpy(spki, crt.pk_raw.p, spki_len);
		if (ca_spki_key(spki, spki_len, &key_kind, &key_bits, err) != 0)
			goto out;
		memcpy(hash, old.spki_sha256, 32);
		same_key = 1;
	} else {
		if (ca_csr_load(csr_in, csr_len, &csr, err) != 0)
			goto out;
		same_key = memcmp(csr.spki_sha256, old.spki_sha256, 32) == 0;
		if ((spki = malloc(csr.spki_len)) == NULL) {
			mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
			goto out;
		}
		memcpy(spki, csr.spki, csr.spki_len);
		spki_len = csr.spki_len;
		key_kind = csr.key_kind;
		key_bits = csr.key_bits;
		memcpy(hash, csr.spki_sha256, 32);
	}
	/* The old certificate was itself revoked for a compromise: say so at
	 * once, with what to do. (ca_issue refuses every key revoked for
	 * keyCompromise on any certificate, whatever the path.) */
	if (same_key && old.status == DB_CERT_REVOKED &&
	    (old.reason == CA_REASON_KEY_COMPROMISE ||
	     old.reason == CA_REASON_CA_COMPROMISE)) {
		mica_err_set(err, MICA_E_POLICY, "key_compromised",
			     "certificate %s was revoked for key compromise; renew with a new key (--csr) "
			     "and --force (the API: a CSR and \"force\": true)",
			     serial);
		goto out;
	}
	/* A revocation was a decision (privilege withdrawn, affiliation
	 * changed, on hold, superseded...): a renewal for the same names
	 * and profile would undo it unseen. An admin may still, saying so
	 * (as Windows' CA, which never renews a revoked certificate, leaves
	 * a new request for a new decision); anyone else never (renewable). */
	note[0] = '\0';
	if (old.status == DB_CERT_REVOKED && ca_is_admin(p)) {
		ca_date_text(old.revoked_at, when);
		if (!force) {
			mica_err_set(err, MICA_E_CONFLICT, "revoked",
				     "certificate %s was revoked on %s (%s): renewing it "
				     "would undo that; --force renews it all the same "
				     "(the API: \"force\": true)", serial, when,
				     ca_reason_name(old.reason));
			goto out;
		}
		/* On hold it may be revoked as superseded; else it is
		 * revoked for good, and nothing is left to supersede. */
		if (supersede && old.reason != CA_REASON_HOLD) {
			mica_err_set(err, MICA_E_CONFLICT, "already_revoked",
				     "certificate %s is revoked already (%s): "
				     "superseding has nothing to revoke", serial,
				     ca_reason_name(old.reason));
			goto out;
		}
		snprintf(note, sizeof(note), "forced: %.40s was revoked on %s (%s)",
			 serial, when, ca_reason_name(old.reason));
	}
	/* Who may renew: an admin always. Anyone else only a current
	 * certificate, and either with a fresh proof of its key (the CSR
	 * signs a live nonce of this certificate: checked, and used up, in
	 * the transaction that records the renewal) or as the holder of an
	 * enrollment token covering the names (one use, as any issuance). */
	if (!ca_is_admin(p)) {
		if (renewable(&old, serial, err) != 0)
			goto out;
		fresh = same_key && csr.has_challenge && !proved;
		if (!fresh && !proved && p->kind != CA_PRINCIPAL_ENROLL) {
			if (same_key)
				mica_err_set(err, MICA_E_UNAUTH, "proof_required",
					     "renewing without a token needs a fresh proof of the key: "
					     "ask for a renewal challenge of certificate %s and put it in "
					     "the CSR's challengePassword", serial);
			else
				mica_err_set(err, MICA_E_UNAUTH, "token_required",
					     "renewing with a new key needs an enrollment or admin token");
			goto out;
		}
		/* Supersede revokes the old certificate: only its key's holder,
		 * proved freshly, or an admin, may do that - never a copied
		 * CSR, never an enrollment token by itself. */
		if (supersede && !fresh && !proved) {
			mica_err_set(err, MICA_E_FORBIDDEN, "proof_required",
				     "superseding revokes certificate %s: that needs an admin "
				     "token or a fresh proof of its key (a renewal challenge in "
				     "the CSR's challengePassword)", serial);
			goto out;
		}
		/* The nonce is lower-case hex; typed into a CSR tool it
		 * may come back in upper case, as serials and ids are taken
		 * in any case. */
		if (fresh) {
			char lower[sizeof(csr.challenge)];
			size_t cl = strnlen(csr.challenge, sizeof(lower) - 1);

			for (size_t i = 0; i < cl; i++)
				lower[i] = (char)tolower((unsigned char)csr.challenge[i]);
			lower[cl] = '\0';
			ca_sha256((const unsigned char *)lower, cl, proof);
		}
	}
	/* With a fresh proof, the same names for the same key: the policy of
	 * the day applies (domains, profile), no token scope. Otherwise the
	 * caller's own (an admin's, or an enrollment token's scope). */
	eff = *p;
	if (fresh || proved)
		eff.kind = CA_PRINCIPAL_CLI;  /* for the policy's scope only */
	if (ca_run_policy(ca, &eff, prof, names, nnames, key_kind, key_bits, days,
			  0, &d, err) != 0)
		goto out;
	memset(&j, 0, sizeof(j));
	j.p = p;
	j.prof = prof;
	j.spki = spki;
	j.spki_len = spki_len;
	j.spki_hash = hash;
	j.names = names;
	j.nnames = nnames;
	j.d = &d;
	j.renewal_of = serial;
	j.supersede = supersede;
	j.consume_challenge = fresh ? proof : NULL;
	j.consume_token = (p->kind == CA_PRINCIPAL_ENROLL && !fresh &&
			   !proved) ? p->token_id : NULL;
	j.action = "cert.renew";
	j.note = note[0] != '\0' ? note : NULL;
	j.on_record = rec;
	if (ca_issue(ca, &j, out, err) != 0)
		goto out;
	rc = 0;
out:
	explicit_bzero(proof, sizeof(proof));
	mbedtls_x509_crt_free(&crt);
	free(spki);
	free(names);
	ca_csr_free(&csr);
	db_cert_free(&old);
	return rc;
}

int
ca_renew(struct ca *ca, const struct ca_principal *p, const char *serial,
	 const unsigned char *csr, size_t csr_len, int days, int flags,
	 struct ca_issued *out, struct mica_err *err)
{
	return renew(ca, p, serial, csr, csr_len, days, flags, 0, NULL, out,
		     err);
}

int
ca_renew_proved(struct ca *ca, const struct ca_principal *p,
		const char *serial, const unsigned char *csr, size_t csr_len,
		const struct ca_on_record *rec, struct ca_issued *out,
		struct mica_err *err)
{
	if (csr == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "a renewal needs a CSR");
	return renew(ca, p, serial, csr, csr_len, 0, 0, 1, rec, out, err);
}

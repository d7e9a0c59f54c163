/*
 * ca/renew.c - renewing a certificate: same names and profile, the old key
 * or a new one, and who may do which.
 */
#include "ca/ca.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "ca/ca_int.h"
#include "ca/csr.h"

int
ca_renew(struct ca *ca, const struct ca_principal *p, const char *serial_in,
	 const unsigned char *csr_in, size_t csr_len, int days, int supersede,
	 struct ca_issued *out, struct mica_err *err)
{
	char serial[CA_SERIAL_MAX];
	struct db_cert old;
	struct ca_csr csr;
	struct ca_name *names = NULL;
	size_t nnames = 0;
	const struct ca_profile *prof;
	struct ca_policy_decision d;
	struct ca_issue_job j;
	mbedtls_x509_crt crt;
	unsigned char *spki = NULL, hash[32];
	size_t spki_len = 0;
	int key_kind = 0, key_bits = 0, same_key = 0, rc = -1;
	struct ca_principal eff;

	memset(out, 0, sizeof(*out));
	memset(&old, 0, sizeof(old));
	memset(&csr, 0, sizeof(csr));
	mbedtls_x509_crt_init(&crt);
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (days < 0 || days > CA_DAYS_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days", "days must be positive");
	if (db_cert_get(ca->db, serial, &old, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no certificate with serial %s", serial);
		goto out;
	}
	if (old.der == NULL) {
		mica_err_set(err, MICA_E_CONFLICT, "not_issued",
			     "certificate %s was never completed; revoke it instead", serial);
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
			     "certificate %s was revoked for key compromise; renew with a new key (--csr)",
			     serial);
		goto out;
	}
	/* Who may renew: an admin always; with the same key (proved by the
	 * CSR's signature) anyone while the old certificate is current; a new
	 * key needs an enrollment token whose scope covers the names. */
	if (!ca_is_admin(p)) {
		if (old.status == DB_CERT_REVOKED) {
			mica_err_set(err, MICA_E_CONFLICT, "revoked",
				     "certificate %s is revoked and cannot be renewed", serial);
			goto out;
		}
		if (old.not_after <= ca_now()) {
			mica_err_set(err, MICA_E_CONFLICT, "expired",
				     "certificate %s has expired; request a new one", serial);
			goto out;
		}
		if (!same_key && p->kind != CA_PRINCIPAL_ENROLL) {
			mica_err_set(err, MICA_E_UNAUTH, "token_required",
				     "renewing with a new key needs an enrollment or admin token");
			goto out;
		}
		/* Supersede revokes the old certificate: allowed to whoever
		 * proved possession of its key (same-key CSR) or holds an
		 * enrollment token covering its names, as checked above. */
	}
	/* Same-key renewal by a client without a token: policy as for an
	 * anonymous request (domains still apply), no token consumed. */
	eff = *p;
	if (eff.kind == CA_PRINCIPAL_ANON) {
		eff.kind = CA_PRINCIPAL_CLI;  /* for the policy's scope only */
	}
	if (p->kind == CA_PRINCIPAL_ENROLL && same_key)
		eff.kind = CA_PRINCIPAL_CLI;  /* same names, same key: no scope */
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
	j.consume_token = (p->kind == CA_PRINCIPAL_ENROLL && !same_key) ? p->token_id : NULL;
	j.action = "cert.renew";
	if (ca_issue(ca, &j, out, err) != 0)
		goto out;
	rc = 0;
out:
	mbedtls_x509_crt_free(&crt);
	free(spki);
	free(names);
	ca_csr_free(&csr);
	db_cert_free(&old);
	return rc;
}

/*
 * ca/service.c - certificates the CA gives its own service keys: the OCSP
 * responder's (ca/ocsp.c) and the SCEP RA's (ca/scep.c). Both are made
 * the same way and differ only in their name, lifetime, key usages and
 * where the store keeps them; ca_service_certify (ca/ca_int.h) is that
 * way, once.
 */
#include "ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/sign.h"
#include "ca/x509.h"
#include "util/log.h"

struct service_tx {
	const struct ca_service *svc;
	const char *serial;
	const unsigned char *der;
	size_t der_len;
	int64_t not_before, not_after, now;
};

static int
service_body(struct db *db, void *arg, struct mica_err *err)
{
	struct service_tx *x = arg;
	char detail[64], date[CA_DATE_TEXT];

	/* A date people read in 'mica audit', as the other lines have. */
	ca_date_text(x->not_after, date);
	snprintf(detail, sizeof(detail), "valid until %s", date);
	if (x->svc->add(db, x->serial, x->der, x->der_len, x->not_before,
			x->not_after, x->now, err) != 0 ||
	    db_audit_add(db, x->now, x->svc->actor, x->svc->action,
			 x->serial, detail, err) != 0)
		return -1;
	return 0;
}

int
ca_service_certify(struct ca *ca, const struct ca_service *svc, int64_t now,
		   struct ca_service_cert *out, struct mica_err *err)
{
	struct ca_tbs_cert t;
	struct service_tx x;
	unsigned char spki[1024], serial[16];
	unsigned char *subject = NULL, *tbs = NULL, *der = NULL;
	size_t spki_len = 0, subject_len = 0, tbs_len = 0, der_len = 0, alg_len;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));
	if (svc->key(ca, spki, sizeof(spki), &spki_len, err) != 0 ||
	    ca_serial_new(serial, out->serial, err) != 0 ||
	    ca_x509_name(svc->cn, NULL, &subject, &subject_len, err) != 0 ||
	    ca_x509_key_id(spki, spki_len, t.ski, err) != 0)
		goto out;
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = ca_sign_alg(ca, &alg_len);
	t.sig_alg_len = alg_len;
	t.issuer = ca->sh->subject;
	t.issuer_len = ca->sh->subject_len;
	t.subject = subject;
	t.subject_len = subject_len;
	/* An hour back for clients whose clocks are slow. */
	t.not_before = now - 3600;
	t.not_after = t.not_before + svc->days * INT64_C(86400);
	if (t.not_before < ca->sh->not_before)
		t.not_before = ca->sh->not_before;
	/* No later than the path above: relying parties refuse the
	 * responder's certificate (and the responses it signs) after it. */
	if (t.not_after > ca->sh->path_not_after)
		t.not_after = ca->sh->path_not_after;
	if (ca->sh->path_not_after <= now) {
		/* Past the end: "expires too soon" would tell an operator
		 * to wait or look at the wrong thing (the same code as
		 * /healthz's). */
		char end[CA_DATE_TEXT];

		ca_date_text(ca->sh->path_not_after, end);
		mica_err_set(err, MICA_E_CONFLICT, "ca_expired",
			     "the CA certificate, or one above it, expired "
			     "on %s: no %s certificate is made until it is "
			     "renewed", end, svc->log_name);
		goto out;
	}
	if (t.not_after - now < svc->min_left) {
		mica_err_set(err, MICA_E_CONFLICT, "ca_expiring",
			     "the CA certificate expires too soon for %s "
			     "certificate", svc->what);
		goto out;
	}
	t.spki = spki;
	t.spki_len = spki_len;
	t.path_len = -1;
	t.key_usage = svc->key_usage;
	t.eku = svc->eku;
	t.ski_len = 20;
	t.has_aki = 1;
	memcpy(t.aki, ca->sh->ski, ca->sh->ski_len);
	t.aki_len = ca->sh->ski_len;
	t.ocsp_nocheck = svc->ocsp_nocheck;
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, err) != 0 ||
	    svc->sign(ca, tbs, tbs_len, &der, &der_len, err) != 0)
		goto out;
	x.svc = svc;
	x.serial = out->serial;
	x.der = der;
	x.der_len = der_len;
	x.not_before = t.not_before;
	x.not_after = t.not_after;
	x.now = now;
	/* On this handle's own connection: the background refresh's writes
	 * never wait in (or slow) the issuance batches. */
	if (ca_tx(ca, CA_TX_DURABLE | CA_TX_OWN, service_body, &x, err) != 0)
		goto out;
	out->der = der;
	out->der_len = der_len;
	out->not_before = t.not_before;
	out->not_after = t.not_after;
	der = NULL;
	mica_log(MICA_LOG_INFO, "%s: new %s certificate %s, valid for %d days",
		 svc->actor, svc->log_name, out->serial, svc->days);
	rc = 0;
out:
	free(subject);
	free(tbs);
	free(der);
	return rc;
}

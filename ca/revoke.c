/*
 * ca/revoke.c - revocation: revoking a certificate and releasing one on
 * hold, each with the CRL that says so. A revocation for keyCompromise
 * also puts the certificate's key on the store's list of keys never
 * certified again; a release from hold never takes one off.
 */
#include "ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/cacert.h"
#include "ca/der.h"
#include "ca/sign.h"
#include "util/log.h"

_Static_assert(CA_SERIAL_MAX == DB_SERIAL_MAX, "one serial buffer for both");

struct revoke_tx {
	struct ca *ca;
	const struct ca_principal *p;
	const char *serial;
	int release;                /* release from certificateHold */
	int standin;                /* ... of a serial known only from a CRL */
	int reason;                 /* else revoke with this reason */
	int64_t invalid_at;         /* ... invalid since (0: not said) */
	struct ca_crl_ahead *crl;   /* its CRLs, signed ahead */
	int has_rsa_id;             /* the key is RSA: rsa_id is its modulus's */
	unsigned char rsa_id[32];
	int cascade;                /* keyCompromise revokes the key's others */
	int condemn;                /* the key goes on the compromised list */
	int raised_from;            /* a reason raised to keyCompromise, or -1 */
	char (*also)[DB_SERIAL_MAX]; /* those it revoked */
	size_t nalso;
	struct db_crl published;    /* the CRL it stored of the key that
				     * signed the certificate */
};

/* The second identity of the key certified by DER (ca_key_rsa_id): 1 and
 * OUT for an RSA key, 0 for another kind, -1 if DER does not parse.
 * Read with ca/cacert.h, not mbedTLS: a subordinate CA's certificate
 * carries critical name constraints, which mbedTLS 3.6 refuses to parse,
 * and its modulus would then never reach the list. */
static int
cert_rsa_id(const unsigned char *der, size_t len, unsigned char out[32])
{
	struct ca_cert_info ci;
	struct mica_err e;

	if (der == NULL || ca_cert_info_read(der, len, &ci, &e) != 0)
		return -1;
	return ca_key_rsa_id(ci.spki, ci.spki_len, out);
}

int64_t
ca_invalid_merge(int64_t have, int64_t given, int64_t revoked_at)
{
	if (given > 0 && given <= revoked_at && (have <= 0 || given < have))
		return given;
	return have > 0 ? have : 0;
}

int
ca_invalidity_parse(const char *s, int64_t *out, struct mica_err *err)
{
	unsigned char der[2 + 15];
	struct ca_der_cur c;
	size_t len = s != NULL ? strnlen(s, 32) : 0;
	int64_t t;
	int gen;

	*out = 0;
	/* YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD: the punctuation where it
	 * belongs, digits elsewhere (checked as the GeneralizedTime they
	 * make, which also checks the calendar: month, day of the month,
	 * leap years, hour, minute, second). */
	if ((len != 20 && len != 10) ||
	    s[4] != '-' || s[7] != '-' ||
	    (len == 20 && (s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
			   s[19] != 'Z')))
		return mica_err_set(err, MICA_E_BADREQ, "bad_invalidity_date",
				    "the invalidity date must be an RFC 3339 "
				    "time in UTC, 2026-12-01T10:00:00Z (no "
				    "fraction, no offset: Z), or a date, "
				    "2026-12-01 (its 00:00:00Z)");
	der[0] = CA_DER_GEN_TIME;
	der[1] = 15;
	memcpy(der + 2, s, 4);
	memcpy(der + 6, s + 5, 2);
	memcpy(der + 8, s + 8, 2);
	if (len == 20) {
		memcpy(der + 10, s + 11, 2);
		memcpy(der + 12, s + 14, 2);
		memcpy(der + 14, s + 17, 2);
	} else {
		memcpy(der + 10, "000000", 6);
	}
	der[16] = 'Z';
	ca_der_init(&c, der, sizeof(der));
	if (ca_der_get_time(&c, &t, &gen, NULL) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_invalidity_date",
				    "the invalidity date is no time: digits "
				    "where they belong, a month 01..12, a day "
				    "of that month, 00:00:00..23:59:59");
	/* 0 stands for none in the store's callers; the CRL writes any
	 * GeneralizedTime from 0001 up. */
	if (t <= 0)
		return mica_err_set(err, MICA_E_POLICY, "bad_invalidity_date",
				    "the invalidity date must be after "
				    "1970-01-01T00:00:00Z");
	*out = t;
	return 0;
}

int
ca_key_others_revoke(struct db *db, char (*v)[DB_SERIAL_MAX], size_t n,
		     int64_t now, const char *actor, const char *detail,
		     int64_t invalid_at, struct mica_err *err)
{
	char raised[256];
	struct db_cert_state st;

	for (size_t i = 0; i < n; i++) {
		if (db_cert_state_get(db, v[i], &st, err) != 0)
			return -1;
		if (st.status == DB_CERT_REVOKED &&
		    ca_reason_raisable(st.reason)) {
			snprintf(raised, sizeof(raised), "%s; raised from %s",
				 detail, ca_reason_name(st.reason));
			if (db_cert_reason_set(db, v[i], st.reason,
					       CA_REASON_KEY_COMPROMISE,
					       err) != 0 ||
			    db_audit_add(db, now, actor, "cert.revoke", v[i],
					 raised, err) != 0)
				return -1;
		} else if (db_cert_revoke(db, v[i], CA_REASON_KEY_COMPROMISE,
					  now, err) != 0 ||
			   db_audit_add(db, now, actor, "cert.revoke", v[i],
					detail, err) != 0) {
			return -1;
		}
		/* The key was compromised then, whichever certificate names
		 * it: each gets the date, where it is not after its own
		 * revocation and earlier than what it says (one revoked as
		 * superseded before the key leaked keeps none: its
		 * revocation date is the earlier word). */
		if (invalid_at > 0 &&
		    db_cert_invalid_set(db, v[i], invalid_at, err) != 0)
			return -1;
	}
	return 0;
}

/* The audit detail of a revocation for REASON invalid since AT (0: not
 * said), with MORE after the reason (may be ""), into BUF. */
static void
revoke_detail(char *buf, size_t size, int reason, int64_t at,
	      const char *more)
{
	char when[CA_DATE_TEXT];

	ca_date_rfc3339(at, when);
	if (at > 0)
		snprintf(buf, size, "%s%s; invalidity date %s",
			 ca_reason_name(reason), more, when);
	else
		snprintf(buf, size, "%s%s", ca_reason_name(reason), more);
}

/* SERIAL, revoked already, gets keyCompromise in place of a reason that
 * said nothing of its key (RFC 5280 5.3.1; CA/B Forum BR 7.2.2 lets the
 * CRL entry be updated so). The revocation date stays: a later one would
 * extend the trust relying parties give to what the key signed before it
 * (Authenticode's timestamped signatures), and an earlier one is a claim
 * about when the key was compromised that this call is not told (RFC
 * 5280 5.3.2 invalidityDate is the place for it). 1 and *FROM if it was
 * raised, 0 if SERIAL is not such a certificate (db_cert_revoke then
 * decides), -1 on error. */
static int
revoke_raise(struct revoke_tx *x, struct db *db, int64_t now, int *from,
	     struct mica_err *err)
{
	struct db_cert_state st;
	char detail[160], from_txt[48];

	/* Not for ca_revoke_one (an ACME account that proved only the
	 * names): it never raises the certificate it names, even one an
	 * admin revoked since its "already revoked" check - the revocation
	 * below then finds it revoked, a conflict. */
	if (x->reason != CA_REASON_KEY_COMPROMISE || !x->cascade)
		return 0;
	if (db_cert_state_get(db, x->serial, &st, err) != 0)
		return -1;
	if (st.status != DB_CERT_REVOKED || !ca_reason_raisable(st.reason))
		return 0;
	/* The key leaked after its certificate was revoked: the revocation
	 * date is the earlier word, and an invalidity date after it would
	 * extend the trust it ends. */
	if (x->invalid_at > st.revoked_at) {
		char when[CA_DATE_TEXT];

		ca_date_rfc3339(st.revoked_at, when);
		return mica_err_set(err, MICA_E_POLICY, "bad_invalidity_date",
				    "%s was revoked on %s, before the "
				    "invalidity date given: raise the reason "
				    "without --invalidity-date (the revocation "
				    "date says more)", x->serial, when);
	}
	snprintf(from_txt, sizeof(from_txt), " (raised from %s)",
		 ca_reason_name(st.reason));
	revoke_detail(detail, sizeof(detail), CA_REASON_KEY_COMPROMISE,
		      x->invalid_at, from_txt);
	if (db_cert_reason_set(db, x->serial, st.reason,
			       CA_REASON_KEY_COMPROMISE, err) != 0 ||
	    (x->invalid_at > 0 &&
	     db_cert_invalid_set(db, x->serial, x->invalid_at, err) != 0) ||
	    db_audit_add(db, now, x->p->actor, "cert.revoke", x->serial,
			 detail, err) != 0)
		return -1;
	*from = st.reason;
	return 1;
}

/* A key revoked for keyCompromise is compromised in every certificate
 * that names it: revoke the others too, in the same transaction, with the
 * same reason and time (CA/B Forum BR 4.9.1.1). The CRLs signed ahead
 * list those the snapshot showed; if the transaction finds others, they
 * are signed here, under the lock. */
static int
revoke_same_key(struct revoke_tx *x, struct db *db, int64_t now,
		struct mica_err *err)
{
	char detail[DB_SERIAL_MAX + 32];

	free(x->also);   /* a transaction run again finds them again */
	x->also = NULL;
	x->nalso = 0;
	if (db_cert_same_key(db, x->serial, now, CA_PROFILE_KEPT_ON_CRL,
			     &x->also, &x->nalso, err) != 0)
		return -1;
	snprintf(detail, sizeof(detail), "keyCompromise (the key of %s)",
		 x->serial);
	if (ca_key_others_revoke(db, x->also, x->nalso, now, x->p->actor, detail,
				 x->invalid_at, err) != 0)
		return -1;
	ca_crl_ahead_also(x->crl, x->also, x->nalso);
	return 0;
}

/* The revocation (or release) and the CRL that says so commit together:
 * if the CRL cannot be made, nothing changes, so a revoked certificate is
 * never missing from the served CRL. The CRL was signed ahead, outside
 * the write lock (ca_crl_ahead_new), for a revocation at its time. */
static int
revoke_body(struct db *db, void *arg, struct mica_err *err)
{
	struct revoke_tx *x = arg;
	int64_t now = ca_crl_ahead_time(x->crl);

	if (!x->release) {
		char detail[96];
		int r;

		x->raised_from = -1;   /* a transaction run again */
		if ((r = revoke_raise(x, db, now, &x->raised_from, err)) < 0)
			return -1;
		revoke_detail(detail, sizeof(detail), x->reason, x->invalid_at,
			      "");
		if (r == 0 &&
		    (db_cert_revoke(db, x->serial, x->reason, now, err) != 0 ||
		     (x->invalid_at > 0 &&
		      db_cert_invalid_set(db, x->serial, x->invalid_at,
					  err) != 0) ||
		     db_audit_add(db, now, x->p->actor, "cert.revoke", x->serial,
				  detail, err) != 0))
			return -1;
		/* The key itself is compromised: no issuance path certifies
		 * it again (ca_issue, sign-ca's ca_key_check), from this
		 * commit on. */
		if (x->condemn &&
		    db_key_compromised_add(db, x->serial, now,
					   x->has_rsa_id ? x->rsa_id : NULL,
					   err) != 0)
			return -1;
		if (x->reason == CA_REASON_KEY_COMPROMISE && x->cascade &&
		    revoke_same_key(x, db, now, err) != 0)
			return -1;
	} else {
		if (db_cert_unrevoke(db, x->serial, err) != 0 ||
		    db_audit_add(db, now, x->p->actor, "cert.unrevoke", x->serial,
				 NULL, err) != 0)
			return -1;
		/* A serial known only from a CRL carried in (ca/carry.c) has
		 * no certificate here: released, it is unknown again, not a
		 * row left "being issued". */
		if (x->standin && db_cert_discard(db, x->serial, err) != 0)
			return -1;
	}
	db_crl_free(&x->published);   /* a transaction run again */
	return ca_crl_ahead_store(x->ca, db, x->p->actor, x->crl,
				  &x->published, err);
}

/* Whether a revocation for REASON may say the certificate became invalid
 * at AT (RFC 5280 5.3.2): 0, else -1 and why (MICA_E_POLICY
 * "bad_invalidity_date"). Not after now: the revocation is dated now (a
 * raise keeps an earlier date: revoke_raise checks that one), and a
 * certificate is not known to have become invalid after it is revoked.
 * Not for certificateHold, which says the certificate may come back, nor
 * removeFromCRL (no reason mica takes). */
static int
revoke_invalid_check(int reason, int64_t at, struct mica_err *err)
{
	char now_txt[CA_DATE_TEXT];
	int64_t now = ca_now();

	if (reason == CA_REASON_HOLD)
		return mica_err_set(err, MICA_E_POLICY, "bad_invalidity_date",
				    "certificateHold takes no invalidity date: "
				    "a hold says the certificate may come back, "
				    "not that it became invalid");
	if (at <= 0)
		return mica_err_set(err, MICA_E_POLICY, "bad_invalidity_date",
				    "the invalidity date must be after "
				    "1970-01-01T00:00:00Z");
	if (at > now) {
		ca_date_rfc3339(now, now_txt);
		return mica_err_set(err, MICA_E_POLICY, "bad_invalidity_date",
				    "the invalidity date is in the future (it is "
				    "%s here): it says when the key was "
				    "compromised or the certificate became "
				    "invalid, no later than the revocation",
				    now_txt);
	}
	return 0;
}

/* 1 if SERIAL is a CA certificate this CA signed (sign-ca, a cross
 * certificate); else -1 and why in ERR. */
static int
revoke_ca_cert(struct ca *ca, const char *serial, struct mica_err *err)
{
	struct db_cert rec;
	int ca_cert;

	memset(&rec, 0, sizeof(rec));
	if (db_cert_get(ca->db, serial, &rec, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no certificate with serial %s", serial);
		return -1;
	}
	ca_cert = ca_profile_is_ca(rec.profile);
	db_cert_free(&rec);
	if (!ca_cert)
		return mica_err_set(err, MICA_E_POLICY, "bad_reason",
				    "cACompromise is for a CA certificate; %s is "
				    "an end entity's: use keyCompromise if its "
				    "key is compromised", serial);
	return 1;
}

static int
revoke_run(struct ca *ca, const struct ca_principal *p, const char *serial_in,
	   int release, int reason, int64_t invalid_at, int cascade,
	   struct ca_serials *also, struct ca_crl *crl, int *raised_from,
	   struct mica_err *err)
{
	char serial[CA_SERIAL_MAX];
	struct revoke_tx x;
	int rc;

	if (also != NULL) {
		also->v = NULL;
		also->n = 0;
	}
	if (crl != NULL)
		memset(crl, 0, sizeof(*crl));
	if (raised_from != NULL)
		*raised_from = -1;
	memset(&x, 0, sizeof(x));
	x.raised_from = -1;

	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca_serial_parse(serial_in, serial, err) != 0)
		return -1;
	if (!release && !ca_reason_valid(reason))
		return mica_err_set(err, MICA_E_BADREQ, "bad_reason",
				    "unknown revocation reason");
	/* RFC 5280 5.3.1: aACompromise is an attribute authority's, whose
	 * certificates mica never issues; cACompromise says a CA's key is
	 * compromised, so only a CA certificate (sign-ca's) takes it (the
	 * CA/B Forum's CRL profile allows neither for a subscriber's). */
	if (!release && reason == CA_REASON_AA_COMPROMISE)
		return mica_err_set(err, MICA_E_POLICY, "bad_reason",
				    "aACompromise is for attribute certificates, "
				    "which mica does not issue: use "
				    "keyCompromise if the key is compromised");
	if (!release && reason == CA_REASON_CA_COMPROMISE &&
	    revoke_ca_cert(ca, serial, err) != 1)
		return -1;
	if (!release && invalid_at != 0 &&
	    revoke_invalid_check(reason, invalid_at, err) != 0)
		return -1;
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	x.ca = ca;
	x.p = p;
	x.serial = serial;
	x.release = release;
	x.standin = 0;
	x.reason = reason;
	x.invalid_at = release ? 0 : invalid_at;
	x.has_rsa_id = 0;
	x.cascade = cascade;
	x.condemn = 0;
	x.also = NULL;
	x.nalso = 0;
	/* Whether the revocation condemns the key (ca_reason_condemns_key,
	 * as an issuing CA judges the CRL that revokes it: hier.c
	 * own_key_condemned): sign-ca then never certifies it again; for a
	 * CA certificate this root signed, of the reasons mica revoke takes
	 * cACompromise and unspecified do too. An RSA key is compromised under every exponent: its
	 * modulus goes on the list too. Read before the write lock (a
	 * certificate's key never changes); a serial unknown here fails in
	 * the transaction. */
	if (!release && ca_reason_condemns_key(reason, 1)) {
		struct db_cert rec;
		struct mica_err ge;

		memset(&rec, 0, sizeof(rec));
		mica_err_clear(&ge);
		if (db_cert_get(ca->db, serial, &rec, &ge) == 0) {
			x.condemn = ca_reason_condemns_key(reason,
				rec.der != NULL && ca_profile_is_ca(rec.profile));
			if (x.condemn)
				x.has_rsa_id = cert_rsa_id(rec.der, rec.der_len,
							   x.rsa_id) == 1;
			db_cert_free(&rec);
		} else if (ge.kind != MICA_E_NOTFOUND) {
			if (err != NULL)
				*err = ge;
			return -1;
		}
	}
	if (release) {
		struct db_cert rec;
		struct mica_err ge;

		memset(&rec, 0, sizeof(rec));
		mica_err_clear(&ge);
		if (db_cert_get(ca->db, serial, &rec, &ge) == 0) {
			x.standin = rec.der == NULL && rec.profile != NULL &&
				    strcmp(rec.profile, CA_PROFILE_FROM_CRL) == 0;
			db_cert_free(&rec);
		}
	}
	if ((x.crl = ca_crl_ahead_dated(ca, serial, release, reason,
					x.invalid_at, cascade)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "out of memory");
	rc = ca_tx(ca, CA_TX_DURABLE | CA_TX_OWN, revoke_body, &x, err);
	ca_crl_ahead_free(x.crl);
	if (rc == 0 && crl != NULL) {
		crl->number = x.published.number;
		crl->this_update = x.published.this_update;
		crl->next_update = x.published.next_update;
		crl->delta_base = x.published.delta_base;
	}
	db_crl_free(&x.published);
	if (rc == 0 && raised_from != NULL)
		*raised_from = x.raised_from;
	if (rc == 0 && also != NULL) {
		also->v = x.also;
		also->n = x.nalso;
		x.also = NULL;
	}
	free(x.also);
	if (rc != 0 && err != NULL && err->kind == MICA_E_NOTFOUND)
		mica_err_set(err, MICA_E_NOTFOUND, "not_found",
			     "no certificate with serial %s", serial);
	return rc;
}

int
ca_revoke(struct ca *ca, const struct ca_principal *p, const char *serial_in,
	  int reason, struct mica_err *err)
{
	return revoke_run(ca, p, serial_in, 0, reason, 0, 1, NULL, NULL, NULL,
			  err);
}

int
ca_revoke_one(struct ca *ca, const struct ca_principal *p,
	      const char *serial_in, int reason, struct mica_err *err)
{
	return revoke_run(ca, p, serial_in, 0, reason, 0, 0, NULL, NULL, NULL,
			  err);
}

int
ca_revoke_all(struct ca *ca, const struct ca_principal *p,
	      const char *serial_in, int reason, int64_t invalid_at,
	      struct ca_serials *also, struct ca_crl *crl, int *raised_from,
	      struct mica_err *err)
{
	return revoke_run(ca, p, serial_in, 0, reason, invalid_at, 1, also,
			  crl, raised_from, err);
}

void
ca_serials_free(struct ca_serials *s)
{
	if (s == NULL)
		return;
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int
ca_unrevoke(struct ca *ca, const struct ca_principal *p,
	    const char *serial_in, struct mica_err *err)
{
	return revoke_run(ca, p, serial_in, 1, 0, 0, 0, NULL, NULL, NULL, err);
}

int
ca_unrevoke_crl(struct ca *ca, const struct ca_principal *p,
		const char *serial_in, struct ca_crl *crl, struct mica_err *err)
{
	return revoke_run(ca, p, serial_in, 1, 0, 0, 0, NULL, crl, NULL, err);
}

/* ------------------------------------------- keys compromised before -- */

/* ca_key_backfill()'s transaction: every certificate the list names. */
static int
backfill_body(struct db *db, void *arg, struct mica_err *err)
{
	char serial[DB_SERIAL_MAX];
	unsigned char *der = NULL, id[32];
	size_t len = 0;
	int found = 0, *n = arg;

	for (;;) {
		if (db_key_todo_next(db, serial, &der, &len, &found, err) != 0)
			return -1;
		if (!found)
			return 0;
		/* A certificate that does not parse (or is gone) has no
		 * modulus to add: it leaves the list all the same. */
		int r = cert_rsa_id(der, len, id);

		free(der);
		der = NULL;
		if (db_key_todo_done(db, serial, r == 1 ? id : NULL, err) != 0)
			return -1;
		(*n)++;
	}
}

int
ca_key_backfill(struct ca *ca, struct mica_err *err)
{
	char serial[DB_SERIAL_MAX];
	unsigned char *der = NULL;
	size_t len = 0;
	int n = 0, found = 0;

	/* The usual case, nothing to do, takes no write lock. */
	if (db_key_todo_next(ca->db, serial, &der, &len, &found, err) != 0)
		return -1;
	free(der);
	if (!found)
		return 0;
	if (ca_tx(ca, CA_TX_DURABLE, backfill_body, &n, err) != 0)
		return -1;
	if (n > 0)
		mica_log(MICA_LOG_INFO, "added the modulus of %d RSA key%s "
			 "revoked for key compromise to the keys never "
			 "certified again", n, n == 1 ? "" : "s");
	return 0;
}

/* ------------------------------- their other certificates, revoked late -- */

/* ca_key_sweep()'s transaction: the other certificates of every key on
 * the list (schema/016), then the CRLs that list them. */
static int
sweep_body(struct db *db, void *arg, struct mica_err *err)
{
	struct ca *ca = arg;
	char serial[DB_SERIAL_MAX], detail[DB_SERIAL_MAX + 48];
	char (*v)[DB_SERIAL_MAX] = NULL;
	size_t n = 0, total = 0;
	int64_t now = ca_now();
	int found = 0;

	for (;;) {
		if (db_key_siblings_next(db, serial, &found, err) != 0)
			return -1;
		if (!found)
			break;
		if (db_cert_same_key(db, serial, now, CA_PROFILE_KEPT_ON_CRL,
				     &v, &n, err) != 0)
			return -1;
		snprintf(detail, sizeof(detail),
			 "keyCompromise (the key of %s, revoked before)", serial);
		if (ca_key_others_revoke(db, v, n, now, "mica", detail, 0,
					 err) != 0) {
			free(v);
			return -1;
		}
		free(v);
		v = NULL;
		total += n;
		if (db_key_siblings_done(db, serial, err) != 0)
			return -1;
	}
	if (total > 0) {
		mica_log(MICA_LOG_INFO, "revoked %zu certificate%s of keys "
			 "revoked for key compromise before (or raised the "
			 "reason of those revoked for another)", total,
			 total == 1 ? "" : "s");
		return ca_crl_publish_tx(ca, db, "mica", NULL, err);
	}
	return 0;
}

int
ca_key_sweep(struct ca *ca, struct mica_err *err)
{
	char serial[DB_SERIAL_MAX];
	struct mica_err e;
	int found = 0;

	/* The usual case, nothing to do, takes no write lock. */
	if (db_key_siblings_next(ca->db, serial, &found, err) != 0)
		return -1;
	if (!found)
		return 0;
	/* Revoked only with the CRL that lists them: left for an open that
	 * has the CA key (the daemon's, 'mica crl', 'mica revoke', ...). */
	if (ca_sign_ready(ca, &e) != 0)
		return 0;
	return ca_tx(ca, CA_TX_DURABLE | CA_TX_OWN, sweep_body, ca, err);
}

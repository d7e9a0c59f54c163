/*
 * ca/crl.c - CRLs: publishing one (signed once, stored, then served from
 * the store) and reading the current one.
 */
#include "ca/ca.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/sign.h"
#include "ca/x509.h"
#include "util/hex.h"

struct crl_collect {
	struct ca_crl_entry *v;
	size_t n, cap;
	int bad;
	int64_t since;         /* a delta: only revocations from then on */
};

static int
crl_collect_cb(void *ctx, const char *serial_hex, int64_t revoked_at, int reason)
{
	struct crl_collect *c = ctx;
	struct ca_crl_entry *e;
	size_t len = strlen(serial_hex);

	/* A delta lists what changed since its complete CRL: revocations
	 * at or after its thisUpdate (one in the same second may be in
	 * both; listing it twice is harmless). Releases from hold publish
	 * a complete CRL (ca_crl_publish_change_tx): no removeFromCRL. */
	if (revoked_at < c->since)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct ca_crl_entry *nv = realloc(c->v, cap * sizeof(*nv));
		if (nv == NULL)
			return 1;
		c->v = nv;
		c->cap = cap;
	}
	e = &c->v[c->n];
	if (len == 0 || len % 2 != 0 || len > 40 ||
	    mica_hex_decode(serial_hex, e->serial, len / 2) != 0) {
		c->bad = 1;
		return 1;
	}
	e->serial_len = (unsigned char)(len / 2);
	e->reason = (signed char)(ca_reason_valid(reason) ? reason : 0);
	e->revoked_at = revoked_at;
	c->n++;
	return 0;
}

/* The CRL of key KEY_IDX (whose certificate's subject SUBJECT and key
 * identifier SKI it names), numbered above *LAST, which it then holds;
 * signed and inserted. */
/* Where the delta CRLs of key KEY_IDX are served (Freshest CRL): URL/
 * delta.crl for key 0, URL/delta.crl/N for key N (as /crl and /crl/N). */
static int
delta_url(struct ca *ca, int key_idx, char *buf, size_t size)
{
	const char *u = ca->sh->public_url;

	if (u == NULL || u[0] == '\0')
		return -1;
	if (key_idx == 0)
		return snprintf(buf, size, "%s/delta.crl", u) < (int)size ? 0 : -1;
	return snprintf(buf, size, "%s/delta.crl/%d", u, key_idx) < (int)size ?
	       0 : -1;
}

static int
publish_key(struct ca *ca, struct db *db, const char *actor, int key_idx,
	    const unsigned char *subject, size_t subject_len,
	    const unsigned char *ski, size_t ski_len, int64_t now,
	    int64_t *last, int delta_hours, int delta, struct db_crl *out,
	    struct mica_err *err)
{
	struct db_crl base;
	char fresh[1100];
	struct crl_collect col;
	struct ca_tbs_crl t;
	struct db_crl crl;
	unsigned char *tbs = NULL, *der = NULL;
	size_t tbs_len = 0, der_len = 0, alg_len;
	char detail[128];
	int rc = -1, retried = 0;

	memset(&col, 0, sizeof(col));
again:
	memset(&col, 0, sizeof(col));
	memset(&base, 0, sizeof(base));
	if (delta) {
		/* RFC 5280 5.2.4: a delta completes the latest complete CRL
		 * of its key, and lists what was revoked since. */
		if (db_crl_latest_key(db, key_idx, 0, &base, err) != 0)
			goto out;
		col.since = base.this_update;
	}
	/* Above the last one stored, and above any the signers signed that
	 * never got stored (a transaction that failed after signing): a
	 * number is never used for two different CRLs. */
	if (ca_sign_crl_floor(ca) > *last)
		*last = ca_sign_crl_floor(ca);
	if (db_revoked_foreach_key(db, key_idx, now, crl_collect_cb, &col,
				   err) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "crl_failed",
			     col.bad ? "a stored serial is malformed" : "out of memory");
		goto out;
	}
	memset(&t, 0, sizeof(t));
	t.sig_alg = ca_sign_alg_key(ca, key_idx, &alg_len);
	t.sig_alg_len = alg_len;
	t.issuer = subject;
	t.issuer_len = subject_len;
	t.this_update = now;
	t.next_update = now + (int64_t)ca->sh->crl_days * 86400;
	t.crl_number = *last + 1;
	memcpy(t.aki, ski, ski_len);
	t.aki_len = ski_len;
	t.entries = col.v;
	t.nentries = col.n;
	if (delta) {
		t.delta_base = base.number;
		t.next_update = now + (int64_t)delta_hours * 3600;
	} else if (delta_hours > 0 &&
		   delta_url(ca, key_idx, fresh, sizeof(fresh)) == 0) {
		t.freshest_url = fresh;
	}
	/* A large CRL is tens of megabytes in each form (entries, TBS, signed
	 * DER): free each as soon as the next exists, so that at most two
	 * are alive at once. */
	if (ca_x509_tbs_crl(&t, &tbs, &tbs_len, err) != 0)
		goto out;
	free(col.v);
	col.v = NULL;
	if (ca_lint_crl(tbs, tbs_len, subject, subject_len, err) != 0)
		goto out;
	if (ca_sign_crl(ca, key_idx, t.crl_number, tbs, tbs_len, &der,
			&der_len, err) != 0) {
		if (err != NULL && strcmp(err->code, "crl_number_used") == 0 &&
		    !retried) {
			/* Another process signed this number since the daemon
			 * started (a CLI publish while it runs): take the
			 * next one up (ca_sign_crl_floor now knows it). */
			retried = 1;
			free(tbs);
			tbs = NULL;
			goto again;
		}
		goto out;
	}
	free(tbs);
	tbs = NULL;
	memset(&crl, 0, sizeof(crl));
	crl.number = t.crl_number;
	crl.this_update = t.this_update;
	crl.next_update = t.next_update;
	crl.der = der;
	crl.der_len = der_len;
	crl.key_idx = key_idx;
	crl.delta_base = t.delta_base;
	snprintf(detail, sizeof(detail), "number %lld, %zu entries%s",
		 (long long)crl.number, col.n, delta ? ", delta" : "");
	if (key_idx != 0)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
			 ", key %d", key_idx);
	if (delta)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
			 " of %lld", (long long)base.number);
	if (db_crl_insert(db, &crl, err) != 0 ||
	    db_audit_add(db, now, actor, "crl.publish", NULL, detail, err) != 0)
		goto out;
	*last = crl.number;
	if (out != NULL) {
		*out = crl;
		der = NULL;
	}
	rc = 0;
out:
	free(col.v);
	free(tbs);
	free(der);
	return rc;
}

/* The read of the revoked set, the number, the signature and the insert
 * all happen in one write transaction, so CRL numbers strictly increase
 * with content and a revocation committed before this starts is always in
 * it. A CRL is signed once here and served stored. Every key of the CA
 * that issued certificates publishes its own (a rollover retires a key,
 * which keeps signing the CRL of what it issued): one number series for
 * all of them. */
/* Publish every key's complete CRL (DELTA 0) or delta CRL (1). */
static int
publish_all(struct ca *ca, struct db *db, const char *actor, int delta,
	    struct db_crl *out, struct mica_err *err)
{
	int64_t last = 0, now;
	int hours = 0;

	/* Signing under the write lock is what keeps the numbers in step
	 * with the content; on the shared writer it would stall every
	 * batch, so this runs on the handle's own connection. */
	assert(db == ca->db);
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	/* Read the clock under the write lock: a publisher that waited for
	 * the lock must not give a higher number an earlier thisUpdate
	 * (RFC 5280 5.1.2.4, 5.2.3). */
	now = ca_now();
	if (db_crl_last_number(db, &last, err) != 0 ||
	    db_crl_delta_hours(db, &hours, err) != 0)
		return -1;
	if (delta && hours == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "no_delta_crls",
				    "this CA publishes no delta CRLs ('mica crl "
				    "--delta-hours N' turns them on)");
	for (size_t i = 0; i < ca->sh->nretired; i++) {
		const struct ca_keyslot *k = &ca->sh->retired[i];

		if (publish_key(ca, db, actor, k->idx, k->subject,
				k->subject_len, k->ski, k->ski_len, now, &last,
				hours, delta, NULL, err) != 0)
			return -1;
	}
	return publish_key(ca, db, actor, ca->sh->key_idx, ca->sh->subject,
			   ca->sh->subject_len, ca->sh->ski, ca->sh->ski_len,
			   now, &last, hours, delta, out, err);
}

int
ca_crl_publish_tx(struct ca *ca, struct db *db, const char *actor,
		  struct db_crl *out, struct mica_err *err)
{
	return publish_all(ca, db, actor, 0, out, err);
}

int
ca_crl_publish_change_tx(struct ca *ca, struct db *db, const char *actor,
			 int release, struct mica_err *err)
{
	int hours = 0;

	/* With deltas, a revocation is a delta (the complete CRL keeps its
	 * long period); a release from hold is a complete CRL, which then
	 * no longer lists it, so that no delta ever needs removeFromCRL. */
	if (!release && db_crl_delta_hours(db, &hours, err) != 0)
		return -1;
	return publish_all(ca, db, actor, hours > 0, NULL, err);
}

struct publish_tx {
	struct ca *ca;
	const char *actor;
	struct db_crl *crl;
};

static int
publish_body(struct db *db, void *arg, struct mica_err *err)
{
	struct publish_tx *x = arg;

	return ca_crl_publish_tx(x->ca, db, x->actor, x->crl, err);
}

/* Publish a CRL in a transaction of its own. */
static int
crl_publish(struct ca *ca, const char *actor, struct db_crl *out,
	    struct mica_err *err)
{
	struct db_crl crl;
	struct publish_tx x;

	memset(&crl, 0, sizeof(crl));
	x.ca = ca;
	x.actor = actor;
	x.crl = &crl;
	if (ca_tx(ca, CA_TX_DURABLE | CA_TX_OWN, publish_body, &x, err) != 0) {
		db_crl_free(&crl);
		return -1;
	}
	if (out != NULL)
		*out = crl;
	else
		db_crl_free(&crl);
	return 0;
}

/* Move the store's CRL IN into OUT; IN is left empty. */
static void
crl_take(struct ca_crl *out, struct db_crl *in)
{
	out->number = in->number;
	out->this_update = in->this_update;
	out->next_update = in->next_update;
	out->der = in->der;
	out->der_len = in->der_len;
	in->der = NULL;
	in->der_len = 0;
}

void
ca_crl_free(struct ca_crl *crl)
{
	if (crl == NULL)
		return;
	free(crl->der);
	memset(crl, 0, sizeof(*crl));
}

int
ca_crl_publish(struct ca *ca, const struct ca_principal *p, struct ca_crl *out,
	       struct mica_err *err)
{
	struct db_crl crl;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (ca_require_admin(p, err) != 0)
		return -1;
	memset(&crl, 0, sizeof(crl));
	if (crl_publish(ca, p->actor, out != NULL ? &crl : NULL, err) != 0)
		return -1;
	if (out != NULL)
		crl_take(out, &crl);
	return 0;
}

int
ca_crl_current_key(struct ca *ca, int key_idx, struct ca_crl *out,
		   struct mica_err *err)
{
	struct db_crl crl;

	memset(out, 0, sizeof(*out));
	memset(&crl, 0, sizeof(crl));
	if (key_idx < 0 || key_idx >= CA_KEYS_MAX)
		return mica_err_set(err, MICA_E_NOTFOUND, "crl_not_found",
				    "no such CA key");
	if (db_crl_latest_key(ca->db, key_idx, 1, &crl, err) != 0)
		return -1;
	crl_take(out, &crl);
	return 0;
}

int
ca_crl_info_key(struct ca *ca, int key_idx, struct ca_crl *out,
		struct mica_err *err)
{
	struct db_crl crl;

	memset(out, 0, sizeof(*out));
	memset(&crl, 0, sizeof(crl));
	if (key_idx < 0 || key_idx >= CA_KEYS_MAX)
		return mica_err_set(err, MICA_E_NOTFOUND, "crl_not_found",
				    "no such CA key");
	if (db_crl_latest_key(ca->db, key_idx, 0, &crl, err) != 0)
		return -1;
	crl_take(out, &crl);
	return 0;
}

/* /crl serves key 0's CRL: what every certificate of a single-tier CA,
 * and those of any CA's first key, name. */
int
ca_crl_current(struct ca *ca, struct ca_crl *out, struct mica_err *err)
{
	return ca_crl_current_key(ca, 0, out, err);
}

int
ca_crl_info(struct ca *ca, struct ca_crl *out, struct mica_err *err)
{
	return ca_crl_info_key(ca, 0, out, err);
}

size_t
ca_crl_keys(struct ca *ca, int idx[16])
{
	size_t n = 0;

	if (ca->sh->cert_der == NULL)
		return 0;
	for (size_t i = 0; i < ca->sh->nretired && n < CA_KEYS_MAX - 1; i++)
		idx[n++] = ca->sh->retired[i].idx;
	idx[n++] = ca->sh->key_idx;
	return n;
}

const unsigned char *
ca_key_cert(struct ca *ca, int key_idx, size_t *len)
{
	const struct ca_keyslot *k;

	if (key_idx == ca->sh->key_idx)
		return ca_cert_der(ca, len);
	if ((k = ca_keyslot(ca, key_idx)) == NULL) {
		*len = 0;
		return NULL;
	}
	*len = k->cert_len;
	return k->cert;
}

/* ------------------------------------------------------------------ */
/* Delta CRLs (RFC 5280 5.2.4)                                         */
/* ------------------------------------------------------------------ */

struct delta_tx {
	struct ca *ca;
	const char *actor;
	int hours;              /* set_hours: the new period */
	struct db_crl *crl;
};

static int
delta_body(struct db *db, void *arg, struct mica_err *err)
{
	struct delta_tx *x = arg;

	return publish_all(x->ca, db, x->actor, 1, x->crl, err);
}

int
ca_crl_publish_delta(struct ca *ca, const struct ca_principal *p,
		     struct ca_crl *out, struct mica_err *err)
{
	struct db_crl crl;
	struct delta_tx x;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (ca_require_admin(p, err) != 0 || ca_sign_ready(ca, err) != 0)
		return -1;
	memset(&crl, 0, sizeof(crl));
	x.ca = ca;
	x.actor = p->actor;
	x.hours = 0;
	x.crl = &crl;
	if (ca_tx(ca, CA_TX_DURABLE | CA_TX_OWN, delta_body, &x, err) != 0) {
		db_crl_free(&crl);
		return -1;
	}
	if (out != NULL)
		crl_take(out, &crl);
	db_crl_free(&crl);
	return 0;
}

static int
hours_body(struct db *db, void *arg, struct mica_err *err)
{
	struct delta_tx *x = arg;
	char detail[32];

	snprintf(detail, sizeof(detail), "%d hours", x->hours);
	/* The complete CRLs name their deltas (or stop naming them) from
	 * now on: publish them with the setting, together. */
	if (db_crl_delta_hours_set(db, x->hours, err) != 0 ||
	    db_audit_add(db, ca_now(), x->actor, "crl.delta", NULL,
			 x->hours > 0 ? detail : "off", err) != 0 ||
	    ca_crl_publish_tx(x->ca, db, x->actor, NULL, err) != 0)
		return -1;
	if (x->hours > 0)
		return publish_all(x->ca, db, x->actor, 1, NULL, err);
	return 0;
}

int
ca_crl_set_delta_hours(struct ca *ca, const struct ca_principal *p, int hours,
		       struct mica_err *err)
{
	struct delta_tx x;

	if (ca_require_admin(p, err) != 0)
		return -1;
	if (hours < 0 || hours > CA_DELTA_HOURS_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_delta_hours",
				    "the delta CRL period is 1..%d hours "
				    "(0: none)", CA_DELTA_HOURS_MAX);
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	x.ca = ca;
	x.actor = p->actor;
	x.hours = hours;
	x.crl = NULL;
	return ca_tx(ca, CA_TX_DURABLE | CA_TX_OWN, hours_body, &x, err);
}

int
ca_crl_delta_hours(struct ca *ca, int *hours, struct mica_err *err)
{
	return db_crl_delta_hours(ca->db, hours, err);
}

int
ca_crl_delta_current_key(struct ca *ca, int key_idx, struct ca_crl *out,
			 struct mica_err *err)
{
	struct db_crl crl;

	memset(out, 0, sizeof(*out));
	memset(&crl, 0, sizeof(crl));
	if (key_idx < 0 || key_idx >= CA_KEYS_MAX)
		return mica_err_set(err, MICA_E_NOTFOUND, "crl_not_found",
				    "no such CA key");
	if (db_crl_latest_delta(ca->db, key_idx, 1, &crl, err) != 0)
		return -1;
	crl_take(out, &crl);
	return 0;
}

int
ca_crl_delta_maintain(struct ca *ca, int *published, struct mica_err *err)
{
	struct ca_principal sys;
	struct db_crl base, delta;
	struct mica_err e;
	int hours = 0, due;
	int64_t now = ca_now();

	*published = 0;
	if (db_crl_delta_hours(ca->db, &hours, err) != 0)
		return -1;
	if (hours == 0)
		return 0;
	memset(&base, 0, sizeof(base));
	memset(&delta, 0, sizeof(delta));
	if (db_crl_latest_key(ca->db, ca->sh->key_idx, 0, &base, err) != 0)
		return -1;
	/* Due when none completes the latest complete CRL, or the latest
	 * is half-way to its nextUpdate. */
	if (db_crl_latest_delta(ca->db, ca->sh->key_idx, 0, &delta, &e) != 0)
		due = 1;
	else
		due = delta.number < base.number ||
		      delta.next_update - now < (int64_t)hours * 3600 / 2;
	if (!due)
		return 0;
	ca_principal_cli(&sys);
	snprintf(sys.actor, sizeof(sys.actor), "daemon");
	if (ca_crl_publish_delta(ca, &sys, NULL, err) != 0)
		return -1;
	*published = 1;
	return 0;
}

/*
 * ca/crl.c - CRLs: publishing one (signed once, stored, then served from
 * the store) and reading the current one.
 */
#include "ca/ca.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/sign.h"
#include "ca/x509.h"
#include "util/bigmem.h"
#include "util/fault.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/thread.h"

struct crl_collect {
	struct ca_crl_entry *v;
	size_t n, cap;
	int bad;
	int64_t since;         /* a delta: only revocations from then on */
	const char *skip;      /* a serial the walk leaves out, or NULL */
	char (*skip_also)[DB_SERIAL_MAX];  /* more it leaves out, sorted */
	size_t nskip_also;
};

static int
serial_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Room for one more entry: the next free one, or NULL. */
static struct ca_crl_entry *
crl_entry_new(struct crl_collect *c)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct ca_crl_entry *nv;

		nv = mica_mem_big_realloc(c->v, c->n * sizeof(*nv),
					  cap * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		c->v = nv;
		c->cap = cap;
	}
	return &c->v[c->n];
}

/* Append SERIAL_HEX revoked at REVOKED_AT for REASON, invalid since
 * INVALID_AT (0: not said); 1 on failure. */
static int
crl_entry_add(struct crl_collect *c, const char *serial_hex,
	      int64_t revoked_at, int reason, int64_t invalid_at)
{
	struct ca_crl_entry *e;
	size_t len = strlen(serial_hex);

	if ((e = crl_entry_new(c)) == NULL)
		return 1;
	if (len == 0 || len % 2 != 0 || len > 40 ||
	    mica_hex_decode(serial_hex, e->serial, len / 2) != 0) {
		c->bad = 1;
		return 1;
	}
	e->serial_len = (unsigned char)(len / 2);
	e->reason = (signed char)(ca_reason_valid(reason) ? reason : 0);
	e->revoked_at = revoked_at;
	e->invalid_at = invalid_at;
	c->n++;
	return 0;
}

static int
crl_collect_cb(void *ctx, const char *serial_hex, int64_t revoked_at, int reason,
	       int64_t invalid_at)
{
	struct crl_collect *c = ctx;

	/* A delta lists what changed since its complete CRL: revocations
	 * at or after its thisUpdate (one in the same second may be in
	 * both; listing it twice is harmless). Releases from hold publish
	 * a complete CRL (change_delta): no removeFromCRL. */
	if (revoked_at < c->since)
		return 0;
	if (c->skip != NULL && strcmp(serial_hex, c->skip) == 0)
		return 0;
	if (c->nskip_also > 0 &&
	    bsearch(serial_hex, c->skip_also, c->nskip_also,
		    sizeof(*c->skip_also), serial_cmp) != NULL)
		return 0;
	return crl_entry_add(c, serial_hex, revoked_at, reason, invalid_at);
}

/* A change the CRLs being made must already show, because the transaction
 * that stores them makes it: SERIAL's revocation (REASON at AT) or its
 * release from hold. */
struct crl_change {
	const char *serial;        /* as stored: lowercase hex */
	int release;
	int reason;
	int64_t at;
	/* The invalidity date the revocation gives (RFC 5280 5.3.2; 0
	 * none), and the one SERIAL's entry says with it: the earlier of
	 * the two for a raised reason (ca_invalid_merge). */
	int64_t invalid_at;
	int64_t entry_invalid;
	int key_idx;               /* the key that signed it */
	int listed;                /* 0: expired, on no CRL (but a
				    * CA_PROFILE_KEPT_ON_CRL one) */
	/* A keyCompromise for a certificate revoked already for a reason
	 * ca_reason_raisable allows: the reason is raised, the date it was
	 * revoked at (RAISE_AT) stays (ca/revoke.c revoke_raise). */
	int raise;
	int64_t raise_at;
	/* A keyCompromise that revokes the key's other certificates too
	 * (CASCADE): those the snapshot shows (ca/revoke.c finds them again
	 * in the transaction), sorted, each with the key that signed it and
	 * the date it is listed with: AT, or the date of one revoked already
	 * whose reason is raised (ALSO_RAISED counts those), and its
	 * invalidity date (ca_invalid_merge); all of them listed (none has
	 * expired, or it is of CA_PROFILE_KEPT_ON_CRL). */
	int cascade;
	char (*also)[DB_SERIAL_MAX];
	int *also_key;
	int64_t *also_at;
	int64_t *also_invalid;
	size_t nalso, also_raised;
};

/* Delta CRLs (RFC 5280 5.2.4) of key KEY_IDX are served (Freshest CRL) at
 * URL/delta.crl for key 0, URL/delta.crl/N for key N (as /crl and /crl/N). */
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

/* The CRL period in days as the store holds it now, not as the handle
 * read it at its open: 'mica config set --crl-days' counts from the next
 * CRL signed, a running daemon's too. */
static int
crl_days_now(struct db *db, int *days, struct mica_err *err)
{
	if (db_ca_settings(db, NULL, days, err) != 0)
		return -1;
	if (*days < 0 || *days > CA_CRL_DAYS_MAX)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				    "the CA's CRL validity (%d days) is not 1 "
				    "to %d", *days, CA_CRL_DAYS_MAX);
	if (*days == 0)
		*days = 7;
	return 0;
}

/* A key that publishes a CRL: its index, and its certificate's subject
 * and key identifier, which the CRL names. */
struct crl_key {
	int idx;
	const unsigned char *subject; size_t subject_len;
	const unsigned char *ski; size_t ski_len;
};

/* The keys that publish a CRL, in the order their numbers are taken: each
 * key a rollover retired (it keeps signing the CRL of what it issued),
 * then the current one. One number series for all of them. */
static size_t
crl_keys(struct ca *ca, struct crl_key keys[CA_KEYS_MAX])
{
	size_t n = 0;

	for (size_t i = 0; i < ca->sh->nretired && n < CA_KEYS_MAX - 1; i++) {
		const struct ca_keyslot *k = &ca->sh->retired[i];

		keys[n++] = (struct crl_key){ k->idx, k->subject,
			k->subject_len, k->ski, k->ski_len };
	}
	keys[n++] = (struct crl_key){ ca->sh->key_idx, ca->sh->subject,
		ca->sh->subject_len, ca->sh->ski, ca->sh->ski_len };
	return n;
}

/* One key's CRL as made by make_key, to be stored. */
struct crl_made {
	struct db_crl crl;
	char detail[128];          /* for the audit */
};

/* How far back the clock may step (an NTP correction, a VM's clock set
 * right) and the CRLs still be dated in order. */
#define CRL_STEP_MAX  (INT64_C(3600))

/* How far back a CRL's thisUpdate is dated: a relying party whose clock
 * runs a little behind the CA's would find a CRL dated to the second
 * "not yet valid" (OpenSSL has no leeway there) and fail every check of
 * a certificate until its clock caught up - after each revocation, as
 * each publishes a new CRL. Certificates are backdated as much
 * (ca/profile.c), AD CS CRLs by its clock skew (10 minutes). */
#define CRL_BACKDATE  (INT64_C(300))

/* The date of the CRLs made at NOW into *DATE: CRL_BACKDATE before NOW,
 * but never before the last CRL stored. A CRL with a higher number than
 * another but an earlier thisUpdate is the older one to a relying party
 * that goes by the date
 * (Windows CryptoAPI keeps the newest thisUpdate; RFC 5280 5.1.2.4), which
 * would take the CRL without the newest revocations. When the clock went
 * back by more than CRL_STEP_MAX, the last CRL was dated by a clock that
 * ran ahead (or this one is behind): a CRL dated then would not be valid
 * yet for a relying party with the right time, so it is dated now
 * (less CRL_BACKDATE), logged; 1 then (the complete CRLs are made again, dated now), else 0. */
static int
crl_date(struct db *db, int64_t now, int64_t *date)
{
	struct mica_err e;
	int64_t last = 0, d = now - CRL_BACKDATE;

	*date = d;
	if (db_crl_last_date(db, &last, &e) != 0 || last <= d)
		return 0;
	if (last - d <= CRL_STEP_MAX) {
		*date = last;
		return 0;
	}
	mica_log(MICA_LOG_WARN, "the clock is %lld s behind the last CRL's "
		 "thisUpdate: the new CRLs are dated now, earlier than it; "
		 "check the clock", (long long)(last - now));
	return 1;
}

/* Whether CRL (as ca_crl_info gives it) is due at NOW (ca_crl_due). */
static int
crl_due_one(const struct ca_crl *crl, int64_t now)
{
	return now >= crl->this_update +
		      (crl->next_update - crl->this_update) / 2 ||
	       crl->this_update - now > CRL_STEP_MAX;
}

/* Make (collect, encode, lint, sign) the CRL of key K as the store DB
 * shows it at NOW plus the change CH (may be NULL), dated DATE (crl_date)
 * and numbered above *LAST, which it then holds. A delta completes BASE_IN when not NULL
 * (a complete CRL made with it), else the key's latest stored complete
 * CRL. Reads only: the caller stores it. */
static int
make_key(struct ca *ca, struct db *db, const struct crl_key *k,
	 int64_t now, int64_t date, int64_t *last, int delta_hours, int delta,
	 const struct crl_change *ch, const struct db_crl *base_in,
	 struct crl_made *out, struct mica_err *err)
{
	struct db_crl base;
	char fresh[1100];
	struct crl_collect col;
	struct ca_tbs_crl t;
	unsigned char *tbs = NULL, *der = NULL;
	size_t tbs_len = 0, der_len = 0, alg_len;
	int rc = -1, retried = 0, days = 0;

	memset(out, 0, sizeof(*out));
	memset(&col, 0, sizeof(col));
	if (crl_days_now(db, &days, err) != 0)
		return -1;
again:
	memset(&col, 0, sizeof(col));
	memset(&base, 0, sizeof(base));
	if (delta) {
		/* RFC 5280 5.2.4: a delta completes the latest complete CRL
		 * of its key, and lists what was revoked since. */
		if (base_in != NULL) {
			base.number = base_in->number;
			base.this_update = base_in->this_update;
		} else if (db_crl_latest_key(db, k->idx, 0, &base, err) != 0) {
			goto out;
		}
		/* Listed by revocation time, which is the clock's: after a
		 * step back (up to CRL_STEP_MAX, within which the base was
		 * dated no earlier than the CRL before it) a revocation made
		 * after the base can bear an earlier time than its
		 * thisUpdate. Listing one that the base has too is
		 * harmless; leaving one out would make it good again. */
		col.since = base.this_update - CRL_STEP_MAX;
	}
	/* Above the last one stored, and above any the signers signed that
	 * never got stored (a transaction that failed after signing, or
	 * CRLs signed ahead that lost a race): a number is never used for
	 * two different CRLs. */
	if (ca_sign_crl_floor(ca) > *last)
		*last = ca_sign_crl_floor(ca);
	/* The change: the serial's stored state is left out, and a
	 * revocation goes in as the transaction will record it. */
	if (ch != NULL && ch->key_idx == k->idx)
		col.skip = ch->serial;
	if (ch != NULL) {
		col.skip_also = ch->also;
		col.nskip_also = ch->nalso;
	}
	if (db_revoked_foreach_key(db, k->idx, now, CA_PROFILE_KEPT_ON_CRL,
				   crl_collect_cb, &col, err) != 0 ||
	    (col.skip != NULL && !ch->release && ch->listed &&
	     crl_entry_add(&col, ch->serial, ch->raise ? ch->raise_at : ch->at,
			   ch->reason, ch->entry_invalid) != 0)) {
		mica_err_set(err, MICA_E_INTERNAL, "crl_failed",
			     col.bad ? "a stored serial is malformed" : "out of memory");
		goto out;
	}
	for (size_t j = 0; ch != NULL && j < ch->nalso; j++)
		if (ch->also_key[j] == k->idx &&
		    crl_entry_add(&col, ch->also[j], ch->also_at[j],
				  ch->reason, ch->also_invalid[j]) != 0) {
			mica_err_set(err, MICA_E_INTERNAL, "crl_failed",
				     "out of memory");
			goto out;
		}
	memset(&t, 0, sizeof(t));
	t.sig_alg = ca_sign_alg_key(ca, k->idx, &alg_len);
	t.sig_alg_len = alg_len;
	t.issuer = k->subject;
	t.issuer_len = k->subject_len;
	t.this_update = date;
	t.next_update = date + (int64_t)days * 86400;
	t.crl_number = *last + 1;
	memcpy(t.aki, k->ski, k->ski_len);
	t.aki_len = k->ski_len;
	t.entries = col.v;
	t.nentries = col.n;
	if (delta) {
		t.delta_base = base.number;
		t.next_update = date + (int64_t)delta_hours * 3600;
	} else if (delta_hours > 0 &&
		   delta_url(ca, k->idx, fresh, sizeof(fresh)) == 0) {
		t.freshest_url = fresh;
	}
	/* A large CRL is tens of megabytes in each form (entries, TBS, signed
	 * DER): free each as soon as the next exists, so that at most two
	 * are alive at once. */
	if (ca_x509_tbs_crl(&t, &tbs, &tbs_len, err) != 0)
		goto out;
	free(col.v);
	col.v = NULL;
	if (ca_lint_crl(tbs, tbs_len, k->subject, k->subject_len, err) != 0)
		goto out;
	if (ca_sign_crl(ca, k->idx, t.crl_number, tbs, tbs_len, &der,
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
	out->crl.number = t.crl_number;
	out->crl.this_update = t.this_update;
	out->crl.next_update = t.next_update;
	out->crl.der = der;
	out->crl.der_len = der_len;
	out->crl.key_idx = k->idx;
	out->crl.delta_base = t.delta_base;
	der = NULL;
	snprintf(out->detail, sizeof(out->detail), "number %lld, %zu entries%s",
		 (long long)t.crl_number, t.nentries, delta ? ", delta" : "");
	if (k->idx != 0)
		snprintf(out->detail + strlen(out->detail),
			 sizeof(out->detail) - strlen(out->detail), ", key %d",
			 k->idx);
	if (delta)
		snprintf(out->detail + strlen(out->detail),
			 sizeof(out->detail) - strlen(out->detail), " of %lld",
			 (long long)base.number);
	*last = t.crl_number;
	rc = 0;
out:
	free(col.v);
	free(tbs);
	free(der);
	return rc;
}

/* CRLs made for every key and not yet stored (struct crl_pre). */
struct crl_pre {
	int ready;                 /* 1: made; 0: make them under the lock */
	int delta;                 /* deltas (1) or complete CRLs (0) */
	int64_t last;              /* the highest number stored when made */
	size_t n;                  /* CRLs in made[] */
	size_t cur;                /* the current key's (complete) CRL */
	struct crl_made made[2 * CA_KEYS_MAX];
};

static void
crl_pre_free(struct crl_pre *pre)
{
	for (size_t i = 0; i < pre->n; i++)
		db_crl_free(&pre->made[i].crl);
	memset(pre, 0, sizeof(*pre));
}

/* Insert each of N CRLs of MADE with its audit line. OUT (may be NULL)
 * takes MADE[CUR]'s (the current key's), or with KEY >= 0 key KEY's of
 * the same kind (complete, or delta) when one was made. */
static int
crl_store(struct db *db, const char *actor, struct crl_made *made, size_t n,
	  size_t cur, int key, int64_t now, struct db_crl *out,
	  struct mica_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (db_crl_insert(db, &made[i].crl, err) != 0 ||
		    db_audit_add(db, now, actor, "crl.publish", NULL,
				 made[i].detail, err) != 0)
			return -1;
	if (out != NULL && cur < n) {
		int delta = made[cur].crl.delta_base > 0;

		for (size_t i = 0; key >= 0 && i < n; i++)
			if (made[i].crl.key_idx == key &&
			    (made[i].crl.delta_base > 0) == delta) {
				cur = i;
				break;
			}
		*out = made[cur].crl;
		made[cur].crl.der = NULL;
	}
	return 0;
}

/* Make the CRLs of the N keys of KEYS into MADE (room for 2 N): deltas
 * (DELTA 1) or complete CRLs, and with complete ones, when the CA makes
 * deltas (DELTA_HOURS > 0), a delta of each on top of it. The served
 * delta must complete the newest complete CRL: left based on an older
 * one, it would still list what the new one no longer does (a release
 * from hold) until its next period (RFC 5280 5.2.4). *COUNT gets how
 * many, *CUR the current key's complete CRL (or delta). */
static int
make_all(struct ca *ca, struct db *db, const struct crl_key *keys, size_t n,
	 int64_t now, int64_t *last, int delta_hours, int delta,
	 const struct crl_change *ch, struct crl_made *made, size_t *count,
	 size_t *cur, struct mica_err *err)
{
	int64_t date = now, floor = 0;
	int rebased = 0;

	*count = 0;
	*cur = n - 1;
	/* A restored store numbers above the time of its restore (schema
	 * 019): the store it came from may have used the numbers after the
	 * backup's. */
	if (db_ca_crl_floor(db, &floor, err) != 0)
		return -1;
	if (floor > *last)
		*last = floor;
	/* A base dated further ahead than a step the deltas allow for: the
	 * complete CRLs are made again, dated now, and deltas on them (the
	 * current key's delta is *CUR still). */
	if (crl_date(db, now, &date) != 0 && delta && delta_hours > 0) {
		delta = 0;
		rebased = 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (make_key(ca, db, &keys[i], now, date, last, delta_hours, delta,
			     ch, NULL, &made[i], err) != 0)
			return -1;
		*count = i + 1;
	}
	if (delta || delta_hours == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (make_key(ca, db, &keys[i], now, date, last, delta_hours, 1, ch,
			     &made[i].crl, &made[n + i], err) != 0)
			return -1;
		*count = n + i + 1;
	}
	if (rebased)
		*cur = 2 * n - 1;
	return 0;
}

/* Publish every key's complete CRL (DELTA 0) or delta CRL (1) inside the
 * write transaction on DB, CH (may be NULL) already made by it; OUT (may
 * be NULL) gets the current key's, or with KEY >= 0 key KEY's: read the
 * revoked set, number, sign and insert, all under the write lock, so the
 * numbers strictly increase with the content. This is the path that
 * cannot lose a race, used when CRLs signed ahead (crl_presign) did.
 * FINAL_HOURS > 0: the last deltas of a CA that just turned them off,
 * valid that long, whatever the stored period (0 by then). */
static int
publish_all(struct ca *ca, struct db *db, const char *actor, int delta,
	    int final_hours, int key, struct db_crl *out, struct mica_err *err)
{
	struct crl_key keys[CA_KEYS_MAX];
	struct crl_made made[2 * CA_KEYS_MAX];
	int64_t last = 0, now;
	int hours = 0, rc = -1;
	size_t n, i = 0, cur = 0;

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
	if (delta && final_hours > 0)
		hours = final_hours;
	if (delta && hours == 0)
		return mica_err_set(err, MICA_E_CONFLICT, "no_delta_crls",
				    "this CA publishes no delta CRLs ('mica crl "
				    "--delta-hours N' turns them on)");
	n = crl_keys(ca, keys);
	memset(made, 0, sizeof(made));
	if (make_all(ca, db, keys, n, now, &last, hours, delta, NULL, made,
		     &i, &cur, err) != 0)
		goto out;
	rc = crl_store(db, actor, made, i, cur, key, now, out, err);
out:
	while (i-- > 0)
		db_crl_free(&made[i].crl);
	return rc;
}

static void
also_free(struct crl_change *ch)
{
	free(ch->also);
	free(ch->also_key);
	free(ch->also_at);
	free(ch->also_invalid);
	ch->also = NULL;
	ch->also_key = NULL;
	ch->also_at = NULL;
	ch->also_invalid = NULL;
	ch->nalso = 0;
	ch->also_raised = 0;
}

/* The other certificates of CH's key that its keyCompromise revokes too,
 * as the snapshot on DB shows them at CH->at (the query ca/revoke.c runs
 * again in the transaction), sorted, with the key that signed each. */
static int
also_find(struct db *db, struct crl_change *ch, struct mica_err *err)
{
	struct db_cert_state c;

	also_free(ch);
	if (db_cert_same_key(db, ch->serial, ch->at, CA_PROFILE_KEPT_ON_CRL,
			     &ch->also, &ch->nalso, err) != 0)
		return -1;
	if (ch->nalso == 0)
		return 0;
	qsort(ch->also, ch->nalso, sizeof(*ch->also), serial_cmp);
	if ((ch->also_key = calloc(ch->nalso, sizeof(*ch->also_key))) == NULL ||
	    (ch->also_at = calloc(ch->nalso, sizeof(*ch->also_at))) == NULL ||
	    (ch->also_invalid = calloc(ch->nalso,
				       sizeof(*ch->also_invalid))) == NULL) {
		also_free(ch);
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	}
	for (size_t i = 0; i < ch->nalso; i++) {
		if (db_cert_state_get(db, ch->also[i], &c, err) != 0) {
			also_free(ch);
			return -1;
		}
		ch->also_key[i] = c.key_idx;
		ch->also_at[i] = ch->at;
		/* As ca/revoke.c revoke_listed: raised, its date kept. */
		if (c.status == DB_CERT_REVOKED &&
		    ca_reason_raisable(c.reason)) {
			ch->also_at[i] = c.revoked_at;
			ch->also_raised++;
		}
		/* As ca_key_others_revoke dates it: the key's invalidity
		 * date, where it is earlier than what the entry says. A hold
		 * has none to keep. */
		ch->also_invalid[i] = ca_invalid_merge(
			c.reason == CA_REASON_HOLD ? 0 : c.invalid_at,
			ch->invalid_at, ch->also_at[i]);
	}
	return 0;
}

/*
 * Sign ahead, outside the write lock, the CRLs a transaction will store:
 * in a read snapshot of the store (which the writer keeps committing
 * past), plus the change CH the transaction makes (may be NULL). Signing
 * a CRL of a million entries takes about a second; under the write lock
 * every issuance would wait for it. crl_store_pre then stores them in the
 * transaction if no CRL was stored since the snapshot, and every change
 * of the revoked set stores one in its own transaction (revocations,
 * releases, superseding renewals), so an unchanged last number means an
 * unchanged revoked set. DELTA: 1 deltas, 0 complete CRLs, -1 what a
 * change publishes (a delta for a revocation when the CA makes deltas).
 * Never fails visibly: whatever goes wrong leaves PRE not ready, and the
 * transaction signs under the lock as it always could.
 */
static void
crl_presign(struct ca *ca, int delta, struct crl_change *ch,
	    struct crl_pre *pre)
{
	struct crl_key keys[CA_KEYS_MAX];
	struct db *db = ca->db;
	struct db_cert cert;
	struct mica_err e;
	int64_t next, now;
	int hours = 0, chosen = delta >= 0;
	size_t n;

	memset(pre, 0, sizeof(*pre));
	memset(&cert, 0, sizeof(cert));
	if (ch != NULL)
		ch->at = ca_now();   /* the change's time if nothing is signed */
	if (ca_sign_ready(ca, &e) != 0 || db_read_begin(db, &e) != 0)
		return;
	/* The clock after the first read, which starts the snapshot: every
	 * CRL it shows was dated before this one. */
	if (db_crl_last_number(db, &pre->last, &e) != 0 ||
	    db_crl_delta_hours(db, &hours, &e) != 0)
		goto out;
	now = ca_now();
	if (delta < 0)
		delta = hours > 0 && (ch == NULL || !ch->release);
	if (delta && hours == 0)
		goto out;
	if (ch != NULL) {
		/* Only a change the transaction will make: signing for one it
		 * refuses (unknown, already revoked, not on hold, on hold
		 * already) would only use up CRL numbers. */
		int on_hold;

		if (db_cert_get(db, ch->serial, &cert, &e) != 0)
			goto out;
		on_hold = cert.status == DB_CERT_REVOKED &&
			  cert.reason == CA_REASON_HOLD;
		ch->raise = !ch->release && cert.status == DB_CERT_REVOKED &&
			    ch->reason == CA_REASON_KEY_COMPROMISE &&
			    ca_reason_raisable(cert.reason);
		ch->raise_at = ch->raise ? cert.revoked_at : 0;
		/* A raise keeps the earlier of the two dates; a revocation
		 * (of one on hold too) says the one given. */
		ch->entry_invalid = ch->raise ?
			ca_invalid_merge(cert.invalid_at, ch->invalid_at,
					 cert.revoked_at) :
			ch->invalid_at;
		/* Nor for a raise dated after the revocation date it keeps,
		 * which the transaction refuses (revoke_raise): its CRLs
		 * would be signed, their bodies left beside the store, for
		 * nothing. */
		if (ch->raise && ch->invalid_at > cert.revoked_at)
			goto out;
		if (ch->release ? !on_hold :
		    cert.status == DB_CERT_REVOKED && !ch->raise &&
		    (!on_hold || ch->reason == CA_REASON_HOLD))
			goto out;
		ch->key_idx = cert.key_idx;
		ch->listed = cert.not_after > now ||
			     (cert.profile != NULL &&
			      strcmp(cert.profile, CA_PROFILE_KEPT_ON_CRL) == 0);
		ch->at = now;
		if (ch->cascade && !ch->release &&
		    ch->reason == CA_REASON_KEY_COMPROMISE &&
		    also_find(db, ch, &e) != 0)
			goto out;
		/* A raised reason keeps its old date, which a delta (it
		 * lists revocations from its base's date on) leaves out
		 * once the next delta is made from the store: the complete
		 * CRLs say it, and deltas on them (RFC 5280 5.2.4). */
		if (!chosen && (ch->raise || ch->also_raised > 0))
			delta = 0;
	}
	pre->delta = delta;
	next = pre->last;
	n = crl_keys(ca, keys);
	if (make_all(ca, db, keys, n, now, &next, hours, delta, ch, pre->made,
		     &pre->n, &pre->cur, &e) != 0)
		goto out;
	pre->ready = 1;
out:
	db_read_end(db);
	db_cert_free(&cert);
	/* Their bodies beside the store, written and synced now, outside
	 * the write lock (schema 013). One that cannot be goes into its row
	 * in the transaction, as before. */
	for (size_t i = 0; pre->ready && i < pre->n; i++)
		if (db_crl_body_put(db, &pre->made[i].crl, &e) != 0)
			mica_log(MICA_LOG_WARN, "crl: %s; the CRL goes into "
				 "the store itself", e.msg);
	if (!pre->ready) {
		crl_pre_free(pre);
		if (ch != NULL) {
			ch->at = ca_now();   /* as the lock's path will date it */
			also_free(ch);
		}
	}
}

/* crl_presign on a thread below the caller's CPU priority
 * (ca_crl_background). */
struct presign_job {
	struct ca *ca;
	int delta;
	struct crl_change *ch;
	struct crl_pre *pre;
	int exempt;            /* the caller's fault exemption (tests) */
};

static void *
presign_main(void *arg)
{
	struct presign_job *j = arg;

	MICA_FAULT_EXEMPT(j->exempt);
	if (mica_thread_background("mica-crl-sign") != 0)
		mica_log(MICA_LOG_DEBUG, "crl: signed at the caller's CPU "
			 "priority");
	/* Tests (tests/e2e/slow_lane.sh) look at this thread here. */
	MICA_TEST_GATE("MICA_TEST_CRL_SIGN_GATE");
	crl_presign(j->ca, j->delta, j->ch, j->pre);
	return NULL;
}

void
ca_crl_background(struct ca *ca)
{
	atomic_store(&ca->sh->crl_background, 1);
}

/* crl_presign, on a thread of lower CPU priority in the daemon unless
 * NOW: the caller's handle (its connection, its signer) is used by that
 * thread alone while the caller waits for it. */
static void
crl_presign_run(struct ca *ca, int delta, struct crl_change *ch,
		struct crl_pre *pre, int now)
{
	struct presign_job j = { ca, delta, ch, pre, 0 };
	pthread_t t;

	if (!now && atomic_load(&ca->sh->crl_background)) {
		j.exempt = MICA_FAULT_EXEMPT_SWAP(0);
		MICA_FAULT_EXEMPT(j.exempt);
		if (pthread_create(&t, NULL, presign_main, &j) == 0) {
			pthread_join(t, NULL);
			return;
		}
	}
	crl_presign(ca, delta, ch, pre);
}

/* In the write transaction on DB: store the CRLs PRE signed ahead if they
 * are still the next ones, else make them here, under the lock (complete
 * ones for a CHANGE: see ca_crl_ahead_store). OUT (may be NULL) gets the
 * current key's, or with KEY >= 0 key KEY's. */
static int
crl_store_pre(struct ca *ca, struct db *db, const char *actor,
	      struct crl_pre *pre, int delta, int change, int key,
	      struct db_crl *out, struct mica_err *err)
{
	int64_t last = 0;

	assert(db == ca->db);
	if (pre->ready) {
		if (db_crl_last_number(db, &last, err) != 0)
			return -1;
		if (last == pre->last)
			return crl_store(db, actor, pre->made, pre->n, pre->cur,
					 key, ca_now(), out, err);
		/* Another CRL was stored since the snapshot: these would
		 * miss what it published. Their numbers stay unused. */
		delta = change ? 0 : pre->delta;
	}
	return publish_all(ca, db, actor, delta, 0, key, out, err);
}

int
ca_crl_publish_tx(struct ca *ca, struct db *db, const char *actor,
		  struct db_crl *out, struct mica_err *err)
{
	return publish_all(ca, db, actor, 0, 0, -1, out, err);
}

/* --- a change and its CRLs, signed ahead (ca_int.h) --- */

struct ca_crl_ahead {
	struct crl_change ch;
	struct crl_pre pre;
	struct ca_shared *sh;      /* whose crl_lock it holds */
};

struct ca_crl_ahead *
ca_crl_ahead_new(struct ca *ca, const char *serial, int release, int reason,
		 int cascade)
{
	return ca_crl_ahead_dated(ca, serial, release, reason, 0, cascade);
}

struct ca_crl_ahead *
ca_crl_ahead_dated(struct ca *ca, const char *serial, int release,
		   int reason, int64_t invalid_at, int cascade)
{
	struct ca_crl_ahead *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->ch.serial = serial;
	a->ch.release = release;
	a->ch.reason = reason;
	a->ch.invalid_at = release ? 0 : invalid_at;
	a->ch.entry_invalid = a->ch.invalid_at;
	a->ch.cascade = cascade;
	a->sh = ca->sh;
	pthread_mutex_lock(&a->sh->crl_lock);
	crl_presign_run(ca, -1, &a->ch, &a->pre, 0);
	return a;
}

int64_t
ca_crl_ahead_time(const struct ca_crl_ahead *a)
{
	return a->ch.at;
}

/*
 * Signed ahead, a change publishes deltas when the CA makes them (the
 * complete CRL keeps its long period) and complete CRLs for a release
 * from hold (which no delta could express without removeFromCRL). Made
 * here, under the lock, it publishes complete CRLs: the change is dated
 * before the lock was taken (the snapshot's time), and a complete CRL
 * another process stored meanwhile may be dated after it; a delta on
 * that one lists only revocations from its thisUpdate on and would leave
 * the change out (RFC 5280 5.2.4), on no CRL until the next complete one.
 * A complete CRL lists it whatever its date. Rare: a race with another
 * process, or a snapshot that could not be signed.
 */
int
ca_crl_ahead_store(struct ca *ca, struct db *db, const char *actor,
		   struct ca_crl_ahead *a, struct db_crl *out,
		   struct mica_err *err)
{
	struct db_cert_state st;
	struct mica_err e;
	int key = -1;

	/* OUT is the CRL that lists the change: that of the key that signed
	 * the certificate, which after a rollover may be a retired key, not
	 * the current one. A serial the transaction discarded (a stand-in
	 * released from hold) leaves the current key's. */
	if (out != NULL) {
		mica_err_clear(&e);
		if (db_cert_state_get(db, a->ch.serial, &st, &e) == 0)
			key = st.key_idx;
		else if (e.kind != MICA_E_NOTFOUND) {
			if (err != NULL)
				*err = e;
			return -1;
		}
	}
	return crl_store_pre(ca, db, actor, &a->pre,
			     a->pre.ready ? a->pre.delta : 0, 1, key, out, err);
}

void
ca_crl_ahead_also(struct ca_crl_ahead *a, char (*v)[DB_SERIAL_MAX], size_t n)
{
	size_t i = 0;

	/* Signed ahead with exactly these revoked too: they stand. */
	if (a->pre.ready && a->ch.cascade && n == a->ch.nalso)
		for (i = 0; i < n; i++)
			if (bsearch(v[i], a->ch.also, n, sizeof(*v),
				    serial_cmp) == NULL)
				break;
	if (a->pre.ready && a->ch.cascade && i == n && n == a->ch.nalso)
		return;
	/* Their bodies already written beside the store stay unreferenced,
	 * as when a race makes them stale; the store prunes such files. */
	crl_pre_free(&a->pre);
}

void
ca_crl_ahead_free(struct ca_crl_ahead *a)
{
	if (a == NULL)
		return;
	crl_pre_free(&a->pre);
	also_free(&a->ch);
	pthread_mutex_unlock(&a->sh->crl_lock);
	free(a);
}

struct publish_tx {
	struct ca *ca;
	const char *actor;
	struct crl_pre *pre;
	int delta;
	struct db_crl *crl;
};

static int
publish_body(struct db *db, void *arg, struct mica_err *err)
{
	struct publish_tx *x = arg;

	return crl_store_pre(x->ca, db, x->actor, x->pre, x->delta, 0, -1,
			     x->crl, err);
}

/* Publish complete CRLs (DELTA 0) or deltas (1), signed ahead (on the
 * caller's thread if NOW) and stored in a transaction of their own. */
static int
crl_publish(struct ca *ca, const char *actor, int delta, int now,
	    struct db_crl *out, struct mica_err *err)
{
	struct db_crl crl;
	struct crl_pre pre;
	struct publish_tx x;
	int rc;

	memset(&crl, 0, sizeof(crl));
	pthread_mutex_lock(&ca->sh->crl_lock);
	crl_presign_run(ca, delta, NULL, &pre, now);
	x.ca = ca;
	x.actor = actor;
	x.pre = &pre;
	x.delta = delta;
	x.crl = &crl;
	rc = ca_tx(ca, CA_TX_DURABLE | CA_TX_OWN, publish_body, &x, err);
	pthread_mutex_unlock(&ca->sh->crl_lock);
	crl_pre_free(&pre);
	if (rc != 0) {
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
	out->delta_base = in->delta_base;
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

static int
publish_complete(struct ca *ca, const struct ca_principal *p, int now,
		 struct ca_crl *out, struct mica_err *err)
{
	struct db_crl crl;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (ca_require_admin(p, err) != 0)
		return -1;
	memset(&crl, 0, sizeof(crl));
	if (crl_publish(ca, p->actor, 0, now, out != NULL ? &crl : NULL,
			err) != 0)
		return -1;
	if (out != NULL)
		crl_take(out, &crl);
	return 0;
}

int
ca_crl_publish(struct ca *ca, const struct ca_principal *p, struct ca_crl *out,
	       struct mica_err *err)
{
	return publish_complete(ca, p, 0, out, err);
}

int
ca_crl_publish_now(struct ca *ca, const struct ca_principal *p,
		   struct ca_crl *out, struct mica_err *err)
{
	return publish_complete(ca, p, 1, out, err);
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

/* Look at the latest CRL of every key that publishes CRLs: *MISSING 1 if
 * one has none (an install-ca killed between its commit and its first
 * CRLs leaves a new key so), *HALF 1 if NOW is past half the period of
 * one's latest (HALF may be NULL). */
static int
crl_scan(struct ca *ca, int64_t now, int *missing, int *half,
	 struct mica_err *err)
{
	int idx[CA_KEYS_MAX];
	size_t n = ca_crl_keys(ca, idx);
	struct ca_crl crl;

	*missing = 0;
	if (half != NULL)
		*half = 0;
	if (n == 0)
		idx[n++] = 0;   /* no CA certificate yet: what /crl serves */
	for (size_t i = 0; i < n; i++) {
		if (ca_crl_info_key(ca, idx[i], &crl, err) != 0) {
			if (err->kind != MICA_E_NOTFOUND)
				return -1;
			*missing = 1;
			continue;
		}
		if (half != NULL && crl_due_one(&crl, now))
			*half = 1;
		ca_crl_free(&crl);
	}
	return 0;
}

int
ca_crl_due(struct ca *ca, int64_t now, int *due, struct mica_err *err)
{
	int missing, half;

	*due = 0;
	if (crl_scan(ca, now, &missing, &half, err) != 0)
		return -1;
	*due = missing || half;
	return 0;
}

int
ca_crl_missing(struct ca *ca, int *missing, struct mica_err *err)
{
	return crl_scan(ca, 0, missing, NULL, err);
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
};

int
ca_crl_publish_delta(struct ca *ca, const struct ca_principal *p,
		     struct ca_crl *out, struct mica_err *err)
{
	struct db_crl crl;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (ca_require_admin(p, err) != 0 || ca_sign_ready(ca, err) != 0)
		return -1;
	memset(&crl, 0, sizeof(crl));
	if (crl_publish(ca, p->actor, 1, 0, &crl, err) != 0)
		return -1;
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
	int was = 0, final = 0;
	int64_t held = 0, now = ca_now();

	if (crl_days_now(db, &final, err) != 0)
		return -1;
	final *= 24;

	snprintf(detail, sizeof(detail), "%d hours", x->hours);
	/* The complete CRLs name their deltas (or stop naming them) from
	 * now on: publish them with the setting, together. */
	if (db_crl_delta_hours(db, &was, err) != 0 ||
	    db_crl_max_next_update(db, &held, err) != 0 ||
	    db_crl_delta_hours_set(db, x->hours, err) != 0 ||
	    db_audit_add(db, ca_now(), x->actor, "crl.delta", NULL,
			 x->hours > 0 ? detail : "off", err) != 0 ||
	    ca_crl_publish_tx(x->ca, db, x->actor, NULL, err) != 0)
		return -1;
	/* Turned on: the complete CRLs just published came with their
	 * deltas (make_all reads the period set above); one more would be
	 * the same delta under another number. */
	if (x->hours > 0)
		return 0;
	/* Turned off: the complete CRLs published until now name
	 * URL/delta.crl and are kept by relying parties until their
	 * nextUpdate, up to a CRL period from now, while no delta would
	 * be published any more: the last one would go on being served,
	 * blind to every later revocation, then expired (503). A last
	 * delta on the complete CRLs just published, valid a whole CRL
	 * period or until the last of them ends if later (a period
	 * shortened since they were published), outlives all of them; its base, newer than any of
	 * theirs, keeps a relying party from completing theirs with it
	 * (no revocation made since would be in it), and no later
	 * complete CRL takes it (its number is below theirs: RFC
	 * 5280 5.2.4). ca_crl_delta_current_key stops giving it once it
	 * has expired. */
	/* Counted from the delta's thisUpdate, CRL_BACKDATE before now. */
	if (held > now && (held - now + CRL_BACKDATE + 3599) / 3600 > final)
		final = (int)((held - now + CRL_BACKDATE + 3599) / 3600);
	if (was > 0)
		return publish_all(x->ca, db, x->actor, 1, final, -1, NULL, err);
	return 0;
}

int
ca_crl_set_delta_hours(struct ca *ca, const struct ca_principal *p, int hours,
		       struct mica_err *err)
{
	struct delta_tx x;
	int rc;

	if (ca_require_admin(p, err) != 0)
		return -1;
	if (hours < 0 || hours > CA_DELTA_HOURS_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_delta_hours",
				    "the delta CRL period is 1..%d hours "
				    "(0: none)", CA_DELTA_HOURS_MAX);
	/* An offline root's complete CRLs would name a delta that no
	 * 'mica serve' publishes every period (none runs it): once the
	 * last one expired, relying parties that follow the Freshest CRL
	 * (Windows) would refuse everything under the root. Turning them
	 * off (0) stays open, for a root that has them. */
	if (hours > 0 && ca_state(ca) == CA_STATE_ROOT_ONLY)
		return mica_err_set(err, MICA_E_CONFLICT, "root_only",
				    "an offline root publishes no delta CRLs: "
				    "nothing would publish them every %d "
				    "hour(s) ('mica serve' does not run it), "
				    "and relying parties that follow its CRL "
				    "to them (Windows) would refuse every "
				    "certificate under it once the last one "
				    "expired", hours);
	if (ca_sign_ready(ca, err) != 0)
		return -1;
	x.ca = ca;
	x.actor = p->actor;
	x.hours = hours;
	pthread_mutex_lock(&ca->sh->crl_lock);
	rc = ca_tx(ca, CA_TX_DURABLE | CA_TX_OWN, hours_body, &x, err);
	pthread_mutex_unlock(&ca->sh->crl_lock);
	return rc;
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
	/* A CA that turned deltas off published a last one that outlives
	 * every complete CRL naming it (hours_body): once it has expired
	 * nobody needs it, and there is none, as for a CA that never made
	 * any - not one expired, which GET would refuse with 503. */
	if (crl.next_update <= ca_now()) {
		int hours = 0;

		if (db_crl_delta_hours(ca->db, &hours, err) != 0) {
			db_crl_free(&crl);
			return -1;
		}
		if (hours == 0) {
			db_crl_free(&crl);
			return mica_err_set(err, MICA_E_NOTFOUND,
					    "crl_not_found",
					    "this CA publishes no delta CRLs");
		}
		/* Turned on again between the two reads: the setting and
		 * the delta it publishes commit together (hours_body), so
		 * the delta read now is the one that goes with it - not
		 * the expired last one, which GET would refuse (503). */
		db_crl_free(&crl);
		if (db_crl_latest_delta(ca->db, key_idx, 1, &crl, err) != 0)
			return -1;
	}
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
	ca_principal_local(&sys, "daemon");
	if (ca_crl_publish_delta(ca, &sys, NULL, err) != 0)
		return -1;
	*published = 1;
	return 0;
}

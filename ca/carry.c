/*
 * ca/carry.c - revocations carried forward from CRLs this CA published
 * elsewhere: the last CRLs of the store a backup was taken of, handed to
 * 'mica restore --crl' or 'mica revoke --from-crl'. What that store did
 * after the backup is not in the backup, but what it revoked is in the
 * CRLs it signed; each is verified with one of this CA's keys before
 * anything of it is taken.
 */
#include "ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "ca/ca_int.h"
#include "ca/cacert.h"
#include "ca/sign.h"
#include "util/hex.h"

/* RFC 5280 5.3.1 removeFromCRL: in a delta CRL only, a hold released
 * (never a certificate's state, so not among ca_reason_valid's). */
#define REASON_REMOVE_FROM_CRL 8

/* The highest cRLNumber taken in: 2^62 - 1, room enough above it. */
#define CARRY_NUMBER_MAX ((INT64_C(1) << 62) - 1)

/* What one CRL entry says. */
struct carry_ent {
	char serial[DB_SERIAL_MAX];
	int key_idx;          /* the key whose CRL lists it */
	int64_t number;       /* that CRL's cRLNumber */
	int reason;           /* RFC 5280 5.3.1, 0 when it names none */
	int64_t at;           /* revocationDate */
	int64_t invalid_at;   /* invalidityDate (RFC 5280 5.3.2), 0 none */
};

/* One of this CA's keys as a CRL issuer. */
struct carry_key {
	int idx;
	const unsigned char *cert; size_t cert_len;
	const unsigned char *subject; size_t subject_len;
	int64_t not_before, not_after;
	int64_t newest_complete;   /* the highest complete CRL given, 0 none */
	int64_t own_complete;      /* the store's own newest (db_crl_lineage) */
	int64_t own_all;           /* ... counting a restored store's own too */
};

struct ca_carry {
	struct carry_ent *v;
	size_t n, cap;
	struct carry_key keys[CA_KEYS_MAX];
	size_t nkeys;
	struct ca_carried sum;     /* the CRLs' counts; the rest at apply */
	int64_t floor;             /* db_ca_restored_floor, 0 none */
	int delta;                 /* the CRL being read is a delta */
	int key;                   /* ... of keys[key] */
	int64_t number;            /* ... numbered so */
	const char *name;          /* ... named so in messages */
	struct mica_err *err;
};

/* What the CRLs say of one serial, all of them weighed. */
enum carry_verdict { CARRY_REVOKED, CARRY_HOLD, CARRY_RELEASED, CARRY_STALE };

/* The keys of CA that sign CRLs: the current one, those a rollover
 * retired. */
static void
keys_load(struct ca *ca, struct ca_carry *c)
{
	struct ca_shared *sh = ca->sh;
	struct carry_key *k;

	if (sh->cert_der != NULL && sh->cert_len > 0) {
		k = &c->keys[c->nkeys++];
		k->idx = sh->key_idx;
		k->cert = sh->cert_der;
		k->cert_len = sh->cert_len;
		k->subject = sh->subject;
		k->subject_len = sh->subject_len;
		k->not_before = sh->not_before;
		k->not_after = sh->not_after;
	}
	for (size_t i = 0; i < sh->nretired && c->nkeys < CA_KEYS_MAX; i++) {
		if (sh->retired[i].cert == NULL)
			continue;
		k = &c->keys[c->nkeys++];
		k->idx = sh->retired[i].idx;
		k->cert = sh->retired[i].cert;
		k->cert_len = sh->retired[i].cert_len;
		k->subject = sh->retired[i].subject;
		k->subject_len = sh->retired[i].subject_len;
		k->not_before = sh->retired[i].not_before;
		k->not_after = sh->retired[i].not_after;
	}
}

static int
entry_cb(void *ctx, const unsigned char *serial, size_t len, int64_t at,
	 int reason, int64_t invalid_at)
{
	struct ca_carry *c = ctx;
	struct carry_ent *e;

	if (len > 20)
		return mica_err_set(c->err, MICA_E_BADREQ, "bad_crl",
				    "%s: an entry's serial is longer than 20 "
				    "octets (RFC 5280 4.1.2.2)", c->name);
	/* Kept as this store keeps serials, its magnitude (the CRLs it
	 * makes put back the zero octet a top bit needs): zero is no
	 * certificate's serial (RFC 5280 4.1.2.2), and any other leading
	 * zero octet is not DER (X.690 8.3.2). Taken as they are, either
	 * would be recorded and then refused by every CRL this store signs,
	 * leaving it unable to publish - or to revoke - at all. */
	if (serial[0] == 0) {
		if (len == 1 || (serial[1] & 0x80) == 0)
			return mica_err_set(c->err, MICA_E_BADREQ, "bad_crl",
					    "%s: an entry's serial is %s",
					    c->name, len == 1 ? "zero" :
					    "encoded with a leading zero "
					    "octet (not DER)");
		serial++;
		len--;
	}
	/* A date before 1970 is left out of every CRL made (a complete
	 * CRL lists what was revoked since 0): the serial would be revoked
	 * here but good to a CRL's reader. No CRL of this CA holds one. */
	if (at < 0)
		return mica_err_set(c->err, MICA_E_BADREQ, "bad_crl",
				    "%s: an entry's revocationDate is before "
				    "1970", c->name);
	/* RFC 5280 5.3.1: 7 is unassigned; removeFromCRL only in a delta. */
	if (reason == 7 || (reason == REASON_REMOVE_FROM_CRL && !c->delta))
		return mica_err_set(c->err, MICA_E_BADREQ, "bad_crl",
				    "%s: an entry's reasonCode is %s", c->name,
				    reason == 7 ? "the unassigned value 7" :
				    "removeFromCRL, outside a delta CRL");
	/* RFC 5280 5.3.2, as mica writes it: a GeneralizedTime after 1970,
	 * no later than the revocation, never on a hold (nor on a
	 * removeFromCRL). Anything else is no CRL of this CA's making. */
	if (invalid_at != 0 &&
	    (invalid_at < 0 || invalid_at > at || reason == CA_REASON_HOLD ||
	     reason == REASON_REMOVE_FROM_CRL))
		return mica_err_set(c->err, MICA_E_BADREQ, "bad_crl",
				    "%s: an entry's invalidityDate is %s",
				    c->name, invalid_at < 0 ?
				    "malformed (or critical, or given twice)" :
				    invalid_at > at ?
				    "after its revocationDate" :
				    "on a hold");
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct carry_ent *nv = realloc(c->v, cap * sizeof(*nv));

		if (nv == NULL)
			return mica_err_set(c->err, MICA_E_INTERNAL, "internal",
					    "out of memory");
		c->v = nv;
		c->cap = cap;
	}
	e = &c->v[c->n++];
	mica_hex_encode(serial, len, e->serial);
	e->key_idx = c->keys[c->key].idx;
	e->number = c->number;
	e->reason = reason < 0 ? CA_REASON_UNSPECIFIED : reason;
	e->at = at;
	e->invalid_at = invalid_at;
	return 0;
}

/* Read and verify one CRL file F into C. */
static int
carry_one(struct ca_carry *c, const struct ca_crl_file *f, int64_t now,
	  struct mica_err *err)
{
	struct ca_crl_info crl;
	struct ca_cert_info ci;
	unsigned char *der = NULL;
	size_t der_len = 0;
	char name[160];
	int named = 0, rc = -1;

	c->key = -1;
	c->name = f->name;
	c->err = err;
	if (ca_crl_file_check(f, &der, &der_len, &crl, err) != 0)
		goto out;
	/* Its issuer: one of this CA's keys, by name and signature. */
	for (size_t i = 0; i < c->nkeys && c->key < 0; i++) {
		struct mica_err e2;

		if (ca_name_match(crl.issuer, crl.issuer_len, c->keys[i].subject,
				  c->keys[i].subject_len) != 1)
			continue;
		named = 1;
		if (ca_cert_info_read(c->keys[i].cert, c->keys[i].cert_len, &ci,
				      err) != 0)
			goto out;
		if (ca_sig_verify(crl.tbs, crl.tbs_len, crl.sig_alg,
				  crl.sig_alg_len, crl.sig, crl.sig_len, ci.spki,
				  ci.spki_len, &e2) == 0)
			c->key = (int)i;
	}
	if (c->key < 0) {
		ca_name_text(crl.issuer, crl.issuer_len, name, sizeof(name));
		if (named)
			mica_err_set(err, MICA_E_BADREQ, "bad_signature",
				     "%s: the CRL names this CA as its issuer, "
				     "but its signature does not verify with any "
				     "of this CA's keys; refusing it", f->name);
		else
			mica_err_set(err, MICA_E_BADREQ, "other_ca",
				     "%s is a CRL of %s, not of this CA; refusing "
				     "it", f->name, name);
		goto out;
	}
	/* The next CRL this store signs is numbered above it, a key's
	 * complete and delta CRLs each one more: a number at the end of the
	 * 63 bits it counts in would leave it none to sign. */
	if (crl.number > CARRY_NUMBER_MAX) {
		mica_err_set(err, MICA_E_BADREQ, "bad_crl",
			     "%s: the CRL's cRLNumber is over 62 bits: this "
			     "store could not number its CRLs above it",
			     f->name);
		goto out;
	}
	c->delta = crl.delta;
	c->number = crl.number;
	if (ca_crl_foreach_entry(&crl, entry_cb, c, err) != 0) {
		/* The walk's own errors name no file: say which. */
		if (err != NULL && strcmp(err->code, "bad_crl") == 0 &&
		    strncmp(err->msg, "CRL: ", 5) == 0)
			mica_err_set(err, MICA_E_BADREQ, "bad_crl", "%s: %s",
				     f->name, err->msg + 5);
		goto out;
	}
	if (!crl.delta && crl.number > c->keys[c->key].newest_complete)
		c->keys[c->key].newest_complete = crl.number;
	c->sum.crls++;
	c->sum.deltas += crl.delta != 0;
	/* Past its nextUpdate it is still what this CA revoked by then. */
	c->sum.expired += crl.next_update != 0 && crl.next_update <= now;
	if (crl.number > c->sum.max_number)
		c->sum.max_number = crl.number;
	rc = 0;
out:
	free(der);
	return rc;
}

int
ca_crl_file_check(const struct ca_crl_file *f, unsigned char **der,
		  size_t *der_len, struct ca_crl_info *crl,
		  struct mica_err *err)
{
	*der = NULL;
	*der_len = 0;
	if (f->len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_crl",
				    "%s is empty, not a CRL", f->name);
	if (ca_pem_or_der(f->data, f->len, "X509 CRL", 16u * 1024 * 1024, der,
			  der_len, err) != 0 ||
	    ca_crl_info_read(*der, *der_len, crl, err) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_crl",
			     "%s is not a CRL mica can read (%s)", f->name,
			     err != NULL ? err->msg : "");
		goto bad;
	}
	/* RFC 5280 5.2: an unknown critical extension makes it unusable; one
	 * whose issuingDistributionPoint narrows its scope, or without a
	 * cRLNumber, is none that mica made. */
	if (crl->unknown_critical || crl->part) {
		mica_err_set(err, MICA_E_BADREQ, "bad_crl",
			     "%s: the CRL has %s: not one mica makes", f->name,
			     crl->part ? "an issuingDistributionPoint that "
			     "narrows its scope" : "a critical extension mica "
			     "does not know");
		goto bad;
	}
	if (crl->number < 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_crl",
			     "%s: the CRL has %s: not one mica makes", f->name,
			     crl->number_big ? "a cRLNumber over 63 bits" :
			     "no cRLNumber");
		goto bad;
	}
	return 0;
bad:
	free(*der);
	*der = NULL;
	*der_len = 0;
	return -1;
}

void
ca_carry_free(struct ca_carry *c)
{
	if (c == NULL)
		return;
	free(c->v);
	free(c);
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct carry_ent *x = a, *y = b;
	int r = strcmp(x->serial, y->serial);

	if (r != 0)
		return r;
	return x->number < y->number ? -1 : x->number > y->number;
}

int
ca_carry_read(struct ca *ca, const struct ca_crl_file *f, size_t n,
	      int backup, struct ca_carry **out, struct mica_err *err)
{
	struct ca_carry *c;
	int64_t now = ca_now();

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "out of memory");
	keys_load(ca, c);
	/* The store's own last complete CRL of each key is the newest word
	 * of its time: a hold that a CRL older than it lists (one given
	 * from before the backup) was released by then if the store does
	 * not hold it, and is not put back. */
	for (size_t i = 0; i < c->nkeys; i++)
		if (db_crl_lineage(ca->db, c->keys[i].idx, !backup,
				   &c->keys[i].own_complete, err) != 0 ||
		    db_crl_lineage(ca->db, c->keys[i].idx, 0,
				   &c->keys[i].own_all, err) != 0) {
			ca_carry_free(c);
			return -1;
		}
	/* A CRL numbered above a restore's floor is one the restored store
	 * made itself: weighed against all its own (a hold it released
	 * since is not put back), where one from before (the days the
	 * backup lost) is weighed against those from before the restore. */
	if (db_ca_restored_floor(ca->db, &c->floor, err) != 0) {
		ca_carry_free(c);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (carry_one(c, &f[i], now, err) != 0) {
			ca_carry_free(c);
			return -1;
		}
	if (c->n > 0)
		qsort(c->v, c->n, sizeof(*c->v), ent_cmp);
	/* The handle these point into may be closed before the apply
	 * (restore reopens the copy): only the keys' numbers go on. */
	for (size_t i = 0; i < c->nkeys; i++) {
		c->keys[i].cert = NULL;
		c->keys[i].cert_len = 0;
		c->keys[i].subject = NULL;
		c->keys[i].subject_len = 0;
	}
	*out = c;
	return 0;
}

const struct ca_carried *
ca_carry_sum(const struct ca_carry *c)
{
	return &c->sum;
}

/* The key slot of index IDX in C (there is one: every entry's came from
 * it). */
static const struct carry_key *
key_of(const struct ca_carry *c, int idx)
{
	for (size_t i = 0; i < c->nkeys; i++)
		if (c->keys[i].idx == idx)
			return &c->keys[i];
	return &c->keys[0];
}

/* What the entries V[0..N) of one serial (in CRL number order) say,
 * weighed: a revocation other than certificateHold is final and wins,
 * whatever came after (an entry that left a complete CRL had expired, or
 * was held and released - never unrevoked); otherwise the newest word
 * counts, a complete CRL of the same key numbered above the newest entry
 * and not listing it included (released, or expired), and the store's
 * own newest CRL, which knows the hold better (CARRY_STALE). *PICK gets
 * the entry that decided. */
static enum carry_verdict
weigh(const struct ca_carry *c, const struct carry_ent *v, size_t n,
      const struct carry_ent **pick)
{
	const struct carry_ent *last = &v[n - 1];

	for (size_t i = n; i-- > 0;)
		if (v[i].reason != CA_REASON_HOLD &&
		    v[i].reason != REASON_REMOVE_FROM_CRL) {
			*pick = &v[i];
			return CARRY_REVOKED;
		}
	*pick = last;
	if (last->reason == REASON_REMOVE_FROM_CRL ||
	    key_of(c, last->key_idx)->newest_complete > last->number)
		return CARRY_RELEASED;
	/* No newer than the store's own CRL: the store knows better. */
	if ((c->floor != 0 && last->number > c->floor ?
	     key_of(c, last->key_idx)->own_all :
	     key_of(c, last->key_idx)->own_complete) > last->number)
		return CARRY_STALE;
	return CARRY_HOLD;
}

/* The key of a certificate known only from a CRL: none is, so a stand-in
 * that no SubjectPublicKeyInfo hashes to (a SHA-256 preimage would be
 * needed) and that differs per serial, so that a keyCompromise of one
 * never reaches another as a certificate of the same key. */
static void
standin_spki(const char *serial, unsigned char out[32])
{
	static const char tag[] = "mica: a certificate known only from a "
				  "CRL, serial ";
	mbedtls_sha256_context h;

	mbedtls_sha256_init(&h);
	mbedtls_sha256_starts(&h, 0);
	mbedtls_sha256_update(&h, (const unsigned char *)tag, sizeof(tag) - 1);
	mbedtls_sha256_update(&h, (const unsigned char *)serial, strlen(serial));
	mbedtls_sha256_finish(&h, out);
	mbedtls_sha256_free(&h);
}

/* Record E's serial, which this store never issued, as revoked with E's
 * reason and date (CARRY_HOLD: on hold): a row without a body, of the key
 * whose CRL listed it, so that the CRLs of that key list it and OCSP
 * answers revoked, until the end of that key's CA certificate (the serial
 * cannot outlive it: leaves end with their CA's path). */
static int
standin_add(struct db *db, const struct carry_key *k,
	    const struct carry_ent *e, int64_t now, struct mica_err *err)
{
	struct db_cert rec;

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.serial, sizeof(rec.serial), "%s", e->serial);
	rec.profile = (char *)CA_PROFILE_FROM_CRL;
	rec.subject = (char *)"";
	rec.names = (char *)"";
	rec.not_before = k->not_before;
	rec.not_after = k->not_after;
	rec.created_at = now;
	rec.key_idx = k->idx;
	standin_spki(e->serial, rec.spki_sha256);
	if (db_cert_reserve(db, &rec, err) != 0 ||
	    db_cert_revoke(db, e->serial, e->reason, e->at, err) != 0)
		return -1;
	return e->invalid_at > 0 ?
	       db_cert_invalid_set(db, e->serial, e->invalid_at, err) : 0;
}

/* A revocation for REASON carried in for SERIAL, a certificate this store
 * holds: if it condemns the key (ca_reason_condemns_key, of a CA
 * certificate when this root signed one), the key is never certified
 * again, and for keyCompromise its other certificates go with it (as
 * ca_revoke does; the store the CRL came from did the same). */
static int
compromised(struct db *db, const char *serial, int reason, int64_t at,
	    int64_t invalid_at, int64_t now, const char *actor,
	    struct ca_carried *sum, struct mica_err *err)
{
	struct db_cert rec;
	struct ca_cert_info ci;
	struct mica_err e2;
	unsigned char id[32];
	char (*also)[DB_SERIAL_MAX] = NULL;
	char detail[DB_SERIAL_MAX + 64];
	size_t nalso = 0;
	int has_id = 0, ca_cert, rc = -1;

	memset(&rec, 0, sizeof(rec));
	if (db_cert_get(db, serial, &rec, err) != 0)
		return -1;
	if (rec.der != NULL &&
	    ca_cert_info_read(rec.der, rec.der_len, &ci, &e2) == 0)
		has_id = ca_key_rsa_id(ci.spki, ci.spki_len, id) == 1;
	ca_cert = rec.der != NULL && ca_profile_is_ca(rec.profile);
	db_cert_free(&rec);
	/* As ca_revoke judges it (sign-ca never certifies the key again);
	 * only keyCompromise takes the key's other certificates with it. */
	if (!ca_reason_condemns_key(reason, ca_cert))
		return 0;
	if (db_key_compromised_add(db, serial, at, has_id ? id : NULL,
				   err) != 0)
		return -1;
	if (reason != CA_REASON_KEY_COMPROMISE)
		return 0;
	if (db_cert_same_key(db, serial, now, CA_PROFILE_KEPT_ON_CRL, &also,
			     &nalso, err) != 0)
		goto out;
	snprintf(detail, sizeof(detail), "keyCompromise (the key of %s, "
		 "carried in from a CRL)", serial);
	/* Revoked now, as ca_revoke does: one issued after AT (in this
	 * store, since the backup) was not revoked before it existed; one
	 * revoked for another reason has it raised, its date kept. The
	 * key's invalidity date goes with it, as ca_revoke gives it. */
	if (ca_key_others_revoke(db, also, nalso, now, actor, detail,
				 invalid_at, err) != 0)
		goto out;
	sum->revoked += nalso;
	rc = 0;
out:
	free(also);
	return rc;
}

int
ca_carry_apply(struct db *db, const struct ca_carry *c, const char *actor,
	       struct ca_carried *out, struct mica_err *err)
{
	struct ca_carried sum = c->sum;
	char detail[160];
	int64_t now = ca_now();
	size_t i = 0, j;

	while (i < c->n) {
		const struct carry_ent *e;
		struct db_cert_state st;
		struct mica_err e2;
		enum carry_verdict v;
		int known, held;

		for (j = i + 1; j < c->n &&
		     strcmp(c->v[j].serial, c->v[i].serial) == 0; j++)
			;
		v = weigh(c, &c->v[i], j - i, &e);
		i = j;
		mica_err_clear(&e2);
		if (db_cert_state_get(db, e->serial, &st, &e2) != 0) {
			if (e2.kind != MICA_E_NOTFOUND) {
				if (err != NULL)
					*err = e2;
				return -1;
			}
			known = 0;
		} else {
			known = 1;
		}
		held = known && st.status == DB_CERT_REVOKED &&
		       st.reason == CA_REASON_HOLD;
		if (v == CARRY_STALE) {
			sum.already += known && st.status == DB_CERT_REVOKED;
			continue;
		}
		if (v == CARRY_RELEASED) {
			/* Released there, or expired: nothing to carry.
			 * One still on hold here stays so (the admin may
			 * release it): never a revocation undone unasked. */
			sum.released++;
			sum.still_held += held;
			continue;
		}
		if (known && st.status == DB_CERT_REVOKED &&
		    (!held || v == CARRY_HOLD)) {
			/* Raised there to keyCompromise after this copy was
			 * taken (ca_revoke): raised here too, its date kept,
			 * and the key condemned with its others - else the
			 * CRLs would say "superseded" again and the key could
			 * be certified anew. */
			if (e->reason == CA_REASON_KEY_COMPROMISE &&
			    ca_reason_raisable(st.reason)) {
				snprintf(detail, sizeof(detail), "keyCompromise "
					 "(carried in from CRL %lld of this CA; "
					 "raised from %s)", (long long)e->number,
					 ca_reason_name(st.reason));
				if (db_cert_reason_set(db, e->serial, st.reason,
						       CA_REASON_KEY_COMPROMISE,
						       err) != 0 ||
				    (e->invalid_at > 0 &&
				     db_cert_invalid_set(db, e->serial,
							 e->invalid_at,
							 err) != 0) ||
				    db_audit_add(db, now, actor, "cert.revoke",
						 e->serial, detail, err) != 0 ||
				    compromised(db, e->serial, e->reason, e->at,
						e->invalid_at, now, actor, &sum,
						err) != 0)
					return -1;
				sum.raised++;
				continue;
			}
			/* The CRL knows an earlier invalidity date (given
			 * where it was published, after this copy was
			 * taken): taken, as 'mica revoke --invalidity-date'
			 * takes one - never after the revocation date kept
			 * here, never on a hold, only ever earlier. */
			if (e->invalid_at > 0 && !held &&
			    e->invalid_at <= st.revoked_at &&
			    (st.invalid_at == 0 || e->invalid_at < st.invalid_at)) {
				char when[CA_DATE_TEXT];

				ca_date_rfc3339(e->invalid_at, when);
				snprintf(detail, sizeof(detail), "%s; invalidity "
					 "date %s (carried in from CRL %lld of "
					 "this CA)", ca_reason_name(st.reason),
					 when, (long long)e->number);
				if (db_cert_invalid_set(db, e->serial,
							e->invalid_at, err) != 0 ||
				    db_audit_add(db, now, actor, "cert.revoke",
						 e->serial, detail, err) != 0)
					return -1;
				sum.dated++;
			}
			sum.already++;
			continue;
		}
		snprintf(detail, sizeof(detail), "%s (carried in from CRL %lld "
			 "of this CA%s)", ca_reason_name(e->reason),
			 (long long)e->number, known ? "" : "; a certificate "
			 "this store never saw");
		if (!known) {
			if (standin_add(db, key_of(c, e->key_idx), e, now,
					err) != 0)
				return -1;
			sum.unknown++;
		} else {
			if (db_cert_revoke(db, e->serial, e->reason, e->at,
					   err) != 0 ||
			    (e->invalid_at > 0 &&
			     db_cert_invalid_set(db, e->serial, e->invalid_at,
						 err) != 0))
				return -1;
			sum.revoked++;
		}
		if (db_audit_add(db, now, actor, "cert.revoke", e->serial,
				 detail, err) != 0)
			return -1;
		if (known && ca_reason_condemns_key(e->reason, 1) &&
		    compromised(db, e->serial, e->reason, e->at, e->invalid_at,
				now, actor, &sum, err) != 0)
			return -1;
	}
	/* RFC 5280 5.2.3: a number names one CRL; the next one this store
	 * signs goes above every number carried in. */
	if (sum.max_number > 0 &&
	    db_ca_raise_crl_floor(db, sum.max_number, err) != 0)
		return -1;
	if (out != NULL)
		*out = sum;
	return 0;
}

/* --------------------------------------------- after the fact, online -- */

struct from_crl_tx {
	struct ca *ca;
	const struct ca_principal *p;
	const struct ca_carry *c;
	struct ca_carried *out;
};

static int
from_crl_body(struct db *db, void *arg, struct mica_err *err)
{
	struct from_crl_tx *x = arg;

	if (ca_carry_apply(db, x->c, x->p->actor, x->out, err) != 0)
		return -1;
	/* The revocations and the complete CRLs that list them commit
	 * together; not a delta: a revocation carried in keeps its date,
	 * likely before the last complete CRL's, and a delta lists only
	 * what was revoked after it. */
	return ca_crl_publish_tx(x->ca, db, x->p->actor, NULL, err);
}

int
ca_revoke_from_crls(struct ca *ca, const struct ca_principal *p,
		    const struct ca_crl_file *f, size_t n,
		    struct ca_carried *out, struct mica_err *err)
{
	struct ca_carry *c = NULL;
	struct from_crl_tx x;
	int rc;

	memset(out, 0, sizeof(*out));
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (n == 0)
		return mica_err_set(err, MICA_E_USAGE, "usage", "no CRL given");
	if (ca_carry_read(ca, f, n, 0, &c, err) != 0)
		return -1;
	if (ca_sign_ready(ca, err) != 0) {
		ca_carry_free(c);
		return -1;
	}
	x.ca = ca;
	x.p = p;
	x.c = c;
	x.out = out;
	rc = ca_tx(ca, CA_TX_DURABLE | CA_TX_OWN, from_crl_body, &x, err);
	ca_carry_free(c);
	return rc;
}

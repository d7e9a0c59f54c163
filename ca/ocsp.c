/*
 * ca/ocsp.c - the OCSP responder (RFC 6960, RFC 5019): answers from the
 * store, pre-signed responses, and the delegated responder certificate.
 *
 * Responses are signed by an OCSP key that is not the CA key (ca/sign.h:
 * the signers' in the daemon), certified by the CA key as a delegated
 * responder for a few days (CA_OCSP_CERT_DAYS) and renewed here well
 * before it expires. Every certificate the current key signed has a
 * response signed ahead of time (ca_ocsp_refresh, run by the daemon in the
 * background), for the SHA-1 CertID without a nonce that RFC 5019 clients
 * send: answering one is a lookup. Anything else (SHA-256, a nonce,
 * several CertIDs, a miss) is signed on demand. A revocation drops the
 * certificate's stored response in the same transaction (a trigger of
 * schema/007), so the next request is answered from the store's state.
 *
 * The store keeps a response without the responder certificate (the
 * BasicOCSPResponse without certs, schema/009) and the serial of that
 * certificate; it is added back when the response leaves (answer,
 * publication). The certificates of earlier starts, which responses
 * still in the store were signed under, are kept here by serial.
 *
 * Who signs. The current key's certificates: the delegated responder
 * (default), or the CA key itself on a handle opened with
 * CA_OPEN_OCSP_BY_CA (mica serve --ocsp-signer ca). The certificates of a
 * key a rollover retired: that key itself, while its CA certificate is
 * valid (RFC 6960 4.2.2.2: the CA that issued them; the signers hold the
 * retired keys anyway, for their CRLs), so a request naming the old CA
 * certificate is answered rather than refused. A response the CA key
 * signed carries no certificate and is stored whole (schema/011 by_ca);
 * the store serves and refreshes only rows signed as the handle's mode
 * says, so a change of --ocsp-signer is signed again at the next start.
 *
 * A serial this CA never issued has no row to pre-sign. Its "unknown" is
 * signed once and kept in memory (UNKNOWN_MAX answers, least recently
 * used out, each until its own nextUpdate); the store is asked first
 * every time, so a kept "unknown" never hides a certificate. New
 * "unknown" signatures are rationed (UNKNOWN_RATE a second after a burst
 * of UNKNOWN_BURST; then tryLater, unsigned): a flood of random serials,
 * each new, cannot make the signers sign per request. Such an answer
 * ignores a request's nonce (RFC 5019 4, as for any pre-produced
 * response), so it is the same for everyone who asks.
 */
#include "ca/ca.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/ca_int.h"
#include "ca/cacert.h"
#include "ca/ocsp.h"
#include "ca/sign.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/hex.h"
#include "util/log.h"

/* Renew the responder certificate when less than this is left: a
 * response made with it (valid CA_OCSP_PERIOD) never outlives it. */
#define CERT_RENEW_LEFT   CA_OCSP_DELEGATE_LEFT
/* Refresh a stored response when less than this is left of it (RFC 5019
 * 4: well before nextUpdate). */
#define REFRESH_LEFT      (CA_OCSP_PERIOD / 2)
/* A stored response is served while at least this much of it is left. */
#define SERVE_LEFT        INT64_C(300)
/* Responder certificates of earlier starts kept in memory (a few days'
 * worth of restarts; a miss is one lookup in the store). */
#define KNOWN_MAX         4

/* Answers kept for serials never issued, and the ration of new ones. */
#define UNKNOWN_MAX       1024
#define UNKNOWN_PERIOD    INT64_C(3600)
#define UNKNOWN_RATE      32
#define UNKNOWN_BURST     64
/* The ration of responses about issued certificates signed for one
 * request (a nonce, a SHA-256 CertID, several CertIDs): a flood of such
 * requests cannot keep the signers, which issuance needs too, busy. Past
 * it a single SHA-1 CertID gets the response signed ahead of time (its
 * nonce ignored, RFC 8954 2.1), anything else tryLater. */
#define FRESH_RATE        256
#define FRESH_BURST       512

struct unknown_answer {
	unsigned char certid[CA_OCSP_CERTID_MAX];   /* as the client sent it */
	size_t certid_len;
	unsigned char *der;            /* the whole OCSPResponse; NULL: free */
	size_t der_len;
	int64_t this_update, next_update;
	uint64_t used;                 /* when last served (a tick) */
};

struct known_cert {
	char serial[CA_SERIAL_MAX];
	unsigned char *der;
	size_t len;
};

struct ca_ocsp_state {
	pthread_mutex_t mu;            /* the responder certificate */
	int ready;                     /* keys and key_hash are set */
	struct ca_ocsp_key keys[CA_KEYS_MAX];   /* keys[0]: the current */
	size_t nkeys;
	int64_t after[CA_KEYS_MAX];    /* where the refresh of each key goes
					* on (a certificate id; 0: start) */
	unsigned char key_hash[20];    /* the OCSP key's KeyHash */
	unsigned char *cert;           /* the responder certificate, DER */
	size_t cert_len;
	char cert_serial[CA_SERIAL_MAX];
	int64_t cert_not_before, cert_not_after;
	struct known_cert known[KNOWN_MAX];   /* others, by serial */
	size_t known_next;             /* the slot to reuse next */
	pthread_mutex_t umu;           /* what follows */
	struct unknown_answer *unk;    /* UNKNOWN_MAX, made on first use */
	uint64_t unk_tick;
	int64_t ration_ms;             /* last refill, CLOCK_MONOTONIC ms */
	double ration;                 /* signatures allowed now */
	int64_t fresh_ms;              /* the same for FRESH_RATE */
	double fresh;
};

void
ca_ocsp_state_free(struct ca_ocsp_state *o)
{
	if (o == NULL)
		return;
	pthread_mutex_destroy(&o->mu);
	pthread_mutex_destroy(&o->umu);
	free(o->cert);
	for (size_t i = 0; i < KNOWN_MAX; i++)
		free(o->known[i].der);
	if (o->unk != NULL)
		for (size_t i = 0; i < UNKNOWN_MAX; i++)
			free(o->unk[i].der);
	free(o->unk);
	free(o);
}

static struct ca_ocsp_state *
state(struct ca *ca, struct mica_err *err)
{
	struct ca_ocsp_state *o;

	pthread_mutex_lock(&ca->sh->lock);
	if (ca->sh->ocsp == NULL &&
	    (ca->sh->ocsp = calloc(1, sizeof(*ca->sh->ocsp))) != NULL) {
		pthread_mutex_init(&ca->sh->ocsp->mu, NULL);
		pthread_mutex_init(&ca->sh->ocsp->umu, NULL);
	}
	o = ca->sh->ocsp;
	pthread_mutex_unlock(&ca->sh->lock);
	if (o == NULL)
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
	return o;
}

/* One key for KEYS[*N]: IDX, its CA certificate CERT valid until
 * NOT_AFTER. */
static int
key_add(struct ca_ocsp_key *keys, size_t *n, int idx, int by_ca,
	const unsigned char *cert, size_t cert_len, int64_t not_after,
	int64_t path_end, struct mica_err *err)
{
	struct ca_cert_info ci;
	struct ca_ocsp_key *k = &keys[*n];

	if (*n >= CA_KEYS_MAX)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "too many CA keys");
	memset(k, 0, sizeof(*k));
	if (ca_cert_info_read(cert, cert_len, &ci, err) != 0 ||
	    ca_ocsp_issuer_hashes(ci.subject, ci.subject_len, ci.spki,
				  ci.spki_len, &k->issuer, err) != 0)
		return -1;
	k->idx = idx;
	k->by_ca = by_ca;
	k->not_after = not_after;
	k->path_end = path_end < not_after ? path_end : not_after;
	k->delegate_until = INT64_MAX;
	(*n)++;
	return 0;
}

int
ca_ocsp_keys(struct ca *ca, int64_t valid_after, struct ca_ocsp_key *keys,
	     size_t *n, struct mica_err *err)
{
	*n = 0;
	if (ca->sh->cert_der == NULL)
		return mica_err_set(err, MICA_E_CONFLICT,
				    "awaiting_certificate",
				    "this CA has no certificate yet");
	if (key_add(keys, n, ca->sh->key_idx,
		    (ca->sh->flags & CA_OPEN_OCSP_BY_CA) != 0,
		    ca->sh->cert_der, ca->sh->cert_len, ca->sh->not_after,
		    ca->sh->path_not_after, err) != 0)
		return -1;
	/* A responder certificate must outlast the responses it signs
	 * (CERT_RENEW_LEFT) and end with the path: in the path's last
	 * hours none can be made, and the CA key signs instead (RFC 6960
	 * 4.2.2.2), as a retired key's does - not tryLater until the CA
	 * has expired. */
	if (!keys[0].by_ca)
		keys[0].delegate_until = ca->sh->path_not_after - CA_OCSP_DELEGATE_LEFT;
	for (size_t i = 0; i < ca->sh->nretired && i < CA_KEYS_MAX; i++) {
		const struct ca_keyslot *k = &ca->sh->retired[i];

		if (k->cert == NULL || k->not_after <= valid_after)
			continue;
		if (key_add(keys, n, k->idx, 1, k->cert, k->cert_len,
			    k->not_after, k->path_not_after, err) != 0)
			return -1;
	}
	return 0;
}

/* Learn the keys' hashes and the OCSP key's KeyHash, once. Called with
 * o->mu held. */
static int
learn(struct ca *ca, struct ca_ocsp_state *o, struct mica_err *err)
{
	unsigned char spki[512];
	size_t spki_len = 0;

	if (o->ready)
		return 0;
	if (ca_sign_ready(ca, err) != 0 ||
	    ca_ocsp_keys(ca, ca_now(), o->keys, &o->nkeys, err) != 0 ||
	    ca_sign_ocsp_key(ca, spki, sizeof(spki), &spki_len, err) != 0 ||
	    ca_ocsp_key_hash(spki, spki_len, o->key_hash, err) != 0)
		return -1;
	o->ready = 1;
	return 0;
}

/* The key whose CA certificate ID names, valid at NOW; NULL if none (a
 * CertID of another issuer, or of a key whose certificate, or one above
 * it, has expired: nothing it signs could be valid, as nextUpdate never
 * passes the path's end). */
static const struct ca_ocsp_key *
key_of(const struct ca_ocsp_state *o, const struct ca_ocsp_certid *id,
       int64_t now)
{
	for (size_t i = 0; i < o->nkeys; i++)
		if (ca_ocsp_certid_is(id, &o->keys[i].issuer))
			return o->keys[i].path_end > now ? &o->keys[i] : NULL;
	return NULL;
}

/* The responderID's KeyHash of what signs for K (RFC 6960 4.2.1): the
 * CA key's (the issuer's key hash of its CertIDs) or the OCSP key's. */
static void
responder_key_hash(const struct ca_ocsp_state *o, const struct ca_ocsp_key *k,
		   int64_t now, unsigned char out[20])
{
	memcpy(out, ca_ocsp_by_ca(k, now) ? k->issuer.key1 : o->key_hash, 20);
}

/* A new delegated responder certificate for the OCSP key (RFC 6960
 * 4.2.2.2), recorded before any response carries it. Called with o->mu
 * held. */
static int
certify(struct ca *ca, struct ca_ocsp_state *o, int64_t now,
	struct mica_err *err)
{
	static const struct ca_service responder = {
		.cn = CA_OCSP_SUBJECT_CN,
		.what = "an OCSP responder",
		.actor = "ocsp",
		.action = "ocsp.responder",
		.log_name = "responder",
		.days = CA_OCSP_CERT_DAYS,
		.min_left = CERT_RENEW_LEFT,
		.key_usage = CA_KU_DIGITAL_SIGNATURE,
		.eku = CA_EKU_OCSP_SIGNING,
		.ocsp_nocheck = 1,
		.key = ca_sign_ocsp_key,
		.sign = ca_sign_ocsp_cert,
		.add = db_ocsp_responder_add,
	};
	struct ca_service_cert c;

	if (ca_service_certify(ca, &responder, now, &c, err) != 0)
		return -1;
	free(o->cert);
	o->cert = c.der;
	o->cert_len = c.der_len;
	o->cert_not_before = c.not_before;
	o->cert_not_after = c.not_after;
	snprintf(o->cert_serial, sizeof(o->cert_serial), "%s", c.serial);
	return 0;
}

/* A response just signed: what the store keeps and what is sent. */
struct signed_resp {
	unsigned char *basic;          /* BasicOCSPResponse, no certs */
	size_t basic_len;
	unsigned char *der;            /* the whole OCSPResponse */
	size_t der_len;
	char responder[CA_SERIAL_MAX]; /* the certificate in DER */
	int by_ca;                     /* the CA key signed: BASIC NULL, DER
					* is what the store keeps */
};

static void
signed_resp_free(struct signed_resp *r)
{
	free(r->basic);
	free(r->der);
	memset(r, 0, sizeof(*r));
}

/* Sign TBS with CA key K itself: the whole response, without
 * certificates. */
static int
sign_by_ca(struct ca *ca, const struct ca_ocsp_key *k,
	   const struct ca_ocsp_tbs *rd, struct signed_resp *out,
	   struct mica_err *err)
{
	unsigned char sig[CA_SIG_MAX], *tbs = NULL, *basic = NULL;
	const unsigned char *alg;
	size_t sig_len = 0, alg_len = 0, tbs_len = 0, basic_len = 0;
	int rc = -1;

	out->by_ca = 1;
	if (ca_ocsp_tbs_encode(rd, &tbs, &tbs_len, err) != 0 ||
	    ca_sign_ocsp_ca(ca, k->idx, tbs, tbs_len, sig, &sig_len, &alg,
			    &alg_len, err) != 0 ||
	    ca_ocsp_basic_encode(tbs, tbs_len, alg, alg_len, sig, sig_len,
				 &basic, &basic_len, err) != 0 ||
	    ca_ocsp_resp_wrap(basic, basic_len, NULL, 0, &out->der,
			      &out->der_len, err) != 0)
		goto out;
	rc = 0;
out:
	free(tbs);
	free(basic);
	return rc;
}

/* Sign TBS for the certificates of key K: by that CA key itself, or by
 * the OCSP key, renewing the responder certificate first when it is due;
 * make what the store keeps and what is sent (*OUT, free with
 * signed_resp_free). */
static int
sign_response(struct ca *ca, struct ca_ocsp_state *o,
	      const struct ca_ocsp_key *k, int64_t now,
	      const struct ca_ocsp_tbs *rd, struct signed_resp *out,
	      struct mica_err *err)
{
	unsigned char sig[CA_SIG_MAX], *tbs = NULL, *cert = NULL;
	const unsigned char *alg;
	size_t sig_len = 0, alg_len = 0, tbs_len = 0, cert_len = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (ca_ocsp_by_ca(k, now)) {
		if (sign_by_ca(ca, k, rd, out, err) != 0) {
			signed_resp_free(out);
			return -1;
		}
		return 0;
	}
	pthread_mutex_lock(&o->mu);
	/* Renewed when due, and when the clock was set back before its
	 * notBefore (a clock that ran ahead, then corrected): no relying
	 * party with the right time would take a response it signs. */
	if ((o->cert == NULL || o->cert_not_after - now < CERT_RENEW_LEFT ||
	     now < o->cert_not_before) &&
	    certify(ca, o, now, err) != 0) {
		pthread_mutex_unlock(&o->mu);
		return -1;
	}
	if ((cert = malloc(o->cert_len)) != NULL) {
		memcpy(cert, o->cert, o->cert_len);
		cert_len = o->cert_len;
		memcpy(out->responder, o->cert_serial, sizeof(out->responder));
	}
	pthread_mutex_unlock(&o->mu);
	if (cert == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	if (ca_ocsp_tbs_encode(rd, &tbs, &tbs_len, err) != 0 ||
	    ca_sign_ocsp(ca, tbs, tbs_len, sig, &sig_len, &alg, &alg_len,
			 err) != 0 ||
	    ca_ocsp_basic_encode(tbs, tbs_len, alg, alg_len, sig, sig_len,
				 &out->basic, &out->basic_len, err) != 0 ||
	    ca_ocsp_resp_wrap(out->basic, out->basic_len, cert, cert_len,
			      &out->der, &out->der_len, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		signed_resp_free(out);
	free(tbs);
	free(cert);
	return rc;
}

/* The responder certificate SERIAL: the current one, one of earlier
 * starts kept in O, else from the store (then kept). Called with o->mu
 * held; *DER points into O, valid while it is. */
static int
responder_cert(struct ca *ca, struct ca_ocsp_state *o, const char *serial,
	       const unsigned char **der, size_t *len, struct mica_err *err)
{
	struct known_cert *k;
	unsigned char *d = NULL;
	size_t n = 0, i;

	if (o->cert != NULL && strcmp(o->cert_serial, serial) == 0) {
		*der = o->cert;
		*len = o->cert_len;
		return 0;
	}
	for (i = 0; i < KNOWN_MAX; i++)
		if (o->known[i].der != NULL &&
		    strcmp(o->known[i].serial, serial) == 0) {
			*der = o->known[i].der;
			*len = o->known[i].len;
			return 0;
		}
	if (db_ocsp_responder_get(ca->db, serial, &d, &n, err) != 0)
		return -1;
	k = &o->known[o->known_next];
	o->known_next = (o->known_next + 1) % KNOWN_MAX;
	free(k->der);
	snprintf(k->serial, sizeof(k->serial), "%s", serial);
	k->der = d;
	k->len = n;
	*der = d;
	*len = n;
	return 0;
}

int
ca_ocsp_stored_response(struct ca *ca, const unsigned char *der,
			size_t der_len, const char *responder,
			unsigned char **out, size_t *out_len,
			struct mica_err *err)
{
	struct ca_ocsp_state *o;
	const unsigned char *cert;
	size_t cert_len;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (responder == NULL || responder[0] == '\0') {
		/* A row from before schema 009: the whole response. */
		if ((*out = malloc(der_len)) == NULL)
			return mica_err_set(err, MICA_E_INTERNAL,
					    "out_of_memory", "out of memory");
		memcpy(*out, der, der_len);
		*out_len = der_len;
		return 0;
	}
	if ((o = state(ca, err)) == NULL)
		return -1;
	pthread_mutex_lock(&o->mu);
	rc = responder_cert(ca, o, responder, &cert, &cert_len, err);
	if (rc == 0)
		rc = ca_ocsp_resp_wrap(der, der_len, cert, cert_len, out,
				       out_len, err);
	pthread_mutex_unlock(&o->mu);
	return rc;
}

/* What the store says of SERIAL (hex) for a CertID of key K. */
static int
single_state(struct ca *ca, const struct ca_ocsp_key *k, const char *hex,
	     struct db_cert_state *s, struct mica_err *err)
{
	struct mica_err e;

	if (db_cert_state_get(ca->db, hex, s, &e) != 0) {
		if (e.kind != MICA_E_NOTFOUND) {
			if (err != NULL)
				*err = e;
			return -1;
		}
		s->status = -1;   /* never issued: unknown */
	}
	/* A certificate another key signed was not issued by the issuer
	 * this CertID names: RFC 6960 says unknown. */
	if (s->status >= 0 && s->key_idx != k->idx)
		s->status = -1;
	return 0;
}

/* The nextUpdate of a response of K signed at NOW for PERIOD: never
 * past the end of K's CA path (its CA certificate's or one's above it),
 * when relying parties no longer take what the CA signed, so a cache
 * keeps no answer for then. K valid at NOW (key_of), so it is after
 * NOW. */
static int64_t
next_update(const struct ca_ocsp_key *k, int64_t now, int64_t period)
{
	assert(k->path_end > now);
	return k->path_end - now < period ? k->path_end : now + period;
}

/* When to sign again a response valid from THIS to NEXT: half a period
 * before NEXT, or half a period after THIS when the path's end cut it
 * shorter (what is signed later ends there too, and a change of status
 * marks it anyway; the store's look for responses dated ahead of a clock
 * set back counts on refresh_at >= THIS + REFRESH_LEFT). The store
 * refreshes none that outlives its certificate, which a leaf cut to the
 * path's end does; this is for one issued before its path got shorter
 * (a CA certificate installed under a root that ends sooner). */
static int64_t
refresh_time(int64_t this, int64_t next)
{
	return next - REFRESH_LEFT > this + REFRESH_LEFT ?
	       next - REFRESH_LEFT : this + REFRESH_LEFT;
}

static void
fill_single(struct ca_ocsp_single *sr, const struct ca_ocsp_key *k,
	    const struct db_cert_state *s, const unsigned char *certid,
	    size_t certid_len, int64_t now)
{
	memset(sr, 0, sizeof(*sr));
	sr->certid = certid;
	sr->certid_len = certid_len;
	sr->this_update = now;
	sr->next_update = next_update(k, now, CA_OCSP_PERIOD);
	sr->reason = -1;
	if (s->status == DB_CERT_VALID) {
		sr->status = CA_OCSP_GOOD;
	} else if (s->status == DB_CERT_REVOKED) {
		sr->status = CA_OCSP_REVOKED;
		sr->revoked_at = s->revoked_at;
		sr->reason = s->reason;
		/* RFC 6960 4.4: the CRL entry's invalidityDate, as the
		 * CRLs carry it (never on a hold: the store's CHECK). */
		if (s->reason != CA_REASON_HOLD)
			sr->invalid_at = s->invalid_at;
	} else {
		/* Never issued, or recorded but never signed (an issuance
		 * that failed: nobody ever received it), or being issued
		 * now: kept by caches no longer than a serial never issued
		 * is (UNKNOWN_PERIOD), not a day. */
		sr->status = CA_OCSP_UNKNOWN;
		sr->next_update = next_update(k, now, UNKNOWN_PERIOD);
	}
}

struct put_tx {
	const char *serial;
	const struct db_cert_state *s;
	const struct signed_resp *r;
	int64_t this_update, next_update;
	int64_t refresh_at;            /* refresh_time's */
	int stored;                    /* out: db_ocsp_put's */
};

/* Store the response without the responder certificate (schema/009),
 * to be signed again at X->refresh_at. */
static int
put_body(struct db *db, void *arg, struct mica_err *err)
{
	struct put_tx *x = arg;
	int64_t refresh_at = x->refresh_at;

	if (x->r->by_ca)
		return db_ocsp_put(db, x->serial, x->s, x->r->der,
				   x->r->der_len, NULL, 1, x->this_update,
				   x->next_update, refresh_at, &x->stored,
				   err);
	return db_ocsp_put(db, x->serial, x->s, x->r->basic, x->r->basic_len,
			   x->r->responder, 0, x->this_update, x->next_update,
			   refresh_at, &x->stored, err);
}

/* Many responses stored in one transaction, and what nothing can sign
 * given up on: DROP (marks: unmarked; due responses: never refreshed). */
struct put_batch {
	struct put_tx *x;
	size_t n;
	const char *const *drop;
	size_t ndrop;
	int drop_marks;                /* 1: DROP are marks, 0: due rows */
};

static int
put_batch_body(struct db *db, void *arg, struct mica_err *err)
{
	const struct put_batch *b = arg;

	for (size_t i = 0; i < b->n; i++)
		if (put_body(db, &b->x[i], err) != 0)
			return -1;
	for (size_t i = 0; i < b->ndrop; i++)
		if ((b->drop_marks ? db_ocsp_unmark(db, b->drop[i], err) :
		     db_ocsp_no_refresh(db, b->drop[i], err)) != 0)
			return -1;
	return 0;
}

/* Sign the response for one certificate in state S, with the SHA-1
 * CertID a client would send, into *R (free with signed_resp_free); *X
 * is what stores it (put_body), pointing into HEX, S and R. */
static int
presign_one(struct ca *ca, struct ca_ocsp_state *o,
	    const struct ca_ocsp_key *k, const char *hex,
	    const struct db_cert_state *s, int64_t now, struct signed_resp *r,
	    struct put_tx *x, struct mica_err *err)
{
	unsigned char serial[20], certid[CA_OCSP_CERTID_MAX];
	size_t n = strlen(hex) / 2, certid_len = 0;
	struct ca_ocsp_single sr;
	struct ca_ocsp_tbs rd;

	if (n == 0 || n > sizeof(serial) || mica_hex_decode(hex, serial, n) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_record",
				    "a stored serial is malformed");
	if (ca_ocsp_certid_encode(CA_OCSP_SHA1, &k->issuer, serial, n, certid,
				  &certid_len, err) != 0)
		return -1;
	fill_single(&sr, k, s, certid, certid_len, now);
	memset(&rd, 0, sizeof(rd));
	responder_key_hash(o, k, now, rd.key_hash);
	rd.produced_at = now;
	rd.singles = &sr;
	rd.nsingles = 1;
	if (sign_response(ca, o, k, now, &rd, r, err) != 0)
		return -1;
	x->serial = hex;
	x->s = s;
	x->r = r;
	x->this_update = sr.this_update;
	x->next_update = sr.next_update;
	x->refresh_at = refresh_time(sr.this_update, sr.next_update);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Serials never issued                                                */
/* ------------------------------------------------------------------ */

/* The kept answer for CERTID, fresh at NOW: a copy into *OUT. 1 found,
 * 0 not, -1 out of memory. */
static int
unknown_get(struct ca_ocsp_state *o, const struct ca_ocsp_certid *id,
	    int64_t now, struct ca_ocsp_answer *out)
{
	struct unknown_answer *u;
	int found = 0;

	pthread_mutex_lock(&o->umu);
	for (size_t i = 0; o->unk != NULL && i < UNKNOWN_MAX; i++) {
		u = &o->unk[i];
		if (u->der == NULL || u->certid_len != id->raw_len ||
		    memcmp(u->certid, id->raw, id->raw_len) != 0)
			continue;
		/* Stale, or dated after NOW (the clock was set back since):
		 * signed again, then replaced. */
		if (u->next_update - now < SERVE_LEFT || u->this_update > now)
			break;
		if ((out->der = malloc(u->der_len)) == NULL) {
			found = -1;
			break;
		}
		memcpy(out->der, u->der, u->der_len);
		out->der_len = u->der_len;
		out->this_update = u->this_update;
		out->next_update = u->next_update;
		out->max_age = u->next_update - now;
		out->cached = 1;
		u->used = ++o->unk_tick;
		found = 1;
		break;
	}
	pthread_mutex_unlock(&o->umu);
	return found;
}

/* Keep DER as the answer for CERTID, in the slot of the same CertID, a
 * free one, or the least recently used. Out of memory: not kept. */
static void
unknown_put(struct ca_ocsp_state *o, const struct ca_ocsp_certid *id,
	    const unsigned char *der, size_t der_len, int64_t this_update,
	    int64_t next_update)
{
	struct unknown_answer *u = NULL;
	unsigned char *copy;
	size_t i;

	if (id->raw_len > CA_OCSP_CERTID_MAX ||
	    (copy = malloc(der_len)) == NULL)
		return;
	memcpy(copy, der, der_len);
	pthread_mutex_lock(&o->umu);
	if (o->unk == NULL)
		o->unk = calloc(UNKNOWN_MAX, sizeof(*o->unk));
	for (i = 0; o->unk != NULL && i < UNKNOWN_MAX; i++) {
		struct unknown_answer *c = &o->unk[i];

		if (c->der != NULL && c->certid_len == id->raw_len &&
		    memcmp(c->certid, id->raw, id->raw_len) == 0) {
			u = c;
			break;
		}
		if (u == NULL || (u->der != NULL &&
				  (c->der == NULL || c->used < u->used)))
			u = c;
	}
	if (u == NULL) {
		pthread_mutex_unlock(&o->umu);
		free(copy);
		return;
	}
	free(u->der);
	memcpy(u->certid, id->raw, id->raw_len);
	u->certid_len = id->raw_len;
	u->der = copy;
	u->der_len = der_len;
	u->this_update = this_update;
	u->next_update = next_update;
	u->used = ++o->unk_tick;
	pthread_mutex_unlock(&o->umu);
}

/* A token bucket under O->umu: BURST at once, RATE a second after that
 * (NO_REFILL: a test's clock standing still). 1 if one more may go now. */
static int
bucket_take(struct ca_ocsp_state *o, int64_t *last_ms, double *tokens,
	    double rate, double burst, int no_refill)
{
	int64_t ms = mica_mono_ms();
	int ok = 0;

	pthread_mutex_lock(&o->umu);
	if (*last_ms == 0)
		*tokens = burst;
	else if (!no_refill)
		*tokens += (double)(ms - *last_ms) * rate / 1000.0;
	if (*tokens > burst)
		*tokens = burst;
	*last_ms = ms != 0 ? ms : 1;
	if (*tokens >= 1.0) {
		*tokens -= 1.0;
		ok = 1;
	}
	pthread_mutex_unlock(&o->umu);
	return ok;
}

/* May one more answer about a serial never issued be signed now? */
static int
unknown_ration(struct ca_ocsp_state *o)
{
	return bucket_take(o, &o->ration_ms, &o->ration, UNKNOWN_RATE,
			   UNKNOWN_BURST, MICA_FAULT("ocsp_ration_refill"));
}

/* May one more answer about issued certificates be signed for one
 * request now? */
static int
fresh_ration(struct ca_ocsp_state *o)
{
	return bucket_take(o, &o->fresh_ms, &o->fresh, FRESH_RATE,
			   FRESH_BURST, MICA_FAULT("ocsp_fresh_refill"));
}

void
ca_ocsp_answer_free(struct ca_ocsp_answer *a)
{
	if (a == NULL)
		return;
	free(a->der);
	memset(a, 0, sizeof(*a));
}


/* Whether the stored response R is dated after NOW: the clock was set
 * back since it was signed (one that ran ahead, then was corrected), and
 * a relying party with the right time refuses a thisUpdate in the future
 * (OpenSSL: "status times invalid"). Such a response is let go (R freed)
 * and signed again on demand, which replaces it in the store. */
static int
future_dated(struct db_ocsp_response *r, int64_t now)
{
	if (r->this_update <= now)
		return 0;
	db_ocsp_response_free(r);
	return 1;
}

/* An unsuccessful answer with STATUS. */
static int
answer_error(struct ca_ocsp_answer *a, int status, struct mica_err *err)
{
	ca_ocsp_answer_free(a);
	if ((a->der = malloc(CA_OCSP_ERROR_LEN)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	ca_ocsp_resp_error(status, a->der);
	a->der_len = CA_OCSP_ERROR_LEN;
	a->status = status;
	return 0;
}

/* The response about serial HEX of key K signed ahead of time, into OUT,
 * if the store has one to serve at NOW: 1, 0 none, -1 (with ERR) when it
 * cannot be made whole. */
static int
stored_answer(struct ca *ca, const struct ca_ocsp_key *k, const char *hex,
	      int64_t now, struct ca_ocsp_answer *out, struct mica_err *err)
{
	struct db_ocsp_response stored;
	struct mica_err e;
	int rc;

	if (db_ocsp_get(ca->db, hex, k->idx, ca_ocsp_by_ca(k, now),
			now + SERVE_LEFT, &stored, &e) != 0)
		return 0;
	if (future_dated(&stored, now))   /* it freed STORED */
		return 0;
	rc = ca_ocsp_stored_response(ca, stored.der, stored.der_len,
				     stored.responder, &out->der,
				     &out->der_len, err);
	out->this_update = stored.this_update;
	out->next_update = stored.next_update;
	out->max_age = stored.next_update - now;
	out->presigned = 1;
	db_ocsp_response_free(&stored);
	return rc != 0 ? -1 : 1;
}

int
ca_ocsp_answer(struct ca *ca, const unsigned char *req, size_t req_len,
	       struct ca_ocsp_answer *out, struct mica_err *err)
{
	struct ca_ocsp_req r;
	struct ca_ocsp_state *o;
	const struct ca_ocsp_key *k;
	struct ca_ocsp_single sr[CA_OCSP_IDS_MAX];
	struct db_cert_state st[CA_OCSP_IDS_MAX];
	struct ca_ocsp_tbs rd;
	struct signed_resp sresp;
	struct mica_err e;
	char hex[CA_OCSP_IDS_MAX][2 * 20 + 1];
	int64_t now = ca_now();
	size_t i, never = 0;

	memset(out, 0, sizeof(*out));
	mica_err_clear(&e);
	if (ca_ocsp_req_parse(req, req_len, &r, &e) != 0)
		return answer_error(out, CA_OCSP_MALFORMED, err);
	if ((o = state(ca, &e)) == NULL)
		goto internal;
	pthread_mutex_lock(&o->mu);
	if (learn(ca, o, &e) != 0) {
		pthread_mutex_unlock(&o->mu);
		goto later;
	}
	pthread_mutex_unlock(&o->mu);
	/* RFC 5019 2.2.3: a CertID of another issuer (or of a retired key
	 * whose CA certificate expired) is unauthorized; so are CertIDs of
	 * several of this CA's keys in one request, which no one key may
	 * answer for. */
	if ((k = key_of(o, &r.ids[0], now)) == NULL)
		return answer_error(out, CA_OCSP_UNAUTHORIZED, err);
	for (i = 1; i < r.nids; i++)
		if (!ca_ocsp_certid_is(&r.ids[i], &k->issuer))
			return answer_error(out, CA_OCSP_UNAUTHORIZED, err);
	for (i = 0; i < r.nids; i++)
		mica_hex_encode(r.ids[i].serial, r.ids[i].serial_len, hex[i]);

	/* The common case, RFC 5019's: one SHA-1 CertID and no nonce,
	 * answered with the response signed ahead of time. That response
	 * echoes the SHA-1 CertID, and is found by serial alone: a CertID of
	 * any other hash must never get it (RFC 6960 4.2.1: the client
	 * matches the CertID it sent, as 'openssl ocsp' does, exactly), so
	 * it is signed for its own CertID below. */
	if (r.nids == 1 && r.nonce == NULL && r.ids[0].hash == CA_OCSP_SHA1 &&
	    r.ids[0].serial_len > 0) {
		int got = stored_answer(ca, k, hex[0], now, out, &e);

		if (got < 0)
			goto later;
		if (got > 0)
			return 0;
	}

	for (i = 0; i < r.nids; i++) {
		if (r.ids[i].serial_len == 0) {
			memset(&st[i], 0, sizeof(st[i]));
			st[i].status = -1;   /* no certificate has it */
		} else if (single_state(ca, k, hex[i], &st[i], &e) != 0) {
			goto later;
		}
		fill_single(&sr[i], k, &st[i], r.ids[i].raw, r.ids[i].raw_len,
			    now);
		if (st[i].status < 0)
			never++;
	}
	memset(&rd, 0, sizeof(rd));
	responder_key_hash(o, k, now, rd.key_hash);
	rd.produced_at = now;
	rd.singles = sr;
	rd.nsingles = r.nids;
	rd.nonce = r.nonce;
	rd.nonce_len = r.nonce_len;
	/* A serial never issued: the kept answer, else a rationed
	 * signature, kept for everyone (no nonce: it is not this
	 * client's). */
	if (never > 0 && r.nids == 1) {
		int got = unknown_get(o, &r.ids[0], now, out);

		if (got < 0)
			goto internal;
		if (got > 0)
			return 0;
		sr[0].next_update = next_update(k, now, UNKNOWN_PERIOD);
		rd.nonce = NULL;
		rd.nonce_len = 0;
	}
	if (never > 0 && !unknown_ration(o))
		return answer_error(out, CA_OCSP_TRY_LATER, err);
	if (never == 0 && !fresh_ration(o)) {
		/* Signing for each request has used its ration: the one
		 * signed ahead of time, for everyone, if there is one (for
		 * a SHA-1 CertID only, the one it echoes). */
		int got = r.nids == 1 && r.ids[0].hash == CA_OCSP_SHA1 ?
			  stored_answer(ca, k, hex[0], now, out, &e) : 0;

		if (got < 0)
			goto later;
		if (got > 0)
			return 0;
		return answer_error(out, CA_OCSP_TRY_LATER, err);
	}
	if (sign_response(ca, o, k, now, &rd, &sresp, &e) != 0)
		goto later;
	out->der = sresp.der;
	out->der_len = sresp.der_len;
	sresp.der = NULL;
	out->signed_now = 1;
	out->this_update = now;
	/* The earliest nextUpdate of its SingleResponses: an "unknown"
	 * beside a "good" is stale after UNKNOWN_PERIOD, and the cache
	 * headers made of this (max-age, Expires) must not keep it longer
	 * (RFC 5019 6.2). */
	out->next_update = sr[0].next_update;
	for (i = 1; i < r.nids; i++)
		if (sr[i].next_update < out->next_update)
			out->next_update = sr[i].next_update;
	/* A response with a nonce is for one client only (RFC 5019 6.2). */
	out->max_age = rd.nonce == NULL ? out->next_update - now : 0;
	if (never > 0 && r.nids == 1)
		unknown_put(o, &r.ids[0], out->der, out->der_len,
			    out->this_update, out->next_update);
	/* Keep what the background refresh would have made (its SHA-1
	 * CertID: nothing else is stored by serial). */
	if (r.nids == 1 && r.nonce == NULL && r.ids[0].hash == CA_OCSP_SHA1 &&
	    st[0].status >= DB_CERT_VALID) {
		/* The response went to OUT: the CA key's is stored whole,
		 * from there (it stored nothing, the store refusing a NULL
		 * response, and every request was signed anew). */
		struct signed_resp view = sresp;
		struct put_tx x = { hex[0], &st[0], &view,
				    out->this_update, out->next_update,
				    refresh_time(out->this_update,
						 out->next_update), 0 };

		view.der = out->der;
		view.der_len = out->der_len;

		if (ca_tx(ca, 0, put_body, &x, &e) != 0)
			mica_log(MICA_LOG_WARN, "ocsp: could not store a "
				 "response: %s", e.msg);
	}
	signed_resp_free(&sresp);
	return 0;
later:
	/* The signers restarting, the store busy: RFC 6960 tryLater. */
	mica_log(MICA_LOG_WARN, "ocsp: could not answer: %s (%s)", e.msg,
		 e.code);
	return answer_error(out, e.kind == MICA_E_INTERNAL ?
			    CA_OCSP_INTERNAL_ERROR : CA_OCSP_TRY_LATER, err);
internal:
	return answer_error(out, CA_OCSP_INTERNAL_ERROR, err);
}

/* A key whose certificates were all walked, for its signer. */
struct walked {
	int idx, by_ca;
};

/* Record that a key's certificates were all walked, for its signer. */
static int
walked_body(struct db *db, void *arg, struct mica_err *err)
{
	const struct walked *w = arg;

	return db_ocsp_walked_set(db, w->idx, w->by_ca, err);
}

/* Drop what expired long ago. */
static int
prune_body(struct db *db, void *arg, struct mica_err *err)
{
	return db_ocsp_prune(db, *(const int64_t *)arg, err);
}

static int
future_body(struct db *db, void *arg, struct mica_err *err)
{
	const int64_t *now = arg;

	return db_ocsp_future(db, *now, *now + REFRESH_LEFT, 1, NULL, err);
}

int
ca_ocsp_pending(struct ca *ca, int revoked, int *pending,
		struct mica_err *err)
{
	return db_ocsp_dirty(ca->db, revoked, pending, err);
}

/* The key of O that signs for key index IDX now, or NULL (not held, or
 * its CA certificate expired). */
static const struct ca_ocsp_key *
key_by_idx(const struct ca_ocsp_state *o, int idx, int64_t now)
{
	for (size_t k = 0; k < o->nkeys; k++)
		if (o->keys[k].idx == idx)
			return o->keys[k].path_end > now ? &o->keys[k] : NULL;
	return NULL;
}

/* What a refresh call works with: buffers of BATCH entries. */
struct refresh_run {
	struct ca *ca;
	struct ca_ocsp_state *o;
	int64_t now;
	size_t batch;
	struct db_ocsp_todo *todo;
	struct signed_resp *rs;
	struct put_tx *xs;
	const char **drop;
	struct ca_ocsp_pass *p;
};

/* Sign T[0..N) and store them in one transaction. KEY: the key they all
 * belong to (a walk), or NULL: each its own (marks, due rows), and those
 * nothing can sign now (expired, revoked out of existence, of a key not
 * held) are given up on (DROP_MARKS says how). *PROGRESS: how many rows
 * were stored or given up on. */
static int
sign_batch(struct refresh_run *r, const struct ca_ocsp_key *key, size_t n,
	   int drop_marks, size_t *progress, struct mica_err *err)
{
	struct put_batch pb;
	size_t i, m = 0, nd = 0;
	int rc = -1;

	*progress = 0;
	for (i = 0; i < n; i++) {
		const struct db_ocsp_todo *t = &r->todo[i];
		const struct ca_ocsp_key *k = key;

		if (k == NULL &&
		    (!t->known || t->not_after <= r->now ||
		     (t->state.status != DB_CERT_VALID &&
		      t->state.status != DB_CERT_REVOKED) ||
		     (k = key_by_idx(r->o, t->state.key_idx, r->now)) == NULL)) {
			r->drop[nd++] = t->serial;
			continue;
		}
		if (presign_one(r->ca, r->o, k, t->serial, &t->state, r->now,
				&r->rs[m], &r->xs[m], err) != 0)
			goto out;
		r->xs[m].stored = 0;
		m++;
	}
	pb.x = r->xs;
	pb.n = m;
	pb.drop = r->drop;
	pb.ndrop = nd;
	pb.drop_marks = drop_marks;
	if (m + nd > 0 &&
	    ca_tx(r->ca, CA_TX_OWN, put_batch_body, &pb, err) != 0)
		goto out;
	for (i = 0; i < m; i++)
		*progress += r->xs[i].stored != 0;
	*progress += nd;
	r->p->signed_n += m;
	r->p->dropped += nd;
	rc = 0;
out:
	for (i = 0; i < m; i++)
		signed_resp_free(&r->rs[i]);
	return rc;
}

/* The marked certificates (MARKS 1) or the due responses (0), up to
 * *LEFT rows, batch after batch until none is left or a batch made no
 * progress (a state that keeps changing under it: the next pass). */
static int
refresh_list(struct refresh_run *r, int marks, size_t *left,
	     struct mica_err *err)
{
	while (*left > 0) {
		size_t want = r->batch < *left ? r->batch : *left, n = 0;
		size_t progress = 0;

		if ((marks ? db_ocsp_marked(r->ca->db, want, r->todo, &n, err) :
		     db_ocsp_due(r->ca->db, r->now, want, r->todo, &n,
				 err)) != 0)
			return -1;
		if (marks)
			r->p->marked += n;
		else
			r->p->due += n;
		if (n == 0)
			break;
		if (sign_batch(r, NULL, n, marks, &progress, err) != 0)
			return -1;
		*left -= n;
		if (n < want || progress == 0)
			break;
	}
	return 0;
}

/* The walk of key K's certificates (O->keys[K]), on from where the last
 * call stopped (the daemon calls with a small budget), up to *LEFT rows;
 * at its end the key is recorded as walked for its signer. */
static int
refresh_walk(struct refresh_run *r, size_t k, size_t *left,
	     struct mica_err *err)
{
	const struct ca_ocsp_key *key = &r->o->keys[k];
	struct walked w = { key->idx, ca_ocsp_by_ca(key, r->now) };
	int64_t after;
	int walked = 0;

	if (db_ocsp_walked(r->ca->db, w.idx, w.by_ca, &walked, err) != 0)
		return -1;
	if (walked)
		return 0;
	pthread_mutex_lock(&r->o->mu);
	after = r->o->after[k];
	pthread_mutex_unlock(&r->o->mu);
	while (*left > 0) {
		size_t want = r->batch < *left ? r->batch : *left, n = 0;
		size_t progress;

		if (db_ocsp_todo(r->ca->db, w.idx, w.by_ca, r->now,
				 r->now + REFRESH_LEFT, after, want, r->todo,
				 &n, err) != 0)
			return -1;
		r->p->walked += n;
		if (n == 0) {
			/* The end: from now on the marks and the due index
			 * say what to sign for this key. */
			if (ca_tx(r->ca, CA_TX_OWN, walked_body, &w, err) != 0)
				return -1;
			after = 0;
		} else {
			after = r->todo[n - 1].id;
			if (sign_batch(r, key, n, 0, &progress, err) != 0)
				return -1;
			*left -= n;
		}
		pthread_mutex_lock(&r->o->mu);
		r->o->after[k] = after;
		pthread_mutex_unlock(&r->o->mu);
		if (n == 0)
			break;
	}
	return 0;
}

int
ca_ocsp_refresh(struct ca *ca, size_t max, size_t *done, struct mica_err *err)
{
	struct ca_ocsp_pass p;
	int rc;

	rc = ca_ocsp_refresh_pass(ca, done == NULL && max > 256 ? 256 : max,
				  &p, err);
	if (done != NULL)
		*done = rc == 0 ? p.signed_n : 0;
	return rc;
}

int
ca_ocsp_refresh_pass(struct ca *ca, size_t max, struct ca_ocsp_pass *p,
		     struct mica_err *err)
{
	struct ca_ocsp_state *o;
	struct refresh_run r;
	int64_t now = ca_now();
	size_t i, k, left = max;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	memset(&r, 0, sizeof(r));
	/* An offline root signs CA certificates and its CRL, nothing else:
	 * not a responder certificate ('mica list' would never show it),
	 * nor answers for certificates that name no OCSP URL. */
	if (ca_state_certified(ca, err) != 0 || ca_sign_ready(ca, err) != 0)
		return -1;
	if ((o = state(ca, err)) == NULL)
		return -1;
	pthread_mutex_lock(&o->mu);
	if (learn(ca, o, err) != 0 ||
	    (!ca_ocsp_by_ca(&o->keys[0], now) &&
	     (o->cert == NULL || o->cert_not_after - now < CERT_RENEW_LEFT) &&
	     certify(ca, o, now, err) != 0)) {
		pthread_mutex_unlock(&o->mu);
		return -1;
	}
	pthread_mutex_unlock(&o->mu);
	/* Responses of certificates that expired: kept a week past their
	 * nextUpdate, then dropped (through the index on nextUpdate). */
	{
		int64_t before = now - 7 * INT64_C(86400);

		if (ca_tx(ca, CA_TX_OWN, prune_body, &before, err) != 0)
			return -1;
	}
	/* Responses dated after now (the clock was set back since they
	 * were signed) are due now: served only by the daemon, which lets
	 * them go (future_dated), they would stay in a publication - and
	 * unused by a relying party with the right time - until their
	 * refresh time, which is the step later. */
	{
		int any = 0;

		if (db_ocsp_future(ca->db, now, now + REFRESH_LEFT, 0, &any,
				   err) != 0 ||
		    (any && ca_tx(ca, CA_TX_OWN, future_body, &now, err) != 0))
			return -1;
	}
	r.batch = max < 256 ? max : 256;
	if (r.batch == 0)
		return 0;
	r.ca = ca;
	r.o = o;
	r.now = now;
	r.p = p;
	r.todo = calloc(r.batch, sizeof(*r.todo));
	r.rs = calloc(r.batch, sizeof(*r.rs));
	r.xs = calloc(r.batch, sizeof(*r.xs));
	r.drop = calloc(r.batch, sizeof(*r.drop));
	if (r.todo == NULL || r.rs == NULL || r.xs == NULL || r.drop == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
		goto out;
	}
	/* What changed first (a revocation is signed at once), then what is
	 * due, then - once per key and signer - a walk of all of a key's
	 * certificates: the current key's first, then those of the retired
	 * keys whose CA certificates are still valid (o->keys). */
	if (refresh_list(&r, 1, &left, err) != 0 ||
	    refresh_list(&r, 0, &left, err) != 0)
		goto out;
	for (k = 0; k < o->nkeys && left > 0; k++) {
		if (o->keys[k].path_end <= now)
			continue;   /* its path expired since the start */
		if (refresh_walk(&r, k, &left, err) != 0)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; r.rs != NULL && i < r.batch; i++)
		signed_resp_free(&r.rs[i]);
	free(r.todo);
	free(r.rs);
	free(r.xs);
	free(r.drop);
	return rc;
}

int
ca_ocsp_count(struct ca *ca, int64_t *count, struct mica_err *err)
{
	return db_ocsp_count(ca->db, ca_now(), count, err);
}

/*
 * web/ocsp.c - the OCSP responder's two routes (RFC 6960 A.1, RFC 5019
 * 5): POST /ocsp with an application/ocsp-request body, and GET
 * /ocsp/{url-encoded base64 of the request}. Parse the HTTP part, hand
 * the DER to the engine (ca_ocsp_answer), send what it answers: always an
 * OCSPResponse with 200, whatever the request held (RFC 6960 A.1.1), and
 * for GET the cache headers of RFC 5019 6.2.
 */
#include "web/ocsp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "ca/ca.h"
#include "web/api.h"
#include "web/blob.h"
#include "web/conns.h"
#include "web/parse.h"
#include "web/server.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/thread.h"

/* Largest request accepted (ca/ocsp.h's CA_OCSP_REQ_MAX); a larger body
 * is answered malformedRequest, not read into the parser. */
#define OCSP_REQ_MAX 4096
/* The base64 of a GET (a request of 768 octets): larger ones are POSTed. */
#define OCSP_GET_B64_MAX 1024

static int
oom(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			    "out of memory");
}

/* Answer the DER request REQ[0..LEN) (NULL when it could not even be
 * decoded: malformedRequest). CACHEABLE: a GET, which caches may keep
 * (RFC 5019 6.2). */
static int
ocsp_reply(struct web_ctx *c, struct web_reply *rep, const unsigned char *req,
	   size_t len, int cacheable, struct mica_err *err)
{
	static const unsigned char garbage[1] = { 0 };
	struct ca_ocsp_answer a;
	struct ca *ca;

	if ((ca = web_thread_ca(c->srv, err)) == NULL)
		return -1;
	/* An undecodable request is as malformed as a bad DER one: let the
	 * engine say so in OCSP terms. */
	if (req == NULL || len > OCSP_REQ_MAX) {
		req = garbage;
		len = sizeof(garbage);
	}
	if (ca_ocsp_answer(ca, req, len, &a, err) != 0)
		return -1;
	rep->status = 200;
	rep->ctype = "application/ocsp-response";   /* RFC 6960 A.2 */
	/* The blob takes the buffer, even when it fails. */
	rep->blob = web_blob_adopt(a.der, a.der_len);
	a.der = NULL;
	if (rep->blob == NULL) {
		ca_ocsp_answer_free(&a);
		return oom(err);
	}
	if (cacheable && a.status == 0 && a.max_age > 0) {
		/* RFC 5019 6.2: max-age no later than nextUpdate, with
		 * Last-Modified, Expires and an ETag of the response. */
		rep->max_age = a.max_age > 86400 ? 86400 : (int)a.max_age;
		rep->last_modified = a.this_update;
		rep->expires = a.next_update;
		web_reply_etag_body(rep);
	} else {
		rep->max_age = -1;
	}
	ca_ocsp_answer_free(&a);
	return 0;
}

int
web_h_ocsp_post(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	/* RFC 6960 A.1: Content-Type application/ocsp-request. */
	if (strcmp(c->ctype, "application/ocsp-request") != 0)
		return mica_err_set(err, MICA_E_UNSUPPORTED,
				    "unsupported_media_type",
				    "send an OCSP request as "
				    "application/ocsp-request");
	return ocsp_reply(c, rep, c->body, c->body_len, 0, err);
}

int
web_ocsp_get_decode(const char *tail, unsigned char *der, size_t size,
		    size_t *der_len, struct mica_err *err)
{
	char buf[WEB_TAIL_MAX + 2];
	char *b64;
	size_t n;
	int len;

	*der_len = 0;
	/* RFC 6960 A.1: the URL encoding of the base64 encoding of the DER
	 * request. Clients send '/', '+' and '=' raw or percent-encoded
	 * alike; a raw '+' is a '+' (a path, not a form: openssl's own
	 * responder keeps it too). Room is left for two '=' added below. */
	len = web_pct_decode(tail, strlen(tail), 0, buf, sizeof(buf) - 2);
	if (len <= 0)
		goto bad;
	/* An AIA URL ending in '/' gives "/ocsp//MEk..." (CryptoAPI and
	 * others append "/" and the base64): the base64 of a DER request, a
	 * SEQUENCE (0x30), begins with 'M', never '/', so leading slashes
	 * are the URL's, not the request's. */
	b64 = buf;
	n = (size_t)len;
	while (n > 0 && *b64 == '/') {
		b64++;
		n--;
	}
	/* Up to 1 KiB of base64 once decoded, however it was encoded. */
	if (n == 0 || n > OCSP_GET_B64_MAX)
		goto bad;
	/* The base64 alphabet of RFC 4648 4, which RFC 6960 A.1 names (not
	 * the URL-safe one of section 5); a space taken back as the '+' a
	 * form decoding made of it ('openssl ocsp -port' only
	 * percent-decodes, and its base64 reader skips a space as white
	 * space, which shifts what follows into garbage); the padding some
	 * clients strip put back. */
	if (web_b64_decode(b64, n, der, size, der_len) != 0)
		goto bad;
	return 0;
bad:
	*der_len = 0;
	return mica_err_set(err, MICA_E_BADREQ, "malformed_ocsp",
			    "the GET path is no base64 OCSP request");
}

int
web_h_ocsp_get(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	unsigned char der[OCSP_REQ_MAX];
	struct mica_err e;
	size_t n = 0;

	/* What does not decode is answered malformedRequest (RFC 6960
	 * A.1.1: an OCSPResponse, whatever the request held). */
	if (web_ocsp_get_decode(c->m->tail, der, sizeof(der), &n, &e) != 0)
		return ocsp_reply(c, rep, NULL, 0, 0, err);
	return ocsp_reply(c, rep, der, n, 1, err);
}

/* ------------------------------------------------------------------ */
/* The background refresh of pre-signed responses                      */
/* ------------------------------------------------------------------ */

/* How often the refresh looks for work when there is none, and how much
 * it signs between two looks at the stop flag. */
#define REFRESH_IDLE_S  30
#define REFRESH_POLL_S  2
#define REFRESH_BATCH   512
/* Signing competes with issuance for the cores. While certificates are
 * being issued (one within REFRESH_QUIET_MS), the work found waits for
 * a pause, for at most REFRESH_DEFER_MS from when it was found, and not
 * at all when a revocation is among it (the responder answers a
 * certificate with no stored response by signing on demand anyway).
 * Past that it is signed in batches of REFRESH_PACED, each followed by
 * a pause as long as it took: at most about half a core, still several
 * times what the fastest issuance adds. */
#define REFRESH_QUIET_MS  250
#define REFRESH_DEFER_MS  20000
#define REFRESH_PACED     64
#define REFRESH_NAP_MS    100
/* A publication pass writes what changed since the last one; every
 * this often (and at start) it reconciles the whole directory, which
 * removes the files of certificates that expired. */
#define PUBLISH_FULL_S  3600

struct web_ocsp_refresher {
	struct web_server *srv;
	const char *publish_dir;        /* NULL: none */
	int64_t pub_seq;                /* the change number the last pass
					 * reached; -1: a full pass next */
	struct timespec pub_full;       /* the last full pass (monotonic) */
	int64_t quiet_ms, defer_ms;     /* REFRESH_QUIET_MS, REFRESH_DEFER_MS
					 * (a test build may set them) */
	int64_t work_since;             /* when the work now waiting was
					 * found (web_now_ms); 0: none */
	int paced;                      /* its deadline passed */
	int64_t polled;                 /* when the marks were last looked
					 * at for a revocation (web_now_ms) */
	size_t signed_n;                /* signed since the last log line */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

/* Sleep MS milliseconds, or until told to stop: 1 if told. */
static int
nap(struct web_ocsp_refresher *r, int64_t ms)
{
	struct timespec until;
	int stop;

	pthread_mutex_lock(&r->mu);
	mica_mono_deadline(&until, ms);
	while (!r->stop &&
	       mica_cond_wait_until(&r->cv, &r->mu, &until) == 0)
		;
	stop = r->stop;
	pthread_mutex_unlock(&r->mu);
	return stop;
}

enum turn { TURN_STOP = -1, TURN_NOW, TURN_PACED };

/* Wait for the moment to sign the work found at r->work_since (see
 * REFRESH_QUIET_MS). The marks are looked at for a revocation every
 * REFRESH_POLL_S at most (a lookup per mark), paced or not: one then
 * has the work signed at full speed until it is. A test build notes
 * each reason a wait ended (MICA_TEST_OCSP_NOTE: PATH.quiet, .revoked,
 * .deadline). */
static enum turn
wait_turn(struct web_ocsp_refresher *r, struct ca *ca)
{
	struct mica_err e;
	int waited = 0;

	for (;;) {
		int64_t now = web_now_ms();
		int revoked = 0;

		if (ca_issue_idle_ms(ca) >= r->quiet_ms) {
			if (waited)
				MICA_TEST_NOTE("MICA_TEST_OCSP_NOTE", "quiet");
			return TURN_NOW;
		}
		if (now - r->polled >= REFRESH_POLL_S * 1000) {
			r->polled = now;
			if (ca_ocsp_pending(ca, 1, &revoked, &e) == 0 &&
			    revoked) {
				MICA_TEST_NOTE("MICA_TEST_OCSP_NOTE", "revoked");
				return TURN_NOW;
			}
		}
		if (r->paced || now - r->work_since >= r->defer_ms) {
			if (!r->paced)
				MICA_TEST_NOTE("MICA_TEST_OCSP_NOTE", "deadline");
			r->paced = 1;
			return TURN_PACED;
		}
		waited = 1;
		if (nap(r, REFRESH_NAP_MS))
			return TURN_STOP;
	}
}

static void *
refresh_main(void *arg)
{
	struct web_ocsp_refresher *r = arg;
	struct mica_err e;
	struct ca *ca;
	size_t done;
	int rc, logged = 0;

	/* Its writes run on its own connection (ca/ocsp.c), and a test's
	 * injected faults are meant for the requests it makes. */
	MICA_FAULT_EXEMPT(1);
	mica_thread_name("mica-ocsp");
	for (;;) {
		size_t batch = REFRESH_BATCH;
		enum turn turn = TURN_NOW;
		int64_t began = 0;
		int idle = 1;

		done = 0;
		mica_err_clear(&e);
		if ((ca = web_thread_ca(r->srv, &e)) == NULL) {
			rc = -1;
		} else {
			if (r->work_since == 0)
				r->work_since = web_now_ms();
			if ((turn = wait_turn(r, ca)) == TURN_STOP)
				break;
			if (turn == TURN_PACED)
				batch = REFRESH_PACED;
			began = web_now_ms();
			rc = ca_ocsp_refresh(ca, batch, &done, &e);
		}
		if (rc != 0 && !logged) {
			mica_log(MICA_LOG_WARN, "ocsp: pre-signing failed: %s "
				 "(%s); retrying", e.msg, e.code);
			logged = 1;
		} else if (rc == 0) {
			logged = 0;
			idle = done < batch;
			r->signed_n += done;
			if (idle) {
				/* Caught up: the next work found starts a
				 * new wait. */
				r->work_since = 0;
				r->paced = 0;
				if (r->signed_n > 0)
					mica_log(MICA_LOG_INFO, "ocsp: %zu "
						 "response(s) signed ahead of "
						 "time", r->signed_n);
				r->signed_n = 0;
			}
		}
		if (!idle && turn == TURN_PACED &&
		    nap(r, web_now_ms() - began))
			break;
		/* Publish once the signing has caught up: one pass behind
		 * the store at most. */
		if (idle && ca != NULL && r->publish_dir != NULL) {
			struct ca_publish_stats st;
			struct timespec t;

			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - r->pub_full.tv_sec >= PUBLISH_FULL_S)
				r->pub_seq = -1;
			if (r->pub_seq < 0)
				r->pub_full = t;
			if (ca_publish_since(ca, r->publish_dir, &r->pub_seq,
					     &st, &e) != 0)
				mica_log(MICA_LOG_WARN, "publish: %s (%s)",
					 e.msg, e.code);
			else if (st.files + st.ocsp_written + st.ocsp_removed > 0)
				mica_log(MICA_LOG_INFO, "published to %s: %zu "
					 "file(s), %zu OCSP response(s) written, "
					 "%zu removed", r->publish_dir, st.files,
					 st.ocsp_written, st.ocsp_removed);
		}
		/* Sleep until the next pass, looking every few seconds
		 * whether a certificate was issued or revoked meanwhile (by
		 * anyone): then a pass begins (at once for a revocation;
		 * see wait_turn). */
		for (int waited = 0; idle && waited < REFRESH_IDLE_S;
		     waited += REFRESH_POLL_S) {
			int pending = 0;

			if (nap(r, REFRESH_POLL_S * 1000))
				break;
			if (ca != NULL &&
			    ca_ocsp_pending(ca, 0, &pending, &e) == 0 && pending)
				break;
		}
		pthread_mutex_lock(&r->mu);
		if (r->stop) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		pthread_mutex_unlock(&r->mu);
	}
	return NULL;
}

/* The test build's settings of REFRESH_QUIET_MS and REFRESH_DEFER_MS
 * (MICA_TEST_OCSP_QUIET_MS, MICA_TEST_OCSP_DEFER_MS): a test keeps a
 * daemon "issuing" with a slow loop, or reaches the deadline sooner. */
static int64_t
test_ms(const char *var, int64_t dflt)
{
#ifdef MICA_FAULT_INJECTION
	const char *v = getenv(var);
	char *end;
	long long ms;

	if (v != NULL && *v != '\0') {
		ms = strtoll(v, &end, 10);
		if (*end == '\0' && ms > 0 && ms <= 3600 * 1000)
			return ms;
	}
#else
	(void)var;
#endif
	return dflt;
}

struct web_ocsp_refresher *
web_ocsp_refresh_start(struct web_server *srv, const char *publish_dir,
		       struct mica_err *err)
{
	struct web_ocsp_refresher *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		oom(err);
		return NULL;
	}
	r->srv = srv;
	r->publish_dir = publish_dir;
	r->pub_seq = -1;
	r->quiet_ms = test_ms("MICA_TEST_OCSP_QUIET_MS", REFRESH_QUIET_MS);
	r->defer_ms = test_ms("MICA_TEST_OCSP_DEFER_MS", REFRESH_DEFER_MS);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->thread, NULL, refresh_main, r) != 0) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r);
		mica_err_set(err, MICA_E_INTERNAL, "thread",
			     "cannot start the OCSP refresh");
		return NULL;
	}
	return r;
}

void
web_ocsp_refresh_stop(struct web_ocsp_refresher *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

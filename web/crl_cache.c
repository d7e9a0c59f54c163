/*
 * web/crl_cache.c - the CRL as served (web/crl_cache.h). GET /crl is the
 * busiest public route, so it is answered from memory: the cache holds
 * references to DER and PEM blobs that a response keeps while the cache
 * moves on (the PEM made when first asked for). Once a CRL is loaded, at
 * most once a second a request looks at the store's CRL number (a small
 * read) and, when it moved (the command line published), a CRL under
 * CRL_INLINE_MAX is read by that request, the others waiting for it: a
 * relying party keeps a CRL until its nextUpdate, days later, and one
 * without the revocation the command reported published would be kept
 * that long. A larger one - tens of megabytes at a million entries - is
 * read and checked by the cache's loader thread with its own handle, at a
 * low priority, while requests go on serving the one before: no worker,
 * which serves many connections in turn, waits that long. The loader also
 * makes the first load after a start, which only requests for the CRL wait
 * for.
 */
#include "web/crl_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/x509.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/thread.h"
#include "web/parse.h"
#include "web/server.h"

/* A CRL published by another process is read by the request that finds
 * it when the one served is smaller than this (some 20,000 entries: a few
 * milliseconds), else by the loader thread. */
#define CRL_INLINE_MAX (1024 * 1024)
/* How long other requests wait for that read before they are served the
 * CRL before after all (the store is slow or failing). */
#define CRL_WAIT_MS 2000

struct web_crl_cache {
	pthread_mutex_t lock;
	struct web_blob *der, *pem;
	int64_t number, this_update, next_update;
	int64_t stored;                 /* the store's newer CRL number that a
					 * request is reading; 0: none */
	struct timespec checked;        /* CLOCK_MONOTONIC of the last look */
	int loaded;
	pthread_cond_t installed;       /* a request's read of STORED is over */
	/* The loader thread (web_crl_cache_start): */
	pthread_cond_t wake;
	pthread_cond_t first;           /* its first attempt is over */
	pthread_t thread;
	struct ca *ca;                  /* its own handle, the daemon's */
	int running, want, stop;
	int tried;                      /* it made an attempt */
};

struct web_crl_cache *
web_crl_cache_new(void)
{
	struct web_crl_cache *cc = calloc(1, sizeof(*cc));

	if (cc != NULL) {
		pthread_condattr_t mono;

		pthread_mutex_init(&cc->lock, NULL);
		pthread_cond_init(&cc->wake, NULL);
		pthread_cond_init(&cc->first, NULL);
		pthread_condattr_init(&mono);
		pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
		pthread_cond_init(&cc->installed, &mono);
		pthread_condattr_destroy(&mono);
	}
	return cc;
}

void
web_crl_cache_free(struct web_crl_cache *cc)
{
	if (cc == NULL)
		return;
	web_crl_cache_stop(cc);
	web_blob_unref(cc->der);
	web_blob_unref(cc->pem);
	pthread_cond_destroy(&cc->wake);
	pthread_cond_destroy(&cc->first);
	pthread_cond_destroy(&cc->installed);
	pthread_mutex_destroy(&cc->lock);
	free(cc);
}

/* A CRL ready to serve: its DER blob and dates (PEM is made when first
 * asked for: crl_pem). */
struct crl_ready {
	struct web_blob *der, *pem;
	int64_t number, this_update, next_update;
};

/* Build R from CRL, taking over CRL->der (set to NULL) without a copy: a
 * large CRL is tens of megabytes. Needs no lock: R is nobody's yet. */
static int
crl_prepare(struct crl_ready *r, struct ca_crl *crl, struct mica_err *err)
{
	memset(r, 0, sizeof(*r));
	if (crl->der == NULL || crl->der_len == 0)
		return mica_err_set(err, MICA_E_INTERNAL, "crl_empty", "stored CRL is empty");
	if (ca_pem_size("X509 CRL", crl->der_len) == 0)
		return mica_err_set(err, MICA_E_INTERNAL, "crl_too_large", "the CRL is too large");
	r->der = web_blob_adopt(crl->der, crl->der_len);
	crl->der = NULL;
	if (r->der == NULL)
		goto oom;
	r->number = crl->number;
	r->this_update = crl->this_update;
	r->next_update = crl->next_update;
	return 0;
oom:
	web_blob_unref(r->pem);
	r->pem = NULL;
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
}

/* Caller holds cc->lock, which this drops and takes again, and a
 * reference to DER, a CRL the cache served: a new reference to its PEM
 * form, made now if nobody asked for it yet (a third larger than the
 * DER, and seldom wanted: /crl.pem) and kept if DER is still the one
 * served; or NULL with ERR. */
static struct web_blob *
crl_pem(struct web_crl_cache *cc, struct web_blob *der, struct mica_err *err)
{
	struct web_blob *pem;
	size_t size;

	if (cc->der == der && cc->pem != NULL)
		return web_blob_ref(cc->pem);
	pthread_mutex_unlock(&cc->lock);
	pem = NULL;
	if ((size = ca_pem_size("X509 CRL", der->len)) == 0)
		mica_err_set(err, MICA_E_INTERNAL, "crl_too_large", "the CRL is too large");
	else if ((pem = web_blob_new(NULL, size - 1)) == NULL)
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	else if (ca_pem_encode_buf("X509 CRL", der->data, der->len,
				   (char *)pem->data, size, err) != 0) {
		web_blob_unref(pem);
		pem = NULL;
	}
	pthread_mutex_lock(&cc->lock);
	/* Keep it if the cache still serves that CRL; another request may
	 * have made it meanwhile. */
	if (pem != NULL && cc->der == der) {
		if (cc->pem == NULL)
			cc->pem = web_blob_ref(pem);
		else {
			web_blob_unref(pem);
			pem = web_blob_ref(cc->pem);
		}
	}
	return pem;
}

/* Caller holds cc->lock: serve R from now on (R is emptied) unless the
 * cache already has a newer CRL (another thread got there first). */
static void
crl_install(struct web_crl_cache *cc, struct crl_ready *r)
{
	if (!cc->loaded || r->number > cc->number) {
		web_blob_unref(cc->der);
		web_blob_unref(cc->pem);
		cc->der = r->der;
		cc->pem = r->pem;
		cc->number = r->number;
		cc->this_update = r->this_update;
		cc->next_update = r->next_update;
		cc->loaded = 1;
	} else {
		web_blob_unref(r->der);
		web_blob_unref(r->pem);
	}
	memset(r, 0, sizeof(*r));
}

/* Read the store's current CRL into R if its number is not HAVE (R->der
 * stays NULL when it is). 0, or -1 with E: MICA_E_NOTFOUND when the store
 * has none. No lock held: a CRL of a million entries takes a while to
 * read and encode, and GET /crl goes on serving the one it has. */
static int
crl_fetch(struct ca *ca, int loaded, int64_t have, struct crl_ready *r,
	  struct mica_err *e)
{
	struct ca_crl crl;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	memset(&crl, 0, sizeof(crl));
	/* The number first: the bytes only when they changed. */
	if (ca_crl_info(ca, &crl, e) != 0)
		goto out;
	if (!loaded || crl.number != have) {
		ca_crl_free(&crl);
		if (ca_crl_current(ca, &crl, e) != 0 || crl_prepare(r, &crl, e) != 0)
			goto out;
	}
	rc = 0;
out:
	ca_crl_free(&crl);
	return rc;
}

/* The loader thread: the first load after a start, then each time a
 * request found a large CRL newer than the one served (at most once a
 * second), fetch the store's CRL if its number moved, and install it. */
/* The store has the latest CRL on record but its body beside the store
 * (mica.db-crls/N.crl) is missing or damaged. */
static int
body_damaged(const struct mica_err *e)
{
	return strcmp(e->code, "crl_body_damaged") == 0;
}

static void *
loader_main(void *arg)
{
	struct web_crl_cache *cc = arg;
	struct crl_ready r;
	struct mica_err e;
	int64_t have;
	int loaded, rc;

	MICA_FAULT_EXEMPT(1);   /* not a request's: never counted */
	/* A CRL another process published is tens of megabytes to read and
	 * check at a million entries, while requests are served the one
	 * before: background work (util/thread.h), as signing one is
	 * (ca_crl_background). */
	if (mica_thread_background("mica-crl") != 0)
		mica_log(MICA_LOG_WARN, "the CRL loader runs at the daemon's "
			 "CPU priority: %s", strerror(errno));
	pthread_mutex_lock(&cc->lock);
	for (;;) {
		while (!cc->want && !cc->stop)
			pthread_cond_wait(&cc->wake, &cc->lock);
		if (cc->stop)
			break;
		cc->want = 0;
		loaded = cc->loaded;
		have = cc->number;
		pthread_mutex_unlock(&cc->lock);
		/* Tests (tests/e2e/crl_load.sh) hold the first load here. */
		if (!loaded)
			MICA_TEST_GATE("MICA_TEST_CRL_GATE");
		mica_err_clear(&e);
		rc = crl_fetch(cc->ca, loaded, have, &r, &e);
		pthread_mutex_lock(&cc->lock);
		/* A first load that finds the body lost is said by the
		 * request that then publishes a new CRL (web_crl_get). */
		if (rc == 0 && r.der != NULL)
			crl_install(cc, &r);
		else if (rc != 0 && e.kind != MICA_E_NOTFOUND &&
			 (loaded || !body_damaged(&e)))
			mica_log(MICA_LOG_WARN, "cannot read the CRL: %s", e.msg);
		if (!cc->tried) {
			cc->tried = 1;
			pthread_cond_broadcast(&cc->first);
		}
	}
	cc->tried = 1;   /* stopping: nobody waits for it any more */
	pthread_cond_broadcast(&cc->first);
	pthread_mutex_unlock(&cc->lock);
	return NULL;
}

int
web_crl_cache_start(struct web_crl_cache *cc, struct ca *ca,
		    struct mica_err *err)
{
	int rc;

	cc->ca = ca;
	cc->stop = 0;
	/* Nothing loaded yet: the thread's first task. */
	cc->want = !cc->loaded;
	cc->tried = 0;
	if ((rc = pthread_create(&cc->thread, NULL, loader_main, cc)) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "thread",
				    "cannot start the CRL loader: %s", strerror(rc));
	pthread_mutex_lock(&cc->lock);
	cc->running = 1;
	pthread_mutex_unlock(&cc->lock);
	return 0;
}

void
web_crl_cache_stop(struct web_crl_cache *cc)
{
	int running;

	if (cc == NULL)
		return;
	pthread_mutex_lock(&cc->lock);
	running = cc->running;
	cc->running = 0;
	cc->stop = 1;
	pthread_cond_signal(&cc->wake);
	pthread_mutex_unlock(&cc->lock);
	if (running)
		pthread_join(cc->thread, NULL);
	cc->ca = NULL;
}

/* Caller holds cc->lock: while another request reads a CRL newer than
 * the one served, wait for it (CRL_WAIT_MS at most). */
static void
crl_wait(struct web_crl_cache *cc)
{
	struct timespec until;

	if (cc->stored == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += CRL_WAIT_MS / 1000;
	until.tv_nsec += (long)(CRL_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (cc->stored != 0 &&
	       pthread_cond_timedwait(&cc->installed, &cc->lock, &until) != ETIMEDOUT)
		;
}

int
web_crl_get(struct web_server *srv, struct ca *ca, int force,
	    struct web_blob **der, struct web_blob **pem, int64_t *this_update,
	    int64_t *next_update, int64_t *number, struct mica_err *err)
{
	struct web_crl_cache *cc = srv != NULL ? srv->crl : NULL;
	struct timespec mono;
	struct mica_err e;
	struct ca_crl crl;
	struct crl_ready r;
	int64_t now = (int64_t)time(NULL), have;
	int loaded, rc, damaged = 0;

	*der = NULL;
	if (pem != NULL)
		*pem = NULL;
	if (cc == NULL)
		return mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
				    "the certificate store is unavailable");
	mica_err_clear(&e);
	pthread_mutex_lock(&cc->lock);
	/* The loader's first load (web_crl_start) is under way: wait for it
	 * rather than read tens of megabytes a second time. If it failed,
	 * this request tries and reports why. */
	while (!force && !cc->loaded && cc->running && !cc->tried)
		pthread_cond_wait(&cc->first, &cc->lock);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	/* Another process (the CLI) may publish too: look at the store at
	 * most once a second, and only copy the CRL when its number moved.
	 * Once a CRL is loaded, this request looks, outside the lock, and
	 * reads a small new CRL itself (the other requests wait for it) or
	 * leaves a large one to the loader thread (they are served the one
	 * loaded meanwhile); without a loader thread, this request looks
	 * and reads; the first load and FORCE (the caller published and
	 * must see its CRL served) load here. */
	if (!force && cc->loaded && cc->running) {
		if (mono.tv_sec != cc->checked.tv_sec) {
			struct ca_crl info;
			int64_t stored;

			cc->checked = mono;
			pthread_mutex_unlock(&cc->lock);
			memset(&info, 0, sizeof(info));
			rc = ca_crl_info(ca, &info, &e);
			stored = rc == 0 ? info.number : 0;
			ca_crl_free(&info);
			pthread_mutex_lock(&cc->lock);
			if (stored > cc->number && cc->stored == 0 &&
			    cc->der->len < CRL_INLINE_MAX) {
				/* Small: read here, the others waiting. */
				have = cc->number;
				cc->stored = stored;
				pthread_mutex_unlock(&cc->lock);
				rc = crl_fetch(ca, 1, have, &r, &e);
				pthread_mutex_lock(&cc->lock);
				if (rc == 0 && r.der != NULL)
					crl_install(cc, &r);
				else if (rc != 0 && body_damaged(&e))
					damaged = 1;
				else if (rc != 0 && e.kind != MICA_E_NOTFOUND)
					mica_log(MICA_LOG_WARN, "cannot read the CRL: %s",
						 e.msg);
				cc->stored = 0;
				pthread_cond_broadcast(&cc->installed);
			} else if (stored > cc->number && cc->stored == 0) {
				/* Large: in the background. */
				cc->want = 1;
				pthread_cond_signal(&cc->wake);
			}
		}
		crl_wait(cc);
	} else if (force || !cc->loaded || mono.tv_sec != cc->checked.tv_sec) {
		loaded = cc->loaded;
		have = cc->number;
		cc->checked = mono;
		if (loaded)
			pthread_mutex_unlock(&cc->lock);
		rc = crl_fetch(ca, loaded, have, &r, &e);
		if (loaded)
			pthread_mutex_lock(&cc->lock);
		if (rc == 0 && r.der != NULL)
			crl_install(cc, &r);
		else if (rc != 0 && body_damaged(&e))
			damaged = 1;
		else if (rc != 0 && e.kind != MICA_E_NOTFOUND) {
			mica_log(MICA_LOG_WARN, "cannot read the CRL: %s", e.msg);
			if (!cc->loaded) {
				pthread_mutex_unlock(&cc->lock);
				if (err != NULL)
					*err = e;
				return -1;
			}
		}
	}
	if (!cc->loaded || damaged || cc->next_update <= now) {
		/* Never serve an expired CRL: publish one now, or refuse.
		 * (The daemon's timer republishes at half the period, so
		 * this is for a daemon that was stopped or starved.) The
		 * same for one whose body beside the store is missing or
		 * damaged (a file removed or restored by hand): the store
		 * has every revocation, and a new CRL, numbered above it,
		 * is what the log's warning would have the admin publish.
		 * Signed on this thread, at its priority: every /crl and
		 * /healthz waits on the cache's lock meanwhile. */
		struct ca_principal p;

		if (damaged)
			mica_log(MICA_LOG_WARN, "the latest CRL's body beside the "
				 "store (mica.db-crls/) is missing or damaged: "
				 "publishing a new CRL");
		web_daemon_principal(&p);
		memset(&crl, 0, sizeof(crl));
		if (ca_crl_publish_now(ca, &p, &crl, &e) != 0 || crl_prepare(&r, &crl, &e) != 0) {
			ca_crl_free(&crl);
			ca_principal_free(&p);
			/* A newer CRL's body lost, and none can be published
			 * now: the one loaded, still valid, is served on. */
			if (damaged && cc->loaded && cc->next_update > now) {
				mica_log(MICA_LOG_ERR, "a new CRL cannot be "
					 "published: %s; serving CRL %lld still",
					 e.msg, (long long)cc->number);
				goto serve;
			}
			pthread_mutex_unlock(&cc->lock);
			if (damaged) {
				mica_log(MICA_LOG_ERR, "the CRL's body is missing "
					 "and a new CRL cannot be published: %s", e.msg);
				return mica_err_set(err, MICA_E_UNAVAIL, "crl_unavailable",
						    "the CRL is missing and a new one cannot be published now");
			}
			mica_log(MICA_LOG_ERR, "the CRL has expired and cannot be republished: %s",
				 e.msg);
			return mica_err_set(err, MICA_E_UNAVAIL, "crl_expired",
					    "the CRL has expired and a new one cannot be published now");
		}
		crl_install(cc, &r);
		mica_log(MICA_LOG_INFO, "published CRL number %lld (%s)",
			 (long long)crl.number, damaged ? "the last one's body was "
			 "missing or damaged" : "it had expired");
		ca_crl_free(&crl);
		ca_principal_free(&p);
	}
serve:
	/* The DER and dates of one CRL, then its PEM if asked for (which may
	 * let another CRL in meanwhile: these stay together). */
	*der = web_blob_ref(cc->der);
	*this_update = cc->this_update;
	*next_update = cc->next_update;
	*number = cc->number;
	if (pem != NULL && (*pem = crl_pem(cc, *der, err)) == NULL) {
		pthread_mutex_unlock(&cc->lock);
		web_blob_unref(*der);
		*der = NULL;
		return -1;
	}
	pthread_mutex_unlock(&cc->lock);
	return 0;
}

int
web_crl_check(struct web_server *srv, struct ca *ca, struct mica_err *err)
{
	struct web_crl_cache *cc = srv != NULL ? srv->crl : NULL;
	struct web_blob *d = NULL;
	struct ca_crl crl;
	struct mica_err e;
	int64_t now = (int64_t)time(NULL), tu, nu, num;
	int ok = 0, rc;

	if (cc != NULL) {
		pthread_mutex_lock(&cc->lock);
		if (cc->loaded)
			ok = cc->next_update > now;
		else if (cc->running && !cc->tried)
			ok = -1;   /* the first load is under way */
		pthread_mutex_unlock(&cc->lock);
	}
	if (ok < 0) {
		/* What the store records is enough to say it is current. */
		memset(&crl, 0, sizeof(crl));
		ok = ca_crl_info(ca, &crl, &e) == 0 && crl.next_update > now;
		ca_crl_free(&crl);
	}
	if (ok)
		return 0;
	/* Expired, missing or unreadable: what web_crl_get makes of it (a
	 * publication, or the error). */
	rc = web_crl_get(srv, ca, 0, &d, NULL, &tu, &nu, &num, err);
	web_blob_unref(d);
	return rc;
}

int
web_crl_start(struct web_server *srv, struct ca *ca, struct ca *loader,
	      struct mica_err *err)
{
	struct web_blob *d = NULL;
	struct mica_err e;
	int64_t now = (int64_t)time(NULL), tu, nu, num;
	int due, rc;

	if (srv == NULL || srv->crl == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "no_crl_cache", "no CRL cache");
	/* Every key's: one a rollover's install-ca, killed before its
	 * first CRLs, left with none has certificates naming /crl/N. */
	if (ca_crl_due(ca, now, &due, &e) != 0)
		due = 1;
	if (due) {
		/* None, unreadable or half its period gone: publish now, as
		 * the timer would, and start only with a CRL to serve. */
		web_crl_maintain(srv, ca);
		rc = web_crl_get(srv, ca, 1, &d, NULL, &tu, &nu, &num, err);
		web_blob_unref(d);
		if (rc != 0)
			return -1;
	}
	return web_crl_cache_start(srv->crl, loader, err);
}

void
web_crl_changed(struct web_server *srv, struct ca *ca)
{
	struct web_blob *d = NULL;
	struct mica_err e;
	int64_t tu, nu, num;

	if (srv == NULL || srv->crl == NULL)
		return;
	if (web_crl_get(srv, ca, 1, &d, NULL, &tu, &nu, &num, &e) != 0)
		mica_log(MICA_LOG_WARN, "cannot reload the CRL: %s", e.msg);
	web_blob_unref(d);
}

void
web_crl_published(struct web_server *srv, struct ca *ca, struct ca_crl *crl)
{
	struct web_crl_cache *cc = srv != NULL ? srv->crl : NULL;
	struct crl_ready r;
	struct mica_err e;

	if (cc == NULL)
		return;
	if (crl->der == NULL || crl_prepare(&r, crl, &e) != 0) {
		web_crl_changed(srv, ca);
		return;
	}
	pthread_mutex_lock(&cc->lock);
	crl_install(cc, &r);
	pthread_mutex_unlock(&cc->lock);
}

/* Republish when less than half of the CRL's period remains, well before
 * nextUpdate, so relying parties never see it lapse, or when the clock
 * went back far behind its thisUpdate (ca_crl_due). CA is the timer's
 * own handle: the publication (about a second for a million entries) holds
 * no lock a worker or a request needs. */
void
web_crl_maintain(struct web_server *srv, struct ca *ca)
{
	struct ca_crl crl;
	struct mica_err e;
	struct ca_principal p;
	int64_t now = (int64_t)time(NULL);
	int need;

	memset(&crl, 0, sizeof(crl));
	/* Any key's CRL missing or half its period gone: they are all
	 * published together. */
	if (ca_crl_due(ca, now, &need, &e) != 0) {
		mica_log(MICA_LOG_WARN, "cannot read the CRL: %s", e.msg);
		need = 0;
	}
	if (need) {
		web_daemon_principal(&p);
		if (ca_crl_publish(ca, &p, &crl, &e) == 0) {
			char t[32];

			mica_log(MICA_LOG_INFO, "published CRL number %lld, next update %s",
				 (long long)crl.number, web_time_str(crl.next_update, t));
			web_crl_published(srv, ca, &crl);
		} else {
			mica_log(MICA_LOG_ERR, "cannot publish the CRL: %s: %s", e.code, e.msg);
			web_crl_changed(srv, ca);
		}
		ca_crl_free(&crl);
		ca_principal_free(&p);
		return;
	}
	web_crl_changed(srv, ca);
}

/*
 * web/crl_cache.h - the CRL as served: a cache of the stored CRL's DER and
 * PEM forms, refreshed from the store at most once a second (the command
 * line may publish too), republished on a timer well before nextUpdate,
 * and never served once expired.
 */
#ifndef MICA_WEB_CRL_CACHE_H
#define MICA_WEB_CRL_CACHE_H

#include <stdint.h>

#include "ca/ca.h"
#include "util/err.h"
#include "web/blob.h"

struct web_server;
struct web_crl_cache;

/* A new, empty cache (the daemon keeps it in srv->crl); NULL on
 * allocation failure. Free with web_crl_cache_free (NULL ok). */
struct web_crl_cache *web_crl_cache_new(void);
void web_crl_cache_free(struct web_crl_cache *cc);

/* Start CC's loader thread, which alone reads the store's CRL for
 * requests once one is loaded (through CA, a handle of its own that must
 * outlive web_crl_cache_stop). Without it, the request that looks at the
 * store (once a second) reads a changed CRL itself. */
int web_crl_cache_start(struct web_crl_cache *cc, struct ca *ca,
			struct mica_err *err);
/* Stop and join the loader thread, if it runs (NULL ok). */
void web_crl_cache_stop(struct web_crl_cache *cc);

/* The current CRL from SRV's cache (refreshed from the store at most once
 * a second - by the loader thread when it runs, else through CA - and at
 * once through CA after FORCE): new references to the DER blob and, if
 * PEM is not NULL, the PEM blob (made on the first request for it) of the
 * same CRL, and its thisUpdate, nextUpdate, number. If the stored CRL has
 * expired, one is published; if that fails, MICA_E_UNAVAIL
 * ("crl_expired"): an expired CRL is never served. */
int web_crl_get(struct web_server *srv, struct ca *ca, int force,
		struct web_blob **der, struct web_blob **pem,
		int64_t *this_update, int64_t *next_update, int64_t *number,
		struct mica_err *err);

/* Daemon start-up: if the store has no CRL, or half of its period is
 * gone, publish one through CA now (and fail without a CRL to serve);
 * then start the cache's loader thread (web_crl_cache_start) through
 * LOADER, which loads the stored CRL in the background: at a million
 * entries it is tens of megabytes to read, check and encode, and nothing
 * but /crl needs to wait for it (web_crl_get waits for that first load;
 * web_crl_check does not). */
int web_crl_start(struct web_server *srv, struct ca *ca, struct ca *loader,
		  struct mica_err *err);
/* For /healthz: 0 when the CRL is current - the cached one, or, while the
 * first load is under way, the one the store records - else what
 * web_crl_get makes of it (a CRL published now, or an error). */
int web_crl_check(struct web_server *srv, struct ca *ca, struct mica_err *err);
/* After a revocation or publication through the API: reload the cache now
 * so the next GET /crl has the new CRL. Failures are logged only. */
void web_crl_changed(struct web_server *srv, struct ca *ca);
/* After a publication through CA that gave CRL (ca_crl_publish: the
 * current key's complete CRL): serve it from now on, taking over its DER
 * (CRL->der becomes NULL) rather than reading back from the store what
 * was just written; web_crl_changed if that cannot be done. */
void web_crl_published(struct web_server *srv, struct ca *ca,
		       struct ca_crl *crl);

/* The timer (main thread): republish through CA, the timer's own handle
 * (no lock held: workers and requests go on), when less than half of the
 * CRL's period is left, then reload the cache. */
void web_crl_maintain(struct web_server *srv, struct ca *ca);

#endif

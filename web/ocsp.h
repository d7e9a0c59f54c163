/*
 * web/ocsp.h - the daemon's OCSP work outside the routes: the background
 * thread that keeps a pre-signed response for every certificate
 * (ca_ocsp_refresh) and the delegated responder certificate renewed. The
 * routes themselves (POST /ocsp, GET /ocsp/{base64}) are in web/api.h.
 */
#ifndef MICA_WEB_OCSP_H
#define MICA_WEB_OCSP_H

#include "util/err.h"

struct web_server;
struct web_ocsp_refresher;

/* Start the refresh thread on SRV (attached to its CA): it signs what is
 * missing or near its nextUpdate, in batches, then - with PUBLISH_DIR
 * not NULL - brings that directory up to date (ca_publish_since: what
 * changed since its last pass; the whole directory at start and every
 * hour), then sleeps
 * half a minute, looking every two seconds whether a certificate was
 * issued or revoked meanwhile (ca_ocsp_pending: then it starts a pass).
 * A pass gives way to issuance: while this process is issuing
 * (ca_issue_idle_ms) it waits for a pause, at most 20 seconds and not
 * at all for a revocation, then signs in paced batches (web/ocsp.c).
 * NULL with ERR on failure. */
struct web_ocsp_refresher *web_ocsp_refresh_start(struct web_server *srv,
						  const char *publish_dir,
						  struct mica_err *err);
/* Stop it, wait for it, free R. Accepts NULL. */
void web_ocsp_refresh_stop(struct web_ocsp_refresher *r);

#endif

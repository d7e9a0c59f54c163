/*
 * web/acme.h - the handlers of ACME (RFC 8555) on the HTTPS listener
 * (web/acme.c) and the admin's ACME API (web/api_acme.c), referenced by
 * the route table. Each returns 0 with REP filled or -1 with ERR for the
 * dispatcher's one error-reply path; the ACME handlers answer their own
 * failures as RFC 7807 problem documents and return 0.
 */
#ifndef MICA_WEB_ACME_H
#define MICA_WEB_ACME_H

#include "util/err.h"

struct web_ctx;
struct web_reply;
struct web_server;

/* ACME (acme.c): the directory, nonces, and one handler per resource. */
int web_h_acme_directory(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_nonce(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_new_account(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_account(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_orders(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_key_change(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_new_order(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_order(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_finalize(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_authz(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_chall(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_cert(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_revoke(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_acme_renewal_info(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);

/*
 * An error of a request under /acme/ that no ACME handler answers (the
 * dispatcher's and web/http.c's refusals, through web_dispatch_error):
 * E into REP as the handlers' RFC 7807 problem document (the same ACME
 * type and status for E's code and kind; 405 for "method_not_allowed"),
 * with a fresh Replay-Nonce (RFC 8555 6.5) when SRV runs ACME (none for a
 * NULL SRV or without ACME). Keeps REP's close flag and Retry-After,
 * replaces the rest (the caller adds Allow after it).
 */
void web_acme_error(struct web_server *srv, struct web_reply *rep,
		    const struct mica_err *e);

/* The admin's ACME API (api_acme.c): accounts, orders, EAB credentials. */
int web_h_api_acme_accounts(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_api_acme_deactivate(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_api_acme_orders(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);
int web_h_api_acme_eab(struct web_ctx *c, struct web_reply *rep, struct mica_err *err);

#endif

/*
 * web/hier.c - the public files of a CA in a hierarchy: the root that
 * devices install (/root.crt, /root.pem), the chain a server sends with
 * its certificate (/ca-chain.pem, and /ca.p7b as Windows and IIS import
 * it), the offline root's CRL as imported (/root.crl), and after a
 * rollover each key's CRL and CA certificate (/crl/N, /ca/N.crt: what the
 * certificates of key N name). Public and signed: plain HTTP too.
 */
#include "web/api.h"
#include "web/blob.h"
#include "web/reply.h"
#include "web/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/x509.h"
#include "util/log.h"

static int
no_cert(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_NOTFOUND, "not_found",
			    "this CA has no certificate yet");
}

/* A body copied into a blob the reply owns, with an ETag of it (the
 * public files change when a CA certificate does). */
static int
reply_copy(struct web_reply *rep, const char *ctype, const void *data,
	   size_t len, int max_age, struct mica_err *err)
{
	if ((rep->blob = web_blob_new(data, len)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	rep->status = 200;
	rep->ctype = ctype;
	rep->max_age = max_age;
	web_reply_etag_body(rep);
	return 0;
}

static int
root_reply(struct web_ctx *c, struct web_reply *rep, int pem,
	   struct mica_err *err)
{
	struct ca *ca;
	const unsigned char *der;
	size_t len;

	if ((ca = web_thread_ca(c->srv, err)) == NULL)
		return -1;
	if ((der = ca_root_der(ca, &len)) == NULL || ca_root_pem(ca) == NULL)
		return no_cert(err);
	if (pem)
		return reply_copy(rep, "application/x-pem-file",
				  ca_root_pem(ca), strlen(ca_root_pem(ca)),
				  3600, err);
	return reply_copy(rep, "application/pkix-cert", der, len, 3600, err);
}

int
web_h_root_der(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	return root_reply(c, rep, 0, err);
}

int
web_h_root_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	return root_reply(c, rep, 1, err);
}

int
web_h_chain_pem(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct ca *ca;
	const char *pem;

	if ((ca = web_thread_ca(c->srv, err)) == NULL)
		return -1;
	if ((pem = ca_chain_pem(ca)) == NULL)
		return no_cert(err);
	return reply_copy(rep, "application/x-pem-file", pem, strlen(pem),
			  3600, err);
}

int
web_h_chain_p7b(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct ca *ca;
	unsigned char *p7 = NULL;
	size_t len = 0;

	if ((ca = web_thread_ca(c->srv, err)) == NULL)
		return -1;
	if (ca_chain_count(ca) == 0)
		return no_cert(err);
	if (ca_chain_p7b(ca, &p7, &len, err) != 0)
		return -1;
	/* RFC 2585 4.1 names .p7c application/pkcs7-mime; Windows and IIS
	 * know a .p7b as this. */
	if ((rep->blob = web_blob_adopt(p7, len)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	rep->status = 200;
	rep->ctype = "application/x-pkcs7-certificates";
	rep->max_age = 3600;
	web_reply_etag_body(rep);
	return 0;
}

/* A CRL as stored, unless it has expired: never serve one (promise 8).
 * Caches may keep it for an hour, never past nextUpdate. */
static int
crl_reply(struct web_ctx *c, struct web_reply *rep, struct ca_crl *crl,
	  const char *what, struct mica_err *err)
{
	int64_t age = crl->next_update - c->now;

	if (age <= 0) {
		mica_log(MICA_LOG_ERR, "%s has expired (nextUpdate passed); "
			 "not serving it", what);
		ca_crl_free(crl);
		return mica_err_set(err, MICA_E_UNAVAIL, "crl_expired",
				    "%s has expired", what);
	}
	if ((rep->blob = web_blob_adopt(crl->der, crl->der_len)) == NULL) {
		crl->der = NULL;
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	}
	crl->der = NULL;
	rep->status = 200;
	rep->ctype = "application/pkix-crl";   /* RFC 2585 3 */
	rep->max_age = age > 3600 ? 3600 : (int)age;
	/* Validators: a cache asks again with them and gets 304 while the
	 * CRL is the same (a large CRL is tens of megabytes). */
	web_crl_validators(rep, crl->number, crl->this_update, 0);
	return 0;
}

int
web_h_root_crl(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct ca *ca;
	struct ca_crl crl;

	if ((ca = web_thread_ca(c->srv, err)) == NULL)
		return -1;
	if (ca_root_crl_current(ca, &crl, err) != 0)
		return -1;
	/* The root is offline: only a new import renews it. */
	return crl_reply(c, rep, &crl, "the root's CRL (import a new one "
			 "with 'mica import-crl')", err);
}

/* A key index from a path segment: 0..15, digits only, PREFIX and SUFFIX
 * around it ("" and "" for /crl/N, "" and ".crt" for /ca/N.crt). */
static int
key_param(const char *seg, const char *suffix, int *idx)
{
	size_t n = strlen(seg), sl = strlen(suffix), i;
	int v = 0;

	if (n <= sl || n - sl > 2 || strcmp(seg + n - sl, suffix) != 0)
		return -1;
	for (i = 0; i < n - sl; i++) {
		if (seg[i] < '0' || seg[i] > '9' || (i == 0 && seg[i] == '0' &&
						     n - sl > 1))
			return -1;
		v = v * 10 + (seg[i] - '0');
	}
	if (v > 15)
		return -1;
	*idx = v;
	return 0;
}

int
web_h_crl_key(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct ca *ca;
	struct ca_crl crl;
	int idx;

	if (key_param(c->m->param[0], "", &idx) != 0)
		return mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				    "no such CRL");
	if (idx == 0)
		return web_h_crl_der(c, rep, err);
	if ((ca = web_thread_ca(c->srv, err)) == NULL)
		return -1;
	if (ca_crl_current_key(ca, idx, &crl, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no such CRL");
		return -1;
	}
	return crl_reply(c, rep, &crl, "a key's CRL", err);
}

int
web_h_ca_key(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	struct ca *ca;
	const unsigned char *der;
	size_t len;
	int idx;

	if (key_param(c->m->param[0], ".crt", &idx) != 0)
		return mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				    "no such CA certificate");
	if ((ca = web_thread_ca(c->srv, err)) == NULL)
		return -1;
	if ((der = ca_key_cert(ca, idx, &len)) == NULL)
		return mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				    "no such CA certificate");
	return reply_copy(rep, "application/pkix-cert", der, len, 3600, err);
}

/* A key's latest delta CRL (RFC 5280 5.2.4), where its complete CRLs'
 * Freshest CRL extension points: /delta.crl (key 0), /delta.crl/N. */
static int
delta_reply(struct web_ctx *c, struct web_reply *rep, int idx,
	    struct mica_err *err)
{
	struct ca *ca;
	struct ca_crl crl;

	if ((ca = web_thread_ca(c->srv, err)) == NULL)
		return -1;
	if (ca_crl_delta_current_key(ca, idx, &crl, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				     "no delta CRL");
		return -1;
	}
	return crl_reply(c, rep, &crl, "a delta CRL", err);
}

int
web_h_delta_crl(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	return delta_reply(c, rep, 0, err);
}

int
web_h_delta_crl_key(struct web_ctx *c, struct web_reply *rep,
		    struct mica_err *err)
{
	int idx;

	if (key_param(c->m->param[0], "", &idx) != 0)
		return mica_err_set(err, MICA_E_NOTFOUND, "not_found",
				    "no such delta CRL");
	return delta_reply(c, rep, idx, err);
}

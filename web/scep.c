/*
 * web/scep.c - SCEP's routes (RFC 8894 4): GET and POST /scep with
 * ?operation=, and the same at Windows NDES's path
 * /certsrv/mscep/mscep.dll and the Cisco-style /cgi-bin/pkiclient.exe,
 * so that clients configured for either work unchanged. On plain HTTP
 * and HTTPS alike: SCEP protects its messages itself. Parse the HTTP part,
 * hand the message to the engine (ca_scep_*), send what it answers.
 */
#include "web/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "ca/ca.h"
#include "web/blob.h"
#include "web/parse.h"
#include "web/reply.h"
#include "web/server.h"

/* A base64 message= of a GET PKIOperation: what fits in SCEP's query
 * (WEB_QUERY_SCEP_MAX, web/parse.h; certmonger sends its messages this
 * way, about 4 KiB); larger messages go by POST. */
#define GET_MSG_MAX (WEB_QUERY_SCEP_MAX - 64)

static int
oom(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			    "out of memory");
}

static const char *
operation(const struct web_ctx *c, struct mica_err *err)
{
	const char *op = c->q != NULL ? web_query_get(c->q, "operation") : NULL;

	/* "?operation=" names none either: the same answer as no
	 * parameter, not "unknown operation". */
	if (op == NULL || op[0] == '\0') {
		mica_err_set(err, MICA_E_BADREQ, "bad_operation",
			     "SCEP needs ?operation=GetCACaps, GetCACert, "
			     "GetNextCACert or PKIOperation");
		return NULL;
	}
	return op;
}

static int
pkiop(struct web_ctx *c, struct web_reply *rep, const unsigned char *msg,
      size_t len, struct mica_err *err)
{
	unsigned char *out = NULL;
	size_t out_len = 0;
	struct ca *ca;

	if ((ca = web_thread_ca(c->srv, err)) == NULL)
		return -1;
	if (ca_scep_pkiop(ca, c->client, msg, len, &out, &out_len, err) != 0)
		return -1;
	rep->status = 200;
	rep->ctype = "application/x-pki-message";   /* RFC 8894 4.3 */
	rep->max_age = -1;
	if ((rep->blob = web_blob_adopt(out, out_len)) == NULL)
		return oom(err);
	return 0;
}

static int
cacert(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	unsigned char *out = NULL;
	size_t out_len = 0;
	struct ca *ca;

	if ((ca = web_thread_ca(c->srv, err)) == NULL ||
	    ca_scep_cacert(ca, &out, &out_len, err) != 0)
		return -1;
	rep->status = 200;
	/* RFC 8894 4.2.1.2: the CA and RA certificates. */
	rep->ctype = "application/x-x509-ca-ra-cert";
	rep->max_age = -1;
	if ((rep->blob = web_blob_adopt(out, out_len)) == NULL)
		return oom(err);
	return 0;
}

/* GetCACaps: GetNextCACert only while there is a next CA certificate
 * (a store that cannot be read says there is none: the capabilities are
 * answered all the same). */
static int
caps(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	static const char plain[] = CA_SCEP_CAPS;
	static const char next[] = CA_SCEP_CAPS CA_SCEP_CAPS_NEXT;
	struct mica_err e;
	struct ca *ca;

	(void)err;
	ca = web_thread_ca(c->srv, &e);
	rep->status = 200;
	rep->ctype = "text/plain";
	if (ca != NULL && ca_scep_next_pending(ca)) {
		rep->pbody = next;
		rep->plen = sizeof(next) - 1;
	} else {
		rep->pbody = plain;
		rep->plen = sizeof(plain) - 1;
	}
	rep->max_age = -1;
	return 0;
}

/* GetNextCACert: 404 (no_next_ca) unless a next CA certificate waits. */
static int
nextcacert(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	unsigned char *out = NULL;
	size_t out_len = 0;
	struct ca *ca;

	if ((ca = web_thread_ca(c->srv, err)) == NULL ||
	    ca_scep_nextcacert(ca, &out, &out_len, err) != 0)
		return -1;
	rep->status = 200;
	rep->ctype = "application/x-x509-next-ca-cert";   /* RFC 8894 4.7.1 */
	rep->max_age = -1;
	if ((rep->blob = web_blob_adopt(out, out_len)) == NULL)
		return oom(err);
	return 0;
}

int
web_h_scep_get(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	const char *op = operation(c, err), *msg;
	unsigned char *der = NULL;
	char *b64 = NULL;
	size_t n = 0, len;
	int rc;

	if (op == NULL)
		return -1;
	if (strcasecmp(op, "GetCACaps") == 0)
		return caps(c, rep, err);
	if (strcasecmp(op, "GetCACert") == 0)
		return cacert(c, rep, err);
	if (strcasecmp(op, "GetNextCACert") == 0)
		return nextcacert(c, rep, err);
	if (strcasecmp(op, "PKIOperation") != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_operation",
				    "unknown SCEP operation");
	/* HEAD is GET without the answer (RFC 9110 9.3.2): here it would
	 * enroll, or file a request, and drop the reply. */
	if (strcmp(c->method, "HEAD") == 0) {
		struct mica_err e;

		mica_err_set(&e, MICA_E_BADREQ, "method_not_allowed",
			     "a PKIOperation is sent by GET or POST");
		web_reply_error(rep, &e);
		web_reply_not_allowed(rep, "GET, POST");
		return 0;
	}
	/* RFC 8894 4.3: the base64 of the message, URL-encoded (its lines'
	 * ends, if it was wrapped, are dropped by the query parser, as for
	 * sscep); the query parser turned a raw '+' into a space: it was
	 * base64's '+'. Its '=' padding may be missing (a client that
	 * strips it as URL-unsafe): web_b64_decode, as for the OCSP GET. */
	msg = web_query_get(c->q, "message");
	if (msg == NULL || (len = strlen(msg)) == 0 || len > GET_MSG_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_message",
				    "PKIOperation over GET needs message= "
				    "(base64, at most %d characters; POST "
				    "larger messages)", GET_MSG_MAX);
	if ((b64 = malloc(len + 3)) == NULL || (der = malloc(len)) == NULL) {
		free(b64);
		return oom(err);
	}
	memcpy(b64, msg, len + 1);
	if (web_b64_decode(b64, len, der, len, &n) != 0)
		rc = mica_err_set(err, MICA_E_BADREQ, "bad_message",
				  "message= is not base64");
	else
		rc = pkiop(c, rep, der, n, err);
	free(b64);
	free(der);
	return rc;
}

int
web_h_scep_post(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	const char *op = operation(c, err);

	if (op == NULL)
		return -1;
	/* RFC 8894 4.3: POST is for PKIOperation only. The body is the
	 * binary message whatever its Content-Type says (application/
	 * x-pki-message; scepclient sends application/octet-stream). */
	if (strcasecmp(op, "PKIOperation") != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_operation",
				    "only PKIOperation is POSTed");
	if (c->body == NULL || c->body_len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_message",
				    "an empty PKIOperation");
	return pkiop(c, rep, c->body, c->body_len, err);
}

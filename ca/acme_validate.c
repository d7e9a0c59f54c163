/*
 * ca/acme_validate.c - the validation workers: a challenge the client
 * says is ready is queued here, and a worker thread (with its own engine
 * handle) checks it - http-01, dns-01 or tls-alpn-01 - under a deadline,
 * then records the outcome on the authorization and its order in one
 * transaction, with an audit row. Request threads never wait for the
 * network.
 */
#include "ca/acme.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "ca/acme_int.h"
#include "ca/dns.h"
#include "ca/keys.h"
#include "util/b64url.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/thread.h"

#define KEY_AUTHZ_MAX 160

/* -------------------------------------------------------- tls-alpn-01 -- */

/* RFC 8737 6.1: id-pe-acmeIdentifier, 1.3.6.1.5.5.7.1.31 */
static const unsigned char oid_acme_identifier[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f };

struct ext_ctx {
	int seen;
	int critical;
	unsigned char value[32];
	int bad;
};

/* mbedTLS's callback for the extensions it does not know: ours is read,
 * any other unknown critical one refuses the certificate. */
static int
ext_cb(void *arg, mbedtls_x509_crt const *crt, mbedtls_x509_buf const *oid,
       int critical, const unsigned char *p, const unsigned char *end)
{
	struct ext_ctx *x = arg;

	(void)crt;
	if (oid->len != sizeof(oid_acme_identifier) ||
	    memcmp(oid->p, oid_acme_identifier, oid->len) != 0)
		return critical ? MBEDTLS_ERR_X509_INVALID_EXTENSIONS : 0;
	/* RFC 8737 3: Authorization ::= OCTET STRING (SIZE (32)) */
	if (x->seen || end - p != 34 || p[0] != MBEDTLS_ASN1_OCTET_STRING || p[1] != 32) {
		x->bad = 1;
		return MBEDTLS_ERR_X509_INVALID_EXTENSIONS;
	}
	x->seen = 1;
	x->critical = critical;
	memcpy(x->value, p + 2, 32);
	return 0;
}

int
ca_acme_tlsalpn_cert(const unsigned char *der, size_t len, const char *name,
		     int ip, const char *key_authz, struct ca_acme_verr *e)
{
	mbedtls_x509_crt crt;
	const mbedtls_x509_sequence *san;
	struct ext_ctx x;
	unsigned char want[32], ipb[16];
	size_t nsan = 0, iplen = 0;
	int rc = -1, match = 0;

	memset(&x, 0, sizeof(x));
	mbedtls_x509_crt_init(&crt);
	if (ip) {
		if (inet_pton(AF_INET, name, ipb) == 1)
			iplen = 4;
		else if (inet_pton(AF_INET6, name, ipb) == 1)
			iplen = 16;
		else
			return ca_acme_vfail(e, "malformed", "not an IP address");
	}
	if (mbedtls_x509_crt_parse_der_with_ext_cb(&crt, der, len, 1, ext_cb, &x) != 0) {
		ca_acme_vfail(e, "unauthorized", "the tls-alpn-01 certificate does not "
			      "parse%s", x.bad ? " (a malformed acmeIdentifier)" : "");
		goto out;
	}
	if (!x.seen || !x.critical) {
		ca_acme_vfail(e, "unauthorized", "the tls-alpn-01 certificate has no "
			      "critical acmeIdentifier extension");
		goto out;
	}
	/* Exactly one name, the one being validated. */
	for (san = &crt.subject_alt_names; san != NULL && san->buf.p != NULL; san = san->next) {
		const mbedtls_x509_buf *b = &san->buf;

		nsan++;
		if (!ip && b->tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) &&
		    b->len == strlen(name) && strncasecmp((const char *)b->p, name, b->len) == 0)
			match = 1;
		if (ip && b->tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) &&
		    b->len == iplen && memcmp(b->p, ipb, iplen) == 0)
			match = 1;
	}
	if (nsan != 1 || !match) {
		ca_acme_vfail(e, "unauthorized", "the tls-alpn-01 certificate must name "
			      "%s and nothing else", name);
		goto out;
	}
	ca_sha256(key_authz, strlen(key_authz), want);
	if (!ca_ct_equal(want, x.value, 32)) {
		ca_acme_vfail(e, "incorrect_response", "the acmeIdentifier of the "
			      "tls-alpn-01 certificate does not match the key authorization");
		goto out;
	}
	rc = 0;
out:
	mbedtls_x509_crt_free(&crt);
	return rc;
}

/* RFC 8738 6: the SNI of an IP identifier is its reverse-mapping name. */
static int
reverse_name(const char *ip, char *out, size_t size)
{
	unsigned char b[16];
	size_t o = 0;

	if (inet_pton(AF_INET, ip, b) == 1)
		return snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2],
				b[1], b[0]) < (int)size ? 0 : -1;
	if (inet_pton(AF_INET6, ip, b) != 1 || size < 16 * 4 + 9)
		return -1;
	for (int i = 15; i >= 0; i--)
		o += (size_t)snprintf(out + o, size - o, "%x.%x.", b[i] & 15, b[i] >> 4);
	snprintf(out + o, size - o, "ip6.arpa");
	return 0;
}

int
ca_acme_tlsalpn01(const struct ca_acme_vctx *v, const char *name, int ip,
		  const char *key_authz, struct ca_acme_verr *e)
{
	struct ca_acme_tls *t = NULL;
	const unsigned char *der;
	char sni[80];
	size_t len;
	int fd = -1, rc = -1;

	if (ip && reverse_name(name, sni, sizeof(sni)) != 0)
		return ca_acme_vfail(e, "malformed", "not an IP address");
	if (ca_acme_connect(v, name, ip, v->a->o.tls_port, &fd, e) != 0)
		return -1;
	if (ca_acme_tls_open(v, fd, ip ? sni : name, "acme-tls/1", &t, e) != 0 ||
	    ca_acme_tls_peer(t, &der, &len, e) != 0 ||
	    ca_acme_tlsalpn_cert(der, len, name, ip, key_authz, e) != 0)
		goto out;
	rc = 0;
out:
	ca_acme_tls_close(t);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------- dns-01 -- */

int
ca_acme_dns01(const struct ca_acme_vctx *v, const char *name,
	      const char *key_authz, struct ca_acme_verr *e)
{
	struct ca_dns_txt *txt = NULL;
	struct mica_err err;
	unsigned char h[32];
	char want[48], qname[300];
	int rc = -1;

	if (v->a->dns_addr_len == 0)
		return ca_acme_vfail(e, "dns", "this CA has no DNS server to ask "
				     "(mica serve --acme-dns ADDR:PORT)");
	/* RFC 8555 8.4: the TXT record of _acme-challenge.NAME holds
	 * base64url(SHA-256(key authorization)). */
	ca_sha256(key_authz, strlen(key_authz), h);
	mica_b64url_encode(h, sizeof(h), want, sizeof(want));
	snprintf(qname, sizeof(qname), "_acme-challenge.%s", name);
	if ((txt = malloc(sizeof(*txt))) == NULL)
		return ca_acme_vfail(e, "server_internal", "out of memory");
	if (ca_dns_txt_lookup((const struct sockaddr *)&v->a->dns_addr,
			      v->a->dns_addr_len, qname, &v->deadline, v->stop, txt,
			      &err) != 0) {
		ca_acme_vfail(e, "dns", "looking up TXT %s: %s", qname, err.msg);
		goto out;
	}
	for (size_t i = 0; i < txt->n; i++)
		if (strcmp(txt->v[i], want) == 0) {
			rc = 0;
			goto out;
		}
	if (txt->n == 0)
		ca_acme_vfail(e, "incorrect_response", "no TXT record at %s%s", qname,
			      txt->rcode == CA_DNS_RCODE_NXDOMAIN ? " (NXDOMAIN)" : "");
	else
		ca_acme_vfail(e, "incorrect_response", "none of the %zu TXT records at "
			      "%s holds the key authorization's digest", txt->n, qname);
out:
	free(txt);
	return rc;
}

/* -------------------------------------------------------- the outcome -- */

struct finish_tx {
	const struct db_acme_authz *z;
	int valid;
	const struct ca_acme_verr *e;
	char actor[96];
};

static int
finish_body(struct db *db, void *arg, struct mica_err *err)
{
	struct finish_tx *x = arg;
	const struct db_acme_authz *z = x->z;
	struct db_acme_authz *all = NULL;
	size_t n = 0;
	int64_t now = ca_now();
	char detail[600];
	int rc = -1, ready = 1;
	struct mica_err e1;

	if (db_acme_authz_finish(db, z->id, x->valid, x->valid ? NULL : x->e->code,
				 x->valid ? NULL : x->e->detail, now,
				 x->valid ? now + (int64_t)CA_ACME_AUTHZ_DAYS * 86400 : z->expires,
				 &e1) != 0) {
		if (e1.kind != MICA_E_CONFLICT) {
			*err = e1;
			return -1;
		}
		/* RFC 8555 7.5.2: the client deactivated the authorization
		 * while this ran. It stays deactivated (its orders are
		 * invalid already); the challenge says how the validation
		 * ended, instead of "processing" for ever - and is no longer
		 * one a restart queues again. */
		if (db_acme_authz_settle(db, z->id, x->valid, x->valid ? NULL : x->e->code,
					 x->valid ? NULL : x->e->detail, err) != 0)
			return -1;
		snprintf(detail, sizeof(detail), "%s %s: %s (the authorization was "
			 "deactivated meanwhile)%s%s", z->chall, z->name,
			 x->valid ? "valid" : "invalid", x->valid ? "" : ": ",
			 x->valid ? "" : x->e->detail);
		return db_audit_add(db, now, x->actor, "acme.challenge.done", z->id,
				    detail, err);
	}
	snprintf(detail, sizeof(detail), "%s %s%s%s", z->chall, z->name,
		 x->valid ? "" : ": ", x->valid ? "" : x->e->detail);
	if (db_audit_add(db, now, x->actor, x->valid ? "acme.authz.valid" :
			 "acme.authz.invalid", z->id, detail, err) != 0)
		return -1;
	if (!x->valid) {
		/* RFC 8555 7.1.6: one invalid authorization ends the order. */
		struct mica_err e2;

		if (db_acme_order_move(db, z->order_id, "pending", "invalid", NULL,
				       x->e->code, x->e->detail, now, &e2) != 0 &&
		    e2.kind != MICA_E_CONFLICT) {
			*err = e2;
			return -1;
		}
		return 0;
	}
	if (db_acme_authz_of_order(db, z->order_id, &all, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		ready &= strcmp(all[i].status, "valid") == 0;
	if (ready) {
		struct mica_err e2;

		if (db_acme_order_move(db, z->order_id, "pending", "ready", NULL, NULL,
				       NULL, now, &e2) != 0 && e2.kind != MICA_E_CONFLICT) {
			*err = e2;
			goto out;
		}
	}
	rc = 0;
out:
	db_acme_authz_array_free(all, n);
	return rc;
}

void
ca_acme_validate(struct ca_acme *a, struct ca *ca, const char *id)
{
	struct db_acme_authz z;
	struct db_acme_account acct;
	struct ca_acme_vctx v;
	struct ca_acme_verr e;
	struct finish_tx tx;
	struct mica_err err;
	char key_authz[KEY_AUTHZ_MAX];
	int type, ip, r;

	memset(&z, 0, sizeof(z));
	memset(&acct, 0, sizeof(acct));
	memset(&e, 0, sizeof(e));
	if (db_acme_authz_get(ca->db, id, &z, &err) != 0) {
		mica_log(MICA_LOG_WARN, "acme: validation of %s: %s", id, err.msg);
		return;
	}
	/* Only what a challenge POST left processing; anything else was
	 * settled meanwhile. An authorization deactivated while its
	 * challenge was processing (by an older mica, which then left the
	 * challenge so) is validated to settle the challenge (finish_body). */
	if (strcmp(z.chall_status, "processing") != 0 ||
	    (strcmp(z.status, "pending") != 0 && strcmp(z.status, "deactivated") != 0))
		goto out;
	if (db_acme_account_get(ca->db, z.account_id, &acct, &err) != 0) {
		mica_log(MICA_LOG_WARN, "acme: validation of %s: %s", id, err.msg);
		goto out;
	}
	if (ca_acme_key_authz(z.token, acct.thumbprint, key_authz, sizeof(key_authz)) != 0)
		goto out;
	memset(&v, 0, sizeof(v));
	v.a = a;
	v.stop = &a->stop;
	clock_gettime(CLOCK_MONOTONIC, &v.deadline);
	v.deadline.tv_sec += a->o.timeout;
	type = ca_acme_chall_parse(z.chall);
	ip = strcmp(z.kind, "ip") == 0;
	switch (type) {
	case CA_ACME_HTTP01:
		r = ca_acme_http01(&v, z.name, ip, z.token, key_authz, &e);
		break;
	case CA_ACME_DNS01:
		r = ip ? ca_acme_vfail(&e, "malformed", "dns-01 cannot prove an IP address") :
		     ca_acme_dns01(&v, z.name, key_authz, &e);
		break;
	case CA_ACME_TLSALPN01:
		r = ca_acme_tlsalpn01(&v, z.name, ip, key_authz, &e);
		break;
	default:
		r = ca_acme_vfail(&e, "server_internal", "unknown challenge type");
		break;
	}
	if (atomic_load(&a->stop)) {
		/* Shutting down: the next start queues it again. */
		goto out;
	}
	memset(&tx, 0, sizeof(tx));
	tx.z = &z;
	tx.valid = r == 0;
	tx.e = &e;
	snprintf(tx.actor, sizeof(tx.actor), "acme:%s", z.account_id);
	/* Not durable, as the other steps before a certificate
	 * (ca/acme_order.c says why). */
	if (ca_tx(ca, 0, finish_body, &tx, &err) != 0)
		mica_log(MICA_LOG_WARN, "acme: cannot record the validation of %s: %s",
			 id, err.msg);
	else if (r != 0)
		mica_log(MICA_LOG_INFO, "acme: %s of %s failed: %s: %s", z.chall, z.name,
			 e.code, e.detail);
out:
	db_acme_account_free(&acct);
	db_acme_authz_free(&z);
}

/* ----------------------------------------------------------- workers -- */

/*
 * A worker holds a store connection only while there is work: each costs
 * some 200 KB (its copy of the schema, its statements and cache), and
 * validations are rare (seconds apart or more), so it opens one when it
 * takes a validation and closes it when it finds the queue empty. When it
 * cannot open one (the store unreadable for a moment, descriptors short)
 * it keeps the validation and tries again every second, saying so once.
 */
#define WORKER_RETRY_MS 1000

/* Wait WORKER_RETRY_MS on A's stop condition (its own, so no wake-up meant
 * for an idle worker is taken); 1 if the service stops meanwhile. */
static int
worker_backoff(struct ca_acme *a)
{
	struct timespec until;
	int stop;

	mica_mono_deadline(&until, WORKER_RETRY_MS);
	pthread_mutex_lock(&a->qlock);
	while (!atomic_load(&a->stop) &&
	       mica_cond_wait_until(&a->stopcond, &a->qlock, &until) == 0)
		;
	stop = atomic_load(&a->stop);
	pthread_mutex_unlock(&a->qlock);
	return stop;
}

static void *
worker_main(void *arg)
{
	struct ca_acme *a = arg;
	struct ca *ca = NULL;
	struct mica_err err;
	int failing = 0;

	mica_thread_name("mica-acme");
	for (;;) {
		char id[CA_ID_MAX];

		pthread_mutex_lock(&a->qlock);
		while (a->qlen == 0 && !atomic_load(&a->stop)) {
			if (ca != NULL) {
				/* Idle: the connection goes (the lock is
				 * not needed for that, nor held long). */
				pthread_mutex_unlock(&a->qlock);
				ca_close(ca);
				ca = NULL;
				pthread_mutex_lock(&a->qlock);
				continue;
			}
			pthread_cond_wait(&a->qcond, &a->qlock);
		}
		if (atomic_load(&a->stop)) {
			pthread_mutex_unlock(&a->qlock);
			break;
		}
		memcpy(id, a->queue[a->qhead], CA_ID_MAX);
		a->qhead = (a->qhead + 1) % a->qcap;
		a->qlen--;
		pthread_mutex_unlock(&a->qlock);
		while (ca == NULL && ca_clone(a->parent, &ca, &err) != 0) {
			if (!failing)
				mica_log(MICA_LOG_WARN, "acme: cannot open the store "
					 "to validate: %s; trying again every second",
					 err.msg);
			failing = 1;
			/* Stopped: it stays processing, and the next start
			 * queues it again. */
			if (worker_backoff(a))
				goto out;
		}
		if (failing)
			mica_log(MICA_LOG_INFO, "acme: the store opens again; validating");
		failing = 0;
		ca_acme_validate(a, ca, id);
	}
out:
	ca_close(ca);
	return NULL;
}

int
ca_acme_queue(struct ca_acme *a, const char *id, struct mica_err *err)
{
	int ok;

	pthread_mutex_lock(&a->qlock);
	if (id == NULL) {
		ok = a->qlen < CA_ACME_QUEUE_MAX;
	} else if ((ok = a->qlen < a->qcap)) {
		snprintf(a->queue[(a->qhead + a->qlen) % a->qcap], CA_ID_MAX, "%s", id);
		a->qlen++;
		pthread_cond_signal(&a->qcond);
	}
	pthread_mutex_unlock(&a->qlock);
	if (!ok)
		return mica_err_set(err, MICA_E_RATE, "rate_limited",
				    "too many validations are waiting; try again shortly");
	return 0;
}

int
ca_acme_workers_start(struct ca_acme *a, struct ca *parent, struct mica_err *err)
{
	char (*left)[40] = NULL;
	size_t nleft = 0;

	a->qcap = 2 * CA_ACME_QUEUE_MAX;
	if ((a->queue = calloc(a->qcap, sizeof(*a->queue))) == NULL ||
	    (a->threads = calloc((size_t)a->o.workers, sizeof(*a->threads))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	/* The workers clone their handles from it, when they have work:
	 * ca_clone reads only what the handles share, so the other users
	 * of PARENT need not wait for them. It outlives the workers. */
	a->parent = parent;
	pthread_mutex_init(&a->qlock, NULL);
	pthread_cond_init(&a->qcond, NULL);
	pthread_cond_init(&a->stopcond, NULL);
	a->qinit = 1;
	for (int i = 0; i < a->o.workers; i++) {
		if (pthread_create(&a->threads[a->nthreads], NULL, worker_main, a) != 0)
			return mica_err_set(err, MICA_E_INTERNAL, "thread",
					    "cannot start a validation thread");
		a->nthreads++;
	}
	/* What the last run left processing (stopped, or killed) is
	 * validated again. */
	if (db_acme_authz_processing(parent->db, CA_ACME_QUEUE_MAX, &left, &nleft, err) != 0)
		return -1;
	for (size_t i = 0; i < nleft; i++)
		ca_acme_queue(a, left[i], NULL);
	if (nleft > 0)
		mica_log(MICA_LOG_INFO, "acme: %zu validation%s queued again", nleft,
			 nleft == 1 ? "" : "s");
	free(left);
	return 0;
}

void
ca_acme_workers_stop(struct ca_acme *a)
{
	if (a->qinit) {
		pthread_mutex_lock(&a->qlock);
		atomic_store(&a->stop, 1);
		pthread_cond_broadcast(&a->qcond);
		pthread_cond_broadcast(&a->stopcond);
		pthread_mutex_unlock(&a->qlock);
		for (size_t i = 0; i < a->nthreads; i++)
			pthread_join(a->threads[i], NULL);
		pthread_cond_destroy(&a->qcond);
		pthread_cond_destroy(&a->stopcond);
		pthread_mutex_destroy(&a->qlock);
	}
	free(a->threads);
	free(a->queue);
	a->qinit = 0;
}

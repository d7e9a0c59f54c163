/*
 * web/server.c - what every request may use of the running daemon
 * (web/server.h), chiefly the engine handles: a request's thread takes
 * one (its own SQLite connection) from the pool, or clones one from the
 * handle opened at start, and gives it back when the request is done, so
 * two threads never use a connection at once and no more connections are
 * open than requests ever ran at once.
 */
#include "web/server.h"

#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

void
web_server_store_too_new(struct web_server *srv)
{
	if (atomic_exchange(&srv->store_too_new, 1) == 0)
		kill(getpid(), SIGUSR2);
}

static void
thread_ca_free(void *p)
{
	ca_close(p);
}

void
web_server_init(struct web_server *srv)
{
	memset(srv, 0, sizeof(*srv));
	atomic_init(&srv->requests, 0);
	pthread_mutex_init(&srv->parent_lock, NULL);
	pthread_mutex_init(&srv->pool_lock, NULL);
	web_rl_init(&srv->rl);
}

int
web_server_attach(struct web_server *srv, struct ca *parent, struct mica_err *err)
{
	const unsigned char *der;
	size_t len;

	assert(srv->parent == NULL);
	/* /ca.crt is the CA that signs (for a single tier, the root itself):
	 * what certificates name in caIssuers. */
	der = ca_cert_der(parent, &len);
	if (der == NULL || len == 0 || ca_cert_pem(parent) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "no_root", "the CA has no certificate");
	if ((srv->root_der = malloc(len)) == NULL ||
	    (srv->root_pem = strdup(ca_cert_pem(parent))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	memcpy(srv->root_der, der, len);
	srv->root_der_len = len;
	if (pthread_key_create(&srv->key, thread_ca_free) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "thread_key", "cannot create a thread key");
	srv->key_made = 1;
	srv->parent = parent;
	return 0;
}

void
web_server_fini(struct web_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->key_made)
		pthread_key_delete(srv->key);
	for (size_t i = 0; i < srv->nidle; i++)
		ca_close(srv->idle[i]);
	pthread_mutex_destroy(&srv->pool_lock);
	free(srv->root_der);
	free(srv->root_pem);
	web_rl_destroy(&srv->rl);
	pthread_mutex_destroy(&srv->parent_lock);
	memset(srv, 0, sizeof(*srv));
}

struct ca *
web_thread_ca(struct web_server *srv, struct mica_err *err)
{
	struct ca *ca;
	struct mica_err e;
	int rc;

	if (srv == NULL || srv->parent == NULL) {
		mica_err_set(err, MICA_E_UNAVAIL, "store_unavailable",
			     "the certificate store is unavailable");
		return NULL;
	}
	if ((ca = pthread_getspecific(srv->key)) != NULL)
		return ca;
	/* The one used last: its pages and statements are the warmest. */
	pthread_mutex_lock(&srv->pool_lock);
	if (srv->nidle > 0)
		ca = srv->idle[--srv->nidle];
	pthread_mutex_unlock(&srv->pool_lock);
	if (ca != NULL)
		goto hold;
	pthread_mutex_lock(&srv->parent_lock);
	rc = ca_clone(srv->parent, &ca, &e);
	pthread_mutex_unlock(&srv->parent_lock);
	if (rc != 0) {
		mica_log(MICA_LOG_ERR, "cannot open the store for a worker: %s", e.msg);
		/* Upgraded by a newer mica under this daemon: nothing will
		 * open it again; stop, so that a supervisor restarts the
		 * daemon - with the newer mica. */
		if (strcmp(e.code, "schema_too_new") == 0)
			web_server_store_too_new(srv);
		/* The engine's code says why (store_unavailable,
		 * insecure_store); its message stays in the log. */
		mica_err_set(err, MICA_E_UNAVAIL,
			     e.kind == MICA_E_UNAVAIL ? e.code : "store_unavailable",
			     "the certificate store is unavailable; try again later");
		return NULL;
	}
hold:
	if (pthread_setspecific(srv->key, ca) != 0) {
		ca_close(ca);
		mica_err_set(err, MICA_E_INTERNAL, "thread_key", "cannot keep a store handle");
		return NULL;
	}
	return ca;
}

void
web_thread_release(struct web_server *srv)
{
	struct ca *ca;

	if (srv == NULL || !srv->key_made ||
	    (ca = pthread_getspecific(srv->key)) == NULL)
		return;
	if (pthread_setspecific(srv->key, NULL) != 0)
		return;   /* it stays this thread's */
	pthread_mutex_lock(&srv->pool_lock);
	if (srv->nidle < WEB_POOL_MAX) {
		srv->idle[srv->nidle++] = ca;
		ca = NULL;
	}
	pthread_mutex_unlock(&srv->pool_lock);
	ca_close(ca);
}

int
web_api_over_http(const struct web_server *srv)
{
	return srv != NULL && srv->api_over_http;
}

const char *
web_https_url(const struct web_server *srv)
{
	return srv != NULL && srv->https_url[0] != '\0' ? srv->https_url : NULL;
}

struct web_ratelimit *
web_server_rl(struct web_server *srv)
{
	return &srv->rl;
}

struct ca_acme *
web_server_acme(struct web_server *srv)
{
	return srv != NULL ? srv->acme : NULL;
}

const struct web_proxies *
web_server_proxies(const struct web_server *srv)
{
	return srv != NULL ? &srv->proxies : NULL;
}

void
web_server_root(struct web_server *srv, const unsigned char **der,
		size_t *der_len, const char **pem)
{
	*der = srv != NULL ? srv->root_der : NULL;
	*der_len = srv != NULL ? srv->root_der_len : 0;
	*pem = srv != NULL ? srv->root_pem : NULL;
}

void
web_daemon_principal(struct ca_principal *p)
{
	ca_principal_local(p, "daemon");
}

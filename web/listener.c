/*
 * web/listener.c - one libmicrohttpd daemon per listener (web/listener.h):
 * a pool of worker threads polling with epoll where available, so a slow
 * client costs a connection slot, never a worker; connection, per-address,
 * memory and idle limits, and deadlines for slow clients (web/conns.c);
 * the slow lane of requests that may take seconds (web/slow.h); and a
 * graceful stop.
 */
#include "web/listener.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "web/conns.h"
#include "web/slow.h"

struct web_listener *
web_listener_start(struct web_server *srv, int tls, const struct web_addr *a,
		   const char *url, unsigned threads, int fd,
		   const char *key_pem, const char *cert_pem,
		   struct mica_err *err)
{
	struct MHD_OptionItem ops[8];
	struct web_listener *l;
	/* Suspend/resume: the slow lane answers requests that may take
	 * seconds (web/slow.h), off the pool threads. */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
			     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	size_t k = 0;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		return NULL;
	}
	l->srv = srv;
	l->tls = tls;
	atomic_init(&l->inflight, 0);
	snprintf(l->url, sizeof(l->url), "%s", url);
	/* epoll: a slow client costs a connection slot, never a worker. */
	flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ?
		 MHD_USE_EPOLL : MHD_USE_POLL;
	if (tls)
		flags |= MHD_USE_TLS;
	if (a->ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (threads > 1)
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
						    (intptr_t)threads, NULL };
	if (fd >= 0)
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET,
						    (intptr_t)fd, NULL };
	else
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0,
						    (void *)(uintptr_t)&a->ss };
	if (tls) {
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
						    (void *)(uintptr_t)key_pem };
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
						    (void *)(uintptr_t)cert_pem };
		ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						    (void *)(uintptr_t)WEB_TLS_PRIORITIES };
	}
	ops[k++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	if ((l->slow = web_slow_start(WEB_SLOW_WORKERS, err)) == NULL) {
		free(l);
		return NULL;
	}
	if ((l->conns = web_conns_new(WEB_CONN_LIMIT)) == NULL) {
		web_slow_stop(l->slow);
		free(l);
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		return NULL;
	}
	l->d = MHD_start_daemon(flags, (uint16_t)a->port, web_mhd_accept, l,
				web_mhd_access, l,
				MHD_OPTION_EXTERNAL_LOGGER, web_mhd_log, NULL,
				MHD_OPTION_CONNECTION_LIMIT,
				(unsigned int)(WEB_CONN_LIMIT + WEB_CONN_SLACK),
				MHD_OPTION_NOTIFY_CONNECTION, web_mhd_connection, (void *)l,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)WEB_PER_IP_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)WEB_CONN_TIMEOUT,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_CONN_MEMORY,
				MHD_OPTION_URI_LOG_CALLBACK, web_mhd_uri, (void *)l,
				MHD_OPTION_NOTIFY_COMPLETED, web_mhd_completed, (void *)l,
				MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
				MHD_OPTION_ARRAY, ops,
				MHD_OPTION_END);
	if (l->d == NULL) {
		web_slow_stop(l->slow);
		web_conns_free(l->conns);
		free(l);
		mica_err_set(err, MICA_E_UNAVAIL, "listen_failed",
			     "cannot serve %s on %s:%d (address in use or not available)",
			     tls ? "HTTPS" : "HTTP", a->host, a->port);
		return NULL;
	}
	if (web_conns_start(l->conns, err) != 0) {
		web_slow_stop(l->slow);
		MHD_stop_daemon(l->d);
		web_conns_free(l->conns);
		free(l);
		return NULL;
	}
	return l;
}

int
web_listener_dup_fd(struct web_listener *l)
{
	const union MHD_DaemonInfo *di;

	di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_LISTEN_FD);
	if (di == NULL || di->listen_fd == MHD_INVALID_SOCKET)
		return -1;
	return fcntl(di->listen_fd, F_DUPFD_CLOEXEC, 0);
}

/* Wait (at most SECONDS) until no request of L1/L2 is in flight. */
static void
drain(struct web_listener *l1, struct web_listener *l2, int seconds)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	for (int i = 0; i < seconds * 20; i++) {
		int n = (l1 != NULL ? atomic_load(&l1->inflight) : 0) +
			(l2 != NULL ? atomic_load(&l2->inflight) : 0);

		if (n <= 0)
			return;
		if (i == 0)
			mica_log(MICA_LOG_INFO, "finishing %d request%s in flight", n,
				 n == 1 ? "" : "s");
		nanosleep(&ts, NULL);
	}
	mica_log(MICA_LOG_WARN, "requests still in flight after %d s; closing them",
		 seconds);
}

void
web_listeners_stop(struct web_listener *a, struct web_listener *b)
{
	MHD_socket fa = MHD_INVALID_SOCKET, fb = MHD_INVALID_SOCKET;

	if (a != NULL)
		fa = MHD_quiesce_daemon(a->d);
	if (b != NULL)
		fb = MHD_quiesce_daemon(b->d);
	drain(a, b, WEB_DRAIN_SECONDS);
	/* The slow lanes before the daemons: a request still there is
	 * finished (or, not begun, answered 503) and its connection resumed,
	 * while the daemon that holds it still exists. Their threads' store
	 * handles go with them. */
	if (a != NULL)
		web_slow_stop(a->slow);
	if (b != NULL)
		web_slow_stop(b->slow);
	/* What the lanes just finished is an answer queued on a resumed
	 * connection: the daemons' threads must send it before they stop,
	 * or its client gets a closed connection for a request that was
	 * carried out (a CRL published, a certificate revoked). */
	drain(a, b, WEB_DRAIN_SECONDS);
	/* A quiesced daemon leaves its listening socket to us, to close
	 * after the daemon's threads are gone. Its table of connections
	 * goes last: the daemon tells it of every close as it stops. */
	if (a != NULL) {
		web_conns_stop(a->conns);
		MHD_stop_daemon(a->d);
		if (fa != MHD_INVALID_SOCKET)
			close(fa);
		web_conns_free(a->conns);
		free(a);
	}
	if (b != NULL) {
		web_conns_stop(b->conns);
		MHD_stop_daemon(b->d);
		if (fb != MHD_INVALID_SOCKET)
			close(fb);
		web_conns_free(b->conns);
		free(b);
	}
}

/*
 * web/listener.c - one libmicrohttpd daemon per listener (web/listener.h):
 * a pool of worker threads polling with epoll where available, so a slow
 * client costs a connection slot, never a worker; connection, per-address,
 * memory and idle limits, and deadlines for slow clients (web/conns.c);
 * the slow lane of requests that may take seconds (web/slow.h); and a
 * graceful stop.
 *
 * The listening socket is ours, not libmicrohttpd's: left to itself,
 * every worker of the pool watches it, and whichever wakes first takes
 * a whole burst of new connections (eight clients that connect at once
 * were seen served four by one worker, two by another and none by four
 * of them, each connection then waiting for the others' requests on
 * its thread). One acceptor thread per listener takes each connection
 * and hands it to the worker with the fewest open connections (pick()
 * and web_fd_on_worker() below; MHD_add_connection); libmicrohttpd
 * applies its per-address limit and our accept policy to it as to its
 * own.
 *
 * The counts are the acceptor's: up when it places a connection, down
 * when libmicrohttpd says it closed (web_mhd_connection). They also
 * keep every worker under its share of the connection limit, which
 * libmicrohttpd 0.9.75 cannot be left to do for connections added from
 * outside: it checks a worker's count when the connection is queued to
 * the worker, counts it only when the worker takes it up, and a worker
 * that then finds itself full returns without unlocking its
 * connections' mutex, so the next lock of it hangs that worker and,
 * at the stop, the daemon (new_connection_process_ in its daemon.c;
 * seen under load while hundreds of slow clients connected at once).
 * libmicrohttpd's count of a worker is at most ours plus one (it
 * counts a connection after we do, and uncounts it just after telling
 * us it closed, one at a time per worker), so a worker is given a
 * connection only while ours is two under its share. When every
 * worker is that full, the acceptor leaves new connections in the
 * listening socket's backlog, makes room as the accept policy does
 * (the slowest connections are dropped, web/conns.h), and looks again
 * a moment later. A connection libmicrohttpd refuses when it is added
 * (per-address limit, policy, memory) is uncounted at once; one it
 * drops later without telling us (no memory for its 32 KiB pool) stays
 * counted: that worker takes one connection fewer until the listener
 * restarts.
 */
#include "web/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/thread.h"
#include "web/conns.h"
#include "web/server.h"
#include "web/slow.h"

#define WEB_ACCEPT_BURST   64            /* accepts before polling again */
#define WEB_FULL_PAUSE_MS  10            /* every worker full: look again */
/* libmicrohttpd's connection limit for a pool of N workers. The acceptor
 * fills a worker to one under its share (see above), N fewer than the
 * limit in all: N more keeps WEB_CONN_LIMIT + WEB_CONN_SLACK placeable
 * whatever the pool's size, so the accept policy's soft limit is reached
 * (and the slowest make room) before every worker is full. */
#define WEB_MHD_CONN_LIMIT(n) (WEB_CONN_LIMIT + WEB_CONN_SLACK + (n))
#define WEB_ERR_PAUSE_MS   100           /* accept failing: look again */
/* Descriptors other than a worker's connections (store files, logs, the
 * signers' pipes, epoll sets...) that may fall on its numbers: bounds the
 * search for a free one (web_fd_on_worker). */
#define WEB_FD_OTHERS      256

int
web_listen(const struct web_addr *a, int tls, struct mica_err *err)
{
	socklen_t len = a->ss.ss_family == AF_INET6 ?
			(socklen_t)sizeof(struct sockaddr_in6) :
			(socklen_t)sizeof(struct sockaddr_in);
	int fd, on = 1, e;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    (a->ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) ||
	    bind(fd, (const struct sockaddr *)&a->ss, len) != 0 ||
	    listen(fd, SOMAXCONN) != 0)
		goto fail;
	return fd;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	mica_err_set(err, MICA_E_UNAVAIL, "listen_failed",
		     "cannot serve %s on %s:%d (%s)", tls ? "HTTPS" : "HTTP",
		     a->host, a->port,
		     e == EADDRINUSE ? "address in use" :
		     e == EADDRNOTAVAIL ? "address not available here" :
		     e == EACCES ? "permission denied" : strerror(e));
	return -1;
}

/* The worker with the fewest connections among those at least two
 * under their share of the connection limit (see the top of the file);
 * -1 when there is none. */
static int
pick(struct web_listener *l)
{
	int best = -1, least = INT_MAX;

	for (unsigned i = 0; i < l->nworkers; i++) {
		int v = atomic_load(&l->load[i]);

		if (v < least && v + 2 <= l->share[i]) {
			least = v;
			best = (int)i;
		}
	}
	return best;
}

/* The lowest number from X on that falls on worker W of N. */
static int
on_worker(int x, unsigned w, unsigned n)
{
	int y = x - (int)((unsigned)x % n) + (int)w;

	return y < x ? y + (int)n : y;
}

int
web_fd_on_worker(int c, unsigned w, unsigned n, int tries)
{
	int base, d;

	if (n == 0 || (unsigned)c % n == w)
		return c;
	base = on_worker(c, w, n);
	/* Each miss steps past a number on W that is taken - by one of W's
	 * connections (fewer than its share) or another of the process's
	 * files - so TRIES above those always finds one, close by: a
	 * search that gave up after four, the lowest free number on a full
	 * worker and holes of the other full workers above it, closed
	 * every new connection accepted on that same number (0 of 8 new
	 * clients served in workers.sh). */
	for (int i = 0; i < tries; i++) {
		/* The lowest free number from BASE on. */
		if ((d = fcntl(c, F_DUPFD_CLOEXEC, base)) < 0)
			break;
		if ((unsigned)d % n == w) {
			close(c);
			return d;
		}
		close(d);
		base = on_worker(d + 1, w, n);
	}
	return c;
}

/* Connection C, just accepted from SS (SL bytes), to worker BEST. */
static void
hand_over(struct web_listener *l, int c, unsigned best,
	  const struct sockaddr_storage *ss, socklen_t sl)
{
	unsigned w;

	c = web_fd_on_worker(c, best, l->nworkers,
			     l->share[best] + WEB_FD_OTHERS);
	w = (unsigned)c % l->nworkers;
	/* Not moved (out of descriptors, or more of the process's other
	 * files on BEST's numbers than WEB_FD_OTHERS): its own worker, if
	 * it has room. */
	if (w != best && atomic_load(&l->load[w]) + 2 > l->share[w]) {
		close(c);
		return;
	}
	atomic_fetch_add(&l->load[w], 1);
	/* libmicrohttpd closes C itself if it refuses it (per-address limit,
	 * policy, memory). */
	if (MHD_add_connection(l->d, c, (const struct sockaddr *)ss, sl) != MHD_YES)
		atomic_fetch_sub(&l->load[w], 1);
}

/* The acceptor: every connection to the workers, until told to stop.
 * Every worker full, it leaves new connections in the backlog while the
 * slowest make room; out of descriptors (or memory), it waits a moment
 * rather than spin on a socket that stays readable. */
static void *
acceptor(void *arg)
{
	struct web_listener *l = arg;
	struct pollfd p[2] = { { l->wake, POLLIN, 0 }, { l->lfd, POLLIN, 0 } };
	int pause_ms = -1, full = 0;
	int64_t said = INT64_MIN / 2;   /* monotonic s of the last "cannot accept" */

	mica_thread_name("mica-accept");
	for (;;) {
		/* Full: only the stop and the clock wake it. */
		int n = poll(p, full ? 1 : 2, pause_ms);

		if (n < 0 && errno != EINTR) {
			mica_log(MICA_LOG_ERR, "%s: poll: %s; no longer accepting",
				 l->url, strerror(errno));
			break;
		}
		if (n > 0 && (p[0].revents & POLLIN))
			break;
		pause_ms = -1;
		full = 0;
		for (int i = 0; i < WEB_ACCEPT_BURST; i++) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			int best = pick(l), c;

			if (best < 0) {
				web_conns_admit(l->conns);
				full = 1;
				pause_ms = WEB_FULL_PAUSE_MS;
				break;
			}
			c = accept4(l->lfd, (struct sockaddr *)&ss, &sl,
				    SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (c >= 0) {
				hand_over(l, c, (unsigned)best, &ss, sl);
				continue;
			}
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/* Out of descriptors or memory, most likely: the
				 * connection stays in the backlog and the socket
				 * readable, so only the stop and the clock may
				 * wake the acceptor until it tries again. */
				int64_t now = mica_mono_ms() / 1000;

				if (now - said >= 10) {
					mica_log(MICA_LOG_WARN, "%s: cannot accept: %s",
						 l->url, strerror(errno));
					said = now;
				}
				full = 1;
				pause_ms = WEB_ERR_PAUSE_MS;
			}
			break;
		}
	}
	return NULL;
}

static void
acceptor_stop(struct web_listener *l)
{
	uint64_t one = 1;

	if (!l->accepting)
		return;
	while (write(l->wake, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	pthread_join(l->acceptor, NULL);
	l->accepting = 0;
}

/* Free L; on a failed start, a listening socket it was given is left to
 * the caller (ERRED). */
static void
listener_free(struct web_listener *l, int erred)
{
	if (l->lfd >= 0 && !(erred && l->lfd_given))
		close(l->lfd);
	if (l->wake >= 0)
		close(l->wake);
	free(l->load);
	free(l->share);
	free(l);
}

struct web_listener *
web_listener_start(struct web_server *srv, int tls, const struct web_addr *a,
		   const char *url, unsigned threads, int fd,
		   const char *key_pem, const char *cert_pem,
		   struct mica_err *err)
{
	struct MHD_OptionItem ops[8];
	struct web_listener *l;
	/* Suspend/resume: the slow lane answers requests that may take
	 * seconds (web/slow.h), off the pool threads. ITC: a connection
	 * added by the acceptor is taken up at once. */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
			     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
			     MHD_USE_NO_LISTEN_SOCKET;
	size_t k = 0;
	unsigned limit;
	int rc;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		return NULL;
	}
	l->srv = srv;
	l->tls = tls;
	l->lfd = fd;
	l->lfd_given = fd >= 0;
	l->wake = -1;
	atomic_init(&l->inflight, 0);
	snprintf(l->url, sizeof(l->url), "%s", url);
	if (l->lfd < 0 && (l->lfd = web_listen(a, tls, err)) < 0) {
		listener_free(l, 1);
		return NULL;
	}
	if ((l->wake = eventfd(0, EFD_CLOEXEC)) < 0) {
		mica_err_set(err, MICA_E_INTERNAL, "eventfd", "cannot make an event: %s",
			     strerror(errno));
		listener_free(l, 1);
		return NULL;
	}
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
	/* Each worker's share of the connection limit, as libmicrohttpd
	 * divides it (MHD_start_daemon: the remainder to the first ones). */
	l->nworkers = threads > 1 ? threads : 1;
	limit = WEB_MHD_CONN_LIMIT(l->nworkers);
	if ((l->load = calloc(l->nworkers, sizeof(*l->load))) == NULL ||
	    (l->share = calloc(l->nworkers, sizeof(*l->share))) == NULL) {
		listener_free(l, 1);
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		return NULL;
	}
	for (unsigned i = 0; i < l->nworkers; i++) {
		atomic_init(&l->load[i], 0);
		l->share[i] = (int)(limit / l->nworkers +
				    (i < limit % l->nworkers));
	}
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
		listener_free(l, 1);
		return NULL;
	}
	if ((l->conns = web_conns_new(WEB_CONN_LIMIT)) == NULL) {
		web_slow_free(l->slow);
		listener_free(l, 1);
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		return NULL;
	}
	l->d = MHD_start_daemon(flags, 0, web_mhd_accept, l,
				web_mhd_access, l,
				MHD_OPTION_EXTERNAL_LOGGER, web_mhd_log, NULL,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)limit,
				MHD_OPTION_NOTIFY_CONNECTION, web_mhd_connection, (void *)l,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)WEB_PER_IP_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)WEB_CONN_TIMEOUT,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_CONN_MEMORY,
				MHD_OPTION_URI_LOG_CALLBACK, web_mhd_uri, (void *)l,
				MHD_OPTION_NOTIFY_COMPLETED, web_mhd_completed, (void *)l,
				/* Tolerant: mica's own framing check
				 * (web_framing_check) refuses an HTTP/1.1
				 * request without Host and a target with a
				 * blank. libmicrohttpd 0.9.75, told to be
				 * strict, answers the first with its 400's
				 * head sent twice, and the second by closing
				 * the connection without a word. */
				MHD_OPTION_STRICT_FOR_CLIENT, (int)0,
				MHD_OPTION_ARRAY, ops,
				MHD_OPTION_END);
	if (l->d == NULL) {
		web_slow_free(l->slow);
		web_conns_free(l->conns);
		listener_free(l, 1);
		mica_err_set(err, MICA_E_UNAVAIL, "listen_failed",
			     "cannot start the %s listener on %s:%d", tls ? "HTTPS" : "HTTP",
			     a->host, a->port);
		return NULL;
	}
	if (web_conns_start(l->conns, err) != 0) {
		web_slow_free(l->slow);
		MHD_stop_daemon(l->d);
		web_conns_free(l->conns);
		listener_free(l, 1);
		return NULL;
	}
	if ((rc = pthread_create(&l->acceptor, NULL, acceptor, l)) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "thread",
			     "cannot start the %s acceptor: %s", tls ? "HTTPS" : "HTTP",
			     strerror(rc));
		web_slow_free(l->slow);
		web_conns_stop(l->conns);
		MHD_stop_daemon(l->d);
		web_conns_free(l->conns);
		listener_free(l, 1);
		return NULL;
	}
	l->accepting = 1;
	return l;
}

int
web_listener_dup_fd(struct web_listener *l)
{
	return l->lfd >= 0 ? fcntl(l->lfd, F_DUPFD_CLOEXEC, 0) : -1;
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
	/* One waiting for a signer that does not answer (stopped, starved)
	 * would hold the stop for the signer timeout, five minutes: given
	 * up, it is answered 503, as is any later one. A signature takes
	 * milliseconds; CRLs, which may take seconds, and a held
	 * revocation's, are still signed. Only when the daemon stops, not
	 * when a TLS rotation stops the old listener. */
	{
		struct web_server *srv = l1 != NULL ? l1->srv : l2 != NULL ?
					 l2->srv : NULL;

		if (srv != NULL && srv->parent != NULL &&
		    atomic_load(&srv->stopping))
			ca_signer_give_up(srv->parent);
	}
}

/* L (NULL: nothing) accepts no more: its acceptor stops and its listening
 * socket closes (a duplicate a new listener holds stays open). */
static void
stop_accepting(struct web_listener *l)
{
	if (l == NULL)
		return;
	acceptor_stop(l);
	if (l->lfd >= 0)
		close(l->lfd);
	l->lfd = -1;
}

void
web_listeners_stop(struct web_listener *a, struct web_listener *b)
{
	/* Every answer from here on closes its connection: a client keeping
	 * one open would otherwise send its next request just as the daemon
	 * below closes it, and get no answer. */
	if (a != NULL)
		atomic_store(&a->closing, 1);
	if (b != NULL)
		atomic_store(&b->closing, 1);
	/* No new connection from here on: the listening socket is closed at
	 * once, so a client connecting now is refused at once (kept open,
	 * it waited in the backlog for the whole stop, then was reset) -
	 * unless a new listener has a duplicate of it (a TLS rotation),
	 * which goes on accepting. */
	stop_accepting(a);
	stop_accepting(b);
	drain(a, b, WEB_DRAIN_SECONDS);
	/* The slow lanes before the daemons: a request still there is
	 * finished (or, not begun, answered 503) and its connection resumed,
	 * while the daemon that holds it still exists. Their threads' store
	 * handles go with them; the lanes themselves stay until the daemons
	 * are gone, whose threads may still ask them (and are told they
	 * stop: 503 shutting_down). */
	if (a != NULL)
		web_slow_stop(a->slow);
	if (b != NULL)
		web_slow_stop(b->slow);
	/* What the lanes just finished is an answer queued on a resumed
	 * connection: the daemons' threads must send it before they stop,
	 * or its client gets a closed connection for a request that was
	 * carried out (a CRL published, a certificate revoked). */
	drain(a, b, WEB_DRAIN_SECONDS);
	/* tests/e2e/slow_lane.sh: requests on connections kept open,
	 * between the lanes' stop and the daemons'. */
	MICA_TEST_GATE("MICA_TEST_STOP_GATE");
	/* The listening socket closes after the daemon's threads are gone.
	 * Its table of connections goes last: the daemon tells it of every
	 * close as it stops. */
	if (a != NULL) {
		web_conns_stop(a->conns);
		MHD_stop_daemon(a->d);
		web_slow_free(a->slow);
		web_conns_free(a->conns);
		listener_free(a, 0);
	}
	if (b != NULL) {
		web_conns_stop(b->conns);
		MHD_stop_daemon(b->d);
		web_slow_free(b->slow);
		web_conns_free(b->conns);
		listener_free(b, 0);
	}
}

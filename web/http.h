/*
 * web/http.h - the libmicrohttpd side of a request: the callbacks every
 * listener registers, the state they share per listener, and the caps on
 * what they read.
 */
#ifndef MICA_WEB_HTTP_H
#define MICA_WEB_HTTP_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <microhttpd.h>

#define WEB_BODY_MAX       (64 * 1024)   /* request body cap (413 above) */
#define WEB_DISCARD_MAX    (1024 * 1024) /* a body beyond the cap is read and
					  * dropped up to this, so the client
					  * gets its 413 (closing with unread
					  * bytes would reset the connection);
					  * a chunked one still coming past it
					  * gets its 413 then, and is closed
					  * after as much again */
#define WEB_HSTS           "max-age=31536000"   /* one year, HTTPS only */

struct web_server;
struct web_conns;

/* One listener (HTTP or HTTPS): the closure of every callback below. */
struct web_listener {
	struct web_server *srv;
	struct MHD_Daemon *d;
	struct web_conns *conns;  /* its connections (web/conns.h) */
	struct web_slow *slow;    /* its slow lane (web/slow.h) */
	int lfd;                  /* the listening socket, ours */
	int lfd_given;            /* LFD came from the caller */
	int wake;                 /* eventfd: tells the acceptor to stop */
	pthread_t acceptor;       /* accepts; each to the least busy worker */
	int accepting;            /* the acceptor runs */
	unsigned nworkers;        /* libmicrohttpd's workers (1: no pool) */
	atomic_int *load;         /* open connections per worker */
	int *share;               /* each one's share of the limit */
	int tls;
	atomic_int inflight;      /* requests begun and not completed */
	atomic_int closing;       /* stopping: every answer closes its
				   * connection, so no client sends another
				   * request on it that nobody would answer */
	char url[160];            /* "https://127.0.0.1:8443" */
};

/* libmicrohttpd callbacks; CLS is the struct web_listener. The URI
 * callback creates the per-request state (it sees the raw request target,
 * before libmicrohttpd decodes it); the access handler accumulates the
 * body under the caps and dispatches on the final call; the completion
 * callback writes the access log line and frees the request. */
void *web_mhd_uri(void *cls, const char *uri, struct MHD_Connection *conn);
enum MHD_Result web_mhd_access(void *cls, struct MHD_Connection *conn,
			       const char *url, const char *method,
			       const char *version, const char *upload_data,
			       size_t *upload_data_size, void **req_cls);
void web_mhd_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
		       enum MHD_RequestTerminationCode toe);
/* The accept policy: makes room among the listener's connections
 * (web_conns_admit); never refuses. */
enum MHD_Result web_mhd_accept(void *cls, const struct sockaddr *addr,
			       socklen_t addrlen);
/* Connection start and close: the listener's table of connections. */
void web_mhd_connection(void *cls, struct MHD_Connection *conn,
			void **socket_context,
			enum MHD_ConnectionNotificationCode toe);
/* libmicrohttpd's own messages, to the log at debug level. */
void web_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif

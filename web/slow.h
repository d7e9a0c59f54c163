/*
 * web/slow.h - the slow lane: a few threads per listener that run the
 * requests which may take seconds (publishing a CRL of a million entries,
 * a revocation or a superseding renewal, which sign one), so that they
 * never hold one of libmicrohttpd's pool threads. A pool thread serves
 * many connections in turn: while one of its handlers works, every other
 * connection it holds (an issuance, a /crl download, /healthz) waits.
 * web/http.c suspends such a request's connection, queues it here, and
 * the lane resumes the connection when its answer is ready.
 */
#ifndef MICA_WEB_SLOW_H
#define MICA_WEB_SLOW_H

#include "util/err.h"

#define WEB_SLOW_WORKERS 2     /* threads per listener */
#define WEB_SLOW_QUEUE   256   /* jobs waiting, past which a request is
				* refused (503) rather than queued */

struct web_slow;

/* A job: RUN(ARG) on a lane thread; or, if the lane stops before it ran,
 * CANCEL(ARG) on the stopping thread. Exactly one of the two is called,
 * once. */
struct web_slow_job {
	void (*run)(void *arg);
	void (*cancel)(void *arg);
	void *arg;
	struct web_slow_job *next;   /* the lane's own */
};

/* Start a lane of WORKERS threads, or NULL with ERR filled. */
struct web_slow *web_slow_start(unsigned workers, struct mica_err *err);

/* Queue JOB (the caller's memory, untouched by the lane after run or
 * cancel begins). 0; -1 when the queue is full, -2 when the lane is
 * stopping (neither callback is then called). */
int web_slow_submit(struct web_slow *s, struct web_slow_job *job);
/* Is S stopping or stopped? */
int web_slow_stopping(struct web_slow *s);

/* Stop S: the jobs not yet begun are cancelled, those running finish, the
 * threads are joined. S stays (web_slow_submit refuses, -2) until
 * web_slow_free: the listener's threads, which may still submit, stop
 * after it. Again, or NULL: nothing. */
void web_slow_stop(struct web_slow *s);
/* Stop S if it runs, and free it. NULL is ignored. */
void web_slow_free(struct web_slow *s);

#endif

/*
 * web/conns.c - the connections of one listener and the deadlines that keep
 * slow clients from holding them (web/conns.h). A doubly linked list under
 * one mutex: at most a few hundred entries, walked four times a second.
 */
#include "web/conns.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/thread.h"

enum { PHASE_HEAD = 0, PHASE_BODY, PHASE_BUSY };

struct web_conn {
	struct web_conn *prev, *next;
	int fd;
	int phase;
	int dropped;              /* shut down; libmicrohttpd closes it soon */
	int64_t since;            /* ms: start of the phase */
	uint64_t body;            /* bytes of body in this phase */
	void *req;                /* web_conn_set_req: its worker's only */
};

struct web_conns {
	pthread_mutex_t lock;
	struct web_conn *head;
	unsigned live;            /* entries not dropped */
	unsigned soft;
	/* the reaper */
	pthread_t thread;
	pthread_cond_t wake;
	int running, stop;
	struct web_reaped pending;   /* dropped since the last log line */
	int64_t logged;
};

int64_t
web_now_ms(void)
{
	return mica_mono_ms();
}

struct web_conns *
web_conns_new(unsigned soft)
{
	struct web_conns *cs = calloc(1, sizeof(*cs));

	if (cs == NULL)
		return NULL;
	pthread_mutex_init(&cs->lock, NULL);
	pthread_cond_init(&cs->wake, NULL);
	cs->soft = soft;
	return cs;
}

void
web_conns_free(struct web_conns *cs)
{
	if (cs == NULL)
		return;
	assert(!cs->running);
	/* Entries left only if the listener never told us of their close. */
	while (cs->head != NULL) {
		struct web_conn *c = cs->head;

		cs->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&cs->wake);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

/* Caller holds the lock. */
static void
drop(struct web_conns *cs, struct web_conn *c)
{
	assert(!c->dropped);
	/* Both directions: the client sees the end, and libmicrohttpd's next
	 * read returns 0, so it closes the connection and tells us. */
	(void)shutdown(c->fd, SHUT_RDWR);
	c->dropped = 1;
	cs->live--;
}

/* Caller holds the lock. Is C past a deadline at NOW? 1 head, 2 body. */
static int
overdue(const struct web_conn *c, int64_t now)
{
	int64_t t = now - c->since;

	if (c->dropped || c->phase == PHASE_BUSY)
		return 0;
	if (c->phase == PHASE_HEAD)
		return t > (int64_t)WEB_HEAD_TIMEOUT * 1000 ? 1 : 0;
	if (t > (int64_t)WEB_BODY_GRACE * 1000 &&
	    (int64_t)c->body * 1000 < (t - (int64_t)WEB_BODY_GRACE * 1000) * WEB_BODY_MIN_RATE)
		return 2;
	return 0;
}

/* Caller holds the lock. While more than KEEP are live, drop the one that
 * has waited longest for its head or body. Returns how many it dropped. */
static unsigned
make_room(struct web_conns *cs, unsigned keep)
{
	unsigned n = 0;

	while (cs->live > keep) {
		struct web_conn *worst = NULL;

		for (struct web_conn *c = cs->head; c != NULL; c = c->next)
			if (!c->dropped && c->phase != PHASE_BUSY &&
			    (worst == NULL || c->since < worst->since))
				worst = c;
		if (worst == NULL)
			break;        /* all being answered: nothing to take */
		drop(cs, worst);
		n++;
	}
	return n;
}

void
web_conns_admit(struct web_conns *cs)
{
	unsigned n;

	pthread_mutex_lock(&cs->lock);
	n = cs->live >= cs->soft ? make_room(cs, cs->soft - 1) : 0;
	cs->pending.room += n;
	pthread_mutex_unlock(&cs->lock);
}

struct web_conn *
web_conn_open(struct web_conns *cs, int fd, int64_t now)
{
	struct web_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->phase = PHASE_HEAD;
	c->since = now;
	pthread_mutex_lock(&cs->lock);
	c->next = cs->head;
	if (cs->head != NULL)
		cs->head->prev = c;
	cs->head = c;
	cs->live++;
	pthread_mutex_unlock(&cs->lock);
	return c;
}

void
web_conn_close(struct web_conns *cs, struct web_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (!c->dropped)
		cs->live--;
	pthread_mutex_unlock(&cs->lock);
	free(c);
}

static void
phase(struct web_conns *cs, struct web_conn *c, int ph, int64_t now)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	c->phase = ph;
	c->since = now;
	c->body = 0;
	pthread_mutex_unlock(&cs->lock);
}

void
web_conn_head_done(struct web_conns *cs, struct web_conn *c, int64_t now)
{
	phase(cs, c, PHASE_BODY, now);
}

void
web_conn_body(struct web_conns *cs, struct web_conn *c, size_t n)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	c->body += n;
	pthread_mutex_unlock(&cs->lock);
}

void
web_conn_busy(struct web_conns *cs, struct web_conn *c)
{
	phase(cs, c, PHASE_BUSY, 0);
}

void
web_conn_idle(struct web_conns *cs, struct web_conn *c, int64_t now)
{
	phase(cs, c, PHASE_HEAD, now);
}

void
web_conn_set_req(struct web_conn *c, void *req)
{
	c->req = req;
}

void *
web_conn_req(const struct web_conn *c)
{
	return c->req;
}

void
web_conns_reap(struct web_conns *cs, int64_t now, struct web_reaped *out)
{
	struct web_reaped r = { 0, 0, 0 };

	pthread_mutex_lock(&cs->lock);
	for (struct web_conn *c = cs->head; c != NULL; c = c->next) {
		int why = overdue(c, now);

		if (why == 0)
			continue;
		drop(cs, c);
		if (why == 1)
			r.head++;
		else
			r.body++;
	}
	r.room = make_room(cs, cs->soft);
	if (out != NULL) {
		out->head += r.head;
		out->body += r.body;
		out->room += r.room;
	}
	pthread_mutex_unlock(&cs->lock);
}

unsigned
web_conns_live(struct web_conns *cs)
{
	unsigned n;

	pthread_mutex_lock(&cs->lock);
	n = cs->live;
	pthread_mutex_unlock(&cs->lock);
	return n;
}

static void *
reaper(void *arg)
{
	struct web_conns *cs = arg;

	mica_thread_name("mica-reaper");
	pthread_mutex_lock(&cs->lock);
	while (!cs->stop) {
		struct timespec until;
		struct web_reaped r;
		int64_t now;

		mica_mono_deadline(&until, WEB_REAP_MS);
		while (!cs->stop &&
		       mica_cond_wait_until(&cs->wake, &cs->lock, &until) != ETIMEDOUT)
			;
		if (cs->stop)
			break;
		pthread_mutex_unlock(&cs->lock);
		now = web_now_ms();
		web_conns_reap(cs, now, &cs->pending);
		pthread_mutex_lock(&cs->lock);
		/* Under attack this would be a line per connection: sum up. */
		r = cs->pending;
		if (r.head + r.body + r.room > 0 && now - cs->logged >= 10000) {
			memset(&cs->pending, 0, sizeof(cs->pending));
			cs->logged = now;
			pthread_mutex_unlock(&cs->lock);
			mica_log(MICA_LOG_WARN, "dropped slow connections: %u whose request head "
				 "took over %d s, %u whose body came slower than %d bytes/s, "
				 "%u to make room for new ones", r.head, WEB_HEAD_TIMEOUT,
				 r.body, WEB_BODY_MIN_RATE, r.room);
			pthread_mutex_lock(&cs->lock);
		}
	}
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

int
web_conns_start(struct web_conns *cs, struct mica_err *err)
{
	int rc;

	/* The reaper waits on CLOCK_MONOTONIC (a clock step must not stall
	 * it or make it run wild), named at the wait (mica_cond_wait_until),
	 * not in the condition's attributes, which libfaketime gets wrong. */
	cs->stop = 0;
	if ((rc = pthread_create(&cs->thread, NULL, reaper, cs)) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "thread",
				    "cannot start the connection reaper: %s", strerror(rc));
	cs->running = 1;
	return 0;
}

void
web_conns_stop(struct web_conns *cs)
{
	if (cs == NULL || !cs->running)
		return;
	pthread_mutex_lock(&cs->lock);
	cs->stop = 1;
	pthread_cond_signal(&cs->wake);
	pthread_mutex_unlock(&cs->lock);
	pthread_join(cs->thread, NULL);
	cs->running = 0;
}

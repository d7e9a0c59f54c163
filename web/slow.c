/*
 * web/slow.c - the slow lane (web/slow.h): a FIFO of jobs and the threads
 * that run them.
 */
#include "web/slow.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/thread.h"


struct web_slow {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct web_slow_job *head, *tail;
	unsigned queued;
	int stopping;
	unsigned nthreads;
	pthread_t *threads;
};

static void *
worker(void *arg)
{
	struct web_slow *s = arg;

	/* At the daemon's priority: its jobs commit, and may lead the group
	 * commit issuance waits for. A CRL they sign is signed on a thread
	 * of lower priority (ca_crl_background). */
	mica_thread_name("mica-slow");
	for (;;) {
		struct web_slow_job *j;

		pthread_mutex_lock(&s->lock);
		while (s->head == NULL && !s->stopping)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->head == NULL) {   /* stopping, nothing left */
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		j = s->head;
		if ((s->head = j->next) == NULL)
			s->tail = NULL;
		s->queued--;
		/* Taken while the lane runs: a stop waits for it rather than
		 * cancelling it. */
		pthread_mutex_unlock(&s->lock);
		j->run(j->arg);
	}
}

struct web_slow *
web_slow_start(unsigned workers, struct mica_err *err)
{
	struct web_slow *s;

	if (workers == 0)
		workers = 1;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->threads = calloc(workers, sizeof(*s->threads))) == NULL) {
		free(s);
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	for (; s->nthreads < workers; s->nthreads++) {
		if (pthread_create(&s->threads[s->nthreads], NULL, worker, s) != 0) {
			web_slow_free(s);
			mica_err_set(err, MICA_E_INTERNAL, "thread_failed",
				     "cannot start the threads of slow requests");
			return NULL;
		}
	}
	return s;
}

int
web_slow_submit(struct web_slow *s, struct web_slow_job *job)
{
	int rc = -1;

	pthread_mutex_lock(&s->lock);
	if (s->stopping)
		rc = -2;
	else if (s->queued < WEB_SLOW_QUEUE) {
		job->next = NULL;
		if (s->tail != NULL)
			s->tail->next = job;
		else
			s->head = job;
		s->tail = job;
		s->queued++;
		pthread_cond_signal(&s->cond);
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
web_slow_stopping(struct web_slow *s)
{
	int on;

	pthread_mutex_lock(&s->lock);
	on = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return on;
}

void
web_slow_stop(struct web_slow *s)
{
	struct web_slow_job *left;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	left = s->head;
	s->head = s->tail = NULL;
	s->queued = 0;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	while (left != NULL) {
		struct web_slow_job *next = left->next;

		left->cancel(left->arg);
		left = next;
	}
	/* Joined once; a second stop finds none left. */
	for (unsigned i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	s->nthreads = 0;
}

void
web_slow_free(struct web_slow *s)
{
	if (s == NULL)
		return;
	web_slow_stop(s);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->threads);
	free(s);
}

/*
 * util/clock.h - the monotonic clock in milliseconds, for deadlines and
 * intervals (never for what a certificate or the store records: that is
 * time(), wall-clock seconds).
 */
#ifndef MICA_UTIL_CLOCK_H
#define MICA_UTIL_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static inline int64_t
mica_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* *UNTIL: MS milliseconds from now on CLOCK_MONOTONIC, the deadline of a
 * mica_cond_wait_until. */
static inline void
mica_mono_deadline(struct timespec *until, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, until);
	until->tv_sec += (time_t)(ms / 1000);
	until->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

/* Wait on COND until the CLOCK_MONOTONIC deadline UNTIL (0, or ETIMEDOUT
 * as pthread_cond_timedwait): a deadline on the wall clock moves with it,
 * and a clock set back by an hour (NTP, a virtual machine's clock set
 * right) would make a 10 s wait last an hour and 10 s. The clock is
 * named at the wait (glibc 2.30), not in the condition's attributes,
 * which libfaketime (the tests' fake clock) gets wrong. */
static inline int
mica_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu,
		     const struct timespec *until)
{
	return pthread_cond_clockwait(cond, mu, CLOCK_MONOTONIC, until);
}

#endif

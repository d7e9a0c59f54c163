/*
 * util/clock.h - the monotonic clock in milliseconds, for deadlines and
 * intervals (never for what a certificate or the store records: that is
 * time(), wall-clock seconds).
 */
#ifndef MICA_UTIL_CLOCK_H
#define MICA_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
mica_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif

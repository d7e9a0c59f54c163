/*
 * web/ratelimit.h - the table of failed bearer authentications per client:
 * WEB_RL_FAILS failures within WEB_RL_WINDOW seconds block the client for
 * the rest of the window. A fixed-size table, so a flood of clients costs
 * no memory; thread-safe.
 */
#ifndef MICA_WEB_RATELIMIT_H
#define MICA_WEB_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

#define WEB_RL_SLOTS       1024          /* failed-authentication table */
#define WEB_RL_PROBE       8             /* slots probed per key */
#define WEB_RL_FAILS       10            /* failures allowed per window */
#define WEB_RL_WINDOW      60            /* seconds */

struct web_rl_slot {
	unsigned char key[16];
	int64_t start;     /* window start; 0 = free slot */
	int fails;
};

struct web_ratelimit {
	pthread_mutex_t lock;
	struct web_rl_slot slot[WEB_RL_SLOTS];
};

/* Set up RL (empty table, a secret hash seed); web_rl_destroy undoes it. */
void web_rl_init(struct web_ratelimit *rl);
void web_rl_destroy(struct web_ratelimit *rl);
/* 0 if KEY may try to authenticate at NOW, else the seconds to wait. */
int web_rl_check(struct web_ratelimit *rl, const unsigned char key[16],
		 int64_t now);
/* Record one failure of KEY at NOW. */
void web_rl_fail(struct web_ratelimit *rl, const unsigned char key[16],
		 int64_t now);

#endif

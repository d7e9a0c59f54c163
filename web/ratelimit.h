/*
 * web/ratelimit.h - the table of failed bearer authentications, per client
 * address and token id: WEB_RL_FAILS failures with one token id from one
 * address within WEB_RL_WINDOW seconds block that token id from that
 * address for the rest of the window. Guessing a token's secret is limited
 * per token; strangers' failures (other addresses, or other token ids from
 * the same address, as behind a proxy or a NAT) never lock out a valid
 * token. A fixed-size table, so a flood costs no memory; thread-safe.
 */
#ifndef MICA_WEB_RATELIMIT_H
#define MICA_WEB_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

#define WEB_RL_SLOTS       1024          /* failed-authentication table */
#define WEB_RL_PROBE       8             /* slots probed per key */
#define WEB_RL_FAILS       10            /* failures allowed per window */
#define WEB_RL_WINDOW      60            /* seconds */
#define WEB_RL_LABEL_MAX   33            /* a token id, with NUL */

struct web_rl_slot {
	unsigned char key[16];               /* the client (address key) */
	char label[WEB_RL_LABEL_MAX];        /* the token id tried, or "" */
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

/* The label a bearer token TOK is counted under: its id, the part between
 * "mica_" and the next '_' (at most WEB_RL_LABEL_MAX-1 bytes, not
 * checked further: a malformed id can never authenticate), or "" for
 * anything else, into OUT. */
void web_rl_label(const char *tok, char out[WEB_RL_LABEL_MAX]);

/* 0 if client KEY may try to authenticate with the token labelled LABEL
 * at NOW, else the seconds to wait. */
int web_rl_check(struct web_ratelimit *rl, const unsigned char key[16],
		 const char *label, int64_t now);
/* Record one failure of KEY with LABEL at NOW. */
void web_rl_fail(struct web_ratelimit *rl, const unsigned char key[16],
		 const char *label, int64_t now);

#endif

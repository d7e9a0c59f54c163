/*
 * web/ratelimit.c - failed bearer authentications per client
 * (web/ratelimit.h): an open-addressed table keyed by a seeded hash, so
 * nobody can pick keys that collide.
 */
#include "web/ratelimit.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint64_t rl_seed;

void
web_rl_init(struct web_ratelimit *rl)
{
	memset(rl->slot, 0, sizeof(rl->slot));
	pthread_mutex_init(&rl->lock, NULL);
	/* A secret seed, so nobody can pick addresses that collide. */
	if (getrandom(&rl_seed, sizeof(rl_seed), 0) != (ssize_t)sizeof(rl_seed))
		rl_seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
}

void
web_rl_destroy(struct web_ratelimit *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

static size_t
rl_hash(const unsigned char key[16])
{
	uint64_t h = 1469598103934665603ULL ^ rl_seed;

	for (int i = 0; i < 16; i++) {
		h ^= key[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 29;
	return (size_t)(h % WEB_RL_SLOTS);
}

/* Caller holds the lock. */
static struct web_rl_slot *
rl_find(struct web_ratelimit *rl, const unsigned char key[16])
{
	size_t h = rl_hash(key);

	for (size_t i = 0; i < WEB_RL_PROBE; i++) {
		struct web_rl_slot *s = &rl->slot[(h + i) % WEB_RL_SLOTS];

		if (s->start != 0 && memcmp(s->key, key, 16) == 0)
			return s;
	}
	return NULL;
}

int
web_rl_check(struct web_ratelimit *rl, const unsigned char key[16], int64_t now)
{
	struct web_rl_slot *s;
	int wait = 0;

	pthread_mutex_lock(&rl->lock);
	s = rl_find(rl, key);
	if (s != NULL && now - s->start < WEB_RL_WINDOW &&
	    s->fails >= WEB_RL_FAILS) {
		wait = (int)(WEB_RL_WINDOW - (now - s->start));
		if (wait < 1)
			wait = 1;
	}
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

void
web_rl_fail(struct web_ratelimit *rl, const unsigned char key[16], int64_t now)
{
	struct web_rl_slot *s;

	pthread_mutex_lock(&rl->lock);
	s = rl_find(rl, key);
	if (s == NULL) {
		/* A free or stale slot in the probe range, else the oldest. */
		size_t h = rl_hash(key);

		for (size_t i = 0; i < WEB_RL_PROBE; i++) {
			struct web_rl_slot *c = &rl->slot[(h + i) % WEB_RL_SLOTS];

			if (c->start == 0 || now - c->start >= WEB_RL_WINDOW) {
				s = c;
				break;
			}
			if (s == NULL || c->start < s->start)
				s = c;
		}
		memcpy(s->key, key, 16);
		s->start = 0;
	}
	if (s->start == 0 || now - s->start >= WEB_RL_WINDOW) {
		s->start = now > 0 ? now : 1;
		s->fails = 0;
	}
	if (s->fails < WEB_RL_FAILS * 100)
		s->fails++;
	pthread_mutex_unlock(&rl->lock);
}


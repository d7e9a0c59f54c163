/*
 * web/ratelimit.c - failed bearer authentications per client address and
 * token id (web/ratelimit.h): an open-addressed table keyed by a seeded
 * hash, so nobody can pick keys that collide.
 */
#include "web/ratelimit.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint64_t rl_seed;

void
web_rl_init(struct web_ratelimit *rl)
{
	memset(rl->slot, 0, sizeof(rl->slot));
	pthread_mutex_init(&rl->lock, NULL);
	/* A secret seed, so nobody can pick keys that collide. */
	if (getrandom(&rl_seed, sizeof(rl_seed), 0) != (ssize_t)sizeof(rl_seed))
		rl_seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
}

void
web_rl_destroy(struct web_ratelimit *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

void
web_rl_label(const char *tok, char out[WEB_RL_LABEL_MAX])
{
	size_t n;

	out[0] = '\0';
	if (tok == NULL || strncmp(tok, "mica_", 5) != 0)
		return;
	n = strcspn(tok + 5, "_");
	if (n == 0 || n >= WEB_RL_LABEL_MAX || tok[5 + n] != '_')
		return;
	memcpy(out, tok + 5, n);
	out[n] = '\0';
}

static size_t
rl_hash(const unsigned char key[16], const char *label)
{
	uint64_t h = 1469598103934665603ULL ^ rl_seed;

	for (int i = 0; i < 16; i++) {
		h ^= key[i];
		h *= 1099511628211ULL;
	}
	for (const char *p = label; *p != '\0'; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	h ^= h >> 29;
	return (size_t)(h % WEB_RL_SLOTS);
}

static int
slot_is(const struct web_rl_slot *s, const unsigned char key[16], const char *label)
{
	return s->start != 0 && memcmp(s->key, key, 16) == 0 &&
	       strcmp(s->label, label) == 0;
}

/* Caller holds the lock. */
static struct web_rl_slot *
rl_find(struct web_ratelimit *rl, const unsigned char key[16], const char *label)
{
	size_t h = rl_hash(key, label);

	for (size_t i = 0; i < WEB_RL_PROBE; i++) {
		struct web_rl_slot *s = &rl->slot[(h + i) % WEB_RL_SLOTS];

		if (slot_is(s, key, label))
			return s;
	}
	return NULL;
}

int
web_rl_check(struct web_ratelimit *rl, const unsigned char key[16],
	     const char *label, int64_t now)
{
	struct web_rl_slot *s;
	int wait = 0;

	if (label == NULL)
		label = "";
	pthread_mutex_lock(&rl->lock);
	s = rl_find(rl, key, label);
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
web_rl_fail(struct web_ratelimit *rl, const unsigned char key[16],
	    const char *label, int64_t now)
{
	struct web_rl_slot *s;

	if (label == NULL || strlen(label) >= WEB_RL_LABEL_MAX)
		label = "";
	pthread_mutex_lock(&rl->lock);
	s = rl_find(rl, key, label);
	if (s == NULL) {
		/* A free or stale slot in the probe range; else the oldest
		 * one that blocks nobody; else the oldest. */
		size_t h = rl_hash(key, label);
		struct web_rl_slot *open = NULL, *any = NULL;

		for (size_t i = 0; i < WEB_RL_PROBE; i++) {
			struct web_rl_slot *c = &rl->slot[(h + i) % WEB_RL_SLOTS];

			if (c->start == 0 || now - c->start >= WEB_RL_WINDOW) {
				s = c;
				break;
			}
			if (c->fails < WEB_RL_FAILS && (open == NULL || c->start < open->start))
				open = c;
			if (any == NULL || c->start < any->start)
				any = c;
		}
		if (s == NULL)
			s = open != NULL ? open : any;
		memcpy(s->key, key, 16);
		snprintf(s->label, sizeof(s->label), "%s", label);
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

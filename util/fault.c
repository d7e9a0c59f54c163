#include "util/fault.h"

#ifdef MICA_FAULT_INJECTION
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FAULT_MAX 8

static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static int fault_loaded;
static struct {
	char point[32];
	unsigned long target;
	unsigned long count;
} faults[FAULT_MAX];
static int nfaults;
static _Thread_local int fault_exempt;

static void
load(void)
{
	const char *env = getenv("MICA_FAULT");
	char buf[256], *save = NULL, *tok;

	nfaults = 0;
	fault_loaded = 1;
	if (env == NULL || strlen(env) >= sizeof(buf))
		return;
	strcpy(buf, env);
	for (tok = strtok_r(buf, ",", &save); tok != NULL && nfaults < FAULT_MAX;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		if (colon == NULL || (size_t)(colon - tok) >= sizeof(faults[0].point))
			continue;
		*colon = '\0';
		strcpy(faults[nfaults].point, tok);
		faults[nfaults].target = strtoul(colon + 1, NULL, 10);
		faults[nfaults].count = 0;
		nfaults++;
	}
}

void
mica_fault_reset(void)
{
	pthread_mutex_lock(&fault_lock);
	load();
	pthread_mutex_unlock(&fault_lock);
}

void
mica_fault_disable(void)
{
	pthread_mutex_lock(&fault_lock);
	nfaults = 0;
	fault_loaded = 1;
	pthread_mutex_unlock(&fault_lock);
}

int
mica_fault_exempt(int on)
{
	int was = fault_exempt;

	fault_exempt = on;
	return was;
}

int
mica_fault_hit(const char *point)
{
	int hit = 0;

	if (fault_exempt)
		return 0;
	pthread_mutex_lock(&fault_lock);
	if (!fault_loaded)
		load();
	for (int i = 0; i < nfaults; i++) {
		if (strcmp(faults[i].point, point) != 0)
			continue;
		faults[i].count++;
		if (faults[i].target == 0 || faults[i].count == faults[i].target)
			hit = 1;
	}
	pthread_mutex_unlock(&fault_lock);
	return hit;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int mica_fault_unused;
#endif

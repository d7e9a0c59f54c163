#include "util/fault.h"

#ifdef MICA_FAULT_INJECTION
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

void
mica_test_note(const char *var, const char *what)
{
	const char *g = getenv(var);
	char path[512];
	int fd;

	if (g == NULL || *g == '\0' ||
	    snprintf(path, sizeof(path), "%s.%s", g, what) >= (int)sizeof(path))
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) >= 0) {
		/* A test counts the lines; a short write only miscounts. */
		ssize_t n = write(fd, "x\n", 2);

		(void)n;
		close(fd);
	}
}

void
mica_test_gate(const char *var)
{
	const char *g = getenv(var);
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	if (g == NULL || *g == '\0')
		return;
	mica_test_note(var, "reached");
	for (int i = 0; i < 6000 && access(g, F_OK) != 0; i++)
		nanosleep(&ts, NULL);
}
#else
/* ISO C forbids an empty translation unit. */
typedef int mica_fault_unused;

#endif

#include "util/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

void
mica_mem_big(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t a, b;

	if (p == NULL || n < MICA_MEM_BIG_MIN)
		return;
	a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	b = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
	/* Advice only: where the kernel refuses it, pages stay small. */
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

void *
mica_mem_big_realloc(void *p, size_t used, size_t n)
{
	void *q;

	if (n < MICA_MEM_BIG_MIN || used > n)
		return realloc(p, n);
	if ((q = malloc(n)) == NULL)
		return NULL;
	mica_mem_big(q, n);
	if (used > 0)
		memcpy(q, p, used);
	free(p);
	return q;
}

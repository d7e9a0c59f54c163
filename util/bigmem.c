#include "util/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void
mica_mem_big(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t a, b, page;
	long ps;

	if (p == NULL || n < MICA_MEM_BIG_MIN)
		return;
	ps = sysconf(_SC_PAGESIZE);
	page = ps > 0 ? (uintptr_t)ps : 4096;
	a = ((uintptr_t)p + page - 1) & ~(page - 1);
	b = ((uintptr_t)p + n) & ~(page - 1);
	/* Advice only: a kernel before 5.14 refuses it (EINVAL), and the
	 * pages are then faulted in one by one as before. */
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)n;
#endif
}

void *
mica_mem_big_realloc(void *p, size_t used, size_t n)
{
	unsigned char *q;

	/* realloc itself, not malloc + copy + free: glibc moves a large
	 * block with mremap, without touching its pages, and a new block
	 * freed back into a thread's arena would stay resident there
	 * (measured: the daemon kept 48 MiB more after publishing). */
	if ((q = realloc(p, n)) == NULL)
		return NULL;
	if (used < n)
		mica_mem_big(q + used, n - used);
	return q;
}

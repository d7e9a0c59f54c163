/*
 * util/bigmem.h - a hint for the few buffers that grow to tens of
 * megabytes (a CRL of a million entries is some 45 MiB in each of its
 * forms: the entries, the TBS, the signed DER, the signer's copy, PEM).
 */
#ifndef MICA_UTIL_BIGMEM_H
#define MICA_UTIL_BIGMEM_H

#include <stddef.h>

/* Below this size mica_mem_big does nothing. */
#define MICA_MEM_BIG_MIN ((size_t)8 << 20)

/*
 * Have the kernel map every page of the N octets at P, just allocated and
 * about to be filled, in one call (madvise MADV_POPULATE_WRITE, Linux
 * 5.14) instead of one page fault per 4 KiB as they are first written.
 * Filling a fresh 45 MiB buffer takes some 11,000 faults, each a trip
 * into the kernel that costs more than the encoding on a virtual machine
 * whose page tables the hypervisor shadows: measured there, a 1M-entry
 * CRL published in 1.2 s rather than 1.6 s by the daemon, 1.5 s rather
 * than 2.0 s by 'mica crl'. The pages are the buffer's own, which the
 * caller writes anyway. (Transparent huge pages did as well, but a
 * fault may then wait for the kernel to compact memory, stalling every
 * thread of the daemon, and they round memory up to 2 MiB.) Below
 * MICA_MEM_BIG_MIN, or where the kernel refuses it, nothing changes.
 */
void mica_mem_big(void *p, size_t n);

/*
 * realloc(P, N) for a buffer of which the first USED octets are filled:
 * the N - USED octets after them, about to be written, are populated as
 * above when they are MICA_MEM_BIG_MIN or more (so a buffer grown by
 * doubling is populated up to twice what it ends up holding). NULL on
 * failure, P then intact.
 */
void *mica_mem_big_realloc(void *p, size_t used, size_t n);

#endif

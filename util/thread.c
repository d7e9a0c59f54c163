/*
 * util/thread.c - thread names and background priority (util/thread.h).
 */
#include "util/thread.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

/* Set by mica_thread_background for the thread's whole life. */
static _Thread_local int background;

void
mica_thread_name(const char *name)
{
#ifdef __linux__
	char n[16];   /* the kernel's TASK_COMM_LEN, NUL included */
	size_t len = strlen(name);

	if (len > sizeof(n) - 1)
		len = sizeof(n) - 1;
	memcpy(n, name, len);
	n[len] = '\0';
	(void)pthread_setname_np(pthread_self(), n);
#else
	(void)name;
#endif
}

int
mica_thread_background(const char *name)
{
	int rc = -1;

	background = 1;
#ifdef __linux__
	/* The thread's own id: with PRIO_PROCESS, Linux takes it for that
	 * thread alone. The priority first, then the name: whoever sees
	 * the name sees the priority. */
	id_t tid = (id_t)syscall(SYS_gettid);
	int cur, want, e;

	errno = 0;
	cur = getpriority(PRIO_PROCESS, tid);
	if (cur != -1 || errno == 0) {
		want = cur + MICA_THREAD_BACKGROUND_NICE;
		if (want > 19)
			want = 19;
		rc = want == cur ? 0 : setpriority(PRIO_PROCESS, tid, want);
	}
	e = errno;
	mica_thread_name(name);
	errno = e;
#else
	mica_thread_name(name);
	errno = ENOSYS;
#endif
	return rc;
}

int
mica_thread_is_background(void)
{
	return background;
}

/*
 * util/thread.h - the calling thread's name and CPU priority, for the
 * daemon's long-lived threads.
 */
#ifndef MICA_UTIL_THREAD_H
#define MICA_UTIL_THREAD_H

/* How much lower (in nice steps, see nice(1)) background threads run
 * than the daemon: at 10 the kernel's scheduler weighs them about a
 * tenth of a request's thread when both want a core (sched(7)). */
#define MICA_THREAD_BACKGROUND_NICE 10

/* Name the calling thread NAME, cut to 15 bytes (what top -H, ps -L and
 * /proc/PID/task/TID/comm show). Failures are ignored. */
void mica_thread_name(const char *name);

/*
 * Name the calling thread NAME and lower its CPU priority by
 * MICA_THREAD_BACKGROUND_NICE steps below the one it has (never past
 * 19): for work of seconds of CPU that requests must not wait behind,
 * such as signing a CRL of a million entries while certificates are
 * issued and /crl is served on the same cores. Linux keeps a nice value
 * per thread (setpriority(2), "Bugs"), so the rest of the daemon keeps
 * its own, and the threads this one starts inherit the lower one. A
 * thread can lower its priority but never raise it again without
 * CAP_SYS_NICE: call this only from threads that do background work for
 * their whole life. 0, or -1 (errno set) when the priority stays as it
 * was (elsewhere than on Linux, or refused); the thread works either way.
 */
int mica_thread_background(const char *name);

/* Whether the calling thread has called mica_thread_background (whatever
 * it returned): the signing service gives such a thread's large CRLs to
 * a signer process of the same lower priority (ca/signer.h). */
int mica_thread_is_background(void);

#endif

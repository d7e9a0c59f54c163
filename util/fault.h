/*
 * util/fault.h - fault injection for tests (SQLite's sqlite3FaultSim model).
 *
 * Built only with ./configure --enable-fault-injection (the test binaries
 * are); otherwise MICA_FAULT() is the constant 0 and costs nothing.
 *
 * The environment variable MICA_FAULT="point:n[,point:n...]" makes the n-th
 * call (counting from 1, per process) of MICA_FAULT("point") return 1, so
 * the caller fails as if that step had failed. n = 0 means every call.
 * Points used by mica: "db_write" (any store write), "db_commit", "sign",
 * "lint" (make the linter see a broken TBS), "db_sync" (the group-commit
 * WAL sync, db/writer.c), "ocsp_ration_refill" (the ration of "unknown"
 * OCSP signatures is not refilled: its clock stands still, ca/ocsp.c),
 * "flock" (util/leftover.c: a file system without locks), "publish_exdev"
 * (ca/publish.c: a folder of the publication mounted from another file
 * system, which a file cannot be renamed into), "clone" (ca_clone: a
 * thread's store connection cannot be opened).
 */
#ifndef MICA_UTIL_FAULT_H
#define MICA_UTIL_FAULT_H

#ifdef MICA_FAULT_INJECTION
int mica_fault_hit(const char *point);
/* Re-read MICA_FAULT and reset the counters (for unit tests). */
void mica_fault_reset(void);
/* No point fires in this process any more (a signer process: the front end
 * that forked it counts "sign" itself). */
void mica_fault_disable(void);
/* ON: no point fires in, or is counted by, the calling thread until it is
 * called with 0 (background work such as the daemon's OCSP pre-signing,
 * whose writes would otherwise shift the counts a test aims at). */
int mica_fault_exempt(int on);   /* returns the previous setting */
/* Test gates: if the environment variable VAR names a path P,
 * mica_test_note appends a line to P.WHAT, and mica_test_gate appends one
 * to P.reached, then waits (at most a minute) until P exists: a test holds
 * the work there, sees what else goes on meanwhile, then lets it go. */
void mica_test_note(const char *var, const char *what);
void mica_test_gate(const char *var);
#define MICA_TEST_NOTE(var, what) mica_test_note(var, what)
#define MICA_TEST_GATE(var) mica_test_gate(var)
#define MICA_FAULT(p) mica_fault_hit(p)
#define MICA_FAULT_EXEMPT(on) ((void)mica_fault_exempt(on))
/* Set ON, return what it was: for code that runs other threads' work
 * (db/writer.c's batch leader) and restores its own setting after. */
#define MICA_FAULT_EXEMPT_SWAP(on) mica_fault_exempt(on)
#else
#define MICA_FAULT(p) 0
#define MICA_TEST_NOTE(var, what) ((void)0)
#define MICA_TEST_GATE(var) ((void)0)
#define MICA_FAULT_EXEMPT(on) ((void)0)
#define MICA_FAULT_EXEMPT_SWAP(on) ((void)(on), 0)
#endif

#endif

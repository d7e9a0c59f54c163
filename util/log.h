/*
 * util/log.h - logging to stderr or a file, one line per event.
 *
 * Never pass a secret (token, key, passphrase, CSR body) to these
 * functions. Thread-safe: each line is written with a single write(2).
 * A line the file had no room for is counted, not retried: the next line
 * written says how many were lost (util/log.c, log_write).
 */
#ifndef MICA_UTIL_LOG_H
#define MICA_UTIL_LOG_H

enum { MICA_LOG_ERR = 0, MICA_LOG_WARN, MICA_LOG_INFO, MICA_LOG_DEBUG };

/* Send log lines to PATH (appending, created 0600), or to stderr if PATH is
 * NULL. Returns 0 or -1 (errno set). */
int mica_log_open(const char *path);

/* Reopen the file given to mica_log_open (for SIGHUP and logrotate). Safe to
 * call from the main loop, not from a signal handler. */
int mica_log_reopen(void);

/* The descriptor lines go to now (2 for stderr), so a child process that
 * closes everything else can keep it. */
int mica_log_fd(void);

/* Lines above LEVEL are dropped. Default MICA_LOG_INFO. */
void mica_log_set_level(int level);

/* ON: lines are written as a command line tool's are, for a person at a
 * terminal: "message" (info, debug), "warning: message", "error:
 * message", without the time. The daemon keeps the default (off), its
 * lines go to a log. */
void mica_log_set_plain(int on);

/* Write "2026-11-24T17:30:00Z level: message\n" (plain: see above), the
 * message shown as util/shown.h shows text: controls (CR and LF too),
 * C1 controls, bidirectional and invisible characters and bytes of no
 * UTF-8 character as \xNN, so that text from outside never forges a
 * line, acts on a terminal, reads as another name or breaks a log
 * shipper's UTF-8. One line is at most 4096 bytes. */
void mica_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsname.h"
#include "util/shown.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = 2;
static char *log_path;
static int log_level = MICA_LOG_INFO;
static int log_plain;
/* What a full disk (or a file size limit) did to the log: a line cut
 * short, whose end the next line must not continue, and how many lines
 * were lost and why, said once the log takes lines again. Under
 * log_lock. */
static int log_torn;
static unsigned long log_lost;
static int log_lost_errno;

/* A link or FIFO another user planted in a shared folder (/tmp) is not
 * written through (mica_planted). Nor one made there between that look
 * and the open, where the name was free: then it is made new, never
 * followed; a name that was ours when looked at, no other user can
 * replace in a sticky folder. */
static int
open_path(const char *path)
{
	struct stat st;
	int fl = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;

	if (mica_planted(path)) {
		errno = EPERM;
		return -1;
	}
	if (mica_shared_dir(path) && lstat(path, &st) != 0)
		fl |= O_EXCL | O_NOFOLLOW;
	return open(path, fl, 0600);
}

int
mica_log_open(const char *path)
{
	int fd = 2;
	char *copy = NULL;

	if (path != NULL) {
		if ((copy = strdup(path)) == NULL)
			return -1;
		if ((fd = open_path(path)) < 0) {
			free(copy);
			return -1;
		}
	}
	pthread_mutex_lock(&log_lock);
	if (log_fd != 2)
		close(log_fd);
	log_fd = fd;
	free(log_path);
	log_path = copy;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

int
mica_log_reopen(void)
{
	int fd, rc = 0, e = 0;

	pthread_mutex_lock(&log_lock);
	if (log_path != NULL) {
		if ((fd = open_path(log_path)) < 0) {
			rc = -1;
			e = errno;
		} else {
			if (log_fd != 2)
				close(log_fd);
			log_fd = fd;
			/* A rotated log starts afresh: nothing of the torn
			 * line is in it. The lines lost are still said. */
			if (lseek(fd, 0, SEEK_END) == 0)
				log_torn = 0;
		}
	}
	pthread_mutex_unlock(&log_lock);
	if (rc != 0)
		errno = e;   /* for the caller's message */
	return rc;
}

int
mica_log_fd(void)
{
	int fd;

	pthread_mutex_lock(&log_lock);
	fd = log_fd;
	pthread_mutex_unlock(&log_lock);
	return fd;
}

void
mica_log_set_level(int level)
{
	log_level = level;
}

void
mica_log_set_plain(int on)
{
	log_plain = on;
}

/* write(2) all of BUF[0..N) to the log; returns how much was written. */
static size_t
write_all(const char *buf, size_t n)
{
	size_t done = 0;
	ssize_t w;

	while (done < n) {
		w = write(log_fd, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	return done;
}

/* Write LINE (N bytes, ending in LF) under log_lock. A write cut short
 * (ENOSPC, EFBIG past RLIMIT_FSIZE) leaves part of a line: the next one
 * that gets through starts with LF, so that it never continues that
 * part (API.md: a log line stays one line). Lines that could not be
 * written are counted, and the first line written again is preceded by
 * a warning that says how many were lost and why, rather than a log
 * with a silent gap. NOW dates that warning (0: plain, no time). */
static void
log_write(const char *line, size_t n, time_t now)
{
	char pre[256];
	struct tm tm;
	size_t p = 0, w;
	int k;

	if (log_torn)
		pre[p++] = '\n';
	if (log_lost > 0) {
		if (!log_plain) {
			gmtime_r(&now, &tm);
			p += strftime(pre + p, sizeof(pre) - p,
				      "%Y-%m-%dT%H:%M:%SZ ", &tm);
		}
		k = snprintf(pre + p, sizeof(pre) - p,
			     "warning: %lu log line(s) lost: %s\n", log_lost,
			     strerror(log_lost_errno));
		if (k > 0)
			p += (size_t)k < sizeof(pre) - p ? (size_t)k :
			     sizeof(pre) - p - 1;
	}
	if (p > 0) {
		w = write_all(pre, p);
		if (w < p) {
			/* Neither the notice nor LINE is in: say both next
			 * time. */
			if (w > 0)
				log_torn = 1;
			log_lost++;
			log_lost_errno = errno;
			return;
		}
		log_torn = 0;
		log_lost = 0;
	}
	w = write_all(line, n);
	if (w < n) {
		if (w > 0)
			log_torn = 1;
		log_lost++;
		log_lost_errno = errno;
	}
}

void
mica_log(int level, const char *fmt, ...)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	/* The message as formatted, then the line: the message shown
	 * (util/shown.h) after the time and level. An escape takes four
	 * bytes for one; a message of them is cut at LINE's end. */
	char msg[2048], line[4096];
	struct tm tm;
	time_t now = 0;
	va_list ap;
	size_t n, mlen;
	int k, saved = errno;

	if (level > log_level)
		return;
	if (log_plain) {
		/* A command's own lines say "warning: " and "error: " the
		 * same way; what only informs is said plainly. */
		k = snprintf(line, sizeof(line), "%s",
			     level <= MICA_LOG_ERR ? "error: " :
			     level == MICA_LOG_WARN ? "warning: " : "");
		n = k > 0 ? (size_t)k : 0;
	} else {
		now = time(NULL);
		gmtime_r(&now, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
		k = snprintf(line + n, sizeof(line) - n, "%s: ",
			     names[level < 0 ? 0 : level > 3 ? 3 : level]);
		if (k > 0)
			n += (size_t)k;
	}
	va_start(ap, fmt);
	k = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mlen = k < 0 ? 0 : (size_t)k < sizeof(msg) ? (size_t)k : sizeof(msg) - 1;
	/* What clients send (a Host, a file name, a message quoting them)
	 * must not forge a line (CR, LF), reach a terminal that shows the
	 * log as an escape (ESC, C1 CSI 0x9b), turn a name around (U+202E)
	 * or make the line invalid UTF-8 that a JSON or line-based shipper
	 * refuses: every byte of no printable well-formed character is
	 * written \xNN. A message
	 * cut by MSG's size ends in an escape, never half a character. */
	n += mica_shown(msg, mlen, line + n, sizeof(line) - n - 1);
	line[n++] = '\n';
	pthread_mutex_lock(&log_lock);
	log_write(line, n, now);
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}

/*
 * tests/test_util.c - util/: what a log line and a terminal may show of
 * text from outside (util/shown.h, util/log.h), the one spelling of a
 * number that options and query parameters take (util/decimal.h), and a
 * background thread's name and CPU priority (util/thread.h).
 */
#include <CUnit/Basic.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/decimal.h"
#include "util/log.h"
#include "util/shown.h"
#include "util/thread.h"

/* ------------------------------------------------------------------ */
/* mica_shown                                                          */
/* ------------------------------------------------------------------ */

struct shown_case {
	const char *what;
	const char *in;
	const char *out;
};

static const struct shown_case shown_cases[] = {
	{ "printable ASCII as it is", "GET /crl 200", "GET /crl 200" },
	{ "Greek as it is", "\xce\x95\xce\xbb\xce\xbb\xce\xac\xce\xb4\xce\xb1",
	  "\xce\x95\xce\xbb\xce\xbb\xce\xac\xce\xb4\xce\xb1" },
	{ "U+00A0, the first character after the C1 controls", "\xc2\xa0",
	  "\xc2\xa0" },
	{ "a character of four bytes (U+1F512)", "\xf0\x9f\x94\x92",
	  "\xf0\x9f\x94\x92" },
	{ "CR and LF, which would forge a line", "a\r\nb", "a\\x0d\\x0ab" },
	{ "ESC and DEL", "\x1b[31m\x7f", "\\x1b[31m\\x7f" },
	{ "C1 CSI (U+009B) byte by byte", "a\xc2\x9b" "2J", "a\\xc2\\x9b2J" },
	{ "the first and last C1 controls", "\xc2\x80\xc2\x9f",
	  "\\xc2\\x80\\xc2\\x9f" },
	{ "a byte of no character", "x\xffy", "x\\xffy" },
	{ "a lone continuation byte", "\x80", "\\x80" },
	{ "a lead byte without its continuation", "\xce" "A", "\\xceA" },
	{ "a character cut at the end", "\xe2\x82", "\\xe2\\x82" },
	{ "an overlong '/' (C0 AF)", "\xc0\xaf", "\\xc0\\xaf" },
	{ "an overlong three-byte form", "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },
	{ "a surrogate (U+D800)", "\xed\xa0\x80", "\\xed\\xa0\\x80" },
	{ "beyond U+10FFFF", "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },
	{ "a lead byte F5", "\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80" },
	/* "Contoso \u202etoor lanretxe\u202c Root" would read "Contoso
	 * external root Root": bidirectional controls byte by byte. */
	{ "U+202E RLO and U+202C PDF, which turn a name around",
	  "Contoso \xe2\x80\xaetoor lanretxe\xe2\x80\xac Root",
	  "Contoso \\xe2\\x80\\xaetoor lanretxe\\xe2\\x80\\xac Root" },
	{ "the other bidirectional controls (LRE, LRM, RLM, ALM, LRI, PDI)",
	  "\xe2\x80\xaa\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c\xe2\x81\xa6\xe2\x81\xa9",
	  "\\xe2\\x80\\xaa\\xe2\\x80\\x8e\\xe2\\x80\\x8f\\xd8\\x9c"
	  "\\xe2\\x81\\xa6\\xe2\\x81\\xa9" },
	{ "invisible characters (ZWSP, ZWJ, WJ, BOM, soft hyphen)",
	  "a\xe2\x80\x8b" "b\xe2\x80\x8d" "c\xe2\x81\xa0" "d\xef\xbb\xbf" "e\xc2\xad",
	  "a\\xe2\\x80\\x8b" "b\\xe2\\x80\\x8d" "c\\xe2\\x81\\xa0" "d\\xef\\xbb\\xbf"
	  "e\\xc2\\xad" },
	{ "the other format characters (Cf: U+0600, U+13430)",
	  "\xd8\x80" "1\xf0\x93\x90\xb0", "\\xd8\\x80" "1\\xf0\\x93\\x90\\xb0" },
	{ "the line separator U+2028 and a noncharacter U+FFFE",
	  "a\xe2\x80\xa8" "b\xef\xbf\xbe", "a\\xe2\\x80\\xa8" "b\\xef\\xbf\\xbe" },
	{ "a variation selector (U+FE0F, of emoji) as it is",
	  "\xe2\x9c\x94\xef\xb8\x8f", "\xe2\x9c\x94\xef\xb8\x8f" },
	{ "a backslash doubled, so that a literal \\x07 is not BEL's escape",
	  "C:\\ca \\x07", "C:\\\\ca \\\\x07" },
};

static void
test_shown_table(void)
{
	char out[128];

	for (size_t i = 0; i < sizeof(shown_cases) / sizeof(shown_cases[0]); i++) {
		const struct shown_case *c = &shown_cases[i];
		size_t n = mica_shown(c->in, strlen(c->in), out, sizeof(out));

		if (strcmp(out, c->out) != 0 || n != strlen(c->out))
			fprintf(stderr, "\n  %s: got \"%s\"\n", c->what, out);
		CU_ASSERT_STRING_EQUAL(out, c->out);
		CU_ASSERT_EQUAL(n, strlen(c->out));
	}
}

static void
test_shown_cuts_whole(void)
{
	char out[8];

	/* Seven bytes of room: "ab" and one escape, not half the next. */
	CU_ASSERT_EQUAL(mica_shown("ab\x1b\x1b", 4, out, sizeof(out)), 6);
	CU_ASSERT_STRING_EQUAL(out, "ab\\x1b");
	/* Nor half a character: six bytes and a second "ε" would cut it. */
	CU_ASSERT_EQUAL(mica_shown("abcde\xce\xb5", 7, out, 7), 5);
	CU_ASSERT_STRING_EQUAL(out, "abcde");
	CU_ASSERT_EQUAL(mica_shown("x", 1, out, 1), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	/* Nor half a doubled backslash: room for one byte after "ab". */
	CU_ASSERT_EQUAL(mica_shown("ab\\", 3, out, 4), 2);
	CU_ASSERT_STRING_EQUAL(out, "ab");
	CU_ASSERT_EQUAL(mica_shown("ab\\", 3, out, 5), 4);
	CU_ASSERT_STRING_EQUAL(out, "ab\\\\");
	/* LEN bounds the input: a NUL inside is a byte like another. */
	CU_ASSERT_EQUAL(mica_shown("a\0b", 3, out, sizeof(out)), 6);
	CU_ASSERT_EQUAL(memcmp(out, "a\\x00b", 7), 0);
}

/* ------------------------------------------------------------------ */
/* mica_log                                                            */
/* ------------------------------------------------------------------ */

/* The last line mica_log wrote, as the daemon writes them, into OUT. */
static int
logged(char *out, size_t size, const char *text)
{
	char path[] = "/tmp/mica-test-util-XXXXXX";
	int fd = mkstemp(path), rc = -1;
	ssize_t n;

	if (fd < 0)
		return -1;
	close(fd);
	mica_log_set_plain(0);
	if (mica_log_open(path) != 0)
		goto out;
	mica_log(MICA_LOG_WARN, "Host %s", text);
	mica_log_open(NULL);
	if ((fd = open(path, O_RDONLY)) < 0)
		goto out;
	n = read(fd, out, size - 1);
	close(fd);
	if (n <= 0)
		goto out;
	out[n] = '\0';
	rc = 0;
out:
	unlink(path);
	return rc;
}

static void
test_log_escapes_outside_text(void)
{
	char line[8192], *m;

	CU_ASSERT_FATAL(logged(line, sizeof(line),
			       "\xce\xb1\x1b]0;x\x07\xc2\x9b" "31m\xff\r\nforged") == 0);
	/* "2026-11-24T17:30:00Z warning: " and the message, on one line. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(m = strstr(line, " warning: "));
	CU_ASSERT_STRING_EQUAL(m, " warning: Host \xce\xb1\\x1b]0;x\\x07"
			       "\\xc2\\x9b31m\\xff\\x0d\\x0aforged\n");
	CU_ASSERT_EQUAL(strchr(line, '\n'), line + strlen(line) - 1);
}

static void
test_log_cuts_a_long_line_whole(void)
{
	char *text = malloc(3000), line[8192];
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* Every byte an escape: the line is cut, at an escape's end. */
	memset(text, 0x9b, 2999);
	text[2999] = '\0';
	CU_ASSERT_FATAL(logged(line, sizeof(line), text) == 0);
	n = strlen(line);
	CU_ASSERT(n <= 4096);
	CU_ASSERT(n > 4000);
	CU_ASSERT_EQUAL(line[n - 1], '\n');
	CU_ASSERT_EQUAL(memcmp(line + n - 5, "\\x9b", 4), 0);
	free(text);
}

static int
count_of(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s++;
	}
	return n;
}

/* The log's file fills up (RLIMIT_FSIZE stands in for a full disk: a
 * write cut short, then refused, as ENOSPC does): the line cut short is
 * ended before the next one, and the lines lost are said once there is
 * room again. In a child: the limit would cut this suite's own output. */
static void
test_log_says_lines_lost_on_a_full_disk(void)
{
	char path[] = "/tmp/mica-test-util-XXXXXX", buf[4096], *l, *next;
	char *last = NULL;
	struct rlimit lim;
	int fd = mkstemp(path), status = -1, n_lines = 0, notice = 0;
	ssize_t n;
	pid_t pid;

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	if ((pid = fork()) == 0) {
		signal(SIGXFSZ, SIG_IGN);
		mica_log_set_plain(0);
		if (mica_log_open(path) != 0)
			_exit(2);
		mica_log(MICA_LOG_INFO, "first line, whole");
		getrlimit(RLIMIT_FSIZE, &lim);
		lim.rlim_cur = 80;
		if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(3);
		mica_log(MICA_LOG_INFO, "second line, cut short");
		mica_log(MICA_LOG_INFO, "third line, lost");
		lim.rlim_cur = lim.rlim_max;
		if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(3);
		mica_log(MICA_LOG_INFO, "fourth line, whole");
		_exit(0);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_FATAL((fd = open(path, O_RDONLY)) >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(path);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	/* The file ends a line; each line starts with its own time. */
	CU_ASSERT_EQUAL(buf[n - 1], '\n');
	for (l = buf; *l != '\0'; l = next + 1) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(next = strchr(l, '\n'));
		*next = '\0';
		CU_ASSERT_EQUAL(strncmp(l, "20", 2), 0);
		/* never two lines' times on one line */
		CU_ASSERT_EQUAL(count_of(l, "Z "), 1);
		CU_ASSERT_PTR_NULL(strstr(l, "third"));
		if (strstr(l, "Z warning: 2 log line(s) lost: ") != NULL)
			notice++;
		last = l;
		n_lines++;
	}
	/* first, second's part, the notice, fourth */
	CU_ASSERT_EQUAL(n_lines, 4);
	CU_ASSERT_EQUAL(notice, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(last);
	CU_ASSERT_PTR_NOT_NULL(strstr(last, " info: fourth line, whole"));
}

/* ------------------------------------------------------------------ */
/* mica_decimal                                                        */
/* ------------------------------------------------------------------ */

struct decimal_case {
	const char *what;
	const char *in;
	int64_t min, max;
	int rc;
	int64_t value;
};

static const struct decimal_case decimal_cases[] = {
	{ "a plain number", "30", 1, 3650, 0, 30 },
	{ "zero, when in range", "0", 0, 10, 0, 0 },
	{ "a negative number, when in range", "-1", -1, 10, 0, -1 },
	{ "the largest int64", "9223372036854775807", 0, INT64_MAX, 0, INT64_MAX },
	{ "a leading zero", "030", 1, 3650, -1, 0 },
	{ "zeros", "00", 0, 10, -1, 0 },
	{ "minus zero", "-0", -1, 10, -1, 0 },
	{ "a negative number with a leading zero", "-01", -1, 10, -1, 0 },
	{ "a plus sign", "+30", 1, 3650, -1, 0 },
	{ "a blank before", " 30", 1, 3650, -1, 0 },
	{ "a blank after", "30 ", 1, 3650, -1, 0 },
	{ "a tab before", "\t30", 1, 3650, -1, 0 },
	{ "hex", "0x1e", 1, 3650, -1, 0 },
	{ "an exponent", "3e1", 1, 3650, -1, 0 },
	{ "a fraction", "30.0", 1, 3650, -1, 0 },
	{ "empty", "", 0, 10, -1, 0 },
	{ "a lone minus", "-", -1, 10, -1, 0 },
	{ "below the range", "0", 1, 3650, -1, 0 },
	{ "above the range", "3651", 1, 3650, -1, 0 },
	{ "negative below the range", "-2", -1, 10, -1, 0 },
	{ "beyond int64", "9223372036854775808", 0, INT64_MAX, -1, 0 },
	{ "twenty digits", "10000000000000000000", 0, INT64_MAX, -1, 0 },
};

static void
test_decimal_table(void)
{
	for (size_t i = 0; i < sizeof(decimal_cases) / sizeof(decimal_cases[0]); i++) {
		const struct decimal_case *c = &decimal_cases[i];
		int64_t v = 12345;
		int rc = mica_decimal(c->in, c->min, c->max, &v);

		if (rc != c->rc || (rc == 0 && v != c->value))
			fprintf(stderr, "\n  %s: rc %d value %lld\n", c->what, rc,
				(long long)v);
		CU_ASSERT_EQUAL(rc, c->rc);
		/* Refused: *OUT untouched. */
		CU_ASSERT_EQUAL(v, rc == 0 ? c->value : 12345);
	}
	CU_ASSERT_EQUAL(mica_decimal(NULL, 0, 10, NULL), -1);
}

/* ------------------------------------------------------------------ */
/* mica_thread_background                                              */

static int
own_nice(void)
{
	return getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}

struct bg_seen {
	int before, after, again, rc, rc2;
	char name[16];
};

static void *
bg_thread(void *arg)
{
	struct bg_seen *b = arg;

	b->before = own_nice();
	b->rc = mica_thread_background("mica-test-background");
	b->after = own_nice();
	(void)pthread_getname_np(pthread_self(), b->name, sizeof(b->name));
	b->rc2 = mica_thread_background("mica-test-bg");
	b->again = own_nice();
	return NULL;
}

static void
test_thread_background(void)
{
	struct bg_seen b;
	pthread_t t;
	int mine = own_nice();
	int want = mine + MICA_THREAD_BACKGROUND_NICE > 19 ? 19 :
		   mine + MICA_THREAD_BACKGROUND_NICE;

	memset(&b, 0, sizeof(b));
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, bg_thread, &b), 0);
	pthread_join(t, NULL);
	/* The thread starts at its creator's priority, drops by ten... */
	CU_ASSERT_EQUAL(b.before, mine);
	CU_ASSERT_EQUAL(b.rc, 0);
	CU_ASSERT_EQUAL(b.after, want);
	/* ...and again, never past 19... */
	CU_ASSERT_EQUAL(b.rc2, 0);
	CU_ASSERT_EQUAL(b.again, want + MICA_THREAD_BACKGROUND_NICE > 19 ? 19 :
			want + MICA_THREAD_BACKGROUND_NICE);
	/* ...and is named, cut to what the kernel keeps (15 bytes). */
	CU_ASSERT_STRING_EQUAL(b.name, "mica-test-backg");
	/* The calling thread keeps its own. */
	CU_ASSERT_EQUAL(own_nice(), mine);
}

int
main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("util", NULL, NULL);
	if (s == NULL ||
	    !CU_add_test(s, "shows controls, C1, bidirectional and invisible "
			 "characters and bytes of no character as \\xNN, keeps "
			 "printable UTF-8 (table)", test_shown_table) ||
	    !CU_add_test(s, "cuts shown text between characters and escapes, "
			 "never inside one", test_shown_cuts_whole) ||
	    !CU_add_test(s, "a log line shows outside text escaped, on one line",
			 test_log_escapes_outside_text) ||
	    !CU_add_test(s, "a long log line is cut at a whole escape",
			 test_log_cuts_a_long_line_whole) ||
	    !CU_add_test(s, "a log on a full disk ends a line cut short and "
			 "says how many lines were lost",
			 test_log_says_lines_lost_on_a_full_disk) ||
	    !CU_add_test(s, "takes one spelling of a number: no sign, blank or "
			 "leading zero (table)", test_decimal_table) ||
	    !CU_add_test(s, "a background thread runs ten nice steps below "
			 "its creator, alone, named", test_thread_background)) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;
}

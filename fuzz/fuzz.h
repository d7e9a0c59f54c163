/*
 * fuzz/fuzz.h - shared helpers of mica's libFuzzer targets.
 *
 * Each fuzz/fuzz_*.c is one target: it feeds hostile bytes to one of the
 * engine's parsers or encoders and checks, beyond "no crash, no leak, no
 * undefined behaviour" (ASan, UBSan and LeakSanitizer see to that), the
 * contracts of the function's header. A broken contract calls fuzz_fail(),
 * which abort()s so that libFuzzer saves the input as a crash.
 *
 * Built and run by scripts/fuzz (clang -fsanitize=fuzzer,address,undefined).
 */
#ifndef MICA_FUZZ_H
#define MICA_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

/* The libFuzzer entry points (declared here for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken contract: say which, then abort so the input is kept. */
static void fuzz_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn, unused));

static void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: contract broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/*
 * The error convention (util/err.h): a failing call returns -1 with a kind,
 * a code and a one-line message. Messages reach clients and logs, so a
 * hostile input must never get a control character (a forged log line, a
 * terminal escape) into one.
 */
static void __attribute__((unused))
fuzz_check_err(const char *what, int rc, const struct mica_err *err)
{
	const unsigned char *m;

	if (rc != 0 && rc != -1)
		fuzz_fail("%s returned %d, not 0 or -1", what, rc);
	if (rc == 0)
		return;
	if (err->kind == MICA_E_NONE)
		fuzz_fail("%s failed without an error kind", what);
	if (err->code[0] == '\0' || memchr(err->code, '\0', sizeof(err->code)) == NULL)
		fuzz_fail("%s failed without an error code", what);
	if (err->msg[0] == '\0' || memchr(err->msg, '\0', sizeof(err->msg)) == NULL)
		fuzz_fail("%s failed without a message", what);
	for (m = (const unsigned char *)err->msg; *m != '\0'; m++)
		if (*m < 0x20 || *m == 0x7f)
			fuzz_fail("%s: message carries control character 0x%02x: %s",
				  what, *m, err->msg);
	for (m = (const unsigned char *)err->code; *m != '\0'; m++)
		if (!((*m >= 'a' && *m <= 'z') || (*m >= '0' && *m <= '9') || *m == '_'))
			fuzz_fail("%s: error code is not snake_case: %s", what, err->code);
}

/* A NUL-terminated heap copy of DATA[0..SIZE), cut at the first NUL. */
static char * __attribute__((unused))
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Big-endian unsigned integer of N (<= 8) octets at P. */
static uint64_t __attribute__((unused))
fuzz_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = (v << 8) | *p++;
	return v;
}

#endif

/*
 * fuzz/fuzz_serial.c - ca_serial_parse (ca/ca.h) on hostile text.
 *
 * The serial parser turns what a user or an HTTP path gives ("0x5F:1C...",
 * "5f1c...") into the canonical key of the certificate table. Beyond "no
 * crash", the input is checked against an independent reading of the
 * contract in ca/ca.h:
 *  - accepted: the output is lowercase hex of even length 2..40, has no
 *    redundant leading "00", denotes the same number as the input, and
 *    parses to itself (canonical form is a fixed point);
 *  - refused: MICA_E_BADREQ "bad_serial", and the input really breaks the
 *    contract (a character other than hex digits and ':', no non-zero
 *    digit, more than 40 significant digits) or one of the documented
 *    input bounds (80 characters, 42 digits).
 */
#include "fuzz/fuzz.h"

#include "ca/ca.h"

/* The contract's reading of IN: 1 and the canonical form in OUT if IN is a
 * serial, 0 if not. *LIMITED is set when IN would be a serial but exceeds
 * the parser's length bounds (longer than 80 characters or more than 42
 * digits including leading zeros), which it may refuse. */
static int
reference(const char *in, char out[CA_SERIAL_MAX], int *limited)
{
	char digits[256];
	size_t n = 0, start = 0, len = strlen(in);
	const char *c;

	*limited = len > 80;
	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (c = in; *c != '\0'; c++) {
		char d = *c;

		if (d == ':')
			continue;
		if (d >= 'A' && d <= 'F')
			d = (char)(d - 'A' + 'a');
		if (!((d >= '0' && d <= '9') || (d >= 'a' && d <= 'f')))
			return 0;
		if (n < sizeof(digits) - 1)
			digits[n] = d;
		n++;
	}
	if (n > 42)
		*limited = 1;
	if (n >= sizeof(digits))
		return 0;   /* far beyond 20 octets whatever its leading zeros */
	digits[n] = '\0';
	while (start < n && digits[start] == '0')
		start++;
	n -= start;
	if (n == 0 || n > 40)
		return 0;
	if (n % 2 == 1) {
		out[0] = '0';
		memcpy(out + 1, digits + start, n + 1);
	} else {
		memcpy(out, digits + start, n + 1);
	}
	return 1;
}

static void
check_canonical(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 2 || n > 40 || n % 2 != 0)
		fuzz_fail("serial \"%s\": length %zu not even in 2..40", s, n);
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			fuzz_fail("serial \"%s\": not lowercase hex", s);
	if (s[0] == '0' && s[1] == '0')
		fuzz_fail("serial \"%s\": redundant leading 00", s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[CA_SERIAL_MAX], again[CA_SERIAL_MAX], want[CA_SERIAL_MAX];
	struct mica_err err;
	char *in;
	int rc, ok, limited;

	if (size > 4096)
		return 0;
	in = fuzz_strndup(data, size);
	memset(&err, 0, sizeof(err));
	memset(out, 0x55, sizeof(out));
	rc = ca_serial_parse(in, out, &err);
	fuzz_check_err("ca_serial_parse", rc, &err);
	ok = reference(in, want, &limited);
	if (rc == 0) {
		if (memchr(out, '\0', sizeof(out)) == NULL)
			fuzz_fail("ca_serial_parse: output not NUL-terminated");
		check_canonical(out);
		if (!ok)
			fuzz_fail("ca_serial_parse accepted a non-serial, gave \"%s\"", out);
		if (strcmp(out, want) != 0)
			fuzz_fail("ca_serial_parse gave \"%s\", the number is \"%s\"", out, want);
		memset(&err, 0, sizeof(err));
		if (ca_serial_parse(out, again, &err) != 0 || strcmp(out, again) != 0)
			fuzz_fail("canonical serial \"%s\" does not parse to itself", out);
	} else {
		if (err.kind != MICA_E_BADREQ || strcmp(err.code, "bad_serial") != 0)
			fuzz_fail("ca_serial_parse refused with %d/%s, not BADREQ/bad_serial",
				  (int)err.kind, err.code);
		if (ok && !limited)
			fuzz_fail("ca_serial_parse refused the serial \"%s\": %s", want, err.msg);
	}
	free(in);
	return 0;
}

/*
 * ca/serial.c - certificate serial numbers: fresh random ones, and the one
 * canonical form of a serial typed by a user.
 */
#include "ca/ca.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "util/hex.h"

int
ca_serial_parse(const char *in, char out[CA_SERIAL_MAX], struct mica_err *err)
{
	char digits[64];
	size_t n = 0, start = 0;

	if (in == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "a serial number is required");
	if (strlen(in) > 80)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "serial number too long");
	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (const char *c = in; *c != '\0'; c++) {
		if (*c == ':')
			continue;
		if (mica_hex_val((unsigned char)*c) < 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
					    "a serial number is hexadecimal (digits 0-9, a-f, optional ':')");
		if (n >= 40 + 2)
			return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
					    "serial number longer than 20 octets");
		digits[n++] = (char)((*c >= 'A' && *c <= 'F') ? *c - 'A' + 'a' : *c);
	}
	digits[n] = '\0';
	while (start < n && digits[start] == '0')
		start++;
	if (start == n)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "serial number must be a positive hexadecimal number");
	n -= start;
	if (n > 40)
		return mica_err_set(err, MICA_E_BADREQ, "bad_serial",
				    "serial number longer than 20 octets");
	if (n % 2 == 1) {
		out[0] = '0';
		memcpy(out + 1, digits + start, n + 1);
	} else {
		memcpy(out, digits + start, n + 1);
	}
	return 0;
}

/* A fresh serial: 16 octets, the first six the time of issue in
 * milliseconds since 1970 (big-endian), the other ten random. The
 * INTEGER is positive and minimally encoded in 16 octets (the first octet
 * is 0x01 from 2004 to 2039, never 0 nor above 0x7f), and holds 80 bits
 * from the CSPRNG (RFC 5280 4.1.2.2; the CA/B Forum asks for 64, and a
 * serial must not be predictable: the random part is what makes a chosen
 * prefix useless). The time says nothing the certificate's notBefore does
 * not, and it makes serials grow with time: every index keyed by serial
 * (the certificate's, its names', its OCSP response's) takes a new
 * certificate at its end, in pages already cached, instead of in a
 * random leaf of a tree that can be gigabytes long. */
int
ca_serial_new(unsigned char serial[16], char hex[CA_SERIAL_MAX],
	      struct mica_err *err)
{
	struct timespec ts;
	uint64_t ms;

	if (ca_random(serial + 6, 10, err) != 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = ts.tv_sec > 0 ? (uint64_t)ts.tv_sec * 1000 +
			     (uint64_t)ts.tv_nsec / 1000000 : 0;
	for (int i = 5; i >= 0; i--, ms >>= 8)
		serial[i] = (unsigned char)ms;
	/* A clock before 2004 (or past 6429) still gives a positive,
	 * minimally encoded serial. */
	serial[0] &= 0x7f;
	if (serial[0] == 0)
		serial[0] = 1;
	mica_hex_encode(serial, 16, hex);
	return 0;
}

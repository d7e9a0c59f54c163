/*
 * ca/serial.c - certificate serial numbers: fresh random ones, and the one
 * canonical form of a serial typed by a user.
 */
#include "ca/ca.h"

#include <string.h>

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

/* A fresh serial: 16 random octets, top bit clear and first octet non-zero,
 * so the INTEGER is positive, minimally encoded in 16 octets, with 120+
 * bits of entropy (RFC 5280 4.1.2.2; CA/B Forum asks for 64). */
int
ca_serial_new(unsigned char serial[16], char hex[CA_SERIAL_MAX],
	      struct mica_err *err)
{
	do {
		if (ca_random(serial, 16, err) != 0)
			return -1;
		serial[0] &= 0x7f;
	} while (serial[0] == 0);
	mica_hex_encode(serial, 16, hex);
	return 0;
}

#include "util/hex.h"

/* Each octet's value as a hex digit plus one, 0 for a non-digit: the one
 * digit table of mica_hex_val and mica_hex_decode (a CRL of a million
 * entries decodes 32 million digits, and testing ranges per digit took a
 * tenth of a second of its publication). */
static const unsigned char hex_tab[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

int
mica_hex_val(int c)
{
	/* A plain char may be negative (ca/acme_http01.c passes one). */
	if (c < 0 || c > 255)
		return -1;
	return (int)hex_tab[c] - 1;
}

void
mica_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int
mica_hex_decode(const char *in, unsigned char *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned hi = hex_tab[(unsigned char)in[2 * i]];
		unsigned lo = hex_tab[(unsigned char)in[2 * i + 1]];

		/* Stop at the first non-digit (a NUL among them). */
		if (hi == 0 || lo == 0)
			return -1;
		out[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
	}
	return 0;
}

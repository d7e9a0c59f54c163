/*
 * util/b64url.c - strict base64url without padding (util/b64url.h).
 */
#include "util/b64url.h"

#include <assert.h>
#include <stdint.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of one character of the URL-safe alphabet, or -1. */
static int
val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
mica_b64url_decode(const char *in, size_t len, unsigned char *out,
		   size_t outsz, size_t *outlen)
{
	unsigned char *o = out, *end = out + outsz;
	uint32_t acc = 0;
	size_t i, rem = len % 4;

	*outlen = 0;
	if (rem == 1)
		return -1;
	for (i = 0; i + 4 <= len; i += 4) {
		int a = val((unsigned char)in[i]), b = val((unsigned char)in[i + 1]);
		int c = val((unsigned char)in[i + 2]), d = val((unsigned char)in[i + 3]);

		if (a < 0 || b < 0 || c < 0 || d < 0 || end - o < 3)
			return -1;
		acc = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		*o++ = (unsigned char)(acc >> 16);
		*o++ = (unsigned char)(acc >> 8);
		*o++ = (unsigned char)acc;
	}
	if (rem > 0) {
		int a = val((unsigned char)in[i]), b = val((unsigned char)in[i + 1]);
		int c = rem == 3 ? val((unsigned char)in[i + 2]) : 0;

		if (a < 0 || b < 0 || c < 0)
			return -1;
		acc = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		/* RFC 4648 3.5: the pad bits must be zero (canonical form). */
		if (rem == 2 ? (acc & 0xffff) != 0 : (acc & 0xff) != 0)
			return -1;
		if (end - o < (ptrdiff_t)(rem - 1))
			return -1;
		*o++ = (unsigned char)(acc >> 16);
		if (rem == 3)
			*o++ = (unsigned char)(acc >> 8);
	}
	assert(o <= end);
	*outlen = (size_t)(o - out);
	return 0;
}

size_t
mica_b64url_encode(const unsigned char *in, size_t len, char *out,
		   size_t outsz)
{
	size_t need, i;
	char *o = out;

	if (outsz == 0)
		return 0;
	out[0] = '\0';
	if (len > (SIZE_MAX - 4) / 4 * 3)
		return 0;
	need = MICA_B64URL_ENCLEN(len);
	if (need + 1 > outsz)
		return 0;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = alphabet[v >> 6 & 63];
		*o++ = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = alphabet[v >> 6 & 63];
	}
	assert((size_t)(o - out) == need);
	*o = '\0';
	return need;
}

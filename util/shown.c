#include "util/shown.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t
mica_shown_len(const unsigned char *s, size_t len)
{
	size_t more, i;
	uint32_t cp;

	if (len == 0)
		return 0;
	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		more = 1, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		more = 2, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		more = 3, cp = s[0] & 0x07u;
	else
		return 0;
	if (more >= len)
		return 0;
	for (i = 1; i <= more; i++) {
		if ((s[i] & 0xc0u) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	/* Below U+00A0 in two bytes: the C1 controls (C0 x80-x9f); the rest
	 * are overlong forms, surrogates, or beyond Unicode. */
	if (cp < 0xa0 || (more == 2 && cp < 0x800) ||
	    (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return more + 1;
}

size_t
mica_shown(const char *in, size_t len, char *out, size_t size)
{
	const unsigned char *u = (const unsigned char *)in;
	char *o = out, *end = out + size - 1;   /* room for the NUL */
	size_t i = 0, n;

	assert(size > 0);
	while (i < len) {
		n = mica_shown_len(u + i, len - i);
		if (u[i] == '\\') {   /* so that "\x07" is not read as BEL */
			if (end - o < 2)
				break;
			*o++ = '\\';
			*o++ = '\\';
			i++;
		} else if (n == 0) {
			if (end - o < 4)
				break;
			snprintf(o, 5, "\\x%02x", u[i]);
			o += 4;
			i++;
		} else {
			if ((size_t)(end - o) < n)
				break;
			memcpy(o, u + i, n);
			o += n;
			i += n;
		}
	}
	*o = '\0';
	return (size_t)(o - out);
}

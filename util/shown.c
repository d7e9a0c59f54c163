#include "util/shown.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t
mica_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t more, i;
	uint32_t c;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		more = 1, c = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		more = 2, c = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		more = 3, c = s[0] & 0x07u;
	else
		return 0;
	if (more >= len)
		return 0;
	for (i = 1; i <= more; i++) {
		if ((s[i] & 0xc0u) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	/* Overlong forms, surrogates, beyond Unicode. */
	if ((more == 2 && c < 0x800) ||
	    (more == 3 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return more + 1;
}

size_t
mica_shown_len(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n = mica_utf8_next(s, len, &cp);

	/* ASCII but its controls and DEL; beyond, from U+00A0 (the C1
	 * controls are U+0080-U+009F). */
	if (n == 1)
		return cp >= 0x20 && cp != 0x7f ? 1 : 0;
	return n > 1 && cp >= 0xa0 ? n : 0;
}

size_t
mica_shown_char(const unsigned char *s, size_t len,
		 char out[MICA_SHOWN_CHAR_MAX + 1], size_t *out_len)
{
	size_t n = mica_shown_len(s, len);

	if (s[0] == '\\') {   /* so that "\x07" is not read as BEL */
		memcpy(out, "\\\\", 3);
		*out_len = 2;
		return 1;
	}
	if (n == 0) {
		snprintf(out, MICA_SHOWN_CHAR_MAX + 1, "\\x%02x", s[0]);
		*out_len = 4;
		return 1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	*out_len = n;
	return n;
}

size_t
mica_shown(const char *in, size_t len, char *out, size_t size)
{
	const unsigned char *u = (const unsigned char *)in;
	char *o = out, *end = out + size - 1;   /* room for the NUL */
	char c[MICA_SHOWN_CHAR_MAX + 1];
	size_t i = 0, n, cl;

	assert(size > 0);
	while (i < len) {
		n = mica_shown_char(u + i, len - i, c, &cl);
		if ((size_t)(end - o) < cl)
			break;
		memcpy(o, c, cl);
		o += cl;
		i += n;
	}
	*o = '\0';
	return (size_t)(o - out);
}

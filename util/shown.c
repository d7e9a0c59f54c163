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

	/* ASCII but its controls and DEL; beyond, what mica_cp_hidden
	 * does not hide: not the C1 controls (U+0080-U+009F), nor a
	 * bidirectional control (U+202E turns the rest of a line around:
	 * "Contoso \u202etoor" reads "Contoso root") or an invisible
	 * character, which would make a name on a terminal or in a log
	 * pass for another. */
	if (n == 1)
		return cp >= 0x20 && cp != 0x7f ? 1 : 0;
	return n > 1 && !mica_cp_hidden(cp) ? n : 0;
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

/*
 * Code points no text from outside may show (Unicode's
 * Default_Ignorable_Code_Point set without the variation selectors
 * U+FE00..FE0F that emoji need, the rest of the format characters
 * (General_Category Cf), plus the controls and the line and paragraph
 * separators): invisible, or moving or reshaping the text around them,
 * they would let a comment or a reason forge lines in a log or a
 * terminal, or make one entry of an admin list look like another (UTS #39
 * and #36, "Trojan Source"). Sorted ranges.
 */
static const struct { uint32_t lo, hi; } hidden_cp[] = {
	{ 0x0000, 0x001f },     /* C0 controls */
	{ 0x007f, 0x009f },     /* DEL, C1 controls */
	{ 0x00ad, 0x00ad },     /* soft hyphen */
	{ 0x034f, 0x034f },     /* combining grapheme joiner */
	{ 0x0600, 0x0605 },     /* Arabic number signs (Cf: drawn over the
				 * digits after them) */
	{ 0x061c, 0x061c },     /* Arabic letter mark */
	{ 0x06dd, 0x06dd },     /* Arabic end of ayah (Cf) */
	{ 0x070f, 0x070f },     /* Syriac abbreviation mark (Cf) */
	{ 0x0890, 0x0891 },     /* Arabic pound and piastre marks (Cf) */
	{ 0x08e2, 0x08e2 },     /* Arabic disputed end of ayah (Cf) */
	{ 0x115f, 0x1160 },     /* Hangul fillers */
	{ 0x17b4, 0x17b5 },     /* Khmer inherent vowels */
	{ 0x180b, 0x180f },     /* Mongolian selectors and vowel separator */
	{ 0x200b, 0x200f },     /* zero-width space, (non-)joiner, LRM, RLM */
	{ 0x2028, 0x202e },     /* line and paragraph separators, bidi
				 * embeddings and overrides (U+202E) */
	{ 0x2060, 0x206f },     /* word joiner, invisible operators, bidi
				 * isolates, deprecated format characters */
	{ 0x3164, 0x3164 },     /* Hangul filler */
	{ 0xfdd0, 0xfdef },     /* noncharacters (and U+nFFFE, U+nFFFF:
				 * mica_cp_hidden) */
	{ 0xfeff, 0xfeff },     /* zero-width no-break space (BOM) */
	{ 0xffa0, 0xffa0 },     /* halfwidth Hangul filler */
	{ 0xfff0, 0xfffb },     /* interlinear annotation and unassigned */
	{ 0x110bd, 0x110bd },   /* Kaithi number sign (Cf) */
	{ 0x110cd, 0x110cd },   /* Kaithi number sign above (Cf) */
	{ 0x13430, 0x1343f },   /* Egyptian hieroglyph format controls (Cf) */
	{ 0x1bca0, 0x1bca3 },   /* shorthand format controls */
	{ 0x1d173, 0x1d17a },   /* musical format controls */
	{ 0xe0000, 0xe0fff },   /* tags, variation selectors supplement */
};

int
mica_cp_hidden(uint32_t cp)
{
	/* The last two code points of every plane are noncharacters. */
	if ((cp & 0xfffe) == 0xfffe)
		return 1;
	for (size_t i = 0; i < sizeof(hidden_cp) / sizeof(hidden_cp[0]); i++) {
		if (cp < hidden_cp[i].lo)
			return 0;
		if (cp <= hidden_cp[i].hi)
			return 1;
	}
	return 0;
}

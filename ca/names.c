/*
 * ca/names.c - parsing and canonicalising subject alternative names.
 *
 * Every name that reaches a certificate passes through ca_name_parse(), from
 * the CLI, the JSON API, a token scope or a CSR's subjectAltName. The rules
 * are deliberately narrower than what X.509 can carry:
 *
 *  - dNSName (RFC 5280 4.2.1.6, RFC 1034 3.5 / RFC 1123 2.1 "preferred name
 *    syntax"): letters, digits and hyphens only, so no underscores, no
 *    spaces, no UTF-8 (IDNs travel as their "xn--" A-labels, RFC 5890).
 *    "--" in a label's third and fourth places is reserved (RFC 5890
 *    2.3.1: "ab--cd" is no LDH label any program agrees on), but for an
 *    "xn--" that is the A-label of an international name IDNA2008
 *    permits, as far as alabel_check() can tell.
 *    A wildcard is only "*" as the entire leftmost label with at least two
 *    labels after it, the one form relying parties agree on (RFC 6125
 *    6.4.3, CA/Browser Forum BR 3.2.2.6): no "a*.x.y", no "*.tld".
 *  - iPAddress: what inet_pton(3) accepts (strict dotted quad, RFC 4291
 *    text forms; no zone index), stored as octets and as inet_ntop(3) text
 *    (RFC 5952 canonical form for IPv6).
 *  - rfc822Name: a dot-atom local part (RFC 5322 3.2.3) of 1..64 octets and
 *    a domain that is a valid DNS name (RFC 5280 4.2.1.6 forbids the
 *    quoted-string form). The local part keeps its case (RFC 5321 2.4);
 *    the domain is lowercased.
 *  - A Microsoft User Principal Name (an otherName of type
 *    1.3.6.1.4.1.311.20.2.3, what Windows' NPS and VPN servers map to an
 *    Active Directory account), given as "upn:" and local@domain: the
 *    rules of an rfc822Name, and none of the characters Windows refuses
 *    in a logon name ("/ \ [ ] : ; | = , + * ? < >" and '"'; the dot-atom
 *    refuses the others already). ASCII only: AD allows more in a UPN
 *    prefix, but a name mica cannot check character by character it does
 *    not certify. Its case is kept, as an email's local part.
 *
 * Address ranges for name constraints (ca_cidr_parse) take the same
 * addresses, with a prefix length and no host bits set.
 *
 * Messages may quote the offending name, and only it, and only when it is
 * printable ASCII, so a hostile name cannot put control characters in logs.
 */
#include "ca/names.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "util/err.h"
#include "util/shown.h"

/* Longest text we look at: an email is at most 254 octets (RFC 5321 4.5.3.1.3
 * path limit minus the angle brackets); a DNS name 253 plus one trailing dot. */
#define NAME_TEXT_MAX 254
#define LABEL_MAX     63
#define LOCAL_MAX     64

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
to_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* The most of a name a message shows (escapes included), before "...":
 * a message is 256 bytes. */
#define SHOWN_MAX 96

struct shown_buf {
	char s[SHOWN_MAX + 4];
};

/* The name TEXT as a message quotes it, in B: printable ASCII and
 * printable non-ASCII characters as they are ("m\u00fcnchen" reads
 * münchen: what is told is the argument given), a backslash doubled, and
 * every other byte - a blank, '"', a control, a byte of no well-formed
 * UTF-8 character, a bidirectional control or invisible character
 * (mica_cp_hidden) - as \xNN, so that nothing in it moves the cursor or
 * passes for another name; cut to SHOWN_MAX with "...". SHOWN(text)
 * gives it a buffer of its own. */
static const char *
shown(const char *text, struct shown_buf *b)
{
	const unsigned char *u = (const unsigned char *)text;
	size_t n = 0, left = strlen(text);

	while (left > 0) {
		uint32_t cp = 0;
		size_t len = mica_utf8_next(u, left, &cp), w;

		if (len == 1 && cp > 0x20 && cp < 0x7f && cp != '"')
			w = cp == '\\' ? 2 : 1;
		else if (len > 1 && cp >= 0xa0 && !mica_cp_hidden(cp))
			w = len;
		else
			w = 4, len = 1;
		if (n + w > SHOWN_MAX) {
			memcpy(b->s + n, "...", 4);
			return b->s;
		}
		if (w == 4)
			snprintf(b->s + n, sizeof(b->s) - n, "\\x%02X", *u);
		else if (cp == '\\')
			memcpy(b->s + n, "\\\\", 2);
		else
			memcpy(b->s + n, u, w);
		n += w;
		u += len;
		left -= len;
	}
	b->s[n] = '\0';
	return b->s;
}
#define SHOWN(text) shown((text), &(struct shown_buf){ { 0 } })

static int
bad(struct mica_err *err, const char *text, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_name",
			    "invalid name \"%s\": %s", SHOWN(text), why);
}

/* As bad(), naming the label LAB (LEN octets) of TEXT that is wrong. Only
 * called once the label's octets are known to be LDH, so it is safe to
 * quote whatever TEXT is. */
static int
bad_label(struct mica_err *err, const char *text, const char *lab,
	  size_t len, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_name",
			    "invalid name \"%s\": the label \"%.*s\" %s",
			    SHOWN(text), (int)len, lab, why);
}

/*
 * A-labels. An "xn--" label is the Punycode (RFC 3492) of a U-label, and
 * IDNA2008 says which U-labels may be registered (RFC 5891 4.2, RFC 5892).
 * mica links no IDNA library, so it decodes the label itself and applies
 * the part of those rules that small tables carry: enough that a label
 * spoofing a dot, a slash or another name with a look-alike (U+2488
 * "1." in "xn--a-ecp", fullwidth or mathematical letters, invisible
 * joiners) or holding an emoji is refused, as IDNA2008 libraries refuse
 * it. Not applied: the full DISALLOWED and UNASSIGNED sets (outside the
 * ranges below), NFC (RFC 5891 5.3), combining marks at the start of a
 * label outside the blocks below, and the Bidi rule (RFC 5893).
 *
 * The tables were checked against the IDNA2008 derived properties of
 * Unicode 17 (python3-idna 3.13's idnadata): no range below holds a
 * PVALID or CONTEXTO code point, so no valid IDN is refused for being in
 * one.
 */
#define PUNY_BASE 36
#define PUNY_TMIN 1
#define PUNY_TMAX 26

static uint32_t
puny_adapt(uint32_t delta, uint32_t npoints, int first)
{
	uint32_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / npoints;
	while (delta > ((PUNY_BASE - PUNY_TMIN) * PUNY_TMAX) / 2) {
		delta /= PUNY_BASE - PUNY_TMIN;
		k += PUNY_BASE;
	}
	return k + (PUNY_BASE - PUNY_TMIN + 1) * delta / (delta + 38);
}

static int
puny_digit(int c)
{
	c = to_lower(c);
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '0' && c <= '9')
		return c - '0' + 26;
	return -1;
}

/*
 * Decode the LEN octets at S (after "xn--", LDH) into CP, room for MAX
 * code points (every code point takes an octet at least, so LEN is
 * enough): their number, or -1 if S is no Punycode under RFC 3492 6.2's
 * overflow checks or decodes to what is no Unicode scalar value. The
 * basic code points are taken lowercase: DNS compares them without case
 * and the name is written in lowercase, so the label certified is the
 * lowercase one.
 */
static int
puny_decode(const char *s, size_t len, uint32_t *cp, size_t max)
{
	uint32_t n = 128, i = 0, bias = 72, out;
	size_t b = 0, in, j;

	for (j = 0; j < len; j++)
		if (s[j] == '-')
			b = j;
	if (b > max)
		return -1;
	/* The basic code points before the last delimiter. */
	for (j = 0; j < b; j++)
		cp[j] = (uint32_t)to_lower((unsigned char)s[j]);
	out = (uint32_t)b;
	in = b > 0 ? b + 1 : 0;
	while (in < len) {
		uint32_t oldi = i, w = 1, k, t;
		int digit;

		for (k = PUNY_BASE;; k += PUNY_BASE) {
			if (in >= len || (digit = puny_digit(s[in++])) < 0)
				return -1;
			if ((uint32_t)digit > (UINT32_MAX - i) / w)
				return -1;
			i += (uint32_t)digit * w;
			t = k <= bias ? PUNY_TMIN :
			    k >= bias + PUNY_TMAX ? PUNY_TMAX : k - bias;
			if ((uint32_t)digit < t)
				break;
			if (w > UINT32_MAX / (PUNY_BASE - t))
				return -1;
			w *= PUNY_BASE - t;
		}
		if (out >= max)
			return -1;
		out++;
		bias = puny_adapt(i - oldi, out, oldi == 0);
		if (i / out > UINT32_MAX - n)
			return -1;
		n += i / out;
		i %= out;
		if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff))
			return -1;
		memmove(cp + i + 1, cp + i, (out - 1 - i) * sizeof(*cp));
		cp[i++] = n;
	}
	return (int)out;
}

/* Why a code point is refused, for the message. */
enum cp_why {
	CP_CONTROL = 1,
	CP_SYMBOL,
	CP_INVISIBLE,
	CP_JOINER,
	CP_COMPAT,
	CP_CAPITAL,
	CP_PRIVATE,
	CP_UNASSIGNED,
};

static const char *const cp_whys[] = {
	[CP_CONTROL]    = "a control character",
	[CP_SYMBOL]     = "a symbol, punctuation mark, space or emoji",
	[CP_INVISIBLE]  = "an invisible formatting character",
	[CP_JOINER]     = "a zero width joiner or non-joiner",
	[CP_COMPAT]     = "a compatibility form of another character "
			  "(fullwidth, styled, enclosed, ligature)",
	[CP_CAPITAL]    = "a capital letter (IDNA2008 takes lowercase only)",
	[CP_PRIVATE]    = "a private-use code point or a noncharacter",
	[CP_UNASSIGNED] = "no character Unicode has assigned",
};

/*
 * Code points IDNA2008 DISALLOWs (RFC 5892 2.6-2.9, 3), in blocks that
 * matter for spoofing and are wholly or almost wholly disallowed: symbols,
 * punctuation and emoji; invisible characters; compatibility forms that
 * NFKC turns into other characters (RFC 5892 2.7, "Unstable"); capitals
 * of the scripts where they are contiguous (2.7 again: case folding
 * changes them); private use. Sorted ranges; the few PVALID code points in
 * these blocks are left out (U+214E, U+2184, U+2E2F, U+3005-3007,
 * U+302A-302D, U+303C, U+FB1E, U+FE73, a dozen CJK compatibility
 * ideographs), as is U+00B7 (CONTEXTO, below).
 *
 * U+200C and U+200D are CONTEXTJ: RFC 5892 A.1 and A.2 allow them after a
 * virama or between joining Arabic letters, which needs the Canonical
 * Combining Class and Joining_Type of every code point. mica refuses them
 * outright: invisible, they make two labels that look the same.
 */
static const struct {
	uint32_t lo, hi;
	unsigned char why;
} cp_refused[] = {
	{ 0x0080, 0x009f, CP_CONTROL },   /* C1 controls */
	{ 0x00a0, 0x00b6, CP_SYMBOL },    /* no-break space, Latin-1 signs,
					   * soft hyphen, ordinals, ² ³ µ */
	{ 0x00b8, 0x00bf, CP_SYMBOL },    /* cedilla, ¹ º » ¼ ½ ¾ ¿ */
	{ 0x00c0, 0x00d6, CP_CAPITAL },   /* À to Ö */
	{ 0x00d7, 0x00d7, CP_SYMBOL },    /* ×, an "x" look-alike */
	{ 0x00d8, 0x00de, CP_CAPITAL },   /* Ø to Þ */
	{ 0x00f7, 0x00f7, CP_SYMBOL },    /* ÷ */
	{ 0x034f, 0x034f, CP_INVISIBLE }, /* combining grapheme joiner */
	{ 0x037e, 0x037e, CP_SYMBOL },    /* Greek question mark, a ";" */
	{ 0x0384, 0x0385, CP_SYMBOL },    /* Greek tonos */
	{ 0x0386, 0x0386, CP_CAPITAL },   /* Greek capitals with tonos */
	{ 0x0387, 0x0387, CP_SYMBOL },    /* Greek ano teleia, a middle dot */
	{ 0x0388, 0x038f, CP_CAPITAL },
	{ 0x0391, 0x03ab, CP_CAPITAL },   /* Greek capitals */
	{ 0x0400, 0x042f, CP_CAPITAL },   /* Cyrillic capitals */
	{ 0x0531, 0x0556, CP_CAPITAL },   /* Armenian capitals */
	{ 0x05be, 0x05be, CP_SYMBOL },    /* Hebrew punctuation */
	{ 0x05c0, 0x05c0, CP_SYMBOL },
	{ 0x05c3, 0x05c3, CP_SYMBOL },
	{ 0x05c6, 0x05c6, CP_SYMBOL },
	{ 0x0600, 0x060f, CP_SYMBOL },    /* Arabic signs, comma, date
					   * separator */
	{ 0x061b, 0x061f, CP_SYMBOL },    /* Arabic semicolon, letter mark,
					   * question mark */
	{ 0x0640, 0x0640, CP_INVISIBLE }, /* tatweel, which only stretches */
	{ 0x066a, 0x066d, CP_SYMBOL },    /* Arabic percent, decimal and
					   * thousands separators, star */
	{ 0x0675, 0x0678, CP_COMPAT },    /* high hamza ligatures */
	{ 0x06d4, 0x06d4, CP_SYMBOL },    /* Arabic full stop */
	{ 0x06dd, 0x06de, CP_SYMBOL },    /* end of ayah, rub el hizb */
	{ 0x06e9, 0x06e9, CP_SYMBOL },    /* place of sajdah */
	{ 0x10a0, 0x10c5, CP_CAPITAL },   /* Georgian Asomtavruli */
	{ 0x115f, 0x1160, CP_INVISIBLE }, /* Hangul fillers */
	{ 0x17b4, 0x17b5, CP_INVISIBLE }, /* Khmer inherent vowels */
	{ 0x180b, 0x180f, CP_INVISIBLE }, /* Mongolian selectors */
	{ 0x1c90, 0x1cbf, CP_CAPITAL },   /* Georgian Mtavruli */
	{ 0x2000, 0x200a, CP_SYMBOL },    /* spaces */
	{ 0x200b, 0x200b, CP_INVISIBLE }, /* zero width space */
	{ 0x200c, 0x200d, CP_JOINER },    /* CONTEXTJ, see above */
	{ 0x200e, 0x200f, CP_INVISIBLE }, /* left-to-right, right-to-left
					   * marks */
	{ 0x2010, 0x2027, CP_SYMBOL },    /* dashes, quotes, bullets, leaders
					   * (U+2024 one dot leader) */
	{ 0x2028, 0x202e, CP_INVISIBLE }, /* line and paragraph separators,
					   * bidi embeddings and overrides */
	{ 0x202f, 0x205f, CP_SYMBOL },    /* more punctuation, U+2044
					   * fraction slash */
	{ 0x2060, 0x206f, CP_INVISIBLE }, /* word joiner, invisible operators,
					   * bidi isolates */
	{ 0x2070, 0x214d, CP_SYMBOL },    /* super- and subscripts, currency,
					   * combining marks for symbols,
					   * letterlike symbols (U+212A
					   * KELVIN SIGN) */
	{ 0x214f, 0x2183, CP_SYMBOL },    /* number forms, Roman numerals */
	{ 0x2185, 0x2bff, CP_SYMBOL },    /* arrows, mathematical, technical,
					   * enclosed alphanumerics (U+2488
					   * "1."), box drawing, dingbats,
					   * miscellaneous symbols (U+2603
					   * snowman) and arrows */
	{ 0x2e00, 0x2e2e, CP_SYMBOL },    /* supplemental punctuation */
	{ 0x2e30, 0x2fff, CP_SYMBOL },    /* ... CJK and Kangxi radicals,
					   * ideographic description */
	{ 0x3000, 0x3004, CP_SYMBOL },    /* ideographic space, comma, full
					   * stop, ditto mark */
	{ 0x3008, 0x3029, CP_SYMBOL },    /* CJK brackets, marks, Hangzhou
					   * numerals */
	{ 0x302e, 0x303b, CP_SYMBOL },
	{ 0x303d, 0x303f, CP_SYMBOL },
	{ 0x3164, 0x3164, CP_INVISIBLE }, /* Hangul filler */
	{ 0x3200, 0x33ff, CP_COMPAT },    /* enclosed CJK letters, CJK
					   * compatibility (squared words) */
	{ 0xe000, 0xf8ff, CP_PRIVATE },   /* private use area */
	{ 0xf900, 0xfa0d, CP_COMPAT },    /* CJK compatibility ideographs:
					   * copies of unified ones */
	{ 0xfa10, 0xfa10, CP_COMPAT },
	{ 0xfa12, 0xfa12, CP_COMPAT },
	{ 0xfa15, 0xfa1e, CP_COMPAT },
	{ 0xfa20, 0xfa20, CP_COMPAT },
	{ 0xfa22, 0xfa22, CP_COMPAT },
	{ 0xfa25, 0xfa26, CP_COMPAT },
	{ 0xfa2a, 0xfaff, CP_COMPAT },
	{ 0xfb00, 0xfb1d, CP_COMPAT },    /* Latin ligatures (ﬁ), Armenian,
					   * Hebrew presentation forms */
	{ 0xfb1f, 0xfdcf, CP_COMPAT },    /* ... and Arabic ones */
	{ 0xfdd0, 0xfdef, CP_PRIVATE },   /* noncharacters */
	{ 0xfdf0, 0xfdff, CP_COMPAT },
	{ 0xfe00, 0xfe0f, CP_INVISIBLE }, /* variation selectors */
	{ 0xfe10, 0xfe1f, CP_COMPAT },    /* vertical forms */
	{ 0xfe30, 0xfe72, CP_COMPAT },    /* CJK compatibility and small
					   * forms (U+FE52 small full stop),
					   * Arabic presentation forms B */
	{ 0xfe74, 0xfefe, CP_COMPAT },
	{ 0xfeff, 0xfeff, CP_INVISIBLE }, /* zero width no-break space */
	{ 0xff00, 0xffef, CP_COMPAT },    /* fullwidth and halfwidth forms
					   * (U+FF0E fullwidth full stop) */
	{ 0xfff0, 0xfffd, CP_SYMBOL },    /* specials, replacement character */
	{ 0x1bca0, 0x1bca3, CP_INVISIBLE }, /* shorthand format controls */
	{ 0x1cc00, 0x1cebf, CP_SYMBOL },  /* symbols for legacy computing
					   * supplement */
	{ 0x1d000, 0x1d37f, CP_SYMBOL },  /* musical symbols, Tai Xuan Jing,
					   * counting rods */
	{ 0x1d400, 0x1d7ff, CP_COMPAT },  /* mathematical alphanumerics:
					   * styled Latin and Greek letters */
	{ 0x1ee00, 0x1eeff, CP_COMPAT },  /* Arabic mathematical letters */
	{ 0x1f000, 0x1fbff, CP_SYMBOL },  /* game pieces, enclosed
					   * alphanumerics and ideographs,
					   * emoji, symbols for legacy
					   * computing */
	{ 0x2f800, 0x2fa1f, CP_COMPAT },  /* CJK compatibility supplement */
	{ 0x40000, 0xdffff, CP_UNASSIGNED }, /* planes 4 to 13 */
	{ 0xe0000, 0xeffff, CP_INVISIBLE }, /* tags, variation selectors
					     * supplement */
	{ 0xf0000, 0x10ffff, CP_PRIVATE }, /* planes 15 and 16 */
};

/*
 * Capitals where a script pairs each with its small letter at the next
 * code point, from LO (a capital) to HI (a small letter): Latin Extended-A,
 * -B and Additional, Greek archaic letters, Cyrillic beyond the basic
 * alphabet, Coptic, Cyrillic Extended-B, Latin Extended-D. Only whole runs
 * of pairs (checked: every code point at an even offset is DISALLOWED, at
 * an odd one PVALID).
 */
static const struct { uint32_t lo, hi; } cp_case_pairs[] = {
	{ 0x0100, 0x0131 }, { 0x0139, 0x013e }, { 0x0141, 0x0148 },
	{ 0x014a, 0x0177 }, { 0x0179, 0x017e }, { 0x01a0, 0x01a5 },
	{ 0x01cd, 0x01dc }, { 0x01de, 0x01ef }, { 0x01f8, 0x0233 },
	{ 0x0246, 0x024f }, { 0x03d8, 0x03ef }, { 0x0460, 0x0481 },
	{ 0x048a, 0x04bf }, { 0x04c1, 0x04ce }, { 0x04d0, 0x052f },
	{ 0x1e00, 0x1e95 }, { 0x1e9e, 0x1eff }, { 0x2c80, 0x2ce3 },
	{ 0xa640, 0xa66d }, { 0xa680, 0xa69b }, { 0xa722, 0xa72f },
	{ 0xa732, 0xa76f }, { 0xa77e, 0xa787 }, { 0xa796, 0xa7a9 },
	{ 0xa7b4, 0xa7c3 },
};

/* 0 if IDNA2008 may permit CP as far as these tables know, else why not. */
static int
cp_refused_why(uint32_t cp)
{
	size_t i;

	/* U+nFFFE and U+nFFFF of every plane are noncharacters. */
	if ((cp & 0xfffe) == 0xfffe)
		return CP_PRIVATE;
	for (i = 0; i < sizeof(cp_refused) / sizeof(cp_refused[0]); i++) {
		if (cp < cp_refused[i].lo)
			break;
		if (cp <= cp_refused[i].hi)
			return cp_refused[i].why;
	}
	for (i = 0; i < sizeof(cp_case_pairs) / sizeof(cp_case_pairs[0]); i++)
		if (cp >= cp_case_pairs[i].lo && cp <= cp_case_pairs[i].hi &&
		    (cp - cp_case_pairs[i].lo) % 2 == 0)
			return CP_CAPITAL;
	return 0;
}

/*
 * Combining marks a label may not begin with (RFC 5891 4.2.3.2: a mark
 * with nothing to combine with, drawn over the dot before it or over
 * nothing): the common combining blocks, and those of Cyrillic, Hebrew
 * and Arabic. Marks of other scripts are not in it.
 */
static const struct { uint32_t lo, hi; } cp_marks[] = {
	{ 0x0300, 0x036f },     /* combining diacritical marks */
	{ 0x0483, 0x0489 },     /* Cyrillic */
	{ 0x0591, 0x05c7 },     /* Hebrew points and accents */
	{ 0x0610, 0x061a },     /* Arabic */
	{ 0x064b, 0x065f },
	{ 0x0670, 0x0670 },
	{ 0x06d6, 0x06e4 },
	{ 0x06e7, 0x06ed },
	{ 0x1ab0, 0x1aff },     /* combining diacritical marks extended */
	{ 0x1dc0, 0x1dff },     /* ... supplement */
	{ 0x20d0, 0x20ff },     /* ... for symbols */
	{ 0xfe20, 0xfe2f },     /* combining half marks */
};

static int
cp_in(uint32_t cp, uint32_t lo, uint32_t hi)
{
	return cp >= lo && cp <= hi;
}

static int
cp_mark(uint32_t cp)
{
	size_t i;

	for (i = 0; i < sizeof(cp_marks) / sizeof(cp_marks[0]); i++)
		if (cp_in(cp, cp_marks[i].lo, cp_marks[i].hi))
			return 1;
	return 0;
}

/* Greek, Hebrew and Japanese letters as RFC 5892 A.4-A.7 ask for their
 * scripts: the ranges that hold the PVALID code points of each. */
static int
cp_greek(uint32_t cp)
{
	return cp_in(cp, 0x0371, 0x03e1) || cp_in(cp, 0x03f3, 0x03fc) ||
	    cp_in(cp, 0x1d26, 0x1d2a) || cp_in(cp, 0x1f00, 0x1fff) ||
	    cp == 0xab65;
}

static int
cp_hebrew(uint32_t cp)
{
	return cp_in(cp, 0x0591, 0x05f4) || cp_in(cp, 0xfb1d, 0xfb4f);
}

static int
cp_japanese(uint32_t cp)
{
	/* Hiragana, Katakana (not U+30FB itself nor U+30FC, whose script
	 * is Common) and Han. */
	return cp == 0x3005 || cp == 0x3007 || cp_in(cp, 0x3041, 0x309f) ||
	    cp_in(cp, 0x30a0, 0x30fa) || cp_in(cp, 0x30fd, 0x30ff) ||
	    cp_in(cp, 0x31f0, 0x31ff) || cp_in(cp, 0x3400, 0x9fff) ||
	    cp_in(cp, 0xf900, 0xfaff) || cp == 0x16fe3 ||
	    cp_in(cp, 0x16ff0, 0x16ff3) || cp_in(cp, 0x1aff0, 0x1b16f) ||
	    cp_in(cp, 0x20000, 0x3ffff);
}

/* Whether the code point at K of the label CP (N code points) meets RFC
 * 5892 appendix A if it is CONTEXTO (A.3-A.9); 1 for any other. */
static int
contexto_ok(const uint32_t *cp, size_t n, size_t k)
{
	size_t j;

	switch (cp[k]) {
	case 0x00b7:    /* MIDDLE DOT: Catalan's "l·l" only */
		return k > 0 && k + 1 < n && cp[k - 1] == 'l' &&
		    cp[k + 1] == 'l';
	case 0x0375:    /* GREEK LOWER NUMERAL SIGN: before a Greek letter */
		return k + 1 < n && cp_greek(cp[k + 1]);
	case 0x05f3:    /* HEBREW GERESH, GERSHAYIM: after a Hebrew letter */
	case 0x05f4:
		return k > 0 && cp_hebrew(cp[k - 1]);
	case 0x30fb:    /* KATAKANA MIDDLE DOT: in a Japanese label */
		for (j = 0; j < n; j++)
			if (cp_japanese(cp[j]))
				return 1;
		return 0;
	}
	/* Arabic-Indic digits: of one kind only, as the two look alike. */
	if (cp_in(cp[k], 0x0660, 0x0669) || cp_in(cp[k], 0x06f0, 0x06f9))
		for (j = 0; j < n; j++)
			if ((cp_in(cp[j], 0x0660, 0x0669) ||
			     cp_in(cp[j], 0x06f0, 0x06f9)) &&
			    (cp[j] < 0x06f0) != (cp[k] < 0x06f0))
				return 0;
	return 1;
}

/*
 * Check the "xn--" label LAB (LEN octets, LDH) of the name WHOLE: 0 if
 * it is the A-label of a U-label the rules above permit, else -1 with
 * ERR saying what is wrong with which code point. Its ASCII is lowercase
 * letters, digits and '-' already (LDH, lowercased by puny_decode).
 */
static int
alabel_check(const char *lab, size_t len, const char *whole,
	     struct mica_err *err)
{
	uint32_t cp[LABEL_MAX];
	size_t n, k;
	int got, why, wide = 0;

	got = puny_decode(lab + 4, len - 4, cp, sizeof(cp) / sizeof(cp[0]));
	if (got < 0)
		return bad_label(err, whole, lab, len, "is not valid Punycode "
				 "of an international name");
	n = (size_t)got;
	for (k = 0; k < n; k++)
		if (cp[k] >= 0x80)
			wide = 1;
	/* RFC 5890 2.3.2.1: an A-label encodes a U-label, which holds a
	 * character beyond ASCII. */
	if (!wide)
		return bad_label(err, whole, lab, len, "is not valid Punycode "
				 "of an international name (it encodes ASCII "
				 "only)");
	/* RFC 5891 4.2.3.1: the U-label is no hyphen's either. */
	if (cp[0] == '-' || cp[n - 1] == '-' ||
	    (n >= 4 && cp[2] == '-' && cp[3] == '-'))
		return bad_label(err, whole, lab, len, "encodes a name with "
				 "a hyphen at an end or in its third and "
				 "fourth places (RFC 5891 4.2.3.1)");
	for (k = 0; k < n; k++) {
		if ((why = cp_refused_why(cp[k])) != 0)
			return mica_err_set(err, MICA_E_BADREQ, "bad_name",
					    "invalid name \"%s\": the label "
					    "\"%.*s\" holds U+%04X, %s, which "
					    "IDNA2008 does not allow (RFC 5892)",
					    SHOWN(whole), (int)len, lab,
					    (unsigned)cp[k], cp_whys[why]);
		if (!contexto_ok(cp, n, k))
			return mica_err_set(err, MICA_E_BADREQ, "bad_name",
					    "invalid name \"%s\": the label "
					    "\"%.*s\" holds U+%04X where RFC "
					    "5892 appendix A does not allow it",
					    SHOWN(whole), (int)len, lab,
					    (unsigned)cp[k]);
	}
	if (cp_mark(cp[0]))
		return mica_err_set(err, MICA_E_BADREQ, "bad_name",
				    "invalid name \"%s\": the label \"%.*s\" "
				    "begins with U+%04X, a combining mark "
				    "(RFC 5891 4.2.3.2)", SHOWN(whole),
				    (int)len, lab, (unsigned)cp[0]);
	return 0;
}

/*
 * Validate and canonicalise the DNS name S (LEN octets, no NUL inside) into
 * OUT (room for NAME_TEXT_MAX + 1). ALLOW_WILD permits "*" as the leftmost
 * label. WHOLE is the full user input, for messages only.
 */
static int
dns_parse(const char *s, size_t len, int allow_wild, char *out,
	  const char *whole, struct mica_err *err)
{
	size_t i, label_len = 0, nlabels = 0, last_label = 0;
	int wild = 0, last_numeric = 1;

	if (len > 0 && s[len - 1] == '.')
		len--;              /* one root dot is the same name */
	if (len == 0)
		return bad(err, whole, "empty DNS name");
	if (len > CA_NAME_MAX)
		return bad(err, whole, "DNS name longer than 253 characters");

	if (len >= 1 && s[0] == '*') {
		if (!allow_wild)
			return bad(err, whole, "a wildcard is not allowed here");
		if (len < 2 || s[1] != '.')
			return bad(err, whole,
				   "\"*\" must be the whole leftmost label");
		wild = 1;
	}

	for (i = wild ? 2 : 0; i <= len; i++) {
		int c = i < len ? (unsigned char)s[i] : '.';

		if (c == '.') {
			const char *lab = s + i - label_len;

			if (label_len == 0)
				return bad(err, whole, "empty label");
			if (s[i - 1] == '-')
				return bad(err, whole,
					   "a label ends with a hyphen");
			if (label_len >= 4 && lab[2] == '-' && lab[3] == '-' &&
			    (to_lower(lab[0]) != 'x' || to_lower(lab[1]) != 'n'))
				return bad_label(err, whole, lab, label_len,
						 "has \"--\" in its third and fourth "
						 "places, which RFC 5890 2.3.1 reserves "
						 "for encodings such as \"xn--\"");
			if (label_len >= 4 && lab[2] == '-' && lab[3] == '-' &&
			    alabel_check(lab, label_len, whole, err) != 0)
				return -1;
			nlabels++;
			last_label = i - label_len;
			label_len = 0;
			continue;
		}
		if (c == '*')
			return bad(err, whole,
				   "\"*\" is only allowed as the whole leftmost label");
		if (c == '_')
			return bad(err, whole,
				   "underscores are not allowed in host names");
		if (c >= 0x80)
			return bad(err, whole,
				   "an international name is given as A-labels "
				   "(\"xn--\", RFC 5890: 'idn2 NAME' prints them)");
		if (!is_alpha(c) && !is_digit(c) && c != '-')
			return bad(err, whole,
				   "only letters, digits, hyphens and dots are allowed");
		if (c == '-' && label_len == 0)
			return bad(err, whole, "a label starts with a hyphen");
		if (++label_len > LABEL_MAX)
			return bad(err, whole, "a label is longer than 63 characters");
	}

	if (wild && nlabels < 2)
		return bad(err, whole,
			   "a wildcard needs at least two labels after \"*.\"");
	if (nlabels < 2)
		return bad(err, whole,
			   "a DNS name needs at least two labels (host.domain)");
	/* RFC 3696 2: a top-level domain is never all-numeric, and a name
	 * like "10.1.2.3" given as DNS must not pass for an address. */
	for (i = last_label; i < len; i++)
		if (!is_digit((unsigned char)s[i]))
			last_numeric = 0;
	if (last_numeric)
		return bad(err, whole, "the last label is all digits");

	for (i = 0; i < len; i++)
		out[i] = (char)to_lower((unsigned char)s[i]);
	out[len] = '\0';
	return 0;
}

int
ca_name_same(const struct ca_name *a, const struct ca_name *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == CA_NAME_UPN)
		return strcasecmp(a->value, b->value) == 0;
	return strcmp(a->value, b->value) == 0;
}

static int
ip_parse(const char *s, struct ca_name *out, const char *whole, int stored,
	 struct mica_err *err)
{
	unsigned char buf[16];
	int af;

	/* inet_pton(AF_INET) takes only the strict dotted quad, no octal or
	 * short forms; AF_INET6 takes no zone index ("%eth0"). */
	if (inet_pton(AF_INET, s, buf) == 1) {
		af = AF_INET;
		out->ip_len = 4;
	} else if (inet_pton(AF_INET6, s, buf) == 1) {
		/* RFC 4291 2.5.5.2: relying parties compare the four octets
		 * of an IPv4 address they connect to, never its mapped
		 * form, so such a name would match nothing. */
		if (!stored &&
		    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(void *)buf))
			return bad(err, whole, "an IPv4-mapped IPv6 address "
				   "matches no IPv4 connection: ask for the "
				   "IPv4 address itself");
		af = AF_INET6;
		out->ip_len = 16;
	} else {
		return bad(err, whole, "not an IPv4 or IPv6 address");
	}
	memcpy(out->ip, buf, out->ip_len);
	if (inet_ntop(af, buf, out->value, sizeof(out->value)) == NULL)
		return bad(err, whole, "not an IPv4 or IPv6 address");
	return 0;
}

/* RFC 5322 3.2.3 atext. */
static int
is_atext(int c)
{
	return is_alpha(c) || is_digit(c) || (c != '\0' &&
		strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* The address S (LEN octets) into OUT (room for NAME_TEXT_MAX + 1):
 * an rfc822Name, or with UPN the part of a UPN after "upn:", whose local
 * part must also do without the atext Windows refuses in logon names. */
static int
email_parse(const char *s, size_t len, char *out, int upn, const char *whole,
	    struct mica_err *err)
{
	const char *at = memchr(s, '@', len);
	size_t local_len, i;

	if (at == NULL)
		return bad(err, whole, "an email address needs an \"@\"");
	if (memchr(at + 1, '@', len - (size_t)(at - s) - 1) != NULL)
		return bad(err, whole, "more than one \"@\"");
	local_len = (size_t)(at - s);
	if (local_len == 0)
		return bad(err, whole, "empty local part before \"@\"");
	if (local_len > LOCAL_MAX)
		return bad(err, whole, "local part longer than 64 characters");
	/* dot-atom: atext runs separated by single dots (RFC 5322 3.2.3). */
	for (i = 0; i < local_len; i++) {
		int c = (unsigned char)s[i];

		if (c == '.') {
			if (i == 0 || i + 1 == local_len || s[i + 1] == '.')
				return bad(err, whole,
					   "misplaced dot in the local part");
			continue;
		}
		if (!is_atext(c))
			return bad(err, whole,
				   "unsupported character in the local part");
		if (upn && strchr("/|=+*?", c) != NULL)
			return bad(err, whole, "a UPN's user part may not hold "
				   "/ | = + * or ? (Windows refuses them in "
				   "logon names)");
	}
	if (len - local_len - 1 > 0 && s[len - 1] == '.')
		return bad(err, whole, "the email domain ends with a dot");
	memcpy(out, s, local_len);
	out[local_len] = '@';
	return dns_parse(at + 1, len - local_len - 1, 0, out + local_len + 1,
			 whole, err);
}

/* Does TEXT (LEN octets) begin with "upn:", in any case? */
static int
has_upn_prefix(const char *text, size_t len)
{
	return len >= CA_UPN_PREFIX_LEN &&
	    strncasecmp(text, CA_UPN_PREFIX, CA_UPN_PREFIX_LEN) == 0;
}

/* "upn:local@domain" into OUT's value, the prefix lowercased. */
static int
upn_parse(const char *s, size_t len, struct ca_name *out, struct mica_err *err)
{
	if (!has_upn_prefix(s, len))
		return bad(err, s, "a UPN is written \"upn:user@domain\"");
	if (len == CA_UPN_PREFIX_LEN)
		return bad(err, s, "empty UPN after \"upn:\"");
	memcpy(out->value, CA_UPN_PREFIX, CA_UPN_PREFIX_LEN);
	return email_parse(s + CA_UPN_PREFIX_LEN, len - CA_UPN_PREFIX_LEN,
			   out->value + CA_UPN_PREFIX_LEN, 1, s, err);
}

int
ca_name_parse(const char *text, int kind_hint, struct ca_name *out,
	      struct mica_err *err)
{
	struct ca_name n;
	size_t len;
	int stored = (kind_hint & CA_NAME_STORED) != 0;
	int kind = kind_hint & ~CA_NAME_STORED;
	unsigned char probe[16];

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (text == NULL || out == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_name",
				    "no name given");
	/* Bound before looking: strnlen never reads past NAME_TEXT_MAX + 1. */
	len = strnlen(text, NAME_TEXT_MAX + 1);
	if (len > NAME_TEXT_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_name",
				    "name longer than %d characters",
				    NAME_TEXT_MAX);
	if (len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_name",
				    "empty name");

	if (kind == 0) {
		if (has_upn_prefix(text, len))
			kind = CA_NAME_UPN;
		else if (memchr(text, '@', len) != NULL)
			kind = CA_NAME_EMAIL;
		else if (inet_pton(AF_INET, text, probe) == 1 ||
			 inet_pton(AF_INET6, text, probe) == 1)
			kind = CA_NAME_IP;
		else
			kind = CA_NAME_DNS;
	}

	memset(&n, 0, sizeof(n));
	n.kind = kind;
	switch (kind) {
	case CA_NAME_DNS:
		if (dns_parse(text, len, 1, n.value, text, err) != 0)
			return -1;
		break;
	case CA_NAME_IP:
		if (ip_parse(text, &n, text, stored, err) != 0)
			return -1;
		break;
	case CA_NAME_EMAIL:
		if (email_parse(text, len, n.value, 0, text, err) != 0)
			return -1;
		break;
	case CA_NAME_UPN:
		if (upn_parse(text, len, &n, err) != 0)
			return -1;
		break;
	default:
		return mica_err_set(err, MICA_E_BADREQ, "bad_name",
				    "unknown kind of name");
	}
	*out = n;
	return 0;
}

void
ca_url_host(const char *url, char *out, size_t size)
{
	const char *p = url != NULL ? strstr(url, "://") : NULL;
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += 3;
	if (*p == '[') {
		p++;
		n = strcspn(p, "]");
	} else {
		n = strcspn(p, ":/");
	}
	if (n < size) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
}

int
ca_url_host_name(const char *url, struct ca_name *out)
{
	char host[256];

	ca_url_host(url, host, sizeof(host));
	return host[0] != '\0' && ca_name_parse(host, 0, out, NULL) == 0 &&
	       (out->kind == CA_NAME_DNS || out->kind == CA_NAME_IP);
}

/* ---------------------------------------------------- address ranges -- */

static int
bad_range(struct mica_err *err, const char *text, const char *why)
{
	if (text != NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_range",
				    "%s: %s", SHOWN(text), why);
	return mica_err_set(err, MICA_E_BADREQ, "bad_range",
			    "address range: %s", why);
}

/* OUT's mask from its prefix, its text from its address; the address is
 * left as it is (the caller has checked its host bits). */
static void
cidr_finish(struct ca_cidr *out)
{
	char addr[INET6_ADDRSTRLEN];

	memset(out->mask, 0, sizeof(out->mask));
	for (unsigned i = 0; i < out->prefix; i++)
		out->mask[i / 8] |= (unsigned char)(0x80u >> (i % 8));
	if (inet_ntop(out->ip_len == 4 ? AF_INET : AF_INET6, out->ip, addr,
		      sizeof(addr)) == NULL)
		addr[0] = '\0';
	snprintf(out->text, sizeof(out->text), "%s/%u", addr, out->prefix);
}

int
ca_cidr_parse(const char *text, struct ca_cidr *out, struct mica_err *err)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash, *d;
	size_t len, alen;
	unsigned prefix = 0, bits;
	struct ca_cidr c, fixed;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (text == NULL || out == NULL)
		return bad_range(err, NULL, "none given");
	len = strnlen(text, CA_CIDR_TEXT_MAX + 1);
	if (len > CA_CIDR_TEXT_MAX)
		return bad_range(err, NULL, "longer than an address range");
	memset(&c, 0, sizeof(c));
	if ((slash = memchr(text, '/', len)) == NULL)
		return bad_range(err, text, "not an address range: give the "
				 "prefix length too (ADDRESS/LENGTH, as "
				 "192.0.2.7/32 for one address)");
	alen = (size_t)(slash - text);
	if (alen == 0 || alen >= sizeof(addr))
		return bad_range(err, text, "not an IPv4 or IPv6 address "
				 "before the '/'");
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, c.ip) == 1) {
		c.ip_len = 4;
	} else if (inet_pton(AF_INET6, addr, c.ip) == 1) {
		c.ip_len = 16;
	} else {
		return bad_range(err, text, "not an IPv4 or IPv6 address "
				 "before the '/'");
	}
	bits = (unsigned)c.ip_len * 8;
	/* Decimal, 1 to 3 digits, no sign, no leading zero: "/08" or
	 * "/+8" would be read differently by different tools. */
	d = slash + 1;
	if (*d == '\0' || strlen(d) > 3 || (d[0] == '0' && d[1] != '\0'))
		return bad_range(err, text, "the prefix length after the '/' "
				 "is not a plain number");
	for (; *d != '\0'; d++) {
		if (!is_digit((unsigned char)*d))
			return bad_range(err, text, "the prefix length after "
					 "the '/' is not a plain number");
		prefix = prefix * 10 + (unsigned)(*d - '0');
	}
	if (prefix > bits)
		return mica_err_set(err, MICA_E_BADREQ, "bad_range",
				    "%s: an %s prefix is 0 to %u bits long",
				    SHOWN(text), c.ip_len == 4 ? "IPv4" : "IPv6",
				    bits);
	c.prefix = prefix;
	cidr_finish(&c);
	/* A host bit set: the operator wrote an address where a range was
	 * meant; guessing either way could permit more than intended. */
	fixed = c;
	for (size_t i = 0; i < c.ip_len; i++)
		fixed.ip[i] &= c.mask[i];
	if (memcmp(fixed.ip, c.ip, c.ip_len) != 0) {
		cidr_finish(&fixed);
		return mica_err_set(err, MICA_E_BADREQ, "bad_range",
				    "%s: bits are set after the /%u prefix "
				    "(the range is %s; for the one address, "
				    "/%u)", SHOWN(text), prefix, fixed.text, bits);
	}
	*out = c;
	return 0;
}

int
ca_cidr_from_mask(const unsigned char *ip, const unsigned char *mask,
		  size_t ip_len, struct ca_cidr *out, struct mica_err *err)
{
	struct ca_cidr c;
	unsigned prefix = 0;
	size_t i;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (ip == NULL || mask == NULL || out == NULL ||
	    (ip_len != 4 && ip_len != 16))
		return bad_range(err, NULL, "not an IPv4 or IPv6 address and "
				 "mask");
	/* Ones, then zeros only. */
	for (i = 0; i < ip_len * 8 && (mask[i / 8] & (0x80u >> (i % 8))); i++)
		prefix++;
	for (; i < ip_len * 8; i++)
		if (mask[i / 8] & (0x80u >> (i % 8)))
			return bad_range(err, NULL, "a mask that is not a "
					 "prefix (ones, then zeros)");
	for (i = 0; i < ip_len; i++)
		if (ip[i] & (unsigned char)~mask[i])
			return bad_range(err, NULL, "an address with bits set "
					 "outside its mask");
	memset(&c, 0, sizeof(c));
	memcpy(c.ip, ip, ip_len);
	c.ip_len = ip_len;
	c.prefix = prefix;
	cidr_finish(&c);
	*out = c;
	return 0;
}

const char *
ca_name_kind_str(int kind)
{
	switch (kind) {
	case CA_NAME_DNS:   return "dns";
	case CA_NAME_IP:    return "ip";
	case CA_NAME_EMAIL: return "email";
	case CA_NAME_UPN:   return "upn";
	}
	return "unknown";
}

const char *
ca_name_bare(const struct ca_name *n)
{
	if (n->kind == CA_NAME_UPN &&
	    strncmp(n->value, CA_UPN_PREFIX, CA_UPN_PREFIX_LEN) == 0)
		return n->value + CA_UPN_PREFIX_LEN;
	return n->value;
}

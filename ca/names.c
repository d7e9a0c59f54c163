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
 *    "xn--" that is the A-label of an international name.
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
#include <sys/socket.h>

#include "util/err.h"

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

/* Printable ASCII without space: safe to quote in a message. */
static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* The name as it may appear in a message: itself when printable, else a
 * neutral placeholder. */
static const char *
shown(const char *text)
{
	return printable(text) ? text : "(a name with blanks, controls or non-ASCII in it)";
}

static int
bad(struct mica_err *err, const char *text, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_name",
			    "invalid name \"%s\": %s", shown(text), why);
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
			    shown(text), (int)len, lab, why);
}

/* Punycode (RFC 3492 6.2), only to tell a real A-label from "xn--" and
 * letters: 1 if the LEN octets at S (after "xn--") decode, under the
 * RFC's overflow checks, to code points that are Unicode scalar values
 * and include at least one that is not ASCII nor a C1 control (RFC 5890
 * 2.3.2.1: an A-label is the encoding of a U-label). */
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

static int
punycode_ok(const char *s, size_t len)
{
	uint32_t n = 128, i = 0, bias = 72, out = 0;
	size_t b = 0, in, j;
	int wide = 0;

	for (j = 0; j < len; j++)
		if (s[j] == '-')
			b = j;
	/* The basic code points before the last delimiter (LDH already). */
	out = (uint32_t)b;
	in = b > 0 ? b + 1 : 0;
	while (in < len) {
		uint32_t oldi = i, w = 1, k, t;
		int digit;

		for (k = PUNY_BASE;; k += PUNY_BASE) {
			if (in >= len || (digit = puny_digit(s[in++])) < 0)
				return 0;
			if ((uint32_t)digit > (UINT32_MAX - i) / w)
				return 0;
			i += (uint32_t)digit * w;
			t = k <= bias ? PUNY_TMIN :
			    k >= bias + PUNY_TMAX ? PUNY_TMAX : k - bias;
			if ((uint32_t)digit < t)
				break;
			if (w > UINT32_MAX / (PUNY_BASE - t))
				return 0;
			w *= PUNY_BASE - t;
		}
		out++;
		bias = puny_adapt(i - oldi, out, oldi == 0);
		if (i / out > UINT32_MAX - n)
			return 0;
		n += i / out;
		i %= out;
		/* Beyond Unicode, surrogates, and C1 controls (no IDN has
		 * them; RFC 5892's full tables are not applied here). */
		if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff) || n < 0xa0)
			return 0;
		wide = 1;
		i++;
	}
	return wide;
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
			    !punycode_ok(lab + 4, label_len - 4))
				return bad_label(err, whole, lab, label_len,
						 "is not valid Punycode of an "
						 "international name");
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
		if (!is_alpha(c) && !is_digit(c) && c != '-')
			return bad(err, whole,
				   "only letters, digits, hyphens and dots are allowed "
				   "(use the xn-- form for international names)");
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

static int
ip_parse(const char *s, struct ca_name *out, const char *whole,
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

static int
email_parse(const char *s, size_t len, struct ca_name *out, const char *whole,
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
	}
	if (len - local_len - 1 > 0 && s[len - 1] == '.')
		return bad(err, whole, "the email domain ends with a dot");
	memcpy(out->value, s, local_len);
	out->value[local_len] = '@';
	return dns_parse(at + 1, len - local_len - 1, 0,
			 out->value + local_len + 1, whole, err);
}

int
ca_name_parse(const char *text, int kind_hint, struct ca_name *out,
	      struct mica_err *err)
{
	struct ca_name n;
	size_t len;
	int kind = kind_hint;
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
		if (memchr(text, '@', len) != NULL)
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
		if (ip_parse(text, &n, text, err) != 0)
			return -1;
		break;
	case CA_NAME_EMAIL:
		if (email_parse(text, len, &n, text, err) != 0)
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

/* ---------------------------------------------------- address ranges -- */

static int
bad_range(struct mica_err *err, const char *text, const char *why)
{
	if (text != NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_range",
				    "%s: %s", shown(text), why);
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
				    shown(text), c.ip_len == 4 ? "IPv4" : "IPv6",
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
				    "/%u)", shown(text), prefix, fixed.text, bits);
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
	}
	return "unknown";
}

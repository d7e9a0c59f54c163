/*
 * fuzz/fuzz_names.c - ca_name_parse (ca/names.h), ca_scope_covers and
 * ca_name_in_domain (ca/profile.h) on hostile text.
 *
 * Every name that reaches a certificate, a token scope or the domain list
 * passes through these three, so they decide what the CA vouches for.
 * Input: octet 0 picks the kind hint (0 = guess, DNS, IP, email, or an
 * invalid kind); the rest is "NAME\nPATTERN\nDOMAIN" (missing parts are
 * empty). Checked beyond "no crash":
 *  - a parsed name is canonical: printable, bounded, of the hinted kind,
 *    lowercase where the kind says so, and a fixed point of the parser
 *    (with its own kind and with kind guessing);
 *  - a name covers itself as a scope pattern, a DNS name is in its own
 *    domain and in its parent's, an IP is in no domain;
 *  - ca_scope_covers and ca_name_in_domain agree with an independent
 *    reading of their contracts (exact match, one-label wildcard, label
 *    boundary, case-insensitive but for an email's local part, one
 *    trailing dot on the domain ignored);
 *  - a malformed struct ca_name (no NUL, junk kind) covers nothing and is
 *    in no domain, without reading past the struct.
 */
#include "fuzz/fuzz.h"

#include <arpa/inet.h>
#include <strings.h>
#include <sys/socket.h>

#include "ca/names.h"
#include "ca/profile.h"

static int
is_ldh_lower(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Is S (LEN octets) a canonical DNS name: lowercase LDH labels of 1..63
 * octets, no hyphen at a label's ends, at least two labels, "*" only as
 * the whole leftmost label (then two labels after it), last label not all
 * digits, at most 253 octets? */
static int
canonical_dns(const char *s, size_t len)
{
	size_t i, lab = 0, nlab = 0, last = 0;
	int wild = 0, numeric = 1;

	if (len == 0 || len > CA_NAME_MAX)
		return 0;
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		wild = 1;
		i = 2;
	} else {
		i = 0;
	}
	for (; i <= len; i++) {
		int c = i < len ? (unsigned char)s[i] : '.';

		if (c == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return 0;
			nlab++;
			last = i - lab;
			lab = 0;
			continue;
		}
		if (!is_ldh_lower(c) || (c == '-' && lab == 0) || ++lab > 63)
			return 0;
	}
	if (nlab < 2)
		return 0;
	(void)wild;
	for (i = last; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			numeric = 0;
	return !numeric;
}

/* Is the canonical name N well-formed for its kind? */
static void
check_canonical(const struct ca_name *n, int hint)
{
	const char *v = n->value, *at;
	size_t len;
	unsigned char ip[16];

	if (memchr(v, '\0', sizeof(n->value)) == NULL)
		fuzz_fail("ca_name_parse: value not NUL-terminated");
	len = strlen(v);
	if (len == 0 || len > 254)
		fuzz_fail("ca_name_parse: value of %zu octets", len);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			fuzz_fail("ca_name_parse: value has octet 0x%02x", (unsigned char)v[i]);
	if (hint != 0 && n->kind != hint)
		fuzz_fail("ca_name_parse: kind %d for hint %d", n->kind, hint);
	switch (n->kind) {
	case CA_NAME_DNS:
		if (n->ip_len != 0)
			fuzz_fail("DNS name \"%s\" has an address", v);
		if (!canonical_dns(v, len))
			fuzz_fail("DNS name \"%s\" is not canonical", v);
		break;
	case CA_NAME_IP:
		if (n->ip_len != 4 && n->ip_len != 16)
			fuzz_fail("IP \"%s\" of %zu octets", v, n->ip_len);
		if (inet_pton(n->ip_len == 4 ? AF_INET : AF_INET6, v, ip) != 1 ||
		    memcmp(ip, n->ip, n->ip_len) != 0)
			fuzz_fail("IP text \"%s\" does not match its octets", v);
		break;
	case CA_NAME_EMAIL:
		at = strchr(v, '@');
		if (n->ip_len != 0 || at == NULL || at == v || strchr(at + 1, '@') != NULL)
			fuzz_fail("email \"%s\" malformed", v);
		if (at - v > 64)
			fuzz_fail("email \"%s\": local part longer than 64", v);
		if (!canonical_dns(at + 1, strlen(at + 1)) || at[1] == '*')
			fuzz_fail("email \"%s\": domain not a canonical host name", v);
		if (v[0] == '.' || at[-1] == '.' || strstr(v, "..") != NULL)
			fuzz_fail("email \"%s\": misplaced dot", v);
		break;
	case CA_NAME_UPN:
		/* "upn:" and an email address without / | = + * ? */
		if (strncmp(v, CA_UPN_PREFIX, CA_UPN_PREFIX_LEN) != 0)
			fuzz_fail("UPN \"%s\" without its prefix", v);
		v += CA_UPN_PREFIX_LEN;
		at = strchr(v, '@');
		if (n->ip_len != 0 || at == NULL || at == v || strchr(at + 1, '@') != NULL)
			fuzz_fail("UPN \"%s\" malformed", v);
		if (at - v > 64 || strcspn(v, "/|=+*?:") < (size_t)(at - v))
			fuzz_fail("UPN \"%s\": bad user part", v);
		if (!canonical_dns(at + 1, strlen(at + 1)) || at[1] == '*')
			fuzz_fail("UPN \"%s\": domain not a canonical host name", v);
		if (v[0] == '.' || at[-1] == '.' || strstr(v, "..") != NULL)
			fuzz_fail("UPN \"%s\": misplaced dot", v);
		break;
	default:
		fuzz_fail("ca_name_parse: kind %d", n->kind);
	}
}

/* ca_name_in_domain as its contract reads. */
static int
ref_in_domain(const struct ca_name *n, const char *domain)
{
	const char *v = n->value, *at;
	size_t vlen, dlen = strlen(domain);

	if (n->kind == CA_NAME_EMAIL || n->kind == CA_NAME_UPN) {
		at = strchr(v, '@');
		v = at + 1;
	} else if (n->kind != CA_NAME_DNS) {
		return 0;
	}
	vlen = strlen(v);
	if (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;
	if (dlen == 0 || dlen > CA_NAME_MAX || memchr(domain, '*', dlen) != NULL)
		return 0;
	if (vlen == dlen)
		return strncasecmp(v, domain, dlen) == 0;
	return vlen > dlen && v[vlen - dlen - 1] == '.' &&
	       strncasecmp(v + vlen - dlen, domain, dlen) == 0;
}

/* ca_scope_covers as its contract reads. */
static int
ref_covers(const char *pattern, const struct ca_name *n)
{
	struct ca_name p;
	size_t nlen, plen;
	const char *dot;

	if (ca_name_parse(pattern, 0, &p, NULL) != 0 || p.kind != n->kind)
		return 0;
	if (n->kind == CA_NAME_IP)
		return p.ip_len == n->ip_len && memcmp(p.ip, n->ip, n->ip_len) == 0;
	/* An email's local part keeps its case (RFC 5321 2.4), its domain
	 * matches in any case. */
	if (n->kind == CA_NAME_EMAIL || n->kind == CA_NAME_UPN) {
		const char *pa = strrchr(p.value, '@'), *na = strrchr(n->value, '@');

		return pa != NULL && na != NULL && pa - p.value == na - n->value &&
		       strncmp(p.value, n->value, (size_t)(na - n->value)) == 0 &&
		       strcasecmp(pa, na) == 0;
	}
	if (strcasecmp(p.value, n->value) == 0)
		return 1;
	if (n->kind != CA_NAME_DNS || strncmp(p.value, "*.", 2) != 0)
		return 0;
	/* one label in place of the star: "x" + ".rest" */
	nlen = strlen(n->value);
	plen = strlen(p.value + 1);
	dot = strchr(n->value, '.');
	return nlen > plen && dot != NULL && (size_t)(dot - n->value) == nlen - plen &&
	       n->value[0] != '*' && strcasecmp(dot, p.value + 1) == 0;
}

static void
same_name(const char *what, const struct ca_name *a, const struct ca_name *b)
{
	if (a->kind != b->kind || strcmp(a->value, b->value) != 0 ||
	    a->ip_len != b->ip_len || memcmp(a->ip, b->ip, sizeof(a->ip)) != 0)
		fuzz_fail("%s: \"%s\" (kind %d) became \"%s\" (kind %d)", what,
			  a->value, a->kind, b->value, b->kind);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int hints[] = { 0, CA_NAME_DNS, CA_NAME_IP, CA_NAME_EMAIL,
				     CA_NAME_UPN, 3, 0 };
	struct ca_name n, again, raw;
	struct mica_err err;
	char *buf, *name, *pattern = NULL, *domain = NULL, *nl;
	int hint, rc, got;

	if (size < 1 || size > 4096)
		return 0;
	hint = hints[data[0] % (sizeof(hints) / sizeof(hints[0]))];
	buf = fuzz_strndup(data + 1, size - 1);
	name = buf;
	if ((nl = strchr(name, '\n')) != NULL) {
		*nl = '\0';
		pattern = nl + 1;
		if ((nl = strchr(pattern, '\n')) != NULL) {
			*nl = '\0';
			domain = nl + 1;
		}
	}
	if (pattern == NULL)
		pattern = name + strlen(name);
	if (domain == NULL)
		domain = pattern + strlen(pattern);

	/* Struct garbage: the defensive paths of the matchers. */
	memset(&raw, 0, sizeof(raw));
	memcpy(&raw, data, size < sizeof(raw) ? size : sizeof(raw));
	got = ca_name_in_domain(&raw, domain) | ca_scope_covers(pattern, &raw);
	if (memchr(raw.value, '\0', sizeof(raw.value)) == NULL && got)
		fuzz_fail("a name without NUL matched");

	memset(&err, 0, sizeof(err));
	rc = ca_name_parse(name, hint, &n, &err);
	fuzz_check_err("ca_name_parse", rc, &err);
	if (rc != 0) {
		if (err.kind != MICA_E_BADREQ || strcmp(err.code, "bad_name") != 0)
			fuzz_fail("ca_name_parse refused with %d/%s", (int)err.kind, err.code);
		goto out;
	}
	check_canonical(&n, hint);

	/* Canonical form is a fixed point, with or without the kind. */
	if (ca_name_parse(n.value, n.kind, &again, NULL) != 0)
		fuzz_fail("canonical \"%s\" does not parse as its kind", n.value);
	same_name("reparse with kind", &n, &again);
	if (ca_name_parse(n.value, 0, &again, NULL) != 0)
		fuzz_fail("canonical \"%s\" does not parse with kind guessing", n.value);
	same_name("reparse guessing the kind", &n, &again);

	/* Reflexivity and parents. */
	if (ca_scope_covers(n.value, &n) != 1)
		fuzz_fail("\"%s\" does not cover itself", n.value);
	if (n.kind == CA_NAME_IP) {
		if (ca_name_in_domain(&n, n.value))
			fuzz_fail("IP %s is under a domain", n.value);
	} else {
		const char *d = n.kind == CA_NAME_EMAIL || n.kind == CA_NAME_UPN ?
				strchr(n.value, '@') + 1 : n.value;
		const char *parent = strchr(d, '.');

		if (d[0] != '*' && ca_name_in_domain(&n, d) != 1)
			fuzz_fail("\"%s\" is not in its own domain %s", n.value, d);
		if (parent != NULL && strchr(parent + 1, '.') != NULL &&
		    ca_name_in_domain(&n, parent + 1) != 1)
			fuzz_fail("\"%s\" is not under its parent %s", n.value, parent + 1);
	}

	/* The matchers against their contracts. */
	got = ca_scope_covers(pattern, &n);
	if (got != ref_covers(pattern, &n))
		fuzz_fail("ca_scope_covers(\"%s\", \"%s\") = %d", pattern, n.value, got);
	got = ca_name_in_domain(&n, domain);
	if (got != ref_in_domain(&n, domain))
		fuzz_fail("ca_name_in_domain(\"%s\", \"%s\") = %d", n.value, domain, got);
out:
	free(buf);
	return 0;
}

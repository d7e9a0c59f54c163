/*
 * web/proxy.c - trusted reverse proxies and X-Forwarded-For (web/proxy.h).
 * Only the rightmost part of X-Forwarded-For is believed: every proxy
 * appends the address it got the request from, so the entries left of the
 * first untrusted one are whatever that client chose to send.
 */
#include "web/proxy.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/decimal.h"
#include "web/parse.h"

/* A numeric IPv4 or IPv6 address S[0..LEN) into A (16 octets). */
static int
addr_parse(const char *s, size_t len, unsigned char a[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(a, 0, 16);
	if (inet_pton(AF_INET, buf, a + 12) == 1) {
		a[10] = a[11] = 0xff;
		return 0;
	}
	return inet_pton(AF_INET6, buf, a) == 1 ? 0 : -1;
}

int
web_prefix_parse(const char *s, struct web_prefix *out, struct mica_err *err)
{
	const char *slash = s != NULL ? strchr(s, '/') : NULL;
	size_t len = s == NULL ? 0 : slash != NULL ? (size_t)(slash - s) : strlen(s);
	int v4;
	int64_t bits;

	memset(out, 0, sizeof(*out));
	if (s == NULL || addr_parse(s, len, out->addr) != 0)
		goto bad;
	v4 = memchr(s, ':', len) == NULL;
	bits = v4 ? 32 : 128;
	/* A number in an option has one spelling (util/decimal.h). */
	if (slash != NULL && mica_decimal(slash + 1, 0, bits, &bits) != 0)
		goto bad;
	if (slash != NULL && (slash[1] < '0' || slash[1] > '9'))
		goto bad;
	out->bits = (unsigned)(v4 ? bits + 96 : bits);
	/* Host bits set: say so rather than guess what was meant. */
	for (unsigned i = out->bits; i < 128; i++)
		if (out->addr[i / 8] & (0x80 >> (i % 8)))
			goto bad;
	return 0;
bad:
	return mica_err_set(err, MICA_E_USAGE, "bad_proxy",
			    "--trusted-proxy wants a numeric address or prefix "
			    "(192.0.2.10, 10.0.0.0/8, 2001:db8::/32), host bits zero");
}

static int
prefix_has(const struct web_prefix *p, const unsigned char a[16])
{
	unsigned full = p->bits / 8, rest = p->bits % 8;

	if (memcmp(p->addr, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((p->addr[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int
web_proxies_match(const struct web_proxies *px, const unsigned char a[16])
{
	for (size_t i = 0; px != NULL && i < px->n; i++)
		if (prefix_has(&px->p[i], a))
			return 1;
	return 0;
}

/* One X-Forwarded-For entry S[0..LEN), blanks trimmed, optionally with a
 * port, into A. */
static int
hop_parse(const char *s, size_t len, unsigned char a[16])
{
	const char *colon;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL || (rb + 1 != s + len && rb[1] != ':'))
			return -1;
		return addr_parse(s + 1, (size_t)(rb - s - 1), a);
	}
	if (addr_parse(s, len, a) == 0)
		return 0;
	/* "192.0.2.1:4711": one colon only, or it would be IPv6. */
	colon = memchr(s, ':', len);
	if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) == NULL)
		return addr_parse(s, (size_t)(colon - s), a) == 0 &&
		       memchr(s, '.', (size_t)(colon - s)) != NULL ? 0 : -1;
	return -1;
}

void
web_client_resolve(const struct web_proxies *px, const unsigned char peer[16],
		   const char *const *xff, size_t nxff, unsigned char out[16])
{
	size_t hops = 0;

	memcpy(out, peer, 16);
	if (!web_proxies_match(px, peer))
		return;
	/* Right to left over the lines, and within each line. */
	for (size_t l = nxff; l-- > 0;) {
		const char *line = xff[l] != NULL ? xff[l] : "";
		size_t end = strlen(line);

		for (;;) {
			size_t start = end;
			unsigned char a[16];

			while (start > 0 && line[start - 1] != ',')
				start--;
			if (++hops > WEB_XFF_HOPS_MAX || hop_parse(line + start, end - start, a) != 0)
				return;
			memcpy(out, a, 16);
			if (!web_proxies_match(px, a))
				return;
			if (start == 0)
				break;
			end = start - 1;
		}
	}
}

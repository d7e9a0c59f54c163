/*
 * web/proxy.h - trusted reverse proxies (mica serve --trusted-proxy
 * ADDR[/PREFIX]): when a connection comes from one, the client is the
 * rightmost address of X-Forwarded-For that is not itself a trusted proxy,
 * so the rate limiter, the audit trail and the log see clients, not the
 * proxy. From anyone else X-Forwarded-For is ignored: it is only a claim.
 */
#ifndef MICA_WEB_PROXY_H
#define MICA_WEB_PROXY_H

#include <stddef.h>

#include "util/err.h"

#define WEB_PROXIES_MAX    16            /* --trusted-proxy options */
#define WEB_XFF_LINES_MAX  8             /* X-Forwarded-For lines read */
#define WEB_XFF_HOPS_MAX   32            /* addresses looked at, right to left */

/* An address prefix; IPv4 as v4-mapped IPv6 (a /24 is a /120). */
struct web_prefix {
	unsigned char addr[16];
	unsigned bits;                   /* 0..128 */
};

struct web_proxies {
	size_t n;
	struct web_prefix p[WEB_PROXIES_MAX];
};

/*
 * Parse "ADDR" or "ADDR/PREFIX" (numeric IPv4 or IPv6; PREFIX 0..32 or
 * 0..128; bits beyond the prefix must be zero, so "10.1.2.3/8" is refused
 * rather than guessed at) into *OUT. MICA_E_USAGE "bad_proxy" otherwise.
 */
int web_prefix_parse(const char *s, struct web_prefix *out,
		     struct mica_err *err);

/* 1 if the 16-octet address A is inside one of PX's prefixes, else 0
 * (also for a NULL or empty PX). */
int web_proxies_match(const struct web_proxies *px, const unsigned char a[16]);

/*
 * The client of a request that came from PEER (16 octets) with the
 * X-Forwarded-For field lines XFF[0..NXFF) in the order received (RFC
 * 9110 5.3: together they are one comma-separated list). If PEER is not a
 * trusted proxy, the client is PEER. Otherwise the list is walked from the
 * right: each trusted address is skipped and the first untrusted one is
 * the client; if the list ends or holds something that is not an address
 * ("unknown", a name) first, the client is the last trusted hop seen.
 * Entries may carry a port ("192.0.2.1:4711", "[2001:db8::1]:4711").
 * The client goes to OUT (16 octets).
 */
void web_client_resolve(const struct web_proxies *px, const unsigned char peer[16],
			const char *const *xff, size_t nxff, unsigned char out[16]);

#endif

/*
 * web/addr.c - the daemon's own addresses (web/addr.h): parsing the
 * listening addresses, the URLs printed and certified for them, and the
 * host's name.
 */
#include "web/addr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/decimal.h"
#include "web/parse.h"

int
web_addr_parse(const char *opt, const char *s, struct web_addr *a, struct mica_err *err)
{
	char host[128];
	const char *colon;
	size_t hl;
	int64_t port;
	int v6 = 0;

	memset(a, 0, sizeof(*a));
	if (strcmp(s, "none") == 0)
		return 0;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		hl = (size_t)(rb - s - 1);
		colon = rb + 1;
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hl);
		v6 = 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	/* A number in an option has one spelling (util/decimal.h). */
	if (mica_decimal(colon + 1, 1, 65535, &port) != 0)
		goto bad;
	a->port = (int)port;
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		a->wildcard = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		inet_ntop(AF_INET6, &s6->sin6_addr, a->host, sizeof(a->host));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;

		if (host[0] == '\0' || strcmp(host, "*") == 0)
			snprintf(host, sizeof(host), "0.0.0.0");
		else if (strcmp(host, "localhost") == 0)
			snprintf(host, sizeof(host), "127.0.0.1");
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		a->wildcard = s4->sin_addr.s_addr == htonl(INADDR_ANY);
		inet_ntop(AF_INET, &s4->sin_addr, a->host, sizeof(a->host));
	}
	a->on = 1;
	return 0;
bad:
	return mica_err_set(err, MICA_E_USAGE, "bad_address",
			    "%s wants ADDR:PORT with a numeric address (127.0.0.1:8080, "
			    "0.0.0.0:8080, [::1]:8080) or none", opt);
}

void
web_host_name(char *out, size_t size)
{
	char buf[256];
	size_t n;

	if (gethostname(buf, sizeof(buf)) != 0)
		buf[0] = '\0';
	buf[sizeof(buf) - 1] = '\0';
	n = strlen(buf);
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];

		if (c >= 'A' && c <= 'Z')
			buf[i] = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '.'))
			n = 0;
	}
	snprintf(out, size, "%s", n > 0 && n < size ? buf : "localhost");
}

int
web_addr_url(const struct web_addr *a, const char *scheme, char *out, size_t size)
{
	char host[256];
	int n;

	if (a->wildcard)
		web_host_name(host, sizeof(host));
	else
		snprintf(host, sizeof(host), "%s", a->host);
	if (strchr(host, ':') != NULL)
		n = snprintf(out, size, "%s://[%s]:%d", scheme, host, a->port);
	else
		n = snprintf(out, size, "%s://%s:%d", scheme, host, a->port);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
web_hsts_applies(const struct web_addr *http, const struct web_addr *https)
{
	return https != NULL && https->on && https->port == 443 &&
	       (http == NULL || !http->on || http->port == 80);
}

/*
 * web/addr.h - the daemon's own addresses: the --http/--https option
 * values ("ADDR:PORT", "[V6]:PORT" or "none"), the URLs shown for them,
 * and the names the host goes by.
 */
#ifndef MICA_WEB_ADDR_H
#define MICA_WEB_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util/err.h"

struct web_addr {
	int on;                       /* 0 for "none" */
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN];  /* numeric */
	int port;
	int wildcard;                 /* 0.0.0.0 or :: */
};

/*
 * Parse S, the value of option OPT (named in the message), into *A:
 * "ADDR:PORT" with a numeric IPv4 address ("", "*" and "localhost" are
 * taken as 0.0.0.0, 0.0.0.0 and 127.0.0.1), "[V6]:PORT", or "none" (A->on
 * is 0). MICA_E_USAGE "bad_address" otherwise.
 */
int web_addr_parse(const char *opt, const char *s, struct web_addr *a,
		   struct mica_err *err);

/* "SCHEME://HOST:PORT" for A into OUT ("[V6]" for IPv6); a wildcard
 * address is shown as the host name. -1 if it does not fit in SIZE. */
int web_addr_url(const struct web_addr *a, const char *scheme, char *out,
		 size_t size);

/*
 * 1 if an HTTPS listener on HTTPS may send Strict-Transport-Security
 * (RFC 6797): a browser applies it to every port of the host name, and
 * turns http://HOST:PORT into https://HOST:PORT, keeping any port but 80
 * (which becomes 443; RFC 6797 8.3). So it is sent only when every URL it
 * upgrades lands on that listener: HTTPS on port 443 and plain HTTP
 * (HTTP) off or on port 80. Otherwise http://HOST:8080/ca.crt would
 * become https://HOST:8080/ca.crt, where the plain HTTP listener cannot
 * answer, and the root page and public files would fail in that browser
 * for the header's lifetime, with no way past the error.
 */
int web_hsts_applies(const struct web_addr *http, const struct web_addr *https);

/* This host's name, lowercased, if it is a usable DNS name, else
 * "localhost", into OUT. */
void web_host_name(char *out, size_t size);


#endif

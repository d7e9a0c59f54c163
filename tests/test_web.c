/*
 * tests/test_web.c - the daemon's request handling without a network:
 * path decoding and route matching (traversal refused), 405 with Allow,
 * query strings and serials, headers, JSON body validation with wrong
 * types, the error-to-status mapping, rendering, and the table of failed
 * authentications.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_csr.h>

#include "ca/acme.h"
#include "ca/ca.h"
#include "db/db.h"     /* ACME fixtures for the listings: no ACME client here */
#include "util/log.h"
#include "util/shown.h"
#include "web/acme.h"
#include "web/addr.h"
#include "web/api.h"
#include "web/blob.h"
#include "web/conns.h"
#include "web/dispatch.h"
#include "web/json.h"
#include "web/listener.h"
#include "web/parse.h"
#include "web/proxy.h"
#include "web/ratelimit.h"
#include "web/reply.h"
#include "web/routes.h"
#include "web/server.h"

/* ---------------------------------------------------------- acceptor -- */

static int
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* The acceptor moves each new socket to a number that falls on the
 * worker it chose (libmicrohttpd picks the worker by number, modulo the
 * pool's size). Seen in workers.sh: the lowest free number fell on a full
 * worker, and the free numbers above it on other full workers; searching
 * only four numbers, every new connection was accepted on that same
 * number, not moved, and closed. */
static void
test_fd_on_worker(void)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC), fds[64], c, d;
	int ring[100], lo = INT_MAX, hi = -1;
	const unsigned n = 4, w = 1;

	CU_ASSERT_FATAL(null >= 0);
	for (int i = 0; i < 64; i++)
		CU_ASSERT_FATAL((fds[i] = fcntl(null, F_DUPFD_CLOEXEC, 0)) >= 0);
	/* A number on W already: kept. */
	c = fds[63] + 1;
	c = fcntl(null, F_DUPFD_CLOEXEC, c + (int)((w + n - (unsigned)c % n) % n));
	CU_ASSERT_FATAL(c >= 0 && (unsigned)c % n == w);
	CU_ASSERT_EQUAL(web_fd_on_worker(c, w, n, 64), c);
	close(c);

	/* Holes in the block on every worker but W: the lowest of them is
	 * the new socket, the others are in the way. Four tries do not get
	 * past them; enough do, to the first free number on W. */
	for (int i = 0; i < 48; i++)
		if ((unsigned)fds[i] % n != w) {
			close(fds[i]);
			fds[i] = -1;
		}
	c = fcntl(null, F_DUPFD_CLOEXEC, 0);
	CU_ASSERT_FATAL(c >= 0);
	CU_ASSERT((unsigned)c % n != w);
	CU_ASSERT_EQUAL(web_fd_on_worker(c, w, n, 4), c);
	CU_ASSERT(fd_open(c));          /* not moved: still open */
	d = web_fd_on_worker(c, w, n, 64);
	CU_ASSERT_EQUAL((unsigned)d % n, w);
	CU_ASSERT(d > fds[63]);
	CU_ASSERT(!fd_open(c));        /* moved: the old number closed */
	CU_ASSERT(fd_open(d));
	close(d);

	/* One free number on W close by: taken there. */
	d = -1;
	for (int i = 1, hole = 0; i < 48 && d < 0; i++) {
		hole |= fds[i - 1] < 0;
		if (hole && fds[i] >= 0 && (unsigned)fds[i] % n == w) {
			close(fds[i]);
			d = fds[i];
			fds[i] = -1;
		}
	}
	CU_ASSERT_FATAL(d >= 0);
	c = fcntl(null, F_DUPFD_CLOEXEC, 0);
	CU_ASSERT_FATAL(c >= 0 && c < d);
	CU_ASSERT_EQUAL(web_fd_on_worker(c, w, n, 64), d);
	close(d);
	for (int i = 0; i < 64; i++)
		if (fds[i] >= 0)
			close(fds[i]);

	/* A long run of connections opening and closing, each on the
	 * worker whose turn it is: always placed, and the numbers stay
	 * within what is open at once (a search above the highest number
	 * ever used would climb to the descriptor limit and stop moving). */
	for (int i = 0; i < 100; i++)
		ring[i] = -1;
	for (int i = 0; i < 5000; i++) {
		int k = i % 100;

		if (ring[k] >= 0)
			close(ring[k]);
		c = fcntl(null, F_DUPFD_CLOEXEC, 0);
		CU_ASSERT_FATAL(c >= 0);
		lo = c < lo ? c : lo;
		d = web_fd_on_worker(c, (unsigned)(i * 7 % 4), n, 64);
		CU_ASSERT_EQUAL_FATAL((unsigned)d % n, (unsigned)(i * 7 % 4));
		ring[k] = d;
		hi = d > hi ? d : hi;
	}
	CU_ASSERT(hi - lo < 100 * 4 + 8);
	for (int i = 0; i < 100; i++)
		close(ring[i]);
	close(null);
}

/* ------------------------------------------------------------ decode -- */

/* HSTS covers every port of the host name: sent only where each URL it
 * upgrades reaches the HTTPS listener (http://H/ -> https://H:443/). */
/* A port in --http/--https has one spelling, as every number an option
 * or a query takes: 08080 is not 8080. */
static void
test_addr_port_one_spelling(void)
{
	static const char *const bad[] = {
		"127.0.0.1:08080", "127.0.0.1:+8080", "127.0.0.1: 8080",
		"127.0.0.1:8080 ", "127.0.0.1:0x1f90", "[::1]:0443", "127.0.0.1:0",
	};
	struct web_addr a;
	struct mica_err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(web_addr_parse("--http", bad[i], &a, &e), -1);
	CU_ASSERT_EQUAL(web_addr_parse("--http", "127.0.0.1:8080", &a, &e), 0);
	CU_ASSERT_EQUAL(a.port, 8080);
}

static void
test_hsts_applies(void)
{
	static const struct {
		const char *http, *https;
		int want;
	} cases[] = {
		{ "127.0.0.1:8080", "127.0.0.1:8443", 0 },  /* the default */
		{ "0.0.0.0:8080", "0.0.0.0:443", 0 },       /* :8080 -> https:8080 */
		{ "0.0.0.0:80", "0.0.0.0:8443", 0 },        /* :80 -> :443, nobody */
		{ "none", "0.0.0.0:8443", 0 },
		{ "0.0.0.0:80", "0.0.0.0:443", 1 },
		{ "none", "[::]:443", 1 },
		{ "0.0.0.0:80", "none", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct web_addr h, s;
		struct mica_err e;

		CU_ASSERT_EQUAL_FATAL(web_addr_parse("--http", cases[i].http, &h, &e), 0);
		CU_ASSERT_EQUAL_FATAL(web_addr_parse("--https", cases[i].https, &s, &e), 0);
		if (web_hsts_applies(&h, &s) != cases[i].want)
			fprintf(stderr, "hsts: --http %s --https %s: want %d\n",
				cases[i].http, cases[i].https, cases[i].want);
		CU_ASSERT_EQUAL(web_hsts_applies(&h, &s), cases[i].want);
	}
}

static void
test_pct_decode(void)
{
	static const struct {
		const char *in;
		int plus;
		const char *want;   /* NULL: refused */
	} cases[] = {
		{ "plain", 0, "plain" },
		{ "a%20b", 0, "a b" },
		{ "%41%4a%4A", 0, "AJJ" },
		{ "a+b", 1, "a b" },
		{ "a+b", 0, "a+b" },
		{ "%2B", 1, "+" },
		{ "", 0, "" },
		{ "%", 0, NULL },
		{ "%4", 0, NULL },
		{ "a%", 0, NULL },
		{ "%zz", 0, NULL },
		{ "%g0", 0, NULL },
		{ "%00", 0, NULL },          /* NUL would cut the string */
		{ "a%0ab", 0, NULL },        /* control characters */
		{ "%7f", 0, NULL },
		{ "a\tb", 0, NULL },
		{ "a\x01", 0, NULL },
		/* base64 wrapped in lines (sscep's SCEP GET): CR and LF go */
		{ "QU%0AJD%0D%0A+", WEB_PCT_PLUS | WEB_PCT_DROP_NL, "QUJD " },
		{ "a%0Db", WEB_PCT_DROP_NL, "ab" },
		{ "a%09b", WEB_PCT_DROP_NL, NULL },   /* a tab is no line end */
		{ "a%00b", WEB_PCT_DROP_NL, NULL },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = web_pct_decode(cases[i].in, strlen(cases[i].in), cases[i].plus,
				       out, sizeof(out));

		if (cases[i].want == NULL) {
			CU_ASSERT_EQUAL(n, -1);
		} else {
			CU_ASSERT_EQUAL(n, (int)strlen(cases[i].want));
			CU_ASSERT_STRING_EQUAL(out, cases[i].want);
		}
	}
	/* Output that does not fit is refused, not truncated. */
	CU_ASSERT_EQUAL(web_pct_decode("abcdef", 6, 0, out, 6), -1);
	CU_ASSERT_EQUAL(web_pct_decode("abcde", 5, 0, out, 6), 5);
}

static void
test_path_traversal(void)
{
	static const struct {
		const char *raw;
		const char *want;   /* NULL: 400 bad_path */
	} cases[] = {
		{ "/ca.crt", "/ca.crt" },
		{ "/", "/" },
		{ "/api/v1/requests/", "/api/v1/requests/" },
		{ "/%41pi", "/Api" },
		{ "/...", "/..." },            /* not a dot segment */
		{ "/.well-known/x", "/.well-known/x" },
		{ "/api/v1/../ca.crt", NULL },
		{ "/api/v1/%2e%2e/ca.crt", NULL },
		{ "/api/v1/%2E%2e/ca.crt", NULL },
		{ "/api/v1/.%2e/ca.crt", NULL },
		{ "/api/v1/%2e./ca.crt", NULL },
		{ "/..", NULL },
		{ "/./ca.crt", NULL },
		{ "/api/v1/.", NULL },
		{ "/api/v1/certificates/..%2f..%2fetc", NULL },
		{ "/api/v1/certificates/a%2Fb", NULL },   /* encoded slash */
		{ "/api/v1/certificates/a%5cb", NULL },   /* encoded backslash */
		{ "/a/%00", NULL },
		{ "/a/%zz", NULL },
		{ "ca.crt", NULL },
		{ "", NULL },
		{ "http://host/ca.crt", NULL },
		{ "/crl#x", NULL },                       /* a fragment */
		{ "/#", NULL },
		{ "/a%23b", "/a#b" },                     /* '#' as data */
	};
	struct mica_err err;
	char out[WEB_PATH_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		mica_err_clear(&err);
		rc = web_path_parse(cases[i].raw, strlen(cases[i].raw), out, sizeof(out), &err);
		if (cases[i].want == NULL) {
			CU_ASSERT_EQUAL(rc, -1);
			CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_path");
		} else {
			CU_ASSERT_EQUAL_FATAL(rc, 0);
			CU_ASSERT_STRING_EQUAL(out, cases[i].want);
		}
	}
	/* Only the path part given is looked at. */
	CU_ASSERT_EQUAL(web_path_parse("/crl?x=/../", 4, out, sizeof(out), &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "/crl");
	/* Too long for the output: refused. */
	{
		char big[WEB_PATH_MAX + 10];

		memset(big, 'a', sizeof(big));
		big[0] = '/';
		CU_ASSERT_EQUAL(web_path_parse(big, sizeof(big), out, sizeof(out), &err), -1);
	}
}

/* ------------------------------------------------------------ routes -- */

static void
test_route_match(void)
{
	static const struct {
		const char *method, *path;
		web_handler_fn fn;      /* NULL: not found */
		const char *param;
	} cases[] = {
		{ "GET", "/ca.crt", web_h_ca_der, NULL },
		{ "HEAD", "/ca.crt", web_h_ca_der, NULL },
		{ "GET", "/ca.pem", web_h_ca_pem, NULL },
		{ "GET", "/crl", web_h_crl_der, NULL },
		{ "GET", "/crl.pem", web_h_crl_pem, NULL },
		{ "GET", "/healthz", web_h_healthz, NULL },
		{ "POST", "/api/v1/requests", web_h_req_submit, NULL },
		{ "GET", "/api/v1/requests", web_h_req_list, NULL },
		{ "GET", "/api/v1/requests/0a1b", web_h_req_get, "0a1b" },
		{ "GET", "/api/v1/requests/0a1b/certificate.pem", web_h_req_cert_pem, "0a1b" },
		{ "HEAD", "/api/v1/requests/0a1b/certificate.p7b", web_h_req_cert_p7b, "0a1b" },
		{ "POST", "/api/v1/requests/0a1b/approve", web_h_req_approve, "0a1b" },
		{ "POST", "/api/v1/requests/0a1b/deny", web_h_req_deny, "0a1b" },
		{ "GET", "/api/v1/certificates", web_h_cert_list, NULL },
		{ "GET", "/api/v1/certificates/01:AB", web_h_cert_get, "01:AB" },
		{ "GET", "/api/v1/certificates/01:AB/chain.pem", web_h_cert_chain_pem, "01:AB" },
		{ "GET", "/api/v1/certificates/1f/chain.p7b", web_h_cert_chain_p7b, "1f" },
		{ "POST", "/api/v1/certificates/0x1f/renew", web_h_cert_renew, "0x1f" },
		{ "POST", "/api/v1/certificates/1f/renew-challenge", web_h_cert_renew_challenge, "1f" },
		{ "POST", "/api/v1/certificates/1f/revoke", web_h_cert_revoke, "1f" },
		{ "POST", "/api/v1/certificates/1f/unrevoke", web_h_cert_unrevoke, "1f" },
		{ "POST", "/api/v1/crl", web_h_crl_publish, NULL },
		{ "POST", "/api/v1/tokens", web_h_token_create, NULL },
		{ "GET", "/api/v1/tokens", web_h_token_list, NULL },
		{ "DELETE", "/api/v1/tokens/abcd", web_h_token_delete, "abcd" },
		{ "GET", "/api/v1/audit", web_h_audit, NULL },
		{ "GET", "/api/v1/status", web_h_status, NULL },
		/* not found */
		{ "GET", "/", NULL, NULL },
		{ "GET", "/nope", NULL, NULL },
		{ "GET", "/ca.crt/", NULL, NULL },
		{ "GET", "/ca.crtx", NULL, NULL },
		{ "GET", "/CA.CRT", NULL, NULL },
		{ "GET", "/api/v1/requests/", NULL, NULL },
		{ "POST", "/api/v1/requests//approve", NULL, NULL },
		{ "GET", "/api/v1/requests/a/b", NULL, NULL },
		{ "POST", "/api/v1/certificates/1f/renew-", NULL, NULL },
		{ "POST", "/api/v1/certificates/1f/renewchallenge", NULL, NULL },
		{ "GET", "/api/v1/certificates/1f/chain.der", NULL, NULL },
		{ "GET", "/api/v1/certificates//chain.p7b", NULL, NULL },
		{ "GET", "/api/v1/requests/0a1b/certificate", NULL, NULL },
		{ "GET", "/api/v2/requests", NULL, NULL },
		{ "GET", "//ca.crt", NULL, NULL },
	};
	const struct web_route *t;
	struct web_match m;
	size_t n;

	t = web_routes(&n);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = web_route_match(t, n, cases[i].method, cases[i].path, &m);

		if (cases[i].fn == NULL) {
			CU_ASSERT_EQUAL(rc, WEB_ROUTE_NOT_FOUND);
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(rc, WEB_ROUTE_OK);
		CU_ASSERT_PTR_EQUAL(m.route->fn, cases[i].fn);
		if (cases[i].param != NULL) {
			CU_ASSERT_EQUAL(m.nparams, 1);
			CU_ASSERT_STRING_EQUAL(m.param[0], cases[i].param);
		} else {
			CU_ASSERT_EQUAL(m.nparams, 0);
		}
	}
	/* A parameter longer than WEB_PARAM_MAX - 1 matches its route as
	 * overlong, with an empty param (the dispatcher's 400, not a 404);
	 * one byte shorter, as it is. */
	{
		char path[300];

		snprintf(path, sizeof(path), "/api/v1/requests/%0*d", WEB_PARAM_MAX, 7);
		CU_ASSERT_EQUAL(web_route_match(t, n, "GET", path, &m), WEB_ROUTE_OK);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m.route);
		CU_ASSERT_STRING_EQUAL(m.route->pattern, "/api/v1/requests/{id}");
		CU_ASSERT_EQUAL(m.overlong, 1);
		CU_ASSERT_STRING_EQUAL(m.param[0], "");
		snprintf(path, sizeof(path), "/api/v1/requests/%0*d/approve",
			 WEB_PARAM_MAX + 100, 7);
		CU_ASSERT_EQUAL(web_route_match(t, n, "POST", path, &m), WEB_ROUTE_OK);
		CU_ASSERT_EQUAL(m.overlong, 1);
		/* By another method: 405, as for a short id. */
		CU_ASSERT_EQUAL(web_route_match(t, n, "PUT", path, &m),
				WEB_ROUTE_BAD_METHOD);
		snprintf(path, sizeof(path), "/api/v1/requests/%0*d", WEB_PARAM_MAX - 1, 7);
		CU_ASSERT_EQUAL(web_route_match(t, n, "GET", path, &m), WEB_ROUTE_OK);
		CU_ASSERT_EQUAL(m.overlong, 0);
		CU_ASSERT_EQUAL(strlen(m.param[0]), WEB_PARAM_MAX - 1);
	}
}

static void
test_route_method_not_allowed(void)
{
	static const struct {
		const char *method, *path, *allow;
	} cases[] = {
		{ "DELETE", "/ca.crt", "GET, HEAD" },
		{ "POST", "/crl", "GET, HEAD" },
		{ "PUT", "/api/v1/requests", "POST, GET, HEAD" },
		{ "GET", "/api/v1/requests/ab/approve", "POST" },
		{ "POST", "/api/v1/tokens/ab", "DELETE" },
		{ "DELETE", "/api/v1/certificates/01", "GET, HEAD" },
		{ "POST", "/api/v1/certificates/01/chain.p7b", "GET, HEAD" },
		{ "PUT", "/api/v1/requests/ab/certificate.pem", "GET, HEAD" },
		{ "get", "/ca.crt", "GET, HEAD" },   /* methods are case-sensitive */
		{ "OPTIONS", "/api/v1/crl", "POST" },
	};
	const struct web_route *t;
	struct web_match m;
	size_t n;

	t = web_routes(&n);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(web_route_match(t, n, cases[i].method, cases[i].path, &m),
				WEB_ROUTE_BAD_METHOD);
		CU_ASSERT_STRING_EQUAL(m.allow, cases[i].allow);
	}
	/* A tail route ("/ocsp/{*}") by another method, however long or
	 * encoded its tail; by its own, the tail raw; with a query, none. */
	{
		static const char *const tails[] = {
			"/ocsp/MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQ",
			"/ocsp/a/b/c==",
		};
		char longer[2000];

		memset(longer, 'A', sizeof(longer) - 1);
		memcpy(longer, "/ocsp/", 6);
		longer[sizeof(longer) - 1] = '\0';
		for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
			CU_ASSERT_EQUAL(web_route_match_tail(t, n, "POST", tails[i],
							     strlen(tails[i]), &m),
					WEB_ROUTE_BAD_METHOD);
			CU_ASSERT_STRING_EQUAL(m.allow, "GET, HEAD");
			CU_ASSERT_EQUAL(web_route_match_tail(t, n, "GET", tails[i],
							     strlen(tails[i]), &m),
					WEB_ROUTE_OK);
			CU_ASSERT_STRING_EQUAL(m.tail, tails[i] + 6);
			CU_ASSERT_STRING_EQUAL(m.allow, "");
		}
		CU_ASSERT_EQUAL(web_route_match_tail(t, n, "PUT", longer, strlen(longer), &m),
				WEB_ROUTE_BAD_METHOD);
		CU_ASSERT_EQUAL(web_route_match_tail(t, n, "HEAD", longer, strlen(longer), &m),
				WEB_ROUTE_OK);
		CU_ASSERT_EQUAL(web_route_match_tail(t, n, "POST", "/ocsp", 5, &m),
				WEB_ROUTE_NOT_FOUND);
		CU_ASSERT_EQUAL(web_route_match_tail(t, n, "POST", "/ocsp/x?y", 9, &m),
				WEB_ROUTE_NOT_FOUND);
	}
}

static void
test_route_table_sane(void)
{
	const struct web_route *t;
	size_t n;

	t = web_routes(&n);
	CU_ASSERT(n > 10);
	for (size_t i = 0; i < n; i++) {
		int api = strncmp(t[i].pattern, "/api/v1/", 8) == 0;
		int acme = strncmp(t[i].pattern, WEB_ACME_PREFIX,
				   strlen(WEB_ACME_PREFIX)) == 0;

		CU_ASSERT_PTR_NOT_NULL(t[i].fn);
		CU_ASSERT(t[i].auth == WEB_AUTH_PUBLIC || t[i].auth == WEB_AUTH_ANY ||
			  t[i].auth == WEB_AUTH_ADMIN || t[i].auth == WEB_AUTH_ACME);
		/* Public files outside /api, API routes never public; ACME's
		 * routes, and only they, authenticate by JWS. */
		CU_ASSERT_EQUAL(acme, t[i].auth == WEB_AUTH_ACME);
		if (!acme)
			CU_ASSERT_EQUAL(api, t[i].auth != WEB_AUTH_PUBLIC);
		CU_ASSERT(strcmp(t[i].method, "GET") == 0 || strcmp(t[i].method, "POST") == 0 ||
			  strcmp(t[i].method, "DELETE") == 0);
		for (size_t k = i + 1; k < n; k++)
			CU_ASSERT(strcmp(t[i].method, t[k].method) != 0 ||
				  strcmp(t[i].pattern, t[k].pattern) != 0);
	}
}

/* ------------------------------------------------------------- query -- */

static void
test_query_parse(void)
{
	static const char *const bad[] = {
		"a=1&a=2",        /* duplicate */
		"=x",             /* empty key */
		"&a=1",
		"a=1&",
		"a=%zz",
		"%zz=1",
		"a=%00",
		"a=1&&b=2",
		"a=%0d%0aSet-Cookie:x",
	};
	struct web_query q;
	struct mica_err err;
	char many[256], big[2100];
	int64_t v;

	CU_ASSERT_EQUAL(web_query_parse(NULL, &q, &err), 0);
	CU_ASSERT_EQUAL(q.n, 0);
	web_query_free(&q);
	CU_ASSERT_EQUAL(web_query_parse("", &q, &err), 0);
	web_query_free(&q);

	CU_ASSERT_EQUAL_FATAL(web_query_parse("status=valid&limit=10&name=a+b%2Ec&flag", &q, &err), 0);
	CU_ASSERT_EQUAL(q.n, 4);
	CU_ASSERT_STRING_EQUAL(web_query_get(&q, "status"), "valid");
	CU_ASSERT_STRING_EQUAL(web_query_get(&q, "name"), "a b.c");
	CU_ASSERT_STRING_EQUAL(web_query_get(&q, "flag"), "");
	CU_ASSERT_PTR_NULL(web_query_get(&q, "cursor"));
	CU_ASSERT_EQUAL(web_query_allow(&q, "status limit name flag", &err), 0);
	CU_ASSERT_EQUAL(web_query_allow(&q, "status limit", &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "unknown_parameter");
	CU_ASSERT_EQUAL(web_query_allow(&q, NULL, &err), -1);
	/* word boundaries: "stat" is not "status" */
	CU_ASSERT_EQUAL(web_query_allow(&q, "stat limit name flag", &err), -1);
	CU_ASSERT_EQUAL(web_query_int(&q, "limit", 1, 1000, 100, &v, &err), 0);
	CU_ASSERT_EQUAL(v, 10);
	CU_ASSERT_EQUAL(web_query_int(&q, "cursor", 1, 1000, 77, &v, &err), 0);
	CU_ASSERT_EQUAL(v, 77);
	CU_ASSERT_EQUAL(web_query_int(&q, "limit", 11, 1000, 100, &v, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_parameter");
	CU_ASSERT_EQUAL(web_query_int(&q, "status", 1, 1000, 100, &v, &err), -1);
	web_query_free(&q);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mica_err_clear(&err);
		CU_ASSERT_EQUAL(web_query_parse(bad[i], &q, &err), -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
		web_query_free(&q);
	}
	/* more pairs than WEB_QUERY_KEYS */
	many[0] = '\0';
	for (int i = 0; i <= WEB_QUERY_KEYS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sk%d=1",
			 i ? "&" : "", i);
	CU_ASSERT_EQUAL(web_query_parse(many, &q, &err), -1);
	web_query_free(&q);
	/* overlong */
	memset(big, 'a', sizeof(big) - 1);
	big[0] = 'k';
	big[1] = '=';
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(web_query_parse(big, &q, &err), -1);
	web_query_free(&q);
	/* SCEP's GET message, wrapped in lines: the line ends go, and only
	 * where the caller says so. */
	CU_ASSERT_EQUAL_FATAL(web_query_parse_max("operation=PKIOperation&"
						  "message=QU%0AJD%0D%0A",
						  WEB_QUERY_SCEP_MAX,
						  WEB_PCT_DROP_NL, &q, &err), 0);
	CU_ASSERT_STRING_EQUAL(web_query_get(&q, "message"), "QUJD");
	web_query_free(&q);
	CU_ASSERT_EQUAL(web_query_parse("message=QU%0AJD", &q, &err), -1);
	web_query_free(&q);
}

static void
test_parse_int(void)
{
	static const struct {
		const char *s;
		int ok;
		int64_t v;
	} cases[] = {
		{ "0", 1, 0 }, { "42", 1, 42 }, { "-1", 1, -1 },
		{ "9223372036854775807", 1, INT64_MAX },
		{ "9223372036854775808", 0, 0 },
		{ "99999999999999999999", 0, 0 },
		{ "", 0, 0 }, { "-", 0, 0 }, { "+1", 0, 0 }, { " 1", 0, 0 },
		{ "1 ", 0, 0 }, { "0x10", 0, 0 }, { "1e3", 0, 0 }, { "1.0", 0, 0 },
		/* Leading zeros are dropped before digits only: a '-' after
		 * them is no sign (a Content-Length "0-0" read as 0). */
		{ "00-123", 0, 0 }, { "0-0", 0, 0 }, { "0-", 0, 0 },
		{ "-007", 1, -7 }, { "000", 1, 0 },
	};
	int64_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = web_parse_int(cases[i].s, INT64_MIN, INT64_MAX, &v);

		CU_ASSERT_EQUAL(rc, cases[i].ok ? 0 : -1);
		if (cases[i].ok) {
			CU_ASSERT_EQUAL(v, cases[i].v);
		}
	}
	CU_ASSERT_EQUAL(web_parse_int("0", 1, 10, &v), -1);
	CU_ASSERT_EQUAL(web_parse_int("11", 1, 10, &v), -1);
	CU_ASSERT_EQUAL(web_parse_int(NULL, 1, 10, &v), -1);
}

/* A query parameter's number has one spelling: what curl sends for
 * "days=030", "+30" or " 30" is refused, naming the parameter, rather
 * than read as 30 (or as 24, octal, by the next tool along). */
static void
test_query_int_one_spelling(void)
{
	static const char *const bad[] = {
		"days=030", "days=%2B30", "days=%2030", "days=30%20", "days=0x1e",
		"days=3e1", "days=-0", "days=00", "days=",
	};
	struct web_query q;
	struct mica_err err;
	int64_t v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(web_query_parse(bad[i], &q, &err), 0);
		v = 5;
		mica_err_clear(&err);
		CU_ASSERT_EQUAL(web_query_int(&q, "days", 0, 3650, 0, &v, &err), -1);
		CU_ASSERT_EQUAL(v, 5);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_parameter");
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "\"days\""));
		web_query_free(&q);
	}
	CU_ASSERT_EQUAL_FATAL(web_query_parse("days=30&since=0", &q, &err), 0);
	CU_ASSERT_EQUAL(web_query_int(&q, "days", 1, 3650, 0, &v, &err), 0);
	CU_ASSERT_EQUAL(v, 30);
	CU_ASSERT_EQUAL(web_query_int(&q, "since", 0, INT64_MAX, 9, &v, &err), 0);
	CU_ASSERT_EQUAL(v, 0);
	web_query_free(&q);
	/* A Content-Length keeps its leading zeros (RFC 9110 8.6: 1*DIGIT). */
	CU_ASSERT_EQUAL(web_parse_int("0032", 0, INT64_MAX, &v), 0);
	CU_ASSERT_EQUAL(v, 32);
}

static void
test_serial_parse(void)
{
	static const struct {
		const char *in, *want;   /* want NULL: 400 bad_serial */
	} cases[] = {
		{ "01abcd", "01abcd" },
		{ "01:AB:cd", "01abcd" },
		{ "0x1F", "1f" },
		{ "00:00:01", "01" },
		{ "abc", "0abc" },
		{ "xyz", NULL },
		{ "", NULL },
		{ "0x", NULL },
		{ "12 34", NULL },
		{ "1234567890123456789012345678901234567890a", NULL },
		{ "../etc", NULL },
		{ "-1", NULL },
	};
	char out[CA_SERIAL_MAX];
	struct mica_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		mica_err_clear(&err);
		rc = ca_serial_parse(cases[i].in, out, &err);
		if (cases[i].want == NULL) {
			CU_ASSERT_EQUAL(rc, -1);
			CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_serial");
		} else {
			CU_ASSERT_EQUAL(rc, 0);
			if (rc == 0) {
				CU_ASSERT_STRING_EQUAL(out, cases[i].want);
			}
		}
	}
}

static void
test_ids(void)
{
	char longid[CA_ID_MAX + 1];

	CU_ASSERT(web_id_valid("0123456789abcdef"));
	CU_ASSERT(web_id_valid("a"));
	CU_ASSERT(!web_id_valid(""));
	CU_ASSERT(!web_id_valid(NULL));
	CU_ASSERT(!web_id_valid("ABCDEF"));
	CU_ASSERT(!web_id_valid("abc-def"));
	CU_ASSERT(!web_id_valid("..%2f"));
	memset(longid, 'a', sizeof(longid));
	longid[CA_ID_MAX] = '\0';
	CU_ASSERT(!web_id_valid(longid));
	longid[CA_ID_MAX - 1] = '\0';
	CU_ASSERT(web_id_valid(longid));
}

/* ----------------------------------------------------------- headers -- */

static void
test_media_type(void)
{
	static const struct {
		const char *in, *want;   /* want NULL: refused */
	} cases[] = {
		{ "application/json", "application/json" },
		{ "Application/JSON; charset=utf-8", "application/json" },
		{ "  application/pkcs10", "application/pkcs10" },
		{ "text/plain;", "text/plain" },
		{ "text/plain ; charset=us-ascii", "text/plain" },
		{ "", "" },
		{ "json", NULL },
		{ "/json", NULL },
		{ "application/", NULL },
		{ "a/b/c", NULL },
		{ "application/json extra", NULL },
		{ "app\x01/json", NULL },
		{ "application/json\"", NULL },
	};
	char out[64], small[8];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = web_media_type(cases[i].in, out, sizeof(out));

		if (cases[i].want == NULL) {
			CU_ASSERT_EQUAL(rc, -1);
		} else {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_STRING_EQUAL(out, cases[i].want);
		}
	}
	CU_ASSERT_EQUAL(web_media_type(NULL, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(web_media_type("application/json", small, sizeof(small)), -1);
}

static void
test_bearer(void)
{
	static const struct {
		const char *in, *want;   /* want NULL: refused */
	} cases[] = {
		{ "Bearer mica_0123_abcd", "mica_0123_abcd" },
		{ "bearer  tok  ", "tok" },
		{ "BEARER a-b.c~d+e/f==", "a-b.c~d+e/f==" },
		{ "Basic dXNlcjpwYXNz", NULL },
		{ "Bearer", NULL },
		{ "Bearer ", NULL },
		{ "Bearerabc", NULL },
		{ "Bearer a b", NULL },
		{ "Bearer a\"b", NULL },
		{ "Bearer a\tb", NULL },
		{ "Bearer\ttok", NULL },
		{ "", NULL },
		/* RFC 6750 2.1: '=' pads the end, after one other. */
		{ "Bearer ab=cd", NULL },
		{ "Bearer ===", NULL },
		{ "Bearer a=", "a=" },
	};
	char tok[CA_TOKEN_MAX], small[4];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = web_bearer(cases[i].in, tok, sizeof(tok));

		if (cases[i].want == NULL) {
			CU_ASSERT_EQUAL(rc, -1);
		} else {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_STRING_EQUAL(tok, cases[i].want);
		}
	}
	CU_ASSERT_EQUAL(web_bearer(NULL, tok, sizeof(tok)), -1);
	/* An oversized token is refused and nothing of it is left behind. */
	CU_ASSERT_EQUAL(web_bearer("Bearer abcdef", small, sizeof(small)), -1);
	CU_ASSERT_EQUAL(small[0], 0);
	CU_ASSERT_EQUAL(small[1], 0);
	CU_ASSERT_EQUAL(small[2], 0);
}

/* -------------------------------------------------------------- JSON -- */

static int
check_body(const char *body, const char **code)
{
	static const struct web_field spec[] = {
		{ "csr",   WEB_J_STRING,   1, 16 },
		{ "days",  WEB_J_INT,      0, 0 },
		{ "names", WEB_J_STRARRAY, 0, 2 },
		{ "flag",  WEB_J_BOOL,     0, 0 },
	};
	static struct mica_err err;
	json_t *j = NULL;
	int rc;

	mica_err_clear(&err);
	*code = err.code;
	rc = web_json_parse((const unsigned char *)body, strlen(body), &j, &err);
	if (rc == 0)
		rc = web_json_check(j, spec, sizeof(spec) / sizeof(spec[0]), &err);
	if (rc != 0)
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	json_decref(j);
	return rc;
}

static void
test_json_validation(void)
{
	static const struct {
		const char *body;
		const char *code;   /* NULL: accepted */
	} cases[] = {
		{ "{\"csr\": \"x\"}", NULL },
		{ "{\"csr\": \"x\", \"days\": 30, \"names\": [\"a\", \"b\"], \"flag\": true}", NULL },
		{ "{\"csr\": \"x\", \"days\": null}", NULL },     /* null is absent */
		{ " {\"csr\": \"x\"} \n", NULL },
		{ "{\"csr\": 1}", "bad_field" },
		{ "{\"csr\": [\"x\"]}", "bad_field" },
		{ "{\"csr\": {\"a\": 1}}", "bad_field" },
		{ "{\"csr\": \"x\", \"days\": \"30\"}", "bad_field" },
		{ "{\"csr\": \"x\", \"days\": 30.0}", "bad_field" },
		{ "{\"csr\": \"x\", \"days\": true}", "bad_field" },
		{ "{\"csr\": \"x\", \"names\": \"a\"}", "bad_field" },
		{ "{\"csr\": \"x\", \"names\": [\"a\", 1]}", "bad_field" },
		{ "{\"csr\": \"x\", \"names\": [\"\"]}", "bad_field" },
		{ "{\"csr\": \"x\", \"names\": [\"a\", \"b\", \"c\"]}", "bad_field" },
		{ "{\"csr\": \"x\", \"flag\": 1}", "bad_field" },
		{ "{\"csr\": \"0123456789abcdefX\"}", "bad_field" },   /* > max */
		{ "{}", "missing_field" },
		{ "{\"csr\": null}", "missing_field" },
		{ "{\"csr\": \"x\", \"profil\": \"server\"}", "unknown_field" },
		{ "{\"csr\": \"x\", \"\\u0001\": 1}", "unknown_field" },
		{ "", "bad_json" },
		{ "not json", "bad_json" },
		{ "[1, 2]", "bad_json" },
		{ "\"csr\"", "bad_json" },
		{ "null", "bad_json" },
		{ "{\"csr\": \"x\"} trailing", "bad_json" },
		{ "{\"csr\": \"x\"}{}", "bad_json" },
		{ "{\"csr\": \"x\", \"csr\": \"y\"}", "bad_json" },    /* duplicate key */
		{ "{\"csr\": \"\\u0000\"}", "bad_json" },              /* NUL in a string */
		{ "{\"csr\": \"\xff\xfe\"}", "bad_json" },             /* not UTF-8 */
		{ "{\"csr\": \"x\",}", "bad_json" },
		{ "{'csr': 'x'}", "bad_json" },
	};
	const char *code;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = check_body(cases[i].body, &code);

		if (cases[i].code == NULL) {
			CU_ASSERT_EQUAL(rc, 0);
		} else {
			CU_ASSERT_EQUAL(rc, -1);
			CU_ASSERT_STRING_EQUAL(code, cases[i].code);
		}
	}
}

/* A refused item of a list says which one and why: "names": [""] was told
 * the field "must be an array of strings", which it was. */
static void
test_json_item_message(void)
{
	static const struct web_field spec[] = {
		{ "csr",   WEB_J_STRING,   1, 16 },
		{ "names", WEB_J_STRARRAY, 0, 2 },
	};
	static const struct {
		const char *body;
		const char *msg;
	} cases[] = {
		{ "{\"csr\": \"x\", \"names\": [\"\"]}",
		  "field \"names\": item 0 must be 1 to 255 bytes long" },
		{ "{\"csr\": \"x\", \"names\": [\"a\", 1]}",
		  "field \"names\" must be an array of strings (item 1 is not a string)" },
		{ "{\"csr\": \"x\", \"names\": \"a\"}",
		  "field \"names\" must be an array of strings" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mica_err err;
		json_t *j = NULL;
		const char *b = cases[i].body;

		mica_err_clear(&err);
		CU_ASSERT_EQUAL_FATAL(web_json_parse((const unsigned char *)b,
						     strlen(b), &j, &err), 0);
		CU_ASSERT_EQUAL(web_json_check(j, spec, 2, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.msg, cases[i].msg);
		json_decref(j);
	}
}

/* A refused body says why in words of its own, never quoting the input
 * (a secret may be in it): the position alone said nothing of a number
 * too large for an integer or a key given twice. */
static void
test_json_why(void)
{
	static const struct {
		const char *body;
		const char *why;
	} cases[] = {
		{ "{\"uses\": 99999999999999999999999, \"t\": \"s3cret\"}", "a number out of range" },
		{ "{\"t\": \"s3cret\", \"t\": \"y\"}", "a member given twice" },
		{ "{\"t\": \"s3cret\\u0000\"}", "a NUL character" },
		{ "{\"t\": \"s3cret\xff\xfe\"}", "not UTF-8" },
		{ "{\"t\": \"s3cret\"} trailing", "something after the value" },
		{ "{\"t\": \"s3cret\"", "it ends too soon" },
		{ "{\"t\": s3cret}", "invalid syntax" },
		/* Valid JSON, but no object: said so. */
		{ "null", "must be a JSON object" },
		{ "\"s3cret\"", "must be a JSON object" },
		{ "[\"s3cret\"]", "must be a JSON object" },
		{ " 42 ", "must be a JSON object" },
	};
	struct mica_err err;
	char deep[8192];
	json_t *j = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mica_err_clear(&err);
		CU_ASSERT_EQUAL(web_json_parse((const unsigned char *)cases[i].body,
					       strlen(cases[i].body), &j, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_json");
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].why));
		CU_ASSERT_PTR_NULL(strstr(err.msg, "s3cret"));
	}
	for (size_t i = 0; i < sizeof(deep) / 2; i++) {
		deep[i] = '[';
		deep[sizeof(deep) - 1 - i] = ']';
	}
	CU_ASSERT_EQUAL(web_json_parse((const unsigned char *)deep, sizeof(deep), &j, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nested too deeply"));
}

static void
test_json_getters(void)
{
	json_t *j = json_loads("{\"s\": \"v\", \"i\": 7, \"b\": true, \"n\": null}", 0, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(web_json_str(j, "s"), "v");
	CU_ASSERT_PTR_NULL(web_json_str(j, "i"));
	CU_ASSERT_PTR_NULL(web_json_str(j, "n"));
	CU_ASSERT_EQUAL(web_json_int(j, "i", 3), 7);
	CU_ASSERT_EQUAL(web_json_int(j, "s", 3), 3);
	CU_ASSERT_EQUAL(web_json_int(NULL, "i", 3), 3);
	CU_ASSERT_EQUAL(web_json_bool(j, "b", 0), 1);
	CU_ASSERT_EQUAL(web_json_bool(j, "x", 0), 0);
	json_decref(j);
}

/* ------------------------------------------------------ error mapping -- */

/* The reply body of R, parsed. */
static json_t *
reply_body(const struct web_reply *r)
{
	if (r->blob != NULL)
		return json_loadb((const char *)r->blob->data, r->blob->len, 0, NULL);
	if (r->pbody != NULL)
		return json_loadb(r->pbody, r->plen, 0, NULL);
	return NULL;
}

static void
test_error_mapping(void)
{
	static const struct {
		mica_errkind kind;
		int status;
	} cases[] = {
		{ MICA_E_BADREQ, 400 }, { MICA_E_UNAUTH, 401 }, { MICA_E_FORBIDDEN, 403 },
		{ MICA_E_NOTFOUND, 404 }, { MICA_E_CONFLICT, 409 }, { MICA_E_TOOLARGE, 413 },
		{ MICA_E_UNSUPPORTED, 415 }, { MICA_E_POLICY, 422 }, { MICA_E_RATE, 429 },
		{ MICA_E_INTERNAL, 500 }, { MICA_E_UNAVAIL, 503 }, { MICA_E_USAGE, 400 },
	};
	struct web_reply r;
	struct mica_err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j;

		web_reply_init(&r);
		mica_err_set(&e, cases[i].kind, "some_code", "a message");
		web_reply_error(&r, &e);
		CU_ASSERT_EQUAL(r.status, cases[i].status);
		CU_ASSERT_STRING_EQUAL(r.ctype, "application/json");
		CU_ASSERT_EQUAL(r.max_age, -1);          /* no-store */
		j = reply_body(&r);
		CU_ASSERT_PTR_NOT_NULL(j);
		if (j != NULL) {
			CU_ASSERT_EQUAL(json_object_size(j), 2);
			if (cases[i].kind == MICA_E_INTERNAL) {
				CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")), "internal");
				CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "message")), "internal error");
			} else {
				CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")), "some_code");
				CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "message")), "a message");
			}
			json_decref(j);
		}
		CU_ASSERT_EQUAL(r.www_auth, cases[i].kind == MICA_E_UNAUTH);
		if (cases[i].kind == MICA_E_UNAUTH) {
			/* A token sent and refused: error="invalid_token". */
			web_reply_clear(&r);
			web_reply_init(&r);
			mica_err_set(&e, MICA_E_UNAUTH, "bad_token", "a message");
			web_reply_error(&r, &e);
			CU_ASSERT_EQUAL(r.www_auth, 2);
		}
		if (cases[i].kind == MICA_E_RATE || cases[i].kind == MICA_E_UNAVAIL) {
			CU_ASSERT(r.retry_after > 0);
		} else {
			CU_ASSERT_EQUAL(r.retry_after, 0);
		}
		web_reply_clear(&r);
	}
}

/* The message of a refusal as the client reads it, for MSG. */
static char *
error_message_of(const char *msg)
{
	struct web_reply r;
	struct mica_err e;
	json_t *j;
	char *out = NULL;

	web_reply_init(&r);
	mica_err_set(&e, MICA_E_BADREQ, "bad_name", "%s", msg);
	web_reply_error(&r, &e);
	if ((j = reply_body(&r)) != NULL) {
		const char *m = json_string_value(json_object_get(j, "message"));

		out = m != NULL ? strdup(m) : NULL;
		json_decref(j);
	}
	web_reply_clear(&r);
	return out;
}

static void
test_error_keeps_letters(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		/* A name given in Unicode is quoted as given (README), not
		 * as "m??nchen", which "mänchen" would read as too. */
		{ "invalid name \"m\xc3\xbcnchen.contoso.test\"",
		  "invalid name \"m\xc3\xbcnchen.contoso.test\"" },
		{ "CN=\xe5\xbc\xa0\xe4\xb8\x89 \xf0\x9f\x94\x92",
		  "CN=\xe5\xbc\xa0\xe4\xb8\x89 \xf0\x9f\x94\x92" },
		/* What could forge a line or turn one around stays out:
		 * U+202E, U+200B, a C1 control (CSI), a lone continuation
		 * byte, a truncated character, an overlong NUL. */
		{ "a\xe2\x80\xae" "b", "a???b" },
		{ "a\xe2\x80\x8b" "b", "a???b" },
		{ "a\xc2\x9b" "2Jb", "a??2Jb" },
		{ "a\x80" "b\xc3", "a?b?" },
		{ "\xc0\x80x", "??x" },
	};
	char big[400], *m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = error_message_of(cases[i].in);
		CU_ASSERT_PTR_NOT_NULL(m);
		if (m != NULL)
			CU_ASSERT_STRING_EQUAL(m, cases[i].want);
		free(m);
	}
	/* Cut at a whole character: a message longer than the room is
	 * still well-formed UTF-8 (else jansson refuses it, and the client
	 * would get a 500's body). */
	for (size_t pad = 250; pad < 256; pad++) {
		memset(big, 'a', pad);
		for (size_t k = pad; k + 2 < sizeof(big); k += 2)
			memcpy(big + k, "\xc3\xbc", 2);
		big[sizeof(big) - 1] = '\0';
		m = error_message_of(big);
		CU_ASSERT_PTR_NOT_NULL(m);
		if (m != NULL) {
			const unsigned char *u = (const unsigned char *)m;
			size_t n = strlen(m), at = 0, w = 1;
			uint32_t cp;

			CU_ASSERT(n >= pad && n < 256);
			while (at < n && (w = mica_utf8_next(u + at, n - at, &cp)) > 0)
				at += w;
			CU_ASSERT_EQUAL(at, n);
		}
		free(m);
	}
}

static void
test_error_no_internals(void)
{
	struct web_reply r;
	struct mica_err e;
	json_t *j;
	const char *msg;

	/* A 500 says nothing about what broke. */
	web_reply_init(&r);
	mica_err_set(&e, MICA_E_INTERNAL, "sqlite_corrupt",
		     "SELECT secret FROM tokens in /var/lib/mica/mica.db");
	web_reply_error(&r, &e);
	j = reply_body(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")), "internal");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "message")), "internal error");
	json_decref(j);
	CU_ASSERT_PTR_NULL(memmem(r.blob->data, r.blob->len, "SELECT", 6));
	CU_ASSERT_PTR_NULL(memmem(r.blob->data, r.blob->len, "/var/lib", 8));
	web_reply_clear(&r);

	/* Members added to a refusal never replace "error" or "message",
	 * and a 500 carries none of them. */
	{
		json_t *x = json_pack("{s:s, s:s, s:s}", "serial", "0a1b",
				      "error", "other", "message", "other");

		CU_ASSERT_PTR_NOT_NULL_FATAL(x);
		web_reply_init(&r);
		mica_err_set(&e, MICA_E_CONFLICT, "already_decided", "decided");
		web_reply_error_with(&r, &e, x);
		CU_ASSERT_EQUAL(r.status, 409);
		j = reply_body(&r);
		CU_ASSERT_PTR_NOT_NULL_FATAL(j);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")), "already_decided");
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "message")), "decided");
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "serial")), "0a1b");
		json_decref(j);
		web_reply_clear(&r);
		mica_err_set(&e, MICA_E_INTERNAL, "sqlite_corrupt", "secret");
		web_reply_error_with(&r, &e, x);
		j = reply_body(&r);
		CU_ASSERT_PTR_NOT_NULL_FATAL(j);
		CU_ASSERT_PTR_NULL(json_object_get(j, "serial"));
		json_decref(j);
		web_reply_clear(&r);
		json_decref(x);
	}

	/* Control characters and bytes of no character never reach a body
	 * (printable UTF-8 does: test_error_keeps_letters); a code that is
	 * not snake_case becomes the kind's default. */
	web_reply_init(&r);
	mica_err_set(&e, MICA_E_BADREQ, "Bad Code!", "line\r\nInjected: yes \xff");
	web_reply_error(&r, &e);
	j = reply_body(&r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")), "bad_request");
	msg = json_string_value(json_object_get(j, "message"));
	CU_ASSERT_PTR_NOT_NULL(msg);
	if (msg != NULL) {
		CU_ASSERT_PTR_NULL(strchr(msg, '\r'));
		CU_ASSERT_PTR_NULL(strchr(msg, '\n'));
		CU_ASSERT_STRING_EQUAL(msg, "line??Injected: yes ?");
	}
	json_decref(j);
	web_reply_clear(&r);

	/* An empty message gets a default one; NULL error is a 500. */
	web_reply_init(&r);
	mica_err_set(&e, MICA_E_NOTFOUND, "", "%s", "");
	web_reply_error(&r, &e);
	CU_ASSERT_EQUAL(r.status, 404);
	j = reply_body(&r);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")), "not_found");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "message")), "not found");
	json_decref(j);
	web_reply_error(&r, NULL);
	CU_ASSERT_EQUAL(r.status, 500);
	web_reply_clear(&r);

	/* The error path keeps Connection: close and a computed Retry-After. */
	web_reply_init(&r);
	r.close = 1;
	r.retry_after = 17;
	web_reply_fail(&r, MICA_E_RATE, "too_many_attempts", "slow down");
	CU_ASSERT_EQUAL(r.status, 429);
	CU_ASSERT_EQUAL(r.close, 1);
	CU_ASSERT_EQUAL(r.retry_after, 17);
	web_reply_clear(&r);
}

static void
test_reply_json(void)
{
	struct web_reply r;
	struct mica_err e;
	json_t *j;

	web_reply_init(&r);
	CU_ASSERT_EQUAL(web_reply_json(&r, 201, json_pack("{s:s}", "a", "b"), 1, &e), 0);
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.blob);
	CU_ASSERT_EQUAL(r.blob->secret, 1);
	CU_ASSERT_EQUAL(r.blob->data[r.blob->len - 1], '\n');
	j = reply_body(&r);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "a")), "b");
	json_decref(j);
	/* The blob outlives the reply while a response still holds it. */
	{
		struct web_blob *b = web_blob_ref(r.blob);

		web_reply_clear(&r);
		CU_ASSERT_EQUAL(atomic_load(&b->refs), 1);
		web_blob_unref(b);
	}
	/* NULL object (allocation failure upstream) is an error, not a crash. */
	CU_ASSERT_EQUAL(web_reply_json(&r, 200, NULL, 0, &e), -1);
	CU_ASSERT_EQUAL(e.kind, MICA_E_INTERNAL);
	web_reply_clear(&r);
}

/* --------------------------------------------------------- rendering -- */

static void
test_render(void)
{
	struct ca_token t;
	struct ca_cert c;
	json_t *j;
	char buf[32], *s;

	CU_ASSERT_STRING_EQUAL(web_time_str(0, buf), "1970-01-01T00:00:00Z");
	CU_ASSERT_STRING_EQUAL(web_time_str(1795538400, buf), "2026-11-24T16:40:00Z");
	j = web_jtime(0);
	CU_ASSERT(json_is_null(j));
	json_decref(j);

	/* A token is listed without its hash (struct ca_token has none),
	 * never with a secret. */
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "0123456789abcdef");
	t.kind = CA_TOKEN_ENROLL;
	t.names = (char *)"a.contoso.test\n*.web.contoso.test";
	t.uses_left = -1;
	t.created_at = 1795538400;
	j = web_json_token(&t, 1795538400);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	s = json_dumps(j, 0);
	CU_ASSERT_PTR_NULL(strstr(s, "hash"));
	CU_ASSERT_PTR_NULL(json_object_get(j, "token"));
	CU_ASSERT(json_is_null(json_object_get(j, "uses_left")));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "names")), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")), "active");
	free(s);
	json_decref(j);
	t.uses_left = 0;
	j = web_json_token(&t, 1795538400);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")), "used_up");
	json_decref(j);
	t.expires_at = 100;
	j = web_json_token(&t, 1795538400);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")), "expired");
	/* "revoked" always there, as 'mica token list --json' has it. */
	CU_ASSERT(json_is_false(json_object_get(j, "revoked")));
	json_decref(j);
	t.revoked = 1;
	j = web_json_token(&t, 1795538400);
	CU_ASSERT(json_is_true(json_object_get(j, "revoked")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")), "revoked");
	json_decref(j);

	/* An issuance answer's "id" names its request; a renewal's, which
	 * has none, has no "id" rather than "id": null. */
	{
		struct ca_issued is;

		memset(&is, 0, sizeof(is));
		is.status = CA_REQ_PENDING;
		j = web_json_issued(&is, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(j);
		CU_ASSERT_PTR_NULL(json_object_get(j, "id"));
		json_decref(j);
		snprintf(is.request_id, sizeof(is.request_id), "0123");
		j = web_json_issued(&is, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(j);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "id")), "0123");
		json_decref(j);
	}

	/* Certificate status by date. */
	memset(&c, 0, sizeof(c));
	c.status = CA_CERT_VALID;
	c.not_after = 2000;
	CU_ASSERT_STRING_EQUAL(web_cert_status_name(&c, 1000), "valid");
	CU_ASSERT_STRING_EQUAL(web_cert_status_name(&c, 2000), "expired");
	c.status = CA_CERT_REVOKED;
	CU_ASSERT_STRING_EQUAL(web_cert_status_name(&c, 1000), "revoked");
	c.status = CA_CERT_ISSUING;
	CU_ASSERT_STRING_EQUAL(web_cert_status_name(&c, 1000), "issuing");

	/* Stored text that is not UTF-8 still renders. */
	j = mica_jstr("caf\xe9");
	CU_ASSERT_PTR_NOT_NULL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(j), "caf?");
	json_decref(j);
	j = mica_jlines("a\n\nb\n");
	CU_ASSERT_EQUAL(json_array_size(j), 2);
	json_decref(j);
}

/* ---------------------------------------------------------- clients -- */

static void
describe(const char *addr, char *text, unsigned char key[16], int *lo)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
	web_client_describe((struct sockaddr *)&ss, text, 64, key, lo);
}

static void
test_clients(void)
{
	static const struct {
		const char *addr, *text;
		int loopback;
	} cases[] = {
		{ "127.0.0.1", "127.0.0.1", 1 },
		{ "127.5.6.7", "127.5.6.7", 1 },
		{ "10.0.0.1", "10.0.0.1", 0 },
		{ "::1", "::1", 1 },
		{ "::ffff:127.0.0.1", "127.0.0.1", 1 },
		{ "::ffff:192.0.2.1", "192.0.2.1", 0 },
		{ "2001:db8::1", "2001:db8::1", 0 },
	};
	unsigned char k1[16], k2[16];
	char text[64];
	int lo;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		describe(cases[i].addr, text, k1, &lo);
		CU_ASSERT_STRING_EQUAL(text, cases[i].text);
		CU_ASSERT_EQUAL(lo, cases[i].loopback);
	}
	/* An IPv4 client is the same whether it came in over v4 or v6. */
	describe("192.0.2.1", text, k1, &lo);
	describe("::ffff:192.0.2.1", text, k2, &lo);
	CU_ASSERT_EQUAL(memcmp(k1, k2, 16), 0);
	/* One IPv6 /64 is one client for the rate limiter. */
	describe("2001:db8::1", text, k1, &lo);
	describe("2001:db8::ffff:2", text, k2, &lo);
	CU_ASSERT_EQUAL(memcmp(k1, k2, 16), 0);
	describe("2001:db8:0:1::1", text, k2, &lo);
	CU_ASSERT_NOT_EQUAL(memcmp(k1, k2, 16), 0);
	web_client_describe(NULL, text, sizeof(text), k1, &lo);
	CU_ASSERT_STRING_EQUAL(text, "unknown");
	CU_ASSERT_EQUAL(lo, 0);
}

static void
test_rate_limit(void)
{
	struct web_ratelimit *rl = calloc(1, sizeof(*rl));
	unsigned char a[16] = { 1 }, b[16] = { 2 };
	const char *id = "5f0c3e1a9b2d4c67", *other = "0123456789abcdef";
	char label[WEB_RL_LABEL_MAX];
	int64_t now = 1000000;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	web_rl_init(rl);
	CU_ASSERT_EQUAL(web_rl_check(rl, a, id, now), 0);
	for (int i = 0; i < WEB_RL_FAILS - 1; i++)
		web_rl_fail(rl, a, id, now + i);
	CU_ASSERT_EQUAL(web_rl_check(rl, a, id, now + 20), 0);   /* 9 failures: still allowed */
	web_rl_fail(rl, a, id, now + 20);
	CU_ASSERT(web_rl_check(rl, a, id, now + 20) > 0);       /* the 10th blocks */
	CU_ASSERT(web_rl_check(rl, a, id, now + 20) <= WEB_RL_WINDOW);
	/* Only that token id from that address: other clients, and other
	 * tokens from the same address (behind one proxy or NAT), are not
	 * blocked by those failures. */
	CU_ASSERT_EQUAL(web_rl_check(rl, b, id, now + 20), 0);
	CU_ASSERT_EQUAL(web_rl_check(rl, a, other, now + 20), 0);
	CU_ASSERT_EQUAL(web_rl_check(rl, a, "", now + 20), 0);
	CU_ASSERT_EQUAL(web_rl_check(rl, a, id, now + WEB_RL_WINDOW), 0);  /* window over */
	/* A new window starts from scratch. */
	web_rl_fail(rl, a, id, now + WEB_RL_WINDOW);
	CU_ASSERT_EQUAL(web_rl_check(rl, a, id, now + WEB_RL_WINDOW), 0);
	/* Malformed credentials count under "" for their address. */
	for (int i = 0; i < WEB_RL_FAILS; i++)
		web_rl_fail(rl, b, "", now + 100);
	CU_ASSERT(web_rl_check(rl, b, "", now + 100) > 0);
	CU_ASSERT_EQUAL(web_rl_check(rl, b, id, now + 100), 0);
	/* A flood of other clients cannot make the table misbehave, nor
	 * free a blocked guesser by pushing its entry out first. */
	for (int i = 0; i < WEB_RL_FAILS; i++)
		web_rl_fail(rl, a, other, now + 200);
	for (int i = 0; i < 20 * WEB_RL_SLOTS; i++) {
		unsigned char k[16] = { 0 };

		memcpy(k, &i, sizeof(i));
		k[15] = 0x55;
		web_rl_fail(rl, k, id, now + 201);
	}
	CU_ASSERT_EQUAL(web_rl_check(rl, b, other, now + 201), 0);
	CU_ASSERT(web_rl_check(rl, a, other, now + 201) > 0);
	web_rl_destroy(rl);
	free(rl);

	web_rl_label("mica_5f0c3e1a9b2d4c67_3b1f", label);
	CU_ASSERT_STRING_EQUAL(label, "5f0c3e1a9b2d4c67");
	web_rl_label("mica_5f0c3e1a9b2d4c67", label);      /* no secret part */
	CU_ASSERT_STRING_EQUAL(label, "");
	web_rl_label("mica__3b1f", label);
	CU_ASSERT_STRING_EQUAL(label, "");
	web_rl_label("Mica_5f0c_3b1f", label);
	CU_ASSERT_STRING_EQUAL(label, "");
	web_rl_label("mica_0123456789abcdef0123456789abcdef0_x", label);   /* too long */
	CU_ASSERT_STRING_EQUAL(label, "");
	web_rl_label(NULL, label);
	CU_ASSERT_STRING_EQUAL(label, "");
}

/* ----------------------------------------------------------- proxies -- */

static void
a16(const char *s, unsigned char out[16])
{
	memset(out, 0, 16);
	if (strchr(s, ':') != NULL) {
		CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET6, s, out), 1);
	} else {
		out[10] = out[11] = 0xff;
		CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET, s, out + 12), 1);
	}
}

static void
test_proxies(void)
{
	static const struct {
		const char *prefix;
		int ok;
	} parse[] = {
		{ "127.0.0.1", 1 }, { "10.0.0.0/8", 1 }, { "0.0.0.0/0", 1 },
		{ "2001:db8::/32", 1 }, { "::1", 1 }, { "::ffff:10.0.0.0/104", 1 },
		{ "10.1.2.3/8", 0 },         /* host bits set */
		{ "10.0.0.0/33", 0 }, { "2001:db8::/129", 0 }, { "10.0.0.0/", 0 },
		{ "10.0.0.0/-0", 0 }, { "10.0.0.0/+8", 0 }, { "proxy.contoso.test", 0 },
		{ "", 0 }, { "10.0.0.0/8/8", 0 }, { "[::1]", 0 },
		{ "10.0.0.0/08", 0 }, { "0.0.0.0/0", 1 }, { "0.0.0.0/00", 0 },
	};
	static const struct {
		const char *peer;
		const char *xff[3];
		const char *client;
	} cases[] = {
		/* not from a trusted proxy: the header is only a claim */
		{ "192.0.2.9", { "203.0.113.5" }, "192.0.2.9" },
		/* from the proxy: the rightmost untrusted address */
		{ "127.0.0.1", { "203.0.113.5" }, "203.0.113.5" },
		{ "127.0.0.1", { "198.51.100.1, 203.0.113.5" }, "203.0.113.5" },
		{ "127.0.0.1", { "198.51.100.1, 203.0.113.5, 10.1.2.3" }, "203.0.113.5" },
		{ "10.9.9.9", { "198.51.100.1", "203.0.113.5,10.1.2.3" }, "203.0.113.5" },
		{ "127.0.0.1", { "203.0.113.5:4711" }, "203.0.113.5" },
		{ "127.0.0.1", { "[2001:db8::7]:4711" }, "2001:db8::7" },
		{ "127.0.0.1", { " 2001:db8::7 " }, "2001:db8::7" },
		/* nothing usable: the last trusted hop */
		{ "127.0.0.1", { NULL }, "127.0.0.1" },
		{ "127.0.0.1", { "" }, "127.0.0.1" },
		{ "127.0.0.1", { "unknown" }, "127.0.0.1" },
		{ "127.0.0.1", { "203.0.113.5, unknown, 10.1.2.3" }, "10.1.2.3" },
		{ "127.0.0.1", { "10.1.2.3, 10.4.5.6" }, "10.1.2.3" },
		{ "127.0.0.1", { "203.0.113.5,,10.1.2.3" }, "10.1.2.3" },
	};
	struct web_proxies px;
	struct mica_err err;
	unsigned char peer[16], got[16], want[16];

	for (size_t i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
		struct web_prefix p;
		int rc = web_prefix_parse(parse[i].prefix, &p, &err);

		if ((rc == 0) != parse[i].ok)
			fprintf(stderr, "\nprefix %s: %d\n", parse[i].prefix, rc);
		CU_ASSERT_EQUAL(rc == 0, parse[i].ok);
	}
	memset(&px, 0, sizeof(px));
	CU_ASSERT_EQUAL_FATAL(web_prefix_parse("127.0.0.1", &px.p[px.n++], &err), 0);
	CU_ASSERT_EQUAL_FATAL(web_prefix_parse("10.0.0.0/8", &px.p[px.n++], &err), 0);
	a16("10.255.0.1", peer);
	CU_ASSERT_EQUAL(web_proxies_match(&px, peer), 1);
	a16("11.0.0.1", peer);
	CU_ASSERT_EQUAL(web_proxies_match(&px, peer), 0);
	a16("127.0.0.2", peer);
	CU_ASSERT_EQUAL(web_proxies_match(&px, peer), 0);
	CU_ASSERT_EQUAL(web_proxies_match(NULL, peer), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 0;

		while (n < 3 && cases[i].xff[n] != NULL)
			n++;
		a16(cases[i].peer, peer);
		a16(cases[i].client, want);
		web_client_resolve(&px, peer, cases[i].xff, n, got);
		if (memcmp(got, want, 16) != 0)
			fprintf(stderr, "\nresolve case %zu: wanted %s\n", i, cases[i].client);
		CU_ASSERT_EQUAL(memcmp(got, want, 16), 0);
	}
}


/* ----------------------------------------------------------- framing -- */

static void
test_framing(void)
{
	static const struct {
		unsigned n_length, n_te, n_host;
		const char *length, *te;
		int ok;
	} cases[] = {
		{ 0, 0, 1, NULL, NULL, 1 },
		{ 1, 0, 1, "0", NULL, 1 },
		{ 1, 0, 1, "65536", NULL, 1 },
		{ 0, 1, 1, NULL, "chunked", 1 },
		{ 0, 1, 1, NULL, "Chunked", 1 },
		{ 0, 0, 0, NULL, NULL, 1 },       /* HTTP/1.0 (the cases
						   * without Host are) */
		{ 1, 0, 0, "5", NULL, 1 },
		/* RFC 9112 6.3: ambiguous, so refused */
		{ 2, 0, 1, "5", NULL, 0 },        /* even when both say 5 */
		{ 1, 1, 1, "5", "chunked", 0 },
		{ 0, 2, 1, NULL, "chunked", 0 },
		{ 0, 1, 1, NULL, "gzip, chunked", 0 },
		{ 0, 1, 1, NULL, "chunked, gzip", 0 },
		{ 0, 1, 1, NULL, "identity", 0 },
		{ 0, 1, 1, NULL, "", 0 },
		{ 1, 0, 1, "5, 5", NULL, 0 },
		{ 1, 0, 1, "-1", NULL, 0 },
		{ 1, 0, 1, "+5", NULL, 0 },
		{ 1, 0, 1, "0x10", NULL, 0 },
		{ 1, 0, 1, "", NULL, 0 },
		{ 1, 0, 1, "1234567890123456789", NULL, 0 },
		/* RFC 9112 3.2 */
		{ 0, 0, 2, NULL, NULL, 0 },
		/* RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty */
		{ 0, 1, 0, NULL, "chunked", 0 },
	};
	struct mica_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct web_framing f = { cases[i].n_length, cases[i].n_te, cases[i].n_host,
					 cases[i].length, cases[i].te, 0, 0, NULL,
					 cases[i].n_host > 0, NULL, 0, 0, 0, 0, 0, 0, 0, NULL };
		int rc = web_framing_check(&f, &err);

		if ((rc == 0) != cases[i].ok)
			fprintf(stderr, "\nframing case %zu: %d\n", i, rc);
		CU_ASSERT_EQUAL(rc == 0, cases[i].ok);
		if (rc != 0) {
			CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_framing");
		}
	}
	/* RFC 9110 9.1: a method is a token. */
	{
		static const char *const methods[][2] = {
			{ "GET", "1" }, { "OPTIONS", "1" }, { "get", "1" },
			{ "M-SEARCH", "1" }, { "X~!#$%&'*+.^_`|", "1" },
			{ "G@T", "0" }, { "G\x1bT", "0" }, { "G\xc3\x89T", "0" },
			{ "GE(T)", "0" }, { "G:T", "0" }, { "G\"T", "0" }, { "", "0" },
		};

		for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
			struct web_framing f;

			memset(&f, 0, sizeof(f));
			f.n_host = 1;
			f.host = "x";
			f.http11 = 1;
			f.method = methods[i][0];
			if ((web_framing_check(&f, &err) == 0) != (methods[i][1][0] == '1'))
				fprintf(stderr, "\nmethod case %zu\n", i);
			CU_ASSERT_EQUAL(web_framing_check(&f, &err) == 0, methods[i][1][0] == '1');
			if (methods[i][1][0] == '0')
				CU_ASSERT_STRING_EQUAL(err.code, "bad_method");
		}
	}
	/* RFC 9112 5.1: no white space between a field name and its colon
	 * (libmicrohttpd keeps it in the name); one Authorization. */
	{
		struct web_framing f = { 1, 0, 1, "5", NULL, 1, 0, NULL, 0, NULL, 0, 0, 0, 0, 0, 0, 0, NULL };

		CU_ASSERT(web_framing_check(&f, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_header");
		f.n_bad_name = 0;
		f.n_auth = 2;
		CU_ASSERT(web_framing_check(&f, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_header");
		f.n_auth = 1;
		CU_ASSERT(web_framing_check(&f, &err) == 0);
		/* Which parser would read the body? */
		f.n_ctype = 2;
		CU_ASSERT(web_framing_check(&f, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_header");
		CU_ASSERT(strstr(err.msg, "Content-Type") != NULL);
		f.n_ctype = 1;
		CU_ASSERT(web_framing_check(&f, &err) == 0);
		/* A bare CR in a value; a name that goes on past
		 * Content-Length (a folded line joined to it). */
		f.n_bad_value = 1;
		CU_ASSERT(web_framing_check(&f, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_header");
		f.n_bad_value = 0;
		f.n_framing_like = 1;
		CU_ASSERT(web_framing_check(&f, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_header");
		f.n_framing_like = 0;
		/* A line that goes on past its value as libmicrohttpd
		 * gives it (a NUL in it: web/http.c). */
		f.n_hidden = 1;
		CU_ASSERT(web_framing_check(&f, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_header");
		CU_ASSERT(strstr(err.msg, "NUL") != NULL);
		f.n_hidden = 0;
		f.target_hidden = 1;
		CU_ASSERT(web_framing_check(&f, &err) != 0);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_request_target");
		f.target_hidden = 0;
		CU_ASSERT(web_framing_check(&f, &err) == 0);
	}
	CU_ASSERT(web_field_value_ok("Bearer abc\tdef \x80\xff"));
	CU_ASSERT(web_field_value_ok(""));
	CU_ASSERT(web_field_value_ok(NULL));
	CU_ASSERT(!web_field_value_ok("a\rb"));
	CU_ASSERT(!web_field_value_ok("a\x01"));
	CU_ASSERT(!web_field_value_ok("a\x7f"));
	CU_ASSERT(web_field_name_ok("Content-Length"));
	CU_ASSERT(web_field_name_ok("X-Forwarded-For"));
	CU_ASSERT(web_field_name_ok("a!#$%&'*+-.^_`|~9"));
	CU_ASSERT(!web_field_name_ok("Content-Length "));
	CU_ASSERT(!web_field_name_ok("Content-Length\t"));
	CU_ASSERT(!web_field_name_ok(" Host"));
	CU_ASSERT(!web_field_name_ok(""));
	CU_ASSERT(!web_field_name_ok("Na\x80me"));
	CU_ASSERT(!web_field_name_ok("a:b"));

	/* Host (RFC 9110 7.2): uri-host [":" port], a port 1..65535. */
	{
		static const char *const good[] = {
			"ca.contoso.test", "ca.contoso.test:8443", "127.0.0.1:80",
			"[::1]", "[::1]:443", "[2001:db8::1]", "x", "", "xn--bcher-kva.test",
			"a:1", "a:65535", "a:08443", "[::1]:1",
		};
		static const char *const bad[] = {
			"a b", "a/b", "a@b", "a?b", "a#b", "ca:80x", "[::1", "[::g]",
			"[]", "a\tb", "a\x80", "[::1]x", "a:1:2",
			"a:", "a:0", "a:00000", "a:65536", "a:99999", "a:008443", "[::1]:",
			"[::1]:0", "a:-1", "a:+1",
		};
		struct web_framing f;

		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
			CU_ASSERT(web_host_ok(good[i]));
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CU_ASSERT(!web_host_ok(bad[i]));
		memset(&f, 0, sizeof(f));
		f.n_host = 1;
		f.host = "a b";
		CU_ASSERT(web_framing_check(&f, &err) == -1);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_header");
		f.host = "ca.contoso.test:443";
		CU_ASSERT(web_framing_check(&f, &err) == 0);
		/* One Origin and one Sec-Fetch-Site, as browsers send:
		 * fine; two of either (the cross-site check reads the
		 * first, a proxy may read the last): refused. */
		f.n_origin = f.n_fetch_site = 1;
		CU_ASSERT(web_framing_check(&f, &err) == 0);
		f.n_origin = 2;
		CU_ASSERT(web_framing_check(&f, &err) == -1);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_header");
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "Origin"));
		f.n_origin = 1;
		f.n_fetch_site = 2;
		CU_ASSERT(web_framing_check(&f, &err) == -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "Sec-Fetch-Site"));
		f.n_origin = f.n_fetch_site = 0;
		/* Blanks after the value are not part of it (RFC 9110 5.5);
		 * within or before the port they are. */
		f.host = "ca.contoso.test:443 \t ";
		CU_ASSERT(web_framing_check(&f, &err) == 0);
		CU_ASSERT_EQUAL(web_value_len(f.host), strlen("ca.contoso.test:443"));
		f.host = "ca.contoso.test: 443";
		CU_ASSERT(web_framing_check(&f, &err) == -1);
		f.host = "[::1 ]";
		CU_ASSERT(web_framing_check(&f, &err) == -1);
		CU_ASSERT(web_host_ok_n("[::1]:80", 5));
		CU_ASSERT(!web_host_ok_n("[::1]:80", 4));
		CU_ASSERT(web_host_ok_n("ab:12", 4));
		CU_ASSERT(!web_host_ok_n("a b", 3));
		CU_ASSERT_EQUAL(web_value_len(" \t"), 0);
	}
	/* RFC 9112 3.2: an HTTP/1.1 request must name its Host (HTTP/1.0
	 * need not), and a target has no blank or control character in it
	 * (libmicrohttpd, tolerant, would take "GET /a b HTTP/1.1" whole). */
	{
		static const char *const bad_targets[] = {
			"/a b", "/crl ", " /crl", "/a\tb", "/a\x01", "/a\x7f",
			"/?q=a b", "/\r",
		};
		struct web_framing f;

		memset(&f, 0, sizeof(f));
		f.http11 = 1;
		CU_ASSERT(web_framing_check(&f, &err) == -1);
		CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
		CU_ASSERT_STRING_EQUAL(err.code, "bad_header");
		CU_ASSERT(strstr(err.msg, "Host") != NULL);
		f.http11 = 0;
		CU_ASSERT(web_framing_check(&f, &err) == 0);
		f.http11 = 1;
		f.n_host = 1;
		f.host = "ca.contoso.test";
		f.target = "/api/v1/certificates?name=a%20b&x=~!$&'()*+,;=:@/";
		CU_ASSERT(web_framing_check(&f, &err) == 0);
		f.target = "/\xc3\xa9";   /* not ours to judge: routed, 404 */
		CU_ASSERT(web_framing_check(&f, &err) == 0);
		for (size_t i = 0; i < sizeof(bad_targets) / sizeof(bad_targets[0]); i++) {
			f.target = bad_targets[i];
			CU_ASSERT(web_framing_check(&f, &err) == -1);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_request_target");
		}
		CU_ASSERT(web_http11("HTTP/1.1"));
		CU_ASSERT(web_http11("HTTP/1.2"));
		CU_ASSERT(!web_http11("HTTP/1.0"));
		CU_ASSERT(!web_http11("HTTP/1.10"));
		CU_ASSERT(!web_http11("HTTP/2.0"));
		CU_ASSERT(!web_http11(""));
		CU_ASSERT(!web_http11(NULL));
	}
	/* Absolute-form targets route by their path (RFC 9112 3.2.2). */
	{
		static const char *const forms[][2] = {
			{ "http://127.0.0.1:8080/healthz", "/healthz" },
			{ "HTTPS://ca.test/crl?x=1", "/crl?x=1" },
			{ "http://ca.test", "/" },
			{ "http://ca.test?q", "/?q" },
			{ "http://user@ca.test:1/a/b", "/a/b" },
		};

		for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
			char *o = web_origin_form(forms[i][0]);

			CU_ASSERT_PTR_NOT_NULL(o);
			if (o != NULL)
				CU_ASSERT_STRING_EQUAL(o, forms[i][1]);
			free(o);
		}
		CU_ASSERT_PTR_NULL(web_origin_form("/healthz"));
		/* Conditional GET (RFC 9110 13.2.2). */
		{
			CU_ASSERT(web_not_modified("GET", "\"a\"", "\"a\""));
			CU_ASSERT(web_not_modified("HEAD", "W/\"a\"", "\"a\""));
			CU_ASSERT(web_not_modified("GET", "\"b\", \"a\"", "\"a\""));
			CU_ASSERT(web_not_modified("GET", "*", "\"a\""));
			CU_ASSERT(!web_not_modified("GET", "\"b\"", "\"a\""));
			CU_ASSERT(!web_not_modified("GET", "a", "\"a\""));
			CU_ASSERT(!web_not_modified("GET", "\"a", "\"a\""));
			CU_ASSERT(!web_not_modified("POST", "\"a\"", "\"a\""));
			/* Without If-None-Match, no 304 (If-Modified-Since is
			 * not read: daemon.sh sends it). */
			CU_ASSERT(!web_not_modified("GET", NULL, "\"a\""));
			CU_ASSERT(!web_not_modified("GET", "\"a\"", ""));
		}
		CU_ASSERT_PTR_NULL(web_origin_form("*"));
		CU_ASSERT_PTR_NULL(web_origin_form("ftp://x/y"));
		/* An empty path: of OPTIONS, the server as a whole (RFC
		 * 9112 3.2.4). */
		CU_ASSERT(web_target_path_empty("http://ca.test"));
		CU_ASSERT(web_target_path_empty("HTTPS://ca.test:8443"));
		CU_ASSERT(web_target_path_empty("http://ca.test?q"));
		CU_ASSERT(!web_target_path_empty("http://ca.test/"));
		CU_ASSERT(!web_target_path_empty("http://ca.test/crl"));
		CU_ASSERT(!web_target_path_empty("/"));
		CU_ASSERT(!web_target_path_empty("*"));
		/* Its authority stands for Host (RFC 9112 3.2.2). */
		{
			static const char *const auth[][2] = {
				{ "http://ca.test:8080/healthz", "ca.test:8080" },
				{ "HTTPS://[::1]?q", "[::1]" },
				{ "http:///x", "" },
				{ "http://user@ca.test:1/a/b", "user@ca.test:1" },
			};

			for (size_t i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
				char *a = web_target_authority(auth[i][0]);

				CU_ASSERT_PTR_NOT_NULL(a);
				if (a != NULL)
					CU_ASSERT_STRING_EQUAL(a, auth[i][1]);
				free(a);
			}
			CU_ASSERT_PTR_NULL(web_target_authority("/healthz"));
			CU_ASSERT_PTR_NULL(web_target_authority("*"));
		}
	}
}

/* ------------------------------------------------------ access log -- */

static void
test_log_path(void)
{
	static const char secret[] =
		"3b1f0c3e1a9b2d4c673b1f0c3e1a9b2d4c673b1f0c3e1a9b2d4c673b1f0c3e1a";
	static const struct {
		const char *before, *after;   /* around the secret */
		const char *want;
	} cases[] = {
		{ "/mica_5f0c3e1a9b2d4c67_", "", "(other path)" },
		{ "/%6dica_5f0c3e1a9b2d4c67_", "", "(other path)" },
		{ "/MICA_5F0C3E1A9B2D4C67_", "", "(other path)" },
		{ "/%256dica_5f0c3e1a9b2d4c67_", "", "(other path)" },
		{ "/api/v1/requests/", "", "/api/v1/requests/{id}" },
		{ "/api/v1/requests/", "/approve", "/api/v1/requests/{id}/approve" },
		{ "/api/v1/certificates/", "", "/api/v1/certificates/{serial}" },
		{ "/api/v1/tokens/mica_5f0c3e1a9b2d4c67_", "", "/api/v1/tokens/{id}" },
		{ "/api/v1/", "", "(other path)" },
		{ "/", "/../ca.crt", "(other path)" },
		{ "/ca.crt", NULL, "/ca.crt" },
		{ "/admin", NULL, "/admin" },
		{ "/", NULL, "/" },
		{ "/api/v1/status", NULL, "/api/v1/status" },
		{ "", NULL, "(other path)" },
		{ "*", NULL, "*" },
		{ "**", NULL, "(other path)" },
		{ "*", "", "(other path)" },
	};
	char raw[256], upper[sizeof(secret)];

	for (size_t i = 0; i < sizeof(secret); i++)
		upper[i] = (char)(secret[i] >= 'a' && secret[i] <= 'f' ? secret[i] - 32 : secret[i]);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got;

		snprintf(raw, sizeof(raw), "%s%s%s", cases[i].before,
			 cases[i].after == NULL ? "" : i == 2 ? upper : secret,
			 cases[i].after != NULL ? cases[i].after : "");
		got = web_log_path(raw, strlen(raw));
		CU_ASSERT_STRING_EQUAL(got, cases[i].want);
		CU_ASSERT_PTR_NULL(strstr(got, "3b1f"));
		CU_ASSERT_PTR_NULL(strstr(got, "3B1F"));
	}
	/* Every byte of the secret percent-encoded: still only the pattern. */
	{
		size_t o = (size_t)snprintf(raw, sizeof(raw), "/api/v1/requests/");

		for (size_t i = 0; i < 32; i++)
			o += (size_t)snprintf(raw + o, sizeof(raw) - o, "%%%02x", (unsigned char)secret[i]);
		CU_ASSERT_STRING_EQUAL(web_log_path(raw, o), "/api/v1/requests/{id}");
	}
	CU_ASSERT_STRING_EQUAL(web_log_method("GET"), "GET");
	CU_ASSERT_STRING_EQUAL(web_log_method("DELETE"), "DELETE");
	CU_ASSERT_STRING_EQUAL(web_log_method("MICA_3b1f0c3e"), "OTHER");
	CU_ASSERT_STRING_EQUAL(web_log_method("get"), "OTHER");
}

/* ------------------------------------------------------ slow clients -- */

/* Has the other end of socket pair SV[0] been shut down? */
static int
shut(int sv[2])
{
	char b;

	return recv(sv[1], &b, 1, MSG_DONTWAIT) == 0;
}

static void
test_slow_clients(void)
{
	enum { N = 6 };
	int sv[N][2];
	struct web_conn *c[N];
	struct web_reaped r = { 0, 0, 0 };
	struct web_conns *cs = web_conns_new(4);

	CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
	/* 0: its head trickles; 1: its body trickles; 2: its body comes at
	 * twice the minimum rate; 3: being answered, for ever. */
	for (int i = 0; i < 4; i++)
		c[i] = web_conn_open(cs, sv[i][0], 0);
	web_conn_head_done(cs, c[1], 0);
	web_conn_body(cs, c[1], 4000);
	web_conn_head_done(cs, c[2], 0);
	web_conn_body(cs, c[2], 2 * WEB_BODY_MIN_RATE * 14);
	web_conn_busy(cs, c[3]);
	CU_ASSERT_EQUAL(web_conns_live(cs), 4);
	web_conns_reap(cs, WEB_HEAD_TIMEOUT * 1000, &r);
	CU_ASSERT(!shut(sv[0]));      /* exactly at the deadline: not yet */
	web_conns_reap(cs, WEB_HEAD_TIMEOUT * 1000 + 1, &r);
	CU_ASSERT(shut(sv[0]));
	CU_ASSERT_EQUAL(r.head, 1);
	/* The body: 4000 bytes are enough until 10 + 3.9 s. */
	web_conns_reap(cs, (WEB_BODY_GRACE + 3) * 1000, &r);
	CU_ASSERT(!shut(sv[1]));
	web_conns_reap(cs, (WEB_BODY_GRACE + 4) * 1000, &r);
	CU_ASSERT(shut(sv[1]));
	CU_ASSERT_EQUAL(r.body, 1);
	CU_ASSERT(!shut(sv[2]));
	CU_ASSERT(!shut(sv[3]));
	/* Answered: the kept-alive connection waits for its next head. */
	web_conn_idle(cs, c[2], 20000);
	web_conns_reap(cs, 20000 + WEB_HEAD_TIMEOUT * 1000, &r);
	CU_ASSERT(!shut(sv[2]));
	CU_ASSERT(!shut(sv[3]));   /* being answered: never ours to drop */
	CU_ASSERT_EQUAL(web_conns_live(cs), 2);
	/* Full (4 of 4): a new arrival takes the place of the one that has
	 * waited longest, never one being answered. */
	c[4] = web_conn_open(cs, sv[4][0], 25000);
	c[5] = web_conn_open(cs, sv[5][0], 26000);
	CU_ASSERT_EQUAL(web_conns_live(cs), 4);
	web_conns_admit(cs);
	CU_ASSERT(shut(sv[2]));          /* waiting since 20000 */
	CU_ASSERT(!shut(sv[3]) && !shut(sv[4]) && !shut(sv[5]));
	CU_ASSERT_EQUAL(web_conns_live(cs), 3);
	/* Closed connections leave the table; dropped ones are not counted
	 * twice. */
	for (int i = 0; i < N; i++)
		web_conn_close(cs, c[i]);
	CU_ASSERT_EQUAL(web_conns_live(cs), 0);
	web_conns_free(cs);
	for (int i = 0; i < N; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}

/* --------------------------------------------------------- dispatch -- */

/* The Sec-Fetch-Site, Origin and Host the next dispatch() sends (NULL:
 * none, as curl sends no Sec-Fetch-Site or Origin). */
static const char *g_fetch_site, *g_origin, *g_host;

/* Dispatch one request with no server behind it: whatever is answered
 * before the engine is reached can be checked; reaching the engine shows
 * as 503 (no store). */
static int
dispatch(const char *method, const char *uri, int tls, int loopback,
	 const char *ctype, const char *body, struct web_reply *rep, char *code,
	 size_t codesz)
{
	static const unsigned char key[16];
	const struct web_route *table;
	struct web_request rq;
	const char *q;
	size_t n;
	json_t *j;

	memset(&rq, 0, sizeof(rq));
	rq.uri = uri;
	if ((q = strchr(uri, '?')) != NULL) {
		rq.path_len = (size_t)(q - uri);
		rq.query = q + 1;
	} else {
		rq.path_len = strlen(uri);
	}
	rq.method = method;
	rq.client = loopback ? "127.0.0.1" : "192.0.2.7";
	rq.client_key = key;
	rq.loopback = loopback;
	rq.tls = tls;
	rq.ctype = ctype;
	rq.fetch_site = g_fetch_site;
	rq.origin = g_origin;
	rq.host = g_host;
	rq.body = (const unsigned char *)body;
	rq.body_len = body != NULL ? strlen(body) : 0;
	web_reply_init(rep);
	table = web_routes(&n);
	web_dispatch(NULL, table, n, &rq, rep);
	code[0] = '\0';
	if ((j = reply_body(rep)) != NULL) {
		if (json_string_value(json_object_get(j, "error")) != NULL)
			snprintf(code, codesz, "%s", json_string_value(json_object_get(j, "error")));
		json_decref(j);
	}
	return rep->status;
}

static void
test_dispatch_early_errors(void)
{
	static const struct {
		const char *method, *uri;
		int tls, loopback;
		const char *ctype;
		int status;
		const char *code;
	} cases[] = {
		{ "GET", "/nope", 1, 1, NULL, 404, "not_found" },
		{ "GET", "/api/v1/../ca.crt", 1, 1, NULL, 400, "bad_path" },
		{ "GET", "/api/v1/%2e%2e/ca.crt", 0, 0, NULL, 400, "bad_path" },
		{ "DELETE", "/ca.crt", 0, 0, NULL, 405, "method_not_allowed" },
		/* plain HTTP: the API only for loopback */
		{ "GET", "/api/v1/status", 0, 0, NULL, 403, "https_required" },
		{ "POST", "/api/v1/requests", 0, 0, NULL, 403, "https_required" },
		{ "GET", "/api/v1/requests/abcd", 0, 1, NULL, 503, "store_unavailable" },
		{ "GET", "/api/v1/requests/abcd", 1, 0, NULL, 503, "store_unavailable" },
		/* an admin route without a token: 401 before the store */
		{ "GET", "/api/v1/status", 1, 0, NULL, 401, "missing_token" },
		/* query strings are checked against the route */
		{ "GET", "/api/v1/certificates?evil=1", 1, 0, NULL, 400, "unknown_parameter" },
		{ "GET", "/api/v1/certificates?limit=1&limit=2", 1, 0, NULL, 400, "bad_query" },
		{ "GET", "/api/v1/status?x", 1, 0, NULL, 400, "unknown_parameter" },
		/* the token listing pages as the others do, and takes no more */
		{ "GET", "/api/v1/tokens?status=active&limit=5&cursor=9", 1, 0, NULL, 401, "missing_token" },
		{ "GET", "/api/v1/tokens?kind=admin", 1, 0, NULL, 400, "unknown_parameter" },
		{ "GET", "/api/v1/tokens?cursor=1&cursor=2", 1, 0, NULL, 400, "bad_query" },
		{ "GET", "/api/v1/certificates?name=%zz", 1, 0, NULL, 400, "bad_query" },
		/* a malformed Content-Type */
		{ "POST", "/api/v1/requests", 1, 0, "json", 415, "unsupported_media_type" },
		{ "POST", "/api/v1/requests", 1, 0, "a/b/c", 415, "unsupported_media_type" },
		/* ... says nothing on a GET without a body */
		{ "GET", "/ca.crt", 0, 0, "a,b", 503, "unavailable" },
		{ "HEAD", "/ca.crt", 0, 0, "json", 503, "unavailable" },
		/* the public files do not need the store */
		{ "GET", "/ca.crt", 0, 0, NULL, 503, "unavailable" },
	};
	struct web_reply rep;
	char code[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = dispatch(cases[i].method, cases[i].uri, cases[i].tls, cases[i].loopback,
				  cases[i].ctype, NULL, &rep, code, sizeof(code));

		CU_ASSERT_EQUAL(st, cases[i].status);
		CU_ASSERT_STRING_EQUAL(code, cases[i].code);
		if (cases[i].status == 405) {
			CU_ASSERT_STRING_EQUAL(rep.allow, "GET, HEAD");
		}
		if (cases[i].status == 403) {
			CU_ASSERT_EQUAL(rep.www_auth, 0);
		}
		web_reply_clear(&rep);
	}
}

/* "OPTIONS *" asks about the server (RFC 9110 9.3.7): 200, every method
 * the routes take in Allow, no content; "*" with any other method, or
 * with a query, is no request target (400); OPTIONS of a path is the
 * path's 405 with its own methods. */
static void
test_dispatch_options_asterisk(void)
{
	struct web_reply rep;
	char code[64];

	CU_ASSERT_EQUAL(dispatch("OPTIONS", "*", 0, 0, NULL, NULL, &rep, code, sizeof(code)), 200);
	CU_ASSERT_STRING_EQUAL(rep.allow, "GET, HEAD, POST, DELETE, OPTIONS");
	CU_ASSERT_PTR_NULL(rep.ctype);
	CU_ASSERT_PTR_NULL(rep.blob);
	CU_ASSERT_EQUAL(rep.plen, 0);
	web_reply_clear(&rep);
	CU_ASSERT_EQUAL(dispatch("OPTIONS", "*", 1, 1, NULL, NULL, &rep, code, sizeof(code)), 200);
	web_reply_clear(&rep);
	for (size_t i = 0; i < 4; i++) {
		static const char *const m[] = { "GET", "HEAD", "POST", "DELETE" };

		CU_ASSERT_EQUAL(dispatch(m[i], "*", 0, 0, NULL, NULL, &rep, code, sizeof(code)), 400);
		CU_ASSERT_STRING_EQUAL(code, "bad_request_target");
		CU_ASSERT_STRING_EQUAL(rep.allow, "");
		web_reply_clear(&rep);
	}
	CU_ASSERT_EQUAL(dispatch("OPTIONS", "*?x", 0, 0, NULL, NULL, &rep, code, sizeof(code)), 400);
	CU_ASSERT_STRING_EQUAL(code, "bad_path");
	web_reply_clear(&rep);
	CU_ASSERT_EQUAL(dispatch("OPTIONS", "/ca.crt", 0, 0, NULL, NULL, &rep, code, sizeof(code)), 405);
	CU_ASSERT_STRING_EQUAL(rep.allow, "GET, HEAD");
	web_reply_clear(&rep);
}

/* Another site's page cannot make a browser call the API (a no-cors POST
 * of a raw CSR as text/plain needs no preflight); the pages' own calls,
 * clients that send no Fetch Metadata, reads, and the public files and
 * machine protocols are untouched. Refused before the store (503 here). */
static void
test_dispatch_cross_site(void)
{
	static const struct {
		const char *site, *method, *uri, *ctype;
		int status;
		const char *code;
	} cases[] = {
		{ "cross-site", "POST", "/api/v1/requests?profile=server", "text/plain", 403, "cross_site" },
		{ "same-site", "POST", "/api/v1/requests", "application/json", 403, "cross_site" },
		{ " Cross-Site ", "POST", "/api/v1/requests", "text/plain", 403, "cross_site" },
		{ "cross-site", "POST", "/api/v1/requests/abcd/approve", "application/json", 403, "cross_site" },
		{ "cross-site", "DELETE", "/api/v1/tokens/abcd", NULL, 403, "cross_site" },
		{ "same-origin", "POST", "/api/v1/requests", "text/plain", 503, "store_unavailable" },
		{ "none", "POST", "/api/v1/requests", "text/plain", 503, "store_unavailable" },
		{ NULL, "POST", "/api/v1/requests", "text/plain", 503, "store_unavailable" },
		{ "cross-site", "GET", "/api/v1/requests/abcd", NULL, 503, "store_unavailable" },
		{ "cross-site", "GET", "/ca.crt", NULL, 503, "unavailable" },
	};
	struct web_reply rep;
	char code[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st;

		g_fetch_site = cases[i].site;
		st = dispatch(cases[i].method, cases[i].uri, 1, 0, cases[i].ctype, NULL,
			      &rep, code, sizeof(code));
		if (st != cases[i].status)
			fprintf(stderr, "cross site %zu: %s %s: %d %s\n", i, cases[i].method,
				cases[i].uri, st, code);
		CU_ASSERT_EQUAL(st, cases[i].status);
		CU_ASSERT_STRING_EQUAL(code, cases[i].code);
		web_reply_clear(&rep);
	}
	g_fetch_site = NULL;
}

/* A browser without Fetch Metadata sends Origin: another host's, "null"
 * or a malformed one is another site; the CA's own (any port or scheme)
 * is not. Sec-Fetch-Site, when sent, decides alone. */
static void
test_dispatch_cross_origin(void)
{
	static const struct {
		const char *site, *origin, *host, *method;
		int status;
		const char *code;
	} cases[] = {
		{ NULL, "https://evil.example", "ca.contoso.test:8443", "POST", 403, "cross_site" },
		{ NULL, "null", "ca.contoso.test:8443", "POST", 403, "cross_site" },
		{ NULL, "https://ca.contoso.test.evil.example", "ca.contoso.test", "POST", 403, "cross_site" },
		{ NULL, "https://ca.contoso", "ca.contoso.test", "POST", 403, "cross_site" },
		{ NULL, "https://[::1]:8443", "127.0.0.1:8443", "POST", 403, "cross_site" },
		{ NULL, "https://ca.contoso.test", NULL, "POST", 403, "cross_site" },
		{ NULL, "ca.contoso.test", "ca.contoso.test", "POST", 403, "cross_site" },
		{ NULL, "https://ca.contoso.test/", "ca.contoso.test", "POST", 403, "cross_site" },
		{ NULL, "https://evil.example", "ca.contoso.test", "DELETE", 403, "cross_site" },
		{ NULL, "https://ca.contoso.test:8443", "ca.contoso.test:8443", "POST", 503, "store_unavailable" },
		{ NULL, "https://CA.Contoso.Test", "ca.contoso.test:8443", "POST", 503, "store_unavailable" },
		{ NULL, "http://ca.contoso.test:8080", "ca.contoso.test", "POST", 503, "store_unavailable" },
		{ NULL, "https://[::1]:8443", "[::1]:8443", "POST", 503, "store_unavailable" },
		{ NULL, NULL, "ca.contoso.test", "POST", 503, "store_unavailable" },
		{ NULL, "https://evil.example", "ca.contoso.test", "GET", 503, "store_unavailable" },
		{ "same-origin", "https://evil.example", "ca.contoso.test", "POST", 503, "store_unavailable" },
		{ "cross-site", "https://ca.contoso.test", "ca.contoso.test", "POST", 403, "cross_site" },
	};
	struct web_reply rep;
	char code[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *uri = strcmp(cases[i].method, "DELETE") == 0 ?
				  "/api/v1/tokens/abcd" : "/api/v1/requests/abcd";
		int st;

		if (strcmp(cases[i].method, "POST") == 0)
			uri = "/api/v1/requests";
		g_fetch_site = cases[i].site;
		g_origin = cases[i].origin;
		g_host = cases[i].host;
		st = dispatch(cases[i].method, uri, 1, 0, "text/plain", NULL,
			      &rep, code, sizeof(code));
		if (st != cases[i].status)
			fprintf(stderr, "cross origin %zu: %d %s\n", i, st, code);
		CU_ASSERT_EQUAL(st, cases[i].status);
		CU_ASSERT_STRING_EQUAL(code, cases[i].code);
		web_reply_clear(&rep);
	}
	g_fetch_site = g_origin = g_host = NULL;
}

/* Plain HTTP from loopback serves the API to scripts on the CA's host; a
 * browser there must call it localhost or a loopback address, not a name
 * a DNS rebinding pointed at 127.0.0.1 (to the browser, that name's page
 * and the API are then one origin). HTTPS and clients that are not
 * browsers are untouched. */
static void
test_dispatch_loopback_rebinding(void)
{
	static const struct {
		const char *site, *origin, *host;
		int tls;
		int status;
		const char *code;
	} cases[] = {
		{ "same-origin", NULL, "attacker.example:8080", 0, 403, "https_required" },
		{ NULL, "http://attacker.example:8080", "attacker.example:8080", 0, 403, "https_required" },
		{ "none", NULL, "ca.contoso.test:8080", 0, 403, "https_required" },
		{ "same-origin", NULL, NULL, 0, 403, "https_required" },
		{ "same-origin", NULL, "127.0.0.2:8080", 0, 503, "store_unavailable" },
		{ "same-origin", NULL, "localhost:8080", 0, 503, "store_unavailable" },
		{ "same-origin", NULL, "LOCALHOST", 0, 503, "store_unavailable" },
		{ "same-origin", NULL, "[::1]:8080", 0, 503, "store_unavailable" },
		{ "same-origin", NULL, "127.0.0.1.attacker.example:8080", 0, 403, "https_required" },
		{ "same-origin", NULL, "localhost.attacker.example", 0, 403, "https_required" },
		{ NULL, NULL, "attacker.example:8080", 0, 503, "store_unavailable" },
		{ "same-origin", NULL, "attacker.example:8443", 1, 503, "store_unavailable" },
	};
	struct web_reply rep;
	char code[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st;

		g_fetch_site = cases[i].site;
		g_origin = cases[i].origin;
		g_host = cases[i].host;
		st = dispatch("GET", "/api/v1/requests/abcd", cases[i].tls, 1, NULL, NULL,
			      &rep, code, sizeof(code));
		if (st != cases[i].status)
			fprintf(stderr, "loopback rebinding %zu: %d %s\n", i, st, code);
		CU_ASSERT_EQUAL(st, cases[i].status);
		CU_ASSERT_STRING_EQUAL(code, cases[i].code);
		web_reply_clear(&rep);
	}
	g_fetch_site = g_origin = g_host = NULL;
}

/* The Replay-Nonce header of REP, or NULL. */
static const char *
reply_nonce(const struct web_reply *rep)
{
	for (size_t i = 0; i < rep->nhdr; i++)
		if (strcmp(rep->hdr[i].name, "Replay-Nonce") == 0)
			return rep->hdr[i].value;
	return NULL;
}

/* REP is an ACME problem document of urn:ietf:params:acme:error:TYPE with
 * STATUS, in the header and the body alike. */
static int
is_problem(const struct web_reply *rep, int status, const char *type)
{
	char urn[96];
	json_t *j = reply_body(rep);
	int ok;

	snprintf(urn, sizeof(urn), "urn:ietf:params:acme:error:%s", type);
	ok = rep->status == status && rep->ctype != NULL &&
	     strcmp(rep->ctype, "application/problem+json") == 0 && j != NULL &&
	     json_string_value(json_object_get(j, "type")) != NULL &&
	     strcmp(json_string_value(json_object_get(j, "type")), urn) == 0 &&
	     json_integer_value(json_object_get(j, "status")) == status &&
	     json_string_value(json_object_get(j, "detail")) != NULL &&
	     json_object_get(j, "error") == NULL && rep->max_age == -1;
	if (!ok)
		fprintf(stderr, "\nwanted %d %s, got %d %s\n", status, urn, rep->status,
			rep->ctype != NULL ? rep->ctype : "(no body)");
	json_decref(j);
	return ok;
}

/* RFC 9110 12.5.1 as the ACME certificate URL reads Accept: the PEM chain
 * by default, q=0 excludes, the most specific range decides, the highest
 * q wins, ties go to the server's order, nothing acceptable is -1. */
static void
test_accept_pick(void)
{
	static const char *const t[] = {
		"application/pem-certificate-chain", "application/pkix-cert",
		"application/pkcs7-mime",
	};
	static const struct { const char *accept; int want; } cases[] = {
		{ NULL, 0 },
		{ "", 0 },
		{ " , ,", 0 },
		{ "application/pem-certificate-chain", 0 },
		{ "*/*", 0 },
		{ "application/*", 0 },
		{ "application/pkix-cert", 1 },
		{ "Application/PKIX-Cert", 1 },
		{ "application/pkcs7-mime", 2 },
		{ "application/pkcs7-mime; smime-type=certs-only", 2 },
		{ "application/pkcs7-mime;smime-type=\"certs-only, x\";q=0.5", 2 },
		{ "text/html", 0 },             /* disregarded: the default */
		{ "application/json", 0 },
		{ "text/*, image/png;q=1", 0 },
		{ "application/pem-certificate-chain;q=0", -1 },
		{ "application/*;q=0", -1 },
		{ "*/*;q=0", -1 },
		{ "application/pkix-cert;q=0, */*", 0 },
		{ "application/pem-certificate-chain;q=0, */*", 1 },
		{ "application/pem-certificate-chain;q=0.5, application/pkix-cert", 1 },
		{ "application/pkix-cert;q=0.3, application/pkcs7-mime;Q=0.4", 2 },
		{ "application/pkcs7-mime, application/pkix-cert", 1 },
		{ "application/*;q=0.2, application/pkcs7-mime;q=0.9", 2 },
		{ "application/pkix-cert;q=0.001", 1 },
		{ "application/pkix-cert;q=1.000", 1 },
		/* the most specific range decides, whatever its q */
		{ "application/pkix-cert;q=0, application/*;q=1, */*;q=0", 0 },
		{ "*/*;q=0.1, application/pkix-cert;q=0.05", 0 },
		/* elements that are not media ranges count for nothing */
		{ "application/pkix-cert;q=2, text/html", 0 },
		{ "application/pkix-cert;q=0.0001, text/html", 0 },
		/* a parameter without "=": that element alone is unreadable
		 * (reading stops there, not past the end nor the comma) */
		{ "text/html;q", 0 },
		{ "application/pkix-cert;level", 0 },
		{ "x/y;a, application/pkix-cert", 1 },
		{ "application/pkix-cert;level=1", 1 },
		{ "application/pkix-cert;q=0, text/html", 0 },
		{ "application/pkix-cert;q=, application/pkcs7-mime", 2 },
		{ "application/pkix-cert x, application/pkcs7-mime", 2 },
		{ "pkix-cert, application/pkcs7-mime", 2 },
		{ "application/pkix-cert;q=0.5x", 0 },
		{ "/", 0 },
		{ "garbage;;", 0 },
		/* Java's default: "*" and "q=.2" are not HTTP's */
		{ "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", 0 },
		{ "*", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = web_accept_pick(cases[i].accept, t, 3);

		if (got != cases[i].want)
			fprintf(stderr, "Accept: %s: %d, wanted %d\n",
				cases[i].accept ? cases[i].accept : "(none)", got,
				cases[i].want);
		CU_ASSERT_EQUAL(got, cases[i].want);
	}
}

static void
test_route_acme(void)
{
	static const struct {
		const char *raw;
		int acme;
	} cases[] = {
		{ "/acme/directory", 1 }, { "/acme/unknown", 1 }, { "/acme/", 1 },
		{ "/%61cme/new-order", 1 },      /* matched decoded, as routed */
		{ "/acme/../api/v1/status", 1 }, /* refused: judged as sent */
		{ "/acme/%zz", 1 },
		{ "/acme", 0 }, { "/acmex/directory", 0 }, { "/api/v1/acme/orders", 0 },
		{ "/ACME/directory", 0 }, { "/", 0 }, { "", 0 }, { "acme/", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(web_route_acme(cases[i].raw, strlen(cases[i].raw)),
				cases[i].acme);
	/* The length is honoured: "/acme/x" cut before its second '/'. */
	CU_ASSERT_EQUAL(web_route_acme("/acme/x", 5), 0);
	CU_ASSERT_EQUAL(web_route_acme(NULL, 0), 0);
}

/* The dispatcher's refusals under /acme/ are what the ACME handlers send
 * (RFC 8555 6.7), with the HTTP status they had; elsewhere nothing
 * changes. No server: no nonce (checked with a store below). */
static void
test_dispatch_acme_problems(void)
{
	static const struct {
		const char *method, *uri;
		int tls;
		const char *ctype;
		int status;
		const char *type;
	} cases[] = {
		{ "POST", "/acme/unknown-path", 1, "application/jose+json", 404, "malformed" },
		{ "GET", "/%61cme/nope", 1, NULL, 404, "malformed" },
		{ "GET", "/acme/../ca.crt", 1, NULL, 400, "malformed" },
		{ "GET", "/acme/new-order", 1, NULL, 405, "malformed" },
		{ "GET", "/acme/directory?x=1", 1, NULL, 400, "malformed" },
		{ "POST", "/acme/new-order", 1, "a/b/c", 415, "malformed" },
		/* ACME over plain HTTP: refused as unauthorized (403) */
		{ "POST", "/acme/new-order", 0, "application/jose+json", 403, "unauthorized" },
		/* the store unreachable before the handler */
		{ "GET", "/acme/directory", 1, NULL, 503, "serverInternal" },
	};
	struct web_reply rep;
	struct mica_err e;
	char code[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dispatch(cases[i].method, cases[i].uri, cases[i].tls, 0, cases[i].ctype,
			 cases[i].ctype != NULL ? "{}" : NULL, &rep, code, sizeof(code));
		CU_ASSERT(is_problem(&rep, cases[i].status, cases[i].type));
		CU_ASSERT_PTR_NULL(reply_nonce(&rep));
		CU_ASSERT_EQUAL(rep.www_auth, 0);
		if (cases[i].status == 405)
			CU_ASSERT_STRING_EQUAL(rep.allow, "POST");
		if (cases[i].status == 503)
			CU_ASSERT(rep.retry_after > 0);
		web_reply_clear(&rep);
	}
	/* Not under /acme/: mica's JSON error, as before. */
	CU_ASSERT_EQUAL(dispatch("GET", "/acme", 1, 0, NULL, NULL, &rep, code, sizeof(code)), 404);
	CU_ASSERT_STRING_EQUAL(code, "not_found");
	CU_ASSERT_STRING_EQUAL(rep.ctype, "application/json");
	web_reply_clear(&rep);
	/* The HTTP layer's refusals go the same way, and keep their close. */
	web_reply_init(&rep);
	rep.close = 1;
	mica_err_set(&e, MICA_E_TOOLARGE, "body_too_large", "request body larger than 64 KiB");
	web_dispatch_error(NULL, "/acme/new-order", 15, &rep, &e);
	CU_ASSERT(is_problem(&rep, 413, "malformed"));
	CU_ASSERT_EQUAL(rep.close, 1);
	web_reply_clear(&rep);
	rep.close = 1;
	web_dispatch_error(NULL, "/api/v1/requests", 16, &rep, &e);
	CU_ASSERT_EQUAL(rep.status, 413);
	CU_ASSERT_STRING_EQUAL(rep.ctype, "application/json");
	CU_ASSERT_EQUAL(rep.close, 1);
	web_reply_clear(&rep);
}

/* ------------------------------------------------------- admin gate -- */

/*
 * The dispatcher's admin gate, checked over the whole route table: every
 * handler is replaced by a canary that counts its calls, and every admin
 * route is asked without a token, with a malformed one, with a token that
 * does not exist and with a valid enrollment token, through a server with
 * a real store. Each must be answered 401 or 403 without the canary being
 * reached; with the admin token the canary is reached. So a dispatcher
 * that lost its gate fails here, whatever the engine would have said.
 */

static char g_tmp[64];
static struct ca *g_parent;
static struct web_server g_srv;
static char g_admin[CA_TOKEN_MAX], g_enroll[CA_TOKEN_MAX];
static int g_canary_calls;

static int
canary(struct web_ctx *c, struct web_reply *rep, struct mica_err *err)
{
	(void)c;
	(void)err;
	g_canary_calls++;
	rep->status = 299;     /* nobody else answers this */
	return 0;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
token_make(int kind, char out[CA_TOKEN_MAX])
{
	struct ca_token_spec spec;
	struct ca_principal p;
	struct mica_err err;
	int rc;

	memset(&spec, 0, sizeof(spec));
	spec.kind = kind;
	spec.uses = -1;
	ca_principal_cli(&p);
	rc = ca_token_create(g_parent, &p, &spec, out, NULL, &err);
	ca_principal_free(&p);
	if (rc != 0)
		fprintf(stderr, "ca_token_create: %s: %s\n", err.code, err.msg);
	return rc;
}

static int
store_suite_init(void)
{
	static const char *const domains[] = { "contoso.test" };
	struct ca_init_opts o;
	struct ca_acme_opts ao;
	struct ca_init_result res;
	struct mica_err err;
	char dir[128];

	snprintf(g_tmp, sizeof(g_tmp), "/tmp/mica-web-XXXXXX");
	if (mkdtemp(g_tmp) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/ca", g_tmp);
	setenv("MICA_PASSPHRASE", "web test passphrase: correct horse battery", 1);
	memset(&o, 0, sizeof(o));
	o.datadir = dir;
	o.name = "Web Test Root CA";
	o.domains = domains;
	o.ndomains = 1;
	o.public_url = "http://ca.contoso.test:8080";
	if (ca_init(&o, &res, &err) != 0 ||
	    ca_open(dir, CA_OPEN_UNLOCK, NULL, &g_parent, &err) != 0) {
		fprintf(stderr, "CA set-up: %s: %s\n", err.code, err.msg);
		return -1;
	}
	web_server_init(&g_srv);
	if (web_server_attach(&g_srv, g_parent, &err) != 0)
		return -1;
	snprintf(g_srv.https_url, sizeof(g_srv.https_url), "https://127.0.0.1:8443");
	if (token_make(CA_TOKEN_ADMIN, g_admin) != 0 ||
	    token_make(CA_TOKEN_ENROLL, g_enroll) != 0)
		return -1;
	/* ACME, for its nonces: nothing is validated here. */
	memset(&ao, 0, sizeof(ao));
	ao.dns = "127.0.0.1:1";
	ao.workers = 1;
	if (ca_acme_open(g_parent, &ao, &g_srv.acme, &err) != 0) {
		fprintf(stderr, "ACME set-up: %s: %s\n", err.code, err.msg);
		return -1;
	}
	return 0;
}

static int
store_suite_clean(void)
{
	/* This thread's engine handle: worker threads close theirs as they
	 * exit, the main thread of a test does not exit. */
	ca_acme_close(g_srv.acme);
	g_srv.acme = NULL;
	if (g_srv.key_made) {
		ca_close(pthread_getspecific(g_srv.key));
		pthread_setspecific(g_srv.key, NULL);
	}
	web_server_fini(&g_srv);
	ca_close(g_parent);
	g_parent = NULL;
	explicit_bzero(g_admin, sizeof(g_admin));
	explicit_bzero(g_enroll, sizeof(g_enroll));
	if (g_tmp[0] != '\0')
		nftw(g_tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* Another thread's request: the handle it holds, given back or not. */
struct pool_job {
	struct ca *got;
	int release;
};

static void *
pool_thread(void *arg)
{
	struct pool_job *j = arg;
	struct mica_err err;

	j->got = web_thread_ca(&g_srv, &err);
	if (j->release)
		web_thread_release(&g_srv);
	return NULL;
}

/* The engine handles are pooled: a thread holds one until it gives it
 * back, two threads never hold the same one, and a handle given back
 * serves the next request on any thread (no new connection). A thread
 * that exits holding one closes it (the key's destructor). */
static void
test_handle_pool(void)
{
	struct mica_err err;
	struct ca *a, *b;
	struct pool_job j;
	pthread_t t;
	size_t idle0;

	/* Whatever the suite's earlier tests left, given back first. */
	web_thread_release(&g_srv);
	a = web_thread_ca(&g_srv, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);

	CU_ASSERT_PTR_EQUAL(web_thread_ca(&g_srv, &err), a);   /* held */
	/* Another thread meanwhile gets another one... */
	memset(&j, 0, sizeof(j));
	j.release = 1;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, pool_thread, &j), 0);
	pthread_join(t, NULL);
	CU_ASSERT_PTR_NOT_NULL(j.got);
	CU_ASSERT_PTR_NOT_EQUAL(j.got, a);
	b = j.got;
	idle0 = g_srv.nidle;   /* B among them, A held here */
	CU_ASSERT(idle0 >= 1);
	/* ... which it gave back: the next thread takes that one. */
	memset(&j, 0, sizeof(j));
	j.release = 1;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, pool_thread, &j), 0);
	pthread_join(t, NULL);
	CU_ASSERT_PTR_EQUAL(j.got, b);
	/* Given back here, ours serves the next request of another thread
	 * (the one given back last first). */
	web_thread_release(&g_srv);
	web_thread_release(&g_srv);   /* holding none: nothing happens */
	CU_ASSERT_EQUAL(g_srv.nidle, idle0 + 1);
	memset(&j, 0, sizeof(j));
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, pool_thread, &j), 0);
	pthread_join(t, NULL);
	CU_ASSERT_PTR_EQUAL(j.got, a);
	/* That thread exited holding it: closed, not back in the pool. */
	CU_ASSERT_EQUAL(g_srv.nidle, idle0);
	/* The handle still there works. */
	b = web_thread_ca(&g_srv, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	{
		struct ca_counts c;

		CU_ASSERT_EQUAL(ca_counts(b, &c, &err), 0);
	}
	web_thread_release(&g_srv);
}

/* PATTERN with every "{name}" replaced by a well-formed id into OUT. */
static void
concrete_path(const char *pattern, char *out, size_t size)
{
	size_t o = 0;

	for (const char *p = pattern; *p != '\0' && o + 1 < size;) {
		if (*p == '{') {
			const char *close = strchr(p, '}');

			o += (size_t)snprintf(out + o, size - o, "00ab");
			p = close != NULL ? close + 1 : p + strlen(p);
		} else {
			out[o++] = *p++;
		}
	}
	out[o < size ? o : size - 1] = '\0';
}

/* Dispatch METHOD PATH (with a query string, if any) over HTTPS from a
 * fresh client address (so the failures of one case never rate-limit the
 * next) through TABLE. */
static int
dispatch_store(const struct web_route *table, size_t n, const char *method,
	       const char *path, const char *authz, struct web_reply *rep)
{
	static unsigned client_no;
	unsigned char key[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	char client[64];
	struct web_request rq;

	client_no++;
	memcpy(key + 4, &client_no, sizeof(client_no));
	snprintf(client, sizeof(client), "2001:db8:%x::1", client_no);
	memset(&rq, 0, sizeof(rq));
	rq.uri = path;
	/* A query string, if any, as dispatch() gives it. */
	rq.path_len = strcspn(path, "?");
	if (path[rq.path_len] == '?')
		rq.query = path + rq.path_len + 1;
	rq.method = method;
	rq.client = client;
	rq.client_key = key;
	rq.tls = 1;
	rq.authz = authz;
	web_reply_init(rep);
	web_dispatch(&g_srv, table, n, &rq, rep);
	return rep->status;
}

static void
test_admin_gate(void)
{
	const struct web_route *routes;
	struct web_route table[128];
	char path[WEB_PATH_MAX], bearer_admin[160], bearer_enroll[160], bearer_unknown[160];
	struct web_reply rep;
	size_t n, nadmin = 0;

	routes = web_routes(&n);
	CU_ASSERT_FATAL(n <= sizeof(table) / sizeof(table[0]));
	for (size_t i = 0; i < n; i++) {
		table[i] = routes[i];
		table[i].fn = canary;
	}
	snprintf(bearer_admin, sizeof(bearer_admin), "Bearer %s", g_admin);
	snprintf(bearer_enroll, sizeof(bearer_enroll), "Bearer %s", g_enroll);
	/* The admin token's id with another secret: a token that does not
	 * exist. */
	snprintf(bearer_unknown, sizeof(bearer_unknown), "Bearer %.22s%064d", g_admin, 7);
	for (size_t i = 0; i < n; i++) {
		const char *const refused[] = {
			NULL, "Bearer", "Basic YWRtaW46YWRtaW4=", "Bearer mica_zz",
			bearer_unknown, bearer_enroll,
		};

		if (table[i].auth != WEB_AUTH_ADMIN)
			continue;
		nadmin++;
		concrete_path(table[i].pattern, path, sizeof(path));
		for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
			int before = g_canary_calls;
			int st = dispatch_store(table, n, table[i].method, path, refused[k], &rep);

			if (st != 401 && st != 403)
				fprintf(stderr, "\n%s %s with \"%s\": %d\n", table[i].method, path,
					refused[k] != NULL ? refused[k] : "(no token)", st);
			CU_ASSERT(st == 401 || st == 403);
			CU_ASSERT_EQUAL(g_canary_calls, before);
			/* An enrollment token is a token: 403, not 401. */
			if (refused[k] == bearer_enroll)
				CU_ASSERT_EQUAL(st, 403);
			web_reply_clear(&rep);
		}
		/* The admin token reaches the handler. */
		{
			int before = g_canary_calls;

			CU_ASSERT_EQUAL(dispatch_store(table, n, table[i].method, path,
						       bearer_admin, &rep), 299);
			CU_ASSERT_EQUAL(g_canary_calls, before + 1);
			web_reply_clear(&rep);
		}
	}
	/* The table has admin routes to check (a table that lost them all
	 * would pass the loop above vacuously). */
	CU_ASSERT(nadmin >= 10);
	explicit_bzero(bearer_admin, sizeof(bearer_admin));
	explicit_bzero(bearer_enroll, sizeof(bearer_enroll));
}

/* With ACME running, a refusal under /acme/ carries a fresh nonce (RFC
 * 8555 6.5), each one new; elsewhere none. */
static void
test_acme_problem_nonce(void)
{
	const struct web_route *table;
	struct web_reply rep;
	struct mica_err e;
	char first[CA_ACME_NONCE_MAX];
	size_t n;

	table = web_routes(&n);
	dispatch_store(table, n, "POST", "/acme/unknown-path", NULL, &rep);
	CU_ASSERT(is_problem(&rep, 404, "malformed"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply_nonce(&rep));
	CU_ASSERT(strlen(reply_nonce(&rep)) >= 16);
	snprintf(first, sizeof(first), "%s", reply_nonce(&rep));
	web_reply_clear(&rep);
	/* Before the dispatcher (web/http.c's 413): no store needed. */
	web_reply_init(&rep);
	rep.close = 1;
	mica_err_set(&e, MICA_E_TOOLARGE, "body_too_large", "request body larger than 64 KiB");
	web_dispatch_error(&g_srv, "/acme/new-order", 15, &rep, &e);
	CU_ASSERT(is_problem(&rep, 413, "malformed"));
	CU_ASSERT_EQUAL(rep.close, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply_nonce(&rep));
	CU_ASSERT_STRING_NOT_EQUAL(reply_nonce(&rep), first);
	web_reply_clear(&rep);
	dispatch_store(table, n, "GET", "/api/v1/nope", NULL, &rep);
	CU_ASSERT_EQUAL(rep.status, 404);
	CU_ASSERT_PTR_NULL(reply_nonce(&rep));
	web_reply_clear(&rep);
}

/* A pending request for NAME (a fresh EC key), as an anonymous client
 * submits it: its id into ID. 0, or -1. */
static int
pending_request(const char *name, char id[CA_ID_MAX])
{
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context pk;
	mbedtls_x509write_csr w;
	mbedtls_x509_san_list san;
	struct ca_principal anon;
	struct ca_submit sub;
	struct ca_issued out;
	struct mica_err err;
	unsigned char buf[2048];
	char subject[300];
	int len = -1, rc = -1;

	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_pk_init(&pk);
	mbedtls_x509write_csr_init(&w);
	memset(&out, 0, sizeof(out));
	snprintf(subject, sizeof(subject), "CN=%s", name);
	memset(&san, 0, sizeof(san));
	san.node.type = MBEDTLS_X509_SAN_DNS_NAME;
	san.node.san.unstructured_name.p = (unsigned char *)name;
	san.node.san.unstructured_name.len = strlen(name);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0) == 0 &&
	    mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0 &&
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
				mbedtls_ctr_drbg_random, &drbg) == 0) {
		mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
		mbedtls_x509write_csr_set_key(&w, &pk);
		if (mbedtls_x509write_csr_set_subject_name(&w, subject) == 0 &&
		    mbedtls_x509write_csr_set_subject_alternative_name(&w, &san) == 0)
			len = mbedtls_x509write_csr_der(&w, buf, sizeof(buf),
							mbedtls_ctr_drbg_random, &drbg);
	}
	if (len > 0) {
		ca_principal_anon(&anon, "198.51.100.9");
		memset(&sub, 0, sizeof(sub));
		sub.csr = buf + sizeof(buf) - len;
		sub.csr_len = (size_t)len;
		sub.profile = "server";
		if (ca_submit_csr(g_parent, &anon, &sub, &out, &err) == 0 &&
		    out.status == CA_REQ_PENDING) {
			snprintf(id, CA_ID_MAX, "%s", out.request_id);
			rc = 0;
		} else {
			fprintf(stderr, "submit: %s: %s\n", err.code, err.msg);
		}
		ca_principal_free(&anon);
	}
	ca_issued_free(&out);
	mbedtls_x509write_csr_free(&w);
	mbedtls_pk_free(&pk);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return rc;
}

/* An approval whose answer was lost is asked again: still 409
 * already_decided, now with the serial it was issued as, so that the
 * admin can fetch the certificate; a denied request has none. */
static void
test_approve_again_names_the_serial(void)
{
	const struct web_route *routes;
	struct web_reply rep;
	struct mica_err err;
	char id[CA_ID_MAX], path[128], authz[CA_TOKEN_MAX + 16], serial[CA_SERIAL_MAX];
	const char *msg;
	size_t n;
	json_t *j;

	routes = web_routes(&n);
	snprintf(authz, sizeof(authz), "Bearer %s", g_admin);
	CU_ASSERT_FATAL(pending_request("again.contoso.test", id) == 0);
	snprintf(path, sizeof(path), "/api/v1/requests/%s/approve", id);
	CU_ASSERT_EQUAL_FATAL(dispatch_store(routes, n, "POST", path, authz, &rep), 200);
	j = reply_body(&rep);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json_string_value(json_object_get(j, "serial")));
	snprintf(serial, sizeof(serial), "%s", json_string_value(json_object_get(j, "serial")));
	json_decref(j);
	web_reply_clear(&rep);

	CU_ASSERT_EQUAL(dispatch_store(routes, n, "POST", path, authz, &rep), 409);
	j = reply_body(&rep);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")), "already_decided");
	CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(j, "serial")));
	if (json_string_value(json_object_get(j, "serial")) != NULL)
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "serial")), serial);
	CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(j, "status")));
	if (json_string_value(json_object_get(j, "status")) != NULL)
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")), "issued");
	msg = json_string_value(json_object_get(j, "message"));
	CU_ASSERT(msg != NULL && strstr(msg, serial) != NULL);
	CU_ASSERT_PTR_NULL(json_object_get(j, "certificate"));
	json_decref(j);
	web_reply_clear(&rep);

	/* Denied: 409 with no serial to give. */
	CU_ASSERT_FATAL(pending_request("denied.contoso.test", id) == 0);
	{
		struct ca_principal cli;

		ca_principal_cli(&cli);
		CU_ASSERT_FATAL(ca_request_deny(g_parent, &cli, id, NULL, &err) == 0);
		ca_principal_free(&cli);
	}
	snprintf(path, sizeof(path), "/api/v1/requests/%s/approve", id);
	CU_ASSERT_EQUAL(dispatch_store(routes, n, "POST", path, authz, &rep), 409);
	j = reply_body(&rep);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")), "already_decided");
	CU_ASSERT_PTR_NULL(json_object_get(j, "serial"));
	json_decref(j);
	web_reply_clear(&rep);
}

/* Whoever polls a request with its id is told what became of its
 * certificate, in the certificate answer's own words: valid, then
 * revoked with its date and reason. */
static void
test_poll_says_revoked(void)
{
	const struct web_route *routes;
	struct web_reply rep;
	struct mica_err err;
	struct ca_principal cli;
	char id[CA_ID_MAX], path[128], authz[CA_TOKEN_MAX + 16], serial[CA_SERIAL_MAX] = "";
	size_t n;
	json_t *j;

	routes = web_routes(&n);
	snprintf(authz, sizeof(authz), "Bearer %s", g_admin);
	CU_ASSERT_FATAL(pending_request("poll-revoked.contoso.test", id) == 0);
	snprintf(path, sizeof(path), "/api/v1/requests/%s", id);
	/* Pending: no certificate, so nothing said of one. */
	CU_ASSERT_EQUAL(dispatch_store(routes, n, "GET", path, NULL, &rep), 200);
	j = reply_body(&rep);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_PTR_NULL(json_object_get(j, "certificate_status"));
	json_decref(j);
	web_reply_clear(&rep);

	snprintf(path, sizeof(path), "/api/v1/requests/%s/approve", id);
	CU_ASSERT_EQUAL_FATAL(dispatch_store(routes, n, "POST", path, authz, &rep), 200);
	j = reply_body(&rep);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	if (json_string_value(json_object_get(j, "serial")) != NULL)
		snprintf(serial, sizeof(serial), "%s", json_string_value(json_object_get(j, "serial")));
	json_decref(j);
	web_reply_clear(&rep);
	CU_ASSERT_FATAL(serial[0] != '\0');

	snprintf(path, sizeof(path), "/api/v1/requests/%s", id);
	CU_ASSERT_EQUAL(dispatch_store(routes, n, "GET", path, NULL, &rep), 200);
	j = reply_body(&rep);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")), "issued");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "certificate_status")), "valid");
	CU_ASSERT_PTR_NULL(json_object_get(j, "revoked_at"));
	CU_ASSERT_PTR_NULL(json_object_get(j, "revocation_reason"));
	json_decref(j);
	web_reply_clear(&rep);

	ca_principal_cli(&cli);
	CU_ASSERT_FATAL(ca_revoke(g_parent, &cli, serial, CA_REASON_SUPERSEDED, &err) == 0);
	ca_principal_free(&cli);
	CU_ASSERT_EQUAL(dispatch_store(routes, n, "GET", path, NULL, &rep), 200);
	j = reply_body(&rep);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")), "issued");
	CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(j, "certificate")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "certificate_status")), "revoked");
	CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(j, "revoked_at")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "revocation_reason")), "superseded");
	CU_ASSERT(json_is_null(json_object_get(j, "invalidity_date")));
	json_decref(j);
	web_reply_clear(&rep);
}

/* A page asked for with a slash after its name, as a hand writes it:
 * moved to the page (its query kept), over plain HTTP straight to the
 * HTTPS page; a file or the API with a slash after it is no page. */
static void
test_page_slash_moves(void)
{
	static const struct {
		const char *uri;
		int tls, status;
		const char *location;
	} cases[] = {
		{ "/admin/", 1, 301, "/admin" },
		{ "/request/", 1, 301, "/request" },
		{ "/request/?a=1&b=%2F", 1, 301, "/request?a=1&b=%2F" },
		{ "/admin/", 0, 302, "https://127.0.0.1:8443/admin" },
		{ "/admin//", 1, 404, "" },
		{ "/app.js/", 1, 404, "" },
		{ "/ca.crt/", 1, 404, "" },
		{ "/admin", 1, 200, "" },
		{ "/", 1, 200, "" },
	};
	const struct web_route *routes;
	struct web_request rq;
	struct web_reply rep;
	unsigned char key[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff };
	size_t n;

	routes = web_routes(&n);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&rq, 0, sizeof(rq));
		rq.uri = cases[i].uri;
		rq.path_len = strcspn(cases[i].uri, "?");
		if (cases[i].uri[rq.path_len] == '?')
			rq.query = cases[i].uri + rq.path_len + 1;
		rq.method = "GET";
		rq.client = "2001:db8:ff::1";
		rq.client_key = key;
		rq.tls = cases[i].tls;
		rq.host = "127.0.0.1:8080";
		web_reply_init(&rep);
		web_dispatch(&g_srv, routes, n, &rq, &rep);
		if (rep.status != cases[i].status || strcmp(rep.location, cases[i].location) != 0)
			fprintf(stderr, "\n%s: %d \"%s\"\n", cases[i].uri, rep.status, rep.location);
		CU_ASSERT_EQUAL(rep.status, cases[i].status);
		CU_ASSERT_STRING_EQUAL(rep.location, cases[i].location);
		web_reply_clear(&rep);
	}
}

/* Walk GET PATH (with "?limit=2", "cursor" added) through ROUTES as the
 * admin, the ids of MEMBER's entries joined by spaces into OUT (of
 * SIZE). The number of pages, or -1 if one failed or the walk did not end
 * within 20 pages. */
static int
acme_list_walk(const struct web_route *routes, size_t nroutes,
	       const char *path, const char *member, char *out, size_t size)
{
	char authz[CA_TOKEN_MAX + 16], uri[256], cursor[64] = "";
	struct web_reply rep;
	size_t len = 0;

	snprintf(authz, sizeof(authz), "Bearer %s", g_admin);
	out[0] = '\0';
	for (int pages = 1; pages <= 20; pages++) {
		json_t *j, *a, *nc;
		int st;

		snprintf(uri, sizeof(uri), "%s%slimit=2%s%s", path,
			 strchr(path, '?') != NULL ? "&" : "?",
			 cursor[0] != '\0' ? "&cursor=" : "", cursor);
		st = dispatch_store(routes, nroutes, "GET", uri, authz, &rep);
		j = reply_body(&rep);
		web_reply_clear(&rep);
		if (st != 200 || j == NULL) {
			json_decref(j);
			return -1;
		}
		a = json_object_get(j, member);
		nc = json_object_get(j, "next_cursor");
		for (size_t i = 0; i < json_array_size(a); i++)
			len += (size_t)snprintf(out + len, size - len, "%s%s",
						len > 0 ? " " : "",
						json_string_value(json_object_get(
							json_array_get(a, i), "id")));
		/* "next_cursor" is always there: a string, or null at the end. */
		if (json_array_size(a) > 2 || len >= size ||
		    (!json_is_null(nc) && !json_is_string(nc))) {
			json_decref(j);
			return -1;
		}
		if (json_is_null(nc)) {
			json_decref(j);
			return pages;
		}
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(nc));
		json_decref(j);
	}
	return -1;
}

/* The admin's ACME listings page as the token listing does: "cursor" in,
 * "next_cursor" out, every row once, newest first, an account's orders
 * apart; a cursor that is not one is 400 bad_parameter, a certificate
 * listing's expiry cursor 400 bad_cursor, as for the other listings. */
static void
test_acme_list_pages(void)
{
	static const struct {
		const char *query, *code;
	} bad[] = {
		{ "cursor=abc", "bad_parameter" }, { "cursor=0", "bad_parameter" },
		{ "cursor=-3", "bad_parameter" }, { "cursor=07", "bad_parameter" },
		{ "cursor=", "bad_parameter" },
		{ "cursor=99999999999999999999", "bad_parameter" },
		{ "cursor=5.3", "bad_cursor" }, { "cursor=1&cursor=2", "bad_query" },
	};
	const struct web_route *routes;
	char path[PATH_MAX], got[512], authz[CA_TOKEN_MAX + 16], uri[128];
	struct db_acme_account acc;
	struct db_acme_order ord;
	struct web_reply rep;
	struct mica_err err;
	struct db *db = NULL;
	size_t n;

	routes = web_routes(&n);
	/* Accounts and orders straight into the store (a second connection):
	 * no ACME client runs here. */
	snprintf(path, sizeof(path), "%s/ca/%s", g_tmp, CA_DB_FILE);
	CU_ASSERT_EQUAL_FATAL(db_open(path, 0, &db, &err), 0);
	for (int i = 1; i <= 5; i++) {
		memset(&acc, 0, sizeof(acc));
		snprintf(acc.id, sizeof(acc.id), "%x", 0xaa0 + i);
		memset(acc.thumbprint, 0xa0 + i, sizeof(acc.thumbprint));
		acc.jwk = (char *)"{}";
		acc.created_at = 1700000000 + i;
		CU_ASSERT_EQUAL_FATAL(db_acme_account_insert(db, &acc, &err), 0);
	}
	for (int i = 1; i <= 3; i++) {
		memset(&ord, 0, sizeof(ord));
		snprintf(ord.id, sizeof(ord.id), "%x", 0xbb0 + i);
		snprintf(ord.account_id, sizeof(ord.account_id), "%s", i == 2 ? "aa2" : "aa1");
		snprintf(ord.status, sizeof(ord.status), "pending");
		ord.names = (char *)"www.contoso.test";
		ord.profile = (char *)"server";
		ord.created_at = 1700000000 + i;
		ord.expires = 1700086400;
		CU_ASSERT_EQUAL_FATAL(db_acme_order_insert(db, &ord, &err), 0);
	}
	db_close(db);

	CU_ASSERT_EQUAL(acme_list_walk(routes, n, "/api/v1/acme/accounts", "accounts",
				       got, sizeof(got)), 3);
	CU_ASSERT_STRING_EQUAL(got, "aa5 aa4 aa3 aa2 aa1");
	CU_ASSERT_EQUAL(acme_list_walk(routes, n, "/api/v1/acme/orders", "orders",
				       got, sizeof(got)), 2);
	CU_ASSERT_STRING_EQUAL(got, "bb3 bb2 bb1");
	CU_ASSERT_EQUAL(acme_list_walk(routes, n, "/api/v1/acme/orders?account=aa1",
				       "orders", got, sizeof(got)), 1);
	CU_ASSERT_STRING_EQUAL(got, "bb3 bb1");

	snprintf(authz, sizeof(authz), "Bearer %s", g_admin);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int k = 0; k < 2; k++) {
			json_t *j;

			snprintf(uri, sizeof(uri), "/api/v1/acme/%s?%s",
				 k == 0 ? "accounts" : "orders", bad[i].query);
			CU_ASSERT_EQUAL(dispatch_store(routes, n, "GET", uri, authz, &rep), 400);
			j = reply_body(&rep);
			CU_ASSERT_PTR_NOT_NULL(j);
			if (j != NULL)
				CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")),
						       bad[i].code);
			json_decref(j);
			web_reply_clear(&rep);
		}
	}
}

int
main(void)
{
	CU_pSuite s;
	unsigned failed;

	/* The error path logs internal errors; keep the test output clean. */
	mica_log_open("/dev/null");
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("web", NULL, NULL);
	if (s == NULL ||
	    !CU_add_test(s, "decodes percent escapes and refuses malformed ones", test_pct_decode) ||
	    !CU_add_test(s, "sends HSTS only where every URL it upgrades reaches HTTPS", test_hsts_applies) ||
	    !CU_add_test(s, "refuses path traversal, in clear or percent-encoded", test_path_traversal) ||
	    !CU_add_test(s, "matches routes and extracts parameters", test_route_match) ||
	    !CU_add_test(s, "answers a wrong method with 405 and the allowed methods", test_route_method_not_allowed) ||
	    !CU_add_test(s, "keeps the API off the public routes in the table", test_route_table_sane) ||
	    !CU_add_test(s, "parses query strings, refusing duplicates, unknown keys and bad numbers", test_query_parse) ||
	    !CU_add_test(s, "a listening port has one spelling: no leading zero, "
			 "sign or blank", test_addr_port_one_spelling) ||
	    !CU_add_test(s, "a query parameter's number has one spelling: no leading "
			 "zero, sign or blank", test_query_int_one_spelling) ||
	    !CU_add_test(s, "parses integers strictly", test_parse_int) ||
	    !CU_add_test(s, "canonicalises serials and refuses non-hex ones", test_serial_parse) ||
	    !CU_add_test(s, "accepts only lowercase hex ids", test_ids) ||
	    !CU_add_test(s, "reduces Content-Type to its media type", test_media_type) ||
	    !CU_add_test(s, "accepts only well-formed bearer credentials", test_bearer) ||
	    !CU_add_test(s, "refuses ambiguous request framing (RFC 9112 6.3), names that are not tokens, two Authorization", test_framing) ||
	    !CU_add_test(s, "logs a route pattern or a page, never a path as sent", test_log_path) ||
	    !CU_add_test(s, "drops slow heads and bodies, and the longest waiting when full", test_slow_clients) ||
	    !CU_add_test(s, "moves a new socket to a free number on the chosen worker, past those in the way",
			 test_fd_on_worker) ||
	    !CU_add_test(s, "validates JSON bodies: syntax, types, unknown and missing fields", test_json_validation) ||
	    !CU_add_test(s, "names the refused item of a list and why", test_json_item_message) ||
	    !CU_add_test(s, "says why JSON is malformed, never quoting it", test_json_why) ||
	    !CU_add_test(s, "reads validated JSON fields", test_json_getters) ||
	    !CU_add_test(s, "maps every error kind to its status and a JSON body", test_error_mapping) ||
	    !CU_add_test(s, "never puts internals or control characters in an error body", test_error_no_internals) ||
	    !CU_add_test(s, "keeps a name's letters in an error message, not its controls", test_error_keeps_letters) ||
	    !CU_add_test(s, "renders JSON replies into refcounted bodies", test_reply_json) ||
	    !CU_add_test(s, "renders times, tokens without hashes, certificate status", test_render) ||
	    !CU_add_test(s, "describes clients and recognises loopback", test_clients) ||
	    !CU_add_test(s, "blocks a token id from an address after repeated failures, nobody else", test_rate_limit) ||
	    !CU_add_test(s, "believes X-Forwarded-For from trusted proxies only, rightmost untrusted hop", test_proxies) ||
	    !CU_add_test(s, "answers bad paths, methods, plain-HTTP API calls, queries and media types before the engine",
			 test_dispatch_early_errors) ||
	    !CU_add_test(s, "answers OPTIONS * with the server's methods, any other '*' with 400",
			 test_dispatch_options_asterisk) ||
	    !CU_add_test(s, "refuses API calls another site's page made a browser send (Sec-Fetch-Site)",
			 test_dispatch_cross_site) ||
	    !CU_add_test(s, "an Origin of another host is another site when Fetch Metadata is absent", test_dispatch_cross_origin) ||
	    !CU_add_test(s, "a browser on loopback over HTTP must call the API by a loopback name", test_dispatch_loopback_rebinding) ||
	    !CU_add_test(s, "tells which request paths are ACME's", test_route_acme) ||
	    !CU_add_test(s, "reads Accept as RFC 9110 12.5.1 for the ACME certificate formats",
			 test_accept_pick) ||
	    !CU_add_test(s, "answers every refusal under /acme/ as an ACME problem document",
			 test_dispatch_acme_problems)) {
		CU_cleanup_registry();
		return 2;
	}
	s = CU_add_suite("web with a store", store_suite_init, store_suite_clean);
	if (s == NULL ||
	    !CU_add_test(s, "answers every admin route 401/403 without an admin token, before its handler",
			 test_admin_gate) ||
	    !CU_add_test(s, "gives a refusal under /acme/ a fresh Replay-Nonce, nothing else one",
			 test_acme_problem_nonce) ||
	    !CU_add_test(s, "pools the engine handles: one per request running, reused by any thread",
			 test_handle_pool) ||
	    !CU_add_test(s, "pages the ACME accounts and orders by cursor; a bad cursor is a 400",
			 test_acme_list_pages) ||
	    !CU_add_test(s, "approving an issued request again: 409 with the certificate's serial",
			 test_approve_again_names_the_serial) ||
	    !CU_add_test(s, "a request's poll says its certificate was revoked, when and why",
			 test_poll_says_revoked) ||
	    !CU_add_test(s, "a page with a slash after its name moves to its name, its query kept",
			 test_page_slash_moves)) {
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed != 0;
}

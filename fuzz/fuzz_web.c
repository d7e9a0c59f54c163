/*
 * fuzz/fuzz_web.c - the daemon's own readers of what a client sends, before
 * any handler (web/parse.h): the request path, the query string (the API's
 * and SCEP's longer one), Content-Type, Accept, Authorization: Bearer, the
 * Host and Origin values, an absolute-form target, percent-decoding,
 * If-None-Match, integers and ids. libmicrohttpd frames the request; these
 * decide what it means.
 *
 * Input: octet 0 picks the reader, the rest is its input (cut at its first
 * NUL: a header or target reaches them as a C string). Checked beyond
 * memory safety, each against its header's contract: a path accepted
 * starts with '/', holds no control character, backslash, "." or ".."
 * segment; a query accepted has at most WEB_QUERY_KEYS distinct non-empty
 * keys and no control character, and web_query_int stays in its range; a
 * media type is lowercase without parameters or blanks; an Accept pick is
 * an index of the types or -1, and -1 only when the first type is refused;
 * a bearer token is non-empty token68; Host checks agree on a string and
 * its length; an origin form starts with '/' and an authority has no '/';
 * a decoded string fits, is NUL-terminated and has no control character;
 * web_parse_int agrees with strtoll; web_id_valid with its definition.
 */
#include "fuzz/fuzz.h"

#include <errno.h>

#include "ca/ca.h"
#include "web/parse.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int
ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static void
no_ctl(const char *what, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (ctl(*p))
			fuzz_fail("%s holds control character 0x%02x", what, *p);
}

static void
path(const char *s, size_t len)
{
	char out[WEB_PATH_MAX];
	struct mica_err err;
	int rc = web_path_parse(s, len, out, sizeof(out), &err);

	fuzz_check_err("web_path_parse", rc, &err);
	if (rc != 0)
		return;
	if (memchr(out, '\0', sizeof(out)) == NULL || out[0] != '/')
		fuzz_fail("path not NUL-terminated or not from '/'");
	no_ctl("a path", out);
	if (strchr(out, '\\') != NULL)
		fuzz_fail("path holds a backslash: %s", out);
	/* Each segment: never "." or "..", which could climb a route. */
	for (const char *p = out; *p == '/';) {
		const char *e = strchr(p + 1, '/');
		size_t n = e != NULL ? (size_t)(e - p - 1) : strlen(p + 1);

		if ((n == 1 && p[1] == '.') || (n == 2 && p[1] == '.' && p[2] == '.'))
			fuzz_fail("a dot segment passed: %s", out);
		if (e == NULL)
			break;
		p = e;
	}
}

static void
query(const char *s, int scep)
{
	struct web_query q;
	struct mica_err err;
	int64_t v = 0;
	int rc;

	memset(&q, 0, sizeof(q));
	rc = scep ? web_query_parse_max(s, WEB_QUERY_SCEP_MAX, WEB_PCT_DROP_NL, &q, &err) :
		    web_query_parse(s, &q, &err);
	fuzz_check_err("web_query_parse", rc, &err);
	if (rc == 0) {
		if (q.n > WEB_QUERY_KEYS)
			fuzz_fail("%zu pairs", q.n);
		for (size_t i = 0; i < q.n; i++) {
			if (q.key[i] == NULL || q.val[i] == NULL || q.key[i][0] == '\0')
				fuzz_fail("pair %zu without a key or value", i);
			no_ctl("a query key", q.key[i]);
			no_ctl("a query value", q.val[i]);
			for (size_t k = 0; k < i; k++)
				if (strcmp(q.key[i], q.key[k]) == 0)
					fuzz_fail("key %s twice", q.key[i]);
			if (web_query_get(&q, q.key[i]) != q.val[i])
				fuzz_fail("web_query_get does not find %s", q.key[i]);
		}
		rc = web_query_int(&q, "limit", 1, 1000, 100, &v, &err);
		fuzz_check_err("web_query_int", rc, &err);
		if (rc == 0 && (v < 1 || v > 1000))
			fuzz_fail("limit %lld out of 1..1000", (long long)v);
		rc = web_query_allow(&q, "limit cursor status", &err);
		fuzz_check_err("web_query_allow", rc, &err);
		for (size_t i = 0; rc == 0 && i < q.n; i++)
			if (strcmp(q.key[i], "limit") != 0 &&
			    strcmp(q.key[i], "cursor") != 0 &&
			    strcmp(q.key[i], "status") != 0)
				fuzz_fail("web_query_allow let %s through", q.key[i]);
	}
	web_query_free(&q);
}

static void
media(const char *s)
{
	char out[64];

	if (web_media_type(s, out, sizeof(out)) != 0)
		return;
	if (memchr(out, '\0', sizeof(out)) == NULL)
		fuzz_fail("media type not NUL-terminated");
	for (const char *p = out; *p != '\0'; p++)
		if ((*p >= 'A' && *p <= 'Z') || *p == ';' || *p == ' ' ||
		    *p == '\t' || ctl((unsigned char)*p))
			fuzz_fail("media type not bare and lowercase: %s", out);
}

static void
accept(const char *s)
{
	static const char *const types[] = {
		"application/pem-certificate-chain", "application/pkix-cert",
		"application/pkcs7-mime",
	};
	size_t n;

	for (n = 1; n <= sizeof(types) / sizeof(types[0]); n++) {
		int i = web_accept_pick(s, types, n);

		if (i < -1 || i >= (int)n)
			fuzz_fail("web_accept_pick gave %d of %zu", i, n);
		if (i != web_accept_pick(s, types, n))
			fuzz_fail("web_accept_pick is not a function of its input");
		/* -1 only when the first is refused: then one type alone is
		 * refused too. */
		if (i == -1 && web_accept_pick(s, types, 1) != -1)
			fuzz_fail("406 though the first type is acceptable");
	}
}

static void
bearer(const char *s)
{
	char tok[128];
	size_t n, eq;

	if (web_bearer(s, tok, sizeof(tok)) != 0)
		return;
	if (memchr(tok, '\0', sizeof(tok)) == NULL || (n = strlen(tok)) == 0)
		fuzz_fail("bearer token empty or not NUL-terminated");
	/* RFC 6750 2.1: b64token, then '=' padding only. */
	eq = strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-._~+/");
	if (eq == 0 || strspn(tok + eq, "=") != n - eq)
		fuzz_fail("bearer token is not token68: %s", tok);
}

static void
hosts(const char *s)
{
	const char *nl = strchr(s, '\n');
	char *a = fuzz_strndup((const uint8_t *)s,
			       nl != NULL ? (size_t)(nl - s) : strlen(s));
	const char *b = nl != NULL ? nl + 1 : NULL;
	int r;

	if (web_host_ok(a) != web_host_ok_n(a, strlen(a)))
		fuzz_fail("web_host_ok and web_host_ok_n disagree on %s", a);
	if ((r = web_host_ok(a)) != 0 && r != 1)
		fuzz_fail("web_host_ok gave %d", r);
	if ((r = web_host_loopback(a)) != 0 && r != 1)
		fuzz_fail("web_host_loopback gave %d", r);
	if ((r = web_origin_foreign(a, b)) != 0 && r != 1)
		fuzz_fail("web_origin_foreign gave %d", r);
	if (web_origin_foreign(NULL, b) != 0)
		fuzz_fail("no Origin is foreign");
	free(a);
}

static void
target(const char *s)
{
	char *o = web_origin_form(s), *a = web_target_authority(s);

	if (o != NULL && o[0] != '/')
		fuzz_fail("origin form %s", o);
	if (a != NULL && strpbrk(a, "/?#") != NULL)
		fuzz_fail("authority %s holds a path", a);
	free(o);
	free(a);
}

static void
pct(const uint8_t *data, size_t size)
{
	char out[256];
	int flags, n;
	size_t len;
	const char *s;

	if (size < 1)
		return;
	flags = data[0] & (WEB_PCT_PLUS | WEB_PCT_DROP_NL);
	s = (const char *)data + 1;
	len = size - 1;
	n = web_pct_decode(s, len, flags, out, sizeof(out));
	if (n < -1)
		fuzz_fail("web_pct_decode gave %d", n);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out) || out[n] != '\0' || strlen(out) != (size_t)n)
		fuzz_fail("decoded length %d, not its string's", n);
	if ((size_t)n > len)
		fuzz_fail("decoded %d octets from %zu", n, len);
	no_ctl("a decoded string", out);
}

static void
numbers(const char *s)
{
	int64_t v;
	char *end;
	long long w;
	int id, want;
	size_t n = strlen(s);

	if (web_parse_int(s, INT64_MIN, INT64_MAX, &v) == 0) {
		errno = 0;
		w = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0' || w != v)
			fuzz_fail("web_parse_int read %s as %lld", s, (long long)v);
		if (s[0] == '+' || s[0] == ' ' || s[0] == '\t')
			fuzz_fail("web_parse_int took a sign or blank: %s", s);
	}
	if (web_parse_int(s, 0, 1000, &v) == 0 && (v < 0 || v > 1000))
		fuzz_fail("web_parse_int gave %lld out of 0..1000", (long long)v);
	id = web_id_valid(s);
	want = n >= 1 && n <= CA_ID_MAX - 1 &&
	       strspn(s, "0123456789abcdef") == n;
	if (id != want)
		fuzz_fail("web_id_valid(%s) = %d", s, id);
	if (web_not_modified("GET", s, "\"abc\"") < 0 ||
	    web_not_modified("POST", s, "\"abc\"") != 0)
		fuzz_fail("If-None-Match: a POST is never not modified");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	int sel;

	if (size < 1 || size > 16384)
		return 0;
	sel = data[0] % 10;
	data++;
	size--;
	if (sel == 8) {
		pct(data, size);
		return 0;
	}
	s = fuzz_strndup(data, size);
	switch (sel) {
	case 0: path(s, strlen(s)); break;
	case 1: query(s, 0); break;
	case 2: query(s, 1); break;
	case 3: media(s); break;
	case 4: accept(s); break;
	case 5: bearer(s); break;
	case 6: hosts(s); break;
	case 7: target(s); break;
	default: numbers(s); break;
	}
	free(s);
	return 0;
}

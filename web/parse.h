/*
 * web/parse.h - pure parsers of what clients send: request paths, query
 * strings, Content-Type and Authorization headers, ids, peer addresses.
 * No I/O, no state: every function here can be tested with a table.
 */
#ifndef MICA_WEB_PARSE_H
#define MICA_WEB_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define WEB_PATH_MAX       512           /* decoded path */
#define WEB_QUERY_KEYS     16            /* most key=value pairs */

/*
 * Decode B64[0..N), base64 as a URL carries it (OCSP's GET path, SCEP's
 * message=): a space is a '+' that something decoded as a form would
 * (base64 has none), and '=' padding may be left out (RFC 4648 3.2: 4k+2
 * or 4k+3 characters still say how many octets they hold; 4k+1 are no
 * base64, and padding that is there must be right). B64 must have room
 * for N + 2 characters (the padding put back). OUT gets at most SIZE
 * octets, *OUT_LEN their number. 0, or -1 for anything else (a character
 * outside the standard alphabet, '=' inside, nothing decoded).
 */
int web_b64_decode(char *b64, size_t n, unsigned char *out, size_t size,
		   size_t *out_len);
/*
 * Percent-decode IN[0..LEN) into OUT (OUTSZ bytes, NUL-terminated). FLAGS:
 * WEB_PCT_PLUS turns '+' into a space (query strings); WEB_PCT_DROP_NL
 * drops a decoded CR or LF (base64 wrapped in lines, as sscep sends a
 * SCEP message by GET). Refuses a malformed escape, a decoded NUL or other
 * control character (< 0x20, 0x7f), and output that does not fit.
 * Returns the decoded length or -1.
 */
#define WEB_PCT_PLUS    1
#define WEB_PCT_DROP_NL 2
int web_pct_decode(const char *in, size_t len, int flags, char *out,
		   size_t outsz);

/*
 * Decode and check the path part of a request target (RAW[0..LEN), without
 * the query). It must start with '/'; each segment is percent-decoded on
 * its own and may not decode to '/' or '\\'; "." and ".." segments, in
 * clear or encoded (%2e%2e), are refused rather than resolved, so nothing
 * can climb out of a route. MICA_E_BADREQ "bad_path" on refusal.
 */
int web_path_parse(const char *raw, size_t len, char *out, size_t outsz,
		   struct mica_err *err);

struct web_query {
	size_t n;
	char *key[WEB_QUERY_KEYS];   /* point into buf */
	char *val[WEB_QUERY_KEYS];   /* "" when the pair has no '=' */
	char *buf;                   /* heap */
};

/* Parse a query string (without '?', may be NULL or empty): '&'-separated
 * key=value pairs, percent-decoded ('+' = space). Refuses empty or
 * duplicate keys, bad escapes, more than WEB_QUERY_KEYS pairs, and a string
 * longer than 2048 bytes: MICA_E_BADREQ "bad_query". Free with
 * web_query_free (also after failure). */
int web_query_parse(const char *qs, struct web_query *q, struct mica_err *err);
void web_query_free(struct web_query *q);
/* The same with a longer bound, MAX octets, and FLAGS for the values'
 * decoding (WEB_PCT_DROP_NL; '+' is always a space): SCEP's GET
 * PKIOperation carries a whole message in its query (certmonger sends no
 * other), sscep's wrapped in lines. */
#define WEB_QUERY_SCEP_MAX 12288
int web_query_parse_max(const char *qs, size_t max, int flags,
			struct web_query *q, struct mica_err *err);
/* Every key must be in ALLOWED (space-separated words; NULL = none):
 * MICA_E_BADREQ "unknown_parameter" naming the first stranger. */
int web_query_allow(const struct web_query *q, const char *allowed,
		    struct mica_err *err);
/* The value of KEY or NULL. */
const char *web_query_get(const struct web_query *q, const char *key);
/* KEY as a decimal integer in [MIN, MAX] (MIN at least 0), spelled as
 * mica_decimal takes it: digits, no sign, no leading zero; *OUT = DEF
 * when absent. MICA_E_BADREQ "bad_parameter", naming KEY, if present but
 * not such a number. */
int web_query_int(const struct web_query *q, const char *key, int64_t min,
		  int64_t max, int64_t def, int64_t *out, struct mica_err *err);

/* Decimal: optional '-', digits only (leading zeros too, as a
 * Content-Length may have them: RFC 9110 8.6), no overflow, in [MIN,
 * MAX]. 0 or -1. */
int web_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* The media type of a Content-Type header, lowercased, parameters and
 * blanks dropped ("Application/JSON; charset=utf-8" -> "application/json").
 * NULL or empty header -> "". -1 if it does not fit or has bad bytes. */
int web_media_type(const char *header, char *out, size_t outsz);

/* The credentials of an "Authorization: Bearer <token>" header (scheme
 * case-insensitive, RFC 6750 2.1) into TOK (TOKSZ bytes). -1 for another
 * scheme, an empty or oversized token, or bytes outside the token68 set. */
int web_bearer(const char *header, char *tok, size_t toksz);

/* What a request head says about its own framing (RFC 9112 6): how many
 * Content-Length, Transfer-Encoding and Host field lines it has, and the
 * first value of each of the first two (NULL if absent). */
struct web_framing {
	unsigned n_length, n_te, n_host;
	const char *length, *te;
	unsigned n_bad_name;          /* field names that are not RFC 9110 tokens */
	unsigned n_auth;              /* Authorization field lines */
	const char *host;             /* the first Host line's value */
	int http11;                   /* HTTP/1.1 or a later 1.x */
	const char *target;           /* the request target, an absolute
				       * form's as its path (NULL: not
				       * checked) */
	unsigned n_ctype;             /* Content-Type field lines */
	unsigned n_bad_value;         /* values with a control character
				       * other than HTAB (a bare CR) */
	unsigned n_framing_like;      /* names that begin Content-Length or
				       * Transfer-Encoding and go on */
	unsigned n_origin;            /* Origin lines, and Sec-Fetch-Site */
	unsigned n_fetch_site;        /* lines: the cross-site check reads
				       * the first of each */
	unsigned n_hidden;            /* lines with more after the value
				       * libmicrohttpd gives (a NUL in the
				       * value, a line folded into it:
				       * web/http.c) */
	int target_hidden;            /* the request line has more in its
				       * method or target than libmicro-
				       * httpd gives (a NUL in it) */
	const char *method;           /* the request's method (NULL: not
				       * checked) */
};
/*
 * Refuse a request whose framing is ambiguous, so that mica and anything in
 * front of it cannot disagree about where it ends (request smuggling):
 * more than one Content-Length or Transfer-Encoding field line (even with
 * equal values), both of them together (RFC 9112 6.1), a transfer coding
 * other than exactly "chunked" (RFC 9112 6.3 item 4), a Content-Length
 * that is not one decimal number (6.3 item 5), more than one Host (RFC
 * 9112 3.2): MICA_E_BADREQ "bad_framing". A Host that is not uri-host
 * [":" port] (RFC 9110 7.2; RFC 9112 3.2 wants 400): "bad_header". A
 * field name that is not a
 * token ("Content-Length :" - libmicrohttpd keeps the blank in the name,
 * where a proxy may read the field; RFC 9112 5.1), more than one
 * Authorization (which credentials would be whose?) or more than one
 * Content-Type (which parser would read the body?): MICA_E_BADREQ
 * "bad_header". A field value with a control character other than HTAB
 * (RFC 9110 5.5: a bare CR), or a field name that begins Content-Length
 * or Transfer-Encoding and goes on ("Content-Length41": libmicrohttpd
 * 0.9.75 joins a folded line, "Content-Length:" CRLF " 41", to the name,
 * where a proxy that unfolds reads a length; RFC 9112 5.2): "bad_header".
 * A field line with more in it than its value as libmicrohttpd gives it
 * (a NUL octet, where the value stops, RFC 9110 5.5; or a line folded
 * into it, RFC 9112 5.2): "bad_header".
 * Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1: "MUST treat
 * the message as if the framing is faulty"): "bad_framing". An HTTP/1.1
 * request without Host (RFC 9112 3.2: "MUST respond with 400"):
 * "bad_header". A target with a blank or a control
 * character in it (RFC 9112 3.2; libmicrohttpd, told to be tolerant, reads
 * "GET /a b HTTP/1.1" as the target "/a b"), or a method or target with
 * more in it than libmicrohttpd gives (a NUL octet, where it stops):
 * "bad_request_target". The
 * caller answers 400 and closes the connection.
 */
int web_framing_check(const struct web_framing *f, struct mica_err *err);
/* Is VERSION (libmicrohttpd's, "HTTP/1.1") HTTP/1.1 or a later 1.x, whose
 * requests must name a Host? */
int web_http11(const char *version);
/* Is H a Host field value: uri-host [":" port] (RFC 9110 7.2, RFC 3986
 * 3.2.2: a reg-name, an IPv4 address or an IPv6 literal in brackets),
 * the port, if a colon is there, 1..65535 in at most five digits?
 * 1 yes, 0 no. */
int web_host_ok(const char *h);
/* The same of the first N bytes of H. */
int web_host_ok_n(const char *h, size_t n);
/* The length of field value V without the optional whitespace after it
 * (RFC 9110 5.5: OWS around a value is not part of it; libmicrohttpd
 * drops only the leading). */
size_t web_value_len(const char *v);
/* Is HOST (a Host value, web_host_ok; NULL: none) a loopback address or
 * "localhost" (any port)? 1 yes, 0 no. */
int web_host_loopback(const char *host);
/* Does a browser's ORIGIN (RFC 6454 7: "null", or scheme "://" host
 * [":" port]; NULL when absent) name another host than HOST, the request's
 * Host (NULL: none)? Hosts are compared without their ports and in any
 * case (a port beside the CA's own is another origin, but the check is the
 * fallback for browsers without Fetch Metadata, whose origins behind a
 * proxy may carry a port the Host does not). 1 foreign ("null", a
 * malformed Origin, no Host), 0 same host or no Origin. */
int web_origin_foreign(const char *origin, const char *host);
/* The origin form of the request target URI (RFC 9112 3.2.1): an
 * absolute-form target ("http://host/path?q", which a server must accept,
 * 3.2.2) without its scheme and authority, "/" for an empty path; NULL
 * for any other URI (used as it is). Heap; the caller frees it. */
char *web_origin_form(const char *uri);
/* 1 if URI is an absolute-form target with an empty path ("http://host",
 * "http://host?q"), else 0. Of OPTIONS, such a target asks about the
 * server as a whole, as "*" does (RFC 9112 3.2.4: a proxy forwards it
 * so). */
int web_target_path_empty(const char *uri);
/* The authority ("host:port") of an absolute-form target URI, possibly
 * empty; NULL for any other URI, or out of memory. Heap; the caller
 * frees it. */
char *web_target_authority(const char *uri);
/* RFC 9110 13.2.2 for a GET or HEAD of a representation with ETAG ("" if
 * none): 1 if the request's If-None-Match (INM, NULL if absent) names it,
 * so the client holds it already (answer 304), else 0. If-Modified-Since
 * is deliberately not honoured: whole seconds cannot tell two CRLs or OCSP
 * responses of one second apart. */
int web_not_modified(const char *method, const char *inm, const char *etag);
#define WEB_ACCEPT_TYPES_MAX 8
/*
 * RFC 9110 12.5.1: which of TYPES[0..N) (1..WEB_ACCEPT_TYPES_MAX media
 * types "type/subtype", lowercase, in the server's order of preference)
 * to send for the Accept header ACCEPT (NULL: none). Each type takes the
 * q of the most specific media range naming it (the type itself, then
 * its top-level type with the subtype a wildcard, then the wildcard of
 * all types; 1 when a range says no q); q=0 excludes it; of those left the
 * highest q wins, ties going to the earlier in TYPES. Media type
 * parameters other than q are not compared; case does not count. An
 * element that is not a media range is ignored; an Accept of none that
 * can be read, or absent, is TYPES[0]; so is one that names none of TYPES
 * (the field is disregarded, as 12.5.1 allows: text/html, application/json).
 * The index, or -1 when the client refuses TYPES[0] (q=0 on a range that
 * names it) and accepts none of the others (406).
 */
int web_accept_pick(const char *accept, const char *const *types, size_t n);
/* Is NAME a field name (RFC 9110 5.1: a token)? 1 yes, 0 no. */
int web_field_name_ok(const char *name);
/* Is VALUE (NULL: none) free of control characters other than HTAB (RFC
 * 9110 5.5: field-vchar, SP, HTAB, obs-text)? 1 yes, 0 no. */
int web_field_value_ok(const char *value);

/* A request or token id from a URL: 1..CA_ID_MAX-1 characters of
 * [0-9a-f]. 1 yes, 0 no. */
int web_id_valid(const char *id);

/* "2026-11-24T17:30:00Z" (RFC 3339, UTC) into BUF[32]. */
const char *web_time_str(int64_t t, char buf[32]);

struct sockaddr;
/* The 16-octet form of the address of SA (IPv4 as v4-mapped IPv6) into
 * OUT; -1 (OUT zeroed) for NULL or another family. */
int web_addr16(const struct sockaddr *sa, unsigned char out[16]);
/*
 * Describe the client address A (16 octets, IPv4 v4-mapped): printable
 * address into TEXT (IPv4 in dotted form), a 16-octet key for the rate
 * limiter (IPv6 cut to its /64, as one host usually owns a whole /64), and
 * whether it is loopback (127.0.0.0/8, ::1).
 */
void web_client_describe16(const unsigned char a[16], char *text,
			   size_t textsz, unsigned char key[16], int *loopback);
/* The same for the peer SA; unknown families: "unknown", not loopback. */
void web_client_describe(const struct sockaddr *sa, char *text, size_t textsz,
			 unsigned char key[16], int *loopback);

#endif

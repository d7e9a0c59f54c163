/*
 * ca/der.h - a small fail-closed DER reader (X.690 DER, as X.509 uses it),
 * a bounded forward writer, and the Time encoding shared by the
 * certificate and CRL writers.
 *
 * A cursor covers [p, end). Every reader either consumes exactly one
 * element and returns 0, or leaves the cursor where it was and returns -1
 * with MICA_E_BADREQ, code "bad_der" and a short message that never quotes
 * the input. Only what DER allows is accepted:
 *
 *  - identifiers in the low-tag-number form (one octet; X.509 needs no
 *    more), never the end-of-contents octets;
 *  - definite lengths in the minimal form (X.690 10.1): short form below
 *    128, long form without leading zero octets, at most 4 length octets;
 *    indefinite lengths are refused, as are lengths running past the input;
 *  - INTEGERs minimally encoded (X.690 8.3.2), BOOLEANs 0x00 or 0xFF
 *    (X.690 11.1), BIT STRINGs with 0..7 unused bits that are zero
 *    (X.690 11.2.1), OIDs without padded sub-identifiers (X.690 8.19.2);
 *  - UTCTime "YYMMDDHHMMSSZ" and GeneralizedTime "YYYYMMDDHHMMSSZ" exactly
 *    (RFC 5280 4.1.2.5.1 and 4.1.2.5.2: Zulu, seconds, no fractions).
 *
 * Tags are the full identifier octet: 0x30 SEQUENCE, 0xa0 [0] constructed,
 * 0x82 [2] primitive, and so on. Callers must check that a cursor is empty
 * (ca_der_end) when a structure must be consumed whole.
 */
#ifndef MICA_CA_DER_H
#define MICA_CA_DER_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CA_DER_BOOLEAN      0x01
#define CA_DER_INTEGER      0x02
#define CA_DER_BIT_STRING   0x03
#define CA_DER_OCTET_STRING 0x04
#define CA_DER_NULL         0x05
#define CA_DER_OID          0x06
#define CA_DER_ENUMERATED   0x0a
#define CA_DER_UTF8_STRING  0x0c
#define CA_DER_PRINTABLE    0x13
#define CA_DER_IA5_STRING   0x16
#define CA_DER_UTC_TIME     0x17
#define CA_DER_GEN_TIME     0x18
#define CA_DER_SEQUENCE     0x30
#define CA_DER_SET          0x31
/* [n] context-specific tags */
#define CA_DER_CTX(n)       (0x80 | (n))     /* primitive (IMPLICIT) */
#define CA_DER_CTX_CONS(n)  (0xa0 | (n))     /* constructed (EXPLICIT) */

/* Longest encoded Time element: GeneralizedTime, 2 + 15 octets. */
#define CA_DER_TIME_MAX 17

/* Unix times of 1950-01-01 and 2050-01-01 00:00:00 UTC: RFC 5280 4.1.2.5
 * wants UTCTime for [1950, 2050) and GeneralizedTime outside. */
#define CA_DER_UTC_MIN INT64_C(-631152000)
#define CA_DER_UTC_END INT64_C(2524608000)
/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the GeneralizedTime range. */
#define CA_DER_TIME_MIN INT64_C(-62167219200)
#define CA_DER_TIME_LAST INT64_C(253402300799)

struct ca_der_cur {
	const unsigned char *p;    /* next octet to read */
	const unsigned char *end;  /* one past the last octet */
};

/* One element as read by ca_der_get_any. */
struct ca_der_tlv {
	unsigned tag;              /* identifier octet */
	const unsigned char *raw;  /* the whole element (tag, length, value) */
	size_t raw_len;
	const unsigned char *val;  /* contents octets */
	size_t len;
};

/* Start a cursor over BUF[0..LEN). BUF may be NULL only when LEN is 0. */
void ca_der_init(struct ca_der_cur *c, const unsigned char *buf, size_t len);

/* 1 if nothing is left, else 0. */
int ca_der_empty(const struct ca_der_cur *c);

/* 1 if the next element's identifier octet is TAG (the element itself is
 * not checked), else 0 (also when the cursor is empty). */
int ca_der_peek(const struct ca_der_cur *c, unsigned tag);

/* Fail (what "has trailing data") unless the cursor is empty. WHAT names
 * the structure for the message. */
int ca_der_end(const struct ca_der_cur *c, const char *what,
	       struct mica_err *err);

/* Read the next element, whatever its tag. */
int ca_der_get_any(struct ca_der_cur *c, struct ca_der_tlv *out,
		   struct mica_err *err);

/* Read the next element, which must carry TAG; *val and *len get its contents
 * (pointers into the input). */
int ca_der_get_tlv(struct ca_der_cur *c, unsigned tag,
		   const unsigned char **val, size_t *len,
		   struct mica_err *err);

/* Like ca_der_get_tlv, but *raw and *raw_len cover the whole element (for
 * comparing a Name or an AlgorithmIdentifier byte for byte). */
int ca_der_get_elem(struct ca_der_cur *c, unsigned tag,
		    const unsigned char **raw, size_t *raw_len,
		    struct mica_err *err);

/* Read a constructed element with TAG and set *inner to its contents. */
int ca_der_enter(struct ca_der_cur *c, unsigned tag, struct ca_der_cur *inner,
		 struct mica_err *err);

/* Are V[0..N), an INTEGER's contents, DER (X.690 8.3.2: one octet at
 * least, and the first nine bits never all equal)? 0, or -1 with ERR. */
int ca_der_int_check(const unsigned char *v, size_t n, struct mica_err *err);

/* INTEGER of any sign, minimally encoded: *v and *n get its content
 * octets (big-endian two's complement, 1.. octets). */
int ca_der_get_int(struct ca_der_cur *c, const unsigned char **v, size_t *n,
		   struct mica_err *err);

/* INTEGER that is minimally encoded and > 0. *mag and *mag_len get the
 * big-endian magnitude without the sign octet (so 1.. octets, first octet
 * non-zero). */
int ca_der_get_posint(struct ca_der_cur *c, const unsigned char **mag,
		      size_t *mag_len, struct mica_err *err);

/* INTEGER that is minimally encoded and in 0..MAX. */
int ca_der_get_uint(struct ca_der_cur *c, uint64_t max, uint64_t *v,
		    struct mica_err *err);

/* BOOLEAN: *v 1 for 0xFF, 0 for 0x00; any other octet is refused. */
int ca_der_get_bool(struct ca_der_cur *c, int *v, struct mica_err *err);

/* OBJECT IDENTIFIER with a well-formed body; *oid and *len get the contents
 * octets (compare them with ca_der_oid_eq). */
int ca_der_get_oid(struct ca_der_cur *c, const unsigned char **oid,
		   size_t *len, struct mica_err *err);

/* AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER,
 * parameters ANY OPTIONAL } (RFC 5280 4.1.1.2): *OID and *OID_LEN its OID,
 * *PLAIN 1 when the parameters are absent or NULL, 0 when they are one
 * other element, not looked into (each output may be NULL). */
int ca_der_get_algid(struct ca_der_cur *c, const unsigned char **oid,
		     size_t *oid_len, int *plain, struct mica_err *err);

/* 1 if S[0..N) are all characters of a PrintableString (X.680 41.4:
 * letters, digits, space and ' ( ) + , - . / : = ?), else 0. */
int ca_der_printable(const unsigned char *s, size_t n);

/* 1 if the OID contents OID[0..LEN) equal WANT[0..WANT_LEN), else 0. */
int ca_der_oid_eq(const unsigned char *oid, size_t len,
		  const unsigned char *want, size_t want_len);

/* BIT STRING: *bits and *nbytes get the octets after the unused-bits count,
 * *unused that count (0..7; 0 when there are no octets). The unused bits
 * must be zero. */
int ca_der_get_bitstring(struct ca_der_cur *c, const unsigned char **bits,
			 size_t *nbytes, unsigned *unused,
			 struct mica_err *err);

/* UTCTime or GeneralizedTime in the strict RFC 5280 form, to Unix seconds
 * (*t). *generalized (may be NULL) is 1 for GeneralizedTime. Calendar
 * fields are range-checked (month 1..12, day within the month, leap years,
 * hour 0..23, minute and second 0..59). UTCTime years 50..99 are 19xx,
 * 00..49 are 20xx (RFC 5280 4.1.2.5.1). Whether the choice of encoding
 * fits the year is the caller's rule (RFC 5280 4.1.2.5). */
int ca_der_get_time(struct ca_der_cur *c, int64_t *t, int *generalized,
		    struct mica_err *err);

/*
 * The bounded forward writer. A writer covers [p, end) of a buffer its
 * caller sized beforehand (the size pass computes exactly what the write
 * pass will put). Every put checks the room left before it writes: one
 * that does not fit writes nothing at all and marks the writer failed,
 * and every put after that does nothing, so a size mistake stops before a
 * byte lands past the end, and a run of puts is checked once, with
 * ca_der_w_done(). Running out of room is a bug in the caller's size
 * pass, never something in the input: callers check their input first.
 */
struct ca_der_w {
	unsigned char *p;          /* next octet to write */
	unsigned char *end;        /* one past the last octet */
	int failed;                /* a put did not fit: nothing more is written */
};

/* Start a writer over BUF[0..SIZE). BUF may be NULL only when SIZE is 0. */
void ca_der_w_init(struct ca_der_w *w, unsigned char *buf, size_t size);

/* Octets of an identifier plus the minimal length octets (X.690 10.1) in
 * front of N contents octets; N must be below 2^32. */
size_t ca_der_hdr_size(size_t n);

/* Octets of the Time element ca_der_put_time writes for T: 15 or 17. */
size_t ca_der_time_size(int64_t t);

/* Identifier octet TAG (<= 0xff) and the minimal length of N (< 2^32). */
void ca_der_w_hdr(struct ca_der_w *w, unsigned tag, size_t n);
/* N octets from V (V may be NULL only when N is 0). */
void ca_der_w_raw(struct ca_der_w *w, const void *v, size_t n);
/* One octet. */
void ca_der_w_byte(struct ca_der_w *w, unsigned char v);
/* The Time element for T, which the caller has checked is within
 * [CA_DER_TIME_MIN, CA_DER_TIME_LAST] (outside it the writer fails). */
void ca_der_w_time(struct ca_der_w *w, int64_t t);
/* The same as a GeneralizedTime (17 octets) whatever the year, as OCSP
 * wants (RFC 6960 4.2.2.1). */
void ca_der_w_gentime(struct ca_der_w *w, int64_t t);

/* The invalidityDate extension (RFC 5280 5.3.2, 2.5.29.24), non-critical,
 * as mica writes it in a CRL entry and an OCSP SingleResponse: these
 * octets, SEQUENCE { OID, OCTET STRING { ... } }, then the
 * GeneralizedTime (17 octets, whatever the year, Zulu, no fraction). */
#define CA_DER_INVALIDITY_HEAD "\x30\x18\x06\x03\x55\x1d\x18\x04\x11"
#define CA_DER_INVALIDITY_HEAD_LEN 9
#define CA_DER_INVALIDITY_TLV (CA_DER_INVALIDITY_HEAD_LEN + 17)
/* Its extnID, as DER contents. */
#define CA_DER_OID_INVALIDITY "\x55\x1d\x18"
#define CA_DER_OID_INVALIDITY_LEN 3

/* 0 if every put fit and the buffer is exactly full (the size pass and the
 * write pass agree); else -1 with MICA_E_INTERNAL "encode_failed". */
int ca_der_w_done(const struct ca_der_w *w, struct mica_err *err);

/* Write T as a complete Time element (tag, length, contents) into OUT:
 * UTCTime for [CA_DER_UTC_MIN, CA_DER_UTC_END), GeneralizedTime otherwise
 * (RFC 5280 4.1.2.5), always with seconds and "Z". *len gets 15 or 17.
 * T outside [CA_DER_TIME_MIN, CA_DER_TIME_LAST] -> MICA_E_BADREQ
 * "bad_time". */
int ca_der_put_time(int64_t t, unsigned char out[CA_DER_TIME_MAX],
		    size_t *len, struct mica_err *err);

#endif

/*
 * ca/der.c - the fail-closed DER reader, the bounded writer and the Time
 * encoding (see der.h).
 *
 * The reader reads hostile bytes: lengths are checked against what is left
 * before any pointer moves, no recursion, no allocation, and a failed read
 * leaves the cursor untouched. Messages name the rule broken, never the
 * bytes. The writer writes only what its callers checked, into buffers
 * they sized: it checks the room before every octet it writes.
 */
#include "ca/der.h"

#include <assert.h>
#include <string.h>

/* Longest contents length the reader accepts and the writer writes: four
 * length octets. */
#define DER_LEN_MAX ((uint64_t)UINT32_MAX)

/* Always -1, visibly so: callers' "< 0" paths then let the compiler see
 * that nothing was filled in. */
static int
der_fail(struct mica_err *err, const char *msg)
{
	mica_err_set(err, MICA_E_BADREQ, "bad_der", "DER: %s", msg);
	return -1;
}

void
ca_der_init(struct ca_der_cur *c, const unsigned char *buf, size_t len)
{
	if (buf == NULL)
		len = 0;
	c->p = buf;
	c->end = buf == NULL ? NULL : buf + len;
}

int
ca_der_empty(const struct ca_der_cur *c)
{
	return c->p == c->end;
}

int
ca_der_peek(const struct ca_der_cur *c, unsigned tag)
{
	return c->p != c->end && c->p[0] == tag;
}

int
ca_der_end(const struct ca_der_cur *c, const char *what, struct mica_err *err)
{
	if (c->p != c->end) {
		mica_err_set(err, MICA_E_BADREQ, "bad_der",
			     "DER: %s has trailing data",
			     what != NULL ? what : "structure");
		return -1;
	}
	return 0;
}

/*
 * Parse the identifier and length octets at C->p (X.690 8.1.2, 8.1.3,
 * restricted by 10.1 for DER). On success fill *OUT and return 0 without
 * moving the cursor.
 */
static int
read_header(const struct ca_der_cur *c, struct ca_der_tlv *out,
	    struct mica_err *err)
{
	const unsigned char *p = c->p;
	size_t avail, n, k, i;

	if (p == NULL || p == c->end)
		return der_fail(err, "truncated (element expected)");
	avail = (size_t)(c->end - p);
	if (avail < 2)
		return der_fail(err, "truncated header");
	if ((p[0] & 0x1f) == 0x1f)
		return der_fail(err, "high tag number form not supported");
	if (p[0] == 0x00)
		return der_fail(err, "end-of-contents octets outside an "
				"indefinite length");
	if (p[1] < 0x80) {
		n = p[1];
		k = 0;
	} else if (p[1] == 0x80) {
		return der_fail(err, "indefinite length");
	} else {
		k = p[1] & 0x7f;
		/* 0xff is reserved (X.690 8.1.3.5 c); anything above four
		 * octets (4 GiB) is not something we will ever read. */
		if (k > 4)
			return der_fail(err, "length too large");
		if (avail - 2 < k)
			return der_fail(err, "truncated length");
		if (p[2] == 0x00)
			return der_fail(err, "length not minimally encoded");
		n = 0;
		for (i = 0; i < k; i++)
			n = (n << 8) | p[2 + i];
		if (n < 0x80)
			return der_fail(err, "length not minimally encoded");
	}
	if (n > avail - 2 - k)
		return der_fail(err, "length runs past the input");
	out->tag = p[0];
	out->raw = p;
	out->raw_len = 2 + k + n;
	out->val = p + 2 + k;
	out->len = n;
	return 0;
}

int
ca_der_get_any(struct ca_der_cur *c, struct ca_der_tlv *out,
	       struct mica_err *err)
{
	struct ca_der_tlv t;

	if (read_header(c, &t, err) < 0)
		return -1;
	c->p = t.raw + t.raw_len;
	*out = t;
	return 0;
}

/* Read an element that must carry TAG into *T, moving the cursor. */
static int
get_tagged(struct ca_der_cur *c, unsigned tag, struct ca_der_tlv *t,
	   struct mica_err *err)
{
	if (read_header(c, t, err) < 0)
		return -1;
	if (t->tag != tag) {
		mica_err_set(err, MICA_E_BADREQ, "bad_der", "DER: unexpected "
			     "tag 0x%02x (0x%02x expected)", t->tag, tag & 0xff);
		return -1;
	}
	c->p = t->raw + t->raw_len;
	return 0;
}

int
ca_der_get_tlv(struct ca_der_cur *c, unsigned tag, const unsigned char **val,
	       size_t *len, struct mica_err *err)
{
	struct ca_der_tlv t;

	if (get_tagged(c, tag, &t, err) < 0)
		return -1;
	*val = t.val;
	*len = t.len;
	return 0;
}

int
ca_der_get_elem(struct ca_der_cur *c, unsigned tag, const unsigned char **raw,
		size_t *raw_len, struct mica_err *err)
{
	struct ca_der_tlv t;

	if (get_tagged(c, tag, &t, err) < 0)
		return -1;
	*raw = t.raw;
	*raw_len = t.raw_len;
	return 0;
}

int
ca_der_enter(struct ca_der_cur *c, unsigned tag, struct ca_der_cur *inner,
	     struct mica_err *err)
{
	struct ca_der_tlv t;

	if ((tag & 0x20) == 0)
		return der_fail(err, "entering a primitive element");
	if (get_tagged(c, tag, &t, err) < 0)
		return -1;
	inner->p = t.val;
	inner->end = t.val + t.len;
	return 0;
}

/* X.690 8.3.2: the first nine bits of an INTEGER are never all equal. */
int
ca_der_int_check(const unsigned char *v, size_t n, struct mica_err *err)
{
	if (n == 0)
		return der_fail(err, "INTEGER with no contents");
	if (n > 1 && ((v[0] == 0x00 && (v[1] & 0x80) == 0) ||
		      (v[0] == 0xff && (v[1] & 0x80) != 0)))
		return der_fail(err, "INTEGER not minimally encoded");
	return 0;
}

int
ca_der_get_int(struct ca_der_cur *c, const unsigned char **v, size_t *n,
	       struct mica_err *err)
{
	struct ca_der_cur save = *c;

	if (ca_der_get_tlv(c, CA_DER_INTEGER, v, n, err) < 0)
		return -1;
	if (ca_der_int_check(*v, *n, err) < 0) {
		*c = save;
		return -1;
	}
	return 0;
}

int
ca_der_get_posint(struct ca_der_cur *c, const unsigned char **mag,
		  size_t *mag_len, struct mica_err *err)
{
	struct ca_der_cur save = *c;
	const unsigned char *v;
	size_t n;

	if (ca_der_get_tlv(c, CA_DER_INTEGER, &v, &n, err) < 0)
		return -1;
	if (ca_der_int_check(v, n, err) < 0)
		goto fail;
	if ((v[0] & 0x80) != 0 || (n == 1 && v[0] == 0)) {
		der_fail(err, "INTEGER not positive");
		goto fail;
	}
	if (v[0] == 0x00) {
		v++;
		n--;
	}
	*mag = v;
	*mag_len = n;
	return 0;
fail:
	*c = save;
	return -1;
}

int
ca_der_get_uint(struct ca_der_cur *c, uint64_t max, uint64_t *out,
		struct mica_err *err)
{
	struct ca_der_cur save = *c;
	const unsigned char *v;
	uint64_t x = 0;
	size_t n, i;

	if (ca_der_get_tlv(c, CA_DER_INTEGER, &v, &n, err) < 0)
		return -1;
	if (ca_der_int_check(v, n, err) < 0)
		goto fail;
	if ((v[0] & 0x80) != 0) {
		der_fail(err, "INTEGER negative");
		goto fail;
	}
	if (v[0] == 0x00 && n > 1) {
		v++;
		n--;
	}
	if (n > 8) {
		der_fail(err, "INTEGER out of range");
		goto fail;
	}
	for (i = 0; i < n; i++)
		x = (x << 8) | v[i];
	if (x > max) {
		der_fail(err, "INTEGER out of range");
		goto fail;
	}
	*out = x;
	return 0;
fail:
	*c = save;
	return -1;
}

int
ca_der_get_bool(struct ca_der_cur *c, int *v, struct mica_err *err)
{
	struct ca_der_cur save = *c;
	const unsigned char *b;
	size_t n;

	if (ca_der_get_tlv(c, CA_DER_BOOLEAN, &b, &n, err) < 0)
		return -1;
	if (n != 1 || (b[0] != 0x00 && b[0] != 0xff)) {
		*c = save;
		return der_fail(err, "BOOLEAN not 0x00 or 0xFF");
	}
	*v = b[0] == 0xff;
	return 0;
}

int
ca_der_get_oid(struct ca_der_cur *c, const unsigned char **oid, size_t *len,
	       struct mica_err *err)
{
	struct ca_der_cur save = *c;
	const unsigned char *v;
	size_t n, i;

	if (ca_der_get_tlv(c, CA_DER_OID, &v, &n, err) < 0)
		return -1;
	if (n == 0 || (v[n - 1] & 0x80) != 0) {
		*c = save;
		return der_fail(err, "OBJECT IDENTIFIER malformed");
	}
	/* A sub-identifier never starts with 0x80 (X.690 8.19.2). */
	for (i = 0; i < n; i++) {
		if (v[i] == 0x80 && (i == 0 || (v[i - 1] & 0x80) == 0)) {
			*c = save;
			return der_fail(err, "OBJECT IDENTIFIER not minimally "
					"encoded");
		}
	}
	*oid = v;
	*len = n;
	return 0;
}

int
ca_der_get_algid(struct ca_der_cur *c, const unsigned char **oid,
		 size_t *oid_len, int *plain, struct mica_err *err)
{
	struct ca_der_cur a;
	struct ca_der_tlv v;
	const unsigned char *o;
	size_t ol;

	if (plain != NULL)
		*plain = 1;
	if (ca_der_enter(c, CA_DER_SEQUENCE, &a, err) != 0 ||
	    ca_der_get_oid(&a, &o, &ol, err) != 0)
		return -1;
	if (oid != NULL)
		*oid = o;
	if (oid_len != NULL)
		*oid_len = ol;
	if (!ca_der_empty(&a)) {
		if (ca_der_get_any(&a, &v, err) != 0)
			return -1;
		if (plain != NULL)
			*plain = v.tag == CA_DER_NULL && v.len == 0;
	}
	return ca_der_end(&a, "AlgorithmIdentifier", err);
}

int
ca_der_printable(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || (c != '\0' &&
						  strchr(" '()+,-./:=?", c) != NULL)))
			return 0;
	}
	return 1;
}

int
ca_der_oid_eq(const unsigned char *oid, size_t len, const unsigned char *want,
	      size_t want_len)
{
	return len == want_len && memcmp(oid, want, len) == 0;
}

int
ca_der_get_bitstring(struct ca_der_cur *c, const unsigned char **bits,
		     size_t *nbytes, unsigned *unused, struct mica_err *err)
{
	struct ca_der_cur save = *c;
	const unsigned char *v;
	size_t n;

	if (ca_der_get_tlv(c, CA_DER_BIT_STRING, &v, &n, err) < 0)
		return -1;
	if (n == 0 || v[0] > 7 || (n == 1 && v[0] != 0)) {
		*c = save;
		return der_fail(err, "BIT STRING malformed");
	}
	/* X.690 11.2.1: the unused bits are zero. */
	if (n > 1 && (v[n - 1] & ((1u << v[0]) - 1)) != 0) {
		*c = save;
		return der_fail(err, "BIT STRING unused bits not zero");
	}
	*bits = v + 1;
	*nbytes = n - 1;
	*unused = v[0];
	return 0;
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil; exact for all years we accept). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse: a day count to year, month, day. */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
month_days(int64_t y, unsigned m)
{
	static const unsigned char mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};

	return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* N decimal digits at S, or -1 if any is not a digit. */
static int
digits(const unsigned char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
ca_der_get_time(struct ca_der_cur *c, int64_t *t, int *generalized,
		struct mica_err *err)
{
	struct ca_der_tlv e;
	const unsigned char *s;
	int year, mon, day, hour, min, sec, gen;

	if (read_header(c, &e, err) < 0)
		return -1;
	if (e.tag == CA_DER_UTC_TIME) {
		gen = 0;
		if (e.len != 13)
			return der_fail(err, "UTCTime not YYMMDDHHMMSSZ");
		s = e.val;
		year = digits(s, 2);
		s += 2;
		if (year >= 0)
			year += year >= 50 ? 1900 : 2000;
	} else if (e.tag == CA_DER_GEN_TIME) {
		gen = 1;
		if (e.len != 15)
			return der_fail(err, "GeneralizedTime not "
					"YYYYMMDDHHMMSSZ");
		s = e.val;
		year = digits(s, 4);
		s += 4;
	} else {
		return der_fail(err, "Time expected");
	}
	mon = digits(s, 2);
	day = digits(s + 2, 2);
	hour = digits(s + 4, 2);
	min = digits(s + 6, 2);
	sec = digits(s + 8, 2);
	if (year < 0 || mon < 0 || day < 0 || hour < 0 || min < 0 || sec < 0 ||
	    s[10] != 'Z')
		return der_fail(err, gen ? "GeneralizedTime not YYYYMMDDHHMMSSZ"
				: "UTCTime not YYMMDDHHMMSSZ");
	if (mon < 1 || mon > 12 || day < 1 ||
	    (unsigned)day > month_days(year, (unsigned)mon) || hour > 23 ||
	    min > 59 || sec > 59)
		return der_fail(err, "Time field out of range");
	*t = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 +
	     hour * 3600 + min * 60 + sec;
	if (generalized != NULL)
		*generalized = gen;
	c->p = e.raw + e.raw_len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Bounded writer                                                      */
/* ------------------------------------------------------------------ */

void
ca_der_w_init(struct ca_der_w *w, unsigned char *buf, size_t size)
{
	assert(buf != NULL || size == 0);
	w->p = buf;
	w->end = buf == NULL ? NULL : buf + size;
	w->failed = 0;
}

/* Is there room for N more octets? If not, the writer fails for good:
 * nothing is written now or later. */
static int
w_room(struct ca_der_w *w, size_t n)
{
	assert(w->p == w->end || w->p < w->end);   /* no NULL < NULL */
	if (w->failed)
		return 0;
	if (n == 0)
		return 1;
	if (w->p == NULL || n > (size_t)(w->end - w->p)) {
		w->failed = 1;
		return 0;
	}
	return 1;
}

size_t
ca_der_hdr_size(size_t n)
{
	assert((uint64_t)n <= DER_LEN_MAX);
	if (n < 0x80)
		return 2;
	if (n <= 0xff)
		return 3;
	if (n <= 0xffff)
		return 4;
	if (n <= 0xffffff)
		return 5;
	return 6;
}

size_t
ca_der_time_size(int64_t t)
{
	return t >= CA_DER_UTC_MIN && t < CA_DER_UTC_END ? 15 : 17;
}

void
ca_der_w_hdr(struct ca_der_w *w, unsigned tag, size_t n)
{
	size_t k;

	/* Callers bound every length and pass only the tags of der.h. */
	assert(tag <= 0xff && (uint64_t)n <= DER_LEN_MAX);
	if (tag > 0xff || (uint64_t)n > DER_LEN_MAX) {
		w->failed = 1;
		return;
	}
	if (!w_room(w, ca_der_hdr_size(n)))
		return;
	*w->p++ = (unsigned char)tag;
	if (n < 0x80) {
		*w->p++ = (unsigned char)n;
		return;
	}
	k = ca_der_hdr_size(n) - 2;
	*w->p++ = (unsigned char)(0x80 | k);
	while (k-- > 0)
		*w->p++ = (unsigned char)(n >> (8 * k));
}

void
ca_der_w_raw(struct ca_der_w *w, const void *v, size_t n)
{
	assert(v != NULL || n == 0);
	if (n == 0 || !w_room(w, n))
		return;
	memcpy(w->p, v, n);
	w->p += n;
}

void
ca_der_w_byte(struct ca_der_w *w, unsigned char v)
{
	if (!w_room(w, 1))
		return;
	*w->p++ = v;
}

/* Two decimal digits of V (0..99). */
static void
w_digits2(struct ca_der_w *w, unsigned v)
{
	assert(v < 100);
	ca_der_w_byte(w, (unsigned char)('0' + v / 10));
	ca_der_w_byte(w, (unsigned char)('0' + v % 10));
}

static void
w_time(struct ca_der_w *w, int64_t t, int gen);

void
ca_der_w_time(struct ca_der_w *w, int64_t t)
{
	w_time(w, t, 0);
}

void
ca_der_w_gentime(struct ca_der_w *w, int64_t t)
{
	w_time(w, t, 1);
}

/* The Time element for T; GEN: GeneralizedTime whatever the year. */
static void
w_time(struct ca_der_w *w, int64_t t, int gen)
{
	int64_t days, secs, y;
	unsigned m, d, sod;
	size_t size;

	/* The range is the caller's check (ca_der_put_time makes it). */
	assert(t >= CA_DER_TIME_MIN && t <= CA_DER_TIME_LAST);
	if (t < CA_DER_TIME_MIN || t > CA_DER_TIME_LAST) {
		w->failed = 1;
		return;
	}
	size = gen ? 17 : ca_der_time_size(t);
	/* Claim the whole element first: all of it fits or none is written. */
	if (!w_room(w, size))
		return;
	/* Floor division: times before 1970 are negative. */
	days = t / 86400;
	secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	sod = (unsigned)secs;
	assert(y >= 0 && y <= 9999);
	if (size == 15) {
		ca_der_w_hdr(w, CA_DER_UTC_TIME, 13);
		w_digits2(w, (unsigned)(y % 100));
	} else {
		ca_der_w_hdr(w, CA_DER_GEN_TIME, 15);
		w_digits2(w, (unsigned)(y / 100));
		w_digits2(w, (unsigned)(y % 100));
	}
	w_digits2(w, m);
	w_digits2(w, d);
	w_digits2(w, sod / 3600);
	w_digits2(w, sod / 60 % 60);
	w_digits2(w, sod % 60);
	ca_der_w_byte(w, 'Z');
}

int
ca_der_w_done(const struct ca_der_w *w, struct mica_err *err)
{
	assert(w->p == w->end || w->p < w->end);   /* no NULL < NULL */
	if (w->failed || w->p != w->end)
		return mica_err_set(err, MICA_E_INTERNAL, "encode_failed",
				    "DER encoding failed");
	return 0;
}

int
ca_der_put_time(int64_t t, unsigned char out[CA_DER_TIME_MAX], size_t *len,
		struct mica_err *err)
{
	struct ca_der_w w;
	size_t n;

	if (t < CA_DER_TIME_MIN || t > CA_DER_TIME_LAST)
		return mica_err_set(err, MICA_E_BADREQ, "bad_time",
				    "time outside years 0000..9999");
	n = ca_der_time_size(t);
	assert(n <= CA_DER_TIME_MAX);
	ca_der_w_init(&w, out, n);
	ca_der_w_time(&w, t);
	if (ca_der_w_done(&w, err) != 0)
		return -1;
	*len = n;
	return 0;
}

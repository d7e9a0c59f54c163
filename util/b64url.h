/*
 * util/b64url.h - base64url without padding (RFC 4648 5; RFC 7515 2 and
 * appendix C), the encoding of every binary field in JOSE and ACME.
 *
 * The decoder is strict, because JWS signatures are computed over the
 * encoded text and two spellings of one value must never both be
 * accepted: only the 64 characters of the URL-safe alphabet, no '='
 * padding, no white space, no length of the form 4k+1, and the unused low
 * bits of the last character must be zero (so each value has exactly one
 * encoding).
 */
#ifndef MICA_UTIL_B64URL_H
#define MICA_UTIL_B64URL_H

#include <stddef.h>

/* The most octets LEN characters can decode to. */
#define MICA_B64URL_DECLEN(len) (((len) / 4) * 3 + 2)
/* The characters N octets encode to, without the NUL. */
#define MICA_B64URL_ENCLEN(n) (((n) / 3) * 4 + ((n) % 3 == 0 ? 0 : (n) % 3 + 1))

/*
 * Decode IN[0..LEN) into OUT (OUTSZ octets). *OUTLEN gets the length.
 * Returns 0, or -1 for any character outside the alphabet, a length of the
 * form 4k+1, non-zero unused bits, or output that does not fit (OUT may
 * then be partly written).
 */
int mica_b64url_decode(const char *in, size_t len, unsigned char *out,
		       size_t outsz, size_t *outlen);

/*
 * Encode IN[0..LEN) into OUT (OUTSZ bytes, NUL-terminated). Returns the
 * number of characters written (without the NUL), or 0 with OUT[0] = '\0'
 * when it does not fit (LEN 0 also gives 0).
 */
size_t mica_b64url_encode(const unsigned char *in, size_t len, char *out,
			  size_t outsz);

#endif

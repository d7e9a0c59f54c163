/*
 * util/hex.h - hexadecimal digits, shared by ca/ (serials, tokens, ids) and
 * web/ (percent-decoding).
 */
#ifndef MICA_UTIL_HEX_H
#define MICA_UTIL_HEX_H

#include <stddef.h>

/* Value of one hex digit (either case), or -1. */
int mica_hex_val(int c);

/* Write LEN bytes of IN as 2*LEN lowercase hex digits plus a NUL into OUT
 * (which must hold 2*LEN+1 bytes). */
void mica_hex_encode(const unsigned char *in, size_t len, char *out);

/* Decode exactly 2*LEN hex digits of IN into OUT[LEN]; -1 on a bad digit
 * (OUT may then be partly written). */
int mica_hex_decode(const char *in, unsigned char *out, size_t len);

#endif

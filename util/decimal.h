/*
 * util/decimal.h - a whole number as people and scripts write it in a
 * command's option or an API query parameter: one spelling per number.
 */
#ifndef MICA_UTIL_DECIMAL_H
#define MICA_UTIL_DECIMAL_H

#include <stdint.h>

/* S as a decimal in [MIN, MAX] into *OUT: "0", or digits not starting
 * with 0, with a '-' before them for a negative number. Refused (-1, *OUT
 * untouched): a leading zero ("030", "-0": read as octal by some tools, a
 * typo by others), a '+', a blank, hex or an exponent ("0x1e", "3e1"),
 * anything after the digits, more than 19 digits, and whatever is out of
 * range. 0 when taken. */
int mica_decimal(const char *s, int64_t min, int64_t max, int64_t *out);

#endif

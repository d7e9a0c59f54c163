#include "util/decimal.h"

#include <string.h>

int
mica_decimal(const char *s, int64_t min, int64_t max, int64_t *out)
{
	uint64_t v = 0;
	int64_t sv;
	size_t len;
	int neg = 0;

	if (s == NULL)
		return -1;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	len = strlen(s);
	if (len == 0 || len > 19 || (s[0] == '0' && (len > 1 || neg)))
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	/* 19 digits fit in uint64_t; the signed range is checked here
	 * (INT64_MIN itself is not taken: no bound needs it). */
	if (v > (uint64_t)INT64_MAX)
		return -1;
	sv = neg ? -(int64_t)v : (int64_t)v;
	if (sv < min || sv > max)
		return -1;
	*out = sv;
	return 0;
}

/*
 * util/jstr.h - a JSON string of text read from the store, for the API's
 * and the command line's JSON alike (jansson).
 */
#ifndef MICA_UTIL_JSTR_H
#define MICA_UTIL_JSTR_H

#include <jansson.h>

/* S as a JSON string; JSON null for NULL. Text that is not UTF-8 (a
 * store edited by hand, a name from before it was checked) keeps its
 * ASCII and has every other octet replaced by '?', rather than making
 * the whole record fail to render. NULL only when out of memory. */
json_t *mica_jstr(const char *s);
/* An array of the non-empty lines of a '\n'-separated list S (names,
 * contacts, as the store keeps them), each through mica_jstr; [] for
 * NULL. NULL only when out of memory. */
json_t *mica_jlines(const char *s);
/* An array of the PEM certificates concatenated in PEM (a chain as the
 * engine keeps it), one string each, "-----END CERTIFICATE-----\n"
 * included, in order; [] for NULL or "". NULL only when out of memory. */
json_t *mica_jpems(const char *pem);
/* Why jansson refused a text (E, filled by a failed json_loadb), in a few
 * words that never quote the input (jansson's own message does): "a
 * number out of range", "a member given twice"... Static storage. */
const char *mica_json_why(const json_error_t *e);

#endif

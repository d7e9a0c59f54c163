/*
 * util/jstr.c - see util/jstr.h.
 */
#include "util/jstr.h"

#include <stdlib.h>
#include <string.h>

json_t *
mica_jstr(const char *s)
{
	json_t *j;
	char *copy;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	/* Not UTF-8: keep the ASCII, mark the rest. */
	if ((copy = strdup(s)) == NULL)
		return NULL;
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *
mica_jlines(const char *s)
{
	json_t *a = json_array();

	if (a == NULL || s == NULL)
		return a;
	while (*s != '\0') {
		size_t n = strcspn(s, "\n");

		if (n > 0) {
			char *item = strndup(s, n);
			json_t *js = item != NULL ? mica_jstr(item) : NULL;

			free(item);
			if (js == NULL || json_array_append_new(a, js) != 0) {
				json_decref(a);
				return NULL;
			}
		}
		s += n;
		if (*s == '\n')
			s++;
	}
	return a;
}

const char *
mica_json_why(const json_error_t *e)
{
	switch (json_error_code(e)) {
	case json_error_invalid_utf8:          return "text that is not UTF-8";
	case json_error_premature_end_of_input: return "it ends too soon";
	case json_error_end_of_input_expected: return "something after the value";
	case json_error_null_character:        return "a NUL character (\\u0000)";
	case json_error_duplicate_key:         return "a member given twice";
	case json_error_numeric_overflow:      return "a number out of range";
	case json_error_stack_overflow:        return "nested too deeply";
	default:                               return "invalid syntax";
	}
}

json_t *
mica_jpems(const char *pem)
{
	static const char end[] = "-----END CERTIFICATE-----\n";
	json_t *a = json_array();

	for (const char *p = pem; a != NULL && p != NULL && *p != '\0';) {
		const char *e = strstr(p, end);
		size_t n = e != NULL ? (size_t)(e - p) + sizeof(end) - 1 :
			   strlen(p);

		if (json_array_append_new(a, json_stringn(p, n)) != 0) {
			json_decref(a);
			return NULL;
		}
		p += n;
	}
	return a;
}

/*
 * ca/text.c - text the engine stores: the '\n'-separated name lists of
 * certificates, requests and token scopes, ids, and free-text fields.
 */
#include "ca/ca.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "util/hex.h"
#include "util/shown.h"

/* ------------------------------------------------------- name lists -- */

int
ca_split_lines(const char *s, char ***out, size_t *n)
{
	char **v = NULL, *copy, *save = NULL, *tok;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return 0;
	if ((copy = strdup(s)) == NULL)
		return -1;
	for (tok = strtok_r(copy, "\n", &save); tok != NULL;
	     tok = strtok_r(NULL, "\n", &save)) {
		char **nv = realloc(v, (count + 1) * sizeof(*v));
		if (nv == NULL)
			goto fail;
		v = nv;
		if ((v[count] = strdup(tok)) == NULL)
			goto fail;
		count++;
	}
	free(copy);
	*out = v;
	*n = count;
	return 0;
fail:
	for (size_t i = 0; i < count; i++)
		free(v[i]);
	free(v);
	free(copy);
	return -1;
}

char *
ca_join_names(const struct ca_name *names, size_t n)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(names[i].value) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	p = s;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i].value);
		memcpy(p, names[i].value, l);
		p += l;
		if (i + 1 < n)
			*p++ = '\n';
	}
	*p = '\0';
	return s;
}

size_t
ca_names_unique(struct ca_name *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int dup = 0;

		for (size_t m = 0; m < k && !dup; m++)
			dup = ca_name_same(&v[m], &v[i]);
		if (!dup)
			v[k++] = v[i];
	}
	return k;
}

int
ca_stored_names_parse(const char *s, struct ca_name **out, size_t *n,
		      struct mica_err *err)
{
	char **v = NULL;
	size_t count = 0;
	struct ca_name *names = NULL;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (ca_split_lines(s, &v, &count) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	if (count == 0 || (names = calloc(count, sizeof(*names))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_record",
			     "stored certificate has no names");
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		if (ca_name_parse(v[i], CA_NAME_STORED, &names[i], err) != 0)
			goto out;
	*out = names;
	*n = count;
	names = NULL;
	rc = 0;
out:
	free(names);
	for (size_t i = 0; i < count; i++)
		free(v[i]);
	free(v);
	return rc;
}

/* ---------------------------------------------------- ids and text -- */

int
ca_valid_id(const char *id)
{
	size_t n = id != NULL ? strnlen(id, CA_ID_MAX) : 0;

	if (n == 0 || n >= CA_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (mica_hex_val((unsigned char)id[i]) < 0 || (id[i] >= 'A' && id[i] <= 'F'))
			return 0;
	return 1;
}

/* Unicode's White_Space characters free text does not refuse outright
 * (the C0 and C1 ones are controls). */
static int
text_cp_space(uint32_t cp)
{
	return cp == 0x20 || cp == 0xa0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200a) || cp == 0x202f ||
	       cp == 0x205f || cp == 0x3000;
}

int
ca_text_check(const char *s, size_t max, const char *what, struct mica_err *err)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, chars = 0, n;
	int space = 0;

	assert(what != NULL);
	if (s == NULL)
		return 0;
	/* A character is at most 4 octets: more than 4 * MAX octets are
	 * more than MAX characters. */
	n = strnlen(s, 4 * max + 1);
	if (n > 4 * max)
		goto too_long;
	while (i < n) {
		uint32_t cp;
		size_t len;

		/* RFC 3629 3: well-formed UTF-8 only - no overlong forms,
		 * no surrogates, nothing above U+10FFFF. */
		if ((len = mica_utf8_next(u + i, n - i, &cp)) == 0)
			goto bad_utf8;
		if (mica_cp_hidden(cp))
			return mica_err_set(err, MICA_E_BADREQ, "bad_text",
					    "the %s contains a control or invisible "
					    "formatting character (U+%04X): write "
					    "plain text", what, (unsigned)cp);
		/* Blanks around the text (or only blanks) would make two
		 * entries of a list look alike, or one look empty. */
		space = text_cp_space(cp);
		if (space && chars == 0)
			goto blank;
		if (++chars > max)
			goto too_long;
		i += len;
	}
	if (space)
		goto blank;
	return 0;
blank:
	return mica_err_set(err, MICA_E_BADREQ, "bad_text",
			    "the %s begins or ends with white space: write "
			    "it without", what);
too_long:
	return mica_err_set(err, MICA_E_BADREQ, "bad_text",
			    "the %s is longer than %zu characters", what, max);
bad_utf8:
	return mica_err_set(err, MICA_E_BADREQ, "bad_text",
			    "the %s is not valid UTF-8 text", what);
}

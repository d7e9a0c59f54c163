/*
 * ca/text.c - text the engine stores: the '\n'-separated name lists of
 * certificates, requests and token scopes, ids, and free-text fields.
 */
#include "ca/ca.h"

#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "util/hex.h"

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
		if (ca_name_parse(v[i], 0, &names[i], err) != 0)
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

/* Control characters would let a comment or a reason forge lines in a
 * log or a terminal. */
int
ca_clean_text(const char *in, size_t max, char *out, size_t outsize)
{
	size_t n = 0;

	if (in == NULL) {
		out[0] = '\0';
		return 0;
	}
	if (strlen(in) > max)
		return -1;
	for (const char *c = in; *c != '\0' && n + 1 < outsize; c++)
		out[n++] = ((unsigned char)*c < 0x20 || *c == 0x7f) ? ' ' : *c;
	out[n] = '\0';
	return 0;
}

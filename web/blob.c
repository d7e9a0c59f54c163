/*
 * web/blob.c - refcounted immutable byte buffers (web/blob.h).
 */
#include "web/blob.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/bigmem.h"

struct web_blob *
web_blob_new(const void *data, size_t len)
{
	struct web_blob *b;

	if (len > SIZE_MAX - sizeof(*b) - 1)
		return NULL;
	if ((b = malloc(sizeof(*b) + len + 1)) == NULL)
		return NULL;
	mica_mem_big(b, sizeof(*b) + len + 1);
	atomic_init(&b->refs, 1);
	b->secret = 0;
	b->adopted = 0;
	b->len = len;
	b->data = b->inline_;
	if (data != NULL)
		memcpy(b->data, data, len);
	else
		memset(b->data, 0, len);
	b->data[len] = '\0';
	return b;
}

/* Take over DATA (LEN bytes); on failure free it, wiped first if SECRET. */
static struct web_blob *
adopt(void *data, size_t len, int secret)
{
	struct web_blob *b;

	if (data == NULL)
		return NULL;
	if ((b = malloc(sizeof(*b))) == NULL) {
		if (secret)
			explicit_bzero(data, len);
		free(data);
		return NULL;
	}
	atomic_init(&b->refs, 1);
	b->secret = secret;
	b->adopted = 1;
	b->len = len;
	b->data = data;
	return b;
}

struct web_blob *
web_blob_adopt(void *data, size_t len)
{
	return adopt(data, len, 0);
}

struct web_blob *
web_blob_adopt_secret(void *data, size_t len)
{
	return adopt(data, len, 1);
}

struct web_blob *
web_blob_ref(struct web_blob *b)
{
	if (b != NULL)
		atomic_fetch_add(&b->refs, 1);
	return b;
}

void
web_blob_unref(struct web_blob *b)
{
	if (b == NULL || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	if (b->secret)
		explicit_bzero(b->data, b->len);
	if (b->adopted)
		free(b->data);
	free(b);
}

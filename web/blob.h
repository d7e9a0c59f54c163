/*
 * web/blob.h - refcounted immutable byte buffers: reply bodies and the
 * cached CRL, so a response can be sent while the cache moves on. SECRET
 * blobs (a reply that carries a new token) are zeroized when the last
 * reference goes.
 */
#ifndef MICA_WEB_BLOB_H
#define MICA_WEB_BLOB_H

#include <stdatomic.h>
#include <stddef.h>

struct web_blob {
	atomic_int refs;
	int secret;
	int adopted;              /* data is a separate heap buffer */
	size_t len;
	unsigned char *data;      /* inline_[] unless adopted */
	unsigned char inline_[];
};

/* A new blob holding a copy of DATA (LEN bytes, plus a NUL not counted in
 * len), or LEN zero bytes when DATA is NULL; one reference. NULL on
 * allocation failure. */
struct web_blob *web_blob_new(const void *data, size_t len);
/* A blob that takes over the heap buffer DATA (LEN bytes, no NUL added):
 * no copy, for large bodies such as the CRL. On failure DATA is freed. */
struct web_blob *web_blob_adopt(void *data, size_t len);
/* The same for a secret (a profile holding a one-use challenge): marked
 * secret, so wiped when freed, and wiped before it is freed on failure. */
struct web_blob *web_blob_adopt_secret(void *data, size_t len);
/* Take one more reference (B may be NULL); returns B. */
struct web_blob *web_blob_ref(struct web_blob *b);
/* Drop one reference; frees (zeroizing secret blobs) on the last. NULL ok. */
void web_blob_unref(struct web_blob *b);

#endif

/*
 * ca/signer_msg.c - the wire format between the front end and a signer
 * (ca/signer_int.h): headers, bounded reads and writes, and the canonical
 * form of the allowed-domain list that the CA key's MAC covers.
 */
#include "ca/signer_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ca/names.h"

#include "util/clock.h"

static const char blob_head[] = "mica allowed domains v1\n";
#define DOMAINS_MAX 1000      /* more than any CA lists */

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void
ca_signer_hdr_put(const struct ca_signer_hdr *h,
		  unsigned char out[CA_SIGNER_HDR])
{
	put32(out, CA_SIGNER_MAGIC);
	out[4] = (unsigned char)(h->type >> 8);
	out[5] = (unsigned char)h->type;
	out[6] = (unsigned char)(h->key >> 8);
	out[7] = (unsigned char)h->key;
	put32(out + 8, h->id);
	put32(out + 12, h->len);
}

uint32_t
ca_signer_max_len(uint16_t type)
{
	switch (type) {
	case CA_SMSG_SIGN_LEAF:   return CA_SIGNER_LEAF_MAX;
	case CA_SMSG_SIGN_CRL:    return CA_SIGNER_CRL_MAX;
	case CA_SMSG_SET_DOMAINS: return CA_SIGNER_CONF_MAX;
	case CA_SMSG_OCSP_KEY:    return 0;   /* no payload */
	case CA_SMSG_OCSP_CERT:   return CA_SIGNER_LEAF_MAX;
	case CA_SMSG_OCSP_SIGN:   return CA_OCSP_TBS_MAX;
	case CA_SMSG_OCSP_CA_SIGN: return CA_OCSP_TBS_MAX;
	case CA_SMSG_SCEP_KEY:    return 0;   /* no payload */
	case CA_SMSG_SCEP_CERT:   return CA_SIGNER_LEAF_MAX;
	case CA_SMSG_SCEP_SIGN:   return CA_SCEP_ATTRS_MAX;
	case CA_SMSG_SCEP_DECRYPT: return 1 + CA_SCEP_EKEY_MAX;
	case CA_SMSG_SCEP_NEXTCA: return CA_SCEP_NEXTCA_MAX;
	case CA_SMSG_OK:          return CA_SIG_MAX;
	case CA_SMSG_REFUSED:     return CA_SIGNER_REFUSAL_MAX;
	default:                  return 0;
	}
}

int
ca_signer_hdr_get(const unsigned char in[CA_SIGNER_HDR],
		  struct ca_signer_hdr *h)
{
	uint32_t max;

	if (get32(in) != CA_SIGNER_MAGIC)
		return -1;
	h->type = (uint16_t)(in[4] << 8 | in[5]);
	h->key = (uint16_t)(in[6] << 8 | in[7]);
	h->id = get32(in + 8);
	h->len = get32(in + 12);
	max = ca_signer_max_len(h->type);
	if ((max == 0 && h->type != CA_SMSG_OCSP_KEY &&
	     h->type != CA_SMSG_SCEP_KEY) || h->len > max)
		return -1;
	/* A key index only where a CA key signs, and one that can exist. */
	if (h->type == CA_SMSG_SIGN_LEAF || h->type == CA_SMSG_SIGN_CRL ||
	    h->type == CA_SMSG_OCSP_CERT || h->type == CA_SMSG_SCEP_CERT ||
	    h->type == CA_SMSG_OCSP_CA_SIGN)
		return h->key < CA_SIGNER_KEYS ? 0 : -1;
	return h->key == 0 ? 0 : -1;
}

int
ca_signer_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ca_signer_read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	unsigned char *p = buf;
	size_t got = 0;
	int64_t deadline = timeout_ms < 0 ? 0 : mica_mono_ms() + timeout_ms;

	while (got < len) {
		ssize_t n;

		if (timeout_ms >= 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			int64_t left = deadline - mica_mono_ms();
			int r;

			if (left <= 0)
				return -1;
			r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			if (r == 0)
				continue;
		}
		n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return got == 0 ? 1 : -1;
		got += (size_t)n;
	}
	return 0;
}

void
ca_signer_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A domain as the CA stores it: a canonical DNS name (ca_name_parse). */
static int
domain_ok(const char *d, char canon[256])
{
	struct ca_name n;

	if (d == NULL || ca_name_parse(d, CA_NAME_DNS, &n, NULL) != 0 ||
	    n.kind != CA_NAME_DNS || n.value[0] == '*')
		return -1;
	memcpy(canon, n.value, sizeof(n.value));
	return 0;
}

int
ca_signer_domains_blob(const char *const *domains, size_t ndomains,
		       unsigned char **out, size_t *out_len,
		       struct mica_err *err)
{
	char **v = NULL;
	unsigned char *buf = NULL, *p;
	size_t i, n = 0, total = sizeof(blob_head) - 1;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (ndomains > DOMAINS_MAX) {
		mica_err_set(err, MICA_E_BADREQ, "too_many_domains",
			     "more than %d allowed domains", DOMAINS_MAX);
		goto out;
	}
	if ((v = calloc(ndomains + 1, sizeof(*v))) == NULL)
		goto oom;
	for (i = 0; i < ndomains; i++) {
		char canon[256];

		if (domain_ok(domains[i], canon) != 0) {
			mica_err_set(err, MICA_E_BADREQ, "bad_domain",
				     "an allowed domain is not a DNS name");
			goto out;
		}
		if ((v[n] = strdup(canon)) == NULL)
			goto oom;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++)
		total += strlen(v[i]) + 1;
	if ((buf = malloc(total)) == NULL)
		goto oom;
	p = buf;
	memcpy(p, blob_head, sizeof(blob_head) - 1);
	p += sizeof(blob_head) - 1;
	for (i = 0; i < n; i++) {
		size_t l = strlen(v[i]);

		memcpy(p, v[i], l);
		p += l;
		*p++ = '\n';
	}
	*out = buf;
	*out_len = total;
	buf = NULL;
	rc = 0;
	goto out;
oom:
	mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
out:
	ca_signer_strv_free(v);
	free(buf);
	return rc;
}

int
ca_signer_domains_parse(const unsigned char *blob, size_t len, char ***out,
			size_t *n)
{
	const size_t hl = sizeof(blob_head) - 1;
	const unsigned char *p, *end;
	char **v = NULL;
	size_t cnt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (blob == NULL || len < hl || memcmp(blob, blob_head, hl) != 0)
		return -1;
	end = blob + len;
	for (p = blob + hl; p < end;) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		char name[256], canon[256];
		size_t l;

		if (nl == NULL || nl == p || (size_t)(nl - p) >= sizeof(name))
			goto bad;
		l = (size_t)(nl - p);
		memcpy(name, p, l);
		name[l] = '\0';
		if (memchr(name, '\0', l) != NULL || domain_ok(name, canon) != 0 ||
		    strcmp(canon, name) != 0)
			goto bad;
		/* Sorted and unique, as the blob is made. */
		if (cnt > 0 && strcmp(v[cnt - 1], name) >= 0)
			goto bad;
		if (cnt + 1 >= cap) {
			char **nv;

			cap = cap ? cap * 2 : 8;
			if (cap > DOMAINS_MAX + 1)
				goto bad;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto bad;
			v = nv;
		}
		if ((v[cnt] = strdup(name)) == NULL)
			goto bad;
		v[++cnt] = NULL;
		p = nl + 1;
	}
	if (v == NULL && (v = calloc(1, sizeof(*v))) == NULL)
		return -1;
	*out = v;
	*n = cnt;
	return 0;
bad:
	if (v != NULL)
		v[cnt] = NULL;
	ca_signer_strv_free(v);
	return -1;
}

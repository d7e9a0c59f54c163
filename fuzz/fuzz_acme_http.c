/*
 * fuzz/fuzz_acme_http.c - what ACME validation reads from the servers it
 * connects to, and the lab's hosts file: ca_acme_http_head and
 * ca_acme_http_unchunk (http-01 responses), ca_acme_tlsalpn_cert (the
 * certificate a tls-alpn-01 responder presents) and ca_acme_hosts_parse
 * (ca/acme_int.h).
 *
 * Input: octet 0 picks the reader, the rest is its input. Checked beyond
 * memory safety: a parsed head has a status of 100..599, a Location that
 * is NUL-terminated within its buffer; an unchunked body is no longer
 * than its input and fits its output; a hosts table has canonical names
 * (lowercase, no trailing dot) and addresses of a known family; a
 * certificate that passes the tls-alpn-01 check for a name and a key
 * authorization passes for no other.
 */
#include "fuzz/fuzz.h"

#include <sys/socket.h>

#include "ca/acme_int.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sel;

	if (size < 1 || size > 65536)
		return 0;
	sel = data[0] % 4;
	data++;
	size--;
	if (sel == 0) {
		char loc[64];
		long clen;
		int status, chunked;

		if (ca_acme_http_head((const char *)data, size, &status, loc, sizeof(loc),
				      &clen, &chunked) == 0) {
			if (status < 100 || status > 599)
				fuzz_fail("status %d", status);
			if (memchr(loc, '\0', sizeof(loc)) == NULL)
				fuzz_fail("Location not NUL-terminated");
			if (clen < -1)
				fuzz_fail("Content-Length %ld", clen);
		}
	} else if (sel == 1) {
		unsigned char out[512];
		size_t n = 0;

		if (ca_acme_http_unchunk(data, size, out, sizeof(out), &n) == 0 &&
		    (n > size || n > sizeof(out)))
			fuzz_fail("unchunked %zu octets from %zu", n, size);
	} else if (sel == 2) {
		struct ca_acme_hosts h;
		struct mica_err err;
		int rc = ca_acme_hosts_parse((const char *)data, size, &h, &err);

		fuzz_check_err("ca_acme_hosts_parse", rc, &err);
		for (size_t i = 0; rc == 0 && i < h.n; i++) {
			const char *nm = h.v[i].name;
			size_t l = strlen(nm);

			if (l == 0 || l > 253 || nm[l - 1] == '.')
				fuzz_fail("host name not canonical");
			for (size_t k = 0; k < l; k++)
				if (nm[k] >= 'A' && nm[k] <= 'Z')
					fuzz_fail("host name not lowercase");
			if (h.v[i].addr.ss_family != AF_INET && h.v[i].addr.ss_family != AF_INET6)
				fuzz_fail("address family %d", h.v[i].addr.ss_family);
		}
		ca_acme_hosts_free(&h);
	} else {
		struct ca_acme_verr e;

		/* What passes for one key authorization and one name passes for
		 * no other: the digest and the name are both bound. */
		if (ca_acme_tlsalpn_cert(data, size, "www.contoso.test", 0, "tok.thumb", &e) == 0 &&
		    (ca_acme_tlsalpn_cert(data, size, "www.contoso.test", 0, "tok.other", &e) == 0 ||
		     ca_acme_tlsalpn_cert(data, size, "mail.contoso.test", 0, "tok.thumb", &e) == 0))
			fuzz_fail("a tls-alpn-01 certificate passed for another name or key authorization");
		if (memchr(e.detail, '\0', sizeof(e.detail)) == NULL)
			fuzz_fail("detail not NUL-terminated");
	}
	return 0;
}

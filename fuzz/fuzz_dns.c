/*
 * fuzz/fuzz_dns.c - ca_dns_parse_txt (ca/dns.h) on hostile DNS answers:
 * the dns-01 validation reads whatever a resolver - or whoever answers in
 * its place - sends back.
 *
 * Input: the answer itself; the query id is its own first two octets (so
 * the mutations reach past the id check) and the name is fixed. Checked:
 * the error convention; a parsed answer keeps at most CA_DNS_TXT_MAX
 * records, each NUL-terminated within CA_DNS_TXT_LEN and without an
 * embedded NUL; a truncated or failed answer holds no record; the query
 * builder's output parses as a (non-)answer to itself.
 */
#include "fuzz/fuzz.h"

#include "ca/dns.h"

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
	static const char name[] = "_acme-challenge.www.contoso.test";
	struct ca_dns_txt *t;
	struct mica_err err;
	uint16_t id;
	int rc;

	if (size > CA_DNS_MSG_MAX)
		return 0;
	id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
	if ((t = malloc(sizeof(*t))) == NULL)
		abort();
	rc = ca_dns_parse_txt(data, size, id, name, t, &err);
	fuzz_check_err("ca_dns_parse_txt", rc, &err);
	if (rc == 0) {
		if (t->n > CA_DNS_TXT_MAX)
			fuzz_fail("%zu records kept", t->n);
		if (t->truncated && t->n != 0)
			fuzz_fail("records from a truncated answer");
		for (size_t i = 0; i < t->n; i++) {
			const char *z = memchr(t->v[i], '\0', CA_DNS_TXT_LEN);

			if (z == NULL)
				fuzz_fail("record %zu not NUL-terminated", i);
		}
	}
	/* The builder: its query names NAME and is no answer. */
	{
		unsigned char q[300];
		size_t qlen;

		if (ca_dns_query(id, name, 16, q, sizeof(q), &qlen) != 0)
			fuzz_fail("cannot build the query");
		if (ca_dns_parse_txt(q, qlen, id, name, t, &err) == 0)
			fuzz_fail("a query read as an answer");
	}
	free(t);
	return 0;
}

/*
 * ca/dns.h - a small, strict DNS client for one question: the TXT records
 * of a name (RFC 1035), as dns-01 (RFC 8555 8.4) reads them.
 *
 * mica's own rather than res_nquery(3): the resolver library sends to the
 * nameservers of /etc/resolv.conf on port 53, and pointing it at another
 * address and port (--acme-dns 127.0.0.1:5353) means writing into glibc's
 * struct __res_state internals (nsaddr_list, and _u._ext for IPv6);
 * its answers would still need parsing with ns_parserr, and what must be
 * fuzzed is the code that reads hostile answers. This client asks over
 * UDP (again over TCP when the answer is truncated: TC set, or the
 * message ending before the records it counts), accepts only the
 * answer to its own question (id, question section), follows CNAMEs
 * within the answer, and reads every octet through bounds-checked cursors
 * (compression pointers only backwards, a bounded number of them).
 */
#ifndef MICA_CA_DNS_H
#define MICA_CA_DNS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "util/err.h"

#define CA_DNS_TXT_MAX   16     /* TXT records kept */
#define CA_DNS_TXT_LEN   512    /* longest record kept (its strings joined) */
#define CA_DNS_MSG_MAX   65535
#define CA_DNS_RCODE_NXDOMAIN 3

struct ca_dns_txt {
	int rcode;                   /* 0 NOERROR, 3 NXDOMAIN */
	int truncated;               /* TC, or the message ends before the
				      * records its header counts (cut
				      * without TC): ask again over TCP */
	size_t n;
	char v[CA_DNS_TXT_MAX][CA_DNS_TXT_LEN];   /* NUL-terminated */
};

/* The query for QNAME (a host name, trailing dot optional), type QTYPE,
 * class IN, recursion desired, into BUF (SIZE octets); *LEN its length.
 * -1 if QNAME is not a valid name or does not fit. */
int ca_dns_query(uint16_t id, const char *qname, uint16_t qtype,
		 unsigned char *buf, size_t size, size_t *len);

/*
 * Read MSG (LEN octets) as the answer to query ID for the TXT records of
 * QNAME: the header must be a response to that id with one question,
 * QNAME TXT IN; the TXT records of QNAME (or of the name a CNAME chain of
 * the answer section leads to) are joined string by string into OUT.
 * Records beyond CA_DNS_TXT_MAX or CA_DNS_TXT_LEN are dropped. A response
 * with RCODE other than NOERROR or NXDOMAIN is an error. A message that
 * ends before the records its header counts (ANCOUNT, NSCOUNT, ARCOUNT)
 * is OUT->truncated with no records, as one with TC. MICA_E_BADREQ
 * "dns" for anything malformed, "dns_mismatch" for an answer to another
 * question (the caller keeps waiting).
 */
int ca_dns_parse_txt(const unsigned char *msg, size_t len, uint16_t id,
		     const char *qname, struct ca_dns_txt *out,
		     struct mica_err *err);

/* Ask SERVER for the TXT records of QNAME before DEADLINE
 * (CLOCK_MONOTONIC); give up at once when *STOP (may be NULL) is set.
 * MICA_E_UNAVAIL "dns" when no answer came. */
int ca_dns_txt_lookup(const struct sockaddr *server, socklen_t server_len,
		      const char *qname, const struct timespec *deadline,
		      const atomic_int *stop, struct ca_dns_txt *out,
		      struct mica_err *err);

#endif

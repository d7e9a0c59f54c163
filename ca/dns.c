/*
 * ca/dns.c - the DNS TXT client of dns-01 (ca/dns.h).
 */
#include "ca/dns.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ca/keys.h"

#define TYPE_CNAME 5
#define TYPE_TXT   16
#define CLASS_IN   1
#define NAME_MAX_TEXT 254      /* 253 and the NUL */
#define JUMPS_MAX  32          /* compression pointers followed per name */
#define ANSWERS_MAX 64
#define CNAME_HOPS 8
#define UDP_MAX    512         /* no EDNS: larger answers come over TCP */
#define SLICE_MS   100

static int
bad(struct mica_err *err, const char *msg)
{
	return mica_err_set(err, MICA_E_BADREQ, "dns", "%s", msg);
}

/* ------------------------------------------------------------- names -- */

/* A canonical text name (lowercase, no trailing dot) from TEXT into OUT;
 * -1 if a label is empty, longer than 63, or not letters, digits, '-' and
 * '_'. */
static int
name_canon(const char *text, char out[NAME_MAX_TEXT])
{
	size_t n = strlen(text), lab = 0;

	if (n > 0 && text[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];

		if (c == '.') {
			if (lab == 0)
				return -1;
			lab = 0;
		} else {
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			      c == '-' || c == '_') || ++lab > 63)
				return -1;
		}
		out[i] = c;
	}
	if (lab == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/*
 * Read the (possibly compressed) name at *OFF of MSG into OUT as canonical
 * text, and move *OFF past it. RFC 1035 4.1.4: a pointer must point
 * before the place it is found (compressors only point back), and at most
 * JUMPS_MAX are followed, so no name can loop. Labels with other octets than a host name's make the message
 * unreadable for us (-1); a name that runs past the end of the message
 * is -2 (the message was cut: see ca_dns_parse_txt).
 */
static int
name_read(const unsigned char *msg, size_t len, size_t *off,
	  char out[NAME_MAX_TEXT])
{
	size_t p = *off, o = 0, end_off = 0, jumps = 0;
	int jumped = 0;

	for (;;) {
		unsigned c;

		if (p >= len)
			return -2;
		c = msg[p];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (p + 1 >= len)
				return -2;
			if (++jumps > JUMPS_MAX)
				return -1;
			target = (size_t)(c & 0x3f) << 8 | msg[p + 1];
			if (target >= p)
				return -1;
			if (!jumped) {
				end_off = p + 2;
				jumped = 1;
			}
			p = target;
			continue;
		}
		if ((c & 0xc0) != 0)
			return -1;   /* 0x40 and 0x80: extended label types */
		if (c == 0) {
			p++;
			break;
		}
		if (p + 1 + c > len)
			return -2;
		if (o + c + 1 >= NAME_MAX_TEXT)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (unsigned i = 0; i < c; i++) {
			unsigned char ch = msg[p + 1 + i];

			if (ch >= 'A' && ch <= 'Z')
				ch = (unsigned char)(ch - 'A' + 'a');
			if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			      ch == '-' || ch == '_'))
				return -1;
			out[o++] = (char)ch;
		}
		p += 1 + c;
	}
	out[o] = '\0';
	*off = jumped ? end_off : p;
	return 0;
}

int
ca_dns_query(uint16_t id, const char *qname, uint16_t qtype, unsigned char *buf,
	     size_t size, size_t *len)
{
	char name[NAME_MAX_TEXT];
	unsigned char *p = buf, *end = buf + size;
	const char *s;

	*len = 0;
	if (name_canon(qname, name) != 0 || size < 12 + strlen(name) + 2 + 4)
		return -1;
	/* RFC 1035 4.1.1: id, RD, one question. */
	*p++ = (unsigned char)(id >> 8);
	*p++ = (unsigned char)id;
	*p++ = 0x01;
	*p++ = 0x00;
	*p++ = 0; *p++ = 1;
	memset(p, 0, 6);
	p += 6;
	for (s = name; *s != '\0';) {
		size_t l = strcspn(s, ".");

		if (p + 1 + l > end)
			return -1;
		*p++ = (unsigned char)l;
		memcpy(p, s, l);
		p += l;
		s += l;
		if (*s == '.')
			s++;
	}
	if (p + 5 > end)
		return -1;
	*p++ = 0;
	*p++ = (unsigned char)(qtype >> 8);
	*p++ = (unsigned char)qtype;
	*p++ = 0;
	*p++ = CLASS_IN;
	*len = (size_t)(p - buf);
	return 0;
}

/* ------------------------------------------------------------ parsing -- */

/*
 * Move *OFF past the record there (owner, type, class, TTL, RDATA) without
 * reading it: the authority and additional sections', whose names need
 * not be host names. 0; -1 if its owner is no name (an extended label
 * type, longer than 255 octets); -2 if the message ends first.
 */
static int
record_skip(const unsigned char *msg, size_t len, size_t *off)
{
	size_t p = *off, rdlen;

	for (;;) {
		if (p >= len)
			return -2;
		if ((msg[p] & 0xc0) == 0xc0) {
			p += 2;
			break;
		}
		if ((msg[p] & 0xc0) != 0)
			return -1;
		if (msg[p] == 0) {
			p++;
			break;
		}
		p += 1 + (size_t)msg[p];
		if (p - *off > 255)
			return -1;   /* RFC 1035 3.1 */
	}
	if (p > len || len - p < 10)
		return -2;
	rdlen = (size_t)msg[p + 8] << 8 | msg[p + 9];
	p += 10;
	if (rdlen > len - p)
		return -2;
	*off = p + rdlen;
	return 0;
}

struct rr {
	char owner[NAME_MAX_TEXT];
	uint16_t type;
	size_t rdata, rdlen;        /* offsets into the message */
};

int
ca_dns_parse_txt(const unsigned char *msg, size_t len, uint16_t id,
		 const char *qname, struct ca_dns_txt *out, struct mica_err *err)
{
	char want[NAME_MAX_TEXT], name[NAME_MAX_TEXT];
	struct rr *rrs = NULL;
	size_t off = 12, nrr = 0, an, more;
	int rc = -1, r;

	memset(out, 0, sizeof(*out));
	if (name_canon(qname, want) != 0)
		return bad(err, "the name to look up is not a host name");
	if (len < 12)
		return bad(err, "a DNS message shorter than its header");
	/* RFC 1035 4.1.1 */
	if (((unsigned)msg[0] << 8 | msg[1]) != id || !(msg[2] & 0x80) ||
	    (msg[2] & 0x78) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "dns_mismatch",
				    "a DNS message that answers another query");
	out->truncated = (msg[2] & 0x02) != 0;
	out->rcode = msg[3] & 0x0f;
	if (((unsigned)msg[4] << 8 | msg[5]) != 1)
		return mica_err_set(err, MICA_E_BADREQ, "dns_mismatch",
				    "a DNS answer without our one question");
	an = (size_t)msg[6] << 8 | msg[7];
	/* NSCOUNT and ARCOUNT: read only to see that they are all there. */
	more = ((size_t)msg[8] << 8 | msg[9]) + ((size_t)msg[10] << 8 | msg[11]);
	if (name_read(msg, len, &off, name) != 0 || off + 4 > len)
		return bad(err, "a DNS answer with a malformed question");
	if (strcmp(name, want) != 0 || msg[off] != 0 || msg[off + 1] != TYPE_TXT ||
	    msg[off + 2] != 0 || msg[off + 3] != CLASS_IN)
		return mica_err_set(err, MICA_E_BADREQ, "dns_mismatch",
				    "a DNS answer to another question");
	off += 4;
	if (out->truncated)
		return 0;
	if (out->rcode != 0 && out->rcode != CA_DNS_RCODE_NXDOMAIN)
		return mica_err_set(err, MICA_E_UNAVAIL, "dns",
				    "the DNS server answered with error %d", out->rcode);
	if (an > ANSWERS_MAX)
		return bad(err, "a DNS answer with too many records");
	if (an > 0 && (rrs = calloc(an, sizeof(*rrs))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	for (size_t i = 0; i < an; i++) {
		struct rr *x = &rrs[nrr];
		uint16_t class;

		if ((r = name_read(msg, len, &off, x->owner)) == -2 || off + 10 > len)
			goto cut;
		if (r != 0) {
			bad(err, "a DNS answer with a malformed record");
			goto out;
		}
		x->type = (uint16_t)(msg[off] << 8 | msg[off + 1]);
		class = (uint16_t)(msg[off + 2] << 8 | msg[off + 3]);
		x->rdlen = (size_t)msg[off + 8] << 8 | msg[off + 9];
		x->rdata = off + 10;
		if (x->rdlen > len - x->rdata)
			goto cut;
		off = x->rdata + x->rdlen;
		if (class == CLASS_IN && (x->type == TYPE_TXT || x->type == TYPE_CNAME))
			nrr++;
	}
	/* Each record takes 11 octets at least: a count larger than the
	 * message ends at its end. */
	for (size_t i = 0; i < more; i++)
		if ((r = record_skip(msg, len, &off)) == -2) {
			goto cut;
		} else if (r != 0) {
			bad(err, "a DNS answer with a malformed record");
			goto out;
		}
	/* Follow CNAMEs of the answer section from the name asked for. */
	for (int hop = 0; hop < CNAME_HOPS; hop++) {
		int moved = 0;

		for (size_t i = 0; i < nrr && !moved; i++) {
			size_t p = rrs[i].rdata;

			if (rrs[i].type != TYPE_CNAME || strcmp(rrs[i].owner, want) != 0)
				continue;
			if (name_read(msg, rrs[i].rdata + rrs[i].rdlen, &p, want) != 0 ||
			    p != rrs[i].rdata + rrs[i].rdlen) {
				bad(err, "a DNS answer with a malformed CNAME");
				goto out;
			}
			moved = 1;
		}
		if (!moved)
			break;
	}
	for (size_t i = 0; i < nrr && out->n < CA_DNS_TXT_MAX; i++) {
		size_t p = rrs[i].rdata, end = p + rrs[i].rdlen, o = 0;
		char *v = out->v[out->n];
		int keep = 1;

		if (rrs[i].type != TYPE_TXT || strcmp(rrs[i].owner, want) != 0)
			continue;
		/* RFC 1035 3.3.14: one or more <character-string>s. */
		if (p == end) {
			bad(err, "a TXT record without a string");
			goto out;
		}
		while (p < end) {
			size_t l = msg[p++];

			if (l > end - p) {
				bad(err, "a TXT string longer than its record");
				goto out;
			}
			if (o + l >= CA_DNS_TXT_LEN)
				keep = 0;
			else
				memcpy(v + o, msg + p, l);
			o += l;
			p += l;
		}
		if (!keep)
			continue;
		v[o] = '\0';
		if (memchr(v, '\0', o) != NULL)
			continue;   /* not text: it cannot match anything */
		out->n++;
	}
	rc = 0;
	goto out;
cut:
	/* The message ends before the records its header counts: cut short
	 * (RFC 1035 4.2.1 truncation, by a server or middlebox that did not
	 * set TC), so what it holds is not the whole answer. Truncated, as
	 * TC says: asked again over TCP, never read as fewer records. */
	out->truncated = 1;
	out->n = 0;
	rc = 0;
out:
	free(rrs);
	return rc;
}

/* ------------------------------------------------------------ lookups -- */

static int
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms;
}

/* Wait for FD and EVENTS until CAP_MS from now or the deadline. */
static int
wait_fd(int fd, short events, int cap_ms, const struct timespec *deadline,
	const atomic_int *stop)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { fd, events, 0 };
		struct timespec now;
		int left = ms_left(deadline), spent, r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		spent = (int)((now.tv_sec - start.tv_sec) * 1000 +
			      (now.tv_nsec - start.tv_nsec) / 1000000);
		if (cap_ms - spent < left)
			left = cap_ms - spent;
		if (left <= 0 || (stop != NULL && atomic_load(stop)))
			return -1;
		r = poll(&pfd, 1, left < SLICE_MS ? left : SLICE_MS);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int
lookup_udp(const struct sockaddr *server, socklen_t slen, const char *qname,
	   const struct timespec *deadline, const atomic_int *stop,
	   struct ca_dns_txt *out, struct mica_err *err)
{
	unsigned char q[300], a[UDP_MAX + 1];
	uint16_t id;
	size_t qlen;
	int s, rc = -1;

	if (ca_random(&id, sizeof(id), err) != 0)
		return -1;
	if (ca_dns_query(id, qname, TYPE_TXT, q, sizeof(q), &qlen) != 0)
		return bad(err, "the name to look up is not a host name");
	/* connect(2): the kernel then drops datagrams from anyone else. */
	if ((s = socket(server->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(s, server, slen) != 0) {
		mica_err_set(err, MICA_E_UNAVAIL, "dns", "cannot reach the DNS server: %s",
			     strerror(errno));
		goto out;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		if (send(s, q, qlen, 0) != (ssize_t)qlen)
			continue;
		while (wait_fd(s, POLLIN, 2000 << attempt, deadline, stop) == 0) {
			ssize_t r = recv(s, a, sizeof(a), 0);

			if (r <= 0)
				continue;
			if (ca_dns_parse_txt(a, (size_t)r, id, qname, out, err) == 0) {
				rc = 0;
				goto out;
			}
			if (err != NULL && strcmp(err->code, "dns_mismatch") != 0)
				goto out;
		}
		if (ms_left(deadline) == 0 || (stop != NULL && atomic_load(stop)))
			break;
	}
	mica_err_set(err, MICA_E_UNAVAIL, "dns", "no answer from the DNS server");
out:
	if (s >= 0)
		close(s);
	return rc;
}

static int
io_all(int fd, unsigned char *buf, size_t len, int writing,
       const struct timespec *deadline, const atomic_int *stop)
{
	while (len > 0) {
		ssize_t r = writing ? write(fd, buf, len) : read(fd, buf, len);

		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, writing ? POLLOUT : POLLIN, 3600000, deadline, stop) != 0)
				return -1;
			continue;
		}
		if (r <= 0)
			return -1;
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

/* RFC 1035 4.2.2 (and RFC 7766): the same question over TCP. */
static int
lookup_tcp(const struct sockaddr *server, socklen_t slen, const char *qname,
	   const struct timespec *deadline, const atomic_int *stop,
	   struct ca_dns_txt *out, struct mica_err *err)
{
	unsigned char q[302], hdr[2], *a = NULL;
	uint16_t id;
	size_t qlen, alen;
	int s, rc = -1, soerr = 0;
	socklen_t el = sizeof(soerr);

	if (ca_random(&id, sizeof(id), err) != 0)
		return -1;
	if (ca_dns_query(id, qname, TYPE_TXT, q + 2, sizeof(q) - 2, &qlen) != 0)
		return bad(err, "the name to look up is not a host name");
	q[0] = (unsigned char)(qlen >> 8);
	q[1] = (unsigned char)qlen;
	if ((s = socket(server->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    (connect(s, server, slen) != 0 && errno != EINPROGRESS) ||
	    wait_fd(s, POLLOUT, 3600000, deadline, stop) != 0 ||
	    getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &el) != 0 || soerr != 0 ||
	    io_all(s, q, qlen + 2, 1, deadline, stop) != 0 ||
	    io_all(s, hdr, 2, 0, deadline, stop) != 0) {
		mica_err_set(err, MICA_E_UNAVAIL, "dns", "no answer from the DNS server over TCP");
		goto out;
	}
	alen = (size_t)hdr[0] << 8 | hdr[1];
	if ((a = malloc(alen > 0 ? alen : 1)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	if (io_all(s, a, alen, 0, deadline, stop) != 0) {
		mica_err_set(err, MICA_E_UNAVAIL, "dns", "no answer from the DNS server over TCP");
		goto out;
	}
	if (ca_dns_parse_txt(a, alen, id, qname, out, err) != 0)
		goto out;
	if (out->truncated) {
		bad(err, "a truncated DNS answer over TCP (TC set, or the message "
		    "ends before the records it counts)");
		goto out;
	}
	rc = 0;
out:
	free(a);
	if (s >= 0)
		close(s);
	return rc;
}

int
ca_dns_txt_lookup(const struct sockaddr *server, socklen_t server_len,
		  const char *qname, const struct timespec *deadline,
		  const atomic_int *stop, struct ca_dns_txt *out,
		  struct mica_err *err)
{
	if (lookup_udp(server, server_len, qname, deadline, stop, out, err) != 0)
		return -1;
	if (!out->truncated)
		return 0;
	return lookup_tcp(server, server_len, qname, deadline, stop, out, err);
}

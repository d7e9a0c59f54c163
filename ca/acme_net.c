/*
 * ca/acme_net.c - where validation may connect, and connecting there under
 * a deadline.
 *
 * A name is looked up in the --acme-hosts table first (a lab's names),
 * then with the system resolver. Addresses that point back into the CA's
 * own host or its link (loopback, link-local) are refused unless the lab
 * option --acme-allow-loopback allows them: otherwise a client could make
 * the CA probe its own services. Unspecified, multicast and broadcast
 * addresses are always refused. Every wait is a poll(2) in short slices,
 * so a validation ends at its deadline, or at once when the service stops.
 */
#include "ca/acme.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca/acme_int.h"

#define HOSTS_FILE_MAX (1024 * 1024)
#define HOSTS_NAMES_MAX 10000
#define SLICE_MS 100

int
ca_acme_vfail(struct ca_acme_verr *e, const char *code, const char *fmt, ...)
{
	va_list ap;

	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	/* The detail names what the other side answered: keep it one line
	 * of printable ASCII for the client and the audit trail. */
	for (char *c = e->detail; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	return -1;
}

/* ------------------------------------------------------------- hosts -- */

void
ca_acme_hosts_free(struct ca_acme_hosts *h)
{
	if (h == NULL)
		return;
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/* An address of hosts(5) into SS (port 0); -1 if it is none. */
static int
parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		*len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		*len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -1;
}

/* A host name as the table keeps it: lowercase, one trailing dot
 * dropped, labels of letters, digits, '-' and '_', none empty. -1 if it
 * is none. */
static int
canon_name(const char *s, char out[256])
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '_') || (c == '.' && s[i + 1] == '.'))
			return -1;
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

int
ca_acme_hosts_parse(const char *text, size_t len, struct ca_acme_hosts *out,
		    struct mica_err *err)
{
	const char *p = text, *end = text + len;
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		char line[1024], *tok, *save = NULL, *hash;
		struct sockaddr_storage ss;
		socklen_t sl = 0;
		size_t ll;

		if (eol == NULL)
			eol = end;
		ll = (size_t)(eol - p);
		p = eol + 1;
		if (ll >= sizeof(line))
			continue;   /* no sane hosts line is that long */
		memcpy(line, eol - ll, ll);
		line[ll] = '\0';
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		if ((tok = strtok_r(line, " \t\r\f\v", &save)) == NULL ||
		    parse_addr(tok, &ss, &sl) != 0)
			continue;
		while ((tok = strtok_r(NULL, " \t\r\f\v", &save)) != NULL) {
			char name[256];

			if (canon_name(tok, name) != 0)
				continue;
			if (out->n == HOSTS_NAMES_MAX) {
				ca_acme_hosts_free(out);
				return mica_err_set(err, MICA_E_USAGE, "usage",
						    "the --acme-hosts file has more than %d names",
						    HOSTS_NAMES_MAX);
			}
			if (out->n == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct ca_acme_host *nv = realloc(out->v, nc * sizeof(*nv));

				if (nv == NULL) {
					ca_acme_hosts_free(out);
					return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
							    "out of memory");
				}
				out->v = nv;
				cap = nc;
			}
			memset(&out->v[out->n], 0, sizeof(out->v[out->n]));
			memcpy(out->v[out->n].name, name, strlen(name) + 1);
			out->v[out->n].addr = ss;
			out->v[out->n].addr_len = sl;
			out->n++;
		}
	}
	return 0;
}

int
ca_acme_hosts_load(const char *path, struct ca_acme_hosts *out,
		   struct mica_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, rc = -1;

	memset(out, 0, sizeof(*out));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return mica_err_set(err, MICA_E_USAGE, "usage",
				    "cannot read the --acme-hosts file: %s", strerror(errno));
	if ((buf = malloc(HOSTS_FILE_MAX)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	while ((r = read(fd, buf + len, HOSTS_FILE_MAX - len)) > 0)
		if ((len += (size_t)r) == HOSTS_FILE_MAX)
			break;
	if (r < 0 || len == HOSTS_FILE_MAX) {
		mica_err_set(err, MICA_E_USAGE, "usage",
			     "the --acme-hosts file cannot be read or is larger than 1 MiB");
		goto out;
	}
	rc = ca_acme_hosts_parse(buf, len, out, err);
out:
	free(buf);
	close(fd);
	return rc;
}

/* --------------------------------------------------------- addresses -- */

static int
v4_allowed(const struct ca_acme *a, const unsigned char *b)
{
	int loop = b[0] == 127, link = b[0] == 169 && b[1] == 254;

	if (b[0] == 0 || b[0] >= 224)    /* this network, multicast, reserved */
		return 0;
	if (loop || link)
		return a->o.allow_loopback;
	return 1;
}

int
ca_acme_addr_allowed(const struct ca_acme *a, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_allowed(a, (const unsigned char *)
				  &((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(in) || IN6_IS_ADDR_V4COMPAT(in))
			return v4_allowed(a, in->s6_addr + 12);
		if (IN6_IS_ADDR_UNSPECIFIED(in) || IN6_IS_ADDR_MULTICAST(in))
			return 0;
		if (IN6_IS_ADDR_LOOPBACK(in) || IN6_IS_ADDR_LINKLOCAL(in))
			return a->o.allow_loopback;
		return 1;
	}
	return 0;
}

int
ca_acme_resolve(const struct ca_acme_vctx *v, const char *name, int ip,
		struct sockaddr_storage *out, size_t max, size_t *n,
		struct ca_acme_verr *e)
{
	struct sockaddr_storage cand[16];
	size_t nc = 0, refused = 0;
	char key[256];

	*n = 0;
	if (ip) {
		socklen_t sl;

		if (parse_addr(name, &cand[0], &sl) != 0)
			return ca_acme_vfail(e, "malformed", "%s is not an IP address", name);
		nc = 1;
	} else {
		if (canon_name(name, key) != 0)
			return ca_acme_vfail(e, "dns", "%s is not a host name", name);
		for (size_t i = 0; i < v->a->hosts.n && nc < 16; i++)
			if (strcmp(v->a->hosts.v[i].name, key) == 0)
				cand[nc++] = v->a->hosts.v[i].addr;
		if (nc == 0) {
			struct addrinfo hints, *res = NULL, *ai;
			int r;

			memset(&hints, 0, sizeof(hints));
			hints.ai_family = AF_UNSPEC;
			hints.ai_socktype = SOCK_STREAM;
			if ((r = getaddrinfo(key, NULL, &hints, &res)) != 0)
				return ca_acme_vfail(e, "dns", "no address for %s: %s",
						     name, gai_strerror(r));
			for (ai = res; ai != NULL && nc < 16; ai = ai->ai_next) {
				if (ai->ai_addrlen > sizeof(cand[0]))
					continue;
				memset(&cand[nc], 0, sizeof(cand[nc]));
				memcpy(&cand[nc], ai->ai_addr, ai->ai_addrlen);
				nc++;
			}
			freeaddrinfo(res);
		}
	}
	for (size_t i = 0; i < nc && *n < max; i++) {
		if (!ca_acme_addr_allowed(v->a, (struct sockaddr *)&cand[i])) {
			refused++;
			continue;
		}
		out[(*n)++] = cand[i];
	}
	if (*n == 0 && refused > 0)
		return ca_acme_vfail(e, "connection",
				     "%s resolves only to addresses this CA does not "
				     "connect to (loopback, link-local, multicast)", name);
	if (*n == 0)
		return ca_acme_vfail(e, "dns", "no address for %s", name);
	return 0;
}

/* ------------------------------------------------------------ waiting -- */

int
ca_acme_ms_left(const struct ca_acme_vctx *v)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(v->deadline.tv_sec - now.tv_sec) * 1000 +
	     (v->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms;
}

int
ca_acme_wait(const struct ca_acme_vctx *v, int fd, short events)
{
	for (;;) {
		struct pollfd pfd = { fd, events, 0 };
		int left = ca_acme_ms_left(v), r;

		if (left == 0 || (v->stop != NULL && atomic_load(v->stop)))
			return -1;
		r = poll(&pfd, 1, left < SLICE_MS ? left : SLICE_MS);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static void
addr_text(const struct sockaddr_storage *ss, char *out, size_t size)
{
	const void *p = ss->ss_family == AF_INET ?
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr :
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (inet_ntop(ss->ss_family, p, out, (socklen_t)size) == NULL)
		snprintf(out, size, "?");
}

int
ca_acme_connect(const struct ca_acme_vctx *v, const char *name, int ip,
		int port, int *fd, struct ca_acme_verr *e)
{
	struct sockaddr_storage addrs[4];
	size_t n = 0;
	char last[160] = "";

	*fd = -1;
	if (ca_acme_resolve(v, name, ip, addrs, 4, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage *ss = &addrs[i];
		socklen_t sl = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
			       sizeof(struct sockaddr_in6);
		char at[INET6_ADDRSTRLEN];
		int s, soerr = 0;
		socklen_t el = sizeof(soerr);

		addr_text(ss, at, sizeof(at));
		if (ss->ss_family == AF_INET)
			((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		else
			((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		if ((s = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			continue;
		if (connect(s, (struct sockaddr *)ss, sl) != 0 && errno != EINPROGRESS) {
			snprintf(last, sizeof(last), "%s port %d: %s", at, port, strerror(errno));
			close(s);
			continue;
		}
		if (ca_acme_wait(v, s, POLLOUT) != 0) {
			snprintf(last, sizeof(last), "%s port %d: timed out", at, port);
			close(s);
			continue;
		}
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &el) != 0 || soerr != 0) {
			snprintf(last, sizeof(last), "%s port %d: %s", at, port,
				 strerror(soerr != 0 ? soerr : errno));
			close(s);
			continue;
		}
		*fd = s;
		return 0;
	}
	return ca_acme_vfail(e, "connection", "cannot connect to %s: %s", name,
			     last[0] != '\0' ? last : "no usable address");
}

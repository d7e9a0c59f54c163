/*
 * ca/signer.c - the front end's side of the signing service (ca/signer.h):
 * start the keeper, keep a pool of connections to signers, send a TBS and
 * wait for its signature. The key's side is ca/signer_proc.c.
 */
#include "ca/signer_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "util/clock.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/thread.h"

/* How long a signature may take (a million-entry CRL is about a second of
 * hashing; valgrind makes it many) and how long a caller waits for an idle
 * signer or for the keeper to start. A certificate's or an OCSP
 * response's signature takes milliseconds: a signer that has not answered
 * one in QUICK_REPLY_TIMEOUT_MS is stopped or starved, and the request
 * (an API worker's, which serves other connections in turn) fails with
 * 503 rather than hold that worker, and /healthz and /crl behind it, for
 * five minutes. */
#define REPLY_TIMEOUT_MS   (300 * 1000)
#define QUICK_REPLY_TIMEOUT_MS (30 * 1000)
#define IDLE_WAIT_S        30
#define START_TIMEOUT_MS   (600 * 1000)

struct conn {
	int fd;          /* -1: slot free */
	pid_t pid;
	int busy;
	int background;  /* mica-signer-crl: large CRLs of background threads */
	int64_t since;   /* monotonic ms its request in flight (not a CRL,
			  * whose hashing may take seconds) was sent, 0 */
	int cancelled;   /* shut down by ca_signer_abandon: closed,
			  * never reused, when given back */
};

struct ca_signer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pid_t keeper;
	int ctl;
	int keeper_dead;
	int nsigners;
	unsigned current;             /* the key that signs leaves */
	struct conn conns[CA_SIGNER_SLOTS];
	int bg_asked;                 /* CA_CTL_BACKGROUND sent */
	int64_t bg_backoff_until;     /* take_background waits not before */
	uint32_t next_id;
	pthread_t rx;
	int rx_started;
	/* the RA key the keeper made at start, sealed (scep_new_set) */
	struct ca_sealed_key scep_new;
	int scep_new_set;
	/* the keeper's answer to SET_DOMAINS */
	int ack_waiting, ack_ok, ack_got;
	_Atomic int death_signal;     /* raised when the keeper is gone */
	_Atomic int abandon;          /* the daemon stops: no more signatures
				       * but CRLs (ca_signer_abandon) */
};

static int
unavailable(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_UNAVAIL, "signer_unavailable",
			    "the signing service is restarting; retry shortly");
}

static int
ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > CA_SIGNER_MAX ? CA_SIGNER_MAX : (int)n;
}

/* Receive one control message (and a descriptor, if one came). */
static ssize_t
ctl_recv(int ctl, void *buf, size_t size, int *fd)
{
	struct iovec iov = { buf, size };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	do
		n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

/* Whether the idle connection FD has lost its signer: an idle signer
 * sends nothing, so anything to read (its end of file) or a hang-up means
 * it is gone. */
static int
idle_conn_dead(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* The control thread: new signer connections and the keeper's answers. */
static void *
rx_main(void *arg)
{
	struct ca_signer *s = arg;
	unsigned char buf[sizeof(struct ca_ctl_ready)];

	for (;;) {
		uint32_t type;
		int fd = -1;
		ssize_t n = ctl_recv(s->ctl, buf, sizeof(buf), &fd);

		if (n < (ssize_t)sizeof(type)) {
			if (fd >= 0)
				close(fd);
			break;
		}
		memcpy(&type, buf, sizeof(type));
		pthread_mutex_lock(&s->mu);
		if (type == CA_CTL_NEWCONN && fd >= 0 &&
		    n == (ssize_t)sizeof(struct ca_ctl_newconn)) {
			struct ca_ctl_newconn m;
			int i;

			memcpy(&m, buf, sizeof(m));
			/* A new signer (the CRL signer too: the keeper keeps
			 * one) replaces one that died, and is started after
			 * the keeper reaped it, so the dead one's connection
			 * reads its end of file by now: it goes if nobody
			 * holds it (a caller that does finds it broken), or
			 * it would keep its slot (and be handed out, to fail)
			 * until a caller found it broken; with every slot in
			 * use (--signers 16 and the CRL signer) the new
			 * connection would find none. */
			for (i = 0; i < CA_SIGNER_SLOTS; i++)
				if (s->conns[i].fd >= 0 && !s->conns[i].busy &&
				    idle_conn_dead(s->conns[i].fd)) {
					close(s->conns[i].fd);
					s->conns[i].fd = -1;
				}
			for (i = 0; i < CA_SIGNER_SLOTS; i++)
				if (s->conns[i].fd < 0)
					break;
			if (i < CA_SIGNER_SLOTS) {
				s->conns[i].fd = fd;
				s->conns[i].pid = m.pid;
				s->conns[i].busy = 0;
				s->conns[i].background = m.background != 0;
				fd = -1;
			}
		} else if (type == CA_CTL_ACK &&
			   n == (ssize_t)sizeof(struct ca_ctl_ack)) {
			struct ca_ctl_ack a;

			memcpy(&a, buf, sizeof(a));
			s->ack_ok = a.ok != 0;
			s->ack_got = 1;
		}
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		if (fd >= 0)
			close(fd);
	}
	pthread_mutex_lock(&s->mu);
	if (!s->keeper_dead)
		mica_log(MICA_LOG_ERR, "the signing service (keeper %d) is "
			 "gone; nothing can be signed until mica serve is "
			 "restarted", (int)s->keeper);
	s->keeper_dead = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (atomic_load(&s->death_signal) > 0)
		kill(getpid(), atomic_load(&s->death_signal));
	return NULL;
}

void
ca_signer_notify(struct ca_signer *s, int signo)
{
	if (s != NULL)
		atomic_store(&s->death_signal, signo);
}

/* The signers' connections (the background one not counted). */
static size_t
live_conns(struct ca_signer *s)
{
	size_t n = 0;

	for (int i = 0; i < CA_SIGNER_SLOTS; i++)
		n += s->conns[i].fd >= 0 && !s->conns[i].background;
	return n;
}

static void
reap_keeper(struct ca_signer *s)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (s->keeper <= 0)
		return;
	for (int i = 0; i < 250; i++) {   /* up to five seconds */
		pid_t r = waitpid(s->keeper, NULL, WNOHANG);

		if (r == s->keeper || (r < 0 && errno == ECHILD))
			goto gone;
		nanosleep(&ts, NULL);
	}
	kill(s->keeper, SIGKILL);
	waitpid(s->keeper, NULL, 0);
gone:
	s->keeper = 0;
}

void
ca_signer_stop(struct ca_signer *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->death_signal, 0);   /* this end is deliberate */
	/* ... and not an error for the receiver thread to log. */
	pthread_mutex_lock(&s->mu);
	s->keeper_dead = 1;
	pthread_mutex_unlock(&s->mu);
	if (s->ctl >= 0)
		shutdown(s->ctl, SHUT_RDWR);
	if (s->rx_started)
		pthread_join(s->rx, NULL);
	for (int i = 0; i < CA_SIGNER_SLOTS; i++)
		if (s->conns[i].fd >= 0)
			close(s->conns[i].fd);
	if (s->ctl >= 0)
		close(s->ctl);
	reap_keeper(s);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->scep_new.ct);
	free(s);
}

int
ca_signer_start(const struct ca_signer_config *c, struct ca_signer **out,
		unsigned char mac_out[32], int *sealed, struct mica_err *err)
{
	struct ca_signer *s = NULL;
	struct ca_ctl_ready ready;
	struct timespec until;
	int sv[2] = { -1, -1 }, fd, nsig, rc = -1;
	pid_t parent = getpid();
	ssize_t n;

	*out = NULL;
	if (sealed != NULL)
		*sealed = 0;
	memset(&ready, 0, sizeof(ready));
	if (c == NULL || c->sealed == NULL || c->ca_cert == NULL ||
	    c->nsigners < 0 || c->nsigners > CA_SIGNER_MAX ||
	    c->key_idx >= CA_SIGNER_KEYS || c->nretired >= CA_SIGNER_KEYS ||
	    (c->nretired > 0 && c->retired == NULL))
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "ca_signer_start: bad configuration");
	nsig = c->nsigners ? c->nsigners : ncpus();
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->ctl = -1;
	s->nsigners = nsig;
	s->current = c->key_idx;
	for (int i = 0; i < CA_SIGNER_SLOTS; i++)
		s->conns[i].fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "signer_failed",
			     "could not start the signer (socketpair)");
		goto out;
	}
	s->keeper = fork();
	if (s->keeper < 0) {
		mica_err_set(err, MICA_E_INTERNAL, "signer_failed",
			     "could not start the signer (fork)");
		goto out;
	}
	if (s->keeper == 0) {
		/* The keeper keeps nothing of the front end's bookkeeping
		 * (a leak checker following the fork would count it). */
		close(sv[0]);
		free(s);
		ca_signer_keeper(sv[1], c, parent, nsig);
	}
	close(sv[1]);
	sv[1] = -1;
	s->ctl = sv[0];
	sv[0] = -1;

	/* The keeper's first word: the key unsealed, or why not. */
	{
		struct pollfd pfd = { .fd = s->ctl, .events = POLLIN };

		if (poll(&pfd, 1, START_TIMEOUT_MS) <= 0 ||
		    (n = ctl_recv(s->ctl, &ready, sizeof(ready), &fd)) !=
		    (ssize_t)sizeof(ready) || ready.type != CA_CTL_READY) {
			mica_err_set(err, MICA_E_INTERNAL, "signer_failed",
				     "the signer did not start");
			goto out;
		}
	}
	if (!ready.ok) {
		if (err != NULL) {
			err->kind = (mica_errkind)ready.kind;
			memcpy(err->code, ready.code, sizeof(err->code));
			memcpy(err->msg, ready.msg, sizeof(err->msg));
			err->code[sizeof(err->code) - 1] = '\0';
			err->msg[sizeof(err->msg) - 1] = '\0';
		}
		goto out;
	}
	if (ready.sealed) {
		if (sealed != NULL)
			*sealed = 1;
		if (mac_out != NULL)
			memcpy(mac_out, ready.mac, 32);
	}
	if (ready.scep_made && ready.scep_ct_len > 0 &&
	    ready.scep_ct_len <= sizeof(ready.scep_ct) &&
	    (s->scep_new.ct = malloc(ready.scep_ct_len)) != NULL) {
		memcpy(s->scep_new.ct, ready.scep_ct, ready.scep_ct_len);
		s->scep_new.ct_len = ready.scep_ct_len;
		s->scep_new.iter = ready.scep_iter;
		memcpy(s->scep_new.salt, ready.scep_salt,
		       sizeof(s->scep_new.salt));
		memcpy(s->scep_new.nonce, ready.scep_nonce,
		       sizeof(s->scep_new.nonce));
		s->scep_new_set = 1;
	}
	if (pthread_create(&s->rx, NULL, rx_main, s) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "signer_failed",
			     "could not start the signer (thread)");
		goto out;
	}
	s->rx_started = 1;

	/* Wait for every signer's connection. */
	mica_mono_deadline(&until, START_TIMEOUT_MS);
	pthread_mutex_lock(&s->mu);
	while ((int)live_conns(s) < nsig && !s->keeper_dead)
		if (mica_cond_wait_until(&s->cv, &s->mu, &until) == ETIMEDOUT)
			break;
	n = (ssize_t)live_conns(s);
	pthread_mutex_unlock(&s->mu);
	if (n < nsig) {
		mica_err_set(err, MICA_E_INTERNAL, "signer_failed",
			     "the signers did not start");
		goto out;
	}
	mica_log(MICA_LOG_INFO, "signing service started: keeper %d, %d "
		 "signer(s), the key is in no other process", (int)s->keeper,
		 nsig);
	*out = s;
	s = NULL;
	rc = 0;
out:
	mbedtls_platform_zeroize(&ready, sizeof(ready));
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	ca_signer_stop(s);
	return rc;
}

/* Take an idle connection (never the background signer's): its index, or
 * -1 (keeper gone, or none became idle in time). */
static int
take(struct ca_signer *s)
{
	struct timespec until;
	int i;

	mica_mono_deadline(&until, (int64_t)IDLE_WAIT_S * 1000);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		for (i = 0; i < CA_SIGNER_SLOTS; i++)
			if (s->conns[i].fd >= 0 && !s->conns[i].busy &&
			    !s->conns[i].background) {
				s->conns[i].busy = 1;
				pthread_mutex_unlock(&s->mu);
				return i;
			}
		if (s->keeper_dead || atomic_load(&s->abandon) ||
		    mica_cond_wait_until(&s->cv, &s->mu, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&s->mu);
	return -1;
}

/* Take the background signer's connection for a large CRL of a background
 * thread: the first time, ask the keeper to start that signer. Waits up to
 * CA_SIGNER_BACKGROUND_WAIT_MS for it to be there and idle, then takes any
 * connection as take() does; after such a wait, for BG_BACKOFF_MS, takes
 * it only if it is there and idle at once. */
#define BG_BACKOFF_MS (60 * 1000)
static int
take_background(struct ca_signer *s)
{
	struct timespec until;
	uint32_t t = CA_CTL_BACKGROUND;
	int64_t now = mica_mono_ms();
	int i, asked = 1, waited = 0;

	mica_mono_deadline(&until, CA_SIGNER_BACKGROUND_WAIT_MS);
	pthread_mutex_lock(&s->mu);
	if (!s->bg_asked && !s->keeper_dead) {
		/* The control socket is a SOCK_SEQPACKET pair: one whole
		 * message or nothing, never a wait under the lock. */
		if (send(s->ctl, &t, sizeof(t), MSG_NOSIGNAL | MSG_DONTWAIT) ==
		    (ssize_t)sizeof(t))
			s->bg_asked = 1;
		else
			asked = 0;
	}
	while (s->bg_asked && !s->keeper_dead) {
		for (i = 0; i < CA_SIGNER_SLOTS; i++)
			if (s->conns[i].fd >= 0 && s->conns[i].background &&
			    !s->conns[i].busy) {
				s->conns[i].busy = 1;
				pthread_mutex_unlock(&s->mu);
				return i;
			}
		if (now < s->bg_backoff_until ||
		    mica_cond_wait_until(&s->cv, &s->mu, &until) == ETIMEDOUT) {
			if (now >= s->bg_backoff_until) {
				s->bg_backoff_until = now + BG_BACKOFF_MS;
				waited = 1;
			}
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (!asked)
		mica_log(MICA_LOG_WARN, "could not ask the keeper for the CRL "
			 "signer; this CRL goes to the others");
	if (waited)
		mica_log(MICA_LOG_WARN, "the CRL signer was not available in "
			 "%d ms; CRLs go to the others when it is not at once, "
			 "for a minute", CA_SIGNER_BACKGROUND_WAIT_MS);
	return take(s);
}

/* The size from which a background thread's CRL goes to the background
 * signer (fault-injection builds: MICA_TEST_CRL_BG_MIN bytes, for tests). */
static size_t
crl_background_min(void)
{
#ifdef MICA_FAULT_INJECTION
	const char *e = getenv("MICA_TEST_CRL_BG_MIN");

	if (e != NULL && *e >= '0' && *e <= '9')
		return (size_t)strtoull(e, NULL, 10);
#endif
	return CA_SIGNER_CRL_BACKGROUND_MIN;
}

/* Give connection I back; BROKEN closes it (its signer ends, the keeper
 * starts another, whose connection arrives on the control socket). */
static void
give(struct ca_signer *s, int i, int broken)
{
	pthread_mutex_lock(&s->mu);
	s->conns[i].since = 0;
	/* A connection shut down under its request (perhaps just after its
	 * answer came) is of no further use. */
	if (s->conns[i].cancelled) {
		s->conns[i].cancelled = 0;
		broken = 1;
	}
	if (broken) {
		mica_log(MICA_LOG_WARN, "lost the connection to signer[%d]; "
			 "the keeper starts another", (int)s->conns[i].pid);
		close(s->conns[i].fd);
		s->conns[i].fd = -1;
	}
	s->conns[i].busy = 0;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static int
send_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One request and its reply on connection I. Returns 0 with the reply in
 * *RTYPE / BUF (of *LEN, at most SIZE), -2 if the request could not be
 * sent (the signer was gone before it), -1 if the connection broke after. */
static int
round_trip(struct ca_signer *s, int i, uint16_t type, uint16_t key,
	   const unsigned char *a, size_t alen, const unsigned char *b,
	   size_t blen, uint16_t *rtype, unsigned char *buf, size_t size,
	   size_t *len)
{
	unsigned char h[CA_SIGNER_HDR];
	struct ca_signer_hdr hdr;
	uint32_t id;
	int fd = s->conns[i].fd;
	int quick = type == CA_SMSG_SIGN_LEAF || type == CA_SMSG_OCSP_SIGN ||
		    type == CA_SMSG_OCSP_CA_SIGN;
	int tmo = quick ? QUICK_REPLY_TIMEOUT_MS : REPLY_TIMEOUT_MS;
	int64_t t0 = mica_mono_ms();
	pid_t pid;

	pthread_mutex_lock(&s->mu);
	id = ++s->next_id;
	pid = s->conns[i].pid;
	s->conns[i].since = type != CA_SMSG_SIGN_CRL ? mica_mono_ms() : 0;
	pthread_mutex_unlock(&s->mu);
	hdr.type = type;
	hdr.key = key;
	hdr.id = id;
	hdr.len = (uint32_t)(alen + blen);
	ca_signer_hdr_put(&hdr, h);
	if (send_all(fd, h, sizeof(h)) != 0 ||
	    (alen && send_all(fd, a, alen) != 0) ||
	    (blen && send_all(fd, b, blen) != 0))
		return -2;
	if (ca_signer_read_all(fd, h, sizeof(h), tmo) != 0) {
		if (mica_mono_ms() - t0 >= tmo)
			mica_log(MICA_LOG_WARN, "signer[%d] has not answered "
				 "for %d s (stopped or starved?): its request "
				 "fails", (int)pid, tmo / 1000);
		return -1;
	}
	if (ca_signer_hdr_get(h, &hdr) != 0 || hdr.id != id ||
	    (hdr.type != CA_SMSG_OK && hdr.type != CA_SMSG_REFUSED) ||
	    hdr.len > size ||
	    ca_signer_read_all(fd, buf, hdr.len, tmo) != 0)
		return -1;
	*rtype = hdr.type;
	*len = hdr.len;
	return 0;
}

/* A REFUSED reply as an error. */
static int
refused(const unsigned char *r, size_t len, uint64_t *floor,
	struct mica_err *err)
{
	char code[48], msg[256];
	size_t cl, ml;
	uint64_t f = 0;
	mica_errkind kind = MICA_E_POLICY;

	if (len < 9)
		return mica_err_set(err, MICA_E_INTERNAL, "signer_failed",
				    "the signer refused without a reason");
	for (int k = 0; k < 8; k++)
		f = f << 8 | r[k];
	cl = strnlen((const char *)r + 8, len - 8);
	if (cl >= sizeof(code) || 8 + cl >= len)
		return mica_err_set(err, MICA_E_INTERNAL, "signer_failed",
				    "the signer's refusal was malformed");
	memcpy(code, r + 8, cl);
	code[cl] = '\0';
	ml = len - 9 - cl;
	if (ml >= sizeof(msg))
		ml = sizeof(msg) - 1;
	memcpy(msg, r + 9 + cl, ml);
	msg[ml] = '\0';
	if (floor != NULL)
		*floor = f;
	if (strcmp(code, "crl_number_used") == 0)
		kind = MICA_E_CONFLICT;
	else if (strcmp(code, "signer_refused") != 0)
		kind = MICA_E_INTERNAL;   /* e.g. sign_failed */
	return mica_err_set(err, kind, code, "%s", msg);
}

int
ca_signer_sign(struct ca_signer *s, enum ca_sign_kind kind,
	       const unsigned char *tbs, size_t tbs_len, unsigned char *sig,
	       size_t *sig_len, uint64_t *crl_floor, struct mica_err *err)
{
	return ca_signer_sign_key(s, kind, s != NULL ? s->current : 0, tbs,
				  tbs_len, sig, sig_len, crl_floor, err);
}

int
ca_signer_sign_key(struct ca_signer *s, enum ca_sign_kind kind,
		   unsigned key_idx, const unsigned char *tbs,
		   size_t tbs_len, unsigned char *sig, size_t *sig_len,
		   uint64_t *crl_floor, struct mica_err *err)
{
	unsigned char reply[CA_SIGNER_REFUSAL_MAX > CA_SIG_MAX ?
			    CA_SIGNER_REFUSAL_MAX : CA_SIG_MAX];
	uint16_t type = kind == CA_SIGN_CRL ? CA_SMSG_SIGN_CRL :
			kind == CA_SIGN_OCSP_CERT ? CA_SMSG_OCSP_CERT :
			kind == CA_SIGN_OCSP ? CA_SMSG_OCSP_SIGN :
			kind == CA_SIGN_OCSP_CA ? CA_SMSG_OCSP_CA_SIGN :
			kind == CA_SIGN_SCEP_CERT ? CA_SMSG_SCEP_CERT :
			kind == CA_SIGN_SCEP ? CA_SMSG_SCEP_SIGN :
			kind == CA_SIGN_SCEP_NEXTCA ? CA_SMSG_SCEP_NEXTCA :
			CA_SMSG_SIGN_LEAF, rtype = 0;
	size_t len = 0;
	int i, bg;

	if (MICA_FAULT("sign"))
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "signing failed (fault injected)");
	/* No CA certificate ever goes to a signer: there is no message
	 * for it (ca/signer_int.h). */
	if (s == NULL || sig == NULL || sig_len == NULL || tbs == NULL ||
	    (kind != CA_SIGN_LEAF && kind != CA_SIGN_CRL &&
	     kind != CA_SIGN_OCSP_CERT && kind != CA_SIGN_OCSP &&
	     kind != CA_SIGN_OCSP_CA &&
	     kind != CA_SIGN_SCEP_CERT && kind != CA_SIGN_SCEP &&
	     kind != CA_SIGN_SCEP_NEXTCA) ||
	    key_idx >= CA_SIGNER_KEYS)
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "signing failed (bad arguments)");
	if (tbs_len > ca_signer_max_len(type))
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large_to_sign",
				    "the structure is larger than the signer "
				    "accepts (%u bytes)",
				    ca_signer_max_len(type));
	if (kind == CA_SIGN_OCSP || kind == CA_SIGN_SCEP ||
	    kind == CA_SIGN_SCEP_NEXTCA)
		key_idx = 0;   /* the OCSP and RA keys are not CA keys */
	/* A stopping daemon signs its CRLs still (a revocation held at
	 * the stop is carried out), nothing else. */
	if (kind != CA_SIGN_CRL && atomic_load(&s->abandon))
		return unavailable(err);
	bg = kind == CA_SIGN_CRL && tbs_len >= crl_background_min() &&
	     mica_thread_is_background();
	for (int tries = 0;; tries++) {
		int was_bg, r;

		if ((i = bg ? take_background(s) : take(s)) < 0)
			return unavailable(err);
		r = round_trip(s, i, type, (uint16_t)key_idx, tbs, tbs_len,
			       NULL, 0, &rtype, reply, sizeof(reply), &len);
		if (r == 0)
			break;
		was_bg = s->conns[i].background;   /* ours while busy */
		give(s, i, 1);
		/* A CRL signer found gone before the CRL was sent (killed
		 * while idle): its successor gets the CRL, once. A request
		 * that broke a signer, or got no answer, is not sent to
		 * another. */
		if (!was_bg || r != -2 || tries > 0)
			return unavailable(err);
	}
	give(s, i, 0);
	if (rtype == CA_SMSG_REFUSED)
		return refused(reply, len, crl_floor, err);
	if (len == 0 || len > CA_SIG_MAX)
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "the signer answered no signature");
	memcpy(sig, reply, len);
	*sig_len = len;
	return 0;
}

/* One request without a key index whose answer goes into OUT (SIZE). */
static int
simple_call(struct ca_signer *s, uint16_t type, const unsigned char *a,
	    size_t alen, const unsigned char *b, size_t blen,
	    unsigned char *out, size_t size, size_t *len,
	    struct mica_err *err)
{
	unsigned char reply[CA_SIGNER_REFUSAL_MAX > CA_SIG_MAX ?
			    CA_SIGNER_REFUSAL_MAX : CA_SIG_MAX];
	uint16_t rtype = 0;
	size_t n = 0;
	int i;

	if (s == NULL || out == NULL || len == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "bad arguments");
	if ((i = take(s)) < 0)
		return unavailable(err);
	if (round_trip(s, i, type, 0, a, alen, b, blen, &rtype, reply,
		       sizeof(reply), &n) != 0) {
		give(s, i, 1);
		return unavailable(err);
	}
	give(s, i, 0);
	if (rtype == CA_SMSG_REFUSED)
		return refused(reply, n, NULL, err);
	if (n == 0 || n > size) {
		mbedtls_platform_zeroize(reply, sizeof(reply));
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "the signer answered nothing usable");
	}
	memcpy(out, reply, n);
	mbedtls_platform_zeroize(reply, sizeof(reply));
	*len = n;
	return 0;
}

int
ca_signer_scep_new_sealed(struct ca_signer *s, struct ca_sealed_key *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL || !s->scep_new_set)
		return 0;
	if ((out->ct = malloc(s->scep_new.ct_len)) == NULL)
		return 0;
	memcpy(out->ct, s->scep_new.ct, s->scep_new.ct_len);
	out->ct_len = s->scep_new.ct_len;
	out->iter = s->scep_new.iter;
	memcpy(out->salt, s->scep_new.salt, sizeof(out->salt));
	memcpy(out->nonce, s->scep_new.nonce, sizeof(out->nonce));
	return 1;
}

int
ca_signer_scep_key(struct ca_signer *s, unsigned char *spki, size_t size,
		   size_t *len, struct mica_err *err)
{
	return simple_call(s, CA_SMSG_SCEP_KEY, NULL, 0, NULL, 0, spki, size,
			   len, err);
}

int
ca_signer_scep_decrypt(struct ca_signer *s, const unsigned char *ekey,
		       size_t ekey_len, size_t want, unsigned char *out,
		       struct mica_err *err)
{
	unsigned char w = (unsigned char)want;
	size_t n = 0;

	if (MICA_FAULT("sign"))
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "decryption failed (fault injected)");
	if (ekey == NULL || ekey_len == 0 || ekey_len > CA_SCEP_EKEY_MAX ||
	    want == 0 || want > CA_SCEP_KEY_MAX)
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "bad arguments");
	if (simple_call(s, CA_SMSG_SCEP_DECRYPT, &w, 1, ekey, ekey_len, out,
			want, &n, err) != 0)
		return -1;
	if (n != want)
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "the signer answered a key of another "
				    "length");
	return 0;
}

int
ca_signer_ocsp_key(struct ca_signer *s, unsigned char *spki, size_t size,
		   size_t *len, struct mica_err *err)
{
	unsigned char reply[CA_SIGNER_REFUSAL_MAX > CA_SIG_MAX ?
			    CA_SIGNER_REFUSAL_MAX : CA_SIG_MAX];
	uint16_t rtype = 0;
	size_t n = 0;
	int i;

	if (s == NULL || spki == NULL || len == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "bad arguments");
	if ((i = take(s)) < 0)
		return unavailable(err);
	if (round_trip(s, i, CA_SMSG_OCSP_KEY, 0, NULL, 0, NULL, 0, &rtype,
		       reply, sizeof(reply), &n) != 0) {
		give(s, i, 1);
		return unavailable(err);
	}
	give(s, i, 0);
	if (rtype == CA_SMSG_REFUSED)
		return refused(reply, n, NULL, err);
	if (n == 0 || n > size)
		return mica_err_set(err, MICA_E_INTERNAL, "sign_failed",
				    "the signer answered no OCSP key");
	memcpy(spki, reply, n);
	*len = n;
	return 0;
}

int
ca_signer_set_domains(struct ca_signer *s, const char *const *domains,
		      size_t ndomains, const unsigned char mac[32],
		      struct mica_err *err)
{
	unsigned char *blob = NULL, *msg = NULL, reply[CA_SIGNER_REFUSAL_MAX];
	size_t blob_len = 0, len = 0;
	uint32_t t = CA_CTL_SET_DOMAINS;
	uint16_t rtype;
	int done[CA_SIGNER_SLOTS] = { 0 }, rc = -1, left;
	struct timespec until;

	if (ca_signer_domains_blob(domains, ndomains, &blob, &blob_len,
				   err) != 0)
		return -1;
	if ((msg = malloc(4 + 32 + blob_len)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
		goto out;
	}
	memcpy(msg, &t, 4);
	memcpy(msg + 4, mac, 32);
	memcpy(msg + 36, blob, blob_len);

	/* The keeper first, so every signer it starts from now on has the
	 * list; then each signer that is already running. */
	mica_mono_deadline(&until, (int64_t)IDLE_WAIT_S * 1000);
	pthread_mutex_lock(&s->mu);
	s->ack_got = 0;
	if (s->keeper_dead ||
	    send(s->ctl, msg, 36 + blob_len, MSG_NOSIGNAL) !=
	    (ssize_t)(36 + blob_len)) {
		pthread_mutex_unlock(&s->mu);
		unavailable(err);
		goto out;
	}
	while (!s->ack_got && !s->keeper_dead)
		if (mica_cond_wait_until(&s->cv, &s->mu, &until) == ETIMEDOUT)
			break;
	if (!s->ack_got) {
		pthread_mutex_unlock(&s->mu);
		unavailable(err);
		goto out;
	}
	if (!s->ack_ok) {
		pthread_mutex_unlock(&s->mu);
		mica_err_set(err, MICA_E_FORBIDDEN, "domains_not_sealed",
			     "the allowed-domain list does not carry the CA "
			     "key's MAC");
		goto out;
	}
	for (;;) {
		int i = -1;

		left = 0;
		/* The CRL signer signs CRLs only (it refuses certificates):
		 * it has no use for the list, and a CRL it is signing at
		 * its lower priority is not waited for. */
		for (int k = 0; k < CA_SIGNER_SLOTS; k++) {
			if (s->conns[k].fd < 0 || done[k] ||
			    s->conns[k].background)
				continue;
			left++;
			if (!s->conns[k].busy && i < 0)
				i = k;
		}
		if (left == 0)
			break;
		if (i < 0) {
			if (mica_cond_wait_until(&s->cv, &s->mu, &until) ==
			    ETIMEDOUT) {
				pthread_mutex_unlock(&s->mu);
				unavailable(err);
				goto out;
			}
			continue;
		}
		s->conns[i].busy = 1;
		done[i] = 1;
		pthread_mutex_unlock(&s->mu);
		if (round_trip(s, i, CA_SMSG_SET_DOMAINS, 0, mac, 32, blob,
			       blob_len, &rtype, reply, sizeof(reply),
			       &len) != 0) {
			give(s, i, 1);   /* its successor gets the keeper's */
		} else {
			give(s, i, 0);
			if (rtype != CA_SMSG_OK) {
				refused(reply, len, NULL, err);
				goto out;
			}
		}
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	rc = 0;
out:
	free(blob);
	free(msg);
	return rc;
}

int
ca_signer_alive(struct ca_signer *s)
{
	int alive;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	alive = !s->keeper_dead;
	pthread_mutex_unlock(&s->mu);
	return alive;
}

void
ca_signer_abandon(struct ca_signer *s)
{
	int64_t now = mica_mono_ms();

	if (s == NULL)
		return;
	/* From now on such a request fails at once (ca_signer_sign_key). */
	atomic_store(&s->abandon, 1);
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < CA_SIGNER_SLOTS; i++)
		if (s->conns[i].fd >= 0 && s->conns[i].busy &&
		    !s->conns[i].background && s->conns[i].since != 0 &&
		    !s->conns[i].cancelled) {
			mica_log(MICA_LOG_WARN, "signer[%d] has not answered for "
				 "%lld ms: its request is given up",
				 (int)s->conns[i].pid,
				 (long long)(now - s->conns[i].since));
			/* The waiting reader sees the connection end and
			 * fails its request (503); give() closes it. */
			shutdown(s->conns[i].fd, SHUT_RDWR);
			s->conns[i].cancelled = 1;
		}
	/* Those waiting for an idle signer (take) give up too. */
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

int64_t
ca_signer_stalled_ms(struct ca_signer *s)
{
	int64_t now = mica_mono_ms(), oldest = 0;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < CA_SIGNER_SLOTS; i++)
		if (s->conns[i].fd >= 0 && s->conns[i].busy &&
		    !s->conns[i].background && s->conns[i].since != 0 &&
		    now - s->conns[i].since > oldest)
			oldest = now - s->conns[i].since;
	pthread_mutex_unlock(&s->mu);
	return oldest;
}

pid_t
ca_signer_keeper_pid(struct ca_signer *s)
{
	return s != NULL ? s->keeper : 0;
}

size_t
ca_signer_pids(struct ca_signer *s, pid_t *pids, size_t max)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < CA_SIGNER_SLOTS && n < max; i++)
		if (s->conns[i].fd >= 0)
			pids[n++] = s->conns[i].pid;
	pthread_mutex_unlock(&s->mu);
	return n;
}

int
ca_signer_test_fd(struct ca_signer *s, pid_t pid)
{
	int fd = -1;

	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < CA_SIGNER_SLOTS; i++)
		if (s->conns[i].fd >= 0 && s->conns[i].pid == pid &&
		    !s->conns[i].busy) {
			s->conns[i].busy = 1;
			fd = s->conns[i].fd;
		}
	pthread_mutex_unlock(&s->mu);
	return fd;
}

void
ca_signer_test_fd_done(struct ca_signer *s, pid_t pid)
{
	for (int i = 0; i < CA_SIGNER_SLOTS; i++)
		if (s->conns[i].fd >= 0 && s->conns[i].pid == pid &&
		    s->conns[i].busy)
			give(s, i, 1);
}

/*
 * ca/signer_proc.c - the side of the signing service that holds the key:
 * the keeper process (unseals the key once, starts and restarts signers,
 * hands their connections to the front end) and the signer processes
 * (confined with seccomp; read a request, re-check it, sign, answer).
 * The front end's side is ca/signer.c; the wire format ca/signer_msg.c.
 */
#include "ca/signer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>
#include <seccomp.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#include "ca/cacert.h"
#include "ca/x509.h"
#include "util/bigmem.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/thread.h"

/* ------------------------------------------------------------------ */
/* Answering one request                                               */
/* ------------------------------------------------------------------ */

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

/* A REFUSED reply: floor, code NUL message. Logged here too, so even a
 * front end that hides it cannot make a refusal go unrecorded. */
static int
refusal(struct ca_signer_state *st, const char *what,
	const struct mica_err *e, uint16_t *rtype, unsigned char **reply,
	size_t *reply_len)
{
	size_t cl = strnlen(e->code, sizeof(e->code));
	size_t ml = strnlen(e->msg, sizeof(e->msg));
	unsigned char *r;

	mica_log(MICA_LOG_WARN, "signer[%d]: refused to sign %s: %s (%s)",
		 (int)getpid(), what, e->msg, e->code);
	if (8 + cl + 1 + ml > CA_SIGNER_REFUSAL_MAX)
		ml = CA_SIGNER_REFUSAL_MAX - 8 - cl - 1;
	if ((r = malloc(8 + cl + 1 + ml)) == NULL)
		return -1;
	put64(r, st->crl_floor != NULL ? atomic_load(st->crl_floor) : 0);
	memcpy(r + 8, e->code, cl);
	r[8 + cl] = '\0';
	memcpy(r + 9 + cl, e->msg, ml);
	*rtype = CA_SMSG_REFUSED;
	*reply = r;
	*reply_len = 8 + cl + 1 + ml;
	return 0;
}

static int
ok_reply(const unsigned char *p, size_t len, uint16_t *rtype,
	 unsigned char **reply, size_t *reply_len)
{
	unsigned char *r = malloc(len ? len : 1);

	if (r == NULL)
		return -1;
	if (len)
		memcpy(r, p, len);
	*rtype = CA_SMSG_OK;
	*reply = r;
	*reply_len = len;
	return 0;
}

/* Point every key's policy at the domain list V (N names), which ST now
 * owns. */
static void
use_domains(struct ca_signer_state *st, char **v, size_t n)
{
	ca_signer_strv_free(st->domains);
	st->domains = v;
	st->ndomains = n;
	for (unsigned i = 0; i < CA_SIGNER_KEYS; i++) {
		st->keys[i].pol.domains = (const char *const *)v;
		st->keys[i].pol.ndomains = n;
	}
}

static int
set_domains(struct ca_signer_state *st, const unsigned char *p, size_t len,
	    struct mica_err *err)
{
	unsigned char mac[32];
	char **v = NULL;
	size_t n = 0;

	if (len < 32)
		return mica_err_set(err, MICA_E_BADREQ, "bad_message",
				    "domain message too short");
	/* Sealed by the current key, the one that signs names. */
	if (ca_key_mac(st->keys[st->current].key, CA_SIGNER_DOMAINS_LABEL,
		       p + 32, len - 32, mac, err) != 0)
		return -1;
	if (!ca_ct_equal(mac, p, 32)) {
		mbedtls_platform_zeroize(mac, sizeof(mac));
		return mica_err_set(err, MICA_E_FORBIDDEN, "domains_not_sealed",
				    "the allowed-domain list does not carry "
				    "the CA key's MAC");
	}
	mbedtls_platform_zeroize(mac, sizeof(mac));
	if (ca_signer_domains_parse(p + 32, len - 32, &v, &n) != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_message",
				    "domain list not canonical");
	use_domains(st, v, n);
	memcpy(st->domains_mac, p, 32);
	return 0;
}

/* The latest nextUpdate an OCSP response of CA key KEY may have: its CA
 * certificate's notAfter, and for the current key the end of its path
 * too (OCSP_CA_FROM + CA_OCSP_DELEGATE_LEFT): nothing answers for a time
 * when the issuer is no longer valid. */
static int64_t
ocsp_until(const struct ca_signer_state *st, unsigned key)
{
	int64_t until = st->keys[key].pol.not_after;

	if (key == st->current && st->ocsp_ca_from > 0 &&
	    st->ocsp_ca_from + CA_OCSP_DELEGATE_LEFT < until)
		until = st->ocsp_ca_from + CA_OCSP_DELEGATE_LEFT;
	return until;
}

int
ca_signer_handle(struct ca_signer_state *st, uint16_t type, uint16_t key,
		 const unsigned char *p, size_t len, uint16_t *rtype,
		 unsigned char **reply, size_t *reply_len)
{
	unsigned char sig[CA_SIG_MAX];
	size_t sig_len = 0;
	struct mica_err e;
	struct ca_signer_key_state *k = NULL;
	uint64_t num = 0, cur;
	int64_t now = (int64_t)time(NULL);

	mica_err_clear(&e);
	*reply = NULL;
	*reply_len = 0;
	/* The CRL signer (ca/signer.h) signs nothing else, whatever a front
	 * end asks of it. */
	if (st->crl_only && type != CA_SMSG_SIGN_CRL) {
		mica_err_set(&e, MICA_E_POLICY, "signer_refused",
			     "signer: the CRL signer signs CRLs only");
		return refusal(st, "other than a CRL", &e, rtype, reply,
			       reply_len);
	}
	if (type == CA_SMSG_SIGN_LEAF || type == CA_SMSG_SIGN_CRL) {
		if (key >= CA_SIGNER_KEYS || st->keys[key].key == NULL) {
			mica_err_set(&e, MICA_E_POLICY, "signer_refused",
				     "signer: no CA key with index %u",
				     (unsigned)key);
			return refusal(st, "with an unknown key", &e, rtype,
				       reply, reply_len);
		}
		k = &st->keys[key];
	}
	switch (type) {
	case CA_SMSG_SIGN_LEAF:
		/* A retired key signs CRLs only: its certificates belong to
		 * a CA certificate that is being replaced. */
		if (key != st->current) {
			mica_err_set(&e, MICA_E_POLICY, "signer_refused",
				     "signer: a certificate with a retired "
				     "key");
			return refusal(st, "a certificate", &e, rtype, reply,
				       reply_len);
		}
		if (ca_signcheck_leaf(&k->pol, now, p, len, &e) != 0)
			return refusal(st, "a certificate", &e, rtype, reply,
				       reply_len);
		if (ca_key_sign(k->key, p, len, sig, &sig_len, &e) != 0)
			return refusal(st, "a certificate", &e, rtype, reply,
				       reply_len);
		return ok_reply(sig, sig_len, rtype, reply, reply_len);
	case CA_SMSG_SIGN_CRL:
		if (ca_signcheck_crl(&k->pol, now, p, len, &num, &e) != 0)
			return refusal(st, "a CRL", &e, rtype, reply, reply_len);
		/* One series of numbers for the whole CA, whatever the key:
		 * each key's CRLs still increase. */
		cur = atomic_load(st->crl_floor);
		if (num <= cur)
			goto used;
		if (ca_key_sign(k->key, p, len, sig, &sig_len, &e) != 0)
			return refusal(st, "a CRL", &e, rtype, reply, reply_len);
		/* Claim the number only now: a failure above leaves it free.
		 * Two signers racing for one number: one wins, one refuses. */
		while (!atomic_compare_exchange_weak(st->crl_floor, &cur, num))
			if (num <= cur)
				goto used;
		return ok_reply(sig, sig_len, rtype, reply, reply_len);
	case CA_SMSG_OCSP_KEY:
		if (st->ocsp_key == NULL || len != 0) {
			mica_err_set(&e, MICA_E_POLICY, "signer_refused",
				     "signer: no OCSP key");
			return refusal(st, "an OCSP key", &e, rtype, reply,
				       reply_len);
		}
		return ok_reply(st->ocsp_spki, st->ocsp_spki_len, rtype, reply,
				reply_len);
	case CA_SMSG_OCSP_CERT:
		/* The CA key certifies the OCSP key, and only it, only as
		 * a short-lived OCSP responder (RFC 6960 4.2.2.2). */
		if (st->ocsp_key == NULL || key != st->current ||
		    st->keys[key].key == NULL) {
			mica_err_set(&e, MICA_E_POLICY, "signer_refused",
				     "signer: an OCSP responder certificate "
				     "with a key that is not the current one");
			return refusal(st, "an OCSP certificate", &e, rtype,
				       reply, reply_len);
		}
		k = &st->keys[key];
		if (ca_signcheck_ocsp_cert(&k->pol, st->ocsp_spki,
					   st->ocsp_spki_len, now, p, len,
					   &e) != 0 ||
		    ca_key_sign(k->key, p, len, sig, &sig_len, &e) != 0)
			return refusal(st, "an OCSP certificate", &e, rtype,
				       reply, reply_len);
		return ok_reply(sig, sig_len, rtype, reply, reply_len);
	case CA_SMSG_OCSP_SIGN:
		if (st->ocsp_key == NULL) {
			mica_err_set(&e, MICA_E_POLICY, "signer_refused",
				     "signer: no OCSP key");
			return refusal(st, "an OCSP response", &e, rtype, reply,
				       reply_len);
		}
		if (ca_ocsp_tbs_check(&st->ocsp_issuer, st->ocsp_key_hash, now,
				      ocsp_until(st, st->current), p, len,
				      &e) != 0 ||
		    ca_key_sign(st->ocsp_key, p, len, sig, &sig_len, &e) != 0)
			return refusal(st, "an OCSP response", &e, rtype, reply,
				       reply_len);
		return ok_reply(sig, sig_len, rtype, reply, reply_len);
	case CA_SMSG_OCSP_CA_SIGN:
		/* A CA key answers for its own certificates only (RFC 6960
		 * 4.2.2.2: the CA that issued them): a retired key while its
		 * CA certificate is valid (its certificates still are), the
		 * current key when the daemon was told to, or in the path's
		 * last hours, when no responder certificate can be made. */
		if (key >= CA_SIGNER_KEYS || st->keys[key].key == NULL ||
		    (key == st->current && !st->ocsp_by_ca &&
		     (st->ocsp_ca_from <= 0 || now < st->ocsp_ca_from)) ||
		    now > st->keys[key].pol.not_after) {
			mica_err_set(&e, MICA_E_POLICY, "signer_refused",
				     "signer: an OCSP response by CA key %u, "
				     "which does not sign them",
				     (unsigned)key);
			return refusal(st, "an OCSP response", &e, rtype, reply,
				       reply_len);
		}
		k = &st->keys[key];
		if (ca_ocsp_tbs_check(&k->ocsp_issuer, k->ocsp_issuer.key1,
				      now, ocsp_until(st, key), p, len,
				      &e) != 0 ||
		    ca_key_sign(k->key, p, len, sig, &sig_len, &e) != 0)
			return refusal(st, "an OCSP response", &e, rtype, reply,
				       reply_len);
		return ok_reply(sig, sig_len, rtype, reply, reply_len);
	case CA_SMSG_SCEP_KEY:
		if (st->scep_key == NULL || len != 0) {
			mica_err_set(&e, MICA_E_POLICY, "signer_refused",
				     "signer: no RA key");
			return refusal(st, "an RA key", &e, rtype, reply,
				       reply_len);
		}
		return ok_reply(st->scep_spki, st->scep_spki_len, rtype, reply,
				reply_len);
	case CA_SMSG_SCEP_CERT:
		/* The CA key certifies the RA key, and only it, only as
		 * SCEP's short-lived RA (digitalSignature and
		 * keyEncipherment). */
		if (st->scep_key == NULL || key != st->current ||
		    st->keys[key].key == NULL) {
			mica_err_set(&e, MICA_E_POLICY, "signer_refused",
				     "signer: an RA certificate with a key "
				     "that is not the current one");
			return refusal(st, "an RA certificate", &e, rtype,
				       reply, reply_len);
		}
		k = &st->keys[key];
		if (ca_signcheck_scep_cert(&k->pol, st->scep_spki,
					   st->scep_spki_len, now, p, len,
					   &e) != 0 ||
		    ca_key_sign(k->key, p, len, sig, &sig_len, &e) != 0)
			return refusal(st, "an RA certificate", &e, rtype,
				       reply, reply_len);
		return ok_reply(sig, sig_len, rtype, reply, reply_len);
	case CA_SMSG_SCEP_SIGN:
		/* Only a CertRep's attributes: the RA key is no signing
		 * oracle for anything else. */
		if (st->scep_key == NULL ||
		    ca_scep_attrs_check(p, len, &e) != 0 ||
		    ca_key_sign(st->scep_key, p, len, sig, &sig_len, &e) != 0) {
			if (e.code[0] == '\0')
				mica_err_set(&e, MICA_E_POLICY,
					     "signer_refused",
					     "signer: no RA key");
			return refusal(st, "a CertRep", &e, rtype, reply,
				       reply_len);
		}
		return ok_reply(sig, sig_len, rtype, reply, reply_len);
	case CA_SMSG_SCEP_DECRYPT:
		/* Only a key transport to the RA key's modulus size, only to
		 * a content key of a length SCEP's ciphers use. */
		if (st->scep_key == NULL || len < 1 ||
		    len - 1 != ca_key_rsa_len(st->scep_key) ||
		    (p[0] != 8 && p[0] != 16 && p[0] != 24 && p[0] != 32) ||
		    ca_key_decrypt(st->scep_key, p + 1, len - 1, sig, p[0],
				   &e) != 0) {
			if (e.code[0] == '\0')
				mica_err_set(&e, MICA_E_POLICY,
					     "signer_refused",
					     "signer: not a key transport to "
					     "the RA key");
			return refusal(st, "an RA decryption", &e, rtype,
				       reply, reply_len);
		}
		sig_len = p[0];
		{
			int r = ok_reply(sig, sig_len, rtype, reply,
					 reply_len);

			mbedtls_platform_zeroize(sig, sizeof(sig));
			return r;
		}
	case CA_SMSG_SCEP_NEXTCA:
		/* GetNextCACert: the RA vouches only for this CA's next
		 * certificate from the CA above, in mica's own certs-only
		 * form, under attributes the signer makes itself. */
		{
			unsigned char *attrs = NULL;
			size_t attrs_len = 0;

			if (st->scep_key == NULL) {
				mica_err_set(&e, MICA_E_POLICY,
					     "signer_refused",
					     "signer: no RA key");
				return refusal(st, "a next CA certificate", &e,
					       rtype, reply, reply_len);
			}
			if (ca_scep_nextca_check(st->ca_cert, st->ca_cert_len,
						 st->issuer_cert,
						 st->issuer_cert_len, p, len,
						 now, &e) != 0 ||
			    ca_scep_nextca_attrs(p, len, &attrs, &attrs_len,
						 &e) != 0 ||
			    ca_key_sign(st->scep_key, attrs, attrs_len, sig,
					&sig_len, &e) != 0) {
				free(attrs);
				return refusal(st, "a next CA certificate", &e,
					       rtype, reply, reply_len);
			}
			free(attrs);
			return ok_reply(sig, sig_len, rtype, reply, reply_len);
		}
	case CA_SMSG_SET_DOMAINS:
		if (set_domains(st, p, len, &e) != 0)
			return refusal(st, "a domain list", &e, rtype, reply,
				       reply_len);
		return ok_reply(NULL, 0, rtype, reply, reply_len);
	default:
		mica_err_set(&e, MICA_E_BADREQ, "bad_message",
			     "unknown request");
		return refusal(st, "a message", &e, rtype, reply, reply_len);
	}
used:
	mbedtls_platform_zeroize(sig, sizeof(sig));
	mica_err_set(&e, MICA_E_CONFLICT, "crl_number_used",
		     "signer: cRLNumber %llu not above the last one signed",
		     (unsigned long long)num);
	return refusal(st, "a CRL", &e, rtype, reply, reply_len);
}

int
ca_signer_serve(struct ca_signer_state *st, int fd)
{
	unsigned char h[CA_SIGNER_HDR];
	struct ca_signer_hdr hdr, rh;

	for (;;) {
		unsigned char *buf = NULL, *reply = NULL;
		size_t reply_len = 0;
		uint16_t rtype = 0;
		int r;

		r = ca_signer_read_all(fd, h, sizeof(h), -1);
		if (r == 1)
			return 0;
		if (r != 0)
			return -1;
		if (ca_signer_hdr_get(h, &hdr) != 0 ||
		    (hdr.type != CA_SMSG_SIGN_LEAF &&
		     hdr.type != CA_SMSG_SIGN_CRL &&
		     hdr.type != CA_SMSG_SET_DOMAINS &&
		     hdr.type != CA_SMSG_OCSP_KEY &&
		     hdr.type != CA_SMSG_OCSP_CERT &&
		     hdr.type != CA_SMSG_OCSP_SIGN &&
		     hdr.type != CA_SMSG_OCSP_CA_SIGN &&
		     hdr.type != CA_SMSG_SCEP_KEY &&
		     hdr.type != CA_SMSG_SCEP_CERT &&
		     hdr.type != CA_SMSG_SCEP_SIGN &&
		     hdr.type != CA_SMSG_SCEP_DECRYPT &&
		     hdr.type != CA_SMSG_SCEP_NEXTCA)) {
			mica_log(MICA_LOG_WARN, "signer[%d]: malformed "
				 "message header; closing the connection",
				 (int)getpid());
			return -1;
		}
		if ((buf = malloc(hdr.len ? hdr.len : 1)) == NULL)
			return -1;
		mica_mem_big(buf, hdr.len);
		if (ca_signer_read_all(fd, buf, hdr.len, 30000) != 0) {
			mica_log(MICA_LOG_WARN, "signer[%d]: truncated "
				 "message; closing the connection",
				 (int)getpid());
			free(buf);
			return -1;
		}
		r = ca_signer_handle(st, hdr.type, hdr.key, buf, hdr.len,
				     &rtype, &reply, &reply_len);
		free(buf);
		if (r != 0)
			return -1;
		rh.type = rtype;
		rh.key = 0;
		rh.id = hdr.id;
		rh.len = (uint32_t)reply_len;
		ca_signer_hdr_put(&rh, h);
		r = ca_signer_write_all(fd, h, sizeof(h));
		if (r == 0)
			r = ca_signer_write_all(fd, reply, reply_len);
		free(reply);
		if (r != 0)
			return -1;
	}
}

/* ------------------------------------------------------------------ */
/* Confinement                                                         */
/* ------------------------------------------------------------------ */

/* What a signer may do once it serves: its socket, memory, the clock, the
 * kernel's randomness, and ending. Everything else kills it. */
static const char *const allowed_syscalls[] = {
	"read", "write", "readv", "writev", "recvfrom", "sendto", "close",
	"poll", "ppoll",
	"brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
	"futex", "getrandom", "clock_gettime", "clock_gettime64",
	"gettimeofday", "time", "getpid", "gettid", "fstat", "newfstatat",
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "sigaltstack",
	"restart_syscall", "sched_yield", "exit", "exit_group",
	/* abort() on an assertion signals itself */
	"tgkill", "kill",
	/* sanitizer runtimes query these when reporting */
	"sched_getaffinity", "prctl", "getrlimit", "prlimit64",
};

int
ca_signer_confine(void)
{
	struct rlimit nocore = { 0, 0 };
	scmp_filter_ctx f;
	size_t i;
	int rc = -1;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    setrlimit(RLIMIT_CORE, &nocore) != 0)
		return -1;
#ifdef RUNNING_ON_VALGRIND
	/* valgrind cannot run a process under a seccomp filter (it makes
	 * system calls of its own, and does not implement seccomp(2)).
	 * Only the leak checks of the test suite run mica this way. */
	if (RUNNING_ON_VALGRIND) {
		mica_log(MICA_LOG_WARN, "signer[%d]: running under valgrind, "
			 "not confined by seccomp", (int)getpid());
		return 0;
	}
#endif
	if ((f = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return -1;
	for (i = 0; i < sizeof(allowed_syscalls) / sizeof(allowed_syscalls[0]);
	     i++) {
		int nr = seccomp_syscall_resolve_name(allowed_syscalls[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;   /* not on this architecture */
		/* mmap and mprotect never make memory executable. */
		if (strcmp(allowed_syscalls[i], "mmap") == 0 ||
		    strcmp(allowed_syscalls[i], "mprotect") == 0) {
			if (seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 1,
					     SCMP_A2(SCMP_CMP_MASKED_EQ,
						     PROT_EXEC, 0)) != 0)
				goto out;
			continue;
		}
		if (seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0) != 0)
			goto out;
	}
	if (seccomp_load(f) != 0)
		goto out;
	rc = 0;
out:
	seccomp_release(f);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The keeper                                                          */
/* ------------------------------------------------------------------ */

struct worker {
	pid_t pid;
	int64_t started;
	int fast_exits;     /* deaths within a second of starting, in a row */
	int background;     /* mica-signer-crl (ca/signer.h) */
};

/* Close every descriptor but those in KEEP (N of them). */
static void
close_others(const int *keep, size_t n)
{
	int max = (int)sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 1 << 20)
		max = 1 << 20;
	for (int fd = 3, next; fd < max; fd = next + 1) {
		next = max;
		for (size_t i = 0; i < n; i++)
			if (keep[i] >= fd && keep[i] < next)
				next = keep[i];
		if (next > fd)
			close_range((unsigned)fd, (unsigned)next - 1, 0);
	}
}

/* Send a control message, with FD attached if >= 0. */
static int
ctl_send(int ctl, const void *msg, size_t len, int fd)
{
	struct iovec iov = { (void *)msg, len };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		ssize_t r = sendmsg(ctl, &mh, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		return r == (ssize_t)len ? 0 : -1;
	}
}

/* Start one signer; its connection goes to the front end. */
static int
spawn(struct ca_signer_state *st, int ctl, int sfd, struct worker *w)
{
	int sv[2];
	pid_t pid;
	struct ca_ctl_newconn m;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		int keep[2] = { sv[1], st->log_fd };

		(void)sfd;
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		/* The CRL signer: lower priority for good (it cannot raise
		 * it again), before confinement, which has no setpriority. */
		if (!w->background)
			prctl(PR_SET_NAME, "mica-signer", 0, 0, 0);
		else if (mica_thread_background("mica-signer-crl") != 0)
			mica_log(MICA_LOG_WARN, "signer: could not lower the "
				 "CRL signer's priority");
		st->crl_only = w->background;
		close_others(keep, 2);
		{
			sigset_t all;

			sigemptyset(&all);
			sigprocmask(SIG_SETMASK, &all, NULL);
		}
#ifdef MICA_FAULT_INJECTION
		mica_fault_disable();   /* the front end counts "sign" */
#endif
		if (ca_signer_confine() != 0) {
			mica_log(MICA_LOG_ERR, "signer: could not confine "
				 "itself (seccomp); not serving");
			_exit(3);
		}
		_exit(ca_signer_serve(st, sv[1]) == 0 ? 0 : 1);
	}
	close(sv[1]);
	memset(&m, 0, sizeof(m));
	m.type = CA_CTL_NEWCONN;
	m.pid = pid;
	m.background = w->background != 0;
	w->pid = pid;
	w->started = mica_mono_ms();
	if (ctl_send(ctl, &m, sizeof(m), sv[0]) != 0) {
		close(sv[0]);
		return -1;
	}
	close(sv[0]);
	return 0;
}

/* After spawn(W) failed: for the CRL signer, which the service can do
 * without (its CRLs go to the others meanwhile), log it and try again in
 * a second; 1 then, 0 for any other signer (the keeper gives up). */
static int
spawn_failed_bg(struct worker *w)
{
	if (!w->background)
		return 0;
	mica_log(MICA_LOG_WARN, "signing service: could not start the CRL "
		 "signer; trying again in a second");
	w->started = mica_mono_ms();
	w->fast_exits = 3;
	return 1;
}

/* Unseal one key and learn its rules from its CA certificate (the
 * subject, the key identifier - the certificate's SKI extension, which a
 * CA above may have computed otherwise than mica - the validity and the
 * name constraints): fill ST->keys[IDX]. */
static int
load_key(struct ca_signer_state *st, unsigned idx,
	 const struct ca_sealed_key *sealed, const char *pass, size_t pass_len,
	 const unsigned char *cert, size_t cert_len, struct mica_err *err)
{
	struct ca_signer_key_state *k;
	struct ca_cert_info ci;
	unsigned char *spki = NULL;
	const unsigned char *alg;
	size_t spki_len = 0, alg_len = 0;
	int rc = -1;

	if (idx >= CA_SIGNER_KEYS || st->keys[idx].key != NULL || sealed == NULL ||
	    cert == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "the signer was given a bad key list");
	k = &st->keys[idx];
	if (ca_key_unseal(sealed, pass, pass_len, &k->key, err) != 0)
		goto out;
	if (ca_cert_info_read(cert, cert_len, &ci, err) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_root",
			     "a CA certificate does not parse");
		goto out;
	}
	if (ca_key_spki(k->key, &spki, &spki_len, err) != 0)
		goto out;
	if (spki_len != ci.spki_len || memcmp(spki, ci.spki, spki_len) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "key_mismatch",
			     "a CA key does not match its CA certificate");
		goto out;
	}
	if ((k->subject = malloc(ci.subject_len)) == NULL)
		goto oom;
	memcpy(k->subject, ci.subject, ci.subject_len);
	k->pol.subject = k->subject;
	k->pol.subject_len = ci.subject_len;
	memcpy(k->pol.ski, ci.ski, ci.ski_len);
	k->pol.ski_len = ci.ski_len;
	k->pol.not_before = ci.not_before;
	k->pol.not_after = ci.not_after;
	if (ci.nc != NULL) {
		if ((k->nc = malloc(sizeof(*k->nc))) == NULL)
			goto oom;
		if (ca_nc_parse(ci.nc, ci.nc_len, k->nc, err) != 0)
			goto out;
		k->pol.nc = k->nc;
	}
	alg = ca_key_sig_alg(k->key, &alg_len);
	if ((k->sig_alg = malloc(alg_len)) == NULL)
		goto oom;
	memcpy(k->sig_alg, alg, alg_len);
	k->pol.sig_alg = k->sig_alg;
	k->pol.sig_alg_len = alg_len;
	/* What its OCSP responses must name (OCSP_CA_SIGN). */
	if (ca_ocsp_issuer_hashes(ci.subject, ci.subject_len, ci.spki,
				  ci.spki_len, &k->ocsp_issuer, err) != 0)
		goto out;
	rc = 0;
	goto out;
oom:
	mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
out:
	free(spki);
	return rc;
}

/* The OCSP key: generated here, in memory only (a new one at every start,
 * never stored, so there is nothing to steal from the disk), inherited by
 * every signer the keeper forks. The hashes its responses must name are
 * the current CA certificate's (RFC 6960 4.1.1). */
static int
ocsp_key_make(struct ca_signer_state *st, const struct ca_signer_config *c,
	      struct mica_err *err)
{
	struct ca_cert_info ci;

	if (ca_cert_info_read(c->ca_cert, c->ca_cert_len, &ci, err) != 0 ||
	    ca_ocsp_issuer_hashes(ci.subject, ci.subject_len, ci.spki,
				  ci.spki_len, &st->ocsp_issuer, err) != 0 ||
	    ca_key_generate(CA_KEY_EC_P256, &st->ocsp_key, err) != 0 ||
	    ca_key_spki(st->ocsp_key, &st->ocsp_spki, &st->ocsp_spki_len,
			err) != 0 ||
	    ca_ocsp_key_hash(st->ocsp_spki, st->ocsp_spki_len,
			     st->ocsp_key_hash, err) != 0)
		return -1;
	return 0;
}

/* SCEP's RA key: RSA (SCEP encrypts to RSA only, RFC 8894 3.5.2),
 * unsealed from C->scep_sealed with the passphrase; made and sealed here
 * the first time (or when what the store holds does not open: a store
 * tampered with, a passphrase changed since), the sealed form going back
 * to the front end in READY. Inherited by every signer the keeper forks. */
static int
scep_key_make(struct ca_signer_state *st, const struct ca_signer_config *c,
	      struct ca_key *unsealed, const struct mica_err *unseal_err,
	      struct ca_ctl_ready *ready, struct mica_err *err)
{
	struct ca_sealed_key sealed;

	memset(&sealed, 0, sizeof(sealed));
	if (c->scep_sealed != NULL) {
		/* UNSEALED: c->scep_sealed opened by keeper_load's thread. */
		st->scep_key = unsealed;
		if (st->scep_key != NULL && ca_key_rsa_len(st->scep_key) >= 256)
			goto spki;
		mica_log(MICA_LOG_WARN, "keeper: the sealed SCEP RA key does "
			 "not open (%s); making another",
			 st->scep_key != NULL ? "not an RSA key of 2048 bits "
			 "or more" : unseal_err->msg);
		ca_key_free(st->scep_key);
		st->scep_key = NULL;
	}
	if (ca_key_generate(CA_KEY_RSA_2048, &st->scep_key, err) != 0 ||
	    ca_key_seal(st->scep_key, c->pass, c->pass_len,
			CA_KDF_DEFAULT_ITER, &sealed, err) != 0)
		goto fail;
	if (sealed.ct_len > sizeof(ready->scep_ct)) {
		mica_err_set(err, MICA_E_INTERNAL, "signer_failed",
			     "the sealed RA key is too large");
		goto fail;
	}
	ready->scep_made = 1;
	ready->scep_ct_len = (uint32_t)sealed.ct_len;
	ready->scep_iter = sealed.iter;
	memcpy(ready->scep_salt, sealed.salt, sizeof(ready->scep_salt));
	memcpy(ready->scep_nonce, sealed.nonce, sizeof(ready->scep_nonce));
	memcpy(ready->scep_ct, sealed.ct, sealed.ct_len);
	ca_sealed_key_free(&sealed);
spki:
	if (ca_key_spki(st->scep_key, &st->scep_spki, &st->scep_spki_len,
			err) != 0)
		return -1;
	return 0;
fail:
	ca_sealed_key_free(&sealed);
	return -1;
}

/* The RA key's unsealing on a thread of its own (see keeper_load). */
struct ra_unseal {
	const struct ca_signer_config *c;
	struct ca_key *key;
	struct mica_err err;
};

static void *
ra_unseal_main(void *arg)
{
	struct ra_unseal *j = arg;

	mica_err_clear(&j->err);
	if (j->c->scep_sealed != NULL &&
	    ca_key_unseal(j->c->scep_sealed, j->c->pass, j->c->pass_len,
			  &j->key, &j->err) != 0)
		j->key = NULL;
	return NULL;
}

/* Unseal every key and learn the rules from the CA certificates: fill ST.
 * Each sealed key costs a PBKDF2 run (600,000 iterations: the slowest part
 * of 'mica serve' starting), so the RA key is unsealed on a second thread
 * while this one unseals the CA's keys. It is used, or found not to open
 * and replaced, only once the CA key has opened with the passphrase (a
 * wrong passphrase is an error, not a reason for a new RA key), and the
 * thread is joined before anything is forked. */
static int
keeper_load(const struct ca_signer_config *c, struct ca_signer_state *st,
	    struct ca_ctl_ready *ready, struct mica_err *err)
{
	unsigned char *blob = NULL, mac[32];
	char **v = NULL;
	size_t blob_len = 0, n = 0;
	struct ra_unseal ra = { .c = c, .key = NULL };
	pthread_t ra_thread;
	int rc = -1, ra_up = 0;

	if (c->key_idx >= CA_SIGNER_KEYS) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
			     "the signer was given a bad key index");
		goto out;
	}
	ra_up = pthread_create(&ra_thread, NULL, ra_unseal_main, &ra) == 0;
	st->current = c->key_idx;
	st->ocsp_by_ca = c->ocsp_by_ca != 0;
	st->ocsp_ca_from = c->ocsp_ca_from;
	if (load_key(st, c->key_idx, c->sealed, c->pass, c->pass_len,
		     c->ca_cert, c->ca_cert_len, err) != 0)
		goto out;
	for (size_t i = 0; i < c->nretired; i++)
		if (load_key(st, c->retired[i].idx, c->retired[i].sealed,
			     c->pass, c->pass_len, c->retired[i].cert,
			     c->retired[i].cert_len, err) != 0)
			goto out;

	/* The allowed domains count only with the current key's MAC. */
	if (ca_signer_domains_blob(c->domains, c->ndomains, &blob, &blob_len,
				   err) != 0 ||
	    ca_key_mac(st->keys[st->current].key, CA_SIGNER_DOMAINS_LABEL,
		       blob, blob_len, mac, err) != 0)
		goto out;
	if (c->domains_mac != NULL && !ca_ct_equal(mac, c->domains_mac, 32)) {
		mica_err_set(err, MICA_E_FORBIDDEN, "domains_not_sealed",
			     "the allowed domains in the store were changed "
			     "without the CA key; review them with 'mica "
			     "domain list' and confirm with 'mica domain "
			     "seal'");
		goto out;
	}
	if (c->domains_mac == NULL) {
		ready->sealed = 1;
		memcpy(ready->mac, mac, 32);
	}
	if (ca_signer_domains_parse(blob, blob_len, &v, &n) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_domains",
			     "the domain list could not be read back");
		goto out;
	}
	use_domains(st, v, n);
	memcpy(st->domains_mac, mac, 32);
	if ((st->ca_cert = malloc(c->ca_cert_len)) == NULL ||
	    (c->issuer_cert != NULL &&
	     (st->issuer_cert = malloc(c->issuer_cert_len)) == NULL)) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
		goto out;
	}
	memcpy(st->ca_cert, c->ca_cert, c->ca_cert_len);
	st->ca_cert_len = c->ca_cert_len;
	if (c->issuer_cert != NULL) {
		memcpy(st->issuer_cert, c->issuer_cert, c->issuer_cert_len);
		st->issuer_cert_len = c->issuer_cert_len;
	}
	if (ocsp_key_make(st, c, err) != 0)
		goto out;
	if (ra_up) {
		pthread_join(ra_thread, NULL);
		ra_up = 0;
	} else {
		ra_unseal_main(&ra);   /* no thread to be had: here, then */
	}
	/* scep_key_make owns the unsealed key from here, used or freed. */
	rc = scep_key_make(st, c, ra.key, &ra.err, ready, err);
	ra.key = NULL;
out:
	if (ra_up)
		pthread_join(ra_thread, NULL);
	ca_key_free(ra.key);
	mbedtls_platform_zeroize(mac, sizeof(mac));
	free(blob);
	return rc;
}

/* Handle one control message from the front end. */
static void
keeper_ctl(struct ca_signer_state *st, int ctl, const unsigned char *m,
	   size_t len)
{
	struct ca_ctl_ack ack;
	uint16_t rtype = 0;
	unsigned char *reply = NULL;
	size_t reply_len = 0;
	uint32_t type;

	if (len < 4)
		return;
	memcpy(&type, m, 4);
	memset(&ack, 0, sizeof(ack));
	ack.type = CA_CTL_ACK;
	if (type == CA_CTL_SET_DOMAINS &&
	    ca_signer_handle(st, CA_SMSG_SET_DOMAINS, 0, m + 4, len - 4,
			     &rtype, &reply, &reply_len) == 0)
		ack.ok = rtype == CA_SMSG_OK;
	free(reply);
	ctl_send(ctl, &ack, sizeof(ack), -1);
}

_Noreturn void
ca_signer_keeper(int ctl, const struct ca_signer_config *c, pid_t parent,
		 int nsigners)
{
	struct ca_signer_state st;
	struct ca_ctl_ready ready;
	struct worker w[CA_SIGNER_SLOTS];   /* the signers, then mica-signer-crl */
	struct mica_err err;
	struct rlimit nocore = { 0, 0 };
	sigset_t chld;
	const uint32_t bg = CA_CTL_BACKGROUND;
	unsigned char *msg = NULL;
	int sfd = -1, i, status = 3, nw = nsigners;
	int keep[2];

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(3);
	prctl(PR_SET_NAME, "mica-keeper", 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &nocore);
	/* The terminal's Ctrl-C and hang-up are for the front end, which
	 * stops gracefully and still needs signatures while it drains; so
	 * is a SIGTERM to the whole process group or control group
	 * (systemd's KillMode=control-group, docker stop, kill -- -PGID):
	 * the keeper and its signers (which inherit this) go when the
	 * daemon closes their channel, or with it (PR_SET_PDEATHSIG). */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	keep[0] = ctl;
	keep[1] = mica_log_fd();
	close_others(keep, 2);

	memset(&st, 0, sizeof(st));
	memset(&ready, 0, sizeof(ready));
	memset(w, 0, sizeof(w));
	memset(&err, 0, sizeof(err));
	st.log_fd = keep[1];
	ready.type = CA_CTL_READY;
	st.crl_floor = mmap(NULL, sizeof(*st.crl_floor), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st.crl_floor == MAP_FAILED) {
		st.crl_floor = NULL;
		mica_err_set(&err, MICA_E_INTERNAL, "signer_failed",
			     "the signer could not map its shared state");
	} else {
		atomic_store(st.crl_floor, c->crl_number);
	}
	if (st.crl_floor != NULL && keeper_load(c, &st, &ready, &err) == 0)
		ready.ok = 1;
	/* The passphrase has done its work: wipe this process's copy. */
	mbedtls_platform_zeroize(c->pass, c->pass_len);
	ready.kind = (uint32_t)err.kind;
	snprintf(ready.code, sizeof(ready.code), "%.*s",
		 (int)sizeof(err.code) - 1, err.code);
	snprintf(ready.msg, sizeof(ready.msg), "%.*s",
		 (int)sizeof(err.msg) - 1, err.msg);
	if (ctl_send(ctl, &ready, sizeof(ready), -1) != 0 || !ready.ok)
		_exit(3);
	mbedtls_platform_zeroize(&ready, sizeof(ready));

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	/* Only SIGCHLD blocked (it is read from the signalfd); the front
	 * end's mask, which blocks what its main loop waits for, is not
	 * ours. */
	if (sigprocmask(SIG_SETMASK, &chld, NULL) != 0 ||
	    (sfd = signalfd(-1, &chld, SFD_CLOEXEC)) < 0)
		_exit(3);
	if ((msg = malloc(CA_CTL_MSG_MAX)) == NULL)
		_exit(3);
	/* The log's timestamps (strftime) load the time zone on first use:
	 * load it here, so that a confined signer never opens a file. */
	tzset();
	for (i = 0; i < nsigners; i++)
		if (spawn(&st, ctl, sfd, &w[i]) != 0)
			_exit(3);

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = ctl, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		int64_t wait_ms = -1, now = mica_mono_ms();

		/* Signers waiting for a restart after dying young. */
		for (i = 0; i < nw; i++)
			if (w[i].pid == 0) {
				int64_t at = w[i].started + 1000;

				if (w[i].fast_exits < 3 || at <= now) {
					if (spawn(&st, ctl, sfd, &w[i]) != 0 &&
					    !spawn_failed_bg(&w[i]))
						goto done;
				} else if (wait_ms < 0 || at - now < wait_ms) {
					wait_ms = at - now;
				}
			}
		if (poll(pfd, 2, (int)wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			goto done;
		}
		if (pfd[0].revents) {
			ssize_t n = recv(ctl, msg, CA_CTL_MSG_MAX, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {   /* the front end is gone */
				status = 0;
				goto done;
			}
			if (n == 4 && memcmp(msg, &bg, 4) == 0) {
				/* The CRL signer, once; restarted above. */
				if (nw == nsigners && nw < CA_SIGNER_SLOTS) {
					w[nw].background = 1;
					nw++;
					if (spawn(&st, ctl, sfd, &w[nw - 1]) == 0)
						mica_log(MICA_LOG_INFO, "signing "
							 "service: CRL signer "
							 "%d started for large "
							 "CRLs, %d nice steps "
							 "lower",
							 (int)w[nw - 1].pid,
							 MICA_THREAD_BACKGROUND_NICE);
					else
						spawn_failed_bg(&w[nw - 1]);
				}
				continue;
			}
			keeper_ctl(&st, ctl, msg, (size_t)n);
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			pid_t pid;
			int ws;

			if (read(sfd, &si, sizeof(si)) < 0 && errno != EAGAIN)
				goto done;
			while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
				for (i = 0; i < nw; i++) {
					if (w[i].pid != pid)
						continue;
					if (WIFSIGNALED(ws))
						mica_log(MICA_LOG_ERR, "signer[%d] "
							 "killed by signal %d; "
							 "starting another",
							 (int)pid, WTERMSIG(ws));
					else
						mica_log(MICA_LOG_WARN, "signer[%d] "
							 "exited (%d); starting "
							 "another", (int)pid,
							 WEXITSTATUS(ws));
					w[i].fast_exits = mica_mono_ms() -
						w[i].started < 1000 ?
						w[i].fast_exits + 1 : 0;
					w[i].pid = 0;
				}
			}
		}
	}
done:
	for (i = 0; i < nw; i++)
		if (w[i].pid > 0)
			kill(w[i].pid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	for (i = 0; i < CA_SIGNER_KEYS; i++)
		ca_key_free(st.keys[i].key);
	ca_key_free(st.ocsp_key);
	ca_key_free(st.scep_key);
	free(st.ca_cert);
	free(st.issuer_cert);
	_exit(status);
}

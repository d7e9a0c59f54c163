/*
 * ca/acme_int.h - private to the ACME files of ca/ (and their unit tests
 * and fuzzers): the service's layout and what the files share.
 *
 *   acme.c           the service: options, nonces, the verified request,
 *                    ids, the principal an account acts as
 *   acme_account.c   accounts: new, update, deactivate, key change, EAB
 *                    binding; the admin's list and deactivation
 *   acme_eab.c       External Account Binding credentials (admin)
 *   acme_order.c     orders, authorizations, challenges, finalize and the
 *                    certificate download
 *   acme_revoke.c    revokeCert and renewalInfo (RFC 9773)
 *   acme_validate.c  the validation workers and what each challenge checks
 *   acme_net.c       resolving (hosts file, then DNS), refusing addresses,
 *                    connecting and reading under a deadline
 *   acme_http01.c    the http-01 fetch (a small HTTP/1.1 client)
 *   acme_tls.c       the TLS client (GnuTLS) of tls-alpn-01 and of https
 *                    redirects
 *   dns.c            the DNS TXT client of dns-01 (ca/dns.h)
 */
#ifndef MICA_CA_ACME_INT_H
#define MICA_CA_ACME_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "ca/acme.h"
#include "ca/ca_int.h"
#include "ca/jws.h"
#include "db/db.h"

/* ------------------------------------------------------------ nonces -- */

/* RFC 8555 7.2: a nonce is accepted once. A nonce is a counter and a MAC
 * of it under a key drawn at start: the MAC says this process made it,
 * and one bit per counter in a sliding window says whether it was used.
 * Older than the window, or from before a restart: badNonce, which every
 * client retries with a fresh one. Memory: CA_ACME_NONCE_WINDOW bits. */
#define CA_ACME_NONCE_WINDOW (1u << 16)

struct ca_acme_nonces {
	pthread_mutex_t lock;
	uint64_t next;                   /* the counter of the next nonce */
	unsigned char key[32];
	uint8_t used[CA_ACME_NONCE_WINDOW / 8];
};

/* Initialise N with a fresh key; -1 if no randomness. */
int ca_acme_nonces_init(struct ca_acme_nonces *n, struct mica_err *err);
void ca_acme_nonces_destroy(struct ca_acme_nonces *n);
void ca_acme_nonce_make(struct ca_acme_nonces *n, char out[CA_ACME_NONCE_MAX]);
/* Use NONCE up: 0 if this process made it, it is in the window and was not
 * used before; else MICA_E_BADREQ "bad_nonce". */
int ca_acme_nonce_use(struct ca_acme_nonces *n, const char *nonce,
		      struct mica_err *err);

/* ------------------------------------------------------------- hosts -- */

/* A hosts(5) table, read once at start (--acme-hosts). */
struct ca_acme_host {
	char name[256];                  /* lowercase, no trailing dot */
	struct sockaddr_storage addr;    /* port 0 */
	socklen_t addr_len;
};
struct ca_acme_hosts {
	struct ca_acme_host *v;
	size_t n;
};
/* Parse hosts(5) text: "ADDRESS NAME [ALIAS...]" lines, '#' comments.
 * Lines with an unparsable address or name are skipped (as the C library
 * does); at most 10000 names. */
int ca_acme_hosts_parse(const char *text, size_t len,
			struct ca_acme_hosts *out, struct mica_err *err);
int ca_acme_hosts_load(const char *path, struct ca_acme_hosts *out,
		       struct mica_err *err);
void ca_acme_hosts_free(struct ca_acme_hosts *h);

/* ----------------------------------------------------------- service -- */

struct ca_acme {
	struct ca_acme_opts o;           /* strings below are our copies */
	char *dns;
	struct ca_acme_hosts hosts;
	struct sockaddr_storage dns_addr;
	socklen_t dns_addr_len;
	struct ca_acme_nonces nonces;
	/* validation (acme_validate.c) */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	pthread_cond_t stopcond;         /* broadcast at stop only (back-off) */
	char (*queue)[CA_ID_MAX];        /* ring of authorization ids */
	size_t qhead, qlen, qcap;
	atomic_int stop;
	pthread_t *threads;
	struct ca *parent;               /* the workers clone it */
	size_t nthreads;
	int qinit;
};

/* Most validations waiting for a worker; beyond, a challenge is refused
 * with rateLimited (and Retry-After). */
#define CA_ACME_QUEUE_MAX 512

/* Start and stop the workers (acme_validate.c). */
int ca_acme_workers_start(struct ca_acme *a, struct ca *parent,
			  struct mica_err *err);
void ca_acme_workers_stop(struct ca_acme *a);
/* Queue the validation of authorization ID; MICA_E_RATE "rate_limited"
 * when the queue is full. With ID NULL, only say whether there is room
 * (a queued id may go beyond CA_ACME_QUEUE_MAX by the requests racing
 * past that check, up to twice it). */
int ca_acme_queue(struct ca_acme *a, const char *id, struct mica_err *err);
/* Validate authorization ID now, on this thread with handle CA (what a
 * worker does with a queued id; the unit tests call it directly). */
void ca_acme_validate(struct ca_acme *a, struct ca *ca, const char *id);

/* ------------------------------------------------ the verified request -- */

struct ca_acme_auth {
	struct ca_jws jws;
	int has_acct;
	struct db_acme_account acct;     /* the signer's account (kid) */
	/* With CA_ACME_ANY_KEY: its key was revoked for keyCompromise
	 * since, and KEY_ERR is the refusal of anything but deactivating. */
	int key_compromised;
	struct mica_err key_err;
};

/*
 * Verify request R: parse the JWS with FLAGS (ca/jws.h; a nonce is always
 * required), check that its "url" is R->url (unauthorized otherwise),
 * find the key - the account named by "kid" (account_does_not_exist), or
 * the "jwk" - and the signature, then use the nonce up (bad_nonce), and
 * for an account check it is valid (unauthorized) and that its key was
 * not revoked for keyCompromise since (ca_acme_key_usable) - unless
 * FLAGS has CA_ACME_ANY_KEY, for the one request such a key may still
 * make, deactivating its account: then OUT->key_compromised says so, and
 * OUT->key_err is the refusal of the rest. *OUT is freed with
 * ca_acme_auth_free, also after a failure.
 */
#define CA_ACME_ANY_KEY 0x1000
int ca_acme_auth(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
		 int flags, struct ca_acme_auth *out, struct mica_err *err);
void ca_acme_auth_free(struct ca_acme_auth *x);
/* Whether an account's key KEY may still act: not revoked for
 * keyCompromise since (MICA_E_UNAUTH "account_key_compromised": whoever
 * has the key may be anyone by now). */
int ca_acme_key_usable(struct ca *ca, const struct ca_jwk *key,
		       struct mica_err *err);
/* The path (and query) that REF, a reference without a scheme or an
 * authority and without its fragment ("moved/x", "../x", "/x", "?q",
 * ""), names when resolved against the path BASE ("/a/b?q") as RFC 3986
 * 5.2 resolves it, "." and ".." segments removed: into OUT (SIZE), 0; -1
 * when it does not fit. What an http-01 redirect's Location means. */
int ca_acme_ref_path(const char *base, const char *ref, char *out,
		     size_t size);

/* The account id in a kid or account URL: R->acct_prefix followed by an
 * id; -1 if URL is not one. */
int ca_acme_acct_id(const struct ca_acme_req *r, const char *url,
		    char id[CA_ID_MAX]);

/*
 * Who account ACCT acts as when it orders: the enrollment token it is
 * bound to (valid, not used up: its scope then limits the names and the
 * profile) as an ENROLL principal, or with --acme-open and no binding an
 * ENROLL principal limited to the server profile and the allowed domains.
 * Actor "acme:<account id>". MICA_E_FORBIDDEN "unauthorized" when the
 * account may not order. Free with ca_principal_free.
 */
int ca_acme_principal(struct ca *ca, const struct ca_acme *a,
		      const struct db_acme_account *acct, const char *client,
		      struct ca_principal *p, struct mica_err *err);
/* The profile ACCT's certificates get: its token's, else "server". */
const char *ca_acme_profile(const struct ca_principal *p);

/* A fresh object id: 128 random bits in hex. */
int ca_acme_new_id(char id[CA_ID_MAX], struct mica_err *err);

/* Move the store's account IN into OUT (IN is left freeable). */
void ca_acme_account_take(struct ca_acme_account *out,
			  struct db_acme_account *in);

/* RFC 9773 4.1: the certificate a certID names, if this CA issued it:
 * its serial (canonical hex) into SERIAL. MICA_E_BADREQ "malformed" for a
 * certID that does not parse, MICA_E_NOTFOUND if another issuer's or
 * unknown. (acme_revoke.c) */
int ca_acme_certid_parse(struct ca *ca, const char *cert_id,
			 char serial[CA_SERIAL_MAX], struct mica_err *err);

/* The key authorization (RFC 8555 8.1): TOKEN "." base64url(thumbprint). */
int ca_acme_key_authz(const char *token, const unsigned char thumbprint[32],
		      char *out, size_t size);

/* ------------------------------------------- validation, one challenge -- */

/* What one validation may use, and until when. */
struct ca_acme_vctx {
	const struct ca_acme *a;
	struct timespec deadline;        /* CLOCK_MONOTONIC */
	const atomic_int *stop;
};

/* The outcome of a failed check: an ACME error type (snake_case) and a
 * one-line detail for the client, naming what was found. */
struct ca_acme_verr {
	char code[32];
	char detail[256];
};
int ca_acme_vfail(struct ca_acme_verr *e, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* acme_net.c. Addresses of NAME (a DNS name, or an IP literal when IP):
 * --acme-hosts first, then the system resolver; loopback, link-local,
 * unspecified and multicast addresses are dropped unless the service
 * allows loopback. At most MAX. 0, or -1 with "dns" (no address) or
 * "connection" (only refused addresses). */
int ca_acme_resolve(const struct ca_acme_vctx *v, const char *name, int ip,
		    struct sockaddr_storage *out, size_t max, size_t *n,
		    struct ca_acme_verr *e);
/* Is SA an address validation may connect to? 1 or 0. */
int ca_acme_addr_allowed(const struct ca_acme *a, const struct sockaddr *sa);
/* Connect to NAME:PORT (each allowed address in turn) before the
 * deadline; *FD a connected, non-blocking socket. */
int ca_acme_connect(const struct ca_acme_vctx *v, const char *name, int ip,
		    int port, int *fd, struct ca_acme_verr *e);
/* Wait until FD is ready for EVENTS (poll(2)) or the deadline: 0 ready,
 * -1 timed out or stopped. */
int ca_acme_wait(const struct ca_acme_vctx *v, int fd, short events);
/* Milliseconds left before the deadline (0 when past). */
int ca_acme_ms_left(const struct ca_acme_vctx *v);

/* acme_tls.c: a TLS client on a connected socket, no certificate
 * verification (RFC 8555 8.3, RFC 8737 3: the certificate is what is
 * checked, not its chain). */
struct ca_acme_tls;
/* Handshake with SNI SNI offering ALPN protocol ALPN ("acme-tls/1" or
 * "http/1.1"); for acme-tls/1 the server must select it. */
int ca_acme_tls_open(const struct ca_acme_vctx *v, int fd, const char *sni,
		     const char *alpn, struct ca_acme_tls **out,
		     struct ca_acme_verr *e);
/* The peer's certificate, DER (valid until ca_acme_tls_close). */
int ca_acme_tls_peer(struct ca_acme_tls *t, const unsigned char **der,
		     size_t *len, struct ca_acme_verr *e);
/* Write all of BUF; read up to SIZE octets (0 at end of stream). -1 on
 * error or past the deadline. */
int ca_acme_tls_write(struct ca_acme_tls *t, const void *buf, size_t len);
ssize_t ca_acme_tls_read(struct ca_acme_tls *t, void *buf, size_t size);
void ca_acme_tls_close(struct ca_acme_tls *t);

/* acme_http01.c: RFC 8555 8.3 for NAME, expecting KEY_AUTHZ. */
int ca_acme_http01(const struct ca_acme_vctx *v, const char *name, int ip,
		   const char *token, const char *key_authz,
		   struct ca_acme_verr *e);
/* Parse an HTTP/1.1 response head (status line and headers) of LEN
 * octets ending with the blank line: the status, Location (into LOC,
 * "" if none), Content-Length (-1 if none) and whether the body is
 * chunked. -1 for anything malformed. (Exported for the fuzzer.) */
int ca_acme_http_head(const char *head, size_t len, int *status, char *loc,
		      size_t locsize, long *clen, int *chunked);
/* Decode a chunked body IN[0..LEN) into OUT (at most SIZE octets): -1 if
 * malformed, incomplete or too large. */
int ca_acme_http_unchunk(const unsigned char *in, size_t len,
			 unsigned char *out, size_t size, size_t *outlen);

/* acme_validate.c: RFC 8737 for NAME, expecting KEY_AUTHZ. */
int ca_acme_tlsalpn01(const struct ca_acme_vctx *v, const char *name, int ip,
		      const char *key_authz, struct ca_acme_verr *e);
/* The check of the certificate a tls-alpn-01 responder presents: exactly
 * one SAN, NAME (a dNSName, or an iPAddress for IP), and a critical
 * id-pe-acmeIdentifier holding SHA-256 of KEY_AUTHZ. (Exported for the
 * fuzzer.) */
int ca_acme_tlsalpn_cert(const unsigned char *der, size_t len,
			 const char *name, int ip, const char *key_authz,
			 struct ca_acme_verr *e);
/* RFC 8555 8.4 for NAME, expecting KEY_AUTHZ. */
int ca_acme_dns01(const struct ca_acme_vctx *v, const char *name,
		  const char *key_authz, struct ca_acme_verr *e);

#endif

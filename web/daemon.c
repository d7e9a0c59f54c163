/*
 * web/daemon.c - `mica serve` from start to stop (web/web.h): the options,
 * the CA (created on first start), the listeners, signals, the
 * once-a-minute maintenance of the CRL and the TLS certificate, and
 * giving freed memory back once the daemon has gone quiet.
 *
 * Threads: libmicrohttpd runs a pool of worker threads per listener
 * (web/listener.c); each worker lazily clones its own engine handle
 * (web/server.c). The main thread only waits for signals, maintains
 * the CRL and the TLS certificate, and trims the heap.
 */
#include "web/web.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ca/acme.h"
#include "ca/ca.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/fsname.h"
#include "util/log.h"
#include "util/shown.h"
#include "web/addr.h"
#include "web/crl_cache.h"
#include "web/ocsp.h"
#include "web/listener.h"
#include "web/proxy.h"
#include "web/server.h"
#include "web/tls.h"

#define WEB_THREADS_MAX    256
#define WEB_THREADS_PER_CORE 4           /* default workers per listener */
#define WEB_TICK_SECONDS   60            /* CRL and TLS maintenance */
#define WEB_QUIET_SECONDS  1             /* the main thread's wake-up: a
					  * tick with no request begun is
					  * quiet (trim_when_quiet) */

/* DIR/FIRST_START_FILE is there from before the first start creates the
 * CA until that start has shown its admin token: a start that finds it
 * beside a CA finishes an interrupted first start (first_admin_token). */
#define FIRST_START_FILE    CA_FIRST_START_FILE
#define FIRST_TOKEN_COMMENT "created by mica serve at first start"

/* The running daemon: what requests see (srv) and what only the main
 * thread uses. */
struct web_daemon {
	const struct web_opts *o;
	struct web_server srv;
	unsigned threads;
	struct web_addr http_addr, https_addr;
	char http_url[160];
	struct web_listener *http;
	struct web_tls tls;              /* the HTTPS listener, tls.listener */
	unsigned long requests_seen;     /* srv.requests at the last tick */
	int trim_due;                    /* work done since the last trim */
	int64_t expiry_said;             /* monotonic ms of the last warning
					  * of the CA's end, 0: none yet */
	int revoked_said;                /* the CA revoked at the last look */
	int64_t revoked_said_ms;         /* monotonic ms it was last said */
};

/* S as a terminal may be given it (util/shown.h: a control, a
 * bidirectional or invisible character as \xNN) into BUF: the data
 * directory and the CA's name are the admin's own arguments, but what a
 * name may hold is acted on by a terminal all the same. */
static const char *
shown(const char *s, char *buf, size_t size)
{
	mica_shown(s, strlen(s), buf, size);
	return buf;
}

/* jansson's memory is wiped when freed: a reply may hold a new token. */
static void *
json_zmalloc(size_t n)
{
	return malloc(n);
}

static void
json_zfree(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static int
init_ca(struct web_daemon *dm, struct ca_init_result *res, struct mica_err *err)
{
	const struct web_opts *o = dm->o;
	struct ca_init_opts io;
	char host[256], name[65], url[220], warn[700], dir[4 * PATH_MAX + 1];
	char nm[4 * PATH_MAX + 1];

	web_host_name(host, sizeof(host));
	/* RFC 5280 ub-common-name: 64 characters. */
	snprintf(name, sizeof(name), "mica Root CA (%.48s)", host);
	if (o->public_url != NULL)
		snprintf(url, sizeof(url), "%s", o->public_url);
	else if (dm->http_addr.on) {
		if (web_addr_url(&dm->http_addr, "http", url, sizeof(url)) != 0)
			return mica_err_set(err, MICA_E_USAGE, "public_url_required",
					    "the host name is too long for a URL: give --public-url");
	} else
		return mica_err_set(err, MICA_E_USAGE, "public_url_required",
				    "--public-url is required with --http none: certificates "
				    "name it for the CRL and the CA certificate");
	memset(&io, 0, sizeof(io));
	io.datadir = o->datadir;
	io.name = name;
	io.domains = o->domains;
	io.ndomains = o->ndomains;
	io.public_url = url;
	io.first_start = 1;
	io.passphrase_file = o->passphrase_file;
	if (ca_init(&io, res, err) != 0)
		return -1;
	printf("created a new CA in %s: \"%s\"\n",
	       shown(o->datadir, dir, sizeof(dir)), shown(name, nm, sizeof(nm)));
	printf("certificates point to %s/crl and %s/ca.crt\n", url, url);
	if (ca_public_url_warning(url, warn, sizeof(warn))) {
		printf("warning: %s\n", warn);
		mica_log(MICA_LOG_WARN, "%s", warn);
	}
	if (res->passphrase_path[0] != '\0')
		printf("CA key passphrase written to %s: keep a copy offline, "
		       "the CA key is useless without it\n",
		       shown(res->passphrase_path, nm, sizeof(nm)));
	else if (res->passphrase_kept)
		printf("CA key sealed under the passphrase already in %s/%s: "
		       "keep a copy offline, the CA key is useless without it\n",
		       dir, CA_PASS_FILE);
	if (o->ndomains == 0)
		printf("no --domain given: issuance needs allowed domains "
		       "(mica domain add ...), except for admin-named certificates\n");
	fflush(stdout);
	mica_log(MICA_LOG_INFO, "created a new CA in %s", o->datadir);
	return 0;
}

/*
 * init_ca in a process of its own, which then ends. Making the CA
 * generates its key and signs the root and its first CRL with it, and a
 * process that held the key keeps traces of it that nothing wipes (the
 * scalar in stack frames mbedTLS's signing used): this process goes on to
 * parse everything the network sends, so it never holds the key, at its
 * first start either (README, "The CA key in a process of its own"). The
 * child dies with this process (a daemon killed in its first start is
 * killed whole); its error comes back through a pipe.
 */
static int
init_ca_apart(struct web_daemon *dm, struct mica_err *err)
{
	struct mica_err e;
	size_t got = 0;
	pid_t pid, parent;
	int fds[2], st = 0;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "cannot make a pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	parent = getpid();
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "cannot start a process: %s",
				    strerror(errno));
	}
	if (pid == 0) {
		struct ca_init_result res;
		int rc;

		close(fds[0]);
		/* Not "getppid() == 1": the daemon may be PID 1 itself (a
		 * container's), and an orphan may go to a subreaper. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(1);
		memset(&res, 0, sizeof(res));
		mica_err_clear(&e);
		rc = init_ca(dm, &res, &e);
		ca_init_result_free(&res);
		fflush(stdout);
		if (rc != 0 && write(fds[1], &e, sizeof(e)) != (ssize_t)sizeof(e))
			rc = 2;
		_exit(rc == 0 ? 0 : 1);
	}
	close(fds[1]);
	mica_err_clear(&e);
	while (got < sizeof(e)) {
		ssize_t n = read(fds[0], (char *)&e + got, sizeof(e) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (got == sizeof(e)) {
		e.code[sizeof(e.code) - 1] = '\0';
		e.msg[sizeof(e.msg) - 1] = '\0';
		if (err != NULL)
			*err = e;
		return -1;
	}
	return mica_err_set(err, MICA_E_INTERNAL, "internal",
			    "creating the CA failed: its process %s %d",
			    WIFSIGNALED(st) ? "was killed by signal" :
			    "exited with", WIFSIGNALED(st) ? WTERMSIG(st) :
			    WEXITSTATUS(st));
}

/* The first admin token, printed once. RESUMED: the first start that
 * created the CA was interrupted before it had said it showed one (its
 * marker, FIRST_START_FILE, is still there): one it made then may or may
 * not have been shown, so no second is made beside it - the log says how
 * to replace it; with none made, this is the first, said to be. */
static int
first_admin_token(struct web_server *srv, int resumed, struct mica_err *err)
{
	struct ca_token_spec spec;
	struct ca_principal p;
	struct ca_token *tk = NULL;
	struct ca_cursor at, next;
	char token[CA_TOKEN_MAX];
	size_t n = 0;
	int rc;

	web_daemon_principal(&p);
	if (resumed) {
		/* Page by page (a store that has just been made holds a few
		 * tokens, but a listing is never read whole). */
		memset(&at, 0, sizeof(at));
		do {
			rc = ca_token_list(srv->parent, &p, CA_TOKENS_ALL, &at,
					   1000, &tk, &n, &next, err);
			for (size_t i = 0; rc == 0 && i < n; i++)
				if (tk[i].kind == CA_TOKEN_ADMIN &&
				    tk[i].comment != NULL &&
				    strcmp(tk[i].comment, FIRST_TOKEN_COMMENT) == 0) {
					mica_log(MICA_LOG_WARN, "the first start of "
						 "this CA was interrupted after it "
						 "made its admin token %s, which it "
						 "may not have shown: no other is "
						 "made; if you do not have it, 'mica "
						 "token revoke %s' and 'mica token "
						 "create --admin' replace it",
						 tk[i].id, tk[i].id);
					rc = 1;
				}
			ca_token_array_free(tk, n);
			tk = NULL;
			n = 0;
			at = next;
		} while (rc == 0 && next.id != 0);
		if (rc != 0) {
			ca_principal_free(&p);
			return rc < 0 ? -1 : 0;
		}
	}
	memset(&spec, 0, sizeof(spec));
	spec.kind = CA_TOKEN_ADMIN;
	spec.uses = -1;
	spec.comment = FIRST_TOKEN_COMMENT;
	rc = ca_token_create(srv->parent, &p, &spec, token, NULL, err);
	ca_principal_free(&p);
	if (rc != 0)
		return -1;
	/* Tests kill the daemon here: the token made, not shown
	 * (util/fault.h). */
	MICA_TEST_GATE("MICA_TEST_FIRST_TOKEN_GATE");
	if (resumed)
		printf("the first start of this CA was interrupted before it "
		       "made an admin token: this is its first\n");
	printf("admin token: %s\n", token);
	printf("this admin token will not be shown again: store it now\n");
	fflush(stdout);
	explicit_bzero(token, sizeof(token));
	return 0;
}

/* Make the marker of a first start, PATH (durably: a start killed after
 * it created the CA must find it). 1 made now, 0 there already (a first
 * start killed before it created the CA), -1 with ERR. */
static int
first_start_mark(const char *path, struct mica_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		      O_NOFOLLOW, 0600);

	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0 || close(fd) != 0 || mica_sync_dir_of(path) != 0)
		return mica_err_set(err, MICA_E_UNAVAIL, "datadir",
				    "cannot create %s: %s", path,
				    strerror(errno));
	return 1;
}

/* FIRST: the CA was created now (its admin token printed before). */
static void
banner(struct web_daemon *dm, int first)
{
	struct ca *ca = dm->srv.parent;
	char name[4 * 256 + 1];

	shown(ca_name(ca), name, sizeof(name));
	if (ca_chain_count(ca) > 1)
		printf("issuing CA: %s, under a root\n", name);
	else
		printf("root CA: %s\n", name);
	printf("root SHA-256 fingerprint: %s\n", ca_root_fingerprint(ca));
	if (dm->http != NULL)
		printf("http: %s (/ /ca.crt /ca.pem /root.crt /root.pem /ca-chain.pem /ca.p7b /crl /crl.pem%s /ocsp /scep /healthz%s)\n",
		       dm->http_url, ca_chain_count(ca) > 1 ? " /root.crl" : "",
		       dm->srv.api_over_http ? " /request /admin /api/v1" : "");
	if (dm->tls.listener != NULL)
		printf("https: %s (everything, API under /api/v1; certificate for %s)\n",
		       dm->srv.https_url, dm->tls.names);
	if (dm->tls.listener != NULL)
		printf("acme: %s/acme/directory (%s)\n", dm->srv.https_url,
		       ca_acme_eab_required(dm->srv.acme) ?
		       "external account binding required: mica token create --enroll --acme" :
		       "open: any client proving a name within the allowed domains");
	/* These lines are for whoever started the daemon. With its standard
	 * output gone (closed, a pipe no one reads any more) it serves all
	 * the same: the log says what was not shown, and the error is
	 * cleared, so that main's check of standard output (for what a
	 * command prints as its result) does not make a clean stop exit 1. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		mica_log(MICA_LOG_WARN, "standard output could not be "
			 "written: the start-up lines%s may not have been "
			 "shown", first ? " (and the first admin token)" : "");
		clearerr(stdout);
	}
	mica_log(MICA_LOG_INFO, "serving%s%s%s%s with %u thread%s per listener",
		 dm->http != NULL ? " " : "", dm->http != NULL ? dm->http_url : "",
		 dm->tls.listener != NULL ? " " : "",
		 dm->tls.listener != NULL ? dm->srv.https_url : "",
		 dm->threads, dm->threads == 1 ? "" : "s");
}

/* Parse and check the options into DM. */
static int
daemon_setup(struct web_daemon *dm, const struct web_opts *o, struct mica_err *err)
{
	long cores;

	if (web_addr_parse("--http", o->http_addr ? o->http_addr : WEB_DEFAULT_HTTP,
			   &dm->http_addr, err) != 0 ||
	    web_addr_parse("--https", o->https_addr ? o->https_addr : WEB_DEFAULT_HTTPS,
			   &dm->https_addr, err) != 0)
		return -1;
	if (!dm->http_addr.on && !dm->https_addr.on)
		return mica_err_set(err, MICA_E_USAGE, "usage",
				    "--http and --https cannot both be none");
	/* One socket cannot be both: said as the mistake it is, not as an
	 * address in use (exit 8) once the second bind fails. */
	if (dm->http_addr.on && dm->https_addr.on &&
	    dm->http_addr.port != 0 &&
	    dm->http_addr.port == dm->https_addr.port &&
	    dm->http_addr.ss.ss_family == dm->https_addr.ss.ss_family &&
	    (dm->http_addr.wildcard || dm->https_addr.wildcard ||
	     strcmp(dm->http_addr.host, dm->https_addr.host) == 0))
		return mica_err_set(err, MICA_E_USAGE, "usage",
				    "--http and --https cannot listen on the "
				    "same port (%d) of one address",
				    dm->http_addr.port);
	if (web_addr_url(&dm->http_addr, "http", dm->http_url, sizeof(dm->http_url)) != 0 ||
	    (dm->https_addr.on &&
	     web_addr_url(&dm->https_addr, "https", dm->srv.https_url,
			  sizeof(dm->srv.https_url)) != 0))
		return mica_err_set(err, MICA_E_USAGE, "usage", "the host name is too long");
	if (o->threads < 0 || o->threads > WEB_THREADS_MAX)
		return mica_err_set(err, MICA_E_USAGE, "usage",
				    "--threads must be from 1 to %d", WEB_THREADS_MAX);
	dm->srv.api_over_http = o->api_over_http;
	dm->srv.hsts = web_hsts_applies(&dm->http_addr, &dm->https_addr);
	if (o->ntrusted_proxies > WEB_PROXIES_MAX)
		return mica_err_set(err, MICA_E_USAGE, "usage",
				    "at most %d --trusted-proxy options", WEB_PROXIES_MAX);
	for (size_t i = 0; i < o->ntrusted_proxies; i++)
		if (web_prefix_parse(o->trusted_proxies[i], &dm->srv.proxies.p[i], err) != 0)
			return -1;
	dm->srv.proxies.n = o->ntrusted_proxies;
	/* A worker blocks while its certificate's commit reaches the disk;
	 * WEB_THREADS_PER_CORE workers per core keep the cores signing
	 * meanwhile. */
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		cores = 1;
	if (cores > WEB_THREADS_MAX / WEB_THREADS_PER_CORE)
		cores = WEB_THREADS_MAX / WEB_THREADS_PER_CORE;
	dm->threads = o->threads > 0 ? (unsigned)o->threads :
		      (unsigned)(cores * WEB_THREADS_PER_CORE);
#ifdef M_ARENA_MAX
	/* glibc gives each thread that mallocs its own arena (up to eight
	 * per core), and every arena keeps what it freed: with two listeners'
	 * workers that is much of the daemon's memory under load. Not fewer
	 * than WEB_THREADS_PER_CORE per core, though: mbedTLS allocates its
	 * bignums with calloc, which takes the arena lock every time, and one
	 * arena per core cost a tenth of the issuance rate in lock waits. */
	mallopt(M_ARENA_MAX, (int)(cores * WEB_THREADS_PER_CORE));
#endif
	return 0;
}

/* Delta CRLs on their short period, when the CA publishes them, through
 * TICK, the timer's own handle. */
/* The CA's certificate near its end, or past it: a warning
 * in the log at start and once a day (and /healthz says it). */
static void
expiry_maintain(struct web_daemon *dm, struct ca *ca)
{
	char w[CA_EXPIRY_WARNING_MAX];
	int64_t now = mica_mono_ms();
	int said = 0;

	if (dm->expiry_said != 0 && now - dm->expiry_said < INT64_C(86400000))
		return;
	if (ca_expiry_warning(ca, (int64_t)time(NULL), w, sizeof(w)) != 0) {
		mica_log(MICA_LOG_WARN, "%s", w);
		said = 1;
	}
	/* The root's CRL this daemon serves at /root.crl, which only a
	 * new import renews. */
	if (ca_root_crl_warning(ca, (int64_t)time(NULL), w, sizeof(w)) != 0) {
		mica_log(MICA_LOG_WARN, "%s", w);
		said = 1;
	}
	if (said)
		dm->expiry_said = now != 0 ? now : 1;
}

/*
 * The root's CRL (or an intermediate's) revokes this CA's certificate,
 * or one above it: an error in the log at start, when it turns so (a CRL
 * imported by the command line meanwhile) and once a day while it lasts;
 * back to normal is said too (a newer CRL without it, a hold released). The daemon
 * goes on serving, as a mature CA does with a revoked CA certificate
 * (AD CS refuses to issue from it, and publishes still): relying parties
 * learn of the revocation from /root.crl, the CDP of this CA's own
 * certificate, which only this daemon serves, and of its leaves' from
 * /crl and OCSP, which those that cached the CA certificate keep asking.
 * Stopping would hide both; issuing would only hand out certificates
 * every relying party refuses. So issuance alone is refused
 * (ca_state_issue, /healthz 503 ca_revoked).
 */
static void
revoked_maintain(struct web_daemon *dm, struct ca *ca)
{
	struct mica_err e;
	int64_t now = mica_mono_ms();
	int revoked;

	if (ca_revoked_check(ca, 0, &e) == 0)
		revoked = 0;
	else if (strcmp(e.code, "ca_revoked") == 0)
		revoked = 1;
	else
		return;   /* the store: /healthz and the requests say it */
	if (revoked == dm->revoked_said && (!revoked ||
	    now - dm->revoked_said_ms < INT64_C(86400000)))
		return;
	if (revoked)
		mica_log(MICA_LOG_ERR, "%s; issuing nothing, serving the CRLs, "
			 "the root's CRL and OCSP still", e.msg);
	else if (dm->revoked_said)
		mica_log(MICA_LOG_INFO, "the newest CRLs of the CAs above "
			 "no longer revoke this CA's certificate or one above "
			 "it: issuing again");
	dm->revoked_said = revoked;
	dm->revoked_said_ms = now;
}

/* What a process killed while issuing left, once older than any live
 * issuance (ca_issue_sweep): at start and every tick. */
static void
sweep_maintain(struct ca *tick)
{
	struct mica_err e;
	int64_t certs = 0, orders = 0, refunds = 0;

	if (ca_issue_sweep(tick, "serve", &certs, &orders, &refunds, &e) != 0)
		mica_log(MICA_LOG_WARN, "issuance sweep: %s (%s)", e.msg, e.code);
	if (certs > 0)
		mica_log(MICA_LOG_INFO, "forgot %lld certificate(s) left "
			 "mid-issuance by a stopped process (never handed out; "
			 "%lld token use(s) given back)", (long long)certs,
			 (long long)refunds);
	if (orders > 0)
		mica_log(MICA_LOG_INFO, "%lld ACME order(s) left processing by "
			 "a stopped process are now invalid", (long long)orders);
}

static void
delta_maintain(struct ca *tick)
{
	struct mica_err e;
	int published = 0;

	if (ca_crl_delta_maintain(tick, &published, &e) != 0)
		mica_log(MICA_LOG_WARN, "delta CRL: %s (%s)", e.msg, e.code);
	else if (published)
		mica_log(MICA_LOG_INFO, "published delta CRLs");
}

/*
 * Every WEB_QUIET_SECONDS, from the main thread: once the daemon has done
 * work since the last trim (requests, or a maintenance tick) and no
 * request began during the last tick, give the memory the heap keeps
 * free back to the system. glibc's arenas (one per worker, up to
 * M_ARENA_MAX) keep what a load freed: after an issuance load the daemon
 * held twice its idle anonymous memory, most of it free in the arenas.
 * Never on a request's path: malloc_trim takes each arena's lock in turn.
 */
static void
trim_when_quiet(struct web_daemon *dm)
{
	unsigned long n = atomic_load_explicit(&dm->srv.requests,
					       memory_order_relaxed);

	if (n != dm->requests_seen) {
		dm->requests_seen = n;
		dm->trim_due = 1;
		return;
	}
	if (!dm->trim_due)
		return;
	dm->trim_due = 0;
#ifdef HAVE_MALLOC_TRIM
	malloc_trim(0);
#endif
}

/* Descriptors: each listener holds up to WEB_CONN_LIMIT + WEB_CONN_SLACK
 * connections plus one per worker (web/listener.c), and each worker an
 * epoll set, a wake-up descriptor and its store connection's files;
 * NOFILE_BASE for the rest (signers, the timer's and the loaders' store
 * connections, logs, CRL files). The usual soft limit, 1024, is below
 * that for two listeners: the soft limit is raised to the hard one, as
 * nginx and Go programs do, so that a flood of connections finds the
 * slowest dropped (web/conns.h) rather than every descriptor taken. */
#define NOFILE_PER_WORKER 5
#define NOFILE_BASE       128
#define NOFILE_MAX        (1 << 20)

static void
raise_nofile(unsigned listeners, unsigned threads)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)listeners * (WEB_CONN_LIMIT + WEB_CONN_SLACK +
		      (rlim_t)threads * (1 + NOFILE_PER_WORKER)) + NOFILE_BASE;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < NOFILE_MAX &&
	    rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = rl;

		up.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
			      rl.rlim_max > NOFILE_MAX ? NOFILE_MAX : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		mica_log(MICA_LOG_WARN, "open files limited to %llu (ulimit -n; "
			 "LimitNOFILE= under systemd), %llu wanted: under a "
			 "flood of connections, new ones wait until descriptors "
			 "are free", (unsigned long long)rl.rlim_cur,
			 (unsigned long long)need);
}

int
web_serve(const struct web_opts *o, struct mica_err *err)
{
	struct web_daemon *dm;
	struct web_ocsp_refresher *ocsp = NULL;
	struct ca *parent = NULL, *tick = NULL, *loader = NULL;
	sigset_t set, oldset;
	int64_t next_tick;
	struct ca_serve_lock lock = { { -1, -1 } };
	int rc = -1, first = 0, sig, http_fd = -1, https_fd = -1;
	int resumed = 0, marked = 0;
	char marker[PATH_MAX];

	if (o == NULL || o->datadir == NULL)
		return mica_err_set(err, MICA_E_USAGE, "usage", "no data directory");
	if ((dm = calloc(1, sizeof(*dm))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	dm->o = o;
	web_server_init(&dm->srv);
	if ((dm->srv.crl = web_crl_cache_new()) == NULL) {
		web_server_fini(&dm->srv);
		free(dm);
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	}
	if (daemon_setup(dm, o, err) != 0)
		goto early;
	if (o->log_file != NULL && mica_log_open(o->log_file) != 0) {
		int e = errno;

		mica_err_set(err, MICA_E_UNAVAIL, "log_file",
			     "cannot open the log file: %s", mica_planted(o->log_file) ?
			     "it is a symbolic link or FIFO another user made in "
			     "a shared folder" : strerror(e));
		goto early;
	}
	json_set_alloc_funcs(json_zmalloc, json_zfree);
	raise_nofile((unsigned)dm->http_addr.on + (unsigned)dm->https_addr.on,
		     dm->threads);

	/* Every thread started from here on inherits this mask; the main
	 * thread takes the signals synchronously with sigtimedwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);   /* the signing service is gone */
	pthread_sigmask(SIG_BLOCK, &set, &oldset);
	signal(SIGPIPE, SIG_IGN);

	/* Before the CA is created or opened: a second daemon on this store
	 * changes nothing in it. */
	if (ca_serve_lock(o->datadir, &lock, err) != 0)
		goto out;
	/* Then the ports: one in use stops the daemon before it creates,
	 * opens or issues anything. */
	if ((dm->http_addr.on &&
	     (http_fd = web_listen(&dm->http_addr, 0, err)) < 0) ||
	    (dm->https_addr.on &&
	     (https_fd = web_listen(&dm->https_addr, 1, err)) < 0))
		goto out;
	if (snprintf(marker, sizeof(marker), "%s/%s", o->datadir,
		     FIRST_START_FILE) >= (int)sizeof(marker)) {
		mica_err_set(err, MICA_E_USAGE, "bad_path",
			     "data directory path too long");
		goto out;
	}
	if (!ca_exists(o->datadir)) {
		if ((marked = first_start_mark(marker, err)) < 0)
			goto out;
		if (init_ca_apart(dm, err) != 0) {
			/* Nothing was created: no first start to finish. */
			if (marked)
				unlink(marker);
			goto out;
		}
		first = 1;
		/* Tests kill the daemon here: the CA created, no admin token
		 * made yet (util/fault.h). */
		MICA_TEST_GATE("MICA_TEST_SERVE_CREATED_GATE");
	} else if (access(marker, F_OK) == 0) {
		first = resumed = 1;
	}
	/* The key goes to signer processes; this one, which parses
	 * everything the network sends, never holds it. */
	if (ca_open_serve(o->datadir, o->passphrase_file, o->signers,
			  o->ocsp_by_ca ? CA_OPEN_OCSP_BY_CA : 0, &parent,
			  err) != 0)
		goto out;
	ca_signer_on_loss(parent, SIGUSR2);
	/* Many workers issue at once: let them share commits. */
	if (ca_batch_writes(parent, err) != 0)
		goto out;
	/* A CRL's seconds of CPU at a million entries go to the cores
	 * issuance and downloads leave. */
	ca_crl_background(parent);
	if (web_server_attach(&dm->srv, parent, err) != 0)
		goto out;
	/* ACME's validation workers: what the last run left processing is
	 * queued again now, through the parent while no other thread uses
	 * it; each worker opens a store connection of its own only while it
	 * has validations to do. */
	if (ca_acme_open(parent, &o->acme, &dm->srv.acme, err) != 0)
		goto out;
	if (first) {
		if (first_admin_token(&dm->srv, resumed, err) != 0)
			goto out;
		/* Shown (or said why not): the first start is over. */
		if (unlink(marker) != 0 || mica_sync_dir(o->datadir) != 0)
			mica_log(MICA_LOG_WARN, "cannot remove %s: %s", marker,
				 strerror(errno));
	}
	/* The timer's own handle: its CRL publications (a second or so for
	 * a million entries) hold no lock that workers need. */
	pthread_mutex_lock(&dm->srv.parent_lock);
	rc = ca_clone(parent, &tick, err);
	/* And the CRL cache's loader's: requests never wait for a CRL of
	 * tens of megabytes to be read after the command line published. */
	if (rc == 0)
		rc = ca_clone(parent, &loader, err);
	pthread_mutex_unlock(&dm->srv.parent_lock);
	if (rc != 0)
		goto out;

	rc = -1;
	/* A CRL to serve (published now if due), loaded in the background. */
	if (web_crl_start(&dm->srv, tick, loader, err) != 0)
		goto out;
	delta_maintain(tick);
	sweep_maintain(tick);
	/* The OCSP responder's certificate before the first request (and
	 * its record before anything a test or an admin compares), then
	 * OCSP responses signed ahead of time, in the background, and the
	 * publication directory kept current. */
	{
		struct mica_err e;

		pthread_mutex_lock(&dm->srv.parent_lock);
		MICA_FAULT_EXEMPT(1);   /* not a request's: never counted */
		if (ca_ocsp_refresh(parent, 0, NULL, &e) != 0)
			mica_log(MICA_LOG_WARN, "ocsp: no responder certificate "
				 "yet: %s (%s); /ocsp answers tryLater until "
				 "there is one", e.msg, e.code);
		MICA_FAULT_EXEMPT(0);
		pthread_mutex_unlock(&dm->srv.parent_lock);
	}
	if ((ocsp = web_ocsp_refresh_start(&dm->srv, o->publish_dir,
					   err)) == NULL)
		goto out;

	if (dm->http_addr.on) {
		if ((dm->http = web_listener_start(&dm->srv, 0, &dm->http_addr,
						   dm->http_url, dm->threads,
						   http_fd, NULL, NULL, err)) == NULL)
			goto out;
		http_fd = -1;   /* the listener's now */
	}
	dm->tls.srv = &dm->srv;
	dm->tls.addr = &dm->https_addr;
	dm->tls.url = dm->srv.https_url;
	dm->tls.threads = dm->threads;
	if (dm->https_addr.on) {
		/* Taken, whether it starts or not (closed then). */
		int fd = https_fd;

		https_fd = -1;
		if (web_tls_start(&dm->tls, fd, err) != 0) {
			/* Issuance's own words would leave the operator with
			 * a CA that serves nothing: say what still can. */
			if (err != NULL && strcmp(err->code, "ca_expiring") == 0)
				mica_err_set(err, err->kind, err->code,
					     "the CA certificate, or one above "
					     "it, expires within the hour or "
					     "has expired: no HTTPS certificate "
					     "can be made for the daemon (renew "
					     "it; meanwhile --https none serves "
					     "the CRLs and CA certificates over "
					     "HTTP)");
			goto out;
		}
	}
	banner(dm, first);
	expiry_maintain(dm, tick);
	revoked_maintain(dm, tick);

	next_tick = mica_mono_ms() + WEB_TICK_SECONDS * 1000;
	for (;;) {
		struct timespec ts = { WEB_QUIET_SECONDS, 0 };

		sig = sigtimedwait(&set, NULL, &ts);
		if (sig < 0) {
			if (errno != EAGAIN)
				continue;
			if (mica_mono_ms() >= next_tick) {
				struct mica_err pe;

				web_crl_maintain(&dm->srv, tick);
				delta_maintain(tick);
				sweep_maintain(tick);
				if (ca_schema_newer(tick))
					web_server_store_too_new(&dm->srv);
				web_tls_maintain(&dm->tls, 0);
				expiry_maintain(dm, tick);
				revoked_maintain(dm, tick);
				/* A mode loosened while we run: the engine logs it
				 * and refuses to issue until it is fixed. */
				(void)ca_perm_check(parent, &pe);
				/* Publishing a CRL allocates in proportion
				 * to it; so does the background signing of
				 * OCSP responses. */
				dm->trim_due = 1;
				next_tick = mica_mono_ms() +
					    WEB_TICK_SECONDS * 1000;
			}
			trim_when_quiet(dm);
			continue;
		}
		if (!ca_signer_ok(parent)) {
			/* The keeper is gone, and the key with it: nothing
			 * can be signed again until a restart. */
			mica_log(MICA_LOG_ERR, "stopping: the signing service "
				 "is gone");
			mica_err_set(err, MICA_E_UNAVAIL, "signer_gone",
				     "the signing service stopped");
			goto out;
		}
		if (atomic_load(&dm->srv.store_too_new)) {
			mica_log(MICA_LOG_ERR, "stopping: a newer mica upgraded "
				 "the store; restart 'mica serve' with it");
			mica_err_set(err, MICA_E_UNAVAIL, "schema_too_new",
				     "a newer mica upgraded the store: restart "
				     "'mica serve' with it");
			goto out;
		}
		if (sig == SIGUSR2)
			continue;
		if (sig == SIGHUP) {
			/* Said where someone looks: stderr (the journal)
			 * and the file still written to. */
			if (mica_log_reopen() != 0) {
				int e = errno;

				fprintf(stderr, "mica: cannot reopen the log file "
					"%s: %s; still writing to the one open "
					"before\n", o->log_file != NULL ?
					o->log_file : "-", strerror(e));
				mica_log(MICA_LOG_ERR, "cannot reopen the log file "
					 "(SIGHUP): %s; still writing here",
					 strerror(e));
			} else {
				mica_log(MICA_LOG_INFO, "log reopened (SIGHUP)");
			}
		} else if (sig == SIGUSR1) {
			mica_log(MICA_LOG_INFO, "renewing the HTTPS certificate (SIGUSR1)");
			web_tls_maintain(&dm->tls, 1);
		} else {
			mica_log(MICA_LOG_INFO, "stopping (%s)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
	}
	rc = 0;
out:
	atomic_store(&dm->srv.stopping, 1);
	/* The workers and slow lanes stop inside web_listeners_stop (their
	 * requests gave their engine handles back to the pool), the pool's
	 * handles close in web_server_fini, the parent handle last. */
	web_listeners_stop(dm->http, dm->tls.listener);
	dm->http = dm->tls.listener = NULL;
	ca_acme_close(dm->srv.acme);
	dm->srv.acme = NULL;
	web_ocsp_refresh_stop(ocsp);
	web_crl_cache_free(dm->srv.crl);
	web_server_fini(&dm->srv);
	ca_close(loader);
	ca_close(tick);
	ca_close(parent);
	if (http_fd >= 0)
		close(http_fd);
	if (https_fd >= 0)
		close(https_fd);
	ca_serve_unlock(&lock);
	if (rc == 0)
		mica_log(MICA_LOG_INFO, "stopped");
	else if (mica_log_fd() != 2)
		/* The caller prints ERR on stderr; with --log the reason
		 * for the exit belongs in the log too, where an admin reading
		 * it after "signing service started" would look. */
		mica_log(MICA_LOG_ERR, "not serving: %s", err->msg);
	free(dm);
	/* A signal still pending (a second SIGTERM, as systemd's stop of the
	 * whole control group gives; the keeper's SIGUSR2) would end the
	 * process by its default action once unblocked, after "stopped":
	 * taken here, so the exit status says how the stop went. */
	{
		const struct timespec none = { 0, 0 };

		while (sigtimedwait(&set, NULL, &none) > 0)
			;
	}
	pthread_sigmask(SIG_SETMASK, &oldset, NULL);
	return rc;
early:
	web_crl_cache_free(dm->srv.crl);
	web_server_fini(&dm->srv);
	free(dm);
	return -1;
}

/*
 * cli/cmd_serve.c - `mica serve`: parse the options, hand over to web/.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"
#include "web/web.h"

#define SERVE_DOMAINS_MAX 100
#define SERVE_PROXIES_MAX 16    /* WEB_PROXIES_MAX */

static const char serve_help[] =
"Usage: mica [-d DIR] serve [OPTIONS]\n"
"\n"
"Serve the CA in DIR (default ./mica-data) over HTTP and HTTPS. If DIR holds\n"
"no CA yet, one is created first (as 'mica init' would, named after this\n"
"host) and a new admin token is printed once. The daemon issues its own TLS\n"
"certificate from the CA and renews it before it expires. A first start\n"
"that was killed is finished by the next plain start, under the passphrase\n"
"it left in DIR/passphrase, with no second admin token unless none was\n"
"made (README, \"Running the service\").\n"
"\n"
"Options:\n"
"  --http ADDR:PORT        plain HTTP: the page /, /ca.crt, /ca.pem,\n"
"                          /root.crt, /root.pem, /ca-chain.pem, /ca.p7b,\n"
"                          /crl, /crl.pem, /delta.crl, /root.crl, /ocsp,\n"
"                          /healthz (/request and /admin, which take\n"
"                          tokens, redirect to HTTPS)\n"
"                          (default " WEB_DEFAULT_HTTP "; none to disable)\n"
"  --https ADDR:PORT       HTTPS: everything, including the API under /api/v1\n"
"                          (default " WEB_DEFAULT_HTTPS "; none to disable)\n"
"  --api-over-http         also serve /api/v1, /request and /admin over plain\n"
"                          HTTP to any client (behind a TLS-terminating\n"
"                          proxy); otherwise only loopback clients may use\n"
"                          the API without TLS\n"
"  --trusted-proxy ADDR[/PREFIX]\n"
"                          a reverse proxy (repeatable, at most 16): for\n"
"                          connections from it the client is the rightmost\n"
"                          X-Forwarded-For address that is not a trusted\n"
"                          proxy (rate limits, audit, log); from anyone\n"
"                          else X-Forwarded-For is ignored\n"
"  --domain DOMAIN         allowed domain of a new CA; repeat for several\n"
"                          (used only when the CA is created)\n"
"  --public-url URL        where clients fetch the CRL and root, e.g.\n"
"                          http://ca.contoso.test:8080 (used only when the CA\n"
"                          is created; default: the --http address; 'mica\n"
"                          config set --public-url' changes it later, read\n"
"                          at the next start)\n"
"  --passphrase-file FILE  the CA key's passphrase (default $MICA_PASSPHRASE,\n"
"                          else DIR/passphrase)\n"
"  --log FILE              append the log to FILE (default stderr)\n"
"  --threads N             worker threads per listener (default: four per\n"
"                          core, so that cores sign while others wait for\n"
"                          the disk)\n"
"  --signers N             signer processes, which alone hold the CA key\n"
"                          (default: one per core, at most 16)\n"
"  --publish DIR           keep DIR current with the certificates, the CRL\n"
"                          and every pre-signed OCSP response, for any web\n"
"                          server to serve (as 'mica publish DIR', after\n"
"                          each background pass: at most half a minute\n"
"                          behind)\n"
"  --ocsp-signer delegated|ca\n"
"                          who signs OCSP responses about the current key's\n"
"                          certificates: a delegated responder certificate\n"
"                          the CA key renews every few days (default), or\n"
"                          the CA key itself (no certificate in the\n"
"                          response, for clients that accept no delegation).\n"
"                          Pre-signed responses of the other kind are signed\n"
"                          again at start. Certificates of a key retired by\n"
"                          a rollover ('mica renew-ca --new-key') are\n"
"                          answered by that key itself while its CA\n"
"                          certificate is valid; in the CA's last 36 hours\n"
"                          (no responder certificate can last a response's\n"
"                          day there) the CA key signs in either mode.\n"
"\n"
"ACME (RFC 8555) is served at https://HOST:PORT/acme/directory. Accounts\n"
"need an External Account Binding from 'mica token create --enroll --acme'\n"
"unless:\n"
"  --acme-open             any client that proves control of a name within\n"
"                          the allowed domains may enroll (closed networks)\n"
"Where validation connects (labs and tests):\n"
"  --acme-hosts FILE       hosts(5) file consulted before DNS (read at\n"
"                          start: restart after changing it)\n"
"  --acme-http-port N      http-01 port (default 80)\n"
"  --acme-tls-port N       tls-alpn-01 and https redirect port (default 443)\n"
"  --acme-dns ADDR:PORT    resolver for dns-01 TXT look-ups (default: the\n"
"                          first nameserver of /etc/resolv.conf)\n"
"  --acme-allow-loopback   validate against loopback and link-local\n"
"                          addresses too (refused otherwise)\n"
"\n"
"Addresses are numeric: 127.0.0.1:8080, 0.0.0.0:8080, [::1]:8443.\n"
"An offline root ('mica init --root-only') is never served, nor an issuing\n"
"CA still awaiting its certificate ('mica install-ca'): both exit 6. One\n"
"whose certificate (or one above it) the root's imported CRL revokes is\n"
"served, with an error in the log: its CRLs, the root's CRL and OCSP tell\n"
"relying parties of it, while every issuance is refused (ca_revoked) and\n"
"/healthz answers 503 ca_revoked.\n"
"One mica serve per data directory and per store: another one started on\n"
"it exits 6 (already_serving) before it changes anything, naming the\n"
"process that serves it (a lock on DIR/serve.lock, and beside the store\n"
"when DIR/mica.db is a symbolic link, which the system releases however\n"
"that process ends).\n"
"Signals: SIGTERM and SIGINT stop (requests in flight are finished), SIGHUP\n"
"reopens the log, SIGUSR1 renews the daemon's TLS certificate now.\n"
"Each listener holds up to 512 connections (the slowest make room for new\n"
"ones); the soft limit of open files is raised to the hard one at start,\n"
"and the log says when even that is too low (ulimit -Hn, LimitNOFILE=).\n"
"\n"
"The CA key is never in this process, which parses what the network sends:\n"
"a child 'mica-keeper' unseals it and starts the 'mica-signer' processes\n"
"(seccomp-confined, not dumpable) that sign, after checking each request\n"
"against the CA's rules themselves. CRLs of 1 MiB or more go to one more\n"
"signer, 'mica-signer-crl', ten nice steps lower, started for the first.\n"
"A signer that dies is replaced (the requests it held get 503); if the\n"
"keeper dies, mica serve stops (exit 8); so it does when a newer mica\n"
"upgraded its store, for its supervisor to restart it with that mica.\n"
"MICA_PASSPHRASE is removed from the environment once read.\n"
"\n"
"Example:\n"
"  mica -d /var/lib/mica serve --http 0.0.0.0:80 --https 0.0.0.0:443 \\\n"
"       --domain contoso.test --public-url http://ca.contoso.test\n";

int
cmd_serve(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "http",            required_argument, NULL, 'H' },
		{ "https",           required_argument, NULL, 'S' },
		{ "api-over-http",   no_argument,       NULL, 'A' },
		{ "trusted-proxy",   required_argument, NULL, 'X' },
		{ "domain",          required_argument, NULL, 'D' },
		{ "public-url",      required_argument, NULL, 'U' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "log",             required_argument, NULL, 'L' },
		{ "threads",         required_argument, NULL, 'T' },
		{ "signers",         required_argument, NULL, 'G' },
		{ "acme-open",       no_argument,       NULL, 'o' },
		{ "acme-hosts",      required_argument, NULL, 'f' },
		{ "acme-http-port",  required_argument, NULL, '8' },
		{ "acme-tls-port",   required_argument, NULL, '4' },
		{ "acme-dns",        required_argument, NULL, 'n' },
		{ "acme-allow-loopback", no_argument,   NULL, 'l' },
		{ "publish",         required_argument, NULL, 'B' },
		{ "ocsp-signer",     required_argument, NULL, 'O' },
		{ "help",            no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *domains[SERVE_DOMAINS_MAX];
	const char *proxies[SERVE_PROXIES_MAX];
	struct web_opts o;
	struct mica_err err;
	int64_t n;
	int c, li;

	/* The daemon's lines are a log's, timed (main made them plain). */
	mica_log_set_plain(0);
	if ((argc = cli_take_data_dir(argc, argv, "+h", opts, &datadir)) < 0)
		return 2;
	memset(&o, 0, sizeof(o));
	o.datadir = datadir != NULL ? datadir : "./mica-data";
	o.domains = domains;
	o.trusted_proxies = proxies;
	/* argv[0] is "serve"; 0 makes glibc restart its scan from scratch,
	 * whatever main parsed before. */
	optind = 0;
	opterr = 0;
	while ((li = -1, c = getopt_long(argc, argv, "+h", opts, &li)) != -1) {
		if (cli_once(&once, "serve", c, "+h", opts, "DX") != 0)
			return 2;
		/* An empty value is never meant: --publish "" started a
		 * daemon that failed to publish at every pass, --domain ""
		 * or --log "" failed later with less to say. */
		if (li >= 0 && optarg != NULL && optarg[0] == '\0')
			return cli_usage("serve", "--%s needs a value", opts[li].name);
		switch (c) {
		case 'H':
			o.http_addr = optarg;
			break;
		case 'S':
			o.https_addr = optarg;
			break;
		case 'A':
			o.api_over_http = 1;
			break;
		case 'X':
			if (o.ntrusted_proxies == SERVE_PROXIES_MAX)
				return cli_usage("serve", "at most %d --trusted-proxy options",
						 SERVE_PROXIES_MAX);
			proxies[o.ntrusted_proxies++] = optarg;
			break;
		case 'D':
			if (o.ndomains == SERVE_DOMAINS_MAX)
				return cli_usage("serve", "at most %d --domain options",
						 SERVE_DOMAINS_MAX);
			domains[o.ndomains++] = optarg;
			break;
		case 'U':
			o.public_url = optarg;
			break;
		case 'P':
			o.passphrase_file = cli_passphrase_file(optarg);
			break;
		case 'L':
			o.log_file = optarg;
			break;
		case 'T':
			if (cli_parse_int(optarg, 1, 256, &n) != 0)
				return cli_usage("serve", "--threads wants a number from 1 to 256");
			o.threads = (int)n;
			break;
		case 'G':
			if (cli_parse_int(optarg, 1, 16, &n) != 0)
				return cli_usage("serve", "--signers wants a number from 1 to 16");
			o.signers = (int)n;
			break;
		case 'o':
			o.acme.open = 1;
			break;
		case 'f':
			o.acme.hosts_file = optarg;
			break;
		case '8':
		case '4':
			if (cli_parse_int(optarg, 1, 65535, &n) != 0)
				return cli_usage("serve", "--acme-%s-port wants a port number",
						 c == '8' ? "http" : "tls");
			if (c == '8')
				o.acme.http_port = (int)n;
			else
				o.acme.tls_port = (int)n;
			break;
		case 'n':
			o.acme.dns = optarg;
			break;
		case 'l':
			o.acme.allow_loopback = 1;
			break;
		case 'B':
			o.publish_dir = optarg;
			break;
		case 'O':
			if (strcmp(optarg, "delegated") == 0)
				o.ocsp_by_ca = 0;
			else if (strcmp(optarg, "ca") == 0)
				o.ocsp_by_ca = 1;
			else
				return cli_usage("serve", "--ocsp-signer wants 'delegated' or 'ca'");
			break;
		case 'h':
			fputs(serve_help, stdout);
			return 0;
		default:
			return cli_bad_option("serve", "+h", opts, argv, NULL);
		}
	}
	if (optind < argc)
		return cli_usage("serve", "unexpected argument: %s", argv[optind]);
	/* Log lines appended to the store, or to the passphrase file,
	 * destroy it. */
	if (o.log_file != NULL && cli_own_file(o.log_file))
		return cli_usage("serve", "--log %s is one of the CA's own files "
				 "(its store, CRLs, passphrase or lock): name "
				 "another file", o.log_file);
	/* What is published is meant for a web server to serve: never from
	 * beside the store and the passphrase. */
	if (o.publish_dir != NULL && cli_in_data_dir(o.publish_dir))
		return cli_usage("serve", "--publish %s is the CA's data "
				 "directory, inside it or above it (a web "
				 "server serving it would serve the store and "
				 "the passphrase): publish into a folder of its "
				 "own", o.publish_dir);
	mica_err_clear(&err);
	if (web_serve(&o, &err) != 0)
		return cli_fail(&err);
	return 0;
}

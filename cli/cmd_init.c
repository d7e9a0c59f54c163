/*
 * cli/cmd_init.c - set-up commands: init, export-root, profile, config,
 * domain, backup, restore.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ca/profile.h"
#include "ca/x509.h"
#include "cli/cli.h"
#include "util/fault.h"

static const char init_help[] =
"Usage: mica [-d DIR] init --name NAME --public-url URL [OPTIONS]\n"
"       mica [-d DIR] init --root-only --name NAME [OPTIONS]\n"
"       mica [-d DIR] init --subordinate --name NAME --public-url URL\n"
"                          --csr-out FILE [--domain DOMAIN]... [OPTIONS]\n"
"\n"
"Create the database and the root CA in DIR (default ./mica-data): a fresh\n"
"key, a self-signed root certificate (CA:TRUE, keyCertSign, cRLSign) and\n"
"the first CRL. The key is stored in the database encrypted with AES-256-GCM\n"
"under a key derived from a passphrase (PBKDF2-HMAC-SHA256, 600,000\n"
"iterations). Refuses to overwrite an existing CA.\n"
"\n"
"--root-only makes a root meant to stay offline (a machine without network,\n"
"a USB stick): it signs subordinate CAs ('mica sign-ca') and its own CRL\n"
"('mica crl', 180 days by default), nothing else, and 'mica serve' refuses\n"
"it. --subordinate makes an issuing CA under another root (a mica root, an\n"
"OpenSSL root, Active Directory Certificate Services): its key and a request\n"
"(--csr-out) asking for a CA certificate with the allowed domains as name\n"
"constraints (and the --public-url address when it is one, beside at most\n"
"31 domains; every other IP address excluded); it serves nothing until\n"
"'mica install-ca' installs that certificate. README, \"Two-tier set-up\",\n"
"has the whole ceremony.\n"
"\n"
"Options:\n"
"  --name NAME             the CA's common name, e.g. \"Contoso Root CA\"\n"
"  --org ORG               organisation (O) in the CA's subject\n"
"  --domain DOMAIN         a domain certificates may name, with its\n"
"                          sub-domains; repeat for several\n"
"  --public-url URL        where clients fetch the CRL and CA certificate,\n"
"                          e.g. http://ca.contoso.test:8080 (certificates\n"
"                          name URL/crl and URL/ca.crt; an offline root's,\n"
"                          if given, is where its CRL and certificate are\n"
"                          published: URL/root.crl, URL/root.crt);\n"
"                          'mica config set' changes it later\n"
"  --key TYPE              ec-p256 (default), ec-p384, rsa-2048, rsa-3072,\n"
"                          rsa-4096\n"
"  --days N                root validity in days (default 3650)\n"
"  --crl-days N            CRL validity (nextUpdate) in days (default 7;\n"
"                          180 for an offline root; 'mica config set'\n"
"                          changes it later)\n"
"  --root-only             an offline root (see above)\n"
"  --subordinate           an issuing CA awaiting its certificate\n"
"  --csr-out FILE          with --subordinate: write its request (PEM;\n"
"                          '-': standard output, holding it alone, what\n"
"                          init says then going to standard error)\n"
"  --path-len N            with --subordinate: CAs it may sign below it\n"
"                          (default 0: none)\n"
"  --passphrase-file FILE  read the passphrase from FILE (mode 0600)\n"
"\n"
"Without --passphrase-file or $MICA_PASSPHRASE, init writes a random\n"
"passphrase to DIR/passphrase (mode 0600) and says so: move it off the\n"
"machine and pass it back with MICA_PASSPHRASE or --passphrase-file.\n"
"A passphrase given needs at least 12 characters; a passphrase file holds\n"
"it on one line (a final LF or CRLF is not part of it).\n"
"\n"
"Example:\n"
"  mica init --name \"Contoso Root CA\" --domain contoso.test \\\n"
"            --public-url http://ca.contoso.test:8080\n";

/* One line of what init says, shown as cli_line does: on standard
 * output, or on standard error when standard output carries the request
 * (--csr-out -), which nothing else may be mixed into. */
static void __attribute__((format(printf, 2, 3)))
init_say(int to_stderr, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (to_stderr)
		cli_note("%s", s);
	else
		cli_line("%s", s);
	free(s);
}

int
cmd_init(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "org", required_argument, NULL, 'o' },
		{ "domain", required_argument, NULL, 'D' },
		{ "public-url", required_argument, NULL, 'u' },
		{ "key", required_argument, NULL, 'k' },
		{ "days", required_argument, NULL, 'y' },
		{ "crl-days", required_argument, NULL, 'c' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "root-only", no_argument, NULL, 'R' },
		{ "subordinate", no_argument, NULL, 'S' },
		{ "csr-out", required_argument, NULL, 'C' },
		{ "path-len", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	struct ca_init_opts o;
	struct ca_init_result res;
	struct mica_err err;
	const char *domains[100], *csr_out = NULL;
	char *pem = NULL, warn[700];
	int64_t v;
	int c, rc = 0, to_err = 0;

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	memset(&o, 0, sizeof(o));
	o.datadir = datadir;
	o.domains = domains;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "init", c, "h", opts, "D") != 0)
			return 2;
		switch (c) {
		case 'n': o.name = optarg; break;
		case 'o': o.org = optarg; break;
		case 'D':
			if (o.ndomains >= 100)
				return cli_usage("init", "at most 100 --domain options");
			domains[o.ndomains++] = optarg;
			break;
		case 'u': o.public_url = optarg; break;
		case 'k': o.key_type = optarg; break;
		case 'y':
			if (cli_parse_int(optarg, 1, CA_DAYS_MAX, &v) != 0)
				return cli_usage("init", "--days must be a number of days (1-%d)", CA_DAYS_MAX);
			o.days = (int)v;
			break;
		case 'c':
			if (cli_parse_int(optarg, 1, 365, &v) != 0)
				return cli_usage("init", "--crl-days must be 1-365");
			o.crl_days = (int)v;
			break;
		case 'p': o.passphrase_file = cli_passphrase_file(optarg); break;
		case 'R':
			if (o.kind != CA_INIT_ROOT)
				return cli_usage("init", "--root-only and --subordinate do not go together");
			o.kind = CA_INIT_ROOT_ONLY;
			break;
		case 'S':
			if (o.kind != CA_INIT_ROOT)
				return cli_usage("init", "--root-only and --subordinate do not go together");
			o.kind = CA_INIT_SUBORDINATE;
			break;
		case 'C': csr_out = optarg; break;
		case 'L':
			if (cli_parse_int(optarg, 0, 16, &v) != 0)
				return cli_usage("init", "--path-len must be 0-16");
			o.path_len = (int)v;
			break;
		case 'h': fputs(init_help, stdout); return 0;
		default: return cli_bad_option("init", "h", opts, argv, NULL);
		}
	}
	if (optind < argc)
		return cli_usage("init", "unexpected argument '%s'", argv[optind]);
	if (o.name == NULL)
		return cli_usage("init", "--name is required");
	if (o.public_url == NULL && o.kind != CA_INIT_ROOT_ONLY)
		return cli_usage("init", "--public-url is required");
	if ((csr_out != NULL) != (o.kind == CA_INIT_SUBORDINATE))
		return cli_usage("init", "--csr-out goes with --subordinate, and it needs one");
	if (cli_out_check(csr_out, &err) != 0)
		return cli_fail(&err);
	mica_err_clear(&err);
	if (ca_init(&o, &res, &err) != 0)
		return cli_fail(&err);
	to_err = csr_out != NULL && strcmp(csr_out, "-") == 0;
	/* The admin's own arguments, but a terminal acts on what a
	 * directory name may hold: shown, as every other line. */
	init_say(to_err, "Created CA \"%s\" in %s", o.name, datadir);
	if (ca_public_url_warning(o.public_url, warn, sizeof(warn)))
		cli_note("warning: %s", warn);
	if (o.kind == CA_INIT_SUBORDINATE) {
		/* Tests kill the command here: the CA is created, its request
		 * not yet written out (util/fault.h). */
		MICA_TEST_GATE("MICA_TEST_INIT_CSR_GATE");
		if (ca_pem_encode("CERTIFICATE REQUEST", res.csr, res.csr_len,
				  &pem, &err) != 0 ||
		    cli_write_file(csr_out, pem, strlen(pem), 0644, &err) != 0) {
			/* The CA stays (init again would refuse it): say how
			 * its request is had again. */
			char msg[sizeof(err.msg)];

			snprintf(msg, sizeof(msg), "%s", err.msg);
			mica_err_set(&err, err.kind, err.code, "%s; the CA was "
				     "created: 'mica renew-ca --csr-out FILE' "
				     "writes its request", msg);
			rc = cli_fail(&err);
			goto out;
		}
		if (to_err)
			init_say(to_err, "It awaits its CA certificate: have the "
				 "request (on standard output) signed");
		else
			init_say(to_err, "It awaits its CA certificate: have the "
				 "request in %s signed", csr_out);
		init_say(to_err, "(mica sign-ca on the root, Windows' SubCA "
			 "template, openssl ca),");
		init_say(to_err, "then: mica -d %s install-ca --cert CERT --chain "
			 "ROOT", datadir);
	} else {
		printf("Root SHA-256 fingerprint: %s\n", res.fingerprint);
		if (o.kind == CA_INIT_ROOT_ONLY)
			printf("An offline root: it signs CA certificates (mica sign-ca) and its\n"
			       "CRL (mica crl), and is never served.\n");
		else if (o.ndomains == 0) {
			/* Not an error: the policy lets an admin issue any
			 * name then. But nobody should learn that from the
			 * first refused enrollment. */
			printf("No allowed domains (--domain): enrollment tokens, ACME and SCEP\n"
			       "get no certificate, and an admin may issue any name, until\n");
			cli_line("'mica -d %s domain add DOMAIN'.", datadir);
		}
	}
	if (res.passphrase_path[0] != '\0') {
		init_say(to_err, "The CA key's passphrase was generated into %s "
			 "(mode 0600).", res.passphrase_path);
		fputs("Keep a copy somewhere safe and off this machine; without it the\n"
		      "CA key cannot be used. See README, \"The passphrase, and moving\n"
		      "it off the machine\".\n", to_err ? stderr : stdout);
	}
out:
	free(pem);
	ca_init_result_free(&res);
	return rc;
}

static const char export_help[] =
"Usage: mica [-d DIR] export-root [--der|--pem] [--out FILE]\n"
"\n"
"Write the root certificate: PEM (default) or DER, to FILE or standard\n"
"output. DER (.crt/.cer) is what Windows, iOS and Android open; PEM is for\n"
"OpenSSL, curl and Linux trust stores. Also prints nothing else, so it can\n"
"be piped. For an issuing CA this is the root at the top of its chain (what\n"
"devices trust); 'mica export-chain' writes the chain.\n";

int
cmd_export_root(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "der", no_argument, NULL, 'D' },
		{ "pem", no_argument, NULL, 'P' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	struct ca *ca = NULL;
	struct mica_err err;
	const char *out = NULL;
	int der = 0, c, rc, form = 0;

	if ((argc = cli_take_data_dir(argc, argv, "ho:", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (cli_once(&once, "export-root", c, "ho:", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'D':
		case 'P':
			/* One form: the last of two must not win silently. */
			if (form != 0 && form != c)
				return cli_usage("export-root", "--der and --pem do not go together");
			form = c;
			der = c == 'D';
			break;
		case 'o': out = optarg; break;
		case 'h': fputs(export_help, stdout); return 0;
		default: return cli_bad_option("export-root", "ho:", opts, argv, NULL);
		}
	}
	if (optind < argc)
		return cli_usage("export-root", "unexpected argument '%s'", argv[optind]);
	if (der && cli_binary_out_check("export-root", out) != 0)
		return 2;
	if (cli_out_check(out, &err) != 0)
		return cli_fail(&err);
	if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &err) != 0)
		return cli_fail(&err);
	if (ca_root_pem(ca) == NULL) {
		mica_err_set(&err, MICA_E_CONFLICT, "awaiting_certificate",
			     "this CA awaits its certificate: it has no root yet");
		rc = -1;
	} else if (der) {
		size_t len;
		const unsigned char *p = ca_root_der(ca, &len);
		rc = cli_write_file(out, p, len, 0644, &err);
	} else {
		const char *pem = ca_root_pem(ca);
		rc = cli_write_file(out, pem, strlen(pem), 0644, &err);
	}
	ca_close(ca);
	return rc != 0 ? cli_fail(&err) : 0;
}

static const char profile_help[] =
"Usage: mica [-d DIR] profile list [--json]\n"
"       mica [-d DIR] profile set PROFILE --default-days N --max-days N\n"
"\n"
"Profiles are mica's certificate templates. Each fixes the key usage, the\n"
"extended key usage, the kinds of names allowed, and the default and\n"
"maximum validity (which 'profile set' changes for this CA):\n"
"  server    TLS server (serverAuth); DNS and IP names\n"
"  client    TLS client / user authentication (clientAuth); email, DNS\n"
"  email     S/MIME (emailProtection); email addresses\n"
"  ipsec     IKE intermediate (ipsecIKE, serverAuth, clientAuth)\n"
"  codesign  code signing (codeSigning)\n"
"\n"
"'profile set' takes up to 3650 days; past 825 for a profile with\n"
"serverAuth it warns (iOS, iPadOS and macOS refuse longer TLS server\n"
"certificates, whatever root they chain to).\n";

static const char *
eku_text(unsigned eku, char *buf, size_t size)
{
	static const struct { unsigned bit; const char *name; } t[] = {
		{ CA_EKU_SERVER_AUTH, "serverAuth" },
		{ CA_EKU_CLIENT_AUTH, "clientAuth" },
		{ CA_EKU_CODE_SIGNING, "codeSigning" },
		{ CA_EKU_EMAIL_PROTECTION, "emailProtection" },
		{ CA_EKU_IPSEC_IKE, "ipsecIKE" },
	};
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (eku & t[i].bit) {
			if (buf[0])
				strncat(buf, ",", size - strlen(buf) - 1);
			strncat(buf, t[i].name, size - strlen(buf) - 1);
		}
	return buf;
}

static const char *
kinds_text(unsigned kinds, char *buf, size_t size)
{
	buf[0] = '\0';
	if (kinds & CA_NAME_DNS)
		strncat(buf, "dns", size - 1);
	if (kinds & CA_NAME_IP)
		strncat(buf, buf[0] ? ",ip" : "ip", size - strlen(buf) - 1);
	if (kinds & CA_NAME_EMAIL)
		strncat(buf, buf[0] ? ",email" : "email", size - strlen(buf) - 1);
	if (kinds & CA_NAME_UPN)
		strncat(buf, buf[0] ? ",upn" : "upn", size - strlen(buf) - 1);
	return buf;
}

int
cmd_profile(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "default-days", required_argument, NULL, 'd' },
		{ "max-days", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	struct ca *ca = NULL;
	struct mica_err err;
	struct ca_principal cli;
	int json = 0, c, rc = 0;
	int64_t def = 0, max = 0;
	const char *sub;

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "profile", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'j': json = 1; break;
		case 'd':
			if (cli_parse_int(optarg, 1, CA_PROFILE_DAYS_MAX, &def) != 0)
				return cli_usage("profile", "--default-days must be 1-%d",
						 CA_PROFILE_DAYS_MAX);
			break;
		case 'm':
			if (cli_parse_int(optarg, 1, CA_PROFILE_DAYS_MAX, &max) != 0)
				return cli_usage("profile", "--max-days must be 1-%d",
						 CA_PROFILE_DAYS_MAX);
			break;
		case 'h': fputs(profile_help, stdout); return 0;
		default: return cli_bad_option("profile", "h", opts, argv, NULL);
		}
	}
	sub = optind < argc ? argv[optind] : "list";
	if (strcmp(sub, "list") == 0 && optind + 1 < argc)
		return cli_usage("profile", "unexpected argument '%s'", argv[optind + 1]);
	/* list only reads: it works on a store on read-only media. */
	if (ca_open(datadir, strcmp(sub, "list") == 0 ? CA_OPEN_READONLY : 0,
		    NULL, &ca, &err) != 0)
		return cli_fail(&err);
	ca_principal_cli(&cli);
	if (strcmp(sub, "list") == 0) {
		size_t n;
		const struct ca_profile *p = ca_profiles(&n);
		json_t *arr = json_array();
		char eku[128], kinds[32];
		int bad = 0;

		if (!json)
			printf("%-9s %-12s %-36s %-14s %s\n", "PROFILE", "DAYS(def/max)",
			       "EXTENDED KEY USAGE", "NAMES", "DESCRIPTION");
		for (size_t i = 0; i < n; i++) {
			int d, m;
			if (ca_profile_days(ca, p[i].name, &d, &m, &err) != 0) {
				rc = cli_fail(&err);
				break;
			}
			eku_text(p[i].eku, eku, sizeof(eku));
			kinds_text(p[i].name_kinds, kinds, sizeof(kinds));
			if (json) {
				cli_jpush(arr, json_pack("{s:s,s:s,s:i,s:i,s:s,s:s}",
					"name", p[i].name, "description", p[i].description,
					"default_days", d, "max_days", m, "eku", eku, "names", kinds),
					  &bad);
			} else {
				char days[32];
				snprintf(days, sizeof(days), "%d/%d", d, m);
				printf("%-9s %-13s %-36s %-14s %s\n", p[i].name, days, eku,
				       kinds, p[i].description);
			}
		}
		if (json && rc == 0)
			rc = cli_jprint(arr, bad);
		else
			json_decref(arr);
	} else if (strcmp(sub, "set") == 0) {
		if (optind + 1 >= argc) {
			rc = cli_usage("profile", "profile set needs a profile name");
		} else if (optind + 2 < argc) {
			rc = cli_usage("profile", "unexpected argument '%s' (one profile at a time)",
				       argv[optind + 2]);
		} else if (def == 0 || max == 0) {
			rc = cli_usage("profile", "profile set needs --default-days and --max-days");
		} else if (ca_profile_set_days(ca, &cli, argv[optind + 1], (int)def,
					       (int)max, &err) != 0) {
			rc = cli_fail(&err);
		} else {
			const struct ca_profile *pp = ca_profile_find(argv[optind + 1]);

			printf("profile %s: default %lld days, maximum %lld days\n",
			       argv[optind + 1], (long long)def, (long long)max);
			/* Apple's platforms cap TLS server certificates at
			 * 825 days whatever root they chain to (2019). */
			if (pp != NULL && (pp->eku & CA_EKU_SERVER_AUTH) &&
			    max > CA_TLS_SERVER_DAYS_APPLE)
				cli_note("warning: iOS, iPadOS and macOS refuse a TLS "
					 "server certificate valid more than %d days, "
					 "even under a root installed by hand: "
					 "certificates of the %s profile longer than that "
					 "will fail there", CA_TLS_SERVER_DAYS_APPLE,
					 pp->name);
		}
	} else {
		rc = cli_usage("profile", "unknown subcommand '%s' (list or set)", sub);
	}
	ca_close(ca);
	return rc;
}

static const char config_help[] =
"Usage: mica [-d DIR] config show [--json]\n"
"       mica [-d DIR] config set [--public-url URL] [--crl-days N]\n"
"\n"
"The two settings 'mica init' took that can change later, as Windows\n"
"Certificate Services lets its CDP/AIA URLs and CRL period be edited:\n"
"\n"
"  --public-url URL  the base of the URLs in what the CA signs from now on:\n"
"                    the CRL distribution point URL/crl, the AIA's CA\n"
"                    certificate URL/ca.crt and OCSP responder URL/ocsp,\n"
"                    the delta CRLs' URL/delta.crl, the defaults of\n"
"                    sign-ca (URL/root.crl, URL/root.crt) and the SCEP\n"
"                    profile's URL/scep. Taken and warned of as init takes\n"
"                    it (an http:// URL of a name every client resolves;\n"
"                    a loopback address or https:// is warned of); a\n"
"                    malformed one is exit 3 and changes nothing.\n"
"  --crl-days N      the validity (nextUpdate) of the CRLs signed from now\n"
"                    on, 1-365 days (init's default: 7, an offline root's\n"
"                    180); the CRL in force keeps its own.\n"
"  --json            (show) the settings as a JSON object\n"
"\n"
"'set' changes what is given, in one transaction, and records each change\n"
"in the audit trail with its old and new value (ca.public_url,\n"
"ca.crl_days); a value as it was is left alone and said so. No passphrase\n"
"is needed: nothing is signed.\n"
"\n"
"What was issued is not changed: every certificate issued before, and the\n"
"CA certificate itself (whose URLs are its issuer's), keeps naming the old\n"
"URL for its life. Keep the old URL serving the CRL, the CA certificate\n"
"and OCSP (or redirecting there) until the last certificate naming it has\n"
"expired, or relying parties cannot check them (Windows: \"revocation\n"
"information not available\"). An issuing CA whose certificate has name\n"
"constraints is warned of a URL host they leave out: its daemon's HTTPS\n"
"certificate cannot name it until 'mica renew-ca' (whose request permits\n"
"an IP address URL's address) brings a new certificate; while a request\n"
"for this CA's certificate is out, the URL cannot change (exit 6).\n"
"\n"
"A running 'mica serve' reads the CRL period from the store at each CRL\n"
"(its next CRL has the new one; 'mica crl' publishes one now), but the URL\n"
"only at its start, as it names it in its own HTTPS certificate and\n"
"pages: restart it after changing the URL.\n"
"\n"
"Example:\n"
"  mica config set --public-url http://ca.contoso.test:8080 --crl-days 3\n";

int
cmd_config(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "public-url", required_argument, NULL, 'u' },
		{ "crl-days", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	struct ca *ca = NULL;
	struct mica_err err;
	struct ca_principal cli;
	const char *sub, *url = NULL;
	char *old_url = NULL, *now_url = NULL, warn[700];
	int json = 0, c, rc = 0, old_days = 0, now_days = 0, hours = 0;
	int64_t days = 0;
	unsigned changed = 0;
	long pid = 0;

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "config", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'u': url = optarg; break;
		case 'c':
			if (cli_parse_int(optarg, 1, 365, &days) != 0)
				return cli_usage("config", "--crl-days must be 1-365");
			break;
		case 'j': json = 1; break;
		case 'h': fputs(config_help, stdout); return 0;
		default: return cli_bad_option("config", "h", opts, argv, NULL);
		}
	}
	sub = optind < argc ? argv[optind] : "show";
	if (strcmp(sub, "show") != 0 && strcmp(sub, "set") != 0)
		return cli_usage("config", "unknown subcommand '%s' (show or set)", sub);
	if (optind + 1 < argc)
		return cli_usage("config", "unexpected argument '%s'", argv[optind + 1]);
	if (strcmp(sub, "show") == 0 && (url != NULL || days != 0))
		return cli_usage("config", "--public-url and --crl-days are for 'set'");
	if (strcmp(sub, "set") == 0 && json)
		return cli_usage("config", "--json is for 'show'");
	if (strcmp(sub, "set") == 0 && url == NULL && days == 0)
		return cli_usage("config", "config set needs --public-url URL, "
				 "--crl-days N or both");
	/* show only reads: it works on a store on read-only media. */
	if (ca_open(datadir, strcmp(sub, "show") == 0 ? CA_OPEN_READONLY : 0,
		    NULL, &ca, &err) != 0)
		return cli_fail(&err);
	ca_principal_cli(&cli);
	if (strcmp(sub, "show") == 0) {
		if (ca_config_get(ca, &now_url, &now_days, &err) != 0) {
			rc = cli_fail(&err);
		} else if (json) {
			json_t *o = json_object();
			int bad = 0;

			cli_jput(o, "public_url", now_url[0] != '\0' ?
				 mica_jstr(now_url) : json_null(), &bad);
			cli_jput(o, "crl_days", json_integer(now_days), &bad);
			rc = cli_jprint(o, bad);
		} else {
			cli_line("public-url  %s\n", now_url[0] != '\0' ? now_url :
				 "(none: an offline root publishing by hand)");
			printf("crl-days    %d\n", now_days);
		}
		goto out;
	}
	if (ca_config_get(ca, &old_url, &old_days, &err) != 0 ||
	    ca_config_set(ca, &cli, url, (int)days, &changed, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (url != NULL && !(changed & CA_CONFIG_URL))
		cli_line("public-url  %s (unchanged)\n", url);
	if (changed & CA_CONFIG_URL) {
		cli_line("public-url  %s (was %s)\n", url, old_url[0] != '\0' ?
			 old_url : "none");
		if (ca_public_url_warning(url, warn, sizeof(warn)))
			cli_note("warning: %s", warn);
		if (ca_url_outside_constraints(ca, url))
			cli_note("warning: the host of %s is outside the name "
				 "constraints of this CA's certificate (or one "
				 "above it): the HTTPS certificate of 'mica "
				 "serve' cannot name it until a certificate "
				 "that permits it is installed ('mica renew-ca "
				 "--help')", url);
		/* An offline root's URL is where its ARL and certificate
		 * are published, named by the CA certificates it signed. */
		if (old_url[0] != '\0' && ca_state(ca) == CA_STATE_ROOT_ONLY)
			cli_note("note: the CA certificates signed before keep "
				 "naming %s/root.crl and %s/root.crt until they "
				 "expire: keep publishing there too", old_url,
				 old_url);
		else if (old_url[0] != '\0')
			cli_note("note: certificates issued before, and the CA "
				 "certificate itself, keep naming %s (/crl, "
				 "/ca.crt, /ocsp; /root.crl, /root.crt in CA "
				 "certificates sign-ca made) until they expire: "
				 "keep it serving them, or redirecting to the "
				 "new URL", old_url);
		if (ca_serve_running(datadir, &pid)) {
			char who[40] = "";

			if (pid > 0)
				snprintf(who, sizeof(who), " (process %ld)", pid);
			cli_note("note: the running 'mica serve'%s goes on "
				 "naming the old URL until it is restarted: "
				 "restart it", who);
		}
	}
	if (days != 0) {
		if (!(changed & CA_CONFIG_CRL_DAYS))
			printf("crl-days    %d (unchanged)\n", (int)days);
		else
			printf("crl-days    %d (was %d): the next CRL published "
			       "has it ('mica crl' publishes one now)\n",
			       (int)days, old_days);
		/* A delta that outlives its complete CRL completes one
		 * relying parties have dropped. */
		if (ca_crl_delta_hours(ca, &hours, &err) == 0 && hours > 0 &&
		    hours >= days * 24)
			cli_note("warning: delta CRLs are published every %d "
				 "hours, no shorter than the complete CRL's %d "
				 "days: 'mica crl --delta-hours N' sets a shorter "
				 "period", hours, (int)days);
	}
out:
	free(old_url);
	free(now_url);
	ca_close(ca);
	return rc;
}

static const char domain_help[] =
"Usage: mica [-d DIR] domain list\n"
"       mica [-d DIR] domain add DOMAIN [--passphrase-file FILE]\n"
"       mica [-d DIR] domain remove DOMAIN [--passphrase-file FILE]\n"
"       mica [-d DIR] domain seal [--passphrase-file FILE]\n"
"\n"
"The allowed domains: a DNS or email name may appear in a certificate only\n"
"if it is one of these domains or under one of them, on a label boundary\n"
"(mail.contoso.test is under contoso.test, evilcontoso.test is not).\n"
"A domain has two labels or more (contoso.test, not contoso), no \"*.\";\n"
"a refusal (exit 3) says which rule DOMAIN breaks. On an issuing CA whose\n"
"certificate (or one above it) has name constraints that leave DOMAIN out,\n"
"add warns: its names are refused until a certificate that permits it is\n"
"installed ('mica renew-ca' asks for the allowed domains). An offline\n"
"root takes none (exit 6, as init --root-only --domain): it issues no\n"
"certificate of its own; sign-ca takes --permit.\n"
"\n"
"The list is sealed with the CA key (a MAC only the key's holder can make),\n"
"because the signer processes of 'mica serve', which alone hold the key,\n"
"sign names only within a sealed list: a compromised daemon cannot widen\n"
"it by writing the store. So add and remove need the passphrase (as\n"
"'mica issue' does: --passphrase-file, $MICA_PASSPHRASE or DIR/passphrase).\n"
"A running 'mica serve' uses the new list at its next issuance.\n"
"\n"
"seal: seal the list as it stands. 'mica serve' refuses to start when the\n"
"list in the store does not match its seal (someone changed it without the\n"
"key); review it with 'mica domain list', then seal it.\n";

int
cmd_domain(const char *datadir, int argc, char **argv)
{
	struct ca *ca = NULL;
	struct mica_err err;
	struct ca_principal cli;
	static const struct option opts[] = {   /* for cli_take_data_dir */
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *sub = NULL, *arg = NULL, *passfile = NULL;
	int rc = 0, npos = 0, operands = 0;

	if ((argc = cli_take_data_dir(argc, argv, NULL, opts, &datadir)) < 0)
		return 2;
	for (int i = 1; i < argc; i++) {
		/* "--" ends the options, as getopt's do for every other
		 * command: what follows is operands, whatever it looks like. */
		if (!operands && strcmp(argv[i], "--") == 0) {
			operands = 1;
			continue;
		}
		if (operands) {
			/* an operand, below */
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(domain_help, stdout);
			return 0;
		} else if (strcmp(argv[i], "--passphrase-file") == 0) {
			if (++i == argc)
				return cli_usage("domain", "--passphrase-file needs a file");
			if (cli_once(&once, "domain", 'P', NULL, opts, NULL) != 0)
				return 2;
			passfile = argv[i];
			continue;
		} else if (strncmp(argv[i], "--passphrase-file=", 18) == 0) {
			if (cli_once(&once, "domain", 'P', NULL, opts, NULL) != 0)
				return 2;
			passfile = argv[i] + 18;
			continue;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			/* Not its "=value": that may be a secret. */
			return cli_usage("domain", "unknown option '%.*s'",
					 (int)strcspn(argv[i], "="), argv[i]);
		}
		if (npos == 0) {
			sub = argv[i];
			npos++;
		} else if (npos == 1) {
			arg = argv[i];
			npos++;
		} else {
			return cli_usage("domain", "unexpected argument: %s", argv[i]);
		}
	}
	if (sub == NULL)
		sub = "list";
	if (strcmp(sub, "list") != 0 && strcmp(sub, "add") != 0 &&
	    strcmp(sub, "remove") != 0 && strcmp(sub, "seal") != 0)
		return cli_usage("domain", "unknown subcommand '%s'", sub);
	if ((strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0) && arg == NULL)
		return cli_usage("domain", "%s needs exactly one domain", sub);
	if ((strcmp(sub, "list") == 0 || strcmp(sub, "seal") == 0) && arg != NULL)
		return cli_usage("domain", "unexpected argument: %s", arg);
	if (strcmp(sub, "list") == 0) {
		char **v = NULL;

		if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &err) != 0)
			return cli_fail(&err);
		if (ca_domain_list(ca, &v, &err) != 0)
			rc = cli_fail(&err);
		else
			for (char **d = v; *d != NULL; d++)
				puts(*d);
		ca_strv_free(v);
		ca_close(ca);
		return rc;
	}
	if (ca_open(datadir, CA_OPEN_UNLOCK, passfile, &ca, &err) != 0)
		return cli_fail(&err);
	ca_principal_cli(&cli);
	if (strcmp(sub, "add") == 0) {
		rc = ca_domain_add(ca, &cli, arg, &err);
		/* Allowed, but this CA's certificate cannot certify it. */
		if (rc == 0 && ca_domain_outside_constraints(ca, arg))
			fprintf(stderr, "warning: %s is outside the name "
				"constraints of this CA's certificate (or one "
				"above it): its names are refused until a "
				"certificate that permits it is installed "
				"('mica renew-ca --help')\n", arg);
	} else if (strcmp(sub, "remove") == 0)
		rc = ca_domain_remove(ca, &cli, arg, &err);
	else
		rc = ca_domain_seal(ca, &cli, &err);
	if (rc != 0)
		rc = cli_fail(&err);
	ca_close(ca);
	return rc;
}

static const char backup_help[] =
"Usage: mica [-d DIR] backup FILE\n"
"\n"
"Write a consistent copy of the whole database (certificates, requests,\n"
"tokens, CRLs, audit trail and the encrypted CA key) to FILE, created with\n"
"mode 0600; a FILE that exists is never overwritten (exit 6), so a nightly\n"
"backup names each copy anew (backup-$(date +%F).db). A name of the\n"
"CA's own (DIR/mica.db-journal, a file in DIR/mica.db-crls/, by any path\n"
"or link: what --out refuses) is a usage error (exit 2): the store or\n"
"its CRLs would take it for theirs and remove it. Safe while 'mica\n"
"serve' is running (SQLite's online backup).\n"
"The newest CRLs, whose bodies the data directory keeps beside the store\n"
"(mica.db-crls/), go into FILE too: it needs nothing else to be restored.\n"
"The passphrase is not in the backup: keep it separately.\n"
"A store that cannot be written where it is (an offline root on a\n"
"write-protected stick) is copied all the same; its audit log then does\n"
"not record the backup. So is the store of an older 'mica serve' still\n"
"running after a package upgrade: FILE keeps that older schema, which\n"
"'mica restore' upgrades, and the audit log does not record it either.\n";

/* The one FILE operand of backup: ARGV[1], or ARGV[2] after
 * "--" (which lets a name begin with '-'); NULL otherwise. */
static const char *
one_file(int argc, char **argv)
{
	if (argc == 2 && argv[1][0] != '-')
		return argv[1];
	if (argc == 3 && strcmp(argv[1], "--") == 0)
		return argv[2];
	return NULL;
}

int
cmd_backup(const char *datadir, int argc, char **argv)
{
	struct ca *ca = NULL;
	struct mica_err err;
	const char *file;
	int rc = 0, readonly = 0;

	if ((argc = cli_take_data_dir(argc, argv, NULL, NULL, &datadir)) < 0)
		return 2;
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(backup_help, stdout);
		return 0;
	}
	/* '-' means standard output elsewhere (--out -), but SQLite's
	 * online backup writes pages into a database file, never a
	 * stream: say so, not "needs exactly one FILE" when one was
	 * given. */
	if (argc == 2 && strcmp(argv[1], "-") == 0)
		return cli_usage("backup", "a backup is a database file, not "
				 "standard output: give FILE a name (a file "
				 "named '-' goes after '--')");
	if ((file = one_file(argc, argv)) == NULL) {
		/* An option it does not know, named (as restore does; not
		 * its "=value"), rather than "needs exactly one FILE". */
		for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
			if (argv[i][0] == '-' && argv[i][1] != '\0')
				return cli_usage("backup", "unknown option '%.*s' "
						 "(a FILE beginning with '-' goes "
						 "after '--')",
						 (int)strcspn(argv[i], "="), argv[i]);
		return cli_usage("backup", "needs exactly one FILE");
	}
	if (file[0] == '\0')
		return cli_usage("backup", "FILE is empty");
	/* A FILE that cannot be made is the caller's mistake, said as
	 * --out's are (exit 2), not as if the store were unavailable (8) or
	 * in conflict (6). */
	if (cli_folder_writable(file, file, &err) != 0)
		return cli_fail(&err);
	/* Nor under a name of the CA's own, as --out: the next open of the
	 * store takes DIR/mica.db-journal for a journal and deletes it, the
	 * CRLs' sweep removes a DIR/mica.db-crls/N.crl - a backup said to
	 * be written, gone without a word. */
	if (cli_own_file(file)) {
		mica_err_set(&err, MICA_E_USAGE, "bad_path",
			     "%s is one of the CA's own files (its store, CRLs, "
			     "passphrase or lock): name the backup another file",
			     file);
		return cli_fail(&err);
	}
	if (ca_open(datadir, 0, NULL, &ca, &err) != 0) {
		struct mica_err e2;
		int version = 0;

		/* The package upgraded, its daemon not yet restarted: the
		 * store is copied at the schema that daemon keeps (restore
		 * upgrades it), nothing written to it. */
		if (strcmp(err.code, "serve_outdated") == 0) {
			mica_err_clear(&e2);
			if (ca_backup_older(datadir, file, &version, &e2) != 0)
				return cli_fail(&e2);
			cli_note("backup written to %s (schema version %d, kept "
				 "by the older 'mica serve' still running; "
				 "'mica restore' upgrades it; not in the audit "
				 "log: restart the daemon with this mica)",
				 file, version);
			return 0;
		}
		/* An offline root on a write-protected stick is copied as it
		 * is (its audit log cannot take the line); a store that is
		 * only busy or broken says so as before. */
		if (strcmp(err.code, "store_readonly") != 0)
			return cli_fail(&err);
		if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &e2) != 0)
			return cli_fail(&e2);
		readonly = 1;
	}
	if (ca_backup(ca, file, &err) != 0)
		rc = cli_fail(&err);
	else if (readonly)
		cli_note("backup written to %s (the store cannot be written "
			 "where it is: the backup is not in its audit log)",
			 file);
	else
		cli_note("backup written to %s", file);
	ca_close(ca);
	return rc;
}

static const char restore_help[] =
"Usage: mica [-d DIR] restore [--passphrase-file PASS] [--crl CRL]... [--] FILE\n"
"\n"
"Restore a backup made with 'mica backup' into DIR, which must not hold a\n"
"CA. The restored CA serves the same root and knows every certificate and\n"
"revocation in FILE; its next CRL is numbered above the time of the\n"
"restore in microseconds (the CA backed up may have published CRLs since\n"
"FILE was made, and a number names one CRL). Certificates FILE holds as being issued\n"
"(status issuing: the CA backed up may have completed them since) are\n"
"counted on standard error and left for you to revoke. Give it the CA's\n"
"passphrase as before (MICA_PASSPHRASE, --passphrase-file, or\n"
"DIR/passphrase).\n"
"\n"
"What the CA did after FILE was taken is not in FILE, but what it revoked\n"
"is in the CRLs it published: give the last ones with --crl (one per CA\n"
"key after a rollover, and its delta CRL too if it published deltas; from\n"
"a client's cache, a 'mica publish' directory, a proxy) and those\n"
"revocations are carried forward, in the same transaction that records\n"
"the restore; the CRLs that list them are then published. Each CRL must\n"
"be signed by one of the backup's CA keys (current or retired) and name\n"
"that CA as its issuer; one that does not verify, belongs to another CA,\n"
"or is not a CRL (exit 3) restores nothing. An expired CRL is still taken\n"
"(what it lists was revoked), and said so. A serial FILE knows as valid\n"
"becomes revoked with the CRL's date and reason; one revoked already stays\n"
"as it is (one on hold becomes revoked if the CRL says so; one is given\n"
"the CRL's invalidity date if earlier than its own); one FILE does\n"
"not know (issued after the backup, then revoked) is recorded as revoked\n"
"(profile from-crl, no certificate body), listed in every later CRL of\n"
"that key and answered revoked by OCSP. A hold that a newer CRL released\n"
"is not carried. The next CRL is numbered above every CRL given. Without\n"
"--crl, restore warns that a certificate revoked since FILE was taken is\n"
"valid again here ('mica revoke --from-crl' carries a CRL in later).\n"
"Certificates the CA issued since FILE and did not revoke stay unknown\n"
"here either way.\n"
"\n"
"FILE must be a store as mica makes it (its schema exactly mica's, intact,\n"
"its CA's records parsing); a backup from an older mica is upgraded in the\n"
"copy, never in FILE. A store copied by hand (cp, sqlite3's .backup) keeps\n"
"its CRLs in its mica.db-crls folder: copy that beside FILE as FILE-crls.\n"
"When a passphrase is at hand (--passphrase-file PASS, else\n"
"$MICA_PASSPHRASE, else DIR/passphrase), every sealed CA key in FILE must\n"
"open with it (a wrong passphrase or a damaged key: exit 7) and be the key\n"
"of its certificate (exit 3); nothing is restored then.\n"
"SCEP's RA key is tried too; one that does not open is only warned\n"
"about (the next 'mica serve' makes another). Without a passphrase,\n"
"the keys cannot be checked: restore says so, and the first command that\n"
"needs the key checks it; --crl needs one (exit 7 without).\n"
"\n"
"  --passphrase-file PASS  check the sealed keys with the passphrase in\n"
"                          PASS (mode 0600)\n"
"  --crl CRL               carry the revocations of CRL (DER or PEM; '-'\n"
"                          reads standard input) forward; repeatable\n"
"\n"
"Exit status: 0 restored; 1 restored with the revocations carried in, but\n"
"the CRL listing them not published (run 'mica crl'); 2 usage; 3 FILE is\n"
"not a usable backup, a CRL is refused (or PASS cannot be read); 6 DIR\n"
"holds a CA already (or another restore or an init into DIR is running);\n"
"7 the key does not open (or --crl without a passphrase); 9 insecure\n"
"permissions (of DIR or PASS). On failure (but exit 1) nothing is left in\n"
"DIR; the copy is named DIR/mica.db only once every check passed, so an\n"
"interrupted restore leaves no store (the next restore removes its\n"
"DIR/mica.db.partial).\n";

/* Restore's word on the certificates a backup holds as being issued. */
static void
issuing_note(int64_t issuing, const char *datadir)
{
	if (issuing > 0)
		cli_note("note: %lld certificate(s) were being issued when the "
			 "backup was taken (status issuing): the store it was "
			 "taken of may have completed them and handed them out "
			 "since. 'mica -d %s list --status issuing' lists them; "
			 "revoke those that may be in use unrecorded",
			 (long long)issuing, datadir);
}

int
cmd_restore(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "crl", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	struct mica_err err;
	struct cli_crls crls;
	struct ca_carried carried;
	const char *file, *passfile = NULL;
	int c, r, checked = 0;
	int64_t issuing = 0;

	memset(&crls, 0, sizeof(crls));

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "restore", c, "h", opts, "c") != 0)
			return 2;
		switch (c) {
		case 'P':
			if (optarg[0] == '\0')
				return cli_usage("restore", "--passphrase-file is empty");
			passfile = cli_passphrase_file(optarg);
			break;
		case 'c':
			if ((r = cli_crls_add(&crls, "restore", "--crl",
					      optarg)) != 0)
				return r;
			break;
		case 'h': fputs(restore_help, stdout); return 0;
		default:
			/* "-dash.db" is taken for options: say where FILE goes. */
			return cli_bad_option("restore", "h", opts, argv, "(a FILE "
					      "beginning with '-' goes after '--')");
		}
	}
	if (argc - optind != 1)
		return cli_usage("restore", "needs exactly one FILE");
	file = argv[optind];
	if (file[0] == '\0')
		return cli_usage("restore", "FILE is empty");
	/* '-' is standard input elsewhere (--crl -), but a backup is a
	 * database SQLite opens by name: say so, not "cannot read -". */
	if (strcmp(file, "-") == 0 && strcmp(argv[optind - 1], "--") != 0)
		return cli_usage("restore", "a backup is a database file, not "
				 "standard input: give FILE by name (a file named "
				 "'-' goes after '--')");
	if (cli_crls_read(&crls, &err) != 0) {
		cli_crls_free(&crls);
		return cli_fail(&err);
	}
	r = ca_restore_crls(datadir, file, passfile, crls.f, crls.n, &checked,
			    &issuing, &carried, &err);
	cli_crls_free(&crls);
	if (r != 0) {
		/* Restored, and the CRLs carried in, but not published. */
		if (strcmp(err.code, "crl_not_published") == 0) {
			cli_carried_note(&carried);
			issuing_note(issuing, datadir);
		}
		return cli_fail(&err);
	}
	if (checked)
		cli_note("restored %s into %s; its CA keys open with "
			 "the passphrase", file, datadir);
	else {
		cli_note("restored %s into %s", file, datadir);
		cli_note("note: the sealed CA key was not checked (no "
			 "passphrase: --passphrase-file, MICA_PASSPHRASE or "
			 "%s/%s): the first command that needs the key refuses "
			 "one that does not open", datadir, CA_PASS_FILE);
	}
	/* Nothing in FILE can tell what the store it was taken of did
	 * afterwards; the admin must hear that a revocation made since is
	 * undone here, or the next CRL quietly drops it for relying parties
	 * (and a compromised key may be certified again) - unless its last
	 * CRLs were given and carried that forward. */
	if (crls.n > 0) {
		cli_carried_note(&carried);
		cli_note("CRL published, listing them; note: a certificate the "
			 "CA issued after %s was taken and did not revoke is "
			 "unknown here", file);
	} else {
		cli_note("note: what the CA did after %s was taken is not in "
			 "it: a certificate it revoked since is valid again here "
			 "and left out of the next CRL (give its last CRL: 'mica "
			 "revoke --from-crl CRL', or restore again with --crl), "
			 "one it issued since is unknown here", file);
	}
	issuing_note(issuing, datadir);
	return 0;
}

static const char passphrase_help[] =
"Usage: mica [-d DIR] passphrase --new-file FILE [--passphrase-file OLD]\n"
"\n"
"Re-seal the CA key under the passphrase in FILE (mode 0600; one line, at\n"
"least 12 characters). The current passphrase comes from --passphrase-file,\n"
"$MICA_PASSPHRASE or DIR/passphrase as usual; when it came from\n"
"DIR/passphrase, that file gets the new one. Backups made before the change still need the old\n"
"passphrase. A running 'mica serve' keeps working (it holds the key) and\n"
"needs the new passphrase at its next start. Of two changes run at once,\n"
"the one that commits second is refused (exit 6) and changes nothing.\n";

int
cmd_passphrase(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "new-file", required_argument, NULL, 'n' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *newfile = NULL, *passfile = NULL;
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	int c, pf = CA_PASSFILE_NONE, rc = 0;

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "passphrase", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'n': newfile = optarg; break;
		case 'P': passfile = cli_passphrase_file(optarg); break;
		case 'h': fputs(passphrase_help, stdout); return 0;
		default: return cli_bad_option("passphrase", "h", opts, argv, NULL);
		}
	}
	if (optind < argc)
		return cli_usage("passphrase", "unexpected argument '%s'", argv[optind]);
	if (newfile == NULL)
		return cli_usage("passphrase", "--new-file FILE is required");
	if (ca_open(datadir, CA_OPEN_UNLOCK | CA_OPEN_ALL_KEYS, passfile, &ca,
		    &err) != 0)
		return cli_fail(&err);
	ca_principal_cli(&cli);
	if (ca_passphrase_change(ca, &cli, newfile, &pf, &err) != 0) {
		rc = cli_fail(&err);
	} else {
		fprintf(stderr, "the CA key is now sealed under the new passphrase\n");
		if (pf == CA_PASSFILE_UPDATED)
			cli_note("%s/%s, where the old passphrase came from, "
				 "now holds the new one", datadir, CA_PASS_FILE);
		else if (pf == CA_PASSFILE_LEFT)
			cli_note("warning: %s/%s was not used and is left as "
				 "it is: it does not hold the new passphrase",
				 datadir, CA_PASS_FILE);
	}
	ca_close(ca);
	return rc;
}

/*
 * cli/main.c - mica's entry point: global options, then one command.
 * Thin by design: the commands parse their arguments and call ca/.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "util/log.h"

static const struct {
	const char *name;
	int (*fn)(const char *, int, char **);
	const char *summary;
} commands[] = {
	{ "init",        cmd_init,        "create a CA (a root, an offline root, an issuing CA) and its database" },
	{ "serve",       cmd_serve,       "run the HTTP/HTTPS service" },
	{ "issue",       cmd_issue,       "issue a certificate from a CSR" },
	{ "renew",       cmd_renew,       "renew a certificate (same names and profile)" },
	{ "revoke",      cmd_revoke,      "revoke a certificate and publish a CRL" },
	{ "unrevoke",    cmd_unrevoke,    "release a certificate from certificateHold" },
	{ "crl",         cmd_crl,         "publish a new CRL (and write it out)" },
	{ "publish",     cmd_publish,     "write the certificates, CRLs and OCSP responses to a directory" },
	{ "ocsp-sign",   cmd_ocsp_sign,   "sign the OCSP responses that are due ahead of time, once" },
	{ "list",        cmd_list,        "list certificates" },
	{ "show",        cmd_show,        "show one certificate" },
	{ "export-root", cmd_export_root, "write the root certificate (DER or PEM)" },
	{ "export-chain", cmd_export_chain, "write this CA's certificate and its chain (PEM or .p7b)" },
	{ "install-ca",  cmd_install_ca,  "install the CA certificate a CA above issued to this one" },
	{ "sign-ca",     cmd_sign_ca,     "on a root: sign an issuing CA's (or cross-sign a root's) certificate" },
	{ "renew-ca",    cmd_renew_ca,    "request this issuing CA's next certificate (rollover)" },
	{ "import-crl",  cmd_import_crl,  "keep the CRL of a CA above (the root's is served at /root.crl)" },
	{ "request",     cmd_request,     "list, show, approve or deny pending requests" },
	{ "token",       cmd_token,       "create, list or revoke API tokens" },
	{ "acme",        cmd_acme,        "list or deactivate ACME accounts, list their orders" },
	{ "scep",        cmd_scep,        "write an iPhone/Mac profile that enrolls by SCEP (.mobileconfig)" },
	{ "profile",     cmd_profile,     "list profiles or change their validity" },
	{ "domain",      cmd_domain,      "list, add or remove allowed domains" },
	{ "config",      cmd_config,      "show or change the public URL and the CRL validity" },
	{ "audit",       cmd_audit,       "show the audit trail" },
	{ "passphrase",  cmd_passphrase,  "re-seal the CA key under a new passphrase" },
	{ "backup",      cmd_backup,      "take a consistent online copy of the database" },
	{ "restore",     cmd_restore,     "restore a backup into an empty data directory" },
};

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: mica [-d DIR] COMMAND [OPTIONS]\n"
"\n"
"mica is a small private certification authority: one root CA, one SQLite\n"
"database, a command line and an HTTP/HTTPS service.\n"
"\n"
"Global options:\n"
"  -d, --data-dir DIR  data directory (default ./mica-data, or $MICA_DATA_DIR);\n"
"                      once, before or after the command\n"
"  -h, --help          show this help; 'mica COMMAND --help' for a command\n"
"  -V, --version       show the version\n"
"\n"
"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
"\n"
"The CA key is sealed with a passphrase: from --passphrase-file FILE, else\n"
"$MICA_PASSPHRASE, else DIR/passphrase (which 'mica init' creates when\n"
"neither is given).\n"
"\n"
"An option is given once (a second is a usage error, exit 2), but those a\n"
"command's --help calls repeatable (--name, --domain...).\n"
"\n"
"Exit status:\n"
"  0 success            5 not found\n"
"  1 internal error     6 conflict (already revoked, already decided...)\n"
"  2 usage error        7 authentication failed (wrong passphrase, token)\n"
"  3 malformed input    8 store unavailable (busy, full, read-only)\n"
"  4 refused by policy  9 forbidden (insecure permissions...)\n"
"An output that could not be written (a full disk) is exit 1; 'mica serve'\n"
"exits 8 too when it cannot listen (an address in use) or open its --log\n"
"file. A command that would upgrade the store of an older 'mica serve'\n"
"still running is exit 6 (restart the daemon first: README, \"Upgrading\n"
"mica\").\n");
}

/*
 * What a command printed must have reached its destination: `mica list
 * --json > FILE` on a full disk is a failure, not exit 0 with half a
 * file (coreutils' close_stdout). A closed pipe is exit 1 without a
 * message (the reader stopped on purpose; SIGPIPE usually ends mica
 * first); an error found by ferror alone has lost its cause ("write
 * error"): cli_write_file says its own, with the cause, and clears it.
 */
static int
stdout_done(int rc)
{
	int e = fflush(stdout) != 0 ? errno : 0;

	if (e == 0 && !ferror(stdout))
		return rc;
	if (e != EPIPE)
		fprintf(stderr, "mica: error: cannot write the output: %s\n",
			e != 0 ? strerror(e) : "write error");
	return rc != 0 ? rc : 1;
}

int
main(int argc, char **argv)
{
	const char *datadir = getenv("MICA_DATA_DIR");
	int i = 1, datadir_given = 0;

	if (datadir == NULL || datadir[0] == '\0')
		datadir = "./mica-data";
	umask(077);
	/* The CA key and tokens live in this process's memory: no core dumps
	 * (and, outside sanitizer builds, no ptrace by other users). */
	{
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
#if !defined(__SANITIZE_ADDRESS__)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	}
	/* What the layers below log ("removed PATH, left by ...") reads as
	 * the command's own lines; 'mica serve' keeps a log's. */
	mica_log_set_plain(1);
	opterr = 0;   /* commands print their own one-line usage errors */
	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return stdout_done(0);
		}
		if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
#ifdef MICA_TEST_KDF
			printf("mica %s (test build: honours "
			       "MICA_TEST_INSECURE_KDF_ITER)\n", PACKAGE_VERSION);
#else
			printf("mica %s\n", PACKAGE_VERSION);
#endif
			return stdout_done(0);
		}
		if (strcmp(a, "-d") == 0 || strcmp(a, "--data-dir") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0') {
				fprintf(stderr, "mica: %s needs a directory\n", a);
				return 2;
			}
			if (datadir_given++) {
				fprintf(stderr, "mica: -d/--data-dir given twice\n");
				return 2;
			}
			datadir = argv[i + 1];
			i += 2;
			continue;
		}
		if (strncmp(a, "--data-dir=", 11) == 0) {
			if (a[11] == '\0') {
				fprintf(stderr, "mica: --data-dir= needs a directory\n");
				return 2;
			}
			if (datadir_given++) {
				fprintf(stderr, "mica: -d/--data-dir given twice\n");
				return 2;
			}
			datadir = a + 11;
			i++;
			continue;
		}
		if (strcmp(a, "--") == 0) {   /* the end of the options */
			i++;
			break;
		}
		/* Most often a command's option put before its name
		 * (mica --passphrase-file F crl); never echo an =value,
		 * which may be a secret. One line, as every error. */
		cli_note("mica: unknown option '%.*s' before the "
			 "command: only -d DIR goes there, a command's own "
			 "options after its name (see 'mica COMMAND --help')",
			 (int)strcspn(a, "="), a);
		return 2;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[i], "help") == 0) {
		if (i + 1 < argc) {
			char *help_argv[] = { argv[i + 1], (char *)"--help", NULL };
			for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
				if (strcmp(commands[c].name, argv[i + 1]) == 0)
					return stdout_done(commands[c].fn(datadir, 2,
									  help_argv));
			/* As 'mica foo' says: not the general help, exit 0. */
			cli_note("mica help: unknown command '%.40s' (see 'mica --help')",
				 argv[i + 1]);
			return 2;
		}
		usage(stdout);
		return stdout_done(0);
	}
	if (datadir_given)
		cli_data_dir_given();
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (strcmp(commands[c].name, argv[i]) == 0) {
			/* -d DIR after the command: the command takes it
			 * (cli_take_data_dir), knowing which of its options
			 * take the argument after them. */
			return stdout_done(commands[c].fn(datadir, argc - i,
							  argv + i));
		}
	/* One line, as every error (a long argument cut at 40 bytes). */
	cli_note("mica: unknown command '%.40s' (see 'mica --help')", argv[i]);
	return 2;
}

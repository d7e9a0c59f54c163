/*
 * cli/cmd_scep.c - `mica scep mobileconfig`: an iOS/macOS configuration
 * profile that installs the root and enrolls the device by SCEP with a
 * one-time challenge (an enrollment token made here, for one name).
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char scep_help[] =
"Usage: mica [-d DIR] scep mobileconfig --name NAME [--profile P] [--url URL]\n"
"                                       [--expires DURATION] [--out FILE]\n"
"\n"
"Write an Apple configuration profile (.mobileconfig, unsigned) for one\n"
"iPhone, iPad or Mac: a certificate payload with this CA's root, and a SCEP\n"
"payload (URL/scep, RSA 2048, subject CN=NAME) whose challenge is a new\n"
"enrollment token for exactly NAME, one use, profile P (default client),\n"
"valid for --expires (default 7d). Opening the file on the device installs\n"
"the root and enrolls it; the certificate comes back at once. --url is the\n"
"SCEP URL the device can reach (default the CA's --public-url + /scep).\n"
"\n"
"The token is in the file: hand it to that device only (mail it to its\n"
"owner, AirDrop it), never publish it. It is written with mode 0600 to\n"
"--out (default standard output), and is useless once used or expired.\n";

int
cmd_scep(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "profile", required_argument, NULL, 'p' },
		{ "url", required_argument, NULL, 'u' },
		{ "expires", required_argument, NULL, 'x' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *outp = NULL;
	char *doc = NULL;
	struct ca_mobileconfig_spec spec;
	struct ca_principal cli;
	struct mica_err err;
	struct ca *ca = NULL;
	size_t doc_len = 0;
	int c, rc = 0;

	memset(&spec, 0, sizeof(spec));
	spec.expires_in = 7 * 86400;
	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "scep", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'n': spec.name = optarg; break;
		case 'p': spec.profile = optarg; break;
		case 'u': spec.url = optarg; break;
		case 'x':
			if (cli_parse_duration(optarg, &spec.expires_in) != 0 ||
			    spec.expires_in <= 0)
				return cli_usage("scep", "--expires must be a duration such as 30m, 12h or 7d, from 1 second to 10 years");
			break;
		case 'o': outp = optarg; break;
		case 'h': fputs(scep_help, stdout); return 0;
		default: return cli_bad_option("scep", "h", opts, argv, NULL);
		}
	}
	if (optind >= argc || strcmp(argv[optind], "mobileconfig") != 0)
		return cli_usage("scep", "the subcommand is 'mobileconfig'");
	if (optind + 1 < argc)
		return cli_usage("scep", "unexpected argument '%s'", argv[optind + 1]);
	if (spec.name == NULL)
		return cli_usage("scep", "--name NAME is required (the device's name)");
	ca_principal_cli(&cli);
	if (cli_out_check(outp, &err) != 0)
		return cli_fail(&err);
	if (ca_open(datadir, 0, NULL, &ca, &err) != 0)
		return cli_fail(&err);
	if (ca_scep_mobileconfig(ca, &cli, &spec, &doc, &doc_len, NULL, &err) != 0 ||
	    cli_write_file(outp, doc, doc_len, 0600, &err) != 0) {
		rc = cli_fail(&err);
	} else if (outp != NULL && strcmp(outp, "-") != 0) {
		cli_note("wrote %s: the root and a SCEP payload for %s, with a "
			 "one-use enrollment token as challenge", outp, spec.name);
	}
	if (doc != NULL) {
		explicit_bzero(doc, doc_len);
		free(doc);
	}
	ca_close(ca);
	return rc;
}

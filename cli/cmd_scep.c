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

#include "ca/keys.h"

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

/* FILE's bytes with &, < and > escaped, for a plist <string>. */
static void
put_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

static void
put_b64(FILE *f, const unsigned char *p, size_t n)
{
	static const char t[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		fputc(t[(v >> 18) & 63], f);
		fputc(t[(v >> 12) & 63], f);
		fputc(i + 1 < n ? t[(v >> 6) & 63] : '=', f);
		fputc(i + 2 < n ? t[v & 63] : '=', f);
		if ((i / 3 + 1) % 16 == 0 && i + 3 < n)
			fputs("\n\t\t\t", f);
	}
}

/* A random (version 4) UUID, as profiles name their payloads. */
static int
uuid(char out[37], struct mica_err *err)
{
	unsigned char r[16];

	if (ca_random(r, sizeof(r), err) != 0)
		return -1;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
		 "%02X%02X%02X%02X%02X%02X", r[0], r[1], r[2], r[3], r[4],
		 r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
		 r[14], r[15]);
	return 0;
}

static int
mobileconfig(struct ca *ca, const char *name, const char *url,
	     const char *token, char **out, size_t *out_len,
	     struct mica_err *err)
{
	char u0[37], u1[37], u2[37];
	const unsigned char *root;
	size_t root_len = 0;
	FILE *f;

	*out = NULL;
	*out_len = 0;
	if ((root = ca_root_der(ca, &root_len)) == NULL)
		return mica_err_set(err, MICA_E_CONFLICT, "awaiting_certificate",
				    "this CA has no certificate yet");
	if (uuid(u0, err) != 0 || uuid(u1, err) != 0 || uuid(u2, err) != 0)
		return -1;
	if ((f = open_memstream(out, out_len)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	      "<plist version=\"1.0\">\n<dict>\n"
	      "\t<key>PayloadContent</key>\n\t<array>\n"
	      "\t\t<dict>\n"
	      "\t\t<key>PayloadCertificateFileName</key>\n"
	      "\t\t<string>root.cer</string>\n"
	      "\t\t<key>PayloadContent</key>\n\t\t<data>\n\t\t\t", f);
	put_b64(f, root, root_len);
	fputs("\n\t\t</data>\n\t\t<key>PayloadDisplayName</key>\n\t\t<string>", f);
	put_text(f, ca_name(ca));
	fprintf(f, "</string>\n"
		"\t\t<key>PayloadIdentifier</key>\n"
		"\t\t<string>mica.%s.root</string>\n"
		"\t\t<key>PayloadType</key>\n"
		"\t\t<string>com.apple.security.root</string>\n"
		"\t\t<key>PayloadUUID</key>\n\t\t<string>%s</string>\n"
		"\t\t<key>PayloadVersion</key>\n\t\t<integer>1</integer>\n"
		"\t\t</dict>\n", u0, u1);
	fputs("\t\t<dict>\n\t\t<key>PayloadContent</key>\n\t\t<dict>\n"
	      "\t\t\t<key>Challenge</key>\n\t\t\t<string>", f);
	put_text(f, token);
	fputs("</string>\n"
	      "\t\t\t<key>Key Type</key>\n\t\t\t<string>RSA</string>\n"
	      "\t\t\t<key>Key Usage</key>\n\t\t\t<integer>5</integer>\n"
	      "\t\t\t<key>Keysize</key>\n\t\t\t<integer>2048</integer>\n"
	      "\t\t\t<key>Name</key>\n\t\t\t<string>mica</string>\n"
	      "\t\t\t<key>Subject</key>\n"
	      "\t\t\t<array><array><array><string>CN</string><string>", f);
	put_text(f, name);
	fputs("</string></array></array></array>\n"
	      "\t\t\t<key>URL</key>\n\t\t\t<string>", f);
	put_text(f, url);
	fputs("</string>\n\t\t</dict>\n"
	      "\t\t<key>PayloadDisplayName</key>\n\t\t<string>", f);
	put_text(f, name);
	fprintf(f, "</string>\n"
		"\t\t<key>PayloadIdentifier</key>\n"
		"\t\t<string>mica.%s.scep</string>\n"
		"\t\t<key>PayloadType</key>\n"
		"\t\t<string>com.apple.security.scep</string>\n"
		"\t\t<key>PayloadUUID</key>\n\t\t<string>%s</string>\n"
		"\t\t<key>PayloadVersion</key>\n\t\t<integer>1</integer>\n"
		"\t\t</dict>\n\t</array>\n"
		"\t<key>PayloadDisplayName</key>\n\t<string>", u0, u2);
	put_text(f, ca_name(ca));
	fputs(": ", f);
	put_text(f, name);
	fprintf(f, "</string>\n"
		"\t<key>PayloadIdentifier</key>\n\t<string>mica.%s</string>\n"
		"\t<key>PayloadType</key>\n\t<string>Configuration</string>\n"
		"\t<key>PayloadUUID</key>\n\t<string>%s</string>\n"
		"\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n"
		"</dict>\n</plist>\n", u0, u0);
	if (fclose(f) != 0 || *out == NULL) {
		free(*out);
		*out = NULL;
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	}
	return 0;
}

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
	const char *name = NULL, *url = NULL, *outp = NULL, *names[1];
	char token[CA_TOKEN_MAX], urlbuf[512], *doc = NULL;
	struct ca_token_spec spec;
	struct ca_principal cli;
	struct mica_err err;
	struct ca *ca = NULL;
	size_t doc_len = 0;
	int c, rc = 0;

	memset(&spec, 0, sizeof(spec));
	memset(token, 0, sizeof(token));
	spec.profile = "client";
	spec.expires_in = 7 * 86400;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'p': spec.profile = optarg; break;
		case 'u': url = optarg; break;
		case 'x':
			if (cli_parse_duration(optarg, &spec.expires_in) != 0 ||
			    spec.expires_in <= 0)
				return cli_usage("scep", "--expires must be a duration such as 30m, 12h or 7d");
			break;
		case 'o': outp = optarg; break;
		case 'h': fputs(scep_help, stdout); return 0;
		default: return cli_usage("scep", "unknown option or missing value: '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc || strcmp(argv[optind], "mobileconfig") != 0)
		return cli_usage("scep", "the subcommand is 'mobileconfig'");
	if (optind + 1 < argc)
		return cli_usage("scep", "unexpected argument '%s'", argv[optind + 1]);
	if (name == NULL)
		return cli_usage("scep", "--name NAME is required (the device's name)");
	if (url != NULL && (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return cli_usage("scep", "--url must be an http:// or https:// URL");
	names[0] = name;
	spec.kind = CA_TOKEN_ENROLL;
	spec.names = names;
	spec.nnames = 1;
	spec.uses = 1;
	spec.comment = "SCEP challenge of a .mobileconfig";
	ca_principal_cli(&cli);
	if (ca_open(datadir, 0, NULL, &ca, &err) != 0)
		return cli_fail(&err);
	if (url == NULL) {
		if (ca_public_url(ca) == NULL ||
		    snprintf(urlbuf, sizeof(urlbuf), "%s/scep", ca_public_url(ca)) >=
		    (int)sizeof(urlbuf)) {
			ca_close(ca);
			return cli_usage("scep", "this CA has no --public-url: give --url");
		}
		url = urlbuf;
	}
	if (ca_token_create(ca, &cli, &spec, token, NULL, &err) != 0 ||
	    mobileconfig(ca, name, url, token, &doc, &doc_len, &err) != 0 ||
	    cli_write_file(outp, doc, doc_len, 0600, &err) != 0) {
		rc = cli_fail(&err);
	} else if (outp != NULL && strcmp(outp, "-") != 0) {
		fprintf(stderr, "wrote %s: the root and a SCEP payload for %s, with a "
			"one-use enrollment token as challenge (token %.16s)\n",
			outp, name, token + 5);
	}
	if (doc != NULL) {
		explicit_bzero(doc, doc_len);
		free(doc);
	}
	explicit_bzero(token, sizeof(token));
	ca_close(ca);
	return rc;
}

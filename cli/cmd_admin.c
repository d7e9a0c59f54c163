/*
 * cli/cmd_admin.c - administration commands: request, token, audit.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ca/csr.h"
#include "ca/profile.h"
#include "ca/x509.h"
#include "cli/cli.h"

static const char *
req_status(int s)
{
	return s == CA_REQ_PENDING ? "pending" : s == CA_REQ_ISSUED ? "issued" : "denied";
}

static const char request_help[] =
"Usage: mica [-d DIR] request list [--status pending|issued|denied|all]\n"
"                                  [--limit N] [--json]\n"
"       mica [-d DIR] request show ID [--json]\n"
"       mica [-d DIR] request approve ID [--out FILE] [--json]\n"
"                                        [--passphrase-file FILE]\n"
"       mica [-d DIR] request deny ID [--reason TEXT] [--json]\n"
"\n"
"Requests submitted to 'mica serve' without an enrollment token wait for an\n"
"admin, like a Certificate Services template that requires manager\n"
"approval. 'approve' checks the request against the policy again, issues\n"
"the certificate (written to --out or standard output) and marks the\n"
"request issued; 'deny' records the reason (plain text, up to 200\n"
"characters, no control or invisible characters, no blanks around it). A\n"
"decided request cannot be decided again: approving one issued already\n"
"names its certificate's serial (exit 6). 'show' gives the names, the\n"
"subject, who sent it, the validity asked for (or the profile's default)\n"
"and the key's type and size. 'show --json', 'deny --json' and\n"
"'approve --json' print the request as 'list --json' shows it (its serial,\n"
"its reason); approve adds the certificate in \"certificate\" unless --out\n"
"is given (for a request decided already, the request alone). ID is the\n"
"hexadecimal id 'list' shows, in either case.\n"
"\n"
"'list' shows the pending requests (--status for the others; 'all' is the\n"
"API's default), in the order recorded (oldest first): every one, or the\n"
"first N with --limit N (standard error then says when more match).\n";

/* Requests read from the store at a time (ca_request_list's most). */
#define REQ_PAGE 1000
/* Tokens read from the store at a time (ca_token_list's most). */
#define TOKEN_PAGE 1000

/* Request R as --json shows it: the keys of the API's admin listing (GET
 * /api/v1/requests, web/json.c web_json_request), null where it has null;
 * *BAD set if a member could not be. */
static json_t *
req_json(const struct ca_request *r, int *bad)
{
	json_t *o = json_object();
	char t[32], key[16];

	cli_jput(o, "id", mica_jstr(r->id), bad);
	cli_jput(o, "status", json_string(req_status(r->status)), bad);
	cli_jput(o, "profile", mica_jstr(r->profile), bad);
	cli_jput(o, "subject", mica_jstr(r->subject), bad);
	cli_jput(o, "names", mica_jlines(r->names), bad);
	cli_jput(o, "days", r->days > 0 ? json_integer(r->days) : json_null(), bad);
	cli_jput(o, "key", ca_csr_key_text(r->csr_der, r->csr_len, key, sizeof(key)) == 0 ?
		 json_string(key) : json_null(), bad);
	cli_jput(o, "submitted_at", json_string(cli_time(r->submitted_at, t)), bad);
	/* What was decided, as the API's admin listing has it: a script
	 * must be able to find the certificate an approval issued, or why
	 * a request was denied. */
	cli_jput(o, "decided_at", r->decided_at > 0 ?
		 json_string(cli_time(r->decided_at, t)) : json_null(), bad);
	cli_jput(o, "serial", r->serial[0] ? mica_jstr(r->serial) : json_null(), bad);
	if (r->status == CA_REQ_DENIED)
		cli_jput(o, "reason", r->deny_reason && r->deny_reason[0] ?
			 mica_jstr(r->deny_reason) : json_null(), bad);
	cli_jput(o, "client", mica_jstr(r->client), bad);
	cli_jput(o, "decided_by", mica_jstr(r->decided_by), bad);
	return o;
}

static void
req_row(const struct ca_request *r, int json, struct cli_jstream *js,
	size_t *shown, int *rc)
{
	char t[32], names[256];

	if (json) {
		int bad = 0;
		json_t *o = req_json(r, &bad);

		if (*rc == 0 && cli_jstream_item(js, o, bad) != 0)
			*rc = 1;
		else if (*rc != 0)
			json_decref(o);
	} else {
		if (*shown == 0)
			printf("%-32s  %-7s  %-8s  %-20s  %s\n", "ID", "STATUS",
			       "PROFILE", "SUBMITTED", "NAMES");
		snprintf(names, sizeof(names), "%s", r->names ? r->names : "");
		for (char *p = names; *p; p++)
			if (*p == '\n' || (unsigned char)*p < 0x20)
				*p = ',';
		cli_line("%-32s  %-7s  %-8s  %-20s  %s\n", r->id,
		       req_status(r->status), r->profile,
		       cli_time(r->submitted_at, t), names);
	}
	(*shown)++;
}

/* 'request list': page after page (keyset pages, in the order recorded), each
 * printed and dropped before the next is read. */
static int
req_list(const char *datadir, int status, int64_t want, int json)
{
	struct ca_request *v = NULL;
	struct ca_cursor after, next;
	struct cli_jstream js = { 0 };
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	size_t n = 0, shown = 0;
	int rc = 0;

	memset(&after, 0, sizeof(after));
	if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &err) != 0)
		return cli_fail(&err);
	ca_principal_cli(&cli);
	for (;;) {
		int64_t left = want == 0 ? REQ_PAGE : want - (int64_t)shown;

		if (ca_request_list(ca, &cli, status, &after,
				    left < REQ_PAGE ? (int)left : REQ_PAGE,
				    &v, &n, &next, &err) != 0) {
			rc = cli_fail(&err);
			break;
		}
		for (size_t i = 0; i < n; i++)
			req_row(&v[i], json, &js, &shown, &rc);
		ca_request_array_free(v, n);
		v = NULL;
		n = 0;
		if (rc != 0 || next.id == 0)
			break;
		if (want != 0 && (int64_t)shown >= want) {
			fprintf(stderr, "note: more requests match than the "
				"%lld shown (--limit)\n", (long long)want);
			break;
		}
		after = next;
	}
	if (rc == 0 && json)
		rc = cli_jstream_end(&js);
	else if (rc == 0 && shown == 0)
		cli_list_empty(status == CA_REQ_PENDING ? "requests pending" :
			       "requests match");
	ca_close(ca);
	return rc;
}

/* Add to ERR's message how to get certificate SERIAL, which the request
 * approved again was issued as already. */
static void
approve_hint(struct mica_err *err, const char *serial)
{
	char msg[sizeof(err->msg)];

	snprintf(msg, sizeof(msg), "%s", err->msg);
	snprintf(err->msg, sizeof(err->msg), "%.180s; 'mica show %.40s --pem' "
		 "prints it", msg, serial);
}

/* 'request show/approve/deny --json': request ID as it stands now (as
 * 'request list --json' shows it), with PEM in "certificate" if not NULL.
 * 0, or the exit status when it could not be read or printed (said on
 * stderr). */
static int
request_json(struct ca *ca, const char *id, const char *pem)
{
	struct ca_issued is;
	struct ca_request q;
	struct mica_err err;
	json_t *o;
	int bad = 0, rc;

	memset(&is, 0, sizeof(is));
	memset(&q, 0, sizeof(q));
	if (ca_request_status(ca, id, &is, &q, &err) != 0)
		return cli_fail(&err);
	o = req_json(&q, &bad);
	if (pem != NULL)
		cli_jput(o, "certificate", json_string(pem), &bad);
	rc = cli_jprint(o, bad);
	ca_issued_free(&is);
	ca_request_free(&q);
	return rc;
}

int
cmd_request(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "reason", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *sub, *reason = NULL, *out = NULL, *passfile = NULL, *rid;
	char ridbuf[CA_ID_MAX];
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	int status = CA_REQ_PENDING, json = 0, c, rc = 0, status_set = 0;
	int64_t want = 0;        /* --limit; 0: every one */
	char t[32];

	if ((argc = cli_take_data_dir(argc, argv, "ho:", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (cli_once(&once, "request", c, "ho:", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 's':
			if (strcmp(optarg, "pending") == 0) status = CA_REQ_PENDING;
			else if (strcmp(optarg, "issued") == 0) status = CA_REQ_ISSUED;
			else if (strcmp(optarg, "denied") == 0) status = CA_REQ_DENIED;
			else if (strcmp(optarg, "all") == 0) status = -1;
			else return cli_usage("request", "--status is pending, issued, denied or all");
			status_set = 1;
			break;
		case 'l':
			if (cli_parse_int(optarg, 1, INT64_MAX, &want) != 0)
				return cli_usage("request", "--limit must be a positive number");
			break;
		case 'j': json = 1; break;
		case 'r': reason = optarg; break;
		case 'o': out = optarg; break;
		case 'P': passfile = cli_passphrase_file(optarg); break;
		case 'h': fputs(request_help, stdout); return 0;
		default: return cli_bad_option("request", "ho:", opts, argv, NULL);
		}
	}
	sub = optind < argc ? argv[optind] : "list";
	ca_principal_cli(&cli);
	if (strcmp(sub, "list") == 0) {
		if (optind + 1 < argc)
			return cli_usage("request", "unexpected argument '%s'", argv[optind + 1]);
		if (reason != NULL || out != NULL || passfile != NULL)
			return cli_usage("request", "--reason, --out and --passphrase-file are "
					 "for 'deny' and 'approve', not 'list'");
		return req_list(datadir, status, want, json);
	}
	/* A word that is no subcommand is said so first: 'request shwo ID'
	 * is a typo, not "shwo needs exactly one request ID". */
	if (strcmp(sub, "show") != 0 && strcmp(sub, "approve") != 0 &&
	    strcmp(sub, "deny") != 0)
		return cli_usage("request", "unknown subcommand '%s' (list, show, "
				 "approve, deny)", sub);
	/* An option of another subcommand is a mistake said, not ignored
	 * ('request deny ID --status issued'). */
	if (want != 0 || status_set)
		return cli_usage("request", "--status and --limit are for 'list'");
	if (reason != NULL && strcmp(sub, "deny") != 0)
		return cli_usage("request", "--reason is for 'deny'");
	if ((out != NULL || passfile != NULL) && strcmp(sub, "approve") != 0)
		return cli_usage("request", "--out and --passphrase-file are for 'approve'");
	if (optind + 2 != argc)
		return cli_usage("request", "%s needs exactly one request ID", sub);
	rid = cli_id(argv[optind + 1], ridbuf);
	if (strcmp(sub, "show") == 0) {
		struct ca_issued r;
		struct ca_request q;
		char key[16];

		if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &err) != 0)
			return cli_fail(&err);
		memset(&r, 0, sizeof(r));
		memset(&q, 0, sizeof(q));
		if (json) {
			rc = request_json(ca, rid, NULL);
		} else if (ca_request_status(ca, rid, &r, &q, &err) != 0) {
			rc = cli_fail(&err);
		} else {
			cli_line("Request:    %s\n", q.id);
			cli_line("Status:     %s\n", req_status(q.status));
			cli_line("Profile:    %s\n", q.profile);
			cli_line("Subject:    %s\n", q.subject ? q.subject : "");
			cli_line("Submitted:  %s by %s\n", cli_time(q.submitted_at, t),
				 q.client ? q.client : "");
			/* One line: the names one after another. */
			for (char *nl = q.names; nl != NULL && *nl != '\0'; nl++)
				if (*nl == '\n')
					*nl = ' ';
			cli_line("Names:      %s\n", q.names ? q.names : "");
			/* What an approver weighs beside the names: how long,
			 * and which key. */
			if (q.days > 0) {
				cli_line("Validity:   %d days (asked for)\n", q.days);
			} else {
				int def = 0, max = 0;

				if (q.profile != NULL &&
				    ca_profile_days(ca, q.profile, &def, &max, NULL) == 0)
					cli_line("Validity:   %d days (the %s profile's "
						 "default now)\n", def, q.profile);
			}
			if (ca_csr_key_text(q.csr_der, q.csr_len, key, sizeof(key)) == 0)
				cli_line("Key:        %s\n", key);
			if (q.decided_by)
				cli_line("Decided:    %s by %s\n", cli_time(q.decided_at, t), q.decided_by);
			if (q.deny_reason)
				cli_line("Reason:     %s\n", q.deny_reason);
			if (q.serial[0])
				cli_line("Serial:     %s\n", q.serial);
		}
		ca_issued_free(&r);
		ca_request_free(&q);
		ca_close(ca);
		return rc;
	}
	if (strcmp(sub, "approve") == 0) {
		struct ca_issued r;
		char *pem = NULL;
		const char *id = rid;
		memset(&r, 0, sizeof(r));
		if (cli_out_check(out, &err) != 0)
			return cli_fail(&err);
		if (ca_open(datadir, CA_OPEN_UNLOCK, passfile, &ca, &err) != 0)
			return cli_fail(&err);
		if (ca_request_approve(ca, &cli, id, &r, &err) != 0) {
			/* Issued already (an approval killed after its
			 * commit, another admin's): where the certificate is. */
			if (err.kind == MICA_E_CONFLICT && r.status == CA_REQ_ISSUED &&
			    r.serial[0] != '\0')
				approve_hint(&err, r.serial);
			rc = cli_fail(&err);
			if (json && r.request_id[0] != '\0' &&
			    request_json(ca, id, NULL) != 0)
				rc = 1;
		} else if (ca_pem_encode("CERTIFICATE", r.der, r.der_len, &pem, &err) != 0 ||
			   ((!json || out != NULL) &&
			    cli_write_file(out, pem, strlen(pem), 0644, &err) != 0)) {
			rc = cli_fail_issued(&err, r.serial);
		} else {
			fprintf(stderr, "approved %s: issued certificate %s, valid until %s\n",
				id, r.serial, cli_time(r.not_after, t));
			if (json && request_json(ca, id, out == NULL ? pem : NULL) != 0)
				rc = 1;
		}
		free(pem);
		ca_issued_free(&r);
		ca_close(ca);
		return rc;
	}
	if (strcmp(sub, "deny") == 0) {
		if (ca_open(datadir, 0, NULL, &ca, &err) != 0)
			return cli_fail(&err);
		if (ca_request_deny(ca, &cli, rid, reason, &err) != 0) {
			rc = cli_fail(&err);
		} else {
			fprintf(stderr, "denied %s\n", rid);
			if (json && request_json(ca, rid, NULL) != 0)
				rc = 1;   /* denied, but not shown */
		}
		ca_close(ca);
		return rc;
	}
	return cli_usage("request", "unknown subcommand '%s'", sub);
}

static const char token_help[] =
"Usage: mica [-d DIR] token create --admin [--expires DURATION] [--comment TEXT]\n"
"       mica [-d DIR] token create --enroll [--acme|--scep] [--profile P] [--name N]...\n"
"                                  [--uses N] [--expires DURATION] [--comment TEXT]\n"
"       mica [-d DIR] token list [--json]\n"
"       mica [-d DIR] token revoke ID\n"
"\n"
"Bearer tokens for 'mica serve' (Authorization: Bearer TOKEN). An admin\n"
"token may do everything through the API. An enrollment token lets a server\n"
"get a certificate at once, without approval, within its scope: a profile\n"
"(--profile, default any) and name patterns (--name, repeatable; default any\n"
"name within the CA's domains; \"*.web.contoso.test\" covers that wildcard and\n"
"every name one label below web.contoso.test; \"upn:alice@contoso.test\" that\n"
"UPN only, the only way a token gets a UPN), for --uses certificates\n"
"(default 1; -1 for unlimited), until --expires (e.g. 3600, 30m, 12h, 7d;\n"
"default never). --comment is plain text, up to 200 characters, no control\n"
"or invisible characters, no blanks around it.\n"
"\n"
"The token is printed once, on standard output, and stored only as a hash.\n"
"A --name under none of the CA's allowed domains is warned about on standard\n"
"error (the token is made: the domain may be added later).\n"
"'token list --json' gives each token as GET /api/v1/tokens does (uses_left\n"
"null for unlimited, created_by, last_used_at), and \"revoked\". 'token\n"
"revoke ID' takes the id 'token list' shows, in either case: a token\n"
"revoked already is a conflict (exit 6), an unknown id not found (exit 5).\n"
"\n"
"With --acme, the enrollment token is for an ACME client (mica serve's\n"
"/acme/directory): instead of a bearer token, an External Account Binding\n"
"key id and HMAC key are printed, for certbot --eab-kid/--eab-hmac-key and\n"
"lego --eab --kid/--hmac. The ACME account they create may order what the\n"
"token's scope allows; --uses counts certificates (default unlimited, as\n"
"renewals are the point). The HMAC key binds one account and is then wiped.\n"
"\n"
"With --scep, the enrollment token is a SCEP device's challengePassword\n"
"(mica serve's /scep; any enrollment token works as one): --profile defaults\n"
"to client, as devices' certificates are. 'mica scep mobileconfig' makes one\n"
"per device inside an iPhone/Mac profile.\n";

/* Token T as --json shows it: the API's fields (GET /api/v1/tokens, web/json.c
 * web_json_token), and "revoked"; *BAD set if a member could not be. */
static json_t *
token_json(const struct ca_token *t, int64_t now, int *bad)
{
	json_t *o = json_object();
	char t1[32], t2[32];

	cli_jput(o, "id", mica_jstr(t->id), bad);
	cli_jput(o, "kind", json_string(t->kind == CA_TOKEN_ADMIN ?
				       "admin" : "enroll"), bad);
	cli_jput(o, "status", json_string(ca_token_status(t, now)), bad);
	cli_jput(o, "profile", mica_jstr(t->profile), bad);
	cli_jput(o, "names", t->names != NULL ?
		 mica_jlines(t->names) : json_null(), bad);
	cli_jput(o, "uses_left", t->uses_left < 0 ? json_null() :
		 json_integer((json_int_t)t->uses_left), bad);
	cli_jput(o, "expires_at", t->expires_at ?
		 json_string(cli_time(t->expires_at, t2)) : json_null(), bad);
	cli_jput(o, "created_at", json_string(cli_time(t->created_at, t1)), bad);
	cli_jput(o, "created_by", mica_jstr(t->created_by), bad);
	cli_jput(o, "comment", mica_jstr(t->comment), bad);
	cli_jput(o, "last_used_at", t->last_used_at ?
		 json_string(cli_time(t->last_used_at, t2)) : json_null(), bad);
	cli_jput(o, "revoked", json_boolean(t->revoked), bad);
	return o;
}

static void
token_row(const struct ca_token *t, int64_t now, int json,
	  struct cli_jstream *js, size_t *shown, int *rc)
{
	char uses[24], scope[200], when[32];

	if (json) {
		int bad = 0;
		json_t *o = token_json(t, now, &bad);

		if (*rc == 0 && cli_jstream_item(js, o, bad) != 0)
			*rc = 1;
		else if (*rc != 0)
			json_decref(o);
		(*shown)++;
		return;
	}
	if (*shown == 0)
		printf("%-16s  %-6s  %-8s  %-9s  %-20s  %s\n", "ID", "KIND",
		       "STATE", "USES LEFT", "EXPIRES", "SCOPE");
	if (t->uses_left < 0)
		snprintf(uses, sizeof(uses), "unlimited");
	else
		snprintf(uses, sizeof(uses), "%lld", (long long)t->uses_left);
	snprintf(scope, sizeof(scope), "%s%s%s",
		 t->profile ? t->profile : (t->kind == CA_TOKEN_ADMIN ? "-" : "any"),
		 t->names ? " " : "", t->names ? t->names : "");
	for (char *p = scope; *p; p++)
		if (*p == '\n')
			*p = ',';
	cli_line("%-16s  %-6s  %-8s  %-9s  %-20s  %s\n", t->id,
		 t->kind == CA_TOKEN_ADMIN ? "admin" : "enroll",
		 ca_token_status(t, now), uses,
		 t->expires_at ? cli_time(t->expires_at, when) : "never", scope);
	(*shown)++;
}

/* 'token list': page after page (keyset pages, newest first), each printed
 * and dropped before the next is read: an MDM's hundreds of thousands of
 * one-use challenges never sit in memory at once. */
static int
token_list(const char *datadir, int json)
{
	struct ca_token *v = NULL;
	struct ca_cursor after, next;
	struct cli_jstream js = { 0 };
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	int64_t now = (int64_t)time(NULL);
	size_t n = 0, shown = 0;
	int rc = 0;

	memset(&after, 0, sizeof(after));
	if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &err) != 0)
		return cli_fail(&err);
	ca_principal_cli(&cli);
	for (;;) {
		if (ca_token_list(ca, &cli, CA_TOKENS_ALL, &after, TOKEN_PAGE,
				  &v, &n, &next, &err) != 0) {
			rc = cli_fail(&err);
			break;
		}
		for (size_t i = 0; i < n; i++)
			token_row(&v[i], now, json, &js, &shown, &rc);
		ca_token_array_free(v, n);
		v = NULL;
		n = 0;
		if (rc != 0 || next.id == 0)
			break;
		after = next;
	}
	if (rc == 0 && json)
		rc = cli_jstream_end(&js);
	else if (rc == 0 && shown == 0)
		cli_list_empty("tokens");
	ca_close(ca);
	return rc;
}

int
cmd_token(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "admin", no_argument, NULL, 'a' },
		{ "enroll", no_argument, NULL, 'e' },
		{ "profile", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "uses", required_argument, NULL, 'u' },
		{ "expires", required_argument, NULL, 'x' },
		{ "comment", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "acme", no_argument, NULL, 'A' },
		{ "scep", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *names[CA_NAMES_MAX], *sub;
	int acme = 0, scep = 0;
	struct ca_token_spec spec;
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	int kind = -1, json = 0, c, rc = 0;
	char t[32];

	memset(&spec, 0, sizeof(spec));
	spec.names = names;
	spec.uses = 0;
	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "token", c, "h", opts, "n") != 0)
			return 2;
		switch (c) {
		case 'a':
		case 'e':
			/* One kind: the last of two must not win silently
			 * (an admin token is a very different thing). */
			if (kind >= 0 && kind != (c == 'a' ? CA_TOKEN_ADMIN : CA_TOKEN_ENROLL))
				return cli_usage("token", "--admin and --enroll do not go together");
			kind = c == 'a' ? CA_TOKEN_ADMIN : CA_TOKEN_ENROLL;
			break;
		case 'p': spec.profile = optarg; break;
		case 'n':
			if (spec.nnames >= CA_NAMES_MAX)
				return cli_usage("token", "at most %d names", CA_NAMES_MAX);
			names[spec.nnames++] = optarg;
			break;
		case 'u':
			if (cli_parse_int(optarg, -1, CA_TOKEN_USES_MAX, &spec.uses) != 0 ||
			    spec.uses == 0)
				return cli_usage("token", "--uses must be from 1 to %d, or -1",
						 CA_TOKEN_USES_MAX);
			break;
		case 'x':
			if (cli_parse_duration(optarg, &spec.expires_in) != 0)
				return cli_usage("token", "--expires must be a duration such as 3600, 30m, 12h or 7d, from 1 second to 10 years");
			break;
		case 'c': spec.comment = optarg; break;
		case 'j': json = 1; break;
		case 'A': acme = 1; break;
		case 'S': scep = 1; break;
		case 'h': fputs(token_help, stdout); return 0;
		default: return cli_bad_option("token", "h", opts, argv, NULL);
		}
	}
	sub = optind < argc ? argv[optind] : "list";
	ca_principal_cli(&cli);
	/* An option of another subcommand is a mistake said, not ignored
	 * ('token list --uses 5', 'token revoke ID --json'). */
	if (strcmp(sub, "create") != 0 &&
	    (kind >= 0 || spec.profile != NULL || spec.nnames > 0 ||
	     spec.uses != 0 || spec.expires_in != 0 || spec.comment != NULL ||
	     acme || scep))
		return cli_usage("token", "--admin, --enroll, --acme, --scep, "
				 "--profile, --name, --uses, --expires and "
				 "--comment are for 'token create'");
	if (json && strcmp(sub, "list") != 0)
		return cli_usage("token", "--json is for 'token list'");
	/* create and list take no argument (revoke takes its ID below). */
	if ((strcmp(sub, "create") == 0 || strcmp(sub, "list") == 0) &&
	    optind + 1 < argc)
		return cli_usage("token", "unexpected argument '%s'", argv[optind + 1]);
	if (strcmp(sub, "create") == 0) {
		char token[CA_TOKEN_MAX];
		if (scep && kind < 0)
			kind = CA_TOKEN_ENROLL;
		if (kind < 0)
			return cli_usage("token", "token create needs --admin or --enroll");
		if (kind == CA_TOKEN_ADMIN && (spec.profile || spec.nnames || spec.uses || acme))
			return cli_usage("token", "--profile, --name, --uses and --acme are for --enroll tokens");
		if (scep && (acme || kind != CA_TOKEN_ENROLL))
			return cli_usage("token", "--scep is for an --enroll token, not --acme or --admin");
		if (scep && spec.profile == NULL)
			spec.profile = "client";
		spec.kind = kind;
		if (acme)
			return cli_token_acme(datadir, &cli, &spec);
		if (spec.uses == 0)
			spec.uses = kind == CA_TOKEN_ADMIN ? -1 : 1;
		if (ca_open(datadir, 0, NULL, &ca, &err) != 0)
			return cli_fail(&err);
		struct ca_token info;
		memset(&info, 0, sizeof(info));
		if (ca_token_create(ca, &cli, &spec, token, &info, &err) != 0) {
			rc = cli_fail(&err);
		} else {
			char uses[32], until[48], id[17];

			snprintf(id, sizeof(id), "%.16s", token + 5);
			/* A reader gone ('| true') is EPIPE, not the end. */
			signal(SIGPIPE, SIG_IGN);
			if (printf("%s\n", token) < 0 || fflush(stdout) != 0 ||
			    ferror(stdout)) {
				rc = cli_token_unseen(ca, &cli, id);
				ca_token_free(&info);
				explicit_bzero(token, sizeof(token));
				ca_close(ca);
				return rc;
			}
			/* Say what was made: "--expires 7" is seven seconds,
			 * and --uses defaults to one; neither should be a
			 * surprise found at the first enrollment. */
			if (kind == CA_TOKEN_ADMIN)
				uses[0] = '\0';  /* admin tokens count no uses */
			else if (info.uses_left < 0)
				snprintf(uses, sizeof(uses), "unlimited uses, ");
			else
				snprintf(uses, sizeof(uses), "%lld use%s, ",
					 (long long)info.uses_left,
					 info.uses_left == 1 ? "" : "s");
			if (info.expires_at == 0)
				snprintf(until, sizeof(until), "no expiry");
			else
				snprintf(until, sizeof(until), "until %s",
					 cli_time(info.expires_at, t));
			fprintf(stderr, "created %s token %.16s (%s%s); it is shown only this once\n",
				kind == CA_TOKEN_ADMIN ? "an admin" : "an enrollment",
				token + 5, uses, until);
			cli_scope_warn(ca, &spec);
		}
		ca_token_free(&info);
		explicit_bzero(token, sizeof(token));
		ca_close(ca);
		return rc;
	}
	if (strcmp(sub, "list") == 0)
		return token_list(datadir, json);
	if (strcmp(sub, "revoke") == 0) {
		char tidbuf[CA_ID_MAX];

		if (optind + 2 != argc)
			return cli_usage("token", "token revoke needs exactly one ID");
		if (ca_open(datadir, 0, NULL, &ca, &err) != 0)
			return cli_fail(&err);
		const char *tid = cli_id(argv[optind + 1], tidbuf);

		if (ca_token_revoke(ca, &cli, tid, &err) != 0)
			rc = cli_fail(&err);
		else
			fprintf(stderr, "revoked token %s\n", tid);
		ca_close(ca);
		return rc;
	}
	return cli_usage("token", "unknown subcommand '%s' (create, list, revoke)", sub);
}

static const char audit_help[] =
"Usage: mica [-d DIR] audit [--since TIME] [--limit N | --all] [--json]\n"
"\n"
"Show the audit trail, newest first: every change of state (issuance,\n"
"approval, denial, revocation, CRL publication, tokens, domains) with its\n"
"time, actor, action, target and detail. --since takes a Unix time, a date\n"
"(2026-11-24, its 00:00:00Z), an RFC 3339 UTC time (2026-11-24T17:30:00Z)\n"
"or a duration back from now (90s, 30m, 12h, 7d). --limit N shows at\n"
"most N entries (default 100); when more match, standard error says so.\n"
"--all shows every entry (since --since). The columns are as wide as the\n"
"first 10,000 entries shown need (--json for a program to read).\n";

/* Audit entries read from the store at a time (ca_audit_list's most). */
#define AUDIT_PAGE 10000

/* The text columns' widths: each as wide as its widest value so far (at
 * least its header's; a value over AUDIT_COL_MAX pushes the rest of its
 * row instead of widening every row). */
#define AUDIT_COL_MAX 48
struct audit_cols { int actor, action, target; };

static void
audit_widen(int *w, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 1;

	if (n <= AUDIT_COL_MAX && (int)n > *w)
		*w = (int)n;
}

static void
audit_row(const struct ca_audit *a, int json, struct cli_jstream *js,
	  const struct audit_cols *w, int64_t shown, int *rc)
{
	char t[32];

	if (json) {
		json_t *o = json_object();
		int bad = 0;

		cli_jput(o, "id", json_integer((json_int_t)a->id), &bad);
		cli_jput(o, "at", json_string(cli_time(a->at, t)), &bad);
		cli_jput(o, "actor", mica_jstr(a->actor), &bad);
		cli_jput(o, "action", mica_jstr(a->action), &bad);
		cli_jput(o, "target", mica_jstr(a->target), &bad);
		cli_jput(o, "detail", mica_jstr(a->detail), &bad);
		if (*rc == 0 && cli_jstream_item(js, o, bad) != 0)
			*rc = 1;
		else if (*rc != 0)
			json_decref(o);
	} else {
		/* A header over the rows, as every listing has. */
		if (shown == 0)
			printf("%-20s  %-*s  %-*s  %-*s  %s\n", "TIME", w->actor,
			       "ACTOR", w->action, "ACTION", w->target, "TARGET",
			       "DETAIL");
		cli_line("%s  %-*s  %-*s  %-*s  %s\n", cli_time(a->at, t),
			 w->actor, a->actor, w->action, a->action, w->target,
			 a->target ? a->target : "-", a->detail ? a->detail : "");
	}
}

/* *OUT from TM (UTC) if TM names a real moment: timegm() would make
 * 2026-02-30 the 2nd of March and 24:00:00 the next day; strptime()
 * takes both. */
static int
time_real(const struct tm *tm, int64_t *out)
{
	struct tm in = *tm, back;
	time_t t = timegm(&in);

	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL ||
	    back.tm_year != tm->tm_year || back.tm_mon != tm->tm_mon ||
	    back.tm_mday != tm->tm_mday || back.tm_hour != tm->tm_hour ||
	    back.tm_min != tm->tm_min || back.tm_sec != tm->tm_sec)
		return -1;
	*out = (int64_t)t;
	return 0;
}

static int
parse_since(const char *s, int64_t *out)
{
	struct tm tm;
	int64_t d;
	char *end;

	if (cli_parse_duration(s, &d) == 0 && strpbrk(s, "smhd") != NULL) {
		*out = (int64_t)time(NULL) - d;
		return 0;
	}
	if (cli_parse_int(s, 0, INT64_MAX / 2, out) == 0)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (end == NULL || *end != '\0')
		return -1;
	return time_real(&tm, out);
}

int
cmd_audit(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	struct ca_audit *v = NULL;
	size_t n = 0;
	struct cli_jstream js = { 0 };
	struct audit_cols w = { 5, 6, 6 };   /* the headers' */
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	int64_t since = 0, want = 100, shown = 0, before = 0;
	int json = 0, c, rc = 0, limit_given = 0, all = 0;

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "audit", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 's':
			if (parse_since(optarg, &since) != 0)
				return cli_usage("audit", "--since takes a Unix time, "
						 "YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a "
						 "duration like 30m or 7d");
			break;
		case 'l':
			if (cli_parse_int(optarg, 1, INT64_MAX, &want) != 0)
				return cli_usage("audit", "--limit must be a positive number");
			limit_given = 1;
			break;
		case 'a': all = 1; break;
		case 'j': json = 1; break;
		case 'h': fputs(audit_help, stdout); return 0;
		default: return cli_bad_option("audit", "h", opts, argv, NULL);
		}
	}
	if (optind < argc)
		return cli_usage("audit", "unexpected argument '%s'", argv[optind]);
	if (all && limit_given)
		return cli_usage("audit", "--all and --limit exclude each other");
	if (all)
		want = 0;
	if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &err) != 0)
		return cli_fail(&err);
	ca_principal_cli(&cli);
	/* Newest first, page after page: each the entries before the last
	 * id shown. A page one longer than what is left says whether a trail
	 * cut at --limit goes on (it must not pass for the whole of it). */
	for (;;) {
		int64_t left = want == 0 ? AUDIT_PAGE : want - shown;
		int page = left < AUDIT_PAGE ? (int)left + 1 : AUDIT_PAGE;
		size_t take;

		if (ca_audit_list(ca, &cli, since, before, page, &v, &n, &err) != 0) {
			rc = cli_fail(&err);
			break;
		}
		take = n < (size_t)left ? n : (size_t)left;
		for (size_t i = 0; i < take; i++) {
			audit_widen(&w.actor, v[i].actor);
			audit_widen(&w.action, v[i].action);
			audit_widen(&w.target, v[i].target);
		}
		for (size_t i = 0; i < take; i++)
			audit_row(&v[i], json, &js, &w, shown + (int64_t)i, &rc);
		shown += (int64_t)take;
		if (take > 0)
			before = v[take - 1].id;
		ca_audit_array_free(v, n);
		v = NULL;
		if (rc != 0)
			break;
		if (n > take) {
			fprintf(stderr, "note: more entries match than the %lld "
				"shown (--limit N, or --all)\n", (long long)want);
			break;
		}
		if (n < (size_t)page)
			break;
	}
	if (rc == 0 && json)
		rc = cli_jstream_end(&js);
	else if (rc == 0 && shown == 0)
		cli_list_empty("audit entries match");
	ca_close(ca);
	return rc;
}

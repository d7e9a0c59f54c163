/*
 * cli/cmd_acme.c - `mica acme`: the ACME accounts (list, deactivate) and
 * their orders; and the EAB credentials of `mica token create --acme`.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ca/acme.h"

static const char acme_help[] =
"Usage: mica [-d DIR] acme accounts [list] [--limit N] [--json]\n"
"       mica [-d DIR] acme accounts deactivate ID\n"
"       mica [-d DIR] acme orders [--account ID] [--limit N] [--json]\n"
"\n"
"The ACME accounts of 'mica serve' (https://HOST:PORT/acme/directory) and\n"
"their orders. An account is a client's key; unless the daemon runs with\n"
"--acme-open it was bound, with its External Account Binding, to an\n"
"enrollment token ('mica token create --enroll --acme'), whose scope limits\n"
"what it may order (TOKEN column). A deactivated account can do nothing\n"
"more (RFC 8555 7.3.6); its certificates stay valid until revoked.\n"
"\n"
"A listing shows the newest 1000 accounts or 100 orders, as the API does\n"
"(--limit N: 1 to 10000); standard error says when more match. --json\n"
"prints the objects of GET /api/v1/acme/accounts and /api/v1/acme/orders,\n"
"key for key.\n";

int
cli_token_acme(const char *datadir, const struct ca_principal *p,
	       const struct ca_token_spec *spec)
{
	char kid[CA_ID_MAX], hmac[CA_ACME_HMAC_MAX];
	struct mica_err err;
	struct ca *ca = NULL;
	int rc = 0;

	if (ca_open(datadir, 0, NULL, &ca, &err) != 0)
		return cli_fail(&err);
	if (ca_acme_eab_create(ca, p, spec, kid, hmac, &err) != 0) {
		rc = cli_fail(&err);
	} else if (signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
		   printf("eab-kid: %s\neab-hmac-key: %s\n", kid, hmac) < 0 ||
		   fflush(stdout) != 0 || ferror(stdout)) {
		rc = cli_token_unseen(ca, p, kid);
	} else {
		fprintf(stderr, "created an ACME credential (token %s); the HMAC key is "
			"shown only this once\n"
			"  certbot ... --eab-kid %s --eab-hmac-key <key>\n"
			"  lego ... --eab --kid %s --hmac <key>\n", kid, kid, kid);
		cli_scope_warn(ca, spec);
	}
	explicit_bzero(hmac, sizeof(hmac));
	ca_close(ca);
	return rc;
}

/* Standard error's word on a listing that --limit cut. */
static void
more_note(const char *what, size_t *n, int limit)
{
	if (*n > (size_t)limit) {
		*n = (size_t)limit;
		fprintf(stderr, "note: more %s match than the %d shown (--limit)\n",
			what, limit);
	}
}

static int
list_accounts(struct ca *ca, const struct ca_principal *p, int limit, int json)
{
	struct ca_acme_account *v = NULL;
	struct mica_err err;
	size_t n = 0, got;
	char t[32];

	/* One more than shown: whether the listing was cut. */
	if (ca_acme_account_list(ca, p, NULL, limit + 1, &v, &n, NULL, &err) != 0)
		return cli_fail(&err);
	got = n;
	more_note("ACME accounts", &n, limit);
	if (json) {
		json_t *arr = json_array();
		int bad = 0;

		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();

			/* The keys of GET /api/v1/acme/accounts, in its
			 * order (web/api_acme.c account_json). */
			cli_jput(o, "id", mica_jstr(v[i].id), &bad);
			cli_jput(o, "status", mica_jstr(v[i].status), &bad);
			cli_jput(o, "contact", mica_jlines(v[i].contact), &bad);
			cli_jput(o, "token_id", v[i].token_id[0] ?
				 mica_jstr(v[i].token_id) : json_null(), &bad);
			cli_jput(o, "key_thumbprint", mica_jstr(v[i].thumbprint), &bad);
			cli_jput(o, "client", mica_jstr(v[i].client), &bad);
			cli_jput(o, "created_at", cli_jtime(v[i].created_at), &bad);
			cli_jput(o, "deactivated_at", cli_jtime(v[i].deactivated_at), &bad);
			cli_jpush(arr, o, &bad);
		}
		ca_acme_account_array_free(v, got);
		return cli_jprint(arr, bad);
	} else {
		if (n > 0)
			printf("%-32s  %-11s  %-16s  %-20s  %s\n", "ID", "STATUS", "TOKEN",
			       "CREATED", "CONTACT");
		else
			cli_list_empty("ACME accounts");
		for (size_t i = 0; i < n; i++) {
			char contact[128];

			snprintf(contact, sizeof(contact), "%s", v[i].contact ? v[i].contact : "-");
			for (char *c = contact; *c; c++)
				if (*c == '\n')
					*c = ',';
			cli_line("%-32s  %-11s  %-16s  %-20s  %s\n", v[i].id, v[i].status,
			       v[i].token_id[0] ? v[i].token_id : "(open)",
			       cli_time(v[i].created_at, t), contact);
		}
	}
	ca_acme_account_array_free(v, got);
	return 0;
}

static int
list_orders(struct ca *ca, const struct ca_principal *p, const char *acct,
	    int limit, int json)
{
	struct ca_acme_order *v = NULL;
	struct mica_err err;
	size_t n = 0, got;
	char t[32];

	if (ca_acme_order_list(ca, p, acct, NULL, limit + 1, &v, &n, NULL, &err) != 0)
		return cli_fail(&err);
	got = n;
	more_note("ACME orders", &n, limit);
	if (json) {
		json_t *arr = json_array();
		int bad = 0;

		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object(), *names = json_array();

			for (size_t k = 0; k < v[i].nidents; k++)
				cli_jpush(names, mica_jstr(v[i].idents[k].value), &bad);
			/* The keys of GET /api/v1/acme/orders, in its
			 * order (web/api_acme.c order_json). */
			cli_jput(o, "id", mica_jstr(v[i].id), &bad);
			cli_jput(o, "account_id", mica_jstr(v[i].account_id), &bad);
			cli_jput(o, "status", mica_jstr(v[i].status), &bad);
			cli_jput(o, "names", names, &bad);
			cli_jput(o, "profile", mica_jstr(v[i].profile), &bad);
			cli_jput(o, "serial", v[i].serial[0] ?
				 mica_jstr(v[i].serial) : json_null(), &bad);
			cli_jput(o, "error", v[i].error_code != NULL ?
				 mica_jstr(v[i].error_detail) : json_null(), &bad);
			cli_jput(o, "created_at", cli_jtime(v[i].created_at), &bad);
			cli_jput(o, "expires", cli_jtime(v[i].expires), &bad);
			cli_jpush(arr, o, &bad);
		}
		ca_acme_order_array_free(v, got);
		return cli_jprint(arr, bad);
	} else {
		if (n > 0)
			printf("%-32s  %-10s  %-20s  %-32s  %s\n", "ORDER", "STATUS", "CREATED",
			       "SERIAL", "NAMES");
		else
			cli_list_empty("ACME orders");
		for (size_t i = 0; i < n; i++) {
			char names[200] = "";
			size_t o = 0;

			for (size_t k = 0; k < v[i].nidents && o < sizeof(names); k++)
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
						      k ? "," : "", v[i].idents[k].value);
			cli_line("%-32s  %-10s  %-20s  %-32s  %s\n", v[i].id, v[i].status,
			       cli_time(v[i].created_at, t), v[i].serial[0] ? v[i].serial : "-",
			       names);
		}
	}
	ca_acme_order_array_free(v, got);
	return 0;
}

int
cmd_acme(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "account", required_argument, NULL, 'a' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	struct ca_principal cli;
	struct mica_err err;
	struct ca *ca = NULL;
	const char *sub, *what = NULL, *acct = NULL;
	int64_t limit = -1;     /* the API's default: 1000 accounts, 100 orders */
	int json = 0, c, rc = 0;

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "acme", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'j': json = 1; break;
		case 'a':
			/* "" would list every account's orders, as no
			 * --account does: an unset variable, not a wish. */
			if (optarg[0] == '\0')
				return cli_usage("acme", "--account needs an account ID");
			acct = optarg;
			break;
		case 'l':
			if (cli_parse_int(optarg, 1, 10000, &limit) != 0)
				return cli_usage("acme", "--limit wants a number from 1 to 10000");
			break;
		case 'h': fputs(acme_help, stdout); return 0;
		default: return cli_bad_option("acme", "h", opts, argv, NULL);
		}
	}
	if (optind >= argc)
		return cli_usage("acme", "which: accounts or orders");
	sub = argv[optind];
	if (optind + 1 < argc)
		what = argv[optind + 1];
	ca_principal_cli(&cli);
	if (strcmp(sub, "accounts") == 0 && what != NULL && strcmp(what, "deactivate") == 0) {
		if (optind + 3 != argc)
			return cli_usage("acme", "accounts deactivate needs exactly one ID");
		if (ca_open(datadir, 0, NULL, &ca, &err) != 0)
			return cli_fail(&err);
		if (ca_acme_account_deactivate(ca, &cli, argv[optind + 2], &err) != 0)
			rc = cli_fail(&err);
		else
			fprintf(stderr, "deactivated ACME account %s\n", argv[optind + 2]);
		ca_close(ca);
		return rc;
	}
	if (strcmp(sub, "accounts") == 0 &&
	    (what == NULL || (strcmp(what, "list") == 0 && optind + 2 == argc))) {
		if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &err) != 0)
			return cli_fail(&err);
		rc = list_accounts(ca, &cli, limit < 0 ? 1000 : (int)limit, json);
		ca_close(ca);
		return rc;
	}
	if (strcmp(sub, "orders") == 0 && what == NULL) {
		if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &err) != 0)
			return cli_fail(&err);
		rc = list_orders(ca, &cli, acct, limit < 0 ? 100 : (int)limit, json);
		ca_close(ca);
		return rc;
	}
	return cli_usage("acme", "unknown subcommand (accounts [list], accounts "
			 "deactivate ID, orders)");
}

/*
 * cli/cmd_cert.c - certificate commands: issue, renew, revoke, unrevoke,
 * crl, list, show.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ca/csr.h"
#include "ca/x509.h"
#include "cli/cli.h"
#include "util/fsname.h"
#include "util/hex.h"

/* Write the certificate (PEM, optionally followed by the root, or DER). */
static int
emit_cert(struct ca *ca, const struct ca_issued *r, const char *out, int der,
	  int chain, struct mica_err *err)
{
	char *pem = NULL, *all = NULL;
	int rc;

	if (der)
		return cli_write_file(out, r->der, r->der_len, 0644, err);
	if (ca_pem_encode("CERTIFICATE", r->der, r->der_len, &pem, err) != 0)
		return -1;
	if (chain) {
		/* The issuing CA upwards: for a single tier, the root. */
		if (asprintf(&all, "%s%s", pem, ca_chain_pem(ca)) < 0) {
			free(pem);
			return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		}
		rc = cli_write_file(out, all, strlen(all), 0644, err);
		free(all);
	} else {
		rc = cli_write_file(out, pem, strlen(pem), 0644, err);
	}
	free(pem);
	return rc;
}

static void
report_issued(const struct ca_issued *r, const char *what)
{
	char t[32];

	fprintf(stderr, "%s certificate %s, valid until %s\n", what, r->serial,
		cli_time(r->not_after, t));
	/* It may name a CA above (the one whose end cut the validity). */
	if (r->notice[0])
		cli_note("note: %s", r->notice);
}

static const char issue_help[] =
"Usage: mica [-d DIR] issue --csr FILE [--profile NAME] [OPTIONS]\n"
"\n"
"Issue a certificate from a certificate signing request and write it (PEM)\n"
"to standard output or --out. The CSR may be PEM (\"CERTIFICATE REQUEST\" or\n"
"\"NEW CERTIFICATE REQUEST\", as certreq and Exchange write it), bare base64\n"
"or DER; its signature is verified (RSA PKCS#1 v1.5 or RSASSA-PSS, ECDSA;\n"
"SHA-256, -384 or -512). Keys: RSA 2048-4096, EC P-256/P-384.\n"
"The names certified are the CSR's subjectAltName entries; without one,\n"
"its CN when that is a host name, an address or an e-mail address, else\n"
"its subject's emailAddress attributes (an S/MIME request), which go in\n"
"the certificate's subjectAltName.\n"
"The subject and every extension come from the profile and the checked\n"
"names, never from the CSR. The certificate is recorded before it is\n"
"written out. Its validity ends no later than the CA certificate, nor\n"
"than a CA above it (a root that ends first): cut so, with a note.\n"
"Refused (exit 6) by an offline root, a CA awaiting its certificate, and\n"
"one whose certificate (or one above it) the root's imported CRL revokes\n"
"(ca_revoked: see 'mica import-crl --help').\n"
"\n"
"Options:\n"
"  --csr FILE              the CSR ('-' for standard input)\n"
"  --profile NAME          server (default), client, email, ipsec, codesign\n"
"  --days N                validity in days (default: the profile's)\n"
"  --name NAME             certify NAME instead of the CSR's names; repeat\n"
"                          for several (DNS names, IP addresses, emails,\n"
"                          upn:user@domain for a Windows UPN, client only)\n"
"  --out FILE              write the certificate to FILE\n"
"  --chain                 append the CA's chain, up to the root (PEM)\n"
"  --der                   write DER instead of PEM\n"
"  --passphrase-file FILE  the CA key's passphrase\n"
"\n"
"Example:\n"
"  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\\n"
"      -keyout mail.key -subj /CN=mail.contoso.test \\\n"
"      -addext subjectAltName=DNS:mail.contoso.test -out mail.csr\n"
"  mica issue --csr mail.csr --profile server --out mail.crt\n";

int
cmd_issue(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "csr", required_argument, NULL, 'c' },
		{ "profile", required_argument, NULL, 'p' },
		{ "days", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "chain", no_argument, NULL, 'C' },
		{ "der", no_argument, NULL, 'D' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *csrfile = NULL, *out = NULL, *passfile = NULL;
	const char *names[CA_NAMES_MAX];
	struct ca_submit s;
	struct ca_issued r;
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	int64_t v;
	int chain = 0, der = 0, c, rc = 0;

	memset(&s, 0, sizeof(s));
	memset(&r, 0, sizeof(r));
	s.names = names;
	if ((argc = cli_take_data_dir(argc, argv, "ho:", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (cli_once(&once, "issue", c, "ho:", opts, "n") != 0)
			return 2;
		switch (c) {
		case 'c': csrfile = optarg; break;
		case 'p': s.profile = optarg; break;
		case 'd':
			if (cli_parse_int(optarg, 1, CA_DAYS_MAX, &v) != 0)
				return cli_usage("issue", "--days must be a number of days, 1 to %d",
						 CA_DAYS_MAX);
			s.days = (int)v;
			break;
		case 'n':
			if (s.nnames >= CA_NAMES_MAX)
				return cli_usage("issue", "at most %d names", CA_NAMES_MAX);
			names[s.nnames++] = optarg;
			break;
		case 'o': out = optarg; break;
		case 'C': chain = 1; break;
		case 'D': der = 1; break;
		case 'P': passfile = cli_passphrase_file(optarg); break;
		case 'h': fputs(issue_help, stdout); return 0;
		default: return cli_bad_option("issue", "ho:", opts, argv, NULL);
		}
	}
	if (optind < argc)
		return cli_usage("issue", "unexpected argument '%s'", argv[optind]);
	if (csrfile == NULL)
		return cli_usage("issue", "--csr FILE is required");
	if (chain && der)
		return cli_usage("issue", "--chain and --der do not go together");
	if (der && cli_binary_out_check("issue", out) != 0)
		return 2;
	if (cli_read_file(csrfile, CA_CSR_MAX, &csr, &csr_len, &err) != 0)
		return cli_fail(&err);
	s.csr = csr;
	s.csr_len = csr_len;
	if (cli_out_check(out, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (ca_open(datadir, CA_OPEN_UNLOCK, passfile, &ca, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	/* A certificate from a CA about to end ends with it (list and crl
	 * say so too). */
	cli_expiry_warn(ca);
	ca_principal_cli(&cli);
	if (ca_submit_csr(ca, &cli, &s, &r, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (emit_cert(ca, &r, out, der, chain, &err) != 0) {
		rc = cli_fail_issued(&err, r.serial);
		goto out;
	}
	report_issued(&r, "issued");
out:
	ca_issued_free(&r);
	ca_close(ca);
	free(csr);
	return rc;
}

static const char renew_help[] =
"Usage: mica [-d DIR] renew SERIAL [--csr FILE] [--supersede] [OPTIONS]\n"
"\n"
"Issue a new certificate for the same names and profile as SERIAL, recorded\n"
"as its renewal (linked both ways). Without --csr the old public key is\n"
"reused; with --csr the CSR's key is certified (a new key or the same).\n"
"A revoked certificate is renewed only with --force (else exit 6, naming\n"
"when and why it was revoked): a renewal would undo the revocation. Forced,\n"
"standard error and the audit trail say so. One revoked for keyCompromise\n"
"is never renewed with its old key (exit 4), only with --csr and --force.\n"
"\n"
"Options:\n"
"  --csr FILE              certify the key of this CSR\n"
"  --supersede             revoke the old certificate (reason superseded)\n"
"                          and publish a CRL\n"
"  --force                 renew a revoked certificate all the same\n"
"  --days N                validity in days (default: the profile's)\n"
"  --out FILE              write the new certificate to FILE\n"
"  --chain, --der          as for 'mica issue'\n"
"  --passphrase-file FILE  the CA key's passphrase\n";

int
cmd_renew(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "csr", required_argument, NULL, 'c' },
		{ "supersede", no_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "days", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "chain", no_argument, NULL, 'C' },
		{ "der", no_argument, NULL, 'D' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *csrfile = NULL, *out = NULL, *passfile = NULL;
	struct ca_issued r;
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	int64_t v;
	int days = 0, flags = 0, chain = 0, der = 0, c, rc = 0;
	struct ca_cert old;

	memset(&r, 0, sizeof(r));
	memset(&old, 0, sizeof(old));
	if ((argc = cli_take_data_dir(argc, argv, "ho:", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (cli_once(&once, "renew", c, "ho:", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'c': csrfile = optarg; break;
		case 's': flags |= CA_RENEW_SUPERSEDE; break;
		case 'f': flags |= CA_RENEW_FORCE; break;
		case 'd':
			if (cli_parse_int(optarg, 1, CA_DAYS_MAX, &v) != 0)
				return cli_usage("renew", "--days must be a number of days, 1 to %d",
						 CA_DAYS_MAX);
			days = (int)v;
			break;
		case 'o': out = optarg; break;
		case 'C': chain = 1; break;
		case 'D': der = 1; break;
		case 'P': passfile = cli_passphrase_file(optarg); break;
		case 'h': fputs(renew_help, stdout); return 0;
		default: return cli_bad_option("renew", "ho:", opts, argv, NULL);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("renew", "needs exactly one SERIAL");
	if (der && cli_binary_out_check("renew", out) != 0)
		return 2;
	if (csrfile != NULL &&
	    cli_read_file(csrfile, CA_CSR_MAX, &csr, &csr_len, &err) != 0)
		return cli_fail(&err);
	if (cli_out_check(out, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (ca_open(datadir, CA_OPEN_UNLOCK, passfile, &ca, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	cli_expiry_warn(ca);
	ca_principal_cli(&cli);
	/* What the renewal undoes, to say so (the engine refuses it
	 * without --force, and audits it with). Looked up before: after,
	 * --supersede would have changed nothing of a revoked one, but
	 * say what the admin acted on. */
	if ((flags & CA_RENEW_FORCE) != 0 &&
	    ca_cert_get(ca, &cli, argv[optind], &old, &err) != 0)
		memset(&old, 0, sizeof(old));   /* ca_renew says why */
	if (ca_renew(ca, &cli, argv[optind], csr, csr_len, days, flags, &r,
		     &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (old.status == CA_CERT_REVOKED) {
		char t[32];

		cli_note("warning: renewing certificate %s, revoked on %s (%s), "
			 "as --force asked", argv[optind],
			 cli_time(old.revoked_at, t), ca_reason_name(old.reason));
	}
	if (emit_cert(ca, &r, out, der, chain, &err) != 0) {
		rc = cli_fail_issued(&err, r.serial);
		goto out;
	}
	report_issued(&r, "renewed as");
	if ((flags & CA_RENEW_SUPERSEDE) != 0)
		fprintf(stderr, "revoked %s as superseded\n", argv[optind]);
out:
	ca_cert_free(&old);
	ca_issued_free(&r);
	ca_close(ca);
	free(csr);
	return rc;
}

static const char revoke_help[] =
"Usage: mica [-d DIR] revoke SERIAL [--reason REASON] [--invalidity-date WHEN]\n"
"       mica [-d DIR] revoke --from-crl CRL [--from-crl CRL]...\n"
"\n"
"Revoke a certificate and publish a new CRL (a delta CRL when the CA makes\n"
"them: 'mica crl --delta-hours'), said on standard error with its number;\n"
"after a key rollover, the CRL of the key that signed the certificate.\n"
"REASON (RFC 5280 5.3.1) is one of (case-insensitive; default unspecified):\n";
static const char revoke_help_tail[] =
"certificateHold can be undone with 'mica unrevoke'. keyCompromise also\n"
"puts the key on the list of keys never certified again, and revokes every\n"
"other certificate of the same key that is valid, on hold or being signed\n"
"(an expired one too if it is a code-signing certificate; each is named\n"
"on standard error, and in the audit log), raising the reason of those\n"
"revoked for one of the reasons below. A revoked certificate leaves the\n"
"CRL once it has expired, but a code-signing one: timestamped signatures\n"
"outlive it (CA/B Forum Code Signing BR 4.10.1). cACompromise is\n"
"for a CA certificate signed with 'mica sign-ca' only, and aACompromise\n"
"for attribute certificates, which mica does not issue: both are refused\n"
"for others (exit 4). A CA certificate revoked as cACompromise or\n"
"unspecified puts its key on that list too (sign-ca refuses it, as the\n"
"issuing CA itself refuses a new certificate for it once it imports the\n"
"CRL). SERIAL is hexadecimal, with or without colons.\n"
"\n"
"A revoked certificate is revoked again only from certificateHold (for\n"
"good, with any other reason, dated then), and with keyCompromise when it\n"
"was revoked as unspecified, affiliationChanged, superseded,\n"
"cessationOfOperation or privilegeWithdrawn and its key is found\n"
"compromised later (RFC 5280 5.3.1, CA/B Forum BR 7.2.2): the reason is\n"
"raised to keyCompromise, the revocation date kept (a later one would\n"
"extend the trust relying parties give to what the key signed), with\n"
"everything a keyCompromise does above, and complete CRLs published (not\n"
"a delta). Any other: exit 6, nothing changed.\n"
"\n"
"--invalidity-date WHEN says when the key was compromised or the\n"
"certificate otherwise became invalid, if that is known and earlier than\n"
"the revocation (RFC 5280 5.3.2; OpenSSL's ca -crl_compromise): every CRL\n"
"lists it beside the revocation date, in the entry's invalidityDate, and\n"
"'mica show' and --json say it. WHEN is an RFC 3339 time in UTC,\n"
"2026-12-01T10:00:00Z (no fraction, no offset), or a date, 2026-12-01\n"
"(its 00:00:00Z); anything else is a usage error (exit 2). It may not be\n"
"after the revocation - now, or for a raised reason the revocation date\n"
"kept - nor after a relying party's clock could have seen it (no\n"
"leeway: a date in the future is refused), and not for certificateHold\n"
"(a hold says the certificate may come back): exit 4, nothing changed.\n"
"A date before the certificate was issued is taken (a key may leak\n"
"before it is certified). With keyCompromise, the key's other\n"
"certificates revoked with it take the same date (the key was\n"
"compromised then, whichever certificate names it), except one revoked\n"
"before that date, whose revocation date says more; a date stored only\n"
"ever moves earlier.\n"
"\n"
"--from-crl carries forward what CRLs of this CA published elsewhere\n"
"revoke - the last CRLs of the store a backup was restored from, found\n"
"after 'mica restore' (which takes them with --crl too): one per CA key\n"
"after a rollover, and a delta CRL too; DER or PEM, '-' for standard\n"
"input. Each must be signed by one of this CA's keys (current or retired)\n"
"and name it as issuer, else it is refused (exit 3) and nothing changes;\n"
"an expired one is taken, and said so. A certificate the store holds as\n"
"valid is revoked with the CRL's date and reason, one revoked already\n"
"stays as it is (on hold: revoked for good if the CRL says so; given the\n"
"CRL's invalidity date if earlier than its own), a serial\n"
"the store never issued is recorded as revoked (profile from-crl, no\n"
"certificate) so that every later CRL lists it and OCSP answers revoked.\n"
"A hold a newer CRL released is not carried. Audited (cert.revoke) and\n"
"published with a complete CRL numbered above every CRL given, in one\n"
"transaction (the CRLs are signed inside it: a running mica serve's\n"
"issuance waits for that, a second or so at a million entries).\n"
"\n"
"Options:\n"
"  --reason REASON         the revocation reason\n"
"  --invalidity-date WHEN  when it became invalid (RFC 3339, UTC)\n"
"  --from-crl CRL          carry CRL's revocations in (repeatable)\n"
"  --passphrase-file FILE  the CA key's passphrase (to sign the CRL)\n";

/* The reasons come from the engine's one list, so the help names exactly
 * what --reason accepts. */
static void
revoke_usage(void)
{
	fputs(revoke_help, stdout);
	for (int r = 0; r <= CA_REASON_MAX; r++)
		if (ca_reason_valid(r))
			printf("  %s\n", ca_reason_name(r));
	fputs(revoke_help_tail, stdout);
}

/* revoke --from-crl: the CRLs of C carried in. */
static int
revoke_from_crls(const char *datadir, const char *passfile,
		 struct cli_crls *c)
{
	struct ca_principal cli;
	struct ca_carried w;
	struct ca *ca = NULL;
	struct mica_err err;
	int rc = 0;

	if (cli_crls_read(c, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (ca_open(datadir, CA_OPEN_UNLOCK, passfile, &ca, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	ca_principal_cli(&cli);
	if (ca_revoke_from_crls(ca, &cli, c->f, c->n, &w, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	cli_carried_note(&w);
	cli_note("CRL published");
out:
	ca_close(ca);
	cli_crls_free(c);
	return rc;
}

int
cmd_revoke(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "invalidity-date", required_argument, NULL, 'i' },
		{ "from-crl", required_argument, NULL, 'f' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *passfile = NULL;
	struct ca_serials also = { NULL, 0 };
	struct ca_crl crl;
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	struct cli_crls crls;
	int reason = 0, c, rc = 0, reason_given = 0, raised_from = -1;
	int64_t invalid_at = 0;
	char what[160];

	memset(&crls, 0, sizeof(crls));

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "revoke", c, "h", opts, "f") != 0)
			return 2;
		switch (c) {
		case 'r':
			if ((reason = ca_reason_parse(optarg)) < 0)
				return cli_usage("revoke", "unknown reason '%s'", optarg);
			reason_given = 1;
			break;
		case 'i':
			if (ca_invalidity_parse(optarg, &invalid_at, &err) != 0) {
				if (err.kind == MICA_E_BADREQ)
					return cli_usage("revoke", "--invalidity-date "
							 "'%s': %s", optarg, err.msg);
				return cli_fail(&err);
			}
			break;
		case 'f':
			if ((rc = cli_crls_add(&crls, "revoke", "--from-crl",
					       optarg)) != 0)
				return rc;
			break;
		case 'P': passfile = cli_passphrase_file(optarg); break;
		case 'h': revoke_usage(); return 0;
		default: return cli_bad_option("revoke", "h", opts, argv, NULL);
		}
	}
	if (crls.n > 0) {
		/* Each entry brings its own serial and reason. */
		if (optind != argc || reason_given || invalid_at != 0)
			return cli_usage("revoke", "--from-crl takes no SERIAL, "
					 "no --reason and no --invalidity-date: "
					 "the CRL names them");
		return revoke_from_crls(datadir, passfile, &crls);
	}
	if (optind + 1 != argc)
		return cli_usage("revoke", "needs exactly one SERIAL");
	if (ca_open(datadir, CA_OPEN_UNLOCK, passfile, &ca, &err) != 0)
		return cli_fail(&err);
	ca_principal_cli(&cli);
	if (ca_revoke_all(ca, &cli, argv[optind], reason, invalid_at, &also, &crl,
			  &raised_from, &err) != 0) {
		rc = cli_fail(&err);
	} else {
		for (size_t i = 0; i < also.n; i++)
			fprintf(stderr, "revoked %s too (%s: the same key)\n",
				also.v[i], ca_reason_name(reason));
		if (raised_from >= 0)
			snprintf(what, sizeof(what), "reason raised from %s to "
				 "%s, revocation date kept",
				 ca_reason_name(raised_from),
				 ca_reason_name(reason));
		else
			snprintf(what, sizeof(what), "%s", ca_reason_name(reason));
		if (invalid_at > 0) {
			char when[32];

			cli_time(invalid_at, when);
			snprintf(what + strlen(what), sizeof(what) - strlen(what),
				 ", invalid since %s", when);
		}
		/* Which CRL: a CA that makes deltas publishes a revocation
		 * in a delta CRL, its complete CRL keeping its period. */
		if (crl.delta_base > 0)
			cli_note("revoked %s (%s); delta CRL %lld published "
				 "(on complete CRL %lld)", argv[optind], what,
				 (long long)crl.number,
				 (long long)crl.delta_base);
		else
			cli_note("revoked %s (%s); CRL %lld published",
				 argv[optind], what, (long long)crl.number);
	}
	ca_serials_free(&also);
	ca_close(ca);
	return rc;
}

static const char unrevoke_help[] =
"Usage: mica [-d DIR] unrevoke SERIAL [--passphrase-file FILE]\n"
"\n"
"Release a certificate revoked with reason certificateHold, and publish a\n"
"new CRL without it (and a delta CRL on it when the CA makes them), said\n"
"on standard error with its number. Certificates revoked for any other\n"
"reason stay revoked.\n"
"\n"
"Options:\n"
"  --passphrase-file FILE  the CA key's passphrase (to sign the CRL)\n";

int
cmd_unrevoke(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *passfile = NULL;
	struct ca_principal cli;
	struct ca_crl crl;
	struct ca *ca = NULL;
	struct mica_err err;
	int c, rc = 0;

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "unrevoke", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'P': passfile = cli_passphrase_file(optarg); break;
		case 'h': fputs(unrevoke_help, stdout); return 0;
		default: return cli_bad_option("unrevoke", "h", opts, argv, NULL);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("unrevoke", "needs exactly one SERIAL");
	if (ca_open(datadir, CA_OPEN_UNLOCK, passfile, &ca, &err) != 0)
		return cli_fail(&err);
	ca_principal_cli(&cli);
	if (ca_unrevoke_crl(ca, &cli, argv[optind], &crl, &err) != 0)
		rc = cli_fail(&err);
	else if (crl.delta_base > 0)
		/* A release publishes complete CRLs (no delta says it without
		 * removeFromCRL), then a delta on them when the CA makes
		 * deltas: name both, as revoke names its CRL. */
		fprintf(stderr, "released %s from hold; CRL %lld and delta CRL "
			"%lld published\n", argv[optind],
			(long long)crl.delta_base, (long long)crl.number);
	else
		fprintf(stderr, "released %s from hold; CRL %lld published\n",
			argv[optind], (long long)crl.number);
	ca_close(ca);
	return rc;
}

static const char crl_help[] =
"Usage: mica [-d DIR] crl [--out FILE] [--pem] [--key N] [--delta]\n"
"                         [--delta-hours N] [--passphrase-file FILE]\n"
"\n"
"Publish a new CRL now: version 2, the next CRL number, thisUpdate now,\n"
"nextUpdate in the CA's CRL period (7 days by default; 180 for an offline\n"
"root, whose CRL - the ARL - lists the CA certificates it revoked; 'mica\n"
"config set --crl-days N' changes it for the CRLs from then on), one\n"
"entry per revoked certificate that has not expired, with its reason. With\n"
"--out the CRL is written to FILE (DER, or PEM with --pem); with --pem\n"
"alone it goes to standard output.\n"
"\n"
"A CA that rolled over to a new key publishes one CRL per key (the old key\n"
"for what it issued); the current key's is written, or key N's with --key.\n"
"\n"
"Delta CRLs (RFC 5280 5.2.4): --delta-hours N (1-168; 0 turns them off)\n"
"makes the CA publish, every N hours (by 'mica serve'), a delta CRL per key\n"
"listing what was revoked since the key's complete CRL, which names it\n"
"(Freshest CRL: URL/delta.crl); a revocation then publishes a delta, and the\n"
"complete CRL keeps its period. --delta-hours 0 publishes a last delta,\n"
"valid as long as the complete CRLs before that name one (a CRL period at\n"
"least). --delta publishes a delta CRL now (and writes it with --out;\n"
"beside --delta-hours N, the delta that publishes). An offline root takes\n"
"no --delta-hours N (exit 6): nothing would publish its deltas.\n"
"\n"
"The CA key's passphrase comes from --passphrase-file FILE, else\n"
"$MICA_PASSPHRASE, else DIR/passphrase.\n";

int
cmd_crl(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "pem", no_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "delta", no_argument, NULL, 'D' },
		{ "delta-hours", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *out = NULL, *passfile = NULL;
	int64_t delta_hours = -1;
	int delta = 0;
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	struct ca_crl crl;
	char t[32], *pem = NULL;
	int64_t key = -1;
	int as_pem = 0, c, rc = 0;

	memset(&crl, 0, sizeof(crl));
	if ((argc = cli_take_data_dir(argc, argv, "ho:", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (cli_once(&once, "crl", c, "ho:", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': as_pem = 1; break;
		case 'k':
			if (cli_parse_int(optarg, 0, 15, &key) != 0)
				return cli_usage("crl", "--key must be a key index, 0-15");
			break;
		case 'P': passfile = cli_passphrase_file(optarg); break;
		case 'D': delta = 1; break;
		case 'H':
			if (cli_parse_int(optarg, 0, CA_DELTA_HOURS_MAX, &delta_hours) != 0)
				return cli_usage("crl", "--delta-hours must be 0-%d", CA_DELTA_HOURS_MAX);
			break;
		case 'h': fputs(crl_help, stdout); return 0;
		default: return cli_bad_option("crl", "ho:", opts, argv, NULL);
		}
	}
	if (optind < argc)
		return cli_usage("crl", "unexpected argument '%s'", argv[optind]);
	if (delta && delta_hours == 0)
		return cli_usage("crl", "--delta with --delta-hours 0: delta CRLs "
				 "would be turned off");
	if (out != NULL && !as_pem && cli_binary_out_check("crl", out) != 0)
		return 2;
	if (cli_out_check(out, &err) != 0)
		return cli_fail(&err);
	if (ca_open(datadir, CA_OPEN_UNLOCK, passfile, &ca, &err) != 0)
		return cli_fail(&err);
	/* A CRL signed by a CA certificate that has expired is refused by
	 * relying parties: published all the same (a relying party checking
	 * at an earlier time may take it), and said. */
	cli_expiry_warn(ca);
	/* A key asked for that signs no CRL: refused before anything is
	 * published. */
	if (key >= 0) {
		int idx[16], have = 0;
		size_t nk = ca_crl_keys(ca, idx);

		for (size_t i = 0; i < nk; i++)
			have |= idx[i] == (int)key;
		if (!have) {
			mica_err_set(&err, MICA_E_NOTFOUND, "no_such_key",
				     "this CA has no key %d that signs CRLs",
				     (int)key);
			rc = cli_fail(&err);
			goto out;
		}
	}
	ca_principal_cli(&cli);
	if (delta_hours >= 0) {
		if (ca_crl_set_delta_hours(ca, &cli, (int)delta_hours, &err) != 0) {
			rc = cli_fail(&err);
			goto out;
		}
		if (delta_hours > 0)
			fprintf(stderr, "delta CRLs every %d hour(s)\n", (int)delta_hours);
		else
			fprintf(stderr, "no delta CRLs\n");
		/* The complete CRLs (and a delta) are published: write the
		 * current key's (the last of ca_crl_keys), its delta with
		 * --delta. */
		int idx[16];
		size_t nk = ca_crl_keys(ca, idx);

		if (nk == 0 ||
		    (delta ? ca_crl_delta_current_key(ca, idx[nk - 1], &crl, &err) :
		     ca_crl_current_key(ca, idx[nk - 1], &crl, &err)) != 0) {
			rc = cli_fail(&err);
			goto out;
		}
	} else if (delta) {
		if (ca_crl_publish_delta(ca, &cli, &crl, &err) != 0) {
			rc = cli_fail(&err);
			goto out;
		}
	} else if (ca_crl_publish(ca, &cli, &crl, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	/* Every key published its CRL; write the one asked for. */
	if (key >= 0) {
		ca_crl_free(&crl);
		if ((delta ? ca_crl_delta_current_key(ca, (int)key, &crl, &err) :
		     ca_crl_current_key(ca, (int)key, &crl, &err)) != 0) {
			rc = cli_fail(&err);
			goto out;
		}
	}
	if (as_pem) {
		if (ca_pem_encode("X509 CRL", crl.der, crl.der_len, &pem, &err) != 0 ||
		    cli_write_file(out, pem, strlen(pem), 0644, &err) != 0) {
			rc = cli_fail(&err);
			goto out;
		}
	} else if (out != NULL) {
		if (cli_write_file(out, crl.der, crl.der_len, 0644, &err) != 0) {
			rc = cli_fail(&err);
			goto out;
		}
	}
	fprintf(stderr, "published %sCRL number %lld, next update %s\n",
		delta ? "delta " : "", (long long)crl.number,
		cli_time(crl.next_update, t));
out:
	free(pem);
	ca_crl_free(&crl);
	ca_close(ca);
	return rc;
}

/* S, or null when empty or NULL: what the API shows for a field it has
 * no value for. */
static json_t *
opt_jstr(const char *s)
{
	return s != NULL && s[0] != '\0' ? mica_jstr(s) : json_null();
}

/* The certificate as --json shows it: the keys of GET
 * /api/v1/certificates, in its order, null where it has null (web/json.c
 * web_json_cert), so that a script reads one shape from both; NULL when
 * out of memory. */
static json_t *
cert_json(const struct ca_cert *c, int64_t now)
{
	char hex[65];
	json_t *o = json_object();
	int bad = 0;

	mica_hex_encode(c->spki_sha256, sizeof(c->spki_sha256), hex);
	cli_jput(o, "serial", mica_jstr(c->serial), &bad);
	cli_jput(o, "status", json_string(cli_cert_status(c, now)), &bad);
	cli_jput(o, "profile", mica_jstr(c->profile), &bad);
	cli_jput(o, "subject", mica_jstr(c->subject), &bad);
	cli_jput(o, "names", mica_jlines(c->names), &bad);
	cli_jput(o, "not_before", cli_jtime(c->not_before), &bad);
	cli_jput(o, "not_after", cli_jtime(c->not_after), &bad);
	cli_jput(o, "request_id", opt_jstr(c->request_id), &bad);
	cli_jput(o, "renewal_of", opt_jstr(c->renewal_of), &bad);
	cli_jput(o, "renewed_by", opt_jstr(c->renewed_by), &bad);
	cli_jput(o, "renewed", json_boolean(c->renewed), &bad);
	if (c->status == CA_CERT_REVOKED) {
		cli_jput(o, "revoked_at", cli_jtime(c->revoked_at), &bad);
		cli_jput(o, "revocation_reason", json_string(ca_reason_name(c->reason)), &bad);
		cli_jput(o, "invalidity_date", c->invalid_at > 0 ?
			 cli_jtime(c->invalid_at) : json_null(), &bad);
	}
	cli_jput(o, "spki_sha256", ca_cert_from_crl(c) ? json_null() : json_string(hex), &bad);
	cli_jput(o, "created_at", cli_jtime(c->created_at), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char list_help[] =
"Usage: mica [-d DIR] list [--status STATUS] [--expiring-days N] [OPTIONS]\n"
"\n"
"List certificates: newest first; with --expiring-days the soonest to\n"
"expire first; with --status expired the most recently expired first.\n"
"\n"
"Options:\n"
"  --status STATUS     valid (current), revoked, expired, issuing (recorded\n"
"                      but never completed: a crash in between, which\n"
"                      'mica serve' forgets after ten minutes, giving\n"
"                      back the token use it took), or all (the default)\n"
"  --expiring-days N   only certificates that expire within N days, valid\n"
"                      ones unless --status names another, and that no\n"
"                      valid certificate renewed, directly or through a\n"
"                      renewal since renewed in turn (what to renew;\n"
"                      \"renewed\" in --json)\n"
"  --name NAME         only certificates with this name (DNS, IP, email or\n"
"                      upn:user@domain, any case; an IPv6 address in any\n"
"                      spelling); NAME* for the names that begin with NAME\n"
"  --token ID          only certificates issued with a use of the\n"
"                      enrollment token ID (as 'mica token list' shows it;\n"
"                      over ACME, the token of the account's EAB): what to\n"
"                      revoke when a token leaked\n"
"  --limit N           at most N certificates (default 100); when more\n"
"                      match, standard error says so\n"
"  --all               every certificate that matches, however many (read\n"
"                      from the store a thousand at a time)\n"
"  --json              JSON (an array), for scripts and jq\n"
"\n"
"Example: revoke what a leaked token issued, after revoking the token:\n"
"  mica token revoke 6485a189a8a068f1\n"
"  mica list --token 6485a189a8a068f1 --status valid --all --json |\n"
"      jq -r '.[].serial' |\n"
"      while read -r s; do mica revoke \"$s\"; done\n"
"\n"
"Certificates name only the enrollment token whose use they took: an\n"
"admin token's id is refused (exit 3); what an admin token did is in\n"
"'mica audit', as actor admin:ID.\n"
"\n"
"Exit status: 0, also when nothing matches; 2 for a bad option; 3 for an\n"
"admin token's id; 5 when --token names no token.\n";

/* Certificates read from the store at a time (ca_cert_list's most). */
#define LIST_PAGE 1000

static void
list_row(const struct ca_cert *c, int64_t now, int json,
	 struct cli_jstream *js, size_t *shown, int *rc)
{
	char t[32], names[256];

	if (json) {
		if (*rc == 0 && cli_jstream_item(js, cert_json(c, now), 0) != 0)
			*rc = 1;
	} else {
		if (*shown == 0)
			printf("%-32s  %-8s  %-8s  %-20s  %s\n", "SERIAL",
			       "STATUS", "PROFILE", "NOT AFTER", "NAMES");
		snprintf(names, sizeof(names), "%s", c->names ? c->names : "");
		for (char *p = names; *p; p++)
			if (*p == '\n')
				*p = ',';
		cli_line("%-32s  %-8s  %-8s  %-20s  %s\n", c->serial,
		       cli_cert_status(c, now), c->profile,
		       cli_time(c->not_after, t), names);
	}
	(*shown)++;
}

int
cmd_list(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "expiring-days", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'n' },
		{ "token", required_argument, NULL, 't' },
		{ "limit", required_argument, NULL, 'l' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	struct ca_cert_filter f;
	struct ca_cert *v = NULL;
	size_t n = 0, shown = 0;
	struct ca_cursor next;
	struct cli_jstream js = { 0 };
	int64_t x, want = 100;    /* 0: all */
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	int json = 0, c, rc = 0, limit_given = 0, all = 0;

	memset(&f, 0, sizeof(f));
	f.status = -1;
	f.now = (int64_t)time(NULL);
	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "list", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 's':
			if (strcmp(optarg, "valid") == 0) f.status = CA_FILTER_CURRENT;
			else if (strcmp(optarg, "revoked") == 0) f.status = CA_CERT_REVOKED;
			else if (strcmp(optarg, "expired") == 0) f.status = CA_FILTER_EXPIRED;
			else if (strcmp(optarg, "issuing") == 0) f.status = CA_CERT_ISSUING;
			else if (strcmp(optarg, "all") == 0) f.status = -1;
			else return cli_usage("list", "--status is valid, revoked, expired, issuing or all");
			break;
		case 'e':
			if (cli_parse_int(optarg, 1, CA_DAYS_MAX, &x) != 0)
				return cli_usage("list", "--expiring-days must be a number of days, 1 to %d",
						 CA_DAYS_MAX);
			f.expiring_before = f.now + x * 86400;
			break;
		case 'n':
			/* An empty name would match nothing the admin meant;
			 * the store would take it for no filter at all. */
			if (optarg[0] == '\0')
				return cli_usage("list", "--name needs a name");
			f.name = optarg;
			break;
		case 't':
			/* The whole token is a secret: never repeated. */
			if (strncmp(optarg, "mica_", 5) == 0)
				return cli_usage("list", "--token takes the token's id, as "
						 "'mica token list' shows it, not the token itself");
			if (optarg[0] == '\0' || strlen(optarg) > 39 ||
			    strspn(optarg, "0123456789abcdefABCDEF") != strlen(optarg))
				return cli_usage("list", "--token takes a token's id: "
						 "hexadecimal, as 'mica token list' shows it");
			f.token_id = optarg;
			break;
		case 'l':
			if (cli_parse_int(optarg, 1, INT64_MAX, &want) != 0)
				return cli_usage("list", "--limit must be a positive number");
			limit_given = 1;
			break;
		case 'a': all = 1; break;
		case 'j': json = 1; break;
		case 'h': fputs(list_help, stdout); return 0;
		default: return cli_bad_option("list", "h", opts, argv, NULL);
		}
	}
	if (optind < argc)
		return cli_usage("list", "unexpected argument '%s'", argv[optind]);
	if (all && limit_given)
		return cli_usage("list", "--all and --limit exclude each other");
	if (all)
		want = 0;
	if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &err) != 0)
		return cli_fail(&err);
	/* What expires soon includes the CA itself. */
	cli_expiry_warn(ca);
	ca_principal_cli(&cli);
	/* Page after page from the store (keyset pages: none skipped or
	 * repeated while certificates are issued meanwhile), each printed
	 * and dropped before the next is read. A next page exists when its
	 * cursor's id is set (as the API's next_cursor). */
	for (;;) {
		int64_t left = want == 0 ? LIST_PAGE : want - (int64_t)shown;

		f.limit = left < LIST_PAGE ? (int)left : LIST_PAGE;
		if (ca_cert_list(ca, &cli, &f, &v, &n, &next, &err) != 0) {
			rc = cli_fail(&err);
			break;
		}
		for (size_t i = 0; i < n; i++)
			list_row(&v[i], f.now, json, &js, &shown, &rc);
		ca_cert_array_free(v, n);
		v = NULL;
		n = 0;
		if (rc != 0 || next.id == 0)
			break;
		if (want != 0 && (int64_t)shown >= want) {
			/* A page that ends before the matches do must not
			 * pass for all of them: "what expires soon" cut at
			 * 100 would hide the rest. */
			fprintf(stderr, "note: more certificates match than the "
				"%lld shown (--limit N, or --all)\n",
				(long long)want);
			break;
		}
		f.cursor = next;
	}
	if (rc == 0 && json)
		rc = cli_jstream_end(&js);
	else if (rc == 0 && shown == 0)
		cli_list_empty("certificates match");
	ca_close(ca);
	return rc;
}

static const char show_help[] =
"Usage: mica [-d DIR] show SERIAL [--pem|--der|--json|--chain|--p7b]\n"
"\n"
"Show one certificate: its status, names, validity, revocation and renewal\n"
"links (default), the certificate itself (--pem, --der), all of it as JSON\n"
"(--json, with the PEM in \"certificate\" and its chain in \"chain\"), or\n"
"the certificate with its chain, for the server that installs it:\n"
"\n"
"  --chain   PEM: the certificate, then the CA that issued it, then each\n"
"            certificate above up to the root (root included, last, as in\n"
"            /ca-chain.pem and the API's \"chain\"): nginx ssl_certificate,\n"
"            Apache SSLCertificateFile, Postfix smtpd_tls_chain_files (the\n"
"            key file first there), HAProxy (with the key appended)\n"
"  --p7b     DER PKCS#7 certs-only (.p7b) of the same certificates, what\n"
"            Windows imports: certreq -accept cert.p7b, IIS \"Complete\n"
"            Certificate Request\", Exchange's Import-ExchangeCertificate\n"
"\n"
"The chain is that of the CA key that signed this certificate: after a\n"
"key rollover ('mica renew-ca'), an older certificate comes with the old\n"
"CA certificate and the chain it had. --pem, --der, --json, --chain and\n"
"--p7b do not go together. Written to standard output:\n"
"\n"
"  mica show 5f1c... --chain > mail.contoso.test.pem\n"
"  mica show 5f1c... --p7b > mail.contoso.test.p7b\n";

int
cmd_show(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pem", no_argument, NULL, 'p' },
		{ "der", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "chain", no_argument, NULL, 'c' },
		{ "p7b", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum { SHOW_TEXT, SHOW_PEM, SHOW_DER, SHOW_JSON, SHOW_CHAIN, SHOW_P7B };
	struct cli_once once = { 0 };
	struct ca_cert cert;
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	char *pem = NULL, t1[32], t2[32];
	unsigned char *bundle = NULL;
	size_t bundle_len = 0;
	int mode = SHOW_TEXT, c, rc = 0;
	int64_t now = (int64_t)time(NULL);

	memset(&cert, 0, sizeof(cert));
	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "show", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'p':
		case 'D':
		case 'j':
		case 'c':
		case 'P': {
			int m = c == 'p' ? SHOW_PEM : c == 'D' ? SHOW_DER :
				c == 'j' ? SHOW_JSON : c == 'c' ? SHOW_CHAIN :
				SHOW_P7B;

			/* One form: the last of two must not win silently. */
			if (mode != SHOW_TEXT && mode != m)
				return cli_usage("show", "--pem, --der, --json, "
						 "--chain and --p7b do not go together");
			mode = m;
			break;
		}
		case 'h': fputs(show_help, stdout); return 0;
		default: return cli_bad_option("show", "h", opts, argv, NULL);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("show", "needs exactly one SERIAL");
	if ((mode == SHOW_DER || mode == SHOW_P7B) &&
	    cli_binary_out_check("show", NULL) != 0)
		return 2;
	if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &err) != 0)
		return cli_fail(&err);
	ca_principal_cli(&cli);
	if (ca_cert_get(ca, &cli, argv[optind], &cert, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	/* The forms that are the certificate's bytes need them. */
	if (mode != SHOW_TEXT && mode != SHOW_JSON &&
	    ca_cert_body_check(&cert, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if ((mode == SHOW_CHAIN || mode == SHOW_P7B) &&
	    (ca_bundle(ca, cert.der, cert.der_len, cert.key_idx,
		       mode == SHOW_CHAIN ? CA_BUNDLE_PEM : CA_BUNDLE_P7B,
		       &bundle, &bundle_len, &err) != 0 ||
	     cli_write_file(NULL, bundle, bundle_len, 0644, &err) != 0)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (cert.der != NULL &&
	    ca_pem_encode("CERTIFICATE", cert.der, cert.der_len, &pem, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (mode == SHOW_CHAIN || mode == SHOW_P7B) {
		/* Written above. */
	} else if (mode == SHOW_PEM) {
		fputs(pem, stdout);
	} else if (mode == SHOW_DER) {
		if (cli_write_file(NULL, cert.der, cert.der_len, 0644, &err) != 0)
			rc = cli_fail(&err);
	} else if (mode == SHOW_JSON) {
		json_t *o = cert_json(&cert, now);
		int bad = 0;
		/* GET /api/v1/certificates/SERIAL's: the chain beside the
		 * certificate ([] for a key this handle does not know). */
		if (pem != NULL) {
			cli_jput(o, "certificate", json_string(pem), &bad);
			cli_jput(o, "chain", mica_jpems(ca_key_chain_pem(ca, cert.key_idx)),
				 &bad);
		}
		rc = cli_jprint(o, bad || o == NULL);
	} else {
		char *names = cert.names ? strdup(cert.names) : NULL;
		cli_line("Serial:      %s\n", cert.serial);
		cli_line("Status:      %s\n", cli_cert_status(&cert, now));
		cli_line("Profile:     %s\n", cert.profile);
		cli_line("Subject:     %s\n", cert.subject ? cert.subject : "");
		for (char *p = names; p && *p; p++)
			if (*p == '\n')
				*p = ' ';
		cli_line("Names:       %s\n", names ? names : "");
		free(names);
		printf("Not before:  %s\n", cli_time(cert.not_before, t1));
		printf("Not after:   %s\n", cli_time(cert.not_after, t2));
		if (cert.status == CA_CERT_REVOKED)
			printf("Revoked:     %s (%s)\n", cli_time(cert.revoked_at, t1),
			       ca_reason_name(cert.reason));
		if (cert.status == CA_CERT_REVOKED && cert.invalid_at > 0)
			printf("Invalidity date: %s\n",
			       cli_time(cert.invalid_at, t2));
		if (cert.renewal_of[0])
			cli_line("Renews:      %s\n", cert.renewal_of);
		if (cert.renewed_by[0])
			printf("Renewed by:  %s%s\n", cert.renewed_by,
			       cert.renewed ? "" : " (no longer valid)");
		if (cert.request_id != NULL)
			cli_line("Request:     %s\n", cert.request_id);
		if (ca_cert_from_crl(&cert))
			printf("Known from:  a CRL of this CA that listed it "
			       "(restore --crl, revoke --from-crl): issued by the "
			       "store a backup was restored from, after the "
			       "backup; its dates are stand-ins\n");
	}
out:
	free(bundle);
	free(pem);
	ca_cert_free(&cert);
	ca_close(ca);
	return rc;
}

static const char publish_help[] =
"Usage: mica [-d DIR] publish [--since N] OUTDIR\n"
"\n"
"Write into OUTDIR (created if missing) what relying parties fetch, so that\n"
"any web server, object store or CDN can serve it: ca.crt, ca.pem,\n"
"root.crt, root.pem, ca-chain.pem, ca.p7b, crl, crl.pem, root.crl (once\n"
"imported), delta.crl (when the CA publishes deltas), after a key rollover\n"
"keys/N/ca.crt, keys/N/crl and keys/N/delta.crl for each key N (what\n"
"/ca/N.crt, /crl/N and /delta.crl/N serve; the README's nginx example maps\n"
"them), and ocsp/<base64 request>, the pre-signed OCSP response of every\n"
"certificate, at the path a GET /ocsp/{base64 request} decodes to. Each file\n"
"is written to a temporary name and renamed into place; a response already\n"
"there is kept, and the file of a certificate revoked since its response\n"
"was signed is removed (the web server then asks mica: see the README's\n"
"nginx example). Signs nothing: the responses are those 'mica serve' (or\n"
"'mica ocsp-sign') signed ahead of time, for the current key's certificates\n"
"and for those of a key retired by a rollover whose CA certificate is valid\n"
"('mica serve --publish OUTDIR' keeps OUTDIR current itself). OUTDIR is\n"
"meant to be served: the CA's data directory, where the store and the\n"
"passphrase are, a folder inside it or one that holds it is refused (exit 2).\n"
"\n"
"Prints the change number it reached. --since N, that number from an\n"
"earlier run on the same OUTDIR: only the OCSP responses signed or dropped\n"
"since are looked at (as the daemon's passes between its hourly full ones);\n"
"responses that went stale and certificates that expired wait for a run\n"
"without --since. A number past the store's last change (a store restored\n"
"from an older backup) makes a full run, and a note says so.\n"
"\n"
"A CRL it publishes whose nextUpdate has passed (the store's latest, when\n"
"no new one could be signed: the daemon not running, the CA key not\n"
"usable) is published all the same, and a warning on standard error names\n"
"it and what to do ('mica crl', or for root.crl 'mica import-crl'); the\n"
"exit status stays 0, as for every warning.\n";

int
cmd_publish(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 'S' },
		{ "help",  no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	struct ca_publish_stats st;
	struct ca *ca = NULL;
	struct mica_err err;
	int64_t seq = -1;
	int c, rc = 0;

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "publish", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'S':
			if (cli_parse_int(optarg, 0, INT64_MAX / 2, &seq) != 0)
				return cli_usage("publish", "--since wants a change number");
			break;
		case 'h': fputs(publish_help, stdout); return 0;
		default: return cli_bad_option("publish", "h", opts, argv, NULL);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("publish", "one output directory is required");
	/* OUTDIR is for a web server to serve: never the folder of the
	 * store and the passphrase, nor one inside it. */
	if (cli_in_data_dir(argv[optind]))
		return cli_usage("publish", "%s is the CA's data directory, "
				 "inside it or above it (a web server serving "
				 "it would serve the store and the passphrase): "
				 "publish into a folder of its own",
				 argv[optind]);
	/* OUTDIR as --out's FILE is checked: a user's mistake is a usage
	 * error (2) before anything is done, not an internal one (1). */
	{
		const char *dir = argv[optind];
		struct stat sb;

		if (dir[0] != '\0' && stat(dir, &sb) == 0) {
			if (!S_ISDIR(sb.st_mode))
				return cli_usage("publish", "%s is not a directory",
						 dir);
			if (access(dir, W_OK | X_OK) != 0)
				return cli_usage("publish", "cannot write %s: %s",
						 dir, strerror(errno));
		} else if (dir[0] != '\0' && errno == ENOENT) {
			/* Made by publish, in a folder that must be there
			 * ("out/": the folder that holds out). */
			char self[PATH_MAX], parent[PATH_MAX];
			size_t n = strlen(dir);

			if (n >= sizeof(self))
				return cli_usage("publish", "path too long");
			memcpy(self, dir, n + 1);
			if (n > 1 && self[n - 1] == '/')
				self[n - 1] = '\0';
			if (mica_dir_of(self, parent, sizeof(parent)) != 0)
				return cli_usage("publish", "path too long");
			if (access(parent, W_OK | X_OK) != 0)
				return cli_usage("publish", "cannot create %s: %s: %s",
						 dir, parent, strerror(errno));
		}
	}
	if (ca_open(datadir, 0, NULL, &ca, &err) != 0)
		return cli_fail(&err);
	if (ca_publish_since(ca, argv[optind], &seq, &st, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (st.past >= 0)
		fprintf(stderr, "note: --since %lld is past this store's last "
			"change (a store restored from an older backup, or "
			"another store's number): every certificate was looked "
			"at instead\n", (long long)st.past);
	cli_note("published to %s: %zu file(s) written; OCSP "
		 "responses: %zu written, %zu unchanged, %zu removed; "
		 "%zu certificate(s) looked at, up to change %lld",
		argv[optind], st.files, st.ocsp_written, st.ocsp_kept,
		st.ocsp_removed, st.ocsp_read, (long long)seq);
	/* Published all the same: it is what the store holds, and taking it
	 * away would serve relying parties no better. The admin must know. */
	for (size_t i = 0; i < st.nstale && i < CA_PUBLISH_STALE_MAX; i++) {
		const struct ca_publish_stale *x = &st.stale[i];
		char when[32];

		cli_time(x->next_update, when);
		if (x->root)
			cli_note("warning: %s/%s, the root's CRL (number %lld), "
				 "expired at %s: relying parties that check it "
				 "refuse this CA's certificate; import the "
				 "root's newer CRL ('mica import-crl'), then "
				 "publish again", argv[optind], x->file,
				 (long long)x->number, when);
		else
			cli_note("warning: %s/%s, %sCRL %lld, expired at %s: "
				 "relying parties refuse it; sign a new one "
				 "('mica crl%s', or let 'mica serve' run), then "
				 "publish again", argv[optind], x->file,
				 x->delta ? "delta " : "", (long long)x->number,
				 when, x->delta ? " --delta" : "");
	}
	if (st.nstale > CA_PUBLISH_STALE_MAX)
		cli_note("warning: %zu more expired CRL(s) published",
			 st.nstale - CA_PUBLISH_STALE_MAX);
out:
	ca_close(ca);
	return rc;
}

static const char ocsp_sign_help[] =
"Usage: mica [-d DIR] ocsp-sign [--ocsp-signer delegated|ca]\n"
"                              [--passphrase-file FILE]\n"
"\n"
"Sign ahead of time the OCSP responses that are due, once, as a pass of\n"
"'mica serve''s background refresh does: for every certificate of the\n"
"current key, and of a retired key whose CA certificate is valid, that the\n"
"store marked (issued, revoked, put on hold or released since), or whose\n"
"response is less than half a period from its nextUpdate; the first time\n"
"after an upgrade, a rollover or a change of --ocsp-signer, also every one\n"
"with no response or one signed otherwise than --ocsp-signer says. Each is\n"
"found through an index: with nothing to do, nothing is read. Nothing else\n"
"is signed again. Then 'mica publish' writes them out. For a\n"
"store filled while no daemon ran, for a cron job next to 'mica publish'\n"
"when no daemon runs at all, and for the benchmark. Prints how many were\n"
"signed. The delegated responder is this process's own (a new responder\n"
"certificate, recorded as the daemon's are), the CA key with\n"
"--ocsp-signer ca. An offline root signs none (exit 6, root_only): CA\n"
"certificates and its CRL, nothing else.\n";

int
cmd_ocsp_sign(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ocsp-signer",     required_argument, NULL, 'O' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help",            no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *passfile = NULL;
	struct ca *ca = NULL;
	struct mica_err err;
	struct ca_ocsp_pass p;
	int c, flags = CA_OPEN_UNLOCK, rc = 0;

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "ocsp-sign", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'O':
			if (strcmp(optarg, "ca") == 0)
				flags |= CA_OPEN_OCSP_BY_CA;
			else if (strcmp(optarg, "delegated") != 0)
				return cli_usage("ocsp-sign", "--ocsp-signer wants 'delegated' or 'ca'");
			break;
		case 'P': passfile = cli_passphrase_file(optarg); break;
		case 'h': fputs(ocsp_sign_help, stdout); return 0;
		default: return cli_bad_option("ocsp-sign", "h", opts, argv, NULL);
		}
	}
	if (optind != argc)
		return cli_usage("ocsp-sign", "unexpected argument: %s", argv[optind]);
	if (ca_open(datadir, flags, passfile, &ca, &err) != 0)
		return cli_fail(&err);
	if (ca_ocsp_refresh_pass(ca, SIZE_MAX, &p, &err) != 0)
		rc = cli_fail(&err);
	else
		fprintf(stderr, "%zu OCSP response(s) signed ahead of time "
			"(read: %zu marked, %zu due, %zu walked; %zu given "
			"up)\n", p.signed_n, p.marked, p.due, p.walked,
			p.dropped);
	ca_close(ca);
	return rc;
}

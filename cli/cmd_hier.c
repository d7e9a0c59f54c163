/*
 * cli/cmd_hier.c - the hierarchy commands: install-ca, sign-ca, renew-ca,
 * import-crl, export-chain. Each parses its options, reads its files and
 * hands over to the engine (ca/ca.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/cacert.h"
#include "ca/x509.h"
#include "cli/cli.h"

#define PERMIT_MAX 32

static const char install_help[] =
"Usage: mica [-d DIR] install-ca --cert FILE [--chain FILE]...\n"
"\n"
"Install the CA certificate that a CA above issued to this one: an issuing\n"
"CA made with 'mica init --subordinate' (then it becomes active), or the\n"
"next certificate after 'mica renew-ca'. FILE may be PEM (one or several\n"
"certificates), DER, or a PKCS#7 .p7b as Windows' certreq returns; the\n"
"certificate is the one for this CA's key (or the pending renewal's); for\n"
"the current key it keeps the current subject and subjectKeyIdentifier,\n"
"which the certificates already issued name (else exit 3).\n"
"\n"
"It must be a CA certificate (cA, keyCertSign, cRLSign) valid now (not\n"
"more than five minutes ahead of this machine's clock), and\n"
"chain - issuer by issuer, every signature verified - to a self-signed\n"
"root given with --chain (PEM bundle, DER or .p7b; repeatable, in any mix:\n"
"an AD CS root.cer and intermediate.cer as two DER files): the root\n"
"you trust, whose fingerprint you compare with the root's own. A renewal\n"
"may leave --chain out to keep the chain already installed. Certificates\n"
"given for a key of the chain but issued by another CA (a cross-\n"
"certificate from an older root) are kept and served with the chain.\n"
"A CA of the path whose extendedKeyUsage leaves out serverAuth,\n"
"clientAuth, emailProtection or codeSigning, whose RSA key is under 2048\n"
"bits, whose key is RSASSA-PSS (Chromium refuses the chain), that has no\n"
"keyUsage, subjectKeyIdentifier or (below the root) authorityKeyIdentifier\n"
"or a basicConstraints not marked critical (OpenSSL's -x509_strict\n"
"refuses each), that may not sign CRLs, or whose name constraints leave\n"
"out the public URL's host, is installed with a note on standard error:\n"
"relying parties refuse what it would issue. So is a certificate signed\n"
"by an intermediate that names this CA's own /root.crl or /root.crt (which\n"
"serve the root's) as its issuer's CRL or certificate. One whose path\n"
"requires an explicit certificate policy of this CA's leaves\n"
"(policyConstraints requireExplicitPolicy, the root's too) is refused\n"
"(exit 3): mica's certificates carry no certificatePolicies.\n"
"A CA above (the root) that ends before this CA's certificate is noted\n"
"too: what this CA issues is cut to end by then, as relying parties\n"
"refuse it afterwards.\n"
"Signatures verified: RSA (PKCS#1 v1.5 or RSASSA-PSS) and ECDSA, with\n"
"SHA-256, -384 or -512; others (SHA-1, Ed25519) are refused by name.\n"
"\n"
"After a renewal with a new key, new certificates are signed by the new\n"
"CA certificate and the old key keeps signing the CRL of those it issued\n"
"(served at URL/crl for the first key, URL/crl/N for key N). Restart\n"
"'mica serve' to sign with the new certificate. The certificate already\n"
"installed, given again, is refused (exit 6): nothing is renewed.\n"
"Installed, but its CRL not published (a busy or full store): exit 1,\n"
"saying so; the same install-ca again publishes it (so do 'mica crl' and\n"
"'mica serve').\n"
"\n"
"Options:\n"
"  --cert FILE             the CA certificate (and perhaps its chain)\n"
"  --chain FILE            certificates above it, up to the root\n"
"  --passphrase-file FILE  the CA key's passphrase\n";

/* Append the certificates of the file at PATH - PEM, DER or a .p7b,
 * whatever the files before it were - to *BUF as PEM: an AD CS root.cer
 * and intermediate.cer come as two DER files, and ca_install_cert reads
 * one bundle. */
static int
append_file(const char *path, unsigned char **buf, size_t *len,
	    struct mica_err *err)
{
	struct ca_der_blob *v = NULL;
	unsigned char *d = NULL, *nb;
	size_t n = 0, k = 0, i;
	int rc = -1;

	if (cli_read_file(path, CA_BUNDLE_FILE_MAX, &d, &n, err) != 0)
		return -1;
	if (ca_certs_load(d, n, &v, &k, err) != 0) {
		/* Which of the files, when there are several. */
		mica_err_set(err, err->kind, err->code, "%s: %s", path,
			     err->msg);
		goto out;
	}
	for (i = 0; i < k; i++) {
		char *pem = NULL;
		size_t pl;

		if (ca_pem_encode("CERTIFICATE", v[i].der, v[i].len, &pem,
				  err) != 0)
			goto out;
		pl = strlen(pem);
		if (*len + pl + 1 > CA_BUNDLE_FILE_MAX) {
			free(pem);
			mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				     "the chain files are too large together");
			goto out;
		}
		if ((nb = realloc(*buf, *len + pl + 1)) == NULL) {
			free(pem);
			mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				     "out of memory");
			goto out;
		}
		memcpy(nb + *len, pem, pl + 1);
		*len += pl;
		*buf = nb;
		free(pem);
	}
	rc = 0;
out:
	ca_blobs_free(v, k);
	free(d);
	return rc;
}

int
cmd_install_ca(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "chain", required_argument, NULL, 'C' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *certfile = NULL, *passfile = NULL;
	unsigned char *cert = NULL, *chain = NULL;
	size_t cert_len = 0, chain_len = 0;
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	char notice[CA_NOTICE_MAX];
	int c, rc = 0, renewal;

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "install-ca", c, "h", opts, "C") != 0) {
			rc = 2;
			goto out;
		}
		switch (c) {
		case 'c': certfile = optarg; break;
		case 'C':
			if (append_file(optarg, &chain, &chain_len, &err) != 0) {
				rc = cli_fail(&err);
				goto out;
			}
			break;
		case 'P': passfile = cli_passphrase_file(optarg); break;
		case 'h': fputs(install_help, stdout); goto out;
		default:
			rc = cli_bad_option("install-ca", "h", opts, argv, NULL);
			goto out;
		}
	}
	if (optind < argc) {
		rc = cli_usage("install-ca", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (certfile == NULL) {
		rc = cli_usage("install-ca", "--cert FILE is required");
		goto out;
	}
	if (cli_read_file(certfile, CA_BUNDLE_FILE_MAX, &cert, &cert_len,
			  &err) != 0 ||
	    ca_open(datadir, CA_OPEN_UNLOCK, passfile, &ca, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	ca_principal_cli(&cli);
	renewal = ca_state(ca) != CA_STATE_AWAITING;
	if (ca_install_cert(ca, &cli, cert, cert_len, chain, chain_len,
			    notice, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	{
		/* The certificate's own subject (the handle holds it now):
		 * the name given to init may not be what the CA above
		 * wrote, nor what a rollover to a new name is. */
		size_t len = 0;
		const unsigned char *der = ca_cert_der(ca, &len);
		struct ca_cert_info ci;
		char name[256];

		if (der != NULL && ca_cert_info_read(der, len, &ci, NULL) == 0)
			ca_name_text(ci.subject, ci.subject_len, name,
				     sizeof(name));
		else
			snprintf(name, sizeof(name), "%s", ca_name(ca));
		cli_note("installed the CA certificate of \"%s\"", name);
	}
	fprintf(stderr, "root SHA-256 fingerprint: %s\n", ca_root_fingerprint(ca));
	/* A daemon keeps the certificate it started with: say so, or the
	 * admin waits for a change that never comes. */
	if (renewal)
		fprintf(stderr, "restart 'mica serve' to sign with it (until "
			"then a running daemon offers it to SCEP clients as "
			"GetNextCACert)\n");
	/* The notes name CAs of the chain as their certificates do: a
	 * root of another organisation's CN is outside text. */
	if (notice[0] != '\0')
		cli_note("note: %s", notice);
	/* A certificate that ends within the month (cut to its root's end,
	 * as sign-ca cuts it in the root's last years) is said now, not
	 * first by the daemon. */
	cli_expiry_warn(ca);
out:
	ca_close(ca);
	free(cert);
	free(chain);
	return rc;
}

static const char sign_help[] =
"Usage: mica [-d ROOT] sign-ca --csr FILE --out FILE [OPTIONS]\n"
"       mica [-d ROOT] sign-ca --cross --cert NEWROOT.crt --out FILE [OPTIONS]\n"
"\n"
"On a root (an offline one made with 'mica init --root-only', or a mica\n"
"root), sign a CA certificate for the request in FILE: an issuing CA's, made\n"
"by 'mica init --subordinate' or 'mica renew-ca', or by Windows' certreq\n"
"or openssl req. The certificate has basicConstraints cA with the path\n"
"length given, keyCertSign and cRLSign, and name constraints: the permitted\n"
"DNS subtrees (and mailboxes at them) and IP address ranges given with\n"
"--permit, else those the request asks for; every IP address outside the\n"
"ranges is excluded (IPv4 0.0.0.0/0 and IPv6 ::/0 when none is given for\n"
"that family); so that even a stolen issuing key cannot make a certificate\n"
"that relying parties accept for another name or address. It names this\n"
"root's CRL (--crl-url, else this root's public URL + /root.crl, else the\n"
"one the request asks for: an issuing CA made by mica asks for its own\n"
"URL/root.crl, which it serves after 'mica import-crl'), and its\n"
"certificate (caIssuers: --aia-url, likewise /root.crt). With neither, it\n"
"is signed with a warning: relying parties that check revocation cannot\n"
"check a CA certificate that names no CRL.\n"
"The subject is the request's, as it is: refused (exit 3) when a value has\n"
"a control or invisible character or blanks around it, or when relying\n"
"parties would take it for this root's own name (they compare names\n"
"ignoring case, spacing and string type: such a CA would escape its path\n"
"length). 'mica list', 'show' and the audit trail show it by its text,\n"
"whatever its string type (a BMPString, as openssl req writes a name past\n"
"ASCII under string_mask=pkix, a UniversalString, a TeletexString read as\n"
"Latin-1 as OpenSSL reads it).\n"
"\n"
"--cross certifies another root instead (the one that replaces this one),\n"
"so that devices which trust only this root accept what the new one\n"
"issued: give its self-signed certificate with --cert. It has no request\n"
"to take URLs from: on a root without a public URL give --crl-url and\n"
"--aia-url. Its subject, copied as it is, is held to what a request's is\n"
"(a value with a control or invisible character or blanks around it:\n"
"exit 3). The cross-certificate keeps the other root's path length; a\n"
"root with name constraints of its own is cross-signed only with --permit\n"
"(mica would not copy all of them: the domains it may certify are named),\n"
"each within that root's own constraints, and not at all when that root\n"
"excludes names the cross-certificate cannot exclude too (a DNS name, a\n"
"mailbox or an address range under what it permits, exit 4): devices\n"
"that trust this root would accept them. For the same reason a root\n"
"with an extendedKeyUsage, policyConstraints or inhibitAnyPolicy, or\n"
"whose keyUsage has no cRLSign, is not cross-signed (exit 4,\n"
"cross_limits); one without digitalSignature gets a cross-certificate\n"
"without it.\n"
"\n"
"It is recorded like any certificate: 'mica list' shows it, 'mica revoke'\n"
"revokes it and the next 'mica crl' lists it. The same request with the\n"
"same options again within a day (a sign-ca interrupted before it wrote\n"
"--out) writes the certificate signed the first time, and says so.\n"
"\n"
"Options:\n"
"  --csr FILE              the CA's request (PEM, base64 or DER)\n"
"  --cert FILE             with --cross: the other root's certificate\n"
"  --out FILE              write the certificate (PEM; --der for DER)\n"
"  --days N                validity (default 1825), cut to this root's end\n"
"  --path-len N            CAs it may sign below it (default 0; with\n"
"                          --cross none)\n"
"  --permit DOMAIN         a permitted DNS subtree; repeat for several\n"
"  --permit ADDR/LEN       a permitted IP address range in CIDR form\n"
"                          (10.0.0.0/8, 192.0.2.7/32, 2001:db8::/32), no\n"
"                          bit set after the prefix; needs a DOMAIN too\n"
"  --cross                 cross-certify another root\n"
"  --crl-url URL           the CRL distribution point to name (http://,\n"
"                          https:// or ldap://, at most 1024 characters)\n"
"  --aia-url URL           the caIssuers URL to name (the same)\n"
"  --der                   write DER\n"
"  --chain                 append this root's certificate (PEM)\n"
"  --passphrase-file FILE  the root key's passphrase\n";

int
cmd_sign_ca(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "csr", required_argument, NULL, 'c' },
		{ "cert", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "days", required_argument, NULL, 'd' },
		{ "path-len", required_argument, NULL, 'l' },
		{ "permit", required_argument, NULL, 'p' },
		{ "cross", no_argument, NULL, 'x' },
		{ "crl-url", required_argument, NULL, 'r' },
		{ "aia-url", required_argument, NULL, 'a' },
		{ "der", no_argument, NULL, 'D' },
		{ "chain", no_argument, NULL, 'C' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *csrfile = NULL, *certfile = NULL, *out = NULL;
	const char *passfile = NULL, *permit[PERMIT_MAX];
	struct ca_sign_ca_opts o;
	struct ca_issued r;
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	unsigned char *in = NULL;
	size_t in_len = 0;
	char *pem = NULL, *all = NULL, t[32];
	int64_t v;
	int der = 0, chain = 0, path_set = 0, c, rc = 0;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.path_len = 0;
	if ((argc = cli_take_data_dir(argc, argv, "ho:", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (cli_once(&once, "sign-ca", c, "ho:", opts, "p") != 0)
			return 2;
		switch (c) {
		case 'c': csrfile = optarg; break;
		case 'k': certfile = optarg; break;
		case 'o': out = optarg; break;
		case 'd':
			if (cli_parse_int(optarg, 1, CA_DAYS_MAX, &v) != 0)
				return cli_usage("sign-ca", "--days must be 1-%d", CA_DAYS_MAX);
			o.days = (int)v;
			break;
		case 'l':
			if (cli_parse_int(optarg, 0, 16, &v) != 0)
				return cli_usage("sign-ca", "--path-len must be 0-16");
			o.path_len = (int)v;
			path_set = 1;
			break;
		case 'p':
			if (o.npermit >= PERMIT_MAX)
				return cli_usage("sign-ca", "at most %d --permit", PERMIT_MAX);
			permit[o.npermit++] = optarg;
			break;
		case 'x': o.cross = 1; break;
		case 'r': o.crl_url = optarg; break;
		case 'a': o.aia_url = optarg; break;
		case 'D': der = 1; break;
		case 'C': chain = 1; break;
		case 'P': passfile = cli_passphrase_file(optarg); break;
		case 'h': fputs(sign_help, stdout); return 0;
		default: return cli_bad_option("sign-ca", "ho:", opts, argv, NULL);
		}
	}
	if (optind < argc)
		return cli_usage("sign-ca", "unexpected argument '%s'", argv[optind]);
	if ((csrfile == NULL) == (certfile == NULL))
		return cli_usage("sign-ca", "give --csr FILE, or --cross with --cert FILE");
	if (certfile != NULL && !o.cross)
		return cli_usage("sign-ca", "--cert is for --cross (a CA's request is --csr)");
	if (out == NULL)
		return cli_usage("sign-ca", "--out FILE is required");
	if (der && chain)
		return cli_usage("sign-ca", "--chain and --der do not go together");
	if (der && cli_binary_out_check("sign-ca", out) != 0)
		return 2;
	if (o.cross && !path_set)
		o.path_len = -1;
	o.permit = o.npermit > 0 ? permit : NULL;
	if (cli_read_file(csrfile != NULL ? csrfile : certfile,
			  CA_BUNDLE_FILE_MAX, &in, &in_len, &err) != 0)
		return cli_fail(&err);
	if (csrfile != NULL) {
		o.csr = in;
		o.csr_len = in_len;
	} else {
		o.cert = in;
		o.cert_len = in_len;
	}
	if (cli_out_check(out, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (ca_open(datadir, CA_OPEN_UNLOCK, passfile, &ca, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	ca_principal_cli(&cli);
	if (ca_sign_ca(ca, &cli, &o, &r, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (der) {
		rc = cli_write_file(out, r.der, r.der_len, 0644, &err);
	} else if (ca_pem_encode("CERTIFICATE", r.der, r.der_len, &pem,
				 &err) != 0) {
		rc = -1;
	} else if (chain) {
		if (asprintf(&all, "%s%s", pem, ca_cert_pem(ca)) < 0) {
			all = NULL;
			rc = mica_err_set(&err, MICA_E_INTERNAL, "out_of_memory",
					  "out of memory");
		} else {
			rc = cli_write_file(out, all, strlen(all), 0644, &err);
		}
	} else {
		rc = cli_write_file(out, pem, strlen(pem), 0644, &err);
	}
	if (rc != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (r.again)
		fprintf(stderr, "this root signed %s %s for this same request "
			"(the same key, name and options) already: written "
			"again, not signed anew; valid until %s\n",
			o.cross ? "cross-certificate" : "CA certificate",
			r.serial, cli_time(r.not_after, t));
	else
		fprintf(stderr, "signed %s %s, valid until %s\n",
			o.cross ? "cross-certificate" : "CA certificate",
			r.serial, cli_time(r.not_after, t));
	if (r.notice[0] != '\0')
		cli_note("note: %s", r.notice);
	if (r.warning[0] != '\0')
		cli_note("warning: %s", r.warning);
out:
	free(pem);
	free(all);
	free(in);
	ca_issued_free(&r);
	ca_close(ca);
	return rc;
}

static const char renew_ca_help[] =
"Usage: mica [-d DIR] renew-ca --csr-out FILE [--new-key] [OPTIONS]\n"
"\n"
"Write a request for this issuing CA's next certificate, before the\n"
"current one expires: with --new-key for a fresh key (a rollover: the\n"
"old key keeps signing the CRL of what it issued, as Windows CA renewal\n"
"does with key indexes), else for the current key. Have it signed as the\n"
"first one was, then 'mica install-ca --cert NEXT.crt'; until then the CA\n"
"goes on signing with its current certificate. Without --new-key the new\n"
"certificate must keep the current one's subject and subjectKeyIdentifier,\n"
"which the certificates already issued name (install-ca refuses another,\n"
"exit 3). Asked again while a request\n"
"is pending (or while the CA awaits its first certificate), it writes the\n"
"same request again; a --key or --path-len that request was not made with\n"
"is refused (exit 6, request_pending): install its certificate first.\n"
"\n"
"The request asks for the allowed domains ('mica domain list') as its\n"
"name constraints, a domain under another left out (that one's subtree\n"
"holds it). A CA certificate permits at most 32 (31 beside the address\n"
"of a --public-url that is an IP address): more are refused (exit 4,\n"
"too_many_domains); remove those it need not certify first.\n"
"\n"
"When an imported CRL of the CA above ('mica import-crl') revokes this CA's\n"
"certificate as keyCompromise, cACompromise, aACompromise, unspecified or\n"
"with no reason, its key is not certified again: a request for the current\n"
"key is refused (exit 6, key_compromised), as is install-ca of a\n"
"certificate for it, even once a later CRL leaves the entry out; --new-key\n"
"is the way (superseded, affiliationChanged, cessationOfOperation,\n"
"privilegeWithdrawn and a hold do not condemn it).\n"
"\n"
"A CA keeps 16 keys: --new-key past the 16th is refused (exit 6,\n"
"too_many_keys); renew with the current key, or set up a new issuing CA.\n"
"\n"
"A root is not renewed this way: make a new root ('mica init --root-only')\n"
"and cross-sign it with the old one ('mica sign-ca --cross').\n"
"\n"
"Options:\n"
"  --csr-out FILE          write the request (PEM)\n"
"  --new-key               a fresh key (default: the current one)\n"
"  --key TYPE              its type (default: the current key's)\n"
"  --path-len N            CAs it may sign below it (default: as now)\n"
"  --passphrase-file FILE  the CA key's passphrase\n";

int
cmd_renew_ca(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "csr-out", required_argument, NULL, 'o' },
		{ "new-key", no_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' },
		{ "path-len", required_argument, NULL, 'l' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	const char *out = NULL, *key_type = NULL, *passfile = NULL;
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	char *pem = NULL;
	int64_t v;
	int new_key = 0, path_len = -1, c, rc = 0;

	if ((argc = cli_take_data_dir(argc, argv, "h", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_once(&once, "renew-ca", c, "h", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'o': out = optarg; break;
		case 'n': new_key = 1; break;
		case 'k': key_type = optarg; break;
		case 'l':
			if (cli_parse_int(optarg, 0, 16, &v) != 0)
				return cli_usage("renew-ca", "--path-len must be 0-16");
			path_len = (int)v;
			break;
		case 'P': passfile = cli_passphrase_file(optarg); break;
		case 'h': fputs(renew_ca_help, stdout); return 0;
		default: return cli_bad_option("renew-ca", "h", opts, argv, NULL);
		}
	}
	if (optind < argc)
		return cli_usage("renew-ca", "unexpected argument '%s'", argv[optind]);
	if (out == NULL)
		return cli_usage("renew-ca", "--csr-out FILE is required");
	if (key_type != NULL && !new_key)
		return cli_usage("renew-ca", "--key goes with --new-key");
	if (cli_out_check(out, &err) != 0)
		return cli_fail(&err);
	if (ca_open(datadir, CA_OPEN_UNLOCK, passfile, &ca, &err) != 0)
		return cli_fail(&err);
	ca_principal_cli(&cli);
	if (ca_renew_ca(ca, &cli, new_key, key_type, path_len, passfile, &csr,
			&csr_len, &err) != 0 ||
	    ca_pem_encode("CERTIFICATE REQUEST", csr, csr_len, &pem, &err) != 0 ||
	    cli_write_file(out, pem, strlen(pem), 0644, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	/* Awaiting its first certificate (an init --subordinate whose
	 * request was lost): that install needs the chain. */
	if (ca_state(ca) == CA_STATE_AWAITING) {
		cli_note("wrote the request for this CA's first certificate "
			 "to %s;", out);
		cli_note("once it is signed: mica -d %s install-ca --cert "
			 "CERT --chain ROOT", datadir);
	} else {
		cli_note("wrote the request for the next CA certificate%s "
			 "to %s;", new_key ? " (a new key)" : "", out);
		cli_note("once it is signed: mica -d %s install-ca --cert "
			 "NEXT.crt", datadir);
	}
out:
	free(pem);
	free(csr);
	ca_close(ca);
	return rc;
}

static const char import_help[] =
"Usage: mica [-d DIR] import-crl [--] FILE\n"
"\n"
"Keep the root's CRL - the offline root's, written there with 'mica crl\n"
"--out root.crl' - after checking its signature with the root's\n"
"certificate in this CA's chain. 'mica serve' serves it at /root.crl (the\n"
"CRL distribution point that sign-ca names in this CA's certificate). A\n"
"CRL must be newer than the one imported before of its CA (a higher CRL\n"
"number; one without a number is newer by its thisUpdate only, and never\n"
"than one with) and not expired; one numbered higher but dated before the\n"
"one it replaces is taken with a warning (relying parties that go by the\n"
"date keep the other: check the clock of the CA that signed it);\n"
"import the next one before its nextUpdate (while this CA's certificate\n"
"names /root.crl as its CRL distribution point: from a third of its period\n"
"before, 30 days at most, import-crl, 'mica list' and 'mica crl' warn, and\n"
"/healthz; past it, /healthz answers 503 root_crl_expired). FILE is DER or\n"
"PEM; '-' reads standard input (a FILE named '-', or beginning with '-',\n"
"goes after '--').\n"
"In three tiers (a root, an intermediate, this CA) the intermediate's CRL\n"
"is taken too: it is not served (the intermediate publishes it where its\n"
"certificates say), only kept to learn whether it revokes this CA.\n"
"\n"
"Refused (exit 3): a CRL of no CA of this CA's chain, a delta CRL, one whose\n"
"issuingDistributionPoint narrows its scope (not covering CA\n"
"certificates), one with an unknown critical extension or an extension\n"
"twice, one whose number is over 63 bits (RFC 5280 5.2): none of them\n"
"could stand for its CA's complete CRL. One whose issuingDistribution-\n"
"Point names a place the certificate its CA signed (this CA's, or an\n"
"intermediate's) does not name in its cRLDistributionPoints: relying\n"
"parties would not take it for that certificate. And one whose thisUpdate\n"
"is more than five minutes ahead of this machine's clock (the root's\n"
"clock runs ahead): relying parties refuse a CRL not yet valid, and with\n"
"it every certificate under the root; the CRL served stays the one before.\n"
"\n"
"A CRL that revokes this CA's certificate, or one of the chain that its\n"
"CA signed (an intermediate above this CA), is imported with a warning:\n"
"relying parties then refuse everything this CA issued, so from then on it\n"
"issues nothing - every way (issue, request approve, renew, the API, ACME,\n"
"SCEP) is refused with ca_revoked (exit 6, HTTP 409), /healthz answers 503\n"
"ca_revoked; a running mica serve finds it within a second and goes on\n"
"serving its CRLs, the root's CRL and OCSP. A new certificate lifts it:\n"
"'mica renew-ca --new-key', have it signed, 'mica install-ca' (then restart\n"
"mica serve); so does a newer CRL that no longer lists it (a hold\n"
"released).\n";

int
cmd_import_crl(const char *datadir, int argc, char **argv)
{
	struct ca_principal cli;
	struct ca *ca = NULL;
	struct mica_err err;
	unsigned char *in = NULL;
	const char *file;
	size_t len = 0;
	char notice[CA_NOTICE_MAX];
	int rc = 0;

	if ((argc = cli_take_data_dir(argc, argv, NULL, NULL, &datadir)) < 0)
		return 2;
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(import_help, stdout);
		return 0;
	}
	/* FILE, '-' for standard input (as --csr - and every file read
	 * through cli_read_file), or "-- FILE" for a name beginning with
	 * '-'. An option named as such, not "needs exactly one FILE" when
	 * one was given. */
	if (argc == 3 && strcmp(argv[1], "--") == 0) {
		/* After "--", '-' is the file of that name, as --help says
		 * (backup and restore read it so); cli_read_file would take
		 * it for standard input. */
		file = strcmp(argv[2], "-") == 0 ? "./-" : argv[2];
	} else if (argc == 2 && (argv[1][0] != '-' || strcmp(argv[1], "-") == 0)) {
		file = argv[1];
	} else {
		for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
			if (argv[i][0] == '-' && argv[i][1] != '\0')
				return cli_usage("import-crl", "unknown option '%.*s' "
						 "(a FILE beginning with '-' goes "
						 "after '--')",
						 (int)strcspn(argv[i], "="), argv[i]);
		return cli_usage("import-crl", "needs exactly one FILE");
	}
	if (cli_read_file(file, 16u * 1024 * 1024, &in, &len, &err) != 0)
		return cli_fail(&err);
	if (ca_open(datadir, 0, NULL, &ca, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	ca_principal_cli(&cli);
	if (ca_root_crl_import(ca, &cli, in, len, notice, &err) != 0) {
		rc = cli_fail(&err);
		goto out;
	}
	cli_note("imported the CRL from %s",
		 strcmp(file, "-") == 0 ? "standard input" : file);
	if (notice[0] != '\0')
		cli_note("warning: %s", notice);
	/* A root's CRL soon past its nextUpdate already says so now. */
	cli_expiry_warn(ca);
out:
	free(in);
	ca_close(ca);
	return rc;
}

static const char export_chain_help[] =
"Usage: mica [-d DIR] export-chain [--p7b] [--out FILE]\n"
"\n"
"Write this CA's certificate and the chain above it, up to the root (and\n"
"any cross-certificates): PEM (default), or with --p7b a PKCS#7 certs-only\n"
"file (.p7b), what Windows and IIS import. A server configured with its\n"
"certificate and this chain is accepted by clients that trust the root.\n";

int
cmd_export_chain(const char *datadir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "p7b", no_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_once once = { 0 };
	struct ca *ca = NULL;
	struct mica_err err;
	const char *out = NULL;
	unsigned char *p7 = NULL;
	size_t p7_len = 0;
	int p7b = 0, c, rc = 0;

	if ((argc = cli_take_data_dir(argc, argv, "ho:", opts, &datadir)) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (cli_once(&once, "export-chain", c, "ho:", opts, NULL) != 0)
			return 2;
		switch (c) {
		case 'p': p7b = 1; break;
		case 'o': out = optarg; break;
		case 'h': fputs(export_chain_help, stdout); return 0;
		default: return cli_bad_option("export-chain", "ho:", opts, argv, NULL);
		}
	}
	if (optind < argc)
		return cli_usage("export-chain", "unexpected argument '%s'", argv[optind]);
	if (p7b && cli_binary_out_check("export-chain", out) != 0)
		return 2;
	if (cli_out_check(out, &err) != 0)
		return cli_fail(&err);
	if (ca_open(datadir, CA_OPEN_READONLY, NULL, &ca, &err) != 0)
		return cli_fail(&err);
	if (p7b) {
		if (ca_chain_p7b(ca, &p7, &p7_len, &err) != 0 ||
		    cli_write_file(out, p7, p7_len, 0644, &err) != 0)
			rc = cli_fail(&err);
	} else if (ca_chain_pem(ca) == NULL) {
		mica_err_set(&err, MICA_E_CONFLICT, "awaiting_certificate",
			     "this CA awaits its certificate");
		rc = cli_fail(&err);
	} else if (cli_write_file(out, ca_chain_pem(ca), strlen(ca_chain_pem(ca)),
				  0644, &err) != 0) {
		rc = cli_fail(&err);
	}
	free(p7);
	ca_close(ca);
	return rc;
}

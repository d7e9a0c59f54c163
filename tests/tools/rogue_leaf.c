/*
 * tests/tools/rogue_leaf.c - what a thief of an issuing CA's key could
 * sign: a server certificate for any name, built and signed with the
 * issuing key directly, around the policy, the linter and the signer's
 * checks. tests/e2e/hier.sh shows that relying parties still refuse it
 * for a name outside the name constraints that the root put in the
 * issuing CA's certificate.
 *
 * Usage: rogue_leaf DATADIR NAME CERT.pem KEY.pem (NAME a DNS name, or an
 * IP address: then in the subjectAltName alone)
 * (the passphrase as mica reads it: $MICA_PASSPHRASE or DATADIR/passphrase).
 * A test helper only: built by 'make check', never installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "ca/names.h"
#include "ca/profile.h"
#include "ca/x509.h"

static int
write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(s, f);
	return fclose(f);
}

int
main(int argc, char **argv)
{
	struct ca *ca = NULL;
	struct mica_err err;
	struct ca_tbs_cert t;
	struct ca_name name;
	unsigned char serial[16], *spki = NULL, *subj = NULL, *tbs = NULL;
	unsigned char sig[CA_SIG_MAX], *cert = NULL;
	size_t spki_len = 0, subj_len = 0, tbs_len = 0, sig_len = 0, cert_len;
	char *key_pem = NULL, *pem = NULL;
	time_t now = time(NULL);
	int rc = 1;

	mica_err_clear(&err);
	if (argc != 5) {
		fprintf(stderr, "usage: rogue_leaf DATADIR NAME CERT.pem KEY.pem\n");
		return 2;
	}
	if (ca_open(argv[1], CA_OPEN_UNLOCK, NULL, &ca, &err) != 0 ||
	    ca_name_parse(argv[2], 0, &name, &err) != 0 ||
	    ca_key_generate_pem(CA_KEY_EC_P256, &key_pem, &spki, &spki_len,
				&err) != 0 ||
	    ca_random(serial, sizeof(serial), &err) != 0)
		goto out;
	/* An address goes in the SAN alone, with an empty subject: a CN of
	 * digits and dots is read as a host name under name constraints
	 * (OpenSSL does), and the refusal must be the address's. */
	if (name.kind == CA_NAME_IP) {
		if ((subj = malloc(2)) == NULL)
			goto out;
		subj[0] = 0x30;
		subj[1] = 0x00;
		subj_len = 2;
	} else if (ca_x509_name(name.value, NULL, &subj, &subj_len,
				&err) != 0) {
		goto out;
	}
	serial[0] = (serial[0] & 0x7f) | 1;
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = ca->sh->sig_alg;
	t.sig_alg_len = ca->sh->sig_alg_len;
	t.issuer = ca->sh->subject;
	t.issuer_len = ca->sh->subject_len;
	t.subject = subj;
	t.subject_len = subj_len;
	t.not_before = (int64_t)now - 300;
	t.not_after = (int64_t)now + 30 * 86400;
	if (t.not_before < ca->sh->not_before)
		t.not_before = ca->sh->not_before;
	t.spki = spki;
	t.spki_len = spki_len;
	t.path_len = -1;
	t.key_usage = CA_KU_DIGITAL_SIGNATURE;
	t.eku = CA_EKU_SERVER_AUTH;
	t.names = &name;
	t.nnames = 1;
	if (ca_x509_key_id(spki, spki_len, t.ski, &err) != 0)
		goto out;
	t.has_aki = 1;
	memcpy(t.aki, ca->sh->ski, ca->sh->ski_len);
	t.aki_len = ca->sh->ski_len;
	t.crl_url = ca->sh->crl_url;
	t.aia_url = ca->sh->aia_url;
	/* Straight to the key: no policy, no lint, no signer. */
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err) != 0 ||
	    ca_key_sign(ca->sh->key, tbs, tbs_len, sig, &sig_len, &err) != 0 ||
	    ca_x509_wrap(tbs, tbs_len, t.sig_alg, t.sig_alg_len, sig, sig_len,
			 &cert, &cert_len, &err) != 0 ||
	    ca_pem_encode("CERTIFICATE", cert, cert_len, &pem, &err) != 0)
		goto out;
	if (write_text(argv[3], pem) != 0 || write_text(argv[4], key_pem) != 0) {
		fprintf(stderr, "rogue_leaf: cannot write the files\n");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && err.msg[0] != '\0')
		fprintf(stderr, "rogue_leaf: %s\n", err.msg);
	ca_key_pem_free(key_pem);
	free(pem);
	free(cert);
	free(tbs);
	free(subj);
	free(spki);
	ca_close(ca);
	return rc;
}

/*
 * tests/test_signer.c - the signing service: the keeper and its confined
 * signer processes, spoken to directly, as a compromised front end would.
 *
 * A test CA (EC P-256 root, built here) is sealed under a passphrase and
 * handed to ca_signer_start(). Then the suite asks for what a front end
 * under an attacker's control would ask for - a CA certificate, keyCertSign,
 * a name outside the allowed domains, a 100-year validity, a back-dated
 * certificate, garbage, a reused CRL number, a domain list without the
 * key's MAC - and checks each is refused and logged by the signer itself;
 * it sends malformed frames on a raw connection and checks the signer ends
 * that connection and another takes its place; it kills a signer and checks
 * the service recovers. What is signed is verified by mbedTLS's X.509
 * verifier against the root.
 */
#include <CUnit/Basic.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/md.h>
#include <mbedtls/x509_crt.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#include "ca/cacert.h"
#include "ca/keys.h"
#include "ca/names.h"
#include "ca/ocsp.h"
#include "ca/profile.h"
#include "ca/signer.h"
#include "ca/signer_int.h"
#include "ca/x509.h"
#include "util/err.h"
#include "util/log.h"
#include "util/thread.h"

#define PASS "correct horse battery staple"
#define DAY INT64_C(86400)

static struct ca_sealed_key sealed;
static unsigned char *root_der, *root_name, root_ski[20];
static size_t root_len, root_name_len;
static const unsigned char *alg;
static size_t alg_len;
static unsigned char leaf_spki[200];
static size_t leaf_spki_len;
static int64_t root_nb, root_na;
static char logpath[] = "/tmp/mica-test-signer-XXXXXX";
static const char *const domains[] = { "contoso.test" };
static unsigned char domains_mac[32];
static struct ca_signer *sg;   /* started with the sealed domain list */
/* The key identifier leaf_tbs and crl_tbs name (NULL: the root's). */
static const unsigned char *aki_over;
static size_t aki_over_len;

/* ---------------------------------------------------------------- set-up */

static int
make_root(void)
{
	struct ca_key *k = NULL, *leaf = NULL;
	struct ca_tbs_cert t;
	struct mica_err err;
	unsigned char *spki = NULL, *tbs = NULL, *lspki = NULL, sig[CA_SIG_MAX];
	unsigned char serial[8] = { 0x11, 2, 3, 4, 5, 6, 7, 8 };
	size_t spki_len = 0, tbs_len = 0, sig_len = 0, l = 0;
	int rc = -1;

	root_nb = (int64_t)time(NULL) - 365 * DAY;
	root_na = root_nb + 3650 * DAY;
	if (ca_key_generate(CA_KEY_EC_P256, &k, &err) != 0 ||
	    ca_key_spki(k, &spki, &spki_len, &err) != 0 ||
	    ca_x509_name("Signer Test Root", NULL, &root_name, &root_name_len,
			 &err) != 0 ||
	    ca_x509_key_id(spki, spki_len, root_ski, &err) != 0)
		goto out;
	alg = ca_key_sig_alg(k, &alg_len);
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = t.subject = root_name;
	t.issuer_len = t.subject_len = root_name_len;
	t.not_before = root_nb;
	t.not_after = root_na;
	t.spki = spki;
	t.spki_len = spki_len;
	t.is_ca = 1;
	t.path_len = -1;
	t.key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN;
	memcpy(t.ski, root_ski, 20);
	t.has_aki = 1;
	memcpy(t.aki, root_ski, 20);
	if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err) != 0 ||
	    ca_key_sign(k, tbs, tbs_len, sig, &sig_len, &err) != 0 ||
	    ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, &root_der,
			 &root_len, &err) != 0 ||
	    ca_key_seal(k, PASS, strlen(PASS), CA_KDF_MIN_ITER, &sealed,
			&err) != 0)
		goto out;
	/* A subject key for the leaves. */
	if (ca_key_generate(CA_KEY_EC_P256, &leaf, &err) != 0 ||
	    ca_key_spki(leaf, &lspki, &l, &err) != 0 || l > sizeof(leaf_spki))
		goto out;
	memcpy(leaf_spki, lspki, l);
	leaf_spki_len = l;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "make_root: %s\n", err.msg);
	ca_key_free(k);
	ca_key_free(leaf);
	free(spki);
	free(lspki);
	free(tbs);
	return rc;
}

static char passbuf[128];

static void
config(struct ca_signer_config *c, const char *pass, const unsigned char *mac)
{
	memset(c, 0, sizeof(*c));
	snprintf(passbuf, sizeof(passbuf), "%s", pass);
	c->sealed = &sealed;
	c->pass = passbuf;
	c->pass_len = strlen(passbuf);
	c->ca_cert = root_der;
	c->ca_cert_len = root_len;
	c->domains = domains;
	c->ndomains = 1;
	c->domains_mac = mac;
	c->crl_number = 1;
	c->nsigners = 2;
}

static int
suite_init(void)
{
	struct ca_signer_config c;
	struct mica_err err;
	int fd = mkstemp(logpath), sealed_now = 0;

	if (fd < 0)
		return -1;
	close(fd);
	if (mica_log_open(logpath) != 0 || make_root() != 0)
		return -1;
	config(&c, PASS, NULL);
	if (ca_signer_start(&c, &sg, domains_mac, &sealed_now, &err) != 0) {
		fprintf(stderr, "ca_signer_start: %s\n", err.msg);
		return -1;
	}
	return sealed_now ? 0 : -1;
}

static int
suite_clean(void)
{
	ca_signer_stop(sg);
	mica_log_open(NULL);
	unlink(logpath);
	free(root_der);
	free(root_name);
	ca_sealed_key_free(&sealed);
	return 0;
}

/* ------------------------------------------------------------- helpers */

struct leaf {
	const char *names[4];
	int64_t nb, na;
	int is_ca;
	unsigned ku, eku;
	const unsigned char *issuer;   /* NULL: the root */
	size_t issuer_len;
	int no_aki;
};

static void
leaf_default(struct leaf *l)
{
	memset(l, 0, sizeof(*l));
	l->names[0] = "mail.contoso.test";
	l->nb = (int64_t)time(NULL) - 300;
	l->na = l->nb + 90 * DAY;
	l->ku = CA_KU_DIGITAL_SIGNATURE;
	l->eku = CA_EKU_SERVER_AUTH;
}

static int
leaf_tbs(const struct leaf *l, unsigned char **tbs, size_t *tbs_len)
{
	struct ca_name names[4];
	struct ca_tbs_cert t;
	unsigned char serial[16], *subj = NULL;
	size_t n = 0, subj_len = 0;
	int rc;

	for (n = 0; n < 4 && l->names[n] != NULL; n++) {
		/* Built by hand: the signer must judge names, not the parser.
		 * "upn:..." is a UPN, kept whole as mica keeps it; what
		 * inet_pton reads is an address, as its octets. */
		memset(&names[n], 0, sizeof(names[n]));
		names[n].kind = strncmp(l->names[n], "upn:", 4) == 0 ?
				CA_NAME_UPN : CA_NAME_DNS;
		if (inet_pton(AF_INET, l->names[n], names[n].ip) == 1) {
			names[n].kind = CA_NAME_IP;
			names[n].ip_len = 4;
		} else if (inet_pton(AF_INET6, l->names[n], names[n].ip) == 1) {
			names[n].kind = CA_NAME_IP;
			names[n].ip_len = 16;
		}
		snprintf(names[n].value, sizeof(names[n].value), "%s",
			 l->names[n]);
	}
	if (ca_random(serial, sizeof(serial), NULL) != 0)
		return -1;
	serial[0] = (serial[0] & 0x7f) | 0x01;
	if (ca_x509_name(n > 0 ? ca_name_bare(&names[0]) : "", NULL, &subj,
			 &subj_len, NULL) != 0)
		return -1;
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = l->issuer ? l->issuer : root_name;
	t.issuer_len = l->issuer ? l->issuer_len : root_name_len;
	t.subject = subj;
	t.subject_len = subj_len;
	t.not_before = l->nb;
	t.not_after = l->na;
	t.spki = leaf_spki;
	t.spki_len = leaf_spki_len;
	t.is_ca = l->is_ca;
	t.path_len = -1;
	t.key_usage = l->ku;
	t.eku = l->eku;
	t.names = names;
	t.nnames = n;
	ca_x509_key_id(leaf_spki, leaf_spki_len, t.ski, NULL);
	t.has_aki = !l->no_aki;
	memcpy(t.aki, root_ski, 20);
	if (aki_over != NULL) {
		memcpy(t.aki, aki_over, aki_over_len);
		t.aki_len = aki_over_len;
	}
	t.crl_url = "http://ca.contoso.test/crl";
	t.aia_url = "http://ca.contoso.test/ca.crt";
	rc = ca_x509_tbs_cert(&t, tbs, tbs_len, NULL);
	free(subj);
	return rc;
}

/* Sign L; 0 and the certificate verified against the root, or -1 with
 * *ERR. */
static int
sign_leaf(const struct leaf *l, struct mica_err *err)
{
	unsigned char *tbs = NULL, *der = NULL, sig[CA_SIG_MAX];
	size_t tbs_len = 0, der_len = 0, sig_len = 0;
	mbedtls_x509_crt root, crt;
	uint32_t flags = 0;
	int rc = -1;

	mbedtls_x509_crt_init(&root);
	mbedtls_x509_crt_init(&crt);
	if (leaf_tbs(l, &tbs, &tbs_len) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "test", "could not encode");
		goto out;
	}
	if (ca_signer_sign(sg, CA_SIGN_LEAF, tbs, tbs_len, sig, &sig_len, NULL,
			   err) != 0)
		goto out;
	if (ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, &der,
			 &der_len, NULL) != 0 ||
	    mbedtls_x509_crt_parse_der(&root, root_der, root_len) != 0 ||
	    mbedtls_x509_crt_parse_der(&crt, der, der_len) != 0 ||
	    mbedtls_x509_crt_verify(&crt, &root, NULL, NULL, &flags, NULL,
				    NULL) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "test",
			     "signed, but does not verify (flags %x)", flags);
		goto out;
	}
	rc = 0;
out:
	mbedtls_x509_crt_free(&root);
	mbedtls_x509_crt_free(&crt);
	free(tbs);
	free(der);
	return rc;
}

/* How many lines of the log contain NEEDLE. */
static int
log_count(const char *needle)
{
	FILE *f = fopen(logpath, "r");
	char line[2048];
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* A TBSCertList of NUMBER listing the N ENTRIES (may be NULL when 0). */
static int
crl_tbs_of(uint64_t number, int64_t this_update,
	   const struct ca_crl_entry *entries, size_t n, unsigned char **tbs,
	   size_t *len)
{
	struct ca_tbs_crl t;

	memset(&t, 0, sizeof(t));
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = root_name;
	t.issuer_len = root_name_len;
	t.this_update = this_update;
	t.next_update = this_update + 7 * DAY;
	t.crl_number = (int64_t)number;
	memcpy(t.aki, root_ski, 20);
	if (aki_over != NULL) {
		memcpy(t.aki, aki_over, aki_over_len);
		t.aki_len = aki_over_len;
	}
	t.entries = entries;
	t.nentries = n;
	return ca_x509_tbs_crl(&t, tbs, len, NULL);
}

static int
crl_tbs(uint64_t number, int64_t this_update, unsigned char **tbs,
	size_t *len)
{
	return crl_tbs_of(number, this_update, NULL, 0, tbs, len);
}

static int
sign_crl(uint64_t number, int64_t this_update, uint64_t *floor,
	 struct mica_err *err)
{
	unsigned char *tbs = NULL, sig[CA_SIG_MAX];
	size_t len = 0, sig_len = 0;
	int rc;

	if (crl_tbs(number, this_update, &tbs, &len) != 0)
		return -1;
	rc = ca_signer_sign(sg, CA_SIGN_CRL, tbs, len, sig, &sig_len, floor,
			    err);
	free(tbs);
	return rc;
}

/* Wait (with a deadline) until N signers serve and none has pid OLD. */
static int
wait_signers(size_t n, pid_t old)
{
	for (int i = 0; i < 3000; i++) {   /* 30 s */
		pid_t pids[CA_SIGNER_MAX];
		size_t k = ca_signer_pids(sg, pids, CA_SIGNER_MAX), j;
		int stale = 0;

		for (j = 0; j < k; j++)
			stale |= pids[j] == old;
		if (k == n && !stale)
			return 0;
		usleep(10000);
	}
	return -1;
}

/* --------------------------------------------------------------- tests */

static void
test_signs_a_leaf_the_root_verifies(void)
{
	struct leaf l;
	struct mica_err err;

	leaf_default(&l);
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
	l.names[0] = "contoso.test";
	l.names[1] = "*.web.contoso.test";
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
	l.names[0] = "localhost";   /* the daemon's own certificate */
	l.names[1] = NULL;
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
}

/* Each refused with "signer_refused", the rule in the message, and a line
 * in the signer's own log. */
static void
expect_refused(const struct leaf *l, const char *rule)
{
	struct mica_err err;
	int before = log_count("refused to sign"), after = -1;

	mica_err_clear(&err);
	CU_ASSERT_EQUAL(sign_leaf(l, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_POLICY);
	CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	if (strstr(err.msg, rule) == NULL)
		fprintf(stderr, "\n  wanted '%s', got '%s'\n", rule, err.msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, rule));
	for (int i = 0; i < 500 && after <= before; i++) {
		after = log_count("refused to sign");
		if (after <= before)
			usleep(10000);
	}
	CU_ASSERT(after > before);
}

static void
test_refuses_a_ca_certificate(void)
{
	struct leaf l;

	leaf_default(&l);
	l.is_ca = 1;
	l.ku = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN;
	l.eku = 0;
	expect_refused(&l, "CA certificate");
	/* The encoder will not write keyCertSign without cA: patch the
	 * keyUsage BIT STRING (digitalSignature+keyAgreement, 03 02 03 88)
	 * into digitalSignature+keyAgreement+keyCertSign (03 02 02 8c). */
	{
		unsigned char *tbs = NULL, sig[CA_SIG_MAX], *p;
		size_t len = 0, sig_len = 0;
		struct mica_err err;

		leaf_default(&l);
		l.ku = CA_KU_DIGITAL_SIGNATURE | CA_KU_KEY_AGREEMENT;
		CU_ASSERT_EQUAL_FATAL(leaf_tbs(&l, &tbs, &len), 0);
		p = memmem(tbs, len, "\x03\x02\x03\x88", 4);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		p[2] = 0x02;
		p[3] = 0x8c;
		CU_ASSERT_EQUAL(ca_signer_sign(sg, CA_SIGN_LEAF, tbs, len, sig,
					       &sig_len, NULL, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "keyCertSign"));
		free(tbs);
	}
}

static void
test_refuses_names_outside_the_domains(void)
{
	struct leaf l;

	leaf_default(&l);
	l.names[0] = "evil.example";
	expect_refused(&l, "evil.example is outside the allowed domains");
	leaf_default(&l);
	l.names[1] = "evilcontoso.test";
	expect_refused(&l, "outside the allowed domains");
	leaf_default(&l);
	l.names[0] = "MAIL.contoso.test";   /* not as mica writes names */
	expect_refused(&l, "canonical");
	leaf_default(&l);
	l.names[0] = "intranet";
	expect_refused(&l, "canonical");
}

/* Addresses are under no domain. An IPv4-mapped one is refused in new
 * names by the policy, but a certificate an earlier mica issued with one
 * is renewed (README): the signer signs it as stored. It refused it as
 * "not a canonical name", so 'mica renew' of such a certificate failed
 * (exit 4, "signer: a subjectAltName is not a canonical name"). */
static void
test_signs_addresses_as_stored(void)
{
	struct leaf l;
	struct mica_err err;

	leaf_default(&l);
	l.names[0] = "10.1.2.3";
	l.names[1] = "2001:db8::1";
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
	l.names[0] = "::ffff:10.1.2.3";
	mica_err_clear(&err);
	if (sign_leaf(&l, &err) != 0)
		fprintf(stderr, "\n  ::ffff:10.1.2.3: %s\n", err.msg);
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
	l.names[0] = "mail.contoso.test";
	l.names[1] = "::ffff:10.1.2.3";
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
}

/* Sign the TBS of L after PATCH replaced, in its last occurrence, FROM
 * by TO (as long): the signer's verdict, 0 or -1 with *ERR. */
static int
sign_patched(const struct leaf *l, const char *from, const char *to,
	     size_t n, struct mica_err *err)
{
	unsigned char *tbs = NULL, sig[CA_SIG_MAX], *p, *last = NULL;
	size_t len = 0, sig_len = 0;
	int rc;

	if (leaf_tbs(l, &tbs, &len) != 0)
		return mica_err_set(err, MICA_E_INTERNAL, "test", "encoding");
	for (p = tbs; (p = memmem(p, len - (size_t)(p - tbs), from, n)) != NULL;
	     p++)
		last = p;
	if (last == NULL) {
		free(tbs);
		return mica_err_set(err, MICA_E_INTERNAL, "test", "not found");
	}
	memcpy(last, to, n);
	rc = ca_signer_sign(sg, CA_SIGN_LEAF, tbs, len, sig, &sig_len, NULL,
			    err);
	free(tbs);
	return rc;
}

/* A client certificate's UPN otherName: signed as mica writes it, under
 * the allowed domains, in the client profile alone; refused when its
 * type-id, its string type or its account differs from what mica wrote
 * (the subject's CN, which mica sets to the first name, then says who it
 * was meant for). */
static void
test_upn_names(void)
{
	struct leaf l;
	struct mica_err err;

	leaf_default(&l);
	l.eku = CA_EKU_CLIENT_AUTH;
	l.names[0] = "upn:alice@contoso.test";
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
	l.names[1] = "phone.contoso.test";
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);

	l.names[1] = "upn:alice@evil.example";
	expect_refused(&l, "upn:alice@evil.example is outside the allowed "
		       "domains");
	l.names[1] = "upn:alice@CONTOSO.test";
	expect_refused(&l, "canonical");
	l.names[1] = NULL;
	l.eku = CA_EKU_SERVER_AUTH;
	expect_refused(&l, "a name kind the profile does not issue");

	leaf_default(&l);
	l.eku = CA_EKU_CLIENT_AUTH;
	l.names[0] = "upn:alice@contoso.test";
	/* another account than the one mica wrote, in the same domain */
	CU_ASSERT_EQUAL(sign_patched(&l, "alice@", "bobby@", 6, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "subject is not the first name"));
	/* another otherName type (1.3.6.1.4.1.311.20.2.4) */
	CU_ASSERT_EQUAL(sign_patched(&l, "\x14\x02\x03", "\x14\x02\x04", 3,
				     &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "name type mica does not issue"));
	/* an IA5String for the UTF8String */
	CU_ASSERT_EQUAL(sign_patched(&l, "\x0c\x12" "alice", "\x16\x12" "alice",
				     7, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "UPN malformed"));
	/* a control character in it */
	CU_ASSERT_EQUAL(sign_patched(&l, "alice@", "al\x1b" "ce@", 6, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not printable ASCII"));
	/* and the unpatched one still signs */
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
}

static void
test_refuses_long_or_dated_validity(void)
{
	struct leaf l;
	int64_t now = (int64_t)time(NULL);

	leaf_default(&l);
	l.na = root_na;   /* inside the root, but ~10 years */
	l.nb = now - 300;
	CU_ASSERT_EQUAL(sign_leaf(&l, NULL), 0);
	l.na = l.nb + 100 * 365 * DAY;
	expect_refused(&l, "validity outside the CA's");
	leaf_default(&l);
	l.nb = now - 30 * DAY;   /* back-dated */
	l.na = now + 30 * DAY;
	expect_refused(&l, "notBefore too far from now");
}

static void
test_refuses_foreign_issuer_key_usage_and_garbage(void)
{
	struct leaf l;
	struct mica_err err;
	unsigned char junk[300], sig[CA_SIG_MAX];
	size_t sig_len;
	unsigned char *other = NULL;
	size_t other_len = 0;

	CU_ASSERT_EQUAL_FATAL(ca_x509_name("Someone Else", NULL, &other,
					   &other_len, NULL), 0);
	leaf_default(&l);
	l.issuer = other;
	l.issuer_len = other_len;
	expect_refused(&l, "issuer is not this CA");
	free(other);
	leaf_default(&l);
	l.no_aki = 1;
	expect_refused(&l, "authorityKeyIdentifier");
	leaf_default(&l);
	l.eku = CA_EKU_SERVER_AUTH | CA_EKU_CODE_SIGNING;
	expect_refused(&l, "no known profile");

	memset(junk, 0x30, sizeof(junk));
	CU_ASSERT_EQUAL(ca_signer_sign(sg, CA_SIGN_LEAF, junk, sizeof(junk),
				       sig, &sig_len, NULL, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	CU_ASSERT_EQUAL(ca_signer_sign(sg, CA_SIGN_LEAF, junk, 0, sig,
				       &sig_len, NULL, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	/* A CRL is not a leaf, and a leaf not a CRL. */
	{
		unsigned char *tbs = NULL;
		size_t len = 0;

		CU_ASSERT_EQUAL_FATAL(crl_tbs(1000, time(NULL), &tbs, &len), 0);
		CU_ASSERT_EQUAL(ca_signer_sign(sg, CA_SIGN_LEAF, tbs, len, sig,
					       &sig_len, NULL, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
		free(tbs);
		leaf_default(&l);
		CU_ASSERT_EQUAL_FATAL(leaf_tbs(&l, &tbs, &len), 0);
		CU_ASSERT_EQUAL(ca_signer_sign(sg, CA_SIGN_CRL, tbs, len, sig,
					       &sig_len, NULL, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
		free(tbs);
	}
	/* Still signing after all that. */
	leaf_default(&l);
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
}

static void
test_crl_numbers_only_increase(void)
{
	struct mica_err err;
	uint64_t floor = 0;
	int64_t now = (int64_t)time(NULL);

	CU_ASSERT_EQUAL(sign_crl(5, now, NULL, &err), 0);
	CU_ASSERT_EQUAL(sign_crl(5, now, &floor, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "crl_number_used");
	CU_ASSERT_EQUAL(err.kind, MICA_E_CONFLICT);
	CU_ASSERT_EQUAL(floor, 5);
	CU_ASSERT_EQUAL(sign_crl(4, now, NULL, &err), -1);
	CU_ASSERT_EQUAL(sign_crl(6, now, NULL, &err), 0);
	CU_ASSERT_EQUAL(sign_crl(9, now - 10 * DAY, NULL, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "thisUpdate"));
	CU_ASSERT_EQUAL(sign_crl(9, now, NULL, &err), 0);
}

static void
test_domains_change_only_with_the_key_mac(void)
{
	static const char *const two[] = { "fabrikam.test", "contoso.test" };
	unsigned char bad[32];
	struct leaf l;
	struct mica_err err;

	leaf_default(&l);
	l.names[0] = "www.fabrikam.test";
	expect_refused(&l, "outside the allowed domains");
	memcpy(bad, domains_mac, 32);   /* the MAC of another list */
	CU_ASSERT_EQUAL(ca_signer_set_domains(sg, two, 2, bad, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "domains_not_sealed");
	expect_refused(&l, "outside the allowed domains");
	/* The MAC the key holder would make (the test has no key: it asks
	 * ca_key_mac through a fresh unseal, as the CLI does). */
	{
		struct ca_key *k = NULL;
		unsigned char *blob = NULL, mac[32];
		size_t blob_len = 0;

		CU_ASSERT_EQUAL_FATAL(ca_key_unseal(&sealed, PASS, strlen(PASS),
						    &k, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_signer_domains_blob(two, 2, &blob,
							     &blob_len, &err), 0);
		CU_ASSERT_EQUAL_FATAL(ca_key_mac(k, CA_SIGNER_DOMAINS_LABEL,
						 blob, blob_len, mac, &err), 0);
		CU_ASSERT_EQUAL(ca_signer_set_domains(sg, two, 2, mac, &err), 0);
		ca_key_free(k);
		free(blob);
	}
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
	/* ... back to the one domain, for the other tests. */
	CU_ASSERT_EQUAL(ca_signer_set_domains(sg, domains, 1, domains_mac,
					      &err), 0);
	expect_refused(&l, "outside the allowed domains");
}

static void
test_start_refuses_wrong_passphrase_and_unsealed_domains(void)
{
	struct ca_signer_config c;
	struct ca_signer *s = NULL;
	struct mica_err err;
	unsigned char bad[32];

	config(&c, "not the passphrase", domains_mac);
	CU_ASSERT_EQUAL(ca_signer_start(&c, &s, NULL, NULL, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_UNAUTH);
	CU_ASSERT_PTR_NULL(s);
	memset(bad, 0xab, sizeof(bad));
	config(&c, PASS, bad);
	CU_ASSERT_EQUAL(ca_signer_start(&c, &s, NULL, NULL, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "domains_not_sealed");
	config(&c, PASS, domains_mac);
	CU_ASSERT_EQUAL(ca_signer_start(&c, &s, NULL, NULL, &err), 0);
	ca_signer_stop(s);
}

/* The number after "FIELD:" in /proc/PID/status (Seccomp, NoNewPrivs), or
 * -1 if the line is missing; the file must be there. */
static int
status_of(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	int v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			v = atoi(line + fl + 1);
	fclose(f);
	return v;
}

/* PID runs under a seccomp filter (mode 2); valgrind runs none, so there
 * only PID's status is read. */
static void
assert_seccomp_filter(pid_t pid)
{
	int seccomp = status_of(pid, "Seccomp");

#ifdef RUNNING_ON_VALGRIND
	if (RUNNING_ON_VALGRIND)
		return;
#endif
	CU_ASSERT_EQUAL(seccomp, 2);
}

/* The signers are confined: seccomp filter mode, no new privileges, not
 * dumpable (no core, no ptrace by the front end's user). */
static void
test_signers_are_confined(void)
{
	pid_t pids[CA_SIGNER_MAX];
	size_t n = ca_signer_pids(sg, pids, CA_SIGNER_MAX);

	CU_ASSERT_EQUAL_FATAL(n, 2);
	for (size_t i = 0; i < n; i++) {
		char path[64], line[256];
		FILE *f;

		assert_seccomp_filter(pids[i]);
		CU_ASSERT_EQUAL(status_of(pids[i], "NoNewPrivs"), 1);
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pids[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "r"));
		CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
		fclose(f);
		CU_ASSERT_EQUAL(strncmp(line, "mica-signer", 11), 0);
	}
}

/* Take a raw connection out of the pool (test-only access through the
 * pool's own API: kill nothing, just use its descriptor). */
static int
raw_fd(pid_t *pid)
{
	pid_t pids[CA_SIGNER_MAX];
	size_t n = ca_signer_pids(sg, pids, CA_SIGNER_MAX);

	*pid = n > 0 ? pids[0] : 0;
	return ca_signer_test_fd(sg, *pid);
}

/* A malformed frame ends the connection (the signer exits), another signer
 * replaces it, and signing goes on. */
static void
expect_frame_closes(const unsigned char *frame, size_t len, int shut)
{
	struct leaf l;
	pid_t pid = 0;
	int fd = raw_fd(&pid);
	unsigned char buf[64];
	ssize_t r;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ca_signer_write_all(fd, frame, len), 0);
	if (shut)
		shutdown(fd, SHUT_WR);
	do
		r = read(fd, buf, sizeof(buf));
	while (r < 0 && errno == EINTR);
	CU_ASSERT_EQUAL(r, 0);   /* closed, nothing answered */
	ca_signer_test_fd_done(sg, pid);
	CU_ASSERT_EQUAL(wait_signers(2, pid), 0);
	leaf_default(&l);
	CU_ASSERT_EQUAL(sign_leaf(&l, NULL), 0);
}

static void
test_malformed_frames_close_the_connection_only(void)
{
	struct ca_signer_hdr h;
	unsigned char f[CA_SIGNER_HDR + 8];

	memset(&h, 0, sizeof(h));
	memset(f, 0, sizeof(f));
	memcpy(f, "GET / HTTP/1.1\r\n", 16);              /* bad magic */
	expect_frame_closes(f, CA_SIGNER_HDR, 0);
	h.type = CA_SMSG_SIGN_LEAF;
	h.id = 1;
	h.len = CA_SIGNER_LEAF_MAX + 1;                    /* too long */
	ca_signer_hdr_put(&h, f);
	expect_frame_closes(f, CA_SIGNER_HDR, 0);
	h.type = 77;                                       /* unknown type */
	h.len = 0;
	ca_signer_hdr_put(&h, f);
	expect_frame_closes(f, CA_SIGNER_HDR, 0);
	h.type = CA_SMSG_OK;                               /* a reply type */
	ca_signer_hdr_put(&h, f);
	expect_frame_closes(f, CA_SIGNER_HDR, 0);
	h.type = CA_SMSG_SIGN_LEAF;                        /* truncated */
	h.len = 100;
	ca_signer_hdr_put(&h, f);
	expect_frame_closes(f, sizeof(f), 1);
	f[6] = 1;                                          /* reserved set */
	expect_frame_closes(f, CA_SIGNER_HDR, 0);
}

static void
test_a_killed_signer_is_replaced(void)
{
	pid_t pids[CA_SIGNER_MAX];
	struct leaf l;
	struct mica_err err;
	int ok = 0;

	CU_ASSERT_EQUAL_FATAL(ca_signer_pids(sg, pids, CA_SIGNER_MAX), 2);
	CU_ASSERT_EQUAL(kill(pids[0], SIGKILL), 0);
	leaf_default(&l);
	/* Requests may fail with 503 while it is replaced; none hangs. */
	for (int i = 0; i < 3000 && !ok; i++) {
		mica_err_clear(&err);
		if (sign_leaf(&l, &err) == 0)
			ok = 1;
		else
			CU_ASSERT_EQUAL(err.kind, MICA_E_UNAVAIL);
		if (!ok)
			usleep(10000);
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(wait_signers(2, pids[0]), 0);
	CU_ASSERT(log_count("killed by signal 9") >= 1);
	CU_ASSERT(ca_signer_alive(sg));
}

/* A signer killed while idle, nothing signed meanwhile: its connection
 * goes when its replacement's arrives, so the slots hold the two live
 * signers only (with every slot in use a dead one's would have kept the
 * replacement out). */
static void
test_an_idle_signer_killed_leaves_no_connection(void)
{
	pid_t pids[CA_SIGNER_MAX];
	struct leaf l;
	struct mica_err err;

	CU_ASSERT_EQUAL_FATAL(ca_signer_pids(sg, pids, CA_SIGNER_MAX), 2);
	CU_ASSERT_EQUAL(kill(pids[1], SIGKILL), 0);
	CU_ASSERT_EQUAL(wait_signers(2, pids[1]), 0);
	leaf_default(&l);
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
	CU_ASSERT_EQUAL(sign_leaf(&l, &err), 0);
}

/* A CA after a rollover: the current key (index 3) has a certificate of
 * the same subject with a key identifier of its own length (8 octets, as
 * another CA may write); the root's key is retired at index 0. Leaves
 * only with the current key, CRLs with either, each under its own key
 * identifier; a key index the signers do not hold is refused, one out of
 * range ends the connection. */
static void
test_several_keys_after_a_rollover(void)
{
	static const unsigned char ski2[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
	struct ca_key *k2 = NULL;
	struct ca_sealed_key sealed2;
	struct ca_signer_key retired;
	struct ca_signer_config c;
	struct ca_signer *sg2 = NULL;
	struct ca_tbs_cert t;
	struct ca_cert_info ci;
	struct mica_err err;
	struct leaf l;
	unsigned char *spki = NULL, *tbs = NULL, *cert2 = NULL, sig[CA_SIG_MAX];
	unsigned char serial[4] = { 0x22, 1, 2, 3 }, mac[32];
	size_t spki_len = 0, tbs_len = 0, cert2_len = 0, sig_len = 0;
	struct ca_signer *keep = sg;
	int sealed_now = 0;

	memset(&sealed2, 0, sizeof(sealed2));
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &k2, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(k2, &spki, &spki_len, &err), 0);
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = t.subject = root_name;
	t.issuer_len = t.subject_len = root_name_len;
	t.not_before = root_nb;
	t.not_after = root_na;
	t.spki = spki;
	t.spki_len = spki_len;
	t.is_ca = 1;
	t.path_len = -1;
	t.key_usage = CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN;
	memcpy(t.ski, ski2, sizeof(ski2));
	t.ski_len = sizeof(ski2);
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_sign(k2, tbs, tbs_len, sig, &sig_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig,
					   sig_len, &cert2, &cert2_len, &err), 0);
	free(tbs);
	tbs = NULL;
	CU_ASSERT_EQUAL_FATAL(ca_key_seal(k2, PASS, strlen(PASS),
					  CA_KDF_MIN_ITER, &sealed2, &err), 0);

	config(&c, PASS, NULL);
	c.sealed = &sealed2;
	c.ca_cert = cert2;
	c.ca_cert_len = cert2_len;
	c.key_idx = 3;
	retired.idx = 0;
	retired.sealed = &sealed;
	retired.cert = root_der;
	retired.cert_len = root_len;
	c.retired = &retired;
	c.nretired = 1;
	CU_ASSERT_EQUAL_FATAL(ca_signer_start(&c, &sg2, mac, &sealed_now,
					      &err), 0);
	sg = sg2;   /* the helpers sign with sg */

	/* A leaf under the current key's identifier: signed by that key. */
	leaf_default(&l);
	aki_over = ski2;
	aki_over_len = sizeof(ski2);
	CU_ASSERT_EQUAL_FATAL(leaf_tbs(&l, &tbs, &tbs_len), 0);
	CU_ASSERT_EQUAL(ca_signer_sign(sg2, CA_SIGN_LEAF, tbs, tbs_len, sig,
				       &sig_len, NULL, &err), 0);
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, tbs_len, alg, alg_len, sig, sig_len,
				      spki, spki_len, &err), 0);
	/* ... but never by the retired key, whatever it names. */
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg2, CA_SIGN_LEAF, 0, tbs, tbs_len,
					   sig, &sig_len, NULL, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "retired key"));
	free(tbs);
	tbs = NULL;
	aki_over = NULL;
	CU_ASSERT_EQUAL_FATAL(leaf_tbs(&l, &tbs, &tbs_len), 0);
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg2, CA_SIGN_LEAF, 0, tbs, tbs_len,
					   sig, &sig_len, NULL, &err), -1);
	CU_ASSERT_EQUAL(ca_signer_sign(sg2, CA_SIGN_LEAF, tbs, tbs_len, sig,
				       &sig_len, NULL, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "authorityKeyIdentifier"));
	free(tbs);
	tbs = NULL;

	/* The retired key signs the CRL of what it issued, under its own
	 * identifier; the current one under its own. */
	CU_ASSERT_EQUAL_FATAL(crl_tbs(10, time(NULL), &tbs, &tbs_len), 0);
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg2, CA_SIGN_CRL, 0, tbs, tbs_len,
					   sig, &sig_len, NULL, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(root_der, root_len, &ci, &err), 0);
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, tbs_len, alg, alg_len, sig, sig_len,
				      ci.spki, ci.spki_len, &err), 0);
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg2, CA_SIGN_CRL, 3, tbs, tbs_len,
					   sig, &sig_len, NULL, &err), -1);
	free(tbs);
	tbs = NULL;
	aki_over = ski2;
	CU_ASSERT_EQUAL_FATAL(crl_tbs(11, time(NULL), &tbs, &tbs_len), 0);
	CU_ASSERT_EQUAL(ca_signer_sign(sg2, CA_SIGN_CRL, tbs, tbs_len, sig,
				       &sig_len, NULL, &err), 0);
	/* One number series: 10 is below the last one now. */
	free(tbs);
	tbs = NULL;
	CU_ASSERT_EQUAL_FATAL(crl_tbs(10, time(NULL), &tbs, &tbs_len), 0);
	CU_ASSERT_EQUAL(ca_signer_sign(sg2, CA_SIGN_CRL, tbs, tbs_len, sig,
				       &sig_len, NULL, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "crl_number_used");
	aki_over = NULL;

	/* A key it does not hold is refused; beyond the range and a CA
	 * certificate, the front end does not even ask. */
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg2, CA_SIGN_CRL, 5, tbs, tbs_len,
					   sig, &sig_len, NULL, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no CA key with index 5"));
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg2, CA_SIGN_CRL, 16, tbs, tbs_len,
					   sig, &sig_len, NULL, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_INTERNAL);
	CU_ASSERT_EQUAL(ca_signer_sign(sg2, CA_SIGN_CACERT, tbs, tbs_len, sig,
				       &sig_len, NULL, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_INTERNAL);
	free(tbs);
	tbs = NULL;

	/* On the wire: a key index out of range ends the connection. */
	{
		struct ca_signer_hdr h;
		unsigned char f[CA_SIGNER_HDR];

		memset(&h, 0, sizeof(h));
		h.type = CA_SMSG_SIGN_CRL;
		h.key = CA_SIGNER_KEYS;
		h.id = 9;
		h.len = 0;
		ca_signer_hdr_put(&h, f);
		CU_ASSERT_EQUAL(ca_signer_hdr_get(f, &h), -1);
		h.key = CA_SIGNER_KEYS - 1;
		ca_signer_hdr_put(&h, f);
		CU_ASSERT_EQUAL(ca_signer_hdr_get(f, &h), 0);
		h.type = CA_SMSG_SET_DOMAINS;
		h.key = 1;
		ca_signer_hdr_put(&h, f);
		CU_ASSERT_EQUAL(ca_signer_hdr_get(f, &h), -1);
		h.type = CA_SMSG_SIGN_CRL;
		h.key = CA_SIGNER_KEYS;
		ca_signer_hdr_put(&h, f);
		{
			pid_t pid = 0;
			int fd = raw_fd(&pid);
			unsigned char buf[64];
			ssize_t r;

			CU_ASSERT_FATAL(fd >= 0);
			CU_ASSERT_EQUAL(ca_signer_write_all(fd, f, sizeof(f)), 0);
			do
				r = read(fd, buf, sizeof(buf));
			while (r < 0 && errno == EINTR);
			CU_ASSERT_EQUAL(r, 0);   /* closed, nothing answered */
			ca_signer_test_fd_done(sg2, pid);
			CU_ASSERT_EQUAL(wait_signers(2, pid), 0);
		}
	}

	sg = keep;
	ca_signer_stop(sg2);
	ca_sealed_key_free(&sealed2);
	ca_key_free(k2);
	free(spki);
	free(cert2);
}

/* The OCSP key: the same in every signer, certified by the CA key only
 * as a short-lived responder for itself, and signing only ResponseData
 * about this CA's certificates. */
static void
test_the_ocsp_key_signs_only_what_the_signer_checks(void)
{
	unsigned char spki[512], spki2[512], sig[CA_SIG_MAX], serial[16];
	unsigned char *subj = NULL, *tbs = NULL, kh[20];
	unsigned char cid[CA_OCSP_CERTID_MAX];
	size_t spki_len = 0, spki2_len = 0, sig_len = 0, subj_len = 0;
	size_t tbs_len = 0, cid_len = 0, ocsp_alg_len = 0;
	const unsigned char *ocsp_alg;
	struct ca_cert_info root;
	struct ca_ocsp_issuer is, other;
	struct ca_ocsp_single sr;
	struct ca_ocsp_tbs rd;
	struct ca_tbs_cert t;
	struct leaf l;
	struct mica_err err;
	int64_t now = (int64_t)time(NULL);

	CU_ASSERT_EQUAL_FATAL(ca_signer_ocsp_key(sg, spki, sizeof(spki),
						 &spki_len, &err), 0);
	for (int i = 0; i < 4; i++) {   /* every signer holds the same key */
		CU_ASSERT_EQUAL(ca_signer_ocsp_key(sg, spki2, sizeof(spki2),
						   &spki2_len, &err), 0);
		CU_ASSERT(spki2_len == spki_len &&
			  memcmp(spki, spki2, spki_len) == 0);
	}
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(root_der, root_len, &root,
						&err), 0);

	/* The responder certificate for that key. */
	memset(serial, 0x31, sizeof(serial));
	CU_ASSERT_EQUAL_FATAL(ca_x509_name(CA_OCSP_SUBJECT_CN, NULL, &subj,
					   &subj_len, &err), 0);
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.serial_len = sizeof(serial);
	t.sig_alg = alg;
	t.sig_alg_len = alg_len;
	t.issuer = root_name;
	t.issuer_len = root_name_len;
	t.subject = subj;
	t.subject_len = subj_len;
	t.not_before = now - 3600;
	t.not_after = now - 3600 + CA_OCSP_CERT_DAYS * DAY;
	t.spki = spki;
	t.spki_len = spki_len;
	t.path_len = -1;
	t.key_usage = CA_KU_DIGITAL_SIGNATURE;
	t.eku = CA_EKU_OCSP_SIGNING;
	CU_ASSERT_EQUAL_FATAL(ca_x509_key_id(spki, spki_len, t.ski, &err), 0);
	t.ski_len = 20;
	t.has_aki = 1;
	memcpy(t.aki, root_ski, 20);
	t.aki_len = 20;
	t.ocsp_nocheck = 1;
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	if (ca_signer_sign_key(sg, CA_SIGN_OCSP_CERT, 0, tbs, tbs_len, sig,
			       &sig_len, NULL, &err) != 0)
		fprintf(stderr, "\n  refused: %s\n", err.msg);
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg, CA_SIGN_OCSP_CERT, 0, tbs,
					   tbs_len, sig, &sig_len, NULL, &err), 0);
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, tbs_len, alg, alg_len, sig, sig_len,
				      root.spki, root.spki_len, &err), 0);
	free(tbs);
	/* ... but not for another key, and not for a week. */
	t.spki = leaf_spki;
	t.spki_len = leaf_spki_len;
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg, CA_SIGN_OCSP_CERT, 0, tbs,
					   tbs_len, sig, &sig_len, NULL, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	free(tbs);
	t.spki = spki;
	t.spki_len = spki_len;
	t.not_after = t.not_before + 7 * DAY;
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg, CA_SIGN_OCSP_CERT, 0, tbs,
					   tbs_len, sig, &sig_len, NULL, &err), -1);
	free(tbs);
	/* A leaf TBS is no responder certificate. */
	leaf_default(&l);
	CU_ASSERT_EQUAL_FATAL(leaf_tbs(&l, &tbs, &tbs_len), 0);
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg, CA_SIGN_OCSP_CERT, 0, tbs,
					   tbs_len, sig, &sig_len, NULL, &err), -1);
	free(tbs);

	/* A ResponseData about this CA's certificate, by this key. */
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_issuer_hashes(root.subject,
		root.subject_len, root.spki, root.spki_len, &is, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_key_hash(spki, spki_len, kh, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &is, serial,
		sizeof(serial), cid, &cid_len, &err), 0);
	memset(&sr, 0, sizeof(sr));
	sr.certid = cid;
	sr.certid_len = cid_len;
	sr.status = CA_OCSP_GOOD;
	sr.this_update = now;
	sr.next_update = now + CA_OCSP_PERIOD;
	memset(&rd, 0, sizeof(rd));
	memcpy(rd.key_hash, kh, 20);
	rd.produced_at = now;
	rd.singles = &sr;
	rd.nsingles = 1;
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_tbs_encode(&rd, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg, CA_SIGN_OCSP, 0, tbs, tbs_len,
					   sig, &sig_len, NULL, &err), 0);
	ocsp_alg = ca_key_type_sig_alg(CA_KEY_EC_P256, &ocsp_alg_len);
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, tbs_len, ocsp_alg, ocsp_alg_len, sig,
				      sig_len, spki, spki_len, &err), 0);
	free(tbs);
	/* Not about another issuer's certificate, not as another key. */
	memset(&other, 0x55, sizeof(other));
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &other,
		serial, sizeof(serial), cid, &cid_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_tbs_encode(&rd, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg, CA_SIGN_OCSP, 0, tbs, tbs_len,
					   sig, &sig_len, NULL, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	free(tbs);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &is, serial,
		sizeof(serial), cid, &cid_len, &err), 0);
	memset(rd.key_hash, 0x66, 20);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_tbs_encode(&rd, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg, CA_SIGN_OCSP, 0, tbs, tbs_len,
					   sig, &sig_len, NULL, &err), -1);
	free(tbs);
	/* A certificate TBS is no ResponseData. */
	leaf_default(&l);
	CU_ASSERT_EQUAL_FATAL(leaf_tbs(&l, &tbs, &tbs_len), 0);
	CU_ASSERT_EQUAL(ca_signer_sign_key(sg, CA_SIGN_OCSP, 0, tbs, tbs_len,
					   sig, &sig_len, NULL, &err), -1);
	free(tbs);
	free(subj);
}

/* OCSP_CA_SIGN: a CA key signs a ResponseData about its own certificates
 * itself, a retired key while its CA certificate is valid, the current
 * key only when the daemon was started with --ocsp-signer ca or in the
 * CA path's last hours (ocsp_ca_from). */
static int
ca_sign_call(struct ca_signer_state *st, unsigned key,
	     const unsigned char *tbs, size_t tbs_len, unsigned char *sig,
	     size_t *sig_len)
{
	unsigned char *reply = NULL;
	size_t reply_len = 0;
	uint16_t rtype = 0;
	int ok;

	if (ca_signer_handle(st, CA_SMSG_OCSP_CA_SIGN, (uint16_t)key, tbs,
			     tbs_len, &rtype, &reply, &reply_len) != 0)
		return -1;
	ok = rtype == CA_SMSG_OK && reply_len > 0 && reply_len <= CA_SIG_MAX;
	if (ok) {
		memcpy(sig, reply, reply_len);
		*sig_len = reply_len;
	}
	free(reply);
	return ok ? 0 : -1;
}

static void
test_a_ca_key_signs_ocsp_for_itself_only_when_allowed(void)
{
	struct ca_signer_state st;
	struct ca_key *k = NULL;
	struct ca_ocsp_issuer is, other;
	struct ca_ocsp_single sr;
	struct ca_ocsp_tbs rd;
	struct mica_err err;
	unsigned char *spki = NULL, *tbs = NULL, sig[CA_SIG_MAX];
	unsigned char cid[CA_OCSP_CERTID_MAX], serial[8] = { 0x42, 1, 2, 3 };
	const unsigned char *kalg;
	size_t spki_len = 0, tbs_len = 0, sig_len = 0, cid_len = 0, kalg_len;
	int64_t now = (int64_t)time(NULL);

	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &k, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(k, &spki, &spki_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_issuer_hashes(root_name, root_name_len,
		spki, spki_len, &is, &err), 0);
	memset(&st, 0, sizeof(st));
	st.current = 3;                 /* key 2 was retired */
	st.keys[2].key = k;
	st.keys[2].ocsp_issuer = is;
	st.keys[2].pol.not_after = now + DAY;
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &is, serial,
		sizeof(serial), cid, &cid_len, &err), 0);
	memset(&sr, 0, sizeof(sr));
	sr.certid = cid;
	sr.certid_len = cid_len;
	sr.status = CA_OCSP_GOOD;
	sr.this_update = now;
	sr.next_update = now + CA_OCSP_PERIOD;
	memset(&rd, 0, sizeof(rd));
	memcpy(rd.key_hash, is.key1, 20);   /* byKey: the CA key's hash */
	rd.produced_at = now;
	rd.singles = &sr;
	rd.nsingles = 1;
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_tbs_encode(&rd, &tbs, &tbs_len, &err), 0);

	/* The retired key: yes, and the signature is its own. */
	CU_ASSERT_EQUAL(ca_sign_call(&st, 2, tbs, tbs_len, sig, &sig_len), 0);
	kalg = ca_key_sig_alg(k, &kalg_len);
	CU_ASSERT_EQUAL(ca_sig_verify(tbs, tbs_len, kalg, kalg_len, sig,
				      sig_len, spki, spki_len, &err), 0);
	/* Not a key it does not hold, not once its certificate expired. */
	CU_ASSERT_EQUAL(ca_sign_call(&st, 5, tbs, tbs_len, sig, &sig_len), -1);
	st.keys[2].pol.not_after = now - 60;
	CU_ASSERT_EQUAL(ca_sign_call(&st, 2, tbs, tbs_len, sig, &sig_len), -1);
	st.keys[2].pol.not_after = now + DAY;
	/* The current key: only with ocsp_by_ca, or from ocsp_ca_from on
	 * (the CA path's last hours). */
	st.current = 2;
	CU_ASSERT_EQUAL(ca_sign_call(&st, 2, tbs, tbs_len, sig, &sig_len), -1);
	st.ocsp_ca_from = now + 3600;
	CU_ASSERT_EQUAL(ca_sign_call(&st, 2, tbs, tbs_len, sig, &sig_len), -1);
	st.ocsp_ca_from = now - 60;
	CU_ASSERT_EQUAL(ca_sign_call(&st, 2, tbs, tbs_len, sig, &sig_len), 0);
	st.ocsp_ca_from = 0;
	CU_ASSERT_EQUAL(ca_sign_call(&st, 2, tbs, tbs_len, sig, &sig_len), -1);
	st.ocsp_by_ca = 1;
	CU_ASSERT_EQUAL(ca_sign_call(&st, 2, tbs, tbs_len, sig, &sig_len), 0);
	free(tbs);
	/* Never another responderID, nor another issuer's CertID. */
	memset(rd.key_hash, 0x66, 20);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_tbs_encode(&rd, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_sign_call(&st, 2, tbs, tbs_len, sig, &sig_len), -1);
	free(tbs);
	memcpy(rd.key_hash, is.key1, 20);
	memset(&other, 0x55, sizeof(other));
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &other,
		serial, sizeof(serial), cid, &cid_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_tbs_encode(&rd, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_sign_call(&st, 2, tbs, tbs_len, sig, &sig_len), -1);
	free(tbs);
	/* The header allows the key index for this message only in range. */
	{
		struct ca_signer_hdr h = { CA_SMSG_OCSP_CA_SIGN, 2, 1, 10 }, g;
		unsigned char raw[CA_SIGNER_HDR];

		ca_signer_hdr_put(&h, raw);
		CU_ASSERT_EQUAL(ca_signer_hdr_get(raw, &g), 0);
		h.key = CA_SIGNER_KEYS;
		ca_signer_hdr_put(&h, raw);
		CU_ASSERT_EQUAL(ca_signer_hdr_get(raw, &g), -1);
	}
	free(spki);
	ca_key_free(k);
}

/* ------------------------------------------- the CRL signer (background) */

/* A TBSCertList of NUM with N entries (about 40 bytes each). */
static int
big_crl_tbs(uint64_t num, size_t n, unsigned char **tbs, size_t *len)
{
	struct ca_crl_entry *e = calloc(n, sizeof(*e));
	int64_t now = (int64_t)time(NULL);
	int rc;

	if (e == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		e[i].serial_len = 16;
		e[i].serial[0] = 0x40;
		for (int k = 1; k < 16; k++)
			e[i].serial[k] = (unsigned char)(i >> (8 * (k % 4)));
		e[i].reason = (signed char)(i % 2);
		e[i].revoked_at = now - 3600;
	}
	rc = crl_tbs_of(num, now, e, n, tbs, len);
	free(e);
	return rc;
}

/* Does the root's key verify SIG over TBS? */
static int
root_verifies(const unsigned char *tbs, size_t len, const unsigned char *sig,
	      size_t sig_len)
{
	mbedtls_x509_crt root;
	unsigned char h[32];
	int ok;

	mbedtls_x509_crt_init(&root);
	ok = mbedtls_x509_crt_parse_der(&root, root_der, root_len) == 0 &&
	     mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), tbs, len,
			h) == 0 &&
	     mbedtls_pk_verify(&root.pk, MBEDTLS_MD_SHA256, h, 32, sig,
			       sig_len) == 0;
	mbedtls_x509_crt_free(&root);
	return ok;
}

struct crl_job {
	int background;         /* call mica_thread_background first */
	uint64_t number;
	size_t entries;
	int rc;
	struct mica_err err;
};

static void *
crl_job_main(void *arg)
{
	struct crl_job *j = arg;
	unsigned char *tbs = NULL, sig[CA_SIG_MAX];
	size_t len = 0, sig_len = 0;

	if (j->background)
		mica_thread_background("test-crl");
	j->rc = -1;
	if (big_crl_tbs(j->number, j->entries, &tbs, &len) == 0 &&
	    ca_signer_sign(sg, CA_SIGN_CRL, tbs, len, sig, &sig_len, NULL,
			   &j->err) == 0 &&
	    root_verifies(tbs, len, sig, sig_len))
		j->rc = 0;
	free(tbs);
	return NULL;
}

/* Sign a CRL of NUMBER with ENTRIES entries on a new thread. */
static int
crl_on_thread(int background, uint64_t number, size_t entries)
{
	struct crl_job j = { background, number, entries, -1, { 0 } };
	pthread_t t;

	if (pthread_create(&t, NULL, crl_job_main, &j) != 0)
		return -1;
	pthread_join(t, NULL);
	return j.rc;
}

/* PID's nice value (/proc/PID/stat, the 19th field), or 99. */
static int
nice_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	int nice = 99, f = 3;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 99;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return 99;
	for (p = strtok(p + 1, " "); p != NULL; p = strtok(NULL, " "), f++)
		if (f == 19) {
			nice = atoi(p);
			break;
		}
	return nice;
}

/* The pid of the signer named mica-signer-crl, or 0. */
static pid_t
crl_signer(void)
{
	pid_t pids[CA_SIGNER_MAX + 1], found = 0;
	size_t n = ca_signer_pids(sg, pids, CA_SIGNER_MAX + 1);

	for (size_t i = 0; i < n; i++) {
		char path[64], line[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pids[i]);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(line, sizeof(line), f) != NULL &&
		    strcmp(line, "mica-signer-crl\n") == 0)
			found = pids[i];
		fclose(f);
	}
	return found;
}

/*
 * A large CRL from a background thread goes to a signer of its own, which
 * the keeper starts the first time: named mica-signer-crl, ten nice steps
 * below the keeper, confined like the others, restarted when killed; it
 * signs while every other signer is busy. Small CRLs, and large ones from
 * other threads, never start it.
 */
static void
test_large_crls_of_background_threads_have_their_signer(void)
{
	size_t big = CA_SIGNER_CRL_BACKGROUND_MIN / 40 + 1000;
	int want = getpriority(PRIO_PROCESS, 0) + MICA_THREAD_BACKGROUND_NICE;
	pid_t pids[CA_SIGNER_MAX + 1], bg, busy[2];
	int fds[2];

	if (want > 19)
		want = 19;
	CU_ASSERT_EQUAL_FATAL(wait_signers(2, 0), 0);
	/* A small CRL of a background thread, a large one of another. */
	CU_ASSERT_EQUAL(crl_on_thread(1, 100, 10), 0);
	CU_ASSERT_EQUAL(crl_on_thread(0, 101, big), 0);
	CU_ASSERT_EQUAL(ca_signer_pids(sg, pids, CA_SIGNER_MAX + 1), 2);
	CU_ASSERT_EQUAL(crl_signer(), 0);

	/* A large one of a background thread: its signer starts. */
	CU_ASSERT_EQUAL(crl_on_thread(1, 102, big), 0);
	CU_ASSERT_EQUAL(ca_signer_pids(sg, pids, CA_SIGNER_MAX + 1), 3);
	CU_ASSERT_FATAL((bg = crl_signer()) > 0);
	CU_ASSERT_EQUAL(nice_of(bg), want);
	CU_ASSERT_EQUAL(nice_of(pids[0] == bg ? pids[1] : pids[0]),
			getpriority(PRIO_PROCESS, 0));
	assert_seccomp_filter(bg);

	/* With both other signers held, it still signs (it waits for none
	 * of them); a second one does not start. */
	for (int k = 0, i = 0; k < 3 && i < 2; k++)
		if (pids[k] != bg) {
			busy[i] = pids[k];
			fds[i] = ca_signer_test_fd(sg, pids[k]);
			CU_ASSERT(fds[i] >= 0);
			i++;
		}
	CU_ASSERT_EQUAL(crl_on_thread(1, 103, big), 0);
	CU_ASSERT_EQUAL(crl_signer(), bg);
	ca_signer_test_fd_done(sg, busy[0]);
	ca_signer_test_fd_done(sg, busy[1]);
	CU_ASSERT_EQUAL(wait_signers(3, busy[0]), 0);
	CU_ASSERT_EQUAL(wait_signers(3, busy[1]), 0);

	/* Killed while idle, it is replaced by another of its kind, which
	 * signs the CRL that found the dead one's connection broken: the
	 * keeper is stopped meanwhile, so that the CRL meets the broken
	 * connection first, and let go once it was dropped; the other
	 * signers are held, so that only the successor can sign it. */
	{
		struct crl_job j = { 1, 104, big, -1, { 0 } };
		pid_t keeper = ca_signer_keeper_pid(sg);
		pthread_t t;
		int gone = 0;
		size_t n = ca_signer_pids(sg, pids, CA_SIGNER_MAX + 1);

		CU_ASSERT_EQUAL_FATAL(n, 3);
		for (size_t k = 0, i = 0; k < n && i < 2; k++)
			if (pids[k] != bg) {
				busy[i] = pids[k];
				CU_ASSERT(ca_signer_test_fd(sg, busy[i]) >= 0);
				i++;
			}
		CU_ASSERT_EQUAL_FATAL(kill(keeper, SIGSTOP), 0);
		CU_ASSERT_EQUAL(kill(bg, SIGKILL), 0);
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, crl_job_main,
						     &j), 0);
		for (int i = 0; i < 3000 && !gone; i++) {   /* 30 s */
			n = ca_signer_pids(sg, pids, CA_SIGNER_MAX + 1);
			gone = 1;
			for (size_t k = 0; k < n; k++)
				gone &= pids[k] != bg;
			if (!gone)
				usleep(10000);
		}
		CU_ASSERT(gone);
		kill(keeper, SIGCONT);
		pthread_join(t, NULL);
		CU_ASSERT_EQUAL(j.rc, 0);
		ca_signer_test_fd_done(sg, busy[0]);
		ca_signer_test_fd_done(sg, busy[1]);
	}
	CU_ASSERT_EQUAL(wait_signers(3, bg), 0);
	CU_ASSERT_EQUAL(wait_signers(3, busy[0]), 0);
	CU_ASSERT_EQUAL(wait_signers(3, busy[1]), 0);
	CU_ASSERT_FATAL((bg = crl_signer()) > 0);
	CU_ASSERT_EQUAL(nice_of(bg), want);

	/* It signs CRLs only: a certificate sent to it on its connection is
	 * refused. While it is held, a new domain list reaches the other
	 * signers without waiting for it (it has no use for the list). */
	{
		struct ca_signer_hdr h;
		struct leaf l;
		struct mica_err err;
		unsigned char hb[CA_SIGNER_HDR], *tbs = NULL, reply[512];
		size_t tbs_len = 0;
		int fd = ca_signer_test_fd(sg, bg);
		time_t t0 = time(NULL);

		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(ca_signer_set_domains(sg, domains, 1,
						      domains_mac, &err), 0);
		CU_ASSERT(time(NULL) - t0 < 20);
		leaf_default(&l);
		CU_ASSERT_EQUAL_FATAL(leaf_tbs(&l, &tbs, &tbs_len), 0);
		memset(&h, 0, sizeof(h));
		h.type = CA_SMSG_SIGN_LEAF;
		h.id = 7;
		h.len = (uint32_t)tbs_len;
		ca_signer_hdr_put(&h, hb);
		CU_ASSERT_EQUAL(ca_signer_write_all(fd, hb, sizeof(hb)), 0);
		CU_ASSERT_EQUAL(ca_signer_write_all(fd, tbs, tbs_len), 0);
		free(tbs);
		CU_ASSERT_EQUAL_FATAL(ca_signer_read_all(fd, hb, sizeof(hb),
							 30000), 0);
		CU_ASSERT_EQUAL_FATAL(ca_signer_hdr_get(hb, &h), 0);
		CU_ASSERT_EQUAL(h.type, CA_SMSG_REFUSED);
		CU_ASSERT_FATAL(h.len > 9 && h.len < sizeof(reply));
		CU_ASSERT_EQUAL(ca_signer_read_all(fd, reply, h.len, 30000), 0);
		reply[h.len] = '\0';
		CU_ASSERT_PTR_NOT_NULL(memmem(reply, h.len, "CRLs only", 9));
		CU_ASSERT(log_count("signs CRLs only") >= 1);
		ca_signer_test_fd_done(sg, bg);
	}
	CU_ASSERT_EQUAL(wait_signers(3, bg), 0);
	{
		struct leaf l;

		leaf_default(&l);
		CU_ASSERT_EQUAL(sign_leaf(&l, NULL), 0);
	}
}

int
main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "signs a leaf that the root verifies",
		  test_signs_a_leaf_the_root_verifies },
		{ "a CA key signs OCSP for itself only when allowed",
		  test_a_ca_key_signs_ocsp_for_itself_only_when_allowed },
		{ "refuses a CA certificate or keyCertSign",
		  test_refuses_a_ca_certificate },
		{ "refuses names outside the allowed domains",
		  test_refuses_names_outside_the_domains },
		{ "signs addresses, an IPv4-mapped one as stored (renewal)",
		  test_signs_addresses_as_stored },
		{ "signs a UPN as mica writes it, refuses another account, "
		  "type or string",
		  test_upn_names },
		{ "refuses a 100-year or back-dated validity",
		  test_refuses_long_or_dated_validity },
		{ "refuses a foreign issuer, unknown usages and garbage",
		  test_refuses_foreign_issuer_key_usage_and_garbage },
		{ "CRL numbers only increase",
		  test_crl_numbers_only_increase },
		{ "allowed domains change only with the key's MAC",
		  test_domains_change_only_with_the_key_mac },
		{ "start refuses a wrong passphrase and unsealed domains",
		  test_start_refuses_wrong_passphrase_and_unsealed_domains },
		{ "signers are confined (seccomp, no new privileges)",
		  test_signers_are_confined },
		{ "malformed frames close that connection only",
		  test_malformed_frames_close_the_connection_only },
		{ "a killed signer is replaced and nothing hangs",
		  test_a_killed_signer_is_replaced },
		{ "a signer killed while idle leaves no connection behind",
		  test_an_idle_signer_killed_leaves_no_connection },
		{ "after a rollover: leaves with the current key, CRLs with each",
		  test_several_keys_after_a_rollover },
		{ "the OCSP key: certified only as its own short-lived responder, signs only this CA's responses",
		  test_the_ocsp_key_signs_only_what_the_signer_checks },
		{ "large CRLs of background threads have a signer of their own",
		  test_large_crls_of_background_threads_have_their_signer },
	};
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("ca/signer", suite_init, suite_clean);
	if (suite == NULL)
		goto fail;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		 CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
fail:
	CU_cleanup_registry();
	return 1;
}

/*
 * fuzz/fuzz_p7.c - the readers of what other CAs send (issue 12): the
 * PKCS#7 certs-only decoder and encoder (ca/p7.h), the certificate-file
 * loader (PEM bundles, DER, .p7b, base64), and the lenient readers of CA
 * certificates, CRLs and name constraints (ca/cacert.h, ca/x509.h).
 *
 * The input goes, whole, to each of them. Beyond "no crash, no leak, no
 * UB" and the error convention:
 *  - a message ca_p7_decode accepts has 1..CA_P7_CERTS_MAX certificates,
 *    each inside the input and a whole DER element; re-encoded it decodes
 *    to the same set of certificates, and encoding that again gives the
 *    same bytes (the encoder sorts the SET OF: a fixed point);
 *  - ca_certs_load hands back 1..CA_BUNDLE_MAX certificates, each of
 *    which ca_cert_info_read accepts, with lengths in bounds;
 *  - ca_cert_info_read's pointers lie inside the input, its key
 *    identifier is 1..CA_KEYID_MAX octets;
 *  - ca_cert_issued_by on such a certificate and itself (its signature
 *    algorithm and key, RSASSA-PSS too) keeps the error convention;
 *  - ca_eku_allows answers -1, 0 or 1, ca_cert_names_url 0 or 1; the
 *    policyConstraints read are -1 or 0..CA_SKIPCERTS_MAX;
 *  - ca_crl_info_read's pointers lie inside the input, and
 *    ca_crl_scope_covers answers 0 or 1 for it and a certificate;
 *  - ca_nc_parse counts no more subtrees than it has room for, and
 *    ca_nc_allows answers 0 or 1 for a few names.
 */
#include "fuzz/fuzz.h"

#include "ca/cacert.h"
#include "ca/der.h"
#include "ca/names.h"
#include "ca/p7.h"
#include "ca/x509.h"

static int
inside(const uint8_t *buf, size_t size, const unsigned char *p, size_t n)
{
	return p >= buf && n <= size && (size_t)(p - buf) <= size - n;
}

static int
cmp_cert(const void *a, const void *b)
{
	const struct ca_p7_cert *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->der, y->der, n);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static void
p7_roundtrip(const uint8_t *data, size_t size)
{
	struct ca_p7_cert c[CA_P7_CERTS_MAX], d[CA_P7_CERTS_MAX];
	struct mica_err err;
	unsigned char *enc = NULL, *enc2 = NULL;
	size_t n = 0, m = 0, len = 0, len2 = 0;
	int rc;

	mica_err_clear(&err);
	rc = ca_p7_decode(data, size, c, &n, &err);
	fuzz_check_err("ca_p7_decode", rc, &err);
	if (rc != 0)
		return;
	if (n == 0 || n > CA_P7_CERTS_MAX)
		fuzz_fail("ca_p7_decode: %zu certificates", n);
	for (size_t i = 0; i < n; i++) {
		struct ca_der_cur cur;
		struct ca_der_tlv t;

		if (!inside(data, size, c[i].der, c[i].len))
			fuzz_fail("ca_p7_decode: certificate %zu outside the input", i);
		ca_der_init(&cur, c[i].der, c[i].len);
		if (ca_der_get_any(&cur, &t, NULL) != 0 || !ca_der_empty(&cur) ||
		    t.tag != CA_DER_SEQUENCE)
			fuzz_fail("ca_p7_decode: certificate %zu is not one element", i);
	}
	rc = ca_p7_encode(c, n, &enc, &len, &err);
	fuzz_check_err("ca_p7_encode", rc, &err);
	if (rc != 0)
		fuzz_fail("ca_p7_encode refused what ca_p7_decode read: %s", err.msg);
	rc = ca_p7_decode(enc, len, d, &m, &err);
	if (rc != 0 || m != n)
		fuzz_fail("the encoder's output does not decode back (%s)", err.msg);
	qsort(c, n, sizeof(c[0]), cmp_cert);
	for (size_t i = 0; i < n; i++)
		if (d[i].len != c[i].len || memcmp(d[i].der, c[i].der, c[i].len) != 0)
			fuzz_fail("certificate %zu changed in the round trip", i);
	if (ca_p7_encode(d, m, &enc2, &len2, &err) != 0 || len2 != len ||
	    memcmp(enc, enc2, len) != 0)
		fuzz_fail("encoding is not a fixed point");
	free(enc);
	free(enc2);
}

static void
check_info(const struct ca_cert_info *ci, const unsigned char *buf, size_t size)
{
	if (!inside(buf, size, ci->tbs, ci->tbs_len) ||
	    !inside(buf, size, ci->issuer, ci->issuer_len) ||
	    !inside(buf, size, ci->subject, ci->subject_len) ||
	    !inside(buf, size, ci->spki, ci->spki_len) ||
	    !inside(buf, size, ci->sig, ci->sig_len) ||
	    (ci->nc != NULL && !inside(buf, size, ci->nc, ci->nc_len)) ||
	    (ci->eku != NULL && !inside(buf, size, ci->eku, ci->eku_len)) ||
	    (ci->cdp != NULL && !inside(buf, size, ci->cdp, ci->cdp_len)) ||
	    (ci->aia != NULL && !inside(buf, size, ci->aia, ci->aia_len)) ||
	    (ci->aki != NULL && !inside(buf, size, ci->aki, ci->aki_len)))
		fuzz_fail("ca_cert_info_read: a pointer outside the certificate");
	if (ci->ski_len == 0 || ci->ski_len > CA_KEYID_MAX)
		fuzz_fail("ca_cert_info_read: key identifier of %zu octets", ci->ski_len);
	if (ci->version != 1 && ci->version != 3)
		fuzz_fail("ca_cert_info_read: version %d", ci->version);
	if (ci->require_explicit < -1 ||
	    ci->require_explicit > CA_SKIPCERTS_MAX ||
	    ci->inhibit_mapping < -1 || ci->inhibit_mapping > CA_SKIPCERTS_MAX)
		fuzz_fail("ca_cert_info_read: policyConstraints %d, %d",
			  ci->require_explicit, ci->inhibit_mapping);
}

static void
nc_check(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"www.contoso.test", "contoso.test", "evilcontoso.test",
		"alice@contoso.test", "10.0.0.5", "2001:db8::1",
	};
	struct ca_nc *nc = malloc(sizeof(*nc));
	struct mica_err err;
	int rc;

	if (nc == NULL)
		abort();
	mica_err_clear(&err);
	rc = ca_nc_parse(data, size, nc, &err);
	fuzz_check_err("ca_nc_parse", rc, &err);
	if (rc == 0) {
		if (nc->npermitted > CA_NC_MAX || nc->nexcluded > CA_NC_MAX)
			fuzz_fail("ca_nc_parse: too many subtrees");
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			struct ca_name nm;
			int a;

			if (ca_name_parse(names[i], 0, &nm, NULL) != 0)
				fuzz_fail("test name %s does not parse", names[i]);
			a = ca_nc_allows(nc, &nm);
			if (a != 0 && a != 1)
				fuzz_fail("ca_nc_allows returned %d", a);
		}
	}
	free(nc);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_der_blob *v = NULL;
	struct ca_cert_info ci;
	struct ca_crl_info crl;
	struct mica_err err;
	size_t n = 0;
	int rc;

	p7_roundtrip(data, size);

	mica_err_clear(&err);
	rc = ca_certs_load(data, size, &v, &n, &err);
	fuzz_check_err("ca_certs_load", rc, &err);
	if (rc == 0) {
		if (n == 0 || n > CA_BUNDLE_MAX)
			fuzz_fail("ca_certs_load: %zu certificates", n);
		for (size_t i = 0; i < n; i++) {
			if (v[i].len == 0 || v[i].len > CA_CERT_DER_MAX)
				fuzz_fail("ca_certs_load: certificate of %zu octets",
					  v[i].len);
			if (ca_cert_info_read(v[i].der, v[i].len, &ci, &err) != 0)
				fuzz_fail("ca_certs_load kept what ca_cert_info_read "
					  "refuses: %s", err.msg);
			check_info(&ci, v[i].der, v[i].len);
		}
		ca_blobs_free(v, n);
	}

	mica_err_clear(&err);
	rc = ca_cert_info_read(data, size, &ci, &err);
	fuzz_check_err("ca_cert_info_read", rc, &err);
	if (rc == 0) {
		static const unsigned char server_auth[] = {
			0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };
		int a;

		check_info(&ci, data, size);
		if ((a = ca_eku_allows(&ci, server_auth, sizeof(server_auth))) < -1 ||
		    a > 1)
			fuzz_fail("ca_eku_allows: %d", a);
		/* install-ca's look for this CA's own /root.crl, /root.crt. */
		a = ca_cert_names_url(&ci, CA_URL_CRL,
				      "http://ca.contoso.test/root.crl");
		if (a != 0 && a != 1)
			fuzz_fail("ca_cert_names_url (CRL): %d", a);
		a = ca_cert_names_url(&ci, CA_URL_CA_ISSUERS,
				      "http://ca.contoso.test/root.crt");
		if (a != 0 && a != 1)
			fuzz_fail("ca_cert_names_url (caIssuers): %d", a);
		/* Its own signature with its own key: the signature
		 * algorithm (RSASSA-PSS parameters included) and the key
		 * (id-RSASSA-PSS ones rewritten for mbedTLS) as a root's
		 * are read by install-ca. */
		mica_err_clear(&err);
		fuzz_check_err("ca_cert_issued_by",
			       ca_cert_issued_by(&ci, &ci, &err), &err);
	}

	mica_err_clear(&err);
	rc = ca_crl_info_read(data, size, &crl, &err);
	fuzz_check_err("ca_crl_info_read", rc, &err);
	if (rc == 0 &&
	    (!inside(data, size, crl.tbs, crl.tbs_len) ||
	     !inside(data, size, crl.issuer, crl.issuer_len) ||
	     !inside(data, size, crl.sig, crl.sig_len) ||
	     (crl.entries != NULL && !inside(data, size, crl.entries, crl.entries_len)) ||
	     (crl.aki != NULL && !inside(data, size, crl.aki, crl.aki_len)) ||
	     (crl.idp_dp != NULL && !inside(data, size, crl.idp_dp, crl.idp_dp_len))))
		fuzz_fail("ca_crl_info_read: a pointer outside the CRL");
	/* Its scope against a certificate of the corpus's kind: this
	 * input's own CDP-like bytes, read as a CRL's and as a
	 * certificate's (both views of one buffer). */
	if (rc == 0) {
		struct ca_cert_info other;
		int s;

		memset(&other, 0, sizeof(other));
		other.cdp = crl.idp_dp;
		other.cdp_len = crl.idp_dp_len;
		if ((s = ca_crl_scope_covers(&crl, &other)) != 0 && s != 1)
			fuzz_fail("ca_crl_scope_covers: %d", s);
		other.cdp = data;
		other.cdp_len = size;
		if ((s = ca_crl_scope_covers(&crl, &other)) != 0 && s != 1)
			fuzz_fail("ca_crl_scope_covers: %d", s);
	}
	if (rc == 0 && ci.serial != NULL)
		(void)ca_crl_lists(&crl, ci.serial, ci.serial_len);

	nc_check(data, size);
	return 0;
}

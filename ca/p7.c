/*
 * ca/p7.c - PKCS#7 certs-only messages (see ca/p7.h): the decoder reads a
 * degenerate SignedData with ca/der.h's fail-closed cursor, the encoder
 * writes one with its bounded writer (a size pass, then a write pass that
 * must fill the buffer exactly).
 */
#include "ca/p7.h"

#include <stdlib.h>
#include <string.h>

#include "ca/der.h"

/* id-signedData 1.2.840.113549.1.7.2 and id-data 1.2.840.113549.1.7.1
 * (RFC 5652 5.1, 4). */
static const unsigned char OID_SIGNED_DATA[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
};
static const unsigned char OID_DATA[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
};

static int
bad(struct mica_err *err, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_pkcs7",
			    "PKCS#7: %s", why);
}

/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm
 * SEQUENCE, signatureValue BIT STRING }: the outer shape only, so that no
 * other CertificateChoices (RFC 5652 10.2.2) gets through as one. */
static int
cert_shape(const struct ca_der_tlv *t)
{
	struct ca_der_cur c;
	const unsigned char *v;
	size_t n;

	if (t->tag != CA_DER_SEQUENCE)
		return 0;
	ca_der_init(&c, t->val, t->len);
	if (ca_der_get_tlv(&c, CA_DER_SEQUENCE, &v, &n, NULL) < 0 ||
	    ca_der_get_tlv(&c, CA_DER_SEQUENCE, &v, &n, NULL) < 0 ||
	    ca_der_get_tlv(&c, CA_DER_BIT_STRING, &v, &n, NULL) < 0 ||
	    !ca_der_empty(&c))
		return 0;
	return 1;
}

int
ca_p7_decode(const unsigned char *der, size_t len,
	     struct ca_p7_cert certs[CA_P7_CERTS_MAX], size_t *n,
	     struct mica_err *err)
{
	struct ca_der_cur top, ci, ctx, sd, set, enc;
	struct ca_der_tlv t;
	const unsigned char *oid;
	size_t oid_len, cnt = 0;
	uint64_t version;

	if (n != NULL)
		*n = 0;
	if (der == NULL || certs == NULL || n == NULL)
		return bad(err, "nothing to read");
	if (len > CA_P7_MAX)
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "PKCS#7: larger than %d bytes", CA_P7_MAX);
	/* ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT } */
	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &ci, NULL) < 0)
		return bad(err, "not a DER ContentInfo");
	if (!ca_der_empty(&top))
		return bad(err, "data after the ContentInfo");
	if (ca_der_get_oid(&ci, &oid, &oid_len, NULL) < 0)
		return bad(err, "no content type");
	if (!ca_der_oid_eq(oid, oid_len, OID_SIGNED_DATA,
			   sizeof(OID_SIGNED_DATA)))
		return bad(err, "not SignedData");
	if (ca_der_enter(&ci, CA_DER_CTX_CONS(0), &ctx, NULL) < 0 ||
	    !ca_der_empty(&ci))
		return bad(err, "malformed content");
	if (ca_der_enter(&ctx, CA_DER_SEQUENCE, &sd, NULL) < 0 ||
	    !ca_der_empty(&ctx))
		return bad(err, "malformed SignedData");

	/* version CMSVersion: 1 for a certs-only message (RFC 5652 5.1). */
	if (ca_der_get_uint(&sd, 255, &version, NULL) < 0 || version != 1)
		return bad(err, "SignedData version is not 1");
	/* digestAlgorithms SET OF AlgorithmIdentifier: empty without
	 * signers, but some writers list one; each must be well formed. */
	if (ca_der_enter(&sd, CA_DER_SET, &set, NULL) < 0)
		return bad(err, "malformed digestAlgorithms");
	while (!ca_der_empty(&set)) {
		struct ca_der_cur alg;

		if (ca_der_enter(&set, CA_DER_SEQUENCE, &alg, NULL) < 0 ||
		    ca_der_get_oid(&alg, &oid, &oid_len, NULL) < 0)
			return bad(err, "malformed digestAlgorithms");
		if (!ca_der_empty(&alg) &&
		    (ca_der_get_any(&alg, &t, NULL) < 0 ||
		     !ca_der_empty(&alg)))
			return bad(err, "malformed digestAlgorithms");
	}
	/* encapContentInfo ::= SEQUENCE { id-data } with no content. */
	if (ca_der_enter(&sd, CA_DER_SEQUENCE, &enc, NULL) < 0 ||
	    ca_der_get_oid(&enc, &oid, &oid_len, NULL) < 0)
		return bad(err, "malformed encapContentInfo");
	if (!ca_der_oid_eq(oid, oid_len, OID_DATA, sizeof(OID_DATA)))
		return bad(err, "encapsulated content is not data");
	if (!ca_der_empty(&enc))
		return bad(err, "encapsulated content present (not certs-only)");

	/* certificates [0] IMPLICIT CertificateSet */
	if (!ca_der_peek(&sd, CA_DER_CTX_CONS(0)))
		return bad(err, "no certificates");
	if (ca_der_enter(&sd, CA_DER_CTX_CONS(0), &set, NULL) < 0)
		return bad(err, "malformed certificates");
	if (ca_der_empty(&set))
		return bad(err, "no certificates");
	while (!ca_der_empty(&set)) {
		if (ca_der_get_any(&set, &t, NULL) < 0)
			return bad(err, "malformed certificate");
		if (!cert_shape(&t))
			return bad(err, "an element of the certificate set is "
				   "not an X.509 certificate");
		if (cnt == CA_P7_CERTS_MAX)
			return bad(err, "too many certificates");
		certs[cnt].der = t.raw;
		certs[cnt].len = t.raw_len;
		cnt++;
	}
	/* crls [1] IMPLICIT: not in a certs-only message. */
	if (ca_der_peek(&sd, CA_DER_CTX_CONS(1)))
		return bad(err, "CRLs present (not certs-only)");
	/* signerInfos SET OF SignerInfo: empty. */
	if (ca_der_enter(&sd, CA_DER_SET, &set, NULL) < 0)
		return bad(err, "malformed signerInfos");
	if (!ca_der_empty(&set))
		return bad(err, "signed by someone (not certs-only)");
	if (!ca_der_empty(&sd))
		return bad(err, "data after signerInfos");
	*n = cnt;
	return 0;
}

/* X.690 11.6: the elements of a SET OF in ascending order of their
 * encodings, the shorter padded with trailing zero octets. */
static int
der_order(const void *a, const void *b)
{
	const struct ca_p7_cert *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->der, y->der, n);

	if (c != 0)
		return c;
	for (size_t i = n; i < x->len; i++)
		if (x->der[i] != 0)
			return 1;
	for (size_t i = n; i < y->len; i++)
		if (y->der[i] != 0)
			return -1;
	return 0;
}

/* The certs-only message with CERTS[0..N) in the SET of context tag FIELD
 * ([0] certificates or [1] crls: a CertificateList has the same outer
 * shape as a Certificate). */
static int
encode(const struct ca_p7_cert *certs, size_t n, int field,
       unsigned char **out, size_t *out_len, struct mica_err *err)
{
	struct ca_p7_cert sorted[CA_P7_CERTS_MAX];
	struct ca_der_w w;
	unsigned char *buf;
	size_t set = 0, sd, ctx, ci, total, i;

	if (out == NULL || out_len == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
				    "ca_p7_encode: no output");
	*out = NULL;
	*out_len = 0;
	if (certs == NULL || n == 0 || n > CA_P7_CERTS_MAX)
		return bad(err, "1 to 16 certificates");
	for (i = 0; i < n; i++) {
		struct ca_der_cur c;
		struct ca_der_tlv t;

		if (certs[i].der == NULL || certs[i].len > CA_P7_MAX)
			return bad(err, "a certificate is too large");
		ca_der_init(&c, certs[i].der, certs[i].len);
		if (ca_der_get_any(&c, &t, NULL) < 0 || !ca_der_empty(&c) ||
		    !cert_shape(&t))
			return bad(err, "a certificate is not one DER "
				   "Certificate");
		sorted[i] = certs[i];
		set += certs[i].len;
	}
	qsort(sorted, n, sizeof(sorted[0]), der_order);
	if (set > CA_P7_MAX)
		return bad(err, "the certificates are too large together");
	/* SignedData: version (3) + digestAlgorithms (2) + encapContentInfo
	 * (2 + 11) + certificates [0] + signerInfos (2). */
	sd = 3 + 2 + 2 + 2 + sizeof(OID_DATA) + ca_der_hdr_size(set) + set + 2;
	ctx = ca_der_hdr_size(sd) + sd;
	ci = 2 + sizeof(OID_SIGNED_DATA) + ca_der_hdr_size(ctx) + ctx;
	total = ca_der_hdr_size(ci) + ci;
	if ((buf = malloc(total)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	ca_der_w_init(&w, buf, total);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, ci);
	ca_der_w_hdr(&w, CA_DER_OID, sizeof(OID_SIGNED_DATA));
	ca_der_w_raw(&w, OID_SIGNED_DATA, sizeof(OID_SIGNED_DATA));
	ca_der_w_hdr(&w, CA_DER_CTX_CONS(0), ctx);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, sd);
	ca_der_w_hdr(&w, CA_DER_INTEGER, 1);
	ca_der_w_byte(&w, 1);
	ca_der_w_hdr(&w, CA_DER_SET, 0);
	ca_der_w_hdr(&w, CA_DER_SEQUENCE, 2 + sizeof(OID_DATA));
	ca_der_w_hdr(&w, CA_DER_OID, sizeof(OID_DATA));
	ca_der_w_raw(&w, OID_DATA, sizeof(OID_DATA));
	ca_der_w_hdr(&w, field == 0 ? CA_DER_CTX_CONS(0) : CA_DER_CTX_CONS(1),
		     set);
	for (i = 0; i < n; i++)
		ca_der_w_raw(&w, sorted[i].der, sorted[i].len);
	ca_der_w_hdr(&w, CA_DER_SET, 0);
	if (ca_der_w_done(&w, err) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = total;
	return 0;
}

int
ca_p7_encode(const struct ca_p7_cert *certs, size_t n, unsigned char **out,
	     size_t *out_len, struct mica_err *err)
{
	return encode(certs, n, 0, out, out_len, err);
}

int
ca_p7_encode_crl(const unsigned char *crl, size_t crl_len,
		 unsigned char **out, size_t *out_len, struct mica_err *err)
{
	struct ca_p7_cert c = { crl, crl_len };

	return encode(&c, 1, 1, out, out_len, err);
}

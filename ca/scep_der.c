/*
 * ca/scep_der.c - SCEP's CMS messages (see ca/scep.h): the strict reader
 * of a client's pkiMessage with ca/der.h's fail-closed cursor, the content
 * decryption, the CertRep and GetNextCACert writers, and the RA signer's
 * checks of what it signs. mbedTLS does the primitives (X.509, RSA, SHA,
 * DES, AES).
 */
#include "ca/scep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/cipher.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include "ca/cacert.h"
#include "ca/csr.h"
#include "ca/der.h"
#include "ca/keys.h"
#include "ca/p7.h"
#include "ca/profile.h"

/* RFC 5652 and RFC 8894 object identifiers (contents octets). */
static const unsigned char OID_DATA[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01 };
static const unsigned char OID_SIGNED_DATA[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };
static const unsigned char OID_ENVELOPED_DATA[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03 };
static const unsigned char OID_RSA[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const unsigned char OID_SHA1_RSA[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05 };
static const unsigned char OID_SHA256_RSA[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b };
static const unsigned char OID_SHA512_RSA[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d };
static const unsigned char OID_SHA1[] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
static const unsigned char OID_SHA256[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
static const unsigned char OID_SHA512[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03 };
static const unsigned char OID_DES_CBC[] = { 0x2b, 0x0e, 0x03, 0x02, 0x07 };
static const unsigned char OID_DES3_CBC[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07 };
static const unsigned char OID_AES128_CBC[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02 };
static const unsigned char OID_AES192_CBC[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x16 };
static const unsigned char OID_AES256_CBC[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a };
static const unsigned char OID_CONTENT_TYPE[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03 };
static const unsigned char OID_MESSAGE_DIGEST[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04 };
static const unsigned char OID_SIGNING_TIME[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05 };
/* id-attributes 2.16.840.1.113733.1.9.N (RFC 8894 3.2.1) */
#define SCEP_ATTR(n) { 0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x45, 0x01, 0x09, n }
static const unsigned char OID_MESSAGE_TYPE[] = SCEP_ATTR(2);
static const unsigned char OID_PKI_STATUS[] = SCEP_ATTR(3);
static const unsigned char OID_FAIL_INFO[] = SCEP_ATTR(4);
static const unsigned char OID_SENDER_NONCE[] = SCEP_ATTR(5);
static const unsigned char OID_RECIPIENT_NONCE[] = SCEP_ATTR(6);
static const unsigned char OID_TRANSACTION_ID[] = SCEP_ATTR(7);

#define OIDEQ(o, l, w) ca_der_oid_eq((o), (l), (w), sizeof(w))

static int
bad(struct mica_err *err, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_scep", "SCEP: %s", why);
}

size_t
ca_scep_cipher_key_len(int cipher)
{
	switch (cipher) {
	case CA_SCEP_DES_CBC:    return 8;
	case CA_SCEP_DES3_CBC:   return 24;
	case CA_SCEP_AES128_CBC: return 16;
	case CA_SCEP_AES192_CBC: return 24;
	case CA_SCEP_AES256_CBC: return 32;
	default:                 return 0;
	}
}

static size_t
cipher_block(int cipher)
{
	return cipher == CA_SCEP_DES_CBC || cipher == CA_SCEP_DES3_CBC ? 8 : 16;
}

static mbedtls_cipher_type_t
cipher_type(int cipher)
{
	switch (cipher) {
	case CA_SCEP_DES_CBC:    return MBEDTLS_CIPHER_DES_CBC;
	case CA_SCEP_DES3_CBC:   return MBEDTLS_CIPHER_DES_EDE3_CBC;
	case CA_SCEP_AES128_CBC: return MBEDTLS_CIPHER_AES_128_CBC;
	case CA_SCEP_AES192_CBC: return MBEDTLS_CIPHER_AES_192_CBC;
	case CA_SCEP_AES256_CBC: return MBEDTLS_CIPHER_AES_256_CBC;
	default:                 return MBEDTLS_CIPHER_NONE;
	}
}

static const unsigned char *
cipher_oid(int cipher, size_t *len)
{
	switch (cipher) {
	case CA_SCEP_DES_CBC:
		*len = sizeof(OID_DES_CBC); return OID_DES_CBC;
	case CA_SCEP_DES3_CBC:
		*len = sizeof(OID_DES3_CBC); return OID_DES3_CBC;
	case CA_SCEP_AES128_CBC:
		*len = sizeof(OID_AES128_CBC); return OID_AES128_CBC;
	case CA_SCEP_AES192_CBC:
		*len = sizeof(OID_AES192_CBC); return OID_AES192_CBC;
	case CA_SCEP_AES256_CBC:
		*len = sizeof(OID_AES256_CBC); return OID_AES256_CBC;
	default:
		*len = 0; return NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */


static mbedtls_md_type_t
digest_of(const unsigned char *oid, size_t len)
{
	if (OIDEQ(oid, len, OID_SHA1))
		return MBEDTLS_MD_SHA1;
	if (OIDEQ(oid, len, OID_SHA256))
		return MBEDTLS_MD_SHA256;
	if (OIDEQ(oid, len, OID_SHA512))
		return MBEDTLS_MD_SHA512;
	return MBEDTLS_MD_NONE;
}

/* One attribute's single value: SET { value }. */
static int
one_value(struct ca_der_cur *attr, struct ca_der_tlv *v, struct mica_err *err)
{
	struct ca_der_cur set;

	if (ca_der_enter(attr, CA_DER_SET, &set, err) != 0 ||
	    ca_der_get_any(&set, v, err) != 0 ||
	    ca_der_end(&set, "attribute values", err) != 0 ||
	    ca_der_end(attr, "attribute", err) != 0)
		return bad(err, "an attribute must have one value");
	return 0;
}

/* A printable decimal of 1..3 digits, as messageType and pkiStatus are:
 * in its one spelling ("19", never "019" or "+19"). */
static int
small_decimal(const struct ca_der_tlv *v, int *out)
{
	int n = 0;

	if (v->tag != CA_DER_PRINTABLE || v->len < 1 || v->len > 3 ||
	    (v->len > 1 && v->val[0] == '0'))
		return -1;
	for (size_t i = 0; i < v->len; i++) {
		if (v->val[i] < '0' || v->val[i] > '9')
			return -1;
		n = n * 10 + (v->val[i] - '0');
	}
	*out = n;
	return 0;
}

struct attrs {
	int type;
	int have_ct, have_md, have_type, have_tid, have_nonce;
	const unsigned char *md; size_t md_len;
};

/* SignedAttributes of a request (the contents of [0] IMPLICIT SET OF). */
static int
req_attrs(const unsigned char *p, size_t len, struct ca_scep_msg *m,
	  struct attrs *a, struct mica_err *err)
{
	struct ca_der_cur c, attr;
	struct ca_der_tlv v;
	const unsigned char *oid, *o2;
	size_t oid_len, o2_len, count = 0;

	ca_der_init(&c, p, len);
	while (!ca_der_empty(&c)) {
		if (++count > 16)
			return bad(err, "too many signed attributes");
		if (ca_der_enter(&c, CA_DER_SEQUENCE, &attr, err) != 0 ||
		    ca_der_get_oid(&attr, &oid, &oid_len, err) != 0 ||
		    one_value(&attr, &v, err) != 0)
			return bad(err, "malformed signed attribute");
		if (OIDEQ(oid, oid_len, OID_CONTENT_TYPE)) {
			struct ca_der_cur vc;

			ca_der_init(&vc, v.raw, v.raw_len);
			if (a->have_ct++ ||
			    ca_der_get_oid(&vc, &o2, &o2_len, err) != 0 ||
			    !OIDEQ(o2, o2_len, OID_DATA))
				return bad(err, "contentType is not id-data");
		} else if (OIDEQ(oid, oid_len, OID_MESSAGE_DIGEST)) {
			if (a->have_md++ || v.tag != CA_DER_OCTET_STRING ||
			    v.len == 0 || v.len > 64)
				return bad(err, "bad messageDigest");
			a->md = v.val;
			a->md_len = v.len;
		} else if (OIDEQ(oid, oid_len, OID_MESSAGE_TYPE)) {
			if (a->have_type++ || small_decimal(&v, &a->type) != 0)
				return bad(err, "bad messageType");
		} else if (OIDEQ(oid, oid_len, OID_TRANSACTION_ID)) {
			/* RFC 8894 3.2.1.1: a PrintableString, sent back
			 * in the CertRep as one. */
			if (a->have_tid++ || v.tag != CA_DER_PRINTABLE ||
			    v.len == 0 || v.len > CA_SCEP_TID_MAX ||
			    !ca_der_printable(v.val, v.len))
				return bad(err, "bad transactionID (a "
					   "PrintableString of 1 to 128 "
					   "letters, digits, space and "
					   "'()+,-./:=?)");
			memcpy(m->tid, v.val, v.len);
			m->tid[v.len] = '\0';
		} else if (OIDEQ(oid, oid_len, OID_SENDER_NONCE)) {
			if (a->have_nonce++ || v.tag != CA_DER_OCTET_STRING ||
			    v.len == 0 || v.len > CA_SCEP_NONCE_MAX)
				return bad(err, "bad senderNonce");
			memcpy(m->nonce, v.val, v.len);
			m->nonce_len = v.len;
		}
		/* signingTime, recipientNonce and others: signed, ignored. */
	}
	if (!a->have_ct || !a->have_md || !a->have_type || !a->have_tid ||
	    !a->have_nonce)
		return bad(err, "a required signed attribute is missing");
	return 0;
}

/* KeyTransRecipientInfo { version 0, issuerAndSerialNumber,
 * rsaEncryption, encryptedKey }. */
static int
recip(struct ca_der_cur *c, struct ca_scep_recip *r, struct mica_err *err)
{
	struct ca_der_cur ri, ias;
	const unsigned char *oid;
	size_t oid_len;
	uint64_t ver;
	int plain;

	if (ca_der_enter(c, CA_DER_SEQUENCE, &ri, err) != 0 ||
	    ca_der_get_uint(&ri, 2, &ver, err) != 0 || ver != 0 ||
	    ca_der_enter(&ri, CA_DER_SEQUENCE, &ias, err) != 0 ||
	    ca_der_get_elem(&ias, CA_DER_SEQUENCE, &r->issuer, &r->issuer_len,
			    err) != 0 ||
	    ca_der_get_tlv(&ias, CA_DER_INTEGER, &r->serial, &r->serial_len,
			   err) != 0 || r->serial_len == 0 ||
	    ca_der_end(&ias, "issuerAndSerialNumber", err) != 0 ||
	    ca_der_get_algid(&ri, &oid, &oid_len, &plain, err) != 0 ||
	    (OIDEQ(oid, oid_len, OID_RSA) && !plain) ||
	    ca_der_get_tlv(&ri, CA_DER_OCTET_STRING, &r->ekey, &r->ekey_len,
			   err) != 0 ||
	    r->ekey_len == 0 || r->ekey_len > CA_SCEP_EKEY_MAX ||
	    ca_der_end(&ri, "KeyTransRecipientInfo", err) != 0)
		return bad(err, "a recipient is not key transport to an "
			   "issuer and serial number");
	/* Another key-encryption algorithm (RSAES-OAEP, say) is read all
	 * the same: that is FAILURE badAlg, not an unreadable message. */
	r->rsa = OIDEQ(oid, oid_len, OID_RSA);
	return 0;
}

/* ContentInfo envelopedData { EnvelopedData } into M. */
static int
envelope(const unsigned char *p, size_t len, struct ca_scep_msg *m,
	 struct mica_err *err)
{
	struct ca_der_cur top, ci, ctx, ed, set, eci, alg;
	struct ca_der_tlv t;
	const unsigned char *oid, *iv;
	size_t oid_len, iv_len;
	uint64_t ver;

	ca_der_init(&top, p, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &ci, err) != 0 ||
	    ca_der_end(&top, "envelope", err) != 0 ||
	    ca_der_get_oid(&ci, &oid, &oid_len, err) != 0 ||
	    !OIDEQ(oid, oid_len, OID_ENVELOPED_DATA) ||
	    ca_der_enter(&ci, CA_DER_CTX_CONS(0), &ctx, err) != 0 ||
	    ca_der_end(&ci, "ContentInfo", err) != 0 ||
	    ca_der_enter(&ctx, CA_DER_SEQUENCE, &ed, err) != 0 ||
	    ca_der_end(&ctx, "ContentInfo", err) != 0)
		return bad(err, "the content is not an EnvelopedData");
	/* version 0 (RFC 5652 6.1: no originatorInfo, only ktri v0) */
	if (ca_der_get_uint(&ed, 4, &ver, err) != 0 || ver != 0)
		return bad(err, "EnvelopedData version is not 0");
	if (ca_der_peek(&ed, CA_DER_CTX_CONS(0)))
		return bad(err, "originatorInfo is not supported");
	if (ca_der_enter(&ed, CA_DER_SET, &set, err) != 0)
		return bad(err, "malformed recipientInfos");
	while (!ca_der_empty(&set)) {
		if (m->nrecips == CA_SCEP_RECIPS_MAX)
			return bad(err, "too many recipients");
		if (recip(&set, &m->recips[m->nrecips++], err) != 0)
			return -1;
	}
	if (m->nrecips == 0)
		return bad(err, "no recipient");
	if (ca_der_enter(&ed, CA_DER_SEQUENCE, &eci, err) != 0 ||
	    ca_der_get_oid(&eci, &oid, &oid_len, err) != 0 ||
	    !OIDEQ(oid, oid_len, OID_DATA) ||
	    ca_der_enter(&eci, CA_DER_SEQUENCE, &alg, err) != 0 ||
	    ca_der_get_oid(&alg, &oid, &oid_len, err) != 0)
		return bad(err, "malformed EncryptedContentInfo");
	if (OIDEQ(oid, oid_len, OID_DES_CBC))
		m->cipher = CA_SCEP_DES_CBC;
	else if (OIDEQ(oid, oid_len, OID_DES3_CBC))
		m->cipher = CA_SCEP_DES3_CBC;
	else if (OIDEQ(oid, oid_len, OID_AES128_CBC))
		m->cipher = CA_SCEP_AES128_CBC;
	else if (OIDEQ(oid, oid_len, OID_AES192_CBC))
		m->cipher = CA_SCEP_AES192_CBC;
	else if (OIDEQ(oid, oid_len, OID_AES256_CBC))
		m->cipher = CA_SCEP_AES256_CBC;
	else
		m->cipher = CA_SCEP_CIPHER_UNSUPPORTED;
	if (m->cipher == CA_SCEP_CIPHER_UNSUPPORTED) {
		/* FAILURE badAlg (ca_scep_msg_check): its parameters, of a
		 * shape only that cipher knows, are read for DER alone and
		 * the content is never decrypted. */
		if ((!ca_der_empty(&alg) &&
		     ca_der_get_any(&alg, &t, err) != 0) ||
		    ca_der_end(&alg, "content encryption algorithm", err) != 0)
			return bad(err, "malformed content encryption "
				   "algorithm");
	} else {
		if (ca_der_get_tlv(&alg, CA_DER_OCTET_STRING, &iv, &iv_len,
				   err) != 0 ||
		    iv_len != cipher_block(m->cipher) ||
		    ca_der_end(&alg, "content encryption algorithm", err) != 0)
			return bad(err, "bad IV");
		memcpy(m->iv, iv, iv_len);
		m->iv_len = iv_len;
	}
	/* encryptedContent [0] IMPLICIT OCTET STRING: primitive as RFC 5652
	 * says, or constructed around definite-length OCTET STRINGs, as Go's
	 * pkcs7 (scepclient) writes it. */
	if (ca_der_get_any(&eci, &t, err) != 0)
		return bad(err, "no encryptedContent");
	if (t.tag == CA_DER_CTX(0)) {
		if (t.len == 0)
			return bad(err, "empty encryptedContent");
		if ((m->ct = malloc(t.len)) == NULL)
			goto oom;
		memcpy(m->ct, t.val, t.len);
		m->ct_len = t.len;
	} else if (t.tag == CA_DER_CTX_CONS(0)) {
		struct ca_der_cur pc;
		const unsigned char *v;
		size_t n, k = 0;

		/* The pieces' total is at most the element's length. */
		if ((m->ct = malloc(t.len ? t.len : 1)) == NULL)
			goto oom;
		ca_der_init(&pc, t.val, t.len);
		while (!ca_der_empty(&pc)) {
			if (++k > CA_SCEP_CHUNKS_MAX ||
			    ca_der_get_tlv(&pc, CA_DER_OCTET_STRING, &v, &n,
					   err) != 0)
				return bad(err, "malformed encryptedContent");
			memcpy(m->ct + m->ct_len, v, n);
			m->ct_len += n;
		}
		if (m->ct_len == 0)
			return bad(err, "empty encryptedContent");
	} else {
		return bad(err, "no encryptedContent");
	}
	if (m->cipher != CA_SCEP_CIPHER_UNSUPPORTED &&
	    m->ct_len % cipher_block(m->cipher) != 0)
		return bad(err, "encryptedContent is not whole blocks");
	if (ca_der_end(&eci, "EncryptedContentInfo", err) != 0 ||
	    ca_der_end(&ed, "EnvelopedData", err) != 0)
		return bad(err, "unprotectedAttrs are not supported");
	return 0;
oom:
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			    "out of memory");
}

/* Verify the SignerInfo: the signature over the signed attributes as a
 * SET (RFC 5652 5.4), and the messageDigest over the content. */
static int
verify(const mbedtls_x509_crt *crt, mbedtls_md_type_t mdt,
       const unsigned char *attrs_raw, size_t attrs_len,
       const struct attrs *a, const unsigned char *content,
       size_t content_len, const unsigned char *sig, size_t sig_len)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(mdt);
	mbedtls_md_context_t ctx;
	unsigned char h[MBEDTLS_MD_MAX_SIZE], set = CA_DER_SET;
	size_t hl;
	int ok = 0;

	if (md == NULL)
		return 0;
	hl = mbedtls_md_get_size(md);
	if (mbedtls_md(md, content, content_len, h) != 0 ||
	    a->md_len != hl || memcmp(h, a->md, hl) != 0)
		return 0;
	mbedtls_md_init(&ctx);
	if (mbedtls_md_setup(&ctx, md, 0) == 0 &&
	    mbedtls_md_starts(&ctx) == 0 &&
	    mbedtls_md_update(&ctx, &set, 1) == 0 &&
	    mbedtls_md_update(&ctx, attrs_raw + 1, attrs_len - 1) == 0 &&
	    mbedtls_md_finish(&ctx, h) == 0 &&
	    mbedtls_pk_verify((mbedtls_pk_context *)&crt->pk, mdt, h, hl, sig,
			      sig_len) == 0)
		ok = 1;
	mbedtls_md_free(&ctx);
	return ok;
}

void
ca_scep_msg_free(struct ca_scep_msg *m)
{
	if (m == NULL)
		return;
	free(m->ct);
	memset(m, 0, sizeof(*m));
}

int
ca_scep_msg_parse(const unsigned char *der, size_t len,
		  struct ca_scep_msg *out, struct mica_err *err)
{
	struct ca_der_cur top, ci, ctx, sd, set, eci, ec, certs, si, sid, sis;
	struct ca_der_tlv t, certv[CA_SCEP_CERTS_MAX];
	struct attrs a;
	mbedtls_x509_crt crts[CA_SCEP_CERTS_MAX];
	const unsigned char *oid, *content = NULL, *attrs = NULL, *attrs_raw;
	const unsigned char *sid_issuer, *sid_serial, *sig;
	size_t oid_len, content_len = 0, attrs_len = 0, attrs_raw_len;
	size_t sid_issuer_len, sid_serial_len, sig_len, ncerts = 0, i;
	mbedtls_md_type_t mdt;
	uint64_t ver;
	struct mica_err e;
	int rc = -1, signer = -1, plain, sig_known;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	for (i = 0; i < CA_SCEP_CERTS_MAX; i++)
		mbedtls_x509_crt_init(&crts[i]);
	if (der == NULL || len == 0) {
		bad(err, "empty message");
		goto out;
	}
	if (len > CA_SCEP_MSG_MAX) {
		mica_err_set(err, MICA_E_TOOLARGE, "too_large",
			     "SCEP: a message is at most %d octets",
			     CA_SCEP_MSG_MAX);
		goto out;
	}
	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &ci, err) != 0 ||
	    ca_der_end(&top, "pkiMessage", err) != 0 ||
	    ca_der_get_oid(&ci, &oid, &oid_len, err) != 0 ||
	    !OIDEQ(oid, oid_len, OID_SIGNED_DATA) ||
	    ca_der_enter(&ci, CA_DER_CTX_CONS(0), &ctx, err) != 0 ||
	    ca_der_end(&ci, "ContentInfo", err) != 0 ||
	    ca_der_enter(&ctx, CA_DER_SEQUENCE, &sd, err) != 0 ||
	    ca_der_end(&ctx, "ContentInfo", err) != 0) {
		bad(err, "not a SignedData");
		goto out;
	}
	if (ca_der_get_uint(&sd, 5, &ver, err) != 0 || ver != 1 ||
	    ca_der_enter(&sd, CA_DER_SET, &set, err) != 0) {
		bad(err, "SignedData version is not 1");
		goto out;
	}
	/* digestAlgorithms: read for shape; the SignerInfo's is the one. */
	while (!ca_der_empty(&set))
		if (ca_der_get_algid(&set, &oid, &oid_len, &plain, err) != 0) {
			bad(err, "malformed digestAlgorithms");
			goto out;
		}
	if (ca_der_enter(&sd, CA_DER_SEQUENCE, &eci, err) != 0 ||
	    ca_der_get_oid(&eci, &oid, &oid_len, err) != 0 ||
	    !OIDEQ(oid, oid_len, OID_DATA) ||
	    ca_der_enter(&eci, CA_DER_CTX_CONS(0), &ec, err) != 0 ||
	    ca_der_get_tlv(&ec, CA_DER_OCTET_STRING, &content, &content_len,
			   err) != 0 ||
	    ca_der_end(&ec, "eContent", err) != 0 ||
	    ca_der_end(&eci, "encapContentInfo", err) != 0) {
		bad(err, "the content is not id-data in one OCTET STRING");
		goto out;
	}
	if (ca_der_enter(&sd, CA_DER_CTX_CONS(0), &certs, err) != 0) {
		bad(err, "no certificates");
		goto out;
	}
	while (!ca_der_empty(&certs)) {
		if (ncerts == CA_SCEP_CERTS_MAX) {
			bad(err, "too many certificates");
			goto out;
		}
		if (ca_der_get_any(&certs, &certv[ncerts], err) != 0 ||
		    certv[ncerts].tag != CA_DER_SEQUENCE ||
		    mbedtls_x509_crt_parse_der(&crts[ncerts],
					       certv[ncerts].raw,
					       certv[ncerts].raw_len) != 0) {
			bad(err, "a certificate does not parse");
			goto out;
		}
		ncerts++;
	}
	if (ncerts == 0 || ca_der_peek(&sd, CA_DER_CTX_CONS(1))) {
		bad(err, "no certificates, or CRLs");
		goto out;
	}
	if (ca_der_enter(&sd, CA_DER_SET, &sis, err) != 0 ||
	    ca_der_end(&sd, "SignedData", err) != 0 ||
	    ca_der_enter(&sis, CA_DER_SEQUENCE, &si, err) != 0 ||
	    ca_der_end(&sis, "signerInfos", err) != 0) {
		bad(err, "exactly one SignerInfo is required");
		goto out;
	}
	if (ca_der_get_uint(&si, 5, &ver, err) != 0 || ver != 1 ||
	    ca_der_enter(&si, CA_DER_SEQUENCE, &sid, err) != 0 ||
	    ca_der_get_elem(&sid, CA_DER_SEQUENCE, &sid_issuer,
			    &sid_issuer_len, err) != 0 ||
	    ca_der_get_tlv(&sid, CA_DER_INTEGER, &sid_serial, &sid_serial_len,
			   err) != 0 || sid_serial_len == 0 ||
	    ca_der_end(&sid, "issuerAndSerialNumber", err) != 0 ||
	    ca_der_get_algid(&si, &oid, &oid_len, &plain, err) != 0) {
		bad(err, "malformed SignerInfo");
		goto out;
	}
	/* A digest mica does not know: the attributes are read all the same,
	 * for a FAILURE badAlg that carries the transactionID and nonce
	 * (RFC 8894 3.2.1.4.5); nothing is verified with it. */
	mdt = digest_of(oid, oid_len);
	if (mdt != MBEDTLS_MD_NONE && !plain) {
		bad(err, "algorithm parameters are not NULL");
		goto out;
	}
	if (mdt == MBEDTLS_MD_NONE)
		out->sig_alg_bad = "an unsupported digest algorithm";
	if (ca_der_get_elem(&si, CA_DER_CTX_CONS(0), &attrs_raw,
			    &attrs_raw_len, err) != 0) {
		bad(err, "no signed attributes");
		goto out;
	}
	{
		struct ca_der_cur ac;

		ca_der_init(&ac, attrs_raw, attrs_raw_len);
		if (ca_der_get_tlv(&ac, CA_DER_CTX_CONS(0), &attrs, &attrs_len,
				   err) != 0)
			goto out;
	}
	if (req_attrs(attrs, attrs_len, out, &a, err) != 0)
		goto out;
	if (ca_der_get_algid(&si, &oid, &oid_len, &plain, err) != 0) {
		bad(err, "malformed SignerInfo");
		goto out;
	}
	sig_known = OIDEQ(oid, oid_len, OID_RSA) ||
		    OIDEQ(oid, oid_len, OID_SHA1_RSA) ||
		    OIDEQ(oid, oid_len, OID_SHA256_RSA) ||
		    OIDEQ(oid, oid_len, OID_SHA512_RSA);
	if (sig_known && !plain) {
		bad(err, "algorithm parameters are not NULL");
		goto out;
	}
	if (out->sig_alg_bad != NULL)
		;   /* the digest's reason stands */
	else if (!sig_known)
		out->sig_alg_bad = "an unsupported signature algorithm";
	else if (!(OIDEQ(oid, oid_len, OID_RSA) ||
		   (OIDEQ(oid, oid_len, OID_SHA1_RSA) &&
		    mdt == MBEDTLS_MD_SHA1) ||
		   (OIDEQ(oid, oid_len, OID_SHA256_RSA) &&
		    mdt == MBEDTLS_MD_SHA256) ||
		   (OIDEQ(oid, oid_len, OID_SHA512_RSA) &&
		    mdt == MBEDTLS_MD_SHA512)))
		out->sig_alg_bad = "a signature algorithm of another digest "
				   "than the SignerInfo's";
	if (ca_der_get_tlv(&si, CA_DER_OCTET_STRING, &sig, &sig_len,
			   err) != 0 || sig_len == 0) {
		bad(err, "no signature");
		goto out;
	}
	/* unsignedAttrs [1]: allowed, ignored. */
	if (ca_der_peek(&si, CA_DER_CTX_CONS(1)) &&
	    ca_der_get_any(&si, &t, err) != 0)
		goto out;
	if (ca_der_end(&si, "SignerInfo", err) != 0)
		goto out;
	/* Any messageType of one to three digits is read: one this server
	 * does not serve (a CertRep, a type of a later draft) is a request it
	 * does not support, which the engine answers FAILURE badRequest
	 * (RFC 8894 3.2.1.4) in a signed CertRep, as for any message that
	 * could be read. */
	out->type = a.type;
	for (i = 0; i < ncerts; i++)
		if (crts[i].issuer_raw.len == sid_issuer_len &&
		    memcmp(crts[i].issuer_raw.p, sid_issuer,
			   sid_issuer_len) == 0 &&
		    crts[i].serial.len == sid_serial_len &&
		    memcmp(crts[i].serial.p, sid_serial, sid_serial_len) == 0) {
			signer = (int)i;
			break;
		}
	if (signer < 0) {
		bad(err, "the SignerInfo names no certificate of the message");
		goto out;
	}
	out->signer_cert = certv[signer].raw;
	out->signer_cert_len = certv[signer].raw_len;
	ca_sha256(certv[signer].raw, certv[signer].raw_len, out->signer_hash);
	out->signer_rsa = mbedtls_pk_get_type(&crts[signer].pk) ==
			  MBEDTLS_PK_RSA;
	/* Checked before it costs anything: the certificate is the
	 * sender's, and an RSA key of 8192 bits with an exponent as long
	 * takes half a second to verify with. */
	out->signer_key_ok = out->signer_rsa &&
			     ca_rsa_key_check(&crts[signer].pk, &e) == 0;
	out->sig_ok = out->signer_key_ok && out->sig_alg_bad == NULL &&
		      verify(&crts[signer], mdt, attrs_raw, attrs_raw_len, &a,
			     content, content_len, sig, sig_len);
	if (envelope(content, content_len, out, err) != 0)
		goto out;
	rc = 0;
out:
	for (i = 0; i < CA_SCEP_CERTS_MAX; i++)
		mbedtls_x509_crt_free(&crts[i]);
	if (rc != 0)
		ca_scep_msg_free(out);
	return rc;
}

int
ca_scep_msg_recip(const struct ca_scep_msg *m, const unsigned char *cert,
		  size_t cert_len)
{
	mbedtls_x509_crt crt;
	int found = -1;

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, cert, cert_len) == 0)
		for (size_t i = 0; i < m->nrecips; i++) {
			const struct ca_scep_recip *r = &m->recips[i];

			if (crt.issuer_raw.len == r->issuer_len &&
			    memcmp(crt.issuer_raw.p, r->issuer,
				   r->issuer_len) == 0 &&
			    crt.serial.len == r->serial_len &&
			    memcmp(crt.serial.p, r->serial,
				   r->serial_len) == 0) {
				found = (int)i;
				break;
			}
		}
	mbedtls_x509_crt_free(&crt);
	return found;
}

static int
refused(int *fail_info, const char **why, int info, const char *w)
{
	*fail_info = info;
	*why = w;
	return -1;
}

int
ca_scep_msg_check(const struct ca_scep_msg *m,
		  const unsigned char *ra_cert, size_t ra_cert_len,
		  int *ri, int *fail_info, const char **why)
{
	*ri = -1;
	/* RFC 8894 3.2.1.4.5 badAlg: what mica cannot verify with is refused
	 * before any signature is checked. */
	if (!m->signer_rsa)
		return refused(fail_info, why, CA_SCEP_BAD_ALG,
			       "the signer's key is not RSA");
	if (!m->signer_key_ok)
		return refused(fail_info, why, CA_SCEP_BAD_ALG,
			       "the signer's RSA key is not one a CSR may have "
			       "(2048 to 4096 bits, an odd exponent from "
			       "65537 to 256 bits)");
	if (m->sig_alg_bad != NULL)
		return refused(fail_info, why, CA_SCEP_BAD_ALG,
			       m->sig_alg_bad);
	if (!m->sig_ok)
		return refused(fail_info, why, CA_SCEP_BAD_MESSAGE_CHECK,
			       "the signature does not verify");
	/* A type this server does not serve costs no RA decryption. */
	if (m->type != CA_SCEP_PKCSREQ && m->type != CA_SCEP_RENEWALREQ &&
	    m->type != CA_SCEP_CERTPOLL && m->type != CA_SCEP_GETCERT &&
	    m->type != CA_SCEP_GETCRL)
		return refused(fail_info, why, CA_SCEP_BAD_REQUEST,
			       "an unknown messageType");
	if ((*ri = ca_scep_msg_recip(m, ra_cert, ra_cert_len)) < 0)
		return refused(fail_info, why, CA_SCEP_BAD_MESSAGE_CHECK,
			       "not encrypted to an unexpired RA certificate "
			       "of the RA key (fetch GetCACert again)");
	/* The envelope's algorithms are signed (the messageDigest covers
	 * it), so these come after the signature; they are the sender's
	 * own choice, in the clear, and the answer depends on nothing
	 * encrypted: no oracle of the content. */
	if (!m->recips[*ri].rsa)
		return refused(fail_info, why, CA_SCEP_BAD_ALG,
			       "the key transport to the RA is not "
			       "rsaEncryption");
	if (ca_scep_cipher_key_len(m->cipher) == 0)
		return refused(fail_info, why, CA_SCEP_BAD_ALG,
			       "an unsupported content cipher");
	return 0;
}

/* CBC with PKCS#7 padding, either way. *OUT heap. */
static int
cbc(int cipher, int encrypt, const unsigned char *key,
      const unsigned char *iv, size_t iv_len, const unsigned char *in,
      size_t in_len, unsigned char **out, size_t *out_len,
      struct mica_err *err)
{
	const mbedtls_cipher_info_t *info;
	mbedtls_cipher_context_t ctx;
	unsigned char *buf = NULL;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	mbedtls_cipher_init(&ctx);
	if ((info = mbedtls_cipher_info_from_type(cipher_type(cipher))) ==
	    NULL) {
		mica_err_set(err, MICA_E_BADREQ, "bad_scep_alg",
			     "SCEP: unsupported content encryption");
		goto out;
	}
	if ((buf = malloc(in_len + 16)) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
			     "out of memory");
		goto out;
	}
	if (mbedtls_cipher_setup(&ctx, info) != 0 ||
	    mbedtls_cipher_setkey(&ctx, key,
				  (int)(ca_scep_cipher_key_len(cipher) * 8),
				  encrypt ? MBEDTLS_ENCRYPT :
				  MBEDTLS_DECRYPT) != 0 ||
	    mbedtls_cipher_set_padding_mode(&ctx, MBEDTLS_PADDING_PKCS7) != 0 ||
	    mbedtls_cipher_crypt(&ctx, iv, iv_len, in, in_len, buf, &n) != 0) {
		bad(err, "the content does not decrypt");
		goto out;
	}
	*out = buf;
	*out_len = n;
	buf = NULL;
	rc = 0;
out:
	mbedtls_cipher_free(&ctx);
	if (buf != NULL) {
		mbedtls_platform_zeroize(buf, in_len + 16);
		free(buf);
	}
	return rc;
}

int
ca_scep_decrypt(const struct ca_scep_msg *m, const unsigned char *key,
		unsigned char **out, size_t *out_len, struct mica_err *err)
{
	if (m == NULL || key == NULL || m->ct == NULL)
		return bad(err, "nothing to decrypt");
	return cbc(m->cipher, 0, key, m->iv, m->iv_len, m->ct, m->ct_len,
		     out, out_len, err);
}

int
ca_scep_pair_parse(const unsigned char *der, size_t len, int second_int,
		   const unsigned char **a, size_t *a_len,
		   const unsigned char **b, size_t *b_len,
		   struct mica_err *err)
{
	struct ca_der_cur top, s;

	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &s, err) != 0 ||
	    ca_der_end(&top, "content", err) != 0 ||
	    ca_der_get_elem(&s, CA_DER_SEQUENCE, a, a_len, err) != 0 ||
	    (second_int ?
	     ca_der_get_tlv(&s, CA_DER_INTEGER, b, b_len, err) :
	     ca_der_get_elem(&s, CA_DER_SEQUENCE, b, b_len, err)) != 0 ||
	    *b_len == 0 || ca_der_end(&s, "content", err) != 0)
		return bad(err, second_int ? "not an IssuerAndSerialNumber" :
			   "not an IssuerAndSubject");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* A heap buffer that grows up to BUF_MAX; a put that would pass it marks
 * the buffer failed and writes nothing more (checked once, at the end). */
#define BUF_MAX (4u * CA_SCEP_MSG_MAX)
struct buf {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

static void
b_put(struct buf *b, const void *v, size_t n)
{
	if (b->failed || n == 0)
		return;
	if (n > BUF_MAX - b->len) {
		b->failed = 1;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *p;

		while (cap < b->len + n)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
}

static void
b_tlv(struct buf *b, unsigned tag, const void *v, size_t n)
{
	unsigned char h[8];
	struct ca_der_w w;
	size_t hl = ca_der_hdr_size(n);

	if (hl > sizeof(h)) {
		b->failed = 1;
		return;
	}
	ca_der_w_init(&w, h, hl);
	ca_der_w_hdr(&w, tag, n);
	if (ca_der_w_done(&w, NULL) != 0) {
		b->failed = 1;
		return;
	}
	b_put(b, h, hl);
	b_put(b, v, n);
}

/* Wrap the contents of IN as one TAG element at the end of OUT; IN is
 * emptied (and freed). */
static void
b_wrap(struct buf *out, unsigned tag, struct buf *in)
{
	if (in->failed)
		out->failed = 1;
	b_tlv(out, tag, in->p, in->len);
	free(in->p);
	memset(in, 0, sizeof(*in));
}

static void
b_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void
b_oid(struct buf *b, const unsigned char *oid, size_t len)
{
	b_tlv(b, CA_DER_OID, oid, len);
}

/* AlgorithmIdentifier { OID, NULL } */
static void
b_alg_null(struct buf *b, const unsigned char *oid, size_t len)
{
	struct buf a = { 0 };

	b_oid(&a, oid, len);
	b_tlv(&a, CA_DER_NULL, NULL, 0);
	b_wrap(b, CA_DER_SEQUENCE, &a);
}

/* Attribute { OID, SET { one value: TAG V[0..N) } } as its own element. */
static void
b_attr(struct buf *b, const unsigned char *oid, size_t oid_len, unsigned tag,
       const void *v, size_t n)
{
	struct buf a = { 0 }, s = { 0 };

	b_oid(&a, oid, oid_len);
	b_tlv(&s, tag, v, n);
	b_wrap(&a, CA_DER_SET, &s);
	b_wrap(b, CA_DER_SEQUENCE, &a);
}

static int
mica_rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	return ca_random(buf, len, NULL) == 0 ? 0 : -1;
}

/* IssuerAndSerialNumber of CRT. */
static void
b_ias(struct buf *b, const mbedtls_x509_crt *crt)
{
	struct buf s = { 0 };

	b_put(&s, crt->issuer_raw.p, crt->issuer_raw.len);
	b_tlv(&s, CA_DER_INTEGER, crt->serial.p, crt->serial.len);
	b_wrap(b, CA_DER_SEQUENCE, &s);
}

/* ContentInfo envelopedData with CONTENT encrypted with CIPHER to the RSA
 * key of the certificate RCPT (RFC 5652 6). */
static int
enveloped(const struct ca_scep_rep *r, struct buf *out, struct mica_err *err)
{
	mbedtls_x509_crt crt;
	struct buf ci = { 0 }, ed = { 0 }, ris = { 0 }, ri = { 0 }, eci = { 0 },
		   alg = { 0 };
	unsigned char key[CA_SCEP_KEY_MAX], iv[16], ek[CA_SCEP_EKEY_MAX];
	unsigned char *ct = NULL;
	const unsigned char *coid;
	size_t klen = ca_scep_cipher_key_len(r->cipher), ivlen, ek_len = 0;
	size_t ct_len = 0, coid_len;
	int rc = -1;

	mbedtls_x509_crt_init(&crt);
	if (klen == 0 || r->recipient == NULL ||
	    mbedtls_x509_crt_parse_der(&crt, r->recipient,
				       r->recipient_len) != 0 ||
	    mbedtls_pk_get_type(&crt.pk) != MBEDTLS_PK_RSA) {
		mica_err_set(err, MICA_E_BADREQ, "bad_scep_alg",
			     "SCEP: the reply can only be encrypted to an "
			     "RSA key");
		goto out;
	}
	ivlen = cipher_block(r->cipher);
	coid = cipher_oid(r->cipher, &coid_len);
	if (ca_random(key, klen, err) != 0 || ca_random(iv, ivlen, err) != 0)
		goto out;
	if (mbedtls_pk_encrypt(&crt.pk, key, klen, ek, &ek_len, sizeof(ek),
			       mica_rng, NULL) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_scep_alg",
			     "SCEP: could not encrypt to the client's key");
		goto out;
	}
	if (cbc(r->cipher, 1, key, iv, ivlen, r->content, r->content_len,
		  &ct, &ct_len, err) != 0)
		goto out;
	/* KeyTransRecipientInfo v0 */
	b_tlv(&ri, CA_DER_INTEGER, "\0", 1);
	b_ias(&ri, &crt);
	b_alg_null(&ri, OID_RSA, sizeof(OID_RSA));
	b_tlv(&ri, CA_DER_OCTET_STRING, ek, ek_len);
	b_wrap(&ris, CA_DER_SEQUENCE, &ri);
	b_tlv(&ed, CA_DER_INTEGER, "\0", 1);
	b_wrap(&ed, CA_DER_SET, &ris);
	b_oid(&eci, OID_DATA, sizeof(OID_DATA));
	b_oid(&alg, coid, coid_len);
	b_tlv(&alg, CA_DER_OCTET_STRING, iv, ivlen);
	b_wrap(&eci, CA_DER_SEQUENCE, &alg);
	b_tlv(&eci, CA_DER_CTX(0), ct, ct_len);
	b_wrap(&ed, CA_DER_SEQUENCE, &eci);
	b_oid(&ci, OID_ENVELOPED_DATA, sizeof(OID_ENVELOPED_DATA));
	{
		struct buf x = { 0 };

		b_wrap(&x, CA_DER_SEQUENCE, &ed);
		b_wrap(&ci, CA_DER_CTX_CONS(0), &x);
	}
	b_wrap(out, CA_DER_SEQUENCE, &ci);
	if (out->failed) {
		mica_err_set(err, MICA_E_INTERNAL, "encode_failed",
			     "SCEP: the reply could not be encoded");
		goto out;
	}
	rc = 0;
out:
	mbedtls_platform_zeroize(key, sizeof(key));
	mbedtls_x509_crt_free(&crt);
	free(ct);
	b_free(&ci); b_free(&ed); b_free(&ris); b_free(&ri); b_free(&eci);
	b_free(&alg);
	return rc;
}

/* Append ContentInfo signedData { SignedData v1 (RFC 5652 5.1): SHA-256,
 * encapContentInfo id-data with CONTENT as its OCTET STRING, the RA's
 * certificate RA_DER (parsed: RA), one SignerInfo v1 by issuer and serial
 * with the signed attributes ATTRS (a whole SET, sent as [0] IMPLICIT,
 * 5.3) and SIG, the RA key's rsaEncryption signature over that SET }. */
static void
b_signed_data(struct buf *out, const unsigned char *content,
	      size_t content_len, const mbedtls_x509_crt *ra,
	      const unsigned char *ra_der, size_t ra_der_len,
	      const unsigned char *attrs, size_t attrs_len,
	      const unsigned char *sig, size_t sig_len)
{
	struct buf si = { 0 }, sd = { 0 }, ci = { 0 }, algs = { 0 },
		   eci = { 0 }, e0 = { 0 }, c0 = { 0 }, sis = { 0 }, x = { 0 };
	size_t at;

	b_tlv(&si, CA_DER_INTEGER, "\1", 1);
	b_ias(&si, ra);
	b_alg_null(&si, OID_SHA256, sizeof(OID_SHA256));
	at = si.len;
	b_put(&si, attrs, attrs_len);
	if (!si.failed && attrs_len > 0)
		si.p[at] = CA_DER_CTX_CONS(0);
	b_alg_null(&si, OID_RSA, sizeof(OID_RSA));
	b_tlv(&si, CA_DER_OCTET_STRING, sig, sig_len);

	b_tlv(&sd, CA_DER_INTEGER, "\1", 1);
	b_alg_null(&algs, OID_SHA256, sizeof(OID_SHA256));
	b_wrap(&sd, CA_DER_SET, &algs);
	b_oid(&eci, OID_DATA, sizeof(OID_DATA));
	b_tlv(&e0, CA_DER_OCTET_STRING, content, content_len);
	b_wrap(&eci, CA_DER_CTX_CONS(0), &e0);
	b_wrap(&sd, CA_DER_SEQUENCE, &eci);
	b_put(&c0, ra_der, ra_der_len);
	b_wrap(&sd, CA_DER_CTX_CONS(0), &c0);
	b_wrap(&sis, CA_DER_SEQUENCE, &si);
	b_wrap(&sd, CA_DER_SET, &sis);

	b_oid(&ci, OID_SIGNED_DATA, sizeof(OID_SIGNED_DATA));
	b_wrap(&x, CA_DER_SEQUENCE, &sd);
	b_wrap(&ci, CA_DER_CTX_CONS(0), &x);
	b_wrap(out, CA_DER_SEQUENCE, &ci);
}

/* Compare two DER elements as X.690 11.6 orders a SET OF. */
static int
der_cmp(const struct buf *a, const struct buf *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->p, b->p, n);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

int
ca_scep_rep_encode(const struct ca_scep_rep *r,
		   const unsigned char *ra_cert, size_t ra_cert_len,
		   ca_scep_sign_fn sign, void *arg, unsigned char **out,
		   size_t *out_len, struct mica_err *err)
{
	enum { NATTR = 8 };
	mbedtls_x509_crt ra;
	struct buf content = { 0 }, attr[NATTR], attrs = { 0 }, tmp = { 0 },
		   top = { 0 };
	unsigned char md[32], nonce[16], sig[CA_SIG_MAX];
	char num[8];
	size_t na = 0, sig_len = 0, i, j, tlen;
	int rc = -1;

	memset(attr, 0, sizeof(attr));
	*out = NULL;
	*out_len = 0;
	mbedtls_x509_crt_init(&ra);
	if (r == NULL || r->tid == NULL || sign == NULL ||
	    (tlen = strlen(r->tid)) == 0 || tlen > CA_SCEP_TID_MAX ||
	    r->recipient_nonce_len > CA_SCEP_NONCE_MAX ||
	    (r->status != CA_SCEP_SUCCESS && r->status != CA_SCEP_FAILURE &&
	     r->status != CA_SCEP_PENDING) ||
	    mbedtls_x509_crt_parse_der(&ra, ra_cert, ra_cert_len) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
			     "SCEP: bad reply arguments");
		goto out;
	}
	if (r->status == CA_SCEP_SUCCESS &&
	    enveloped(r, &content, err) != 0)
		goto out;
	if (ca_random(nonce, sizeof(nonce), err) != 0)
		goto out;
	/* SHA-256 over the eContent octets (an empty OCTET STRING when there
	 * is no envelope, as micromdm's server sends it: every client reads
	 * that). */
	ca_sha256(content.p, content.len, md);

	/* The signed attributes, then sorted into a DER SET OF. */
	b_attr(&attr[na++], OID_CONTENT_TYPE, sizeof(OID_CONTENT_TYPE),
	       CA_DER_OID, OID_DATA, sizeof(OID_DATA));
	b_attr(&attr[na++], OID_MESSAGE_DIGEST, sizeof(OID_MESSAGE_DIGEST),
	       CA_DER_OCTET_STRING, md, sizeof(md));
	b_attr(&attr[na++], OID_MESSAGE_TYPE, sizeof(OID_MESSAGE_TYPE),
	       CA_DER_PRINTABLE, "3", 1);
	snprintf(num, sizeof(num), "%d", r->status);
	b_attr(&attr[na++], OID_PKI_STATUS, sizeof(OID_PKI_STATUS),
	       CA_DER_PRINTABLE, num, strlen(num));
	if (r->status == CA_SCEP_FAILURE) {
		snprintf(num, sizeof(num), "%d", r->fail_info);
		b_attr(&attr[na++], OID_FAIL_INFO, sizeof(OID_FAIL_INFO),
		       CA_DER_PRINTABLE, num, strlen(num));
	}
	b_attr(&attr[na++], OID_TRANSACTION_ID, sizeof(OID_TRANSACTION_ID),
	       CA_DER_PRINTABLE, r->tid, tlen);
	b_attr(&attr[na++], OID_SENDER_NONCE, sizeof(OID_SENDER_NONCE),
	       CA_DER_OCTET_STRING, nonce, sizeof(nonce));
	if (r->recipient_nonce_len > 0)
		b_attr(&attr[na++], OID_RECIPIENT_NONCE,
		       sizeof(OID_RECIPIENT_NONCE), CA_DER_OCTET_STRING,
		       r->recipient_nonce, r->recipient_nonce_len);
	for (i = 1; i < na; i++)
		for (j = i; j > 0 && der_cmp(&attr[j - 1], &attr[j]) > 0; j--) {
			struct buf t = attr[j];

			attr[j] = attr[j - 1];
			attr[j - 1] = t;
		}
	for (i = 0; i < na; i++) {
		if (attr[i].failed)
			attrs.failed = 1;
		b_put(&attrs, attr[i].p, attr[i].len);
	}
	/* Signed as a SET (RFC 5652 5.4), sent as [0] IMPLICIT. */
	b_wrap(&tmp, CA_DER_SET, &attrs);
	if (tmp.failed) {
		mica_err_set(err, MICA_E_INTERNAL, "encode_failed",
			     "SCEP: the reply could not be encoded");
		goto out;
	}
	if (sign(arg, tmp.p, tmp.len, sig, &sig_len, err) != 0)
		goto out;
	b_signed_data(&top, content.p, content.len, &ra, ra_cert, ra_cert_len,
		      tmp.p, tmp.len, sig, sig_len);
	if (top.failed) {
		mica_err_set(err, MICA_E_INTERNAL, "encode_failed",
			     "SCEP: the reply could not be encoded");
		goto out;
	}
	*out = top.p;
	*out_len = top.len;
	memset(&top, 0, sizeof(top));
	rc = 0;
out:
	mbedtls_x509_crt_free(&ra);
	for (i = 0; i < NATTR; i++)
		b_free(&attr[i]);
	b_free(&content); b_free(&attrs); b_free(&tmp); b_free(&top);
	return rc;
}

/* ------------------------------------------------------------------ */
/* What the RA key signs                                               */
/* ------------------------------------------------------------------ */

static int
refuse(struct mica_err *err, const char *why)
{
	return mica_err_set(err, MICA_E_POLICY, "signer_refused",
			    "signer: %s", why);
}

int
ca_scep_attrs_check(const unsigned char *attrs, size_t len,
		    struct mica_err *err)
{
	struct ca_der_cur top, set, attr;
	struct ca_der_tlv v;
	const unsigned char *oid;
	size_t oid_len;
	int seen[9] = { 0 }, n;

	if (attrs == NULL || len == 0 || len > CA_SCEP_ATTRS_MAX)
		return refuse(err, "SCEP attributes too large");
	ca_der_init(&top, attrs, len);
	if (ca_der_enter(&top, CA_DER_SET, &set, NULL) != 0 ||
	    !ca_der_empty(&top))
		return refuse(err, "SCEP attributes are not one SET");
	while (!ca_der_empty(&set)) {
		int k;

		if (ca_der_enter(&set, CA_DER_SEQUENCE, &attr, NULL) != 0 ||
		    ca_der_get_oid(&attr, &oid, &oid_len, NULL) != 0 ||
		    one_value(&attr, &v, NULL) != 0)
			return refuse(err, "a malformed SCEP attribute");
		if (OIDEQ(oid, oid_len, OID_CONTENT_TYPE)) {
			k = 0;
			if (v.tag != CA_DER_OID ||
			    !OIDEQ(v.val, v.len, OID_DATA))
				return refuse(err, "contentType is not id-data");
		} else if (OIDEQ(oid, oid_len, OID_MESSAGE_DIGEST)) {
			k = 1;
			if (v.tag != CA_DER_OCTET_STRING || v.len != 32)
				return refuse(err, "messageDigest is not "
					      "SHA-256");
		} else if (OIDEQ(oid, oid_len, OID_SIGNING_TIME)) {
			k = 2;
		} else if (OIDEQ(oid, oid_len, OID_MESSAGE_TYPE)) {
			k = 3;
			if (small_decimal(&v, &n) != 0 || n != CA_SCEP_CERTREP)
				return refuse(err, "only a CertRep is signed "
					      "with the RA key");
		} else if (OIDEQ(oid, oid_len, OID_PKI_STATUS)) {
			k = 4;
			if (small_decimal(&v, &n) != 0 ||
			    (n != CA_SCEP_SUCCESS && n != CA_SCEP_FAILURE &&
			     n != CA_SCEP_PENDING))
				return refuse(err, "bad pkiStatus");
		} else if (OIDEQ(oid, oid_len, OID_FAIL_INFO)) {
			k = 5;
			if (small_decimal(&v, &n) != 0 || n > 4)
				return refuse(err, "bad failInfo");
		} else if (OIDEQ(oid, oid_len, OID_TRANSACTION_ID)) {
			k = 6;
			if (v.tag != CA_DER_PRINTABLE || v.len == 0 ||
			    v.len > CA_SCEP_TID_MAX ||
			    !ca_der_printable(v.val, v.len))
				return refuse(err, "bad transactionID");
		} else if (OIDEQ(oid, oid_len, OID_SENDER_NONCE) ||
			   OIDEQ(oid, oid_len, OID_RECIPIENT_NONCE)) {
			k = OIDEQ(oid, oid_len, OID_SENDER_NONCE) ? 7 : 8;
			if (v.tag != CA_DER_OCTET_STRING || v.len == 0 ||
			    v.len > CA_SCEP_NONCE_MAX)
				return refuse(err, "bad nonce");
		} else {
			return refuse(err, "an attribute a CertRep does not "
				      "carry");
		}
		if (seen[k]++)
			return refuse(err, "a repeated SCEP attribute");
	}
	if (!seen[0] || !seen[1] || !seen[3] || !seen[4] || !seen[6])
		return refuse(err, "a CertRep attribute is missing");
	return 0;
}

/* ------------------------------------------------------------------ */
/* GetNextCACert (RFC 8894 3.5.2, 4.7)                                 */
/* ------------------------------------------------------------------ */

int
ca_scep_nextca_check(const unsigned char *cur, size_t cur_len,
		     const unsigned char *issuer, size_t issuer_len,
		     const unsigned char *content, size_t len, int64_t now,
		     struct mica_err *err)
{
	struct ca_p7_cert certs[CA_P7_CERTS_MAX];
	struct ca_cert_info next, cc, ic;
	unsigned char *canon = NULL;
	size_t n = 0, canon_len = 0;
	int rc = -1;

	if (content == NULL || len == 0 || len > CA_SCEP_NEXTCA_MAX)
		return refuse(err, "a next CA certificate's message of a bad "
			      "size");
	/* Exactly the message mica writes for one certificate: nothing the
	 * check below did not see can ride along. */
	if (ca_p7_decode(content, len, certs, &n, NULL) != 0 || n != 1 ||
	    ca_p7_encode(certs, 1, &canon, &canon_len, NULL) != 0 ||
	    canon_len != len || memcmp(canon, content, len) != 0) {
		refuse(err, "not the certs-only PKCS#7 of one certificate");
		goto out;
	}
	if (cur == NULL || issuer == NULL ||
	    ca_cert_info_read(cur, cur_len, &cc, NULL) != 0 ||
	    ca_cert_info_read(issuer, issuer_len, &ic, NULL) != 0 ||
	    ca_cert_issued_by(&cc, &ic, NULL) != 0) {
		refuse(err, "no CA above this CA to check a next certificate "
		       "against");
		goto out;
	}
	if (ca_cert_info_read(certs[0].der, certs[0].len, &next, NULL) != 0) {
		refuse(err, "the next CA certificate does not parse");
		goto out;
	}
	if (next.der_len == cc.der_len &&
	    memcmp(next.der, cc.der, cc.der_len) == 0) {
		refuse(err, "the current CA certificate is not a next one");
		goto out;
	}
	if (next.version != 3 || !next.is_ca ||
	    (next.has_ku && (next.key_usage & CA_KU_KEY_CERT_SIGN) == 0) ||
	    next.unknown_critical) {
		refuse(err, "the next certificate is not a CA certificate "
		       "mica could use");
		goto out;
	}
	if (next.subject_len != cc.subject_len ||
	    memcmp(next.subject, cc.subject, cc.subject_len) != 0) {
		refuse(err, "the next certificate names another CA");
		goto out;
	}
	if (next.not_after <= now) {
		refuse(err, "the next certificate has expired");
		goto out;
	}
	if (ca_cert_issued_by(&next, &ic, NULL) != 0) {
		refuse(err, "the next certificate is not from the CA above "
		       "this one");
		goto out;
	}
	rc = 0;
out:
	free(canon);
	return rc;
}

int
ca_scep_nextca_attrs(const unsigned char *content, size_t len,
		     unsigned char **out, size_t *out_len,
		     struct mica_err *err)
{
	struct buf a = { 0 }, b = { 0 }, set = { 0 }, top = { 0 };
	unsigned char md[32];

	*out = NULL;
	*out_len = 0;
	ca_sha256(content, len, md);
	b_attr(&a, OID_CONTENT_TYPE, sizeof(OID_CONTENT_TYPE), CA_DER_OID,
	       OID_DATA, sizeof(OID_DATA));
	b_attr(&b, OID_MESSAGE_DIGEST, sizeof(OID_MESSAGE_DIGEST),
	       CA_DER_OCTET_STRING, md, sizeof(md));
	if (a.failed || b.failed)
		set.failed = 1;
	/* A DER SET OF, in order (X.690 11.6). */
	if (!set.failed && der_cmp(&a, &b) > 0) {
		b_put(&set, b.p, b.len);
		b_put(&set, a.p, a.len);
	} else {
		b_put(&set, a.p, a.len);
		b_put(&set, b.p, b.len);
	}
	b_wrap(&top, CA_DER_SET, &set);
	b_free(&a);
	b_free(&b);
	if (top.failed) {
		b_free(&top);
		return mica_err_set(err, MICA_E_INTERNAL, "encode_failed",
				    "SCEP: the attributes could not be "
				    "encoded");
	}
	*out = top.p;
	*out_len = top.len;
	return 0;
}

int
ca_scep_nextca_encode(const unsigned char *content, size_t len,
		      const unsigned char *ra_cert, size_t ra_cert_len,
		      ca_scep_nextca_sign_fn sign, void *arg,
		      unsigned char **out, size_t *out_len,
		      struct mica_err *err)
{
	mbedtls_x509_crt ra;
	struct buf top = { 0 };
	unsigned char *attrs = NULL, sig[CA_SIG_MAX];
	size_t attrs_len = 0, sig_len = 0;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	mbedtls_x509_crt_init(&ra);
	if (content == NULL || len == 0 || len > CA_SCEP_NEXTCA_MAX ||
	    sign == NULL ||
	    mbedtls_x509_crt_parse_der(&ra, ra_cert, ra_cert_len) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "bad_argument",
			     "SCEP: bad GetNextCACert arguments");
		goto out;
	}
	if (ca_scep_nextca_attrs(content, len, &attrs, &attrs_len, err) != 0 ||
	    sign(arg, content, len, sig, &sig_len, err) != 0)
		goto out;
	b_signed_data(&top, content, len, &ra, ra_cert, ra_cert_len, attrs,
		      attrs_len, sig, sig_len);
	if (top.failed) {
		mica_err_set(err, MICA_E_INTERNAL, "encode_failed",
			     "SCEP: the reply could not be encoded");
		goto out;
	}
	*out = top.p;
	*out_len = top.len;
	memset(&top, 0, sizeof(top));
	rc = 0;
out:
	mbedtls_x509_crt_free(&ra);
	free(attrs);
	b_free(&top);
	return rc;
}

/*
 * ca/csr.c - PKCS#10 certificate signing requests (RFC 2986) from outside.
 *
 * Two steps, both fail-closed on hostile bytes:
 *
 *  ca_csr_decode: whatever the user pasted or uploaded (PEM from OpenSSL or
 *  Windows certreq, bare base64, DER) becomes exactly one DER blob, and a
 *  private key sent by mistake is recognised and refused without a byte of
 *  it being repeated back.
 *
 *  ca_csr_parse: the DER is walked by our own cursor (mbedtls_asn1_get_*,
 *  bounds-checked, every SEQUENCE consumed exactly), so that refusals say
 *  what is wrong; mbedTLS decodes the public key, verifies the signature
 *  (RSASSA-PSS through ca_sig_verify, which reads its parameters) and
 *  prints the subject. The self-signature is checked before anything
 *  else of the request is believed: it is the requester's proof of
 *  possession of the private key (RFC 2986 3, RFC 4211 4).
 *
 *  We do not use mbedtls_x509_csr_parse_der(): in 3.6 it refuses a CSR
 *  with an empty subject (legitimate when the SAN is critical, RFC 5280
 *  4.2.1.6, and what Go's crypto/x509 emits when only SANs are set), it
 *  silently skips the extensions it does not know (so a cA=TRUE request
 *  would go unnoticed), and the signature fields we need are private.
 *
 * Requested extensions other than subjectAltName are ignored, critical or
 * not (basicConstraints cA=TRUE included): mica builds a certificate's
 * extensions from the profile, never from the request (walk_attributes).
 */
#include "ca/csr.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509.h>

#include "ca/cacert.h"
#include "ca/der.h"
#include "ca/profile.h"
#include "util/hex.h"
#include "util/shown.h"

#if defined(MBEDTLS_USE_PSA_CRYPTO)
#include <psa/crypto.h>
#endif

/* Room for an RSA-4096 SubjectPublicKeyInfo (550 bytes) with margin. */
#define SPKI_BUF      2048
/* The subject as ca_dn_print writes it, before subject_utf8 puts its
 * UTF-8 back: far beyond any real DN (RFC 5280's upper bounds, 64 to 128
 * characters a value, three octets a character past U+07FF and three
 * characters an octet escaped, make some 1,150 for a long L or ST). */
#define SUBJECT_BUF   8192
/* A commonName longer than this is not kept (RFC 5280 ub-common-name is
 * 64; leave room for lenient issuers' requests). */
#define CN_MAX        255
#define NAME_TEXT_MAX 254

static const char MSG_PRIVATE_KEY[] =
	"this is a private key, not a certificate signing request: send the "
	"CSR (-----BEGIN CERTIFICATE REQUEST-----) and keep the private key "
	"to yourself";

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

static int
is_b64(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/*
 * Does DER look like a private key container? PKCS#1 RSAPrivateKey,
 * PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5958), SEC1 ECPrivateKey
 * (RFC 5915) and PKCS#12 PFX all start with an INTEGER version, where a
 * CSR starts with its CertificationRequestInfo SEQUENCE. PKCS#8
 * EncryptedPrivateKeyInfo is SEQUENCE { AlgorithmIdentifier, OCTET STRING }
 * (a SubjectPublicKeyInfo has a BIT STRING there instead).
 */
static int
looks_like_private_key(const unsigned char *der, size_t len)
{
	unsigned char *p = (unsigned char *)der;
	const unsigned char *end = der + len;
	unsigned char *inner;
	size_t n;

	if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0 || n == 0)
		return 0;
	end = p + n;
	/* The version, then the key (or the PFX's authSafe): a version
	 * alone is just some DER, not a key to warn about. */
	if (*p == MBEDTLS_ASN1_INTEGER)
		return mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_INTEGER) == 0 &&
		       n <= (size_t)(end - p) && p + n < end;
	if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0)
		return 0;
	inner = p;
	p += n;
	return n > 0 && *inner == MBEDTLS_ASN1_OID && p < end &&
	       *p == MBEDTLS_ASN1_OCTET_STRING;
}

/*
 * Base64 (RFC 4648 4) with any whitespace between characters into a fresh
 * heap buffer. Anything but the alphabet, '=' and whitespace is refused.
 */
static int
b64_decode(const unsigned char *in, size_t len, unsigned char **out,
	   size_t *out_len, struct mica_err *err)
{
	unsigned char *clean = NULL, *buf = NULL;
	size_t i, n = 0, olen = 0;
	int rc = -1;

	clean = malloc(len + 1);
	if (clean == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "internal", "out of memory");
		goto out;
	}
	for (i = 0; i < len; i++) {
		if (is_space(in[i]))
			continue;
		if (!is_b64(in[i])) {
			mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				     "the CSR is not valid PEM, base64 or DER");
			goto out;
		}
		clean[n++] = in[i];
	}
	if (n == 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_csr",
			     "the CSR is empty");
		goto out;
	}
	/* mbedTLS insists on padding and on '=' only at the end. */
	if (mbedtls_base64_decode(NULL, 0, &olen, clean, n) !=
	    MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || olen == 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_csr",
			     "the CSR's base64 encoding is damaged");
		goto out;
	}
	buf = malloc(olen);
	if (buf == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "internal", "out of memory");
		goto out;
	}
	if (mbedtls_base64_decode(buf, olen, &olen, clean, n) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_csr",
			     "the CSR's base64 encoding is damaged");
		goto out;
	}
	*out = buf;
	*out_len = olen;
	buf = NULL;
	rc = 0;
out:
	/* The input may have been a key in disguise: leave no copy behind. */
	if (clean != NULL) {
		mbedtls_platform_zeroize(clean, len + 1);
		free(clean);
	}
	if (buf != NULL) {
		mbedtls_platform_zeroize(buf, olen);
		free(buf);
	}
	return rc;
}

static const unsigned char *
find(const unsigned char *hay, size_t hay_len, const char *needle)
{
	return memmem(hay, hay_len, needle, strlen(needle));
}

/* The message for a PEM block that is not a CSR; LABEL is never echoed. */
static int
wrong_label(const unsigned char *label, size_t n, struct mica_err *err)
{
#define LABEL_IS(s) (n == sizeof(s) - 1 && memcmp(label, s, n) == 0)
	if (LABEL_IS("CERTIFICATE") || LABEL_IS("TRUSTED CERTIFICATE") ||
	    LABEL_IS("X509 CERTIFICATE"))
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "this is a certificate, not a certificate "
				    "signing request (expected -----BEGIN "
				    "CERTIFICATE REQUEST-----)");
	if (LABEL_IS("PUBLIC KEY") || LABEL_IS("RSA PUBLIC KEY"))
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "this is a bare public key: send a "
				    "certificate signing request, which proves "
				    "you hold the private key");
	if (LABEL_IS("PKCS7") || LABEL_IS("CMS") || LABEL_IS("X509 CRL"))
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "this is a certificate bundle or CRL, not a "
				    "certificate signing request");
#undef LABEL_IS
	return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
			    "unexpected PEM block (expected -----BEGIN "
			    "CERTIFICATE REQUEST-----)");
}

/*
 * PEM (RFC 7468): text before the BEGIN line is ignored (openssl req -text
 * and some Windows tools write a dump there), as is whitespace after the
 * END line; exactly one block; CRLF or LF; no encapsulated headers.
 */
static int
pem_decode(const unsigned char *in, size_t len, unsigned char **der,
	   size_t *der_len, struct mica_err *err)
{
	static const char begin[] = "-----BEGIN ";
	static const char dashes[] = "-----";
	const unsigned char *p, *end = in + len, *label, *body, *body_end, *q;
	size_t label_len;
	char end_line[96];

	p = find(in, len, begin);
	if (p == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "no PEM block found");
	label = p + sizeof(begin) - 1;
	q = find(label, (size_t)(end - label), dashes);
	if (q == NULL || q - label > 64 || q == label)
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "damaged PEM BEGIN line");
	label_len = (size_t)(q - label);
	if (memchr(label, '\n', label_len) != NULL ||
	    memchr(label, '\r', label_len) != NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "damaged PEM BEGIN line");

	if (!(label_len == 19 && memcmp(label, "CERTIFICATE REQUEST", 19) == 0) &&
	    !(label_len == 23 &&
	      memcmp(label, "NEW CERTIFICATE REQUEST", 23) == 0))
		return wrong_label(label, label_len, err);

	body = q + sizeof(dashes) - 1;
	/* Rest of the BEGIN line: only whitespace up to the line break. */
	while (body < end && (*body == ' ' || *body == '\t'))
		body++;
	if (body < end && *body != '\r' && *body != '\n')
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "damaged PEM BEGIN line");

	snprintf(end_line, sizeof(end_line), "-----END %.*s-----",
		 (int)label_len, (const char *)label);
	body_end = find(body, (size_t)(end - body), end_line);
	if (body_end == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "the PEM block has no matching END line "
				    "(truncated?)");
	if (find(body, (size_t)(body_end - body), "-----") != NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "damaged PEM block");
	if (memchr(body, ':', (size_t)(body_end - body)) != NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "PEM headers (encryption) are not "
				    "supported in a CSR");
	/* One request per submission: with two, which one was meant? */
	q = body_end + strlen(end_line);
	if (find(q, (size_t)(end - q), begin) != NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "more than one PEM block: send exactly one "
				    "certificate signing request");
	return b64_decode(body, (size_t)(body_end - body), der, der_len, err);
}

/*
 * UTF-16 (W 2) or UTF-32 (W 4) text of IN (LEN octets, after any byte
 * order mark; BE: big endian) into *OUT (heap, *OUT_LEN octets) as ASCII.
 * A PEM or base64 CSR is ASCII, so each character's other octets are 0:
 * what PowerShell's "> file" and Out-File write (-Encoding utf32 too), and
 * Exchange's documented [System.Text.Encoding]::Unicode (no byte order
 * mark).
 */
static int
utf16_ascii(const unsigned char *in, size_t len, int be, size_t w,
	    unsigned char **out, size_t *out_len, struct mica_err *err)
{
	const char *what = w == 4 ? "UTF-32" : "UTF-16";
	unsigned char *a;

	*out = NULL;
	*out_len = 0;
	if (len % w != 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "the CSR file is %s text of a length "
				    "that is no whole number of characters: "
				    "save it as ASCII or UTF-8", what);
	if ((a = malloc(len / w + 1)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "out of memory");
	for (size_t i = 0; i < len / w; i++) {
		const unsigned char *u = in + w * i;
		unsigned char c = u[be ? w - 1 : 0];
		int z = 0;

		for (size_t k = 0; k < w; k++)
			if (k != (be ? w - 1 : 0))
				z |= u[k];
		if (z != 0 || c == 0 || c >= 0x80) {
			free(a);
			return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
					    "the CSR file is %s text with a "
					    "character that is not ASCII: save "
					    "it as ASCII or UTF-8", what);
		}
		a[i] = c;
	}
	*out = a;
	*out_len = len / w;
	return 0;
}

/* Does IN (LEN octets, no byte order mark) look like UTF-16 text of ASCII:
 * 1 little endian, 2 big endian, 0 not? Its first two characters are
 * ASCII with a zero octet beside each; DER never has that (a CSR's
 * SEQUENCE has a long-form length, non-zero). */
static int
utf16_guess(const unsigned char *in, size_t len)
{
	if (len < 4)
		return 0;
	if (in[0] != 0 && in[0] < 0x80 && in[1] == 0 && in[2] != 0 &&
	    in[2] < 0x80 && in[3] == 0)
		return 1;
	if (in[0] == 0 && in[1] != 0 && in[1] < 0x80 && in[2] == 0 &&
	    in[3] != 0 && in[3] < 0x80)
		return 2;
	return 0;
}

int
ca_csr_decode(const unsigned char *in, size_t len, unsigned char **der,
	      size_t *der_len, struct mica_err *err)
{
	unsigned char *buf = NULL, *text = NULL;
	size_t n = 0, text_len = 0;
	int der_like, rc = -1, u16;

	if (der != NULL)
		*der = NULL;
	if (der_len != NULL)
		*der_len = 0;
	if (der == NULL || der_len == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "ca_csr_decode: no output");
	if (in == NULL || len == 0)
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "the CSR is empty");
	if (len > CA_CSR_MAX)
		return mica_err_set(err, MICA_E_TOOLARGE, "too_large",
				    "the CSR is larger than %d bytes",
				    CA_CSR_MAX);

	if (len >= 3 && in[0] == 0xef && in[1] == 0xbb && in[2] == 0xbf) {
		in += 3;    /* UTF-8 byte order mark (Notepad) */
		len -= 3;
	} else if (len >= 4 && ((in[0] == 0xff && in[1] == 0xfe &&
				 in[2] == 0 && in[3] == 0) ||
				(in[0] == 0 && in[1] == 0 && in[2] == 0xfe &&
				 in[3] == 0xff))) {
		/* UTF-32 with its byte order mark (Out-File -Encoding
		 * utf32): before UTF-16's, whose mark begins it. */
		if (utf16_ascii(in + 4, len - 4, in[0] == 0, 4, &text,
				&text_len, err) != 0)
			return -1;
		in = text;
		len = text_len;
	} else if (len >= 2 && ((in[0] == 0xff && in[1] == 0xfe) ||
				(in[0] == 0xfe && in[1] == 0xff))) {
		/* UTF-16 with its byte order mark (PowerShell 5's ">"). */
		if (utf16_ascii(in + 2, len - 2, in[0] == 0xfe, 2, &text,
				&text_len, err) != 0)
			return -1;
		in = text;
		len = text_len;
	} else if ((u16 = utf16_guess(in, len)) != 0) {
		if (utf16_ascii(in, len, u16 == 2, 2, &text, &text_len,
				err) != 0)
			return -1;
		in = text;
		len = text_len;
	}
	if (len == 0) {
		free(text);     /* nothing in it: a byte order mark alone */
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "the CSR is empty");
	}

	/* A key in any PEM flavour ("PRIVATE KEY", "RSA/EC/DSA/OPENSSH/
	 * ENCRYPTED PRIVATE KEY"), anywhere in the input, even beside a
	 * CSR: refuse before decoding any of it. */
	if (find(in, len, "PRIVATE KEY-----") != NULL) {
		mica_err_set(err, MICA_E_BADREQ, "private_key_not_csr", "%s",
			     MSG_PRIVATE_KEY);
		goto out;
	}

	/* DER: a SEQUENCE tag, and (any real CSR being over 127 bytes) a
	 * long-form length octet, which no text has in second place. Base64
	 * of a SEQUENCE starts with 'M', never with '0' (0x30). Checked
	 * first so that a DER subject holding "-----BEGIN" stays DER. */
	der_like = in[0] == (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
	if (!(der_like && len > 1 && (in[1] & 0x80) != 0) &&
	    find(in, len, "-----BEGIN") != NULL) {
		if (pem_decode(in, len, &buf, &n, err) != 0)
			goto out;
	} else if (der_like) {
		buf = malloc(len);
		if (buf == NULL) {
			mica_err_set(err, MICA_E_INTERNAL, "internal",
				     "out of memory");
			goto out;
		}
		memcpy(buf, in, len);
		n = len;
	} else {
		if (b64_decode(in, len, &buf, &n, err) != 0)
			goto out;
	}

	if (looks_like_private_key(buf, n)) {
		mica_err_set(err, MICA_E_BADREQ, "private_key_not_csr", "%s",
			     MSG_PRIVATE_KEY);
		goto out;
	}
	if (n == 0 || buf[0] != (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) {
		mica_err_set(err, MICA_E_BADREQ, "bad_csr",
			     "the CSR is not valid PEM, base64 or DER");
		goto out;
	}
	*der = buf;
	*der_len = n;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		mbedtls_platform_zeroize(buf, n);
		free(buf);
	}
	if (text != NULL) {
		/* It may hold a private key sent by mistake. */
		mbedtls_platform_zeroize(text, text_len);
		free(text);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

struct sigalg {
	const char *oid;
	size_t oid_len;
	mbedtls_md_type_t md;
	mbedtls_pk_type_t pk;   /* MBEDTLS_PK_RSA, MBEDTLS_PK_ECDSA, or
				 * MBEDTLS_PK_RSASSA_PSS (hash and the rest
				 * in the parameters: ca_sig_verify) */
};

#define SIGALG(o, m, k) { o, MBEDTLS_OID_SIZE(o), m, k }
static const struct sigalg sigalgs[] = {
	SIGALG(MBEDTLS_OID_PKCS1_SHA256, MBEDTLS_MD_SHA256, MBEDTLS_PK_RSA),
	SIGALG(MBEDTLS_OID_PKCS1_SHA384, MBEDTLS_MD_SHA384, MBEDTLS_PK_RSA),
	SIGALG(MBEDTLS_OID_PKCS1_SHA512, MBEDTLS_MD_SHA512, MBEDTLS_PK_RSA),
	SIGALG(MBEDTLS_OID_ECDSA_SHA256, MBEDTLS_MD_SHA256, MBEDTLS_PK_ECDSA),
	SIGALG(MBEDTLS_OID_ECDSA_SHA384, MBEDTLS_MD_SHA384, MBEDTLS_PK_ECDSA),
	SIGALG(MBEDTLS_OID_ECDSA_SHA512, MBEDTLS_MD_SHA512, MBEDTLS_PK_ECDSA),
};
static const struct sigalg sigalg_pss =
	SIGALG(MBEDTLS_OID_RSASSA_PSS, MBEDTLS_MD_NONE, MBEDTLS_PK_RSASSA_PSS);

/* Key algorithms we recognise only to name them in a refusal. */
#define OID_DSA  "\x2a\x86\x48\xce\x38\x04\x01"   /* 1.2.840.10040.4.1 */
#define OID_ED448 "\x2b\x65\x71"                  /* 1.3.101.113 */
#define OID_SM2  "\x2a\x81\x1c\xcf\x55\x01\x82\x2d" /* 1.2.156.10197.1.301 */
/* PKCS#9 challengePassword, 1.2.840.113549.1.9.7 (RFC 2985 5.4.1) */
#define OID_CHALLENGE_PASSWORD MBEDTLS_OID_PKCS9 "\x07"
/* szOID_CERT_EXTENSIONS, 1.3.6.1.4.1.311.2.1.14: Microsoft's extension
 * request of xenroll's days. */
#define OID_MS_CERT_EXTENSIONS "\x2b\x06\x01\x04\x01\x82\x37\x02\x01\x0e"

/* The parts of CertificationRequest (RFC 2986 4.1, 4.2) we look at. */
struct outer {
	const unsigned char *cri;        /* the signed part, with header */
	size_t cri_len;
	const unsigned char *subject;    /* Name, with header */
	size_t subject_len;
	const unsigned char *spki;       /* SubjectPublicKeyInfo, with header */
	size_t spki_len;
	const unsigned char *attrs;      /* contents of attributes [0] */
	size_t attrs_len;
	mbedtls_asn1_buf sig_oid, sig_params;
	const unsigned char *sig_alg;    /* AlgorithmIdentifier, with header */
	size_t sig_alg_len;
	const unsigned char *sig;
	size_t sig_len;
};

static int
bad_csr(struct mica_err *err, const char *why)
{
	return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
			    "the CSR is malformed: %s", why);
}

/*
 * Every constructed element of DER (LEN octets) read again with mica's
 * strict reader, at most DEPTH levels down: a length not minimally
 * encoded ("30 84 00 00 01 01" for "30 82 01 01", which BER allows) is no
 * DER. A request is signed DER (RFC 2986 4.2); its outer SEQUENCE is not
 * under the signature, so one request re-encoded would pass for another
 * (the same CSR sent again answers with its pending request), and
 * relying parties' parsers (Go's, step-ca's) refuse it. The contents of
 * a primitive element (an extension's OCTET STRING) are their own
 * parsers' to read.
 */
static int
der_strict(const unsigned char *der, size_t len, int depth)
{
	struct ca_der_cur c;
	struct ca_der_tlv t;

	if (depth == 0)
		return -2;
	ca_der_init(&c, der, len);
	while (!ca_der_empty(&c)) {
		int r;

		if (ca_der_get_any(&c, &t, NULL) < 0)
			return -1;
		/* An INTEGER in its fewest octets (OpenSSL refuses "02 02
		 * 00 01" too, as illegal padding). */
		if (t.tag == CA_DER_INTEGER &&
		    ca_der_int_check(t.val, t.len, NULL) != 0)
			return -1;
		if ((t.tag & 0x20) != 0 &&
		    (r = der_strict(t.val, t.len, depth - 1)) != 0)
			return r;
	}
	return 0;
}

/*
 * CertificationRequest ::= SEQUENCE {
 *     certificationRequestInfo CertificationRequestInfo,
 *     signatureAlgorithm AlgorithmIdentifier, signature BIT STRING }
 * CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) },
 *     subject Name, subjectPKInfo SubjectPublicKeyInfo,
 *     attributes [0] Attributes }
 * Every element must be present and every SEQUENCE consumed exactly; the
 * outer one spans the whole input, nothing before or after.
 */
static int
parse_outer(const unsigned char *der, size_t der_len, struct outer *o,
	    struct mica_err *err)
{
	unsigned char *p = (unsigned char *)der;
	const unsigned char *end = der + der_len, *cri_end;
	size_t len;
	int version;

	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0)
		return bad_csr(err, "not a DER SEQUENCE (truncated?)");
	if (p + len != end)
		return bad_csr(err, "data after the end of the request");
	o->cri = p;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0)
		return bad_csr(err, "no CertificationRequestInfo");
	cri_end = p + len;
	o->cri_len = (size_t)(cri_end - o->cri);

	if (mbedtls_asn1_get_int(&p, cri_end, &version) != 0)
		return bad_csr(err, "no version");
	if (version != 0)
		return bad_csr(err, "unknown version");
	o->subject = p;
	if (mbedtls_asn1_get_tag(&p, cri_end, &len, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0)
		return bad_csr(err, "no subject");
	p += len;
	o->subject_len = (size_t)(p - o->subject);
	o->spki = p;
	if (mbedtls_asn1_get_tag(&p, cri_end, &len, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0)
		return bad_csr(err, "no public key");
	p += len;
	o->spki_len = (size_t)(p - o->spki);
	if (mbedtls_asn1_get_tag(&p, cri_end, &len, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0) != 0)
		return bad_csr(err, "no attributes");
	o->attrs = p;
	o->attrs_len = len;
	p += len;
	if (p != cri_end)
		return bad_csr(err, "data after the attributes");

	o->sig_alg = p;
	if (mbedtls_asn1_get_alg(&p, end, &o->sig_oid, &o->sig_params) != 0)
		return bad_csr(err, "no signature algorithm");
	o->sig_alg_len = (size_t)(p - o->sig_alg);
	/* DER signatures are whole octets: unused-bits must be 0. */
	if (mbedtls_asn1_get_bitstring_null(&p, end, &len) != 0 || len == 0)
		return bad_csr(err, "no signature");
	o->sig = p;
	o->sig_len = len;
	p += len;
	if (p != end)
		return bad_csr(err, "data after the signature");
	switch (der_strict(der, der_len, 16)) {
	case 0:
		break;
	case -2:
		return bad_csr(err, "elements nested more than 16 levels "
			       "deep (a request needs about 10)");
	default:
		return bad_csr(err, "not DER (a length or an integer not in "
			       "its shortest form, or an element malformed)");
	}
	return 0;
}

/* The message for an RSA key past 4096 bits, one wording for both places
 * that refuse it (check_key_alg, check_rsa). */
static int
rsa_too_large(size_t bits, struct mica_err *err)
{
	return mica_err_set(err, MICA_E_POLICY, "unsupported_key",
			    "RSA keys larger than 4096 bits are not supported "
			    "(this one has %zu)", bits);
}

/* The size in bits of the modulus of the RSAPublicKey (RFC 8017 A.1.1) in
 * the subjectPublicKey BIT STRING at P, leading zero octets not counted;
 * 0 when it does not read as one (mbedTLS then says it is malformed). */
static size_t
rsa_modulus_bits(unsigned char *p, const unsigned char *end)
{
	size_t len, bits;
	unsigned char top;

	if (mbedtls_asn1_get_bitstring_null(&p, end, &len) != 0 ||
	    mbedtls_asn1_get_tag(&p, p + len, &len, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0 ||
	    mbedtls_asn1_get_tag(&p, p + len, &len, MBEDTLS_ASN1_INTEGER) != 0)
		return 0;
	while (len > 0 && *p == 0) {
		p++;
		len--;
	}
	if (len == 0)
		return 0;
	bits = (len - 1) * 8;
	for (top = *p; top != 0; top >>= 1)
		bits++;
	return bits;
}

/*
 * Refuse unsupported key types by their SubjectPublicKeyInfo algorithm,
 * with a message that names them, before handing the key to mbedTLS
 * (which would say only "unknown algorithm", or accept curves we do not
 * want).
 */
static int
check_key_alg(const struct outer *o, struct mica_err *err)
{
	unsigned char *p = (unsigned char *)o->spki;
	const unsigned char *end = o->spki + o->spki_len;
	mbedtls_asn1_buf alg, params;
	size_t len;
	const char *what;

	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0)
		return bad_csr(err, "bad public key");
	if (mbedtls_asn1_get_alg(&p, p + len, &alg, &params) != 0)
		return bad_csr(err, "no public key algorithm");

	if (MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS1_RSA, &alg) == 0) {
		/* mbedTLS reads no modulus past MBEDTLS_MPI_MAX_SIZE (8192
		 * bits): a well-formed 16384-bit key would be "malformed"
		 * there, when it is only one we do not take. */
		size_t bits = rsa_modulus_bits(p, end);

		return bits > 4096 ? rsa_too_large(bits, err) : 0;
	}
	if (MBEDTLS_OID_CMP(MBEDTLS_OID_EC_ALG_UNRESTRICTED, &alg) == 0) {
		/* RFC 5480 2.1.1: namedCurve only; implicitCurve and
		 * specifiedCurve are refused. */
		if (params.tag == MBEDTLS_ASN1_OID &&
		    (MBEDTLS_OID_CMP(MBEDTLS_OID_EC_GRP_SECP256R1, &params) == 0 ||
		     MBEDTLS_OID_CMP(MBEDTLS_OID_EC_GRP_SECP384R1, &params) == 0))
			return 0;
		/* specifiedCurve (a SEQUENCE of explicit parameters) may
		 * well be P-256 spelled out: say what to change. */
		if (params.tag == (MBEDTLS_ASN1_CONSTRUCTED |
				   MBEDTLS_ASN1_SEQUENCE))
			return mica_err_set(err, MICA_E_POLICY,
					    "unsupported_key",
					    "EC keys with explicit curve "
					    "parameters are not supported (RFC "
					    "5480 2.1.1): use the named curve "
					    "P-256 or P-384 (openssl: -pkeyopt "
					    "ec_param_enc:named_curve)");
		what = "EC keys on curves other than P-256 and P-384 are";
	} else if (MBEDTLS_OID_CMP(MBEDTLS_OID_ED25519, &alg) == 0) {
		what = "Ed25519 keys are";
	} else if (MBEDTLS_OID_CMP(OID_ED448, &alg) == 0) {
		what = "Ed448 keys are";
	} else if (MBEDTLS_OID_CMP(OID_DSA, &alg) == 0) {
		what = "DSA keys are";
	} else if (MBEDTLS_OID_CMP(MBEDTLS_OID_RSASSA_PSS, &alg) == 0) {
		what = "RSA-PSS-only keys are";
	} else if (MBEDTLS_OID_CMP(OID_SM2, &alg) == 0 ||
		   MBEDTLS_OID_CMP(MBEDTLS_OID_EC_ALG_ECDH, &alg) == 0) {
		what = "EC keys restricted to key agreement or SM2 are";
	} else {
		what = "this key type is";
	}
	return mica_err_set(err, MICA_E_POLICY, "unsupported_key",
			    "%s not supported: use RSA (2048-4096 bits) or EC "
			    "P-256/P-384", what);
}

/* Do the RSASSA-PSS parameters PRM (RFC 4055 3.1) hash the message with
 * SHA-1 or MD5? hashAlgorithm [0] absent is its default, SHA-1. */
static int
pss_hash_weak(const mbedtls_asn1_buf *prm)
{
	unsigned char *p = prm->p;
	const unsigned char *end = prm->p + prm->len;
	mbedtls_asn1_buf oid, hprm;
	size_t len;

	if (prm->tag != (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return 0;
	if (p == end || *p != (MBEDTLS_ASN1_CONTEXT_SPECIFIC |
			       MBEDTLS_ASN1_CONSTRUCTED | 0))
		return 1;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONTEXT_SPECIFIC |
				 MBEDTLS_ASN1_CONSTRUCTED | 0) != 0 ||
	    mbedtls_asn1_get_alg(&p, p + len, &oid, &hprm) != 0)
		return 0;
	return MBEDTLS_OID_CMP(MBEDTLS_OID_DIGEST_ALG_SHA1, &oid) == 0 ||
	       MBEDTLS_OID_CMP(MBEDTLS_OID_DIGEST_ALG_MD5, &oid) == 0;
}

static int
check_sig_alg(const struct outer *o, const struct sigalg **out,
	      struct mica_err *err)
{
	const mbedtls_asn1_buf *a = &o->sig_oid, *prm = &o->sig_params;
	size_t i;

	for (i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++) {
		if (a->len != sigalgs[i].oid_len ||
		    memcmp(a->p, sigalgs[i].oid, a->len) != 0)
			continue;
		/* RFC 4055 5 wants NULL parameters for the RSA PKCS#1 v1.5
		 * OIDs (absent seen in the wild and harmless); RFC 5758 3.2
		 * wants them absent for ECDSA. Anything else is malformed. */
		if (sigalgs[i].pk == MBEDTLS_PK_RSA) {
			if (!(prm->tag == 0 && prm->len == 0) &&
			    !(prm->tag == MBEDTLS_ASN1_NULL && prm->len == 0))
				return bad_csr(err, "bad signature algorithm "
					       "parameters");
		} else if (prm->tag != 0 || prm->len != 0) {
			return bad_csr(err, "bad signature algorithm "
				       "parameters");
		}
		*out = &sigalgs[i];
		return 0;
	}
	/* A well-formed request that mica will not accept: a policy
	 * refusal (422, exit 4), like a weak key, not a malformed one. */
	if (MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS1_SHA1, a) == 0 ||
	    MBEDTLS_OID_CMP(MBEDTLS_OID_ECDSA_SHA1, a) == 0 ||
	    MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS1_MD5, a) == 0)
		return mica_err_set(err, MICA_E_POLICY, "weak_signature",
				    "the CSR is signed with SHA-1 or MD5, which "
				    "are broken: sign it with SHA-256 "
				    "(openssl req -sha256)");
	/* RSASSA-PSS (RFC 4055 3.1: certreq with AlternateSignatureAlgorithm,
	 * openssl req -sigopt rsa_padding_mode:pss, certtool --sign-params
	 * RSA-PSS): its parameters read as strictly as another CA's
	 * (ca/cacert.c). A message hashed with SHA-1 (the default) or MD5
	 * is the policy refusal above, as in PKCS#1 v1.5; the rest that
	 * ca/cacert.c does not verify is an unsupported algorithm. */
	if (MBEDTLS_OID_CMP(MBEDTLS_OID_RSASSA_PSS, a) == 0) {
		if (ca_sig_alg_check(o->sig_alg, o->sig_alg_len, err) != 0) {
			if (err->kind != MICA_E_UNSUPPORTED)
				return -1;
			if (pss_hash_weak(prm))
				return mica_err_set(err, MICA_E_POLICY,
						    "weak_signature",
						    "the CSR is signed with "
						    "RSASSA-PSS over SHA-1 or "
						    "MD5, which are broken: "
						    "sign it with SHA-256 "
						    "(openssl req -sha256)");
			err->kind = MICA_E_BADREQ;
			return -1;
		}
		*out = &sigalg_pss;
		return 0;
	}
	return mica_err_set(err, MICA_E_BADREQ, "unsupported_signature",
			    "the CSR's signature algorithm is not supported: "
			    "use RSA or ECDSA with SHA-256, SHA-384 or SHA-512");
}

/* More requested extensions than this is not a real request. */
#define EXT_MAX 32

/* Where walk_attributes() found the challengePassword: its value's tag
 * and octets inside the request's DER, or NULL. */
struct challenge_ref {
	int tag;
	const unsigned char *p;
	size_t len;
};

/*
 * RFC 2985 5.4.1: challengePassword ATTRIBUTE ::= { WITH SYNTAX
 * DirectoryString {pkcs-9-ub-challengePassword (255)} ... SINGLE VALUE
 * TRUE }. P is at the attribute's values (SET) and ATTR_END ends it.
 */
static int
read_challenge(unsigned char **p, const unsigned char *attr_end,
	       struct challenge_ref *ch, struct mica_err *err)
{
	size_t len;

	if (mbedtls_asn1_get_tag(p, attr_end, &len, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SET) != 0 ||
	    *p + len != attr_end || len < 2)
		return bad_csr(err, "bad challengePassword");
	ch->tag = **p;
	(*p)++;
	if (mbedtls_asn1_get_len(p, attr_end, &len) != 0 || *p + len != attr_end)
		return bad_csr(err, "bad challengePassword (one value only)");
	if (len == 0 || len > CA_CSR_CHALLENGE_MAX)
		return bad_csr(err, "the challengePassword must be 1 to 255 "
			       "characters");
	ch->p = *p;
	ch->len = len;
	*p = (unsigned char *)attr_end;
	return 0;
}

/*
 * An extension request's values at *P (moved to ATTR_END): SET {
 * Extensions ::= SEQUENCE OF Extension }. Sets *san / *san_len to the
 * subjectAltName extension's value, or leaves them.
 *
 *  - Only subjectAltName is used. Every other extension, critical or not
 *    (basicConstraints cA=TRUE, keyUsage, extendedKeyUsage...), is ignored:
 *    the certificate gets the profile's extensions, as Certificate
 *    Services and OpenSSL's ca with copy_extensions=none do.
 *  - An extension requested twice is refused (RFC 5280 4.2: at most one
 *    instance of an extension; which of two SANs would be meant?).
 */
static int
read_ext_request(unsigned char **pp, const unsigned char *attr_end,
		 const unsigned char **san, size_t *san_len,
		 struct mica_err *err)
{
	mbedtls_asn1_buf seen[EXT_MAX];
	unsigned char *p = *pp;
	size_t len, nseen = 0, i;

	if (mbedtls_asn1_get_tag(&p, attr_end, &len,
				 MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SET) != 0 ||
	    p + len != attr_end ||
	    mbedtls_asn1_get_tag(&p, attr_end, &len,
				 MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0 ||
	    p + len != attr_end)
		return bad_csr(err, "bad extension request");
	while (p < attr_end) {
		mbedtls_asn1_buf id;
		const unsigned char *ext_end;
		int critical = 0;

		/* Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER,
		 *   critical BOOLEAN DEFAULT FALSE,
		 *   extnValue OCTET STRING } (RFC 5280 4.1) */
		if (mbedtls_asn1_get_tag(&p, attr_end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED |
					 MBEDTLS_ASN1_SEQUENCE) != 0)
			return bad_csr(err, "bad extension");
		ext_end = p + len;
		if (mbedtls_asn1_get_tag(&p, ext_end, &id.len,
					 MBEDTLS_ASN1_OID) != 0 ||
		    id.len == 0)
			return bad_csr(err, "bad extension id");
		id.p = p;
		p += id.len;
		if (p < ext_end && *p == MBEDTLS_ASN1_BOOLEAN &&
		    mbedtls_asn1_get_bool(&p, ext_end, &critical) != 0)
			return bad_csr(err, "bad extension criticality");
		if (mbedtls_asn1_get_tag(&p, ext_end, &len,
					 MBEDTLS_ASN1_OCTET_STRING) != 0 ||
		    p + len != ext_end)
			return bad_csr(err, "bad extension value");

		for (i = 0; i < nseen; i++)
			if (seen[i].len == id.len &&
			    memcmp(seen[i].p, id.p, id.len) == 0)
				return bad_csr(err, "an extension is "
					       "requested twice");
		if (nseen == EXT_MAX)
			return bad_csr(err, "too many extensions");
		seen[nseen++] = id;

		if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &id) == 0) {
			*san = p;
			*san_len = len;
		}
		/* Every other requested extension (basicConstraints
		 * cA=TRUE, extra key usages, critical or not) is ignored:
		 * the profile decides, never the CSR. */
		(void)critical;
		p = (unsigned char *)ext_end;
	}
	*pp = p;
	return 0;
}

/*
 * Walk the attributes (RFC 2986 4.1) for the extensionRequest (PKCS#9,
 * RFC 2985 5.4.2) and the challengePassword (RFC 2985 5.4.1, at most one,
 * into *CH); other attributes (Windows' OS version and CSP info...) are
 * skipped. Sets *san / *san_len to the subjectAltName extension's value,
 * or NULL / 0 (read_ext_request). A request without a PKCS#9
 * extensionRequest may carry its extensions in Microsoft's older
 * attribute of the same form (szOID_CERT_EXTENSIONS, 1.3.6.1.4.1.311.2.1.14,
 * written by xenroll: IIS 6 and Exchange 2003's request wizards); it is
 * read then, and ignored beside a PKCS#9 one. Each at most once.
 */
static int
walk_attributes(const struct outer *o, const unsigned char **san,
		size_t *san_len, struct challenge_ref *ch, struct mica_err *err)
{
	unsigned char *p = (unsigned char *)o->attrs, *ms = NULL;
	const unsigned char *attrs_end = o->attrs + o->attrs_len;
	const unsigned char *ms_end = NULL;
	size_t len;
	int seen_req = 0;

	*san = NULL;
	*san_len = 0;
	memset(ch, 0, sizeof(*ch));
	while (p < attrs_end) {
		mbedtls_asn1_buf type;
		const unsigned char *attr_end;

		if (mbedtls_asn1_get_tag(&p, attrs_end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED |
					 MBEDTLS_ASN1_SEQUENCE) != 0)
			return bad_csr(err, "bad attribute");
		attr_end = p + len;
		if (mbedtls_asn1_get_tag(&p, attr_end, &type.len,
					 MBEDTLS_ASN1_OID) != 0)
			return bad_csr(err, "bad attribute type");
		type.p = p;
		p += type.len;
		if (MBEDTLS_OID_CMP(OID_CHALLENGE_PASSWORD, &type) == 0) {
			if (ch->p != NULL)
				return bad_csr(err, "two challengePassword attributes");
			if (read_challenge(&p, attr_end, ch, err) != 0)
				return -1;
			continue;
		}
		if (MBEDTLS_OID_CMP(OID_MS_CERT_EXTENSIONS, &type) == 0) {
			if (ms != NULL)
				return bad_csr(err, "two extension requests");
			ms = p;
			ms_end = attr_end;
			p = (unsigned char *)attr_end;
			continue;
		}
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS9_CSR_EXT_REQ, &type) != 0) {
			p = (unsigned char *)attr_end;   /* other attributes */
			continue;
		}
		if (seen_req++)
			return bad_csr(err, "two extension requests");
		if (read_ext_request(&p, attr_end, san, san_len, err) != 0)
			return -1;
	}
	if (!seen_req && ms != NULL &&
	    read_ext_request(&ms, ms_end, san, san_len, err) != 0)
		return -1;
	return 0;
}

/* RSA: modulus 2048..4096 (also enforced by the policy, but a CSR we
 * would never sign is refused as early as possible), odd e in
 * [65537, 2^256) as the CA/B BRs 6.1.6 and NIST SP 800-89 5.3.3 ask. */
static int
check_rsa(mbedtls_pk_context *pk, int *bits, struct mica_err *err)
{
	mbedtls_rsa_context *rsa = mbedtls_pk_rsa(*pk);
	mbedtls_mpi e;
	int rc = -1;

	mbedtls_mpi_init(&e);
	*bits = (int)mbedtls_pk_get_bitlen(pk);
	if (*bits < 2048) {
		mica_err_set(err, MICA_E_POLICY, "weak_key",
			     "RSA keys must have at least 2048 bits (this one "
			     "has %d)", *bits);
		goto out;
	}
	if (*bits > 4096) {
		rsa_too_large((size_t)*bits, err);
		goto out;
	}
	if (rsa == NULL || mbedtls_rsa_check_pubkey(rsa) != 0 ||
	    mbedtls_rsa_export(rsa, NULL, NULL, NULL, NULL, &e) != 0) {
		bad_csr(err, "invalid RSA public key");
		goto out;
	}
	if (mbedtls_mpi_get_bit(&e, 0) != 1 || mbedtls_mpi_cmp_int(&e, 65537) < 0) {
		mica_err_set(err, MICA_E_POLICY, "weak_key",
			     "the RSA public exponent must be odd and at least "
			     "65537");
		goto out;
	}
	/* Go's crypto/x509 refuses a certificate whose exponent is past
	 * 2^31 - 1 (Caddy, Traefik, every Go client), Windows' CryptoAPI
	 * one past 2^32 - 1: issued, it would be of no use to them. */
	if (mbedtls_mpi_bitlen(&e) > 31) {
		mica_err_set(err, MICA_E_POLICY, "unsupported_key",
			     "RSA public exponents above 2^31 - 1 are not "
			     "supported: Go and Windows cannot use a "
			     "certificate with one (this one has %zu bits; "
			     "65537 is the usual)", mbedtls_mpi_bitlen(&e));
		goto out;
	}
	rc = 0;
out:
	mbedtls_mpi_free(&e);
	return rc;
}

int
ca_rsa_key_check(const struct mbedtls_pk_context *pk, struct mica_err *err)
{
	int bits;

	/* check_rsa only reads the key (mbedTLS's getters take it
	 * non-const). */
	if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_RSA)
		return mica_err_set(err, MICA_E_POLICY, "unsupported_key",
				    "not an RSA key");
	return check_rsa((mbedtls_pk_context *)(uintptr_t)pk, &bits, err);
}

static int
check_ec(mbedtls_pk_context *pk, int *kind, int *bits, struct mica_err *err)
{
	mbedtls_ecp_keypair *ec = mbedtls_pk_ec(*pk);
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_ecp_group_id gid;
	int rc = -1;

	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&q);
	if (ec == NULL) {
		bad_csr(err, "invalid EC public key");
		goto out;
	}
	gid = mbedtls_ecp_keypair_get_group_id(ec);
	if (gid == MBEDTLS_ECP_DP_SECP256R1) {
		*kind = CA_PUBKEY_EC_P256;
		*bits = 256;
	} else if (gid == MBEDTLS_ECP_DP_SECP384R1) {
		*kind = CA_PUBKEY_EC_P384;
		*bits = 384;
	} else {
		mica_err_set(err, MICA_E_POLICY, "unsupported_key",
			     "EC keys on curves other than P-256 and P-384 are "
			     "not supported");
		goto out;
	}
	/* The point must be on the curve and not the identity (SEC 1
	 * 3.2.2.1); mbedTLS checks when parsing, check again to be sure
	 * we never certify an invalid key. */
	if (mbedtls_ecp_export(ec, &grp, NULL, &q) != 0 ||
	    mbedtls_ecp_check_pubkey(&grp, &q) != 0) {
		bad_csr(err, "invalid EC public key");
		goto out;
	}
	rc = 0;
out:
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	return rc;
}

static int
verify_sig(mbedtls_pk_context *pk, const struct outer *o,
	   const struct sigalg *alg, struct mica_err *err)
{
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(alg->md);
	int rc = -1;

	if (alg->pk == MBEDTLS_PK_RSASSA_PSS) {
		/* The key is the rsaEncryption key check_rsa accepted;
		 * ca_sig_verify reads the parameters again and verifies. */
		if (ca_sig_verify(o->cri, o->cri_len, o->sig_alg,
				  o->sig_alg_len, o->sig, o->sig_len, o->spki,
				  o->spki_len, err) == 0)
			return 0;
		if (err->kind == MICA_E_INTERNAL)
			return -1;
		return mica_err_set(err, MICA_E_BADREQ, "bad_signature",
				    "the CSR's signature does not verify (the "
				    "request was altered, or not signed by its "
				    "own key)");
	}
	if (md == NULL || mbedtls_md(md, o->cri, o->cri_len, hash) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "internal",
			     "hash unavailable");
		goto out;
	}
	/* PKCS#1 v1.5 for RSA (the padding a parsed RSA key carries; no
	 * PSS options), ECDSA for EC. Any trailing bytes after the
	 * signature value make mbedTLS return SIG_LEN_MISMATCH: refused. */
	if (mbedtls_pk_verify_ext(alg->pk, NULL, pk, alg->md, hash,
				  mbedtls_md_get_size(md), o->sig,
				  o->sig_len) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_signature",
			     "the CSR's signature does not verify (the request "
			     "was altered, or not signed by its own key)");
		goto out;
	}
	rc = 0;
out:
	mbedtls_platform_zeroize(hash, sizeof(hash));
	return rc;
}

/* UTF-8 without control characters (RFC 3629 well-formed, no C0, DEL or
 * C1). A bidirectional or invisible character is taken: the CN is then
 * read as the name it may stand for, and the name's check refuses it
 * quoting it escaped (ca_name_parse), which says more than "the CSR
 * names nothing". */
static int
clean_utf8(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t i, k;

	for (i = 0; i < n; i += k)
		if ((k = mica_utf8_next(s + i, n - i, &cp)) == 0 ||
		    cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return 0;
	return 1;
}

/* Attributes in one subject; real ones have a handful. */
#define DN_ATTR_MAX 64

static void
free_name(mbedtls_x509_name *n)
{
	while (n != NULL) {
		mbedtls_x509_name *next = n->next;

		free(n);
		n = next;
	}
}

/* Directory string types (RFC 5280 4.1.2.4 DirectoryString, plus the
 * IA5String of emailAddress/domainComponent and the legacy types). */
static int
dn_string_tag(int tag)
{
	switch (tag) {
	case MBEDTLS_ASN1_UTF8_STRING:
	case MBEDTLS_ASN1_PRINTABLE_STRING:
	case MBEDTLS_ASN1_T61_STRING:
	case MBEDTLS_ASN1_IA5_STRING:
	case MBEDTLS_ASN1_BMP_STRING:
	case MBEDTLS_ASN1_UNIVERSAL_STRING:
	case 0x12:   /* NumericString */
	case 0x1a:   /* VisibleString */
		return 1;
	}
	return 0;
}

/*
 * The subject as a list ca_dn_print() can print. Pointers refer
 * into the request's DER, which must outlive the list; free with
 * free_name(). An empty subject (allowed when the SAN is critical, RFC
 * 5280 4.2.1.6) gives an empty list, which mbedTLS's own CSR parser
 * cannot represent: that is why we walk the Name ourselves.
 *
 * Name ::= SEQUENCE OF RelativeDistinguishedName
 * RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
 * AttributeTypeAndValue ::= SEQUENCE { type OID, value ANY }
 */
static int
parse_name(const struct outer *o, mbedtls_x509_name **out,
	   unsigned char merged[DN_ATTR_MAX], struct mica_err *err)
{
	unsigned char *p = (unsigned char *)o->subject;
	const unsigned char *end = o->subject + o->subject_len;
	mbedtls_x509_name *head = NULL, **tail = &head;
	size_t len, count = 0;
	int rc = -1, first;

	*out = NULL;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0 || p + len != end) {
		bad_csr(err, "bad subject");
		goto out;
	}
	while (p < end) {
		const unsigned char *set_end;

		if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED |
					 MBEDTLS_ASN1_SET) != 0 || len == 0) {
			bad_csr(err, "bad subject RDN");
			goto out;
		}
		set_end = p + len;
		first = 1;
		while (p < set_end) {
			const unsigned char *atv_end;
			mbedtls_x509_name *n;
			int tag;

			if (mbedtls_asn1_get_tag(&p, set_end, &len,
						 MBEDTLS_ASN1_CONSTRUCTED |
						 MBEDTLS_ASN1_SEQUENCE) != 0) {
				bad_csr(err, "bad subject attribute");
				goto out;
			}
			atv_end = p + len;
			if (++count > DN_ATTR_MAX) {
				bad_csr(err, "too many subject attributes");
				goto out;
			}
			/* Not the RDN's first: shown joined by " + ". */
			merged[count - 1] = !first;
			first = 0;
			n = calloc(1, sizeof(*n));
			if (n == NULL) {
				mica_err_set(err, MICA_E_INTERNAL, "internal",
					     "out of memory");
				goto out;
			}
			*tail = n;
			tail = &n->next;
			if (mbedtls_asn1_get_tag(&p, atv_end, &len,
						 MBEDTLS_ASN1_OID) != 0 ||
			    len == 0) {
				bad_csr(err, "bad subject attribute type");
				goto out;
			}
			n->oid.tag = MBEDTLS_ASN1_OID;
			n->oid.len = len;
			n->oid.p = p;
			p += len;
			if (p >= atv_end) {
				bad_csr(err, "subject attribute without value");
				goto out;
			}
			tag = *p++;
			if (!dn_string_tag(tag) ||
			    mbedtls_asn1_get_len(&p, atv_end, &len) != 0 ||
			    p + len != atv_end) {
				bad_csr(err, "bad subject attribute value");
				goto out;
			}
			n->val.tag = tag;
			n->val.len = len;
			n->val.p = p;
			p += len;
		}
	}
	*out = head;
	head = NULL;
	rc = 0;
out:
	free_name(head);
	return rc;
}

/* The last commonName of the subject (the most specific RDN), if it is a
 * text string in clean UTF-8; NULL otherwise. */
static int
extract_cn(const mbedtls_x509_name *dn, char **out, struct mica_err *err)
{
	const mbedtls_x509_name *cn = NULL;

	*out = NULL;
	for (; dn != NULL; dn = dn->next)
		if (dn->oid.p != NULL &&
		    MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &dn->oid) == 0)
			cn = dn;
	if (cn == NULL || cn->val.len == 0 || cn->val.len > CN_MAX)
		return 0;
	/* A BMPString (UCS-2, as some Windows tools write a CN), a
	 * UniversalString (UCS-4) or a TeletexString (read as Latin-1, as
	 * OpenSSL reads it): its text in UTF-8, read as any other CN. */
	if (cn->val.tag == MBEDTLS_ASN1_BMP_STRING ||
	    cn->val.tag == MBEDTLS_ASN1_UNIVERSAL_STRING ||
	    cn->val.tag == MBEDTLS_ASN1_T61_STRING) {
		char u[CN_MAX * 2 + 1];   /* Latin-1: two octets at most */

		if (ca_dirstring_utf8((unsigned)cn->val.tag, cn->val.p,
				      cn->val.len, u, sizeof(u)) != 0 ||
		    !clean_utf8((const unsigned char *)u, strlen(u)))
			return 0;
		if ((*out = strdup(u)) == NULL)
			return mica_err_set(err, MICA_E_INTERNAL, "internal",
					    "out of memory");
		return 0;
	}
	if (cn->val.tag != MBEDTLS_ASN1_UTF8_STRING &&
	    cn->val.tag != MBEDTLS_ASN1_PRINTABLE_STRING &&
	    cn->val.tag != MBEDTLS_ASN1_IA5_STRING)
		return 0;
	if (!clean_utf8(cn->val.p, cn->val.len))
		return 0;
	*out = malloc(cn->val.len + 1);
	if (*out == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "out of memory");
	memcpy(*out, cn->val.p, cn->val.len);
	(*out)[cn->val.len] = '\0';
	return 0;
}

/*
 * ca_dn_print() writes every octet past ASCII as "\XX" (RFC 4514 2.4's
 * hexpair), so "CN=Jürgen" would read "CN=J\C3\BCrgen" in every list. When
 * every octet past ASCII of DN's values is in a UTF8String, put back in
 * BUF, in place, each character those escapes spell as well-formed UTF-8
 * that may be shown (mica_cp_hidden: no control, bidirectional override
 * or invisible character); anything else keeps its escapes, and an
 * escaped backslash ("\\") stays one.
 */
static void
subject_utf8(const mbedtls_x509_name *dn, char *buf)
{
	unsigned char *run;
	size_t i = 0, o = 0;

	/* Octets past ASCII only in UTF8Strings (a BMPString's text is one
	 * by now: dn_as_utf8): in the ASCII types (which may not hold them)
	 * or a BMPString without text they are no UTF-8, and decoded would
	 * show text the request does not hold. */
	for (; dn != NULL; dn = dn->next) {
		if (dn->oid.p == NULL || dn->val.tag == MBEDTLS_ASN1_UTF8_STRING)
			continue;
		for (size_t k = 0; k < dn->val.len; k++)
			if (dn->val.p[k] >= 0x80)
				return;
	}
	/* Out of memory: the escapes stay, still a true picture. */
	if ((run = malloc(strlen(buf) / 3 + 1)) == NULL)
		return;
	while (buf[i] != '\0') {
		size_t n = 0, k = 0;

		if (buf[i] != '\\') {
			buf[o++] = buf[i++];
			continue;
		}
		/* A run of escaped octets past ASCII. */
		while (buf[i] == '\\' && mica_hex_val(buf[i + 1]) >= 8 &&
		       mica_hex_val(buf[i + 2]) >= 0) {
			run[n++] = (unsigned char)(mica_hex_val(buf[i + 1]) << 4 |
						   mica_hex_val(buf[i + 2]));
			i += 3;
		}
		if (n == 0) {
			/* "\c", an escaped special character (or "\1F"):
			 * kept as it is, both octets. */
			buf[o++] = buf[i++];
			if (buf[i] != '\0')
				buf[o++] = buf[i++];
			continue;
		}
		while (k < n) {
			uint32_t cp;
			size_t len = mica_utf8_next(run + k, n - k, &cp);

			if (len > 0 && !mica_cp_hidden(cp)) {
				memcpy(buf + o, run + k, len);
				o += len;
			} else {
				static const char hex[] = "0123456789ABCDEF";

				/* As written: 3 octets each, never past I. */
				len = len > 0 ? len : 1;
				for (size_t j = 0; j < len; j++) {
					buf[o++] = '\\';
					buf[o++] = hex[run[k + j] >> 4];
					buf[o++] = hex[run[k + j] & 15];
				}
			}
			k += len;
		}
	}
	buf[o] = '\0';
	free(run);
}

/* Append the NUL-terminated S to BUF (SIZE) at *AT: 0, or -1 when it does
 * not fit with its NUL. */
static int
dn_put(char *buf, size_t size, size_t *at, const char *s, size_t len)
{
	if (len >= size - *at)
		return -1;
	memcpy(buf + *at, s, len);
	*at += len;
	buf[*at] = '\0';
	return 0;
}

/* ca_dn_print's "\XX"s and hex pairs: mbedTLS writes capitals. */
static void
dn_hex(char *out, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	out[0] = hex[c >> 4];
	out[1] = hex[c & 15];
}

int
ca_dn_print(char *buf, size_t size, const struct mbedtls_asn1_named_data *dn,
	    const unsigned char *merged)
{
	const mbedtls_x509_name *n;
	size_t at = 0, idx = 0;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	for (n = dn; n != NULL; n = n->next, idx++) {
		const char *short_name = NULL;
		unsigned char tl[2 + sizeof(size_t)];   /* tag, length */
		size_t i, tl_len = 0;
		int hex, ret;

		if (n->oid.p == NULL)
			continue;
		if (n != dn && (merged != NULL && merged[idx] ?
				dn_put(buf, size, &at, " + ", 3) :
				dn_put(buf, size, &at, ", ", 2)) != 0)
			return -1;
		hex = n->val.tag != MBEDTLS_ASN1_UTF8_STRING &&
		      n->val.tag != MBEDTLS_ASN1_PRINTABLE_STRING &&
		      n->val.tag != MBEDTLS_ASN1_IA5_STRING;
		if (mbedtls_oid_get_attr_short_name(&n->oid, &short_name) == 0) {
			if (dn_put(buf, size, &at, short_name,
				   strlen(short_name)) != 0)
				return -1;
		} else if ((ret = mbedtls_oid_get_numeric_string(
				    buf + at, size - at, &n->oid)) > 0) {
			at += (size_t)ret;
			hex = 1;
		} else if (ret == MBEDTLS_ERR_OID_BUF_TOO_SMALL) {
			return -1;
		} else if (dn_put(buf, size, &at, "??", 2) != 0) {
			return -1;
		}
		if (dn_put(buf, size, &at, "=", 1) != 0)
			return -1;
		if (hex) {
			/* "#", then the value's tag, length and octets in hex
			 * (RFC 4514 2.4). */
			size_t len = n->val.len, k;

			tl[tl_len++] = (unsigned char)n->val.tag;
			if (len < 0x80) {
				tl[tl_len++] = (unsigned char)len;
			} else {
				for (k = 0; (len >> (8 * k)) != 0; k++)
					;
				tl[tl_len++] = (unsigned char)(0x80 | k);
				while (k-- > 0)
					tl[tl_len++] =
						(unsigned char)(len >> (8 * k));
			}
			if (dn_put(buf, size, &at, "#", 1) != 0)
				return -1;
			for (i = 0; i < tl_len + n->val.len; i++) {
				char h[2];

				dn_hex(h, i < tl_len ? tl[i] :
					  n->val.p[i - tl_len]);
				if (dn_put(buf, size, &at, h, 2) != 0)
					return -1;
			}
			continue;
		}
		for (i = 0; i < n->val.len; i++) {
			unsigned char c = n->val.p[i];
			char e[4];
			size_t el = 0;

			if (c == '\0')
				return -2;
			if (strchr(",=+<>;\"\\", c) != NULL ||
			    (i == 0 && (c == '#' || c == ' ')) ||
			    (i + 1 == n->val.len && c == ' '))
				e[el++] = '\\';
			if (c < 32 || c >= 127) {
				e[el++] = '\\';
				dn_hex(e + el, c);
				el += 2;
			} else {
				e[el++] = (char)c;
			}
			if (dn_put(buf, size, &at, e, el) != 0)
				return -1;
		}
	}
	return (int)at;
}

/*
 * DN as ca_dn_print() is to print it, linked in V (DN has at
 * most DN_ATTR_MAX attributes: parse_name): the same attributes, but the
 * value of a BMPString, a UniversalString or a TeletexString that has
 * text (ca_dirstring_utf8: UCS-2, UCS-4, Latin-1 as OpenSSL reads it) a
 * UTF8String of that text, kept in TEXT (SIZE octets). ca_dn_print writes
 * those types as "#" and the hex of their DER (RFC 4514 2.4): a CN that
 * Windows or openssl req (string_mask=pkix) wrote as a BMPString read
 * "CN=#1E14005300750062..." in every list. A value without text, or
 * whose text does not fit in TEXT, keeps that form. Returns the head,
 * NULL for an empty subject.
 */
static const mbedtls_x509_name *
dn_as_utf8(const mbedtls_x509_name *dn, mbedtls_x509_name v[DN_ATTR_MAX],
	   char *text, size_t size)
{
	size_t n = 0, used = 0;

	for (; dn != NULL; dn = dn->next, n++) {
		assert(n < DN_ATTR_MAX);
		v[n] = *dn;
		v[n].next = NULL;
		if (n > 0)
			v[n - 1].next = &v[n];
		if ((dn->val.tag != MBEDTLS_ASN1_BMP_STRING &&
		     dn->val.tag != MBEDTLS_ASN1_UNIVERSAL_STRING &&
		     dn->val.tag != MBEDTLS_ASN1_T61_STRING) ||
		    ca_dirstring_utf8((unsigned)dn->val.tag, dn->val.p,
				      dn->val.len, text + used,
				      size - used) != 0)
			continue;
		v[n].val.tag = MBEDTLS_ASN1_UTF8_STRING;
		v[n].val.p = (unsigned char *)text + used;
		v[n].val.len = strlen(text + used);
		used += v[n].val.len + 1;
	}
	return n > 0 ? v : NULL;
}

static int
extract_subject(const mbedtls_x509_name *dn,
		const unsigned char merged[DN_ATTR_MAX], char **out,
		struct mica_err *err)
{
	mbedtls_x509_name v[DN_ATTR_MAX];
	char *buf = malloc(SUBJECT_BUF), *text = malloc(SUBJECT_BUF);
	size_t i;
	int n, rc = -1;

	*out = NULL;
	if (buf == NULL || text == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "internal", "out of memory");
		goto out;
	}
	buf[0] = '\0';    /* an empty subject prints as "" */
	dn = dn_as_utf8(dn, v, text, SUBJECT_BUF);
	if (dn != NULL) {
		n = ca_dn_print(buf, SUBJECT_BUF, dn, merged);
		if (n == -1) {
			bad_csr(err, "the subject is too long");
			goto out;
		}
		if (n < 0) {
			bad_csr(err, "the subject holds a value that is not "
				"text (a NUL byte, or a malformed string)");
			goto out;
		}
	}
	subject_utf8(dn, buf);
	/* ca_dn_print escapes every control already; make sure none
	 * reaches a log or a terminal. */
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] == 0x7f)
			buf[i] = '?';
	if ((*out = strdup(buf)) == NULL)
		mica_err_set(err, MICA_E_INTERNAL, "internal", "out of memory");
	else
		rc = 0;
out:
	free(buf);
	free(text);
	return rc;
}

/* Parse one name through ca_name_parse; a bad name in a CSR is a policy
 * refusal (the request was well-formed, the name is not acceptable). */
static int
name_from_text(const char *text, int kind, struct ca_name *out,
	       struct mica_err *err)
{
	if (ca_name_parse(text, kind, out, err) != 0) {
		if (err != NULL)
			err->kind = MICA_E_POLICY;
		return -1;
	}
	return 0;
}

/* Append N to LIST unless an equal name is already there. */
static int
add_name(struct ca_name *list, size_t *count, const struct ca_name *n,
	 struct mica_err *err)
{
	size_t i;

	for (i = 0; i < *count; i++)
		if (ca_name_same(&list[i], n))
			return 0;
	if (*count >= CA_NAMES_MAX)
		return mica_err_set(err, MICA_E_POLICY, "too_many_names",
				    "the CSR asks for more than %d names",
				    CA_NAMES_MAX);
	list[(*count)++] = *n;
	return 0;
}

/* RFC 5280 4.2.1.6 GeneralName kinds, by context tag number, with their
 * article. A dNSName, rfc822Name or iPAddress reaches here only in a form
 * DER never has (constructed, or not context-specific). */
static const char *
san_type_name(int tag)
{
	if ((tag & 0xc0) != MBEDTLS_ASN1_CONTEXT_SPECIFIC)
		return "an unknown kind of";
	switch (tag & 0x1f) {
	case 0: return "an otherName other than a Windows UPN";
	case 1: return "a malformed (constructed) rfc822Name";
	case 2: return "a malformed (constructed) dNSName";
	case 3: return "an x400Address";
	case 4: return "a directoryName";
	case 5: return "an ediPartyName";
	case 6: return "a URI";
	case 7: return "a malformed (constructed) iPAddress";
	case 8: return "a registeredID";
	}
	return "an unknown kind of";
}

/*
 * The otherName whose contents are V[0..LEN) (the [0] wrapper's) as a UPN
 * into OUT: OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
 * (RFC 5280 4.2.1.6, the [0] IMPLICIT tag in place of the SEQUENCE's),
 * and for type-id 1.3.6.1.4.1.311.20.2.3 the value one UTF8String, as
 * AD CS, certreq and OpenSSL write it. Every length exact, nothing after
 * any element. Any other type-id is "unsupported_name", as any other kind
 * of name is; a UPN that is no UTF8String of printable ASCII (no NUL, no
 * control, no UTF-8 beyond ASCII: ca/names.c), or is malformed, is
 * "bad_name". The value is never quoted before ca_name_parse has checked
 * it.
 */
static int
extract_upn(const unsigned char *v, size_t len, struct ca_name *out,
	    struct mica_err *err)
{
	unsigned char *p = (unsigned char *)v, *q;
	const unsigned char *end = v + len, *inner_end;
	char text[CA_UPN_PREFIX_LEN + CA_UPN_MAX + 1];
	size_t n, i;

	if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_OID) != 0 || n == 0)
		return bad_csr(err, "bad otherName in subjectAltName");
	if (n != CA_UPN_OID_LEN || memcmp(p, CA_UPN_OID, n) != 0)
		return mica_err_set(err, MICA_E_POLICY, "unsupported_name",
				    "the CSR asks for %s subject alternative "
				    "name; mica certifies DNS names, IP "
				    "addresses, email addresses and UPNs only",
				    san_type_name(MBEDTLS_ASN1_CONTEXT_SPECIFIC |
						  MBEDTLS_ASN1_CONSTRUCTED));
	p += n;
	/* value [0] EXPLICIT: exactly the rest of the otherName. */
	if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONTEXT_SPECIFIC |
				 MBEDTLS_ASN1_CONSTRUCTED | 0) != 0 ||
	    p + n != end)
		return mica_err_set(err, MICA_E_POLICY, "bad_name",
				    "the CSR has a malformed UPN (its value "
				    "is not one [0] EXPLICIT element)");
	inner_end = p + n;
	q = p;
	if (mbedtls_asn1_get_tag(&q, inner_end, &n,
				 MBEDTLS_ASN1_UTF8_STRING) != 0 ||
	    q + n != inner_end)
		return mica_err_set(err, MICA_E_POLICY, "bad_name",
				    "the CSR has a malformed UPN (its value "
				    "is not one UTF8String)");
	if (n == 0 || n > CA_UPN_MAX)
		return mica_err_set(err, MICA_E_POLICY, "bad_name",
				    "the CSR has an empty UPN or one longer "
				    "than %d characters", CA_UPN_MAX);
	for (i = 0; i < n; i++)
		if (q[i] < 0x21 || q[i] > 0x7e)
			return mica_err_set(err, MICA_E_POLICY, "bad_name",
					    "the CSR has a UPN with a NUL, a "
					    "blank, a control or a character "
					    "beyond ASCII (mica certifies "
					    "ASCII UPNs only)");
	memcpy(text, CA_UPN_PREFIX, CA_UPN_PREFIX_LEN);
	memcpy(text + CA_UPN_PREFIX_LEN, q, n);
	text[CA_UPN_PREFIX_LEN + n] = '\0';
	return name_from_text(text, CA_NAME_UPN, out, err);
}

/*
 * The names of the subjectAltName extension value SAN (RFC 5280 4.2.1.6):
 * GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName. dNSName,
 * rfc822Name, iPAddress and a UPN otherName (extract_upn) are
 * canonicalised and deduplicated into LIST; any other kind of name is
 * refused, since we would either drop it (and
 * the requester would get less than asked) or certify what we cannot
 * check.
 */
static int
extract_sans(const unsigned char *san, size_t san_len, struct ca_name *list,
	     size_t *count, struct mica_err *err)
{
	unsigned char *p = (unsigned char *)san;
	const unsigned char *end = san + san_len;
	char text[NAME_TEXT_MAX + 1];
	struct ca_name n;
	size_t len;
	int tag, af;

	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0 ||
	    p + len != end || len == 0)
		return bad_csr(err, "bad subjectAltName");
	while (p < end) {
		const unsigned char *v;

		tag = *p++;
		if (mbedtls_asn1_get_len(&p, end, &len) != 0 ||
		    (tag & 0xc0) != MBEDTLS_ASN1_CONTEXT_SPECIFIC)
			return bad_csr(err, "bad subjectAltName entry");
		v = p;
		p += len;
		switch (tag) {
		case MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME:
		case MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_RFC822_NAME:
			/* IA5String contents: refuse NULs (the classic
			 * "good.test\0.evil.test" trick) and overlong text
			 * before making a C string of it. */
			if (len == 0 || len > NAME_TEXT_MAX ||
			    memchr(v, '\0', len) != NULL)
				return mica_err_set(err, MICA_E_POLICY,
						    "bad_name",
						    "the CSR has an empty, "
						    "overlong or NUL-bearing "
						    "name");
			memcpy(text, v, len);
			text[len] = '\0';
			if (name_from_text(text, (tag & 0x1f) ==
					   MBEDTLS_X509_SAN_DNS_NAME ?
					   CA_NAME_DNS : CA_NAME_EMAIL, &n,
					   err) != 0)
				return -1;
			break;
		case MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS:
			/* 4 octets for IPv4, 16 for IPv6; 8 and 32 are the
			 * name-constraint forms, not addresses. */
			if (len == 4)
				af = AF_INET;
			else if (len == 16)
				af = AF_INET6;
			else
				return mica_err_set(err, MICA_E_POLICY,
						    "bad_name",
						    "the CSR has an IP address "
						    "of %zu octets", len);
			if (inet_ntop(af, v, text, sizeof(text)) == NULL)
				return mica_err_set(err, MICA_E_POLICY,
						    "bad_name",
						    "the CSR has a bad IP "
						    "address");
			if (name_from_text(text, CA_NAME_IP, &n, err) != 0)
				return -1;
			break;
		case MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED |
		     0:
			if (extract_upn(v, len, &n, err) != 0)
				return -1;
			break;
		default:
			return mica_err_set(err, MICA_E_POLICY,
					    "unsupported_name",
					    "the CSR asks for %s subject "
					    "alternative name; mica certifies "
					    "DNS names, IP addresses, email "
					    "addresses and UPNs only",
					    san_type_name(tag));
		}
		if (add_name(list, count, &n, err) != 0)
			return -1;
	}
	return 0;
}

/*
 * The emailAddress attributes (PKCS #9, 1.2.840.113549.1.9.1) of subject
 * DN as names, for a CSR with no subjectAltName whose CN is no name: what
 * "openssl req -subj '/CN=Jane Doe/emailAddress=jane@contoso.test'",
 * older S/MIME tools and some MDMs' SCEP payloads ask with. RFC 5280
 * 4.1.2.6 puts such an address in the subjectAltName of the certificate
 * (rfc822Name), which is where mica writes it. The value is an IA5String
 * (RFC 5280 Appendix A; UTF8String and PrintableString are taken when they
 * hold ASCII, as some tools write it so). One that is not a valid address
 * makes none of them names (never half a subject): *COUNT is left 0 and
 * WHY says so, said as the subject's, for the request that needs names to
 * report. The CSR itself stands: an admin's --name, sign-ca and a renewal
 * with a new key do not go by these names.
 */
static void
extract_subject_emails(const mbedtls_x509_name *dn, struct ca_name *list,
		       size_t *count, struct mica_err *why)
{
	char text[NAME_TEXT_MAX + 1];
	struct ca_name n;
	struct mica_err e;

	for (; dn != NULL; dn = dn->next) {
		if (dn->oid.p == NULL ||
		    MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS9_EMAIL, &dn->oid) != 0)
			continue;
		if (dn->val.tag != MBEDTLS_ASN1_IA5_STRING &&
		    dn->val.tag != MBEDTLS_ASN1_UTF8_STRING &&
		    dn->val.tag != MBEDTLS_ASN1_PRINTABLE_STRING) {
			/* PKCS#9 says IA5String; UTF8String and
			 * PrintableString are taken, as tools write them. */
			mica_err_set(why, MICA_E_POLICY, "bad_name",
				     "the CSR's subject has an emailAddress that "
				     "is not an IA5String (nor a UTF8String or "
				     "PrintableString)");
			goto refused;
		}
		if (dn->val.len == 0 || dn->val.len > NAME_TEXT_MAX ||
		    memchr(dn->val.p, '\0', dn->val.len) != NULL) {
			mica_err_set(why, MICA_E_POLICY, "bad_name",
				     "the CSR's subject has an empty, overlong or "
				     "NUL-bearing emailAddress");
			goto refused;
		}
		memcpy(text, dn->val.p, dn->val.len);
		text[dn->val.len] = '\0';
		mica_err_clear(&e);
		if (name_from_text(text, CA_NAME_EMAIL, &n, &e) != 0) {
			mica_err_set(why, MICA_E_POLICY, "bad_name",
				     "the CSR's subject has an emailAddress that "
				     "is no valid e-mail address (%s)", e.msg);
			goto refused;
		}
		if (add_name(list, count, &n, why) != 0)
			goto refused;
	}
	return;
refused:
	memset(list, 0, *count * sizeof(*list));
	*count = 0;
}

int
ca_csr_parse(const unsigned char *der, size_t der_len, struct ca_csr *out,
	     struct mica_err *err)
{
	mbedtls_pk_context pk;
	mbedtls_x509_name *subject = NULL;
	unsigned char merged[DN_ATTR_MAX] = { 0 };
	struct outer o;
	const struct sigalg *alg = NULL;
	const unsigned char *san = NULL;
	size_t san_len = 0;
	struct ca_csr c;
	struct challenge_ref ch;
	struct ca_name *names = NULL;
	struct ca_name n;
	unsigned char *spki_buf = NULL, *p;
	mbedtls_pk_type_t pktype;
	int ret, rc = -1;

	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	mbedtls_pk_init(&pk);
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (out == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "internal",
			     "ca_csr_parse: no output");
		goto out;
	}
	if (der == NULL || der_len == 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_csr", "the CSR is empty");
		goto out;
	}
	if (der_len > CA_CSR_MAX) {
		mica_err_set(err, MICA_E_TOOLARGE, "too_large",
			     "the CSR is larger than %d bytes", CA_CSR_MAX);
		goto out;
	}
	if (looks_like_private_key(der, der_len)) {
		mica_err_set(err, MICA_E_BADREQ, "private_key_not_csr", "%s",
			     MSG_PRIVATE_KEY);
		goto out;
	}
#if defined(MBEDTLS_USE_PSA_CRYPTO)
	/* With USE_PSA, mbedTLS parses keys and verifies through PSA, which
	 * must be initialised (idempotent, thread-safe since 3.6). The
	 * stock 3.6 configuration does not set it. */
	if (psa_crypto_init() != PSA_SUCCESS) {
		mica_err_set(err, MICA_E_INTERNAL, "crypto_init_failed",
			     "the crypto library could not start");
		goto out;
	}
#endif

	/* Structure first, then what we refuse by name, then the key. */
	if (parse_outer(der, der_len, &o, err) != 0 ||
	    check_key_alg(&o, err) != 0 ||
	    check_sig_alg(&o, &alg, err) != 0 ||
	    walk_attributes(&o, &san, &san_len, &ch, err) != 0)
		goto out;

	p = (unsigned char *)o.spki;
	if (mbedtls_pk_parse_subpubkey(&p, o.spki + o.spki_len, &pk) != 0 ||
	    p != o.spki + o.spki_len) {
		bad_csr(err, "the public key could not be decoded");
		goto out;
	}
	pktype = mbedtls_pk_get_type(&pk);
	if (pktype == MBEDTLS_PK_RSA && (alg->pk == MBEDTLS_PK_RSA ||
					  alg->pk == MBEDTLS_PK_RSASSA_PSS)) {
		c.key_kind = CA_PUBKEY_RSA;
		if (check_rsa(&pk, &c.key_bits, err) != 0)
			goto out;
	} else if (pktype == MBEDTLS_PK_ECKEY && alg->pk == MBEDTLS_PK_ECDSA) {
		if (check_ec(&pk, &c.key_kind, &c.key_bits, err) != 0)
			goto out;
	} else if (pktype == MBEDTLS_PK_RSA || pktype == MBEDTLS_PK_ECKEY) {
		mica_err_set(err, MICA_E_BADREQ, "bad_signature",
			     "the CSR's signature algorithm does not match its "
			     "key");
		goto out;
	} else {
		mica_err_set(err, MICA_E_POLICY, "unsupported_key",
			     "this key type is not supported: use RSA "
			     "(2048-4096 bits) or EC P-256/P-384");
		goto out;
	}
	/* Proof of possession: nothing below looks at a request whose
	 * signature does not verify under its own key. */
	if (verify_sig(&pk, &o, alg, err) != 0)
		goto out;
	/* The challengePassword, now known to be signed by the key. Only a
	 * string of printable ASCII can be a mica nonce or token; any other
	 * value is kept as present but empty, which matches nothing. A
	 * BMPString (a DirectoryString may be one, RFC 2985 5.4.1) holds
	 * it as UCS-2: each character 0x00 and the ASCII octet. */
	if (ch.p != NULL) {
		int bmp = ch.tag == MBEDTLS_ASN1_BMP_STRING;
		size_t step = bmp ? 2 : 1, cl = 0;
		int printable = ch.tag == MBEDTLS_ASN1_UTF8_STRING ||
				ch.tag == MBEDTLS_ASN1_PRINTABLE_STRING ||
				ch.tag == MBEDTLS_ASN1_IA5_STRING ||
				(bmp && ch.len % 2 == 0);

		for (size_t i = 0; printable && i < ch.len; i += step) {
			unsigned char v = ch.p[i + step - 1];

			printable = (!bmp || ch.p[i] == 0) && v >= 0x20 &&
				    v < 0x7f;
			if (printable) {
				assert(cl + 1 < sizeof(c.challenge));
				c.challenge[cl++] = (char)v;
			}
		}
		c.has_challenge = 1;
		if (!printable)
			cl = 0;
		memset(c.challenge + cl, 0, sizeof(c.challenge) - cl);
	}

	/* SubjectPublicKeyInfo as we will put it in the certificate:
	 * re-encoded by mbedTLS (compressed EC points come out
	 * uncompressed, RFC 5480 2.2). Written at the end of the buffer. */
	spki_buf = malloc(SPKI_BUF);
	if (spki_buf == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "internal", "out of memory");
		goto out;
	}
	ret = mbedtls_pk_write_pubkey_der(&pk, spki_buf, SPKI_BUF);
	if (ret <= 0) {
		bad_csr(err, "the public key cannot be re-encoded");
		goto out;
	}
	c.spki_len = (size_t)ret;
	c.spki = malloc(c.spki_len);
	if (c.spki == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "internal", "out of memory");
		goto out;
	}
	memcpy(c.spki, spki_buf + SPKI_BUF - c.spki_len, c.spki_len);
	if (mbedtls_sha256(c.spki, c.spki_len, c.spki_sha256, 0) != 0) {
		mica_err_set(err, MICA_E_INTERNAL, "internal", "hash failed");
		goto out;
	}

	if (parse_name(&o, &subject, merged, err) != 0 ||
	    extract_subject(subject, merged, &c.subject, err) != 0 ||
	    extract_cn(subject, &c.cn, err) != 0)
		goto out;

	names = calloc(CA_NAMES_MAX, sizeof(*names));
	if (names == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "internal", "out of memory");
		goto out;
	}
	if (san != NULL) {
		if (extract_sans(san, san_len, names, &c.nnames, err) != 0)
			goto out;
	} else if (c.cn != NULL && ca_name_parse(c.cn, 0, &n, NULL) == 0 &&
		   n.kind != CA_NAME_UPN) {
		/* No SAN: a CN that is itself a valid name stands in for
		 * one (what certreq and older tools produce). A CN like
		 * "Jane Doe" is just a label: no names, and the policy
		 * will say so. A CN "upn:..." is no name either: a UPN is
		 * asked for in the subjectAltName, as Windows asks. */
		names[0] = n;
		c.nnames = 1;
	} else {
		/* No SAN and no CN that names anything: the subject's
		 * emailAddress, if any, is the certificate's name. */
		extract_subject_emails(subject, names, &c.nnames,
				       &c.names_err);
	}
	if (c.nnames > 0) {
		c.names = calloc(c.nnames, sizeof(*c.names));
		if (c.names == NULL) {
			mica_err_set(err, MICA_E_INTERNAL, "internal",
				     "out of memory");
			goto out;
		}
		memcpy(c.names, names, c.nnames * sizeof(*c.names));
	}

	c.der = malloc(der_len);
	if (c.der == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "internal", "out of memory");
		goto out;
	}
	memcpy(c.der, der, der_len);
	c.der_len = der_len;

	*out = c;
	memset(&c, 0, sizeof(c));
	rc = 0;
out:
	ca_csr_free(&c);
	free(names);
	free(spki_buf);
	free_name(subject);
	mbedtls_pk_free(&pk);
	return rc;
}

int
ca_csr_load(const unsigned char *in, size_t len, struct ca_csr *out,
	    struct mica_err *err)
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (ca_csr_decode(in, len, &der, &der_len, err) != 0)
		return -1;
	rc = ca_csr_parse(der, der_len, out, err);
	free(der);
	return rc;
}

void
ca_csr_free(struct ca_csr *c)
{
	if (c == NULL)
		return;
	free(c->der);
	free(c->subject);
	free(c->cn);
	free(c->names);
	free(c->spki);
	mbedtls_platform_zeroize(c->challenge, sizeof(c->challenge));
	memset(c, 0, sizeof(*c));
}

/* The key of a stored request, as named to an admin (csr.h). */
int
ca_csr_key_text(const unsigned char *der, size_t der_len, char *buf,
		size_t size)
{
	mbedtls_pk_context pk;
	struct outer o;
	unsigned char *p;
	int rc = -1;

	if (size > 0)
		buf[0] = '\0';
	if (der == NULL || der_len == 0 || size == 0)
		return -1;
	mbedtls_pk_init(&pk);
	memset(&o, 0, sizeof(o));
	if (parse_outer(der, der_len, &o, NULL) != 0)
		goto out;
	p = (unsigned char *)o.spki;
	if (mbedtls_pk_parse_subpubkey(&p, o.spki + o.spki_len, &pk) != 0 ||
	    p != o.spki + o.spki_len)
		goto out;
	if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA) {
		snprintf(buf, size, "RSA %zu", mbedtls_pk_get_bitlen(&pk));
		rc = 0;
	} else if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY &&
		   mbedtls_pk_ec(pk) != NULL) {
		mbedtls_ecp_group_id gid =
			mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(pk));

		if (gid == MBEDTLS_ECP_DP_SECP256R1 || gid == MBEDTLS_ECP_DP_SECP384R1) {
			snprintf(buf, size, "EC P-%d",
				 gid == MBEDTLS_ECP_DP_SECP256R1 ? 256 : 384);
			rc = 0;
		}
	}
out:
	mbedtls_pk_free(&pk);
	return rc;
}

/*
 * tests/test_ocsp.c - OCSP (ca/ocsp.h, ca/ocsp.c): the request reader on
 * good and hostile requests, the ResponseData writer against the signer's
 * own strict reader, the checks the signer makes before it certifies the
 * OCSP key or signs a response, and the responder end to end on an
 * in-process CA: good, revoked with time and reason, unknown, another
 * issuer, garbage, pre-signed answers and their invalidation by a
 * revocation. Signatures are verified with mbedTLS (ca_sig_verify), the
 * responder certificate against the CA's key.
 */
#include <CUnit/Basic.h>
#include <mbedtls/base64.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca.h"
#include "ca/ca_int.h"
#include "ca/cacert.h"
#include "ca/der.h"
#include "ca/keys.h"
#include "ca/ocsp.h"
#include "ca/profile.h"
#include "ca/signcheck.h"
#include "ca/x509.h"
#include "util/err.h"
#include "util/fault.h"
#include "util/log.h"
#include "web/api.h"
#include "web/routes.h"

#define PASSPHRASE "ocsp test passphrase: correct horse battery staple"

static char g_tmp[64];
static char g_cadir[PATH_MAX];
static struct ca *g_ca;

/* A made-up issuer for the DER tests. */
static struct ca_ocsp_issuer g_is;
static const unsigned char g_serial[] = { 0x4a, 0x11, 0x22, 0x33 };

/* ------------------------------------------------------------------ */
/* Building requests                                                   */
/* ------------------------------------------------------------------ */

struct buf {
	unsigned char b[80000];
	size_t n;
};

static void
put(struct buf *o, const void *p, size_t n)
{
	CU_ASSERT_FATAL(o->n + n <= sizeof(o->b));
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

/* TAG, a DER length, then the contents C[0..N). */
static void
tlv(struct buf *o, unsigned tag, const void *c, size_t n)
{
	unsigned char h[6];
	size_t k = 0;

	h[k++] = (unsigned char)tag;
	if (n < 0x80) {
		h[k++] = (unsigned char)n;
	} else if (n < 0x100) {
		h[k++] = 0x81;
		h[k++] = (unsigned char)n;
	} else if (n < 0x10000) {
		h[k++] = 0x82;
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	} else {
		h[k++] = 0x83;
		h[k++] = (unsigned char)(n >> 16);
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	}
	put(o, h, k);
	put(o, c, n);
}

static void
wrap(struct buf *o, unsigned tag)
{
	static struct buf t;

	t = *o;
	o->n = 0;
	tlv(o, tag, t.b, t.n);
}

/* What a request holds; the builder writes it. */
struct reqspec {
	int nids;                 /* CertIDs (each the same) */
	int hash;                 /* enum ca_ocsp_hash */
	const unsigned char *certid;   /* raw CertID to use, else built */
	size_t certid_len;
	int nonce_len;            /* -1: none */
	int two_nonces;
	int version;              /* -1: absent */
	int requestor;            /* a requestorName */
	int signature;            /* an optionalSignature: 1 without its
				   * certs, 2 with a certificate */
	const unsigned char *sig_raw;  /* else these contents of [0] */
	size_t sig_raw_len;
	int ext_crit;             /* an unknown critical request extension */
	int ext_other;            /* an unknown non-critical one */
	int ext_false;            /* the unknown non-critical one with its
				   * critical FALSE written out */
	int nonce_false;          /* the nonce with critical FALSE written */
	int single_ext;           /* a non-critical singleRequestExtension:
				   * 1 as DER has it, 2 critical FALSE
				   * written out */
};

static const unsigned char OID_NONCE[] = {
	0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02,
};

/* critical BOOLEAN DEFAULT FALSE (RFC 5280 4.1) written out, which DER
 * forbids (X.690 11.5). */
static const unsigned char CRIT_FALSE[] = { 0x01, 0x01, 0x00 };

static void
nonce_ext(struct buf *exts, int len, int crit_false)
{
	struct buf e = { .n = 0 }, v = { .n = 0 };
	unsigned char nonce[CA_OCSP_NONCE_MAX + 1];

	memset(nonce, 0x5a, sizeof(nonce));
	tlv(&v, 0x04, nonce, (size_t)len);
	put(&e, OID_NONCE, sizeof(OID_NONCE));
	if (crit_false)
		put(&e, CRIT_FALSE, sizeof(CRIT_FALSE));
	tlv(&e, 0x04, v.b, v.n);
	tlv(exts, 0x30, e.b, e.n);
}

/* RFC 6960 4.1.1: Signature ::= SEQUENCE { signatureAlgorithm
 * AlgorithmIdentifier, signature BIT STRING, certs [0] EXPLICIT SEQUENCE
 * OF Certificate OPTIONAL }, as 'openssl ocsp -signer' writes it:
 * ecdsa-with-SHA256 (no parameters), a made-up signature, and with
 * CERTS one certificate, of a Certificate's shape (SEQUENCE { tbs,
 * sha256WithRSAEncryption with its NULL, BIT STRING }). */
static const unsigned char ALG_ECDSA256[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
};
static const unsigned char ALG_RSA256[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
	0x0b, 0x05, 0x00,
};
static const unsigned char SIG_BITS[] = { 0x03, 0x03, 0x00, 0x5a, 0xa5 };

static void
a_certificate(struct buf *o)
{
	struct buf c = { .n = 0 };
	unsigned char tbs[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };

	put(&c, tbs, sizeof(tbs));
	put(&c, ALG_RSA256, sizeof(ALG_RSA256));
	put(&c, SIG_BITS, sizeof(SIG_BITS));
	tlv(o, 0x30, c.b, c.n);
}

static void
signature(struct buf *o, int certs)
{
	struct buf s = { .n = 0 };

	put(&s, ALG_ECDSA256, sizeof(ALG_ECDSA256));
	put(&s, SIG_BITS, sizeof(SIG_BITS));
	if (certs) {
		struct buf l = { .n = 0 };

		a_certificate(&l);
		wrap(&l, 0x30);
		tlv(&s, 0xa0, l.b, l.n);
	}
	tlv(o, 0x30, s.b, s.n);
}

static void
build_req(const struct reqspec *s, struct buf *out)
{
	static struct buf list, tbs, exts, one;
	unsigned char certid[CA_OCSP_CERTID_MAX];
	const unsigned char *cid = s->certid;
	size_t cid_len = s->certid_len;
	struct mica_err err;

	if (cid == NULL) {
		CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(s->hash, &g_is,
			g_serial, sizeof(g_serial), certid, &cid_len, &err), 0);
		cid = certid;
	}
	list.n = tbs.n = exts.n = 0;
	for (int i = 0; i < s->nids; i++) {
		one.n = 0;
		put(&one, cid, cid_len);
		if (s->single_ext) {
			/* NSS's service locator (ocspclnt -L) has this shape:
			 * [0] { SEQUENCE { Extension } } */
			struct buf e = { .n = 0 };
			unsigned char oid[] = { 0x06, 0x03, 0x2a, 0x03, 0x05 };
			unsigned char v[] = { 0x05, 0x00 };

			put(&e, oid, sizeof(oid));
			if (s->single_ext == 2)
				put(&e, CRIT_FALSE, sizeof(CRIT_FALSE));
			tlv(&e, 0x04, v, sizeof(v));
			wrap(&e, 0x30);
			wrap(&e, 0x30);
			tlv(&one, 0xa0, e.b, e.n);
		}
		tlv(&list, 0x30, one.b, one.n);
	}
	if (s->version >= 0) {
		unsigned char v[3] = { 0x02, 0x01, (unsigned char)s->version };

		tlv(&tbs, 0xa0, v, 3);
	}
	if (s->requestor) {
		unsigned char gn[] = { 0x82, 0x03, 'a', '.', 'b' };

		tlv(&tbs, 0xa1, gn, sizeof(gn));
	}
	tlv(&tbs, 0x30, list.b, list.n);
	if (s->nonce_len >= 0)
		nonce_ext(&exts, s->nonce_len, s->nonce_false);
	if (s->two_nonces)
		nonce_ext(&exts, 8, 0);
	if (s->ext_crit || s->ext_other || s->ext_false) {
		struct buf e = { .n = 0 };
		unsigned char oid[] = { 0x06, 0x03, 0x2a, 0x03, 0x04 };
		unsigned char t[] = { 0x01, 0x01, 0xff };
		unsigned char v[] = { 0x05, 0x00 };

		put(&e, oid, sizeof(oid));
		if (s->ext_crit)
			put(&e, t, sizeof(t));
		else if (s->ext_false)
			put(&e, CRIT_FALSE, sizeof(CRIT_FALSE));
		tlv(&e, 0x04, v, sizeof(v));
		tlv(&exts, 0x30, e.b, e.n);
	}
	if (exts.n > 0) {
		wrap(&exts, 0x30);
		tlv(&tbs, 0xa2, exts.b, exts.n);
	}
	out->n = 0;
	tlv(out, 0x30, tbs.b, tbs.n);
	if (s->sig_raw != NULL) {
		tlv(out, 0xa0, s->sig_raw, s->sig_raw_len);
	} else if (s->signature) {
		struct buf sig = { .n = 0 };

		signature(&sig, s->signature == 2);
		tlv(out, 0xa0, sig.b, sig.n);
	}
	wrap(out, 0x30);
}

static struct reqspec
spec(void)
{
	struct reqspec s;

	memset(&s, 0, sizeof(s));
	s.nids = 1;
	s.hash = CA_OCSP_SHA1;
	s.nonce_len = -1;
	s.version = -1;
	return s;
}

/* ------------------------------------------------------------------ */
/* The request reader                                                  */
/* ------------------------------------------------------------------ */

static void
test_reader_accepts_what_clients_send(void)
{
	static struct buf b;
	struct ca_ocsp_req r;
	struct mica_err err;
	struct reqspec s = spec();

	build_req(&s, &b);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_req_parse(b.b, b.n, &r, &err), 0);
	CU_ASSERT_EQUAL(r.nids, 1);
	CU_ASSERT_EQUAL(r.ids[0].hash, CA_OCSP_SHA1);
	CU_ASSERT_PTR_NULL(r.nonce);
	CU_ASSERT_EQUAL(r.ids[0].serial_len, sizeof(g_serial));
	CU_ASSERT(memcmp(r.ids[0].serial, g_serial, sizeof(g_serial)) == 0);
	CU_ASSERT(ca_ocsp_certid_is(&r.ids[0], &g_is));

	s = spec();
	s.hash = CA_OCSP_SHA256;
	s.nonce_len = 32;
	s.nids = CA_OCSP_IDS_MAX;
	s.requestor = 1;
	s.signature = 1;
	s.ext_other = 1;
	s.single_ext = 1;
	build_req(&s, &b);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_req_parse(b.b, b.n, &r, &err), 0);
	CU_ASSERT_EQUAL(r.nids, CA_OCSP_IDS_MAX);
	CU_ASSERT_EQUAL(r.ids[3].hash, CA_OCSP_SHA256);
	CU_ASSERT(ca_ocsp_certid_is(&r.ids[3], &g_is));
	CU_ASSERT_EQUAL(r.nonce_len, 32);
	CU_ASSERT(r.nonce != NULL && r.nonce[0] == 0x5a);

	/* Signed with the signer's certificate in it ('openssl ocsp
	 * -signer'): answered as unsigned (the signature is not checked). */
	s = spec();
	s.signature = 2;
	s.nonce_len = 16;
	build_req(&s, &b);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_req_parse(b.b, b.n, &r, &err), 0);
	CU_ASSERT_EQUAL(r.nids, 1);
	CU_ASSERT(ca_ocsp_certid_is(&r.ids[0], &g_is));
	CU_ASSERT_EQUAL(r.nonce_len, 16);

	/* SHA-384 and SHA-512 CertIDs ('openssl ocsp -sha384'), with the
	 * hashes of their own length, naming the issuer by those hashes
	 * only: the same octets under another algorithm name no one. */
	{
		static const int hashes[] = { CA_OCSP_SHA384, CA_OCSP_SHA512 };
		static const size_t lens[] = { 48, 64 };

		for (size_t i = 0; i < 2; i++) {
			struct ca_ocsp_certid id;

			s = spec();
			s.hash = hashes[i];
			s.nids = 2;
			build_req(&s, &b);
			CU_ASSERT_EQUAL_FATAL(ca_ocsp_req_parse(b.b, b.n, &r,
								&err), 0);
			CU_ASSERT_EQUAL(r.nids, 2);
			CU_ASSERT_EQUAL(r.ids[1].hash, hashes[i]);
			CU_ASSERT_EQUAL(r.ids[1].hash_len, lens[i]);
			CU_ASSERT_EQUAL(ca_ocsp_hash_len(hashes[i]), lens[i]);
			CU_ASSERT_EQUAL(r.ids[1].serial_len, sizeof(g_serial));
			CU_ASSERT(ca_ocsp_certid_is(&r.ids[1], &g_is));
			id = r.ids[1];
			id.hash = CA_OCSP_SHA1;
			CU_ASSERT(!ca_ocsp_certid_is(&id, &g_is));
			id = r.ids[1];
			id.hash = hashes[1 - i];
			CU_ASSERT(!ca_ocsp_certid_is(&id, &g_is));
		}
		CU_ASSERT_EQUAL(ca_ocsp_hash_len(0), 0);
		CU_ASSERT_EQUAL(ca_ocsp_hash_len(CA_OCSP_SHA512 + 1), 0);
	}

	/* RFC 9654 2.1: up to 128 octets (RFC 8954 said 32). */
	s = spec();
	s.nonce_len = CA_OCSP_NONCE_MAX;
	build_req(&s, &b);
	CU_ASSERT_EQUAL(ca_ocsp_req_parse(b.b, b.n, &r, &err), 0);
	CU_ASSERT_EQUAL(r.nonce_len, 128);

	s = spec();
	s.nonce_len = 1;
	build_req(&s, &b);
	CU_ASSERT_EQUAL(ca_ocsp_req_parse(b.b, b.n, &r, &err), 0);
	CU_ASSERT_EQUAL(r.nonce_len, 1);
}

/* CERTID[0..LEN) (a SHA-1 CertID with a 4-octet serial, as
 * ca_ocsp_certid_encode writes it for g_serial) with its serial replaced
 * by the element SER[0..SER_LEN), into *OUT. */
static void
certid_serial(const unsigned char *certid, size_t len,
	      const unsigned char *ser, size_t ser_len, struct buf *out)
{
	/* The CertID without its serial (6 octets with its header). */
	out->n = 0;
	put(out, certid, len - 6);
	put(out, ser, ser_len);
	out->b[1] = (unsigned char)(out->n - 2);
}

/* Serials no certificate of mica's has, as INTEGERs: zero, negative,
 * and longer than RFC 5280's 20 octets. */
static const unsigned char *const g_odd_serials[] = {
	(const unsigned char *)"\x02\x01\x00",
	(const unsigned char *)"\x02\x01\x80",
	(const unsigned char *)"\x02\x02\xff\x7f",
	(const unsigned char *)"\x02\x15\x01\x02\x03\x04\x05"
		"\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"
		"\x11\x12\x13\x14\x15",
	(const unsigned char *)"\x02\x16\x00\x81\x02\x03\x04\x05"
		"\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"
		"\x11\x12\x13\x14\x15",
};
static const size_t g_odd_lens[] = { 3, 3, 4, 23, 24 };
#define ODD_SERIALS (sizeof(g_odd_lens) / sizeof(g_odd_lens[0]))

/* A CertID's serial is any INTEGER (RFC 6960 4.1.1): one no certificate
 * can have is read, with serial_len 0, to be answered unknown. */
static void
test_reader_takes_any_integer_serial(void)
{
	static struct buf b, d;
	unsigned char certid[CA_OCSP_CERTID_MAX];
	size_t cid_len;
	struct ca_ocsp_req r;
	struct reqspec s;
	struct mica_err err;

	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &g_is,
		g_serial, sizeof(g_serial), certid, &cid_len, &err), 0);
	for (size_t i = 0; i < ODD_SERIALS; i++) {
		certid_serial(certid, cid_len, g_odd_serials[i],
			      g_odd_lens[i], &d);
		s = spec();
		s.certid = d.b;
		s.certid_len = d.n;
		build_req(&s, &b);
		mica_err_clear(&err);
		CU_ASSERT_EQUAL_FATAL(ca_ocsp_req_parse(b.b, b.n, &r, &err), 0);
		CU_ASSERT_EQUAL(r.nids, 1);
		CU_ASSERT_EQUAL(r.ids[0].serial_len, 0);
		CU_ASSERT(ca_ocsp_certid_is(&r.ids[0], &g_is));
		/* The CertID to echo is the one sent. */
		CU_ASSERT_EQUAL(r.ids[0].raw_len, d.n);
		CU_ASSERT(memcmp(r.ids[0].raw, d.b, d.n) == 0);
	}
	/* 20 octets with the sign octet before them: a serial mica may
	 * have issued. */
	{
		unsigned char ser[23] = { 0x02, 0x15, 0x00, 0x81 };

		certid_serial(certid, cid_len, ser, sizeof(ser), &d);
		s = spec();
		s.certid = d.b;
		s.certid_len = d.n;
		build_req(&s, &b);
		CU_ASSERT_EQUAL_FATAL(ca_ocsp_req_parse(b.b, b.n, &r, &err), 0);
		CU_ASSERT_EQUAL(r.ids[0].serial_len, 20);
		CU_ASSERT_EQUAL(r.ids[0].serial[0], 0x81);
	}
}

static void
refused(const unsigned char *p, size_t n, const char *what)
{
	struct ca_ocsp_req r;
	struct mica_err err;

	mica_err_clear(&err);
	if (ca_ocsp_req_parse(p, n, &r, &err) != -1)
		fprintf(stderr, "\n  accepted: %s\n", what);
	else
		CU_ASSERT_STRING_EQUAL(err.code, "malformed_ocsp");
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	CU_ASSERT_EQUAL(r.nids, 0);
}

static void
test_reader_refuses_hostile_requests(void)
{
	static struct buf b, c;
	struct reqspec s;
	unsigned char certid[CA_OCSP_CERTID_MAX];
	size_t cid_len, i;
	struct mica_err err;

	refused(NULL, 0, "nothing");
	refused((const unsigned char *)"\x30\x00", 2, "an empty SEQUENCE");
	refused((const unsigned char *)"GET / HTTP/1.0\r\n", 16, "text");

	s = spec();
	build_req(&s, &b);
	for (i = 1; i < b.n; i++)   /* every truncation */
		refused(b.b, i, "truncated");
	c = b;
	c.b[c.n++] = 0;
	refused(c.b, c.n, "trailing octet");
	c = b;
	c.b[1] = 0x80;   /* indefinite length (BER) */
	refused(c.b, c.n, "indefinite length");
	c.n = 0;
	put(&c, "\x30\x81", 2);   /* a non-minimal length */
	c.b[c.n++] = (unsigned char)(b.n - 2);
	put(&c, b.b + 2, b.n - 2);
	refused(c.b, c.n, "non-minimal length");

	s = spec();
	s.version = 1;   /* v2 does not exist */
	build_req(&s, &b);
	refused(b.b, b.n, "version 2");
	s.version = 255;
	build_req(&s, &b);
	refused(b.b, b.n, "version 256");

	/* X.690 11.5: DER leaves a value equal to its DEFAULT out. No client
	 * writes these (OpenSSL, GnuTLS, NSS, Java, pyca checked: README),
	 * so they are not DER, and malformed: version [0] EXPLICIT Version
	 * DEFAULT v1 holding v1, and critical BOOLEAN DEFAULT FALSE holding
	 * FALSE, on a nonce, another request extension or a
	 * singleRequestExtension. */
	s = spec();
	s.version = 0;
	build_req(&s, &b);
	refused(b.b, b.n, "version v1 written out");
	s = spec();
	s.nonce_len = 16;
	s.nonce_false = 1;
	build_req(&s, &b);
	refused(b.b, b.n, "the nonce's critical FALSE written out");
	s = spec();
	s.ext_false = 1;
	build_req(&s, &b);
	refused(b.b, b.n, "an extension's critical FALSE written out");
	s = spec();
	s.single_ext = 2;
	build_req(&s, &b);
	refused(b.b, b.n, "a singleRequestExtension's critical FALSE written out");

	/* An unknown hash algorithm: MD5's OID where SHA-1's is. */
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &g_is,
		g_serial, sizeof(g_serial), certid, &cid_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(certid[4], 0x06);   /* SEQ SEQ OID */
	certid[10] = 0x1b;                        /* 1.3.14.3.2.27 */
	s = spec();
	s.certid = certid;
	s.certid_len = cid_len;
	build_req(&s, &b);
	refused(b.b, b.n, "unknown hash algorithm");

	/* The SHA-2 OIDs mica does not take: id-sha224 (...2.4) and
	 * id-sha3-256 (...2.8), in place of id-sha512's last arc. Also a
	 * SHA-384 CertID with SHA-512-long hashes and the reverse. */
	{
		static const unsigned char arcs[] = { 0x04, 0x08 };
		unsigned char c512[CA_OCSP_CERTID_MAX];
		size_t c512_len;
		struct ca_ocsp_req r;

		CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA512,
			&g_is, g_serial, sizeof(g_serial), c512, &c512_len,
			&err), 0);
		/* SEQ(len 0x81 n) SEQ OID(9): its last arc at 3+2+2+8 */
		CU_ASSERT_EQUAL_FATAL(c512[3 + 2 + 2 + 8], 0x03);
		for (i = 0; i < sizeof(arcs); i++) {
			c512[3 + 2 + 2 + 8] = arcs[i];
			s = spec();
			s.certid = c512;
			s.certid_len = c512_len;
			build_req(&s, &b);
			refused(b.b, b.n, "SHA-224 or SHA3-256");
		}
		c512[3 + 2 + 2 + 8] = 0x02;   /* id-sha384, 64-octet hashes */
		build_req(&s, &b);
		refused(b.b, b.n, "SHA-384 with SHA-512's length");
		c512[3 + 2 + 2 + 8] = 0x03;
		build_req(&s, &b);
		CU_ASSERT_EQUAL(ca_ocsp_req_parse(b.b, b.n, &r, &err), 0);

		CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA384,
			&g_is, g_serial, sizeof(g_serial), c512, &c512_len,
			&err), 0);
		CU_ASSERT_EQUAL_FATAL(c512[2 + 2 + 2 + 8], 0x02);
		c512[2 + 2 + 2 + 8] = 0x03;   /* id-sha512, 48-octet hashes */
		s = spec();
		s.certid = c512;
		s.certid_len = c512_len;
		build_req(&s, &b);
		refused(b.b, b.n, "SHA-512 with SHA-384's length");
		/* No CertID of a hash mica does not know is written. */
		CU_ASSERT_EQUAL(ca_ocsp_certid_encode(CA_OCSP_SHA512 + 1,
			&g_is, g_serial, sizeof(g_serial), c512, &c512_len,
			&err), -1);
	}

	/* A SHA-1 CertID with a 21-octet issuerNameHash. */
	c.n = 0;
	{
		unsigned char h[21], k[20], ser[] = { 0x02, 0x01, 0x05 };
		unsigned char alg[] = { 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03,
					0x02, 0x1a, 0x05, 0x00 };

		memset(h, 1, sizeof(h));
		memset(k, 2, sizeof(k));
		put(&c, alg, sizeof(alg));
		tlv(&c, 0x04, h, sizeof(h));
		tlv(&c, 0x04, k, sizeof(k));
		put(&c, ser, sizeof(ser));
		wrap(&c, 0x30);
	}
	s = spec();
	s.certid = c.b;
	s.certid_len = c.n;
	build_req(&s, &b);
	refused(b.b, b.n, "hash of the wrong length");

	/* A serial that is no INTEGER in DER: not minimally encoded, or
	 * with no contents. (Zero, negative and 21 octets are INTEGERs:
	 * test_reader_takes_any_integer_serial.) */
	{
		static const unsigned char *const sers[] = {
			(const unsigned char *)"\x02\x02\x00\x05",
			(const unsigned char *)"\x02\x02\xff\x85",
			(const unsigned char *)"\x02\x00",
			(const unsigned char *)"\x04\x01\x05",
		};
		static const size_t lens[] = { 4, 4, 2, 3 };

		certid[10] = 0x1a;   /* SHA-1 again */
		for (i = 0; i < 4; i++) {
			static struct buf d;

			certid_serial(certid, cid_len, sers[i], lens[i], &d);
			s = spec();
			s.certid = d.b;
			s.certid_len = d.n;
			build_req(&s, &b);
			refused(b.b, b.n, "bad serial");
		}
	}

	s = spec();
	s.nids = CA_OCSP_IDS_MAX + 1;
	build_req(&s, &b);
	refused(b.b, b.n, "one CertID too many");
	s.nids = 1000;
	build_req(&s, &b);
	CU_ASSERT(b.n > CA_OCSP_REQ_MAX);
	refused(b.b, b.n, "a thousand CertIDs");
	s.nids = 0;
	build_req(&s, &b);
	refused(b.b, b.n, "no CertID");

	s = spec();
	s.nonce_len = 0;
	build_req(&s, &b);
	refused(b.b, b.n, "empty nonce");
	s.nonce_len = CA_OCSP_NONCE_MAX + 1;
	build_req(&s, &b);
	refused(b.b, b.n, "129-octet nonce (RFC 9654)");
	s.nonce_len = 8;
	s.two_nonces = 1;
	build_req(&s, &b);
	refused(b.b, b.n, "two nonces");

	s = spec();
	s.ext_crit = 1;
	build_req(&s, &b);
	refused(b.b, b.n, "unknown critical extension");
}

/* The optionalSignature [0] is not checked, but it must be a Signature
 * (RFC 6960 4.1.1): anything else in it is a malformed request, as
 * docs/API.md says, not a request answered. */
static void
test_reader_refuses_a_malformed_signature(void)
{
	static struct buf b, sig, c, l, junk;
	struct ca_ocsp_req r;
	struct mica_err err;
	struct reqspec s;
	size_t i;

	/* Each: the contents of the Signature SEQUENCE, or with SEQ 0 the
	 * contents of [0] itself. */
	static const struct {
		const char *what;
		int seq;
		const char *v;
		size_t n;
	} bad[] = {
		{ "an empty [0]", 0, "", 0 },
		{ "an OCTET STRING, not a Signature", 0, "\x04\x01\x00", 3 },
		{ "a NULL, not a Signature", 0, "\x05\x00", 2 },
		{ "an empty Signature", 1, "", 0 },
		{ "no BIT STRING", 1, "\x30\x0a\x06\x08\x2a\x86\x48\xce"
		  "\x3d\x04\x03\x02", 12 },
		{ "no AlgorithmIdentifier", 1, "\x03\x03\x00\x5a\xa5", 5 },
		{ "an OCTET STRING for the BIT STRING", 1,
		  "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"
		  "\x04\x02\x5a\xa5", 16 },
		{ "an AlgorithmIdentifier without its OID", 1,
		  "\x30\x03\x02\x01\x01\x03\x03\x00\x5a\xa5", 10 },
		{ "an empty AlgorithmIdentifier", 1,
		  "\x30\x00\x03\x03\x00\x5a\xa5", 7 },
		{ "an AlgorithmIdentifier with two parameters", 1,
		  "\x30\x0b\x06\x05\x2b\x0e\x03\x02\x1d\x05\x00\x05\x00"
		  "\x03\x03\x00\x5a\xa5", 18 },
		{ "a BIT STRING with no octets", 1,
		  "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"
		  "\x03\x00", 14 },
		{ "a BIT STRING with unused bits set", 1,
		  "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"
		  "\x03\x02\x01\x01", 16 },
		{ "trailing data after the BIT STRING", 1,
		  "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"
		  "\x03\x03\x00\x5a\xa5\x05\x00", 19 },
		{ "certs [1], not [0]", 1,
		  "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"
		  "\x03\x03\x00\x5a\xa5\xa1\x02\x30\x00", 21 },
		{ "certs [0] IMPLICIT, primitive", 1,
		  "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"
		  "\x03\x03\x00\x5a\xa5\x80\x02\x30\x00", 21 },
		{ "certs [0] holding a SET, not a SEQUENCE OF", 1,
		  "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"
		  "\x03\x03\x00\x5a\xa5\xa0\x02\x31\x00", 21 },
		{ "certs [0] empty", 1,
		  "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"
		  "\x03\x03\x00\x5a\xa5\xa0\x00", 19 },
		{ "a certificate that is an INTEGER", 1,
		  "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"
		  "\x03\x03\x00\x5a\xa5\xa0\x05\x30\x03\x02\x01\x01", 24 },
		{ "a certificate that is an empty SEQUENCE", 1,
		  "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"
		  "\x03\x03\x00\x5a\xa5\xa0\x04\x30\x02\x30\x00", 23 },
	};

	/* The well-formed one, as the reader's happy test takes it. */
	s = spec();
	s.signature = 2;
	build_req(&s, &b);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_req_parse(b.b, b.n, &r, &err), 0);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		junk.n = 0;
		if (bad[i].seq)
			tlv(&junk, 0x30, bad[i].v, bad[i].n);
		else
			put(&junk, bad[i].v, bad[i].n);
		s = spec();
		s.sig_raw = junk.b;
		s.sig_raw_len = junk.n;
		build_req(&s, &b);
		refused(b.b, b.n, bad[i].what);
	}

	/* A well-formed Signature with something after it in [0]. */
	sig.n = 0;
	signature(&sig, 0);
	put(&sig, "\x05\x00", 2);
	s = spec();
	s.sig_raw = sig.b;
	s.sig_raw_len = sig.n;
	build_req(&s, &b);
	refused(b.b, b.n, "trailing data after the Signature in [0]");

	/* Certificates: one, then one with a trailing element inside, one
	 * whose tbsCertificate is no SEQUENCE, and two Signatures. */
	sig.n = 0;
	signature(&sig, 1);
	s = spec();
	s.sig_raw = sig.b;
	s.sig_raw_len = sig.n;
	build_req(&s, &b);
	CU_ASSERT_EQUAL(ca_ocsp_req_parse(b.b, b.n, &r, &err), 0);

	c.n = 0;
	put(&c, "\x30\x03\x02\x01\x07", 5);
	put(&c, ALG_RSA256, sizeof(ALG_RSA256));
	put(&c, SIG_BITS, sizeof(SIG_BITS));
	put(&c, "\x05\x00", 2);
	wrap(&c, 0x30);
	for (int k = 0; k < 2; k++) {
		if (k == 1) {
			c.n = 0;
			put(&c, "\x02\x01\x07", 3);
			put(&c, ALG_RSA256, sizeof(ALG_RSA256));
			put(&c, SIG_BITS, sizeof(SIG_BITS));
			wrap(&c, 0x30);
		}
		l = c;
		wrap(&l, 0x30);
		wrap(&l, 0xa0);
		sig.n = 0;
		put(&sig, ALG_ECDSA256, sizeof(ALG_ECDSA256));
		put(&sig, SIG_BITS, sizeof(SIG_BITS));
		put(&sig, l.b, l.n);
		wrap(&sig, 0x30);
		s = spec();
		s.sig_raw = sig.b;
		s.sig_raw_len = sig.n;
		build_req(&s, &b);
		refused(b.b, b.n, k == 0 ? "trailing data in a certificate" :
			"a certificate whose tbsCertificate is no SEQUENCE");
	}

	sig.n = 0;
	signature(&sig, 0);
	signature(&sig, 0);
	s = spec();
	s.sig_raw = sig.b;
	s.sig_raw_len = sig.n;
	build_req(&s, &b);
	refused(b.b, b.n, "two Signatures in [0]");

	/* And every truncation of a signed request. */
	s = spec();
	s.signature = 2;
	build_req(&s, &b);
	for (i = 1; i < b.n; i++)
		refused(b.b, i, "a signed request truncated");
}

/* ------------------------------------------------------------------ */
/* ResponseData and what the OCSP key agrees to sign                   */
/* ------------------------------------------------------------------ */

static const unsigned char g_kh[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
static int64_t g_until;   /* the end of the CA's path for encode_check */

static int
encode_check(const struct ca_ocsp_tbs *t, int64_t now, const char *rule)
{
	unsigned char *tbs = NULL;
	size_t len = 0;
	struct mica_err err;
	int rc;

	CU_ASSERT_EQUAL_FATAL(ca_ocsp_tbs_encode(t, &tbs, &len, &err), 0);
	mica_err_clear(&err);
	rc = ca_ocsp_tbs_check(&g_is, g_kh, now, g_until, tbs, len, &err);
	if (rule != NULL) {
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
		if (strstr(err.msg, rule) == NULL)
			fprintf(stderr, "\n  refused as '%s', wanted '%s'\n",
				err.msg, rule);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, rule));
	} else {
		if (rc != 0)
			fprintf(stderr, "\n  refused: %s\n", err.msg);
		CU_ASSERT_EQUAL(rc, 0);
	}
	free(tbs);
	return rc;
}

static void
test_response_data_round_trips_through_the_signers_check(void)
{
	unsigned char cid[CA_OCSP_CERTID_MAX], cid256[CA_OCSP_CERTID_MAX];
	unsigned char other[CA_OCSP_CERTID_MAX], nonce[32];
	size_t cid_len, cid256_len, other_len;
	struct ca_ocsp_issuer is2;
	struct ca_ocsp_single s[3];
	struct ca_ocsp_tbs t;
	struct mica_err err;
	int64_t now = (int64_t)time(NULL);

	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &g_is,
		g_serial, sizeof(g_serial), cid, &cid_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA256, &g_is,
		g_serial, sizeof(g_serial), cid256, &cid256_len, &err), 0);
	memset(&is2, 0x33, sizeof(is2));
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &is2,
		g_serial, sizeof(g_serial), other, &other_len, &err), 0);
	memset(nonce, 7, sizeof(nonce));
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 3; i++) {
		s[i].certid = i == 1 ? cid256 : cid;
		s[i].certid_len = i == 1 ? cid256_len : cid_len;
		s[i].this_update = now;
		s[i].next_update = now + CA_OCSP_PERIOD;
		s[i].reason = -1;
	}
	s[0].status = CA_OCSP_GOOD;
	s[1].status = CA_OCSP_REVOKED;
	s[1].revoked_at = now - 100;
	s[1].reason = 1;
	s[2].status = CA_OCSP_UNKNOWN;
	memset(&t, 0, sizeof(t));
	memcpy(t.key_hash, g_kh, 20);
	t.produced_at = now;
	t.singles = s;
	t.nsingles = 3;
	t.nonce = nonce;
	t.nonce_len = 32;
	encode_check(&t, now, NULL);
	t.nonce = NULL;
	encode_check(&t, now, NULL);

	/* What the signer refuses. */
	encode_check(&t, now + 3 * 86400, "too far from now");
	memset(t.key_hash, 9, 20);
	encode_check(&t, now, "responderID is not the OCSP key");
	memcpy(t.key_hash, g_kh, 20);
	s[2].certid = other;
	s[2].certid_len = other_len;
	encode_check(&t, now, "another issuer");
	s[2].certid = cid;
	s[2].certid_len = cid_len;
	s[0].next_update = now + 30 * 86400;
	encode_check(&t, now, "nextUpdate not within the period");
	s[0].next_update = now + CA_OCSP_PERIOD;
	/* No answer outlives the CA's path. */
	g_until = now + CA_OCSP_PERIOD - 1;
	encode_check(&t, now, "nextUpdate after the end of the CA's path");
	g_until = now + CA_OCSP_PERIOD;
	encode_check(&t, now, NULL);
	g_until = 0;

	/* The writer refuses what no response may say. */
	s[1].reason = 7;
	CU_ASSERT_EQUAL(ca_ocsp_tbs_encode(&t, &(unsigned char *){ NULL },
					   &cid_len, &err), -1);
	s[1].reason = 1;
	/* An invalidity date after the revocation, on a hold, or on
	 * another status (RFC 5280 5.3.2 as ca/lint.c reads a CRL's). */
	s[1].invalid_at = s[1].revoked_at + 1;
	CU_ASSERT_EQUAL(ca_ocsp_tbs_encode(&t, &(unsigned char *){ NULL },
					   &cid_len, &err), -1);
	s[1].invalid_at = s[1].revoked_at - 10;
	s[1].reason = CA_REASON_HOLD;
	CU_ASSERT_EQUAL(ca_ocsp_tbs_encode(&t, &(unsigned char *){ NULL },
					   &cid_len, &err), -1);
	s[1].invalid_at = 0;
	s[1].reason = 1;
	s[0].invalid_at = now - 10;
	CU_ASSERT_EQUAL(ca_ocsp_tbs_encode(&t, &(unsigned char *){ NULL },
					   &cid_len, &err), -1);
	s[0].invalid_at = 0;
	t.nsingles = 0;
	CU_ASSERT_EQUAL(ca_ocsp_tbs_encode(&t, &(unsigned char *){ NULL },
					   &cid_len, &err), -1);
}

/* Encode T, let EDIT change the TBS in place, then the signer's check:
 * refused with RULE (or accepted: NULL). */
static void
edited_check(const struct ca_ocsp_tbs *t, int64_t now,
	     void (*edit)(unsigned char *, size_t), const char *rule)
{
	unsigned char *tbs = NULL;
	size_t len = 0;
	struct mica_err err;
	int rc;

	CU_ASSERT_EQUAL_FATAL(ca_ocsp_tbs_encode(t, &tbs, &len, &err), 0);
	edit(tbs, len);
	rc = ca_ocsp_tbs_check(&g_is, g_kh, now, 0, tbs, len, &err);
	if (rule == NULL) {
		if (rc != 0)
			fprintf(stderr, "\n  refused: %s\n", err.msg);
		CU_ASSERT_EQUAL(rc, 0);
	} else {
		CU_ASSERT_EQUAL(rc, -1);
		if (rc == -1 && strstr(err.msg, rule) == NULL)
			fprintf(stderr, "\n  refused as '%s', wanted '%s'\n",
				err.msg, rule);
		CU_ASSERT_PTR_NOT_NULL(rc == -1 ? strstr(err.msg, rule) : NULL);
	}
	free(tbs);
}

/* Where the invalidityDate extension starts in TBS (its head), or NULL. */
static unsigned char *
invalidity_at(unsigned char *tbs, size_t len)
{
	for (size_t i = 0; i + CA_DER_INVALIDITY_TLV <= len; i++)
		if (memcmp(tbs + i, CA_DER_INVALIDITY_HEAD,
			   CA_DER_INVALIDITY_HEAD_LEN) == 0)
			return tbs + i;
	return NULL;
}

static void edit_nothing(unsigned char *tbs, size_t len) { (void)tbs; (void)len; }
/* The date's year 2099: after the revocation. */
static void
edit_year(unsigned char *tbs, size_t len)
{
	unsigned char *x = invalidity_at(tbs, len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	memcpy(x + CA_DER_INVALIDITY_HEAD_LEN + 2, "2099", 4);
}
/* Another extension's OID (2.5.29.23, holdInstructionCode). */
static void
edit_oid(unsigned char *tbs, size_t len)
{
	unsigned char *x = invalidity_at(tbs, len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	x[6] = 0x17;
}
/* The revocation reason certificateHold (the ENUMERATED before it). */
static void
edit_hold(unsigned char *tbs, size_t len)
{
	for (size_t i = 0; i + 5 <= len; i++)
		if (tbs[i] == 0xa0 && tbs[i + 1] == 3 && tbs[i + 2] == 0x0a &&
		    tbs[i + 3] == 1 && tbs[i + 4] == 1) {
			tbs[i + 4] = CA_REASON_HOLD;
			return;
		}
	CU_FAIL("no revocationReason keyCompromise found");
}
/* The date a UTCTime (tag 0x17): the same length, another type. */
static void
edit_utc(unsigned char *tbs, size_t len)
{
	unsigned char *x = invalidity_at(tbs, len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	x[CA_DER_INVALIDITY_HEAD_LEN] = 0x17;
}

static void
test_response_data_carries_the_invalidity_date(void)
{
	unsigned char cid[CA_OCSP_CERTID_MAX], *tbs = NULL, *x;
	size_t cid_len, len = 0;
	struct ca_ocsp_single s;
	struct ca_ocsp_tbs t;
	struct mica_err err;
	int64_t now = (int64_t)time(NULL);
	char when[16];
	struct tm tm;
	time_t at = (time_t)(now - 7200);

	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &g_is,
		g_serial, sizeof(g_serial), cid, &cid_len, &err), 0);
	memset(&s, 0, sizeof(s));
	s.certid = cid;
	s.certid_len = cid_len;
	s.status = CA_OCSP_REVOKED;
	s.revoked_at = now - 100;
	s.reason = 1;
	s.invalid_at = at;
	s.this_update = now;
	s.next_update = now + CA_OCSP_PERIOD;
	memset(&t, 0, sizeof(t));
	memcpy(t.key_hash, g_kh, 20);
	t.produced_at = now;
	t.singles = &s;
	t.nsingles = 1;
	/* Written as RFC 5280 5.3.2 has it, non-critical, GeneralizedTime. */
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_tbs_encode(&t, &tbs, &len, &err), 0);
	x = invalidity_at(tbs, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	gmtime_r(&at, &tm);
	strftime(when, sizeof(when), "%Y%m%d%H%M%S", &tm);
	CU_ASSERT(x[CA_DER_INVALIDITY_HEAD_LEN] == 0x18 &&
		  x[CA_DER_INVALIDITY_HEAD_LEN + 1] == 15);
	CU_ASSERT(memcmp(x + CA_DER_INVALIDITY_HEAD_LEN + 2, when, 14) == 0);
	/* singleExtensions [1] { SEQUENCE { the extension } }, last. */
	CU_ASSERT(x - tbs >= 4 && x[-4] == 0xa1 && x[-2] == 0x30);
	CU_ASSERT(x + CA_DER_INVALIDITY_TLV == tbs + len);
	free(tbs);
	/* The signer takes it, and nothing else there. */
	encode_check(&t, now, NULL);
	edited_check(&t, now, edit_nothing, NULL);
	edited_check(&t, now, edit_year, "invalidityDate after the revocationTime");
	edited_check(&t, now, edit_oid, "other than the invalidityDate");
	edited_check(&t, now, edit_hold, "on hold");
	edited_check(&t, now, edit_utc, "invalidityDate malformed");
	/* On the day of the revocation itself, and without a reason. */
	s.invalid_at = s.revoked_at;
	s.reason = -1;
	encode_check(&t, now, NULL);
}

/* ------------------------------------------------------------------ */
/* singleExtensions written by hand: what the signer's check refuses  */

/* T, L, V into OUT at *N (L < 65536). */
static void
put_tlv(unsigned char *out, size_t *n, unsigned tag, const unsigned char *v,
	size_t len)
{
	out[(*n)++] = (unsigned char)tag;
	if (len < 0x80) {
		out[(*n)++] = (unsigned char)len;
	} else if (len < 0x100) {
		out[(*n)++] = 0x81;
		out[(*n)++] = (unsigned char)len;
	} else {
		out[(*n)++] = 0x82;
		out[(*n)++] = (unsigned char)(len >> 8);
		out[(*n)++] = (unsigned char)len;
	}
	if (len > 0)           /* V may be NULL then: memcpy may not take it */
		memcpy(out + *n, v, len);
	*n += len;
}

/* A GeneralizedTime element for T into OUT at *N. */
static void
put_gentime(unsigned char *out, size_t *n, int64_t t)
{
	char s[16];
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm);
	put_tlv(out, n, 0x18, (const unsigned char *)s, 15);
}

/* An Extension { invalidityDate (OID LAST octet 0x18, or another),
 * critical TRUE when CRIT, OCTET STRING { GeneralizedTime AT } }. */
static void
put_ext(unsigned char *out, size_t *n, unsigned char last, int crit,
	int64_t at)
{
	unsigned char in[64], val[32];
	size_t ni = 0, nv = 0;
	const unsigned char oid[3] = { 0x55, 0x1d, last };
	static const unsigned char yes[1] = { 0xff };

	put_tlv(in, &ni, 0x06, oid, 3);
	if (crit)
		put_tlv(in, &ni, 0x01, yes, 1);
	put_gentime(val, &nv, at);
	put_tlv(in, &ni, 0x04, val, nv);
	put_tlv(out, n, 0x30, in, ni);
}

/* A ResponseData of one SingleResponse for the shared issuer's CertID,
 * revoked at RT (GOOD: good instead), its singleExtensions the octets
 * EXT[0..EXT_LEN) as given (whole elements, or anything), into OUT. */
static size_t
hand_rd(int good, int64_t rt, int64_t now, const unsigned char *ext,
	size_t ext_len, unsigned char *out)
{
	unsigned char cid[CA_OCSP_CERTID_MAX], single[1024], st[64], nu[32],
		      list[1100], rd[1200], kh[32];
	size_t cid_len = 0, ns = 0, nst = 0, nnu = 0, nl = 0, nrd = 0, nkh = 0, n = 0;
	struct mica_err err;
	static const unsigned char reason[1] = { 1 };
	unsigned char rsn[8];
	size_t nr = 0;

	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &g_is,
		g_serial, sizeof(g_serial), cid, &cid_len, &err), 0);
	memcpy(single, cid, cid_len);
	ns = cid_len;
	if (good) {
		put_tlv(single, &ns, 0x80, NULL, 0);
	} else {
		put_gentime(st, &nst, rt);
		put_tlv(rsn, &nr, 0x0a, reason, 1);
		put_tlv(st, &nst, 0xa0, rsn, nr);
		put_tlv(single, &ns, 0xa1, st, nst);
	}
	put_gentime(single, &ns, now);
	put_gentime(nu, &nnu, now + CA_OCSP_PERIOD);
	put_tlv(single, &ns, 0xa0, nu, nnu);
	memcpy(single + ns, ext, ext_len);
	ns += ext_len;
	put_tlv(list, &nl, 0x30, single, ns);
	put_tlv(kh, &nkh, 0x04, g_kh, 20);
	put_tlv(rd, &nrd, 0xa2, kh, nkh);
	put_gentime(rd, &nrd, now);
	put_tlv(rd, &nrd, 0x30, list, nl);
	put_tlv(out, &n, 0x30, rd, nrd);
	return n;
}

static void
test_signer_check_refuses_hand_made_single_extensions(void)
{
	int64_t now = (int64_t)time(NULL), rt = now - 600;
	unsigned char exts[256], seq[256], one[128], tbs[2048];
	size_t ne, ns, no, n;
	struct mica_err err;
	const struct {
		const char *what;
		int good;
		int kind;          /* what goes in [1] */
		const char *rule;  /* NULL: taken */
	} cases[] = {
		{ "one invalidityDate", 0, 0, NULL },
		{ "critical", 0, 1, "critical or malformed" },
		{ "two extensions", 0, 2, "more than one single extension" },
		{ "an empty Extensions", 0, 3, "singleExtensions malformed" },
		{ "data after [1]", 0, 4, "singleExtensions malformed" },
		{ "on a good status", 1, 0, "not revoked, or on hold" },
		{ "dated 1970-01-01T00:00:00Z", 0, 5, "not after 1970" },
		{ "another extension", 0, 6, "other than the invalidityDate" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		no = ns = ne = 0;
		switch (cases[i].kind) {
		case 0: put_ext(one, &no, 0x18, 0, rt - 60); break;
		case 1: put_ext(one, &no, 0x18, 1, rt - 60); break;
		case 2:
			put_ext(one, &no, 0x18, 0, rt - 60);
			put_ext(one, &no, 0x18, 0, rt - 120);
			break;
		case 3: break;
		case 4: put_ext(one, &no, 0x18, 0, rt - 60); break;
		case 5: put_ext(one, &no, 0x18, 0, 0); break;
		case 6: put_ext(one, &no, 0x17, 0, rt - 60); break;
		}
		put_tlv(seq, &ns, 0x30, one, no);
		put_tlv(exts, &ne, 0xa1, seq, ns);
		if (cases[i].kind == 4)
			put_tlv(exts, &ne, 0x05, NULL, 0);
		n = hand_rd(cases[i].good, rt, now, exts, ne, tbs);
		mica_err_clear(&err);
		if (cases[i].rule == NULL) {
			if (ca_ocsp_tbs_check(&g_is, g_kh, now, 0, tbs, n, &err) != 0)
				fprintf(stderr, "\n  %s refused: %s\n",
					cases[i].what, err.msg);
			CU_ASSERT_EQUAL(ca_ocsp_tbs_check(&g_is, g_kh, now, 0, tbs, n,
							  &err), 0);
			continue;
		}
		CU_ASSERT_EQUAL(ca_ocsp_tbs_check(&g_is, g_kh, now, 0, tbs, n, &err), -1);
		if (strstr(err.msg, cases[i].rule) == NULL)
			fprintf(stderr, "\n  %s: refused as '%s', wanted '%s'\n",
				cases[i].what, err.msg, cases[i].rule);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].rule));
	}
}

static void
test_signer_check_refuses_hand_made_response_data(void)
{
	static const struct {
		const char *hex_note;
		unsigned char der[40];
		size_t len;
	} bad[] = {
		{ "empty", { 0x30, 0x00 }, 2 },
		{ "version v2", { 0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x01 }, 7 },
		{ "byName", { 0x30, 0x04, 0xa1, 0x02, 0x30, 0x00 }, 6 },
	};
	struct mica_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(ca_ocsp_tbs_check(&g_is, g_kh, time(NULL), 0,
						  bad[i].der, bad[i].len,
						  &err), -1);
		CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
	}
	CU_ASSERT_EQUAL(ca_ocsp_tbs_check(&g_is, g_kh, time(NULL), 0, NULL, 0,
					  &err), -1);
}

static void
test_error_responses_are_five_octets(void)
{
	unsigned char e[CA_OCSP_ERROR_LEN];

	ca_ocsp_resp_error(CA_OCSP_MALFORMED, e);
	CU_ASSERT(memcmp(e, "\x30\x03\x0a\x01\x01", 5) == 0);
	ca_ocsp_resp_error(CA_OCSP_UNAUTHORIZED, e);
	CU_ASSERT(memcmp(e, "\x30\x03\x0a\x01\x06", 5) == 0);
}

/* ------------------------------------------------------------------ */
/* The responder certificate the signer agrees to certify              */
/* ------------------------------------------------------------------ */

static void
test_signer_certifies_only_a_short_lived_ocsp_responder(void)
{
	struct ca_key *cak = NULL, *ok = NULL, *other = NULL;
	unsigned char *cak_spki = NULL, *spki = NULL, *ospki = NULL;
	unsigned char *ca_name = NULL, *subj = NULL, *bad_subj = NULL;
	unsigned char *tbs = NULL, serial[16];
	size_t cak_spki_len, spki_len, ospki_len, ca_name_len, subj_len;
	size_t bad_subj_len, tbs_len, alg_len;
	struct ca_sign_policy p;
	struct ca_tbs_cert t, base;
	struct ca_name san;
	struct mica_err err;
	int64_t now = (int64_t)time(NULL);

	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &cak, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &ok, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &other, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(cak, &cak_spki, &cak_spki_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(ok, &spki, &spki_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(other, &ospki, &ospki_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("Test CA", NULL, &ca_name,
					   &ca_name_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name(CA_OCSP_SUBJECT_CN, NULL, &subj,
					   &subj_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_x509_name("www.example.test", NULL,
					   &bad_subj, &bad_subj_len, &err), 0);
	memset(&p, 0, sizeof(p));
	p.subject = ca_name;
	p.subject_len = ca_name_len;
	CU_ASSERT_EQUAL_FATAL(ca_x509_key_id(cak_spki, cak_spki_len, p.ski,
					     &err), 0);
	p.ski_len = 20;
	p.sig_alg = ca_key_sig_alg(cak, &alg_len);
	p.sig_alg_len = alg_len;
	p.not_before = now - 86400;
	p.not_after = now + 3650 * 86400;

	memset(serial, 0x21, sizeof(serial));
	memset(&base, 0, sizeof(base));
	base.serial = serial;
	base.serial_len = sizeof(serial);
	base.sig_alg = p.sig_alg;
	base.sig_alg_len = p.sig_alg_len;
	base.issuer = ca_name;
	base.issuer_len = ca_name_len;
	base.subject = subj;
	base.subject_len = subj_len;
	base.not_before = now - 3600;
	base.not_after = now - 3600 + CA_OCSP_CERT_DAYS * 86400;
	base.spki = spki;
	base.spki_len = spki_len;
	base.path_len = -1;
	base.key_usage = CA_KU_DIGITAL_SIGNATURE;
	base.eku = CA_EKU_OCSP_SIGNING;
	CU_ASSERT_EQUAL_FATAL(ca_x509_key_id(spki, spki_len, base.ski, &err), 0);
	base.ski_len = 20;
	base.has_aki = 1;
	memcpy(base.aki, p.ski, 20);
	base.aki_len = 20;
	base.ocsp_nocheck = 1;
	memset(&san, 0, sizeof(san));
	CU_ASSERT_EQUAL_FATAL(ca_name_parse("www.example.test", CA_NAME_DNS,
					    &san, &err), 0);

	for (int i = 0; i <= 10; i++) {
		const char *why = NULL;

		t = base;
		switch (i) {
		case 0: break;
		case 1: t.spki = ospki; t.spki_len = ospki_len;
			why = "another key"; break;
		case 2: t.eku = CA_EKU_SERVER_AUTH; why = "serverAuth"; break;
		case 3: t.eku = CA_EKU_OCSP_SIGNING | CA_EKU_CLIENT_AUTH;
			why = "and clientAuth"; break;
		case 4: t.ocsp_nocheck = 0; why = "no ocsp-nocheck"; break;
		case 5: t.not_after = now + 30 * 86400; why = "30 days"; break;
		case 6: t.names = &san; t.nnames = 1; why = "a SAN"; break;
		case 7: t.subject = bad_subj; t.subject_len = bad_subj_len;
			why = "a host's subject"; break;
		case 8: t.is_ca = 1; t.key_usage |= CA_KU_KEY_CERT_SIGN;
			why = "a CA"; break;
		case 9: t.not_before = now - 5 * 86400;
			t.not_after = t.not_before + 86400;
			why = "back-dated"; break;
		case 10: t.ocsp_url = "http://x.test/ocsp"; why = "an AIA"; break;
		}
		tbs = NULL;
		if (ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err) != 0) {
			CU_ASSERT_PTR_NOT_NULL(why);   /* the writer refused */
			continue;
		}
		mica_err_clear(&err);
		if (why == NULL) {
			if (ca_signcheck_ocsp_cert(&p, spki, spki_len, now, tbs,
						   tbs_len, &err) != 0)
				fprintf(stderr, "\n  refused: %s\n", err.msg);
			CU_ASSERT_EQUAL(ca_signcheck_ocsp_cert(&p, spki, spki_len,
				now, tbs, tbs_len, &err), 0);
		} else {
			if (ca_signcheck_ocsp_cert(&p, spki, spki_len, now, tbs,
						   tbs_len, &err) == 0)
				fprintf(stderr, "\n  accepted: %s\n", why);
			CU_ASSERT_EQUAL(ca_signcheck_ocsp_cert(&p, spki, spki_len,
				now, tbs, tbs_len, &err), -1);
			CU_ASSERT_STRING_EQUAL(err.code, "signer_refused");
		}
		free(tbs);
	}
	/* The leaf check never takes an OCSP responder certificate. */
	t = base;
	CU_ASSERT_EQUAL_FATAL(ca_x509_tbs_cert(&t, &tbs, &tbs_len, &err), 0);
	CU_ASSERT_EQUAL(ca_signcheck_leaf(&p, now, tbs, tbs_len, &err), -1);
	free(tbs);

	free(cak_spki);
	free(spki);
	free(ospki);
	free(ca_name);
	free(subj);
	free(bad_subj);
	ca_key_free(cak);
	ca_key_free(ok);
	ca_key_free(other);
}

/* ------------------------------------------------------------------ */
/* The responder, on an in-process CA                                  */
/* ------------------------------------------------------------------ */

/* What a successful OCSPResponse says, read with the DER cursor. */
struct seen {
	int rstatus;
	const unsigned char *tbs; size_t tbs_len;        /* whole element */
	const unsigned char *alg; size_t alg_len;
	const unsigned char *sig; size_t sig_len;
	const unsigned char *cert; size_t cert_len;
	const unsigned char *certid; size_t certid_len;  /* first single's */
	int cstatus;                                     /* first single */
	int64_t revoked_at;
	int reason;
	int64_t invalid_at;                              /* 0 none */
	int has_nonce;
};

static int
read_response(const unsigned char *der, size_t len, struct seen *s)
{
	struct ca_der_cur top, r, rb, bo, basic, certs, rd, list, one, ext;
	struct ca_der_tlv tl, st;
	const unsigned char *v, *oid;
	size_t n, oid_len;
	unsigned unused;
	int64_t t;

	memset(s, 0, sizeof(*s));
	s->reason = -1;
	ca_der_init(&top, der, len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &r, NULL) < 0 ||
	    ca_der_get_tlv(&r, CA_DER_ENUMERATED, &v, &n, NULL) < 0 || n != 1)
		return -1;
	s->rstatus = v[0];
	if (s->rstatus != 0)
		return ca_der_empty(&r) ? 0 : -1;
	if (ca_der_enter(&r, CA_DER_CTX_CONS(0), &rb, NULL) < 0 ||
	    ca_der_enter(&rb, CA_DER_SEQUENCE, &bo, NULL) < 0 ||
	    ca_der_get_oid(&bo, &oid, &oid_len, NULL) < 0 ||
	    ca_der_get_tlv(&bo, CA_DER_OCTET_STRING, &v, &n, NULL) < 0)
		return -1;
	ca_der_init(&top, v, n);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &basic, NULL) < 0 ||
	    ca_der_get_elem(&basic, CA_DER_SEQUENCE, &s->tbs, &s->tbs_len,
			    NULL) < 0 ||
	    ca_der_get_elem(&basic, CA_DER_SEQUENCE, &s->alg, &s->alg_len,
			    NULL) < 0 ||
	    ca_der_get_bitstring(&basic, &s->sig, &s->sig_len, &unused,
				 NULL) < 0 ||
	    ca_der_enter(&basic, CA_DER_CTX_CONS(0), &certs, NULL) < 0 ||
	    ca_der_get_tlv(&certs, CA_DER_SEQUENCE, &v, &n, NULL) < 0)
		return -1;
	/* certs [0] EXPLICIT SEQUENCE OF Certificate: the first, whole. */
	ca_der_init(&top, v, n);
	if (ca_der_get_elem(&top, CA_DER_SEQUENCE, &s->cert, &s->cert_len,
			    NULL) < 0)
		return -1;
	ca_der_init(&top, s->tbs, s->tbs_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &rd, NULL) < 0 ||
	    ca_der_get_any(&rd, &tl, NULL) < 0 ||          /* responderID */
	    ca_der_get_time(&rd, &t, NULL, NULL) < 0 ||    /* producedAt */
	    ca_der_enter(&rd, CA_DER_SEQUENCE, &list, NULL) < 0 ||
	    ca_der_enter(&list, CA_DER_SEQUENCE, &one, NULL) < 0 ||
	    ca_der_get_elem(&one, CA_DER_SEQUENCE, &s->certid,
			    &s->certid_len, NULL) < 0 ||
	    ca_der_get_any(&one, &st, NULL) < 0)
		return -1;
	s->cstatus = st.tag == 0x80 ? CA_OCSP_GOOD :
		     st.tag == 0x82 ? CA_OCSP_UNKNOWN : CA_OCSP_REVOKED;
	if (st.tag == 0xa1) {
		ca_der_init(&top, st.val, st.len);
		if (ca_der_get_time(&top, &s->revoked_at, NULL, NULL) < 0)
			return -1;
		if (!ca_der_empty(&top)) {
			if (ca_der_enter(&top, CA_DER_CTX_CONS(0), &ext,
					 NULL) < 0 ||
			    ca_der_get_tlv(&ext, CA_DER_ENUMERATED, &v, &n,
					   NULL) < 0 || n != 1)
				return -1;
			s->reason = v[0];
		}
	}
	/* thisUpdate, nextUpdate [0], then singleExtensions [1] { the
	 * invalidityDate } as ca_ocsp_tbs_encode writes it. */
	if (ca_der_get_time(&one, &t, NULL, NULL) < 0 ||
	    ca_der_get_any(&one, &tl, NULL) < 0)
		return -1;
	if (ca_der_peek(&one, CA_DER_CTX_CONS(1))) {
		if (ca_der_get_any(&one, &tl, NULL) < 0 ||
		    tl.len != 2 + CA_DER_INVALIDITY_TLV ||
		    memcmp(tl.val + 2, CA_DER_INVALIDITY_HEAD,
			   CA_DER_INVALIDITY_HEAD_LEN) != 0)
			return -1;
		ca_der_init(&top, tl.val + 2 + CA_DER_INVALIDITY_HEAD_LEN, 17);
		if (ca_der_get_time(&top, &s->invalid_at, NULL, NULL) < 0)
			return -1;
	}
	s->has_nonce = ca_der_peek(&rd, CA_DER_CTX_CONS(1));
	return 0;
}

/* A request with a CertID of HASH for SERIAL of the shared CA. */
static void
ca_request(const struct ca_ocsp_issuer *is, int hash,
	   const unsigned char *serial, size_t serial_len, int nonce,
	   struct buf *out)
{
	unsigned char cid[CA_OCSP_CERTID_MAX];
	struct ca_ocsp_issuer save = g_is;
	struct reqspec s = spec();
	struct mica_err err;

	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(hash, is, serial,
		serial_len, cid, &s.certid_len, &err), 0);
	s.certid = cid;
	s.nonce_len = nonce ? 16 : -1;
	g_is = *is;
	build_req(&s, out);
	g_is = save;
}

/* Ask the shared CA; check the response's signature and its responder
 * certificate; *S what it said. */
static void
ask(const struct buf *req, struct ca_ocsp_answer *a, struct seen *s)
{
	struct ca_cert_info resp, root;
	struct mica_err err;
	const unsigned char *ca_der;
	size_t ca_len;

	CU_ASSERT_EQUAL_FATAL(ca_ocsp_answer(g_ca, req->b, req->n, a, &err), 0);
	CU_ASSERT_EQUAL_FATAL(read_response(a->der, a->der_len, s), 0);
	CU_ASSERT_EQUAL(s->rstatus, a->status);
	if (s->rstatus != 0)
		return;
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(s->cert, s->cert_len, &resp,
						&err), 0);
	ca_der = ca_cert_der(g_ca, &ca_len);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(ca_der, ca_len, &root, &err),
			      0);
	CU_ASSERT_EQUAL(ca_cert_issued_by(&resp, &root, &err), 0);
	CU_ASSERT_EQUAL(ca_sig_verify(s->tbs, s->tbs_len, s->alg, s->alg_len,
				      s->sig, s->sig_len, resp.spki,
				      resp.spki_len, &err), 0);
}

static void
issue_one(unsigned char serial[20], size_t *serial_len, char hex[41])
{
	struct ca_key *k = NULL;
	unsigned char *spki = NULL;
	size_t spki_len = 0;
	struct ca_principal cli;
	struct ca_issued out;
	struct mica_err err;
	const char *names[] = { "host.contoso.test" };

	ca_principal_cli(&cli);
	CU_ASSERT_EQUAL_FATAL(ca_key_generate(CA_KEY_EC_P256, &k, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_key_spki(k, &spki, &spki_len, &err), 0);
	if (ca_issue_for_spki(g_ca, &cli, "server", spki, spki_len, names, 1,
			      30, &out, &err) != 0)
		fprintf(stderr, "issue: %s %s\n", err.code, err.msg);
	snprintf(hex, 41, "%s", out.serial);
	*serial_len = strlen(hex) / 2;
	for (size_t i = 0; i < *serial_len; i++)
		sscanf(hex + 2 * i, "%2hhx", &serial[i]);
	ca_issued_free(&out);
	free(spki);
	ca_key_free(k);
}

static void
issuer_of_g_ca(struct ca_ocsp_issuer *is)
{
	struct ca_cert_info ci;
	struct mica_err err;
	const unsigned char *der;
	size_t len;

	der = ca_cert_der(g_ca, &len);
	CU_ASSERT_EQUAL_FATAL(ca_cert_info_read(der, len, &ci, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_issuer_hashes(ci.subject, ci.subject_len,
		ci.spki, ci.spki_len, is, &err), 0);
}

static void
test_responder_answers_good_revoked_unknown(void)
{
	static struct buf req;
	struct ca_ocsp_issuer is;
	struct ca_ocsp_answer a;
	struct ca_principal cli;
	struct seen s;
	struct mica_err err;
	unsigned char serial[20], never[] = { 0x12, 0x34, 0x56 };
	size_t serial_len;
	char hex[41];

	issuer_of_g_ca(&is);
	issue_one(serial, &serial_len, hex);

	ca_request(&is, CA_OCSP_SHA1, serial, serial_len, 1, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(s.rstatus, CA_OCSP_SUCCESSFUL);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_GOOD);
	CU_ASSERT(s.has_nonce);
	CU_ASSERT_EQUAL(a.max_age, 0);   /* a nonce: for one client only */
	ca_ocsp_answer_free(&a);

	ca_request(&is, CA_OCSP_SHA256, serial, serial_len, 0, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_GOOD);
	CU_ASSERT(!s.has_nonce);
	CU_ASSERT(a.max_age > 0);
	ca_ocsp_answer_free(&a);

	ca_principal_cli(&cli);
	CU_ASSERT_EQUAL_FATAL(ca_revoke(g_ca, &cli, hex, 1, &err), 0);
	ca_request(&is, CA_OCSP_SHA1, serial, serial_len, 1, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_REVOKED);
	CU_ASSERT_EQUAL(s.reason, 1);   /* keyCompromise */
	CU_ASSERT(s.revoked_at > time(NULL) - 600 &&
		  s.revoked_at <= time(NULL));
	ca_ocsp_answer_free(&a);

	ca_request(&is, CA_OCSP_SHA1, never, sizeof(never), 0, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(s.rstatus, CA_OCSP_SUCCESSFUL);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_UNKNOWN);
	ca_ocsp_answer_free(&a);

	/* Serials no certificate has (zero, negative, 21 octets): unknown,
	 * as RFC 6960 says of one never issued, not malformedRequest. */
	for (size_t i = 0; i < ODD_SERIALS; i++) {
		static struct buf cid;
		unsigned char id[CA_OCSP_CERTID_MAX];
		size_t id_len;
		struct reqspec rs = spec();
		struct ca_ocsp_issuer save = g_is;

		CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &is,
			g_serial, sizeof(g_serial), id, &id_len, &err), 0);
		certid_serial(id, id_len, g_odd_serials[i], g_odd_lens[i],
			      &cid);
		rs.certid = cid.b;
		rs.certid_len = cid.n;
		rs.nonce_len = (int)i % 2 ? 16 : -1;
		g_is = is;
		build_req(&rs, &req);
		g_is = save;
		ask(&req, &a, &s);
		CU_ASSERT_EQUAL(s.rstatus, CA_OCSP_SUCCESSFUL);
		CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_UNKNOWN);
		ca_ocsp_answer_free(&a);
	}
}

/* A request of two CertIDs, a certificate issued then a serial never
 * issued: the answer may be cached only until the earlier nextUpdate of
 * the two, the unknown's (RFC 5019 6.2), not the good one's day. */
static void
test_responder_cache_life_is_the_earliest_next_update(void)
{
	static struct buf req, list, one;
	struct ca_ocsp_issuer is;
	struct ca_ocsp_answer a;
	struct mica_err err;
	unsigned char serial[20], never[] = { 0x12, 0x34, 0x57 };
	unsigned char cid[CA_OCSP_CERTID_MAX];
	size_t serial_len, cid_len;
	char hex[41];
	int64_t now = (int64_t)time(NULL);

	issuer_of_g_ca(&is);
	issue_one(serial, &serial_len, hex);
	list.n = 0;
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &is, serial,
		serial_len, cid, &cid_len, &err), 0);
	one.n = 0;
	put(&one, cid, cid_len);
	tlv(&list, 0x30, one.b, one.n);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &is, never,
		sizeof(never), cid, &cid_len, &err), 0);
	one.n = 0;
	put(&one, cid, cid_len);
	tlv(&list, 0x30, one.b, one.n);
	wrap(&list, 0x30);          /* requestList */
	req = list;
	wrap(&req, 0x30);           /* TBSRequest */
	wrap(&req, 0x30);           /* OCSPRequest */

	CU_ASSERT_EQUAL_FATAL(ca_ocsp_answer(g_ca, req.b, req.n, &a, &err), 0);
	CU_ASSERT_EQUAL(a.status, CA_OCSP_SUCCESSFUL);
	/* The unknown's nextUpdate is an hour away, the good one's a day. */
	CU_ASSERT(a.next_update <= now + 3600 + 5);
	CU_ASSERT(a.max_age > 0 && a.max_age <= 3600 + 5);
	ca_ocsp_answer_free(&a);
}

static void
test_responder_refuses_other_issuers_and_garbage(void)
{
	static struct buf req;
	struct ca_ocsp_issuer is;
	struct ca_ocsp_answer a;
	struct seen s;
	unsigned char serial[20];
	size_t serial_len;
	char hex[41];

	issue_one(serial, &serial_len, hex);
	memset(&is, 0x44, sizeof(is));
	ca_request(&is, CA_OCSP_SHA1, serial, serial_len, 0, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(s.rstatus, CA_OCSP_UNAUTHORIZED);
	CU_ASSERT_EQUAL(a.der_len, CA_OCSP_ERROR_LEN);
	ca_ocsp_answer_free(&a);

	memcpy(req.b, "garbage", 7);
	req.n = 7;
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(s.rstatus, CA_OCSP_MALFORMED);
	CU_ASSERT_EQUAL(a.max_age, 0);
	ca_ocsp_answer_free(&a);

	/* The issued serial with one 0x00 more in front: the same number,
	 * but no DER INTEGER (X.690 8.3.2), so neither that certificate's
	 * answer nor an unknown: malformedRequest. Built from the CertID
	 * of the serial as it is, which is answered good. */
	issuer_of_g_ca(&is);
	for (int pad = 0; pad <= 1; pad++) {
		static struct buf cid, r;
		unsigned char enc[CA_OCSP_CERTID_MAX], in[24];
		size_t enc_len, n = 0, head;
		struct mica_err err;
		struct reqspec rs = spec();

		CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, &is,
			serial, serial_len, enc, &enc_len, &err), 0);
		CU_ASSERT_FATAL(enc_len < 0x80 && enc[1] == enc_len - 2);
		/* SEQUENCE { alg, nameHash, keyHash, INTEGER }: the INTEGER
		 * is last, after 2 + 11 + 22 + 22 octets. */
		head = 2 + 11 + 22 + 22;
		CU_ASSERT_EQUAL_FATAL(enc[head], 0x02);
		if (pad)
			in[n++] = 0x00;
		if (serial[0] & 0x80)
			in[n++] = 0x00;
		memcpy(in + n, serial, serial_len);
		n += serial_len;
		cid.n = 0;
		put(&cid, enc + 2, head - 2);
		tlv(&cid, 0x02, in, n);
		wrap(&cid, 0x30);
		rs.certid = cid.b;
		rs.certid_len = cid.n;
		build_req(&rs, &r);
		ask(&r, &a, &s);
		if (pad) {
			CU_ASSERT_EQUAL(s.rstatus, CA_OCSP_MALFORMED);
		} else {
			CU_ASSERT_EQUAL(s.rstatus, CA_OCSP_SUCCESSFUL);
			CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_GOOD);
		}
		ca_ocsp_answer_free(&a);
	}
}

static void
test_presigned_answers_and_their_invalidation(void)
{
	static struct buf req;
	struct ca_ocsp_issuer is;
	struct ca_ocsp_answer a;
	struct ca_principal cli;
	struct seen s;
	struct mica_err err;
	unsigned char serial[20];
	size_t serial_len, done = 0;
	int64_t n = 0, invalid_at;
	int pending = -1;
	char hex[41];

	issuer_of_g_ca(&is);
	issue_one(serial, &serial_len, hex);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_refresh(g_ca, 100000, &done, &err), 0);
	CU_ASSERT(done >= 1);
	CU_ASSERT_EQUAL(ca_ocsp_count(g_ca, &n, &err), 0);
	CU_ASSERT(n >= 1);
	/* Nothing left to do right after. */
	CU_ASSERT_EQUAL(ca_ocsp_refresh(g_ca, 100000, &done, &err), 0);
	CU_ASSERT_EQUAL(done, 0);

	ca_request(&is, CA_OCSP_SHA1, serial, serial_len, 0, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_GOOD);
	CU_ASSERT_EQUAL(a.presigned, 1);
	CU_ASSERT(a.max_age > 0 && a.max_age <= CA_OCSP_PERIOD);
	ca_ocsp_answer_free(&a);

	/* A revocation drops it at once: the next answer says revoked. */
	ca_principal_cli(&cli);
	CU_ASSERT_EQUAL(ca_ocsp_pending(g_ca, 0, &pending, &err), 0);
	CU_ASSERT_EQUAL(pending, 0);
	CU_ASSERT_EQUAL(ca_ocsp_pending(g_ca, 1, &pending, &err), 0);
	CU_ASSERT_EQUAL(pending, 0);
	CU_ASSERT_EQUAL_FATAL(ca_revoke(g_ca, &cli, hex, 4, &err), 0);
	/* ... and marks it for the background refresh to see, as a
	 * revocation (signed even while issuance goes on). */
	CU_ASSERT_EQUAL(ca_ocsp_pending(g_ca, 0, &pending, &err), 0);
	CU_ASSERT_EQUAL(pending, 1);
	CU_ASSERT_EQUAL(ca_ocsp_pending(g_ca, 1, &pending, &err), 0);
	CU_ASSERT_EQUAL(pending, 1);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(a.presigned, 0);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_REVOKED);
	CU_ASSERT_EQUAL(s.reason, 4);   /* superseded */
	ca_ocsp_answer_free(&a);
	/* ... and that answer was kept for the next client. */
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(a.presigned, 1);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_REVOKED);
	CU_ASSERT_EQUAL(s.invalid_at, 0);
	ca_ocsp_answer_free(&a);
	/* The refresh takes the mark. */
	CU_ASSERT_EQUAL(ca_ocsp_refresh(g_ca, 100000, &done, &err), 0);
	CU_ASSERT_EQUAL(ca_ocsp_pending(g_ca, 0, &pending, &err), 0);
	CU_ASSERT_EQUAL(pending, 0);
	CU_ASSERT_EQUAL(ca_ocsp_pending(g_ca, 1, &pending, &err), 0);
	CU_ASSERT_EQUAL(pending, 0);

	/* Its key found compromised, with the date it was: the reason is
	 * raised and the date given; the answer kept goes, and the
	 * refresh signs one that says both (RFC 6960 4.4) ahead. */
	ask(&req, &a, &s);
	invalid_at = s.revoked_at - 3600;
	ca_ocsp_answer_free(&a);
	CU_ASSERT_EQUAL_FATAL(ca_revoke_all(g_ca, &cli, hex, 1, invalid_at, NULL,
					    NULL, NULL, &err), 0);
	CU_ASSERT_EQUAL(ca_ocsp_refresh(g_ca, 100000, &done, &err), 0);
	CU_ASSERT(done >= 1);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(a.presigned, 1);
	CU_ASSERT_EQUAL(s.reason, 1);
	CU_ASSERT_EQUAL(s.invalid_at, invalid_at);
	ca_ocsp_answer_free(&a);
	/* An earlier date learnt since (a CRL carried in): the same. */
	CU_ASSERT_EQUAL_FATAL(db_cert_invalid_set(ca_db(g_ca), hex, invalid_at - 60,
						  &err), 0);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(a.presigned, 0);
	CU_ASSERT_EQUAL(s.invalid_at, invalid_at - 60);
	ca_ocsp_answer_free(&a);
}

/* Does the response S echo the CertID of the one-CertID request REQ, to
 * the octet (RFC 6960 4.2.1; what 'openssl ocsp' compares)? */
static int
echoes_certid(const struct buf *req, const struct seen *s)
{
	struct ca_ocsp_req r;
	struct mica_err err;

	if (ca_ocsp_req_parse(req->b, req->n, &r, &err) != 0 || r.nids != 1)
		return 0;
	return s->certid != NULL && s->certid_len == r.ids[0].raw_len &&
	       memcmp(s->certid, r.ids[0].raw, s->certid_len) == 0;
}

/* SHA-384 and SHA-512 CertIDs are answered with their own CertID echoed,
 * never with the response kept for the SHA-1 one (signed ahead of time,
 * found by serial) nor with an "unknown" kept for another hash's CertID
 * of the same serial. */
static void
test_responder_echoes_sha384_and_sha512_certids(void)
{
	static const int hashes[] = { CA_OCSP_SHA384, CA_OCSP_SHA512 };
	static struct buf req, req1;
	struct ca_ocsp_issuer is;
	struct ca_ocsp_answer a;
	struct ca_principal cli;
	struct seen s;
	struct mica_err err;
	unsigned char serial[20], never[] = { 0x13, 0x57, 0x9b, 0xdf };
	size_t serial_len, done = 0, i;
	char hex[41];

	issuer_of_g_ca(&is);
	issue_one(serial, &serial_len, hex);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_refresh(g_ca, 100000, &done, &err), 0);
	ca_request(&is, CA_OCSP_SHA1, serial, serial_len, 0, &req1);
	ask(&req1, &a, &s);
	CU_ASSERT_EQUAL(a.presigned, 1);
	CU_ASSERT(echoes_certid(&req1, &s));
	ca_ocsp_answer_free(&a);

	for (i = 0; i < 2; i++) {
		/* Without a nonce, as the SHA-1 one: still signed for it. */
		ca_request(&is, hashes[i], serial, serial_len, 0, &req);
		ask(&req, &a, &s);
		CU_ASSERT_EQUAL(s.rstatus, CA_OCSP_SUCCESSFUL);
		CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_GOOD);
		CU_ASSERT_EQUAL(a.presigned, 0);
		CU_ASSERT(echoes_certid(&req, &s));
		CU_ASSERT(!echoes_certid(&req1, &s));
		CU_ASSERT(a.max_age > 0);
		ca_ocsp_answer_free(&a);
		/* ... and not kept in place of the SHA-1 one. */
		ask(&req1, &a, &s);
		CU_ASSERT_EQUAL(a.presigned, 1);
		CU_ASSERT(echoes_certid(&req1, &s));
		ca_ocsp_answer_free(&a);
		/* With a nonce. */
		ca_request(&is, hashes[i], serial, serial_len, 1, &req);
		ask(&req, &a, &s);
		CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_GOOD);
		CU_ASSERT(s.has_nonce);
		CU_ASSERT(echoes_certid(&req, &s));
		ca_ocsp_answer_free(&a);
	}

	ca_principal_cli(&cli);
	CU_ASSERT_EQUAL_FATAL(ca_revoke(g_ca, &cli, hex, 1, &err), 0);
	for (i = 0; i < 2; i++) {
		ca_request(&is, hashes[i], serial, serial_len, 0, &req);
		ask(&req, &a, &s);
		CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_REVOKED);
		CU_ASSERT_EQUAL(s.reason, 1);
		CU_ASSERT(echoes_certid(&req, &s));
		ca_ocsp_answer_free(&a);
	}

	/* A serial never issued: each hash's CertID gets its own "unknown",
	 * kept under its own CertID. */
	for (i = 0; i < 2; i++) {
		ca_request(&is, hashes[i], never, sizeof(never), 0, &req);
		ask(&req, &a, &s);
		CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_UNKNOWN);
		CU_ASSERT(echoes_certid(&req, &s));
		ca_ocsp_answer_free(&a);
		ask(&req, &a, &s);
		CU_ASSERT_EQUAL(a.cached, 1);
		CU_ASSERT(echoes_certid(&req, &s));
		ca_ocsp_answer_free(&a);
	}
	ca_request(&is, CA_OCSP_SHA1, never, sizeof(never), 0, &req1);
	ask(&req1, &a, &s);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_UNKNOWN);
	CU_ASSERT_EQUAL(a.cached, 0);
	CU_ASSERT(echoes_certid(&req1, &s));
	ca_ocsp_answer_free(&a);
}

/* Run SQL on the shared CA's store through a connection of its own;
 * with a blob parameter ?1 when BLOB is set; the first column of the
 * first row in *V when V is set. */
static int
store_sql(const char *sql, const void *blob, size_t blob_len, int64_t *v)
{
	char path[PATH_MAX + 16];
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	snprintf(path, sizeof(path), "%s/mica.db", g_cadir);
	if (sqlite3_open(path, &h) != SQLITE_OK ||
	    sqlite3_busy_timeout(h, 10000) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (blob != NULL &&
	    sqlite3_bind_blob(st, 1, blob, (int)blob_len, SQLITE_TRANSIENT) !=
	    SQLITE_OK)
		goto out;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && v != NULL)
		*v = sqlite3_column_int64(st, 0);
	rc = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(st);
	sqlite3_close(h);
	return rc;
}

static void
test_store_keeps_responses_without_the_responder_certificate(void)
{
	static struct buf req;
	static unsigned char whole[8192];
	struct ca_ocsp_issuer is;
	struct ca_ocsp_answer a;
	struct seen s;
	struct mica_err err;
	unsigned char serial[20], *out = NULL, bad[1024];
	size_t serial_len, done = 0, whole_len, out_len = 0;
	int64_t v = -1;
	char hex[41], sql[256];

	issuer_of_g_ca(&is);
	issue_one(serial, &serial_len, hex);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_refresh(g_ca, 100000, &done, &err), 0);
	/* Stored: the BasicOCSPResponse alone (a P-256 response is under
	 * 300 octets; with the certificate it was over 700), and the
	 * responder certificate's serial, which is recorded. */
	snprintf(sql, sizeof(sql), "SELECT length(der) FROM ocsp_response "
		 "WHERE serial = '%s' AND responder IN (SELECT serial FROM "
		 "ocsp_responder)", hex);
	CU_ASSERT_EQUAL(store_sql(sql, NULL, 0, &v), 0);
	CU_ASSERT(v > 100 && v < 400);

	/* Served whole: the certificate is back, the signature verifies
	 * (ask checks both). */
	ca_request(&is, CA_OCSP_SHA1, serial, serial_len, 0, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(a.presigned, 1);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_GOOD);
	CU_ASSERT(s.cert_len > 0);
	CU_ASSERT((int64_t)a.der_len > v + (int64_t)s.cert_len);
	CU_ASSERT_FATAL(a.der_len <= sizeof(whole));
	memcpy(whole, a.der, a.der_len);
	whole_len = a.der_len;
	ca_ocsp_answer_free(&a);

	/* A row stored before schema 009 (the whole response, no
	 * responder) is served as it is. */
	snprintf(sql, sizeof(sql), "UPDATE ocsp_response SET der = ?1, "
		 "responder = NULL WHERE serial = '%s'", hex);
	CU_ASSERT_EQUAL(store_sql(sql, whole, whole_len, NULL), 0);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(a.presigned, 1);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_GOOD);
	CU_ASSERT(a.der_len == whole_len &&
		  memcmp(a.der, whole, whole_len) == 0);
	ca_ocsp_answer_free(&a);

	/* The wrapper re-reads what it is given: a whole OCSPResponse, or
	 * octets that are no BasicOCSPResponse, are refused. */
	CU_ASSERT_EQUAL(ca_ocsp_resp_wrap(whole, whole_len, whole, 10, &out,
					  &out_len, &err), -1);
	CU_ASSERT(out == NULL);
	memset(bad, 0, sizeof(bad));
	CU_ASSERT_EQUAL(ca_ocsp_resp_wrap(bad, 300, whole, 10, &out, &out_len,
					  &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_record");
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_unknown_answers_are_kept_and_rationed(void)
{
	static struct buf req;
	static unsigned char first[8192];
	struct ca_ocsp_issuer is;
	struct ca_ocsp_answer a;
	struct seen s;
	unsigned char never[] = { 0x7e, 0x01, 0x02, 0x03 }, flood[4];
	size_t first_len, n = 400, signed_n = 0, later = 0, i;
	double t0, el;

	issuer_of_g_ca(&is);
	/* Asked once (with a nonce): signed, unknown, without the nonce (an
	 * answer kept for everyone). */
	ca_request(&is, CA_OCSP_SHA1, never, sizeof(never), 1, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(s.rstatus, CA_OCSP_SUCCESSFUL);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_UNKNOWN);
	CU_ASSERT_EQUAL(a.signed_now, 1);
	CU_ASSERT(!s.has_nonce);
	CU_ASSERT(a.max_age > 0);
	CU_ASSERT_FATAL(a.der_len <= sizeof(first));
	memcpy(first, a.der, a.der_len);
	first_len = a.der_len;
	ca_ocsp_answer_free(&a);
	/* Asked again: the same answer, not signed again. */
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_UNKNOWN);
	CU_ASSERT_EQUAL(a.signed_now, 0);
	CU_ASSERT_EQUAL(a.cached, 1);
	CU_ASSERT(a.der_len == first_len &&
		  memcmp(a.der, first, first_len) == 0);
	ca_ocsp_answer_free(&a);

	/* A flood of serials never issued, each new: far fewer signatures
	 * than requests (the ration), the rest tryLater, unsigned. With the
	 * fault hook the ration's clock stands still, so that a machine
	 * signing slower than the ration refills (32 a second) still sees
	 * it run out. */
#ifdef MICA_FAULT_INJECTION
	setenv("MICA_FAULT", "ocsp_ration_refill:0", 1);
	mica_fault_reset();
#endif
	t0 = mono_s();
	for (i = 0; i < n; i++) {
		flood[0] = 0x7f;
		flood[1] = (unsigned char)(i >> 8);
		flood[2] = (unsigned char)i;
		flood[3] = 0x55;
		ca_request(&is, CA_OCSP_SHA1, flood, sizeof(flood), 0, &req);
		ask(&req, &a, &s);
		if (a.signed_now) {
			signed_n++;
			CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_UNKNOWN);
		} else {
			CU_ASSERT_EQUAL(s.rstatus, CA_OCSP_TRY_LATER);
			CU_ASSERT_EQUAL(a.der_len, CA_OCSP_ERROR_LEN);
			later++;
		}
		ca_ocsp_answer_free(&a);
	}
	el = mono_s() - t0;
#ifdef MICA_FAULT_INJECTION
	setenv("MICA_FAULT", "", 1);
	mica_fault_reset();
	/* No refill: at most the burst (ca/ocsp.c's 64). */
	CU_ASSERT(signed_n <= 64);
	CU_ASSERT(signed_n < n);
	CU_ASSERT(later > 0);
#endif
	/* 64 at once, 32 a second after that (ca/ocsp.c). */
	CU_ASSERT((double)signed_n <= 64 + 32 * (el + 1));
	/* The first of them, asked again: kept, not signed again. */
	flood[1] = 0;
	flood[2] = 0;
	ca_request(&is, CA_OCSP_SHA1, flood, sizeof(flood), 0, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(a.cached, 1);
	CU_ASSERT_EQUAL(a.signed_now, 0);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_UNKNOWN);
	ca_ocsp_answer_free(&a);

	/* A kept "unknown" never hides a certificate: the store is asked
	 * first (a row made by hand for that serial: now it is good). */
	CU_ASSERT_EQUAL_FATAL(store_sql("INSERT INTO certificate (serial, "
		"profile, not_before, not_after, der, spki_sha256, status, "
		"created_at) VALUES ('7e010203', 'server', 0, 4102444800, "
		"x'3000', randomblob(32), 1, 0)", NULL, 0, NULL), 0);
	ca_request(&is, CA_OCSP_SHA1, never, sizeof(never), 0, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_GOOD);
	CU_ASSERT_EQUAL(a.cached, 0);
	ca_ocsp_answer_free(&a);
}

/* The base64 of the RFC 5019 request for SERIAL (hex) of the shared CA:
 * the name of its published file. */
static void
request_b64(const struct ca_ocsp_issuer *is, const char *hex, char *out,
	    size_t size)
{
	unsigned char mag[20], cid[CA_OCSP_CERTID_MAX], req[256];
	size_t n = strlen(hex) / 2, cid_len = 0, req_len = 0, olen = 0;
	struct mica_err err;

	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &mag[i]);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_certid_encode(CA_OCSP_SHA1, is, mag, n,
		cid, &cid_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_req_encode(cid, cid_len, req,
		sizeof(req), &req_len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(mbedtls_base64_encode((unsigned char *)out, size,
		&olen, req, req_len), 0);
}

/* Answers signed for one request (a nonce, a SHA-256 CertID) about issued
 * certificates are rationed too: past the ration a single SHA-1 CertID
 * gets the response signed ahead of time (the nonce ignored), a SHA-256
 * one tryLater. With the fault hook the ration's clock stands still. */
static void
test_fresh_signatures_are_rationed(void)
{
	static struct buf req, req256;
	struct ca_ocsp_issuer is;
	struct ca_ocsp_answer a;
	struct seen s;
	struct mica_err err;
	unsigned char serial[20];
	size_t serial_len, done = 0;
	int signed_n = 0, stored_n = 0, other = 0;
	char hex[41];

	issuer_of_g_ca(&is);
	issue_one(serial, &serial_len, hex);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_refresh(g_ca, 100000, &done, &err), 0);
	ca_request(&is, CA_OCSP_SHA1, serial, serial_len, 1, &req);
	ca_request(&is, CA_OCSP_SHA256, serial, serial_len, 0, &req256);
#ifndef MICA_FAULT_INJECTION
	CU_PASS("the ration's clock needs the fault hook");
	return;
#else
	setenv("MICA_FAULT", "ocsp_fresh_refill:0", 1);
	mica_fault_reset();
	/* ca/ocsp.c's FRESH_BURST (512), and more. */
	for (int i = 0; i < 600; i++) {
		ask(&req, &a, &s);
		if (a.signed_now && s.has_nonce && s.cstatus == CA_OCSP_GOOD)
			signed_n++;
		else if (a.presigned && !s.has_nonce && s.cstatus == CA_OCSP_GOOD)
			stored_n++;
		else
			other++;
		ca_ocsp_answer_free(&a);
	}
	CU_ASSERT(signed_n <= 512);
	CU_ASSERT(signed_n >= 400);
	CU_ASSERT(stored_n >= 88);
	CU_ASSERT_EQUAL(other, 0);
	/* No response of that CertID was signed ahead of time: tryLater. */
	ask(&req256, &a, &s);
	CU_ASSERT_EQUAL(s.rstatus, CA_OCSP_TRY_LATER);
	CU_ASSERT_EQUAL(a.signed_now, 0);
	ca_ocsp_answer_free(&a);
	setenv("MICA_FAULT", "", 1);
	mica_fault_reset();
#endif
}

static void
test_publish_writes_names_with_an_empty_directory_merged(void)
{
	struct ca_ocsp_issuer is;
	struct ca_publish_stats st;
	struct mica_err err;
	struct stat sb;
	char b64[512], odd[41] = "", sql[512], merged[512];
	char dir[PATH_MAX], path[PATH_MAX + 600];
	size_t done = 0, len, k = 0;

	issuer_of_g_ca(&is);
	/* A serial whose request's base64 has "//" (about one in two
	 * hundred; for some CAs every one, when the issuer's hashes have
	 * it). */
	for (unsigned i = 1; i < 100000 && odd[0] == '\0'; i++) {
		char hex[41];

		/* Serials spread over 32 bits (Knuth's multiplicative hash),
		 * so that every base64 position sees every value. */
		snprintf(hex, sizeof(hex), "5c%08x",
			 (unsigned)(i * 2654435761u));
		request_b64(&is, hex, b64, sizeof(b64));
		len = strlen(b64);
		if (strstr(b64, "//") != NULL && len > 0 && b64[len - 1] != '/')
			snprintf(odd, sizeof(odd), "%s", hex);
	}
	CU_ASSERT_FATAL(odd[0] != '\0');
	snprintf(sql, sizeof(sql), "INSERT INTO certificate (serial, profile, "
		 "not_before, not_after, der, spki_sha256, status, created_at) "
		 "VALUES ('%s', 'server', 0, 4102444800, x'3000', "
		 "randomblob(32), 1, 0)", odd);
	CU_ASSERT_EQUAL_FATAL(store_sql(sql, NULL, 0, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ca_ocsp_refresh(g_ca, 100000, &done, &err), 0);

	snprintf(dir, sizeof(dir), "%s/pub", g_tmp);
	CU_ASSERT_EQUAL(ca_publish(g_ca, dir, &st, &err), 0);
	/* Written whole, under the name with "//" merged into "/": where a
	 * web server that merges slashes looks for it. */
	request_b64(&is, odd, b64, sizeof(b64));
	for (size_t i = 0; b64[i] != '\0'; i++)
		if (b64[i] != '/' || k == 0 || merged[k - 1] != '/')
			merged[k++] = b64[i];
	merged[k] = '\0';
	snprintf(path, sizeof(path), "%s/ocsp/%s", dir, merged);
	CU_ASSERT_EQUAL(stat(path, &sb), 0);
	CU_ASSERT(sb.st_size > 500);
}

/* ------------------------------------------------------------------ */
/* GET /ocsp/{base64}: the path's forms                                */
/* ------------------------------------------------------------------ */

/* Does TAIL decode to exactly WANT[0..N)? */
static int
get_decodes_to(const char *tail, const unsigned char *want, size_t n)
{
	unsigned char der[4096];
	struct mica_err err;
	size_t len = 1;

	mica_err_clear(&err);
	if (web_ocsp_get_decode(tail, der, sizeof(der), &len, &err) != 0) {
		fprintf(stderr, "\n  refused: %s (%s)\n", tail, err.msg);
		return 0;
	}
	return len == n && memcmp(der, want, n) == 0;
}

static void
get_refused(const char *tail, const char *what)
{
	unsigned char der[4096];
	struct mica_err err;
	size_t len = 1;

	mica_err_clear(&err);
	if (web_ocsp_get_decode(tail, der, sizeof(der), &len, &err) == 0)
		fprintf(stderr, "\n  accepted: %s (%s)\n", tail, what);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
	CU_ASSERT_STRING_EQUAL(err.code, "malformed_ocsp");
	CU_ASSERT_EQUAL(len, 0);
}

/* Base64 of P[0..N) with '+', '/', '=' raw (RFC 4648 4). */
static void
b64_of(const unsigned char *p, size_t n, char *out, size_t size)
{
	size_t olen = 0;

	CU_ASSERT_EQUAL_FATAL(mbedtls_base64_encode((unsigned char *)out,
		size, &olen, p, n), 0);
}

/* A GET's base64 is taken padded or not (when its length says what it
 * holds), after any leading slashes (an AIA URL ending in '/'), with
 * '+', '/', '=' raw or percent-encoded and a space taken for '+'; what
 * is no base64 is refused. */
static void
test_get_path_forms(void)
{
	static struct buf b;
	static const unsigned char plus[] = { 0x30, 0x04, 0x04, 0xfb, 0xef,
					      0xbe, 0x04, 0x01 };
	char b64[2048], t[2100], big[1100];
	size_t k, j, len;
	int residues = 0;

	/* Real requests whose length leaves each remainder modulo 3:
	 * base64 with no, two and one '=' of padding. */
	for (int nl = -1; nl <= 2; nl++) {
		struct reqspec s = spec();

		s.nonce_len = nl < 0 ? -1 : 16 + nl;
		build_req(&s, &b);
		residues |= 1 << (b.n % 3);
		b64_of(b.b, b.n, b64, sizeof(b64));
		len = strlen(b64);
		CU_ASSERT_EQUAL_FATAL(b64[0], 'M');   /* a SEQUENCE, 0x30 */
		CU_ASSERT(get_decodes_to(b64, b.b, b.n));
		/* Without its padding. */
		for (k = len; k > 0 && b64[k - 1] == '='; k--)
			;
		snprintf(t, sizeof(t), "%.*s", (int)k, b64);
		CU_ASSERT(get_decodes_to(t, b.b, b.n));
		/* The padding percent-encoded. */
		snprintf(t, sizeof(t), "%.*s%s", (int)k, b64,
			 len - k == 2 ? "%3D%3d" : len - k == 1 ? "%3D" : "");
		CU_ASSERT(get_decodes_to(t, b.b, b.n));
		/* "/ocsp//MEk...", "/ocsp///MEk...", "/ocsp/%2FMEk...". */
		snprintf(t, sizeof(t), "/%s", b64);
		CU_ASSERT(get_decodes_to(t, b.b, b.n));
		snprintf(t, sizeof(t), "//%.*s", (int)k, b64);
		CU_ASSERT(get_decodes_to(t, b.b, b.n));
		snprintf(t, sizeof(t), "%%2F%s", b64);
		CU_ASSERT(get_decodes_to(t, b.b, b.n));
		/* One padding octet too few or too many, or padding on a
		 * length that needs none, is no base64. */
		if (len - k == 2) {
			snprintf(t, sizeof(t), "%.*s=", (int)k, b64);
			get_refused(t, "one '=' where two belong");
		}
		if (len - k == 1) {
			snprintf(t, sizeof(t), "%s=", b64);
			get_refused(t, "two '=' where one belongs");
		}
		if (len - k == 0) {
			snprintf(t, sizeof(t), "%s==", b64);
			get_refused(t, "padding after a whole quantum");
		}
		/* A length no base64 has: 4k+1 characters. */
		snprintf(t, sizeof(t), "%.*sA", (int)k, b64);
		if (k % 4 == 0)
			get_refused(t, "4k+1 characters");
	}
	CU_ASSERT_EQUAL(residues, 7);

	/* '+' raw, percent-encoded, or a space (raw in no URL: %20). */
	b64_of(plus, sizeof(plus), b64, sizeof(b64));
	CU_ASSERT_FATAL(strchr(b64, '+') != NULL);
	CU_ASSERT(get_decodes_to(b64, plus, sizeof(plus)));
	for (const char *const *r = (const char *const[]){ "%2B", "%2b",
	     "%20", NULL }; *r != NULL; r++) {
		for (j = k = 0; b64[j] != '\0'; j++)
			k += (size_t)snprintf(t + k, sizeof(t) - k, "%s",
					      b64[j] == '+' ? *r :
					      (char[]){ b64[j], '\0' });
		CU_ASSERT(get_decodes_to(t, plus, sizeof(plus)));
	}

	get_refused("", "empty (GET /ocsp/)");
	get_refused("/", "a slash only (GET /ocsp//)");
	get_refused("//", "slashes only");
	get_refused("%2F", "an encoded slash only");
	get_refused("=", "padding only");
	get_refused("M", "one character");
	get_refused("MA==MA==", "padding inside");
	get_refused("MAEA===", "three '='");
	get_refused("MA-_", "the URL-safe alphabet (RFC 4648 5)");
	get_refused("MA*A", "not base64");
	get_refused("MA%00", "a NUL");
	get_refused("MA%0aAA", "a newline (mbedTLS would skip it)");
	get_refused("%ZZMA", "a broken escape");
	get_refused("MA\"A", "a quote");
	memset(big, 'A', 1028);
	big[1028] = '\0';
	get_refused(big, "more than 1 KiB of base64");
}

/* The router hands "/ocsp//MEk..." to the GET handler with the tail
 * "/MEk...", and "/ocsp/" and "/ocsp//" with a tail the handler refuses
 * (an OCSP malformedRequest, not a 404). */
static void
test_get_double_slash_reaches_the_handler(void)
{
	static struct web_match m;
	const struct web_route *t;
	size_t n;
	const char *paths[] = { "/ocsp//MEkwRzBFMEMwQTAJBgUrDgMCGgUA",
				"/ocsp/", "/ocsp//", "/ocsp///MEk" };
	const char *tails[] = { "/MEkwRzBFMEMwQTAJBgUrDgMCGgUA", "", "/",
				"//MEk" };

	t = web_routes(&n);
	for (size_t i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL_FATAL(web_route_match_tail(t, n, "GET",
			paths[i], strlen(paths[i]), &m), WEB_ROUTE_OK);
		CU_ASSERT(m.route->fn == web_h_ocsp_get);
		CU_ASSERT_STRING_EQUAL(m.tail, tails[i]);
	}
}

/* One refresh pass of the shared CA, all the budget it wants. */
static struct ca_ocsp_pass
pass(void)
{
	struct ca_ocsp_pass p;
	struct mica_err err;

	CU_ASSERT_EQUAL(ca_ocsp_refresh_pass(g_ca, SIZE_MAX, &p, &err), 0);
	return p;
}

static int
pass_read_nothing(const struct ca_ocsp_pass *p)
{
	return p->signed_n == 0 && p->marked == 0 && p->due == 0 &&
	       p->walked == 0 && p->dropped == 0;
}

static void
test_passes_read_only_what_changed(void)
{
	static struct buf req;
	struct ca_ocsp_issuer is;
	struct ca_ocsp_answer a;
	struct ca_principal cli;
	struct ca_publish_stats st;
	struct ca_ocsp_pass p;
	struct seen s;
	struct mica_err err;
	unsigned char serial[20];
	size_t serial_len;
	int64_t seq = -1, before, v = 0;
	int pending = -1;
	char hex[41], sql[256], dir[PATH_MAX];

	issuer_of_g_ca(&is);
	ca_principal_cli(&cli);
	snprintf(dir, sizeof(dir), "%s/pub-incremental", g_tmp);
	/* Whatever the tests before left: signed, walked. */
	(void)pass();
	p = pass();
	CU_ASSERT(pass_read_nothing(&p));
	/* Nothing changed: nothing read, by either pass. */
	CU_ASSERT_EQUAL_FATAL(ca_publish_since(g_ca, dir, &seq, &st, &err), 0);
	CU_ASSERT(seq >= 0);
	CU_ASSERT(st.ocsp_read > 0);   /* the full pass reads them all */
	before = seq;
	CU_ASSERT_EQUAL(ca_publish_since(g_ca, dir, &seq, &st, &err), 0);
	CU_ASSERT_EQUAL(st.ocsp_read, 0);
	CU_ASSERT_EQUAL(st.ocsp_written + st.ocsp_removed, 0);
	CU_ASSERT_EQUAL(seq, before);
	CU_ASSERT_EQUAL(st.past, -1);
	/* A number past the store's last change (a store restored from an
	 * older backup, another store's) is a full pass, and the number
	 * reached is the store's, never the one given: echoed, it would
	 * skip every change up to it for good. */
	seq = before + 1000;
	CU_ASSERT_EQUAL(ca_publish_since(g_ca, dir, &seq, &st, &err), 0);
	CU_ASSERT_EQUAL(st.past, before + 1000);
	CU_ASSERT(st.ocsp_read > 0);
	CU_ASSERT_EQUAL(seq, before);

	/* A new certificate is marked, signed from its mark (no walk), and
	 * published alone. */
	issue_one(serial, &serial_len, hex);
	CU_ASSERT_EQUAL(ca_ocsp_pending(g_ca, 0, &pending, &err), 0);
	CU_ASSERT_EQUAL(pending, 1);
	/* ... not as a revocation; and the handle's process was issuing. */
	CU_ASSERT_EQUAL(ca_ocsp_pending(g_ca, 1, &pending, &err), 0);
	CU_ASSERT_EQUAL(pending, 0);
	CU_ASSERT(ca_issue_idle_ms(g_ca) < 60 * 1000);
	p = pass();
	CU_ASSERT_EQUAL(p.marked, 1);
	CU_ASSERT_EQUAL(p.signed_n, 1);
	CU_ASSERT_EQUAL(p.walked + p.due + p.dropped, 0);
	CU_ASSERT_EQUAL(ca_ocsp_pending(g_ca, 0, &pending, &err), 0);
	CU_ASSERT_EQUAL(pending, 0);
	CU_ASSERT_EQUAL(ca_publish_since(g_ca, dir, &seq, &st, &err), 0);
	CU_ASSERT_EQUAL(st.ocsp_read, 1);
	CU_ASSERT_EQUAL(st.ocsp_written, 1);
	CU_ASSERT(seq > before);

	/* A revocation: the published good response goes at the next
	 * publication even before anything is signed again... */
	CU_ASSERT_EQUAL_FATAL(ca_revoke(g_ca, &cli, hex, 1, &err), 0);
	CU_ASSERT_EQUAL(ca_publish_since(g_ca, dir, &seq, &st, &err), 0);
	CU_ASSERT_EQUAL(st.ocsp_read, 1);
	CU_ASSERT_EQUAL(st.ocsp_removed, 1);
	/* ... and the next refresh signs the revoked response at once. */
	p = pass();
	CU_ASSERT_EQUAL(p.marked, 1);
	CU_ASSERT_EQUAL(p.signed_n, 1);
	ca_request(&is, CA_OCSP_SHA1, serial, serial_len, 0, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(a.presigned, 1);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_REVOKED);
	CU_ASSERT_EQUAL(s.reason, 1);
	ca_ocsp_answer_free(&a);
	CU_ASSERT_EQUAL(ca_publish_since(g_ca, dir, &seq, &st, &err), 0);
	CU_ASSERT_EQUAL(st.ocsp_written, 1);
	p = pass();
	CU_ASSERT(pass_read_nothing(&p));

	/* A hold released: good again, from the mark. */
	issue_one(serial, &serial_len, hex);
	(void)pass();
	CU_ASSERT_EQUAL_FATAL(ca_revoke(g_ca, &cli, hex, 6, &err), 0);
	(void)pass();
	CU_ASSERT_EQUAL_FATAL(ca_unrevoke(g_ca, &cli, hex, &err), 0);
	p = pass();
	CU_ASSERT_EQUAL(p.marked, 1);
	CU_ASSERT_EQUAL(p.signed_n, 1);
	ca_request(&is, CA_OCSP_SHA1, serial, serial_len, 0, &req);
	ask(&req, &a, &s);
	CU_ASSERT_EQUAL(a.presigned, 1);
	CU_ASSERT_EQUAL(s.cstatus, CA_OCSP_GOOD);
	ca_ocsp_answer_free(&a);

	/* A response whose refresh time came is found through the index,
	 * signed again, and due no more. */
	snprintf(sql, sizeof(sql), "UPDATE ocsp_response SET refresh_at = 1 "
		 "WHERE serial = '%s'", hex);
	CU_ASSERT_EQUAL_FATAL(store_sql(sql, NULL, 0, NULL), 0);
	p = pass();
	CU_ASSERT_EQUAL(p.due, 1);
	CU_ASSERT_EQUAL(p.signed_n, 1);
	CU_ASSERT_EQUAL(p.marked + p.walked, 0);
	snprintf(sql, sizeof(sql), "SELECT refresh_at FROM ocsp_response "
		 "WHERE serial = '%s'", hex);
	CU_ASSERT_EQUAL(store_sql(sql, NULL, 0, &v), 0);
	CU_ASSERT(v > time(NULL));
	p = pass();
	CU_ASSERT(pass_read_nothing(&p));

	/* A mark nothing can sign (the certificate expired) is given up,
	 * not read again every pass. */
	issue_one(serial, &serial_len, hex);
	snprintf(sql, sizeof(sql), "UPDATE certificate SET not_after = not_before "
		 "WHERE serial = '%s'", hex);
	CU_ASSERT_EQUAL_FATAL(store_sql(sql, NULL, 0, NULL), 0);
	p = pass();
	CU_ASSERT_EQUAL(p.marked, 1);
	CU_ASSERT_EQUAL(p.dropped, 1);
	CU_ASSERT_EQUAL(p.signed_n, 0);
	p = pass();
	CU_ASSERT(pass_read_nothing(&p));

	/* Forgetting that the key was walked (an upgrade, a new signer)
	 * walks it once more, signing nothing that is fresh. */
	CU_ASSERT_EQUAL_FATAL(store_sql("DELETE FROM ocsp_walked", NULL, 0,
					NULL), 0);
	p = pass();
	CU_ASSERT_EQUAL(p.signed_n, 0);
	p = pass();
	CU_ASSERT(pass_read_nothing(&p));
	CU_ASSERT_EQUAL(store_sql("SELECT count(*) FROM ocsp_walked", NULL, 0,
				  &v), 0);
	CU_ASSERT(v >= 1);
}

/* ------------------------------------------------------------------ */

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
suite_init(void)
{
	static const char *const doms[] = { "contoso.test" };
	struct ca_init_opts o;
	struct ca_init_result res;
	struct mica_err err;

	mica_log_set_level(MICA_LOG_ERR);
	memset(&g_is, 0, sizeof(g_is));
	for (size_t i = 0; i < 20; i++) {
		g_is.name1[i] = (unsigned char)i;
		g_is.key1[i] = (unsigned char)(100 + i);
	}
	for (size_t i = 0; i < 32; i++) {
		g_is.name256[i] = (unsigned char)(50 + i);
		g_is.key256[i] = (unsigned char)(150 + i);
	}
	for (size_t i = 0; i < 64; i++) {
		if (i < 48) {
			g_is.name384[i] = (unsigned char)(30 + i);
			g_is.key384[i] = (unsigned char)(90 + i);
		}
		g_is.name512[i] = (unsigned char)(10 + i);
		g_is.key512[i] = (unsigned char)(180 + i);
	}
	snprintf(g_tmp, sizeof(g_tmp), "/tmp/mica-ocsp-XXXXXX");
	if (mkdtemp(g_tmp) == NULL)
		return -1;
	setenv("MICA_PASSPHRASE", PASSPHRASE, 1);
	snprintf(g_cadir, sizeof(g_cadir), "%s/ca", g_tmp);
	memset(&o, 0, sizeof(o));
	o.datadir = g_cadir;
	o.name = "OCSP Test Root";
	o.domains = doms;
	o.ndomains = 1;
	o.public_url = "http://ca.contoso.test:8080";
	if (ca_init(&o, &res, &err) != 0 ||
	    ca_open(g_cadir, CA_OPEN_UNLOCK, NULL, &g_ca, &err) != 0) {
		fprintf(stderr, "set-up: %s: %s\n", err.code, err.msg);
		return -1;
	}
	return 0;
}

static int
suite_clean(void)
{
	ca_close(g_ca);
	if (g_tmp[0] != '\0')
		nftw(g_tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int
main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "the request reader accepts what clients send (SHA-1, SHA-256, SHA-384, SHA-512, nonce, requestor, signature, extensions)",
		  test_reader_accepts_what_clients_send },
		{ "the request reader refuses truncated, BER, wrong version, a DEFAULT written out (version v1, critical FALSE), unknown hash (MD5, SHA-224, SHA3-256), a hash of another's length, serials not DER INTEGERs, too many CertIDs, bad nonces, critical extensions",
		  test_reader_refuses_hostile_requests },
		{ "the request reader takes a signed request, unchecked, and refuses an optionalSignature that is no Signature (not a SEQUENCE, a bad AlgorithmIdentifier, no BIT STRING, a wrong tag, trailing data, certs that are no Certificates)",
		  test_reader_refuses_a_malformed_signature },
		{ "the request reader takes any INTEGER serial: zero, negative, 21 octets are serials no certificate has",
		  test_reader_takes_any_integer_serial },
		{ "ResponseData round-trips through the signer's check, which refuses other keys, issuers, times",
		  test_response_data_round_trips_through_the_signers_check },
		{ "an invalidity date is a single extension the signer checks",
		  test_response_data_carries_the_invalidity_date },
		{ "the signer's check takes an invalidityDate alone, and refuses other single extensions made by hand",
		  test_signer_check_refuses_hand_made_single_extensions },
		{ "the signer's check refuses hand-made ResponseData",
		  test_signer_check_refuses_hand_made_response_data },
		{ "error responses are SEQUENCE { ENUMERATED }",
		  test_error_responses_are_five_octets },
		{ "the signer certifies only a short-lived OCSP responder for its own key",
		  test_signer_certifies_only_a_short_lived_ocsp_responder },
		{ "the responder answers good, revoked with time and reason, unknown; signed by a responder the CA certified",
		  test_responder_answers_good_revoked_unknown },
		{ "an answer of a good and an unknown is cached no longer than the unknown's nextUpdate",
		  test_responder_cache_life_is_the_earliest_next_update },
		{ "the responder answers unauthorized for other issuers, malformedRequest for garbage and for a serial not minimally encoded",
		  test_responder_refuses_other_issuers_and_garbage },
		{ "pre-signed answers are served, dropped and marked by a revocation, and re-made",
		  test_presigned_answers_and_their_invalidation },
		{ "SHA-384 and SHA-512 CertIDs get good, revoked, unknown with their own CertID echoed, never the SHA-1 one's pre-signed or kept answer",
		  test_responder_echoes_sha384_and_sha512_certids },
		{ "the store keeps a response without the responder certificate, served whole; a whole row from before is served as it is",
		  test_store_keeps_responses_without_the_responder_certificate },
		{ "an unknown answer is signed once and kept; a flood of serials never issued gets a ration of signatures, then tryLater; the store still comes first",
		  test_unknown_answers_are_kept_and_rationed },
		{ "answers signed for one request about issued certificates are rationed: then the pre-signed one, nonce ignored, or tryLater",
		  test_fresh_signatures_are_rationed },
		{ "a GET's base64 is taken unpadded, after leading slashes, with '+' raw, encoded or a space; what is no base64 is refused",
		  test_get_path_forms },
		{ "the router hands /ocsp//<base64>, /ocsp/ and /ocsp// to the GET handler",
		  test_get_double_slash_reaches_the_handler },
		{ "publication writes a request whose base64 has '//' under the name with the slashes merged",
		  test_publish_writes_names_with_an_empty_directory_merged },
		{ "a refresh or publication pass with nothing changed reads nothing; new, revoked, released and due certificates are signed at once and published alone",
		  test_passes_read_only_what_changed },
	};
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	s = CU_add_suite("ocsp", suite_init, suite_clean);
	if (s == NULL)
		return 99;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return 99;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

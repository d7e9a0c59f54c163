/*
 * fuzz/fuzz_ocsp.c - the OCSP request reader ca_ocsp_req_parse and the
 * signer's ResponseData check ca_ocsp_tbs_check (ca/ocsp.h): what the
 * network sends /ocsp, and what a front end taken over could send the
 * holder of the OCSP key.
 *
 * The input is an OCSPRequest (the seeds are requests OpenSSL made: SHA-1
 * and SHA-256 CertIDs, with and without a nonce; SHA-384 and SHA-512
 * ones are read too). Checked: the reader
 * returns 0 or -1, fails as malformedRequest (MICA_E_BADREQ,
 * "malformed_ocsp", a clean message) with nothing left in its output, and
 * on success says only what the input holds: 1..CA_OCSP_IDS_MAX CertIDs
 * inside the input, hashes of their algorithm's length, serials of 1..20
 * octets without a leading zero, a nonce of 1..128 octets inside the input.
 * A request read is answered as the responder would (good, revoked -
 * some with an invalidity date - unknown, in turn, with its nonce) and
 * the signer's check must accept
 * that ResponseData for the issuer the CertIDs name, and refuse it for
 * another responder key. The same bytes are then given to the signer's
 * check as a ResponseData: it returns 0 or -1 "signer_refused", never
 * anything else.
 */
#include "fuzz/fuzz.h"

#include <time.h>

#include "ca/der.h"
#include "ca/ocsp.h"

static int
inside(const uint8_t *data, size_t size, const unsigned char *p, size_t n)
{
	return p >= data && n <= size && p + n <= data + size;
}

/* The hashes of IS that a CertID with HASH is compared with; NULL for a
 * hash the reader should never have returned. */
static unsigned char *
issuer_hashes(struct ca_ocsp_issuer *is, int hash, unsigned char **key)
{
	switch (hash) {
	case CA_OCSP_SHA1:   *key = is->key1;   return is->name1;
	case CA_OCSP_SHA256: *key = is->key256; return is->name256;
	case CA_OCSP_SHA384: *key = is->key384; return is->name384;
	case CA_OCSP_SHA512: *key = is->key512; return is->name512;
	default:             *key = NULL;       return NULL;
	}
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
	static const unsigned char kh[20] = { 0x42 };
	struct ca_ocsp_req r, zero;
	struct ca_ocsp_issuer is;
	struct ca_ocsp_single s[CA_OCSP_IDS_MAX];
	struct ca_ocsp_tbs t;
	struct mica_err err;
	unsigned char *tbs = NULL, other[20];
	size_t tbs_len = 0, i;
	int64_t now = (int64_t)time(NULL);
	int rc, consistent = 1, have[CA_OCSP_SHA512 + 1] = { 0 };

	mica_err_clear(&err);
	rc = ca_ocsp_req_parse(data, size, &r, &err);
	fuzz_check_err("ca_ocsp_req_parse", rc, &err);
	memset(&zero, 0, sizeof(zero));
	if (rc != 0) {
		if (err.kind != MICA_E_BADREQ || strcmp(err.code, "malformed_ocsp") != 0)
			fuzz_fail("a refused request is not malformed_ocsp: %s", err.code);
		if (memcmp(&r, &zero, sizeof(r)) != 0)
			fuzz_fail("a refused request left output behind");
		goto check_tbs;
	}
	if (r.nids < 1 || r.nids > CA_OCSP_IDS_MAX)
		fuzz_fail("%zu CertIDs", r.nids);
	if (r.nonce != NULL && (r.nonce_len < 1 || r.nonce_len > CA_OCSP_NONCE_MAX ||
				!inside(data, size, r.nonce, r.nonce_len)))
		fuzz_fail("nonce of %zu octets, or outside the input", r.nonce_len);
	memset(&is, 0, sizeof(is));
	for (i = 0; i < r.nids; i++) {
		const struct ca_ocsp_certid *id = &r.ids[i];
		unsigned char *k, *n = issuer_hashes(&is, id->hash, &k);

		if (n == NULL || id->hash_len != ca_ocsp_hash_len(id->hash))
			fuzz_fail("CertID %zu: hash %d of %zu octets", i, id->hash,
				  id->hash_len);
		if (!inside(data, size, id->raw, id->raw_len) ||
		    !inside(data, size, id->name_hash, id->hash_len) ||
		    !inside(data, size, id->key_hash, id->hash_len))
			fuzz_fail("CertID %zu points outside the input", i);
		/* 0: a serial no certificate has (zero, negative, longer
		 * than 20 octets), answered unknown. */
		if (id->serial_len > 20 || (id->serial_len > 0 && id->serial[0] == 0))
			fuzz_fail("CertID %zu: serial of %zu octets", i, id->serial_len);
		/* The issuer the CertIDs name, if they all name one. */
		if (!have[id->hash]) {
			memcpy(n, id->name_hash, id->hash_len);
			memcpy(k, id->key_hash, id->hash_len);
			have[id->hash] = 1;
		} else if (memcmp(n, id->name_hash, id->hash_len) != 0 ||
			   memcmp(k, id->key_hash, id->hash_len) != 0) {
			consistent = 0;
		}
	}
	for (i = 0; i < r.nids; i++) {
		if (consistent && !ca_ocsp_certid_is(&r.ids[i], &is))
			fuzz_fail("CertID %zu does not name its own issuer", i);
		memset(&s[i], 0, sizeof(s[i]));
		s[i].certid = r.ids[i].raw;
		s[i].certid_len = r.ids[i].raw_len;
		s[i].status = (int)(i % 3);
		s[i].revoked_at = now - 60;
		s[i].reason = (int)(i % 2);
		/* Some revoked ones with an invalidity date (a single
		 * extension the signer must take). */
		if (s[i].status == CA_OCSP_REVOKED && i % 4 == 1)
			s[i].invalid_at = now - 3600;
		s[i].this_update = now;
		s[i].next_update = now + CA_OCSP_PERIOD;
	}
	memset(&t, 0, sizeof(t));
	memcpy(t.key_hash, kh, 20);
	t.produced_at = now;
	t.singles = s;
	t.nsingles = r.nids;
	t.nonce = r.nonce;
	t.nonce_len = r.nonce_len;
	if (ca_ocsp_tbs_encode(&t, &tbs, &tbs_len, &err) != 0)
		fuzz_fail("the answer to a request read could not be encoded: %s",
			  err.msg);
	if (consistent) {
		rc = ca_ocsp_tbs_check(&is, kh, now, 0, tbs, tbs_len, &err);
		if (rc != 0)
			fuzz_fail("the signer refused the answer to a request read: %s",
				  err.msg);
	}
	memset(other, 0x43, sizeof(other));
	if (ca_ocsp_tbs_check(&is, other, now, 0, tbs, tbs_len, &err) != -1)
		fuzz_fail("the signer accepted another responder's key");
	free(tbs);

check_tbs:
	/* The same bytes as a ResponseData a front end sends the signer. */
	memset(&is, 0, sizeof(is));
	mica_err_clear(&err);
	rc = ca_ocsp_tbs_check(&is, kh, now, 0, data, size, &err);
	fuzz_check_err("ca_ocsp_tbs_check", rc, &err);
	if (rc != 0 && strcmp(err.code, "signer_refused") != 0)
		fuzz_fail("the signer's check failed as %s", err.code);
	return 0;
}

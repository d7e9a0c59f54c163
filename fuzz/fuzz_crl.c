/*
 * fuzz/fuzz_crl.c - the CRL encoder ca_x509_tbs_crl and the CRL linter
 * ca_lint_crl (ca/x509.h), round-tripped through mbedTLS's CRL parser.
 *
 * The input is read as the content of a CRL:
 *
 *   octet 0       flags: 0x01 raw times, 0x02 raw serials, 0x04 raw
 *                 reasons, 0x08 raw CRL number, 0x10 invalidity dates,
 *                 0x80 sign for real
 *   octets 1..5   thisUpdate  (40 bits)
 *   octets 6..10  nextUpdate  (40 bits)
 *   octets 11..18 cRLNumber   (64 bits)
 *   then entries: length octet, serial octets, reason octet, 5 time octets
 *                 (and with 0x10, 5 octets of invalidity date: 0 none)
 *
 * Without the "raw" flags every field is folded into its valid range, so
 * most inputs are CRLs mica could publish; with them the values go in as
 * they are (zero, leading-zero or 21-octet serials, reason 7, 8 or -3, year
 * 10000, thisUpdate after nextUpdate, CRL number 0), as a bug in the
 * engine could hand them over.
 *
 * Checked: the encoder refuses, or the linter refuses, every invalid CRL
 * (nothing malformed is ever signed); every valid one is encoded and
 * passes the linter; whatever the encoder produces passes its linter; and
 * the signed CRL (dummy or real ECDSA signature) parses with
 * mbedtls_x509_crl_parse_der as version 2 with the same issuer, times and
 * entry count, each serial, revocation date, reason and invalidity date
 * round-tripping (the entry's extensions as RFC 5280 5.3.1 and 5.3.2 spell
 * them, rebuilt here byte for byte),
 * and, when really signed, a signature that verifies over mbedTLS's view
 * of the TBS.
 */
#include "fuzz/fuzz.h"

#include <time.h>

#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crl.h>
#if defined(MBEDTLS_USE_PSA_CRYPTO)
#include <psa/crypto.h>
#endif

#include "ca/der.h"
#include "ca/keys.h"
#include "ca/x509.h"

#define MAX_ENTRIES 1024
#define T_MIN CA_DER_TIME_MIN
#define T_LAST CA_DER_TIME_LAST

static struct ca_key *key;
static mbedtls_pk_context pub;
static unsigned char *issuer, aki[20];
static size_t issuer_len;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mica_err err;
	unsigned char *spki = NULL;
	size_t spki_len = 0;

#if defined(MBEDTLS_USE_PSA_CRYPTO)
	if (psa_crypto_init() != PSA_SUCCESS)
		fuzz_fail("psa_crypto_init");
#endif
	if (ca_key_generate(CA_KEY_EC_P256, &key, &err) != 0 ||
	    ca_key_spki(key, &spki, &spki_len, &err) != 0 ||
	    ca_x509_key_id(spki, spki_len, aki, &err) != 0 ||
	    ca_x509_name("Mica Fuzz CA", "Mica", &issuer, &issuer_len, &err) != 0)
		fuzz_fail("harness set-up: %s", err.msg);
	mbedtls_pk_init(&pub);
	if (mbedtls_pk_parse_public_key(&pub, spki, spki_len) != 0)
		fuzz_fail("harness set-up: own public key does not parse");
	free(spki);
	return 0;
}

/* Unix seconds -> calendar (proleptic Gregorian, UTC), Howard Hinnant's
 * civil_from_days: independent of gmtime and of the engine's own code. */
static void
civil(int64_t t, mbedtls_x509_time *out)
{
	int64_t days = t / 86400, secs = t % 86400, z, era, doe, yoe, doy, mp;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	out->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	out->year = (int)(yoe + era * 400 + (out->mon <= 2));
	out->hour = (int)(secs / 3600);
	out->min = (int)(secs / 60 % 60);
	out->sec = (int)(secs % 60);
}

static int
same_time(const mbedtls_x509_time *a, int64_t t)
{
	mbedtls_x509_time b;

	civil(t, &b);
	return a->year == b.year && a->mon == b.mon && a->day == b.day &&
	       a->hour == b.hour && a->min == b.min && a->sec == b.sec;
}

static int64_t
fold_time(uint64_t v)
{
	return T_MIN + (int64_t)(v % (uint64_t)(T_LAST - T_MIN + 1));
}

static int64_t
raw_time(uint64_t v)
{
	return (int64_t)v - (INT64_C(1) << 39);
}

/* RFC 5280 5.3.1, stated here again rather than taken from the code under
 * test: 7 is unassigned, and removeFromCRL (8) belongs in delta CRLs only,
 * which mica does not publish. */
static int
reason_valid(int r)
{
	return r >= 0 && r <= 10 && r != 7 && r != 8;
}

/* Does the parsed entry carry exactly the extensions of E: reasonCode
 * unless unspecified, then invalidityDate (a GeneralizedTime, Zulu, no
 * fraction) when it has one, none when neither? Rebuilt from the RFC, not
 * from the encoder. */
static int
entry_exts_match(const mbedtls_x509_crl_entry *pe, const struct ca_crl_entry *e)
{
	static const unsigned char reason_head[] = {
		0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01,
	};
	static const unsigned char invalid_head[] = {
		0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x18, 0x04, 0x11, 0x18, 0x0f,
	};
	unsigned char want[64];
	size_t n = 2;
	struct tm tm;
	time_t tt;

	if (e->reason != 0) {
		memcpy(want + n, reason_head, sizeof(reason_head));
		n += sizeof(reason_head);
		want[n++] = (unsigned char)e->reason;
	}
	if (e->invalid_at != 0) {
		char g[16];

		tt = (time_t)e->invalid_at;
		if (gmtime_r(&tt, &tm) == NULL ||
		    strftime(g, sizeof(g), "%Y%m%d%H%M%SZ", &tm) != 15)
			return 0;
		memcpy(want + n, invalid_head, sizeof(invalid_head));
		n += sizeof(invalid_head);
		memcpy(want + n, g, 15);
		n += 15;
	}
	if (n == 2)
		return pe->entry_ext.len == 0;
	want[0] = 0x30;
	want[1] = (unsigned char)(n - 2);
	/* mbedTLS: entry_ext.p at the SEQUENCE's tag, len its contents' */
	return pe->entry_ext.len == n - 2 && memcmp(pe->entry_ext.p, want, n) == 0;
}

/* The reasonCode of a parsed entry: 0 when absent, -1 when malformed.
 * mbedTLS points entry_ext at the crlEntryExtensions SEQUENCE's tag but
 * gives the length of its contents. */
static int
entry_reason(const mbedtls_x509_crl_entry *e)
{
	static const unsigned char head[] = {
		0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01,
	};
	const unsigned char *p = e->entry_ext.p;

	if (e->entry_ext.len == 0)
		return 0;
	/* SEQUENCE { SEQUENCE { reasonCode, OCTET STRING { ENUMERATED } } } */
	if (e->entry_ext.len != sizeof(head) + 1 || p[0] != 0x30 ||
	    p[1] != sizeof(head) + 1 || memcmp(p + 2, head, sizeof(head)) != 0)
		return -1;
	return p[2 + sizeof(head)];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const signed char reasons[] = { 0, 1, 2, 3, 4, 5, 6, 9, 10 };
	static struct ca_crl_entry entries[MAX_ENTRIES];
	struct ca_tbs_crl t;
	struct mica_err err, lerr;
	mbedtls_x509_crl crl;
	const mbedtls_x509_crl_entry *pe;
	const unsigned char *alg;
	unsigned char *tbs = NULL, *der = NULL, sig[CA_SIG_MAX];
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	size_t tbs_len = 0, der_len = 0, alg_len, sig_len, n = 0, i, off;
	unsigned flags;
	int valid = 1, rc, lrc, ret;

	if (size < 19)
		return 0;
	flags = data[0];
	memset(&t, 0, sizeof(t));
	if (flags & 0x01) {
		t.this_update = raw_time(fuzz_be(data + 1, 5));
		t.next_update = raw_time(fuzz_be(data + 6, 5));
	} else {
		t.this_update = fold_time(fuzz_be(data + 1, 5));
		t.next_update = t.this_update + 1 +
			(int64_t)(fuzz_be(data + 6, 5) % (400 * 86400));
		if (t.next_update > T_LAST)
			t.next_update = T_LAST;
		if (t.this_update >= t.next_update)
			t.this_update = t.next_update - 1;
	}
	t.crl_number = (int64_t)fuzz_be(data + 11, 8);
	if (!(flags & 0x08)) {
		t.crl_number &= INT64_MAX;
		if (t.crl_number == 0)
			t.crl_number = 1;
	}
	if (t.this_update < T_MIN || t.next_update > T_LAST ||
	    t.this_update >= t.next_update || t.crl_number <= 0)
		valid = 0;

	for (off = 19; off < size && n < MAX_ENTRIES; n++) {
		struct ca_crl_entry *e = &entries[n];
		size_t sl = (flags & 0x02) ? (data[off] & 0x1f) : 1 + data[off] % 20;

		if (size - off < 1 + sl + 1 + 5)
			break;
		off++;
		memset(e, 0, sizeof(*e));
		memcpy(e->serial, data + off, sl < 20 ? sl : 20);
		e->serial_len = (unsigned char)sl;
		if (!(flags & 0x02)) {
			/* a magnitude: no leading zeros, not zero */
			size_t z = 0;

			while (z < sl && e->serial[z] == 0)
				z++;
			if (z == sl) {
				e->serial[0] = 1;
				e->serial_len = 1;
			} else if (z > 0) {
				memmove(e->serial, e->serial + z, sl - z);
				e->serial_len = (unsigned char)(sl - z);
			}
			/* 20 octets encoded: a set top bit needs a sign octet */
			if (e->serial_len == 20 && (e->serial[0] & 0x80))
				e->serial[0] = (unsigned char)((e->serial[0] & 0x7f) | 0x01);
		}
		off += sl;
		e->reason = (flags & 0x04) ? (signed char)data[off] :
			reasons[data[off] % sizeof(reasons)];
		off++;
		e->revoked_at = (flags & 0x01) ? raw_time(fuzz_be(data + off, 5)) :
			fold_time(fuzz_be(data + off, 5));
		off += 5;
		if (flags & 0x10) {
			uint64_t v;

			if (size - off < 5)
				break;
			v = fuzz_be(data + off, 5);
			off += 5;
			/* folded: 0 (none) or a time in [1, revoked_at]: the
			 * store's range (0 says none; nothing before 1970) */
			if (v == 0)
				e->invalid_at = 0;
			else if (flags & 0x01)
				e->invalid_at = raw_time(v);
			else if (e->revoked_at >= 1)
				e->invalid_at = 1 + (int64_t)(v % (uint64_t)e->revoked_at);
			if (e->invalid_at != 0 &&
			    (e->invalid_at < 1 || e->invalid_at > e->revoked_at ||
			     e->reason == 6))
				valid = 0;
		}
		/* RFC 5280 4.1.2.2: positive, at most 20 octets as encoded */
		if (e->serial_len < 1 || e->serial[0] == 0 ||
		    e->serial_len + ((e->serial[0] & 0x80) != 0) > 20 ||
		    !reason_valid(e->reason) || e->revoked_at < T_MIN ||
		    e->revoked_at > T_LAST)
			valid = 0;
	}

	t.sig_alg = alg = ca_key_sig_alg(key, &alg_len);
	t.sig_alg_len = alg_len;
	t.issuer = issuer;
	t.issuer_len = issuer_len;
	memcpy(t.aki, aki, sizeof(aki));
	t.entries = n > 0 ? entries : NULL;
	t.nentries = n;

	memset(&err, 0, sizeof(err));
	rc = ca_x509_tbs_crl(&t, &tbs, &tbs_len, &err);
	fuzz_check_err("ca_x509_tbs_crl", rc, &err);
	if (rc != 0) {
		if (valid)
			fuzz_fail("encoder refused a valid CRL (%zu entries): %s", n, err.msg);
		if (tbs != NULL)
			fuzz_fail("encoder failed but returned a buffer");
		return 0;
	}
	memset(&lerr, 0, sizeof(lerr));
	lrc = ca_lint_crl(tbs, tbs_len, issuer, issuer_len, &lerr);
	fuzz_check_err("ca_lint_crl", lrc, &lerr);
	if (lrc != 0)
		fuzz_fail("the linter refuses what the encoder made (%s CRL): %s",
			  valid ? "valid" : "invalid", lerr.msg);
	if (!valid)
		fuzz_fail("an invalid CRL was encoded and passed the linter: it would be signed");

	/* Wrap: a dummy ECDSA-Sig-Value, or a real signature. */
	if (flags & 0x80) {
		if (ca_key_sign(key, tbs, tbs_len, sig, &sig_len, &err) != 0)
			fuzz_fail("signing failed: %s", err.msg);
	} else {
		static const unsigned char dummy[] = {
			0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01,
		};
		memcpy(sig, dummy, sizeof(dummy));
		sig_len = sizeof(dummy);
	}
	if (ca_x509_wrap(tbs, tbs_len, alg, alg_len, sig, sig_len, &der, &der_len, &err) != 0)
		fuzz_fail("ca_x509_wrap failed: %s", err.msg);

	mbedtls_x509_crl_init(&crl);
	ret = mbedtls_x509_crl_parse_der(&crl, der, der_len);
	if (ret != 0)
		fuzz_fail("mbedTLS refuses the CRL (%zu entries, -0x%04x)", n, (unsigned)-ret);
	if (crl.version != 2)
		fuzz_fail("mbedTLS reads CRL version %d", crl.version);
	if (crl.tbs.len != tbs_len || memcmp(crl.tbs.p, tbs, tbs_len) != 0)
		fuzz_fail("mbedTLS's TBS is not the encoded one");
	if (crl.issuer_raw.len != issuer_len || memcmp(crl.issuer_raw.p, issuer, issuer_len) != 0)
		fuzz_fail("issuer does not round-trip");
	if (!same_time(&crl.this_update, t.this_update) ||
	    !same_time(&crl.next_update, t.next_update))
		fuzz_fail("thisUpdate/nextUpdate do not round-trip (%lld, %lld)",
			  (long long)t.this_update, (long long)t.next_update);
	for (i = 0, pe = &crl.entry; pe != NULL && pe->serial.len > 0; pe = pe->next, i++) {
		const struct ca_crl_entry *e = &entries[i];
		const unsigned char *s = pe->serial.p;
		size_t sl = pe->serial.len;

		if (i >= n)
			fuzz_fail("mbedTLS sees more than %zu entries", n);
		/* the INTEGER's contents: a 0x00 sign octet when the top bit is set */
		if (sl > 1 && s[0] == 0 && (s[1] & 0x80)) {
			s++;
			sl--;
		}
		if (sl != e->serial_len || memcmp(s, e->serial, sl) != 0)
			fuzz_fail("entry %zu: serial does not round-trip", i);
		if (!same_time(&pe->revocation_date, e->revoked_at))
			fuzz_fail("entry %zu: revocation date %lld does not round-trip",
				  i, (long long)e->revoked_at);
		if (!entry_exts_match(pe, e)) {
			for (size_t k = 0; k < pe->entry_ext.len; k++)
				fprintf(stderr, "%02x", pe->entry_ext.p[k]);
			fputc('\n', stderr);
			fuzz_fail("entry %zu: reason %d, invalidity date %lld: other extensions (reason read %d)",
				  i, e->reason, (long long)e->invalid_at, entry_reason(pe));
		}
	}
	if (i != n)
		fuzz_fail("mbedTLS sees %zu entries, %zu were encoded", i, n);

	if (flags & 0x80) {
		if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), crl.tbs.p,
			       crl.tbs.len, hash) != 0 ||
		    mbedtls_pk_verify(&pub, MBEDTLS_MD_SHA256, hash, 32, sig, sig_len) != 0)
			fuzz_fail("the CRL's signature does not verify over mbedTLS's TBS");
	}
	mbedtls_x509_crl_free(&crl);
	free(der);
	free(tbs);
	return 0;
}

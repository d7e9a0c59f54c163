/*
 * tests/test_policy.c - names, profiles and the issuance policy.
 *
 * Everything under test is pure, so the suite is tables of cases: each row
 * says what it checks, its inputs and the expected outcome (return value
 * and error code). Hostile rows sit beside the happy ones.
 */
#include <CUnit/Basic.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "ca/ca_int.h"
#include "ca/names.h"
#include "ca/profile.h"
#include "util/err.h"

#define NOW      INT64_C(1790000000)          /* 2026-09-21 */
#define DAY      INT64_C(86400)
#define TEN_YEARS (3650 * DAY)

/* ------------------------------------------------------------------ */
/* ca_name_parse                                                       */
/* ------------------------------------------------------------------ */

struct name_case {
	const char *what;
	const char *text;
	int hint;
	int rc;
	int kind;            /* expected kind when rc == 0 */
	const char *value;   /* expected canonical value when rc == 0 */
};

static const struct name_case name_cases[] = {
	{ "plain host name", "www.contoso.test", 0, 0, CA_NAME_DNS,
	  "www.contoso.test" },
	{ "uppercase is canonicalised to lowercase", "WWW.Contoso.TEST", 0, 0,
	  CA_NAME_DNS, "www.contoso.test" },
	{ "one trailing dot is stripped", "www.contoso.test.", 0, 0,
	  CA_NAME_DNS, "www.contoso.test" },
	{ "two trailing dots are refused", "www.contoso.test..", 0, -1, 0, NULL },
	{ "leading dot is refused", ".contoso.test", 0, -1, 0, NULL },
	{ "empty label is refused", "www..contoso.test", 0, -1, 0, NULL },
	{ "single label is refused", "intranet", 0, -1, 0, NULL },
	{ "single label with a dot is refused", "intranet.", 0, -1, 0, NULL },
	{ "IDN punycode A-label is accepted", "xn--bcher-kva.contoso.test", 0,
	  0, CA_NAME_DNS, "xn--bcher-kva.contoso.test" },
	{ "an A-label in capitals is lowercased", "XN--MNCHEN-3YA.contoso.test",
	  0, 0, CA_NAME_DNS, "xn--mnchen-3ya.contoso.test" },
	{ "an A-label of a character beyond the BMP (CJK Extension B)",
	  "xn--fctt27jo60v.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--fctt27jo60v.contoso.test" },
	{ "an A-label of one non-ASCII letter", "www.xn--tda.test", 0, 0,
	  CA_NAME_DNS, "www.xn--tda.test" },
	/* IDNs in other scripts, valid under IDNA2008 (python3-idna
	 * decodes each). */
	{ "IDN: Chinese", "xn--wgv71a119e.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--wgv71a119e.contoso.test" },
	{ "IDN: Japanese kana and kanji", "xn--r8jz45g.contoso.test", 0, 0,
	  CA_NAME_DNS, "xn--r8jz45g.contoso.test" },
	{ "IDN: Cyrillic", "xn--e1afmkfd.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--e1afmkfd.contoso.test" },
	{ "IDN: Greek", "xn--hxajbheg2az3al.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--hxajbheg2az3al.contoso.test" },
	{ "IDN: Arabic", "xn--mgbh0fb.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--mgbh0fb.contoso.test" },
	{ "IDN: Hebrew", "xn--6dbbec0c.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--6dbbec0c.contoso.test" },
	{ "IDN: Devanagari", "xn--p1b6ci4b4b3a.contoso.test", 0, 0,
	  CA_NAME_DNS, "xn--p1b6ci4b4b3a.contoso.test" },
	{ "IDN: Korean", "xn--3e0bk47br7k.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--3e0bk47br7k.contoso.test" },
	{ "IDN: stra\xc3\x9f" "e (IDNA2008 keeps the sharp s)",
	  "xn--strae-oqa.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--strae-oqa.contoso.test" },
	{ "IDN: a small letter of Latin Extended-A (a with macron)",
	  "xn--yda.contoso.test", 0, 0, CA_NAME_DNS, "xn--yda.contoso.test" },
	{ "IDN: a hyphen inside, \"--\" past the fourth place",
	  "xn--ab--joa.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--ab--joa.contoso.test" },
	{ "IDN: a combining mark after a letter", "xn--ab-6tb.contoso.test",
	  0, 0, CA_NAME_DNS, "xn--ab-6tb.contoso.test" },
	{ "CONTEXTO: Catalan middle dot between two l (col\xc2\xb7legi)",
	  "xn--collegi-xma.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--collegi-xma.contoso.test" },
	{ "CONTEXTO: katakana middle dot in a Japanese label",
	  "xn--zcka1bbjc86a.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--zcka1bbjc86a.contoso.test" },
	{ "CONTEXTO: Greek numeral sign before a Greek letter",
	  "xn--x-kib4p.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--x-kib4p.contoso.test" },
	{ "CONTEXTO: Hebrew geresh after a Hebrew letter",
	  "xn--8dbd2g.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--8dbd2g.contoso.test" },
	{ "CONTEXTO: extended Arabic-Indic digits of one kind",
	  "xn--a-jycd.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--a-jycd.contoso.test" },
	{ "an A-label's basic letters in capitals are lowercased",
	  "xn--Bcher-kva.contoso.test", 0, 0, CA_NAME_DNS,
	  "xn--bcher-kva.contoso.test" },
	/* A-labels of U-labels IDNA2008 disallows (python3-idna refuses
	 * each). */
	{ "A-label of a snowman U+2603", "xn--n3h.probe.test", 0, -1, 0, NULL },
	{ "A-label of an emoji U+1F4A9", "xn--ls8h.probe.test", 0, -1, 0,
	  NULL },
	{ "A-label with U+2488 DIGIT ONE FULL STOP, a dot look-alike",
	  "xn--a-ecp.probe.test", 0, -1, 0, NULL },
	{ "A-label of a lone ZERO WIDTH JOINER", "xn--1ug.probe.test", 0, -1,
	  0, NULL },
	{ "A-label with a ZERO WIDTH NON-JOINER (CONTEXTJ, refused)",
	  "xn--a-rgn.probe.test", 0, -1, 0, NULL },
	{ "A-label beginning with an Arabic combining mark U+065B",
	  "xn--3hb.probe.test", 0, -1, 0, NULL },
	{ "A-label beginning with U+0300 COMBINING GRAVE",
	  "xn--a-ubb.probe.test", 0, -1, 0, NULL },
	{ "A-label with U+2024 ONE DOT LEADER", "xn--ab-l3t.probe.test", 0,
	  -1, 0, NULL },
	{ "A-label with U+3002 IDEOGRAPHIC FULL STOP", "xn--a-83t.probe.test",
	  0, -1, 0, NULL },
	{ "A-label with a variation selector U+FE0F", "xn--a-i89h.probe.test",
	  0, -1, 0, NULL },
	{ "A-label with a no-break space U+00A0", "xn--a-3ba.probe.test", 0,
	  -1, 0, NULL },
	{ "A-label of a fullwidth a U+FF41", "xn--mi7c.probe.test", 0, -1, 0,
	  NULL },
	{ "A-label of a mathematical bold a U+1D41A", "xn--gz1h.probe.test", 0,
	  -1, 0, NULL },
	{ "A-label of the ligature fi U+FB01", "xn--jm6c.probe.test", 0, -1, 0,
	  NULL },
	{ "A-label of a Roman numeral U+2163", "xn--t4g.probe.test", 0, -1, 0,
	  NULL },
	{ "A-label of a capital U+00DC", "xn--wca.probe.test", 0, -1, 0, NULL },
	{ "A-label of a capital U+0100 (Latin Extended-A pair)",
	  "xn--xda.probe.test", 0, -1, 0, NULL },
	{ "A-label of a Cyrillic capital U+0416", "xn--i0a.probe.test", 0, -1,
	  0, NULL },
	{ "A-label of private use U+E000", "xn--0y0c.probe.test", 0, -1, 0,
	  NULL },
	{ "A-label of private use plane 15 U+FFFFD", "xn--u496f.probe.test", 0,
	  -1, 0, NULL },
	{ "A-label of a noncharacter U+FDD0", "xn--266c.probe.test", 0, -1, 0,
	  NULL },
	{ "A-label of a U-label starting with a hyphen",
	  "xn----eha.probe.test", 0, -1, 0, NULL },
	{ "A-label of a U-label with \"--\" in its third and fourth places",
	  "xn--b--c-zra.probe.test", 0, -1, 0, NULL },
	{ "CONTEXTO: middle dot not between two l", "xn--la-0ea.probe.test", 0,
	  -1, 0, NULL },
	{ "CONTEXTO: Greek numeral sign before a Latin letter",
	  "xn--xa-63b.probe.test", 0, -1, 0, NULL },
	{ "CONTEXTO: Hebrew geresh after a Latin letter",
	  "xn--a-0jc.probe.test", 0, -1, 0, NULL },
	{ "CONTEXTO: katakana middle dot with no Japanese letter",
	  "xn--a-hju.probe.test", 0, -1, 0, NULL },
	{ "CONTEXTO: Arabic-Indic digits of both kinds",
	  "xn--a-bqc94b.probe.test", 0, -1, 0, NULL },
	{ "xn-- that is no Punycode (incomplete) is refused",
	  "xn--zz.contoso.test", 0, -1, 0, NULL },
	{ "xn-- with a digit alone is refused", "xn--9.contoso.test", 0, -1,
	  0, NULL },
	{ "xn-- of C1 controls is refused", "xn--abc.contoso.test", 0, -1, 0,
	  NULL },
	{ "xn-- of ASCII only is refused", "www.xn--hello-.test", 0, -1, 0,
	  NULL },
	{ "xn-- overflowing the decoder is refused",
	  "xn--99999999999999999999.contoso.test", 0, -1, 0, NULL },
	{ "xn-- in the last label is checked too", "www.contoso.xn--zz", 0, -1,
	  0, NULL },
	{ "a reserved \"--\" label (RFC 5890 R-LDH) is refused",
	  "ab--cd.probe.test", 0, -1, 0, NULL },
	{ "an R-LDH label of another prefix is refused", "www.xa--b.test", 0,
	  -1, 0, NULL },
	{ "an R-LDH label as an email's domain is refused",
	  "a@zz--top.contoso.test", 0, -1, 0, NULL },
	{ "\"--\" elsewhere in a label is fine", "a--b.contoso.test", 0, 0,
	  CA_NAME_DNS, "a--b.contoso.test" },
	{ "\"--\" from the fourth place on is fine", "abc--d.contoso.test", 0,
	  0, CA_NAME_DNS, "abc--d.contoso.test" },
	{ "raw UTF-8 is refused", "b\xc3\xbc" "cher.contoso.test", 0, -1, 0,
	  NULL },
	{ "underscore is refused", "_acme.contoso.test", 0, -1, 0, NULL },
	{ "underscore inside a label is refused", "my_host.contoso.test", 0,
	  -1, 0, NULL },
	{ "space is refused", "my host.contoso.test", 0, -1, 0, NULL },
	{ "label starting with a hyphen is refused", "-www.contoso.test", 0,
	  -1, 0, NULL },
	{ "label ending with a hyphen is refused", "www-.contoso.test", 0, -1,
	  0, NULL },
	{ "hyphen inside a label is fine", "w-w.contoso.test", 0, 0,
	  CA_NAME_DNS, "w-w.contoso.test" },
	{ "digits-only host label is fine", "123.contoso.test", 0, 0,
	  CA_NAME_DNS, "123.contoso.test" },
	{ "all-numeric TLD is refused", "host.123", 0, -1, 0, NULL },
	{ "an address given as DNS is refused", "192.0.2.1", CA_NAME_DNS, -1,
	  0, NULL },
	{ "a 63-octet label is accepted",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test",
	  0, 0, CA_NAME_DNS,
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test" },
	{ "a 64-octet label is refused",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test",
	  0, -1, 0, NULL },
	{ "wildcard as the whole leftmost label", "*.contoso.test", 0, 0,
	  CA_NAME_DNS, "*.contoso.test" },
	{ "uppercase wildcard name canonicalised", "*.WEB.Contoso.test", 0, 0,
	  CA_NAME_DNS, "*.web.contoso.test" },
	{ "wildcard in a middle label is refused", "a.*.contoso.test", 0, -1,
	  0, NULL },
	{ "partial wildcard *a is refused", "*a.contoso.test", 0, -1, 0, NULL },
	{ "partial wildcard a* is refused", "a*.contoso.test", 0, -1, 0, NULL },
	{ "double wildcard is refused", "*.*.contoso.test", 0, -1, 0, NULL },
	{ "wildcard over a TLD is refused", "*.test", 0, -1, 0, NULL },
	{ "bare star is refused", "*", 0, -1, 0, NULL },
	{ "star-dot alone is refused", "*.", 0, -1, 0, NULL },
	{ "empty string is refused", "", 0, -1, 0, NULL },
	{ "IPv4 address", "192.0.2.1", 0, 0, CA_NAME_IP, "192.0.2.1" },
	{ "IPv4 with hint", "10.0.0.1", CA_NAME_IP, 0, CA_NAME_IP, "10.0.0.1" },
	{ "IPv4 with a leading zero is refused", "010.0.0.1", CA_NAME_IP, -1,
	  0, NULL },
	{ "short IPv4 form is refused", "10.1", CA_NAME_IP, -1, 0, NULL },
	{ "IPv6 is canonicalised (RFC 5952)", "2001:DB8:0:0:0:0:0:1", 0, 0,
	  CA_NAME_IP, "2001:db8::1" },
	{ "IPv6 loopback", "::1", 0, 0, CA_NAME_IP, "::1" },
	{ "IPv4-mapped IPv6 is refused", "::ffff:10.1.2.3", 0, -1, 0, NULL },
	{ "IPv4-mapped IPv6 in hex is refused", "::FFFF:a01:203", CA_NAME_IP,
	  -1, 0, NULL },
	{ "an IPv6 address ending in a dotted quad is no mapping",
	  "64:ff9b::192.0.2.1", 0, 0, CA_NAME_IP, "64:ff9b::c000:201" },
	{ "IPv6 zone index is refused", "fe80::1%eth0", CA_NAME_IP, -1, 0,
	  NULL },
	{ "bracketed IPv6 is refused", "[::1]", CA_NAME_IP, -1, 0, NULL },
	{ "a host name given as IP is refused", "www.contoso.test", CA_NAME_IP,
	  -1, 0, NULL },
	{ "email: domain lowercased, local part kept", "Alice.Smith@Contoso.TEST",
	  0, 0, CA_NAME_EMAIL, "Alice.Smith@contoso.test" },
	{ "email with plus tag", "bob+vpn@contoso.test", CA_NAME_EMAIL, 0,
	  CA_NAME_EMAIL, "bob+vpn@contoso.test" },
	{ "email with empty local part is refused", "@contoso.test", 0, -1, 0,
	  NULL },
	{ "email with two @ is refused", "a@b@contoso.test", 0, -1, 0, NULL },
	{ "email with a space is refused", "a b@contoso.test", 0, -1, 0, NULL },
	{ "email with a control character is refused", "a\tb@contoso.test", 0,
	  -1, 0, NULL },
	{ "email with a quoted local part is refused", "\"a b\"@contoso.test",
	  0, -1, 0, NULL },
	{ "email with leading dot is refused", ".a@contoso.test", 0, -1, 0,
	  NULL },
	{ "email with double dot is refused", "a..b@contoso.test", 0, -1, 0,
	  NULL },
	{ "email with single-label domain is refused", "a@localhost", 0, -1, 0,
	  NULL },
	{ "email with wildcard domain is refused", "a@*.contoso.test", 0, -1,
	  0, NULL },
	{ "email with underscore domain is refused", "a@my_dom.test", 0, -1, 0,
	  NULL },
	{ "email with a 65-octet local part is refused",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "@contoso.test", 0, -1, 0, NULL },
	{ "email given where a DNS name is expected is refused",
	  "a@contoso.test", CA_NAME_DNS, -1, 0, NULL },
	{ "unknown kind hint is refused", "www.contoso.test", 3, -1, 0, NULL },
	/* UPNs: "upn:" and an email address, the prefix in any case */
	{ "UPN: domain lowercased, user part kept", "upn:Alice.Smith@Contoso.TEST",
	  0, 0, CA_NAME_UPN, "upn:Alice.Smith@contoso.test" },
	{ "UPN: the prefix in capitals is canonicalised",
	  "UPN:alice@contoso.test", 0, 0, CA_NAME_UPN,
	  "upn:alice@contoso.test" },
	{ "UPN with its kind as hint", "upn:alice@ad.contoso.test",
	  CA_NAME_UPN, 0, CA_NAME_UPN, "upn:alice@ad.contoso.test" },
	{ "UPN: a non-routable AD suffix is a DNS name too",
	  "upn:alice@contoso.local", 0, 0, CA_NAME_UPN,
	  "upn:alice@contoso.local" },
	{ "UPN: atext Windows allows", "upn:a_b-c.d'e!f#g$h%i&j@contoso.test",
	  0, 0, CA_NAME_UPN, "upn:a_b-c.d'e!f#g$h%i&j@contoso.test" },
	{ "UPN without the prefix is an email", "alice@contoso.test", 0, 0,
	  CA_NAME_EMAIL, "alice@contoso.test" },
	{ "UPN hint without the prefix is refused", "alice@contoso.test",
	  CA_NAME_UPN, -1, 0, NULL },
	{ "UPN given where an email is expected is refused",
	  "upn:alice@contoso.test", CA_NAME_EMAIL, -1, 0, NULL },
	{ "UPN given where a DNS name is expected is refused",
	  "upn:alice@contoso.test", CA_NAME_DNS, -1, 0, NULL },
	{ "UPN: nothing after the prefix is refused", "upn:", 0, -1, 0, NULL },
	{ "UPN: no @ is refused", "upn:alice", 0, -1, 0, NULL },
	{ "UPN: a single-label domain (NetBIOS) is refused",
	  "upn:alice@CONTOSO", 0, -1, 0, NULL },
	{ "UPN: two @ are refused", "upn:a@b@contoso.test", 0, -1, 0, NULL },
	{ "UPN: a second prefix is refused", "upn:upn:a@contoso.test", 0, -1,
	  0, NULL },
	{ "UPN: a space after the prefix is refused", "upn: a@contoso.test",
	  0, -1, 0, NULL },
	{ "UPN: a backslash (DOMAIN\\user) is refused",
	  "upn:CONTOSO\\alice@contoso.test", 0, -1, 0, NULL },
	{ "UPN: '+' (Windows refuses it) is refused", "upn:al+ice@contoso.test",
	  0, -1, 0, NULL },
	{ "UPN: '/' is refused", "upn:al/ice@contoso.test", 0, -1, 0, NULL },
	{ "UPN: '|' is refused", "upn:al|ice@contoso.test", 0, -1, 0, NULL },
	{ "UPN: '=' is refused", "upn:al=ice@contoso.test", 0, -1, 0, NULL },
	{ "UPN: '*' is refused", "upn:al*ice@contoso.test", 0, -1, 0, NULL },
	{ "UPN: '?' is refused", "upn:al?ice@contoso.test", 0, -1, 0, NULL },
	{ "UPN: a double dot is refused", "upn:a..b@contoso.test", 0, -1, 0,
	  NULL },
	{ "UPN: UTF-8 is refused", "upn:j\xc3\xbcrgen@contoso.test", 0, -1, 0,
	  NULL },
	{ "UPN: a 65-octet user part is refused",
	  "upn:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "@contoso.test", 0, -1, 0, NULL },
	{ "UPN: a wildcard domain is refused", "upn:a@*.contoso.test", 0, -1,
	  0, NULL },
};

static void
test_name_parse_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *c = &name_cases[i];
		struct ca_name n;
		struct mica_err err = { 0 };
		int rc = ca_name_parse(c->text, c->hint, &n, &err);

		if (rc != c->rc)
			fprintf(stderr, "\n  case \"%s\": rc %d (%s: %s)\n",
				c->what, rc, err.code, err.msg);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc == 0 && c->rc == 0) {
			CU_ASSERT_EQUAL(n.kind, c->kind);
			CU_ASSERT_STRING_EQUAL(n.value, c->value);
		}
		if (rc != 0 && c->rc != 0) {
			CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_name");
		}
	}
}

static void
test_name_length_limits(void)
{
	char buf[600];
	struct ca_name n;
	struct mica_err err = { 0 };
	size_t i;

	/* 4 labels of 63 + ".test"... build exactly 253 octets:
	 * 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
	memset(buf, 0, sizeof(buf));
	memset(buf, 'a', 253);
	buf[63] = buf[127] = buf[191] = '.';
	CU_ASSERT_EQUAL(ca_name_parse(buf, 0, &n, &err), 0);
	CU_ASSERT_EQUAL(strlen(n.value), 253);
	/* 253 plus the root dot is still the same 253-octet name */
	buf[253] = '.';
	CU_ASSERT_EQUAL(ca_name_parse(buf, 0, &n, &err), 0);
	CU_ASSERT_EQUAL(strlen(n.value), 253);
	/* 254 octets without a dot: too long */
	buf[253] = 'a';
	CU_ASSERT_EQUAL(ca_name_parse(buf, 0, &n, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_name");
	/* An international name in Unicode: quoted as given, and said to
	 * be one, with the form that works. */
	CU_ASSERT_EQUAL(ca_name_parse("m\xc3\xbcnchen.example.test", 0, &n, &err), -1);
	CU_ASSERT(strstr(err.msg, "invalid name \"m\xc3\xbcnchen.example.test\"") != NULL);
	CU_ASSERT(strstr(err.msg, "A-labels") != NULL);
	CU_ASSERT(strstr(err.msg, "xn--") != NULL);
	/* What could move a cursor, reorder the line or end the quote is
	 * quoted escaped: a blank, '"', ESC, U+202E, a stray byte. */
	CU_ASSERT_EQUAL(ca_name_parse("a b\"\x1b[2J\xe2\x80\xae\xff.example.test", 0,
				      &n, &err), -1);
	CU_ASSERT(strstr(err.msg, "invalid name \"a\\x20b\\x22\\x1B[2J"
			 "\\xE2\\x80\\xAE\\xFF.example.test\"") != NULL);
	/* A reserved label is named in the message, and why. */
	CU_ASSERT_EQUAL(ca_name_parse("www.ab--cd.probe.test", 0, &n, &err), -1);
	CU_ASSERT(strstr(err.msg, "label \"ab--cd\"") != NULL);
	CU_ASSERT(strstr(err.msg, "RFC 5890") != NULL);
	/* A disallowed code point is named, with the label and why. */
	CU_ASSERT_EQUAL(ca_name_parse("xn--a-ecp.probe.test", 0, &n, &err), -1);
	CU_ASSERT(strstr(err.msg, "label \"xn--a-ecp\" holds U+2488, a "
			 "symbol") != NULL);
	CU_ASSERT_EQUAL(ca_name_parse("xn--1ug.probe.test", 0, &n, &err), -1);
	CU_ASSERT(strstr(err.msg, "U+200D, a zero width joiner") != NULL);
	CU_ASSERT_EQUAL(ca_name_parse("xn--3hb.probe.test", 0, &n, &err), -1);
	CU_ASSERT(strstr(err.msg, "begins with U+065B, a combining mark") !=
		  NULL);
	CU_ASSERT_EQUAL(ca_name_parse("a@xn--ls8h.probe.test", 0, &n, &err),
			-1);
	CU_ASSERT(strstr(err.msg, "U+1F4A9") != NULL);

	/* far longer input is refused before being looked at, and the
	 * message does not quote it */
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	for (i = 50; i < sizeof(buf) - 1; i += 50)
		buf[i] = '.';
	CU_ASSERT_EQUAL(ca_name_parse(buf, 0, &n, &err), -1);
	CU_ASSERT_PTR_NULL(strstr(err.msg, "aaaaaaaa"));

	/* 254-octet email is the maximum accepted */
	memset(buf, 0, sizeof(buf));
	memset(buf, 'a', 64);
	buf[64] = '@';
	memset(buf + 65, 'b', 189);   /* 65 + 189 = 254 */
	buf[65 + 63] = buf[65 + 127] = '.';
	buf[65 + 188] = 't';
	CU_ASSERT_EQUAL(ca_name_parse(buf, CA_NAME_EMAIL, &n, &err), 0);
	CU_ASSERT_EQUAL(strlen(n.value), 254);
	buf[254] = 'x';
	CU_ASSERT_EQUAL(ca_name_parse(buf, CA_NAME_EMAIL, &n, &err), -1);

	/* A UPN's text, prefix included, is bounded as an email's: 254
	 * octets, so 250 after "upn:"; the certificate holds those 250. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "upn:", 4);
	memset(buf + 4, 'a', 64);
	buf[68] = '@';
	memset(buf + 69, 'b', 185);   /* 69 + 185 = 254 */
	buf[69 + 63] = buf[69 + 127] = '.';
	buf[69 + 184] = 't';
	CU_ASSERT_EQUAL(ca_name_parse(buf, 0, &n, &err), 0);
	CU_ASSERT_EQUAL(n.kind, CA_NAME_UPN);
	CU_ASSERT_EQUAL(strlen(n.value), 254);
	CU_ASSERT_EQUAL(strlen(ca_name_bare(&n)), CA_UPN_MAX);
	buf[254] = 'x';
	CU_ASSERT_EQUAL(ca_name_parse(buf, 0, &n, &err), -1);
	/* its message quotes a hostile UPN escaped, as any name's */
	CU_ASSERT_EQUAL(ca_name_parse("upn:a\x1b[2J@contoso.test", 0, &n, &err),
			-1);
	CU_ASSERT(strstr(err.msg, "\"upn:a\\x1B[2J@contoso.test\"") != NULL);
}

static void
test_name_messages_are_safe(void)
{
	struct ca_name n;
	struct mica_err err = { 0 };

	CU_ASSERT_EQUAL(ca_name_parse("bad_name.contoso.test", 0, &n, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "bad_name.contoso.test"));
	/* a name with an escape sequence is not quoted back */
	CU_ASSERT_EQUAL(ca_name_parse("a\x1b[31m.contoso.test", 0, &n, &err),
			-1);
	CU_ASSERT_PTR_NULL(strchr(err.msg, '\x1b'));
	CU_ASSERT_EQUAL(ca_name_parse(NULL, 0, &n, &err), -1);
	CU_ASSERT_EQUAL(ca_name_parse("x.test", 0, NULL, &err), -1);
	/* NULL err is allowed */
	CU_ASSERT_EQUAL(ca_name_parse("x", 0, &n, NULL), -1);
}

static void
test_name_ip_octets(void)
{
	struct ca_name n;
	static const unsigned char v4[4] = { 192, 0, 2, 1 };
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 1 };

	CU_ASSERT_EQUAL(ca_name_parse("192.0.2.1", 0, &n, NULL), 0);
	CU_ASSERT_EQUAL(n.ip_len, 4);
	CU_ASSERT_EQUAL(memcmp(n.ip, v4, 4), 0);
	CU_ASSERT_EQUAL(ca_name_parse("2001:db8:0::1", 0, &n, NULL), 0);
	CU_ASSERT_EQUAL(n.ip_len, 16);
	CU_ASSERT_EQUAL(memcmp(n.ip, v6, 16), 0);
	CU_ASSERT_STRING_EQUAL(n.value, "2001:db8::1");
	/* An IPv4-mapped address is no new name, but one a certificate of an
	 * earlier mica holds is read back (renewal, SCEP, ACME revocation). */
	CU_ASSERT_EQUAL(ca_name_parse("::ffff:192.0.2.1", 0, &n, NULL), -1);
	CU_ASSERT_EQUAL(ca_name_parse("::ffff:192.0.2.1", CA_NAME_STORED, &n, NULL), 0);
	CU_ASSERT_EQUAL(n.kind, CA_NAME_IP);
	CU_ASSERT_EQUAL(n.ip_len, 16);
	CU_ASSERT_STRING_EQUAL(n.value, "::ffff:192.0.2.1");
	{
		struct ca_name *v = NULL;
		size_t cnt = 0;

		CU_ASSERT_EQUAL_FATAL(ca_stored_names_parse("www.contoso.test\n::ffff:10.1.2.3",
							    &v, &cnt, NULL), 0);
		CU_ASSERT_EQUAL(cnt, 2);
		CU_ASSERT_STRING_EQUAL(v[1].value, "::ffff:10.1.2.3");
		free(v);
	}
}

static void
test_name_kind_str(void)
{
	CU_ASSERT_STRING_EQUAL(ca_name_kind_str(CA_NAME_DNS), "dns");
	CU_ASSERT_STRING_EQUAL(ca_name_kind_str(CA_NAME_IP), "ip");
	CU_ASSERT_STRING_EQUAL(ca_name_kind_str(CA_NAME_EMAIL), "email");
	CU_ASSERT_STRING_EQUAL(ca_name_kind_str(CA_NAME_UPN), "upn");
	CU_ASSERT_PTR_NOT_NULL(ca_name_kind_str(99));
}

/* ------------------------------------------------------------------ */
/* Profiles                                                            */
/* ------------------------------------------------------------------ */

static void
test_profiles_builtin(void)
{
	static const char *const order[] = { "server", "client", "email",
					     "ipsec", "codesign" };
	const struct ca_profile *p;
	size_t n = 0, i;

	p = ca_profiles(&n);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	for (i = 0; i < n; i++) {
		CU_ASSERT_STRING_EQUAL(p[i].name, order[i]);
		CU_ASSERT_PTR_NOT_NULL(p[i].description);
		CU_ASSERT_PTR_NULL(strchr(p[i].description, '\n'));
		CU_ASSERT(p[i].default_days > 0);
		CU_ASSERT(p[i].default_days <= p[i].max_days);
		CU_ASSERT_EQUAL(p[i].min_names, 1);
		CU_ASSERT_PTR_EQUAL(ca_profile_find(order[i]), &p[i]);
		/* no profile may make a CA */
		CU_ASSERT_EQUAL(p[i].ku_rsa & (CA_KU_KEY_CERT_SIGN |
					       CA_KU_CRL_SIGN), 0);
		CU_ASSERT_EQUAL(p[i].ku_ec & (CA_KU_KEY_CERT_SIGN |
					      CA_KU_CRL_SIGN), 0);
		/* keyEncipherment is RSA-only */
		CU_ASSERT_EQUAL(p[i].ku_ec & CA_KU_KEY_ENCIPHERMENT, 0);
	}
	CU_ASSERT_PTR_NULL(ca_profile_find("Server"));
	CU_ASSERT_PTR_NULL(ca_profile_find("subca"));
	CU_ASSERT_PTR_NULL(ca_profile_find(""));
	CU_ASSERT_PTR_NULL(ca_profile_find(NULL));

	p = ca_profile_find("server");
	CU_ASSERT_EQUAL(p->eku, CA_EKU_SERVER_AUTH);
	CU_ASSERT_EQUAL(p->name_kinds, CA_NAME_DNS | CA_NAME_IP);
	CU_ASSERT_EQUAL(p->ku_rsa, CA_KU_DIGITAL_SIGNATURE | CA_KU_KEY_ENCIPHERMENT);
	CU_ASSERT_EQUAL(p->ku_ec, CA_KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(p->default_days, 365);
	CU_ASSERT_EQUAL(p->max_days, 398);
	p = ca_profile_find("client");
	CU_ASSERT_EQUAL(p->eku, CA_EKU_CLIENT_AUTH);
	/* RFC 5280 4.2.1.12: clientAuth alone goes with digitalSignature or
	 * keyAgreement, never keyEncipherment, whatever the key */
	CU_ASSERT_EQUAL(p->ku_rsa, CA_KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(p->ku_ec, CA_KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(p->name_kinds, CA_NAME_EMAIL | CA_NAME_DNS |
			CA_NAME_UPN);
	CU_ASSERT_EQUAL(p->max_days, 825);
	p = ca_profile_find("email");
	CU_ASSERT_EQUAL(p->eku, CA_EKU_EMAIL_PROTECTION);
	CU_ASSERT_EQUAL(p->name_kinds, CA_NAME_EMAIL);
	CU_ASSERT_EQUAL(p->ku_ec, CA_KU_DIGITAL_SIGNATURE | CA_KU_KEY_AGREEMENT);
	p = ca_profile_find("ipsec");
	CU_ASSERT_EQUAL(p->eku, CA_EKU_IPSEC_IKE | CA_EKU_SERVER_AUTH |
			CA_EKU_CLIENT_AUTH);
	CU_ASSERT_EQUAL(p->name_kinds, CA_NAME_DNS | CA_NAME_IP | CA_NAME_EMAIL);
	/* a UPN only in client certificates */
	for (i = 0; i < n; i++) {
		const struct ca_profile *q = &ca_profiles(NULL)[i];

		CU_ASSERT_EQUAL((q->name_kinds & CA_NAME_UPN) != 0,
				strcmp(q->name, "client") == 0);
	}
	p = ca_profile_find("codesign");
	CU_ASSERT_EQUAL(p->eku, CA_EKU_CODE_SIGNING);
	CU_ASSERT_EQUAL(p->ku_rsa, CA_KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(p->max_days, 1095);
}

/* ------------------------------------------------------------------ */
/* ca_name_in_domain and ca_scope_covers                               */
/* ------------------------------------------------------------------ */

struct domain_case {
	const char *what;
	const char *name;
	const char *domain;
	int expect;
};

static const struct domain_case domain_cases[] = {
	{ "host in the domain", "www.contoso.test", "contoso.test", 1 },
	{ "deep sub-domain", "a.b.c.contoso.test", "contoso.test", 1 },
	{ "the domain itself", "contoso.test", "contoso.test", 1 },
	{ "suffix without a label boundary", "evilcontoso.test",
	  "contoso.test", 0 },
	{ "domain as a prefix of an evil name", "contoso.test.evil.test",
	  "contoso.test", 0 },
	{ "parent of the domain", "test.test", "contoso.test", 0 },
	{ "wildcard under the domain", "*.a.contoso.test", "contoso.test", 1 },
	{ "wildcard directly under the domain", "*.contoso.test",
	  "contoso.test", 1 },
	{ "domain compared case-insensitively", "www.contoso.test",
	  "Contoso.TEST", 1 },
	{ "domain with a trailing dot", "www.contoso.test", "contoso.test.", 1 },
	{ "empty domain matches nothing", "www.contoso.test", "", 0 },
	{ "a wildcard domain matches nothing", "www.contoso.test",
	  "*.contoso.test", 0 },
	{ "email under the domain", "alice@contoso.test", "contoso.test", 1 },
	{ "email in a sub-domain", "alice@mail.contoso.test", "contoso.test",
	  1 },
	{ "email with a look-alike domain", "alice@evilcontoso.test",
	  "contoso.test", 0 },
	{ "UPN under the domain", "upn:alice@contoso.test", "contoso.test",
	  1 },
	{ "UPN in a sub-domain", "upn:alice@ad.contoso.test", "contoso.test",
	  1 },
	{ "UPN with a look-alike domain", "upn:alice@evilcontoso.test",
	  "contoso.test", 0 },
	{ "UPN whose user part names the domain", "upn:contoso.test@evil.test",
	  "contoso.test", 0 },
	{ "IPv4 never under a domain", "192.0.2.1", "contoso.test", 0 },
	{ "IPv6 never under a domain", "2001:db8::1", "contoso.test", 0 },
};

static void
test_name_in_domain_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(domain_cases) / sizeof(domain_cases[0]); i++) {
		const struct domain_case *c = &domain_cases[i];
		struct ca_name n;

		CU_ASSERT_EQUAL_FATAL(ca_name_parse(c->name, 0, &n, NULL), 0);
		if (ca_name_in_domain(&n, c->domain) != c->expect)
			fprintf(stderr, "\n  case \"%s\" failed\n", c->what);
		CU_ASSERT_EQUAL(ca_name_in_domain(&n, c->domain), c->expect);
	}
	CU_ASSERT_EQUAL(ca_name_in_domain(NULL, "contoso.test"), 0);
}

struct scope_case {
	const char *what;
	const char *pattern;
	const char *name;
	int expect;
};

static const struct scope_case scope_cases[] = {
	{ "wildcard pattern covers one label below", "*.web.contoso.test",
	  "a.web.contoso.test", 1 },
	{ "wildcard pattern covers the literal wildcard", "*.web.contoso.test",
	  "*.web.contoso.test", 1 },
	{ "wildcard pattern does not cover two labels below",
	  "*.web.contoso.test", "a.b.web.contoso.test", 0 },
	{ "wildcard pattern does not cover its base", "*.web.contoso.test",
	  "web.contoso.test", 0 },
	{ "wildcard pattern does not cover a deeper wildcard",
	  "*.web.contoso.test", "*.a.web.contoso.test", 0 },
	{ "wildcard pattern does not cover a look-alike",
	  "*.web.contoso.test", "a.evilweb.contoso.test", 0 },
	{ "exact pattern matches exactly", "www.contoso.test",
	  "www.contoso.test", 1 },
	{ "exact pattern does not cover sub-domains", "contoso.test",
	  "www.contoso.test", 0 },
	{ "exact pattern is case-insensitive", "WWW.contoso.test",
	  "www.contoso.test", 1 },
	{ "literal name does not cover a wildcard", "a.web.contoso.test",
	  "*.web.contoso.test", 0 },
	{ "IP pattern matches by octets", "2001:db8:0::1", "2001:db8::1", 1 },
	{ "IP pattern does not match another address", "192.0.2.1",
	  "192.0.2.2", 0 },
	{ "an IPv4-mapped pattern (no name) covers nothing, its IPv4 neither",
	  "::ffff:192.0.2.1", "192.0.2.1", 0 },
	{ "email pattern matches exactly", "alice@contoso.test",
	  "alice@contoso.test", 1 },
	{ "email pattern does not match another mailbox",
	  "alice@contoso.test", "bob@contoso.test", 0 },
	{ "email pattern keeps the local part's case",
	  "alice@contoso.test", "Alice@contoso.test", 0 },
	{ "email pattern keeps the local part's case (upper pattern)",
	  "ALICE@contoso.test", "alice@contoso.test", 0 },
	{ "email pattern matches the domain in any case",
	  "Alice@CONTOSO.test", "Alice@contoso.TEST", 1 },
	{ "DNS pattern does not cover an email in that domain",
	  "contoso.test", "alice@contoso.test", 0 },
	{ "garbage pattern covers nothing", "not a name", "www.contoso.test",
	  0 },
	{ "UPN pattern matches exactly", "upn:alice@contoso.test",
	  "upn:alice@contoso.test", 1 },
	{ "UPN pattern with the prefix and domain in capitals",
	  "UPN:alice@CONTOSO.test", "upn:alice@contoso.test", 1 },
	{ "UPN pattern keeps the user part's case", "upn:alice@contoso.test",
	  "upn:Alice@contoso.test", 0 },
	{ "UPN pattern does not match another account",
	  "upn:alice@contoso.test", "upn:bob@contoso.test", 0 },
	{ "email pattern does not cover the same UPN", "alice@contoso.test",
	  "upn:alice@contoso.test", 0 },
	{ "UPN pattern does not cover the same email", "upn:alice@contoso.test",
	  "alice@contoso.test", 0 },
	{ "DNS pattern does not cover a UPN in that domain", "contoso.test",
	  "upn:alice@contoso.test", 0 },
	{ "wildcard pattern does not cover a UPN under it", "*.contoso.test",
	  "upn:alice@ad.contoso.test", 0 },
};

static void
test_scope_covers_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(scope_cases) / sizeof(scope_cases[0]); i++) {
		const struct scope_case *c = &scope_cases[i];
		struct ca_name n;

		CU_ASSERT_EQUAL_FATAL(ca_name_parse(c->name, 0, &n, NULL), 0);
		if (ca_scope_covers(c->pattern, &n) != c->expect)
			fprintf(stderr, "\n  case \"%s\" failed\n", c->what);
		CU_ASSERT_EQUAL(ca_scope_covers(c->pattern, &n), c->expect);
	}
	CU_ASSERT_EQUAL(ca_scope_covers(NULL, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* ca_policy_check                                                     */
/* ------------------------------------------------------------------ */

static const char *const domains[] = { "contoso.test", "fabrikam.example" };

#define RSA2048 CA_PUBKEY_RSA, 2048
#define P256    CA_PUBKEY_EC_P256, 256
#define P384    CA_PUBKEY_EC_P384, 384

struct policy_case {
	const char *what;
	const char *profile;
	const char *names[4];        /* NULL-terminated */
	int no_domains;              /* the CA has no domains configured */
	int scoped;
	const char *scope_profile;
	int scope_list;              /* pass scope[] (else scope_names NULL) */
	const char *scope[4];
	int key_kind, key_bits;
	int days;                    /* requested */
	int64_t ca_left;             /* ca_not_after - now; 0: ten years */
	int rc;
	const char *code;            /* expected error code, or NULL */
	int want_days;               /* checked when rc == 0 and non-zero */
	int want_clamped;
};

static const struct policy_case policy_cases[] = {
	/* names and domains */
	{ "a name in the domain is issued", "server",
	  { "www.contoso.test" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0, 0, NULL,
	  365, 0 },
	{ "names in two configured domains", "server",
	  { "www.contoso.test", "fabrikam.example" }, 0, 0, NULL, 0, { NULL },
	  P256, 0, 0, 0, NULL, 0, 0 },
	{ "refuses a name outside the allowed domains", "server",
	  { "www.contoso.test", "www.evil.test" }, 0, 0, NULL, 0, { NULL },
	  P256, 0, 0, -1, "name_not_allowed", 0, 0 },
	{ "refuses a look-alike domain", "server", { "evilcontoso.test" }, 0,
	  0, NULL, 0, { NULL }, P256, 0, 0, -1, "name_not_allowed", 0, 0 },
	{ "refuses the domain as a prefix", "server",
	  { "contoso.test.evil.test" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0,
	  -1, "name_not_allowed", 0, 0 },
	{ "wildcard under the domain is issued", "server",
	  { "*.web.contoso.test" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0, 0,
	  NULL, 0, 0 },
	{ "email name refused by the server profile", "server",
	  { "alice@contoso.test" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0, -1,
	  "name_kind_not_allowed", 0, 0 },
	{ "email name accepted by the email profile", "email",
	  { "alice@contoso.test" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0, 0,
	  NULL, 0, 0 },
	{ "DNS name refused by the email profile", "email",
	  { "www.contoso.test" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0, -1,
	  "name_kind_not_allowed", 0, 0 },
	{ "email outside the domains refused", "email",
	  { "alice@evil.test" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0, -1,
	  "name_not_allowed", 0, 0 },
	{ "client profile takes email and DNS", "client",
	  { "alice@contoso.test", "phone.contoso.test" }, 0, 0, NULL, 0,
	  { NULL }, P256, 0, 0, 0, NULL, 0, 0 },
	{ "client profile refuses IP", "client", { "192.0.2.1" }, 0, 0, NULL,
	  0, { NULL }, P256, 0, 0, -1, "name_kind_not_allowed", 0, 0 },
	{ "codesign refuses IP", "codesign", { "192.0.2.1" }, 0, 0, NULL, 0,
	  { NULL }, P256, 0, 0, -1, "name_kind_not_allowed", 0, 0 },
	{ "ipsec takes DNS, IP and email from an admin", "ipsec",
	  { "vpn.contoso.test", "192.0.2.1", "vpn@contoso.test" }, 0, 0, NULL,
	  0, { NULL }, P256, 0, 0, 0, NULL, 0, 0 },
	{ "admin may put an IP in a server certificate", "server",
	  { "www.contoso.test", "2001:db8::1" }, 0, 0, NULL, 0, { NULL }, P256,
	  0, 0, 0, NULL, 0, 0 },
	{ "refuses the unspecified IPv4 address, even to an admin", "server",
	  { "0.0.0.0" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0, -1,
	  "name_not_allowed", 0, 0 },
	{ "refuses the unspecified IPv6 address", "server", { "::" }, 0, 0,
	  NULL, 0, { NULL }, P256, 0, 0, -1, "name_not_allowed", 0, 0 },
	{ "refuses the IPv4 broadcast address", "server",
	  { "255.255.255.255" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0, -1,
	  "name_not_allowed", 0, 0 },
	{ "refuses an IPv4 multicast address", "server", { "224.0.0.251" }, 0,
	  0, NULL, 0, { NULL }, P256, 0, 0, -1, "name_not_allowed", 0, 0 },
	{ "refuses an IPv6 multicast address", "ipsec", { "ff02::1" }, 0, 0,
	  NULL, 0, { NULL }, P256, 0, 0, -1, "name_not_allowed", 0, 0 },
	{ "the last unicast IPv4 address before multicast is issued", "server",
	  { "223.255.255.254" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0, 0, NULL,
	  0, 0 },
	{ "a token listing a multicast address gets it no more", "server",
	  { "239.1.2.3" }, 0, 1, NULL, 1, { "239.1.2.3" }, P256, 0, 0, -1,
	  "name_not_allowed", 0, 0 },
	{ "no names at all", "server", { NULL }, 0, 0, NULL, 0, { NULL }, P256,
	  0, 0, -1, "no_names", 0, 0 },
	{ "no domains configured: admin may issue", "server",
	  { "www.anything.test" }, 1, 0, NULL, 0, { NULL }, P256, 0, 0, 0,
	  NULL, 0, 0 },
	{ "no domains configured: a token may not", "server",
	  { "www.anything.test" }, 1, 1, NULL, 0, { NULL }, P256, 0, 0, -1,
	  "name_not_allowed", 0, 0 },
	{ "no domains configured: not even a token listing the name", "server",
	  { "www.anything.test" }, 1, 1, NULL, 1, { "www.anything.test" },
	  P256, 0, 0, -1, "name_not_allowed", 0, 0 },
	{ "no domains configured: token may have a listed IP", "server",
	  { "192.0.2.1" }, 1, 1, NULL, 1, { "192.0.2.1" }, P256, 0, 0, 0, NULL,
	  0, 0 },

	{ "client profile takes a UPN", "client",
	  { "upn:alice@contoso.test", "alice@contoso.test" }, 0, 0, NULL, 0,
	  { NULL }, P256, 0, 0, 0, NULL, 0, 0 },
	{ "server profile refuses a UPN", "server",
	  { "www.contoso.test", "upn:alice@contoso.test" }, 0, 0, NULL, 0,
	  { NULL }, P256, 0, 0, -1, "name_kind_not_allowed", 0, 0 },
	{ "email profile refuses a UPN", "email", { "upn:alice@contoso.test" },
	  0, 0, NULL, 0, { NULL }, P256, 0, 0, -1, "name_kind_not_allowed", 0,
	  0 },
	{ "ipsec profile refuses a UPN", "ipsec", { "upn:alice@contoso.test" },
	  0, 0, NULL, 0, { NULL }, P256, 0, 0, -1, "name_kind_not_allowed", 0,
	  0 },
	{ "codesign profile refuses a UPN", "codesign",
	  { "upn:alice@contoso.test" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0,
	  -1, "name_kind_not_allowed", 0, 0 },
	{ "UPN outside the domains refused", "client",
	  { "upn:alice@evil.test" }, 0, 0, NULL, 0, { NULL }, P256, 0, 0, -1,
	  "name_not_allowed", 0, 0 },
	{ "UPN: no domains configured, a token may not", "client",
	  { "upn:alice@contoso.test" }, 1, 1, NULL, 1,
	  { "upn:alice@contoso.test" }, P256, 0, 0, -1, "name_not_allowed", 0,
	  0 },

	/* token scope */
	{ "scoped UPN", "client", { "upn:alice@contoso.test" }, 0, 1, "client",
	  1, { "upn:alice@contoso.test" }, P256, 0, 0, 0, NULL, 0, 0 },
	{ "scoped UPN not listed", "client", { "upn:bob@contoso.test" }, 0, 1,
	  "client", 1, { "upn:alice@contoso.test" }, P256, 0, 0, -1,
	  "name_not_in_scope", 0, 0 },
	{ "a scope listing the email does not grant the UPN", "client",
	  { "upn:alice@contoso.test" }, 0, 1, "client", 1,
	  { "alice@contoso.test" }, P256, 0, 0, -1, "name_not_in_scope", 0, 0 },
	/* A UPN is an AD account: "any name in the domains" would be any
	 * account, so a token without a name list gets none (as an IP). */
	{ "scoped token, no name list: no UPN, even in the domains", "client",
	  { "upn:administrator@contoso.test" }, 0, 1, NULL, 0, { NULL }, P256,
	  0, 0, -1, "name_not_allowed", 0, 0 },
	{ "scoped token, no name list: its DNS name, but not a UPN beside it",
	  "client", { "pc1.contoso.test", "upn:alice@contoso.test" }, 0, 1,
	  "client", 0, { NULL }, P256, 0, 0, -1, "name_not_allowed", 0, 0 },
	{ "unscoped (admin): any UPN in the domains", "client",
	  { "upn:administrator@contoso.test" }, 0, 0, NULL, 0, { NULL }, P256,
	  0, 0, 0, NULL, 0, 0 },
	{ "scoped token within domains, no name list", "server",
	  { "www.contoso.test" }, 0, 1, NULL, 0, { NULL }, P256, 0, 0, 0, NULL,
	  0, 0 },
	{ "scoped token outside domains", "server", { "www.evil.test" }, 0, 1,
	  NULL, 0, { NULL }, P256, 0, 0, -1, "name_not_allowed", 0, 0 },
	{ "scope profile matches", "server", { "www.contoso.test" }, 0, 1,
	  "server", 0, { NULL }, P256, 0, 0, 0, NULL, 0, 0 },
	{ "scope profile mismatch", "client", { "alice@contoso.test" }, 0, 1,
	  "server", 0, { NULL }, P256, 0, 0, -1, "profile_not_in_scope", 0, 0 },
	{ "scope profile ignored for an admin", "client",
	  { "alice@contoso.test" }, 0, 0, "server", 0, { NULL }, P256, 0, 0, 0,
	  NULL, 0, 0 },
	{ "scope wildcard covers one label below", "server",
	  { "a.web.contoso.test" }, 0, 1, NULL, 1, { "*.web.contoso.test" },
	  P256, 0, 0, 0, NULL, 0, 0 },
	{ "scope wildcard covers the literal wildcard", "server",
	  { "*.web.contoso.test" }, 0, 1, NULL, 1, { "*.web.contoso.test" },
	  P256, 0, 0, 0, NULL, 0, 0 },
	{ "scope wildcard does not cover two labels below", "server",
	  { "a.b.web.contoso.test" }, 0, 1, NULL, 1, { "*.web.contoso.test" },
	  P256, 0, 0, -1, "name_not_in_scope", 0, 0 },
	{ "scope wildcard does not cover its base", "server",
	  { "web.contoso.test" }, 0, 1, NULL, 1, { "*.web.contoso.test" },
	  P256, 0, 0, -1, "name_not_in_scope", 0, 0 },
	{ "every name must be in scope", "server",
	  { "a.web.contoso.test", "www.contoso.test" }, 0, 1, NULL, 1,
	  { "*.web.contoso.test" }, P256, 0, 0, -1, "name_not_in_scope", 0, 0 },
	{ "several scope patterns", "server",
	  { "a.web.contoso.test", "www.contoso.test" }, 0, 1, NULL, 1,
	  { "*.web.contoso.test", "www.contoso.test" }, P256, 0, 0, 0, NULL, 0,
	  0 },
	{ "scope listing does not override the domains", "server",
	  { "www.evil.test" }, 0, 1, NULL, 1, { "www.evil.test" }, P256, 0, 0,
	  -1, "name_not_allowed", 0, 0 },
	{ "empty scope list covers nothing", "server", { "www.contoso.test" },
	  0, 1, NULL, 1, { NULL }, P256, 0, 0, -1, "name_not_in_scope", 0, 0 },
	{ "token may not request an unlisted IP", "server", { "192.0.2.1" }, 0,
	  1, NULL, 0, { NULL }, P256, 0, 0, -1, "name_not_allowed", 0, 0 },
	{ "token may request an IP its scope lists", "server", { "192.0.2.1" },
	  0, 1, NULL, 1, { "192.0.2.1" }, P256, 0, 0, 0, NULL, 0, 0 },
	{ "token IP must match the listed one", "server", { "192.0.2.2" }, 0,
	  1, NULL, 1, { "192.0.2.1" }, P256, 0, 0, -1, "name_not_in_scope", 0,
	  0 },
	{ "scoped email name", "email", { "alice@contoso.test" }, 0, 1,
	  "email", 1, { "alice@contoso.test" }, P256, 0, 0, 0, NULL, 0, 0 },
	{ "scoped email name not listed", "email", { "bob@contoso.test" }, 0, 1,
	  "email", 1, { "alice@contoso.test" }, P256, 0, 0, -1,
	  "name_not_in_scope", 0, 0 },

	/* keys */
	{ "RSA 1024 is weak", "server", { "www.contoso.test" }, 0, 0, NULL, 0,
	  { NULL }, CA_PUBKEY_RSA, 1024, 0, 0, -1, "weak_key", 0, 0 },
	{ "RSA 2047 is weak", "server", { "www.contoso.test" }, 0, 0, NULL, 0,
	  { NULL }, CA_PUBKEY_RSA, 2047, 0, 0, -1, "weak_key", 0, 0 },
	{ "RSA 2048 is fine", "server", { "www.contoso.test" }, 0, 0, NULL, 0,
	  { NULL }, RSA2048, 0, 0, 0, NULL, 0, 0 },
	{ "RSA 3072 is fine", "server", { "www.contoso.test" }, 0, 0, NULL, 0,
	  { NULL }, CA_PUBKEY_RSA, 3072, 0, 0, 0, NULL, 0, 0 },
	{ "RSA 4096 is fine", "server", { "www.contoso.test" }, 0, 0, NULL, 0,
	  { NULL }, CA_PUBKEY_RSA, 4096, 0, 0, 0, NULL, 0, 0 },
	{ "RSA 8192 is not supported", "server", { "www.contoso.test" }, 0, 0,
	  NULL, 0, { NULL }, CA_PUBKEY_RSA, 8192, 0, 0, -1, "unsupported_key",
	  0, 0 },
	{ "EC P-256 is fine", "server", { "www.contoso.test" }, 0, 0, NULL, 0,
	  { NULL }, P256, 0, 0, 0, NULL, 0, 0 },
	{ "EC P-384 is fine", "server", { "www.contoso.test" }, 0, 0, NULL, 0,
	  { NULL }, P384, 0, 0, 0, NULL, 0, 0 },
	{ "EC P-256 claiming 521 bits is refused", "server",
	  { "www.contoso.test" }, 0, 0, NULL, 0, { NULL }, CA_PUBKEY_EC_P256,
	  521, 0, 0, -1, "unsupported_key", 0, 0 },
	{ "unknown key kind is refused", "server", { "www.contoso.test" }, 0,
	  0, NULL, 0, { NULL }, 0, 256, 0, 0, -1, "unsupported_key", 0, 0 },
	{ "other key kind is refused", "server", { "www.contoso.test" }, 0, 0,
	  NULL, 0, { NULL }, 42, 256, 0, 0, -1, "unsupported_key", 0, 0 },

	/* validity */
	{ "0 days means the profile default", "server", { "www.contoso.test" },
	  0, 0, NULL, 0, { NULL }, P256, 0, 0, 0, NULL, 365, 0 },
	{ "1 day is fine", "server", { "www.contoso.test" }, 0, 0, NULL, 0,
	  { NULL }, P256, 1, 0, 0, NULL, 1, 0 },
	{ "the maximum is fine", "server", { "www.contoso.test" }, 0, 0, NULL,
	  0, { NULL }, P256, 398, 0, 0, NULL, 398, 0 },
	{ "maximum plus one is refused", "server", { "www.contoso.test" }, 0,
	  0, NULL, 0, { NULL }, P256, 399, 0, -1, "days_out_of_range", 0, 0 },
	{ "negative days are refused", "server", { "www.contoso.test" }, 0, 0,
	  NULL, 0, { NULL }, P256, -1, 0, -1, "days_out_of_range", 0, 0 },
	{ "huge days are refused", "server", { "www.contoso.test" }, 0, 0,
	  NULL, 0, { NULL }, P256, 2147483647, 0, -1, "days_out_of_range", 0,
	  0 },
	{ "codesign allows 1095 days", "codesign", { "dev@contoso.test" }, 0,
	  0, NULL, 0, { NULL }, P256, 1095, 0, 0, NULL, 1095, 0 },
	{ "clamped to the CA's notAfter", "server", { "www.contoso.test" }, 0,
	  0, NULL, 0, { NULL }, P256, 365, 100 * DAY, 0, NULL, 100, 1 },
	{ "a CA expiring within the hour refuses", "server",
	  { "www.contoso.test" }, 0, 0, NULL, 0, { NULL }, P256, 0, 1800, -1,
	  "ca_expiring", 0, 0 },
	{ "an expired CA refuses", "server", { "www.contoso.test" }, 0, 0,
	  NULL, 0, { NULL }, P256, 0, -DAY, -1, "ca_expiring", 0, 0 },
};

static void
fill_input(const struct policy_case *c, struct ca_policy_input *in,
	   struct ca_name *names)
{
	size_t i;

	memset(in, 0, sizeof(*in));
	in->profile = ca_profile_find(c->profile);
	in->default_days = in->profile != NULL ? in->profile->default_days : 0;
	in->max_days = in->profile != NULL ? in->profile->max_days : 0;
	if (!c->no_domains) {
		in->domains = domains;
		in->ndomains = 2;
	}
	for (i = 0; i < 4 && c->names[i] != NULL; i++)
		CU_ASSERT_EQUAL_FATAL(ca_name_parse(c->names[i], 0, &names[i],
						    NULL), 0);
	in->names = names;
	in->nnames = i;
	in->scoped = c->scoped;
	in->scope_profile = c->scope_profile;
	if (c->scope_list) {
		in->scope_names = c->scope;
		for (i = 0; i < 4 && c->scope[i] != NULL; i++)
			;
		in->nscope_names = i;
	}
	in->key_kind = c->key_kind;
	in->key_bits = c->key_bits;
	in->requested_days = c->days;
	in->now = NOW;
	in->ca_not_after = NOW + (c->ca_left != 0 ? c->ca_left : TEN_YEARS);
}

static void
test_policy_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(policy_cases) / sizeof(policy_cases[0]); i++) {
		const struct policy_case *c = &policy_cases[i];
		struct ca_policy_input in;
		struct ca_policy_decision d;
		struct ca_name names[4];
		struct mica_err err = { 0 };
		int rc;

		fill_input(c, &in, names);
		rc = ca_policy_check(&in, &d, &err);
		if (rc != c->rc || (c->code != NULL &&
				    strcmp(err.code, c->code) != 0))
			fprintf(stderr, "\n  case \"%s\": rc %d (%s: %s)\n",
				c->what, rc, err.code, err.msg);
		CU_ASSERT_EQUAL(rc, c->rc);
		/* Said to ACME accounts of --acme-open too, which have no
		 * token: the message names who may, not only tokens. */
		if (strcmp(c->what, "token may not request an unlisted IP") == 0)
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "only an admin"));
		if (c->rc != 0) {
			CU_ASSERT_STRING_EQUAL(err.code, c->code);
			CU_ASSERT(err.kind == MICA_E_POLICY ||
				  err.kind == MICA_E_BADREQ);
			continue;
		}
		if (rc != 0)
			continue;
		CU_ASSERT_EQUAL(d.not_before, NOW - 300);
		CU_ASSERT(d.not_after > d.not_before);
		CU_ASSERT(d.not_after <= in.ca_not_after);
		CU_ASSERT_EQUAL(d.clamped, c->want_clamped);
		if (c->want_days != 0)
			CU_ASSERT_EQUAL(d.days, c->want_days);
		if (!c->want_clamped)
			CU_ASSERT_EQUAL(d.not_after,
					d.not_before + (int64_t)d.days * DAY - 1);
		CU_ASSERT_EQUAL(d.eku, in.profile->eku);
		CU_ASSERT_EQUAL(d.key_usage, in.key_kind == CA_PUBKEY_RSA ?
				in.profile->ku_rsa : in.profile->ku_ec);
	}
}

static void
test_policy_messages_name_the_name(void)
{
	const struct policy_case *c = NULL;
	struct ca_policy_input in;
	struct ca_policy_decision d;
	struct ca_name names[4];
	struct mica_err err = { 0 };
	size_t i;

	for (i = 0; i < sizeof(policy_cases) / sizeof(policy_cases[0]); i++)
		if (strcmp(policy_cases[i].what,
			   "refuses a name outside the allowed domains") == 0)
			c = &policy_cases[i];
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	fill_input(c, &in, names);
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_POLICY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "www.evil.test"));
	/* the configured domains are not listed to the requester */
	CU_ASSERT_PTR_NULL(strstr(err.msg, "fabrikam"));

	/* A UPN refused by a profile: the message names the profile, the
	 * kind and the name. */
	c = NULL;
	for (i = 0; i < sizeof(policy_cases) / sizeof(policy_cases[0]); i++)
		if (strcmp(policy_cases[i].what,
			   "server profile refuses a UPN") == 0)
			c = &policy_cases[i];
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	fill_input(c, &in, names);
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.msg, "the server profile does not allow "
			       "upn names (\"upn:alice@contoso.test\")");
}

static void
test_policy_key_usage_by_key(void)
{
	struct ca_policy_input in;
	struct ca_policy_decision d;
	struct ca_name n;
	struct mica_err err = { 0 };

	CU_ASSERT_EQUAL_FATAL(ca_name_parse("alice@contoso.test", 0, &n, NULL),
			      0);
	memset(&in, 0, sizeof(in));
	in.profile = ca_profile_find("email");
	in.domains = domains;
	in.ndomains = 2;
	in.names = &n;
	in.nnames = 1;
	in.key_kind = CA_PUBKEY_RSA;
	in.key_bits = 3072;
	in.now = NOW;
	in.ca_not_after = NOW + TEN_YEARS;
	CU_ASSERT_EQUAL_FATAL(ca_policy_check(&in, &d, &err), 0);
	CU_ASSERT_EQUAL(d.key_usage, CA_KU_DIGITAL_SIGNATURE |
			CA_KU_KEY_ENCIPHERMENT);
	CU_ASSERT_EQUAL(d.eku, CA_EKU_EMAIL_PROTECTION);
	/* default/max of 0 fall back to the profile's own */
	CU_ASSERT_EQUAL(d.days, 365);

	in.key_kind = CA_PUBKEY_EC_P384;
	in.key_bits = 384;
	CU_ASSERT_EQUAL_FATAL(ca_policy_check(&in, &d, &err), 0);
	CU_ASSERT_EQUAL(d.key_usage, CA_KU_DIGITAL_SIGNATURE |
			CA_KU_KEY_AGREEMENT);
}

static void
test_policy_admin_overrides(void)
{
	struct ca_policy_input in;
	struct ca_policy_decision d;
	struct ca_name n;
	struct mica_err err = { 0 };

	CU_ASSERT_EQUAL_FATAL(ca_name_parse("www.contoso.test", 0, &n, NULL), 0);
	memset(&in, 0, sizeof(in));
	in.profile = ca_profile_find("server");
	in.domains = domains;
	in.ndomains = 2;
	in.names = &n;
	in.nnames = 1;
	in.key_kind = CA_PUBKEY_EC_P256;
	in.key_bits = 256;
	in.now = NOW;
	in.ca_not_after = NOW + TEN_YEARS;
	in.default_days = 90;
	in.max_days = 90;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), 0);
	CU_ASSERT_EQUAL(d.days, 90);
	in.requested_days = 91;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "days_out_of_range");
	/* a default above the maximum is cut to the maximum */
	in.requested_days = 0;
	in.default_days = 200;
	in.max_days = 30;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), 0);
	CU_ASSERT_EQUAL(d.days, 30);
}

/* The daemon's own TLS certificate goes through the same policy, with
 * the localhost allowance as an explicit input. */
static void
test_policy_daemon_tls(void)
{
	struct ca_policy_input in;
	struct ca_policy_decision d;
	struct ca_name n[3];
	struct mica_err err = { 0 };

	/* "localhost" as the engine builds it (the parser refuses it). */
	memset(n, 0, sizeof(n));
	n[0].kind = CA_NAME_DNS;
	snprintf(n[0].value, sizeof(n[0].value), "localhost");
	CU_ASSERT_EQUAL_FATAL(ca_name_parse("127.0.0.1", 0, &n[1], NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ca_name_parse("buildhost.lan.test", 0, &n[2], NULL), 0);
	memset(&in, 0, sizeof(in));
	in.profile = ca_profile_find("server");
	in.domains = domains;
	in.ndomains = 2;
	in.names = n;
	in.nnames = 3;
	in.key_kind = CA_PUBKEY_EC_P256;
	in.key_bits = 256;
	in.requested_days = 90;
	in.now = NOW;
	in.ca_not_after = NOW + TEN_YEARS;

	/* Without the allowance: localhost is a single label, refused. */
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "name_not_allowed");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "localhost"));
	/* With it: localhost and an address; but a host name outside the
	 * CA's domains no more than for any certificate (the signer process
	 * would refuse it; ca_issue_for_spki leaves such names out). */
	in.daemon_tls = 1;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "name_not_allowed");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "buildhost.lan.test"));
	in.nnames = 2;
	CU_ASSERT_EQUAL_FATAL(ca_policy_check(&in, &d, &err), 0);
	CU_ASSERT_EQUAL(d.days, 90);
	CU_ASSERT_EQUAL(d.eku, CA_EKU_SERVER_AUTH);
	/* Still the profile's limits... */
	in.requested_days = 399;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "days_out_of_range");
	in.requested_days = 30;
	in.max_days = 20;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "days_out_of_range");
	in.max_days = 0;
	/* ...its name kinds and the key rules. */
	in.profile = ca_profile_find("email");
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "name_kind_not_allowed");
	in.profile = ca_profile_find("server");
	in.key_kind = CA_PUBKEY_RSA;
	in.key_bits = 1024;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "weak_key");
	in.key_kind = CA_PUBKEY_EC_P256;
	in.key_bits = 256;
	/* Any other single label is refused even here. */
	snprintf(n[0].value, sizeof(n[0].value), "intranet");
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "name_not_allowed");
	snprintf(n[0].value, sizeof(n[0].value), "localhost");
	/* Never under a token's scope. */
	in.scoped = 1;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_INTERNAL);
}

static void
test_policy_bad_inputs(void)
{
	struct ca_policy_input in;
	struct ca_policy_decision d;
	struct ca_name *many;
	struct mica_err err = { 0 };
	size_t i;

	CU_ASSERT_EQUAL(ca_policy_check(NULL, &d, &err), -1);
	memset(&in, 0, sizeof(in));
	CU_ASSERT_EQUAL(ca_policy_check(&in, NULL, &err), -1);
	/* no profile */
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);

	/* too many names */
	many = calloc(CA_NAMES_MAX + 1, sizeof(*many));
	CU_ASSERT_PTR_NOT_NULL_FATAL(many);
	for (i = 0; i < CA_NAMES_MAX + 1; i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), "h%zu.contoso.test", i);
		CU_ASSERT_EQUAL_FATAL(ca_name_parse(buf, 0, &many[i], NULL), 0);
	}
	in.profile = ca_profile_find("server");
	in.domains = domains;
	in.ndomains = 2;
	in.names = many;
	in.nnames = CA_NAMES_MAX + 1;
	in.key_kind = CA_PUBKEY_EC_P256;
	in.key_bits = 256;
	in.now = NOW;
	in.ca_not_after = NOW + TEN_YEARS;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "too_many_names");
	in.nnames = CA_NAMES_MAX;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), 0);

	/* a name that is not NUL-terminated is refused, not over-read */
	memset(many[0].value, 'a', sizeof(many[0].value));
	in.nnames = 1;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_name");
	/* nor one with control characters (not canonical) */
	CU_ASSERT_EQUAL_FATAL(ca_name_parse("www.contoso.test", 0, &many[0],
					    NULL), 0);
	many[0].value[3] = '\n';
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_name");
	CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
	/* an unknown name kind */
	CU_ASSERT_EQUAL_FATAL(ca_name_parse("www.contoso.test", 0, &many[0],
					    NULL), 0);
	many[0].kind = 8;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	/* absurd clocks */
	many[0].kind = CA_NAME_DNS;
	in.now = INT64_MAX;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	in.now = -1;
	CU_ASSERT_EQUAL(ca_policy_check(&in, &d, &err), -1);
	free(many);
}

/* ------------------------------------------------------------------ */
/* ca_text_check: free text (comments, reasons, the CA's name)         */
/* ------------------------------------------------------------------ */

struct text_case {
	const char *what;
	const char *text;
	size_t max;
	int rc;
};

static const struct text_case text_cases[] = {
	{ "plain ASCII", "web servers of the Paris office", 200, 0 },
	{ "NULL is no text", NULL, 200, 0 },
	{ "empty", "", 200, 0 },
	{ "accented letters", "serveur d'\xc3\xa9t\xc3\xa9, J\xc3\xbcrgen", 200, 0 },
	{ "Arabic and Hebrew letters (right-to-left, no controls)",
	  "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", 200, 0 },
	{ "CJK and an emoji with its variation selector",
	  "\xe8\xaf\x81\xe4\xb9\xa6 \xe2\x9d\xa4\xef\xb8\x8f \xf0\x9f\x94\x92", 200, 0 },
	{ "tab", "a\tb", 200, -1 },
	{ "newline (a forged log line)", "ok\n2026-01-01 admin approved", 200, -1 },
	{ "carriage return", "a\rb", 200, -1 },
	{ "escape (terminal sequences)", "\x1b[31mred", 200, -1 },
	{ "DEL", "a\x7f", 200, -1 },
	{ "C1 control U+0085 (next line)", "a\xc2\x85" "b", 200, -1 },
	{ "C1 control U+009B (CSI)", "a\xc2\x9b" "31m", 200, -1 },
	{ "right-to-left override U+202E", "invoice\xe2\x80\xae" "fdp.exe", 200, -1 },
	{ "left-to-right embedding U+202A", "\xe2\x80\xaa" "a", 200, -1 },
	{ "pop directional formatting U+202C", "a\xe2\x80\xac", 200, -1 },
	{ "right-to-left isolate U+2067", "\xe2\x81\xa7" "a", 200, -1 },
	{ "pop directional isolate U+2069", "a\xe2\x81\xa9", 200, -1 },
	{ "right-to-left mark U+200F", "a\xe2\x80\x8f", 200, -1 },
	{ "Arabic letter mark U+061C", "a\xd8\x9c", 200, -1 },
	{ "zero-width space U+200B", "ad\xe2\x80\x8bmin", 200, -1 },
	{ "zero-width joiner U+200D", "a\xe2\x80\x8d" "b", 200, -1 },
	{ "word joiner U+2060", "a\xe2\x81\xa0" "b", 200, -1 },
	{ "byte order mark U+FEFF", "\xef\xbb\xbf" "comment", 200, -1 },
	{ "line separator U+2028", "a\xe2\x80\xa8" "b", 200, -1 },
	{ "paragraph separator U+2029", "a\xe2\x80\xa9" "b", 200, -1 },
	{ "soft hyphen U+00AD", "ad\xc2\xadmin", 200, -1 },
	{ "Hangul filler U+3164", "\xe3\x85\xa4", 200, -1 },
	{ "tag character U+E0041", "a\xf3\xa0\x81\x81", 200, -1 },
	{ "Arabic number sign U+0600 (a format character)",
	  "\xd8\x80" "12", 200, -1 },
	{ "Egyptian hieroglyph vertical joiner U+13430 (a format character)",
	  "a\xf0\x93\x90\xb0" "b", 200, -1 },
	{ "overlong '/' (C0 AF)", "\xc0\xaf", 200, -1 },
	{ "overlong NUL (C0 80)", "a\xc0\x80" "b", 200, -1 },
	{ "overlong 3-octet form", "\xe0\x80\xaf", 200, -1 },
	{ "UTF-16 surrogate U+D800", "\xed\xa0\x80", 200, -1 },
	{ "beyond U+10FFFF", "\xf4\x90\x80\x80", 200, -1 },
	{ "a lone continuation octet", "a\x80", 200, -1 },
	{ "a truncated sequence", "a\xe2\x82", 200, -1 },
	{ "Latin-1, not UTF-8", "caf\xe9", 200, -1 },
	{ "noncharacter U+FFFE", "a\xef\xbf\xbe", 200, -1 },
	{ "noncharacter U+FDD0", "a\xef\xb7\x90" "b", 200, -1 },
	{ "noncharacter U+10FFFF", "a\xf4\x8f\xbf\xbf", 200, -1 },
	{ "replacement character U+FFFD (visible)", "a\xef\xbf\xbd", 200, 0 },
	{ "a leading space", " lead", 200, -1 },
	{ "a trailing space", "trail ", 200, -1 },
	{ "only a space", " ", 200, -1 },
	{ "only an ideographic space U+3000", "\xe3\x80\x80", 200, -1 },
	{ "a trailing no-break space U+00A0", "a\xc2\xa0", 200, -1 },
	{ "a leading em space U+2003", "\xe2\x80\x83" "a", 200, -1 },
	{ "spaces inside", "Contoso  Root   CA", 200, 0 },
	{ "an ideographic space inside", "a\xe3\x80\x80" "b", 200, 0 },
	{ "exactly MAX characters", "abcde", 5, 0 },
	{ "MAX + 1 characters", "abcdef", 5, -1 },
	{ "MAX characters of two octets each", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 5, 0 },
	{ "MAX characters of four octets each",
	  "\xf0\x9f\x94\x92\xf0\x9f\x94\x92\xf0\x9f\x94\x92", 3, 0 },
	{ "MAX + 1 characters of two octets", "\xc3\xa9\xc3\xa9\xc3\xa9", 2, -1 },
};

static void
test_text_check_table(void)
{
	struct mica_err err;

	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		const struct text_case *c = &text_cases[i];
		int rc;

		memset(&err, 0, sizeof(err));
		rc = ca_text_check(c->text, c->max, "comment", &err);
		if (rc != c->rc)
			fprintf(stderr, "\n  text case \"%s\": rc %d (%s), wanted %d\n",
				c->what, rc, err.msg, c->rc);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc != 0) {
			CU_ASSERT_EQUAL(err.kind, MICA_E_BADREQ);
			CU_ASSERT_STRING_EQUAL(err.code, "bad_text");
			/* The message names the field and never echoes the
			 * text (it would carry the control it refuses). */
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "comment"));
			for (const char *m = err.msg; *m != '\0'; m++)
				CU_ASSERT((unsigned char)*m >= 0x20 && (unsigned char)*m < 0x7f);
		}
	}
}

/* 200 characters of two octets each fit the documented 200-character
 * limit; 201 do not. */
static void
test_text_check_counts_characters(void)
{
	char buf[2 * (CA_TEXT_MAX + 1) + 1];
	struct mica_err err;

	for (int i = 0; i < CA_TEXT_MAX + 1; i++)
		memcpy(buf + 2 * i, "\xc3\xa9", 2);
	buf[2 * CA_TEXT_MAX] = '\0';
	CU_ASSERT_EQUAL(ca_text_check(buf, CA_TEXT_MAX, "comment", &err), 0);
	buf[2 * CA_TEXT_MAX] = '\xc3';
	buf[2 * (CA_TEXT_MAX + 1)] = '\0';
	CU_ASSERT_EQUAL(ca_text_check(buf, CA_TEXT_MAX, "comment", &err), -1);
	CU_ASSERT_STRING_EQUAL(err.code, "bad_text");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "200 characters"));
}

int
main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("policy", NULL, NULL);
	if (s == NULL ||
	    !CU_add_test(s, "parses and canonicalises names (table)",
			 test_name_parse_table) ||
	    !CU_add_test(s, "bounds DNS names at 253 and emails at 254 octets",
			 test_name_length_limits) ||
	    !CU_add_test(s, "never echoes control characters in messages",
			 test_name_messages_are_safe) ||
	    !CU_add_test(s, "keeps IP addresses as octets",
			 test_name_ip_octets) ||
	    !CU_add_test(s, "names name kinds", test_name_kind_str) ||
	    !CU_add_test(s, "lists the built-in profiles in order",
			 test_profiles_builtin) ||
	    !CU_add_test(s, "matches domains on label boundaries only (table)",
			 test_name_in_domain_table) ||
	    !CU_add_test(s, "matches token scope patterns (table)",
			 test_scope_covers_table) ||
	    !CU_add_test(s, "decides issuance by profile, scope, key, days "
			 "(table)", test_policy_table) ||
	    !CU_add_test(s, "refusal names the name but not the domains",
			 test_policy_messages_name_the_name) ||
	    !CU_add_test(s, "chooses keyUsage by key algorithm",
			 test_policy_key_usage_by_key) ||
	    !CU_add_test(s, "honours admin overrides of validity",
			 test_policy_admin_overrides) ||
	    !CU_add_test(s, "the daemon's own certificate: localhost and addresses, "
			 "names under the domains, within the profile", test_policy_daemon_tls) ||
	    !CU_add_test(s, "fails closed on bad inputs",
			 test_policy_bad_inputs) ||
	    !CU_add_test(s, "free text: UTF-8 without controls, bidi or invisible "
			 "characters (table)", test_text_check_table) ||
	    !CU_add_test(s, "free text limits count characters, not octets",
			 test_text_check_counts_characters)) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed != 0;
}

/*
 * ca/names.h - subject alternative names as mica handles them.
 */
#ifndef MICA_CA_NAMES_H
#define MICA_CA_NAMES_H

#include <stddef.h>

enum ca_name_kind {
	CA_NAME_DNS   = 1,  /* dNSName, lowercase, no trailing dot; may be "*.x.y" */
	CA_NAME_IP    = 2,  /* iPAddress: value is the canonical text form */
	CA_NAME_EMAIL = 4,  /* rfc822Name: local@domain, domain lowercased */
	CA_NAME_UPN   = 8,  /* otherName UPN (szOID_NT_PRINCIPAL_NAME): value
			     * "upn:local@domain", domain lowercased */
};

/* The prefix a UPN's text (CLI --name, JSON, the store, token scopes) and
 * its ca_name value carry; the certificate carries what follows it. */
#define CA_UPN_PREFIX     "upn:"
#define CA_UPN_PREFIX_LEN 4
/* Longest UPN after the prefix: a name's text is at most 254 characters. */
#define CA_UPN_MAX        (CA_NAME_TEXT_MAX - CA_UPN_PREFIX_LEN)
/* The otherName type-id of a UPN, 1.3.6.1.4.1.311.20.2.3
 * (szOID_NT_PRINCIPAL_NAME), as DER contents: OtherName ::= SEQUENCE {
 * type-id OID, value [0] EXPLICIT UTF8String } (RFC 5280 4.2.1.6). */
#define CA_UPN_OID        "\x2b\x06\x01\x04\x01\x82\x37\x14\x02\x03"
#define CA_UPN_OID_LEN    10

#define CA_NAME_MAX 253     /* longest DNS name; emails are bounded to 254 */
/* Longest text of any name: an email, or a UPN with its prefix (a name
 * filter takes this many characters). */
#define CA_NAME_TEXT_MAX 254
#define CA_NAMES_MAX 100    /* most names one certificate may carry */

struct ca_name {
	int kind;                 /* enum ca_name_kind */
	char value[256];          /* canonical text form */
	unsigned char ip[16];     /* CA_NAME_IP: 4 or 16 octets */
	size_t ip_len;
};

/*
 * Parse and canonicalise one name given as text (CLI --name, JSON, token
 * scope). KIND_HINT 0 guesses: begins with "upn:" (any case) -> UPN,
 * contains '@' -> email, parses as IPv4/IPv6 -> IP, else DNS. A UPN is
 * "upn:" and an email address whose local part holds none of the
 * characters Windows refuses in a logon name (/ | = + * ? beside what a
 * dot-atom already refuses); its canonical text has the prefix in
 * lowercase and the domain lowercased, the local part as given. DNS
 * names: LDH labels of 1..63 octets, total <= 253,
 * at least two labels, lowercased, one trailing dot removed, "*" allowed only
 * as the whole leftmost label. Returns 0 or -1 (MICA_E_BADREQ, code
 * "bad_name", message names the problem without echoing more than the
 * name itself).
 */
struct mica_err;
int ca_name_parse(const char *text, int kind_hint, struct ca_name *out,
		  struct mica_err *err);
/* Whether A and B name the same thing: the same kind and canonical text,
 * a UPN's local part in any case (Active Directory finds an account by it
 * so: alice and Alice are one account). */
int ca_name_same(const struct ca_name *a, const struct ca_name *b);
/* KIND_HINT may add CA_NAME_STORED for a name read back from the store,
 * made under the rules of the mica that issued it: an IPv4-mapped IPv6
 * address (refused in new names since 2026-12) is then taken. */
#define CA_NAME_STORED 0x100

/*
 * An address range in CIDR form (RFC 4632 3.1, RFC 4291 2.3), as a name
 * constraint's iPAddress subtree carries it (RFC 5280 4.2.1.10: the
 * address, then a mask of as many octets).
 */
#define CA_CIDR_TEXT_MAX 50      /* "ffff:...:ffff/128" is 43 characters */
struct ca_cidr {
	unsigned char ip[16], mask[16];
	size_t ip_len;            /* 4 or 16 */
	unsigned prefix;          /* 0..32 or 0..128 */
	char text[CA_CIDR_TEXT_MAX + 1];  /* canonical: inet_ntop(3) form of
					   * the address, "/", the prefix */
};

/*
 * Parse "ADDR/LEN" strictly: ADDR as inet_pton(3) reads it (IPv4 dotted
 * quad, IPv6 without zone), LEN decimal 0..32 (IPv4) or 0..128 (IPv6)
 * without sign or leading zeros, and no bit of ADDR set after the prefix
 * (10.1.2.3/8 is refused: it names a host, not a range; the message says
 * which range was probably meant). 0 or -1 (MICA_E_BADREQ, "bad_range").
 */
int ca_cidr_parse(const char *text, struct ca_cidr *out,
		  struct mica_err *err);

/* The host part of an http(s) URL (brackets of an IPv6 literal dropped)
 * into OUT; "" when URL is NULL, has no "://" or the host does not fit. */
void ca_url_host(const char *url, char *out, size_t size);
/* The host of URL (ca_url_host) as a DNS name or IP address into *OUT:
 * 1, or 0 when there is none or it is neither. */
int ca_url_host_name(const char *url, struct ca_name *out);

/* The range of IP and MASK (IP_LEN 4 or 16 octets each) as read from an
 * iPAddress subtree: the mask must be a prefix (ones, then zeros) and IP
 * have no bit set outside it. 0 or -1 (MICA_E_BADREQ, "bad_range"). */
int ca_cidr_from_mask(const unsigned char *ip, const unsigned char *mask,
		      size_t ip_len, struct ca_cidr *out,
		      struct mica_err *err);

/* Canonical name kinds as strings: "dns", "ip", "email", "upn". */
const char *ca_name_kind_str(int kind);

/* N's value as the certificate carries it: for a UPN without its "upn:"
 * prefix (what the otherName's UTF8String and a CN hold), else the value
 * itself. Points into N. */
const char *ca_name_bare(const struct ca_name *n);

#endif

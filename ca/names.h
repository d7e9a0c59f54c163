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
};

#define CA_NAME_MAX 253     /* longest DNS name; emails are bounded to 254 */
#define CA_NAMES_MAX 100    /* most names one certificate may carry */

struct ca_name {
	int kind;                 /* enum ca_name_kind */
	char value[256];          /* canonical text form */
	unsigned char ip[16];     /* CA_NAME_IP: 4 or 16 octets */
	size_t ip_len;
};

/*
 * Parse and canonicalise one name given as text (CLI --name, JSON, token
 * scope). KIND_HINT 0 guesses: contains '@' -> email, parses as IPv4/IPv6
 * -> IP, else DNS. DNS names: LDH labels of 1..63 octets, total <= 253,
 * at least two labels, lowercased, one trailing dot removed, "*" allowed only
 * as the whole leftmost label. Returns 0 or -1 (MICA_E_BADREQ, code
 * "bad_name", message names the problem without echoing more than the
 * name itself).
 */
struct mica_err;
int ca_name_parse(const char *text, int kind_hint, struct ca_name *out,
		  struct mica_err *err);

/* Canonical name kinds as strings: "dns", "ip", "email". */
const char *ca_name_kind_str(int kind);

#endif

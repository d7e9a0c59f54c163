/*
 * ca/profile.c - the built-in certificate profiles and the issuance policy.
 *
 * Everything here is a pure function of its arguments: no I/O, no clock, no
 * key. ca_policy_check() is the single place that says yes or no to a
 * request; the engine asks it before signing and obeys the decision
 * (validity window, keyUsage, extendedKeyUsage) to the letter.
 */
#include "ca/profile.h"

#include <string.h>
#include <strings.h>

#include "util/err.h"

/* Clock-skew allowance: notBefore is backdated by this much so a client
 * whose clock is a little behind does not reject a fresh certificate. */
#define BACKDATE_SECS   300
/* Refuse to issue when the CA certificate has less than this left: the leaf
 * would be useless almost at once, and the admin should renew the CA. */
#define CA_MIN_LEFT     3600
#define DAY_SECS        INT64_C(86400)
/* Sanity bounds on "now" (1970 .. 9999-12-31T23:59:59Z, the end of
 * GeneralizedTime as RFC 5280 4.1.2.5 uses it) so that no arithmetic on it
 * can overflow. */
#define TIME_MAX        INT64_C(253402300799)

#define KU_RSA_DS_KE    (CA_KU_DIGITAL_SIGNATURE | CA_KU_KEY_ENCIPHERMENT)

/*
 * The profiles. Key usages follow RFC 5280 4.2.1.3 and the key's algorithm:
 * keyEncipherment only makes sense for RSA (RSA key transport), an EC key
 * can only sign or agree. RFC 8550/8551 (S/MIME 4.0) 4.4.2 lets an EC
 * recipient key use keyAgreement (ECDH content encryption); TLS 1.3 and
 * ECDHE suites need digitalSignature only.
 *
 * client: a TLS client proves its key by signing (CertificateVerify) and
 * never receives an RSA key transport, and RFC 5280 4.2.1.12 allows only
 * digitalSignature and keyAgreement beside clientAuth alone: no
 * keyEncipherment even for RSA (ZLint's
 * e_key_usage_and_extended_key_usage_inconsistent, tests/e2e/zlint.sh).
 *
 * ipsec: RFC 4945 5.1.3.12 defines id-kp-ipsecIKE; strongSwan and most
 * IKEv2 peers (Windows' agile VPN client, macOS/iOS) also look for
 * serverAuth on the gateway and clientAuth on the road warrior, so the
 * profile carries all three and one certificate serves either end.
 * Windows' "IPSec (Offline request)" template uses 1.3.6.1.5.5.8.2.2
 * (iKEIntermediate); it is not needed by IKEv2 implementations and is not
 * emitted.
 *
 * UPNs (Microsoft's otherName, ca/names.h) only in client: EAP-TLS
 * against Windows NPS and VPN servers map a user's certificate to an
 * Active Directory account by it; no other profile's relying party
 * reads one.
 *
 * Maximum lifetimes: 398 days for TLS servers matches what browsers
 * accept (Apple, Chrome, Mozilla policy since 2020); the others follow the
 * old 825-day CA/B ceiling, and code signing the 39 months of the CA/B
 * code-signing requirements.
 */
static const struct ca_profile profiles[] = {
	{
		.name = "server",
		.description = "TLS server (serverAuth): web, mail and VPN "
			       "servers; DNS names and IP addresses",
		.ku_rsa = KU_RSA_DS_KE,
		.ku_ec = CA_KU_DIGITAL_SIGNATURE,
		.eku = CA_EKU_SERVER_AUTH,
		.name_kinds = CA_NAME_DNS | CA_NAME_IP,
		.min_names = 1,
		.default_days = 365,
		.max_days = 398,
	},
	{
		.name = "client",
		.description = "TLS client (clientAuth): users, mail clients, "
			       "phones, 802.1X and VPN users; email addresses, "
			       "DNS names and UPNs",
		.ku_rsa = CA_KU_DIGITAL_SIGNATURE,
		.ku_ec = CA_KU_DIGITAL_SIGNATURE,
		.eku = CA_EKU_CLIENT_AUTH,
		.name_kinds = CA_NAME_EMAIL | CA_NAME_DNS | CA_NAME_UPN,
		.min_names = 1,
		.default_days = 365,
		.max_days = 825,
	},
	{
		.name = "email",
		.description = "S/MIME (emailProtection): signed and encrypted "
			       "mail; email addresses only",
		.ku_rsa = KU_RSA_DS_KE,
		.ku_ec = CA_KU_DIGITAL_SIGNATURE | CA_KU_KEY_AGREEMENT,
		.eku = CA_EKU_EMAIL_PROTECTION,
		.name_kinds = CA_NAME_EMAIL,
		.min_names = 1,
		.default_days = 365,
		.max_days = 825,
	},
	{
		.name = "ipsec",
		.description = "IPsec/IKE (ipsecIKE, serverAuth, clientAuth): "
			       "VPN gateways and peers; DNS, IP and email",
		.ku_rsa = KU_RSA_DS_KE,
		.ku_ec = CA_KU_DIGITAL_SIGNATURE,
		.eku = CA_EKU_IPSEC_IKE | CA_EKU_SERVER_AUTH |
		       CA_EKU_CLIENT_AUTH,
		.name_kinds = CA_NAME_DNS | CA_NAME_IP | CA_NAME_EMAIL,
		.min_names = 1,
		.default_days = 365,
		.max_days = 825,
	},
	{
		.name = "codesign",
		.description = "Code signing (codeSigning): software publishers; "
			       "email addresses and DNS names",
		.ku_rsa = CA_KU_DIGITAL_SIGNATURE,
		.ku_ec = CA_KU_DIGITAL_SIGNATURE,
		.eku = CA_EKU_CODE_SIGNING,
		.name_kinds = CA_NAME_EMAIL | CA_NAME_DNS,
		.min_names = 1,
		.default_days = 365,
		.max_days = 1095,
	},
};

#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

const struct ca_profile *
ca_profiles(size_t *n)
{
	if (n != NULL)
		*n = NPROFILES;
	return profiles;
}

const struct ca_profile *
ca_profile_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < NPROFILES; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

/* Is VALUE[0..len) DOMAIN or a name under it on a label boundary?
 * Case-insensitive; one trailing dot on DOMAIN is ignored. */
static int
suffix_on_label(const char *value, size_t len, const char *domain)
{
	size_t dlen = strnlen(domain, CA_NAME_MAX + 2);

	if (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;
	/* An empty domain would match everything; a wildcard domain is not a
	 * domain. Both fail closed. */
	if (dlen == 0 || dlen > CA_NAME_MAX || memchr(domain, '*', dlen) != NULL)
		return 0;
	if (len == dlen)
		return strncasecmp(value, domain, dlen) == 0;
	if (len > dlen)
		return value[len - dlen - 1] == '.' &&
		       strncasecmp(value + len - dlen, domain, dlen) == 0;
	return 0;
}

/* Length of NAME's value, or 0 if it is not NUL-terminated within the
 * array or holds anything but printable ASCII: canonical names never do,
 * so this is a caller bug that must turn neither into an over-read nor
 * into control characters in a message. */
static size_t
value_len(const struct ca_name *name)
{
	const char *nul = memchr(name->value, '\0', sizeof(name->value));
	size_t i, len;

	if (nul == NULL)
		return 0;
	len = (size_t)(nul - name->value);
	for (i = 0; i < len; i++)
		if ((unsigned char)name->value[i] <= 0x20 ||
		    (unsigned char)name->value[i] >= 0x7f)
			return 0;
	return len;
}

int
ca_name_in_domain(const struct ca_name *name, const char *domain)
{
	const char *v, *at;
	size_t len;

	if (name == NULL || domain == NULL)
		return 0;
	len = value_len(name);
	if (len == 0)
		return 0;
	v = name->value;
	switch (name->kind) {
	case CA_NAME_DNS:
		/* "*.a.contoso.test" stands for names under a.contoso.test,
		 * hence under contoso.test: the plain suffix test is right,
		 * since "*" is always a whole label of its own. */
		return suffix_on_label(v, len, domain);
	case CA_NAME_EMAIL:
	case CA_NAME_UPN:
		/* A UPN's domain is its suffix: "upn:" holds no '@'. */
		at = memchr(v, '@', len);
		if (at == NULL)
			return 0;
		return suffix_on_label(at + 1, len - (size_t)(at + 1 - v),
				       domain);
	default:
		return 0;   /* IP addresses are never under a domain */
	}
}

int
ca_scope_covers(const char *pattern, const struct ca_name *name)
{
	struct ca_name pat;
	size_t nlen, plen;

	if (pattern == NULL || name == NULL || value_len(name) == 0)
		return 0;
	/* Patterns are stored canonical, but parse again so that IPs compare
	 * by octets ("::1" and "0:0::1") and garbage covers nothing. */
	if (ca_name_parse(pattern, 0, &pat, NULL) != 0)
		return 0;
	if (pat.kind != name->kind)
		return 0;
	if (name->kind == CA_NAME_IP)
		return name->ip_len == pat.ip_len && pat.ip_len > 0 &&
		       memcmp(name->ip, pat.ip, pat.ip_len) == 0;

	/* An email address's local part keeps its case (RFC 5321 2.4:
	 * "Alice" and "alice" may be two mailboxes) and both sides are
	 * canonical (the domain lowercased), so they compare exactly: a
	 * token for alice@ never certifies Alice@. DNS names are in any
	 * case. A UPN compares as an email does, whole and exactly: AD
	 * takes "Alice" for "alice", but a token names one spelling, and
	 * no pattern ("*", a bare domain) covers a UPN, which names an
	 * account, not a host. */
	if (name->kind == CA_NAME_EMAIL || name->kind == CA_NAME_UPN)
		return strcmp(pat.value, name->value) == 0;
	if (strcasecmp(pat.value, name->value) == 0)
		return 1;
	if (name->kind != CA_NAME_DNS || strncmp(pat.value, "*.", 2) != 0)
		return 0;
	/* "*.web.contoso.test" also covers "x.web.contoso.test": exactly one
	 * non-wildcard label in place of the star, as a TLS client would
	 * match it (RFC 6125 6.4.3). "a.b.web..." and "web..." are not. */
	nlen = value_len(name);
	plen = strlen(pat.value) - 1;          /* ".web.contoso.test" */
	if (nlen <= plen)
		return 0;
	if (strcasecmp(name->value + nlen - plen, pat.value + 1) != 0)
		return 0;
	if (memchr(name->value, '.', nlen - plen) != NULL ||
	    memchr(name->value, '*', nlen - plen) != NULL)
		return 0;
	return 1;
}

/* Is NAME covered by one of the token's scope patterns? */
static int
in_scope(const struct ca_policy_input *in, const struct ca_name *name)
{
	size_t i;

	for (i = 0; i < in->nscope_names; i++)
		if (ca_scope_covers(in->scope_names[i], name))
			return 1;
	return 0;
}

static int
in_any_domain(const struct ca_policy_input *in, const struct ca_name *name)
{
	size_t i;

	for (i = 0; i < in->ndomains; i++)
		if (in->domains[i] != NULL &&
		    ca_name_in_domain(name, in->domains[i]))
			return 1;
	return 0;
}

/* What address N is when it is one no connection goes to (RFC 6890:
 * the unspecified address, IPv4's limited broadcast, multicast), else
 * NULL. Relying parties would take a certificate naming it, and no
 * connection would ever match it. */
static const char *
ip_nowhere(const struct ca_name *n)
{
	static const unsigned char zero[16];

	if (memcmp(n->ip, zero, n->ip_len) == 0)
		return "the unspecified address";
	if (n->ip_len == 4 && memcmp(n->ip, "\xff\xff\xff\xff", 4) == 0)
		return "the broadcast address";
	if ((n->ip_len == 4 && (n->ip[0] & 0xf0) == 0xe0) ||
	    (n->ip_len == 16 && n->ip[0] == 0xff))
		return "a multicast address";
	return NULL;
}

static int
check_name(const struct ca_policy_input *in, const struct ca_name *n,
	   struct mica_err *err)
{
	const struct ca_profile *p = in->profile;
	const char *kind = ca_name_kind_str(n->kind);

	if (value_len(n) == 0 ||
	    (n->kind != CA_NAME_DNS && n->kind != CA_NAME_IP &&
	     n->kind != CA_NAME_EMAIL && n->kind != CA_NAME_UPN))
		return mica_err_set(err, MICA_E_BADREQ, "bad_name",
				    "a requested name is empty or malformed");
	if (((unsigned)n->kind & p->name_kinds) == 0)
		return mica_err_set(err, MICA_E_POLICY, "name_kind_not_allowed",
				    "the %s profile does not allow %s names "
				    "(\"%s\")", p->name, kind, n->value);

	if (n->kind == CA_NAME_DNS && strchr(n->value, '.') == NULL) {
		/* A single label is resolved by each client's own search
		 * list, so it names different hosts to different clients.
		 * Only the daemon's certificate may carry one, "localhost",
		 * so that https://localhost works on the CA machine. It is
		 * under no domain and needs none. */
		if (in->daemon_tls && strcasecmp(n->value, "localhost") == 0)
			return 0;
		return mica_err_set(err, MICA_E_POLICY, "name_not_allowed",
				    "%s is a single label, not a host name a "
				    "certificate can vouch for", n->value);
	}

	/* A UPN is an Active Directory account, which NPS, VPN servers
	 * and a KDC (PKINIT) map the certificate to by that name alone:
	 * "any name within the domains" would be any account, an
	 * administrator's too. As an address, a token gets one only when
	 * its scope lists that very UPN. */
	if (n->kind == CA_NAME_UPN && in->scoped && in->scope_names == NULL)
		return mica_err_set(err, MICA_E_POLICY, "name_not_allowed",
				    "UPN %s is not allowed: only an admin, or "
				    "a token whose scope lists that very UPN, "
				    "may ask for one", n->value);

	if (n->kind == CA_NAME_IP) {
		const char *what = ip_nowhere(n);

		if (what != NULL)
			return mica_err_set(err, MICA_E_POLICY,
					    "name_not_allowed",
					    "IP address %s is %s: no client "
					    "connects to it over TLS", n->value,
					    what);
		/* An address proves nothing about who owns it, and the CA's
		 * domain list cannot vouch for it. Only an admin (no scope)
		 * may put one in a certificate, or a token whose scope
		 * names that very address. */
		if (in->scoped && in->scope_names == NULL)
			return mica_err_set(err, MICA_E_POLICY,
					    "name_not_allowed",
					    "IP address %s is not allowed: only "
					    "an admin, or a token whose scope "
					    "lists that very address, may ask "
					    "for one", n->value);
	} else if (in->ndomains > 0) {
		if (!in_any_domain(in, n))
			return mica_err_set(err, MICA_E_POLICY,
					    "name_not_allowed",
					    "%s is not under any of the CA's "
					    "allowed domains", n->value);
	} else if (in->scoped) {
		/* No domain configured: the CA has no notion of which names
		 * are its own. An admin may still issue anything (that is
		 * how a fresh CA is used before domains are set up), but a
		 * token, even one listing the name, may not: a scope is a
		 * restriction within the domains, never a grant beyond them. */
		return mica_err_set(err, MICA_E_POLICY, "name_not_allowed",
				    "%s is not allowed: the CA has no allowed "
				    "domains configured", n->value);
	}

	if (in->scoped && in->scope_names != NULL && !in_scope(in, n))
		return mica_err_set(err, MICA_E_POLICY, "name_not_in_scope",
				    "%s is outside the token's scope", n->value);
	return 0;
}

static int
check_key(const struct ca_policy_input *in, struct mica_err *err)
{
	switch (in->key_kind) {
	case CA_PUBKEY_RSA:
		/* NIST SP 800-131A and the CA/B BRs 6.1.5: 2048 at least.
		 * Above 4096 buys nothing and slows every handshake; many
		 * devices (and mbedTLS's default MPI limit) refuse it. */
		if (in->key_bits < 2048)
			return mica_err_set(err, MICA_E_POLICY, "weak_key",
					    "RSA keys must have at least 2048 "
					    "bits (this one has %d)",
					    in->key_bits);
		if (in->key_bits > 4096)
			return mica_err_set(err, MICA_E_POLICY,
					    "unsupported_key",
					    "RSA keys larger than 4096 bits are "
					    "not supported (this one has %d)",
					    in->key_bits);
		return 0;
	case CA_PUBKEY_EC_P256:
		if (in->key_bits != 0 && in->key_bits != 256)
			break;
		return 0;
	case CA_PUBKEY_EC_P384:
		if (in->key_bits != 0 && in->key_bits != 384)
			break;
		return 0;
	default:
		break;
	}
	return mica_err_set(err, MICA_E_POLICY, "unsupported_key",
			    "only RSA (2048-4096 bits) and EC P-256/P-384 keys "
			    "are supported");
}

int
ca_policy_check(const struct ca_policy_input *in,
		struct ca_policy_decision *out, struct mica_err *err)
{
	const struct ca_profile *p;
	struct ca_policy_decision d;
	int default_days, max_days, days;
	size_t i;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (in == NULL || out == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "policy check called without input");
	p = in->profile;
	if (p == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "unknown_profile",
				    "no certificate profile given");
	if ((in->nnames > 0 && in->names == NULL) ||
	    (in->ndomains > 0 && in->domains == NULL) ||
	    (in->nscope_names > 0 && in->scope_names == NULL))
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "policy check called with a bad list");
	if (in->now < 0 || in->now > TIME_MAX)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "the clock is out of range");
	if (in->daemon_tls && in->scoped)
		return mica_err_set(err, MICA_E_INTERNAL, "internal",
				    "the daemon's certificate is never issued "
				    "under a token's scope");

	if (in->scoped && in->scope_profile != NULL &&
	    strcmp(in->scope_profile, p->name) != 0)
		return mica_err_set(err, MICA_E_POLICY, "profile_not_in_scope",
				    "this token may not request the %s profile",
				    p->name);

	if (in->nnames == 0 || in->nnames < (size_t)(p->min_names > 0 ?
						     p->min_names : 1))
		return mica_err_set(err, MICA_E_POLICY, "no_names",
				    "the request names nothing to certify "
				    "(no DNS name, IP address, email or UPN)");
	if (in->nnames > CA_NAMES_MAX)
		return mica_err_set(err, MICA_E_POLICY, "too_many_names",
				    "at most %d names per certificate",
				    CA_NAMES_MAX);
	for (i = 0; i < in->nnames; i++)
		if (check_name(in, &in->names[i], err) != 0)
			return -1;

	if (check_key(in, err) != 0)
		return -1;

	/* Effective limits come from the caller (admin overrides); zero
	 * means "the profile's own". A default above the maximum is an admin
	 * misconfiguration: the maximum wins. */
	max_days = in->max_days > 0 ? in->max_days : p->max_days;
	default_days = in->default_days > 0 ? in->default_days : p->default_days;
	if (default_days > max_days)
		default_days = max_days;
	if (in->requested_days < 0 || in->requested_days > max_days)
		return mica_err_set(err, MICA_E_POLICY, "days_out_of_range",
				    "validity must be between 1 and %d days "
				    "for the %s profile", max_days, p->name);
	days = in->requested_days == 0 ? default_days : in->requested_days;

	if (in->ca_not_after <= in->now + CA_MIN_LEFT)
		return mica_err_set(err, MICA_E_POLICY, "ca_expiring",
				    "the CA certificate, or one above it, "
				    "expires within the hour or has expired: "
				    "nothing is issued until it is renewed (an "
				    "issuing CA: 'mica renew-ca'; a root: "
				    "replaced, README \"Replacing the root\")");

	memset(&d, 0, sizeof(d));
	d.not_before = in->now - BACKDATE_SECS;
	/* The validity period includes both notBefore and notAfter (RFC
	 * 5280 4.1.2.5): DAYS days end one second before notBefore plus
	 * DAYS * 86400, so that a 398-day certificate is 398 days as the
	 * CA/Browser Forum counts them (BR 6.3.2: a second more makes a
	 * 399th day), as Let's Encrypt's 90 days are. days <= INT_MAX and
	 * now <= TIME_MAX: no int64 overflow. */
	d.not_after = d.not_before + (int64_t)days * DAY_SECS - 1;
	d.days = days;
	if (d.not_after > in->ca_not_after) {
		/* RFC 5280 6.1.3 does not forbid a leaf outliving its issuer,
		 * but every path check fails after the CA expires: say so. */
		d.not_after = in->ca_not_after;
		d.days = (int)((d.not_after - d.not_before + 1) / DAY_SECS);
		d.clamped = 1;
	}
	d.key_usage = in->key_kind == CA_PUBKEY_RSA ? p->ku_rsa : p->ku_ec;
	d.eku = p->eku;
	*out = d;
	return 0;
}

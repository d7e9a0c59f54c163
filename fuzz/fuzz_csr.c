/*
 * fuzz/fuzz_csr.c - the CSR path: ca_csr_decode -> ca_csr_parse (ca/csr.h)
 * -> ca_policy_check (ca/profile.h), on hostile bytes.
 *
 * This is what a client with an enrollment token (or none) reaches over
 * HTTP. Two passes per input:
 *  1. the input as sent: PEM, bare base64 or DER, decoded, parsed (which
 *     verifies the self-signature), then judged by the policy;
 *  2. the same request re-signed: a mutated CSR almost never carries a
 *     valid signature, so everything behind the proof-of-possession check
 *     (subject, attributes, subjectAltName, policy) would go unfuzzed. If
 *     the decoded DER has the shape SEQUENCE { SEQUENCE { version, subject,
 *     spki, rest... }, ... }, the harness swaps in a public key of its own,
 *     signs the new certificationRequestInfo with the matching private key
 *     (generated once, P-256 or P-384) and parses that.
 *
 * Checked beyond "no crash": the error convention; ca_csr_load agrees with
 * decode + parse; a parsed CSR keeps the exact DER, carries a SHA-256 of
 * its SPKI, an accepted key, a printable subject, at most CA_NAMES_MAX
 * canonical names without duplicates; and for every profile and four kinds
 * of requester (admin, scoped token, unscoped token, token of another
 * profile), the policy decides as its contract says and a granted decision
 * is consistent (validity inside the CA's, clamping, key usages of the
 * profile for the key's algorithm, every name allowed); and the subject
 * as ca_dn_print writes it is what mbedtls_x509_dn_gets() writes, when
 * that writes anything.
 */
#include "fuzz/fuzz.h"

#include "ca/csr.h"
#include "ca/der.h"
#include "ca/keys.h"
#include "ca/names.h"
#include "ca/profile.h"

#include <mbedtls/asn1.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_csr.h>

/* 2026-01-01T00:00:00Z: policy decisions do not depend on the real clock. */
#define NOW INT64_C(1767225600)
#define DAY INT64_C(86400)

static const char *const domains[] = {
	"contoso.test", "example.org", "xn--bcher-kva.example",
};
static const char *const scope[] = {
	"*.contoso.test", "mail.contoso.test", "alice@contoso.test",
	"10.0.0.1", "2001:db8::1",
};

static struct ca_key *keys[2];              /* P-256, P-384 */
static unsigned char *key_spki[2];
static size_t key_spki_len[2];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const enum ca_key_type types[2] = { CA_KEY_EC_P256, CA_KEY_EC_P384 };
	struct mica_err err;

	for (int i = 0; i < 2; i++)
		if (ca_key_generate(types[i], &keys[i], &err) != 0 ||
		    ca_key_spki(keys[i], &key_spki[i], &key_spki_len[i], &err) != 0)
			fuzz_fail("cannot make the harness's key: %s", err.msg);
	return 0;
}

/* ------------------------------------------------------ re-signing -- */

static size_t
hdr_len(size_t len)
{
	size_t n = 2;

	if (len >= 0x80)
		for (; len > 0; len >>= 8)
			n++;
	return n;
}

static unsigned char *
put_hdr(unsigned char *p, unsigned tag, size_t len)
{
	size_t n = hdr_len(len) - 2;

	*p++ = (unsigned char)tag;
	if (n == 0) {
		*p++ = (unsigned char)len;
		return p;
	}
	*p++ = (unsigned char)(0x80 | n);
	while (n-- > 0)
		*p++ = (unsigned char)(len >> (8 * n));
	return p;
}

static unsigned char *
put(unsigned char *p, const void *v, size_t n)
{
	memcpy(p, v, n);
	return p + n;
}

/* The request of DER with the key replaced by the harness's KEY and
 * re-signed; NULL if DER does not have a CSR's outer shape. *out_len gets
 * the size; the caller frees. */
static unsigned char *
resign(const unsigned char *der, size_t der_len, int key, size_t *out_len)
{
	struct ca_der_cur top, csr, cri;
	struct ca_der_tlv version, subject, spki;
	struct mica_err err;
	const unsigned char *rest, *alg;
	unsigned char sig[CA_SIG_MAX], *info = NULL, *out = NULL, *p;
	size_t rest_len, info_content, info_len, sig_len, alg_len, content;

	ca_der_init(&top, der, der_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &csr, &err) != 0 ||
	    ca_der_enter(&csr, CA_DER_SEQUENCE, &cri, &err) != 0 ||
	    ca_der_get_any(&cri, &version, &err) != 0 ||
	    ca_der_get_any(&cri, &subject, &err) != 0 ||
	    ca_der_get_any(&cri, &spki, &err) != 0)
		return NULL;
	rest = cri.p;
	rest_len = (size_t)(cri.end - cri.p);

	info_content = version.raw_len + subject.raw_len + key_spki_len[key] + rest_len;
	info_len = hdr_len(info_content) + info_content;
	info = malloc(info_len);
	if (info == NULL)
		abort();
	p = put_hdr(info, CA_DER_SEQUENCE, info_content);
	p = put(p, version.raw, version.raw_len);
	p = put(p, subject.raw, subject.raw_len);
	p = put(p, key_spki[key], key_spki_len[key]);
	p = put(p, rest, rest_len);
	if (ca_key_sign(keys[key], info, info_len, sig, &sig_len, &err) != 0)
		fuzz_fail("harness cannot sign: %s", err.msg);
	alg = ca_key_sig_alg(keys[key], &alg_len);

	content = info_len + alg_len + hdr_len(sig_len + 1) + sig_len + 1;
	*out_len = hdr_len(content) + content;
	out = malloc(*out_len);
	if (out == NULL)
		abort();
	p = put_hdr(out, CA_DER_SEQUENCE, content);
	p = put(p, info, info_len);
	p = put(p, alg, alg_len);
	p = put_hdr(p, CA_DER_BIT_STRING, sig_len + 1);
	*p++ = 0;   /* unused bits */
	put(p, sig, sig_len);
	free(info);
	return out;
}

/* ------------------------------------------------------ subject text -- */

/* The subject of DER as mbedTLS's CSR parser reads it, multi-valued RDNs
 * marked (its private next_merged, read by the public
 * mbedtls_x509_dn_get_next): ca_dn_print with the same marks writes what
 * mbedtls_x509_dn_gets() writes, " + " and all. */
static void
check_merged(const unsigned char *der, size_t der_len)
{
	mbedtls_x509_csr csr;
	mbedtls_x509_name *n;
	unsigned char merged[256];
	char ours[4096], theirs[4096];
	size_t i = 0;
	int a, b;

	mbedtls_x509_csr_init(&csr);
	if (mbedtls_x509_csr_parse_der(&csr, der, der_len) != 0)
		goto out;
	memset(merged, 0, sizeof(merged));
	for (n = &csr.subject; n != NULL; n = n->next, i++) {
		if (i + 1 >= sizeof(merged))
			goto out;
		if (n->next != NULL && mbedtls_x509_dn_get_next(n) != n->next)
			merged[i + 1] = 1;
	}
	a = ca_dn_print(ours, sizeof(ours), &csr.subject, merged);
	b = mbedtls_x509_dn_gets(theirs, sizeof(theirs), &csr.subject);
	if (b >= 0 && (a != b || strcmp(ours, theirs) != 0))
		fuzz_fail("ca_dn_print wrote \"%s\", mbedtls_x509_dn_gets \"%s\" "
			  "(multi-valued RDNs marked)", ours, theirs);
out:
	mbedtls_x509_csr_free(&csr);
}

/* The subject of DER (a CSR's outer shape) as a list of its attributes,
 * walked here with mbedTLS's ASN.1 reader (any single-octet tag a
 * value): ca_dn_print must write what mbedtls_x509_dn_gets() writes
 * whenever that writes anything, and where that gives up on a value
 * longer than its 255 characters, a string anyway. */
static void
check_dn_print(const unsigned char *der, size_t der_len)
{
	struct ca_der_cur top, csr, cri;
	struct ca_der_tlv version, subject;
	struct mica_err err;
	mbedtls_x509_name v[64];
	unsigned char *p, *end;
	size_t len, count = 0;
	char ours[4096], theirs[4096];
	int a, b;

	ca_der_init(&top, der, der_len);
	if (ca_der_enter(&top, CA_DER_SEQUENCE, &csr, &err) != 0 ||
	    ca_der_enter(&csr, CA_DER_SEQUENCE, &cri, &err) != 0 ||
	    ca_der_get_any(&cri, &version, &err) != 0 ||
	    ca_der_get_any(&cri, &subject, &err) != 0)
		return;
	p = (unsigned char *)subject.raw;
	end = p + subject.raw_len;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED |
				 MBEDTLS_ASN1_SEQUENCE) != 0 || p + len != end)
		return;
	memset(v, 0, sizeof(v));
	while (p < end) {
		unsigned char *set_end;

		if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED |
					 MBEDTLS_ASN1_SET) != 0)
			return;
		for (set_end = p + len; p < set_end; count++) {
			unsigned char *atv_end;

			if (count == 64 ||
			    mbedtls_asn1_get_tag(&p, set_end, &len,
						 MBEDTLS_ASN1_CONSTRUCTED |
						 MBEDTLS_ASN1_SEQUENCE) != 0)
				return;
			atv_end = p + len;
			if (mbedtls_asn1_get_tag(&p, atv_end, &len,
						 MBEDTLS_ASN1_OID) != 0)
				return;
			v[count].oid = (mbedtls_x509_buf){ MBEDTLS_ASN1_OID, len, p };
			p += len;
			if (p >= atv_end || (*p & 0x1f) == 0x1f)
				return;
			v[count].val.tag = *p++;
			if (mbedtls_asn1_get_len(&p, atv_end, &len) != 0 ||
			    p + len != atv_end)
				return;
			v[count].val.len = len;
			v[count].val.p = p;
			p += len;
			if (count > 0)
				v[count - 1].next = &v[count];
		}
	}
	if (count == 0)
		return;
	check_merged(der, der_len);
	a = ca_dn_print(ours, sizeof(ours), v, NULL);
	b = mbedtls_x509_dn_gets(theirs, sizeof(theirs), v);
	if (a < -2 || (a >= 0 && (size_t)a != strlen(ours)))
		fuzz_fail("ca_dn_print returned %d for %zu octets", a, strlen(ours));
	if (b >= 0 && (a != b || strcmp(ours, theirs) != 0))
		fuzz_fail("ca_dn_print wrote \"%s\", mbedtls_x509_dn_gets \"%s\"",
			  ours, theirs);
	if (b == MBEDTLS_ERR_X509_INVALID_NAME && a != -2)
		fuzz_fail("ca_dn_print took a NUL mbedtls_x509_dn_gets refused");
	if (a == -2 && b >= 0)
		fuzz_fail("ca_dn_print refused a NUL in what dn_gets wrote");
}

/* ------------------------------------------------------------ policy -- */

static int
name_ok_for(const struct ca_policy_input *in, const struct ca_name *n)
{
	size_t i;
	int in_domain = 0, covered = 0;

	if (((unsigned)n->kind & in->profile->name_kinds) == 0)
		return 0;
	/* An address, and a UPN (an account to log on as), only for an
	 * admin or a token whose scope names it. */
	if ((n->kind == CA_NAME_IP || n->kind == CA_NAME_UPN) &&
	    in->scoped && in->scope_names == NULL)
		return 0;
	if (n->kind == CA_NAME_IP) {
		/* no domain */
	} else if (in->ndomains > 0) {
		for (i = 0; i < in->ndomains; i++)
			in_domain |= ca_name_in_domain(n, in->domains[i]);
		if (!in_domain)
			return 0;
	} else if (in->scoped) {
		return 0;
	}
	if (in->scoped && in->scope_names != NULL) {
		for (i = 0; i < in->nscope_names; i++)
			covered |= ca_scope_covers(in->scope_names[i], n);
		if (!covered)
			return 0;
	}
	return 1;
}

/* The contract of ca_policy_check (ca/profile.h), read independently:
 * 1 if the request must be granted, 0 if it must be refused. */
static int
should_grant(const struct ca_policy_input *in)
{
	const struct ca_profile *p = in->profile;
	int max_days = in->max_days > 0 ? in->max_days : p->max_days;
	size_t i;

	if (in->scoped && in->scope_profile != NULL &&
	    strcmp(in->scope_profile, p->name) != 0)
		return 0;
	if (in->nnames == 0 || in->nnames > CA_NAMES_MAX ||
	    in->nnames < (size_t)p->min_names)
		return 0;
	for (i = 0; i < in->nnames; i++)
		if (!name_ok_for(in, &in->names[i]))
			return 0;
	switch (in->key_kind) {
	case CA_PUBKEY_RSA:
		if (in->key_bits < 2048 || in->key_bits > 4096)
			return 0;
		break;
	case CA_PUBKEY_EC_P256:
	case CA_PUBKEY_EC_P384:
		break;
	default:
		return 0;
	}
	if (in->requested_days < 0 || in->requested_days > max_days)
		return 0;
	if (in->ca_not_after <= in->now + 3600)
		return 0;
	return 1;
}

static void
check_decision(const struct ca_policy_input *in, const struct ca_policy_decision *d)
{
	const struct ca_profile *p = in->profile;
	int max_days = in->max_days > 0 ? in->max_days : p->max_days;
	int def = in->default_days > 0 ? in->default_days : p->default_days;
	int days = in->requested_days > 0 ? in->requested_days : (def < max_days ? def : max_days);
	/* DAYS days include notBefore and notAfter (RFC 5280 4.1.2.5): one
	 * second short of DAYS * 86400 after notBefore. */
	int64_t want_na = d->not_before + days * DAY - 1;

	if (d->not_before != in->now - 300)
		fuzz_fail("%s: notBefore %lld, now %lld", p->name,
			  (long long)d->not_before, (long long)in->now);
	if (!(d->not_before < d->not_after) || d->not_after > in->ca_not_after)
		fuzz_fail("%s: validity [%lld, %lld] not inside the CA's (until %lld)",
			  p->name, (long long)d->not_before, (long long)d->not_after,
			  (long long)in->ca_not_after);
	if (want_na > in->ca_not_after) {
		if (!d->clamped || d->not_after != in->ca_not_after)
			fuzz_fail("%s: %d days past the CA's notAfter not clamped", p->name, days);
		if (d->days < 0 ||
		    (int64_t)d->days * DAY > d->not_after - d->not_before + 1)
			fuzz_fail("%s: clamped to %d days", p->name, d->days);
	} else if (d->clamped || d->not_after != want_na || d->days != days) {
		fuzz_fail("%s: %d days granted as %d (clamped %d)", p->name, days,
			  d->days, d->clamped);
	}
	if (d->days > max_days)
		fuzz_fail("%s: %d days above the maximum %d", p->name, d->days, max_days);
	if (d->key_usage != (in->key_kind == CA_PUBKEY_RSA ? p->ku_rsa : p->ku_ec) ||
	    d->key_usage == 0)
		fuzz_fail("%s: keyUsage 0x%x not the profile's", p->name, d->key_usage);
	if (d->eku != p->eku)
		fuzz_fail("%s: EKU 0x%x not the profile's", p->name, d->eku);
	if ((d->key_usage & (CA_KU_KEY_CERT_SIGN | CA_KU_CRL_SIGN)) != 0)
		fuzz_fail("%s: an end entity may sign certificates", p->name);
}

static void
policy_matrix(const struct ca_csr *c, unsigned salt)
{
	const struct ca_profile *profiles;
	size_t np, i;
	int who, when;

	profiles = ca_profiles(&np);
	for (i = 0; i < np; i++) {
		for (who = 0; who < 4; who++) {
			for (when = 0; when < 2; when++) {
				struct ca_policy_input in;
				struct ca_policy_decision d;
				struct mica_err err;
				int rc, want;

				memset(&in, 0, sizeof(in));
				in.profile = &profiles[i];
				in.domains = domains;
				in.ndomains = sizeof(domains) / sizeof(domains[0]);
				in.names = c->names;
				in.nnames = c->nnames;
				in.key_kind = c->key_kind;
				in.key_bits = c->key_bits;
				in.now = NOW;
				/* a CA with years left, or one about to expire */
				in.ca_not_after = when == 0 ? NOW + 3650 * DAY :
					NOW + (int64_t)(salt % 40) * DAY + 1800;
				in.requested_days = (int)((salt >> 3) % 1200) - 5;
				if (salt & 4)
					in.requested_days = 0;
				if (salt & 0x100) {     /* admin overrides */
					in.default_days = (int)(salt % 500);
					in.max_days = (int)((salt >> 9) % 900);
				}
				switch (who) {
				case 0:   /* admin: no scope */
					break;
				case 1:   /* token for this profile and some names */
					in.scoped = 1;
					in.scope_profile = profiles[i].name;
					in.scope_names = scope;
					in.nscope_names = sizeof(scope) / sizeof(scope[0]);
					break;
				case 2:   /* token for any profile, any name in the domains */
					in.scoped = 1;
					break;
				case 3:   /* token for the server profile only */
					in.scoped = 1;
					in.scope_profile = "server";
					break;
				}
				memset(&err, 0, sizeof(err));
				rc = ca_policy_check(&in, &d, &err);
				fuzz_check_err("ca_policy_check", rc, &err);
				want = should_grant(&in);
				if (rc == 0 && !want)
					fuzz_fail("policy granted %s to requester %d, the contract refuses",
						  profiles[i].name, who);
				if (rc != 0 && want)
					fuzz_fail("policy refused %s to requester %d: %s",
						  profiles[i].name, who, err.msg);
				if (rc == 0)
					check_decision(&in, &d);
				else if (err.kind != MICA_E_POLICY && err.kind != MICA_E_BADREQ)
					fuzz_fail("policy refused with kind %d", (int)err.kind);
			}
		}
	}
}

/* -------------------------------------------------------------- CSR -- */

static void
check_csr(const struct ca_csr *c, const unsigned char *der, size_t der_len)
{
	unsigned char h[32];
	const unsigned char *s;
	size_t i, j;

	if (c->der == NULL || c->der_len != der_len || memcmp(c->der, der, der_len) != 0)
		fuzz_fail("parsed CSR does not keep its DER");
	if (c->spki == NULL || c->spki_len == 0)
		fuzz_fail("parsed CSR without a public key");
	ca_sha256(c->spki, c->spki_len, h);
	if (memcmp(h, c->spki_sha256, 32) != 0)
		fuzz_fail("spki_sha256 is not the SHA-256 of spki");
	switch (c->key_kind) {
	case CA_PUBKEY_RSA:
		if (c->key_bits < 2048 || c->key_bits > 4096)
			fuzz_fail("RSA key of %d bits accepted", c->key_bits);
		break;
	case CA_PUBKEY_EC_P256:
		if (c->key_bits != 256)
			fuzz_fail("P-256 key of %d bits", c->key_bits);
		break;
	case CA_PUBKEY_EC_P384:
		if (c->key_bits != 384)
			fuzz_fail("P-384 key of %d bits", c->key_bits);
		break;
	default:
		fuzz_fail("key kind %d accepted", c->key_kind);
	}
	if (c->subject == NULL)
		fuzz_fail("parsed CSR without a display subject");
	for (s = (const unsigned char *)c->subject; *s != '\0'; s++)
		if (*s < 0x20 || *s == 0x7f)
			fuzz_fail("subject carries control character 0x%02x", *s);
	if (c->cn != NULL)
		for (s = (const unsigned char *)c->cn; *s != '\0'; s++)
			if (*s < 0x20 || *s == 0x7f)
				fuzz_fail("CN carries control character 0x%02x", *s);
	if (c->nnames > CA_NAMES_MAX || (c->nnames > 0) != (c->names != NULL))
		fuzz_fail("%zu names (list %p)", c->nnames, (const void *)c->names);
	for (i = 0; i < c->nnames; i++) {
		struct ca_name again;

		if (memchr(c->names[i].value, '\0', sizeof(c->names[i].value)) == NULL ||
		    ca_name_parse(c->names[i].value, c->names[i].kind, &again, NULL) != 0 ||
		    strcmp(again.value, c->names[i].value) != 0 ||
		    again.ip_len != c->names[i].ip_len ||
		    memcmp(again.ip, c->names[i].ip, sizeof(again.ip)) != 0)
			fuzz_fail("CSR name %zu is not canonical", i);
		for (j = 0; j < i; j++)
			if (c->names[j].kind == c->names[i].kind &&
			    strcmp(c->names[j].value, c->names[i].value) == 0)
				fuzz_fail("CSR name \"%s\" listed twice", c->names[i].value);
	}
}

static unsigned
salt_of(const uint8_t *data, size_t size)
{
	unsigned h = 2166136261u;    /* FNV-1a: any cheap deterministic mix */

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	return h;
}

/* Parse DER; if it is a CSR, check it and run it through the policy.
 * *key_kind gets the request's key kind. WHAT names the pass. */
static int
parse_and_judge(const char *what, const unsigned char *der, size_t der_len,
		unsigned salt, int *key_kind)
{
	struct ca_csr c;
	struct mica_err err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = ca_csr_parse(der, der_len, &c, &err);
	fuzz_check_err(what, rc, &err);
	if (rc != 0) {
		if (err.kind != MICA_E_BADREQ && err.kind != MICA_E_POLICY &&
		    err.kind != MICA_E_TOOLARGE)
			fuzz_fail("%s refused with kind %d (%s)", what, (int)err.kind, err.code);
		if (key_kind == NULL && strcmp(err.code, "bad_signature") == 0)
			/* The structure we re-signed is the one ca_csr_parse
			 * reads, so the signature must hold. A request whose
			 * outer shape differs from what resign() walked fails
			 * earlier, with bad_csr. */
			fuzz_fail("re-signed CSR fails its signature check: %s", err.msg);
		return -1;
	}
	if (key_kind != NULL)
		*key_kind = c.key_kind;
	else if (c.key_kind != ((salt & 1) ? CA_PUBKEY_EC_P384 : CA_PUBKEY_EC_P256))
		fuzz_fail("re-signed CSR has key kind %d, not the harness key's", c.key_kind);
	check_csr(&c, der, der_len);
	policy_matrix(&c, salt);
	ca_csr_free(&c);
	if (c.der != NULL || c.names != NULL || c.nnames != 0)
		fuzz_fail("ca_csr_free left fields set");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *der = NULL, *again = NULL;
	size_t der_len = 0, again_len = 0;
	struct mica_err err;
	struct ca_csr loaded;
	unsigned salt = salt_of(data, size);
	int rc, parsed, lrc, kind = 0;

	memset(&err, 0, sizeof(err));
	rc = ca_csr_decode(data, size, &der, &der_len, &err);
	fuzz_check_err("ca_csr_decode", rc, &err);
	if (rc != 0) {
		if (der != NULL || der_len != 0)
			fuzz_fail("ca_csr_decode failed but returned data");
		if (err.kind != MICA_E_BADREQ && err.kind != MICA_E_TOOLARGE)
			fuzz_fail("ca_csr_decode refused with kind %d", (int)err.kind);
		return 0;
	}
	if (der == NULL || der_len == 0 || der_len > CA_CSR_MAX || der[0] != 0x30)
		fuzz_fail("ca_csr_decode returned %zu octets not starting a SEQUENCE", der_len);

	parsed = parse_and_judge("ca_csr_parse", der, der_len, salt, &kind) == 0;

	/* ca_csr_load is decode + parse in one call: same verdict. */
	memset(&err, 0, sizeof(err));
	lrc = ca_csr_load(data, size, &loaded, &err);
	if ((lrc == 0) != parsed)
		fuzz_fail("ca_csr_load says %d, decode + parse says %d", lrc, parsed ? 0 : -1);
	if (lrc == 0 && (loaded.der_len != der_len || memcmp(loaded.der, der, der_len) != 0 ||
			 loaded.key_kind != kind))
		fuzz_fail("ca_csr_load and ca_csr_decode + ca_csr_parse disagree");
	ca_csr_free(&loaded);

	/* Everything behind the signature check, with a signature that holds
	 * (parse_and_judge with a NULL key kind knows it is the re-signed
	 * request). */
	check_dn_print(der, der_len);
	again = resign(der, der_len, (int)(salt & 1), &again_len);
	if (again != NULL && again_len <= CA_CSR_MAX)
		parse_and_judge("ca_csr_parse (re-signed)", again, again_len, salt, NULL);
	free(again);
	free(der);
	return 0;
}

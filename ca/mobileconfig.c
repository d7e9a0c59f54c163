/*
 * ca/mobileconfig.c - an Apple configuration profile (.mobileconfig) that
 * installs the root and enrolls one iPhone, iPad or Mac by SCEP with a
 * one-time challenge: what `mica scep mobileconfig` writes and what the
 * admin page's button downloads (POST /api/v1/scep/mobileconfig), made
 * here once for both. The challenge is a new enrollment token (stored
 * hashed, as every token), for exactly one name, one use.
 */
#include "ca/ca.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/platform_util.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "ca/names.h"
#include "ca/profile.h"

/* S with &, < and > escaped, for a plist <string>. */
static void
put_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

static void
put_b64(FILE *f, const unsigned char *p, size_t n)
{
	static const char t[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		fputc(t[(v >> 18) & 63], f);
		fputc(t[(v >> 12) & 63], f);
		fputc(i + 1 < n ? t[(v >> 6) & 63] : '=', f);
		fputc(i + 2 < n ? t[v & 63] : '=', f);
		if ((i / 3 + 1) % 16 == 0 && i + 3 < n)
			fputs("\n\t\t\t", f);
	}
}

/* A random (version 4) UUID, as profiles name their payloads. */
static int
uuid(char out[37], struct mica_err *err)
{
	unsigned char r[16];

	if (ca_random(r, sizeof(r), err) != 0)
		return -1;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
		 "%02X%02X%02X%02X%02X%02X", r[0], r[1], r[2], r[3], r[4],
		 r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
		 r[14], r[15]);
	return 0;
}

static int
document(struct ca *ca, const char *name, const char *url,
	 const char *token, char **out, size_t *out_len,
	 struct mica_err *err)
{
	char u0[37], u1[37], u2[37];
	const unsigned char *root;
	size_t root_len = 0;
	FILE *f;

	*out = NULL;
	*out_len = 0;
	if ((root = ca_root_der(ca, &root_len)) == NULL)
		return mica_err_set(err, MICA_E_CONFLICT, "awaiting_certificate",
				    "this CA has no certificate yet");
	if (uuid(u0, err) != 0 || uuid(u1, err) != 0 || uuid(u2, err) != 0)
		return -1;
	if ((f = open_memstream(out, out_len)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	      "<plist version=\"1.0\">\n<dict>\n"
	      "\t<key>PayloadContent</key>\n\t<array>\n"
	      "\t\t<dict>\n"
	      "\t\t<key>PayloadCertificateFileName</key>\n"
	      "\t\t<string>root.cer</string>\n"
	      "\t\t<key>PayloadContent</key>\n\t\t<data>\n\t\t\t", f);
	put_b64(f, root, root_len);
	fputs("\n\t\t</data>\n\t\t<key>PayloadDisplayName</key>\n\t\t<string>", f);
	put_text(f, ca_name(ca));
	fprintf(f, "</string>\n"
		"\t\t<key>PayloadIdentifier</key>\n"
		"\t\t<string>mica.%s.root</string>\n"
		"\t\t<key>PayloadType</key>\n"
		"\t\t<string>com.apple.security.root</string>\n"
		"\t\t<key>PayloadUUID</key>\n\t\t<string>%s</string>\n"
		"\t\t<key>PayloadVersion</key>\n\t\t<integer>1</integer>\n"
		"\t\t</dict>\n", u0, u1);
	fputs("\t\t<dict>\n\t\t<key>PayloadContent</key>\n\t\t<dict>\n"
	      "\t\t\t<key>Challenge</key>\n\t\t\t<string>", f);
	put_text(f, token);
	fputs("</string>\n"
	      "\t\t\t<key>Key Type</key>\n\t\t\t<string>RSA</string>\n"
	      "\t\t\t<key>Key Usage</key>\n\t\t\t<integer>5</integer>\n"
	      "\t\t\t<key>Keysize</key>\n\t\t\t<integer>2048</integer>\n"
	      "\t\t\t<key>Name</key>\n\t\t\t<string>mica</string>\n"
	      "\t\t\t<key>Subject</key>\n"
	      "\t\t\t<array><array><array><string>CN</string><string>", f);
	put_text(f, name);
	fputs("</string></array></array></array>\n"
	      "\t\t\t<key>URL</key>\n\t\t\t<string>", f);
	put_text(f, url);
	fputs("</string>\n\t\t</dict>\n"
	      "\t\t<key>PayloadDisplayName</key>\n\t\t<string>", f);
	put_text(f, name);
	fprintf(f, "</string>\n"
		"\t\t<key>PayloadIdentifier</key>\n"
		"\t\t<string>mica.%s.scep</string>\n"
		"\t\t<key>PayloadType</key>\n"
		"\t\t<string>com.apple.security.scep</string>\n"
		"\t\t<key>PayloadUUID</key>\n\t\t<string>%s</string>\n"
		"\t\t<key>PayloadVersion</key>\n\t\t<integer>1</integer>\n"
		"\t\t</dict>\n\t</array>\n"
		"\t<key>PayloadDisplayName</key>\n\t<string>", u0, u2);
	put_text(f, ca_name(ca));
	fputs(": ", f);
	put_text(f, name);
	fprintf(f, "</string>\n"
		"\t<key>PayloadIdentifier</key>\n\t<string>mica.%s</string>\n"
		"\t<key>PayloadType</key>\n\t<string>Configuration</string>\n"
		"\t<key>PayloadUUID</key>\n\t<string>%s</string>\n"
		"\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n"
		"</dict>\n</plist>\n", u0, u0);
	if (fclose(f) != 0 || *out == NULL) {
		if (*out != NULL)
			mbedtls_platform_zeroize(*out, *out_len);
		free(*out);
		*out = NULL;
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory",
				    "out of memory");
	}
	return 0;
}

/* A URL a device is given: http(s)://, a host (no user@ before it, no
 * empty one: "https://" names no server), printable ASCII without spaces,
 * quotes or angle brackets (it goes into XML and to the device as is). */
static int
url_ok(const char *u)
{
	size_t n = strlen(u), hl;
	const char *host;

	if (n < 8 || n > CA_MOBILECONFIG_URL_MAX ||
	    (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
		return 0;
	host = u + (u[4] == 's' ? 8 : 7);
	hl = strcspn(host, "/?#");
	if (hl == 0 || host[0] == ':' || memchr(host, '@', hl) != NULL ||
	    (host[0] == '[' && (hl < 3 || host[1] == ']')))
		return 0;
	for (; *u != '\0'; u++)
		if (*u <= 0x20 || *u >= 0x7f || *u == '"' || *u == '<' ||
		    *u == '>' || *u == '\\')
			return 0;
	return 1;
}

/* A device's name: one DNS name, no wildcard, under one of the CA's
 * allowed domains, parsed into *N: N->value is its canonical form, as
 * the token stores it and the certificate will name it ("Phone-1.Contoso.
 * test." is "phone-1.contoso.test"). A token's scope alone does not need
 * that (policy decides at issuance), but a profile for a name that can
 * never be issued would only fail on the device. */
static int
name_ok(struct ca *ca, const char *name, struct ca_name *n,
	struct mica_err *err)
{
	char **doms = NULL;
	int in = 0;

	if (ca_name_parse(name, 0, n, err) != 0)
		return -1;
	if (n->kind != CA_NAME_DNS || strchr(n->value, '*') != NULL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_name",
				    "a device's name is one DNS name, without "
				    "a wildcard");
	if (ca_domain_list(ca, &doms, err) != 0)
		return -1;
	for (size_t i = 0; doms[i] != NULL && !in; i++)
		in = ca_name_in_domain(n, doms[i]);
	ca_strv_free(doms);
	if (!in)
		return mica_err_set(err, MICA_E_POLICY, "name_not_allowed",
				    "%s is not under the CA's allowed domains",
				    n->value);
	return 0;
}

int
ca_scep_mobileconfig(struct ca *ca, const struct ca_principal *p,
		     const struct ca_mobileconfig_spec *spec, char **out,
		     size_t *out_len, char token_id[CA_ID_MAX],
		     struct mica_err *err)
{
	struct ca_token_spec ts;
	struct ca_token info;
	const char *names[1], *url = spec->url;
	char token[CA_TOKEN_MAX], urlbuf[CA_MOBILECONFIG_URL_MAX + 1];
	struct ca_name name;
	size_t root_len = 0;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	memset(token, 0, sizeof(token));
	if (ca_require_admin(p, err) != 0)
		return -1;
	/* Everything that can be refused is, before the token is stored. */
	if (spec->name == NULL || spec->name[0] == '\0')
		return mica_err_set(err, MICA_E_BADREQ, "bad_name",
				    "the device's name is required");
	if (name_ok(ca, spec->name, &name, err) != 0)
		return -1;
	if (spec->expires_in <= 0 ||
	    spec->expires_in > CA_MOBILECONFIG_EXPIRES_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_expiry",
				    "the challenge must expire within 1 second "
				    "and %d days", (int)(CA_MOBILECONFIG_EXPIRES_MAX
				    / 86400));
	if (url == NULL) {
		if (ca_public_url(ca) == NULL ||
		    snprintf(urlbuf, sizeof(urlbuf), "%s/scep",
			     ca_public_url(ca)) >= (int)sizeof(urlbuf))
			return mica_err_set(err, MICA_E_BADREQ, "no_public_url",
					    "this CA has no public URL: give "
					    "the SCEP URL the device can reach");
		url = urlbuf;
	} else if ((strncasecmp(url, "http://", 7) == 0 ||
		    strncasecmp(url, "https://", 8) == 0) &&
		   strlen(url) < sizeof(urlbuf)) {
		/* A scheme is case-insensitive (RFC 3986 3.1): "HTTPS://"
		 * is taken, and written in its canonical lower case. */
		size_t sl = strcspn(url, ":");

		memcpy(urlbuf, url, strlen(url) + 1);
		for (size_t i = 0; i < sl; i++)
			urlbuf[i] = (char)tolower((unsigned char)urlbuf[i]);
		url = urlbuf;
	}
	if (!url_ok(url))
		return mica_err_set(err, MICA_E_BADREQ, "bad_url",
				    "the SCEP URL must be an http:// or "
				    "https:// URL naming a host, of at most "
				    "%d printable characters",
				    CA_MOBILECONFIG_URL_MAX);
	if (ca_root_der(ca, &root_len) == NULL)
		return mica_err_set(err, MICA_E_CONFLICT, "awaiting_certificate",
				    "this CA has no certificate yet");
	memset(&ts, 0, sizeof(ts));
	/* The name as the certificate will have it, in the token, the CN
	 * the device asks for and the profile's name alike. */
	names[0] = name.value;
	ts.kind = CA_TOKEN_ENROLL;
	ts.profile = spec->profile != NULL ? spec->profile : "client";
	ts.names = names;
	ts.nnames = 1;
	ts.uses = 1;
	ts.expires_in = spec->expires_in;
	ts.comment = "SCEP challenge of a .mobileconfig";
	/* The token checks the name and the profile (the CA's domains, the
	 * known profiles) and stores nothing when they are refused. */
	memset(&info, 0, sizeof(info));
	if (ca_token_create(ca, p, &ts, token, &info, err) != 0)
		goto out;
	if (token_id != NULL)
		snprintf(token_id, CA_ID_MAX, "%s", info.id);
	ca_token_free(&info);
	if (document(ca, name.value, url, token, out, out_len, err) != 0)
		goto out;
	rc = 0;
out:
	mbedtls_platform_zeroize(token, sizeof(token));
	return rc;
}

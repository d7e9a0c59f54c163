/*
 * ca/acme.c - the ACME service: its options, the nonces, the verification
 * every request goes through (JWS, url, key, signature, nonce, account),
 * object ids, and the principal an account acts as when it orders.
 */
#include "ca/acme.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "ca/acme_int.h"
#include "ca/keys.h"
#include "util/b64url.h"
#include "util/hex.h"
#include "util/log.h"

/* ------------------------------------------------------------ nonces -- */

#define NONCE_MAC 16

int
ca_acme_nonces_init(struct ca_acme_nonces *n, struct mica_err *err)
{
	memset(n, 0, sizeof(*n));
	if (ca_random(n->key, sizeof(n->key), err) != 0)
		return -1;
	/* Start the counter at a random point: nothing to learn from it. */
	if (ca_random(&n->next, sizeof(n->next), err) != 0)
		return -1;
	n->next &= (UINT64_C(1) << 62) - 1;
	pthread_mutex_init(&n->lock, NULL);
	return 0;
}

void
ca_acme_nonces_destroy(struct ca_acme_nonces *n)
{
	pthread_mutex_destroy(&n->lock);
	mbedtls_platform_zeroize(n->key, sizeof(n->key));
}

static void
nonce_mac(const struct ca_acme_nonces *n, const unsigned char ctr[8],
	  unsigned char mac[NONCE_MAC])
{
	unsigned char full[32];

	if (mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), n->key,
			    sizeof(n->key), ctr, 8, full) != 0)
		abort();   /* software HMAC cannot fail; never hand out a guessable nonce */
	memcpy(mac, full, NONCE_MAC);
}

void
ca_acme_nonce_make(struct ca_acme_nonces *n, char out[CA_ACME_NONCE_MAX])
{
	unsigned char raw[8 + NONCE_MAC];
	uint64_t c;

	pthread_mutex_lock(&n->lock);
	c = n->next++;
	/* The slot is fresh again: the counter it last served has left the
	 * window, so that older nonce is refused by the window check. */
	n->used[(c % CA_ACME_NONCE_WINDOW) / 8] &= (uint8_t)~(1u << (c % 8));
	pthread_mutex_unlock(&n->lock);
	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)(c >> (56 - 8 * i));
	nonce_mac(n, raw, raw + 8);
	mica_b64url_encode(raw, sizeof(raw), out, CA_ACME_NONCE_MAX);
}

int
ca_acme_nonce_use(struct ca_acme_nonces *n, const char *nonce,
		  struct mica_err *err)
{
	unsigned char raw[8 + NONCE_MAC + 4], mac[NONCE_MAC];
	size_t len = 0;
	uint64_t c = 0;
	int ok = 0;

	if (nonce == NULL ||
	    mica_b64url_decode(nonce, strlen(nonce), raw, sizeof(raw), &len) != 0 ||
	    len != 8 + NONCE_MAC)
		goto out;
	nonce_mac(n, raw, mac);
	if (!ca_ct_equal(mac, raw + 8, NONCE_MAC))
		goto out;
	for (int i = 0; i < 8; i++)
		c = c << 8 | raw[i];
	pthread_mutex_lock(&n->lock);
	if (c < n->next && n->next - c <= CA_ACME_NONCE_WINDOW) {
		uint8_t *byte = &n->used[(c % CA_ACME_NONCE_WINDOW) / 8];
		uint8_t bit = (uint8_t)(1u << (c % 8));

		ok = !(*byte & bit);
		*byte |= bit;
	}
	pthread_mutex_unlock(&n->lock);
out:
	if (!ok)
		return mica_err_set(err, MICA_E_BADREQ, "bad_nonce",
				    "the nonce was used before, has expired, or was "
				    "not made by this server: get a fresh one");
	return 0;
}

void
ca_acme_nonce(struct ca_acme *a, char out[CA_ACME_NONCE_MAX])
{
	ca_acme_nonce_make(&a->nonces, out);
}

/* ----------------------------------------------------------- service -- */

/* "ADDR:PORT" or "[V6]:PORT" into SS. */
static int
parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon;
	size_t hl;
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':' || (hl = (size_t)(rb - s - 1)) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hl);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    (hl = (size_t)(colon - s)) >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
		return -1;
	if (s[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	}
	return 0;
}

/* The first "nameserver" of /etc/resolv.conf, port 53. */
static int
system_resolver(struct sockaddr_storage *ss, socklen_t *len)
{
	char line[256], buf[80];
	FILE *f = fopen("/etc/resolv.conf", "re");
	int rc = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char addr[64];

		if (sscanf(line, " nameserver %63s", addr) != 1)
			continue;
		snprintf(buf, sizeof(buf), strchr(addr, ':') ? "[%s]:53" : "%s:53", addr);
		if (parse_hostport(buf, ss, len) == 0) {
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

int
ca_acme_open(struct ca *parent, const struct ca_acme_opts *o,
	     struct ca_acme **out, struct mica_err *err)
{
	struct ca_acme *a;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	a->o = *o;
	a->o.hosts_file = NULL;
	a->o.dns = NULL;
	if (a->o.http_port <= 0)
		a->o.http_port = 80;
	if (a->o.tls_port <= 0)
		a->o.tls_port = 443;
	if (a->o.workers <= 0)
		a->o.workers = 4;
	if (a->o.timeout <= 0)
		a->o.timeout = 10;
	atomic_init(&a->stop, 0);
	if (ca_acme_nonces_init(&a->nonces, err) != 0) {
		free(a);
		return -1;
	}
	if (o->hosts_file != NULL &&
	    ca_acme_hosts_load(o->hosts_file, &a->hosts, err) != 0)
		goto fail;
	if (o->dns != NULL) {
		if (parse_hostport(o->dns, &a->dns_addr, &a->dns_addr_len) != 0) {
			mica_err_set(err, MICA_E_USAGE, "usage",
				     "--acme-dns wants a numeric ADDR:PORT (127.0.0.1:53, [::1]:53)");
			goto fail;
		}
		if ((a->dns = strdup(o->dns)) == NULL)
			goto oom;
		a->o.dns = a->dns;
	} else if (system_resolver(&a->dns_addr, &a->dns_addr_len) != 0) {
		/* dns-01 then fails with a dns error; nothing else needs it. */
		mica_log(MICA_LOG_WARN, "acme: no nameserver in /etc/resolv.conf; "
			 "dns-01 validation needs --acme-dns");
		a->dns_addr_len = 0;
	}
	if (ca_acme_workers_start(a, parent, err) != 0)
		goto fail;
	*out = a;
	return 0;
oom:
	mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
fail:
	ca_acme_close(a);
	return -1;
}

void
ca_acme_close(struct ca_acme *a)
{
	if (a == NULL)
		return;
	ca_acme_workers_stop(a);
	ca_acme_hosts_free(&a->hosts);
	ca_acme_nonces_destroy(&a->nonces);
	free(a->dns);
	free(a);
}

int
ca_acme_eab_required(const struct ca_acme *a)
{
	return a == NULL || !a->o.open;
}

/* ------------------------------------------------------------ helpers -- */

const char *
ca_acme_chall_name(int type)
{
	switch (type) {
	case CA_ACME_HTTP01:    return "http-01";
	case CA_ACME_DNS01:     return "dns-01";
	case CA_ACME_TLSALPN01: return "tls-alpn-01";
	default:                return NULL;
	}
}

int
ca_acme_chall_parse(const char *name)
{
	static const int types[] = { CA_ACME_HTTP01, CA_ACME_DNS01, CA_ACME_TLSALPN01 };

	for (size_t i = 0; name != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(name, ca_acme_chall_name(types[i])) == 0)
			return types[i];
	return 0;
}

int
ca_acme_new_id(char id[CA_ID_MAX], struct mica_err *err)
{
	unsigned char raw[16];

	if (ca_random(raw, sizeof(raw), err) != 0)
		return -1;
	mica_hex_encode(raw, sizeof(raw), id);
	return 0;
}

int
ca_acme_key_authz(const char *token, const unsigned char thumbprint[32],
		  char *out, size_t size)
{
	char tp[48];
	int n;

	mica_b64url_encode(thumbprint, 32, tp, sizeof(tp));
	n = snprintf(out, size, "%s.%s", token, tp);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

void
ca_acme_account_take(struct ca_acme_account *out, struct db_acme_account *in)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, in->id, sizeof(out->id));
	snprintf(out->status, sizeof(out->status), "%s", in->status);
	out->contact = in->contact;
	memcpy(out->token_id, in->token_id, sizeof(out->token_id));
	mica_b64url_encode(in->thumbprint, 32, out->thumbprint, sizeof(out->thumbprint));
	out->client = in->client;
	out->created_at = in->created_at;
	out->deactivated_at = in->deactivated_at;
	in->contact = in->client = NULL;
}

void
ca_acme_account_free(struct ca_acme_account *a)
{
	if (a == NULL)
		return;
	free(a->contact);
	free(a->client);
	memset(a, 0, sizeof(*a));
}

void
ca_acme_account_array_free(struct ca_acme_account *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		ca_acme_account_free(&a[i]);
	free(a);
}

int
ca_acme_acct_id(const struct ca_acme_req *r, const char *url, char id[CA_ID_MAX])
{
	size_t pl;

	id[0] = '\0';
	if (url == NULL || r->acct_prefix == NULL)
		return -1;
	pl = strlen(r->acct_prefix);
	if (strncmp(url, r->acct_prefix, pl) != 0 || strlen(url + pl) >= CA_ID_MAX ||
	    !ca_valid_id(url + pl))
		return -1;
	snprintf(id, CA_ID_MAX, "%s", url + pl);
	return 0;
}

/* ------------------------------------------------ the verified request -- */

void
ca_acme_auth_free(struct ca_acme_auth *x)
{
	if (x == NULL)
		return;
	ca_jws_free(&x->jws);
	db_acme_account_free(&x->acct);
	memset(x, 0, sizeof(*x));
}

int
ca_acme_auth(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
	     int flags, struct ca_acme_auth *out, struct mica_err *err)
{
	struct ca_jwk key;
	char id[CA_ID_MAX];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&key, 0, sizeof(key));
	if (ca_jws_parse(r->body, r->body_len,
			 (flags & ~CA_ACME_ANY_KEY) | CA_JWS_NEED_NONCE,
			 &out->jws, err) != 0)
		return -1;
	/* RFC 8555 6.4: the JWS is bound to the URL it was sent to. */
	if (r->url == NULL || strcmp(out->jws.url, r->url) != 0)
		return mica_err_set(err, MICA_E_UNAUTH, "unauthorized",
				    "the JWS \"url\" is not the URL of this request");
	if (out->jws.kid != NULL) {
		if (ca_acme_acct_id(r, out->jws.kid, id) != 0)
			return mica_err_set(err, MICA_E_BADREQ, "account_does_not_exist",
					    "\"kid\" is not the URL of an account of this server");
		if (db_acme_account_get(ca->db, id, &out->acct, err) != 0) {
			if (err != NULL && err->kind == MICA_E_NOTFOUND)
				mica_err_set(err, MICA_E_BADREQ, "account_does_not_exist",
					     "no such account");
			return -1;
		}
		out->has_acct = 1;
		if (ca_jwk_parse(out->acct.jwk, strlen(out->acct.jwk), &key, err) != 0) {
			mica_err_set(err, MICA_E_INTERNAL, "store_corrupt",
				     "a stored account key does not parse");
			goto out;
		}
		if (ca_jws_verify(&out->jws, &key, err) != 0)
			goto out;
	} else if (ca_jws_verify(&out->jws, &out->jws.jwk, err) != 0) {
		goto out;
	}
	/* Only a request that verifies uses its nonce up: junk sent with a
	 * nonce someone saw must not spend it. A replay verifies, and is
	 * refused here. */
	if (ca_acme_nonce_use(&a->nonces, out->jws.nonce, err) != 0)
		goto out;
	if (out->has_acct && strcmp(out->acct.status, "valid") != 0) {
		mica_err_set(err, MICA_E_UNAUTH, "account_deactivated",
			     "this account is %s", out->acct.status);
		goto out;
	}
	if (out->has_acct && ca_acme_key_usable(ca, &key, &out->key_err) != 0) {
		if ((flags & CA_ACME_ANY_KEY) == 0 ||
		    strcmp(out->key_err.code, "account_key_compromised") != 0) {
			if (err != NULL)
				*err = out->key_err;
			goto out;
		}
		out->key_compromised = 1;
	}
	rc = 0;
out:
	ca_jwk_free(&key);
	return rc;
}

int
ca_acme_key_usable(struct ca *ca, const struct ca_jwk *key,
		   struct mica_err *err)
{
	unsigned char h[32];

	ca_sha256(key->spki, key->spki_len, h);
	if (ca_key_check(ca->db, key->spki, key->spki_len, h, err) == 0)
		return 0;
	if (err != NULL && strcmp(err->code, "key_compromised") == 0)
		mica_err_set(err, MICA_E_UNAUTH, "account_key_compromised",
			     "this account's key was revoked for key "
			     "compromise: it acts for nobody; make a new "
			     "account with a new key");
	return -1;
}

/* ---------------------------------------------------------- principal -- */

int
ca_acme_principal(struct ca *ca, const struct ca_acme *a,
		  const struct db_acme_account *acct, const char *client,
		  struct ca_principal *p, struct mica_err *err)
{
	struct db_token t;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	ca_principal_anon(p, client);
	p->kind = CA_PRINCIPAL_ENROLL;
	snprintf(p->actor, sizeof(p->actor), "acme:%s", acct->id);
	if (acct->token_id[0] == '\0') {
		if (ca_acme_eab_required(a))
			return mica_err_set(err, MICA_E_FORBIDDEN, "unauthorized",
					    "this account has no external account binding, "
					    "which this server now requires");
		/* --acme-open: what a proven name within the allowed domains
		 * may get, as a TLS server. */
		if ((p->scope_profile = strdup("server")) == NULL)
			goto oom;
		return 0;
	}
	if (db_token_get(ca->db, acct->token_id, &t, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_FORBIDDEN, "unauthorized",
				     "the token this account is bound to is gone");
		goto out;
	}
	if (t.kind != DB_TOKEN_ENROLL || t.revoked || t.uses_left == 0 ||
	    (t.expires_at != 0 && t.expires_at <= ca_now())) {
		mica_err_set(err, MICA_E_FORBIDDEN, "unauthorized",
			     "the token this account is bound to is revoked, "
			     "expired or used up");
		goto out;
	}
	snprintf(p->token_id, sizeof(p->token_id), "%s", t.id);
	if (t.profile != NULL && (p->scope_profile = strdup(t.profile)) == NULL)
		goto oom;
	if (t.names != NULL &&
	    ca_split_lines(t.names, &p->scope_names, &p->nscope_names) != 0)
		goto oom;
	rc = 0;
	goto out;
oom:
	mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
out:
	if (rc != 0)
		ca_principal_free(p);
	db_token_free(&t);
	return rc;
}

const char *
ca_acme_profile(const struct ca_principal *p)
{
	return p->scope_profile != NULL ? p->scope_profile : "server";
}

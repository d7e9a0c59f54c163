/*
 * ca/acme_account.c - ACME accounts (RFC 8555 7.3): creation with its
 * External Account Binding, reading, contact updates, deactivation, key
 * rollover; and the admin's list and deactivation.
 */
#include "ca/acme.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/platform_util.h>

#include "ca/acme_int.h"
#include "ca/keys.h"
#include "util/log.h"

#define CONTACT_MAX 254

/* ------------------------------------------------------------ contact -- */

/* RFC 5322 3.2.3 atext, less '%' (RFC 6068 percent-encoding, which would
 * hide a NUL or a second address: "mailto:%00@x") and '?' (hfields). */
static int
local_char(char ch)
{
	return isalnum((unsigned char)ch) || strchr("!#$&'*+-/=^_`{|}~", ch) != NULL;
}

/* Whether [A, AT) @ (AT, END) is a plain address: a dot-atom local part
 * of at most 64 characters (RFC 5321 4.5.3.1.1) and a host name of
 * letters, digits and hyphens in labels of 1 to 63 between single dots,
 * without a leading or trailing hyphen or dot. */
static int
addr_ok(const char *a, const char *at, const char *end)
{
	size_t label = 0;

	if (at - a > 64 || a[0] == '.' || at[-1] == '.')
		return 0;
	for (const char *q = a; q < at; q++)
		if (*q == '.' ? q[1] == '.' : !local_char(*q))
			return 0;
	for (const char *q = at + 1; q <= end; q++) {
		if (q == end || *q == '.') {
			if (label == 0 || label > 63 || q[-1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*q) && *q != '-')
			return 0;
		if (label++ == 0 && *q == '-')
			return 0;
	}
	return 1;
}

/* Whether the contact at index I of array V repeats an earlier one: the
 * same local part and the same host name in any case (the scheme's case
 * is already set aside). A repeated contact is kept once. */
static int
contact_seen(json_t *v, size_t i)
{
	const char *c = json_string_value(json_array_get(v, i)) + 7;
	const char *at = strchr(c, '@');

	for (size_t j = 0; j < i; j++) {
		const char *d = json_string_value(json_array_get(v, j)) + 7;

		if (strncmp(c, d, (size_t)(at - c) + 1) == 0 &&
		    strcasecmp(at + 1, d + (at - c) + 1) == 0)
			return 1;
	}
	return 0;
}

/* RFC 8555 7.3: "contact" is an array of URLs; this server takes mailto:
 * with one plain address (RFC 6068 without hfields). The scheme is read
 * in any case (RFC 3986 3.1: "MAILTO:" is "mailto:") and kept as
 * "mailto:". *OUT heap, '\n'-separated, NULL for an empty array. */
static int
contact_parse(json_t *v, char **out, struct mica_err *err)
{
	size_t len = 0, n;
	char *s, *p;

	*out = NULL;
	if (!json_is_array(v))
		return mica_err_set(err, MICA_E_BADREQ, "malformed",
				    "\"contact\" must be an array of URLs");
	n = json_array_size(v);
	if (n > CA_ACME_CONTACTS_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "invalid_contact",
				    "at most %d contacts", CA_ACME_CONTACTS_MAX);
	for (size_t i = 0; i < n; i++) {
		json_t *it = json_array_get(v, i);
		const char *c = json_string_value(it), *at;
		size_t cl = json_string_length(it);

		if (c == NULL)
			return mica_err_set(err, MICA_E_BADREQ, "malformed",
					    "\"contact\" must be an array of URLs");
		if (strncasecmp(c, "mailto:", 7) != 0)
			return mica_err_set(err, MICA_E_BADREQ, "unsupported_contact",
					    "only mailto: contacts are supported");
		at = strchr(c + 7, '@');
		if (cl > CONTACT_MAX || at == NULL || at == c + 7 || at[1] == '\0' ||
		    strchr(at + 1, '@') != NULL)
			return mica_err_set(err, MICA_E_BADREQ, "invalid_contact",
					    "a contact is mailto: and one e-mail address");
		for (const char *q = c + 7; *q != '\0'; q++)
			if (*q <= 0x20 || *q >= 0x7f || strchr("?,;<>\"\\()[]", *q) != NULL)
				return mica_err_set(err, MICA_E_BADREQ, "invalid_contact",
						    "a contact is mailto: and one plain "
						    "e-mail address (no hfields, no lists)");
		if (!addr_ok(c + 7, at, c + cl))
			return mica_err_set(err, MICA_E_BADREQ, "invalid_contact",
					    "a contact is mailto: and one plain e-mail "
					    "address: a local part of letters, digits and "
					    "!#$&'*+-/=^_`{|}~ between dots (no "
					    "percent-encoding), '@', and a host name");
		if (contact_seen(v, i))
			continue;
		len += cl + 1;
	}
	if (n == 0)
		return 0;
	if ((s = malloc(len)) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	p = s;
	for (size_t i = 0; i < n; i++) {
		json_t *it = json_array_get(v, i);
		size_t cl = json_string_length(it);

		if (contact_seen(v, i))
			continue;
		if (p != s)
			p[-1] = '\n';
		memcpy(p, "mailto:", 7);
		memcpy(p + 7, json_string_value(it) + 7, cl - 7);
		p += cl;
		*p++ = '\0';
	}
	*out = s;
	return 0;
}

/* ------------------------------------------------------- new account -- */

/* A key revoked for keyCompromise is everybody's by now: it opens no
 * account and becomes none's (as a CA that blocks such keys). */
static int
key_not_compromised(struct ca *ca, const struct ca_jwk *k, struct mica_err *err)
{
	unsigned char h[32];

	ca_sha256(k->spki, k->spki_len, h);
	if (ca_key_check(ca->db, k->spki, k->spki_len, h, err) == 0)
		return 0;
	if (err != NULL && strcmp(err->code, "key_compromised") == 0)
		mica_err_set(err, MICA_E_BADREQ, "bad_public_key",
			     "this key was revoked for key compromise: an ACME "
			     "account needs a new key");
	return -1;
}

/* In a transaction: a key some certificate of this CA certifies (of any
 * status) opens no account and becomes none's - RFC 8555 11.1's rule
 * (no certificate for an account key) the other way round, which ACME
 * finalize, and every issuance (ca_key_certifiable), keep the first way. */
static int
key_not_certified(struct db *db, const unsigned char *spki, size_t spki_len,
		  struct mica_err *err)
{
	char serial[DB_SERIAL_MAX];
	unsigned char h[32];
	int r;

	ca_sha256(spki, spki_len, h);
	if ((r = db_cert_key_certified(db, h, serial, err)) < 0)
		return -1;
	if (r == 1)
		return mica_err_set(err, MICA_E_BADREQ, "bad_public_key",
				    "this key is certified (certificate %s): "
				    "an ACME account needs a key of its own "
				    "(RFC 8555 11.1)", serial);
	return 0;
}

/* RFC 8555 7.3.4: the binding JWS EAB (an object) must be MACed with the
 * key of an unbound credential, name this request's URL, and carry the
 * account key KEY. TOKEN_ID gets the credential's id.
 *
 * The MAC is checked before anything about the key id is said: an unknown
 * key id, a credential bound already (its key is erased, so no MAC can
 * verify) and a wrong MAC get the same answer after the same work, so
 * that nobody without an HMAC key learns which key ids exist or are used. */
static int
eab_check(struct ca *ca, const struct ca_acme_req *r, json_t *eab,
	  const struct ca_jwk *key, char token_id[CA_ID_MAX],
	  struct mica_err *err)
{
	/* MACed against when there is no key to use: never accepted (FOUND
	 * stays 0), only there so that every refusal costs one HMAC. */
	static const unsigned char no_key[32];
	struct ca_jws j;
	struct ca_jwk inner;
	struct db_acme_eab cred;
	struct db_token t;
	struct mica_err e2;
	int rc = -1, found = 0, mac_ok;

	memset(&inner, 0, sizeof(inner));
	memset(&cred, 0, sizeof(cred));
	memset(&t, 0, sizeof(t));
	if (ca_jws_parse_json(eab, CA_JWS_MAC, &j, err) != 0)
		goto out;
	if (strcmp(j.url, r->url) != 0) {
		mica_err_set(err, MICA_E_UNAUTH, "unauthorized",
			     "the external account binding names another URL");
		goto out;
	}
	if (ca_jwk_parse((const char *)j.payload, j.payload_len, &inner, err) != 0)
		goto out;
	if (memcmp(inner.thumbprint, key->thumbprint, 32) != 0) {
		mica_err_set(err, MICA_E_UNAUTH, "unauthorized",
			     "the external account binding is for another key");
		goto out;
	}
	if (ca_valid_id(j.kid) && strlen(j.kid) < CA_ID_MAX) {
		if (db_acme_eab_get(ca->db, j.kid, &cred, err) == 0)
			found = cred.has_key;
		else if (err != NULL && err->kind != MICA_E_NOTFOUND)
			goto out;
	}
	mac_ok = ca_jws_verify_mac(&j, found ? cred.key : no_key,
				   sizeof(cred.key), &e2) == 0;
	if (!mac_ok && e2.kind != MICA_E_UNAUTH) {
		/* Not HS256/384/512, or no MAC computed: nothing about the
		 * key id in that either. */
		if (err != NULL)
			*err = e2;
		goto out;
	}
	if (!(found && mac_ok)) {
		mica_err_set(err, MICA_E_UNAUTH, "unauthorized",
			     "the external account binding does not verify: an "
			     "unknown key id, another HMAC key, or a binding "
			     "used already (each binds one account)");
		goto out;
	}
	if (db_token_get(ca->db, cred.token_id, &t, err) != 0)
		goto out;
	if (t.revoked || t.uses_left == 0 ||
	    (t.expires_at != 0 && t.expires_at <= ca_now())) {
		mica_err_set(err, MICA_E_UNAUTH, "unauthorized",
			     "the token of this external account binding is revoked, "
			     "expired or used up");
		goto out;
	}
	snprintf(token_id, CA_ID_MAX, "%s", cred.token_id);
	rc = 0;
out:
	mbedtls_platform_zeroize(&cred, sizeof(cred));
	db_token_free(&t);
	ca_jwk_free(&inner);
	ca_jws_free(&j);
	return rc;
}

struct new_acct_tx {
	const struct db_acme_account *row;
	const char *actor;
	const unsigned char *spki;     /* the account key's */
	size_t spki_len;
};

static int
new_acct_body(struct db *db, void *arg, struct mica_err *err)
{
	struct new_acct_tx *x = arg;
	char detail[96];

	if (key_not_certified(db, x->spki, x->spki_len, err) != 0 ||
	    db_acme_account_insert(db, x->row, err) != 0)
		return -1;
	if (x->row->token_id[0] != '\0') {
		if (db_acme_eab_bind(db, x->row->token_id, x->row->id, x->row->created_at,
				     err) != 0)
			return -1;
		snprintf(detail, sizeof(detail), "bound to token %s", x->row->token_id);
	} else {
		snprintf(detail, sizeof(detail), "without binding (--acme-open)");
	}
	return db_audit_add(db, x->row->created_at, x->actor, "acme.account.new",
			    x->row->id, detail, err);
}

int
ca_acme_new_account(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
		    struct ca_acme_account *out, int *created,
		    struct mica_err *err)
{
	struct ca_acme_auth x;
	struct db_acme_account row, found;
	struct new_acct_tx tx;
	json_t *pl = NULL, *v;
	char *contact = NULL, actor[96];
	int rc = -1, only_existing = 0;

	memset(out, 0, sizeof(*out));
	memset(&row, 0, sizeof(row));
	memset(&found, 0, sizeof(found));
	*created = 0;
	if (ca_acme_auth(ca, a, r, CA_JWS_NEED_JWK, &x, err) != 0)
		goto out;
	if (ca_jws_payload_json(&x.jws, &pl, err) != 0)
		goto out;
	/* RFC 8555 7.1: unknown fields are ignored; known ones are typed. */
	if ((v = json_object_get(pl, "onlyReturnExisting")) != NULL) {
		if (!json_is_boolean(v)) {
			mica_err_set(err, MICA_E_BADREQ, "malformed",
				     "\"onlyReturnExisting\" must be true or false");
			goto out;
		}
		only_existing = json_is_true(v);
	}
	if ((v = json_object_get(pl, "termsOfServiceAgreed")) != NULL && !json_is_boolean(v)) {
		mica_err_set(err, MICA_E_BADREQ, "malformed",
			     "\"termsOfServiceAgreed\" must be true or false");
		goto out;
	}
	/* RFC 8555 7.3.1: an existing key gets its account back. */
	if (db_acme_account_by_key(ca->db, x.jws.jwk.thumbprint, &found, err) == 0) {
		if (strcmp(found.status, "valid") != 0) {
			mica_err_set(err, MICA_E_UNAUTH, "account_deactivated",
				     "the account of this key is %s", found.status);
			goto out;
		}
		if (ca_acme_key_usable(ca, &x.jws.jwk, err) != 0)
			goto out;
		ca_acme_account_take(out, &found);
		rc = 0;
		goto out;
	} else if (err != NULL && err->kind != MICA_E_NOTFOUND) {
		goto out;
	}
	if (only_existing) {
		mica_err_set(err, MICA_E_BADREQ, "account_does_not_exist",
			     "no account has this key");
		goto out;
	}
	if (key_not_compromised(ca, &x.jws.jwk, err) != 0)
		goto out;
	if ((v = json_object_get(pl, "contact")) != NULL &&
	    contact_parse(v, &contact, err) != 0)
		goto out;
	if ((v = json_object_get(pl, "externalAccountBinding")) != NULL) {
		if (eab_check(ca, r, v, &x.jws.jwk, row.token_id, err) != 0)
			goto out;
	} else if (ca_acme_eab_required(a)) {
		mica_err_set(err, MICA_E_UNAUTH, "external_account_required",
			     "this server requires an external account binding: "
			     "get a key id and HMAC key with 'mica token create "
			     "--enroll --acme'");
		goto out;
	}
	if (ca_acme_new_id(row.id, err) != 0)
		goto out;
	memcpy(row.thumbprint, x.jws.jwk.thumbprint, 32);
	row.jwk = x.jws.jwk.json;
	row.contact = contact;
	row.client = (char *)r->client;
	row.created_at = ca_now();
	snprintf(actor, sizeof(actor), "acme:%s@%s", row.id, r->client ? r->client : "?");
	tx.row = &row;
	tx.actor = actor;
	tx.spki = x.jws.jwk.spki;
	tx.spki_len = x.jws.jwk.spki_len;
	if (ca_tx(ca, CA_TX_DURABLE, new_acct_body, &tx, err) != 0) {
		/* Raced by a twin request with the same key: return its account. */
		if (err != NULL && err->kind == MICA_E_CONFLICT &&
		    strcmp(err->code, "key_in_use") == 0 &&
		    db_acme_account_by_key(ca->db, x.jws.jwk.thumbprint, &found, err) == 0) {
			ca_acme_account_take(out, &found);
			rc = 0;
		} else if (err != NULL && strcmp(err->code, "eab_used") == 0) {
			mica_err_set(err, MICA_E_UNAUTH, "unauthorized",
				     "this external account binding was used already");
		}
		goto out;
	}
	if (db_acme_account_get(ca->db, row.id, &found, err) != 0)
		goto out;
	ca_acme_account_take(out, &found);
	*created = 1;
	rc = 0;
out:
	db_acme_account_free(&found);
	free(contact);
	json_decref(pl);
	ca_acme_auth_free(&x);
	return rc;
}

/* ----------------------------------------------------- account updates -- */

struct acct_tx {
	const char *id;
	const char *actor;
	int deactivate;
	int set_contact;
	const char *contact;
	const unsigned char *old_thumb, *new_thumb;
	const char *jwk;
	const unsigned char *new_spki;  /* the new key's */
	size_t new_spki_len;
};

static int
acct_body(struct db *db, void *arg, struct mica_err *err)
{
	struct acct_tx *x = arg;
	int64_t now = ca_now();

	if (x->new_thumb != NULL) {
		if (key_not_certified(db, x->new_spki, x->new_spki_len,
				      err) != 0 ||
		    db_acme_account_set_key(db, x->id, x->old_thumb, x->new_thumb,
					    x->jwk, err) != 0 ||
		    db_audit_add(db, now, x->actor, "acme.account.key_change", x->id,
				 NULL, err) != 0)
			return -1;
		return 0;
	}
	if (x->set_contact &&
	    (db_acme_account_set_contact(db, x->id, x->contact, err) != 0 ||
	     db_audit_add(db, now, x->actor, "acme.account.update", x->id,
			  "contact", err) != 0))
		return -1;
	if (x->deactivate &&
	    (db_acme_account_deactivate(db, x->id, now, err) != 0 ||
	     db_audit_add(db, now, x->actor, "acme.account.deactivate", x->id,
			  NULL, err) != 0))
		return -1;
	return 0;
}

int
ca_acme_account_post(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
		     const char *id, struct ca_acme_account *out,
		     struct mica_err *err)
{
	struct ca_acme_auth x;
	struct db_acme_account row;
	struct acct_tx tx;
	json_t *pl = NULL, *v;
	char *contact = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&row, 0, sizeof(row));
	memset(&tx, 0, sizeof(tx));
	/* A key revoked for keyCompromise may still deactivate its account
	 * (RFC 8555 7.3.6 takes rights away only: what its owner should do
	 * then), and nothing else. */
	if (ca_acme_auth(ca, a, r, CA_JWS_NEED_KID | CA_ACME_ANY_KEY, &x,
			 err) != 0)
		goto out;
	if (strcmp(x.acct.id, id) != 0) {
		mica_err_set(err, MICA_E_FORBIDDEN, "unauthorized",
			     "an account may only read or change itself");
		goto out;
	}
	if (x.jws.payload_len > 0) {
		if (ca_jws_payload_json(&x.jws, &pl, err) != 0)
			goto out;
		if ((v = json_object_get(pl, "contact")) != NULL) {
			if (contact_parse(v, &contact, err) != 0)
				goto out;
			tx.set_contact = 1;
			tx.contact = contact;
		}
		if ((v = json_object_get(pl, "status")) != NULL) {
			/* RFC 8555 7.3.6: the only status a client may set. */
			if (!json_is_string(v) ||
			    strcmp(json_string_value(v), "deactivated") != 0) {
				mica_err_set(err, MICA_E_BADREQ, "malformed",
					     "an account's status can only be set to \"deactivated\"");
				goto out;
			}
			tx.deactivate = 1;
		}
	}
	if (x.key_compromised && (!tx.deactivate || tx.set_contact)) {
		if (err != NULL)
			*err = x.key_err;
		goto out;
	}
	if (tx.set_contact || tx.deactivate) {
		char actor[96];

		snprintf(actor, sizeof(actor), "acme:%s", id);
		tx.id = id;
		tx.actor = actor;
		if (ca_tx(ca, CA_TX_DURABLE, acct_body, &tx, err) != 0)
			goto out;
	}
	if (db_acme_account_get(ca->db, id, &row, err) != 0)
		goto out;
	ca_acme_account_take(out, &row);
	rc = 0;
out:
	db_acme_account_free(&row);
	free(contact);
	json_decref(pl);
	ca_acme_auth_free(&x);
	return rc;
}

int
ca_acme_key_change(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
		   struct ca_acme_account *out, char conflict_id[CA_ID_MAX],
		   struct mica_err *err)
{
	struct ca_acme_auth x;
	struct ca_jws inner;
	struct ca_jwk old;
	struct db_acme_account row;
	struct acct_tx tx;
	json_t *pl = NULL, *ipl = NULL;
	const char *acct_url;
	char actor[96];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&inner, 0, sizeof(inner));
	memset(&old, 0, sizeof(old));
	memset(&row, 0, sizeof(row));
	conflict_id[0] = '\0';
	if (ca_acme_auth(ca, a, r, CA_JWS_NEED_KID, &x, err) != 0 ||
	    ca_jws_payload_json(&x.jws, &pl, err) != 0)
		goto out;
	/* RFC 8555 7.3.5: the inner JWS is signed by the new key, names the
	 * same URL, carries no nonce, and says which account and old key. */
	if (ca_jws_parse_json(pl, CA_JWS_NEED_JWK | CA_JWS_NO_NONCE, &inner, err) != 0)
		goto out;
	if (strcmp(inner.url, x.jws.url) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "malformed",
			     "the inner JWS must name the same URL as the outer one");
		goto out;
	}
	if (ca_jws_verify(&inner, &inner.jwk, err) != 0 ||
	    ca_jws_payload_json(&inner, &ipl, err) != 0)
		goto out;
	acct_url = json_string_value(json_object_get(ipl, "account"));
	if (acct_url == NULL || strcmp(acct_url, x.jws.kid) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "malformed",
			     "the inner payload's \"account\" must be the signer's account");
		goto out;
	}
	if (ca_jwk_from_json(json_object_get(ipl, "oldKey"), &old, err) != 0 ||
	    memcmp(old.thumbprint, x.acct.thumbprint, 32) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "malformed",
			     "the inner payload's \"oldKey\" is not the account's key");
		goto out;
	}
	if (memcmp(inner.jwk.thumbprint, x.acct.thumbprint, 32) == 0) {
		mica_err_set(err, MICA_E_BADREQ, "malformed",
			     "the new key is the account's key already");
		goto out;
	}
	if (key_not_compromised(ca, &inner.jwk, err) != 0)
		goto out;
	memset(&tx, 0, sizeof(tx));
	snprintf(actor, sizeof(actor), "acme:%s", x.acct.id);
	tx.id = x.acct.id;
	tx.actor = actor;
	tx.old_thumb = x.acct.thumbprint;
	tx.new_thumb = inner.jwk.thumbprint;
	tx.jwk = inner.jwk.json;
	tx.new_spki = inner.jwk.spki;
	tx.new_spki_len = inner.jwk.spki_len;
	if (ca_tx(ca, CA_TX_DURABLE, acct_body, &tx, err) != 0) {
		if (err != NULL && strcmp(err->code, "key_in_use") == 0 &&
		    db_acme_account_by_key(ca->db, inner.jwk.thumbprint, &row, NULL) == 0) {
			snprintf(conflict_id, CA_ID_MAX, "%s", row.id);
			mica_err_set(err, MICA_E_CONFLICT, "key_in_use",
				     "another account has the new key");
		}
		goto out;
	}
	if (db_acme_account_get(ca->db, x.acct.id, &row, err) != 0)
		goto out;
	ca_acme_account_take(out, &row);
	rc = 0;
out:
	db_acme_account_free(&row);
	ca_jwk_free(&old);
	ca_jws_free(&inner);
	json_decref(ipl);
	json_decref(pl);
	ca_acme_auth_free(&x);
	return rc;
}

/* ------------------------------------------------------------- admin -- */

int
ca_acme_account_list(struct ca *ca, const struct ca_principal *p,
		     const struct ca_cursor *after, int limit,
		     struct ca_acme_account **out, size_t *n,
		     struct ca_cursor *next, struct mica_err *err)
{
	struct db_acme_account *v = NULL;
	size_t count = 0;
	int64_t from, next_row = 0;

	/* AFTER may be NEXT itself (a caller walking with one cursor). */
	from = after != NULL ? after->id : 0;
	*out = NULL;
	*n = 0;
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (after != NULL && after->id != 0 && (after->keyed || after->id < 0))
		return mica_err_set(err, MICA_E_BADREQ, "bad_cursor",
				    "this cursor is not one of an ACME account listing");
	if (next != NULL)
		memset(next, 0, sizeof(*next));
	if (db_acme_account_list(ca->db, from, limit, &v, &count, &next_row,
				 err) != 0)
		return -1;
	if (count > 0 && (*out = calloc(count, sizeof(**out))) == NULL) {
		db_acme_account_array_free(v, count);
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	}
	for (size_t i = 0; i < count; i++)
		ca_acme_account_take(&(*out)[i], &v[i]);
	db_acme_account_array_free(v, count);
	*n = count;
	if (next != NULL)
		next->id = next_row;
	return 0;
}

int
ca_acme_account_deactivate(struct ca *ca, const struct ca_principal *p,
			   const char *id, struct mica_err *err)
{
	struct acct_tx tx;

	if (ca_require_admin(p, err) != 0)
		return -1;
	if (!ca_valid_id(id))
		return mica_err_set(err, MICA_E_NOTFOUND, "not_found", "no such ACME account");
	memset(&tx, 0, sizeof(tx));
	tx.id = id;
	tx.actor = p->actor;
	tx.deactivate = 1;
	if (ca_tx(ca, CA_TX_DURABLE, acct_body, &tx, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "not_found", "no such ACME account");
		else if (err != NULL && err->kind == MICA_E_CONFLICT)
			mica_err_set(err, MICA_E_CONFLICT, "already_deactivated",
				     "the ACME account is not active");
		return -1;
	}
	return 0;
}

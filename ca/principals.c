/*
 * ca/principals.c - who is asking: the local command line, an anonymous
 * client, or the holder of a bearer token (checked here), and the one rule
 * of who is an admin.
 */
#include "ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "util/hex.h"
#include "util/log.h"

/* ------------------------------------------------------- principals -- */

void
ca_principal_cli(struct ca_principal *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = CA_PRINCIPAL_CLI;
	snprintf(p->actor, sizeof(p->actor), "cli");
	snprintf(p->client, sizeof(p->client), "local");
}

void
ca_principal_anon(struct ca_principal *p, const char *client)
{
	memset(p, 0, sizeof(*p));
	p->kind = CA_PRINCIPAL_ANON;
	snprintf(p->client, sizeof(p->client), "%s", client ? client : "unknown");
	snprintf(p->actor, sizeof(p->actor), "anon@%s", p->client);
}

void
ca_principal_free(struct ca_principal *p)
{
	if (p == NULL)
		return;
	free(p->scope_profile);
	if (p->scope_names != NULL) {
		for (size_t i = 0; i < p->nscope_names; i++)
			free(p->scope_names[i]);
		free(p->scope_names);
	}
	p->scope_profile = NULL;
	p->scope_names = NULL;
	p->nscope_names = 0;
}

int
ca_is_admin(const struct ca_principal *p)
{
	return p != NULL && (p->kind == CA_PRINCIPAL_ADMIN ||
			     p->kind == CA_PRINCIPAL_CLI);
}

int
ca_require_admin(const struct ca_principal *p, struct mica_err *err)
{
	if (ca_is_admin(p))
		return 0;
	if (p == NULL || p->kind == CA_PRINCIPAL_ANON)
		return mica_err_set(err, MICA_E_UNAUTH, "admin_required",
				    "this needs an admin token (Authorization: Bearer ...)");
	return mica_err_set(err, MICA_E_FORBIDDEN, "admin_required",
			    "this needs an admin token; an enrollment token is not enough");
}

/* ------------------------------------------------------ token checks -- */

/* How stale a token's last_used_at may get before a use writes it. */
#define TOKEN_USE_EVERY 60

static int
touch_body(struct db *db, void *arg, struct mica_err *err)
{
	return db_token_touch(db, (const char *)arg, ca_now(), err);
}

/* Record that an admin token was used (the token list shows when), at most
 * once a minute per token, as a batched non-durable write that never fails
 * the request. An enrollment token's use is recorded by the transaction
 * that consumes it (db_token_consume sets last_used_at), at no extra cost
 * to issuance. */
static void
note_admin_use(struct ca *ca, const struct db_token *t)
{
	struct mica_err e;

	if (ca_now() - t->last_used_at < TOKEN_USE_EVERY ||
	    (ca->sh != NULL && (ca->sh->flags & CA_OPEN_READONLY)))
		return;
	if (ca_tx(ca, 0, touch_body, (void *)t->id, &e) != 0)
		mica_log(MICA_LOG_WARN, "cannot record the use of token %s: %s",
			 t->id, e.msg);
}

int
ca_authenticate(struct ca *ca, const char *token, const char *client,
		struct ca_principal *out, struct mica_err *err)
{
	/* Token: "mica_" 16 hex (id) "_" 64 hex (32-octet secret). */
	static const unsigned char dummy[32];
	struct db_token t;
	struct mica_err dberr;
	unsigned char secret[32], hash[32];
	char id[CA_ID_MAX];
	const unsigned char *want = dummy;
	int found = 0, good = 0, rc = -1;
	size_t len;

	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));
	ca_principal_anon(out, client);
	len = token != NULL ? strnlen(token, CA_TOKEN_MAX) : 0;
	if (len != 5 + 16 + 1 + 64 || strncmp(token, "mica_", 5) != 0 ||
	    token[21] != '_')
		goto out;
	memcpy(id, token + 5, 16);
	id[16] = '\0';
	for (int i = 0; i < 16; i++)
		if (mica_hex_val((unsigned char)id[i]) < 0 || (id[i] >= 'A' && id[i] <= 'F'))
			goto out;
	/* One spelling per token: lowercase hex only. */
	for (int i = 22; i < 86; i++)
		if (token[i] >= 'A' && token[i] <= 'F')
			goto out;
	if (mica_hex_decode(token + 22, secret, 32) != 0)
		goto out;
	ca_sha256(secret, sizeof(secret), hash);
	explicit_bzero(secret, sizeof(secret));
	if (db_token_get(ca->db, id, &t, &dberr) == 0) {
		found = 1;
		want = t.hash;
	} else if (dberr.kind != MICA_E_NOTFOUND) {
		*err = dberr;
		return -1;
	}
	/* Compare even for unknown ids, so both paths cost the same. */
	good = ca_ct_equal(hash, want, 32) && found;
	explicit_bzero(hash, sizeof(hash));
	if (!good || t.revoked || (t.expires_at != 0 && t.expires_at <= ca_now()))
		goto out;
	if (t.kind == DB_TOKEN_ADMIN) {
		out->kind = CA_PRINCIPAL_ADMIN;
		snprintf(out->actor, sizeof(out->actor), "admin:%s", t.id);
		note_admin_use(ca, &t);
	} else {
		if (t.uses_left == 0)
			goto out;
		out->kind = CA_PRINCIPAL_ENROLL;
		snprintf(out->actor, sizeof(out->actor), "enroll:%s", t.id);
		if (t.profile != NULL && (out->scope_profile = strdup(t.profile)) == NULL)
			goto oom;
		if (t.names != NULL &&
		    ca_split_lines(t.names, &out->scope_names, &out->nscope_names) != 0)
			goto oom;
	}
	snprintf(out->token_id, sizeof(out->token_id), "%s", t.id);
	rc = 0;
out:
	if (rc != 0)
		mica_err_set(err, MICA_E_UNAUTH, "bad_token",
			     "the token is not valid (unknown, revoked, expired or used up)");
	db_token_free(&t);
	return rc;
oom:
	ca_principal_free(out);
	ca_principal_anon(out, client);
	db_token_free(&t);
	return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
}

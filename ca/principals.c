/*
 * ca/principals.c - who is asking: the local command line, an anonymous
 * client, or the holder of a bearer token (checked here), and the one rule
 * of who is an admin.
 */
#include "ca/ca.h"

#include <assert.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "util/hex.h"
#include "util/log.h"

/* ------------------------------------------------------- principals -- */

/* The most of a user name an actor shows, escapes and "..." included:
 * "cli:" + 40 + " (sudo " + 40 + ")" and a NUL fit CA_CLI_ACTOR_MAX. */
#define ACTOR_USER_MAX 40
_Static_assert(4 + ACTOR_USER_MAX + 7 + ACTOR_USER_MAX + 1 + 1 <= CA_CLI_ACTOR_MAX,
	       "a command line's actor fits");
_Static_assert(CA_CLI_ACTOR_MAX <= sizeof(((struct ca_principal *)0)->actor),
	       "a command line's actor fits a principal's");

/* A byte of a user name an actor shows as it is. */
static int
actor_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c != '\0' && strchr("._-@$", c) != NULL);
}

/* NAME (a user name, from the system or from sudo's environment) appended
 * to OUT[*N..SIZE) as an actor shows it: letters, digits and ". _ - @ $"
 * as they are, every other byte \xNN (a blank, a parenthesis, a quote, a
 * backslash, a control, non-ASCII), so that no name can forge the
 * actor's own "(sudo ...)" or a line of a listing; mica_shown would keep
 * blanks, parentheses and quotes. Cut to ACTOR_USER_MAX with "...". */
static void
actor_user(char *out, size_t size, size_t *n, const char *name)
{
	const unsigned char *u;
	size_t total = 0, room, used = 0;

	for (u = (const unsigned char *)name; *u != '\0'; u++)
		total += actor_plain(*u) ? 1 : 4;
	/* Whole when it fits, else as much as fits before "...". */
	room = total <= ACTOR_USER_MAX ? total : ACTOR_USER_MAX - 3;
	for (u = (const unsigned char *)name; *u != '\0'; u++) {
		size_t w = actor_plain(*u) ? 1 : 4;

		if (used + w > room)
			break;
		assert(*n + w < size);
		if (w == 1)
			out[(*n)++] = (char)*u;
		else
			*n += (size_t)snprintf(out + *n, size - *n, "\\x%02X", *u);
		used += w;
	}
	out[*n] = '\0';
	if (total > room) {
		assert(*n + 3 < size);
		memcpy(out + *n, "...", 4);
		*n += 3;
	}
}

void
ca_cli_actor_text(char *out, size_t size, const char *user, const char *via,
		  const char *by)
{
	size_t n = 4;

	assert(size >= CA_CLI_ACTOR_MAX);
	memcpy(out, "cli:", 5);
	actor_user(out, size, &n, user);
	if (via != NULL && by != NULL && by[0] != '\0') {
		n += (size_t)snprintf(out + n, size - n, " (%.4s ", via);
		actor_user(out, size, &n, by);
		assert(n + 1 < size);
		out[n++] = ')';
		out[n] = '\0';
	}
}

const char *
ca_cli_actor(void)
{
	/* Made once: the command line is one thread, and its user does not
	 * change under it. */
	static char actor[CA_CLI_ACTOR_MAX];
	const struct passwd *pw;
	const char *via = NULL, *by;
	char uid[32];

	if (actor[0] != '\0')
		return actor;
	pw = getpwuid(geteuid());
	snprintf(uid, sizeof(uid), "#%lu", (unsigned long)geteuid());
	/* Who ran sudo (or doas), as they say in the environment: the admin
	 * behind a shared account ('sudo -u mica mica issue', 'sudo mica').
	 * The effective user, named first, is the one the system vouches
	 * for; it could write the store, and so this record, anyway. */
	if ((by = getenv("SUDO_USER")) != NULL && by[0] != '\0')
		via = "sudo";
	else if ((by = getenv("DOAS_USER")) != NULL && by[0] != '\0')
		via = "doas";
	ca_cli_actor_text(actor, sizeof(actor),
			  pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0' ?
			  pw->pw_name : uid, via, by);
	return actor;
}

void
ca_principal_local(struct ca_principal *p, const char *actor)
{
	memset(p, 0, sizeof(*p));
	p->kind = CA_PRINCIPAL_CLI;
	snprintf(p->actor, sizeof(p->actor), "%s", actor);
	snprintf(p->client, sizeof(p->client), "local");
}

void
ca_principal_cli(struct ca_principal *p)
{
	ca_principal_local(p, ca_cli_actor());
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

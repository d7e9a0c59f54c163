/*
 * ca/tokens.c - bearer tokens: creating (the secret is shown once and
 * stored only as a hash), listing and revoking them.
 */
#include "ca/ca.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/keys.h"
#include "ca/profile.h"
#include "ca/x509.h"
#include "util/hex.h"

/* T: the row to insert (created_by is the actor). */
static int
create_body(struct db *db, void *arg, struct mica_err *err)
{
	const struct db_token *t = arg;

	if (db_token_insert(db, t, err) != 0)
		return -1;
	return db_audit_add(db, t->created_at, t->created_by, "token.create",
			    t->id, t->kind == DB_TOKEN_ADMIN ? "admin" : "enroll",
			    err);
}

_Static_assert((int)CA_TOKEN_ENROLL == (int)DB_TOKEN_ENROLL &&
	       (int)CA_TOKEN_ADMIN == (int)DB_TOKEN_ADMIN, "token kind");
_Static_assert(CA_ID_MAX == sizeof(((struct db_token *)0)->id), "token id");

/* Move the store's token IN into OUT, leaving the hash behind; IN is left
 * empty (freeable). */
static void
token_take(struct ca_token *out, struct db_token *in)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, in->id, sizeof(out->id));
	out->kind = in->kind;
	out->profile = in->profile;
	out->names = in->names;
	out->uses_left = in->uses_left;
	out->expires_at = in->expires_at;
	out->created_at = in->created_at;
	out->created_by = in->created_by;
	out->comment = in->comment;
	out->revoked = in->revoked;
	out->last_used_at = in->last_used_at;
	in->profile = in->names = in->created_by = in->comment = NULL;
}

const char *
ca_token_status(const struct ca_token *t, int64_t now)
{
	assert(t != NULL);
	if (t->revoked)
		return "revoked";
	if (t->expires_at != 0 && t->expires_at <= now)
		return "expired";
	if (t->uses_left == 0)
		return "used_up";
	return "active";
}

void
ca_token_free(struct ca_token *t)
{
	if (t == NULL)
		return;
	free(t->profile);
	free(t->names);
	free(t->created_by);
	free(t->comment);
	memset(t, 0, sizeof(*t));
}

void
ca_token_array_free(struct ca_token *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		ca_token_free(&a[i]);
	free(a);
}

int
ca_token_create(struct ca *ca, const struct ca_principal *p,
		const struct ca_token_spec *spec, char token[CA_TOKEN_MAX],
		struct ca_token *info, struct mica_err *err)
{
	unsigned char idraw[8], secret[32];
	char secret_hex[65], *joined = NULL;
	struct db_token t, row;
	struct ca_name *v = NULL;
	int rc = -1;

	token[0] = '\0';
	if (info != NULL)
		memset(info, 0, sizeof(*info));
	if (ca_require_admin(p, err) != 0)
		return -1;
	/* An offline root is never served: a token made there could never
	 * be used (a CA awaiting its certificate may take some ahead). */
	if (ca_state(ca) == CA_STATE_ROOT_ONLY)
		return mica_err_set(err, MICA_E_CONFLICT, "root_only",
				    "this is an offline root: it is never "
				    "served, so a token would never be used; "
				    "make tokens on the issuing CA");
	if (spec->kind != CA_TOKEN_ENROLL && spec->kind != CA_TOKEN_ADMIN)
		return mica_err_set(err, MICA_E_BADREQ, "bad_kind",
				    "token kind must be enroll or admin");
	if (spec->kind == CA_TOKEN_ADMIN && (spec->profile != NULL || spec->nnames > 0))
		return mica_err_set(err, MICA_E_BADREQ, "bad_scope",
				    "an admin token has no profile or names scope");
	if (spec->profile != NULL && ca_profile_find(spec->profile) == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "unknown_profile",
				    "unknown profile (see 'mica profile list')");
	if (spec->uses < -1 || spec->uses > CA_TOKEN_USES_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_uses",
				    "uses must be from 1 to %d (or -1 for unlimited)",
				    CA_TOKEN_USES_MAX);
	if (spec->expires_in < 0 || spec->expires_in > CA_TOKEN_LIFE_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_expiry",
				    "expires_in must be between 1 second and 10 years");
	if (spec->nnames > CA_NAMES_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "too_many_names",
				    "at most %d names in a token scope", CA_NAMES_MAX);
	if (ca_text_check(spec->comment, CA_TEXT_MAX, "comment", err) != 0)
		return -1;
	if (spec->nnames > 0) {
		if ((v = calloc(spec->nnames, sizeof(*v))) == NULL)
			return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		for (size_t i = 0; i < spec->nnames; i++)
			if (ca_name_parse(spec->names[i], 0, &v[i], err) != 0)
				goto out;
		/* One name once, however it was spelled (case, a trailing
		 * dot): the scope shown is the scope that applies. */
		if ((joined = ca_join_names(v, ca_names_unique(v,
						spec->nnames))) == NULL) {
			mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
			goto out;
		}
	}
	if (ca_random(idraw, sizeof(idraw), err) != 0 ||
	    ca_random(secret, sizeof(secret), err) != 0)
		goto out;
	memset(&t, 0, sizeof(t));
	mica_hex_encode(idraw, sizeof(idraw), t.id);
	ca_sha256(secret, sizeof(secret), t.hash);
	t.kind = spec->kind;
	t.profile = (char *)spec->profile;
	t.names = joined;
	t.uses_left = spec->kind == CA_TOKEN_ADMIN ? -1 : (spec->uses ? spec->uses : 1);
	t.created_at = ca_now();
	t.expires_at = spec->expires_in > 0 ? t.created_at + spec->expires_in : 0;
	t.created_by = (char *)p->actor;
	t.comment = spec->comment != NULL && spec->comment[0] != '\0' ?
		    (char *)spec->comment : NULL;
	/* Durable: a token shown once must exist. */
	if (ca_tx(ca, CA_TX_DURABLE, create_body, &t, err) != 0)
		goto out;
	mica_hex_encode(secret, sizeof(secret), secret_hex);
	snprintf(token, CA_TOKEN_MAX, "mica_%s_%s", t.id, secret_hex);
	explicit_bzero(secret_hex, sizeof(secret_hex));
	if (info != NULL) {
		memset(&row, 0, sizeof(row));
		if (db_token_get(ca->db, t.id, &row, err) != 0)
			goto out;
		token_take(info, &row);
		db_token_free(&row);
	}
	rc = 0;
out:
	explicit_bzero(secret, sizeof(secret));
	if (rc != 0)
		explicit_bzero(token, CA_TOKEN_MAX);
	free(joined);
	free(v);
	return rc;
}

int
ca_token_list(struct ca *ca, const struct ca_principal *p, int filter,
	      const struct ca_cursor *after, int limit,
	      struct ca_token **out, size_t *n, struct ca_cursor *next,
	      struct mica_err *err)
{
	struct ca_cursor from;
	struct db_token *v = NULL;
	size_t count = 0;
	int64_t next_row = 0;

	/* AFTER may be NEXT itself (a caller walking with one cursor). */
	memset(&from, 0, sizeof(from));
	if (after != NULL)
		from = *after;
	*out = NULL;
	*n = 0;
	memset(next, 0, sizeof(*next));
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (filter != CA_TOKENS_ALL && filter != CA_TOKENS_ACTIVE)
		return mica_err_set(err, MICA_E_BADREQ, "bad_filter",
				    "unknown token status filter");
	if (from.id != 0 && (from.keyed || from.id < 0))
		return mica_err_set(err, MICA_E_BADREQ, "bad_cursor",
				    "this cursor is not one of a token listing");
	if (limit <= 0 || limit > 1000)
		limit = 1000;
	if (db_token_list(ca->db, filter == CA_TOKENS_ACTIVE, ca_now(), from.id,
			  limit, CA_TOKEN_SCAN_MAX, &v, &count, &next_row,
			  err) != 0)
		return -1;
	if (count > 0 && (*out = calloc(count, sizeof(**out))) == NULL) {
		db_token_array_free(v, count);
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	}
	next->id = next_row;
	for (size_t i = 0; i < count; i++)
		token_take(&(*out)[i], &v[i]);
	db_token_array_free(v, count);
	*n = count;
	return 0;
}

struct revoke_tx {
	const char *id;
	const char *actor;
};

static int
revoke_body(struct db *db, void *arg, struct mica_err *err)
{
	struct revoke_tx *x = arg;
	struct db_token t;
	struct mica_err e;
	int revoked;

	if (db_token_revoke(db, x->id, err) == 0)
		return db_audit_add(db, ca_now(), x->actor, "token.revoke",
				    x->id, NULL, err);
	if (err == NULL || err->kind != MICA_E_NOTFOUND)
		return -1;
	/* Revoked tokens are kept (for the audit trail): one revoked
	 * already is a conflict (exit 6, 409), as a certificate revoked
	 * twice is, not "no such token", which 'mica token list'
	 * contradicts. */
	if (db_token_get(db, x->id, &t, &e) != 0) {
		if (e.kind == MICA_E_NOTFOUND)
			return mica_err_set(err, MICA_E_NOTFOUND, "not_found",
					    "no such token");
		if (err != NULL)
			*err = e;
		return -1;
	}
	revoked = t.revoked;
	db_token_free(&t);
	if (revoked)
		return mica_err_set(err, MICA_E_CONFLICT, "already_revoked",
				    "token %s is already revoked", x->id);
	return -1;   /* not revoked, yet not updated: NOTFOUND stands */
}

int
ca_token_revoke(struct ca *ca, const struct ca_principal *p, const char *id,
		struct mica_err *err)
{
	struct revoke_tx x;

	if (ca_require_admin(p, err) != 0)
		return -1;
	/* As a request id, and as the API's DELETE /api/v1/tokens/ID. */
	if (!ca_valid_id(id))
		return mica_err_set(err, MICA_E_BADREQ, "bad_id",
				    "malformed token id (lowercase hexadecimal "
				    "expected)");
	x.id = id;
	x.actor = p->actor;
	return ca_tx(ca, CA_TX_DURABLE, revoke_body, &x, err);
}

int
ca_token_scope_unreachable(struct ca *ca, const char *const *names,
			   size_t n, char *out, size_t size)
{
	struct mica_err e;
	char **doms = NULL;
	int r = 0;

	if (n == 0 || db_domain_list(ca->db, &doms, &e) != 0)
		return 0;
	for (size_t i = 0; i < n && !r; i++) {
		struct ca_name nm;
		int under = 0;

		if (names[i] == NULL || ca_name_parse(names[i], 0, &nm, NULL) != 0)
			continue;
		/* An address needs no domain: a scope that names it
		 * allows it (ca/profile.c). */
		if (nm.kind == CA_NAME_IP)
			under = 1;
		for (char **d = doms; *d != NULL && !under; d++)
			under = ca_name_in_domain(&nm, *d);
		if (!under || (ca->sh != NULL && !ca_nc_allows_path(ca->sh, &nm))) {
			snprintf(out, size, "%s is not under any of the CA's "
				 "allowed domains (or outside its name "
				 "constraints): this token gets no certificate "
				 "for it until the domain is added", nm.value);
			r = 1;
		}
	}
	ca_strv_free(doms);
	return r;
}

/*
 * ca/acme_order.c - ACME orders (RFC 8555 7.4), their authorizations and
 * challenges (7.5), finalization and the certificate (7.4.2).
 *
 * An order is checked against the one policy twice: when it is made (so a
 * name the account may never get is refused before any challenge, as
 * rejectedIdentifier) and when it is finalized, with the CSR's key, right
 * before ca_issue - the one issuance path, which also consumes a use of
 * the account's token and, in the same commit as the certificate, marks
 * the order valid.
 *
 * The steps before the certificate (a new order, a challenge started, an
 * order going to processing, a validation's outcome) are committed without
 * waiting for the disk (ca_tx without CA_TX_DURABLE): they are lost only
 * with the machine's power, and a client then orders again. The commit of
 * the certificate, which also marks its order valid, is durable and syncs
 * them all.
 */
#include "ca/acme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "ca/acme_int.h"
#include "ca/csr.h"
#include "ca/keys.h"
#include "util/b64url.h"
#include "util/log.h"

/* ------------------------------------------------------------ objects -- */

void
ca_acme_order_free(struct ca_acme_order *o)
{
	if (o == NULL)
		return;
	free(o->idents);
	free(o->profile);
	free(o->error_code);
	free(o->error_detail);
	free(o->replaces);
	free(o->authz);
	free(o->rejected);
	memset(o, 0, sizeof(*o));
}

void
ca_acme_order_array_free(struct ca_acme_order *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		ca_acme_order_free(&a[i]);
	free(a);
}

void
ca_acme_authz_free(struct ca_acme_authz *a)
{
	if (a == NULL)
		return;
	free(a->error_code);
	free(a->error_detail);
	memset(a, 0, sizeof(*a));
}

/* The order IN (moved: IN is left freeable) as the protocol shows it. */
static int
order_take(struct ca_acme_order *out, struct db_acme_order *in,
	   struct mica_err *err)
{
	char **v = NULL;
	size_t n = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memcpy(out->id, in->id, sizeof(out->id));
	memcpy(out->account_id, in->account_id, sizeof(out->account_id));
	snprintf(out->status, sizeof(out->status), "%s", in->status);
	/* RFC 8555 7.1.6: an order that expires before it is finalized is
	 * invalid. */
	if ((strcmp(in->status, "pending") == 0 || strcmp(in->status, "ready") == 0) &&
	    in->expires <= ca_now())
		snprintf(out->status, sizeof(out->status), "invalid");
	out->expires = in->expires;
	out->created_at = in->created_at;
	memcpy(out->serial, in->serial, sizeof(out->serial));
	out->profile = in->profile;
	out->error_code = in->error_code;
	out->error_detail = in->error_detail;
	out->replaces = in->replaces;
	in->profile = in->error_code = in->error_detail = in->replaces = NULL;
	if (ca_split_lines(in->names, &v, &n) != 0 ||
	    (n > 0 && (out->idents = calloc(n, sizeof(*out->idents))) == NULL)) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct ca_name nm;

		if (ca_name_parse(v[i], 0, &nm, err) != 0)
			goto out;
		out->idents[i].ip = nm.kind == CA_NAME_IP;
		snprintf(out->idents[i].value, sizeof(out->idents[i].value), "%s", nm.value);
	}
	out->nidents = n;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

/* The authorization IN (moved) as the protocol shows it. */
static void
authz_take(struct ca_acme_authz *out, struct db_acme_authz *in)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, in->id, sizeof(out->id));
	memcpy(out->order_id, in->order_id, sizeof(out->order_id));
	snprintf(out->status, sizeof(out->status), "%s", in->status);
	if ((strcmp(in->status, "pending") == 0 || strcmp(in->status, "valid") == 0) &&
	    in->expires <= ca_now())
		snprintf(out->status, sizeof(out->status), "expired");
	out->ident.ip = strcmp(in->kind, "ip") == 0;
	snprintf(out->ident.value, sizeof(out->ident.value), "%s", in->name);
	out->wildcard = in->wildcard;
	out->expires = in->expires;
	snprintf(out->token, sizeof(out->token), "%s", in->token);
	/* RFC 8555 8.4: a wildcard is proven in the DNS only; RFC 8738 7:
	 * an IP address not in the DNS. */
	if (out->ident.ip)
		out->offered = CA_ACME_HTTP01 | CA_ACME_TLSALPN01;
	else if (out->wildcard)
		out->offered = CA_ACME_DNS01;
	else
		out->offered = CA_ACME_HTTP01 | CA_ACME_DNS01 | CA_ACME_TLSALPN01;
	out->tried = ca_acme_chall_parse(in->chall);
	/* RFC 8555 7.1.4: a valid authorization lists the challenge that was
	 * validated, an invalid one the challenge that failed: the others
	 * were never tried and never will be. */
	if (out->tried != 0 && (strcmp(in->status, "valid") == 0 ||
				strcmp(in->status, "invalid") == 0))
		out->offered &= (unsigned)out->tried;
	snprintf(out->tried_status, sizeof(out->tried_status), "%s", in->chall_status);
	out->validated_at = in->validated_at;
	out->error_code = in->error_code;
	out->error_detail = in->error_detail;
	in->error_code = in->error_detail = NULL;
}

/* Another account's order, authorization or certificate is answered as
 * one that does not exist: the same status, type and words, so that a
 * request never confirms that an id is in use. WHAT names the object. */
static int
no_such(struct mica_err *err, const char *what)
{
	return mica_err_set(err, MICA_E_NOTFOUND, "malformed", "no such %s", what);
}

/* Order ID of account ACCT (NULL: any) with its authorization ids. */
static int
order_load(struct ca *ca, const char *id, const char *acct,
	   struct ca_acme_order *out, struct mica_err *err)
{
	struct db_acme_order o;
	struct db_acme_authz *az = NULL;
	size_t naz = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&o, 0, sizeof(o));
	if (!ca_valid_id(id) || db_acme_order_get(ca->db, id, &o, err) != 0) {
		if (err == NULL || err->kind != MICA_E_INTERNAL)
			no_such(err, "order");
		return -1;
	}
	if (acct != NULL && strcmp(o.account_id, acct) != 0) {
		no_such(err, "order");
		goto out;
	}
	if (order_take(out, &o, err) != 0 ||
	    db_acme_authz_of_order(ca->db, o.id, &az, &naz, err) != 0)
		goto out;
	if (naz > 0 && (out->authz = calloc(naz, sizeof(*out->authz))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < naz; i++)
		memcpy(out->authz[i], az[i].id, CA_ID_MAX);
	out->nauthz = naz;
	rc = 0;
out:
	if (rc != 0)
		ca_acme_order_free(out);
	db_acme_authz_array_free(az, naz);
	db_acme_order_free(&o);
	return rc;
}

/* ----------------------------------------------------------- newOrder -- */

/* RFC 8555 7.1.4 / RFC 8738: one identifier object into NM. */
static int
ident_parse(json_t *it, struct ca_name *nm, struct mica_err *err)
{
	const char *type, *value;

	if (!json_is_object(it) ||
	    (type = json_string_value(json_object_get(it, "type"))) == NULL ||
	    (value = json_string_value(json_object_get(it, "value"))) == NULL)
		return mica_err_set(err, MICA_E_BADREQ, "malformed",
				    "an identifier is {\"type\": ..., \"value\": ...}");
	if (strcmp(type, "dns") == 0) {
		size_t len = strlen(value);
		struct mica_err why = { 0 };

		/* The name a client orders is the one its authorizations,
		 * its CSR and its dns-01 record name: "a.contoso.test."
		 * would come back as "a.contoso.test", which the client
		 * does not recognise (Boulder refuses it too). */
		if (len > 0 && value[len - 1] == '.')
			return mica_err_set(err, MICA_E_BADREQ, "rejected_identifier",
					    "a dns identifier does not end in a dot");
		if (ca_name_parse(value, CA_NAME_DNS, nm, &why) != 0)
			return mica_err_set(err, MICA_E_BADREQ, "rejected_identifier",
					    "a dns identifier is not a valid DNS name: %s",
					    why.msg);
		if (nm->kind != CA_NAME_DNS)
			return mica_err_set(err, MICA_E_BADREQ, "rejected_identifier",
					    "a dns identifier is not a valid DNS name");
	} else if (strcmp(type, "ip") == 0) {
		if (ca_name_parse(value, CA_NAME_IP, nm, err) != 0 || nm->kind != CA_NAME_IP)
			return mica_err_set(err, MICA_E_BADREQ, "rejected_identifier",
					    "an ip identifier is not an IP address");
	} else {
		return mica_err_set(err, MICA_E_BADREQ, "unsupported_identifier",
				    "identifier types are dns and ip");
	}
	return 0;
}

/* The order's names from the payload's "identifiers": parsed, canonical,
 * without duplicates. *OUT heap. */
static int
idents_parse(json_t *pl, struct ca_name **out, size_t *n, struct mica_err *err)
{
	json_t *ids = json_object_get(pl, "identifiers");
	struct ca_name *v;
	size_t count, k = 0;

	*out = NULL;
	*n = 0;
	if (!json_is_array(ids) || (count = json_array_size(ids)) == 0)
		return mica_err_set(err, MICA_E_BADREQ, "malformed",
				    "an order needs a non-empty array of \"identifiers\"");
	if (count > CA_NAMES_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "rejected_identifier",
				    "at most %d identifiers per order", CA_NAMES_MAX);
	if ((v = calloc(count, sizeof(*v))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	for (size_t i = 0; i < count; i++) {
		int dup = 0;

		if (ident_parse(json_array_get(ids, i), &v[k], err) != 0) {
			free(v);
			return -1;
		}
		for (size_t m = 0; m < k; m++)
			dup |= v[m].kind == v[k].kind && strcmp(v[m].value, v[k].value) == 0;
		if (!dup)
			k++;
	}
	*out = v;
	*n = k;
	return 0;
}

struct new_order_tx {
	const struct db_acme_order *o;
	const struct db_acme_authz *az;
	size_t naz;
	const char *actor;
	const char *detail;
	int64_t retry_after;        /* out: refused for the open orders */
};

static int
new_order_body(struct db *db, void *arg, struct mica_err *err)
{
	struct new_order_tx *x = arg;
	int64_t open = 0, first = 0, now = x->o->created_at;
	int replaced = 0;

	/* Counted in the transaction that records the order, so that orders
	 * sent at once cannot pass the limit together. */
	x->retry_after = 0;
	if (db_acme_order_count_open(db, x->o->account_id, now, &open, &first,
				     err) != 0)
		return -1;
	if (open >= CA_ACME_OPEN_ORDERS) {
		/* Room comes when the first of them expires (unless the
		 * client finalizes or gives one up sooner): that, not a
		 * few seconds, is when asking again can succeed. Bounded by
		 * an order's lifetime (a row dated later by a clock set
		 * back), at least 1. */
		x->retry_after = first - now;
		if (x->retry_after < 1)
			x->retry_after = 1;
		if (x->retry_after > (int64_t)CA_ACME_ORDER_HOURS * 3600)
			x->retry_after = (int64_t)CA_ACME_ORDER_HOURS * 3600;
		return mica_err_set(err, MICA_E_RATE, "rate_limited",
				    "this account has %d orders waiting: finish "
				    "or let them expire", CA_ACME_OPEN_ORDERS);
	}

	/* RFC 9773 5: one order replaces a certificate; asked here, in the
	 * transaction that records this one, so that of two orders racing
	 * to replace it one is alreadyReplaced. One that expired unfinalized
	 * replaces nothing (the client is told it is invalid). */
	if (x->o->replaces_serial[0] != '\0') {
		if (db_acme_order_replacing(db, x->o->replaces_serial, NULL,
					    ca_now(), &replaced, err) != 0)
			return -1;
		if (replaced)
			return mica_err_set(err, MICA_E_CONFLICT, "already_replaced",
					    "another order already replaces this certificate");
	}
	if (db_acme_order_insert(db, x->o, err) != 0)
		return -1;
	for (size_t i = 0; i < x->naz; i++)
		if (db_acme_authz_insert(db, &x->az[i], err) != 0)
			return -1;
	return db_audit_add(db, x->o->created_at, x->actor, "acme.order.new", x->o->id,
			    x->detail, err);
}

/* Is NAME[0..LEN) one of the '\n'-separated LIST? */
static int
name_listed(const char *list, const char *name, size_t len)
{
	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *e = strchr(p, '\n');
		size_t pl = e != NULL ? (size_t)(e - p) : strlen(p);

		if (pl == len && memcmp(p, name, len) == 0)
			return 1;
		p = e != NULL ? e + 1 : NULL;
	}
	return 0;
}

/* Does certificate SERIAL belong to account ACCT (an order of it), with
 * at least one of the new order's NAMES? RFC 9773 5: without the shared
 * name, an account could mark any certificate of its own renewed by an
 * order for other names, and so hide it from what expires soon. Another
 * account's certificate is answered as one never ordered through ACME:
 * the answer does not say which certificates another account holds.
 * Whether another order replaces it already is asked in the new order's
 * transaction (new_order_body). */
static int
replaces_check(struct ca *ca, const char *acct, const char *serial,
	       const struct ca_name *names, size_t nnames, struct mica_err *err)
{
	static const char not_ours[] =
		"\"replaces\" names no certificate this account ordered";
	struct db_acme_order o;
	int shared = 0;

	if (db_acme_order_by_serial(ca->db, serial, &o, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_BADREQ, "malformed", "%s", not_ours);
		return -1;
	}
	if (strcmp(o.account_id, acct) != 0) {
		db_acme_order_free(&o);
		return mica_err_set(err, MICA_E_BADREQ, "malformed", "%s", not_ours);
	}
	for (size_t i = 0; i < nnames && !shared; i++)
		shared = name_listed(o.names, names[i].value,
				     strlen(names[i].value));
	db_acme_order_free(&o);
	if (!shared)
		return mica_err_set(err, MICA_E_BADREQ, "malformed",
				    "\"replaces\" names a certificate that shares "
				    "no identifier with this order");
	return 0;
}

/* A new order the policy refused for NAMES, several: which of them it
 * refuses each on its own, into OUT->rejected, for the client to be told
 * every name to drop at once (RFC 8555 6.7.1 subproblems) rather than one
 * per attempt. Nothing when memory is short or no name alone is refused
 * (too many names, say): the error itself says why. */
static void
rejected_names(struct ca *ca, const struct ca_principal *p,
	       const struct ca_profile *prof, const struct ca_name *names,
	       size_t nnames, struct ca_acme_order *out)
{
	struct ca_policy_decision d;
	struct mica_err e;

	if (nnames < 2 || (out->rejected = calloc(nnames, sizeof(*out->rejected))) == NULL)
		return;
	for (size_t i = 0; i < nnames; i++) {
		struct ca_acme_rejected *x = &out->rejected[out->nrejected];

		mica_err_clear(&e);
		if (ca_run_policy(ca, p, prof, &names[i], 1, CA_PUBKEY_EC_P256,
				  256, 0, 0, &d, &e) == 0 || e.kind != MICA_E_POLICY)
			continue;
		x->ident.ip = names[i].kind == CA_NAME_IP;
		snprintf(x->ident.value, sizeof(x->ident.value), "%s", names[i].value);
		x->why = e;
		out->nrejected++;
	}
	if (out->nrejected == 0) {
		free(out->rejected);
		out->rejected = NULL;
	}
}

int
ca_acme_new_order(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
		  struct ca_acme_order *out, struct mica_err *err)
{
	struct ca_acme_auth x;
	struct ca_principal p;
	struct ca_policy_decision d;
	const struct ca_profile *prof;
	struct ca_name *names = NULL;
	struct db_acme_order o;
	struct db_acme_authz *az = NULL;
	struct new_order_tx tx;
	json_t *pl = NULL, *v;
	char *joined = NULL, detail[256], serial[CA_SERIAL_MAX];
	size_t nnames = 0, nvalid = 0;
	int64_t now = ca_now();
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	memset(&o, 0, sizeof(o));
	if (ca_acme_auth(ca, a, r, CA_JWS_NEED_KID, &x, err) != 0 ||
	    ca_jws_payload_json(&x.jws, &pl, err) != 0)
		goto out;
	if (json_object_get(pl, "notBefore") != NULL || json_object_get(pl, "notAfter") != NULL) {
		mica_err_set(err, MICA_E_BADREQ, "malformed",
			     "this server sets the validity itself: leave out "
			     "notBefore and notAfter");
		goto out;
	}
	if (idents_parse(pl, &names, &nnames, err) != 0 ||
	    ca_acme_principal(ca, a, &x.acct, r->client, &p, err) != 0 ||
	    (prof = ca_profile_get(ca_acme_profile(&p), err)) == NULL)
		goto out;
	/* The names against the domains, the profile and the token's scope,
	 * now, before any challenge (the key is checked at finalize). */
	if (ca_run_policy(ca, &p, prof, names, nnames, CA_PUBKEY_EC_P256, 256, 0,
			  0, &d, err) != 0) {
		if (err != NULL && err->kind == MICA_E_POLICY)
			rejected_names(ca, &p, prof, names, nnames, out);
		goto out;
	}
	if ((v = json_object_get(pl, "replaces")) != NULL) {
		if (!json_is_string(v)) {
			mica_err_set(err, MICA_E_BADREQ, "malformed",
				     "\"replaces\" must be a string: the certificate's "
				     "ARI identifier (RFC 9773)");
			goto out;
		}
		if (ca_acme_certid_parse(ca, json_string_value(v), serial, err) != 0 ||
		    replaces_check(ca, x.acct.id, serial, names, nnames,
				   err) != 0)
			goto out;
		snprintf(o.replaces_serial, sizeof(o.replaces_serial), "%s", serial);
		o.replaces = (char *)json_string_value(v);
	}
	if ((joined = ca_join_names(names, nnames)) == NULL ||
	    (az = calloc(nnames, sizeof(*az))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	if (ca_acme_new_id(o.id, err) != 0)
		goto out;
	snprintf(o.account_id, sizeof(o.account_id), "%s", x.acct.id);
	o.names = joined;
	o.profile = (char *)prof->name;
	o.created_at = now;
	o.expires = now + (int64_t)CA_ACME_ORDER_HOURS * 3600;
	for (size_t i = 0; i < nnames; i++) {
		struct db_acme_authz *z = &az[i];
		struct db_acme_authz old;
		const char *bare = names[i].value;
		unsigned char tok[24];

		z->wildcard = strncmp(bare, "*.", 2) == 0;
		if (z->wildcard)
			bare += 2;
		snprintf(z->kind, sizeof(z->kind), "%s", names[i].kind == CA_NAME_IP ? "ip" : "dns");
		snprintf(z->name, sizeof(z->name), "%s", bare);
		snprintf(z->order_id, sizeof(z->order_id), "%s", o.id);
		snprintf(z->account_id, sizeof(z->account_id), "%s", x.acct.id);
		if (ca_acme_new_id(z->id, err) != 0)
			goto out;
		/* A renewal: the account proved this name recently, and an
		 * authorization it holds is reused (RFC 8555 7.1.4) - if it
		 * stays valid as long as the order may be finalized. One
		 * that lapses first would leave the order ready on an
		 * expired proof, and a certificate issued on a proof older
		 * than CA_ACME_AUTHZ_DAYS: a new challenge instead. */
		if (db_acme_authz_find_valid(ca->db, x.acct.id, z->kind, z->name,
					     z->wildcard, now, &old, NULL) == 0) {
			int reuse = old.expires >= o.expires;

			if (reuse) {
				snprintf(z->status, sizeof(z->status), "valid");
				z->expires = old.expires;
				snprintf(z->token, sizeof(z->token), "%s", old.token);
				snprintf(z->chall, sizeof(z->chall), "%s", old.chall);
				snprintf(z->chall_status, sizeof(z->chall_status), "valid");
				z->validated_at = old.validated_at;
			}
			db_acme_authz_free(&old);
			if (reuse) {
				nvalid++;
				continue;
			}
		}
		/* RFC 8555 8.1: at least 128 bits of entropy. */
		if (ca_random(tok, sizeof(tok), err) != 0)
			goto out;
		mica_b64url_encode(tok, sizeof(tok), z->token, sizeof(z->token));
		snprintf(z->status, sizeof(z->status), "pending");
		z->expires = o.expires;
	}
	snprintf(o.status, sizeof(o.status), "%s", nvalid == nnames ? "ready" : "pending");
	snprintf(detail, sizeof(detail), "%.200s%s", joined, strlen(joined) > 200 ? "..." : "");
	for (char *c = detail; *c != '\0'; c++)
		if (*c == '\n')
			*c = ' ';
	tx.o = &o;
	tx.az = az;
	tx.naz = nnames;
	tx.actor = p.actor;
	tx.detail = detail;
	tx.retry_after = 0;
	if (ca_tx(ca, 0, new_order_body, &tx, err) != 0) {
		out->retry_after = tx.retry_after;
		goto out;
	}
	rc = order_load(ca, o.id, NULL, out, err);
out:
	free(az);
	free(joined);
	free(names);
	ca_principal_free(&p);
	json_decref(pl);
	ca_acme_auth_free(&x);
	return rc;
}

/* ------------------------------------------------- reading an order -- */

/* RFC 8555 6.3: a resource that is only read is fetched with POST-as-GET,
 * whose payload is the empty string; anything else asks for something this
 * resource does not do. WHAT names it for the message. */
static int
post_as_get(const struct ca_acme_auth *x, const char *what, struct mica_err *err)
{
	if (x->jws.payload_len != 0)
		return mica_err_set(err, MICA_E_BADREQ, "malformed",
				    "%s is read with POST-as-GET (an empty payload)", what);
	return 0;
}

int
ca_acme_order_post(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
		   const char *id, struct ca_acme_order *out, struct mica_err *err)
{
	struct ca_acme_auth x;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (ca_acme_auth(ca, a, r, CA_JWS_NEED_KID, &x, err) != 0 ||
	    post_as_get(&x, "an order", err) != 0)
		goto out;
	rc = order_load(ca, id, x.acct.id, out, err);
out:
	ca_acme_auth_free(&x);
	return rc;
}

/* Rows of the store read for one page of an account's orders, at most:
 * a page skips the orders it does not list (RFC 8555 7.1.2.1), and an
 * account with many invalid ones must not make one request read them
 * all. */
#define ORDERS_SCAN_MAX (10 * CA_ACME_ORDERS_PAGE)

int
ca_acme_orders_post(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
		    const char *id, int64_t before, char (**ids)[CA_ID_MAX],
		    size_t *n, int64_t *next, struct mica_err *err)
{
	struct ca_acme_auth x;
	struct db_acme_order *v = NULL;
	size_t count = 0, scanned = 0;
	int64_t from = before, more = 0, now = ca_now();
	int rc = -1;

	*ids = NULL;
	*n = 0;
	*next = 0;
	if (ca_acme_auth(ca, a, r, CA_JWS_NEED_KID, &x, err) != 0 ||
	    post_as_get(&x, "an account's list of orders", err) != 0)
		goto out;
	if (strcmp(x.acct.id, id) != 0) {
		mica_err_set(err, MICA_E_FORBIDDEN, "unauthorized",
			     "an account may only list its own orders");
		goto out;
	}
	if (before < 0) {
		no_such(err, "page of orders");
		goto out;
	}
	if ((*ids = calloc(CA_ACME_ORDERS_PAGE, sizeof(**ids))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	/* RFC 8555 7.1.2.1: the server SHOULD NOT include orders that
	 * are invalid - nor, then, a pending or ready one past its expiry,
	 * which a client reads as invalid. Left out before the page is
	 * cut, so that a page holds the newest orders it may list (the
	 * newest rows all invalid hid the valid ones behind them); a
	 * "next" page (Link rel="next") starts after the last row read. */
	do {
		if (db_acme_order_list(ca->db, id, from, CA_ACME_ORDERS_PAGE, &v,
				       &count, &more, err) != 0)
			goto out;
		for (size_t i = 0; i < count; i++) {
			int open = strcmp(v[i].status, "pending") == 0 ||
				   strcmp(v[i].status, "ready") == 0;

			from = v[i].rowid;
			scanned++;
			if (strcmp(v[i].status, "invalid") != 0 &&
			    !(open && v[i].expires <= now))
				memcpy((*ids)[(*n)++], v[i].id, CA_ID_MAX);
			if (*n == CA_ACME_ORDERS_PAGE || scanned == ORDERS_SCAN_MAX) {
				/* Whether anything follows this row. */
				if (i + 1 < count || more != 0)
					*next = from;
				more = 0;
				break;
			}
		}
		db_acme_order_array_free(v, count);
		v = NULL;
		count = 0;
	} while (more != 0);
	rc = 0;
out:
	db_acme_order_array_free(v, count);
	if (rc != 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	ca_acme_auth_free(&x);
	return rc;
}

/* -------------------------------------------------- authorizations -- */

/* Authorization ID of account ACCT. */
static int
authz_load(struct ca *ca, const char *id, const char *acct,
	   struct db_acme_authz *out, struct mica_err *err)
{
	if (!ca_valid_id(id) || db_acme_authz_get(ca->db, id, out, err) != 0) {
		if (err == NULL || err->kind != MICA_E_INTERNAL)
			no_such(err, "authorization");
		return -1;
	}
	if (strcmp(out->account_id, acct) != 0) {
		db_acme_authz_free(out);
		return no_such(err, "authorization");
	}
	return 0;
}

struct authz_tx {
	const char *id, *order_id, *actor, *chall;
	int deactivate;
};

static int
authz_body(struct db *db, void *arg, struct mica_err *err)
{
	struct authz_tx *x = arg;
	int64_t now = ca_now();
	struct mica_err e2;

	if (x->deactivate) {
		if (db_acme_authz_deactivate(db, x->id, err) != 0 ||
		    db_acme_authz_relinquish(db, x->id, now, err) != 0)
			return -1;
		/* RFC 8555 7.1.6: an order with a deactivated authorization
		 * cannot become valid. */
		if (db_acme_order_move(db, x->order_id, "pending", "invalid", NULL,
				       "unauthorized", "an authorization was deactivated",
				       now, &e2) != 0 &&
		    db_acme_order_move(db, x->order_id, "ready", "invalid", NULL,
				       "unauthorized", "an authorization was deactivated",
				       now, &e2) != 0 && e2.kind != MICA_E_CONFLICT) {
			*err = e2;
			return -1;
		}
		return db_audit_add(db, now, x->actor, "acme.authz.deactivate", x->id,
				    NULL, err);
	}
	if (db_acme_authz_start(db, x->id, x->chall, err) != 0)
		return -1;
	return db_audit_add(db, now, x->actor, "acme.challenge.start", x->id,
			    x->chall, err);
}

int
ca_acme_authz_post(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
		   const char *id, struct ca_acme_authz *out, struct mica_err *err)
{
	struct ca_acme_auth x;
	struct db_acme_authz z;
	json_t *pl = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&z, 0, sizeof(z));
	if (ca_acme_auth(ca, a, r, CA_JWS_NEED_KID, &x, err) != 0 ||
	    authz_load(ca, id, x.acct.id, &z, err) != 0)
		goto out;
	if (x.jws.payload_len > 0) {
		const char *st;
		struct authz_tx tx;
		char actor[96];

		if (ca_jws_payload_json(&x.jws, &pl, err) != 0)
			goto out;
		st = json_string_value(json_object_get(pl, "status"));
		/* RFC 8555 7.5.2: deactivation is the only change. */
		if (st == NULL || strcmp(st, "deactivated") != 0) {
			mica_err_set(err, MICA_E_BADREQ, "malformed",
				     "an authorization can only be deactivated "
				     "({\"status\": \"deactivated\"})");
			goto out;
		}
		snprintf(actor, sizeof(actor), "acme:%s", x.acct.id);
		memset(&tx, 0, sizeof(tx));
		tx.id = z.id;
		tx.order_id = z.order_id;
		tx.actor = actor;
		tx.deactivate = 1;
		if (ca_tx(ca, CA_TX_DURABLE, authz_body, &tx, err) != 0) {
			if (err != NULL && err->kind == MICA_E_CONFLICT)
				mica_err_set(err, MICA_E_BADREQ, "malformed",
					     "only a pending or valid authorization can be "
					     "deactivated");
			goto out;
		}
		db_acme_authz_free(&z);
		if (authz_load(ca, id, x.acct.id, &z, err) != 0)
			goto out;
	}
	authz_take(out, &z);
	rc = 0;
out:
	db_acme_authz_free(&z);
	json_decref(pl);
	ca_acme_auth_free(&x);
	return rc;
}

int
ca_acme_chall_post(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
		   const char *id, int type, struct ca_acme_authz *out,
		   struct mica_err *err)
{
	struct ca_acme_auth x;
	struct ca_principal p;
	struct db_acme_authz z;
	struct db_acme_order o;
	json_t *pl = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&z, 0, sizeof(z));
	memset(&o, 0, sizeof(o));
	memset(&p, 0, sizeof(p));
	if (ca_acme_auth(ca, a, r, CA_JWS_NEED_KID, &x, err) != 0 ||
	    authz_load(ca, id, x.acct.id, &z, err) != 0)
		goto out;
	authz_take(out, &z);
	if (!(out->offered & (unsigned)type)) {
		ca_acme_authz_free(out);
		mica_err_set(err, MICA_E_NOTFOUND, "malformed",
			     "this authorization offers no such challenge");
		goto out;
	}
	/* RFC 8555 7.5.1: the client says it is ready with a POST of {}; an
	 * empty payload only reads the challenge. Once a challenge was tried,
	 * the answer is what became of it - to a JSON object: "[]" or "x"
	 * asks for nothing, whatever became of the challenge. */
	if (x.jws.payload_len != 0 && ca_jws_payload_json(&x.jws, &pl, err) != 0)
		goto out;
	if (x.jws.payload_len == 0 || out->tried != 0 ||
	    strcmp(out->status, "valid") == 0) {
		rc = 0;
		goto out;
	}
	/* Deactivated, expired or invalid before any challenge was tried:
	 * nothing will validate it. A 200 with the challenge "pending" had
	 * the client poll for a validation that never starts. */
	if (strcmp(out->status, "pending") != 0) {
		mica_err_set(err, MICA_E_BADREQ, "malformed",
			     "this authorization is %s: it can no longer be validated",
			     out->status);
		goto out;
	}
	/* The account must still be allowed to order (token valid), and the
	 * order still open. */
	if (ca_acme_principal(ca, a, &x.acct, r->client, &p, err) != 0 ||
	    db_acme_order_get(ca->db, z.order_id, &o, err) != 0)
		goto out;
	if (strcmp(o.status, "pending") != 0 || o.expires <= ca_now()) {
		mica_err_set(err, MICA_E_FORBIDDEN, "order_not_ready",
			     "the order of this authorization is no longer pending");
		goto out;
	}
	{
		struct authz_tx tx;

		memset(&tx, 0, sizeof(tx));
		tx.id = z.id;
		tx.actor = p.actor;
		tx.chall = ca_acme_chall_name(type);
		/* Room first: a challenge is never left processing with nobody
		 * to validate it. */
		if (ca_acme_queue(a, NULL, err) != 0)
			goto out;
		if (ca_tx(ca, 0, authz_body, &tx, err) != 0) {
			if (err != NULL && err->kind == MICA_E_CONFLICT)
				goto reread;   /* another request started one */
			goto out;
		}
		if (ca_acme_queue(a, z.id, err) != 0)
			mica_log(MICA_LOG_WARN, "acme: cannot queue the validation "
				 "of %s: %s", z.id, err != NULL ? err->msg : "");
	}
reread:
	ca_acme_authz_free(out);
	db_acme_authz_free(&z);
	if (authz_load(ca, id, x.acct.id, &z, err) != 0)
		goto out;
	authz_take(out, &z);
	rc = 0;
out:
	if (rc != 0)
		ca_acme_authz_free(out);
	db_acme_order_free(&o);
	db_acme_authz_free(&z);
	ca_principal_free(&p);
	json_decref(pl);
	ca_acme_auth_free(&x);
	return rc;
}

/* ----------------------------------------------------------- finalize -- */

struct order_move_tx {
	const char *id, *from, *to, *serial, *code, *detail, *actor;
};

static int
order_move_body(struct db *db, void *arg, struct mica_err *err)
{
	struct order_move_tx *x = arg;
	int64_t now = ca_now();

	if (db_acme_order_move(db, x->id, x->from, x->to, x->serial, x->code,
			       x->detail, now, err) != 0)
		return -1;
	if (strcmp(x->to, "processing") == 0)
		return db_audit_add(db, now, x->actor, "acme.order.finalize", x->id,
				    NULL, err);
	if (strcmp(x->to, "invalid") == 0)
		return db_audit_add(db, now, x->actor, "acme.order.invalid", x->id,
				    x->detail, err);
	return 0;
}

/* Do the '\n'-separated lists A and B hold the same names (each list's
 * names are distinct: an order's identifiers)? */
static int
same_name_set(const char *a, const char *b)
{
	size_t na = 0, nb = 0;

	for (const char *p = a; p != NULL && *p != '\0'; na++) {
		const char *e = strchr(p, '\n');

		if (!name_listed(b, p, e != NULL ? (size_t)(e - p) : strlen(p)))
			return 0;
		p = e != NULL ? e + 1 : NULL;
	}
	for (const char *q = b; q != NULL && *q != '\0'; nb++) {
		const char *f = strchr(q, '\n');

		q = f != NULL ? f + 1 : NULL;
	}
	return na == nb && na > 0;
}

/* Orders of an account looked through for the certificate a new one
 * renews (newest first). */
#define RENEWS_LOOKBACK 100

/* In a transaction body: stored certificate SERIAL into *C (free with
 * db_cert_free) and *KIND the kind of key (CA_PUBKEY_*) it certifies, 0
 * if it cannot tell (or the row is gone: *C empty then). -1 only if the
 * store fails. */
static int
stored_key_kind(struct db *db, const char *serial, struct db_cert *c,
		int *kind, struct mica_err *err)
{
	mbedtls_x509_crt crt;
	int bits;

	*kind = 0;
	memset(c, 0, sizeof(*c));
	if (db_cert_get(db, serial, c, err) != 0) {
		if (err == NULL || err->kind != MICA_E_NOTFOUND)
			return -1;
		mica_err_clear(err);
		return 0;
	}
	mbedtls_x509_crt_init(&crt);
	if (c->der == NULL ||
	    mbedtls_x509_crt_parse_der(&crt, c->der, c->der_len) != 0 ||
	    ca_spki_key(crt.pk_raw.p, crt.pk_raw.len, kind, &bits, NULL) != 0)
		*kind = 0;
	mbedtls_x509_crt_free(&crt);
	return 0;
}

/* What order_stored is told: the order, and the kind of key (enum
 * ca_pubkey_kind) of the CSR its certificate certifies. */
struct order_done {
	const char *id;
	int key_kind;
};

/* ca_issue's hook: the order becomes valid in the certificate's commit,
 * and the certificate it renews is recorded as renewed (so that "what
 * expires soon" leaves it out): the one "replaces" named (RFC 9773), else
 * the account's newest certificate for the same names and the same kind
 * of key, as certbot, lego and the others renew - if it is still
 * current. */
static int
order_stored(struct db *db, void *arg, const char *serial, struct mica_err *err)
{
	const struct order_done *done = arg;
	const char *id = done->id;
	struct db_acme_order o, *v = NULL;
	size_t n = 0;
	int rc = -1;

	memset(&o, 0, sizeof(o));
	if (db_acme_order_move(db, id, "processing", "valid", serial, NULL, NULL,
			       ca_now(), err) != 0 ||
	    db_acme_order_get(db, id, &o, err) != 0)
		goto out;
	if (o.replaces_serial[0] != '\0') {
		rc = ca_renewal_link_current(db, o.replaces_serial, serial, err);
		goto out;
	}
	/* Of the same kind of key, too: a server may hold an RSA and an
	 * ECDSA certificate for the same names side by side (certbot
	 * --key-type, a lineage each), and one of them does not renew the
	 * other. The first match is the one, linked as read. */
	if (db_acme_order_list(db, o.account_id, 0, RENEWS_LOOKBACK, &v, &n,
			       NULL, err) != 0)
		goto out;
	rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct db_cert c;
		int k;

		if (strcmp(v[i].status, "valid") != 0 ||
		    v[i].serial[0] == '\0' ||
		    strcmp(v[i].id, id) == 0 ||
		    strcmp(v[i].serial, serial) == 0 ||
		    !same_name_set(v[i].names, o.names))
			continue;
		if (stored_key_kind(db, v[i].serial, &c, &k, err) != 0) {
			rc = -1;
			break;
		}
		if (k == done->key_kind) {
			rc = ca_renewal_link_cert(db, &c, serial, err);
			db_cert_free(&c);
			break;
		}
		db_cert_free(&c);
	}
out:
	db_acme_order_array_free(v, n);
	db_acme_order_free(&o);
	return rc;
}

/* The CSR's names must be the order's, no more, no fewer (RFC 8555 7.4). */
static int
same_names(const struct ca_name *a, size_t na, const struct ca_name *b, size_t nb)
{
	size_t distinct = 0;

	for (size_t i = 0; i < na; i++) {
		int found = 0, dup = 0;

		for (size_t k = 0; k < nb && !found; k++)
			found = a[i].kind == b[k].kind && strcmp(a[i].value, b[k].value) == 0;
		if (!found)
			return 0;
		for (size_t k = 0; k < i && !dup; k++)
			dup = a[i].kind == a[k].kind && strcmp(a[i].value, a[k].value) == 0;
		distinct += !dup;
	}
	return distinct == nb;
}

/* RFC 8555 7.4: a CSR asks for identifiers in its CN as well as in its
 * subjectAltName. Does the CN of CSR name a host (a DNS name with a dot,
 * or an address: into CN)? Is it (if it does) one of NAMES? Free text, a
 * single label or an e-mail address in the CN names no identifier. The
 * certificate's subject comes from policy and would leave such a CN out;
 * but the client asked for a name the order does not hold, and is told
 * so rather than given a certificate without it. */
static int
cn_host(const struct ca_csr *csr, struct ca_name *cn)
{
	return csr->cn != NULL && ca_name_parse(csr->cn, 0, cn, NULL) == 0 &&
	       ((cn->kind == CA_NAME_DNS && strchr(cn->value, '.') != NULL) ||
		cn->kind == CA_NAME_IP);
}

static int
cn_in_names(const struct ca_csr *csr, const struct ca_name *names, size_t n)
{
	struct ca_name cn;

	if (!cn_host(csr, &cn))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (names[i].kind == cn.kind && strcmp(names[i].value, cn.value) == 0)
			return 1;
	return 0;
}

/* The identifiers CSR asks for (RFC 8555 7.4: "either in the commonName
 * ... or in an extensionRequest attribute requesting a subjectAltName
 * extension, or both"): its names, and its CN when it names a host, as
 * Boulder reads a CSR. A CSR of "CN=mail.contoso.test" with the other
 * names in its subjectAltName asks for all of them. *OUT heap, *N names
 * (the CN may repeat one). */
static int
csr_idents(const struct ca_csr *csr, struct ca_name **out, size_t *n,
	   struct mica_err *err)
{
	struct ca_name cn;

	*n = 0;
	if ((*out = calloc(csr->nnames + 1, sizeof(**out))) == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
	if (csr->nnames > 0)
		memcpy(*out, csr->names, csr->nnames * sizeof(**out));
	*n = csr->nnames;
	if (cn_host(csr, &cn))
		(*out)[(*n)++] = cn;
	return 0;
}

/* The errors of reading a CSR are all badCSR to an ACME client. */
static void
as_bad_csr(struct mica_err *err)
{
	if (err != NULL && (err->kind == MICA_E_BADREQ || err->kind == MICA_E_POLICY ||
			    err->kind == MICA_E_TOOLARGE))
		mica_err_set(err, MICA_E_BADREQ, "bad_csr", "%s", err->msg);
}

/* RFC 8555 11.1: an account key is never certified, the finalizing
 * account's or any other's (a key that signs a CA's requests and a
 * server's TLS is two uses of one key). */
static int
not_an_account_key(struct ca *ca, const struct ca_csr *csr,
		   struct mica_err *err)
{
	int is;

	if (ca_account_key(ca->db, csr->spki, csr->spki_len, &is, err) != 0)
		return -1;
	if (is)
		return mica_err_set(err, MICA_E_BADREQ, "bad_csr",
				    "the CSR's key is an ACME account key: "
				    "the certificate needs a key of its own");
	return 0;
}

int
ca_acme_finalize(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
		 const char *id, struct ca_acme_order *out, struct mica_err *err)
{
	struct ca_acme_auth x;
	struct ca_principal p;
	struct ca_policy_decision d;
	struct ca_acme_order cur;
	struct ca_csr csr;
	struct ca_issue_job j;
	struct order_done done;
	struct ca_issued is;
	struct order_move_tx mv;
	const struct ca_profile *prof;
	struct ca_name *names = NULL, *asked = NULL;
	unsigned char *der = NULL;
	const char *b64;
	json_t *pl = NULL;
	size_t der_len = 0, b64_len, nasked = 0;
	int rc = -1, processing = 0;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	memset(&cur, 0, sizeof(cur));
	memset(&csr, 0, sizeof(csr));
	memset(&is, 0, sizeof(is));
	if (ca_acme_auth(ca, a, r, CA_JWS_NEED_KID, &x, err) != 0 ||
	    order_load(ca, id, x.acct.id, &cur, err) != 0)
		goto out;
	/* A request that is not a finalize at all is malformed whatever the
	 * order's state (as Boulder); the CSR itself is judged once the
	 * order is ready. */
	if (ca_jws_payload_json(&x.jws, &pl, err) != 0)
		goto out;
	b64 = json_string_value(json_object_get(pl, "csr"));
	b64_len = b64 != NULL ? strlen(b64) : 0;
	if (b64 == NULL || b64_len == 0 || b64_len > MICA_B64URL_ENCLEN(CA_CSR_MAX)) {
		mica_err_set(err, MICA_E_BADREQ, "malformed",
			     "finalize needs \"csr\": a DER CSR in base64url");
		goto out;
	}
	if ((der = malloc(MICA_B64URL_DECLEN(b64_len))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	if (mica_b64url_decode(b64, b64_len, der, MICA_B64URL_DECLEN(b64_len), &der_len) != 0) {
		mica_err_set(err, MICA_E_BADREQ, "bad_csr", "the CSR is not base64url");
		goto out;
	}
	if (strcmp(cur.status, "ready") != 0) {
		if (strcmp(cur.status, "pending") == 0)
			mica_err_set(err, MICA_E_FORBIDDEN, "order_not_ready",
				     "the order's authorizations are not all valid yet");
		else
			mica_err_set(err, MICA_E_FORBIDDEN, "order_not_ready",
				     "the order is %s, not ready", cur.status);
		goto out;
	}
	if (ca_csr_parse(der, der_len, &csr, err) != 0) {
		as_bad_csr(err);
		goto out;
	}
	if (not_an_account_key(ca, &csr, err) != 0)
		goto out;
	if ((names = calloc(cur.nidents, sizeof(*names))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cur.nidents; i++)
		if (ca_name_parse(cur.idents[i].value, cur.idents[i].ip ? CA_NAME_IP : CA_NAME_DNS,
				  &names[i], err) != 0)
			goto out;
	if (!cn_in_names(&csr, names, cur.nidents)) {
		mica_err_set(err, MICA_E_BADREQ, "bad_csr",
			     "the CSR's common name is not one of the order's identifiers");
		goto out;
	}
	if (csr_idents(&csr, &asked, &nasked, err) != 0)
		goto out;
	if (!same_names(asked, nasked, names, cur.nidents)) {
		mica_err_set(err, MICA_E_BADREQ, "bad_csr",
			     "the CSR's names differ from the order's identifiers");
		goto out;
	}
	if (ca_acme_principal(ca, a, &x.acct, r->client, &p, err) != 0 ||
	    (prof = ca_profile_get(cur.profile, err)) == NULL)
		goto out;
	if (ca_run_policy(ca, &p, prof, names, cur.nidents, csr.key_kind,
			  csr.key_bits, 0, 0, &d, err) != 0) {
		if (err != NULL && (strcmp(err->code, "weak_key") == 0 ||
				    strcmp(err->code, "unsupported_key") == 0))
			as_bad_csr(err);
		goto out;
	}
	/* A compromised key, known now, is refused as the CSR's other
	 * faults are: before the order moves, which stays ready for a
	 * CSR with another key (ca_issue checks again, in its
	 * transaction, for one revoked meanwhile). */
	if (ca_key_check(ca->db, csr.spki, csr.spki_len, csr.spki_sha256,
			 err) != 0)
		goto out;
	/* ready -> processing: of two finalize calls racing, one goes on. */
	memset(&mv, 0, sizeof(mv));
	mv.id = cur.id;
	mv.from = "ready";
	mv.to = "processing";
	mv.actor = p.actor;
	if (ca_tx(ca, 0, order_move_body, &mv, err) != 0) {
		if (err != NULL && err->kind == MICA_E_CONFLICT)
			mica_err_set(err, MICA_E_FORBIDDEN, "order_not_ready",
				     "the order is being finalized or was finalized already");
		goto out;
	}
	processing = 1;
	memset(&j, 0, sizeof(j));
	j.p = &p;
	j.prof = prof;
	j.spki = csr.spki;
	j.spki_len = csr.spki_len;
	j.spki_hash = csr.spki_sha256;
	j.names = names;
	j.nnames = cur.nidents;
	j.d = &d;
	j.consume_token = p.token_id[0] != '\0' ? p.token_id : NULL;
	j.action = "acme.issue";
	done.id = cur.id;
	done.key_kind = csr.key_kind;
	j.on_stored = order_stored;
	j.on_stored_arg = &done;
	if (ca_issue(ca, &j, &is, err) != 0)
		goto out;
	processing = 0;
	rc = order_load(ca, id, x.acct.id, out, err);
out:
	if (processing) {
		/* Nothing was issued: the order says why, and is over. */
		struct mica_err e2;
		char detail[256];

		snprintf(detail, sizeof(detail), "%s", err != NULL ? err->msg : "issuance failed");
		memset(&mv, 0, sizeof(mv));
		mv.id = cur.id;
		mv.from = "processing";
		mv.to = "invalid";
		mv.code = err != NULL && err->kind != MICA_E_INTERNAL &&
			  err->kind != MICA_E_UNAVAIL ? err->code : "server_internal";
		mv.detail = detail;
		mv.actor = p.actor;
		/* A conflict: made invalid already (the sweep took an
		 * issuance that outlasted it). */
		if (ca_tx(ca, CA_TX_DURABLE, order_move_body, &mv, &e2) != 0 &&
		    e2.kind != MICA_E_CONFLICT)
			mica_log(MICA_LOG_WARN, "acme: order %s stays processing: %s",
				 cur.id, e2.msg);
	}
	ca_issued_free(&is);
	free(asked);
	free(names);
	free(der);
	ca_csr_free(&csr);
	ca_acme_order_free(&cur);
	ca_principal_free(&p);
	json_decref(pl);
	ca_acme_auth_free(&x);
	return rc;
}

/* -------------------------------------------------------- certificate -- */

int
ca_acme_cert_post(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
		  const char *serial, unsigned char **der, size_t *der_len,
		  const char **chain, int *key_idx, struct mica_err *err)
{
	struct ca_acme_auth x;
	struct db_acme_order o;
	struct db_cert c;
	char canon[CA_SERIAL_MAX];
	int rc = -1;

	*der = NULL;
	*der_len = 0;
	*chain = NULL;
	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	if (ca_acme_auth(ca, a, r, CA_JWS_NEED_KID, &x, err) != 0 ||
	    post_as_get(&x, "a certificate", err) != 0)
		goto out;
	if (ca_serial_parse(serial, canon, NULL) != 0 || strcmp(canon, serial) != 0 ||
	    db_acme_order_by_serial(ca->db, canon, &o, err) != 0) {
		if (err == NULL || err->kind != MICA_E_INTERNAL)
			no_such(err, "certificate");
		goto out;
	}
	if (strcmp(o.account_id, x.acct.id) != 0) {
		no_such(err, "certificate");
		goto out;
	}
	if (db_cert_get(ca->db, canon, &c, err) != 0)
		goto out;
	if (c.der == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "no_der", "certificate without DER");
		goto out;
	}
	*der = c.der;
	*der_len = c.der_len;
	c.der = NULL;
	*chain = ca_key_chain_pem(ca, c.key_idx);
	if (key_idx != NULL)
		*key_idx = c.key_idx;
	rc = 0;
out:
	db_cert_free(&c);
	db_acme_order_free(&o);
	ca_acme_auth_free(&x);
	return rc;
}

/* ------------------------------------------------------------- admin -- */

int
ca_acme_order_list(struct ca *ca, const struct ca_principal *p,
		   const char *account_id, const struct ca_cursor *after,
		   int limit, struct ca_acme_order **out, size_t *n,
		   struct ca_cursor *next, struct mica_err *err)
{
	struct db_acme_order *v = NULL;
	size_t count = 0;
	int64_t from, next_row = 0;
	int rc = -1;

	/* AFTER may be NEXT itself (a caller walking with one cursor). */
	from = after != NULL ? after->id : 0;
	*out = NULL;
	*n = 0;
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (account_id != NULL && !ca_valid_id(account_id))
		return mica_err_set(err, MICA_E_BADREQ, "bad_id", "not an account id");
	if (after != NULL && after->id != 0 && (after->keyed || after->id < 0))
		return mica_err_set(err, MICA_E_BADREQ, "bad_cursor",
				    "this cursor is not one of an ACME order listing");
	if (next != NULL)
		memset(next, 0, sizeof(*next));
	if (db_acme_order_list(ca->db, account_id, from, limit, &v, &count,
			       &next_row, err) != 0)
		return -1;
	if (count > 0 && (*out = calloc(count, sizeof(**out))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		if (order_take(&(*out)[i], &v[i], err) != 0) {
			ca_acme_order_array_free(*out, count);
			*out = NULL;
			goto out;
		}
	}
	*n = count;
	if (next != NULL)
		next->id = next_row;
	rc = 0;
out:
	db_acme_order_array_free(v, count);
	return rc;
}

/*
 * ca/config.c - the CA's settings: its allowed domains and the validity of
 * its profiles (built-in values and admin overrides).
 */
#include "ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/signer.h"

/* ---------------------------------------------------------- profiles -- */

const struct ca_profile *
ca_profile_get(const char *name, struct mica_err *err)
{
	const struct ca_profile *prof = ca_profile_find(name ? name : "server");

	if (prof == NULL)
		mica_err_set(err, MICA_E_BADREQ, "unknown_profile",
			     "unknown profile (see 'mica profile list')");
	return prof;
}

int
ca_profile_limits(struct ca *ca, const struct ca_profile *prof, int *def,
		  int *max, struct mica_err *err)
{
	struct mica_err e;

	if (db_profile_get_days(ca->db, prof->name, def, max, &e) == 0)
		return 0;
	if (e.kind != MICA_E_NOTFOUND) {
		if (err != NULL)
			*err = e;
		return -1;
	}
	*def = prof->default_days;
	*max = prof->max_days;
	return 0;
}

/* ----------------------------------------------------------- domains -- */

int
ca_domain_list(struct ca *ca, char ***out, struct mica_err *err)
{
	return db_domain_list(ca->db, out, err);
}

void
ca_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

int
ca_domains_mac(const struct ca_key *key, const char *const *domains, size_t n,
	       unsigned char mac[32], struct mica_err *err)
{
	unsigned char *blob = NULL;
	size_t len = 0;
	int rc;

	if (ca_signer_domains_blob(domains, n, &blob, &len, err) != 0)
		return -1;
	rc = ca_key_mac(key, CA_SIGNER_DOMAINS_LABEL, blob, len, mac, err);
	free(blob);
	return rc;
}

/* Seal the list as it now stands in DB (inside the transaction that
 * changed it). */
static int
seal_in_tx(struct db *db, const struct ca_key *key, size_t *count,
	   struct mica_err *err)
{
	unsigned char mac[32];
	char **v = NULL;
	size_t n = 0;
	int rc = -1;

	if (db_domain_list(db, &v, err) != 0)
		goto out;
	while (v[n] != NULL)
		n++;
	if (ca_domains_mac(key, (const char *const *)v, n, mac, err) != 0 ||
	    db_domains_mac_set(db, mac, err) != 0)
		goto out;
	if (count != NULL)
		*count = n;
	rc = 0;
out:
	explicit_bzero(mac, sizeof(mac));
	ca_strv_free(v);
	return rc;
}

enum domain_op { DOMAIN_ADD, DOMAIN_REMOVE, DOMAIN_SEAL };

struct domain_tx {
	const char *domain;         /* canonical; NULL for DOMAIN_SEAL */
	enum domain_op op;
	const char *actor;
	const struct ca_key *key;
};

static int
domain_body(struct db *db, void *arg, struct mica_err *err)
{
	static const char *const action[] = {
		"domain.add", "domain.remove", "domain.seal",
	};
	struct domain_tx *x = arg;
	char detail[64];
	size_t n = 0;

	if ((x->op == DOMAIN_ADD && db_domain_add(db, x->domain, err) != 0) ||
	    (x->op == DOMAIN_REMOVE &&
	     db_domain_remove(db, x->domain, err) != 0))
		return -1;
	/* The signer processes of a running daemon trust the list only with
	 * this seal, which needs the key: change and seal go together. */
	if (seal_in_tx(db, x->key, &n, err) != 0)
		return -1;
	snprintf(detail, sizeof(detail), "%zu domain(s), sealed", n);
	return db_audit_add(db, ca_now(), x->actor, action[x->op], x->domain,
			    detail, err);
}

int
ca_domain_parse(const char *domain, struct ca_name *out, struct mica_err *err)
{
	char why[sizeof(err->msg)];

	if (ca_name_parse(domain, CA_NAME_DNS, out, err) != 0) {
		if (err == NULL)
			return -1;
		/* Say which rule the name breaks ("corp": one label only). */
		snprintf(why, sizeof(why), "%s", err->msg);
		return mica_err_set(err, MICA_E_BADREQ, "bad_domain",
				    "not a valid DNS domain: %s", why);
	}
	if (out->value[0] == '*')
		return mica_err_set(err, MICA_E_BADREQ, "bad_domain",
				    "not a valid DNS domain: write it without "
				    "\"*.\" (a domain covers its sub-domains)");
	return 0;
}

static int
domain_change(struct ca *ca, const struct ca_principal *p, const char *domain,
	      enum domain_op op, struct mica_err *err)
{
	struct ca_name n;
	struct domain_tx x;

	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca->sh->key == NULL)
		return mica_err_set(err, MICA_E_INTERNAL, "ca_locked",
				    "changing the allowed domains needs the CA "
				    "key (they are sealed with it)");
	x.domain = NULL;
	if (op != DOMAIN_SEAL) {
		if (ca_domain_parse(domain, &n, err) != 0)
			return -1;
		x.domain = n.value;
	}
	x.op = op;
	x.actor = p->actor;
	x.key = ca->sh->key;
	return ca_tx(ca, CA_TX_DURABLE, domain_body, &x, err);
}

int
ca_domain_add(struct ca *ca, const struct ca_principal *p, const char *domain,
	      struct mica_err *err)
{
	/* As init --root-only --domain: the list constrains what a CA
	 * issues, and an offline root issues nothing of its own (sign-ca
	 * takes --permit, or the request's). Removing stays open. */
	if (ca_state(ca) == CA_STATE_ROOT_ONLY)
		return mica_err_set(err, MICA_E_CONFLICT, "root_only",
				    "an offline root issues no certificates "
				    "of its own: add the domain to the issuing "
				    "CA, or give it to sign-ca with --permit");
	return domain_change(ca, p, domain, DOMAIN_ADD, err);
}

int
ca_domain_outside_constraints(struct ca *ca, const char *domain)
{
	struct ca_name n;

	if (ca == NULL || domain == NULL ||
	    ca_domain_parse(domain, &n, NULL) != 0)
		return 0;
	return !ca_nc_allows_path(ca->sh, &n);
}

int
ca_domain_remove(struct ca *ca, const struct ca_principal *p,
		 const char *domain, struct mica_err *err)
{
	return domain_change(ca, p, domain, DOMAIN_REMOVE, err);
}

int
ca_domain_seal(struct ca *ca, const struct ca_principal *p,
	       struct mica_err *err)
{
	return domain_change(ca, p, NULL, DOMAIN_SEAL, err);
}

/* -------------------------------------------------- profile validity -- */

int
ca_profile_days(struct ca *ca, const char *profile, int *def, int *max,
		struct mica_err *err)
{
	const struct ca_profile *prof = ca_profile_get(profile, err);

	if (prof == NULL)
		return -1;
	return ca_profile_limits(ca, prof, def, max, err);
}

struct days_tx {
	const char *profile;
	int def, max;
	const char *actor;
};

static int
days_body(struct db *db, void *arg, struct mica_err *err)
{
	struct days_tx *x = arg;
	char detail[64];

	snprintf(detail, sizeof(detail), "default %d, max %d days", x->def, x->max);
	if (db_profile_set_days(db, x->profile, x->def, x->max, err) != 0)
		return -1;
	return db_audit_add(db, ca_now(), x->actor, "profile.set", x->profile,
			    detail, err);
}

int
ca_profile_set_days(struct ca *ca, const struct ca_principal *p,
		    const char *profile, int def, int max, struct mica_err *err)
{
	const struct ca_profile *prof;
	struct days_tx x;

	if (ca_require_admin(p, err) != 0)
		return -1;
	if ((prof = ca_profile_get(profile, err)) == NULL)
		return -1;
	if (def < 1 || max < def || max > CA_PROFILE_DAYS_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days",
				    "need 1 <= default days <= max days <= %d",
				    CA_PROFILE_DAYS_MAX);
	x.profile = prof->name;
	x.def = def;
	x.max = max;
	x.actor = p->actor;
	return ca_tx(ca, CA_TX_DURABLE, days_body, &x, err);
}

/* ---------------------------------------- public URL and CRL period -- */

int
ca_config_get(struct ca *ca, char **public_url, int *crl_days,
	      struct mica_err *err)
{
	if (db_ca_settings(ca->db, public_url, crl_days, err) != 0)
		return -1;
	/* As ca_open reads the row (shared_load): 0 is the old default. */
	if (*crl_days == 0)
		*crl_days = 7;
	return 0;
}

struct config_tx {
	const char *url;          /* NULL: kept */
	int days;                 /* 0: kept */
	const char *actor;
	unsigned changed;         /* out: CA_CONFIG_* */
};

/* The refusal of a new public URL while a request for this CA's
 * certificate waits (ca_config_set). */
static int
request_pending(struct mica_err *err)
{
	return mica_err_set(err, MICA_E_CONFLICT, "request_pending",
			    "a request for this CA's certificate, made with "
			    "the public URL it has, is waiting for its "
			    "certificate: install that first ('mica "
			    "install-ca'), then change the URL");
}

/* Whether the store says a request for this CA's certificate waits: the
 * first (an issuing CA awaiting it) or a new key's (renew-ca --new-key). */
static int
awaits_certificate(struct db *db, int *out, struct mica_err *err)
{
	struct db_ca row;
	struct db_ca_key *keys = NULL;
	size_t n = 0;

	*out = 0;
	memset(&row, 0, sizeof(row));
	if (db_ca_get(db, &row, err) != 0)
		return -1;
	*out = row.state == DB_CA_AWAITING;
	db_ca_free(&row);
	if (db_ca_key_list(db, &keys, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (keys[i].role == DB_KEY_PENDING)
			*out = 1;
	db_ca_key_array_free(keys, n);
	return 0;
}

/* Compare with the row as it stands in the transaction (another admin's
 * change may have come in since the handle was opened), change what
 * differs, one audit row each with the old and the new value. */
static int
config_body(struct db *db, void *arg, struct mica_err *err)
{
	struct config_tx *x = arg;
	char *old = NULL, detail[2 * CA_PUBLIC_URL_MAX + 16];
	int days = 0, rc = -1;

	x->changed = 0;
	if (db_ca_settings(db, &old, &days, err) != 0)
		goto out;
	/* Again under the write lock, as the store has it now: a
	 * 'mica renew-ca' since this handle was opened made a request with
	 * the URL the store has (ca_config_set). */
	if (x->url != NULL && strcmp(old, x->url) != 0) {
		int waits = 0;

		if (awaits_certificate(db, &waits, err) != 0)
			goto out;
		if (waits) {
			request_pending(err);
			goto out;
		}
	}
	if (x->url != NULL && strcmp(old, x->url) != 0) {
		snprintf(detail, sizeof(detail), "%s -> %s",
			 old[0] != '\0' ? old : "(none)", x->url);
		if (db_ca_set_public_url(db, x->url, err) != 0 ||
		    db_audit_add(db, ca_now(), x->actor, "ca.public_url",
				 NULL, detail, err) != 0)
			goto out;
		x->changed |= CA_CONFIG_URL;
	}
	if (x->days > 0 && days != x->days) {
		snprintf(detail, sizeof(detail), "%d -> %d days", days, x->days);
		if (db_ca_set_crl_days(db, x->days, err) != 0 ||
		    db_audit_add(db, ca_now(), x->actor, "ca.crl_days", NULL,
				 detail, err) != 0)
			goto out;
		x->changed |= CA_CONFIG_CRL_DAYS;
	}
	rc = 0;
out:
	free(old);
	return rc;
}

int
ca_config_set(struct ca *ca, const struct ca_principal *p,
	      const char *public_url, int crl_days, unsigned *changed,
	      struct mica_err *err)
{
	struct config_tx x;

	if (changed != NULL)
		*changed = 0;
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (public_url != NULL && !ca_public_url_new_ok(public_url))
		return mica_err_set(err, MICA_E_BADREQ, "bad_url",
				    "the public URL must be an http:// or "
				    "https:// URL of a host and perhaps a path, "
				    "without a trailing slash, query or '.'/'..' "
				    "segments, such as http://ca.contoso.test:8080");
	if (crl_days < 0 || crl_days > CA_CRL_DAYS_MAX)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days",
				    "the CRL validity is 1 to %d days",
				    CA_CRL_DAYS_MAX);
	/* The request given out for this CA's certificate was made with
	 * the URL it has: its name constraints permit the address of an
	 * IP address URL (which the daemon's HTTPS certificate names), and
	 * 'mica renew-ca' gives that same request again until a
	 * certificate is installed. A new URL then would name an address
	 * the certificate to come does not permit. */
	if (public_url != NULL &&
	    (ca->sh->state == DB_CA_AWAITING || ca->sh->pending_idx >= 0) &&
	    strcmp(public_url, ca->sh->public_url) != 0)
		return request_pending(err);
	x.url = public_url;
	x.days = crl_days;
	x.actor = p->actor;
	x.changed = 0;
	if (ca_tx(ca, CA_TX_DURABLE, config_body, &x, err) != 0)
		return -1;
	if (changed != NULL)
		*changed = x.changed;
	return 0;
}

int
ca_url_outside_constraints(struct ca *ca, const char *url)
{
	struct ca_name n;

	if (ca == NULL || url == NULL || !ca_url_host_name(url, &n))
		return 0;
	return !ca_nc_allows_path(ca->sh, &n);
}

/*
 * ca/config.c - the CA's settings: its allowed domains and the validity of
 * its profiles (built-in values and admin overrides).
 */
#include "ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"

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

struct domain_tx {
	const char *domain;         /* canonical */
	int add;
	const char *actor;
};

static int
domain_body(struct db *db, void *arg, struct mica_err *err)
{
	struct domain_tx *x = arg;

	if ((x->add ? db_domain_add(db, x->domain, err)
		    : db_domain_remove(db, x->domain, err)) != 0)
		return -1;
	return db_audit_add(db, ca_now(), x->actor,
			    x->add ? "domain.add" : "domain.remove", x->domain,
			    NULL, err);
}

static int
domain_change(struct ca *ca, const struct ca_principal *p, const char *domain,
	      int add, struct mica_err *err)
{
	struct ca_name n;
	struct domain_tx x;

	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca_name_parse(domain, CA_NAME_DNS, &n, err) != 0 || n.value[0] == '*')
		return mica_err_set(err, MICA_E_BADREQ, "bad_domain",
				    "not a valid DNS domain");
	x.domain = n.value;
	x.add = add;
	x.actor = p->actor;
	return ca_tx(ca, CA_TX_DURABLE, domain_body, &x, err);
}

int
ca_domain_add(struct ca *ca, const struct ca_principal *p, const char *domain,
	      struct mica_err *err)
{
	return domain_change(ca, p, domain, 1, err);
}

int
ca_domain_remove(struct ca *ca, const struct ca_principal *p,
		 const char *domain, struct mica_err *err)
{
	return domain_change(ca, p, domain, 0, err);
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

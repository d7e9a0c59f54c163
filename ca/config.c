/*
 * ca/config.c - the CA's settings: its allowed domains and the validity of
 * its profiles (built-in values and admin overrides).
 */
#include "ca/ca.h"

#include <stdio.h>
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

static int
domain_change(struct ca *ca, const struct ca_principal *p, const char *domain,
	      int add, struct mica_err *err)
{
	struct ca_name n;

	if (ca_require_admin(p, err) != 0)
		return -1;
	if (ca_name_parse(domain, CA_NAME_DNS, &n, err) != 0 || n.value[0] == '*')
		return mica_err_set(err, MICA_E_BADREQ, "bad_domain",
				    "not a valid DNS domain");
	if (db_begin(ca->db, err) != 0)
		return -1;
	if ((add ? db_domain_add(ca->db, n.value, err)
		 : db_domain_remove(ca->db, n.value, err)) != 0 ||
	    db_audit_add(ca->db, ca_now(), p->actor,
			 add ? "domain.add" : "domain.remove", n.value, NULL, err) != 0) {
		db_rollback(ca->db);
		return -1;
	}
	return db_commit(ca->db, err);
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

int
ca_profile_set_days(struct ca *ca, const struct ca_principal *p,
		    const char *profile, int def, int max, struct mica_err *err)
{
	const struct ca_profile *prof;
	char detail[64];

	if (ca_require_admin(p, err) != 0)
		return -1;
	if ((prof = ca_profile_get(profile, err)) == NULL)
		return -1;
	if (def < 1 || max < def || max > 3650)
		return mica_err_set(err, MICA_E_BADREQ, "bad_days",
				    "need 1 <= default days <= max days <= 3650");
	snprintf(detail, sizeof(detail), "default %d, max %d days", def, max);
	if (db_begin(ca->db, err) != 0)
		return -1;
	if (db_profile_set_days(ca->db, prof->name, def, max, err) != 0 ||
	    db_audit_add(ca->db, ca_now(), p->actor, "profile.set", prof->name,
			 detail, err) != 0) {
		db_rollback(ca->db);
		return -1;
	}
	return db_commit(ca->db, err);
}

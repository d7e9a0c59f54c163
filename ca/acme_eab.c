/*
 * ca/acme_eab.c - External Account Binding credentials (RFC 8555 7.3.4),
 * made by an admin for one ACME client: an enrollment token (its scope is
 * the account's) and an HMAC key the client proves it holds when it
 * creates its account.
 */
#include "ca/acme.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "ca/acme_int.h"
#include "ca/keys.h"
#include "util/b64url.h"
#include "util/log.h"

struct eab_tx {
	const char *token_id;
	const unsigned char *key;
	const char *actor;
};

static int
eab_body(struct db *db, void *arg, struct mica_err *err)
{
	struct eab_tx *x = arg;

	if (db_acme_eab_insert(db, x->token_id, x->key, err) != 0)
		return -1;
	return db_audit_add(db, ca_now(), x->actor, "acme.eab.create", x->token_id,
			    NULL, err);
}

int
ca_acme_eab_create(struct ca *ca, const struct ca_principal *p,
		   const struct ca_token_spec *spec, char kid[CA_ID_MAX],
		   char hmac[CA_ACME_HMAC_MAX], struct mica_err *err)
{
	struct ca_token_spec s;
	struct ca_token info;
	struct eab_tx x;
	struct mica_err e2;
	unsigned char key[32];
	char token[CA_TOKEN_MAX];
	int rc = -1;

	kid[0] = hmac[0] = '\0';
	memset(&info, 0, sizeof(info));
	if (ca_require_admin(p, err) != 0)
		return -1;
	if (spec->kind != CA_TOKEN_ENROLL)
		return mica_err_set(err, MICA_E_BADREQ, "bad_kind",
				    "an ACME credential is an enrollment token");
	s = *spec;
	/* Renewal is the point of ACME: unlimited certificates unless said. */
	if (s.uses == 0)
		s.uses = -1;
	if (s.comment == NULL)
		s.comment = "ACME external account binding";
	/* Never a leading '-' in the printed key (top six bits 62): certbot
	 * and every argparse command line would take "--eab-hmac-key -x..."
	 * for two options. Costs under a bit of the 256. */
	do {
		if (ca_random(key, sizeof(key), err) != 0)
			goto out;
	} while (key[0] >> 2 == 62);
	/* The token through the one path that makes tokens (scope checks,
	 * audit); its bearer secret is dropped unseen, so the token is
	 * usable only through the account its HMAC key binds. */
	if (ca_token_create(ca, p, &s, token, &info, err) != 0)
		goto out;
	explicit_bzero(token, sizeof(token));
	x.token_id = info.id;
	x.key = key;
	x.actor = p->actor;
	if (ca_tx(ca, CA_TX_DURABLE, eab_body, &x, err) != 0) {
		/* A token without its key: revoke it so no half remains. */
		if (ca_token_revoke(ca, p, info.id, &e2) != 0)
			mica_log(MICA_LOG_WARN, "acme: token %s has no EAB key and "
				 "cannot be revoked: %s", info.id, e2.msg);
		goto out;
	}
	snprintf(kid, CA_ID_MAX, "%s", info.id);
	mica_b64url_encode(key, sizeof(key), hmac, CA_ACME_HMAC_MAX);
	rc = 0;
out:
	mbedtls_platform_zeroize(key, sizeof(key));
	ca_token_free(&info);
	return rc;
}

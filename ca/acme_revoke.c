/*
 * ca/acme_revoke.c - revocation through ACME (RFC 8555 7.6) and the
 * renewal information of ARI (RFC 9773).
 *
 * The engine decides here who may revoke (the ordering account, an account
 * that proved every name of the certificate, or whoever holds the
 * certificate's key), then revokes through ca_revoke, the one revocation
 * path: the CRL that lists the certificate is published in the same
 * commit, and a keyCompromise revocation blocks the key wherever that
 * path says so.
 */
#include "ca/acme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "ca/acme_int.h"
#include "util/b64url.h"
#include "util/hex.h"
#include "util/log.h"

/* The ARI window (RFC 9773 4.2): renew from two thirds of the lifetime,
 * within a twelfth of it; a revoked certificate at once. */
#define ARI_START_NUM 2
#define ARI_START_DEN 3
#define ARI_WIDTH_DEN 12

/* Is AKI[0..LEN) the key identifier of one of this CA's keys? */
static int
issuer_key(const struct ca *ca, const unsigned char *aki, size_t len)
{
	const struct ca_shared *sh = ca->sh;

	if (len == sh->ski_len && memcmp(aki, sh->ski, len) == 0)
		return 1;
	for (size_t i = 0; i < sh->nretired && i < CA_KEYS_MAX; i++)
		if (len == sh->retired[i].ski_len &&
		    memcmp(aki, sh->retired[i].ski, len) == 0)
			return 1;
	return 0;
}

int
ca_acme_certid_parse(struct ca *ca, const char *cert_id,
		     char serial[CA_SERIAL_MAX], struct mica_err *err)
{
	unsigned char aki[64], ser[32];
	char hex[2 * sizeof(ser) + 1];
	const char *dot;
	size_t akl = 0, sl = 0, n;

	serial[0] = '\0';
	if (cert_id == NULL || (n = strlen(cert_id)) >= CA_ACME_CERTID_MAX ||
	    (dot = strchr(cert_id, '.')) == NULL ||
	    mica_b64url_decode(cert_id, (size_t)(dot - cert_id), aki, sizeof(aki), &akl) != 0 ||
	    mica_b64url_decode(dot + 1, n - (size_t)(dot - cert_id) - 1, ser, sizeof(ser), &sl) != 0 ||
	    akl == 0 || sl == 0 || sl > 20)
		return mica_err_set(err, MICA_E_BADREQ, "malformed",
				    "a certID is base64url(authority key id) \".\" "
				    "base64url(serial)");
	/* The serial's DER INTEGER contents (RFC 9773 4.1): minimal and
	 * positive, as the certificate has it - a 0x00 it does not need, or
	 * a negative number, names no certificate (it was read as the
	 * serial without the 0x00, or as a positive one). */
	if ((ser[0] & 0x80) != 0 ||
	    (sl > 1 && ser[0] == 0 && (ser[1] & 0x80) == 0))
		return mica_err_set(err, MICA_E_BADREQ, "malformed",
				    "the certID's serial is not a DER INTEGER's "
				    "minimal, positive contents");
	/* Issued by this CA? Its certificates name the key id of the key
	 * that signed them: the current one, or one retired by a rollover
	 * (its certificates are still valid and still renew). */
	if (!issuer_key(ca, aki, akl))
		return mica_err_set(err, MICA_E_NOTFOUND, "malformed",
				    "the certID names another issuer");
	mica_hex_encode(ser, sl, hex);
	if (ca_serial_parse(hex, serial, NULL) != 0)
		return mica_err_set(err, MICA_E_NOTFOUND, "malformed",
				    "the certID names no certificate of this CA");
	return 0;
}

int
ca_acme_renewal_info(struct ca *ca, const char *cert_id, int64_t *start,
		     int64_t *end, struct mica_err *err)
{
	struct db_cert c;
	char serial[CA_SERIAL_MAX];
	int64_t life, now = ca_now();

	*start = *end = 0;
	memset(&c, 0, sizeof(c));
	if (ca_acme_certid_parse(ca, cert_id, serial, err) != 0)
		return -1;
	if (db_cert_get(ca->db, serial, &c, err) != 0) {
		if (err != NULL && err->kind == MICA_E_NOTFOUND)
			mica_err_set(err, MICA_E_NOTFOUND, "malformed",
				     "no certificate of this CA has this certID");
		return -1;
	}
	if (c.status == DB_CERT_REVOKED) {
		/* RFC 9773 4.2: a window in the past means renew now. */
		*start = now - 3600;
		*end = now - 60;
	} else {
		life = c.not_after - c.not_before;
		*start = c.not_before + life / ARI_START_DEN * ARI_START_NUM;
		*end = *start + life / ARI_WIDTH_DEN;
		if (*end <= *start)
			*end = *start + 1;
	}
	db_cert_free(&c);
	return 0;
}

/* ------------------------------------------------------- revokeCert -- */

/* RFC 8555 7.6: the reasons an ACME client may give. certificateHold is
 * not one (an ACME revocation is final); cACompromise and aACompromise
 * concern the CA, not a subscriber. */
static int
reason_ok(int reason)
{
	return ca_reason_valid(reason) && reason != CA_REASON_HOLD &&
	       reason != CA_REASON_CA_COMPROMISE && reason != CA_REASON_AA_COMPROMISE;
}

/* Has account ACCT valid authorizations for every name of NAMES (the
 * store's '\n'-separated form)? */
static int
acct_covers(struct ca *ca, const char *acct, const char *names, int *yes,
	    struct mica_err *err)
{
	struct ca_name *v = NULL;
	size_t n = 0;

	*yes = 0;
	if (ca_stored_names_parse(names, &v, &n, err) != 0)
		return -1;
	*yes = n > 0;
	for (size_t i = 0; i < n && *yes; i++) {
		struct db_acme_authz z;
		const char *bare = v[i].value;
		int wild = strncmp(bare, "*.", 2) == 0;

		if (v[i].kind != CA_NAME_DNS && v[i].kind != CA_NAME_IP) {
			*yes = 0;
			break;
		}
		if (db_acme_authz_find_valid(ca->db, acct, v[i].kind == CA_NAME_IP ? "ip" : "dns",
					     wild ? bare + 2 : bare, wild, ca_now(), &z,
					     err) == 0) {
			db_acme_authz_free(&z);
		} else if (err != NULL && err->kind == MICA_E_NOTFOUND) {
			*yes = 0;
		} else {
			free(v);
			return -1;
		}
	}
	free(v);
	return 0;
}

int
ca_acme_revoke(struct ca *ca, struct ca_acme *a, const struct ca_acme_req *r,
	       struct mica_err *err)
{
	struct ca_acme_auth x;
	struct ca_principal p;
	struct db_cert c;
	struct db_acme_order o;
	mbedtls_x509_crt crt;
	unsigned char *der = NULL, spki[1100];
	const char *b64;
	char hex[2 * 32 + 1], serial[CA_SERIAL_MAX];
	json_t *pl = NULL, *jr;
	size_t b64_len, der_len = 0;
	int64_t reason = CA_REASON_UNSPECIFIED;
	int rc = -1, allowed = 0, n;

	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	memset(&p, 0, sizeof(p));
	mbedtls_x509_crt_init(&crt);
	if (ca_acme_auth(ca, a, r, 0, &x, err) != 0 ||
	    ca_jws_payload_json(&x.jws, &pl, err) != 0)
		goto out;
	b64 = json_string_value(json_object_get(pl, "certificate"));
	b64_len = b64 != NULL ? strlen(b64) : 0;
	if (b64 == NULL || b64_len == 0 || b64_len > MICA_B64URL_ENCLEN(16384)) {
		mica_err_set(err, MICA_E_BADREQ, "malformed",
			     "revokeCert needs \"certificate\": DER in base64url");
		goto out;
	}
	/* The reason is judged once the requester is known to be allowed
	 * (below): whoever may not revoke the certificate learns nothing of
	 * it, not even that the reason would have done. */
	jr = json_object_get(pl, "reason");
	if ((der = malloc(MICA_B64URL_DECLEN(b64_len))) == NULL) {
		mica_err_set(err, MICA_E_INTERNAL, "out_of_memory", "out of memory");
		goto out;
	}
	if (mica_b64url_decode(b64, b64_len, der, MICA_B64URL_DECLEN(b64_len), &der_len) != 0 ||
	    mbedtls_x509_crt_parse_der(&crt, der, der_len) != 0 ||
	    crt.raw.len != der_len ||   /* nothing after it */
	    crt.serial.len == 0 || crt.serial.len > 32) {
		mica_err_set(err, MICA_E_BADREQ, "malformed", "the certificate does not parse");
		goto out;
	}
	mica_hex_encode(crt.serial.p, crt.serial.len, hex);
	/* Ours byte for byte, or nothing to revoke here. */
	if (ca_serial_parse(hex, serial, NULL) != 0 ||
	    db_cert_get(ca->db, serial, &c, err) != 0 || c.der == NULL ||
	    c.der_len != der_len || memcmp(c.der, der, der_len) != 0) {
		if (err == NULL || err->kind != MICA_E_INTERNAL)
			mica_err_set(err, MICA_E_NOTFOUND, "malformed",
				     "this server did not issue that certificate");
		goto out;
	}
	if (x.jws.has_jwk) {
		/* Signed with the certificate's own key. */
		n = mbedtls_pk_write_pubkey_der(&crt.pk, spki, sizeof(spki));
		allowed = n > 0 && (size_t)n == x.jws.jwk.spki_len &&
			  memcmp(spki + sizeof(spki) - n, x.jws.jwk.spki, (size_t)n) == 0;
		ca_principal_local(&p, "");
		snprintf(p.actor, sizeof(p.actor), "acme:certificate-key@%s",
			 r->client != NULL ? r->client : "?");
	} else {
		/* A store failure is serverInternal, not "not authorized". */
		if (db_acme_order_by_serial(ca->db, serial, &o, err) == 0)
			allowed = strcmp(o.account_id, x.acct.id) == 0;
		else if (err != NULL && err->kind != MICA_E_NOTFOUND)
			goto out;
		if (!allowed && acct_covers(ca, x.acct.id, c.names, &allowed, err) != 0)
			goto out;
		ca_principal_local(&p, "");
		snprintf(p.actor, sizeof(p.actor), "acme:%s", x.acct.id);
	}
	if (!allowed) {
		mica_err_set(err, MICA_E_FORBIDDEN, "unauthorized", "%s",
			     x.jws.has_jwk ? "the JWS key is not the certificate's key" :
			     "this account neither ordered the certificate nor holds "
			     "valid authorizations for all its names");
		goto out;
	}
	/* Not a number at all is malformed; a number no reason of ours is
	 * badRevocationReason. */
	if (jr != NULL && !json_is_integer(jr)) {
		mica_err_set(err, MICA_E_BADREQ, "malformed",
			     "\"reason\" must be an integer (RFC 5280 5.3.1)");
		goto out;
	}
	if (jr != NULL &&
	    (json_integer_value(jr) < 0 ||
	     json_integer_value(jr) > CA_REASON_MAX || !reason_ok((int)json_integer_value(jr)))) {
		mica_err_set(err, MICA_E_BADREQ, "bad_revocation_reason",
			     "the reasons are 0 (unspecified), 1 (keyCompromise), "
			     "3, 4, 5 and 9");
		goto out;
	}
	if (jr != NULL)
		reason = json_integer_value(jr);
	if (c.status == DB_CERT_REVOKED && c.reason != CA_REASON_HOLD) {
		mica_err_set(err, MICA_E_BADREQ, "already_revoked",
			     "the certificate is revoked already");
		goto out;
	}
	/* The engine decided; the one revocation path does it (as the
	 * command line would, recorded under the ACME actor). */
	snprintf(p.client, sizeof(p.client), "%s", r->client != NULL ? r->client : "?");
	/* Signed with the certificate's key, keyCompromise is shown and
	 * revokes the key's other certificates too; an account (which may
	 * only have proved the names) revokes this one. */
	if ((x.jws.has_jwk ? ca_revoke(ca, &p, serial, (int)reason, err) :
	     ca_revoke_one(ca, &p, serial, (int)reason, err)) != 0) {
		if (err != NULL && err->kind == MICA_E_CONFLICT)
			mica_err_set(err, MICA_E_BADREQ, "already_revoked",
				     "the certificate is revoked already");
		goto out;
	}
	rc = 0;
out:
	mbedtls_x509_crt_free(&crt);
	free(der);
	db_cert_free(&c);
	db_acme_order_free(&o);
	ca_principal_free(&p);
	json_decref(pl);
	ca_acme_auth_free(&x);
	return rc;
}

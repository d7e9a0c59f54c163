/*
 * ca/acme.h - the engine side of ACME (RFC 8555): what web/acme.c calls.
 *
 * The web side hands over each request as it came (the JWS body, the URL
 * it was sent to); the engine verifies the JWS and its nonce, finds the
 * account, decides (the one policy, ca_run_policy, with the account's
 * token scope), changes the store through ca_tx with an audit row for
 * every step, and issues through ca_issue - the one issuance path - so
 * that ACME certificates obey every rule any other certificate does. It
 * returns the engine's own objects, which the web side renders with the
 * URLs it builds (ca/ knows nothing of HTTP: it never composes a URL, it
 * only compares what the client signed with what the web side says the
 * request's URL is).
 *
 * A struct ca_acme is the service the daemon starts once: the nonce
 * window, the options, and the validation workers (ca/acme_validate.c),
 * which check challenges off the request threads. Its functions are
 * thread-safe; each call takes the calling thread's engine handle.
 *
 * Errors carry the ACME error type (RFC 8555 6.7) in snake_case as their
 * code ("bad_nonce", "malformed", "unauthorized", "account_does_not_exist",
 * "rejected_identifier", "bad_csr", "order_not_ready", "bad_public_key",
 * "bad_signature_algorithm", "external_account_required",
 * "bad_revocation_reason", "already_revoked", "already_replaced",
 * "invalid_contact", "unsupported_contact", "unsupported_identifier",
 * "rate_limited", "connection", "dns", "incorrect_response", "tls"), or
 * the code of the engine rule that refused (policy codes such as
 * "name_not_allowed", "name_not_in_scope", "weak_key"), which the web side
 * maps to the ACME type that fits.
 */
#ifndef MICA_CA_ACME_H
#define MICA_CA_ACME_H

#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"
#include "util/err.h"

struct ca_acme;

/* The JWS algorithms of account keys (ca/jws.h), as the "algorithms"
 * member of a badSignatureAlgorithm problem lists them. */
#define CA_ACME_JWS_ALGS { "ES256", "ES384", "RS256" }

#define CA_ACME_NONCE_MAX    48    /* a nonce, with NUL */
#define CA_ACME_TOKEN_MAX    64    /* a challenge token, with NUL */
#define CA_ACME_CERTID_MAX   128   /* an RFC 9773 certID, with NUL */
#define CA_ACME_CONTACTS_MAX 4
#define CA_ACME_OPEN_ORDERS  100   /* pending or ready orders per account */
#define CA_ACME_ORDER_HOURS  24    /* a new order and its authorizations */
#define CA_ACME_AUTHZ_DAYS   7     /* a valid authorization is reused */
#define CA_ACME_ORDERS_PAGE  1000  /* orders in a page of an account's list */

/* Challenge types, as bits of struct ca_acme_authz's offered set. */
enum ca_acme_chall {
	CA_ACME_HTTP01 = 1,     /* RFC 8555 8.3 */
	CA_ACME_DNS01 = 2,      /* RFC 8555 8.4 */
	CA_ACME_TLSALPN01 = 4,  /* RFC 8737 */
};
/* "http-01" ... for a type, NULL for anything else. */
const char *ca_acme_chall_name(int type);
/* A type from its name, 0 if unknown. */
int ca_acme_chall_parse(const char *name);

struct ca_acme_opts {
	int open;                 /* --acme-open: accounts need no EAB */
	const char *hosts_file;   /* --acme-hosts: hosts(5), before DNS */
	int http_port;            /* http-01 port, 0 = 80 */
	int tls_port;             /* tls-alpn-01 (and https redirect) port,
				   * 0 = 443 */
	const char *dns;          /* "ADDR:PORT" for dns-01 TXT look-ups;
				   * NULL = the first nameserver of
				   * /etc/resolv.conf */
	int allow_loopback;       /* validate against loopback and
				   * link-local addresses (labs, tests) */
	int workers;              /* validation threads, 0 = 4 */
	int timeout;              /* seconds per validation, 0 = 10 */
};

/*
 * Start the ACME service of the CA opened as PARENT (the daemon's main
 * handle; PARENT must outlive the service and must not be used by another
 * thread during this call): parse the options (a hosts file that cannot
 * be read is MICA_E_USAGE), start the workers (each clones an engine
 * handle from PARENT while it has validations to do, later, while other
 * threads use PARENT: see ca_clone), and queue again the validations a
 * previous run left unfinished.
 * Call with the daemon's signals already blocked. *OUT is freed with
 * ca_acme_close, which stops the workers (a validation in progress is
 * abandoned within a fraction of a second and picked up at the next
 * start).
 */
int ca_acme_open(struct ca *parent, const struct ca_acme_opts *o,
		 struct ca_acme **out, struct mica_err *err);
void ca_acme_close(struct ca_acme *a);
/* 1 unless --acme-open (the directory's meta.externalAccountRequired). */
int ca_acme_eab_required(const struct ca_acme *a);

/* A fresh nonce (RFC 8555 7.2): unguessable, accepted once, only by this
 * process. */
void ca_acme_nonce(struct ca_acme *a, char out[CA_ACME_NONCE_MAX]);

/* One request as the web side received it. */
struct ca_acme_req {
	const unsigned char *body;  /* the JWS (application/jose+json) */
	size_t body_len;
	const char *url;            /* the absolute URL it was sent to, which
				     * the JWS "url" must equal */
	const char *acct_prefix;    /* account URLs: prefix + account id */
	const char *client;         /* peer address, for the audit */
};

struct ca_acme_account {
	char id[CA_ID_MAX];
	char status[16];            /* valid, deactivated, revoked */
	char *contact;              /* '\n'-separated URLs, NULL if none */
	char token_id[CA_ID_MAX];   /* the EAB-bound token, "" if none */
	char thumbprint[48];        /* RFC 7638, base64url */
	char *client;               /* the address it was created from */
	int64_t created_at, deactivated_at;
};
void ca_acme_account_free(struct ca_acme_account *a);
void ca_acme_account_array_free(struct ca_acme_account *a, size_t n);

struct ca_acme_ident {
	int ip;                     /* "ip" (RFC 8738), else "dns" */
	char value[256];            /* canonical; "*.x" for a wildcard */
};

/* A name a new order was refused for (RFC 8555 6.7.1, a subproblem). */
struct ca_acme_rejected {
	struct ca_acme_ident ident;
	struct mica_err why;
};

struct ca_acme_order {
	char id[CA_ID_MAX];
	char account_id[CA_ID_MAX];
	char status[16];            /* pending ready processing valid invalid
				     * (an expired pending or ready order is
				     * shown invalid) */
	struct ca_acme_ident *idents;
	size_t nidents;
	char *profile;
	int64_t expires, created_at;
	char serial[CA_SERIAL_MAX]; /* the certificate, "" unless valid */
	char *error_code, *error_detail;   /* why it is invalid, or NULL */
	char *replaces;             /* RFC 9773 certID, NULL if none */
	char (*authz)[CA_ID_MAX];   /* its authorizations' ids */
	size_t nauthz;
	/* A new order refused by the policy for its names: each name of
	 * several that the policy refuses on its own, with why (no order is
	 * made; NULL when one name or none alone is to blame). */
	struct ca_acme_rejected *rejected;
	size_t nrejected;
	/* A new order refused for CA_ACME_OPEN_ORDERS: seconds until the
	 * first of the account's open orders expires and makes room
	 * (1..CA_ACME_ORDER_HOURS hours), for Retry-After; 0 otherwise. */
	int64_t retry_after;
};
void ca_acme_order_free(struct ca_acme_order *o);
void ca_acme_order_array_free(struct ca_acme_order *a, size_t n);

struct ca_acme_authz {
	char id[CA_ID_MAX];
	char order_id[CA_ID_MAX];
	char status[16];            /* pending valid invalid deactivated
				     * expired */
	struct ca_acme_ident ident; /* without "*." */
	int wildcard;
	int64_t expires;
	char token[CA_ACME_TOKEN_MAX];
	unsigned offered;           /* enum ca_acme_chall bits */
	int tried;                  /* the type being or having been tried, 0 */
	char tried_status[16];      /* processing valid invalid, "" */
	int64_t validated_at;
	char *error_code, *error_detail;   /* why it is invalid, or NULL */
};
void ca_acme_authz_free(struct ca_acme_authz *a);

/* ------------------------------------------------ the protocol (RFC 8555) -- */

/* 7.3 newAccount. *CREATED 1 for a new account (201), 0 for the existing
 * one of this key (200). EAB is checked here (7.3.4). */
int ca_acme_new_account(struct ca *ca, struct ca_acme *a,
			const struct ca_acme_req *r, struct ca_acme_account *out,
			int *created, struct mica_err *err);
/* 7.3.2 and 7.3.6: POST to the account URL of ID: read (empty payload or
 * {}), update "contact", or deactivate. */
int ca_acme_account_post(struct ca *ca, struct ca_acme *a,
			 const struct ca_acme_req *r, const char *id,
			 struct ca_acme_account *out, struct mica_err *err);
/* 7.3.5 keyChange. On a conflict (the new key has an account) CONFLICT_ID
 * receives that account's id (MICA_E_CONFLICT "key_in_use"). */
int ca_acme_key_change(struct ca *ca, struct ca_acme *a,
		       const struct ca_acme_req *r, struct ca_acme_account *out,
		       char conflict_id[CA_ID_MAX], struct mica_err *err);
/* 7.4 newOrder (and RFC 9773 "replaces"). */
int ca_acme_new_order(struct ca *ca, struct ca_acme *a,
		      const struct ca_acme_req *r, struct ca_acme_order *out,
		      struct mica_err *err);
/* POST-as-GET of order ID. */
int ca_acme_order_post(struct ca *ca, struct ca_acme *a,
		       const struct ca_acme_req *r, const char *id,
		       struct ca_acme_order *out, struct mica_err *err);
/* 7.1.2.1 the orders of account ID (its own only) that a client may
 * list (not invalid, nor expired): ids (heap, at most CA_ACME_ORDERS_PAGE),
 * newest first, made before the order whose place is BEFORE (> 0; 0: from
 * the newest). *NEXT is where the next page starts (its "next" link), 0
 * when no order follows. */
int ca_acme_orders_post(struct ca *ca, struct ca_acme *a,
			const struct ca_acme_req *r, const char *id,
			int64_t before, char (**ids)[CA_ID_MAX], size_t *n,
			int64_t *next, struct mica_err *err);
/* 7.5 POST-as-GET of authorization ID, or 7.5.2 its deactivation. */
int ca_acme_authz_post(struct ca *ca, struct ca_acme *a,
		       const struct ca_acme_req *r, const char *id,
		       struct ca_acme_authz *out, struct mica_err *err);
/* 7.5.1 POST to challenge TYPE of authorization ID: {} starts its
 * validation (queued for a worker), an empty payload reads it. */
int ca_acme_chall_post(struct ca *ca, struct ca_acme *a,
		       const struct ca_acme_req *r, const char *id, int type,
		       struct ca_acme_authz *out, struct mica_err *err);
/* 7.4 finalize order ID with the CSR of the payload; issues (ca_issue) at
 * once, so *OUT is valid with its serial, or the call failed. */
int ca_acme_finalize(struct ca *ca, struct ca_acme *a,
		     const struct ca_acme_req *r, const char *id,
		     struct ca_acme_order *out, struct mica_err *err);
/* 7.4.2 POST-as-GET of the certificate SERIAL, by the account that ordered
 * it: *DER heap; *CHAIN the PEM chain of the CA key that signed it
 * (ca_key_chain_pem: after a rollover, an older certificate's is not the
 * current key's), owned by CA, NULL if that key is gone; *KEY_IDX (may be
 * NULL) that key, for ca_bundle. */
int ca_acme_cert_post(struct ca *ca, struct ca_acme *a,
		      const struct ca_acme_req *r, const char *serial,
		      unsigned char **der, size_t *der_len, const char **chain,
		      int *key_idx, struct mica_err *err);
/* 7.6 revokeCert, by the account that ordered the certificate, an account
 * holding valid authorizations for all its names, or the certificate's
 * own key; publishes a new CRL (through ca_revoke). */
int ca_acme_revoke(struct ca *ca, struct ca_acme *a,
		   const struct ca_acme_req *r, struct mica_err *err);
/* RFC 9773 renewalInfo of CERT_ID (unauthenticated GET): the suggested
 * window, from two thirds of the certificate's lifetime; now for a
 * revoked certificate. */
int ca_acme_renewal_info(struct ca *ca, const char *cert_id, int64_t *start,
			 int64_t *end, struct mica_err *err);

/* -------------------------------------------------------- administration -- */

/* Admin: accounts, newest first (the order made, backwards): one page of
 * at most LIMIT (1..10001) after AFTER (NULL or id 0: from the newest;
 * MICA_E_BADREQ "bad_cursor" for a certificate listing's expiry cursor).
 * *NEXT (NEXT may be NULL) is where the next page starts, id 0 when none
 * follows; AFTER may point to NEXT. Free *OUT with
 * ca_acme_account_array_free. */
int ca_acme_account_list(struct ca *ca, const struct ca_principal *p,
			 const struct ca_cursor *after, int limit,
			 struct ca_acme_account **out, size_t *n,
			 struct ca_cursor *next, struct mica_err *err);
/* Admin: deactivate account ID (its key can do nothing more). */
int ca_acme_account_deactivate(struct ca *ca, const struct ca_principal *p,
			       const char *id, struct mica_err *err);
/* Admin: orders of ACCOUNT_ID (all if NULL), newest first (the order
 * made, backwards), without their authorization ids: one page of at most
 * LIMIT (1..10001) after AFTER, *NEXT where the next one starts, as
 * ca_acme_account_list. */
int ca_acme_order_list(struct ca *ca, const struct ca_principal *p,
		       const char *account_id, const struct ca_cursor *after,
		       int limit, struct ca_acme_order **out, size_t *n,
		       struct ca_cursor *next, struct mica_err *err);

/*
 * Admin: an External Account Binding credential for certbot's
 * --eab-kid/--eab-hmac-key and lego's --kid/--hmac: an enrollment token
 * with SPEC's scope (kind must be CA_TOKEN_ENROLL; uses 0 means unlimited,
 * since renewals are the point) whose bearer secret is never shown, and a
 * 256-bit HMAC key. KID receives the key id (the token's id), HMAC the key
 * in base64url. The key is stored until an account binds it, then wiped;
 * one credential binds one account, which may then order what the
 * token's scope allows, for as long as the token is valid.
 */
#define CA_ACME_HMAC_MAX 48
int ca_acme_eab_create(struct ca *ca, const struct ca_principal *p,
		       const struct ca_token_spec *spec, char kid[CA_ID_MAX],
		       char hmac[CA_ACME_HMAC_MAX], struct mica_err *err);

#endif

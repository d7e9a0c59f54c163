/*
 * ca/ca.h - the mica CA engine: what the CLI and the HTTP daemon call.
 *
 * A struct ca is one handle on a data directory: one SQLite connection and a
 * reference to the unsealed CA key. It is not thread-safe; a daemon opens one
 * with ca_open() and gives each worker thread its own with ca_clone(), which
 * shares the key and cached root/CRL bytes but has its own connection.
 *
 * Authorization is decided here, not in the callers: every operation takes
 * the principal (who is asking), obtained from ca_authenticate() for a
 * bearer token or ca_principal_cli() for the local command line.
 *
 * Every state change writes an audit row in the same transaction. A
 * certificate is recorded (status issuing) before it is signed and stored
 * (status valid) before it is returned; signing runs outside the write lock.
 */
#ifndef MICA_CA_H
#define MICA_CA_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/err.h"

struct ca;

#define CA_DB_FILE       "mica.db"
#define CA_PASS_FILE     "passphrase"
#define CA_ID_MAX        40      /* request and token ids, with NUL */
#define CA_TOKEN_MAX     128     /* a whole bearer token, with NUL */
#define CA_PENDING_MAX   1000    /* most pending requests held at once */

/* ------------------------------------------------------------ set-up -- */

struct ca_init_opts {
	const char *datadir;          /* created 0700 if missing */
	const char *name;             /* root CA common name */
	const char *org;              /* organisation (O), may be NULL */
	const char *const *domains;   /* allowed domains, may be empty */
	size_t ndomains;
	const char *public_url;       /* base for CDP/AIA, e.g. http://ca:8080 */
	const char *key_type;         /* "ec-p256" (default if NULL) ... */
	int days;                     /* root validity, default 3650 */
	int crl_days;                 /* CRL nextUpdate, default 7 */
	const char *passphrase_file;  /* NULL: MICA_PASSPHRASE, else generate */
	int64_t kdf_iter;             /* 0 = CA_KDF_DEFAULT_ITER */
};

struct ca_init_result {
	char passphrase_path[4096];   /* set if a passphrase file was generated */
	char fingerprint[96];         /* SHA-256 of the root, "AB:CD:..." */
};

/* Create the data directory's database and root CA, publish the first CRL.
 * MICA_E_CONFLICT ("ca_exists") if a CA already exists there. */
int ca_init(const struct ca_init_opts *o, struct ca_init_result *res,
	    struct mica_err *err);

/* Is there a CA in DATADIR? 1 yes, 0 no. */
int ca_exists(const char *datadir);

#define CA_OPEN_UNLOCK   0x1  /* unseal the key (needed to sign) */
#define CA_OPEN_READONLY 0x2  /* read-only connection */

/* Open the CA in DATADIR. With CA_OPEN_UNLOCK the passphrase comes from
 * PASSPHRASE_FILE if not NULL, else $MICA_PASSPHRASE, else DATADIR/passphrase;
 * a passphrase file readable by group or others is refused. Wrong
 * passphrase -> MICA_E_UNAUTH. */
int ca_open(const char *datadir, int flags, const char *passphrase_file,
	    struct ca **out, struct mica_err *err);
/* A new handle for another thread: own connection, shared key and caches. */
int ca_clone(struct ca *parent, struct ca **out, struct mica_err *err);
void ca_close(struct ca *ca);
/* For a long-running process with many threads (the daemon): from now on
 * every handle sharing CA's data directory hands issuance's store writes to
 * one writer thread that commits them in batches (group commit, see
 * db_run_tx()); the last ca_close() stops it. Call once, before the other
 * threads start. */
int ca_batch_writes(struct ca *ca, struct mica_err *err);

/* The store connection of this handle (for backup, integrity checks). */
struct db *ca_db(struct ca *ca);

/* ----------------------------------------------------------- callers -- */

enum ca_principal_kind {
	CA_PRINCIPAL_ANON = 0,   /* no token: may submit for approval */
	CA_PRINCIPAL_ENROLL,     /* enrollment token: issue within its scope */
	CA_PRINCIPAL_ADMIN,      /* admin token: everything */
	CA_PRINCIPAL_CLI,        /* the local command line: everything */
};

struct ca_principal {
	int kind;                   /* enum ca_principal_kind */
	char token_id[CA_ID_MAX];   /* "" unless a token */
	char actor[96];             /* for audit: "cli", "admin:ID", "enroll:ID", "anon" */
	char client[64];            /* client address or "local" */
	/* enrollment scope (copied from the token) */
	char *scope_profile;        /* NULL = any */
	char **scope_names;         /* NULL = any within the CA's domains */
	size_t nscope_names;
};

void ca_principal_cli(struct ca_principal *p);
void ca_principal_anon(struct ca_principal *p, const char *client);
/* Check a bearer token ("mica_<id>_<secret>"): known, not revoked, not
 * expired, secret matching (constant time over SHA-256 hashes). MICA_E_UNAUTH
 * ("bad_token") for any failure, the same message whatever the cause. Uses
 * are consumed only when a certificate is issued. */
int ca_authenticate(struct ca *ca, const char *token, const char *client,
		    struct ca_principal *out, struct mica_err *err);
void ca_principal_free(struct ca_principal *p);

/* -------------------------------------------------------- issuance -- */

struct ca_submit {
	const unsigned char *csr;     /* PEM, base64 or DER */
	size_t csr_len;
	const char *profile;          /* default "server" */
	int days;                     /* 0 = profile default */
	const char *const *names;     /* override the CSR's names (admin/CLI) */
	size_t nnames;
};

struct ca_issued {
	char request_id[CA_ID_MAX];   /* "" for direct CLI issuance */
	int status;                   /* DB_REQ_PENDING / ISSUED / DENIED */
	char serial[DB_SERIAL_MAX];
	unsigned char *der; size_t der_len;   /* certificate, heap */
	int64_t not_before, not_after;
	int clamped;                  /* validity was cut to the CA's notAfter */
	char notice[160];             /* e.g. why validity was clamped */
};
void ca_issued_free(struct ca_issued *r);

/* Submit a CSR. ADMIN/CLI and ENROLL (within scope, consuming one use)
 * principals get a certificate at once; ANON gets a pending request (after
 * the same validation, so hopeless requests are refused at submission).
 * Refused input stores nothing and signs nothing. */
int ca_submit_csr(struct ca *ca, const struct ca_principal *p,
		  const struct ca_submit *s, struct ca_issued *out,
		  struct mica_err *err);

/* Request status by id (anyone who knows the unguessable id). If issued,
 * out->der holds the certificate. */
int ca_request_status(struct ca *ca, const char *id, struct ca_issued *out,
		      struct db_request *req, struct mica_err *err);
/* Admin: list requests (STATUS -1 for all). */
int ca_request_list(struct ca *ca, const struct ca_principal *p, int status,
		    int limit, struct db_request **out, size_t *n,
		    struct mica_err *err);
int ca_request_approve(struct ca *ca, const struct ca_principal *p,
		       const char *id, struct ca_issued *out,
		       struct mica_err *err);
int ca_request_deny(struct ca *ca, const struct ca_principal *p, const char *id,
		    const char *reason, struct mica_err *err);

/* Renew SERIAL: same names and profile. CSR NULL reuses the old public key
 * (admin/CLI only). With a CSR: a CSR for the same key as the old
 * certificate is allowed for anyone while the old certificate is valid and
 * not revoked; a new key needs an ENROLL token covering the names, or admin.
 * SUPERSEDE revokes the old one with reason superseded. */
int ca_renew(struct ca *ca, const struct ca_principal *p, const char *serial,
	     const unsigned char *csr, size_t csr_len, int days, int supersede,
	     struct ca_issued *out, struct mica_err *err);

/* Issue a server certificate for a key the caller holds (the daemon's own
 * TLS certificate): admin/CLI only, names checked only for syntax, and the
 * single label "localhost" allowed. */
int ca_issue_for_spki(struct ca *ca, const struct ca_principal *p,
		      const char *profile, const unsigned char *spki,
		      size_t spki_len, const char *const *names, size_t nnames,
		      int days, struct ca_issued *out, struct mica_err *err);

/* ------------------------------------------------------- revocation -- */

/* RFC 5280 5.3.1 names: "unspecified", "keyCompromise", "cACompromise",
 * "affiliationChanged", "superseded", "cessationOfOperation",
 * "certificateHold", "privilegeWithdrawn", "aACompromise"
 * (case-insensitive). -1 if unknown. */
int ca_reason_parse(const char *s);
const char *ca_reason_name(int reason);

/* Revoke and publish a new CRL. */
int ca_revoke(struct ca *ca, const struct ca_principal *p, const char *serial,
	      int reason, struct mica_err *err);
/* Only from certificateHold; publishes a new CRL. */
int ca_unrevoke(struct ca *ca, const struct ca_principal *p,
		const char *serial, struct mica_err *err);

/* Publish a new CRL now (number incremented in the same transaction). */
int ca_crl_publish(struct ca *ca, const struct ca_principal *p,
		   struct db_crl *out, struct mica_err *err);
/* The current CRL (the stored copy, never signed per call). */
int ca_crl_current(struct ca *ca, struct db_crl *out, struct mica_err *err);
/* Its number and dates only (der NULL). */
int ca_crl_info(struct ca *ca, struct db_crl *out, struct mica_err *err);

/* ----------------------------------------------------------- queries -- */

/* Canonical serial from user text: hex with optional ':' separators and
 * "0x" prefix, case-insensitive, 1..40 hex digits -> lowercase, even length,
 * no redundant leading "00" pairs. MICA_E_BADREQ "bad_serial". */
int ca_serial_parse(const char *in, char out[DB_SERIAL_MAX],
		    struct mica_err *err);

int ca_cert_get(struct ca *ca, const struct ca_principal *p,
		const char *serial, struct db_cert *out, struct mica_err *err);
int ca_cert_list(struct ca *ca, const struct ca_principal *p,
		 const struct db_cert_filter *f, struct db_cert **out,
		 size_t *n, int64_t *next_cursor, struct mica_err *err);
int ca_counts(struct ca *ca, struct db_counts *out, struct mica_err *err);
int ca_audit_list(struct ca *ca, const struct ca_principal *p, int64_t since,
		  int64_t before_id, int limit, struct db_audit **out,
		  size_t *n, struct mica_err *err);

/* The root certificate (cached; owned by the handle). */
const unsigned char *ca_root_der(struct ca *ca, size_t *len);
const char *ca_root_pem(struct ca *ca);
const char *ca_root_fingerprint(struct ca *ca);  /* "AB:CD:..." SHA-256 */
const char *ca_name(struct ca *ca);
const char *ca_public_url(struct ca *ca);
int64_t ca_not_after(struct ca *ca);

/* ------------------------------------------------------------ tokens -- */

struct ca_token_spec {
	int kind;                     /* DB_TOKEN_ENROLL or DB_TOKEN_ADMIN */
	const char *profile;          /* enroll: NULL = any */
	const char *const *names;     /* enroll: NULL = any within the domains */
	size_t nnames;
	int64_t uses;                 /* -1 unlimited; 0 = default (1 for
				       * enroll, unlimited for admin) */
	int64_t expires_in;           /* seconds; 0 = never */
	const char *comment;
};

/* Create a token; TOKEN receives the secret bearer string, shown once and
 * stored only as a hash. INFO (may be NULL) gets the stored row. */
int ca_token_create(struct ca *ca, const struct ca_principal *p,
		    const struct ca_token_spec *spec, char token[CA_TOKEN_MAX],
		    struct db_token *info, struct mica_err *err);
int ca_token_list(struct ca *ca, const struct ca_principal *p,
		  struct db_token **out, size_t *n, struct mica_err *err);
int ca_token_revoke(struct ca *ca, const struct ca_principal *p,
		    const char *id, struct mica_err *err);

/* ---------------------------------------------------- configuration -- */

/* Allowed domains. List: *out NULL-terminated, free with db_strv_free. */
int ca_domain_list(struct ca *ca, char ***out, struct mica_err *err);
int ca_domain_add(struct ca *ca, const struct ca_principal *p,
		  const char *domain, struct mica_err *err);
int ca_domain_remove(struct ca *ca, const struct ca_principal *p,
		     const char *domain, struct mica_err *err);
/* Effective validity of a profile (built-in unless overridden). */
int ca_profile_days(struct ca *ca, const char *profile, int *default_days,
		    int *max_days, struct mica_err *err);
/* Override a profile's default and maximum validity (1 <= def <= max <=
 * 3650). */
int ca_profile_set_days(struct ca *ca, const struct ca_principal *p,
			const char *profile, int default_days, int max_days,
			struct mica_err *err);

/* Re-seal the CA key under a new passphrase (read from NEW_FILE, which must
 * be 0600). The handle must be open with CA_OPEN_UNLOCK (old passphrase).
 * A fresh salt and nonce are drawn; the old passphrase stops working. */
int ca_passphrase_change(struct ca *ca, const struct ca_principal *p,
			 const char *new_file, struct mica_err *err);

/* ----------------------------------------------------------- backup -- */

int ca_backup(struct ca *ca, const char *dest, struct mica_err *err);
/* Restore FILE into DATADIR, which must hold no CA. */
int ca_restore(const char *datadir, const char *file, struct mica_err *err);

#endif

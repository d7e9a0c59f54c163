/*
 * ca/ca.h - the mica CA engine: what the CLI and the HTTP daemon call.
 *
 * A struct ca is one handle on a data directory: one SQLite connection and a
 * reference to the unsealed CA key. It is not thread-safe; a daemon opens one
 * with ca_open() and gives each worker thread its own with ca_clone(), which
 * shares the key and cached root/CRL bytes but has its own connection.
 * ca_clone() reads only what the handles share, so it may clone a parent
 * another thread is using (never one being reloaded or closed).
 *
 * Authorization is decided here, not in the callers: every operation takes
 * the principal (who is asking), obtained from ca_authenticate() for a
 * bearer token or ca_principal_cli() for the local command line.
 *
 * Every state change writes an audit row in the same transaction. A
 * certificate is recorded (status issuing) before it is signed and stored
 * (status valid) before it is returned; signing runs outside the write lock.
 *
 * The engine hands out its own types (struct ca_cert, ca_request, ca_crl,
 * ca_token, ca_audit, ca_counts): callers never see the store's. Strings
 * and DER inside them are heap copies owned by the struct, released by its
 * *_free function (which accepts NULL and zeroes the struct). Times are
 * Unix seconds, UTC.
 */
#ifndef MICA_CA_H
#define MICA_CA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/err.h"

struct ca;

#define CA_DB_FILE       "mica.db"
#define CA_PASS_FILE     "passphrase"
#define CA_SERVE_LOCK_FILE "serve.lock"
/* There from before 'mica serve' creates the CA at its first start until
 * it has shown its admin token (web/daemon.c); an init or restore that
 * makes the CA instead removes it. */
#define CA_FIRST_START_FILE "serve.first-start"
#define CA_ID_MAX        40      /* request and token ids, with NUL */
#define CA_TOKEN_MAX     128     /* a whole bearer token, with NUL */
#define CA_PENDING_MAX   1000    /* most pending requests held at once */
#define CA_PENDING_PER_CLIENT 20 /* ... and from one client address */
#define CA_SERIAL_MAX    41      /* a serial in hex (20 octets), with NUL */
#define CA_TEXT_MAX      200     /* characters of a comment or a reason */

/* Validity bounds, in days. CA_DAYS_MAX (about a century) bounds what
 * anything may ask for - the root's validity, a request's days - so that
 * arithmetic on times stays in range; the profiles bound a certificate far
 * below it. CA_PROFILE_DAYS_MAX bounds an admin's profile override. */
#define CA_DAYS_MAX          36500
#define CA_PROFILE_DAYS_MAX  3650
/* The longest TLS server certificate Apple's platforms take (iOS 13,
 * macOS 10.15: "Requirements for trusted certificates", 2019), whatever
 * root it chains to: 'profile set' warns past it. */
#define CA_TLS_SERVER_DAYS_APPLE 825

/* Free text from outside (a token's comment, a denial's reason, the CA's
 * name): the one check every such input passes. S (NULL passes) must be
 * well-formed UTF-8 (RFC 3629) of at most MAX characters (code points, not
 * octets), none of them a control character (C0, DEL, C1), a line or
 * paragraph separator, a bidirectional control (U+202A..202E,
 * U+2066..2069, LRM, RLM) or another invisible formatting character
 * (zero-width ones, the BOM, soft hyphen, fillers, tags...) or a
 * noncharacter (U+FDD0..FDEF, U+nFFFE, U+nFFFF), and not beginning or
 * ending with white space (so not only white space either). WHAT names
 * the field in the message. MICA_E_BADREQ "bad_text" otherwise. */
int ca_text_check(const char *s, size_t max, const char *what,
		  struct mica_err *err);

/* ------------------------------------------------------------ set-up -- */

/* What kind of CA to create (struct ca_init_opts). */
enum ca_init_kind {
	CA_INIT_ROOT = 0,          /* a self-signed root that issues (single
				    * tier, what 'mica init' always made) */
	CA_INIT_ROOT_ONLY = 1,     /* an offline root: signs CA certificates
				    * and its own CRL only; never served */
	CA_INIT_SUBORDINATE = 2,   /* an issuing CA: a key and a request;
				    * it awaits its certificate */
};

/* Default validity of an offline root's CRL (its ARL): published by hand
 * on an offline machine, so long-lived. */
#define CA_ROOT_CRL_DAYS 180

struct ca_init_opts {
	const char *datadir;          /* created 0700 if missing */
	const char *name;             /* root CA common name */
	const char *org;              /* organisation (O), may be NULL */
	const char *const *domains;   /* allowed domains, may be empty */
	size_t ndomains;
	const char *public_url;       /* base for CDP/AIA, e.g. http://ca:8080
				       * (optional for an offline root: where
				       * its CRL and certificate are served) */
	const char *key_type;         /* "ec-p256" (default if NULL) ... */
	int days;                     /* root validity, default 3650,
				       * at most CA_DAYS_MAX */
	int crl_days;                 /* CRL nextUpdate, default 7 (an offline
				       * root's CA_ROOT_CRL_DAYS), at most 365 */
	const char *passphrase_file;  /* NULL: MICA_PASSPHRASE, else generate */
	int64_t kdf_iter;             /* 0 = CA_KDF_DEFAULT_ITER */
	int kind;                     /* enum ca_init_kind */
	int path_len;                 /* subordinate: pathLenConstraint to ask
				       * for (0: it signs no CA) */
	int first_start;              /* mica serve's first start: the
				       * DIR/CA_FIRST_START_FILE it made
				       * stays (any other init removes one),
				       * and with no passphrase_file nor
				       * MICA_PASSPHRASE a DIR/passphrase
				       * there already seals the key */
};

struct ca_init_result {
	char passphrase_path[4096];   /* set if a passphrase file was generated */
	int passphrase_kept;          /* first_start: sealed under the
				       * DIR/passphrase found there */
	char fingerprint[96];         /* SHA-256 of the root, "AB:CD:..."
				       * ("" for a subordinate) */
	unsigned char *csr;           /* subordinate: its request (DER, heap;
				       * free with ca_init_result_free) */
	size_t csr_len;
};
void ca_init_result_free(struct ca_init_result *res);
/* What an admin should hear before a new CA names URL (its --public-url)
 * in every certificate: an https:// URL, or a host only this machine
 * reaches (localhost, 127.0.0.0/8, ::1, 0.0.0.0). 1 with the warning in
 * BUF (SIZE bytes, one line, no "warning:" prefix), else 0 and "". */
int ca_public_url_warning(const char *u, char *buf, size_t size);
/* Remove the stores that killed runs of ca_init left in DATADIR
 * (.mica.db.init-XXXXXX, logged), unless another process holds DATADIR's
 * lock (an init at work then, or a restore or passphrase change: the next
 * call sweeps). ca_init does it itself, every open for writing too. */
void ca_init_sweep(const char *datadir);

/* Create the data directory's database and CA. A root (either kind) is
 * self-signed and publishes its first CRL; a subordinate gets a key and
 * a request (res->csr) for its CA certificate, with the allowed domains
 * asked for as name constraints, and awaits it (ca_install_cert).
 * MICA_E_CONFLICT ("ca_exists") if a CA already exists there; an existing
 * directory group or others may access is refused (MICA_E_FORBIDDEN
 * "insecure_permissions"), a new one is made 0700. */
int ca_init(const struct ca_init_opts *o, struct ca_init_result *res,
	    struct mica_err *err);

/* One daemon per data directory and per store (ca/lock.c): an
 * exclusive lock on DATADIR/serve.lock, made with DATADIR (0700) if it
 * does not exist yet, and on serve.lock beside the store when
 * DATADIR/mica.db is a symbolic link out of DATADIR; held in *L until
 * ca_serve_unlock. MICA_E_CONFLICT ("already_serving", naming the
 * holder's process id) if another process holds either. */
struct ca_serve_lock {
	int fd[2];      /* -1: not held */
};
int ca_serve_lock(const char *datadir, struct ca_serve_lock *l,
		  struct mica_err *err);
void ca_serve_unlock(struct ca_serve_lock *l);
/* Does a 'mica serve' hold DATADIR's lock (or the lock beside its store)
 * now? 1 (*PID its process id when it wrote one, else 0), 0 no. */
int ca_serve_running(const char *datadir, long *pid);

/* Is there a CA in DATADIR? 1 yes, 0 no. */
int ca_exists(const char *datadir);

#define CA_OPEN_UNLOCK   0x1  /* unseal the key (needed to sign) */
#define CA_OPEN_READONLY 0x2  /* read-only connection */
#define CA_OPEN_ALL_KEYS 0x4  /* with CA_OPEN_UNLOCK: SCEP's RA key too
			       * (one more key derivation; what a passphrase
			       * change needs to re-seal every key) */
#define CA_OPEN_OCSP_BY_CA 0x8  /* OCSP responses about the current key's
				 * certificates are signed by the CA key
				 * itself (mica serve --ocsp-signer ca), not
				 * by the delegated responder */

/* Open the CA in DATADIR. With CA_OPEN_UNLOCK the passphrase comes from
 * PASSPHRASE_FILE if not NULL, else $MICA_PASSPHRASE, else DATADIR/passphrase;
 * a passphrase file readable by group or others is refused, as are a data
 * directory and a database group or others may access (MICA_E_FORBIDDEN
 * "insecure_permissions"). Wrong passphrase -> MICA_E_UNAUTH. */
int ca_open(const char *datadir, int flags, const char *passphrase_file,
	    struct ca **out, struct mica_err *err);
/* A new handle for another thread: own connection, shared key and caches. */
int ca_clone(struct ca *parent, struct ca **out, struct mica_err *err);
void ca_close(struct ca *ca);
/* For a long-running process with many threads (the daemon): from now on
 * every handle sharing CA's data directory hands its store writes to one
 * writer connection that commits them in batches (group commit, led by
 * the callers themselves: db/writer.c); the last ca_close() closes it.
 * Call once, before the other threads start. */
int ca_batch_writes(struct ca *ca, struct mica_err *err);
/*
 * For the daemon: from now on every handle sharing CA's data directory
 * signs its CRLs ahead (the snapshot's read, the encoding, the body's
 * write and sync: seconds of CPU at a million entries) on a thread of
 * their own, MICA_THREAD_BACKGROUND_NICE steps below the caller's CPU
 * priority (util/thread.h), while the caller waits; the caller then
 * stores them at its own priority. Issuance and downloads on the same
 * cores go first, and the lower-priority thread never holds the write
 * lock or leads a group commit that others wait for; the caller keeps the
 * CRL lock meanwhile, so another publication, revocation or superseding
 * renewal in this process waits for it (as for any CRL being signed).
 * Where no thread can be started, the caller signs them itself, as
 * without this; ca_crl_publish_now always does.
 */
void ca_crl_background(struct ca *ca);

/*
 * Open the CA in DATADIR for `mica serve`: like ca_open() with
 * CA_OPEN_UNLOCK, except that the key is unsealed only in a separate keeper
 * process that starts NSIGNERS (0: one per core) confined signer processes
 * (ca/signer.h); this process never holds it. The passphrase is read as
 * ca_open() reads it, handed over at the fork and wiped. The caller must
 * have no other threads yet (this forks). Errors as ca_open(), and
 * MICA_E_FORBIDDEN "domains_not_sealed" when the allowed domains in the
 * store were changed without the CA key. FLAGS: 0 or CA_OPEN_OCSP_BY_CA
 * (the signers then let the current CA key sign OCSP responses).
 */
int ca_open_serve(const char *datadir, const char *passphrase_file,
		  int nsigners, int flags, struct ca **out,
		  struct mica_err *err);
/* 1 while CA can sign (its signers' keeper lives, or the key is here), 0
 * when the signing service is gone for good (the daemon should stop). */
int ca_signer_ok(struct ca *ca);
/* How long (ms) the oldest signature request in flight (a certificate,
 * an OCSP response, a SCEP reply: not a CRL) has waited for its signer;
 * 0 if none. */
int64_t ca_signer_stall_ms(struct ca *ca);
/* A stopping daemon: the signature requests of that kind in flight fail
 * now, and later ones at once (a stopped signer would hold the stop for
 * the signer timeout); CRLs are still signed. For good. */
void ca_signer_give_up(struct ca *ca);
/* Raise SIGNO in this process as soon as the signing service is found
 * gone (ca_signer_ok() then 0), so a main loop waiting for signals stops
 * at once. No effect on a handle without signers. */
void ca_signer_on_loss(struct ca *ca, int signo);

/* Does the store answer, is it still private, and has its disk room?
 * ca_perm_check(), a real query on this handle's connection, then the
 * free space of the store's file system: under
 * CA_STORE_ROOM_MIN (what an unprivileged user may use) or
 * CA_STORE_INODES_MIN free inodes is MICA_E_UNAVAIL "disk_full" (for a
 * health check: issuance, revocation and CRLs fail or soon will). */
/* Has a newer mica upgraded the store under this handle (the daemon of
 * an older one still running)? 1 or 0. */
int ca_schema_newer(struct ca *ca);
#define CA_STORE_ROOM_MIN (1024 * 1024)
#define CA_STORE_INODES_MIN 16
int ca_store_check(struct ca *ca, struct mica_err *err);

/* Are the data directory (mode 0700 or stricter) and the store's files
 * (0600) still private to their owner? ca_open() refuses them otherwise
 * (MICA_E_FORBIDDEN "insecure_permissions"); a long-running process calls
 * this from its timer to notice a mode loosened while it runs. Found
 * loosened: every handle sharing CA's state refuses to issue
 * (MICA_E_UNAVAIL "insecure_store") until a later call finds them private
 * again; the change is logged once each way. Returns 0, or -1 with
 * MICA_E_UNAVAIL "insecure_store" (or another store error). Stats a few
 * files; no store query. Thread-safe. */
int ca_perm_check(struct ca *ca, struct mica_err *err);

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
	char actor[96];             /* for audit: "cli:USER", "admin:ID", "enroll:ID", "anon@IP" */
	char client[64];            /* client address or "local" */
	/* enrollment scope (copied from the token) */
	char *scope_profile;        /* NULL = any */
	char **scope_names;         /* NULL = any within the CA's domains */
	size_t nscope_names;
};

/* The local command line: every power, its audit actor ca_cli_actor(). */
void ca_principal_cli(struct ca_principal *p);
/* The local process itself with every power, recorded in the audit as
 * ACTOR ("daemon", "acme:<account>"): no user name looked up. */
void ca_principal_local(struct ca_principal *p, const char *actor);
/*
 * The audit actor of the command line: "cli:" and the effective user's
 * name from the system ("cli:#UID" without one), then " (sudo NAME)" when
 * SUDO_USER names who ran sudo (DOAS_USER: " (doas NAME)"), as in
 * "cli:root (sudo alice)". A name is shown with every byte but letters,
 * digits and "._-@$" as \xNN, and cut to 40 bytes ("..." at its end),
 * so the whole fits CA_CLI_ACTOR_MAX with its NUL. Static storage, made at
 * the first call (getpwuid): for the command line, not a daemon's threads.
 * Every actor of the command line starts with "cli:"; the others never do.
 */
#define CA_CLI_ACTOR_MAX 96
const char *ca_cli_actor(void);
void ca_principal_anon(struct ca_principal *p, const char *client);
/* Check a bearer token ("mica_<id>_<secret>"): known, not revoked, not
 * expired, secret matching (constant time over SHA-256 hashes). MICA_E_UNAUTH
 * ("bad_token") for any failure, the same message whatever the cause. Uses
 * are consumed only when a certificate is issued. A token's last_used_at
 * is kept: an admin token's here, to the minute; an enrollment token's by
 * the issuance that consumes a use. */
int ca_authenticate(struct ca *ca, const char *token, const char *client,
		    struct ca_principal *out, struct mica_err *err);
void ca_principal_free(struct ca_principal *p);

/* -------------------------------------------------------- issuance -- */

struct ca_on_record;

struct ca_submit {
	const unsigned char *csr;     /* PEM, base64 or DER */
	size_t csr_len;
	const char *profile;          /* default "server" */
	int days;                     /* 0 = profile default */
	const char *const *names;     /* override the CSR's names (admin/CLI) */
	size_t nnames;
	/* The engine's own protocols (ca_int.h): NULL everywhere else. */
	const struct ca_on_record *on_record;
};

struct ca_issued {
	char request_id[CA_ID_MAX];   /* "" for direct CLI issuance */
	int status;                   /* CA_REQ_PENDING / ISSUED / DENIED */
	char serial[CA_SERIAL_MAX];
	unsigned char *der; size_t der_len;   /* certificate, heap */
	int key_idx;                  /* the CA key that signed it (its chain:
				       * ca_issued_chain_pem) */
	int64_t not_before, not_after;
	int clamped;                  /* validity was cut to the CA's notAfter */
	char notice[400];             /* e.g. why validity was clamped */
	char warning[320];            /* sign-ca: what relying parties will
				       * miss (no CRL, no caIssuers); "" */
	int again;                    /* sign-ca: signed before for this same
				       * request, handed back, not signed anew */
	/* ca_request_status only (0 elsewhere): whether the certificate
	 * was revoked since (on hold too), when, why (RFC 5280 CRLReason)
	 * and from when it was invalid (0: not said), so whoever polls a
	 * request learns that what it got must no longer be installed. */
	int revoked;
	int64_t revoked_at;
	int reason;
	int64_t invalid_at;
};
void ca_issued_free(struct ca_issued *r);

/* Submit a CSR. ADMIN/CLI and ENROLL (within scope, consuming one use)
 * principals get a certificate at once; ANON gets a pending request (after
 * the same validation, so hopeless requests are refused at submission):
 * the one already pending for the same CSR (the same DER) and profile if
 * there is one, else a new one - unless P's client already has
 * CA_PENDING_PER_CLIENT pending (MICA_E_RATE "too_many_pending_from_client")
 * or CA_PENDING_MAX are pending (MICA_E_RATE "too_many_pending").
 * Refused input stores nothing and signs nothing. */
int ca_submit_csr(struct ca *ca, const struct ca_principal *p,
		  const struct ca_submit *s, struct ca_issued *out,
		  struct mica_err *err);

enum ca_req_status { CA_REQ_PENDING = 0, CA_REQ_ISSUED = 1, CA_REQ_DENIED = 2 };

struct ca_request {
	char id[CA_ID_MAX];           /* unguessable */
	int status;                   /* enum ca_req_status */
	char *profile;
	unsigned char *csr_der; size_t csr_len;
	char *names;                  /* '\n'-separated, as checked at submission */
	char *subject;                /* display form of the CSR subject */
	int days;                     /* requested validity, 0 = profile default */
	char *client;                 /* submitter address or "cli" */
	int64_t submitted_at, decided_at;
	char *decided_by;             /* NULL while pending */
	char *deny_reason;            /* NULL unless denied */
	char serial[CA_SERIAL_MAX];   /* "" unless issued */
};
void ca_request_free(struct ca_request *r);
void ca_request_array_free(struct ca_request *a, size_t n);

/* Where a page of a listing ends and the next starts: ID the last row's
 * id (0: the first page). Certificates (ca_cert_list): in the expiry
 * orders KEYED 1 and KEY its notAfter. Requests (ca_request_list) and
 * tokens (ca_token_list): ID the last row's place in the order recorded.
 * Hand it back as it came. */
struct ca_cursor {
	int64_t id;
	int64_t key;
	int keyed;
};

/* Request status by id (anyone who knows the unguessable id). If issued,
 * out->der holds the certificate and out->revoked (with revoked_at,
 * reason, invalid_at) says whether it was revoked since. REQ gets the
 * request. */
int ca_request_status(struct ca *ca, const char *id, struct ca_issued *out,
		      struct ca_request *req, struct mica_err *err);
/* Admin: requests of STATUS (-1 for all), in the order recorded (oldest
 * first): one page of at most LIMIT (1..1000) after AFTER (NULL or id 0:
 * from the first; MICA_E_BADREQ "bad_cursor" for a certificate listing's
 * expiry cursor); *NEXT
 * where the next page starts (id 0: none follows). Free *OUT with
 * ca_request_array_free. */
int ca_request_list(struct ca *ca, const struct ca_principal *p, int status,
		    const struct ca_cursor *after, int limit,
		    struct ca_request **out, size_t *n, struct ca_cursor *next,
		    struct mica_err *err);
/* Admin: approve pending request ID: the policy checked again, the
 * certificate issued into OUT (request_id, serial, DER...). A request
 * decided already is MICA_E_CONFLICT "already_decided", and then too OUT
 * says what it became: status CA_REQ_ISSUED with the serial of its
 * certificate (no DER: the caller fetches it by serial), or
 * CA_REQ_DENIED; the message names the serial. */
int ca_request_approve(struct ca *ca, const struct ca_principal *p,
		       const char *id, struct ca_issued *out,
		       struct mica_err *err);
/* Admin: deny a pending request. REASON (free text, ca_text_check) is
 * recorded as given; NULL or "" is recorded as CA_DENY_REASON_DEFAULT,
 * which is what a later status shows and what a reply should say. */
#define CA_DENY_REASON_DEFAULT "denied"
int ca_request_deny(struct ca *ca, const struct ca_principal *p, const char *id,
		    const char *reason, struct mica_err *err);

/* Renewal without a token proves possession of the old key freshly: a
 * CSR is no secret, so a copy of it proves nothing. The client first asks
 * for a one-time nonce for the certificate and signs it into its renewal
 * CSR as the challengePassword attribute (PKCS#9, RFC 2985 5.4.1). */
#define CA_CHALLENGE_LEN        32    /* hex characters of a nonce (128 bits) */
#define CA_CHALLENGE_TTL        600   /* seconds a nonce lives */
#define CA_CHALLENGES_PER_CERT  8     /* live nonces kept per certificate; a
				       * new one pushes out the oldest */

/* A fresh nonce for renewing SERIAL (anyone may ask: it grants nothing
 * by itself). SERIAL must be a signed certificate, not revoked, not
 * expired (MICA_E_NOTFOUND, MICA_E_CONFLICT "not_issued", "revoked",
 * "expired"). NONCE gets CA_CHALLENGE_LEN lowercase hex digits, usable
 * once, until *EXPIRES_AT; the store keeps only its SHA-256. */
int ca_renew_challenge(struct ca *ca, const char *serial,
		       char nonce[CA_CHALLENGE_LEN + 1], int64_t *expires_at,
		       struct mica_err *err);

/* Renew SERIAL: same names and profile. CSR NULL reuses the old public key
 * (admin/CLI only). FLAGS: CA_RENEW_SUPERSEDE, CA_RENEW_FORCE. With a CSR,
 * an admin may always renew, but a revoked certificate only with
 * CA_RENEW_FORCE (else MICA_E_CONFLICT "revoked", naming the date and
 * reason; the renewal's cert.renew audit says it was forced), and one
 * revoked for key compromise never with its old key (MICA_E_POLICY
 * "key_compromised"); otherwise the old certificate must be valid and not
 * revoked (MICA_E_CONFLICT "revoked" / "expired"), and:
 *  - a CSR for the same key whose challengePassword is a live nonce of
 *    ca_renew_challenge() for SERIAL is a fresh proof of possession: anyone
 *    may renew, no token is used, and the nonce is consumed in the
 *    transaction that records the renewal (a used, expired, unknown or
 *    foreign nonce: MICA_E_FORBIDDEN "bad_proof");
 *  - without that proof, an ENROLL token covering the names renews (one
 *    use, for the same key or a new one); anyone else gets MICA_E_UNAUTH
 *    "proof_required" (same key) or "token_required" (new key).
 * SUPERSEDE revokes the old certificate with reason superseded, audited as
 * cert.revoke in the same transaction: only for an admin or after the
 * fresh proof (else MICA_E_FORBIDDEN / MICA_E_UNAUTH "proof_required"). */
#define CA_RENEW_SUPERSEDE 1
#define CA_RENEW_FORCE     2
int ca_renew(struct ca *ca, const struct ca_principal *p, const char *serial,
	     const unsigned char *csr, size_t csr_len, int days, int flags,
	     struct ca_issued *out, struct mica_err *err);

/* A renewal of SERIAL whose caller has verified a signature made by the
 * old certificate's key over this very request (SCEP's RenewalReq, RFC
 * 8894 3.3.1.2: the pkiMessage is signed with the certificate being
 * renewed): the proof of possession ca_renew gets from a renewal
 * challenge, without one. Same names and profile, the key of CSR (new or
 * old), no token used, never superseding; the old certificate must be
 * valid and not revoked, and every other rule of ca_renew holds. */
int ca_renew_proved(struct ca *ca, const struct ca_principal *p,
		    const char *serial, const unsigned char *csr,
		    size_t csr_len, const struct ca_on_record *rec,
		    struct ca_issued *out, struct mica_err *err);

/* Issue a certificate of PROFILE for a key the caller holds (the daemon's
 * own TLS certificate): admin/CLI only, decided by the same policy as any
 * issuance (the profile's days, name kinds and key rules), which lets
 * this certificate alone name "localhost" (see daemon_tls in
 * ca/profile.h). DNS names not under an allowed domain are left out (and
 * logged): the machine's own names need not be. DAYS 0: the profile
 * default. The certificate the daemon had before (recorded in the store)
 * becomes one this one renews, if it is still current - its key is gone,
 * and "what expires soon" leaves renewed certificates out - and this one
 * is recorded as the daemon's, in the commit that stores it: a daemon
 * killed before it serves it leaves no certificate unaccounted for. */
int ca_issue_for_spki(struct ca *ca, const struct ca_principal *p,
		      const char *profile, const unsigned char *spki,
		      size_t spki_len, const char *const *names, size_t nnames,
		      int days, struct ca_issued *out, struct mica_err *err);
/* SERIAL was issued for the daemon (ca_issue_for_spki), which could not
 * serve it and has wiped its key: revoked (cessationOfOperation), so that
 * it neither waits among what expires soon for a renewal nobody will make
 * nor counts as a renewal of what the daemon still serves; the one it
 * renewed is no longer linked to it and is recorded as the daemon's
 * again. Admin/CLI only. */
int ca_tls_abandon(struct ca *ca, const struct ca_principal *p,
		   const char *serial, struct mica_err *err);

/* ------------------------------------------------------- revocation -- */

/* RFC 5280 5.3.1 CRLReason: the reasons a certificate may be revoked
 * with. 7 is not assigned, and removeFromCRL (8) only exists in delta
 * CRLs, which mica does not publish: neither is a reason here. */
enum ca_reason {
	CA_REASON_UNSPECIFIED          = 0,
	CA_REASON_KEY_COMPROMISE       = 1,
	CA_REASON_CA_COMPROMISE        = 2,
	CA_REASON_AFFILIATION_CHANGED  = 3,
	CA_REASON_SUPERSEDED           = 4,
	CA_REASON_CESSATION            = 5,   /* cessationOfOperation */
	CA_REASON_HOLD                 = 6,   /* certificateHold */
	CA_REASON_PRIVILEGE_WITHDRAWN  = 9,
	CA_REASON_AA_COMPROMISE        = 10,
};
#define CA_REASON_MAX 10

/* The one definition of the set above: 1 if REASON is in it, else 0. */
int ca_reason_valid(int reason);
/* A reason from its RFC 5280 name ("keyCompromise", case-insensitive);
 * -1 unless ca_reason_valid() holds for it. */
int ca_reason_parse(const char *s);
/* The RFC 5280 name of REASON, "unknown" if it has none. */
const char *ca_reason_name(int reason);
/* Whether a revocation for REASON (negative: none given) condemns the
 * key, which is then never certified again: keyCompromise always; for a
 * CA certificate (CA_CERT) every reason but those that say nothing ill of
 * it - affiliationChanged, superseded, cessationOfOperation,
 * certificateHold, privilegeWithdrawn. */
int ca_reason_condemns_key(int reason, int ca_cert);
/* Whether a certificate revoked for REASON may have it raised to
 * keyCompromise when its key is found compromised later (RFC 5280 5.3.1;
 * CA/B Forum BR 7.2.2 allows the update): the reasons that say nothing
 * of the key - unspecified, affiliationChanged, superseded,
 * cessationOfOperation, privilegeWithdrawn. Not keyCompromise itself,
 * cACompromise or aACompromise (which say it already), nor
 * certificateHold (a hold is revoked for good by any reason, dated then).
 * db_cert_same_key's query lists the same set. */
int ca_reason_raisable(int reason);

/* Revoke with REASON (ca_reason_valid, else MICA_E_BADREQ) and publish a
 * new CRL. A certificate revoked already is a MICA_E_CONFLICT
 * "already_revoked" - except one on hold (revoked for good, dated now)
 * and, for keyCompromise, one revoked for a reason ca_reason_raisable
 * allows: its reason is raised to keyCompromise, its revocation date
 * kept (moving it later would extend the trust of what the key signed
 * meanwhile), its key listed and its other certificates revoked or
 * raised, published in a complete CRL (a delta lists revocations by
 * date and would miss it) and audited as cert.revoke "keyCompromise
 * (raised from REASON)". */
int ca_revoke(struct ca *ca, const struct ca_principal *p, const char *serial,
	      int reason, struct mica_err *err);
/* Serials (lowercase hex), as ca_revoke_all returns them. */
struct ca_serials {
	char (*v)[CA_SERIAL_MAX];
	size_t n;
};
void ca_serials_free(struct ca_serials *s);
struct ca_crl;   /* below, with the CRLs */
/* As ca_revoke. For keyCompromise every other certificate of the same
 * key (being signed, valid or on hold, not expired) is revoked too, in
 * the same transaction and CRL; ALSO (may be NULL) receives their serials
 * (ca_serials_free). ca_revoke does the same and does not say. CRL (may
 * be NULL) gets the CRL published with it that lists it, that of the key
 * that signed the certificate (a key a rollover retired, maybe): its
 * number and delta_base (a delta CRL, when the CA makes them), no DER. RAISED_FROM
 * (may be NULL) gets the reason a keyCompromise raised SERIAL's from
 * (ca_revoke), -1 for a revocation. INVALID_AT (0: not said) is when the
 * certificate became invalid (RFC 5280 5.3.2 invalidityDate, in its CRL
 * entries): not after now (nor, for a raised reason, after the revocation
 * date kept), never with certificateHold - else MICA_E_POLICY
 * "bad_invalidity_date". For keyCompromise the key's other certificates
 * take it too, where it is not after their own revocation date and
 * earlier than the one they have; a date stored only moves earlier. */
int ca_revoke_all(struct ca *ca, const struct ca_principal *p,
		  const char *serial, int reason, int64_t invalid_at,
		  struct ca_serials *also, struct ca_crl *crl, int *raised_from,
		  struct mica_err *err);
/* INVALID_AT of ca_revoke_all, from its text S: an RFC 3339 time in UTC,
 * "2026-12-01T10:00:00Z" (no fraction, no offset), or a date,
 * "2026-12-01" (its 00:00:00Z). Malformed (or a day that does not
 * exist): MICA_E_BADREQ "bad_invalidity_date"; not after 1970:
 * MICA_E_POLICY, the same code. */
int ca_invalidity_parse(const char *s, int64_t *out, struct mica_err *err);
/* As ca_revoke, but only SERIAL even for keyCompromise (the key still goes
 * on the list of keys never certified again): for a caller that has not
 * shown the key compromised, as an ACME account that is not the key. */
int ca_revoke_one(struct ca *ca, const struct ca_principal *p,
		  const char *serial, int reason, struct mica_err *err);
/* Delta CRLs (RFC 5280 5.2.4), off until turned on: every HOURS (1..
 * CA_DELTA_HOURS_MAX) a delta CRL per key, numbered in the same series,
 * lists what was revoked since that key's latest complete CRL (which
 * names it: Freshest CRL, URL/delta.crl or URL/delta.crl/N), and a
 * revocation publishes a delta instead of a complete CRL. Setting the
 * period (0: off) publishes complete CRLs at once, then a delta (turned
 * off: a last one, valid a CRL period or, if later, until the last
 * complete CRL stored that may name it ends, for those CRLs).
 * Admin only. */
#define CA_DELTA_HOURS_MAX 168
struct ca_crl;
int ca_crl_set_delta_hours(struct ca *ca, const struct ca_principal *p,
			   int hours, struct mica_err *err);
/* The period, 0 when off. */
int ca_crl_delta_hours(struct ca *ca, int *hours, struct mica_err *err);
/* Publish every key's delta CRL now (MICA_E_CONFLICT "no_delta_crls"
 * when off); OUT (may be NULL) gets the current key's. */
int ca_crl_publish_delta(struct ca *ca, const struct ca_principal *p,
			 struct ca_crl *out, struct mica_err *err);
/* Key KEY_IDX's latest delta CRL; MICA_E_NOTFOUND if none (or the CA
 * turned deltas off and the last one has expired). */
int ca_crl_delta_current_key(struct ca *ca, int key_idx, struct ca_crl *out,
			     struct mica_err *err);
/* For the daemon's clock: publish the deltas when the current key's
 * latest is older than its complete CRL or half-way to its nextUpdate.
 * *PUBLISHED 1 if it did. */
int ca_crl_delta_maintain(struct ca *ca, int *published,
			  struct mica_err *err);
/* Only from certificateHold; publishes a new CRL. */
int ca_unrevoke(struct ca *ca, const struct ca_principal *p,
		const char *serial, struct mica_err *err);
/* ca_unrevoke, and CRL (may be NULL) gets the number and dates of the
 * CRL that says so (its der NULL): the complete CRL of the key that
 * signed the certificate, or with delta_base > 0 the delta on it. */
struct ca_crl;
int ca_unrevoke_crl(struct ca *ca, const struct ca_principal *p,
		    const char *serial, struct ca_crl *crl,
		    struct mica_err *err);

struct ca_crl {
	int64_t number;               /* cRLNumber */
	int64_t this_update, next_update;
	unsigned char *der; size_t der_len;   /* NULL from ca_crl_info */
	int64_t delta_base;           /* a delta CRL: the number of the
				       * complete CRL it completes (RFC 5280
				       * 5.2.4); 0: a complete CRL */
};
void ca_crl_free(struct ca_crl *crl);

/* Publish a new CRL now (number incremented in the same transaction). OUT
 * may be NULL. */
int ca_crl_publish(struct ca *ca, const struct ca_principal *p,
		   struct ca_crl *out, struct mica_err *err);
/* The same, signed on the caller's thread at its priority even after
 * ca_crl_background: for a caller that others wait for meanwhile (a
 * request that found the CRL expired, holding the CRL cache). */
int ca_crl_publish_now(struct ca *ca, const struct ca_principal *p,
		       struct ca_crl *out, struct mica_err *err);
/* The current CRL (the stored copy, never signed per call). MICA_E_NOTFOUND
 * if none was published. */
int ca_crl_current(struct ca *ca, struct ca_crl *out, struct mica_err *err);
/* Its number and dates only (der NULL): cheap for a CRL of tens of
 * megabytes. */
int ca_crl_info(struct ca *ca, struct ca_crl *out, struct mica_err *err);

/* ----------------------------------------------------------- queries -- */

/* Canonical serial from user text: hex with optional ':' separators and
 * "0x" prefix, case-insensitive, 1..40 hex digits -> lowercase, even length,
 * no redundant leading "00" pairs. MICA_E_BADREQ "bad_serial". */
int ca_serial_parse(const char *in, char out[CA_SERIAL_MAX],
		    struct mica_err *err);

enum ca_cert_status {
	CA_CERT_ISSUING = 0,   /* recorded before signing; no DER (yet) */
	CA_CERT_VALID   = 1,   /* signed and recorded; may be expired by date */
	CA_CERT_REVOKED = 2,
};

struct ca_cert {
	int64_t id;                   /* stable listing order, the list cursor */
	char serial[CA_SERIAL_MAX];   /* lowercase hex, even length */
	char *profile;
	char *subject;                /* display form, e.g. "CN=mail.contoso.test" */
	char *names;                  /* '\n'-separated, as in the SAN */
	char *request_id;             /* NULL if issued directly */
	int64_t not_before, not_after;
	unsigned char *der; size_t der_len;  /* NULL while issuing, and in lists */
	unsigned char spki_sha256[32];       /* SHA-256 of SubjectPublicKeyInfo */
	int status;                   /* enum ca_cert_status */
	int64_t revoked_at;           /* 0 unless revoked */
	int reason;                   /* RFC 5280 CRLReason, -1 unless revoked */
	int64_t invalid_at;           /* invalidity date (RFC 5280 5.3.2) of a
				       * revoked one, 0 if none was given */
	char renewal_of[CA_SERIAL_MAX];   /* "" if none */
	char renewed_by[CA_SERIAL_MAX];   /* "" if none */
	int renewed;                  /* a certificate still valid renewed it:
				       * renewed_by, or one that renewed that
				       * in turn (as of the listing's now;
				       * ca_cert_get: now) */
	int64_t created_at;
	int key_idx;                  /* the CA key that signed it (its chain:
				       * ca_key_chain_pem) */
};
void ca_cert_free(struct ca_cert *c);
void ca_cert_array_free(struct ca_cert *a, size_t n);
/* The profile of a certificate known only from a CRL of this CA that
 * listed it (ca/carry.c: restore --crl, revoke --from-crl): revoked, with
 * no body, subject, names or key (its spki_sha256 is a stand-in, unique,
 * never shown), its dates those carry.c gave it. */
#define CA_PROFILE_FROM_CRL "from-crl"
static inline int
ca_cert_from_crl(const struct ca_cert *c)
{
	return c->der == NULL && c->profile != NULL &&
	       strcmp(c->profile, CA_PROFILE_FROM_CRL) == 0;
}


struct ca_cert_filter {
	int status;              /* -1 any; CA_CERT_*; or CA_FILTER_EXPIRED /
				  * CA_FILTER_CURRENT (valid and not expired) */
	int64_t now;             /* reference time for expiry filters */
	int64_t expiring_before; /* 0 none; else not_after < this and > now,
				  * and not renewed (struct ca_cert); with
				  * status -1, valid ones only */
	const char *name;        /* NULL none; a name exactly, or "prefix*"
				  * (ASCII case-insensitive) */
	const char *token_id;    /* NULL none; the id of the enrollment token
				  * whose uses issued them (any case; a
				  * whole token is refused, never echoed) */
	struct ca_cursor cursor;   /* all zero: the first page */
	int limit;               /* 1..1000 */
	int64_t scan_max;        /* 0, or bound the walk (db_cert_filter) */
};
#define CA_FILTER_EXPIRED 10
#define CA_FILTER_CURRENT 11

struct ca_counts {
	int64_t issuing, valid, revoked, expired, pending_requests;
};

struct ca_audit {
	int64_t id;
	int64_t at;
	char *actor;    /* "cli:USER", "admin:<token id>", "enroll:<token id>", "anon@ip" */
	char *action;   /* "cert.issue", "cert.revoke", "token.create", ... */
	char *target;   /* serial, request id, token id; may be NULL */
	char *detail;   /* short free text; never a secret */
};
void ca_audit_array_free(struct ca_audit *a, size_t n);

/* Admin: one certificate, with its DER once signed. */
int ca_cert_get(struct ca *ca, const struct ca_principal *p,
		const char *serial, struct ca_cert *out, struct mica_err *err);
/* Admin: certificates matching F, one page, without DER: soonest expiry
 * first with expiring_before, most recently expired first with
 * CA_FILTER_EXPIRED, else newest first (db_cert_list says what each
 * costs). Free *OUT with ca_cert_array_free. *NEXT is all zero when there
 * are no more rows; MICA_E_BADREQ "bad_cursor" for a cursor of another
 * order. */
int ca_cert_list(struct ca *ca, const struct ca_principal *p,
		 const struct ca_cert_filter *f, struct ca_cert **out,
		 size_t *n, struct ca_cursor *next, struct mica_err *err);
/* Certificates and pending requests by status, now. */
int ca_counts(struct ca *ca, struct ca_counts *out, struct mica_err *err);
/* Admin: audit rows with at >= SINCE (and id < BEFORE_ID if > 0), newest
 * first; free *OUT with ca_audit_array_free. */
int ca_audit_list(struct ca *ca, const struct ca_principal *p, int64_t since,
		  int64_t before_id, int limit, struct ca_audit **out,
		  size_t *n, struct mica_err *err);

/* The root certificate at the top of this CA's chain (for a single-tier
 * CA its own certificate; NULL while awaiting one). Cached; owned by the
 * handle. */
const unsigned char *ca_root_der(struct ca *ca, size_t *len);
const char *ca_root_pem(struct ca *ca);
const char *ca_root_fingerprint(struct ca *ca);  /* "AB:CD:..." SHA-256 */
/* This CA's own certificate: the issuing CA that signs certificates (the
 * root itself for a single tier); NULL while awaiting it. */
const unsigned char *ca_cert_der(struct ca *ca, size_t *len);
const char *ca_cert_pem(struct ca *ca);
/* The chain from this CA's certificate up: [0] its own, then each issuer
 * below the root, then any cross-certificates, then the self-signed root
 * (after the crosses, so that a device with only an older root follows a
 * cross-certificate). Count 0 while awaiting. */
size_t ca_chain_count(struct ca *ca);
const unsigned char *ca_chain_der(struct ca *ca, size_t i, size_t *len);
/* All of them, PEM, concatenated in that order. */
const char *ca_chain_pem(struct ca *ca);
/* The chain to hand out with a certificate the CA key KEY_IDX signed:
 * ca_chain_pem for the current key; for a key a rollover retired, its CA
 * certificate and the chain stored with it, in the same order (what that
 * certificate verified with when it was issued). Owned by the handle;
 * NULL for a key this CA does not have. */
const char *ca_key_chain_pem(struct ca *ca, int key_idx);
/* The chain to hand out with IS's certificate: ca_key_chain_pem of the key
 * that signed it; NULL (none rather than a wrong one, as ACME's download)
 * for a key this handle does not know - a daemon started before a
 * rollover made on the command line, until it restarts. */
const char *ca_issued_chain_pem(struct ca *ca, const struct ca_issued *is);
/* All of them as a PKCS#7 certs-only message (a .p7b: what Windows and
 * IIS import). *OUT heap. */
int ca_chain_p7b(struct ca *ca, unsigned char **out, size_t *len,
		 struct mica_err *err);

/* One certificate with its chain, as one file a server imports. */
enum ca_bundle_form {
	CA_BUNDLE_PEM = 1,   /* PEM: the certificate, then its chain in
			      * ca_key_chain_pem's order (the issuing CA
			      * first, the self-signed root last) */
	CA_BUNDLE_P7B = 2,   /* the same certificates as a PKCS#7 certs-only
			      * message (ca_p7_encode: DER sorts them) */
};
/* The certificate DER[0..DER_LEN) that the CA key KEY_IDX signed, with
 * that key's chain (ca_key_chain_pem: for a key a rollover retired, its
 * CA certificate and the chain it had), root included, in FORM. *OUT
 * heap (a PEM one NUL-terminated, *OUT_LEN without the NUL).
 * MICA_E_UNAVAIL "chain_unavailable" for a key this handle does not know
 * (a daemon started before a rollover made on the command line): never a
 * certificate without its chain, nor with another key's. */
int ca_bundle(struct ca *ca, const unsigned char *der, size_t der_len,
	      int key_idx, int form, unsigned char **out, size_t *out_len,
	      struct mica_err *err);
/* Whether C (from ca_cert_get) has certificate bytes to hand out: 0 if
 * so; MICA_E_CONFLICT "not_issued" for one recorded and never completed,
 * or known only from a CRL that listed it (ca_cert_from_crl). */
int ca_cert_body_check(const struct ca_cert *c, struct mica_err *err);
/* Admin: certificate SERIAL (as ca_cert_get takes it) with its chain,
 * ca_bundle in FORM; *SERIAL_OUT (may be NULL) its serial, canonical.
 * MICA_E_NOTFOUND "not_found", or ca_cert_body_check's refusal. */
int ca_cert_bundle(struct ca *ca, const struct ca_principal *p,
		   const char *serial, int form, char serial_out[CA_SERIAL_MAX],
		   unsigned char **out, size_t *out_len, struct mica_err *err);
/* Anyone who knows request ID (the id is the capability, as
 * ca_request_status): its certificate with its chain, ca_bundle in FORM,
 * once issued; *SERIAL_OUT (may be NULL) the certificate's serial.
 * MICA_E_BADREQ "bad_id", MICA_E_NOTFOUND "not_found", and
 * MICA_E_CONFLICT "request_pending" or "request_denied" while there is
 * no certificate. */
int ca_request_bundle(struct ca *ca, const char *id, int form,
		      char serial_out[CA_SERIAL_MAX], unsigned char **out,
		      size_t *out_len, struct mica_err *err);

enum ca_state_kind {
	CA_STATE_ACTIVE = 0,       /* has its certificate */
	CA_STATE_AWAITING = 1,     /* awaits its certificate (install-ca) */
	CA_STATE_ROOT_ONLY = 2,    /* an offline root */
};
int ca_state(struct ca *ca);
const char *ca_name(struct ca *ca);
const char *ca_public_url(struct ca *ca);
int64_t ca_not_after(struct ca *ca);
/* The earliest notAfter of this CA's certificate and of those above it up
 * to the root: what leaves, the OCSP responder's and the daemon's own
 * certificates are cut to (relying parties refuse them after it). */
int64_t ca_path_not_after(struct ca *ca);
/* Days before its end from which a CA or root certificate is warned of. */
#define CA_EXPIRY_WARN_DAYS 30
/* Room for ca_expiry_warning's sentence. */
#define CA_EXPIRY_WARNING_MAX 512
/* Whether this CA's certificate is near its end: 0 when it does not
 * expire within CA_EXPIRY_WARN_DAYS of NOW (BUF ""), 1 when it does, 2
 * when it has expired; BUF then holds one sentence for the admin saying
 * when, and what to do (renew-ca; for a root, a new root). A CA awaiting
 * its certificate: 0. */
int ca_expiry_warning(struct ca *ca, int64_t now, char *buf, size_t size);

/* --------------------------------------------------------- hierarchy -- */

/* The CA's key index a certificate of this CA was signed with is kept
 * with it; each key publishes its own CRL (ca_crl_current_key). */

/* The CRL of key KEY_IDX (0 is what /crl serves), as ca_crl_current and
 * ca_crl_info. */
int ca_crl_current_key(struct ca *ca, int key_idx, struct ca_crl *out,
		       struct mica_err *err);
int ca_crl_info_key(struct ca *ca, int key_idx, struct ca_crl *out,
		    struct mica_err *err);
/* The indexes of the keys that publish CRLs (the current key and those a
 * rollover retired) into IDX (CA_KEYS_MAX = 16 slots); returns how many. */
size_t ca_crl_keys(struct ca *ca, int idx[16]);
/* Whether the CRLs are due (ca_crl_publish makes those of every key at
 * once): *DUE 1 if a key of ca_crl_keys has no CRL yet, or if a key's
 * latest is due at NOW: half its period has gone by, or it is dated
 * further ahead of NOW than the clock may step back and the next CRL
 * still be dated after it (a clock set back: relying parties with the
 * right time would take it for not valid yet). A missing CRL is no
 * error; a store that cannot be read is. */
int ca_crl_due(struct ca *ca, int64_t now, int *due, struct mica_err *err);
/* *MISSING 1 if a key of ca_crl_keys has no CRL yet. */
int ca_crl_missing(struct ca *ca, int *missing, struct mica_err *err);
/* The CA certificate of key KEY_IDX (the current one or a retired one),
 * DER owned by the handle; NULL if there is none. */
const unsigned char *ca_key_cert(struct ca *ca, int key_idx, size_t *len);

/* Install this CA's certificate (CLI; the handle must be unlocked).
 * CERT and CHAIN are files' contents: PEM (one or several certificates),
 * DER, or a PKCS#7 .p7b as Windows' certreq returns (CERT may carry the
 * chain too). The certificate whose key is the one awaiting it (this
 * CA's while awaiting; a pending renewal's; or the current key's, for a
 * renewal without a new key) must be a CA certificate (cA, keyCertSign
 * and cRLSign), valid now, with name constraints mica can check, and
 * chain - issuer by issuer, each signature verified - to a self-signed
 * root given in CHAIN. It then becomes the CA's certificate: an awaiting
 * CA becomes active and publishes its first CRL; a renewal's new key
 * becomes the current key and the old one keeps signing the CRL of what
 * it issued. NOTICE (may be NULL, CA_NOTICE_MAX bytes) gets what the admin
 * should know (allowed domains outside the name constraints, what relying
 * parties will refuse...). Errors:
 * MICA_E_BADREQ "bad_certificate", "not_a_ca", "wrong_key",
 * "chain_incomplete", "bad_signature", "expired", "explicit_policy" (a
 * CA of the path requires a certificate policy of the leaves, which
 * mica's carry none of); MICA_E_UNSUPPORTED
 * "unsupported_name_constraints"; MICA_E_CONFLICT "root_only",
 * "not_awaiting" (nothing waits for a certificate of that key). A
 * running daemon must be restarted to sign with it. */
#define CA_NOTICE_MAX 2048
int ca_install_cert(struct ca *ca, const struct ca_principal *p,
		    const unsigned char *cert, size_t cert_len,
		    const unsigned char *chain, size_t chain_len,
		    char notice[CA_NOTICE_MAX], struct mica_err *err);

/* A request for this CA's next certificate (CLI; unlocked handle): with
 * NEW_KEY a fresh key of the current key's type (KEY_TYPE, NULL: the
 * same) is made and sealed under the CA's passphrase (read as ca_open
 * reads it, from PASSPHRASE_FILE if not NULL) as the pending renewal's;
 * PATH_LEN < 0 asks for the current certificate's; without it the
 * current key asks again (a renewal with the same key). A CA awaiting
 * its certificate gets its request again; a pending renewal's request is
 * handed out again (NEW_KEY or not). The subject is the current
 * certificate's. *CSR heap, DER. MICA_E_CONFLICT "root_only" for an
 * offline root, "is_root" for a self-signed root (a root is replaced by
 * a new one, cross-signed by the old: sign-ca --cross), "too_many_keys"
 * after CA_KEYS_MAX keys. */
int ca_renew_ca(struct ca *ca, const struct ca_principal *p, int new_key,
		const char *key_type, int path_len,
		const char *passphrase_file, unsigned char **csr,
		size_t *csr_len, struct mica_err *err);

/* What 'mica sign-ca' signs. */
struct ca_sign_ca_opts {
	const unsigned char *csr; size_t csr_len;    /* a CA's request (PEM,
						      * base64 or DER), or */
	const unsigned char *cert; size_t cert_len;  /* with CROSS, the other
						      * root's certificate */
	int days;               /* 0: 1825 (5 years); cut to this root's end */
	int path_len;           /* pathLenConstraint; -1: none */
	const char *const *permit;   /* permitted DNS subtrees; NULL: those
				      * the request asks for */
	size_t npermit;
	int cross;              /* cross-certify another root (no name
				 * constraints unless PERMIT) */
	const char *crl_url;    /* the CDP to name (the root's CRL); NULL:
				 * this root's public URL + /root.crl, else
				 * the one the request asks for */
	const char *aia_url;    /* caIssuers; NULL: likewise, /root.crt */
};

/* An offline root (or a single-tier mica root) signs a CA certificate
 * (CLI, in-process: the daemon's signers never sign one). Recorded like
 * any certificate (profile "subca" or "cross"), so that 'mica revoke'
 * and the root's CRL cover it. OUT gets it; OUT->notice says where the
 * CDP came from and whether the validity was cut; OUT->warning, when it
 * names no CRL or no caIssuers URL (no URL given, none on this root or
 * in the request), what relying parties lose by that - the same for a
 * cross-certificate and an issuing CA's, and also when the certificate
 * signed before is handed back again. MICA_E_POLICY
 * "no_name_constraints" when neither PERMIT nor the request names any
 * (a subordinate without them could certify any name); with CROSS,
 * MICA_E_POLICY "cross_limits" for a root whose other limits the
 * cross-certificate could not carry (extendedKeyUsage, policy
 * constraints, inhibitAnyPolicy, keyUsage without cRLSign);
 * MICA_E_CONFLICT "not_a_root" for a subordinate CA. */
int ca_sign_ca(struct ca *ca, const struct ca_principal *p,
	       const struct ca_sign_ca_opts *o, struct ca_issued *out,
	       struct mica_err *err);

/* Import a CRL of a CA above this one (the offline root's ARL, or an
 * intermediate's between it and this CA): DER or PEM, its signature
 * verified with that CA's certificate in this CA's chain, newer than the
 * last one imported of it, not expired. *NOTICE (may be NULL,
 * CA_NOTICE_MAX bytes) says if the path's CRLs revoke this CA's own
 * certificate or one above it: the CA then issues nothing
 * (ca_revoked_check). MICA_E_BADREQ "bad_crl", "bad_signature",
 * "unknown_issuer"; MICA_E_CONFLICT "crl_not_newer", "crl_expired". */
int ca_root_crl_import(struct ca *ca, const struct ca_principal *p,
		       const unsigned char *in, size_t len,
		       char notice[CA_NOTICE_MAX], struct mica_err *err);
/* 0 unless the newest CRL imported (by this process or another) of a CA
 * on the path - the root's, or an intermediate's - lists this CA's
 * current certificate or a certificate of the path above it that this
 * CA signed: then MICA_E_CONFLICT "ca_revoked", saying which, by whose
 * CRL, and what to do. Relying parties refuse everything such a CA
 * issues, so it issues nothing (ca_state_issue); a new certificate
 * installed (install-ca, a renew-ca rollover) lifts it, as does a newer
 * CRL without it (a hold released). Worked out once per set of CRLs:
 * the store is looked at for a newer one at most once a second, or now
 * when NOW is set. Other errors: the store's. */
int ca_revoked_check(struct ca *ca, int now, struct mica_err *err);
/* The latest imported CRL of the root at the top of the chain (served at
 * /root.crl). MICA_E_NOTFOUND "no_root_crl" if none was imported. */
int ca_root_crl_current(struct ca *ca, struct ca_crl *out,
			struct mica_err *err);
/* Whether that CRL, which relying parties fetch as the CDP of this CA's
 * own certificate, is near its nextUpdate (within a third of its period,
 * at most CA_EXPIRY_WARN_DAYS): 0 when not, or when this CA serves no
 * root's CRL (a single-tier CA, none imported, the store unreadable), or
 * its certificate names another CRL distribution point than its own
 * /root.crl (nobody fetches the copy there); 1
 * when it is, 2 when it has passed. BUF (CA_EXPIRY_WARNING_MAX) then holds
 * one sentence for the admin: when, and to import the next one. */
int ca_root_crl_warning(struct ca *ca, int64_t now, char *buf, size_t size);

/* ------------------------------------------------------------ tokens -- */

enum ca_token_kind { CA_TOKEN_ENROLL = 0, CA_TOKEN_ADMIN = 1 };

/* A token as stored: never its secret, nor the secret's hash. */
struct ca_token {
	char id[CA_ID_MAX];           /* public identifier (part of the token) */
	int kind;                     /* enum ca_token_kind */
	char *profile;                /* NULL = any profile (enroll) */
	char *names;                  /* '\n'-separated name patterns; NULL = any
				       * name within the CA's domains */
	int64_t uses_left;            /* -1 = unlimited */
	int64_t expires_at;           /* 0 = never */
	int64_t created_at;
	char *created_by;
	char *comment;
	int revoked;
	int64_t last_used_at;         /* 0 = never */
};
void ca_token_free(struct ca_token *t);
void ca_token_array_free(struct ca_token *a, size_t n);
/* A token's state at NOW, one word for the API and the command line alike:
 * "revoked", "expired", "used_up" or "active" (a static string). */
const char *ca_token_status(const struct ca_token *t, int64_t now);

struct ca_token_spec {
	int kind;                     /* CA_TOKEN_ENROLL or CA_TOKEN_ADMIN */
	const char *profile;          /* enroll: NULL = any */
	const char *const *names;     /* enroll: NULL = any within the domains */
	size_t nnames;
	int64_t uses;                 /* -1 unlimited; 0 = default (1 for
				       * enroll, unlimited for admin); at
				       * most CA_TOKEN_USES_MAX */
	int64_t expires_in;           /* seconds; 0 = never; at most
				       * CA_TOKEN_LIFE_MAX */
	const char *comment;
};
/* The longest a token may be made to live: ten years. */
#define CA_TOKEN_LIFE_MAX ((int64_t)3650 * 86400)
/* The most uses an enrollment token may be given (-1: unlimited). */
#define CA_TOKEN_USES_MAX 1000000000

/* Create a token; TOKEN receives the secret bearer string, shown once and
 * stored only as a hash. INFO (may be NULL) gets the stored token. */
int ca_token_create(struct ca *ca, const struct ca_principal *p,
		    const struct ca_token_spec *spec, char token[CA_TOKEN_MAX],
		    struct ca_token *info, struct mica_err *err);
/* Is there a name among NAMES (a token scope's) no certificate can be
 * issued for with a token: one under none of the CA's allowed domains
 * (or any, with none), or outside the CA certificate's name constraints?
 * 1 and the warning that names the first into OUT (CA_SCOPE_WARNING_MAX),
 * else 0. For a warning: the token is made all the same, as the domain
 * may be added later. */
#define CA_SCOPE_WARNING_MAX 512
int ca_token_scope_unreachable(struct ca *ca, const char *const *names,
			       size_t n, char *out, size_t size);
/* Which tokens ca_token_list gives. */
enum ca_token_filter {
	CA_TOKENS_ALL = 0,       /* every one, revoked and used up included */
	CA_TOKENS_ACTIVE = 1,    /* those ca_token_status calls "active" */
};
/* How many of the tokens neither revoked nor used up an ACTIVE listing
 * looks at per page: tokens left to expire unused do not make a request
 * walk them all. */
#define CA_TOKEN_SCAN_MAX 20000
/* Admin: tokens of FILTER, newest first (the order made, backwards): one
 * page of at most LIMIT (1..1000) after AFTER (NULL or id 0: from the
 * newest; MICA_E_BADREQ "bad_cursor" for a certificate listing's expiry
 * cursor). *NEXT is where the next page starts (id 0: none follows). An
 * ACTIVE page looks at no more than CA_TOKEN_SCAN_MAX tokens, so it may
 * be short, even empty, with a *NEXT to go on from. AFTER may point to
 * NEXT. Free *OUT with ca_token_array_free. */
int ca_token_list(struct ca *ca, const struct ca_principal *p, int filter,
		  const struct ca_cursor *after, int limit,
		  struct ca_token **out, size_t *n, struct ca_cursor *next,
		  struct mica_err *err);
/* Admin: revoke token ID (kept, for the audit trail). MICA_E_BADREQ
 * "bad_id" for an id that cannot be one, MICA_E_NOTFOUND "not_found" for
 * none, MICA_E_CONFLICT "already_revoked" for one revoked already. */
int ca_token_revoke(struct ca *ca, const struct ca_principal *p,
		    const char *id, struct mica_err *err);

/* ---------------------------------------------------- configuration -- */

/* Allowed domains. List: *out NULL-terminated, free with ca_strv_free. */
int ca_domain_list(struct ca *ca, char ***out, struct mica_err *err);
void ca_strv_free(char **v);
int ca_domain_add(struct ca *ca, const struct ca_principal *p,
		  const char *domain, struct mica_err *err);
int ca_domain_remove(struct ca *ca, const struct ca_principal *p,
		     const char *domain, struct mica_err *err);
/* 1 when the name constraints of this CA's certificate, or of one above
 * it, leave DOMAIN out: issuance refuses its names until a certificate
 * that permits it is installed. 0 otherwise (no constraints: a root, a
 * CA awaiting its certificate; a DOMAIN that does not parse). */
int ca_domain_outside_constraints(struct ca *ca, const char *domain);
/* The CA's public URL (the base of the CRL distribution point URL/crl,
 * the AIA's caIssuers URL/ca.crt and OCSP URL/ocsp of what it signs, of
 * its delta CRLs' Freshest CRL URL/delta.crl, sign-ca's defaults
 * URL/root.crl and URL/root.crt) and the validity of its CRLs in days,
 * as the store holds them now. *PUBLIC_URL heap ("" for an offline root
 * given none); not read when PUBLIC_URL is NULL. */
int ca_config_get(struct ca *ca, char **public_url, int *crl_days,
		  struct mica_err *err);
/* Change the public URL (PUBLIC_URL, NULL to keep it: an http:// or
 * https:// URL as 'mica init' takes one, else MICA_E_BADREQ "bad_url")
 * and the CRL validity (CRL_DAYS 1..365, 0 to keep it, else
 * MICA_E_BADREQ "bad_days") for what is signed from then on: what was
 * issued keeps the URLs it names. In one transaction, with an audit row
 * for each value that changed ("ca.public_url", "ca.crl_days": old ->
 * new); *CHANGED (may be NULL) says which (CA_CONFIG_URL,
 * CA_CONFIG_CRL_DAYS), 0 when both were as given. A new URL is refused
 * (MICA_E_CONFLICT "request_pending") while a request for this CA's
 * certificate is out, made with the URL it has. Admin only. Needs no
 * key: the CRL period counts at the next CRL signed, by any process (read
 * from the store then); the URL at the next open of the CA (a running
 * 'mica serve' goes on with the one it read at its start). */
#define CA_CONFIG_URL      0x1
#define CA_CONFIG_CRL_DAYS 0x2
int ca_config_set(struct ca *ca, const struct ca_principal *p,
		  const char *public_url, int crl_days, unsigned *changed,
		  struct mica_err *err);
/* 1 when the host of URL (a name or an address) is outside the name
 * constraints of this CA's certificate, or of one above it: the daemon's
 * HTTPS certificate cannot name it. 0 otherwise (no constraints; a host
 * that is no name a certificate takes, "localhost"). */
int ca_url_outside_constraints(struct ca *ca, const char *url);
/* Seal the allowed domains as they stand with the CA key (after 'mica
 * serve' refused a list changed without it, and an admin reviewed it).
 * Adding and removing seal too; all three need a handle opened with
 * CA_OPEN_UNLOCK (MICA_E_INTERNAL "ca_locked" otherwise). */
int ca_domain_seal(struct ca *ca, const struct ca_principal *p,
		   struct mica_err *err);
/* Effective validity of a profile (built-in unless overridden). */
int ca_profile_days(struct ca *ca, const char *profile, int *default_days,
		    int *max_days, struct mica_err *err);
/* Override a profile's default and maximum validity (1 <= def <= max <=
 * CA_PROFILE_DAYS_MAX). */
int ca_profile_set_days(struct ca *ca, const struct ca_principal *p,
			const char *profile, int default_days, int max_days,
			struct mica_err *err);

/* Re-seal the CA key under a new passphrase (read from NEW_FILE, which must
 * be 0600), with every other key sealed under it (those a rollover retired,
 * a pending renewal's, SCEP's RA key), in one transaction. The handle must
 * be open with CA_OPEN_UNLOCK | CA_OPEN_ALL_KEYS (old passphrase;
 * MICA_E_INTERNAL "ca_locked" otherwise). A fresh salt and nonce are drawn
 * for each; the old passphrase stops working. An RA key that no longer
 * opened with the old passphrase is left as it is (the next 'mica serve'
 * replaces it). */
/* The new passphrase must be one ca_init would take (at least 12
 * characters). When the old one was read from DATADIR/passphrase, that file
 * gets the new one (written beside it, synced, renamed over it once the
 * re-seal has committed): *DATADIR_FILE (if not NULL) says
 * CA_PASSFILE_UPDATED then, CA_PASSFILE_LEFT when that file exists but was
 * not where the old passphrase came from (it is left alone), else
 * CA_PASSFILE_NONE. */
enum { CA_PASSFILE_NONE = 0, CA_PASSFILE_UPDATED, CA_PASSFILE_LEFT };
int ca_passphrase_change(struct ca *ca, const struct ca_principal *p,
			 const char *new_file, int *datadir_file,
			 struct mica_err *err);

/* ------------------------------------------- revocations carried in -- */

/* A CRL file as read (DER, PEM or bare base64), NAME for messages. */
struct ca_crl_file {
	const unsigned char *data;
	size_t len;
	const char *name;
};

/* What carrying CRLs in did (ca_revoke_from_crls, ca_restore_crls). */
struct ca_carried {
	size_t crls;        /* CRLs taken, every one verified */
	size_t deltas;      /* of which delta CRLs */
	size_t expired;     /* of which past their nextUpdate (still taken:
			     * what they list was revoked) */
	size_t revoked;     /* certificates of this store revoked (or put
			     * on hold) now, a key's others included */
	size_t unknown;     /* serials this store never issued, recorded as
			     * revoked (profile "from-crl", no body) */
	size_t already;     /* revoked here already: left as they were */
	size_t dated;       /* of which given the CRL's earlier invalidity
			     * date */
	size_t raised;      /* revoked here for a reason the CRL raised to
			     * keyCompromise: raised here too */
	size_t released;    /* on hold in a CRL, released since (or
			     * expired): not carried in */
	size_t still_held;  /* of those, on hold here: left on hold */
	int64_t max_number; /* the highest cRLNumber taken */
};

/*
 * Carry the revocations of the N CRLs of F into the store, with the
 * complete CRLs that then list them, in one transaction (admin only; the
 * CA key needed). Each CRL must be one of this CA's, signed by one of its
 * keys (the current one or one a rollover retired): MICA_E_BADREQ
 * "bad_crl" (unreadable, empty, not as mica makes them), "other_ca" (of
 * another issuer), "bad_signature" (names this CA, does not verify);
 * nothing changes then. An expired CRL is taken (OUT->expired). A serial
 * the store knows is revoked with the CRL's date and reason unless it is
 * revoked already (one on hold becomes revoked for good if a CRL says so);
 * one it never issued is recorded revoked, listed in the CRLs of the key
 * whose CRL named it and answered revoked by OCSP. certificateHold is
 * carried while the newest word on it is a hold; a revocation for another
 * reason is never undone. The next CRL number goes above every number
 * taken. OUT says what was done. Each revocation is audited as
 * "cert.revoke" by P.
 */
int ca_revoke_from_crls(struct ca *ca, const struct ca_principal *p,
			const struct ca_crl_file *f, size_t n,
			struct ca_carried *out, struct mica_err *err);

/* ----------------------------------------------------------- backup -- */

/* Copy CA's store into DEST (a new file; MICA_E_CONFLICT "exists" if
 * anything is there) and record "ca.backup" in the audit log. A handle
 * opened CA_OPEN_READONLY (a store on read-only media) cannot record it:
 * the copy is made and the log left as it is. */
int ca_backup(struct ca *ca, const char *dest, struct mica_err *err);
/* Copy the store of DATADIR into DEST as ca_backup does, when an older
 * 'mica serve' still serves it at an older schema (ca_open's
 * MICA_E_CONFLICT "serve_outdated": the package upgraded, the daemon not
 * yet restarted). The copy keeps that schema, which ca_restore upgrades;
 * the store is only read (nothing in its audit log). *VERSION (if not
 * NULL) is the schema version copied. */
int ca_backup_older(const char *datadir, const char *dest, int *version,
		    struct mica_err *err);
/* Restore FILE into DATADIR, which must hold no CA (MICA_E_CONFLICT).
 * FILE must be a store as mica makes it: its schema exactly what mica
 * builds for its version, intact, with a CA whose row and certificates
 * parse; otherwise MICA_E_BADREQ and nothing is created (DATADIR is
 * removed again if restore made it). An older schema is upgraded in the
 * copy. FILE is opened immutable: never written, no -wal/-shm beside it.
 * When a passphrase is at hand (PASSPHRASE_FILE if not NULL, else
 * $MICA_PASSPHRASE, else DATADIR/passphrase), every sealed CA key must
 * open with it (MICA_E_UNAUTH otherwise) and be the key of its certificate
 * (MICA_E_BADREQ "bad_backup" otherwise), nothing restored then, and
 * *KEY_CHECKED (if not NULL) is set to 1; SCEP's RA key is tried, one that
 * does not open only logged. Without a passphrase the keys cannot be
 * checked and it is 0. The restored store records when it was restored:
 * the certificates it holds as issuing (a backup taken while they were
 * being signed: the store it was taken of may have completed them and
 * handed them out) are left to the admin, never forgotten by
 * ca_issue_sweep; *ISSUING (if not NULL) says how many. */
/* ca_restore, carrying in the revocations of the N CRLs of CRLS (as
 * ca_revoke_from_crls) in the transaction that records the restore, then
 * publishing the CRLs that list them. The CRLs are read before anything is
 * made and verified with the backup's keys before the copy is named
 * DATADIR/mica.db: one refused (MICA_E_BADREQ, as ca_revoke_from_crls
 * says) restores nothing. N > 0 needs a passphrase at hand (MICA_E_UNAUTH
 * "no_passphrase" otherwise). *CARRIED (if not NULL) says what was
 * carried. A CRL that cannot be published after the store was named is
 * MICA_E_INTERNAL "crl_not_published": the store is restored with the
 * revocations, and 'mica crl' publishes it. */
int ca_restore_crls(const char *datadir, const char *file,
		    const char *passphrase_file, const struct ca_crl_file *crls,
		    size_t ncrls, int *key_checked, int64_t *issuing,
		    struct ca_carried *carried, struct mica_err *err);
int ca_restore(const char *datadir, const char *file,
	       const char *passphrase_file, int *key_checked,
	       int64_t *issuing, struct mica_err *err);

/* ------------------------------------------------------------------ */
/* OCSP (RFC 6960, RFC 5019 lightweight profile): ca/ocsp.c            */
/* ------------------------------------------------------------------ */

/* An OCSPResponse to send back, whatever the request was. */
struct ca_ocsp_answer {
	unsigned char *der; size_t der_len;   /* the OCSPResponse, heap */
	int status;               /* its responseStatus: 0 successful, 1
				   * malformedRequest, 2 internalError, 3
				   * tryLater, 6 unauthorized */
	int64_t max_age;          /* seconds a cache may keep it (RFC 5019
				   * 6.2); 0: none (an error, a nonce) */
	int64_t this_update, next_update;   /* when successful */
	int presigned;            /* answered from the store */
	int cached;               /* an "unknown" kept in memory (a serial
				   * never issued, signed before) */
	int signed_now;           /* signed for this request */
};

/*
 * Answer the DER OCSPRequest REQ[0..LEN) (at most CA_OCSP_REQ_MAX, the
 * caller bounds the body): always 0 with an OCSPResponse in *OUT (free
 * with ca_ocsp_answer_free), the request's faults being OCSP statuses:
 * malformed or unsupported (hash algorithm, version, too many CertIDs, a
 * bad nonce) -> malformedRequest; a CertID of another issuer ->
 * unauthorized; the signers or the store unavailable -> tryLater. Per
 * CertID: good, revoked (time, reason) or unknown (never issued). -1 only
 * when out of memory. Thread-safe; signs with the OCSP key (ca/sign.h),
 * never the CA key, which certifies the OCSP key every few days.
 * "unknown" for one CertID is signed once and kept (without the nonce:
 * the same for everyone); new ones are rationed, beyond which a request
 * naming a serial never issued gets tryLater (ca/ocsp.c).
 */
int ca_ocsp_answer(struct ca *ca, const unsigned char *req, size_t len,
		   struct ca_ocsp_answer *out, struct mica_err *err);
void ca_ocsp_answer_free(struct ca_ocsp_answer *a);

/*
 * The background work of the responder: renew the responder certificate
 * when it is due, drop responses stale for a week, then sign ahead of
 * time the responses of up to MAX certificates (valid or revoked, not
 * expired, of a key the responder answers for): first those marked by the
 * store (issued, revoked, put on hold or released since), then those whose
 * refresh time (half a period before nextUpdate) came, then - once per
 * key and signer, the first time after an upgrade, a rollover or a change
 * of --ocsp-signer - a walk of all of a key's certificates, continued
 * from call to call. Each is found through an index, so a pass with
 * nothing to do reads no certificate. *P counts (zeroed first). Needs a
 * handle that can sign (the daemon's).
 */
struct ca_ocsp_pass {
	size_t signed_n;    /* responses signed */
	size_t marked;      /* marked certificates read */
	size_t due;         /* due responses read */
	size_t walked;      /* certificates read by a walk */
	size_t dropped;     /* marks and due rows nothing can sign, given up */
};
int ca_ocsp_refresh_pass(struct ca *ca, size_t max, struct ca_ocsp_pass *p,
			 struct mica_err *err);
/* The same, *DONE (may be NULL: one batch only) the responses signed. */
int ca_ocsp_refresh(struct ca *ca, size_t max, size_t *done,
		    struct mica_err *err);

/* Is a certificate marked (issued, revoked, put on hold or released, by
 * any process) and not yet signed? With REVOKED, only a marked
 * certificate that is revoked now counts: what the background refresh
 * signs at once even while issuance holds the rest back. *PENDING 1 or
 * 0. Cheap: for the background refresh to poll. */
int ca_ocsp_pending(struct ca *ca, int revoked, int *pending,
		    struct mica_err *err);

/* What a process killed while issuing left: certificates recorded before
 * signing and never completed (status issuing) and ACME orders left
 * processing, CA_ISSUE_ABANDON_S or more ago - twice the signer's reply
 * timeout, which a live issuance outlasts only in a process stopped or
 * starved for minutes. A row goes as a failed
 * issuance's does (forgotten, the enrollment token's use given back),
 * an order becomes invalid (serverInternal); each with an audit line by
 * ACTOR. *CERTS, *ORDERS and *REFUNDS (any may be NULL) say how many
 * rows and orders went and token uses came back (a row recorded before
 * schema 019 does not say whose use it took). A late completion of a row
 * swept meanwhile fails and hands nothing out. */
#define CA_ISSUE_ABANDON_S 600
int ca_issue_sweep(struct ca *ca, const char *actor, int64_t *certs,
		   int64_t *orders, int64_t *refunds, struct mica_err *err);

/* Milliseconds since a certificate was last being issued through any
 * handle of CA's process (ca_issue: begun or finished), INT64_MAX if
 * none was; for background work that gives way to issuance. */
int64_t ca_issue_idle_ms(struct ca *ca);

/* How many pre-signed responses are fresh now. */
int ca_ocsp_count(struct ca *ca, int64_t *count, struct mica_err *err);

/* ------------------------------------------------------------------ */
/* Publication to a directory: ca/publish.c                            */
/* ------------------------------------------------------------------ */

#define CA_PUBLISH_STALE_MAX 8
struct ca_publish_stats {
	size_t files;            /* certificate, chain and CRL files written */
	size_t ocsp_written;     /* responses written (new or changed) */
	size_t ocsp_kept;        /* responses already there */
	size_t ocsp_removed;     /* responses removed (revoked, expired) */
	size_t ocsp_skipped;     /* names that cannot be files (left to the
				  * daemon) */
	size_t ocsp_read;        /* certificates looked at */
	int64_t past;            /* a *SEQ past the store's last change,
				  * taken as a full pass; else -1 */
	/* The CRLs published (written, or left as they were) whose
	 * nextUpdate had passed, which relying parties refuse: NSTALE of
	 * them, one per CRL (the same CRL in several files counts once),
	 * the first CA_PUBLISH_STALE_MAX described in STALE. */
	size_t nstale;
	struct ca_publish_stale {
		char file[32];           /* the first file it went to: "crl",
					  * "delta.crl", "keys/1/crl"... */
		int64_t number;          /* its cRLNumber */
		int64_t next_update;
		int delta;               /* a delta CRL */
		int root;                /* the root's, imported: not this
					  * CA's to sign */
	} stale[CA_PUBLISH_STALE_MAX];
};

/*
 * Write into DIR (created 0755 if missing) what relying parties fetch, for
 * any web server to serve: ca.crt, ca.pem, root.crt, root.pem,
 * ca-chain.pem, ca.p7b, crl, crl.pem, root.crl (when imported), and
 * ocsp/<base64 of the RFC 5019 request> for every certificate of the
 * current key, and of a retired key whose CA certificate is valid, with a
 * pre-signed response (the path a GET /ocsp/{base64}
 * decodes to; its '/' are directories). Each file atomically (temporary
 * name, then rename), only when it changed; the response file of a
 * certificate revoked since (its response dropped, not yet re-signed) or
 * expired is removed. *ST (may be NULL) counts, and says which CRLs it
 * published had expired (still published: what the store holds; the
 * caller warns). Signs nothing.
 */
int ca_publish(struct ca *ca, const char *dir, struct ca_publish_stats *st,
	       struct mica_err *err);
/*
 * The same, for a caller that keeps *SEQ between passes: *SEQ < 0 is the
 * full pass above; *SEQ >= 0 looks only at the responses stored or
 * dropped (schema/012) after change *SEQ, through an index (a response
 * gone stale, a certificate expired, a file changed by someone else: left
 * to the next full pass). Either sets *SEQ to the change number it
 * reached (unchanged on failure). A *SEQ past the store's last change
 * cannot come from an earlier pass on this store (one restored from an
 * older backup, another store's number): it is a full pass, and
 * ST->past says which number was given.
 */
int ca_publish_since(struct ca *ca, const char *dir, int64_t *seq,
		     struct ca_publish_stats *st, struct mica_err *err);

/* ------------------------------------------------------------------ */
/* SCEP (RFC 8894): ca/scep.c                                          */
/* ------------------------------------------------------------------ */

/* What GetCACaps answers (RFC 8894 3.5.2), one capability a line; and
 * the line added while a next CA certificate waits (ca_scep_next_pending). */
#define CA_SCEP_CAPS "AES\nDES3\nPOSTPKIOperation\n" \
	"Renewal\nSHA-1\nSHA-256\nSHA-512\nSCEPStandard\n"
#define CA_SCEP_CAPS_NEXT "GetNextCACert\n"

/*
 * GetCACert: the RA certificate (RSA; made and certified at the first
 * SCEP operation after start, renewed before it expires, recorded before
 * it is sent) and this CA's certificate with its chain, as a degenerate
 * PKCS#7 (application/x-x509-ca-ra-cert). *OUT heap.
 */
int ca_scep_cacert(struct ca *ca, unsigned char **out, size_t *len,
		   struct mica_err *err);

/*
 * GetNextCACert (RFC 8894 3.5.2, 4.7). A CA rolls over when 'mica
 * install-ca' installs its next certificate; a running 'mica serve' keeps
 * signing under the certificate it started with until it is restarted.
 * Meanwhile that next certificate - the store's current one, which is not
 * this handle's - is announced, if ca_scep_nextca_check accepts it (the
 * same name, from the same CA above; mica makes no RA certificate for it
 * before it signs with it, so none goes with it).
 *
 * ca_scep_next_pending: 1 while there is such a certificate, else 0 (also
 * when the store cannot be read: GetCACaps then does not offer it).
 * ca_scep_nextcacert: the reply, ca_scep_nextca_encode's SignedData signed
 * by the RA key (application/x-x509-next-ca-cert), *OUT heap; MICA_E_NOTFOUND
 * "no_next_ca" when there is no next certificate.
 */
int ca_scep_next_pending(struct ca *ca);
int ca_scep_nextcacert(struct ca *ca, unsigned char **out, size_t *len,
		       struct mica_err *err);

/*
 * PKIOperation: answer the pkiMessage MSG[0..LEN) from CLIENT (an address,
 * for the pending requests' per-client limit) with a CertRep in *OUT
 * (heap): SUCCESS with the certificate encrypted to the client's key,
 * PENDING, or FAILURE with a failInfo. Who gets what:
 *  - PKCSReq: a challengePassword that is an enrollment token issues at
 *    once within the token's scope (its profile, else "client"); none
 *    leaves a pending request (CertRep PENDING) an admin approves; a
 *    wrong one, an admin token, or a CSR policy refuses is FAILURE
 *    badRequest and stores nothing;
 *  - RenewalReq: signed with a current certificate of this CA, renews it
 *    (ca_renew_proved) - its key, or a new key whose CSR asks only for
 *    names of that certificate (others: FAILURE badRequest); a challenge
 *    token instead works as for PKCSReq;
 *  - a PKCSReq signed with such a certificate, for its key or names,
 *    (certmonger's renewal, its first challenge spent) renews it too,
 *    unless its challenge is a valid enrollment token (then as above);
 *  - the same transactionID again from the same key (scepclient resends
 *    while PENDING; CertPoll) answers what became of that request; with
 *    another CSR it is FAILURE badRequest; another key never sees it;
 *  - GetCert: a certificate of this CA by serial; GetCRL: the current
 *    CRL of the CA key that signed the certificate named by issuer and
 *    serial (badCertId for one this CA did not issue, badTime when that
 *    CRL has expired).
 * -1 only for a message that cannot be read at all (MICA_E_BADREQ
 * "bad_scep", MICA_E_TOOLARGE: answered 400/413) or when the service
 * fails (the signers, the store: 5xx).
 */
int ca_scep_pkiop(struct ca *ca, const char *client,
		  const unsigned char *msg, size_t len, unsigned char **out,
		  size_t *out_len, struct mica_err *err);

/* An iPhone/macOS profile: ca/mobileconfig.c. */
#define CA_MOBILECONFIG_URL_MAX     480
#define CA_MOBILECONFIG_EXPIRES_MAX (INT64_C(30) * 86400)
struct ca_mobileconfig_spec {
	const char *name;       /* the device's name: the CN asked for and
				 * the token's only name (required) */
	const char *profile;    /* NULL: "client" */
	const char *url;        /* the SCEP URL the device reaches; NULL:
				 * the CA's public URL + "/scep" */
	int64_t expires_in;     /* the challenge's lifetime, seconds,
				 * 1..CA_MOBILECONFIG_EXPIRES_MAX */
};

/*
 * Admin P: a new one-use enrollment token for exactly SPEC->name (in its
 * canonical form, as the certificate will name it: lower case, no
 * trailing dot; the profile's CN and names say the same) under
 * SPEC->profile (stored hashed, audited as every token), and the unsigned
 * .mobileconfig (an XML plist) that carries it as the SCEP payload's
 * challenge, with this CA's root as a certificate payload. *OUT (heap,
 * *OUT_LEN octets) holds the token: the caller zeroizes it after use.
 * A bad name, profile, URL or expiry is MICA_E_BADREQ (or what
 * ca_token_create says) and stores nothing. TOKEN_ID (may be NULL) gets
 * the token's id, for revoking it.
 */
int ca_scep_mobileconfig(struct ca *ca, const struct ca_principal *p,
			 const struct ca_mobileconfig_spec *spec, char **out,
			 size_t *out_len, char token_id[CA_ID_MAX],
			 struct mica_err *err);

#endif

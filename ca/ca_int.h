/*
 * ca/ca_int.h - private to ca/: the engine handle's layout, and what the
 * engine's files share with each other. Nothing outside ca/ includes it
 * (the unit tests do, to look inside).
 *
 * The engine's files, one thing each:
 *   handle.c      a handle on a data directory: open, clone, close, the
 *                 shared state and the cached root
 *   passphrase.c  passphrases (read, generate, change) and the sealed key
 *   tx.c          the one write path into the store
 *   sign.c        the only door to the CA key for signing
 *   init.c        creating a CA
 *   principals.c  who is asking: the command line, tokens, anonymous
 *   tokens.c      creating, listing and revoking tokens
 *   issue.c       the one path that makes an end-entity certificate
 *   requests.c    CSR submission and pending requests
 *   renew.c       renewal, and its fresh proofs of possession
 *   revoke.c      revocation
 *   carry.c       revocations carried in from this CA's CRLs published
 *                 elsewhere (a restore's lost store)
 *   reasons.c     the revocation reasons (exported in ca/ca.h)
 *   crl.c         publishing and reading CRLs
 *   query.c       reading certificates, counts and the audit log
 *   config.c      allowed domains and profile validity
 *   backup.c      backup and restore
 *   perm.c        the data directory's and the store's permissions
 *   hier.c        the hierarchy: installing this CA's certificate, a
 *                 renewal's request, its chain, the root's CRL
 *   subca.c       an offline root signing CA certificates (sign-ca)
 *   serial.c      serial numbers
 *   text.c        ids, free text and the store's name lists
 * and under them, with headers of their own and no store:
 *   profile.c     the profiles and the policy (pure: no I/O, no key)
 *   names.c       DNS names, addresses and email addresses
 *   csr.c         PKCS#10 requests from outside
 *   x509.c        DER encoders of certificates and CRLs
 *   lint.c        the checks every TBS passes before it is signed
 *   der.c         the DER reader the parsers and the linter share
 *   keys.c        the CA key material: generate, seal, unseal, sign
 *   p7.c          PKCS#7 certs-only messages (.p7b)
 *   cacert.c      CA certificates, bundles and CRLs from other CAs
 * and ACME (RFC 8555), listed in ca/acme_int.h: acme*.c, jws.c, dns.c.
 */
#ifndef MICA_CA_INT_H
#define MICA_CA_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "ca/ca.h"
#include "ca/cacert.h"
#include "ca/keys.h"
#include "ca/names.h"
#include "ca/ocsp.h"
#include "ca/profile.h"
#include "ca/signer.h"
#include "ca/x509.h"
#include "db/db.h"

/* Most keys a CA holds over its life (key indexes 0..15); the store, the
 * signer protocol and the engine agree. */
#define CA_KEYS_MAX  16
/* Most certificates above a CA's own (issuers, the root, crosses). */
#define CA_CHAIN_MAX 8

_Static_assert(CA_KEYS_MAX == DB_KEYS_MAX, "store and engine key indexes");
_Static_assert(CA_KEYS_MAX == CA_SIGNER_KEYS, "signer and engine key indexes");

/* One of the CA's keys as the engine knows it: its CA certificate's
 * facts, and the key itself once unsealed (CA_OPEN_UNLOCK). */
struct ca_keyslot {
	int idx;                       /* the key's index */
	struct ca_key *key;            /* NULL unless unlocked; owned */
	const unsigned char *sig_alg;  /* what it signs with (static) */
	size_t sig_alg_len;
	unsigned char *cert; size_t cert_len;        /* its CA certificate */
	unsigned char *subject; size_t subject_len;  /* that certificate's */
	unsigned char ski[CA_KEYID_MAX];             /* its key identifier */
	size_t ski_len;
	int64_t not_before, not_after;
	int64_t path_not_after;   /* a retired key's: the earliest notAfter of
				   * its certificate and the path above it
				   * (slot_chain), as ca_shared's */
	char *chain_pem;   /* a retired key's: its certificate and those above,
			    * PEM (slot_chain); NULL for the current key's */
};

/* What every handle on one data directory shares (refcounted). Immutable
 * after ca_open() except refs (and writer, set once before threads start),
 * the atomics and what their own locks guard.
 * The fields named after the CA (key, sig_alg, subject, ski, validity,
 * URLs) are the current key's and its certificate's: what signs
 * certificates now. */
struct ca_shared {
	pthread_mutex_t lock;
	int refs;
	char *dbpath;
	char *datadir;
	int flags;
	int state;                     /* enum db_ca_state */
	int key_idx;                   /* the current key's index */
	struct ca_key *key;            /* NULL unless opened with CA_OPEN_UNLOCK */
	struct ca_signer *signer;      /* the daemon's signers (ca_open_serve) */
	const unsigned char *sig_alg;  /* what the key signs with (static) */
	size_t sig_alg_len;
	_Atomic int64_t crl_signed;    /* highest CRL number signed (sign.c) */
	_Atomic int64_t issuing_ms;    /* when this process last began or
					* finished an issuance (CLOCK_MONOTONIC
					* ms; 0: never): ca_issue_idle_ms() */
	pthread_mutex_t crl_lock;      /* one CRL publication at a time in
					* this process (crl.c): from its
					* snapshot to its commit */
	_Atomic int crl_background;    /* CRLs signed on a thread of lower
					* CPU priority (ca_crl_background) */
	unsigned char *cert_der; size_t cert_len;   /* this CA's certificate
						     * (NULL while awaiting) */
	char *cert_pem;
	unsigned char *chain_buf; size_t chain_buf_len;  /* above it, DER */
	struct ca_der_blob chain[CA_CHAIN_MAX];     /* into chain_buf */
	size_t nchain;
	size_t served[CA_CHAIN_MAX];   /* the chain in the order it is handed
					* out: chain[served[i]] (handle.c) */
	char *chain_pem;               /* cert_der and the chain, PEM */
	const unsigned char *root_der; size_t root_len;  /* the root at the
					* top (cert_der for a single tier) */
	char *root_pem;
	char fingerprint[96];          /* of the root */
	unsigned char *subject; size_t subject_len;  /* raw Name of this CA */
	unsigned char ski[CA_KEYID_MAX];  /* its certificate's key identifier */
	size_t ski_len;
	int64_t not_before, not_after;
	struct ca_nc *nc;              /* its certificate's name constraints,
					* NULL when it has none */
	struct ca_nc *nc_above[CA_CHAIN_MAX];  /* those of the certificates
					* above it that have any (RFC 5280
					* 6.1.4 (g): a path's constraints add
					* up) */
	size_t nnc_above;
	int self_signed;               /* a root */
	size_t npath;                  /* chain[0..npath) is the path up to
					* the root (its self-signed
					* certificate last); crosses follow */
	int64_t path_not_after;        /* the earliest notAfter of this CA's
					* certificate and of the path above
					* it: relying parties refuse a leaf
					* after it, so leaves end by then */
	char path_end_name[160];       /* the CA above whose certificate
					* ends then; "" when this CA's own */
	/* Whether the newest CRL imported of a CA on the path (the root's,
	 * or one's between it and this CA) lists this CA's certificate or
	 * one of the path that CA signed (ca_revoked_check, hier.c): worked
	 * out when first asked and again only when the store holds another
	 * such CRL (imported by any process), looked for at most once a
	 * second - never a CRL read per issuance. */
	pthread_mutex_t revoked_lock;  /* the look at the store (the fields
					* below but the atomics) */
	int revoked_known;             /* worked out once */
	uint64_t revoked_mark;         /* which CRLs of the path's CAs it
					* was worked out from (hier.c
					* revoked_mark) */
	_Atomic int64_t revoked_looked_ms;  /* CLOCK_MONOTONIC ms of the last
					* look; 0 none yet */
	_Atomic int revoked;           /* 0, or 1 + the index on the path of
					* the certificate it lists: 1 this
					* CA's own, 2 chain[0]... */
	char *name;
	char *public_url;
	char *crl_url;
	char *aia_url;
	char *ocsp_url;                /* URL/ocsp, named in AIA (ca/ocsp.h) */
	/* The CRL period is read from the store at each CRL (ca/crl.c
	 * crl_days_now), not kept here: it may change under a daemon. */
	struct ca_keyslot retired[CA_KEYS_MAX];   /* keys that sign CRLs only */
	size_t nretired;
	struct ca_key *pending_key;    /* a renewal's new key, when unlocked */
	int pending_idx;               /* its index, -1 when none */
	struct db_writer *writer;      /* NULL unless ca_batch_writes() */
	atomic_int insecure;           /* the last ca_perm_check() found the
					* data directory or the store open to
					* group or others: no issuance */
	atomic_int linked;             /* ... found the store hard-linked:
					* warned once, issuance goes on */
	/* OCSP: the in-process OCSP key (sign.c; the command line and the
	 * tests only: the daemon's lives in its signers), and the
	 * responder's state (ocsp.c). Both made on first use, under lock. */
	struct ca_key *ocsp_key;
	struct ca_ocsp_state *ocsp;
	/* SCEP: the in-process RA key (sign.c; as ocsp_key) and the RA
	 * certificate's state (scep.c). */
	struct ca_key *scep_key;
	int scep_key_stored;    /* 1: scep_key is the store's (scep_ra_key),
				 * unsealed by CA_OPEN_ALL_KEYS */
	struct ca_scep_state *scep;
	int pass_in_datadir;    /* 1: opened with the passphrase read from
				 * DATADIR/passphrase */
	/* The salt of the sealed CA key this handle unsealed: a passphrase
	 * change re-seals only if no other one came first. */
	unsigned char unsealed_salt[16];
	int unsealed_salt_set;
};

struct ca {
	struct ca_shared *sh;
	struct db *db;
};

static inline int64_t
ca_now(void)
{
	return (int64_t)time(NULL);
}

/* ------------------------------------------------------------ handle.c -- */

/* May this CA certify NAME under the name constraints of its certificate
 * and of every certificate above it? 1 yes, 0 no. */
int ca_nc_allows_path(const struct ca_shared *sh, const struct ca_name *name);
/* Has this CA's path any name constraints? */
int ca_nc_any(const struct ca_shared *sh);

/* OUT = DIR "/" FILE; -1 if it does not fit in SIZE. */
int ca_path_join(char *out, size_t size, const char *dir, const char *file);
/* ca_open() of the store DATADIR/DBFILE rather than DATADIR/mica.db
 * (restore checks its copy before the copy takes that name). */
int ca_open_file(const char *datadir, const char *dbfile, int flags,
		 const char *passphrase_file, struct ca **out,
		 struct mica_err *err);
/* Remove a database file and its -wal, -shm and -journal companions. */
void ca_db_unlink(const char *dbpath);
/* The store connection of this handle (for the unit tests). */
struct db *ca_db(struct ca *ca);
/* The CRL and caIssuers URLs the certificates of key IDX name: key 0's
 * are URL/crl and URL/ca.crt (what a single-tier CA always named), key
 * k's URL/crl/k and URL/ca/k.crt. 0, or -1 if they do not fit. */
/* The longest public URL init takes, and the CRL validity's bounds. */
#define CA_PUBLIC_URL_MAX 200
#define CA_CRL_DAYS_MAX 365
/* 1 if U is a public URL as init takes it: http(s), printable, no quoting
 * characters, no trailing slash. */
int ca_public_url_ok(const char *u);
/* The same, and what a new CA takes (mica init): a host without user@
 * (an IPv6 literal's brackets closed), a port of 1 to 65535 if any, no
 * empty, "." or ".." path segment (nor "%2e"), no query or fragment.
 * Stores made before it was asked keep opening (ca_public_url_ok). */
int ca_public_url_new_ok(const char *u);
int ca_key_urls(const char *public_url, int idx, char *crl, size_t crl_size,
		char *aia, size_t aia_size);
/* Re-read the CA row and its keys into CA's shared state after this
 * handle changed them (install-ca), keeping the keys it has unsealed,
 * each at its index. Only for a handle nobody shares (the command line:
 * no clone, no signers, no writer). */
int ca_reload(struct ca *ca, struct mica_err *err);
/* MICA_E_CONFLICT unless CA has its certificate and may issue: "root_only"
 * for an offline root, "awaiting_certificate" before install-ca,
 * "ca_revoked" when the root's CRL revokes its certificate or one above
 * it (ca_revoked_check). */
int ca_state_issue(struct ca *ca, struct mica_err *err);
/* The same without the revocation: what the daemon needs to start (it
 * keeps serving CRLs and OCSP under a revoked CA certificate) and its own
 * TLS certificate. */
int ca_state_certified(struct ca *ca, struct mica_err *err);
/* The slot of the retired key of index IDX, or NULL (the current key's
 * facts are the handle's own fields). */
const struct ca_keyslot *ca_keyslot(struct ca *ca, int idx);

/* ---------------------------------------------------------------- tx.c -- */

/* ca_tx flags */
#define CA_TX_DURABLE 0x1  /* on disk when ca_tx() returns; otherwise at the
			    * next durable commit (lost only with the
			    * machine's power, never with the process) */
#define CA_TX_OWN     0x2  /* on this handle's own connection even when
			    * writes are batched: for a body that signs a
			    * CRL under the write lock, which on the writer
			    * would hold up every batch behind one signature */

/*
 * Run BODY(db, ARG, err) in a transaction: the one way the engine changes
 * the store. BODY makes its writes on the connection it is given (the
 * writer's, or with CA_TX_OWN or without batching CA's own) and opens no
 * transaction itself; it must not be called with a transaction open on
 * any connection to the store (the writer would wait for it). A failed
 * BODY is rolled back completely and its error returned.
 */
int ca_tx(struct ca *ca, int flags, db_tx_fn body, void *arg,
	  struct mica_err *err);

/* -------------------------------------------------------- passphrase.c -- */

#define CA_PASS_MAX 4096
/* A new passphrase (init, 'mica passphrase') has at least this many
 * characters; an existing store opens with whatever it was sealed under. */
#define CA_PASS_MIN 12

/* Read a passphrase file: a regular file not accessible by group or others,
 * at most CA_PASS_MAX bytes, holding the passphrase followed by at most one
 * line ending (LF or CRLF), which is not part of it. A NUL byte, a second
 * line, a CR anywhere but before that final LF, or nothing at all is
 * refused (MICA_E_BADREQ "passphrase_file"), never cut off. *OUT heap, free
 * with ca_pass_free. */
int ca_pass_read_file(const char *path, char **out, struct mica_err *err);
/* Finish a 'mica passphrase' that died between committing the re-seal and
 * renaming the new passphrase over DATADIR/passphrase: if the file it
 * wrote for the key sealed with SALT (SALT_LEN octets, the store's) is
 * there, it becomes DATADIR/passphrase (said on the log). 0 also when
 * there is nothing to finish; -1 (MICA_E_UNAVAIL, naming the mv to run)
 * when the rename fails. */
int ca_pass_roll_forward(const char *datadir, const unsigned char *salt,
			 size_t salt_len, struct mica_err *err);
/* Where ca_pass_get takes the passphrase of DATADIR's CA from: FILE if
 * not NULL ("--passphrase-file"), else a non-empty $MICA_PASSPHRASE
 * ("MICA_PASSPHRASE"), else DATADIR/passphrase if it exists ("passphrase
 * in the data directory"); NULL when none is there. Reads nothing. */
const char *ca_pass_source(const char *datadir, const char *file);
/* The passphrase of DATADIR's CA: FILE if not NULL, else $MICA_PASSPHRASE
 * (as it is), else DATADIR/passphrase. *OUT as above. *FROM_DATADIR (if
 * not NULL) is set to 1 when it was read from DATADIR/passphrase (FILE
 * naming that same file included), else 0. */
int ca_pass_get(const char *datadir, const char *file, char **out,
		int *from_datadir, struct mica_err *err);
/* 0 if PASS may become a CA's passphrase: no CR or LF (MICA_E_BADREQ
 * "passphrase"), at least CA_PASS_MIN characters (MICA_E_POLICY
 * "passphrase_too_short"). */
int ca_pass_check_new(const char *pass, struct mica_err *err);
/* Remove MICA_PASSPHRASE from the environment, wiping its bytes, once a
 * long-running process has read it (the daemon). */
void ca_pass_env_scrub(void);
/* Write a fresh random passphrase to PATH (0600, must not exist: exit
 * 6 if it appears meanwhile), whole or not at all: under PATH
 * CA_PASS_NEW_SEP XXXXXX first, locked (util/leftover.h), then renamed;
 * such files killed runs left go first. *OUT as above. */
#define CA_PASS_NEW_SEP ".new-"
int ca_pass_generate(const char *path, char **out, struct mica_err *err);
/* Zeroize and free a passphrase. Accepts NULL. */
void ca_pass_free(char *s);
/* Point the CA row's key fields at SEALED (which must outlive ROW). */
void ca_row_set_sealed(struct db_ca *row, struct ca_sealed_key *sealed);

/* -------------------------------------------------------------- init.c -- */

/* The request of an issuing CA for its certificate: SUBJECT and key K's,
 * asking for a CA certificate with PATH_LEN, DOMAINS (N) as its permitted
 * name constraints (none when N is 0; with them, the address of
 * PUBLIC_URL when it is an IP address, every other address excluded:
 * ca_x509_nc_value; then N is at most CA_NC_PERMIT_MAX - 1, else
 * MICA_E_USAGE "bad_domain") and, when PUBLIC_URL is set, its
 * issuer's CRL and certificate at PUBLIC_URL/root.crl and /root.crt.
 * Signed by K. *CSR heap, DER. */
int ca_ca_request(struct ca_key *k, const unsigned char *subject,
		  size_t subject_len, const char *public_url, int path_len,
		  const char *const *domains, size_t n, unsigned char **csr,
		  size_t *csr_len, struct mica_err *err);

/* -------------------------------------------------------- principals.c -- */

/* An admin token or the command line. */
int ca_is_admin(const struct ca_principal *p);
/* 0 for an admin; else MICA_E_UNAUTH (anonymous) or MICA_E_FORBIDDEN. */
int ca_require_admin(const struct ca_principal *p, struct mica_err *err);

/* -------------------------------------------------------------- text.c -- */

/* Split a '\n'-separated list into a heap array of *N heap strings. */
int ca_split_lines(const char *s, char ***out, size_t *n);
/* Names in the store's '\n'-separated form; heap, NULL if out of memory. */
char *ca_join_names(const struct ca_name *names, size_t n);
/* Drop the names of V (canonical, as ca_name_parse makes them) that repeat
 * an earlier one, keeping the order; how many are left. */
size_t ca_names_unique(struct ca_name *v, size_t n);
/* The store's '\n'-separated names, parsed back; *OUT heap. */
int ca_stored_names_parse(const char *s, struct ca_name **out, size_t *n,
			  struct mica_err *err);
/* A request or token id: 1..CA_ID_MAX-1 lowercase hex digits. 1 or 0. */
int ca_valid_id(const char *id);

/* ------------------------------------------------------------ serial.c -- */

/* A fresh random serial number (RFC 5280 4.1.2.2) and its hex form. */
int ca_serial_new(unsigned char serial[16], char hex[CA_SERIAL_MAX],
		  struct mica_err *err);

/* ----------------------------------------------------------- service.c -- */

/* A certificate for one of the CA's own service keys: the OCSP
 * responder's, the SCEP RA's. */
struct ca_service {
	const char *cn;          /* the subject's commonName */
	const char *what;        /* "an OCSP responder", in an error */
	const char *actor;       /* the audit's actor and the log's prefix */
	const char *action;      /* the audit's action */
	const char *log_name;    /* "responder", in the log */
	int days;                /* lifetime, within the CA's */
	int64_t min_left;        /* refused (ca_expiring) if the CA leaves less */
	unsigned key_usage;      /* CA_KU_* */
	unsigned eku;            /* CA_EKU_*, 0 = none */
	int ocsp_nocheck;        /* id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1) */
	/* the key's SubjectPublicKeyInfo, and the CA's signature (ca/sign.h) */
	int (*key)(struct ca *, unsigned char *, size_t, size_t *,
		   struct mica_err *);
	int (*sign)(struct ca *, const unsigned char *, size_t,
		    unsigned char **, size_t *, struct mica_err *);
	/* the store's record of it (db/db.h) */
	int (*add)(struct db *, const char *, const unsigned char *, size_t,
		   int64_t, int64_t, int64_t, struct mica_err *);
};
struct ca_service_cert {
	unsigned char *der;      /* the caller's, to free */
	size_t der_len;
	int64_t not_before, not_after;
	char serial[CA_SERIAL_MAX];
};
/* Certify SVC's key with the current CA key, valid from an hour before
 * NOW, and record it (and an audit entry) durably before returning it in
 * *OUT. */
int ca_service_certify(struct ca *ca, const struct ca_service *svc,
		       int64_t now, struct ca_service_cert *out,
		       struct mica_err *err);

/* ------------------------------------------------------------ config.c -- */

/* The profile NAME ("server" if NULL); NULL and MICA_E_BADREQ
 * "unknown_profile" if there is none. */
const struct ca_profile *ca_profile_get(const char *name, struct mica_err *err);
/* PROF's effective default and maximum validity (admin overrides or the
 * built-in values). */
int ca_profile_limits(struct ca *ca, const struct ca_profile *prof, int *def,
		      int *max, struct mica_err *err);

/* -------------------------------------------------------------- perm.c -- */

/* DATADIR is a directory that group and others cannot access; else
 * MICA_E_FORBIDDEN "insecure_permissions" saying to run chmod 700. */
int ca_datadir_check(const char *datadir, struct mica_err *err);
/* DBPATH (DATADIR's store) exists: MICA_E_CONFLICT "ca_exists", "DATADIR
 * already holds a CA; HINT" - or, for an empty file (an init killed
 * before its schema), a message saying to remove it. */
int ca_store_in_the_way(const char *datadir, const char *dbpath,
			const char *hint, struct mica_err *err);
/* Hold DATADIR's lock (flock on the directory: restore, and a passphrase
 * change whose file is in DATADIR) in *FD, until it is closed; the kernel
 * drops it when the process dies, however. WAIT: for a holder to finish;
 * else 1 at once (*FD -1) when another process holds it. 0 when held; -1
 * with ERR (MICA_E_UNAVAIL, CODE) when DATADIR cannot be opened or
 * locked. */
int ca_datadir_lock(const char *datadir, int wait, const char *code, int *fd,
		    struct mica_err *err);
/* Give the store TMP, built whole under a name of its own in DATADIR (a
 * killed init or restore leaves no mica.db), the name DBPATH: never over
 * one that appeared meanwhile (ca_store_in_the_way with HINT), never with
 * its -wal left behind, and durably (the directory synced; if that fails
 * the name is taken back). */
int ca_store_name(const char *datadir, const char *tmp, const char *dbpath,
		  const char *hint, struct mica_err *err);
/* ERR (not NULL) says a check of SH's files failed: if for their
 * permissions (MICA_E_FORBIDDEN), every handle of SH stops issuing (logged
 * once, with ERR's details) and ERR becomes MICA_E_UNAVAIL
 * "insecure_store" with a message for clients; otherwise ERR stays. A
 * store given a second name while open ("store_linked") is logged once,
 * and ERR's message loses the path: this process's own writes are safe,
 * another's through that name not. */
void ca_perm_lost(struct ca_shared *sh, struct mica_err *err);
/* 0 unless the last ca_perm_check() of a handle sharing CA's state found
 * the permissions loosened: then MICA_E_UNAVAIL "insecure_store". No I/O,
 * for the issuance path. */
int ca_insecure(struct ca *ca, struct mica_err *err);

/* The CA key's seal (ca_key_mac) on a list of allowed domains, as the
 * signer processes check it (ca/signer.h). */
int ca_domains_mac(const struct ca_key *key, const char *const *domains,
		   size_t n, unsigned char mac[32], struct mica_err *err);

/* An allowed domain DOMAIN (config.c), canonical into OUT: a DNS name of
 * two labels or more, no wildcard. -1 with MICA_E_BADREQ "bad_domain"
 * naming the rule it breaks. */
int ca_domain_parse(const char *domain, struct ca_name *out,
		    struct mica_err *err);

/* ------------------------------------------------------------- issue.c -- */

/* Ask the policy (ca_policy_check, the one place that says yes or no)
 * with what the store knows: the profile's limits and the allowed domains;
 * P's token scope applies to an ENROLL principal. DAEMON_TLS: the daemon's
 * own certificate (see struct ca_policy_input). */
int ca_run_policy(struct ca *ca, const struct ca_principal *p,
		  const struct ca_profile *prof, const struct ca_name *names,
		  size_t nnames, int key_kind, int key_bits, int days,
		  int daemon_tls, struct ca_policy_decision *d,
		  struct mica_err *err);

/* Kind (enum ca_pubkey_kind, 0 if mica does not certify such keys) and
 * size of the key in a SubjectPublicKeyInfo, for the policy. */
/* AT as people read it in messages and the audit trail: "2026-12-07 09:00
 * UTC" (the number itself if the date cannot be told). */
#define CA_DATE_TEXT 32
void ca_date_text(int64_t at, char out[CA_DATE_TEXT]);
/* AT as RFC 3339 gives it, to the second: "2026-12-07T09:00:00Z" (the
 * number itself if the date cannot be told). */
void ca_date_rfc3339(int64_t at, char out[CA_DATE_TEXT]);
int ca_spki_key(const unsigned char *spki, size_t len, int *kind, int *bits,
		struct mica_err *err);

/* A protocol's own record of a submission (SCEP's transaction, ca/scep.c),
 * written by FN in the transaction that first records the submission's
 * outcome: the pending request's (REQUEST_ID, SERIAL "") or the
 * reservation of the certificate issued at once, before it is signed
 * (SERIAL, REQUEST_ID ""). A process killed after that commit leaves the
 * two together, before it neither; a reservation forgotten later
 * (db_cert_discard) takes the SCEP transaction recorded with it. */
struct ca_on_record {
	int (*fn)(struct db *db, void *arg, const char *request_id,
		  const char *serial, struct mica_err *err);
	void *arg;
};

/* In that transaction: R's record (R NULL: none, 0). */
static inline int
ca_on_record_run(const struct ca_on_record *r, struct db *db,
		 const char *request_id, const char *serial,
		 struct mica_err *err)
{
	return r == NULL ? 0 : r->fn(db, r->arg, request_id, serial, err);
}

struct ca_issue_job {
	const struct ca_principal *p;
	const struct ca_profile *prof;
	const unsigned char *spki; size_t spki_len;
	const unsigned char *spki_hash;     /* 32 octets */
	const struct ca_name *names; size_t nnames;
	const struct ca_policy_decision *d;
	const char *request_id;             /* decide this request, or NULL */
	const char *renewal_of;             /* link, or NULL */
	int supersede;                      /* revoke renewal_of as superseded */
	const unsigned char *consume_challenge; /* SHA-256 of a renewal nonce
					     * of renewal_of to use up, or NULL */
	const char *consume_token;          /* token id to consume, or NULL */
	const char *action;                 /* audit action */
	const char *note;                   /* appended to its detail, or NULL */
	struct db_request *record;          /* store this request as issued
					     * (serial filled in), or NULL */
	/* Also run in the transaction that stores the certificate, after
	 * its own writes, with its serial (the ACME order that asked for it
	 * becomes valid in the same commit); NULL if nothing. */
	int (*on_stored)(struct db *db, void *arg, const char *serial,
			 struct mica_err *err);
	void *on_stored_arg;
	const struct ca_on_record *on_record;   /* run when the serial is
						 * reserved, or NULL */
	int daemon_tls;                     /* the daemon's own HTTPS
					     * certificate: made under a
					     * revoked CA certificate too
					     * (ca_state_certified) */
};

/* In a transaction body: record SERIAL as the renewal of PREV (NULL or
 * "": none) if PREV is still current - valid, unexpired, not renewed
 * already; otherwise, or if PREV is gone, nothing. A certificate someone
 * renewed is left out of "what expires soon" (db_cert_list). */
int ca_renewal_link_current(struct db *db, const char *prev,
			    const char *serial, struct mica_err *err);
/* The same for PREV read already (db_cert_get). */
int ca_renewal_link_cert(struct db *db, const struct db_cert *prev,
			 const char *serial, struct mica_err *err);

/* In a transaction body: MICA_E_POLICY "key_compromised" if the key of
 * SubjectPublicKeyInfo SPKI (SHA-256 SPKI_HASH) was revoked for
 * keyCompromise: the same SPKI, or for RSA the same modulus with any
 * exponent. ca_issue() calls it for every certificate. */
int ca_key_check(struct db *db, const unsigned char *spki, size_t spki_len,
		 const unsigned char spki_hash[32], struct mica_err *err);
/* Whether SPKI is the key of an ACME account (any, of any status): *IS 1
 * or 0; -1 on a store or memory failure. */
int ca_account_key(struct db *db, const unsigned char *spki, size_t spki_len,
		   int *is, struct mica_err *err);
/* ca_key_check, and not an ACME account's key (RFC 8555 11.1; MICA_E_POLICY
 * "account_key"): what every issuance, pending request and CA certificate
 * checks in its transaction. */
int ca_key_certifiable(struct db *db, const unsigned char *spki,
		       size_t spki_len, const unsigned char spki_hash[32],
		       struct mica_err *err);
/* A compromised RSA key is compromised for every public exponent (its
 * factors give the private key for each): its second identity is OUT, a
 * SHA-256 of its modulus (domain-separated from SPKI hashes). 1 if SPKI
 * is an RSA key (OUT set), 0 if another kind, -1 if it does not parse. */
int ca_key_rsa_id(const unsigned char *spki, size_t len, unsigned char out[32]);
/* Add the modulus of each RSA key revoked for keyCompromise before the
 * store knew moduli (schema/014) to the keys never certified again; run
 * by every open that may write. Nothing to do: one lookup. */
int ca_key_backfill(struct ca *ca, struct mica_err *err);
/* Revoke the other certificates of each key revoked for keyCompromise
 * before a revocation revoked them too (schema/016), with the CRLs that
 * list them, once the CA key is at hand (else later). Run by every open
 * that may write; nothing to do: one lookup. */
int ca_key_sweep(struct ca *ca, struct mica_err *err);

/* Build, lint, record, sign, store: the one path by which mica issues an
 * end-entity certificate, as the policy decided (J->d). On success OUT
 * holds the certificate, committed to the store. */
int ca_issue(struct ca *ca, const struct ca_issue_job *j, struct ca_issued *out,
	     struct mica_err *err);

/* -------------------------------------------------------------- ocsp.c -- */

struct ca_ocsp_state;
/* Free the responder's state. Accepts NULL. */
void ca_ocsp_state_free(struct ca_ocsp_state *o);
/* A CA key the OCSP responder answers for, and how. */
struct ca_ocsp_key {
	int idx;                        /* the key's index */
	int by_ca;                      /* signed by that CA key itself (else
					 * by the delegated responder) */
	struct ca_ocsp_issuer issuer;   /* what its CertIDs hash to */
	int64_t not_after;              /* its CA certificate's */
	int64_t path_end;               /* the earliest notAfter of that
					 * certificate and those above it: no
					 * response is valid past it, and none
					 * is made after it */
	int64_t delegate_until;         /* with by_ca 0: from then on the
					 * path ends too soon for a responder
					 * certificate, and the CA key signs
					 * (ca_ocsp_by_ca) */
};
/* Whether the CA key itself signs K's responses at NOW. */
static inline int
ca_ocsp_by_ca(const struct ca_ocsp_key *k, int64_t now)
{
	return k->by_ca || now >= k->delegate_until;
}
/* The keys the responder answers for, into KEYS (CA_KEYS_MAX), *N of
 * them: the current key first (by_ca as the handle was opened,
 * CA_OPEN_OCSP_BY_CA), then every retired key whose CA certificate is
 * valid after VALID_AFTER (by_ca 1). Needs no key. */
int ca_ocsp_keys(struct ca *ca, int64_t valid_after, struct ca_ocsp_key *keys,
		 size_t *n, struct mica_err *err);
/* The OCSPResponse to send for a stored response (db_ocsp_response): DER
 * as it is when RESPONDER is NULL or "", else the BasicOCSPResponse DER
 * with the recorded responder certificate RESPONDER added
 * (ca_ocsp_resp_wrap). *OUT heap. Needs no key: the publication from the
 * command line uses it too. */
int ca_ocsp_stored_response(struct ca *ca, const unsigned char *der,
			    size_t der_len, const char *responder,
			    unsigned char **out, size_t *out_len,
			    struct mica_err *err);

/* -------------------------------------------------------------- scep.c -- */

struct ca_scep_state;
void ca_scep_state_free(struct ca_scep_state *s);

/* ------------------------------------------------------------- carry.c -- */


/* Whether a certificate of PROFILE is a CA certificate this root signed
 * (sign-ca's "subca", or a "cross" certificate). */
static inline int
ca_profile_is_ca(const char *profile)
{
	return profile != NULL && (strcmp(profile, "subca") == 0 ||
				   strcmp(profile, "cross") == 0);
}

struct ca_crl_info;
/* Read the CRL file F into *DER (heap) and *CRL (pointing into it): one
 * as mica makes them (a cRLNumber, no unknown critical extension, no
 * narrowed scope). MICA_E_BADREQ "bad_crl" naming F otherwise. */
int ca_crl_file_check(const struct ca_crl_file *f, unsigned char **der,
		      size_t *der_len, struct ca_crl_info *crl,
		      struct mica_err *err);
/* The N CRLs of F read and verified with CA's keys (ca_revoke_from_crls
 * says which are refused), and what they list: *OUT, free with
 * ca_carry_free. Of the store it reads only the newest complete CRL of
 * each key that the CRLs given continue (BACKUP: CA is the backup being
 * restored, all of its; else those before its last restore): a hold
 * listed no later than that one is no news (ca_carry_apply). */
struct ca_carry;
int ca_carry_read(struct ca *ca, const struct ca_crl_file *f, size_t n,
		  int backup, struct ca_carry **out, struct mica_err *err);
void ca_carry_free(struct ca_carry *c);
/* The counts of the CRLs themselves (crls, deltas, expired, max_number). */
const struct ca_carried *ca_carry_sum(const struct ca_carry *c);
/* In a write transaction on DB: carry C's revocations in, audited as
 * ACTOR's, and raise the CRL number floor above C's numbers; signs
 * nothing. *OUT (may be NULL) gets the counts. */
int ca_carry_apply(struct db *db, const struct ca_carry *c, const char *actor,
		   struct ca_carried *out, struct mica_err *err);

/* --------------------------------------------------------------- crl.c -- */

/* Publish a CRL inside a transaction body that runs with CA_TX_OWN (DB is
 * CA's own connection): for each of the CA's keys (the current one and
 * those a rollover retired), read the revoked set of what it signed,
 * take the next number, sign and insert. The transaction commits them
 * all, so a revocation and the CRL that lists it land together. OUT (may
 * be NULL) gets the current key's CRL. */
int ca_crl_publish_tx(struct ca *ca, struct db *db, const char *actor,
		      struct db_crl *out, struct mica_err *err);

/*
 * A change of the revoked set with its CRLs signed ahead, outside the write
 * lock (signing a CRL of a million entries takes about a second, and every
 * issuance would wait for it under the lock): the revocation of SERIAL (as
 * stored, lowercase hex) for REASON, or its release from hold (RELEASE 1).
 * ca_crl_ahead_new reads a snapshot of the store and signs the CRLs that
 * will hold once the change is made, at the time ca_crl_ahead_time says
 * (the change must be recorded with it). The transaction body that makes
 * the change then calls ca_crl_ahead_store, which stores those CRLs if no
 * other CRL was stored since the snapshot, and otherwise (a race with
 * another change or publication, or a snapshot that could not be signed)
 * signs them there, under the lock. A revocation publishes deltas when the
 * CA makes deltas (the complete CRL keeps its long period); a release from
 * hold publishes complete CRLs, which then no longer list it, so that no
 * delta ever needs removeFromCRL. Either way a change and the CRLs that
 * show it commit together. NULL on
 * allocation failure only; free with ca_crl_ahead_free (NULL ok).
 */
/* In a write transaction on DB: revoke the N serials of V (as
 * db_cert_same_key gives them) for keyCompromise at NOW, each audited as
 * ACTOR's cert.revoke with DETAIL; one revoked already for another reason
 * (ca_reason_raisable) has it raised, its date kept, and the audit says
 * from what ("...; raised from superseded"). */
int ca_key_others_revoke(struct db *db, char (*v)[DB_SERIAL_MAX], size_t n,
			 int64_t now, const char *actor, const char *detail,
			 int64_t invalid_at, struct mica_err *err);
/* The invalidity date (RFC 5280 5.3.2) of an entry that has HAVE (0:
 * none) and is told GIVEN (0: nothing) for a revocation dated
 * REVOKED_AT: GIVEN where it is not after REVOKED_AT and earlier than
 * HAVE (or there is none), else HAVE. The date only moves earlier: the
 * earliest word of when it became invalid stands, and one after the
 * revocation would let a relying party that goes by it trust what the
 * key signed in between. db_cert_invalid_set stores the same. */
int64_t ca_invalid_merge(int64_t have, int64_t given, int64_t revoked_at);

struct ca_crl_ahead;
struct ca_crl_ahead *ca_crl_ahead_new(struct ca *ca, const char *serial,
				      int release, int reason, int cascade);
/* The same for a revocation that says when the certificate became
 * invalid (INVALID_AT > 0; RFC 5280 5.3.2), which its CRL entries carry
 * (and those of the key's others, for a keyCompromise with CASCADE, as
 * ca_key_others_revoke dates them). */
struct ca_crl_ahead *ca_crl_ahead_dated(struct ca *ca, const char *serial,
					int release, int reason,
					int64_t invalid_at, int cascade);
int64_t ca_crl_ahead_time(const struct ca_crl_ahead *a);
/* OUT (may be NULL; db_crl_free it) gets the CRL stored that lists the
 * change: that of the key that signed the certificate (a key a rollover
 * retired, maybe), a delta when deltas were published. */
int ca_crl_ahead_store(struct ca *ca, struct db *db, const char *actor,
		       struct ca_crl_ahead *a, struct db_crl *out,
		       struct mica_err *err);
/* A keyCompromise with CASCADE set revokes the key's other certificates
 * too (ca/revoke.c): ca_crl_ahead_new signed its CRLs with those the
 * snapshot showed. In the transaction, before ca_crl_ahead_store, say
 * which N serials of V it revoked: when they are not exactly those, what
 * A signed is dropped and ca_crl_ahead_store signs under the lock. */
void ca_crl_ahead_also(struct ca_crl_ahead *a, char (*v)[DB_SERIAL_MAX],
		       size_t n);
void ca_crl_ahead_free(struct ca_crl_ahead *a);

/* ca_cli_actor's text for effective user USER and, when VIA ("sudo",
 * "doas") and BY (the user who ran it) are not NULL or empty, " (VIA BY)",
 * into OUT (SIZE at least CA_CLI_ACTOR_MAX): the names escaped and cut
 * as ca_cli_actor says. Pure, for the tests. */
void ca_cli_actor_text(char *out, size_t size, const char *user,
		       const char *via, const char *by);

#endif

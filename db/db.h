/*
 * db/db.h - mica's SQLite store.
 *
 * One struct db is one SQLite connection: not thread-safe, use one per
 * thread (WAL mode lets readers and the one writer proceed together).
 * The store keeps state and enforces integrity constraints (unique
 * serials, valid status transitions expressed as conditional UPDATEs); it
 * makes no policy decisions and knows nothing of X.509 or HTTP.
 *
 * Transactions: write functions do NOT open their own transaction. The
 * caller (ca/) groups writes with db_begin()/db_commit()/db_rollback() so
 * that, e.g., a revocation and its audit row land together. A write outside
 * a transaction runs in SQLite's implicit one.
 *
 * Errors: -1 with err filled. SQLITE_BUSY after the busy timeout, SQLITE_FULL,
 * SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN map to MICA_E_UNAVAIL; a
 * unique-constraint violation to MICA_E_CONFLICT; a missing row to
 * MICA_E_NOTFOUND; anything else to MICA_E_INTERNAL. Messages never carry
 * SQL text.
 *
 * Strings returned inside structs are heap copies owned by the struct and
 * released by the matching *_free() (which accept NULL and zero the struct).
 * All times are Unix seconds (int64_t, UTC).
 */
#ifndef MICA_DB_H
#define MICA_DB_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct db;

/* db_open flags */
#define DB_OPEN_CREATE   0x1  /* create the file (mode 0600, must not exist) */
#define DB_OPEN_READONLY 0x2  /* open read-only (no migrations are applied) */
/* Read a backup file (implies DB_OPEN_READONLY): SQLite opens it immutable,
 * so it creates no -wal/-shm beside it and changes nothing (a non-empty
 * -wal beside it, which would be ignored, is refused: MICA_E_BADREQ
 * "backup_wal"); any schema version the embedded migrations know is
 * accepted, not only the newest. Check it with db_schema_check() before
 * reading anything else from it. */
#define DB_OPEN_BACKUP   0x4
/* Read-write, but a store of an older schema is not upgraded: MICA_E_CONFLICT
 * "upgrade_pending" instead (the caller decides whether it may be). */
#define DB_OPEN_NO_MIGRATE 0x8
/* With DB_OPEN_READONLY: a store of an older schema version (one the
 * embedded migrations upgrade) is opened as it is, not refused with
 * "schema_outdated" - to copy the store an older daemon still serves
 * ('mica backup' between a package upgrade and the daemon's restart).
 * Read nothing from it but its pages: the statements of this mica expect
 * the newest schema. */
#define DB_OPEN_OLDER 0x10

/*
 * Open (or with DB_OPEN_CREATE create) the database at PATH, set WAL,
 * synchronous=FULL, foreign_keys=ON, a busy timeout, and apply the embedded
 * schema migrations forward-only (tracked with PRAGMA user_version).
 * Refuses (MICA_E_FORBIDDEN, code "insecure_permissions") a database file
 * that is group- or world-accessible. A read-write open of a store that
 * cannot be written where it lies (a read-only mount, write-protected
 * media, files this user may not write) is MICA_E_UNAVAIL
 * "store_readonly", naming PATH. On success *out owns the connection.
 */
int db_open(const char *path, int flags, struct db **out, struct mica_err *err);

/*
 * What the file at PATH is, read from its first 100 octets without
 * SQLite (nothing is created or locked beside it): DB_FILE_NOT_SQLITE
 * (not an SQLite database at all), DB_FILE_FOREIGN (an SQLite database
 * whose header names another program's application_id), else
 * DB_FILE_MAYBE_MICA (mica's, an SQLite file of no program, one too short
 * to tell, or one that cannot be read). For messages only: a mica store
 * whose first transaction is still in its -wal reads as the last.
 */
#define DB_FILE_MAYBE_MICA 0
#define DB_FILE_NOT_SQLITE 1
#define DB_FILE_FOREIGN    2
int db_file_kind(const char *path);

/*
 * Is the store at PATH open in another process? Every SQLite connection
 * to a WAL database holds a shared lock on the dead-man-switch byte of its
 * -shm file as long as it is open, whatever mica made it - an older
 * 'mica serve' too, even one from before serve.lock. 1 if another process
 * holds it (*PID its id, when the kernel says), 0 if none does or there is
 * no -shm file.
 */
int db_open_elsewhere(const char *path, long *pid);

/* The check db_open makes of the files: the database at PATH exists and
 * it and its -wal and -shm (when present) are regular files that group and
 * others cannot access (MICA_E_FORBIDDEN "insecure_permissions" with a
 * message saying which and what to run; MICA_E_UNAVAIL if PATH cannot be
 * examined), and that the database has one name (MICA_E_UNAVAIL
 * "store_linked" for a hard link: SQLite finds the write-ahead log by
 * name). For a long-running process, whose files an admin may loosen
 * while it runs. ":memory:" passes. */
int db_file_check(const char *path, struct mica_err *err);

/* Close the connection; finalizes cached statements. Accepts NULL. */
void db_close(struct db *db);

/* Schema version the binary knows (highest embedded migration) and the one in
 * the open database. */
int db_schema_version_builtin(void);
int db_schema_version(struct db *db);

/*
 * Is DB's schema exactly the one mica builds for DB's schema version (the
 * embedded migrations up to that version applied to an empty database)?
 * Every object of sqlite_master is compared by type, name, table and SQL,
 * except SQLite's statistics tables (sqlite_stat1, sqlite_stat4, made by
 * ANALYZE). Reading sqlite_master runs none of DB's triggers or views.
 * 0 if equal; MICA_E_BADREQ "schema_mismatch" naming the first object
 * that is extra, missing or changed, or "schema_version" for a version
 * the migrations do not know; other errors as the store's.
 */
int db_schema_check(struct db *db, struct mica_err *err);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. db_rollback never fails visibly (it is
 * used on error paths) and is a no-op outside a transaction. */
int db_begin(struct db *db, struct mica_err *err);
int db_commit(struct db *db, struct mica_err *err);
void db_rollback(struct db *db);
/* A read-only snapshot: BEGIN DEFERRED takes no lock, and every read until
 * db_read_end sees the store as of the first one, while other connections
 * (the writer) go on committing. For work too slow to do under the write
 * lock (signing a large CRL) that must know exactly what it read. */
int db_read_begin(struct db *db, struct mica_err *err);
void db_read_end(struct db *db);

/*
 * Transaction bodies and group commit.
 *
 * A body is a function that makes store writes on the connection it is
 * given and returns 0, or -1 with err filled; it must not open or close a
 * transaction itself. db_run_tx() runs it in a transaction of its own and
 * returns once that transaction is committed (durable on disk with
 * DB_TX_DURABLE; otherwise durable at the next durable commit, which syncs
 * the whole WAL, or lost only with the machine's power, never with the
 * process). A body that fails is rolled back completely.
 *
 * With a writer W (db_writer_open) the body runs on W's connection
 * instead, batched with the bodies other threads hand in meanwhile: one
 * transaction and one sync for the batch, each body inside its own
 * SAVEPOINT so that one failing undoes only itself. The batch runs on the
 * thread of one of its callers (the first to find the connection free),
 * so a body must not depend on which thread runs it. After a failed sync
 * the writer refuses all work (MICA_E_UNAVAIL) until it is closed and
 * opened again. While a batch syncs the next one gathers, so N concurrent
 * writers share syncs instead of queueing for SQLite's lock one sync at a
 * time. The body must then touch only the connection it is given, and the
 * caller must not hold a transaction open on any connection to the same
 * file (it would wait for itself). With W NULL the body runs on DB,
 * unbatched.
 *
 * W also checkpoints the WAL on a thread of its own, off the commit path,
 * and under a steady load has the log start over from 64 MiB on (holding
 * one batch back for a few milliseconds, about once a second at full
 * rate).
 */
struct db_writer;
typedef int (*db_tx_fn)(struct db *db, void *arg, struct mica_err *err);

#define DB_TX_DURABLE 0x1

int db_writer_open(const char *path, struct db_writer **out,
		   struct mica_err *err);
/* Finishes the queued bodies, then stops and closes. Accepts NULL. */
void db_writer_close(struct db_writer *w);
int db_run_tx(struct db_writer *w, struct db *db, int flags, db_tx_fn fn,
	      void *arg, struct mica_err *err);

/* PRAGMA integrity_check == "ok" -> 0; otherwise MICA_E_INTERNAL. */
int db_integrity_check(struct db *db, struct mica_err *err);

/* 0 if no -wal, -shm or -journal of the database PATH exists (SQLite would
 * replay a leftover one into whatever file gets that name); otherwise
 * MICA_E_CONFLICT with EXISTS_CODE, naming the file. */
int db_sides_absent(const char *path, const char *exists_code,
		    struct mica_err *err);

/* Online, consistent copy of the whole database to DEST_PATH (SQLite backup
 * API; DEST_PATH must not exist, created 0600). Works while other
 * connections write. */
int db_backup(struct db *db, const char *dest_path, struct mica_err *err);

/* ---------------------------------------------------------------- CA ---- */

struct db_ca {
	char *name;               /* CA common name */
	char *public_url;         /* base URL for CDP/AIA, no trailing slash */
	char *key_type;           /* "ec-p256", "rsa-2048", ... */
	unsigned char *cert_der;  /* root certificate */
	size_t cert_len;
	/* Private key sealed at rest (see ca/keys.h): */
	unsigned char *key_salt;  size_t key_salt_len;
	int64_t key_iter;         /* PBKDF2 iterations */
	unsigned char *key_nonce; size_t key_nonce_len;
	unsigned char *key_ct;    size_t key_ct_len;   /* ciphertext || tag */
	int crl_days;             /* nextUpdate - thisUpdate, days */
	int64_t created_at;
	int state;                /* enum db_ca_state */
	int key_idx;              /* index of the current key, 0..DB_KEYS_MAX-1 */
	unsigned char *chain_der; /* certificates above cert_der, concatenated
				   * DER (NULL for a self-signed root) */
	size_t chain_len;
	unsigned char *csr_der;   /* the request given out for a certificate
				   * still awaited, or NULL */
	size_t csr_len;
};

/* What a CA is doing (schema/005_hierarchy.sql). */
enum db_ca_state {
	DB_CA_ACTIVE = 0,         /* has its certificate: issues, serves */
	DB_CA_AWAITING = 1,       /* has a key, awaits its certificate (cert_der
				   * NULL) */
	DB_CA_ROOT_ONLY = 2,      /* an offline root: CA certificates and its
				   * own CRL only */
};
/* Most keys a CA ever holds (key indexes 0..DB_KEYS_MAX-1). */
#define DB_KEYS_MAX 16

/* Insert the single CA row. MICA_E_CONFLICT if one exists. cert_der is
 * NULL exactly when the state is DB_CA_AWAITING. */
int db_ca_insert(struct db *db, const struct db_ca *ca, struct mica_err *err);
/* Replace what makes the CA's current signing identity: key_type,
 * cert_der, the sealed key, state, key_idx, chain_der and csr_der of CA
 * (name, URL, CRL period and creation time are kept). For installing a
 * certificate and for a rollover. */
int db_ca_update_current(struct db *db, const struct db_ca *ca,
			 struct mica_err *err);
/* Keep CSR (NULL: none) as the request given out (a pending renewal). */
int db_ca_set_csr(struct db *db, const unsigned char *csr, size_t len,
		  struct mica_err *err);
/* Replace the sealed key (key_salt, key_iter, key_nonce, key_ct of CA;
 * the other fields are ignored), e.g. after a passphrase change. */
int db_ca_update_key(struct db *db, const struct db_ca *ca, struct mica_err *err);
/* Read the CA row. MICA_E_NOTFOUND if none. */
int db_ca_get(struct db *db, struct db_ca *out, struct mica_err *err);
void db_ca_free(struct db_ca *ca);

/* Allowed domains (lowercase, no trailing dot). */
int db_domain_add(struct db *db, const char *domain, struct mica_err *err);
int db_domain_remove(struct db *db, const char *domain, struct mica_err *err);
/* *out is a NULL-terminated array of heap strings; free with db_strv_free. */
int db_domain_list(struct db *db, char ***out, struct mica_err *err);
/* The CA key's MAC of the allowed-domain list (ca/signer.h): 32 octets
 * into MAC and *HAS 1, or *HAS 0 when none is stored yet. */
int db_domains_mac_get(struct db *db, unsigned char mac[32], int *has,
		       struct mica_err *err);
/* Store MAC (32 octets), or clear it with NULL. */
int db_domains_mac_set(struct db *db, const unsigned char *mac,
		       struct mica_err *err);
void db_strv_free(char **v);

/*
 * Profile overrides of validity (profiles themselves are built into ca/).
 * The store refuses a max_days above DB_DAYS_MAX (MICA_E_BADREQ
 * "bad_days"): a sanity bound of the store (100 years), not policy; ca/
 * applies its own policy bounds before it calls.
 */
#define DB_DAYS_MAX 36500
int db_profile_set_days(struct db *db, const char *profile, int default_days,
			int max_days, struct mica_err *err);
/* 0 and fills the two ints when an override exists; MICA_E_NOTFOUND if not. */
int db_profile_get_days(struct db *db, const char *profile, int *default_days,
			int *max_days, struct mica_err *err);

/* ------------------------------------------------------- certificates -- */

enum db_cert_status {
	DB_CERT_ISSUING = 0, /* recorded before signing; no DER (yet) */
	DB_CERT_VALID   = 1, /* signed and recorded; may be expired by date */
	DB_CERT_REVOKED = 2,
};

#define DB_SERIAL_MAX 41   /* 20 octets as hex + NUL */

/* The serial of the daemon's own TLS certificate (schema 018): "" when
 * none was recorded. */
/* Record that 'mica restore' made this store at AT (Unix seconds), and
 * that CRL numbers go on above FLOOR from now (db_ca_crl_floor; schema
 * 025: the time of the restore in microseconds), which also separates the
 * series of the store the backup was taken of from this one's
 * (db_crl_lineage). */
int db_ca_set_restored(struct db *db, int64_t at, int64_t floor,
		       struct mica_err *err);
/* Raise the number the next CRL goes above (db_ca_crl_floor) to NUMBER
 * if it is lower: a CRL of this CA numbered NUMBER exists elsewhere (one
 * carried in from the store a backup was taken of). */
int db_ca_raise_crl_floor(struct db *db, int64_t number,
			  struct mica_err *err);
/* The number the next CRL goes above whatever the store holds (0: none). */
int db_ca_crl_floor(struct db *db, int64_t *out, struct mica_err *err);
/* The CRL number a restore began at (schema 025; 0 for a store never
 * restored, or restored before it): the CRLs numbered above it are the
 * restored store's own. */
int db_ca_restored_floor(struct db *db, int64_t *out,
			 struct mica_err *err);
int db_ca_tls_serial(struct db *db, char serial[DB_SERIAL_MAX],
		     struct mica_err *err);
/* The CA row's public URL (*PUBLIC_URL heap, "" for none; not read when
 * PUBLIC_URL is NULL) and CRL validity in days, as stored (unchecked:
 * bounds are the caller's). */
int db_ca_settings(struct db *db, char **public_url, int *crl_days,
		   struct mica_err *err);
/* Replace the CA row's public URL (any text; what a URL may be is the
 * caller's to decide) or its CRL validity (DAYS > 0). */
int db_ca_set_public_url(struct db *db, const char *url,
			 struct mica_err *err);
int db_ca_set_crl_days(struct db *db, int days, struct mica_err *err);
int db_ca_set_tls_serial(struct db *db, const char *serial,
			 struct mica_err *err);

struct db_cert {
	int64_t id;                  /* row id: stable listing order, cursor */
	char serial[DB_SERIAL_MAX];  /* lowercase hex, even length */
	char *profile;
	char *subject;               /* display form, e.g. "CN=mail.contoso.test" */
	char *names;                 /* names, '\n'-separated, as in the SAN */
	char *request_id;            /* NULL if issued directly */
	int64_t not_before, not_after;
	unsigned char *der; size_t der_len;  /* NULL while DB_CERT_ISSUING */
	unsigned char spki_sha256[32];       /* SHA-256 of SubjectPublicKeyInfo */
	int status;                  /* enum db_cert_status */
	int64_t revoked_at;          /* 0 unless revoked */
	int reason;                  /* RFC 5280 CRLReason, -1 unless revoked */
	int64_t invalid_at;          /* RFC 5280 5.3.2 invalidity date, 0 if
				      * none (revoked only, never on hold,
				      * never after revoked_at) */
	char renewal_of[DB_SERIAL_MAX];  /* "" if none */
	char renewed_by[DB_SERIAL_MAX];  /* "" if none */
	int64_t created_at;
	int key_idx;                 /* the CA key that signs it */
	int renewal_live;            /* renewed by a certificate still valid
				      * at the listing's now: renewed_by, or
				      * one that renewed it in turn (up to 16
				      * links). Listings and db_cert_get_at
				      * only; 0 from db_cert_get */
	const char *token_id;        /* db_cert_reserve only: the enrollment
				      * token whose use the reservation took
				      * (NULL: none); never read back */
};

/* Record the intent to issue, before signing: inserts a DB_CERT_ISSUING row
 * (c->der, c->id, status and revocation fields ignored) and one searchable
 * row per name. MICA_E_CONFLICT (code "serial_collision") if the serial
 * exists. */
int db_cert_reserve(struct db *db, const struct db_cert *c, struct mica_err *err);
/* Store the signed DER and move ISSUING -> VALID: 0. A row revoked while
 * it was being signed (no DER yet) gets the DER and stays revoked: 1 (the
 * caller commits it, so that every signed certificate is on record, and
 * hands the certificate to no one). MICA_E_CONFLICT if the row is neither
 * (completed already). */
int db_cert_complete(struct db *db, const char *serial, const unsigned char *der,
		     size_t der_len, struct mica_err *err);
/* Delete an ISSUING row whose signing failed or was abandoned (nothing
 * was signed), and the SCEP transaction recorded with it. */
int db_cert_discard(struct db *db, const char *serial, struct mica_err *err);
/* An ISSUING row recorded before a time: what a process killed between
 * reserving and completing a certificate left. */
struct db_cert_stale {
	char serial[DB_SERIAL_MAX];
	char token_id[40];           /* whose use it took; "" if none */
	char *names;                 /* '\n'-separated */
};
/* The ISSUING rows created before BEFORE, oldest first, at most MAX -
 * and not before the store was restored (db_ca_set_restored): a backup's
 * issuing rows may have been completed in the store it was taken of. */
int db_cert_stale_list(struct db *db, int64_t before, size_t max,
		       struct db_cert_stale **out, size_t *n,
		       struct mica_err *err);
void db_cert_stale_free(struct db_cert_stale *a, size_t n);
/* MICA_E_NOTFOUND if unknown. When the row holds a certificate, the WAL is
 * synced before it is returned (a group commit makes rows visible before
 * they are on disk); a failed sync is MICA_E_UNAVAIL. */
int db_cert_get(struct db *db, const char *serial, struct db_cert *out,
		struct mica_err *err);
/* db_cert_get, with renewal_live as of NOW. */
int db_cert_get_at(struct db *db, const char *serial, int64_t now,
		   struct db_cert *out, struct mica_err *err);
void db_cert_free(struct db_cert *c);

/* Where a page of a listing ends, and the next one starts (keyset
 * pagination: a page costs the same however deep it is). ID is the last
 * row's id (0: from the start); in the expiry orders KEYED is 1 and KEY
 * is the last row's not_after. */
struct db_cert_cursor {
	int64_t id;
	int64_t key;
	int keyed;
};

struct db_cert_filter {
	int status;            /* -1 any; DB_CERT_*; or DB_FILTER_EXPIRED /
				* DB_FILTER_CURRENT (valid and not expired) */
	int64_t now;           /* reference time for expiry filters */
	int64_t expiring_before; /* 0 none; else not_after < this and > now,
				  * and not renewal_live */
	/* NULL or "": none. Else a name of the certificate, ASCII
	 * case-insensitive: exactly, or, ending in '*', every name that
	 * begins with what precedes the '*' (a prefix, at least one
	 * character). Printable ASCII only, at most DB_NAME_FILTER_MAX. */
	const char *name;
	/* NULL or "": none. Else only the certificates whose issuance took
	 * a use of the enrollment token of this id (1..39 characters of
	 * lowercase hex; MICA_E_BADREQ "bad_filter" otherwise). */
	const char *token_id;
	struct db_cert_cursor cursor;   /* all zero: the first page */
	int limit;             /* 1..1000 */
	/* 0: walk as far as the page needs. N > 0: a newest-first listing
	 * with a filter looks at no more than N ids, and its page (full,
	 * short or empty) ends with a cursor where the look stopped while
	 * older ids remain (so a rare match deep in a large store costs
	 * bounded pages, never one unbounded request). */
	int64_t scan_max;
};
#define DB_FILTER_EXPIRED 10
#define DB_FILTER_CURRENT 11
#define DB_NAME_FILTER_MAX 1024

/* The certificates matching F, one page, in the order the filter implies:
 *   expiring_before set     soonest expiry first (not_after, then id)
 *   else DB_FILTER_EXPIRED  most recently expired first
 *   else                    newest first (id descending)
 * F->cursor must be one this function returned for the same order
 * (keyed in the expiry orders, not keyed otherwise): MICA_E_BADREQ
 * "bad_cursor" if not. Every plan walks an index in the page's order and
 * stops at its end, except a name search, which reads the certificates of
 * the names that match and sorts them when they are few (an exact name, a
 * narrow prefix), and otherwise walks the order's index checking names,
 * and a token's, which reads that token's certificates alone (newest
 * first in its index's order, the expiry orders sorted).
 * *out is an array of *n certs (DER not loaded: der = NULL) to free with
 * db_cert_array_free. *next is all zero when no more rows. */
int db_cert_list(struct db *db, const struct db_cert_filter *f,
		 struct db_cert **out, size_t *n, struct db_cert_cursor *next,
		 struct mica_err *err);
void db_cert_array_free(struct db_cert *a, size_t n);

/* VALID or ISSUING -> REVOKED with reason and time. A certificate already
 * revoked with reason certificateHold (6) may be revoked again with another
 * reason. Otherwise an already revoked certificate -> MICA_E_CONFLICT
 * ("already_revoked"). */
int db_cert_revoke(struct db *db, const char *serial, int reason, int64_t at,
		   struct mica_err *err);
/* REVOKED with reason FROM -> reason TO, the revocation date kept (a
 * reason raised to keyCompromise: RFC 5280 5.3.1, CA/B Forum BR 7.2.2).
 * Neither may be certificateHold (db_cert_revoke, db_cert_unrevoke):
 * MICA_E_BADREQ. Not revoked with FROM (or not there):
 * MICA_E_CONFLICT "state_changed". */
int db_cert_reason_set(struct db *db, const char *serial, int from, int to,
		       struct mica_err *err);
/* SERIAL, revoked (not on hold), became invalid at AT (> 0; RFC 5280
 * 5.3.2 invalidityDate): stored when it is not after the revocation date
 * and earlier than the date SERIAL has (or it has none); otherwise the
 * date stays as it is, and that is no error - the earliest word stands.
 * Not revoked, or on hold: MICA_E_CONFLICT "state_changed". */
int db_cert_invalid_set(struct db *db, const char *serial, int64_t at,
			struct mica_err *err);
/* The serials of the other certificates of SERIAL's key (the same
 * SubjectPublicKeyInfo) that a revocation for keyCompromise must revoke
 * too, or whose reason it raises: being signed, valid, on hold, or revoked
 * for unspecified, affiliationChanged, superseded, cessationOfOperation or
 * privilegeWithdrawn (ca_reason_raisable), and not expired at NOW - or of
 * profile KEEP (NULL: none), expired or not; oldest first. *OUT (free())
 * holds *N of them (NULL and 0 when none). */
int db_cert_same_key(struct db *db, const char *serial, int64_t now,
		     const char *keep, char (**out)[DB_SERIAL_MAX], size_t *n,
		     struct mica_err *err);
/* The serials of the valid certificates of the key whose
 * SubjectPublicKeyInfo has SHA-256 SPKI_SHA256, of PROFILE, recorded at
 * or after SINCE and not expired at NOW: newest first, at most MAX (> 0).
 * *OUT (free()) holds *N of them (NULL and 0 when none). */
int db_cert_of_key(struct db *db, const unsigned char spki_sha256[32],
		   const char *profile, int64_t since, int64_t now, size_t max,
		   char (**out)[DB_SERIAL_MAX], size_t *n,
		   struct mica_err *err);
/* Whether a certificate of any status records the key whose
 * SubjectPublicKeyInfo has SHA-256 SPKI_SHA256: 1 with SERIAL its newest,
 * 0 (SERIAL "") when none, -1 on error. */
int db_cert_key_certified(struct db *db, const unsigned char spki_sha256[32],
			  char serial[DB_SERIAL_MAX], struct mica_err *err);
/* REVOKED with reason certificateHold -> VALID (or ISSUING if no DER).
 * MICA_E_CONFLICT ("not_on_hold") otherwise. */
int db_cert_unrevoke(struct db *db, const char *serial, struct mica_err *err);
/* Certificate SERIAL was issued for request REQUEST_ID, recorded after it
 * (a submission with a token: certificate and request in one
 * transaction). MICA_E_NOTFOUND if SERIAL is unknown or has one. */
int db_cert_set_request(struct db *db, const char *serial, const char *request_id,
			struct mica_err *err);
/* Link OLD -> NEW (renewed_by on old, renewal_of on new). */
int db_cert_link_renewal(struct db *db, const char *old_serial,
			 const char *new_serial, struct mica_err *err);
/* Undo that link, each side only if it names the other (else nothing). */
int db_cert_unlink_renewal(struct db *db, const char *old_serial,
			   const char *new_serial, struct mica_err *err);

/* Calls CB for every revoked certificate with not_after > NOW, in serial
 * order, streaming (no full copy in memory), with its invalidity date (0
 * none). CB returning non-zero stops the walk and makes this return -1
 * with err untouched by the store. */
typedef int (*db_revoked_cb)(void *ctx, const char *serial_hex,
			     int64_t revoked_at, int reason,
			     int64_t invalid_at);
int db_revoked_foreach(struct db *db, int64_t now, db_revoked_cb cb, void *ctx,
		       struct mica_err *err);
/* The same for the certificates signed by key KEY_IDX only (its CRL),
 * and those of profile KEEP (NULL: none) however long ago they expired. */
int db_revoked_foreach_key(struct db *db, int key_idx, int64_t now,
			   const char *keep, db_revoked_cb cb, void *ctx,
			   struct mica_err *err);

struct db_counts {
	int64_t issuing, valid, revoked, expired, pending_requests;
};
int db_counts(struct db *db, int64_t now, struct db_counts *out,
	      struct mica_err *err);

/* --------------------------------------------------------------- CRLs -- */

struct db_crl {
	int64_t number;
	int64_t this_update, next_update;
	unsigned char *der; size_t der_len;
	int key_idx;             /* the CA key that signed it */
	int64_t delta_base;      /* a delta CRL: the number of the complete
				  * CRL it completes; 0: a complete CRL */
	int body_put;            /* db_crl_body_put wrote DER beside the
				  * store: db_crl_insert records only its
				  * length and BODY_SHA256 */
	unsigned char body_sha256[32];
};
/* Write CRL's DER (numbered, not yet recorded) to the folder FILE-crls
 * beside the store's FILE (mica.db-crls/NUMBER.crl), and sync it: outside any
 * transaction, since a CRL of a million entries is tens of megabytes,
 * whose writing would otherwise hold the store's write lock (schema 013).
 * Sets CRL->body_put, so that db_crl_insert records only the body's length
 * and hash. Leaves body_put 0 (and returns 0) where the body goes into the
 * row after all: a store in memory, or a file of that number already there
 * (another process signed the same number; only one can be recorded).
 * Bodies no longer needed (all but each key's two newest complete and
 * delta CRLs, and any never recorded) are removed first. */
int db_crl_body_put(struct db *db, struct db_crl *crl, struct mica_err *err);
/* Highest CRL number stored (of any key: one series per CA), 0 if none. */
int db_crl_last_number(struct db *db, int64_t *out, struct mica_err *err);
/* The highest number of key KEY_IDX's complete CRLs stored, 0 if none;
 * with BEFORE_RESTORE, of those made before the store was last restored
 * (numbered up to the floor the restore set: the series of the store a
 * backup was taken of), all of them if it never was. */
int db_crl_lineage(struct db *db, int key_idx, int before_restore,
		   int64_t *out, struct mica_err *err);
/* The thisUpdate of the highest-numbered CRL stored (of any key), 0 if
 * none: the date the next CRL must not go below (ca/crl.c). */
int db_crl_last_date(struct db *db, int64_t *out, struct mica_err *err);
/* The latest nextUpdate of the complete CRLs stored (of any key), 0 if
 * none: until when a relying party may hold one. */
int db_crl_max_next_update(struct db *db, int64_t *out, struct mica_err *err);
/* Insert; MICA_E_CONFLICT if NUMBER is not greater than every stored one. */
int db_crl_insert(struct db *db, const struct db_crl *crl, struct mica_err *err);
/* Key KEY_IDX's latest delta CRL (with its DER if WITH_DER), as
 * db_crl_latest_key does for complete CRLs (which it alone returns). */
int db_crl_latest_delta(struct db *db, int key_idx, int with_der,
			struct db_crl *out, struct mica_err *err);
/* The period of delta CRLs in hours, 0 when the CA publishes none; set
 * it (1..168, 0 turns them off). */
int db_crl_delta_hours(struct db *db, int *hours, struct mica_err *err);
int db_crl_delta_hours_set(struct db *db, int hours, struct mica_err *err);
/* The CRL of key 0 with the highest number. MICA_E_NOTFOUND if none. */
int db_crl_latest(struct db *db, struct db_crl *out, struct mica_err *err);
/* The same without the DER (der NULL): number and dates only, cheap for a
 * CRL of tens of megabytes. */
int db_crl_latest_info(struct db *db, struct db_crl *out, struct mica_err *err);
/* Both for the CRLs of key KEY_IDX; WITH_DER 0 leaves der NULL. */
int db_crl_latest_key(struct db *db, int key_idx, int with_der,
		      struct db_crl *out, struct mica_err *err);
void db_crl_free(struct db_crl *crl);

/* ------------------------------------------------------ the CA's keys -- */

/* Keys beside the current one (which lives in the CA row). */
enum db_key_role {
	DB_KEY_RETIRED = 1,      /* signs the CRL of what it issued only */
	DB_KEY_PENDING = 2,      /* a renewal's new key, awaiting its
				  * certificate; at most one */
};

struct db_ca_key {
	int idx;                 /* 0..DB_KEYS_MAX-1 */
	int role;                /* enum db_key_role */
	char *key_type;
	unsigned char *key_salt;  size_t key_salt_len;
	int64_t key_iter;
	unsigned char *key_nonce; size_t key_nonce_len;
	unsigned char *key_ct;    size_t key_ct_len;
	unsigned char *cert_der;  size_t cert_len;    /* NULL while pending */
	unsigned char *chain_der; size_t chain_len;   /* may be NULL */
	int64_t created_at;
};

/* Insert a key; MICA_E_CONFLICT if its index is taken or (pending) a
 * pending key exists already. */
int db_ca_key_insert(struct db *db, const struct db_ca_key *k,
		     struct mica_err *err);
/* Remove key IDX; MICA_E_NOTFOUND if there is none. */
int db_ca_key_delete(struct db *db, int idx, struct mica_err *err);
/* Replace the sealed key of IDX (a passphrase change). */
int db_ca_key_update_sealed(struct db *db, const struct db_ca_key *k,
			    struct mica_err *err);
/* Every key of the table, by index; free with db_ca_key_array_free. */
int db_ca_key_list(struct db *db, struct db_ca_key **out, size_t *n,
		   struct mica_err *err);
void db_ca_key_free(struct db_ca_key *k);
void db_ca_key_array_free(struct db_ca_key *a, size_t n);

/* -------------------------------------------------- imported CRLs -- */

/* A CRL of a CA above this one (the offline root's), as imported. */
struct db_root_crl {
	unsigned char *issuer_ski; size_t issuer_ski_len;   /* 1..64 octets */
	int64_t number;           /* cRLNumber (0 when it has none) */
	int64_t this_update, next_update;
	unsigned char *der; size_t der_len;
	int64_t imported_at;
};
/* Insert; MICA_E_CONFLICT "crl_not_newer" unless NUMBER is greater than
 * every stored CRL of the same issuer key (a CRL without a number counts
 * by its thisUpdate instead). */
int db_root_crl_insert(struct db *db, const struct db_root_crl *c,
		       struct mica_err *err);
/* The latest CRL of the issuer key SKI (highest number, then the latest
 * thisUpdate). MICA_E_NOTFOUND if none. */
int db_root_crl_latest(struct db *db, const unsigned char *ski,
		       size_t ski_len, struct db_root_crl *out,
		       struct mica_err *err);
/* The same, NTH (0 the latest) in that order: every CRL of SKI imported
 * is kept. MICA_E_NOTFOUND past the oldest. */
int db_root_crl_nth(struct db *db, const unsigned char *ski, size_t ski_len,
		    int64_t nth, struct db_root_crl *out, struct mica_err *err);
/* Which that latest CRL is, without reading it (an index lookup): its
 * NUMBER and THIS_UPDATE, *FOUND 0 when none was imported. */
int db_root_crl_last(struct db *db, const unsigned char *ski, size_t ski_len,
		     int64_t *number, int64_t *this_update, int *found,
		     struct mica_err *err);
void db_root_crl_free(struct db_root_crl *c);

/* ----------------------------------------------------------- requests -- */

enum db_req_status { DB_REQ_PENDING = 0, DB_REQ_ISSUED = 1, DB_REQ_DENIED = 2 };

struct db_request {
	char id[40];             /* unguessable, from ca/ */
	int status;              /* enum db_req_status */
	char *profile;
	unsigned char *csr_der; size_t csr_len;
	char *names;             /* '\n'-separated, as checked at submission */
	char *subject;           /* display form of the CSR subject */
	int days;                /* requested validity, 0 = profile default */
	char *client;            /* submitter address or "cli" */
	int64_t submitted_at, decided_at;
	char *decided_by;        /* NULL while pending */
	char *deny_reason;       /* NULL unless denied */
	char serial[DB_SERIAL_MAX]; /* "" unless issued */
	int64_t rowid;           /* its place in listings (db_req_list only) */
};

int db_req_insert(struct db *db, const struct db_request *r, struct mica_err *err);
int db_req_get(struct db *db, const char *id, struct db_request *out,
	       struct mica_err *err);
void db_req_free(struct db_request *r);
/* STATUS -1 for all. In the order recorded (rowid), after the row
 * AFTER_ROW when > 0; at most LIMIT rows (clamped to 1..10000), *MORE set
 * when more follow (the next page then starts after the last row's
 * rowid). */
int db_req_list(struct db *db, int status, int64_t after_row, int limit,
		struct db_request **out, size_t *n, int *more,
		struct mica_err *err);
void db_req_array_free(struct db_request *a, size_t n);
/* PENDING -> ISSUED (SERIAL set) or DENIED (REASON set). MICA_E_CONFLICT
 * ("already_decided") if not pending; MICA_E_NOTFOUND if unknown. */
int db_req_decide(struct db *db, const char *id, int status, const char *by,
		  const char *serial, const char *reason, int64_t at,
		  struct mica_err *err);
int db_req_count_pending(struct db *db, int64_t *out, struct mica_err *err);
/* Pending requests whose client is CLIENT. */
int db_req_count_pending_client(struct db *db, const char *client,
				int64_t *out, struct mica_err *err);
/* A pending request for PROFILE whose CSR is exactly CSR_DER (there is
 * one at most, unless it was queued before schema 003): its id into ID,
 * or "" if there is none. */
int db_req_find_pending(struct db *db, const char *profile,
			const unsigned char *csr_der, size_t csr_len,
			char id[40], struct mica_err *err);

/* ------------------------------------------------------------- tokens -- */

enum db_token_kind { DB_TOKEN_ENROLL = 0, DB_TOKEN_ADMIN = 1 };

struct db_token {
	char id[40];             /* public identifier (part of the token) */
	unsigned char hash[32];  /* SHA-256 of the secret part; never the secret */
	int kind;                /* enum db_token_kind */
	char *profile;           /* NULL = any profile (enroll) */
	char *names;             /* '\n'-separated name patterns; NULL = any
				  * name within the CA's domains */
	int64_t uses_left;       /* -1 = unlimited */
	int64_t expires_at;      /* 0 = never */
	int64_t created_at;
	char *created_by;
	char *comment;
	int revoked;             /* deleted tokens are kept, revoked = 1 */
	int64_t last_used_at;
	int64_t rowid;           /* its place in listings (db_token_list only) */
};

int db_token_insert(struct db *db, const struct db_token *t, struct mica_err *err);
/* Includes revoked tokens; MICA_E_NOTFOUND if unknown. */
int db_token_get(struct db *db, const char *id, struct db_token *out,
		 struct mica_err *err);
void db_token_free(struct db_token *t);
/* Atomically consume one use: succeeds only if not revoked, not expired at
 * NOW and uses_left is -1 or > 0 (then decremented). MICA_E_FORBIDDEN
 * ("token_exhausted") otherwise. Two concurrent consumers of a one-use token:
 * exactly one succeeds. */
int db_token_consume(struct db *db, const char *id, int64_t now,
		     struct mica_err *err);
/* Give back one use (after a failed issuance). */
int db_token_refund(struct db *db, const char *id, struct mica_err *err);
/* Record NOW as the token's last use without consuming one.
 * MICA_E_NOTFOUND if unknown. */
int db_token_touch(struct db *db, const char *id, int64_t now, struct mica_err *err);
/* Tokens newest first (rowid: the order made, backwards), hashes
 * included: those recorded before the row BEFORE_ROW when > 0, at most
 * LIMIT (clamped to 1..1000). USABLE: only those neither revoked, used up
 * nor expired at NOW, walking the index of the first two (schema 020)
 * through no more than SCAN_MAX entries when > 0. *NEXT_ROW is where the
 * next page starts (its BEFORE_ROW), 0 when none follows: the last row's
 * rowid when more rows follow, or, the walk bounded, the lowest rowid it
 * looked at (the page short, even empty). */
int db_token_list(struct db *db, int usable, int64_t now, int64_t before_row,
		  int limit, int64_t scan_max, struct db_token **out, size_t *n,
		  int64_t *next_row, struct mica_err *err);
void db_token_array_free(struct db_token *a, size_t n);
/* Mark revoked. MICA_E_NOTFOUND if unknown or already revoked. */
int db_token_revoke(struct db *db, const char *id, struct mica_err *err);

/* ---------------------------------------------------- compromised keys -- */

/* Add the public key of certificate SERIAL (its spki_sha256) to the keys
 * never certified again, at AT, and with it KEY_ID if not NULL (a second
 * identity of the same key, ca_key_rsa_id); nothing if it is there
 * already or SERIAL is unknown. Rows are never updated or removed (the
 * schema refuses). */
int db_key_compromised_add(struct db *db, const char *serial, int64_t at,
			   const unsigned char *key_id, struct mica_err *err);
/* The next certificate of a compromised key whose second identity is
 * still to be added (schema/014): *FOUND = 1 with SERIAL and a heap copy
 * of its DER in *DER, *LEN (NULL, 0 if it has none); else *FOUND = 0. */
int db_key_todo_next(struct db *db, char serial[DB_SERIAL_MAX],
		     unsigned char **der, size_t *len, int *found,
		     struct mica_err *err);
/* Done with SERIAL: add KEY_ID (if not NULL) beside its compromised key,
 * with the same time, and take SERIAL off the list. */
int db_key_todo_done(struct db *db, const char *serial,
		     const unsigned char *key_id, struct mica_err *err);
/* The next certificate revoked for keyCompromise before its key's other
 * certificates were revoked with it (schema/016): *FOUND = 1 with its
 * SERIAL, else 0. db_key_siblings_done takes SERIAL off that list. */
int db_key_siblings_next(struct db *db, char serial[DB_SERIAL_MAX],
			 int *found, struct mica_err *err);
int db_key_siblings_done(struct db *db, const char *serial,
			 struct mica_err *err);
/* *OUT = 1 if the key with this SHA-256 of its SubjectPublicKeyInfo is
 * compromised, else 0 (one primary-key lookup). */
int db_key_compromised(struct db *db, const unsigned char spki_sha256[32],
		       int *out, struct mica_err *err);

/* ------------------------------------------------- renewal challenges -- */

/* Store a renewal nonce for certificate SERIAL by the SHA-256 HASH of its
 * text, live until EXPIRES_AT (> NOW). In the same savepoint, every
 * nonce expired at NOW goes, and SERIAL keeps at most KEEP (>= 1) live
 * ones: the oldest make room. MICA_E_CONFLICT if HASH exists. */
int db_challenge_add(struct db *db, const char *serial,
		     const unsigned char hash[32], int64_t now,
		     int64_t expires_at, int keep, struct mica_err *err);
/* Use the nonce with HASH once: it must exist, be for SERIAL and be live
 * at NOW, and end no later than NOW + TTL (nonces live TTL seconds: one
 * ending later was made under a clock since set back, and would live as
 * long again as the step); it is deleted. MICA_E_FORBIDDEN ("bad_proof")
 * otherwise. Two concurrent users of one nonce: exactly one succeeds. */
int db_challenge_consume(struct db *db, const char *serial,
			 const unsigned char hash[32], int64_t now, int64_t ttl,
			 struct mica_err *err);

/* -------------------------------------------------------------- audit -- */

struct db_audit {
	int64_t id;
	int64_t at;
	char *actor;   /* "cli:USER", "admin:<token id>", "enroll:<token id>", "anon@ip" */
	char *action;  /* "issue", "revoke", "crl", "token.create", ... */
	char *target;  /* serial, request id, token id; may be NULL */
	char *detail;  /* short free text; never a secret */
};
int db_audit_add(struct db *db, int64_t at, const char *actor, const char *action,
		 const char *target, const char *detail, struct mica_err *err);
/* Rows with at >= SINCE, newest first, at most LIMIT (1..10000); if
 * BEFORE_ID > 0 only rows with id < BEFORE_ID. */
int db_audit_list(struct db *db, int64_t since, int64_t before_id, int limit,
		  struct db_audit **out, size_t *n, struct mica_err *err);
void db_audit_array_free(struct db_audit *a, size_t n);

/* --------------------------------------------------------------- ACME -- */

/*
 * ACME (RFC 8555) accounts, External Account Bindings, orders and
 * authorizations (db/acme_accounts.c, db/acme_orders.c). Statuses are the
 * protocol's words ("valid", "pending"...); the store checks that they are
 * among the allowed ones and makes every transition a conditional UPDATE
 * (MICA_E_CONFLICT "acme_state" when the row is not in the state the
 * caller expected, MICA_E_NOTFOUND when there is no row).
 */
#define DB_ACME_STATUS_MAX 16

struct db_acme_account {
	char id[40];
	unsigned char thumbprint[32];  /* RFC 7638 SHA-256 of the key */
	char *jwk;                     /* the public key, JSON */
	char status[DB_ACME_STATUS_MAX];   /* valid, deactivated, revoked */
	char *contact;                 /* '\n'-separated URLs, NULL if none */
	char token_id[40];             /* EAB-bound token, "" if none */
	char *client;
	int64_t created_at, deactivated_at;
	int64_t rowid;                 /* its place in listings (db_acme_account_list only) */
};
/* MICA_E_CONFLICT "key_in_use" if another account has the key. */
int db_acme_account_insert(struct db *db, const struct db_acme_account *a,
			   struct mica_err *err);
int db_acme_account_get(struct db *db, const char *id,
			struct db_acme_account *out, struct mica_err *err);
int db_acme_account_by_key(struct db *db, const unsigned char thumbprint[32],
			   struct db_acme_account *out, struct mica_err *err);
/* CONTACT NULL clears it. */
int db_acme_account_set_contact(struct db *db, const char *id,
				const char *contact, struct mica_err *err);
/* valid -> deactivated at AT. */
int db_acme_account_deactivate(struct db *db, const char *id, int64_t at,
			       struct mica_err *err);
/* Replace the key of valid account ID, if it is still OLD_THUMB (key
 * rollover): "key_in_use" if another account has the new key. */
int db_acme_account_set_key(struct db *db, const char *id,
			    const unsigned char old_thumb[32],
			    const unsigned char new_thumb[32], const char *jwk,
			    struct mica_err *err);
/* Newest first (rowid: the order made, backwards, which a clock set
 * back does not reorder): those made before the row BEFORE_ROW when > 0,
 * at most LIMIT (clamped to 1..10001). *NEXT_ROW (NEXT_ROW may be NULL)
 * is where the next page starts (its BEFORE_ROW): the last row's rowid
 * when more rows follow, 0 when none does. */
int db_acme_account_list(struct db *db, int64_t before_row, int limit,
			 struct db_acme_account **out, size_t *n,
			 int64_t *next_row, struct mica_err *err);
void db_acme_account_free(struct db_acme_account *a);
void db_acme_account_array_free(struct db_acme_account *a, size_t n);

struct db_acme_eab {
	char token_id[40];
	unsigned char key[32];
	int has_key;                   /* 0 once bound (the key is wiped) */
	char account_id[40];           /* "" until bound */
	int64_t bound_at;
};
int db_acme_eab_insert(struct db *db, const char *token_id,
		       const unsigned char key[32], struct mica_err *err);
int db_acme_eab_get(struct db *db, const char *token_id,
		    struct db_acme_eab *out, struct mica_err *err);
/* Bind the unbound credential TOKEN_ID to ACCOUNT_ID and wipe its key;
 * MICA_E_CONFLICT "eab_used" if it was bound meanwhile. */
int db_acme_eab_bind(struct db *db, const char *token_id,
		     const char *account_id, int64_t at, struct mica_err *err);

struct db_acme_order {
	char id[40];
	char account_id[40];
	char status[DB_ACME_STATUS_MAX];   /* pending ready processing valid invalid */
	char *names;                   /* '\n'-separated, "*.x" for wildcards */
	char *profile;
	int64_t expires, created_at, updated_at;
	char serial[DB_SERIAL_MAX];    /* "" unless valid */
	char *error_code, *error_detail;   /* NULL unless invalid */
	char *replaces;                /* RFC 9773 certID, NULL if none */
	char replaces_serial[DB_SERIAL_MAX];
	int64_t rowid;                 /* its place in listings (db_acme_order_list only) */
};
int db_acme_order_insert(struct db *db, const struct db_acme_order *o,
			 struct mica_err *err);
int db_acme_order_get(struct db *db, const char *id, struct db_acme_order *out,
		      struct mica_err *err);
/* FROM -> TO at AT; SERIAL for "valid", CODE and DETAIL for "invalid"
 * (each NULL otherwise). */
int db_acme_order_move(struct db *db, const char *id, const char *from,
		       const char *to, const char *serial, const char *code,
		       const char *detail, int64_t at, struct mica_err *err);
/* ACCOUNT_ID's orders (every account's if NULL), newest first (rowid,
 * as db_acme_account_list): those made before the row BEFORE_ROW when
 * > 0, at most LIMIT (clamped to 1..10001); *NEXT_ROW (NEXT_ROW may be
 * NULL) where the next page starts, 0 when no row follows. */
int db_acme_order_list(struct db *db, const char *account_id,
		       int64_t before_row, int limit,
		       struct db_acme_order **out, size_t *n,
		       int64_t *next_row, struct mica_err *err);
/* *OUT: the orders of ACCOUNT_ID still pending or ready and not expired
 * at NOW; *FIRST_EXPIRY (may be NULL): when the first of them expires, 0
 * if there is none. */
int db_acme_order_count_open(struct db *db, const char *account_id,
			     int64_t now, int64_t *out, int64_t *first_expiry,
			     struct mica_err *err);
/* The order whose certificate is SERIAL; MICA_E_NOTFOUND if none. */
int db_acme_order_by_serial(struct db *db, const char *serial,
			    struct db_acme_order *out, struct mica_err *err);
/* *OUT 1 if an order other than EXCEPT_ID (may be NULL) that replaces
 * SERIAL is valid or on its way to being (not invalid, nor pending or
 * ready and expired at NOW), else 0. */
int db_acme_order_replacing(struct db *db, const char *serial,
			    const char *except_id, int64_t now, int *out,
			    struct mica_err *err);
void db_acme_order_free(struct db_acme_order *o);
void db_acme_order_array_free(struct db_acme_order *a, size_t n);

struct db_acme_authz {
	char id[40];
	char order_id[40];
	char account_id[40];
	char kind[4];                  /* "dns" or "ip" */
	char name[256];                /* without "*." */
	int wildcard;
	char status[DB_ACME_STATUS_MAX];   /* pending valid invalid deactivated */
	int64_t expires;
	char token[64];
	char chall[16];                /* "" or the challenge type tried */
	char chall_status[DB_ACME_STATUS_MAX];   /* "" processing valid invalid */
	int64_t validated_at;
	char *error_code, *error_detail;
};
int db_acme_authz_insert(struct db *db, const struct db_acme_authz *a,
			 struct mica_err *err);
int db_acme_authz_get(struct db *db, const char *id, struct db_acme_authz *out,
		      struct mica_err *err);
/* The authorizations of ORDER_ID, in insertion order. */
int db_acme_authz_of_order(struct db *db, const char *order_id,
			   struct db_acme_authz **out, size_t *n,
			   struct mica_err *err);
/* Start challenge CHALL on a pending authorization no challenge was tried
 * on yet (chall_status processing). */
int db_acme_authz_start(struct db *db, const char *id, const char *chall,
			struct mica_err *err);
/* The challenge being validated succeeded (VALID 1: authorization valid,
 * until EXPIRES) or failed (CODE, DETAIL), at AT. */
int db_acme_authz_finish(struct db *db, const char *id, int valid,
			 const char *code, const char *detail, int64_t at,
			 int64_t expires, struct mica_err *err);
/* The challenge being validated on an authorization deactivated
 * meanwhile ended (VALID 1, or CODE and DETAIL): the challenge records
 * it, the authorization stays deactivated. */
int db_acme_authz_settle(struct db *db, const char *id, int valid,
			 const char *code, const char *detail,
			 struct mica_err *err);
/* pending or valid -> deactivated. */
int db_acme_authz_deactivate(struct db *db, const char *id,
			     struct mica_err *err);
/* A valid authorization of ACCOUNT_ID for the identifier, not expired at
 * NOW and validated no later than NOW (WILDCARD -1: either kind);
 * MICA_E_NOTFOUND if none. A proof dated after NOW was made under a
 * clock since set back: counting its days from then would stretch them
 * by the step. */
int db_acme_authz_find_valid(struct db *db, const char *account_id,
			     const char *kind, const char *name, int wildcard,
			     int64_t now, struct db_acme_authz *out,
			     struct mica_err *err);
/* Ids of orders 'processing' since before BEFORE (a process killed while
 * finalizing), at most MAX. */
int db_acme_order_stale(struct db *db, int64_t before, size_t max,
			char (**ids)[40], size_t *n, struct mica_err *err);
/* RFC 8555 7.5.2: the client gives the identifier of authorization ID
 * up - every other valid authorization of its account for it (reused
 * ones are copies) is deactivated, and their orders not yet issued
 * become invalid. */
int db_acme_authz_relinquish(struct db *db, const char *id, int64_t now,
			     struct mica_err *err);
/* Ids of authorizations left processing (a restart), at most MAX. */
int db_acme_authz_processing(struct db *db, size_t max, char (**ids)[40],
			     size_t *n, struct mica_err *err);
void db_acme_authz_free(struct db_acme_authz *a);
void db_acme_authz_array_free(struct db_acme_authz *a, size_t n);

/* --------------------------------------------------------------- ocsp -- */

/* A certificate's revocation state, as an OCSP response states it. */
struct db_cert_state {
	int status;            /* DB_CERT_* */
	int64_t revoked_at;    /* 0 unless revoked */
	int reason;            /* -1 unless revoked */
	int key_idx;           /* the CA key that signed it */
	int64_t invalid_at;    /* invalidity date, 0 none */
};
/* SERIAL's state; MICA_E_NOTFOUND "cert_not_found" if never recorded. */
int db_cert_state_get(struct db *db, const char *serial,
		      struct db_cert_state *s, struct mica_err *err);

struct db_ocsp_response {
	unsigned char *der; size_t der_len;
	/* "": DER is the whole OCSPResponse (a row stored before schema
	 * 008). Else DER is the BasicOCSPResponse without its certs, to be
	 * served with this responder certificate (db_ocsp_responder_get). */
	char responder[DB_SERIAL_MAX];
	int64_t this_update, next_update;
};
/* The pre-signed response of SERIAL, a certificate of key KEY_IDX, whose
 * nextUpdate is after FRESH_AFTER and that was signed by the CA key
 * (BY_CA 1) or by a delegated responder (0); MICA_E_NOTFOUND if there is
 * none. OUT's DER heap. */
int db_ocsp_get(struct db *db, const char *serial, int key_idx, int by_ca,
		int64_t fresh_after, struct db_ocsp_response *out,
		struct mica_err *err);
void db_ocsp_response_free(struct db_ocsp_response *r);
/* Store (or replace) SERIAL's response, which states S, but only while
 * the certificate is still in state S: *STORED (may be NULL) 1 if it
 * was, 0 if the certificate changed meanwhile (nothing stored, no
 * error). Any later change of its state drops the row (a trigger).
 * RESPONDER: the serial of the recorded responder certificate to serve
 * DER (a BasicOCSPResponse without certs) with; NULL: DER is a whole
 * OCSPResponse. BY_CA: the CA key signed it (RESPONDER must be NULL).
 * REFRESH_AT: when the background refresh should sign it again (stored
 * only if NEXT_UPDATE comes before the certificate expires: else never).
 * The row gets the next change number (schema/012), and the certificate's
 * mark (db_ocsp_marked) goes. */
int db_ocsp_put(struct db *db, const char *serial,
		const struct db_cert_state *s, const unsigned char *der,
		size_t der_len, const char *responder, int by_ca,
		int64_t this_update, int64_t next_update, int64_t refresh_at,
		int *stored, struct mica_err *err);
/* What the background refresh signs (schema/012): the certificates
 * marked because they were issued or changed state (db_ocsp_marked), the
 * responses whose refresh time came (db_ocsp_due), and, once per key and
 * signer, a walk of all of a key's certificates (db_ocsp_todo). Each
 * finds its rows through an index: a pass with nothing to do reads
 * nothing. */
struct db_ocsp_todo {
	int64_t id;                   /* the certificate's row id */
	char serial[DB_SERIAL_MAX];
	struct db_cert_state state;   /* key_idx filled by marked and due */
	int64_t not_after;            /* the certificate's (marked, due) */
	int known;                    /* the certificate exists (marked) */
};
/* Up to MAX marked certificates, whatever their key or state (KNOWN 0:
 * the certificate is gone), in mark order. */
int db_ocsp_marked(struct db *db, size_t max, struct db_ocsp_todo *out,
		   size_t *n, struct mica_err *err);
/* Remove SERIAL's mark (one that nothing can sign: expired, of a key
 * not held). */
int db_ocsp_unmark(struct db *db, const char *serial, struct mica_err *err);
/* Up to MAX certificates whose response's refresh time is NOW or
 * before, in that time's order. */
int db_ocsp_due(struct db *db, int64_t now, size_t max,
		struct db_ocsp_todo *out, size_t *n, struct mica_err *err);
/* Never refresh SERIAL's response again (a due one nothing can sign: it
 * stays served until its nextUpdate). */
int db_ocsp_no_refresh(struct db *db, const char *serial,
		       struct mica_err *err);
/* Up to MAX certificates of key KEY_IDX, valid or revoked and not
 * expired at NOW, with no response, one whose nextUpdate is before
 * REFRESH_BEFORE or one signed otherwise than BY_CA says, whose row id
 * is above AFTER, in id order: the walk of a key (AFTER 0 first, then
 * the last id returned). Reads the key's certificates. */
int db_ocsp_todo(struct db *db, int key_idx, int by_ca, int64_t now,
		 int64_t refresh_before, int64_t after, size_t max,
		 struct db_ocsp_todo *out, size_t *n, struct mica_err *err);
/* Has key KEY_IDX been walked with signer BY_CA (*WALKED 1 or 0)? Record
 * that it was. */
int db_ocsp_walked(struct db *db, int key_idx, int by_ca, int *walked,
		   struct mica_err *err);
int db_ocsp_walked_set(struct db *db, int key_idx, int by_ca,
		       struct mica_err *err);
/* The responses dated after NOW (the clock was set back since they were
 * signed; a relying party with the right time refuses them), found
 * through the index on refresh_at (REFRESH_AFTER: NOW + the refresh
 * margin, past which such rows' refresh_at lies): without MARK, whether
 * there is one (*ANY); with MARK (in a transaction), make them due now. */
int db_ocsp_future(struct db *db, int64_t now, int64_t refresh_after,
		   int mark, int *any, struct mica_err *err);
/* Drop the responses whose nextUpdate is before BEFORE (those of
 * certificates that expired long ago: nothing refreshes them), and the
 * oldest records of dropped responses (ocsp_gone) older than a day. */
int db_ocsp_prune(struct db *db, int64_t before, struct mica_err *err);
/* Is a certificate marked (issued, revoked, put on hold, released: a
 * trigger marks it) and not yet signed? With REVOKED, only a marked
 * certificate that is revoked now counts. *DIRTY 1 or 0. */
int db_ocsp_dirty(struct db *db, int revoked, int *dirty,
		  struct mica_err *err);
/* How many stored responses are fresh at NOW. */
int db_ocsp_count(struct db *db, int64_t now, int64_t *count,
		  struct mica_err *err);
/* For a publication directory: CB(CTX, serial, not_after, der, der_len,
 * responder, this_update) for every certificate of key KEY_IDX, valid or
 * revoked, that expires after EXPIRED_SINCE, with its pre-signed response
 * when one is fresh at NOW (else DER NULL) and its responder as
 * db_ocsp_response says (NULL: DER is whole). A non-zero CB stops the
 * walk: -1, ERR the callback's. */
typedef int (*db_ocsp_cb)(void *ctx, const char *serial, int64_t not_after,
			  const void *der, size_t der_len,
			  const char *responder, int64_t this_update);
int db_ocsp_foreach(struct db *db, int key_idx, int64_t now,
		    int64_t expired_since, db_ocsp_cb cb, void *ctx,
		    struct mica_err *err);
/* The highest change number given so far (schema/012), in *SEQ. */
int db_ocsp_seq(struct db *db, int64_t *seq, struct mica_err *err);
/* For a publication pass that writes only what changed: CB(CTX, serial,
 * key_idx, not_after, der, der_len, responder, this_update) for every
 * certificate whose response was stored or dropped with a change number
 * above SINCE (once, even if both), with its response when one is
 * fresh at NOW (else DER NULL); *LAST the highest change number seen (SINCE
 * when none). Reads only those rows (an index on the number). A
 * non-zero CB stops: -1, ERR the callback's. */
typedef int (*db_ocsp_change_cb)(void *ctx, const char *serial, int key_idx,
				 int64_t not_after, const void *der,
				 size_t der_len, const char *responder,
				 int64_t this_update);
int db_ocsp_changed(struct db *db, int64_t since, int64_t now,
		    db_ocsp_change_cb cb, void *ctx, int64_t *last,
		    struct mica_err *err);
/* The DER of the recorded responder certificate SERIAL (heap);
 * MICA_E_NOTFOUND if there is none. */
int db_ocsp_responder_get(struct db *db, const char *serial,
			  unsigned char **der, size_t *der_len,
			  struct mica_err *err);
/* Record a delegated OCSP responder certificate. */
int db_ocsp_responder_add(struct db *db, const char *serial,
			  const unsigned char *der, size_t der_len,
			  int64_t not_before, int64_t not_after,
			  int64_t created_at, struct mica_err *err);

/* --------------------------------------------------------------- scep -- */

/* Record an RA certificate (schema/008_scep.sql). */
int db_scep_ra_add(struct db *db, const char *serial,
		   const unsigned char *der, size_t der_len,
		   int64_t not_before, int64_t not_after, int64_t created_at,
		   struct mica_err *err);

/* The newest RA certificate still valid at NOW: *DER heap (caller frees),
 * *NOT_AFTER its end; MICA_E_NOTFOUND if none. */
int db_scep_ra_latest(struct db *db, int64_t now, unsigned char **der,
		      size_t *len, int64_t *not_after, struct mica_err *err);
/* Forget the SCEP transactions recorded with a certificate still being
 * issued (ISSUING): a restored store's, whose rows the sweep leaves to
 * the admin (schema 019), so that the device's next message is judged
 * anew rather than answered PENDING for ever. */
int db_scep_tx_forget_issuing(struct db *db, struct mica_err *err);
/* The RA certificate of SERIAL (hex), expired or not, as
 * db_scep_ra_latest gives it; MICA_E_NOTFOUND if none. */
int db_scep_ra_get(struct db *db, const char *serial, unsigned char **der,
		   size_t *len, int64_t *not_after, struct mica_err *err);

/* The sealed RA key (schema/008_scep.sql). */
struct db_scep_key {
	unsigned char salt[16];
	int64_t iter;
	unsigned char nonce[12];
	unsigned char *ct; size_t ct_len;    /* heap */
};
/* *HAS 0 (and nothing filled) when there is none yet. */
int db_scep_key_get(struct db *db, struct db_scep_key *out, int *has,
		    struct mica_err *err);
/* Store (or replace) it. */
int db_scep_key_set(struct db *db, const struct db_scep_key *k, int64_t now,
		    struct mica_err *err);
void db_scep_key_free(struct db_scep_key *k);

/* A SCEP transaction: exactly one of REQUEST_ID and SERIAL is set. */
struct db_scep_tx {
	unsigned char csr_hash[32];
	char request_id[40];                 /* "" when issued at once */
	char serial[DB_SERIAL_MAX];          /* "" when a request */
	int64_t created_at;
};
/* Record transaction TID (1..128 octets) signed by the certificate whose
 * SHA-256 is SIGNER; MICA_E_CONFLICT "scep_tx_exists" if that pair is known. */
int db_scep_tx_add(struct db *db, const char *tid,
		   const unsigned char signer[32], const struct db_scep_tx *tx,
		   struct mica_err *err);
/* Transaction TID of SIGNER; MICA_E_NOTFOUND "scep_tx_not_found". */
int db_scep_tx_get(struct db *db, const char *tid,
		   const unsigned char signer[32], struct db_scep_tx *out,
		   struct mica_err *err);
/* The first transaction recorded with the CSR whose SHA-256 is CSR_HASH,
 * whatever its id and signer; MICA_E_NOTFOUND "scep_tx_not_found". */
int db_scep_tx_of_csr(struct db *db, const unsigned char csr_hash[32],
		      struct db_scep_tx *out, struct mica_err *err);
/* *SEEN = 1 if a transaction with this CSR (its SHA-256) is recorded,
 * whatever its id and signer, else 0 (an index lookup). */
int db_scep_tx_seen(struct db *db, const unsigned char csr_hash[32],
		    int *seen, struct mica_err *err);
/* *FULL = 1 if DB_SCEP_TX_PER_CSR or more transactions have this CSR (a
 * bound on the aliases its key's holder may record), else 0. */
#define DB_SCEP_TX_PER_CSR 8
int db_scep_tx_csr_full(struct db *db, const unsigned char csr_hash[32],
			int *full, struct mica_err *err);

#endif

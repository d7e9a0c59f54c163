-- schema/001_init.sql - mica's initial schema.
--
-- Applied once, inside a transaction, when PRAGMA user_version < 1; the
-- store then sets user_version = 1 (and application_id) in the same
-- transaction. Never edit a released migration: add schema/002_*.sql.
--
-- Times are Unix seconds (UTC). Serials are lowercase hex of even length
-- (RFC 5280 4.1.2.2: at most 20 octets). The store enforces integrity here
-- (uniqueness, allowed states, immutability of what was issued) so that a
-- bug above it cannot record an impossible state; policy lives in ca/.

-- The CA itself: exactly one row.
CREATE TABLE ca (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	name        TEXT    NOT NULL CHECK (length(name) > 0),
	public_url  TEXT    NOT NULL DEFAULT '',
	key_type    TEXT    NOT NULL CHECK (length(key_type) > 0),
	cert_der    BLOB    NOT NULL CHECK (length(cert_der) > 0),
	key_salt    BLOB    NOT NULL,
	key_iter    INTEGER NOT NULL CHECK (key_iter > 0),
	key_nonce   BLOB    NOT NULL,
	key_ct      BLOB    NOT NULL CHECK (length(key_ct) > 0),
	crl_days    INTEGER NOT NULL CHECK (crl_days > 0),
	created_at  INTEGER NOT NULL
);

-- Domains names may be issued under (lowercase, no trailing dot).
CREATE TABLE ca_domain (
	domain TEXT PRIMARY KEY
		CHECK (length(domain) BETWEEN 1 AND 253
		       AND domain = lower(domain)
		       AND substr(domain, -1) <> '.')
) WITHOUT ROWID;

-- Validity overrides of the built-in profiles.
CREATE TABLE profile_days (
	profile      TEXT    PRIMARY KEY CHECK (length(profile) > 0),
	default_days INTEGER NOT NULL CHECK (default_days > 0),
	max_days     INTEGER NOT NULL CHECK (max_days >= default_days)
) WITHOUT ROWID;

CREATE TABLE setting (
	key   TEXT PRIMARY KEY CHECK (length(key) > 0),
	value TEXT NOT NULL
) WITHOUT ROWID;

-- Certificate requests waiting for (or after) an operator's decision.
CREATE TABLE request (
	id           TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 39),
	status       INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
	profile      TEXT    NOT NULL,
	csr_der      BLOB    NOT NULL CHECK (length(csr_der) > 0),
	names        TEXT    NOT NULL DEFAULT '',
	subject      TEXT    NOT NULL DEFAULT '',
	days         INTEGER NOT NULL DEFAULT 0 CHECK (days >= 0),
	client       TEXT    NOT NULL DEFAULT '',
	submitted_at INTEGER NOT NULL,
	decided_at   INTEGER NOT NULL DEFAULT 0,
	decided_by   TEXT,
	deny_reason  TEXT,
	serial       TEXT,
	-- An issued request names its certificate.
	CHECK (status <> 1 OR serial IS NOT NULL)
);
CREATE INDEX request_by_status ON request (status, submitted_at);

-- Every certificate, from the moment the intent to issue is recorded
-- (status 0, before signing, no DER) through valid (1) to revoked (2).
CREATE TABLE certificate (
	id          INTEGER PRIMARY KEY,
	serial      TEXT    NOT NULL UNIQUE
		CHECK (length(serial) BETWEEN 2 AND 40
		       AND length(serial) % 2 = 0
		       AND serial NOT GLOB '*[^0-9a-f]*'),
	profile     TEXT    NOT NULL,
	subject     TEXT    NOT NULL DEFAULT '',
	names       TEXT    NOT NULL DEFAULT '',
	request_id  TEXT    REFERENCES request (id),
	not_before  INTEGER NOT NULL,
	not_after   INTEGER NOT NULL CHECK (not_after >= not_before),
	der         BLOB,
	spki_sha256 BLOB    NOT NULL CHECK (length(spki_sha256) = 32),
	status      INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
	revoked_at  INTEGER NOT NULL DEFAULT 0,
	-- RFC 5280 5.3.1 CRLReason; 7 is unassigned and removeFromCRL (8)
	-- only appears in delta CRLs, never as a certificate's state.
	reason      INTEGER NOT NULL DEFAULT -1,
	renewal_of  TEXT,
	renewed_by  TEXT,
	created_at  INTEGER NOT NULL,
	-- Issuing rows have no DER; a valid certificate always has one.
	CHECK (status <> 0 OR der IS NULL),
	CHECK (status <> 1 OR der IS NOT NULL),
	CHECK ((status = 2 AND reason IN (0, 1, 2, 3, 4, 5, 6, 9, 10))
	       OR (status <> 2 AND reason = -1 AND revoked_at = 0))
);
-- Counts and expiry filters.
CREATE INDEX certificate_by_status ON certificate (status, not_after);
-- CRL generation walks revoked certificates in serial order; a covering
-- partial index keeps that walk to the revoked rows only, without sorting.
-- (status is listed so that SQLite sees the index as covering.)
CREATE INDEX certificate_revoked
	ON certificate (serial, not_after, revoked_at, reason, status)
	WHERE status = 2;

-- One row per name of a certificate, for searching.
CREATE TABLE cert_name (
	serial TEXT NOT NULL REFERENCES certificate (serial) ON DELETE CASCADE,
	name   TEXT NOT NULL,
	PRIMARY KEY (serial, name)
) WITHOUT ROWID;
CREATE INDEX cert_name_by_name ON cert_name (name);

-- What was issued is never rewritten: no new serial, no second DER, and
-- only a row that was never signed may be deleted.
CREATE TRIGGER certificate_serial_immutable
BEFORE UPDATE OF serial ON certificate
WHEN NEW.serial IS NOT OLD.serial
BEGIN
	SELECT RAISE(ABORT, 'certificate serial is immutable');
END;
CREATE TRIGGER certificate_der_immutable
BEFORE UPDATE OF der ON certificate
WHEN OLD.der IS NOT NULL AND NEW.der IS NOT OLD.der
BEGIN
	SELECT RAISE(ABORT, 'certificate DER is immutable');
END;
CREATE TRIGGER certificate_delete_issuing_only
BEFORE DELETE ON certificate
WHEN OLD.status <> 0
BEGIN
	SELECT RAISE(ABORT, 'only an unsigned certificate may be deleted');
END;

-- RFC 5280 5.2.3: CRL numbers increase monotonically; the store checks
-- that at insert time (see db_crl_insert).
CREATE TABLE crl (
	number      INTEGER PRIMARY KEY CHECK (number > 0),
	this_update INTEGER NOT NULL,
	next_update INTEGER NOT NULL CHECK (next_update > this_update),
	der         BLOB    NOT NULL CHECK (length(der) > 0)
);

-- Enrollment and admin tokens. Only a hash of the secret part is kept.
CREATE TABLE token (
	id           TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 39),
	hash         BLOB    NOT NULL CHECK (length(hash) = 32),
	kind         INTEGER NOT NULL CHECK (kind IN (0, 1)),
	profile      TEXT,
	names        TEXT,
	uses_left    INTEGER NOT NULL CHECK (uses_left >= -1),
	expires_at   INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	created_by   TEXT,
	comment      TEXT,
	revoked      INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
	last_used_at INTEGER NOT NULL DEFAULT 0
);

-- Append-only record of what was done, by whom.
CREATE TABLE audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL,
	actor  TEXT    NOT NULL,
	action TEXT    NOT NULL,
	target TEXT,
	detail TEXT
);
CREATE INDEX audit_by_at ON audit (at);
CREATE TRIGGER audit_no_update
BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete
BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;

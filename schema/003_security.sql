-- schema/003_security.sql - what closing the holes of a hostile review
-- needed (issue 9). Applied once, inside a transaction, when PRAGMA
-- user_version < 3; the store then sets user_version = 3 in the same
-- transaction.

-- Public keys revoked for keyCompromise (RFC 5280 5.3.1), by SHA-256 of
-- their SubjectPublicKeyInfo DER: mica never certifies them again, for
-- anyone. A row is added in the transaction of the revocation that
-- compromises the key and is never removed (releasing a certificate from
-- certificateHold does not touch it; certificateHold never adds one).
CREATE TABLE compromised_key (
	spki_sha256 BLOB    PRIMARY KEY CHECK (length(spki_sha256) = 32),
	serial      TEXT    NOT NULL,   -- the revocation that added it
	added_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER compromised_key_no_update
BEFORE UPDATE ON compromised_key
BEGIN
	SELECT RAISE(ABORT, 'a compromised key stays compromised');
END;
CREATE TRIGGER compromised_key_no_delete
BEFORE DELETE ON compromised_key
BEGIN
	SELECT RAISE(ABORT, 'a compromised key stays compromised');
END;
-- Keys of certificates already revoked for keyCompromise when the store
-- is upgraded.
INSERT OR IGNORE INTO compromised_key (spki_sha256, serial, added_at)
	SELECT spki_sha256, serial, revoked_at FROM certificate
	WHERE status = 2 AND reason = 1;

-- One-time nonces for renewing a certificate with its own key without a
-- token (POST /api/v1/certificates/{serial}/renew-challenge): the client
-- signs the nonce into its renewal CSR (challengePassword), which proves
-- it holds the key now, not only that it once saw a CSR. Kept only as a
-- SHA-256 hash, for a few minutes, a few per certificate; consumed in the
-- transaction that records the renewal.
-- (A rowid table: the rowid orders one certificate's nonces by age.)
CREATE TABLE renew_challenge (
	hash       BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
	serial     TEXT    NOT NULL REFERENCES certificate (serial),
	expires_at INTEGER NOT NULL
);
CREATE INDEX renew_challenge_by_serial ON renew_challenge (serial);
CREATE INDEX renew_challenge_by_expiry ON renew_challenge (expires_at);

-- The pending queue, per client and by CSR: each client (as the engine
-- names it) may hold only a few pending requests, and a CSR already
-- pending under a profile answers with that request instead of a new one.
-- Partial indexes: only pending rows, at most CA_PENDING_MAX of them.
CREATE INDEX request_pending_by_client ON request (client) WHERE status = 0;
CREATE INDEX request_pending_by_csr ON request (profile, csr_der) WHERE status = 0;

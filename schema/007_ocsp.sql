-- schema/007_ocsp.sql - OCSP (issue 15): the responses signed ahead of
-- time, so that answering is a lookup, and the delegated responder
-- certificates the daemon had signed.
--
-- Applied once, inside a transaction, when PRAGMA user_version < 7.
-- (003 and 006 belong to branches landing in parallel; the migration
-- runner needs increasing numbers, not contiguous ones.)

-- One pre-signed OCSPResponse per certificate, for the SHA-1 CertID
-- without a nonce that RFC 5019 clients send. status, revoked_at and
-- reason are the certificate's state the response says (certificate's
-- columns): a response is stored only while the certificate still has
-- that state (db_ocsp_put), and dropped as soon as it changes (the
-- trigger below), so a stale "good" can never be served.
CREATE TABLE ocsp_response (
	serial      TEXT    PRIMARY KEY
		REFERENCES certificate (serial) ON DELETE CASCADE,
	status      INTEGER NOT NULL CHECK (status IN (1, 2)),
	revoked_at  INTEGER NOT NULL,
	reason      INTEGER NOT NULL,
	this_update INTEGER NOT NULL,
	next_update INTEGER NOT NULL CHECK (next_update > this_update),
	der         BLOB    NOT NULL CHECK (length(der) > 0)
);
-- The background refresh looks for what is about to go stale.
CREATE INDEX ocsp_response_by_next ON ocsp_response (next_update);

CREATE TRIGGER ocsp_response_forget
AFTER UPDATE OF status, revoked_at, reason ON certificate
WHEN NEW.status IS NOT OLD.status OR NEW.revoked_at IS NOT OLD.revoked_at
     OR NEW.reason IS NOT OLD.reason
BEGIN
	DELETE FROM ocsp_response WHERE serial = NEW.serial;
END;

-- Certificates whose revocation state changed (revoked, put on hold,
-- released) since the background refresh last looked: it polls this
-- small table every few seconds, so that a revocation made anywhere (the
-- daemon, the command line) is signed ahead of time, and published, at
-- once. Issuance does not mark: a new certificate waits for the next
-- regular pass (a miss is signed on demand meanwhile).
CREATE TABLE ocsp_dirty (
	serial TEXT PRIMARY KEY
) WITHOUT ROWID;

CREATE TRIGGER ocsp_response_dirty
AFTER UPDATE OF status, revoked_at, reason ON certificate
WHEN OLD.status IN (1, 2) AND NEW.status IN (1, 2)
     AND (NEW.status IS NOT OLD.status OR NEW.revoked_at IS NOT OLD.revoked_at
          OR NEW.reason IS NOT OLD.reason)
BEGIN
	INSERT OR IGNORE INTO ocsp_dirty (serial) VALUES (NEW.serial);
END;

-- Every delegated OCSP responder certificate (RFC 6960 4.2.2.2) this CA
-- signed, recorded before the first response that carries it leaves the
-- daemon. Its key was ephemeral (the signers'), so nothing here is secret.
CREATE TABLE ocsp_responder (
	serial     TEXT    PRIMARY KEY
		CHECK (length(serial) BETWEEN 2 AND 40
		       AND length(serial) % 2 = 0
		       AND serial NOT GLOB '*[^0-9a-f]*'),
	not_before INTEGER NOT NULL,
	not_after  INTEGER NOT NULL CHECK (not_after > not_before),
	der        BLOB    NOT NULL CHECK (length(der) > 0),
	created_at INTEGER NOT NULL
);

-- Delta CRLs (RFC 5280 5.2.4): a delta is a CRL row whose delta_base is
-- the cRLNumber of the complete CRL it completes (0: a complete CRL). One
-- number series for both (5.2.3). Deltas are published only while
-- crl_delta holds their period (mica crl --delta-hours N): then the
-- complete CRLs name them (Freshest CRL, 5.2.6) and a revocation
-- publishes a delta rather than a complete CRL.
ALTER TABLE crl ADD COLUMN delta_base INTEGER NOT NULL DEFAULT 0
	CHECK (delta_base >= 0);
CREATE TABLE crl_delta (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	hours INTEGER NOT NULL CHECK (hours BETWEEN 1 AND 168)
);

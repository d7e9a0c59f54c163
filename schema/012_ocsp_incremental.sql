-- schema/012_ocsp_incremental.sql - OCSP refresh and publication passes
-- that cost what changed, not the size of the store (issue 15).
--
-- Applied once, inside a transaction, when PRAGMA user_version < 12.

-- When the background refresh signs a response again: half a period
-- before its nextUpdate (ca/ocsp.c REFRESH_LEFT), or never (NULL) when
-- it outlives its certificate, whose expiry ends the need for fresh
-- answers. The refresh finds what is due through this index, without
-- walking the certificates.
ALTER TABLE ocsp_response ADD COLUMN refresh_at INTEGER;
UPDATE ocsp_response SET refresh_at = (
	SELECT CASE WHEN ocsp_response.next_update < c.not_after
		    THEN ocsp_response.next_update - 43200 END
	FROM certificate AS c WHERE c.serial = ocsp_response.serial);
CREATE INDEX ocsp_response_by_refresh ON ocsp_response (refresh_at)
	WHERE refresh_at IS NOT NULL;

-- A change number for every response stored (seq) and every response
-- dropped (ocsp_gone), from one counter that only grows: a publication
-- pass writes what changed after the highest number the last pass saw.
-- (The rowid is no such number: a row that replaces the newest one may
-- get its rowid again.)
CREATE TABLE ocsp_seq (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL CHECK (n >= 0)
);
INSERT INTO ocsp_seq (id, n) VALUES (1, 0);
ALTER TABLE ocsp_response ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ocsp_response_by_seq ON ocsp_response (seq);

CREATE TRIGGER ocsp_response_seq
AFTER INSERT ON ocsp_response
BEGIN
	UPDATE ocsp_seq SET n = n + 1 WHERE id = 1;
	UPDATE ocsp_response SET seq = (SELECT n FROM ocsp_seq WHERE id = 1)
	WHERE serial = NEW.serial;
END;

-- Responses dropped (a revocation, a release from hold, the prune of
-- expired ones), so that a publication pass removes their files even
-- when no new response follows. Kept a day (db_ocsp_prune): the daemon
-- publishes far more often, and reconciles the whole directory at start
-- and every hour. (INSERT OR REPLACE fires no delete trigger: recursive
-- triggers are off.)
CREATE TABLE ocsp_gone (
	seq    INTEGER PRIMARY KEY,
	serial TEXT    NOT NULL,
	at     INTEGER NOT NULL
);
CREATE TRIGGER ocsp_response_gone
AFTER DELETE ON ocsp_response
BEGIN
	UPDATE ocsp_seq SET n = n + 1 WHERE id = 1;
	INSERT INTO ocsp_gone (seq, serial, at)
	VALUES ((SELECT n FROM ocsp_seq WHERE id = 1), OLD.serial,
		CAST(strftime('%s', 'now') AS INTEGER));
END;

-- A certificate that becomes valid (issued: status 0 -> 1, or inserted
-- valid or revoked) is marked like a revoked one (schema/007 ocsp_dirty):
-- the refresh signs the marked certificates, then unmarks them, rather
-- than looking for certificates without a response.
CREATE TRIGGER ocsp_issued_dirty
AFTER UPDATE OF status ON certificate
WHEN OLD.status = 0 AND NEW.status IN (1, 2)
BEGIN
	INSERT OR IGNORE INTO ocsp_dirty (serial) VALUES (NEW.serial);
END;
CREATE TRIGGER ocsp_inserted_dirty
AFTER INSERT ON certificate
WHEN NEW.status IN (1, 2)
BEGIN
	INSERT OR IGNORE INTO ocsp_dirty (serial) VALUES (NEW.serial);
END;

-- Keys whose certificates a refresh walked all the way, signing with
-- by_ca's signer (schema/011): from then on the marks and the index
-- above are all it looks at. No row (a store from before this
-- migration, a new key) or another signer (--ocsp-signer changed, a key
-- retired) makes the next pass walk that key's certificates once.
CREATE TABLE ocsp_walked (
	key_idx INTEGER PRIMARY KEY,
	by_ca   INTEGER NOT NULL CHECK (by_ca IN (0, 1))
);

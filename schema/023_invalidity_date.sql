-- schema/023_invalidity_date.sql - when a revoked certificate became
-- invalid, if the admin knows (RFC 5280 5.3.2 invalidityDate).
--
-- Applied once, inside a transaction, when PRAGMA user_version < 23.
--
-- A revocation may say when the key was compromised or the certificate
-- otherwise became invalid, which may be earlier than the revocation
-- date ('mica revoke --invalidity-date', the API's "invalidity_date").
-- Unix seconds (UTC), as revoked_at; NULL when none was given. Only a
-- revoked certificate, not on hold, has one, and never after its
-- revocation date: a later one would say nothing the revocation date
-- does not, and a relying party that goes by it would trust what the
-- key signed in between (ca/revoke.c). Every row has none until then.
ALTER TABLE certificate ADD COLUMN invalid_at INTEGER
	CHECK (invalid_at IS NULL
	       OR (status = 2 AND reason <> 6
		   AND invalid_at BETWEEN 1 AND revoked_at));

-- The CRLs list it beside the revocation date (an entry extension), so
-- the walk that builds them reads it from covering indexes, as before,
-- without visiting the table: two new ones with the column take the
-- place of certificate_revoked(_by_key). Made first, then the old ones
-- dropped, with secure_delete off: made in the pages a drop had just
-- freed, or dropped with every page overwritten, each page went into
-- SQLite's statement journal, which (SQLite 3.40, Debian 12, with the
-- spill db.c configures) failed with SQLITE_FULL from some ten thousand
-- revoked certificates on and left the store at schema 22. The old
-- pages hold serials and dates the CRLs publish: nothing secret. On
-- again after (a failed migration closes the store). The profile is
-- in them too: a revoked code-signing certificate stays on the CRLs once
-- it has expired (a timestamped Authenticode signature outlives the
-- certificate; CA/Browser Forum Code Signing BR 4.10.1), where every
-- other leaves them (RFC 5280 3.3), and the walk tells them apart there.
CREATE INDEX certificate_crl
	ON certificate (serial, not_after, revoked_at, reason, status,
			invalid_at, profile)
	WHERE status = 2;
CREATE INDEX certificate_crl_by_key
	ON certificate (key_idx, serial, not_after, revoked_at, reason, status,
			invalid_at, profile)
	WHERE status = 2;
PRAGMA secure_delete = OFF;
DROP INDEX certificate_revoked;
DROP INDEX certificate_revoked_by_key;
PRAGMA secure_delete = ON;

-- The pre-signed OCSP answers do not say it (RFC 6960 would allow it
-- among singleExtensions; mica's say the revocation time and reason
-- only, README): a change of it alone needs no new answer. mica changes
-- it only with the status or the reason, whose triggers (schema/007)
-- drop the answer already, so this one re-signs nothing more; it drops
-- the answer and marks the certificate for the refresh, as those do,
-- should a later answer carry the date.
CREATE TRIGGER ocsp_response_forget_invalid
AFTER UPDATE OF invalid_at ON certificate
WHEN NEW.invalid_at IS NOT OLD.invalid_at
BEGIN
	DELETE FROM ocsp_response WHERE serial = NEW.serial;
	INSERT OR IGNORE INTO ocsp_dirty (serial) VALUES (NEW.serial);
END;

-- schema/025_restore_floor.sql - CRL numbers after a restore go on above
-- the time of the restore in microseconds, not seconds.
--
-- Applied once, inside a transaction, when PRAGMA user_version < 25.
--
-- Schema 019 made a restored store number its CRLs above the time of the
-- restore in seconds, so that the numbers the lost store may have used
-- after the backup are not given again to other lists (RFC 5280 5.2.3).
-- That held only while the lost store published less than a CRL a
-- second since its own restore: one that revoked a few hundred
-- certificates in a loop (each revocation publishes a CRL) ran ahead of
-- the clock, and a store restored from its backup within that lead gave
-- its numbers again, lower than its last. A restore now sets the floor to
-- its time in microseconds (ca/backup.c): no store publishes a CRL a
-- microsecond. This column keeps the floor the restore set, which
-- separates the numbers of the lost store's series (up to it) from the
-- restored store's own (above it): db_crl_lineage, which compared with
-- restored_at, the floor in seconds, before. A store restored before
-- this version keeps its floor in seconds: restored_at.
ALTER TABLE ca ADD COLUMN restored_floor INTEGER NOT NULL DEFAULT 0;
UPDATE ca SET restored_floor = restored_at;

-- From this version on OCSP answers carry a revocation's invalidity date
-- (RFC 6960 4.4; ca/ocsp.c). Those signed ahead before it do not: marked
-- here, they are signed again by the daemon's next refresh rather than
-- served without it until their own refresh (half a day at most). Read
-- through the covering index of revoked certificates (schema 023).
INSERT OR IGNORE INTO ocsp_dirty (serial)
	SELECT serial FROM certificate WHERE status = 2 AND invalid_at IS NOT NULL;

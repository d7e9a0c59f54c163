-- schema/019_issuing_sweep.sql - what a process killed while issuing left.
--
-- Applied once, inside a transaction, when PRAGMA user_version < 19.
--
-- A certificate is recorded (status 0, issuing) before it is signed and
-- completed after; a failure in between forgets the row and gives the
-- enrollment token's use back, but a process killed in between (SIGKILL,
-- a power cut) leaves the row, and the use spent. The daemon now forgets
-- such rows once they are older than any live issuance can be (see
-- ca_issue_sweep) and gives the use back: this column says whose use the
-- row took. NULL: no token (or reserved before this migration).
ALTER TABLE certificate ADD COLUMN token_id TEXT;

-- When 'mica restore' made this store (0: never). A backup taken while a
-- certificate was being issued holds its row as issuing, though the live
-- store may have completed it and handed the certificate out: the sweep
-- leaves the rows a restored store came with to the admin (listed as
-- issuing, revocable) and forgets only those recorded after.
ALTER TABLE ca ADD COLUMN restored_at INTEGER NOT NULL DEFAULT 0;

-- The CRL number the next CRL goes above, whatever the store holds: set
-- by 'mica restore' to the time of the restore. The store a backup was
-- taken of may have published CRLs after it, whose numbers a restored
-- store would otherwise give again to other lists (RFC 5280 5.2.3: a
-- number names one CRL); numbers go on from a time in seconds, above any
-- sequence of the lost store that published less than a CRL a second.
ALTER TABLE ca ADD COLUMN crl_floor INTEGER NOT NULL DEFAULT 0;

-- ACME orders left 'processing' the same way are made invalid; few rows
-- are ever processing, so this index keeps that look off the table.
CREATE INDEX acme_order_processing ON acme_order (updated_at)
	WHERE status = 'processing';

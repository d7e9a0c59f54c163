-- schema/013_crl_files.sql - CRL bodies beside the store (issue 16).
--
-- Applied once, inside a transaction, when PRAGMA user_version < 13.
--
-- A CRL of a million entries is some 45 MiB. Written into this table it
-- went through the write-ahead log under the store's write lock, and every
-- issuance waited for those megabytes to be written and synced (and the
-- checkpoint copied them again). Now the signed body is written to the
-- folder mica.db-crls beside the store (NUMBER.crl) and synced before the
-- transaction that records it, outside the lock; the row keeps only its
-- length and SHA-256 (db/crls.c checks both when it reads the file back),
-- and der is NULL. 'mica backup' puts the bodies back into the rows, so a
-- backup is still one self-contained file. Rows written before this
-- migration, and CRLs of in-memory stores, keep der as before.
--
-- SQLite cannot relax a NOT NULL in place: the table is made anew.
CREATE TABLE crl_new (
	number      INTEGER PRIMARY KEY CHECK (number > 0),
	this_update INTEGER NOT NULL,
	next_update INTEGER NOT NULL CHECK (next_update > this_update),
	der         BLOB    CHECK (der IS NULL OR length(der) > 0),
	key_idx     INTEGER NOT NULL DEFAULT 0 CHECK (key_idx BETWEEN 0 AND 15),
	delta_base  INTEGER NOT NULL DEFAULT 0 CHECK (delta_base >= 0),
	body_len    INTEGER CHECK (body_len IS NULL OR body_len > 0),
	body_sha256 BLOB    CHECK (body_sha256 IS NULL OR length(body_sha256) = 32),
	-- the body is in the row, or its length and hash are
	CHECK ((der IS NULL) = (body_sha256 IS NOT NULL) AND
	       (body_len IS NULL) = (body_sha256 IS NULL))
);
INSERT INTO crl_new (number, this_update, next_update, der, key_idx,
		     delta_base)
	SELECT number, this_update, next_update, der, key_idx, delta_base
	FROM crl;
DROP TABLE crl;
ALTER TABLE crl_new RENAME TO crl;
CREATE INDEX crl_by_key ON crl (key_idx, number);

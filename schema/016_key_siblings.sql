-- schema/016_key_siblings.sql - the certificates of one key, found by it.
--
-- Applied once, inside a transaction, when PRAGMA user_version < 16.
--
-- A revocation for keyCompromise puts the key on the list of keys never
-- certified again (schema 003), but other certificates of the same key
-- stayed valid: the key is compromised whichever certificate names it
-- (CA/Browser Forum Baseline Requirements 4.9.1.1; Let's Encrypt revokes
-- them all, too). The revocation now revokes them in its transaction
-- (ca/revoke.c), found through this index rather than by reading every
-- certificate of the store. It holds the first 8 octets of the key's
-- hash only (the query compares the whole hash on the rows it finds): a
-- third of the size of an index of the whole hash, which matters for the
-- page cache at ten million certificates, where every new certificate
-- lands on a random leaf of it.
CREATE INDEX certificate_by_spki ON certificate (substr(spki_sha256, 1, 8));

-- The keys revoked for keyCompromise before: their other certificates
-- are revoked the next time the engine opens the store with the CA key
-- (it publishes the CRL that lists them), then their rows go
-- (ca_key_sweep). One lookup at an open when there is nothing.
CREATE TABLE key_siblings_todo (
	serial TEXT PRIMARY KEY
) WITHOUT ROWID;
INSERT OR IGNORE INTO key_siblings_todo (serial)
	SELECT serial FROM compromised_key;

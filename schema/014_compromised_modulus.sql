-- schema/014_compromised_modulus.sql - an RSA key is compromised for every
-- public exponent (issue 16's hostile review).
--
-- Applied once, inside a transaction, when PRAGMA user_version < 14.
--
-- compromised_key held the SHA-256 of the SubjectPublicKeyInfo of each key
-- revoked for keyCompromise. Whoever holds an RSA key's private half holds
-- its factors, and with them the private key for the same modulus under
-- any other public exponent: that key was certified again. From now on a
-- revocation for keyCompromise of an RSA key adds a second row, keyed by
-- the SHA-256 of its modulus (ca_key_rsa_id: domain-separated, so it never
-- equals an SPKI hash), and every issuance path checks both.
--
-- The modulus of a key already on the list cannot be read in SQL: those
-- certificates wait here, and the engine adds their rows the next time it
-- opens the store for writing, then takes them off (ca_key_backfill).
-- Only RSA keys need it: their certificates carry the rsaEncryption OID.
CREATE TABLE compromised_key_todo (
	serial TEXT PRIMARY KEY
) WITHOUT ROWID;
INSERT OR IGNORE INTO compromised_key_todo (serial)
	SELECT k.serial FROM compromised_key k
	JOIN certificate c ON c.serial = k.serial
	WHERE c.der IS NOT NULL
	  AND instr(c.der, X'06092A864886F70D010101') > 0;

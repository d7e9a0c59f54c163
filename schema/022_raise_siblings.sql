-- schema/022_raise_siblings.sql - the other certificates of a compromised
-- key, revoked before for another reason, raised to keyCompromise.
--
-- Applied once, inside a transaction, when PRAGMA user_version < 22.
--
-- A revocation for keyCompromise now raises the reason of the key's other
-- certificates revoked before for a reason that says nothing of the key
-- (unspecified, affiliationChanged, superseded, cessationOfOperation,
-- privilegeWithdrawn), their dates kept (ca/revoke.c): a relying party
-- that weighs the reason (a timestamped signature) must not go on trusting
-- what the key signed before. Keys revoked before this version left such
-- certificates as they were: each key on the list is queued again for the
-- sweep of schema 016, which raises them (and revokes any still valid)
-- the next time the engine opens the store with the CA key, and
-- publishes the CRL that says so. No rows, no work.
INSERT OR IGNORE INTO key_siblings_todo (serial)
	SELECT serial FROM compromised_key;

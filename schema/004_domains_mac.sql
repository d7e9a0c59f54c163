-- schema/004_domains_mac.sql - the CA key's seal on the allowed domains.
--
-- The signer process (ca/signer.h) signs names only within the allowed
-- domains, and trusts a domain list only with a MAC that the CA key makes
-- (ca_key_mac): the command line computes it when it changes the list,
-- so a compromised daemon front end, which can write the store, cannot
-- widen what the signer signs. NULL until first sealed (an upgraded
-- store: the first 'mica serve' or 'mica domain seal' seals the list).

ALTER TABLE ca ADD COLUMN domains_mac BLOB
	CHECK (domains_mac IS NULL OR length(domains_mac) = 32);

-- schema/011_ocsp_by_ca.sql - who signed a pre-signed OCSP response
-- (issue 15).
--
-- Applied once, inside a transaction, when PRAGMA user_version < 11.
--
-- by_ca 1: the CA key that issued the certificate signed the response
-- itself (mica serve --ocsp-signer ca, and always for the certificates of
-- a key retired by a rollover); der is then the whole OCSPResponse, which
-- carries no certificate, and responder is NULL. by_ca 0: the delegated
-- responder signed it (responder names its certificate, or is NULL for a
-- row from before schema 009). The background refresh signs again every
-- row whose signer is not the one the daemon was started with, and the
-- responder serves and publishes only rows of that signer, so changing
-- --ocsp-signer takes effect at the next start without a stale mix.
ALTER TABLE ocsp_response ADD COLUMN by_ca INTEGER NOT NULL DEFAULT 0
	CHECK (by_ca IN (0, 1) AND (by_ca = 0 OR responder IS NULL));

-- schema/024_cert_by_token.sql - the certificates an enrollment token
-- issued, newest first, without reading the others.
--
-- Applied once, inside a transaction, when PRAGMA user_version < 24.
--
-- A token that leaked must be revoked, and what it was used for found
-- ('mica list --token ID', GET /api/v1/certificates?token=ID) to be
-- revoked too. Since schema 019 each certificate names the token whose
-- use its issuance took (token_id; NULL for an admin's, the command
-- line's and those issued before). An index on token_id alone ends in
-- the rowid, so one token's certificates are read in the listing's
-- newest-first order, at any store size; it holds no row for a
-- certificate issued without a token.
CREATE INDEX certificate_by_token ON certificate (token_id)
	WHERE token_id IS NOT NULL;

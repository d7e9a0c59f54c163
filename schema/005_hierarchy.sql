-- schema/005_hierarchy.sql - a CA hierarchy: an offline root, issuing CAs
-- awaiting their certificate, CA certificates from another CA, and CA
-- rollover (issue 12).
--
-- Applied once, inside a transaction, when PRAGMA user_version < 5. An
-- existing single-tier CA becomes an active CA (state 0) whose one key has
-- index 0: nothing it issued or published changes.

-- The CA row, rebuilt: a CA awaiting its certificate (state 1) has a key
-- but no certificate yet, so cert_der may now be NULL in that state only.
--   state      0 active, 1 awaiting its certificate, 2 an offline root
--              (signs CA certificates and its own CRL, never serves)
--   key_idx    index of the current key: the one that signs certificates;
--              retired keys (ca_key) keep signing the CRLs of theirs
--   chain_der  the certificates above cert_der, concatenated DER: each
--              issuer up to the root, then any cross-certificates; NULL
--              for a self-signed root
--   csr_der    the request given out for a certificate still awaited (of
--              this CA's key while awaiting, else of a pending renewal's
--              key), so that it can be handed out again
CREATE TABLE ca_v5 (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	name        TEXT    NOT NULL CHECK (length(name) > 0),
	public_url  TEXT    NOT NULL DEFAULT '',
	key_type    TEXT    NOT NULL CHECK (length(key_type) > 0),
	cert_der    BLOB    CHECK (cert_der IS NULL OR length(cert_der) > 0),
	key_salt    BLOB    NOT NULL,
	key_iter    INTEGER NOT NULL CHECK (key_iter > 0),
	key_nonce   BLOB    NOT NULL,
	key_ct      BLOB    NOT NULL CHECK (length(key_ct) > 0),
	crl_days    INTEGER NOT NULL CHECK (crl_days > 0),
	created_at  INTEGER NOT NULL,
	domains_mac BLOB    CHECK (domains_mac IS NULL OR length(domains_mac) = 32),
	state       INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
	key_idx     INTEGER NOT NULL DEFAULT 0 CHECK (key_idx BETWEEN 0 AND 15),
	chain_der   BLOB    CHECK (chain_der IS NULL OR length(chain_der) > 0),
	csr_der     BLOB    CHECK (csr_der IS NULL OR length(csr_der) > 0),
	CHECK (state = 1 OR cert_der IS NOT NULL),
	CHECK (state <> 1 OR cert_der IS NULL)
);
INSERT INTO ca_v5 (id, name, public_url, key_type, cert_der, key_salt,
	key_iter, key_nonce, key_ct, crl_days, created_at, domains_mac)
SELECT id, name, public_url, key_type, cert_der, key_salt, key_iter,
	key_nonce, key_ct, crl_days, created_at, domains_mac FROM ca;
DROP TABLE ca;
ALTER TABLE ca_v5 RENAME TO ca;

-- The CA's other keys, sealed like the current one:
--   role 1  retired by a rollover: signs no certificate any more, but the
--           CRL of the certificates it issued, until they have expired
--           (Windows CA renewal's key indexes)
--   role 2  a renewal's new key, awaiting its certificate (at most one)
-- cert_der is a retired key's last CA certificate (NULL while pending).
CREATE TABLE ca_key (
	idx        INTEGER PRIMARY KEY CHECK (idx BETWEEN 0 AND 15),
	role       INTEGER NOT NULL CHECK (role IN (1, 2)),
	key_type   TEXT    NOT NULL CHECK (length(key_type) > 0),
	key_salt   BLOB    NOT NULL,
	key_iter   INTEGER NOT NULL CHECK (key_iter > 0),
	key_nonce  BLOB    NOT NULL,
	key_ct     BLOB    NOT NULL CHECK (length(key_ct) > 0),
	cert_der   BLOB    CHECK (cert_der IS NULL OR length(cert_der) > 0),
	chain_der  BLOB    CHECK (chain_der IS NULL OR length(chain_der) > 0),
	created_at INTEGER NOT NULL,
	CHECK (role <> 1 OR cert_der IS NOT NULL)
);
CREATE UNIQUE INDEX ca_key_one_pending ON ca_key (role) WHERE role = 2;

-- Which of the CA's keys signed a certificate, and a CRL: each key's CRL
-- lists the revoked certificates it signed. CRL numbers stay one series
-- for the whole CA, so each key's CRLs still increase (RFC 5280 5.2.3).
ALTER TABLE certificate ADD COLUMN key_idx INTEGER NOT NULL DEFAULT 0
	CHECK (key_idx BETWEEN 0 AND 15);
ALTER TABLE crl ADD COLUMN key_idx INTEGER NOT NULL DEFAULT 0
	CHECK (key_idx BETWEEN 0 AND 15);
-- A key's CRL walks its revoked certificates in serial order.
CREATE INDEX certificate_revoked_by_key
	ON certificate (key_idx, serial, not_after, revoked_at, reason, status)
	WHERE status = 2;
CREATE INDEX crl_by_key ON crl (key_idx, number);

-- CRLs of the CAs above this one (the offline root's ARL), imported with
-- 'mica import-crl' after their signature was checked, and served at
-- /root.crl. Each one is newer than the last of its issuer key (a higher
-- cRLNumber, or without numbers a later thisUpdate): checked at import.
CREATE TABLE root_crl (
	id          INTEGER PRIMARY KEY,
	issuer_ski  BLOB    NOT NULL CHECK (length(issuer_ski) BETWEEN 1 AND 64),
	number      INTEGER NOT NULL CHECK (number >= 0),
	this_update INTEGER NOT NULL,
	next_update INTEGER NOT NULL CHECK (next_update > this_update),
	der         BLOB    NOT NULL CHECK (length(der) > 0),
	imported_at INTEGER NOT NULL
);
CREATE INDEX root_crl_by_issuer ON root_crl (issuer_ski, number, this_update);

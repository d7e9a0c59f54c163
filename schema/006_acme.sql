-- schema/006_acme.sql - ACME (RFC 8555): accounts, their External Account
-- Bindings, orders and authorizations.
--
-- Statuses are the words of RFC 8555 7.1.6, so that a row reads as the
-- protocol does. Nonces are not stored: they live in the daemon's memory
-- (ca/acme.c), and a restart simply refuses the old ones (badNonce, which
-- every client retries).

-- An account: a client's key (RFC 7638 thumbprint, unique: one key, one
-- account) and, unless the daemon runs with --acme-open, the enrollment
-- token it was bound to, whose scope limits what it may order.
CREATE TABLE acme_account (
	id             TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 39),
	thumbprint     BLOB    NOT NULL UNIQUE CHECK (length(thumbprint) = 32),
	jwk            TEXT    NOT NULL CHECK (length(jwk) BETWEEN 2 AND 4096),
	status         TEXT    NOT NULL DEFAULT 'valid'
		CHECK (status IN ('valid', 'deactivated', 'revoked')),
	contact        TEXT,
	token_id       TEXT    REFERENCES token (id),
	client         TEXT    NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	deactivated_at INTEGER NOT NULL DEFAULT 0,
	CHECK ((status = 'valid') = (deactivated_at = 0))
);

-- External Account Binding credentials (RFC 8555 7.3.4): the key id is
-- the id of an enrollment token made with 'mica token create --acme', the
-- HMAC key is kept only until an account binds it, then wiped.
CREATE TABLE acme_eab (
	token_id   TEXT    PRIMARY KEY REFERENCES token (id),
	hmac_key   BLOB    CHECK (hmac_key IS NULL OR length(hmac_key) = 32),
	account_id TEXT    REFERENCES acme_account (id),
	bound_at   INTEGER NOT NULL DEFAULT 0,
	CHECK ((account_id IS NULL) = (hmac_key IS NOT NULL)),
	CHECK ((account_id IS NULL) = (bound_at = 0))
) WITHOUT ROWID;

-- Orders. names: the identifiers as the certificate will carry them
-- ('\n'-separated, "*.x" for a wildcard). serial: the certificate, once
-- the order is valid (set in the transaction that stores it).
CREATE TABLE acme_order (
	id           TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 39),
	account_id   TEXT    NOT NULL REFERENCES acme_account (id),
	status       TEXT    NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
	names        TEXT    NOT NULL CHECK (length(names) > 0),
	profile      TEXT    NOT NULL,
	expires      INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	serial       TEXT    REFERENCES certificate (serial),
	error_code   TEXT,
	error_detail TEXT,
	replaces     TEXT,   -- RFC 9773 certID, as the client sent it
	replaces_serial TEXT,
	CHECK ((status = 'valid') = (serial IS NOT NULL))
);
CREATE INDEX acme_order_by_account ON acme_order (account_id, created_at);
CREATE INDEX acme_order_by_serial ON acme_order (serial) WHERE serial IS NOT NULL;
CREATE INDEX acme_order_by_replaces ON acme_order (replaces_serial)
	WHERE replaces_serial IS NOT NULL;

-- Authorizations, one per identifier of an order. The challenges are not
-- rows of their own: all of an authorization's challenges share its token
-- and only one of them is ever tried (chall: 'http-01', 'dns-01',
-- 'tls-alpn-01', or '' before any is).
CREATE TABLE acme_authz (
	id           TEXT    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 39),
	order_id     TEXT    NOT NULL REFERENCES acme_order (id),
	account_id   TEXT    NOT NULL REFERENCES acme_account (id),
	kind         TEXT    NOT NULL CHECK (kind IN ('dns', 'ip')),
	name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 253),
	wildcard     INTEGER NOT NULL DEFAULT 0 CHECK (wildcard IN (0, 1)),
	status       TEXT    NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated')),
	expires      INTEGER NOT NULL,
	token        TEXT    NOT NULL CHECK (length(token) BETWEEN 16 AND 63),
	chall        TEXT    NOT NULL DEFAULT ''
		CHECK (chall IN ('', 'http-01', 'dns-01', 'tls-alpn-01')),
	chall_status TEXT    NOT NULL DEFAULT ''
		CHECK (chall_status IN ('', 'processing', 'valid', 'invalid')),
	validated_at INTEGER NOT NULL DEFAULT 0,
	error_code   TEXT,
	error_detail TEXT,
	CHECK ((chall = '') = (chall_status = ''))
);
CREATE INDEX acme_authz_by_order ON acme_authz (order_id);
-- Reuse of a valid authorization, and the rights to revoke by it.
CREATE INDEX acme_authz_by_name ON acme_authz (account_id, name, status);
CREATE INDEX acme_authz_processing ON acme_authz (chall_status)
	WHERE chall_status = 'processing';

-- schema/008_scep.sql - SCEP (RFC 8894, issue 14): the RA certificates the
-- daemon had signed, and the SCEP transactions, so that a client that asks
-- again (scepclient resends its PKCSReq while PENDING; CertPoll) gets the
-- state of the request it made instead of a second certificate, and a
-- replayed transactionID signed by another key gets nothing.
--
-- Applied once, inside a transaction, when PRAGMA user_version < 8.

-- Every RA certificate (keyEncipherment and digitalSignature for the RA
-- key the signers made at start) the CA signed, recorded before the first
-- GetCACert that carries it leaves the daemon. The key was ephemeral, so
-- nothing here is secret.
CREATE TABLE scep_ra (
	serial     TEXT    PRIMARY KEY
		CHECK (length(serial) BETWEEN 2 AND 40
		       AND length(serial) % 2 = 0
		       AND serial NOT GLOB '*[^0-9a-f]*'),
	not_before INTEGER NOT NULL,
	not_after  INTEGER NOT NULL CHECK (not_after > not_before),
	der        BLOB    NOT NULL CHECK (length(der) > 0),
	created_at INTEGER NOT NULL
);

-- One SCEP transaction: the client's transactionID, the SHA-256 of the
-- certificate that signed it (a transactionID is the client's choice and
-- public - scepclient derives it from its key - so it is only ever looked
-- up together with the certificate whose key proved itself: a resent
-- PKCSReq or a CertPoll is signed with the same self-signed certificate,
-- a renewal with the certificate it renews), the SHA-256 of the CSR, and
-- what became of it:
-- the pending request (request_id) or the certificate issued at once
-- (serial). Refused messages store nothing.
CREATE TABLE scep_tx (
	tid        TEXT    NOT NULL CHECK (length(tid) BETWEEN 1 AND 128),
	signer     BLOB    NOT NULL CHECK (length(signer) = 32),
	csr_hash   BLOB    NOT NULL CHECK (length(csr_hash) = 32),
	request_id TEXT,
	serial     TEXT,
	created_at INTEGER NOT NULL,
	CHECK ((request_id IS NULL) <> (serial IS NULL)),
	PRIMARY KEY (tid, signer)
) WITHOUT ROWID;

-- SCEP's RA key (RSA), sealed as the CA key is (AES-256-GCM under a key
-- PBKDF2 derives from the CA's passphrase), so that the RA - and the
-- messages clients encrypted to it - outlive a restart of 'mica serve'.
-- The keeper makes it at the first start and unseals it at every later
-- one; only the signer processes ever hold it open. One row.
CREATE TABLE scep_ra_key (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	key_salt   BLOB    NOT NULL CHECK (length(key_salt) = 16),
	key_iter   INTEGER NOT NULL CHECK (key_iter > 0),
	key_nonce  BLOB    NOT NULL CHECK (length(key_nonce) = 12),
	key_ct     BLOB    NOT NULL CHECK (length(key_ct) > 16),
	created_at INTEGER NOT NULL
);

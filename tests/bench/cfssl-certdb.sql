-- tests/bench/cfssl-certdb.sql - the SQLite tables CFSSL's certdb writes
-- (bench only). Debian's golang-cfssl does not ship its migrations; these
-- are the columns of certdb.CertificateRecord / OCSPRecord that
-- certdb/sql's accessor inserts in CFSSL 1.2, with the same primary keys.
CREATE TABLE certificates (
	serial_number            blob NOT NULL,
	authority_key_identifier blob NOT NULL,
	ca_label                 blob,
	status                   blob NOT NULL,
	reason                   int,
	expiry                   timestamp,
	revoked_at               timestamp,
	pem                      blob NOT NULL,
	PRIMARY KEY (serial_number, authority_key_identifier)
);
CREATE TABLE ocsp_responses (
	serial_number            blob NOT NULL,
	authority_key_identifier blob NOT NULL,
	body                     blob NOT NULL,
	expiry                   timestamp,
	PRIMARY KEY (serial_number, authority_key_identifier),
	FOREIGN KEY (serial_number, authority_key_identifier)
		REFERENCES certificates (serial_number, authority_key_identifier)
);

-- schema/009_ocsp_compact.sql - pre-signed OCSP responses without the
-- responder certificate in every row (issue 15).
--
-- Applied once, inside a transaction, when PRAGMA user_version < 8.
--
-- A stored response used to be the whole OCSPResponse, of which about
-- two thirds is the delegated responder certificate (RFC 6960 4.2.2.2),
-- the same in every row. A row with responder set keeps only the
-- BasicOCSPResponse without its optional certs field (tbsResponseData,
-- signatureAlgorithm, signature: about 270 octets); the certificate,
-- recorded once in ocsp_responder, is added back when the response is
-- served or published, byte for byte what was signed over (the
-- signature covers tbsResponseData only). A row with responder NULL (one
-- stored before this migration) still holds a whole OCSPResponse and is
-- served as it is until the background refresh replaces it.
ALTER TABLE ocsp_response ADD COLUMN responder TEXT
	REFERENCES ocsp_responder (serial);

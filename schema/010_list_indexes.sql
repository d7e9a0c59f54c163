-- schema/010_list_indexes.sql - listing and searching certificates at ten
-- million of them (issue 16).
--
-- Applied once, inside a transaction, when PRAGMA user_version < 10.
--
-- "Expiring within N days" walks this index from now to now + N days, in
-- the order it lists them (soonest first, then id: the index carries the
-- rowid), and stops at the end of the page: no scan of the table, no sort.
-- (certificate_by_status orders by not_after only within one status, and
-- an expiring listing spans all of them.)
CREATE INDEX certificate_by_expiry ON certificate (not_after);

-- A name search is now an exact or prefix match on cert_name's index
-- instead of a LIKE '%...%' over every name (a scan of the whole index at
-- any store size). LIKE was ASCII case-insensitive and the search still
-- is: names are kept lowercase here (the domain part already was; an
-- email's local part keeps its case in the certificate and in
-- certificate.names, which the search never reads). On an existing store
-- this rewrites only the rows that had upper case.
INSERT OR IGNORE INTO cert_name (serial, name)
	SELECT serial, lower(name) FROM cert_name WHERE name <> lower(name);
DELETE FROM cert_name WHERE name <> lower(name);

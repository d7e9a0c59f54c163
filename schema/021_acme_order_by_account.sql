-- schema/021_acme_order_by_account.sql - one account's orders, newest made
-- first, without a sort.
--
-- Applied once, inside a transaction, when PRAGMA user_version < 21.
--
-- An account's orders are listed by pages in the order they were made
-- (rowid, which a clock set back cannot reorder), for the RFC 8555 orders
-- list, the admin page and the check at each ACME issuance of what the
-- account's recent orders replace. The index of 006 on (account_id,
-- created_at) gave them by date, so each page sorted all of an account's
-- orders - under the write lock at each issuance, and an account of a
-- whole fleet (cert-manager, Traefik) keeps thousands. An index on
-- account_id alone ends in the rowid: the pages read it in order. Nothing
-- orders an account's orders by date any more.
DROP INDEX acme_order_by_account;
CREATE INDEX acme_order_by_account ON acme_order (account_id);

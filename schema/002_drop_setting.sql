-- schema/002_drop_setting.sql - drop the unused key/value table.
--
-- 001 created a "setting" table that no part of mica ever read or wrote;
-- an unused table only invites a second place to keep state. Applied once,
-- inside a transaction, when PRAGMA user_version < 2; the store then sets
-- user_version = 2 in the same transaction.

DROP TABLE setting;

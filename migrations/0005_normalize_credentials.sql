-- Credentials in normal forms (issue #12, items 9 and 10; wasm/auth.h). Append-only:
-- never edit once landed.

-- 1 when password_hash is a hash of the password's NFKC form, as every hash the
-- core makes now is; 0 for the rows that existed before: their hash is of the
-- password as typed. The core verifies such a legacy hash as typed and answers with
-- a rehash of the NFKC form, stored with 1, at the user's next login.
ALTER TABLE users ADD COLUMN password_nfkc INTEGER NOT NULL DEFAULT 0;

-- The confusable skeleton of the username (UTS #39, auth_username_skeleton):
-- two names that look alike ("alice", "aIice", "a1ice") cannot both be taken.
-- NULL for the rows that existed before, filled in at their owner's next login;
-- SQLite's UNIQUE lets NULLs repeat, and an old pair of look-alikes keeps NULL on
-- one of them (the first to log in gets the skeleton).
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE UNIQUE INDEX users_by_username_skeleton ON users (username_skeleton);

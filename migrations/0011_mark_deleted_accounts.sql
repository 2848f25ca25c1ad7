-- Deleted accounts (issue 20, DELETE /account; wasm/account.h for the order of its
-- effects, PROTOCOL.md for what is deleted and kept). The row of a deleted account
-- stays, as a tombstone: moderation_log, bans, rooms and conversations name it by
-- id (and the log is append-only). Append-only: never edit once landed.

-- When the account was deleted (ms since the Unix epoch); NULL while it lives.
ALTER TABLE users ADD COLUMN deleted_at INTEGER;

-- When its username may be taken again (deleted_at + CHAT_USERNAME_RELEASE_MS):
-- until then username_key and username_skeleton stay and keep the name taken; a
-- signup of the name after it moves them aside ('deleted:<id>', which no username
-- can be) and clears this. NULL: nothing to release.
ALTER TABLE users ADD COLUMN release_at INTEGER;

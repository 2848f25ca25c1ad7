-- Accounts and sessions (issue #2). Append-only: never edit once landed.

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  username      TEXT    NOT NULL,                 -- as the user typed it
  username_key  TEXT    NOT NULL UNIQUE,          -- lowercase: uniqueness ignores case
  password_hash TEXT    NOT NULL,                 -- libsodium argon2id string
  role          TEXT    NOT NULL DEFAULT 'USER' CHECK (role IN ('USER', 'ADMIN')),
  created_at    INTEGER NOT NULL                  -- ms since the Unix epoch
);

-- Only the BLAKE2b-256 hash of a session token is stored, never the token.
CREATE TABLE sessions (
  token_hash TEXT    PRIMARY KEY,                 -- 64 hex characters
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,                    -- ms since the Unix epoch
  expires_at INTEGER NOT NULL,                    -- ms since the Unix epoch
  revoked_at INTEGER                              -- set by logout (and later by bans)
);

CREATE INDEX sessions_by_user ON sessions (user_id);

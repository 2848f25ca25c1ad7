-- Friends, blocks and direct-message conversations (issue #4).
-- Append-only: never edit once landed. The rules are in wasm/social.h.

CREATE TABLE friend_requests (              -- pending: from_id asked to_id
  from_id    INTEGER NOT NULL REFERENCES users (id),
  to_id      INTEGER NOT NULL REFERENCES users (id),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (from_id, to_id)
);
CREATE INDEX friend_requests_by_to ON friend_requests (to_id);

CREATE TABLE friendships (                  -- two rows per friendship, one each way
  user_id   INTEGER NOT NULL REFERENCES users (id),
  friend_id INTEGER NOT NULL REFERENCES users (id),
  since     INTEGER NOT NULL,
  PRIMARY KEY (user_id, friend_id)
);

CREATE TABLE blocks (                       -- blocker_id hides blocked_id
  blocker_id INTEGER NOT NULL REFERENCES users (id),
  blocked_id INTEGER NOT NULL REFERENCES users (id),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (blocker_id, blocked_id)
);

-- The index of DM conversations; their messages live in their Durable Object.
CREATE TABLE dm_conversations (
  id           INTEGER PRIMARY KEY,
  user_a       INTEGER NOT NULL REFERENCES users (id),   -- the smaller id
  user_b       INTEGER NOT NULL REFERENCES users (id),
  created_at   INTEGER NOT NULL,
  last_seq     INTEGER NOT NULL DEFAULT 0,
  last_at      INTEGER,
  last_user_id INTEGER,
  last_body    TEXT,
  unread_a     INTEGER NOT NULL DEFAULT 0,                -- messages user_a has not seen
  unread_b     INTEGER NOT NULL DEFAULT 0,
  UNIQUE (user_a, user_b),
  CHECK (user_a < user_b)
);
CREATE INDEX dm_conversations_by_b ON dm_conversations (user_b);

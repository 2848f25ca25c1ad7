-- The room directory (issue #3). Messages live in each room's Durable Object.
-- Append-only: never edit once landed.

CREATE TABLE rooms (
  id               INTEGER PRIMARY KEY,
  name             TEXT    NOT NULL,                        -- as typed
  name_key         TEXT    NOT NULL UNIQUE,                 -- ASCII letters lowercased
  created_by       INTEGER NOT NULL REFERENCES users (id),
  created_at       INTEGER NOT NULL,                        -- ms since the Unix epoch
  last_activity_at INTEGER NOT NULL                         -- ms; updated at most every 10 s
);

CREATE INDEX rooms_by_activity ON rooms (last_activity_at DESC, id DESC);

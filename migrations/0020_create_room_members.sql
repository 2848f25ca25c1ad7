-- Room membership (issue 15): private rooms, and a mirror of each room's member
-- table (kept in its Durable Object's storage, where the core's decisions are
-- applied first) for "my rooms" (GET /rooms?mine=1) and member pages.
-- Append-only: never edit once landed.

ALTER TABLE rooms ADD COLUMN private INTEGER NOT NULL DEFAULT 0;  -- 1: members only, not in the directory

CREATE TABLE room_members (
  room_id   INTEGER NOT NULL REFERENCES rooms (id),
  user_id   INTEGER NOT NULL REFERENCES users (id),
  standing  TEXT    NOT NULL CHECK (standing IN ('member', 'invited')),
  since     INTEGER NOT NULL,                                     -- ms since the Unix epoch
  PRIMARY KEY (room_id, user_id)
);

CREATE INDEX room_members_by_user ON room_members (user_id, room_id);

-- The directory's search by name prefix (GET /rooms?q=) reads public rooms by key.
CREATE INDEX rooms_by_key ON rooms (private, name_key);

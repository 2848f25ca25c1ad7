-- Bans, IP bans, the addresses users were seen with, the moderation audit trail,
-- and login throttling (issue #5). Append-only: never edit once landed.

CREATE TABLE user_ips (                     -- recorded at signup, login and socket connect
  user_id    INTEGER NOT NULL REFERENCES users (id),
  ip         TEXT    NOT NULL,              -- as the platform reports it (CF-Connecting-IP)
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  PRIMARY KEY (user_id, ip)
);

CREATE TABLE user_bans (                    -- the bans in force
  user_id    INTEGER PRIMARY KEY REFERENCES users (id),
  banned_by  INTEGER NOT NULL REFERENCES users (id),
  reason     TEXT,
  created_at INTEGER NOT NULL
);

CREATE TABLE ip_bans (                      -- addresses refused at the front of the Worker
  ip         TEXT    PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users (id),   -- whose ban brought it
  created_at INTEGER NOT NULL
);

-- The audit trail: one row per ban, unban and promotion; rows are only ever added.
CREATE TABLE moderation_log (
  id         INTEGER PRIMARY KEY,
  action     TEXT    NOT NULL CHECK (action IN ('ban', 'unban', 'promote')),
  target_id  INTEGER NOT NULL REFERENCES users (id),
  actor_id   INTEGER REFERENCES users (id),  -- NULL: the `make admin` command
  reason     TEXT,
  ip         INTEGER NOT NULL DEFAULT 0,     -- the ban covered the user's addresses
  ips        TEXT,                           -- JSON list of the addresses banned
  created_at INTEGER NOT NULL
);
CREATE TRIGGER moderation_log_no_update BEFORE UPDATE ON moderation_log
BEGIN SELECT RAISE(ABORT, 'the moderation log is append-only'); END;
CREATE TRIGGER moderation_log_no_delete BEFORE DELETE ON moderation_log
BEGIN SELECT RAISE(ABORT, 'the moderation log is append-only'); END;

CREATE TABLE login_failures (               -- "user:<username_key>" or "ip:<address>"
  key          TEXT    PRIMARY KEY,
  count        INTEGER NOT NULL,
  window_start INTEGER NOT NULL
);

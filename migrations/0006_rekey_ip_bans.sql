-- IP bans keyed by address and user (issue 12). Two banned users can share an
-- address (a NAT, a family's machine); with the address alone as the key, the
-- second ban's row was dropped (INSERT OR IGNORE) and unbanning the first lifted
-- the address for both. Now each ban keeps its own rows: an address is banned
-- while any row names it, and an unban deletes only that user's rows.
-- Append-only: never edit once landed.

CREATE TABLE ip_bans_by_user (
  ip         TEXT    NOT NULL,              -- as the platform reports it (CF-Connecting-IP)
  user_id    INTEGER NOT NULL REFERENCES users (id),   -- whose ban brought it
  created_at INTEGER NOT NULL,
  PRIMARY KEY (ip, user_id)
);

INSERT INTO ip_bans_by_user (ip, user_id, created_at) SELECT ip, user_id, created_at FROM ip_bans;

-- The rows the old key dropped, for bans still in force: the addresses each ban
-- with ip = 1 listed in the audit trail (its latest ban entry).
INSERT OR IGNORE INTO ip_bans_by_user (ip, user_id, created_at)
SELECT a.value, l.target_id, l.created_at
FROM user_bans b
JOIN moderation_log l ON l.id = (SELECT max(id) FROM moderation_log
                                 WHERE target_id = b.user_id AND action = 'ban')
JOIN json_each(l.ips) a
WHERE l.ip = 1;

DROP TABLE ip_bans;
ALTER TABLE ip_bans_by_user RENAME TO ip_bans;
CREATE INDEX ip_bans_by_user_id ON ip_bans (user_id);

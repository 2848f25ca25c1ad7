-- Friends' presence (issue 15): who is online, that is, holds at least one personal
-- socket (GET /ws). Each user's UserHub writes its own row when its first personal
-- socket opens and deletes it when its last one closes (an alarm of the hub catches
-- a restart that dropped the sockets without a close), so a connect and GET /friends
-- read friends' states in one query instead of asking every friend's object.
-- Append-only: never edit once landed.

CREATE TABLE online_users (
  user_id INTEGER PRIMARY KEY REFERENCES users (id),
  since   INTEGER NOT NULL                                      -- ms since the Unix epoch
);

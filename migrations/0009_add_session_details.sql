-- What a person sees of their sessions (issue 20, GET /account/sessions).
-- Append-only: never edit once landed.

-- When the session was last used, in ms since the Unix epoch: written at most once
-- per CHAT_SESSION_SEEN_REFRESH_MS (wasm/chat_limits.h), not on every request.
-- NULL for sessions made before this migration until their next use.
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;

-- A coarse description of the client ("Firefox on Linux", wasm/account.h), made
-- from the User-Agent at login: never the header itself, never the token.
ALTER TABLE sessions ADD COLUMN client TEXT;

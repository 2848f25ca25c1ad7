-- The moderation log as a hash chain (issue 19; wasm/audit.h). Append-only: never
-- edit once landed.
--
-- Each row carries `hash`: BLAKE2b-256 of the previous row's hash and the row's
-- canonical content, as 64 lowercase hex digits, computed by the chat core
-- (audit_link) when the row is written. Rows from before this migration have
-- none (NULL, "unsealed"); the Worker seals them, in order, before it next writes
-- to the log or verifies it (GET /bans/verify), and so does `make admin`.
ALTER TABLE moderation_log ADD COLUMN hash TEXT
  CHECK (hash IS NULL OR (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'));

-- Still append-only, with one exception: an unsealed row may be sealed, once,
-- and nothing else of it may change. (Triggers do not stop an operator who drops
-- them; the chain is what makes such a rewrite visible.)
DROP TRIGGER moderation_log_no_update;
CREATE TRIGGER moderation_log_no_update BEFORE UPDATE ON moderation_log
WHEN OLD.hash IS NOT NULL OR NEW.hash IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.action IS NOT OLD.action OR NEW.target_id IS NOT OLD.target_id
  OR NEW.actor_id IS NOT OLD.actor_id OR NEW.reason IS NOT OLD.reason OR NEW.ip IS NOT OLD.ip
  OR NEW.ips IS NOT OLD.ips OR NEW.created_at IS NOT OLD.created_at
BEGIN SELECT RAISE(ABORT, 'the moderation log is append-only'); END;

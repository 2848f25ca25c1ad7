-- A display name beside the username (issue 20, PUT /account/profile). The
-- username stays the identity (unique, what others type); the display name is the
-- NFKC form the core checked (wasm/account.h: at most CHAT_DISPLAY_NAME_MAX
-- characters, no control, format or bidi-override character), or NULL for none.
-- Append-only: never edit once landed.
ALTER TABLE users ADD COLUMN display_name TEXT;

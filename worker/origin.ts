/**
 * Which web pages may open a WebSocket here: HTTP plumbing, not a chat rule.
 *
 * Browsers let any page open a WebSocket to any host, and always say which page
 * did in the Origin header of the handshake (RFC 6455 section 4.1; a script
 * cannot change it). The site and the API share an origin (README "The web
 * client"), so the allow-list is short: CHAT_ALLOWED_ORIGINS in wrangler.toml,
 * one list per environment, origins separated by spaces, compared exactly
 * (scheme, host and port; no wildcards).
 *
 * A handshake without an Origin header is not from a browser (the Node clients of
 * the tests, curl, bots): such a client needs the session token anyway and could
 * send any Origin it liked, so the check would stop nothing; it is let through.
 * "Origin: null" (sandboxed frames, file: pages) is refused like any unlisted one.
 */
export function originAllowed(origin: string | null, allowList: string | undefined): boolean {
  if (origin === null) return true;
  return (allowList ?? "").split(/\s+/).some((o) => o !== "" && o === origin);
}

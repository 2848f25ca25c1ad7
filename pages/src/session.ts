/**
 * The signed-in session, kept in localStorage so that it survives a reload. The
 * token is a bearer credential: it is sent only to this site's own origin, in
 * the Authorization header or the WebSocket subprotocol list.
 */
import type { Session } from "./protocol";

const KEY = "edge-chat.session";

export function loadSession(): Session | null {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? "null") as Session | null;
    return s && typeof s.token === "string" && s.user ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null) {
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
}

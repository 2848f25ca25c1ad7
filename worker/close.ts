/**
 * Closing a WebSocket: the one place where the shell (the Worker's objects) ends a
 * socket. Every close reason passes through closeReason, so none can make the
 * runtime refuse the close.
 *
 * Why it matters: a Close frame's payload is at most 125 bytes, two of them the
 * code (RFC 6455 sections 5.5 and 5.5.1), so a reason is at most 123 bytes of
 * UTF-8 (LIMITS.closeReasonMax). `ws.close` throws on a longer one and the socket
 * stays open: a ban with a long reason would close nothing.
 */
import type { Revocation, SocketFacts } from "./env";
import { LIMITS } from "./generated/core";

const encoder = new TextEncoder();

/**
 * `reason` cut to at most LIMITS.closeReasonMax bytes of UTF-8, at a code point
 * boundary (never half a character; a surrogate pair is one code point), with "…"
 * (3 bytes) at the end when it was cut. Pure; never throws.
 */
export function closeReason(reason: string): string {
  const max = LIMITS.closeReasonMax;
  if (encoder.encode(reason).length <= max) return reason;
  let out = "";
  let bytes = 0;
  for (const ch of reason) { // iterates code points
    const n = encoder.encode(ch).length;
    if (bytes + n > max - 3) break;
    out += ch;
    bytes += n;
  }
  return `${out}…`;
}

/**
 * Closes `ws` with `code` and the capped reason. Never throws: a socket already
 * closing or closed stays as it is (its close event follows or has happened).
 */
export function closeSocket(ws: Pick<WebSocket, "close">, code: number, reason = ""): void {
  try {
    ws.close(code, closeReason(reason));
  } catch {
    // already closing or closed
  }
}

/** Completes a closing handshake the client started, echoing its code (1005
 * "no code" and 1006 "abnormal" may not be sent, RFC 6455 section 7.4.1). */
export function echoClose(ws: WebSocket, code: number, reason: string): void {
  closeSocket(ws, code === 1005 || code === 1006 ? 1000 : code, reason);
}

/** Whether a revocation ends a socket opened with these facts: one of the session's
 * (a logout), one opened from a listed address (an IP ban), one of any session but
 * the one excepted (a password change), or (empty) any. */
export function revokes(r: Revocation, socket: Pick<SocketFacts, "session" | "ip">): boolean {
  if (r.session !== undefined && socket.session !== r.session) return false;
  if (r.except !== undefined && socket.session === r.except) return false;
  if (r.ips !== undefined && !r.ips.includes(socket.ip)) return false;
  return true;
}

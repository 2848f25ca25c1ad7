/**
 * Debug counters (tests and benchmarks only: CHAT_DEBUG_COUNTERS=1): the D1
 * queries the socket-open and signup paths of this isolate made (issue 21 counts
 * them per open; a signup refused lately makes none), the socket opens that
 * reached it, and those a room sent to a relay. Never on in a
 * deployment (the deploy checks keep CHAT_* test variables out of wrangler.toml).
 */
import { CoreError, type CoreHost } from "./core";
import type { Env } from "./env";

export const debugCounters = { socket_opens: 0, d1_queries: 0, relayed_opens: 0 };

/** A socket open reached the Worker (counted when counters are on). */
export function noteOpen(env: Env): void {
  if (env.CHAT_DEBUG_COUNTERS === "1") debugCounters.socket_opens++;
}

/** A room sent a socket to one of its relays (durable-objects/room-relay.ts). */
export function noteRelayed(env: Env): void {
  if (env.CHAT_DEBUG_COUNTERS === "1") debugCounters.relayed_opens++;
}

/** env.DB, counting its statements into debugCounters when counters are on. */
export function countedDb(env: Env): D1Database {
  if (env.CHAT_DEBUG_COUNTERS !== "1") return env.DB;
  return new Proxy(env.DB, {
    get(target, key) {
      if (key === "prepare") {
        return (query: string) => {
          debugCounters.d1_queries++;
          return target.prepare(query);
        };
      }
      const value = Reflect.get(target, key) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** `n` verifications of a login against the dummy hash (login_verify with no
 * stored hash: one argon2id each, as for an unknown user), for the bench; answers n. */
export function debugHashes(core: CoreHost, n: number): number {
  const body = new TextEncoder().encode(JSON.stringify({ username: "nobody", password: "not the password" }));
  for (let i = 0; i < n; i++) {
    try {
      core.call("login_verify", body, { password_hash: null, password_nfkc: true, banned: false });
    } catch (e) {
      if (!(e instanceof CoreError) || e.code !== "invalid_credentials") throw e;
    }
  }
  return n;
}

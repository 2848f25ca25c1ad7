/**
 * What one isolate remembers between requests to spare D1 and RPCs: sessions it
 * checked for sockets (accounts.ts), rate refusals (budgets.ts), rooms it saw
 * exist (rooms.ts) and addresses it recorded lately (index.ts). Each is a bounded
 * least-recently-used map (lru-cache): at most ISOLATE_CACHE_ENTRIES entries, the
 * least recently used go first, and an entry given a time to live (ms, the whole
 * cache's or its own at set) is gone after it. Per isolate and never shared, so
 * nothing here may widen what a client is allowed: each cache's owner states its
 * guarantee.
 */
import { LRUCache } from "lru-cache";
import { LIMITS } from "./generated/core";

/** Entries per cache: LIMITS.listPage * 100 (10 000), a few MB at most for what
 * each holds, against the 128 MB of an isolate (Cloudflare Workers limits). */
export const ISOLATE_CACHE_ENTRIES = LIMITS.listPage * 100;

/** A new bounded cache; `ttlMs` (when given) is every entry's time to live. */
export function isolateCache<K extends {}, V extends {}>(ttlMs?: number): LRUCache<K, V> {
  return new LRUCache<K, V>(ttlMs ? { max: ISOLATE_CACHE_ENTRIES, ttl: ttlMs } : { max: ISOLATE_CACHE_ENTRIES });
}

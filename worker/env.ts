/** Bindings of the Worker (wrangler.toml). */
export interface Env {
  DB: D1Database;
  USER_HUB: DurableObjectNamespace<import("../durable-objects/user-hub").UserHub>;
  CHAT_ROOM: DurableObjectNamespace<import("../durable-objects/chat-room").ChatRoom>;
  /** "1" only in tests: enables /__test/* routes (never set in wrangler.toml). */
  CHAT_TEST_HOOKS?: string;
  /** Load tests only: replace the per-user rate limit of every room (frames per
   * second, and burst). Never set in wrangler.toml; `make bench` passes them to
   * `wrangler dev` with --var. */
  CHAT_RATE_PER_SECOND?: string;
  CHAT_RATE_BURST?: string;
  /** Load tests only: replace each room's load-shedding limit (new messages per
   * second, and burst; CHAT_ROOM_RATE_* in wasm/chat_limits.h otherwise). */
  CHAT_ROOM_RATE_PER_SECOND?: string;
  CHAT_ROOM_RATE_BURST?: string;
  /** The origins whose pages may open WebSockets, separated by spaces (worker/origin.ts). */
  CHAT_ALLOWED_ORIGINS?: string;
}

/** A user as the API shows it. */
export interface PublicUser {
  id: number;
  username: string;
  role: "USER" | "ADMIN";
}

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
  /** Tests only: multiplies every rate budget's limit (budget.h), since every test
   * client comes from one loopback address. Never set in wrangler.toml; the test
   * harness passes it to `wrangler dev` with --var, except where budgets are tested. */
  CHAT_BUDGET_SCALE?: string;
  /** The origins whose pages may open WebSockets, separated by spaces (worker/origin.ts). */
  CHAT_ALLOWED_ORIGINS?: string;
}

/** A user as the API shows it. */
export interface PublicUser {
  id: number;
  username: string;
  role: "USER" | "ADMIN";
}

/**
 * What the Worker tells a Durable Object about the caller of a new socket. It
 * travels in the X-Chat-Facts header of a request that the Worker builds from
 * nothing (worker/index.ts, forwardSocket): no header a client sent ever reaches
 * an object, so none can speak for the server. Everything else an object is told
 * (what it is, whom a user blocks, who is banned) comes by RPC.
 */
export interface SocketFacts {
  user: PublicUser;
  /** The session the socket was opened with (the rowid of its sessions row). */
  session: number;
  /** The client's address (CF-Connecting-IP, set by the platform). */
  ip: string;
  /** Rooms and conversations only: whom the user blocks, and which object this is
   * (its D1 id and its name, as in idFromName). */
  blocks?: number[];
  room?: { id: number; object: string };
}

/** The name of the header that carries SocketFacts (and the only one objects read). */
export const FACTS_HEADER = "X-Chat-Facts";

/** Which sockets of a user a revocation ends: those of one session, or those
 * opened from some addresses (an IP ban), or (empty) all of them. */
export interface Revocation {
  session?: number;
  ips?: string[];
}

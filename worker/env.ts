/**
 * The Worker's bindings. ChatEnv (D1, the Durable Object namespaces, the vars) is
 * generated from wrangler.toml by `make types` (`wrangler types`, into
 * worker/worker-configuration.d.ts, committed); `make test` fails when that file
 * differs from what the configuration gives. Added here by hand: the variables that
 * only tests and load tests pass to `wrangler dev` with --var, which wrangler.toml
 * never sets (the deploy checks keep them out), so wrangler types cannot see them.
 */
export interface Env extends ChatEnv {
  /** "1" only in tests: enables /__test/* routes. */
  CHAT_TEST_HOOKS?: string;
  /** Load tests only: replace the per-user rate limit of every room (frames per
   * second, and burst); `make bench` passes them. */
  CHAT_RATE_PER_SECOND?: string;
  CHAT_RATE_BURST?: string;
  /** Load tests only: replace each room's load-shedding limit (new messages per
   * second, and burst; CHAT_ROOM_RATE_* in wasm/chat_limits.h otherwise). */
  CHAT_ROOM_RATE_PER_SECOND?: string;
  CHAT_ROOM_RATE_BURST?: string;
  /** Tests only: multiplies every rate budget's limit (budget.h), since every test
   * client comes from one loopback address; the test harness passes it, except
   * where budgets are tested. */
  CHAT_BUDGET_SCALE?: string;
  /** Tests only: divides the idle time of sockets (LIMITS.idleTimeoutMs,
   * worker/liveness.ts), so a test sees an idle socket closed in seconds. */
  CHAT_IDLE_SCALE?: string;
  /** Benchmarks only (make bench-search): "off" builds no search index in rooms
   * made from then on, to measure what the index costs a busy room. */
  CHAT_SEARCH_INDEX?: string;
  /** Tests and benchmarks only: the open sockets from which a room
   * takes new sockets through relays (CHAT_RELAY_FROM in wasm/chat_limits.h
   * otherwise; durable-objects/room-relay.ts), so a test sees relays with a few
   * clients. */
  CHAT_RELAY_FROM?: string;
  /** Tests and benchmarks only: "1" counts the D1 queries socket opens make, at
   * GET /__debug/counters (worker/debug.ts). */
  CHAT_DEBUG_COUNTERS?: string;
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
  /** Rooms and conversations only: which object this is (its D1 id and its name,
   * as in idFromName), and for a big room's socket the relay the room chose
   * (durable-objects/room-relay.ts). Whom the user blocks comes from their hub
   * (UserHub.admit). */
  room?: { id: number; object: string; relay?: number };
}

/** The name of the header that carries SocketFacts (and the only one objects read). */
export const FACTS_HEADER = "X-Chat-Facts";

/** Which sockets of a user a revocation ends: those of one session, or those
 * opened from some addresses (an IP ban), or those of every session but one (a
 * password change, "log out everywhere else"), or (empty) all of them. */
export interface Revocation {
  session?: number;
  ips?: string[];
  except?: number;
}

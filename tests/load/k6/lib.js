// Shared pieces of the k6 scripts: parameters, accounts, rooms and the chat socket,
// in the project's own protocol (the frame names and limits come from the
// generated protocol module, never copied by hand). Grafana k6 conventions: the
// scripts export `options` (scenarios, thresholds), `setup()` and the functions
// their scenarios run. Every number is a parameter (`k6 run -e NAME=value`); the
// defaults are the full-size runs, `tests/load/k6.mjs smoke` passes small ones.
//
//   BASE_URL    the server (default http://127.0.0.1:8787)
//   BODY_BYTES  bytes of each message's body (default 32; at most the core's
//               LIMITS.messageMaxChars characters)
//   JOIN_SPREAD the time over which the VUs open their sockets (the scripts' defaults:
//               a room fills over some seconds, as people arrive; 0s: all at once)
//   RUN         a name for this run's accounts (default: the time): accounts are
//               k6<RUN>_<n>, signed up, or logged in when they exist already, so that a
//               run against a deployment can reuse accounts (an address may make 10
//               accounts an hour there: PROTOCOL.md, "Limits")
//   RECONNECT_BASE_MS, RECONNECT_CAP_MS
//               the reconnect backoff (required: k6 cannot import the TypeScript
//               LIMITS, and the generated core.js is not where these two are read
//               from, so tests/load/k6.mjs passes LIMITS.reconnectBaseMs and
//               LIMITS.reconnectCapMs from worker/generated/core.ts). A socket that
//               drops (any close code but 4001, 4003, 4004) is opened again after
//               random(0, min(CAP, BASE x 2^attempt)) ms (full jitter), joins with
//               {since: the last seq it saw}, pages back over HTTP what that
//               history's has_more leaves out, and resends its unacknowledged
//               messages with their client_id; chat_reconnects counts them.
import http from "k6/http";
import { check } from "k6";
import { Counter, Trend } from "k6/metrics";
import { WebSocket } from "k6/websockets";
import { LIMITS } from "../../../worker/generated/core.js";

export const BASE = (__ENV.BASE_URL || "http://127.0.0.1:8787").replace(/\/$/, "");
const WS_BASE = BASE.replace(/^http/, "ws");
const BODY_BYTES = Math.min(Number(__ENV.BODY_BYTES || 32), LIMITS.messageMaxChars);
const RUN = __ENV.RUN || `${Date.now() % 1000000}`;
const PASSWORD = "k6 password 1";

/** A number parameter, or its default. */
export function num(name, fallback) {
  const v = __ENV[name];
  return v === undefined || v === "" ? fallback : Number(v);
}

/** A k6 duration ("90s", "5m", "1m30s", "1h") in seconds. */
export function seconds(duration) {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let m;
  while ((m = re.exec(duration)) !== null) total += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
  if (!(total > 0) && !/^0+(ms|s|m|h)?$/.test(duration)) throw new Error(`not a duration: ${duration}`);
  return total;
}

/** A duration parameter ("30s"...), or its default. */
export const duration = (name, fallback) => __ENV[name] || fallback;

/** Send-to-receipt time of a VU's own messages (its acknowledgement), in ms. */
export const deliveryLatency = new Trend("chat_delivery_latency", true);
/** Age of every message a VU receives, from the server's created_at, in ms
 * (includes the clock difference between the server and the load generator). */
export const messageAge = new Trend("chat_message_age", true);
export const delivered = new Counter("chat_messages_delivered");
export const sent = new Counter("chat_messages_sent");
export const refused = new Counter("chat_messages_refused");
export const reconnects = new Counter("chat_reconnects");

const RECONNECT_BASE_MS = Number(__ENV.RECONNECT_BASE_MS);
const RECONNECT_CAP_MS = Number(__ENV.RECONNECT_CAP_MS);
/** Close codes after which a client must not reconnect (PROTOCOL.md). */
const FINAL_CLOSES = [4001, 4003, 4004];

function post(path, body, token, expected = [200, 201]) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return http.post(`${BASE}${path}`, JSON.stringify(body), { headers, responseCallback: http.expectedStatuses(...expected) });
}

/** setup(): signs up (or logs in) `users` accounts and creates `rooms` rooms, each
 * by another account (a budget limits the rooms one account makes an hour); the
 * returned data is shared with every VU. */
export function createUsersAndRooms(users, rooms) {
  const accounts = [];
  for (let i = 0; i < users; i++) {
    const username = `k6${RUN}_${i}`.slice(0, LIMITS.usernameMax);
    // 409: the account exists (a RUN reused), so log in (not a failed request)
    let res = post("/signup", { username, password: PASSWORD }, null, [201, 409]);
    if (res.status === 409) res = post("/login", { username, password: PASSWORD });
    check(res, { "signed up or logged in": (r) => r.status === 201 || r.status === 200 });
    accounts.push(res.json("token"));
  }
  const roomIds = [];
  for (let r = 0; r < rooms; r++) {
    const res = post("/rooms", { name: `k6 ${RUN} ${r} ${Date.now() % 100000}` }, accounts[r % accounts.length]);
    check(res, { "room 201": (r2) => r2.status === 201 });
    roomIds.push(res.json("room.id"));
  }
  return { accounts, roomIds };
}

/** A body of BODY_BYTES bytes that starts with the message's client_id. */
function body(clientId) {
  const text = `k6 says ${clientId} `;
  return text.length >= BODY_BYTES ? text.slice(0, BODY_BYTES) : text + "x".repeat(BODY_BYTES - text.length);
}

/**
 * One VU's session: joins its room (after its share of `spread` seconds: VUs open
 * their sockets spread evenly over it), and if it is a sender sends a message every
 * `intervalMs` until `seconds` are over, then closes.
 */
export function chat(data, { sender, intervalMs, seconds: lifetime, spread = 0 }) {
  const i = (__VU - 1) % data.accounts.length;
  const token = data.accounts[i];
  const room = data.roomIds[i % data.roomIds.length];
  const delay = (i / data.accounts.length) * spread * 1000;
  setTimeout(() => open(token, room, { sender, intervalMs, lifetime: lifetime * 1000 - delay }), delay);
}

/** The messages after seq `since` that a rejoin's history frame `h` stands for,
 * oldest first: its page, and when it says has_more the pages before it, read with
 * GET /rooms/:id/messages?before= (a page may also hold older messages: dropped). */
function missedSince(token, room, since, h) {
  let missed = h.messages || [], more = h.has_more;
  while (more && missed.length && missed[0].seq > since + 1) {
    const res = http.get(`${BASE}/rooms/${room}/messages?before=${missed[0].seq}&limit=${LIMITS.historyPage}`,
      { headers: { Authorization: `Bearer ${token}` }, tags: { name: "GET /rooms/:id/messages" } });
    if (res.status !== 200) break;
    const page = res.json();
    missed = page.messages.concat(missed);
    more = page.has_more && page.messages.length > 0;
  }
  return missed.filter((m) => m.seq > since);
}

function open(token, room, { sender, intervalMs, lifetime }) {
  if (!(RECONNECT_BASE_MS > 0 && RECONNECT_CAP_MS > 0)) {
    throw new Error("RECONNECT_BASE_MS and RECONNECT_CAP_MS are required (tests/load/k6.mjs passes them from LIMITS)");
  }
  const pending = {}; // client_id -> send time, until acknowledged
  const unacked = {}; // client_id -> the frame, until acknowledged
  const end = Date.now() + Math.max(1000, lifetime);
  let n = 0, timer = null, ws = null, live = false, joined = false, last = 0, attempt = 0, over = false;

  const send = (frame) => { if (live) ws.send(JSON.stringify(frame)); };
  const onFrame = (f) => {
    if (f.type === "connection") {
      ws.send(JSON.stringify(joined ? { type: "join_room", since: last } : { type: "join_room" }));
    } else if (f.type === "history") {
      // A rejoin's history is the newest page of what was missed: with has_more,
      // the rest is paged back over HTTP down to the last seq seen (PROTOCOL.md),
      // then everything is taken oldest first.
      if (joined) for (const m of missedSince(token, room, last, f)) onFrame({ ...m, type: "new_chat_message" });
      if (!joined) last = f.last_seq;
      joined = live = true;
      attempt = 0;
      for (const id of Object.keys(unacked)) send(unacked[id]);
      if (sender && !timer) {
        timer = setInterval(() => {
          const clientId = `${__VU}-${__ITER}-${n++}`;
          pending[clientId] = Date.now();
          unacked[clientId] = { type: "new_chat_message", body: body(clientId), client_id: clientId };
          send(unacked[clientId]);
          sent.add(1);
        }, intervalMs);
      }
    } else if (f.type === "new_chat_message") {
      if (f.duplicate) { // a resend's acknowledgement: the original, to us only
        delete unacked[f.client_id];
        return;
      }
      if (f.seq <= last) return; // already had it (a rejoin's history overlaps nothing, but be safe)
      last = f.seq;
      delivered.add(1);
      messageAge.add(Math.max(0, Date.now() - f.created_at));
      delete unacked[f.client_id];
      if (pending[f.client_id] !== undefined) {
        deliveryLatency.add(Date.now() - pending[f.client_id]);
        delete pending[f.client_id];
      }
    } else if (f.type === "error" && f.code === "rate_limited") {
      refused.add(1);
    }
  };
  let heartbeat = null;
  const connect = () => {
    ws = new WebSocket(`${WS_BASE}/rooms/${room}/ws`, [LIMITS.wsProtocol, `${LIMITS.wsBearerPrefix}${token}`]);
    // A heartbeat, as the web client's: a room closes a socket silent for
    // LIMITS.idleTimeoutMs, and a listener never sends otherwise.
    const sock = ws;
    if (heartbeat !== null) clearInterval(heartbeat);
    heartbeat = setInterval(() => { if (sock.readyState === 1) sock.send(JSON.stringify({ type: "ping" })); }, LIMITS.pingIntervalMs);
    ws.onmessage = (event) => {
      const wire = JSON.parse(event.data);
      // a busy room coalesces its broadcasts into one "batch" frame, in order
      for (const f of wire.type === "batch" ? wire.frames : [wire]) onFrame(f);
    };
    ws.onerror = (e) => console.error(`VU ${__VU}: ${e.error}`);
    ws.onclose = (e) => {
      live = false;
      if (over || FINAL_CLOSES.indexOf(e.code) >= 0) return;
      // Capped exponential backoff with full jitter (AWS Architecture Blog).
      const wait = Math.random() * Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * Math.pow(2, attempt++));
      if (Date.now() + wait >= end) return;
      reconnects.add(1);
      setTimeout(connect, wait);
    };
  };
  connect();
  setTimeout(() => {
    over = true;
    if (timer) clearInterval(timer);
    if (heartbeat !== null) clearInterval(heartbeat);
    ws.close();
  }, Math.max(1000, lifetime));
}

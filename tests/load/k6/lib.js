// Shared pieces of the k6 scripts: accounts, rooms and the chat socket, in the
// project's own protocol (the frame names and limits come from the generated
// protocol module, never copied by hand). Grafana k6 conventions: the scripts
// export `options` (scenarios, thresholds), `setup()` and a default function.
import http from "k6/http";
import { check } from "k6";
import { Counter, Trend } from "k6/metrics";
import { WebSocket } from "k6/websockets";
import { LIMITS } from "../../../worker/generated/core.js";

export const BASE = (__ENV.BASE_URL || "http://127.0.0.1:8787").replace(/\/$/, "");
const WS_BASE = BASE.replace(/^http/, "ws");

/** Send-to-receipt time of a VU's own messages (its acknowledgement), in ms. */
export const deliveryLatency = new Trend("chat_delivery_latency", true);
/** Age of every message a VU receives, from the server's created_at, in ms
 * (includes the clock difference between the server and the load generator). */
export const messageAge = new Trend("chat_message_age", true);
export const delivered = new Counter("chat_messages_delivered");
export const sent = new Counter("chat_messages_sent");
export const refused = new Counter("chat_messages_refused");

function post(path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return http.post(`${BASE}${path}`, JSON.stringify(body), { headers });
}

/** setup(): signs up `users` accounts and creates `rooms` rooms; returned data is
 * shared with every VU. */
export function createUsersAndRooms(users, rooms) {
  const run = `${Date.now() % 1000000}`;
  const accounts = [];
  for (let i = 0; i < users; i++) {
    const res = post("/signup", { username: `k6${run}_${i}`.slice(0, LIMITS.usernameMax), password: "k6 password 1" });
    check(res, { "signup 201": (r) => r.status === 201 });
    accounts.push(res.json("token"));
  }
  const roomIds = [];
  for (let r = 0; r < rooms; r++) {
    const res = post("/rooms", { name: `k6 ${run} ${r}` }, accounts[0]);
    check(res, { "room 201": (r2) => r2.status === 201 });
    roomIds.push(res.json("room.id"));
  }
  return { accounts, roomIds };
}

/**
 * One VU's session: joins its room, and if it is a sender sends a message every
 * `intervalMs` until `seconds` are over, then closes.
 */
export function chat(data, { sender, intervalMs, seconds }) {
  const i = (__VU - 1) % data.accounts.length;
  const token = data.accounts[i];
  const room = data.roomIds[i % data.roomIds.length];
  const ws = new WebSocket(`${WS_BASE}/rooms/${room}/ws`, [LIMITS.wsProtocol, `${LIMITS.wsBearerPrefix}${token}`]);
  const pending = {};
  let n = 0;
  let timer = null;
  ws.onmessage = (event) => {
    const wire = JSON.parse(event.data);
    // a busy room coalesces its broadcasts into one "batch" frame, in order
    for (const f of wire.type === "batch" ? wire.frames : [wire]) onFrame(f);
  };
  const onFrame = (f) => {
    if (f.type === "connection") {
      ws.send(JSON.stringify({ type: "join_room" }));
    } else if (f.type === "history" && sender) {
      timer = setInterval(() => {
        const clientId = `${__VU}-${__ITER}-${n++}`;
        pending[clientId] = Date.now();
        ws.send(JSON.stringify({ type: "new_chat_message", body: `k6 says ${clientId}`, client_id: clientId }));
        sent.add(1);
      }, intervalMs);
    } else if (f.type === "new_chat_message") {
      delivered.add(1);
      messageAge.add(Math.max(0, Date.now() - f.created_at));
      if (pending[f.client_id] !== undefined) {
        deliveryLatency.add(Date.now() - pending[f.client_id]);
        delete pending[f.client_id];
      }
    } else if (f.type === "error" && f.code === "rate_limited") {
      refused.add(1);
    }
  };
  ws.onerror = (e) => console.error(`VU ${__VU}: ${e.error}`);
  setTimeout(() => {
    if (timer) clearInterval(timer);
    ws.close();
  }, seconds * 1000);
}

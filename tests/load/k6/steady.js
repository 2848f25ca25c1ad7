// Steady chat load: MEMBERS members in each of ROOMS rooms, a SENDERS share of them
// sending one message every INTERVAL_MS, for DURATION. The defaults: 100 members,
// 10 % sending every 2 s (5 messages/s per room), 5 minutes.
//   k6 run -e BASE_URL=https://edge-chat-staging.<subdomain>.workers.dev tests/load/k6/steady.js
//   make k6 SCRIPT=steady BASE=http://127.0.0.1:8787 K6_ENV="MEMBERS=20 DURATION=60s"
// Parameters (k6 -e NAME=value): MEMBERS, ROOMS, SENDERS (a fraction), INTERVAL_MS,
// DURATION, JOIN_SPREAD (10s), and those of lib.js (BASE_URL, BODY_BYTES, RUN).
import { chat, createUsersAndRooms, duration, num, seconds } from "./lib.js";

const MEMBERS = num("MEMBERS", 100);
const ROOMS = num("ROOMS", 1);
const SENDERS = Math.max(1, Math.ceil(MEMBERS * ROOMS * num("SENDERS", 0.1)));
const INTERVAL_MS = num("INTERVAL_MS", 2000);
const DURATION = duration("DURATION", "5m");
// The sockets open over JOIN_SPREAD: a new room's Durable Object starts with its
// first socket (its own Wasm core and storage), and sockets opening at that instant
// wait for it (README "Load").
const SPREAD = seconds(duration("JOIN_SPREAD", "10s"));
// Each VU's own scenario may run a minute past its socket's lifetime (setup excluded).
const MAX_DURATION = `${Math.ceil(seconds(DURATION)) + 60}s`;

export const options = {
  setupTimeout: "10m",
  scenarios: {
    senders: {
      executor: "per-vu-iterations", vus: SENDERS, iterations: 1, maxDuration: MAX_DURATION,
      exec: "sender",
    },
    listeners: {
      executor: "per-vu-iterations", vus: Math.max(1, MEMBERS * ROOMS - SENDERS), iterations: 1,
      maxDuration: MAX_DURATION, exec: "listener",
    },
  },
  thresholds: {
    chat_delivery_latency: ["p(95)<250", "p(99)<500"],
    chat_messages_delivered: ["count>0"],
    chat_messages_refused: ["count<10"],
    ws_connecting: ["p(95)<1000"],
    checks: ["rate>0.99"],
  },
};

export function setup() {
  return createUsersAndRooms(MEMBERS * ROOMS, ROOMS);
}

export function sender(data) {
  chat(data, { sender: true, intervalMs: INTERVAL_MS, seconds: seconds(DURATION), spread: SPREAD });
}

export function listener(data) {
  chat(data, { sender: false, intervalMs: 0, seconds: seconds(DURATION), spread: SPREAD });
}

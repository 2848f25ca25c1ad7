// Steady chat load: 100 members per room, 10 % of them sending one message every
// two seconds (5 messages/s per room), for 5 minutes.
//   k6 run -e BASE_URL=https://edge-chat-staging.<subdomain>.workers.dev tests/load/k6/steady.js
import { chat, createUsersAndRooms } from "./lib.js";

const MEMBERS = Number(__ENV.MEMBERS || 100);
const ROOMS = Number(__ENV.ROOMS || 1);
const SENDERS = Math.ceil(MEMBERS * ROOMS * 0.1);

export const options = {
  setupTimeout: "10m",
  scenarios: {
    senders: {
      executor: "per-vu-iterations", vus: SENDERS, iterations: 1, maxDuration: "6m",
      exec: "sender",
    },
    listeners: {
      executor: "per-vu-iterations", vus: MEMBERS * ROOMS - SENDERS, iterations: 1, maxDuration: "6m",
      exec: "listener",
    },
  },
  thresholds: {
    chat_delivery_latency: ["p(95)<250", "p(99)<500"],
    chat_messages_refused: ["count<10"],
    checks: ["rate>0.99"],
  },
};

export function setup() {
  return createUsersAndRooms(MEMBERS * ROOMS, ROOMS);
}

export function sender(data) {
  chat(data, { sender: true, intervalMs: 2000, seconds: 300 });
}

export function listener(data) {
  chat(data, { sender: false, intervalMs: 0, seconds: 300 });
}

// Spike and ramp: listeners hold a room open while the number of sending VUs
// ramps from 0 to 200 and back; each sender sends a message every second.
//   k6 run -e BASE_URL=https://edge-chat-staging.<subdomain>.workers.dev tests/load/k6/spike.js
import { chat, createUsersAndRooms } from "./lib.js";

const LISTENERS = Number(__ENV.LISTENERS || 100);
const PEAK = Number(__ENV.PEAK_SENDERS || 200);

export const options = {
  setupTimeout: "15m",
  scenarios: {
    listeners: {
      executor: "per-vu-iterations", vus: LISTENERS, iterations: 1, maxDuration: "5m", exec: "listener",
    },
    ramp: {
      executor: "ramping-vus", startVUs: 0, exec: "sender", startTime: "10s",
      stages: [
        { duration: "30s", target: PEAK / 10 },
        { duration: "30s", target: PEAK },
        { duration: "1m", target: PEAK },
        { duration: "30s", target: 0 },
      ],
    },
  },
  thresholds: {
    chat_delivery_latency: [{ threshold: "p(99)<1000", abortOnFail: false }],
    checks: ["rate>0.95"],
  },
};

export function setup() {
  return createUsersAndRooms(LISTENERS + PEAK, 1);
}

export function sender(data) {
  chat(data, { sender: true, intervalMs: 1000, seconds: 20 });
}

export function listener(data) {
  chat(data, { sender: false, intervalMs: 0, seconds: 280 });
}

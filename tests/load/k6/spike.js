// Spike and ramp: LISTENERS hold a room open while the number of sending VUs ramps
// from 0 to PEAK_SENDERS and back; each sender sends a message every INTERVAL_MS
// for SENDER_SECONDS, and starts again while its stage lasts. The defaults: 100
// listeners, 200 senders at the peak, one message a second, ramps of 30 s and a
// hold of 1 minute.
//   k6 run -e BASE_URL=https://edge-chat-staging.<subdomain>.workers.dev tests/load/k6/spike.js
//   make k6 SCRIPT=spike BASE=http://127.0.0.1:8787 K6_ENV="LISTENERS=20 PEAK_SENDERS=20 RAMP=10s HOLD=20s"
// Parameters (k6 -e NAME=value): LISTENERS, PEAK_SENDERS, INTERVAL_MS, SENDER_SECONDS,
// START (when the ramp begins), RAMP (each ramp's length), HOLD (the peak's),
// JOIN_SPREAD (over which the listeners join: 5s), and those of lib.js (BASE_URL,
// BODY_BYTES, RUN).
import { chat, createUsersAndRooms, duration, num, seconds } from "./lib.js";

const LISTENERS = num("LISTENERS", 100);
const PEAK = num("PEAK_SENDERS", 200);
const INTERVAL_MS = num("INTERVAL_MS", 1000);
const SENDER_SECONDS = num("SENDER_SECONDS", 20);
const START = duration("START", "10s");
const RAMP = duration("RAMP", "30s");
const HOLD = duration("HOLD", "1m");
const SPREAD = seconds(duration("JOIN_SPREAD", "5s"));
// The listeners stay until the ramp is over and the last senders have finished.
const TOTAL = seconds(START) + 3 * seconds(RAMP) + seconds(HOLD) + SENDER_SECONDS;

export const options = {
  setupTimeout: "15m",
  scenarios: {
    listeners: {
      executor: "per-vu-iterations", vus: LISTENERS, iterations: 1, maxDuration: `${Math.ceil(TOTAL) + 60}s`,
      exec: "listener",
    },
    ramp: {
      executor: "ramping-vus", startVUs: 0, exec: "sender", startTime: START,
      stages: [
        { duration: RAMP, target: Math.max(1, Math.round(PEAK / 10)) },
        { duration: RAMP, target: PEAK },
        { duration: HOLD, target: PEAK },
        { duration: RAMP, target: 0 },
      ],
    },
  },
  thresholds: {
    chat_delivery_latency: [{ threshold: "p(99)<1000", abortOnFail: false }],
    chat_messages_delivered: ["count>0"],
    ws_connecting: ["p(95)<2000"],
    checks: ["rate>0.95"],
  },
};

export function setup() {
  return createUsersAndRooms(LISTENERS + PEAK, 1);
}

export function sender(data) {
  chat(data, { sender: true, intervalMs: INTERVAL_MS, seconds: SENDER_SECONDS });
}

export function listener(data) {
  chat(data, { sender: false, intervalMs: 0, seconds: TOTAL, spread: SPREAD });
}

#!/usr/bin/env node
// Resume benchmark (`make bench-resume`): figures, not a test (issue 16). Against a
// fresh local `wrangler dev`, a room of MESSAGES messages gets CHANGES changes
// (reactions added and removed, edits, a few deletions, spread over the whole log,
// old messages included) while a reader is away; the reader then resumes with
// join_room {since, changes_since} and pages through `changes_more` until it has
// the final state. Prints, over RUNS resumes from the same cursor: the pages it
// took, the changed messages it got, and the time from the first join_room to the
// last history (median, min, max, in ms), beside a resume with nothing changed.
// Traffic goes to 127.0.0.0/8 only, bounded by the counts.
//
//   node tests/load/resume.mjs [--messages 2000] [--changes 10000] [--runs 5]
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { joinRoom, createRoom, signup, startStack } from "../e2e/harness.mjs";

const { values: opt } = parseArgs({
  options: {
    messages: { type: "string", default: "2000" },
    changes: { type: "string", default: "10000" },
    runs: { type: "string", default: "5" },
  },
});
const MESSAGES = Number(opt.messages), CHANGES = Number(opt.changes), RUNS = Number(opt.runs);
const WINDOW = 100; // frames in flight at once

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Sends frames WINDOW at a time, each waiting for its answer of `type`. */
async function pipelined(c, frames, type) {
  for (let i = 0; i < frames.length; i += WINDOW) {
    const part = frames.slice(i, i + WINDOW);
    for (const f of part) c.send(f);
    for (let k = 0; k < part.length; k++) {
      const f = await c.next(30000);
      if (f.type === "error") throw new Error(`refused: ${JSON.stringify(f)}`);
      if (f.type !== type) k--;
    }
  }
}

/** One resume from (since, cursor): pages, changed messages and ms. */
async function resume(c, since, cursor) {
  const t0 = performance.now();
  let pages = 0, changed = 0, more = true;
  while (more) {
    c.send({ type: "join_room", since, changes_since: cursor });
    const h = await c.nextOf("history", 30000);
    pages++;
    changed += h.changes.length;
    cursor = h.change;
    more = h.changes_more;
  }
  return { pages, changed, cursor, ms: performance.now() - t0 };
}

const stack = await startStack({ vars: { CHAT_RATE_PER_SECOND: "100000", CHAT_RATE_BURST: "100000",
  CHAT_ROOM_RATE_PER_SECOND: "100000", CHAT_ROOM_RATE_BURST: "100000" } });
try {
  const { base } = stack;
  const a = await signup(base, "writer"), b = await signup(base, "reader");
  const room = await createRoom(base, a);
  const { c: ca } = await joinRoom(base, room.id, a);
  const t0 = performance.now();
  await pipelined(ca, Array.from({ length: MESSAGES }, (_, i) => (
    { type: "new_chat_message", body: `message ${i + 1}`, client_id: `m${i + 1}` })), "new_chat_message");
  console.log(`${MESSAGES} messages stored in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const { c: cb, history } = await joinRoom(base, room.id, b);
  const since = history.last_seq, cursor = history.change;

  // CHANGES changes over the whole log: mostly a reaction added then removed on
  // the same message (two changes), some edits, a deletion every 500
  const frames = [];
  for (let i = 0; frames.length < CHANGES; i++) {
    const seq = 1 + ((i * 7919) % MESSAGES); // every message, old ones too, in a scattered order
    if (i % 500 === 499) frames.push({ type: "delete_message", seq });
    else if (i % 5 === 4) frames.push({ type: "edit_message", seq, body: `message ${seq}, edited ${i}` });
    else frames.push({ type: "react", seq, emoji: "+1" }, { type: "unreact", seq, emoji: "+1" });
  }
  const t1 = performance.now();
  for (let i = 0; i < frames.length; i += WINDOW) {
    const part = frames.slice(i, i + WINDOW);
    for (const f of part) ca.send(f);
    // every change is told to its author too: one frame back each (a deletion of a
    // message already deleted is refused instead)
    for (let k = 0; k < part.length; k++) {
      const f = await ca.next(30000);
      if (!["reactions_changed", "message_edited", "message_deleted", "error"].includes(f.type)) k--;
    }
  }
  console.log(`${frames.length} changes made in ${((performance.now() - t1) / 1000).toFixed(1)} s`);

  const empty = [], full = [];
  let shape, latest = cursor;
  for (let r = 0; r < RUNS; r++) {
    shape = await resume(cb, since, cursor);
    full.push(shape.ms);
    latest = shape.cursor;
    empty.push((await resume(cb, since, latest)).ms);
  }
  console.log(`resume after ${frames.length} changes to ${MESSAGES} messages: ${shape.pages} pages, ` +
    `${shape.changed} changed messages told (each once)`);
  console.log(`  time: median ${median(full).toFixed(1)} ms, min ${Math.min(...full).toFixed(1)}, ` +
    `max ${Math.max(...full).toFixed(1)} (${RUNS} runs)`);
  console.log(`resume with nothing changed: median ${median(empty).toFixed(1)} ms`);
} finally {
  await stack.stop();
}

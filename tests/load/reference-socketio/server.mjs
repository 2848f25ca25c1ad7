// The benchmark's second reference (issue 21): a socket.io 4 chat with its Redis
// adapter, run as two Node processes on one redis-server, as a socket.io chat is
// scaled out. Not part of the product. `make bench` starts redis-server and two of
// these (tests/load/bench-reference.mjs) and measures them with the same bots as
// our stack (tests/load/bots.mjs, --protocol socketio; tests/load/transport.mjs
// says how the frames ride on socket.io), each bot's socket on one process or the
// other.
//
//   node tests/load/reference-socketio/server.mjs --port P --redis REDIS_PORT
//
// It speaks the subset of our protocol the bots use, as the plain Durable Object
// reference does (tests/load/reference/worker.js): POST /signup (the token is the
// user id, nothing is hashed), POST /rooms, and a room socket: "connection",
// "join_room" {since?} -> "history" (the messages after since, else none;
// last_seq), "new_chat_message" -> the stored message to every joined socket of
// the room, on both processes.
//
// How a message travels. A message is numbered, stored and published by one Redis
// script (INCR the room's seq, HSETNX its client_id, RPUSH, PUBLISH), so every
// process receives a room's messages in seq order; each process then emits it to
// its own joined sockets (io.local.to(room)), one encoding for all of them. That is
// what the Redis adapter's io.to(room).emit does (a PUBLISH every process
// subscribes to, then a local emit), except for the order: through the adapter,
// process A's sockets would get A's message before B's and B's sockets the
// reverse, and no client could check seq order. The adapter is installed all the
// same (rooms, serverSideEmit across the processes). A resend of a stored
// client_id is answered to its sender only, with the original and duplicate: true.
// A joining socket's history comes from what its process has received, so it ends
// exactly where the socket's live messages begin.
import http from "node:http";
import { parseArgs } from "node:util";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";

const { values: opt } = parseArgs({ options: { port: { type: "string" }, redis: { type: "string" } } });

const NUMBER_STORE_PUBLISH = `
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then return {0, old} end
local seq = redis.call('INCR', KEYS[1])
local frame = '{"type":"new_chat_message","seq":' .. seq .. ',' .. string.sub(ARGV[2], 2)
redis.call('HSET', KEYS[2], ARGV[1], frame)
redis.call('RPUSH', KEYS[3], frame)
redis.call('PUBLISH', KEYS[4], frame)
return {1, frame}`;

const pub = createClient({ url: `redis://127.0.0.1:${opt.redis}` });
const sub = pub.duplicate(), messages = pub.duplicate();
await Promise.all([pub.connect(), sub.connect(), messages.connect()]);
const sha = await pub.scriptLoad(NUMBER_STORE_PUBLISH);

/** Per room, what this process received: { last: seq, frames: [frame objects] }. */
const rooms = new Map();
const roomOf = (id) => {
  let r = rooms.get(id);
  if (!r) rooms.set(id, (r = { last: 0, frames: [] }));
  return r;
};

const server = http.createServer(async (req, res) => {
  const reply = (status, body) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };
  let text = "";
  for await (const chunk of req) text += chunk;
  if (req.method === "POST" && req.url === "/signup") {
    const { username } = JSON.parse(text);
    const id = await pub.incr("chat:users");
    return reply(201, { user: { id, username, role: "USER" }, token: String(id) });
  }
  if (req.method === "POST" && req.url === "/rooms") return reply(201, { room: { id: await pub.incr("chat:rooms") } });
  reply(404, { error: "not_found" });
});

const io = new Server(server, { adapter: createAdapter(pub, sub), transports: ["websocket"], serveClient: false,
  perMessageDeflate: false });

await messages.pSubscribe("chat:room:*", (frame, channel) => {
  const id = channel.slice("chat:room:".length);
  const m = JSON.parse(frame);
  const r = roomOf(id);
  r.last = m.seq;
  r.frames.push(m);
  io.local.to(`room:${id}`).emit("message", m);
});

io.use((socket, next) => {
  const id = Number(socket.handshake.auth?.token);
  const room = String(socket.handshake.query.room ?? "");
  if (!(id > 0) || !/^\d+$/.test(room)) return next(new Error("unauthorized"));
  socket.data = { user: { id, username: `user${id}` }, room, joined: false };
  next();
});

io.on("connection", (socket) => {
  const { user, room } = socket.data;
  socket.send({ type: "connection", user });
  socket.on("message", async (f) => {
    if (f?.type === "join_room") {
      socket.join(`room:${room}`);
      socket.data.joined = true;
      const r = roomOf(room);
      const since = Number.isInteger(f.since) ? f.since : null;
      socket.send({ type: "history", messages: since === null ? [] : r.frames.filter((m) => m.seq > since),
        has_more: false, since, last_seq: r.last });
    } else if (f?.type === "new_chat_message" && socket.data.joined) {
      const rest = JSON.stringify({ room_id: Number(room), user, body: String(f.body), client_id: String(f.client_id),
        created_at: Date.now() });
      const [stored, frame] = await pub.evalSha(sha, { keys: [`chat:seq:${room}`, `chat:cid:${room}`, `chat:msgs:${room}`,
        `chat:room:${room}`], arguments: [`${user.id}:${f.client_id}`, rest] });
      if (!stored) socket.send({ ...JSON.parse(frame), duplicate: true });
    }
  });
});

server.listen(Number(opt.port), "127.0.0.1", () => process.stdout.write(`listening on ${opt.port}\n`));

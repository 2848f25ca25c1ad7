// The comparison baseline of `make bench` (tests/load/bench.mjs): a plain
// JavaScript Durable Object chat, the design the issue compares ours with: every
// message is stored with its own SQLite write and broadcast at once, one send()
// per member, with no batching, no shedding and no C core. It speaks only the
// subset of our protocol the bots (tests/load/bots.mjs) use: POST /signup (the
// token is the user id, nothing is hashed), POST /rooms, and a room socket with
// "connection", "join_room" -> "history" (empty) and "new_chat_message". The
// benchmark runs it under its own `wrangler dev` and measures it with the same
// client, on the same machine, as our stack. Not part of the product.
import { DurableObject } from "cloudflare:workers";
let nextUser = 1, nextRoom = 1;
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === "/signup") {
      const { username } = await req.json();
      const id = nextUser++;
      return Response.json({ user: { id, username, role: "USER" }, token: `${id}` }, { status: 201 });
    }
    if (url.pathname === "/rooms" && req.method === "POST") return Response.json({ room: { id: nextRoom++ } }, { status: 201 });
    const m = url.pathname.match(/^\/rooms\/(\d+)\/ws$/);
    if (m) return env.ROOM.get(env.ROOM.idFromName(m[1])).fetch(req);
    return new Response("not found", { status: 404 });
  },
};
export class Room extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, user_id INTEGER, body TEXT, client_id TEXT, created_at INTEGER)");
    this.seq = this.sql.exec("SELECT coalesce(max(seq), 0) AS s FROM messages").one().s;
  }
  async fetch(req) {
    const proto = req.headers.get("Sec-WebSocket-Protocol") ?? "";
    const id = proto.split(",").map((s) => s.trim()).find((p) => p.startsWith("bearer.")).slice(7); const username = `user${id}`;
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].serializeAttachment({ user: { id: Number(id), username }, joined: false });
    pair[1].send(JSON.stringify({ type: "connection", user: { id: Number(id), username } }));
    return new Response(null, { status: 101, webSocket: pair[0], headers: { "Sec-WebSocket-Protocol": "chat.v1" } });
  }
  webSocketMessage(ws, data) {
    const f = JSON.parse(data);
    const att = ws.deserializeAttachment();
    if (f.type === "join_room") {
      ws.serializeAttachment({ ...att, joined: true });
      ws.send(JSON.stringify({ type: "history", messages: [], has_more: false, last_seq: this.seq }));
    } else if (f.type === "new_chat_message") {
      const seq = ++this.seq, now = Date.now();
      this.sql.exec("INSERT INTO messages VALUES (?, ?, ?, ?, ?)", seq, att.user.id, f.body, f.client_id, now);
      const text = JSON.stringify({ type: "new_chat_message", seq, user: att.user, body: f.body, client_id: f.client_id, created_at: now });
      for (const s of this.ctx.getWebSockets()) if (s.deserializeAttachment().joined) s.send(text);
    }
  }
}

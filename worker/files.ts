/**
 * Attachments (issue 17): uploads streamed to R2 and files served from it, for a
 * room's members or a conversation's two people. What a file is comes from its
 * bytes, decided by the core (wasm/attachment.h: its first LIMITS.sniffBytes);
 * who may upload and fetch is the core's attachment_access. The Worker keeps at
 * most that head in memory: the rest streams from the request into R2 through a
 * FixedLengthStream of the declared Content-Length, which fails the upload if the
 * body is shorter or longer than declared.
 *
 * A file's R2 key is "<object>/<id>" ("room:7/…", "dm:3/…"); its record (who
 * uploaded it, its type, size, cleaned name, an image's size, and later the
 * message that carries it) is kept by the room's object (room-storage.ts). A
 * deleted message's files are deleted with it (room-effects.ts).
 */
import { spend } from "./budgets";
import { CoreError, type CoreHost } from "./core";
import type { Env } from "./env";
import { LIMITS } from "./generated/core";
import type { ChatRoom } from "../durable-objects/chat-room";

/** Where files go: a room or a conversation, its stub, and who may use them. */
export interface Place {
  kind: "room" | "dm";
  id: number;
  stub: DurableObjectStub<ChatRoom>;
  /** A conversation's two people (its D1 row); a room asks its object. */
  members?: [number, number];
  /** For an upload to a conversation: whether it takes new messages (a block
   * closes it); the core refuses a closed one (dm_closed). */
  open?: boolean;
}

const objectName = (p: Place) => `${p.kind}:${p.id}`;

/** Refuses (CoreError not_member) a user who may not use this place's files. */
async function mayUse(core: CoreHost, place: Place, userId: number): Promise<void> {
  const member = place.kind === "room" ? await place.stub.isMember(place.id, objectName(place), userId) : false;
  core.call("attachment_access", undefined, { user: userId, kind: place.kind, member, members: place.members ?? [],
    ...(place.open === undefined ? {} : { open: place.open }) });
}

/** Reads the first `n` bytes of a stream (fewer if it ends): the head, and a reader
 * positioned after it with the bytes of its last chunk past the head. */
async function readHead(body: ReadableStream<Uint8Array>, n: number) {
  const reader = body.getReader();
  const head = new Uint8Array(n);
  let got = 0, rest: Uint8Array | null = null;
  while (got < n) {
    const { done, value } = await reader.read();
    if (done) break;
    const take = Math.min(value.byteLength, n - got);
    head.set(value.subarray(0, take), got);
    got += take;
    if (take < value.byteLength) rest = value.subarray(take);
  }
  return { head: head.subarray(0, got), rest, reader };
}

/** POST /rooms/:id/uploads, /dms/:id/uploads: the raw body is the file, its name in
 * X-File-Name (percent-encoded UTF-8). Answers {attachment: {id, url, type, size,
 * name, width?, height?}}; a message then names it by id. */
export async function upload(core: CoreHost, env: Env, userId: number, place: Place, req: Request) {
  await mayUse(core, place, userId);
  const length = req.headers.get("Content-Length");
  const size = length !== null && /^[0-9]{1,15}$/.test(length) ? Number(length) : null;
  if (!req.body || size === null) throw new CoreError("length_required");
  await spend(core, env, "uploads_per_account", userId);
  const { head, rest, reader } = await readHead(req.body, Math.min(size, LIMITS.sniffBytes));
  const info = core.call<{ id: string; type: string; image: boolean; size: number; name: string;
    width?: number; height?: number }>("attachment_check", head, { name: req.headers.get("X-File-Name"), size });
  const url = `/${place.kind === "room" ? "rooms" : "dms"}/${place.id}/attachments/${info.id}`;
  // the file into R2, exactly `size` bytes: the head, then the rest of the body
  const fixed = new FixedLengthStream(size);
  const pump = (async () => {
    const w = fixed.writable.getWriter();
    await w.write(head);
    if (rest) await w.write(rest);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await w.write(value);
    }
    await w.close();
  })();
  try {
    await Promise.all([env.FILES.put(`${objectName(place)}/${info.id}`, fixed.readable,
      { httpMetadata: { contentType: info.type } }), pump]);
  } catch {
    throw new CoreError("attachment_invalid"); // the body was not the size it said
  }
  const { image: _image, ...attachment } = { ...info, url };
  await place.stub.addUpload(place.id, objectName(place), { ...attachment, user_id: userId, created_at: Date.now() });
  return { attachment };
}

/** GET /rooms/:id/attachments/:aid, /dms/:id/attachments/:aid: the file, for those
 * who may use the place's files, with its type from its bytes, never sniffed by
 * the browser, never run: images inline, anything else as a download, in a CSP
 * sandbox (OWASP File Upload Cheat Sheet). */
export async function download(core: CoreHost, env: Env, userId: number, place: Place, id: string): Promise<Response> {
  await mayUse(core, place, userId);
  const file = await place.stub.upload(id);
  const object = file ? await env.FILES.get(`${objectName(place)}/${id}`) : null;
  if (!file || !object) throw new CoreError("not_found");
  const name = encodeURIComponent(file.name);
  const inline = file.type.startsWith("image/");
  return new Response(object.body, {
    headers: {
      "Content-Type": file.type,
      "Content-Length": String(file.size),
      "X-Content-Type-Options": "nosniff",
      "Content-Disposition": `${inline ? "inline" : "attachment"}; filename*=UTF-8''${name}`,
      "Content-Security-Policy": "sandbox; default-src 'none'",
      "Cache-Control": "private, max-age=3600",
    },
  });
}

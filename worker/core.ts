/**
 * The core bridge: one instance of the C chat core (build/chat.wasm) and the
 * byte-moving around it. ABI: wasm/wasm_exports.c (version 1). The platform facts
 * behind the lazy, per-object instances: durable-objects/README.md.
 *
 * - A trap (abort, out-of-bounds: a bug, never bad input) leaves an instance in an
 *   unknown state. CoreHost throws it away and the next call builds a fresh one;
 *   the failed call surfaces as CoreTrap, which callers answer as a 500 / an error
 *   frame.
 * - An error code surfaces as CoreError, with the core's state as it was. Its
 *   class (chat_error.h) tells the caller what to do: a refusal of what one client
 *   sent is answered to that client and nothing else changes; after a fatal code
 *   (out of memory, misuse) the caller drops what it was using, a room, and builds
 *   it again.
 */
import coreModule from "../build/chat.wasm";
import {
  ERRORS, LIMITS, OPS, ROOM_EVENTS, type ErrorCode, type RoomEffectOp, type RoomEventKind, type RoomQueryWhat,
} from "./generated/core";

export type CoreOp = keyof typeof OPS;
export type { RoomEventKind };

/** A frame in the effects' frame area: [offset, length]. */
export type FrameRange = [number, number];

/** The fields of each effect, by op (wasm/room.h ROOM_EFFECTS documents them). The
 * generated list of ops and this table must name the same ops: see EffectsTable. */
interface EffectFields {
  attach: { conn: number; data: unknown };
  send: { to: number[]; frame: FrameRange };
  close: { conn: number; code: number; reason: string };
  /** mentions: the username keys the message names (wasm/room.h) */
  store: { message: StoredMessage & { mentions?: string[]; attachments?: string[] } };
  tombstone: { seq: number; at: number; change: number };
  edit: { seq: number; body: string; at: number; change: number; keep: number };
  react: { seq: number; emoji: string; user_id: number; add: boolean; at: number; change: number };
  erase: { user_id: number; at: number; tombstone: string; change: number };
  activity: { at: number };
  flush_at: { at: number };
  limits: { user_id: number; flood: FloodBucket };
  reply: { body: string };
  dm_message: { seq: number; at: number; user_id: number; body: string; unread_for: number | null };
  dm_read: { user_id: number };
  notify: { user_id: number; frame: FrameRange };
  read_marker: { user_id: number; seq: number };
  room_activity: { looking: number[] };
  query: RoomQuery;
}

/** The fields of each query, by what (wasm/room.h ROOM_QUERIES). */
interface QueryFields {
  dedup: { messages: { user_id: number; client_id: string }[]; replies?: number[]; excerpt?: number;
           attachments?: string[] };
  message: { seq: number };
  reaction: { seq: number; user_id: number; emoji: string };
  history: { after: number | null; before: number | null; limit: number; include_deleted: boolean;
             exclude_users: number[]; viewer: number; excerpt: number; changes_after?: number;
             changes_seq_max?: number };
  /** match: an FTS5 expression the core made safe (wasm/search.h) */
  search: { match: string; before: number | null; limit: number; exclude_users: number[]; tokens: number };
}

/** Compiles only when the two key sets are the same: an op (or a query) the C
 * lists gain, or lose, must be described here too. */
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : never;
const effectsTable: SameKeys<EffectFields, Record<RoomEffectOp, unknown>> = true;
const queriesTable: SameKeys<QueryFields, Record<RoomQueryWhat, unknown>> = true;
void effectsTable, void queriesTable;

/** One effect of a room event. */
export type Effect = { [Op in RoomEffectOp]: { op: Op } & EffectFields[Op] }[RoomEffectOp];

/** One question of a room to storage. */
export type RoomQuery = { [W in RoomQueryWhat]: { what: W } & QueryFields[W] }[RoomQueryWhat];

/** A user's flood bucket, as a limits effect gives it and the user's facts give it
 * back (wasm/room.h). */
export type FloodBucket = { tokens: number; last_ms: number };

/** A message row as the room's storage holds it. */
export type StoredMessage = {
  seq: number;
  user_id: number;
  username: string;
  body: string;
  client_id: string;
  created_at: number;
  deleted_at: number | null;
  /** a reply: the seq it quotes */
  reply_to?: number | null;
};

/** For the `default` of a switch over a generated vocabulary: it compiles only when
 * every case is handled. */
export function unreachable(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}

/** The effects of one room event, with the frames they send. */
export class Effects {
  constructor(readonly list: Effect[], private readonly frames: Uint8Array) {}

  /** The text of a send effect's frame: decoded once, sent as is to every recipient. */
  frame(range: [number, number]): string {
    return decoder.decode(this.frames.subarray(range[0], range[0] + range[1]));
  }
}

const NO_EFFECTS = new Effects([], new Uint8Array(0));

/** The core answered with one of its error codes: a refusal (bad input, bad
 * credentials...) or, when `fatal`, a failure of the core itself (chat_error.h). */
export class CoreError extends Error {
  constructor(readonly code: ErrorCode) {
    super(ERRORS[code].message);
    this.name = "CoreError";
  }

  /** The core's state is lost: its instance (or room) must be rebuilt. */
  get fatal(): boolean {
    return ERRORS[this.code].class === "fatal";
  }
}

/** The core trapped; its instance was discarded and will be rebuilt. */
export class CoreTrap extends Error {
  constructor(cause: unknown) {
    super(`chat core trapped: ${String(cause)}`);
    this.name = "CoreTrap";
  }
}

const CODE_BY_NUM = new Map<number, ErrorCode>(
  Object.entries(ERRORS).map(([name, e]) => [e.num, name as ErrorCode]),
);

/** The core's own exports: wasm/exports.txt, which the Makefile passes to emcc
 * (tests/worker/core.test.ts checks the two lists are the same). */
interface ChatExports {
  chat_alloc(size: number): number;
  chat_dealloc(ptr: number): void;
  chat_init(): number;
  chat_call(op: number, inp: number, inLen: number, aux: number, auxLen: number,
            nowMs: number, out: number, cap: number, outLenPtr: number): number;
  chat_room_new(id: number, nextSeq: number, nextChange: number): number;
  chat_room_free(handle: number): void;
  chat_room_event(handle: number, kind: number, conn: number, inp: number, inLen: number,
                  nowMs: number, out: number, cap: number, outLenPtr: number): number;
  chat_pwhash_sliced(on: number): void;
  chat_pwhash_reset(): void;
  chat_pwhash_step(): number;
  chat_abi_version(): number;
  chat_trap_for_test(): void;
}

/** The names of ChatExports, each once (the compiler checks this object against
 * the interface both ways). */
const CHAT_EXPORTS_LISTED: { [K in keyof ChatExports]: true } = {
  chat_alloc: true, chat_dealloc: true, chat_init: true, chat_call: true, chat_room_new: true,
  chat_room_free: true, chat_room_event: true, chat_pwhash_sliced: true, chat_pwhash_reset: true,
  chat_pwhash_step: true,
  chat_abi_version: true, chat_trap_for_test: true,
};
export const CHAT_EXPORTS = Object.keys(CHAT_EXPORTS_LISTED) as (keyof ChatExports)[];

/** Everything the core's module exports: its own functions and emscripten's
 * standalone runtime (the memory and its initializer). */
interface Exports extends ChatExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
}

const ABI_VERSION = 3;
const EMPTY_EFFECTS_LEN = '{"effects":[]}'.length;
const MAX_GETRANDOM = 65536; // crypto.getRandomValues fills at most 64 KiB per call
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The imports the core may use: host randomness, and what emscripten's standalone
 * runtime needs (memory growth notice; proc_exit, reached only through abort()). */
function imports(memory: () => WebAssembly.Memory): WebAssembly.Imports {
  return {
    env: {
      host_random(ptr: number, len: number): void {
        for (let off = 0; off < len; off += MAX_GETRANDOM) {
          const n = Math.min(MAX_GETRANDOM, len - off);
          crypto.getRandomValues(new Uint8Array(memory().buffer, ptr + off, n));
        }
      },
      emscripten_notify_memory_growth(): void {
        // Views are made afresh for every call, so nothing to refresh.
      },
    },
    wasi_snapshot_preview1: {
      proc_exit(code: number): never {
        throw new WebAssembly.RuntimeError(`core called proc_exit(${code})`);
      },
    },
  };
}

/** One live instance. Not exported: use CoreHost, which survives traps. */
class CoreInstance {
  private readonly x: Exports;
  private out: number;
  private outCap: number;
  private readonly outLen: number;

  constructor() {
    let memory: WebAssembly.Memory | undefined;
    const instance = new WebAssembly.Instance(coreModule, imports(() => memory!));
    this.x = instance.exports as unknown as Exports;
    memory = this.x.memory;
    this.x._initialize();
    if (this.x.chat_abi_version() !== ABI_VERSION) throw new Error("chat core ABI mismatch");
    const rc = this.x.chat_init();
    if (rc < 0) throw new CoreError(CODE_BY_NUM.get(rc) ?? "internal");
    this.outCap = LIMITS.coreOutInitialBytes;
    this.out = this.alloc(this.outCap);
    this.outLen = this.alloc(4);
  }

  private alloc(size: number): number {
    const p = this.x.chat_alloc(size);
    if (p === 0) throw new CoreError("out_of_memory");
    return p;
  }

  private put(bytes: Uint8Array): number {
    if (bytes.length === 0) return 0;
    const p = this.alloc(bytes.length);
    new Uint8Array(this.x.memory.buffer, p, bytes.length).set(bytes);
    return p;
  }

  /** Replaces the output buffer with one of `size` bytes (the old one stays if
   * the allocation fails). */
  private growOut(size: number): void {
    const p = this.alloc(size);
    this.x.chat_dealloc(this.out);
    this.out = p;
    this.outCap = size;
  }

  /** Runs `f(out, cap)` until its output fits, growing the buffer as the core asks;
   * returns the output length. */
  private withOut(f: (out: number, cap: number) => number): number {
    for (;;) {
      const rc = f(this.out, this.outCap);
      const n = new DataView(this.x.memory.buffer).getUint32(this.outLen, true);
      if (rc >= 0) return n;
      const code = CODE_BY_NUM.get(rc) ?? "internal";
      if (code !== "buffer_too_small") throw new CoreError(code);
      this.growOut(n);
    }
  }

  /** Copies `input` into core memory for the duration of `f`. */
  private withInput<T>(input: Uint8Array, f: (ptr: number) => T): T {
    const p = this.put(input);
    try {
      return f(p);
    } finally {
      this.x.chat_dealloc(p);
    }
  }

  call(op: CoreOp, input: Uint8Array, aux: Uint8Array, nowMs: number): string {
    const n = this.withInput(input, (inp) => this.withInput(aux, (auxp) =>
      this.withOut((out, cap) => this.x.chat_call(OPS[op], inp, input.length, auxp, aux.length,
                                                  nowMs, out, cap, this.outLen))));
    return decoder.decode(new Uint8Array(this.x.memory.buffer, this.out, n));
  }

  roomNew(id: number, nextSeq: number, nextChange: number): number {
    const h = this.x.chat_room_new(id, nextSeq, nextChange);
    if (h < 0) throw new CoreError(CODE_BY_NUM.get(h) ?? "internal");
    return h;
  }

  roomFree(handle: number): void {
    this.x.chat_room_free(handle);
  }

  roomEvent(handle: number, kind: RoomEventKind, conn: number, input: Uint8Array, nowMs: number): Effects {
    const n = this.withInput(input, (inp) =>
      this.withOut((out, cap) => this.x.chat_room_event(handle, ROOM_EVENTS[kind], conn, inp, input.length,
                                                        nowMs, out, cap, this.outLen)));
    // [u32 LE length of the effects JSON][effects JSON][frames], copied out of core memory
    const view = new DataView(this.x.memory.buffer, this.out, n);
    if (view.getUint32(0, true) === EMPTY_EFFECTS_LEN && n === 4 + EMPTY_EFFECTS_LEN) return NO_EFFECTS; // {"effects":[]}: a busy room's new message
    const bytes = new Uint8Array(this.x.memory.buffer, this.out, n).slice();
    const jsonLen = new DataView(bytes.buffer).getUint32(0, true);
    const { effects } = JSON.parse(decoder.decode(bytes.subarray(4, 4 + jsonLen))) as { effects: Effect[] };
    return new Effects(effects, bytes.subarray(4 + jsonLen));
  }

  pwhashSliced(on: boolean): void {
    this.x.chat_pwhash_sliced(on ? 1 : 0);
  }

  pwhashReset(): void {
    this.x.chat_pwhash_reset();
  }

  /** One slice of the pending hash: the slices left, 0 when done. */
  pwhashStep(): number {
    const rc = this.x.chat_pwhash_step();
    if (rc < 0) throw new CoreError(CODE_BY_NUM.get(rc) ?? "internal");
    return rc;
  }

  trapForTest(): void {
    this.x.chat_trap_for_test();
  }
}

/** Lets the isolate's other work run: a timer, so every event already waiting
 * (requests, socket frames, other objects' work on the same thread) goes first. */
const yieldToOthers = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function bytesOf(v: Uint8Array | string | object | undefined): Uint8Array {
  if (v === undefined) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v;
  return encoder.encode(typeof v === "string" ? v : JSON.stringify(v));
}

/**
 * Owns a core instance for one Worker isolate or one Durable Object, rebuilding it
 * after a trap. Calls are synchronous: a Durable Object runs them one at a time.
 */
export class CoreHost {
  private instance: CoreInstance | null = null;
  /** How many instances were thrown away after a trap (for tests and logs). */
  traps = 0;

  private run<T>(f: (core: CoreInstance) => T): T {
    try {
      this.instance ??= new CoreInstance();
      return f(this.instance);
    } catch (e) {
      // An error code leaves the core's state as it was (chat_error.h): a refusal
      // is answered, and after a fatal code the caller drops what it was using (a
      // room) and builds it again.
      if (e instanceof CoreError) throw e;
      // Anything else from inside Wasm leaves the instance suspect: discard it
      // (every room handle in it dies with it).
      this.instance = null;
      this.traps++;
      throw new CoreTrap(e);
    }
  }

  /**
   * Run one core operation (the table in wasm/api.h). `input` is the untrusted
   * bytes as received; `aux` is facts from the shell (encoded to JSON). Returns
   * the core's JSON answer as text. Throws CoreError for an error code, CoreTrap
   * if the core trapped.
   */
  callText(op: CoreOp, input?: Uint8Array | string, aux?: object, nowMs = Date.now()): string {
    return this.run((core) => core.call(op, bytesOf(input), bytesOf(aux), nowMs));
  }

  /** callText, parsed. */
  call<T = Record<string, unknown>>(op: CoreOp, input?: Uint8Array | string, aux?: object,
                                    nowMs = Date.now()): T {
    return JSON.parse(this.callText(op, input, aux, nowMs)) as T;
  }

  /** The request whose password hash runs in slices now, and when it last ran one
   * (callHashing): one at a time. */
  private slicing: { at: number } | null = null;

  /**
   * call() for an operation that hashes a password with argon2id (signup,
   * login_verify, password_change: about 40 ms of CPU each), with the hash computed
   * in slices (wasm/pwhash.h, LIMITS.pwhashSlices of about 5 ms) and the isolate's
   * other work let in between them, so that a login does not hold the thread for a
   * whole hash. The operation is repeated until its hashes are done (once more per
   * hash it needs; its other work is cheap and pure).
   *
   * One request at a time hashes in slices, so that what is held between slices is
   * one argon2id's memory (CHAT_PWHASH_MEMLIMIT); a request that finds another one
   * slicing hashes in one call, as before, and never waits on another request's
   * promise (a request the client gave up on never resumes: its turn is taken back
   * once it has run no slice for LIMITS.pwhashAbandonedMs).
   */
  async callHashing<T = Record<string, unknown>>(op: CoreOp, input?: Uint8Array | string, aux?: object): Promise<T> {
    const now = Date.now();
    if (this.slicing && now - this.slicing.at < LIMITS.pwhashAbandonedMs) return this.call<T>(op, input, aux);
    const me = { at: now }; // this request's turn, known by identity
    this.slicing = me;
    this.run((core) => core.pwhashReset());
    let traps = this.traps;
    let restarts = 0;
    try {
      for (let calls = 0; ; calls++) {
        // Taken back meanwhile (this request was thought abandoned): in one call.
        if (this.slicing !== me) return this.call<T>(op, input, aux);
        if (this.traps !== traps) {
          // A trap meanwhile (another request's) gave a new instance, without
          // this request's job and results: start over in it.
          traps = this.traps;
          calls = 0;
          if (++restarts > LIMITS.pwhashResults) throw new CoreError("internal");
        }
        try {
          this.run((core) => core.pwhashSliced(true));
          return this.call<T>(op, input, aux);
        } catch (e) {
          // an operation asks for at most LIMITS.pwhashResults hashes
          if (!(e instanceof CoreError) || e.code !== "pwhash_pending" || calls > LIMITS.pwhashResults) throw e;
        } finally {
          this.instance?.pwhashSliced(false);
        }
        while (this.slicing === me) {
          let left: number;
          try {
            left = this.run((core) => core.pwhashStep());
          } catch (e) {
            // no job: the instance is a new one (above)
            if (e instanceof CoreError && e.code === "misuse" && this.traps !== traps) break;
            throw e;
          }
          if (left === 0) break;
          await yieldToOthers();
          me.at = Date.now();
        }
      }
    } finally {
      if (this.slicing === me) {
        this.slicing = null;
        this.instance?.pwhashReset();
      }
    }
  }

  /**
   * A new room in this host's core instance (room.h): returns its handle. The
   * handle dies with the instance: after a CoreTrap, make the room again.
   */
  roomNew(id: number, nextSeq: number, nextChange: number): number {
    return this.run((core) => core.roomNew(id, nextSeq, nextChange));
  }

  /** Releases a room made by roomNew. */
  roomFree(handle: number): void {
    this.run((core) => core.roomFree(handle));
  }

  /**
   * One room event (room.h): `input` is the frame's bytes, user facts, an
   * attachment or an answer. Returns the effects to carry out in order. Throws a
   * refusing CoreError (the facts of one client were refused: the room is as it
   * was), a fatal CoreError (misuse, out of memory: drop the room and make it
   * again) or CoreTrap (the instance, and the room with it, is gone).
   */
  roomEvent(handle: number, kind: RoomEventKind, conn: number, input?: Uint8Array | string | object,
            nowMs = Date.now()): Effects {
    return this.run((core) => core.roomEvent(handle, kind, conn, bytesOf(input), nowMs));
  }

  /** Make the core trap on purpose (tests only; see CHAT_TEST_HOOKS). */
  trapForTest(): void {
    this.run((core) => core.trapForTest());
  }
}

/** Whether an error from a CoreHost call means its instance was thrown away (a
 * trap): every room handle made in it is gone. */
export function coreLost(e: unknown): boolean {
  return e instanceof CoreTrap;
}

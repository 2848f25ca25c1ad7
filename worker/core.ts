/**
 * The core bridge: one instance of the C chat core (build/chat.wasm) and the
 * byte-moving around it. ABI: wasm/wasm_exports.c (version 1).
 *
 * - The .wasm file is imported as a precompiled WebAssembly.Module: Workers refuse
 *   to compile Wasm from bytes at run time.
 * - Instances are created lazily, inside a handler: generating random values at
 *   module top level kills the isolate, and chat_init() draws randomness.
 * - Module-level state is shared by every Durable Object of an isolate, so each
 *   object owns its own CoreHost; the stateless Worker keeps one per isolate.
 * - A trap (abort, out-of-bounds: a bug, never bad input) leaves an instance in an
 *   unknown state. CoreHost throws it away and the next call builds a fresh one;
 *   the failed call surfaces as CoreTrap, which callers answer as a 500 / an error
 *   frame.
 */
import coreModule from "../build/chat.wasm";
import { ERRORS, LIMITS, OPS, ROOM_EVENTS, type ErrorCode } from "./generated/core";

export type CoreOp = keyof typeof OPS;
export type RoomEventKind = keyof typeof ROOM_EVENTS;

/** One effect of a room event (the list is documented in wasm/room.h). */
export type Effect =
  | { op: "attach"; conn: number; data: unknown }
  | { op: "send"; to: number[]; frame: [number, number] }
  | { op: "close"; conn: number; code: number; reason: string }
  | { op: "store"; message: StoredMessage }
  | { op: "tombstone"; seq: number; at: number }
  | { op: "activity"; at: number }
  | { op: "flush_at"; at: number }
  | { op: "reply"; body: string }
  | { op: "dm_message"; seq: number; at: number; user_id: number; body: string; unread_for: number | null }
  | { op: "dm_read"; user_id: number }
  | { op: "notify"; user_id: number; frame: [number, number] }
  | ({ op: "query" } & RoomQuery);

export type RoomQuery =
  | { what: "dedup"; messages: { user_id: number; client_id: string }[] }
  | { what: "message"; seq: number }
  | { what: "history"; after: number | null; before: number | null; limit: number; include_deleted: boolean;
      exclude_users: number[] };

/** A message row as the room's storage holds it. */
export type StoredMessage = {
  seq: number;
  user_id: number;
  username: string;
  body: string;
  client_id: string;
  created_at: number;
  deleted_at: number | null;
};

/** The effects of one room event, with the frames they send. */
export class Effects {
  constructor(readonly list: Effect[], private readonly frames: Uint8Array) {}

  /** The text of a send effect's frame: decoded once, sent as is to every recipient. */
  frame(range: [number, number]): string {
    return decoder.decode(this.frames.subarray(range[0], range[0] + range[1]));
  }
}

const NO_EFFECTS = new Effects([], new Uint8Array(0));

/** The core answered with one of its error codes (bad input, bad credentials...). */
export class CoreError extends Error {
  constructor(readonly code: ErrorCode) {
    super(ERRORS[code].message);
    this.name = "CoreError";
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

interface Exports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  chat_alloc(size: number): number;
  chat_dealloc(ptr: number): void;
  chat_init(): number;
  chat_call(op: number, inp: number, inLen: number, aux: number, auxLen: number,
            nowMs: number, out: number, cap: number, outLenPtr: number): number;
  chat_room_new(id: number, nextSeq: number): number;
  chat_room_free(handle: number): void;
  chat_room_event(handle: number, kind: number, conn: number, inp: number, inLen: number,
                  nowMs: number, out: number, cap: number, outLenPtr: number): number;
  chat_abi_version(): number;
  chat_trap_for_test(): void;
}

const ABI_VERSION = 1;
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

  roomNew(id: number, nextSeq: number): number {
    const h = this.x.chat_room_new(id, nextSeq);
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

  trapForTest(): void {
    this.x.chat_trap_for_test();
  }
}

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
      if (e instanceof CoreError) throw e;
      // Anything else from inside Wasm leaves the instance suspect: discard it.
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

  /**
   * A new room in this host's core instance (room.h): returns its handle. The
   * handle dies with the instance: after a CoreTrap, make the room again.
   */
  roomNew(id: number, nextSeq: number): number {
    return this.run((core) => core.roomNew(id, nextSeq));
  }

  /** Releases a room made by roomNew. */
  roomFree(handle: number): void {
    this.run((core) => core.roomFree(handle));
  }

  /**
   * One room event (room.h): `input` is the frame's bytes, user facts, an
   * attachment or an answer. Returns the effects to carry out in order. Throws
   * CoreError (a misuse of the room's protocol) or CoreTrap.
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

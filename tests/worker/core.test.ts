// The Wasm build of the core: same answers as the native build (golden vectors),
// a tiny import list, real randomness from the host, and survival of a trap.
import { describe, expect, it, vi } from "vitest";
import coreModule from "../../build/chat.wasm";
import { CoreError, CoreHost, CoreTrap, type CoreOp, type RoomEventKind } from "../../worker/core";
import { LIMITS, OPS } from "../../worker/generated/core";
import golden from "../golden/core.json";
import roomGolden from "../golden/room.json";

interface GoldenCase {
  name: string;
  op: string | number;
  in?: string;
  in_hex?: string;
  aux?: string;
  out?: string;
  error?: string;
}

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(hex.match(/../g)!.map((b) => parseInt(b, 16)));
}

describe("chat core in Wasm", () => {
  const core = new CoreHost();

  it("gives the golden vectors' exact bytes, as the native build does", () => {
    const cases = golden.cases as GoldenCase[];
    expect(cases.length).toBeGreaterThan(30);
    for (const c of cases) {
      const op = (typeof c.op === "number"
        ? Object.keys(OPS).find((k) => OPS[k as CoreOp] === c.op) ?? "unknown"
        : c.op) as CoreOp;
      const input = c.in_hex ? hexBytes(c.in_hex) : c.in;
      const aux = c.aux ? JSON.parse(c.aux) : undefined;
      let got: string;
      try {
        got = op === ("unknown" as CoreOp) ? "" : core.callText(op, input, aux, 1.7e12);
        if (op === ("unknown" as CoreOp)) throw new CoreError("unknown_op");
      } catch (e) {
        if (!(e instanceof CoreError)) throw e;
        expect(e.code, c.name).toBe(c.error);
        continue;
      }
      expect(c.error, c.name).toBeUndefined();
      expect(got, c.name).toBe(c.out);
    }
  });

  it("runs the golden room scripts to the same effects as the native build", () => {
    interface Step { event: RoomEventKind; conn?: number; in?: string; now: number; effects?: unknown; error?: string }
    let steps = 0;
    for (const script of roomGolden.scripts as { name: string; room_id: number; next_seq: number; steps: Step[] }[]) {
      const host = new CoreHost();
      const room = host.roomNew(script.room_id, script.next_seq, 1);
      for (const step of script.steps) {
        const where = `${script.name}, step ${steps++}`;
        try {
          const fx = host.roomEvent(room, step.event, step.conn ?? 0, step.in, step.now);
          const shown = fx.list.map((e) => (e.op === "send" || e.op === "notify" ? { ...e, frame: fx.frame(e.frame) } : e));
          expect(step.error, where).toBeUndefined();
          expect(shown, where).toEqual(step.effects);
        } catch (e) {
          if (!(e instanceof CoreError)) throw e;
          expect(e.code, where).toBe(step.error);
        }
      }
      host.roomFree(room);
    }
    expect(steps).toBeGreaterThan(30);
  });

  it("imports only host randomness and emscripten's standalone runtime", () => {
    const imports = WebAssembly.Module.imports(coreModule).map((i) => `${i.module}.${i.name}`);
    expect(imports.sort()).toEqual([
      "env.emscripten_notify_memory_growth",
      "env.host_random",
      "wasi_snapshot_preview1.proc_exit",
    ]);
  });

  it("draws salts and tokens from the host's random source", () => {
    const body = JSON.stringify({ username: "salty", password: "same password" });
    const a = core.call<{ password_hash: string }>("signup", body).password_hash;
    const b = core.call<{ password_hash: string }>("signup", body).password_hash;
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const salt = (h: string) => h.split("$")[4];
    expect(salt(a)).not.toBe(salt(b));
    expect(salt(a)).not.toBe("AAAAAAAAAAAAAAAAAAAAAA"); // all-zero salt: glue randomness
    const t1 = core.call<{ token: string }>("session_new").token;
    const t2 = core.call<{ token: string }>("session_new").token;
    expect(t1).toHaveLength(43);
    expect(t1).not.toBe(t2);
    expect(t1).not.toBe("A".repeat(43));
  });

  it("verifies in Wasm a hash it made, and refuses a wrong password", () => {
    const body = JSON.stringify({ username: "verify", password: "right password" });
    const { password_hash } = core.call<{ password_hash: string }>("signup", body);
    expect(core.call("login_verify", body, { password_hash })).toEqual({ rehash: null, username_skeleton: "verlfy" });
    const wrong = JSON.stringify({ username: "verify", password: "wrong password" });
    expect(() => core.call("login_verify", wrong, { password_hash })).toThrow(CoreError);
  });

  it("lets the isolate's other work run between the slices of a login's argon2id (issue 13)", async () => {
    // A timer chain stands for everything else the thread has to do: requests,
    // socket frames, other objects. A hash in one call let none of it run until
    // the login was done.
    const host = new CoreHost();
    const body = JSON.stringify({ username: "nobody", password: "not the password" });
    let ticks = 0;
    let hashing = true;
    const tick = () => { if (hashing) { ticks++; setTimeout(tick, 0); } };
    setTimeout(tick, 0);
    const login = host.callHashing("login_verify", body, { password_hash: null, password_nfkc: true, banned: false });
    await expect(login).rejects.toMatchObject({ code: "invalid_credentials" });
    hashing = false;
    // one tick at least between each of the hash's slices (2 passes of 4 slices)
    expect(ticks).toBeGreaterThanOrEqual(LIMITS.pwhashSlices - 1);
  });

  it("gives each of several hashing calls at once its own answer, the same as in one call", async () => {
    const host = new CoreHost();
    const right = JSON.stringify({ username: "alice", password: "right password" });
    const wrong = JSON.stringify({ username: "alice", password: "wrong password" });
    const { password_hash } = await host.callHashing<{ password_hash: string }>("signup", right);
    // a legacy hash (not NFKC) that verifies answers with a rehash: two hashes in one call
    const answers = await Promise.allSettled([
      host.callHashing("login_verify", right, { password_hash, password_nfkc: true }),
      host.callHashing("login_verify", wrong, { password_hash, password_nfkc: true }),
      host.callHashing<{ rehash: string }>("login_verify", right, { password_hash, password_nfkc: false }),
      host.callHashing("password_change", JSON.stringify({ current: "right password", new: "a new password" }),
        { password_hash, password_nfkc: true }),
    ]);
    expect(answers[0]).toEqual({ status: "fulfilled", value: { rehash: null, username_skeleton: "allce" } });
    expect(answers[1]).toMatchObject({ status: "rejected", reason: { code: "invalid_credentials" } });
    const rehash = (answers[2] as PromiseFulfilledResult<{ rehash: string }>).value.rehash;
    const changed = (answers[3] as PromiseFulfilledResult<{ password_hash: string }>).value.password_hash;
    // each new hash is a real one: verified by the core in one call, as libsodium's
    expect(core.call("login_verify", right, { password_hash: rehash })).toEqual({ rehash: null, username_skeleton: "allce" });
    const fresh = JSON.stringify({ username: "alice", password: "a new password" });
    expect(core.call("login_verify", fresh, { password_hash: changed })).toEqual({ rehash: null, username_skeleton: "allce" });
    expect(() => core.call("login_verify", right, { password_hash: changed })).toThrow(CoreError);
  });

  it("takes the slices back from a request that stopped running them, which then finishes in one call", async () => {
    const host = new CoreHost();
    const body = (password: string) => JSON.stringify({ username: "alice", password });
    const { password_hash } = host.call<{ password_hash: string }>("signup", body("right password"));
    const first = host.callHashing("login_verify", body("right password"), { password_hash });
    // as if the first request had been given up (a client gone) for longer than the bound
    const now = Date.now();
    const clock = vi.spyOn(Date, "now").mockImplementation(() => now + LIMITS.pwhashAbandonedMs + 1);
    try {
      let ticks = 0;
      let hashing = true;
      const tick = () => { if (hashing) { ticks++; setTimeout(tick, 0); } };
      setTimeout(tick, 0);
      const second = host.callHashing("login_verify", body("wrong password"), { password_hash });
      await expect(second).rejects.toMatchObject({ code: "invalid_credentials" });
      hashing = false;
      expect(ticks).toBeGreaterThanOrEqual(LIMITS.pwhashSlices - 1); // the second one sliced
    } finally {
      clock.mockRestore();
    }
    await expect(first).resolves.toEqual({ rehash: null, username_skeleton: "allce" });
  });

  it("starts a two-hash operation over in the new instance when another call traps between its slices", async () => {
    // A password change is two hashes (the current password's check, the new
    // one's hash); a trap meanwhile loses both the job and the kept result.
    const host = new CoreHost();
    const { password_hash } = host.call<{ password_hash: string }>("signup", JSON.stringify({ username: "alice", password: "right password" }));
    for (const after of [1, 6, 10]) { // ticks: during the first hash, at its end, during the second
      const traps = host.traps;
      let ticks = 0;
      const trapLater = () => { if (++ticks === after) expect(() => host.trapForTest()).toThrow(CoreTrap); else setTimeout(trapLater, 0); };
      setTimeout(trapLater, 0);
      const changed = await host.callHashing<{ password_hash: string }>("password_change",
        JSON.stringify({ current: "right password", new: "a new password" }), { password_hash, password_nfkc: true });
      expect(host.traps, `trap after ${after} ticks`).toBe(traps + 1);
      const fresh = JSON.stringify({ username: "alice", password: "a new password" });
      expect(core.call("login_verify", fresh, { password_hash: changed.password_hash })).toEqual({ rehash: null, username_skeleton: "allce" });
    }
  });

  it("answers with more than its first 64 KiB output buffer by growing it", () => {
    const user = { id: 1, username: "u".repeat(70000), role: "USER" };
    const frame = JSON.parse(core.callText("connection", undefined, user));
    expect(frame.user.username).toHaveLength(70000);
  });

  it("throws a trapped instance away and serves the next call from a fresh one", () => {
    const host = new CoreHost();
    host.call("session_new");
    expect(() => host.trapForTest()).toThrow(CoreTrap);
    expect(host.traps).toBe(1);
    expect(host.call<{ token: string }>("session_new").token).toHaveLength(43);
  });
});

// The core's vocabularies, defined once in C and generated for TypeScript, against
// what the shell and the documents say: the module's exports (wasm/exports.txt and
// core.ts's Exports), the error classes, the room's events, effects and queries,
// and the numbers of PROTOCOL.md's Limits table.
import { describe, expect, it } from "vitest";
import coreModule from "../../build/chat.wasm";
import { CHAT_EXPORTS, CoreError, CoreHost } from "../../worker/core";
import { BUDGETS, ERRORS, LIMITS, ROOM_EFFECTS, ROOM_EVENTS, ROOM_QUERIES } from "../../worker/generated/core";
import protocol from "../../PROTOCOL.md?raw";
import exportsTxt from "../../wasm/exports.txt?raw";

describe("the Wasm boundary", () => {
  it("core.ts declares exactly the exports wasm/exports.txt lists, and the module has them", () => {
    const listed = exportsTxt.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => l.replace(/^_/, ""));
    expect([...CHAT_EXPORTS].sort()).toEqual([...listed].sort());
    const functions = WebAssembly.Module.exports(coreModule).filter((e) => e.kind === "function").map((e) => e.name);
    for (const name of listed) expect(functions, name).toContain(name);
  });

  it("classes every error: fatal ones are the core's own failures, the rest refusals", () => {
    const fatal = Object.entries(ERRORS).filter(([, e]) => e.class === "fatal").map(([code]) => code).sort();
    // pwhash_pending: not a failure but no client's refusal either; CoreHost.callHashing
    // runs the hash it asks for, and a host that did not would answer 500
    expect(fatal).toEqual(["buffer_too_small", "crypto_failure", "internal", "misuse", "out_of_memory", "pwhash_pending",
      "unknown_op"]);
    expect(new CoreError("room_full").fatal).toBe(false);
    expect(new CoreError("misuse").fatal).toBe(true);
  });

  it("builds messages from the limits they name", () => {
    expect(ERRORS.frame_too_large.message).toBe(`Frames are at most ${LIMITS.frameMaxBytes / 1024} KiB.`);
    expect(ERRORS.payload_too_large.message).toBe(`The body is larger than ${LIMITS.httpBodyMaxBytes / 1024} KiB.`);
    expect(ERRORS.body_too_long.message).toContain(String(LIMITS.messageMaxChars));
    expect(ERRORS.ref_invalid.message).toContain(String(LIMITS.refMaxBytes));
    expect(ERRORS.username_too_long.message).toContain(String(LIMITS.usernameMax));
    expect(ERRORS.reason_too_long.message).toContain(String(LIMITS.reasonMax));
  });

  it("lists the room's vocabularies once, with the event numbers of the ABI", () => {
    expect(ROOM_EVENTS).toMatchObject({ open: 1, frame: 3, answer: 5, flush: 10 });
    expect(new Set(ROOM_EFFECTS).size).toBe(ROOM_EFFECTS.length);
    expect(ROOM_EFFECTS[ROOM_EFFECTS.length - 1]).toBe("query");
    expect([...ROOM_QUERIES].sort()).toEqual(["dedup", "history", "message", "reaction", "search"]);
  });

  it("tells a refusal from a fatal error, and keeps the instance after either", () => {
    const host = new CoreHost();
    const refused = (() => { try { host.call("room_create", "{}"); } catch (e) { return e; } })();
    expect(refused).toBeInstanceOf(CoreError);
    expect((refused as CoreError).fatal).toBe(false);
    const room = host.roomNew(1, 1, 1);
    // An answer with no question pending: the core was called out of order.
    const misuse = (() => { try { host.roomEvent(room, "answer", 0, { rows: [] }); } catch (e) { return e; } })();
    expect((misuse as CoreError).code).toBe("misuse");
    expect((misuse as CoreError).fatal).toBe(true);
    expect(host.traps).toBe(0);
    host.roomFree(room);
  });
});

describe("PROTOCOL.md", () => {
  it("states in its Limits table the numbers of the generated LIMITS and BUDGETS", () => {
    const table = protocol.slice(protocol.indexOf("## Limits"), protocol.indexOf("## Error codes"));
    const rows = table.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| Limit") && !l.startsWith("|---"));
    let checked = 0;
    for (const row of rows) {
      const [, names, value] = row.split(" | ").map((c) => c.trim());
      const numbers = (value ?? "").replace(/(\d) (\d{3})/g, "$1$2").match(/\d+/g)?.map(Number) ?? [];
      const named = [...(names ?? "").matchAll(/\(([^)]*)\)/g)].flatMap((m) => [...m[1]!.matchAll(/`(\w+)`/g)].map((n) => n[1]!));
      for (const name of named) {
        const limit = name in LIMITS ? LIMITS[name as keyof typeof LIMITS]
          : name in BUDGETS ? BUDGETS[name as keyof typeof BUDGETS].limit : undefined;
        expect(limit, `${name} in: ${row}`).toBeTypeOf("number");
        expect(numbers, `${name} in: ${row}`).toContain(limit);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});

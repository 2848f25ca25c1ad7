// wrangler.toml as deployment configuration: the environments mirror the top
// level's bindings and differ only where they must; migrations, of Durable
// Objects and of D1, only ever grow (a landed entry or file never changes); and
// no secret or local state can be committed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { configFor, environments, rawConfig, root } from "./util.mjs";

// Landed Durable Object migrations, as deployed: append new ones in wrangler.toml,
// and here once they ship. Editing or reordering a landed one breaks deploys of
// existing installations (Cloudflare records which tags an account has applied).
const LANDED_DO_MIGRATIONS = [
  { tag: "v1", new_sqlite_classes: ["UserHub"] },
  { tag: "v2", new_sqlite_classes: ["ChatRoom"] },
];

// Landed D1 migrations and their SHA-256: wrangler applies each file once per
// database, so an edited file would never reach a database that already has it.
const LANDED_D1_MIGRATIONS = {
  "0001_create_accounts.sql": "c8ffabb0d98cbfbfe690b52656356679081377522ce0f6fe1b670212868d37ac",
  "0002_create_rooms.sql": "ccaf4349706289b7aad98fb714344a92c7a89d37f1b562df8cfeaa238d418a44",
  "0003_create_social.sql": "134a6badd94d0c6890b51722f82e4ad6306515844e85c9ac3d93b45639e44575",
  "0004_create_moderation.sql": "1471c9e4c99f0a54f58c2eaf8b26d38129b1cd8b832e7024366be22d7856a143",
  "0005_normalize_credentials.sql": "e451ee996061685702c6dac2fcb9baf3a1593a25a1310065e2ee8650fe170ac6",
  "0006_rekey_ip_bans.sql": "c088442ad47b127c93052cc4808366b6e4d43f42877fdd20d047d97366672027",
  "0007_create_budget_counters.sql": "36fd693384845b28c57299d685ae2846bedee1b6d901fd1d69221716874af23d",
  "0008_chain_moderation_log.sql": "351435fc9ce8c877ffa2e941e8511ac90569f8ff21379eddbe443fb5fc083c8e",
  "0009_add_session_details.sql": "cb9c0d7e1152ab8bbeb931ec0e6046202365a60136ece8576f845a9ae1d5fac7",
  "0010_add_display_name.sql": "03c26880236fba5e6cc000927ba323d6d230b52e971c26e8574a08efb013cf49",
  "0011_mark_deleted_accounts.sql": "ffddd693bb5ea5f886f1f2c413a39d6a68f4165d760399431350d7e7470fff56",
  "0020_create_room_members.sql": "671421eb54fb1ab967f4d4d496553ced66d22a7c88634cdaf296ffc5071f9c33",
  "0021_create_online_users.sql": "6f4c71a044d3c1b9f5f38ac2f8ebad3148d95e89384b050b4a9680c1c1a233e4",
};

describe("wrangler.toml environments", () => {
  const top = configFor(undefined);

  it("are staging and production", () => {
    assert.deepEqual(environments(), ["staging", "production"]);
  });

  for (const env of ["staging", "production"]) {
    it(`${env}: its own Worker and D1 database, the top level's bindings, migrations and settings`, () => {
      const c = configFor(env);
      const raw = rawConfig().env[env];
      assert.equal(c.name, `edge-chat-${env}`);
      assert.deepEqual(c.durable_objects.bindings, top.durable_objects.bindings);
      assert.deepEqual(c.d1_databases.map(({ binding, migrations_dir }) => ({ binding, migrations_dir })),
        top.d1_databases.map(({ binding, migrations_dir }) => ({ binding, migrations_dir })));
      assert.deepEqual(c.d1_databases.map((d) => d.database_name), [`edge-chat-${env}`]);
      assert.deepEqual(c.r2_buckets.map((b) => b.binding), top.r2_buckets.map((b) => b.binding));
      assert.deepEqual(c.r2_buckets.map((b) => b.bucket_name), [`edge-chat-${env}-files`]);
      assert.equal(raw.migrations, undefined, "environments inherit the one list of Durable Object migrations");
      assert.deepEqual(c.migrations, top.migrations);
      assert.equal(c.compatibility_date, top.compatibility_date);
      assert.deepEqual(c.compatibility_flags, top.compatibility_flags);
      assert.deepEqual(c.rules, top.rules);
      assert.equal(c.observability?.enabled, true, "Workers Logs on");
    });
  }

  it("name no account, hold no secret among their vars, and share no database", () => {
    const raw = rawConfig();
    for (const c of [raw, ...Object.values(raw.env)]) {
      assert.equal(c.account_id, undefined, "the account comes from the login or CLOUDFLARE_ACCOUNT_ID");
      for (const name of Object.keys(c.vars ?? {})) {
        assert.doesNotMatch(name, /secret|token|password|pepper|key/i, `${name} belongs in wrangler secret put`);
      }
    }
    // The test-only variables (test hooks, load-test rates, the budget scale that
    // lifts every rate budget, the debug counters, the scaled idle time, the relay
    // threshold, the bench's search switch) are never deployed.
    for (const c of [raw, ...Object.values(raw.env)]) {
      for (const name of Object.keys(c.vars ?? {})) {
        assert.doesNotMatch(name, /^CHAT_(TEST_HOOKS|RATE_|ROOM_RATE_|BUDGET_SCALE|DEBUG_COUNTERS|IDLE_SCALE|RELAY_FROM|SEARCH_INDEX)/, `${name} is for tests only`);
      }
    }
    const names = [undefined, ...environments()].flatMap((env) => configFor(env).d1_databases.map((d) => d.database_name));
    assert.equal(new Set(names).size, names.length, `databases: ${names}`);
  });
});

describe("migrations only grow", () => {
  it("keeps every landed Durable Object migration as it was, first and in order", () => {
    const migrations = JSON.parse(JSON.stringify(rawConfig().migrations)); // plain objects
    assert.deepEqual(migrations.slice(0, LANDED_DO_MIGRATIONS.length), LANDED_DO_MIGRATIONS);
  });

  // Two series are numbered at once: 0001 on (issue 20's accounts work reserved
  // 0009-0019), and 0020 on (issue 15, rooms). Each series is gap-free from its
  // start; wrangler applies files by name, each once, and neither series touches
  // the other's tables.
  it("numbers D1 migrations NNNN_verb_noun.sql without gaps in each series (0001 on, 0020 on), and keeps landed files unchanged", () => {
    const dir = path.join(root, configFor(undefined).d1_databases[0].migrations_dir);
    const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
    for (const start of [1, 20]) {
      const series = files.filter((f) => { const n = Number(f.slice(0, 4)); return n >= start && (start === 20 || n < 20); });
      series.forEach((f, i) => assert.match(f, new RegExp(`^${String(start + i).padStart(4, "0")}_[a-z0-9]+(_[a-z0-9]+)+\\.sql$`)));
    }
    assert.equal(files.filter((f) => !/^\d{4}_/.test(f)).length, 0);
    for (const [file, sha256] of Object.entries(LANDED_D1_MIGRATIONS)) {
      const actual = createHash("sha256").update(readFileSync(path.join(dir, file))).digest("hex");
      assert.equal(actual, sha256, `${file} was edited after it landed: add a new migration instead`);
    }
  });
});

describe("nothing secret or local is committed", () => {
  const git = (...args) => execFileSync("git", args, { cwd: root, encoding: "utf8" });

  it("ignores wrangler's local secrets and Terraform's state and variables", () => {
    for (const file of [".dev.vars", ".dev.vars.staging", ".env", "infra/terraform.tfvars", "infra/terraform.tfstate",
      "infra/terraform.tfstate.backup", "infra/.terraform/providers", ".wrangler/state"]) {
      assert.doesNotThrow(() => git("check-ignore", "-q", file), `${file} is not ignored by git`);
    }
  });

  it("tracks no such file", () => {
    const tracked = git("ls-files").split("\n");
    const leaked = tracked.filter((f) => /(^|\/)(\.dev\.vars.*|\.env|terraform\.tfvars|.*\.tfstate(\..*)?)$/.test(f));
    assert.deepEqual(leaked, []);
  });
});

// The Terraform configuration in infra/: no Terraform binary installs on our
// machines, so its syntax is checked with HashiCorp's own HCL parser (compiled to
// JavaScript, npm package hcl2-parser) and its layout with ./hclfmt.mjs (the
// rules of `terraform fmt`). Beyond that: the provider and the resources we rely
// on, every variable and output described, no credential in the files, and the
// names it creates agreeing with wrangler.toml, the Makefile and the workflow.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { formatProblems } from "./hclfmt.mjs";
import { configFor, environments, root } from "./util.mjs";

const hcl = createRequire(import.meta.url)("hcl2-parser");
const infra = path.join(root, "infra");
const files = readdirSync(infra).filter((f) => f.endsWith(".tf") || f.endsWith(".tfvars.example")).sort();
const read = (f) => readFileSync(path.join(infra, f), "utf8");

/** The parsed file (hcl2json's JSON form), or null if it is not valid HCL. */
function parseHcl(text) {
  const [value, error] = hcl.parseToObject(text);
  return error === null ? value : null;
}

/** Every .tf file merged: { resource: { type: { name: [body] } }, variable: ... }. */
function merged() {
  const all = {};
  for (const f of files.filter((f) => f.endsWith(".tf"))) {
    for (const [kind, entries] of Object.entries(parseHcl(read(f)))) {
      all[kind] = kind === "locals" || kind === "terraform" ? [...(all[kind] ?? []), ...entries] : { ...all[kind], ...entries };
    }
  }
  return all;
}

describe("infra/ files", () => {
  it("are the configuration and its variables' template", () => {
    assert.deepEqual(files, ["main.tf", "outputs.tf", "terraform.tfvars.example", "variables.tf", "versions.tf"]);
  });

  for (const f of files) {
    it(`${f} is valid HCL`, () => {
      assert.notEqual(parseHcl(read(f)), null, `${f} does not parse`);
    });

    it(`${f} is formatted as terraform fmt writes it`, () => {
      const problems = formatProblems(read(f));
      assert.deepEqual(problems, [], problems.map((p) => `${f}:${p.line}: want ${JSON.stringify(p.expected)}`).join("\n"));
    });
  }
});

describe("the Terraform configuration", () => {
  const tf = merged();

  it("pins the Cloudflare provider to a major version and holds no credential", () => {
    const provider = tf.terraform[0].required_providers[0].cloudflare;
    assert.equal(provider.source, "cloudflare/cloudflare");
    assert.match(provider.version, /^~> 5\.\d+$/);
    assert.match(tf.terraform[0].required_version, /^>= 1\.\d+/);
    assert.deepEqual(tf.provider.cloudflare, [{}], "the token comes from CLOUDFLARE_API_TOKEN");
    for (const f of files) {
      assert.doesNotMatch(read(f).replace(/#.*$/gm, ""), /api_token|api_key|api_user_service_key/, f);
    }
  });

  it("manages the D1 databases, the Pages project, its custom domain and DNS record", () => {
    assert.deepEqual(Object.keys(tf.resource).sort(),
      ["cloudflare_d1_database", "cloudflare_dns_record", "cloudflare_pages_domain", "cloudflare_pages_project",
        "cloudflare_r2_bucket"]);
    assert.deepEqual(tf.resource.cloudflare_d1_database.chat[0].lifecycle, [{ prevent_destroy: true }]);
    assert.deepEqual(tf.resource.cloudflare_r2_bucket.files[0].lifecycle, [{ prevent_destroy: true }]);
  });

  it("describes and types every variable, and describes every output", () => {
    for (const [name, [v]] of Object.entries(tf.variable)) {
      assert.ok(v.description?.length > 10, `variable ${name} has no description`);
      assert.ok(v.type, `variable ${name} has no type`);
    }
    for (const [name, [o]] of Object.entries(tf.output)) assert.ok(o.description, `output ${name} has no description`);
  });

  it("documents every variable in the README", () => {
    const readme = readFileSync(path.join(root, "README.md"), "utf8");
    for (const name of Object.keys(tf.variable)) assert.match(readme, new RegExp(`\\| \`${name}\` \\|`), name);
  });

  it("names what it creates as wrangler.toml, the Makefile and the workflow do", () => {
    const v = (name) => tf.variable[name][0].default;
    assert.deepEqual([...v("environments")].sort(), environments().sort());
    assert.match(tf.locals[0].d1_databases, /"\$\{var\.name\}-\$\{env\}"/);
    for (const env of environments()) {
      assert.deepEqual(configFor(env).d1_databases.map((d) => d.database_name), [`${v("name")}-${env}`]);
    }
    const makefile = readFileSync(path.join(root, "Makefile"), "utf8");
    const workflow = parse(readFileSync(path.join(root, ".github/workflows/ci.yml"), "utf8"));
    assert.equal(/^PAGES_PROJECT\s*\?=\s*(\S+)$/m.exec(makefile)?.[1], v("pages_project"));
    assert.equal(workflow.env.PAGES_PROJECT, v("pages_project"));
    assert.equal(tf.resource.cloudflare_pages_project.site[0].production_branch,
      /^PAGES_BRANCH_production\s*:=\s*(\S+)$/m.exec(makefile)?.[1]);
  });
});

describe("the format check itself (cases checked against hclfmt)", () => {
  const want = (text) => formatProblems(text).map((p) => [p.line, p.expected]);

  it("accepts canonical layout", () => {
    assert.deepEqual(want('x {\n  a = 1\n\n  bbb = 2\n}\n\ny = -1\nz = var.a - 1\n'), []);
  });

  it("aligns = and trailing comments over consecutive lines", () => {
    assert.deepEqual(want("a = 1\nbb = 2\n"), [[1, "a  = 1"]]);
    assert.deepEqual(want("a = 1 # x\nbb = 22 # y\n"), [[1, "a  = 1  # x"]]);
  });

  it("indents two spaces per open bracket", () => {
    assert.deepEqual(want("x {\ny = 1\n}\n"), [[2, "  y = 1"]]);
    assert.deepEqual(want("m = {\n  k = {\n  v = 1\n  }\n}\n"), [[3, "    v = 1"]]);
  });

  it("spaces tokens as hclfmt does", () => {
    assert.deepEqual(want("f = [1,2]\n"), [[1, "f = [1, 2]"]]);
    assert.deepEqual(want("g = upper ( var.a )\n"), [[1, "g = upper(var.a)"]]);
  });

  it("wants a newline at the end and no tabs", () => {
    assert.deepEqual(want("a = 1"), [[0, ""]]);
    assert.deepEqual(want("x {\n\ta = 1\n}\n"), [[2, "  a = 1"]]);
  });
});

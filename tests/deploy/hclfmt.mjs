// A check that HCL files are in canonical format, the one `terraform fmt` and
// `hclfmt` write: no Terraform binary can be installed on our machines, so this
// re-implements the layout rules of HashiCorp's formatter (hclwrite's format.go:
// indentation by bracket nesting, spaces between tokens, `=` and trailing
// comments aligned across consecutive lines) for the native syntax our
// configuration uses. Heredocs and multi-line /* */ comments are refused
// rather than guessed at. It reports lines; it never rewrites a file.

const OPEN = new Set(["{", "[", "("]);
const CLOSE = new Set(["}", "]", ")"]);
const PUNCT = ["...", "==", "!=", "<=", ">=", "&&", "||", "=>",
  "{", "}", "[", "]", "(", ")", ",", ".", "=", ":", "?", "!", "+", "-", "*", "/", "%", "<", ">"];

/** Splits `text` into lines of tokens { kind, text }; kinds: ident, number,
 * string, comment, punct, newline. A line comment takes its newline with it. */
function tokenize(text) {
  const tokens = [];
  let i = 0;
  const push = (kind, end) => { tokens.push({ kind, text: text.slice(i, end) }); i = end; };
  while (i < text.length) {
    const c = text[i];
    const rest = text.slice(i);
    if (c === " " || c === "\t") { i++; continue; }
    if (c === "\r") throw new Error("CRLF line endings");
    if (c === "\n") { push("newline", i + 1); continue; }
    if (c === "#" || rest.startsWith("//")) {
      const nl = text.indexOf("\n", i);
      push("comment", nl < 0 ? text.length : nl + 1);
      continue;
    }
    if (rest.startsWith("/*")) {
      const end = text.indexOf("*/", i + 2);
      if (end < 0 || text.slice(i, end).includes("\n")) throw new Error("multi-line /* */ comments are not supported");
      push("comment", end + 2);
      continue;
    }
    if (rest.startsWith("<<")) throw new Error("heredocs are not supported");
    if (c === '"') { push("string", endOfString(text, i)); continue; }
    let m = /^[0-9][0-9]*(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(rest);
    if (m) { push("number", i + m[0].length); continue; }
    m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(rest);
    if (m) { push("ident", i + m[0].length); continue; }
    const p = PUNCT.find((op) => rest.startsWith(op));
    if (!p) throw new Error(`unexpected character ${JSON.stringify(c)}`);
    push("punct", i + p.length);
  }
  return tokens;
}

/** Index just past the quoted string (with ${...} and %{...} templates) at i. */
function endOfString(text, i) {
  let j = i + 1;
  while (j < text.length) {
    const c = text[j];
    if (c === "\n") throw new Error("unterminated string");
    if (c === "\\") { j += 2; continue; }
    if (c === '"') return j + 1;
    if ((c === "$" || c === "%") && text[j + 1] === "{") {
      // A template: skip to its matching brace, strings inside included.
      let depth = 0;
      j += 1;
      while (j < text.length) {
        if (text[j] === '"') { j = endOfString(text, j); continue; }
        if (text[j] === "\n") throw new Error("unterminated template");
        if (text[j] === "{") depth++;
        if (text[j] === "}" && --depth === 0) break;
        j++;
      }
    }
    j++;
  }
  throw new Error("unterminated string");
}

const bracket = (t) => (t.kind === "punct" && OPEN.has(t.text) ? 1 : t.kind === "punct" && CLOSE.has(t.text) ? -1 : 0);
const is = (t, s) => t.kind === "punct" && t.text === s;

/** hclwrite's spaceAfterToken, with a quoted string as one token. */
function spaceAfter(subject, before, after) {
  if (!after || after.kind === "newline" || after.kind === "end") return false;
  if (subject.kind === "ident" && is(after, "(")) return false;
  if (is(subject, ".") || is(after, ".")) return false;
  if (is(after, ",") || is(after, "...")) return false;
  if (is(subject, ",")) return true;
  if (subject.kind === "ident" && subject.text === "in" && before?.kind === "ident") return true;
  if (is(after, "[") && (subject.kind === "ident" || subject.kind === "number" || bracket(subject) < 0)) return false;
  if (is(subject, "!")) return false;
  if (is(subject, "-")) {
    if (!before) return false;
    if (before.kind === "punct" && ["(", "{", "[", "=", ":", ",", "?", "+", "*", "/", "%", "-",
      "==", "!=", ">", ">=", "<", "<=", "&&", "||", "!"].includes(before.text)) return false;
    return true;
  }
  if (is(subject, "{") || is(after, "}")) return !(is(subject, "{") && is(after, "}"));
  if (bracket(subject) > 0) return false;
  if (bracket(after) < 0) return false;
  return true;
}

/** Renders tokens with canonical spaces; the first gets `lead` spaces. */
function render(tokens, lead) {
  let out = " ".repeat(lead);
  tokens.forEach((t, i) => {
    if (t.kind === "newline") return;
    if (i > 0 && spaceAfter(tokens[i - 1], tokens[i - 2], t)) out += " ";
    out += t.text.replace(/\n$/, "");
  });
  return out;
}

/**
 * Returns the lines of `text` that differ from canonical HCL format, as
 * [{ line (1-based), actual, expected }], or throws on syntax this check does
 * not cover. An empty array means the file is formatted.
 */
export function formatProblems(text) {
  const problems = [];
  if (text.length > 0 && !text.endsWith("\n")) problems.push({ line: 0, actual: "(no newline at end of file)", expected: "" });
  const tokens = tokenize(text);

  // Lines, each split like hclwrite's: lead, assign (from `=`), comment.
  const lines = [];
  let cur = [];
  for (const t of tokens) {
    cur.push(t);
    if (t.kind === "newline" || (t.kind === "comment" && t.text.endsWith("\n"))) { lines.push(cur); cur = []; }
  }
  if (cur.length) lines.push(cur);
  const cells = lines.map((lead) => {
    const line = { lead, assign: null, comment: null };
    const last = lead.length - 1;
    if (lead.length > 1 && lead[last].kind === "comment") {
      line.comment = lead.slice(last);
      line.lead = lead.slice(0, last);
    }
    const eq = line.lead.findIndex((t, i) => i > 0 && is(t, "="));
    if (eq > 0 && line.lead.slice(eq).reduce((n, t) => n + bracket(t), 0) === 0) {
      line.assign = line.lead.slice(eq);
      line.lead = line.lead.slice(0, eq);
    }
    return line;
  });

  // Indentation: hclwrite's stack of brackets opened per line.
  const stack = [];
  for (const line of cells) {
    if (line.lead.length === 0 || line.lead[0].kind === "newline") { line.indent = 0; continue; }
    let net = 0;
    for (const t of [...line.lead, ...(line.assign ?? [])]) net += bracket(t);
    if (net > 0) {
      line.indent = 2 * stack.length;
      stack.push(net);
    } else {
      let closed = -net;
      while (closed > 0 && stack.length) {
        const top = stack[stack.length - 1];
        if (closed > top) { closed -= top; stack.pop(); }
        else if (closed < top) { stack[stack.length - 1] -= closed; closed = 0; }
        else { stack.pop(); closed = 0; }
      }
      line.indent = 2 * stack.length;
    }
    line.leadText = render(line.lead, line.indent);
  }

  // `=` aligned over each run of consecutive assignment lines, then trailing
  // comments over each run of consecutive lines that have one.
  const align = (has, width, set) => {
    for (let i = 0; i < cells.length;) {
      if (!has(cells[i])) { i++; continue; }
      let j = i;
      while (j < cells.length && has(cells[j])) j++;
      const max = Math.max(...cells.slice(i, j).map(width));
      cells.slice(i, j).forEach((c) => set(c, max - width(c) + 1));
      i = j;
    }
  };
  align((c) => c.assign, (c) => c.leadText.length, (c, pad) => {
    c.assignText = " ".repeat(pad) + render(c.assign, 0);
  });
  align((c) => c.comment, (c) => c.leadText.length + (c.assignText ?? "").length, (c, pad) => {
    c.commentText = " ".repeat(pad) + c.comment[0].text.replace(/\n$/, "");
  });

  const actual = text.split("\n");
  cells.forEach((c, i) => {
    const expected = (c.leadText ?? "") + (c.assignText ?? "") + (c.commentText ?? "");
    if (actual[i] !== expected) problems.push({ line: i + 1, actual: actual[i], expected });
  });
  return problems;
}

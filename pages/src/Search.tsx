/**
 * Message search (issue 17): a search box per room or conversation, one across
 * all of mine, results with their matches highlighted, and a jump to a result in
 * context (the page of history around it). The server reads the query (syntax:
 * PROTOCOL.md "Search") and marks each match in a snippet between U+0002 and
 * U+0003 (SEARCH_MARKS); those become <mark> elements here, and the text is only
 * ever text, never HTML.
 */
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { api, describeError } from "./api";
import { useChat } from "./context";
import { MessageText } from "./Markdown";
import type { Message, UserRef } from "./protocol";
import { go } from "./route";
import { SEARCH_MARKS } from "../../worker/generated/core";

export interface SearchResult {
  seq: number;
  user: UserRef;
  created_at: number;
  edited_at?: number;
  snippet: string;
  /** across rooms: where it was found */
  room_id?: number;
  conversation_id?: number;
}

interface SearchPage { results: SearchResult[]; has_more: boolean; next_before?: number | null; skipped?: unknown[] }

const when = (ms: number) => new Date(ms).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });

/** A snippet with its marked matches as <mark>, everything else as text. */
export function Snippet({ text }: { text: string }) {
  const parts: { mark: boolean; text: string }[] = [];
  let rest = text;
  while (rest) {
    const start = rest.indexOf(SEARCH_MARKS.start);
    if (start < 0) { parts.push({ mark: false, text: rest }); break; }
    if (start > 0) parts.push({ mark: false, text: rest.slice(0, start) });
    const end = rest.indexOf(SEARCH_MARKS.end, start + 1);
    parts.push({ mark: true, text: rest.slice(start + 1, end < 0 ? undefined : end) });
    rest = end < 0 ? "" : rest.slice(end + 1);
  }
  return <span className="snippet" dir="auto">{parts.map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : p.text))}</span>;
}

/** Where a result should open once its conversation is shown (a jump from the
 * search across rooms): kept until that conversation's search takes it. */
let pendingJump: { kind: "room" | "dm"; id: number; seq: number } | null = null;

/** Results as a list of buttons: Enter or a click jumps to one. */
function ResultList({ results, label, onPick, placeOf }: { results: SearchResult[]; label: string;
    onPick(r: SearchResult): void; placeOf?: (r: SearchResult) => string }) {
  return (
    <ol className="search-results" aria-label={label} data-testid="search-results">
      {results.map((r) => (
        <li key={`${r.room_id ?? "d"}${r.conversation_id ?? ""}-${r.seq}`}>
          <button className="search-result" onClick={() => onPick(r)} data-testid="search-result">
            <span className="meta">
              <strong>{r.user.username}</strong>
              {placeOf && <span className="where"> in {placeOf(r)}</span>}
              {" "}<time dateTime={new Date(r.created_at).toISOString()}>{when(r.created_at)}</time>
              {r.edited_at && <span className="edited"> (edited)</span>}
            </span>
            <Snippet text={r.snippet} />
          </button>
        </li>
      ))}
    </ol>
  );
}

/** The search of one room or conversation: a box in its header; results, and a
 * result's context (the history around it), in a panel over the messages. Esc
 * closes the panel and gives the focus back to the box. */
export function RoomSearch({ kind, id }: { kind: "room" | "dm"; id: number }) {
  const chat = useChat();
  const base = kind === "room" ? `/rooms/${id}` : `/dms/${id}`;
  const [q, setQ] = useState("");
  const [asked, setAsked] = useState<string | null>(null);
  const [results, setResults] = useState<SearchResult[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [around, setAround] = useState<{ seq: number; messages: Message[] } | null>(null);
  const box = useRef<HTMLInputElement>(null);
  const panel = useRef<HTMLDivElement>(null);

  async function run(query: string, before: number | null) {
    setBusy(true);
    setError(null);
    try {
      const page = await api<SearchPage>("GET",
        `${base}/search?q=${encodeURIComponent(query)}${before ? `&before=${before}` : ""}`, chat.token);
      setResults((r) => (before ? [...r, ...page.results] : page.results));
      setNext(page.has_more ? page.next_before ?? null : null);
      setAsked(query);
    } catch (e) {
      setError(describeError(e));
      if (!before) setResults([]);
      setAsked(query);
    } finally {
      setBusy(false);
    }
  }

  /** The page of history around message seq: a few after it, it, and those before. */
  async function jump(seq: number) {
    setError(null);
    try {
      const page = await api<{ messages: Message[] }>("GET", `${base}/messages?before=${seq + 6}&limit=11`, chat.token);
      setAround({ seq, messages: page.messages });
    } catch (e) {
      setError(describeError(e));
    }
  }

  // A jump asked for by the search across rooms, now that this conversation is open.
  useEffect(() => {
    if (pendingJump && pendingJump.kind === kind && pendingJump.id === id) {
      const seq = pendingJump.seq;
      pendingJump = null;
      void jump(seq);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per conversation
  }, [kind, id]);

  // The jumped-to message in view, with the focus on it.
  useEffect(() => {
    if (!around) return;
    const el = panel.current?.querySelector<HTMLElement>("[aria-current='true']");
    el?.scrollIntoView({ block: "center" });
    el?.focus();
  }, [around]);

  const close = () => { setAsked(null); setResults([]); setAround(null); setError(null); box.current?.focus(); };
  const onKey = (e: KeyboardEvent) => { if (e.key === "Escape" && (asked !== null || around)) { e.stopPropagation(); close(); } };
  const submit = (e: FormEvent) => { e.preventDefault(); setAround(null); if (q.trim()) void run(q, null); };
  const where = kind === "room" ? "this room" : "this conversation";
  const open = asked !== null || around !== null || error !== null;
  return (
    <div className="room-search" onKeyDown={onKey}>
      <form role="search" className="search-form" onSubmit={submit} aria-label={`Search ${where}`}>
        <input ref={box} type="search" value={q} onChange={(e) => setQ(e.target.value)} aria-label={`Search ${where}`}
               placeholder="Search" data-testid="room-search" />
        <button type="submit" disabled={busy}>Search</button>
      </form>
      {open && (
        <div className="search-panel" ref={panel} role="region" aria-label={around ? "Message in context" : "Search results"}
             data-testid="search-panel">
          <div className="row">
            {around && asked !== null && <button className="link" onClick={() => setAround(null)}>← Back to the results</button>}
            <span className="spacer" />
            <button className="link" onClick={close}>Close <span className="hint">(Esc)</span></button>
          </div>
          {error && <p className="error" role="alert">{error}</p>}
          {around ? (
            <ol className="messages context" aria-label="Messages around the result" data-testid="search-context">
              {around.messages.map((m) => (
                <li key={m.seq} className={`message${m.seq === around.seq ? " target" : ""}`} data-seq={m.seq}
                    aria-current={m.seq === around.seq ? "true" : undefined} tabIndex={m.seq === around.seq ? -1 : undefined}>
                  <div className="meta"><strong>{m.user.username}</strong>{" "}
                    <time dateTime={new Date(m.created_at).toISOString()}>{when(m.created_at)}</time></div>
                  <div className="body" dir="auto"><MessageText text={m.body} /></div>
                </li>
              ))}
              {!around.messages.some((m) => m.seq === around.seq) && <li className="empty">This message is gone.</li>}
            </ol>
          ) : asked !== null && !error && (
            <>
              <p role="status" className="hint">{results.length === 0 ? `Nothing in ${where} matches “${asked}”.`
                : `${results.length}${next ? "+" : ""} message${results.length === 1 ? "" : "s"} match “${asked}”.`}</p>
              <ResultList results={results} label={`Results for ${asked}`} onPick={(r) => void jump(r.seq)} />
              {next && <button className="link" disabled={busy} onClick={() => void run(asked, next)}>More results</button>}
            </>
          )}
        </div>
      )}
    </div>
  );
}

/** The search across all my rooms and conversations (GET /search): a result opens
 * its conversation at that message. */
export function GlobalSearch() {
  const chat = useChat();
  const [q, setQ] = useState("");
  const [page, setPage] = useState<SearchPage & { more_rooms?: boolean; asked: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!q.trim()) return;
    setBusy(true);
    setError(null);
    try {
      setPage({ ...(await api<SearchPage & { more_rooms?: boolean }>("GET", `/search?q=${encodeURIComponent(q)}`, chat.token)), asked: q });
    } catch (err) {
      setError(describeError(err));
      setPage(null);
    } finally {
      setBusy(false);
    }
  }
  const placeOf = (r: SearchResult) => (r.room_id !== undefined
    ? chat.rooms.find((x) => x.id === r.room_id)?.name ?? `room ${r.room_id}`
    : `your conversation with ${chat.dms.find((d) => d.id === r.conversation_id)?.with.username ?? "someone"}`);
  const pick = (r: SearchResult) => {
    const kind = r.room_id !== undefined ? "room" : "dm";
    const id = (r.room_id ?? r.conversation_id)!;
    pendingJump = { kind, id, seq: r.seq };
    go({ view: kind, id });
  };
  return (
    <section className="global-search" aria-labelledby="global-search-h">
      <h2 id="global-search-h">Search all my messages</h2>
      <form role="search" className="search-form" onSubmit={submit} aria-label="Search all my rooms and conversations">
        <input type="search" value={q} onChange={(e) => setQ(e.target.value)} aria-label="Search all my rooms and conversations"
               aria-describedby="global-search-syntax" data-testid="global-search" />
        <button type="submit" disabled={busy}>Search</button>
      </form>
      <p id="global-search-syntax" className="hint">Every word must match; "quotes" find a phrase; lov* finds love and lovely.</p>
      {error && <p className="error" role="alert">{error}</p>}
      {page && (
        <>
          <p role="status" className="hint">{page.results.length === 0 ? `Nothing matches “${page.asked}”.`
            : `The ${page.results.length} newest matches for “${page.asked}”.`}
            {page.skipped && page.skipped.length > 0 && ` ${page.skipped.length} room(s) did not answer in time and were left out.`}
            {page.more_rooms && " Only your most active rooms were searched."}</p>
          <ResultList results={page.results} label={`Results for ${page.asked}`} onPick={pick} placeOf={placeOf} />
        </>
      )}
    </section>
  );
}

import { useEffect, useRef } from "react";
import { allDrafts } from "./drafts";

/** Why the session ended for good: a ban (close code 4003, reason "banned: …"),
 * kept in localStorage so that a reload still says why (issue 18, defect 8). */
export interface EndedInfo { kind: "banned" | "address"; reason: string | null; at: number }

const KEY = "edge-chat.ended";

/** The ban remembered across reloads, if any. */
export function loadEnded(): EndedInfo | null {
  try {
    const e = JSON.parse(localStorage.getItem(KEY) ?? "null") as EndedInfo | null;
    return e && (e.kind === "banned" || e.kind === "address") ? e : null;
  } catch {
    return null;
  }
}

/** Remembers (or forgets, for null) why the session ended. */
export function saveEnded(e: EndedInfo | null): void {
  if (e) localStorage.setItem(KEY, JSON.stringify(e));
  else localStorage.removeItem(KEY);
}

/** The close reason of a 4003 as an EndedInfo: "banned", "banned: <reason>"
 * (at most 123 bytes, maybe cut with "…") or "address banned". */
export function endedFromClose(reason: string): EndedInfo {
  if (reason === "address banned") return { kind: "address", reason: null, at: Date.now() };
  const m = /^banned(?:: ([\s\S]*))?$/.exec(reason);
  return { kind: "banned", reason: m ? m[1] ?? null : reason || null, at: Date.now() };
}

/** The screen of a banned account: what happened, the moderator's reason, and the
 * drafts that were not sent, to copy. */
export function Ended({ info, onDone }: { info: EndedInfo; onDone(): void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => { heading.current?.focus(); }, []);
  const drafts = allDrafts();
  return (
    <main className="auth ended" aria-labelledby="ended-h">
      <h1 id="ended-h" ref={heading} tabIndex={-1}>
        {info.kind === "address" ? "Your network address is banned" : "Your account has been banned"}
      </h1>
      <p>
        {info.kind === "address"
          ? "A moderator banned the address you connect from, so this session was ended."
          : "A moderator banned this account, so you were logged out everywhere."}
      </p>
      {info.reason && <p className="reason" data-testid="ban-reason"><strong>Reason given:</strong> <span dir="auto">{info.reason}</span></p>}
      <p className="hint">Since {new Date(info.at).toLocaleString()}.</p>
      {drafts.length > 0 && (
        <section aria-labelledby="drafts-h">
          <h2 id="drafts-h">What you had not sent</h2>
          {drafts.map(([key, text]) => (
            <textarea key={key} readOnly value={text} aria-label="Unsent message" dir="auto" data-testid="kept-draft" rows={3} />
          ))}
        </section>
      )}
      <button className="primary" onClick={onDone}>Back to log in</button>
    </main>
  );
}

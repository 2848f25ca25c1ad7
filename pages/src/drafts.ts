/**
 * What a person typed and did not send, kept per conversation in localStorage
 * (key "edge-chat.draft.<room|dm>-<id>", the text as typed, at most one a
 * conversation): a reload, a ban or a removal never loses it (issue 18). The
 * composer writes it as it changes and clears it when the message is sent.
 */
const PREFIX = "edge-chat.draft.";

/** The draft of one conversation ("" when none). */
export function loadDraft(key: string): string {
  try { return localStorage.getItem(PREFIX + key) ?? ""; } catch { return ""; }
}

/** Keeps (or, for "", forgets) the draft of one conversation. */
export function saveDraft(key: string, text: string): void {
  try {
    if (text) localStorage.setItem(PREFIX + key, text);
    else localStorage.removeItem(PREFIX + key);
  } catch { /* storage full or refused: the draft lives in the page only */ }
}

/** Every draft kept, as [conversation key, text]. */
export function allDrafts(): [string, string][] {
  const out: [string, string][] = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k?.startsWith(PREFIX)) out.push([k.slice(PREFIX.length), localStorage.getItem(k) ?? ""]);
    }
  } catch { /* none readable */ }
  return out.filter(([, text]) => text !== "");
}

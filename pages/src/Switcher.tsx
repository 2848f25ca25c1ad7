import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { go, type Route } from "./route";

/** One place the quick switcher can go to. */
export interface Place { label: string; kind: "Room" | "Direct messages"; route: Route }

/**
 * The quick switcher (Ctrl-K or ⌘-K, issue 18): a modal dialog that finds a room
 * or a conversation by name as you type; ↑/↓ choose, Enter goes, Esc closes (the
 * native <dialog>'s own cancel) and gives focus back to where it was.
 */
export function Switcher({ places, open, onClose }: { places: Place[]; open: boolean; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (open && !d.open) { setQuery(""); setActive(0); d.showModal(); }
    if (!open && d.open) d.close();
  }, [open]);
  const q = query.trim().toLowerCase();
  const found = places.filter((p) => p.label.toLowerCase().includes(q))
    .sort((a, b) => Number(!a.label.toLowerCase().startsWith(q)) - Number(!b.label.toLowerCase().startsWith(q))).slice(0, 12);
  const choose = (p: Place | undefined) => { if (!p) return; onClose(); go(p.route); };
  function onKey(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === "ArrowDown") { e.preventDefault(); setActive((a) => Math.min(found.length - 1, a + 1)); }
    if (e.key === "ArrowUp") { e.preventDefault(); setActive((a) => Math.max(0, a - 1)); }
    if (e.key === "Enter") { e.preventDefault(); choose(found[active]); }
  }
  return (
    <dialog ref={dialog} className="switcher" aria-labelledby="switcher-h" onClose={onClose}>
      <h2 id="switcher-h">Go to a room or conversation</h2>
      <input role="combobox" aria-expanded="true" aria-controls="switcher-list" aria-label="Name of a room or person"
             aria-activedescendant={found[active] ? `switcher-${active}` : undefined} autoFocus
             value={query} onChange={(e) => { setQuery(e.target.value); setActive(0); }} onKeyDown={onKey} />
      <ul id="switcher-list" role="listbox" aria-label="Matches">
        {found.map((p, i) => (
          <li key={`${p.kind}-${p.label}-${i}`} id={`switcher-${i}`} role="option" aria-selected={i === active}
              onClick={() => choose(p)} onMouseMove={() => setActive(i)}>
            <span dir="auto">{p.label}</span> <small>{p.kind}</small>
          </li>
        ))}
      </ul>
      {found.length === 0 && <p className="empty">Nothing matches.</p>}
      <p className="hint">↑ ↓ to choose, Enter to go, Esc to close.</p>
    </dialog>
  );
}

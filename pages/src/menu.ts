/**
 * Menus that stay inside the view (issue 18, defect 4): a <details> menu opens
 * upwards when there is not room for it below (within its scrolling list and the
 * window), and towards the left when it would pass the right edge. A click
 * outside closes it; Esc is App's (it closes every open menu).
 */
import { useEffect, useState, type RefObject } from "react";

/** The placement class of a <details> menu ("up", "left", both, or ""), kept up
 * to date each time it opens. */
export function useMenuPlacement(details: RefObject<HTMLDetailsElement | null>): string {
  const [placement, setPlacement] = useState("");
  useEffect(() => {
    const d = details.current;
    if (!d) return;
    const onToggle = () => {
      if (!d.open) return;
      const menu = d.querySelector<HTMLElement>(".menu");
      const summary = d.querySelector<HTMLElement>("summary");
      if (!menu || !summary) return;
      const s = summary.getBoundingClientRect();
      const box = d.closest(".messages")?.getBoundingClientRect();
      const bottom = Math.min(window.innerHeight, box?.bottom ?? Infinity);
      const top = Math.max(0, box?.top ?? 0);
      const up = s.bottom + menu.offsetHeight + 8 > bottom && s.top - menu.offsetHeight - 8 >= top;
      const left = s.left + menu.offsetWidth > window.innerWidth - 8;
      setPlacement([up ? "up" : "", left ? "left" : ""].join(" ").trim());
    };
    const onOutside = (e: PointerEvent) => { if (d.open && !d.contains(e.target as Node)) d.open = false; };
    d.addEventListener("toggle", onToggle);
    document.addEventListener("pointerdown", onOutside);
    return () => { d.removeEventListener("toggle", onToggle); document.removeEventListener("pointerdown", onOutside); };
  }, [details]);
  return placement;
}

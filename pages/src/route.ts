/**
 * Where the reader is, in the URL's fragment (#/room/3, #/dm/7, #/friends,
 * #/admin): the API owns the paths of this origin (/rooms, /dms, ...), so the
 * site's own places never become paths that could reach it. A reload stays put.
 */
import { useEffect, useState } from "react";

export type Route =
  | { view: "home" }
  | { view: "room"; id: number }
  | { view: "dm"; id: number }
  | { view: "friends" }
  | { view: "admin" }
  | { view: "account" };

export function parseRoute(hash: string): Route {
  const m = /^#\/(room|dm)\/(\d{1,15})$/.exec(hash);
  if (m) return { view: m[1] as "room" | "dm", id: Number(m[2]) };
  if (hash === "#/friends") return { view: "friends" };
  if (hash === "#/admin") return { view: "admin" };
  if (hash === "#/account") return { view: "account" };
  return { view: "home" };
}

export function href(r: Route): string {
  return r.view === "room" || r.view === "dm" ? `#/${r.view}/${r.id}` : r.view === "home" ? "#/" : `#/${r.view}`;
}

export function go(r: Route) {
  location.hash = href(r);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

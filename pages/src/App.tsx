import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type MouseEvent } from "react";
import { Account } from "./Account";
import { Admin } from "./Admin";
import { api, ApiError, describeError } from "./api";
import { Auth } from "./Auth";
import { ChatView } from "./ChatView";
import { ChatContext, useChat, type Chat, type Relation } from "./context";
import { Ended, endedFromClose, loadEnded, saveEnded, type EndedInfo } from "./Ended";
import { Friends } from "./Friends";
import { LIMITS, type Conversation, type Friends as FriendLists, type Room, type ServerFrame, type Session, type User } from "./protocol";
import { go, href, useRoute, type Route } from "./route";
import { loadSession, saveSession } from "./session";
import { ResilientSocket, type SocketStatus } from "./socket";
import { Switcher, type Place } from "./Switcher";
import { GlobalSearch } from "./Search";

/** A count for a badge: a room's counts look at its last LIMITS.unreadCountMax
 * messages only, so that many reads "999+". */
const countLabel = (n: number) => (n >= LIMITS.unreadCountMax ? `${LIMITS.unreadCountMax - 1}+` : String(n));

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [flash, setFlash] = useState<string | null>(null);
  const [ended, setEnded] = useState<EndedInfo | null>(loadEnded);
  const signOut = useCallback((message?: string) => {
    saveSession(null);
    setSession(null);
    setFlash(message ?? null);
  }, []);
  /** A socket closed for good: a ban gets its own screen, kept across reloads. */
  const endedBy = useCallback((code: number, reason: string) => {
    if (code !== LIMITS.closeBanned) return signOut("Your session ended. Please log in again.");
    const info = endedFromClose(reason);
    saveEnded(info);
    saveSession(null);
    setSession(null);
    setEnded(info);
  }, [signOut]);
  const signedIn = useCallback((s: Session) => {
    saveSession(s);
    saveEnded(null);
    setEnded(null);
    setFlash(null);
    setSession(s);
  }, []);
  if (ended && !session) return <Ended info={ended} onDone={() => { saveEnded(null); setEnded(null); }} />;
  if (!session) return <Auth flash={flash} onSignedIn={signedIn} />;
  return <Signedin key={session.token} session={session} signOut={signOut} endedBy={endedBy}
                   onUser={(user) => signedIn({ ...session, user })} />;
}

const noFriends: FriendLists = { friends: [], incoming: [], outgoing: [], blocked: [] };
const REFRESH_ROOMS_MS = 15_000;

function Signedin({ session, signOut, endedBy, onUser }:
    { session: Session; signOut(m?: string): void; endedBy(code: number, reason: string): void; onUser(u: User): void }) {
  const { token, user: me } = session;
  const route = useRoute();
  const [rooms, setRooms] = useState<Room[]>([]);
  const [roomsCursor, setRoomsCursor] = useState<string | null>(null);
  const [dms, setDms] = useState<Conversation[]>([]);
  const [friends, setFriends] = useState<FriendLists>(noFriends);
  const [personal, setPersonal] = useState<SocketStatus>("connecting");
  const [channelStatus, setChannelStatus] = useState<SocketStatus | null>(null);
  const [toasts, setToasts] = useState<{ id: number; text: string }[]>([]);
  const toastId = useRef(0);
  const checking = useRef(false);

  const say = useCallback((text: string) => {
    const id = ++toastId.current;
    setToasts((t) => [...t.slice(-3), { id, text }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 6000);
  }, []);

  /** A call failed with 401, or with 403 ip_banned: this session is over. */
  const ended = useCallback((e: unknown) => {
    if (e instanceof ApiError && e.code === "ip_banned") {
      endedBy(LIMITS.closeBanned, "address banned");
      return true;
    }
    if (e instanceof ApiError && e.status === 401) {
      signOut("Your session has ended. Please log in again.");
      return true;
    }
    return false;
  }, [signOut, endedBy]);

  // My rooms (members and invitations, with my counts) and the directory (public
  // rooms, by name prefix), in one list: the sidebar shows them apart.
  const [search, setSearch] = useState("");
  const searchRef = useRef("");
  searchRef.current = search;
  const refreshRooms = useCallback(async () => {
    try {
      const q = searchRef.current ? `?q=${encodeURIComponent(searchRef.current)}` : "";
      const [mine, page] = await Promise.all([
        api<{ rooms: Room[] }>("GET", "/rooms?mine=1", token),
        api<{ rooms: Room[]; next_cursor: string | null }>("GET", `/rooms${q}`, token),
      ]);
      setRooms([...mine.rooms, ...page.rooms.filter((r) => !mine.rooms.some((m) => m.id === r.id))]);
      setRoomsCursor(page.next_cursor);
    } catch (e) { ended(e); }
  }, [token, ended]);
  useEffect(() => { void refreshRooms(); }, [search, refreshRooms]);
  const moreRooms = async () => {
    if (!roomsCursor) return;
    try {
      const q = search ? `&q=${encodeURIComponent(search)}` : "";
      const page = await api<{ rooms: Room[]; next_cursor: string | null }>(
        "GET", `/rooms?cursor=${encodeURIComponent(roomsCursor)}${q}`, token);
      setRooms((r) => [...r, ...page.rooms.filter((x) => !r.some((y) => y.id === x.id))]);
      setRoomsCursor(page.next_cursor);
    } catch (e) { ended(e); }
  };
  const refreshDms = useCallback(async () => {
    try { setDms((await api<{ conversations: Conversation[] }>("GET", "/dms", token)).conversations); } catch (e) { ended(e); }
  }, [token, ended]);
  const refreshFriends = useCallback(async () => {
    try { setFriends(await api<FriendLists>("GET", "/friends", token)); } catch (e) { ended(e); }
  }, [token, ended]);

  const checkSession = useCallback(() => {
    if (checking.current) return;
    checking.current = true;
    api<{ user: User }>("GET", "/account", token)
      .then(({ user }) => { if (user.role !== me.role || user.username !== me.username) onUser(user); })
      .catch(ended)
      .finally(() => { checking.current = false; });
  }, [token, me, onUser, ended]);

  // First load, and the room list now and then (rooms are not announced live).
  useEffect(() => {
    checkSession();
    void refreshRooms();
    void refreshDms();
    void refreshFriends();
    const timer = setInterval(() => { void refreshRooms(); }, REFRESH_ROOMS_MS);
    const onFocus = () => { void refreshRooms(); void refreshDms(); };
    window.addEventListener("focus", onFocus);
    return () => { clearInterval(timer); window.removeEventListener("focus", onFocus); };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per session
  }, [token]);

  // The personal socket: friendship news and direct messages from conversations
  // that are not open.
  useEffect(() => {
    const names: Record<string, (u: string) => string> = {
      friend_request: (u) => `${u} sent you a friend request.`,
      friend_accepted: (u) => `${u} accepted your friend request.`,
      friend_request_declined: (u) => `${u} declined your friend request.`,
      friend_request_cancelled: (u) => `${u} cancelled their friend request.`,
      friend_removed: (u) => `${u} removed you as a friend.`,
    };
    const s = new ResilientSocket("/ws", token, {
      // (listing my rooms also tells each one I am about: its room_activity reaches me)
      onOpen: () => { void refreshFriends(); void refreshDms(); void refreshRooms(); },
      onFrame: (f: ServerFrame) => {
        if (f.type === "new_direct_message") {
          void refreshDms();
          notify(`${f.user.username} wrote to you`, f.body);
        } else if (f.type === "room_activity") {
          // my counts in one of my rooms, live (a room not listed yet: the list again)
          setRooms((rs) => {
            if (!rs.some((r) => r.id === f.room_id && r.standing)) void refreshRooms();
            return rs.map((r) => (r.id === f.room_id && r.standing
              ? { ...r, last_seq: f.last_seq, unread: f.unread, mentions: f.mentions } : r));
          });
        } else if (f.type === "room_invite") {
          say(`${f.user.username} invited you to ${f.room.name}.`);
          void refreshRooms();
        } else if (f.type === "friends_presence" || f.type === "friend_presence") {
          // friends' online state (issue 15): all of it at connect, then each change
          setFriends((l) => ({ ...l, friends: l.friends.map((u) => ({ ...u, online: f.type === "friends_presence"
            ? f.online.includes(u.id) : u.id === f.user_id ? f.online : u.online })) }));
        } else if (f.type === "mention") {
          say(`${f.from.username} mentioned you.`);
          notify(`${f.from.username} mentioned you`, "Open the room to read it.");
        } else if ("user" in f && f.type in names) {
          say(names[f.type]!(f.user.username));
          void refreshFriends();
          void refreshDms();
        }
      },
      onStatus: setPersonal,
      onEnded: endedBy,
      onRefused: checkSession,
    });
    s.start();
    return () => s.stop();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- one socket per session
  }, [token]);

  const relate = useCallback(async (relation: Relation, username: string) => {
    try {
      await api("POST", `/users/${relation}`, token, { username });
      await refreshFriends();
      if (relation !== "add") void refreshDms();
      return null;
    } catch (e) {
      return ended(e) ? null : describeError(e);
    }
  }, [token, refreshFriends, refreshDms, ended]);

  const openDm = useCallback(async (username: string) => {
    try {
      const { conversation } = await api<{ conversation: { id: number } }>("POST", "/dms", token, { username });
      await refreshDms();
      go({ view: "dm", id: conversation.id });
      return null;
    } catch (e) {
      return ended(e) ? null : describeError(e);
    }
  }, [token, refreshDms, ended]);


  // Desktop notifications (mentions, direct messages) while the tab is hidden: the
  // browser asks once.
  useEffect(() => {
    if (!("Notification" in window) || Notification.permission !== "default" || localStorage.getItem("notifications-asked")) return;
    localStorage.setItem("notifications-asked", "1");
    void Notification.requestPermission();
  }, []);

  const logout = async () => {
    try { await api("POST", "/logout", token); } catch { /* the session ends here either way */ }
    location.hash = "";
    signOut();
  };

  const chat: Chat = useMemo(() => ({
    me, token, rooms, dms, friends, refreshRooms, refreshDms, refreshFriends, relate, openDm, checkSession, signOut,
    endedBy, setChannelStatus, say,
  }), [me, token, rooms, dms, friends, refreshRooms, refreshDms, refreshFriends, relate, openDm, checkSession, signOut,
    endedBy, say]);

  // Connection state (issue 18): offline as soon as the browser says so, or a
  // socket finds its connection dead; the banner clears when both are back.
  const statuses = [personal, channelStatus];
  const offline = statuses.includes("offline");
  const reconnecting = !offline && statuses.includes("reconnecting");
  const title = route.view === "room"
    ? rooms.find((r) => r.id === route.id)?.name ?? `Room ${route.id}`
    : route.view === "dm" ? dms.find((d) => d.id === route.id)?.with.username ?? `Conversation ${route.id}` : "";
  const pageName = route.view === "room" ? title : route.view === "dm" ? `Direct messages with ${title}`
    : route.view === "friends" ? "Friends" : route.view === "account" ? "Account" : route.view === "admin" ? "Moderation" : "";

  // The tab's title names what is open and carries what is unread in my rooms
  // and conversations: "(3) Lobby · Edge chat".
  useEffect(() => {
    const unread = rooms.reduce((n, r) => n + (r.standing === "member" ? r.unread ?? 0 : 0), 0)
      + dms.reduce((n, d) => n + d.unread, 0);
    document.title = `${unread > 0 ? `(${unread}) ` : ""}${pageName ? `${pageName} · ` : ""}Edge chat`;
  }, [rooms, dms, pageName]);

  // Keyboard (issue 18): Ctrl/⌘-K opens the quick switcher; Esc closes any open
  // name or message menu (dialogs close themselves).
  const [switching, setSwitching] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
        e.preventDefault();
        setSwitching(true);
      } else if (e.key === "Escape") {
        for (const d of document.querySelectorAll<HTMLDetailsElement>("details[open]")) {
          d.open = false;
          if (d.contains(document.activeElement)) d.querySelector("summary")?.focus();
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const places: Place[] = useMemo(() => [
    ...dms.map((d): Place => ({ label: d.with.username, kind: "Direct messages", route: { view: "dm", id: d.id } })),
    ...rooms.map((r): Place => ({ label: r.name, kind: "Room", route: { view: "room", id: r.id } })),
  ], [rooms, dms]);

  /** The skip link: to the composer of an open conversation, else to the page. */
  const skip = (e: MouseEvent) => {
    e.preventDefault();
    const target = document.querySelector<HTMLElement>(".composer textarea") ?? document.getElementById("main");
    target?.focus();
  };

  return (
    <ChatContext.Provider value={chat}>
      <div className="app" data-view={route.view === "home" ? "list" : "main"}>
        <a className="skip" href="#/" onClick={skip}>Skip to {route.view === "room" || route.view === "dm" ? "the message box" : "the page"}</a>
        <header className="topbar">
          <a className="brand" href="#/">Edge chat</a>
          <span className="spacer" />
          <button className="switch" onClick={() => setSwitching(true)} aria-keyshortcuts="Control+K Meta+K">
            Go to… <kbd>Ctrl K</kbd></button>
          <a className="whoami" href="#/account" data-testid="whoami">
            <span className="avatar" aria-hidden="true">{me.username.slice(0, 1).toUpperCase()}</span>
            <span className="sr-only">Logged in as </span><span className="whoami-name">{me.username}</span>{me.role === "ADMIN" && <small className="pill">ADMIN</small>}</a>
          <button onClick={logout}>Log out</button>
        </header>
        <div className="banner-slot" role="status">
          {offline && <p className="banner offline" data-testid="offline">
            <strong>You are offline.</strong> What you write is kept and sent when the connection returns.</p>}
          {reconnecting && <p className="banner" data-testid="reconnecting">Reconnecting…</p>}
        </div>
        <Sidebar route={route} rooms={rooms} more={roomsCursor ? moreRooms : null} search={search} onSearch={setSearch} />
        <main className="main" id="main" tabIndex={-1}>
          {route.view === "room" && <ChatView kind="room" id={route.id} title={title} />}
          {route.view === "dm" && <ChatView kind="dm" id={route.id} title={title} />}
          {route.view === "friends" && <Friends />}
          {route.view === "account" && <Account />}
          {route.view === "admin" && (me.role === "ADMIN" ? <Admin />
            : <section className="page"><h1>Moderation</h1><p>Only an ADMIN may see this page.</p></section>)}
          {route.view === "home" && <section className="page welcome"><h1>Edge chat</h1>
            <p className="empty">Pick a room or a conversation, or create a room. Ctrl K (⌘ K) finds one by name.</p>
            <GlobalSearch /></section>}
        </main>
        <Switcher places={places} open={switching} onClose={() => setSwitching(false)} />
        <div className="toasts" aria-live="polite">
          {toasts.map((t) => <p key={t.id} className="toast" role="status">{t.text}</p>)}
        </div>
      </div>
    </ChatContext.Provider>
  );
}

/** A desktop notification, when the tab is hidden and the person allowed them. */
function notify(title: string, body: string) {
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  new Notification(title, { body, tag: title });
}

function Sidebar({ route, rooms, more, search, onSearch }:
    { route: Route; rooms: Room[]; more: (() => void) | null; search: string; onSearch(q: string): void }) {
  const chat = useChat();
  const [name, setName] = useState("");
  const [isPrivate, setPrivate] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mine = rooms.filter((r) => r.standing);
  const directory = rooms.filter((r) => !r.standing);
  // An error line is about what was just tried here: it goes when the page changes.
  const where = href(route);
  useEffect(() => { setError(null); }, [where]);
  async function join(id: number) {
    try {
      await api("POST", `/rooms/${id}/join`, chat.token);
      await chat.refreshRooms();
      go({ view: "room", id });
    } catch (err) {
      setError(describeError(err));
    }
  }
  const current = (r: Route) => (href(r) === where ? "page" : undefined);

  async function create(e: FormEvent) {
    e.preventDefault();
    try {
      const { room } = await api<{ room: Room }>("POST", "/rooms", chat.token, isPrivate ? { name, private: true } : { name });
      setName("");
      setPrivate(false);
      setError(null);
      await chat.refreshRooms();
      go({ view: "room", id: room.id });
    } catch (err) {
      setError(describeError(err));
    }
  }

  const incoming = chat.friends.incoming;
  // Pinned first (issue 18): friend requests waiting for me and direct messages,
  // then my rooms, then the directory.
  return (
    <nav className="sidebar" aria-label="Rooms and conversations">
      {incoming.length > 0 && (
        <section aria-labelledby="requests-h" className="pinned">
          <h2 id="requests-h">Friend requests</h2>
          <ul className="nav-list" aria-label="Friend requests">
            {incoming.map((u) => (
              <li key={u.id}><a href="#/friends" data-testid="pinned-request"><span dir="auto">{u.username}</span>
                <small className="muted-note">sent a friend request</small></a></li>
            ))}
          </ul>
        </section>
      )}
      <section aria-labelledby="dms-h">
        <h2 id="dms-h">Direct messages</h2>
        <ul className="nav-list" aria-label="Direct messages">
          {chat.dms.map((d) => (
            <li key={d.id}>
              <a href={href({ view: "dm", id: d.id })} aria-current={current({ view: "dm", id: d.id })}>
                <span dir="auto">{d.with.username}</span>
                {d.unread > 0 && <span className="badge" aria-label={`${d.unread} unread`} data-testid="unread">{d.unread}</span>}
              </a>
            </li>
          ))}
        </ul>
        {chat.dms.length === 0 && <p className="empty">Open a conversation from Friends.</p>}
      </section>
      <section aria-labelledby="rooms-h">
        <h2 id="rooms-h">My rooms</h2>
        <form className="create" onSubmit={create}>
          <input aria-label="New room name" placeholder="New room" value={name} dir="auto" required
                 aria-invalid={error ? true : undefined} aria-describedby={error ? "create-error" : undefined}
                 onChange={(e) => { setName(e.target.value); setError(null); }} />
          <label className="check"><input type="checkbox" checked={isPrivate} onChange={(e) => setPrivate(e.target.checked)} /> Private</label>
          <button type="submit">Create</button>
        </form>
        {error && <p className="error" role="alert" id="create-error">{error}</p>}
        <ul className="nav-list" aria-label="My rooms">
          {mine.map((r) => (
            <li key={r.id} data-testid="my-room">
              {r.standing === "invited"
                ? <span className="invited"><span dir="auto">{r.name}</span> <small>invited</small>
                    <button className="link" onClick={() => void join(r.id)} aria-label={`Join ${r.name}`}>Join</button></span>
                : <a href={href({ view: "room", id: r.id })} aria-current={current({ view: "room", id: r.id })}>
                    <span dir="auto">{r.name}</span>{r.private && <small className="pill private">private</small>}
                    {(r.mentions ?? 0) > 0 && <span className="badge mention" aria-label={`${r.mentions} mentions`} data-testid="room-mentions">@{r.mentions}</span>}
                    {(r.unread ?? 0) > 0 && <span className="badge" aria-label={`${countLabel(r.unread!)} unread`} data-testid="room-unread">{countLabel(r.unread!)}</span>}
                  </a>}
            </li>
          ))}
        </ul>
        {mine.length === 0 && <p className="empty">No rooms yet: create one or join one below.</p>}
      </section>
      <section aria-labelledby="directory-h">
        <h2 id="directory-h">Find rooms</h2>
        <input className="search" aria-label="Search rooms" placeholder="Search by name" value={search} dir="auto"
               onChange={(e) => onSearch(e.target.value)} />
        <ul className="nav-list" aria-label="Rooms">
          {directory.map((r) => (
            <li key={r.id} data-testid="directory-room">
              <a href={href({ view: "room", id: r.id })} aria-current={current({ view: "room", id: r.id })}><span dir="auto">{r.name}</span></a>
              <button className="link join" onClick={() => void join(r.id)} aria-label={`Join ${r.name}`}>Join</button>
            </li>
          ))}
        </ul>
        {directory.length === 0 && <p className="empty">{search ? "No room starts with that." : "No other rooms yet."}</p>}
        {more && <button className="link" onClick={more}>More rooms</button>}
      </section>
      <section>
        <ul className="nav-list">
          <li><a href="#/friends" aria-current={current({ view: "friends" })}>Friends
            {incoming.length > 0 && <span className="badge" aria-label={`${incoming.length} requests`}>{incoming.length}</span>}</a></li>
          <li><a href="#/account" aria-current={current({ view: "account" })}>Account</a></li>
          {chat.me.role === "ADMIN" && <li><a href="#/admin" aria-current={current({ view: "admin" })}>Moderation</a></li>}
        </ul>
      </section>
    </nav>
  );
}

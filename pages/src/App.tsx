import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Account } from "./Account";
import { Admin } from "./Admin";
import { api, ApiError, describeError } from "./api";
import { Auth } from "./Auth";
import { ChatView } from "./ChatView";
import { ChatContext, useChat, type Chat, type Relation } from "./context";
import { Friends } from "./Friends";
import { ERRORS, LIMITS, type Conversation, type Friends as FriendLists, type Room, type ServerFrame, type Session, type User } from "./protocol";
import { go, href, useRoute, type Route } from "./route";
import { loadSession, saveSession } from "./session";
import { ResilientSocket, type SocketStatus } from "./socket";

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [flash, setFlash] = useState<string | null>(null);
  const signOut = useCallback((message?: string) => {
    saveSession(null);
    setSession(null);
    setFlash(message ?? null);
  }, []);
  const signedIn = useCallback((s: Session) => {
    saveSession(s);
    setFlash(null);
    setSession(s);
  }, []);
  if (!session) return <Auth flash={flash} onSignedIn={signedIn} />;
  return <Signedin key={session.token} session={session} signOut={signOut} onUser={(user) => signedIn({ ...session, user })} />;
}

const noFriends: FriendLists = { friends: [], incoming: [], outgoing: [], blocked: [] };
const REFRESH_ROOMS_MS = 15_000;

function Signedin({ session, signOut, onUser }: { session: Session; signOut(m?: string): void; onUser(u: User): void }) {
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
    if (e instanceof ApiError && (e.status === 401 || e.code === "ip_banned")) {
      signOut(e.status === 401 ? "Your session has ended. Please log in again." : e.message);
      return true;
    }
    return false;
  }, [signOut]);

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
      onOpen: () => { void refreshFriends(); void refreshDms(); },
      onFrame: (f: ServerFrame) => {
        if (f.type === "new_direct_message") {
          void refreshDms();
          notify(`${f.user.username} wrote to you`, f.body);
        } else if (f.type === "room_activity") {
          // my counts in one of my rooms, live
          setRooms((rs) => rs.map((r) => (r.id === f.room_id && r.standing
            ? { ...r, last_seq: f.last_seq, unread: f.unread, mentions: f.mentions } : r)));
        } else if (f.type === "room_invite") {
          say(`${f.user.username} invited you to ${f.room.name}.`);
          void refreshRooms();
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
      onEnded: (code, reason) => signOut(code === LIMITS.closeSessionEnded
        ? "Your session ended. Please sign in again." : reason || ERRORS.banned.message),
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

  // The tab's title carries what is unread in my rooms and conversations.
  useEffect(() => {
    const unread = rooms.reduce((n, r) => n + (r.standing === "member" ? r.unread ?? 0 : 0), 0)
      + dms.reduce((n, d) => n + d.unread, 0);
    document.title = unread > 0 ? `(${unread}) Edge chat` : "Edge chat";
  }, [rooms, dms]);

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
    setChannelStatus, say,
  }), [me, token, rooms, dms, friends, refreshRooms, refreshDms, refreshFriends, relate, openDm, checkSession, signOut, say]);

  const reconnecting = personal === "reconnecting" || channelStatus === "reconnecting";
  const title = route.view === "room"
    ? rooms.find((r) => r.id === route.id)?.name ?? `Room ${route.id}`
    : route.view === "dm" ? dms.find((d) => d.id === route.id)?.with.username ?? `Conversation ${route.id}` : "";

  return (
    <ChatContext.Provider value={chat}>
      <div className="app" data-view={route.view === "home" ? "list" : "main"}>
        <header className="topbar">
          <a className="brand" href="#/">Edge chat</a>
          {reconnecting && <span className="pill warn" role="status" data-testid="reconnecting">Reconnecting…</span>}
          <span className="spacer" />
          <a className="whoami" href="#/account" data-testid="whoami">{me.username}{me.role === "ADMIN" && <small className="pill">ADMIN</small>}</a>
          <button onClick={logout}>Log out</button>
        </header>
        <Sidebar route={route} rooms={rooms} more={roomsCursor ? moreRooms : null} search={search} onSearch={setSearch} />
        <main className="main">
          {route.view === "room" && <ChatView kind="room" id={route.id} title={title} />}
          {route.view === "dm" && <ChatView kind="dm" id={route.id} title={title} />}
          {route.view === "friends" && <Friends />}
          {route.view === "account" && <Account />}
          {route.view === "admin" && (me.role === "ADMIN" ? <Admin /> : <p className="page">Only an ADMIN may see this page.</p>)}
          {route.view === "home" && <p className="page empty welcome">Pick a room or a conversation, or create a room.</p>}
        </main>
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
  const mine = rooms.filter((r) => r.standing);
  const directory = rooms.filter((r) => !r.standing);
  async function join(id: number) {
    try {
      await api("POST", `/rooms/${id}/join`, chat.token);
      await chat.refreshRooms();
      go({ view: "room", id });
    } catch (err) {
      setError(describeError(err));
    }
  }
  const [error, setError] = useState<string | null>(null);
  const current = (r: Route) => (href(r) === href(route) ? "page" : undefined);

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

  const incoming = chat.friends.incoming.length;
  return (
    <nav className="sidebar" aria-label="Rooms and conversations">
      <section aria-labelledby="rooms-h">
        <h2 id="rooms-h">My rooms</h2>
        <form className="create" onSubmit={create}>
          <input aria-label="New room name" placeholder="New room" value={name} onChange={(e) => setName(e.target.value)} required />
          <label className="check"><input type="checkbox" checked={isPrivate} onChange={(e) => setPrivate(e.target.checked)} /> Private</label>
          <button type="submit">Create</button>
        </form>
        {error && <p className="error" role="alert">{error}</p>}
        <ul className="nav-list" aria-label="My rooms">
          {mine.map((r) => (
            <li key={r.id} data-testid="my-room">
              {r.standing === "invited"
                ? <span className="invited">{r.name} <small>invited</small>
                    <button className="link" onClick={() => void join(r.id)} aria-label={`Join ${r.name}`}>Join</button></span>
                : <a href={href({ view: "room", id: r.id })} aria-current={current({ view: "room", id: r.id })}>
                    {r.name}{r.private && <small className="pill private">private</small>}
                    {(r.mentions ?? 0) > 0 && <span className="badge mention" aria-label={`${r.mentions} mentions`} data-testid="room-mentions">@{r.mentions}</span>}
                    {(r.unread ?? 0) > 0 && <span className="badge" aria-label={`${r.unread} unread`} data-testid="room-unread">{r.unread}</span>}
                  </a>}
            </li>
          ))}
        </ul>
        {mine.length === 0 && <p className="empty">No rooms yet: create one or join one below.</p>}
      </section>
      <section aria-labelledby="directory-h">
        <h2 id="directory-h">Find rooms</h2>
        <input className="search" aria-label="Search rooms" placeholder="Search by name" value={search}
               onChange={(e) => onSearch(e.target.value)} />
        <ul className="nav-list" aria-label="Rooms">
          {directory.map((r) => (
            <li key={r.id} data-testid="directory-room">
              <a href={href({ view: "room", id: r.id })} aria-current={current({ view: "room", id: r.id })}>{r.name}</a>
              <button className="link join" onClick={() => void join(r.id)} aria-label={`Join ${r.name}`}>Join</button>
            </li>
          ))}
        </ul>
        {directory.length === 0 && <p className="empty">{search ? "No room starts with that." : "No other rooms yet."}</p>}
        {more && <button className="link" onClick={more}>More rooms</button>}
      </section>
      <section aria-labelledby="dms-h">
        <h2 id="dms-h">Direct messages</h2>
        <ul className="nav-list" aria-label="Direct messages">
          {chat.dms.map((d) => (
            <li key={d.id}>
              <a href={href({ view: "dm", id: d.id })} aria-current={current({ view: "dm", id: d.id })}>
                {d.with.username}
                {d.unread > 0 && <span className="badge" aria-label={`${d.unread} unread`} data-testid="unread">{d.unread}</span>}
              </a>
            </li>
          ))}
        </ul>
        {chat.dms.length === 0 && <p className="empty">Open a conversation from Friends.</p>}
      </section>
      <section>
        <ul className="nav-list">
          <li><a href="#/friends" aria-current={current({ view: "friends" })}>Friends
            {incoming > 0 && <span className="badge" aria-label={`${incoming} requests`}>{incoming}</span>}</a></li>
          <li><a href="#/account" aria-current={current({ view: "account" })}>Account</a></li>
          {chat.me.role === "ADMIN" && <li><a href="#/admin" aria-current={current({ view: "admin" })}>Moderation</a></li>}
        </ul>
      </section>
    </nav>
  );
}

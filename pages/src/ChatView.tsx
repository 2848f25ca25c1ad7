import { Fragment, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore, type FormEvent, type KeyboardEvent } from "react";
import { api, describeError } from "./api";
import { Channel, type PendingMessage } from "./channel";
import { useChat } from "./context";
import { LIMITS, type Message } from "./protocol";
import { UserName } from "./UserName";

const time = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** A room or a direct-message conversation: history, live messages, the composer. */
export function ChatView({ kind, id, title }: { kind: "room" | "dm"; id: number; title: string }) {
  const chat = useChat();
  const [channel, setChannel] = useState<Channel | null>(null);

  useEffect(() => {
    const c = new Channel(kind, id, chat.token, chat.me, {
      onEnded: (_code, reason) => chat.signOut(reason || undefined),
      onRefused: chat.checkSession,
      onStatus: chat.setChannelStatus,
      onJoined: kind === "dm" ? () => { void chat.refreshDms(); } : undefined,
    });
    setChannel(c);
    c.start();
    return () => { c.stop(); chat.setChannelStatus(null); };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- one channel per conversation
  }, [kind, id, chat.token]);

  if (!channel) return null;
  return <ChannelView key={`${kind}-${id}`} channel={channel} title={title} kind={kind} />;
}

function ChannelView({ channel, title, kind }: { channel: Channel; title: string; kind: "room" | "dm" }) {
  const chat = useChat();
  const s = useSyncExternalStore(channel.subscribe, channel.getState);
  const list = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const heightBefore = useRef<number | null>(null);

  // Keep the view at the bottom while the reader is there; keep it still when an
  // older page is added above.
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    if (heightBefore.current !== null) {
      el.scrollTop += el.scrollHeight - heightBefore.current;
      heightBefore.current = null;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [s.messages, s.pending]);

  function onScroll() {
    const el = list.current!;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 60 && s.hasMore && !s.loadingOlder) {
      heightBefore.current = el.scrollHeight;
      void channel.loadOlder();
    }
  }

  // Mine, or anyone's when the server says so (the connection frame's may_delete_any).
  const canDelete = (m: Message) => m.user.id === chat.me.id || s.mayDeleteAny;

  // Rooms (issue 15): what I have seen moves my read marker while the tab is shown;
  // the "new messages" divider stays where my marker was when I opened the room.
  const room = kind === "room" ? chat.rooms.find((r) => r.id === channel.id) : undefined;
  const [divider] = useState(() => (room?.unread ? (room.last_seq ?? 0) - room.unread : null));
  useEffect(() => {
    const mark = () => { if (document.visibilityState === "visible") channel.markRead(); };
    mark();
    document.addEventListener("visibilitychange", mark);
    return () => document.removeEventListener("visibilitychange", mark);
  }, [channel, s.messages]);
  const mentionsMe = (body: string) =>
    new RegExp(`(^|[^A-Za-z0-9_.+-])@${chat.me.username.replace(/[.]/g, "\\.")}(?![A-Za-z0-9_-])`, "i").test(body);
  const typingNow = Object.keys(s.typing).map(Number).filter((u) => u !== chat.me.id);
  const nameOf = (id: number) => s.people[id] ?? s.messages.find((m) => m.user.id === id)?.user.username ?? "Someone";
  const [invitee, setInvitee] = useState("");
  const [inviteNote, setInviteNote] = useState<string | null>(null);
  async function invite(e: FormEvent) {
    e.preventDefault();
    try {
      await api("POST", `/rooms/${channel.id}/invite`, chat.token, { username: invitee });
      setInviteNote(`${invitee} is invited.`);
      setInvitee("");
    } catch (err) {
      setInviteNote(describeError(err));
    }
  }

  return (
    <section className="chat" aria-label={title}>
      <header className="chat-head">
        <a className="back" href="#/" aria-label="Back to the list">←</a>
        <h2>{kind === "dm" ? <>Direct messages with {title}</> : title}</h2>
        {kind === "room" && room?.private && <span className="pill" data-testid="private">Private</span>}
        {kind === "room" && <span className="online" data-testid="online" aria-label={`${s.online.length} online`}>
          <span className="dot" aria-hidden="true" />{s.online.length} online</span>}
      </header>
      {kind === "room" && room?.private && room.creator.id === chat.me.id && (
        <form className="invite" onSubmit={invite}>
          <input aria-label="Invite by username" placeholder="Invite someone" value={invitee}
                 onChange={(e) => setInvitee(e.target.value)} required />
          <button type="submit">Invite</button>
          {inviteNote && <span role="status">{inviteNote}</span>}
        </form>
      )}
      {s.notice && (
        <p className="notice" role="alert">
          {s.notice} <button className="link" onClick={() => channel.dismissNotice()}>Dismiss</button>
        </p>
      )}
      <ol className="messages" ref={list} onScroll={onScroll} aria-label="Messages" tabIndex={0} data-testid="messages">
        {s.hasMore && (
          <li className="older">
            <button className="link" onClick={() => { heightBefore.current = list.current?.scrollHeight ?? null; void channel.loadOlder(); }}
                    disabled={s.loadingOlder}>
              {s.loadingOlder ? "Loading…" : "Load older messages"}
            </button>
          </li>
        )}
        {!s.joined && s.messages.length === 0 && <li className="empty">Loading…</li>}
        {s.joined && s.messages.length === 0 && s.pending.length === 0 && !s.hasMore &&
          <li className="empty">No messages yet. Say hello.</li>}
        {s.messages.map((m) => (<Fragment key={m.seq}>
          {divider !== null && m.seq === divider + 1 && m !== s.messages[0] &&
            <li className="divider" data-testid="new-messages" role="separator">New messages</li>}
          <li className={`message${m.user.id === chat.me.id ? " mine" : ""}${m.user.id !== chat.me.id && mentionsMe(m.body) ? " mention" : ""}`}
              data-testid="message" data-seq={m.seq}>
            <div className="meta">
              {kind === "room" && s.online.includes(m.user.id) &&
                <span className="dot" title="online" aria-label="online" data-testid="presence-dot" />}
              <UserName user={m.user} display={s.names[m.user.id] ?? null} />
              <time dateTime={new Date(m.created_at).toISOString()}>{time(m.created_at)}</time>
              {canDelete(m) && (
                <button className="link delete" onClick={() => channel.delete(m.seq)} aria-label={`Delete message ${m.seq}`}>
                  Delete
                </button>
              )}
            </div>
            {m.body === "" ? <p className="body tombstone">{m.user.username}</p> : <p className="body">{m.body}</p>}
          </li>
        </Fragment>))}
        {s.pending.map((p) => <PendingItem key={p.client_id} p={p} onDiscard={() => channel.discard(p.client_id)} />)}
      </ol>
      <p className="typing" aria-live="polite" data-testid="typing">
        {typingNow.length > 0 && `${typingNow.map(nameOf).join(", ")} ${typingNow.length > 1 ? "are" : "is"} typing…`}
      </p>
      <Composer onSend={(body) => { stick.current = true; channel.send(body); }} onType={() => channel.typing()} />
    </section>
  );
}

function PendingItem({ p, onDiscard }: { p: PendingMessage; onDiscard(): void }) {
  const chat = useChat();
  return (
    <li className={`message mine pending${p.error ? " failed" : ""}`} data-testid="message" data-pending="true">
      <div className="meta">
        <span className="name me">{chat.me.username}</span>
        {p.error
          ? <><span className="error" role="alert">Not sent: {p.error}</span>
              <button className="link" onClick={onDiscard}>Discard</button></>
          : <span className="sending">Sending…</span>}
      </div>
      <p className="body">{p.body}</p>
    </li>
  );
}

function Composer({ onSend, onType }: { onSend(body: string): void; onType(): void }) {
  const [body, setBody] = useState("");
  const length = [...body].length;
  function submit(e?: FormEvent) {
    e?.preventDefault();
    if (body === "") return;
    onSend(body);
    setBody("");
  }
  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  }
  return (
    <form className="composer" onSubmit={submit}>
      <textarea aria-label="Message" placeholder="Write a message (Enter sends, Shift+Enter for a new line)" rows={2}
                value={body} onChange={(e) => { setBody(e.target.value); if (e.target.value) onType(); }} onKeyDown={onKey} />
      <div className="composer-side">
        <button type="submit" className="primary">Send</button>
        {length > LIMITS.messageMaxChars * 0.9 && (
          <span className={`count${length > LIMITS.messageMaxChars ? " over" : ""}`}>{length}/{LIMITS.messageMaxChars}</span>
        )}
      </div>
    </form>
  );
}

import { Fragment, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore, type FormEvent, type KeyboardEvent } from "react";
import { api, ApiError, describeError } from "./api";
import { AttachButton, MessageFiles, PaperclipIcon, UploadList, useFileDrop, useUploads, type Uploads } from "./Attachments";
import { Channel, type PendingMessage } from "./channel";
import { useChat } from "./context";
import { loadDraft, saveDraft } from "./drafts";
import { MessageText } from "./Markdown";
import { useMenuPlacement } from "./menu";
import { LIMITS, type Attachment, type Message } from "./protocol";
import { RoomSearch } from "./Search";
import { UserName } from "./UserName";

const time = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const fullDate = (ms: number) => new Date(ms).toLocaleString([], { dateStyle: "full", timeStyle: "medium" });

/** The day a date separator names: "Today", "Yesterday", or the date in full. */
function dayLabel(ms: number): string {
  const d = new Date(ms);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (d.toDateString() === today.toDateString()) return "Today";
  if (d.toDateString() === yesterday.toDateString()) return "Yesterday";
  return d.toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });
}

/** The reactions offered in a message's menu. */
const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"];

/** Why a conversation cannot be shown: it does not exist (or is not mine), or I
 * was removed from it (close code 4004). */
type Closed = { kind: "missing" | "removed"; text: string };

/** A room or a direct-message conversation: history, live messages, the composer. */
export function ChatView({ kind, id, title }: { kind: "room" | "dm"; id: number; title: string }) {
  const chat = useChat();
  const [channel, setChannel] = useState<Channel | null>(null);
  const [closed, setClosed] = useState<Closed | null>(null);

  useEffect(() => {
    setClosed(null);
    const base = kind === "room" ? `/rooms/${id}` : `/dms/${id}`;
    let probing = false;
    const c: Channel = new Channel(kind, id, chat.token, chat.me, {
      onEnded: (code, reason) => {
        if (code === LIMITS.closeRemoved) {
          setClosed({ kind: "removed", text: reason === "left the room" ? "You left this room." : "You were removed from this room." });
        } else {
          chat.endedBy(code, reason);
        }
      },
      // The socket was refused before its first frame: the session may be over,
      // or there may be no such room (the upgrade's 404 is not readable from a
      // WebSocket, so the same question is asked over HTTP).
      onRefused: () => {
        chat.checkSession();
        if (probing) return;
        probing = true;
        api("GET", `${base}/messages?limit=1`, chat.token).catch((e: unknown) => {
          if (e instanceof ApiError && (e.status === 404 || e.status === 403)) {
            c.stop();
            chat.setChannelStatus(null);
            setClosed({ kind: "missing", text: e.message });
          }
        }).finally(() => { probing = false; });
      },
      onStatus: chat.setChannelStatus,
      onJoined: kind === "dm" ? () => { void chat.refreshDms(); } : undefined,
    });
    setChannel(c);
    c.start();
    return () => { c.stop(); chat.setChannelStatus(null); };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- one channel per conversation
  }, [kind, id, chat.token]);

  if (closed) return <ClosedView kind={kind} closed={closed} />;
  if (!channel) return null;
  return <ChannelView key={`${kind}-${id}`} channel={channel} title={title} kind={kind} />;
}

/** The screen of a conversation that cannot be shown, with the way back. */
function ClosedView({ kind, closed }: { kind: "room" | "dm"; closed: Closed }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => { heading.current?.focus(); }, []);
  const missing = closed.kind === "missing";
  return (
    <section className="page closed" aria-labelledby="closed-h" data-testid={missing ? "room-missing" : "room-removed"}>
      <h1 id="closed-h" ref={heading} tabIndex={-1}>
        {missing ? (kind === "room" ? "This room does not exist" : "This conversation is not available")
          : closed.text.replace(/\.$/, "")}
      </h1>
      <p>{missing ? `The server says: ${closed.text} It may have been a wrong link, or you may not be a member.`
        : "You can no longer read or write here. What you had typed is kept."}</p>
      <p><a href="#/">Back to your rooms and conversations</a></p>
    </section>
  );
}

type Row =
  | { kind: "message"; m: Message }
  | { kind: "hidden"; messages: Message[] };

function ChannelView({ channel, title, kind }: { channel: Channel; title: string; kind: "room" | "dm" }) {
  const chat = useChat();
  const s = useSyncExternalStore(channel.subscribe, channel.getState);
  const list = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  const heightBefore = useRef<number | null>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [confirming, setConfirming] = useState<Message | null>(null);
  // Files for the next message (issue 17): picked, dropped anywhere on the
  // conversation, or pasted into the message box.
  const uploads = useUploads(channel);
  const drop = useFileDrop((files) => { uploads.add(files); composer.current?.focus(); });

  // Opening a conversation puts the focus in its message box (issue 18).
  useEffect(() => { composer.current?.focus({ preventScroll: true }); }, []);

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
  // ...and when the view changes size (a phone turned, the keyboard shown).
  useEffect(() => {
    const el = list.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => { if (stick.current) el.scrollTop = el.scrollHeight; });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

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
  const canEdit = (m: Message) => m.user.id === chat.me.id;

  // Messages that vanished from the list (issue 18, defect 14): those whose author
  // I now block stay as a "hidden message" placeholder that can be revealed.
  const shown = useRef<Message[]>([]);
  const vanished = useRef(new Map<number, Message>());
  const present = new Set(s.messages.map((m) => m.seq));
  for (const m of shown.current) if (!present.has(m.seq)) vanished.current.set(m.seq, m);
  shown.current = s.messages;
  const blocked = new Set(chat.friends.blocked.map((u) => u.id));
  // (and those history brought already marked: the server's "blocked")
  for (const m of s.hidden) if (!present.has(m.seq)) vanished.current.set(m.seq, m);
  const hidden = [...vanished.current.values()].filter((m) => (m.blocked || blocked.has(m.user.id)) && !present.has(m.seq));
  const [revealed, setRevealed] = useState<Set<number>>(new Set());
  const rows: Row[] = [];
  for (const m of [...s.messages, ...hidden].sort((a, b) => a.seq - b.seq)) {
    const last = rows[rows.length - 1];
    if (!present.has(m.seq) && !revealed.has(m.seq)) {
      if (last?.kind === "hidden") last.messages.push(m);
      else rows.push({ kind: "hidden", messages: [m] });
    } else {
      rows.push({ kind: "message", m });
    }
  }

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
  const [inviteNote, setInviteNote] = useState<{ ok: boolean; text: string } | null>(null);
  async function invite(e: FormEvent) {
    e.preventDefault();
    try {
      await api("POST", `/rooms/${channel.id}/invite`, chat.token, { username: invitee });
      setInviteNote({ ok: true, text: `${invitee} is invited.` });
      setInvitee("");
    } catch (err) {
      setInviteNote({ ok: false, text: describeError(err) });
    }
  }

  const myLast = [...s.messages].reverse().find((m) => m.user.id === chat.me.id && m.body !== "");
  const startEdit = (m: Message) => { setReplyTo(null); setEditing(m); composer.current?.focus(); };
  const startReply = (m: Message) => { setEditing(null); setReplyTo(m); composer.current?.focus(); };
  const toggleReaction = (m: Message, emoji: string) => {
    const mine = m.reactions?.some((r) => r.emoji === emoji && r.me);
    if (mine) channel.unreact(m.seq, emoji);
    else channel.react(m.seq, emoji);
  };
  const draftKey = `${kind}-${channel.id}`;

  let previousDay = "";
  return (
    <section className={`chat${drop.over ? " dropping" : ""}`} aria-labelledby="chat-h" {...drop.handlers}>
      {drop.over && <p className="drop-hint" aria-hidden="true">Drop the files to attach them</p>}
      <header className="chat-head">
        <a className="back" href="#/" aria-label="Back to the list">←</a>
        <h1 id="chat-h" dir="auto">{kind === "dm" ? <>Direct messages with {title}</> : title}</h1>
        {kind === "room" && room?.private && <span className="pill" data-testid="private">Private</span>}
        {kind === "room" && <span className="online" data-testid="online">
          <span className="dot" aria-hidden="true" />{s.online.length} online</span>}
        <RoomSearch kind={kind} id={channel.id} />
      </header>
      {kind === "room" && room?.private && room.creator.id === chat.me.id && (
        <form className="invite" onSubmit={invite}>
          <input aria-label="Invite by username" placeholder="Invite someone" value={invitee}
                 onChange={(e) => { setInvitee(e.target.value); setInviteNote(null); }} required />
          <button type="submit">Invite</button>
          {inviteNote && <span role={inviteNote.ok ? "status" : "alert"} className={inviteNote.ok ? "ok" : "error"}>{inviteNote.text}</span>}
        </form>
      )}
      {s.notice && (
        <p className="notice" role="alert">
          {s.notice} <button className="link" onClick={() => channel.dismissNotice()}>Dismiss</button>
        </p>
      )}
      <ol className="messages" ref={list} onScroll={onScroll} aria-label="Messages" tabIndex={0} data-testid="messages"
          aria-live="polite" aria-relevant="additions">
        {s.hasMore && (
          <li className="older">
            <button className="link" onClick={() => { heightBefore.current = list.current?.scrollHeight ?? null; void channel.loadOlder(); }}
                    disabled={s.loadingOlder}>
              {s.loadingOlder ? "Loading…" : "Load older messages"}
            </button>
          </li>
        )}
        {!s.joined && s.messages.length === 0 && <li className="empty">Loading…</li>}
        {s.joined && s.messages.length === 0 && s.pending.length === 0 && !s.hasMore && hidden.length === 0 &&
          <li className="empty">No messages yet. Say hello.</li>}
        {rows.map((row) => {
          if (row.kind === "hidden") {
            const n = row.messages.length;
            return (
              <li key={`hidden-${row.messages[0]!.seq}`} className="hidden-note" data-testid="hidden-messages">
                {n} hidden message{n > 1 ? "s" : ""} from someone you block.{" "}
                <button className="link" onClick={() => setRevealed((r) => new Set([...r, ...row.messages.map((m) => m.seq)]))}>
                  Show {n > 1 ? "them" : "it"}</button>
              </li>
            );
          }
          const m = row.m;
          const day = new Date(m.created_at).toDateString();
          const newDay = day !== previousDay;
          previousDay = day;
          const isHidden = !present.has(m.seq);
          return (<Fragment key={m.seq}>
            {newDay && <li className="day" data-testid="day"><time dateTime={new Date(m.created_at).toISOString().slice(0, 10)}
                                                                   title={new Date(m.created_at).toLocaleDateString([], { dateStyle: "full" })}>{dayLabel(m.created_at)}</time></li>}
            {divider !== null && m.seq === divider + 1 && m !== s.messages[0] &&
              <li className="divider" data-testid="new-messages">New messages</li>}
            <MessageItem m={m} kind={kind} channel={channel} me={chat.me.id} online={s.online.includes(m.user.id)}
                         display={s.names[m.user.id] ?? null} mention={m.user.id !== chat.me.id && mentionsMe(m.body)}
                         hiddenNote={isHidden ? () => setRevealed((r) => { const n = new Set(r); n.delete(m.seq); return n; }) : null}
                         onReply={isHidden ? null : () => startReply(m)}
                         onEdit={!isHidden && canEdit(m) ? () => startEdit(m) : null}
                         onDelete={!isHidden && canDelete(m) ? () => setConfirming(m) : null}
                         onReact={!isHidden ? (emoji) => toggleReaction(m, emoji) : null} />
          </Fragment>);
        })}
        {s.pending.map((p) => <PendingItem key={p.client_id} p={p} waiting={!s.joined} onDiscard={() => channel.discard(p.client_id)} />)}
      </ol>
      <p className="typing" aria-live="polite" data-testid="typing">
        {typingNow.length > 0 && `${typingNow.map(nameOf).join(", ")} ${typingNow.length > 1 ? "are" : "is"} typing…`}
      </p>
      <Composer box={composer} draftKey={draftKey} replyTo={replyTo} editing={editing} uploads={uploads}
                onCancel={() => { setReplyTo(null); setEditing(null); }}
                onSend={(body, files) => {
                  stick.current = true;
                  if (editing) { channel.edit(editing.seq, body); setEditing(null); return; }
                  channel.send(body, replyTo?.seq, files);
                  uploads.clear();
                  setReplyTo(null);
                }}
                onEditLast={myLast && canEdit(myLast) ? () => startEdit(myLast) : null}
                onType={() => channel.typing()} />
      <ConfirmDelete message={confirming} onClose={() => setConfirming(null)}
                     onConfirm={(m) => { channel.delete(m.seq); setConfirming(null); }} />
    </section>
  );
}

interface MessageItemProps {
  m: Message; kind: "room" | "dm"; channel: Channel; me: number; online: boolean; display: string | null; mention: boolean;
  /** Set for a revealed message of someone I block: hides it again. */
  hiddenNote: (() => void) | null;
  onReply: (() => void) | null; onEdit: (() => void) | null; onDelete: (() => void) | null;
  onReact: ((emoji: string) => void) | null;
}

/** One message: author, time (the full date on hover), the Markdown body, what it
 * replies to, "(edited)", reactions, and its menu. */
function MessageItem({ m, kind, channel, me, online, display, mention, hiddenNote, onReply, onEdit, onDelete, onReact }: MessageItemProps) {
  const x = m;
  const author = m.user.username;
  return (
    <li className={`message${m.user.id === me ? " mine" : ""}${mention ? " mention" : ""}${hiddenNote ? " revealed" : ""}`}
        data-testid="message" data-seq={m.seq}>
      <div className="meta">
        {kind === "room" && online && <span className="dot" title="online" role="img" aria-label="online" data-testid="presence-dot" />}
        <UserName user={m.user} display={display} />
        <time dateTime={new Date(m.created_at).toISOString()} title={fullDate(m.created_at)}>{time(m.created_at)}</time>
        {x.edited_at && <span className="edited" title={`Edited ${fullDate(x.edited_at)}`} data-testid="edited">(edited)</span>}
        {(m.body !== "" || !!m.attachments?.length) && (onReply || onEdit || onDelete || onReact) &&
          <MessageMenu label={`Actions for ${author}'s message at ${time(m.created_at)}`}
                       onReply={onReply} onEdit={m.body !== "" ? onEdit : null} onDelete={onDelete} onReact={onReact} />}
      </div>
      {x.reply_to && (
        <p className="reply-quote" dir="auto" data-testid="reply-quote">
          <span className="reply-arrow" aria-hidden="true">↩ </span>
          <span className="sr-only">In reply to </span>
          {x.reply_to.deleted ? <em>original deleted</em>
            : <><strong>{x.reply_to.user?.username ?? "deleted account"}</strong>: {x.reply_to.excerpt}</>}
        </p>
      )}
      {hiddenNote && <p className="hint">From someone you block. <button className="link" onClick={hiddenNote}>Hide it</button></p>}
      {m.body === "" ? (!m.attachments?.length && <p className="body tombstone">{m.user.username}</p>)
        : <div className="body" dir="auto"><MessageText text={m.body} /></div>}
      {!!m.attachments?.length && <MessageFiles files={m.attachments} channel={channel} />}
      {x.reactions && x.reactions.length > 0 && (
        <ul className="reactions" aria-label="Reactions">
          {x.reactions.map((r) => (
            <li key={r.emoji}>
              <button aria-pressed={r.me} disabled={!onReact} onClick={() => onReact?.(r.emoji)}
                      aria-label={`${r.emoji} ${r.count}${r.me ? ", yours: remove it" : ""}`}>{r.emoji} {r.count}</button>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

/** A message's menu (issue 16): reply, react, edit, delete. A disclosure button
 * of 32×32 px (WCAG 2.5.8 asks for 24), shown on every message, so it works with
 * a keyboard and on a phone; Esc closes it; it opens upwards when there is no
 * room below. */
function MessageMenu({ label, onReply, onEdit, onDelete, onReact }:
    { label: string; onReply: (() => void) | null; onEdit: (() => void) | null; onDelete: (() => void) | null;
      onReact: ((emoji: string) => void) | null }) {
  const details = useRef<HTMLDetailsElement>(null);
  const placement = useMenuPlacement(details);
  const run = (f: () => void) => () => { if (details.current) details.current.open = false; f(); };
  return (
    <details className={`msg-menu name-menu ${placement}`} ref={details}>
      <summary className="msg-menu-button" aria-label={label} title="Message actions">⋯</summary>
      <div className="menu" role="group" aria-label="Message actions">
        {onReply && <button onClick={run(onReply)}>Reply</button>}
        {onReact && (
          <div className="quick-reactions" role="group" aria-label="React">
            {QUICK_REACTIONS.map((e) => <button key={e} onClick={run(() => onReact(e))} aria-label={`React with ${e}`}>{e}</button>)}
          </div>
        )}
        {onEdit && <button onClick={run(onEdit)}>Edit</button>}
        {onDelete && <button className="danger" onClick={run(onDelete)}>Delete…</button>}
      </div>
    </details>
  );
}

/** Asks before a message is deleted: a modal dialog (Esc or Cancel keeps it). */
function ConfirmDelete({ message, onConfirm, onClose }: { message: Message | null; onConfirm(m: Message): void; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [last, setLast] = useState<Message | null>(null);
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (message && !d.open) { setLast(message); d.showModal(); }
    if (!message && d.open) d.close();
  }, [message]);
  const m = message ?? last;
  const text = m ? (m.body || (m.attachments ?? []).map((a) => a.name).join(", ")) : "";
  const excerpt = [...text].slice(0, 140).join("") + ([...text].length > 140 ? "…" : "");
  return (
    <dialog ref={dialog} className="confirm" aria-labelledby="confirm-h" aria-describedby="confirm-d" onClose={onClose}>
      <h2 id="confirm-h">Delete this message?</h2>
      <p id="confirm-d">“<span dir="auto">{excerpt}</span>” will be gone for everyone. This cannot be undone.</p>
      <div className="row">
        <button className="danger primary-danger" onClick={() => { if (m) onConfirm(m); }}>Delete</button>
        <button autoFocus onClick={onClose}>Cancel</button>
      </div>
    </dialog>
  );
}

function PendingItem({ p, waiting, onDiscard }: { p: PendingMessage; waiting: boolean; onDiscard(): void }) {
  const chat = useChat();
  return (
    <li className={`message mine pending${p.error ? " failed" : ""}`} data-testid="message" data-pending="true">
      <div className="meta">
        <span className="name me">{chat.me.username}</span>
        {p.error
          ? <><span className="error" role="alert">Not sent: {p.error}</span>
              <button className="link" onClick={onDiscard}>Discard</button></>
          : waiting ? <span className="sending" data-testid="not-sent">Not sent yet — will retry</span>
            : <span className="sending">Sending…</span>}
      </div>
      {p.body !== "" && <div className="body" dir="auto"><p dir="auto">{p.body}</p></div>}
      {!!p.attachments?.length && (
        <ul className="files pending-files" aria-label="Files">
          {p.attachments.map((a) => <li key={a.id}><PaperclipIcon /> <bdi>{a.name}</bdi></li>)}
        </ul>
      )}
    </li>
  );
}

interface ComposerProps {
  box: React.RefObject<HTMLTextAreaElement | null>;
  draftKey: string;
  replyTo: Message | null;
  editing: Message | null;
  /** The files for the next message (not for an edit). */
  uploads: Uploads;
  onCancel(): void;
  onSend(body: string, files: Attachment[]): void;
  /** ↑ in an empty box: edit my last message (null when there is none to edit). */
  onEditLast: (() => void) | null;
  onType(): void;
}

/** The message box. The draft is kept per conversation (a reload or a ban does not
 * lose it); a message over LIMITS.messageMaxChars characters is not sent: it stays,
 * and the box says by how much it is over. */
function Composer({ box, draftKey, replyTo, editing, uploads, onCancel, onSend, onEditLast, onType }: ComposerProps) {
  const [body, setBody] = useState(() => loadDraft(draftKey));
  const [problem, setProblem] = useState<string | null>(null);
  const length = [...body].length;
  const over = length - LIMITS.messageMaxChars;
  const saved = useRef<string | null>(null);

  // Editing puts the message's text in the box (and puts the draft back after),
  // before the edit mode is painted: never an empty box under "Editing".
  useLayoutEffect(() => {
    if (editing) {
      saved.current = body;
      setBody(editing.body);
    } else if (saved.current !== null) {
      setBody(saved.current);
      saved.current = null;
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- on entering and leaving edit mode
  }, [editing]);
  useEffect(() => { if (!editing) saveDraft(draftKey, body); }, [draftKey, body, editing]);
  useEffect(() => { if (over <= 0) setProblem(null); }, [over]);
  // "Still uploading" stops applying as the files change.
  useEffect(() => { setProblem((p) => (p?.startsWith("The files are still uploading") ? null : p)); }, [uploads.list]);

  function submit(e?: FormEvent) {
    e?.preventDefault();
    const files = editing ? [] : uploads.ready();
    if (files === null) {
      setProblem("The files are still uploading: send when they are ready, or remove them.");
      return;
    }
    if (body.trim() === "" && files.length === 0) {
      if (body !== "") setProblem("A message needs at least one visible character.");
      return;
    }
    if (over > 0) {
      setProblem(`This message has ${length} characters; the limit is ${LIMITS.messageMaxChars}. `
        + `Shorten it by ${over} to send it.`);
      box.current?.focus();
      return;
    }
    onSend(body.trim() === "" ? "" : body, files);
    setProblem(null);
    setBody(editing ? saved.current ?? "" : "");
    saved.current = null;
  }
  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === "ArrowUp" && body === "" && onEditLast && !editing) {
      e.preventDefault();
      onEditLast();
    } else if (e.key === "Escape" && (editing || replyTo)) {
      e.preventDefault();
      onCancel();
    }
  }
  const describedBy = ["composer-count", problem ? "composer-problem" : null].filter(Boolean).join(" ");
  return (
    <form className="composer" onSubmit={submit}>
      {(replyTo || editing) && (
        <p className="composer-mode" data-testid="composer-mode">
          {editing ? "Editing your message" : <>Replying to <strong>{replyTo!.user.username}</strong>: <span dir="auto">
            {[...replyTo!.body].slice(0, 80).join("")}</span></>}
          {" "}<button type="button" className="link" onClick={onCancel}>Cancel{editing ? " editing" : " reply"}</button>
          <span className="hint"> (Esc)</span>
        </p>
      )}
      {!editing && <UploadList uploads={uploads} />}
      <div className="composer-row">
        {!editing && <AttachButton onFiles={uploads.add} />}
        <textarea ref={box} aria-label="Message" dir="auto" rows={2}
                  placeholder="Write a message (Enter sends, Shift+Enter for a new line, ↑ edits your last)"
                  aria-invalid={over > 0 || problem ? true : undefined} aria-describedby={describedBy}
                  value={body} onChange={(e) => { setBody(e.target.value); if (e.target.value) onType(); }} onKeyDown={onKey}
                  onPaste={(e) => {
                    // Pasted files (a copied image, a screenshot) are attached; text pastes as text.
                    const files = [...e.clipboardData.files];
                    if (files.length === 0 || editing) return;
                    e.preventDefault();
                    uploads.add(files);
                  }} />
        <div className="composer-side">
          <button type="submit" className="primary">{editing ? "Save" : "Send"}</button>
          <span id="composer-count" className={`count${over > 0 ? " over" : ""}`} data-testid="count"
                hidden={length <= LIMITS.messageMaxChars * 0.9}>
            {length}/{LIMITS.messageMaxChars}<span className="sr-only"> characters</span></span>
        </div>
      </div>
      {problem && <p className="error composer-problem" id="composer-problem" role="alert" data-testid="composer-problem">{problem}</p>}
    </form>
  );
}

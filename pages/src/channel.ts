/**
 * One open room or direct-message conversation: its socket, the messages shown,
 * and the messages of mine not yet acknowledged. It renders what the server says
 * and sends frames; every rule (who may post, delete, see) is the server's, and
 * what the client needs of them comes in the `connection` frame: the type of the
 * message frames here, and whether I may delete anyone's messages.
 *
 * - Joining: after each socket's `connection` frame, `join_room`, with `since` set
 *   to the newest seq already seen once there is one, so a reconnect gets exactly
 *   what it missed (PROTOCOL.md "Room socket"). A `history` without `since`, or
 *   with `has_more` (more than a page was missed), replaces what is shown; older
 *   messages then come a page at a time over HTTP as the reader scrolls up.
 * - Sending: a message gets a client_id and shows as pending until the server's
 *   broadcast carries that client_id back (the acknowledgement). Pending messages
 *   are sent once the socket is joined and sent again, with the same client_id,
 *   after every reconnect: the server stores a client_id once and answers a
 *   repeat with the original, so a message is stored once and shown once.
 * - Messages are kept by seq, so one that arrives twice (history and live) is
 *   shown once.
 * - Changes (edits, deletions, reactions) carry the room's change number; the
 *   channel keeps the cursor (the last one applied) and resumes with
 *   `join_room {since, changes_since}`, which replays the current state of every
 *   message changed while it was away, a page at a time (PROTOCOL.md
 *   "Guarantees"). A change frame at or below the cursor is already shown.
 */
import { api } from "./api";
import { errorMessage, LIMITS, type Attachment, type Change, type ClientFrame, type Message, type MessageType, type Profile, type ServerFrame, type User } from "./protocol";
import { ResilientSocket, type SocketStatus } from "./socket";

export interface PendingMessage { client_id: string; body: string; reply_to?: number; attachments?: Attachment[]; error?: string }

export interface ChannelState {
  status: SocketStatus;
  joined: boolean;
  /** Shown messages, oldest first. */
  messages: Message[];
  pending: PendingMessage[];
  /** Older messages exist before the first one shown. */
  hasMore: boolean;
  loadingOlder: boolean;
  /** The last refusal that was not about a pending message (a delete, for one). */
  notice: string | null;
  /** The server says I may delete any message here, not only mine. */
  mayDeleteAny: boolean;
  /** Display names of the people shown (GET /users/profiles, then user_updated). */
  names: Record<number, string | null>;
  /** Rooms (issue 15): who is here (presence), and who is typing, until when (ms). */
  online: number[];
  typing: Record<number, number>;
  /** Usernames of people online or typing who have no message shown. */
  people: Record<number, string>;
  /** Messages by people I block that history brought (issue 18, defect 14): shown
   * as hidden messages I may reveal, oldest first. */
  hidden: Message[];
}

export interface ChannelHooks {
  onEnded(code: number, reason: string): void;
  onRefused(): void;
  onStatus(status: SocketStatus): void;
  /** The history arrived (a DM is then read). */
  onJoined?(): void;
}

const RATE_LIMITED_RETRY_MS = 1500;
/** How long after the shown messages change my read marker follows them. */
const MARK_READ_DELAY_MS = 1000;
/** How long a sent message may wait for its acknowledgement before the link is
 * checked (a ping now: a dead link is then noticed within socket.ts's timeout). */
const ACK_PROBE_MS = 3000;
/** The ref of mark_read frames: a visitor of a public room who is not a member has
 * no marker there (not_member), which is nothing to tell them. */
const MARK_REF = "mark";

/** A fresh client_id: 1-64 of [A-Za-z0-9_-]. */
function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Channel {
  private readonly socket: ResilientSocket;
  /** The message frame type here, as the server's connection frame says. */
  private messageType: MessageType | null = null;
  private readonly bySeq = new Map<number, Message>();
  private lastSeq: number | null = null;
  /** The change cursor (PROTOCOL.md "Guarantees"), once a history gave one; and
   * whether a resume is still paging through changes (live frames are applied
   * then, but the cursor waits for the last page). */
  private change: number | null = null;
  private catchingUp = false;
  private blocks = new Set<number>();
  private listeners = new Set<() => void>();
  private state: ChannelState = {
    status: "connecting", joined: false, messages: [], pending: [], hasMore: false, loadingOlder: false, notice: null,
    mayDeleteAny: false, names: {}, online: [], typing: {}, people: {}, hidden: [],
  };
  /** Messages by people I block, by seq (state.hidden). */
  private readonly hiddenBySeq = new Map<number, Message>();
  /** When I last said I was typing, and the marker I last sent (rooms). */
  private typedAt = 0;
  private markedSeq = 0;
  private markTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(readonly kind: "room" | "dm", readonly id: number, private readonly token: string,
              private readonly me: User, private readonly hooks: ChannelHooks) {
    this.socket = new ResilientSocket(`${this.base}/ws`, token, {
      onOpen: () => this.join(),
      onFrame: (f) => this.onFrame(f),
      onStatus: (status) => {
        this.set({ status, joined: status === "open" ? this.state.joined : false });
        hooks.onStatus(status);
      },
      onEnded: hooks.onEnded,
      onRefused: hooks.onRefused,
    });
  }

  private get base() { return this.kind === "room" ? `/rooms/${this.id}` : `/dms/${this.id}`; }

  start() { this.socket.start(); }
  stop() {
    if (this.markTimer !== null) this.sendMark(); // leaving: what was seen is read
    this.socket.stop();
    this.listeners.clear();
  }

  readonly subscribe = (fn: () => void) => {
    this.listeners.add(fn);
    return () => { this.listeners.delete(fn); };
  };
  readonly getState = () => this.state;

  /** I am typing: told at most once per LIMITS.typingIntervalMs (the server drops more). */
  typing() {
    if (this.kind !== "room" || !this.state.joined || Date.now() - this.typedAt < LIMITS.typingIntervalMs) return;
    this.typedAt = Date.now();
    this.socket.send({ type: "typing" });
  }

  /** I have seen everything shown: my read marker moves to the last message
   * (rooms), once things settle: a frame costs a token of my rate in the room, so
   * a burst of messages is marked with one mark_read, not one each. */
  markRead() {
    if (this.kind !== "room" || this.markTimer !== null) return;
    this.markTimer = setTimeout(() => this.sendMark(), MARK_READ_DELAY_MS);
  }

  private sendMark() {
    if (this.markTimer !== null) clearTimeout(this.markTimer);
    this.markTimer = null;
    const last = this.state.messages[this.state.messages.length - 1]?.seq ?? 0;
    if (!this.state.joined || last <= this.markedSeq) return;
    this.markedSeq = last;
    this.socket.send({ type: "mark_read", seq: last, ref: MARK_REF });
  }

  /** Queues a message (a reply to message `replyTo`, and carrying the uploaded
   * files `attachments`, if given); it is sent now if the socket is joined, else
   * once it is. A message not acknowledged within ACK_PROBE_MS makes the socket
   * check the link at once (socket.ts probe), rather than after its quiet time. */
  send(body: string, replyTo?: number, attachments?: Attachment[]) {
    const p: PendingMessage = { client_id: newClientId(), body, ...(replyTo ? { reply_to: replyTo } : {}),
      ...(attachments?.length ? { attachments } : {}) };
    this.set({ pending: [...this.state.pending, p] });
    if (this.state.joined) this.transmit(p);
    setTimeout(() => { if (this.state.pending.includes(p) && !p.error) this.socket.probe(); }, ACK_PROBE_MS);
  }

  /** Uploads a file to this room or conversation (POST .../uploads), reporting
   * progress (0..1); resolves to the attachment a message then carries. `signal`
   * stops it (the server then stores nothing: the body never ends). */
  upload(file: File, progress?: (fraction: number) => void, signal?: AbortSignal): Promise<Attachment> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest(); // fetch() reports no upload progress
      signal?.addEventListener("abort", () => { xhr.abort(); reject(new Error("Removed.")); });
      xhr.open("POST", `${this.base}/uploads`);
      xhr.setRequestHeader("Authorization", `Bearer ${this.token}`);
      xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name || "pasted"));
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress?.(e.loaded / e.total); };
      xhr.onload = () => {
        let body: { attachment?: Attachment; error?: { code: string; message: string } } = {};
        try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: the generic sentence */ }
        if (xhr.status === 201 && body.attachment) resolve(body.attachment);
        else reject(new Error(body.error?.message ?? errorMessage(body.error?.code ?? "")));
      };
      xhr.onerror = () => reject(new Error("The upload failed: check your connection and try again."));
      xhr.send(file);
    });
  }

  /** A file of this room or conversation, fetched with my session (files are
   * members only, so a plain <img src> cannot load them): an object URL the caller
   * revokes when done. */
  async fileUrl(a: Attachment): Promise<string> {
    const res = await fetch(a.url, { headers: { Authorization: `Bearer ${this.token}` } });
    if (!res.ok) throw new Error(res.status === 404 ? "This file is gone." : "The file could not be loaded.");
    return URL.createObjectURL(await res.blob());
  }

  /** Gives up on a message the server refused. */
  discard(clientId: string) {
    this.set({ pending: this.state.pending.filter((p) => p.client_id !== clientId) });
  }

  delete(seq: number) {
    if (!this.socket.send({ type: "delete_message", seq, ref: `delete-${seq}` })) {
      this.set({ notice: "Not connected: try again in a moment." });
    }
  }

  /** Edits my message `seq` (the server refuses anyone else's: not_author). */
  edit(seq: number, body: string) {
    this.act({ type: "edit_message", seq, body, ref: `edit-${seq}` });
  }

  /** Adds or removes my reaction `emoji` on message `seq`. */
  react(seq: number, emoji: string) { this.act({ type: "react", seq, emoji, ref: `react-${seq}` }); }
  unreact(seq: number, emoji: string) { this.act({ type: "unreact", seq, emoji, ref: `unreact-${seq}` }); }

  private act(frame: ClientFrame) {
    if (!this.state.joined || !this.socket.send(frame)) this.set({ notice: "Not connected: try again in a moment." });
  }

  dismissNotice() { this.set({ notice: null }); }

  /** The page of messages before the first one shown. */
  async loadOlder() {
    if (!this.state.hasMore || this.state.loadingOlder) return;
    const first = this.state.messages[0]?.seq ?? (this.lastSeq ?? 0) + 1;
    this.set({ loadingOlder: true });
    try {
      const page = await api<{ messages: Message[]; has_more: boolean }>(
        "GET", `${this.base}/messages?before=${first}`, this.token);
      for (const m of page.messages) this.keep(m);
      this.set({ hasMore: page.has_more, loadingOlder: false, messages: this.sorted(), hidden: this.hiddenSorted() });
    } catch (e) {
      this.set({ loadingOlder: false, notice: e instanceof Error ? e.message : String(e) });
    }
  }

  private join() {
    if (this.lastSeq === null) this.socket.send({ type: "join_room" });
    else this.socket.send({ type: "join_room", since: this.lastSeq, ...(this.change !== null ? { changes_since: this.change } : {}) });
  }

  private transmit(p: PendingMessage) {
    if (!this.messageType) return; // before the connection frame: sent once joined
    const frame: ClientFrame = { type: this.messageType, body: p.body, client_id: p.client_id, ref: p.client_id,
      ...(p.reply_to ? { reply_to: p.reply_to } : {}), ...(p.attachments ? { attachments: p.attachments.map((a) => a.id) } : {}) };
    this.socket.send(frame);
  }

  private seen(seq: number) {
    if (this.lastSeq === null || seq > this.lastSeq) this.lastSeq = seq;
  }

  /** My message came back: it is no longer pending. */
  private acknowledge(m: Message) {
    if (m.user.id !== this.me.id) return;
    if (this.state.pending.some((p) => p.client_id === m.client_id)) {
      this.state = { ...this.state, pending: this.state.pending.filter((p) => p.client_id !== m.client_id) };
    }
  }

  private onFrame(f: ServerFrame) {
    switch (f.type) {
      case "connection":
        this.messageType = f.message_type ?? null;
        this.set({ mayDeleteAny: f.may_delete_any === true });
        return;
      case "history": {
        if (f.since === null || f.has_more) this.bySeq.clear(), this.hiddenBySeq.clear();
        for (const m of f.messages) {
          this.keep(m);
          this.seen(m.seq);
          this.acknowledge(m);
        }
        for (const c of f.changes ?? []) this.applyChange(c);
        this.seen(f.last_seq);
        this.change = f.change;
        // more changes wait: ask for the next page (the cursor moved past this one)
        this.catchingUp = f.changes_more === true;
        if (this.catchingUp) this.join();
        const hasMore = f.since === null || f.has_more ? f.has_more : this.state.hasMore;
        this.set({ joined: true, hasMore, messages: this.sorted(), hidden: this.hiddenSorted() });
        void this.learnNames();
        // Whatever is still pending was not stored (or its answer was lost): send
        // it again with its client_id; the server stores each client_id once.
        for (const p of this.state.pending) if (!p.error) this.transmit(p);
        this.hooks.onJoined?.();
        return;
      }
      case "new_chat_message":
      case "new_direct_message": {
        if (f.type !== this.messageType) return;
        const { type: _t, ref: _r, room_id: _room, conversation_id: _c, duplicate: _d, ...m } = f;
        this.seen(m.seq);
        this.acknowledge(m);
        if (!this.blocks.has(m.user.id)) this.bySeq.set(m.seq, m);
        const { [m.user.id]: _typed, ...typing } = this.state.typing; // their message ends their typing
        this.set({ messages: this.sorted(), typing });
        return;
      }
      case "presence":
        this.set({ online: f.online });
        void this.learnPeople(f.online);
        return;
      case "presence_changed":
        this.set({ online: f.online ? [...new Set([...this.state.online, f.user_id])] : this.state.online.filter((u) => u !== f.user_id) });
        return;
      case "typing": {
        const until = Date.now() + f.expires_in;
        this.set({ typing: { ...this.state.typing, [f.user_id]: until } });
        void this.learnPeople([f.user_id]);
        setTimeout(() => {
          if (this.state.typing[f.user_id] !== until) return; // renewed since
          const { [f.user_id]: _gone, ...typing } = this.state.typing;
          this.set({ typing });
        }, f.expires_in);
        return;
      }
      case "message_deleted":
        if (!this.fresh(f.change)) return;
        this.bySeq.delete(f.seq);
        this.requote(f.seq, null);
        this.set({ messages: this.sorted() });
        return;
      case "message_edited": {
        if (!this.fresh(f.change)) return;
        const m = this.bySeq.get(f.seq);
        if (m) this.bySeq.set(f.seq, { ...m, body: f.body, edited_at: f.edited_at });
        this.requote(f.seq, f.body);
        this.set({ messages: this.sorted() });
        return;
      }
      case "reactions_changed": {
        if (!this.fresh(f.change)) return;
        const m = this.bySeq.get(f.seq);
        if (!m) return;
        const list = (m.reactions ?? []).map((r) => ({ ...r }));
        let r = list.find((x) => x.emoji === f.emoji);
        if (!r) list.push(r = { emoji: f.emoji, count: 0, me: false });
        r.count += f.added ? 1 : -1;
        if (f.user_id === this.me.id) r.me = f.added;
        const reactions = list.filter((x) => x.count > 0);
        this.bySeq.set(f.seq, { ...m, reactions: reactions.length ? reactions : undefined });
        this.set({ messages: this.sorted() });
        return;
      }
      case "user_updated":
        this.set({ names: { ...this.state.names, [f.user.id]: f.user.display_name } });
        return;
      case "account_deleted": {
        if (f.change !== undefined && !this.fresh(f.change)) return;
        // Their messages are gone from the server; each shown one becomes a tombstone.
        let changed = false;
        for (const [seq, m] of this.bySeq) {
          if (m.user.id !== f.user_id || m.user.username === f.tombstone) continue;
          // (files too: they are deleted with the account)
          this.bySeq.set(seq, { seq, client_id: m.client_id, created_at: m.created_at,
            user: { id: m.user.id, username: f.tombstone }, body: "" });
          changed = true;
        }
        if (changed) this.set({ messages: this.sorted(), names: { ...this.state.names, [f.user_id]: null } });
        return;
      }
      case "blocks_changed": {
        const before = this.blocks;
        this.blocks = new Set(f.blocks);
        for (const [seq, m] of this.bySeq) if (this.blocks.has(m.user.id)) this.bySeq.delete(seq);
        this.set({ messages: this.sorted() });
        // Someone was unblocked: their messages come back with a full reload.
        if ([...before].some((id) => !this.blocks.has(id))) {
          this.lastSeq = null;
          this.socket.reconnectNow();
        }
        return;
      }
      case "error": {
        if (f.ref === MARK_REF) return;
        const p = f.ref ? this.state.pending.find((x) => x.client_id === f.ref) : undefined;
        const message = f.message || errorMessage(f.code);
        if (!p) {
          this.set({ notice: message });
        } else if (f.code === "rate_limited") {
          setTimeout(() => { if (this.state.joined && this.state.pending.includes(p)) this.transmit(p); }, RATE_LIMITED_RETRY_MS);
        } else {
          this.set({ pending: this.state.pending.map((x) => (x === p ? { ...x, error: message } : x)) });
        }
        return;
      }
      default:
        return;
    }
  }

  /** Whether a change frame is news: above the cursor (which it then becomes,
   * unless a resume is still paging). */
  private fresh(change: number): boolean {
    if (this.change !== null && change <= this.change) return false;
    if (!this.catchingUp) this.change = change;
    return true;
  }

  /** A message's current state from a resume's changes: replaces my copy. */
  private applyChange(c: Change) {
    if (c.deleted) {
      this.bySeq.delete(c.seq);
      this.requote(c.seq, null);
      return;
    }
    const { change: _change, ...m } = c;
    if (this.blocks.has(m.user.id)) return;
    if (this.bySeq.has(m.seq)) this.bySeq.set(m.seq, m);
    this.requote(m.seq, m.body);
  }

  /** The quotes of message `seq` shown in replies follow it: its new body, or
   * deleted (null). */
  private requote(seq: number, body: string | null) {
    for (const [s, m] of this.bySeq) {
      if (m.reply_to?.seq !== seq) continue;
      const reply_to = body === null ? { seq, user: null, excerpt: "", deleted: true }
        : { ...m.reply_to, excerpt: [...body].slice(0, LIMITS.replyExcerptMax).join("") };
      this.bySeq.set(s, { ...m, reply_to });
    }
  }

  /** Fetches the usernames of people online or typing here that are not known yet. */
  private async learnPeople(ids: number[]) {
    const unknown = ids.filter((id) => !(id in this.state.people) && id !== this.me.id).slice(0, 100);
    if (unknown.length === 0) return;
    try {
      const { profiles } = await api<{ profiles: Profile[] }>("GET", `/users/profiles?ids=${unknown.join(",")}`, this.token);
      const people = { ...this.state.people };
      for (const p of profiles) people[p.id] = p.username;
      this.set({ people });
    } catch { /* a nicety: "Someone" stays */ }
  }

  /** Fetches the display names of the authors shown whose names are not known. */
  private async learnNames() {
    const ids = [...new Set(this.state.messages.map((m) => m.user.id))].filter((id) => !(id in this.state.names)).slice(0, 100);
    if (ids.length === 0) return;
    try {
      const { profiles } = await api<{ profiles: Profile[] }>("GET", `/users/profiles?ids=${ids.join(",")}`, this.token);
      const names = { ...this.state.names };
      for (const p of profiles) names[p.id] = p.display_name;
      this.set({ names });
    } catch { /* names are a nicety: the usernames stay */ }
  }

  private sorted(): Message[] {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  /** A message from history: shown, or kept as hidden when by someone I block. */
  private keep(m: Message) {
    if (m.blocked) this.hiddenBySeq.set(m.seq, m);
    else this.bySeq.set(m.seq, m);
  }

  private hiddenSorted(): Message[] {
    return [...this.hiddenBySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  private set(patch: Partial<ChannelState>) {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn();
  }
}

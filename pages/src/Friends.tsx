import { useState, type FormEvent } from "react";
import { useChat, type Relation } from "./context";
import type { UserRef } from "./protocol";

/** Friend requests both ways, friends, and the people I block. */
export function Friends() {
  const chat = useChat();
  const [name, setName] = useState("");
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const f = chat.friends;

  async function act(relation: Relation, username: string, done: string) {
    const refusal = await chat.relate(relation, username);
    setResult(refusal ? { ok: false, text: refusal } : { ok: true, text: done });
    return !refusal;
  }
  async function add(e: FormEvent) {
    e.preventDefault();
    if (await act("add", name.trim(), `Friend request sent to ${name.trim()}.`)) setName("");
  }
  async function dm(username: string) {
    const refusal = await chat.openDm(username);
    if (refusal) setResult({ ok: false, text: refusal });
  }

  // A friend's row says whether they are online (GET /friends, then friend_presence
  // live): a dot, with its words for screen readers and as a tooltip.
  const row = (u: UserRef & { online?: boolean }, buttons: React.ReactNode) => (
    <li key={u.id} className="person"><span className="person-name">{u.username}
      {u.online !== undefined && <span className={u.online ? "presence on" : "presence off"} role="img"
        aria-label={u.online ? "online" : "offline"} title={u.online ? "online" : "offline"} data-testid="friend-presence" />}
    </span><span className="actions">{buttons}</span></li>
  );

  return (
    <section className="page" aria-labelledby="friends-h">
      <header className="chat-head">
        <a className="back" href="#/" aria-label="Back to the list">←</a>
        <h1 id="friends-h">Friends</h1>
      </header>
      <form className="inline" onSubmit={add}>
        <label>Add a friend by username
          <input name="friend" value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <button type="submit" className="primary">Send request</button>
      </form>
      {result && <p className={result.ok ? "ok" : "error"} role={result.ok ? "status" : "alert"}>{result.text}</p>}

      <h3>Requests for you</h3>
      {f.incoming.length === 0 ? <p className="empty">None.</p> : (
        <ul className="people" aria-label="Requests for you">{f.incoming.map((u) => row(u, <>
          <button className="primary" onClick={() => act("add", u.username, `You and ${u.username} are friends.`)} aria-label={`Accept ${u.username}`}>Accept</button>
          <button onClick={() => act("remove", u.username, `Declined ${u.username}'s request.`)} aria-label={`Decline ${u.username}`}>Decline</button>
        </>))}</ul>
      )}

      <h3>Requests you sent</h3>
      {f.outgoing.length === 0 ? <p className="empty">None.</p> : (
        <ul className="people" aria-label="Requests you sent">{f.outgoing.map((u) => row(u,
          <button onClick={() => act("remove", u.username, `Cancelled your request to ${u.username}.`)} aria-label={`Cancel request to ${u.username}`}>Cancel</button>))}</ul>
      )}

      <h3>Friends</h3>
      {f.friends.length === 0 ? <p className="empty">No friends yet.</p> : (
        <ul className="people" aria-label="Friends">{f.friends.map((u) => row(u, <>
          <button className="primary" onClick={() => dm(u.username)} aria-label={`Message ${u.username}`}>Message</button>
          <button onClick={() => act("remove", u.username, `${u.username} is no longer a friend.`)} aria-label={`Remove ${u.username}`}>Remove</button>
          <button className="danger" onClick={() => act("block", u.username, `You block ${u.username}.`)} aria-label={`Block ${u.username}`}>Block</button>
        </>))}</ul>
      )}

      <h3>Blocked</h3>
      {f.blocked.length === 0 ? <p className="empty">Nobody.</p> : (
        <ul className="people" aria-label="Blocked">{f.blocked.map((u) => row(u,
          <button onClick={() => act("unblock", u.username, `You no longer block ${u.username}.`)} aria-label={`Unblock ${u.username}`}>Unblock</button>))}</ul>
      )}
    </section>
  );
}

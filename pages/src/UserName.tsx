import { useRef, useState } from "react";
import { useChat } from "./context";
import { useMenuPlacement } from "./menu";
import type { UserRef } from "./protocol";

/** The initials of a name (an avatar until pictures exist): the first letter of
 * its first two words. */
export function initials(name: string): string {
  return name.split(/\s+/u).filter(Boolean).slice(0, 2).map((w) => [...w][0]!.toUpperCase()).join("");
}

/** A person's display name (if any) beside their username, after their initials. */
export function Shown({ user, display }: { user: UserRef; display: string | null }) {
  return (
    <>
      <span className="avatar" aria-hidden="true">{initials(display ?? user.username)}</span>
      {display ? <><span className="display-name">{display}</span> <small className="username">@{user.username}</small></> : user.username}
    </>
  );
}

/** A person's name; opening it offers what one can do about them: add as a
 * friend, write to them, block or unblock. The server says whether it may; what
 * it said shows as a toast (done) or in the menu (refused). */
export function UserName({ user, display = null }: { user: UserRef; display?: string | null }) {
  const chat = useChat();
  const details = useRef<HTMLDetailsElement>(null);
  const [error, setError] = useState<string | null>(null);
  const placement = useMenuPlacement(details);
  if (user.id === chat.me.id) return <span className="name me"><Shown user={user} display={display} /></span>;

  const has = (list: UserRef[]) => list.some((u) => u.id === user.id);
  const friend = has(chat.friends.friends);
  const blocked = has(chat.friends.blocked);
  const close = () => { if (details.current) details.current.open = false; };
  async function run(p: Promise<string | null>, done?: string) {
    const refusal = await p;
    setError(refusal);
    if (refusal) return;
    close();
    if (done) chat.say(done);
  }

  return (
    <details className={`name-menu ${placement}`} ref={details}
             onKeyDown={(e) => { if (e.key === "Escape") { close(); details.current?.querySelector("summary")?.focus(); } }}>
      <summary className="name"><Shown user={user} display={display} /><span className="sr-only"> (actions)</span></summary>
      <div className="menu">
        {friend
          ? <button onClick={() => run(chat.openDm(user.username))}>Message</button>
          : !blocked && !has(chat.friends.outgoing) &&
            <button onClick={() => run(chat.relate("add", user.username), has(chat.friends.incoming)
                ? `You and ${user.username} are friends.` : `Friend request sent to ${user.username}.`)}>
              {has(chat.friends.incoming) ? "Accept friend request" : "Add friend"}
            </button>}
        {blocked
          ? <button onClick={() => run(chat.relate("unblock", user.username), `You no longer block ${user.username}.`)}>Unblock</button>
          : <button className="danger" onClick={() => run(chat.relate("block", user.username), `You block ${user.username}.`)}>Block</button>}
        {error && <p className="error" role="alert">{error}</p>}
      </div>
    </details>
  );
}

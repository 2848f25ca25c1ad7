import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, ApiError, describeError } from "./api";
import { useChat } from "./context";
import { LIMITS, type Profile, type SessionInfo } from "./protocol";
import { initials } from "./UserName";

const when = (ms: number | null) => (ms === null ? "–" : new Date(ms).toLocaleString());

/** What I control about my account: how I appear, my password, where I am logged
 * in, my data, and leaving. Every rule is the server's; this page shows its answers. */
export function Account() {
  const chat = useChat();
  const [result, setResult] = useState<{ ok: boolean; text: string; part: string } | null>(null);
  const report = (part: string, ok: boolean, text: string) => setResult({ part, ok, text });
  const failed = (part: string, e: unknown) => {
    if (e instanceof ApiError && e.status === 401) return chat.signOut("Your session has ended. Please log in again.");
    report(part, false, describeError(e));
  };
  const note = (part: string) => result?.part === part &&
    <p className={result.ok ? "ok" : "error"} role={result.ok ? "status" : "alert"}>{result.text}</p>;

  // Profile
  const [display, setDisplay] = useState("");
  const [shown, setShown] = useState<string | null>(null);
  useEffect(() => {
    api<{ user: Profile }>("GET", "/account", chat.token).then(({ user }) => { setShown(user.display_name); setDisplay((typed) => typed || (user.display_name ?? "")); })
      .catch((e) => failed("profile", e));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once
  }, [chat.token]);
  async function saveProfile(e: FormEvent) {
    e.preventDefault();
    try {
      const { user } = await api<{ user: Profile }>("PUT", "/account/profile", chat.token, { display_name: display.trim() === "" ? null : display });
      setShown(user.display_name);
      setDisplay(user.display_name ?? "");
      report("profile", true, user.display_name ? `You appear as ${user.display_name}.` : "Display name cleared.");
    } catch (err) { failed("profile", err); }
  }

  // Password
  const [current, setCurrent] = useState("");
  const [fresh, setFresh] = useState("");
  async function changePassword(e: FormEvent) {
    e.preventDefault();
    try {
      const { revoked } = await api<{ revoked: number }>("POST", "/account/password", chat.token, { current, new: fresh });
      setCurrent("");
      setFresh("");
      report("password", true, `Password changed. ${revoked} other session${revoked === 1 ? " was" : "s were"} logged out.`);
      void loadSessions();
    } catch (err) { failed("password", err); }
  }

  // Sessions
  const [sessions, setSessions] = useState<SessionInfo[]>([]);
  const loadSessions = useCallback(async () => {
    try { setSessions((await api<{ sessions: SessionInfo[] }>("GET", "/account/sessions", chat.token)).sessions); } catch (e) { failed("sessions", e); }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- token only
  }, [chat.token]);
  useEffect(() => { void loadSessions(); }, [loadSessions]);
  async function revoke(s: SessionInfo) {
    try {
      await api("DELETE", `/account/sessions/${s.id}`, chat.token);
      if (s.current) return chat.signOut();
      report("sessions", true, "That session was logged out.");
      void loadSessions();
    } catch (err) { failed("sessions", err); }
  }
  async function revokeOthers() {
    try {
      const { revoked } = await api<{ revoked: number }>("POST", "/account/sessions/revoke-others", chat.token);
      report("sessions", true, `${revoked} other session${revoked === 1 ? " was" : "s were"} logged out.`);
      void loadSessions();
    } catch (err) { failed("sessions", err); }
  }

  // Export
  const [download, setDownload] = useState<{ url: string; messages: number } | null>(null);
  async function exportData() {
    try {
      const res = await fetch("/account/export", { headers: { Authorization: `Bearer ${chat.token}` } });
      if (!res.ok) throw new ApiError("internal", "The export failed; try again.", res.status);
      const blob = await res.blob();
      const doc = JSON.parse(await blob.text()) as { messages: unknown[] };
      if (download) URL.revokeObjectURL(download.url);
      setDownload({ url: URL.createObjectURL(blob), messages: doc.messages.length });
      report("export", true, `Your export is ready: ${doc.messages.length} message${doc.messages.length === 1 ? "" : "s"}.`);
    } catch (err) { failed("export", err); }
  }

  // Deletion
  const [password, setPassword] = useState("");
  async function deleteAccount(e: FormEvent) {
    e.preventDefault();
    try {
      await api("DELETE", "/account", chat.token, { password });
      location.hash = "";
      chat.signOut("Your account was deleted.");
    } catch (err) { failed("delete", err); }
  }

  return (
    <section className="page account" aria-labelledby="account-h">
      <h1 id="account-h">Account</h1>

      <section aria-labelledby="profile-h">
        <h3 id="profile-h">Profile</h3>
        <p><span className="avatar big" aria-hidden="true">{initials(shown ?? chat.me.username)}</span>
          {shown ? <>{shown} <small>@{chat.me.username}</small></> : chat.me.username}</p>
        <form onSubmit={saveProfile}>
          <label>Display name <input value={display} onChange={(e) => setDisplay(e.target.value)} maxLength={LIMITS.displayNameMax * 4}
                                     placeholder={chat.me.username} /></label>
          <button type="submit">Save</button>
        </form>
        {note("profile")}
      </section>

      <section aria-labelledby="password-h">
        <h3 id="password-h">Password</h3>
        <form onSubmit={changePassword}>
          <label>Current password <input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required /></label>
          <label>New password <input type="password" autoComplete="new-password" value={fresh} onChange={(e) => setFresh(e.target.value)} required /></label>
          <button type="submit">Change password</button>
        </form>
        <p className="hint">Changing it logs out every other session.</p>
        {note("password")}
      </section>

      <section aria-labelledby="sessions-h">
        <h3 id="sessions-h">Sessions</h3>
        <ul className="sessions" aria-label="Sessions">
          {sessions.map((s) => (
            <li key={s.id} data-testid="session" data-current={s.current}>
              <span>{s.client ?? "Unknown client"}{s.current && <small className="pill">this one</small>}</span>
              <small> since {when(s.created_at)}, last seen {when(s.last_seen_at)}</small>
              <button className="link" onClick={() => revoke(s)} aria-label={`Log out session ${s.id}`}>Log out</button>
            </li>
          ))}
        </ul>
        <button onClick={revokeOthers}>Log out everywhere else</button>
        {note("sessions")}
      </section>

      <section aria-labelledby="export-h">
        <h3 id="export-h">Your data</h3>
        <button onClick={exportData}>Export my data</button>
        {download && <a href={download.url} download="chat-export.json">Save chat-export.json</a>}
        {note("export")}
      </section>

      <section aria-labelledby="delete-h">
        <h3 id="delete-h">Delete account</h3>
        <p className="hint">Your messages are replaced by “deleted account” everywhere; your username stays reserved for 30 days.</p>
        <form onSubmit={deleteAccount}>
          <label>Password <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required /></label>
          <button type="submit" className="danger">Delete my account</button>
        </form>
        {note("delete")}
      </section>
    </section>
  );
}

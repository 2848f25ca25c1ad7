import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, describeError } from "./api";
import { useChat } from "./context";
import type { AuditEntry, Ban } from "./protocol";

const when = (ms: number) => new Date(ms).toLocaleString();

/** Moderation, for ADMINs: ban (optionally every address the user was seen
 * with), unban, promote, and the audit trail. The server checks the role. */
export function Admin() {
  const chat = useChat();
  const [data, setData] = useState<{ bans: Ban[]; log: AuditEntry[] } | null>(null);
  const [username, setUsername] = useState("");
  const [reason, setReason] = useState("");
  const [ip, setIp] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);

  const load = useCallback(async () => {
    try {
      setData(await api("GET", "/bans", chat.token));
    } catch (e) {
      setResult({ ok: false, text: describeError(e) });
    }
  }, [chat.token]);
  useEffect(() => { void load(); }, [load]);

  async function run(action: "ban" | "unban" | "promote", target: string, body: Record<string, unknown>, done: string) {
    try {
      await api("POST", `/users/${action}`, chat.token, { username: target, ...body });
      setResult({ ok: true, text: done });
      await load();
      return true;
    } catch (e) {
      setResult({ ok: false, text: describeError(e) });
      return false;
    }
  }

  async function ban(e: FormEvent) {
    e.preventDefault();
    const target = username.trim();
    const body = { ip, ...(reason.trim() ? { reason: reason.trim() } : {}) };
    if (await run("ban", target, body, `${target} is banned${ip ? ", with their addresses" : ""}.`)) {
      setUsername(""); setReason(""); setIp(false);
    }
  }

  return (
    <section className="page" aria-labelledby="admin-h">
      <header className="chat-head">
        <a className="back" href="#/" aria-label="Back to the list">←</a>
        <h1 id="admin-h">Moderation</h1>
      </header>
      <form className="stack" onSubmit={ban} aria-label="Ban a user">
        <label>Username<input name="ban-username" value={username} onChange={(e) => setUsername(e.target.value)} required /></label>
        <label>Reason (optional)<input name="ban-reason" value={reason} onChange={(e) => setReason(e.target.value)} /></label>
        <label className="check"><input type="checkbox" checked={ip} onChange={(e) => setIp(e.target.checked)} />
          Also ban every address this user was seen with</label>
        <div className="row">
          <button type="submit" className="danger">Ban</button>
          <button type="button" onClick={() => run("promote", username.trim(), {}, `${username.trim()} is now an ADMIN.`)}
                  disabled={!username.trim()}>Make ADMIN</button>
        </div>
      </form>
      {result && <p className={result.ok ? "ok" : "error"} role={result.ok ? "status" : "alert"}>{result.text}</p>}

      <h3>Bans in force</h3>
      {!data ? <p className="empty">Loading…</p> : data.bans.length === 0 ? <p className="empty">Nobody is banned.</p> : (
        <ul className="people" aria-label="Bans in force">{data.bans.map((b) => (
          <li key={b.user.id} className="person">
            <span className="person-name">{b.user.username}
              <small> by {b.by.username}, {when(b.at)}{b.reason ? `: ${b.reason}` : ""}{b.ips.length ? ` · ${b.ips.length} address${b.ips.length > 1 ? "es" : ""}` : ""}</small>
            </span>
            <span className="actions">
              <button onClick={() => run("unban", b.user.username, {}, `${b.user.username} is no longer banned.`)}
                      aria-label={`Unban ${b.user.username}`}>Unban</button>
            </span>
          </li>))}
        </ul>
      )}

      <h3>Audit trail</h3>
      {data && (
        <div className="table-wrap">
          <table aria-label="Audit trail">
            <thead><tr><th>When</th><th>Action</th><th>User</th><th>By</th><th>Reason</th></tr></thead>
            <tbody>{data.log.map((l) => (
              <tr key={l.id}>
                <td>{when(l.at)}</td>
                <td>{l.action}{l.ip ? " + IP" : ""}</td>
                <td>{l.target.username}</td>
                <td>{l.actor?.username ?? "make admin"}</td>
                <td>{l.reason ?? ""}</td>
              </tr>))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

import { useState, type FormEvent } from "react";
import { api, describeError } from "./api";
import { LIMITS, type Session } from "./protocol";

/** Sign up or log in. Every refusal is the server's, in its words. */
export function Auth({ flash, onSignedIn }: { flash: string | null; onSignedIn(s: Session): void }) {
  const [mode, setMode] = useState<"login" | "signup">("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api<Session>("POST", mode === "login" ? "/login" : "/signup", null, { username, password }));
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <h1>Edge chat</h1>
      {flash && <p className="flash" role="status">{flash}</p>}
      <div className="tabs" role="tablist" aria-label="Account">
        <button role="tab" aria-selected={mode === "login"} onClick={() => { setMode("login"); setError(null); }}>Log in</button>
        <button role="tab" aria-selected={mode === "signup"} onClick={() => { setMode("signup"); setError(null); }}>Sign up</button>
      </div>
      <form onSubmit={submit} aria-label={mode === "login" ? "Log in" : "Sign up"}>
        <label>
          Username
          <input name="username" autoComplete="username" value={username} required autoFocus
                 onChange={(e) => setUsername(e.target.value)} />
        </label>
        {mode === "signup" && (
          <p className="hint">{LIMITS.usernameMin}–{LIMITS.usernameMax} letters, digits, “_”, “-” or “.”</p>
        )}
        <label>
          Password
          <input name="password" type="password" value={password} required
                 autoComplete={mode === "login" ? "current-password" : "new-password"}
                 onChange={(e) => setPassword(e.target.value)} />
        </label>
        {mode === "signup" && <p className="hint">At least {LIMITS.passwordMinBytes} characters.</p>}
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={busy}>{mode === "login" ? "Log in" : "Create account"}</button>
      </form>
    </main>
  );
}

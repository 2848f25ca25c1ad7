import { useState, type FormEvent } from "react";
import { api, ApiError, describeError } from "./api";
import { errorMessage, LIMITS, type Session } from "./protocol";

/** UTF-8 bytes of a string: the server's password limits count bytes. */
const bytes = (s: string) => new TextEncoder().encode(s).length;

/** Sign up or log in. Every refusal is in the server's words; a new password is
 * also checked here, before it is sent, against the same limits
 * (LIMITS.passwordMinBytes..passwordMaxBytes, in UTF-8 bytes), so the hint, the
 * check and the error say the same thing (issue 18, defect 13). */
export function Auth({ flash, onSignedIn }: { flash: string | null; onSignedIn(s: Session): void }) {
  const [mode, setMode] = useState<"login" | "signup">("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<{ text: string; field: "username" | "password" | null } | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (mode === "signup" && bytes(password) < LIMITS.passwordMinBytes) {
      return setError({ text: errorMessage("password_too_short"), field: "password" });
    }
    if (mode === "signup" && bytes(password) > LIMITS.passwordMaxBytes) {
      return setError({ text: errorMessage("password_too_long"), field: "password" });
    }
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api<Session>("POST", mode === "login" ? "/login" : "/signup", null, { username, password }));
    } catch (err) {
      const code = err instanceof ApiError ? err.code : "";
      setError({ text: describeError(err), field: code.startsWith("password") ? "password" : code.startsWith("username") ? "username" : null });
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
                 aria-invalid={error?.field === "username" ? true : undefined}
                 aria-describedby={[mode === "signup" ? "username-hint" : "", error?.field === "username" ? "auth-error" : ""].join(" ").trim() || undefined}
                 onChange={(e) => setUsername(e.target.value)} />
        </label>
        {mode === "signup" && (
          <p className="hint" id="username-hint">{LIMITS.usernameMin}–{LIMITS.usernameMax} letters, digits, “_”, “-” or “.”</p>
        )}
        <label>
          Password
          <input name="password" type="password" value={password} required
                 autoComplete={mode === "login" ? "current-password" : "new-password"}
                 aria-invalid={error?.field === "password" ? true : undefined}
                 aria-describedby={[mode === "signup" ? "password-hint" : "", error?.field === "password" ? "auth-error" : ""].join(" ").trim() || undefined}
                 onChange={(e) => setPassword(e.target.value)} />
        </label>
        {mode === "signup" && <p className="hint" id="password-hint">At least {LIMITS.passwordMinBytes} bytes: a plain letter, digit or
          space counts 1, an accented letter 2, most other scripts 3, an emoji 4.</p>}
        {error && <p className="error" role="alert" id="auth-error">{error.text}</p>}
        <button type="submit" className="primary" disabled={busy}>{mode === "login" ? "Log in" : "Create account"}</button>
      </form>
    </main>
  );
}

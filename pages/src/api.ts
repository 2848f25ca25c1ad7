/**
 * HTTP calls to the API, on the site's own origin (README "The web client"):
 * JSON in and out, the session token as a Bearer header. Every failure becomes an
 * ApiError carrying the server's code and message.
 */
import { errorMessage } from "./protocol";

export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number, readonly retryAfter?: number) {
    super(message);
  }
}

export async function api<T>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, token?: string | null, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError("network", "The server cannot be reached. Check your connection and try again.", 0);
  }
  let json: unknown = null;
  try {
    json = await res.json();
  } catch { /* not JSON: handled below */ }
  if (res.ok) return json as T;
  const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
  const code = err?.code ?? "internal";
  const retry = Number(res.headers.get("Retry-After")) || undefined;
  throw new ApiError(code, err?.message ?? errorMessage(code), res.status, retry);
}

/** A sentence for people about an error, with the wait when the server gave one. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.retryAfter) {
      const minutes = Math.ceil(e.retryAfter / 60);
      return `${e.message.replace(/\.$/, "")} (in about ${minutes} minute${minutes === 1 ? "" : "s"}).`;
    }
    return e.message;
  }
  return "Something went wrong.";
}

// The HTTP side of the load tools (bots and benchmark probes): JSON requests to the
// chat API, and a small concurrency pool.

/** POST (with a body) or GET `route` at `base`; resolves to the JSON answer, throws
 * with the status and body when it is not 2xx. */
export async function api(base, route, body, token) {
  const res = await fetch(`${base}${route}`, {
    method: body ? "POST" : "GET",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Runs f over items, `width` at a time; resolves to the results in order. */
export async function pool(items, width, f) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i], i);
    }
  }));
  return out;
}

/**
 * Defensive headers on every response of the API (issue 12): the router registers
 * this middleware before anything else, so refusals, errors and 404s carry them
 * too. The API answers JSON, never a page, so its policy lets nothing load, run or
 * frame under it. The site's own files get theirs from pages/public/_headers,
 * which Cloudflare Pages applies in production and Workers static assets apply
 * under `make dev`; neither applies that file to what a Function or the Worker
 * answers, hence this middleware.
 */
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/** Browser features nothing of ours uses: refused to the document and any frame
 * (the site's _headers refuses the same). */
const NO_FEATURES = ["camera", "microphone", "geolocation", "payment", "usb", "serial", "bluetooth", "hid",
  "midi", "clipboardRead", "displayCapture", "publickeyCredentialsGet", "xrSpatialTracking"] as const;

const setHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
  },
  xFrameOptions: "DENY", // for browsers without frame-ancestors
  referrerPolicy: "no-referrer",
  permissionsPolicy: Object.fromEntries(NO_FEATURES.map((f) => [f, []])),
  // Defaults kept: X-Content-Type-Options nosniff, Cross-Origin-Resource-Policy and
  // Cross-Origin-Opener-Policy same-origin, Strict-Transport-Security (ignored over
  // plain http, as under `make dev`), Origin-Agent-Cluster, X-DNS-Prefetch-Control.
});

export const defensiveHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  // A WebSocket handshake's 101 is the Durable Object's own response, whose headers
  // are immutable, and a socket is not a document: it is left as it is.
  if (c.res.status === 101) return;
  // Any other response from an object (a refused upgrade: 429, 403) has immutable
  // headers too: a copy takes ours.
  c.res = new Response(c.res.body, c.res);
  // A served file (worker/files.ts) also asks for a CSP sandbox: kept beside ours.
  const sandbox = c.res.headers.get("Content-Security-Policy")?.includes("sandbox") === true;
  await setHeaders(c, async () => {});
  if (sandbox) c.res.headers.set("Content-Security-Policy", `${c.res.headers.get("Content-Security-Policy")}; sandbox`);
};

/**
 * The API on the site's own origin: every request that is not one of the site's
 * files (pages/public/_routes.json lists those, so they never run this) goes to
 * the chat Worker through the service binding API (pages/wrangler.toml), as it
 * came: method, path, headers (Origin, the token's subprotocols, the client's
 * address) and body. WebSocket upgrades pass through the same way.
 */
interface Env {
  API: { fetch(request: Request): Promise<Response> };
}

export const onRequest = ({ request, env }: { request: Request; env: Env }): Promise<Response> => env.API.fetch(request);

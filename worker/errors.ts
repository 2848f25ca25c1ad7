/**
 * The one table from core error codes (wasm/chat_error.h) to HTTP statuses, and
 * the structured error body every endpoint answers with:
 *   {"error": {"code": "<wire name>", "message": "<sentence>"}}
 * The Record type makes the compiler reject a code without a status.
 */
import { ERRORS, type ErrorCode } from "./generated/core";

export const HTTP_STATUS: Record<ErrorCode, number> = {
  out_of_memory: 503,
  buffer_too_small: 500,
  unknown_op: 500,
  bad_json: 400,
  not_object: 400,
  field_missing: 400,
  field_type: 400,
  username_too_short: 400,
  username_too_long: 400,
  username_invalid_chars: 400,
  password_too_short: 400,
  password_too_long: 400,
  password_invalid_utf8: 400,
  invalid_credentials: 401,
  token_missing: 401,
  token_malformed: 401,
  unauthorized: 401,
  crypto_failure: 500,
  username_taken: 409,
  not_found: 404,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  payload_too_large: 413,
  internal: 500,
  upgrade_required: 426,
  frame_too_large: 400,
  unknown_type: 400,
  ref_invalid: 400,
  room_name_empty: 400,
  room_name_too_long: 400,
  room_name_invalid: 400,
  room_name_taken: 409,
  room_not_found: 404,
  body_empty: 400,
  body_too_long: 400,
  client_id_invalid: 400,
  seq_invalid: 400,
  message_not_found: 404,
  forbidden: 403,
  rate_limited: 429,
  not_joined: 409,
  query_invalid: 400,
  room_full: 503,
  misuse: 500,
  user_not_found: 404,
  cannot_target_self: 400,
  already_friends: 409,
  already_requested: 409,
  request_refused: 403,
  user_blocked: 409,
  no_relation: 404,
  already_blocked: 409,
  not_blocked: 404,
  not_friends: 403,
  dm_closed: 403,
  not_member: 404,
  too_many_connections: 429,
  admin_only: 403,
  cannot_ban_admin: 403,
  already_banned: 409,
  not_banned: 404,
  already_admin: 409,
  banned: 403,
  ip_banned: 403,
  too_many_attempts: 429,
  reason_too_long: 400,
  origin_not_allowed: 403,
  limit_reached: 429,
  not_invited: 403,
  members_full: 409,
  wrong_password: 403,
  display_name_empty: 400,
  display_name_too_long: 400,
  display_name_invalid: 400,
  not_author: 403,
  reaction_invalid: 400,
  reactions_full: 409,
  reaction_limit: 409,
  reply_not_found: 404,
  attachment_too_large: 413,
  attachment_mismatch: 415,
  image_invalid: 415,
  image_too_large: 413,
  attachment_invalid: 400,
  length_required: 411,
  pwhash_pending: 500, // never answered: CoreHost.callHashing runs the hash and asks again
};

/** A JSON error response for a code, with its status and the core's message;
 * `details` adds fields to the error object (limit_reached names its budget:
 * {"budget", "limit"}). */
export function errorResponse(code: ErrorCode, headers?: HeadersInit, details?: Record<string, unknown>): Response {
  const status = HTTP_STATUS[code];
  const h = new Headers(headers);
  if (status === 401) h.set("WWW-Authenticate", 'Bearer realm="chat"');
  return Response.json({ error: { code, message: ERRORS[code].message, ...details } }, { status, headers: h });
}

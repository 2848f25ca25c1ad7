/**
 * The wire protocol as the client sees it. Frame type names, limits and error
 * codes come from the server's one definition (the C headers, generated into
 * worker/generated/core.ts by `make build`); nothing here is copied by hand.
 * The shapes below type the fields PROTOCOL.md describes; every `type` is checked
 * against the generated FRAMES, so a frame the server does not know cannot be
 * written here.
 */
import { ERRORS, FRAMES, LIMITS, type ErrorCode, type FrameType } from "../../worker/generated/core";

export { ERRORS, FRAMES, LIMITS };
export type { ErrorCode, FrameType };

export interface UserRef { id: number; username: string }
/** A person as shown: the username (the identity) and a display name beside it. */
export interface Profile extends UserRef { display_name: string | null }
/** One of my sessions (GET /account/sessions). */
export interface SessionInfo { id: number; created_at: number; last_seen_at: number | null; client: string | null; current: boolean }
export interface User extends UserRef { role: "USER" | "ADMIN" }

/** The quote a reply carries: its original as it is now (PROTOCOL.md). */
export interface Quote { seq: number; user: UserRef | null; excerpt: string; deleted?: boolean }

/** A file a message carries (issue 17): typed by the server from its bytes; an
 * image has its size. Fetched from `url` with the session (members only). */
export interface Attachment { id: string; type: string; size: number; name: string; url: string; width?: number; height?: number }

/** A reaction on a message, counted for me (people I block left out). */
export interface Reaction { emoji: string; count: number; me: boolean }

export interface Message {
  seq: number;
  user: UserRef;
  body: string;
  client_id: string;
  created_at: number;
  /** ms; set once the message was edited */
  edited_at?: number;
  reply_to?: Quote;
  reactions?: Reaction[];
  attachments?: Attachment[];
  /** history only: by someone I block (shown as a hidden message I may reveal) */
  blocked?: boolean;
}

/** A message's state in a resume's `changes` (PROTOCOL.md "Guarantees"). */
export type Change = (Message & { change: number; deleted?: undefined }) | { seq: number; deleted: true; change: number };

export interface Room {
  id: number;
  name: string;
  creator: UserRef;
  created_at: number;
  last_activity_at: number;
  /** Membership (issue 15): a private room; and, in my rooms, my standing and counts. */
  private?: boolean;
  standing?: "member" | "invited";
  last_seq?: number;
  unread?: number;
  mentions?: number;
}

export interface Conversation {
  id: number;
  with: UserRef;
  last_message: { seq: number; at: number; user_id: number; body: string } | null;
  unread: number;
}

/** A friend carries whether they are online (issue 15: GET /friends, friend_presence). */
export interface Friends { friends: (UserRef & { online?: boolean })[]; incoming: UserRef[]; outgoing: UserRef[]; blocked: UserRef[] }

export interface Session { user: User; token: string; expires_at: number }

export interface Ban { user: UserRef; by: UserRef; reason: string | null; at: number; ips: string[] }
export interface AuditEntry {
  id: number; action: string; target: UserRef; actor: UserRef | null;
  reason: string | null; ip: boolean; ips: string[]; at: number;
}

/** A frame whose type is one the server defines. */
type Frame<T extends FrameType, F = object> = { type: T; ref?: string } & F;

/** The two message frame types: rooms use one, direct-message conversations the other. */
export type MessageType = Extract<FrameType, "new_chat_message" | "new_direct_message">;

/** Frames the server sends. */
export type ServerFrame =
  | Frame<"connection", { protocol: string; user: User; room?: { id: number }; conversation?: { id: number };
      /** Rooms and conversations: the type of message frames on this socket, and
       * whether I may delete anyone's messages (the server's rules, told). */
      message_type?: MessageType; may_delete_any?: boolean }>
  | Frame<"pong">
  | Frame<"error", { code: ErrorCode | string; message: string }>
  | Frame<"friend_request" | "friend_accepted" | "friend_request_declined" | "friend_request_cancelled" | "friend_removed", { user: UserRef }>
  | Frame<"history", { messages: Message[]; has_more: boolean; since: number | null; last_seq: number;
      /** the change cursor, and (with changes_since) the messages changed after it */
      change: number; changes?: Change[]; changes_more?: boolean }>
  | Frame<MessageType, Message & { room_id?: number; conversation_id?: number; duplicate?: boolean }>
  | Frame<"message_deleted", { seq: number; deleted_by: number; change: number; room_id?: number; conversation_id?: number }>
  | Frame<"message_edited", { seq: number; body: string; edited_at: number; change: number; room_id?: number; conversation_id?: number }>
  | Frame<"reactions_changed", { seq: number; emoji: string; user_id: number; added: boolean; change: number;
      room_id?: number; conversation_id?: number }>
  | Frame<"blocks_changed", { blocks: number[] }>
  | Frame<"user_updated", { user: Profile }>
  | Frame<"account_deleted", { user_id: number; tombstone: string; change?: number }>
  | Frame<"room_activity", { room_id: number; last_seq: number; unread: number; mentions: number }>
  | Frame<"mention", { room_id: number; seq: number; from: UserRef }>
  | Frame<"room_invite", { room: { id: number; name: string }; user: UserRef }>
  | Frame<"presence", { room_id: number; online: number[] }>
  | Frame<"presence_changed", { room_id: number; user_id: number; online: boolean }>
  | Frame<"friends_presence", { online: number[] }>
  | Frame<"friend_presence", { user_id: number; online: boolean }>
  | Frame<"typing", { room_id: number; user_id: number; expires_in: number }>;

/** What arrives on a socket: a frame, or a busy room's broadcasts coalesced into
 * one "batch" frame that carries them in order (PROTOCOL.md). */
export type WireFrame = ServerFrame | Frame<"batch", { frames: ServerFrame[] }>;

/** Frames the client sends. */
export type ClientFrame =
  | Frame<"ping">
  | Frame<"join_room", { since?: number; changes_since?: number }>
  | Frame<MessageType, { body: string; client_id: string; reply_to?: number; attachments?: string[] }>
  | Frame<"delete_message", { seq: number }>
  | Frame<"edit_message", { seq: number; body: string }>
  | Frame<"react" | "unreact", { seq: number; emoji: string }>
  | Frame<"typing">
  | Frame<"mark_read", { seq: number }>;

/** The message of an error code, as the server words it. */
export function errorMessage(code: string): string {
  return (ERRORS as Record<string, { message: string }>)[code]?.message ?? "Something went wrong.";
}

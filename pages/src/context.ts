/** What every screen of a signed-in person shares: who they are, their lists,
 * and the calls that change them (each answered by the server). */
import { createContext, useContext } from "react";
import type { Conversation, Friends, Room, User } from "./protocol";
import type { SocketStatus } from "./socket";

export type Relation = "add" | "remove" | "block" | "unblock";

export interface Chat {
  me: User;
  token: string;
  rooms: Room[];
  dms: Conversation[];
  friends: Friends;
  refreshRooms(): Promise<void>;
  refreshDms(): Promise<void>;
  refreshFriends(): Promise<void>;
  /** POST /users/<relation> {username}; resolves to null or the server's refusal. */
  relate(relation: Relation, username: string): Promise<string | null>;
  /** Opens (creating on first use) the conversation with a friend. */
  openDm(username: string): Promise<string | null>;
  /** A socket could not connect: is the session still valid? */
  checkSession(): void;
  signOut(message?: string): void;
  /** A socket was closed for good (4001 the session ended, 4003 a ban): the
   * matching screen. */
  endedBy(code: number, reason: string): void;
  setChannelStatus(s: SocketStatus | null): void;
  say(message: string): void;
}

export const ChatContext = createContext<Chat | null>(null);

export function useChat(): Chat {
  const c = useContext(ChatContext);
  if (!c) throw new Error("useChat outside ChatContext");
  return c;
}

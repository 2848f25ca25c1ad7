/*
 * chat_frames.h -- the type of every WebSocket frame, in one place.
 *
 * A frame is a JSON object whose "type" is one of these names (PROTOCOL.md
 * describes each one's fields). The core names a type only through CHAT_FRAME(),
 * which fails to compile for a name missing from the list, so the list cannot
 * fall behind the code. wasm/tools/gen_protocol.c prints it into
 * worker/generated/core.ts as FRAMES, which the web client imports.
 *
 * X(name, direction): direction is "in" (client to server), "out" (server to
 * client) or "both".
 */
#ifndef CHAT_FRAMES_H
#define CHAT_FRAMES_H

#define CHAT_FRAMES(X)                    \
  X(connection, "out")                    \
  X(ping, "in")                           \
  X(pong, "out")                          \
  X(error, "out")                         \
  X(friend_request, "out")                \
  X(friend_accepted, "out")               \
  X(friend_request_declined, "out")       \
  X(friend_request_cancelled, "out")      \
  X(friend_removed, "out")                \
  X(join_room, "in")                      \
  X(history, "out")                       \
  X(new_chat_message, "both")             \
  X(new_direct_message, "both")           \
  X(delete_message, "in")                 \
  X(message_deleted, "out")               \
  X(blocks_changed, "out")               \
  X(batch, "out")                         \
  X(room_invite, "out")                   \
  X(mark_read, "in")                      \
  X(room_activity, "out")                 \
  X(mention, "out")                       \
  X(presence, "out")                      \
  X(presence_changed, "out")              \
  X(typing, "both")                         \
  X(user_updated, "out")                  \
  X(account_deleted, "out")               \
  X(friends_presence, "out")              \
  X(friend_presence, "out")               \
  X(edit_message, "in")                   \
  X(message_edited, "out")                \
  X(react, "in")                          \
  X(unreact, "in")                        \
  X(reactions_changed, "out")

#define CHAT_FRAME_ENUM_(name, dir) CHAT_FRAME_ID_##name,
enum chat_frame_id { CHAT_FRAMES(CHAT_FRAME_ENUM_) CHAT_FRAME_COUNT };
#undef CHAT_FRAME_ENUM_

/* The wire name of a frame type, as a string literal; a compile error if `name`
 * is not in CHAT_FRAMES. */
#define CHAT_FRAME(name) ((void)CHAT_FRAME_ID_##name, #name)

#endif

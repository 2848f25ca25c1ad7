/*
 * room_name.h -- the room directory's rule for names (POST /rooms, api.h
 * CHAT_OP_ROOM_CREATE). Not a rule of the room state machine: a room object never
 * sees its name. Pure: no allocation.
 *
 * A name is 1..CHAT_ROOM_NAME_MAX code points of UTF-8 without control characters
 * (C0, DEL, C1) and without a leading or trailing space; it is unique without
 * regard to ASCII case (chat_limits.h says why only ASCII).
 */
#ifndef ROOM_NAME_H
#define ROOM_NAME_H

#include <stddef.h>

/* Check a room name (len bytes) and write its uniqueness key, the name with ASCII
 * letters lowercased, into key (capacity 4 * CHAT_ROOM_NAME_MAX + 1, NUL-terminated).
 * Errors: CHAT_E_ROOM_NAME_EMPTY, CHAT_E_ROOM_NAME_TOO_LONG, CHAT_E_ROOM_NAME_INVALID. */
int room_check_name(const char *name, size_t len, char *key);

#endif

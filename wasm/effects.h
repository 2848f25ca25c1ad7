/*
 * effects.h -- the list of effects a room event produces, and its wire form.
 *
 * While an event runs, effects are JSON objects appended to a list, and the
 * frames they send are encoded once each into a separate frame area, referenced
 * by [offset, length]. effects_write() lays the result out for the shell as
 *
 *   [u32 little-endian length of J][J = {"effects":[...]} as JSON][frames]
 *
 * so a frame is never escaped inside another JSON document and every recipient
 * gets the same bytes. The effect kinds are room.h's ROOM_EFFECTS; callers name
 * them with ROOM_EFFECT().
 */
#ifndef EFFECTS_H
#define EFFECTS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cJSON.h"

typedef struct {
  cJSON *root, *list;         /* {"effects": list} */
  buf frames;                 /* the encoded frames, back to back */
} effects;

/* Starts an empty list. Returns CHAT_OK or CHAT_E_NOMEM (then nothing to free). */
int effects_init(effects *e);

/* Releases everything. Accepts an initialised or a zeroed struct. */
void effects_free(effects *e);

/* Appends {"op": op} (a ROOM_EFFECT()) and returns it for the caller to fill (the list owns it), or
 * NULL when memory is exhausted. */
cJSON *effects_add(effects *e, const char *op);

/* Encodes `frame` into the frame area and appends {"op":"send","to":to,"frame":
 * [offset,length]}. Takes ownership of frame and of to (an array of connection
 * ids); either may be NULL (a failed allocation): CHAT_E_NOMEM. */
int effects_send(effects *e, cJSON *frame, cJSON *to);

/* effects_send for a frame already encoded: n bytes of text (copied; the caller
 * keeps it). Takes ownership of to. */
int effects_send_text(effects *e, const char *text, size_t n, cJSON *to);

/* Appends {"op":"notify","user_id":u,"frame":[offset,length]} for n bytes of frame
 * text (copied): the shell delivers it to that user's personal sockets. */
int effects_notify_text(effects *e, int64_t user_id, const char *text, size_t n);

/* effects_send to one connection. */
int effects_send_one(effects *e, int64_t conn, cJSON *frame);

/* Sends the error frame {"type":"error","code","message","ref"?} to one
 * connection; ref may be NULL. */
int effects_error(effects *e, int64_t conn, int code, const char *ref);

/* Writes the wire form into out (capacity cap) and returns its length. When it
 * does not fit, it is allocated (chat_malloc) into *spill, with its length in
 * *spill_len, and CHAT_E_BUFFER_TOO_SMALL is returned: the caller keeps it for a
 * later read. *out_len is the length either way. CHAT_E_NOMEM: nothing written. */
int effects_write(const effects *e, unsigned char *out, size_t cap, size_t *out_len,
                  unsigned char **spill);

#endif

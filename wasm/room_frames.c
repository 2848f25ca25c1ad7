/* Frames from clients (ping, join_room, a new message, delete_message) and the
 * answers of storage that finish them (room.h; shared state: room_internal.h).
 * Bad input from a client is never an error of the event: it gets an error frame. */
#include <string.h>

#include "chat_alloc.h"
#include "chat_error.h"
#include "chat_frames.h"
#include "json_in.h"
#include "json_out.h"
#include "message.h"
#include "room_internal.h"

/* Rate limit (room_admit_frame): every frame costs a token per started
 * CHAT_FRAME_TOKEN_BYTES (room_frame_cost); refused frames cost flood tokens, and a
 * client out of those is disconnected. A refusal echoes the frame's ref (when it
 * has a valid one; a frame of more than one token is weighed before it is read, so
 * its refusal has none), and the user's flood bucket, which takes 30 s to refill,
 * is kept by the shell (a limits effect) so that neither a hibernation nor a
 * reconnect hands back a full allowance. Returns 1 to go on, 0 when handled (with
 * the result in *rc). */
static int admit(room *r, effects *e, room_change *c, const room_member *m, const char *ref, double cost, double now,
                 int *rc) {
  room_user *l = room_find_user(r, m->user_id);
  *rc = CHAT_OK;
  if (!l) return 1;
  c->limit = l;
  c->before = *l;
  switch (room_admit_frame(&l->rate, &l->flood, cost, r->rate_burst, r->rate_per_second, now)) {
    case ROOM_ADMIT: return 1;
    case ROOM_REFUSE: *rc = effects_error(e, m->conn, CHAT_E_RATE_LIMITED, ref); break;
    case ROOM_EVICT:
      *rc = room_close_socket(e, c, m->conn, CHAT_CLOSE_POLICY, "rate limit exceeded");
      if (*rc >= 0 && m->joined && l->n_joined == 1) *rc = room_departed(r, e, c, m->conn, m->user_id, now);
      break;
  }
  if (*rc >= 0) *rc = room_limits_effect(e, l);
  return 0;
}

static int pong(effects *e, int64_t conn, const room_pending *p) {
  cJSON *f = cJSON_CreateObject();
  if (!f || json_add_str(f, "type", CHAT_FRAME(pong)) < 0 || (p->has_ref && json_add_str(f, "ref", p->ref) < 0)) {
    cJSON_Delete(f);
    return CHAT_E_NOMEM;
  }
  return effects_send_one(e, conn, f);
}

/* join_room {since?}: asks storage for the history to send (the last page, or
 * everything after `since`), leaving out authors the user blocks. */
static int on_join(const room *r, effects *e, room_change *c, const room_member *m, const cJSON *f, room_pending *p) {
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(f, "since"),
              *cs = cJSON_GetObjectItemCaseSensitive(f, "changes_since");
  if (s && !cJSON_IsNull(s)) {
    if (json_get_uint53(s, &p->since) < 0) return CHAT_E_SEQ_INVALID;
    p->has_since = 1;
  }
  if (cs && !cJSON_IsNull(cs)) {
    if (json_get_uint53(cs, &p->changes_since) < 0) return CHAT_E_SEQ_INVALID;
    p->has_changes = p->has_since; /* changes to the messages the client has: those up to since */
  }
  p->kind = ROOM_P_JOIN;
  p->limit = CHAT_HISTORY_PAGE + 1; /* one more than a page tells whether more are missing */
  cJSON *q = room_history_query(p->has_since ? &p->since : NULL, NULL, p->limit, room_blocks_json(r, m->user_id),
                                m->user_id);
  if (q && p->has_changes &&
      (json_add_num(q, "changes_after", (double)p->changes_since) < 0 ||
       json_add_num(q, "changes_seq_max", (double)p->since) < 0)) {
    cJSON_Delete(q);
    return CHAT_E_NOMEM;
  }
  return room_ask(e, c, q, p);
}

/* A new message: validate, shed past the room's rate, and queue it (a retry of a
 * message already waiting is dropped: its acknowledgement is on its way). */
static int on_send(room *r, effects *e, room_change *c, const room_member *m, const cJSON *f, double now) {
  const char *body, *cid;
  size_t blen, clen;
  int rc;
  if ((rc = json_get_string(f, "body", &body, &blen)) < 0 ||
      (rc = json_get_string(f, "client_id", &cid, &clen)) < 0)
    return rc;
  if (!message_valid_client_id(cid, clen)) return CHAT_E_CLIENT_ID_INVALID;
  const cJSON *files = cJSON_GetObjectItemCaseSensitive(f, "attachments");
  size_t n_files;
  if ((rc = message_check_attachments(files, &n_files)) < 0) return rc;
  /* with files, the text may be empty */
  if ((rc = message_check_body(body, blen)) < 0 && !(rc == CHAT_E_BODY_EMPTY && n_files)) return rc;
  const cJSON *reply = cJSON_GetObjectItemCaseSensitive(f, "reply_to");
  int64_t reply_to = 0;
  if (reply && !cJSON_IsNull(reply)) {
    if (json_get_uint53(reply, &reply_to) < 0) return CHAT_E_SEQ_INVALID;
    if ((rc = room_may_reply(reply_to, r->next_seq)) < 0) return rc;
  }
  if (room_outbox_holds(r, m->user_id, cid)) return CHAT_OK;
  /* Load shedding: past the room's rate a message is refused before any storage
   * work. No flood token is taken: the sender kept to its own limit. */
  c->room_before = r->room_rate;
  c->room_drawn = 1;
  if (!room_accepts_message(&r->room_rate, r->room_burst, r->room_per_second, now)) return CHAT_E_RATE_LIMITED;
  cJSON *msg = cJSON_CreateObject();
  if (!msg || json_add_num(msg, "user_id", (double)m->user_id) < 0 || json_add_str(msg, "username", m->username) < 0 ||
      json_add_str(msg, "body", body) < 0 || json_add_str(msg, "client_id", cid) < 0 ||
      json_add_num(msg, "created_at", now) < 0 || (reply_to && json_add_num(msg, "reply_to", (double)reply_to) < 0) ||
      (n_files && json_add_copy(msg, "attachments", files) < 0)) {
    cJSON_Delete(msg);
    return CHAT_E_NOMEM;
  }
  c->q = (room_outbox_entry){NULL, 0, m->user_id, msg, m->conn, 0};
  /* its size once a frame, at most: the body escaped (a control character takes 6
   * bytes, \u0001), and the other fields */
  return room_enqueue(r, e, c, 6 * blen + 512, now);
}

/* mark_read {seq}: a member's read marker moves forward (room_marker_next), never
 * past the last stored message; a marker that would not move changes nothing. */
static int on_mark_read(const room *r, effects *e, room_change *c, const room_member *m, const cJSON *f) {
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(f, "seq");
  const room_user *u = room_find_user(r, m->user_id);
  int64_t seq;
  int rc = s ? json_get_uint53(s, &seq) : CHAT_E_FIELD_MISSING;
  if (rc < 0) return rc == CHAT_E_FIELD_MISSING ? rc : CHAT_E_SEQ_INVALID;
  if ((rc = room_may_mark_read(u && u->member)) < 0) return rc;
  int64_t next = room_marker_next(u->read_seq, seq, r->next_seq - 1);
  if (next == u->read_seq) return CHAT_OK;
  cJSON *o = effects_add(e, ROOM_EFFECT(read_marker));
  if (!o || json_add_num(o, "user_id", (double)m->user_id) < 0 || json_add_num(o, "seq", (double)next) < 0)
    return CHAT_E_NOMEM;
  c->marked = 1;
  c->mark_user = m->user_id;
  c->mark_seq = next;
  return CHAT_OK;
}

/* presence_changed {room_id, user_id, online} or typing {room_id, user_id,
 * expires_in}, through the outbox (so it rides in a busy room's batches), with
 * `user` as its author: a user who blocks them does not get it. */
static int queue_about(room *r, effects *e, room_change *c, int64_t conn, int64_t user, int online, int typing,
                       double now) {
  cJSON *f = cJSON_CreateObject();
  int rc = f ? json_add_str(f, "type", typing ? CHAT_FRAME(typing) : CHAT_FRAME(presence_changed)) : CHAT_E_NOMEM;
  if (rc >= 0) rc = json_add_num(f, "room_id", (double)r->id);
  if (rc >= 0) rc = json_add_num(f, "user_id", (double)user);
  if (rc >= 0) rc = typing ? json_add_num(f, "expires_in", CHAT_TYPING_EXPIRES_MS) : json_add_bool(f, "online", online);
  char *text = rc >= 0 ? cJSON_PrintUnformatted(f) : NULL;
  cJSON_Delete(f);
  if (!text) return CHAT_E_NOMEM;
  /* typing and a departure are not for the user's own sockets (their last is closing) */
  c->q = (room_outbox_entry){text, strlen(text), user, NULL, conn, typing || !online};
  return room_broadcast(r, e, c, c->q.len, now);
}

/* typing {}: the room's other joined sockets hear it, at most once per user every
 * CHAT_TYPING_INTERVAL_MS (the others are dropped); never stored. */
static int on_typing(room *r, effects *e, room_change *c, const room_member *m, double now) {
  const room_user *u = room_find_user(r, m->user_id);
  int rc = room_may_type(m->joined);
  if (rc < 0) return rc;
  if (u->typed && !room_typing_due(u->typed_at, now)) return CHAT_OK;
  c->typed = 1;
  c->mark_user = m->user_id;
  c->at = now;
  return queue_about(r, e, c, m->conn, m->user_id, 1, 1, now);
}

int room_departed(room *r, effects *e, room_change *c, int64_t conn, int64_t user, double now) {
  return r->kind.dm ? CHAT_OK : queue_about(r, e, c, conn, user, 0, 0, now);
}

int room_on_close(room *r, effects *e, room_change *c, int64_t conn, double now) {
  const room_member *m = room_find_member(r, conn);
  const room_user *u = m ? room_find_user(r, m->user_id) : NULL;
  int rc = room_change_remove(c, conn);
  if (rc < 0 || !u || r->kind.dm || !m->joined || u->n_joined != 1) return rc;
  return queue_about(r, e, c, conn, m->user_id, 0, 0, now); /* their last joined socket: gone */
}

/* delete_message {seq}: asks storage for the message; the answer decides. */
static int on_delete(effects *e, room_change *c, const cJSON *f, room_pending *p) {
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(f, "seq");
  int rc = s ? json_get_uint53(s, &p->seq) : CHAT_E_FIELD_MISSING;
  if (rc < 0) return rc == CHAT_E_FIELD_MISSING ? rc : CHAT_E_SEQ_INVALID;
  cJSON *q = room_query(ROOM_QUERY(message));
  if (!q || json_add_num(q, "seq", (double)p->seq) < 0) {
    cJSON_Delete(q);
    return CHAT_E_NOMEM;
  }
  p->kind = ROOM_P_DELETE;
  return room_ask(e, c, q, p);
}

/* The seq of a frame that names a stored message. */
static int frame_seq(const cJSON *f, int64_t *seq) {
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(f, "seq");
  int rc = s ? json_get_uint53(s, seq) : CHAT_E_FIELD_MISSING;
  return rc < 0 && rc != CHAT_E_FIELD_MISSING ? CHAT_E_SEQ_INVALID : rc;
}

/* edit_message {seq, body}: the body is checked as a new one's, then storage is
 * asked for the message; the answer decides (room_answer_edit). */
static int on_edit(effects *e, room_change *c, const cJSON *f, room_pending *p) {
  const char *body;
  size_t blen;
  int rc;
  if ((rc = frame_seq(f, &p->seq)) < 0 || (rc = json_get_string(f, "body", &body, &blen)) < 0 ||
      (rc = message_check_body(body, blen)) < 0)
    return rc;
  cJSON *q = room_query(ROOM_QUERY(message));
  if (!q || json_add_num(q, "seq", (double)p->seq) < 0 || !(p->text = chat_malloc(blen + 1))) {
    cJSON_Delete(q);
    return CHAT_E_NOMEM;
  }
  memcpy(p->text, body, blen + 1);
  p->kind = ROOM_P_EDIT;
  rc = room_ask(e, c, q, p);
  if (rc < 0 && !c->ask) room_pending_free(p);
  return rc;
}

/* react / unreact {seq, emoji}: the emoji is checked (message_check_reaction),
 * then storage is asked what the message holds; the answer decides
 * (room_answer_react). */
static int on_react(effects *e, room_change *c, const room_member *m, const cJSON *f, room_pending *p, int add) {
  const char *emoji;
  size_t n;
  int rc;
  if ((rc = frame_seq(f, &p->seq)) < 0 || (rc = json_get_string(f, "emoji", &emoji, &n)) < 0) return rc;
  if ((rc = message_check_reaction(emoji, n)) < 0) return rc;
  memcpy(p->emoji, emoji, n + 1);
  p->add = add;
  p->kind = ROOM_P_REACT;
  cJSON *q = room_query(ROOM_QUERY(reaction));
  if (!q || json_add_num(q, "seq", (double)p->seq) < 0 || json_add_num(q, "user_id", (double)m->user_id) < 0 ||
      json_add_str(q, "emoji", emoji) < 0) {
    cJSON_Delete(q);
    return CHAT_E_NOMEM;
  }
  return room_ask(e, c, q, p);
}

int room_on_frame(room *r, effects *e, room_change *c, int64_t conn, const unsigned char *in, size_t len,
                  double now) {
  const room_member *m = room_find_member(r, conn);
  cJSON *f = NULL;
  room_pending p = {0};
  const char *type = NULL, *message_type = room_message_type(&r->kind);
  size_t n;
  int rc;
  if (!m) return CHAT_E_MISUSE;
  p.conn = conn;
  /* A big frame is weighed before it is read: reading is what it would cost. */
  const double cost = room_frame_cost(len);
  int go_on_rc;
  if (cost > 1 && !admit(r, e, c, m, NULL, cost, now, &go_on_rc)) return go_on_rc;
  rc = len > CHAT_FRAME_MAX ? CHAT_E_FRAME_TOO_LARGE : json_parse_object(in, len, &f);
  if (rc == CHAT_E_NOMEM) return rc;
  if (rc >= 0) {
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(f, "ref");
    if (ref && (!cJSON_IsString(ref) || strlen(ref->valuestring) > CHAT_REF_MAX)) {
      rc = CHAT_E_REF_INVALID;
    } else if (ref) {
      strcpy(p.ref, ref->valuestring);
      p.has_ref = 1;
    }
  }
  /* every frame, bad ones too, takes its token before it is acted on */
  if (cost == 1 && !admit(r, e, c, m, p.has_ref ? p.ref : NULL, cost, now, &go_on_rc)) {
    cJSON_Delete(f);
    return go_on_rc;
  }
  if (rc >= 0) rc = json_get_string(f, "type", &type, &n);
  if (rc >= 0) {
    if (strcmp(type, CHAT_FRAME(ping)) == 0) rc = pong(e, conn, &p);
    else if (strcmp(type, CHAT_FRAME(join_room)) == 0) rc = on_join(r, e, c, m, f, &p);
    else if (strcmp(type, message_type) == 0) {
      if ((rc = room_may_post(&r->kind, m->joined)) >= 0) rc = on_send(r, e, c, m, f, now);
    } else if (strcmp(type, CHAT_FRAME(typing)) == 0 && !r->kind.dm) {
      rc = on_typing(r, e, c, m, now);
    } else if (strcmp(type, CHAT_FRAME(mark_read)) == 0 && !r->kind.dm) {
      rc = on_mark_read(r, e, c, m, f);
    } else if (strcmp(type, CHAT_FRAME(delete_message)) == 0) {
      if ((rc = room_may_ask_delete(m->joined)) >= 0) rc = on_delete(e, c, f, &p);
    } else if (strcmp(type, CHAT_FRAME(edit_message)) == 0) {
      if ((rc = room_may_post(&r->kind, m->joined)) >= 0) rc = on_edit(e, c, f, &p);
    } else if (strcmp(type, CHAT_FRAME(react)) == 0 || strcmp(type, CHAT_FRAME(unreact)) == 0) {
      if ((rc = room_may_post(&r->kind, m->joined)) >= 0) rc = on_react(e, c, m, f, &p, strcmp(type, CHAT_FRAME(react)) == 0);
    } else {
      rc = CHAT_E_UNKNOWN_TYPE;
    }
  }
  cJSON_Delete(f);
  if (rc >= 0 || rc == CHAT_E_NOMEM) return rc;
  /* Bad input from the client: an error frame to it, and nothing else. */
  return effects_error(e, conn, rc, p.has_ref ? p.ref : NULL);
}

/* ---- answers ------------------------------------------------------------------ */

/* {type, room_id (or conversation_id), seq, change}: a change to stored message
 * seq, which gets the room's next change number. */
static cJSON *change_frame(const room *r, room_change *c, const char *type, int64_t seq) {
  cJSON *f = cJSON_CreateObject();
  c->n_changes = 1;
  if (!f || json_add_str(f, "type", type) < 0 || json_add_num(f, room_id_key(&r->kind), (double)r->id) < 0 ||
      json_add_num(f, "seq", (double)seq) < 0 || json_add_num(f, "change", (double)r->next_change) < 0) {
    cJSON_Delete(f);
    return NULL;
  }
  return f;
}

/* Queues a change's frame (taken) as a broadcast that those who block `author`
 * do not get (0: everyone gets it). */
static int queue_change(room *r, effects *e, room_change *c, cJSON *f, int64_t author, int64_t conn, double now) {
  char *text = cJSON_PrintUnformatted(f);
  cJSON_Delete(f);
  if (!text) return CHAT_E_NOMEM;
  c->q = (room_outbox_entry){text, strlen(text), author, NULL, conn, 0};
  return room_enqueue(r, e, c, c->q.len, now);
}

/* The stored message an answer names ("row"), for the socket that asked (*m): 1,
 * with *w, to go on; 0 when it is settled in *rc: an error frame to that socket
 * for a message that is missing or deleted, or the call's failure. */
static int live_message(const room *r, effects *e, const room_pending *p, const cJSON *a, const room_member **m,
                        message_row *w, int *rc) {
  const cJSON *found = cJSON_GetObjectItemCaseSensitive(a, "row");
  *m = room_find_member(r, p->conn);
  *rc = CHAT_E_MISUSE;
  if (!*m) return 0;
  if (found && !cJSON_IsNull(found) && (*rc = message_read(found, w)) < 0) return 0;
  if (!found || cJSON_IsNull(found) || w->deleted) {
    *rc = effects_error(e, p->conn, CHAT_E_MESSAGE_NOT_FOUND, p->has_ref ? p->ref : NULL);
    return 0;
  }
  return 1;
}

/* The message to delete, from storage: the rule (room_may_delete) decides, then a
 * tombstone now and a message_deleted broadcast through the outbox. */
int room_answer_delete(room *r, effects *e, room_change *c, const room_pending *p, const cJSON *a, double now) {
  const room_member *m;
  const char *ref = p->has_ref ? p->ref : NULL;
  message_row w;
  int rc;
  if (!live_message(r, e, p, a, &m, &w, &rc)) return rc;
  if ((rc = room_may_delete(m->user_id, m->role, w.user_id)) < 0) return effects_error(e, p->conn, rc, ref);
  cJSON *t = effects_add(e, ROOM_EFFECT(tombstone)), *f = change_frame(r, c, CHAT_FRAME(message_deleted), w.seq);
  if (!t || json_add_num(t, "seq", (double)w.seq) < 0 || json_add_num(t, "at", now) < 0 ||
      json_add_num(t, "change", (double)r->next_change) < 0 || !f ||
      json_add_num(f, "deleted_by", (double)m->user_id) < 0) {
    cJSON_Delete(f);
    return CHAT_E_NOMEM;
  }
  return queue_change(r, e, c, f, 0, m->conn, now);
}

/* The message to edit, from storage: the rule (room_may_edit) decides, then an edit
 * effect now and a message_edited broadcast through the outbox. The same body
 * again changes nothing. */
int room_answer_edit(room *r, effects *e, room_change *c, const room_pending *p, const cJSON *a, double now) {
  const room_member *m;
  const char *ref = p->has_ref ? p->ref : NULL;
  message_row w;
  int rc;
  if (!live_message(r, e, p, a, &m, &w, &rc)) return rc;
  if ((rc = room_may_edit(m->user_id, w.user_id)) < 0) return effects_error(e, p->conn, rc, ref);
  if (strcmp(w.body, p->text) == 0) return CHAT_OK;
  cJSON *o = effects_add(e, ROOM_EFFECT(edit)), *f = change_frame(r, c, CHAT_FRAME(message_edited), w.seq);
  if (!o || json_add_num(o, "seq", (double)w.seq) < 0 || json_add_str(o, "body", p->text) < 0 ||
      json_add_num(o, "at", now) < 0 || json_add_num(o, "change", (double)r->next_change) < 0 ||
      json_add_num(o, "keep", CHAT_EDIT_HISTORY_MAX) < 0 || !f || json_add_str(f, "body", p->text) < 0 ||
      json_add_num(f, "edited_at", now) < 0) {
    cJSON_Delete(f);
    return CHAT_E_NOMEM;
  }
  return queue_change(r, e, c, f, m->user_id, m->conn, now);
}

/* What the message holds, from storage: room_reaction_decide decides, then a react
 * effect now and a reactions_changed broadcast through the outbox, which those who
 * block the reactor do not get (their counts leave them out). */
int room_answer_react(room *r, effects *e, room_change *c, const room_pending *p, const cJSON *a, double now) {
  const room_member *m;
  const char *ref = p->has_ref ? p->ref : NULL;
  message_row w;
  int64_t distinct, mine_n;
  int rc;
  if (!live_message(r, e, p, a, &m, &w, &rc)) return rc;
  if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(a, "distinct"), &distinct)) < 0 ||
      (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(a, "my_count"), &mine_n)) < 0)
    return rc;
  rc = room_reaction_decide(p->add, json_truthy(cJSON_GetObjectItemCaseSensitive(a, "present")),
                            json_truthy(cJSON_GetObjectItemCaseSensitive(a, "mine")), distinct, mine_n);
  if (rc < 0) return effects_error(e, p->conn, rc, ref);
  if (rc == ROOM_REACT_NONE) return CHAT_OK;
  cJSON *o = effects_add(e, ROOM_EFFECT(react)), *f = change_frame(r, c, CHAT_FRAME(reactions_changed), w.seq);
  if (!o || json_add_num(o, "seq", (double)w.seq) < 0 || json_add_str(o, "emoji", p->emoji) < 0 ||
      json_add_num(o, "user_id", (double)m->user_id) < 0 || json_add_bool(o, "add", p->add) < 0 ||
      json_add_num(o, "at", now) < 0 || json_add_num(o, "change", (double)r->next_change) < 0 || !f ||
      json_add_str(f, "emoji", p->emoji) < 0 || json_add_num(f, "user_id", (double)m->user_id) < 0 ||
      json_add_bool(f, "added", p->add) < 0) {
    cJSON_Delete(f);
    return CHAT_E_NOMEM;
  }
  return queue_change(r, e, c, f, m->user_id, m->conn, now);
}

int room_on_erase(room *r, effects *e, room_change *c, const unsigned char *in, size_t len, double now) {
  cJSON *facts = NULL;
  const char *tombstone;
  size_t n;
  int64_t user;
  int rc = json_parse_object(in, len, &facts);
  if (rc >= 0) rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "user_id"), &user);
  if (rc >= 0) rc = json_get_string(facts, "tombstone", &tombstone, &n);
  if (rc < 0) {
    cJSON_Delete(facts);
    return rc;
  }
  /* message seq's change is next_change + seq - 1: one number each, whoever wrote it */
  int64_t last = r->next_change + r->next_seq - 2;
  cJSON *o = effects_add(e, ROOM_EFFECT(erase)), *f = cJSON_CreateObject();
  if (!o || json_add_num(o, "user_id", (double)user) < 0 || json_add_num(o, "at", now) < 0 ||
      json_add_str(o, "tombstone", tombstone) < 0 || json_add_num(o, "change", (double)r->next_change) < 0 || !f ||
      json_add_str(f, "type", CHAT_FRAME(account_deleted)) < 0 || json_add_num(f, "user_id", (double)user) < 0 ||
      json_add_str(f, "tombstone", tombstone) < 0 || json_add_num(f, "change", (double)last) < 0)
    rc = CHAT_E_NOMEM;
  cJSON_Delete(facts);
  if (rc < 0) {
    cJSON_Delete(f);
    return rc;
  }
  rc = queue_change(r, e, c, f, 0, 0, now);
  c->n_changes = r->next_seq - 1;
  return rc;
}

/* The history to join with, from storage: the history frame, and from now on the
 * socket receives messages (an attach remembers it). */
/* presence {room_id, online: [user ids]}: who has a joined socket here, less those
 * `viewer` blocks, and `viewer` itself (who is joining). */
static int presence_frame(const room *r, effects *e, int64_t conn, int64_t viewer) {
  const room_user *v = room_find_user(r, viewer);
  cJSON *f = cJSON_CreateObject(), *online = cJSON_CreateArray();
  int rc = f && online ? json_add_str(f, "type", CHAT_FRAME(presence)) : CHAT_E_NOMEM;
  if (rc >= 0) rc = json_add_num(f, "room_id", (double)r->id);
  if (rc >= 0) rc = json_push(online, cJSON_CreateNumber((double)viewer));
  for (size_t i = 0; rc >= 0 && i < r->n_users; i++) {
    const room_user *u = &r->users[i];
    int hidden = !u->n_joined || u->user_id == viewer;
    for (size_t b = 0; !hidden && v && b < v->n_blocks; b++) hidden = v->blocks[b] == u->user_id;
    if (!hidden) rc = json_push(online, cJSON_CreateNumber((double)u->user_id));
  }
  if (rc >= 0) {
    rc = json_add_item(f, "online", online);
    online = NULL;
  }
  cJSON_Delete(online);
  if (rc < 0) {
    cJSON_Delete(f);
    return rc;
  }
  return effects_send_one(e, conn, f);
}

int room_answer_join(room *r, effects *e, room_change *c, const room_pending *p, const cJSON *a, double now) {
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(a, "rows");
  const room_member *m = room_find_member(r, p->conn);
  int rc;
  if (!m) return CHAT_E_MISUSE;
  if (!cJSON_IsArray(rows)) return CHAT_E_FIELD_TYPE;
  cJSON *f = cJSON_CreateObject();
  rc = f ? json_add_str(f, "type", CHAT_FRAME(history)) : CHAT_E_NOMEM;
  const room_user *viewer = room_find_user(r, m->user_id);
  if (rc >= 0) rc = room_fill_page(r, f, rows, CHAT_HISTORY_PAGE, viewer ? viewer->blocks : NULL, viewer ? viewer->n_blocks : 0);
  if (rc >= 0) rc = json_add_item(f, "since", p->has_since ? cJSON_CreateNumber((double)p->since) : cJSON_CreateNull());
  /* the newest seq so far (every seq given is stored), so a client can tell a
   * `since` ahead of the room; messages waiting in the outbox come after it */
  if (rc >= 0) rc = json_add_num(f, "last_seq", (double)(r->next_seq - 1));
  /* the change cursor, and the changes the client missed (PROTOCOL.md "Guarantees") */
  if (rc >= 0 && p->has_changes) {
    const cJSON *changes = cJSON_GetObjectItemCaseSensitive(a, "changes");
    rc = cJSON_IsArray(changes) ? room_fill_changes(f, changes, CHAT_HISTORY_PAGE, r->next_change - 1)
                                : CHAT_E_FIELD_TYPE;
  } else if (rc >= 0) {
    rc = json_add_num(f, "change", (double)(r->next_change - 1));
  }
  if (rc >= 0 && p->has_ref) rc = json_add_str(f, "ref", p->ref);
  if (rc < 0) {
    cJSON_Delete(f);
    return rc;
  }
  if (!m->joined) { /* from now on this socket receives messages; remember it */
    room_member joined = *m;
    joined.joined = 1;
    if ((rc = room_attach(e, &joined)) < 0) {
      cJSON_Delete(f);
      return rc;
    }
    c->joined = m->conn;
  }
  if (r->kind.dm) { /* looking at the conversation: nothing in it is unread any more */
    cJSON *o = effects_add(e, ROOM_EFFECT(dm_read));
    if (!o || json_add_num(o, "user_id", (double)m->user_id) < 0) {
      cJSON_Delete(f);
      return CHAT_E_NOMEM;
    }
  }
  if ((rc = effects_send_one(e, p->conn, f)) < 0 || r->kind.dm || m->joined) return rc;
  /* a room: who is here, and (their first joined socket) the others hear of them */
  const room_user *u = room_find_user(r, m->user_id);
  if ((rc = presence_frame(r, e, p->conn, m->user_id)) < 0 || u->n_joined) return rc;
  return queue_about(r, e, c, p->conn, m->user_id, 1, 0, now);
}

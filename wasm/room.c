/* The room's event entry point, its state, and the commit of each event's change
 * (room.h; what the files share: room_internal.h). */
#include "room.h"

#include <string.h>

#include "chat_alloc.h"
#include "chat_error.h"
#include "json_in.h"
#include "json_out.h"
#include "room_internal.h"

/* ---- the room ---------------------------------------------------------------- */

int room_new(int64_t id, int64_t next_seq, int64_t next_change, room **out) {
  room *r = chat_malloc(sizeof *r);
  *out = NULL;
  if (!r) return CHAT_E_NOMEM;
  memset(r, 0, sizeof *r);
  r->id = id;
  r->next_seq = next_seq < 1 ? 1 : next_seq;
  r->next_change = next_change < 1 ? 1 : next_change;
  r->next_conn = 1;
  r->last_activity_report = -CHAT_ACTIVITY_REPORT_MS;
  r->rate_burst = CHAT_RATE_BURST;
  r->rate_per_second = CHAT_RATE_PER_SECOND;
  r->room_burst = CHAT_ROOM_RATE_BURST;
  r->room_per_second = CHAT_ROOM_RATE_PER_SECOND;
  r->last_flush_ms = -CHAT_FLUSH_INTERVAL_MS;
  r->looking_version = 1; /* the first room_activity lists who is looking */
  if (!(r->outbox = chat_malloc(CHAT_BATCH_MAX * sizeof *r->outbox))) {
    chat_free(r);
    return CHAT_E_NOMEM;
  }
  *out = r;
  return CHAT_OK;
}

void room_free(room *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_users; i++) chat_free(r->users[i].blocks);
  for (size_t i = 0; i < r->n_outbox; i++) room_outbox_entry_free(&r->outbox[i]);
  chat_free(r->outbox);
  chat_free(r->members);
  chat_free(r->users);
  room_index_free(&r->member_at);
  room_index_free(&r->user_at);
  room_deadlines_free(&r->unjoined);
  room_pending_free(&r->p);
  chat_free(r->unread);
  chat_free(r);
}

/* ---- the pending query ------------------------------------------------------- */

void room_pending_free(room_pending *p) {
  chat_free(p->text);
  chat_free(p->blocked);
  p->text = NULL;
  p->blocked = NULL;
}

cJSON *room_query(const char *what) {
  cJSON *q = cJSON_CreateObject();
  if (q && json_add_str(q, "what", what) < 0) {
    cJSON_Delete(q);
    return NULL;
  }
  return q;
}

int room_ask(effects *e, room_change *c, cJSON *q, const room_pending *p) {
  if (!q) return CHAT_E_NOMEM;
  if (json_add_str(q, "op", ROOM_EFFECT(query)) < 0) {
    cJSON_Delete(q);
    return CHAT_E_NOMEM;
  }
  if (json_push(e->list, q) < 0) return CHAT_E_NOMEM;
  c->ask = 1;
  c->p = *p;
  return CHAT_OK;
}

/* ---- the change of one event ------------------------------------------------- */

int room_change_remove(room_change *c, int64_t conn) {
  if (!c->removed) c->removed = c->removed_inline, c->cap_removed = sizeof c->removed_inline / sizeof *c->removed_inline;
  if (c->n_removed == c->cap_removed) {
    int64_t *more = chat_malloc(2 * c->cap_removed * sizeof *more);
    if (!more) return CHAT_E_NOMEM;
    memcpy(more, c->removed, c->n_removed * sizeof *more);
    if (c->removed != c->removed_inline) chat_free(c->removed);
    c->removed = more;
    c->cap_removed *= 2;
  }
  c->removed[c->n_removed++] = conn;
  return CHAT_OK;
}

/* Applies an event's changes once its effects are out; or undoes what it drew. */
static void commit(room *r, room_change *c, int ok) {
  if (!ok) {
    if (c->limit) *c->limit = c->before;
    if (c->room_drawn) r->room_rate = c->room_before;
    if (c->queue) room_outbox_entry_free(&c->q);
    if (c->ask) room_pending_free(&c->p);
    chat_free(c->blocks);
  } else {
    r->next_change += c->n_changes;
    if (c->flushed) { /* everything waiting went out */
      for (size_t i = 0; i < r->n_outbox; i++) room_outbox_entry_free(&r->outbox[i]);
      if (c->queue) room_outbox_entry_free(&c->q);
      r->n_outbox = r->outbox_bytes = 0;
      r->last_flush_ms = c->flush_ms;
      r->next_seq += c->n_stored;
    } else if (c->queue) { /* room_enqueue flushes before the outbox is full */
      r->outbox[r->n_outbox++] = c->q;
      r->outbox_bytes += c->q_bytes;
    }
    if (c->schedule) r->flush_due = 1, r->flush_at_ms = c->schedule_at;
    if (c->told_looking) r->looking_told = r->looking_version;
    if (c->unschedule) r->flush_due = 0;
    if (c->add) room_add_member(r, c);
    room_user *u = c->set_blocks ? room_find_user(r, c->blocks_user) : NULL;
    if (u) { /* the latest facts about whom the user blocks win */
      chat_free(u->blocks);
      u->blocks = c->blocks;
      u->n_blocks = c->n_blocks;
    } else {
      chat_free(c->blocks);
    }
    if (c->config) {
      r->kind = c->kind;
      r->rate_burst = c->rate_burst;
      r->rate_per_second = c->rate_per_second;
      r->room_burst = c->room_burst;
      r->room_per_second = c->room_per_second;
    }
    for (size_t i = 0; i < c->n_removed; i++) room_remove_member(r, c->removed[i]);
    /* the evicted sockets were among the removed: their deadlines go too */
    while (c->evicting && r->unjoined.n && r->unjoined.items[0].opened_at <= c->evict_before)
      room_deadlines_pop(&r->unjoined);
    if (c->reported) r->last_activity_report = c->at;
    if (c->joined) room_member_joined(r, c->joined);
    room_user *mu = c->marked || c->set_member ? room_find_user(r, c->mark_user) : NULL;
    if (mu && c->marked) mu->read_seq = c->mark_seq;
    if (mu && c->set_member) mu->member = c->facts_member;
    room_user *tu = c->typed ? room_find_user(r, c->mark_user) : NULL;
    if (tu) tu->typed_at = c->at, tu->typed = 1;
    if (c->ask) r->p = c->p;
  }
  if (c->removed != c->removed_inline) chat_free(c->removed);
}

/* ---- the event entry point ---------------------------------------------------- */

/* ROOM_ANSWER: finishes the event that asked. */
static int on_answer(room *r, effects *e, room_change *c, const unsigned char *in, size_t len, double now) {
  cJSON *a = NULL;
  int rc = json_parse_object(in, len, &a);
  if (rc >= 0) {
    switch (r->p.kind) {
      case ROOM_P_FLUSH: {
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(a, "rows");
        rc = cJSON_IsArray(rows) ? room_finish_flush(r, e, c, a, now) : CHAT_E_FIELD_TYPE;
        break;
      }
      case ROOM_P_DELETE: rc = room_answer_delete(r, e, c, &r->p, a, now); break;
      case ROOM_P_JOIN: rc = room_answer_join(r, e, c, &r->p, a, now); break;
      case ROOM_P_PAGE: rc = room_answer_page(r, e, &r->p, a); break;
      case ROOM_P_EDIT: rc = room_answer_edit(r, e, c, &r->p, a, now); break;
      case ROOM_P_REACT: rc = room_answer_react(r, e, c, &r->p, a, now); break;
      case ROOM_P_SEARCH: rc = room_answer_search(r, e, &r->p, a); break;
    }
  }
  cJSON_Delete(a);
  return rc;
}

int room_event(room *r, int kind, int64_t conn, const unsigned char *in, size_t in_len,
               double now_ms, unsigned char *out, size_t cap, size_t *out_len) {
  static const unsigned char empty[1] = {0};
  *out_len = 0;
  if (!in) in = empty, in_len = 0;
  if (r->unread) { /* the output of the last event, asked for again with more room */
    *out_len = r->unread_len;
    if (r->unread_len > cap) return CHAT_E_BUFFER_TOO_SMALL;
    memcpy(out, r->unread, r->unread_len);
    chat_free(r->unread);
    r->unread = NULL;
    return (int)*out_len;
  }
  if ((r->p.kind != ROOM_P_NONE) != (kind == ROOM_ANSWER)) return CHAT_E_MISUSE;

  effects e;
  room_change c = {0};
  int rc = effects_init(&e);
  if (rc < 0) return rc;
  switch (kind) {
    case ROOM_OPEN:
      room_prune_departed(r, now_ms); /* no observable change: safe before the event */
      rc = room_on_open(r, &e, &c, in, in_len, now_ms);
      break;
    case ROOM_RESTORE: rc = room_on_restore(r, &c, in, in_len, now_ms); break;
    case ROOM_FRAME: rc = room_on_frame(r, &e, &c, conn, in, in_len, now_ms); break;
    case ROOM_CLOSE: rc = room_on_close(r, &e, &c, conn, now_ms); break;
    case ROOM_PAGE: rc = room_on_page(r, &e, &c, in, in_len); break;
    case ROOM_BLOCKS: rc = room_on_blocks(r, &e, &c, in, in_len); break;
    case ROOM_CONFIG: rc = room_on_config(&c, in, in_len); break;
    case ROOM_KICK: rc = room_on_kick(r, &e, &c, in, in_len, now_ms); break;
    case ROOM_MEMBER: rc = room_on_member(&c, in, in_len); break;
    case ROOM_ERASE: rc = room_on_erase(r, &e, &c, in, in_len, now_ms); break;
    case ROOM_OPEN_CHECK: rc = room_on_open_check(r, &c, in, in_len, now_ms); break;
    case ROOM_SEARCH: rc = room_on_search(r, &e, &c, in, in_len); break;
    case ROOM_FLUSH:
      c.unschedule = 1;
      rc = r->n_outbox ? room_start_flush(r, &e, &c, now_ms) : CHAT_OK;
      break;
    case ROOM_ANSWER: rc = on_answer(r, &e, &c, in, in_len, now_ms); break;
    default: rc = CHAT_E_UNKNOWN_OP;
  }
  if (rc >= 0) {
    rc = effects_write(&e, out, cap, out_len, &r->unread);
    if (rc == CHAT_E_BUFFER_TOO_SMALL) r->unread_len = *out_len; /* kept for the next call */
  }
  int ok = rc >= 0 || rc == CHAT_E_BUFFER_TOO_SMALL;
  if (ok && kind == ROOM_ANSWER) { /* the question is settled */
    room_pending_free(&r->p);
    memset(&r->p, 0, sizeof r->p);
  }
  commit(r, &c, ok);
  effects_free(&e);
  return rc;
}

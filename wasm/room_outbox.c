/* The outbox: broadcasts waiting to be sent, the flush that stores waiting messages
 * and sends everything, and the fan-out to each joined socket, less what its user
 * blocks (room.h "Coalescing"; shared state: room_internal.h). */
#include <string.h>

#include "buf.h"
#include "chat_error.h"
#include "chat_frames.h"
#include "json_out.h"
#include "message.h"
#include "room_internal.h"

void room_outbox_entry_free(room_outbox_entry *f) {
  cJSON_free(f->text);
  cJSON_Delete(f->message);
}

/* Whether message `m` (an outbox message or a stored row, cJSON) is the one `user`
 * sent with client id `cid`. */
static int is_message_of(const cJSON *m, int64_t user, const char *cid) {
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "user_id");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "client_id");
  return cJSON_IsNumber(u) && (int64_t)u->valuedouble == user && cJSON_IsString(id) && strcmp(id->valuestring, cid) == 0;
}

int room_outbox_holds(const room *r, int64_t user, const char *cid) {
  for (size_t i = 0; i < r->n_outbox; i++)
    if (r->outbox[i].message && is_message_of(r->outbox[i].message, user, cid)) return 1;
  return 0;
}

/* A message as a frame to sockets: "new_chat_message" (or "new_direct_message"). */
static cJSON *message_frame(const room *r, const message_row *w) {
  cJSON *f = cJSON_CreateObject();
  if (!f || json_add_str(f, "type", room_message_type(&r->kind)) < 0 ||
      json_add_num(f, room_id_key(&r->kind), (double)r->id) < 0 || message_add_fields(f, w) < 0) {
    cJSON_Delete(f);
    return NULL;
  }
  return f;
}

/* ---- fan-out -------------------------------------------------------------------- */

/* Recipients with the same selection of outbox entries, and their conn ids as raw
 * JSON text ("[1,2,3]"): cJSON would print each number with %1.15g and read it
 * back, which for a room of 100 was a third of the instructions per message. */
typedef struct {
  uint64_t mask; /* bit j: outbox entry j */
  buf to;
} group;

static int append_conn(buf *to, int64_t conn) {
  char digits[24], *p = digits + sizeof digits;
  uint64_t v = (uint64_t)conn;
  do *--p = (char)('0' + v % 10); while (v /= 10);
  int rc = buf_append(to, to->len ? "," : "[", 1);
  return rc < 0 ? rc : buf_append(to, p, (size_t)(digits + sizeof digits - p));
}

/* Outbox entry i, counting the one this event adds after those waiting. */
static const room_outbox_entry *entry_at(const room *r, const room_change *c, size_t i) {
  return i < r->n_outbox ? &r->outbox[i] : &c->q;
}

static size_t entries(const room *r, const room_change *c) { return r->n_outbox + (c->queue ? 1 : 0); }

/* The frame texts of one flush: entry j's is text[j] (len[j] bytes), when bit j of
 * `live` is set. */
typedef struct {
  const char *text[CHAT_BATCH_MAX];
  size_t len[CHAT_BATCH_MAX];
  char *owned[CHAT_BATCH_MAX]; /* those made by the flush (messages' frames) */
  int64_t seq[CHAT_BATCH_MAX];  /* the seq each stored message got */
  uint64_t live, stored;
} flush_frames;

/* Writes one send effect per group: the frame itself for a group selecting one,
 * else {"type":"batch","frames":[f, ...]} with the selected frames in order,
 * encoded once for the whole group. */
static int send_group(effects *e, const flush_frames *ff, group *g) {
  buf batch = {0};
  const char *text;
  size_t len;
  int rc = buf_append(&g->to, "]", 2); /* with the NUL cJSON_CreateRaw reads to */
  if (rc < 0) return rc;
  if ((g->mask & (g->mask - 1)) == 0) { /* one frame */
    size_t j = (size_t)__builtin_ctzll(g->mask);
    text = ff->text[j], len = ff->len[j];
  } else {
    const char *type = CHAT_FRAME(batch);
    rc = buf_append(&batch, "{\"type\":\"", 9);
    if (rc >= 0) rc = buf_append(&batch, type, strlen(type));
    if (rc >= 0) rc = buf_append(&batch, "\",\"frames\":[", 12);
    for (size_t j = 0, first = 1; rc >= 0 && j < CHAT_BATCH_MAX; j++) {
      if (!(g->mask >> j & 1)) continue;
      if (!first) rc = buf_append(&batch, ",", 1);
      if (rc >= 0) rc = buf_append(&batch, ff->text[j], ff->len[j]);
      first = 0;
    }
    if (rc >= 0) rc = buf_append(&batch, "]}", 2);
    text = (const char *)batch.data, len = batch.len;
  }
  cJSON *to = rc >= 0 ? cJSON_CreateRaw((const char *)g->to.data) : NULL;
  rc = to ? effects_send_text(e, text, len, to) : CHAT_E_NOMEM;
  buf_free(&batch);
  return rc;
}

/* Sends the live frames to each joined member, less those by authors it blocks.
 * Members who get them all (most) share one encoding, a batch. Each of the others
 * (users who block an author here) gets its frames one by one, each encoded once for
 * all who get it: so a flush's output is at most twice the outbox, however many
 * different block lists its members have. */
static int send_frames(const room *r, effects *e, const room_change *c, const flush_frames *ff) {
  size_t k = entries(r, c);
  group g[1 + CHAT_BATCH_MAX]; /* g[0]: every live frame; g[1 + j]: frame j alone */
  int rc = CHAT_OK;
  uint64_t own = 0; /* entries its author's sockets do not get back (typing) */
  if (!ff->live) return CHAT_OK;
  for (size_t j = 0; j < k; j++) own |= (uint64_t)(entry_at(r, c, j)->skip_author != 0) << j;
  memset(g, 0, sizeof g);
  g[0].mask = ff->live;
  for (size_t j = 0; j < k; j++) g[1 + j].mask = (uint64_t)1 << j;
  for (size_t i = 0; rc >= 0 && i < r->n_members; i++) {
    const room_member *m = &r->members[i];
    if (!m->joined) continue;
    uint64_t mask = ff->live;
    const room_user *u = room_find_user(r, m->user_id);
    for (size_t j = 0; own && j < k; j++)
      if ((own >> j & 1) && entry_at(r, c, j)->author == m->user_id) mask &= ~((uint64_t)1 << j);
    for (size_t j = 0; u && u->n_blocks && j < k; j++) { /* most users block no one */
      const room_outbox_entry *f = entry_at(r, c, j);
      for (size_t b = 0; f->author && b < u->n_blocks; b++)
        if (u->blocks[b] == f->author) mask &= ~((uint64_t)1 << j);
    }
    if (mask == ff->live) {
      rc = append_conn(&g[0].to, m->conn);
      continue;
    }
    for (size_t j = 0; rc >= 0 && j < k; j++)
      if (mask >> j & 1) rc = append_conn(&g[1 + j].to, m->conn);
  }
  for (size_t i = 0; rc >= 0 && i < 1 + k; i++)
    if (g[i].to.len) rc = send_group(e, ff, &g[i]);
  for (size_t i = 0; i < 1 + k; i++) buf_free(&g[i].to);
  return rc;
}

/* ---- the flush ------------------------------------------------------------------ */

/* The stored row among `rows` that `message` (an outbox message) repeats, if any. */
static const cJSON *stored_original(const cJSON *rows, const cJSON *message) {
  const cJSON *row;
  int64_t user = (int64_t)cJSON_GetObjectItemCaseSensitive(message, "user_id")->valuedouble;
  const char *cid = cJSON_GetObjectItemCaseSensitive(message, "client_id")->valuestring;
  cJSON_ArrayForEach(row, rows) if (is_message_of(row, user, cid)) return row;
  return NULL;
}

/* A retry of a stored message: acknowledged with the stored original, to the
 * sender only (if its socket is still here). */
static int ack_duplicate(room *r, effects *e, int64_t conn, const cJSON *row) {
  message_row w;
  int rc = message_read(row, &w);
  if (rc < 0 || !room_find_member(r, conn)) return rc < 0 ? rc : CHAT_OK;
  cJSON *f = message_frame(r, &w);
  if (!f || json_add_bool(f, "duplicate", 1) < 0) {
    cJSON_Delete(f);
    return CHAT_E_NOMEM;
  }
  return effects_send_one(e, conn, f);
}

/* Whether user has a joined connection here (is looking at the conversation). */
static int user_joined(const room *r, int64_t user) {
  const room_user *u = room_find_user(r, user);
  return u && u->n_joined > 0;
}

/* After a direct message is stored: the conversation list's last message and the
 * other person's unread count, and their personal sockets if they are not looking
 * at this conversation (with the same frame bytes). */
static int dm_delivered(const room *r, effects *e, const message_row *w, const char *text, size_t len) {
  int64_t other = r->kind.members[0] == w->user_id ? r->kind.members[1] : r->kind.members[0];
  int looking = user_joined(r, other);
  cJSON *o = effects_add(e, ROOM_EFFECT(dm_message));
  if (!o || json_add_num(o, "seq", (double)w->seq) < 0 || json_add_num(o, "at", w->created_at) < 0 ||
      json_add_num(o, "user_id", (double)w->user_id) < 0 || json_add_str(o, "body", w->body) < 0 ||
      json_add_item(o, "unread_for", looking ? cJSON_CreateNull() : cJSON_CreateNumber((double)other)) < 0)
    return CHAT_E_NOMEM;
  return looking ? CHAT_OK : effects_notify_text(e, other, text, len);
}

/* An outbox message as a row with the given seq (pointing into its JSON). */
static message_row row_of(const cJSON *m, int64_t seq) {
  message_row w = {0};
  w.seq = seq;
  w.user_id = (int64_t)cJSON_GetObjectItemCaseSensitive(m, "user_id")->valuedouble;
  w.username = cJSON_GetObjectItemCaseSensitive(m, "username")->valuestring;
  w.body = cJSON_GetObjectItemCaseSensitive(m, "body")->valuestring;
  w.client_id = cJSON_GetObjectItemCaseSensitive(m, "client_id")->valuestring;
  w.created_at = cJSON_GetObjectItemCaseSensitive(m, "created_at")->valuedouble;
  return w;
}

/* Whether a username is the one a key (its lowercase form) names. */
static int same_name(const char *username, const char *key) {
  size_t j = 0;
  for (; username[j] && key[j]; j++) {
    char c = username[j];
    if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != key[j]) return 0;
  }
  return !username[j] && !key[j];
}

/* Whether `key` names a user with a joined socket here (who sees the message). */
static int looking_by_name(const room *r, const char *key) {
  for (size_t i = 0; i < r->n_members; i++)
    if (r->members[i].joined && same_name(r->members[i].username, key)) return 1;
  return 0;
}

/* The people a stored message mentions (message_mentions), for the shell to tell:
 * "mentions" in its store effect, less its author and those looking here (they
 * see it), when any are left. Who is reached is room_mention_reaches
 * (CHAT_OP_MENTION_CHECK), over facts the shell looks up. */
static int add_mentions(const room *r, cJSON *row, const message_row *w) {
  char keys[CHAT_MENTIONS_MAX][CHAT_USERNAME_MAX + 1];
  int n = message_mentions(w->body, strlen(w->body), keys);
  cJSON *list = NULL;
  for (int i = 0; i < n; i++) {
    if (same_name(w->username, keys[i]) || looking_by_name(r, keys[i])) continue;
    if (!list && !(list = cJSON_AddArrayToObject(row, "mentions"))) return CHAT_E_NOMEM;
    if (json_push(list, cJSON_CreateString(keys[i])) < 0) return CHAT_E_NOMEM;
  }
  return CHAT_OK;
}

/* A reply's quote (message.h), from the originals storage found: the one with
 * seq w->reply_to; a reply whose original is missing quotes nothing ("deleted"). */
static int quote_original(message_row *w, const cJSON *m, const cJSON *originals) {
  const cJSON *to = cJSON_GetObjectItemCaseSensitive(m, "reply_to"), *o;
  if (!to) return CHAT_OK;
  w->reply_to = (int64_t)to->valuedouble;
  cJSON_ArrayForEach(o, originals) {
    message_row q;
    if (message_read(o, &q) < 0 || q.seq != w->reply_to) continue;
    w->reply_user_id = q.user_id, w->reply_username = q.username, w->reply_body = q.body, w->reply_deleted = q.deleted;
    break;
  }
  return CHAT_OK;
}

/* The files a flush's messages use (attachment ids), each once. */
typedef struct {
  const char *id[CHAT_BATCH_MAX * CHAT_ATTACHMENTS_MAX];
  size_t n;
} used_files;

/* The uploads storage found for a waiting message's attachment ids (`files`:
 * {id, user_id, seq, ...}): each must be its author's, in this room (storage looked
 * in this room only), not used by a stored message nor by another message of this
 * flush. On success the files are marked used and *out is their list for the
 * frame (caller deletes; NULL for a message without files). */
static int message_files(const cJSON *m, const cJSON *files, used_files *u, cJSON **out) {
  const cJSON *ids = cJSON_GetObjectItemCaseSensitive(m, "attachments"), *id, *f;
  int64_t author = (int64_t)cJSON_GetObjectItemCaseSensitive(m, "user_id")->valuedouble;
  size_t before = u->n;
  *out = NULL;
  if (!ids) return CHAT_OK;
  cJSON *list = cJSON_CreateArray();
  if (!list) return CHAT_E_NOMEM;
  cJSON_ArrayForEach(id, ids) {
    const cJSON *found = NULL;
    cJSON_ArrayForEach(f, files) {
      const cJSON *fid = cJSON_GetObjectItemCaseSensitive(f, "id");
      if (cJSON_IsString(fid) && strcmp(fid->valuestring, id->valuestring) == 0) found = f;
    }
    const cJSON *owner = cJSON_GetObjectItemCaseSensitive(found, "user_id"), *used = cJSON_GetObjectItemCaseSensitive(found, "seq");
    int ok = found && cJSON_IsNumber(owner) && (int64_t)owner->valuedouble == author && (!used || cJSON_IsNull(used));
    for (size_t k = 0; ok && k < u->n; k++) ok = strcmp(u->id[k], id->valuestring) != 0;
    if (!ok) {
      u->n = before;
      cJSON_Delete(list);
      return CHAT_E_ATTACHMENT_INVALID;
    }
    u->id[u->n++] = id->valuestring;
    if (json_push(list, cJSON_Duplicate(found, 1)) < 0) {
      cJSON_Delete(list);
      return CHAT_E_NOMEM;
    }
  }
  *out = list;
  return CHAT_OK;
}

/* Gives message entry j the next seq: its store effect, then its frame (with
 * `files`, its attachments, when it has any). */
static int store_message(const room *r, effects *e, const room_outbox_entry *f, int64_t seq, flush_frames *ff,
                         size_t j, const cJSON *originals, const cJSON *files) {
  const cJSON *m = f->message;
  message_row w = row_of(m, seq);
  quote_original(&w, m, originals);
  w.attachments = files;
  cJSON *row = cJSON_Duplicate(m, 1), *store = effects_add(e, ROOM_EFFECT(store));
  if (!row || !store || json_add_num(row, "seq", (double)seq) < 0) {
    cJSON_Delete(row);
    return CHAT_E_NOMEM;
  }
  int rc = json_add_item(store, "message", row);
  if (rc >= 0 && !r->kind.dm) rc = add_mentions(r, row, &w);
  cJSON *frame = rc >= 0 ? message_frame(r, &w) : NULL;
  char *text = frame ? cJSON_PrintUnformatted(frame) : NULL;
  cJSON_Delete(frame);
  if (!text) return CHAT_E_NOMEM;
  ff->owned[j] = text;
  ff->text[j] = text;
  ff->len[j] = strlen(text);
  ff->seq[j] = seq;
  ff->live |= (uint64_t)1 << j;
  ff->stored |= (uint64_t)1 << j;
  return CHAT_OK;
}

/* After messages are stored in a room, when who is looking (has a joined socket
 * here) changed since the last one: room_activity {looking}. The shell keeps the
 * list and, after stores, tells the other members their counts at most every
 * CHAT_ROOM_ACTIVITY_MS. Nothing while nobody comes or goes: a busy room pays
 * nothing per flush for it. */
static int tell_activity(const room *r, effects *e, room_change *c) {
  if (r->looking_told == r->looking_version) return CHAT_OK;
  cJSON *o = effects_add(e, ROOM_EFFECT(room_activity));
  buf looking = {0};
  int rc = o ? CHAT_OK : CHAT_E_NOMEM;
  c->told_looking = 1;
  for (size_t i = 0; rc >= 0 && i < r->n_users; i++)
    if (r->users[i].n_joined) rc = append_conn(&looking, r->users[i].user_id);
  if (rc >= 0) rc = looking.len ? buf_append(&looking, "]", 2) : buf_append(&looking, "[]", 3);
  cJSON *raw = rc >= 0 ? cJSON_CreateRaw((const char *)looking.data) : NULL;
  rc = raw ? json_add_item(o, "looking", raw) : CHAT_E_NOMEM;
  buf_free(&looking);
  return rc;
}

/* After the sends: for a conversation, what each stored message changes in the
 * conversation list; for a room, the directory's last activity (at most every
 * CHAT_ACTIVITY_REPORT_MS). */
static int after_store(const room *r, effects *e, room_change *c, const flush_frames *ff, double now) {
  int rc = CHAT_OK;
  if (!ff->stored) return CHAT_OK;
  for (size_t j = 0; r->kind.dm && rc >= 0 && j < CHAT_BATCH_MAX; j++) {
    if (!(ff->stored >> j & 1)) continue;
    message_row w = row_of(entry_at(r, c, j)->message, ff->seq[j]);
    rc = dm_delivered(r, e, &w, ff->text[j], ff->len[j]);
  }
  if (rc >= 0 && !r->kind.dm) rc = tell_activity(r, e, c);
  if (r->kind.dm || now - r->last_activity_report < CHAT_ACTIVITY_REPORT_MS) return rc;
  cJSON *o = effects_add(e, ROOM_EFFECT(activity));
  if (!o || json_add_num(o, "at", now) < 0) return CHAT_E_NOMEM;
  c->reported = 1;
  c->at = now;
  return CHAT_OK;
}

/* Once storage said which waiting messages are retries of stored ones (`rows`,
 * NULL when none waited): the others get their seqs and are stored, in order, all
 * in this one event (one storage transaction however many), and then everything
 * is sent. The messages were not in storage before, so members who joined since
 * they were accepted get them too: the history they joined with ends before them. */
int room_finish_flush(room *r, effects *e, room_change *c, const cJSON *answer, double now) {
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(answer, "rows"),
              *originals = cJSON_GetObjectItemCaseSensitive(answer, "originals"),
              *files = cJSON_GetObjectItemCaseSensitive(answer, "files");
  flush_frames ff = {0};
  used_files used;
  used.n = 0; /* (its ids are written before they are read) */
  size_t k = entries(r, c);
  int64_t seq = r->next_seq;
  int rc = CHAT_OK;
  for (size_t j = 0; rc >= 0 && j < k; j++) {
    const room_outbox_entry *f = entry_at(r, c, j);
    const cJSON *orig = f->message ? stored_original(rows, f->message) : NULL;
    cJSON *mine = NULL;
    if (!f->message) {
      ff.text[j] = f->text, ff.len[j] = f->len, ff.live |= (uint64_t)1 << j;
    } else if (orig) {
      rc = ack_duplicate(r, e, f->conn, orig);
    } else if ((rc = message_files(f->message, files, &used, &mine)) == CHAT_E_ATTACHMENT_INVALID) {
      /* not stored: its sender hears why, by its client_id */
      rc = room_find_member(r, f->conn)
               ? effects_error(e, f->conn, rc, cJSON_GetObjectItemCaseSensitive(f->message, "client_id")->valuestring)
               : CHAT_OK;
    } else if (rc >= 0 && (rc = store_message(r, e, f, seq, &ff, j, originals, mine)) >= 0) {
      seq++;
    }
    cJSON_Delete(mine);
  }
  if (rc >= 0) rc = send_frames(r, e, c, &ff);
  if (rc >= 0) rc = after_store(r, e, c, &ff, now);
  for (size_t j = 0; j < k; j++) cJSON_free(ff.owned[j]);
  c->flushed = 1;
  c->flush_ms = now;
  c->n_stored = seq - r->next_seq;
  return rc;
}

/* Sends what waits in the outbox (and this event's entry): first, if messages
 * wait, one question to storage for all of them (which are retries of stored
 * messages: {"what":"dedup","messages":[{"user_id","client_id"}, ...]}); its answer
 * finishes the flush. */
int room_start_flush(room *r, effects *e, room_change *c, double now) {
  size_t k = entries(r, c);
  cJSON *q = NULL, *list = NULL, *replies = NULL, *files = NULL;
  int rc = CHAT_OK;
  for (size_t j = 0; rc >= 0 && j < k; j++) {
    const room_outbox_entry *f = entry_at(r, c, j);
    if (!f->message) continue;
    if (!q && (!(q = room_query(ROOM_QUERY(dedup))) || !(list = cJSON_AddArrayToObject(q, "messages")))) {
      rc = CHAT_E_NOMEM;
      break;
    }
    cJSON *one = cJSON_CreateObject();
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(f->message, "reply_to");
    if (json_push(list, one) < 0 ||
        json_add_copy(one, "user_id", cJSON_GetObjectItemCaseSensitive(f->message, "user_id")) < 0 ||
        json_add_copy(one, "client_id", cJSON_GetObjectItemCaseSensitive(f->message, "client_id")) < 0)
      rc = CHAT_E_NOMEM;
    /* the originals replies quote: asked only when there are replies */
    if (rc >= 0 && to && !replies &&
        (!(replies = cJSON_AddArrayToObject(q, "replies")) || json_add_num(q, "excerpt", CHAT_REPLY_EXCERPT_MAX) < 0))
      rc = CHAT_E_NOMEM;
    if (rc >= 0 && to && json_push(replies, cJSON_Duplicate(to, 0)) < 0) rc = CHAT_E_NOMEM;
    /* the uploads its attachments name: asked only when there are some */
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(f->message, "attachments"), *id;
    if (rc >= 0 && ids && !files && !(files = cJSON_AddArrayToObject(q, "attachments"))) rc = CHAT_E_NOMEM;
    cJSON_ArrayForEach(id, ids) if (rc >= 0 && json_push(files, cJSON_Duplicate(id, 0)) < 0) rc = CHAT_E_NOMEM;
  }
  if (rc < 0) {
    cJSON_Delete(q);
    return rc;
  }
  if (!q) return room_finish_flush(r, e, c, NULL, now);
  room_pending p = {0};
  p.kind = ROOM_P_FLUSH;
  return room_ask(e, c, q, &p);
}

/* Adds c->q to the outbox, sent at once when the room is quiet (its last flush
 * `interval` ago, and no flush asked for by then), the outbox is full, or it is a
 * conversation; else a flush is asked for `interval` after the last one, unless
 * one is asked for by then already (a message's flush_at moves a later presence
 * one forward: the shell keeps the earliest). */
static int enqueue_within(room *r, effects *e, room_change *c, size_t bytes, double interval, double now) {
  c->queue = 1;
  c->q_bytes = bytes;
  const double at = r->last_flush_ms + interval;
  const int asked = r->flush_due && r->flush_at_ms <= at;
  if (r->kind.dm || (!asked && now >= at) || r->n_outbox + 1 >= CHAT_BATCH_MAX ||
      r->outbox_bytes + bytes >= CHAT_BATCH_BYTES_MAX)
    return room_start_flush(r, e, c, now);
  if (asked) return CHAT_OK;
  cJSON *o = effects_add(e, ROOM_EFFECT(flush_at));
  if (!o || json_add_num(o, "at", at) < 0) return CHAT_E_NOMEM;
  c->schedule = 1;
  c->schedule_at = at;
  return CHAT_OK;
}

int room_broadcast(room *r, effects *e, room_change *c, size_t bytes, double now) {
  /* a big room (its flush interval past the floor) spaces these as its presence
   * flushes */
  const size_t sends = room_fanout_sends(r->n_joined, r->relay_joined);
  const int big = room_flush_interval(sends) > CHAT_FLUSH_INTERVAL_MS;
  const double interval = room_presence_interval(sends);
  if (r->flush_due || r->n_outbox || r->kind.dm || (big && now - r->last_flush_ms < interval))
    return enqueue_within(r, e, c, bytes, interval, now);
  /* nothing waits: sent now; in a big room it counts as a flush (its sends cost
   * the same), so the next one within the interval rides in a batch and a storm of
   * joins costs a send per socket per presence interval, not per join; a small
   * room keeps the outbox's timing as it was */
  flush_frames ff = {0};
  c->queue = 1;
  ff.text[0] = c->q.text, ff.len[0] = c->q.len, ff.live = 1;
  int rc = send_frames(r, e, c, &ff);
  room_outbox_entry_free(&c->q);
  c->queue = 0;
  if (big) c->flushed = 1, c->flush_ms = now;
  return rc;
}

/* A quiet room sends the entry at once; a room that sent less than its flush
 * interval ago (room_flush_interval: CHAT_FLUSH_INTERVAL_MS, longer as its joined
 * sockets grow) keeps it in the outbox and asks the shell for a ROOM_FLUSH when the
 * interval ends (one flush_at effect per interval). A full
 * outbox is sent at once, and a conversation always sends at once (two members:
 * nothing to save). */
int room_enqueue(room *r, effects *e, room_change *c, size_t bytes, double now) {
  return enqueue_within(r, e, c, bytes, room_flush_interval(room_fanout_sends(r->n_joined, r->relay_joined)), now);
}

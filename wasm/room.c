#include "room.h"

#include <math.h>
#include <string.h>

#include "cJSON.h"
#include "chat_alloc.h"
#include "chat_error.h"
#include "chat_frames.h"
#include "buf.h"
#include "effects.h"
#include "json_in.h"
#include "json_out.h"
#include "message.h"
#include "query.h"
#include "ratelimit.h"
#include "utf8.h"

/* ---- state ------------------------------------------------------------------ */

typedef struct {
  int64_t conn;
  int64_t user_id;
  char username[CHAT_USERNAME_MAX + 1];
  char role[8]; /* "USER" or "ADMIN" */
  int joined;   /* receives messages only after join_room */
} member;

/* Per user (not per socket): rate-limit buckets and whom the user blocks. */
typedef struct {
  int64_t user_id;
  ratelimit_bucket rate, flood;
  int64_t *blocks; /* user ids this user blocks (owned; NULL when none) */
  size_t n_blocks;
} user_state;

/* A broadcast waiting in the outbox: a deletion's encoded frame, or a message not
 * yet stored (it gets its seq, its row in storage and its frame from the flush). */
typedef struct {
  char *text;     /* a deletion's frame (owned, cJSON_free); NULL for a message */
  size_t len;
  int64_t author; /* whose blockers do not get it; 0: everyone gets it */
  cJSON *message; /* a message (owned): {user_id,username,body,client_id,created_at} */
  int64_t conn;   /* the socket that sent the message */
} outbox_frame;

enum { P_NONE, P_FLUSH, P_DELETE, P_JOIN, P_PAGE };

/* The question a room is waiting on, and what it needs to finish the event. */
typedef struct {
  int kind;
  int64_t conn;
  char ref[CHAT_REF_MAX + 1];
  int has_ref;
  int64_t seq; /* P_DELETE */
  int has_since;
  int64_t since; /* P_JOIN */
  int limit;     /* P_JOIN, P_PAGE: rows asked for (one more than a page) */
} pending;

struct room {
  int64_t id;
  int64_t next_seq;
  int64_t next_conn;
  member *members;
  size_t n_members, cap_members;
  user_state *users;
  size_t n_users, cap_users;
  int dm;                  /* a direct-message conversation rather than a room */
  int64_t dm_members[2];   /* its two users */
  int dm_open;             /* new messages allowed (friends, no block) */
  double rate_burst;       /* the per-user token bucket: CHAT_RATE_* unless configured */
  double rate_per_second;
  double last_activity_report;
  ratelimit_bucket room_rate; /* new messages the room accepts (load shedding) */
  double room_burst, room_per_second;
  outbox_frame *outbox;    /* CHAT_BATCH_MAX slots: broadcasts not sent yet, in order */
  size_t n_outbox, outbox_bytes;
  double last_flush_ms;    /* when broadcasts were last sent */
  int flush_due;           /* a flush_at effect is out: a ROOM_FLUSH will come */
  pending p;
  unsigned char *unread; /* output that did not fit the caller's buffer */
  size_t unread_len;
};

/* What an event changes in the room, applied only once its effects are written,
 * so that a failed event (out of memory) leaves the room as it was. */
typedef struct {
  int add;             /* add `m` (capacity was reserved by the handler) */
  member m;
  int remove;          /* remove connection `conn` */
  int64_t conn;
  int ask;             /* wait for an answer to the query in the effects */
  pending p;
  int64_t n_stored;    /* messages stored from seq next_seq on */
  int reported;        /* the directory's activity was reported at `at` */
  double at;
  int64_t joined;      /* this connection joined (0: none) */
  user_state *limit;   /* a rate-limit bucket that was drawn from, */
  user_state before;   /* and its state before, to undo on failure */
  int set_blocks;      /* replace the block list of user `blocks_user` */
  int64_t blocks_user;
  int64_t *blocks;     /* owned by the change until committed */
  size_t n_blocks;
  int config;          /* replace the conversation settings */
  int dm, dm_open;
  int64_t dm_members[2];
  double rate_burst, rate_per_second, room_burst, room_per_second;
  int room_drawn;      /* a token was taken from the room's bucket, */
  ratelimit_bucket room_before; /* which was like this before */
  int queue;           /* a broadcast joins the outbox (or is sent by the flush) */
  outbox_frame q;      /* owned by the change until committed */
  size_t q_bytes;      /* what it adds to the outbox's size */
  int flushed;         /* the outbox (and q) were sent at flush_ms */
  double flush_ms;
  int schedule;        /* a flush_at effect was written */
  int unschedule;      /* the ROOM_FLUSH that flush_at asked for arrived */
} change;

/* ---- small helpers ------------------------------------------------------------- */

static member *find_member(room *r, int64_t conn) {
  for (size_t i = 0; i < r->n_members; i++)
    if (r->members[i].conn == conn) return &r->members[i];
  return NULL;
}

static user_state *find_user(const room *r, int64_t user_id) {
  for (size_t i = 0; i < r->n_users; i++)
    if (r->users[i].user_id == user_id) return &r->users[i];
  return NULL;
}

/* The frame vocabulary differs between rooms and direct-message conversations. */
static const char *message_type(const room *r) { return r->dm ? CHAT_FRAME(new_direct_message) : CHAT_FRAME(new_chat_message); }
static const char *id_key(const room *r) { return r->dm ? "conversation_id" : "room_id"; }

/* Grows an array of `size`-byte items to hold one more. */
static int reserve(void **items, size_t n, size_t *cap, size_t size) {
  if (n < *cap) return CHAT_OK;
  size_t c = *cap ? *cap * 2 : 8;
  void *p = chat_malloc(c * size);
  if (!p) return CHAT_E_NOMEM;
  if (n) memcpy(p, *items, n * size);
  chat_free(*items);
  *items = p;
  *cap = c;
  return CHAT_OK;
}

/* Whether user has a joined connection here (is looking at the conversation). */
static int user_joined(const room *r, int64_t user) {
  for (size_t i = 0; i < r->n_members; i++)
    if (r->members[i].user_id == user && r->members[i].joined) return 1;
  return 0;
}

/* Reads "blocks": [user ids] from facts into a new array (*out NULL when empty).
 * *present says whether the member was there at all. */
static int read_blocks(const cJSON *facts, int64_t **out, size_t *n, int *present) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(facts, "blocks"), *it;
  *out = NULL;
  *n = 0;
  *present = list != NULL;
  if (!list) return CHAT_OK;
  if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > CHAT_BLOCKS_MAX) return CHAT_E_FIELD_TYPE;
  size_t count = (size_t)cJSON_GetArraySize(list);
  if (!count) return CHAT_OK;
  if (!(*out = chat_malloc(count * sizeof **out))) return CHAT_E_NOMEM;
  cJSON_ArrayForEach(it, list) {
    if (json_get_uint53(it, &(*out)[*n]) < 0) {
      chat_free(*out);
      *out = NULL;
      *n = 0;
      return CHAT_E_FIELD_TYPE;
    }
    (*n)++;
  }
  return CHAT_OK;
}

/* The array of user ids `viewer` blocks, for a query's exclude_users. */
static cJSON *blocks_json(const room *r, int64_t viewer) {
  cJSON *a = cJSON_CreateArray();
  const user_state *u = NULL;
  for (size_t i = 0; a && i < r->n_users; i++)
    if (r->users[i].user_id == viewer) u = &r->users[i];
  for (size_t k = 0; a && u && k < u->n_blocks; k++)
    if (json_push(a, cJSON_CreateNumber((double)u->blocks[k])) < 0) {
      cJSON_Delete(a);
      a = NULL;
    }
  return a;
}

static cJSON *user_json(int64_t id, const char *username, const char *role) {
  cJSON *u = cJSON_CreateObject();
  if (!u || json_add_num(u, "id", (double)id) < 0 || json_add_str(u, "username", username) < 0 ||
      (role && json_add_str(u, "role", role) < 0)) {
    cJSON_Delete(u);
    return NULL;
  }
  return u;
}

static int attach(effects *e, const member *m) {
  cJSON *o = effects_add(e, "attach"), *data = cJSON_CreateObject();
  if (!o || !data || json_add_num(data, "conn", (double)m->conn) < 0 ||
      json_add_item(data, "user", user_json(m->user_id, m->username, m->role)) < 0 ||
      json_add_bool(data, "joined", m->joined) < 0) {
    cJSON_Delete(data);
    return CHAT_E_NOMEM;
  }
  int rc = json_add_num(o, "conn", (double)m->conn);
  return rc < 0 ? (cJSON_Delete(data), rc) : json_add_item(o, "data", data);
}

/* ---- messages ------------------------------------------------------------------ */

/* A message as a frame to sockets: "new_chat_message" (or "new_direct_message"). */
static cJSON *message_frame(const room *r, const message_row *w) {
  cJSON *f = cJSON_CreateObject();
  if (!f || json_add_str(f, "type", message_type(r)) < 0 || json_add_num(f, id_key(r), (double)r->id) < 0 ||
      message_add_fields(f, w) < 0) {
    cJSON_Delete(f);
    return NULL;
  }
  return f;
}

/* A page of history: the room's id, then message_add_page. */
static int fill_page(const room *r, cJSON *o, const cJSON *rows, int page) {
  int rc = json_add_num(o, id_key(r), (double)r->id);
  return rc < 0 ? rc : message_add_page(o, rows, page);
}

/* Adds {"op":"query", ...q} and the question to wait for. Takes q. */
static int ask(effects *e, change *c, cJSON *q, const pending *p) {
  if (!q) return CHAT_E_NOMEM;
  if (json_add_str(q, "op", "query") < 0) {
    cJSON_Delete(q);
    return CHAT_E_NOMEM;
  }
  if (json_push(e->list, q) < 0) return CHAT_E_NOMEM;
  c->ask = 1;
  c->p = *p;
  return CHAT_OK;
}

/* ---- frames from clients ---------------------------------------------------- */

static cJSON *query(const char *what) {
  cJSON *q = cJSON_CreateObject();
  if (q && json_add_str(q, "what", what) < 0) {
    cJSON_Delete(q);
    return NULL;
  }
  return q;
}

/* ---- fan-out: the outbox ------------------------------------------------------ */

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
static const outbox_frame *entry_at(const room *r, const change *c, size_t i) {
  return i < r->n_outbox ? &r->outbox[i] : &c->q;
}

static size_t entries(const room *r, const change *c) { return r->n_outbox + (c->queue ? 1 : 0); }

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
static int send_frames(const room *r, effects *e, const change *c, const flush_frames *ff) {
  size_t k = entries(r, c);
  group g[1 + CHAT_BATCH_MAX]; /* g[0]: every live frame; g[1 + j]: frame j alone */
  int rc = CHAT_OK;
  if (!ff->live) return CHAT_OK;
  memset(g, 0, sizeof g);
  g[0].mask = ff->live;
  for (size_t j = 0; j < k; j++) g[1 + j].mask = (uint64_t)1 << j;
  for (size_t i = 0; rc >= 0 && i < r->n_members; i++) {
    const member *m = &r->members[i];
    if (!m->joined) continue;
    uint64_t mask = ff->live;
    const user_state *u = find_user(r, m->user_id);
    for (size_t j = 0; u && u->n_blocks && j < k; j++) { /* most users block no one */
      const outbox_frame *f = entry_at(r, c, j);
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

/* Whether message row `row` (cJSON) is the one `user` sent with client id `cid`. */
static int is_message_of(const cJSON *row, int64_t user, const char *cid) {
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(row, "user_id");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "client_id");
  return cJSON_IsNumber(u) && (int64_t)u->valuedouble == user && cJSON_IsString(id) && strcmp(id->valuestring, cid) == 0;
}

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
  if (rc < 0 || !find_member(r, conn)) return rc < 0 ? rc : CHAT_OK;
  cJSON *f = message_frame(r, &w);
  if (!f || json_add_bool(f, "duplicate", 1) < 0) {
    cJSON_Delete(f);
    return CHAT_E_NOMEM;
  }
  return effects_send_one(e, conn, f);
}

/* After a direct message is stored: the conversation list's last message and the
 * other person's unread count, and their personal sockets if they are not looking
 * at this conversation (with the same frame bytes). */
static int dm_delivered(const room *r, effects *e, const message_row *w, const char *text, size_t len) {
  int64_t other = r->dm_members[0] == w->user_id ? r->dm_members[1] : r->dm_members[0];
  int looking = user_joined(r, other);
  cJSON *o = effects_add(e, "dm_message");
  if (!o || json_add_num(o, "seq", (double)w->seq) < 0 || json_add_num(o, "at", w->created_at) < 0 ||
      json_add_num(o, "user_id", (double)w->user_id) < 0 || json_add_str(o, "body", w->body) < 0 ||
      json_add_item(o, "unread_for", looking ? cJSON_CreateNull() : cJSON_CreateNumber((double)other)) < 0)
    return CHAT_E_NOMEM;
  return looking ? CHAT_OK : effects_notify_text(e, other, text, len);
}

/* An outbox message as a row with the given seq (pointing into its JSON). */
static message_row row_of(const cJSON *m, int64_t seq) {
  return (message_row){seq, (int64_t)cJSON_GetObjectItemCaseSensitive(m, "user_id")->valuedouble,
                       cJSON_GetObjectItemCaseSensitive(m, "username")->valuestring,
                       cJSON_GetObjectItemCaseSensitive(m, "body")->valuestring,
                       cJSON_GetObjectItemCaseSensitive(m, "client_id")->valuestring,
                       cJSON_GetObjectItemCaseSensitive(m, "created_at")->valuedouble, 0};
}

/* Gives message entry j the next seq: its store effect, then its frame. */
static int store_message(const room *r, effects *e, const outbox_frame *f, int64_t seq, flush_frames *ff, size_t j) {
  const cJSON *m = f->message;
  message_row w = row_of(m, seq);
  cJSON *row = cJSON_Duplicate(m, 1), *store = effects_add(e, "store");
  if (!row || !store || json_add_num(row, "seq", (double)seq) < 0) {
    cJSON_Delete(row);
    return CHAT_E_NOMEM;
  }
  int rc = json_add_item(store, "message", row);
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

/* After the sends: for a conversation, what each stored message changes in the
 * conversation list; for a room, the directory's last activity (at most every
 * CHAT_ACTIVITY_REPORT_MS). */
static int after_store(const room *r, effects *e, change *c, const flush_frames *ff, double now) {
  int rc = CHAT_OK;
  if (!ff->stored) return CHAT_OK;
  for (size_t j = 0; r->dm && rc >= 0 && j < CHAT_BATCH_MAX; j++) {
    if (!(ff->stored >> j & 1)) continue;
    message_row w = row_of(entry_at(r, c, j)->message, ff->seq[j]);
    rc = dm_delivered(r, e, &w, ff->text[j], ff->len[j]);
  }
  if (r->dm || now - r->last_activity_report < CHAT_ACTIVITY_REPORT_MS) return rc;
  cJSON *o = effects_add(e, "activity");
  if (!o || json_add_num(o, "at", now) < 0) return CHAT_E_NOMEM;
  c->reported = 1;
  c->at = now;
  return CHAT_OK;
}

/* The second half of a flush, once storage said which waiting messages are retries
 * of stored ones (`rows`, NULL when none waited): the others get their seqs and
 * are stored, in order, all in this one event (one storage transaction however
 * many), and then everything is sent. The messages were not in storage before, so
 * members who joined since they were accepted get them too: the history they
 * joined with ends before them. */
static int finish_flush(room *r, effects *e, change *c, const cJSON *rows, double now) {
  flush_frames ff = {0};
  size_t k = entries(r, c);
  int64_t seq = r->next_seq;
  int rc = CHAT_OK;
  for (size_t j = 0; rc >= 0 && j < k; j++) {
    const outbox_frame *f = entry_at(r, c, j);
    const cJSON *orig = f->message ? stored_original(rows, f->message) : NULL;
    if (!f->message) {
      ff.text[j] = f->text, ff.len[j] = f->len, ff.live |= (uint64_t)1 << j;
    } else if (orig) {
      rc = ack_duplicate(r, e, f->conn, orig);
    } else if ((rc = store_message(r, e, f, seq, &ff, j)) >= 0) {
      seq++;
    }
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
static int start_flush(room *r, effects *e, change *c, double now) {
  size_t k = entries(r, c);
  cJSON *q = NULL, *list = NULL;
  int rc = CHAT_OK;
  for (size_t j = 0; rc >= 0 && j < k; j++) {
    const outbox_frame *f = entry_at(r, c, j);
    if (!f->message) continue;
    if (!q && (!(q = query("dedup")) || !(list = cJSON_AddArrayToObject(q, "messages")))) {
      rc = CHAT_E_NOMEM;
      break;
    }
    cJSON *one = cJSON_CreateObject();
    if (json_push(list, one) < 0 ||
        json_add_copy(one, "user_id", cJSON_GetObjectItemCaseSensitive(f->message, "user_id")) < 0 ||
        json_add_copy(one, "client_id", cJSON_GetObjectItemCaseSensitive(f->message, "client_id")) < 0)
      rc = CHAT_E_NOMEM;
  }
  if (rc < 0) {
    cJSON_Delete(q);
    return rc;
  }
  if (!q) return finish_flush(r, e, c, NULL, now);
  pending p = {0};
  p.kind = P_FLUSH;
  return ask(e, c, q, &p);
}

/* Adds this event's entry (c->q, `bytes` long) to the outbox. A quiet room sends it
 * at once; a room that sent less than CHAT_FLUSH_INTERVAL_MS ago keeps it in the
 * outbox and asks the shell for a ROOM_FLUSH when the interval ends (one flush_at
 * effect per interval). A full outbox is sent at once, and a conversation always
 * sends at once (two members: nothing to save). */
static int enqueue(room *r, effects *e, change *c, size_t bytes, double now) {
  c->queue = 1;
  c->q_bytes = bytes;
  int quiet = !r->flush_due && now - r->last_flush_ms >= CHAT_FLUSH_INTERVAL_MS;
  if (r->dm || quiet || r->n_outbox + 1 >= CHAT_BATCH_MAX || r->outbox_bytes + bytes >= CHAT_BATCH_BYTES_MAX)
    return start_flush(r, e, c, now);
  if (r->flush_due) return CHAT_OK;
  cJSON *o = effects_add(e, "flush_at");
  if (!o || json_add_num(o, "at", r->last_flush_ms + CHAT_FLUSH_INTERVAL_MS) < 0) return CHAT_E_NOMEM;
  c->schedule = 1;
  return CHAT_OK;
}

/* new_chat_message: validate, shed past the room's rate, and queue it (a retry of
 * a message already waiting is dropped: its acknowledgement is on its way). */
static int on_send(room *r, effects *e, change *c, const member *m, const cJSON *f, double now) {
  const char *body, *cid;
  size_t blen, clen;
  int rc;
  if ((rc = json_get_string(f, "body", &body, &blen)) < 0 ||
      (rc = json_get_string(f, "client_id", &cid, &clen)) < 0)
    return rc;
  if (!message_valid_client_id(cid, clen)) return CHAT_E_CLIENT_ID_INVALID;
  if ((rc = message_check_body(body, blen)) < 0) return rc;
  for (size_t i = 0; i < r->n_outbox; i++)
    if (r->outbox[i].message && is_message_of(r->outbox[i].message, m->user_id, cid)) return CHAT_OK;
  /* Load shedding: past the room's rate a message is refused before any storage
   * work. No flood token is taken: the sender kept to its own limit. */
  c->room_before = r->room_rate;
  c->room_drawn = 1;
  if (!ratelimit_take(&r->room_rate, r->room_burst, r->room_per_second, now)) return CHAT_E_RATE_LIMITED;
  cJSON *msg = cJSON_CreateObject();
  if (!msg || json_add_num(msg, "user_id", (double)m->user_id) < 0 || json_add_str(msg, "username", m->username) < 0 ||
      json_add_str(msg, "body", body) < 0 || json_add_str(msg, "client_id", cid) < 0 ||
      json_add_num(msg, "created_at", now) < 0) {
    cJSON_Delete(msg);
    return CHAT_E_NOMEM;
  }
  c->q = (outbox_frame){NULL, 0, m->user_id, msg, m->conn};
  /* its size once a frame, at most: the body escaped (a control character takes 6
   * bytes, \u0001), and the other fields */
  return enqueue(r, e, c, 6 * blen + 512, now);
}

static int on_delete(effects *e, change *c, const cJSON *f, pending *p) {
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(f, "seq");
  int rc = s ? json_get_uint53(s, &p->seq) : CHAT_E_FIELD_MISSING;
  if (rc < 0) return rc == CHAT_E_FIELD_MISSING ? rc : CHAT_E_SEQ_INVALID;
  cJSON *q = query("message");
  if (!q || json_add_num(q, "seq", (double)p->seq) < 0) {
    cJSON_Delete(q);
    return CHAT_E_NOMEM;
  }
  p->kind = P_DELETE;
  return ask(e, c, q, p);
}

/* The newest `limit` messages after/before a seq, leaving out deleted ones and
 * those whose authors the viewer blocks (`exclude`, an array this takes). */
static cJSON *history_query(const int64_t *after, const int64_t *before, int limit, cJSON *exclude) {
  cJSON *q = query("history");
  if (!q || json_add_item(q, "after", after ? cJSON_CreateNumber((double)*after) : cJSON_CreateNull()) < 0 ||
      json_add_item(q, "before", before ? cJSON_CreateNumber((double)*before) : cJSON_CreateNull()) < 0 ||
      json_add_num(q, "limit", limit) < 0 || json_add_bool(q, "include_deleted", 0) < 0) {
    cJSON_Delete(q);
    cJSON_Delete(exclude);
    return NULL;
  }
  if (json_add_item(q, "exclude_users", exclude) < 0) {
    cJSON_Delete(q);
    return NULL;
  }
  return q;
}

static int on_join(const room *r, effects *e, change *c, const member *m, const cJSON *f, pending *p) {
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(f, "since");
  if (s && !cJSON_IsNull(s)) {
    if (json_get_uint53(s, &p->since) < 0) return CHAT_E_SEQ_INVALID;
    p->has_since = 1;
  }
  p->kind = P_JOIN;
  p->limit = CHAT_HISTORY_PAGE + 1; /* one more than a page tells whether more are missing */
  return ask(e, c, history_query(p->has_since ? &p->since : NULL, NULL, p->limit, blocks_json(r, m->user_id)), p);
}

/* Rate limit: every frame costs a token; refused frames cost flood tokens, and a
 * client out of those is disconnected. Returns 1 to go on, 0 when handled (with
 * the result in *rc). */
static int admit(room *r, effects *e, change *c, const member *m, double now, int *rc) {
  user_state *l = find_user(r, m->user_id);
  *rc = CHAT_OK;
  if (!l) return 1;
  c->limit = l;
  c->before = *l;
  if (ratelimit_take(&l->rate, r->rate_burst, r->rate_per_second, now)) return 1;
  if (ratelimit_take(&l->flood, CHAT_FLOOD_BURST, CHAT_FLOOD_PER_SECOND, now)) {
    *rc = effects_error(e, m->conn, CHAT_E_RATE_LIMITED, NULL);
    return 0;
  }
  cJSON *o = effects_add(e, "close");
  if (!o || json_add_num(o, "conn", (double)m->conn) < 0 || json_add_num(o, "code", CHAT_CLOSE_POLICY) < 0 ||
      json_add_str(o, "reason", "rate limit exceeded") < 0)
    *rc = CHAT_E_NOMEM;
  return 0;
}

static int pong(effects *e, int64_t conn, const pending *p) {
  cJSON *f = cJSON_CreateObject();
  if (!f || json_add_str(f, "type", CHAT_FRAME(pong)) < 0 || (p->has_ref && json_add_str(f, "ref", p->ref) < 0)) {
    cJSON_Delete(f);
    return CHAT_E_NOMEM;
  }
  return effects_send_one(e, conn, f);
}

static int on_frame(room *r, effects *e, change *c, int64_t conn, const unsigned char *in,
                    size_t len, double now) {
  const member *m = find_member(r, conn);
  cJSON *f = NULL;
  pending p = {0};
  const char *type = NULL;
  size_t n;
  int rc;
  if (!m) return CHAT_E_MISUSE;
  if (!admit(r, e, c, m, now, &rc)) return rc;
  p.conn = conn;
  rc = len > CHAT_FRAME_MAX ? CHAT_E_FRAME_TOO_LARGE : json_parse_object(in, len, &f);
  if (rc >= 0) {
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(f, "ref");
    if (ref && (!cJSON_IsString(ref) || strlen(ref->valuestring) > CHAT_REF_MAX)) {
      rc = CHAT_E_REF_INVALID;
    } else if (ref) {
      strcpy(p.ref, ref->valuestring);
      p.has_ref = 1;
    }
  }
  if (rc >= 0) rc = json_get_string(f, "type", &type, &n);
  if (rc >= 0) {
    if (strcmp(type, CHAT_FRAME(ping)) == 0) rc = pong(e, conn, &p);
    else if (strcmp(type, CHAT_FRAME(join_room)) == 0) rc = on_join(r, e, c, m, f, &p);
    else if (!m->joined && (strcmp(type, message_type(r)) == 0 || strcmp(type, CHAT_FRAME(delete_message)) == 0))
      rc = CHAT_E_NOT_JOINED;
    else if (strcmp(type, message_type(r)) == 0) rc = r->dm && !r->dm_open ? CHAT_E_DM_CLOSED : on_send(r, e, c, m, f, now);
    else if (strcmp(type, CHAT_FRAME(delete_message)) == 0) rc = on_delete(e, c, f, &p);
    else rc = CHAT_E_UNKNOWN_TYPE;
  }
  cJSON_Delete(f);
  if (rc >= 0 || rc == CHAT_E_NOMEM) return rc;
  /* Bad input from the client: an error frame to it, and nothing else. */
  return effects_error(e, conn, rc, p.has_ref ? p.ref : NULL);
}

/* ---- answers ------------------------------------------------------------------ */

static int answer_delete(room *r, effects *e, change *c, const pending *p, const cJSON *a, double now) {
  const cJSON *found = cJSON_GetObjectItemCaseSensitive(a, "row");
  const member *m = find_member(r, p->conn);
  const char *ref = p->has_ref ? p->ref : NULL;
  message_row w;
  int rc;
  if (!m) return CHAT_E_MISUSE;
  if (!found || cJSON_IsNull(found)) return effects_error(e, p->conn, CHAT_E_MESSAGE_NOT_FOUND, ref);
  if ((rc = message_read(found, &w)) < 0) return rc;
  if (w.deleted) return effects_error(e, p->conn, CHAT_E_MESSAGE_NOT_FOUND, ref);
  /* The author may delete a message; an ADMIN may delete any. */
  if (w.user_id != m->user_id && strcmp(m->role, "ADMIN") != 0)
    return effects_error(e, p->conn, CHAT_E_FORBIDDEN, ref);
  cJSON *t = effects_add(e, "tombstone"), *f = cJSON_CreateObject();
  if (!t || json_add_num(t, "seq", (double)w.seq) < 0 || json_add_num(t, "at", now) < 0 || !f ||
      json_add_str(f, "type", CHAT_FRAME(message_deleted)) < 0 || json_add_num(f, id_key(r), (double)r->id) < 0 ||
      json_add_num(f, "seq", (double)w.seq) < 0 || json_add_num(f, "deleted_by", (double)m->user_id) < 0) {
    cJSON_Delete(f);
    return CHAT_E_NOMEM;
  }
  char *text = cJSON_PrintUnformatted(f);
  cJSON_Delete(f);
  if (!text) return CHAT_E_NOMEM;
  c->q = (outbox_frame){text, strlen(text), 0, NULL, m->conn};
  return enqueue(r, e, c, c->q.len, now);
}

static int answer_join(room *r, effects *e, change *c, const pending *p, const cJSON *a) {
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(a, "rows");
  const member *m = find_member(r, p->conn);
  int rc;
  if (!m) return CHAT_E_MISUSE;
  if (!cJSON_IsArray(rows)) return CHAT_E_FIELD_TYPE;
  cJSON *f = cJSON_CreateObject();
  rc = f ? json_add_str(f, "type", CHAT_FRAME(history)) : CHAT_E_NOMEM;
  if (rc >= 0) rc = fill_page(r, f, rows, CHAT_HISTORY_PAGE);
  if (rc >= 0) rc = json_add_item(f, "since", p->has_since ? cJSON_CreateNumber((double)p->since) : cJSON_CreateNull());
  /* the newest seq so far (every seq given is stored), so a client can tell a
   * `since` ahead of the room; messages waiting in the outbox come after it */
  if (rc >= 0) rc = json_add_num(f, "last_seq", (double)(r->next_seq - 1));
  if (rc >= 0 && p->has_ref) rc = json_add_str(f, "ref", p->ref);
  if (rc < 0) {
    cJSON_Delete(f);
    return rc;
  }
  if (!m->joined) { /* from now on this socket receives messages; remember it */
    member joined = *m;
    joined.joined = 1;
    if ((rc = attach(e, &joined)) < 0) {
      cJSON_Delete(f);
      return rc;
    }
    c->joined = m->conn;
  }
  if (r->dm) { /* looking at the conversation: nothing in it is unread any more */
    cJSON *o = effects_add(e, "dm_read");
    if (!o || json_add_num(o, "user_id", (double)m->user_id) < 0) {
      cJSON_Delete(f);
      return CHAT_E_NOMEM;
    }
  }
  return effects_send_one(e, p->conn, f);
}

static int answer_page(room *r, effects *e, const pending *p, const cJSON *a) {
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(a, "rows");
  if (!cJSON_IsArray(rows)) return CHAT_E_FIELD_TYPE;
  cJSON *page = cJSON_CreateObject(), *o = effects_add(e, "reply");
  int rc = (!page || !o) ? CHAT_E_NOMEM : fill_page(r, page, rows, p->limit - 1);
  char *text = rc >= 0 ? cJSON_PrintUnformatted(page) : NULL;
  cJSON_Delete(page);
  if (rc >= 0) rc = text ? json_add_str(o, "body", text) : CHAT_E_NOMEM;
  cJSON_free(text);
  return rc;
}

/* ---- HTTP history page ------------------------------------------------------- */

/* A page of history for GET /rooms/:id/messages. The input is
 * {"query": "before=N&limit=K", "viewer": {"id", "blocks": [...]}}: both query
 * keys are optional (others are ignored); the page is at most K (1..
 * CHAT_HISTORY_PAGE, default CHAT_HISTORY_PAGE) messages before seq N, or the
 * latest, without those of users the viewer blocks. */
static int on_page(effects *e, change *c, const unsigned char *in, size_t in_len) {
  int64_t before = 0, limit = CHAT_HISTORY_PAGE, *excluded = NULL;
  int has_before = 0, present, rc;
  size_t len, n_excluded = 0;
  const char *q;
  cJSON *facts = NULL, *exclude;
  if ((rc = json_parse_object(in, in_len, &facts)) < 0 || (rc = json_get_string(facts, "query", &q, &len)) < 0 ||
      (rc = read_blocks(cJSON_GetObjectItemCaseSensitive(facts, "viewer"), &excluded, &n_excluded, &present)) < 0)
    goto done;
  query_iter it = {q, len, 0};
  const char *key, *val;
  size_t klen, vlen;
  while (rc >= 0 && query_next(&it, &key, &klen, &val, &vlen)) {
    if (query_is(key, klen, "before")) {
      if (query_uint(val, vlen, &before) < 0 || before < 1) rc = CHAT_E_QUERY_INVALID;
      has_before = 1;
    } else if (query_is(key, klen, "limit")) {
      if (query_uint(val, vlen, &limit) < 0 || limit < 1 || limit > CHAT_HISTORY_PAGE) rc = CHAT_E_QUERY_INVALID;
    }
  }
  if (rc < 0) goto done;
  if (!(exclude = cJSON_CreateArray())) rc = CHAT_E_NOMEM;
  for (size_t k = 0; rc >= 0 && k < n_excluded; k++)
    if (json_push(exclude, cJSON_CreateNumber((double)excluded[k])) < 0) rc = CHAT_E_NOMEM;
  if (rc < 0) {
    cJSON_Delete(exclude);
    goto done;
  }
  pending p = {0};
  p.kind = P_PAGE;
  p.limit = (int)limit + 1;
  rc = ask(e, c, history_query(NULL, has_before ? &before : NULL, p.limit, exclude), &p);
done:
  chat_free(excluded);
  cJSON_Delete(facts);
  return rc;
}

/* ---- members ------------------------------------------------------------------- */

/* Reads {"id","username","role"} into m. */
static int read_member(const cJSON *u, member *m) {
  const char *name, *role;
  size_t nlen, rlen;
  int rc;
  if (!cJSON_IsObject(u)) return CHAT_E_FIELD_TYPE;
  if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(u, "id"), &m->user_id)) < 0 ||
      (rc = json_get_string(u, "username", &name, &nlen)) < 0 ||
      (rc = json_get_string(u, "role", &role, &rlen)) < 0)
    return rc;
  if (nlen > CHAT_USERNAME_MAX || (strcmp(role, "USER") != 0 && strcmp(role, "ADMIN") != 0))
    return CHAT_E_FIELD_TYPE;
  memcpy(m->username, name, nlen + 1);
  strcpy(m->role, role);
  return CHAT_OK;
}

/* Makes room for one more member (and its user's rate limits), changing nothing
 * observable: the member is added by commit(). */
static int reserve_member(room *r, int64_t user_id) {
  size_t mine = 0;
  for (size_t i = 0; i < r->n_members; i++) mine += r->members[i].user_id == user_id;
  if (r->n_members >= CHAT_ROOM_CONNS_MAX) return CHAT_E_ROOM_FULL;
  if (mine >= CHAT_USER_CONNS_MAX) return CHAT_E_TOO_MANY_CONNECTIONS;
  if (reserve((void **)&r->users, r->n_users, &r->cap_users, sizeof *r->users) < 0 ||
      reserve((void **)&r->members, r->n_members, &r->cap_members, sizeof *r->members) < 0)
    return CHAT_E_NOMEM;
  return CHAT_OK;
}

static void remove_member(room *r, int64_t conn) {
  member *m = find_member(r, conn);
  if (!m) return;
  int64_t user = m->user_id;
  *m = r->members[--r->n_members];
  for (size_t i = 0; i < r->n_members; i++)
    if (r->members[i].user_id == user) return;
  /* The user's last socket here closed. Their rate-limit state stays (a reconnect
   * must not refill the buckets); prune_departed() drops it once it has refilled. */
}

/* Forgets users with no socket here whose buckets are full again by now_ms: they
 * would start from full anyway. */
static void prune_departed(room *r, double now_ms) {
  const double rate_ms = 1000.0 * CHAT_RATE_BURST / CHAT_RATE_PER_SECOND;
  const double flood_ms = 1000.0 * CHAT_FLOOD_BURST / CHAT_FLOOD_PER_SECOND;
  for (size_t i = 0; i < r->n_users;) {
    user_state *u = &r->users[i];
    int present = 0;
    for (size_t k = 0; k < r->n_members && !present; k++) present = r->members[k].user_id == u->user_id;
    if (present || now_ms - u->rate.last_ms < rate_ms || now_ms - u->flood.last_ms < flood_ms) {
      i++;
      continue;
    }
    chat_free(u->blocks);
    *u = r->users[--r->n_users];
  }
}

/* Reads the user of a socket and their block list into the change. */
static int read_user(const room *r, const cJSON *u, change *c) {
  int present, rc = read_member(u, &c->m);
  if (rc < 0) return rc;
  if (r->dm && c->m.user_id != r->dm_members[0] && c->m.user_id != r->dm_members[1])
    return CHAT_E_NOT_MEMBER;
  if ((rc = read_blocks(u, &c->blocks, &c->n_blocks, &present)) < 0) return rc;
  c->set_blocks = present;
  c->blocks_user = c->m.user_id;
  return CHAT_OK;
}

static int on_open(room *r, effects *e, change *c, const unsigned char *in, size_t len) {
  cJSON *u = NULL, *f, *where;
  int rc = json_parse_object(in, len, &u);
  if (rc >= 0) rc = read_user(r, u, c);
  cJSON_Delete(u);
  if (rc < 0 || (rc = reserve_member(r, c->m.user_id)) < 0) return rc;
  c->m.conn = r->next_conn;
  if (!(f = cJSON_CreateObject()) || json_add_str(f, "type", CHAT_FRAME(connection)) < 0 ||
      json_add_str(f, "protocol", CHAT_WS_PROTOCOL) < 0 ||
      json_add_item(f, "user", user_json(c->m.user_id, c->m.username, c->m.role)) < 0 ||
      !(where = cJSON_CreateObject()) || json_add_item(f, r->dm ? "conversation" : "room", where) < 0 ||
      json_add_num(where, "id", (double)r->id) < 0 || attach(e, &c->m) < 0) {
    cJSON_Delete(f);
    return CHAT_E_NOMEM;
  }
  c->add = 1;
  return effects_send_one(e, c->m.conn, f);
}

static int on_restore(room *r, change *c, const unsigned char *in, size_t len) {
  cJSON *a = NULL;
  int rc = json_parse_object(in, len, &a);
  if (rc >= 0) rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(a, "conn"), &c->m.conn);
  if (rc >= 0) rc = read_user(r, cJSON_GetObjectItemCaseSensitive(a, "user"), c);
  if (rc >= 0) rc = find_member(r, c->m.conn) ? CHAT_E_MISUSE : reserve_member(r, c->m.user_id);
  c->m.joined = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "joined"));
  cJSON_Delete(a);
  c->add = rc >= 0;
  return rc;
}

/* {"user_id", "blocks": [...]}: whom a user blocks changed. Their sockets here
 * hear of it, so a client can hide or reload what it shows. */
static int on_blocks(room *r, effects *e, change *c, const unsigned char *in, size_t len) {
  cJSON *facts = NULL, *f = NULL, *to = NULL;
  int present, rc = json_parse_object(in, len, &facts);
  if (rc >= 0) rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "user_id"), &c->blocks_user);
  if (rc >= 0) rc = read_blocks(facts, &c->blocks, &c->n_blocks, &present);
  if (rc >= 0 && !present) rc = CHAT_E_FIELD_MISSING;
  if (rc >= 0 && find_user(r, c->blocks_user)) {
    c->set_blocks = 1;
    if (!(f = cJSON_CreateObject()) || !(to = cJSON_CreateArray()) ||
        json_add_str(f, "type", CHAT_FRAME(blocks_changed)) < 0 ||
        json_add_copy(f, "blocks", cJSON_GetObjectItemCaseSensitive(facts, "blocks")) < 0) {
      rc = CHAT_E_NOMEM;
    }
    for (size_t i = 0; rc >= 0 && i < r->n_members; i++)
      if (r->members[i].user_id == c->blocks_user && json_push(to, cJSON_CreateNumber((double)r->members[i].conn)) < 0)
        rc = CHAT_E_NOMEM;
    if (rc >= 0) rc = effects_send(e, f, to);
    else cJSON_Delete(f), cJSON_Delete(to);
  }
  cJSON_Delete(facts);
  return rc;
}

/* {"kind": "room"|"dm", "members": [a, b], "open": bool}: what this room is. */
static int on_config(change *c, const unsigned char *in, size_t len) {
  cJSON *facts = NULL;
  const char *kind;
  size_t n;
  int rc = json_parse_object(in, len, &facts);
  if (rc >= 0 && (rc = json_get_string(facts, "kind", &kind, &n)) >= 0) {
    c->dm = strcmp(kind, "dm") == 0;
    c->dm_open = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "open"));
    /* "rate": {"burst", "per_second"} replaces the per-user limit, for load tests
     * of a deployment (CHAT_RATE_* otherwise) */
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(facts, "rate");
    const cJSON *burst = cJSON_GetObjectItemCaseSensitive(rate, "burst");
    const cJSON *per = cJSON_GetObjectItemCaseSensitive(rate, "per_second");
    c->rate_burst = cJSON_IsNumber(burst) && burst->valuedouble >= 1 ? burst->valuedouble : CHAT_RATE_BURST;
    c->rate_per_second = cJSON_IsNumber(per) && per->valuedouble > 0 ? per->valuedouble : CHAT_RATE_PER_SECOND;
    /* "room_rate": the same for the room's load-shedding bucket */
    const cJSON *room_rate = cJSON_GetObjectItemCaseSensitive(facts, "room_rate");
    burst = cJSON_GetObjectItemCaseSensitive(room_rate, "burst");
    per = cJSON_GetObjectItemCaseSensitive(room_rate, "per_second");
    c->room_burst = cJSON_IsNumber(burst) && burst->valuedouble >= 1 ? burst->valuedouble : CHAT_ROOM_RATE_BURST;
    c->room_per_second = cJSON_IsNumber(per) && per->valuedouble > 0 ? per->valuedouble : CHAT_ROOM_RATE_PER_SECOND;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(facts, "members");
    if (c->dm && (cJSON_GetArraySize(m) != 2 || json_get_uint53(cJSON_GetArrayItem(m, 0), &c->dm_members[0]) < 0 ||
                  json_get_uint53(cJSON_GetArrayItem(m, 1), &c->dm_members[1]) < 0))
      rc = CHAT_E_FIELD_TYPE;
    else if (!c->dm && strcmp(kind, "room") != 0)
      rc = CHAT_E_FIELD_TYPE;
    c->config = rc >= 0;
  }
  cJSON_Delete(facts);
  return rc;
}

/* {"user_id", "reason"}: the user was banned; a close effect for each socket. */
static int on_kick(room *r, effects *e, const unsigned char *in, size_t len) {
  cJSON *facts = NULL;
  const char *reason;
  size_t n;
  int64_t user;
  int rc = json_parse_object(in, len, &facts);
  if (rc >= 0) rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "user_id"), &user);
  if (rc >= 0) rc = json_get_string(facts, "reason", &reason, &n);
  for (size_t i = 0; rc >= 0 && i < r->n_members; i++) {
    if (r->members[i].user_id != user) continue;
    cJSON *o = effects_add(e, "close");
    if (!o || json_add_num(o, "conn", (double)r->members[i].conn) < 0 ||
        json_add_num(o, "code", CHAT_CLOSE_BANNED) < 0 || json_add_str(o, "reason", reason) < 0)
      rc = CHAT_E_NOMEM;
  }
  cJSON_Delete(facts);
  return rc;
}

/* ---- the event entry point -------------------------------------------------- */

int room_new(int64_t id, int64_t next_seq, room **out) {
  room *r = chat_malloc(sizeof *r);
  *out = NULL;
  if (!r) return CHAT_E_NOMEM;
  memset(r, 0, sizeof *r);
  r->id = id;
  r->next_seq = next_seq < 1 ? 1 : next_seq;
  r->next_conn = 1;
  r->last_activity_report = -CHAT_ACTIVITY_REPORT_MS;
  r->rate_burst = CHAT_RATE_BURST;
  r->rate_per_second = CHAT_RATE_PER_SECOND;
  r->room_burst = CHAT_ROOM_RATE_BURST;
  r->room_per_second = CHAT_ROOM_RATE_PER_SECOND;
  r->last_flush_ms = -CHAT_FLUSH_INTERVAL_MS;
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
  for (size_t i = 0; i < r->n_outbox; i++) cJSON_free(r->outbox[i].text), cJSON_Delete(r->outbox[i].message);
  chat_free(r->outbox);
  chat_free(r->members);
  chat_free(r->users);
  chat_free(r->unread);
  chat_free(r);
}

/* Applies an event's changes once its effects are out; or undoes what it drew. */
static void commit(room *r, change *c, int ok) {
  if (!ok) {
    if (c->limit) *c->limit = c->before;
    if (c->room_drawn) r->room_rate = c->room_before;
    if (c->queue) cJSON_free(c->q.text), cJSON_Delete(c->q.message);
    chat_free(c->blocks);
    return;
  }
  if (c->flushed) { /* everything waiting went out */
    for (size_t i = 0; i < r->n_outbox; i++) cJSON_free(r->outbox[i].text), cJSON_Delete(r->outbox[i].message);
    if (c->queue) cJSON_free(c->q.text), cJSON_Delete(c->q.message);
    r->n_outbox = r->outbox_bytes = 0;
    r->last_flush_ms = c->flush_ms;
    r->next_seq += c->n_stored;
  } else if (c->queue) { /* enqueue() flushes before the outbox is full */
    r->outbox[r->n_outbox++] = c->q;
    r->outbox_bytes += c->q_bytes;
  }
  if (c->schedule) r->flush_due = 1;
  if (c->unschedule) r->flush_due = 0;
  if (c->add) {
    if (!find_user(r, c->m.user_id))
      r->users[r->n_users++] = (user_state){c->m.user_id, {0, 0, 0}, {0, 0, 0}, NULL, 0};
    r->members[r->n_members++] = c->m;
    if (c->m.conn >= r->next_conn) r->next_conn = c->m.conn + 1;
  }
  user_state *u = c->set_blocks ? find_user(r, c->blocks_user) : NULL;
  if (u) { /* the latest facts about whom the user blocks win */
    chat_free(u->blocks);
    u->blocks = c->blocks;
    u->n_blocks = c->n_blocks;
  } else {
    chat_free(c->blocks);
  }
  if (c->config) {
    r->dm = c->dm;
    r->dm_open = c->dm_open;
    r->dm_members[0] = c->dm_members[0];
    r->dm_members[1] = c->dm_members[1];
    r->rate_burst = c->rate_burst;
    r->rate_per_second = c->rate_per_second;
    r->room_burst = c->room_burst;
    r->room_per_second = c->room_per_second;
  }
  if (c->remove) remove_member(r, c->conn);
  if (c->reported) r->last_activity_report = c->at;
  if (c->joined) find_member(r, c->joined)->joined = 1;
  if (c->ask) r->p = c->p;
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
  if ((r->p.kind != P_NONE) != (kind == ROOM_ANSWER)) return CHAT_E_MISUSE;

  effects e;
  change c = {0};
  int rc = effects_init(&e);
  if (rc < 0) return rc;
  switch (kind) {
    case ROOM_OPEN:
      prune_departed(r, now_ms); /* no observable change: safe before the event */
      rc = on_open(r, &e, &c, in, in_len);
      break;
    case ROOM_RESTORE: rc = on_restore(r, &c, in, in_len); break;
    case ROOM_FRAME: rc = on_frame(r, &e, &c, conn, in, in_len, now_ms); break;
    case ROOM_CLOSE: c.remove = 1, c.conn = conn; break;
    case ROOM_PAGE: rc = on_page(&e, &c, in, in_len); break;
    case ROOM_BLOCKS: rc = on_blocks(r, &e, &c, in, in_len); break;
    case ROOM_CONFIG: rc = on_config(&c, in, in_len); break;
    case ROOM_KICK: rc = on_kick(r, &e, in, in_len); break;
    case ROOM_FLUSH:
      c.unschedule = 1;
      rc = r->n_outbox ? start_flush(r, &e, &c, now_ms) : CHAT_OK;
      break;
    case ROOM_ANSWER: {
      cJSON *a = NULL;
      if ((rc = json_parse_object(in, in_len, &a)) >= 0) {
        switch (r->p.kind) {
          case P_FLUSH: {
            const cJSON *rows = cJSON_GetObjectItemCaseSensitive(a, "rows");
            rc = cJSON_IsArray(rows) ? finish_flush(r, &e, &c, rows, now_ms) : CHAT_E_FIELD_TYPE;
            break;
          }
          case P_DELETE: rc = answer_delete(r, &e, &c, &r->p, a, now_ms); break;
          case P_JOIN: rc = answer_join(r, &e, &c, &r->p, a); break;
          case P_PAGE: rc = answer_page(r, &e, &r->p, a); break;
        }
      }
      cJSON_Delete(a);
      break;
    }
    default: rc = CHAT_E_UNKNOWN_OP;
  }
  if (rc >= 0) {
    rc = effects_write(&e, out, cap, out_len, &r->unread);
    if (rc == CHAT_E_BUFFER_TOO_SMALL) r->unread_len = *out_len; /* kept for the next call */
  }
  int ok = rc >= 0 || rc == CHAT_E_BUFFER_TOO_SMALL;
  if (ok && kind == ROOM_ANSWER) { /* the question is settled */
    memset(&r->p, 0, sizeof r->p);
  }
  commit(r, &c, ok);
  effects_free(&e);
  return rc;
}

int room_check_name(const char *name, size_t len, char *key) {
  const unsigned char *s = (const unsigned char *)name;
  if (len == 0) return CHAT_E_ROOM_NAME_EMPTY;
  if (!utf8_valid(s, len)) return CHAT_E_ROOM_NAME_INVALID;
  if (utf8_count(s, len) > CHAT_ROOM_NAME_MAX) return CHAT_E_ROOM_NAME_TOO_LONG;
  if (s[0] == ' ' || s[len - 1] == ' ') return CHAT_E_ROOM_NAME_INVALID;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = s[i];
    /* C0 controls (NUL included), DEL, and C1 controls (U+0080..U+009F: C2 80..C2 9F) */
    if (ch < 0x20 || ch == 0x7f || (ch == 0xc2 && s[i + 1] < 0xa0)) return CHAT_E_ROOM_NAME_INVALID;
    key[i] = (char)((ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch);
  }
  key[len] = '\0';
  return CHAT_OK;
}

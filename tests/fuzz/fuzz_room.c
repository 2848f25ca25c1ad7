/*
 * fuzz_room.c -- libFuzzer target: the room state machine (room.h), driven by a
 * sequence of events decoded from the input, against a small model of the shell
 * and of storage. Only room.h's public API is used.
 *
 * The model plays the shell: it opens sockets for four users (user 4 is an
 * ADMIN), sends frames built from templates (join_room, new_chat_message,
 * delete_message, ping) with fuzzed fields or raw fuzzed bytes, closes sockets,
 * delivers ROOM_FLUSH when a flush_at comes due (and at other times), changes
 * block lists, bans (ROOM_KICK), asks for HTTP history pages, lets the room
 * "hibernate" (a new room restored from the sockets' attachments), and answers
 * every query from an in-memory message log. Some events run while allocations
 * fail, or with a small output buffer.
 *
 * Checked after each event, on its effects in order (room.h):
 *  - gap-free seqs: each store has the next seq, and (user, client_id) is stored
 *    once; a stored message is one its author sent (same body and client_id);
 *  - store before send: a message frame carries a stored seq, stored in the same
 *    event (a flush stores and sends together), with the stored fields;
 *  - joined-only delivery: broadcasts reach joined sockets only, and every joined
 *    socket whose user does not block the author gets each stored message;
 *  - block filtering: no socket gets a message (broadcast or history) by someone
 *    its user blocks, and history queries exclude exactly the viewer's blocks;
 *  - per-socket order: the messages broadcast to a socket have increasing seqs;
 *  - every frame sent is a JSON object the strict reader (json_in.h) accepts, in
 *    UTF-8, of a known type; every error code is one of chat_error.h; a query is
 *    the last effect; the room's return codes are those room.h documents; nothing
 *    leaks (libFuzzer's leak check).
 *
 * Input: [config byte] then events, each [kind byte][its argument bytes]; see
 * run_one(). Seeds: tests/fuzz/seeds.mjs turns the golden room scripts into events.
 * With FUZZ_TRACE set in the environment, every event and its effects are printed
 * to stderr: the way to read a failing input.
 */
#include "chat_error.h"
#include "chat_limits.h"
#include "cJSON.h"
#include "fuzz_util.h"
#include "json_in.h"
#include "room.h"
#include "utf8.h"

#define USERS 4      /* user ids 1..USERS; the last is an ADMIN */
#define SOCKS_MAX 48 /* sockets the model keeps open at once (a bit per socket below) */
#define ROWS_MAX 4096
#define SENT_MAX 4096
#define ROOM_ID 7

typedef struct {
  int64_t conn;
  int user;
  int joined;
  int closing;       /* a close effect named it: the shell reports ROOM_CLOSE next */
  int64_t last_seq;  /* of the last message broadcast to it */
  cJSON *attach;     /* its last attachment's data */
} sock;

typedef struct {
  int user;
  char *cid, *body;
  double at;
  int deleted;
  double deleted_at;
} row;

typedef struct {
  int user;
  char *cid, *body;
} sent;

static struct {
  room *r;
  int dm, dm_open;
  char config[256];
  double now, flush_at;
  sock socks[SOCKS_MAX];
  int n_socks;
  row rows[ROWS_MAX]; /* rows[i] has seq i + 1 */
  int n_rows;
  int blocks[USERS + 1][USERS + 1]; /* blocks[a][b]: a blocks b */
  sent sents[SENT_MAX];
  int n_sent, sent_full;
  int asker;        /* the user whose history a query is for */
  int fail_next;    /* the next event runs while allocations fail */
  long fail_after;
  int small_out;    /* the next event gets a small output buffer first */
  int trace;        /* FUZZ_TRACE set: every event and its effects on stderr */
} m;

static unsigned char out[1 << 22];

/* ---- the model ---------------------------------------------------------------- */

static int64_t next_seq(void) { return m.n_rows + 1; }

static row *find_row(int64_t seq) { return seq >= 1 && seq <= m.n_rows ? &m.rows[seq - 1] : NULL; }

static int sock_index(int64_t conn) {
  for (int i = 0; i < m.n_socks; i++)
    if (m.socks[i].conn == conn) return i;
  return -1;
}

static int user_sockets(int user) {
  int n = 0;
  for (int i = 0; i < m.n_socks; i++) n += m.socks[i].user == user;
  return n;
}

static void drop_sock(int i) {
  cJSON_Delete(m.socks[i].attach);
  m.socks[i] = m.socks[--m.n_socks];
}

static const char *message_type(void) { return m.dm ? "new_direct_message" : "new_chat_message"; }

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  memcpy(d, s, n);
  return d;
}

/* Remembers what a frame from `user` would store: (user, client_id, body). */
static void note_sent(int user, const char *text, size_t len) {
  cJSON *f = cJSON_ParseWithLength(text, len);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(f, "type");
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(f, "body");
  const cJSON *cid = cJSON_GetObjectItemCaseSensitive(f, "client_id");
  if (cJSON_IsString(type) && strcmp(type->valuestring, message_type()) == 0 && cJSON_IsString(body) &&
      cJSON_IsString(cid)) {
    if (m.n_sent == SENT_MAX) m.sent_full = 1;
    else m.sents[m.n_sent++] = (sent){user, dup_str(cid->valuestring), dup_str(body->valuestring)};
  }
  cJSON_Delete(f);
}

static int was_sent(int user, const char *cid, const char *body) {
  for (int i = 0; i < m.n_sent; i++)
    if (m.sents[i].user == user && strcmp(m.sents[i].cid, cid) == 0 && strcmp(m.sents[i].body, body) == 0) return 1;
  return m.sent_full;
}

static cJSON *blocks_of(int user) {
  cJSON *a = cJSON_CreateArray();
  for (int b = 1; b <= USERS; b++)
    if (m.blocks[user][b]) cJSON_AddItemToArray(a, cJSON_CreateNumber(b));
  return a;
}

static cJSON *user_facts(int user) {
  cJSON *u = cJSON_CreateObject();
  char name[16];
  snprintf(name, sizeof name, "user%d", user);
  cJSON_AddNumberToObject(u, "id", user);
  cJSON_AddStringToObject(u, "username", name);
  cJSON_AddStringToObject(u, "role", user == USERS ? "ADMIN" : "USER");
  return u;
}

static cJSON *row_json(int64_t seq) {
  const row *w = find_row(seq);
  cJSON *o = cJSON_CreateObject();
  char name[16];
  snprintf(name, sizeof name, "user%d", w->user);
  cJSON_AddNumberToObject(o, "seq", (double)seq);
  cJSON_AddNumberToObject(o, "user_id", w->user);
  cJSON_AddStringToObject(o, "username", name);
  cJSON_AddStringToObject(o, "body", w->body);
  cJSON_AddStringToObject(o, "client_id", w->cid);
  cJSON_AddNumberToObject(o, "created_at", w->at);
  if (w->deleted) cJSON_AddNumberToObject(o, "deleted_at", w->deleted_at);
  else cJSON_AddNullToObject(o, "deleted_at");
  return o;
}

/* ---- checking one event's effects ------------------------------------------------ */

static int64_t num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  CHECK(cJSON_IsNumber(v), "%s is not a number", key);
  return (int64_t)v->valuedouble;
}

static const char *str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  CHECK(cJSON_IsString(v), "%s is not a string", key);
  return v->valuestring;
}

static int is_error_name(const char *s) { return fuzz_is_error_name(s); }

/* What one event did to the messages, for the checks made once all its effects
 * are read. */
typedef struct {
  int64_t stored[CHAT_BATCH_MAX + 1];
  uint64_t got[CHAT_BATCH_MAX + 1]; /* bit i: socket i got stored[k] */
  int n_stored;
  int64_t deleted_seq[CHAT_BATCH_MAX + 1];
  uint64_t deleted_got[CHAT_BATCH_MAX + 1];
  int n_deleted;
} event_log;

static void check_message(const cJSON *f, const cJSON *to, event_log *log) {
  int64_t seq = num(f, "seq");
  const row *w = find_row(seq);
  CHECK(w, "a message frame of seq %lld, which was never stored", (long long)seq);
  const cJSON *user = cJSON_GetObjectItemCaseSensitive(f, "user");
  CHECK(num(user, "id") == w->user, "the author of %lld", (long long)seq);
  CHECK(strcmp(str(f, "body"), w->body) == 0 && strcmp(str(f, "client_id"), w->cid) == 0,
        "message %lld is not what was stored", (long long)seq);
  CHECK(num(f, m.dm ? "conversation_id" : "room_id") == ROOM_ID, "room id");
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "duplicate"))) { /* a retry's acknowledgement */
    CHECK(cJSON_GetArraySize(to) == 1, "an acknowledgement to %d sockets", cJSON_GetArraySize(to));
    int i = sock_index((int64_t)cJSON_GetArrayItem(to, 0)->valuedouble);
    CHECK(m.socks[i].user == w->user, "an acknowledgement to someone else than the author");
    return;
  }
  int k = 0;
  while (k < log->n_stored && log->stored[k] != seq) k++;
  CHECK(k < log->n_stored, "message %lld sent in an event that did not store it", (long long)seq);
  const cJSON *c;
  cJSON_ArrayForEach(c, to) {
    int i = sock_index((int64_t)c->valuedouble);
    sock *s = &m.socks[i];
    CHECK(s->joined, "message %lld sent to socket %lld, which has not joined", (long long)seq, (long long)s->conn);
    CHECK(!m.blocks[s->user][w->user], "message %lld by user %d sent to user %d, who blocks them", (long long)seq,
          w->user, s->user);
    CHECK(seq > s->last_seq, "socket %lld got %lld after %lld", (long long)s->conn, (long long)seq,
          (long long)s->last_seq);
    s->last_seq = seq;
    CHECK(!(log->got[k] >> i & 1), "message %lld sent twice to one socket", (long long)seq);
    log->got[k] |= (uint64_t)1 << i;
  }
}

/* The messages of a history page, oldest first: stored, not deleted, none by
 * someone `viewer` blocks, none at or before `since`. */
static void check_page(const cJSON *page, int viewer, int64_t since) {
  const cJSON *msg, *list = cJSON_GetObjectItemCaseSensitive(page, "messages");
  int64_t last = since;
  CHECK(cJSON_IsArray(list), "a page without messages");
  cJSON_ArrayForEach(msg, list) {
    int64_t seq = num(msg, "seq");
    const row *w = find_row(seq);
    CHECK(w && !w->deleted, "history shows message %lld, which is not there", (long long)seq);
    CHECK(seq > last, "history out of order");
    last = seq;
    CHECK(!m.blocks[viewer][w->user], "history shows user %d a message by user %d, whom they block", viewer, w->user);
    CHECK(strcmp(str(msg, "body"), w->body) == 0, "history's message %lld differs", (long long)seq);
  }
}

static void check_frame(const cJSON *f, const cJSON *to, event_log *log) {
  const char *type = str(f, "type");
  int n_to = cJSON_GetArraySize(to);
  if (strcmp(type, "new_chat_message") == 0 || strcmp(type, "new_direct_message") == 0) {
    CHECK(strcmp(type, message_type()) == 0, "a %s in a %s", type, m.dm ? "conversation" : "room");
    check_message(f, to, log);
  } else if (strcmp(type, "message_deleted") == 0) {
    int64_t seq = num(f, "seq");
    CHECK(find_row(seq) && find_row(seq)->deleted, "message %lld announced deleted before its tombstone",
          (long long)seq);
    int k = 0; /* one deletion may go out in several sends (a batch, and alone) */
    while (k < log->n_deleted && log->deleted_seq[k] != seq) k++;
    if (k == log->n_deleted) {
      CHECK(log->n_deleted <= CHAT_BATCH_MAX, "deletions");
      log->deleted_seq[log->n_deleted] = seq;
      log->deleted_got[log->n_deleted++] = 0;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, to) {
      int i = sock_index((int64_t)c->valuedouble);
      CHECK(m.socks[i].joined, "a deletion sent to a socket that has not joined");
      CHECK(!(log->deleted_got[k] >> i & 1), "a deletion sent twice to one socket");
      log->deleted_got[k] |= (uint64_t)1 << i;
    }
  } else if (strcmp(type, "history") == 0) {
    CHECK(n_to == 1, "history to %d sockets", n_to);
    const sock *s = &m.socks[sock_index((int64_t)cJSON_GetArrayItem(to, 0)->valuedouble)];
    const cJSON *since = cJSON_GetObjectItemCaseSensitive(f, "since");
    check_page(f, s->user, cJSON_IsNumber(since) ? (int64_t)since->valuedouble : 0);
    CHECK(num(f, "last_seq") == next_seq() - 1, "last_seq %lld, stored up to %lld", (long long)num(f, "last_seq"),
          (long long)next_seq() - 1);
  } else if (strcmp(type, "error") == 0) {
    CHECK(n_to == 1 && is_error_name(str(f, "code")), "an error frame");
  } else if (strcmp(type, "pong") == 0 || strcmp(type, "connection") == 0) {
    CHECK(n_to == 1, "%s to %d sockets", type, n_to);
  } else if (strcmp(type, "blocks_changed") == 0) {
    const cJSON *c;
    cJSON_ArrayForEach(c, to) CHECK(m.socks[sock_index((int64_t)c->valuedouble)].user ==
                                        m.socks[sock_index((int64_t)cJSON_GetArrayItem(to, 0)->valuedouble)].user,
                                    "blocks_changed to sockets of two users");
  } else if (strcmp(type, "presence") == 0) {
    /* who is online, to one joined socket, without the users its user blocks */
    CHECK(n_to == 1, "presence to %d sockets", n_to);
    const sock *s = &m.socks[sock_index((int64_t)cJSON_GetArrayItem(to, 0)->valuedouble)];
    CHECK(s->joined, "presence sent to a socket that has not joined");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(f, "online")) {
      int u = (int)c->valuedouble;
      /* (a user never blocks themselves: the service refuses it, the model may not) */
      CHECK(u >= 1 && u <= USERS && (u == s->user || !m.blocks[s->user][u]), "presence shows user %d to user %d", u, s->user);
    }
  } else if (strcmp(type, "presence_changed") == 0 || strcmp(type, "typing") == 0) {
    /* about one user, to joined sockets whose users do not block them; typing
     * never back to its author */
    int about = (int)num(f, "user_id");
    const cJSON *c;
    cJSON_ArrayForEach(c, to) {
      const sock *s = &m.socks[sock_index((int64_t)c->valuedouble)];
      CHECK(s->joined, "%s sent to a socket that has not joined", type);
      CHECK(about < 1 || about > USERS || about == s->user || !m.blocks[s->user][about],
            "%s about user %d sent to user %d, who blocks them",
            type, about, s->user);
      CHECK(strcmp(type, "typing") != 0 || s->user != about, "typing sent back to its author");
    }
  } else if (strcmp(type, "room_activity") == 0 || strcmp(type, "user_updated") == 0 ||
             strcmp(type, "account_deleted") == 0) {
    /* counts for one member, a profile, a deleted account: nothing of a message's body */
    CHECK(!cJSON_GetObjectItemCaseSensitive(f, "body"), "a %s frame carries a body", type);
  } else {
    CHECK(0, "a frame of unknown type %s", type);
  }
}

/* A frame's text: a JSON object the strict reader accepts, in UTF-8. */
static cJSON *frame_text(const unsigned char *blob, size_t blob_len, const cJSON *range) {
  CHECK(cJSON_GetArraySize(range) == 2, "a frame range");
  size_t off = (size_t)cJSON_GetArrayItem(range, 0)->valuedouble, len = (size_t)cJSON_GetArrayItem(range, 1)->valuedouble;
  CHECK(off <= blob_len && len <= blob_len - off, "a frame range outside the output");
  CHECK(utf8_valid(blob + off, len), "a frame not in UTF-8");
  cJSON *f = NULL;
  int rc = json_parse_object(blob + off, len, &f);
  CHECK(rc == CHAT_OK, "a frame the strict reader refuses (%s): %.*s", chat_error_name(rc), (int)len, blob + off);
  return f;
}

static void add_store(const cJSON *msg, event_log *log) {
  int64_t seq = num(msg, "seq");
  int user = (int)num(msg, "user_id");
  const char *cid = str(msg, "client_id"), *body = str(msg, "body");
  char name[16];
  CHECK(seq == next_seq(), "stored seq %lld, expected %lld", (long long)seq, (long long)next_seq());
  CHECK(user >= 1 && user <= USERS, "stored for user %d", user);
  snprintf(name, sizeof name, "user%d", user);
  CHECK(strcmp(str(msg, "username"), name) == 0, "stored username");
  for (int i = 0; i < m.n_rows; i++)
    CHECK(m.rows[i].user != user || strcmp(m.rows[i].cid, cid) != 0, "(%d, %s) stored twice", user, cid);
  CHECK(was_sent(user, cid, body), "stored a message user %d never sent: %s", user, body);
  CHECK(m.n_rows < ROWS_MAX && log->n_stored <= CHAT_BATCH_MAX, "too many rows");
  m.rows[m.n_rows++] = (row){user, dup_str(cid), dup_str(body), (double)num(msg, "created_at"), 0, 0};
  log->got[log->n_stored] = 0;
  log->stored[log->n_stored++] = seq;
}

/* Reads the effects of one event (out, n bytes), updates the model and returns the
 * query they end with (NULL if none). `opened`: the user an OPEN was for. */
static cJSON *check_effects(const unsigned char *o, size_t n, int kind, int opened) {
  CHECK(n >= 4, "an output of %zu bytes", n);
  size_t jn = o[0] | (size_t)o[1] << 8 | (size_t)o[2] << 16 | (size_t)o[3] << 24;
  CHECK(jn <= n - 4, "effects longer than the output");
  const unsigned char *blob = o + 4 + jn;
  size_t blob_len = n - 4 - jn;
  cJSON *root = cJSON_ParseWithLength((const char *)o + 4, jn), *query = NULL;
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "effects"), *e;
  CHECK(cJSON_IsArray(list), "no effects list");
  event_log log = {0};
  int opens = 0, count = cJSON_GetArraySize(list), index = 0;
  cJSON_ArrayForEach(e, list) {
    index++;
    if (cJSON_GetObjectItemCaseSensitive(e, "what")) { /* a query */
      CHECK(index == count, "a query that is not the last effect");
      query = cJSON_Duplicate(e, 1);
      continue;
    }
    const char *op = str(e, "op");
    if (strcmp(op, "send") == 0) {
      const cJSON *to = cJSON_GetObjectItemCaseSensitive(e, "to"), *c;
      /* (a blocks_changed for a user with no socket left here goes to no one) */
      CHECK(cJSON_IsArray(to), "a send without recipients");
      cJSON_ArrayForEach(c, to) CHECK(sock_index((int64_t)c->valuedouble) >= 0, "a send to socket %lld, not open",
                                      (long long)c->valuedouble);
      cJSON *f = frame_text(blob, blob_len, cJSON_GetObjectItemCaseSensitive(e, "frame"));
      if (strcmp(str(f, "type"), "batch") == 0) {
        const cJSON *sub, *frames = cJSON_GetObjectItemCaseSensitive(f, "frames");
        CHECK(cJSON_GetArraySize(frames) >= 2, "a batch of fewer than 2 frames");
        cJSON_ArrayForEach(sub, frames) {
          CHECK(strcmp(str(sub, "type"), "batch") != 0, "a batch in a batch");
          check_frame(sub, to, &log);
        }
      } else {
        check_frame(f, to, &log);
      }
      cJSON_Delete(f);
    } else if (strcmp(op, "store") == 0) {
      add_store(cJSON_GetObjectItemCaseSensitive(e, "message"), &log);
    } else if (strcmp(op, "tombstone") == 0) {
      row *w = find_row(num(e, "seq"));
      CHECK(w && !w->deleted, "a tombstone for message %lld, not there", (long long)num(e, "seq"));
      w->deleted = 1;
      w->deleted_at = (double)num(e, "at");
    } else if (strcmp(op, "attach") == 0) {
      int64_t conn = num(e, "conn");
      const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
      int i = sock_index(conn), joined = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "joined"));
      CHECK(num(data, "conn") == conn, "an attachment of another socket");
      if (i < 0) { /* a new socket */
        CHECK(kind == ROOM_OPEN && !opens++, "a new socket %lld outside an open", (long long)conn);
        CHECK(m.n_socks < SOCKS_MAX, "sockets");
        CHECK(num(cJSON_GetObjectItemCaseSensitive(data, "user"), "id") == opened, "the socket of someone else");
        CHECK(!joined, "a new socket already joined");
        i = m.n_socks++;
        m.socks[i] = (sock){conn, opened, 0, 0, 0, NULL};
      }
      CHECK(joined || !m.socks[i].joined, "a socket that left its room while open");
      m.socks[i].joined = joined;
      cJSON_Delete(m.socks[i].attach);
      m.socks[i].attach = cJSON_Duplicate(data, 1);
    } else if (strcmp(op, "close") == 0) {
      int i = sock_index(num(e, "conn"));
      CHECK(i >= 0, "closing a socket that is not open");
      m.socks[i].closing = 1;
    } else if (strcmp(op, "flush_at") == 0) {
      double at = cJSON_GetObjectItemCaseSensitive(e, "at")->valuedouble;
      CHECK(at >= m.now, "a flush asked for in the past");
      m.flush_at = at;
    } else if (strcmp(op, "notify") == 0) {
      CHECK(m.dm, "a notification from a room");
      cJSON *f = frame_text(blob, blob_len, cJSON_GetObjectItemCaseSensitive(e, "frame"));
      CHECK(strcmp(str(f, "type"), "new_direct_message") == 0, "a notification of another frame");
      cJSON_Delete(f);
    } else if (strcmp(op, "dm_message") == 0) {
      CHECK(m.dm && find_row(num(e, "seq")), "dm_message");
    } else if (strcmp(op, "reply") == 0) {
      cJSON *page = cJSON_Parse(str(e, "body"));
      CHECK(page, "a reply that is not JSON");
      check_page(page, m.asker, 0);
      cJSON_Delete(page);
    } else { /* activity, dm_read and the like: no message goes anywhere */
      CHECK(*op, "an effect without op");
    }
  }
  CHECK(kind != ROOM_OPEN || opens == 1, "an open without its attachment");
  /* every joined socket whose user does not block the author gets each stored message */
  for (int k = 0; k < log.n_stored; k++) {
    const row *w = find_row(log.stored[k]);
    for (int i = 0; i < m.n_socks; i++) {
      int want = m.socks[i].joined && !m.blocks[m.socks[i].user][w->user];
      CHECK(want == (int)(log.got[k] >> i & 1), "message %lld %s socket %lld (user %d, joined %d)",
            (long long)log.stored[k], want ? "never reached" : "reached", (long long)m.socks[i].conn,
            m.socks[i].user, m.socks[i].joined);
    }
  }
  for (int k = 0; k < log.n_deleted; k++)
    for (int i = 0; i < m.n_socks; i++)
      CHECK(m.socks[i].joined == (int)(log.deleted_got[k] >> i & 1), "deletion of %lld and socket %lld",
            (long long)log.deleted_seq[k], (long long)m.socks[i].conn);
  cJSON_Delete(root);
  return query;
}

/* ---- answering queries from the log --------------------------------------------- */

static int same_blocks(const cJSON *ids, int viewer) {
  int seen[USERS + 1] = {0}, n = 0;
  const cJSON *id;
  cJSON_ArrayForEach(id, ids) {
    int u = (int)id->valuedouble;
    if (u < 1 || u > USERS || seen[u] || !m.blocks[viewer][u]) return 0;
    seen[u] = 1;
    n++;
  }
  for (int u = 1; u <= USERS; u++) n -= m.blocks[viewer][u];
  return n == 0;
}

static cJSON *answer(const cJSON *q) {
  const char *what = str(q, "what");
  cJSON *a = cJSON_CreateObject();
  if (strcmp(what, "dedup") == 0) {
    cJSON *rows = cJSON_AddArrayToObject(a, "rows");
    const cJSON *msg;
    cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(q, "messages")) {
      int user = (int)num(msg, "user_id");
      const char *cid = str(msg, "client_id");
      for (int i = 0; i < m.n_rows; i++)
        if (m.rows[i].user == user && strcmp(m.rows[i].cid, cid) == 0) cJSON_AddItemToArray(rows, row_json(i + 1));
    }
  } else if (strcmp(what, "message") == 0) {
    int64_t seq = num(q, "seq");
    cJSON_AddItemToObject(a, "row", find_row(seq) ? row_json(seq) : cJSON_CreateNull());
  } else {
    CHECK(strcmp(what, "history") == 0, "a query of unknown kind %s", what);
    const cJSON *after = cJSON_GetObjectItemCaseSensitive(q, "after");
    const cJSON *before = cJSON_GetObjectItemCaseSensitive(q, "before");
    int64_t limit = num(q, "limit");
    CHECK(limit >= 2 && limit <= CHAT_HISTORY_PAGE + 1, "a history query for %lld rows", (long long)limit);
    CHECK(!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "include_deleted")), "include_deleted");
    CHECK(same_blocks(cJSON_GetObjectItemCaseSensitive(q, "exclude_users"), m.asker),
          "a history query whose exclude_users are not user %d's blocks", m.asker);
    cJSON *rows = cJSON_AddArrayToObject(a, "rows");
    for (int64_t seq = m.n_rows; seq >= 1 && cJSON_GetArraySize(rows) < limit; seq--) {
      const row *w = find_row(seq);
      if (w->deleted || m.blocks[m.asker][w->user]) continue;
      if (cJSON_IsNumber(after) && seq <= (int64_t)after->valuedouble) break;
      if (cJSON_IsNumber(before) && seq >= (int64_t)before->valuedouble) continue;
      cJSON_AddItemToArray(rows, row_json(seq));
    }
  }
  return a;
}

/* ---- running events -------------------------------------------------------------- */

static const char *event_names[] = {"?", "open", "restore", "frame", "close", "answer",
                                    "page", "blocks", "config", "kick", "flush"};

/* Runs one event (len bytes of input) as the shell does: the output asked for
 * again when it did not fit, the event run again when an injected allocation
 * failure refused it. Checks its effects and answers its queries. Returns its rc. */
static int event_n(int kind, int64_t conn, const char *in, size_t len, int opened) {
  size_t n = 0, cap = m.small_out ? 64 : sizeof out;
  int failing = m.fail_next;
  m.fail_next = m.small_out = 0;
  if (m.trace)
    fprintf(stderr, "event %s conn %lld at %.0f%s: %.*s\n", event_names[kind], (long long)conn, m.now,
            failing ? " (allocations failing)" : "", (int)len, in ? in : "");
  if (failing) fuzz_fail_allocation_after(m.fail_after);
  int rc = room_event(m.r, kind, conn, (const unsigned char *)in, len, m.now, out, cap, &n);
  if (failing) fuzz_stop_failing();
  if (rc == CHAT_E_NOMEM) { /* nothing changed: the shell may try again */
    CHECK(failing, "out of memory without an allocation failing");
    rc = room_event(m.r, kind, conn, (const unsigned char *)in, len, m.now, out, cap = sizeof out, &n);
  }
  if (rc == CHAT_E_BUFFER_TOO_SMALL) { /* the room hands over the output it kept */
    CHECK(n > cap, "buffer_too_small, yet %zu bytes fit in %zu", n, cap);
    rc = room_event(m.r, kind, conn, (const unsigned char *)in, len, m.now, out, sizeof out, &n);
    CHECK(rc >= 0, "the kept output: %d", rc);
  }
  if (rc < 0) {
    CHECK(is_error_name(chat_error_name(rc)), "an unknown error %d", rc);
    return rc;
  }
  CHECK((size_t)rc == n, "rc %d, length %zu", rc, n);
  if (m.trace) {
    size_t jn = out[0] | (size_t)out[1] << 8 | (size_t)out[2] << 16 | (size_t)out[3] << 24;
    fprintf(stderr, "  -> %.*s  [frames: %.*s]\n", (int)jn, out + 4, (int)(n - 4 - jn), out + 4 + jn);
  }
  if (kind == ROOM_FLUSH) m.flush_at = 0;
  cJSON *q = check_effects(out, n, kind, opened);
  if (q) {
    cJSON *a = answer(q);
    char *text = cJSON_PrintUnformatted(a);
    int arc = event_n(ROOM_ANSWER, 0, text, strlen(text), 0);
    CHECK(arc >= 0, "an answer refused: %s", chat_error_name(arc));
    cJSON_free(text);
    cJSON_Delete(a);
    cJSON_Delete(q);
  }
  return rc;
}

static int event(int kind, int64_t conn, const char *in, int opened) {
  return event_n(kind, conn, in, in ? strlen(in) : 0, opened);
}

/* The shell reports the close of every socket a close effect named. */
static void deliver_closes(void) {
  for (int i = 0; i < m.n_socks;) {
    if (!m.socks[i].closing) {
      i++;
      continue;
    }
    int64_t conn = m.socks[i].conn;
    drop_sock(i);
    CHECK(event(ROOM_CLOSE, conn, NULL, 0) >= 0, "close");
  }
}

static void run_json(int kind, int64_t conn, cJSON *facts, int opened, int expect) {
  char *text = cJSON_PrintUnformatted(facts);
  int rc = event(kind, conn, text, opened);
  CHECK(rc == expect || (expect == CHAT_OK && rc >= 0), "event %d: rc %s, expected %s", kind,
        rc < 0 ? chat_error_name(rc) : "ok", chat_error_name(expect));
  cJSON_free(text);
  cJSON_Delete(facts);
}

/* A frame from socket `i` (len bytes, which may hold a NUL). */
static void frame(int i, const char *text, size_t len) {
  char *copy = malloc(len + 1);
  memcpy(copy, text, len);
  copy[len] = 0;
  note_sent(m.socks[i].user, copy, len);
  m.asker = m.socks[i].user;
  int rc = event_n(ROOM_FRAME, m.socks[i].conn, copy, len, 0);
  CHECK(rc >= 0, "a frame: %s", chat_error_name(rc));
  free(copy);
}

static void frame_json(int i, cJSON *f) {
  char *text = cJSON_PrintUnformatted(f);
  frame(i, text, strlen(text));
  cJSON_free(text);
  cJSON_Delete(f);
}

/* A string of fuzz bytes: printable ASCII, or (when `raw`) the bytes as they are
 * (NUL ends it, invalid UTF-8 stays). */
static char *fuzz_string(fuzz_in *f, size_t max, int raw) {
  size_t n;
  const uint8_t *p = fuzz_bytes(f, fuzz_byte(f) % (max + 1), &n);
  char *s = malloc(n + 1);
  for (size_t k = 0; k < n; k++) s[k] = raw ? (char)p[k] : (char)(' ' + p[k] % 95);
  s[n] = 0;
  return s;
}

static void restore_all(void) {
  for (int i = 0; i < m.n_socks; i++) {
    cJSON *data = cJSON_Duplicate(m.socks[i].attach, 1);
    cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(data, "user"), "blocks", blocks_of(m.socks[i].user));
    run_json(ROOM_RESTORE, 0, data, 0, CHAT_OK);
  }
}

static void new_room(void) {
  CHECK(room_new(ROOM_ID, next_seq(), 1, &m.r) == CHAT_OK, "room_new");
  CHECK(event(ROOM_CONFIG, 0, m.config, 0) >= 0, "config");
}

/* Decodes and runs one event. */
static void run_one(fuzz_in *f) {
  int op = fuzz_byte(f) % 16, arg = fuzz_byte(f);
  int i = m.n_socks ? arg % m.n_socks : -1; /* the socket an event is about */
  int user = arg % USERS + 1;
  switch (op) {
    case 0:
    case 1: { /* a socket opens */
      if (m.n_socks >= SOCKS_MAX) break;
      cJSON *u = user_facts(user);
      cJSON_AddItemToObject(u, "blocks", blocks_of(user));
      char *text = cJSON_PrintUnformatted(u);
      int before = user_sockets(user), rc = event(ROOM_OPEN, 0, text, user);
      /* an open may also close sockets (those idle too long without joining) */
      int open_now = 0;
      for (int k = 0; k < m.n_socks; k++) open_now += m.socks[k].user == user && !m.socks[k].closing;
      if (m.dm && user > 2) CHECK(rc == CHAT_E_NOT_MEMBER, "user %d opened a conversation of 1 and 2", user);
      else if (rc == CHAT_E_TOO_MANY_CONNECTIONS) CHECK(before >= CHAT_USER_CONNS_MAX, "too many at %d sockets", before);
      else CHECK(rc >= 0 && open_now <= CHAT_USER_CONNS_MAX, "open: rc %s, %d sockets", rc < 0 ? chat_error_name(rc) : "ok",
                 open_now);
      cJSON_free(text);
      cJSON_Delete(u);
      break;
    }
    case 2: { /* join_room, maybe since a seq */
      if (i < 0) break;
      cJSON *j = cJSON_CreateObject();
      int since = fuzz_byte(f);
      cJSON_AddStringToObject(j, "type", "join_room");
      if (since & 1) cJSON_AddNumberToObject(j, "since", since >> 1);
      if (since & 2) cJSON_AddStringToObject(j, "ref", "j");
      frame_json(i, j);
      break;
    }
    case 3:
    case 4: { /* a message, with one of a few client ids (retries) */
      if (i < 0) break;
      int how = fuzz_byte(f);
      char cid[8], *body = fuzz_string(f, 48, how & 0x80);
      snprintf(cid, sizeof cid, "c%d", (how & 0x1f) % 24);
      cJSON *msg = cJSON_CreateObject();
      cJSON_AddStringToObject(msg, "type", how & 0x40 ? "new_chat_message" : message_type());
      cJSON_AddStringToObject(msg, "body", body);
      cJSON_AddStringToObject(msg, "client_id", cid);
      if (how & 0x20) cJSON_AddStringToObject(msg, "ref", cid);
      frame_json(i, msg);
      free(body);
      break;
    }
    case 5: { /* delete_message of a stored seq, or one next to them */
      if (i < 0) break;
      cJSON *d = cJSON_CreateObject();
      cJSON_AddStringToObject(d, "type", "delete_message");
      cJSON_AddNumberToObject(d, "seq", fuzz_byte(f) % (m.n_rows + 2));
      frame_json(i, d);
      break;
    }
    case 6: /* ping */
      if (i >= 0) frame(i, "{\"type\":\"ping\",\"ref\":\"p\"}", 24);
      break;
    case 7: { /* raw bytes */
      size_t n;
      const uint8_t *p = fuzz_bytes(f, fuzz_byte(f), &n);
      if (i >= 0) frame(i, (const char *)p, n);
      break;
    }
    case 8: /* a socket closes */
      if (i >= 0) {
        int64_t conn = m.socks[i].conn;
        drop_sock(i);
        CHECK(event(ROOM_CLOSE, conn, NULL, 0) >= 0, "close");
      }
      break;
    case 9: /* a flush, due or not */
      CHECK(event(ROOM_FLUSH, 0, NULL, 0) >= 0, "flush");
      break;
    case 10: /* time passes; the shell's timer fires a flush that came due */
      m.now += arg < 128 ? arg : (arg - 127) * 1000.0;
      if (m.flush_at && m.now >= m.flush_at) CHECK(event(ROOM_FLUSH, 0, NULL, 0) >= 0, "flush");
      break;
    case 11: { /* whom a user blocks changes */
      int mask = fuzz_byte(f);
      for (int b = 1; b <= USERS; b++) m.blocks[user][b] = mask >> (b - 1) & 1;
      cJSON *facts = cJSON_CreateObject();
      cJSON_AddNumberToObject(facts, "user_id", user);
      cJSON_AddItemToObject(facts, "blocks", blocks_of(user));
      run_json(ROOM_BLOCKS, 0, facts, 0, CHAT_OK);
      break;
    }
    case 12: { /* a ban: every socket of the user closes */
      cJSON *facts = cJSON_CreateObject();
      cJSON_AddNumberToObject(facts, "user_id", user);
      cJSON_AddStringToObject(facts, "reason", "spam");
      run_json(ROOM_KICK, 0, facts, 0, CHAT_OK);
      for (int k = 0; k < m.n_socks; k++)
        CHECK(m.socks[k].closing == (m.socks[k].user == user), "a ban of user %d and socket %lld", user,
              (long long)m.socks[k].conn);
      break;
    }
    case 13: { /* an HTTP history page */
      char *q = fuzz_string(f, 24, 0), query[64];
      int how = fuzz_byte(f);
      if (how & 1) snprintf(query, sizeof query, "before=%d&limit=%d", fuzz_byte(f) % (m.n_rows + 2), how >> 1);
      else snprintf(query, sizeof query, "%s", q);
      free(q);
      cJSON *facts = cJSON_CreateObject(), *viewer = cJSON_CreateObject();
      cJSON_AddStringToObject(facts, "query", query);
      cJSON_AddNumberToObject(viewer, "id", user);
      cJSON_AddItemToObject(viewer, "blocks", blocks_of(user));
      cJSON_AddItemToObject(facts, "viewer", viewer);
      m.asker = user;
      char *text = cJSON_PrintUnformatted(facts);
      int rc = event(ROOM_PAGE, 0, text, 0);
      CHECK(rc >= 0 || rc == CHAT_E_QUERY_INVALID, "page: %s", chat_error_name(rc));
      cJSON_free(text);
      cJSON_Delete(facts);
      break;
    }
    case 14: /* the object hibernates: what waits is sent, then a new room restores */
      CHECK(event(ROOM_FLUSH, 0, NULL, 0) >= 0, "flush");
      room_free(m.r);
      new_room();
      restore_all();
      break;
    case 15: /* the next event runs while allocations fail, or with little room */
      m.fail_next = arg & 1;
      m.small_out = arg >> 1 & 1;
      m.fail_after = arg >> 2;
      break;
  }
  deliver_closes();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  chat_alloc_install(NULL, NULL);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_in f = {data, size};
  int config = fuzz_byte(&f);
  memset(&m, 0, sizeof m);
  m.trace = getenv("FUZZ_TRACE") != NULL;
  m.now = 1e6;
  m.dm = config & 1;
  m.dm_open = config >> 1 & 1;
  /* bit 2: no rate limits, so that long sequences get past them */
  snprintf(m.config, sizeof m.config, "{\"kind\":\"%s\"%s%s}", m.dm ? "dm" : "room",
           m.dm ? (m.dm_open ? ",\"members\":[1,2],\"open\":true" : ",\"members\":[1,2],\"open\":false") : "",
           config & 4 ? ",\"rate\":{\"burst\":1e9,\"per_second\":1e9}" : "");
  new_room();
  while (fuzz_left(&f)) run_one(&f);
  room_free(m.r);
  for (int i = 0; i < m.n_socks; i++) cJSON_Delete(m.socks[i].attach);
  for (int i = 0; i < m.n_rows; i++) free(m.rows[i].cid), free(m.rows[i].body);
  for (int i = 0; i < m.n_sent; i++) free(m.sents[i].cid), free(m.sents[i].body);
  return 0;
}

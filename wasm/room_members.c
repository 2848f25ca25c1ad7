/* Sockets and users of a room: open, restore, blocks, configuration, bans, and the
 * departure of a socket (room.h; shared state: room_internal.h). */
#include <string.h>

#include "chat_alloc.h"
#include "chat_error.h"
#include "chat_frames.h"
#include "json_in.h"
#include "json_out.h"
#include "room_internal.h"

/* ---- facts about users ---------------------------------------------------------- */

int room_read_blocks(const cJSON *facts, int64_t **out, size_t *n, int *present) {
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

cJSON *room_user_json(int64_t id, const char *username, const char *role) {
  cJSON *u = cJSON_CreateObject();
  if (!u || json_add_num(u, "id", (double)id) < 0 || json_add_str(u, "username", username) < 0 ||
      (role && json_add_str(u, "role", role) < 0)) {
    cJSON_Delete(u);
    return NULL;
  }
  return u;
}

int room_attach(effects *e, const room_member *m) {
  cJSON *o = effects_add(e, ROOM_EFFECT(attach)), *data = cJSON_CreateObject();
  if (!o || !data || json_add_num(data, "conn", (double)m->conn) < 0 ||
      json_add_item(data, "user", room_user_json(m->user_id, m->username, room_role_name(m->role))) < 0 ||
      json_add_bool(data, "joined", m->joined) < 0 || (!m->joined && json_add_num(data, "opened_at", m->opened_at) < 0)) {
    cJSON_Delete(data);
    return CHAT_E_NOMEM;
  }
  int rc = json_add_num(o, "conn", (double)m->conn);
  return rc < 0 ? (cJSON_Delete(data), rc) : json_add_item(o, "data", data);
}

int room_close_socket(effects *e, room_change *c, int64_t conn, int code, const char *reason) {
  cJSON *o = effects_add(e, ROOM_EFFECT(close));
  if (!o || json_add_num(o, "conn", (double)conn) < 0 || json_add_num(o, "code", code) < 0 ||
      json_add_str(o, "reason", reason) < 0)
    return CHAT_E_NOMEM;
  return room_change_remove(c, conn);
}

/* Reads {"id","username","role"} into m. */
static int read_member(const cJSON *u, room_member *m) {
  const char *name, *role;
  size_t nlen, rlen;
  int rc, parsed;
  if (!cJSON_IsObject(u)) return CHAT_E_FIELD_TYPE;
  if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(u, "id"), &m->user_id)) < 0 ||
      (rc = json_get_string(u, "username", &name, &nlen)) < 0 ||
      (rc = json_get_string(u, "role", &role, &rlen)) < 0)
    return rc;
  if (nlen > CHAT_USERNAME_MAX || (parsed = room_role_parse(role, rlen)) < 0) return CHAT_E_FIELD_TYPE;
  memcpy(m->username, name, nlen + 1);
  m->role = (room_role)parsed;
  return CHAT_OK;
}

int room_limits_effect(effects *e, const room_user *u) {
  cJSON *o = effects_add(e, ROOM_EFFECT(limits)), *flood = cJSON_CreateObject();
  if (!o || !flood || json_add_num(flood, "tokens", u->flood.tokens) < 0 ||
      json_add_num(flood, "last_ms", u->flood.last_ms) < 0 || json_add_num(o, "user_id", (double)u->user_id) < 0) {
    cJSON_Delete(flood);
    return CHAT_E_NOMEM;
  }
  return json_add_item(o, "flood", flood);
}

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

/* Whether `user` may hold one more socket here (room_may_open), with `evicted` of
 * the sockets (`evicted_mine` of theirs) leaving in this event, and room for it
 * (and its user's state), changing nothing observable: the commit adds it. */
static int reserve_member(room *r, int64_t user_id, size_t evicted, size_t evicted_mine) {
  const room_user *u = room_find_user(r, user_id);
  int rc = room_may_open(&r->kind, user_id, r->n_members - evicted, (u ? u->n_conns : 0) - evicted_mine);
  if (rc < 0) return rc;
  if (reserve((void **)&r->users, r->n_users, &r->cap_users, sizeof *r->users) < 0 ||
      reserve((void **)&r->members, r->n_members, &r->cap_members, sizeof *r->members) < 0 ||
      room_index_reserve(&r->user_at, r->n_users + 1) < 0 || room_index_reserve(&r->member_at, r->n_members + 1) < 0 ||
      room_deadlines_reserve(&r->unjoined, r->unjoined.n + 1) < 0)
    return CHAT_E_NOMEM;
  return CHAT_OK;
}

/* Reads a flood bucket {"tokens", "last_ms"} (a limits effect's) into the change. */
static int read_flood(const cJSON *f, room_change *c) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "tokens"), *l = cJSON_GetObjectItemCaseSensitive(f, "last_ms");
  if (!f || cJSON_IsNull(f)) return CHAT_OK;
  if (!cJSON_IsNumber(t) || !cJSON_IsNumber(l) || t->valuedouble < 0 || t->valuedouble > CHAT_FLOOD_BURST)
    return CHAT_E_FIELD_TYPE;
  c->has_flood = 1;
  c->flood = (ratelimit_bucket){t->valuedouble, l->valuedouble, 1};
  return CHAT_OK;
}

/* Reads the user of a socket, their block list and flood bucket into the change. */
static int read_user(const cJSON *u, room_change *c) {
  int present, rc = read_member(u, &c->m);
  if (rc < 0 || (rc = room_read_blocks(u, &c->blocks, &c->n_blocks, &present)) < 0 ||
      (rc = read_flood(cJSON_GetObjectItemCaseSensitive(u, "flood"), c)) < 0)
    return rc;
  c->set_blocks = present;
  c->blocks_user = c->m.user_id;
  /* membership facts (issue 15): whether a member, and their read marker */
  const cJSON *read = cJSON_GetObjectItemCaseSensitive(u, "read");
  c->facts_member = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "member"));
  if (read && json_get_uint53(read, &c->facts_read) < 0) return CHAT_E_FIELD_TYPE;
  return CHAT_OK;
}

/* What the eviction of stale unjoined sockets needs to know, and counts. */
typedef struct {
  room *r;
  effects *e;
  room_change *c;
  int64_t user;        /* the user opening a socket */
  size_t evicted, mine; /* sockets evicted, and how many of them are that user's */
  int rc;
} eviction;

static void evict(void *arg, const room_deadline *d) {
  eviction *x = arg;
  const room_member *m = x->rc < 0 ? NULL : room_find_member(x->r, d->conn);
  if (!m || m->joined || m->opened_at != d->opened_at) return; /* joined or gone since */
  x->rc = room_close_socket(x->e, x->c, m->conn, CHAT_CLOSE_UNJOINED, "join_room not sent in time");
  x->evicted++;
  x->mine += m->user_id == x->user;
}

/* Counts what evict() would close, closing nothing (room_on_open_check). */
static void count_overdue(void *arg, const room_deadline *d) {
  eviction *x = arg;
  const room_member *m = room_find_member(x->r, d->conn);
  if (!m || m->joined || m->opened_at != d->opened_at) return;
  x->evicted++;
  x->mine += m->user_id == x->user;
}

/* ---- events ------------------------------------------------------------------- */

int room_on_open_check(room *r, room_change *c, const unsigned char *in, size_t len, double now) {
  cJSON *u = NULL;
  int rc = json_parse_object(in, len, &u);
  if (rc >= 0) rc = read_user(u, c);
  if (rc >= 0) rc = room_may_read(&r->kind, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "member")));
  cJSON_Delete(u);
  /* facts read, nothing kept: a check changes nothing */
  chat_free(c->blocks);
  c->blocks = NULL;
  c->set_blocks = 0;
  if (rc < 0) return rc;
  eviction x = {r, NULL, c, c->m.user_id, 0, 0, CHAT_OK};
  room_deadlines_each_before(&r->unjoined, room_unjoined_overdue_before(now), count_overdue, &x);
  const room_user *mine = room_find_user(r, c->m.user_id);
  return room_may_open(&r->kind, c->m.user_id, r->n_members - x.evicted, (mine ? mine->n_conns : 0) - x.mine);
}

/* A new socket: its attachment, and the connection frame, which tells the client
 * what the rules let it do here (room_rules.h): the message frame type of the
 * room's kind, and whether it may delete any message. */
int room_on_open(room *r, effects *e, room_change *c, const unsigned char *in, size_t len, double now) {
  cJSON *u = NULL, *f, *where;
  int rc = json_parse_object(in, len, &u);
  if (rc >= 0) rc = read_user(u, c);
  /* a private room opens to its members only (room_may_read; "member": the
   * room's storage, as the shell read it) */
  if (rc >= 0) rc = room_may_read(&r->kind, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "member")));
  /* a socket a relay holds for the room (room_relay_for): which one */
  const cJSON *relay = rc >= 0 ? cJSON_GetObjectItemCaseSensitive(u, "relay") : NULL;
  int64_t j = 0;
  if (relay && (rc = json_get_uint53(relay, &j)) >= 0 && j >= CHAT_RELAYS) rc = CHAT_E_FIELD_TYPE;
  c->m.relay = relay && rc >= 0 ? (unsigned)j + 1 : 0;
  cJSON_Delete(u);
  if (rc < 0) return rc;
  /* Overdue unjoined sockets go first (the earliest entries of the unjoined heap:
   * O(k) for k of them, each evicted once). */
  eviction x = {r, e, c, c->m.user_id, 0, 0, CHAT_OK};
  c->evict_before = room_unjoined_overdue_before(now);
  c->evicting = 1;
  room_deadlines_each_before(&r->unjoined, c->evict_before, evict, &x);
  if ((rc = x.rc) < 0 || (rc = reserve_member(r, c->m.user_id, x.evicted, x.mine)) < 0) return rc;
  c->m.conn = r->next_conn;
  c->m.opened_at = now;
  if (!(f = cJSON_CreateObject()) || json_add_str(f, "type", CHAT_FRAME(connection)) < 0 ||
      json_add_str(f, "protocol", CHAT_WS_PROTOCOL) < 0 ||
      json_add_item(f, "user", room_user_json(c->m.user_id, c->m.username, room_role_name(c->m.role))) < 0 ||
      !(where = cJSON_CreateObject()) || json_add_item(f, r->kind.dm ? "conversation" : "room", where) < 0 ||
      json_add_num(where, "id", (double)r->id) < 0 || json_add_str(f, "message_type", room_message_type(&r->kind)) < 0 ||
      json_add_bool(f, "may_delete_any", room_may_delete_any(c->m.role)) < 0 || room_attach(e, &c->m) < 0) {
    cJSON_Delete(f);
    return CHAT_E_NOMEM;
  }
  c->add = 1;
  return effects_send_one(e, c->m.conn, f);
}

int room_on_restore(room *r, room_change *c, const unsigned char *in, size_t len, double now) {
  cJSON *a = NULL;
  int rc = json_parse_object(in, len, &a);
  if (rc >= 0) rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(a, "conn"), &c->m.conn);
  if (rc >= 0) rc = read_user(cJSON_GetObjectItemCaseSensitive(a, "user"), c);
  if (rc >= 0) rc = room_find_member(r, c->m.conn) ? CHAT_E_MISUSE : reserve_member(r, c->m.user_id, 0, 0);
  c->m.joined = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "joined"));
  /* an unjoined socket's timeout runs from when it opened (from now for an
   * attachment written before opened_at was kept) */
  const cJSON *opened = cJSON_GetObjectItemCaseSensitive(a, "opened_at");
  c->m.opened_at = cJSON_IsNumber(opened) ? opened->valuedouble : now;
  cJSON_Delete(a);
  c->add = rc >= 0;
  return rc;
}

/* {"user_id", "blocks": [...]}: whom a user blocks changed. Their sockets here
 * hear of it, so a client can hide or reload what it shows. */
int room_on_blocks(room *r, effects *e, room_change *c, const unsigned char *in, size_t len) {
  cJSON *facts = NULL, *f = NULL, *to = NULL;
  int present, rc = json_parse_object(in, len, &facts);
  if (rc >= 0) rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "user_id"), &c->blocks_user);
  if (rc >= 0) rc = room_read_blocks(facts, &c->blocks, &c->n_blocks, &present);
  if (rc >= 0 && !present) rc = CHAT_E_FIELD_MISSING;
  if (rc >= 0 && room_find_user(r, c->blocks_user)) {
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

/* A bucket's size from the facts ({"burst", "per_second"}), or the default. */
static void read_rate(const cJSON *rate, double *burst, double *per_second, double burst0, double per_second0) {
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(rate, "burst");
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(rate, "per_second");
  *burst = cJSON_IsNumber(b) && b->valuedouble >= 1 ? b->valuedouble : burst0;
  *per_second = cJSON_IsNumber(p) && p->valuedouble > 0 ? p->valuedouble : per_second0;
}

/* {"kind": "room"|"dm", "members": [a, b], "open": bool}: what this room is. */
int room_on_config(room_change *c, const unsigned char *in, size_t len) {
  cJSON *facts = NULL;
  const char *kind;
  size_t n;
  int rc = json_parse_object(in, len, &facts);
  if (rc >= 0 && (rc = json_get_string(facts, "kind", &kind, &n)) >= 0) {
    c->kind.dm = strcmp(kind, "dm") == 0;
    c->kind.open = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "open"));
    c->kind.is_private = !c->kind.dm && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "private"));
    /* "rate": {"burst", "per_second"} replaces the per-user limit, and "room_rate"
     * the room's load-shedding bucket, for load tests of a deployment (CHAT_RATE_*
     * and CHAT_ROOM_RATE_* otherwise) */
    read_rate(cJSON_GetObjectItemCaseSensitive(facts, "rate"), &c->rate_burst, &c->rate_per_second,
              CHAT_RATE_BURST, CHAT_RATE_PER_SECOND);
    read_rate(cJSON_GetObjectItemCaseSensitive(facts, "room_rate"), &c->room_burst, &c->room_per_second,
              CHAT_ROOM_RATE_BURST, CHAT_ROOM_RATE_PER_SECOND);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(facts, "members");
    if (c->kind.dm && (cJSON_GetArraySize(m) != 2 || json_get_uint53(cJSON_GetArrayItem(m, 0), &c->kind.members[0]) < 0 ||
                       json_get_uint53(cJSON_GetArrayItem(m, 1), &c->kind.members[1]) < 0))
      rc = CHAT_E_FIELD_TYPE;
    else if (!c->kind.dm && strcmp(kind, "room") != 0)
      rc = CHAT_E_FIELD_TYPE;
    c->config = rc >= 0;
  }
  cJSON_Delete(facts);
  return rc;
}

/* {"user_id", "reason", "removed"?}: the user was banned (or, with "removed": true,
 * removed from this room by its owner or an ADMIN); each of their sockets is
 * closed, with CHAT_CLOSE_BANNED (or CHAT_CLOSE_REMOVED). */
int room_on_kick(room *r, effects *e, room_change *c, const unsigned char *in, size_t len, double now) {
  cJSON *facts = NULL;
  const char *reason;
  size_t n;
  int64_t user;
  int rc = json_parse_object(in, len, &facts);
  if (rc >= 0) rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "user_id"), &user);
  if (rc >= 0) rc = json_get_string(facts, "reason", &reason, &n);
  int code = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "removed")) ? CHAT_CLOSE_REMOVED : CHAT_CLOSE_BANNED;
  for (size_t i = 0; rc >= 0 && i < r->n_members; i++)
    if (r->members[i].user_id == user) rc = room_close_socket(e, c, r->members[i].conn, code, reason);
  const room_user *u = rc >= 0 ? room_find_user(r, user) : NULL;
  if (u && u->n_joined) rc = room_departed(r, e, c, 0, user, now); /* they were here: now gone */
  cJSON_Delete(facts);
  return rc;
}

/* {"user_id", "member": bool}: the user joined or left the room (issue 15). */
int room_on_member(room_change *c, const unsigned char *in, size_t len) {
  cJSON *facts = NULL;
  int rc = json_parse_object(in, len, &facts);
  if (rc >= 0) rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "user_id"), &c->mark_user);
  if (rc >= 0 && !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(facts, "member"))) rc = CHAT_E_FIELD_TYPE;
  if (rc >= 0) {
    c->set_member = 1;
    c->facts_member = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "member"));
  }
  cJSON_Delete(facts);
  return rc;
}

/* ---- departures ----------------------------------------------------------------- */

/* ---- the member table (called by the commit: never fails) ----------------------- */

void room_add_member(room *r, const room_change *c) {
  room_user *u = room_find_user(r, c->m.user_id);
  if (!u) {
    u = &r->users[r->n_users];
    memset(u, 0, sizeof *u);
    u->user_id = c->m.user_id;
    if (c->has_flood) u->flood = c->flood; /* what the last limits effect kept */
    room_index_put(&r->user_at, u->user_id, (uint32_t)r->n_users++);
  }
  u->member = c->facts_member; /* the latest facts win; a marker only moves forward */
  if (c->facts_read > u->read_seq) u->read_seq = c->facts_read;
  u->n_conns++;
  u->n_joined += c->m.joined ? 1 : 0;
  r->n_joined += c->m.joined ? 1 : 0;
  if (c->m.relay) r->relay_joined[c->m.relay - 1] += c->m.joined ? 1 : 0;
  r->looking_version += c->m.joined && u->n_joined == 1; /* who is looking changed */
  r->members[r->n_members] = c->m;
  room_index_put(&r->member_at, c->m.conn, (uint32_t)r->n_members++);
  if (!c->m.joined) room_deadlines_push(&r->unjoined, (room_deadline){c->m.opened_at, c->m.conn});
  if (c->m.conn >= r->next_conn) r->next_conn = c->m.conn + 1;
}

void room_remove_member(room *r, int64_t conn) {
  uint32_t i = room_index_get(&r->member_at, conn);
  if (i == ROOM_INDEX_NONE) return;
  room_user *u = room_find_user(r, r->members[i].user_id);
  u->n_conns--;
  u->n_joined -= r->members[i].joined ? 1 : 0;
  r->n_joined -= r->members[i].joined ? 1 : 0;
  if (r->members[i].relay) r->relay_joined[r->members[i].relay - 1] -= r->members[i].joined ? 1 : 0;
  r->looking_version += r->members[i].joined && u->n_joined == 0;
  /* The user's rate-limit state stays, even after their last socket here closed (a
   * reconnect must not refill the buckets); room_prune_departed drops it once it
   * has refilled. An unjoined socket's deadline stays in the heap, and is skipped. */
  room_index_del(&r->member_at, conn);
  if (i != r->n_members - 1) {
    r->members[i] = r->members[r->n_members - 1];
    room_index_put(&r->member_at, r->members[i].conn, i);
  }
  r->n_members--;
}

void room_member_joined(room *r, int64_t conn) {
  room_member *m = room_find_member(r, conn);
  if (!m || m->joined) return;
  m->joined = 1;
  r->n_joined++;
  if (m->relay) r->relay_joined[m->relay - 1]++;
  if (++room_find_user(r, m->user_id)->n_joined == 1) r->looking_version++;
}

void room_prune_departed(room *r, double now_ms) {
  enum { LOOKS_PER_CALL = 2 }; /* more than the one user an open can add */
  for (int k = 0; k < LOOKS_PER_CALL && r->n_users; k++) {
    if (r->prune_next >= r->n_users) r->prune_next = 0;
    room_user *u = &r->users[r->prune_next];
    if (u->n_conns || !room_limits_refilled(&u->rate, &u->flood, CHAT_RATE_BURST, CHAT_RATE_PER_SECOND, now_ms)) {
      r->prune_next++;
      continue;
    }
    chat_free(u->blocks);
    room_index_del(&r->user_at, u->user_id);
    if (r->prune_next != r->n_users - 1) {
      *u = r->users[r->n_users - 1];
      room_index_put(&r->user_at, u->user_id, (uint32_t)r->prune_next);
    }
    r->n_users--;
  }
}

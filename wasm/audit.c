#include "audit.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "chat_error.h"

static const char TAG[] = "moderation_log/1";

/* Where canonical bytes go: into a hash state, a buffer, or both. */
typedef struct {
  crypto_generichash_state *h;
  unsigned char *out;
  size_t cap, len;
} sink;

static void put(sink *s, const void *p, size_t n) {
  if (s->h) crypto_generichash_update(s->h, p, n);
  if (s->out && s->len + n <= s->cap) memcpy(s->out + s->len, p, n);
  s->len += n;
}

static void put_bytes(sink *s, const char *p, size_t n) {
  char len[24];
  int k = snprintf(len, sizeof len, "%zu:", n);
  put(s, len, (size_t)k);
  put(s, p, n);
  put(s, ",", 1);
}

static void put_int(sink *s, int64_t v) {
  char digits[24];
  int k = snprintf(digits, sizeof digits, "%lld", (long long)v);
  put_bytes(s, digits, (size_t)k);
}

static void put_null(sink *s) { put(s, "-", 1); }

static void canonical(sink *s, const audit_row *r) {
  put_bytes(s, TAG, sizeof TAG - 1);
  put_int(s, r->id);
  put_bytes(s, r->action, r->action_len);
  put_int(s, r->target_id);
  if (r->has_actor) put_int(s, r->actor_id); else put_null(s);
  if (r->has_reason) put_bytes(s, r->reason, r->reason_len); else put_null(s);
  put_int(s, r->ip);
  if (r->has_ips) put_bytes(s, r->ips, r->ips_len); else put_null(s);
  put_int(s, r->created_at);
}

int audit_canonical(const audit_row *row, unsigned char *out, size_t cap, size_t *needed) {
  sink s = {NULL, out, cap, 0};
  canonical(&s, row);
  *needed = s.len;
  return s.len > cap ? CHAT_E_BUFFER_TOO_SMALL : (int)s.len;
}

int audit_link(const unsigned char *prev, const audit_row *row, unsigned char hash[AUDIT_HASH_BYTES]) {
  static const unsigned char genesis[AUDIT_HASH_BYTES] = {0};
  crypto_generichash_state h;
  if (crypto_generichash_init(&h, NULL, 0, AUDIT_HASH_BYTES) != 0) return CHAT_E_CRYPTO;
  sink s = {&h, NULL, 0, 0};
  put(&s, prev ? prev : genesis, AUDIT_HASH_BYTES);
  canonical(&s, row);
  return crypto_generichash_final(&h, hash, AUDIT_HASH_BYTES) == 0 ? CHAT_OK : CHAT_E_CRYPTO;
}

void audit_walk_start(audit_walk *w, int64_t anchor_id, const unsigned char *anchor) {
  memset(w, 0, sizeof *w);
  if (anchor && anchor_id > 0) {
    w->anchor_id = anchor_id;
    memcpy(w->anchor, anchor, AUDIT_HASH_BYTES);
  }
}

void audit_hex(char hex[AUDIT_HASH_HEX + 1], const unsigned char bin[AUDIT_HASH_BYTES]) {
  sodium_bin2hex(hex, AUDIT_HASH_HEX + 1, bin, AUDIT_HASH_BYTES);
}

int audit_unhex(const char *s, size_t n, unsigned char bin[AUDIT_HASH_BYTES]) {
  if (n != AUDIT_HASH_HEX) return CHAT_E_FIELD_TYPE;
  for (size_t i = 0; i < n; i++) {
    int hi = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : -1;
    if (hi < 0) return CHAT_E_FIELD_TYPE;
    if (i % 2 == 0) bin[i / 2] = (unsigned char)(hi << 4);
    else bin[i / 2] |= (unsigned char)hi;
  }
  return CHAT_OK;
}

int audit_walk_row(audit_walk *w, const audit_row *r, const char *stored, size_t stored_len, int64_t *at) {
  unsigned char h[AUDIT_HASH_BYTES];
  char hex[AUDIT_HASH_HEX + 1];
  *at = r->id;
  if (r->id < 1 || r->id <= w->prev_id) return AUDIT_BROKEN_ORDER;
  if (w->anchor_id && !w->anchor_seen && r->id > w->anchor_id) {
    *at = w->anchor_id; /* the anchored row is gone */
    return AUDIT_BROKEN_ANCHOR;
  }
  int rc = audit_link(w->has_prev ? w->prev : NULL, r, h);
  if (rc < 0) return rc;
  if (!stored) {
    if (!w->unsealed_from) w->unsealed_from = r->id;
    w->unsealed++;
  } else if (w->unsealed_from) {
    *at = w->unsealed_from; /* a sealed row after unsealed ones: a hash was cleared */
    return AUDIT_BROKEN_UNSEALED;
  } else {
    audit_hex(hex, h);
    if (stored_len != AUDIT_HASH_HEX || memcmp(stored, hex, AUDIT_HASH_HEX) != 0) return AUDIT_BROKEN_HASH;
  }
  if (r->id == w->anchor_id) {
    if (memcmp(h, w->anchor, AUDIT_HASH_BYTES) != 0) return AUDIT_BROKEN_ANCHOR;
    w->anchor_seen = 1;
  }
  memcpy(w->prev, h, AUDIT_HASH_BYTES);
  w->has_prev = 1;
  w->prev_id = r->id;
  w->rows++;
  return AUDIT_INTACT;
}

int audit_walk_end(const audit_walk *w) {
  return w->anchor_id && !w->anchor_seen ? AUDIT_BROKEN_ANCHOR : AUDIT_INTACT;
}

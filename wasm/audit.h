/*
 * audit.h -- the moderation log as a hash chain: tamper-evident, verifiable by
 * anyone who can read the log.
 *
 * Every row of D1's moderation_log (bans, unbans, promotions; migration 0004)
 * carries `hash`, the BLAKE2b-256 (libsodium's crypto_generichash, unkeyed) of the
 * previous row's hash followed by the row's own canonical content:
 *
 *   hash(row) = BLAKE2b-256(prev || canonical(row))
 *   prev      = hash of the row before, in id order; 32 zero bytes for the first
 *
 * canonical(row) is the version tag "moderation_log/1" and then the row's columns
 * in this order: id, action, target_id, actor_id, reason, ip, ips, created_at. The
 * tag and each column are a netstring, "<length>:<bytes>,", with the length in
 * decimal bytes and integers written in decimal (no sign, no leading zero); a NULL
 * column is the one byte "-" (no netstring starts with it). So the first row of
 * a ban reads  16:moderation_log/1,1:1,3:ban,1:2,1:1,4:spam,1:1,13:["127.0.0.1"],13:1700000000000,
 * Nothing else of the row counts (not its hash). Hashes are stored and shown as 64
 * lowercase hex digits.
 *
 * So editing a row breaks its own hash; deleting one, or reordering rows (ids
 * are in the content), breaks the hash of the row after it; recomputing every
 * later hash to hide an edit changes the head. The chain cannot tell a log whose
 * tail was cut off from a shorter log: only a head hash kept elsewhere (an
 * anchor) can. README "Moderation" has the threat model.
 *
 * Sealing: a row is normally written with its hash (the shell asks AUDIT_LINK).
 * A row written without one (hash NULL: rows from before the chain existed, or a
 * write outside the shell) is "unsealed". The shell seals the unsealed rows after
 * the last sealed one, in order, before it appends; an unsealed row followed by a
 * sealed one is broken (someone cleared its hash).
 *
 * Verification walks the rows in id order, one page at a time (the shell reads
 * pages of CHAT_AUDIT_PAGE_ROWS with a keyset query), carrying an audit_walk from
 * page to page: each row is read and hashed once, so time is linear in the log's
 * length and memory bounded by a page. It stops at the first broken row.
 *
 * Pure: no allocation, no I/O. The core operations that read rows and pages from
 * JSON (CHAT_OP_AUDIT_LINK, CHAT_OP_AUDIT_VERIFY) are in api_audit.c; their
 * formats are in api.h's table and below.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_HASH_BYTES 32
#define AUDIT_HASH_HEX (2 * AUDIT_HASH_BYTES)

/* One moderation_log row, as read from storage. Strings are pointer + length, not
 * NUL-terminated by contract; a NULL column has its has_* flag 0. */
typedef struct {
  int64_t id;
  const char *action;
  size_t action_len;
  int64_t target_id;
  int has_actor;
  int64_t actor_id;
  int has_reason;
  const char *reason;
  size_t reason_len;
  int64_t ip;
  int has_ips;
  const char *ips;
  size_t ips_len;
  int64_t created_at;
} audit_row;

/* Writes canonical(row) into out (capacity cap bytes). Returns its length, or
 * CHAT_E_BUFFER_TOO_SMALL with the length needed in *needed (always set). */
int audit_canonical(const audit_row *row, unsigned char *out, size_t cap, size_t *needed);

/* hash = BLAKE2b-256(prev || canonical(row)); prev NULL means the first row (32
 * zero bytes). Returns CHAT_OK, or CHAT_E_CRYPTO if libsodium fails. */
int audit_link(const unsigned char *prev, const audit_row *row, unsigned char hash[AUDIT_HASH_BYTES]);

/* The state of a verification between rows (and between the shell's pages). Start
 * from audit_walk_start. */
typedef struct {
  unsigned char prev[AUDIT_HASH_BYTES]; /* hash of the last row walked */
  int has_prev;                         /* 0: no row yet (prev is the genesis) */
  int64_t prev_id;                      /* id of the last row walked (0: none) */
  double rows;                          /* rows walked */
  int64_t unsealed_from;                /* first unsealed row (0: none yet) */
  double unsealed;                      /* unsealed rows walked */
  int64_t anchor_id;                    /* 0: no anchor */
  unsigned char anchor[AUDIT_HASH_BYTES];
  int anchor_seen;
} audit_walk;

/* Why a row is broken. */
typedef enum {
  AUDIT_INTACT = 0,
  AUDIT_BROKEN_HASH,     /* its stored hash is not the hash of prev and its content */
  AUDIT_BROKEN_UNSEALED, /* it is the first of unsealed rows that a sealed row follows */
  AUDIT_BROKEN_ANCHOR,   /* it is the anchored row, and its hash is not the anchor's
                          * (or it is missing: the log ends before it) */
  AUDIT_BROKEN_ORDER,    /* its id is not above the previous row's */
  AUDIT_BROKEN_UNREADABLE /* its columns are not of their types */
} audit_break;

/* A fresh walk; anchor (with anchor_id > 0) is a head hash kept elsewhere, which
 * the row anchor_id must still have (NULL, 0: none). */
void audit_walk_start(audit_walk *w, int64_t anchor_id, const unsigned char *anchor);

/* Walks one row, the next in id order. stored is its hash column (stored_len
 * characters; AUDIT_HASH_HEX when intact) or NULL when unsealed. Returns
 * AUDIT_INTACT, or why the chain breaks, with the id of the row it breaks at in
 * *at (this row, or an earlier one: the first of the unsealed rows, or the
 * anchored row when this row comes after it and it was missing); the walk must
 * then stop. CHAT_E_CRYPTO if libsodium fails. */
int audit_walk_row(audit_walk *w, const audit_row *row, const char *stored, size_t stored_len, int64_t *at);

/* After the last row: AUDIT_INTACT, or AUDIT_BROKEN_ANCHOR when the anchored row
 * was never reached (the log was cut before it). */
int audit_walk_end(const audit_walk *w);

/* The hash as stored: 64 lowercase hex digits and a NUL. */
void audit_hex(char hex[AUDIT_HASH_HEX + 1], const unsigned char bin[AUDIT_HASH_BYTES]);

/* Reads a stored hash: exactly AUDIT_HASH_HEX lowercase hex digits (n bytes at s).
 * CHAT_OK, or CHAT_E_FIELD_TYPE for anything else (uppercase included: one
 * spelling per hash). */
int audit_unhex(const char *s, size_t n, unsigned char bin[AUDIT_HASH_BYTES]);

/*
 * The core operations (api_audit.c), JSON in and out:
 *
 * CHAT_OP_AUDIT_LINK: aux {"prev": hex|null, "row": {id, action, target_id,
 * actor_id, reason, ip, ips, created_at}} -> {"hash": hex}, the hash the new row
 * carries (prev null: the first row). CHAT_E_FIELD_TYPE/MISSING for a row of
 * another shape.
 *
 * CHAT_OP_AUDIT_VERIFY: aux {"state": the previous page's "state" | null (first
 * page), "anchor": {"id", "hash"} | null (first page only), "rows": [the page's
 * rows in id order, each as its own JSON text: {id, ..., "hash": hex|null}], "end":
 * bool (no rows after these)} ->
 *   {"ok": false, "broken_at": id, "why": "hash"|"unsealed"|"anchor"|"order"|"unreadable"}
 *   {"ok": true, "state": {...}}                     (not the end: pass it back)
 *   {"ok": true, "rows": N, "head": hex|null, "head_id": id|null, "unsealed"?: k}
 * Each row is its own JSON text so that a row the strict reader refuses (a NUL
 * written into a column, say) is a broken row ("unreadable", at the id a lenient
 * read finds) rather than a failed page. "head" is the hash of the last row (for
 * an unsealed row, the hash sealing will give it); "unsealed" is there when some
 * rows are not sealed yet. A broken chain is an answer, not an error; errors are
 * for pages of the wrong shape (CHAT_E_FIELD_TYPE...) and CHAT_E_NOMEM.
 */

#endif

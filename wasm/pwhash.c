#include "pwhash.h"

#include <stdint.h>
#include <string.h>

#include <sodium.h>

/* libsodium's argon2 internals (its source tree's crypto_pwhash/argon2); its
 * header defines a static helper (index_alpha) this file does not use. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "argon2-core.h"
#pragma GCC diagnostic pop
#include "argon2-encoding.h"
#include "argon2.h"

#include "chat_error.h"

/* wasm/deps/libsodium-argon2-slice.patch: fill_memory_blocks, one slice of it. */
void fill_memory_slice(argon2_instance_t *instance, uint32_t pass, uint32_t slice);

#define ID_PREFIX "$argon2id$"
#define HASH_BYTES 32U /* libsodium's STR_HASHBYTES: the tag a string carries */

typedef enum { JOB_VERIFY = 1, JOB_MAKE } job_kind;

/* One argon2id, begun (initialize) and not finalized yet. */
typedef struct {
  job_kind kind;
  unsigned char key[crypto_generichash_BYTES]; /* what was asked (ask_key) */
  argon2_context ctx;
  argon2_instance_t inst;
  uint32_t next, slices; /* next slice: pass * ARGON2_SYNC_POINTS + slice */
  uint8_t salt[AUTH_HASH_STR_BYTES];
  uint8_t out[AUTH_HASH_STR_BYTES];      /* the tag computed */
  uint8_t expected[AUTH_HASH_STR_BYTES]; /* verify: the tag the string carries */
  uint32_t expected_len;
} job;

/* A finished hash, for the repeated call that asked for it. */
typedef struct {
  int used;
  unsigned char key[crypto_generichash_BYTES];
  int rc;                              /* verify: CHAT_OK or CHAT_E_BAD_CREDENTIALS */
  char encoded[AUTH_HASH_STR_BYTES];   /* make: the new hash string */
} result;

static int sliced;
static int have_job;
static job cur;
static result results[PWHASH_RESULTS];
static size_t next_result;
static unsigned char key_key[crypto_generichash_KEYBYTES];
static int key_key_made;

static void job_drop(void) {
  if (!have_job) return;
  free_instance(&cur.inst, ARGON2_FLAG_CLEAR_MEMORY);
  sodium_memzero(&cur, sizeof cur);
  have_job = 0;
}

void pwhash_flow(int on) {
  job_drop();
  sodium_memzero(results, sizeof results);
  next_result = 0;
  sliced = on;
}

/* BLAKE2b, keyed with this instance's random key, of the kind, the password and
 * what it is checked against (verify: the stored string; make: the parameters). */
static void ask_key(unsigned char key[crypto_generichash_BYTES], job_kind kind, const char *pw, size_t len,
                    const void *against, size_t against_len) {
  crypto_generichash_state st;
  uint64_t n = len;
  unsigned char k = (unsigned char)kind;
  if (!key_key_made) {
    randombytes_buf(key_key, sizeof key_key);
    key_key_made = 1;
  }
  crypto_generichash_init(&st, key_key, sizeof key_key, crypto_generichash_BYTES);
  crypto_generichash_update(&st, &k, 1);
  crypto_generichash_update(&st, (const unsigned char *)&n, sizeof n);
  crypto_generichash_update(&st, (const unsigned char *)pw, len);
  crypto_generichash_update(&st, against, against_len);
  crypto_generichash_final(&st, key, crypto_generichash_BYTES);
}

/* argon2_ctx's steps 1 to 3 (libsodium's argon2.c): the instance of cur.ctx, with
 * its first blocks. The password is read here and not kept. */
static int job_begin(void) {
  argon2_context *c = &cur.ctx;
  if (validate_inputs(c) != ARGON2_OK) return CHAT_E_BAD_CREDENTIALS;
  uint32_t blocks = c->m_cost;
  if (blocks < 2 * ARGON2_SYNC_POINTS * c->lanes) blocks = 2 * ARGON2_SYNC_POINTS * c->lanes;
  uint32_t segment = blocks / (c->lanes * ARGON2_SYNC_POINTS);
  cur.inst = (argon2_instance_t){0};
  cur.inst.passes = c->t_cost;
  cur.inst.current_pass = ~0U;
  cur.inst.memory_blocks = segment * c->lanes * ARGON2_SYNC_POINTS;
  cur.inst.segment_length = segment;
  cur.inst.lane_length = segment * ARGON2_SYNC_POINTS;
  cur.inst.lanes = c->lanes;
  cur.inst.threads = c->threads;
  cur.inst.type = Argon2_id;
  int rc = initialize(&cur.inst, c);
  c->pwd = NULL;
  c->pwdlen = 0;
  if (rc != ARGON2_OK) return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? CHAT_E_NOMEM : CHAT_E_BAD_CREDENTIALS;
  cur.next = 0;
  cur.slices = c->t_cost * ARGON2_SYNC_POINTS;
  have_job = 1;
  return CHAT_OK;
}

/* The job's result (finalize frees its memory), into r. */
static void job_finish(result *r) {
  finalize(&cur.ctx, &cur.inst); /* frees the instance's memory */
  memcpy(r->key, cur.key, sizeof r->key);
  r->used = 1;
  if (cur.kind == JOB_VERIFY) {
    r->rc = cur.ctx.outlen == cur.expected_len && sodium_memcmp(cur.out, cur.expected, cur.expected_len) == 0
                ? CHAT_OK
                : CHAT_E_BAD_CREDENTIALS;
  } else {
    r->rc = encode_string(r->encoded, sizeof r->encoded, &cur.ctx, Argon2_id) == ARGON2_OK ? CHAT_OK : CHAT_E_NOMEM;
  }
  sodium_memzero(&cur, sizeof cur);
  have_job = 0;
}

int pwhash_step(void) {
  if (!have_job) return CHAT_E_MISUSE;
  fill_memory_slice(&cur.inst, cur.next / ARGON2_SYNC_POINTS, cur.next % ARGON2_SYNC_POINTS);
  if (++cur.next < cur.slices) return (int)(cur.slices - cur.next);
  result *r = &results[next_result];
  next_result = (next_result + 1) % PWHASH_RESULTS;
  job_finish(r);
  return 0;
}

/* The result of the job set up in cur: inline, computed now; sliced, the job
 * begun (CHAT_E_PWHASH_PENDING: the repeated call finds the result kept). */
static int run(result *out) {
  int rc = job_begin();
  if (rc < 0) {
    sodium_memzero(&cur, sizeof cur);
    return rc;
  }
  if (sliced) return CHAT_E_PWHASH_PENDING;
  while (pwhash_step() > 0) {
  }
  *out = results[(next_result + PWHASH_RESULTS - 1) % PWHASH_RESULTS];
  pwhash_flow(0); /* inline keeps nothing */
  return CHAT_OK;
}

/* A kept result for `key`, or NULL. */
static const result *kept(const unsigned char key[crypto_generichash_BYTES]) {
  for (size_t i = 0; i < PWHASH_RESULTS; i++)
    if (results[i].used && sodium_memcmp(results[i].key, key, crypto_generichash_BYTES) == 0) return &results[i];
  return NULL;
}

int pwhash_verify(const char *encoded, const char *pw, size_t len) {
  const char *end = memchr(encoded, '\0', AUTH_HASH_STR_BYTES);
  if (!end) return CHAT_E_BAD_CREDENTIALS;
  size_t elen = (size_t)(end - encoded);
  if (strncmp(encoded, ID_PREFIX, sizeof ID_PREFIX - 1) != 0) { /* another kind: libsodium, in one call */
    char against[AUTH_HASH_STR_BYTES] = {0};
    memcpy(against, encoded, elen);
    return crypto_pwhash_str_verify(against, pw, len) == 0 ? CHAT_OK : CHAT_E_BAD_CREDENTIALS;
  }
  unsigned char key[crypto_generichash_BYTES];
  ask_key(key, JOB_VERIFY, pw, len, encoded, elen);
  const result *k = sliced ? kept(key) : NULL;
  if (k) return k->rc;
  if (sliced && have_job && sodium_memcmp(cur.key, key, sizeof key) == 0) return CHAT_E_PWHASH_PENDING;
  job_drop();
  /* argon2_verify (libsodium's argon2.c): the string's parameters, salt and tag */
  memset(&cur, 0, sizeof cur);
  cur.kind = JOB_VERIFY;
  memcpy(cur.key, key, sizeof key);
  argon2_context *c = &cur.ctx;
  c->salt = cur.salt;
  c->saltlen = sizeof cur.salt;
  c->out = cur.expected;
  c->outlen = sizeof cur.expected;
  if (len > crypto_pwhash_argon2id_PASSWD_MAX || decode_string(c, encoded, Argon2_id) != ARGON2_OK) {
    sodium_memzero(&cur, sizeof cur);
    return CHAT_E_BAD_CREDENTIALS;
  }
  cur.expected_len = c->outlen;
  c->out = cur.out;
  c->pwd = (uint8_t *)pw;
  c->pwdlen = (uint32_t)len;
  c->flags = ARGON2_DEFAULT_FLAGS;
  result r;
  int rc = run(&r);
  if (rc < 0) return rc;
  rc = r.rc;
  sodium_memzero(&r, sizeof r);
  return rc;
}

int pwhash_make(const char *pw, size_t len, auth_params p, char out[AUTH_HASH_STR_BYTES]) {
  unsigned char key[crypto_generichash_BYTES];
  uint64_t params[2] = {p.opslimit, p.memlimit};
  if (len > crypto_pwhash_argon2id_PASSWD_MAX || p.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      p.opslimit > UINT32_MAX || p.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      p.memlimit / 1024U > UINT32_MAX)
    return CHAT_E_MISUSE;
  ask_key(key, JOB_MAKE, pw, len, params, sizeof params);
  const result *k = sliced ? kept(key) : NULL;
  if (k) {
    memcpy(out, k->encoded, AUTH_HASH_STR_BYTES);
    return k->rc;
  }
  if (sliced && have_job && sodium_memcmp(cur.key, key, sizeof key) == 0) return CHAT_E_PWHASH_PENDING;
  job_drop();
  /* crypto_pwhash_argon2id_str (libsodium's pwhash_argon2id.c): a random salt of
   * crypto_pwhash_argon2id_SALTBYTES, a tag of HASH_BYTES, one lane */
  memset(&cur, 0, sizeof cur);
  cur.kind = JOB_MAKE;
  memcpy(cur.key, key, sizeof key);
  argon2_context *c = &cur.ctx;
  randombytes_buf(cur.salt, crypto_pwhash_argon2id_SALTBYTES);
  c->salt = cur.salt;
  c->saltlen = crypto_pwhash_argon2id_SALTBYTES;
  c->out = cur.out;
  c->outlen = HASH_BYTES;
  c->pwd = (uint8_t *)pw;
  c->pwdlen = (uint32_t)len;
  c->t_cost = (uint32_t)p.opslimit;
  c->m_cost = (uint32_t)(p.memlimit / 1024U);
  c->lanes = c->threads = 1;
  c->flags = ARGON2_DEFAULT_FLAGS;
  result r;
  int rc = run(&r);
  if (rc >= 0 && (rc = r.rc) >= 0) memcpy(out, r.encoded, AUTH_HASH_STR_BYTES);
  sodium_memzero(&r, sizeof r);
  return rc;
}

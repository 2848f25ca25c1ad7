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
static job cur; /* the sliced job, when have_job */
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

void pwhash_sliced(int on) { sliced = on; }

void pwhash_reset(void) {
  job_drop();
  sodium_memzero(results, sizeof results);
  next_result = 0;
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

/* argon2_ctx's steps 1 to 3 (libsodium's argon2.c): the instance of j->ctx, with
 * its first blocks. The password is read here and not kept. On failure j holds
 * nothing. */
static int job_begin(job *j) {
  argon2_context *c = &j->ctx;
  int rc = validate_inputs(c) == ARGON2_OK ? ARGON2_OK : ARGON2_INCORRECT_PARAMETER;
  if (rc == ARGON2_OK) {
    uint32_t blocks = c->m_cost;
    if (blocks < 2 * ARGON2_SYNC_POINTS * c->lanes) blocks = 2 * ARGON2_SYNC_POINTS * c->lanes;
    uint32_t segment = blocks / (c->lanes * ARGON2_SYNC_POINTS);
    j->inst = (argon2_instance_t){0};
    j->inst.passes = c->t_cost;
    j->inst.current_pass = ~0U;
    j->inst.memory_blocks = segment * c->lanes * ARGON2_SYNC_POINTS;
    j->inst.segment_length = segment;
    j->inst.lane_length = segment * ARGON2_SYNC_POINTS;
    j->inst.lanes = c->lanes;
    j->inst.threads = c->threads;
    j->inst.type = Argon2_id;
    rc = initialize(&j->inst, c); /* on failure it frees what it took */
  }
  c->pwd = NULL;
  c->pwdlen = 0;
  if (rc != ARGON2_OK) {
    sodium_memzero(j, sizeof *j);
    return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? CHAT_E_NOMEM : CHAT_E_BAD_CREDENTIALS;
  }
  j->next = 0;
  j->slices = c->t_cost * ARGON2_SYNC_POINTS;
  return CHAT_OK;
}

/* The next slice of j: the slices left, 0 once all are filled. */
static uint32_t job_slice(job *j) {
  fill_memory_slice(&j->inst, j->next / ARGON2_SYNC_POINTS, j->next % ARGON2_SYNC_POINTS);
  j->next++;
  return j->slices - j->next;
}

/* The job's result into r (finalize frees its memory); j is wiped. */
static void job_finish(job *j, result *r) {
  finalize(&j->ctx, &j->inst);
  memcpy(r->key, j->key, sizeof r->key);
  r->used = 1;
  if (j->kind == JOB_VERIFY) {
    r->rc = j->ctx.outlen == j->expected_len && sodium_memcmp(j->out, j->expected, j->expected_len) == 0
                ? CHAT_OK
                : CHAT_E_BAD_CREDENTIALS;
  } else {
    r->rc = encode_string(r->encoded, sizeof r->encoded, &j->ctx, Argon2_id) == ARGON2_OK ? CHAT_OK : CHAT_E_NOMEM;
  }
  sodium_memzero(j, sizeof *j);
}

int pwhash_step(void) {
  if (!have_job) return CHAT_E_MISUSE;
  uint32_t left = job_slice(&cur);
  if (left > 0) return (int)left;
  result *r = &results[next_result];
  next_result = (next_result + 1) % PWHASH_RESULTS;
  job_finish(&cur, r);
  have_job = 0;
  return 0;
}

/* The result of job j, set up by the caller: inline, computed now in j (the sliced
 * job and the results kept are not touched); sliced, j becomes the job
 * (CHAT_E_PWHASH_PENDING: the repeated call finds the result kept). */
static int run(job *j, result *out) {
  if (sliced) {
    job_drop(); /* any other job: its request ended without it */
    int rc = job_begin(j);
    if (rc < 0) return rc;
    cur = *j;
    cur.ctx.salt = cur.salt; /* its buffers are its own now */
    cur.ctx.out = cur.out;
    sodium_memzero(j, sizeof *j);
    have_job = 1;
    return CHAT_E_PWHASH_PENDING;
  }
  int rc = job_begin(j);
  if (rc < 0) return rc;
  while (job_slice(j) > 0) {
  }
  job_finish(j, out);
  return CHAT_OK;
}

/* A kept result for `key`, or NULL. */
static const result *kept(const unsigned char key[crypto_generichash_BYTES]) {
  for (size_t i = 0; i < PWHASH_RESULTS; i++)
    if (results[i].used && sodium_memcmp(results[i].key, key, crypto_generichash_BYTES) == 0) return &results[i];
  return NULL;
}

/* What a call for the hash `key` gets first. Sliced: the result kept for it
 * (*found), or CHAT_E_PWHASH_PENDING while its job runs. Otherwise j is readied
 * for a new job of `kind` (CHAT_OK, *found NULL). */
static int ask(job_kind kind, const unsigned char key[crypto_generichash_BYTES], job *j, const result **found) {
  *found = sliced ? kept(key) : NULL;
  if (*found) return CHAT_OK;
  if (sliced && have_job && sodium_memcmp(cur.key, key, crypto_generichash_BYTES) == 0) return CHAT_E_PWHASH_PENDING;
  memset(j, 0, sizeof *j);
  j->kind = kind;
  memcpy(j->key, key, crypto_generichash_BYTES);
  return CHAT_OK;
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
  job j;
  const result *k;
  int rc = ask(JOB_VERIFY, key, &j, &k);
  if (rc < 0 || k) return rc < 0 ? rc : k->rc;
  /* argon2_verify (libsodium's argon2.c): the string's parameters, salt and tag */
  argon2_context *c = &j.ctx;
  c->salt = j.salt;
  c->saltlen = sizeof j.salt;
  c->out = j.expected;
  c->outlen = sizeof j.expected;
  if (len > crypto_pwhash_argon2id_PASSWD_MAX || decode_string(c, encoded, Argon2_id) != ARGON2_OK) {
    sodium_memzero(&j, sizeof j);
    return CHAT_E_BAD_CREDENTIALS;
  }
  j.expected_len = c->outlen;
  c->out = j.out;
  c->pwd = (uint8_t *)pw;
  c->pwdlen = (uint32_t)len;
  c->flags = ARGON2_DEFAULT_FLAGS;
  result r;
  if ((rc = run(&j, &r)) < 0) return rc;
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
  job j;
  const result *k;
  int rc = ask(JOB_MAKE, key, &j, &k);
  if (rc < 0) return rc;
  if (k) {
    memcpy(out, k->encoded, AUTH_HASH_STR_BYTES);
    return k->rc;
  }
  /* crypto_pwhash_argon2id_str (libsodium's pwhash_argon2id.c): a random salt of
   * crypto_pwhash_argon2id_SALTBYTES, a tag of HASH_BYTES, one lane */
  argon2_context *c = &j.ctx;
  randombytes_buf(j.salt, crypto_pwhash_argon2id_SALTBYTES);
  c->salt = j.salt;
  c->saltlen = crypto_pwhash_argon2id_SALTBYTES;
  c->out = j.out;
  c->outlen = HASH_BYTES;
  c->pwd = (uint8_t *)pw;
  c->pwdlen = (uint32_t)len;
  c->t_cost = (uint32_t)p.opslimit;
  c->m_cost = (uint32_t)(p.memlimit / 1024U);
  c->lanes = c->threads = 1;
  c->flags = ARGON2_DEFAULT_FLAGS;
  result r;
  if ((rc = run(&j, &r)) >= 0 && (rc = r.rc) >= 0) memcpy(out, r.encoded, AUTH_HASH_STR_BYTES);
  sodium_memzero(&r, sizeof r);
  return rc;
}

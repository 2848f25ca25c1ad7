/*
 * wasm_exports.c -- the Wasm boundary: the only file that knows it runs as Wasm.
 *
 * ABI version 1. Everything crosses as bytes in linear memory plus a length:
 *
 *   chat_alloc(size) -> ptr        a buffer the host fills or reads; 0 when memory
 *                                  is exhausted. The host frees it with chat_dealloc.
 *   chat_dealloc(ptr)              frees a chat_alloc buffer; accepts 0.
 *   chat_init() -> int             once per instance, before any call: installs the
 *                                  host random source and runs sodium_init().
 *   chat_call(op, in, in_len, aux, aux_len, now_ms, out, cap, out_len_ptr) -> int
 *                                  api_call() (see api.h): bytes written to out, or a
 *                                  negative chat_error; *out_len_ptr (u32) gets the
 *                                  length written or, for CHAT_E_BUFFER_TOO_SMALL,
 *                                  the length needed.
 *   chat_room_new(id, next_seq, next_change) -> int
 *                                  a room (room.h) as a handle > 0, or a negative
 *                                  chat_error. id and next_seq are integers carried
 *                                  as f64. Free it with chat_room_free.
 *   chat_room_free(handle)         releases a room; accepts 0.
 *   chat_room_event(handle, kind, conn, in, in_len, now_ms, out, cap, out_len_ptr)
 *                                  room_event() (see room.h): the effects, or a
 *                                  negative chat_error, as chat_call.
 *   chat_pwhash_sliced(on)         pwhash_sliced() (see pwhash.h): whether the calls
 *                                  that follow hash a password in slices (answering
 *                                  CHAT_E_PWHASH_PENDING and leaving the hash to
 *                                  chat_pwhash_step) or in one call (0, the default).
 *   chat_pwhash_reset()            pwhash_reset(): forgets the sliced job and results.
 *   chat_pwhash_step() -> int      pwhash_step(): one slice of that hash; the slices
 *                                  left, 0 when done, or a negative chat_error.
 *   chat_abi_version() -> int      CHAT_ABI_VERSION.
 *   chat_trap_for_test()           traps on purpose, so tests can prove the shell
 *                                  survives a trap; the shell only calls it behind a
 *                                  test-only switch.
 *
 * The one allocation rule: the host allocates every buffer it passes (chat_alloc)
 * and frees it (chat_dealloc); the core never returns memory the host must free
 * and keeps no pointer into a buffer after the call returns.
 *
 * Imports (module "env"; the list is checked by tests/worker/core.test.ts):
 *   host_random(ptr, len)          fill len bytes at ptr with cryptographically
 *                                  secure random bytes (crypto.getRandomValues).
 * Errors are values; a trap (only possible through a bug) is caught by the shell,
 * which throws the instance away and builds a new one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "api.h"
#include "room.h"
#include "chat_alloc.h"
#include "chat_error.h"
#include "pwhash.h"

#define CHAT_ABI_VERSION 3
#define EXPORT __attribute__((used, visibility("default")))

__attribute__((import_module("env"), import_name("host_random"))) extern void host_random(
    void *buf, uint32_t len);

/* libsodium's randombytes, backed by the host. libsodium 1.0.18 under emscripten
 * would ignore an installed implementation and ask JS glue we do not have (every
 * byte would be 0), so the Makefile compiles randombytes.c without __EMSCRIPTEN__
 * and with no default implementation: this one is installed before sodium_init(). */
static const char *host_impl_name(void) { return "host"; }
static void host_buf(void *buf, size_t len) { host_random(buf, (uint32_t)len); }
static uint32_t host_u32(void) {
  uint32_t v;
  host_random(&v, sizeof v);
  return v;
}
static randombytes_implementation host_impl = {
    host_impl_name, host_u32, NULL, NULL, host_buf, NULL,
};

EXPORT void *chat_alloc(uint32_t size) { return chat_malloc(size); }

EXPORT void chat_dealloc(void *ptr) { chat_free(ptr); }

EXPORT int chat_init(void) {
  static int done;
  if (done) return CHAT_OK;
  chat_alloc_install(NULL, NULL);
  if (randombytes_set_implementation(&host_impl) != 0) return CHAT_E_CRYPTO;
  int rc = api_init();
  if (rc >= 0) done = 1;
  return rc;
}

EXPORT int chat_call(int op, const unsigned char *in, uint32_t in_len, const unsigned char *aux,
                     uint32_t aux_len, double now_ms, unsigned char *out, uint32_t cap,
                     uint32_t *out_len) {
  size_t n = 0;
  int rc = api_call(op, in, in_len, aux, aux_len, now_ms, out, cap, &n);
  *out_len = (uint32_t)n;
  return rc;
}

EXPORT int chat_room_new(double id, double next_seq, double next_change) {
  room *r = NULL;
  int rc = room_new((int64_t)id, (int64_t)next_seq, (int64_t)next_change, &r);
  return rc < 0 ? rc : (int)(intptr_t)r;
}

EXPORT void chat_room_free(room *r) { room_free(r); }

EXPORT int chat_room_event(room *r, int kind, double conn, const unsigned char *in, uint32_t in_len,
                           double now_ms, unsigned char *out, uint32_t cap, uint32_t *out_len) {
  size_t n = 0;
  int rc = room_event(r, kind, (int64_t)conn, in, in_len, now_ms, out, cap, &n);
  *out_len = (uint32_t)n;
  return rc;
}

EXPORT void chat_pwhash_sliced(int on) { pwhash_sliced(on); }

EXPORT void chat_pwhash_reset(void) { pwhash_reset(); }

EXPORT int chat_pwhash_step(void) { return pwhash_step(); }

EXPORT int chat_abi_version(void) { return CHAT_ABI_VERSION; }

EXPORT void chat_trap_for_test(void) { __builtin_trap(); }

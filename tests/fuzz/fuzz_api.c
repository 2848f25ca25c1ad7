/*
 * fuzz_api.c -- libFuzzer target: every stateless operation of api_call (api.h),
 * the user-frame parser (CHAT_OP_USER_FRAME) among them, each with a fuzzed `in`
 * and a fuzzed `aux`.
 *
 * Input: [op number][flags][in length, u16 little-endian][in][aux: the rest].
 * Flags: bit 0 gives an output buffer of 16 bytes (the buffer_too_small path, then
 * a call with the size asked for); bit 1 makes allocations fail after (flags >> 2)
 * of them. Unknown op numbers are tried too.
 *
 * Checks: the answer is valid JSON in valid UTF-8, of the length returned, within
 * the capacity; an error is a code of chat_error.h, CHAT_E_NOMEM only while
 * allocations fail, nothing leaks; a user frame always gets a frame back (pong or
 * error, with the frame's ref when it had a valid one), itself without a rate
 * bucket in `aux`, or as {"reply": frame text, "bucket"} with one.
 *
 * argon2id (pwhash.h's two entry points) is replaced (linker --wrap) by a cheap stand-in: 19 MiB and two passes
 * per call would make the fuzzer crawl, and the stored hash comes from `aux`, so a
 * fuzzed one could ask for any cost. The stand-in is a keyed BLAKE2b of the
 * password in a string of the same shape; what is tested is the parsing around it.
 */
#include <sodium.h>

#include "api.h"
#include "auth.h"
#include "chat_error.h"
#include "chat_limits.h"
#include "cJSON.h"
#include "fuzz_util.h"
#include "utf8.h"

/* ---- argon2id stand-in ---------------------------------------------------- */

static void stand_in(char out[crypto_pwhash_STRBYTES], const char *pw, unsigned long long len) {
  unsigned char h[16];
  char hex[33];
  crypto_generichash(h, sizeof h, (const unsigned char *)pw, len, NULL, 0);
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  memset(out, 0, crypto_pwhash_STRBYTES);
  snprintf(out, crypto_pwhash_STRBYTES, "$argon2id$v=19$m=19456,t=2,p=1$fuzz$%s", hex);
}

int __wrap_pwhash_make(const char *pw, size_t len, auth_params p, char out[AUTH_HASH_STR_BYTES]) {
  (void)p;
  stand_in(out, pw, len);
  return CHAT_OK;
}

int __wrap_pwhash_verify(const char *encoded, const char *pw, size_t len) {
  char want[crypto_pwhash_STRBYTES];
  stand_in(want, pw, len);
  return strncmp(encoded, want, crypto_pwhash_STRBYTES) == 0 ? CHAT_OK : CHAT_E_BAD_CREDENTIALS;
}

int __wrap_crypto_pwhash_str_needs_rehash(const char str[crypto_pwhash_STRBYTES], unsigned long long opslimit,
                                          size_t memlimit) {
  (void)opslimit, (void)memlimit;
  return strncmp(str, "$argon2id$v=19$m=19456,t=2,p=1$fuzz$", 36) == 0 ? 0 : 1;
}

/* ---- the target ----------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  chat_alloc_install(NULL, NULL);
  CHECK(api_init() == CHAT_OK, "api_init");
  return 0;
}

static int known_code(int rc) { return fuzz_is_error_name(chat_error_name(rc)); }

static unsigned char out[1 << 20];

/* A user frame's answer: a pong or an error frame, with the frame's ref if valid. */
static void check_user_frame(const uint8_t *in, size_t in_len, const cJSON *answer) {
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(answer, "type");
  CHECK(cJSON_IsString(type) && (strcmp(type->valuestring, "pong") == 0 || strcmp(type->valuestring, "error") == 0),
        "a user frame answered with something else than pong or error");
  if (strcmp(type->valuestring, "error") == 0) {
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(answer, "code");
    CHECK(cJSON_IsString(code) && fuzz_is_error_name(code->valuestring), "an error frame without a code of chat_error.h");
  }
  const cJSON *ref = cJSON_GetObjectItemCaseSensitive(answer, "ref");
  if (!ref) return;
  CHECK(cJSON_IsString(ref) && strlen(ref->valuestring) <= CHAT_REF_MAX, "the answer's ref");
  cJSON *frame = cJSON_ParseWithLength((const char *)in, in_len);
  const cJSON *sent = cJSON_GetObjectItemCaseSensitive(frame, "ref");
  CHECK(cJSON_IsString(sent) && strcmp(sent->valuestring, ref->valuestring) == 0, "a ref the frame did not send");
  cJSON_Delete(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_in f = {data, size};
  int op = fuzz_byte(&f), flags = fuzz_byte(&f);
  size_t in_len, aux_len;
  const uint8_t *in = fuzz_bytes(&f, fuzz_u16(&f), &in_len);
  const uint8_t *aux = fuzz_bytes(&f, f.n, &aux_len);
  size_t cap = flags & 1 ? 16 : sizeof out, out_len = 0;
  int failing = flags & 2;

  if (failing) fuzz_fail_allocation_after(flags >> 2);
  int rc = api_call(op, in, in_len, aux, aux_len, 1.7e12, out, cap, &out_len);
  if (rc == CHAT_E_BUFFER_TOO_SMALL) {
    CHECK(out_len > cap, "buffer_too_small, yet %zu bytes fit in %zu", out_len, cap);
    cap = out_len;
    rc = api_call(op, in, in_len, aux, aux_len, 1.7e12, out, cap, &out_len);
  }
  fuzz_stop_failing();

  if (rc < 0) {
    CHECK(known_code(rc), "op %d: unknown error %d", op, rc);
    CHECK(rc != CHAT_E_NOMEM || failing, "op %d: out of memory without an allocation failing", op);
    CHECK(rc != CHAT_E_BUFFER_TOO_SMALL, "op %d: buffer_too_small with the size it asked for", op);
    CHECK(rc != CHAT_E_MISUSE && rc != CHAT_E_INTERNAL, "op %d: %s", op, chat_error_name(rc));
    CHECK(op != CHAT_OP_USER_FRAME || aux_len || rc == CHAT_E_NOMEM, "a user frame is answered with a frame, not %d",
          rc);
    return 0;
  }
  CHECK((size_t)rc == out_len && out_len <= cap, "op %d: rc %d, length %zu, capacity %zu", op, rc, out_len, cap);
  CHECK(utf8_valid(out, out_len), "op %d: an answer not in UTF-8", op);
  cJSON *answer = cJSON_ParseWithLength((const char *)out, out_len);
  CHECK(cJSON_IsObject(answer), "op %d: an answer that is not a JSON object: %.*s", op, (int)out_len, out);
  if (op == CHAT_OP_USER_FRAME && !aux_len) {
    check_user_frame(in, in_len, answer);
  } else if (op == CHAT_OP_USER_FRAME) { /* {"reply": the frame's text, "bucket"} */
    const cJSON *reply = cJSON_GetObjectItemCaseSensitive(answer, "reply");
    CHECK(cJSON_IsString(reply), "a rate-limited user frame without its reply");
    cJSON *frame = cJSON_Parse(reply->valuestring);
    CHECK(cJSON_IsObject(frame), "a reply that is not a frame");
    check_user_frame(in, in_len, frame);
    cJSON_Delete(frame);
  }
  cJSON_Delete(answer);
  return 0;
}

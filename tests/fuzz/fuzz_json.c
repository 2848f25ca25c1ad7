/*
 * fuzz_json.c -- libFuzzer target: the strict JSON reader (json_in.h).
 *
 * The input is the document. Checks: json_parse_object answers CHAT_OK,
 * CHAT_E_BAD_JSON or CHAT_E_NOT_OBJECT (*out NULL on error); what it accepts is
 * valid UTF-8, also accepted by cJSON alone, within every limit of chat_limits.h
 * (members per object, depth, name length), with unique names in every object;
 * printing an accepted tree and reading the text again gives the same text; and
 * the same document read while allocations fail gives the same answer or
 * CHAT_E_NOMEM, leaking nothing.
 */
#include <math.h>

#include "chat_error.h"
#include "chat_limits.h"
#include "fuzz_util.h"
#include "json_in.h"
#include "json_out.h"
#include "utf8.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  chat_alloc_install(NULL, NULL);
  return 0;
}

/* Checks the limits of every object under item, naively (every pair of names):
 * the reference the hash set of json_in.c must agree with. Returns the depth. */
static int check_tree(const cJSON *item, int depth) {
  int deepest = depth;
  CHECK(depth <= CHAT_JSON_DEPTH_MAX, "depth %d", depth);
  if (cJSON_IsObject(item)) {
    int members = 0;
    for (const cJSON *a = item->child; a; a = a->next) {
      members++;
      CHECK(strlen(a->string) <= CHAT_JSON_KEY_MAX, "a name of %zu bytes", strlen(a->string));
      for (const cJSON *b = a->next; b; b = b->next) CHECK(strcmp(a->string, b->string) != 0, "duplicate %s", a->string);
    }
    CHECK(members <= CHAT_JSON_MEMBERS_MAX, "%d members", members);
  }
  if (cJSON_IsString(item)) {
    CHECK(utf8_valid((const unsigned char *)item->valuestring, strlen(item->valuestring)), "a string not UTF-8");
  }
  for (const cJSON *c = item->child; c; c = c->next) {
    int d = check_tree(c, depth + (cJSON_IsObject(c) || cJSON_IsArray(c)));
    if (d > deepest) deepest = d;
  }
  return deepest;
}

/* The readers of json_in.h on every member: they answer, never crash. */
static void read_members(const cJSON *o) {
  for (const cJSON *a = o->child; a; a = a->next) {
    const char *s;
    size_t n;
    int64_t v;
    int rc = json_get_string(o, a->string, &s, &n);
    CHECK(rc == CHAT_OK || rc == CHAT_E_FIELD_MISSING || rc == CHAT_E_FIELD_TYPE, "json_get_string %d", rc);
    if (rc == CHAT_OK) CHECK(n == strlen(s), "length");
    rc = json_get_uint53(a, &v);
    CHECK(rc == CHAT_OK || rc == CHAT_E_FIELD_TYPE, "json_get_uint53 %d", rc);
    if (rc == CHAT_OK) CHECK(v >= 0 && (double)v == a->valuedouble, "uint53 %lld", (long long)v);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cJSON *o = (cJSON *)1;
  int rc = json_parse_object(data, size, &o);
  CHECK(rc == CHAT_OK || rc == CHAT_E_BAD_JSON || rc == CHAT_E_NOT_OBJECT, "rc %d", rc);
  if (rc < 0) CHECK(o == NULL, "*out set on error");

  /* the same document while allocations fail: the same answer, or out of memory */
  for (long k = 0; k < 3; k++) {
    cJSON *p = (cJSON *)1;
    fuzz_fail_allocation_after(size ? data[size / 2] % 8 + k * 8 : k);
    int again = json_parse_object(data, size, &p);
    fuzz_stop_failing();
    CHECK(again == rc || again == CHAT_E_NOMEM, "rc %d, %d while allocations fail", rc, again);
    if (again < 0) CHECK(p == NULL, "*out set on error");
    cJSON_Delete(p);
  }
  if (rc < 0) return 0;

  CHECK(utf8_valid(data, size), "accepted bytes that are not UTF-8");
  cJSON *loose = cJSON_ParseWithLength((const char *)data, size);
  CHECK(loose != NULL, "cJSON alone refuses what json_in accepted");
  cJSON_Delete(loose);
  check_tree(o, 1);
  read_members(o);

  char *text = cJSON_PrintUnformatted(o);
  CHECK(text != NULL, "print");
  cJSON *again = NULL;
  rc = json_parse_object((const unsigned char *)text, strlen(text), &again);
  CHECK(rc == CHAT_OK, "its own print is refused (%d): %s", rc, text);
  char *text2 = cJSON_PrintUnformatted(again);
  CHECK(text2 && strcmp(text, text2) == 0, "print, read, print differs:\n%s\n%s", text, text2);

  cJSON_free(text);
  cJSON_free(text2);
  cJSON_Delete(again);
  cJSON_Delete(o);
  return 0;
}

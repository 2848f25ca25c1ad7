/* Golden scripts of the room (tests/golden/room.json), run natively; the Worker
 * tests run them through the Wasm build (tests/worker/core.test.ts). */
#include "chat_error.h"
#include "room_util.h"
#include "test_util.h"

/* Golden scripts (tests/golden/room.json): every step's effects, or error, must
 * equal the recorded ones. With GOLDEN_RECORD=1 in the environment the outputs are
 * written into the file instead, to be reviewed by eye before committing. */
static int event_kind(const char *name) {
#define KIND(sym, num, wire, in) \
  if (strcmp(name, #wire) == 0) return sym;
  ROOM_EVENTS(KIND)
#undef KIND
  return -1;
}

static void golden_scripts_give_the_recorded_effects(void **state) {
  (void)state;
  const char *path = "tests/golden/room.json";
  int record = getenv("GOLDEN_RECORD") != NULL;
  cJSON *doc = read_json_file(path);
  int steps = 0;
  cJSON *script;
  cJSON_ArrayForEach(script, cJSON_GetObjectItem(doc, "scripts")) {
    room *r;
    assert_int_equal(room_new((int64_t)num(script, "room_id"), (int64_t)num(script, "next_seq"), 1, &r), CHAT_OK);
    cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItem(script, "steps")) {
      const cJSON *conn = cJSON_GetObjectItem(step, "conn"), *in = cJSON_GetObjectItem(step, "in");
      cJSON *fx = NULL;
      int rc = room_run(r, event_kind(str(step, "event")), conn ? (int64_t)conn->valuedouble : 0,
                        in ? in->valuestring : NULL, num(step, "now"), &fx);
      cJSON *got = rc >= 0 ? fx : cJSON_CreateString(chat_error_name(rc));
      if (record) {
        cJSON_DeleteItemFromObject(step, "effects");
        cJSON_DeleteItemFromObject(step, "error");
        cJSON_AddItemToObject(step, rc >= 0 ? "effects" : "error", got);
      } else {
        cJSON *want = cJSON_GetObjectItem(step, rc >= 0 ? "effects" : "error");
        if (!want || !cJSON_Compare(want, got, 1)) {
          char *g = cJSON_PrintUnformatted(got);
          fail_msg("%s, step %d: got %s", str(script, "name"), steps, g);
        }
        cJSON_Delete(got);
      }
      steps++;
    }
    room_free(r);
  }
  if (record) {
    char *out = cJSON_Print(doc);
    FILE *f = fopen(path, "wb");
    fputs(out, f);
    fputc('\n', f);
    fclose(f);
    free(out);
  }
  assert_true(steps >= 30);
  cJSON_Delete(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(golden_scripts_give_the_recorded_effects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

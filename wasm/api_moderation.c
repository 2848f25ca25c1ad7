/* The stateless operations of moderation and limits (api.h): ban requests and
 * decisions, login throttling and budgets. Shared declarations: api_internal.h. */
#include <string.h>

#include "api_internal.h"
#include "auth.h"
#include "budget.h"
#include "chat_error.h"
#include "json_in.h"
#include "json_out.h"
#include "moderation.h"
#include "throttle.h"
#include "utf8.h"

int api_op_mod_request(const unsigned char *in, size_t len, cJSON *out) {
  cJSON *body = NULL;
  const char *name, *reason = NULL;
  size_t n, rlen = 0;
  char key[CHAT_USERNAME_MAX + 1];
  int rc = json_parse_object(in, len, &body);
  if (rc >= 0 && (rc = json_get_string(body, "username", &name, &n)) >= 0 &&
      auth_check_username(name, n, key) < 0)
    rc = CHAT_E_USER_NOT_FOUND;
  const cJSON *ip = rc >= 0 ? cJSON_GetObjectItemCaseSensitive(body, "ip") : NULL;
  if (ip && !cJSON_IsBool(ip) && !cJSON_IsNull(ip)) rc = CHAT_E_FIELD_TYPE;
  if (rc >= 0) {
    int r = json_get_string(body, "reason", &reason, &rlen);
    if (r == CHAT_E_FIELD_MISSING) reason = NULL;
    else if (r < 0) rc = r;
    else if (utf8_count((const unsigned char *)reason, rlen) > CHAT_REASON_MAX) rc = CHAT_E_REASON_TOO_LONG;
  }
  if (rc >= 0 && (rc = json_add_str(out, "username_key", key)) >= 0 &&
      (rc = json_add_bool(out, "ip", cJSON_IsTrue(ip))) >= 0)
    rc = reason ? json_add_str(out, "reason", reason) : json_add_null(out, "reason");
  cJSON_Delete(body);
  return rc;
}

/* MODERATE: whether the actor may do the action to the target (moderation.h);
 * "view" (the ban list and the audit trail) has no target. The actor's role is
 * checked before anything about the target is revealed. */
int api_op_moderate(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *f = NULL;
  const char *action, *actor_role, *target_role;
  size_t n;
  int rc = json_parse_object(aux, aux_len, &f), act = -1;
  if (rc < 0) return rc;
  const cJSON *actor = cJSON_GetObjectItemCaseSensitive(f, "actor");
  const cJSON *target = cJSON_GetObjectItemCaseSensitive(f, "target");
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(actor, "id");
  if ((rc = json_get_string(f, "action", &action, &n)) >= 0 && (act = moderation_action_parse(action)) < 0)
    rc = CHAT_E_FIELD_TYPE;
  if (rc >= 0) rc = json_get_string(actor, "role", &actor_role, &n);
  moderation_facts facts = {rc >= 0 && strcmp(actor_role, "ADMIN") == 0, 0, 0, 0};
  if (rc >= 0 && (!facts.actor_admin || act == MODERATION_VIEW)) { /* before revealing users */
    if ((rc = moderation_decide((moderation_action)act, &facts)) >= 0) rc = json_add_bool(out, "ok", 1);
    goto done;
  }
  if (rc >= 0 && (!target || cJSON_IsNull(target))) rc = CHAT_E_USER_NOT_FOUND;
  if (rc >= 0 && (rc = json_get_string(target, "role", &target_role, &n)) >= 0) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(target, "id");
    if (!cJSON_IsNumber(a) || !cJSON_IsNumber(t)) {
      rc = CHAT_E_FIELD_TYPE;
    } else {
      facts.self = a->valuedouble == t->valuedouble;
      facts.target_admin = strcmp(target_role, "ADMIN") == 0;
      facts.target_banned = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(target, "banned"));
      if ((rc = moderation_decide((moderation_action)act, &facts)) >= 0) rc = json_add_bool(out, "ok", 1);
    }
  }
done:
  cJSON_Delete(f);
  return rc;
}

static throttle_counter read_counter(const cJSON *o) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "count");
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "window_start");
  throttle_counter t = {cJSON_IsNumber(c) ? c->valuedouble : 0, cJSON_IsNumber(w) ? w->valuedouble : 0};
  return t;
}

static int add_counter(cJSON *out, const char *key, throttle_counter c) {
  cJSON *o = cJSON_CreateObject();
  if (!o || json_add_num(o, "count", c.count) < 0 || json_add_num(o, "window_start", c.window_start) < 0) {
    cJSON_Delete(o);
    return CHAT_E_NOMEM;
  }
  return json_add_item(out, key, o);
}

/* CHAT_OP_BUDGET: one use of a rate budget, or whether one more fits a count
 * budget (budget.h). A refusal is an answer ("allowed": false, naming the budget),
 * so that the shell can say which limit was reached. */
int api_op_budget(const unsigned char *aux, size_t aux_len, double now, cJSON *out) {
  cJSON *f = NULL;
  const char *name;
  size_t n;
  int64_t held = 0;
  double retry = -1;
  int rc = json_parse_object(aux, aux_len, &f), b;
  if (rc < 0) return rc;
  if ((rc = json_get_string(f, "budget", &name, &n)) < 0) goto done;
  if ((b = budget_parse(name)) < 0) {
    rc = CHAT_E_FIELD_TYPE;
    goto done;
  }
  budget_counter c = {0, 0};
  int64_t scale = 1;
  if (budget_window_ms((budget)b) > 0) {
    throttle_counter t = read_counter(cJSON_GetObjectItemCaseSensitive(f, "counter"));
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(f, "scale");
    c = (budget_counter){t.count, t.window_start};
    if (!sc || (rc = json_get_uint53(sc, &scale)) >= 0) rc = budget_spend((budget)b, scale, &c, now, &retry);
  } else if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(f, "held"), &held)) >= 0) {
    rc = budget_allows((budget)b, held);
  }
  if (rc == CHAT_E_LIMIT_REACHED) {
    if ((rc = json_add_bool(out, "allowed", 0)) >= 0 && (rc = json_add_str(out, "budget", name)) >= 0 &&
        (rc = json_add_num(out, "limit", (double)budget_limit((budget)b))) >= 0)
      rc = retry >= 0 ? json_add_num(out, "retry_after_ms", retry) : json_add_null(out, "retry_after_ms");
  } else if (rc >= 0 && (rc = json_add_bool(out, "allowed", 1)) >= 0 && budget_window_ms((budget)b) > 0) {
    /* The counter to store, and the count this window may reach: under concurrency
     * the shell may store the use as "count + 1 while below the ceiling" in the same
     * window, one atomic statement, instead of swapping the whole counter. */
    if ((rc = add_counter(out, "counter", (throttle_counter){c.count, c.window_start})) >= 0)
      rc = json_add_num(out, "ceiling", (double)budget_limit((budget)b) * (double)scale);
  }
done:
  cJSON_Delete(f);
  return rc;
}

int api_op_throttle(const unsigned char *aux, size_t aux_len, double now, cJSON *out) {
  cJSON *f = NULL;
  const char *step;
  size_t n;
  int rc = json_parse_object(aux, aux_len, &f);
  if (rc < 0) return rc;
  throttle_counter user = read_counter(cJSON_GetObjectItemCaseSensitive(f, "user"));
  throttle_counter ip = read_counter(cJSON_GetObjectItemCaseSensitive(f, "ip"));
  if ((rc = json_get_string(f, "step", &step, &n)) >= 0) {
    if (strcmp(step, "check") == 0) {
      double wait;
      int allowed = throttle_check(&user, &ip, now, &wait) == CHAT_OK;
      if ((rc = json_add_bool(out, "allowed", allowed)) >= 0) rc = json_add_num(out, "retry_after_ms", wait);
    } else if (strcmp(step, "fail") == 0) {
      if ((rc = add_counter(out, "user", throttle_fail(user, now))) >= 0)
        rc = add_counter(out, "ip", throttle_fail(ip, now));
    } else if (strcmp(step, "reserve") == 0) {
      double wait;
      int allowed = throttle_reserve(&user, &ip, now, &wait) == CHAT_OK;
      if ((rc = json_add_bool(out, "allowed", allowed)) >= 0 && (rc = json_add_num(out, "retry_after_ms", wait)) >= 0 &&
          (rc = add_counter(out, "user", user)) >= 0)
        rc = add_counter(out, "ip", ip);
    } else if (strcmp(step, "success") == 0) {
      const cJSON *w = cJSON_GetObjectItemCaseSensitive(f, "ip_window");
      if (!cJSON_IsNumber(w)) {
        rc = CHAT_E_FIELD_TYPE;
      } else {
        throttle_succeed(&user, &ip, w->valuedouble);
        if ((rc = add_counter(out, "user", user)) >= 0) rc = add_counter(out, "ip", ip);
      }
    } else {
      rc = CHAT_E_FIELD_TYPE;
    }
  }
  cJSON_Delete(f);
  return rc;
}

/* The operations of a person's own account (api.h): a password change, the
 * description of a session's client, the profile, the deletion. */
#include <string.h>

#include <sodium.h>

#include "account.h"
#include "api_internal.h"
#include "auth.h"
#include "chat_error.h"
#include "chat_frames.h"
#include "json_in.h"
#include "json_out.h"

/* Verifies a password the user typed against the stored hash in facts
 * {"password_hash", "password_nfkc"} (a legacy hash, of the password as typed,
 * when "password_nfkc" is false), as LOGIN_VERIFY does. CHAT_OK, or
 * CHAT_E_WRONG_PASSWORD, or the errors of reading facts. */
static int verify_typed(const cJSON *facts, const char *typed, size_t typed_len) {
  const char *stored = NULL;
  size_t stored_len = 0, cur_len = 0;
  char cur[CHAT_PASSWORD_MAX];
  int rehash = 0;
  int rc = json_get_string(facts, "password_hash", &stored, &stored_len);
  if (rc < 0) return rc;
  const cJSON *nfkc = cJSON_GetObjectItemCaseSensitive(facts, "password_nfkc");
  if (nfkc && !cJSON_IsBool(nfkc)) return CHAT_E_FIELD_TYPE;
  /* A password too long to have been stored is simply wrong. */
  if (auth_normalize_password(typed, typed_len, cur, &cur_len) < 0) return CHAT_E_WRONG_PASSWORD;
  rc = cJSON_IsFalse(nfkc) ? auth_verify_password(typed, typed_len, stored, auth_default_params(), &rehash)
                           : auth_verify_password(cur, cur_len, stored, auth_default_params(), &rehash);
  sodium_memzero(cur, sizeof cur);
  return rc == CHAT_E_BAD_CREDENTIALS ? CHAT_E_WRONG_PASSWORD : rc;
}

/* PASSWORD_CHANGE: new obeys the signup rules (its NFKC form, auth.h), checked
 * first so that a refused new password costs no argon2id work and no failed
 * login; then current is verified against the stored hash (a legacy hash, of the
 * password as typed, when "password_nfkc" is false), as LOGIN_VERIFY does. */
int api_op_password_change(const unsigned char *in, size_t len, const unsigned char *aux,
                           size_t aux_len, cJSON *out) {
  cJSON *body = NULL, *facts = NULL;
  const char *current = NULL, *fresh = NULL;
  size_t current_len = 0, fresh_len = 0, pw_len = 0;
  char pw[CHAT_PASSWORD_MAX], hash[AUTH_HASH_STR_BYTES];
  int rc = json_parse_object(in, len, &body);
  if (rc < 0) return rc;
  if ((rc = json_get_string(body, "current", &current, &current_len)) < 0 ||
      (rc = json_get_string(body, "new", &fresh, &fresh_len)) < 0 ||
      (rc = auth_normalize_password(fresh, fresh_len, pw, &pw_len)) < 0 ||
      (rc = auth_check_password(pw, pw_len)) < 0)
    goto done;
  if (aux_len == 0) { /* check only */
    rc = json_add_bool(out, "ok", 1);
    goto done;
  }
  if ((rc = json_parse_object(aux, aux_len, &facts)) < 0 || (rc = verify_typed(facts, current, current_len)) < 0)
    goto done;
  if ((rc = auth_hash_password(pw, pw_len, auth_default_params(), hash)) >= 0)
    rc = json_add_str(out, "password_hash", hash);
done:
  sodium_memzero(pw, sizeof pw);
  cJSON_Delete(facts);
  cJSON_Delete(body);
  return rc;
}

int api_op_client_describe(const unsigned char *in, size_t len, cJSON *out) {
  char client[ACCOUNT_CLIENT_BYTES];
  account_describe_client((const char *)in, len, client);
  return json_add_str(out, "client", client);
}

/* PROFILE: the display name checked and normalised (account.h), and the frame
 * that tells the rooms' sockets. */
int api_op_profile(const unsigned char *in, size_t len, const unsigned char *aux, size_t aux_len,
                   cJSON *out) {
  cJSON *body = NULL, *facts = NULL, *frame = NULL, *user = NULL;
  char name[ACCOUNT_DISPLAY_NAME_BYTES + 1];
  size_t name_len = 0;
  const char *username = NULL;
  size_t username_len = 0;
  int64_t id = 0;
  int rc = json_parse_object(in, len, &body);
  if (rc < 0) return rc;
  const cJSON *dn = cJSON_GetObjectItemCaseSensitive(body, "display_name");
  if (!dn) {
    rc = CHAT_E_FIELD_MISSING;
    goto done;
  }
  if (!cJSON_IsNull(dn)) {
    if (!cJSON_IsString(dn)) {
      rc = CHAT_E_FIELD_TYPE;
      goto done;
    }
    const char *raw = NULL;
    size_t raw_len = 0;
    if ((rc = json_get_string(body, "display_name", &raw, &raw_len)) < 0 ||
        (rc = account_check_display_name(raw, raw_len, name, &name_len)) < 0)
      goto done;
    name[name_len] = 0;
  }
  if ((rc = json_parse_object(aux, aux_len, &facts)) < 0 ||
      (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "id"), &id)) < 0 ||
      (rc = json_get_string(facts, "username", &username, &username_len)) < 0)
    goto done;
  if (!(frame = cJSON_CreateObject()) || !(user = cJSON_CreateObject())) {
    rc = CHAT_E_NOMEM;
    goto done;
  }
  if ((rc = json_add_str(frame, "type", CHAT_FRAME(user_updated))) < 0 ||
      (rc = json_add_num(user, "id", (double)id)) < 0 ||
      (rc = json_add_str(user, "username", username)) < 0 ||
      (rc = dn && cJSON_IsNull(dn) ? json_add_null(user, "display_name")
                                   : json_add_str(user, "display_name", name)) < 0)
    goto done;
  rc = json_add_item(frame, "user", user);
  user = NULL; /* owned by frame, even on failure */
  if (rc < 0) goto done;
  if ((rc = cJSON_IsNull(dn) ? json_add_null(out, "display_name") : json_add_str(out, "display_name", name)) < 0)
    goto done;
  rc = json_add_text(out, "frame", frame);
done:
  cJSON_Delete(user);
  cJSON_Delete(frame);
  cJSON_Delete(facts);
  cJSON_Delete(body);
  return rc;
}

/* ACCOUNT_DELETE: the password is verified (as for a password change); the answer
 * is the order of effects (account.h ACCOUNT_DELETION_STEPS), what others see in
 * place of the account and when its username is released. Without aux, only the body is read (the shell asks before it
 * counts an attempt). */
int api_op_account_delete(const unsigned char *in, size_t len, const unsigned char *aux, size_t aux_len,
                          double now, cJSON *out) {
  cJSON *body = NULL, *facts = NULL, *steps = NULL;
  const char *password = NULL;
  size_t password_len = 0;
  int64_t id = 0;
  int rc = json_parse_object(in, len, &body);
  if (rc < 0) return rc;
  if ((rc = json_get_string(body, "password", &password, &password_len)) < 0) goto done;
  if (aux_len == 0) {
    rc = json_add_bool(out, "ok", 1);
    goto done;
  }
  if ((rc = json_parse_object(aux, aux_len, &facts)) < 0 ||
      (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(facts, "user"), "id"),
                            &id)) < 0 ||
      (rc = verify_typed(facts, password, password_len)) < 0)
    goto done;
  if (!(steps = cJSON_CreateArray())) {
    rc = CHAT_E_NOMEM;
    goto done;
  }
#define STEP(name, doc) if (rc >= 0) rc = json_push(steps, cJSON_CreateString(#name));
  ACCOUNT_DELETION_STEPS(STEP)
#undef STEP
  if (rc < 0) goto done;
  rc = json_add_item(out, "steps", steps);
  steps = NULL; /* owned by out, even on failure */
  if (rc < 0 || (rc = json_add_str(out, "tombstone", ACCOUNT_TOMBSTONE)) < 0 ||
      (rc = json_add_num(out, "release_at", now + CHAT_USERNAME_RELEASE_MS)) < 0)
    goto done;
done:
  cJSON_Delete(steps);
  cJSON_Delete(facts);
  cJSON_Delete(body);
  return rc;
}

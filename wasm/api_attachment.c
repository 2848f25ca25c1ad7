/* Attachments (issue 17; api.h CHAT_OP_ATTACHMENT_CHECK, CHAT_OP_ATTACHMENT_ACCESS):
 * what an upload is, from its first bytes, and who may upload and fetch files. */
#include <sodium.h>
#include <string.h>

#include "api_internal.h"
#include "attachment.h"
#include "chat_error.h"
#include "chat_limits.h"
#include "json_in.h"
#include "json_out.h"

/* ATTACHMENT_CHECK: in is the file's first bytes (at most CHAT_SNIFF_BYTES, all of
 * it when shorter); aux {"name": X-File-Name as sent | null, "size":
 * Content-Length | null}. The answer names the stored file: a new id, the type the
 * bytes say, an image's size, the cleaned name. */
int api_op_attachment_check(const unsigned char *in, size_t len, const unsigned char *aux, size_t aux_len,
                            cJSON *out) {
  cJSON *facts = NULL;
  int rc = json_parse_object(aux, aux_len, &facts);
  const cJSON *size = rc >= 0 ? cJSON_GetObjectItemCaseSensitive(facts, "size") : NULL;
  const cJSON *name = rc >= 0 ? cJSON_GetObjectItemCaseSensitive(facts, "name") : NULL;
  int64_t bytes = 0;
  char clean[CHAT_FILE_NAME_MAX + 1];
  attachment_info info;
  if (rc < 0) goto done;
  if (!size || cJSON_IsNull(size)) {
    rc = CHAT_E_LENGTH_REQUIRED;
    goto done;
  }
  if ((rc = json_get_uint53(size, &bytes)) < 0) goto done;
  if (bytes > CHAT_ATTACHMENT_BYTES_MAX) {
    rc = CHAT_E_ATTACHMENT_TOO_LARGE;
    goto done;
  }
  /* an empty file, or first bytes that are not the file's beginning */
  if (bytes < 1 || len != (size_t)(bytes < CHAT_SNIFF_BYTES ? bytes : CHAT_SNIFF_BYTES)) {
    rc = CHAT_E_ATTACHMENT_INVALID;
    goto done;
  }
  const char *raw = cJSON_IsString(name) ? name->valuestring : "";
  int n = attachment_clean_name(raw, strlen(raw), clean, sizeof clean);
  if ((rc = n) < 0 || (rc = attachment_sniff(in, len, &info)) < 0 ||
      (rc = attachment_check_claim(info.type, attachment_claimed(clean))) < 0)
    goto done;
  unsigned char id[CHAT_ATTACHMENT_ID_BYTES];
  char hex[2 * CHAT_ATTACHMENT_ID_BYTES + 1];
  randombytes_buf(id, sizeof id);
  sodium_bin2hex(hex, sizeof hex, id, sizeof id);
  if ((rc = json_add_str(out, "id", hex)) < 0 || (rc = json_add_str(out, "type", attachment_mime(info.type))) < 0 ||
      (rc = json_add_bool(out, "image", info.type != ATTACHMENT_FILE)) < 0 ||
      (rc = json_add_num(out, "size", (double)bytes)) < 0 || (rc = json_add_str(out, "name", clean)) < 0)
    goto done;
  if (info.type != ATTACHMENT_FILE &&
      ((rc = json_add_num(out, "width", info.width)) < 0 || (rc = json_add_num(out, "height", info.height)) < 0))
    goto done;
done:
  cJSON_Delete(facts);
  return rc;
}

/* ATTACHMENT_ACCESS: aux {"user": id, "kind": "room" | "dm", "member": bool (a
 * room: the user's standing there is member), "members"?: [a, b] (a
 * conversation's two)}. A room's files are its members'; a conversation's, its
 * two people's. Answers {} or CHAT_E_NOT_MEMBER. */
int api_op_attachment_access(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *facts = NULL;
  int64_t user = 0;
  int rc = json_parse_object(aux, aux_len, &facts);
  if (rc >= 0) rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "user"), &user);
  if (rc >= 0) {
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(facts, "kind"), *m;
    int allowed = 0;
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "dm") == 0) {
      cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(facts, "members")) {
        allowed |= cJSON_IsNumber(m) && (int64_t)m->valuedouble == user;
      }
    } else {
      allowed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "member"));
    }
    rc = allowed ? CHAT_OK : CHAT_E_NOT_MEMBER;
    /* a closed conversation (a block) takes no new files, as it takes no messages */
    if (rc == CHAT_OK && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(facts, "open"))) rc = CHAT_E_DM_CLOSED;
  }
  (void)out;
  cJSON_Delete(facts);
  return rc;
}

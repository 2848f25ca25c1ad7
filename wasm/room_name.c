#include "room_name.h"

#include "chat_error.h"
#include "chat_limits.h"
#include "utf8.h"

int room_check_name(const char *name, size_t len, char *key) {
  const unsigned char *s = (const unsigned char *)name;
  if (len == 0) return CHAT_E_ROOM_NAME_EMPTY;
  if (!utf8_valid(s, len)) return CHAT_E_ROOM_NAME_INVALID;
  if (utf8_count(s, len) > CHAT_ROOM_NAME_MAX) return CHAT_E_ROOM_NAME_TOO_LONG;
  if (s[0] == ' ' || s[len - 1] == ' ') return CHAT_E_ROOM_NAME_INVALID;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = s[i];
    /* C0 controls (NUL included), DEL, and C1 controls (U+0080..U+009F: C2 80..C2 9F) */
    if (ch < 0x20 || ch == 0x7f || (ch == 0xc2 && s[i + 1] < 0xa0)) return CHAT_E_ROOM_NAME_INVALID;
    key[i] = (char)((ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch);
  }
  key[len] = '\0';
  return CHAT_OK;
}

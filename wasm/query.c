#include "query.h"

#include <string.h>

#include "chat_error.h"

int query_next(query_iter *it, const char **key, size_t *klen, const char **val, size_t *vlen) {
  while (it->pos < it->len) {
    size_t i = it->pos, j = i, eq = 0;
    while (j < it->len && it->s[j] != '&') {
      if (it->s[j] == '=' && !eq) eq = j;
      j++;
    }
    it->pos = j + 1;
    if (!eq) continue;
    *key = it->s + i;
    *klen = eq - i;
    *val = it->s + eq + 1;
    *vlen = j - eq - 1;
    return 1;
  }
  return 0;
}

int query_is(const char *key, size_t klen, const char *name) {
  return klen == strlen(name) && memcmp(key, name, klen) == 0;
}

int query_uint(const char *s, size_t n, int64_t *v) {
  if (n < 1 || n > 15) return CHAT_E_QUERY_INVALID;
  *v = 0;
  for (size_t k = 0; k < n; k++) {
    if (s[k] < '0' || s[k] > '9') return CHAT_E_QUERY_INVALID;
    *v = *v * 10 + (s[k] - '0');
  }
  return CHAT_OK;
}

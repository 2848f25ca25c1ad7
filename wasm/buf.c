#include "buf.h"

#include <string.h>

#include "chat_alloc.h"
#include "chat_error.h"

int buf_append(buf *b, const void *p, size_t n) {
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
      if (cap > (size_t)-1 / 2) return CHAT_E_NOMEM;
      cap *= 2;
    }
    unsigned char *d = chat_malloc(cap);
    if (!d) return CHAT_E_NOMEM;
    if (b->len) memcpy(d, b->data, b->len);
    chat_free(b->data);
    b->data = d;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  return CHAT_OK;
}

void buf_free(buf *b) {
  chat_free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/*
 * buf.h -- a growable byte buffer (allocation through chat_alloc).
 *
 * Holds bytes, not a C string: length-counted, never NUL-terminated. Growth
 * doubles the capacity; a failed growth leaves the buffer unchanged.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

typedef struct {
  unsigned char *data; /* owned; NULL while empty */
  size_t len, cap;
} buf;

/* Append n bytes. Returns CHAT_OK or CHAT_E_NOMEM (buffer unchanged). */
int buf_append(buf *b, const void *p, size_t n);

/* Release the bytes and empty the buffer; the buffer can be used again. */
void buf_free(buf *b);

#endif

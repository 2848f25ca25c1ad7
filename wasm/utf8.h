/*
 * utf8.h -- strict UTF-8 validation (RFC 3629).
 *
 * Rejects overlong forms, surrogates (U+D800..U+DFFF), code points above U+10FFFF
 * and truncated sequences, as the Unicode Standard's Table 3-7 ("Well-Formed UTF-8
 * Byte Sequences") requires. Used on every string that crosses into the core.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when the len bytes at s are well-formed UTF-8 (len 0 is valid). Reads
 * exactly len bytes; s need not be NUL-terminated. */
bool utf8_valid(const unsigned char *s, size_t len);

/* The number of code points in len bytes of valid UTF-8. */
size_t utf8_count(const unsigned char *s, size_t len);

/* The code point that starts at s[*i] in len bytes of valid UTF-8 (*i < len), and
 * *i moved past it. */
unsigned long utf8_next(const unsigned char *s, size_t len, size_t *i);

/* The length in bytes of the first max code points of len bytes of valid UTF-8
 * (all len bytes when it has fewer): a prefix that never splits a code point. */
size_t utf8_prefix(const unsigned char *s, size_t len, size_t max);

#endif

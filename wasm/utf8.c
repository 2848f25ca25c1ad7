#include "utf8.h"

bool utf8_valid(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) { need = 2; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) need = 2;
    else if (c == 0xED) { need = 2; hi = 0x9F; } /* no surrogates */
    else if (c >= 0xEE && c <= 0xEF) need = 2;
    else if (c == 0xF0) { need = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c == 0xF4) { need = 3; hi = 0x8F; } /* <= U+10FFFF */
    else return false;
    if (len - i - 1 < need) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t k = 2; k <= need; k++)
      if ((s[i + k] & 0xC0) != 0x80) return false;
    i += need + 1;
  }
  return true;
}

size_t utf8_count(const unsigned char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if ((s[i] & 0xC0) != 0x80) n++;
  return n;
}

unsigned long utf8_next(const unsigned char *s, size_t len, size_t *i) {
  unsigned char c = s[*i];
  size_t need = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
  unsigned long cp = need == 0 ? c : c & (0x3F >> need);
  size_t k = *i + 1;
  for (; k <= *i + need && k < len; k++) cp = cp << 6 | (s[k] & 0x3F);
  *i = k;
  return cp;
}

size_t utf8_prefix(const unsigned char *s, size_t len, size_t max) {
  size_t n = 0, i = 0;
  for (; i < len; i++)
    if ((s[i] & 0xC0) != 0x80 && n++ == max) break;
  return i;
}

/* Account rules (account.h). */
#include "account.h"

#include <stdio.h>
#include <string.h>

#include <utf8proc.h>

#include "chat_error.h"
#include "utf8.h"

/* Whether needle occurs in the first len bytes of hay (case-sensitive). */
static int has(const char *hay, size_t len, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(hay + i, needle, n) == 0) return 1;
  return 0;
}

typedef struct {
  const char *marker, *name;
} label;

static const label browsers[] = {
    {"Edg/", "Edge"},         {"OPR/", "Opera"},       {"Firefox/", "Firefox"},
    {"FxiOS/", "Firefox"},    {"CriOS/", "Chrome"},    {"Chromium/", "Chrome"},
    {"Chrome/", "Chrome"},    {"Safari/", "Safari"},   {"curl/", "curl"},
    {"node", "Node.js"},
};

static const label systems[] = {
    {"Windows", "Windows"}, {"Android", "Android"},  {"iPhone", "iOS"},
    {"iPad", "iOS"},        {"CrOS", "ChromeOS"},    {"Mac OS X", "macOS"},
    {"Macintosh", "macOS"}, {"Linux", "Linux"},
};

static const char *first(const label *l, size_t n, const char *ua, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (has(ua, len, l[i].marker)) return l[i].name;
  return NULL;
}

size_t account_describe_client(const char *ua, size_t len, char out[ACCOUNT_CLIENT_BYTES]) {
  if (!ua) len = 0;
  if (len > CHAT_USER_AGENT_SCAN) len = CHAT_USER_AGENT_SCAN;
  const char *b = first(browsers, sizeof browsers / sizeof *browsers, ua, len);
  const char *s = first(systems, sizeof systems / sizeof *systems, ua, len);
  int n;
  if (b && s) n = snprintf(out, ACCOUNT_CLIENT_BYTES, "%s on %s", b, s);
  else n = snprintf(out, ACCOUNT_CLIENT_BYTES, "%s", b ? b : s ? s : "Unknown client");
  return (size_t)n;
}

int account_display_char_allowed(int cp) {
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
      return 0;
    case UTF8PROC_CATEGORY_CF:
      return cp == 0x200D; /* ZERO WIDTH JOINER: emoji sequences */
    default:
      return 1;
  }
}

static int is_space(utf8proc_int32_t cp) { return utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS; }

int account_check_display_name(const char *name, size_t len, char out[ACCOUNT_DISPLAY_NAME_BYTES],
                               size_t *out_len) {
  enum { CAP = ACCOUNT_NFKD_MAX_CODE_POINTS + 1 }; /* + 1: reencode writes a NUL */
  const utf8proc_option_t nfkc = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
  utf8proc_int32_t buf[CAP];
  *out_len = 0;
  if (memchr(name, '\0', len) || !utf8_valid((const unsigned char *)name, len))
    return CHAT_E_DISPLAY_NAME_INVALID;
  /* One linear pass; the count is exact even past the buffer (nothing composed). */
  utf8proc_ssize_t n = utf8proc_decompose((const utf8proc_uint8_t *)name, (utf8proc_ssize_t)len, buf,
                                          CAP - 1, nfkc);
  if (n < 0) return CHAT_E_DISPLAY_NAME_INVALID; /* not reached: valid UTF-8 */
  if (n > CAP - 1) {
    /* Too long whatever it composes to, unless it holds a refused character:
     * that error comes first, so scan the input itself. */
    utf8proc_ssize_t at = 0;
    while (at < (utf8proc_ssize_t)len) {
      utf8proc_int32_t cp;
      at += utf8proc_iterate((const utf8proc_uint8_t *)name + at, (utf8proc_ssize_t)len - at, &cp);
      if (!account_display_char_allowed(cp)) return CHAT_E_DISPLAY_NAME_INVALID;
    }
    return CHAT_E_DISPLAY_NAME_TOO_LONG;
  }
  /* Compose in place into code points (UTF8PROC_STABLE | COMPOSE, no reencoding). */
  n = utf8proc_normalize_utf32(buf, n, nfkc);
  if (n < 0) return CHAT_E_DISPLAY_NAME_INVALID; /* not reached: the options are valid */
  utf8proc_ssize_t first = 0, last = n;
  for (utf8proc_ssize_t i = 0; i < n; i++)
    if (!account_display_char_allowed(buf[i])) return CHAT_E_DISPLAY_NAME_INVALID;
  while (first < last && is_space(buf[first])) first++;
  while (last > first && is_space(buf[last - 1])) last--;
  if (last - first > CHAT_DISPLAY_NAME_MAX) return CHAT_E_DISPLAY_NAME_TOO_LONG;
  if (last == first) return CHAT_E_DISPLAY_NAME_EMPTY;
  size_t w = 0;
  for (utf8proc_ssize_t i = first; i < last; i++)
    w += (size_t)utf8proc_encode_char(buf[i], (utf8proc_uint8_t *)out + w);
  *out_len = w;
  return CHAT_OK;
}

/* Account rules (account.h). */
#include "account.h"

#include <stdio.h>
#include <string.h>

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

/* Search queries into safe FTS5 MATCH expressions (search.h). */
#include "search.h"

#include <string.h>

#include <utf8proc.h>

#include "chat_error.h"
#include "query.h"
#include "utf8.h"

/* Whether the index's tokenizer (FTS5 unicode61: categories L*, N* and Co) keeps
 * code point cp in a token. */
static int token_cp(unsigned long cp) {
  if (cp < 0x80) return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_CO: return 1;
    default: return 0;
  }
}

static int space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* C0 and C1 controls (general category Cc) but the white space above. */
static int control(unsigned long cp) { return (cp < 0x20 && !space((char)cp)) || (cp >= 0x7f && cp <= 0x9f); }

/* Of a term's text: how many token code points it has (*all), and how many the
 * last token has (*last), which a '*' makes a prefix. */
static void count_tokens(const char *s, size_t len, size_t *all, size_t *last) {
  size_t i = 0, run = 0;
  *all = *last = 0;
  while (i < len) {
    if (token_cp(utf8_next((const unsigned char *)s, len, &i))) {
      (*all)++;
      *last = ++run;
    } else {
      run = 0;
    }
  }
}

int search_match(const char *q, size_t len, char *out, size_t cap, size_t *out_len) {
  char buf[SEARCH_MATCH_MAX + 1];
  size_t n = 0, i = 0;
  int terms = 0;
  *out_len = 0;
  if (len == 0 || len > CHAT_SEARCH_QUERY_MAX || !utf8_valid((const unsigned char *)q, len)) return CHAT_E_QUERY_INVALID;
  while (i < len)
    if (control(utf8_next((const unsigned char *)q, len, &i))) return CHAT_E_QUERY_INVALID;
  i = 0;
  while (i < len) {
    if (space(q[i])) {
      i++;
      continue;
    }
    const char *text;
    size_t tlen;
    int prefix = 0;
    if (q[i] == '"') { /* a phrase, to the closing quote */
      const char *close = memchr(q + i + 1, '"', len - i - 1);
      if (!close) return CHAT_E_QUERY_INVALID;
      text = q + i + 1;
      tlen = (size_t)(close - text);
      i = (size_t)(close - q) + 1;
      if (i < len && q[i] == '*') prefix = 1, i++;
    } else { /* a word, to white space or a quote */
      size_t j = i;
      while (j < len && !space(q[j]) && q[j] != '"') j++;
      text = q + i;
      tlen = j - i;
      i = j;
      if (tlen && text[tlen - 1] == '*') prefix = 1, tlen--;
    }
    size_t all, last;
    count_tokens(text, tlen, &all, &last);
    if (all == 0) continue; /* nothing the index holds: "^", "(", "*" */
    if (prefix && last < CHAT_SEARCH_PREFIX_MIN) return CHAT_E_QUERY_INVALID;
    if (++terms > CHAT_SEARCH_TERMS_MAX) return CHAT_E_QUERY_INVALID;
    if (terms > 1) buf[n++] = ' ';
    buf[n++] = '"';
    for (size_t k = 0; k < tlen; k++) {
      if (text[k] == '"') buf[n++] = '"'; /* never reached: a quote ends a term; kept for safety */
      buf[n++] = text[k];
    }
    buf[n++] = '"';
    if (prefix) buf[n++] = '*';
  }
  if (terms == 0) return CHAT_E_QUERY_INVALID;
  *out_len = n;
  if (n + 1 > cap) {
    *out_len = n + 1;
    return CHAT_E_BUFFER_TOO_SMALL;
  }
  memcpy(out, buf, n);
  out[n] = 0;
  return terms;
}

static int hex(char h) {
  return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
}

/* Percent-decodes val ('+' is a space) into out (CHAT_SEARCH_QUERY_MAX bytes). */
static int decode(const char *val, size_t vlen, char *out, size_t *out_len) {
  size_t n = 0;
  for (size_t i = 0; i < vlen; i++) {
    char c = val[i];
    if (c == '%') {
      int hi = i + 1 < vlen ? hex(val[i + 1]) : -1, lo = i + 2 < vlen ? hex(val[i + 2]) : -1;
      if (hi < 0 || lo < 0) return CHAT_E_QUERY_INVALID;
      c = (char)(hi * 16 + lo);
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    if (n == CHAT_SEARCH_QUERY_MAX) return CHAT_E_QUERY_INVALID;
    out[n++] = c;
  }
  *out_len = n;
  return CHAT_OK;
}

int search_read_request(const char *query, size_t len, search_request *out) {
  query_iter it = {query, len, 0};
  const char *key, *val;
  size_t klen, vlen;
  int has_q = 0, rc = CHAT_OK;
  int64_t v;
  memset(out, 0, sizeof *out);
  out->limit = CHAT_SEARCH_PAGE;
  while (rc >= 0 && query_next(&it, &key, &klen, &val, &vlen)) {
    if (query_is(key, klen, "q")) {
      char text[CHAT_SEARCH_QUERY_MAX];
      size_t tlen;
      if (has_q) return CHAT_E_QUERY_INVALID; /* which of two would be searched? */
      has_q = 1;
      if ((rc = decode(val, vlen, text, &tlen)) >= 0)
        rc = search_match(text, tlen, out->match, sizeof out->match, &out->match_len);
    } else if (query_is(key, klen, "before")) {
      if (query_uint(val, vlen, &v) < 0 || v < 1) return CHAT_E_QUERY_INVALID;
      out->has_before = 1, out->before = v;
    } else if (query_is(key, klen, "limit")) {
      if (query_uint(val, vlen, &v) < 0 || v < 1 || v > CHAT_SEARCH_PAGE_MAX) return CHAT_E_QUERY_INVALID;
      out->limit = (int)v;
    }
  }
  if (rc < 0) return rc == CHAT_E_BUFFER_TOO_SMALL ? CHAT_E_QUERY_INVALID : rc;
  return has_q ? CHAT_OK : CHAT_E_QUERY_INVALID;
}

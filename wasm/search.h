/*
 * search.h -- message search (issue 17): what a person types, read into an FTS5
 * MATCH expression that can only mean what the syntax below says.
 *
 * FTS5 has a query language of its own (AND, OR, NOT, NEAR(...), column filters
 * "body:", "^", "+", parentheses, '*'), and an expression it cannot parse is an
 * SQLite error. So the text a person types never reaches FTS5 as it is: it is
 * read here into terms, and every term is written as an FTS5 string (between
 * double quotes, a quote inside doubled), where nothing is an operator.
 *
 * The syntax (PROTOCOL.md "Search"):
 * - Words are separated by white space (space, tab, CR, LF). Every word must be
 *   found (AND); the order of words does not matter.
 * - "a phrase" in double quotes is found only as those words in that order. A
 *   quote that is not closed makes the query invalid.
 * - A word ending in '*' is a prefix: lov* finds love, lovely. It needs at least
 *   CHAT_SEARCH_PREFIX_MIN letters or digits before the '*'.
 * - Everything else is literal: AND, OR, NOT and NEAR are words like any other,
 *   body:x is the words body and x, and characters that are neither letters nor
 *   digits separate words, as the index's tokenizer (unicode61, diacritics
 *   removed, case folded) splits the text of messages. A term with no letter or
 *   digit at all ("^", "(", "*", "-") is left out.
 * - Invalid (CHAT_E_QUERY_INVALID): empty or nothing left to search for, more than
 *   CHAT_SEARCH_QUERY_MAX bytes or CHAT_SEARCH_TERMS_MAX terms, not UTF-8, a
 *   control character other than tab, CR and LF, an unclosed quote, a prefix that
 *   is too short.
 *
 * Markers: a result's snippet marks each match between SEARCH_MARK_START (U+0002,
 * START OF TEXT) and SEARCH_MARK_END (U+0003, END OF TEXT); clients render the
 * text between them as highlighted (<mark>) and never as HTML. A message's own
 * U+0002 and U+0003 are left out of what is indexed and of snippets, so only the
 * index marks.
 *
 * Pure functions over bytes: no allocation; the caller owns every buffer.
 */
#ifndef SEARCH_H
#define SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "chat_limits.h"

#define SEARCH_MARK_START "\x02"
#define SEARCH_MARK_END "\x03"

/* The longest MATCH expression a query of CHAT_SEARCH_QUERY_MAX bytes gives: each
 * byte at most twice (a doubled quote), and per term two quotes, a '*' and a
 * space. */
#define SEARCH_MATCH_MAX (2 * CHAT_SEARCH_QUERY_MAX + 4 * CHAT_SEARCH_TERMS_MAX)

/* Reads the query q (len bytes, not NUL-terminated) into an FTS5 MATCH expression
 * written into out (capacity cap; NUL-terminated; SEARCH_MATCH_MAX + 1 always
 * suffices), *out_len its length without the NUL. Returns the number of terms
 * (>= 1), CHAT_E_QUERY_INVALID (the rules above), or CHAT_E_BUFFER_TOO_SMALL
 * (*out_len: the size needed, NUL included). Linear in len. */
int search_match(const char *q, size_t len, char *out, size_t cap, size_t *out_len);

/* A search request as the routes read it from their query string. */
typedef struct {
  char match[SEARCH_MATCH_MAX + 1]; /* the MATCH expression (search_match) */
  size_t match_len;
  int has_before;
  int64_t before; /* results of seq < before only (has_before) */
  int limit;      /* 1..CHAT_SEARCH_PAGE_MAX, default CHAT_SEARCH_PAGE */
} search_request;

/* Reads "q=...&before=N&limit=K" (len bytes; other keys ignored): q
 * percent-decoded ('+' a space) into search_match, before a seq >= 1, limit
 * 1..CHAT_SEARCH_PAGE_MAX. CHAT_OK, or CHAT_E_QUERY_INVALID for a missing or
 * invalid q, a bad escape, or a bad before or limit. */
int search_read_request(const char *query, size_t len, search_request *out);

#endif

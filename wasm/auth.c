#include "auth.h"

#include <string.h>

#include <sodium.h>
#include <utf8proc.h>

#include "chat_error.h"
#include "pwhash.h"
#include "utf8.h"

/* An argon2id hash, with the production parameters, of a random password that was
 * thrown away: logins for unknown users are verified against it so that they take
 * as long as a wrong password. tests/c/test_auth.c checks that its parameters match
 * auth_default_params(); regenerate it when they change. */
static const char dummy_hash[AUTH_HASH_STR_BYTES] =
    "$argon2id$v=19$m=19456,t=2,p=1$Co0/HQ4eVmjSwXShXj4dCQ$NAnrzAmGkShXDPFWlrOf1ozWsu4cPvITFJN3q9k+H6Q";

const char *auth_dummy_hash(void) { return dummy_hash; }

int auth_init(void) { return sodium_init() < 0 ? CHAT_E_CRYPTO : CHAT_OK; }

auth_params auth_default_params(void) {
  auth_params p = {CHAT_PWHASH_OPSLIMIT, CHAT_PWHASH_MEMLIMIT};
  return p;
}

static int username_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-' || c == '.';
}

int auth_check_username(const char *name, size_t len, char key[CHAT_USERNAME_MAX + 1]) {
  if (len < CHAT_USERNAME_MIN) return CHAT_E_USERNAME_TOO_SHORT;
  if (len > CHAT_USERNAME_MAX) return CHAT_E_USERNAME_TOO_LONG;
  for (size_t i = 0; i < len; i++)
    if (!username_char((unsigned char)name[i])) return CHAT_E_USERNAME_CHARS;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    key[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  key[len] = '\0';
  return CHAT_OK;
}

/* The prototype of one case-folded username character (auth.h's table), or NULL
 * for the character itself. */
static const char *prototype(char c) {
  switch (c) {
    case '0': return "o";  /* 0030 -> 004F "O", folded */
    case '1': return "l";  /* 0031 -> 006C */
    case 'i': return "l";  /* 0049 "I" -> 006C, folded: I and i are one name */
    case 'm': return "rn"; /* 006D -> 0072 006E */
    default: return NULL;
  }
}

int auth_username_skeleton(const char *name, size_t len, char skel[AUTH_SKELETON_BYTES]) {
  char key[CHAT_USERNAME_MAX + 1];
  int rc = auth_check_username(name, len, key); /* also folds the case */
  if (rc < 0) return rc;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    const char *p = prototype(key[i]);
    if (!p) {
      skel[n++] = key[i];
    } else {
      for (; *p; p++) skel[n++] = *p;
    }
  }
  skel[n] = '\0';
  return (int)n;
}

int auth_normalize_password(const char *pw, size_t len, char out[CHAT_PASSWORD_MAX],
                            size_t *out_len) {
  /* NFKC as utf8proc_NFKC() does it (decompose, then reencode: compose and write
   * UTF-8 in place), into a bounded buffer instead of a malloc'd one. */
  enum { CAP = AUTH_NFKD_MAX_CODE_POINTS + 1 }; /* + 1: reencode writes a NUL */
  const utf8proc_option_t nfkc = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
  utf8proc_int32_t buf[CAP];
  *out_len = 0;
  if (memchr(pw, '\0', len) || !utf8_valid((const unsigned char *)pw, len))
    return CHAT_E_PASSWORD_UTF8;
  /* The count is exact even when it exceeds the buffer (then nothing is composed):
   * one linear pass either way. */
  utf8proc_ssize_t n = utf8proc_decompose((const utf8proc_uint8_t *)pw, (utf8proc_ssize_t)len,
                                          buf, CAP - 1, nfkc);
  int rc = CHAT_OK;
  if (n < 0) {
    rc = CHAT_E_PASSWORD_UTF8; /* not reached: the input is valid UTF-8 */
  } else if (n > CAP - 1) {
    rc = CHAT_E_PASSWORD_TOO_LONG;
  } else {
    utf8proc_ssize_t bytes = utf8proc_reencode(buf, n, nfkc);
    if (bytes < 0) {
      rc = CHAT_E_PASSWORD_UTF8; /* not reached: the options are valid */
    } else if (bytes > CHAT_PASSWORD_MAX) {
      rc = CHAT_E_PASSWORD_TOO_LONG;
    } else {
      memcpy(out, buf, (size_t)bytes);
      *out_len = (size_t)bytes;
    }
  }
  sodium_memzero(buf, sizeof buf);
  return rc;
}

int auth_check_password(const char *pw, size_t len) {
  if (memchr(pw, '\0', len) || !utf8_valid((const unsigned char *)pw, len))
    return CHAT_E_PASSWORD_UTF8;
  if (len < CHAT_PASSWORD_MIN) return CHAT_E_PASSWORD_TOO_SHORT;
  if (len > CHAT_PASSWORD_MAX) return CHAT_E_PASSWORD_TOO_LONG;
  return CHAT_OK;
}

int auth_hash_password(const char *pw, size_t len, auth_params p, char out[AUTH_HASH_STR_BYTES]) {
  return pwhash_make(pw, len, p, out);
}

int auth_verify_password(const char *pw, size_t len, const char *hash, auth_params p,
                         int *needs_rehash) {
  *needs_rehash = 0;
  /* Unreadable (too long, or no crypto_pwhash string at all, as a deleted account's
   * "!deleted"): as an unknown user, against the dummy hash, so that it takes as
   * long as a wrong password and tells nothing about the account. */
  if (hash && (strlen(hash) >= AUTH_HASH_STR_BYTES || strncmp(hash, "$argon2", 7) != 0)) hash = NULL;
  int rc = pwhash_verify(hash ? hash : dummy_hash, pw, len);
  if (rc == CHAT_E_PWHASH_PENDING || rc == CHAT_E_NOMEM) return rc;
  if (rc < 0 || !hash) return CHAT_E_BAD_CREDENTIALS;
  *needs_rehash = crypto_pwhash_str_needs_rehash(hash, p.opslimit, p.memlimit) != 0;
  return CHAT_OK;
}

static void hash_token(const unsigned char raw[CHAT_SESSION_TOKEN_BYTES],
                       char hash_hex[AUTH_TOKEN_HASH_HEX_BYTES]) {
  unsigned char h[CHAT_SESSION_HASH_BYTES];
  crypto_generichash(h, sizeof h, raw, CHAT_SESSION_TOKEN_BYTES, NULL, 0);
  sodium_bin2hex(hash_hex, AUTH_TOKEN_HASH_HEX_BYTES, h, sizeof h);
}

int auth_new_token(char token[AUTH_TOKEN_STR_BYTES], char hash_hex[AUTH_TOKEN_HASH_HEX_BYTES]) {
  unsigned char raw[CHAT_SESSION_TOKEN_BYTES];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2base64(token, AUTH_TOKEN_STR_BYTES, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  hash_token(raw, hash_hex);
  sodium_memzero(raw, sizeof raw);
  return CHAT_OK;
}

/* Decode exactly CHAT_SESSION_TOKEN_CHARS base64url characters into 32 bytes. */
static int token_hash_from_text(const char *t, size_t len,
                                char hash_hex[AUTH_TOKEN_HASH_HEX_BYTES]) {
  unsigned char raw[CHAT_SESSION_TOKEN_BYTES];
  size_t got = 0;
  const char *end = NULL;
  if (len != CHAT_SESSION_TOKEN_CHARS) return CHAT_E_TOKEN_MALFORMED;
  /* Check the alphabet first: libsodium 1.0.18's decoder reads any byte >= 0x80
   * as '_', so one token would have many spellings. */
  for (size_t i = 0; i < len; i++) {
    char c = t[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return CHAT_E_TOKEN_MALFORMED;
  }
  if (sodium_base642bin(raw, sizeof raw, t, len, NULL, &got, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      got != sizeof raw || end != t + len)
    return CHAT_E_TOKEN_MALFORMED;
  hash_token(raw, hash_hex);
  sodium_memzero(raw, sizeof raw);
  return CHAT_OK;
}

int auth_parse_bearer(const char *hdr, size_t len, char hash_hex[AUTH_TOKEN_HASH_HEX_BYTES]) {
  static const char scheme[] = "bearer ";
  const size_t n = sizeof scheme - 1;
  if (len == 0) return CHAT_E_TOKEN_MISSING;
  if (len < n) return CHAT_E_TOKEN_MALFORMED;
  for (size_t i = 0; i < n; i++) {
    char c = hdr[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != scheme[i]) return CHAT_E_TOKEN_MALFORMED;
  }
  return token_hash_from_text(hdr + n, len - n, hash_hex);
}

int auth_parse_ws_protocol(const char *hdr, size_t len,
                           char hash_hex[AUTH_TOKEN_HASH_HEX_BYTES]) {
  const size_t plen = sizeof CHAT_WS_PROTOCOL - 1, blen = sizeof CHAT_WS_BEARER_PREFIX - 1;
  int has_protocol = 0, tokens = 0, rc = CHAT_E_TOKEN_MISSING;
  size_t i = 0;
  while (i <= len) {
    size_t j = i;
    while (j < len && hdr[j] != ',') j++;
    size_t a = i, b = j; /* trim optional whitespace around the entry */
    while (a < b && (hdr[a] == ' ' || hdr[a] == '\t')) a++;
    while (b > a && (hdr[b - 1] == ' ' || hdr[b - 1] == '\t')) b--;
    if (b - a == plen && memcmp(hdr + a, CHAT_WS_PROTOCOL, plen) == 0) {
      has_protocol = 1;
    } else if (b - a >= blen && memcmp(hdr + a, CHAT_WS_BEARER_PREFIX, blen) == 0) {
      tokens++;
      rc = token_hash_from_text(hdr + a + blen, b - a - blen, hash_hex);
    }
    i = j + 1;
  }
  if (tokens > 1) return CHAT_E_TOKEN_MALFORMED;
  if (rc == CHAT_OK && !has_protocol) return CHAT_E_TOKEN_MALFORMED;
  return rc;
}

/*
 * auth.h -- account rules: usernames, passwords, argon2id hashes, session tokens.
 *
 * Pure rules plus libsodium. Randomness comes from libsodium's randombytes, which
 * the Wasm build backs with the host's crypto.getRandomValues (wasm_exports.c) and
 * the native build with the OS. No clock: times are passed in, in milliseconds
 * since the Unix epoch. Limits are in chat_limits.h. Call sodium_init() (through
 * auth_init()) once before anything else.
 *
 * Workload: one hash per signup, one verify per login (each ~CHAT_PWHASH_MEMLIMIT
 * bytes of memory and CHAT_PWHASH_OPSLIMIT passes over it); token parsing and
 * hashing on every authenticated request (microseconds).
 */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>

#include "chat_limits.h"

/* argon2id cost. Production uses auth_default_params(); tests may use less. */
typedef struct {
  unsigned long long opslimit; /* passes over memory */
  size_t memlimit;             /* bytes */
} auth_params;

/* Buffer sizes, including the terminating NUL. */
#define AUTH_HASH_STR_BYTES 128 /* = crypto_pwhash_STRBYTES */
#define AUTH_TOKEN_STR_BYTES (CHAT_SESSION_TOKEN_CHARS + 1)
#define AUTH_TOKEN_HASH_HEX_BYTES (CHAT_SESSION_HASH_BYTES * 2 + 1)

/* Initialise libsodium. Returns CHAT_OK (also when already initialised) or
 * CHAT_E_CRYPTO. Idempotent. */
int auth_init(void);

/* The production argon2id parameters (CHAT_PWHASH_OPSLIMIT, CHAT_PWHASH_MEMLIMIT). */
auth_params auth_default_params(void);

/* Check a username (len bytes, not NUL-terminated) against the rules: length
 * CHAT_USERNAME_MIN..CHAT_USERNAME_MAX, only [A-Za-z0-9_.-]. On success writes its
 * lowercase form, the uniqueness key, into key (capacity CHAT_USERNAME_MAX + 1,
 * NUL-terminated) and returns CHAT_OK. Errors: CHAT_E_USERNAME_TOO_SHORT,
 * CHAT_E_USERNAME_TOO_LONG, CHAT_E_USERNAME_CHARS. Length is checked first. */
int auth_check_username(const char *name, size_t len, char key[CHAT_USERNAME_MAX + 1]);

/* Check a password: CHAT_PASSWORD_MIN..CHAT_PASSWORD_MAX bytes of valid UTF-8
 * with no NUL byte. Errors: CHAT_E_PASSWORD_TOO_SHORT, CHAT_E_PASSWORD_TOO_LONG,
 * CHAT_E_PASSWORD_UTF8. */
int auth_check_password(const char *pw, size_t len);

/* Hash a password with argon2id and a fresh random salt into out, a
 * NUL-terminated "$argon2id$v=19$m=...,t=...,p=1$salt$hash" string. Returns CHAT_OK,
 * CHAT_E_NOMEM (argon2's memory could not be allocated) or CHAT_E_CRYPTO. The
 * password is not checked against the rules here. */
int auth_hash_password(const char *pw, size_t len, auth_params p, char out[AUTH_HASH_STR_BYTES]);

/* Verify a password against a stored hash string. hash may be NULL for a user that
 * does not exist: the password is then verified against a built-in dummy hash with
 * the production parameters, so both failures take comparable time, and the
 * answer is CHAT_E_BAD_CREDENTIALS. On success returns CHAT_OK and sets
 * *needs_rehash to 1 when the stored hash was made with parameters other than p.
 * Errors: CHAT_E_BAD_CREDENTIALS (wrong password, unknown user, or a stored hash
 * that cannot be read). */
int auth_verify_password(const char *pw, size_t len, const char *hash, auth_params p,
                         int *needs_rehash);

/* The built-in dummy hash that logins of unknown users are verified against
 * (static storage); exposed so tests can check it uses the production parameters. */
const char *auth_dummy_hash(void);

/* A new session token: CHAT_SESSION_TOKEN_BYTES random bytes as unpadded base64url
 * in token (NUL-terminated), and the hex of their BLAKE2b-256 hash, the only form
 * stored, in hash_hex. Returns CHAT_OK or CHAT_E_CRYPTO. */
int auth_new_token(char token[AUTH_TOKEN_STR_BYTES], char hash_hex[AUTH_TOKEN_HASH_HEX_BYTES]);

/* Read a token from an Authorization header value (len bytes): exactly
 * "Bearer " (scheme case-insensitive, RFC 9110 section 11.1) and a well-formed
 * token. On success writes the token's hash as hex. Errors: CHAT_E_TOKEN_MISSING
 * (len 0), CHAT_E_TOKEN_MALFORMED (anything else that is not a token). */
int auth_parse_bearer(const char *hdr, size_t len, char hash_hex[AUTH_TOKEN_HASH_HEX_BYTES]);

/* Read a token from a Sec-WebSocket-Protocol header value (len bytes): a
 * comma-separated list that must contain CHAT_WS_PROTOCOL and one
 * CHAT_WS_BEARER_PREFIX "<token>" entry. Same results as auth_parse_bearer. */
int auth_parse_ws_protocol(const char *hdr, size_t len,
                           char hash_hex[AUTH_TOKEN_HASH_HEX_BYTES]);

#endif

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
 *
 * Passwords are hashed in one Unicode normal form, NFKC (UAX #15, Unicode
 * Normalization Forms), as NIST SP 800-63B section 5.1.1.2 advises for memorized
 * secrets: "Crème" typed as é (U+00E9) or as e + U+0301, or with a full-width
 * letter, is one password. NFKC and not NFC, since compatibility characters
 * (ligatures, full-width forms, superscripts) are what keyboards and input methods
 * differ in; NFKC and not NFKD, since composed text is shorter. utf8proc 2.8.0
 * (Unicode 15.0) computes it, with UTF8PROC_STABLE (no composition that the
 * Unicode stability policy allows to change); a code point that Unicode 15.0 leaves
 * unassigned is kept as it is. The length rules (CHAT_PASSWORD_MIN..MAX bytes)
 * apply to the NFKC form, the secret actually hashed, so that every spelling of
 * one password gets the same answer: "①②③④⑤⑥⑦⑧" (24 bytes) is "12345678" (8).
 *
 * Hashes made before normalisation ("legacy" hashes, of the bytes as typed) still
 * verify: the shell says which kind a stored hash is, a legacy one is verified
 * against the password as typed, and a correct login replaces it with a hash of
 * the NFKC form (api.h, LOGIN_VERIFY), as for a change of argon2id parameters.
 *
 * Usernames are unique without regard to case (the key) and to look-alike
 * characters (the skeleton, UTS #39 section 4, restricted to the username
 * alphabet): auth_username_skeleton.
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

/* The confusable skeleton of a username (len bytes): the name is checked as by
 * auth_check_username (same errors, in the same order), case-folded to ASCII
 * lowercase, then each character is replaced by its prototype in Unicode's
 * confusables.txt (UTS #39 section 4, "skeleton"), restricted to the rows whose
 * source and prototype are both in the username alphabet [A-Za-z0-9_.-]:
 *   0030 "0" -> 004F "O"    0031 "1" -> 006C "l"
 *   0049 "I" -> 006C "l"    006D "m" -> 0072 006E "rn"
 * (The table's other ASCII sources, 0022 ", 0060 ` and 007C |, are not username
 * characters. "vv" for w and "cl" for d are not rows of it: its sources are single
 * characters, and w and d are prototypes only of non-ASCII ones.)
 * Case folding comes first, so a row applies to both cases of its source, with the
 * prototype folded too: "0" -> "o", "i" -> "l" (as "I" -> "l": "aiice" is the same
 * account name as "aIice"). "aIice", "a1ice", "AL1CE" and "alice" share the
 * skeleton "allce"; "amie" and "arnie" share "arnle"; "b0b" and "BOB" share "bob".
 * Two names with one skeleton cannot both be taken (the shell stores it UNIQUE).
 * Writes the skeleton, NUL-terminated, into skel and returns its length in bytes,
 * at most 2 * CHAT_USERNAME_MAX (every "m" doubles). */
#define AUTH_SKELETON_BYTES (2 * CHAT_USERNAME_MAX + 1)
int auth_username_skeleton(const char *name, size_t len, char skel[AUTH_SKELETON_BYTES]);

/* NFKC-normalise a password (len bytes, valid UTF-8 expected) into out
 * (capacity CHAT_PASSWORD_MAX; not NUL-terminated) and store its length in
 * *out_len. No allocation: the work buffer is on the stack
 * (AUTH_NFKD_MAX_CODE_POINTS + 1 code points, about 18 KiB) and zeroed after use, and
 * the time is linear in len. Errors: CHAT_E_PASSWORD_UTF8 (not valid UTF-8, or a NUL
 * byte), CHAT_E_PASSWORD_TOO_LONG (the NFKC form is over CHAT_PASSWORD_MAX bytes);
 * *out_len is then 0. No minimum is checked here (auth_check_password). */
int auth_normalize_password(const char *pw, size_t len, char out[CHAT_PASSWORD_MAX],
                            size_t *out_len);

/* The longest full compatibility decomposition of one code point, in code points
 * (U+FDFA ARABIC LIGATURE SALLALLAHOU ALAYHE WASALLAM; tests/c/test_auth.c checks
 * every code point). An NFKC form of at most CHAT_PASSWORD_MAX bytes has at most as
 * many code points, so its decomposition, which is that of the password as typed,
 * has at most this many times as many: more means too long. */
#define AUTH_NFKD_MAX_EXPANSION 18
#define AUTH_NFKD_MAX_CODE_POINTS (CHAT_PASSWORD_MAX * AUTH_NFKD_MAX_EXPANSION)

/* Check a password's length, on its NFKC form (auth_normalize_password):
 * CHAT_PASSWORD_MIN..CHAT_PASSWORD_MAX bytes of valid UTF-8 with no NUL byte.
 * Errors: CHAT_E_PASSWORD_TOO_SHORT, CHAT_E_PASSWORD_TOO_LONG, CHAT_E_PASSWORD_UTF8. */
int auth_check_password(const char *pw, size_t len);

/* Hash a password with argon2id and a fresh random salt into out, a
 * NUL-terminated "$argon2id$v=19$m=...,t=...,p=1$salt$hash" string (pwhash.h). Returns
 * CHAT_OK, CHAT_E_NOMEM (argon2's memory could not be allocated), CHAT_E_MISUSE
 * (parameters out of libsodium's range) or, in a sliced flow, CHAT_E_PWHASH_PENDING. The
 * password is hashed as given: pass its NFKC form. It is not checked against the
 * rules here. */
int auth_hash_password(const char *pw, size_t len, auth_params p, char out[AUTH_HASH_STR_BYTES]);

/* Verify a password against a stored hash string. hash may be NULL for a user that
 * does not exist: the password is then verified against a built-in dummy hash with
 * the production parameters, so both failures take comparable time, and the
 * answer is CHAT_E_BAD_CREDENTIALS. On success returns CHAT_OK and sets
 * *needs_rehash to 1 when the stored hash was made with parameters other than p.
 * Errors: CHAT_E_BAD_CREDENTIALS (wrong password, unknown user, or a stored hash
 * that cannot be read), CHAT_E_NOMEM, and in a sliced flow CHAT_E_PWHASH_PENDING
 * (pwhash.h: the host runs the hash, then asks again). */
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

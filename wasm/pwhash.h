/*
 * pwhash.h -- argon2id (RFC 9106) in slices: one hash as several calls, so that a
 * host with one thread runs its other work between them.
 *
 * Why: a signup or a login is one argon2id, about 40 ms of CPU in a Worker
 * (CHAT_PWHASH_MEMLIMIT bytes, CHAT_PWHASH_OPSLIMIT passes). Computed in one call
 * it holds the isolate's thread that long, and every other request, socket frame
 * and timer there waits behind it (issue 13: a signup script beside a busy room).
 * argon2 fills its memory in CHAT_PWHASH_OPSLIMIT passes of ARGON2_SYNC_POINTS (4)
 * slices each (RFC 9106 section 3.4); a slice is the natural unit of work, so a
 * hash is PWHASH_SLICES calls of about 5 ms each.
 *
 * The computation is libsodium's own (1.0.18, the functions of its argon2-core.c,
 * with wasm/deps/libsodium-argon2-slice.patch exporting the fill of one slice), so
 * the hashes are byte for byte libsodium's: tests/c/test_pwhash.c checks that a
 * hash made here verifies with crypto_pwhash_str_verify and the reverse. Only
 * "$argon2id$" hashes are sliced; any other stored hash is verified by libsodium in
 * one call.
 *
 * Two modes, chosen by the host for the calls that follow (pwhash_sliced):
 * - inline (the default): pwhash_verify and pwhash_make compute the whole hash
 *   before they return, as crypto_pwhash_str does, touching nothing kept here;
 * - sliced: the first call for a hash begins it as the one job and answers
 *   CHAT_E_PWHASH_PENDING; the host calls pwhash_step() until it answers 0, letting
 *   other work run between calls, then repeats the operation, whose call for the
 *   same hash now finds its result. An operation needing two hashes (a login that
 *   rehashes, a password change) is repeated twice. Results are kept, at most
 *   PWHASH_RESULTS of them, until pwhash_reset().
 *
 * Ownership and bounds: one sliced job at a time (a new one frees the one before:
 * its request was abandoned), so the memory held between calls is one argon2id's,
 * CHAT_PWHASH_MEMLIMIT bytes; the host gives the sliced mode to one request at a
 * time, and any other hashes inline meanwhile. A result is found only by the same
 * request: its key is a BLAKE2b, keyed with a random key of this instance, of the
 * password and what it is checked against. Nothing here keeps the password after
 * pwhash_verify or pwhash_make returns.
 */
#ifndef PWHASH_H
#define PWHASH_H

#include <stddef.h>

#include "auth.h"

/* Slices of one hash with the production parameters. */
#define PWHASH_SLICES (CHAT_PWHASH_OPSLIMIT * 4)
/* Results one flow keeps: a login's verification and its rehash. */
#define PWHASH_RESULTS 2
/* The host's bound on a sliced request that runs no slice: after this long, in ms,
 * it is taken to be abandoned (a client that went away: its request never
 * resumes) and another request may hash in slices. A live one runs its next slice
 * after a 0 ms timer, about 5 ms of work later. */
#define PWHASH_ABANDONED_MS 1000

/* The mode of the calls that follow: sliced (on != 0) or inline (0). Changes
 * nothing else. */
void pwhash_sliced(int on);

/* Forgets the sliced job, if any (freeing its memory), and every result kept. */
void pwhash_reset(void);

/* Runs the next slice of the job. Returns the slices left (> 0), 0 when the hash is
 * done (its result is kept for the repeated call), CHAT_E_MISUSE without a job. */
int pwhash_step(void);

/* Whether `pw` (len bytes) is the password of `encoded` (a NUL-terminated
 * crypto_pwhash string): CHAT_OK, CHAT_E_BAD_CREDENTIALS (wrong, or not a hash we
 * can read), CHAT_E_PWHASH_PENDING (sliced: step, then ask again), CHAT_E_NOMEM. */
int pwhash_verify(const char *encoded, const char *pw, size_t len);

/* A new argon2id hash of `pw` with a random salt, as crypto_pwhash_str_alg, into
 * out: CHAT_OK, CHAT_E_PWHASH_PENDING (sliced), CHAT_E_NOMEM. */
int pwhash_make(const char *pw, size_t len, auth_params p, char out[AUTH_HASH_STR_BYTES]);

#endif

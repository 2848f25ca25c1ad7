/*
 * pwhash.c -- argon2id natively, for `make bench`'s comparison with the same hash
 * in Wasm: times crypto_pwhash_str_alg (argon2id13) with the production limits
 * (CHAT_PWHASH_OPSLIMIT, CHAT_PWHASH_MEMLIMIT, as wasm/auth.c hashes) RUNS times,
 * after one untimed warm-up, and prints one JSON line: the median and every run,
 * in milliseconds (CLOCK_MONOTONIC). build/native/pwhash links build/native/libsodium.a,
 * which the Makefile builds from the same sources as the Wasm one (gcc -O2, portable
 * C: no SIMD variant is configured); pwhash-simd, pwhash-ssse3 and pwhash-debian link
 * libsodium with its SIMD variants (Makefile), the native references of issue 21.
 *
 *   pwhash [RUNS]      (default 9)
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "chat_limits.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void hash_once(void) {
  static const char pw[] = "bench password 1";
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, pw, strlen(pw), CHAT_PWHASH_OPSLIMIT, CHAT_PWHASH_MEMLIMIT,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    fprintf(stderr, "crypto_pwhash_str_alg failed (out of memory?)\n");
    exit(1);
  }
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 9;
  if (runs < 1 || runs > 1000 || sodium_init() < 0) return 2;
  double *ms = calloc((size_t)runs, sizeof *ms);
  if (!ms) return 1;
  hash_once();
  for (int i = 0; i < runs; i++) {
    double t = now_ms();
    hash_once();
    ms[i] = now_ms() - t;
  }
  printf("{\"opslimit\":%d,\"memlimit\":%u,\"runs_ms\":[", CHAT_PWHASH_OPSLIMIT,
         (unsigned)CHAT_PWHASH_MEMLIMIT);
  for (int i = 0; i < runs; i++) printf("%s%.2f", i ? "," : "", ms[i]);
  qsort(ms, (size_t)runs, sizeof *ms, cmp);
  printf("],\"median_ms\":%.2f}\n", ms[runs / 2]);
  free(ms);
  return 0;
}

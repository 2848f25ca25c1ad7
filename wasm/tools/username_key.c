/*
 * username_key.c -- the core's username rule on the command line, for `make admin`:
 * prints the uniqueness key of a username (auth.h auth_check_username), or the
 * rule's message on stderr and exits 2. So the Makefile keeps no copy of the rule,
 * and the key it puts in SQL is made of [a-z0-9_.-] only.
 *
 *   username_key NAME
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "chat_error.h"
#include "chat_limits.h"

int main(int argc, char **argv) {
  char key[CHAT_USERNAME_MAX + 1];
  if (argc != 2) {
    fputs("usage: username_key NAME\n", stderr);
    return 2;
  }
  int rc = auth_check_username(argv[1], strlen(argv[1]), key);
  if (rc < 0) {
    fprintf(stderr, "%s\n", chat_error_message(rc));
    return 2;
  }
  puts(key);
  return 0;
}

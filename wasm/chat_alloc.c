#include "chat_alloc.h"

#include <stdlib.h>

#include "cJSON.h"

static chat_malloc_fn malloc_impl = malloc;
static chat_free_fn free_impl = free;

static size_t failures;

void *chat_malloc(size_t size) {
  void *p = malloc_impl(size ? size : 1);
  if (!p) failures++;
  return p;
}

size_t chat_alloc_failures(void) { return failures; }

void chat_free(void *ptr) {
  if (ptr) free_impl(ptr);
}

void chat_alloc_install(chat_malloc_fn m, chat_free_fn f) {
  malloc_impl = m ? m : malloc;
  free_impl = f ? f : free;
  cJSON_Hooks hooks = {chat_malloc, chat_free};
  cJSON_InitHooks(&hooks);
}

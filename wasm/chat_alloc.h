/*
 * chat_alloc.h -- the one allocation hook of the chat core.
 *
 * Every allocation in the core (and in cJSON, whose hooks are pointed here by
 * chat_alloc_install()) goes through chat_malloc/chat_free. Out-of-memory policy,
 * written down once: an allocation that fails makes the operation return
 * CHAT_E_NOMEM with nothing changed; nothing aborts. Tests swap the allocator to
 * inject failures.
 */
#ifndef CHAT_ALLOC_H
#define CHAT_ALLOC_H

#include <stddef.h>

typedef void *(*chat_malloc_fn)(size_t size);
typedef void (*chat_free_fn)(void *ptr);

/* Allocate size bytes (size 0 allocates 1). NULL when memory is exhausted. */
void *chat_malloc(size_t size);

/* Release memory from chat_malloc. Accepts NULL. */
void chat_free(void *ptr);

/* How many allocations have failed since start-up: lets a caller tell "out of
 * memory" from "bad input" when a library (cJSON) reports both as NULL. */
size_t chat_alloc_failures(void);

/* Use these functions for every later allocation (NULL, NULL restores malloc/free)
 * and point cJSON's hooks at them. Call before any core function; not thread-safe. */
void chat_alloc_install(chat_malloc_fn m, chat_free_fn f);

#endif

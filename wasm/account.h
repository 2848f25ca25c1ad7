/*
 * account.h -- rules of what a person controls about their own account (issue
 * 20): how a session's client is described, and (later in this file) display
 * names and the order of an account's deletion.
 *
 * Pure functions over bytes and facts; no allocation, no clock. Limits are in
 * chat_limits.h. Password changes reuse auth.h's rules (api.h, PASSWORD_CHANGE).
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <stddef.h>

#include "chat_limits.h"

/* Capacity of a client description, including its NUL ("Firefox on Android"). */
#define ACCOUNT_CLIENT_BYTES 48

/* A coarse description of the client behind a User-Agent header value (len bytes,
 * untrusted, any bytes): "<browser> on <system>", "<browser>", "<system>" or
 * "Unknown client", from a fixed list of names (so the description never repeats
 * what the client sent: no version, no device model, nothing that identifies a
 * person). Browsers, first match wins: Edge ("Edg/"), Opera ("OPR/"), Firefox,
 * Chrome ("Chrome/", "CriOS/", "Chromium/"), Safari ("Safari/"), curl, Node.js
 * ("node"); systems: Windows, Android, iOS ("iPhone", "iPad"), ChromeOS ("CrOS"),
 * macOS ("Mac OS X", "Macintosh"), Linux. Only the first CHAT_USER_AGENT_SCAN bytes
 * are read (linear time). Writes a NUL-terminated string into out and returns its
 * length. Never fails. */
size_t account_describe_client(const char *ua, size_t len, char out[ACCOUNT_CLIENT_BYTES]);

#endif

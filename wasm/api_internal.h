/*
 * api_internal.h -- the operations of api.h's table, as the files that implement
 * them share them with the dispatcher (api.c, api_call): api.c (accounts, sockets,
 * the room directory), api_social.c (people: targets, friendships, blocks,
 * conversations, notifications), api_moderation.c (bans, throttling, budgets),
 * api_audit.c (the moderation log's hash chain), api_rooms.c (room membership),
 * api_account.c (what a person
 * controls about their own account: password, sessions, profile, deletion),
 * api_presence.c (who is there: friends' presence, idle sockets), api_search.c
 * (searching across rooms).
 * Each takes the untrusted bytes (in) and the shell's facts (aux) of api_call and
 * fills `out`; returns CHAT_OK or a negative chat_error. Not part of the core's API.
 */
#ifndef API_INTERNAL_H
#define API_INTERNAL_H

#include <stddef.h>

#include "cJSON.h"

int api_op_user_target(const unsigned char *in, size_t len, cJSON *out);
int api_op_social(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_dm_check(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_dm_config(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_dms_page(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_notify_check(const unsigned char *in, size_t len, const unsigned char *aux, size_t aux_len, cJSON *out);

int api_op_friends_online(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_presence_tell(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_idle(const unsigned char *aux, size_t aux_len, double now, cJSON *out);
int api_op_attachment_check(const unsigned char *in, size_t len, const unsigned char *aux, size_t aux_len,
                            cJSON *out);
int api_op_attachment_access(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_search_query(const unsigned char *in, size_t len, cJSON *out);
int api_op_search_merge(const unsigned char *aux, size_t aux_len, cJSON *out);

int api_op_mod_request(const unsigned char *in, size_t len, cJSON *out);
int api_op_moderate(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_budget(const unsigned char *aux, size_t aux_len, double now, cJSON *out);
int api_op_throttle(const unsigned char *aux, size_t aux_len, double now, cJSON *out);

int api_op_audit_link(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_audit_verify(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_membership(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_members_query(const unsigned char *in, size_t len, cJSON *out);
int api_op_mention_check(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_profile_reaches(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_relay_route(const unsigned char *aux, size_t aux_len, cJSON *out);
int api_op_room_activity(const unsigned char *aux, size_t aux_len, cJSON *out);

int api_op_password_change(const unsigned char *in, size_t len, const unsigned char *aux,
                           size_t aux_len, cJSON *out);
int api_op_client_describe(const unsigned char *in, size_t len, cJSON *out);
int api_op_account_delete(const unsigned char *in, size_t len, const unsigned char *aux, size_t aux_len,
                          double now, cJSON *out);
int api_op_profile(const unsigned char *in, size_t len, const unsigned char *aux, size_t aux_len, cJSON *out);

#endif

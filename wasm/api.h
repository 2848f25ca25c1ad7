/*
 * api.h -- the request dispatcher of the chat core: bytes in, bytes out.
 *
 * The shell calls api_call() with an operation number, the untrusted bytes it
 * received (a request body or a header value) in `in`, facts it looked up itself
 * (a stored hash, a user row) as a JSON object in `aux`, and the current time.
 * The core answers with one JSON value in `out`, or a negative chat_error code.
 * It performs no I/O: what the shell must do next (insert this user, store this
 * session hash) is in the answer.
 *
 * Ownership: the caller owns in, aux and out; the core keeps no pointer to them
 * after the call. Output: at most `cap` bytes are written; when the answer is
 * longer, CHAT_E_BUFFER_TOO_SMALL is returned with the length needed in *out_len
 * and the caller may call again with a larger buffer (operations that draw random
 * bytes then draw new ones). On any error nothing observable has changed.
 *
 * Operations (numbers are part of the Wasm ABI: append, never renumber):
 *
 *   op                      in                       aux                        out
 *   CHAT_OP_SIGNUP          body {username,password} -                          {"username","username_key",
 *                                                                               "username_skeleton",
 *                                                                               "password_hash"}
 *   CHAT_OP_SIGNUP_CHECK    body {username,password} -                          {"username_key",
 *                                                                               "username_skeleton"}: the
 *                                                                               rules of SIGNUP, without
 *                                                                               hashing
 *   CHAT_OP_LOGIN_BEGIN     body {username,password} -                          {"username_key"}
 *   CHAT_OP_LOGIN_VERIFY    body {username,password} {"password_hash":s|null,   {"rehash":s|null,
 *                                                    "password_nfkc":bool}      "username_skeleton"}
 *   CHAT_OP_SESSION_NEW     -                        -                          {"token","token_hash","expires_at"}
 *   CHAT_OP_BEARER          Authorization value      -                          {"token_hash"}
 *   CHAT_OP_WS_PROTOCOL     Sec-WebSocket-Protocol   -                          {"token_hash","protocol"}
 *   CHAT_OP_CONNECTION      -                        {"id","username","role"}   the `connection` frame
 *   CHAT_OP_USER_FRAME      a frame from a personal  - (or {"bucket","flood":   the reply frame (or
 *                           socket                   {tokens,last_ms,started}    {"reply": frame text,
 *                                                    |null}: the user's rate     "bucket", "flood",
 *                                                    and flood buckets)          "close"?: {code, reason}}:
 *                                                                               rate_limited past CHAT_RATE_*,
 *                                                                               closed past CHAT_FLOOD_*)
 *   CHAT_OP_ROOM_CREATE     body {name, private?}    -                          {"name","name_key",
 *                                                                               "private"?: true}
 *   CHAT_OP_ROOMS_QUERY     query string of GET      -                          {"limit","cursor":{"activity","id"}|null,
 *                           /rooms: limit=K&cursor=C                            "mine": bool, "prefix": the name
 *                           &mine=1&q=P                                         key of P (percent-decoded,
 *                                                                               ASCII letters lowercased)|null}
 *   CHAT_OP_ROOMS_PAGE      -                        {"limit", "rows": [{id,    {"rooms":[{id,name,creator:{id,
 *                                                    name,created_at,           username},created_at,
 *                                                    last_activity_at,          last_activity_at}],
 *                                                    creator_id,                "next_cursor": "A.I"|null}
 *                                                    creator_username}]}
 *                                                    (limit + 1 rows at most,
 *                                                    newest activity first)
 *
 * Frames (protocol table: PROTOCOL.md) are JSON objects with a string "type" and
 * an optional string "ref" that replies echo. A bad frame is not an error of the
 * call: the answer is then an error frame {"type":"error","code","message","ref"?}.
 *
 *   CHAT_OP_USER_TARGET     body {username}          -                          {"username_key"}; a name that
 *                                                                               breaks the rules is
 *                                                                               user_not_found
 *   CHAT_OP_SOCIAL          -                        {"action": add|remove|     {"state","i_block",
 *                                                    block|unblock, "me","them" "they_block","dm_open",
 *                                                    ({id,username}; them null  "blocks_changed",
 *                                                    if unknown), "state",      "tell": frame text|null}
 *                                                    "i_block","they_block"}    (social.h)
 *   CHAT_OP_DM_CHECK        -                        {"them" (null if unknown), {"open": true}, or
 *                                                    "state","i_block",          not_friends /
 *                                                    "they_block"}               user_not_found /
 *                                                                               cannot_target_self
 *   CHAT_OP_DM_CONFIG       -                        {"members": [a, b],        {"kind":"dm","members":[a,b],
 *                                                    "state","i_block",         "open": bool}: what the
 *                                                    "they_block"} (either's    conversation's room is
 *                                                    view of the relation)      (room.h ROOM_CONFIG;
 *                                                                               social_dm_open)
 *   CHAT_OP_MOD_REQUEST     body {username, ip?,     -                          {"username_key","ip":bool,
 *                           reason?}                                            "reason":s|null}
 *   CHAT_OP_MODERATE        -                        {"action": ban|unban|      {"ok":true} or the errors
 *                                                    promote|view,              of moderation_decide;
 *                                                    "actor":{id,role},         user_not_found
 *                                                    "target":{id,role,banned}  ("view": no target)
 *                                                    |null}
 *   CHAT_OP_THROTTLE        -                        {"step": check|fail|       check: {"allowed","retry_after_ms"}
 *                                                    reserve|success,           fail: {"user":{...},"ip":{...}}
 *                                                    "user":{count,             (the counters to store)
 *                                                    window_start},"ip":{...},  reserve: {"allowed",
 *                                                    "ip_window": ms (success   "retry_after_ms","user","ip"}
 *                                                    only)}                     success: {"user","ip"}
 *   CHAT_OP_DMS_PAGE        -                        {"viewer":{"id","blocks":  {"conversations":[{id,with:
 *                                                    [ids]},"rows":[{id,        {id,username},last_message:
 *                                                    with_id,with_username,     {seq,at,user_id,body}|null,
 *                                                    last_seq|null,last_at,     unread}]}
 *                                                    last_user_id,last_body,
 *                                                    unread}]}
 *   CHAT_OP_BUDGET          -                        {"budget": name, and       {"allowed": true, and for a
 *                                                    "counter":{count,          rate "counter" (to store) and
 *                                                    window_start} and          "ceiling" (the count its
 *                                                    "scale"? (>= 1) for a      window may reach)}, or
 *                                                    rate, "held": n for a      {"allowed": false, "budget",
 *                                                    count} (budget.h)          "limit", "retry_after_ms":
 *                                                                               n|null} (budget.h)
 *   CHAT_OP_NOTIFY_CHECK    a frame the core made    {"blocks": [ids]}: whom    {"deliver": bool}
 *                           for a personal socket    that socket's user blocks
 *                           (its author in "user")
 *   CHAT_OP_AUDIT_LINK      -                        {"prev": hex|null, "row":  {"hash": hex}: the hash a
 *                                                    {id,action,target_id,      new moderation_log row
 *                                                    actor_id,reason,ip,ips,    carries (audit.h)
 *                                                    created_at}}
 *   CHAT_OP_AUDIT_VERIFY    -                        {"state"|null, "anchor"?,  {"ok":false,"broken_at","why"},
 *                                                    "rows": [row JSON texts],  {"ok":true,"state"} (pass it
 *                                                    "end": bool}: one page of  back with the next page), or
 *                                                    moderation_log in id       {"ok":true,"rows","head",
 *                                                    order (audit.h)            "head_id"}
 *
 *   CHAT_OP_PASSWORD_CHANGE body {current, new}      - (check only: {"ok":     {"password_hash"}: a hash of
 *                                                    true}), or the stored      new's NFKC form; new obeys
 *                                                    {"password_hash",          the signup rules (checked
 *                                                    "password_nfkc"}           before current is verified);
 *                                                                               a wrong current is
 *                                                                               wrong_password
 *   CHAT_OP_CLIENT_DESCRIBE User-Agent value         -                          {"client": "Firefox on
 *                                                                               Linux"} (account.h)
 *   CHAT_OP_PROFILE         body {display_name:      {"id","username"}: the     {"display_name": s|null (its
 *                           s|null}                  user                       NFKC form, account.h; null
 *                                                                               clears it), "frame": the
 *                                                                               user_updated frame's text}
 *
 *   CHAT_OP_MEMBERSHIP      -                        {"action": join|leave|     {"user_id" (whose standing
 *                                                    invite|kick|view,          changes: the actor, or the
 *                                                    "room":{id,name,private,   target of invite and kick),
 *                                                    owner,members (counting    "standing": none|invited|
 *                                                    invitations)},"actor":     member, "close": bool (their
 *                                                    {id,username,role,         sockets in the room close),
 *                                                    standing},"target":{id,    "tell": room_invite frame
 *                                                    username,standing}|null    text|null (for the target's
 *                                                    (invite, kick)}            personal sockets)}; the
 *                                                                               refusals of room_rules.h
 *                                                                               (user_not_found: no target)
 *   CHAT_OP_MEMBERS_QUERY   query string of GET      -                          {"limit","after":n|null}
 *                           /rooms/:id/members:
 *                           limit=K&after=U (1..CHAT_MEMBERS_PAGE_MAX, default CHAT_MEMBERS_PAGE)
 *   CHAT_OP_MENTION_CHECK   -                        {"room_id","seq","person", {"reaches": bool, "frame":
 *                                                    "from":{id,username},      the mention frame's text
 *                                                    "member",                  |null} (room_mention_reaches)
 *                                                    "blocks_author"}
 *   CHAT_OP_ROOM_ACTIVITY   -                        {"room_id","last_seq",     the room_activity frame
 *                                                    "unread","mentions"}
 *   CHAT_OP_PROFILE_REACHES -                        {"conversation": bool,     {"reaches": bool}
 *                                                    "member": bool,            (room_profile_reaches)
 *                                                    "sockets": n}
 *   CHAT_OP_RELAY_ROUTE     -                        {"conversation": bool,     {"relay": j (0..CHAT_RELAYS
 *                                                    "user_id", "sockets" (open - 1) | null (the object
 *                                                    now), "from"?: n >= 1      holds the socket)}
 *                                                    (tests)}                   (room_relay_for)
 *
 *   CHAT_OP_ACCOUNT_DELETE  body {password}          {"password_hash",          {"steps": [names, in order:
 *                                                    "password_nfkc",           account.h ACCOUNT_DELETION_
 *                                                    "user": {id}}              STEPS], "tombstone",
 *                                                    (check only: none)         "release_at": now_ms +
 *                                                                               CHAT_USERNAME_RELEASE_MS};
 *                                                                               a wrong password is
 *                                                                               wrong_password (the rooms
 *                                                                               make account_deleted:
 *                                                                               room.h ROOM_ERASE)
 *
 *   CHAT_OP_FRIENDS_ONLINE  -                        {"rows": [{"id",           {"online": [ids], "frame":
 *                                                    "friends","i_block",       the friends_presence frame's
 *                                                    "they_block","online"}]}   text}: those online whose
 *                                                    (my friends, my view;      presence I am shown
 *                                                    at most CHAT_FRIENDS_MAX)  (social_shows_presence)
 *   CHAT_OP_PRESENCE_TELL   -                        {"user_id","online": bool, {"to": [ids], "frame": the
 *                                                    "rows": [{"id","friends",  friend_presence frame's
 *                                                    "i_block","they_block"}]}  text}: whom a change of
 *                                                    (the user's friends)       user_id's presence is told
 *   CHAT_OP_IDLE            -                        {"heard": [ms, one a       {"idle": [indexes into
 *                                                    socket], "scale"?: n}      heard], "check_at": ms|null
 *                                                                               (when the first of the others
 *                                                                               becomes idle)} (liveness.h)
 *   CHAT_OP_ATTACHMENT_     the file's first bytes   {"name": X-File-Name       {"id": new, "type": media
 *     CHECK                 (CHAT_SNIFF_BYTES, or    as sent | null, "size":    type from the bytes,
 *                           all of a shorter file)   Content-Length | null}     "image", "width"?, "height"?,
 *                                                                               "size", "name": cleaned}
 *                                                                               (attachment.h); length_
 *                                                                               required, attachment_too_
 *                                                                               large, attachment_invalid,
 *                                                                               attachment_mismatch, image_
 *                                                                               invalid, image_too_large
 *   CHAT_OP_ATTACHMENT_     -                        {"user", "kind": "room"|   {} when the user may upload
 *     ACCESS                                         "dm", "member": bool,      and fetch files there, else
 *                                                    "members"?: [a, b],        not_member (a room's files
 *                                                    "open"?: bool}             are its members', a
 *                                                                               conversation's its two);
 *                                                                               dm_closed when "open" is
 *                                                                               false (an upload to a
 *                                                                               conversation a block closed)
 *
 *   CHAT_OP_SEARCH_QUERY    query string "q=...&     -                          {"limit": K, "query": "q=<q
 *                           limit=K" of GET /search                             as sent>&limit=K", what each
 *                                                                               room is asked}: q checked as
 *                                                                               search.h reads it; "before"
 *                                                                               refused (a room's seq);
 *                                                                               query_invalid
 *   CHAT_OP_SEARCH_MERGE    -                        {"limit": K, "pages":      {"results": the K newest of
 *                                                    [rooms' search pages],     all pages, each with its
 *                                                    "skipped": [{room_id} |    room_id or conversation_id,
 *                                                    {conversation_id}]}        "has_more", "skipped"}
 *
 * THROTTLE's login attempt (moderation.h): "reserve" counts it against both
 * counters before the password is verified, or refuses it (allowed false, the
 * counters unchanged); "success" gives the counters after a correct password, with
 * "ip_window" the ip window_start that "reserve" answered. The shell stores what
 * each answers with a compare-and-swap on what it read, and asks again with fresh
 * counters when it lost a race.
 *
 * DMS_PAGE and NOTIFY_CHECK apply social_shows (social.h): a conversation's last
 * message by someone the viewer blocks is null, and its unread count 0 when the
 * viewer blocks the other person (every unread message there is theirs); a frame
 * whose author the user blocks is not delivered.
 *
 * LOGIN_VERIFY's aux may say "banned": true: after a correct password the answer
 * is then CHAT_E_BANNED (only the account's owner learns it is banned).
 *
 * Passwords (auth.h): SIGNUP hashes the NFKC form of the password, and its length
 * rules apply to that form. LOGIN_VERIFY's "password_nfkc" says whether the stored
 * hash is of that form (true, or absent) or of the password as typed (false: a
 * hash made before normalisation); such a legacy hash that verifies is answered
 * with a "rehash" of the NFKC form, as is a hash made with other argon2id
 * parameters. The shell stores a rehash as a hash of the NFKC form.
 *
 * Usernames (auth.h): "username_skeleton" is the name's confusable skeleton; the
 * shell refuses a signup whose skeleton is taken (username_taken) and stores it
 * UNIQUE beside the key. LOGIN_VERIFY gives it so that rows made before skeletons
 * existed get theirs at their owner's next login.
 *
 * expires_at is in ms since the Unix epoch (now_ms + CHAT_SESSION_TTL_MS).
 */
#ifndef API_H
#define API_H

#include <stddef.h>

#define CHAT_OPS(X)                 \
  X(CHAT_OP_SIGNUP, 1, "signup")              \
  X(CHAT_OP_LOGIN_BEGIN, 2, "login_begin")    \
  X(CHAT_OP_LOGIN_VERIFY, 3, "login_verify")  \
  X(CHAT_OP_SESSION_NEW, 4, "session_new")    \
  X(CHAT_OP_BEARER, 5, "bearer")              \
  X(CHAT_OP_WS_PROTOCOL, 6, "ws_protocol")    \
  X(CHAT_OP_CONNECTION, 7, "connection")      \
  X(CHAT_OP_USER_FRAME, 8, "user_frame")      \
  X(CHAT_OP_ROOM_CREATE, 9, "room_create")    \
  X(CHAT_OP_ROOMS_QUERY, 10, "rooms_query")  \
  X(CHAT_OP_SIGNUP_CHECK, 11, "signup_check")  \
  X(CHAT_OP_ROOMS_PAGE, 12, "rooms_page")    \
  X(CHAT_OP_USER_TARGET, 13, "user_target")  \
  X(CHAT_OP_SOCIAL, 14, "social")            \
  X(CHAT_OP_DM_CHECK, 15, "dm_check")        \
  X(CHAT_OP_MOD_REQUEST, 16, "mod_request")  \
  X(CHAT_OP_MODERATE, 17, "moderate")        \
  X(CHAT_OP_THROTTLE, 18, "throttle")            \
  X(CHAT_OP_DMS_PAGE, 21, "dms_page")        \
  X(CHAT_OP_NOTIFY_CHECK, 22, "notify_check") \
  X(CHAT_OP_BUDGET, 23, "budget")            \
  X(CHAT_OP_DM_CONFIG, 24, "dm_config")      \
  X(CHAT_OP_AUDIT_LINK, 30, "audit_link")    \
  X(CHAT_OP_AUDIT_VERIFY, 31, "audit_verify") \
  X(CHAT_OP_MEMBERSHIP, 50, "membership")    \
  X(CHAT_OP_MEMBERS_QUERY, 51, "members_query") \
  X(CHAT_OP_MENTION_CHECK, 52, "mention_check") \
  X(CHAT_OP_ROOM_ACTIVITY, 53, "room_activity") \
  X(CHAT_OP_PROFILE_REACHES, 54, "profile_reaches") \
  X(CHAT_OP_RELAY_ROUTE, 55, "relay_route") \
  X(CHAT_OP_PASSWORD_CHANGE, 40, "password_change") \
  X(CHAT_OP_CLIENT_DESCRIBE, 41, "client_describe") \
  X(CHAT_OP_PROFILE, 42, "profile") \
  X(CHAT_OP_ACCOUNT_DELETE, 43, "account_delete") \
  X(CHAT_OP_FRIENDS_ONLINE, 60, "friends_online") \
  X(CHAT_OP_PRESENCE_TELL, 61, "presence_tell") \
  X(CHAT_OP_IDLE, 62, "idle") \
  X(CHAT_OP_ATTACHMENT_CHECK, 70, "attachment_check") \
  X(CHAT_OP_ATTACHMENT_ACCESS, 71, "attachment_access") \
  X(CHAT_OP_SEARCH_QUERY, 80, "search_query") \
  X(CHAT_OP_SEARCH_MERGE, 81, "search_merge")

typedef enum {
#define CHAT_OP_ENUM(sym, num, name) sym = (num),
  CHAT_OPS(CHAT_OP_ENUM)
#undef CHAT_OP_ENUM
} chat_op;

/* Initialise the core (libsodium). Returns CHAT_OK or CHAT_E_CRYPTO. Idempotent. */
int api_init(void);

/* Carry out one operation; see the table above. Returns the number of bytes
 * written to out (also stored in *out_len), or a negative chat_error. */
int api_call(int op, const unsigned char *in, size_t in_len, const unsigned char *aux,
             size_t aux_len, double now_ms, unsigned char *out, size_t cap, size_t *out_len);

#endif

/*
 * chat_limits.h -- every limit of the chat core, in one place.
 *
 * Each constant names its unit and where its number comes from. TypeScript never
 * copies these by hand: wasm/tools/gen_protocol.c prints them into
 * worker/generated/core.ts at build time, and the Worker, the Durable Objects
 * and the web client import them from there.
 */
#ifndef CHAT_LIMITS_H
#define CHAT_LIMITS_H

/* A limit's number as a string literal, for sentences built from it (the error
 * messages of chat_error.h): CHAT_STR(CHAT_REF_MAX) is "64". */
#define CHAT_STR_(x) #x
#define CHAT_STR(x) CHAT_STR_(x)

/* Usernames: ASCII letters, digits, '_', '-', '.'; length in bytes (= characters,
 * the alphabet is ASCII). Unique without regard to ASCII case. Issue #2. */
#define CHAT_USERNAME_MIN 3
#define CHAT_USERNAME_MAX 32

/* Passwords: valid UTF-8, length in bytes of the password's NFKC form, the form
 * that is hashed (auth.h), so that every spelling of one password gets the same
 * answer. 8 is NIST SP 800-63B 5.1.1.2's minimum
 * for memorized secrets; the maximum of 256 bounds the work an anonymous request
 * can ask of argon2id while leaving room for passphrases (OWASP Authentication
 * Cheat Sheet: allow at least 64 characters). Issues #2 and #12. */
#define CHAT_PASSWORD_MIN 8
#define CHAT_PASSWORD_MAX 256

/* argon2id cost, libsodium crypto_pwhash_str(). OWASP Password Storage Cheat
 * Sheet, "Argon2id": m = 19 MiB, t = 2, p = 1 (libsodium is always p = 1).
 * 19 MiB fits the 128 MB memory of a Workers isolate with room to spare
 * (Cloudflare Workers limits: "Memory 128 MB"), and two passes take well under
 * the default 30 s CPU limit of a paid Worker. Memory in bytes, ops in passes. */
#define CHAT_PWHASH_OPSLIMIT 2
#define CHAT_PWHASH_MEMLIMIT (19u * 1024u * 1024u)

/* Session tokens: 256 random bits (OWASP Session Management Cheat Sheet asks for
 * at least 64 bits of entropy), sent as 43 characters of unpadded base64url
 * (RFC 4648 section 5). Stored only as the hex of their BLAKE2b-256 hash. */
#define CHAT_SESSION_TOKEN_BYTES 32
#define CHAT_SESSION_TOKEN_CHARS 43
#define CHAT_SESSION_HASH_BYTES 32

/* Session lifetime in milliseconds: 30 days, then the user logs in again. */
#define CHAT_SESSION_TTL_MS (30.0 * 24 * 60 * 60 * 1000)

/* Largest HTTP request body the Worker reads, in bytes: the biggest legitimate
 * body (a 256-byte password and a username in JSON) is far below it. Issue #2. */
#define CHAT_HTTP_BODY_MAX_KIB 16
#define CHAT_HTTP_BODY_MAX (CHAT_HTTP_BODY_MAX_KIB * 1024)

/* Largest WebSocket frame the core reads, in bytes: 32 KiB (issue #3), far above
 * the largest legitimate frame (a 4000-character message is at most 16 000 bytes
 * of UTF-8) and far below the 1 MiB a Workers WebSocket message may carry
 * (Cloudflare Workers limits). */
#define CHAT_FRAME_MAX_KIB 32
#define CHAT_FRAME_MAX (CHAT_FRAME_MAX_KIB * 1024)

/* ---- CPU-heavy input (issue #13) ----
 * Every JSON document the core reads (frames, request bodies, the shell's facts)
 * goes through json_in.h, which refuses one past these with bad_json before any
 * rule looks at it, so that reading any document costs time linear in its size
 * (make callgrind measures a worst-case frame against a plain message). RFC 8259
 * section 9 lets a parser "set limits on the maximum depth of nesting" and "on the
 * length and character contents of strings". */

/* Members in one JSON object, at any depth. The largest object the core reads has
 * 8 (a row of the conversation list, CHAT_OP_DMS_PAGE); 32 leaves room to grow. It
 * bounds the duplicate-name check of each object (a hash set of at most 32 names).
 * Anchor: PHP's max_input_vars (1000 by default) came the same way, after the
 * "hash flooding" denial of service of 28C3 (2011; oCERT-2011-003). */
#define CHAT_JSON_MEMBERS_MAX 32

/* Levels of nested objects and arrays in one JSON document, the outermost counting
 * as 1. The deepest documents the core reads have 3 ({"rows":[{...}]}, a restored
 * socket's {"user":{"blocks":[...]}}), the deepest frame it makes 5 (a batch of
 * messages: batch, frames, a frame, its message, its author). cJSON recurses once
 * per level, so this also bounds the Wasm stack a document can take. */
#define CHAT_JSON_DEPTH_MAX 16

/* Longest member name (key), in bytes of UTF-8 once its escapes are read. Ours
 * have at most 17 ("username_skeleton"); the cap bounds the cost of hashing and
 * comparing names. */
#define CHAT_JSON_KEY_MAX 64

/* Longest `ref` (a client's correlation id, echoed in replies), in bytes. */
#define CHAT_REF_MAX 64

/* The WebSocket subprotocol of this protocol version; a client offers it, with its
 * session token as a second entry "bearer.<token>" (browsers cannot set an
 * Authorization header on a WebSocket; RFC 6455 section 4.1 lets the client list
 * subprotocols, and the server echoes the one it picked). */
#define CHAT_WS_PROTOCOL "chat.v1"
#define CHAT_WS_BEARER_PREFIX "bearer."

/* ---- rooms (issue #3) ---- */

/* Room names: 1..64 code points of UTF-8 without control characters or leading or
 * trailing whitespace; unique without regard to ASCII case (non-ASCII letters are
 * compared as written: case folding all of Unicode needs tables the core does not
 * carry). */
#define CHAT_ROOM_NAME_MAX 64

/* Message bodies: 1..4000 code points of UTF-8, not only whitespace (issue #3). */
#define CHAT_MESSAGE_MAX 4000

/* client_id: 1..64 bytes of [A-Za-z0-9_-] (a UUID fits), chosen by the sender so a
 * retried send is stored once. */
#define CHAT_CLIENT_ID_MAX 64

/* Messages in one history page, on join and over HTTP (issue #3). */
#define CHAT_HISTORY_PAGE 50

/* Rooms in one page of GET /rooms: default and largest. */
#define CHAT_ROOMS_PAGE 50
#define CHAT_ROOMS_PAGE_MAX 100

/* ---- membership (issue 15) ---- */

/* People one room may hold as members, invitations counted: as many as the
 * sockets a room may hold at once (CHAT_ROOM_CONNS_MAX), so that every member
 * can be there together. */
#define CHAT_ROOM_MEMBERS_MAX 10000

/* Members in one page of GET /rooms/:id/members: default and largest. */
#define CHAT_MEMBERS_PAGE 100
#define CHAT_MEMBERS_PAGE_MAX 500

/* The name prefix of a directory search (GET /rooms?q=), in bytes once
 * percent-decoded: a room name's longest UTF-8 (CHAT_ROOM_NAME_MAX code points of
 * at most 4 bytes). */
#define CHAT_ROOM_SEARCH_MAX (4 * CHAT_ROOM_NAME_MAX)

/* WebSocket close code when a room's owner or an ADMIN removes a member (a kick):
 * 4004, in the application range of RFC 6455 section 7.4.2, next to the ban's
 * 4003. The client leaves the room and does not reconnect. */
#define CHAT_CLOSE_REMOVED 4004

/* Distinct people one message may mention (@username): those past it are not
 * told. Slack and Discord put no hard number on it; 20 covers a team's roll call,
 * and bounds the lookups one message costs the room. */
#define CHAT_MENTIONS_MAX 20

/* How often a room tells its members who are not looking that it has new messages
 * (room_activity on their personal sockets), at most, in ms: once a second per
 * room whatever its rate, so a busy room's fan-out to personal sockets is its
 * members once a second, not once per message. */
#define CHAT_ROOM_ACTIVITY_MS 1000

/* The newest messages a member's unread and mention counts look at: a count is of
 * the messages after their marker among the room's last 1 000 (a range of seqs,
 * which are gap-free, so counting costs at most this many rows on the room's
 * thread, however long the history behind a marker of someone who never read the
 * room). A room further behind shows 1 000 at most, "999+" in the client, as
 * Slack's and Discord's badges stop counting. */
#define CHAT_UNREAD_COUNT_MAX 1000

/* How long a room leaves out of its room_activity a member whose hub said they had
 * no personal socket, in ms: a room of 10 000 members, most of them away, would
 * otherwise count and send for each of them every second it is busy. The member is
 * told again once their client lists their rooms (GET /rooms?mine=1 asks each
 * room for their counts: the web client does at connect and every 15 s), or after
 * this long. */
#define CHAT_ACTIVITY_AWAY_MS 300000

/* Typing indicators (issue 15): a user's typing frames reach the room at most once
 * per CHAT_TYPING_INTERVAL_MS (2 s; those between are dropped, not refused), and a
 * client shows one for CHAT_TYPING_EXPIRES_MS (6 s) unless it is renewed: three
 * renewals' worth, so one lost frame does not make it flicker (Slack's indicator
 * works the same way). Never stored. */
#define CHAT_TYPING_INTERVAL_MS 2000
#define CHAT_TYPING_EXPIRES_MS 6000

/* ---- edits, replies, reactions (issue 16) ---- */

/* Earlier bodies of one message its room keeps (message_edits), the newest ones:
 * an edit past this drops the oldest. Slack and Discord show only "(edited)";
 * Zulip keeps every version. Ten bounds a message's storage to eleven bodies
 * whatever its author does. */
#define CHAT_EDIT_HISTORY_MAX 10

/* The quote a reply carries: the first 120 code points of the original's body
 * (about a line of text), as it is now (edited or deleted, the quote follows). */
#define CHAT_REPLY_EXCERPT_MAX 120

/* Distinct reactions (emoji) on one message: Mattermost's default
 * UniqueEmojiReactionLimitPerPost, 50. */
#define CHAT_REACTIONS_DISTINCT_MAX 50

/* Reactions one person may put on one message. Slack lets a member add up to 23;
 * 20 is as generous and a round number. */
#define CHAT_REACTIONS_PER_USER_MAX 20

/* One reaction: 1..10 code points and at most 40 bytes of UTF-8, none of them
 * whitespace (Unicode White_Space), a control character (general category Cc) or
 * a bidirectional formatting character (UAX #9: U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069). The longest of Unicode's emoji ZWJ sequences (UTS #51,
 * emoji-zwj-sequences.txt) is a kiss with two skin tones: 10 code points, 35
 * bytes (a family of four is 7 code points). */
#define CHAT_REACTION_CODEPOINTS_MAX 10
#define CHAT_REACTION_BYTES_MAX 40

/* ---- attachments (issue 17) ---- */

/* Files one message may carry: Discord's 10. */
#define CHAT_ATTACHMENTS_MAX 10

/* Largest file, in bytes: 10 MiB (Discord's limit for an account without a
 * subscription was 8, then 10 MB); far below what R2 takes in one PUT (5 GiB). */
#define CHAT_ATTACHMENT_MIB_MAX 10
#define CHAT_ATTACHMENT_BYTES_MAX (CHAT_ATTACHMENT_MIB_MAX * 1024 * 1024)

/* How much of a file's beginning decides its type and an image's size, in bytes:
 * a JPEG's frame header (SOFn) may follow EXIF and other segments of up to 64 KiB
 * each; 256 KiB holds it in every photo we met, and a file whose header is not in
 * it is refused (image_invalid). The upload keeps only this much in memory. */
#define CHAT_SNIFF_BYTES (256 * 1024)

/* Images: at most 16 384 pixels a side (the WebP format's own limit is 16 383)
 * and 89 478 485 pixels in all, Pillow's MAX_IMAGE_PIXELS, the threshold of its
 * DecompressionBombError: a small file that would decode to gigabytes is
 * refused (image_too_large) before any client decodes it. */
#define CHAT_IMAGE_SIDE_MAX 16384
#define CHAT_IMAGE_PIXELS_MAX 89478485.0

/* A stored file name, in bytes of UTF-8 once cleaned: 255, the longest name
 * ext4, NTFS and APFS accept, so a download keeps its name. */
#define CHAT_FILE_NAME_MAX 255

/* An attachment's id: 16 random bytes as 32 lowercase hex digits. */
#define CHAT_ATTACHMENT_ID_BYTES 16

/* Reconnecting (issue 21): clients (the web client, the bots, the k6 scripts)
 * wait a random time between 0 and min(CHAT_RECONNECT_CAP_MS, CHAT_RECONNECT_BASE_MS
 * x 2^attempt) before each attempt: "full jitter", which of the strategies in the
 * AWS Architecture Blog's "Exponential Backoff and Jitter" (2015) spreads a herd of
 * clients the most, so a deploy's reconnect storm arrives spread over seconds, not
 * at once. In ms. */
#define CHAT_RECONNECT_BASE_MS 500
#define CHAT_RECONNECT_CAP_MS 10000

/* Per-user rate limit in a room, a token bucket over every frame the user sends:
 * bursts of 20, 5 a second sustained. No standard exists; this is well above what a
 * person types (a fast typist sends about one message a second) and what a client
 * retrying its pending messages after a reconnect needs (a burst). */
#define CHAT_RATE_BURST 20
#define CHAT_RATE_PER_SECOND 5

/* A frame costs one token of that rate per started CHAT_FRAME_TOKEN_BYTES bytes:
 * reading a frame takes time in proportion to its bytes (make callgrind: a
 * worst-case 32 KiB frame is some 14 million instructions), so a sender of big
 * frames gets proportionally fewer of them, and one of more than a token's worth
 * that the rate cannot pay is refused before it is read. Every message of up to
 * about 1 300 characters costs one token; the longest, at most four. */
#define CHAT_FRAME_TOKEN_BYTES 4096

/* Flood: each refused frame takes a token from a second bucket (30, refilling 1 a
 * second); when it is empty the socket is closed with 1008 "policy violation"
 * (RFC 6455 section 7.4.1). A client that backs off when told is never closed. */
#define CHAT_FLOOD_BURST 30
#define CHAT_FLOOD_PER_SECOND 1

/* WebSocket close code for a flooding client (RFC 6455 section 7.4.1). */
#define CHAT_CLOSE_POLICY 1008

/* Users one person may block: bounds the facts a room keeps per user and the block
 * list every socket of theirs carries; past it, block answers limit_reached
 * (budget.h). 1 000, as many as Discord's friend limit below: more than anyone
 * blocks by hand, and a room's per-user facts stay small. */
#define CHAT_BLOCKS_MAX 1000

/* ---- budgets: what one client may make the service hold or do (issue 13,
 * budget.h; PROTOCOL.md "Limits") ---- */

/* The window of every rate budget below, in ms: one hour. */
#define CHAT_BUDGET_WINDOW_MS (60.0 * 60 * 1000)

/* Accounts made from one address per hour. OWASP's Automated Threats handbook
 * (OAT-019 Account Creation) asks for a per-address rate on signups; Synapse's
 * default registration rate is a burst of 3 then one every ~6 s per address
 * (rc_registration). 10 an hour lets a family or a classroom behind one address
 * sign up and stops a script after 10 argon2id hashes. */
#define CHAT_SIGNUPS_PER_ADDRESS 10

/* Rooms made per hour by one account, and from one address. */
#define CHAT_ROOMS_PER_ACCOUNT 10
#define CHAT_ROOMS_PER_ADDRESS 30

/* Friend actions that tell someone (a request, accepting, declining, cancelling,
 * removing) per account per hour: each one reaches the other person's screen, so
 * cycling requests cannot become a notification flood. */
#define CHAT_FRIEND_ACTIONS 60

/* Room invitations one account may send per hour: each one reaches the invitee's
 * screen (room_invite), so inviting and removing someone in a loop cannot become a
 * notification flood, as friend actions cannot. */
#define CHAT_ROOM_INVITES_PER_ACCOUNT 60

/* Profile changes (PUT /account/profile) per account per hour: each one is told to
 * every room and conversation where the user has a socket (user_updated). Discord
 * lets a username change twice an hour; a display name is changed more freely. */
#define CHAT_PROFILE_CHANGES_PER_ACCOUNT 10

/* Files one account may upload per hour (each up to CHAT_ATTACHMENT_BYTES_MAX into
 * R2, with a row in the room's object): 100, 1 GiB at most. Slack's files.upload
 * is a Tier 2 method (about 20 a minute); a message carries 10 files at most. */
#define CHAT_UPLOADS_PER_ACCOUNT 100

/* Searches across every room and conversation (GET /search) per account: each asks
 * up to CHAT_SEARCH_ROOMS_MAX objects. 20 at once, then one every 6 s (600 an
 * hour, a GCRA). Slack's search.messages is a Tier 2 method (about 20 a minute). */
#define CHAT_SEARCHES_PER_ACCOUNT 600
#define CHAT_SEARCHES_BURST 20

/* Exports of one's account (GET /account/export) per hour: each reads every room
 * and conversation the account wrote in. Discord grants a data package once every
 * 30 days; a streamed export that fails halfway can be asked for again. */
#define CHAT_EXPORTS_PER_ACCOUNT 3

/* Friends one account may have: Discord's published limit of 1 000. */
#define CHAT_FRIENDS_MAX 1000

/* Friend requests one account may have sent and not had answered. */
#define CHAT_PENDING_REQUESTS_MAX 100

/* Sockets one account may hold at once across every object (its personal sockets,
 * every room's and conversation's): 20 in a room (CHAT_USER_CONNS_MAX) and a few
 * rooms open on a few devices fit well; a hoarder cannot hold thousands. */
#define CHAT_USER_SOCKETS_MAX 100

/* Sockets one account may open per minute, wherever (personal, rooms,
 * conversations): each open costs a D1 read, an RPC and the room's work, so
 * closing and reopening sockets in a loop is bounded here. Slack's rtm.connect is
 * a Tier 1 method (about once a minute); 30 leaves room for many tabs and a
 * client's reconnects with backoff (pages/src/socket.ts: 0.5 s doubling to 10 s). */
#define CHAT_SOCKET_OPENS_PER_MINUTE 30

/* Of those, how many may come at once: the rest are spread, one every 2 s (60 000 /
 * 30), metered as a GCRA (budget.h). 10 covers a page load (the personal socket, a
 * room, a conversation) and a reconnect after a deploy with room to spare; a
 * hoarder's burst is a third of the minute's budget, not all of it, so a room's
 * thread takes its opens spread out. */
#define CHAT_SOCKET_OPENS_BURST 10

/* Correct passwords one account may have checked per hour: each login and each
 * password change that succeeds costs an argon2id hash (about 30 ms of CPU in
 * Wasm), and the login throttle below counts only the wrong ones, so a script with
 * the right password could otherwise hash (and make sessions) without end. OWASP's
 * Authentication Cheat Sheet asks for throttling of every costly authentication
 * path; no anchor publishes a number for successful logins. 10 at once (a person
 * signing in on every device after "log out everywhere") then one every 2 minutes
 * (30 an hour, a GCRA as socket opens are: budget.h). */
#define CHAT_PASSWORD_CHECKS_PER_ACCOUNT 30
#define CHAT_PASSWORD_CHECKS_BURST 10

/* Live sessions one account may hold: a login past it ends the oldest one (its
 * sockets close with CHAT_CLOSE_SESSION_ENDED), as a device limit does, so the
 * sessions a user holds stay bounded and GET /account/sessions (a page of
 * CHAT_LIST_PAGE) lists every one of them. */
#define CHAT_USER_SESSIONS_MAX 100

/* Entries in one page of GET /friends (each of its lists) and GET /dms. */
#define CHAT_LIST_PAGE 100
_Static_assert(CHAT_USER_SESSIONS_MAX <= CHAT_LIST_PAGE, "GET /account/sessions lists every live session");

/* Connections one room accepts at once. The platform sets no hard number; this
 * bounds the memory and fan-out work of one room object. */
#define CHAT_ROOM_CONNS_MAX 10000

/* Sockets one user may hold in one room: enough for every device and tab, and
 * one account cannot fill a room. */
#define CHAT_USER_CONNS_MAX 20

/* How long a room socket may stay open without sending join_room, in ms; past it
 * the room closes it (CHAT_CLOSE_UNJOINED) when another socket opens, so sockets
 * that never join (500 accounts x 20 of them) cannot hold a room full for good.
 * 45 s is Socket.IO's connectTimeout default ("the number of ms before
 * disconnecting a client that has not successfully joined a namespace"); our
 * client joins right after the connection frame. */
#define CHAT_UNJOINED_TIMEOUT_MS 45000

/* WebSocket close code of an unjoined socket past CHAT_UNJOINED_TIMEOUT_MS: 4408,
 * in the application range of RFC 6455 section 7.4.2, echoing HTTP's 408 Request
 * Timeout. A client that gets it reconnects (and joins). */
#define CHAT_CLOSE_UNJOINED 4408

/* How long a socket (room, conversation or personal) may send nothing at all, no
 * frame and no ping, before it is closed (CHAT_CLOSE_IDLE), in ms: a peer that
 * vanished without a Close frame (a laptop shut, a network gone) would otherwise
 * hold its place in a room and in its user's budget of sockets until TCP gives
 * up, minutes later. 60 s is Phoenix's: its server closes a socket silent for 60 s,
 * and its clients send a heartbeat every 30 s (CHAT_PING_INTERVAL_MS). The rule is
 * liveness_idle (liveness.h); an alarm of the object checks it, so no timer keeps
 * an object awake. */
#define CHAT_IDLE_TIMEOUT_MS 60000

/* How often a client must send something (a ping will do) for its socket to stay
 * open, in ms: half of CHAT_IDLE_TIMEOUT_MS, so one lost ping is not fatal
 * (Phoenix's heartbeatIntervalMs, 30 s). The web client pings after 10 s of quiet. */
#define CHAT_PING_INTERVAL_MS 30000

/* How finely an object records when it last heard a socket, in ms: it writes the
 * time down (in the socket's attachment, which outlives hibernation) at most this
 * often per socket, not on every frame. A socket may so be counted idle up to this
 * much early, after 45 s of real silence at the least: a client that sends
 * something every CHAT_PING_INTERVAL_MS is never closed. */
#define CHAT_IDLE_RECORD_MS 15000

/* WebSocket close code of a socket idle past CHAT_IDLE_TIMEOUT_MS: 4409, in the
 * application range of RFC 6455 section 7.4.2, beside CHAT_CLOSE_UNJOINED. A client
 * that gets it (it was probably gone anyway) reconnects. */
#define CHAT_CLOSE_IDLE 4409

/* The room directory's "last activity" is written to D1 at most this often, in ms:
 * a D1 write per message would make the one database the bottleneck. */
#define CHAT_ACTIVITY_REPORT_MS 10000

/* ---- fan-out under load (issue #7) ---- */

/* Coalescing. A room that sent its last broadcast (a message, a deletion) at least
 * this long ago sends the next one at once; within it, broadcasts wait in an
 * outbox and go out together at the end of the interval, each recipient getting
 * one "batch" frame that carries them in order. A quiet room therefore adds no
 * latency, and a busy one sends each socket at most 1000 / CHAT_FLUSH_INTERVAL_MS
 * frames a second whatever the message rate. In ms; measured with make bench. */
#define CHAT_FLUSH_INTERVAL_MS 10

/* Cost-aware coalescing (issue 21): what fans out is sends, one per joined socket
 * per flush, and one object's thread makes about 20 000 to 40 000 socket sends a
 * second (measured on the 2-core bench machine with every Durable Object target:
 * ours, workers-chat-demo and a bare relay hit the same wall). So a room holds its
 * flushes at least joined / CHAT_SEND_BUDGET_PER_SECOND seconds apart, which keeps
 * its sends a second under the budget whatever the message rate: 10 ms (the floor,
 * above) up to 200 joined sockets, 50 ms at 1 000, and never more than
 * CHAT_FLUSH_INTERVAL_MAX_MS, the latency bound a message may wait (leaving room
 * within a 250 ms p99 for delivery). A room quiet for that long still sends at
 * once. In ms and sends a second. */
#define CHAT_SEND_BUDGET_PER_SECOND 20000
#define CHAT_FLUSH_INTERVAL_MAX_MS 150

/* Presence and typing (presence_changed, typing) get a tenth of that send budget: a
 * flush that carries only them waits at least joined / CHAT_PRESENCE_SENDS_PER_SECOND
 * seconds after the last one (10 ms up to 20 joined sockets, 500 ms at 1 000, 2.5 s
 * at 5 000), at most CHAT_PRESENCE_INTERVAL_MAX_MS; a message's flush takes them
 * along sooner. Without it a join storm into a big room spent the room's whole send
 * budget telling the sockets already there of each newcomer (at 5 000 joined, one
 * flush of 5 000 sends every 150 ms), and the joins waited behind it. Presence is a
 * hint that may lag, as in Slack's RTM API, which batches presence_change events
 * ("batch_presence_aware"); a message may not. In sends a second and ms. */
#define CHAT_PRESENCE_SENDS_PER_SECOND 2000
#define CHAT_PRESENCE_INTERVAL_MAX_MS 5000

/* Relays (issue 21, part 5; README "Past one object: relays"). One object's thread makes
 * about CHAT_SEND_BUDGET_PER_SECOND socket sends a second, so past about
 * CHAT_SEND_BUDGET_PER_SECOND x CHAT_FLUSH_INTERVAL_MAX_MS / 1000 = 3 000 joined
 * sockets one object cannot keep its flushes within the latency bound (a room of
 * 5 000 measured p99 958 ms at 20 msg/s). So a room that holds CHAT_RELAY_FROM
 * open sockets takes each new one through one of CHAT_RELAYS relay objects
 * ("room:<id>/relay:<j>", j = user id mod CHAT_RELAYS, so that a user's sockets
 * stay together): the relay holds the socket and fans each flush out to its
 * share, and the room sends one RPC per relay instead of one send per socket.
 * CHAT_RELAYS = CHAT_ROOM_MEMBERS_MAX / 1 000, so a full room gives each relay
 * about 1 000 sockets (50 ms of sends at the low end of the send rate), and
 * CHAT_RELAY_FROM = 1 000, so that the sockets a room holds itself are at most one
 * relay's share. Counted in open sockets, not members: a big room that is quiet
 * (a few sockets) holds them itself and hibernates as any room. Conversations
 * (two people) never relay. Each object is single-threaded (Cloudflare, "Durable
 * Objects: in-memory state"). In sockets and relays. */
#define CHAT_RELAY_FROM 1000
#define CHAT_RELAYS 10

/* Frames a relay keeps for one socket whose open's answer has not reached it yet
 * (a frame of the room may overtake it). The answer is one round trip away, a few
 * of the room's flushes (one frame each) at most; past this many the socket is
 * taken as gone, so a socket that never comes holds no more. In frames. */
#define CHAT_RELAY_PENDING_MAX 64

/* The close code of a relayed socket whose room was restarted (its core built
 * again: the room no longer knows the socket): 1012, "Service Restart", from the
 * IANA WebSocket Close Code Number Registry (RFC 6455 section 11.7). The client
 * reconnects and resumes by since, as after a deploy. */
#define CHAT_CLOSE_RESTART 1012

/* Largest outbox, in frames and in bytes of encoded frames (a message counted at
 * its largest: 6 bytes a body byte, + 512): reaching either sends the outbox at once.
 * 64 frames is one bit each in a 64-bit selection mask; 256 KiB plus one last
 * message (at most 6 x 16 000 + 512 bytes) keeps a batch frame well below the 1 MiB
 * a Workers WebSocket message may carry (Cloudflare Workers limits). */
#define CHAT_BATCH_MAX 64
#define CHAT_BATCH_BYTES_MAX (256 * 1024)

/* Load shedding: new messages a room accepts, a token bucket over the whole room
 * (bursts of 400, 2000 a second sustained). Past it a message is refused with
 * rate_limited (no flood penalty: the sender did nothing wrong), so an overloaded
 * room answers quickly instead of queueing without bound. Cloudflare documents one
 * Durable Object as single-threaded, with a soft limit of 1,000 HTTP requests a
 * second "and potentially over 10k concurrent WebSocket messages per second"
 * (Durable Objects limits, "How much work can a single Durable Object do?"); the
 * figure here is what one room of 100 sustained in make bench with a p99 under
 * 250 ms, client and server on one 2-core machine. */
#define CHAT_ROOM_RATE_BURST 400
#define CHAT_ROOM_RATE_PER_SECOND 2000

/* ---- moderation (issue #5) ---- */

/* A ban's reason: at most 500 code points of UTF-8 (the audit trail keeps it). */
#define CHAT_REASON_MAX 500

/* WebSocket close code when a ban ends a socket: 4003, in the range RFC 6455
 * section 7.4.2 leaves to applications (4000-4999), echoing HTTP's 403. */
#define CHAT_CLOSE_BANNED 4003

/* WebSocket close code when the session of a socket ended (logout, expiry, a
 * session revoked): 4001, in the application range of RFC 6455 section 7.4.2,
 * echoing HTTP's 401. A client that gets it signs in again. */
#define CHAT_CLOSE_SESSION_ENDED 4001

/* How long a user's hub remembers a revocation (a logout, a ban, a password
 * change), in ms, to refuse a socket whose opening started before it and arrives
 * after it: a socket's way from the Worker's session check to the object that
 * accepts it takes milliseconds; five minutes is far past any of them. */
#define CHAT_REVOCATION_RECALL_MS (5 * 60 * 1000)

/* How long a Worker isolate may open sockets with a session it checked in D1
 * without reading D1 again, in ms (issue 21: a warm socket open costs no D1 query).
 * Safe because every socket is admitted by its user's hub, which refuses one whose
 * session a revocation ended (logout, ban, password change, deletion) for
 * CHAT_REVOCATION_RECALL_MS after it: a session checked before a revocation is
 * used at most this long after, so always within the hub's memory of it. HTTP
 * requests read D1 every time (no hub checks them). A promotion reaches the
 * sockets of other isolates within this time, of the isolate that made it at once. */
#define CHAT_SESSION_CACHE_MS 60000
_Static_assert(CHAT_SESSION_CACHE_MS < CHAT_REVOCATION_RECALL_MS,
               "a cached session must be used only while the hub remembers revocations");

/* Longest close reason, in bytes of UTF-8: a Close frame's payload is at most 125
 * bytes (a control frame, RFC 6455 section 5.5), two of which are the code
 * (section 5.5.1). The runtime throws on a longer one, and the socket stays open. */
#define CHAT_CLOSE_REASON_MAX 123

/* Login throttling. OWASP Authentication Cheat Sheet ("Account Lockout"): lock
 * after a number of failures within an observation window, for a limited time, so
 * that an attacker cannot lock a real user out for good. Per username: 10 failures
 * in 15 minutes, then refused until the window ends (at most 15 minutes later). Per
 * address: 100 failures in 15 minutes, NIST SP 800-63B section 5.2.2's cap on
 * consecutive failed attempts. Every attempt is counted before its password is
 * verified, so concurrent attempts cannot exceed these (throttle.h
 * throttle_reserve); a correct login resets the username's count and gives the
 * address its attempt back, so an address counts failures only. */
#define CHAT_LOGIN_FAILS_PER_USER 10
#define CHAT_LOGIN_FAILS_PER_IP 100
#define CHAT_LOGIN_WINDOW_MS (15.0 * 60 * 1000)

/* How many times the shell tries to store a login's counters (a compare-and-swap
 * in D1, which has no interactive transactions) before it gives up and answers
 * too_many_attempts with Retry-After 1 s. Each lost race means another attempt was
 * counted, so under one username's limit of 10 the 11th try always sees the lock;
 * 16 leaves room for attempts on other names from the same address. */
#define CHAT_LOGIN_RESERVE_TRIES 16

/* An IP-ban list is cached by each Worker isolate for at most this long, in ms: a
 * new ban reaches every isolate within it (the isolate that made it at once), and
 * the steady state costs no D1 query per request. */
#define CHAT_IP_BAN_CACHE_MS 10000

/* The moderation log's hash chain (audit.h). The shell reads the log in pages of
 * this many rows to verify it: one D1 query and one core call each, so a log of
 * up to 1000 pages (half a million rows) fits in one Worker request's 1000 D1
 * queries (Workers Paid limits); a page of 500 rows with reasons at their longest
 * (CHAT_REASON_MAX) is about 1 MB of JSON. make audit-verify has no such cap. */
#define CHAT_AUDIT_PAGE_ROWS 500

/* How many times the shell tries to append a row to the moderation log before it
 * gives up (500 internal): each row names its id and the hash of the row before,
 * so two concurrent appends collide on the id and the loser reads the new head and
 * tries again. 8 covers bursts of concurrent moderation by several ADMINs. */
#define CHAT_AUDIT_APPEND_TRIES 8

/* How many times a friendship or block change is decided again when the relation
 * it was decided from changed before it was stored (the other person accepted,
 * blocked or withdrew at the same moment): the store checks the relation it read
 * in its own transaction. Two people acting at once settle in two tries; 8 leave
 * room. Past it the change is answered 429 too_many_attempts, Retry-After 1. */
#define CHAT_RELATION_STORE_TRIES 8

/* Accounts (issue 20, account.h). A session's "last seen" time is written at most
 * once per this many ms (5 minutes), not on every request: one D1 write per
 * session per 5 minutes at most, and a list of sessions is still accurate to
 * minutes, which is what a person deciding which device to log out needs. */
#define CHAT_SESSION_SEEN_REFRESH_MS 300000

/* How many bytes of a User-Agent header the client description reads
 * (account_describe_client): browsers put their names in the first 200 or so;
 * the scan is linear in this, whatever the header's length. */
#define CHAT_USER_AGENT_SCAN 512

/* Display names (account.h): at most this many characters (code points) of the
 * NFKC form. 64 is twice the username's 32 and Slack's display-name limit (80)
 * rounded down: room for a full name in any script, short enough that a message
 * list stays readable. */
#define CHAT_DISPLAY_NAME_MAX 64

/* How long the username of a deleted account stays taken, in ms: 30 days. Were it
 * free at once, someone could take it straight away and be taken for the person
 * who left, by friends who still write to that name and by anyone reading old
 * mentions of it. 30 days is as long as a session lives (CHAT_SESSION_TTL_MS), so
 * no token of the old account was ever valid beside a new owner of the name, and
 * it is the grace period large services give a deleted account (Twitter/X: 30
 * days of deactivation before the name is released). */
#define CHAT_USERNAME_RELEASE_MS (30.0 * 24 * 60 * 60 * 1000)

/* An export (GET /account/export) reads a person's messages from each room's
 * object in pages of this many: one RPC each, and a page of messages at their
 * longest (CHAT_MESSAGE_MAX characters) is about 8 MB, well inside an object's
 * 128 MB; rooms come a page of CHAT_LIST_PAGE objects at a time. */
#define CHAT_EXPORT_PAGE 500

/* ---- search (issue 17) ---- */

/* A search query (q of GET .../search), in bytes of UTF-8 once percent-decoded,
 * and the terms (words and "phrases") it may hold. Each term costs the room's
 * FTS5 index one doclist read per matching token, so the terms bound a query's
 * work; 8 is as many as a person types into a chat's search box (Google's web
 * search, a far larger corpus, reads at most 32 words: its "limited to 32 words"
 * notice). 256 bytes holds 8 long words in any script (64 code points of up to 4
 * bytes); a query longer than that is refused, not cut, so what is searched is
 * always what was typed. */
#define CHAT_SEARCH_QUERY_MAX 256
#define CHAT_SEARCH_TERMS_MAX 8

/* The code points a prefix term (word*) needs before its '*'. A one-letter prefix
 * ("a*") matches most of a room's vocabulary and makes FTS5 merge all those
 * doclists; two letters keep a prefix query within a few times a word's cost in a
 * room of 100 000 messages (make bench-search). */
#define CHAT_SEARCH_PREFIX_MIN 2

/* Results in one page of a room's search, default and largest (as history pages,
 * CHAT_HISTORY_PAGE), and the tokens of the snippet each result shows around its
 * matches (FTS5 snippet(), whose own largest is 64): about a line of text. */
#define CHAT_SEARCH_PAGE 20
#define CHAT_SEARCH_PAGE_MAX CHAT_HISTORY_PAGE
#define CHAT_SEARCH_SNIPPET_TOKENS 24

/* Searching across my rooms (GET /search) asks at most this many of my rooms and
 * conversations, the most recently active first (each one a Durable Object call
 * and one FTS5 query), and waits for them at most CHAT_SEARCH_DEADLINE_MS: rooms
 * that have not answered by then are listed as skipped. 50 is a page of my rooms
 * (CHAT_ROOMS_PAGE); 2 s keeps a search far inside a person's patience and a
 * Worker's wall-clock budget, and a warm room answers in milliseconds. */
#define CHAT_SEARCH_ROOMS_MAX 50
#define CHAT_SEARCH_DEADLINE_MS 2000

/* Largest output one core call may produce, in bytes: the shell's first output
 * buffer; a call that needs more reports the size and the shell retries. */
#define CHAT_OUT_INITIAL 65536

#endif

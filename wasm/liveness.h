/*
 * liveness.h -- when a socket that sends nothing is closed (issue 18).
 *
 * A peer that vanished without a Close frame (a laptop shut, a network gone)
 * leaves its socket open on the server until TCP gives up, minutes later, holding
 * a place in a room and in its user's budget of sockets. So every socket (room,
 * conversation, personal) must be heard at least every CHAT_IDLE_TIMEOUT_MS
 * (chat_limits.h): any frame, or a ping, which the platform may answer without
 * waking the object (the shell's auto-response; the time of its last one counts as
 * heard). The shell records when it heard each socket, to within
 * CHAT_IDLE_RECORD_MS, and asks from an alarm which sockets are idle and when to
 * look again (CHAT_OP_IDLE in api.h). Pure: times are given, nothing allocated.
 *
 * Times are ms since the Unix epoch. `scale` (>= 1; anything else counts as 1)
 * divides the idle time: tests run it scaled down, never a deployment.
 */
#ifndef LIVENESS_H
#define LIVENESS_H

/* The idle time, CHAT_IDLE_TIMEOUT_MS divided by scale. */
double liveness_timeout(double scale);

/* Whether a socket last heard at heard_ms is idle at now_ms (silent for the idle
 * time or longer): 1 or 0. A socket heard "in the future" (clocks are the shell's)
 * is not idle. */
int liveness_idle(double now_ms, double heard_ms, double scale);

/* When a socket last heard at heard_ms becomes idle, if it stays silent. */
double liveness_deadline(double heard_ms, double scale);

#endif

#include "liveness.h"

#include "chat_limits.h"

double liveness_timeout(double scale) {
  return scale >= 1 ? CHAT_IDLE_TIMEOUT_MS / scale : CHAT_IDLE_TIMEOUT_MS;
}

int liveness_idle(double now_ms, double heard_ms, double scale) {
  return now_ms - heard_ms >= liveness_timeout(scale);
}

double liveness_deadline(double heard_ms, double scale) { return heard_ms + liveness_timeout(scale); }

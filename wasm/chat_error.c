#include "chat_error.h"

const char *chat_error_name(int code) {
  switch (code) {
    case CHAT_OK: return "ok";
#define CHAT_ERROR_NAME(sym, num, name, cls, msg) case sym: return name;
    CHAT_ERRORS(CHAT_ERROR_NAME)
#undef CHAT_ERROR_NAME
  }
  return "unknown_error";
}

const char *chat_error_message(int code) {
  switch (code) {
    case CHAT_OK: return "OK.";
#define CHAT_ERROR_MESSAGE(sym, num, name, cls, msg) case sym: return msg;
    CHAT_ERRORS(CHAT_ERROR_MESSAGE)
#undef CHAT_ERROR_MESSAGE
  }
  return "Unknown error.";
}

chat_error_class chat_error_class_of(int code) {
  switch (code) {
#define CHAT_ERROR_CLASS(sym, num, name, cls, msg) case sym: return CHAT_##cls;
    CHAT_ERRORS(CHAT_ERROR_CLASS)
#undef CHAT_ERROR_CLASS
  }
  return CHAT_FATAL;
}

const char *chat_error_class_name(chat_error_class c) { return c == CHAT_FATAL ? "fatal" : "refusal"; }

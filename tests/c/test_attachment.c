/* Attachments: sniffing by magic numbers, image sizes and their bounds, polyglots,
 * names, and the check and access operations (wasm/attachment.c,
 * wasm/api_attachment.c; issue 17). */
#include <string.h>

#include "api.h"
#include "attachment.h"
#include "chat_error.h"
#include "chat_limits.h"
#include "test_util.h"

static size_t png(unsigned char *b, uint32_t w, uint32_t h) {
  static const unsigned char sig[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  memcpy(b, sig, sizeof sig);
  b[16] = w >> 24, b[17] = w >> 16, b[18] = w >> 8, b[19] = w;
  b[20] = h >> 24, b[21] = h >> 16, b[22] = h >> 8, b[23] = h;
  memset(b + 24, 0, 9);
  return 33;
}

/* SOI, an APP0 segment of `app` bytes, then SOF0 with the size. */
static size_t jpeg(unsigned char *b, uint32_t w, uint32_t h, size_t app) {
  size_t n = 0;
  b[n++] = 0xFF, b[n++] = 0xD8, b[n++] = 0xFF, b[n++] = 0xE0, b[n++] = (app + 2) >> 8, b[n++] = (app + 2) & 0xFF;
  memset(b + n, 'J', app);
  n += app;
  b[n++] = 0xFF, b[n++] = 0xC0, b[n++] = 0, b[n++] = 17, b[n++] = 8;
  b[n++] = h >> 8, b[n++] = h & 0xFF, b[n++] = w >> 8, b[n++] = w & 0xFF;
  memset(b + n, 0, 12);
  return n + 12;
}

static size_t gif(unsigned char *b, uint32_t w, uint32_t h) {
  memcpy(b, "GIF89a", 6);
  b[6] = w & 0xFF, b[7] = w >> 8, b[8] = h & 0xFF, b[9] = h >> 8;
  memset(b + 10, 0, 6);
  return 16;
}

static size_t webp_vp8x(unsigned char *b, uint32_t w, uint32_t h) {
  memset(b, 0, 40);
  memcpy(b, "RIFF", 4), memcpy(b + 8, "WEBPVP8X", 8);
  b[24] = (w - 1) & 0xFF, b[25] = (w - 1) >> 8, b[26] = (w - 1) >> 16;
  b[27] = (h - 1) & 0xFF, b[28] = (h - 1) >> 8, b[29] = (h - 1) >> 16;
  return 40;
}

static size_t webp_vp8l(unsigned char *b, uint32_t w, uint32_t h) {
  memset(b, 0, 40);
  memcpy(b, "RIFF", 4), memcpy(b + 8, "WEBPVP8L", 8);
  b[20] = 0x2F;
  uint32_t bits = (w - 1) | (h - 1) << 14;
  b[21] = bits, b[22] = bits >> 8, b[23] = bits >> 16, b[24] = bits >> 24;
  return 40;
}

static void images_are_known_by_their_bytes_with_their_size(void **state) {
  (void)state;
  static unsigned char b[200000];
  attachment_info i;
  assert_int_equal(attachment_sniff(b, png(b, 640, 480), &i), CHAT_OK);
  assert_int_equal(i.type, ATTACHMENT_PNG);
  assert_int_equal(i.width, 640), assert_int_equal(i.height, 480);
  /* the frame header after 100 KiB of EXIF-like segments is still found */
  assert_int_equal(attachment_sniff(b, jpeg(b, 4032, 3024, 60000), &i), CHAT_OK);
  assert_int_equal(i.type, ATTACHMENT_JPEG);
  assert_int_equal(i.width, 4032), assert_int_equal(i.height, 3024);
  assert_int_equal(attachment_sniff(b, gif(b, 32, 16), &i), CHAT_OK);
  assert_int_equal(i.type, ATTACHMENT_GIF);
  assert_int_equal(i.width, 32);
  assert_int_equal(attachment_sniff(b, webp_vp8x(b, 1000, 700), &i), CHAT_OK);
  assert_int_equal(i.type, ATTACHMENT_WEBP);
  assert_int_equal(i.width, 1000), assert_int_equal(i.height, 700);
  assert_int_equal(attachment_sniff(b, webp_vp8l(b, 300, 200), &i), CHAT_OK);
  assert_int_equal(i.width, 300), assert_int_equal(i.height, 200);
  /* anything else is a plain file, whatever it holds */
  assert_int_equal(attachment_sniff((const unsigned char *)"<html><script>alert(1)</script>", 31, &i), CHAT_OK);
  assert_int_equal(i.type, ATTACHMENT_FILE);
  assert_string_equal(attachment_mime(i.type), "application/octet-stream");
  assert_string_equal(attachment_mime(ATTACHMENT_WEBP), "image/webp");
}

static void bombs_broken_headers_and_polyglots_are_refused(void **state) {
  (void)state;
  static unsigned char b[4096];
  attachment_info i;
  /* decompression bombs: a side past the limit, or too many pixels in all */
  assert_int_equal(attachment_sniff(b, png(b, CHAT_IMAGE_SIDE_MAX + 1, 1), &i), CHAT_E_IMAGE_TOO_LARGE);
  assert_int_equal(attachment_sniff(b, png(b, 10000, 10000), &i), CHAT_E_IMAGE_TOO_LARGE);
  assert_int_equal(attachment_sniff(b, gif(b, 65535, 65535), &i), CHAT_E_IMAGE_TOO_LARGE);
  assert_int_equal(attachment_sniff(b, webp_vp8x(b, 16384, 16384), &i), CHAT_E_IMAGE_TOO_LARGE);
  assert_int_equal(attachment_sniff(b, png(b, CHAT_IMAGE_SIDE_MAX, 5000), &i), CHAT_OK);
  /* a zero side, a cut-off header, a frame header missing before the scan */
  assert_int_equal(attachment_sniff(b, png(b, 0, 10), &i), CHAT_E_IMAGE_INVALID);
  assert_int_equal(attachment_sniff(b, 12, &i), CHAT_E_IMAGE_INVALID);
  size_t n = jpeg(b, 10, 10, 10);
  assert_int_equal(attachment_sniff(b, 20, &i), CHAT_E_IMAGE_INVALID); /* cut before SOF0 */
  b[16] = 0xDA;                                                       /* SOS where SOF0 was */
  assert_int_equal(attachment_sniff(b, n, &i), CHAT_E_IMAGE_INVALID);
  /* polyglots: a valid image header with markup a browser would run */
  n = gif(b, 10, 10);
  memcpy(b + n, "/*<ScRiPt>alert(1)</script>*/", 29);
  assert_int_equal(attachment_sniff(b, n + 29, &i), CHAT_E_IMAGE_INVALID);
  n = png(b, 10, 10);
  memcpy(b + n, "tEXt<!DOCTYPE html>", 19);
  assert_int_equal(attachment_sniff(b, n + 19, &i), CHAT_E_IMAGE_INVALID);
}

static void a_name_cannot_claim_an_image_the_bytes_are_not(void **state) {
  (void)state;
  assert_int_equal(attachment_claimed("cat.PNG"), ATTACHMENT_PNG);
  assert_int_equal(attachment_claimed("cat.jpeg"), ATTACHMENT_JPEG);
  assert_int_equal(attachment_claimed("notes.txt"), ATTACHMENT_FILE);
  assert_int_equal(attachment_claimed("png"), ATTACHMENT_FILE);
  assert_int_equal(attachment_check_claim(ATTACHMENT_FILE, ATTACHMENT_PNG), CHAT_E_ATTACHMENT_MISMATCH);
  assert_int_equal(attachment_check_claim(ATTACHMENT_GIF, ATTACHMENT_PNG), CHAT_E_ATTACHMENT_MISMATCH);
  assert_int_equal(attachment_check_claim(ATTACHMENT_PNG, ATTACHMENT_PNG), CHAT_OK);
  assert_int_equal(attachment_check_claim(ATTACHMENT_PNG, ATTACHMENT_FILE), CHAT_OK);
}

static void names_are_cleaned(void **state) {
  (void)state;
  char out[CHAT_FILE_NAME_MAX + 1];
  struct { const char *in, *out; } cases[] = {
      {"report.pdf", "report.pdf"},
      {"..%2F..%2Fetc%2Fpasswd", "_.._etc_passwd"},
      {"C:%5Cwin%5Cx.txt", "C__win_x.txt"},
      {"photo%E2%80%AEgnp.exe", "photognp.exe"}, /* U+202E would show it as "photoexe.png" */
      {"a%00b%0Ac.txt", "abc.txt"},
      {"%F0%9F%90%88 caf%C3%A9.png", "\xf0\x9f\x90\x88 caf\xc3\xa9.png"},
      {"  ..hidden. .", "hidden"},
      {"what%3F%22%3C%3E%7C*.txt", "what______.txt"},
      {"", "file"},
      {"...", "file"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    int n = attachment_clean_name(cases[k].in, strlen(cases[k].in), out, sizeof out);
    assert_true(n > 0);
    assert_string_equal(out, cases[k].out);
    assert_int_equal(n, strlen(cases[k].out));
  }
  assert_int_equal(attachment_clean_name("a%ZZ", 4, out, sizeof out), CHAT_E_FIELD_TYPE);
  assert_int_equal(attachment_clean_name("a%4", 3, out, sizeof out), CHAT_E_FIELD_TYPE);
  assert_int_equal(attachment_clean_name("%C3%28", 6, out, sizeof out), CHAT_E_FIELD_TYPE);
  /* long names are cut at a code point, at most CHAT_FILE_NAME_MAX bytes */
  static char longname[6 * 400 + 1];
  for (int k = 0; k < 400; k++) memcpy(longname + 6 * k, "%C3%A9", 6);
  int n = attachment_clean_name(longname, strlen(longname), out, sizeof out);
  assert_int_equal(n, 254);
  assert_int_equal(strlen(out), 254);
}

/* Runs an operation; returns its rc and the answer text in out. */
static int call(int op, const unsigned char *in, size_t len, const char *aux, char *out, size_t cap) {
  size_t n = 0;
  int rc = api_call(op, in, len, (const unsigned char *)aux, strlen(aux), 0, (unsigned char *)out, cap - 1, &n);
  out[rc >= 0 ? n : 0] = 0;
  return rc;
}

static void the_check_names_the_file_and_refuses_what_it_must(void **state) {
  (void)state;
  static unsigned char b[64];
  char out[1024];
  size_t n = png(b, 8, 6);
  assert_int_equal(api_init(), CHAT_OK);
  assert_true(call(CHAT_OP_ATTACHMENT_CHECK, b, n, "{\"name\":\"dot.png\",\"size\":33}", out, sizeof out) > 0);
  cJSON *a = cJSON_Parse(out);
  assert_int_equal(strlen(cJSON_GetObjectItem(a, "id")->valuestring), 2 * CHAT_ATTACHMENT_ID_BYTES);
  assert_true(attachment_valid_id(cJSON_GetObjectItem(a, "id")->valuestring, 2 * CHAT_ATTACHMENT_ID_BYTES));
  assert_string_equal(cJSON_GetObjectItem(a, "type")->valuestring, "image/png");
  assert_int_equal(cJSON_GetObjectItem(a, "width")->valuedouble, 8);
  assert_int_equal(cJSON_GetObjectItem(a, "height")->valuedouble, 6);
  assert_string_equal(cJSON_GetObjectItem(a, "name")->valuestring, "dot.png");
  cJSON_Delete(a);
  /* the client's word is never taken */
  const char *html = "<!doctype html><script>alert(1)</script>";
  assert_int_equal(call(CHAT_OP_ATTACHMENT_CHECK, (const unsigned char *)html, strlen(html),
                        "{\"name\":\"cat.png\",\"size\":40}", out, sizeof out),
                   CHAT_E_ATTACHMENT_MISMATCH);
  assert_true(call(CHAT_OP_ATTACHMENT_CHECK, (const unsigned char *)html, strlen(html),
                   "{\"name\":\"page.html\",\"size\":40}", out, sizeof out) > 0);
  assert_non_null(strstr(out, "\"type\":\"application/octet-stream\""));
  assert_int_equal(call(CHAT_OP_ATTACHMENT_CHECK, b, n, "{\"name\":\"x.png\",\"size\":null}", out, sizeof out),
                   CHAT_E_LENGTH_REQUIRED);
  assert_int_equal(call(CHAT_OP_ATTACHMENT_CHECK, b, n, "{\"name\":\"x.png\",\"size\":10485761}", out, sizeof out),
                   CHAT_E_ATTACHMENT_TOO_LARGE);
  assert_int_equal(call(CHAT_OP_ATTACHMENT_CHECK, b, 0, "{\"name\":\"x\",\"size\":0}", out, sizeof out),
                   CHAT_E_ATTACHMENT_INVALID);
  /* the bytes given must be the file's first ones: all of it, or CHAT_SNIFF_BYTES */
  assert_int_equal(call(CHAT_OP_ATTACHMENT_CHECK, b, n, "{\"name\":\"x.png\",\"size\":900000}", out, sizeof out),
                   CHAT_E_ATTACHMENT_INVALID);
  /* access: a room's members, a conversation's two */
  assert_true(call(CHAT_OP_ATTACHMENT_ACCESS, NULL, 0, "{\"user\":4,\"kind\":\"room\",\"member\":true}", out,
                   sizeof out) >= 0);
  assert_int_equal(call(CHAT_OP_ATTACHMENT_ACCESS, NULL, 0, "{\"user\":4,\"kind\":\"room\",\"member\":false}", out,
                        sizeof out),
                   CHAT_E_NOT_MEMBER);
  assert_true(call(CHAT_OP_ATTACHMENT_ACCESS, NULL, 0, "{\"user\":4,\"kind\":\"dm\",\"members\":[3,4]}", out,
                   sizeof out) >= 0);
  assert_int_equal(call(CHAT_OP_ATTACHMENT_ACCESS, NULL, 0,
                        "{\"user\":5,\"kind\":\"dm\",\"members\":[3,4],\"member\":true}", out, sizeof out),
                   CHAT_E_NOT_MEMBER);
  /* an upload to a conversation a block closed is refused, as a message there is;
   * a stranger still hears not_member first */
  assert_int_equal(call(CHAT_OP_ATTACHMENT_ACCESS, NULL, 0, "{\"user\":4,\"kind\":\"dm\",\"members\":[3,4],\"open\":false}",
                        out, sizeof out),
                   CHAT_E_DM_CLOSED);
  assert_true(call(CHAT_OP_ATTACHMENT_ACCESS, NULL, 0, "{\"user\":4,\"kind\":\"dm\",\"members\":[3,4],\"open\":true}", out,
                   sizeof out) >= 0);
  assert_int_equal(call(CHAT_OP_ATTACHMENT_ACCESS, NULL, 0, "{\"user\":5,\"kind\":\"dm\",\"members\":[3,4],\"open\":false}",
                        out, sizeof out),
                   CHAT_E_NOT_MEMBER);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(images_are_known_by_their_bytes_with_their_size),
      cmocka_unit_test(bombs_broken_headers_and_polyglots_are_refused),
      cmocka_unit_test(a_name_cannot_claim_an_image_the_bytes_are_not),
      cmocka_unit_test(names_are_cleaned),
      cmocka_unit_test(the_check_names_the_file_and_refuses_what_it_must),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

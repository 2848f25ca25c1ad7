/* What a file is, from its bytes (attachment.h). */
#include "attachment.h"

#include <string.h>

#include "chat_error.h"
#include "chat_limits.h"
#include "utf8.h"

static uint32_t be16(const unsigned char *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t le16(const unsigned char *p) { return (uint32_t)p[1] << 8 | p[0]; }
static uint32_t be32(const unsigned char *p) { return be16(p) << 16 | be16(p + 2); }
static uint32_t le24(const unsigned char *p) { return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; }

/* PNG: the 8-byte signature, then the IHDR chunk: length 13, "IHDR", width,
 * height (big-endian). */
static int png_size(const unsigned char *h, size_t n, attachment_info *o) {
  if (n < 24 || be32(h + 8) != 13 || memcmp(h + 12, "IHDR", 4) != 0) return CHAT_E_IMAGE_INVALID;
  o->width = be32(h + 16), o->height = be32(h + 20);
  return CHAT_OK;
}

/* JPEG: the segments after SOI, each FF marker [length], up to the first frame
 * header SOFn (C0..CF but DHT C4, JPG C8, DAC CC): precision, height, width. */
static int jpeg_size(const unsigned char *h, size_t n, attachment_info *o) {
  size_t i = 2;
  for (;;) {
    while (i < n && h[i] != 0xFF) i++; /* (garbage between segments: skipped) */
    while (i < n && h[i] == 0xFF) i++; /* fill bytes */
    if (i >= n) return CHAT_E_IMAGE_INVALID;
    unsigned char m = h[i++];
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue; /* no length */
    if (m == 0xD9 || m == 0xDA || i + 2 > n) return CHAT_E_IMAGE_INVALID; /* EOI, SOS before a frame */
    uint32_t len = be16(h + i);
    if (len < 2) return CHAT_E_IMAGE_INVALID;
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      if (len < 7 || i + 7 > n) return CHAT_E_IMAGE_INVALID;
      o->height = be16(h + i + 3), o->width = be16(h + i + 5);
      return CHAT_OK;
    }
    i += len;
  }
}

/* WebP: "RIFF", size, "WEBP", then one of: "VP8 " (lossy: the frame's start code
 * 9D 01 2A, then 14-bit width and height), "VP8L" (lossless: signature 2F, then
 * 14-bit width - 1 and height - 1), "VP8X" (extended: 24-bit canvas width - 1 and
 * height - 1). */
static int webp_size(const unsigned char *h, size_t n, attachment_info *o) {
  if (n < 30) return CHAT_E_IMAGE_INVALID;
  if (memcmp(h + 12, "VP8 ", 4) == 0) {
    if (h[23] != 0x9D || h[24] != 0x01 || h[25] != 0x2A) return CHAT_E_IMAGE_INVALID;
    o->width = le16(h + 26) & 0x3FFF, o->height = le16(h + 28) & 0x3FFF;
  } else if (memcmp(h + 12, "VP8L", 4) == 0) {
    if (h[20] != 0x2F) return CHAT_E_IMAGE_INVALID;
    uint32_t bits = (uint32_t)h[21] | (uint32_t)h[22] << 8 | (uint32_t)h[23] << 16 | (uint32_t)h[24] << 24;
    o->width = (bits & 0x3FFF) + 1, o->height = (bits >> 14 & 0x3FFF) + 1;
  } else if (memcmp(h + 12, "VP8X", 4) == 0) {
    o->width = le24(h + 24) + 1, o->height = le24(h + 27) + 1;
  } else {
    return CHAT_E_IMAGE_INVALID;
  }
  return CHAT_OK;
}

/* Whether the bytes hold markup a browser would run, as a polyglot hides it. */
static int holds_markup(const unsigned char *h, size_t n) {
  static const char *const tags[] = {"<script", "<html", "<svg", "<iframe", "<body", "<!doctype"};
  for (size_t i = 0; i < n; i++) {
    if (h[i] != '<') continue;
    for (size_t t = 0; t < sizeof tags / sizeof *tags; t++) {
      size_t k = 0, len = strlen(tags[t]);
      while (k < len && i + k < n && (h[i + k] | 0x20) == (tags[t][k] | 0x20)) k++;
      if (k == len) return 1;
    }
  }
  return 0;
}

int attachment_sniff(const unsigned char *h, size_t n, attachment_info *o) {
  int rc = CHAT_OK;
  memset(o, 0, sizeof *o);
  if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0) {
    o->type = ATTACHMENT_PNG;
    rc = png_size(h, n, o);
  } else if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) {
    o->type = ATTACHMENT_JPEG;
    rc = jpeg_size(h, n, o);
  } else if (n >= 6 && (memcmp(h, "GIF87a", 6) == 0 || memcmp(h, "GIF89a", 6) == 0)) {
    o->type = ATTACHMENT_GIF;
    rc = n >= 10 ? (o->width = le16(h + 6), o->height = le16(h + 8), CHAT_OK) : CHAT_E_IMAGE_INVALID;
  } else if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0) {
    o->type = ATTACHMENT_WEBP;
    rc = webp_size(h, n, o);
  } else {
    return CHAT_OK; /* a plain file */
  }
  if (rc < 0) return rc;
  if (!o->width || !o->height || holds_markup(h, n)) return CHAT_E_IMAGE_INVALID;
  if (o->width > CHAT_IMAGE_SIDE_MAX || o->height > CHAT_IMAGE_SIDE_MAX ||
      (double)o->width * o->height > CHAT_IMAGE_PIXELS_MAX)
    return CHAT_E_IMAGE_TOO_LARGE;
  return CHAT_OK;
}

/* Whether name ends in ext (a lowercase ".png"), in any case. */
static int ends_in(const char *name, const char *ext) {
  size_t n = strlen(name), k = strlen(ext);
  if (n < k) return 0;
  for (size_t i = 0; i < k; i++)
    if ((name[n - k + i] | 0x20) != ext[i]) return 0;
  return 1;
}

attachment_type attachment_claimed(const char *name) {
  if (ends_in(name, ".png")) return ATTACHMENT_PNG;
  if (ends_in(name, ".jpg") || ends_in(name, ".jpeg") || ends_in(name, ".jfif")) return ATTACHMENT_JPEG;
  if (ends_in(name, ".gif")) return ATTACHMENT_GIF;
  if (ends_in(name, ".webp")) return ATTACHMENT_WEBP;
  return ATTACHMENT_FILE;
}

int attachment_check_claim(attachment_type sniffed, attachment_type claimed) {
  return claimed == ATTACHMENT_FILE || claimed == sniffed ? CHAT_OK : CHAT_E_ATTACHMENT_MISMATCH;
}

const char *attachment_mime(attachment_type t) {
  switch (t) {
    case ATTACHMENT_PNG: return "image/png";
    case ATTACHMENT_JPEG: return "image/jpeg";
    case ATTACHMENT_GIF: return "image/gif";
    case ATTACHMENT_WEBP: return "image/webp";
    default: return "application/octet-stream";
  }
}

static int hex_value(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Characters a stored name drops: controls (Cc), bidirectional formatting (UAX
 * #9) and invisible ones (they can disguise an extension: "txt.exe" shown as
 * "exe.txt" with U+202E). */
static int name_drops(unsigned long c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x061C || (c >= 0x200B && c <= 0x200F) ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x2069) || c == 0xFEFF;
}

int attachment_clean_name(const char *name, size_t len, char *out, size_t cap) {
  unsigned char raw[4 * CHAT_FILE_NAME_MAX + 4] = {0}; /* (gcc -O2 cannot see every byte read is written) */
  size_t n = 0, o = 0;
  /* percent-decoding, keeping at most what can make CHAT_FILE_NAME_MAX bytes */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c == '%') {
      if (i + 2 >= len) return CHAT_E_FIELD_TYPE;
      int hi = hex_value(name[i + 1]), lo = hex_value(name[i + 2]);
      if (hi < 0 || lo < 0) return CHAT_E_FIELD_TYPE;
      c = (unsigned char)(hi << 4 | lo);
      i += 2;
    }
    if (n == sizeof raw) break;
    raw[n++] = c;
  }
  /* cut at a whole code point if the name was longer than raw */
  while (n && !utf8_valid(raw, n) && n == sizeof raw) n--;
  if (!utf8_valid(raw, n)) return CHAT_E_FIELD_TYPE;
  for (size_t i = 0; i < n;) {
    size_t start = i;
    unsigned long c = utf8_next(raw, n, &i);
    if (name_drops(c)) continue;
    if (c < 0x80 && strchr("\\/:*?\"<>|", (int)c)) c = '_';
    if ((c == '.' || c == ' ') && o == 0) continue; /* no leading dots or spaces */
    size_t k = c == '_' ? 1 : i - start;
    if (o + k > CHAT_FILE_NAME_MAX || o + k >= cap) break;
    if (c == '_') out[o] = '_';
    else memcpy(out + o, raw + start, k);
    o += k;
  }
  while (o && (out[o - 1] == '.' || out[o - 1] == ' ')) o--;
  if (!o) {
    memcpy(out, "file", 5);
    return 4;
  }
  out[o] = 0;
  return (int)o;
}

int attachment_valid_id(const char *s, size_t len) {
  if (len != 2 * CHAT_ATTACHMENT_ID_BYTES) return 0;
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return 1;
}

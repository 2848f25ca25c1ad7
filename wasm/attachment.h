/*
 * attachment.h -- what a file is, decided from its bytes, never from what the
 * client says (issue 17): its type from its magic numbers, an image's size from
 * its header (bounded, so decompression bombs are refused), and a name safe to
 * store and offer for download.
 *
 * Types: PNG (ISO/IEC 15948, the signature and IHDR), JPEG (ITU-T T.81: SOI,
 * then the segments up to the first SOFn frame header), GIF (GIF87a/GIF89a, the
 * logical screen), WebP (RIFF container, Google's WebP container specification:
 * VP8, VP8L or VP8X chunk); everything else is a plain file
 * (application/octet-stream), which the Worker serves as a download. Pure: no
 * allocation, no I/O. Limits: chat_limits.h (CHAT_SNIFF_BYTES,
 * CHAT_IMAGE_SIDE_MAX, CHAT_IMAGE_PIXELS_MAX, CHAT_FILE_NAME_MAX).
 */
#ifndef ATTACHMENT_H
#define ATTACHMENT_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ATTACHMENT_FILE, ATTACHMENT_PNG, ATTACHMENT_JPEG, ATTACHMENT_GIF, ATTACHMENT_WEBP } attachment_type;

typedef struct {
  attachment_type type;
  uint32_t width, height; /* pixels; 0 for a plain file */
} attachment_info;

/* The type of a file from its first len bytes (at most CHAT_SNIFF_BYTES of it), and
 * an image's width and height. Errors: CHAT_E_IMAGE_INVALID (an image's signature
 * whose header is cut off, malformed or has a zero side, or an image whose first
 * bytes hold markup a browser would run: "<script", "<html", "<svg", "<iframe",
 * "<body", "<!doctype", case-insensitive: a polyglot), CHAT_E_IMAGE_TOO_LARGE (a side
 * past CHAT_IMAGE_SIDE_MAX or more than CHAT_IMAGE_PIXELS_MAX pixels). */
int attachment_sniff(const unsigned char *head, size_t len, attachment_info *out);

/* The image type a file name's extension claims (.png, .jpg, .jpeg, .jfif, .gif,
 * .webp, any case), or ATTACHMENT_FILE for any other name. */
attachment_type attachment_claimed(const char *name);

/* Whether a file of type `sniffed` may be stored under a name claiming `claimed`:
 * CHAT_OK, or CHAT_E_ATTACHMENT_MISMATCH when the name claims an image type the
 * bytes are not (an HTML page named .png). */
int attachment_check_claim(attachment_type sniffed, attachment_type claimed);

/* The media type served for a type ("image/png", ..., "application/octet-stream").
 * Static. */
const char *attachment_mime(attachment_type t);

/* A file name from the client (len bytes, percent-encoded UTF-8 as X-File-Name
 * carries it: RFC 3986 section 2.1), cleaned into out (cap >= CHAT_FILE_NAME_MAX +
 * 1, NUL-terminated): control, bidirectional formatting and invisible characters
 * dropped; path separators and the characters Windows forbids in names
 * (\ / : * ? " < > |) made '_'; leading dots and spaces and trailing dots and
 * spaces removed; cut to CHAT_FILE_NAME_MAX bytes at a code point; "file" when
 * nothing is left. Returns the length, or CHAT_E_FIELD_TYPE for a bad
 * percent-escape or bytes that are not UTF-8 once decoded. Linear in len. */
int attachment_clean_name(const char *name, size_t len, char *out, size_t cap);

/* Whether s (len bytes) is an attachment id: 2 * CHAT_ATTACHMENT_ID_BYTES
 * lowercase hex digits. */
int attachment_valid_id(const char *s, size_t len);

#endif

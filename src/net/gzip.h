/* gzip: whole-buffer gzip / zlib / raw-deflate compression and decompression
 * on top of zlib, for HTTP Content-Encoding and gRPC message compression.
 * Decompression writes into the caller's buf and never lets it grow past the
 * caller's output limit, so a small compression bomb cannot make braid
 * allocate much. Keeps no state between calls; safe on any thread. */
#ifndef BRAID_NET_GZIP_H
#define BRAID_NET_GZIP_H

#include "../util/util.h"

typedef enum {
    GZIP_FMT_GZIP = 0,    /* RFC 1952, one or more concatenated members */
    GZIP_FMT_DEFLATE = 1, /* HTTP "deflate": RFC 1950 zlib stream; on input a raw
                             RFC 1951 stream is also accepted, as senders mix them up */
    GZIP_FMT_RAW = 2,     /* raw RFC 1951 deflate, no header */
} gzip_format;

/* Maps a Content-Encoding value to a format: "gzip"/"x-gzip" and "deflate"
 * (case-insensitive). Returns 0, BRAID_ENOTFOUND for "identity" or an empty
 * value (no decoding needed), or BRAID_EUNSUPPORTED for anything else. */
int gzip_format_from_encoding(bslice content_encoding, gzip_format *out);

/* Decompresses in[0, n) and appends the result to out. The result may be at
 * most max_out bytes; out never grows beyond its length at entry plus max_out.
 * Returns 0; BRAID_ETOOBIG as soon as the output would exceed max_out;
 * BRAID_EINVAL for corrupt, truncated or trailing-garbage input; or
 * BRAID_ENOMEM. On error out keeps its previous length (its capacity may have
 * grown, up to the limit). The caller owns out and frees it with buf_free. */
int gzip_decompress(gzip_format fmt, const uint8_t *in, size_t n, size_t max_out, buf *out);

/* Compresses in[0, n) as one member/stream of `fmt` at zlib level (0-9, or -1
 * for zlib's default) and appends it to out. Returns 0, BRAID_EINVAL for a bad
 * level or format, or BRAID_ENOMEM (out keeps its previous length). The caller
 * owns out. */
int gzip_compress(gzip_format fmt, int level, const uint8_t *in, size_t n, buf *out);

#endif

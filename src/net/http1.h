/* http1: a sans-I/O HTTP/1.1 request parser (RFC 9112). It reads a request
 * head from a caller's buffer into slices, decides the body framing, de-chunks
 * chunked bodies incrementally, and splits and percent-decodes query strings.
 * Owns no memory and never allocates; never touches a socket. Every function
 * tells "need more bytes" (BRAID_EAGAIN) apart from "malformed" (BRAID_EINVAL). */
#ifndef BRAID_NET_HTTP1_H
#define BRAID_NET_HTTP1_H

#include "../util/util.h"

/* Strictness. A front proxy and braid must never disagree on where a request
 * ends, so anything ambiguous is rejected rather than guessed:
 * - Lines end with CRLF. A bare LF or a bare CR anywhere in the head or in the
 *   chunked framing is malformed (400). Empty lines before a request line are
 *   skipped, as RFC 9112 section 2.2 allows.
 * - obs-fold (a field line starting with SP/HTAB), whitespace between a field
 *   name and its colon, control characters (NUL, CR, LF...) in field values,
 *   and more than one SP between request-line parts are malformed (400).
 * - Content-Length together with Transfer-Encoding, Transfer-Encoding in an
 *   HTTP/1.0 request, a Transfer-Encoding whose final coding is not chunked,
 *   chunked applied twice, and Content-Length values that are not plain
 *   decimal or that differ from each other are malformed (400). Repeated
 *   identical values ("5, 5") are accepted (RFC 9110 section 8.6).
 * - Transfer codings other than chunked are not implemented (501).
 * - HTTP/1.1 requests need exactly one Host field, HTTP/1.0 at most one (400).
 * - Major versions other than 1 get 505; HTTP/1.2+ is treated as HTTP/1.1.
 * - Expect values other than 100-continue get 417 (ignored in HTTP/1.0).
 * - Trailer fields of a chunked body are checked for syntax and discarded. */

#define HTTP1_MAX_HEADERS 64
#define HTTP1_DEFAULT_MAX_HEAD (64u * 1024u)
#define HTTP1_MAX_CHUNK_LINE 4096u /* chunk-size line including extensions */

typedef struct {
    bslice name, value; /* value has surrounding whitespace removed */
} http1_header;

typedef enum {
    HTTP1_BODY_NONE = 0,    /* no body (no Content-Length, no Transfer-Encoding) */
    HTTP1_BODY_LENGTH = 1,  /* Content-Length bytes follow the head */
    HTTP1_BODY_CHUNKED = 2, /* chunked; de-chunk with http1_chunked_decode */
} http1_body_kind;

typedef struct {
    size_t max_head;   /* request line + fields + final CRLF; 0 means HTTP1_DEFAULT_MAX_HEAD */
    uint64_t max_body; /* largest accepted body, after de-chunking */
} http1_limits;

/* A parsed request head. All slices point into the buffer given to
 * http1_parse_head and are valid as long as those bytes do not move. */
typedef struct {
    bslice method;     /* token, case-sensitive ("GET") */
    bslice target;     /* request-target as sent */
    bslice path;       /* target up to '?', still percent-encoded; "/" for an
                          absolute-form target without a path, "*" for asterisk-form */
    bslice query;      /* after '?', without it; empty when there is none */
    int version_minor; /* 0 for HTTP/1.0, 1 for HTTP/1.1 (and later 1.x) */
    http1_header headers[HTTP1_MAX_HEADERS];
    size_t n_headers;
    size_t head_len; /* bytes of the head, leading empty lines included */
    http1_body_kind body_kind;
    uint64_t content_length; /* for HTTP1_BODY_LENGTH */
    bool keep_alive;         /* the connection may carry another request */
    bool expect_continue;    /* HTTP/1.1 "Expect: 100-continue" */
    int status;              /* on error: the HTTP status to answer with */
    const char *reason;      /* on error: static one-line explanation */
} http1_request;

/* Parses a request head from buf[0, len).
 * Returns:
 *   0                  complete and acceptable; r->head_len bytes were used, the
 *                      body (if any) starts at buf + r->head_len.
 *   BRAID_EAGAIN       the head is incomplete; call again with more bytes.
 *   BRAID_EINVAL       malformed (r->status 400, r->reason says why).
 *   BRAID_ETOOBIG      r->status 431: the head does not fit in max_head or has
 *                      more than HTTP1_MAX_HEADERS fields; or r->status 413:
 *                      the head is complete (r->head_len is set) but its
 *                      Content-Length exceeds max_body.
 *   BRAID_EUNSUPPORTED r->status 417 (Expect), 501 (transfer coding) or 505
 *                      (HTTP version).
 * Parsing is one left-to-right pass: a prefix of a buffer yields BRAID_EAGAIN
 * or the same result as the whole buffer. lim may be NULL (defaults, body
 * limit unbounded). Never allocates. */
int http1_parse_head(const uint8_t *buf, size_t len, const http1_limits *lim, http1_request *r);

/* First field named `name` (ASCII case-insensitive). Returns 0 and sets *value,
 * or BRAID_ENOTFOUND. */
int http1_header_get(const http1_request *r, const char *name, bslice *value);

/* Whether a comma-separated field (Connection, ...) holds `token`, ignoring case,
 * across every field line with that name. */
bool http1_header_has_token(const http1_request *r, const char *name, const char *token);

/* The standard reason phrase for a status code ("Not Found"); "Unknown" for
 * codes it does not know. Static string. */
const char *http1_status_text(int status);

/* ---- chunked transfer coding --------------------------------------------- */

/* Incremental de-chunker. Plain value; no cleanup needed. */
typedef struct {
    uint64_t max_body;  /* limit on de-chunked bytes */
    uint64_t total;     /* de-chunked bytes so far */
    uint64_t size;      /* bytes left in the current chunk (or size being read) */
    size_t line;        /* bytes of the current chunk-size line */
    size_t trailer;     /* bytes of the trailer section so far */
    size_t max_trailer; /* limit on the trailer section */
    int state;
    int status;         /* on error: HTTP status to answer with */
    const char *reason; /* on error: static explanation */
} http1_chunked;

/* Starts decoding one chunked body of at most max_body bytes whose trailer
 * section may take at most max_trailer bytes. */
void http1_chunked_init(http1_chunked *d, uint64_t max_body, size_t max_trailer);

/* Consumes framing and data from in[0, n) and writes the chunk data to out.
 * out may alias in (decoding in place): out never gets ahead of in, because
 * every data byte is preceded by at least one framing byte. out needs room for
 * n bytes in general. Sets *consumed and *produced (also on error).
 * Returns:
 *   0             the last chunk and trailer section ended; input after
 *                 in + *consumed belongs to the next message.
 *   BRAID_EAGAIN  all n bytes were consumed; more are needed.
 *   BRAID_EINVAL  malformed framing (d->status 400, d->reason).
 *   BRAID_ETOOBIG the body would exceed max_body (d->status 413) or the
 *                 trailers max_trailer (d->status 431), detected before the
 *                 data is copied: a chunk size alone is enough.
 * Splitting the input anywhere gives the same bytes and the same result. */
int http1_chunked_decode(http1_chunked *d, const uint8_t *in, size_t n, uint8_t *out,
                         size_t *consumed, size_t *produced);

/* ---- query strings and percent-encoding ----------------------------------- */

/* Iterates key[=value] pairs of an application/x-www-form-urlencoded query,
 * separated by '&' (empty pairs are skipped). Plain value, no cleanup. */
typedef struct {
    const uint8_t *p, *end;
    int err;
} http1_query_iter;

void http1_query_init(http1_query_iter *it, bslice query);

/* Next pair as raw (still encoded) slices; a key without '=' has an empty
 * value. Every '%' in the pair has been checked to start a valid escape that
 * is not %00, so http1_pct_decode of either slice cannot fail with EINVAL.
 * Returns 0, BRAID_ENOTFOUND after the last pair, or BRAID_EINVAL for a
 * malformed escape (and keeps returning it). */
int http1_query_next(http1_query_iter *it, bslice *key, bslice *value);

/* Percent-decodes src into out (capacity cap); with plus_is_space a '+'
 * becomes a space (query strings), otherwise it stays '+' (paths). out may
 * equal src.p: the result is never longer than the input.
 * Returns 0 (*out_len set), BRAID_EINVAL for '%' not followed by two hex
 * digits or for %00 (a NUL would truncate C strings downstream), or
 * BRAID_ETOOBIG when cap is too small. */
int http1_pct_decode(bslice src, bool plus_is_space, uint8_t *out, size_t cap, size_t *out_len);

/* Whether the raw (encoded) query key decodes to exactly `name`. */
bool http1_query_key_is(bslice raw_key, const char *name);

/* Decoded value of the first query parameter named `name` into out.
 * Returns 0, BRAID_ENOTFOUND, BRAID_EINVAL (malformed escape anywhere before or
 * in the match) or BRAID_ETOOBIG (cap too small). */
int http1_query_get(bslice query, const char *name, uint8_t *out, size_t cap, size_t *out_len);

#endif

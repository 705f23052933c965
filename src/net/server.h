/* server: HTTP/1.1 server on a libuv loop (uv_tcp). Accepts connections, frames
 * requests with http1, hands each complete request to a handler and writes the
 * responses back in request order (keep-alive, pipelining, timeouts, a
 * connection cap, automatic error responses). Owns its listener, connections
 * and their buffers. Runs on the loop thread only and never blocks it; heavy
 * work goes to the threadpool through http_exchange_offload. */
#ifndef BRAID_NET_SERVER_H
#define BRAID_NET_SERVER_H

#include <uv.h>

#include "../util/util.h"
#include "http1.h"

typedef struct http_server http_server;

/* One request and its pending response. Lives from the handler call until
 * http_respond; the request view (headers, body) stays valid until then. */
typedef struct http_exchange http_exchange;

/* Called on the loop thread for each complete request. It must eventually call
 * http_respond (or a variant) exactly once, now or later, on the loop thread.
 * The connection reads nothing more until then. */
typedef void (*http_handler_fn)(http_exchange *ex, void *ud);

/* Formats the body of an automatic error response (400, 408, 413, 417, 431,
 * 501, 505, and 500 when a response cannot be built): appends it to body and
 * returns its content type (static string). */
typedef const char *(*http_error_format_fn)(int status, const char *reason, buf *body, void *ud);

typedef struct {
    size_t max_head;                   /* request head bytes; 0 = 64 KiB (beyond: 431) */
    uint64_t max_body;                 /* body bytes after de-chunking; 0 = 16 MiB (413) */
    unsigned max_connections;          /* 0 = 4096; more are accepted and closed at once */
    uint64_t idle_timeout_ms;          /* keep-alive idle; 0 = 60000 */
    uint64_t request_timeout_ms;       /* first byte of a request to its last; 0 = 60000 (408) */
    uint64_t linger_ms;                /* after a final response, how long to drain the
                                          client's unread input before closing; 0 = 2000 */
    size_t max_write_queue;            /* unsent response bytes at which a connection
                                          stops taking requests; 0 = 1 MiB */
    http_error_format_fn format_error; /* NULL: {"error":"<reason>"} as JSON */
    void *format_error_ud;
} http_server_opts;

typedef struct {
    uint64_t requests;             /* requests given to the handler */
    uint64_t rejected_requests;    /* answered by the server itself (4xx/5xx) */
    uint64_t bytes_in, bytes_out;  /* on the wire */
    uint64_t connections_total;    /* accepted */
    uint64_t connections_rejected; /* closed at once: over max_connections */
    uint64_t connections_open;
} http_server_stats;

/* Binds addr ("host:port", "[v6addr]:port"; host is a numeric IP, "localhost"
 * or empty for all IPv4 interfaces; port 0 picks a free port) and starts
 * accepting on loop. opts may be NULL (all defaults). On success *out is the
 * server, which the caller releases with http_server_close. Returns 0,
 * BRAID_EINVAL for a malformed address, BRAID_EIO when binding or listening
 * fails (for both, a one-line reason is written to err, always NUL-terminated
 * when errlen > 0), or BRAID_ENOMEM. */
int http_server_listen(uv_loop_t *loop, const char *addr, const http_server_opts *opts,
                       http_handler_fn handler, void *ud, http_server **out, char *err,
                       size_t errlen);

/* What http_server_listen does before libuv: parses addr (same forms), binds
 * and listens. On success *fd is a non-blocking listening socket (the caller
 * closes it or hands it to uv_tcp_open) and *port the port bound. For every
 * braid listener, so they all accept the same addresses. Returns 0,
 * BRAID_EINVAL or BRAID_EIO (with a one-line reason in err). */
int net_listen_socket(const char *addr, int *fd, int *port, char *err, size_t errlen);

/* Accepts the next pending connection on listener ls only to close it at
 * once (a listener over its connection cap). done(ud) runs on the loop thread
 * when the handle is closed, so a server can wait for it before it finishes
 * closing. Returns 0, or BRAID_ENOMEM (done is not called; the connection
 * stays queued in the kernel). */
int net_reject_connection(uv_stream_t *ls, void (*done)(void *ud), void *ud);

/* The port actually bound (useful after port 0). */
int http_server_port(const http_server *s);

/* Counters so far. Loop thread only (e.g. from a /metrics handler). */
void http_server_stats_get(const http_server *s, http_server_stats *out);

/* Graceful close: stops accepting, closes idle and half-received connections,
 * lets requests already given to the handler finish (their responses carry
 * Connection: close and are flushed), then frees the server and calls
 * cb(ud) on the loop thread. cb may be NULL. The server must not be used
 * after this call. */
void http_server_close(http_server *s, void (*cb)(void *ud), void *ud);

/* ---- inside a handler --------------------------------------------------- */

/* The parsed request: method, target, path, query, headers. */
const http1_request *http_exchange_request(const http_exchange *ex);
/* The whole body (de-chunked); empty when there is none. */
bslice http_exchange_body(const http_exchange *ex);
/* First header named `name` (case-insensitive): 0 or BRAID_ENOTFOUND. */
int http_exchange_header(const http_exchange *ex, const char *name, bslice *value);

typedef struct {
    const char *name, *value;
} http_header_kv;

/* Sends the response. status is 200-599; content_type may be NULL (then none is
 * sent); extra headers (e.g. Retry-After, Content-Encoding) must not contain
 * CR, LF or NUL and must not be Content-Length, Transfer-Encoding or
 * Connection, which the server writes. The body is copied; a HEAD request gets
 * the headers only. After this call the exchange and its request view are
 * gone. Returns 0; BRAID_EINVAL for a bad status or header (a 500 is sent
 * instead); BRAID_ECLOSED when the client has gone (nothing is sent); or
 * BRAID_ENOMEM (the connection is closed). The exchange ends in every case. */
int http_respond(http_exchange *ex, int status, const char *content_type,
                 const http_header_kv *extra, size_t n_extra, const void *body, size_t len);

/* As http_respond, but takes the bytes of *body instead of copying them: body
 * is left empty (buf_init state) whatever the outcome. */
int http_respond_buf(http_exchange *ex, int status, const char *content_type,
                     const http_header_kv *extra, size_t n_extra, buf *body);

/* Sends an error in the server's error format (see format_error), e.g.
 * http_respond_error(ex, 404, "trace not found"). Same returns as http_respond. */
int http_respond_error(http_exchange *ex, int status, const char *reason);

/* Runs work(ex, ud) on the libuv threadpool, then done(ex, ud) on the loop
 * thread. work may read the request and body but must not call http_respond
 * or touch the loop; done must respond. Returns 0 or BRAID_EINVAL (then
 * nothing runs and the handler still owns the exchange). */
typedef void (*http_work_fn)(http_exchange *ex, void *ud);
int http_exchange_offload(http_exchange *ex, http_work_fn work, http_work_fn done, void *ud);

#endif

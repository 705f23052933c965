/* grpc: a sans-I/O gRPC server session for unary calls over one cleartext
 * HTTP/2 connection (prior knowledge), on libnghttp2's session API: bytes from
 * the client in, bytes to send back out. Frames length-prefixed messages,
 * handles grpc-encoding, routes methods, answers Health/Check and every
 * protocol-level error itself, and hands complete requests to a callback.
 * Owns its streams and their buffers; never touches a socket, never blocks. */
#ifndef BRAID_NET_GRPC_H
#define BRAID_NET_GRPC_H

#include "../util/util.h"

/* gRPC status codes (grpc/doc/statuscodes.md). */
typedef enum {
    GRPC_STATUS_OK = 0,
    GRPC_STATUS_CANCELLED = 1,
    GRPC_STATUS_UNKNOWN = 2,
    GRPC_STATUS_INVALID_ARGUMENT = 3,
    GRPC_STATUS_DEADLINE_EXCEEDED = 4,
    GRPC_STATUS_NOT_FOUND = 5,
    GRPC_STATUS_ALREADY_EXISTS = 6,
    GRPC_STATUS_PERMISSION_DENIED = 7,
    GRPC_STATUS_RESOURCE_EXHAUSTED = 8,
    GRPC_STATUS_FAILED_PRECONDITION = 9,
    GRPC_STATUS_ABORTED = 10,
    GRPC_STATUS_OUT_OF_RANGE = 11,
    GRPC_STATUS_UNIMPLEMENTED = 12,
    GRPC_STATUS_INTERNAL = 13,
    GRPC_STATUS_UNAVAILABLE = 14,
    GRPC_STATUS_DATA_LOSS = 15,
    GRPC_STATUS_UNAUTHENTICATED = 16,
} grpc_status;
#define GRPC_STATUS_COUNT 17

/* "OK", "INVALID_ARGUMENT", ... (static); "UNKNOWN" for out-of-range codes. */
const char *grpc_status_name(int code);

/* What the server advertises in grpc-accept-encoding. */
#define GRPC_ACCEPT_ENCODING "identity,deflate,gzip"

/* The health service every session answers itself. */
#define GRPC_HEALTH_CHECK "/grpc.health.v1.Health/Check"

typedef struct grpc_session grpc_session;

/* One unary call: the request as received, then the pending answer. */
typedef struct grpc_call grpc_call;

/* Called (from inside grpc_session_recv) when a call's request message is
 * complete. The callee owns the call until it passes it to grpc_call_respond,
 * now or later, on the session's thread; it may read the request on any
 * thread meanwhile. */
typedef void (*grpc_call_fn)(grpc_call *call, void *ud);

/* Counters, shared by every session that points at them. Updated on the
 * sessions' thread only. */
typedef struct {
    uint64_t calls;                     /* requests handed to the callback */
    uint64_t status[GRPC_STATUS_COUNT]; /* answers by grpc-status, the session's own included */
    uint64_t cancelled;                 /* streams reset or dropped before their answer went out */
    uint64_t compressed_gzip, compressed_deflate; /* request messages that arrived compressed */
    uint64_t health_checks;
    uint64_t protocol_errors; /* connections ended with an HTTP/2 error */
} grpc_stats;

typedef struct {
    /* Full method paths ("/package.Service/Method") the callback serves; a
     * call's method is its index here. Health/Check answers SERVING for ""
     * and for every service named here. The strings must outlive the session. */
    const char *const *methods;
    size_t n_methods;
    uint64_t max_message;            /* bytes, compressed and decompressed; 0 = 4 MiB */
    uint32_t max_concurrent_streams; /* 0 = 128 */
    uint32_t stream_window;          /* initial per-stream receive window; 0 = 4 MiB */
    uint32_t conn_window;            /* connection receive window; 0 = 16 MiB */
    grpc_call_fn on_call;
    void *ud;
    grpc_stats *stats; /* may be NULL */
} grpc_session_opts;

/* Creates a server session and queues its SETTINGS and connection
 * WINDOW_UPDATE. The client must start with the HTTP/2 preface. Free with
 * grpc_session_free. Returns 0, BRAID_EINVAL (no callback or methods), or
 * BRAID_ENOMEM. */
int grpc_session_new(const grpc_session_opts *o, grpc_session **out);

/* Frees the session and every call it still holds, except calls the callback
 * holds: those are detached, and grpc_call_respond frees them. NULL is fine. */
void grpc_session_free(grpc_session *s);

/* Feeds bytes received from the client; may call the callback. Returns 0;
 * BRAID_EINVAL when the client broke the protocol (a GOAWAY may be queued:
 * send what grpc_session_send gives, then close); or BRAID_ENOMEM. */
int grpc_session_recv(grpc_session *s, const uint8_t *p, size_t n);

/* Appends every byte the session wants to send to out. Returns 0, BRAID_EIO
 * when the session failed (close the connection), or BRAID_ENOMEM. */
int grpc_session_send(grpc_session *s, buf *out);

/* True when the connection has nothing left to do: GOAWAY sent or received
 * (or a fatal error) and no stream open, nothing to send. Close it then. */
bool grpc_session_done(grpc_session *s);

/* Graceful end: GOAWAY (NO_ERROR) naming the last stream received; those
 * streams still finish, later ones are refused. Idempotent. */
void grpc_session_shutdown(grpc_session *s);

/* Calls the session holds (receiving, in the callback, or answering). */
size_t grpc_session_calls(const grpc_session *s);

/* ---- inside the callback ------------------------------------------------ */

/* Index into opts.methods. */
size_t grpc_call_method(const grpc_call *c);

/* The request message, decompressed when it was sent compressed (into a buffer
 * the call owns). Safe on any thread while the callback holds the call; the
 * slice lives until grpc_call_respond. Returns 0; BRAID_ETOOBIG when it
 * decompresses to more than max_message (RESOURCE_EXHAUSTED); BRAID_EINVAL when
 * the compressed data is corrupt (INTERNAL); BRAID_ENOMEM. On error err says
 * why (always NUL-terminated when errlen > 0). */
int grpc_call_message(grpc_call *c, bslice *msg, char *err, size_t errlen);

/* An answer. */
typedef struct {
    int code;                /* grpc_status */
    char msg[400];           /* grpc-message; "" for none */
    uint32_t retry_delay_ms; /* > 0: a google.rpc.RetryInfo in grpc-status-details-bin */
    buf body;                /* the response message when code is OK */
} grpc_reply;

void grpc_reply_init(grpc_reply *r);
void grpc_reply_free(grpc_reply *r);

/* Answers the call and gives it back: OK sends HEADERS, the body as one
 * message and the trailers; any other code sends a trailers-only response.
 * Takes r->body (left empty). Session thread only. Returns 0; BRAID_ECLOSED
 * when the client reset the stream or the session is gone (the call is
 * freed, nothing is sent); BRAID_ENOMEM (the stream is reset). Flush the
 * session afterwards (grpc_session_send). */
int grpc_call_respond(grpc_call *c, grpc_reply *r);

/* ---- helpers, exposed for tests ------------------------------------------- */

/* Appends msg percent-encoded as grpc-message wants: bytes outside
 * 0x20-0x7e, and '%', become %XX. */
void grpc_percent_encode(const char *msg, buf *out);

/* Appends the grpc-status-details-bin value (unpadded base64 of a
 * google.rpc.Status carrying a RetryInfo) for code, msg and the delay. */
void grpc_status_details_retry(int code, const char *msg, uint32_t delay_ms, buf *out);

#endif

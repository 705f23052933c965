/* grpc_server: the libuv side of a gRPC receiver. Listens on TCP, feeds each
 * connection's bytes to a grpc session, writes what the session emits, runs
 * each complete unary call's work on the threadpool and answers on the loop
 * thread only after that work returned. Idle connections get a GOAWAY; a
 * graceful close lets calls already received finish. Owns its listener,
 * connections and sessions. Loop thread only; never blocks it. */
#ifndef BRAID_NET_GRPC_SERVER_H
#define BRAID_NET_GRPC_SERVER_H

#include <uv.h>

#include "grpc.h"

typedef struct grpc_server grpc_server;

/* Runs on the threadpool for each complete call: reads the request
 * (grpc_call_message, grpc_call_method) and fills reply (code OK with the
 * response message in reply->body, or an error code and message). It must
 * not touch the loop nor respond itself. */
typedef void (*grpc_work_fn)(grpc_call *call, grpc_reply *reply, void *ud);

typedef struct {
    const char *const *methods; /* full paths, see grpc_session_opts */
    size_t n_methods;
    uint64_t max_message;            /* per call, also decompressed; 0 = 4 MiB */
    unsigned max_connections;        /* 0 = 4096; more are accepted and closed at once */
    uint32_t max_concurrent_streams; /* per connection; 0 = 128 */
    uint64_t idle_timeout_ms;        /* no call and no byte for this long: GOAWAY; 0 = 300000 */
    uint64_t close_timeout_ms;       /* graceful close: longest wait for calls; 0 = 10000 */
} grpc_server_opts;

typedef struct {
    grpc_stats calls;
    uint64_t calls_in_flight; /* on the threadpool now */
    uint64_t bytes_in, bytes_out;
    uint64_t connections_total, connections_rejected, connections_open;
} grpc_server_stats;

/* Binds addr (the forms http_server_listen takes; port 0 picks one) and
 * starts accepting on loop. opts->methods is required; the rest may be 0.
 * On success *out is the server, released with grpc_server_close. Returns 0,
 * BRAID_EINVAL for a malformed address or options, BRAID_EIO when binding
 * fails (reason in err, always NUL-terminated when errlen > 0), or
 * BRAID_ENOMEM. */
int grpc_server_listen(uv_loop_t *loop, const char *addr, const grpc_server_opts *opts,
                       grpc_work_fn work, void *ud, grpc_server **out, char *err, size_t errlen);

/* The port actually bound. */
int grpc_server_port(const grpc_server *s);

/* Counters so far. Loop thread only. */
void grpc_server_stats_get(const grpc_server *s, grpc_server_stats *out);

/* Appends the braid_grpc_* families for a snapshot, Prometheus text format. */
void grpc_server_stats_text(const grpc_server_stats *st, buf *out);

/* Graceful close: stops accepting, sends GOAWAY on every connection, lets
 * calls already received finish (for at most close_timeout_ms), then closes
 * the connections, frees the server once no work is left on the threadpool,
 * and calls cb(ud) on the loop thread. cb may be NULL. The server must not
 * be used after this call. */
void grpc_server_close(grpc_server *s, void (*cb)(void *ud), void *ud);

#endif

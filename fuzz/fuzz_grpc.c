/* fuzz_grpc: libFuzzer target for the gRPC/HTTP-2 request path, no socket. The
 * input is a client's byte stream (the HTTP/2 preface and an empty SETTINGS
 * frame go in front unless it starts with the preface); it is fed to a grpc
 * session whole and in 13-byte pieces. Each complete call is decoded with
 * otlp_decode_pb into a batch that is thrown away, and answered. Checks: every
 * call reaches the handler once, output drains, GOAWAY shutdown is clean. */
#include "net/grpc.h"
#include "otlp/otlp.h"

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_grpc: check failed: %s (line %d)\n", #cond, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char *const methods[] = {
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
};

static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                 "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
#define MAGIC_LEN 24

static void on_call(grpc_call *c, void *ud)
{
    (*(uint64_t *)ud)++;
    grpc_reply r;
    grpc_reply_init(&r);
    bslice m;
    char err[300];
    int rc = grpc_call_message(c, &m, err, sizeof err);
    if (rc) {
        CHECK(err[0] != 0);
        r.code = rc == BRAID_ETOOBIG ? GRPC_STATUS_RESOURCE_EXHAUSTED : GRPC_STATUS_INTERNAL;
        snprintf(r.msg, sizeof r.msg, "%s", err);
    } else {
        otlp_kind k = (otlp_kind)grpc_call_method(c);
        model_batch b;
        model_batch_init(&b);
        rc = otlp_decode_pb(k, m.p, m.n, &b, err, sizeof err);
        if (rc == 0) {
            otlp_encode_response_pb(k, b.rejected, b.rejected ? b.reject_msg : NULL, &r.body);
        } else {
            r.code = GRPC_STATUS_INVALID_ARGUMENT;
            r.retry_delay_ms = 0;
            snprintf(r.msg, sizeof r.msg, "%s", err);
        }
        model_batch_free(&b);
    }
    CHECK(grpc_call_respond(c, &r) == 0);
    grpc_reply_free(&r);
}

static void drain(grpc_session *s)
{
    buf out;
    buf_init(&out);
    int rc = grpc_session_send(s, &out);
    CHECK(rc == 0 || rc == BRAID_EIO);
    buf_free(&out);
}

static void run(const uint8_t *data, size_t size, size_t piece)
{
    grpc_stats st;
    memset(&st, 0, sizeof st);
    uint64_t handled = 0;
    grpc_session_opts o = {.methods = methods,
                           .n_methods = 3,
                           .max_message = 64 << 10,
                           .on_call = on_call,
                           .ud = &handled,
                           .stats = &st};
    grpc_session *s;
    CHECK(grpc_session_new(&o, &s) == 0);
    drain(s);
    int rc = 0;
    if (size < MAGIC_LEN || memcmp(data, preface, MAGIC_LEN) != 0)
        rc = grpc_session_recv(s, preface, sizeof preface - 1);
    for (size_t off = 0; rc == 0 && off < size; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        rc = grpc_session_recv(s, data + off, n);
        drain(s);
    }
    CHECK(rc == 0 || rc == BRAID_EINVAL);
    uint64_t answered = 0;
    for (int i = 0; i < GRPC_STATUS_COUNT; i++)
        answered += st.status[i];
    /* every call handed over reached the handler once and got one answer */
    CHECK(st.calls == handled);
    CHECK(handled <= answered);
    grpc_session_shutdown(s);
    drain(s);
    CHECK(grpc_session_calls(s) <= 128);
    grpc_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, size ? size : 1);
    run(data, size, 13);
    return 0;
}

/* Tests for net/grpc (the sans-I/O gRPC session), net/otlp_grpc and
 * net/grpc_server: an in-process nghttp2 client session talks to a
 * grpc_session, bytes moving between the two in memory. A fake handler echoes
 * or holds calls; one suite runs the real OTLP handler over ingest and a store
 * in a temporary directory; one drives the libuv server over loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "net/grpc.h"
#include "net/grpc_server.h"
#include "net/gzip.h"
#include "net/otlp_grpc.h"
#include "pb/pb.h"
#include "store/store.h"

#define LOGS_PATH "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
#define TRACES_PATH "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define METRICS_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define MAX_STREAMS 300

static const char *const methods[] = {TRACES_PATH, LOGS_PATH, METRICS_PATH};

/* ---- the client side ---------------------------------------------------- */

typedef struct {
    int32_t id;
    int http_status;
    int grpc_status; /* -1 until a grpc-status arrives */
    char grpc_message[512];
    char accept_encoding[64];
    char content_type[64];
    char details[512];
    buf data;
    bool closed;
    bool got_rst;
    int rst_count;
    uint32_t rst_code;
    bool status_before_end; /* grpc-status arrived while the request was still open */
} cstream;

typedef struct {
    const uint8_t *p;
    size_t n, off;
} csrc;

typedef struct H H;
typedef void (*call_fn)(H *h, grpc_call *c);

struct H {
    nghttp2_session *cli;
    grpc_session *srv;
    grpc_stats st;
    grpc_session_opts o;
    cstream streams[MAX_STREAMS];
    int nstreams;
    csrc *srcs[2 * MAX_STREAMS];
    int nsrcs;
    int ping_acks;
    bool goaway;
    uint32_t goaway_code;
    bool recv_error;
    bool request_open[MAX_STREAMS]; /* parallel to streams: END_STREAM not yet sent */
    /* server side */
    call_fn on_call;
    bool hold;
    grpc_call *held[MAX_STREAMS];
    int nheld;
    int calls;
    size_t last_method;
    int last_msg_rc;
    char last_err[256];
    buf last_msg;
    ingest *ing;
    int fd; /* talking to a real server over this socket; -1 for the in-memory session */
};

static cstream *stream_of(H *h, int32_t id)
{
    for (int i = 0; i < h->nstreams; i++)
        if (h->streams[i].id == id)
            return &h->streams[i];
    return NULL;
}

static void percent_decode(const uint8_t *v, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (v[i] == '%' && i + 2 < n) {
            char hex[3] = {(char)v[i + 1], (char)v[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = (char)v[i];
        }
    }
    out[o] = 0;
}

static void copy_value(char *dst, size_t cap, const uint8_t *v, size_t n)
{
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(dst, v, k);
    dst[k] = 0;
}

static int cli_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                         size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                         void *ud)
{
    (void)s;
    (void)flags;
    H *h = ud;
    cstream *cs = stream_of(h, f->hd.stream_id);
    if (!cs)
        return 0;
#define IS(x) (namelen == sizeof(x) - 1 && memcmp(name, x, namelen) == 0)
    if (IS(":status")) {
        char tmp[8];
        copy_value(tmp, sizeof tmp, value, valuelen);
        cs->http_status = atoi(tmp);
    } else if (IS("grpc-status")) {
        char tmp[8];
        copy_value(tmp, sizeof tmp, value, valuelen);
        cs->grpc_status = atoi(tmp);
        cs->status_before_end = h->request_open[cs - h->streams];
    } else if (IS("grpc-message")) {
        percent_decode(value, valuelen, cs->grpc_message, sizeof cs->grpc_message);
    } else if (IS("grpc-accept-encoding")) {
        copy_value(cs->accept_encoding, sizeof cs->accept_encoding, value, valuelen);
    } else if (IS("content-type")) {
        copy_value(cs->content_type, sizeof cs->content_type, value, valuelen);
    } else if (IS("grpc-status-details-bin")) {
        copy_value(cs->details, sizeof cs->details, value, valuelen);
    }
#undef IS
    return 0;
}

static int cli_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
                       void *ud)
{
    (void)s;
    (void)flags;
    cstream *cs = stream_of(ud, id);
    if (cs)
        buf_append(&cs->data, d, n);
    return 0;
}

static int cli_on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    H *h = ud;
    if (f->hd.type == NGHTTP2_PING && (f->hd.flags & NGHTTP2_FLAG_ACK))
        h->ping_acks++;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        h->goaway = true;
        h->goaway_code = f->goaway.error_code;
    }
    if (f->hd.type == NGHTTP2_RST_STREAM) {
        cstream *cs = stream_of(h, f->hd.stream_id);
        if (cs) {
            cs->got_rst = true;
            cs->rst_count++;
            cs->rst_code = f->rst_stream.error_code;
        }
    }
    return 0;
}

static int cli_on_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    (void)s;
    (void)code;
    cstream *cs = stream_of(ud, id);
    if (cs)
        cs->closed = true;
    return 0;
}

static int cli_on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    H *h = ud;
    cstream *cs = stream_of(h, f->hd.stream_id);
    if (cs && (f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        (f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS))
        h->request_open[cs - h->streams] = false;
    return 0;
}

static ssize_t src_read(nghttp2_session *s, int32_t id, uint8_t *out, size_t len, uint32_t *flags,
                        nghttp2_data_source *source, void *ud)
{
    (void)s;
    (void)id;
    (void)ud;
    csrc *src = source->ptr;
    size_t n = src->n - src->off < len ? src->n - src->off : len;
    if (n)
        memcpy(out, src->p + src->off, n);
    src->off += n;
    if (src->off == src->n)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* ---- the server side: fake handlers ---------------------------------------- */

static void echo_respond(grpc_call *c)
{
    bslice m;
    char err[200];
    grpc_reply r;
    grpc_reply_init(&r);
    int rc = grpc_call_message(c, &m, err, sizeof err);
    if (rc) {
        r.code = rc == BRAID_ETOOBIG ? GRPC_STATUS_RESOURCE_EXHAUSTED : GRPC_STATUS_INTERNAL;
        snprintf(r.msg, sizeof r.msg, "%s", err);
    } else {
        buf_append(&r.body, m.p, m.n);
    }
    assert_int_equal(grpc_call_respond(c, &r), 0);
    grpc_reply_free(&r);
}

static void fake_on_call(grpc_call *c, void *ud)
{
    H *h = ud;
    h->calls++;
    h->last_method = grpc_call_method(c);
    bslice m;
    buf_reset(&h->last_msg);
    h->last_msg_rc = grpc_call_message(c, &m, h->last_err, sizeof h->last_err);
    if (h->last_msg_rc == 0)
        buf_append(&h->last_msg, m.p, m.n);
    if (h->on_call) {
        h->on_call(h, c);
        return;
    }
    if (h->hold) {
        assert_true(h->nheld < MAX_STREAMS);
        h->held[h->nheld++] = c;
        return;
    }
    echo_respond(c);
}

/* ---- harness ------------------------------------------------------------------ */

static H *h_new(uint64_t max_message)
{
    H *h = calloc(1, sizeof *h);
    assert_non_null(h);
    buf_init(&h->last_msg);
    nghttp2_session_callbacks *cb;
    assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
    nghttp2_session_callbacks_set_on_header_callback(cb, cli_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, cli_on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, cli_on_frame);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, cli_on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, cli_on_close);
    assert_int_equal(nghttp2_session_client_new(&h->cli, cb, h), 0);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    assert_int_equal(nghttp2_submit_settings(h->cli, NGHTTP2_FLAG_NONE, iv, 1), 0);
    h->o = (grpc_session_opts){.methods = methods,
                               .n_methods = 3,
                               .max_message = max_message,
                               .on_call = fake_on_call,
                               .ud = h,
                               .stats = &h->st};
    assert_int_equal(grpc_session_new(&h->o, &h->srv), 0);
    h->fd = -1;
    return h;
}

static void h_free(H *h)
{
    nghttp2_session_del(h->cli);
    grpc_session_free(h->srv);
    for (int i = 0; i < h->nstreams; i++)
        buf_free(&h->streams[i].data);
    for (int i = 0; i < h->nsrcs; i++)
        free(h->srcs[i]);
    buf_free(&h->last_msg);
    free(h);
}

/* Moves bytes both ways until neither side has anything to say. */
static void pump(H *h)
{
    for (int round = 0; round < 100000; round++) {
        bool progress = false;
        const uint8_t *d;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(h->cli, &d)) > 0) {
            progress = true;
            if (h->srv && grpc_session_recv(h->srv, d, (size_t)n) != 0)
                h->recv_error = true;
        }
        assert_true(n >= 0);
        if (!h->srv)
            return;
        buf out;
        buf_init(&out);
        assert_int_equal(grpc_session_send(h->srv, &out), 0);
        if (out.n) {
            progress = true;
            assert_int_equal(nghttp2_session_mem_recv(h->cli, out.p, out.n), (ssize_t)out.n);
        }
        buf_free(&out);
        if (!progress)
            return;
    }
    fail_msg("the two sessions never went quiet");
}

/* Opens a request stream: headers only, no END_STREAM. */
static int32_t open_req(H *h, const char *method, const char *path, const char *ctype,
                        const char *encoding)
{
    nghttp2_nv nv[8];
    size_t n = 0;
#define ADD(k, v)                                                                                  \
    nv[n++] =                                                                                      \
        (nghttp2_nv){(uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), NGHTTP2_NV_FLAG_NONE}
    ADD(":method", method);
    ADD(":scheme", "http");
    ADD(":path", path);
    ADD(":authority", "localhost");
    if (ctype)
        ADD("content-type", ctype);
    ADD("te", "trailers");
    if (encoding)
        ADD("grpc-encoding", encoding);
#undef ADD
    int32_t id = nghttp2_submit_headers(h->cli, NGHTTP2_FLAG_NONE, -1, NULL, nv, n, NULL);
    assert_true(id > 0);
    assert_true(h->nstreams < MAX_STREAMS);
    cstream *cs = &h->streams[h->nstreams];
    memset(cs, 0, sizeof *cs);
    cs->id = id;
    cs->grpc_status = -1;
    buf_init(&cs->data);
    h->request_open[h->nstreams] = true;
    h->nstreams++;
    /* the HEADERS go out now (DATA can only follow an open stream); the
     * server's answer is read later, as a client writing its body would */
    const uint8_t *d;
    ssize_t k;
    while ((k = nghttp2_session_mem_send(h->cli, &d)) > 0) {
        if (h->fd >= 0)
            assert_int_equal(send(h->fd, d, (size_t)k, MSG_NOSIGNAL), k);
        else if (grpc_session_recv(h->srv, d, (size_t)k) != 0)
            h->recv_error = true;
    }
    assert_true(k == 0);
    return id;
}

/* Queues DATA; the bytes must outlive the pump that sends them. */
static void send_data(H *h, int32_t id, const uint8_t *p, size_t n, bool end)
{
    csrc *src = calloc(1, sizeof *src);
    assert_non_null(src);
    *src = (csrc){p, n, 0};
    h->srcs[h->nsrcs++] = src;
    nghttp2_data_provider prd = {.source.ptr = src, .read_callback = src_read};
    assert_int_equal(
        nghttp2_submit_data(h->cli, end ? NGHTTP2_FLAG_END_STREAM : NGHTTP2_FLAG_NONE, id, &prd),
        0);
}

/* A gRPC message: flag, a length prefix (which may lie), then the bytes. */
static void frame(buf *out, uint8_t flag, uint32_t len, const void *p, size_t n)
{
    uint8_t pre[5] = {flag, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    buf_append(out, pre, 5);
    buf_append(out, p, n);
}

/* One whole unary call; returns its stream once the sessions are quiet. */
static cstream *unary(H *h, const char *path, const char *encoding, const buf *body)
{
    int32_t id = open_req(h, "POST", path, "application/grpc", encoding);
    send_data(h, id, body->p, body->n, true);
    pump(h);
    return stream_of(h, id);
}

/* The single response message of a stream. */
static bslice response_message(const cstream *cs)
{
    assert_true(cs->data.n >= 5);
    assert_int_equal(cs->data.p[0], 0);
    uint32_t len = (uint32_t)cs->data.p[1] << 24 | (uint32_t)cs->data.p[2] << 16 |
                   (uint32_t)cs->data.p[3] << 8 | cs->data.p[4];
    assert_int_equal(len, cs->data.n - 5);
    return (bslice){cs->data.p + 5, len};
}

/* ---- tests: the happy path ---------------------------------------------------- */

static void test_unary_ok(void **state)
{
    (void)state;
    H *h = h_new(0);
    buf b;
    buf_init(&b);
    frame(&b, 0, 5, "hello", 5);
    cstream *cs = unary(h, LOGS_PATH, NULL, &b);
    assert_int_equal(h->calls, 1);
    assert_int_equal(h->last_method, 1);
    assert_int_equal(h->last_msg.n, 5);
    assert_memory_equal(h->last_msg.p, "hello", 5);
    assert_int_equal(cs->http_status, 200);
    assert_string_equal(cs->content_type, "application/grpc");
    assert_string_equal(cs->accept_encoding, "identity,deflate,gzip");
    assert_int_equal(cs->grpc_status, 0);
    assert_string_equal(cs->grpc_message, "");
    bslice m = response_message(cs);
    assert_int_equal(m.n, 5);
    assert_memory_equal(m.p, "hello", 5);
    assert_true(cs->closed);
    assert_false(cs->got_rst);
    assert_int_equal(grpc_session_calls(h->srv), 0);
    assert_int_equal(h->st.calls, 1);
    assert_int_equal(h->st.status[GRPC_STATUS_OK], 1);
    assert_int_equal(h->st.cancelled, 0);
    /* the same connection serves the next call, an empty message included */
    buf_reset(&b);
    frame(&b, 0, 0, NULL, 0);
    cs = unary(h, TRACES_PATH, "identity", &b);
    assert_int_equal(cs->grpc_status, 0);
    assert_int_equal(h->last_method, 0);
    assert_int_equal(response_message(cs).n, 0);
    /* content-type with +proto is gRPC too */
    int32_t id = open_req(h, "POST", LOGS_PATH, "application/grpc+proto", NULL);
    buf_reset(&b);
    frame(&b, 0, 2, "ok", 2);
    send_data(h, id, b.p, b.n, true);
    pump(h);
    assert_int_equal(stream_of(h, id)->grpc_status, 0);
    buf_free(&b);
    h_free(h);
}

static void test_settings_and_windows(void **state)
{
    (void)state;
    H *h = h_new(0);
    pump(h);
    assert_int_equal(
        nghttp2_session_get_remote_settings(h->cli, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS), 128);
    assert_int_equal(
        nghttp2_session_get_remote_settings(h->cli, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE), 4 << 20);
    assert_int_equal(nghttp2_session_get_remote_window_size(h->cli), 16 << 20);
    assert_int_equal(nghttp2_session_get_remote_settings(h->cli, NGHTTP2_SETTINGS_MAX_FRAME_SIZE),
                     1 << 20);
    h_free(h);
}

/* A 4 MiB export arrives whole without waiting on flow control. */
static void test_large_message(void **state)
{
    (void)state;
    H *h = h_new(8u << 20);
    size_t n = 4u << 20;
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + (i >> 13));
    buf b;
    buf_init(&b);
    frame(&b, 0, (uint32_t)n, p, n);
    cstream *cs = unary(h, LOGS_PATH, NULL, &b);
    assert_int_equal(h->calls, 1);
    assert_int_equal(h->last_msg.n, n);
    assert_memory_equal(h->last_msg.p, p, n);
    assert_int_equal(cs->grpc_status, 0);
    assert_int_equal(response_message(cs).n, n);
    free(p);
    buf_free(&b);
    h_free(h);
}

static void test_compressed(void **state)
{
    (void)state;
    static const struct {
        const char *encoding;
        gzip_format fmt;
    } rows[] = {
        {"gzip", GZIP_FMT_GZIP},       /* what OTel SDKs send with compression=gzip */
        {"deflate", GZIP_FMT_DEFLATE}, /* the zlib format gRPC calls deflate */
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        H *h = h_new(0);
        char plain[3000];
        for (size_t i = 0; i < sizeof plain; i++)
            plain[i] = (char)('a' + i % 7);
        buf z, b;
        buf_init(&z);
        buf_init(&b);
        assert_int_equal(gzip_compress(rows[r].fmt, 6, (const uint8_t *)plain, sizeof plain, &z),
                         0);
        frame(&b, 1, (uint32_t)z.n, z.p, z.n);
        cstream *cs = unary(h, LOGS_PATH, rows[r].encoding, &b);
        assert_int_equal(cs->grpc_status, 0);
        assert_int_equal(h->last_msg_rc, 0);
        assert_int_equal(h->last_msg.n, sizeof plain);
        assert_memory_equal(h->last_msg.p, plain, sizeof plain);
        assert_int_equal(
            rows[r].fmt == GZIP_FMT_GZIP ? h->st.compressed_gzip : h->st.compressed_deflate, 1);
        /* an uncompressed message under a grpc-encoding is fine too */
        buf_reset(&b);
        frame(&b, 0, 3, "abc", 3);
        cs = unary(h, LOGS_PATH, rows[r].encoding, &b);
        assert_int_equal(cs->grpc_status, 0);
        assert_memory_equal(h->last_msg.p, "abc", 3);
        buf_free(&z);
        buf_free(&b);
        h_free(h);
    }
}

/* The decompressed size is held to the limit as well; corrupt data is INTERNAL. */
static void test_compressed_limits(void **state)
{
    (void)state;
    H *h = h_new(1024);
    uint8_t zeros[20000] = {0};
    buf z, b;
    buf_init(&z);
    buf_init(&b);
    assert_int_equal(gzip_compress(GZIP_FMT_GZIP, 9, zeros, sizeof zeros, &z), 0);
    assert_true(z.n < 1024);
    frame(&b, 1, (uint32_t)z.n, z.p, z.n);
    cstream *cs = unary(h, LOGS_PATH, "gzip", &b);
    assert_int_equal(h->last_msg_rc, BRAID_ETOOBIG);
    assert_int_equal(cs->grpc_status, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(cs->grpc_message,
                        "decompressed request message is larger than the limit of 1024 bytes");
    buf_reset(&b);
    frame(&b, 1, 10, "not gzip!!", 10);
    cs = unary(h, LOGS_PATH, "gzip", &b);
    assert_int_equal(h->last_msg_rc, BRAID_EINVAL);
    assert_int_equal(cs->grpc_status, GRPC_STATUS_INTERNAL);
    assert_string_equal(cs->grpc_message, "request message is not valid gzip data");
    buf_free(&z);
    buf_free(&b);
    h_free(h);
}

/* ---- tests: refusals by the session ---------------------------------------------- */

typedef struct {
    const char *why;
    const char *method, *path, *ctype, *encoding;
    uint8_t flag;
    uint32_t prefix_len; /* what the length prefix claims */
    const char *bytes;   /* what follows it */
    int nprefix;         /* bytes of the prefix sent (5 = whole) */
    int http_status, grpc_status;
    const char *message;
} refusal;

static const refusal refusals[] = {
    {"a length prefix longer than the data", "POST", LOGS_PATH, "application/grpc", NULL, 0, 100,
     "0123456789", 5, 200, GRPC_STATUS_INTERNAL,
     "stream ended inside a message: its length prefix says 100 bytes, 10 arrived"},
    {"a length prefix shorter than the data", "POST", LOGS_PATH, "application/grpc", NULL, 0, 3,
     "0123456789", 5, 200, GRPC_STATUS_INTERNAL, "more than one request message in a unary call"},
    {"a stream that ends inside the prefix", "POST", LOGS_PATH, "application/grpc", NULL, 0, 3, "",
     3, 200, GRPC_STATUS_INTERNAL, "stream ended inside a message length prefix (3 of 5 bytes)"},
    {"no message at all", "POST", LOGS_PATH, "application/grpc", NULL, 0, 0, "", 0, 200,
     GRPC_STATUS_INTERNAL, "no request message in a unary call"},
    {"compressed flag without grpc-encoding", "POST", LOGS_PATH, "application/grpc", NULL, 1, 3,
     "abc", 5, 200, GRPC_STATUS_INTERNAL,
     "compressed-flag set on a message without a grpc-encoding"},
    {"compressed flag with grpc-encoding identity", "POST", LOGS_PATH, "application/grpc",
     "identity", 1, 3, "abc", 5, 200, GRPC_STATUS_INTERNAL,
     "compressed-flag set on a message without a grpc-encoding"},
    {"a compressed flag that is neither 0 nor 1", "POST", LOGS_PATH, "application/grpc", NULL, 2, 3,
     "abc", 5, 200, GRPC_STATUS_INTERNAL, "invalid message compressed-flag 2"},
    {"an encoding the server does not have", "POST", LOGS_PATH, "application/grpc", "snappy", 1, 3,
     "abc", 5, 200, GRPC_STATUS_UNIMPLEMENTED,
     "grpc-encoding \"snappy\" is not supported; use one of identity,deflate,gzip"},
    {"an unknown service", "POST", "/acme.Billing/Charge", "application/grpc", NULL, 0, 3, "abc", 5,
     200, GRPC_STATUS_UNIMPLEMENTED, "unknown service acme.Billing"},
    {"an unknown method of a known service", "POST",
     "/opentelemetry.proto.collector.logs.v1.LogsService/Import", "application/grpc", NULL, 0, 3,
     "abc", 5, 200, GRPC_STATUS_UNIMPLEMENTED,
     "unknown method Import of service opentelemetry.proto.collector.logs.v1.LogsService"},
    {"health Watch is a streaming call braid does not serve", "POST",
     "/grpc.health.v1.Health/Watch", "application/grpc", NULL, 0, 0, "", 5, 200,
     GRPC_STATUS_UNIMPLEMENTED, "unknown method Watch of service grpc.health.v1.Health"},
    {"a path that is not /service/method", "POST", "/nonsense", "application/grpc", NULL, 0, 3,
     "abc", 5, 200, GRPC_STATUS_UNIMPLEMENTED, "unknown service nonsense"},
    {"a content type that is not gRPC (415 as the gRPC spec says)", "POST", LOGS_PATH,
     "application/json", NULL, 0, 3, "abc", 5, 415, GRPC_STATUS_INTERNAL,
     "content-type must be application/grpc or application/grpc+proto"},
    {"a content type that only starts like gRPC", "POST", LOGS_PATH, "application/grpcweb", NULL, 0,
     3, "abc", 5, 415, GRPC_STATUS_INTERNAL,
     "content-type must be application/grpc or application/grpc+proto"},
    {"no content type", "POST", LOGS_PATH, NULL, NULL, 0, 3, "abc", 5, 415, GRPC_STATUS_INTERNAL,
     "content-type must be application/grpc or application/grpc+proto"},
    {"GET is not a gRPC call", "GET", LOGS_PATH, "application/grpc", NULL, 0, 3, "abc", 5, 405,
     GRPC_STATUS_UNIMPLEMENTED, "gRPC requests use POST"},
    {"a message over the limit, refused from its prefix", "POST", LOGS_PATH, "application/grpc",
     NULL, 0, 1025, "abc", 5, 200, GRPC_STATUS_RESOURCE_EXHAUSTED,
     "request message of 1025 bytes is larger than the limit of 1024 bytes"},
};

static void test_refusals(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof refusals / sizeof refusals[0]; r++) {
        const refusal *t = &refusals[r];
        H *h = h_new(1024);
        buf b;
        buf_init(&b);
        frame(&b, t->flag, t->prefix_len, t->bytes, strlen(t->bytes));
        size_t n = t->nprefix == 5 ? b.n : (size_t)t->nprefix;
        int32_t id = open_req(h, t->method, t->path, t->ctype, t->encoding);
        send_data(h, id, b.p, n, true);
        pump(h);
        cstream *cs = stream_of(h, id);
        if (cs->http_status != t->http_status || cs->grpc_status != t->grpc_status ||
            strcmp(cs->grpc_message, t->message) != 0)
            fail_msg("%s: got HTTP %d, grpc-status %d \"%s\"; want %d, %d \"%s\"", t->why,
                     cs->http_status, cs->grpc_status, cs->grpc_message, t->http_status,
                     t->grpc_status, t->message);
        assert_int_equal(h->calls, 0);
        assert_string_equal(cs->accept_encoding, "identity,deflate,gzip");
        assert_int_equal(cs->data.n, 0);
        assert_true(cs->closed);
        assert_int_equal(h->st.status[t->grpc_status], 1);
        assert_int_equal(grpc_session_calls(h->srv), 0);
        /* the connection still serves */
        buf_reset(&b);
        frame(&b, 0, 2, "ok", 2);
        assert_int_equal(unary(h, LOGS_PATH, NULL, &b)->grpc_status, 0);
        assert_false(h->recv_error);
        assert_false(h->goaway);
        buf_free(&b);
        h_free(h);
    }
}

/* A message at exactly the limit passes; one byte more is refused. */
static void test_limit_boundary(void **state)
{
    (void)state;
    H *h = h_new(1024);
    uint8_t p[1025];
    memset(p, 'x', sizeof p);
    buf b;
    buf_init(&b);
    frame(&b, 0, 1024, p, 1024);
    assert_int_equal(unary(h, LOGS_PATH, NULL, &b)->grpc_status, 0);
    assert_int_equal(h->last_msg.n, 1024);
    buf_reset(&b);
    frame(&b, 0, 1025, p, 1025);
    assert_int_equal(unary(h, LOGS_PATH, NULL, &b)->grpc_status, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_int_equal(h->calls, 1);
    buf_free(&b);
    h_free(h);
}

/* An oversized message is refused from its prefix while the client is still
 * sending: the answer arrives before the request ends, the client is told to
 * stop (RST_STREAM NO_ERROR), and the rest costs nothing. */
static void test_oversized_refused_early(void **state)
{
    (void)state;
    H *h = h_new(64 << 10);
    buf b;
    buf_init(&b);
    uint8_t chunk[16384];
    memset(chunk, 'z', sizeof chunk);
    frame(&b, 0, 50u << 20, chunk, sizeof chunk);
    int32_t id = open_req(h, "POST", LOGS_PATH, "application/grpc", NULL);
    send_data(h, id, b.p, b.n, false);
    pump(h);
    cstream *cs = stream_of(h, id);
    assert_int_equal(cs->grpc_status, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_true(cs->status_before_end);
    assert_string_equal(
        cs->grpc_message,
        "request message of 52428800 bytes is larger than the limit of 65536 bytes");
    assert_int_equal(cs->rst_count, 1);
    assert_int_equal(cs->rst_code, NGHTTP2_NO_ERROR);
    assert_true(cs->closed);
    assert_int_equal(h->calls, 0);
    assert_int_equal(grpc_session_calls(h->srv), 0);
    assert_int_equal(h->st.cancelled, 0);
    buf_free(&b);
    h_free(h);
}

/* ---- tests: streams that go away ------------------------------------------------- */

static void test_reset_halfway(void **state)
{
    (void)state;
    H *h = h_new(0);
    static uint8_t part[1000];
    buf b;
    buf_init(&b);
    frame(&b, 0, 100000, part, sizeof part);
    int32_t id = open_req(h, "POST", LOGS_PATH, "application/grpc", NULL);
    send_data(h, id, b.p, b.n, false);
    pump(h);
    assert_int_equal(grpc_session_calls(h->srv), 1);
    assert_int_equal(nghttp2_submit_rst_stream(h->cli, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL), 0);
    pump(h);
    /* the half-received request and its buffer are gone (ASan checks the free) */
    assert_int_equal(grpc_session_calls(h->srv), 0);
    assert_int_equal(h->st.cancelled, 1);
    assert_int_equal(h->calls, 0);
    assert_int_equal(stream_of(h, id)->grpc_status, -1);
    /* and the connection goes on */
    buf_reset(&b);
    frame(&b, 0, 2, "ok", 2);
    assert_int_equal(unary(h, LOGS_PATH, NULL, &b)->grpc_status, 0);
    buf_free(&b);
    h_free(h);
}

/* A reset while the handler holds the call: the answer finds the stream gone. */
static void test_reset_while_in_handler(void **state)
{
    (void)state;
    H *h = h_new(0);
    h->hold = true;
    buf b;
    buf_init(&b);
    frame(&b, 0, 4, "data", 4);
    int32_t id = open_req(h, "POST", LOGS_PATH, "application/grpc", NULL);
    send_data(h, id, b.p, b.n, true);
    pump(h);
    assert_int_equal(h->nheld, 1);
    assert_int_equal(nghttp2_submit_rst_stream(h->cli, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL), 0);
    pump(h);
    assert_int_equal(grpc_session_calls(h->srv), 0);
    assert_int_equal(h->st.cancelled, 1);
    /* the request is still readable until the answer */
    bslice m;
    assert_int_equal(grpc_call_message(h->held[0], &m, NULL, 0), 0);
    assert_int_equal(m.n, 4);
    grpc_reply r;
    grpc_reply_init(&r);
    buf_puts(&r.body, "late");
    assert_int_equal(grpc_call_respond(h->held[0], &r), BRAID_ECLOSED);
    assert_int_equal(r.body.n, 0);
    grpc_reply_free(&r);
    pump(h);
    assert_int_equal(stream_of(h, id)->grpc_status, -1);
    buf_free(&b);
    h_free(h);
}

/* The connection drops (session freed) with calls in every state. */
static void test_session_freed_under_calls(void **state)
{
    (void)state;
    H *h = h_new(0);
    h->hold = true;
    static uint8_t part[500];
    buf whole, half;
    buf_init(&whole);
    buf_init(&half);
    frame(&whole, 0, 4, "data", 4);
    frame(&half, 0, 9999, part, sizeof part);
    int32_t a = open_req(h, "POST", LOGS_PATH, "application/grpc", NULL);
    send_data(h, a, whole.p, whole.n, true);
    int32_t b = open_req(h, "POST", LOGS_PATH, "application/grpc", NULL);
    send_data(h, b, half.p, half.n, false);
    pump(h);
    assert_int_equal(h->nheld, 1);
    assert_int_equal(grpc_session_calls(h->srv), 2);
    grpc_session_free(h->srv);
    h->srv = NULL;
    assert_int_equal(h->st.cancelled, 2);
    grpc_reply r;
    grpc_reply_init(&r);
    assert_int_equal(grpc_call_respond(h->held[0], &r), BRAID_ECLOSED);
    grpc_reply_free(&r);
    buf_free(&whole);
    buf_free(&half);
    h_free(h);
}

/* ---- tests: concurrency, health, PING, GOAWAY ------------------------------------ */

static void test_many_streams(void **state)
{
    (void)state;
    H *h = h_new(0);
    h->hold = true;
    enum { N = 120 };
    static char bodies[N][16];
    buf frames[N];
    int32_t ids[N];
    pump(h); /* the client learns the server's 128 (its default before is 100) */
    for (int i = 0; i < N; i++) {
        int n = snprintf(bodies[i], sizeof bodies[i], "stream-%d", i);
        buf_init(&frames[i]);
        frame(&frames[i], 0, (uint32_t)n, bodies[i], (size_t)n);
        ids[i] = open_req(h, "POST", i % 2 ? LOGS_PATH : TRACES_PATH, "application/grpc", NULL);
        send_data(h, ids[i], frames[i].p, frames[i].n, true);
    }
    pump(h);
    assert_int_equal(h->nheld, N);
    assert_int_equal(grpc_session_calls(h->srv), N);
    /* answered in reverse order: each stream gets its own message back */
    for (int i = N - 1; i >= 0; i--)
        echo_respond(h->held[i]);
    pump(h);
    for (int i = 0; i < N; i++) {
        cstream *cs = stream_of(h, ids[i]);
        assert_int_equal(cs->grpc_status, 0);
        bslice m = response_message(cs);
        assert_int_equal(m.n, strlen(bodies[i]));
        assert_memory_equal(m.p, bodies[i], m.n);
        buf_free(&frames[i]);
    }
    assert_int_equal(grpc_session_calls(h->srv), 0);
    assert_int_equal(h->st.status[GRPC_STATUS_OK], N);
    h_free(h);
}

static void health_request(buf *out, const char *service)
{
    buf m;
    buf_init(&m);
    if (service)
        pb_put_string(&m, 1, service);
    frame(out, 0, (uint32_t)m.n, m.p, m.n);
    buf_free(&m);
}

static void test_health(void **state)
{
    (void)state;
    static const struct {
        const char *service;
        int status;
        const char *message;
    } rows[] = {
        {NULL, 0, ""}, /* the server as a whole */
        {"", 0, ""},
        {"opentelemetry.proto.collector.trace.v1.TraceService", 0, ""},
        {"opentelemetry.proto.collector.logs.v1.LogsService", 0, ""},
        {"opentelemetry.proto.collector.metrics.v1.MetricsService", 0, ""},
        {"opentelemetry.proto.collector.logs.v1", GRPC_STATUS_NOT_FOUND,
         "unknown service \"opentelemetry.proto.collector.logs.v1\""},
        {"acme.Billing", GRPC_STATUS_NOT_FOUND, "unknown service \"acme.Billing\""},
    };
    H *h = h_new(0);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        buf b;
        buf_init(&b);
        health_request(&b, rows[r].service);
        cstream *cs = unary(h, GRPC_HEALTH_CHECK, NULL, &b);
        assert_int_equal(cs->grpc_status, rows[r].status);
        assert_string_equal(cs->grpc_message, rows[r].message);
        if (rows[r].status == 0) {
            bslice m = response_message(cs);
            /* HealthCheckResponse{status: SERVING} */
            assert_int_equal(m.n, 2);
            assert_memory_equal(m.p, "\x08\x01", 2);
        }
        buf_free(&b);
    }
    assert_int_equal(h->calls, 0);
    assert_int_equal(h->st.health_checks, sizeof rows / sizeof rows[0]);
    /* a malformed HealthCheckRequest */
    buf b;
    buf_init(&b);
    frame(&b, 0, 2, "\x0a\x05", 2);
    cstream *cs = unary(h, GRPC_HEALTH_CHECK, NULL, &b);
    assert_int_equal(cs->grpc_status, GRPC_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(cs->grpc_message, "malformed HealthCheckRequest"));
    buf_free(&b);
    h_free(h);
}

static void test_ping(void **state)
{
    (void)state;
    H *h = h_new(0);
    uint8_t opaque[8] = "braid!!";
    assert_int_equal(nghttp2_submit_ping(h->cli, NGHTTP2_FLAG_NONE, opaque), 0);
    assert_int_equal(nghttp2_submit_ping(h->cli, NGHTTP2_FLAG_NONE, opaque), 0);
    pump(h);
    assert_int_equal(h->ping_acks, 2);
    assert_false(grpc_session_done(h->srv));
    h_free(h);
}

static void test_goaway_graceful(void **state)
{
    (void)state;
    H *h = h_new(0);
    h->hold = true;
    buf b;
    buf_init(&b);
    frame(&b, 0, 4, "data", 4);
    int32_t id = open_req(h, "POST", LOGS_PATH, "application/grpc", NULL);
    send_data(h, id, b.p, b.n, true);
    pump(h);
    grpc_session_shutdown(h->srv);
    grpc_session_shutdown(h->srv);
    pump(h);
    assert_true(h->goaway);
    assert_int_equal(h->goaway_code, NGHTTP2_NO_ERROR);
    assert_false(grpc_session_done(h->srv)); /* the call in flight still finishes */
    echo_respond(h->held[0]);
    pump(h);
    assert_int_equal(stream_of(h, id)->grpc_status, 0);
    assert_true(grpc_session_done(h->srv));
    buf_free(&b);
    h_free(h);
}

static void test_not_http2(void **state)
{
    (void)state;
    H *h = h_new(0);
    static const char junk[] = "POST /v1/logs HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(grpc_session_recv(h->srv, (const uint8_t *)junk, sizeof junk - 1),
                     BRAID_EINVAL);
    assert_int_equal(h->st.protocol_errors, 1);
    h_free(h);
}

/* ---- tests: helpers ------------------------------------------------------------ */

static void test_percent_encode(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        const char *why;
    } rows[] = {
        {"plain text: ok", "plain text: ok", "printable ASCII stays"},
        {"100%", "100%25", "'%' itself is escaped"},
        {"line\nbreak", "line%0Abreak", "control characters are escaped"},
        {"caf\xc3\xa9", "caf%C3%A9", "UTF-8 bytes are escaped one by one"},
        {"~ \x7f", "~ %7F", "0x7e stays, DEL does not"},
        {"", "", "empty"},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        buf b;
        buf_init(&b);
        grpc_percent_encode(rows[r].in, &b);
        buf_putc(&b, 0);
        if (strcmp((const char *)b.p, rows[r].out) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", rows[r].why, (const char *)b.p, rows[r].out);
        buf_free(&b);
    }
}

static int b64val(char c)
{
    const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(t, c);
    return p && c ? (int)(p - t) : -1;
}

static void b64dec(const char *s, buf *out)
{
    uint32_t acc = 0;
    int bits = 0;
    for (; *s; s++) {
        int v = b64val(*s);
        assert_true(v >= 0);
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_putc(out, (uint8_t)(acc >> bits));
        }
    }
}

/* Checks a grpc-status-details-bin value: Status{code, message, details:
 * [Any{RetryInfo{retry_delay}}]}. */
static void check_retry_details(const char *b64, int code, const char *msg, int64_t secs,
                                int64_t nanos)
{
    buf raw;
    buf_init(&raw);
    b64dec(b64, &raw);
    pb_reader r, a, ri, d;
    pb_field f;
    pb_reader_init(&r, raw.p, raw.n);
    int64_t got_code = -1, got_s = 0, got_ns = 0;
    bslice got_msg = {NULL, 0}, type = {NULL, 0};
    while (pb_next(&r, &f) == 1) {
        if (f.num == 1)
            got_code = (int64_t)f.v;
        else if (f.num == 2)
            got_msg = f.s;
        else if (f.num == 3) {
            pb_reader_init_slice(&a, f.s);
            while (pb_next(&a, &f) == 1) {
                if (f.num == 1)
                    type = f.s;
                if (f.num != 2)
                    continue;
                pb_reader_init_slice(&ri, f.s);
                assert_int_equal(pb_next(&ri, &f), 1);
                assert_int_equal(f.num, 1);
                pb_reader_init_slice(&d, f.s);
                while (pb_next(&d, &f) == 1) {
                    if (f.num == 1)
                        got_s = (int64_t)f.v;
                    if (f.num == 2)
                        got_ns = (int64_t)f.v;
                }
            }
        }
    }
    assert_int_equal(got_code, code);
    assert_true(bslice_eq_cstr(got_msg, msg));
    assert_true(bslice_eq_cstr(type, "type.googleapis.com/google.rpc.RetryInfo"));
    assert_int_equal(got_s, secs);
    assert_int_equal(got_ns, nanos);
    buf_free(&raw);
}

static void test_retry_details(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    grpc_status_details_retry(8, "busy", 1500, &b);
    buf_putc(&b, 0);
    assert_null(strchr((const char *)b.p, '='));
    check_retry_details((const char *)b.p, 8, "busy", 1, 500000000);
    buf_free(&b);
}

/* An error answer from the handler, with a retry delay. */
static void reply_exhausted(H *h, grpc_call *c)
{
    (void)h;
    grpc_reply r;
    grpc_reply_init(&r);
    r.code = GRPC_STATUS_RESOURCE_EXHAUSTED;
    r.retry_delay_ms = 1000;
    snprintf(r.msg, sizeof r.msg, "over the memory limit; retry later");
    assert_int_equal(grpc_call_respond(c, &r), 0);
    grpc_reply_free(&r);
}

static void test_handler_error_with_retry(void **state)
{
    (void)state;
    H *h = h_new(0);
    h->on_call = reply_exhausted;
    buf b;
    buf_init(&b);
    frame(&b, 0, 2, "ok", 2);
    cstream *cs = unary(h, LOGS_PATH, NULL, &b);
    assert_int_equal(cs->http_status, 200);
    assert_int_equal(cs->grpc_status, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(cs->grpc_message, "over the memory limit; retry later");
    assert_int_equal(cs->data.n, 0);
    check_retry_details(cs->details, 8, "over the memory limit; retry later", 1, 0);
    buf_free(&b);
    h_free(h);
}

/* ---- the real OTLP handler over ingest and a store ---------------------------------- */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void otlp_on_call(H *h, grpc_call *c)
{
    grpc_reply r;
    grpc_reply_init(&r);
    otlp_grpc_work(c, &r, h->ing);
    grpc_call_respond(c, &r);
    grpc_reply_free(&r);
}

/* ExportLogsServiceRequest with one record per trace id given (16 bytes, or
 * any other length to make the record invalid). */
static void logs_request(buf *out, const uint8_t (*tids)[16], const size_t *tid_len, int n)
{
    size_t rl = pb_begin(out, 1);
    size_t res = pb_begin(out, 1);
    size_t kv = pb_begin(out, 1);
    pb_put_string(out, 1, "service.name");
    size_t av = pb_begin(out, 2);
    pb_put_string(out, 1, "grpc-test");
    pb_end(out, av);
    pb_end(out, kv);
    pb_end(out, res);
    size_t sl = pb_begin(out, 2);
    for (int i = 0; i < n; i++) {
        size_t lr = pb_begin(out, 2);
        pb_put_fixed64(out, 1, 1700000000000000000ull + (uint64_t)i);
        pb_put_uint64(out, 2, 9);
        pb_put_string(out, 3, "INFO");
        size_t body = pb_begin(out, 5);
        pb_put_string(out, 1, "hello over grpc");
        pb_end(out, body);
        pb_put_bytes(out, 9, tids[i], tid_len[i]);
        pb_put_bytes(out, 10, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
        pb_end(out, lr);
    }
    pb_end(out, sl);
    pb_end(out, rl);
}

/* partial_success of an ExportLogsServiceResponse: rejected count and message. */
static uint64_t partial_rejected(bslice m, char *msg, size_t cap)
{
    pb_reader r, p;
    pb_field f;
    uint64_t rej = 0;
    msg[0] = 0;
    pb_reader_init_slice(&r, m);
    while (pb_next(&r, &f) == 1) {
        if (f.num != 1)
            continue;
        pb_reader_init_slice(&p, f.s);
        while (pb_next(&p, &f) == 1) {
            if (f.num == 1)
                rej = f.v;
            if (f.num == 2)
                snprintf(msg, cap, "%.*s", (int)f.s.n, (const char *)f.s.p);
        }
    }
    return rej;
}

static void test_otlp_over_store(void **state)
{
    (void)state;
    char dir[] = "/tmp/braid-grpc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    store_opts so;
    store_opts_default(&so);
    so.dir = dir;
    so.fsync = STORE_FSYNC_NONE;
    so.background = false;
    store *st;
    assert_int_equal(store_open(&so, &st), 0);
    ingest_opts io = {.max_request_size = 1 << 20};
    ingest *g;
    assert_int_equal(ingest_create(st, &io, &g), 0);
    H *h = h_new(1 << 20);
    h->ing = g;
    h->on_call = otlp_on_call;

    uint8_t tids[3][16];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 16; j++)
            tids[i][j] = (uint8_t)(0x10 * i + j + 1);
    size_t lens[3] = {16, 16, 16};
    buf req, z, b;
    buf_init(&req);
    buf_init(&z);
    buf_init(&b);

    /* all valid, gzip: OK with an empty ExportLogsServiceResponse, rows stored */
    logs_request(&req, tids, lens, 2);
    assert_int_equal(gzip_compress(GZIP_FMT_GZIP, 6, req.p, req.n, &z), 0);
    frame(&b, 1, (uint32_t)z.n, z.p, z.n);
    cstream *cs = unary(h, LOGS_PATH, "gzip", &b);
    assert_int_equal(cs->grpc_status, 0);
    assert_int_equal(response_message(cs).n, 0);
    model_batch out;
    model_batch_init(&out);
    assert_int_equal(store_trace(st, (const trace_id_t *)tids[1], &out), 0);
    assert_int_equal(out.nlogs, 1);
    assert_int_equal(out.logs[0].time_ns, 1700000000000000001ull);
    model_batch_free(&out);

    /* one record with a 15-byte trace id: OK with partial_success */
    buf_reset(&req);
    buf_reset(&b);
    lens[1] = 15;
    logs_request(&req, tids + 1, lens + 1, 2);
    frame(&b, 0, (uint32_t)req.n, req.p, req.n);
    cs = unary(h, LOGS_PATH, NULL, &b);
    assert_int_equal(cs->grpc_status, 0);
    char msg[320];
    assert_int_equal(partial_rejected(response_message(cs), msg, sizeof msg), 1);
    assert_true(strlen(msg) > 0);
    assert_non_null(strstr(msg, "trace"));

    /* garbage: INVALID_ARGUMENT with a message, nothing stored */
    buf_reset(&b);
    frame(&b, 0, 6, "\x0a\x7f\x01\x02\x03\x04", 6);
    cs = unary(h, LOGS_PATH, NULL, &b);
    assert_int_equal(cs->grpc_status, GRPC_STATUS_INVALID_ARGUMENT);
    assert_true(strlen(cs->grpc_message) > 10);
    assert_int_equal(cs->data.n, 0);

    /* corrupt gzip: INTERNAL */
    buf_reset(&b);
    frame(&b, 1, 4, "junk", 4);
    cs = unary(h, LOGS_PATH, "gzip", &b);
    assert_int_equal(cs->grpc_status, GRPC_STATUS_INTERNAL);

    h_free(h);
    ingest_free(g);
    assert_int_equal(store_close(st), 0);

    /* over the memory limit: RESOURCE_EXHAUSTED with RetryInfo */
    so.memory_limit = 1;
    assert_int_equal(store_open(&so, &st), 0);
    assert_int_equal(ingest_create(st, &io, &g), 0);
    h = h_new(1 << 20);
    h->ing = g;
    h->on_call = otlp_on_call;
    buf_reset(&req);
    buf_reset(&b);
    lens[1] = 16;
    logs_request(&req, tids, lens, 3);
    frame(&b, 0, (uint32_t)req.n, req.p, req.n);
    int code = -1;
    for (int i = 0; i < 4 && code != GRPC_STATUS_RESOURCE_EXHAUSTED; i++) {
        cs = unary(h, LOGS_PATH, NULL, &b);
        code = cs->grpc_status;
    }
    assert_int_equal(code, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(cs->grpc_message, "braid is over its memory limit; retry later");
    check_retry_details(cs->details, 8, "braid is over its memory limit; retry later", 1, 0);
    h_free(h);
    ingest_free(g);
    assert_int_equal(store_close(st), 0);

    buf_free(&req);
    buf_free(&z);
    buf_free(&b);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the libuv server over loopback ---------------------------------------------- */

typedef enum { CMD_NONE, CMD_STATS, CMD_CLOSE } tcmd;

typedef struct {
    uv_loop_t loop;
    uv_async_t async;
    uv_thread_t thread;
    uv_sem_t sem;
    grpc_server *srv;
    grpc_server_opts opts;
    int port;
    tcmd cmd;
    grpc_server_stats st;
    bool closed;
    int loop_close_rc;
    unsigned work_sleep_ms;
} tsrv;

static void slow_echo_work(grpc_call *call, grpc_reply *r, void *ud)
{
    tsrv *t = ud;
    if (t->work_sleep_ms)
        usleep(t->work_sleep_ms * 1000);
    bslice m;
    if (grpc_call_message(call, &m, r->msg, sizeof r->msg) != 0) {
        r->code = GRPC_STATUS_INTERNAL;
        return;
    }
    buf_append(&r->body, m.p, m.n);
}

static void on_srv_closed(void *ud)
{
    tsrv *t = ud;
    t->closed = true;
    uv_close((uv_handle_t *)&t->async, NULL);
}

static void on_async(uv_async_t *a)
{
    tsrv *t = a->data;
    if (t->cmd == CMD_STATS) {
        grpc_server_stats_get(t->srv, &t->st);
        t->cmd = CMD_NONE;
        uv_sem_post(&t->sem);
    } else if (t->cmd == CMD_CLOSE) {
        t->cmd = CMD_NONE;
        grpc_server_close(t->srv, on_srv_closed, t);
    }
}

static void srv_thread(void *arg)
{
    tsrv *t = arg;
    char err[128];
    assert_int_equal(uv_loop_init(&t->loop), 0);
    uv_async_init(&t->loop, &t->async, on_async);
    t->async.data = t;
    int rc = grpc_server_listen(&t->loop, "127.0.0.1:0", &t->opts, slow_echo_work, t, &t->srv, err,
                                sizeof err);
    t->port = rc == 0 ? grpc_server_port(t->srv) : -1;
    uv_sem_post(&t->sem);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    t->loop_close_rc = uv_loop_close(&t->loop);
}

/* Connection cap for the next tsrv_start (0 = the server's default). */
static unsigned tsrv_max_connections;

static tsrv *tsrv_start(uint64_t idle_ms, uint64_t close_ms, unsigned work_sleep_ms)
{
    tsrv *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->opts = (grpc_server_opts){.methods = methods,
                                 .n_methods = 3,
                                 .max_message = 1 << 20,
                                 .idle_timeout_ms = idle_ms,
                                 .close_timeout_ms = close_ms,
                                 .max_connections = tsrv_max_connections};
    t->work_sleep_ms = work_sleep_ms;
    uv_sem_init(&t->sem, 0);
    assert_int_equal(uv_thread_create(&t->thread, srv_thread, t), 0);
    uv_sem_wait(&t->sem);
    assert_true(t->port > 0);
    return t;
}

static grpc_server_stats tsrv_stats(tsrv *t)
{
    t->cmd = CMD_STATS;
    uv_async_send(&t->async);
    uv_sem_wait(&t->sem);
    return t->st;
}

/* Asks for a graceful close; tsrv_join waits for the loop to end. */
static void tsrv_close(tsrv *t)
{
    t->cmd = CMD_CLOSE;
    uv_async_send(&t->async);
}

static void tsrv_join(tsrv *t)
{
    uv_thread_join(&t->thread);
    assert_true(t->closed);
    assert_int_equal(t->loop_close_rc, 0); /* every handle was closed */
    uv_sem_destroy(&t->sem);
    free(t);
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* A client session on a socket (no in-memory server). */
static H *h_connect(int port)
{
    H *h = h_new(0);
    grpc_session_free(h->srv);
    h->srv = NULL;
    h->fd = tcp_connect(port);
    return h;
}

/* Sends what the client has, reads until cond holds (true), the server
 * closes (false), or timeout_ms passes: then true without a cond (a pause
 * that lets bytes flow), a failed test with one. */
static bool net_pump(H *h, bool (*cond)(H *h, void *arg), void *arg, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms;) {
        const uint8_t *d;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(h->cli, &d)) > 0)
            if (send(h->fd, d, (size_t)n, MSG_NOSIGNAL) != n)
                return false;
        if (cond && cond(h, arg))
            return true;
        struct timeval tv = {0, 20000};
        setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        uint8_t b[65536];
        ssize_t r = recv(h->fd, b, sizeof b, 0);
        if (r == 0)
            return false;
        if (r < 0) {
            waited += 20;
            continue;
        }
        assert_int_equal(nghttp2_session_mem_recv(h->cli, b, (size_t)r), r);
    }
    if (cond)
        fail_msg("no progress within %d ms", timeout_ms);
    return true;
}

static bool never(H *h, void *arg)
{
    (void)h;
    (void)arg;
    return false;
}

static bool stream_answered(H *h, void *arg)
{
    cstream *cs = stream_of(h, *(int32_t *)arg);
    return cs && cs->closed;
}

static bool all_answered(H *h, void *arg)
{
    (void)arg;
    for (int i = 0; i < h->nstreams; i++)
        if (!h->streams[i].closed)
            return false;
    return true;
}

static bool saw_goaway(H *h, void *arg)
{
    (void)arg;
    return h->goaway;
}

static void h_disconnect(H *h)
{
    close(h->fd);
    h->fd = -1;
    h_free(h);
}

/* Calls through the threadpool, many streams on one connection and several
 * connections; the answers come back with each stream's own message. */
static void test_server_calls(void **state)
{
    (void)state;
    tsrv *t = tsrv_start(0, 0, 5);
    enum { CONNS = 3, STREAMS = 20 };
    H *hs[CONNS];
    static char bodies[CONNS][STREAMS][24];
    buf frames[CONNS][STREAMS];
    for (int c = 0; c < CONNS; c++) {
        hs[c] = h_connect(t->port);
        net_pump(hs[c], NULL, NULL, 100); /* SETTINGS both ways */
        for (int i = 0; i < STREAMS; i++) {
            int n = snprintf(bodies[c][i], sizeof bodies[c][i], "conn %d stream %d", c, i);
            buf_init(&frames[c][i]);
            frame(&frames[c][i], 0, (uint32_t)n, bodies[c][i], (size_t)n);
            int32_t id = open_req(hs[c], "POST", LOGS_PATH, "application/grpc", NULL);
            send_data(hs[c], id, frames[c][i].p, frames[c][i].n, true);
        }
    }
    for (int c = 0; c < CONNS; c++) {
        assert_true(net_pump(hs[c], all_answered, NULL, 10000));
        for (int i = 0; i < STREAMS; i++) {
            cstream *cs = &hs[c]->streams[i];
            assert_int_equal(cs->grpc_status, 0);
            bslice m = response_message(cs);
            assert_int_equal(m.n, strlen(bodies[c][i]));
            assert_memory_equal(m.p, bodies[c][i], m.n);
            buf_free(&frames[c][i]);
        }
    }
    grpc_server_stats st = tsrv_stats(t);
    assert_int_equal(st.calls.calls, CONNS * STREAMS);
    assert_int_equal(st.calls.status[GRPC_STATUS_OK], CONNS * STREAMS);
    assert_int_equal(st.connections_open, CONNS);
    assert_int_equal(st.calls_in_flight, 0);
    for (int c = 0; c < CONNS; c++)
        h_disconnect(hs[c]);
    tsrv_close(t);
    tsrv_join(t);
}

/* A client that vanishes mid-request, and one that vanishes while its call is
 * on the threadpool: both cost only their buffers, the server goes on. */
static void test_server_client_vanishes(void **state)
{
    (void)state;
    tsrv *t = tsrv_start(0, 0, 300);
    static uint8_t part[3000];
    buf half, whole;
    buf_init(&half);
    buf_init(&whole);
    frame(&half, 0, 100000, part, sizeof part);
    frame(&whole, 0, 4, "data", 4);
    H *a = h_connect(t->port);
    int32_t id = open_req(a, "POST", LOGS_PATH, "application/grpc", NULL);
    send_data(a, id, half.p, half.n, false);
    net_pump(a, NULL, NULL, 100);
    H *b = h_connect(t->port);
    id = open_req(b, "POST", LOGS_PATH, "application/grpc", NULL);
    send_data(b, id, whole.p, whole.n, true);
    net_pump(b, NULL, NULL, 100); /* the call is now in the (slow) work function */
    h_disconnect(a);
    h_disconnect(b);
    grpc_server_stats st;
    for (int i = 0; i < 100; i++) {
        st = tsrv_stats(t);
        if (st.connections_open == 0 && st.calls_in_flight == 0)
            break;
        usleep(20000);
    }
    assert_int_equal(st.connections_open, 0);
    assert_int_equal(st.calls_in_flight, 0);
    assert_int_equal(st.calls.cancelled, 2);
    assert_int_equal(st.calls.calls, 1);
    /* still serving */
    H *c = h_connect(t->port);
    id = open_req(c, "POST", LOGS_PATH, "application/grpc", NULL);
    send_data(c, id, whole.p, whole.n, true);
    assert_true(net_pump(c, stream_answered, &id, 5000));
    assert_int_equal(stream_of(c, id)->grpc_status, 0);
    h_disconnect(c);
    tsrv_close(t);
    tsrv_join(t);
    buf_free(&half);
    buf_free(&whole);
}

/* Graceful close: GOAWAY at once, the call on the threadpool still answered,
 * then the connection closes and the server frees itself. */
static void test_server_graceful_close(void **state)
{
    (void)state;
    tsrv *t = tsrv_start(0, 0, 300);
    H *h = h_connect(t->port);
    buf whole;
    buf_init(&whole);
    frame(&whole, 0, 4, "data", 4);
    int32_t id = open_req(h, "POST", LOGS_PATH, "application/grpc", NULL);
    send_data(h, id, whole.p, whole.n, true);
    net_pump(h, NULL, NULL, 60);
    tsrv_close(t);
    assert_true(net_pump(h, saw_goaway, NULL, 3000));
    assert_int_equal(h->goaway_code, NGHTTP2_NO_ERROR);
    assert_false(stream_of(h, id)->closed);
    assert_true(net_pump(h, stream_answered, &id, 3000));
    assert_int_equal(stream_of(h, id)->grpc_status, 0);
    /* then the server hangs up */
    assert_false(net_pump(h, never, NULL, 3000));
    h_disconnect(h);
    tsrv_join(t);
    buf_free(&whole);
}

/* An idle connection gets a GOAWAY and is closed; a stalled upload is dropped
 * when a close runs out of time. */
/* Over the connection cap a client is accepted and closed at once, counted,
 * and the server still closes cleanly afterwards (the rejected handle's close
 * is waited for: tsrv_join checks that every handle was closed). */
static void test_server_max_connections(void **state)
{
    (void)state;
    tsrv_max_connections = 1;
    tsrv *t = tsrv_start(0, 0, 0);
    tsrv_max_connections = 0;
    int a = tcp_connect(t->port);
    for (int i = 0; i < 200 && tsrv_stats(t).connections_open < 1; i++)
        usleep(5000);
    assert_int_equal(tsrv_stats(t).connections_open, 1);
    int b = tcp_connect(t->port);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    assert_int_equal(read(b, &c, 1), 0); /* closed by the server, not timed out */
    grpc_server_stats st = tsrv_stats(t);
    assert_int_equal(st.connections_rejected, 1);
    assert_int_equal(st.connections_open, 1);
    assert_int_equal(st.connections_total, 1);
    close(b);
    close(a);
    tsrv_close(t);
    tsrv_join(t);
}

static void test_server_timeouts(void **state)
{
    (void)state;
    tsrv *t = tsrv_start(200, 300, 0);
    H *h = h_connect(t->port);
    assert_true(net_pump(h, saw_goaway, NULL, 3000));
    assert_false(net_pump(h, never, NULL, 3000));
    h_disconnect(h);
    tsrv_close(t);
    tsrv_join(t);

    t = tsrv_start(0, 300, 0);
    h = h_connect(t->port);
    static uint8_t part[100];
    buf half;
    buf_init(&half);
    frame(&half, 0, 100000, part, sizeof part);
    int32_t id = open_req(h, "POST", LOGS_PATH, "application/grpc", NULL);
    send_data(h, id, half.p, half.n, false);
    net_pump(h, NULL, NULL, 60);
    tsrv_close(t);
    assert_true(net_pump(h, saw_goaway, NULL, 3000));
    assert_false(net_pump(h, never, NULL, 3000)); /* dropped after the close timeout */
    h_disconnect(h);
    tsrv_join(t);
    buf_free(&half);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_ok),
        cmocka_unit_test(test_settings_and_windows),
        cmocka_unit_test(test_large_message),
        cmocka_unit_test(test_compressed),
        cmocka_unit_test(test_compressed_limits),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_limit_boundary),
        cmocka_unit_test(test_oversized_refused_early),
        cmocka_unit_test(test_reset_halfway),
        cmocka_unit_test(test_reset_while_in_handler),
        cmocka_unit_test(test_session_freed_under_calls),
        cmocka_unit_test(test_many_streams),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_goaway_graceful),
        cmocka_unit_test(test_not_http2),
        cmocka_unit_test(test_percent_encode),
        cmocka_unit_test(test_retry_details),
        cmocka_unit_test(test_handler_error_with_retry),
        cmocka_unit_test(test_otlp_over_store),
        cmocka_unit_test(test_server_calls),
        cmocka_unit_test(test_server_client_vanishes),
        cmocka_unit_test(test_server_graceful_close),
        cmocka_unit_test(test_server_timeouts),
        cmocka_unit_test(test_server_max_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

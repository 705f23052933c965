/* grpc: the session declared in grpc.h. nghttp2 does the HTTP/2 work (preface,
 * SETTINGS, HPACK, flow control, PING, GOAWAY); this file turns streams into
 * unary calls: one grpc_call per stream, from its HEADERS to its close, except
 * that a call the callback holds outlives its stream (or session) until
 * grpc_call_respond frees it. Request bytes are copied out as they arrive; a
 * message over the limit is refused from its length prefix, never buffered. */
#include "grpc.h"

#include <assert.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "../pb/pb.h"
#include "gzip.h"

#define DEFAULT_MAX_MESSAGE (4u << 20)
#define DEFAULT_STREAMS 128u
#define DEFAULT_STREAM_WINDOW (4u << 20)
#define DEFAULT_CONN_WINDOW (16u << 20)
#define MAX_FRAME_SIZE (1u << 20)
#define MAX_HEADER_LIST (64u << 10)
#define PREFIX_LEN 5
#define HEALTH_MAX 4096 /* a HealthCheckRequest is a service name */

typedef enum {
    CALL_RECV,     /* request headers and message arriving */
    CALL_HANDLER,  /* the callback holds it */
    CALL_ANSWERED, /* response submitted; waits for the stream to close */
} call_state;

typedef enum { ENC_IDENTITY, ENC_GZIP, ENC_DEFLATE, ENC_OTHER } msg_encoding;

enum { ROUTE_NONE = -1, ROUTE_HEALTH = -2 };

struct grpc_call {
    grpc_session *s; /* NULL once the session is freed under the callback */
    grpc_call *prev, *next;
    int32_t stream_id;
    call_state st;
    bool stream_closed;
    bool remote_done; /* the client half-closed (END_STREAM seen) */
    bool post, ctype_ok;
    int route; /* index into methods, ROUTE_HEALTH or ROUTE_NONE */
    msg_encoding enc;
    char path[160];    /* as received (truncated), for messages */
    char enc_name[40]; /* grpc-encoding as received (truncated) */
    /* framing */
    uint8_t prefix[PREFIX_LEN];
    uint8_t prefix_n; /* 0..5; 5 while message bytes arrive */
    bool compressed;
    bool have_msg;
    uint32_t msg_len;
    uint64_t max;
    buf msg;   /* the message as received */
    buf plain; /* decompressed */
    /* response */
    uint8_t *resp;
    size_t resp_len, resp_off;
};

struct grpc_session {
    nghttp2_session *h2;
    grpc_session_opts o;
    grpc_stats own; /* when o.stats is NULL */
    grpc_call *calls;
    size_t ncalls;
    bool freeing;
    bool goaway;
};

static const char *const status_names[GRPC_STATUS_COUNT] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *grpc_status_name(int code)
{
    return code >= 0 && code < GRPC_STATUS_COUNT ? status_names[code] : "UNKNOWN";
}

/* ---- helpers -------------------------------------------------------------- */

void grpc_percent_encode(const char *msg, buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            buf_putc(out, *p);
        } else {
            buf_putc(out, '%');
            buf_putc(out, (uint8_t)hex[*p >> 4]);
            buf_putc(out, (uint8_t)hex[*p & 15]);
        }
    }
}

static void base64_unpadded(const uint8_t *p, size_t n, buf *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        buf_putc(out, (uint8_t)tab[v >> 18]);
        buf_putc(out, (uint8_t)tab[(v >> 12) & 63]);
        buf_putc(out, (uint8_t)tab[(v >> 6) & 63]);
        buf_putc(out, (uint8_t)tab[v & 63]);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        buf_putc(out, (uint8_t)tab[v >> 18]);
        buf_putc(out, (uint8_t)tab[(v >> 12) & 63]);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        buf_putc(out, (uint8_t)tab[v >> 18]);
        buf_putc(out, (uint8_t)tab[(v >> 12) & 63]);
        buf_putc(out, (uint8_t)tab[(v >> 6) & 63]);
    }
}

void grpc_status_details_retry(int code, const char *msg, uint32_t delay_ms, buf *out)
{
    /* google.rpc.Status{code=1, message=2, details=3: Any{type_url=1, value=2:
     * RetryInfo{retry_delay=1: Duration{seconds=1, nanos=2}}}} */
    buf st;
    buf_init(&st);
    pb_put_int64(&st, 1, code);
    if (msg && *msg)
        pb_put_string(&st, 2, msg);
    size_t any = pb_begin(&st, 3);
    pb_put_string(&st, 1, "type.googleapis.com/google.rpc.RetryInfo");
    size_t ri = pb_begin(&st, 2);
    size_t dur = pb_begin(&st, 1);
    if (delay_ms / 1000)
        pb_put_int64(&st, 1, delay_ms / 1000);
    if (delay_ms % 1000)
        pb_put_int64(&st, 2, (int64_t)(delay_ms % 1000) * 1000000);
    pb_end(&st, dur);
    pb_end(&st, ri);
    pb_end(&st, any);
    if (st.err)
        out->err = st.err;
    else
        base64_unpadded(st.p, st.n, out);
    buf_free(&st);
}

void grpc_reply_init(grpc_reply *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body);
}

void grpc_reply_free(grpc_reply *r)
{
    buf_free(&r->body);
}

static grpc_stats *stats(grpc_session *s)
{
    return s->o.stats ? s->o.stats : &s->own;
}

/* ---- calls ---------------------------------------------------------------- */

static void call_unlink(grpc_call *c)
{
    grpc_session *s = c->s;
    if (!s)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    s->ncalls--;
    c->s = NULL;
}

static void call_free(grpc_call *c)
{
    call_unlink(c);
    buf_free(&c->msg);
    buf_free(&c->plain);
    free(c->resp);
    free(c);
}

static void call_drop_request(grpc_call *c)
{
    buf_free(&c->msg);
    buf_free(&c->plain);
}

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE             \
    }

/* A trailers-only answer: HEADERS with :status, grpc-status and grpc-message,
 * END_STREAM. http_status is 200 for every gRPC-level error. */
static void call_answer_error(grpc_call *c, int http_status, int code, const char *msg,
                              uint32_t retry_ms)
{
    grpc_session *s = c->s;
    assert(s && c->st != CALL_ANSWERED);
    char st_http[8], st_grpc[8];
    snprintf(st_http, sizeof st_http, "%d", http_status);
    snprintf(st_grpc, sizeof st_grpc, "%d", code);
    buf m, details;
    buf_init(&m);
    buf_init(&details);
    grpc_percent_encode(msg ? msg : "", &m);
    buf_putc(&m, 0);
    if (retry_ms) {
        grpc_status_details_retry(code, msg, retry_ms, &details);
        buf_putc(&details, 0);
    }
    nghttp2_nv nv[6] = {
        NV(":status", st_http),
        NV("content-type", "application/grpc"),
        NV("grpc-accept-encoding", GRPC_ACCEPT_ENCODING),
        NV("grpc-status", st_grpc),
    };
    size_t n = 4;
    if (!m.err && m.n > 1)
        nv[n++] = (nghttp2_nv)NV("grpc-message", (const char *)m.p);
    if (retry_ms && !details.err)
        nv[n++] = (nghttp2_nv)NV("grpc-status-details-bin", (const char *)details.p);
    c->st = CALL_ANSWERED;
    call_drop_request(c);
    if (nghttp2_submit_response(s->h2, c->stream_id, nv, n, NULL) != 0)
        nghttp2_submit_rst_stream(s->h2, NGHTTP2_FLAG_NONE, c->stream_id, NGHTTP2_INTERNAL_ERROR);
    else
        stats(s)->status[(unsigned)code < GRPC_STATUS_COUNT ? code : GRPC_STATUS_UNKNOWN]++;
    buf_free(&m);
    buf_free(&details);
}

static void call_fail(grpc_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void call_fail(grpc_call *c, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    call_answer_error(c, 200, code, msg, 0);
}

static ssize_t resp_read(nghttp2_session *h2, int32_t stream_id, uint8_t *out, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)ud;
    grpc_call *c = src->ptr;
    size_t left = c->resp_len - c->resp_off;
    size_t n = left < len ? left : len;
    memcpy(out, c->resp + c->resp_off, n);
    c->resp_off += n;
    if (c->resp_off == c->resp_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_nv tr[] = {NV("grpc-status", "0")};
        if (nghttp2_submit_trailer(h2, stream_id, tr, 1) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return (ssize_t)n;
}

/* OK: HEADERS, the response message in DATA, trailers with grpc-status 0. */
static int call_answer_ok(grpc_call *c, buf *body)
{
    grpc_session *s = c->s;
    size_t n = body->n;
    uint8_t *p = malloc(PREFIX_LEN + n);
    if (!p)
        return BRAID_ENOMEM;
    p[0] = 0;
    p[1] = (uint8_t)(n >> 24);
    p[2] = (uint8_t)(n >> 16);
    p[3] = (uint8_t)(n >> 8);
    p[4] = (uint8_t)n;
    if (n)
        memcpy(p + PREFIX_LEN, body->p, n);
    c->resp = p;
    c->resp_len = PREFIX_LEN + n;
    c->resp_off = 0;
    nghttp2_nv nv[] = {
        NV(":status", "200"),
        NV("content-type", "application/grpc"),
        NV("grpc-accept-encoding", GRPC_ACCEPT_ENCODING),
    };
    nghttp2_data_provider prd = {.source.ptr = c, .read_callback = resp_read};
    c->st = CALL_ANSWERED;
    if (nghttp2_submit_response(s->h2, c->stream_id, nv, sizeof nv / sizeof nv[0], &prd) != 0)
        return BRAID_ENOMEM;
    stats(s)->status[GRPC_STATUS_OK]++;
    return 0;
}

static int decompress(grpc_call *c, uint64_t max, bslice *out, char *err, size_t errlen)
{
    if (!c->compressed) {
        *out = (bslice){c->msg.p, c->msg.n};
        return 0;
    }
    gzip_format fmt = c->enc == ENC_GZIP ? GZIP_FMT_GZIP : GZIP_FMT_DEFLATE;
    buf_reset(&c->plain);
    int rc = gzip_decompress(fmt, c->msg.p, c->msg.n, max, &c->plain);
    if (rc == BRAID_ETOOBIG)
        snprintf(err, errlen, "decompressed request message is larger than the limit of %llu bytes",
                 (unsigned long long)max);
    else if (rc == BRAID_EINVAL)
        snprintf(err, errlen, "request message is not valid %s data", c->enc_name);
    else if (rc)
        snprintf(err, errlen, "cannot decompress the request message: %s", braid_strerror(rc));
    if (rc)
        return rc;
    *out = (bslice){c->plain.p, c->plain.n};
    return 0;
}

/* Health/Check: HealthCheckRequest{service=1} -> HealthCheckResponse{status=1},
 * SERVING (1) for "" and the served services, NOT_FOUND for the others. */
static void call_health(grpc_call *c)
{
    grpc_session *s = c->s;
    stats(s)->health_checks++;
    char err[200];
    bslice m;
    int rc = decompress(c, c->max < HEALTH_MAX ? c->max : HEALTH_MAX, &m, err, sizeof err);
    if (rc) {
        call_fail(c, rc == BRAID_ETOOBIG ? GRPC_STATUS_RESOURCE_EXHAUSTED : GRPC_STATUS_INTERNAL,
                  "%s", err);
        return;
    }
    pb_reader r;
    pb_field f;
    bslice svc = {NULL, 0};
    pb_reader_init_slice(&r, m);
    while ((rc = pb_next(&r, &f)) == 1)
        if (f.num == 1 && f.wire == PB_LEN)
            svc = f.s;
    if (rc < 0) {
        char why[160];
        call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "malformed HealthCheckRequest: %s",
                  pb_reader_strerror(&r, why, sizeof why));
        return;
    }
    bool known = svc.n == 0;
    for (size_t i = 0; i < s->o.n_methods && !known; i++) {
        const char *mp = s->o.methods[i];
        known = mp[0] == '/' && strlen(mp) > svc.n + 1 && memcmp(mp + 1, svc.p, svc.n) == 0 &&
                mp[svc.n + 1] == '/';
    }
    if (!known) {
        call_fail(c, GRPC_STATUS_NOT_FOUND, "unknown service \"%.*s\"",
                  (int)(svc.n > 100 ? 100 : svc.n), (const char *)svc.p);
        return;
    }
    grpc_reply rep;
    grpc_reply_init(&rep);
    pb_put_uint64(&rep.body, 1, 1);
    call_drop_request(c);
    if (rep.body.err || call_answer_ok(c, &rep.body) != 0)
        nghttp2_submit_rst_stream(s->h2, NGHTTP2_FLAG_NONE, c->stream_id, NGHTTP2_INTERNAL_ERROR);
    grpc_reply_free(&rep);
}

/* The request headers are complete: refuse what cannot become a call. */
static void call_head_done(grpc_call *c)
{
    grpc_session *s = c->s;
    if (!c->post) {
        call_answer_error(c, 405, GRPC_STATUS_UNIMPLEMENTED, "gRPC requests use POST", 0);
        return;
    }
    if (!c->ctype_ok) {
        call_answer_error(c, 415, GRPC_STATUS_INTERNAL,
                          "content-type must be application/grpc or application/grpc+proto", 0);
        return;
    }
    if (c->route == ROUTE_NONE) {
        /* /package.Service/Method: tell an unknown service from an unknown method */
        const char *slash = strchr(c->path + 1, '/');
        size_t svc_len = slash ? (size_t)(slash - c->path - 1) : strlen(c->path + 1);
        bool svc_known = false;
        for (size_t i = 0; i < s->o.n_methods && !svc_known; i++) {
            const char *mp = s->o.methods[i];
            svc_known = slash && strncmp(mp, c->path, svc_len + 2) == 0;
        }
        if (!svc_known && strncmp(c->path, "/grpc.health.v1.Health/", 23) == 0)
            svc_known = true;
        if (svc_known)
            call_fail(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method %s of service %.*s", slash + 1,
                      (int)svc_len, c->path + 1);
        else
            call_fail(c, GRPC_STATUS_UNIMPLEMENTED, "unknown service %.*s", (int)svc_len,
                      c->path + 1);
        return;
    }
    if (c->enc == ENC_OTHER)
        call_fail(c, GRPC_STATUS_UNIMPLEMENTED,
                  "grpc-encoding \"%s\" is not supported; use one of " GRPC_ACCEPT_ENCODING,
                  c->enc_name);
}

/* The client half-closed: a unary request must be exactly one whole message. */
static void call_end(grpc_call *c)
{
    c->remote_done = true;
    if (c->st != CALL_RECV)
        return;
    if (c->prefix_n > 0 && c->prefix_n < PREFIX_LEN) {
        call_fail(c, GRPC_STATUS_INTERNAL,
                  "stream ended inside a message length prefix (%u of 5 bytes)", c->prefix_n);
        return;
    }
    if (c->prefix_n == PREFIX_LEN) {
        call_fail(c, GRPC_STATUS_INTERNAL,
                  "stream ended inside a message: its length prefix says %u bytes, %zu arrived",
                  c->msg_len, c->msg.n);
        return;
    }
    if (!c->have_msg) {
        call_fail(c, GRPC_STATUS_INTERNAL, "no request message in a unary call");
        return;
    }
    if (c->route == ROUTE_HEALTH) {
        call_health(c);
        return;
    }
    grpc_session *s = c->s;
    if (c->compressed) {
        if (c->enc == ENC_GZIP)
            stats(s)->compressed_gzip++;
        else
            stats(s)->compressed_deflate++;
    }
    c->st = CALL_HANDLER;
    stats(s)->calls++;
    s->o.on_call(c, s->o.ud);
}

/* Request DATA: length prefix, then the message, refused as early as can be. */
static void call_feed(grpc_call *c, const uint8_t *p, size_t n)
{
    while (n > 0 && c->st == CALL_RECV) {
        if (c->prefix_n < PREFIX_LEN) {
            if (c->prefix_n == 0 && c->have_msg) {
                call_fail(c, GRPC_STATUS_INTERNAL, "more than one request message in a unary call");
                return;
            }
            size_t take = PREFIX_LEN - c->prefix_n;
            if (take > n)
                take = n;
            memcpy(c->prefix + c->prefix_n, p, take);
            c->prefix_n = (uint8_t)(c->prefix_n + take);
            p += take;
            n -= take;
            if (c->prefix_n < PREFIX_LEN)
                return;
            uint8_t flag = c->prefix[0];
            uint32_t len = (uint32_t)c->prefix[1] << 24 | (uint32_t)c->prefix[2] << 16 |
                           (uint32_t)c->prefix[3] << 8 | c->prefix[4];
            if (flag > 1) {
                call_fail(c, GRPC_STATUS_INTERNAL, "invalid message compressed-flag %u", flag);
                return;
            }
            if (flag == 1 && c->enc == ENC_IDENTITY) {
                call_fail(c, GRPC_STATUS_INTERNAL,
                          "compressed-flag set on a message without a grpc-encoding");
                return;
            }
            if (len > c->max) {
                call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED,
                          "request message of %u bytes is larger than the limit of %llu bytes", len,
                          (unsigned long long)c->max);
                return;
            }
            c->compressed = flag == 1;
            c->msg_len = len;
            if (len == 0) {
                c->have_msg = true;
                c->prefix_n = 0;
                continue;
            }
            /* all at once: large blocks are mapped lazily, so a length that is
             * claimed and never sent costs address space, not memory */
            if (buf_reserve(&c->msg, len)) {
                call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory for the request");
                return;
            }
            continue;
        }
        size_t take = c->msg_len - c->msg.n;
        if (take > n)
            take = n;
        buf_append(&c->msg, p, take);
        if (c->msg.err) {
            call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory for the request");
            return;
        }
        p += take;
        n -= take;
        if (c->msg.n == c->msg_len) {
            c->have_msg = true;
            c->prefix_n = 0;
        }
    }
}

/* ---- nghttp2 callbacks ------------------------------------------------------ */

static grpc_call *stream_call(grpc_session *s, int32_t id)
{
    return nghttp2_session_get_stream_user_data(s->h2, id);
}

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    grpc_session *s = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    grpc_call *c = calloc(1, sizeof *c);
    if (!c)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    c->s = s;
    c->stream_id = f->hd.stream_id;
    c->route = ROUTE_NONE;
    c->max = s->o.max_message;
    buf_init(&c->msg);
    buf_init(&c->plain);
    c->next = s->calls;
    if (s->calls)
        s->calls->prev = c;
    s->calls = c;
    s->ncalls++;
    if (nghttp2_session_set_stream_user_data(h2, c->stream_id, c) != 0) {
        call_free(c);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return 0;
}

static bool value_is(const uint8_t *v, size_t n, const char *s)
{
    size_t k = strlen(s);
    return n == k && memcmp(v, s, k) == 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)h2;
    (void)flags;
    grpc_session *s = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    grpc_call *c = stream_call(s, f->hd.stream_id);
    if (!c)
        return 0;
    /* nghttp2 lower-cases and validates names; compare exactly */
    if (value_is(name, namelen, ":method")) {
        c->post = value_is(value, valuelen, "POST");
    } else if (value_is(name, namelen, ":path")) {
        size_t k = valuelen < sizeof c->path - 1 ? valuelen : sizeof c->path - 1;
        memcpy(c->path, value, k);
        c->path[k] = 0;
        c->route = ROUTE_NONE;
        if (value_is(value, valuelen, GRPC_HEALTH_CHECK))
            c->route = ROUTE_HEALTH;
        for (size_t i = 0; i < s->o.n_methods && c->route == ROUTE_NONE; i++)
            if (value_is(value, valuelen, s->o.methods[i]))
                c->route = (int)i;
    } else if (value_is(name, namelen, "content-type")) {
        /* application/grpc, application/grpc+proto, or either with parameters */
        static const char base[] = "application/grpc";
        size_t k = sizeof base - 1;
        c->ctype_ok =
            valuelen >= k && strncasecmp((const char *)value, base, k) == 0 &&
            (valuelen == k || value[k] == ';' ||
             (valuelen >= k + 6 && strncasecmp((const char *)value + k, "+proto", 6) == 0 &&
              (valuelen == k + 6 || value[k + 6] == ';')));
    } else if (value_is(name, namelen, "grpc-encoding")) {
        size_t k = valuelen < sizeof c->enc_name - 1 ? valuelen : sizeof c->enc_name - 1;
        memcpy(c->enc_name, value, k);
        c->enc_name[k] = 0;
        c->enc = value_is(value, valuelen, "identity")  ? ENC_IDENTITY
                 : value_is(value, valuelen, "gzip")    ? ENC_GZIP
                 : value_is(value, valuelen, "deflate") ? ENC_DEFLATE
                                                        : ENC_OTHER;
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    (void)h2;
    grpc_session *s = ud;
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    grpc_call *c = stream_call(s, f->hd.stream_id);
    if (!c)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
        call_head_done(c);
    if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && !c->stream_closed)
        call_end(c);
    return 0;
}

static int on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *ud)
{
    (void)h2;
    (void)flags;
    grpc_call *c = stream_call(ud, stream_id);
    if (c)
        call_feed(c, data, len);
    return 0;
}

static int on_frame_send(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    grpc_session *s = ud;
    if (f->hd.type == NGHTTP2_GOAWAY && f->goaway.error_code != NGHTTP2_NO_ERROR)
        stats(s)->protocol_errors++;
    if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
        !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    /* An answer went out before the request was complete (a refusal): ask the
     * client to stop sending the rest of it. */
    grpc_call *c = stream_call(s, f->hd.stream_id);
    if (c && !c->remote_done && !c->stream_closed)
        nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t stream_id, uint32_t error_code, void *ud)
{
    (void)error_code;
    grpc_session *s = ud;
    if (s->freeing)
        return 0;
    grpc_call *c = stream_call(s, stream_id);
    if (!c)
        return 0;
    nghttp2_session_set_stream_user_data(h2, stream_id, NULL);
    c->stream_closed = true;
    bool answered = c->st == CALL_ANSWERED && c->resp_off == c->resp_len;
    if (!answered)
        stats(s)->cancelled++;
    if (c->st == CALL_HANDLER)
        call_unlink(c); /* the callback frees it */
    else
        call_free(c);
    return 0;
}

/* ---- session -------------------------------------------------------------- */

int grpc_session_new(const grpc_session_opts *o, grpc_session **out)
{
    if (!o || !o->on_call || (o->n_methods && !o->methods))
        return BRAID_EINVAL;
    grpc_session *s = calloc(1, sizeof *s);
    if (!s)
        return BRAID_ENOMEM;
    s->o = *o;
    if (!s->o.max_message)
        s->o.max_message = DEFAULT_MAX_MESSAGE;
    if (!s->o.max_concurrent_streams)
        s->o.max_concurrent_streams = DEFAULT_STREAMS;
    if (!s->o.stream_window)
        s->o.stream_window = DEFAULT_STREAM_WINDOW;
    if (!s->o.conn_window)
        s->o.conn_window = DEFAULT_CONN_WINDOW;
    if (s->o.stream_window > NGHTTP2_MAX_WINDOW_SIZE)
        s->o.stream_window = NGHTTP2_MAX_WINDOW_SIZE;
    if (s->o.conn_window > NGHTTP2_MAX_WINDOW_SIZE)
        s->o.conn_window = NGHTTP2_MAX_WINDOW_SIZE;

    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    if (nghttp2_session_callbacks_new(&cb) != 0) {
        free(s);
        return BRAID_ENOMEM;
    }
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cb);
        free(s);
        return BRAID_ENOMEM;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
    int rc = nghttp2_session_server_new2(&s->h2, cb, s, opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    if (rc != 0) {
        free(s);
        return BRAID_ENOMEM;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->o.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, s->o.stream_window},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, MAX_FRAME_SIZE},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    if (nghttp2_submit_settings(s->h2, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
        nghttp2_session_set_local_window_size(s->h2, NGHTTP2_FLAG_NONE, 0,
                                              (int32_t)s->o.conn_window) != 0) {
        nghttp2_session_del(s->h2);
        free(s);
        return BRAID_ENOMEM;
    }
    *out = s;
    return 0;
}

void grpc_session_free(grpc_session *s)
{
    if (!s)
        return;
    s->freeing = true;
    nghttp2_session_del(s->h2);
    grpc_call *next;
    for (grpc_call *c = s->calls; c; c = next) {
        next = c->next;
        if (!c->stream_closed && c->st != CALL_ANSWERED)
            stats(s)->cancelled++;
        if (c->st == CALL_HANDLER)
            call_unlink(c);
        else
            call_free(c);
    }
    free(s);
}

int grpc_session_recv(grpc_session *s, const uint8_t *p, size_t n)
{
    ssize_t r = nghttp2_session_mem_recv(s->h2, p, n);
    if (r >= 0)
        return 0;
    if (r == NGHTTP2_ERR_NOMEM)
        return BRAID_ENOMEM;
    stats(s)->protocol_errors++;
    return BRAID_EINVAL;
}

int grpc_session_send(grpc_session *s, buf *out)
{
    for (;;) {
        const uint8_t *d;
        ssize_t n = nghttp2_session_mem_send(s->h2, &d);
        if (n < 0)
            return n == NGHTTP2_ERR_NOMEM ? BRAID_ENOMEM : BRAID_EIO;
        if (n == 0)
            return out->err;
        buf_append(out, d, (size_t)n);
    }
}

bool grpc_session_done(grpc_session *s)
{
    return !nghttp2_session_want_read(s->h2) && !nghttp2_session_want_write(s->h2);
}

void grpc_session_shutdown(grpc_session *s)
{
    if (s->goaway)
        return;
    s->goaway = true;
    nghttp2_submit_goaway(s->h2, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s->h2),
                          NGHTTP2_NO_ERROR, NULL, 0);
}

size_t grpc_session_calls(const grpc_session *s)
{
    return s->ncalls;
}

/* ---- the callback's side ------------------------------------------------------ */

size_t grpc_call_method(const grpc_call *c)
{
    assert(c->route >= 0);
    return (size_t)c->route;
}

int grpc_call_message(grpc_call *c, bslice *msg, char *err, size_t errlen)
{
    char tmp[1];
    if (errlen == 0) {
        err = tmp;
        errlen = sizeof tmp;
    }
    err[0] = 0;
    return decompress(c, c->max, msg, err, errlen);
}

int grpc_call_respond(grpc_call *c, grpc_reply *r)
{
    assert(c->st == CALL_HANDLER);
    if (!c->s || c->stream_closed) {
        call_free(c);
        buf_free(&r->body);
        return BRAID_ECLOSED;
    }
    call_drop_request(c);
    int rc = 0;
    if (r->code == GRPC_STATUS_OK) {
        rc = r->body.err ? BRAID_ENOMEM : call_answer_ok(c, &r->body);
        if (rc) {
            c->st = CALL_ANSWERED;
            nghttp2_submit_rst_stream(c->s->h2, NGHTTP2_FLAG_NONE, c->stream_id,
                                      NGHTTP2_INTERNAL_ERROR);
        }
    } else {
        call_answer_error(c, 200, r->code, r->msg, r->retry_delay_ms);
    }
    buf_free(&r->body);
    return rc;
}

/* server: the libuv HTTP/1.1 server declared in server.h. Owns the listening
 * socket, one http_conn per client (its read buffer, its exchange) and the
 * write blocks in flight. A connection handles one request at a time: it stops
 * reading while the handler has the request, so the request bytes never move
 * under the handler (or a threadpool job), and responses leave in request
 * order. Runs on the loop thread only; never blocks it. */
#include "server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_MIN 4096u            /* first read buffer of a connection */
#define CHUNKED_RAW_WINDOW 65536u /* undecoded chunked bytes read ahead */
#define RBUF_KEEP 16384u          /* idle connections keep a buffer up to this */
#define LISTEN_BACKLOG 511

typedef enum {
    PH_HEAD,         /* waiting for (the rest of) a request head */
    PH_BODY_LEN,     /* reading a Content-Length body */
    PH_BODY_CHUNKED, /* de-chunking a body in place */
    PH_HANDLER,      /* the handler has the exchange */
    PH_LINGER,       /* final response queued; discarding input until EOF */
} conn_phase;

typedef enum {
    DL_NONE,
    DL_IDLE,    /* keep-alive idle: close quietly */
    DL_REQUEST, /* a request is arriving too slowly: 408 */
    DL_WRITE,   /* the client does not read its responses: close */
    DL_LINGER,  /* lingering close is over: close */
} deadline_kind;

typedef struct http_conn http_conn;

struct http_exchange {
    http_conn *conn;
    http1_request req; /* also the scratch head while a request arrives */
    bslice body;
    uv_work_t work;
    http_work_fn work_fn, done_fn;
    void *work_ud;
};

struct http_conn {
    uv_tcp_t tcp;
    uv_shutdown_t shutdown_req;
    http_server *srv;
    http_conn *prev, *next;
    uint8_t *rbuf;
    size_t rlen, rcap;
    conn_phase phase;
    size_t head_len;         /* current request's head */
    uint64_t content_length; /* PH_BODY_LEN */
    http1_chunked chunk;     /* PH_BODY_CHUNKED */
    size_t body_len;         /* de-chunked bytes at rbuf + head_len */
    size_t raw_pos;          /* first chunked byte not yet decoded */
    size_t req_end;          /* bytes of rbuf the dispatched request used */
    uint64_t deadline;       /* uv_now() milliseconds; 0 = none */
    deadline_kind dl_kind;
    unsigned writes_pending;
    bool keep_alive;
    bool reading;
    bool busy;           /* the handler holds ex */
    bool close_issued;   /* uv_close called */
    bool tcp_closed;     /* close callback ran */
    bool close_on_flush; /* close once writes_pending reaches 0 */
    bool in_process;
    bool process_again;
    bool free_pending;
    http_exchange ex;
};

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t sweep;
    http_server_opts o;
    http_handler_fn handler;
    void *ud;
    http_conn *conns;
    unsigned rejecting; /* over-limit handles still closing */
    int handles_open;   /* listener + sweep */
    bool closing;
    bool sweep_close_issued;
    void (*close_cb)(void *ud);
    void *close_ud;
    int port;
    http_server_stats st;
    time_t date_t;
    char date[32];
};

/* A write in flight: this header, then the response head, then (unless the
 * body is owned separately) the body, all in one allocation. */
typedef struct {
    uv_write_t req;
    http_conn *c;
    uint8_t *owned_body;
    size_t total;
} wblock;

static void conn_process(http_conn *c);
static void conn_close(http_conn *c);
static void conn_update_read(http_conn *c);

/* ---- helpers ----------------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (errlen)
        snprintf(err, errlen, fmt, a, b);
}

static const char *srv_date(http_server *s)
{
    static const char *wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = time(NULL);
    if (t != s->date_t) {
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(s->date, sizeof s->date, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday % 7],
                 tm.tm_mday, mo[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        s->date_t = t;
    }
    return s->date;
}

static void json_error_body(const char *reason, buf *body)
{
    buf_puts(body, "{\"error\":\"");
    for (const unsigned char *p = (const unsigned char *)reason; *p; p++) {
        if (*p == '"' || *p == '\\') {
            buf_putc(body, '\\');
            buf_putc(body, *p);
        } else if (*p < 0x20) {
            buf_printf(body, "\\u%04x", *p);
        } else {
            buf_putc(body, *p);
        }
    }
    buf_puts(body, "\"}");
}

static const char *error_body(http_server *s, int status, const char *reason, buf *body)
{
    if (s->o.format_error)
        return s->o.format_error(status, reason, body, s->o.format_error_ud);
    json_error_body(reason, body);
    return "application/json";
}

static bool token_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
            return false;
    }
    return true;
}

static bool value_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static bool extra_ok(const http_header_kv *extra, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *k = extra[i].name, *v = extra[i].value;
        if (!k || !v || !token_ok(k) || !value_ok(v))
            return false;
        if (!strcasecmp(k, "content-length") || !strcasecmp(k, "transfer-encoding") ||
            !strcasecmp(k, "connection"))
            return false;
    }
    return true;
}

/* ---- connection life cycle --------------------------------------------------- */

static void srv_maybe_finish(http_server *s);

static void conn_free(http_conn *c)
{
    http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->rbuf);
    free(c);
    srv_maybe_finish(s);
}

static void conn_maybe_free(http_conn *c)
{
    if (!c->tcp_closed || c->busy)
        return;
    if (c->in_process) {
        c->free_pending = true;
        return;
    }
    conn_free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
    http_conn *c = h->data;
    c->tcp_closed = true;
    conn_maybe_free(c);
}

static void conn_close(http_conn *c)
{
    if (c->close_issued)
        return;
    c->close_issued = true;
    c->reading = false;
    c->srv->st.connections_open--;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* Closes as soon as queued responses are on the wire. */
static void conn_close_after_flush(http_conn *c)
{
    if (c->writes_pending == 0) {
        conn_close(c);
        return;
    }
    c->close_on_flush = true;
    conn_update_read(c);
}

static void set_deadline(http_conn *c, deadline_kind k, uint64_t ms)
{
    c->dl_kind = k;
    c->deadline = uv_now(c->srv->loop) + (ms ? ms : 1);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    http_conn *c = req->data;
    if (c->close_issued)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    /* the response is out; give the client a moment to read it and hang up */
    set_deadline(c, DL_LINGER, c->srv->o.linger_ms);
}

/* Final response queued: send FIN after it and discard whatever the client
 * still sends, so that closing does not reset the connection and destroy the
 * response before the client has read it. */
static void conn_linger(http_conn *c)
{
    if (c->close_issued || c->phase == PH_LINGER)
        return;
    c->phase = PH_LINGER;
    c->rlen = 0;
    c->close_on_flush = false;
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    set_deadline(c, DL_WRITE, c->srv->o.idle_timeout_ms);
    conn_update_read(c);
}

/* ---- writing ------------------------------------------------------------------ */

static void on_write(uv_write_t *req, int status)
{
    wblock *w = (wblock *)req;
    http_conn *c = w->c;
    c->writes_pending--;
    if (status == 0)
        c->srv->st.bytes_out += w->total;
    free(w->owned_body);
    free(w);
    if (c->close_issued)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->close_on_flush && c->writes_pending == 0) {
        conn_close(c);
        return;
    }
    if (c->dl_kind == DL_WRITE && c->phase != PH_LINGER)
        c->dl_kind = DL_NONE;
    conn_process(c);
}

/* Queues block (a wblock followed by `len` bytes) and, if given, an owned body.
 * Takes ownership of both in every case. */
static int conn_write(http_conn *c, uint8_t *block, size_t len, uint8_t *owned, size_t owned_len)
{
    wblock *w = (wblock *)block;
    w->c = c;
    w->owned_body = owned;
    w->total = len + owned_len;
    uv_buf_t bufs[2] = {uv_buf_init((char *)block + sizeof *w, (unsigned)len),
                        uv_buf_init((char *)owned, (unsigned)owned_len)};
    if (c->close_issued ||
        uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, owned_len ? 2 : 1, on_write) != 0) {
        free(owned);
        free(block);
        conn_close(c);
        return BRAID_ECLOSED;
    }
    c->writes_pending++;
    return 0;
}

/* Builds status line and headers into b after room for a wblock. */
static void build_head(http_server *s, buf *b, int status, const char *ctype,
                       const http_header_kv *extra, size_t n_extra, size_t body_len,
                       bool with_length, bool close, bool http10_keepalive)
{
    buf_reserve(b, sizeof(wblock) + 256);
    if (b->err)
        return;
    b->n = sizeof(wblock);
    buf_printf(b, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, http1_status_text(status), srv_date(s));
    if (ctype)
        buf_printf(b, "Content-Type: %s\r\n", ctype);
    if (with_length)
        buf_printf(b, "Content-Length: %zu\r\n", body_len);
    if (close)
        buf_puts(b, "Connection: close\r\n");
    else if (http10_keepalive)
        buf_puts(b, "Connection: keep-alive\r\n");
    for (size_t i = 0; i < n_extra; i++)
        buf_printf(b, "%s: %s\r\n", extra[i].name, extra[i].value);
    buf_puts(b, "\r\n");
}

/* Answers on the server's behalf and closes the connection (lingering). */
static void conn_fail(http_conn *c, int status, const char *reason)
{
    http_server *s = c->srv;
    s->st.rejected_requests++;
    buf body, b;
    buf_init(&body);
    buf_init(&b);
    const char *ctype = error_body(s, status, reason ? reason : http1_status_text(status), &body);
    build_head(s, &b, status, ctype, NULL, 0, body.n, true, true, false);
    buf_append(&b, body.p, body.n);
    buf_free(&body);
    if (b.err) {
        buf_free(&b);
        conn_close(c);
        return;
    }
    size_t n;
    uint8_t *block = buf_detach(&b, &n);
    if (conn_write(c, block, n - sizeof(wblock), NULL, 0) == 0)
        conn_linger(c);
}

static void conn_send_continue(http_conn *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uint8_t *block = malloc(sizeof(wblock) + sizeof msg - 1);
    if (!block) {
        conn_close(c);
        return;
    }
    memcpy(block + sizeof(wblock), msg, sizeof msg - 1);
    conn_write(c, block, sizeof msg - 1, NULL, 0);
}

/* ---- reading ------------------------------------------------------------------ */

static size_t read_limit(const http_conn *c)
{
    switch (c->phase) {
    case PH_HEAD:
        return c->srv->o.max_head;
    case PH_BODY_LEN:
        return c->head_len + (size_t)c->content_length;
    case PH_BODY_CHUNKED:
        return c->head_len + c->body_len + CHUNKED_RAW_WINDOW;
    case PH_LINGER:
        return READ_MIN;
    default:
        return 0;
    }
}

static bool write_blocked(const http_conn *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp) > c->srv->o.max_write_queue;
}

static int rbuf_reserve(http_conn *c, size_t cap)
{
    if (c->rcap >= cap)
        return 0;
    uint8_t *p = realloc(c->rbuf, cap);
    if (!p)
        return BRAID_ENOMEM;
    c->rbuf = p;
    c->rcap = cap;
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    (void)suggested;
    http_conn *c = h->data;
    *out = uv_buf_init(NULL, 0);
    if (c->phase == PH_LINGER)
        c->rlen = 0;
    size_t limit = read_limit(c);
    if (c->rlen >= limit)
        return;
    size_t cap = c->rcap;
    if (cap - c->rlen < READ_MIN) {
        cap = cap ? cap : READ_MIN;
        while (cap - c->rlen < READ_MIN && cap < limit)
            cap *= 2;
        if (cap > limit)
            cap = limit;
    }
    if (rbuf_reserve(c, cap) != 0)
        return;
    size_t end = c->rcap < limit ? c->rcap : limit;
    *out = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(end - c->rlen));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    http_conn *c = st->data;
    if (nread > 0) {
        c->srv->st.bytes_in += (uint64_t)nread;
        if (c->phase == PH_LINGER)
            return;
        c->rlen += (size_t)nread;
        conn_process(c);
        return;
    }
    if (nread == 0)
        return;
    if (nread == UV_EOF) {
        /* the client finished sending: answer what is complete, then close */
        uv_read_stop(st);
        c->reading = false;
        conn_close_after_flush(c);
        return;
    }
    conn_close(c);
}

static void conn_update_read(http_conn *c)
{
    if (c->close_issued)
        return;
    bool want = !c->busy && !c->close_on_flush &&
                (c->phase == PH_LINGER || (c->rlen < read_limit(c) && !write_blocked(c)));
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
            conn_close(c);
            return;
        }
        c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    if (c->busy || c->phase == PH_LINGER || c->close_on_flush)
        return;
    const http_server_opts *o = &c->srv->o;
    if (write_blocked(c)) {
        if (c->dl_kind != DL_WRITE)
            set_deadline(c, DL_WRITE, o->idle_timeout_ms);
    } else if (c->phase == PH_HEAD && c->rlen == 0) {
        if (c->dl_kind != DL_IDLE)
            set_deadline(c, DL_IDLE, o->idle_timeout_ms);
    } else if (c->dl_kind != DL_REQUEST) {
        set_deadline(c, DL_REQUEST, o->request_timeout_ms);
    }
}

/* ---- request handling --------------------------------------------------------- */

static http1_limits conn_limits(const http_conn *c)
{
    return (http1_limits){c->srv->o.max_head, c->srv->o.max_body};
}

static void conn_dispatch(http_conn *c, size_t req_end)
{
    http_server *s = c->srv;
    http1_limits lim = conn_limits(c);
    /* the buffer may have moved since the head was parsed: refresh the slices */
    int rc = http1_parse_head(c->rbuf, c->head_len, &lim, &c->ex.req);
    assert(rc == 0 && c->ex.req.head_len == c->head_len);
    (void)rc;
    size_t blen = 0;
    if (c->ex.req.body_kind == HTTP1_BODY_LENGTH)
        blen = (size_t)c->content_length;
    else if (c->ex.req.body_kind == HTTP1_BODY_CHUNKED)
        blen = c->body_len;
    c->ex.body = (bslice){c->rbuf + c->head_len, blen};
    c->ex.conn = c;
    c->req_end = req_end;
    c->phase = PH_HANDLER;
    c->busy = true;
    c->dl_kind = DL_NONE;
    c->deadline = 0;
    s->st.requests++;
    conn_update_read(c);
    s->handler(&c->ex, s->ud);
}

/* Starts the body of a request whose head was just parsed into c->ex.req. */
static void conn_begin_body(http_conn *c)
{
    const http1_request *r = &c->ex.req;
    c->head_len = r->head_len;
    c->keep_alive = r->keep_alive;
    c->content_length = r->content_length;
    if (r->body_kind == HTTP1_BODY_NONE ||
        (r->body_kind == HTTP1_BODY_LENGTH && r->content_length == 0)) {
        conn_dispatch(c, c->head_len);
        return;
    }
    if (r->expect_continue && c->rlen == c->head_len)
        conn_send_continue(c);
    if (r->body_kind == HTTP1_BODY_LENGTH) {
        /* the buffer grows with the bytes that arrive, not with what the
         * head announces, so idle claims of large bodies cost nothing */
        c->phase = PH_BODY_LEN;
        return;
    }
    c->phase = PH_BODY_CHUNKED;
    http1_chunked_init(&c->chunk, c->srv->o.max_body, c->srv->o.max_head);
    c->raw_pos = c->head_len;
    c->body_len = 0;
}

/* Runs the state machine until it needs bytes, the handler, or the writer. */
static void conn_steps(http_conn *c)
{
    http1_limits lim = conn_limits(c);
    while (!c->close_issued && !c->busy && !c->close_on_flush) {
        switch (c->phase) {
        case PH_HEAD: {
            if (c->rlen == 0)
                return;
            if (c->srv->closing) {
                conn_close_after_flush(c);
                return;
            }
            if (write_blocked(c))
                return;
            int rc = http1_parse_head(c->rbuf, c->rlen, &lim, &c->ex.req);
            if (rc == BRAID_EAGAIN)
                return;
            if (rc != 0) {
                conn_fail(c, c->ex.req.status, c->ex.req.reason);
                return;
            }
            conn_begin_body(c);
            break;
        }
        case PH_BODY_LEN:
            if (c->rlen - c->head_len < c->content_length)
                return;
            conn_dispatch(c, c->head_len + (size_t)c->content_length);
            break;
        case PH_BODY_CHUNKED: {
            size_t used, made;
            uint8_t *dst = c->rbuf + c->head_len + c->body_len;
            int rc = http1_chunked_decode(&c->chunk, c->rbuf + c->raw_pos, c->rlen - c->raw_pos,
                                          dst, &used, &made);
            c->raw_pos += used;
            c->body_len += made;
            size_t keep = c->head_len + c->body_len;
            if (keep < c->raw_pos) {
                memmove(c->rbuf + keep, c->rbuf + c->raw_pos, c->rlen - c->raw_pos);
                c->rlen -= c->raw_pos - keep;
                c->raw_pos = keep;
            }
            if (rc == BRAID_EAGAIN)
                return;
            if (rc != 0) {
                conn_fail(c, c->chunk.status, c->chunk.reason);
                return;
            }
            conn_dispatch(c, c->raw_pos);
            break;
        }
        case PH_HANDLER:
        case PH_LINGER:
            return;
        }
    }
}

static void conn_process(http_conn *c)
{
    if (c->in_process) {
        c->process_again = true;
        return;
    }
    c->in_process = true;
    do {
        c->process_again = false;
        conn_steps(c);
    } while (c->process_again);
    c->in_process = false;
    if (c->free_pending) {
        conn_free(c);
        return;
    }
    conn_update_read(c);
}

/* The response is queued (or cannot be): drop the request's bytes and go on
 * with the next pipelined one. */
static void conn_end_exchange(http_conn *c, bool close)
{
    c->busy = false;
    c->ex.body = (bslice){NULL, 0};
    if (c->tcp_closed || c->close_issued) {
        conn_maybe_free(c);
        return;
    }
    memmove(c->rbuf, c->rbuf + c->req_end, c->rlen - c->req_end);
    c->rlen -= c->req_end;
    c->req_end = 0;
    c->phase = PH_HEAD;
    c->dl_kind = DL_NONE;
    if (close) {
        conn_linger(c);
        return;
    }
    if (c->rlen == 0 && c->rcap > RBUF_KEEP) {
        free(c->rbuf);
        c->rbuf = NULL;
        c->rcap = 0;
    }
    conn_process(c);
}

/* ---- responses ----------------------------------------------------------------- */

static int respond(http_exchange *ex, int status, const char *ctype, const http_header_kv *extra,
                   size_t n_extra, const uint8_t *body, size_t len, uint8_t *owned)
{
    http_conn *c = ex->conn;
    assert(c && c->busy);
    if (!c || !c->busy) {
        free(owned);
        return BRAID_EINVAL;
    }
    http_server *s = c->srv;
    if (c->close_issued) {
        free(owned);
        conn_end_exchange(c, true);
        return BRAID_ECLOSED;
    }
    int rc = 0;
    buf errbody;
    buf_init(&errbody);
    if (status < 200 || status > 599 || (ctype && !value_ok(ctype)) || !extra_ok(extra, n_extra) ||
        len > UINT32_MAX / 2) {
        free(owned);
        owned = NULL;
        status = 500;
        ctype = error_body(s, status, "invalid response from handler", &errbody);
        extra = NULL;
        n_extra = 0;
        body = errbody.p;
        len = errbody.n;
        rc = BRAID_EINVAL;
    }
    bool close = !c->keep_alive || s->closing;
    bool no_body = status == 204 || status == 304;
    bool head_only = no_body || bslice_eq_cstr(ex->req.method, "HEAD");
    buf b;
    buf_init(&b);
    build_head(s, &b, status, no_body ? NULL : ctype, extra, n_extra, len, !no_body, close,
               ex->req.version_minor == 0);
    if (!head_only && !owned)
        buf_append(&b, body, len);
    buf_free(&errbody);
    if (b.err) {
        buf_free(&b);
        free(owned);
        conn_close(c);
        conn_end_exchange(c, true);
        return BRAID_ENOMEM;
    }
    size_t n;
    uint8_t *block = buf_detach(&b, &n);
    if (head_only) {
        free(owned);
        owned = NULL;
    }
    int wr = conn_write(c, block, n - sizeof(wblock), owned, owned ? len : 0);
    conn_end_exchange(c, close);
    return rc ? rc : wr;
}

int http_respond(http_exchange *ex, int status, const char *content_type,
                 const http_header_kv *extra, size_t n_extra, const void *body, size_t len)
{
    return respond(ex, status, content_type, extra, n_extra, body, len, NULL);
}

int http_respond_buf(http_exchange *ex, int status, const char *content_type,
                     const http_header_kv *extra, size_t n_extra, buf *body)
{
    size_t len = 0;
    uint8_t *owned = NULL;
    if (body->err) {
        buf_free(body);
        static const char oom[] = "{\"error\":\"out of memory\"}";
        respond(ex, 500, "application/json", NULL, 0, (const uint8_t *)oom, sizeof oom - 1, NULL);
        return BRAID_ENOMEM;
    }
    if (body->n)
        owned = buf_detach(body, &len);
    buf_free(body);
    return respond(ex, status, content_type, extra, n_extra, owned, len, owned);
}

int http_respond_error(http_exchange *ex, int status, const char *reason)
{
    buf body;
    buf_init(&body);
    const char *ctype = error_body(ex->conn->srv, status, reason ? reason : "", &body);
    return http_respond_buf(ex, status, ctype, NULL, 0, &body);
}

const http1_request *http_exchange_request(const http_exchange *ex)
{
    return &ex->req;
}

bslice http_exchange_body(const http_exchange *ex)
{
    return ex->body;
}

int http_exchange_header(const http_exchange *ex, const char *name, bslice *value)
{
    return http1_header_get(&ex->req, name, value);
}

static void on_work(uv_work_t *w)
{
    http_exchange *ex = w->data;
    ex->work_fn(ex, ex->work_ud);
}

static void on_after_work(uv_work_t *w, int status)
{
    (void)status; /* never cancelled: done always runs so the exchange ends */
    http_exchange *ex = w->data;
    ex->done_fn(ex, ex->work_ud);
}

int http_exchange_offload(http_exchange *ex, http_work_fn work, http_work_fn done, void *ud)
{
    if (!ex || !work || !done || !ex->conn || !ex->conn->busy)
        return BRAID_EINVAL;
    ex->work_fn = work;
    ex->done_fn = done;
    ex->work_ud = ud;
    ex->work.data = ex;
    if (uv_queue_work(ex->conn->srv->loop, &ex->work, on_work, on_after_work) != 0)
        return BRAID_EINVAL;
    return 0;
}

/* ---- shared by every listener ------------------------------------------------- */

typedef struct {
    uv_tcp_t tcp;
    void (*done)(void *ud);
    void *ud;
} reject_handle;

static void on_rejected_closed(uv_handle_t *h)
{
    reject_handle *r = h->data;
    void (*done)(void *) = r->done;
    void *ud = r->ud;
    free(r);
    done(ud);
}

int net_reject_connection(uv_stream_t *ls, void (*done)(void *ud), void *ud)
{
    reject_handle *r = malloc(sizeof *r);
    if (!r)
        return BRAID_ENOMEM;
    uv_tcp_init(ls->loop, &r->tcp);
    r->tcp.data = r;
    r->done = done;
    r->ud = ud;
    uv_accept(ls, (uv_stream_t *)&r->tcp);
    uv_close((uv_handle_t *)&r->tcp, on_rejected_closed);
    return 0;
}

/* ---- server -------------------------------------------------------------------- */

static void on_reject_closed(void *ud)
{
    http_server *s = ud;
    s->rejecting--;
    srv_maybe_finish(s);
}

static void on_connection(uv_stream_t *ls, int status)
{
    http_server *s = ls->data;
    if (status < 0) {
        LOG_WARN("http: accept on port %d failed: %s", s->port, uv_strerror(status));
        return;
    }
    if (s->st.connections_open >= s->o.max_connections) {
        if (net_reject_connection(ls, on_reject_closed, s) == 0) {
            s->rejecting++;
            s->st.connections_rejected++;
        }
        return;
    }
    http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->st.connections_open++;
    s->st.connections_total++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    conn_update_read(c);
}

static void on_sweep(uv_timer_t *t)
{
    http_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    http_conn *next;
    for (http_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->close_issued || c->busy || !c->deadline || now < c->deadline)
            continue;
        c->deadline = 0;
        switch (c->dl_kind) {
        case DL_REQUEST:
            conn_fail(c, 408, "request not received in time");
            break;
        case DL_IDLE:
        case DL_WRITE:
        case DL_LINGER:
        case DL_NONE:
            conn_close(c);
            break;
        }
    }
}

static void on_srv_handle_closed(uv_handle_t *h)
{
    http_server *s = h->data;
    if (--s->handles_open > 0)
        return;
    void (*cb)(void *) = s->close_cb;
    void *ud = s->close_ud;
    free(s);
    if (cb)
        cb(ud);
}

static void srv_maybe_finish(http_server *s)
{
    if (!s->closing || s->conns || s->rejecting || s->sweep_close_issued)
        return;
    s->sweep_close_issued = true;
    uv_close((uv_handle_t *)&s->sweep, on_srv_handle_closed);
}

void http_server_close(http_server *s, void (*cb)(void *ud), void *ud)
{
    assert(!s->closing);
    s->closing = true;
    s->close_cb = cb;
    s->close_ud = ud;
    uv_close((uv_handle_t *)&s->listener, on_srv_handle_closed);
    http_conn *next;
    for (http_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->close_issued || c->busy || c->phase == PH_LINGER)
            continue;
        conn_close_after_flush(c);
    }
    srv_maybe_finish(s);
}

int http_server_port(const http_server *s)
{
    return s->port;
}

void http_server_stats_get(const http_server *s, http_server_stats *out)
{
    *out = s->st;
}

/* Parses "host:port" / "[v6]:port" into a socket address. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    char host[64];
    const char *port;
    size_t hl;
    bool v6 = addr[0] == '[';
    if (v6) {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':')
            goto bad;
        hl = (size_t)(rb - addr - 1);
        if (hl >= sizeof host)
            goto bad;
        memcpy(host, addr + 1, hl);
        port = rb + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon)
            goto bad;
        hl = (size_t)(colon - addr);
        if (hl >= sizeof host || memchr(addr, ':', hl))
            goto bad;
        memcpy(host, addr, hl);
        port = colon + 1;
    }
    host[hl] = 0;
    if (!*port || strlen(port) > 5)
        goto bad;
    unsigned p = 0;
    for (const char *q = port; *q; q++) {
        if (*q < '0' || *q > '9')
            goto bad;
        p = p * 10 + (unsigned)(*q - '0');
    }
    if (p > 65535)
        goto bad;
    memset(ss, 0, sizeof *ss);
    if (v6) {
        if (uv_ip6_addr(host, (int)p, (struct sockaddr_in6 *)ss) != 0)
            goto bad;
        return 0;
    }
    const char *h4 = host;
    if (!*host || !strcmp(host, "*"))
        h4 = "0.0.0.0";
    else if (!strcmp(host, "localhost"))
        h4 = "127.0.0.1";
    if (uv_ip4_addr(h4, (int)p, (struct sockaddr_in *)ss) != 0)
        goto bad;
    return 0;
bad:
    set_err(err, errlen, "invalid listen address \"%s\"%s (want host:port or [ipv6]:port)", addr,
            "");
    return BRAID_EINVAL;
}

/* Binds and listens on a plain socket first, so that a failure needs no
 * asynchronous handle close and the caller gets a clean synchronous error. */
static int open_listen_socket(const struct sockaddr_storage *ss, const char *addr, int *fd_out,
                              char *err, size_t errlen)
{
    int fam = ss->ss_family;
    socklen_t sl = fam == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_err(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        return BRAID_EIO;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, sl) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        set_err(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        close(fd);
        return BRAID_EIO;
    }
    *fd_out = fd;
    return 0;
}

int net_listen_socket(const char *addr, int *fd_out, int *port_out, char *err, size_t errlen)
{
    if (errlen)
        err[0] = 0;
    struct sockaddr_storage ss, bound;
    int fd, rc = parse_addr(addr, &ss, err, errlen);
    if (rc == 0)
        rc = open_listen_socket(&ss, addr, &fd, err, errlen);
    if (rc)
        return rc;
    socklen_t bl = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bl) != 0) {
        set_err(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        close(fd);
        return BRAID_EIO;
    }
    *port_out = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    *fd_out = fd;
    return 0;
}

static void opts_resolve(http_server_opts *o, const http_server_opts *in)
{
    if (in)
        *o = *in;
    else
        memset(o, 0, sizeof *o);
    if (!o->max_head)
        o->max_head = HTTP1_DEFAULT_MAX_HEAD;
    if (!o->max_body)
        o->max_body = 16u << 20;
    if (!o->max_connections)
        o->max_connections = 4096;
    if (!o->idle_timeout_ms)
        o->idle_timeout_ms = 60000;
    if (!o->request_timeout_ms)
        o->request_timeout_ms = 60000;
    if (!o->linger_ms)
        o->linger_ms = 2000;
    if (!o->max_write_queue)
        o->max_write_queue = 1u << 20;
}

static uint64_t sweep_period(const http_server_opts *o)
{
    uint64_t p = o->idle_timeout_ms;
    if (o->request_timeout_ms < p)
        p = o->request_timeout_ms;
    if (o->linger_ms < p)
        p = o->linger_ms;
    p /= 4;
    return p < 10 ? 10 : p > 1000 ? 1000 : p;
}

int http_server_listen(uv_loop_t *loop, const char *addr, const http_server_opts *opts,
                       http_handler_fn handler, void *ud, http_server **out, char *err,
                       size_t errlen)
{
    if (errlen)
        err[0] = 0;
    if (!loop || !addr || !handler || !out) {
        set_err(err, errlen, "%s%s", "invalid arguments", "");
        return BRAID_EINVAL;
    }
    struct sockaddr_storage ss;
    int rc = parse_addr(addr, &ss, err, errlen);
    if (rc)
        return rc;
    int fd;
    rc = open_listen_socket(&ss, addr, &fd, err, errlen);
    if (rc)
        return rc;
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bl) != 0) {
        set_err(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        close(fd);
        return BRAID_EIO;
    }
    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return BRAID_ENOMEM;
    }
    s->loop = loop;
    opts_resolve(&s->o, opts);
    s->handler = handler;
    s->ud = ud;
    s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    uv_tcp_init(loop, &s->listener);
    uv_timer_init(loop, &s->sweep);
    s->listener.data = s;
    s->sweep.data = s;
    s->handles_open = 2;
    int uerr = uv_tcp_open(&s->listener, fd);
    bool owned_by_uv = uerr == 0;
    if (uerr == 0)
        uerr = uv_listen((uv_stream_t *)&s->listener, LISTEN_BACKLOG, on_connection);
    if (uerr != 0) {
        /* rare after a successful bind; the handles close on the next loop turn */
        set_err(err, errlen, "cannot listen on %s: %s", addr, uv_strerror(uerr));
        if (!owned_by_uv)
            close(fd);
        s->closing = true;
        s->sweep_close_issued = true;
        uv_close((uv_handle_t *)&s->listener, on_srv_handle_closed);
        uv_close((uv_handle_t *)&s->sweep, on_srv_handle_closed);
        return BRAID_EIO;
    }
    uint64_t period = sweep_period(&s->o);
    uv_timer_start(&s->sweep, on_sweep, period, period);
    *out = s;
    return 0;
}

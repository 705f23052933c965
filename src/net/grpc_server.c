/* grpc_server: the libuv gRPC server declared in grpc_server.h. Owns the
 * listening socket, one gconn per client (its grpc session) and the write
 * blocks in flight. All reads land in one server-wide buffer: the session
 * copies what it keeps before on_read returns. A connection outlives its
 * socket while calls of it are on the threadpool, so that their answers (or
 * their cancellation) always find it. Loop thread only; never blocks it. */
#include "grpc_server.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "server.h"

#define READ_BUF (256u << 10)
#define LISTEN_BACKLOG 511
#define MAX_WRITE_QUEUE (1u << 20) /* unsent bytes at which a connection stops reading */

typedef struct gconn gconn;

struct gconn {
    uv_tcp_t tcp;
    grpc_server *srv;
    gconn *prev, *next;
    grpc_session *sess; /* NULL once the socket is closing */
    unsigned inflight;  /* calls of this connection on the threadpool */
    unsigned writes_pending;
    uint64_t last_active; /* uv_now() of the last byte read */
    bool reading;
    bool close_issued;
    bool tcp_closed;
    bool close_on_flush;
};

struct grpc_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t sweep;
    grpc_server_opts o;
    grpc_work_fn work;
    void *ud;
    gconn *conns;
    unsigned rejecting; /* over-limit handles still closing */
    int handles_open;   /* listener + sweep */
    bool closing;
    bool sweep_close_issued;
    uint64_t close_deadline;
    void (*close_cb)(void *ud);
    void *close_ud;
    int port;
    grpc_server_stats st;
    uint8_t *rbuf;
};

/* A call on the threadpool. */
typedef struct {
    uv_work_t work;
    gconn *c;
    grpc_call *call;
    grpc_work_fn fn;
    void *ud;
    grpc_reply reply;
} gjob;

/* A write in flight: this header, then the bytes, in one allocation. */
typedef struct {
    uv_write_t req;
    gconn *c;
    size_t len;
} wblock;

static void conn_flush(gconn *c);
static void srv_maybe_finish(grpc_server *s);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);

/* ---- connection life cycle ------------------------------------------------------- */

static void conn_maybe_free(gconn *c)
{
    if (!c->tcp_closed || c->inflight > 0)
        return;
    grpc_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    srv_maybe_finish(s);
}

static void on_conn_closed(uv_handle_t *h)
{
    gconn *c = h->data;
    c->tcp_closed = true;
    conn_maybe_free(c);
}

/* Closes the socket and frees the session (and with it every buffer of the
 * connection's streams) at once; calls on the threadpool are detached. */
static void conn_close(gconn *c)
{
    if (c->close_issued)
        return;
    c->close_issued = true;
    c->reading = false;
    grpc_session_free(c->sess);
    c->sess = NULL;
    c->srv->st.connections_open--;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void conn_update_read(gconn *c)
{
    if (c->close_issued)
        return;
    bool want = !c->close_on_flush &&
                uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < MAX_WRITE_QUEUE;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) {
            conn_close(c);
            return;
        }
        c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* Closes once what is queued is on the wire. */
static void conn_close_after_flush(gconn *c)
{
    if (c->writes_pending == 0) {
        conn_close(c);
        return;
    }
    c->close_on_flush = true;
    conn_update_read(c);
}

/* ---- writing ------------------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
    wblock *w = (wblock *)req;
    gconn *c = w->c;
    free(w);
    c->writes_pending--;
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
    conn_update_read(c);
}

/* Sends whatever the session has queued; closes when the session is done. */
static void conn_flush(gconn *c)
{
    if (c->close_issued)
        return;
    buf b;
    buf_init(&b);
    /* room for the write header, so header and bytes are one allocation */
    if (buf_reserve(&b, sizeof(wblock)) == 0)
        b.n = sizeof(wblock);
    int rc = b.err ? b.err : grpc_session_send(c->sess, &b);
    if (rc) {
        buf_free(&b);
        conn_close(c);
        return;
    }
    if (b.n > sizeof(wblock)) {
        size_t n;
        wblock *w = (wblock *)buf_detach(&b, &n);
        w->c = c;
        w->len = n - sizeof(wblock);
        uv_buf_t ub = uv_buf_init((char *)(w + 1), (unsigned)w->len);
        if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &ub, 1, on_write) != 0) {
            free(w);
            conn_close(c);
            return;
        }
        c->writes_pending++;
        c->srv->st.bytes_out += w->len;
    }
    buf_free(&b);
    if (grpc_session_done(c->sess)) {
        conn_close_after_flush(c);
        return;
    }
    conn_update_read(c);
}

/* ---- calls ------------------------------------------------------------------------ */

static void job_work(uv_work_t *w)
{
    gjob *j = w->data;
    j->fn(j->call, &j->reply, j->ud);
}

static void job_done(uv_work_t *w, int status)
{
    (void)status; /* never cancelled: every job answers its call */
    gjob *j = w->data;
    gconn *c = j->c;
    c->srv->st.calls_in_flight--;
    c->inflight--;
    grpc_call_respond(j->call, &j->reply);
    grpc_reply_free(&j->reply);
    free(j);
    if (c->close_issued)
        conn_maybe_free(c);
    else
        conn_flush(c);
}

/* The session has a complete request: run the work on the threadpool. */
static void on_call(grpc_call *call, void *ud)
{
    gconn *c = ud;
    grpc_server *s = c->srv;
    gjob *j = calloc(1, sizeof *j);
    if (j) {
        j->c = c;
        j->call = call;
        j->fn = s->work;
        j->ud = s->ud;
        j->work.data = j;
        grpc_reply_init(&j->reply);
        if (uv_queue_work(s->loop, &j->work, job_work, job_done) == 0) {
            c->inflight++;
            s->st.calls_in_flight++;
            return;
        }
        free(j);
    }
    grpc_reply r;
    grpc_reply_init(&r);
    r.code = GRPC_STATUS_UNAVAILABLE;
    snprintf(r.msg, sizeof r.msg, "cannot schedule the request; retry later");
    grpc_call_respond(call, &r);
    grpc_reply_free(&r);
}

/* ---- reading -------------------------------------------------------------------- */

/* libuv reads right after asking for the buffer and calls on_read before the
 * next read, and on_read hands every byte to the session, which copies what it
 * keeps: one buffer serves every connection. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    (void)suggested;
    gconn *c = h->data;
    *out = uv_buf_init((char *)c->srv->rbuf, READ_BUF);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    gconn *c = st->data;
    grpc_server *s = c->srv;
    if (nread == 0)
        return;
    if (nread < 0) {
        /* EOF or an error: the client is gone, and so are its streams */
        conn_close(c);
        return;
    }
    s->st.bytes_in += (uint64_t)nread;
    c->last_active = uv_now(s->loop);
    int rc = grpc_session_recv(c->sess, (const uint8_t *)b->base, (size_t)nread);
    if (c->close_issued)
        return;
    conn_flush(c);
    if (rc && !c->close_issued)
        conn_close_after_flush(c);
}

/* ---- server ------------------------------------------------------------------------ */

static void on_reject_closed(void *ud)
{
    grpc_server *s = ud;
    s->rejecting--;
    srv_maybe_finish(s);
}

static void on_connection(uv_stream_t *ls, int status)
{
    grpc_server *s = ls->data;
    if (status < 0) {
        LOG_WARN("grpc: accept on port %d failed: %s", s->port, uv_strerror(status));
        return;
    }
    if (s->st.connections_open >= s->o.max_connections) {
        if (net_reject_connection(ls, on_reject_closed, s) == 0) {
            s->rejecting++;
            s->st.connections_rejected++;
        }
        return;
    }
    gconn *c = calloc(1, sizeof *c);
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
    c->last_active = uv_now(s->loop);
    grpc_session_opts so = {
        .methods = s->o.methods,
        .n_methods = s->o.n_methods,
        .max_message = s->o.max_message,
        .max_concurrent_streams = s->o.max_concurrent_streams,
        .on_call = on_call,
        .ud = c,
        .stats = &s->st.calls,
    };
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0 || grpc_session_new(&so, &c->sess) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    conn_flush(c); /* the server's SETTINGS go out first */
}

static void on_sweep(uv_timer_t *t)
{
    grpc_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    gconn *next;
    for (gconn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->close_issued)
            continue;
        if (s->closing) {
            if (now >= s->close_deadline)
                conn_close(c);
            continue;
        }
        if (c->inflight > 0 || now - c->last_active < s->o.idle_timeout_ms)
            continue;
        if (grpc_session_calls(c->sess) > 0) {
            /* a request stalled mid-way for the whole idle time */
            conn_close(c);
            continue;
        }
        grpc_session_shutdown(c->sess);
        conn_flush(c);
    }
}

static void on_srv_handle_closed(uv_handle_t *h)
{
    grpc_server *s = h->data;
    if (--s->handles_open > 0)
        return;
    void (*cb)(void *) = s->close_cb;
    void *ud = s->close_ud;
    free(s->rbuf);
    free(s);
    if (cb)
        cb(ud);
}

static void srv_maybe_finish(grpc_server *s)
{
    if (!s->closing || s->conns || s->rejecting || s->sweep_close_issued)
        return;
    s->sweep_close_issued = true;
    uv_close((uv_handle_t *)&s->sweep, on_srv_handle_closed);
}

void grpc_server_close(grpc_server *s, void (*cb)(void *ud), void *ud)
{
    assert(!s->closing);
    s->closing = true;
    s->close_cb = cb;
    s->close_ud = ud;
    s->close_deadline = uv_now(s->loop) + s->o.close_timeout_ms;
    uv_close((uv_handle_t *)&s->listener, on_srv_handle_closed);
    gconn *next;
    for (gconn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->close_issued)
            continue;
        grpc_session_shutdown(c->sess);
        conn_flush(c);
    }
    srv_maybe_finish(s);
}

int grpc_server_port(const grpc_server *s)
{
    return s->port;
}

void grpc_server_stats_get(const grpc_server *s, grpc_server_stats *out)
{
    *out = s->st;
}

void grpc_server_stats_text(const grpc_server_stats *st, buf *out)
{
    const grpc_stats *k = &st->calls;
    buf_printf(out,
               "# HELP braid_grpc_requests_total gRPC calls received whole and handed to a "
               "handler.\n# TYPE braid_grpc_requests_total counter\n"
               "braid_grpc_requests_total %llu\n",
               (unsigned long long)k->calls);
    buf_puts(out, "# HELP braid_grpc_responses_total gRPC answers by grpc-status, including "
                  "refusals by the protocol layer.\n# TYPE braid_grpc_responses_total counter\n");
    for (int i = 0; i < GRPC_STATUS_COUNT; i++)
        if (i == 0 || k->status[i])
            buf_printf(out, "braid_grpc_responses_total{code=\"%s\"} %llu\n", grpc_status_name(i),
                       (unsigned long long)k->status[i]);
    buf_printf(out,
               "# HELP braid_grpc_compressed_requests_total Request messages that arrived "
               "compressed, by grpc-encoding.\n# TYPE braid_grpc_compressed_requests_total "
               "counter\nbraid_grpc_compressed_requests_total{encoding=\"gzip\"} %llu\n"
               "braid_grpc_compressed_requests_total{encoding=\"deflate\"} %llu\n",
               (unsigned long long)k->compressed_gzip, (unsigned long long)k->compressed_deflate);
    buf_printf(out,
               "# HELP braid_grpc_cancelled_streams_total Streams reset or dropped by the client "
               "before their answer.\n# TYPE braid_grpc_cancelled_streams_total counter\n"
               "braid_grpc_cancelled_streams_total %llu\n"
               "# HELP braid_grpc_health_checks_total grpc.health.v1 Health/Check calls.\n"
               "# TYPE braid_grpc_health_checks_total counter\n"
               "braid_grpc_health_checks_total %llu\n"
               "# HELP braid_grpc_protocol_errors_total Connections ended for an HTTP/2 "
               "protocol error.\n# TYPE braid_grpc_protocol_errors_total counter\n"
               "braid_grpc_protocol_errors_total %llu\n",
               (unsigned long long)k->cancelled, (unsigned long long)k->health_checks,
               (unsigned long long)k->protocol_errors);
    buf_printf(out,
               "# HELP braid_grpc_calls_in_flight gRPC calls being decoded and stored now.\n"
               "# TYPE braid_grpc_calls_in_flight gauge\nbraid_grpc_calls_in_flight %llu\n"
               "# HELP braid_grpc_bytes_received_total Bytes read on gRPC connections.\n"
               "# TYPE braid_grpc_bytes_received_total counter\n"
               "braid_grpc_bytes_received_total %llu\n"
               "# HELP braid_grpc_bytes_sent_total Bytes written on gRPC connections.\n"
               "# TYPE braid_grpc_bytes_sent_total counter\nbraid_grpc_bytes_sent_total %llu\n",
               (unsigned long long)st->calls_in_flight, (unsigned long long)st->bytes_in,
               (unsigned long long)st->bytes_out);
    buf_printf(out,
               "# HELP braid_grpc_connections_total gRPC connections accepted.\n"
               "# TYPE braid_grpc_connections_total counter\nbraid_grpc_connections_total %llu\n"
               "# HELP braid_grpc_rejected_connections_total gRPC connections closed at once: "
               "over the connection limit.\n"
               "# TYPE braid_grpc_rejected_connections_total counter\n"
               "braid_grpc_rejected_connections_total %llu\n"
               "# HELP braid_grpc_open_connections Open gRPC connections.\n"
               "# TYPE braid_grpc_open_connections gauge\nbraid_grpc_open_connections %llu\n",
               (unsigned long long)st->connections_total,
               (unsigned long long)st->connections_rejected,
               (unsigned long long)st->connections_open);
}

static uint64_t sweep_period(const grpc_server_opts *o)
{
    uint64_t p =
        o->idle_timeout_ms < o->close_timeout_ms ? o->idle_timeout_ms : o->close_timeout_ms;
    p /= 4;
    return p < 10 ? 10 : p > 1000 ? 1000 : p;
}

int grpc_server_listen(uv_loop_t *loop, const char *addr, const grpc_server_opts *opts,
                       grpc_work_fn work, void *ud, grpc_server **out, char *err, size_t errlen)
{
    if (errlen)
        err[0] = 0;
    if (!loop || !addr || !opts || !opts->methods || !opts->n_methods || !work || !out) {
        if (errlen)
            snprintf(err, errlen, "invalid arguments");
        return BRAID_EINVAL;
    }
    int fd, port;
    int rc = net_listen_socket(addr, &fd, &port, err, errlen);
    if (rc)
        return rc;
    grpc_server *s = calloc(1, sizeof *s);
    uint8_t *rbuf = malloc(READ_BUF);
    if (!s || !rbuf) {
        free(s);
        free(rbuf);
        close(fd);
        return BRAID_ENOMEM;
    }
    s->loop = loop;
    s->o = *opts;
    if (!s->o.max_connections)
        s->o.max_connections = 4096;
    if (!s->o.idle_timeout_ms)
        s->o.idle_timeout_ms = 300000;
    if (!s->o.close_timeout_ms)
        s->o.close_timeout_ms = 10000;
    s->work = work;
    s->ud = ud;
    s->port = port;
    s->rbuf = rbuf;
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
        if (errlen)
            snprintf(err, errlen, "cannot listen on %s: %s", addr, uv_strerror(uerr));
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

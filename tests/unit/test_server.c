/* Tests for net/server: a real server on 127.0.0.1:0 runs its own uv loop in a
 * thread; the tests talk to it with plain blocking sockets. Covers keep-alive,
 * pipelining order, chunked uploads, 100-continue, automatic 400/408/413/431/
 * 505 answers, the threadpool offload path, clients vanishing mid-request,
 * many concurrent connections, limits, timeouts and graceful close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "net/server.h"

/* ---- the server under test ------------------------------------------------ */

typedef struct {
    uv_loop_t loop;
    uv_async_t stop;
    uv_thread_t thread;
    uv_sem_t ready;
    http_server *srv;
    http_server_opts opts;
    const char *addr;
    int port;
    int listen_rc;
    int loop_close_rc;
    bool closed;
    int last_respond_rc;
    char err[128];
} tsrv;

typedef struct {
    http_exchange *ex;
    buf out;
    unsigned sleep_ms;
} job;

static void job_work(http_exchange *ex, void *ud)
{
    job *j = ud;
    if (j->sleep_ms)
        usleep(j->sleep_ms * 1000);
    bslice b = http_exchange_body(ex);
    for (size_t i = 0; i < b.n; i++)
        buf_putc(&j->out, (uint8_t)((b.p[i] >= 'a' && b.p[i] <= 'z') ? b.p[i] - 32 : b.p[i]));
}

static void job_done(http_exchange *ex, void *ud)
{
    job *j = ud;
    http_respond_buf(ex, 200, "text/plain", NULL, 0, &j->out);
    free(j);
}

typedef struct {
    uv_timer_t timer;
    http_exchange *ex;
    char body[64];
} later;

static void later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void later_fire(uv_timer_t *t)
{
    later *l = t->data;
    http_respond(l->ex, 200, "text/plain", NULL, 0, l->body, strlen(l->body));
    uv_close((uv_handle_t *)&l->timer, later_closed);
}

static void handler(http_exchange *ex, void *ud)
{
    tsrv *t = ud;
    const http1_request *r = http_exchange_request(ex);
    bslice body = http_exchange_body(ex);
    if (bslice_eq_cstr(r->path, "/echo")) {
        buf b;
        buf_init(&b);
        buf_printf(&b, "%.*s %.*s?%.*s|", (int)r->method.n, (const char *)r->method.p,
                   (int)r->path.n, (const char *)r->path.p, (int)r->query.n,
                   (const char *)r->query.p);
        buf_append(&b, body.p, body.n);
        t->last_respond_rc = http_respond(ex, 200, "text/plain", NULL, 0, b.p, b.n);
        buf_free(&b);
    } else if (bslice_eq_cstr(r->path, "/offload")) {
        job *j = calloc(1, sizeof *j);
        uint8_t v[16];
        size_t vn;
        if (http1_query_get(r->query, "sleep", v, sizeof v - 1, &vn) == 0) {
            v[vn] = 0;
            j->sleep_ms = (unsigned)atoi((const char *)v);
        }
        buf_init(&j->out);
        j->ex = ex;
        assert_int_equal(http_exchange_offload(ex, job_work, job_done, j), 0);
    } else if (bslice_eq_cstr(r->path, "/later")) {
        later *l = calloc(1, sizeof *l);
        l->ex = ex;
        snprintf(l->body, sizeof l->body, "later %.*s", (int)r->query.n, (const char *)r->query.p);
        uv_timer_init(&t->loop, &l->timer);
        l->timer.data = l;
        uv_timer_start(&l->timer, later_fire, 30, 0);
    } else if (bslice_eq_cstr(r->path, "/stats")) {
        http_server_stats st;
        http_server_stats_get(t->srv, &st);
        char s[256];
        int n = snprintf(s, sizeof s, "open=%llu total=%llu rejected=%llu requests=%llu bad=%llu",
                         (unsigned long long)st.connections_open,
                         (unsigned long long)st.connections_total,
                         (unsigned long long)st.connections_rejected,
                         (unsigned long long)st.requests, (unsigned long long)st.rejected_requests);
        http_respond(ex, 200, "text/plain", NULL, 0, s, (size_t)n);
    } else if (bslice_eq_cstr(r->path, "/retry")) {
        http_header_kv h[] = {{"Retry-After", "3"}};
        const char *b = "{\"error\":\"over the memory limit\"}";
        http_respond(ex, 429, "application/json", h, 1, b, strlen(b));
    } else if (bslice_eq_cstr(r->path, "/bad-header")) {
        http_header_kv h[] = {{"X-Evil", "a\r\nSet-Cookie: x=1"}};
        t->last_respond_rc = http_respond(ex, 200, "text/plain", h, 1, "ok", 2);
    } else if (bslice_eq_cstr(r->path, "/bad-framing")) {
        http_header_kv h[] = {{"Content-Length", "1"}};
        t->last_respond_rc = http_respond(ex, 200, "text/plain", h, 1, "ok", 2);
    } else if (bslice_eq_cstr(r->path, "/last-rc")) {
        /* read on the loop thread, after the handler that stored it returned */
        char s[16];
        int n = snprintf(s, sizeof s, "%d", t->last_respond_rc);
        http_respond(ex, 200, "text/plain", NULL, 0, s, (size_t)n);
    } else if (bslice_eq_cstr(r->path, "/big")) {
        buf b;
        buf_init(&b);
        for (int i = 0; i < 3 * 1024 * 1024 / 16; i++)
            buf_printf(&b, "%015d\n", i);
        http_respond_buf(ex, 200, "text/plain", NULL, 0, &b);
    } else if (bslice_eq_cstr(r->path, "/nocontent")) {
        http_respond(ex, 204, "text/plain", NULL, 0, "ignored", 7);
    } else {
        http_respond_error(ex, 404, "no such \"path\"");
    }
}

static void on_server_closed(void *ud)
{
    tsrv *t = ud;
    t->closed = true;
    uv_close((uv_handle_t *)&t->stop, NULL);
}

static void on_stop(uv_async_t *a)
{
    tsrv *t = a->data;
    http_server_close(t->srv, on_server_closed, t);
}

static void srv_thread(void *arg)
{
    tsrv *t = arg;
    uv_loop_init(&t->loop);
    uv_async_init(&t->loop, &t->stop, on_stop);
    t->stop.data = t;
    t->listen_rc =
        http_server_listen(&t->loop, t->addr, &t->opts, handler, t, &t->srv, t->err, sizeof t->err);
    if (t->listen_rc == 0)
        t->port = http_server_port(t->srv);
    else
        uv_close((uv_handle_t *)&t->stop, NULL);
    uv_sem_post(&t->ready);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    t->loop_close_rc = uv_loop_close(&t->loop);
}

static tsrv *tsrv_start(const char *addr, const http_server_opts *opts)
{
    tsrv *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->addr = addr;
    if (opts)
        t->opts = *opts;
    uv_sem_init(&t->ready, 0);
    assert_int_equal(uv_thread_create(&t->thread, srv_thread, t), 0);
    uv_sem_wait(&t->ready);
    return t;
}

static void tsrv_stop_begin(tsrv *t)
{
    uv_async_send(&t->stop);
}

static void tsrv_join(tsrv *t)
{
    uv_thread_join(&t->thread);
    uv_sem_destroy(&t->ready);
    assert_int_equal(t->loop_close_rc, 0);
    bool ok = t->listen_rc != 0 || t->closed;
    free(t);
    assert_true(ok);
}

static void tsrv_stop(tsrv *t)
{
    tsrv_stop_begin(t);
    tsrv_join(t);
}

/* ---- a blocking client ----------------------------------------------------- */

typedef struct {
    int fd;
    char *buf;
    size_t n, cap;
} client;

typedef struct {
    int status;
    char head[8192];
    char *body;
    size_t body_len;
} resp;

static void set_timeout(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static client *cl_open_af(int af, int port)
{
    client *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->fd = socket(af, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    set_timeout(c->fd, 5000);
    int rc;
    if (af == AF_INET6) {
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        sa.sin6_addr = in6addr_loopback;
        rc = connect(c->fd, (struct sockaddr *)&sa, sizeof sa);
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = connect(c->fd, (struct sockaddr *)&sa, sizeof sa);
    }
    assert_int_equal(rc, 0);
    c->cap = 1 << 16;
    c->buf = malloc(c->cap);
    assert_non_null(c->buf);
    return c;
}

static client *cl_open(int port)
{
    return cl_open_af(AF_INET, port);
}

static void cl_close(client *c)
{
    close(c->fd);
    free(c->buf);
    free(c);
}

static void cl_send(client *c, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            fail_msg("send failed: %s", strerror(errno));
        s += w;
        n -= (size_t)w;
    }
}

static void cl_sends(client *c, const char *s)
{
    cl_send(c, s, strlen(s));
}

/* Reads more bytes into the client buffer; returns bytes read, 0 on EOF,
 * -1 on error or timeout. */
static ssize_t cl_fill(client *c)
{
    if (c->n == c->cap) {
        c->cap *= 2;
        c->buf = realloc(c->buf, c->cap);
        assert_non_null(c->buf);
    }
    ssize_t r = recv(c->fd, c->buf + c->n, c->cap - c->n, 0);
    if (r > 0)
        c->n += (size_t)r;
    return r;
}

static const char *hdr(const resp *r, const char *name)
{
    static char v[256];
    char pat[128];
    snprintf(pat, sizeof pat, "\r\n%s:", name);
    const char *p = strcasestr(r->head, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r");
    if (n >= sizeof v)
        n = sizeof v - 1;
    memcpy(v, p, n);
    v[n] = 0;
    return v;
}

/* Reads one response (status line, headers, Content-Length body). Returns 0,
 * or -1 when the connection ended or timed out first. */
static int cl_read(client *c, resp *r, bool head_request)
{
    memset(r, 0, sizeof *r);
    char *end;
    while (!(end = memmem(c->buf, c->n, "\r\n\r\n", 4))) {
        if (cl_fill(c) <= 0)
            return -1;
    }
    size_t hl = (size_t)(end - c->buf) + 4;
    assert_true(hl < sizeof r->head);
    memcpy(r->head, c->buf, hl);
    r->head[hl] = 0;
    assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
    const char *cl = hdr(r, "Content-Length");
    size_t blen = cl && !head_request ? (size_t)strtoull(cl, NULL, 10) : 0;
    while (c->n < hl + blen) {
        if (cl_fill(c) <= 0)
            return -1;
    }
    r->body = malloc(blen + 1);
    memcpy(r->body, c->buf + hl, blen);
    r->body[blen] = 0;
    r->body_len = blen;
    memmove(c->buf, c->buf + hl + blen, c->n - hl - blen);
    c->n -= hl + blen;
    return 0;
}

static void resp_free(resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* Sends a request and checks the status and body of its response. */
static void roundtrip(client *c, const char *req, int status, const char *body)
{
    resp r;
    cl_sends(c, req);
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, status);
    if (body)
        assert_string_equal(r.body, body);
    resp_free(&r);
}

/* The server must end the connection (EOF or reset) within the timeout. */
static void cl_expect_end(client *c)
{
    for (;;) {
        ssize_t r = cl_fill(c);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return;
        if (r < 0)
            fail_msg("connection still open: %s", strerror(errno));
    }
}

static void stats_of(tsrv *t, const char *key, unsigned long long *v)
{
    client *c = cl_open(t->port);
    resp r;
    cl_sends(c, "GET /stats HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(cl_read(c, &r, false), 0);
    const char *p = strstr(r.body, key);
    assert_non_null(p);
    *v = strtoull(p + strlen(key) + 1, NULL, 10);
    resp_free(&r);
    cl_close(c);
}

/* Polls a counter until it reaches want (the server updates asynchronously). */
static void wait_stat(tsrv *t, const char *key, unsigned long long want)
{
    unsigned long long v = 0;
    for (int i = 0; i < 200; i++) {
        stats_of(t, key, &v);
        if (v == want)
            return;
        usleep(10000);
    }
    fail_msg("%s stayed %llu, want %llu", key, v, want);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_keep_alive(void **state)
{
    (void)state;
    tsrv *t = tsrv_start("127.0.0.1:0", NULL);
    assert_int_equal(t->listen_rc, 0);
    assert_true(t->port > 0);
    client *c = cl_open(t->port);
    for (int i = 0; i < 3; i++) {
        resp r;
        cl_sends(c, "GET /echo?i=1 HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_int_equal(cl_read(c, &r, false), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "GET /echo?i=1|");
        assert_null(hdr(&r, "Connection"));
        assert_string_equal(hdr(&r, "Content-Type"), "text/plain");
        assert_non_null(hdr(&r, "Date"));
        resp_free(&r);
    }
    roundtrip(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody", 200,
              "POST /echo?|body");
    cl_close(c);
    unsigned long long v;
    stats_of(t, "requests", &v);
    assert_int_equal(v, 5);
    stats_of(t, "total", &v);
    assert_int_equal(v, 3);
    tsrv_stop(t);
}

static void test_pipelining(void **state)
{
    (void)state;
    tsrv *t = tsrv_start("127.0.0.1:0", NULL);
    client *c = cl_open(t->port);
    /* a slow response first, then a fast one, then a threadpool one */
    cl_sends(c, "GET /later?1 HTTP/1.1\r\nHost: t\r\n\r\n"
                "GET /echo?2 HTTP/1.1\r\nHost: t\r\n\r\n"
                "POST /offload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nthree");
    const char *want[] = {"later 1", "GET /echo?2|", "THREE"};
    for (int i = 0; i < 3; i++) {
        resp r;
        assert_int_equal(cl_read(c, &r, false), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, want[i]);
        resp_free(&r);
    }
    /* pipelined chunked and Content-Length requests in one write */
    cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3\r\nabc\r\n0\r\n\r\n"
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nde"
                "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    const char *want2[] = {"POST /echo?|abc", "POST /echo?|de", "GET /echo?|"};
    for (int i = 0; i < 3; i++) {
        resp r;
        assert_int_equal(cl_read(c, &r, false), 0);
        assert_string_equal(r.body, want2[i]);
        if (i == 2)
            assert_string_equal(hdr(&r, "Connection"), "close");
        resp_free(&r);
    }
    cl_expect_end(c);
    cl_close(c);
    tsrv_stop(t);
}

static void test_chunked_upload(void **state)
{
    (void)state;
    tsrv *t = tsrv_start("127.0.0.1:0", NULL);
    client *c = cl_open(t->port);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const char *parts[] = {"POST /echo?x=1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n",
                           "\r\n6;ext=1\r\nhello ",
                           "\r\n",
                           "11\r\nworld, chunked!\r\n\r\n",
                           "0\r\nX-Trailer: yes\r\n",
                           "\r\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        cl_sends(c, parts[i]);
        usleep(2000);
    }
    resp r;
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "POST /echo?x=1|hello world, chunked!\r\n");
    resp_free(&r);

    /* a larger chunked body, byte-exact, in many chunks */
    buf req;
    buf_init(&req);
    buf_puts(&req, "POST /offload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    size_t total = 0;
    for (int i = 0; i < 300; i++) {
        buf_printf(&req, "%x\r\n", 1000 + i);
        for (int k = 0; k < 1000 + i; k++)
            buf_putc(&req, (uint8_t)('a' + (k + i) % 26));
        buf_puts(&req, "\r\n");
        total += (size_t)(1000 + i);
    }
    buf_puts(&req, "0\r\n\r\n");
    cl_send(c, req.p, req.n);
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, total);
    assert_int_equal(r.body[0], 'A');
    assert_int_equal(r.body[999], 'L');  /* chunk 0 ends with 'a' + 999 % 26 */
    assert_int_equal(r.body[1000], 'B'); /* chunk 1 starts one letter later */
    resp_free(&r);
    buf_free(&req);
    roundtrip(c, "GET /echo?after HTTP/1.1\r\nHost: t\r\n\r\n", 200, "GET /echo?after|");
    cl_close(c);
    tsrv_stop(t);
}

static void test_100_continue(void **state)
{
    (void)state;
    tsrv *t = tsrv_start("127.0.0.1:0", NULL);
    client *c = cl_open(t->port);
    cl_sends(c,
             "PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    resp r;
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 100);
    resp_free(&r);
    cl_sends(c, "12345");
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "PUT /echo?|12345");
    resp_free(&r);
    /* body sent along with the head: no interim response */
    roundtrip(c,
              "PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: "
              "2\r\n\r\nok",
              200, "PUT /echo?|ok");
    cl_close(c);
    tsrv_stop(t);
}

static void test_413(void **state)
{
    (void)state;
    http_server_opts o = {.max_body = 1024};
    tsrv *t = tsrv_start("127.0.0.1:0", &o);
    char big[4096];
    memset(big, 'x', sizeof big);

    client *c = cl_open(t->port);
    cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\n\r\n");
    cl_send(c, big, sizeof big);
    resp r;
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 413);
    assert_string_equal(hdr(&r, "Connection"), "close");
    assert_string_equal(hdr(&r, "Content-Type"), "application/json");
    assert_string_equal(r.body, "{\"error\":\"request body larger than the limit\"}");
    resp_free(&r);
    cl_expect_end(c);
    cl_close(c);

    /* with Expect: 100-continue the answer comes before any body is sent */
    c = cl_open(t->port);
    cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: "
                "1000000\r\n\r\n");
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    cl_expect_end(c);
    cl_close(c);

    /* chunked: found while de-chunking */
    c = cl_open(t->port);
    cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                "200\r\n");
    cl_send(c, big, 0x200);
    cl_sends(c, "\r\n200\r\n");
    cl_send(c, big, 0x200);
    cl_sends(c, "\r\n1\r\nx\r\n0\r\n\r\n");
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    cl_expect_end(c);
    cl_close(c);

    /* exactly at the limit is fine */
    c = cl_open(t->port);
    cl_sends(c, "POST /offload HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n");
    cl_send(c, big, 1024);
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 1024);
    resp_free(&r);
    cl_close(c);
    tsrv_stop(t);
}

typedef struct {
    const char *why;
    const char *req;
    int status;
    const char *error;
} reject_case;

static void test_rejections(void **state)
{
    (void)state;
    static const reject_case cases[] = {
        {"bare LF", "GET / HTTP/1.1\nHost: t\n\n", 400, "bare LF line ending (CRLF is required)"},
        {"smuggling attempt",
         "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400, "both Content-Length and Transfer-Encoding"},
        {"missing Host", "GET / HTTP/1.1\r\n\r\n", 400, "missing Host field"},
        {"bad chunk size", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
         400, "malformed chunk size"},
        {"HTTP/2 preface on an HTTP/1 port", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505,
         "HTTP version not supported"},
        {"unknown transfer coding",
         "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: br, chunked\r\n\r\n", 501,
         "unsupported transfer coding"},
        {"unknown expectation", "GET / HTTP/1.1\r\nHost: t\r\nExpect: tea\r\n\r\n", 417,
         "unsupported Expect value"},
    };
    tsrv *t = tsrv_start("127.0.0.1:0", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        client *c = cl_open(t->port);
        resp r;
        cl_sends(c, cases[i].req);
        assert_int_equal(cl_read(c, &r, false), 0);
        if (r.status != cases[i].status)
            fail_msg("%s: status %d want %d", cases[i].why, r.status, cases[i].status);
        char want[256];
        snprintf(want, sizeof want, "{\"error\":\"%s\"}", cases[i].error);
        assert_string_equal(r.body, want);
        assert_string_equal(hdr(&r, "Connection"), "close");
        resp_free(&r);
        cl_expect_end(c);
        cl_close(c);
    }

    /* 431: a 70 KiB header against the default 64 KiB head limit */
    client *c = cl_open(t->port);
    size_t n = 70 * 1024;
    char *big = malloc(n);
    const char *pre = "GET / HTTP/1.1\r\nHost: t\r\nCookie: ";
    memcpy(big, pre, strlen(pre));
    memset(big + strlen(pre), 'c', n - strlen(pre) - 4);
    memcpy(big + n - 4, "\r\n\r\n", 4);
    cl_send(c, big, n);
    free(big);
    resp r;
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 431);
    resp_free(&r);
    cl_expect_end(c);
    cl_close(c);

    unsigned long long v;
    stats_of(t, "bad", &v);
    assert_int_equal(v, sizeof cases / sizeof cases[0] + 1);
    stats_of(t, "requests", &v);
    assert_int_equal(v, 2); /* the two stats requests themselves */
    tsrv_stop(t);
}

static void test_offload(void **state)
{
    (void)state;
    tsrv *t = tsrv_start("127.0.0.1:0", NULL);
    client *c = cl_open(t->port);
    roundtrip(c, "POST /offload HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world", 200,
              "HELLO WORLD");
    roundtrip(c, "POST /offload?sleep=20 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok", 200,
              "OK");
    /* an empty body is sent with Content-Length: 0 */
    resp r;
    cl_sends(c, "GET /offload HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(hdr(&r, "Content-Length"), "0");
    resp_free(&r);
    cl_close(c);
    tsrv_stop(t);
}

static void test_client_gone(void **state)
{
    (void)state;
    tsrv *t = tsrv_start("127.0.0.1:0", NULL);
    /* closes in the middle of a Content-Length body */
    client *c = cl_open(t->port);
    cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n0123456789");
    cl_close(c);
    /* in the middle of a chunked body */
    c = cl_open(t->port);
    cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nabc");
    cl_close(c);
    /* in the middle of a head */
    c = cl_open(t->port);
    cl_sends(c, "GET /echo HTTP/1.1\r\nHo");
    cl_close(c);
    /* while its request is on the threadpool */
    c = cl_open(t->port);
    cl_sends(c, "POST /offload?sleep=50 HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx");
    usleep(10000);
    cl_close(c);
    /* with a reset instead of a FIN */
    c = cl_open(t->port);
    cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\n01234");
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    cl_close(c);
    /* only the stats connection stays */
    wait_stat(t, "open", 1);
    tsrv_stop(t);
}

static void test_concurrent(void **state)
{
    (void)state;
    enum { N = 200 };
    tsrv *t = tsrv_start("127.0.0.1:0", NULL);
    client *cs[N];
    for (int i = 0; i < N; i++)
        cs[i] = cl_open(t->port);
    for (int i = 0; i < N; i++) {
        char req[128];
        snprintf(req, sizeof req, "GET /%s?c=%d HTTP/1.1\r\nHost: t\r\n\r\n",
                 i % 3 ? "echo" : "offload", i);
        cl_sends(cs[i], req);
    }
    for (int i = N - 1; i >= 0; i--) {
        resp r;
        assert_int_equal(cl_read(cs[i], &r, false), 0);
        assert_int_equal(r.status, 200);
        char want[64];
        if (i % 3)
            snprintf(want, sizeof want, "GET /echo?c=%d|", i);
        else
            want[0] = 0;
        assert_string_equal(r.body, want);
        resp_free(&r);
    }
    unsigned long long v;
    stats_of(t, "open", &v);
    assert_int_equal(v, N + 1);
    for (int i = 0; i < N; i++)
        cl_close(cs[i]);
    wait_stat(t, "open", 1);
    stats_of(t, "total", &v);
    assert_true(v >= N + 2);
    tsrv_stop(t);
}

static void test_timeouts(void **state)
{
    (void)state;
    http_server_opts o = {.idle_timeout_ms = 150, .request_timeout_ms = 200};
    tsrv *t = tsrv_start("127.0.0.1:0", &o);
    /* idle after a response */
    client *c = cl_open(t->port);
    roundtrip(c, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n", 200, "GET /echo?|");
    uint64_t t0 = uv_hrtime();
    cl_expect_end(c);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_true(ms >= 100 && ms < 2000);
    cl_close(c);
    /* idle without any request */
    c = cl_open(t->port);
    cl_expect_end(c);
    cl_close(c);
    /* a head that never completes: 408, even though bytes keep trickling */
    c = cl_open(t->port);
    cl_sends(c, "GET /echo HTTP/1.1\r\n");
    for (int i = 0; i < 3; i++) {
        usleep(50000);
        cl_sends(c, "X: y\r\n");
    }
    resp r;
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 408);
    resp_free(&r);
    cl_expect_end(c);
    cl_close(c);
    tsrv_stop(t);
}

static void test_max_connections(void **state)
{
    (void)state;
    http_server_opts o = {.max_connections = 2};
    tsrv *t = tsrv_start("127.0.0.1:0", &o);
    client *a = cl_open(t->port), *b = cl_open(t->port);
    roundtrip(a, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n", 200, NULL);
    roundtrip(b, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n", 200, NULL);
    client *c = cl_open(t->port);
    cl_expect_end(c);
    cl_close(c);
    resp r;
    cl_sends(a, "GET /stats HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(cl_read(a, &r, false), 0);
    assert_non_null(strstr(r.body, "open=2 total=2 rejected=1"));
    resp_free(&r);
    cl_close(b);
    /* a slot frees up once a connection goes */
    for (int i = 0; i < 100; i++) {
        c = cl_open(t->port);
        cl_sends(c, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
        if (cl_read(c, &r, false) == 0) {
            assert_int_equal(r.status, 200);
            resp_free(&r);
            cl_close(c);
            break;
        }
        cl_close(c);
        usleep(10000);
    }
    cl_close(a);
    tsrv_stop(t);
}

static void test_head_http10_and_status(void **state)
{
    (void)state;
    tsrv *t = tsrv_start("127.0.0.1:0", NULL);
    client *c = cl_open(t->port);
    resp r;
    cl_sends(c, "HEAD /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(cl_read(c, &r, true), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(hdr(&r, "Content-Length"), "12"); /* "HEAD /echo?|" */
    resp_free(&r);
    /* the HEAD response carried no body: the next response starts cleanly */
    roundtrip(c, "GET /nocontent HTTP/1.1\r\nHost: t\r\n\r\n", 204, "");
    roundtrip(c, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", 404,
              "{\"error\":\"no such \\\"path\\\"\"}");
    cl_sends(c, "GET /retry HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 429);
    assert_string_equal(hdr(&r, "Retry-After"), "3");
    resp_free(&r);
    /* header injection and framing headers from a handler become a 500 */
    cl_sends(c, "GET /bad-header HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_int_equal(r.status, 500);
    assert_null(hdr(&r, "Set-Cookie"));
    resp_free(&r);
    roundtrip(c, "GET /last-rc HTTP/1.1\r\nHost: t\r\n\r\n", 200, "-2"); /* BRAID_EINVAL */
    roundtrip(c, "GET /bad-framing HTTP/1.1\r\nHost: t\r\n\r\n", 500, NULL);
    roundtrip(c, "GET /last-rc HTTP/1.1\r\nHost: t\r\n\r\n", 200, "-2");
    cl_close(c);

    /* HTTP/1.0: closes by default, stays with keep-alive */
    c = cl_open(t->port);
    cl_sends(c, "GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_string_equal(hdr(&r, "Connection"), "keep-alive");
    resp_free(&r);
    cl_sends(c, "GET /echo HTTP/1.0\r\n\r\n");
    assert_int_equal(cl_read(c, &r, false), 0);
    assert_string_equal(r.body, "GET /echo?|");
    assert_string_equal(hdr(&r, "Connection"), "close");
    resp_free(&r);
    cl_expect_end(c);
    cl_close(c);
    tsrv_stop(t);
}

static void test_big_response(void **state)
{
    (void)state;
    tsrv *t = tsrv_start("127.0.0.1:0", NULL);
    client *c = cl_open(t->port);
    /* two big responses pipelined, read slowly at first */
    cl_sends(c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\nGET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(50000);
    for (int k = 0; k < 2; k++) {
        resp r;
        assert_int_equal(cl_read(c, &r, false), 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, 3 * 1024 * 1024);
        assert_memory_equal(r.body + 16 * 1000, "000000000001000\n", 16);
        resp_free(&r);
    }
    cl_close(c);
    tsrv_stop(t);
}

static void test_graceful_close(void **state)
{
    (void)state;
    tsrv *t = tsrv_start("127.0.0.1:0", NULL);
    client *busy = cl_open(t->port), *idle = cl_open(t->port);
    roundtrip(idle, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n", 200, NULL);
    cl_sends(busy, "POST /offload?sleep=200 HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbusy");
    usleep(50000);
    tsrv_stop_begin(t);
    /* the idle connection is closed, the in-flight request still answered */
    cl_expect_end(idle);
    resp r;
    assert_int_equal(cl_read(busy, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "BUSY");
    assert_string_equal(hdr(&r, "Connection"), "close");
    resp_free(&r);
    cl_expect_end(busy);
    cl_close(busy);
    cl_close(idle);
    tsrv_join(t);
}

static void test_listen_errors(void **state)
{
    (void)state;
    const char *bad[] = {"nope",   "1.2.3.4", "127.0.0.1:99999", "127.0.0.1:",  "[::1",
                         "::1:80", "[::1]80", "300.1.1.1:80",    "127.0.0.1:8x"};
    uv_loop_t loop;
    uv_loop_init(&loop);
    http_server *s = NULL;
    char err[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = http_server_listen(&loop, bad[i], NULL, handler, NULL, &s, err, sizeof err);
        if (rc != BRAID_EINVAL)
            fail_msg("\"%s\": rc %d", bad[i], rc);
        assert_non_null(strstr(err, bad[i]));
    }
    assert_int_equal(
        http_server_listen(&loop, "127.0.0.1:0", NULL, handler, NULL, &s, err, sizeof err), 0);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", http_server_port(s));
    http_server *s2 = NULL;
    assert_int_equal(http_server_listen(&loop, addr, NULL, handler, NULL, &s2, err, sizeof err),
                     BRAID_EIO);
    assert_non_null(strstr(err, "in use"));
    assert_null(s2);
    http_server_close(s, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_ipv6(void **state)
{
    (void)state;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
    sa.sin6_addr = in6addr_loopback;
    bool have = probe >= 0 && bind(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (probe >= 0)
        close(probe);
    if (!have)
        skip();
    tsrv *t = tsrv_start("[::1]:0", NULL);
    assert_int_equal(t->listen_rc, 0);
    client *c = cl_open_af(AF_INET6, t->port);
    roundtrip(c, "GET /echo?v6 HTTP/1.1\r\nHost: [::1]\r\n\r\n", 200, "GET /echo?v6|");
    cl_close(c);
    tsrv_stop(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_chunked_upload),
        cmocka_unit_test(test_100_continue),
        cmocka_unit_test(test_413),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_offload),
        cmocka_unit_test(test_client_gone),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_head_http10_and_status),
        cmocka_unit_test(test_big_response),
        cmocka_unit_test(test_graceful_close),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_ipv6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

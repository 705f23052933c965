/* Tests for net/http1: request heads (valid, malformed, smuggling vectors,
 * limits), prefix consistency, pipelining, chunked de-chunking split at every
 * byte and in place, and query-string decoding. Table-driven: one row per
 * case with the reason it exists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "net/http1.h"

/* ---- request heads -------------------------------------------------------- */

#define WHOLE ((size_t)-1)

typedef struct {
    const char *why;
    const char *in;
    size_t n;
    size_t max_head;   /* 0: default */
    uint64_t max_body; /* 0: 1 MiB */
    int rc;
    int status;
    const char *method, *path, *query;
    int minor;
    http1_body_kind body;
    uint64_t cl;
    bool keep_alive, expect;
    size_t n_headers;
    size_t head_len; /* WHOLE: all of `in` */
} head_case;

/* S(lit): a literal and its length, so that rows may hold NUL bytes */
#define S(lit) lit, sizeof(lit) - 1
#define OK_GET(why, in, path, query, n)                                                            \
    {                                                                                              \
        why, S(in), 0, 0, 0, 0, "GET", path, query, 1, HTTP1_BODY_NONE, 0, true, false, n, WHOLE   \
    }
#define BAD(why, in, rc, status)                                                                   \
    {                                                                                              \
        why, S(in), 0, 0, rc, status, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0                        \
    }

static const head_case head_cases[] = {
    OK_GET("minimal HTTP/1.1 request", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "/", "", 1),
    OK_GET("path and query are split at the first '?'",
           "GET /api/v1/logs?service=a&q=b?c HTTP/1.1\r\nHost: a\r\n\r\n", "/api/v1/logs",
           "service=a&q=b?c", 1),
    OK_GET("empty query after '?'", "GET /x? HTTP/1.1\r\nHost: a\r\n\r\n", "/x", "", 1),
    OK_GET("empty lines before the request line are skipped",
           "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "/", "", 1),
    OK_GET("absolute-form target", "GET http://h:1/p/q?z=1 HTTP/1.1\r\nHost: h\r\n\r\n", "/p/q",
           "z=1", 1),
    OK_GET("absolute-form target without a path", "GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", "/",
           "", 1),
    OK_GET("absolute-form target with only a query", "GET http://h?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
           "/", "x=1", 1),
    OK_GET("obs-text in a field value is allowed",
           "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", "/", "", 2),
    OK_GET("empty field value", "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n", "/", "", 2),
    OK_GET("Connection keep-alive is the HTTP/1.1 default with other tokens",
           "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n", "/", "", 2),
    {"asterisk-form", S("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 0, 0, 0, 0, "OPTIONS", "*", "", 1,
     HTTP1_BODY_NONE, 0, true, false, 1, WHOLE},
    {"HTTP/1.0 without Host is fine and closes by default", S("GET /old HTTP/1.0\r\n\r\n"), 0, 0, 0,
     0, "GET", "/old", "", 0, HTTP1_BODY_NONE, 0, false, false, 0, WHOLE},
    {"HTTP/1.0 keep-alive header keeps the connection",
     S("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0, 0, 0, 0, "GET", "/", "", 0,
     HTTP1_BODY_NONE, 0, true, false, 1, WHOLE},
    {"HTTP/1.0 ignores Expect", S("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), 0, 0, 0, 0,
     "POST", "/", "", 0, HTTP1_BODY_NONE, 0, false, false, 1, WHOLE},
    {"Connection: close in a token list, any case",
     S("GET / HTTP/1.1\r\nHost: a\r\nConnection: TE, CLOSE\r\n\r\n"), 0, 0, 0, 0, "GET", "/", "", 1,
     HTTP1_BODY_NONE, 0, false, false, 2, WHOLE},
    {"close wins over keep-alive in HTTP/1.0",
     S("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"), 0, 0, 0, 0, "GET",
     "/", "", 0, HTTP1_BODY_NONE, 0, false, false, 2, WHOLE},
    {"HTTP/1.2 is treated as HTTP/1.1", S("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 0, 0, 0, 0, "GET",
     "/", "", 1, HTTP1_BODY_NONE, 0, true, false, 1, WHOLE},
    {"Content-Length body: head_len stops before the body",
     S("POST /v1/logs HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"), 0, 0, 0, 0, "POST",
     "/v1/logs", "", 1, HTTP1_BODY_LENGTH, 5, true, false, 2, 54},
    {"repeated identical Content-Length values",
     S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, "
       "7\r\nContent-Length: 7\r\n\r\n"),
     0, 0, 0, 0, "POST", "/", "", 1, HTTP1_BODY_LENGTH, 7, true, false, 3, WHOLE},
    {"Content-Length with leading zeros and OWS",
     S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \t007 \r\n\r\n"), 0, 0, 0, 0, "POST", "/", "",
     1, HTTP1_BODY_LENGTH, 7, true, false, 2, WHOLE},
    {"Content-Length: 0", S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"), 0, 0, 0, 0,
     "POST", "/", "", 1, HTTP1_BODY_LENGTH, 0, true, false, 2, WHOLE},
    {"Content-Length exactly at the body limit",
     S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1024\r\n\r\n"), 0, 1024, 0, 0, "POST", "/",
     "", 1, HTTP1_BODY_LENGTH, 1024, true, false, 2, WHOLE},
    {"chunked transfer coding",
     S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), 0, 0, 0, 0, "POST", "/",
     "", 1, HTTP1_BODY_CHUNKED, 0, true, false, 2, WHOLE},
    {"chunked is case-insensitive and OWS-trimmed",
     S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  ChunKed \r\n\r\n"), 0, 0, 0, 0, "POST",
     "/", "", 1, HTTP1_BODY_CHUNKED, 0, true, false, 2, WHOLE},
    {"Expect: 100-continue",
     S("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: "
       "3\r\n\r\n"),
     0, 0, 0, 0, "PUT", "/x", "", 1, HTTP1_BODY_LENGTH, 3, true, true, 3, WHOLE},
    {"head exactly at max_head", S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 27, 0, 0, 0, "GET", "/",
     "", 1, HTTP1_BODY_NONE, 0, true, false, 1, WHOLE},
    {"pipelined: only the first request is consumed",
     S("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"), 0, 0, 0, 0, "GET",
     "/1", "", 1, HTTP1_BODY_NONE, 0, true, false, 1, 28},

    BAD("bare LF ends the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("bare LF ends a field line", "GET / HTTP/1.1\r\nHost: a\n\r\n", BRAID_EINVAL, 400),
    BAD("bare LF ends the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", BRAID_EINVAL, 400),
    BAD("bare LF as an empty leading line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", BRAID_EINVAL,
        400),
    BAD("bare CR inside a field value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", BRAID_EINVAL, 400),
    BAD("bare CR at the end of the head", "GET / HTTP/1.1\r\nHost: a\r\n\rX", BRAID_EINVAL, 400),
    BAD("obs-fold continuation line", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("obs-fold hiding Transfer-Encoding",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", BRAID_EINVAL, 400),
    BAD("whitespace before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", BRAID_EINVAL,
        400),
    BAD("whitespace between field name and colon",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", BRAID_EINVAL, 400),
    BAD("empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", BRAID_EINVAL, 400),
    BAD("non-token field name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n", BRAID_EINVAL, 400),
    BAD("NUL in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", BRAID_EINVAL, 400),
    BAD("DEL in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", BRAID_EINVAL, 400),
    BAD("NUL in the method", "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("two spaces after the target", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("tab as separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("no version", "GET /\r\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("fragment in the target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("non-ASCII byte in the target", "GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("lowercase protocol name", "GET / http/1.1\r\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("junk after the version", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("two-digit minor version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", BRAID_EINVAL, 400),
    BAD("TLS handshake bytes on a plain port", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        BRAID_EINVAL, 400),
    BAD("HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", BRAID_EUNSUPPORTED, 505),
    BAD("HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", BRAID_EUNSUPPORTED, 505),
    BAD("HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX: 1\r\n\r\n", BRAID_EINVAL, 400),
    BAD("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", BRAID_EINVAL, 400),
    BAD("two Host fields in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", BRAID_EINVAL,
        400),
    BAD("smuggling: Content-Length and Transfer-Encoding",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("smuggling: Transfer-Encoding then Content-Length",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("smuggling: Transfer-Encoding in HTTP/1.0",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", BRAID_EINVAL, 400),
    BAD("smuggling: chunked is not the final coding",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", BRAID_EINVAL,
        400),
    BAD("smuggling: misspelled chunked",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
        "xchunked\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("smuggling: chunked with parameters",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", BRAID_EINVAL, 400),
    BAD("smuggling: chunked twice in two fields",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
        "chunked\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("smuggling: chunked twice in one list",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", BRAID_EINVAL,
        400),
    BAD("smuggling: empty Transfer-Encoding",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
        "\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("other transfer codings are not implemented",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        BRAID_EUNSUPPORTED, 501),
    BAD("smuggling: differing Content-Length fields",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("smuggling: differing Content-Length list",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
        "5, 6\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("Content-Length with a sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("hex Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("space inside Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("empty Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
        BRAID_EINVAL, 400),
    BAD("empty element in a Content-Length list",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", BRAID_EINVAL, 400),
    BAD("unsupported expectation", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n",
        BRAID_EUNSUPPORTED, 417),
    {"Content-Length over the body limit: 413 with the head parsed",
     S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n"), 0, 1024, BRAID_ETOOBIG, 413,
     "POST", "/", "", 1, HTTP1_BODY_LENGTH, 1025, true, false, 2, WHOLE},
    {"Content-Length beyond 64 bits saturates to too large",
     S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n"), 0, 0,
     BRAID_ETOOBIG, 413, "POST", "/", "", 1, HTTP1_BODY_LENGTH, UINT64_MAX, true, false, 2, WHOLE},
    {"head one byte over max_head", S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 26, 0, BRAID_ETOOBIG,
     431, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0},
    {"request line alone over max_head",
     S("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 32, 0, BRAID_ETOOBIG, 431,
     NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0},
};

/* Integer comparison that names the failing row. */
#define ROW_EQ(a, b)                                                                               \
    do {                                                                                           \
        if ((uint64_t)(a) != (uint64_t)(b))                                                        \
            fail_msg("%s: %s is %llu, want %llu", c->why, #a, (unsigned long long)(a),             \
                     (unsigned long long)(b));                                                     \
    } while (0)
#define ROW_SLICE(s, want)                                                                         \
    do {                                                                                           \
        if (!bslice_eq_cstr(s, want))                                                              \
            fail_msg("%s: %s is \"%.*s\", want \"%s\"", c->why, #s, (int)(s).n,                    \
                     (const char *)(s).p, want);                                                   \
    } while (0)

static void check_head_row(const head_case *c, const uint8_t *in, size_t n)
{
    http1_limits lim = {c->max_head, c->max_body ? c->max_body : 1u << 20};
    http1_request r;
    int rc = http1_parse_head(in, n, &lim, &r);
    if (rc != c->rc)
        fail_msg("%s: rc %d, want %d (reason %s)", c->why, rc, c->rc, r.reason ? r.reason : "-");
    ROW_EQ(r.status, c->status);
    if (c->rc != 0 && !r.reason)
        fail_msg("%s: no reason", c->why);
    if (!c->method)
        return;
    ROW_SLICE(r.method, c->method);
    ROW_SLICE(r.path, c->path);
    ROW_SLICE(r.query, c->query);
    ROW_EQ(r.version_minor, c->minor);
    ROW_EQ(r.body_kind, c->body);
    ROW_EQ(r.content_length, c->cl);
    ROW_EQ(r.keep_alive, c->keep_alive);
    ROW_EQ(r.expect_continue, c->expect);
    ROW_EQ(r.n_headers, c->n_headers);
    ROW_EQ(r.head_len, c->head_len == WHOLE ? n : c->head_len);
}

static void test_head_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof head_cases / sizeof head_cases[0]; i++) {
        const head_case *c = &head_cases[i];
        check_head_row(c, (const uint8_t *)c->in, c->n);
    }
}

/* Every prefix of a row gives "need more" or the row's own verdict. */
static void test_head_prefixes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof head_cases / sizeof head_cases[0]; i++) {
        const head_case *c = &head_cases[i];
        size_t n = c->n;
        http1_limits lim = {c->max_head, c->max_body ? c->max_body : 1u << 20};
        http1_request full, part;
        int frc = http1_parse_head((const uint8_t *)c->in, n, &lim, &full);
        for (size_t k = 0; k < n; k++) {
            int rc = http1_parse_head((const uint8_t *)c->in, k, &lim, &part);
            if (rc == BRAID_EAGAIN)
                continue;
            if (rc != frc || part.status != full.status)
                fail_msg("%s: prefix %zu gives %d/%d, whole gives %d/%d", c->why, k, rc,
                         part.status, frc, full.status);
            if (rc == 0)
                assert_int_equal(part.head_len, full.head_len);
        }
        if (frc == 0 || (frc == BRAID_ETOOBIG && full.status == 413)) {
            /* a complete head is complete exactly at head_len */
            assert_int_equal(
                http1_parse_head((const uint8_t *)c->in, full.head_len - 1, &lim, &part),
                BRAID_EAGAIN);
        }
    }
}

static void test_head_fields(void **state)
{
    (void)state;
    const char *in = "GET / HTTP/1.1\r\nHost: example\r\nX-Key:  \tv a l \t\r\n"
                     "content-TYPE: application/x-protobuf\r\nX-Key: second\r\n\r\n";
    http1_request r;
    assert_int_equal(http1_parse_head((const uint8_t *)in, strlen(in), NULL, &r), 0);
    bslice v;
    assert_int_equal(http1_header_get(&r, "x-key", &v), 0);
    assert_true(bslice_eq_cstr(v, "v a l"));
    assert_int_equal(http1_header_get(&r, "Content-Type", &v), 0);
    assert_true(bslice_eq_cstr(v, "application/x-protobuf"));
    assert_int_equal(http1_header_get(&r, "HOST", &v), 0);
    assert_true(bslice_eq_cstr(v, "example"));
    assert_int_equal(http1_header_get(&r, "X-Missing", &v), BRAID_ENOTFOUND);
    assert_true(bslice_eq_cstr(r.headers[1].name, "X-Key"));
    assert_true(bslice_eq_cstr(r.headers[3].value, "second"));
    assert_true(bslice_eq_cstr(r.target, "/"));
}

static void test_head_too_many_fields(void **state)
{
    (void)state;
    char in[4096];
    size_t n = (size_t)snprintf(in, sizeof in, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < HTTP1_MAX_HEADERS; i++)
        n += (size_t)snprintf(in + n, sizeof in - n, "X-%d: %d\r\n", i, i);
    memcpy(in + n, "\r\n", 2);
    http1_request r;
    assert_int_equal(http1_parse_head((const uint8_t *)in, n + 2, NULL, &r), 0);
    assert_int_equal(r.n_headers, HTTP1_MAX_HEADERS);
    n += (size_t)snprintf(in + n, sizeof in - n, "X-last: 1\r\n\r\n");
    assert_int_equal(http1_parse_head((const uint8_t *)in, n, NULL, &r), BRAID_ETOOBIG);
    assert_int_equal(r.status, 431);
}

static void test_head_big_default_limit(void **state)
{
    (void)state;
    /* a 70 000-byte cookie does not fit the default 64 KiB head budget */
    size_t n = 70000;
    uint8_t *in = malloc(n);
    assert_non_null(in);
    const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nCookie: ";
    memcpy(in, pre, strlen(pre));
    memset(in + strlen(pre), 'c', n - strlen(pre));
    http1_request r;
    assert_int_equal(http1_parse_head(in, HTTP1_DEFAULT_MAX_HEAD - 1, NULL, &r), BRAID_EAGAIN);
    assert_int_equal(http1_parse_head(in, n, NULL, &r), BRAID_ETOOBIG);
    assert_int_equal(r.status, 431);
    free(in);
}

/* Walks a buffer holding several requests the way a connection does. */
static void test_pipelined(void **state)
{
    (void)state;
    const char *in = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                     "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
                     "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "2\r\nhi\r\n0\r\n\r\n"
                     "GET /d?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    const char *paths[] = {"/a", "/b", "/c", "/d"};
    const char *bodies[] = {"", "xyz", "hi", ""};
    size_t n = strlen(in), off = 0;
    uint8_t out[16];
    http1_limits lim = {0, 100};
    for (int i = 0; i < 4; i++) {
        http1_request r;
        assert_int_equal(http1_parse_head((const uint8_t *)in + off, n - off, &lim, &r), 0);
        assert_true(bslice_eq_cstr(r.path, paths[i]));
        off += r.head_len;
        bslice body = {NULL, 0};
        if (r.body_kind == HTTP1_BODY_LENGTH) {
            body = (bslice){(const uint8_t *)in + off, (size_t)r.content_length};
            off += r.content_length;
        } else if (r.body_kind == HTTP1_BODY_CHUNKED) {
            http1_chunked d;
            size_t used, made;
            http1_chunked_init(&d, 100, 1024);
            assert_int_equal(
                http1_chunked_decode(&d, (const uint8_t *)in + off, n - off, out, &used, &made), 0);
            body = (bslice){out, made};
            off += used;
        }
        assert_true(bslice_eq_cstr(body, bodies[i]));
        assert_int_equal(r.keep_alive, i < 3);
    }
    assert_int_equal(off, n);
}

/* ---- chunked --------------------------------------------------------------- */

typedef struct {
    const char *why;
    const char *in;
    size_t n;
    uint64_t max_body; /* 0: 1 MiB */
    int rc;
    int status;
    const char *body; /* for rc 0 / EAGAIN */
    size_t rest;      /* rc 0: bytes left after the body */
} chunk_case;

static const chunk_case chunk_cases[] = {
    {"one chunk", S("5\r\nhello\r\n0\r\n\r\n"), 0, 0, 0, "hello", 0},
    {"several chunks", S("3\r\nabc\r\n1\r\nd\r\n2\r\nef\r\n0\r\n\r\n"), 0, 0, 0, "abcdef", 0},
    {"empty body", S("0\r\n\r\n"), 0, 0, 0, "", 0},
    {"upper- and lowercase hex", S("A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n"), 0, 0, 0,
     "0123456789abcdefghijk", 0},
    {"leading zeros in the size", S("0005\r\nhello\r\n000\r\n\r\n"), 0, 0, 0, "hello", 0},
    {"chunk extensions are ignored", S("5;name=value;flag\r\nhello\r\n0;last=\"q s\"\r\n\r\n"), 0,
     0, 0, "hello", 0},
    {"whitespace before an extension", S("5 \t;x=1\r\nhello\r\n0\r\n\r\n"), 0, 0, 0, "hello", 0},
    {"trailer fields are checked and dropped",
     S("2\r\nok\r\n0\r\nX-Checksum: abc\r\nX-Other:\r\n\r\n"), 0, 0, 0, "ok", 0},
    {"bytes after the body belong to the next request", S("2\r\nok\r\n0\r\n\r\nGET / HTTP/1.1\r\n"),
     0, 0, 0, "ok", 16},
    {"CRLF inside chunk data is data", S("4\r\n\r\n\r\n\r\n0\r\n\r\n"), 0, 0, 0, "\r\n\r\n", 0},
    {"body exactly at the limit", S("4\r\nabcd\r\n0\r\n\r\n"), 4, 0, 0, "abcd", 0},
    {"incomplete body", S("5\r\nhel"), 0, BRAID_EAGAIN, 0, "hel", 0},
    {"incomplete after the last chunk", S("0\r\n"), 0, BRAID_EAGAIN, 0, "", 0},
    {"empty size line", S("\r\nhello\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"non-hex size", S("x\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"negative size", S("-1\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"0x prefix", S("0x5\r\nhello\r\n0\r\n\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"leading whitespace in the size", S(" 5\r\nhello\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"trailing whitespace without an extension", S("5 \r\nhello\r\n"), 0, BRAID_EINVAL, 400, NULL,
     0},
    {"bare LF after the size", S("5\nhello\r\n0\r\n\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"bare CR after the size", S("5\rhello\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"bare LF after an extension", S("5;a\nhello\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"NUL in an extension", S("5;a\0b\r\nhello\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"data longer than its size", S("5\r\nhelloX\r\n0\r\n\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"data shorter than its size", S("5\r\nhell\r\n0\r\n\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"data followed by bare LF", S("5\r\nhello\n0\r\n\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"malformed trailer field", S("0\r\nBad Trailer\r\n\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"trailer with an empty name", S("0\r\n: x\r\n\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"obs-fold in trailers", S("0\r\nX: 1\r\n 2\r\n\r\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"bare LF ends the trailer section", S("0\r\n\n"), 0, BRAID_EINVAL, 400, NULL, 0},
    {"chunk size alone exceeds the limit", S("5\r\nhello\r\n0\r\n\r\n"), 4, BRAID_ETOOBIG, 413,
     NULL, 0},
    {"chunks add up over the limit", S("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"), 5, BRAID_ETOOBIG, 413,
     NULL, 0},
    {"size past 64 bits", S("1ffffffffffffffffff\r\n"), UINT64_MAX, BRAID_ETOOBIG, 413, NULL, 0},
    {"huge size is refused before any data arrives", S("7fffffff\r\n"), 0, BRAID_ETOOBIG, 413, NULL,
     0},
};

static void check_chunk_result(const chunk_case *c, int rc, const uint8_t *out, size_t made,
                               size_t used, int status, const char *how)
{
    if (rc != c->rc)
        fail_msg("%s (%s): rc %d want %d", c->why, how, rc, c->rc);
    size_t n = c->n;
    if (rc == 0 || rc == BRAID_EAGAIN) {
        assert_int_equal(made, strlen(c->body));
        assert_memory_equal(out, c->body, made);
        assert_int_equal(n - used, rc == 0 ? c->rest : 0);
    } else {
        assert_int_equal(status, c->status);
    }
}

static void test_chunked_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof chunk_cases / sizeof chunk_cases[0]; i++) {
        const chunk_case *c = &chunk_cases[i];
        size_t n = c->n;
        uint8_t out[256];
        http1_chunked d;
        size_t used, made;
        http1_chunked_init(&d, c->max_body ? c->max_body : 1u << 20, 64);
        int rc = http1_chunked_decode(&d, (const uint8_t *)c->in, n, out, &used, &made);
        check_chunk_result(c, rc, out, made, used, d.status, "whole");
        if (rc != 0 && rc != BRAID_EAGAIN)
            assert_non_null(d.reason);
    }
}

/* Feeding a body in two pieces, split at every byte, or one byte at a time,
 * must give the same bytes and the same verdict. */
static void test_chunked_splits(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof chunk_cases / sizeof chunk_cases[0]; i++) {
        const chunk_case *c = &chunk_cases[i];
        size_t n = c->n;
        const uint8_t *in = (const uint8_t *)c->in;
        uint64_t maxb = c->max_body ? c->max_body : 1u << 20;
        for (size_t k = 0; k <= n; k++) {
            uint8_t out[256];
            http1_chunked d;
            size_t used, made, used2 = 0, made2 = 0;
            http1_chunked_init(&d, maxb, 64);
            int rc = http1_chunked_decode(&d, in, k, out, &used, &made);
            if (rc == BRAID_EAGAIN) {
                assert_int_equal(used, k);
                rc = http1_chunked_decode(&d, in + k, n - k, out + made, &used2, &made2);
            }
            if (rc == 0 || rc == BRAID_EAGAIN || rc == c->rc)
                check_chunk_result(c, rc, out, made + made2, used + used2, d.status, "split");
            else
                fail_msg("%s: split at %zu gives %d", c->why, k, rc);
        }
        uint8_t out[256];
        http1_chunked d;
        http1_chunked_init(&d, maxb, 64);
        size_t total_used = 0, total_made = 0;
        int rc = BRAID_EAGAIN;
        for (size_t k = 0; k < n && rc == BRAID_EAGAIN; k++) {
            size_t used, made;
            rc = http1_chunked_decode(&d, in + k, 1, out + total_made, &used, &made);
            total_used += used;
            total_made += made;
        }
        check_chunk_result(c, rc, out, total_made, total_used, d.status, "bytewise");
    }
}

/* Decoding into the same buffer, as the server does with its read buffer. */
static void test_chunked_in_place(void **state)
{
    (void)state;
    char buf[] = "4\r\nWiki\r\n5;e=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: 1\r\n\r\nNEXT";
    size_t n = strlen(buf), used, made;
    http1_chunked d;
    http1_chunked_init(&d, 1024, 1024);
    /* split in two reads to exercise the in-place offset bookkeeping */
    assert_int_equal(http1_chunked_decode(&d, (uint8_t *)buf, 12, (uint8_t *)buf, &used, &made),
                     BRAID_EAGAIN);
    assert_int_equal(used, 12);
    size_t body = made;
    assert_int_equal(http1_chunked_decode(&d, (uint8_t *)buf + used, n - used,
                                          (uint8_t *)buf + body, &used, &made),
                     0);
    body += made;
    assert_int_equal(body, 23);
    assert_memory_equal(buf, "Wikipedia in\r\n\r\nchunks.", 23);
    assert_int_equal(n - 12 - used, 4);
    /* once finished, the decoder consumes nothing more */
    assert_int_equal(http1_chunked_decode(&d, (uint8_t *)"x", 1, (uint8_t *)buf, &used, &made), 0);
    assert_int_equal(used, 0);
}

static void test_chunked_limits(void **state)
{
    (void)state;
    char line[HTTP1_MAX_CHUNK_LINE + 16];
    memset(line, 'a', sizeof line);
    memcpy(line, "1;", 2);
    http1_chunked d;
    uint8_t out[sizeof line];
    size_t used, made;
    http1_chunked_init(&d, 1024, 1024);
    assert_int_equal(http1_chunked_decode(&d, (uint8_t *)line, sizeof line, out, &used, &made),
                     BRAID_EINVAL);
    assert_int_equal(d.status, 400);
    /* errors are sticky */
    assert_int_equal(http1_chunked_decode(&d, (uint8_t *)"0\r\n\r\n", 5, out, &used, &made),
                     BRAID_EINVAL);

    const char *tr = "0\r\nX-Long-Trailer: 0123456789012345678901234567890123456789\r\n\r\n";
    http1_chunked_init(&d, 1024, 32);
    assert_int_equal(http1_chunked_decode(&d, (const uint8_t *)tr, strlen(tr), out, &used, &made),
                     BRAID_ETOOBIG);
    assert_int_equal(d.status, 431);
}

/* ---- query strings ----------------------------------------------------------- */

typedef struct {
    const char *why;
    const char *query;
    const char *name;
    int rc;
    const char *value;
} query_case;

static const query_case query_cases[] = {
    {"plain value", "a=1&b=2", "b", 0, "2"},
    {"first of repeated keys", "a=1&a=2", "a", 0, "1"},
    {"plus is a space, escapes decode", "q=hello+world%21", "q", 0, "hello world!"},
    {"encoded key", "a%20b=c&x=y", "a b", 0, "c"},
    {"plus in a key", "a+b=c", "a b", 0, "c"},
    {"encoded '&' and '=' stay data", "q=a%26b%3Dc", "q", 0, "a&b=c"},
    {"UTF-8 escapes", "s=caf%C3%A9", "s", 0, "caf\xc3\xa9"},
    {"lowercase hex", "s=%e2%82%ac", "s", 0, "\xe2\x82\xac"},
    {"key without '='", "flag&a=1", "flag", 0, ""},
    {"empty value", "a=&b=2", "a", 0, ""},
    {"empty pairs are skipped", "&&a=1&&", "a", 0, "1"},
    {"'=' inside the value", "a=1=2", "a", 0, "1=2"},
    {"empty key", "=v&a=1", "", 0, "v"},
    {"missing key", "a=1&b=2", "c", BRAID_ENOTFOUND, NULL},
    {"empty query", "", "a", BRAID_ENOTFOUND, NULL},
    {"name is compared exactly", "A=1", "a", BRAID_ENOTFOUND, NULL},
    {"escape with non-hex digits", "x=%zz", "x", BRAID_EINVAL, NULL},
    {"escape cut short", "x=%4", "x", BRAID_EINVAL, NULL},
    {"lone percent at the end", "x=%", "x", BRAID_EINVAL, NULL},
    {"percent before '&'", "x=%&y=1", "y", BRAID_EINVAL, NULL},
    {"NUL escape is refused", "x=a%00b", "x", BRAID_EINVAL, NULL},
    {"malformed pair before the match", "bad=%g1&a=1", "a", BRAID_EINVAL, NULL},
    {"malformed key", "%x=1", "a", BRAID_EINVAL, NULL},
};

static void test_query_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof query_cases / sizeof query_cases[0]; i++) {
        const query_case *c = &query_cases[i];
        uint8_t out[64];
        size_t n = 99;
        int rc = http1_query_get(bslice_cstr(c->query), c->name, out, sizeof out, &n);
        if (rc != c->rc)
            fail_msg("%s: rc %d want %d", c->why, rc, c->rc);
        if (rc == 0) {
            assert_int_equal(n, strlen(c->value));
            assert_memory_equal(out, c->value, n);
        }
    }
}

static void test_query_iter(void **state)
{
    (void)state;
    http1_query_iter it;
    bslice k, v;
    http1_query_init(&it, BSLICE_LIT("service=check%2Fout&limit=10&&flag&q=a+b"));
    const char *keys[] = {"service", "limit", "flag", "q"};
    const char *vals[] = {"check%2Fout", "10", "", "a+b"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(http1_query_next(&it, &k, &v), 0);
        assert_true(bslice_eq_cstr(k, keys[i]));
        assert_true(bslice_eq_cstr(v, vals[i]));
    }
    assert_int_equal(http1_query_next(&it, &k, &v), BRAID_ENOTFOUND);

    http1_query_init(&it, BSLICE_LIT("a=1&b=%G0&c=3"));
    assert_int_equal(http1_query_next(&it, &k, &v), 0);
    assert_int_equal(http1_query_next(&it, &k, &v), BRAID_EINVAL);
    assert_int_equal(http1_query_next(&it, &k, &v), BRAID_EINVAL);

    http1_query_init(&it, (bslice){NULL, 0});
    assert_int_equal(http1_query_next(&it, &k, &v), BRAID_ENOTFOUND);
}

static void test_pct_decode(void **state)
{
    (void)state;
    uint8_t out[32];
    size_t n;
    assert_int_equal(http1_pct_decode(BSLICE_LIT("a+b%2Bc"), false, out, sizeof out, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "a+b+c", 5);
    assert_int_equal(http1_pct_decode(BSLICE_LIT("a+b%2Bc"), true, out, sizeof out, &n), 0);
    assert_memory_equal(out, "a b+c", 5);
    assert_int_equal(http1_pct_decode(BSLICE_LIT("abcdef"), true, out, 5, &n), BRAID_ETOOBIG);
    assert_int_equal(http1_pct_decode(BSLICE_LIT("%41%42"), true, out, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(http1_pct_decode(BSLICE_LIT("%4"), true, out, 2, &n), BRAID_EINVAL);
    assert_int_equal(http1_pct_decode(BSLICE_LIT("%%41"), true, out, 8, &n), BRAID_EINVAL);
    /* in place, as a handler decoding a path segment would */
    char seg[] = "metric%20name%2Fp99";
    bslice s = {(const uint8_t *)seg, strlen(seg)};
    assert_int_equal(http1_pct_decode(s, false, (uint8_t *)seg, sizeof seg, &n), 0);
    assert_int_equal(n, 15);
    assert_memory_equal(seg, "metric name/p99", 15);
    assert_true(http1_query_key_is(BSLICE_LIT("tr%61ce_id"), "trace_id"));
    assert_false(http1_query_key_is(BSLICE_LIT("trace_i"), "trace_id"));
    assert_false(http1_query_key_is(BSLICE_LIT("trace_idx"), "trace_id"));
    assert_false(http1_query_key_is(BSLICE_LIT("%zz"), "x"));
}

static void test_status_text(void **state)
{
    (void)state;
    assert_string_equal(http1_status_text(200), "OK");
    assert_string_equal(http1_status_text(413), "Content Too Large");
    assert_string_equal(http1_status_text(431), "Request Header Fields Too Large");
    assert_string_equal(http1_status_text(299), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_table),
        cmocka_unit_test(test_head_prefixes),
        cmocka_unit_test(test_head_fields),
        cmocka_unit_test(test_head_too_many_fields),
        cmocka_unit_test(test_head_big_default_limit),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_chunked_table),
        cmocka_unit_test(test_chunked_splits),
        cmocka_unit_test(test_chunked_in_place),
        cmocka_unit_test(test_chunked_limits),
        cmocka_unit_test(test_query_table),
        cmocka_unit_test(test_query_iter),
        cmocka_unit_test(test_pct_decode),
        cmocka_unit_test(test_status_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

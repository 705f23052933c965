/* fuzz_http1: the HTTP/1.1 head parser, the chunked de-chunker and the
 * query-string decoder on arbitrary bytes. Input layout: byte 0 picks a split
 * point, byte 1 picks limits, the rest is the request. Checks that a split
 * parse agrees with the whole parse, that slices stay inside the input, that
 * in-place de-chunking matches copying, and that the query iterator's
 * validation matches the decoder's. Aborts on any disagreement. */
#include <stdio.h>
#include <stdlib.h>

#include "net/http1.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__);                      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool inside(bslice s, const uint8_t *p, size_t n)
{
    return s.n == 0 || (s.p >= p && s.p + s.n <= p + n);
}

/* Parses a private copy of in[0, k) so reads past k are caught by ASan. */
static int parse_prefix(const uint8_t *in, size_t k, const http1_limits *lim, http1_request *r,
                        size_t *off_method)
{
    uint8_t *copy = malloc(k ? k : 1);
    memcpy(copy, in, k);
    int rc = http1_parse_head(copy, k, lim, r);
    *off_method = r->method.n ? (size_t)(r->method.p - copy) : 0;
    free(copy);
    return rc;
}

static void check_query(bslice q)
{
    http1_query_iter it;
    bslice k, v;
    uint8_t *out = malloc(q.n + 1);
    int rc;
    http1_query_init(&it, q);
    while ((rc = http1_query_next(&it, &k, &v)) == 0) {
        CHECK(inside(k, q.p, q.n) && inside(v, q.p, q.n));
        size_t kn, vn;
        CHECK(http1_pct_decode(k, true, out, q.n, &kn) == 0 && kn <= k.n);
        out[kn] = 0;
        if (memchr(out, 0, kn) == NULL)
            CHECK(http1_query_key_is(k, (const char *)out));
        CHECK(http1_pct_decode(v, true, out, q.n, &vn) == 0 && vn <= v.n);
        CHECK(http1_pct_decode(v, false, out, q.n, &vn) == 0);
    }
    CHECK(rc == BRAID_ENOTFOUND || rc == BRAID_EINVAL);
    size_t n;
    rc = http1_query_get(q, "a", out, q.n, &n);
    CHECK(rc == 0 || rc == BRAID_ENOTFOUND || rc == BRAID_EINVAL);
    free(out);
}

static void check_chunked(const uint8_t *in, size_t n, size_t split, uint64_t max_body)
{
    uint8_t *a = malloc(n + 1), *b = malloc(n + 1);
    http1_chunked d1, d2;
    size_t u1, m1, u2a, m2a, u2b = 0, m2b = 0;
    http1_chunked_init(&d1, max_body, 256);
    http1_chunked_init(&d2, max_body, 256);
    int r1 = http1_chunked_decode(&d1, in, n, a, &u1, &m1);
    if (split > n)
        split = n;
    int r2 = http1_chunked_decode(&d2, in, split, b, &u2a, &m2a);
    if (r2 == BRAID_EAGAIN) {
        CHECK(u2a == split);
        r2 = http1_chunked_decode(&d2, in + split, n - split, b + m2a, &u2b, &m2b);
    }
    CHECK(r1 == r2);
    CHECK(m1 <= u1 && u1 <= n);
    if (r1 == 0 || r1 == BRAID_EAGAIN) {
        CHECK(u1 == u2a + u2b && m1 == m2a + m2b);
        CHECK(memcmp(a, b, m1) == 0);
        CHECK(d1.total == m1 && m1 <= max_body);
    } else {
        CHECK(d1.status == d2.status);
    }

    /* in place over a copy of the input gives the same bytes */
    uint8_t *c = malloc(n + 1);
    memcpy(c, in, n);
    http1_chunked d3;
    size_t u3, m3;
    http1_chunked_init(&d3, max_body, 256);
    int r3 = http1_chunked_decode(&d3, c, n, c, &u3, &m3);
    CHECK(r3 == r1 && u3 == u1 && m3 == m1 && memcmp(c, a, m1) == 0);
    free(a);
    free(b);
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const uint8_t *in = data + 2;
    size_t n = size - 2;
    size_t split = n ? data[0] % (n + 1) : 0;
    http1_limits lim = {
        .max_head = (data[1] & 0x80) ? 16 + (size_t)(data[1] & 0x3f) * 4 : 0,
        .max_body = (data[1] & 0x40) ? 64 : 1u << 20,
    };

    check_query((bslice){in, n});

    http1_request full, part;
    int rc = http1_parse_head(in, n, &lim, &full);
    CHECK(rc == 0 || rc == BRAID_EAGAIN || rc == BRAID_EINVAL || rc == BRAID_ETOOBIG ||
          rc == BRAID_EUNSUPPORTED);
    if (rc != BRAID_EAGAIN && rc != 0)
        CHECK(full.status >= 400 && full.status <= 505 && full.reason);

    size_t moff;
    int prc = parse_prefix(in, split, &lim, &part, &moff);
    if (prc != BRAID_EAGAIN) {
        CHECK(prc == rc && part.status == full.status);
        if (prc == 0) {
            CHECK(part.head_len == full.head_len && part.n_headers == full.n_headers);
            CHECK(part.body_kind == full.body_kind && part.keep_alive == full.keep_alive);
            CHECK(moff == (size_t)(full.method.p - in) && part.method.n == full.method.n);
        }
    }

    bool head_done = rc == 0 || (rc == BRAID_ETOOBIG && full.status == 413);
    if (!head_done)
        return 0;
    size_t hl = full.head_len;
    CHECK(hl > 0 && hl <= n);
    CHECK(parse_prefix(in, hl - 1, &lim, &part, &moff) == BRAID_EAGAIN);
    CHECK(parse_prefix(in, hl, &lim, &part, &moff) == rc && part.head_len == hl);
    CHECK(full.method.n > 0 && inside(full.method, in, hl) && inside(full.target, in, hl));
    CHECK(full.query.n == 0 || inside(full.query, full.target.p, full.target.n));
    CHECK(full.n_headers <= HTTP1_MAX_HEADERS);
    for (size_t i = 0; i < full.n_headers; i++) {
        CHECK(full.headers[i].name.n > 0);
        CHECK(inside(full.headers[i].name, in, hl) && inside(full.headers[i].value, in, hl));
    }
    if (rc != 0)
        return 0;

    check_query(full.query);
    if (full.body_kind == HTTP1_BODY_CHUNKED)
        check_chunked(in + hl, n - hl, split > hl ? split - hl : 0, lim.max_body);
    return 0;
}

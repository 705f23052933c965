/* Tests for net/gzip: round trips in every format and level, multi-member
 * gzip, corrupt and truncated input, exact output limits, and a compression
 * bomb that must fail without the output buffer growing past the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "net/gzip.h"

/* Mixed text and pseudo-random bytes: compressible, but not trivially. */
static uint8_t *sample(size_t n)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (i / 64) % 2 ? (uint8_t)("braid trace "[i % 12]) : (uint8_t)(x >> 24);
    }
    return p;
}

static void test_round_trip(void **state)
{
    (void)state;
    const gzip_format fmts[] = {GZIP_FMT_GZIP, GZIP_FMT_DEFLATE, GZIP_FMT_RAW};
    const size_t sizes[] = {0, 1, 100, 70000, 1u << 20};
    const int levels[] = {-1, 0, 1, 9};
    for (size_t f = 0; f < 3; f++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            for (size_t l = 0; l < 4; l++) {
                uint8_t *in = sample(sizes[s] ? sizes[s] : 1);
                buf z, out;
                buf_init(&z);
                buf_init(&out);
                assert_int_equal(gzip_compress(fmts[f], levels[l], in, sizes[s], &z), 0);
                assert_true(z.n > 0);
                assert_int_equal(gzip_decompress(fmts[f], z.p, z.n, sizes[s], &out), 0);
                assert_int_equal(out.n, sizes[s]);
                if (sizes[s])
                    assert_memory_equal(out.p, in, sizes[s]);
                assert_true(out.cap <= sizes[s]);
                buf_free(&z);
                buf_free(&out);
                free(in);
            }
        }
    }
}

static void test_gzip_header_bytes(void **state)
{
    (void)state;
    buf z;
    buf_init(&z);
    assert_int_equal(gzip_compress(GZIP_FMT_GZIP, 6, (const uint8_t *)"x", 1, &z), 0);
    assert_int_equal(z.p[0], 0x1f);
    assert_int_equal(z.p[1], 0x8b);
    buf_reset(&z);
    assert_int_equal(gzip_compress(GZIP_FMT_DEFLATE, 6, (const uint8_t *)"x", 1, &z), 0);
    assert_int_equal(z.p[0], 0x78);
    buf_free(&z);
}

static void test_appends_to_existing(void **state)
{
    (void)state;
    buf z, out;
    buf_init(&z);
    buf_init(&out);
    buf_puts(&out, "prefix:");
    assert_int_equal(gzip_compress(GZIP_FMT_GZIP, 6, (const uint8_t *)"payload", 7, &z), 0);
    assert_int_equal(gzip_decompress(GZIP_FMT_GZIP, z.p, z.n, 7, &out), 0);
    assert_int_equal(out.n, 14);
    assert_memory_equal(out.p, "prefix:payload", 14);
    /* the limit applies to this call's output only */
    assert_int_equal(gzip_decompress(GZIP_FMT_GZIP, z.p, z.n, 6, &out), BRAID_ETOOBIG);
    assert_int_equal(out.n, 14);
    buf_free(&z);
    buf_free(&out);
}

static void test_multi_member(void **state)
{
    (void)state;
    buf z, out;
    buf_init(&z);
    buf_init(&out);
    assert_int_equal(gzip_compress(GZIP_FMT_GZIP, 6, (const uint8_t *)"first,", 6, &z), 0);
    assert_int_equal(gzip_compress(GZIP_FMT_GZIP, 1, (const uint8_t *)"second,", 7, &z), 0);
    assert_int_equal(gzip_compress(GZIP_FMT_GZIP, 9, (const uint8_t *)"third", 5, &z), 0);
    assert_int_equal(gzip_decompress(GZIP_FMT_GZIP, z.p, z.n, 100, &out), 0);
    assert_int_equal(out.n, 18);
    assert_memory_equal(out.p, "first,second,third", 18);
    /* the limit counts across members */
    buf_reset(&out);
    assert_int_equal(gzip_decompress(GZIP_FMT_GZIP, z.p, z.n, 17, &out), BRAID_ETOOBIG);
    buf_reset(&out);
    assert_int_equal(gzip_decompress(GZIP_FMT_GZIP, z.p, z.n, 18, &out), 0);
    buf_free(&z);
    buf_free(&out);
}

typedef struct {
    const char *why;
    gzip_format fmt;
    int damage; /* 0 flip a middle byte, 1 truncate, 2 append garbage, 3 empty, 4 flip CRC */
} corrupt_case;

static const corrupt_case corrupt_cases[] = {
    {"gzip with a flipped byte in the data", GZIP_FMT_GZIP, 0},
    {"gzip cut short", GZIP_FMT_GZIP, 1},
    {"gzip followed by garbage", GZIP_FMT_GZIP, 2},
    {"empty gzip body", GZIP_FMT_GZIP, 3},
    {"gzip with a wrong CRC32", GZIP_FMT_GZIP, 4},
    {"zlib with a flipped byte", GZIP_FMT_DEFLATE, 0},
    {"zlib cut short", GZIP_FMT_DEFLATE, 1},
    {"zlib followed by garbage", GZIP_FMT_DEFLATE, 2},
    {"zlib with a wrong Adler-32", GZIP_FMT_DEFLATE, 4},
    {"raw deflate cut short", GZIP_FMT_RAW, 1},
    {"empty raw deflate", GZIP_FMT_RAW, 3},
};

static void test_corrupt(void **state)
{
    (void)state;
    size_t n = 20000;
    uint8_t *in = sample(n);
    for (size_t i = 0; i < sizeof corrupt_cases / sizeof corrupt_cases[0]; i++) {
        const corrupt_case *c = &corrupt_cases[i];
        buf z, out;
        buf_init(&z);
        buf_init(&out);
        assert_int_equal(gzip_compress(c->fmt, 6, in, n, &z), 0);
        size_t zn = z.n;
        switch (c->damage) {
        case 0:
            z.p[z.n / 2] ^= 0x55;
            break;
        case 1:
            zn = z.n - 9;
            break;
        case 2:
            buf_puts(&z, "garbage!");
            zn = z.n;
            break;
        case 3:
            zn = 0;
            break;
        case 4:
            z.p[z.n - (c->fmt == GZIP_FMT_GZIP ? 8 : 1)] ^= 1;
            break;
        }
        int rc = gzip_decompress(c->fmt, z.p, zn, n * 2, &out);
        if (rc != BRAID_EINVAL)
            fail_msg("%s: rc %d, want BRAID_EINVAL", c->why, rc);
        assert_int_equal(out.n, 0);
        buf_free(&z);
        buf_free(&out);
    }
    free(in);
}

static void test_deflate_accepts_raw(void **state)
{
    (void)state;
    buf z, out;
    buf_init(&z);
    buf_init(&out);
    const char *msg = "HTTP deflate senders sometimes omit the zlib wrapper";
    assert_int_equal(gzip_compress(GZIP_FMT_RAW, 6, (const uint8_t *)msg, strlen(msg), &z), 0);
    assert_int_equal(gzip_decompress(GZIP_FMT_DEFLATE, z.p, z.n, 1000, &out), 0);
    assert_int_equal(out.n, strlen(msg));
    assert_memory_equal(out.p, msg, out.n);
    /* but gzip is not zlib */
    buf_reset(&z);
    buf_reset(&out);
    assert_int_equal(gzip_compress(GZIP_FMT_GZIP, 6, (const uint8_t *)msg, strlen(msg), &z), 0);
    assert_int_equal(gzip_decompress(GZIP_FMT_DEFLATE, z.p, z.n, 1000, &out), BRAID_EINVAL);
    buf_free(&z);
    buf_free(&out);
}

static void test_exact_limit(void **state)
{
    (void)state;
    size_t n = 100000;
    uint8_t *in = sample(n);
    buf z, out;
    buf_init(&z);
    buf_init(&out);
    assert_int_equal(gzip_compress(GZIP_FMT_GZIP, 6, in, n, &z), 0);
    assert_int_equal(gzip_decompress(GZIP_FMT_GZIP, z.p, z.n, n, &out), 0);
    assert_int_equal(out.n, n);
    assert_true(out.cap == n);
    buf_free(&out);
    buf_init(&out);
    assert_int_equal(gzip_decompress(GZIP_FMT_GZIP, z.p, z.n, n - 1, &out), BRAID_ETOOBIG);
    assert_int_equal(out.n, 0);
    assert_true(out.cap <= n - 1);
    buf_free(&out);
    buf_init(&out);
    assert_int_equal(gzip_decompress(GZIP_FMT_GZIP, z.p, z.n, 0, &out), BRAID_ETOOBIG);
    assert_int_equal(out.cap, 0);
    buf_free(&z);
    buf_free(&out);
    free(in);
}

/* 10 MiB of zeros squeezes into about 10 KiB; at a 1 MiB limit decoding must
 * stop with ETOOBIG and the buffer must never have grown past 1 MiB. */
static void test_bomb(void **state)
{
    (void)state;
    size_t big = 10u << 20, limit = 1u << 20;
    uint8_t *zeros = calloc(1, big);
    assert_non_null(zeros);
    const gzip_format fmts[] = {GZIP_FMT_GZIP, GZIP_FMT_DEFLATE, GZIP_FMT_RAW};
    for (size_t f = 0; f < 3; f++) {
        buf z, out;
        buf_init(&z);
        buf_init(&out);
        assert_int_equal(gzip_compress(fmts[f], 9, zeros, big, &z), 0);
        assert_true(z.n < 64 * 1024);
        assert_int_equal(gzip_decompress(fmts[f], z.p, z.n, limit, &out), BRAID_ETOOBIG);
        assert_int_equal(out.n, 0);
        assert_true(out.cap <= limit);
        buf_free(&z);
        buf_free(&out);
    }
    free(zeros);
}

typedef struct {
    const char *ce;
    int rc;
    gzip_format fmt;
} enc_case;

static void test_format_from_encoding(void **state)
{
    (void)state;
    const enc_case cases[] = {
        {"gzip", 0, GZIP_FMT_GZIP},          {"GZip", 0, GZIP_FMT_GZIP},
        {" x-gzip ", 0, GZIP_FMT_GZIP},      {"deflate", 0, GZIP_FMT_DEFLATE},
        {"identity", BRAID_ENOTFOUND, 0},    {"", BRAID_ENOTFOUND, 0},
        {"br", BRAID_EUNSUPPORTED, 0},       {"zstd", BRAID_EUNSUPPORTED, 0},
        {"gzip, br", BRAID_EUNSUPPORTED, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gzip_format f = (gzip_format)99;
        int rc = gzip_format_from_encoding(bslice_cstr(cases[i].ce), &f);
        if (rc != cases[i].rc)
            fail_msg("\"%s\": rc %d want %d", cases[i].ce, rc, cases[i].rc);
        if (rc == 0)
            assert_int_equal(f, cases[i].fmt);
    }
}

static void test_bad_args(void **state)
{
    (void)state;
    buf out;
    buf_init(&out);
    assert_int_equal(gzip_compress(GZIP_FMT_GZIP, 10, (const uint8_t *)"x", 1, &out), BRAID_EINVAL);
    assert_int_equal(gzip_compress((gzip_format)7, 1, (const uint8_t *)"x", 1, &out), BRAID_EINVAL);
    assert_int_equal(gzip_decompress((gzip_format)7, (const uint8_t *)"x", 1, 10, &out),
                     BRAID_EINVAL);
    assert_int_equal(out.n, 0);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_gzip_header_bytes),
        cmocka_unit_test(test_appends_to_existing),
        cmocka_unit_test(test_multi_member),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_deflate_accepts_raw),
        cmocka_unit_test(test_exact_limit),
        cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_format_from_encoding),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

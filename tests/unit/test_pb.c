/* test_pb: the protobuf wire reader and writer (src/pb). Round trips of every
 * wire type and value conversion, byte-exact writer output against encodings
 * from the protobuf documentation, nested-message length patching, and a table
 * of malformed inputs with the exact reason each one is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pb/pb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void assert_bytes(const buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->err, 0);
    assert_int_equal(b->n, n);
    assert_memory_equal(b->p, want, n);
}

/* Reads the only field in b. */
static pb_field read_one(const buf *b)
{
    pb_reader r;
    pb_field f, end;
    pb_reader_init(&r, b->p, b->n);
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(pb_next(&r, &end), 0);
    return f;
}

/* ---- byte-exact writer output (examples from the protobuf encoding guide) ---- */
static void test_writer_known_encodings(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);

    /* message Test1 { int32 a = 1; } with a = 150 */
    pb_put_uint64(&b, 1, 150);
    assert_bytes(&b, (const uint8_t[]){0x08, 0x96, 0x01}, 3);

    /* message Test2 { string b = 2; } with b = "testing" */
    buf_reset(&b);
    pb_put_string(&b, 2, "testing");
    assert_bytes(&b, (const uint8_t[]){0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}, 9);

    /* message Test3 { Test1 c = 3; } with c.a = 150 */
    buf_reset(&b);
    size_t pos = pb_begin(&b, 3);
    pb_put_uint64(&b, 1, 150);
    pb_end(&b, pos);
    assert_bytes(&b, (const uint8_t[]){0x1a, 0x03, 0x08, 0x96, 0x01}, 5);

    /* repeated int32 d = 4 [packed] with 3, 270, 86942 */
    buf_reset(&b);
    uint64_t packed[] = {3, 270, 86942};
    pb_put_packed_varint(&b, 4, packed, 3);
    assert_bytes(&b, (const uint8_t[]){0x22, 0x06, 0x03, 0x8E, 0x02, 0x9E, 0xA7, 0x05}, 8);

    /* int32 -1 is a ten-byte varint; sint32 -1 is one byte */
    buf_reset(&b);
    pb_put_int64(&b, 1, -1);
    assert_bytes(
        &b, (const uint8_t[]){0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
        11);
    buf_reset(&b);
    pb_put_sint64(&b, 1, -1);
    assert_bytes(&b, (const uint8_t[]){0x08, 0x01}, 2);

    /* fixed64, double, fixed32, float, bool: little-endian, tag wire types 1/5/0 */
    buf_reset(&b);
    pb_put_fixed64(&b, 1, 0x0102030405060708ull);
    assert_bytes(&b, (const uint8_t[]){0x09, 8, 7, 6, 5, 4, 3, 2, 1}, 9);
    buf_reset(&b);
    pb_put_double(&b, 2, 1.0);
    assert_bytes(&b, (const uint8_t[]){0x11, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F}, 9);
    buf_reset(&b);
    pb_put_fixed32(&b, 16, 0x301);
    assert_bytes(&b, (const uint8_t[]){0x85, 0x01, 0x01, 0x03, 0, 0}, 6);
    buf_reset(&b);
    pb_put_float(&b, 1, 1.0f);
    assert_bytes(&b, (const uint8_t[]){0x0D, 0, 0, 0x80, 0x3F}, 5);
    buf_reset(&b);
    pb_put_bool(&b, 3, true);
    pb_put_bool(&b, 3, false);
    assert_bytes(&b, (const uint8_t[]){0x18, 0x01, 0x18, 0x00}, 4);

    /* empty bytes and a NULL string are zero-length fields */
    buf_reset(&b);
    pb_put_bytes(&b, 7, NULL, 0);
    pb_put_string(&b, 7, NULL);
    assert_bytes(&b, (const uint8_t[]){0x3A, 0x00, 0x3A, 0x00}, 4);
    buf_free(&b);
}

/* ---- varints ---- */
static void test_varint_round_trip(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        size_t width; /* bytes of the value varint */
    } cases[] = {
        {0, 1},
        {1, 1},
        {127, 1},
        {128, 2},
        {300, 2},
        {16383, 2},
        {16384, 3},
        {UINT32_MAX, 5},
        {(uint64_t)1 << 35, 6},
        {(uint64_t)1 << 63, 10},
        {UINT64_MAX, 10},
    };
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_reset(&b);
        pb_put_uint64(&b, 5, cases[i].v);
        assert_int_equal(b.n, 1 + cases[i].width);
        pb_field f = read_one(&b);
        assert_int_equal(f.num, 5);
        assert_int_equal(f.wire, PB_VARINT);
        assert_true(f.v == cases[i].v);
    }
    /* int32 semantics: a negative enum arrives as ten bytes, low 32 bits kept */
    buf_reset(&b);
    pb_put_int64(&b, 1, -7);
    assert_int_equal(pb_as_int32(read_one(&b).v), -7);
    buf_reset(&b);
    pb_put_int64(&b, 1, INT64_MIN);
    assert_true((int64_t)read_one(&b).v == INT64_MIN);
    /* an over-long but valid encoding of 1 (padding continuation bytes) reads as 1 */
    const uint8_t padded[] = {0x08, 0x81, 0x80, 0x80, 0x00};
    pb_reader r;
    pb_field f;
    pb_reader_init(&r, padded, sizeof padded);
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.v, 1);
    buf_free(&b);
}

static void test_zigzag(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        uint64_t enc;
    } c64[] = {
        {0, 0},
        {-1, 1},
        {1, 2},
        {-2, 3},
        {2147483647, 4294967294u},
        {-2147483648LL, 4294967295u},
        {INT64_MAX, UINT64_MAX - 1},
        {INT64_MIN, UINT64_MAX},
    };
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof c64 / sizeof c64[0]; i++) {
        assert_true(pb_zigzag_enc64(c64[i].v) == c64[i].enc);
        assert_true(pb_zigzag_dec64(c64[i].enc) == c64[i].v);
        buf_reset(&b);
        pb_put_sint64(&b, 1, c64[i].v);
        assert_true(pb_zigzag_dec64(read_one(&b).v) == c64[i].v);
    }
    static const struct {
        int32_t v;
        uint32_t enc;
    } c32[] = {
        {0, 0},
        {-1, 1},
        {1, 2},
        {-64, 127},
        {64, 128},
        {INT32_MAX, UINT32_MAX - 1},
        {INT32_MIN, UINT32_MAX},
    };
    for (size_t i = 0; i < sizeof c32 / sizeof c32[0]; i++) {
        assert_true(pb_zigzag_enc32(c32[i].v) == c32[i].enc);
        assert_true(pb_zigzag_dec32(c32[i].enc) == c32[i].v);
    }
    buf_free(&b);
}

/* ---- fixed width ---- */
static void test_fixed_round_trip(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    pb_put_fixed64(&b, 7, 1700000000123456789ull);
    pb_field f = read_one(&b);
    assert_int_equal(f.wire, PB_I64);
    assert_true(f.v == 1700000000123456789ull);

    buf_reset(&b);
    pb_put_fixed64(&b, 6, (uint64_t)(int64_t)-42); /* sfixed64 */
    assert_true((int64_t)read_one(&b).v == -42);

    static const double doubles[] = {0.0, -0.0, 1.5, -1e300, 4.9e-324, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++) {
        buf_reset(&b);
        pb_put_double(&b, 4, doubles[i]);
        f = read_one(&b);
        assert_int_equal(f.wire, PB_I64);
        double got = pb_bits_double(f.v);
        assert_memory_equal(&got, &doubles[i], sizeof got); /* bit-exact, keeps -0.0 */
    }
    buf_reset(&b);
    pb_put_double(&b, 4, NAN);
    assert_true(isnan(pb_bits_double(read_one(&b).v)));

    buf_reset(&b);
    pb_put_fixed32(&b, 8, 0xDEADBEEF);
    f = read_one(&b);
    assert_int_equal(f.wire, PB_I32);
    assert_true(f.v == 0xDEADBEEF);

    buf_reset(&b);
    pb_put_float(&b, 9, -2.25f);
    f = read_one(&b);
    assert_true(pb_bits_float((uint32_t)f.v) == -2.25f);
    buf_free(&b);
}

/* ---- length-delimited ---- */
static void test_bytes_are_zero_copy(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    const uint8_t raw[] = {0, 1, 2, 0xff};
    pb_put_bytes(&b, 7, raw, sizeof raw);
    pb_put_slice(&b, 8, BSLICE_LIT("slice"));
    pb_put_string(&b, 9, "");
    pb_reader r;
    pb_field f;
    pb_reader_init(&r, b.p, b.n);
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.wire, PB_LEN);
    assert_int_equal(f.s.n, 4);
    assert_ptr_equal(f.s.p, b.p + 2); /* a view into the input, not a copy */
    assert_memory_equal(f.s.p, raw, 4);
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.num, 8);
    assert_true(bslice_eq_cstr(f.s, "slice"));
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.num, 9);
    assert_int_equal(f.s.n, 0);
    assert_int_equal(pb_next(&r, &f), 0);
    buf_free(&b);
}

static void test_field_numbers(void **state)
{
    (void)state;
    static const struct {
        uint32_t num;
        size_t tag_width;
    } cases[] = {{1, 1}, {15, 1}, {16, 2}, {2047, 2}, {2048, 3}, {PB_FIELD_MAX, 5}};
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_reset(&b);
        pb_put_uint64(&b, cases[i].num, 1);
        assert_int_equal(b.n, cases[i].tag_width + 1);
        pb_field f = read_one(&b);
        assert_int_equal(f.num, cases[i].num);
    }
    buf_free(&b);
}

/* Nested messages of every length class: the length varint grows from one to
 * three bytes, and enclosing lengths account for the move. */
static void test_nested_lengths(void **state)
{
    (void)state;
    static const size_t sizes[] = {0,   1,     125,   126,   127,   128,
                                   200, 16381, 16382, 16383, 16384, 70000};
    buf b;
    buf_init(&b);
    uint8_t *payload = malloc(70000);
    assert_non_null(payload);
    for (size_t i = 0; i < 70000; i++)
        payload[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        /* outer { 1: "x", inner { raw bytes of n - 2 ... } , 3: 9 } */
        buf_reset(&b);
        size_t outer = pb_begin(&b, 2);
        pb_put_string(&b, 1, "x");
        size_t inner = pb_begin(&b, 5);
        buf_append(&b, payload, n);
        pb_end(&b, inner);
        pb_put_uint64(&b, 3, 9);
        pb_end(&b, outer);
        assert_int_equal(b.err, 0);

        /* the same bytes built bottom-up with known lengths */
        buf want;
        buf_init(&want);
        buf inner_msg;
        buf_init(&inner_msg);
        pb_put_string(&inner_msg, 1, "x");
        pb_put_bytes(&inner_msg, 5, payload, n);
        pb_put_uint64(&inner_msg, 3, 9);
        pb_put_bytes(&want, 2, inner_msg.p, inner_msg.n);
        assert_int_equal(b.n, want.n);
        assert_memory_equal(b.p, want.p, want.n);

        pb_reader r;
        pb_field f;
        pb_reader_init(&r, b.p, b.n);
        assert_int_equal(pb_next(&r, &f), 1);
        assert_int_equal(f.num, 2);
        pb_reader in;
        pb_reader_init_slice(&in, f.s);
        assert_int_equal(pb_next(&in, &f), 1);
        assert_int_equal(pb_next(&in, &f), 1);
        assert_int_equal(f.num, 5);
        assert_int_equal(f.s.n, n);
        if (n)
            assert_memory_equal(f.s.p, payload, n);
        assert_int_equal(pb_next(&in, &f), 1);
        assert_int_equal(f.v, 9);
        assert_int_equal(pb_next(&in, &f), 0);
        assert_int_equal(pb_next(&r, &f), 0);
        buf_free(&want);
        buf_free(&inner_msg);
    }
    free(payload);
    buf_free(&b);
}

/* A buffer already in error stays untouched by begin/end. */
static void test_writer_error_is_sticky(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    pb_put_uint64(&b, 1, 1);
    b.err = BRAID_ENOMEM;
    size_t n = b.n;
    size_t pos = pb_begin(&b, 2);
    pb_put_string(&b, 1, "ignored");
    pb_end(&b, pos);
    assert_int_equal(b.n, n);
    assert_int_equal(b.err, BRAID_ENOMEM);
    buf_free(&b);
}

/* ---- packed repeated ---- */
static void test_packed(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    const uint64_t vs[] = {0, 1, 300, UINT64_MAX};
    const uint64_t fx[] = {5, UINT64_MAX, 0};
    const double ds[] = {0.5, -1.25, 1e10};
    pb_put_packed_varint(&b, 2, vs, 4);
    pb_put_packed_fixed64(&b, 6, fx, 3);
    pb_put_packed_double(&b, 7, ds, 3);
    pb_put_packed_fixed64(&b, 6, NULL, 0);

    pb_reader r, p;
    pb_field f;
    uint64_t v;
    pb_reader_init(&r, b.p, b.n);

    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.wire, PB_LEN);
    pb_reader_init_slice(&p, f.s);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(pb_read_varint(&p, &v), 1);
        assert_true(v == vs[i]);
    }
    assert_int_equal(pb_read_varint(&p, &v), 0);

    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.s.n, 24);
    pb_reader_init_slice(&p, f.s);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(pb_read_fixed64(&p, &v), 1);
        assert_true(v == fx[i]);
    }
    assert_int_equal(pb_read_fixed64(&p, &v), 0);

    assert_int_equal(pb_next(&r, &f), 1);
    pb_reader_init_slice(&p, f.s);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(pb_read_fixed64(&p, &v), 1);
        assert_true(pb_bits_double(v) == ds[i]);
    }
    assert_int_equal(pb_read_fixed64(&p, &v), 0);

    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.s.n, 0);
    assert_int_equal(pb_next(&r, &f), 0);

    /* fixed32 elements */
    const uint8_t f32[] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    uint32_t w;
    pb_reader_init(&p, f32, sizeof f32);
    assert_int_equal(pb_read_fixed32(&p, &w), 1);
    assert_int_equal(w, 1);
    assert_int_equal(pb_read_fixed32(&p, &w), 1);
    assert_true(w == UINT32_MAX);
    assert_int_equal(pb_read_fixed32(&p, &w), 0);
    buf_free(&b);
}

/* Unknown fields of every valid wire type are read whole, so skipping one is
 * just ignoring it; the known field after them is still found. */
static void test_skip_unknown_fields(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    pb_put_uint64(&b, 100, UINT64_MAX);
    pb_put_fixed64(&b, 101, 1);
    pb_put_string(&b, 102, "unknown");
    size_t pos = pb_begin(&b, 103);
    pb_put_uint64(&b, 1, 1);
    pb_end(&b, pos);
    pb_put_fixed32(&b, 104, 2);
    pb_put_uint64(&b, 1, 42);
    pb_reader r;
    pb_field f;
    pb_reader_init(&r, b.p, b.n);
    int seen = 0;
    uint64_t got = 0;
    while (pb_next(&r, &f) == 1) {
        seen++;
        if (f.num == 1)
            got = f.v;
    }
    assert_int_equal(r.err, PB_ERR_NONE);
    assert_int_equal(seen, 6);
    assert_int_equal(got, 42);
    buf_free(&b);
}

static void test_empty_input(void **state)
{
    (void)state;
    pb_reader r;
    pb_field f;
    pb_reader_init(&r, NULL, 0);
    assert_int_equal(pb_next(&r, &f), 0);
    assert_int_equal(pb_next(&r, &f), 0);
}

/* ---- malformed inputs ---- */
typedef struct {
    const char *why;
    uint8_t in[16];
    size_t n;
    int good_fields; /* fields read successfully before the failure */
    pb_error err;
    uint32_t field;
    const char *msg;
} bad_case;

static const bad_case BAD[] = {
    {"tag varint cut short", {0x80}, 1, 0, PB_ERR_TAG, 0, "truncated or invalid field tag"},
    {"tag varint of eleven bytes",
     {0x88, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
     11,
     0,
     PB_ERR_TAG,
     0,
     "truncated or invalid field tag"},
    {"tag above 2^32 (field number too large)",
     {0x80, 0x80, 0x80, 0x80, 0x10, 0x00},
     6,
     0,
     PB_ERR_TAG,
     0,
     "truncated or invalid field tag"},
    {"field number 0, varint",
     {0x00, 0x00},
     2,
     0,
     PB_ERR_FIELD_ZERO,
     0,
     "field number 0 is invalid"},
    {"field number 0, bytes",
     {0x02, 0x00},
     2,
     0,
     PB_ERR_FIELD_ZERO,
     0,
     "field number 0 is invalid"},
    {"start group", {0x0B, 0x0C}, 2, 0, PB_ERR_GROUP, 1, "groups (wire type 3) are not supported"},
    {"end group", {0x0C}, 1, 0, PB_ERR_GROUP, 1, "groups (wire type 4) are not supported"},
    {"wire type 6", {0x0E, 0x00}, 2, 0, PB_ERR_WIRE_TYPE, 1, "invalid wire type 6"},
    {"wire type 7", {0x17, 0x00}, 2, 0, PB_ERR_WIRE_TYPE, 2, "invalid wire type 7"},
    {"varint value cut short", {0x08, 0x80}, 2, 0, PB_ERR_VARINT, 1, "truncated or invalid varint"},
    {"varint value missing", {0x08}, 1, 0, PB_ERR_VARINT, 1, "truncated or invalid varint"},
    {"varint value of eleven bytes",
     {0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
     12,
     0,
     PB_ERR_VARINT,
     1,
     "truncated or invalid varint"},
    {"varint value above 2^64",
     {0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02},
     11,
     0,
     PB_ERR_VARINT,
     1,
     "truncated or invalid varint"},
    {"fixed64 with 3 bytes",
     {0x09, 1, 2, 3},
     4,
     0,
     PB_ERR_FIXED,
     1,
     "fixed64 needs 8 bytes, 3 left"},
    {"fixed32 with 2 bytes", {0x15, 1, 2}, 3, 0, PB_ERR_FIXED, 2, "fixed32 needs 4 bytes, 2 left"},
    {"length past the end",
     {0x0A, 0x05, 'a', 'b'},
     4,
     0,
     PB_ERR_LENGTH,
     1,
     "length 5 past end of message (2 bytes left)"},
    {"length of 2^64-1",
     {0x2A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
     11,
     0,
     PB_ERR_LENGTH,
     5,
     "length 18446744073709551615 past end of message (0 bytes left)"},
    {"length varint cut short",
     {0x0A, 0x80},
     2,
     0,
     PB_ERR_VARINT,
     1,
     "truncated or invalid length varint"},
    {"good field, then a bad one",
     {0x08, 0x01, 0x12, 0x01},
     4,
     1,
     PB_ERR_LENGTH,
     2,
     "length 1 past end of message (0 bytes left)"},
};

static void test_malformed_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        const bad_case *c = &BAD[i];
        pb_reader r;
        pb_field f;
        pb_reader_init(&r, c->in, c->n);
        int good = 0, rc;
        while ((rc = pb_next(&r, &f)) == 1)
            good++;
        char msg[128];
        pb_reader_strerror(&r, msg, sizeof msg);
        if (rc != BRAID_EINVAL || good != c->good_fields || r.err != c->err ||
            r.err_field != c->field || strcmp(msg, c->msg) != 0)
            fail_msg("case '%s': rc %d good %d err %d field %u msg '%s'", c->why, rc, good,
                     (int)r.err, r.err_field, msg);
        /* errors are sticky */
        assert_int_equal(pb_next(&r, &f), BRAID_EINVAL);
    }
}

static void test_packed_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *why;
        uint8_t in[12];
        size_t n;
        int kind; /* 0 varint, 1 fixed64, 2 fixed32 */
        int good;
        const char *msg;
    } cases[] = {
        {"fixed64 array of 7 bytes",
         {1, 2, 3, 4, 5, 6, 7},
         7,
         1,
         0,
         "packed fixed64 array length is not a multiple of 8 (7 left over)"},
        {"fixed64 array of 11 bytes",
         {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
         11,
         1,
         1,
         "packed fixed64 array length is not a multiple of 8 (3 left over)"},
        {"fixed32 array of 5 bytes",
         {1, 2, 3, 4, 5},
         5,
         2,
         1,
         "packed fixed32 array length is not a multiple of 4 (1 left over)"},
        {"varint array with a cut varint", {0x01, 0x80}, 2, 0, 1, "truncated or invalid varint"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pb_reader r;
        pb_reader_init(&r, cases[i].in, cases[i].n);
        int good = 0, rc;
        uint64_t v;
        uint32_t w;
        for (;;) {
            rc = cases[i].kind == 0   ? pb_read_varint(&r, &v)
                 : cases[i].kind == 1 ? pb_read_fixed64(&r, &v)
                                      : pb_read_fixed32(&r, &w);
            if (rc != 1)
                break;
            good++;
        }
        char msg[128];
        pb_reader_strerror(&r, msg, sizeof msg);
        if (rc != BRAID_EINVAL || good != cases[i].good || strcmp(msg, cases[i].msg) != 0)
            fail_msg("case '%s': rc %d good %d msg '%s'", cases[i].why, rc, good, msg);
    }
}

static void test_wire_names(void **state)
{
    (void)state;
    assert_string_equal(pb_wire_name(PB_VARINT), "varint");
    assert_string_equal(pb_wire_name(PB_I64), "fixed64");
    assert_string_equal(pb_wire_name(PB_LEN), "length-delimited");
    assert_string_equal(pb_wire_name(PB_I32), "fixed32");
    assert_string_equal(pb_wire_name(6), "wire type 6");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_known_encodings),
        cmocka_unit_test(test_varint_round_trip),
        cmocka_unit_test(test_zigzag),
        cmocka_unit_test(test_fixed_round_trip),
        cmocka_unit_test(test_bytes_are_zero_copy),
        cmocka_unit_test(test_field_numbers),
        cmocka_unit_test(test_nested_lengths),
        cmocka_unit_test(test_writer_error_is_sticky),
        cmocka_unit_test(test_packed),
        cmocka_unit_test(test_skip_unknown_fields),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_packed_malformed),
        cmocka_unit_test(test_wire_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

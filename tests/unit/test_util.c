/* Unit tests for src/util: CRC32C (known vectors; hardware and table paths
 * agree at every length and alignment), buffers, arena, varints, size and
 * duration parsing, and error codes (a full disk says so, not "I/O error"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "util/util.h"

static void test_crc32c_vectors(void **state)
{
    (void)state;
    assert_int_equal(0xE3069283u, crc32c(0, "123456789", 9));
    assert_int_equal(0xE3069283u, crc32c_sw(0, "123456789", 9));
    uint8_t zeros[32] = {0};
    assert_int_equal(0x8A9136AAu, crc32c(0, zeros, 32)); /* RFC 3720 B.4 */
    assert_int_equal(0u, crc32c(0, NULL, 0));
    /* Incremental equals one shot. */
    assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

static void test_crc32c_paths_agree(void **state)
{
    (void)state;
    uint8_t data[600];
    srand(7);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)rand();
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof data; n += 13)
            assert_int_equal(crc32c(0x1234, data + off, n), crc32c_sw(0x1234, data + off, n));
}

static void test_buf_and_varint(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    uint64_t vals[] = {0, 1, 127, 128, 300, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < 7; i++)
        buf_put_varint(&b, vals[i]);
    buf_printf(&b, "%s-%d", "x", 42);
    assert_int_equal(b.err, 0);
    const uint8_t *p = b.p, *end = b.p + b.n;
    for (size_t i = 0; i < 7; i++) {
        uint64_t v;
        assert_int_equal(0, rd_varint(&p, end, &v));
        assert_true(v == vals[i]);
    }
    assert_memory_equal(p, "x-42", 4);
    uint8_t bad[11];
    memset(bad, 0xff, sizeof bad);
    const uint8_t *q = bad;
    uint64_t v;
    assert_int_equal(BRAID_EINVAL, rd_varint(&q, bad + sizeof bad, &v)); /* too long */
    q = bad;
    assert_int_equal(BRAID_EINVAL, rd_varint(&q, bad + 3, &v)); /* truncated */
    size_t len;
    uint8_t *raw = buf_detach(&b, &len);
    assert_non_null(raw);
    assert_int_equal(b.n, 0);
    free(raw);
}

static void test_arena(void **state)
{
    (void)state;
    arena a;
    arena_init(&a);
    for (int i = 1; i < 2000; i++) {
        uint8_t *p = arena_alloc(&a, (size_t)i);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 8, 0);
        memset(p, i & 0xff, (size_t)i);
    }
    char *big = arena_dup(&a, "hello", 6);
    assert_string_equal(big, "hello");
    arena_free(&a);
}

static void test_parse_size_duration(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(0, parse_size("32MiB", &v));
    assert_true(v == 32ull << 20);
    assert_int_equal(0, parse_size("1g", &v));
    assert_true(v == 1ull << 30);
    assert_int_equal(0, parse_size("512", &v));
    assert_true(v == 512);
    assert_int_equal(BRAID_EINVAL, parse_size("12 parsecs", &v));
    assert_int_equal(BRAID_EINVAL, parse_size("-1", &v));
    assert_int_equal(BRAID_EINVAL, parse_size("99999999999999999999g", &v));
    assert_int_equal(0, parse_duration_ns("250ms", &v));
    assert_true(v == 250000000ull);
    assert_int_equal(0, parse_duration_ns("7d", &v));
    assert_true(v == 7 * 86400000000000ull);
    assert_int_equal(BRAID_EINVAL, parse_duration_ns("soon", &v));
    assert_int_equal(BRAID_EINVAL, parse_duration_ns("5y", &v));
}

static void test_error_codes(void **state)
{
    (void)state;
    assert_string_equal("no space left on device", braid_strerror(BRAID_ENOSPC));
    assert_string_equal("I/O error", braid_strerror(BRAID_EIO));
    assert_int_equal(BRAID_ENOSPC, braid_err_from_errno(ENOSPC));
    assert_int_equal(BRAID_ENOSPC, braid_err_from_errno(EDQUOT));
    /* every other failure stays an I/O error */
    assert_int_equal(BRAID_EIO, braid_err_from_errno(EIO));
    assert_int_equal(BRAID_EIO, braid_err_from_errno(EACCES));
    assert_int_equal(BRAID_EIO, braid_err_from_errno(EROFS));
    assert_int_equal(BRAID_EIO, braid_err_from_errno(0));
    /* a code of its own, so callers can tell a full disk from a broken one */
    for (int e = BRAID_ENOMEM; e >= BRAID_EUNSUPPORTED; e--)
        assert_int_not_equal(BRAID_ENOSPC, e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors),      cmocka_unit_test(test_crc32c_paths_agree),
        cmocka_unit_test(test_buf_and_varint),      cmocka_unit_test(test_arena),
        cmocka_unit_test(test_parse_size_duration), cmocka_unit_test(test_error_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

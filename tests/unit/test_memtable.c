/* Unit tests for src/store/memtable.c: the order a flush writes rows in
 * (compared with a plain comparison sort, including days far apart, rows
 * without trace ids, ids that share their leading 47 bits and rows that
 * compare equal, which keep their append order), and the memory a chunk
 * accounts for (an encoding buffer's slack is given back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "store/internal.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define DAY_NS (86400ull * 1000000000ull)

/* A batch of n logs: a few days, a tenth without trace ids, ids from a
 * small set (so traces have several rows) whose first 6 bytes are all the
 * same (so they tie on the packed key), and times that repeat. With wide,
 * ids are 64-bit ones padded with zeros, from a large set. */
static bool wide;
static void make_batch(model_batch *b, int n, uint64_t day_spread)
{
    model_batch_init(b);
    for (int i = 0; i < n; i++) {
        model_log *l = model_batch_add_log(b);
        uint64_t day = 19000 + rnd() % day_spread;
        l->time_ns = day * DAY_NS + (rnd() % 50) * 1000;
        l->observed_ns = l->time_ns + (uint64_t)i; /* tells equal rows apart */
        if (rnd() % 10 && wide) {
            wr_u64le(l->trace_id.b + 8, rnd() % 3000 + 1);
        } else if (rnd() % 10) {
            memset(l->trace_id.b, 0xab, 6);
            wr_u64le(l->trace_id.b + 8, rnd() % 40);
            l->trace_id.b[6] = (uint8_t)(rnd() % 2);
        }
    }
}

static int ref_sig;
static int ref_cmp(const void *a, const void *b)
{
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;
    uint32_t dx = row_day(row_time((signal_t)ref_sig, x)),
             dy = row_day(row_time((signal_t)ref_sig, y));
    if (dx != dy)
        return dx < dy ? -1 : 1;
    int c = row_cmp((signal_t)ref_sig, x, y);
    if (c)
        return c;
    /* Equal rows in append order: observed_ns grows with the row index. */
    const model_log *lx = x, *ly = y;
    return lx->observed_ns < ly->observed_ns ? -1 : lx->observed_ns > ly->observed_ns;
}

/* Appends the batch as chunks of `per` rows to m. */
static void fill(memtable *m, const model_batch *b, size_t per)
{
    for (size_t i = 0; i < b->nlogs; i += per) {
        model_batch part;
        model_batch_init(&part);
        for (size_t k = i; k < i + per && k < b->nlogs; k++)
            *model_batch_add_log(&part) = b->logs[k];
        buf enc;
        buf_init(&enc);
        assert_int_equal(rowcodec_encode(&part, &enc), 0);
        size_t len = enc.n, cap = enc.cap;
        mchunk *ck;
        assert_int_equal(mchunk_new(buf_detach(&enc, NULL), len, cap, &ck), 0);
        ck->seq = i + 1;
        memtable_insert(m, ck);
        model_batch_free(&part);
    }
}

static void check_order(uint64_t day_spread)
{
    model_batch b;
    make_batch(&b, 5000, day_spread);
    memtable *m = memtable_new();
    assert_non_null(m);
    fill(m, &b, 333);
    const void **got;
    assert_int_equal(memtable_sorted_rows(m, SIGNAL_LOGS, &got), 0);
    size_t n = (size_t)m->rows[SIGNAL_LOGS];
    assert_int_equal(n, 5000);
    const void **want = malloc(n * sizeof *want);
    size_t k = 0;
    for (const mchunk *ck = m->head; ck; ck = ck->next)
        for (uint32_t i = 0; i < ck->n[SIGNAL_LOGS]; i++)
            want[k++] = (const model_log *)ck->rows[SIGNAL_LOGS] + i;
    ref_sig = SIGNAL_LOGS;
    qsort(want, n, sizeof *want, ref_cmp);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("row %zu differs (day spread %llu)", i, (unsigned long long)day_spread);
    free(got);
    free(want);
    memtable_unref(m);
    model_batch_free(&b);
}

static void test_sorted_rows(void **state)
{
    (void)state;
    check_order(3);      /* the packed key and its radix sort */
    check_order(200000); /* days too far apart for the key: the comparison sort */
    wide = true;
    check_order(1); /* every id ties on the key */
    wide = false;
}

static void test_sorted_rows_empty(void **state)
{
    (void)state;
    memtable *m = memtable_new();
    const void **got;
    assert_int_equal(memtable_sorted_rows(m, SIGNAL_SPANS, &got), 0);
    free(got);
    memtable_unref(m);
}

/* A chunk accounts for what it keeps: an encoding buffer grown by doubling
 * is cut back to the payload and the WAL trailer. */
static void test_chunk_gives_back_slack(void **state)
{
    (void)state;
    model_batch b;
    make_batch(&b, 1000, 1);
    buf enc;
    buf_init(&enc);
    assert_int_equal(rowcodec_encode(&b, &enc), 0);
    size_t len = enc.n;
    assert_int_equal(buf_reserve(&enc, 1 << 20), 0); /* a lot of slack */
    size_t cap = enc.cap;
    assert_true(cap >= len + (1 << 20));
    mchunk *ck;
    assert_int_equal(mchunk_new(buf_detach(&enc, NULL), len, cap, &ck), 0);
    size_t rows = 1000 * row_size(SIGNAL_LOGS);
    assert_true(ck->bytes >= len + WAL_TRAILER + rows);
    assert_true(ck->bytes < len + WAL_TRAILER + rows + 64 * 1024);
    /* The trailer room is still there for the WAL to write into. */
    memset(ck->payload + len, 0x5a, WAL_TRAILER);
    mchunk_free(ck);
    model_batch_free(&b);
}

int main(void)
{
    braid_log_level = -1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_rows),
        cmocka_unit_test(test_sorted_rows_empty),
        cmocka_unit_test(test_chunk_gives_back_slack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

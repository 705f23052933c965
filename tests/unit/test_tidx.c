/* Unit tests for src/store/tidx.c and bloom.c: the bloom filter's measured
 * false-positive rate (and no false negatives), exact hits and misses across
 * many pages, row counts stored in 1, 2 or 4 bytes, an empty index, writer
 * order checks, a damaged file, and lookups over many parts where exactly one
 * part owns each trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/internal.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void rnd_tid(trace_id_t *t)
{
    wr_u64le(t->b, rnd());
    wr_u64le(t->b + 8, rnd());
}

static int cmp_tid(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

static char *mkdir_tmp(void)
{
    char *d = strdup("/tmp/braid-tidx-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void test_bloom_fpr(void **state)
{
    (void)state;
    const uint64_t n = 100000, probes = 200000;
    uint64_t m = bloom_bits_for(n);
    assert_int_equal(m, n * BLOOM_BITS_PER_KEY);
    uint8_t *bits = calloc(m / 8, 1);
    trace_id_t *keys = malloc(n * sizeof *keys);
    for (uint64_t i = 0; i < n; i++) {
        rnd_tid(&keys[i]);
        bloom_add(bits, m, BLOOM_K, &keys[i]);
    }
    for (uint64_t i = 0; i < n; i++)
        assert_true(bloom_test(bits, m, BLOOM_K, &keys[i]));
    uint64_t fp = 0;
    for (uint64_t i = 0; i < probes; i++) {
        trace_id_t t;
        rnd_tid(&t);
        fp += bloom_test(bits, m, BLOOM_K, &t);
    }
    double rate = (double)fp / (double)probes;
    print_message("bloom: %.3f%% false positives at %d bits/key, k=%d\n", rate * 100,
                  BLOOM_BITS_PER_KEY, BLOOM_K);
    /* Theory: 0.82 %. */
    assert_true(rate < 0.015);
    assert_true(rate > 0.002);
    /* Ids of 64-bit origin (upper half zero) hash as well. */
    memset(bits, 0, m / 8);
    for (uint64_t i = 0; i < n; i++) {
        trace_id_t t = {{0}};
        wr_u64le(t.b + 8, i + 1);
        bloom_add(bits, m, BLOOM_K, &t);
    }
    fp = 0;
    for (uint64_t i = 0; i < probes; i++) {
        trace_id_t t = {{0}};
        wr_u64le(t.b + 8, n + 1 + i);
        fp += bloom_test(bits, m, BLOOM_K, &t);
    }
    assert_true((double)fp / (double)probes < 0.015);
    free(keys);
    free(bits);
}

/* Writes an index of n sorted ids; id i owns rows [sum of counts, +count). */
static void write_index(const char *path, const trace_id_t *ids, const uint32_t *counts, size_t n,
                        uint64_t nrows)
{
    tidx_writer tw;
    tidx_writer_init(&tw);
    uint32_t row = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < counts[i]; k++)
            assert_int_equal(tidx_writer_add(&tw, &ids[i], row++), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(tidx_writer_write(&tw, fd, nrows), 0);
    close(fd);
    tidx_writer_free(&tw);
}

static void test_hits_and_misses(void **state)
{
    (void)state;
    size_t sizes[] = {1, 63, 64, 65, 64 * 50 + 17};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        /* Even ids 2..2n stored; odd ids are misses that fall between. */
        trace_id_t *ids = calloc(n, sizeof *ids);
        uint32_t *counts = malloc(n * sizeof *counts);
        uint64_t nrows = 0;
        for (size_t i = 0; i < n; i++) {
            wr_u64le(ids[i].b + 8, 0);
            ids[i].b[0] = (uint8_t)((2 * (i + 1)) >> 8);
            ids[i].b[1] = (uint8_t)(2 * (i + 1));
            ids[i].b[15] = 1;
            counts[i] = (uint32_t)(i % 4 + 1);
            nrows += counts[i];
        }
        char *dir = mkdir_tmp();
        char path[4200];
        snprintf(path, sizeof path, "%s/tidx", dir);
        write_index(path, ids, counts, n, nrows);
        tidx t;
        assert_int_equal(tidx_open(&t, path), 0);
        assert_int_equal(t.nentries, n);
        assert_int_equal(t.npages, (n + 63) / 64);
        uint32_t row = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t f, c;
            assert_int_equal(tidx_lookup(&t, &ids[i], &f, &c), 1);
            assert_int_equal(f, row);
            assert_int_equal(c, counts[i]);
            row += counts[i];
            trace_id_t miss = ids[i];
            miss.b[1] ^= 1; /* odd: between two stored ids */
            assert_int_equal(tidx_lookup(&t, &miss, &f, &c), 0);
        }
        trace_id_t lo = {{0}}, hi;
        lo.b[15] = 1;
        memset(hi.b, 0xff, 16);
        uint32_t f, c;
        assert_int_equal(tidx_lookup(&t, &lo, &f, &c), 0);
        assert_int_equal(tidx_lookup(&t, &hi, &f, &c), 0);
        tidx_close(&t);
        /* Every truncation of the file is refused at open. */
        uint8_t *p;
        size_t len;
        assert_int_equal(fs_read_file(path, &p, &len), 0);
        assert_int_equal(truncate(path, (off_t)len - 1), 0);
        assert_int_equal(tidx_open(&t, path), BRAID_EFORMAT);
        free(p);
        free(ids);
        free(counts);
        fs_rm_rf(dir);
        free(dir);
    }
}

/* Row counts take 1, 2 or 4 bytes on disk, the fewest the largest count
 * fits in; lookups and row ranges read them back whatever the width. */
static void test_count_widths(void **state)
{
    (void)state;
    struct {
        uint32_t big; /* the largest count */
        uint32_t esz;
    } cases[] = {{1, 17}, {255, 17}, {256, 18}, {65535, 18}, {65536, 20}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        enum { N = 150 };
        trace_id_t ids[N];
        uint32_t counts[N];
        uint64_t nrows = 0;
        for (size_t i = 0; i < N; i++) {
            memset(ids[i].b, 0, 16);
            ids[i].b[0] = (uint8_t)(i + 1);
            counts[i] = i == 77 ? cases[ci].big : (uint32_t)(i % 3 + 1);
            nrows += counts[i];
        }
        char *dir = mkdir_tmp();
        char path[4200];
        snprintf(path, sizeof path, "%s/tidx", dir);
        write_index(path, ids, counts, N, nrows + 5);
        tidx t;
        assert_int_equal(tidx_open(&t, path), 0);
        assert_int_equal(t.esz, cases[ci].esz);
        uint32_t row = 0;
        for (size_t i = 0; i < N; i++) {
            uint32_t f, c;
            assert_int_equal(tidx_lookup(&t, &ids[i], &f, &c), 1);
            assert_int_equal(f, row);
            assert_int_equal(c, counts[i]);
            row += counts[i];
        }
        /* Rows around the big trace and past the last one. */
        const uint8_t *got[8];
        uint32_t first = row - counts[N - 1] - 2;
        assert_int_equal(tidx_rows(&t, first, 8, got), 0);
        assert_memory_equal(got[0], ids[N - 2].b, 16);
        assert_memory_equal(got[2], ids[N - 1].b, 16);
        assert_null(got[2 + counts[N - 1]]);
        tidx_close(&t);
        fs_rm_rf(dir);
        free(dir);
    }
}

static void test_empty_and_order(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char path[4200];
    snprintf(path, sizeof path, "%s/tidx", dir);
    write_index(path, NULL, NULL, 0, 10);
    tidx t;
    assert_int_equal(tidx_open(&t, path), 0);
    assert_int_equal(t.nentries, 0);
    trace_id_t x;
    rnd_tid(&x);
    uint32_t f, c;
    assert_int_equal(tidx_lookup(&t, &x, &f, &c), 0);
    tidx_close(&t);

    tidx_writer tw;
    tidx_writer_init(&tw);
    trace_id_t a = {{0}}, b = {{0}};
    a.b[0] = 2;
    b.b[0] = 1;
    assert_int_equal(tidx_writer_add(&tw, &a, 0), 0);
    assert_int_equal(tidx_writer_add(&tw, &a, 2), BRAID_EINVAL); /* rows of a trace adjacent */
    assert_int_equal(tidx_writer_add(&tw, &b, 3), BRAID_EINVAL); /* ids ascending */
    tidx_writer_free(&tw);
    fs_rm_rf(dir);
    free(dir);
}

/* 40 parts, each owning 500 traces (3 spans each): every trace is found in
 * exactly its part, bloom tests let almost every other part be skipped. */
static void test_many_parts(void **state)
{
    (void)state;
    enum { NPARTS = 40, NTR = 500 };
    char *dir = mkdir_tmp();
    part *parts[NPARTS];
    trace_id_t(*ids)[NTR] = malloc(sizeof(trace_id_t[NPARTS][NTR]));
    model_origin o = {0};
    for (int p = 0; p < NPARTS; p++) {
        for (int i = 0; i < NTR; i++)
            rnd_tid(&ids[p][i]);
        trace_id_t sorted_ids[NTR];
        memcpy(sorted_ids, ids[p], sizeof sorted_ids);
        qsort(sorted_ids, NTR, 16, cmp_tid);
        char path[4300], name[64];
        part_name_make((uint64_t)p * 10 + 1, (uint64_t)p * 10 + 5, name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        assert_int_equal(fs_mkdir(path, NULL), 0);
        part_writer *w;
        assert_int_equal(
            part_writer_open(path, SIGNAL_SPANS, (uint64_t)p * 10 + 1, (uint64_t)p * 10 + 5, &w),
            0);
        for (int i = 0; i < NTR; i++)
            for (int k = 0; k < 3; k++) {
                model_span s = {0};
                s.origin = &o;
                s.trace_id = sorted_ids[i];
                s.start_ns = 1000 + (uint64_t)k;
                s.end_ns = 2000;
                s.name = BSLICE_LIT("op");
                assert_int_equal(part_writer_add(w, &s), 0);
            }
        assert_int_equal(part_writer_finish(w, NULL), 0);
        assert_int_equal(part_open(path, SIGNAL_SPANS, 0, &parts[p]), 0);
    }
    uint64_t bloom_fp = 0, probes = 0;
    for (int p = 0; p < NPARTS; p++)
        for (int i = 0; i < NTR; i += 7) {
            int found = 0;
            for (int q = 0; q < NPARTS; q++) {
                uint32_t f, c;
                int r = tidx_lookup(&parts[q]->tx, &ids[p][i], &f, &c);
                assert_true(r >= 0);
                if (r == 1) {
                    assert_int_equal(q, p);
                    assert_int_equal(c, 3);
                    assert_int_equal(f % 3, 0);
                    found++;
                } else if (q != p) {
                    probes++;
                    bloom_fp += bloom_test(parts[q]->tx.bloom, parts[q]->tx.bloom_bits,
                                           parts[q]->tx.bloom_k, &ids[p][i]);
                }
            }
            assert_int_equal(found, 1);
        }
    assert_true((double)bloom_fp / (double)probes < 0.02);
    for (int p = 0; p < NPARTS; p++)
        part_unref(parts[p]);
    free(ids);
    fs_rm_rf(dir);
    free(dir);
}

int main(void)
{
    braid_log_level = -1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bloom_fpr),    cmocka_unit_test(test_hits_and_misses),
        cmocka_unit_test(test_count_widths), cmocka_unit_test(test_empty_and_order),
        cmocka_unit_test(test_many_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for src/store/wal.c: record framing (length, CRC32C, sequence
 * trailer), replay, a torn tail cut at every byte offset of the last record,
 * a corrupted middle byte, injected write and fsync failures, segment
 * rotation and trimming, and group commit from 8 threads with every append
 * acknowledged and replayed exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/internal.h"

typedef struct {
    uint64_t seq;
    char body[64];
    size_t len;
} seen_rec;

typedef struct {
    pthread_mutex_t mu;
    seen_rec *v;
    size_t n, cap;
} seen;

static void seen_init(seen *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
}

static void seen_free(seen *s)
{
    free(s->v);
    pthread_mutex_destroy(&s->mu);
}

static void seen_add(seen *s, uint64_t seq, const uint8_t *body, size_t len)
{
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        assert_non_null(s->v);
    }
    seen_rec *r = &s->v[s->n++];
    r->seq = seq;
    assert_true(len < sizeof r->body);
    memcpy(r->body, body, len);
    r->body[len] = 0;
    r->len = len;
    pthread_mutex_unlock(&s->mu);
}

static int on_replay(void *ud, uint64_t seq, const uint8_t *body, size_t len)
{
    seen_add(ud, seq, body, len);
    return 0;
}

static void on_commit(void *ud, wal_rec *first, size_t n)
{
    for (wal_rec *r = first; n--; r = r->next)
        seen_add(ud, r->seq, r->data, r->len);
}

static char *mkdir_tmp(void)
{
    char *d = strdup("/tmp/braid-wal-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static wal *open_wal(const char *dir, store_fsync pol, uint64_t segbytes, seen *replayed,
                     seen *committed)
{
    wal_opts o = {.fsync = pol,
                  .segment_bytes = segbytes,
                  .replay = replayed ? on_replay : NULL,
                  .commit = committed ? on_commit : NULL,
                  .ud = replayed ? (void *)replayed : (void *)committed};
    wal *w = NULL;
    assert_int_equal(wal_open(dir, &o, &w), 0);
    return w;
}

/* Appends one record whose body is the string s. */
static int append_str(wal *w, const char *s, uint64_t *seq)
{
    size_t n = strlen(s);
    uint8_t *data = malloc(n + WAL_TRAILER);
    memcpy(data, s, n);
    wal_rec r = {.data = data, .len = n};
    int rc = wal_append(w, &r);
    if (seq)
        *seq = r.seq;
    free(data);
    return rc;
}

static size_t count_segments(const char *dir, char *last, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    char best[64] = "";
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l == 20 && strcmp(e->d_name + 16, ".wal") == 0) {
            n++;
            if (strcmp(e->d_name, best) > 0)
                memcpy(best, e->d_name, 21); /* 20 chars checked above */
        }
    }
    closedir(d);
    if (last)
        snprintf(last, cap, "%s/%s", dir, best);
    return n;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void test_framing(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    wal *w = open_wal(dir, STORE_FSYNC_BATCH, 0, NULL, NULL);
    uint64_t s1, s2;
    assert_int_equal(append_str(w, "hello", &s1), 0);
    assert_int_equal(append_str(w, "braid!", &s2), 0);
    assert_int_equal(s1, 1);
    assert_int_equal(s2, 2);
    assert_int_equal(wal_last_seq(w), 2);
    wal_stats st;
    wal_get_stats(w, &st);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.bytes, (8 + 5 + 8) + (8 + 6 + 8));
    assert_int_equal(wal_close(w, 0), 0);

    char seg[4200];
    assert_int_equal(count_segments(dir, seg, sizeof seg), 1);
    uint8_t *p;
    size_t n;
    assert_int_equal(fs_read_file(seg, &p, &n), 0);
    assert_int_equal(n, 21 + 22);
    /* record 1: len 13 = "hello" + seq, CRC32C over the payload */
    assert_int_equal(rd_u32le(p), 13);
    assert_memory_equal(p + 8, "hello", 5);
    assert_int_equal(rd_u64le(p + 13), 1);
    assert_int_equal(rd_u32le(p + 4), crc32c(0, p + 8, 13));
    /* record 2 */
    assert_int_equal(rd_u32le(p + 21), 14);
    assert_memory_equal(p + 29, "braid!", 6);
    assert_int_equal(rd_u64le(p + 35), 2);
    assert_int_equal(rd_u32le(p + 25), crc32c(0, p + 29, 14));
    free(p);
    fs_rm_rf(dir);
    free(dir);
}

static void test_replay_and_continue(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    wal *w = open_wal(dir, STORE_FSYNC_NONE, 0, NULL, NULL);
    for (int i = 0; i < 50; i++) {
        char b[32];
        snprintf(b, sizeof b, "rec-%d", i);
        assert_int_equal(append_str(w, b, NULL), 0);
    }
    assert_int_equal(wal_close(w, 0), 0);

    seen sn;
    seen_init(&sn);
    w = open_wal(dir, STORE_FSYNC_NONE, 0, &sn, NULL);
    assert_int_equal(sn.n, 50);
    for (size_t i = 0; i < sn.n; i++) {
        char b[32];
        snprintf(b, sizeof b, "rec-%zu", i);
        assert_string_equal(sn.v[i].body, b);
        assert_int_equal(sn.v[i].seq, i + 1);
    }
    uint64_t seq;
    assert_int_equal(append_str(w, "after", &seq), 0);
    assert_int_equal(seq, 51);
    /* Records go to a new segment; the replayed one is never appended to. */
    assert_int_equal(count_segments(dir, NULL, 0), 2);
    assert_int_equal(wal_close(w, 0), 0);
    seen_free(&sn);

    /* min_next_seq lifts the sequence above a checkpoint. */
    wal_opts o = {.fsync = STORE_FSYNC_NONE, .min_next_seq = 1000};
    assert_int_equal(wal_open(dir, &o, &w), 0);
    assert_int_equal(append_str(w, "x", &seq), 0);
    assert_int_equal(seq, 1000);
    assert_int_equal(wal_close(w, 0), 0);
    fs_rm_rf(dir);
    free(dir);
}

/* Three records; the file is cut at every offset inside the last one. */
static void test_torn_tail_every_offset(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    wal *w = open_wal(dir, STORE_FSYNC_NONE, 0, NULL, NULL);
    assert_int_equal(append_str(w, "first record", NULL), 0);
    assert_int_equal(append_str(w, "second record", NULL), 0);
    assert_int_equal(append_str(w, "third and last record", NULL), 0);
    assert_int_equal(wal_close(w, 0), 0);
    char seg[4200];
    count_segments(dir, seg, sizeof seg);
    uint8_t *full;
    size_t n;
    assert_int_equal(fs_read_file(seg, &full, &n), 0);
    size_t last = (8 + 12 + 8) + (8 + 13 + 8);
    assert_int_equal(n, last + 8 + 21 + 8);
    for (size_t cut = last + 1; cut < n; cut++) {
        char *d2 = mkdir_tmp();
        char path[4200];
        snprintf(path, sizeof path, "%s/0000000000000001.wal", d2);
        write_file(path, full, cut);
        seen sn;
        seen_init(&sn);
        wal *w2 = open_wal(d2, STORE_FSYNC_NONE, 0, &sn, NULL);
        assert_int_equal(sn.n, 2);
        assert_string_equal(sn.v[0].body, "first record");
        assert_string_equal(sn.v[1].body, "second record");
        wal_stats st;
        wal_get_stats(w2, &st);
        assert_int_equal(st.cut_bytes, cut - last);
        assert_int_equal(st.replayed, 2);
        uint8_t *after;
        size_t an;
        assert_int_equal(fs_read_file(path, &after, &an), 0);
        assert_int_equal(an, last);
        free(after);
        uint64_t seq;
        assert_int_equal(append_str(w2, "new", &seq), 0);
        assert_int_equal(seq, 3);
        assert_int_equal(wal_close(w2, 0), 0);
        seen_free(&sn);
        fs_rm_rf(d2);
        free(d2);
    }
    free(full);
    fs_rm_rf(dir);
    free(dir);
}

static void test_corrupt_middle(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    wal *w = open_wal(dir, STORE_FSYNC_NONE, 0, NULL, NULL);
    assert_int_equal(append_str(w, "aaaaaaaaaa", NULL), 0);
    assert_int_equal(append_str(w, "bbbbbbbbbb", NULL), 0);
    assert_int_equal(append_str(w, "cccccccccc", NULL), 0);
    assert_int_equal(wal_close(w, 0), 0);
    char seg[4200];
    count_segments(dir, seg, sizeof seg);
    uint8_t *p;
    size_t n;
    assert_int_equal(fs_read_file(seg, &p, &n), 0);
    size_t rec = 8 + 10 + 8;
    assert_int_equal(n, 3 * rec);
    p[rec + 8 + 5] ^= 0x40; /* a payload byte of record 2 */
    write_file(seg, p, n);
    seen sn;
    seen_init(&sn);
    w = open_wal(dir, STORE_FSYNC_NONE, 0, &sn, NULL);
    assert_int_equal(sn.n, 1);
    assert_string_equal(sn.v[0].body, "aaaaaaaaaa");
    wal_stats st;
    wal_get_stats(w, &st);
    assert_int_equal(st.cut_bytes, 2 * rec);
    assert_int_equal(wal_close(w, 0), 0);
    uint8_t *q;
    size_t qn;
    assert_int_equal(fs_read_file(seg, &q, &qn), 0);
    assert_int_equal(qn, rec);
    free(q);

    /* A damaged CRC field of the first record empties the segment. */
    p[4] ^= 1;
    write_file(seg, p, rec);
    seen s2;
    seen_init(&s2);
    w = open_wal(dir, STORE_FSYNC_NONE, 0, &s2, NULL);
    assert_int_equal(s2.n, 0);
    assert_int_equal(count_segments(dir, NULL, 0), 0);
    assert_int_equal(wal_close(w, 0), 0);
    seen_free(&s2);
    free(p);
    seen_free(&sn);
    fs_rm_rf(dir);
    free(dir);
}

/* Table of framing damage: each row is a whole file and the records that
 * must survive it. */
static void test_damage_table(void **state)
{
    (void)state;
    struct {
        const char *why;
        uint32_t len;
        bool fix_crc;
        size_t extra; /* bytes of payload actually present */
        size_t want;
    } cases[] = {
        {"zero length word (preallocated zeros)", 0, false, 0, 1},
        {"length shorter than the trailer", 4, true, 4, 1},
        {"length beyond the 1 GiB limit", 0x7fffffff, false, 16, 1},
        {"length beyond the file", 100, false, 40, 1},
        {"intact second record", 16, true, 16, 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *dir = mkdir_tmp();
        wal *w = open_wal(dir, STORE_FSYNC_NONE, 0, NULL, NULL);
        assert_int_equal(append_str(w, "good", NULL), 0);
        assert_int_equal(wal_close(w, 0), 0);
        char seg[4200];
        count_segments(dir, seg, sizeof seg);
        uint8_t *p;
        size_t n;
        assert_int_equal(fs_read_file(seg, &p, &n), 0);
        uint8_t *big = calloc(1, n + 8 + cases[c].extra);
        memcpy(big, p, n);
        uint8_t *h = big + n;
        wr_u32le(h, cases[c].len);
        for (size_t i = 0; i < cases[c].extra; i++)
            h[8 + i] = (uint8_t)(i + 1);
        if (cases[c].extra >= 8)
            wr_u64le(h + 8 + cases[c].extra - 8, 7);
        if (cases[c].fix_crc)
            wr_u32le(h + 4, crc32c(0, h + 8, cases[c].extra));
        write_file(seg, big, n + 8 + cases[c].extra);
        seen sn;
        seen_init(&sn);
        w = open_wal(dir, STORE_FSYNC_NONE, 0, &sn, NULL);
        if (sn.n != cases[c].want)
            fail_msg("case '%s': %zu records, want %zu", cases[c].why, sn.n, cases[c].want);
        assert_int_equal(wal_close(w, 0), 0);
        seen_free(&sn);
        free(p);
        free(big);
        fs_rm_rf(dir);
        free(dir);
    }
}

static void test_write_fault(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    seen com;
    seen_init(&com);
    wal *w = open_wal(dir, STORE_FSYNC_BATCH, 0, NULL, &com);
    assert_int_equal(append_str(w, "one", NULL), 0);
    wal_inject_faults(w, 1, 0);
    assert_int_equal(append_str(w, "two-never-acked", NULL), BRAID_EIO);
    assert_int_equal(append_str(w, "three", NULL), 0);
    wal_inject_faults(w, 0, 1);
    assert_int_equal(append_str(w, "four-sync-failed", NULL), BRAID_EIO);
    assert_int_equal(append_str(w, "five", NULL), 0);
    /* Commit callbacks saw only the acknowledged records. */
    assert_int_equal(com.n, 3);
    assert_string_equal(com.v[0].body, "one");
    assert_string_equal(com.v[1].body, "three");
    assert_string_equal(com.v[2].body, "five");
    assert_int_equal(wal_close(w, 0), 0);
    seen sn;
    seen_init(&sn);
    w = open_wal(dir, STORE_FSYNC_BATCH, 0, &sn, NULL);
    wal_stats st;
    wal_get_stats(w, &st);
    assert_int_equal(st.cut_bytes, 0); /* the half record was cut back at once */
    assert_int_equal(sn.n, 3);
    assert_string_equal(sn.v[0].body, "one");
    assert_string_equal(sn.v[1].body, "three");
    assert_string_equal(sn.v[2].body, "five");
    assert_true(sn.v[0].seq < sn.v[1].seq && sn.v[1].seq < sn.v[2].seq);
    assert_int_equal(wal_close(w, 0), 0);
    seen_free(&sn);
    seen_free(&com);
    fs_rm_rf(dir);
    free(dir);
}

static void test_rotation_and_trim(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    /* 3 records of 8+20+8 = 36 bytes fit in 110 bytes. */
    wal *w = open_wal(dir, STORE_FSYNC_NONE, 110, NULL, NULL);
    for (int i = 0; i < 10; i++) {
        char b[32];
        snprintf(b, sizeof b, "record-number-%06d", i);
        assert_int_equal(append_str(w, b, NULL), 0);
    }
    assert_int_equal(count_segments(dir, NULL, 0), 4);
    assert_int_equal(wal_trim(w, 6), 0); /* segments 1-3, 4-6 go */
    assert_int_equal(count_segments(dir, NULL, 0), 2);
    assert_int_equal(wal_trim(w, 100), 0); /* 7-9 goes; the open one stays */
    assert_int_equal(count_segments(dir, NULL, 0), 1);
    assert_int_equal(wal_close(w, 9), 0); /* record 10 is not covered */
    seen sn;
    seen_init(&sn);
    w = open_wal(dir, STORE_FSYNC_NONE, 110, &sn, NULL);
    assert_int_equal(sn.n, 1);
    assert_int_equal(sn.v[0].seq, 10);
    assert_int_equal(wal_close(w, 10), 0);
    assert_int_equal(count_segments(dir, NULL, 0), 0);
    seen_free(&sn);
    fs_rm_rf(dir);
    free(dir);
}

static void test_always_policy(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    wal *w = open_wal(dir, STORE_FSYNC_ALWAYS, 0, NULL, NULL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(append_str(w, "x", NULL), 0);
    wal_stats st;
    wal_get_stats(w, &st);
    assert_int_equal(st.fsyncs, 5);
    assert_int_equal(st.group_commits, 0);
    assert_int_equal(wal_close(w, 0), 0);
    fs_rm_rf(dir);
    free(dir);
}

#define GC_THREADS 8
#define GC_PER 300

typedef struct {
    wal *w;
    int id;
    int failures;
} gc_arg;

static void *gc_main(void *p)
{
    gc_arg *a = p;
    for (int i = 0; i < GC_PER; i++) {
        char b[32];
        snprintf(b, sizeof b, "t%d-%d", a->id, i);
        if (append_str(a->w, b, NULL) != 0)
            a->failures++;
    }
    return NULL;
}

static void check_once(const seen *sn)
{
    static unsigned char hits[GC_THREADS][GC_PER];
    memset(hits, 0, sizeof hits);
    assert_int_equal(sn->n, GC_THREADS * GC_PER);
    for (size_t i = 0; i < sn->n; i++) {
        int t, k;
        assert_int_equal(sscanf(sn->v[i].body, "t%d-%d", &t, &k), 2);
        assert_true(t >= 0 && t < GC_THREADS && k >= 0 && k < GC_PER);
        hits[t][k]++;
        if (i > 0)
            assert_true(sn->v[i].seq > sn->v[i - 1].seq);
    }
    for (int t = 0; t < GC_THREADS; t++)
        for (int k = 0; k < GC_PER; k++)
            assert_int_equal(hits[t][k], 1);
}

static void test_group_commit_threads(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    seen com;
    seen_init(&com);
    wal *w = open_wal(dir, STORE_FSYNC_BATCH, 64 << 10, NULL, &com);
    pthread_t th[GC_THREADS];
    gc_arg args[GC_THREADS];
    for (int i = 0; i < GC_THREADS; i++) {
        args[i] = (gc_arg){w, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, gc_main, &args[i]), 0);
    }
    for (int i = 0; i < GC_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    wal_stats st;
    wal_get_stats(w, &st);
    assert_int_equal(st.records, GC_THREADS * GC_PER);
    /* Every write was followed by one fsync, and writes <= records. */
    assert_true(st.fsyncs <= st.records);
    print_message("group commit: %llu records, %llu fsyncs, %llu shared writes\n",
                  (unsigned long long)st.records, (unsigned long long)st.fsyncs,
                  (unsigned long long)st.group_commits);
    check_once(&com);
    assert_int_equal(wal_close(w, 0), 0);
    seen sn;
    seen_init(&sn);
    w = open_wal(dir, STORE_FSYNC_BATCH, 0, &sn, NULL);
    check_once(&sn);
    for (size_t i = 0; i < sn.n; i++) {
        assert_int_equal(sn.v[i].seq, com.v[i].seq);
        assert_string_equal(sn.v[i].body, com.v[i].body);
    }
    assert_int_equal(wal_close(w, UINT64_MAX), 0);
    assert_int_equal(count_segments(dir, NULL, 0), 0);
    seen_free(&sn);
    seen_free(&com);
    fs_rm_rf(dir);
    free(dir);
}

int main(void)
{
    braid_log_level = 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_replay_and_continue),
        cmocka_unit_test(test_torn_tail_every_offset),
        cmocka_unit_test(test_corrupt_middle),
        cmocka_unit_test(test_damage_table),
        cmocka_unit_test(test_write_fault),
        cmocka_unit_test(test_rotation_and_trim),
        cmocka_unit_test(test_always_policy),
        cmocka_unit_test(test_group_commit_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for src/store (store.c, maint.c, memtable.c): lookups from
 * memtables and parts, scans, flushes split by day, close/reopen, crashes
 * (replay, between rename and checkpoint, after a merge), merges keeping every
 * row exactly once, retention, the memory limit, flow control (appends wait
 * for the flush, nothing acknowledged is lost) and concurrent work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/internal.h"

#define T0 1700000000000000000ull /* 2023-11-14T22:13:20Z */
#define DAY 86400000000000ull

static char *mkdir_tmp(void)
{
    char *d = strdup("/tmp/braid-store-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_tmp(char *d)
{
    fs_rm_rf(d);
    free(d);
}

static store *open_store(const char *dir, bool bg, uint64_t memtable, uint64_t limit,
                         uint64_t retention)
{
    store_opts o;
    store_opts_default(&o);
    o.dir = dir;
    o.background = bg;
    o.fsync = STORE_FSYNC_NONE;
    if (memtable)
        o.memtable_bytes = memtable;
    if (limit)
        o.memory_limit = limit;
    o.retention_ns = retention;
    store *s = NULL;
    int rc = store_open(&o, &s);
    if (rc)
        fail_msg("store_open: %s", braid_strerror(rc));
    return s;
}

static void tid_of(trace_id_t *t, uint32_t k)
{
    memset(t, 0, sizeof *t);
    wr_u32le(t->b, k * 2654435761u);
    wr_u32le(t->b + 12, k);
}

/* Rows with ids [first, first+n): id i belongs to trace (i % ntr) + 1 and
 * carries i in a numeric field, so exactly-once is checkable. Times step by
 * `step` from t0. Every 5th log has no trace id. */
static void make_batch(model_batch *b, uint32_t first, uint32_t n, uint32_t ntr, uint64_t t0,
                       uint64_t step)
{
    model_batch_init(b);
    model_origin *o = model_batch_add_origin(b);
    o->service = BSLICE_LIT("checkout");
    o->scope_name = BSLICE_LIT("io.braid.test");
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = first + k;
        uint64_t t = t0 + (uint64_t)k * step;
        char txt[64];
        int tl = snprintf(txt, sizeof txt, "row %u of trace %u", i, i % ntr + 1);
        model_log *l = model_batch_add_log(b);
        l->origin = o;
        l->time_ns = t;
        l->observed_ns = t + 5;
        if (i % 5)
            tid_of(&l->trace_id, i % ntr + 1);
        l->severity_number = 9;
        l->severity_text = BSLICE_LIT("INFO");
        model_batch_keep(b, txt, (size_t)tl, &l->body);
        l->dropped_attrs = i;
        l->source = BSLICE_LIT("otlp");
        model_span *s = model_batch_add_span(b);
        s->origin = o;
        tid_of(&s->trace_id, i % ntr + 1);
        wr_u64le(s->span_id.b, i + 1);
        s->name = BSLICE_LIT("GET /checkout");
        s->start_ns = t;
        s->end_ns = t + 1000000;
        s->dropped_attrs = i;
        s->status_code = i % 3 == 0 ? 2 : 0;
        model_exemplar *e = model_batch_add_exemplar(b);
        e->origin = o;
        e->metric_name = BSLICE_LIT("http.server.duration");
        e->metric_type = METRIC_HISTOGRAM;
        e->time_ns = t;
        e->value_int = i;
        e->is_int = 1;
        tid_of(&e->trace_id, i % ntr + 1);
        e->bucket = -1;
        model_metric *m = model_batch_add_metric(b);
        m->origin = o;
        m->name = BSLICE_LIT("http.server.duration");
        m->type = METRIC_GAUGE;
        m->time_ns = t;
        m->value_int = i;
        m->is_int = 1;
    }
}

static void append_range(store *s, uint32_t first, uint32_t n, uint32_t ntr, uint64_t t0,
                         uint64_t step)
{
    model_batch b;
    make_batch(&b, first, n, ntr, t0, step);
    int rc = store_append(s, &b);
    if (rc)
        fail_msg("store_append: %s", braid_strerror(rc));
    model_batch_free(&b);
}

/* ---- exactly-once checks ---- */
typedef struct {
    signal_t sig;
    uint32_t n;
    uint8_t *hits;
    uint64_t rows, dups, out_of_range;
} tally;

static int tally_cb(const void *row, void *ud)
{
    tally *t = ud;
    uint64_t id = 0;
    switch (t->sig) {
    case SIGNAL_LOGS:
        id = ((const model_log *)row)->dropped_attrs;
        break;
    case SIGNAL_SPANS:
        id = ((const model_span *)row)->dropped_attrs;
        break;
    case SIGNAL_METRICS:
        id = (uint64_t)((const model_metric *)row)->value_int;
        break;
    case SIGNAL_EXEMPLARS:
        id = (uint64_t)((const model_exemplar *)row)->value_int;
        break;
    }
    t->rows++;
    if (id >= t->n) {
        t->out_of_range++;
        return 0;
    }
    if (t->hits[id]++)
        t->dups++;
    return 0;
}

/* Asserts that every signal holds ids [0, n) exactly once. */
static void check_all_once(store *s, uint32_t n)
{
    for (int sig = 0; sig < SIGNAL_COUNT; sig++) {
        tally t = {(signal_t)sig, n, calloc(n ? n : 1, 1), 0, 0, 0};
        assert_int_equal(store_scan(s, (signal_t)sig, 0, UINT64_MAX, tally_cb, &t), 0);
        if (t.rows != n || t.dups || t.out_of_range)
            fail_msg("%s: %llu rows (want %u), %llu duplicates", store_sig_dir((signal_t)sig),
                     (unsigned long long)t.rows, n, (unsigned long long)t.dups);
        for (uint32_t i = 0; i < n; i++)
            assert_int_equal(t.hits[i], 1);
        free(t.hits);
    }
    store_stats st;
    store_get_stats(s, &st);
    for (int sig = 0; sig < SIGNAL_COUNT; sig++)
        assert_int_equal(st.rows[sig], n);
}

/* Checks one trace: the rows with ids i where i % ntr + 1 == k, sorted. */
static void check_trace(store *s, uint32_t k, uint32_t n, uint32_t ntr)
{
    trace_id_t tid;
    tid_of(&tid, k);
    model_batch out;
    model_batch_init(&out);
    assert_int_equal(store_trace(s, &tid, &out), 0);
    uint32_t want = 0, want_logs = 0;
    for (uint32_t i = 0; i < n; i++)
        if (i % ntr + 1 == k) {
            want++;
            want_logs += i % 5 != 0;
        }
    if (out.nspans != want || out.nexemplars != want || out.nlogs != want_logs)
        fail_msg("trace %u: %zu spans %zu exemplars %zu logs, want %u %u %u", k, out.nspans,
                 out.nexemplars, out.nlogs, want, want, want_logs);
    assert_int_equal(out.nmetrics, 0);
    for (size_t i = 0; i < out.nspans; i++) {
        const model_span *sp = &out.spans[i];
        assert_memory_equal(sp->trace_id.b, tid.b, 16);
        assert_int_equal(sp->dropped_attrs % ntr + 1, k);
        assert_true(bslice_eq_cstr(sp->name, "GET /checkout"));
        assert_int_equal(sp->end_ns, sp->start_ns + 1000000);
        assert_int_equal(rd_u64le(sp->span_id.b), sp->dropped_attrs + 1);
        assert_non_null(sp->origin);
        assert_true(bslice_eq_cstr(sp->origin->service, "checkout"));
        assert_true(bslice_eq_cstr(sp->origin->scope_name, "io.braid.test"));
        if (i)
            assert_true(out.spans[i - 1].start_ns <= sp->start_ns);
    }
    for (size_t i = 0; i < out.nlogs; i++) {
        const model_log *l = &out.logs[i];
        char txt[64];
        snprintf(txt, sizeof txt, "row %u of trace %u", l->dropped_attrs, k);
        assert_true(bslice_eq_cstr(l->body, txt));
        assert_int_equal(l->observed_ns, l->time_ns + 5);
        assert_true(bslice_eq_cstr(l->origin->service, "checkout"));
        if (i)
            assert_true(out.logs[i - 1].time_ns <= l->time_ns);
    }
    for (size_t i = 1; i < out.nexemplars; i++)
        assert_true(out.exemplars[i - 1].time_ns <= out.exemplars[i].time_ns);
    model_batch_free(&out);
}

static size_t count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---- tests ---- */
static void test_trace_memtable_and_parts(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    store *s = open_store(dir, false, 0, 0, 0);
    append_range(s, 0, 300, 17, T0, 1000);
    for (uint32_t k = 1; k <= 17; k++)
        check_trace(s, k, 300, 17);
    store_stats st;
    store_get_stats(s, &st);
    assert_int_equal(st.memtable_rows[SIGNAL_LOGS], 300);
    assert_int_equal(st.parts[SIGNAL_LOGS], 0);

    assert_int_equal(store_flush(s), 0);
    store_get_stats(s, &st);
    assert_int_equal(st.memtable_rows[SIGNAL_SPANS], 0);
    assert_int_equal(st.parts[SIGNAL_SPANS], 1);
    assert_int_equal(st.flushes, 1);
    assert_true(st.part_bytes[SIGNAL_LOGS] > 0);
    for (uint32_t k = 1; k <= 17; k++)
        check_trace(s, k, 300, 17);

    /* Half in parts, half in the memtable: the union, no duplicates. */
    append_range(s, 300, 300, 17, T0 + 1000000000, 1000);
    for (uint32_t k = 1; k <= 17; k++)
        check_trace(s, k, 600, 17);
    check_all_once(s, 600);

    /* Unknown and zero ids: no rows, no error. */
    model_batch out;
    model_batch_init(&out);
    trace_id_t none;
    tid_of(&none, 999);
    assert_int_equal(store_trace(s, &none, &out), 0);
    memset(&none, 0, sizeof none);
    assert_int_equal(store_trace(s, &none, &out), 0);
    assert_int_equal(out.nlogs + out.nspans + out.nexemplars, 0);
    model_batch_free(&out);
    assert_int_equal(store_close(s), 0);
    rm_tmp(dir);
}

typedef struct {
    uint64_t n, stop_after;
} counter;

static int count_cb(const void *row, void *ud)
{
    (void)row;
    counter *c = ud;
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static uint64_t scan_count(store *s, signal_t sig, uint64_t a, uint64_t b)
{
    counter c = {0, 0};
    assert_int_equal(store_scan(s, sig, a, b, count_cb, &c), 0);
    return c.n;
}

static void test_scan_windows_and_days(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    store *s = open_store(dir, false, 0, 0, 0);
    /* 300 rows, one per hour from T0: they span 13 UTC days. */
    const uint64_t hour = 3600000000000ull;
    append_range(s, 0, 300, 10, T0, hour);
    for (int pass = 0; pass < 2; pass++) {
        for (int sig = 0; sig < SIGNAL_COUNT; sig++) {
            assert_int_equal(scan_count(s, (signal_t)sig, 0, UINT64_MAX), 300);
            assert_int_equal(scan_count(s, (signal_t)sig, T0, T0), 1);
            assert_int_equal(scan_count(s, (signal_t)sig, T0 + 10 * hour, T0 + 19 * hour), 10);
            assert_int_equal(scan_count(s, (signal_t)sig, T0 + 10 * hour + 1, T0 + 19 * hour), 9);
            assert_int_equal(scan_count(s, (signal_t)sig, T0 + 299 * hour, UINT64_MAX), 1);
            assert_int_equal(scan_count(s, (signal_t)sig, T0 + 300 * hour, UINT64_MAX), 0);
            assert_int_equal(scan_count(s, (signal_t)sig, 0, T0 - 1), 0);
            assert_int_equal(scan_count(s, (signal_t)sig, T0 + 5, T0 + 1), 0);
        }
        counter c = {0, 7};
        assert_int_equal(store_scan(s, SIGNAL_LOGS, 0, UINT64_MAX, count_cb, &c), 0);
        assert_int_equal(c.n, 7);
        assert_int_equal(store_flush(s), 0);
    }
    store_stats st;
    store_get_stats(s, &st);
    uint32_t d0 = row_day(T0), d1 = row_day(T0 + 299 * hour);
    for (int sig = 0; sig < SIGNAL_COUNT; sig++)
        assert_int_equal(st.parts[sig], d1 - d0 + 1);
    char path[4200], dn[16];
    day_name(d0, dn);
    assert_string_equal(dn, "2023-11-14");
    snprintf(path, sizeof path, "%s/parts/logs/%s", dir, dn);
    assert_int_equal(count_files(path), 1);
    assert_int_equal(store_scan(s, (signal_t)7, 0, 1, count_cb, NULL), BRAID_EINVAL);
    assert_int_equal(store_close(s), 0);
    rm_tmp(dir);
}

static void test_close_reopen(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    store *s = open_store(dir, true, 0, 0, 0);
    append_range(s, 0, 500, 31, T0, 1000);
    append_range(s, 500, 500, 31, T0, 1000);
    assert_int_equal(store_close(s), 0);
    char wal[4200];
    snprintf(wal, sizeof wal, "%s/wal", dir);
    assert_int_equal(count_files(wal), 0); /* a clean close trims the WAL */
    s = open_store(dir, true, 0, 0, 0);
    check_all_once(s, 1000);
    for (uint32_t k = 1; k <= 31; k += 3)
        check_trace(s, k, 1000, 31);
    /* More, then reopen again: sequence numbers continue above the checkpoint. */
    append_range(s, 1000, 200, 31, T0, 1000);
    assert_int_equal(store_close(s), 0);
    s = open_store(dir, false, 0, 0, 0);
    check_all_once(s, 1200);
    assert_int_equal(store_close(s), 0);
    rm_tmp(dir);

    /* A data directory whose parents do not exist yet. */
    dir = mkdir_tmp();
    char nested[4200];
    snprintf(nested, sizeof nested, "%s/a/b/braid-data/", dir);
    s = open_store(nested, false, 0, 0, 0);
    append_range(s, 0, 5, 2, T0, 1);
    assert_int_equal(store_close(s), 0);
    s = open_store(nested, false, 0, 0, 0);
    check_all_once(s, 5);
    assert_int_equal(store_close(s), 0);
    rm_tmp(dir);
}

/* The child appends (each append acknowledged) and dies without closing. */
static void crash_child(const char *dir, int phase)
{
    store_opts o;
    store_opts_default(&o);
    o.dir = dir;
    o.background = false;
    o.fsync = STORE_FSYNC_BATCH;
    store *s;
    if (store_open(&o, &s))
        _exit(10);
    for (uint32_t b = 0; b < 10; b++) {
        model_batch mb;
        make_batch(&mb, b * 100, 100, 13, T0 + b * DAY / 4, 1000);
        if (store_append(s, &mb))
            _exit(11);
        model_batch_free(&mb);
        if (phase == 1 && b == 4 && store_flush(s))
            _exit(12);
    }
    _exit(0);
}

static void run_crash(const char *dir, int phase)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        crash_child(dir, phase);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- the observer sees every row exactly once, across crashes ---- */
typedef struct {
    pthread_mutex_t mu;
    uint64_t rows, seq, loaded;
    bool out_of_order;
} cobs;

static int cobs_load(void *ud, bslice saved, uint64_t *covered)
{
    cobs *c = ud;
    c->rows = c->seq = 0;
    if (saved.n == 16) {
        c->rows = rd_u64le(saved.p);
        c->seq = rd_u64le(saved.p + 8);
    } else if (saved.n) {
        return BRAID_EFORMAT;
    }
    c->loaded = c->rows;
    *covered = c->seq;
    return 0;
}

static void cobs_observe(void *ud, uint64_t seq, const store_rows *r)
{
    cobs *c = ud;
    pthread_mutex_lock(&c->mu);
    if (seq <= c->seq)
        c->out_of_order = true;
    c->seq = seq;
    c->rows += r->nlogs + r->nspans + r->nmetrics + r->nexemplars;
    pthread_mutex_unlock(&c->mu);
}

static int cobs_save(void *ud, buf *out, uint64_t *covered)
{
    cobs *c = ud;
    pthread_mutex_lock(&c->mu);
    buf_put_u64le(out, c->rows);
    buf_put_u64le(out, c->seq);
    *covered = c->seq;
    pthread_mutex_unlock(&c->mu);
    return out->err ? BRAID_ENOMEM : 0;
}

static store *open_observed(const char *dir, cobs *c, store_observer *ob)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    *ob = (store_observer){.ud = c, .load = cobs_load, .observe = cobs_observe, .save = cobs_save};
    store_opts o;
    store_opts_default(&o);
    o.dir = dir;
    o.background = false;
    o.fsync = STORE_FSYNC_BATCH;
    o.observer = ob;
    store *s = NULL;
    if (store_open(&o, &s))
        return NULL;
    return s;
}

static uint64_t batch_rows(uint32_t b)
{
    model_batch mb;
    make_batch(&mb, b * 100, 100, 13, T0 + b * DAY / 4, 1000);
    uint64_t n = mb.nlogs + mb.nspans + mb.nmetrics + mb.nexemplars;
    model_batch_free(&mb);
    return n;
}

static void test_observer_exactly_once(void **state)
{
    (void)state;
    uint64_t expected = 0;
    for (uint32_t b = 0; b < 10; b++)
        expected += batch_rows(b);
    for (int phase = 0; phase < 2; phase++) {
        char *dir = mkdir_tmp();
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            cobs c;
            store_observer ob;
            store *s = open_observed(dir, &c, &ob);
            if (!s)
                _exit(10);
            for (uint32_t b = 0; b < 10; b++) {
                model_batch mb;
                make_batch(&mb, b * 100, 100, 13, T0 + b * DAY / 4, 1000);
                if (store_append(s, &mb))
                    _exit(11);
                model_batch_free(&mb);
                /* phase 1: parts and a saved state cover the first half */
                if (phase == 1 && b == 4 && store_flush(s))
                    _exit(12);
            }
            _exit(0); /* a crash: no close, no final save */
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        cobs c;
        store_observer ob;
        store *s = open_observed(dir, &c, &ob);
        assert_non_null(s);
        /* The saved state plus the replayed WAL: every row once. */
        assert_int_equal(c.rows, expected);
        assert_false(c.out_of_order);
        if (phase == 0)
            assert_int_equal(c.loaded, 0);
        assert_true(c.loaded <= expected);
        check_all_once(s, 1000);
        assert_int_equal(store_close(s), 0);
        /* After a clean close the state covers everything: nothing replays. */
        s = open_observed(dir, &c, &ob);
        assert_non_null(s);
        assert_int_equal(c.loaded, expected);
        assert_int_equal(c.rows, expected);
        /* New rows are observed live, after the acknowledgement. */
        append_range(s, 5000, 10, 3, T0, 1000);
        assert_int_equal(store_close(s), 0);
        assert_true(c.rows > expected);
        assert_false(c.out_of_order);
        rm_tmp(dir);
    }
}

static void test_replay_after_crash(void **state)
{
    (void)state;
    for (int phase = 0; phase < 2; phase++) {
        char *dir = mkdir_tmp();
        run_crash(dir, phase);
        store *s = open_store(dir, false, 0, 0, 0);
        store_stats st;
        store_get_stats(s, &st);
        /* phase 1 flushed the first 500 rows before dying */
        assert_int_equal(st.memtable_rows[SIGNAL_LOGS], phase ? 500 : 1000);
        check_all_once(s, 1000);
        for (uint32_t k = 1; k <= 13; k++)
            check_trace(s, k, 1000, 13);
        /* A second crash-free cycle keeps everything exactly once. */
        assert_int_equal(store_close(s), 0);
        s = open_store(dir, false, 0, 0, 0);
        check_all_once(s, 1000);
        assert_int_equal(store_close(s), 0);
        rm_tmp(dir);
    }
}

static int copy_tree(const char *from, const char *to)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -a '%s/.' '%s/'", from, to);
    return system(cmd);
}

/* Parts renamed into place but the checkpoint not yet moved: start-up must
 * delete them and replay the WAL, with no row lost or doubled. */
static void test_crash_between_part_and_checkpoint(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    store *s = open_store(dir, false, 0, 0, 0);
    append_range(s, 0, 400, 9, T0, 1000);
    assert_int_equal(store_flush(s), 0);
    append_range(s, 400, 400, 9, T0 + DAY, 1000);
    /* Snapshot of the directory as it is before the second flush. */
    char *before = mkdir_tmp();
    assert_int_equal(copy_tree(dir, before), 0);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_close(s), 0);
    /* Put the new parts (not the new checkpoint) into the old snapshot. */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -a '%s/parts/.' '%s/parts/'", dir, before);
    assert_int_equal(system(cmd), 0);
    s = open_store(before, false, 0, 0, 0);
    store_stats st;
    store_get_stats(s, &st);
    assert_int_equal(st.memtable_rows[SIGNAL_SPANS], 400); /* replayed, parts dropped */
    assert_int_equal(st.parts[SIGNAL_SPANS], 1);
    check_all_once(s, 800);
    assert_int_equal(store_close(s), 0);
    rm_tmp(before);
    rm_tmp(dir);
}

static void test_merge_every_row_once(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    store *s = open_store(dir, false, 0, 0, 0);
    const uint32_t per = 150, flushes = 20;
    for (uint32_t f = 0; f < flushes; f++) {
        append_range(s, f * per, per, 23, T0 + f * 1000000, 997);
        assert_int_equal(store_flush(s), 0);
    }
    store_stats st;
    store_get_stats(s, &st);
    assert_int_equal(st.parts[SIGNAL_LOGS], flushes);
    /* Keep copies of the inputs to simulate a crash after the merge. */
    char *saved = mkdir_tmp();
    assert_int_equal(copy_tree(dir, saved), 0);

    assert_int_equal(store_maintain(s), 0);
    store_get_stats(s, &st);
    for (int sig = 0; sig < SIGNAL_COUNT; sig++)
        assert_true(st.parts[sig] <= MERGE_TRIGGER);
    assert_true(atomic_load(&s->merges) >= 3);
    check_all_once(s, per * flushes);
    for (uint32_t k = 1; k <= 23; k++)
        check_trace(s, k, per * flushes, 23);
    /* Merged parts keep the trace-sorted order and the index is exact. */
    partset *ps = store_partset(s);
    for (size_t i = 0; i < ps->n[SIGNAL_SPANS]; i++) {
        part *p = ps->p[SIGNAL_SPANS][i];
        assert_int_equal(p->tx.nentries, 23);
    }
    partset_unref(ps);
    assert_int_equal(store_close(s), 0);

    /* Crash before the inputs were deleted: they come back alongside the
     * merged parts, and start-up removes them. */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -a '%s/parts/.' '%s/parts/'", saved, dir);
    assert_int_equal(system(cmd), 0);
    s = open_store(dir, false, 0, 0, 0);
    check_all_once(s, per * flushes);
    store_get_stats(s, &st);
    assert_true(st.parts[SIGNAL_LOGS] <= MERGE_TRIGGER);
    assert_int_equal(store_close(s), 0);
    rm_tmp(saved);
    rm_tmp(dir);
}

static void test_retention(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    uint64_t now = now_unix_ns();
    store *s = open_store(dir, false, 0, 0, 3 * DAY);
    append_range(s, 0, 100, 5, now - 10 * DAY, 1000);
    append_range(s, 100, 100, 5, now - 6 * DAY, 1000);
    append_range(s, 200, 100, 5, now - 1000000000ull, 1000);
    assert_int_equal(store_flush(s), 0);
    store_stats st;
    store_get_stats(s, &st);
    assert_int_equal(st.parts[SIGNAL_LOGS], 3);
    assert_int_equal(store_maintain(s), 0);
    store_get_stats(s, &st);
    for (int sig = 0; sig < SIGNAL_COUNT; sig++) {
        assert_int_equal(st.parts[sig], 1);
        assert_int_equal(st.rows[sig], 100);
        assert_int_equal(scan_count(s, (signal_t)sig, 0, UINT64_MAX), 100);
    }
    char path[4200], dn[16];
    day_name(row_day(now - 10 * DAY), dn);
    snprintf(path, sizeof path, "%s/parts/spans/%s", dir, dn);
    assert_false(fs_exists(path));
    snprintf(path, sizeof path, "%s/parts/spans", dir);
    assert_int_equal(count_files(path), 1);
    assert_int_equal(store_close(s), 0);
    rm_tmp(dir);
}

static void test_memory_limit(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    store *s = open_store(dir, false, 1 << 20, 256 << 10, 0);
    uint32_t next = 0;
    int rc = 0;
    for (;;) {
        assert_true(next < 100000);
        model_batch b;
        make_batch(&b, next, 50, 7, T0, 1000);
        rc = store_append(s, &b);
        model_batch_free(&b);
        if (rc)
            break;
        next += 50;
    }
    assert_int_equal(rc, BRAID_EBUSY);
    store_stats st;
    store_get_stats(s, &st);
    assert_true(st.memory_bytes > 256 << 10);
    assert_int_equal(st.rows[SIGNAL_LOGS], next); /* nothing from the refused batch */
    assert_int_equal(store_flush(s), 0);
    store_get_stats(s, &st);
    assert_int_equal(st.memory_bytes, 0);
    append_range(s, next, 50, 7, T0, 1000);
    check_all_once(s, next + 50);
    assert_int_equal(store_close(s), 0);
    rm_tmp(dir);
}

static void test_corrupt_checkpoint_refused(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    store *s = open_store(dir, false, 0, 0, 0);
    append_range(s, 0, 10, 3, T0, 1);
    assert_int_equal(store_close(s), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    FILE *f = fopen(path, "r+b");
    fseek(f, 17, SEEK_SET);
    fputc(0x55, f);
    fclose(f);
    store_opts o;
    store_opts_default(&o);
    o.dir = dir;
    o.background = false;
    assert_int_equal(store_open(&o, &s), BRAID_EFORMAT);
    assert_null(s);
    rm_tmp(dir);
}

static void test_missing_checkpoint_with_parts(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    store *s = open_store(dir, false, 0, 0, 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    assert_true(fs_exists(path)); /* written before any part */
    append_range(s, 0, 10, 3, T0, 1);
    assert_int_equal(store_close(s), 0);
    assert_int_equal(unlink(path), 0);
    store_opts o;
    store_opts_default(&o);
    o.dir = dir;
    o.background = false;
    assert_int_equal(store_open(&o, &s), BRAID_EFORMAT);
    snprintf(path, sizeof path, "%s/parts/logs", dir);
    assert_int_equal(count_files(path), 1); /* nothing was deleted */
    rm_tmp(dir);
}

static void test_quiet_memtable_flushed(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    store *s = open_store(dir, true, 0, 0, 0);
    atomic_store(&s->max_age_ns, 1000000); /* 1 ms */
    append_range(s, 0, 20, 3, T0, 1);
    store_stats st;
    for (int i = 0; i < 50; i++) {
        store_get_stats(s, &st);
        if (st.memtable_rows[SIGNAL_LOGS] == 0)
            break;
        usleep(100000);
    }
    assert_int_equal(st.memtable_rows[SIGNAL_LOGS], 0);
    assert_int_equal(st.parts[SIGNAL_LOGS], 1);
    check_all_once(s, 20);
    assert_int_equal(store_close(s), 0);
    rm_tmp(dir);
}

#define CT_WRITERS 6
#define CT_BATCHES 40
#define CT_PER 50

typedef struct {
    store *s;
    int id;
    int busy;
} ct_arg;

/* Worker threads cannot use cmocka's asserts; they record the first error. */
static pthread_mutex_t ct_mu = PTHREAD_MUTEX_INITIALIZER;
static char ct_error[256];

static void ct_fail(const char *fmt, ...)
{
    pthread_mutex_lock(&ct_mu);
    if (!ct_error[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ct_error, sizeof ct_error, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&ct_mu);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void *ct_writer(void *p)
{
    ct_arg *a = p;
    for (int b = 0; b < CT_BATCHES; b++) {
        model_batch mb;
        uint32_t first = (uint32_t)((a->id * CT_BATCHES + b) * CT_PER);
        make_batch(&mb, first, CT_PER, 37, T0 + (uint64_t)b * 1000000, 1000);
        int rc;
        while ((rc = store_append(a->s, &mb)) == BRAID_EBUSY) {
            a->busy++;
            usleep(1000);
        }
        if (rc)
            ct_fail("append: %s", braid_strerror(rc));
        model_batch_free(&mb);
    }
    return NULL;
}

static atomic_int ct_done;

static void *ct_reader(void *p)
{
    store *s = p;
    uint32_t k = 1;
    while (!ct_done) {
        trace_id_t tid;
        tid_of(&tid, k);
        model_batch out;
        model_batch_init(&out);
        int rc = store_trace(s, &tid, &out);
        if (rc)
            ct_fail("trace: %s", braid_strerror(rc));
        /* A row seen twice (memtable and part at once) would show here. */
        uint32_t *ids = malloc((out.nspans + 1) * sizeof *ids);
        for (size_t i = 0; i < out.nspans; i++)
            ids[i] = out.spans[i].dropped_attrs;
        qsort(ids, out.nspans, sizeof *ids, cmp_u32);
        for (size_t i = 1; i < out.nspans; i++)
            if (ids[i] == ids[i - 1])
                ct_fail("trace %u: span %u twice", k, ids[i]);
        free(ids);
        model_batch_free(&out);
        k = k % 37 + 1;
    }
    return NULL;
}

static void test_concurrent_append_lookup(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    /* Small memtables: many flushes and merges while writers and a reader run. */
    store *s = open_store(dir, true, 64 << 10, 4 << 20, 0);
    pthread_t w[CT_WRITERS], r;
    ct_arg args[CT_WRITERS];
    ct_done = 0;
    assert_int_equal(pthread_create(&r, NULL, ct_reader, s), 0);
    for (int i = 0; i < CT_WRITERS; i++) {
        args[i] = (ct_arg){s, i, 0};
        assert_int_equal(pthread_create(&w[i], NULL, ct_writer, &args[i]), 0);
    }
    for (int i = 0; i < CT_WRITERS; i++)
        pthread_join(w[i], NULL);
    ct_done = 1;
    pthread_join(r, NULL);
    if (ct_error[0])
        fail_msg("%s", ct_error);
    const uint32_t n = CT_WRITERS * CT_BATCHES * CT_PER;
    check_all_once(s, n);
    store_stats st;
    store_get_stats(s, &st);
    print_message("concurrent: %llu flushes, %llu parts of spans, %llu shared WAL writes\n",
                  (unsigned long long)st.flushes, (unsigned long long)st.parts[SIGNAL_SPANS],
                  (unsigned long long)st.group_commits);
    assert_true(st.flushes > 0);
    assert_int_equal(store_maintain(s), 0);
    check_all_once(s, n);
    for (uint32_t k = 1; k <= 37; k += 4)
        check_trace(s, k, n, 37);
    assert_int_equal(store_close(s), 0);
    s = open_store(dir, false, 0, 0, 0);
    check_all_once(s, n);
    assert_int_equal(store_close(s), 0);
    rm_tmp(dir);
}

/* Flow control: writers faster than the flush wait for it instead of
 * filling memory; what the memory limit refuses is retried; every
 * acknowledged row is there exactly once and memory never passed the
 * limit by more than a batch. */
#define FC_WRITERS 4
#define FC_BATCHES 150
#define FC_PER 40

typedef struct {
    store *s;
    int id;
    uint64_t busy;
} fc_arg;

static atomic_int fc_done;
static atomic_uint_fast64_t fc_max_mem;

static void *fc_writer(void *p)
{
    fc_arg *a = p;
    for (uint32_t k = 0; k < FC_BATCHES; k++) {
        uint32_t first = ((uint32_t)a->id * FC_BATCHES + k) * FC_PER;
        model_batch b;
        make_batch(&b, first, FC_PER, 37, T0 + (uint64_t)first * 1000, 1000);
        int rc;
        while ((rc = store_append(a->s, &b)) == BRAID_EBUSY) {
            a->busy++;
            usleep(1000);
        }
        model_batch_free(&b);
        if (rc)
            fail_msg("store_append: %s", braid_strerror(rc));
    }
    return NULL;
}

static void *fc_sampler(void *p)
{
    store *s = p;
    while (!atomic_load(&fc_done)) {
        store_stats st;
        store_get_stats(s, &st);
        if (st.memory_bytes > atomic_load(&fc_max_mem))
            atomic_store(&fc_max_mem, st.memory_bytes);
        usleep(200);
    }
    return NULL;
}

static void test_flow_control(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    const uint64_t limit = 2 << 20;
    store *s = open_store(dir, true, 32 << 10, limit, 0);
    pthread_t w[FC_WRITERS], smp;
    fc_arg args[FC_WRITERS];
    atomic_store(&fc_done, 0);
    atomic_store(&fc_max_mem, 0);
    assert_int_equal(pthread_create(&smp, NULL, fc_sampler, s), 0);
    for (int i = 0; i < FC_WRITERS; i++) {
        args[i] = (fc_arg){s, i, 0};
        assert_int_equal(pthread_create(&w[i], NULL, fc_writer, &args[i]), 0);
    }
    uint64_t busy = 0;
    for (int i = 0; i < FC_WRITERS; i++) {
        pthread_join(w[i], NULL);
        busy += args[i].busy;
    }
    atomic_store(&fc_done, 1);
    pthread_join(smp, NULL);
    store_stats st;
    store_get_stats(s, &st);
    print_message("flow control: %llu flushes, peak %llu bytes in memtables, %llu refusals\n",
                  (unsigned long long)st.flushes, (unsigned long long)atomic_load(&fc_max_mem),
                  (unsigned long long)busy);
    /* Appends wait once memtables hold 4 memtable sizes (128 KiB here), so
     * memory stays far below the limit: a few batches (well under 64 KiB
     * each) past that at most. */
    assert_true(atomic_load(&fc_max_mem) <= limit / 2);
    assert_true(st.flushes > 10);
    const uint32_t n = FC_WRITERS * FC_BATCHES * FC_PER;
    check_all_once(s, n);
    assert_int_equal(store_close(s), 0);
    s = open_store(dir, false, 0, 0, 0);
    check_all_once(s, n);
    assert_int_equal(store_close(s), 0);
    rm_tmp(dir);
}

int main(void)
{
    braid_log_level = 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_memtable_and_parts),
        cmocka_unit_test(test_scan_windows_and_days),
        cmocka_unit_test(test_close_reopen),
        cmocka_unit_test(test_replay_after_crash),
        cmocka_unit_test(test_observer_exactly_once),
        cmocka_unit_test(test_crash_between_part_and_checkpoint),
        cmocka_unit_test(test_merge_every_row_once),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_corrupt_checkpoint_refused),
        cmocka_unit_test(test_missing_checkpoint_with_parts),
        cmocka_unit_test(test_quiet_memtable_flushed),
        cmocka_unit_test(test_concurrent_append_lookup),
        cmocka_unit_test(test_flow_control),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

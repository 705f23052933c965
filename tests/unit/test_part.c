/* Unit tests for src/store/part.c and column.c: write/read round trip of
 * every column of every row type with exact field comparison, row group
 * boundaries by row count and by bytes, dictionary and plain string blocks,
 * order enforcement, CRC failure detection in every file, and malformed
 * column blocks (table-driven). Also the row codec round trip (rowcodec.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/internal.h"

/* ---- row fixtures ---- */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static bslice str(model_batch *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    bslice s;
    assert_int_equal(model_batch_keep(b, tmp, (size_t)n, &s), 0);
    return s;
}

static bslice attrs(model_batch *b, int k)
{
    buf t;
    buf_init(&t);
    size_t pos = av_begin_count(&t);
    av_put_key(&t, BSLICE_LIT("http.route"));
    av_put_str(&t, bslice_cstr(k % 2 ? "/checkout" : "/cart"));
    av_put_key(&t, BSLICE_LIT("n"));
    av_put_int(&t, k);
    av_end_count(&t, pos, 2);
    bslice s;
    assert_int_equal(model_batch_keep(b, t.p, t.n, &s), 0);
    buf_free(&t);
    return s;
}

static const model_origin *origin(model_batch *b, int k)
{
    model_origin *o = model_batch_add_origin(b);
    o->service = str(b, "svc-%d", k);
    o->resource_attrs = attrs(b, k + 100);
    o->resource_dropped = (uint32_t)k;
    o->resource_schema_url = str(b, "https://opentelemetry.io/schemas/1.%d", k);
    o->scope_name = str(b, "scope-%d", k);
    o->scope_version = k % 2 ? str(b, "v%d", k) : (bslice){NULL, 0};
    o->scope_attrs = k % 3 ? attrs(b, k) : (bslice){NULL, 0};
    o->scope_dropped = (uint32_t)(k * 3);
    o->scope_schema_url = (bslice){NULL, 0};
    return o;
}

static void tid_of(trace_id_t *t, uint64_t k)
{
    memset(t, 0, sizeof *t);
    if (k == 0)
        return;
    wr_u64le(t->b, k * 0x9E3779B97F4A7C15ull);
    wr_u64le(t->b + 8, k);
}

static void fill_log(model_batch *b, model_log *l, int i, const model_origin *const *os)
{
    l->origin = os[i % 3];
    l->time_ns = 1700000000000000000ull + (uint64_t)i * 1000003ull;
    l->observed_ns = i % 5 ? l->time_ns + 17 : l->time_ns - 1000; /* negative difference too */
    tid_of(&l->trace_id, i % 7 == 0 ? 0 : (uint64_t)(i % 13) + 1);
    wr_u64le(l->span_id.b, rnd());
    l->flags = i % 2;
    l->severity_number = (i % 24) - 3;
    l->severity_text = i % 4 ? str(b, "INFO") : (bslice){NULL, 0};
    l->body = str(b, "request %d handled in %d ms", i, i * 7 % 1000);
    l->attrs = attrs(b, i);
    l->dropped_attrs = (uint32_t)i;
    l->event_name = i % 9 ? (bslice){NULL, 0} : str(b, "evt");
    l->source = str(b, i % 2 ? "otlp" : "/var/log/app.log");
    l->id_form = (uint8_t)(i % 7);
    l->id_field = i % 3 ? (bslice){NULL, 0} : str(b, "trace_id");
}

static void fill_span(model_batch *b, model_span *s, int i, const model_origin *const *os)
{
    s->origin = os[i % 3];
    tid_of(&s->trace_id, (uint64_t)(i % 11) + 1);
    wr_u64le(s->span_id.b, rnd());
    wr_u64le(s->parent_span_id.b, i % 4 ? rnd() : 0);
    s->trace_state = i % 5 ? (bslice){NULL, 0} : str(b, "vendor=%d", i);
    s->flags = 0x101;
    s->name = str(b, "op-%d", i % 6);
    s->kind = i % 6;
    s->start_ns = 1700000000000000000ull + (uint64_t)i * 5000;
    s->end_ns = i % 10 ? s->start_ns + (uint64_t)i * 1000 : s->start_ns - 5; /* end < start */
    s->attrs = attrs(b, i);
    s->dropped_attrs = 1;
    s->events = str(b, "events-%d", i);
    s->dropped_events = 2;
    s->links = (bslice){NULL, 0};
    s->dropped_links = UINT32_MAX;
    s->status_code = i % 3;
    s->status_message = i % 3 == 2 ? str(b, "boom") : (bslice){NULL, 0};
}

static void fill_metric(model_batch *b, model_metric *m, int i, const model_origin *const *os)
{
    m->origin = os[i % 3];
    m->name = str(b, "http.server.duration");
    m->description = str(b, "desc");
    m->unit = str(b, "ms");
    m->type = (uint8_t)(i % 5 + 1);
    m->temporality = (uint8_t)(i % 3);
    m->monotonic = (uint8_t)(i % 2);
    m->is_int = (uint8_t)(i % 2);
    m->attrs = attrs(b, i % 4);
    m->start_ns = i % 2 ? 0 : 1600000000000000000ull;
    m->time_ns = 1700000000000000000ull + (uint64_t)i * 1000000000ull;
    m->flags = 0;
    m->value_double = i % 7 ? i * 1.5 : -0.0;
    m->value_int = i % 2 ? INT64_MIN + i : INT64_MAX - i;
    m->payload = i % 4 == 3 ? str(b, "payload-%d", i) : (bslice){NULL, 0};
    m->metadata = (bslice){NULL, 0};
}

static void fill_exemplar(model_batch *b, model_exemplar *e, int i, const model_origin *const *os)
{
    e->origin = os[i % 3];
    e->metric_name = str(b, "latency");
    e->metric_type = METRIC_HISTOGRAM;
    e->series_attrs = attrs(b, i % 3);
    e->time_ns = 1700000000000000000ull + (uint64_t)i;
    e->is_int = 0;
    e->value_double = 1.0 / (i + 1);
    e->value_int = -i;
    tid_of(&e->trace_id, (uint64_t)i + 1);
    wr_u64le(e->span_id.b, rnd());
    e->filtered_attrs = attrs(b, i);
    e->bucket = i % 5 - 1;
}

static void batch_of(model_batch *b, int n)
{
    model_batch_init(b);
    const model_origin *os[3] = {origin(b, 0), origin(b, 1), origin(b, 2)};
    for (int i = 0; i < n; i++)
        fill_log(b, model_batch_add_log(b), i, os);
    for (int i = 0; i < n; i++)
        fill_span(b, model_batch_add_span(b), i, os);
    for (int i = 0; i < n; i++)
        fill_metric(b, model_batch_add_metric(b), i, os);
    for (int i = 0; i < n; i++)
        fill_exemplar(b, model_batch_add_exemplar(b), i, os);
}

/* ---- comparison ---- */
#define EQ_S(a, b) assert_true(bslice_eq((a), (b)))

static void eq_origin(const model_origin *a, const model_origin *b)
{
    assert_non_null(a);
    assert_non_null(b);
    EQ_S(a->service, b->service);
    EQ_S(a->resource_attrs, b->resource_attrs);
    assert_int_equal(a->resource_dropped, b->resource_dropped);
    EQ_S(a->resource_schema_url, b->resource_schema_url);
    EQ_S(a->scope_name, b->scope_name);
    EQ_S(a->scope_version, b->scope_version);
    EQ_S(a->scope_attrs, b->scope_attrs);
    assert_int_equal(a->scope_dropped, b->scope_dropped);
    EQ_S(a->scope_schema_url, b->scope_schema_url);
}

static void eq_row(signal_t sig, const void *x, const void *y)
{
    switch (sig) {
    case SIGNAL_LOGS: {
        const model_log *a = x, *b = y;
        eq_origin(a->origin, b->origin);
        assert_int_equal(a->time_ns, b->time_ns);
        assert_int_equal(a->observed_ns, b->observed_ns);
        assert_memory_equal(a->trace_id.b, b->trace_id.b, 16);
        assert_memory_equal(a->span_id.b, b->span_id.b, 8);
        assert_int_equal(a->flags, b->flags);
        assert_int_equal(a->severity_number, b->severity_number);
        EQ_S(a->severity_text, b->severity_text);
        EQ_S(a->body, b->body);
        EQ_S(a->attrs, b->attrs);
        assert_int_equal(a->dropped_attrs, b->dropped_attrs);
        EQ_S(a->event_name, b->event_name);
        EQ_S(a->source, b->source);
        assert_int_equal(a->id_form, b->id_form);
        EQ_S(a->id_field, b->id_field);
        break;
    }
    case SIGNAL_SPANS: {
        const model_span *a = x, *b = y;
        eq_origin(a->origin, b->origin);
        assert_memory_equal(a->trace_id.b, b->trace_id.b, 16);
        assert_memory_equal(a->span_id.b, b->span_id.b, 8);
        assert_memory_equal(a->parent_span_id.b, b->parent_span_id.b, 8);
        EQ_S(a->trace_state, b->trace_state);
        assert_int_equal(a->flags, b->flags);
        EQ_S(a->name, b->name);
        assert_int_equal(a->kind, b->kind);
        assert_int_equal(a->start_ns, b->start_ns);
        assert_int_equal(a->end_ns, b->end_ns);
        EQ_S(a->attrs, b->attrs);
        assert_int_equal(a->dropped_attrs, b->dropped_attrs);
        EQ_S(a->events, b->events);
        assert_int_equal(a->dropped_events, b->dropped_events);
        EQ_S(a->links, b->links);
        assert_int_equal(a->dropped_links, b->dropped_links);
        assert_int_equal(a->status_code, b->status_code);
        EQ_S(a->status_message, b->status_message);
        break;
    }
    case SIGNAL_METRICS: {
        const model_metric *a = x, *b = y;
        eq_origin(a->origin, b->origin);
        EQ_S(a->name, b->name);
        EQ_S(a->description, b->description);
        EQ_S(a->unit, b->unit);
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->temporality, b->temporality);
        assert_int_equal(a->monotonic, b->monotonic);
        assert_int_equal(a->is_int, b->is_int);
        EQ_S(a->attrs, b->attrs);
        assert_int_equal(a->start_ns, b->start_ns);
        assert_int_equal(a->time_ns, b->time_ns);
        assert_int_equal(a->flags, b->flags);
        assert_memory_equal(&a->value_double, &b->value_double, 8);
        assert_true(a->value_int == b->value_int);
        EQ_S(a->payload, b->payload);
        EQ_S(a->metadata, b->metadata);
        break;
    }
    case SIGNAL_EXEMPLARS: {
        const model_exemplar *a = x, *b = y;
        eq_origin(a->origin, b->origin);
        EQ_S(a->metric_name, b->metric_name);
        assert_int_equal(a->metric_type, b->metric_type);
        EQ_S(a->series_attrs, b->series_attrs);
        assert_int_equal(a->time_ns, b->time_ns);
        assert_int_equal(a->is_int, b->is_int);
        assert_memory_equal(&a->value_double, &b->value_double, 8);
        assert_true(a->value_int == b->value_int);
        assert_memory_equal(a->trace_id.b, b->trace_id.b, 16);
        assert_memory_equal(a->span_id.b, b->span_id.b, 8);
        EQ_S(a->filtered_attrs, b->filtered_attrs);
        assert_int_equal(a->bucket, b->bucket);
        break;
    }
    }
}

static const void *batch_row(const model_batch *b, signal_t sig, size_t i)
{
    switch (sig) {
    case SIGNAL_LOGS:
        return &b->logs[i];
    case SIGNAL_SPANS:
        return &b->spans[i];
    case SIGNAL_METRICS:
        return &b->metrics[i];
    case SIGNAL_EXEMPLARS:
        return &b->exemplars[i];
    }
    return NULL;
}

static size_t batch_n(const model_batch *b, signal_t sig)
{
    size_t n[] = {b->nlogs, b->nspans, b->nmetrics, b->nexemplars};
    return n[sig];
}

static int cmp_sig;
static int cmp_ptr(const void *a, const void *b)
{
    return row_cmp((signal_t)cmp_sig, *(const void *const *)a, *(const void *const *)b);
}

/* Sorted row pointers of one signal of a batch (caller frees). */
static const void **sorted(const model_batch *b, signal_t sig, size_t *n)
{
    *n = batch_n(b, sig);
    const void **v = malloc((*n ? *n : 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++)
        v[i] = batch_row(b, sig, i);
    cmp_sig = sig;
    qsort(v, *n, sizeof *v, cmp_ptr);
    return v;
}

static char *mkdir_tmp(void)
{
    char *d = strdup("/tmp/braid-part-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

/* Writes rows into dir/<lo>-<hi> and opens the part. */
static part *write_part(const char *dir, signal_t sig, const void **rows, size_t n)
{
    char path[4200], name[64];
    part_name_make(3, 9, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(fs_mkdir(path, NULL), 0);
    part_writer *w;
    assert_int_equal(part_writer_open(path, sig, 3, 9, &w), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(part_writer_add(w, rows[i]), 0);
    uint64_t got;
    assert_int_equal(part_writer_finish(w, &got), 0);
    assert_int_equal(got, n);
    part *p;
    assert_int_equal(part_open(path, sig, 19675, &p), 0);
    return p;
}

static void check_part(part *p, signal_t sig, const void **rows, size_t n)
{
    assert_int_equal(p->nrows, n);
    assert_int_equal(p->seq_lo, 3);
    assert_int_equal(p->seq_hi, 9);
    part_reader *rd = part_reader_new();
    size_t k = 0;
    uint64_t mn = UINT64_MAX, mx = 0;
    for (uint32_t g = 0; g < p->ngroups; g++) {
        assert_int_equal(part_reader_load(rd, p, g), 0);
        assert_int_equal(part_reader_rows(rd), p->groups[g].nrows);
        assert_int_equal(p->groups[g].first_row, k);
        for (uint32_t i = 0; i < p->groups[g].nrows; i++, k++) {
            const void *row;
            assert_int_equal(part_reader_row(rd, i, &row), 0);
            eq_row(sig, row, rows[k]);
            uint64_t t = row_time(sig, rows[k]);
            assert_true(t >= p->groups[g].min_time && t <= p->groups[g].max_time);
            mn = t < mn ? t : mn;
            mx = t > mx ? t : mx;
        }
    }
    assert_int_equal(k, n);
    assert_int_equal(p->min_time, mn);
    assert_int_equal(p->max_time, mx);
    part_reader_free(rd);
}

static void test_round_trip_every_signal(void **state)
{
    (void)state;
    model_batch b;
    batch_of(&b, 2500);
    for (int sig = 0; sig < SIGNAL_COUNT; sig++) {
        char *dir = mkdir_tmp();
        size_t n;
        const void **rows = sorted(&b, (signal_t)sig, &n);
        part *p = write_part(dir, (signal_t)sig, rows, n);
        /* 2500 rows: groups of 1024, 1024, 452 */
        assert_int_equal(p->ngroups, 3);
        assert_int_equal(p->groups[0].nrows, 1024);
        assert_int_equal(p->groups[1].nrows, 1024);
        assert_int_equal(p->groups[2].nrows, 452);
        assert_int_equal(p->has_tidx, sig != SIGNAL_METRICS);
        check_part(p, (signal_t)sig, rows, n);
        part_unref(p);
        free(rows);
        fs_rm_rf(dir);
        free(dir);
    }
    model_batch_free(&b);
}

static void test_single_row_and_byte_boundaries(void **state)
{
    (void)state;
    model_batch b;
    batch_of(&b, 1);
    char *dir = mkdir_tmp();
    size_t n;
    const void **rows = sorted(&b, SIGNAL_LOGS, &n);
    part *p = write_part(dir, SIGNAL_LOGS, rows, n);
    assert_int_equal(p->ngroups, 1);
    check_part(p, SIGNAL_LOGS, rows, n);
    part_unref(p);
    free(rows);
    fs_rm_rf(dir);
    free(dir);
    model_batch_free(&b);

    /* 100 KiB bodies: groups are cut by bytes long before 1024 rows. */
    model_batch_init(&b);
    const model_origin *os[3] = {origin(&b, 0), origin(&b, 1), origin(&b, 2)};
    char *big = malloc(100 << 10);
    for (int i = 0; i < 10; i++) {
        model_log *l = model_batch_add_log(&b);
        fill_log(&b, l, i, os);
        memset(big, 'a' + i, 100 << 10);
        assert_int_equal(model_batch_keep(&b, big, 100 << 10, &l->body), 0);
    }
    free(big);
    dir = mkdir_tmp();
    rows = sorted(&b, SIGNAL_LOGS, &n);
    p = write_part(dir, SIGNAL_LOGS, rows, n);
    assert_int_equal(p->ngroups, 4); /* 3 + 3 + 3 + 1 rows: >= 256 KiB closes a group */
    check_part(p, SIGNAL_LOGS, rows, n);
    part_unref(p);
    free(rows);
    fs_rm_rf(dir);
    free(dir);
    model_batch_free(&b);
}

static void test_writer_rejects_disorder(void **state)
{
    (void)state;
    model_batch b;
    batch_of(&b, 20);
    char *dir = mkdir_tmp();
    size_t n;
    const void **rows = sorted(&b, SIGNAL_SPANS, &n);
    part_writer *w;
    assert_int_equal(part_writer_open(dir, SIGNAL_SPANS, 1, 1, &w), 0);
    assert_int_equal(part_writer_add(w, rows[5]), 0);
    assert_int_equal(part_writer_add(w, rows[4]), BRAID_EINVAL);
    part_writer_abort(w);
    /* An empty part is refused. */
    assert_int_equal(part_writer_open(dir, SIGNAL_SPANS, 1, 1, &w), 0);
    assert_int_equal(part_writer_finish(w, NULL), BRAID_EINVAL);
    free(rows);
    fs_rm_rf(dir);
    free(dir);
    model_batch_free(&b);
}

static void flip(const char *path, size_t off)
{
    uint8_t *p;
    size_t n;
    assert_int_equal(fs_read_file(path, &p, &n), 0);
    assert_true(off < n);
    p[off] ^= 0x10;
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
    free(p);
}

static void test_crc_failures(void **state)
{
    (void)state;
    model_batch b;
    batch_of(&b, 3000);
    size_t n;
    const void **rows = sorted(&b, SIGNAL_LOGS, &n);
    char *dir = mkdir_tmp();
    part *p = write_part(dir, SIGNAL_LOGS, rows, n);
    char path[4300];
    snprintf(path, sizeof path, "%s", p->path);
    /* Damage a byte inside block (group 1, column 7: body). */
    const part_block *blk = &p->blocks[1 * p->ncols + 7];
    size_t off = blk->off + blk->clen / 2;
    part_unref(p);
    char f[4400];
    snprintf(f, sizeof f, "%s/cols", path);
    flip(f, off);
    assert_int_equal(part_open(path, SIGNAL_LOGS, 0, &p), 0);
    part_reader *rd = part_reader_new();
    assert_int_equal(part_reader_load_rows(rd, p, 0, 10, 20), 0);
    const void *row;
    assert_int_equal(part_reader_row(rd, 9, &row), BRAID_EINVAL);
    assert_int_equal(part_reader_row(rd, 10, &row), 0);
    eq_row(SIGNAL_LOGS, row, rows[10]);
    assert_int_equal(part_reader_row(rd, 19, &row), 0);
    eq_row(SIGNAL_LOGS, row, rows[19]);
    assert_int_equal(part_reader_row(rd, 20, &row), BRAID_EINVAL);
    assert_int_equal(part_reader_load(rd, p, 0), 0);
    assert_int_equal(part_reader_load(rd, p, 1), BRAID_EFORMAT);
    assert_int_equal(part_reader_rows(rd), 0);
    assert_int_equal(part_reader_load(rd, p, 2), 0);
    part_reader_free(rd);
    part_unref(p);
    flip(f, off);

    /* Any byte of meta. */
    snprintf(f, sizeof f, "%s/meta", path);
    flip(f, 20);
    assert_int_equal(part_open(path, SIGNAL_LOGS, 0, &p), BRAID_EFORMAT);
    flip(f, 20);
    /* The wrong signal. */
    assert_int_equal(part_open(path, SIGNAL_SPANS, 0, &p), BRAID_EFORMAT);

    /* Trace index: the bloom (header CRC) and a page (page CRC). */
    snprintf(f, sizeof f, "%s/tidx", path);
    flip(f, 70);
    assert_int_equal(part_open(path, SIGNAL_LOGS, 0, &p), BRAID_EFORMAT);
    flip(f, 70);
    assert_int_equal(part_open(path, SIGNAL_LOGS, 0, &p), 0);
    size_t page0 = (size_t)(p->tx.pages - p->tx.map);
    const model_log *l0 = rows[0];
    trace_id_t tid = l0->trace_id;
    uint32_t first, cnt;
    assert_int_equal(tidx_lookup(&p->tx, &tid, &first, &cnt), 1);
    assert_int_equal(first, 0);
    part_unref(p);
    flip(f, page0 + 3);
    assert_int_equal(part_open(path, SIGNAL_LOGS, 0, &p), 0);
    assert_int_equal(tidx_lookup(&p->tx, &tid, &first, &cnt), BRAID_EFORMAT);
    part_unref(p);

    /* A truncated cols file. */
    flip(f, page0 + 3);
    snprintf(f, sizeof f, "%s/cols", path);
    assert_int_equal(truncate(f, 100), 0);
    assert_int_equal(part_open(path, SIGNAL_LOGS, 0, &p), BRAID_EFORMAT);

    free(rows);
    fs_rm_rf(dir);
    free(dir);
    model_batch_free(&b);
}

/* Malformed column blocks, one row per reason. */
static void test_col_decode_table(void **state)
{
    (void)state;
    struct {
        const char *why;
        uint8_t kind;
        uint8_t bytes[16];
        size_t n;
        uint32_t nrows;
        int rc;
    } cases[] = {
        {"time: two deltas", CK_TIME, {0x04, 0x02}, 2, 2, 0},
        {"time: missing a row", CK_TIME, {0x04}, 1, 2, BRAID_EFORMAT},
        {"time: trailing byte", CK_TIME, {0x04, 0x02, 0x00}, 3, 2, BRAID_EFORMAT},
        {"u8: 255 fits", CK_U8, {0xff, 0x01}, 2, 1, 0},
        {"u8: 256 does not", CK_U8, {0x80, 0x02}, 2, 1, BRAID_EFORMAT},
        {"i32: out of range", CK_I32, {0x80, 0x80, 0x80, 0x80, 0x10}, 5, 1, BRAID_EFORMAT},
        {"f64: short", CK_F64, {1, 2, 3, 4, 5, 6, 7}, 7, 1, BRAID_EFORMAT},
        {"id8: one run of 2", CK_ID8, {1, 2, 1, 2, 3, 4, 5, 6, 7, 8}, 10, 2, 0},
        {"id8: runs short of rows", CK_ID8, {1, 1, 1, 2, 3, 4, 5, 6, 7, 8}, 10, 2, BRAID_EFORMAT},
        {"id8: run of zero", CK_ID8, {1, 0, 1, 2, 3, 4, 5, 6, 7, 8}, 10, 0, BRAID_EFORMAT},
        {"id8: run past rows", CK_ID8, {1, 3, 1, 2, 3, 4, 5, 6, 7, 8}, 10, 2, BRAID_EFORMAT},
        {"bytes: plain", CK_BYTES, {0, 1, 'a', 0}, 4, 2, 0},
        {"bytes: length past end", CK_BYTES, {0, 5, 'a'}, 3, 1, BRAID_EFORMAT},
        {"bytes: dict", CK_BYTES, {1, 1, 1, 'a', 0, 0}, 6, 2, 0},
        {"bytes: dict index out of range", CK_BYTES, {1, 1, 1, 'a', 0, 1}, 6, 2, BRAID_EFORMAT},
        {"bytes: dict larger than rows", CK_BYTES, {1, 3, 0, 0, 0, 0}, 6, 1, BRAID_EFORMAT},
        {"bytes: unknown mode", CK_BYTES, {2, 0}, 2, 1, BRAID_EFORMAT},
        {"bytes: empty block with rows", CK_BYTES, {0}, 0, 1, BRAID_EFORMAT},
    };
    colval out[8];
    bslice dict[8];
    buf recon;
    buf_init(&recon);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        col_desc d = {cases[i].kind, 0, 0};
        int rc = col_decode(&d, cases[i].bytes, cases[i].n, cases[i].nrows, out, dict, &recon, 0,
                            UINT32_MAX);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %d, want %d", cases[i].why, rc, cases[i].rc);
    }
    buf_free(&recon);
}

static void test_dict_and_plain_blocks(void **state)
{
    (void)state;
    col_desc d = {CK_BYTES, offsetof(model_log, body), 0};
    colw c;
    colw_init(&c);
    model_log l = {0};
    for (int i = 0; i < 100; i++) {
        l.body = bslice_cstr(i % 2 ? "repeated value" : "other value");
        assert_int_equal(colw_add(&c, &d, &l, (bslice){0}), 0);
    }
    buf out;
    buf_init(&out);
    assert_int_equal(colw_finish(&c, &d, &out), 0);
    assert_int_equal(out.p[0], 1); /* dictionary: 2 distinct of 100 */
    colval v[100];
    bslice dict[100];
    assert_int_equal(col_decode(&d, out.p, out.n, 100, v, dict, NULL, 0, 100), 0);
    for (int i = 0; i < 100; i++)
        assert_true(bslice_eq_cstr(v[i].s, i % 2 ? "repeated value" : "other value"));
    colw_reset(&c);
    buf_reset(&out);
    char tmp[32];
    for (int i = 0; i < 100; i++) {
        snprintf(tmp, sizeof tmp, "distinct-%d", i);
        l.body = bslice_cstr(tmp);
        assert_int_equal(colw_add(&c, &d, &l, (bslice){0}), 0);
    }
    assert_int_equal(colw_finish(&c, &d, &out), 0);
    assert_int_equal(out.p[0], 0); /* plain */
    assert_int_equal(col_decode(&d, out.p, out.n, 100, v, dict, NULL, 0, 100), 0);
    snprintf(tmp, sizeof tmp, "distinct-%d", 57);
    assert_true(bslice_eq_cstr(v[57].s, tmp));
    buf_free(&out);
    colw_free(&c);
}

/* Encodes one attrs list: n entries key_i = value (strings or nested). */
static void put_attrs(buf *b, const char *const *keys, size_t n, int variant)
{
    size_t pos = av_begin_count(b);
    for (size_t i = 0; i < n; i++) {
        av_put_key(b, bslice_cstr(keys[i]));
        if (variant % 3 == 0) {
            size_t a = av_begin_array(b);
            av_put_int(b, variant);
            av_put_str(b, BSLICE_LIT("x"));
            av_end_count(b, a, 2);
        } else if (variant % 3 == 1) {
            av_put_double(b, variant * 0.5);
        } else {
            char v[32];
            snprintf(v, sizeof v, "value-%d", variant % 4);
            av_put_str(b, bslice_cstr(v));
        }
    }
    av_end_count(b, pos, (uint32_t)n);
}

static void attrs_round_trip(bslice *rows, uint32_t n, uint8_t want_mode)
{
    col_desc d = {CK_ATTRS, offsetof(model_log, attrs), 0};
    colw c;
    colw_init(&c);
    for (uint32_t i = 0; i < n; i++) {
        model_log l = {0};
        l.attrs = rows[i];
        assert_int_equal(colw_add(&c, &d, &l, (bslice){0}), 0);
    }
    buf out, recon;
    buf_init(&out);
    buf_init(&recon);
    assert_int_equal(colw_finish(&c, &d, &out), 0);
    assert_int_equal(out.p[0], want_mode);
    colval *v = calloc(n, sizeof *v);
    bslice *dict = calloc(n, sizeof *dict);
    assert_int_equal(col_decode(&d, out.p, out.n, n, v, dict, &recon, 0, n), 0);
    for (uint32_t i = 0; i < n; i++) {
        if (!bslice_eq(v[i].s, rows[i]))
            fail_msg("row %u: %zu bytes back, %zu written", i, v[i].s.n, rows[i].n);
    }
    /* Only a range rebuilt (what a trace lookup asks for). */
    uint32_t from = n / 3, to = 2 * n / 3;
    assert_int_equal(col_decode(&d, out.p, out.n, n, v, dict, &recon, from, to), 0);
    for (uint32_t i = 0; i < n; i++) {
        if (i >= from && i < to)
            assert_true(bslice_eq(v[i].s, rows[i]));
        else if (want_mode == 2)
            assert_int_equal(v[i].s.n, 0);
    }
    /* Every truncation of the block is refused, never read past. */
    for (size_t cut = 0; cut < out.n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, out.p, cut);
        assert_int_not_equal(col_decode(&d, copy, cut, n, v, dict, &recon, 0, n), 0);
        free(copy);
    }
    free(v);
    free(dict);
    buf_free(&out);
    buf_free(&recon);
    colw_free(&c);
}

static void test_attrs_blocks(void **state)
{
    (void)state;
    static const char *const k1[] = {"http.method", "http.route", "user.id"};
    static const char *const k2[] = {"user.id", "http.method"};
    static const char *const k3[] = {"dup", "dup", "dup"};
    enum { N = 60 };
    buf enc[N];
    bslice rows[N];
    for (int i = 0; i < N; i++) {
        buf_init(&enc[i]);
        switch (i % 6) {
        case 0:
            put_attrs(&enc[i], k1, 3, i);
            break;
        case 1:
            put_attrs(&enc[i], k2, 2, i);
            break;
        case 2:
            put_attrs(&enc[i], k3, 3, i);
            break; /* a key repeated in one row */
        case 3:
            put_attrs(&enc[i], NULL, 0, i);
            break; /* count 0: 4 bytes */
        case 4:
            break; /* no bytes at all */
        case 5:
            put_attrs(&enc[i], k1, 1, i);
            break;
        }
        rows[i] = (bslice){enc[i].p, enc[i].n};
    }
    attrs_round_trip(rows, N, 2);
    /* One malformed row sends the whole block to plain mode, still exact. */
    uint8_t junk[] = {3, 0, 0, 0, 1, 0, 0, 0, 'k'};
    rows[7] = (bslice){junk, sizeof junk};
    attrs_round_trip(rows, N, 0);
    for (int i = 0; i < N; i++)
        buf_free(&enc[i]);

    /* Malformed split blocks, one row per reason (2 rows each). */
    struct {
        const char *why;
        uint8_t bytes[32];
        size_t n;
        int rc;
    } cases[] = {
        {"one key, one shape, both rows, dict values",
         {2, 1, 1, 'k', 1, 1, 0, 1, 1, 1, 1, 1, 9, 0, 0},
         15,
         0},
        {"shape names key 1 of 1", {2, 1, 1, 'k', 1, 1, 1, 1, 1, 0, 1, 2, 9, 0}, 14, BRAID_EFORMAT},
        {"row names shape 2 of 1", {2, 1, 1, 'k', 1, 1, 0, 2, 1, 0, 1, 2, 9, 0}, 14, BRAID_EFORMAT},
        {"more shapes than rows", {2, 1, 1, 'k', 3, 0, 0, 0, 1, 1}, 10, BRAID_EFORMAT},
        {"values missing", {2, 1, 1, 'k', 1, 1, 0, 1, 1}, 9, BRAID_EFORMAT},
        {"a trailing byte", {2, 1, 1, 'k', 1, 1, 0, 1, 1, 0, 1, 2, 1, 2, 7}, 15, BRAID_EFORMAT},
        {"no bytes for both rows", {2, 0, 0, 0, 0}, 5, 0},
    };
    col_desc d = {CK_ATTRS, 0, 0};
    colval out[2];
    bslice dict[2];
    buf recon;
    buf_init(&recon);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = col_decode(&d, cases[i].bytes, cases[i].n, 2, out, dict, &recon, 0, UINT32_MAX);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %d, want %d", cases[i].why, rc, cases[i].rc);
    }
    /* The first case rebuilds {k: 0x09} for both rows. */
    assert_int_equal(col_decode(&d, cases[0].bytes, cases[0].n, 2, out, dict, &recon, 0, 2), 0);
    uint8_t want[] = {1, 0, 0, 0, 1, 0, 0, 0, 'k', 9};
    assert_int_equal(out[1].s.n, sizeof want);
    assert_memory_equal(out[1].s.p, want, sizeof want);
    buf_free(&recon);
}

static void test_rowcodec_round_trip(void **state)
{
    (void)state;
    model_batch b;
    batch_of(&b, 40);
    b.logs[3].origin = NULL; /* a row without origin decodes to an empty one */
    buf enc;
    buf_init(&enc);
    assert_int_equal(rowcodec_encode(&b, &enc), 0);
    rc_counts c;
    assert_int_equal(rowcodec_count(enc.p, enc.n, &c), 0);
    assert_int_equal(c.norigins, 3);
    assert_int_equal(c.n[SIGNAL_LOGS], 40);
    assert_int_equal(c.n[SIGNAL_EXEMPLARS], 40);
    model_origin origins[3];
    rc_rows r = {.origins = origins};
    for (int s = 0; s < SIGNAL_COUNT; s++)
        r.rows[s] = calloc(40, row_size((signal_t)s));
    assert_int_equal(rowcodec_decode(enc.p, enc.n, &c, &r), 0);
    for (int s = 0; s < SIGNAL_COUNT; s++)
        for (size_t i = 0; i < 40; i++) {
            const void *got = (const uint8_t *)r.rows[s] + i * row_size((signal_t)s);
            if (s == SIGNAL_LOGS && i == 3) {
                assert_ptr_equal(((const model_log *)got)->origin, &store_empty_origin);
                continue;
            }
            eq_row((signal_t)s, got, batch_row(&b, (signal_t)s, i));
        }
    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < enc.n; cut += 7) {
        rc_counts c2;
        if (rowcodec_count(enc.p, cut, &c2) == 0) {
            int rc = rowcodec_decode(enc.p, cut, &c2, &r);
            assert_int_equal(rc, BRAID_EFORMAT);
        }
    }
    for (int s = 0; s < SIGNAL_COUNT; s++)
        free(r.rows[s]);
    buf_free(&enc);
    model_batch_free(&b);
}

static void test_names(void **state)
{
    (void)state;
    char name[64];
    part_name_make(0x10, 0xabc, name);
    assert_string_equal(name, "0000000000000010-0000000000000abc");
    uint64_t lo, hi;
    assert_int_equal(part_name_parse(name, &lo, &hi), 0);
    assert_int_equal(lo, 0x10);
    assert_int_equal(hi, 0xabc);
    assert_int_equal(part_name_parse("0000000000000abc-0000000000000010", &lo, &hi), BRAID_EINVAL);
    assert_int_equal(part_name_parse(".tmp-abc", &lo, &hi), BRAID_EINVAL);
    assert_int_equal(part_name_parse("0000000000000010-0000000000000ABC", &lo, &hi), BRAID_EINVAL);
    char dn[16];
    day_name(19675, dn);
    assert_string_equal(dn, "2023-11-14");
    uint32_t day;
    assert_int_equal(day_parse("2023-11-14", &day), 0);
    assert_int_equal(day, 19675);
    assert_int_equal(day_parse("2023-02-30", &day), BRAID_EINVAL);
    assert_int_equal(day_parse("2023-1-14", &day), BRAID_EINVAL);
    assert_int_equal(row_day(1700000000000000000ull), 19675);
}

int main(void)
{
    braid_log_level = -1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_signal),
        cmocka_unit_test(test_single_row_and_byte_boundaries),
        cmocka_unit_test(test_writer_rejects_disorder),
        cmocka_unit_test(test_crc_failures),
        cmocka_unit_test(test_col_decode_table),
        cmocka_unit_test(test_dict_and_plain_blocks),
        cmocka_unit_test(test_attrs_blocks),
        cmocka_unit_test(test_rowcodec_round_trip),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

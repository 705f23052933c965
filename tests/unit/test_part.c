/* Unit tests for src/store/part.c and the column codecs (column.c,
 * colattrs.c, coltext.c): exact round trips of every signal, group limits,
 * string, packed, part-dictionary, typed-attribute and text blocks, trace ids
 * read back from the index, CRC failures in every file, and malformed blocks
 * of every kind (table-driven). Also the row codec round trip (rowcodec.c). */
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

    /* 300 KiB bodies: groups are cut by bytes long before 1024 rows. */
    model_batch_init(&b);
    const model_origin *os[3] = {origin(&b, 0), origin(&b, 1), origin(&b, 2)};
    char *big = malloc(300 << 10);
    for (int i = 0; i < 10; i++) {
        model_log *l = model_batch_add_log(&b);
        fill_log(&b, l, i, os);
        memset(big, 'a' + i, 300 << 10);
        assert_int_equal(model_batch_keep(&b, big, 300 << 10, &l->body), 0);
    }
    free(big);
    dir = mkdir_tmp();
    rows = sorted(&b, SIGNAL_LOGS, &n);
    p = write_part(dir, SIGNAL_LOGS, rows, n);
    assert_int_equal(p->ngroups, 2); /* 7 + 3 rows: >= 2 MiB closes a group */
    assert_int_equal(p->groups[0].nrows, 7);
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
    /* Dictionaries are checked at open and decoded by the first read only. */
    assert_false(atomic_load(&p->dicts_loaded));
    part_reader *rd = part_reader_new();
    assert_int_equal(part_reader_load_rows(rd, p, 0, 10, 20), 0);
    assert_true(atomic_load(&p->dicts_loaded));
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
        {"time: first value, then a one-byte delta", CK_TIME, {2, 1, 0x02}, 3, 2, 0},
        {"time: missing a row", CK_TIME, {2, 1}, 2, 2, BRAID_EFORMAT},
        {"time: trailing byte", CK_TIME, {2, 1, 0x02, 0x00}, 4, 2, BRAID_EFORMAT},
        {"time: width 0", CK_TIME, {2, 0}, 2, 1, BRAID_EFORMAT},
        {"time: width 9", CK_TIME, {2, 9}, 2, 1, BRAID_EFORMAT},
        {"relative time: two one-byte values", CK_TREL, {1, 0x04, 0x03}, 3, 2, 0},
        {"time: scale 10^10", CK_TIME, {2, 0xa1, 0x02}, 3, 2, BRAID_EFORMAT},
        {"u8: 255 fits", CK_U8, {0, 0xff, 0x01}, 3, 1, 0},
        {"u8: 256 does not", CK_U8, {0, 0x80, 0x02}, 3, 1, BRAID_EFORMAT},
        {"u8: no mode byte", CK_U8, {0}, 0, 1, BRAID_EFORMAT},
        {"i32: out of range", CK_I32, {0, 0x80, 0x80, 0x80, 0x80, 0x10}, 6, 1, BRAID_EFORMAT},
        {"u32: packed, two values, one bit", CK_U32, {6, 2, 5, 9, 1, 0x02}, 6, 2, 0},
        {"u32: packed with the wrong width", CK_U32, {6, 2, 5, 9, 2, 0x02}, 6, 2, BRAID_EFORMAT},
        {"u32: packed code past the values", CK_U32, {6, 3, 5, 9, 7, 2, 0x03}, 7, 1, BRAID_EFORMAT},
        {"u32: packed, one value, no codes", CK_U32, {6, 1, 5, 0}, 4, 3, 0},
        {"u32: packed, no values", CK_U32, {6, 0, 0}, 3, 1, BRAID_EFORMAT},
        {"u32: unknown mode", CK_U32, {2, 1}, 2, 1, BRAID_EFORMAT},
        {"f64: short", CK_F64, {1, 2, 3, 4, 5, 6, 7}, 7, 1, BRAID_EFORMAT},
        {"id8: one run of 2", CK_ID8, {1, 1, 1, 2, 3, 4, 5, 6, 7, 8}, 10, 2, 0},
        {"id8: runs short of rows", CK_ID8, {1, 0, 1, 2, 3, 4, 5, 6, 7, 8}, 10, 2, BRAID_EFORMAT},
        {"id8: more runs than rows", CK_ID8, {3, 0, 0, 0}, 4, 2, BRAID_EFORMAT},
        {"id8: run past rows", CK_ID8, {1, 2, 1, 2, 3, 4, 5, 6, 7, 8}, 10, 2, BRAID_EFORMAT},
        {"id8: id missing", CK_ID8, {1, 1, 1, 2, 3}, 5, 2, BRAID_EFORMAT},
        {"bytes: plain", CK_BYTES, {0, 1, 'a', 0}, 4, 2, 0},
        {"bytes: length past end", CK_BYTES, {0, 5, 'a'}, 3, 1, BRAID_EFORMAT},
        {"bytes: dict", CK_BYTES, {1, 1, 1, 'a', 0, 0}, 6, 2, 0},
        {"bytes: dict index out of range", CK_BYTES, {1, 1, 1, 'a', 0, 1}, 6, 2, BRAID_EFORMAT},
        {"bytes: dict larger than rows", CK_BYTES, {1, 3, 0, 0, 0, 0}, 6, 1, BRAID_EFORMAT},
        {"bytes: retired mode 2", CK_BYTES, {2, 0}, 2, 1, BRAID_EFORMAT},
        {"bytes: part codes without a part dictionary", CK_BYTES, {3, 1, 0}, 3, 2, BRAID_EFORMAT},
        {"bytes: text mode is for bodies only", CK_BYTES, {5, 0, 0}, 3, 1, BRAID_EFORMAT},
        {"bytes: empty block with rows", CK_BYTES, {0}, 0, 1, BRAID_EFORMAT},
        {"tid: no bytes", CK_TID, {0}, 0, 4, 0},
        {"tid: bytes are not expected", CK_TID, {0}, 1, 1, BRAID_EFORMAT},
    };
    colval out[8];
    bslice dict[8];
    buf recon;
    buf_init(&recon);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        col_desc d = {cases[i].kind, 0, 0};
        int rc = col_decode(&d, cases[i].bytes, cases[i].n, cases[i].nrows, out, dict, &recon, 0,
                            UINT32_MAX, NULL);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %d, want %d", cases[i].why, rc, cases[i].rc);
    }
    /* The decoded values of the packed and id cases. */
    col_desc u = {CK_U32, 0, 0};
    const uint8_t packed[] = {6, 2, 5, 9, 1, 0x02}; /* as the "packed, two values" row */
    assert_int_equal(col_decode(&u, packed, sizeof packed, 2, out, dict, &recon, 0, 2, NULL), 0);
    assert_int_equal(out[0].u, 5);
    assert_int_equal(out[1].u, 9);
    col_desc t = {CK_TIME, 0, 0};
    assert_int_equal(col_decode(&t, cases[0].bytes, 3, 2, out, dict, &recon, 0, 2, NULL), 0);
    assert_int_equal(out[0].u, 2);
    assert_int_equal(out[1].u, 3);
    /* Scale 10^3: the delta is in thousands. */
    const uint8_t scaled[] = {2, 0x31, 0x02};
    assert_int_equal(col_decode(&t, scaled, 3, 2, out, dict, &recon, 0, 2, NULL), 0);
    assert_int_equal(out[1].u, 1002);
    buf_free(&recon);
}

/* Part dictionary of a writer column, parsed as a reader would (pd->vals
 * point into *mem, which the caller frees with col_pdict_free). */
static void pdict_of(const colw *c, buf *mem, col_pdict *pd)
{
    buf_reset(mem);
    assert_int_equal(colw_finish_pdict(c, mem), 0);
    assert_int_equal(col_pdict_parse(mem->p, mem->n, pd), 0);
}

static void test_dict_and_plain_blocks(void **state)
{
    (void)state;
    col_desc d = {CK_BYTES, offsetof(model_log, severity_text), 0};
    colw c;
    colw_init(&c);
    model_log l = {0};
    for (int i = 0; i < 100; i++) {
        l.severity_text = bslice_cstr(i % 2 ? "repeated value" : "other value");
        assert_int_equal(colw_add(&c, &d, &l), 0);
    }
    buf out, mem;
    buf_init(&out);
    buf_init(&mem);
    assert_int_equal(colw_finish(&c, &d, &out), 0);
    assert_int_equal(out.p[0], 6); /* 2 distinct of 100: part dictionary, packed codes */
    col_pdict pd;
    pdict_of(&c, &mem, &pd);
    assert_int_equal(pd.n, 2);
    colval v[100];
    bslice dict[100];
    assert_int_equal(col_decode(&d, out.p, out.n, 100, v, dict, NULL, 0, 100, &pd), 0);
    for (int i = 0; i < 100; i++)
        assert_true(bslice_eq_cstr(v[i].s, i % 2 ? "repeated value" : "other value"));
    /* Without the dictionary the block cannot be read. */
    assert_int_equal(col_decode(&d, out.p, out.n, 100, v, dict, NULL, 0, 100, NULL), BRAID_EFORMAT);
    col_pdict_free(&pd);

    /* 20 distinct values a block: part dictionary codes, 0 for a repeat. */
    colw_reset(&c);
    buf_reset(&out);
    char tmp[32];
    for (int i = 0; i < 100; i++) {
        snprintf(tmp, sizeof tmp, "v%d", i / 5);
        l.severity_text = bslice_cstr(tmp);
        assert_int_equal(colw_add(&c, &d, &l), 0);
    }
    assert_int_equal(colw_finish(&c, &d, &out), 0);
    assert_int_equal(out.p[0], 3);
    pdict_of(&c, &mem, &pd);
    assert_int_equal(pd.n, 22); /* the first block's 2, then these 20 */
    assert_int_equal(col_decode(&d, out.p, out.n, 100, v, dict, NULL, 0, 100, &pd), 0);
    assert_true(bslice_eq_cstr(v[57].s, "v11"));
    col_pdict_free(&pd);

    /* 100 distinct of 100: plain. */
    colw_reset(&c);
    buf_reset(&out);
    for (int i = 0; i < 100; i++) {
        snprintf(tmp, sizeof tmp, "distinct-%d", i);
        l.severity_text = bslice_cstr(tmp);
        assert_int_equal(colw_add(&c, &d, &l), 0);
    }
    assert_int_equal(colw_finish(&c, &d, &out), 0);
    assert_int_equal(out.p[0], 0);
    assert_int_equal(col_decode(&d, out.p, out.n, 100, v, dict, NULL, 0, 100, NULL), 0);
    snprintf(tmp, sizeof tmp, "distinct-%d", 57);
    assert_true(bslice_eq_cstr(v[57].s, tmp));

    /* 40 distinct of 100 with the part dictionary full: a block dictionary. */
    c.pd_full = true;
    colw_reset(&c);
    buf_reset(&out);
    for (int i = 0; i < 100; i++) {
        snprintf(tmp, sizeof tmp, "w%d", i % 40);
        l.severity_text = bslice_cstr(tmp);
        assert_int_equal(colw_add(&c, &d, &l), 0);
    }
    assert_int_equal(colw_finish(&c, &d, &out), 0);
    assert_int_equal(out.p[0], 1);
    assert_int_equal(col_decode(&d, out.p, out.n, 100, v, dict, NULL, 0, 100, NULL), 0);
    assert_true(bslice_eq_cstr(v[41].s, "w1"));
    buf_free(&out);
    buf_free(&mem);
    colw_free(&c);
}

/* The part dictionary stops growing at its caps; blocks past them keep
 * their own values and every value still reads back. */
static void test_part_dictionary_caps(void **state)
{
    (void)state;
    col_desc d = {CK_BYTES, offsetof(model_log, source), 0};
    colw c;
    colw_init(&c);
    model_log l = {0};
    buf out, mem;
    buf_init(&out);
    buf_init(&mem);
    char tmp[32];
    uint32_t blocks = PDICT_MAX_VALUES / 50 + 3, parted = 0;
    for (uint32_t blk = 0; blk < blocks; blk++) {
        colw_reset(&c);
        buf_reset(&out);
        for (int i = 0; i < 100; i++) {
            snprintf(tmp, sizeof tmp, "s-%u-%d", blk, i % 50);
            l.source = bslice_cstr(tmp);
            assert_int_equal(colw_add(&c, &d, &l), 0);
        }
        assert_int_equal(colw_finish(&c, &d, &out), 0);
        parted += out.p[0] == 3;
        col_pdict pd;
        pdict_of(&c, &mem, &pd);
        assert_true(pd.n <= PDICT_MAX_VALUES);
        colval v[100];
        bslice dict[100];
        assert_int_equal(col_decode(&d, out.p, out.n, 100, v, dict, NULL, 0, 100, &pd), 0);
        snprintf(tmp, sizeof tmp, "s-%u-%d", blk, 73 % 50);
        assert_true(bslice_eq_cstr(v[73].s, tmp));
        col_pdict_free(&pd);
    }
    assert_true(c.pd_full);
    assert_int_equal(parted, PDICT_MAX_VALUES / 50);
    buf_free(&out);
    buf_free(&mem);
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
        assert_int_equal(colw_add(&c, &d, &l), 0);
    }
    buf out, recon;
    buf_init(&out);
    buf_init(&recon);
    assert_int_equal(colw_finish(&c, &d, &out), 0);
    assert_int_equal(out.p[0], want_mode);
    colval *v = calloc(n, sizeof *v);
    bslice *dict = calloc(n, sizeof *dict);
    assert_int_equal(col_decode(&d, out.p, out.n, n, v, dict, &recon, 0, n, NULL), 0);
    for (uint32_t i = 0; i < n; i++) {
        if (!bslice_eq(v[i].s, rows[i]))
            fail_msg("row %u: %zu bytes back, %zu written", i, v[i].s.n, rows[i].n);
    }
    /* Only a range rebuilt (what a trace lookup asks for). */
    uint32_t from = n / 3, to = 2 * n / 3;
    assert_int_equal(col_decode(&d, out.p, out.n, n, v, dict, &recon, from, to, NULL), 0);
    for (uint32_t i = 0; i < n; i++) {
        if (i >= from && i < to)
            assert_true(bslice_eq(v[i].s, rows[i]));
        else if (want_mode == 4)
            assert_int_equal(v[i].s.n, 0);
    }
    /* Every truncation of the block is refused, never read past. */
    for (size_t cut = 0; cut < out.n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, out.p, cut);
        assert_int_not_equal(col_decode(&d, copy, cut, n, v, dict, &recon, 0, n, NULL), 0);
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
    attrs_round_trip(rows, N, 4);
    /* One malformed row sends the whole block to plain mode, still exact. */
    uint8_t junk[] = {3, 0, 0, 0, 1, 0, 0, 0, 'k'};
    rows[7] = (bslice){junk, sizeof junk};
    attrs_round_trip(rows, N, 0);
    for (int i = 0; i < N; i++)
        buf_free(&enc[i]);

    /* Malformed split blocks, one row per reason (2 rows each; type 3 is
     * bool, 0x81 a string dictionary). */
    struct {
        const char *why;
        uint8_t bytes[32];
        size_t n;
        int rc;
    } cases[] = {
        {"one key, one shape, both rows, bools", {4, 1, 1, 'k', 1, 1, 0, 1, 1, 3, 1, 1}, 12, 0},
        {"shape names key 1 of 1", {4, 1, 1, 'k', 1, 1, 1, 1, 1, 3, 1, 1}, 12, BRAID_EFORMAT},
        {"row names shape 2 of 1", {4, 1, 1, 'k', 1, 1, 0, 2, 1, 3, 1, 1}, 12, BRAID_EFORMAT},
        {"more shapes than rows", {4, 1, 1, 'k', 3, 0, 0, 0, 1, 1}, 10, BRAID_EFORMAT},
        {"values missing", {4, 1, 1, 'k', 1, 1, 0, 1, 1}, 9, BRAID_EFORMAT},
        {"a trailing byte", {4, 1, 1, 'k', 1, 1, 0, 1, 1, 3, 1, 1, 7}, 13, BRAID_EFORMAT},
        {"no bytes for both rows", {4, 0, 0, 0, 0}, 5, 0},
        {"bool out of range", {4, 1, 1, 'k', 1, 1, 0, 1, 1, 3, 1, 2}, 12, BRAID_EFORMAT},
        {"unknown value type", {4, 1, 1, 'k', 1, 1, 0, 1, 1, 9, 1, 1}, 12, BRAID_EFORMAT},
        {"dictionary: new, then the one before",
         {4, 1, 1, 'k', 1, 1, 0, 1, 1, 0x81, 1, 1, 'x', 1, 0},
         15,
         0},
        {"dictionary: a code names an entry not yet seen",
         {4, 1, 1, 'k', 1, 1, 0, 1, 1, 0x81, 1, 1, 'x', 1, 3},
         15,
         BRAID_EFORMAT},
        {"dictionary: an entry never used",
         {4, 1, 1, 'k', 1, 1, 0, 1, 1, 0x81, 2, 1, 'x', 1, 'y', 1, 0},
         17,
         BRAID_EFORMAT},
        {"dictionary: first code repeats nothing",
         {4, 1, 1, 'k', 1, 1, 0, 1, 1, 0x81, 1, 1, 'x', 0, 1},
         15,
         BRAID_EFORMAT},
        {"raw value that is not an AnyValue",
         {4, 1, 1, 'k', 1, 1, 0, 1, 1, 0, 1, 9, 1, 9},
         14,
         BRAID_EFORMAT},
        {"uuid cut short", {4, 1, 1, 'k', 1, 1, 0, 1, 0, 5, 1, 2, 3}, 13, BRAID_EFORMAT},
        {"prefixed number wider than its width",
         {4, 1, 1, 'k', 1, 1, 0, 1, 0, 8, 1, 'u', 2, 0xe8, 0x07},
         15,
         BRAID_EFORMAT},
    };
    col_desc d = {CK_ATTRS, 0, 0};
    colval out[2];
    bslice dict[2];
    buf recon;
    buf_init(&recon);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc =
            col_decode(&d, cases[i].bytes, cases[i].n, 2, out, dict, &recon, 0, UINT32_MAX, NULL);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %d, want %d", cases[i].why, rc, cases[i].rc);
    }
    /* The first case rebuilds {k: true} for both rows. */
    assert_int_equal(col_decode(&d, cases[0].bytes, cases[0].n, 2, out, dict, &recon, 0, 2, NULL),
                     0);
    uint8_t want[] = {1, 0, 0, 0, 1, 0, 0, 0, 'k', AV_BOOL, 1};
    assert_int_equal(out[1].s.n, sizeof want);
    assert_memory_equal(out[1].s.p, want, sizeof want);
    /* The dictionary case gives both rows the string "x". */
    assert_int_equal(col_decode(&d, cases[9].bytes, cases[9].n, 2, out, dict, &recon, 0, 2, NULL),
                     0);
    uint8_t want_x[] = {1, 0, 0, 0, 1, 0, 0, 0, 'k', AV_STR, 1, 0, 0, 0, 'x'};
    assert_int_equal(out[0].s.n, sizeof want_x);
    assert_memory_equal(out[0].s.p, want_x, sizeof want_x);
    assert_memory_equal(out[1].s.p, want_x, sizeof want_x);
    buf_free(&recon);
}

/* Typed value streams: every form a value can take is rebuilt byte for
 * byte, and forms that are nearly but not quite canonical stay strings. */
static void test_attrs_typed_values(void **state)
{
    (void)state;
    enum { N = 96 };
    static const char *const near[] = {
        "3FA85F64-5717-4562-B3FC-2C963F66AFA6", /* upper case: not a canonical UUID */
        "3fa85f64-5717-4562-b3fc-2c963f66afa",  /* one digit short */
        "010.1.2.3",                            /* leading zero: not a canonical IPv4 */
        "256.1.2.3",
        "abc",  /* odd length: not hex */
        "u_",   /* no number */
        "u_01", /* a prefixed number of another width */
    };
    buf enc[N];
    bslice rows[N];
    for (int i = 0; i < N; i++) {
        buf_init(&enc[i]);
        buf *b = &enc[i];
        char tmp[64];
        size_t pos = av_begin_count(b);
        /* A request-scoped UUID repeated over 4 rows. */
        av_put_key(b, BSLICE_LIT("request.id"));
        snprintf(tmp, sizeof tmp, "%08x-5717-4562-b3fc-2c963f66afa%d", (unsigned)(i / 4) * 7919u,
                 i % 10);
        av_put_str(b, bslice_cstr(tmp));
        av_put_key(b, BSLICE_LIT("session.id"));
        snprintf(tmp, sizeof tmp, "%016llx", (unsigned long long)(i / 3) * 0x9E3779B97F4A7C15ull);
        av_put_str(b, bslice_cstr(tmp));
        av_put_key(b, BSLICE_LIT("client.address"));
        snprintf(tmp, sizeof tmp, "10.%d.%d.%d", i % 3, i * 7 % 256, i == 5 ? 0 : 255 - i);
        av_put_str(b, bslice_cstr(tmp));
        av_put_key(b, BSLICE_LIT("enduser.id"));
        snprintf(tmp, sizeof tmp, "u_%06d", i * 1237 % 1000000);
        av_put_str(b, bslice_cstr(tmp));
        av_put_key(b, BSLICE_LIT("thread"));
        snprintf(tmp, sizeof tmp, "exec-%d", i % 17);
        av_put_str(b, bslice_cstr(tmp));
        av_put_key(b, BSLICE_LIT("duration_ms"));
        av_put_int(b, i % 5 ? i * 3 : i == 10 ? INT64_MIN : -i - 1);
        av_put_key(b, BSLICE_LIT("cache.hit"));
        av_put_bool(b, i % 3 == 0);
        av_put_key(b, BSLICE_LIT("ratio"));
        av_put_double(b, i * 0.25);
        av_put_key(b, BSLICE_LIT("mixed"));
        if (i % 4 == 0)
            av_put_int(b, i);
        else
            av_put_str(b, bslice_cstr(i % 4 == 1 ? "one" : "two"));
        av_put_key(b, BSLICE_LIT("near"));
        av_put_str(b, bslice_cstr(near[i % 7]));
        av_put_key(b, BSLICE_LIT("empty"));
        av_put_str(b, BSLICE_LIT(""));
        av_end_count(b, pos, 11);
        rows[i] = (bslice){enc[i].p, enc[i].n};
    }
    attrs_round_trip(rows, N, 4);
    for (int i = 0; i < N; i++)
        buf_free(&enc[i]);
}

/* The type a key's values are stored as, one row per kind of value: 4
 * rows with a single key "k", the type byte follows the block's header. */
static void test_attrs_value_types(void **state)
{
    (void)state;
    struct {
        const char *why;
        const char *v[4]; /* strings; "#n" an int n, "?" a bool, "~" a double */
        uint8_t type;
    } cases[] = {
        {"canonical UUIDs",
         {"3fa85f64-5717-4562-b3fc-2c963f66afa6", "00000000-0000-4000-8000-000000000000",
          "ffffffff-ffff-4fff-bfff-ffffffffffff", "3fa85f64-5717-4562-b3fc-2c963f66afa7"},
         5},
        {"an upper-case UUID",
         {"3fa85f64-5717-4562-b3fc-2c963f66afa6", "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
          "3fa85f64-5717-4562-b3fc-2c963f66afa8", "3fa85f64-5717-4562-b3fc-2c963f66afa9"},
         1},
        {"even-length hex", {"00ff", "a1b2c3d4", "0123456789abcdef", "ee"}, 6},
        {"odd-length hex", {"00ff", "abc", "0123", "ee"}, 1},
        {"IPv4 addresses", {"10.0.0.1", "255.255.255.255", "0.0.0.0", "192.168.1.20"}, 7},
        {"a zero-padded IPv4", {"10.0.0.1", "010.0.0.1", "1.2.3.4", "5.6.7.8"}, 1},
        {"prefixed numbers, one width", {"u_000123", "u_045678", "u_999999", "u_000000"}, 8},
        {"prefixed numbers, widths vary", {"exec-1", "exec-23", "exec-0", "exec-456"}, 8},
        {"prefixed numbers, padded and not", {"exec-01", "exec-1", "exec-2", "exec-3"}, 1},
        {"numbers as strings", {"7", "12", "300", "0"}, 8},
        {"prefixes differ", {"x1", "y2", "x3", "x4"}, 1},
        {"ints", {"#1", "#-5", "#1000000", "#0"}, 2},
        {"bools", {"?", "?", "?", "?"}, 3},
        {"doubles", {"~", "~", "~", "~"}, 4},
        {"ints and strings", {"#1", "x", "#2", "y"}, 0},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        buf enc[4];
        bslice rows[4];
        for (int r = 0; r < 4; r++) {
            buf_init(&enc[r]);
            size_t pos = av_begin_count(&enc[r]);
            av_put_key(&enc[r], BSLICE_LIT("k"));
            const char *v = cases[ci].v[r];
            if (v[0] == '#')
                av_put_int(&enc[r], atoll(v + 1));
            else if (v[0] == '?')
                av_put_bool(&enc[r], r % 2);
            else if (v[0] == '~')
                av_put_double(&enc[r], r * 0.5);
            else
                av_put_str(&enc[r], bslice_cstr(v));
            av_end_count(&enc[r], pos, 1);
            rows[r] = (bslice){enc[r].p, enc[r].n};
        }
        col_desc d = {CK_ATTRS, offsetof(model_log, attrs), 0};
        colw c;
        colw_init(&c);
        for (int r = 0; r < 4; r++) {
            model_log l = {0};
            l.attrs = rows[r];
            assert_int_equal(colw_add(&c, &d, &l), 0);
        }
        buf out;
        buf_init(&out);
        assert_int_equal(colw_finish(&c, &d, &out), 0);
        /* mode, 1 key "k", 1 shape {k}, 4 row shapes, then the type. */
        assert_int_equal(out.p[0], 4);
        uint8_t t = out.p[11] & 0x7f;
        if (t != cases[ci].type)
            fail_msg("case '%s': type %u, want %u", cases[ci].why, t, cases[ci].type);
        attrs_round_trip(rows, 4, 4);
        buf_free(&out);
        colw_free(&c);
        for (int r = 0; r < 4; r++)
            buf_free(&enc[r]);
    }
}

/* Log bodies as text: templated lines, numbers with and without leading
 * zeros, hex words, words of every kind, lines that must stay raw, and
 * bodies that are not strings; every row rebuilt exactly, alone or in a
 * range, and every truncation refused. */
static void body_round_trip(const bslice *rows, uint32_t n, uint8_t want_mode)
{
    col_desc d = {CK_BODY, offsetof(model_log, body), 0};
    colw c;
    colw_init(&c);
    for (uint32_t i = 0; i < n; i++) {
        model_log l = {0};
        l.body = rows[i];
        assert_int_equal(colw_add(&c, &d, &l), 0);
    }
    buf out, recon, mem;
    buf_init(&out);
    buf_init(&recon);
    buf_init(&mem);
    assert_int_equal(colw_finish(&c, &d, &out), 0);
    assert_int_equal(out.p[0], want_mode);
    col_pdict pd = {0};
    if (c.pd.n)
        pdict_of(&c, &mem, &pd);
    const col_pdict *pdp = c.pd.n ? &pd : NULL;
    colval *v = calloc(n, sizeof *v);
    bslice *dict = calloc(n, sizeof *dict);
    assert_int_equal(col_decode(&d, out.p, out.n, n, v, dict, &recon, 0, n, pdp), 0);
    for (uint32_t i = 0; i < n; i++)
        if (!bslice_eq(v[i].s, rows[i]))
            fail_msg("row %u: %zu bytes back, %zu written", i, v[i].s.n, rows[i].n);
    uint32_t from = n / 3, to = n / 3 + 5;
    assert_int_equal(col_decode(&d, out.p, out.n, n, v, dict, &recon, from, to, pdp), 0);
    for (uint32_t i = from; i < to; i++)
        assert_true(bslice_eq(v[i].s, rows[i]));
    for (size_t cut = 0; cut < out.n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, out.p, cut);
        assert_int_not_equal(col_decode(&d, copy, cut, n, v, dict, &recon, 0, n, pdp), 0);
        free(copy);
    }
    col_pdict_free(&pd);
    free(v);
    free(dict);
    buf_free(&out);
    buf_free(&recon);
    buf_free(&mem);
    colw_free(&c);
}

static void test_body_text_blocks(void **state)
{
    (void)state;
    enum { N = 120 };
    buf enc[N];
    bslice rows[N];
    for (int i = 0; i < N; i++) {
        buf_init(&enc[i]);
        char line[256];
        switch (i % 8) {
        case 0:
            snprintf(line, sizeof line,
                     "GET /api/products/%d completed status=%d bytes=%d user=u_%06d",
                     10000 + i * 37, i % 3 ? 200 : 404, i * 1000 + 7, i * 31);
            break;
        case 1:
            snprintf(line, sizeof line, "order ord_%08x accepted: %d items, total=%d.%02d EUR",
                     (unsigned)(i * 2654435761u), i % 9 + 1, i * 13, i % 100);
            break;
        case 2: /* numbers too long to be numbers, and zero padded ones */
            snprintf(line, sizeof line, "id=%s%d pad=%05d zero=0 big=1234567890123456789%d", "00",
                     i, i, i % 10);
            break;
        case 3: /* words of non-ASCII text, upper case hex, mixed words */
            snprintf(line, sizeof line, "caf\xc3\xa9 %d na\xc3\xafve DEADBEEF%d v%dx", i, i, i);
            break;
        case 4:
            snprintf(line, sizeof line, "cache lookup key=%s:u_%06d:v3 result=%s",
                     i % 2 ? "cart" : "user", i * 7, i % 3 ? "hit" : "miss");
            break;
        case 5: /* a marker byte: the row stays raw */
            snprintf(line, sizeof line, "odd \x02 byte %d", i);
            break;
        default:
            snprintf(line, sizeof line, "query ok in %d.%03d ms rows=%d", i % 40, i * 7 % 1000,
                     i % 100);
        }
        if (i == 7) {
            av_put_int(&enc[i], 42); /* not a string */
        } else if (i == 15) {
            /* no body at all */
        } else if (i == 23) {
            av_put_str(&enc[i], BSLICE_LIT(""));
        } else {
            av_put_str(&enc[i], bslice_cstr(line));
        }
        rows[i] = (bslice){enc[i].p, enc[i].n};
    }
    body_round_trip(rows, N, 5);
    /* Lines without a word, each its own skeleton: no template pays, and
     * with 100 distinct values a block of plain strings. */
    for (int i = 0; i < 100; i++) {
        buf_reset(&enc[i]);
        char line[128];
        memset(line, '!', sizeof line);
        line[3 + i] = 0;
        av_put_str(&enc[i], bslice_cstr(line));
        rows[i] = (bslice){enc[i].p, enc[i].n};
    }
    body_round_trip(rows, 100, 0);
    /* A few distinct bodies: the part dictionary. */
    body_round_trip(rows, 10, 6);
    for (int i = 0; i < N; i++)
        buf_free(&enc[i]);

    /* Malformed text blocks (2 rows): skeleton "\x02" ("a number"), kinds,
     * then the number stream (width byte, values). */
    struct {
        const char *why;
        uint8_t bytes[24];
        size_t n;
        int rc;
    } cases[] = {
        {"two numbers, free width", {5, 1, 1, 2, 1, 1, 0, 14, 20}, 9, 0},
        {"two numbers, width 3", {5, 1, 1, 2, 1, 1, 3, 7, 20}, 9, 0},
        {"wider than the width", {5, 1, 1, 2, 1, 1, 1, 7, 20}, 9, BRAID_EFORMAT},
        {"leading zeros that add nothing", {5, 1, 1, 2, 1, 1, 0, 15, 1, 20}, 10, BRAID_EFORMAT},
        {"a row names skeleton 2 of 1", {5, 1, 1, 2, 2, 1, 0, 14}, 8, BRAID_EFORMAT},
        {"more skeletons than rows", {5, 3, 0, 0, 0, 0, 0}, 7, BRAID_EFORMAT},
        {"a value missing", {5, 1, 1, 2, 1, 1, 0, 14}, 8, BRAID_EFORMAT},
        {"a raw row", {5, 1, 1, 2, 1, 0, 5, 1, 1, 0, 0, 'x', 0, 14}, 14, 0},
        {"hex longer than 64", {5, 1, 1, 3, 1, 0, 65}, 7, BRAID_EFORMAT},
        {"word stream with an unknown mode", {5, 1, 1, 1, 1, 1, 7}, 7, BRAID_EFORMAT},
    };
    col_desc d = {CK_BODY, 0, 0};
    colval out[2];
    bslice dict[2];
    buf recon;
    buf_init(&recon);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc =
            col_decode(&d, cases[i].bytes, cases[i].n, 2, out, dict, &recon, 0, UINT32_MAX, NULL);
        if (rc != cases[i].rc)
            fail_msg("case '%s': rc %d, want %d", cases[i].why, rc, cases[i].rc);
    }
    assert_int_equal(col_decode(&d, cases[1].bytes, cases[1].n, 2, out, dict, &recon, 0, 2, NULL),
                     0);
    uint8_t want[] = {AV_STR, 3, 0, 0, 0, '0', '0', '7'};
    assert_int_equal(out[0].s.n, sizeof want);
    assert_memory_equal(out[0].s.p, want, sizeof want);
    buf_free(&recon);
}

/* Rows' trace ids come back from the index, across pages, and rows past
 * the traced ones have none. */
static void test_trace_ids_from_index(void **state)
{
    (void)state;
    model_batch b;
    batch_of(&b, 3000);
    /* Exemplars: 3000 distinct trace ids, 47 pages of the index. */
    size_t n;
    const void **rows = sorted(&b, SIGNAL_EXEMPLARS, &n);
    char *dir = mkdir_tmp();
    part *p = write_part(dir, SIGNAL_EXEMPLARS, rows, n);
    assert_int_equal(p->tx.npages, (3000 + TIDX_PAGE_ENTRIES - 1) / TIDX_PAGE_ENTRIES);
    const uint8_t *ids[200];
    assert_int_equal(tidx_rows(&p->tx, 1000, 200, ids), 0);
    for (int i = 0; i < 200; i++) {
        const model_exemplar *e = rows[1000 + i];
        assert_non_null(ids[i]);
        assert_memory_equal(ids[i], e->trace_id.b, 16);
    }
    part_unref(p);
    free(rows);
    fs_rm_rf(dir);
    free(dir);
    /* Logs: some rows have no trace id; those come last and read as none. */
    rows = sorted(&b, SIGNAL_LOGS, &n);
    dir = mkdir_tmp();
    p = write_part(dir, SIGNAL_LOGS, rows, n);
    size_t traced = 0;
    while (traced < n && !tid_zero(&((const model_log *)rows[traced])->trace_id))
        traced++;
    assert_true(traced > 0 && traced < n);
    uint32_t from = (uint32_t)traced - 100;
    assert_int_equal(tidx_rows(&p->tx, from, 200, ids), 0);
    for (int i = 0; i < 200; i++) {
        const model_log *l = rows[from + i];
        if (from + (size_t)i < traced)
            assert_memory_equal(ids[i], l->trace_id.b, 16);
        else
            assert_null(ids[i]);
    }
    check_part(p, SIGNAL_LOGS, rows, n);
    part_unref(p);
    free(rows);
    fs_rm_rf(dir);
    free(dir);
    model_batch_free(&b);
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
        cmocka_unit_test(test_attrs_typed_values),
        cmocka_unit_test(test_attrs_value_types),
        cmocka_unit_test(test_body_text_blocks),
        cmocka_unit_test(test_part_dictionary_caps),
        cmocka_unit_test(test_trace_ids_from_index),
        cmocka_unit_test(test_rowcodec_round_trip),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

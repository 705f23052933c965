/* store/rowcodec: the serialization of a model_batch that forms a WAL payload
 * (and the origin blobs of the part origin column), plus the per-signal row
 * facts the store sorts and files by (time, trace id, UTC day). Decoding
 * trusts nothing: every length is checked against the end of the payload and
 * counts are bounded by the payload size before anything is allocated. */
#include "internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const model_origin store_empty_origin;

#define RC_VERSION STORE_FORMAT_VERSION

/* Smallest encoding of each item: one byte per varint/slice, full width for
 * fixed fields. Used to bound counts before allocating. */
#define RC_MIN_ORIGIN 9
#define RC_MIN_LOG 51
#define RC_MIN_SPAN 61
#define RC_MIN_METRIC 37
#define RC_MIN_EXEMPLAR 48

size_t row_size(signal_t sig)
{
    switch (sig) {
    case SIGNAL_LOGS:
        return sizeof(model_log);
    case SIGNAL_SPANS:
        return sizeof(model_span);
    case SIGNAL_METRICS:
        return sizeof(model_metric);
    case SIGNAL_EXEMPLARS:
        return sizeof(model_exemplar);
    }
    return 0;
}

uint64_t row_time(signal_t sig, const void *row)
{
    switch (sig) {
    case SIGNAL_LOGS: {
        const model_log *l = row;
        return l->time_ns ? l->time_ns : l->observed_ns;
    }
    case SIGNAL_SPANS:
        return ((const model_span *)row)->start_ns;
    case SIGNAL_METRICS:
        return ((const model_metric *)row)->time_ns;
    case SIGNAL_EXEMPLARS:
        return ((const model_exemplar *)row)->time_ns;
    }
    return 0;
}

const trace_id_t *row_tid(signal_t sig, const void *row)
{
    switch (sig) {
    case SIGNAL_LOGS:
        return &((const model_log *)row)->trace_id;
    case SIGNAL_SPANS:
        return &((const model_span *)row)->trace_id;
    case SIGNAL_EXEMPLARS:
        return &((const model_exemplar *)row)->trace_id;
    case SIGNAL_METRICS:
        return NULL;
    }
    return NULL;
}

int row_cmp(signal_t sig, const void *a, const void *b)
{
    const trace_id_t *ta = row_tid(sig, a), *tb = row_tid(sig, b);
    if (ta) {
        bool za = trace_id_is_zero(ta), zb = trace_id_is_zero(tb);
        if (za != zb)
            return za ? 1 : -1;
        if (!za) {
            int c = memcmp(ta->b, tb->b, 16);
            if (c)
                return c;
        }
    }
    uint64_t x = row_time(sig, a), y = row_time(sig, b);
    return x < y ? -1 : x > y ? 1 : 0;
}

uint32_t row_day(uint64_t time_ns)
{
    return (uint32_t)(time_ns / 1000000000ull / 86400ull);
}

void day_name(uint32_t day, char out[16])
{
    time_t t = (time_t)day * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 16, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

int day_parse(const char *s, uint32_t *day)
{
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return BRAID_EINVAL;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return BRAID_EINVAL;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    time_t t = timegm(&tm);
    if (t < 0 || t % 86400)
        return BRAID_EINVAL;
    *day = (uint32_t)(t / 86400);
    char back[16];
    day_name(*day, back);
    return strcmp(back, s) == 0 ? 0 : BRAID_EINVAL;
}

/* ---- writer ---- */
static void put_slice(buf *b, bslice s)
{
    buf_put_varint(b, s.n);
    buf_append(b, s.p, s.n);
}

static void put_svar(buf *b, int64_t v)
{
    buf_put_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_f64(buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    buf_put_u64le(b, u);
}

void rowcodec_put_origin(buf *b, const model_origin *o)
{
    if (!o)
        o = &store_empty_origin;
    put_slice(b, o->service);
    put_slice(b, o->resource_attrs);
    buf_put_varint(b, o->resource_dropped);
    put_slice(b, o->resource_schema_url);
    put_slice(b, o->scope_name);
    put_slice(b, o->scope_version);
    put_slice(b, o->scope_attrs);
    buf_put_varint(b, o->scope_dropped);
    put_slice(b, o->scope_schema_url);
}

/* Maps origin pointers of one batch to 1-based indexes (0 = no origin). */
typedef struct {
    const model_origin **keys;
    uint32_t *vals;
    size_t cap, n;
} omap;

static uint32_t omap_get(omap *m, const model_origin *o, buf *out)
{
    if (!o)
        return 0;
    size_t h = ((uintptr_t)o >> 3) * 0x9E3779B97F4A7C15ull;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == o)
            return m->vals[i];
        if (!m->keys[i]) {
            m->keys[i] = o;
            m->vals[i] = (uint32_t)++m->n;
            rowcodec_put_origin(out, o);
            return m->vals[i];
        }
    }
}

static void put_log(buf *b, const model_log *l, uint32_t oref)
{
    buf_put_varint(b, oref);
    buf_put_u64le(b, l->time_ns);
    buf_put_u64le(b, l->observed_ns);
    buf_append(b, l->trace_id.b, 16);
    buf_append(b, l->span_id.b, 8);
    buf_put_varint(b, l->flags);
    put_svar(b, l->severity_number);
    put_slice(b, l->severity_text);
    put_slice(b, l->body);
    put_slice(b, l->attrs);
    buf_put_varint(b, l->dropped_attrs);
    put_slice(b, l->event_name);
    put_slice(b, l->source);
    buf_putc(b, l->id_form);
    put_slice(b, l->id_field);
}

static void put_span(buf *b, const model_span *s, uint32_t oref)
{
    buf_put_varint(b, oref);
    buf_append(b, s->trace_id.b, 16);
    buf_append(b, s->span_id.b, 8);
    buf_append(b, s->parent_span_id.b, 8);
    put_slice(b, s->trace_state);
    buf_put_varint(b, s->flags);
    put_slice(b, s->name);
    put_svar(b, s->kind);
    buf_put_u64le(b, s->start_ns);
    buf_put_u64le(b, s->end_ns);
    put_slice(b, s->attrs);
    buf_put_varint(b, s->dropped_attrs);
    put_slice(b, s->events);
    buf_put_varint(b, s->dropped_events);
    put_slice(b, s->links);
    buf_put_varint(b, s->dropped_links);
    put_svar(b, s->status_code);
    put_slice(b, s->status_message);
}

static void put_metric(buf *b, const model_metric *m, uint32_t oref)
{
    buf_put_varint(b, oref);
    put_slice(b, m->name);
    put_slice(b, m->description);
    put_slice(b, m->unit);
    buf_putc(b, m->type);
    buf_putc(b, m->temporality);
    buf_putc(b, m->monotonic);
    buf_putc(b, m->is_int);
    put_slice(b, m->attrs);
    buf_put_u64le(b, m->start_ns);
    buf_put_u64le(b, m->time_ns);
    buf_put_varint(b, m->flags);
    put_f64(b, m->value_double);
    put_svar(b, m->value_int);
    put_slice(b, m->payload);
    put_slice(b, m->metadata);
}

static void put_exemplar(buf *b, const model_exemplar *e, uint32_t oref)
{
    buf_put_varint(b, oref);
    put_slice(b, e->metric_name);
    buf_putc(b, e->metric_type);
    put_slice(b, e->series_attrs);
    buf_put_u64le(b, e->time_ns);
    buf_putc(b, e->is_int);
    put_f64(b, e->value_double);
    put_svar(b, e->value_int);
    buf_append(b, e->trace_id.b, 16);
    buf_append(b, e->span_id.b, 8);
    put_slice(b, e->filtered_attrs);
    put_svar(b, e->bucket);
}

/* Rows name their origin by index, so origins go first; the count of
 * distinct origins is only known after a pass, which writes them too. */
int rowcodec_encode(const model_batch *b, buf *out)
{
    size_t nrows = b->nlogs + b->nspans + b->nmetrics + b->nexemplars;
    if (nrows > UINT32_MAX / 2)
        return BRAID_ETOOBIG;
    omap m = {0};
    m.cap = 16;
    while (m.cap < nrows * 2)
        m.cap <<= 1;
    m.keys = calloc(m.cap, sizeof *m.keys);
    m.vals = calloc(m.cap, sizeof *m.vals);
    if (!m.keys || !m.vals) {
        free(m.keys);
        free(m.vals);
        return BRAID_ENOMEM;
    }
    buf origins;
    buf_init(&origins);
    buf rows;
    buf_init(&rows);
    for (size_t i = 0; i < b->nlogs; i++)
        put_log(&rows, &b->logs[i], omap_get(&m, b->logs[i].origin, &origins));
    for (size_t i = 0; i < b->nspans; i++)
        put_span(&rows, &b->spans[i], omap_get(&m, b->spans[i].origin, &origins));
    for (size_t i = 0; i < b->nmetrics; i++)
        put_metric(&rows, &b->metrics[i], omap_get(&m, b->metrics[i].origin, &origins));
    for (size_t i = 0; i < b->nexemplars; i++)
        put_exemplar(&rows, &b->exemplars[i], omap_get(&m, b->exemplars[i].origin, &origins));
    buf_putc(out, RC_VERSION);
    buf_put_varint(out, m.n);
    buf_put_varint(out, b->nlogs);
    buf_put_varint(out, b->nspans);
    buf_put_varint(out, b->nmetrics);
    buf_put_varint(out, b->nexemplars);
    buf_append(out, origins.p, origins.n);
    buf_append(out, rows.p, rows.n);
    int rc = origins.err ? origins.err : rows.err ? rows.err : out->err;
    buf_free(&origins);
    buf_free(&rows);
    free(m.keys);
    free(m.vals);
    return rc;
}

/* ---- reader ---- */
typedef struct {
    const uint8_t *p, *end;
    int err;
} rd;

static uint64_t rd_var(rd *r)
{
    uint64_t v = 0;
    if (!r->err && rd_varint(&r->p, r->end, &v))
        r->err = BRAID_EFORMAT;
    return r->err ? 0 : v;
}

static uint32_t rd_var32(rd *r)
{
    uint64_t v = rd_var(r);
    if (v > UINT32_MAX)
        r->err = BRAID_EFORMAT;
    return (uint32_t)v;
}

static int64_t rd_svar(rd *r)
{
    uint64_t v = rd_var(r);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int32_t rd_svar32(rd *r)
{
    int64_t v = rd_svar(r);
    if (v < INT32_MIN || v > INT32_MAX)
        r->err = BRAID_EFORMAT;
    return (int32_t)v;
}

static const uint8_t *rd_take(rd *r, size_t n)
{
    if (r->err || (size_t)(r->end - r->p) < n) {
        r->err = BRAID_EFORMAT;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    return q;
}

static uint8_t rd_byte(rd *r)
{
    const uint8_t *q = rd_take(r, 1);
    return q ? *q : 0;
}

static uint64_t rd_u64(rd *r)
{
    const uint8_t *q = rd_take(r, 8);
    return q ? rd_u64le(q) : 0;
}

static double rd_f64(rd *r)
{
    uint64_t u = rd_u64(r);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static void rd_id(rd *r, uint8_t *dst, size_t n)
{
    const uint8_t *q = rd_take(r, n);
    if (q)
        memcpy(dst, q, n);
}

static bslice rd_slice(rd *r)
{
    uint64_t n = rd_var(r);
    if (r->err || n > (uint64_t)(r->end - r->p)) {
        r->err = BRAID_EFORMAT;
        return (bslice){NULL, 0};
    }
    bslice s = {n ? r->p : NULL, (size_t)n};
    r->p += n;
    return s;
}

static void get_origin(rd *r, model_origin *o)
{
    o->service = rd_slice(r);
    o->resource_attrs = rd_slice(r);
    o->resource_dropped = rd_var32(r);
    o->resource_schema_url = rd_slice(r);
    o->scope_name = rd_slice(r);
    o->scope_version = rd_slice(r);
    o->scope_attrs = rd_slice(r);
    o->scope_dropped = rd_var32(r);
    o->scope_schema_url = rd_slice(r);
}

int rowcodec_get_origin(bslice blob, model_origin *o)
{
    rd r = {blob.p, blob.p + blob.n, 0};
    get_origin(&r, o);
    if (!r.err && r.p != r.end)
        r.err = BRAID_EFORMAT;
    return r.err;
}

static const model_origin *rd_oref(rd *r, const rc_counts *c, const model_origin *origins)
{
    uint64_t i = rd_var(r);
    if (r->err)
        return &store_empty_origin;
    if (i > c->norigins) {
        r->err = BRAID_EFORMAT;
        return &store_empty_origin;
    }
    return i ? &origins[i - 1] : &store_empty_origin;
}

int rowcodec_count(const uint8_t *p, size_t n, rc_counts *c)
{
    rd r = {p, p + n, 0};
    if (rd_byte(&r) != RC_VERSION)
        return BRAID_EFORMAT;
    c->norigins = rd_var32(&r);
    for (int s = 0; s < SIGNAL_COUNT; s++)
        c->n[s] = rd_var32(&r);
    if (r.err)
        return BRAID_EFORMAT;
    uint64_t need = (uint64_t)c->norigins * RC_MIN_ORIGIN + (uint64_t)c->n[0] * RC_MIN_LOG +
                    (uint64_t)c->n[1] * RC_MIN_SPAN + (uint64_t)c->n[2] * RC_MIN_METRIC +
                    (uint64_t)c->n[3] * RC_MIN_EXEMPLAR;
    return need <= (uint64_t)(r.end - r.p) ? 0 : BRAID_EFORMAT;
}

int rowcodec_decode(const uint8_t *p, size_t n, const rc_counts *c, rc_rows *out)
{
    rd r = {p, p + n, 0};
    rd_byte(&r);
    for (int i = 0; i < 1 + SIGNAL_COUNT; i++)
        rd_var(&r);
    for (uint32_t i = 0; i < c->norigins && !r.err; i++)
        get_origin(&r, &out->origins[i]);
    model_log *logs = out->rows[SIGNAL_LOGS];
    for (uint32_t i = 0; i < c->n[SIGNAL_LOGS] && !r.err; i++) {
        model_log *l = &logs[i];
        memset(l, 0, sizeof *l);
        l->origin = rd_oref(&r, c, out->origins);
        l->time_ns = rd_u64(&r);
        l->observed_ns = rd_u64(&r);
        rd_id(&r, l->trace_id.b, 16);
        rd_id(&r, l->span_id.b, 8);
        l->flags = rd_var32(&r);
        l->severity_number = rd_svar32(&r);
        l->severity_text = rd_slice(&r);
        l->body = rd_slice(&r);
        l->attrs = rd_slice(&r);
        l->dropped_attrs = rd_var32(&r);
        l->event_name = rd_slice(&r);
        l->source = rd_slice(&r);
        l->id_form = rd_byte(&r);
        l->id_field = rd_slice(&r);
    }
    model_span *spans = out->rows[SIGNAL_SPANS];
    for (uint32_t i = 0; i < c->n[SIGNAL_SPANS] && !r.err; i++) {
        model_span *s = &spans[i];
        memset(s, 0, sizeof *s);
        s->origin = rd_oref(&r, c, out->origins);
        rd_id(&r, s->trace_id.b, 16);
        rd_id(&r, s->span_id.b, 8);
        rd_id(&r, s->parent_span_id.b, 8);
        s->trace_state = rd_slice(&r);
        s->flags = rd_var32(&r);
        s->name = rd_slice(&r);
        s->kind = rd_svar32(&r);
        s->start_ns = rd_u64(&r);
        s->end_ns = rd_u64(&r);
        s->attrs = rd_slice(&r);
        s->dropped_attrs = rd_var32(&r);
        s->events = rd_slice(&r);
        s->dropped_events = rd_var32(&r);
        s->links = rd_slice(&r);
        s->dropped_links = rd_var32(&r);
        s->status_code = rd_svar32(&r);
        s->status_message = rd_slice(&r);
    }
    model_metric *metrics = out->rows[SIGNAL_METRICS];
    for (uint32_t i = 0; i < c->n[SIGNAL_METRICS] && !r.err; i++) {
        model_metric *m = &metrics[i];
        memset(m, 0, sizeof *m);
        m->origin = rd_oref(&r, c, out->origins);
        m->name = rd_slice(&r);
        m->description = rd_slice(&r);
        m->unit = rd_slice(&r);
        m->type = rd_byte(&r);
        m->temporality = rd_byte(&r);
        m->monotonic = rd_byte(&r);
        m->is_int = rd_byte(&r);
        m->attrs = rd_slice(&r);
        m->start_ns = rd_u64(&r);
        m->time_ns = rd_u64(&r);
        m->flags = rd_var32(&r);
        m->value_double = rd_f64(&r);
        m->value_int = rd_svar(&r);
        m->payload = rd_slice(&r);
        m->metadata = rd_slice(&r);
    }
    model_exemplar *ex = out->rows[SIGNAL_EXEMPLARS];
    for (uint32_t i = 0; i < c->n[SIGNAL_EXEMPLARS] && !r.err; i++) {
        model_exemplar *e = &ex[i];
        memset(e, 0, sizeof *e);
        e->origin = rd_oref(&r, c, out->origins);
        e->metric_name = rd_slice(&r);
        e->metric_type = rd_byte(&r);
        e->series_attrs = rd_slice(&r);
        e->time_ns = rd_u64(&r);
        e->is_int = rd_byte(&r);
        e->value_double = rd_f64(&r);
        e->value_int = rd_svar(&r);
        rd_id(&r, e->trace_id.b, 16);
        rd_id(&r, e->span_id.b, 8);
        e->filtered_attrs = rd_slice(&r);
        e->bucket = rd_svar32(&r);
    }
    if (!r.err && r.p != r.end)
        r.err = BRAID_EFORMAT;
    return r.err;
}

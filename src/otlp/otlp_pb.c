/* otlp_pb: OTLP/protobuf Export{Trace,Logs,Metrics}ServiceRequest decoding into
 * model rows, and the protobuf responses. Field numbers are those of
 * opentelemetry-proto v1. Strings that are plain slices of the request stay
 * zero-copy; encoded values (attributes, bodies, events, links, metric
 * payloads) are built in scratch buffers and copied once into the batch arena.
 * Never recurses deeper than AV_MAX_DEPTH AnyValue levels, never allocates
 * outside the batch and its own scratch buffers, never does I/O. */
#include "otlp.h"

#include "../pb/pb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------
 * Field names, so that every error names the exact message and field.
 * ------------------------------------------------------------------------- */
typedef struct {
    const char *name;
    size_t nfields;
    const char *const *fields;
} msgdesc;

#define DESC(var, msgname, ...)                                                                    \
    static const char *const var##_fields[] = {__VA_ARGS__};                                       \
    static const msgdesc var = {msgname, sizeof var##_fields / sizeof var##_fields[0], var##_fields}

DESC(D_TRACE_REQ, "ExportTraceServiceRequest", [1] = "resource_spans");
DESC(D_LOGS_REQ, "ExportLogsServiceRequest", [1] = "resource_logs");
DESC(D_METRICS_REQ, "ExportMetricsServiceRequest", [1] = "resource_metrics");
DESC(D_RES_SPANS, "ResourceSpans", [1] = "resource", [2] = "scope_spans", [3] = "schema_url");
DESC(D_RES_LOGS, "ResourceLogs", [1] = "resource", [2] = "scope_logs", [3] = "schema_url");
DESC(D_RES_METRICS, "ResourceMetrics", [1] = "resource", [2] = "scope_metrics", [3] = "schema_url");
DESC(D_SCOPE_SPANS, "ScopeSpans", [1] = "scope", [2] = "spans", [3] = "schema_url");
DESC(D_SCOPE_LOGS, "ScopeLogs", [1] = "scope", [2] = "log_records", [3] = "schema_url");
DESC(D_SCOPE_METRICS, "ScopeMetrics", [1] = "scope", [2] = "metrics", [3] = "schema_url");
DESC(D_RESOURCE,
     "Resource", [1] = "attributes", [2] = "dropped_attributes_count", [3] = "entity_refs");
DESC(D_SCOPE, "InstrumentationScope", [1] = "name", [2] = "version", [3] = "attributes",
     [4] = "dropped_attributes_count");
DESC(D_KV, "KeyValue", [1] = "key", [2] = "value", [3] = "key_strindex");
DESC(D_ANY,
     "AnyValue", [1] = "string_value", [2] = "bool_value", [3] = "int_value", [4] = "double_value",
     [5] = "array_value", [6] = "kvlist_value", [7] = "bytes_value", [8] = "string_value_strindex");
DESC(D_ARRAY, "ArrayValue", [1] = "values");
DESC(D_KVLIST, "KeyValueList", [1] = "values");
DESC(D_SPAN, "Span", [1] = "trace_id", [2] = "span_id", [3] = "trace_state", [4] = "parent_span_id",
     [5] = "name", [6] = "kind", [7] = "start_time_unix_nano", [8] = "end_time_unix_nano",
     [9] = "attributes", [10] = "dropped_attributes_count", [11] = "events",
     [12] = "dropped_events_count", [13] = "links", [14] = "dropped_links_count", [15] = "status",
     [16] = "flags");
DESC(D_EVENT, "Span.Event", [1] = "time_unix_nano", [2] = "name", [3] = "attributes",
     [4] = "dropped_attributes_count");
DESC(D_LINK, "Span.Link", [1] = "trace_id", [2] = "span_id", [3] = "trace_state",
     [4] = "attributes", [5] = "dropped_attributes_count", [6] = "flags");
DESC(D_STATUS, "Status", [2] = "message", [3] = "code");
DESC(D_LOG, "LogRecord", [1] = "time_unix_nano", [2] = "severity_number", [3] = "severity_text",
     [5] = "body", [6] = "attributes", [7] = "dropped_attributes_count", [8] = "flags",
     [9] = "trace_id", [10] = "span_id", [11] = "observed_time_unix_nano", [12] = "event_name");
DESC(D_METRIC,
     "Metric", [1] = "name", [2] = "description", [3] = "unit", [5] = "gauge", [7] = "sum",
     [9] = "histogram", [10] = "exponential_histogram", [11] = "summary", [12] = "metadata");
DESC(D_GAUGE, "Gauge", [1] = "data_points");
DESC(D_SUM, "Sum", [1] = "data_points", [2] = "aggregation_temporality", [3] = "is_monotonic");
DESC(D_HIST, "Histogram", [1] = "data_points", [2] = "aggregation_temporality");
DESC(D_EXPH, "ExponentialHistogram", [1] = "data_points", [2] = "aggregation_temporality");
DESC(D_SUMMARY, "Summary", [1] = "data_points");
DESC(D_NDP, "NumberDataPoint", [2] = "start_time_unix_nano", [3] = "time_unix_nano",
     [4] = "as_double", [5] = "exemplars", [6] = "as_int", [7] = "attributes", [8] = "flags");
DESC(D_HDP, "HistogramDataPoint", [2] = "start_time_unix_nano", [3] = "time_unix_nano",
     [4] = "count", [5] = "sum", [6] = "bucket_counts", [7] = "explicit_bounds", [8] = "exemplars",
     [9] = "attributes", [10] = "flags", [11] = "min", [12] = "max");
DESC(D_EDP, "ExponentialHistogramDataPoint", [1] = "attributes", [2] = "start_time_unix_nano",
     [3] = "time_unix_nano", [4] = "count", [5] = "sum", [6] = "scale", [7] = "zero_count",
     [8] = "positive", [9] = "negative", [10] = "flags", [11] = "exemplars", [12] = "min",
     [13] = "max", [14] = "zero_threshold");
DESC(D_BUCKETS, "ExponentialHistogramDataPoint.Buckets", [1] = "offset", [2] = "bucket_counts");
DESC(D_SDP, "SummaryDataPoint", [2] = "start_time_unix_nano", [3] = "time_unix_nano", [4] = "count",
     [5] = "sum", [6] = "quantile_values", [7] = "attributes", [8] = "flags");
DESC(D_VAQ, "SummaryDataPoint.ValueAtQuantile", [1] = "quantile", [2] = "value");
DESC(D_EXEMPLAR, "Exemplar", [2] = "time_unix_nano", [3] = "as_double", [4] = "span_id",
     [5] = "trace_id", [6] = "as_int", [7] = "filtered_attributes");

typedef struct {
    const msgdesc *req, *res, *scope;
    const char *noun; /* what a rejected record is called in partial_success */
} kinddesc;

static const kinddesc KINDS[3] = {
    [OTLP_TRACES] = {&D_TRACE_REQ, &D_RES_SPANS, &D_SCOPE_SPANS, "span"},
    [OTLP_LOGS] = {&D_LOGS_REQ, &D_RES_LOGS, &D_SCOPE_LOGS, "log record"},
    [OTLP_METRICS] = {&D_METRICS_REQ, &D_RES_METRICS, &D_SCOPE_METRICS, "data point"},
};

/* ---------------------------------------------------------------------------
 * Decoder state.
 *
 * The path stack names where the decoder is (resource_spans[0].scope_spans[1]
 * ...); it is only formatted when something goes wrong, so keeping it costs two
 * stores per nested message. Rejections are kept per level: a bad resource or
 * scope refuses every record under it, a bad metric every point of it. Each
 * level's reason is written relative to that level's place in the path.
 * ------------------------------------------------------------------------- */
enum { L_RES, L_SCOPE, L_METRIC, L_REC, L_COUNT };
#define PATH_CAP 128
#define REJ_LEN 200

typedef struct {
    model_batch *b;
    const kinddesc *kd;
    char *err;
    size_t errlen;
    struct {
        const char *name;
        int64_t idx; /* -1 for a singular field */
    } path[PATH_CAP];
    unsigned depth;
    unsigned lvl;
    unsigned rbase[L_COUNT];
    char rej[L_COUNT][REJ_LEN];
    uint64_t nrec; /* records of this request so far (the ordinal in reject reasons) */
    /* Scratch buffers, reused for every record. */
    buf attrs;  /* the current message's attribute list */
    buf sub;    /* attributes of an event, link or exemplar */
    buf meta;   /* Metric.metadata */
    buf events; /* events of the current span */
    buf links;  /* links of the current span */
    buf body;   /* log body */
    buf pay;    /* metric payload */
    buf l1, l2; /* metric arrays: buckets/bounds, positive/negative, quantiles */
} dec;

static void push(dec *d, const char *name, int64_t idx)
{
    if (d->depth < PATH_CAP) {
        d->path[d->depth].name = name;
        d->path[d->depth].idx = idx;
    }
    d->depth++;
}

static void pop(dec *d)
{
    d->depth--;
}

/* Bounded string builder over a caller's array; always NUL-terminated. */
typedef struct {
    char *p;
    size_t cap, n;
} sbuf;

static void sb_vadd(sbuf *s, const char *fmt, va_list ap)
{
    if (s->cap == 0 || s->n >= s->cap - 1)
        return;
    int k = vsnprintf(s->p + s->n, s->cap - s->n, fmt, ap);
    if (k < 0)
        return;
    s->n += (size_t)k;
    if (s->n > s->cap - 1)
        s->n = s->cap - 1;
}

static void sb_add(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vadd(s, fmt, ap);
    va_end(ap);
}

static void sb_path(sbuf *s, const dec *d, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++) {
        if (i >= PATH_CAP) {
            sb_add(s, ".(%u more)", to - i);
            return;
        }
        sb_add(s, "%s%s", s->n ? "." : "", d->path[i].name);
        if (d->path[i].idx >= 0)
            sb_add(s, "[%lld]", (long long)d->path[i].idx);
    }
}

static void sb_field(sbuf *s, const msgdesc *m, uint32_t field)
{
    if (field == 0)
        return;
    if (field < m->nfields && m->fields[field])
        sb_add(s, "%s%s", s->n ? "." : "", m->fields[field]);
    else
        sb_add(s, "%sfield %u", s->n ? " " : "", field);
}

/* Formats "<Request>.<path>[.<field>]: <reason>" into d->err. */
static int fail(dec *d, const msgdesc *m, uint32_t field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(dec *d, const msgdesc *m, uint32_t field, const char *fmt, ...)
{
    if (d->errlen == 0)
        return BRAID_EINVAL;
    sbuf s = {d->err, d->errlen, 0};
    s.p[0] = 0;
    sb_add(&s, "%s", d->kd->req->name);
    sb_path(&s, d, 0, d->depth);
    sb_field(&s, m, field);
    sb_add(&s, ": ");
    va_list ap;
    va_start(ap, fmt);
    sb_vadd(&s, fmt, ap);
    va_end(ap);
    return BRAID_EINVAL;
}

static int fail_read(dec *d, const msgdesc *m, const pb_reader *r)
{
    char why[128];
    return fail(d, m, r->err_field, "%s", pb_reader_strerror(r, why, sizeof why));
}

static int fail_wire(dec *d, const msgdesc *m, const pb_field *f, unsigned want)
{
    return fail(d, m, f->num, "wire type %u (%s), expected %s", f->wire, pb_wire_name(f->wire),
                pb_wire_name(want));
}

/* Notes why the record at the current level is refused (first reason wins).
 * At most `maxsegs` path segments below the level are named. */
static void reject_v(dec *d, const msgdesc *m, uint32_t field, unsigned maxsegs, const char *fmt,
                     va_list ap)
{
    char *o = d->rej[d->lvl];
    if (o[0])
        return;
    sbuf s = {o, REJ_LEN, 0};
    unsigned from = d->rbase[d->lvl];
    unsigned to = d->depth - from > maxsegs ? from + maxsegs : d->depth;
    sb_path(&s, d, from, to);
    if (to == d->depth)
        sb_field(&s, m, field);
    if (s.n)
        sb_add(&s, " ");
    sb_vadd(&s, fmt, ap);
}

static void reject(dec *d, const msgdesc *m, uint32_t field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reject(dec *d, const msgdesc *m, uint32_t field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reject_v(d, m, field, UINT32_MAX, fmt, ap);
    va_end(ap);
}

/* Like reject, naming only the first path segment below the level. */
static void reject_short(dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reject_short(dec *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reject_v(d, NULL, 0, 1, fmt, ap);
    va_end(ap);
}

/* Enters a level: clears its reason and those of the levels below it. */
static void level_begin(dec *d, unsigned lvl)
{
    d->lvl = lvl;
    d->rbase[lvl] = d->depth;
    for (unsigned l = lvl; l < L_COUNT; l++)
        d->rej[l][0] = 0;
}

static const char *rej_reason(const dec *d)
{
    for (unsigned l = 0; l < L_COUNT; l++)
        if (d->rej[l][0])
            return d->rej[l];
    return NULL;
}

/* Copies src[from..] into the batch arena. Zero bytes give an empty slice. */
static int keep(dec *d, const buf *src, size_t from, bslice *out)
{
    if (src->err)
        return BRAID_ENOMEM;
    return model_batch_keep(d->b, src->p + from, src->n - from, out);
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int e_ = (x);                                                                              \
        if (e_)                                                                                    \
            return e_;                                                                             \
    } while (0)
#define WANT(m, w)                                                                                 \
    do {                                                                                           \
        if (f.wire != (w))                                                                         \
            return fail_wire(d, &(m), &f, (w));                                                    \
    } while (0)
#define READ_LOOP(msg)                                                                             \
    pb_reader r;                                                                                   \
    pb_field f;                                                                                    \
    int rc;                                                                                        \
    pb_reader_init_slice(&r, (msg));                                                               \
    while ((rc = pb_next(&r, &f)) == 1)
#define READ_END(m)                                                                                \
    do {                                                                                           \
        if (rc < 0)                                                                                \
            return fail_read(d, &(m), &r);                                                         \
    } while (0)

/* A string field: wire type checked, UTF-8 checked (a bad one refuses the
 * record, it does not fail the request). */
static int get_str(dec *d, const msgdesc *m, const pb_field *f, bslice *out)
{
    if (f->wire != PB_LEN)
        return fail_wire(d, m, f, PB_LEN);
    if (!otlp_utf8_valid(f->s.p, f->s.n))
        reject(d, m, f->num, "is not valid UTF-8");
    *out = f->s;
    return 0;
}

/* ---------------------------------------------------------------------------
 * AnyValue and attributes, transcoded into the model's "av" encoding.
 * `level` is the nesting of the value: 1 for a body or an attribute value,
 * one more for each array or kvlist around it.
 * ------------------------------------------------------------------------- */
static int dec_kv(dec *d, bslice msg, buf *out, unsigned level);

static int dec_array(dec *d, bslice msg, buf *out, unsigned level);
static int dec_kvlist(dec *d, bslice msg, buf *out, unsigned level);

static int dec_anyvalue(dec *d, bslice msg, buf *out, unsigned level)
{
    if (level > AV_MAX_DEPTH) {
        /* Refuse the record without looking inside: the nesting is the
         * sender's to choose and must not become our recursion depth. Only
         * the outermost place is named; the full path would be ~100 names. */
        reject_short(d, "has AnyValue nesting deeper than %d levels", AV_MAX_DEPTH);
        av_put_empty(out);
        return 0;
    }
    size_t start = out->n;
    READ_LOOP(msg)
    {
        /* A oneof: when several members are present the last one wins. */
        switch (f.num) {
        case 1: {
            bslice s;
            TRY(get_str(d, &D_ANY, &f, &s));
            out->n = start;
            av_put_str(out, s);
            break;
        }
        case 2:
            WANT(D_ANY, PB_VARINT);
            out->n = start;
            av_put_bool(out, f.v != 0);
            break;
        case 3:
            WANT(D_ANY, PB_VARINT);
            out->n = start;
            av_put_int(out, (int64_t)f.v);
            break;
        case 4:
            WANT(D_ANY, PB_I64);
            out->n = start;
            av_put_double(out, pb_bits_double(f.v));
            break;
        case 5:
            WANT(D_ANY, PB_LEN);
            out->n = start;
            push(d, "array_value", -1);
            TRY(dec_array(d, f.s, out, level));
            pop(d);
            break;
        case 6:
            WANT(D_ANY, PB_LEN);
            out->n = start;
            push(d, "kvlist_value", -1);
            TRY(dec_kvlist(d, f.s, out, level));
            pop(d);
            break;
        case 7:
            WANT(D_ANY, PB_LEN);
            out->n = start;
            av_put_bytes(out, f.s);
            break;
        default:
            break;
        }
    }
    READ_END(D_ANY);
    if (out->n == start)
        av_put_empty(out);
    return 0;
}

static int dec_array(dec *d, bslice msg, buf *out, unsigned level)
{
    size_t pos = av_begin_array(out);
    uint32_t n = 0;
    READ_LOOP(msg)
    {
        if (f.num != 1)
            continue;
        WANT(D_ARRAY, PB_LEN);
        push(d, "values", n);
        TRY(dec_anyvalue(d, f.s, out, level + 1));
        pop(d);
        n++;
    }
    READ_END(D_ARRAY);
    av_end_count(out, pos, n);
    return 0;
}

static int dec_kvlist(dec *d, bslice msg, buf *out, unsigned level)
{
    size_t pos = av_begin_kvlist(out);
    uint32_t n = 0;
    READ_LOOP(msg)
    {
        if (f.num != 1)
            continue;
        WANT(D_KVLIST, PB_LEN);
        push(d, "values", n);
        TRY(dec_kv(d, f.s, out, level + 1));
        pop(d);
        n++;
    }
    READ_END(D_KVLIST);
    av_end_count(out, pos, n);
    return 0;
}

/* Appends one attrs entry (u32 keylen, key, value). */
static int dec_kv(dec *d, bslice msg, buf *out, unsigned level)
{
    bslice key = {NULL, 0}, val = {NULL, 0};
    bool has_val = false;
    READ_LOOP(msg)
    {
        switch (f.num) {
        case 1:
            TRY(get_str(d, &D_KV, &f, &key));
            break;
        case 2:
            WANT(D_KV, PB_LEN);
            val = f.s;
            has_val = true;
            break;
        default:
            break;
        }
    }
    READ_END(D_KV);
    av_put_key(out, key);
    if (!has_val) {
        av_put_empty(out);
        return 0;
    }
    push(d, "value", -1);
    TRY(dec_anyvalue(d, val, out, level));
    pop(d);
    return 0;
}

/* One repeated-KeyValue field occurrence, appended to an attrs list being
 * built in `out` (the caller writes the count when the message ends). */
static int add_attr(dec *d, const msgdesc *m, const pb_field *f, const char *name, buf *out,
                    uint32_t *n)
{
    if (f->wire != PB_LEN)
        return fail_wire(d, m, f, PB_LEN);
    push(d, name, *n);
    TRY(dec_kv(d, f->s, out, 1));
    pop(d);
    (*n)++;
    return 0;
}

/* Closes an attrs list begun at `pos` in `src` and keeps it (empty: n == 0). */
static int end_attrs(dec *d, buf *src, size_t pos, uint32_t n, bslice *out)
{
    av_end_count(src, pos, n);
    if (src->err)
        return BRAID_ENOMEM;
    if (n == 0) {
        *out = (bslice){NULL, 0};
        return 0;
    }
    return keep(d, src, pos, out);
}

/* ---------------------------------------------------------------------------
 * Resource and scope: one model_origin per (resource, scope) pair.
 * ------------------------------------------------------------------------- */
static int dec_resource(dec *d, bslice msg, model_origin *o, uint32_t *nattrs)
{
    READ_LOOP(msg)
    {
        switch (f.num) {
        case 1:
            TRY(add_attr(d, &D_RESOURCE, &f, "attributes", &d->attrs, nattrs));
            break;
        case 2:
            WANT(D_RESOURCE, PB_VARINT);
            o->resource_dropped = (uint32_t)f.v;
            break;
        default:
            break;
        }
    }
    READ_END(D_RESOURCE);
    return 0;
}

static int dec_scope(dec *d, bslice msg, model_origin *o, uint32_t *nattrs)
{
    READ_LOOP(msg)
    {
        switch (f.num) {
        case 1:
            TRY(get_str(d, &D_SCOPE, &f, &o->scope_name));
            break;
        case 2:
            TRY(get_str(d, &D_SCOPE, &f, &o->scope_version));
            break;
        case 3:
            TRY(add_attr(d, &D_SCOPE, &f, "attributes", &d->attrs, nattrs));
            break;
        case 4:
            WANT(D_SCOPE, PB_VARINT);
            o->scope_dropped = (uint32_t)f.v;
            break;
        default:
            break;
        }
    }
    READ_END(D_SCOPE);
    return 0;
}

/* Refuses a record (counted for partial_success) when any level has a reason. */
static bool refuse_if_rejected(dec *d, uint64_t ordinal)
{
    const char *why = rej_reason(d);
    if (!why)
        return false;
    model_batch_reject(d->b, "%s %llu: %s", d->kd->noun, (unsigned long long)ordinal, why);
    return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* ---------------------------------------------------------------------------
 * Spans.
 * ------------------------------------------------------------------------- */
static int dec_event(dec *d, bslice msg)
{
    uint64_t t = 0;
    bslice name = {NULL, 0};
    uint32_t dropped = 0, na = 0;
    buf_reset(&d->sub);
    size_t apos = av_begin_count(&d->sub);
    READ_LOOP(msg)
    {
        switch (f.num) {
        case 1:
            WANT(D_EVENT, PB_I64);
            t = f.v;
            break;
        case 2:
            TRY(get_str(d, &D_EVENT, &f, &name));
            break;
        case 3:
            TRY(add_attr(d, &D_EVENT, &f, "attributes", &d->sub, &na));
            break;
        case 4:
            WANT(D_EVENT, PB_VARINT);
            dropped = (uint32_t)f.v;
            break;
        default:
            break;
        }
    }
    READ_END(D_EVENT);
    av_end_count(&d->sub, apos, na);
    if (d->sub.err)
        return BRAID_ENOMEM;
    buf *e = &d->events;
    buf_put_u64le(e, t);
    buf_put_u32le(e, (uint32_t)name.n);
    buf_append(e, name.p, name.n);
    buf_put_u32le(e, na ? (uint32_t)d->sub.n : 0);
    if (na)
        buf_append(e, d->sub.p, d->sub.n);
    buf_put_u32le(e, dropped);
    return 0;
}

static int dec_link(dec *d, bslice msg)
{
    bslice tid = {NULL, 0}, sid = {NULL, 0}, ts = {NULL, 0};
    uint32_t dropped = 0, flags = 0, na = 0;
    buf_reset(&d->sub);
    size_t apos = av_begin_count(&d->sub);
    READ_LOOP(msg)
    {
        switch (f.num) {
        case 1:
            WANT(D_LINK, PB_LEN);
            tid = f.s;
            break;
        case 2:
            WANT(D_LINK, PB_LEN);
            sid = f.s;
            break;
        case 3:
            TRY(get_str(d, &D_LINK, &f, &ts));
            break;
        case 4:
            TRY(add_attr(d, &D_LINK, &f, "attributes", &d->sub, &na));
            break;
        case 5:
            WANT(D_LINK, PB_VARINT);
            dropped = (uint32_t)f.v;
            break;
        case 6:
            WANT(D_LINK, PB_I32);
            flags = (uint32_t)f.v;
            break;
        default:
            break;
        }
    }
    READ_END(D_LINK);
    av_end_count(&d->sub, apos, na);
    if (d->sub.err)
        return BRAID_ENOMEM;
    static const uint8_t zero[16];
    if (tid.n != 16) {
        reject(d, &D_LINK, 1, "must be 16 bytes, got %zu", tid.n);
        tid = (bslice){zero, 16};
    }
    if (sid.n != 8) {
        reject(d, &D_LINK, 2, "must be 8 bytes, got %zu", sid.n);
        sid = (bslice){zero, 8};
    }
    buf *l = &d->links;
    buf_append(l, tid.p, 16);
    buf_append(l, sid.p, 8);
    buf_put_u32le(l, (uint32_t)ts.n);
    buf_append(l, ts.p, ts.n);
    buf_put_u32le(l, na ? (uint32_t)d->sub.n : 0);
    if (na)
        buf_append(l, d->sub.p, d->sub.n);
    buf_put_u32le(l, dropped);
    buf_put_u32le(l, flags);
    return 0;
}

static int dec_status(dec *d, bslice msg, model_span *sp)
{
    READ_LOOP(msg)
    {
        switch (f.num) {
        case 2:
            TRY(get_str(d, &D_STATUS, &f, &sp->status_message));
            break;
        case 3: {
            WANT(D_STATUS, PB_VARINT);
            int32_t c = pb_as_int32(f.v);
            sp->status_code = c >= 0 && c <= 2 ? c : 0;
            break;
        }
        default:
            break;
        }
    }
    READ_END(D_STATUS);
    return 0;
}

/* Starts a list encoding that begins with a u32 count (events, links); the
 * count is written by end_list. */
static void begin_list(buf *b)
{
    buf_reset(b);
    buf_put_u32le(b, 0);
}

static int end_list(dec *d, buf *b, uint32_t n, bslice *out)
{
    if (b->err)
        return BRAID_ENOMEM;
    if (n == 0) {
        *out = (bslice){NULL, 0};
        return 0;
    }
    wr_u32le(b->p, n);
    return keep(d, b, 0, out);
}

static int dec_span(dec *d, bslice msg, const model_origin *o)
{
    level_begin(d, L_REC);
    model_span sp;
    memset(&sp, 0, sizeof sp);
    sp.origin = o;
    bslice tid = {NULL, 0}, sid = {NULL, 0}, psid = {NULL, 0};
    uint32_t na = 0, nev = 0, nlk = 0;
    buf_reset(&d->attrs);
    size_t apos = av_begin_count(&d->attrs);
    begin_list(&d->events);
    begin_list(&d->links);
    READ_LOOP(msg)
    {
        switch (f.num) {
        case 1:
            WANT(D_SPAN, PB_LEN);
            tid = f.s;
            break;
        case 2:
            WANT(D_SPAN, PB_LEN);
            sid = f.s;
            break;
        case 3:
            TRY(get_str(d, &D_SPAN, &f, &sp.trace_state));
            break;
        case 4:
            WANT(D_SPAN, PB_LEN);
            psid = f.s;
            break;
        case 5:
            TRY(get_str(d, &D_SPAN, &f, &sp.name));
            break;
        case 6: {
            WANT(D_SPAN, PB_VARINT);
            int32_t k = pb_as_int32(f.v);
            sp.kind = k >= 0 && k <= 5 ? k : 0;
            break;
        }
        case 7:
            WANT(D_SPAN, PB_I64);
            sp.start_ns = f.v;
            break;
        case 8:
            WANT(D_SPAN, PB_I64);
            sp.end_ns = f.v;
            break;
        case 9:
            TRY(add_attr(d, &D_SPAN, &f, "attributes", &d->attrs, &na));
            break;
        case 10:
            WANT(D_SPAN, PB_VARINT);
            sp.dropped_attrs = (uint32_t)f.v;
            break;
        case 11:
            WANT(D_SPAN, PB_LEN);
            push(d, "events", nev);
            TRY(dec_event(d, f.s));
            pop(d);
            nev++;
            break;
        case 12:
            WANT(D_SPAN, PB_VARINT);
            sp.dropped_events = (uint32_t)f.v;
            break;
        case 13:
            WANT(D_SPAN, PB_LEN);
            push(d, "links", nlk);
            TRY(dec_link(d, f.s));
            pop(d);
            nlk++;
            break;
        case 14:
            WANT(D_SPAN, PB_VARINT);
            sp.dropped_links = (uint32_t)f.v;
            break;
        case 15:
            WANT(D_SPAN, PB_LEN);
            push(d, "status", -1);
            TRY(dec_status(d, f.s, &sp));
            pop(d);
            break;
        case 16:
            WANT(D_SPAN, PB_I32);
            sp.flags = (uint32_t)f.v;
            break;
        default:
            break;
        }
    }
    READ_END(D_SPAN);
    if (tid.n != 16)
        reject(d, &D_SPAN, 1, "must be 16 bytes, got %zu", tid.n);
    else if (all_zero(tid.p, 16))
        reject(d, &D_SPAN, 1, "must not be all zeros");
    if (sid.n != 8)
        reject(d, &D_SPAN, 2, "must be 8 bytes, got %zu", sid.n);
    else if (all_zero(sid.p, 8))
        reject(d, &D_SPAN, 2, "must not be all zeros");
    if (psid.n != 0 && psid.n != 8)
        reject(d, &D_SPAN, 4, "must be empty or 8 bytes, got %zu", psid.n);
    if (refuse_if_rejected(d, d->nrec++))
        return 0;
    memcpy(sp.trace_id.b, tid.p, 16);
    memcpy(sp.span_id.b, sid.p, 8);
    if (psid.n == 8)
        memcpy(sp.parent_span_id.b, psid.p, 8);
    TRY(end_attrs(d, &d->attrs, apos, na, &sp.attrs));
    TRY(end_list(d, &d->events, nev, &sp.events));
    TRY(end_list(d, &d->links, nlk, &sp.links));
    model_span *row = model_batch_add_span(d->b);
    if (!row)
        return BRAID_ENOMEM;
    *row = sp;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Log records.
 * ------------------------------------------------------------------------- */
static int dec_log(dec *d, bslice msg, const model_origin *o)
{
    level_begin(d, L_REC);
    model_log lg;
    memset(&lg, 0, sizeof lg);
    lg.origin = o;
    lg.source = BSLICE_LIT("otlp");
    bslice tid = {NULL, 0}, sid = {NULL, 0};
    bool has_body = false;
    uint32_t na = 0;
    buf_reset(&d->attrs);
    size_t apos = av_begin_count(&d->attrs);
    READ_LOOP(msg)
    {
        switch (f.num) {
        case 1:
            WANT(D_LOG, PB_I64);
            lg.time_ns = f.v;
            break;
        case 11:
            WANT(D_LOG, PB_I64);
            lg.observed_ns = f.v;
            break;
        case 2: {
            WANT(D_LOG, PB_VARINT);
            int32_t s = pb_as_int32(f.v);
            lg.severity_number = s >= 0 && s <= 24 ? s : 0;
            break;
        }
        case 3:
            TRY(get_str(d, &D_LOG, &f, &lg.severity_text));
            break;
        case 5:
            WANT(D_LOG, PB_LEN);
            buf_reset(&d->body);
            push(d, "body", -1);
            TRY(dec_anyvalue(d, f.s, &d->body, 1));
            pop(d);
            has_body = true;
            break;
        case 6:
            TRY(add_attr(d, &D_LOG, &f, "attributes", &d->attrs, &na));
            break;
        case 7:
            WANT(D_LOG, PB_VARINT);
            lg.dropped_attrs = (uint32_t)f.v;
            break;
        case 8:
            WANT(D_LOG, PB_I32);
            lg.flags = (uint32_t)f.v;
            break;
        case 9:
            WANT(D_LOG, PB_LEN);
            tid = f.s;
            break;
        case 10:
            WANT(D_LOG, PB_LEN);
            sid = f.s;
            break;
        case 12:
            TRY(get_str(d, &D_LOG, &f, &lg.event_name));
            break;
        default:
            break;
        }
    }
    READ_END(D_LOG);
    if (tid.n != 0 && tid.n != 16)
        reject(d, &D_LOG, 9, "must be 16 bytes, got %zu", tid.n);
    if (sid.n != 0 && sid.n != 8)
        reject(d, &D_LOG, 10, "must be 8 bytes, got %zu", sid.n);
    if (refuse_if_rejected(d, d->nrec++))
        return 0;
    if (tid.n == 16 && !all_zero(tid.p, 16)) {
        memcpy(lg.trace_id.b, tid.p, 16);
        lg.id_form = ID_FORM_BINARY;
    }
    if (sid.n == 8)
        memcpy(lg.span_id.b, sid.p, 8);
    TRY(end_attrs(d, &d->attrs, apos, na, &lg.attrs));
    if (has_body)
        TRY(keep(d, &d->body, 0, &lg.body));
    model_log *row = model_batch_add_log(d->b);
    if (!row)
        return BRAID_ENOMEM;
    *row = lg;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Metrics: one row per data point, one exemplar row per exemplar.
 * ------------------------------------------------------------------------- */
typedef struct {
    const model_origin *origin;
    bslice name, description, unit, metadata;
    uint8_t type, temporality, monotonic;
    const msgdesc *pt;
    uint32_t attrs_f, flags_f, exemplars_f; /* field numbers differ per point type */
} metric_ctx;

/* Values of one data point before they are laid out as the payload. */
typedef struct {
    uint64_t count, zero_count;
    double sum, min, max, zero_threshold;
    bool has_sum, has_min, has_max;
    int32_t scale, offset[2];
} point_vals;

/* A repeated fixed64 or double: packed (one PB_LEN) or not (PB_I64 each).
 * Appends the raw little-endian values to out. */
static int add_fixed64s(dec *d, const msgdesc *m, const pb_field *f, buf *out)
{
    if (f->wire == PB_I64) {
        buf_put_u64le(out, f->v);
        return 0;
    }
    if (f->wire != PB_LEN)
        return fail_wire(d, m, f, PB_LEN);
    pb_reader pr;
    pb_reader_init_slice(&pr, f->s);
    uint64_t v;
    int rc;
    while ((rc = pb_read_fixed64(&pr, &v)) == 1)
        buf_put_u64le(out, v);
    if (rc < 0) {
        char why[128];
        return fail(d, m, f->num, "%s", pb_reader_strerror(&pr, why, sizeof why));
    }
    return 0;
}

/* A repeated uint64: packed varints or one varint per field. */
static int add_varints(dec *d, const msgdesc *m, const pb_field *f, buf *out)
{
    if (f->wire == PB_VARINT) {
        buf_put_u64le(out, f->v);
        return 0;
    }
    if (f->wire != PB_LEN)
        return fail_wire(d, m, f, PB_LEN);
    pb_reader pr;
    pb_reader_init_slice(&pr, f->s);
    uint64_t v;
    int rc;
    while ((rc = pb_read_varint(&pr, &v)) == 1)
        buf_put_u64le(out, v);
    if (rc < 0) {
        char why[128];
        return fail(d, m, f->num, "%s", pb_reader_strerror(&pr, why, sizeof why));
    }
    return 0;
}

static int dec_buckets(dec *d, bslice msg, buf *counts, int32_t *offset)
{
    READ_LOOP(msg)
    {
        switch (f.num) {
        case 1:
            WANT(D_BUCKETS, PB_VARINT);
            *offset = pb_zigzag_dec32((uint32_t)f.v);
            break;
        case 2:
            TRY(add_varints(d, &D_BUCKETS, &f, counts));
            break;
        default:
            break;
        }
    }
    READ_END(D_BUCKETS);
    return 0;
}

static int dec_quantile(dec *d, bslice msg)
{
    uint64_t q = 0, v = 0;
    READ_LOOP(msg)
    {
        switch (f.num) {
        case 1:
            WANT(D_VAQ, PB_I64);
            q = f.v;
            break;
        case 2:
            WANT(D_VAQ, PB_I64);
            v = f.v;
            break;
        default:
            break;
        }
    }
    READ_END(D_VAQ);
    buf_put_u64le(&d->l1, q);
    buf_put_u64le(&d->l1, v);
    return 0;
}

static int dec_exemplar(dec *d, bslice msg, const model_metric *pt)
{
    model_exemplar x;
    memset(&x, 0, sizeof x);
    x.origin = pt->origin;
    x.metric_name = pt->name;
    x.metric_type = pt->type;
    x.series_attrs = pt->attrs;
    bslice tid = {NULL, 0}, sid = {NULL, 0};
    uint32_t na = 0;
    buf_reset(&d->sub);
    size_t apos = av_begin_count(&d->sub);
    READ_LOOP(msg)
    {
        switch (f.num) {
        case 2:
            WANT(D_EXEMPLAR, PB_I64);
            x.time_ns = f.v;
            break;
        case 3:
            WANT(D_EXEMPLAR, PB_I64);
            x.is_int = 0;
            x.value_double = pb_bits_double(f.v);
            x.value_int = 0;
            break;
        case 6:
            WANT(D_EXEMPLAR, PB_I64);
            x.is_int = 1;
            x.value_int = (int64_t)f.v;
            x.value_double = 0;
            break;
        case 4:
            WANT(D_EXEMPLAR, PB_LEN);
            sid = f.s;
            break;
        case 5:
            WANT(D_EXEMPLAR, PB_LEN);
            tid = f.s;
            break;
        case 7:
            TRY(add_attr(d, &D_EXEMPLAR, &f, "filtered_attributes", &d->sub, &na));
            break;
        default:
            break;
        }
    }
    READ_END(D_EXEMPLAR);
    if (tid.n != 0 && tid.n != 16)
        reject(d, &D_EXEMPLAR, 5, "must be 16 bytes, got %zu", tid.n);
    if (sid.n != 0 && sid.n != 8)
        reject(d, &D_EXEMPLAR, 4, "must be 8 bytes, got %zu", sid.n);
    if (tid.n == 16)
        memcpy(x.trace_id.b, tid.p, 16);
    if (sid.n == 8)
        memcpy(x.span_id.b, sid.p, 8);
    TRY(end_attrs(d, &d->sub, apos, na, &x.filtered_attrs));
    x.bucket = -1;
    if (pt->type == METRIC_HISTOGRAM)
        x.bucket = model_hist_bucket(pt->payload, x.is_int ? (double)x.value_int : x.value_double);
    model_exemplar *row = model_batch_add_exemplar(d->b);
    if (!row)
        return BRAID_ENOMEM;
    *row = x;
    return 0;
}

/* Reads the fields specific to one point type (not attributes, flags, times
 * or exemplars). Returns 1 if the field was not one of them. */
static int point_field(dec *d, const metric_ctx *m, const pb_field *fp, model_metric *pt,
                       point_vals *v)
{
    pb_field f = *fp;
    const msgdesc *D = m->pt;
    switch (m->type) {
    case METRIC_GAUGE:
    case METRIC_SUM:
        if (f.num == 4 || f.num == 6) {
            if (f.wire != PB_I64)
                return fail_wire(d, D, &f, PB_I64);
            pt->is_int = f.num == 6;
            pt->value_double = f.num == 4 ? pb_bits_double(f.v) : 0;
            pt->value_int = f.num == 6 ? (int64_t)f.v : 0;
            return 0;
        }
        return 1;
    case METRIC_HISTOGRAM:
        switch (f.num) {
        case 6:
            return add_fixed64s(d, D, &f, &d->l1);
        case 7:
            return add_fixed64s(d, D, &f, &d->l2);
        case 4:
        case 5:
        case 11:
        case 12:
            break;
        default:
            return 1;
        }
        break;
    case METRIC_EXP_HISTOGRAM:
        switch (f.num) {
        case 6:
            if (f.wire != PB_VARINT)
                return fail_wire(d, D, &f, PB_VARINT);
            v->scale = pb_zigzag_dec32((uint32_t)f.v);
            return 0;
        case 8:
        case 9: {
            if (f.wire != PB_LEN)
                return fail_wire(d, D, &f, PB_LEN);
            push(d, f.num == 8 ? "positive" : "negative", -1);
            TRY(dec_buckets(d, f.s, f.num == 8 ? &d->l1 : &d->l2, &v->offset[f.num - 8]));
            pop(d);
            return 0;
        }
        case 4:
        case 5:
        case 7:
        case 12:
        case 13:
        case 14:
            break;
        default:
            return 1;
        }
        break;
    case METRIC_SUMMARY:
        switch (f.num) {
        case 6: {
            if (f.wire != PB_LEN)
                return fail_wire(d, D, &f, PB_LEN);
            push(d, "quantile_values", (int64_t)(d->l1.n / 16));
            TRY(dec_quantile(d, f.s));
            pop(d);
            return 0;
        }
        case 4:
        case 5:
            break;
        default:
            return 1;
        }
        break;
    default:
        return 1;
    }
    /* What is left are the fixed64/double scalars shared by the three
     * distribution types; their numbers line up except min/max. */
    if (f.wire != PB_I64)
        return fail_wire(d, D, &f, PB_I64);
    bool exph = m->type == METRIC_EXP_HISTOGRAM;
    if (f.num == 4)
        v->count = f.v;
    else if (f.num == 5) {
        v->sum = pb_bits_double(f.v);
        v->has_sum = true;
    } else if (f.num == (exph ? 12u : 11u)) {
        v->min = pb_bits_double(f.v);
        v->has_min = true;
    } else if (f.num == (exph ? 13u : 12u)) {
        v->max = pb_bits_double(f.v);
        v->has_max = true;
    } else if (exph && f.num == 7)
        v->zero_count = f.v;
    else if (exph && f.num == 14)
        v->zero_threshold = pb_bits_double(f.v);
    return 0;
}

static void put_f64(buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    buf_put_u64le(b, bits);
}

/* Lays out the payload documented in model.h for the point's type. */
static void build_payload(dec *d, uint8_t type, const point_vals *v)
{
    buf *p = &d->pay;
    buf_reset(p);
    switch (type) {
    case METRIC_HISTOGRAM:
        buf_put_u64le(p, v->count);
        put_f64(p, v->sum);
        buf_putc(p, v->has_sum);
        put_f64(p, v->min);
        buf_putc(p, v->has_min);
        put_f64(p, v->max);
        buf_putc(p, v->has_max);
        buf_put_u32le(p, (uint32_t)(d->l1.n / 8));
        buf_append(p, d->l1.p, d->l1.n);
        buf_put_u32le(p, (uint32_t)(d->l2.n / 8));
        buf_append(p, d->l2.p, d->l2.n);
        break;
    case METRIC_EXP_HISTOGRAM:
        buf_put_u64le(p, v->count);
        put_f64(p, v->sum);
        buf_putc(p, v->has_sum);
        buf_put_u32le(p, (uint32_t)v->scale);
        buf_put_u64le(p, v->zero_count);
        put_f64(p, v->zero_threshold);
        put_f64(p, v->min);
        buf_putc(p, v->has_min);
        put_f64(p, v->max);
        buf_putc(p, v->has_max);
        buf_put_u32le(p, (uint32_t)v->offset[0]);
        buf_put_u32le(p, (uint32_t)(d->l1.n / 8));
        buf_append(p, d->l1.p, d->l1.n);
        buf_put_u32le(p, (uint32_t)v->offset[1]);
        buf_put_u32le(p, (uint32_t)(d->l2.n / 8));
        buf_append(p, d->l2.p, d->l2.n);
        break;
    case METRIC_SUMMARY:
        buf_put_u64le(p, v->count);
        put_f64(p, v->sum);
        buf_put_u32le(p, (uint32_t)(d->l1.n / 16));
        buf_append(p, d->l1.p, d->l1.n);
        break;
    default:
        break;
    }
}

static int dec_point(dec *d, bslice msg, const metric_ctx *m)
{
    level_begin(d, L_REC);
    model_metric pt;
    memset(&pt, 0, sizeof pt);
    pt.origin = m->origin;
    pt.name = m->name;
    pt.description = m->description;
    pt.unit = m->unit;
    pt.metadata = m->metadata;
    pt.type = m->type;
    pt.temporality = m->temporality;
    pt.monotonic = m->monotonic;
    point_vals v;
    memset(&v, 0, sizeof v);
    uint32_t na = 0;
    buf_reset(&d->attrs);
    buf_reset(&d->l1);
    buf_reset(&d->l2);
    size_t apos = av_begin_count(&d->attrs);
    const msgdesc *D = m->pt;
    {
        READ_LOOP(msg)
        {
            if (f.num == m->attrs_f) {
                TRY(add_attr(d, D, &f, "attributes", &d->attrs, &na));
            } else if (f.num == m->flags_f) {
                if (f.wire != PB_VARINT)
                    return fail_wire(d, D, &f, PB_VARINT);
                pt.flags = (uint32_t)f.v;
            } else if (f.num == m->exemplars_f) {
                if (f.wire != PB_LEN)
                    return fail_wire(d, D, &f, PB_LEN);
            } else if (f.num == 2 || f.num == 3) {
                if (f.wire != PB_I64)
                    return fail_wire(d, D, &f, PB_I64);
                if (f.num == 2)
                    pt.start_ns = f.v;
                else
                    pt.time_ns = f.v;
            } else {
                int e = point_field(d, m, &f, &pt, &v);
                if (e < 0)
                    return e;
            }
        }
        READ_END(*D);
    }
    TRY(end_attrs(d, &d->attrs, apos, na, &pt.attrs));
    if (m->type != METRIC_GAUGE && m->type != METRIC_SUM) {
        if (d->l1.err || d->l2.err)
            return BRAID_ENOMEM;
        build_payload(d, m->type, &v);
        TRY(keep(d, &d->pay, 0, &pt.payload));
    }
    /* Exemplars come after the point is complete: they need its attributes
     * and, for histograms, its buckets. A bad one refuses the whole point. */
    size_t nex = d->b->nexemplars;
    if (m->exemplars_f) {
        uint32_t i = 0;
        READ_LOOP(msg)
        {
            if (f.num != m->exemplars_f)
                continue;
            push(d, "exemplars", i++);
            TRY(dec_exemplar(d, f.s, &pt));
            pop(d);
        }
        READ_END(*D);
    }
    if (refuse_if_rejected(d, d->nrec++)) {
        d->b->nexemplars = nex;
        return 0;
    }
    model_metric *row = model_batch_add_metric(d->b);
    if (!row)
        return BRAID_ENOMEM;
    *row = pt;
    return 0;
}

static int dec_points(dec *d, uint32_t field, bslice msg, metric_ctx *m)
{
    static const struct {
        uint8_t type;
        const msgdesc *container, *point;
        uint32_t attrs_f, flags_f, exemplars_f;
    } types[] = {
        {METRIC_GAUGE, &D_GAUGE, &D_NDP, 7, 8, 5},
        {METRIC_SUM, &D_SUM, &D_NDP, 7, 8, 5},
        {METRIC_HISTOGRAM, &D_HIST, &D_HDP, 9, 10, 8},
        {METRIC_EXP_HISTOGRAM, &D_EXPH, &D_EDP, 1, 10, 11},
        {METRIC_SUMMARY, &D_SUMMARY, &D_SDP, 7, 8, 0},
    };
    size_t t = field == 5 ? 0 : field == 7 ? 1 : field == 9 ? 2 : field == 10 ? 3 : 4;
    m->type = types[t].type;
    m->pt = types[t].point;
    m->attrs_f = types[t].attrs_f;
    m->flags_f = types[t].flags_f;
    m->exemplars_f = types[t].exemplars_f;
    const msgdesc *C = types[t].container;
    bool has_temporality =
        m->type == METRIC_SUM || m->type == METRIC_HISTOGRAM || m->type == METRIC_EXP_HISTOGRAM;
    {
        READ_LOOP(msg)
        {
            if (f.num == 1) {
                if (f.wire != PB_LEN)
                    return fail_wire(d, C, &f, PB_LEN);
            } else if (f.num == 2 && has_temporality) {
                if (f.wire != PB_VARINT)
                    return fail_wire(d, C, &f, PB_VARINT);
                int32_t tmp = pb_as_int32(f.v);
                m->temporality = tmp >= 0 && tmp <= 2 ? (uint8_t)tmp : 0;
            } else if (f.num == 3 && m->type == METRIC_SUM) {
                if (f.wire != PB_VARINT)
                    return fail_wire(d, C, &f, PB_VARINT);
                m->monotonic = f.v != 0;
            }
        }
        READ_END(*C);
    }
    uint32_t i = 0;
    READ_LOOP(msg)
    {
        if (f.num != 1)
            continue;
        push(d, "data_points", i++);
        TRY(dec_point(d, f.s, m));
        pop(d);
    }
    READ_END(*C);
    return 0;
}

static int dec_metric(dec *d, bslice msg, const model_origin *o)
{
    level_begin(d, L_METRIC);
    metric_ctx m;
    memset(&m, 0, sizeof m);
    m.origin = o;
    uint32_t data_f = 0, nmeta = 0;
    bslice data = {NULL, 0};
    buf_reset(&d->meta);
    size_t mpos = av_begin_count(&d->meta);
    {
        READ_LOOP(msg)
        {
            switch (f.num) {
            case 1:
                TRY(get_str(d, &D_METRIC, &f, &m.name));
                break;
            case 2:
                TRY(get_str(d, &D_METRIC, &f, &m.description));
                break;
            case 3:
                TRY(get_str(d, &D_METRIC, &f, &m.unit));
                break;
            case 5:
            case 7:
            case 9:
            case 10:
            case 11:
                /* A oneof: the last member present wins. */
                WANT(D_METRIC, PB_LEN);
                data_f = f.num;
                data = f.s;
                break;
            case 12:
                TRY(add_attr(d, &D_METRIC, &f, "metadata", &d->meta, &nmeta));
                break;
            default:
                break;
            }
        }
        READ_END(D_METRIC);
    }
    TRY(end_attrs(d, &d->meta, mpos, nmeta, &m.metadata));
    if (!data_f)
        return 0;
    push(d, D_METRIC.fields[data_f], -1);
    TRY(dec_points(d, data_f, data, &m));
    pop(d);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Request, resource and scope levels (shared by the three signals).
 * ------------------------------------------------------------------------- */
static int dec_record(dec *d, otlp_kind k, bslice msg, const model_origin *o)
{
    switch (k) {
    case OTLP_TRACES:
        return dec_span(d, msg, o);
    case OTLP_LOGS:
        return dec_log(d, msg, o);
    case OTLP_METRICS:
        return dec_metric(d, msg, o);
    }
    return BRAID_EINVAL;
}

static int dec_scope_x(dec *d, otlp_kind k, bslice msg, const model_origin *res)
{
    level_begin(d, L_SCOPE);
    const msgdesc *D = d->kd->scope;
    model_origin o = *res;
    uint32_t na = 0;
    buf_reset(&d->attrs);
    size_t apos = av_begin_count(&d->attrs);
    {
        /* The scope may follow the records on the wire; read it first. */
        READ_LOOP(msg)
        {
            switch (f.num) {
            case 1:
                WANT(*D, PB_LEN);
                push(d, "scope", -1);
                TRY(dec_scope(d, f.s, &o, &na));
                pop(d);
                break;
            case 2:
                WANT(*D, PB_LEN);
                break;
            case 3:
                TRY(get_str(d, D, &f, &o.scope_schema_url));
                break;
            default:
                break;
            }
        }
        READ_END(*D);
    }
    TRY(end_attrs(d, &d->attrs, apos, na, &o.scope_attrs));
    model_origin *op = model_batch_add_origin(d->b);
    if (!op)
        return BRAID_ENOMEM;
    *op = o;
    uint32_t i = 0;
    READ_LOOP(msg)
    {
        if (f.num != 2)
            continue;
        push(d, D->fields[2], i++);
        TRY(dec_record(d, k, f.s, op));
        pop(d);
    }
    READ_END(*D);
    return 0;
}

static int dec_resource_x(dec *d, otlp_kind k, bslice msg)
{
    level_begin(d, L_RES);
    const msgdesc *D = d->kd->res;
    model_origin o;
    memset(&o, 0, sizeof o);
    uint32_t na = 0;
    buf_reset(&d->attrs);
    size_t apos = av_begin_count(&d->attrs);
    {
        READ_LOOP(msg)
        {
            switch (f.num) {
            case 1:
                WANT(*D, PB_LEN);
                push(d, "resource", -1);
                TRY(dec_resource(d, f.s, &o, &na));
                pop(d);
                break;
            case 2:
                WANT(*D, PB_LEN);
                break;
            case 3:
                TRY(get_str(d, D, &f, &o.resource_schema_url));
                break;
            default:
                break;
            }
        }
        READ_END(*D);
    }
    TRY(end_attrs(d, &d->attrs, apos, na, &o.resource_attrs));
    bslice v;
    /* model's readers do pointer arithmetic on the slice: never hand them NULL */
    if (o.resource_attrs.n && av_find(o.resource_attrs, "service.name", &v) == 1)
        av_as_str(v, &o.service);
    uint32_t i = 0;
    READ_LOOP(msg)
    {
        if (f.num != 2)
            continue;
        push(d, D->fields[2], i++);
        TRY(dec_scope_x(d, k, f.s, &o));
        pop(d);
    }
    READ_END(*D);
    return 0;
}

static int dec_request(dec *d, otlp_kind k, bslice msg)
{
    const msgdesc *D = d->kd->req;
    uint32_t i = 0;
    READ_LOOP(msg)
    {
        if (f.num != 1)
            continue;
        WANT(*D, PB_LEN);
        push(d, D->fields[1], i++);
        TRY(dec_resource_x(d, k, f.s));
        pop(d);
    }
    READ_END(*D);
    return 0;
}

int otlp_decode_pb(otlp_kind k, const uint8_t *data, size_t n, model_batch *b, char *err,
                   size_t errlen)
{
    if (errlen)
        err[0] = 0;
    if ((unsigned)k > OTLP_METRICS) {
        if (errlen)
            snprintf(err, errlen, "unknown OTLP signal kind %d", (int)k);
        return BRAID_EINVAL;
    }
    dec *d = calloc(1, sizeof *d);
    if (!d) {
        if (errlen)
            snprintf(err, errlen, "out of memory");
        return BRAID_ENOMEM;
    }
    d->b = b;
    d->kd = &KINDS[k];
    d->err = err;
    d->errlen = errlen;
    int rc;
    if (n > UINT32_MAX) {
        /* The row encodings carry u32 lengths. */
        rc = fail(d, d->kd->req, 0, "request of %zu bytes is over 4 GiB", n);
    } else {
        rc = dec_request(d, k, (bslice){data, n});
    }
    if (rc == BRAID_ENOMEM && errlen)
        snprintf(err, errlen, "out of memory");
    buf *scratch[] = {&d->attrs, &d->sub, &d->meta, &d->events, &d->links,
                      &d->body,  &d->pay, &d->l1,   &d->l2};
    for (size_t i = 0; i < sizeof scratch / sizeof scratch[0]; i++)
        buf_free(scratch[i]);
    free(d);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Responses.
 * ------------------------------------------------------------------------- */
void otlp_encode_response_pb(otlp_kind k, uint64_t rejected, const char *msg, buf *out)
{
    /* ExportTracePartialSuccess, ExportLogsPartialSuccess and
     * ExportMetricsPartialSuccess share one layout: rejected_* = 1 (int64),
     * error_message = 2; so does the partial_success field (1). */
    (void)k;
    bool has_msg = msg && msg[0];
    if (rejected == 0 && !has_msg)
        return;
    size_t pos = pb_begin(out, 1);
    if (rejected)
        pb_put_int64(out, 1, (int64_t)rejected);
    if (has_msg)
        pb_put_string(out, 2, msg);
    pb_end(out, pos);
}

void otlp_encode_status_pb(int code, const char *msg, buf *out)
{
    if (code)
        pb_put_int64(out, 1, code);
    if (msg && msg[0])
        pb_put_string(out, 2, msg);
}

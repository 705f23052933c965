/* model: what a row is. Log records, spans, metric points and exemplars as the
 * decoders produce them and the store keeps them, plus the byte encodings of
 * the nested parts (AnyValue, attribute lists, events, links, metric payloads)
 * and trace/span id parsing. Rows hold slices; whoever fills a batch owns the
 * bytes the slices point to (a request buffer or an arena) for its lifetime.
 * Never allocates behind the caller's back: writers append to a caller's buf. */
#ifndef BRAID_MODEL_H
#define BRAID_MODEL_H

#include "../util/util.h"

/* ---------------------------------------------------------------------------
 * Encoded values ("av" encoding). All integers little-endian, fixed width so a
 * writer can patch counts after the fact.
 *
 *   value   := tag:u8 payload
 *     AV_EMPTY  0  (no payload)
 *     AV_STR    1  u32 len, bytes (UTF-8 as received)
 *     AV_BOOL   2  u8 (0|1)
 *     AV_INT    3  i64
 *     AV_DOUBLE 4  f64 (IEEE 754 bits)
 *     AV_BYTES  5  u32 len, bytes
 *     AV_ARRAY  6  u32 count, value*
 *     AV_KVLIST 7  u32 count, (u32 keylen, key, value)*
 *   attrs   := u32 count, (u32 keylen, key, value)*     (a KVLIST payload)
 *
 * An empty attribute list may be stored as zero bytes (slice with n == 0); all
 * readers treat that as count 0.
 * ------------------------------------------------------------------------- */
enum {
    AV_EMPTY = 0,
    AV_STR = 1,
    AV_BOOL = 2,
    AV_INT = 3,
    AV_DOUBLE = 4,
    AV_BYTES = 5,
    AV_ARRAY = 6,
    AV_KVLIST = 7,
};

/* Max nesting of arrays/kvlists accepted by decoders and readers. */
#define AV_MAX_DEPTH 32

/* Validates an encoded value / attrs fully (bounds, tags, depth). 0 or EINVAL. */
int av_validate_value(bslice v);
int av_validate_attrs(bslice a);
/* Returns the byte length of the value starting at p (within n), or EINVAL. */
int av_value_len(const uint8_t *p, size_t n, size_t *len);

/* Iterates an attrs encoding. Usage:
 *   av_iter it; av_iter_init(&it, attrs);
 *   bslice k, v; while (av_iter_next(&it, &k, &v) == 1) ...
 * av_iter_next returns 1 with an entry, 0 at the end, BRAID_EINVAL if broken.
 * v is the whole encoded value (tag included). */
typedef struct {
    const uint8_t *p, *end;
    uint32_t left;
} av_iter;
void av_iter_init(av_iter *it, bslice attrs);
int av_iter_next(av_iter *it, bslice *key, bslice *value);

/* Finds a key in attrs; returns 1 and the value, or 0. */
int av_find(bslice attrs, const char *key, bslice *value);
/* If v is AV_STR, sets *s to the string and returns 1; else 0. */
int av_as_str(bslice v, bslice *s);

/* Writers (append to b; errors accumulate in b->err). To write a list whose
 * count is not known in advance: pos = av_begin_count(b); ...; av_end_count(b, pos, n). */
void av_put_empty(buf *b);
void av_put_str(buf *b, bslice s);
void av_put_bool(buf *b, bool v);
void av_put_int(buf *b, int64_t v);
void av_put_double(buf *b, double v);
void av_put_bytes(buf *b, bslice s);
void av_put_key(buf *b, bslice key); /* u32 keylen + key, for kvlist/attrs entries */
size_t av_begin_array(buf *b);       /* writes tag + placeholder count */
size_t av_begin_kvlist(buf *b);      /* writes tag + placeholder count */
size_t av_begin_count(buf *b);       /* placeholder count only (for attrs) */
void av_end_count(buf *b, size_t pos, uint32_t count);

/* Writes the value as JSON: strings as strings, ints as numbers, doubles as
 * numbers (NaN/Inf as strings), bytes as base64 strings, arrays as arrays,
 * kvlists as objects, empty as null. Attrs as a JSON object. */
void av_value_to_json(buf *out, bslice v);
void av_attrs_to_json(buf *out, bslice attrs);
/* Writes a JSON string literal (quotes + escapes) of s; invalid UTF-8 bytes
 * are replaced by U+FFFD so the output is always valid JSON. */
void json_put_str(buf *out, bslice s);

/* ---------------------------------------------------------------------------
 * Span events:  u32 count, (u64 time_ns, u32 namelen, name, u32 attrslen, attrs,
 *                            u32 dropped_attrs)*
 * Span links:   u32 count, (trace_id[16], span_id[8], u32 tslen, trace_state,
 *                            u32 attrslen, attrs, u32 dropped_attrs, u32 flags)*
 * Readers: model_events_to_json / model_links_to_json (JSON arrays).
 * ------------------------------------------------------------------------- */
void model_events_to_json(buf *out, bslice events);
void model_links_to_json(buf *out, bslice links);
int model_validate_events(bslice events);
int model_validate_links(bslice links);

/* ---------------------------------------------------------------------------
 * Trace and span ids.
 * ------------------------------------------------------------------------- */
typedef struct {
    uint8_t b[16];
} trace_id_t;
typedef struct {
    uint8_t b[8];
} span_id_t;

bool trace_id_is_zero(const trace_id_t *t);
bool span_id_is_zero(const span_id_t *s);
/* Writes 32 (or 16) lowercase hex digits plus NUL into out. */
void trace_id_hex(const trace_id_t *t, char out[33]);
void span_id_hex(const span_id_t *s, char out[17]);

/* How an id was spelled (recorded for format drift). */
typedef enum {
    ID_FORM_NONE = 0,
    ID_FORM_HEX32 = 1,       /* canonical 32 lowercase hex */
    ID_FORM_HEX32_UPPER = 2, /* 32 hex with upper case */
    ID_FORM_HEX16 = 3,       /* 64-bit id in 16 hex, left-padded */
    ID_FORM_TRACEPARENT = 4, /* W3C traceparent value */
    ID_FORM_DECIMAL = 5,     /* Datadog decimal 64-bit */
    ID_FORM_BINARY = 6,      /* OTLP bytes field */
} id_form;

/* Parses a trace id in any accepted form (32 hex any case, 16 hex, traceparent,
 * decimal 64-bit). Returns 1 and fills *out (and *form, and *span and *flags when a
 * traceparent also carries them; each may be NULL) if it is a valid non-zero id;
 * 0 if it is not (never an error: "0", zeros, garbage mean no id). */
int trace_id_parse(bslice s, trace_id_t *out, id_form *form, span_id_t *span, uint8_t *flags);
/* Parses a span id: 16 hex any case, or decimal 64-bit. 1 valid, 0 not. */
int span_id_parse(bslice s, span_id_t *out, id_form *form);
/* Decimal-only forms, for fields known to hold Datadog's 64-bit decimal ids
 * (dd.trace_id, dd.span_id), where 16 digits are still decimal, not hex:
 * 1 to 20 digits, at most 2^64-1, non-zero; form is ID_FORM_DECIMAL. 1 valid,
 * 0 not. */
int trace_id_parse_dec(bslice s, trace_id_t *out);
int span_id_parse_dec(bslice s, span_id_t *out);
/* Strict canonical parsing for API paths: exactly 32 hex digits (any case) or
 * any form trace_id_parse accepts; returns 0 ok, BRAID_EINVAL malformed,
 * BRAID_ENOTFOUND when well-formed but all zeros. */
int trace_id_parse_api(bslice s, trace_id_t *out);

/* ---------------------------------------------------------------------------
 * Rows.
 * ------------------------------------------------------------------------- */
typedef enum {
    SIGNAL_LOGS = 0,
    SIGNAL_SPANS = 1,
    SIGNAL_METRICS = 2,
    SIGNAL_EXEMPLARS = 3
} signal_t;
#define SIGNAL_COUNT 4
const char *signal_name(signal_t s);

/* Where a row came from (resource + scope), shared by many rows. */
typedef struct {
    bslice service;        /* resource attribute service.name, may be empty */
    bslice resource_attrs; /* attrs encoding */
    uint32_t resource_dropped;
    bslice resource_schema_url;
    bslice scope_name, scope_version;
    bslice scope_attrs; /* attrs encoding */
    uint32_t scope_dropped;
    bslice scope_schema_url;
} model_origin;

typedef struct {
    const model_origin *origin;
    uint64_t time_ns, observed_ns;
    trace_id_t trace_id; /* all-zero = none */
    span_id_t span_id;
    uint32_t flags; /* OTLP LogRecord.flags (bit 0x01 = sampled) */
    int32_t severity_number;
    bslice severity_text;
    bslice body; /* av value encoding; n == 0 means no body */
    bslice attrs;
    uint32_t dropped_attrs;
    bslice event_name;
    bslice source;   /* "otlp" or a file path */
    uint8_t id_form; /* id_form the trace id arrived in */
    bslice id_field; /* field the trace id was extracted from; empty = native */
} model_log;

typedef struct {
    const model_origin *origin;
    trace_id_t trace_id;
    span_id_t span_id, parent_span_id;
    bslice trace_state;
    uint32_t flags;
    bslice name;
    int32_t kind; /* OTLP SpanKind 0..5 */
    uint64_t start_ns, end_ns;
    bslice attrs;
    uint32_t dropped_attrs;
    bslice events; /* events encoding */
    uint32_t dropped_events;
    bslice links; /* links encoding */
    uint32_t dropped_links;
    int32_t status_code; /* 0 unset, 1 ok, 2 error */
    bslice status_message;
} model_span;

typedef enum {
    METRIC_GAUGE = 1,
    METRIC_SUM = 2,
    METRIC_HISTOGRAM = 3,
    METRIC_EXP_HISTOGRAM = 4,
    METRIC_SUMMARY = 5,
} metric_type;

/* One data point. Type-specific data lives in `payload`:
 *   GAUGE/SUM:  empty (value in value_double / value_int, is_int says which)
 *   HISTOGRAM:  u64 count, f64 sum, u8 has_sum, f64 min, u8 has_min, f64 max,
 *               u8 has_max, u32 nbuckets, u64 bucket_counts[nbuckets],
 *               u32 nbounds, f64 bounds[nbounds]
 *   EXP_HISTOGRAM: u64 count, f64 sum, u8 has_sum, i32 scale, u64 zero_count,
 *               f64 zero_threshold, f64 min, u8 has_min, f64 max, u8 has_max,
 *               i32 pos_offset, u32 npos, u64 pos[npos],
 *               i32 neg_offset, u32 nneg, u64 neg[nneg]
 *   SUMMARY:    u64 count, f64 sum, u32 nq, (f64 quantile, f64 value)*nq
 * (all little-endian). model_metric_payload_to_json renders it. */
typedef struct {
    const model_origin *origin;
    bslice name, description, unit;
    uint8_t type;        /* metric_type */
    uint8_t temporality; /* 0 unspecified, 1 delta, 2 cumulative */
    uint8_t monotonic;
    uint8_t is_int;
    bslice attrs; /* point attributes */
    uint64_t start_ns, time_ns;
    uint32_t flags;
    double value_double;
    int64_t value_int;
    bslice payload;
    bslice metadata; /* Metric.metadata attrs, may be empty */
} model_metric;

typedef struct {
    const model_origin *origin;
    bslice metric_name;
    uint8_t metric_type;
    bslice series_attrs; /* the point's attributes (its series) */
    uint64_t time_ns;
    uint8_t is_int;
    double value_double;
    int64_t value_int;
    trace_id_t trace_id;
    span_id_t span_id;
    bslice filtered_attrs;
    int32_t bucket; /* histogram bucket index the value falls in, -1 if none */
} model_exemplar;

int model_metric_payload_to_json(buf *out, uint8_t type, bslice payload);
/* Histogram bucket helpers used by decoders to compute model_exemplar.bucket. */
int32_t model_hist_bucket(bslice payload, double value);

/* A decoded request: rows of any signals, plus their origins. The batch owns
 * its arrays (in `ar`); the bytes the slices point to belong to the request
 * buffer or to `ar`. Free with model_batch_free. */
typedef struct {
    arena ar;
    model_log *logs;
    size_t nlogs, caplogs;
    model_span *spans;
    size_t nspans, capspans;
    model_metric *metrics;
    size_t nmetrics, capmetrics;
    model_exemplar *exemplars;
    size_t nexemplars, capexemplars;
    /* Records the decoder refused (partial success) and why (first reason). */
    uint64_t rejected;
    char reject_msg[256];
} model_batch;

void model_batch_init(model_batch *b);
void model_batch_free(model_batch *b);
/* Each returns a zeroed row appended to the batch, or NULL on ENOMEM. */
model_log *model_batch_add_log(model_batch *b);
model_span *model_batch_add_span(model_batch *b);
model_metric *model_batch_add_metric(model_batch *b);
model_exemplar *model_batch_add_exemplar(model_batch *b);
model_origin *model_batch_add_origin(model_batch *b);
/* Notes one rejected record with a reason (the first reason is kept). */
void model_batch_reject(model_batch *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies bytes into the batch arena; returns the slice (n == 0 on ENOMEM with
 * non-empty input is reported through the return value of the caller). */
int model_batch_keep(model_batch *b, const void *p, size_t n, bslice *out);

#endif

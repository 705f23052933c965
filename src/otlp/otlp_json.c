/* otlp/json: OTLP/JSON (the protobuf JSON mapping of opentelemetry-proto v1,
 * with the OTLP deviations: hex trace/span ids, integer enums) into model rows,
 * and the JSON forms of the export responses and google.rpc.Status. Owns only
 * a per-call scratch arena and buffer; row strings without escapes are slices
 * of the request. Must produce the same rows as otlp_pb.c for the same data:
 * every mapping rule here follows model.h, never the other decoder. */
#include "otlp.h"

#include "../json/json.h"

#include <stdio.h>
#include <stdlib.h>

/* Deeper than any valid request needs: an AnyValue nested AV_MAX_DEPTH times
 * takes about 4 * 33 JSON levels below a record, and beyond that the record
 * is rejected, not the message. */
#define OTLP_JSON_MAX_DEPTH 512
#define PATH_SEGS 192
#define XSTR(x) STR(x)
#define STR(x) #x
#define TOO_DEEP "nested deeper than " XSTR(AV_MAX_DEPTH) " levels"

typedef struct {
    const char *name;
    uint32_t idx; /* array index, JSON_NONE if the segment is a plain field */
} pseg;

typedef struct {
    const json_doc *d;
    model_batch *b;
    arena tmp; /* the node array and decoded strings that are copied again */
    char *err;
    size_t errlen;
    pseg path[PATH_SEGS]; /* where the decoder is, for messages */
    uint32_t npath;       /* may exceed PATH_SEGS; extra segments are elided */
    buf sc;               /* scratch for encodings before they are kept */
    bool too_deep;        /* an AnyValue went past AV_MAX_DEPTH */
    const model_origin *origin;
    const char *origin_bad; /* why every record of the current origin is rejected */
} jctx;

/* ---- paths and errors ---- */

static void path_push(jctx *c, const char *name)
{
    if (c->npath < PATH_SEGS)
        c->path[c->npath] = (pseg){name, JSON_NONE};
    c->npath++;
}

static void path_index(jctx *c, uint32_t i)
{
    if (c->npath - 1 < PATH_SEGS)
        c->path[c->npath - 1].idx = i;
}

static void path_pop(jctx *c)
{
    c->npath--;
}

static void path_fmt(const jctx *c, const char *field, char *out, size_t n)
{
    size_t o = 0;
    uint32_t segs = c->npath < PATH_SEGS ? c->npath : PATH_SEGS;
    out[0] = 0;
    for (uint32_t i = 0; i < segs && o < n; i++) {
        int w = c->path[i].idx == JSON_NONE
                    ? snprintf(out + o, n - o, "%s%s", i ? "." : "", c->path[i].name)
                    : snprintf(out + o, n - o, "%s%s[%u]", i ? "." : "", c->path[i].name,
                               c->path[i].idx);
        o += w > 0 ? (size_t)w : 0;
    }
    if (c->npath > PATH_SEGS && o < n) {
        int w = snprintf(out + o, n - o, "...");
        o += w > 0 ? (size_t)w : 0;
    }
    if (field && o < n)
        snprintf(out + o, n - o, "%s%s", o ? "." : "", field);
}

/* A message-level error at the current path (plus `field` if not NULL). */
static int fail(jctx *c, const char *field, const char *msg)
{
    if (c->err && c->errlen) {
        char p[400];
        path_fmt(c, field, p, sizeof p);
        snprintf(c->err, c->errlen, "%s: %s", p[0] ? p : "request", msg);
    }
    return BRAID_EINVAL;
}

/* A record-level rejection of the record at the current path. */
static void reject(jctx *c, const char *why)
{
    char p[400];
    path_fmt(c, NULL, p, sizeof p);
    model_batch_reject(c->b, "%s: %s", p, why);
}

/* ---- field tables ---- */

typedef struct {
    const char *camel;
    uint8_t clen;
    const char *snake;
    uint8_t slen;
} fname;
#define FN(c, s)                                                                                   \
    {                                                                                              \
        c, sizeof(c) - 1, s, sizeof(s) - 1                                                         \
    }
#define NF(t) (sizeof(t) / sizeof((t)[0]))

static bool key_is(const json_doc *d, uint32_t k, bool esc, bslice raw, const char *name,
                   size_t len)
{
    if (esc)
        return json_str_eq(d, k, (bslice){(const uint8_t *)name, len});
    return raw.n == len && memcmp(raw.p, name, len) == 0;
}

/* Fills out[j] with the value of field j of object obj (either spelling; the
 * last occurrence wins), JSON_NONE when absent or null. Unknown members are
 * ignored. */
static void get_fields(jctx *c, uint32_t obj, const fname *f, size_t nf, uint32_t *out)
{
    for (size_t j = 0; j < nf; j++)
        out[j] = JSON_NONE;
    json_iter it;
    json_iter_init(&it, c->d, obj);
    uint32_t k, v;
    while (json_iter_next(&it, &k, &v)) {
        bool esc = c->d->nodes[k].flags & JSON_F_ESCAPED;
        bslice raw = json_raw(c->d, k);
        for (size_t j = 0; j < nf; j++) {
            if (key_is(c->d, k, esc, raw, f[j].camel, f[j].clen) ||
                key_is(c->d, k, esc, raw, f[j].snake, f[j].slen)) {
                out[j] = json_is_null(c->d, v) ? JSON_NONE : v;
                break;
            }
        }
    }
}

/* ---- typed getters: a JSON_NONE node leaves *out untouched ---- */

static int need_type(jctx *c, uint32_t v, const char *field, json_type t)
{
    if (json_type_of(c->d, v) == t)
        return 0;
    return fail(c, field, t == JSON_OBJECT ? "expected an object" : "expected an array");
}

static int get_str(jctx *c, uint32_t v, const char *field, arena *ar, bslice *out)
{
    if (v == JSON_NONE)
        return 0;
    if (json_type_of(c->d, v) != JSON_STRING)
        return fail(c, field, "expected a string");
    return json_str(c->d, v, ar, out);
}

static int int_fail(jctx *c, const char *field, int rc)
{
    return rc == BRAID_ETOOBIG ? fail(c, field, "integer out of range")
                               : fail(c, field, "expected an integer");
}

static int get_u64(jctx *c, uint32_t v, const char *field, uint64_t *out)
{
    if (v == JSON_NONE)
        return 0;
    int rc = json_get_u64(c->d, v, out);
    return rc ? int_fail(c, field, rc) : 0;
}

static int get_u32(jctx *c, uint32_t v, const char *field, uint32_t *out)
{
    uint64_t u = *out;
    int rc = get_u64(c, v, field, &u);
    if (rc)
        return rc;
    if (u > UINT32_MAX)
        return int_fail(c, field, BRAID_ETOOBIG);
    *out = (uint32_t)u;
    return 0;
}

static int get_i64(jctx *c, uint32_t v, const char *field, int64_t *out)
{
    if (v == JSON_NONE)
        return 0;
    int rc = json_get_i64(c->d, v, out);
    return rc ? int_fail(c, field, rc) : 0;
}

static int get_i32(jctx *c, uint32_t v, const char *field, int32_t *out)
{
    int64_t i = *out;
    int rc = get_i64(c, v, field, &i);
    if (rc)
        return rc;
    if (i < INT32_MIN || i > INT32_MAX)
        return int_fail(c, field, BRAID_ETOOBIG);
    *out = (int32_t)i;
    return 0;
}

static int get_double(jctx *c, uint32_t v, const char *field, double *out)
{
    if (v == JSON_NONE)
        return 0;
    int rc = json_get_double(c->d, v, out);
    if (rc == BRAID_ETOOBIG)
        return fail(c, field, "number out of range");
    if (rc == BRAID_EINVAL)
        return fail(c, field, "expected a number");
    return rc;
}

static int get_bool(jctx *c, uint32_t v, const char *field, bool *out)
{
    if (v == JSON_NONE)
        return 0;
    return json_get_bool(c->d, v, out) ? fail(c, field, "expected a boolean") : 0;
}

/* An enum: its number (JSON number or numeric string) or its name, where
 * names[i] is the name of value i. */
static int get_enum(jctx *c, uint32_t v, const char *field, const char *const *names, size_t nnames,
                    int32_t *out)
{
    if (v == JSON_NONE)
        return 0;
    if (json_type_of(c->d, v) == JSON_STRING) {
        for (size_t i = 0; i < nnames; i++) {
            if (json_str_eq(c->d, v, bslice_cstr(names[i]))) {
                *out = (int32_t)i;
                return 0;
            }
        }
        int64_t i;
        if (json_get_i64(c->d, v, &i) == 0 && i >= INT32_MIN && i <= INT32_MAX) {
            *out = (int32_t)i;
            return 0;
        }
        return fail(c, field, "unknown enum value");
    }
    return get_i32(c, v, field, out);
}

static const char *const span_kind_names[] = {
    "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
};
static const char *const status_code_names[] = {
    "STATUS_CODE_UNSET",
    "STATUS_CODE_OK",
    "STATUS_CODE_ERROR",
};
static const char *const severity_names[] = {
    "SEVERITY_NUMBER_UNSPECIFIED", "SEVERITY_NUMBER_TRACE",  "SEVERITY_NUMBER_TRACE2",
    "SEVERITY_NUMBER_TRACE3",      "SEVERITY_NUMBER_TRACE4", "SEVERITY_NUMBER_DEBUG",
    "SEVERITY_NUMBER_DEBUG2",      "SEVERITY_NUMBER_DEBUG3", "SEVERITY_NUMBER_DEBUG4",
    "SEVERITY_NUMBER_INFO",        "SEVERITY_NUMBER_INFO2",  "SEVERITY_NUMBER_INFO3",
    "SEVERITY_NUMBER_INFO4",       "SEVERITY_NUMBER_WARN",   "SEVERITY_NUMBER_WARN2",
    "SEVERITY_NUMBER_WARN3",       "SEVERITY_NUMBER_WARN4",  "SEVERITY_NUMBER_ERROR",
    "SEVERITY_NUMBER_ERROR2",      "SEVERITY_NUMBER_ERROR3", "SEVERITY_NUMBER_ERROR4",
    "SEVERITY_NUMBER_FATAL",       "SEVERITY_NUMBER_FATAL2", "SEVERITY_NUMBER_FATAL3",
    "SEVERITY_NUMBER_FATAL4",
};
static const char *const temporality_names[] = {
    "AGGREGATION_TEMPORALITY_UNSPECIFIED",
    "AGGREGATION_TEMPORALITY_DELTA",
    "AGGREGATION_TEMPORALITY_CUMULATIVE",
};

static int hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

enum { ID_ABSENT = 0, ID_VALID = 1, ID_MALFORMED = -1 };

/* A trace or span id as OTLP/JSON writes it: exactly 2*nbytes hex digits in
 * any case; "" means absent. Fills out (zeros unless valid), *state, and
 * *upper when a digit was upper case. */
static int get_id(jctx *c, uint32_t v, const char *field, uint8_t *out, size_t nbytes, int *state,
                  bool *upper)
{
    memset(out, 0, nbytes);
    *state = ID_ABSENT;
    if (upper)
        *upper = false;
    if (v == JSON_NONE)
        return 0;
    if (json_type_of(c->d, v) != JSON_STRING)
        return fail(c, field, "expected a hex string");
    bslice s;
    int rc = json_str(c->d, v, &c->tmp, &s);
    if (rc)
        return rc;
    if (s.n == 0)
        return 0;
    *state = ID_MALFORMED;
    if (s.n != 2 * nbytes)
        return 0;
    uint8_t tmp[16];
    bool up = false;
    for (size_t i = 0; i < nbytes; i++) {
        int hi = hexval(s.p[2 * i]), lo = hexval(s.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        up |= s.p[2 * i] >= 'A' && s.p[2 * i] <= 'F';
        up |= s.p[2 * i + 1] >= 'A' && s.p[2 * i + 1] <= 'F';
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out, tmp, nbytes);
    *state = ID_VALID;
    if (upper)
        *upper = up;
    return 0;
}

static int b64val(uint8_t ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* Decodes base64 (standard or URL-safe alphabet, padding optional, as the
 * protobuf JSON mapping allows) into out, which has room for s.n bytes. */
static int b64_decode(bslice s, uint8_t *out, size_t *outlen)
{
    size_t n = s.n;
    if (n % 4 == 0 && n > 0 && s.p[n - 1] == '=') {
        n--;
        if (s.p[n - 1] == '=')
            n--;
    }
    if (n % 4 == 1)
        return BRAID_EINVAL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s.p[i]);
        if (v < 0)
            return BRAID_EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    *outlen = o;
    return 0;
}

/* ---- AnyValue and attributes ---- */

enum { AVF_STR, AVF_BOOL, AVF_INT, AVF_DOUBLE, AVF_ARRAY, AVF_KVLIST, AVF_BYTES, AVF_N };
static const fname av_fields[] = {
    FN("stringValue", "string_value"), FN("boolValue", "bool_value"),
    FN("intValue", "int_value"),       FN("doubleValue", "double_value"),
    FN("arrayValue", "array_value"),   FN("kvlistValue", "kvlist_value"),
    FN("bytesValue", "bytes_value"),
};

static int enc_value(jctx *c, uint32_t v, int depth, buf *o);

/* KeyValue entries of array arr (depth of their values), appended to o as
 * (u32 keylen, key, value)*; *count gets the number of entries. */
static int enc_entries(jctx *c, uint32_t arr, int depth, buf *o, uint32_t *count)
{
    static const fname kv_fields[] = {FN("key", "key"), FN("value", "value")};
    json_iter it;
    uint32_t k, e, i = 0, f[2];
    json_iter_init(&it, c->d, arr);
    while (json_iter_next(&it, &k, &e)) {
        path_index(c, i++);
        int rc = need_type(c, e, NULL, JSON_OBJECT);
        if (rc)
            return rc;
        get_fields(c, e, kv_fields, NF(kv_fields), f);
        bslice key = {NULL, 0};
        if ((rc = get_str(c, f[0], "key", &c->tmp, &key)))
            return rc;
        av_put_key(o, key);
        if (f[1] == JSON_NONE) {
            av_put_empty(o);
            continue;
        }
        path_push(c, "value");
        rc = enc_value(c, f[1], depth, o);
        path_pop(c);
        if (rc)
            return rc;
    }
    *count = i;
    return 0;
}

/* The `values` array of an arrayValue or kvlistValue object v. */
static int list_values(jctx *c, uint32_t v, uint32_t *arr)
{
    static const fname vf[] = {FN("values", "values")};
    int rc = need_type(c, v, NULL, JSON_OBJECT);
    if (rc)
        return rc;
    get_fields(c, v, vf, 1, arr);
    if (*arr != JSON_NONE)
        return need_type(c, *arr, "values", JSON_ARRAY);
    return 0;
}

/* Encodes AnyValue object v (at nesting depth `depth`) into o. Past
 * AV_MAX_DEPTH it notes c->too_deep, so the record is rejected, and stops. */
static int enc_value(jctx *c, uint32_t v, int depth, buf *o)
{
    if (depth > AV_MAX_DEPTH) {
        c->too_deep = true;
        av_put_empty(o);
        return 0;
    }
    int rc = need_type(c, v, NULL, JSON_OBJECT);
    if (rc)
        return rc;
    uint32_t f[AVF_N];
    get_fields(c, v, av_fields, AVF_N, f);
    /* A oneof set twice: the later member wins, as protobuf merging does. */
    int which = -1;
    for (int j = 0; j < AVF_N; j++)
        if (f[j] != JSON_NONE && (which < 0 || f[j] > f[which]))
            which = j;
    if (which < 0) {
        av_put_empty(o);
        return 0;
    }
    uint32_t x = f[which];
    const char *name = av_fields[which].camel;
    switch (which) {
    case AVF_STR: {
        bslice s;
        if ((rc = get_str(c, x, name, &c->tmp, &s)))
            return rc;
        av_put_str(o, s);
        return 0;
    }
    case AVF_BOOL: {
        bool bv;
        if ((rc = get_bool(c, x, name, &bv)))
            return rc;
        av_put_bool(o, bv);
        return 0;
    }
    case AVF_INT: {
        int64_t iv;
        if ((rc = get_i64(c, x, name, &iv)))
            return rc;
        av_put_int(o, iv);
        return 0;
    }
    case AVF_DOUBLE: {
        double dv;
        if ((rc = get_double(c, x, name, &dv)))
            return rc;
        av_put_double(o, dv);
        return 0;
    }
    case AVF_BYTES: {
        bslice s;
        if ((rc = get_str(c, x, name, &c->tmp, &s)))
            return rc;
        uint8_t *raw = arena_alloc(&c->tmp, s.n);
        size_t rn;
        if (!raw)
            return BRAID_ENOMEM;
        if (b64_decode(s, raw, &rn))
            return fail(c, name, "invalid base64");
        av_put_bytes(o, (bslice){raw, rn});
        return 0;
    }
    case AVF_ARRAY: {
        uint32_t arr;
        path_push(c, name);
        if ((rc = list_values(c, x, &arr))) {
            path_pop(c);
            return rc;
        }
        size_t pos = av_begin_array(o);
        uint32_t n = 0;
        if (arr != JSON_NONE) {
            path_push(c, "values");
            json_iter it;
            uint32_t k, e;
            json_iter_init(&it, c->d, arr);
            while (rc == 0 && json_iter_next(&it, &k, &e)) {
                path_index(c, n++);
                if (json_is_null(c->d, e))
                    av_put_empty(o);
                else
                    rc = enc_value(c, e, depth + 1, o);
            }
            path_pop(c);
        }
        path_pop(c);
        av_end_count(o, pos, n);
        return rc;
    }
    default: { /* AVF_KVLIST */
        uint32_t arr, n = 0;
        path_push(c, name);
        if ((rc = list_values(c, x, &arr))) {
            path_pop(c);
            return rc;
        }
        size_t pos = av_begin_kvlist(o);
        if (arr != JSON_NONE) {
            path_push(c, "values");
            rc = enc_entries(c, arr, depth + 1, o, &n);
            path_pop(c);
        }
        path_pop(c);
        av_end_count(o, pos, n);
        return rc;
    }
    }
}

/* Appends the attrs encoding of KeyValue array node arr (field `field` of
 * the current object) to o; nothing at all when the list is absent or empty. */
static int enc_attrs_into(jctx *c, uint32_t arr, const char *field, buf *o)
{
    if (arr == JSON_NONE)
        return 0;
    int rc = need_type(c, arr, field, JSON_ARRAY);
    if (rc || json_count(c->d, arr) == 0)
        return rc;
    path_push(c, field);
    size_t pos = av_begin_count(o);
    uint32_t n = 0;
    rc = enc_entries(c, arr, 0, o, &n);
    av_end_count(o, pos, n);
    path_pop(c);
    return rc;
}

/* Moves the scratch buffer into the batch arena. */
static int keep_scratch(jctx *c, bslice *out)
{
    if (c->sc.err)
        return c->sc.err;
    return model_batch_keep(c->b, c->sc.p, c->sc.n, out);
}

static int enc_attrs(jctx *c, uint32_t arr, const char *field, bslice *out)
{
    buf_reset(&c->sc);
    int rc = enc_attrs_into(c, arr, field, &c->sc);
    return rc ? rc : keep_scratch(c, out);
}

static void put_f64(buf *o, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    buf_put_u64le(o, bits);
}

/* ---- resource and scope ---- */

enum { RES_ATTRS, RES_DROPPED, RES_N };
static const fname res_fields[] = {
    FN("attributes", "attributes"),
    FN("droppedAttributesCount", "dropped_attributes_count"),
};
enum { SCOPE_NAME, SCOPE_VERSION, SCOPE_ATTRS, SCOPE_DROPPED, SCOPE_N };
static const fname scope_fields[] = {
    FN("name", "name"),
    FN("version", "version"),
    FN("attributes", "attributes"),
    FN("droppedAttributesCount", "dropped_attributes_count"),
};

static int decode_resource(jctx *c, uint32_t v, model_origin *o)
{
    uint32_t f[RES_N];
    int rc;
    if (v == JSON_NONE)
        return 0;
    path_push(c, "resource");
    if ((rc = need_type(c, v, NULL, JSON_OBJECT)))
        goto out;
    get_fields(c, v, res_fields, RES_N, f);
    c->too_deep = false;
    if ((rc = enc_attrs(c, f[RES_ATTRS], "attributes", &o->resource_attrs)) ||
        (rc = get_u32(c, f[RES_DROPPED], "droppedAttributesCount", &o->resource_dropped)))
        goto out;
    if (c->too_deep)
        c->origin_bad = "resource attribute value " TOO_DEEP;
    bslice svc;
    if (o->resource_attrs.n && av_find(o->resource_attrs, "service.name", &svc) == 1)
        av_as_str(svc, &o->service);
out:
    path_pop(c);
    return rc;
}

static int decode_scope(jctx *c, uint32_t v, model_origin *o)
{
    uint32_t f[SCOPE_N];
    int rc;
    if (v == JSON_NONE)
        return 0;
    path_push(c, "scope");
    if ((rc = need_type(c, v, NULL, JSON_OBJECT)))
        goto out;
    get_fields(c, v, scope_fields, SCOPE_N, f);
    c->too_deep = false;
    if ((rc = get_str(c, f[SCOPE_NAME], "name", &c->b->ar, &o->scope_name)) ||
        (rc = get_str(c, f[SCOPE_VERSION], "version", &c->b->ar, &o->scope_version)) ||
        (rc = enc_attrs(c, f[SCOPE_ATTRS], "attributes", &o->scope_attrs)) ||
        (rc = get_u32(c, f[SCOPE_DROPPED], "droppedAttributesCount", &o->scope_dropped)))
        goto out;
    if (c->too_deep && !c->origin_bad)
        c->origin_bad = "scope attribute value " TOO_DEEP;
out:
    path_pop(c);
    return rc;
}

/* ---- spans ---- */

enum {
    SP_TRACE_ID,
    SP_SPAN_ID,
    SP_TRACE_STATE,
    SP_PARENT,
    SP_FLAGS,
    SP_NAME,
    SP_KIND,
    SP_START,
    SP_END,
    SP_ATTRS,
    SP_DROPPED_ATTRS,
    SP_EVENTS,
    SP_DROPPED_EVENTS,
    SP_LINKS,
    SP_DROPPED_LINKS,
    SP_STATUS,
    SP_N
};
static const fname span_fields[] = {
    FN("traceId", "trace_id"),
    FN("spanId", "span_id"),
    FN("traceState", "trace_state"),
    FN("parentSpanId", "parent_span_id"),
    FN("flags", "flags"),
    FN("name", "name"),
    FN("kind", "kind"),
    FN("startTimeUnixNano", "start_time_unix_nano"),
    FN("endTimeUnixNano", "end_time_unix_nano"),
    FN("attributes", "attributes"),
    FN("droppedAttributesCount", "dropped_attributes_count"),
    FN("events", "events"),
    FN("droppedEventsCount", "dropped_events_count"),
    FN("links", "links"),
    FN("droppedLinksCount", "dropped_links_count"),
    FN("status", "status"),
};

enum { EV_TIME, EV_NAME, EV_ATTRS, EV_DROPPED, EV_N };
static const fname event_fields[] = {
    FN("timeUnixNano", "time_unix_nano"),
    FN("name", "name"),
    FN("attributes", "attributes"),
    FN("droppedAttributesCount", "dropped_attributes_count"),
};

enum { LK_TRACE_ID, LK_SPAN_ID, LK_TRACE_STATE, LK_ATTRS, LK_DROPPED, LK_FLAGS, LK_N };
static const fname link_fields[] = {
    FN("traceId", "trace_id"),
    FN("spanId", "span_id"),
    FN("traceState", "trace_state"),
    FN("attributes", "attributes"),
    FN("droppedAttributesCount", "dropped_attributes_count"),
    FN("flags", "flags"),
};

/* Writes a u32 length placeholder; returns its position. */
static size_t put_len_placeholder(buf *o)
{
    size_t pos = o->n;
    buf_put_u32le(o, 0);
    return pos;
}

static void patch_len(buf *o, size_t pos)
{
    if (!o->err)
        wr_u32le(o->p + pos, (uint32_t)(o->n - pos - 4));
}

/* The events encoding of array node arr (n == 0 when none). */
static int enc_events(jctx *c, uint32_t arr, bslice *out)
{
    if (arr == JSON_NONE)
        return 0;
    int rc = need_type(c, arr, "events", JSON_ARRAY);
    if (rc || json_count(c->d, arr) == 0)
        return rc;
    buf *o = &c->sc;
    buf_reset(o);
    buf_put_u32le(o, json_count(c->d, arr));
    path_push(c, "events");
    json_iter it;
    uint32_t k, e, i = 0, f[EV_N];
    json_iter_init(&it, c->d, arr);
    while (rc == 0 && json_iter_next(&it, &k, &e)) {
        path_index(c, i++);
        if ((rc = need_type(c, e, NULL, JSON_OBJECT)))
            break;
        get_fields(c, e, event_fields, EV_N, f);
        uint64_t t = 0;
        uint32_t dropped = 0;
        bslice name = {NULL, 0};
        if ((rc = get_u64(c, f[EV_TIME], "timeUnixNano", &t)) ||
            (rc = get_str(c, f[EV_NAME], "name", &c->tmp, &name)) ||
            (rc = get_u32(c, f[EV_DROPPED], "droppedAttributesCount", &dropped)))
            break;
        buf_put_u64le(o, t);
        buf_put_u32le(o, (uint32_t)name.n);
        buf_append(o, name.p, name.n);
        size_t pos = put_len_placeholder(o);
        if ((rc = enc_attrs_into(c, f[EV_ATTRS], "attributes", o)))
            break;
        patch_len(o, pos);
        buf_put_u32le(o, dropped);
    }
    path_pop(c);
    return rc ? rc : keep_scratch(c, out);
}

/* The links encoding of array node arr; *bad gets a reason when a link's
 * ids are malformed (the span is then rejected). */
static int enc_links(jctx *c, uint32_t arr, bslice *out, const char **bad)
{
    if (arr == JSON_NONE)
        return 0;
    int rc = need_type(c, arr, "links", JSON_ARRAY);
    if (rc || json_count(c->d, arr) == 0)
        return rc;
    buf *o = &c->sc;
    buf_reset(o);
    buf_put_u32le(o, json_count(c->d, arr));
    path_push(c, "links");
    json_iter it;
    uint32_t k, e, i = 0, f[LK_N];
    json_iter_init(&it, c->d, arr);
    while (rc == 0 && json_iter_next(&it, &k, &e)) {
        path_index(c, i++);
        if ((rc = need_type(c, e, NULL, JSON_OBJECT)))
            break;
        get_fields(c, e, link_fields, LK_N, f);
        uint8_t tid[16], sid[8];
        int ts, ss;
        uint32_t dropped = 0, flags = 0;
        bslice state = {NULL, 0};
        if ((rc = get_id(c, f[LK_TRACE_ID], "traceId", tid, 16, &ts, NULL)) ||
            (rc = get_id(c, f[LK_SPAN_ID], "spanId", sid, 8, &ss, NULL)) ||
            (rc = get_str(c, f[LK_TRACE_STATE], "traceState", &c->tmp, &state)) ||
            (rc = get_u32(c, f[LK_DROPPED], "droppedAttributesCount", &dropped)) ||
            (rc = get_u32(c, f[LK_FLAGS], "flags", &flags)))
            break;
        if (ts == ID_MALFORMED && !*bad)
            *bad = "link traceId is not 32 hex digits";
        if (ss == ID_MALFORMED && !*bad)
            *bad = "link spanId is not 16 hex digits";
        buf_append(o, tid, 16);
        buf_append(o, sid, 8);
        buf_put_u32le(o, (uint32_t)state.n);
        buf_append(o, state.p, state.n);
        size_t pos = put_len_placeholder(o);
        if ((rc = enc_attrs_into(c, f[LK_ATTRS], "attributes", o)))
            break;
        patch_len(o, pos);
        buf_put_u32le(o, dropped);
        buf_put_u32le(o, flags);
    }
    path_pop(c);
    return rc ? rc : keep_scratch(c, out);
}

static int decode_status(jctx *c, uint32_t v, model_span *sp)
{
    static const fname st_fields[] = {FN("code", "code"), FN("message", "message")};
    uint32_t f[2];
    if (v == JSON_NONE)
        return 0;
    path_push(c, "status");
    int rc = need_type(c, v, NULL, JSON_OBJECT);
    if (!rc) {
        get_fields(c, v, st_fields, 2, f);
        if (!(rc = get_enum(c, f[0], "code", status_code_names, NF(status_code_names),
                            &sp->status_code)))
            rc = get_str(c, f[1], "message", &c->b->ar, &sp->status_message);
    }
    path_pop(c);
    return rc;
}

static int decode_span(jctx *c, uint32_t v)
{
    int rc = need_type(c, v, NULL, JSON_OBJECT);
    if (rc)
        return rc;
    uint32_t f[SP_N];
    get_fields(c, v, span_fields, SP_N, f);
    model_span sp;
    memset(&sp, 0, sizeof sp);
    sp.origin = c->origin;
    int ts, ss, ps;
    const char *bad = NULL;
    c->too_deep = false;
    arena *ar = &c->b->ar;
    if ((rc = get_id(c, f[SP_TRACE_ID], "traceId", sp.trace_id.b, 16, &ts, NULL)) ||
        (rc = get_id(c, f[SP_SPAN_ID], "spanId", sp.span_id.b, 8, &ss, NULL)) ||
        (rc = get_id(c, f[SP_PARENT], "parentSpanId", sp.parent_span_id.b, 8, &ps, NULL)) ||
        (rc = get_str(c, f[SP_TRACE_STATE], "traceState", ar, &sp.trace_state)) ||
        (rc = get_u32(c, f[SP_FLAGS], "flags", &sp.flags)) ||
        (rc = get_str(c, f[SP_NAME], "name", ar, &sp.name)) ||
        (rc = get_enum(c, f[SP_KIND], "kind", span_kind_names, NF(span_kind_names), &sp.kind)) ||
        (rc = get_u64(c, f[SP_START], "startTimeUnixNano", &sp.start_ns)) ||
        (rc = get_u64(c, f[SP_END], "endTimeUnixNano", &sp.end_ns)) ||
        (rc = enc_attrs(c, f[SP_ATTRS], "attributes", &sp.attrs)) ||
        (rc = get_u32(c, f[SP_DROPPED_ATTRS], "droppedAttributesCount", &sp.dropped_attrs)) ||
        (rc = enc_events(c, f[SP_EVENTS], &sp.events)) ||
        (rc = get_u32(c, f[SP_DROPPED_EVENTS], "droppedEventsCount", &sp.dropped_events)) ||
        (rc = enc_links(c, f[SP_LINKS], &sp.links, &bad)) ||
        (rc = get_u32(c, f[SP_DROPPED_LINKS], "droppedLinksCount", &sp.dropped_links)) ||
        (rc = decode_status(c, f[SP_STATUS], &sp)))
        return rc;
    if (ts != ID_VALID || trace_id_is_zero(&sp.trace_id))
        bad = "traceId is not 32 hex digits or is all zero";
    else if (ss != ID_VALID || span_id_is_zero(&sp.span_id))
        bad = "spanId is not 16 hex digits or is all zero";
    else if (ps == ID_MALFORMED)
        bad = "parentSpanId is not 16 hex digits";
    else if (c->too_deep)
        bad = "attribute value " TOO_DEEP;
    else if (c->origin_bad)
        bad = c->origin_bad;
    if (bad) {
        reject(c, bad);
        return 0;
    }
    model_span *row = model_batch_add_span(c->b);
    if (!row)
        return BRAID_ENOMEM;
    *row = sp;
    return 0;
}

/* ---- logs ---- */

enum {
    LR_TIME,
    LR_OBSERVED,
    LR_SEV_NUM,
    LR_SEV_TEXT,
    LR_BODY,
    LR_ATTRS,
    LR_DROPPED,
    LR_FLAGS,
    LR_TRACE_ID,
    LR_SPAN_ID,
    LR_EVENT_NAME,
    LR_N
};
static const fname log_fields[] = {
    FN("timeUnixNano", "time_unix_nano"),
    FN("observedTimeUnixNano", "observed_time_unix_nano"),
    FN("severityNumber", "severity_number"),
    FN("severityText", "severity_text"),
    FN("body", "body"),
    FN("attributes", "attributes"),
    FN("droppedAttributesCount", "dropped_attributes_count"),
    FN("flags", "flags"),
    FN("traceId", "trace_id"),
    FN("spanId", "span_id"),
    FN("eventName", "event_name"),
};

static int decode_log(jctx *c, uint32_t v)
{
    int rc = need_type(c, v, NULL, JSON_OBJECT);
    if (rc)
        return rc;
    uint32_t f[LR_N];
    get_fields(c, v, log_fields, LR_N, f);
    model_log lg;
    memset(&lg, 0, sizeof lg);
    lg.origin = c->origin;
    lg.source = BSLICE_LIT("otlp");
    int ts, ss;
    bool upper;
    c->too_deep = false;
    arena *ar = &c->b->ar;
    if ((rc = get_u64(c, f[LR_TIME], "timeUnixNano", &lg.time_ns)) ||
        (rc = get_u64(c, f[LR_OBSERVED], "observedTimeUnixNano", &lg.observed_ns)) ||
        (rc = get_enum(c, f[LR_SEV_NUM], "severityNumber", severity_names, NF(severity_names),
                       &lg.severity_number)) ||
        (rc = get_str(c, f[LR_SEV_TEXT], "severityText", ar, &lg.severity_text)) ||
        (rc = enc_attrs(c, f[LR_ATTRS], "attributes", &lg.attrs)) ||
        (rc = get_u32(c, f[LR_DROPPED], "droppedAttributesCount", &lg.dropped_attrs)) ||
        (rc = get_u32(c, f[LR_FLAGS], "flags", &lg.flags)) ||
        (rc = get_id(c, f[LR_TRACE_ID], "traceId", lg.trace_id.b, 16, &ts, &upper)) ||
        (rc = get_id(c, f[LR_SPAN_ID], "spanId", lg.span_id.b, 8, &ss, NULL)) ||
        (rc = get_str(c, f[LR_EVENT_NAME], "eventName", ar, &lg.event_name)))
        return rc;
    if (f[LR_BODY] != JSON_NONE) {
        buf_reset(&c->sc);
        path_push(c, "body");
        rc = enc_value(c, f[LR_BODY], 0, &c->sc);
        path_pop(c);
        if (rc || (rc = keep_scratch(c, &lg.body)))
            return rc;
    }
    if (ts == ID_VALID && !trace_id_is_zero(&lg.trace_id))
        lg.id_form = upper ? ID_FORM_HEX32_UPPER : ID_FORM_HEX32;
    const char *bad = NULL;
    if (ts == ID_MALFORMED)
        bad = "traceId is not 32 hex digits";
    else if (ss == ID_MALFORMED)
        bad = "spanId is not 16 hex digits";
    else if (c->too_deep)
        bad = "value " TOO_DEEP;
    else if (c->origin_bad)
        bad = c->origin_bad;
    if (bad) {
        reject(c, bad);
        return 0;
    }
    model_log *row = model_batch_add_log(c->b);
    if (!row)
        return BRAID_ENOMEM;
    *row = lg;
    return 0;
}

/* ---- metrics ---- */

enum { M_NAME, M_DESC, M_UNIT, M_GAUGE, M_SUM, M_HIST, M_EXP, M_SUMMARY, M_META, M_N };
static const fname metric_fields[] = {
    FN("name", "name"),
    FN("description", "description"),
    FN("unit", "unit"),
    FN("gauge", "gauge"),
    FN("sum", "sum"),
    FN("histogram", "histogram"),
    FN("exponentialHistogram", "exponential_histogram"),
    FN("summary", "summary"),
    FN("metadata", "metadata"),
};

enum { MD_POINTS, MD_TEMPORALITY, MD_MONOTONIC, MD_N };
static const fname data_fields[] = {
    FN("dataPoints", "data_points"),
    FN("aggregationTemporality", "aggregation_temporality"),
    FN("isMonotonic", "is_monotonic"),
};

/* Fields of all four data point messages, merged: each message uses its own
 * subset and the others stay JSON_NONE. */
enum {
    DP_ATTRS,
    DP_START,
    DP_TIME,
    DP_AS_DOUBLE,
    DP_AS_INT,
    DP_EXEMPLARS,
    DP_FLAGS,
    DP_COUNT,
    DP_SUM,
    DP_BUCKET_COUNTS,
    DP_BOUNDS,
    DP_MIN,
    DP_MAX,
    DP_SCALE,
    DP_ZERO_COUNT,
    DP_POSITIVE,
    DP_NEGATIVE,
    DP_ZERO_THRESHOLD,
    DP_QUANTILES,
    DP_N
};
static const fname point_fields[] = {
    FN("attributes", "attributes"),
    FN("startTimeUnixNano", "start_time_unix_nano"),
    FN("timeUnixNano", "time_unix_nano"),
    FN("asDouble", "as_double"),
    FN("asInt", "as_int"),
    FN("exemplars", "exemplars"),
    FN("flags", "flags"),
    FN("count", "count"),
    FN("sum", "sum"),
    FN("bucketCounts", "bucket_counts"),
    FN("explicitBounds", "explicit_bounds"),
    FN("min", "min"),
    FN("max", "max"),
    FN("scale", "scale"),
    FN("zeroCount", "zero_count"),
    FN("positive", "positive"),
    FN("negative", "negative"),
    FN("zeroThreshold", "zero_threshold"),
    FN("quantileValues", "quantile_values"),
};

enum { EX_ATTRS, EX_TIME, EX_AS_DOUBLE, EX_AS_INT, EX_SPAN_ID, EX_TRACE_ID, EX_N };
static const fname exemplar_fields[] = {
    FN("filteredAttributes", "filtered_attributes"),
    FN("timeUnixNano", "time_unix_nano"),
    FN("asDouble", "as_double"),
    FN("asInt", "as_int"),
    FN("spanId", "span_id"),
    FN("traceId", "trace_id"),
};

/* A NumberDataPoint/Exemplar value oneof: the later of asDouble/asInt wins. */
static int get_number_value(jctx *c, uint32_t d, uint32_t i, uint8_t *is_int, double *dv,
                            int64_t *iv)
{
    if (i != JSON_NONE && (d == JSON_NONE || i > d)) {
        *is_int = 1;
        return get_i64(c, i, "asInt", iv);
    }
    *is_int = 0;
    return get_double(c, d, "asDouble", dv);
}

/* Appends array node arr of unsigned integers as u32 count + u64 values. */
static int put_u64_array(jctx *c, uint32_t arr, const char *field, buf *o)
{
    if (arr == JSON_NONE) {
        buf_put_u32le(o, 0);
        return 0;
    }
    int rc = need_type(c, arr, field, JSON_ARRAY);
    if (rc)
        return rc;
    buf_put_u32le(o, json_count(c->d, arr));
    path_push(c, field);
    json_iter it;
    uint32_t k, e, i = 0;
    json_iter_init(&it, c->d, arr);
    while (rc == 0 && json_iter_next(&it, &k, &e)) {
        path_index(c, i++);
        uint64_t u = 0;
        if (!(rc = get_u64(c, e, NULL, &u)))
            buf_put_u64le(o, u);
    }
    path_pop(c);
    return rc;
}

static int put_f64_array(jctx *c, uint32_t arr, const char *field, buf *o)
{
    if (arr == JSON_NONE) {
        buf_put_u32le(o, 0);
        return 0;
    }
    int rc = need_type(c, arr, field, JSON_ARRAY);
    if (rc)
        return rc;
    buf_put_u32le(o, json_count(c->d, arr));
    path_push(c, field);
    json_iter it;
    uint32_t k, e, i = 0;
    json_iter_init(&it, c->d, arr);
    while (rc == 0 && json_iter_next(&it, &k, &e)) {
        path_index(c, i++);
        double v = 0;
        if (!(rc = get_double(c, e, NULL, &v)))
            put_f64(o, v);
    }
    path_pop(c);
    return rc;
}

/* An optional double as (f64 value, u8 present). */
static int put_opt_f64(jctx *c, uint32_t v, const char *field, buf *o)
{
    double d = 0;
    int rc = get_double(c, v, field, &d);
    put_f64(o, d);
    buf_putc(o, v != JSON_NONE);
    return rc;
}

static int put_hist_payload(jctx *c, const uint32_t *f, buf *o)
{
    uint64_t count = 0;
    int rc = get_u64(c, f[DP_COUNT], "count", &count);
    if (rc)
        return rc;
    buf_put_u64le(o, count);
    if ((rc = put_opt_f64(c, f[DP_SUM], "sum", o)) || (rc = put_opt_f64(c, f[DP_MIN], "min", o)) ||
        (rc = put_opt_f64(c, f[DP_MAX], "max", o)) ||
        (rc = put_u64_array(c, f[DP_BUCKET_COUNTS], "bucketCounts", o)))
        return rc;
    return put_f64_array(c, f[DP_BOUNDS], "explicitBounds", o);
}

static int put_exp_buckets(jctx *c, uint32_t v, const char *field, buf *o)
{
    static const fname bf[] = {FN("offset", "offset"), FN("bucketCounts", "bucket_counts")};
    uint32_t f[2] = {JSON_NONE, JSON_NONE};
    int32_t offset = 0;
    int rc = 0;
    path_push(c, field);
    if (v != JSON_NONE && !(rc = need_type(c, v, NULL, JSON_OBJECT))) {
        get_fields(c, v, bf, 2, f);
        rc = get_i32(c, f[0], "offset", &offset);
    }
    if (!rc) {
        buf_put_u32le(o, (uint32_t)offset);
        rc = put_u64_array(c, f[1], "bucketCounts", o);
    }
    path_pop(c);
    return rc;
}

static int put_exp_payload(jctx *c, const uint32_t *f, buf *o)
{
    uint64_t count = 0, zero_count = 0;
    int32_t scale = 0;
    double zt = 0;
    int rc;
    if ((rc = get_u64(c, f[DP_COUNT], "count", &count)) ||
        (rc = get_i32(c, f[DP_SCALE], "scale", &scale)) ||
        (rc = get_u64(c, f[DP_ZERO_COUNT], "zeroCount", &zero_count)) ||
        (rc = get_double(c, f[DP_ZERO_THRESHOLD], "zeroThreshold", &zt)))
        return rc;
    buf_put_u64le(o, count);
    if ((rc = put_opt_f64(c, f[DP_SUM], "sum", o)))
        return rc;
    buf_put_u32le(o, (uint32_t)scale);
    buf_put_u64le(o, zero_count);
    put_f64(o, zt);
    if ((rc = put_opt_f64(c, f[DP_MIN], "min", o)) || (rc = put_opt_f64(c, f[DP_MAX], "max", o)) ||
        (rc = put_exp_buckets(c, f[DP_POSITIVE], "positive", o)))
        return rc;
    return put_exp_buckets(c, f[DP_NEGATIVE], "negative", o);
}

static int put_summary_payload(jctx *c, const uint32_t *f, buf *o)
{
    static const fname qf[] = {FN("quantile", "quantile"), FN("value", "value")};
    uint64_t count = 0;
    double sum = 0;
    int rc;
    if ((rc = get_u64(c, f[DP_COUNT], "count", &count)) ||
        (rc = get_double(c, f[DP_SUM], "sum", &sum)))
        return rc;
    buf_put_u64le(o, count);
    put_f64(o, sum);
    uint32_t arr = f[DP_QUANTILES];
    if (arr == JSON_NONE) {
        buf_put_u32le(o, 0);
        return 0;
    }
    if ((rc = need_type(c, arr, "quantileValues", JSON_ARRAY)))
        return rc;
    buf_put_u32le(o, json_count(c->d, arr));
    path_push(c, "quantileValues");
    json_iter it;
    uint32_t k, e, i = 0, q[2];
    json_iter_init(&it, c->d, arr);
    while (rc == 0 && json_iter_next(&it, &k, &e)) {
        path_index(c, i++);
        double qv = 0, vv = 0;
        if ((rc = need_type(c, e, NULL, JSON_OBJECT)))
            break;
        get_fields(c, e, qf, 2, q);
        if ((rc = get_double(c, q[0], "quantile", &qv)) || (rc = get_double(c, q[1], "value", &vv)))
            break;
        put_f64(o, qv);
        put_f64(o, vv);
    }
    path_pop(c);
    return rc;
}

/* Decodes the exemplars of a point into ex[0..*n) (rows not yet added);
 * *bad gets a reason when an exemplar's ids are malformed. */
static int decode_exemplars(jctx *c, uint32_t arr, const model_metric *m, model_exemplar **exs,
                            uint32_t *n, const char **bad)
{
    *n = 0;
    if (arr == JSON_NONE)
        return 0;
    int rc = need_type(c, arr, "exemplars", JSON_ARRAY);
    if (rc || json_count(c->d, arr) == 0)
        return rc;
    model_exemplar *ex = arena_alloc(&c->tmp, json_count(c->d, arr) * sizeof *ex);
    if (!ex)
        return BRAID_ENOMEM;
    path_push(c, "exemplars");
    json_iter it;
    uint32_t k, e, f[EX_N];
    json_iter_init(&it, c->d, arr);
    while (rc == 0 && json_iter_next(&it, &k, &e)) {
        path_index(c, *n);
        if ((rc = need_type(c, e, NULL, JSON_OBJECT)))
            break;
        get_fields(c, e, exemplar_fields, EX_N, f);
        model_exemplar *x = &ex[(*n)++];
        memset(x, 0, sizeof *x);
        x->origin = m->origin;
        x->metric_name = m->name;
        x->metric_type = m->type;
        x->series_attrs = m->attrs;
        int ts, ss;
        if ((rc = enc_attrs(c, f[EX_ATTRS], "filteredAttributes", &x->filtered_attrs)) ||
            (rc = get_u64(c, f[EX_TIME], "timeUnixNano", &x->time_ns)) ||
            (rc = get_number_value(c, f[EX_AS_DOUBLE], f[EX_AS_INT], &x->is_int, &x->value_double,
                                   &x->value_int)) ||
            (rc = get_id(c, f[EX_TRACE_ID], "traceId", x->trace_id.b, 16, &ts, NULL)) ||
            (rc = get_id(c, f[EX_SPAN_ID], "spanId", x->span_id.b, 8, &ss, NULL)))
            break;
        if (ts == ID_MALFORMED && !*bad)
            *bad = "exemplar traceId is not 32 hex digits";
        if (ss == ID_MALFORMED && !*bad)
            *bad = "exemplar spanId is not 16 hex digits";
        double v = x->is_int ? (double)x->value_int : x->value_double;
        x->bucket = m->type == METRIC_HISTOGRAM ? model_hist_bucket(m->payload, v) : -1;
    }
    path_pop(c);
    *exs = ex;
    return rc;
}

static int decode_point(jctx *c, uint32_t v, const model_metric *tmpl, const char *metric_bad)
{
    int rc = need_type(c, v, NULL, JSON_OBJECT);
    if (rc)
        return rc;
    uint32_t f[DP_N];
    get_fields(c, v, point_fields, DP_N, f);
    /* Fields that belong to another point type are unknown fields here. */
    switch (tmpl->type) {
    case METRIC_GAUGE:
    case METRIC_SUM:
        for (int j = DP_COUNT; j < DP_N; j++)
            f[j] = JSON_NONE;
        break;
    case METRIC_HISTOGRAM:
        f[DP_AS_DOUBLE] = f[DP_AS_INT] = f[DP_SCALE] = f[DP_ZERO_COUNT] = f[DP_POSITIVE] =
            f[DP_NEGATIVE] = f[DP_ZERO_THRESHOLD] = f[DP_QUANTILES] = JSON_NONE;
        break;
    case METRIC_EXP_HISTOGRAM:
        f[DP_AS_DOUBLE] = f[DP_AS_INT] = f[DP_BUCKET_COUNTS] = f[DP_BOUNDS] = f[DP_QUANTILES] =
            JSON_NONE;
        break;
    default: /* METRIC_SUMMARY */
        f[DP_AS_DOUBLE] = f[DP_AS_INT] = f[DP_EXEMPLARS] = f[DP_BUCKET_COUNTS] = f[DP_BOUNDS] =
            f[DP_MIN] = f[DP_MAX] = f[DP_SCALE] = f[DP_ZERO_COUNT] = f[DP_POSITIVE] =
                f[DP_NEGATIVE] = f[DP_ZERO_THRESHOLD] = JSON_NONE;
        break;
    }
    model_metric m = *tmpl;
    c->too_deep = false;
    if ((rc = enc_attrs(c, f[DP_ATTRS], "attributes", &m.attrs)) ||
        (rc = get_u64(c, f[DP_START], "startTimeUnixNano", &m.start_ns)) ||
        (rc = get_u64(c, f[DP_TIME], "timeUnixNano", &m.time_ns)) ||
        (rc = get_u32(c, f[DP_FLAGS], "flags", &m.flags)))
        return rc;
    buf_reset(&c->sc);
    switch (m.type) {
    case METRIC_GAUGE:
    case METRIC_SUM:
        rc = get_number_value(c, f[DP_AS_DOUBLE], f[DP_AS_INT], &m.is_int, &m.value_double,
                              &m.value_int);
        break;
    case METRIC_HISTOGRAM:
        rc = put_hist_payload(c, f, &c->sc);
        break;
    case METRIC_EXP_HISTOGRAM:
        rc = put_exp_payload(c, f, &c->sc);
        break;
    default:
        rc = put_summary_payload(c, f, &c->sc);
        break;
    }
    if (rc || (rc = keep_scratch(c, &m.payload)))
        return rc;
    model_exemplar *ex = NULL;
    uint32_t nex = 0;
    const char *bad = NULL;
    if ((rc = decode_exemplars(c, f[DP_EXEMPLARS], &m, &ex, &nex, &bad)))
        return rc;
    if (!bad && c->too_deep)
        bad = "attribute value " TOO_DEEP;
    if (!bad)
        bad = metric_bad ? metric_bad : c->origin_bad;
    if (bad) {
        reject(c, bad);
        return 0;
    }
    model_metric *row = model_batch_add_metric(c->b);
    if (!row)
        return BRAID_ENOMEM;
    *row = m;
    for (uint32_t i = 0; i < nex; i++) {
        model_exemplar *x = model_batch_add_exemplar(c->b);
        if (!x)
            return BRAID_ENOMEM;
        *x = ex[i];
    }
    return 0;
}

static int decode_metric(jctx *c, uint32_t v)
{
    int rc = need_type(c, v, NULL, JSON_OBJECT);
    if (rc)
        return rc;
    uint32_t f[M_N];
    get_fields(c, v, metric_fields, M_N, f);
    model_metric m;
    memset(&m, 0, sizeof m);
    m.origin = c->origin;
    arena *ar = &c->b->ar;
    c->too_deep = false;
    if ((rc = get_str(c, f[M_NAME], "name", ar, &m.name)) ||
        (rc = get_str(c, f[M_DESC], "description", ar, &m.description)) ||
        (rc = get_str(c, f[M_UNIT], "unit", ar, &m.unit)) ||
        (rc = enc_attrs(c, f[M_META], "metadata", &m.metadata)))
        return rc;
    const char *metric_bad = c->too_deep ? "metadata value " TOO_DEEP : NULL;
    /* The data oneof: the later member wins. */
    int which = -1;
    for (int j = M_GAUGE; j <= M_SUMMARY; j++)
        if (f[j] != JSON_NONE && (which < 0 || f[j] > f[which]))
            which = j;
    if (which < 0)
        return 0;
    static const uint8_t types[] = {
        [M_GAUGE] = METRIC_GAUGE,       [M_SUM] = METRIC_SUM,         [M_HIST] = METRIC_HISTOGRAM,
        [M_EXP] = METRIC_EXP_HISTOGRAM, [M_SUMMARY] = METRIC_SUMMARY,
    };
    m.type = types[which];
    const char *dname = metric_fields[which].camel;
    uint32_t data = f[which], df[MD_N];
    path_push(c, dname);
    if ((rc = need_type(c, data, NULL, JSON_OBJECT)))
        goto out;
    get_fields(c, data, data_fields, MD_N, df);
    if (m.type == METRIC_GAUGE || m.type == METRIC_SUMMARY)
        df[MD_TEMPORALITY] = JSON_NONE;
    if (m.type != METRIC_SUM)
        df[MD_MONOTONIC] = JSON_NONE;
    int32_t temporality = 0;
    bool mono = false;
    if ((rc = get_enum(c, df[MD_TEMPORALITY], "aggregationTemporality", temporality_names,
                       NF(temporality_names), &temporality)) ||
        (rc = get_bool(c, df[MD_MONOTONIC], "isMonotonic", &mono)))
        goto out;
    /* The row keeps one byte: values the specification does not define are
     * stored as unspecified. */
    m.temporality = temporality >= 0 && temporality <= 2 ? (uint8_t)temporality : 0;
    m.monotonic = mono;
    uint32_t pts = df[MD_POINTS];
    if (pts == JSON_NONE)
        goto out;
    if ((rc = need_type(c, pts, "dataPoints", JSON_ARRAY)))
        goto out;
    path_push(c, "dataPoints");
    json_iter it;
    uint32_t k, e, i = 0;
    json_iter_init(&it, c->d, pts);
    while (rc == 0 && json_iter_next(&it, &k, &e)) {
        path_index(c, i++);
        rc = decode_point(c, e, &m, metric_bad);
    }
    path_pop(c);
out:
    path_pop(c);
    return rc;
}

/* ---- request structure ---- */

typedef struct {
    const char *top_camel, *top_snake;       /* resourceSpans */
    const char *scope_camel, *scope_snake;   /* scopeSpans */
    const char *record_camel, *record_snake; /* spans */
    int (*decode)(jctx *c, uint32_t v);
} kind_desc;

static const kind_desc kinds[] = {
    [OTLP_TRACES] = {"resourceSpans", "resource_spans", "scopeSpans", "scope_spans", "spans",
                     "spans", decode_span},
    [OTLP_LOGS] = {"resourceLogs", "resource_logs", "scopeLogs", "scope_logs", "logRecords",
                   "log_records", decode_log},
    [OTLP_METRICS] = {"resourceMetrics", "resource_metrics", "scopeMetrics", "scope_metrics",
                      "metrics", "metrics", decode_metric},
};

static fname mk_fname(const char *camel, const char *snake)
{
    return (fname){camel, (uint8_t)strlen(camel), snake, (uint8_t)strlen(snake)};
}

/* Iterates array field `field` (already a JSON_ARRAY or JSON_NONE), calling
 * fn on each element with the path set. */
static int each(jctx *c, uint32_t arr, const char *field, int (*fn)(jctx *, uint32_t, const void *),
                const void *arg)
{
    if (arr == JSON_NONE)
        return 0;
    int rc = need_type(c, arr, field, JSON_ARRAY);
    if (rc)
        return rc;
    path_push(c, field);
    json_iter it;
    uint32_t k, e, i = 0;
    json_iter_init(&it, c->d, arr);
    while (rc == 0 && json_iter_next(&it, &k, &e)) {
        path_index(c, i++);
        rc = fn(c, e, arg);
    }
    path_pop(c);
    return rc;
}

static int decode_record(jctx *c, uint32_t v, const void *arg)
{
    const kind_desc *kd = arg;
    return kd->decode(c, v);
}

typedef struct {
    const kind_desc *kd;
    bslice resource_attrs, resource_schema, service;
    uint32_t resource_dropped;
    const char *resource_bad;
} res_state;

static int decode_scope_block(jctx *c, uint32_t v, const void *arg)
{
    const res_state *rs = arg;
    int rc = need_type(c, v, NULL, JSON_OBJECT);
    if (rc)
        return rc;
    fname sf[3] = {
        mk_fname("scope", "scope"),
        mk_fname(rs->kd->record_camel, rs->kd->record_snake),
        mk_fname("schemaUrl", "schema_url"),
    };
    uint32_t f[3];
    get_fields(c, v, sf, 3, f);
    model_origin *o = model_batch_add_origin(c->b);
    if (!o)
        return BRAID_ENOMEM;
    o->service = rs->service;
    o->resource_attrs = rs->resource_attrs;
    o->resource_dropped = rs->resource_dropped;
    o->resource_schema_url = rs->resource_schema;
    c->origin_bad = rs->resource_bad;
    if ((rc = decode_scope(c, f[0], o)) ||
        (rc = get_str(c, f[2], "schemaUrl", &c->b->ar, &o->scope_schema_url)))
        return rc;
    c->origin = o;
    return each(c, f[1], rs->kd->record_camel, decode_record, rs->kd);
}

static int decode_resource_block(jctx *c, uint32_t v, const void *arg)
{
    const kind_desc *kd = arg;
    int rc = need_type(c, v, NULL, JSON_OBJECT);
    if (rc)
        return rc;
    fname rf[3] = {
        mk_fname("resource", "resource"),
        mk_fname(kd->scope_camel, kd->scope_snake),
        mk_fname("schemaUrl", "schema_url"),
    };
    uint32_t f[3];
    get_fields(c, v, rf, 3, f);
    model_origin tmp;
    memset(&tmp, 0, sizeof tmp);
    c->origin_bad = NULL;
    if ((rc = decode_resource(c, f[0], &tmp)) ||
        (rc = get_str(c, f[2], "schemaUrl", &c->b->ar, &tmp.resource_schema_url)))
        return rc;
    res_state rs = {
        .kd = kd,
        .resource_attrs = tmp.resource_attrs,
        .resource_schema = tmp.resource_schema_url,
        .service = tmp.service,
        .resource_dropped = tmp.resource_dropped,
        .resource_bad = c->origin_bad,
    };
    return each(c, f[1], kd->scope_camel, decode_scope_block, &rs);
}

int otlp_decode_json(otlp_kind k, const uint8_t *data, size_t n, model_batch *b, char *err,
                     size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if ((unsigned)k > OTLP_METRICS) {
        if (err && errlen)
            snprintf(err, errlen, "unknown OTLP signal kind %d", (int)k);
        return BRAID_EINVAL;
    }
    jctx *c = calloc(1, sizeof *c);
    if (!c)
        return BRAID_ENOMEM;
    c->b = b;
    c->err = err;
    c->errlen = errlen;
    arena_init(&c->tmp);
    buf_init(&c->sc);
    json_doc d;
    int rc = json_parse(&d, data, n, OTLP_JSON_MAX_DEPTH, &c->tmp, err, errlen);
    if (rc == BRAID_ETOOBIG)
        rc = BRAID_EINVAL;
    if (rc == 0) {
        c->d = &d;
        if (json_type_of(&d, 0) != JSON_OBJECT) {
            rc = fail(c, NULL, "expected a JSON object");
        } else {
            const kind_desc *kd = &kinds[k];
            fname top = mk_fname(kd->top_camel, kd->top_snake);
            uint32_t arr;
            get_fields(c, 0, &top, 1, &arr);
            rc = each(c, arr, kd->top_camel, decode_resource_block, kd);
        }
    }
    if (rc == BRAID_ENOMEM && err && errlen)
        snprintf(err, errlen, "out of memory decoding OTLP/JSON");
    buf_free(&c->sc);
    arena_free(&c->tmp);
    free(c);
    return rc;
}

/* ---- responses ---- */

void otlp_encode_response_json(otlp_kind k, uint64_t rejected, const char *msg, buf *out)
{
    static const char *const counter[] = {
        [OTLP_TRACES] = "rejectedSpans",
        [OTLP_LOGS] = "rejectedLogRecords",
        [OTLP_METRICS] = "rejectedDataPoints",
    };
    bool has_msg = msg && *msg;
    if (rejected == 0 && !has_msg) {
        buf_puts(out, "{}");
        return;
    }
    buf_puts(out, "{\"partialSuccess\":{");
    if (rejected) {
        /* int64 fields are strings in the protobuf JSON mapping. */
        buf_printf(out, "\"%s\":\"%llu\"", (unsigned)k <= OTLP_METRICS ? counter[k] : "rejected",
                   (unsigned long long)rejected);
        if (has_msg)
            buf_putc(out, ',');
    }
    if (has_msg) {
        buf_puts(out, "\"errorMessage\":");
        json_put_str(out, bslice_cstr(msg));
    }
    buf_puts(out, "}}");
}

void otlp_encode_status_json(int code, const char *msg, buf *out)
{
    buf_printf(out, "{\"code\":%d", code);
    if (msg && *msg) {
        buf_puts(out, ",\"message\":");
        json_put_str(out, bslice_cstr(msg));
    }
    buf_putc(out, '}');
}

/* model: the row batch container and the "av" value encoding (writers,
 * validation, iteration, JSON rendering) described in model.h. Owns nothing
 * beyond what a model_batch's arena holds. Readers never trust their input:
 * every length is checked against the end of the slice. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- writers ---- */
void av_put_empty(buf *b)
{
    buf_putc(b, AV_EMPTY);
}

void av_put_str(buf *b, bslice s)
{
    buf_putc(b, AV_STR);
    buf_put_u32le(b, (uint32_t)s.n);
    buf_append(b, s.p, s.n);
}

void av_put_bool(buf *b, bool v)
{
    buf_putc(b, AV_BOOL);
    buf_putc(b, v ? 1 : 0);
}

void av_put_int(buf *b, int64_t v)
{
    buf_putc(b, AV_INT);
    buf_put_u64le(b, (uint64_t)v);
}

void av_put_double(buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    buf_putc(b, AV_DOUBLE);
    buf_put_u64le(b, bits);
}

void av_put_bytes(buf *b, bslice s)
{
    buf_putc(b, AV_BYTES);
    buf_put_u32le(b, (uint32_t)s.n);
    buf_append(b, s.p, s.n);
}

void av_put_key(buf *b, bslice key)
{
    buf_put_u32le(b, (uint32_t)key.n);
    buf_append(b, key.p, key.n);
}

size_t av_begin_count(buf *b)
{
    size_t pos = b->n;
    buf_put_u32le(b, 0);
    return pos;
}

size_t av_begin_array(buf *b)
{
    buf_putc(b, AV_ARRAY);
    return av_begin_count(b);
}

size_t av_begin_kvlist(buf *b)
{
    buf_putc(b, AV_KVLIST);
    return av_begin_count(b);
}

void av_end_count(buf *b, size_t pos, uint32_t count)
{
    if (b->err || pos + 4 > b->n)
        return;
    wr_u32le(b->p + pos, count);
}

/* ---- validation / lengths ---- */
static int av_len_rec(const uint8_t *p, const uint8_t *end, int depth, size_t *len);

static int av_entries_len(const uint8_t *p, const uint8_t *end, int depth, size_t *len)
{
    if (end - p < 4)
        return BRAID_EINVAL;
    uint32_t count = rd_u32le(p);
    const uint8_t *q = p + 4;
    for (uint32_t i = 0; i < count; i++) {
        if (end - q < 4)
            return BRAID_EINVAL;
        uint32_t kl = rd_u32le(q);
        q += 4;
        if ((size_t)(end - q) < kl)
            return BRAID_EINVAL;
        q += kl;
        size_t vl;
        if (av_len_rec(q, end, depth, &vl))
            return BRAID_EINVAL;
        q += vl;
    }
    *len = (size_t)(q - p);
    return 0;
}

static int av_len_rec(const uint8_t *p, const uint8_t *end, int depth, size_t *len)
{
    if (p >= end || depth > AV_MAX_DEPTH)
        return BRAID_EINVAL;
    size_t avail = (size_t)(end - p);
    switch (p[0]) {
    case AV_EMPTY:
        *len = 1;
        return 0;
    case AV_BOOL:
        if (avail < 2 || p[1] > 1)
            return BRAID_EINVAL;
        *len = 2;
        return 0;
    case AV_INT:
    case AV_DOUBLE:
        if (avail < 9)
            return BRAID_EINVAL;
        *len = 9;
        return 0;
    case AV_STR:
    case AV_BYTES: {
        if (avail < 5)
            return BRAID_EINVAL;
        uint32_t n = rd_u32le(p + 1);
        if (avail - 5 < n)
            return BRAID_EINVAL;
        *len = 5 + (size_t)n;
        return 0;
    }
    case AV_ARRAY: {
        if (avail < 5)
            return BRAID_EINVAL;
        uint32_t count = rd_u32le(p + 1);
        const uint8_t *q = p + 5;
        for (uint32_t i = 0; i < count; i++) {
            size_t vl;
            if (av_len_rec(q, end, depth + 1, &vl))
                return BRAID_EINVAL;
            q += vl;
        }
        *len = (size_t)(q - p);
        return 0;
    }
    case AV_KVLIST: {
        size_t el;
        if (av_entries_len(p + 1, end, depth + 1, &el))
            return BRAID_EINVAL;
        *len = 1 + el;
        return 0;
    }
    default:
        return BRAID_EINVAL;
    }
}

int av_value_len(const uint8_t *p, size_t n, size_t *len)
{
    if (n == 0)
        return BRAID_EINVAL;
    return av_len_rec(p, p + n, 0, len);
}

int av_validate_value(bslice v)
{
    size_t len;
    if (v.n == 0)
        return BRAID_EINVAL;
    if (av_len_rec(v.p, v.p + v.n, 0, &len) || len != v.n)
        return BRAID_EINVAL;
    return 0;
}

int av_validate_attrs(bslice a)
{
    if (a.n == 0)
        return 0;
    size_t len;
    if (av_entries_len(a.p, a.p + a.n, 0, &len) || len != a.n)
        return BRAID_EINVAL;
    return 0;
}

/* ---- iteration ---- */
void av_iter_init(av_iter *it, bslice attrs)
{
    it->p = it->end = attrs.p;
    it->left = 0;
    if (attrs.n >= 4) {
        it->end = attrs.p + attrs.n;
        it->left = rd_u32le(attrs.p);
        it->p += 4;
    }
}

int av_iter_next(av_iter *it, bslice *key, bslice *value)
{
    if (it->left == 0)
        return 0;
    if (it->end - it->p < 4)
        return BRAID_EINVAL;
    uint32_t kl = rd_u32le(it->p);
    it->p += 4;
    if ((size_t)(it->end - it->p) < kl)
        return BRAID_EINVAL;
    *key = (bslice){it->p, kl};
    it->p += kl;
    size_t vl;
    if (av_len_rec(it->p, it->end, 1, &vl))
        return BRAID_EINVAL;
    *value = (bslice){it->p, vl};
    it->p += vl;
    it->left--;
    return 1;
}

int av_find(bslice attrs, const char *key, bslice *value)
{
    av_iter it;
    av_iter_init(&it, attrs);
    bslice k, v;
    while (av_iter_next(&it, &k, &v) == 1) {
        if (bslice_eq_cstr(k, key)) {
            *value = v;
            return 1;
        }
    }
    return 0;
}

int av_as_str(bslice v, bslice *s)
{
    if (v.n < 5 || v.p[0] != AV_STR)
        return 0;
    uint32_t n = rd_u32le(v.p + 1);
    if (v.n - 5 < n)
        return 0;
    *s = (bslice){v.p + 5, n};
    return 1;
}

/* ---- JSON rendering ---- */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

void json_put_str(buf *out, bslice s)
{
    static const char hex[] = "0123456789abcdef";
    if (s.n == 0) {
        buf_append(out, "\"\"", 2);
        return;
    }
    buf_putc(out, '"');
    size_t i = 0, run = 0;
    while (i < s.n) {
        uint8_t c = s.p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            run++;
            continue;
        }
        buf_append(out, s.p + i - run, run);
        run = 0;
        if (c >= 0x80) {
            size_t l = utf8_seq_len(s.p + i, s.n - i);
            if (l == 0) {
                buf_append(out, "\xEF\xBF\xBD", 3);
                i++;
            } else {
                buf_append(out, s.p + i, l);
                i += l;
            }
            continue;
        }
        switch (c) {
        case '"':
            buf_append(out, "\\\"", 2);
            break;
        case '\\':
            buf_append(out, "\\\\", 2);
            break;
        case '\n':
            buf_append(out, "\\n", 2);
            break;
        case '\r':
            buf_append(out, "\\r", 2);
            break;
        case '\t':
            buf_append(out, "\\t", 2);
            break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(out, e, 6);
        }
        }
        i++;
    }
    buf_append(out, s.p + i - run, run);
    buf_putc(out, '"');
}

static void put_base64(buf *out, bslice s)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    buf_putc(out, '"');
    size_t i = 0;
    for (; i + 3 <= s.n; i += 3) {
        uint32_t v = (uint32_t)s.p[i] << 16 | (uint32_t)s.p[i + 1] << 8 | s.p[i + 2];
        char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
        buf_append(out, q, 4);
    }
    if (s.n - i == 1) {
        uint32_t v = (uint32_t)s.p[i] << 16;
        char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
        buf_append(out, q, 4);
    } else if (s.n - i == 2) {
        uint32_t v = (uint32_t)s.p[i] << 16 | (uint32_t)s.p[i + 1] << 8;
        char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
        buf_append(out, q, 4);
    }
    buf_putc(out, '"');
}

static void put_double(buf *out, double d)
{
    if (isnan(d))
        buf_puts(out, "\"NaN\"");
    else if (isinf(d))
        buf_puts(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        buf_printf(out, "%.17g", d);
}

/* Renders the value at p (already validated by the caller's bounds checks);
 * returns bytes consumed, 0 if malformed (then "null" is written). */
static size_t value_json(buf *out, const uint8_t *p, const uint8_t *end, int depth);

static size_t entries_json(buf *out, const uint8_t *p, const uint8_t *end, int depth)
{
    if (end - p < 4) {
        buf_puts(out, "{}");
        return 0;
    }
    uint32_t count = rd_u32le(p);
    const uint8_t *q = p + 4;
    buf_putc(out, '{');
    for (uint32_t i = 0; i < count; i++) {
        if (end - q < 4)
            break;
        uint32_t kl = rd_u32le(q);
        q += 4;
        if ((size_t)(end - q) < kl)
            break;
        if (i)
            buf_putc(out, ',');
        json_put_str(out, (bslice){q, kl});
        q += kl;
        buf_putc(out, ':');
        size_t vl = value_json(out, q, end, depth + 1);
        if (vl == 0)
            break;
        q += vl;
    }
    buf_putc(out, '}');
    return (size_t)(q - p);
}

static size_t value_json(buf *out, const uint8_t *p, const uint8_t *end, int depth)
{
    size_t len;
    if (av_len_rec(p, end, depth, &len)) {
        buf_puts(out, "null");
        return 0;
    }
    switch (p[0]) {
    case AV_EMPTY:
        buf_puts(out, "null");
        break;
    case AV_BOOL:
        buf_puts(out, p[1] ? "true" : "false");
        break;
    case AV_INT:
        buf_printf(out, "%lld", (long long)(int64_t)rd_u64le(p + 1));
        break;
    case AV_DOUBLE: {
        uint64_t bits = rd_u64le(p + 1);
        double d;
        memcpy(&d, &bits, 8);
        put_double(out, d);
        break;
    }
    case AV_STR:
        json_put_str(out, (bslice){p + 5, rd_u32le(p + 1)});
        break;
    case AV_BYTES:
        put_base64(out, (bslice){p + 5, rd_u32le(p + 1)});
        break;
    case AV_ARRAY: {
        uint32_t count = rd_u32le(p + 1);
        const uint8_t *q = p + 5;
        buf_putc(out, '[');
        for (uint32_t i = 0; i < count; i++) {
            if (i)
                buf_putc(out, ',');
            q += value_json(out, q, end, depth + 1);
        }
        buf_putc(out, ']');
        break;
    }
    case AV_KVLIST:
        entries_json(out, p + 1, end, depth + 1);
        break;
    }
    return len;
}

void av_value_to_json(buf *out, bslice v)
{
    if (v.n == 0) {
        buf_puts(out, "null");
        return;
    }
    value_json(out, v.p, v.p + v.n, 0);
}

void av_attrs_to_json(buf *out, bslice attrs)
{
    if (attrs.n == 0) {
        buf_puts(out, "{}");
        return;
    }
    size_t len;
    if (av_entries_len(attrs.p, attrs.p + attrs.n, 0, &len)) {
        buf_puts(out, "{}");
        return;
    }
    entries_json(out, attrs.p, attrs.p + attrs.n, 0);
}

/* ---- events and links ---- */
/* Reads a u32-length-prefixed field; returns 0 or EINVAL. */
static int take_lp(const uint8_t **p, const uint8_t *end, bslice *out)
{
    if (end - *p < 4)
        return BRAID_EINVAL;
    uint32_t n = rd_u32le(*p);
    *p += 4;
    if ((size_t)(end - *p) < n)
        return BRAID_EINVAL;
    *out = (bslice){*p, n};
    *p += n;
    return 0;
}

typedef struct {
    uint64_t time;
    bslice name, attrs;
    uint32_t dropped;
} event_view;

typedef struct {
    const uint8_t *tid, *sid;
    bslice ts, attrs;
    uint32_t dropped, flags;
} link_view;

static int next_event(const uint8_t **p, const uint8_t *end, event_view *e)
{
    if (end - *p < 8)
        return BRAID_EINVAL;
    e->time = rd_u64le(*p);
    *p += 8;
    if (take_lp(p, end, &e->name) || take_lp(p, end, &e->attrs) || end - *p < 4)
        return BRAID_EINVAL;
    e->dropped = rd_u32le(*p);
    *p += 4;
    return av_validate_attrs(e->attrs);
}

static int next_link(const uint8_t **p, const uint8_t *end, link_view *l)
{
    if (end - *p < 24)
        return BRAID_EINVAL;
    l->tid = *p;
    l->sid = *p + 16;
    *p += 24;
    if (take_lp(p, end, &l->ts) || take_lp(p, end, &l->attrs) || end - *p < 8)
        return BRAID_EINVAL;
    l->dropped = rd_u32le(*p);
    l->flags = rd_u32le(*p + 4);
    *p += 8;
    return av_validate_attrs(l->attrs);
}

int model_validate_events(bslice ev)
{
    if (ev.n == 0)
        return 0;
    if (ev.n < 4)
        return BRAID_EINVAL;
    const uint8_t *p = ev.p + 4, *end = ev.p + ev.n;
    uint32_t count = rd_u32le(ev.p);
    for (uint32_t i = 0; i < count; i++) {
        event_view e;
        if (next_event(&p, end, &e))
            return BRAID_EINVAL;
    }
    return p == end ? 0 : BRAID_EINVAL;
}

int model_validate_links(bslice lk)
{
    if (lk.n == 0)
        return 0;
    if (lk.n < 4)
        return BRAID_EINVAL;
    const uint8_t *p = lk.p + 4, *end = lk.p + lk.n;
    uint32_t count = rd_u32le(lk.p);
    for (uint32_t i = 0; i < count; i++) {
        link_view l;
        if (next_link(&p, end, &l))
            return BRAID_EINVAL;
    }
    return p == end ? 0 : BRAID_EINVAL;
}

void model_events_to_json(buf *out, bslice ev)
{
    buf_putc(out, '[');
    if (model_validate_events(ev) == 0 && ev.n >= 4) {
        const uint8_t *p = ev.p + 4, *end = ev.p + ev.n;
        uint32_t count = rd_u32le(ev.p);
        for (uint32_t i = 0; i < count; i++) {
            event_view e;
            if (next_event(&p, end, &e))
                break;
            if (i)
                buf_putc(out, ',');
            buf_printf(out, "{\"time_unix_nano\":\"%llu\",\"name\":", (unsigned long long)e.time);
            json_put_str(out, e.name);
            buf_puts(out, ",\"attributes\":");
            av_attrs_to_json(out, e.attrs);
            buf_printf(out, ",\"dropped_attributes_count\":%u}", e.dropped);
        }
    }
    buf_putc(out, ']');
}

void model_links_to_json(buf *out, bslice lk)
{
    buf_putc(out, '[');
    if (model_validate_links(lk) == 0 && lk.n >= 4) {
        const uint8_t *p = lk.p + 4, *end = lk.p + lk.n;
        uint32_t count = rd_u32le(lk.p);
        for (uint32_t i = 0; i < count; i++) {
            link_view l;
            if (next_link(&p, end, &l))
                break;
            trace_id_t t;
            span_id_t s;
            memcpy(t.b, l.tid, 16);
            memcpy(s.b, l.sid, 8);
            char th[33], sh[17];
            trace_id_hex(&t, th);
            span_id_hex(&s, sh);
            if (i)
                buf_putc(out, ',');
            buf_printf(out, "{\"trace_id\":\"%s\",\"span_id\":\"%s\",\"trace_state\":", th, sh);
            json_put_str(out, l.ts);
            buf_puts(out, ",\"attributes\":");
            av_attrs_to_json(out, l.attrs);
            buf_printf(out, ",\"dropped_attributes_count\":%u,\"flags\":%u}", l.dropped, l.flags);
        }
    }
    buf_putc(out, ']');
}

/* ---- metric payloads ---- */
typedef struct {
    const uint8_t *p, *end;
    int err;
} rd;

static uint64_t rd_u64(rd *r)
{
    if (r->end - r->p < 8) {
        r->err = 1;
        return 0;
    }
    uint64_t v = rd_u64le(r->p);
    r->p += 8;
    return v;
}

static uint32_t rd_u32(rd *r)
{
    if (r->end - r->p < 4) {
        r->err = 1;
        return 0;
    }
    uint32_t v = rd_u32le(r->p);
    r->p += 4;
    return v;
}

static uint8_t rd_u8(rd *r)
{
    if (r->end - r->p < 1) {
        r->err = 1;
        return 0;
    }
    return *r->p++;
}

static double rd_f64(rd *r)
{
    uint64_t b = rd_u64(r);
    double d;
    memcpy(&d, &b, 8);
    return d;
}

static void put_opt_double(buf *out, const char *name, double v, uint8_t has)
{
    buf_printf(out, ",\"%s\":", name);
    if (has)
        put_double(out, v);
    else
        buf_puts(out, "null");
}

static int u64_array_json(buf *out, rd *r, uint32_t n)
{
    if ((size_t)(r->end - r->p) / 8 < n) {
        r->err = 1;
        return BRAID_EINVAL;
    }
    buf_putc(out, '[');
    for (uint32_t i = 0; i < n; i++)
        buf_printf(out, "%s\"%llu\"", i ? "," : "", (unsigned long long)rd_u64(r));
    buf_putc(out, ']');
    return 0;
}

int model_metric_payload_to_json(buf *out, uint8_t type, bslice payload)
{
    static const uint8_t none[1];
    if (payload.n == 0)
        payload.p = none; /* never offset a NULL pointer */
    rd r = {payload.p, payload.p + payload.n, 0};
    size_t start = out->n;
    switch (type) {
    case METRIC_GAUGE:
    case METRIC_SUM:
        buf_puts(out, "null");
        return 0;
    case METRIC_HISTOGRAM: {
        uint64_t count = rd_u64(&r);
        double sum = rd_f64(&r);
        uint8_t has_sum = rd_u8(&r);
        double mn = rd_f64(&r);
        uint8_t has_min = rd_u8(&r);
        double mx = rd_f64(&r);
        uint8_t has_max = rd_u8(&r);
        buf_printf(out, "{\"count\":\"%llu\"", (unsigned long long)count);
        put_opt_double(out, "sum", sum, has_sum);
        put_opt_double(out, "min", mn, has_min);
        put_opt_double(out, "max", mx, has_max);
        buf_puts(out, ",\"bucket_counts\":");
        uint32_t nb = rd_u32(&r);
        if (r.err || u64_array_json(out, &r, nb))
            break;
        buf_puts(out, ",\"explicit_bounds\":[");
        uint32_t nbounds = rd_u32(&r);
        if (r.err || (size_t)(r.end - r.p) / 8 < nbounds) {
            r.err = 1;
            break;
        }
        for (uint32_t i = 0; i < nbounds; i++) {
            if (i)
                buf_putc(out, ',');
            put_double(out, rd_f64(&r));
        }
        buf_puts(out, "]}");
        break;
    }
    case METRIC_EXP_HISTOGRAM: {
        uint64_t count = rd_u64(&r);
        double sum = rd_f64(&r);
        uint8_t has_sum = rd_u8(&r);
        int32_t scale = (int32_t)rd_u32(&r);
        uint64_t zc = rd_u64(&r);
        double zt = rd_f64(&r);
        double mn = rd_f64(&r);
        uint8_t has_min = rd_u8(&r);
        double mx = rd_f64(&r);
        uint8_t has_max = rd_u8(&r);
        buf_printf(out, "{\"count\":\"%llu\"", (unsigned long long)count);
        put_opt_double(out, "sum", sum, has_sum);
        buf_printf(out, ",\"scale\":%d,\"zero_count\":\"%llu\",\"zero_threshold\":", scale,
                   (unsigned long long)zc);
        put_double(out, zt);
        put_opt_double(out, "min", mn, has_min);
        put_opt_double(out, "max", mx, has_max);
        for (int side = 0; side < 2 && !r.err; side++) {
            int32_t off = (int32_t)rd_u32(&r);
            uint32_t n = rd_u32(&r);
            if (r.err)
                break;
            buf_printf(out,
                       ",\"%s\":{\"offset\":%d,\"bucket_counts\":", side ? "negative" : "positive",
                       off);
            if (u64_array_json(out, &r, n))
                break;
            buf_putc(out, '}');
        }
        buf_putc(out, '}');
        break;
    }
    case METRIC_SUMMARY: {
        uint64_t count = rd_u64(&r);
        double sum = rd_f64(&r);
        uint32_t nq = rd_u32(&r);
        if (r.err || (size_t)(r.end - r.p) / 16 < nq) {
            r.err = 1;
            break;
        }
        buf_printf(out, "{\"count\":\"%llu\",\"sum\":", (unsigned long long)count);
        put_double(out, sum);
        buf_puts(out, ",\"quantile_values\":[");
        for (uint32_t i = 0; i < nq; i++) {
            double q = rd_f64(&r), v = rd_f64(&r);
            buf_puts(out, i ? ",{\"quantile\":" : "{\"quantile\":");
            put_double(out, q);
            buf_puts(out, ",\"value\":");
            put_double(out, v);
            buf_putc(out, '}');
        }
        buf_puts(out, "]}");
        break;
    }
    default:
        r.err = 1;
    }
    if (r.err) {
        out->n = start;
        buf_puts(out, "null");
        return BRAID_EINVAL;
    }
    return 0;
}

int32_t model_hist_bucket(bslice payload, double value)
{
    /* Explicit-bounds histogram: bucket i holds (bounds[i-1], bounds[i]]. */
    if (payload.n < 8 + 9 + 9 + 9)
        return -1;
    rd r = {payload.p, payload.p + payload.n, 0};
    r.p += 8 + 9 + 9 + 9; /* count, sum+has, min+has, max+has */
    if (r.p > r.end)
        return -1;
    uint32_t nb = rd_u32(&r);
    if (r.err || (size_t)(r.end - r.p) / 8 < nb)
        return -1;
    r.p += (size_t)nb * 8;
    uint32_t nbounds = rd_u32(&r);
    if (r.err || (size_t)(r.end - r.p) / 8 < nbounds)
        return -1;
    for (uint32_t i = 0; i < nbounds; i++)
        if (value <= rd_f64(&r))
            return (int32_t)i;
    return (int32_t)nbounds;
}

/* ---- batch ---- */
const char *signal_name(signal_t s)
{
    switch (s) {
    case SIGNAL_LOGS:
        return "logs";
    case SIGNAL_SPANS:
        return "spans";
    case SIGNAL_METRICS:
        return "metrics";
    case SIGNAL_EXEMPLARS:
        return "exemplars";
    }
    return "unknown";
}

void model_batch_init(model_batch *b)
{
    memset(b, 0, sizeof *b);
    arena_init(&b->ar);
}

void model_batch_free(model_batch *b)
{
    arena_free(&b->ar);
    memset(b, 0, sizeof *b);
}

/* Grows one row array (doubling) inside the arena and returns a zeroed slot. */
static void *batch_add(model_batch *b, void **arr, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *p = arena_grow(&b->ar, *arr, *n * elem, nc * elem);
        if (!p)
            return NULL;
        *arr = p;
        *cap = nc;
    }
    void *slot = (uint8_t *)*arr + *n * elem;
    memset(slot, 0, elem);
    (*n)++;
    return slot;
}

model_log *model_batch_add_log(model_batch *b)
{
    return batch_add(b, (void **)&b->logs, &b->nlogs, &b->caplogs, sizeof(model_log));
}

model_span *model_batch_add_span(model_batch *b)
{
    return batch_add(b, (void **)&b->spans, &b->nspans, &b->capspans, sizeof(model_span));
}

model_metric *model_batch_add_metric(model_batch *b)
{
    return batch_add(b, (void **)&b->metrics, &b->nmetrics, &b->capmetrics, sizeof(model_metric));
}

model_exemplar *model_batch_add_exemplar(model_batch *b)
{
    return batch_add(b, (void **)&b->exemplars, &b->nexemplars, &b->capexemplars,
                     sizeof(model_exemplar));
}

model_origin *model_batch_add_origin(model_batch *b)
{
    model_origin *o = arena_alloc(&b->ar, sizeof *o);
    if (o)
        memset(o, 0, sizeof *o);
    return o;
}

void model_batch_reject(model_batch *b, const char *fmt, ...)
{
    if (b->rejected++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->reject_msg, sizeof b->reject_msg, fmt, ap);
        va_end(ap);
    }
}

int model_batch_keep(model_batch *b, const void *p, size_t n, bslice *out)
{
    if (n == 0) {
        *out = (bslice){NULL, 0};
        return 0;
    }
    uint8_t *d = arena_dup(&b->ar, p, n);
    if (!d)
        return BRAID_ENOMEM;
    *out = (bslice){d, n};
    return 0;
}

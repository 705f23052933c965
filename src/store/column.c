/* store/column: the columnar layout of parts. A schema per signal; each
 * column of a row group is a block: times as byte planes, integers as varints
 * or packed codes, ids as runs, strings plain or via a block or part
 * dictionary (attributes: colattrs.c, log bodies: coltext.c). Owns only its
 * buffers. Decoding never trusts a block: counts and lengths are checked and
 * a block must be consumed exactly. */
#include "column.h"

#include <stddef.h>
#include <stdlib.h>
#include <xxhash.h>

#define F(type, field) offsetof(type, field)

static const col_desc log_cols[] = {
    {CK_TIME, F(model_log, time_ns), 0},
    {CK_TREL, F(model_log, observed_ns), F(model_log, time_ns)},
    {CK_TID, F(model_log, trace_id), 0},
    {CK_ID8, F(model_log, span_id), 0},
    {CK_U32, F(model_log, flags), 0},
    {CK_I32, F(model_log, severity_number), 0},
    {CK_BYTES, F(model_log, severity_text), 0},
    {CK_BODY, F(model_log, body), 0},
    {CK_ATTRS, F(model_log, attrs), 0},
    {CK_U32, F(model_log, dropped_attrs), 0},
    {CK_BYTES, F(model_log, event_name), 0},
    {CK_BYTES, F(model_log, source), 0},
    {CK_U8, F(model_log, id_form), 0},
    {CK_BYTES, F(model_log, id_field), 0},
    {CK_ORIGIN, F(model_log, origin), 0},
};

static const col_desc span_cols[] = {
    {CK_TID, F(model_span, trace_id), 0},
    {CK_ID8, F(model_span, span_id), 0},
    {CK_ID8, F(model_span, parent_span_id), 0},
    {CK_BYTES, F(model_span, trace_state), 0},
    {CK_U32, F(model_span, flags), 0},
    {CK_BYTES, F(model_span, name), 0},
    {CK_I32, F(model_span, kind), 0},
    {CK_TIME, F(model_span, start_ns), 0},
    {CK_TREL, F(model_span, end_ns), F(model_span, start_ns)},
    {CK_ATTRS, F(model_span, attrs), 0},
    {CK_U32, F(model_span, dropped_attrs), 0},
    {CK_BYTES, F(model_span, events), 0},
    {CK_U32, F(model_span, dropped_events), 0},
    {CK_BYTES, F(model_span, links), 0},
    {CK_U32, F(model_span, dropped_links), 0},
    {CK_I32, F(model_span, status_code), 0},
    {CK_BYTES, F(model_span, status_message), 0},
    {CK_ORIGIN, F(model_span, origin), 0},
};

static const col_desc metric_cols[] = {
    {CK_BYTES, F(model_metric, name), 0},     {CK_BYTES, F(model_metric, description), 0},
    {CK_BYTES, F(model_metric, unit), 0},     {CK_U8, F(model_metric, type), 0},
    {CK_U8, F(model_metric, temporality), 0}, {CK_U8, F(model_metric, monotonic), 0},
    {CK_U8, F(model_metric, is_int), 0},      {CK_ATTRS, F(model_metric, attrs), 0},
    {CK_TIME, F(model_metric, time_ns), 0},   {CK_TIME, F(model_metric, start_ns), 0},
    {CK_U32, F(model_metric, flags), 0},      {CK_F64, F(model_metric, value_double), 0},
    {CK_I64, F(model_metric, value_int), 0},  {CK_BYTES, F(model_metric, payload), 0},
    {CK_BYTES, F(model_metric, metadata), 0}, {CK_ORIGIN, F(model_metric, origin), 0},
};

static const col_desc exemplar_cols[] = {
    {CK_BYTES, F(model_exemplar, metric_name), 0},
    {CK_U8, F(model_exemplar, metric_type), 0},
    {CK_ATTRS, F(model_exemplar, series_attrs), 0},
    {CK_TIME, F(model_exemplar, time_ns), 0},
    {CK_U8, F(model_exemplar, is_int), 0},
    {CK_F64, F(model_exemplar, value_double), 0},
    {CK_I64, F(model_exemplar, value_int), 0},
    {CK_TID, F(model_exemplar, trace_id), 0},
    {CK_ID8, F(model_exemplar, span_id), 0},
    {CK_ATTRS, F(model_exemplar, filtered_attrs), 0},
    {CK_I32, F(model_exemplar, bucket), 0},
    {CK_ORIGIN, F(model_exemplar, origin), 0},
};

#define NCOLS(a) (uint32_t)(sizeof(a) / sizeof(a[0]))

static const col_schema schemas[SIGNAL_COUNT] = {
    {log_cols, NCOLS(log_cols)},
    {span_cols, NCOLS(span_cols)},
    {metric_cols, NCOLS(metric_cols)},
    {exemplar_cols, NCOLS(exemplar_cols)},
};

_Static_assert(NCOLS(span_cols) <= COL_MAX, "COL_MAX too small");

const col_schema *col_schema_for(signal_t sig)
{
    return (unsigned)sig < SIGNAL_COUNT ? &schemas[sig] : NULL;
}

static const char *const log_names[] = {
    "time_ns",      "observed_ns",   "trace_id", "span_id",  "flags",
    "severity_num", "severity_text", "body",     "attrs",    "dropped_attrs",
    "event_name",   "source",        "id_form",  "id_field", "origin",
};
static const char *const span_names[] = {
    "trace_id",       "span_id",  "parent_span_id", "trace_state", "flags",          "name",
    "kind",           "start_ns", "end_ns",         "attrs",       "dropped_attrs",  "events",
    "dropped_events", "links",    "dropped_links",  "status_code", "status_message", "origin",
};
static const char *const metric_names[] = {
    "name",      "description", "unit",     "type",     "temporality", "monotonic",
    "is_int",    "attrs",       "time_ns",  "start_ns", "flags",       "value_double",
    "value_int", "payload",     "metadata", "origin",
};
static const char *const exemplar_names[] = {
    "metric_name", "metric_type", "series_attrs", "time_ns",        "is_int", "value_double",
    "value_int",   "trace_id",    "span_id",      "filtered_attrs", "bucket", "origin",
};
_Static_assert(NCOLS(log_names) == NCOLS(log_cols), "log column names");
_Static_assert(NCOLS(span_names) == NCOLS(span_cols), "span column names");
_Static_assert(NCOLS(metric_names) == NCOLS(metric_cols), "metric column names");
_Static_assert(NCOLS(exemplar_names) == NCOLS(exemplar_cols), "exemplar column names");

const char *col_name(signal_t sig, uint32_t c)
{
    static const char *const *const names[SIGNAL_COUNT] = {log_names, span_names, metric_names,
                                                           exemplar_names};
    const col_schema *sc = col_schema_for(sig);
    return sc && c < sc->ncols ? names[sig][c] : "?";
}

/* ---- string sets ---- */
void sdict_free(sdict *d)
{
    buf_free(&d->bytes);
    free(d->off);
    free(d->len);
    free(d->hash);
    free(d->slots);
    memset(d, 0, sizeof *d);
}

void sdict_reset(sdict *d)
{
    buf_reset(&d->bytes);
    if (d->slots && d->n)
        memset(d->slots, 0, (size_t)d->nslots * sizeof *d->slots);
    d->n = 0;
}

static int sdict_rehash(sdict *d, uint32_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof *s);
    if (!s)
        return BRAID_ENOMEM;
    for (uint32_t v = 0; v < d->n; v++) {
        uint32_t i = (uint32_t)d->hash[v] & (nslots - 1);
        while (s[i])
            i = (i + 1) & (nslots - 1);
        s[i] = v + 1;
    }
    free(d->slots);
    d->slots = s;
    d->nslots = nslots;
    return 0;
}

int sdict_add(sdict *d, const uint8_t *p, size_t n, uint32_t *idx)
{
    if ((uint64_t)d->bytes.n + n > UINT32_MAX)
        return BRAID_ETOOBIG;
    if (d->nslots == 0 || (d->n + 1) * 2 > d->nslots) {
        int rc = sdict_rehash(d, d->nslots ? d->nslots * 2 : 64);
        if (rc)
            return rc;
    }
    uint64_t h = XXH3_64bits(p ? (const void *)p : (const void *)"", n);
    uint32_t i = (uint32_t)h & (d->nslots - 1);
    while (d->slots[i]) {
        uint32_t k = d->slots[i] - 1;
        if (d->hash[k] == h && d->len[k] == n && (n == 0 || memcmp(sdict_at(d, k), p, n) == 0)) {
            *idx = k;
            return 0;
        }
        i = (i + 1) & (d->nslots - 1);
    }
    if (d->n == d->cap) {
        uint32_t nc = d->cap ? d->cap * 2 : 64;
        uint32_t *a = realloc(d->off, (size_t)nc * sizeof *a);
        if (a)
            d->off = a;
        uint32_t *b = realloc(d->len, (size_t)nc * sizeof *b);
        if (b)
            d->len = b;
        uint64_t *hh = realloc(d->hash, (size_t)nc * sizeof *hh);
        if (hh)
            d->hash = hh;
        if (!a || !b || !hh)
            return BRAID_ENOMEM;
        d->cap = nc;
    }
    uint32_t k = d->n++;
    d->off[k] = (uint32_t)d->bytes.n;
    d->len[k] = (uint32_t)n;
    d->hash[k] = h;
    cw_bytes(&d->bytes, p, n);
    if (d->bytes.err)
        return d->bytes.err;
    d->slots[i] = k + 1;
    *idx = k;
    return 0;
}

/* ---- writing ---- */
static uint64_t get_u64(const void *row, uint16_t off)
{
    uint64_t v;
    memcpy(&v, (const uint8_t *)row + off, 8);
    return v;
}

void colw_init(colw *c)
{
    memset(c, 0, sizeof *c);
    buf_init(&c->raw);
    buf_init(&c->scratch);
}

void colw_free(colw *c)
{
    buf_free(&c->raw);
    buf_free(&c->scratch);
    sdict_free(&c->d);
    sdict_free(&c->pd);
    sdict_free(&c->keys);
    sdict_free(&c->shapes);
    sdict_free(&c->vals);
    sdict_free(&c->og);
    free(c->omap);
    free(c->gblk);
    free(c->gtouched);
    free(c->rowidx);
    free(c->rowlen);
    memset(c, 0, sizeof *c);
}

void colw_reset(colw *c)
{
    buf_reset(&c->raw);
    sdict_reset(&c->d);
    for (uint32_t i = 0; i < c->ntouched; i++)
        c->gblk[c->gtouched[i]] = 0;
    c->ntouched = 0;
    c->nrows = 0;
    c->prev = 0;
}

size_t colw_bytes(const colw *c)
{
    return c->raw.n + c->d.bytes.n + (size_t)c->nrows * 2;
}

static int grow_rows(colw *c)
{
    if (c->nrows < c->caprows)
        return 0;
    uint32_t nc = c->caprows ? c->caprows * 2 : 256;
    uint32_t *a = realloc(c->rowidx, (size_t)nc * sizeof *a);
    if (a)
        c->rowidx = a;
    uint32_t *b = realloc(c->rowlen, (size_t)nc * sizeof *b);
    if (b)
        c->rowlen = b;
    if (!a || !b)
        return BRAID_ENOMEM;
    c->caprows = nc;
    return 0;
}

struct colw_optr {
    const void *ptr;
    uint32_t gid;
};

static size_t ptr_hash(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32);
}

/* The og index of origin struct o, encoding it only the first time its
 * address is seen. */
static int origin_gid(colw *c, const model_origin *o, uint32_t *gid)
{
    if (c->omap_n * 2 >= c->omap_cap) {
        uint32_t nc = c->omap_cap ? c->omap_cap * 2 : 1024;
        struct colw_optr *m = calloc(nc, sizeof *m);
        if (!m)
            return BRAID_ENOMEM;
        for (uint32_t i = 0; i < c->omap_cap; i++) {
            if (!c->omap[i].ptr)
                continue;
            size_t j = ptr_hash(c->omap[i].ptr) & (nc - 1);
            while (m[j].ptr)
                j = (j + 1) & (nc - 1);
            m[j] = c->omap[i];
        }
        free(c->omap);
        c->omap = m;
        c->omap_cap = nc;
    }
    size_t j = ptr_hash(o) & (c->omap_cap - 1);
    while (c->omap[j].ptr) {
        if (c->omap[j].ptr == o) {
            *gid = c->omap[j].gid;
            return 0;
        }
        j = (j + 1) & (c->omap_cap - 1);
    }
    buf_reset(&c->scratch);
    rowcodec_put_origin(&c->scratch, o);
    int rc = c->scratch.err ? c->scratch.err : sdict_add(&c->og, c->scratch.p, c->scratch.n, gid);
    if (rc)
        return rc;
    c->omap[j] = (struct colw_optr){o, *gid};
    c->omap_n++;
    return 0;
}

/* The block index of a row's origin. In a memtable every request has its
 * own origin structs, and they stay put while a flush writes them, so an
 * address seen before is known without encoding the origin again. */
static int add_origin(colw *c, const model_origin *o, uint32_t *idx)
{
    if (!o)
        o = &store_empty_origin;
    if (!c->stable_ptrs) {
        buf_reset(&c->scratch);
        rowcodec_put_origin(&c->scratch, o);
        if (c->scratch.err)
            return c->scratch.err;
        return sdict_add(&c->d, c->scratch.p, c->scratch.n, idx);
    }
    uint32_t gid;
    int rc = origin_gid(c, o, &gid);
    if (rc)
        return rc;
    if (gid >= c->gcap) {
        uint32_t nc = c->gcap ? c->gcap : 64;
        while (nc <= gid)
            nc *= 2;
        uint32_t *a = realloc(c->gblk, (size_t)nc * sizeof *a);
        if (a)
            c->gblk = a;
        uint32_t *b = realloc(c->gtouched, (size_t)nc * sizeof *b);
        if (b)
            c->gtouched = b;
        if (!a || !b)
            return BRAID_ENOMEM;
        memset(c->gblk + c->gcap, 0, (size_t)(nc - c->gcap) * sizeof *a);
        c->gcap = nc;
    }
    if (c->gblk[gid]) {
        *idx = c->gblk[gid] - 1;
        return 0;
    }
    if ((rc = sdict_add(&c->d, sdict_at(&c->og, gid), c->og.len[gid], idx)) != 0)
        return rc;
    c->gblk[gid] = *idx + 1;
    c->gtouched[c->ntouched++] = gid;
    return 0;
}

int colw_add(colw *c, const col_desc *d, const void *row)
{
    const uint8_t *f = (const uint8_t *)row + d->off;
    switch (d->kind) {
    case CK_TIME:
    case CK_TREL: {
        /* Kept as zigzag u64s; colw_finish lays them out. */
        uint64_t v = get_u64(row, d->off), base = c->prev;
        if (d->kind == CK_TREL)
            base = get_u64(row, d->base);
        else
            c->prev = v;
        int64_t x = (int64_t)(v - base);
        uint64_t z = ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
        cw_bytes(&c->raw, &z, 8);
        break;
    }
    case CK_U32:
    case CK_I32:
    case CK_U8:
    case CK_I64: {
        /* Kept as the varint's u64 (zigzag for signed); colw_finish picks
         * the layout. */
        uint64_t z;
        if (d->kind == CK_U8) {
            z = *f;
        } else if (d->kind == CK_U32) {
            uint32_t v;
            memcpy(&v, f, 4);
            z = v;
        } else {
            int64_t v;
            if (d->kind == CK_I32) {
                int32_t x;
                memcpy(&x, f, 4);
                v = x;
            } else {
                memcpy(&v, f, 8);
            }
            z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        }
        cw_bytes(&c->raw, &z, 8);
        break;
    }
    case CK_F64:
        cw_bytes(&c->raw, f, 8);
        break;
    case CK_ID16:
        cw_bytes(&c->raw, f, 16);
        break;
    case CK_ID8:
        cw_bytes(&c->raw, f, 8);
        break;
    case CK_TID:
        break; /* the trace index holds it */
    case CK_ORIGIN: {
        int rc = grow_rows(c);
        if (!rc) {
            const model_origin *o;
            memcpy(&o, f, sizeof o);
            rc = add_origin(c, o, &c->rowidx[c->nrows]);
        }
        if (rc)
            return rc;
        break;
    }
    case CK_BYTES: {
        bslice v;
        memcpy(&v, f, sizeof v);
        int rc = grow_rows(c);
        if (rc)
            return rc;
        uint32_t i = c->nrows;
        /* Neighbouring rows (one trace, one request) often repeat a value. */
        if (i > 0) {
            uint32_t k = c->rowidx[i - 1];
            if (c->d.len[k] == v.n && (v.n == 0 || memcmp(sdict_at(&c->d, k), v.p, v.n) == 0)) {
                c->rowidx[i] = k;
                break;
            }
        }
        if ((rc = sdict_add(&c->d, v.p, v.n, &c->rowidx[i])) != 0)
            return rc;
        break;
    }
    case CK_ATTRS:
    case CK_BODY: {
        bslice v;
        memcpy(&v, f, sizeof v);
        int rc = grow_rows(c);
        if (rc)
            return rc;
        if ((uint64_t)c->raw.n + v.n > UINT32_MAX)
            return BRAID_ETOOBIG;
        c->rowidx[c->nrows] = (uint32_t)c->raw.n;
        c->rowlen[c->nrows] = (uint32_t)v.n;
        cw_bytes(&c->raw, v.p, v.n);
        break;
    }
    default:
        return BRAID_EINVAL;
    }
    c->nrows++;
    return c->raw.err;
}

/* Whether the w-byte ids (8 or 16) at a and b are equal. */
static inline bool id_eq(const uint8_t *a, const uint8_t *b, size_t w)
{
    return rd_u64le(a) == rd_u64le(b) && (w == 8 || rd_u64le(a + 8) == rd_u64le(b + 8));
}

/* Runs of equal ids: the run count, every run's length minus one, then
 * every run's id (lengths and ids are unlike data: kept apart). */
static int finish_ids(colw *c, size_t w, buf *out)
{
    const uint8_t *p = c->raw.p;
    uint32_t runs = 0;
    for (uint32_t i = 0; i < c->nrows; i++)
        if (i == 0 || !id_eq(p + i * w, p + (i - 1) * w, w))
            runs++;
    cw_var(out, runs);
    for (uint32_t i = 0; i < c->nrows;) {
        uint32_t j = i + 1;
        while (j < c->nrows && id_eq(p + j * w, p + i * w, w))
            j++;
        cw_var(out, j - i - 1);
        i = j;
    }
    for (uint32_t i = 0; i < c->nrows; i++)
        if (i == 0 || !id_eq(p + i * w, p + (i - 1) * w, w))
            cw_bytes(out, p + i * w, w);
    return out->err;
}

/* Times as byte planes: the width in bytes of the largest zigzag value,
 * then for each byte position (low first) that byte of every value. The
 * high bytes of deltas are nearly constant and the low ones nearly random;
 * apart, each compresses as well as it can. */
static int finish_planes(colw *c, const col_desc *d, buf *out)
{
    uint32_t n = c->nrows;
    const uint8_t *raw = c->raw.p;
    /* TIME: the first row's value on its own (a varint), so the planes
     * hold only deltas and need fewer bytes. */
    if (d->kind == CK_TIME && n > 0) {
        cw_var(out, (uint64_t)unzig(rd_u64le(raw)));
        raw += 8;
        n--;
    }
    /* Clocks that tick in micro- or milliseconds leave every difference a
     * multiple of a power of ten: divide it out (scale k, 10^k). */
    uint64_t pow10 = 1;
    uint8_t k = 0;
    while (k < 9 && n > 0) {
        uint64_t p = pow10 * 10;
        uint32_t i = 0;
        while (i < n && unzig(rd_u64le(raw + (size_t)i * 8)) % (int64_t)p == 0)
            i++;
        if (i < n)
            break;
        pow10 = p;
        k++;
    }
    uint64_t max = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t x = unzig(rd_u64le(raw + (size_t)i * 8)) / (int64_t)pow10;
        max |= ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
    }
    uint8_t w = 1;
    while (w < 8 && max >> (8 * w))
        w++;
    cw_byte(out, (uint8_t)(w | k << 4));
    if (buf_reserve(out, (size_t)n * w))
        return out->err;
    uint8_t *o = out->p + out->n;
    for (uint8_t b = 0; b < w; b++)
        for (uint32_t i = 0; i < n; i++) {
            int64_t x = unzig(rd_u64le(raw + (size_t)i * 8)) / (int64_t)pow10;
            uint64_t z = ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
            *o++ = (uint8_t)(z >> (8 * b));
        }
    out->n += (size_t)n * w;
    return 0;
}

/* Moves the block's distinct values into the part dictionary when there
 * are few of them and they fit (counting them all as new); map[k] is value
 * k's index there. false when the block keeps its own values; once a block
 * does not fit, the dictionary is closed for the rest of the part. */
static bool use_part_dict(colw *c, uint32_t *map)
{
    const sdict *d = &c->d;
    if (c->pd_full || d->n == 0 || d->n > PDICT_BLOCK_MAX)
        return false;
    if (c->pd.n + d->n > PDICT_MAX_VALUES || c->pd.bytes.n + d->bytes.n > PDICT_MAX_BYTES) {
        c->pd_full = true;
        return false;
    }
    for (uint32_t k = 0; k < d->n; k++)
        if (sdict_add(&c->pd, sdict_at(d, k), d->len[k], &map[k]) != 0) {
            c->pd_full = true; /* out of memory: entries added stay valid */
            return false;
        }
    return true;
}

/* Bits per code for k distinct values (0 for one). */
static uint8_t pack_bits(uint32_t k)
{
    return k <= 1 ? 0 : k <= 2 ? 1 : k <= 4 ? 2 : 4;
}

/* Packs code[i] (each below 1 << bits) of n rows, low bits first. */
static void put_packed(buf *out, const uint8_t *code, uint32_t n, uint8_t bits)
{
    cw_byte(out, bits);
    if (!bits)
        return;
    uint32_t per = 8 / bits;
    for (uint32_t i = 0; i < n; i += per) {
        uint8_t b = 0;
        for (uint32_t j = 0; j < per && i + j < n; j++)
            b |= (uint8_t)(code[i + j] << (j * bits));
        cw_byte(out, b);
    }
}

/* Reads n codes packed by put_packed, each checked below k. */
static void read_packed(crd *r, uint32_t n, uint32_t k, uint8_t *code)
{
    uint8_t bits = crd_u8(r);
    if (r->err || bits != pack_bits(k)) {
        r->err = BRAID_EFORMAT;
        return;
    }
    if (!bits) {
        memset(code, 0, n);
        return;
    }
    /* 1, 2 or 4 bits: 8, 4 or 2 codes a byte. */
    unsigned lg = bits == 1 ? 3 : bits == 2 ? 2 : 1, per = 1u << lg;
    const uint8_t *p = crd_take(r, (n + per - 1) / per);
    if (!p)
        return;
    uint8_t mask = (uint8_t)((1u << bits) - 1), bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        code[i] = (uint8_t)(p[i >> lg] >> ((i & (per - 1)) * bits) & mask);
        bad |= code[i] >= k;
    }
    if (bad)
        r->err = BRAID_EFORMAT;
}

/* Writes the block's values: with the part dictionary, its entries and a
 * packed code per row when there are few, else part dictionary codes (0 =
 * the previous row's value, i + 1 = entry i); a block dictionary when
 * values repeat enough; or every value. idx[i] is row i's index in d. */
static int put_strings(colw *c, const uint32_t *idx, uint32_t n, buf *out)
{
    const sdict *d = &c->d;
    uint32_t map[PDICT_BLOCK_MAX];
    bool part = use_part_dict(c, map);
    if (part && d->n <= PACK_MAX) {
        cw_byte(out, CM_PACKED);
        cw_var(out, d->n);
        for (uint32_t k = 0; k < d->n; k++)
            cw_var(out, map[k]);
        uint8_t code[PART_GROUP_ROWS];
        for (uint32_t i = 0; i < n && i < PART_GROUP_ROWS; i++)
            code[i] = (uint8_t)idx[i];
        put_packed(out, code, n, pack_bits(d->n));
    } else if (part) {
        cw_byte(out, CM_PART);
        for (uint32_t i = 0; i < n; i++)
            cw_var(out, i > 0 && idx[i] == idx[i - 1] ? 0 : (uint64_t)map[idx[i]] + 1);
    } else if ((uint64_t)d->n * 4 <= (uint64_t)n * 3) {
        cw_byte(out, CM_DICT);
        cw_var(out, d->n);
        for (uint32_t k = 0; k < d->n; k++) {
            cw_var(out, d->len[k]);
            cw_bytes(out, sdict_at(d, k), d->len[k]);
        }
        for (uint32_t i = 0; i < n; i++)
            cw_var(out, idx[i]);
    } else {
        cw_byte(out, CM_PLAIN);
        for (uint32_t i = 0; i < n; i++) {
            cw_var(out, d->len[idx[i]]);
            cw_bytes(out, sdict_at(d, idx[i]), d->len[idx[i]]);
        }
    }
    return out->err;
}

/* Integers: with few distinct values (flags, severities, enums), those and
 * a packed code per row; else a varint per row (mode CM_PLAIN). */
static int finish_ints(colw *c, buf *out)
{
    uint32_t n = c->nrows, k = 0;
    uint64_t vals[PACK_MAX];
    uint8_t code[PART_GROUP_ROWS];
    for (uint32_t i = 0; i < n && k <= PACK_MAX && i < PART_GROUP_ROWS; i++) {
        uint64_t v = rd_u64le(c->raw.p + (size_t)i * 8);
        uint32_t j = 0;
        while (j < k && vals[j] != v)
            j++;
        if (j == k && k < PACK_MAX)
            vals[k++] = v;
        else if (j == k)
            k = PACK_MAX + 1;
        code[i] = (uint8_t)j;
    }
    if (n && n <= PART_GROUP_ROWS && k <= PACK_MAX) {
        cw_byte(out, CM_PACKED);
        cw_var(out, k);
        for (uint32_t j = 0; j < k; j++)
            cw_var(out, vals[j]);
        put_packed(out, code, n, pack_bits(k));
        return out->err;
    }
    cw_byte(out, CM_PLAIN);
    for (uint32_t i = 0; i < n; i++)
        cw_var(out, rd_u64le(c->raw.p + (size_t)i * 8));
    return out->err;
}

/* A body block that is not text: its rows go through the string set like
 * any string column. */
static int finish_body_strings(colw *c, buf *out)
{
    sdict_reset(&c->d);
    uint32_t *idx = malloc(((size_t)c->nrows + 1) * sizeof *idx);
    if (!idx)
        return BRAID_ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; i < c->nrows && !rc; i++)
        rc = sdict_add(&c->d, c->raw.p ? c->raw.p + c->rowidx[i] : NULL, c->rowlen[i], &idx[i]);
    if (!rc)
        rc = put_strings(c, idx, c->nrows, out);
    free(idx);
    return rc;
}

int colw_finish(colw *c, const col_desc *d, buf *out)
{
    c->nsect = 0;
    switch (d->kind) {
    case CK_ID16:
        return finish_ids(c, 16, out);
    case CK_ID8:
        return finish_ids(c, 8, out);
    case CK_TIME:
    case CK_TREL:
        return finish_planes(c, d, out);
    case CK_U32:
    case CK_I32:
    case CK_U8:
    case CK_I64:
        return finish_ints(c, out);
    case CK_ATTRS:
        return attrs_finish(c, out);
    case CK_BODY: {
        bool used = false;
        int rc = text_finish(c, out, &used);
        if (rc || used)
            return rc;
        return finish_body_strings(c, out);
    }
    case CK_BYTES:
    case CK_ORIGIN:
        return put_strings(c, c->rowidx, c->nrows, out);
    default:
        cw_bytes(out, c->raw.p, c->raw.n);
        return out->err;
    }
}

int colw_finish_pdict(const colw *c, buf *out)
{
    if (c->pd.n == 0)
        return 0;
    cw_var(out, c->pd.n);
    for (uint32_t k = 0; k < c->pd.n; k++) {
        cw_var(out, c->pd.len[k]);
        cw_bytes(out, sdict_at(&c->pd, k), c->pd.len[k]);
    }
    return out->err;
}

/* ---- reading ---- */
int col_pdict_parse(const uint8_t *p, size_t n, col_pdict *out)
{
    memset(out, 0, sizeof *out);
    crd r = {p, p + n, 0};
    uint64_t cnt = crd_var(&r);
    if (r.err || cnt == 0 || cnt > PDICT_MAX_VALUES || cnt > n)
        return BRAID_EFORMAT;
    out->vals = malloc((size_t)cnt * sizeof *out->vals);
    if (!out->vals)
        return BRAID_ENOMEM;
    for (uint64_t k = 0; k < cnt && !r.err; k++)
        out->vals[k] = crd_slice(&r);
    if (r.err || r.p != r.end) {
        col_pdict_free(out);
        return BRAID_EFORMAT;
    }
    out->n = (uint32_t)cnt;
    return 0;
}

void col_pdict_free(col_pdict *pd)
{
    free(pd->vals);
    memset(pd, 0, sizeof *pd);
}

static void decode_strings(crd *r, uint8_t mode, uint32_t nrows, colval *out, bslice *dict,
                           const col_pdict *pd)
{
    if (mode == CM_PLAIN) {
        for (uint32_t i = 0; i < nrows && !r->err; i++)
            out[i].s = crd_slice(r);
    } else if (mode == CM_DICT) {
        uint64_t nd = crd_var(r);
        if (nd > nrows) {
            r->err = BRAID_EFORMAT;
            return;
        }
        for (uint64_t k = 0; k < nd && !r->err; k++)
            dict[k] = crd_slice(r);
        for (uint32_t i = 0; i < nrows && !r->err; i++) {
            uint64_t k = crd_var(r);
            if (k >= nd)
                r->err = BRAID_EFORMAT;
            else
                out[i].s = dict[k];
        }
    } else if (mode == CM_PACKED && pd) {
        uint64_t k = crd_var(r);
        uint32_t ent[PACK_MAX];
        uint8_t code[PART_GROUP_ROWS];
        if (r->err || k == 0 || k > PACK_MAX || nrows > PART_GROUP_ROWS) {
            r->err = BRAID_EFORMAT;
            return;
        }
        for (uint64_t j = 0; j < k && !r->err; j++) {
            uint64_t e = crd_var(r);
            if (e >= pd->n)
                r->err = BRAID_EFORMAT;
            ent[j] = (uint32_t)e;
        }
        read_packed(r, nrows, (uint32_t)k, code);
        for (uint32_t i = 0; i < nrows && !r->err; i++)
            out[i].s = pd->vals[ent[code[i]]];
    } else if (mode == CM_PART && pd) {
        for (uint32_t i = 0; i < nrows && !r->err; i++) {
            uint64_t code = crd_var(r);
            if (code == 0 && i > 0)
                out[i].s = out[i - 1].s;
            else if (code == 0 || code > pd->n)
                r->err = BRAID_EFORMAT;
            else
                out[i].s = pd->vals[code - 1];
        }
    } else {
        r->err = BRAID_EFORMAT;
    }
}

int col_decode(const col_desc *d, const uint8_t *p, size_t n, uint32_t nrows, colval *out,
               bslice *dict, buf *recon, uint32_t from, uint32_t to, const col_pdict *pd)
{
    crd r = {p, p + n, 0};
    switch (d->kind) {
    case CK_TIME:
    case CK_TREL: {
        bool time = d->kind == CK_TIME && nrows > 0;
        uint64_t first = time ? crd_var(&r) : 0;
        uint32_t n = nrows - (time ? 1 : 0);
        colval *o = out + (time ? 1 : 0);
        uint8_t wk = crd_u8(&r), w = wk & 15, k = wk >> 4;
        const uint8_t *pl = crd_take(&r, (size_t)n * w);
        if (r.err || w == 0 || w > 8 || k > 9)
            return BRAID_EFORMAT;
        uint64_t scale = 1;
        for (uint8_t j = 0; j < k; j++)
            scale *= 10;
        for (uint32_t i = 0; i < n; i++)
            o[i].u = pl[i];
        for (uint8_t b = 1; b < w; b++)
            for (uint32_t i = 0; i < n; i++)
                o[i].u |= (uint64_t)pl[(size_t)b * n + i] << (8 * b);
        /* Differences are computed modulo 2^64, like the writer's. */
        if (time) {
            out[0].u = first;
            for (uint32_t i = 1; i < nrows; i++)
                out[i].u = out[i - 1].u + (uint64_t)unzig(out[i].u) * scale;
        } else {
            for (uint32_t i = 0; i < nrows; i++)
                out[i].u = (uint64_t)unzig(out[i].u) * scale;
        }
        break;
    }
    case CK_I64:
    case CK_I32:
    case CK_U32:
    case CK_U8: {
        uint8_t mode = crd_u8(&r);
        if (mode == CM_PACKED) {
            uint64_t k = crd_var(&r), vals[PACK_MAX];
            uint8_t code[PART_GROUP_ROWS];
            if (r.err || k == 0 || k > PACK_MAX || nrows > PART_GROUP_ROWS)
                return BRAID_EFORMAT;
            for (uint64_t j = 0; j < k; j++)
                vals[j] = crd_var(&r);
            read_packed(&r, nrows, (uint32_t)k, code);
            for (uint32_t i = 0; i < nrows && !r.err; i++)
                out[i].u = vals[code[i]];
        } else if (mode == CM_PLAIN) {
            for (uint32_t i = 0; i < nrows && !r.err; i++)
                out[i].u = crd_var(&r);
        } else {
            return BRAID_EFORMAT;
        }
        /* Back from the varint's form, then range checks. */
        for (uint32_t i = 0; i < nrows && !r.err; i++) {
            uint64_t z = out[i].u;
            if (d->kind == CK_I64 || d->kind == CK_I32) {
                int64_t v = unzig(z);
                if (d->kind == CK_I32 && (v < INT32_MIN || v > INT32_MAX))
                    r.err = BRAID_EFORMAT;
                out[i].u = (uint64_t)v;
            } else if (z > (d->kind == CK_U8 ? 0xffu : 0xffffffffu)) {
                r.err = BRAID_EFORMAT;
            }
        }
        break;
    }
    case CK_F64:
        if (n != (size_t)nrows * 8)
            return BRAID_EFORMAT;
        for (uint32_t i = 0; i < nrows; i++)
            out[i].u = rd_u64le(p + (size_t)i * 8);
        r.p = r.end;
        break;
    case CK_ID16:
    case CK_ID8: {
        size_t w = d->kind == CK_ID16 ? 16 : 8;
        uint64_t runs = crd_var(&r);
        if (r.err || runs > nrows)
            return BRAID_EFORMAT;
        /* Lengths first (into the output as counts), then the ids. */
        uint32_t i = 0;
        for (uint64_t k = 0; k < runs && !r.err; k++) {
            uint64_t len = crd_var(&r);
            if (r.err || len >= nrows - i) {
                r.err = BRAID_EFORMAT;
                break;
            }
            out[k].u = len + 1;
            i += (uint32_t)len + 1;
        }
        if (r.err || i != nrows)
            return BRAID_EFORMAT;
        const uint8_t *ids = crd_take(&r, (size_t)runs * w);
        if (!ids)
            return BRAID_EFORMAT;
        /* Fill from the back: run k's rows start at or after k. */
        i = nrows;
        for (uint64_t k = runs; k > 0; k--) {
            uint64_t len = out[k - 1].u;
            for (uint64_t j = 0; j < len; j++)
                out[--i].s = (bslice){ids + (k - 1) * w, w};
        }
        break;
    }
    case CK_BYTES:
    case CK_ORIGIN:
    case CK_ATTRS:
    case CK_BODY: {
        if (r.p >= r.end) {
            if (nrows)
                r.err = BRAID_EFORMAT;
            break;
        }
        uint8_t mode = *r.p++;
        int rc = 0;
        if (mode == CM_ATTRS && d->kind == CK_ATTRS)
            rc = attrs_decode(&r, nrows, out, recon, from, to);
        else if (mode == CM_TEXT && d->kind == CK_BODY)
            rc = text_decode(&r, nrows, out, recon, from, to);
        else if (d->kind == CK_ATTRS && mode != CM_PLAIN)
            r.err = BRAID_EFORMAT;
        else
            decode_strings(&r, mode, nrows, out, dict, pd);
        if (rc)
            return rc;
        break;
    }
    case CK_TID:
        /* Nothing in the block: part_reader fills these from the index. */
        break;
    default:
        return BRAID_EFORMAT;
    }
    if (!r.err && r.p != r.end)
        r.err = BRAID_EFORMAT;
    return r.err ? BRAID_EFORMAT : 0;
}

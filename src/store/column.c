/* store/column: the columnar layout of parts. A schema per signal (one column
 * per field, origin folded into one column); each column of a row group is a
 * block: times as zigzag deltas, integers as varints, ids as runs, strings
 * plain or via a block dictionary, attributes split by key. Owns only its
 * buffers. Decoding never trusts a block: counts and lengths are checked and
 * a block must be consumed exactly. */
#include "internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <xxhash.h>

#define F(type, field) offsetof(type, field)

static const col_desc log_cols[] = {
    {CK_TIME, F(model_log, time_ns), 0},
    {CK_TREL, F(model_log, observed_ns), F(model_log, time_ns)},
    {CK_ID16, F(model_log, trace_id), 0},
    {CK_ID8, F(model_log, span_id), 0},
    {CK_U32, F(model_log, flags), 0},
    {CK_I32, F(model_log, severity_number), 0},
    {CK_BYTES, F(model_log, severity_text), 0},
    {CK_BYTES, F(model_log, body), 0},
    {CK_ATTRS, F(model_log, attrs), 0},
    {CK_U32, F(model_log, dropped_attrs), 0},
    {CK_BYTES, F(model_log, event_name), 0},
    {CK_BYTES, F(model_log, source), 0},
    {CK_U8, F(model_log, id_form), 0},
    {CK_BYTES, F(model_log, id_field), 0},
    {CK_ORIGIN, F(model_log, origin), 0},
};

static const col_desc span_cols[] = {
    {CK_ID16, F(model_span, trace_id), 0},
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
    {CK_ID16, F(model_exemplar, trace_id), 0},
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

/* ---- writing ---- */
static void put_svar(buf *b, int64_t v)
{
    buf_put_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static uint64_t get_u64(const void *row, uint16_t off)
{
    uint64_t v;
    memcpy(&v, (const uint8_t *)row + off, 8);
    return v;
}

static void sdict_free(sdict *d)
{
    buf_free(&d->bytes);
    free(d->off);
    free(d->len);
    free(d->hash);
    free(d->slots);
    memset(d, 0, sizeof *d);
}

static void sdict_reset(sdict *d)
{
    buf_reset(&d->bytes);
    if (d->slots && d->n)
        memset(d->slots, 0, (size_t)d->nslots * sizeof *d->slots);
    d->n = 0;
}

static const uint8_t *sdict_at(const sdict *d, uint32_t k)
{
    return d->bytes.p ? d->bytes.p + d->off[k] : NULL;
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

/* Adds a byte string (or finds it); *idx is its index in insertion order. */
static int sdict_add(sdict *d, const uint8_t *p, size_t n, uint32_t *idx)
{
    if ((uint64_t)d->bytes.n + n > UINT32_MAX)
        return BRAID_ETOOBIG;
    if (d->nslots == 0 || (d->n + 1) * 2 > d->nslots) {
        int rc = sdict_rehash(d, d->nslots ? d->nslots * 2 : 256);
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
    buf_append(&d->bytes, p, n);
    if (d->bytes.err)
        return d->bytes.err;
    d->slots[i] = k + 1;
    *idx = k;
    return 0;
}

/* Writes values as a dictionary (mode 1) when they repeat enough, else plain
 * (mode 0). idx[i] is value i's index in d. */
static void put_dict_or_plain(buf *out, const sdict *d, const uint32_t *idx, uint32_t n)
{
    if ((uint64_t)d->n * 4 <= (uint64_t)n * 3) {
        buf_putc(out, 1);
        buf_put_varint(out, d->n);
        for (uint32_t k = 0; k < d->n; k++) {
            buf_put_varint(out, d->len[k]);
            buf_append(out, sdict_at(d, k), d->len[k]);
        }
        for (uint32_t i = 0; i < n; i++)
            buf_put_varint(out, idx[i]);
    } else {
        buf_putc(out, 0);
        for (uint32_t i = 0; i < n; i++) {
            buf_put_varint(out, d->len[idx[i]]);
            buf_append(out, sdict_at(d, idx[i]), d->len[idx[i]]);
        }
    }
}

void colw_init(colw *c)
{
    memset(c, 0, sizeof *c);
    buf_init(&c->raw);
}

void colw_free(colw *c)
{
    buf_free(&c->raw);
    sdict_free(&c->d);
    sdict_free(&c->keys);
    sdict_free(&c->shapes);
    sdict_free(&c->vals);
    free(c->rowidx);
    free(c->rowlen);
    memset(c, 0, sizeof *c);
}

void colw_reset(colw *c)
{
    buf_reset(&c->raw);
    sdict_reset(&c->d);
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

int colw_add(colw *c, const col_desc *d, const void *row, bslice origin_blob)
{
    const uint8_t *f = (const uint8_t *)row + d->off;
    switch (d->kind) {
    case CK_TIME: {
        uint64_t v = get_u64(row, d->off);
        put_svar(&c->raw, (int64_t)(v - c->prev));
        c->prev = v;
        break;
    }
    case CK_TREL:
        put_svar(&c->raw, (int64_t)(get_u64(row, d->off) - get_u64(row, d->base)));
        break;
    case CK_U32: {
        uint32_t v;
        memcpy(&v, f, 4);
        buf_put_varint(&c->raw, v);
        break;
    }
    case CK_I32: {
        int32_t v;
        memcpy(&v, f, 4);
        put_svar(&c->raw, v);
        break;
    }
    case CK_U8:
        buf_put_varint(&c->raw, *f);
        break;
    case CK_I64: {
        int64_t v;
        memcpy(&v, f, 8);
        put_svar(&c->raw, v);
        break;
    }
    case CK_F64:
        buf_append(&c->raw, f, 8);
        break;
    case CK_ID16:
        buf_append(&c->raw, f, 16);
        break;
    case CK_ID8:
        buf_append(&c->raw, f, 8);
        break;
    case CK_BYTES:
    case CK_ORIGIN:
    case CK_ATTRS: {
        bslice v;
        if (d->kind == CK_ORIGIN)
            v = origin_blob;
        else
            memcpy(&v, f, sizeof v);
        int rc = grow_rows(c);
        if (rc)
            return rc;
        if (d->kind == CK_ATTRS) {
            if ((uint64_t)c->raw.n + v.n > UINT32_MAX)
                return BRAID_ETOOBIG;
            c->rowidx[c->nrows] = (uint32_t)c->raw.n;
            c->rowlen[c->nrows] = (uint32_t)v.n;
            buf_append(&c->raw, v.p, v.n);
            break;
        }
        uint32_t idx;
        rc = sdict_add(&c->d, v.p, v.n, &idx);
        if (rc)
            return rc;
        c->rowidx[c->nrows] = idx;
        break;
    }
    default:
        return BRAID_EINVAL;
    }
    c->nrows++;
    return c->raw.err;
}

static int finish_ids(colw *c, size_t w, buf *out)
{
    const uint8_t *p = c->raw.p;
    uint32_t runs = 0;
    for (uint32_t i = 0; i < c->nrows; i++)
        if (i == 0 || memcmp(p + i * w, p + (i - 1) * w, w) != 0)
            runs++;
    buf_put_varint(out, runs);
    for (uint32_t i = 0; i < c->nrows;) {
        uint32_t j = i + 1;
        while (j < c->nrows && memcmp(p + j * w, p + i * w, w) == 0)
            j++;
        buf_put_varint(out, j - i);
        buf_append(out, p + i * w, w);
        i = j;
    }
    return out->err;
}

typedef struct {
    uint32_t key, off, len; /* value bytes at raw + off */
} attr_ent;

/* Splits each row's attrs into (key, value) entries. 0, or BRAID_EINVAL when
 * a row is not a well-formed attrs encoding (the block then goes plain). */
static int split_attrs(colw *c, attr_ent **ents, size_t *nents, uint32_t *rshape)
{
    size_t cap = 0;
    buf sh;
    buf_init(&sh);
    /* Rows of a block mostly repeat the previous row's keys in the same
     * order: compare against those before hashing. */
    uint32_t *prev = NULL, nprev = 0, capprev = 0, prev_shape = 0;
    int rc = 0;
    for (uint32_t i = 0; i < c->nrows && !rc; i++) {
        if (c->rowlen[i] == 0) {
            rshape[i] = 0;
            continue;
        }
        const uint8_t *p = c->raw.p + c->rowidx[i], *end = p + c->rowlen[i];
        if (end - p < 4) {
            rc = BRAID_EINVAL;
            break;
        }
        uint32_t cnt = rd_u32le(p);
        p += 4;
        buf_reset(&sh);
        buf_put_varint(&sh, cnt);
        for (uint32_t j = 0; j < cnt && !rc; j++) {
            if (end - p < 4 || rd_u32le(p) > (size_t)(end - p) - 4) {
                rc = BRAID_EINVAL;
                break;
            }
            uint32_t kl = rd_u32le(p);
            const uint8_t *key = p + 4;
            p = key + kl;
            size_t vl;
            if (p >= end || av_value_len(p, (size_t)(end - p), &vl)) {
                rc = BRAID_EINVAL;
                break;
            }
            uint32_t k;
            if (j < nprev && c->keys.len[prev[j]] == kl &&
                (kl == 0 || memcmp(sdict_at(&c->keys, prev[j]), key, kl) == 0)) {
                k = prev[j];
            } else if ((rc = sdict_add(&c->keys, key, kl, &k)) != 0) {
                break;
            }
            if (j >= capprev) {
                capprev = capprev ? capprev * 2 : 32;
                uint32_t *q = realloc(prev, (size_t)capprev * sizeof *q);
                if (!q) {
                    rc = BRAID_ENOMEM;
                    break;
                }
                prev = q;
            }
            prev[j] = k;
            if (*nents == cap) {
                cap = cap ? cap * 2 : 1024;
                attr_ent *q = realloc(*ents, cap * sizeof *q);
                if (!q) {
                    rc = BRAID_ENOMEM;
                    break;
                }
                *ents = q;
            }
            (*ents)[(*nents)++] = (attr_ent){k, (uint32_t)(p - c->raw.p), (uint32_t)vl};
            buf_put_varint(&sh, k);
            p += vl;
        }
        if (rc)
            break;
        if (p != end) {
            rc = BRAID_EINVAL;
            break;
        }
        nprev = cnt;
        if ((rc = sh.err) != 0)
            break;
        if (prev_shape && c->shapes.len[prev_shape - 1] == sh.n &&
            memcmp(sdict_at(&c->shapes, prev_shape - 1), sh.p, sh.n) == 0) {
            rshape[i] = prev_shape;
            continue;
        }
        uint32_t si;
        if ((rc = sdict_add(&c->shapes, sh.p, sh.n, &si)) == 0)
            rshape[i] = prev_shape = si + 1;
    }
    free(prev);
    buf_free(&sh);
    return rc;
}

/* Attribute block: mode 2, the block's keys, the distinct row shapes (the
 * key sequence of a row), a shape reference per row (0 = no bytes at all),
 * then per key the values in row order, dictionary or plain. Values of one
 * key sit together, which is what lets them compress. */
static int finish_attrs(colw *c, buf *out)
{
    sdict_reset(&c->keys);
    sdict_reset(&c->shapes);
    attr_ent *ents = NULL;
    size_t nents = 0;
    uint32_t *rshape = malloc(((size_t)c->nrows + 1) * sizeof *rshape);
    int rc = rshape ? split_attrs(c, &ents, &nents, rshape) : BRAID_ENOMEM;
    if (rc == BRAID_EINVAL) {
        buf_putc(out, 0);
        for (uint32_t i = 0; i < c->nrows; i++) {
            buf_put_varint(out, c->rowlen[i]);
            buf_append(out, c->raw.p ? c->raw.p + c->rowidx[i] : NULL, c->rowlen[i]);
        }
        rc = 0;
        goto done;
    }
    if (rc)
        goto done;
    buf_putc(out, 2);
    buf_put_varint(out, c->keys.n);
    for (uint32_t k = 0; k < c->keys.n; k++) {
        buf_put_varint(out, c->keys.len[k]);
        buf_append(out, sdict_at(&c->keys, k), c->keys.len[k]);
    }
    buf_put_varint(out, c->shapes.n);
    for (uint32_t k = 0; k < c->shapes.n; k++)
        buf_append(out, sdict_at(&c->shapes, k), c->shapes.len[k]);
    for (uint32_t i = 0; i < c->nrows; i++)
        buf_put_varint(out, rshape[i]);
    /* Group entries by key, keeping row order within a key. */
    uint32_t nk = c->keys.n;
    uint32_t *start = calloc((size_t)nk + 1, sizeof *start);
    uint32_t *order = malloc((nents ? nents : 1) * sizeof *order);
    uint32_t *idx = malloc((nents ? nents : 1) * sizeof *idx);
    if (!start || !order || !idx) {
        rc = BRAID_ENOMEM;
    } else {
        for (size_t e = 0; e < nents; e++)
            start[ents[e].key + 1]++;
        for (uint32_t k = 0; k < nk; k++)
            start[k + 1] += start[k];
        for (size_t e = 0; e < nents; e++)
            order[start[ents[e].key]++] = (uint32_t)e;
        for (uint32_t k = nk; k > 0; k--)
            start[k] = start[k - 1];
        start[0] = 0;
        for (uint32_t k = 0; k < nk && !rc; k++) {
            sdict_reset(&c->vals);
            uint32_t n = start[k + 1] - start[k];
            for (uint32_t j = 0; j < n && !rc; j++) {
                const attr_ent *e = &ents[order[start[k] + j]];
                rc = sdict_add(&c->vals, c->raw.p + e->off, e->len, &idx[j]);
            }
            if (!rc)
                put_dict_or_plain(out, &c->vals, idx, n);
        }
    }
    free(start);
    free(order);
    free(idx);
done:
    free(ents);
    free(rshape);
    return rc ? rc : out->err;
}

int colw_finish(colw *c, const col_desc *d, buf *out)
{
    switch (d->kind) {
    case CK_ID16:
        return finish_ids(c, 16, out);
    case CK_ID8:
        return finish_ids(c, 8, out);
    case CK_ATTRS:
        return finish_attrs(c, out);
    case CK_BYTES:
    case CK_ORIGIN:
        put_dict_or_plain(out, &c->d, c->rowidx, c->nrows);
        return out->err;
    default:
        buf_append(out, c->raw.p, c->raw.n);
        return out->err;
    }
}

/* ---- reading ---- */
typedef struct {
    const uint8_t *p, *end;
    int err;
} crd;

static inline uint64_t crd_var(crd *r)
{
    if (r->p < r->end && *r->p < 0x80)
        return *r->p++;
    uint64_t v = 0;
    if (!r->err && rd_varint(&r->p, r->end, &v))
        r->err = BRAID_EFORMAT;
    return v;
}

static int64_t unzig(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static bslice crd_slice(crd *r)
{
    uint64_t n = crd_var(r);
    if (r->err || n > (uint64_t)(r->end - r->p)) {
        r->err = BRAID_EFORMAT;
        return (bslice){NULL, 0};
    }
    bslice s = {n ? r->p : NULL, (size_t)n};
    r->p += n;
    return s;
}

#define RECON_MAX ((uint64_t)1 << 30)

typedef struct {
    bslice *keys, *vals, *dtmp;
    const uint8_t **shape_p;
    uint32_t *shape_n, *rshape;
    uint64_t *cnt, *fill;
} attr_tmp;

static void attr_tmp_free(attr_tmp *t)
{
    free(t->keys);
    free(t->vals);
    free(t->dtmp);
    free(t->shape_p);
    free(t->shape_n);
    free(t->rshape);
    free(t->cnt);
    free(t->fill);
}

/* Reads the values of one key (mode byte, then dictionary or plain). */
static void decode_key_values(crd *r, uint64_t n, bslice *out, bslice *dtmp)
{
    if (r->p >= r->end) {
        r->err = BRAID_EFORMAT;
        return;
    }
    uint8_t mode = *r->p++;
    if (mode == 0) {
        for (uint64_t i = 0; i < n && !r->err; i++)
            out[i] = crd_slice(r);
    } else if (mode == 1) {
        uint64_t nd = crd_var(r);
        if (nd > n) {
            r->err = BRAID_EFORMAT;
            return;
        }
        for (uint64_t k = 0; k < nd && !r->err; k++)
            dtmp[k] = crd_slice(r);
        for (uint64_t i = 0; i < n && !r->err; i++) {
            uint64_t k = crd_var(r);
            if (k >= nd)
                r->err = BRAID_EFORMAT;
            else
                out[i] = dtmp[k];
        }
    } else {
        r->err = BRAID_EFORMAT;
    }
}

/* Mode 2 of CK_ATTRS (see finish_attrs): rebuilds the attrs encoding of
 * rows [from, to) byte for byte into recon; other rows get no bytes. */
static int decode_attrs(crd *r, uint32_t nrows, colval *out, buf *recon, uint32_t from, uint32_t to)
{
    attr_tmp t = {0};
    int rc = BRAID_EFORMAT;
    uint64_t nk = crd_var(r);
    if (r->err || nk > (uint64_t)(r->end - r->p))
        goto out;
    t.keys = malloc((nk + 1) * sizeof *t.keys);
    t.cnt = calloc(nk + 1, sizeof *t.cnt);
    t.fill = calloc(nk + 1, sizeof *t.fill);
    t.rshape = malloc(((size_t)nrows + 1) * sizeof *t.rshape);
    if (!t.keys || !t.cnt || !t.fill || !t.rshape) {
        rc = BRAID_ENOMEM;
        goto out;
    }
    for (uint64_t k = 0; k < nk && !r->err; k++)
        t.keys[k] = crd_slice(r);
    uint64_t ns = crd_var(r);
    if (r->err || ns > nrows)
        goto out;
    t.shape_p = malloc((ns + 1) * sizeof *t.shape_p);
    t.shape_n = malloc((ns + 1) * sizeof *t.shape_n);
    if (!t.shape_p || !t.shape_n) {
        rc = BRAID_ENOMEM;
        goto out;
    }
    for (uint64_t s = 0; s < ns && !r->err; s++) {
        uint64_t c = crd_var(r);
        if (r->err || c > (uint64_t)(r->end - r->p) || c > UINT32_MAX) {
            r->err = BRAID_EFORMAT;
            break;
        }
        t.shape_p[s] = r->p;
        t.shape_n[s] = (uint32_t)c;
        for (uint64_t j = 0; j < c && !r->err; j++)
            if (crd_var(r) >= nk)
                r->err = BRAID_EFORMAT;
    }
    for (uint32_t i = 0; i < nrows && !r->err; i++) {
        uint64_t v = crd_var(r);
        if (v > ns)
            r->err = BRAID_EFORMAT;
        t.rshape[i] = (uint32_t)v;
    }
    if (r->err)
        goto out;
    /* Count values per key; each value costs at least one byte, which
     * bounds the total by what is left of the block. */
    uint64_t total = 0, recon_len = 0, left = (uint64_t)(r->end - r->p);
    for (uint32_t i = 0; i < nrows; i++) {
        if (!t.rshape[i])
            continue;
        uint32_t s = t.rshape[i] - 1;
        const uint8_t *q = t.shape_p[s];
        bool want = i >= from && i < to;
        recon_len += want ? 4 : 0;
        for (uint32_t j = 0; j < t.shape_n[s]; j++) {
            uint64_t k = 0;
            rd_varint(&q, r->end, &k);
            t.cnt[k]++;
            recon_len += want ? 4 + t.keys[k].n : 0;
            if (++total > left || recon_len > RECON_MAX)
                goto out;
        }
    }
    t.vals = malloc((total + 1) * sizeof *t.vals);
    t.dtmp = malloc((total + 1) * sizeof *t.dtmp);
    if (!t.vals || !t.dtmp) {
        rc = BRAID_ENOMEM;
        goto out;
    }
    uint64_t at = 0;
    for (uint64_t k = 0; k < nk && !r->err; k++) {
        t.fill[k] = at;
        decode_key_values(r, t.cnt[k], t.vals + at, t.dtmp);
        at += t.cnt[k];
    }
    if (r->err || r->p != r->end)
        goto out;
    /* Skip the values of rows before `from`, then size the range's. */
    for (uint32_t i = 0; i < from && i < nrows; i++) {
        if (!t.rshape[i])
            continue;
        uint32_t s = t.rshape[i] - 1;
        const uint8_t *q = t.shape_p[s];
        for (uint32_t j = 0; j < t.shape_n[s]; j++) {
            uint64_t k = 0;
            rd_varint(&q, r->end, &k);
            t.fill[k]++;
        }
    }
    uint64_t *cur = t.cnt; /* the counts are spent: reuse them as cursors */
    for (uint64_t k = 0; k < nk; k++)
        cur[k] = t.fill[k];
    for (uint32_t i = from; i < to && i < nrows; i++) {
        if (!t.rshape[i])
            continue;
        uint32_t s = t.rshape[i] - 1;
        const uint8_t *q = t.shape_p[s];
        for (uint32_t j = 0; j < t.shape_n[s]; j++) {
            uint64_t k = 0;
            rd_varint(&q, r->end, &k);
            recon_len += t.vals[cur[k]++].n;
        }
    }
    buf_reset(recon);
    if (recon_len > RECON_MAX)
        goto out;
    if (buf_reserve(recon, (size_t)recon_len + 1)) {
        rc = BRAID_ENOMEM;
        goto out;
    }
    uint8_t *w = recon->p;
    for (uint32_t i = 0; i < nrows; i++) {
        out[i].s = (bslice){NULL, 0};
        if (!t.rshape[i] || i < from || i >= to)
            continue;
        uint32_t s = t.rshape[i] - 1;
        const uint8_t *q = t.shape_p[s];
        uint8_t *row = w;
        wr_u32le(w, t.shape_n[s]);
        w += 4;
        for (uint32_t j = 0; j < t.shape_n[s]; j++) {
            uint64_t k = 0;
            rd_varint(&q, r->end, &k);
            bslice v = t.vals[t.fill[k]++];
            wr_u32le(w, (uint32_t)t.keys[k].n);
            w += 4;
            if (t.keys[k].n)
                memcpy(w, t.keys[k].p, t.keys[k].n);
            w += t.keys[k].n;
            if (v.n)
                memcpy(w, v.p, v.n);
            w += v.n;
        }
        out[i].s = (bslice){row, (size_t)(w - row)};
    }
    recon->n = (size_t)(w - recon->p);
    rc = 0;
out:
    attr_tmp_free(&t);
    return rc;
}

int col_decode(const col_desc *d, const uint8_t *p, size_t n, uint32_t nrows, colval *out,
               bslice *dict, buf *recon, uint32_t from, uint32_t to)
{
    crd r = {p, p + n, 0};
    switch (d->kind) {
    case CK_TIME: {
        uint64_t prev = 0;
        for (uint32_t i = 0; i < nrows && !r.err; i++) {
            prev += (uint64_t)unzig(crd_var(&r));
            out[i].u = prev;
        }
        break;
    }
    case CK_TREL:
    case CK_I64:
        for (uint32_t i = 0; i < nrows && !r.err; i++)
            out[i].u = (uint64_t)unzig(crd_var(&r));
        break;
    case CK_I32:
        for (uint32_t i = 0; i < nrows && !r.err; i++) {
            int64_t v = unzig(crd_var(&r));
            if (v < INT32_MIN || v > INT32_MAX)
                r.err = BRAID_EFORMAT;
            out[i].u = (uint64_t)v;
        }
        break;
    case CK_U32:
    case CK_U8: {
        uint64_t max = d->kind == CK_U8 ? 0xff : 0xffffffffu;
        for (uint32_t i = 0; i < nrows && !r.err; i++) {
            out[i].u = crd_var(&r);
            if (out[i].u > max)
                r.err = BRAID_EFORMAT;
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
        uint32_t i = 0;
        for (uint64_t k = 0; k < runs && !r.err; k++) {
            uint64_t len = crd_var(&r);
            if (r.err || len == 0 || len > nrows - i || (size_t)(r.end - r.p) < w) {
                r.err = BRAID_EFORMAT;
                break;
            }
            for (uint64_t j = 0; j < len; j++)
                out[i++].s = (bslice){r.p, w};
            r.p += w;
        }
        if (!r.err && i != nrows)
            r.err = BRAID_EFORMAT;
        break;
    }
    case CK_BYTES:
    case CK_ORIGIN:
    case CK_ATTRS: {
        if (r.p >= r.end) {
            if (nrows)
                r.err = BRAID_EFORMAT;
            break;
        }
        uint8_t mode = *r.p++;
        if (mode == 2 && d->kind == CK_ATTRS) {
            int rc = decode_attrs(&r, nrows, out, recon, from, to);
            if (rc)
                return rc;
        } else if (mode == 0) {
            for (uint32_t i = 0; i < nrows && !r.err; i++)
                out[i].s = crd_slice(&r);
        } else if (mode == 1) {
            uint64_t nd = crd_var(&r);
            if (nd > nrows) {
                r.err = BRAID_EFORMAT;
                break;
            }
            for (uint64_t k = 0; k < nd && !r.err; k++)
                dict[k] = crd_slice(&r);
            for (uint32_t i = 0; i < nrows && !r.err; i++) {
                uint64_t k = crd_var(&r);
                if (k >= nd)
                    r.err = BRAID_EFORMAT;
                else
                    out[i].s = dict[k];
            }
        } else {
            r.err = BRAID_EFORMAT;
        }
        break;
    }
    default:
        return BRAID_EFORMAT;
    }
    if (!r.err && r.p != r.end)
        r.err = BRAID_EFORMAT;
    return r.err ? BRAID_EFORMAT : 0;
}

/* store/column.h: what the column codecs (column.c, colattrs.c, coltext.c)
 * share and nothing else includes: the string set used for dictionaries, a
 * bounds-checked block reader, and the entry points of the attribute and
 * text encodings. Layouts are in docs/storage-format.md. */
#ifndef BRAID_STORE_COLUMN_H
#define BRAID_STORE_COLUMN_H

#include "internal.h"

/* Block modes of string-like columns (the first byte of a block). */
enum {
    CM_PLAIN = 0, /* every value, length-prefixed */
    CM_DICT = 1,  /* block dictionary, then an index per row */
    CM_PART = 3,  /* a code per row into the part's dictionary of the column */
    CM_ATTRS = 4, /* attributes split by key into typed value streams */
    CM_TEXT = 5,  /* text split into skeletons and typed token streams */
    CM_PACKED = 6 /* few distinct values, then a bit-packed code per row */
};

/* Blocks with at most this many distinct values pack a code per row into
 * 1, 2 or 4 bits (none when there is one value). */
#define PACK_MAX 16

/* ---- string sets (sdict) ---- */
void sdict_free(sdict *d);
void sdict_reset(sdict *d);
/* Adds a byte string (or finds it); *idx is its index in insertion order. */
int sdict_add(sdict *d, const uint8_t *p, size_t n, uint32_t *idx);
static inline const uint8_t *sdict_at(const sdict *d, uint32_t k)
{
    return d->bytes.p ? d->bytes.p + d->off[k] : NULL;
}

/* Appends that skip the out-of-line buf calls while there is room (the
 * codecs write many small values); same semantics as buf_put_varint,
 * buf_putc and buf_append. */
static inline void cw_var(buf *b, uint64_t v)
{
    if (b->cap - b->n < 10 || b->err) {
        buf_put_varint(b, v);
        return;
    }
    uint8_t *w = b->p + b->n;
    while (v >= 0x80) {
        *w++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *w++ = (uint8_t)v;
    b->n = (size_t)(w - b->p);
}

static inline void cw_byte(buf *b, uint8_t c)
{
    if (b->n < b->cap && !b->err)
        b->p[b->n++] = c;
    else
        buf_putc(b, c);
}

static inline void cw_bytes(buf *b, const void *p, size_t n)
{
    if (n && b->cap - b->n >= n && !b->err) {
        memcpy(b->p + b->n, p, n);
        b->n += n;
    } else {
        buf_append(b, p, n);
    }
}

static inline void put_svar(buf *b, int64_t v)
{
    cw_var(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline int64_t unzig(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Whether n bytes at a and b are equal: the codecs compare many short
 * values with their neighbours, and most differ in their first or last
 * eight bytes. */
static inline bool same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (n >= 8) {
        if (rd_u64le(a) != rd_u64le(b) || rd_u64le(a + n - 8) != rd_u64le(b + n - 8))
            return false;
        return n <= 16 || memcmp(a + 8, b + 8, n - 16) == 0;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* ---- reading a block ---- */
typedef struct {
    const uint8_t *p, *end;
    int err;
} crd;

static inline uint64_t crd_var(crd *r)
{
    if (r->p < r->end && *r->p < 0x80)
        return *r->p++;
    if (r->end - r->p >= 2 && r->p[1] < 0x80) {
        uint64_t v = (uint64_t)(r->p[0] & 0x7f) | (uint64_t)r->p[1] << 7;
        r->p += 2;
        return v;
    }
    uint64_t v = 0;
    if (!r->err && rd_varint(&r->p, r->end, &v))
        r->err = BRAID_EFORMAT;
    return v;
}

static inline bslice crd_slice(crd *r)
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

static inline const uint8_t *crd_take(crd *r, size_t n)
{
    if (r->err || n > (size_t)(r->end - r->p)) {
        r->err = BRAID_EFORMAT;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static inline uint8_t crd_u8(crd *r)
{
    const uint8_t *p = crd_take(r, 1);
    return p ? *p : 0;
}

/* Starts a new section of the block at out's current end, unless the
 * current one is still small or there are enough sections. */
static inline void colw_section(colw *c, const buf *out)
{
    uint32_t last = c->nsect ? c->sect[c->nsect - 1] : 0;
    if (c->nsect < COL_SECTIONS && out->n >= (size_t)last + COL_SECTION_MIN)
        c->sect[c->nsect++] = (uint32_t)out->n;
}

/* Most bytes one block may rebuild (attributes, text). */
#define RECON_MAX ((uint64_t)1 << 30)

/* ---- attributes (colattrs.c) ---- */
/* Writes the attribute block of the accumulated rows (raw/rowidx/rowlen):
 * CM_ATTRS, or CM_PLAIN when a row is not a well-formed attrs encoding. */
int attrs_finish(colw *c, buf *out);
/* Decodes a CM_ATTRS block (r is past the mode byte), rebuilding rows
 * [from, to) into recon; other rows read as empty. */
int attrs_decode(crd *r, uint32_t nrows, colval *out, buf *recon, uint32_t from, uint32_t to);

/* ---- text (coltext.c) ---- */
/* Writes the accumulated AnyValue rows as CM_TEXT when they are mostly
 * templated strings; *used is false (and nothing written) otherwise. */
int text_finish(colw *c, buf *out, bool *used);
/* Decodes a CM_TEXT block (r is past the mode byte); like attrs_decode. */
int text_decode(crd *r, uint32_t nrows, colval *out, buf *recon, uint32_t from, uint32_t to);

#endif

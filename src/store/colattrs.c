/* store/colattrs: the attribute column encoding. Keys and key sequences of a
 * block, then each key's values in row order, typed (UUIDs, hex, IPv4 and
 * prefixed numbers as binary) and, when they repeat, as a dictionary with a
 * small code per row, mostly "as the row before" since a trace's rows sit
 * together. Rebuilds the attrs encoding byte for byte; never trusts a block.
 * Owns only scratch memory. */
#include "column.h"

#include <stdlib.h>

/* Value types of a key's stream; VT_DICT is or-ed in for dictionary layout. */
enum {
    VT_RAW = 0,    /* varint length, the whole AnyValue encoding */
    VT_STR = 1,    /* varint length, the string (AV_STR) */
    VT_INT = 2,    /* svarint (AV_INT) */
    VT_BOOL = 3,   /* u8 0 or 1 (AV_BOOL) */
    VT_DOUBLE = 4, /* 8 bytes (AV_DOUBLE) */
    VT_UUID = 5,   /* 16 bytes: a canonical lowercase 8-4-4-4-12 UUID string */
    VT_HEX = 6,    /* varint byte count, bytes: an even-length lowercase hex string */
    VT_IP4 = 7,    /* 4 bytes: a canonical dotted-quad IPv4 string */
    VT_PNUM = 8,   /* varint: a string made of the key's prefix and a decimal number */
    VT_NTYPES = 9,
    VT_DICT = 0x80,
};

#define HEX_MAX 510 /* characters; longer strings stay strings */

static int hexval(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool is_uuid(const uint8_t *s, size_t n)
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : hexval(s[i]) < 0)
            return false;
    }
    return true;
}

static bool is_hex(const uint8_t *s, size_t n)
{
    if (n == 0 || n % 2 || n > HEX_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (hexval(s[i]) < 0)
            return false;
    return true;
}

/* Canonical dotted quad: four decimal numbers 0-255 without leading zeros. */
static bool parse_ip4(const uint8_t *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part && (i >= n || s[i++] != '.'))
            return false;
        size_t start = i;
        unsigned v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        size_t len = i - start;
        if (len == 0 || v > 255 || (len > 1 && s[start] == '0'))
            return false;
        out[part] = (uint8_t)v;
    }
    return i == n;
}

/* The types a value could be stored as, as a bit set. */
static unsigned value_forms(const uint8_t *v, size_t n)
{
    unsigned f = 1u << VT_RAW;
    if (n == 0)
        return f;
    switch (v[0]) {
    case AV_INT:
        return n == 9 ? f | 1u << VT_INT : f;
    case AV_DOUBLE:
        return n == 9 ? f | 1u << VT_DOUBLE : f;
    case AV_BOOL:
        return n == 2 && v[1] <= 1 ? f | 1u << VT_BOOL : f;
    case AV_STR: {
        if (n < 5 || rd_u32le(v + 1) != n - 5)
            return f;
        f |= 1u << VT_STR;
        const uint8_t *s = v + 5;
        size_t m = n - 5;
        uint8_t ip[4];
        if (is_uuid(s, m))
            f |= 1u << VT_UUID;
        else if (is_hex(s, m))
            f |= 1u << VT_HEX;
        else if (parse_ip4(s, m, ip))
            f |= 1u << VT_IP4;
        return f;
    }
    default:
        return f;
    }
}

static uint8_t pick_type(unsigned forms)
{
    static const uint8_t pref[] = {VT_UUID, VT_IP4,    VT_HEX, VT_INT,
                                   VT_BOOL, VT_DOUBLE, VT_STR, VT_RAW};
    for (size_t i = 0; i < sizeof pref; i++)
        if (forms & 1u << pref[i])
            return pref[i];
    return VT_RAW;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Bytes value v takes as type t (v has the forms t needs). */
/* VT_PNUM: what every value of the key's stream shares. */
typedef struct {
    uint32_t plen; /* prefix bytes */
    uint8_t width; /* digits of every number (zero padded), or 0 when they vary */
} pnum;

static uint64_t dec_value(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(p[i] - '0');
    return v;
}

/* Whether every (distinct) value of the key is an AV_STR made of one shared
 * prefix and a decimal number of 1-18 digits, numbers either all of one
 * width or without leading zeros; fills *pn and *pre. */
static bool pnum_form(const sdict *vals, pnum *pn, bslice *pre)
{
    for (uint32_t k = 0; k < vals->n; k++) {
        const uint8_t *s = sdict_at(vals, k) + 5;
        size_t m = vals->len[k] - 5, d = m;
        while (d > 0 && s[d - 1] >= '0' && s[d - 1] <= '9')
            d--;
        size_t digits = m - d;
        if (digits == 0 || digits > 18)
            return false;
        if (k == 0) {
            *pre = (bslice){s, d};
            pn->plen = (uint32_t)d;
            pn->width = (uint8_t)digits;
        } else if (d != pre->n || !same_bytes(s, pre->p, d)) {
            return false;
        } else if (digits != pn->width) {
            pn->width = 0;
        }
    }
    if (pn->width == 0)
        for (uint32_t k = 0; k < vals->n; k++) {
            const uint8_t *s = sdict_at(vals, k) + 5 + pn->plen;
            size_t digits = vals->len[k] - 5 - pn->plen;
            if (digits > 1 && s[0] == '0')
                return false;
        }
    return vals->n > 0;
}

static size_t varint_len(uint64_t v);

static size_t typed_size(uint8_t t, const pnum *pn, const uint8_t *v, size_t n)
{
    switch (t) {
    case VT_PNUM:
        return varint_len(dec_value(v + 5 + pn->plen, n - 5 - pn->plen));
    case VT_STR:
        return varint_len(n - 5) + n - 5;
    case VT_INT: {
        int64_t x = (int64_t)rd_u64le(v + 1);
        return varint_len(((uint64_t)x << 1) ^ (uint64_t)(x >> 63));
    }
    case VT_BOOL:
        return 1;
    case VT_DOUBLE:
        return 8;
    case VT_UUID:
        return 16;
    case VT_HEX:
        return varint_len((n - 5) / 2) + (n - 5) / 2;
    case VT_IP4:
        return 4;
    default:
        return varint_len(n) + n;
    }
}

static void put_typed(buf *b, uint8_t t, const pnum *pn, const uint8_t *v, size_t n)
{
    switch (t) {
    case VT_PNUM:
        cw_var(b, dec_value(v + 5 + pn->plen, n - 5 - pn->plen));
        break;
    case VT_STR:
        cw_var(b, n - 5);
        cw_bytes(b, v + 5, n - 5);
        break;
    case VT_INT:
        put_svar(b, (int64_t)rd_u64le(v + 1));
        break;
    case VT_BOOL:
        cw_byte(b, v[1]);
        break;
    case VT_DOUBLE:
        cw_bytes(b, v + 1, 8);
        break;
    case VT_UUID:
    case VT_HEX: {
        const uint8_t *s = v + 5;
        size_t m = n - 5;
        if (t == VT_HEX)
            cw_var(b, m / 2);
        uint8_t tmp[HEX_MAX / 2];
        size_t k = 0;
        int hi = -1;
        for (size_t i = 0; i < m; i++) {
            if (s[i] == '-')
                continue;
            if (hi < 0) {
                hi = hexval(s[i]);
            } else {
                tmp[k++] = (uint8_t)(hi << 4 | hexval(s[i]));
                hi = -1;
            }
        }
        cw_bytes(b, tmp, k);
        break;
    }
    case VT_IP4: {
        uint8_t ip[4];
        parse_ip4(v + 5, n - 5, ip);
        cw_bytes(b, ip, 4);
        break;
    }
    default:
        cw_var(b, n);
        cw_bytes(b, v, n);
    }
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
        cw_var(&sh, cnt);
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
                same_bytes(sdict_at(&c->keys, prev[j]), key, kl)) {
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
            cw_var(&sh, k);
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

/* Writes the values of one key (n entries, ents[ix[0..n)]): a type byte,
 * then either every value, or a dictionary of the distinct values in order
 * of first use and a code per value: 0 the value before, 1 the next new
 * entry, k + 2 entry k. Rows of a trace repeat request-scoped values, so
 * the codes are mostly zeros, which is what compresses. codes is scratch of
 * n entries. */
static int put_key_values(colw *c, const attr_ent *ents, const uint32_t *ix, uint32_t n,
                          uint32_t *codes, buf *out)
{
    const uint8_t *raw = c->raw.p;
    /* One pass: the forms every value allows (a value equal to the one
     * before has them already) and codes[j], value j's dictionary entry. */
    unsigned forms = ~0u;
    sdict_reset(&c->vals);
    for (uint32_t j = 0; j < n; j++) {
        const attr_ent *e = &ents[ix[j]];
        if (j > 0) {
            const attr_ent *pe = &ents[ix[j - 1]];
            if (pe->len == e->len && same_bytes(raw + pe->off, raw + e->off, e->len)) {
                codes[j] = codes[j - 1];
                continue;
            }
        }
        forms &= value_forms(raw + e->off, e->len);
        int rc = sdict_add(&c->vals, raw + e->off, e->len, &codes[j]);
        if (rc)
            return rc;
    }
    uint8_t t = pick_type(forms);
    pnum pn = {0, 0};
    bslice pre = {NULL, 0};
    if (t == VT_STR && pnum_form(&c->vals, &pn, &pre))
        t = VT_PNUM;
    bool dict = false;
    if (t != VT_INT && t != VT_BOOL && t != VT_DOUBLE) {
        /* The dictionary wins when its entries plus about a byte per code
         * are smaller than every value. */
        uint64_t direct = 0, with_dict = n;
        for (uint32_t j = 0; j < n; j++)
            direct += typed_size(t, &pn, raw + ents[ix[j]].off, ents[ix[j]].len);
        for (uint32_t k = 0; k < c->vals.n; k++)
            with_dict += typed_size(t, &pn, sdict_at(&c->vals, k), c->vals.len[k]);
        dict = with_dict < direct;
    }
    cw_byte(out, (uint8_t)(t | (dict ? VT_DICT : 0)));
    if (t == VT_PNUM) {
        cw_var(out, pre.n);
        cw_bytes(out, pre.p, pre.n);
        cw_byte(out, pn.width);
    }
    if (!dict) {
        for (uint32_t j = 0; j < n; j++)
            put_typed(out, t, &pn, raw + ents[ix[j]].off, ents[ix[j]].len);
        return out->err;
    }
    cw_var(out, c->vals.n);
    for (uint32_t k = 0; k < c->vals.n; k++)
        put_typed(out, t, &pn, sdict_at(&c->vals, k), c->vals.len[k]);
    uint32_t next = 0; /* entries appear in order of first use */
    for (uint32_t j = 0; j < n; j++) {
        if (j > 0 && codes[j] == codes[j - 1]) {
            cw_byte(out, 0);
        } else if (codes[j] == next) {
            cw_byte(out, 1);
            next++;
        } else {
            cw_var(out, (uint64_t)codes[j] + 2);
        }
    }
    return out->err;
}

int attrs_finish(colw *c, buf *out)
{
    sdict_reset(&c->keys);
    sdict_reset(&c->shapes);
    attr_ent *ents = NULL;
    size_t nents = 0;
    uint32_t *rshape = malloc(((size_t)c->nrows + 1) * sizeof *rshape);
    int rc = rshape ? split_attrs(c, &ents, &nents, rshape) : BRAID_ENOMEM;
    if (rc == BRAID_EINVAL) {
        cw_byte(out, CM_PLAIN);
        for (uint32_t i = 0; i < c->nrows; i++) {
            cw_var(out, c->rowlen[i]);
            cw_bytes(out, c->raw.p ? c->raw.p + c->rowidx[i] : NULL, c->rowlen[i]);
        }
        rc = 0;
        goto done;
    }
    if (rc)
        goto done;
    cw_byte(out, CM_ATTRS);
    cw_var(out, c->keys.n);
    for (uint32_t k = 0; k < c->keys.n; k++) {
        cw_var(out, c->keys.len[k]);
        cw_bytes(out, sdict_at(&c->keys, k), c->keys.len[k]);
    }
    cw_var(out, c->shapes.n);
    for (uint32_t k = 0; k < c->shapes.n; k++)
        cw_bytes(out, sdict_at(&c->shapes, k), c->shapes.len[k]);
    for (uint32_t i = 0; i < c->nrows; i++)
        cw_var(out, rshape[i]);
    /* Group entries by key, keeping row order within a key. */
    uint32_t nk = c->keys.n;
    uint32_t *start = calloc((size_t)nk + 1, sizeof *start);
    uint32_t *order = malloc((nents ? nents : 1) * sizeof *order);
    uint32_t *codes = malloc((nents ? nents : 1) * sizeof *codes);
    if (!start || !order || !codes) {
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
            colw_section(c, out);
            rc = put_key_values(c, ents, order + start[k], start[k + 1] - start[k], codes, out);
        }
    }
    free(start);
    free(order);
    free(codes);
done:
    free(ents);
    free(rshape);
    return rc ? rc : out->err;
}

/* ---- reading ---- */
/* One value of a key's stream: where its typed bytes are, and what the
 * rebuilt AnyValue encoding needs. */
typedef struct {
    const uint8_t *p;
    uint32_t n; /* typed bytes (RAW, STR, HEX: the payload after the length; PNUM: prefix) */
    uint8_t t;
    uint8_t w;  /* PNUM: digits, or 0 for as many as the number has */
    uint64_t u; /* INT, PNUM: the value; BOOL: 0 or 1 */
} tval;

static uint32_t dec_digits(uint64_t v)
{
    uint32_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Reads one value of type t; PNUM values take prefix and width from pn. */
static void read_typed(crd *r, uint8_t t, const tval *pn, tval *v)
{
    v->t = t;
    v->u = 0;
    switch (t) {
    case VT_PNUM:
        *v = *pn;
        v->u = crd_var(r);
        if (v->u > 999999999999999999ull || (v->w && dec_digits(v->u) > v->w))
            r->err = BRAID_EFORMAT;
        break;
    case VT_RAW:
    case VT_STR: {
        bslice s = crd_slice(r);
        v->p = s.p;
        v->n = (uint32_t)s.n;
        if (!r->err && t == VT_RAW) {
            size_t vl;
            if (av_value_len(s.p, s.n, &vl) || vl != s.n)
                r->err = BRAID_EFORMAT;
        }
        break;
    }
    case VT_INT:
        v->u = (uint64_t)unzig(crd_var(r));
        break;
    case VT_BOOL:
        v->u = crd_u8(r);
        if (v->u > 1)
            r->err = BRAID_EFORMAT;
        break;
    case VT_DOUBLE:
        v->p = crd_take(r, 8);
        break;
    case VT_UUID:
        v->p = crd_take(r, 16);
        break;
    case VT_HEX: {
        uint64_t nb = crd_var(r);
        if (nb == 0 || nb > HEX_MAX / 2)
            r->err = BRAID_EFORMAT;
        v->n = (uint32_t)nb;
        v->p = crd_take(r, (size_t)nb);
        break;
    }
    case VT_IP4:
        v->p = crd_take(r, 4);
        break;
    default:
        r->err = BRAID_EFORMAT;
    }
}

static size_t ip4_text(const uint8_t *ip, char out[16])
{
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        unsigned v = ip[i];
        if (i)
            out[n++] = '.';
        if (v >= 100)
            out[n++] = (char)('0' + v / 100);
        if (v >= 10)
            out[n++] = (char)('0' + v / 10 % 10);
        out[n++] = (char)('0' + v % 10);
    }
    return n;
}

/* Length of the AnyValue encoding a value rebuilds to. */
static size_t tval_len(const tval *v)
{
    char tmp[16];
    switch (v->t) {
    case VT_RAW:
        return v->n;
    case VT_STR:
        return 5 + (size_t)v->n;
    case VT_INT:
    case VT_DOUBLE:
        return 9;
    case VT_BOOL:
        return 2;
    case VT_UUID:
        return 5 + 36;
    case VT_HEX:
        return 5 + 2 * (size_t)v->n;
    case VT_PNUM:
        return 5 + (size_t)v->n + (v->w ? v->w : dec_digits(v->u));
    default:
        return 5 + ip4_text(v->p, tmp);
    }
}

static uint8_t *put_str_hdr(uint8_t *w, size_t n)
{
    *w++ = AV_STR;
    wr_u32le(w, (uint32_t)n);
    return w + 4;
}

static uint8_t *tval_write(const tval *v, uint8_t *w)
{
    static const char hx[] = "0123456789abcdef";
    switch (v->t) {
    case VT_RAW:
        if (v->n)
            memcpy(w, v->p, v->n);
        return w + v->n;
    case VT_STR:
        w = put_str_hdr(w, v->n);
        if (v->n)
            memcpy(w, v->p, v->n);
        return w + v->n;
    case VT_INT:
        *w = AV_INT;
        wr_u64le(w + 1, v->u);
        return w + 9;
    case VT_DOUBLE:
        *w = AV_DOUBLE;
        memcpy(w + 1, v->p, 8);
        return w + 9;
    case VT_BOOL:
        w[0] = AV_BOOL;
        w[1] = (uint8_t)v->u;
        return w + 2;
    case VT_UUID:
        w = put_str_hdr(w, 36);
        for (int i = 0, k = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                *w++ = '-';
                continue;
            }
            uint8_t b = v->p[k / 2];
            *w++ = (uint8_t)hx[k % 2 ? b & 15 : b >> 4];
            k++;
        }
        return w;
    case VT_HEX:
        w = put_str_hdr(w, 2 * (size_t)v->n);
        for (uint32_t i = 0; i < v->n; i++) {
            *w++ = (uint8_t)hx[v->p[i] >> 4];
            *w++ = (uint8_t)hx[v->p[i] & 15];
        }
        return w;
    case VT_PNUM: {
        uint32_t d = v->w ? v->w : dec_digits(v->u);
        w = put_str_hdr(w, v->n + d);
        if (v->n)
            memcpy(w, v->p, v->n);
        w += v->n;
        uint64_t x = v->u;
        for (uint32_t i = d; i > 0; i--) {
            w[i - 1] = (uint8_t)('0' + x % 10);
            x /= 10;
        }
        return w + d;
    }
    default: {
        char tmp[16];
        size_t n = ip4_text(v->p, tmp);
        w = put_str_hdr(w, n);
        memcpy(w, tmp, n);
        return w + n;
    }
    }
}

/* Reads the n values of one key into out (dtmp: scratch of n entries). */
/* Reads the n values of one key, keeping those with index in [lo, hi) (the
 * rows being rebuilt) in out[0 .. hi - lo); dtmp: scratch of n entries. */
static void read_key_values(crd *r, uint64_t n, uint64_t lo, uint64_t hi, tval *out, tval *dtmp)
{
    uint8_t tb = crd_u8(r);
    uint8_t t = tb & (uint8_t)~VT_DICT;
    if (r->err || t >= VT_NTYPES) {
        r->err = BRAID_EFORMAT;
        return;
    }
    tval pn = {NULL, 0, VT_PNUM, 0, 0};
    if (t == VT_PNUM) {
        bslice pre = crd_slice(r);
        pn.p = pre.p;
        pn.n = (uint32_t)pre.n;
        pn.w = crd_u8(r);
        if (pn.w > 18)
            r->err = BRAID_EFORMAT;
    }
    if (!(tb & VT_DICT)) {
        tval skip;
        for (uint64_t i = 0; i < n && !r->err; i++)
            read_typed(r, t, &pn, i >= lo && i < hi ? &out[i - lo] : &skip);
        return;
    }
    uint64_t nd = crd_var(r);
    if (nd > n || (n && !nd)) {
        r->err = BRAID_EFORMAT;
        return;
    }
    for (uint64_t k = 0; k < nd && !r->err; k++)
        read_typed(r, t, &pn, &dtmp[k]);
    uint64_t seen = 0, cur = 0;
    for (uint64_t i = 0; i < n && !r->err; i++) {
        uint64_t code = crd_var(r);
        if (code == 0 && i > 0)
            ; /* the value before */
        else if (code == 1 && seen < nd)
            cur = seen++;
        else if (code >= 2 && code - 2 < seen)
            cur = code - 2;
        else
            r->err = BRAID_EFORMAT;
        if (i >= lo && i < hi)
            out[i - lo] = dtmp[cur];
    }
    if (!r->err && seen != nd)
        r->err = BRAID_EFORMAT;
}

typedef struct {
    bslice *keys;
    tval *vals, *dtmp;
    const uint8_t **shape_p;
    uint32_t *shape_n, *rshape;
    uint64_t *cnt, *fill, *lo, *inr;
    uint32_t *srows, *sbefore, *sin; /* rows of each shape, before `from`, in [from, to) */
} attr_tmp;

static void attr_tmp_free(attr_tmp *t)
{
    free(t->srows);
    free(t->sbefore);
    free(t->sin);
    free(t->lo);
    free(t->inr);
    free(t->keys);
    free(t->vals);
    free(t->dtmp);
    free(t->shape_p);
    free(t->shape_n);
    free(t->rshape);
    free(t->cnt);
    free(t->fill);
}

int attrs_decode(crd *r, uint32_t nrows, colval *out, buf *recon, uint32_t from, uint32_t to)
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
    /* Count values per key (rows per shape, then per key of the shape);
     * each value costs at least one byte (a code or a typed value), which
     * bounds the total by what is left. Rows before `from` are counted
     * apart: their values are skipped. */
    t.srows = calloc(ns + 1, sizeof *t.srows);
    t.sbefore = calloc(ns + 1, sizeof *t.sbefore);
    t.sin = calloc(ns + 1, sizeof *t.sin);
    t.lo = calloc(nk + 1, sizeof *t.lo);
    t.inr = calloc(nk + 1, sizeof *t.inr);
    if (!t.srows || !t.sbefore || !t.sin || !t.lo || !t.inr) {
        rc = BRAID_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < nrows; i++)
        if (t.rshape[i]) {
            t.srows[t.rshape[i] - 1]++;
            t.sbefore[t.rshape[i] - 1] += i < from;
            t.sin[t.rshape[i] - 1] += i >= from && i < to;
        }
    /* Per key: its values, those of rows before `from` (skipped) and those
     * of the rows rebuilt (kept, from fill[k] on). */
    uint64_t total = 0, kept = 0, left = (uint64_t)(r->end - r->p);
    for (uint64_t s = 0; s < ns; s++) {
        const uint8_t *q = t.shape_p[s];
        for (uint32_t j = 0; j < t.shape_n[s]; j++) {
            uint64_t k = 0;
            rd_varint(&q, r->end, &k);
            t.cnt[k] += t.srows[s];
            t.lo[k] += t.sbefore[s];
            t.inr[k] += t.sin[s];
            total += t.srows[s];
            kept += t.sin[s];
        }
        if (total > left)
            goto out;
    }
    uint64_t maxcnt = 0;
    for (uint64_t k = 0; k < nk; k++)
        maxcnt = t.cnt[k] > maxcnt ? t.cnt[k] : maxcnt;
    t.vals = malloc((kept + 1) * sizeof *t.vals);
    t.dtmp = malloc((maxcnt + 1) * sizeof *t.dtmp);
    if (!t.vals || !t.dtmp) {
        rc = BRAID_ENOMEM;
        goto out;
    }
    uint64_t at = 0;
    for (uint64_t k = 0; k < nk && !r->err; k++) {
        t.fill[k] = at;
        read_key_values(r, t.cnt[k], t.lo[k], t.lo[k] + t.inr[k], t.vals + at, t.dtmp);
        at += t.inr[k];
    }
    if (r->err || r->p != r->end)
        goto out;
    uint64_t *cur = t.cnt; /* the counts are spent: reuse them as cursors */
    for (uint64_t k = 0; k < nk; k++)
        cur[k] = t.fill[k];
    uint64_t recon_len = 0;
    for (uint32_t i = from; i < to && i < nrows; i++) {
        if (!t.rshape[i])
            continue;
        uint32_t s = t.rshape[i] - 1;
        const uint8_t *q = t.shape_p[s];
        recon_len += 4;
        for (uint32_t j = 0; j < t.shape_n[s]; j++) {
            uint64_t k = 0;
            rd_varint(&q, r->end, &k);
            recon_len += 4 + t.keys[k].n + tval_len(&t.vals[cur[k]++]);
        }
        if (recon_len > RECON_MAX)
            goto out;
    }
    buf_reset(recon);
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
            wr_u32le(w, (uint32_t)t.keys[k].n);
            w += 4;
            if (t.keys[k].n)
                memcpy(w, t.keys[k].p, t.keys[k].n);
            w += t.keys[k].n;
            w = tval_write(&t.vals[t.fill[k]++], w);
        }
        out[i].s = (bslice){row, (size_t)(w - row)};
    }
    recon->n = (size_t)(w - recon->p);
    rc = 0;
out:
    attr_tmp_free(&t);
    return rc;
}

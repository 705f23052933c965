/* store/coltext: the text encoding of log bodies. A line becomes a skeleton
 * (the text between its words, a typed marker per word) and its words go to
 * one stream per (skeleton, position): numbers as varints, hex as nibbles,
 * other words plain or via a dictionary; lines of one log statement share a
 * skeleton, so like fields sit together. Rebuilds every line byte for byte;
 * never trusts a block. Owns only scratch memory. */
#include "column.h"

#include <stdlib.h>

/* Skeleton markers (bytes that make a line go raw when it contains them). */
enum { TK_WORD = 1, TK_NUM = 2, TK_HEX = 3 };

#define TEXT_MAX_SLOTS 255     /* words in a templated line */
#define TEXT_MAX_SKEL 4096     /* bytes of a skeleton */
#define TEXT_MAX_REFINED 16384 /* bytes of a skeleton with its constant words in */
#define NUM_MAX_DIGITS 18      /* below 2^60 */
#define HEX_MAX_CHARS 64

/* Byte classes: CL_WORD letters, digits and non-ASCII; CL_DIGIT 0-9;
 * CL_HEXL a-f; CL_MARK the marker bytes; CL_HEXC 0-9 and a-f. */
enum { CL_WORD = 1, CL_DIGIT = 2, CL_HEXL = 4, CL_MARK = 8, CL_HEXC = 16 };
static const uint8_t cls[256] = {
    0,  8,  8,  8,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  19, 19, 19, 19,
    19, 19, 19, 19, 19, 19, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1,  1,  1,  1,  1,  1,  1,
    1,  1,  1,  1,  1,  1,  1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 21, 21, 21, 21, 21, 21, 1,
    1,  1,  1,  1,  1,  1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,  0,  0,  0,  0,  1,  1,
    1,  1,  1,  1,  1,  1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1,  1,  1,  1,  1,  1,
    1,  1,  1,  1,  1,  1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1,  1,  1,  1,  1,  1,
    1,  1,  1,  1,  1,  1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1,  1,  1,  1,  1,  1,
    1,  1,  1,  1,  1,  1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1,  1,  1,  1,  1,  1,
    1,  1,  1,  1,  1,  1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1,  1,
};

/* A word's type from the and/or of its bytes' classes. */
static uint8_t classify(uint8_t all, uint8_t any, size_t n)
{
    if ((all & CL_DIGIT) && n <= NUM_MAX_DIGITS)
        return TK_NUM;
    if ((all & CL_HEXC) && (any & CL_DIGIT) && (any & CL_HEXL) && n <= HEX_MAX_CHARS)
        return TK_HEX;
    return TK_WORD;
}

typedef struct {
    uint32_t off, len; /* word bytes at raw + off */
} tok;

typedef struct {
    tok *t;
    size_t n, cap;
} toks;

static int toks_add(toks *ts, uint32_t off, uint32_t len)
{
    if (ts->n == ts->cap) {
        size_t nc = ts->cap ? ts->cap * 2 : 4096;
        tok *q = realloc(ts->t, nc * sizeof *q);
        if (!q)
            return BRAID_ENOMEM;
        ts->t = q;
        ts->cap = nc;
    }
    ts->t[ts->n++] = (tok){off, len};
    return 0;
}

/* Cuts one row into its skeleton (into sk) and words (appended to ts).
 * Returns 1 when the row is templated text, 0 when it must stay raw. */
static int cut_row(const uint8_t *raw, uint32_t off, uint32_t len, buf *sk, toks *ts, int *err)
{
    if (len < 5)
        return 0;
    const uint8_t *v = raw + off;
    if (v[0] != AV_STR || rd_u32le(v + 1) != len - 5)
        return 0;
    size_t mark = ts->n;
    buf_reset(sk);
    uint32_t i = 5;
    while (i < len) {
        uint8_t f = cls[v[i]];
        if (!(f & CL_WORD)) {
            if (f & CL_MARK)
                goto raw;
            cw_byte(sk, v[i++]);
            continue;
        }
        uint8_t all = f, any = f;
        uint32_t j = i + 1;
        while (j < len && ((f = cls[v[j]]) & CL_WORD)) {
            all &= f;
            any |= f;
            j++;
        }
        if (ts->n - mark >= TEXT_MAX_SLOTS)
            goto raw;
        cw_byte(sk, classify(all, any, j - i));
        if ((*err = toks_add(ts, off + i, j - i)) != 0)
            return 0;
        i = j;
    }
    if (sk->n > TEXT_MAX_SKEL || sk->err)
        goto raw;
    return 1;
raw:
    ts->n = mark;
    return 0;
}

static uint64_t parse_dec(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(p[i] - '0');
    return v;
}

/* The words of one stream of WORD slots: a dictionary when they repeat. */
static int put_words(colw *c, const tok *const *w, uint32_t n, uint32_t *idx, buf *out)
{
    const uint8_t *raw = c->raw.p;
    sdict_reset(&c->vals);
    for (uint32_t j = 0; j < n; j++) {
        if (j > 0 && w[j]->len == w[j - 1]->len &&
            same_bytes(raw + w[j]->off, raw + w[j - 1]->off, w[j]->len)) {
            idx[j] = idx[j - 1];
            continue;
        }
        int rc = sdict_add(&c->vals, raw + w[j]->off, w[j]->len, &idx[j]);
        if (rc)
            return rc;
    }
    if ((uint64_t)c->vals.n * 4 <= (uint64_t)n * 3) {
        cw_byte(out, CM_DICT);
        cw_var(out, c->vals.n);
        for (uint32_t k = 0; k < c->vals.n; k++) {
            cw_var(out, c->vals.len[k]);
            cw_bytes(out, sdict_at(&c->vals, k), c->vals.len[k]);
        }
        for (uint32_t j = 0; j < n; j++)
            cw_var(out, idx[j]);
    } else {
        cw_byte(out, CM_PLAIN);
        for (uint32_t j = 0; j < n; j++) {
            cw_var(out, w[j]->len);
            cw_bytes(out, raw + w[j]->off, w[j]->len);
        }
    }
    return out->err;
}

static void put_num(buf *out, const uint8_t *p, uint32_t n)
{
    uint64_t v = parse_dec(p, n);
    if (n > 1 && p[0] == '0') {
        cw_var(out, v << 1 | 1);
        cw_var(out, n);
    } else {
        cw_var(out, v << 1);
    }
}

static void put_hex(buf *out, const uint8_t *p, uint32_t n)
{
    cw_var(out, n);
    uint8_t tmp[HEX_MAX_CHARS / 2];
    for (uint32_t i = 0; i < n; i += 2) {
        int hi = p[i] <= '9' ? p[i] - '0' : p[i] - 'a' + 10;
        int lo = i + 1 < n ? (p[i + 1] <= '9' ? p[i + 1] - '0' : p[i + 1] - 'a' + 10) : 0;
        tmp[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    cw_bytes(out, tmp, (n + 1) / 2);
}

int text_finish(colw *c, buf *out, bool *used)
{
    *used = false;
    uint32_t n = c->nrows;
    if (n < 8)
        return 0;
    sdict_reset(&c->shapes);
    toks ts = {0};
    buf sk;
    buf_init(&sk);
    uint32_t *kind = malloc(((size_t)n + 1) * sizeof *kind);
    uint32_t *first = malloc(((size_t)n + 1) * sizeof *first);
    const tok **col = NULL;
    uint32_t *rows = NULL, *start = NULL, *idx = NULL, *soff = NULL;
    int rc = kind && first ? 0 : BRAID_ENOMEM;
    uint32_t nraw = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        first[i] = (uint32_t)ts.n;
        if (cut_row(c->raw.p, c->rowidx[i], c->rowlen[i], &sk, &ts, &rc) == 0) {
            kind[i] = 0;
            nraw++;
            continue;
        }
        uint32_t s;
        if ((rc = sdict_add(&c->shapes, sk.p, sk.n, &s)) == 0)
            kind[i] = s + 1;
    }
    uint32_t ns = c->shapes.n;
    /* Text worth templating: most rows cut, and far fewer skeletons than rows. */
    if (rc || nraw * 2 > n || ns * 2 > n)
        goto done;
    /* Rows by skeleton, in row order. */
    start = calloc((size_t)ns + 2, sizeof *start);
    rows = malloc(((size_t)n + 1) * sizeof *rows);
    col = malloc(((size_t)n + 1) * sizeof *col);
    idx = malloc(((size_t)n + 1) * sizeof *idx);
    soff = malloc(((size_t)ns + 1) * sizeof *soff);
    if (!start || !rows || !col || !idx || !soff) {
        rc = BRAID_ENOMEM;
        goto done;
    }
    for (uint32_t i = 0; i < n; i++)
        start[kind[i] + 1]++;
    for (uint32_t s = 0; s <= ns; s++)
        start[s + 1] += start[s];
    for (uint32_t i = 0; i < n; i++)
        rows[start[kind[i]]++] = i;
    for (uint32_t s = ns + 1; s > 0; s--)
        start[s] = start[s - 1];
    start[0] = 0;
    /* A word that every row of a skeleton has in the same place becomes
     * part of the skeleton's text (refined skeletons go in sk, marking the
     * slots that stay variable). */
    buf_reset(&sk);
    for (uint32_t s = 0; s < ns && !rc; s++) {
        const uint32_t *rs = rows + start[s + 1];
        uint32_t cnt = start[s + 2] - start[s + 1];
        const uint8_t *skel = sdict_at(&c->shapes, s);
        soff[s] = (uint32_t)sk.n;
        size_t at = sk.n;
        uint32_t slot = 0;
        for (uint32_t b = 0; b < c->shapes.len[s]; b++) {
            uint8_t m = skel[b];
            if (m < TK_WORD || m > TK_HEX) {
                cw_byte(&sk, m);
                continue;
            }
            const tok *t0 = &ts.t[first[rs[0]] + slot];
            bool same = true;
            for (uint32_t j = 1; j < cnt && same; j++) {
                const tok *t = &ts.t[first[rs[j]] + slot];
                same =
                    t->len == t0->len && same_bytes(c->raw.p + t->off, c->raw.p + t0->off, t->len);
            }
            if (same)
                cw_bytes(&sk, c->raw.p + t0->off, t0->len);
            else
                cw_byte(&sk, m);
            slot++;
        }
        if (sk.n - at > TEXT_MAX_REFINED) {
            /* Too long with its words in: keep the skeleton as it was. */
            sk.n = at;
            cw_bytes(&sk, skel, c->shapes.len[s]);
        }
    }
    if (rc || (rc = sk.err) != 0)
        goto done;
    *used = true;
    cw_byte(out, CM_TEXT);
    cw_var(out, ns);
    for (uint32_t s = 0; s < ns; s++) {
        uint32_t e = s + 1 < ns ? soff[s + 1] : (uint32_t)sk.n;
        cw_var(out, e - soff[s]);
        cw_bytes(out, sk.p ? sk.p + soff[s] : NULL, e - soff[s]);
    }
    for (uint32_t i = 0; i < n; i++)
        cw_var(out, kind[i]);
    for (uint32_t i = 0; i < n; i++)
        if (!kind[i]) {
            cw_var(out, c->rowlen[i]);
            cw_bytes(out, c->raw.p ? c->raw.p + c->rowidx[i] : NULL, c->rowlen[i]);
        }
    /* The variable slots' streams: all numbers, then all hex strings, then
     * all words, each in (skeleton, slot) order, so that each kind of data
     * is a section of its own. */
    static const uint8_t order[] = {TK_NUM, TK_HEX, TK_WORD};
    for (size_t o = 0; o < sizeof order && !rc; o++) {
        colw_section(c, out);
        for (uint32_t s = 0; s < ns && !rc; s++) {
            const uint32_t *rs = rows + start[s + 1];
            uint32_t cnt = start[s + 2] - start[s + 1];
            const uint8_t *skel = sdict_at(&c->shapes, s);
            const uint8_t *ref = sk.p ? sk.p + soff[s] : NULL;
            uint32_t rlen = (s + 1 < ns ? soff[s + 1] : (uint32_t)sk.n) - soff[s];
            /* Walk the original and the refined skeleton together: a
             * marker in both is a variable slot. */
            uint32_t slot = 0, rb = 0;
            for (uint32_t b = 0; b < c->shapes.len[s] && !rc; b++) {
                uint8_t m = skel[b];
                if (m < TK_WORD || m > TK_HEX) {
                    rb++;
                    continue;
                }
                const tok *t0 = &ts.t[first[rs[0]] + slot];
                bool variable = rb < rlen && ref[rb] == m;
                rb += variable ? 1 : t0->len;
                if (variable && m == order[o]) {
                    for (uint32_t j = 0; j < cnt; j++)
                        col[j] = &ts.t[first[rs[j]] + slot];
                    if (m == TK_WORD) {
                        rc = put_words(c, col, cnt, idx, out);
                    } else {
                        /* Numbers printed with a fixed width (zero padded or
                         * not) say so once: their digits need no length. */
                        uint32_t w = m == TK_NUM ? col[0]->len : 0;
                        for (uint32_t j = 1; j < cnt && w; j++)
                            if (col[j]->len != w)
                                w = 0;
                        if (m == TK_NUM)
                            cw_byte(out, (uint8_t)w);
                        for (uint32_t j = 0; j < cnt; j++) {
                            const uint8_t *p = c->raw.p + col[j]->off;
                            if (m == TK_NUM && w)
                                cw_var(out, parse_dec(p, w));
                            else if (m == TK_NUM)
                                put_num(out, p, col[j]->len);
                            else
                                put_hex(out, p, col[j]->len);
                        }
                    }
                }
                slot++;
            }
        }
    }
    if (!rc)
        rc = out->err;
done:
    free(kind);
    free(first);
    free(soff);
    free(ts.t);
    free(start);
    free(rows);
    free(col);
    free(idx);
    buf_free(&sk);
    return rc;
}

/* ---- reading ---- */
typedef struct {
    const uint8_t *p; /* WORD: bytes; HEX: packed nibbles */
    uint64_t num;     /* NUM: value */
    uint32_t n;       /* characters it prints */
} tval;

static const uint64_t pow10[NUM_MAX_DIGITS + 1] = {1ull,
                                                   10ull,
                                                   100ull,
                                                   1000ull,
                                                   10000ull,
                                                   100000ull,
                                                   1000000ull,
                                                   10000000ull,
                                                   100000000ull,
                                                   1000000000ull,
                                                   10000000000ull,
                                                   100000000000ull,
                                                   1000000000000ull,
                                                   10000000000000ull,
                                                   100000000000000ull,
                                                   1000000000000000ull,
                                                   10000000000000000ull,
                                                   100000000000000000ull,
                                                   1000000000000000000ull};

static uint32_t dec_digits(uint64_t v)
{
    uint32_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Reads the cnt values of one slot stream, keeping those with index in
 * [lo, hi) (rows being rebuilt) in out[0 .. hi - lo); dtmp: scratch of cnt
 * entries. */
static void read_slot(crd *r, uint8_t m, uint64_t cnt, uint64_t lo, uint64_t hi, tval *out,
                      bslice *dtmp)
{
    tval skip;
#define SLOT(j) ((j) >= lo && (j) < hi ? &out[(j)-lo] : &skip)
    if (m == TK_NUM) {
        uint8_t w = crd_u8(r);
        if (w > NUM_MAX_DIGITS)
            r->err = BRAID_EFORMAT;
        for (uint64_t j = 0; j < cnt && !r->err; j++) {
            uint64_t v = crd_var(r);
            tval *t = SLOT(j);
            t->p = NULL;
            t->num = w ? v : v >> 1;
            if (t->num > 999999999999999999ull) {
                r->err = BRAID_EFORMAT;
                break;
            }
            /* n = 0: as many digits as the number has, counted only for the
             * rows rebuilt (text_decode's sizing pass). */
            t->n = 0;
            if (w) {
                if (t->num >= pow10[w])
                    r->err = BRAID_EFORMAT;
                t->n = w;
            } else if (v & 1) {
                uint64_t len = crd_var(r);
                if (len <= dec_digits(t->num) || len > NUM_MAX_DIGITS)
                    r->err = BRAID_EFORMAT;
                t->n = (uint32_t)len;
            }
        }
    } else if (m == TK_HEX) {
        for (uint64_t j = 0; j < cnt && !r->err; j++) {
            uint64_t len = crd_var(r);
            if (len == 0 || len > HEX_MAX_CHARS) {
                r->err = BRAID_EFORMAT;
                break;
            }
            tval *t = SLOT(j);
            t->n = (uint32_t)len;
            t->p = crd_take(r, (size_t)(len + 1) / 2);
        }
    } else {
        uint8_t mode = crd_u8(r);
        if (mode == CM_PLAIN) {
            for (uint64_t j = 0; j < cnt && !r->err; j++) {
                bslice s = crd_slice(r);
                *SLOT(j) = (tval){s.p, 0, (uint32_t)s.n};
            }
        } else if (mode == CM_DICT) {
            uint64_t nd = crd_var(r);
            if (nd > cnt) {
                r->err = BRAID_EFORMAT;
                return;
            }
            for (uint64_t k = 0; k < nd && !r->err; k++)
                dtmp[k] = crd_slice(r);
            for (uint64_t j = 0; j < cnt && !r->err; j++) {
                uint64_t k = crd_var(r);
                if (k >= nd)
                    r->err = BRAID_EFORMAT;
                else if (j >= lo && j < hi)
                    out[j - lo] = (tval){dtmp[k].p, 0, (uint32_t)dtmp[k].n};
            }
        } else {
            r->err = BRAID_EFORMAT;
        }
    }
#undef SLOT
}

static uint8_t *write_tval(uint8_t m, const tval *t, uint8_t *w)
{
    static const char hx[] = "0123456789abcdef";
    if (m == TK_NUM) {
        uint64_t v = t->num;
        for (uint32_t i = t->n; i > 0; i--) {
            w[i - 1] = (uint8_t)('0' + v % 10);
            v /= 10;
        }
        return w + t->n;
    }
    if (m == TK_HEX) {
        for (uint32_t i = 0; i < t->n; i++)
            w[i] = (uint8_t)hx[i % 2 ? t->p[i / 2] & 15 : t->p[i / 2] >> 4];
        return w + t->n;
    }
    if (t->n)
        memcpy(w, t->p, t->n);
    return w + t->n;
}

typedef struct {
    bslice *skel, *dtmp;
    uint32_t *nslots, *kind, *cnt, *rank, *rlo, *rin;
    uint64_t *base;
    uint8_t *stype; /* every skeleton's slot types, back to back ... */
    uint32_t *soff; /* ... from soff[s] */
    tval *vals;
} text_tmp;

static void text_tmp_free(text_tmp *t)
{
    free(t->stype);
    free(t->soff);
    free(t->rlo);
    free(t->rin);
    free(t->skel);
    free(t->dtmp);
    free(t->nslots);
    free(t->kind);
    free(t->cnt);
    free(t->rank);
    free(t->base);
    free(t->vals);
}

int text_decode(crd *r, uint32_t nrows, colval *out, buf *recon, uint32_t from, uint32_t to)
{
    text_tmp t = {0};
    int rc = BRAID_EFORMAT;
    uint64_t ns = crd_var(r);
    if (r->err || ns > nrows)
        goto out;
    t.skel = malloc((ns + 1) * sizeof *t.skel);
    t.nslots = calloc(ns + 1, sizeof *t.nslots);
    t.cnt = calloc(ns + 1, sizeof *t.cnt);
    t.rank = calloc(ns + 1, sizeof *t.rank);
    t.rlo = calloc(ns + 1, sizeof *t.rlo);
    t.rin = calloc(ns + 1, sizeof *t.rin);
    t.base = calloc(ns + 1, sizeof *t.base);
    t.kind = malloc(((size_t)nrows + 1) * sizeof *t.kind);
    t.dtmp = malloc(((size_t)nrows + 1) * sizeof *t.dtmp);
    if (!t.skel || !t.nslots || !t.cnt || !t.rank || !t.base || !t.kind || !t.dtmp || !t.rlo ||
        !t.rin) {
        rc = BRAID_ENOMEM;
        goto out;
    }
    uint64_t allslots = 0;
    for (uint64_t s = 0; s < ns && !r->err; s++) {
        t.skel[s] = crd_slice(r);
        for (size_t b = 0; b < t.skel[s].n; b++)
            if (t.skel[s].p[b] >= TK_WORD && t.skel[s].p[b] <= TK_HEX)
                t.nslots[s]++;
        if (t.nslots[s] > TEXT_MAX_SLOTS || t.skel[s].n > TEXT_MAX_REFINED)
            r->err = BRAID_EFORMAT;
        allslots += t.nslots[s];
    }
    if (r->err)
        goto out;
    t.stype = malloc(allslots + 1);
    t.soff = malloc((ns + 1) * sizeof *t.soff);
    if (!t.stype || !t.soff) {
        rc = BRAID_ENOMEM;
        goto out;
    }
    for (uint64_t s = 0, at = 0; s < ns; s++) {
        t.soff[s] = (uint32_t)at;
        for (size_t b = 0; b < t.skel[s].n; b++)
            if (t.skel[s].p[b] >= TK_WORD && t.skel[s].p[b] <= TK_HEX)
                t.stype[at++] = t.skel[s].p[b];
    }
    for (uint32_t i = 0; i < nrows && !r->err; i++) {
        uint64_t k = crd_var(r);
        if (k > ns) {
            r->err = BRAID_EFORMAT;
            break;
        }
        t.kind[i] = (uint32_t)k;
        if (k) {
            t.cnt[k - 1]++;
            t.rlo[k - 1] += i < from;
            t.rin[k - 1] += i >= from && i < to;
        }
    }
    for (uint32_t i = 0; i < nrows && !r->err; i++)
        if (!t.kind[i])
            out[i].s = crd_slice(r);
    if (r->err)
        goto out;
    /* Every word costs at least one byte, which bounds their number; only
     * those of the rows rebuilt are kept. */
    uint64_t total = 0, kept = 0, left = (uint64_t)(r->end - r->p);
    for (uint64_t s = 0; s < ns; s++) {
        t.base[s] = kept;
        total += (uint64_t)t.cnt[s] * t.nslots[s];
        kept += (uint64_t)t.rin[s] * t.nslots[s];
        if (total > left)
            goto out;
    }
    t.vals = malloc((kept + 1) * sizeof *t.vals);
    if (!t.vals) {
        rc = BRAID_ENOMEM;
        goto out;
    }
    /* Numbers, then hex strings, then words, as text_finish wrote them. */
    static const uint8_t order[] = {TK_NUM, TK_HEX, TK_WORD};
    for (size_t o = 0; o < sizeof order; o++)
        for (uint64_t s = 0; s < ns && !r->err; s++) {
            const uint8_t *st = t.stype + t.soff[s];
            for (uint32_t slot = 0; slot < t.nslots[s] && !r->err; slot++)
                if (st[slot] == order[o])
                    read_slot(r, st[slot], t.cnt[s], t.rlo[s], t.rlo[s] + t.rin[s],
                              t.vals + t.base[s] + (uint64_t)slot * t.rin[s], t.dtmp);
        }
    if (r->err || r->p != r->end)
        goto out;
    /* Size the rebuilt rows of [from, to), then write them. */
    uint64_t recon_len = 0;
    for (uint32_t i = 0; i < nrows && i < to; i++) {
        uint32_t k = t.kind[i];
        if (!k)
            continue;
        uint32_t s = k - 1, rk = t.rank[s]++;
        if (i < from)
            continue;
        recon_len += 5 + t.skel[s].n - t.nslots[s];
        for (uint32_t j = 0; j < t.nslots[s]; j++) {
            tval *v = &t.vals[t.base[s] + (uint64_t)j * t.rin[s] + rk - t.rlo[s]];
            if (v->n == 0 && t.stype[t.soff[s] + j] == TK_NUM)
                v->n = dec_digits(v->num);
            recon_len += v->n;
        }
        if (recon_len > RECON_MAX)
            goto out;
    }
    buf_reset(recon);
    if (buf_reserve(recon, (size_t)recon_len + 1)) {
        rc = BRAID_ENOMEM;
        goto out;
    }
    memset(t.rank, 0, (ns + 1) * sizeof *t.rank);
    uint8_t *w = recon->p;
    for (uint32_t i = 0; i < nrows; i++) {
        uint32_t k = t.kind[i];
        if (!k)
            continue;
        uint32_t s = k - 1, rk = i < to ? t.rank[s]++ : 0;
        out[i].s = (bslice){NULL, 0};
        if (i < from || i >= to)
            continue;
        uint8_t *row = w;
        w += 5;
        uint32_t slot = 0;
        for (size_t b = 0; b < t.skel[s].n; b++) {
            uint8_t m = t.skel[s].p[b];
            if (m < TK_WORD || m > TK_HEX) {
                *w++ = m;
                continue;
            }
            w = write_tval(m, &t.vals[t.base[s] + (uint64_t)slot * t.rin[s] + rk - t.rlo[s]], w);
            slot++;
        }
        row[0] = AV_STR;
        wr_u32le(row + 1, (uint32_t)(w - row - 5));
        out[i].s = (bslice){row, (size_t)(w - row)};
    }
    recon->n = (size_t)(w - recon->p);
    rc = 0;
out:
    text_tmp_free(&t);
    return rc;
}

/* health/state: the serialized form of the health state, which the store
 * keeps in <data>/observer (layout: docs/storage-format.md, "Observer
 * state"). Owns the encoding only. Loading checks every count and every
 * string reference, so damaged bytes give BRAID_EFORMAT and an empty state,
 * never a read out of bounds. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define STATE_MAGIC "BHS1"
#define STATE_VERSION 1u

static void put_key(buf *b, const hkey *k)
{
    for (int i = 0; i < 4; i++)
        buf_put_u32le(b, k->k[i]);
}

static void put_f64(buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    buf_put_u64le(b, u);
}

int health_save(health *h, buf *out)
{
    pthread_mutex_lock(&h->mu);
    buf_append(out, STATE_MAGIC, 4);
    buf_put_u32le(out, STATE_VERSION);
    buf_put_u64le(out, h->seq);
    buf_put_u32le(out, h->sample);
    buf_put_u32le(out, (uint32_t)h->nstrs);
    for (size_t i = 0; i < h->nstrs; i++) {
        buf_put_u32le(out, (uint32_t)h->strs[i].n);
        buf_append(out, h->strs[i].p, h->strs[i].n);
    }
    buf_put_u32le(out, (uint32_t)h->nb);
    for (size_t i = 0; i < h->nb; i++) {
        const hbucket *b = &h->b[i];
        buf_put_u32le(out, b->svc);
        buf_put_u32le(out, b->minute);
        const uint64_t c[] = {
            b->logs,        b->logs_tid,         b->spans, b->with_parent, b->entry,
            b->entry_roots, b->entry_with_parent};
        for (size_t j = 0; j < sizeof c / sizeof c[0]; j++)
            buf_put_u64le(out, c[j]);
        const double d[] = {b->traces, b->linked,    b->sampled_out,
                            b->lost,   b->truncated, b->missing_parent};
        for (size_t j = 0; j < sizeof d / sizeof d[0]; j++)
            put_f64(out, d[j]);
    }
    buf_put_u32le(out, (uint32_t)h->nidf);
    for (size_t i = 0; i < h->nidf; i++) {
        put_key(out, &h->idf[i].key);
        buf_put_u64le(out, h->idf[i].count);
    }
    buf_put_u32le(out, (uint32_t)h->nedges);
    for (size_t i = 0; i < h->nedges; i++) {
        put_key(out, &h->edges[i].key);
        put_f64(out, h->edges[i].calls);
    }
    buf_put_u32le(out, (uint32_t)h->ncard);
    for (size_t i = 0; i < h->ncard; i++) {
        const hcard *c = &h->card[i];
        put_key(out, &c->key);
        buf_put_u64le(out, c->points);
        buf_put_u64le(out, c->idlike);
        buf_append(out, c->hll, HEALTH_HLL_REGS);
        buf_putc(out, c->nex);
        for (uint8_t j = 0; j < c->nex; j++) {
            buf_putc(out, c->exlen[j]);
            buf_append(out, c->ex[j], c->exlen[j]);
        }
    }
    buf_put_u32le(out, (uint32_t)h->nex);
    for (size_t i = 0; i < h->nex; i++) {
        const hex *e = &h->ex[i];
        put_key(out, &e->key);
        buf_putc(out, e->n);
        buf_putc(out, e->next);
        for (int j = 0; j < 3; j++) {
            buf_append(out, e->id[j].b, 16);
            buf_put_u32le(out, e->minute[j]);
        }
    }
    buf_put_u32le(out, (uint32_t)h->tlive);
    for (size_t i = 0; i < h->nt; i++) {
        const tentry *e = &h->t[i];
        if (!e->used)
            continue;
        buf_append(out, e->tid.b, 16);
        buf_put_u64le(out, e->last_ns);
        buf_put_u32le(out, e->nspans);
        for (uint32_t j = 0; j < e->nspans; j++) {
            buf_put_u64le(out, e->spans[j].span);
            buf_put_u64le(out, e->spans[j].parent);
            buf_put_u32le(out, e->spans[j].minute);
            buf_put_u32le(out, e->spans[j].svc);
            buf_putc(out, e->spans[j].kind);
        }
        buf_put_u32le(out, e->nlogs);
        for (uint32_t j = 0; j < e->nlogs; j++) {
            buf_put_u32le(out, e->logs[j].minute);
            buf_put_u32le(out, e->logs[j].svc);
            buf_putc(out, e->logs[j].state);
            buf_putc(out, e->logs[j].form);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return out->err ? BRAID_ENOMEM : 0;
}

/* ---- loading ---- */
typedef struct {
    const uint8_t *p, *end;
    bool bad;
} rd;

static bool need(rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return false;
    }
    return true;
}

static uint8_t r8(rd *r)
{
    return need(r, 1) ? *r->p++ : 0;
}

static uint32_t r32(rd *r)
{
    if (!need(r, 4))
        return 0;
    uint32_t v = rd_u32le(r->p);
    r->p += 4;
    return v;
}

static uint64_t r64(rd *r)
{
    if (!need(r, 8))
        return 0;
    uint64_t v = rd_u64le(r->p);
    r->p += 8;
    return v;
}

static double rf64(rd *r)
{
    uint64_t u = r64(r);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static void rbytes(rd *r, void *dst, size_t n)
{
    if (need(r, n)) {
        memcpy(dst, r->p, n);
        r->p += n;
    }
}

static hkey rkey(rd *r)
{
    hkey k;
    for (int i = 0; i < 4; i++)
        k.k[i] = r32(r);
    return k;
}

/* A count of records that are at least min_size bytes each must fit. */
static uint32_t rcount(rd *r, size_t min_size)
{
    uint32_t n = r32(r);
    if (!r->bad && (size_t)n > (size_t)(r->end - r->p) / min_size)
        r->bad = true;
    return r->bad ? 0 : n;
}

static int load(health *h, rd *r)
{
    uint8_t magic[4] = {0};
    rbytes(r, magic, 4);
    if (r->bad || memcmp(magic, STATE_MAGIC, 4) != 0 || r32(r) != STATE_VERSION)
        return BRAID_EFORMAT;
    h->seq = r64(r);
    h->sample = r32(r);
    if (h->sample == 0 || h->sample > HEALTH_SAMPLE_ONE)
        return BRAID_EFORMAT;
    uint32_t n = rcount(r, 4);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        uint32_t len = r32(r);
        if (!need(r, len))
            break;
        bslice s = {r->p, len};
        r->p += len;
        if (health_str(h, s) != i) /* duplicates or ENOMEM */
            return BRAID_EFORMAT;
    }
    size_t nstr = h->nstrs;
    n = rcount(r, 8 + 13 * 8);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        uint32_t svc = r32(r), minute = r32(r);
        hkey bk = {{svc, minute, 0, 0}};
        if (svc >= nstr || hmap_get(&h->bmap, &bk) != UINT32_MAX)
            return BRAID_EFORMAT;
        hbucket *b = health_bucket(h, svc, minute);
        if (!b)
            return BRAID_ENOMEM;
        b->logs = r64(r);
        b->logs_tid = r64(r);
        b->spans = r64(r);
        b->with_parent = r64(r);
        b->entry = r64(r);
        b->entry_roots = r64(r);
        b->entry_with_parent = r64(r);
        b->traces = rf64(r);
        b->linked = rf64(r);
        b->sampled_out = rf64(r);
        b->lost = rf64(r);
        b->truncated = rf64(r);
        b->missing_parent = rf64(r);
    }
#define LOAD_KEYED(arr, cnt, cap, map, recsize, body)                                              \
    n = rcount(r, recsize);                                                                        \
    for (uint32_t i = 0; i < n && !r->bad; i++) {                                                  \
        hkey k = rkey(r);                                                                          \
        if (hmap_get(&(map), &k) != UINT32_MAX)                                                    \
            return BRAID_EFORMAT;                                                                  \
        if ((cnt) == (cap)) {                                                                      \
            size_t nc = (cap) ? (cap)*2 : 16;                                                      \
            void *q = realloc((arr), nc * sizeof *(arr));                                          \
            if (!q)                                                                                \
                return BRAID_ENOMEM;                                                               \
            (arr) = q;                                                                             \
            (cap) = nc;                                                                            \
        }                                                                                          \
        memset(&(arr)[cnt], 0, sizeof *(arr));                                                     \
        (arr)[cnt].key = k;                                                                        \
        body;                                                                                      \
        if (hmap_put(&(map), &k, (uint32_t)(cnt)))                                                 \
            return BRAID_ENOMEM;                                                                   \
        (cnt)++;                                                                                   \
    }
    LOAD_KEYED(h->idf, h->nidf, h->capidf, h->idfmap, 24, {
        if (k.k[0] >= nstr || k.k[2] >= nstr)
            return BRAID_EFORMAT;
        h->idf[h->nidf].count = r64(r);
    })
    LOAD_KEYED(h->edges, h->nedges, h->capedges, h->edgemap, 24, {
        if (k.k[0] >= nstr || k.k[1] >= nstr)
            return BRAID_EFORMAT;
        h->edges[h->nedges].calls = rf64(r);
    })
    LOAD_KEYED(h->card, h->ncard, h->capcard, h->cardmap, 16 + 16 + HEALTH_HLL_REGS + 1, {
        hcard *c = &h->card[h->ncard];
        if (k.k[0] >= nstr || k.k[1] >= nstr || k.k[2] >= nstr)
            return BRAID_EFORMAT;
        c->points = r64(r);
        c->idlike = r64(r);
        rbytes(r, c->hll, HEALTH_HLL_REGS);
        for (int j = 0; j < HEALTH_HLL_REGS; j++)
            if (c->hll[j] > 64)
                return BRAID_EFORMAT;
        c->nex = r8(r);
        if (c->nex > 2)
            return BRAID_EFORMAT;
        for (uint8_t j = 0; j < c->nex; j++) {
            c->exlen[j] = r8(r);
            if (c->exlen[j] > HEALTH_EX_LEN)
                return BRAID_EFORMAT;
            rbytes(r, c->ex[j], c->exlen[j]);
        }
    })
    LOAD_KEYED(h->ex, h->nex, h->capex, h->exmap, 16 + 2 + 3 * 20, {
        hex *e = &h->ex[h->nex];
        if (k.k[0] >= nstr || k.k[1] >= EX_KINDS || (k.k[2] && k.k[2] >= nstr))
            return BRAID_EFORMAT;
        e->n = r8(r);
        e->next = r8(r);
        if (e->n > 3 || e->next > 2)
            return BRAID_EFORMAT;
        for (int j = 0; j < 3; j++) {
            rbytes(r, e->id[j].b, 16);
            e->minute[j] = r32(r);
        }
    })
#undef LOAD_KEYED
    n = rcount(r, 16 + 8 + 8);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        trace_id_t tid = {{0}};
        rbytes(r, tid.b, 16);
        uint64_t last = r64(r);
        hkey k;
        memcpy(&k, tid.b, 16);
        if (r->bad || hmap_get(&h->tmap, &k) != UINT32_MAX)
            return BRAID_EFORMAT;
        uint32_t ns = rcount(r, 8 + 8 + 4 + 4 + 1);
        tspan *spans = ns ? calloc(ns, sizeof *spans) : NULL;
        if (ns && !spans)
            return BRAID_ENOMEM;
        for (uint32_t j = 0; j < ns; j++) {
            spans[j].span = r64(r);
            spans[j].parent = r64(r);
            spans[j].minute = r32(r);
            spans[j].svc = r32(r);
            spans[j].kind = r8(r);
            if (spans[j].svc >= nstr)
                r->bad = true;
        }
        uint32_t nl = rcount(r, 4 + 4 + 1 + 1);
        tlog *logs = nl ? calloc(nl, sizeof *logs) : NULL;
        if (nl && !logs) {
            free(spans);
            return BRAID_ENOMEM;
        }
        for (uint32_t j = 0; j < nl; j++) {
            logs[j].minute = r32(r);
            logs[j].svc = r32(r);
            logs[j].state = r8(r);
            logs[j].form = r8(r);
            if (logs[j].svc >= nstr || logs[j].state > TLOG_UNKNOWN)
                r->bad = true;
        }
        int rc = 0;
        if (r->bad || (rc = health_vgrow((void **)&h->t, &h->capt, h->nt, sizeof *h->t)) != 0 ||
            hmap_put(&h->tmap, &k, (uint32_t)h->nt)) {
            free(spans);
            free(logs);
            return r->bad ? BRAID_EFORMAT : BRAID_ENOMEM;
        }
        h->t[h->nt++] = (tentry){.tid = tid,
                                 .last_ns = last,
                                 .spans = spans,
                                 .nspans = ns,
                                 .capspans = ns,
                                 .logs = logs,
                                 .nlogs = nl,
                                 .caplogs = nl,
                                 .used = true};
        h->tlive++;
        h->tspans += ns;
    }
    if (r->bad || r->p != r->end)
        return BRAID_EFORMAT;
    return 0;
}

int health_load(health *h, bslice saved)
{
    pthread_mutex_lock(&h->mu);
    health_clear(h);
    int rc = 0;
    if (saved.n) {
        rd r = {saved.p, saved.p + saved.n, false};
        rc = load(h, &r);
        if (rc)
            health_clear(h);
    }
    pthread_mutex_unlock(&h->mu);
    return rc == BRAID_ENOMEM ? rc : rc ? BRAID_EFORMAT : 0;
}

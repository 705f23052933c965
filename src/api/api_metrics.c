/* api/metrics: GET /api/v1/metrics (the metric catalogue) and
 * GET /api/v1/metrics/{name} (series values per step, grouped by a label,
 * with every exemplar in range). Values follow Prometheus habits: gauges are
 * averaged, counters become per-second rates (resets handled), histograms
 * and summaries give a quantile. Reads the store; owns only per-query state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "api_internal.h"

/* ---- string-keyed hash map (open addressing) of small indexes ---- */
typedef struct {
    bslice key; /* copied into the map's arena */
    uint64_t hash;
    size_t idx;
    bool used;
} skey;

typedef struct {
    skey *slots;
    size_t cap, n;
    arena ar;
} smap;

static uint64_t hash_bytes(const uint8_t *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

/* Returns the slot holding key, or NULL. */
static skey *smap_slot(const smap *m, bslice key, uint64_t h)
{
    if (m->cap == 0)
        return NULL;
    size_t j = h & (m->cap - 1);
    while (m->slots[j].used) {
        if (m->slots[j].hash == h && bslice_eq(m->slots[j].key, key))
            return &m->slots[j];
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

/* Index stored under key, or SIZE_MAX when absent. */
static size_t smap_find(const smap *m, bslice key)
{
    skey *k = smap_slot(m, key, hash_bytes(key.p, key.n, 0xcbf29ce484222325ull));
    return k ? k->idx : SIZE_MAX;
}

/* Returns the index stored under key, inserting `next` when absent (and
 * setting *added; *stored, if not NULL, gets the map's own copy of the key).
 * Returns SIZE_MAX on ENOMEM. */
static size_t smap_get(smap *m, bslice key, size_t next, bool *added, bslice *stored)
{
    *added = false;
    if (m->n * 2 >= m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        skey *ns = calloc(nc, sizeof *ns);
        if (!ns)
            return SIZE_MAX;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].used)
                continue;
            size_t j = m->slots[i].hash & (nc - 1);
            while (ns[j].used)
                j = (j + 1) & (nc - 1);
            ns[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = ns;
        m->cap = nc;
    }
    uint64_t h = hash_bytes(key.p, key.n, 0xcbf29ce484222325ull);
    skey *found = smap_slot(m, key, h);
    if (found) {
        if (stored)
            *stored = found->key;
        return found->idx;
    }
    size_t j = h & (m->cap - 1);
    while (m->slots[j].used)
        j = (j + 1) & (m->cap - 1);
    void *k = key.n ? arena_dup(&m->ar, key.p, key.n) : NULL;
    if (key.n && !k)
        return SIZE_MAX;
    m->slots[j] = (skey){(bslice){k, key.n}, h, next, true};
    m->n++;
    *added = true;
    if (stored)
        *stored = m->slots[j].key;
    return next;
}

static void smap_free(smap *m)
{
    free(m->slots);
    arena_free(&m->ar);
}

static const char *type_name(uint8_t t)
{
    switch (t) {
    case METRIC_GAUGE:
        return "gauge";
    case METRIC_SUM:
        return "sum";
    case METRIC_HISTOGRAM:
        return "histogram";
    case METRIC_EXP_HISTOGRAM:
        return "exponential_histogram";
    case METRIC_SUMMARY:
        return "summary";
    }
    return "unknown";
}

static const char *temporality_name(uint8_t t)
{
    return t == 1 ? "delta" : t == 2 ? "cumulative" : "unspecified";
}

/* The series identity of a point: service, then the point's attributes. */
static void series_key(buf *k, const model_metric *m)
{
    buf_reset(k);
    bslice svc = m->origin ? m->origin->service : (bslice){NULL, 0};
    buf_put_u32le(k, (uint32_t)svc.n);
    buf_append(k, svc.p, svc.n);
    buf_append(k, m->attrs.p, m->attrs.n);
}

/* ---- catalogue ---- */
typedef struct {
    bslice name, unit, description;
    uint8_t type, temporality, monotonic;
    uint64_t points, exemplars;
    smap series, services;
} cat_entry;

typedef struct {
    smap names;
    cat_entry *e;
    size_t n, cap;
    buf key;
    arena ar;
    int err;
} cat_ctx;

static cat_entry *cat_get(cat_ctx *c, bslice name)
{
    bool added;
    bslice stored;
    size_t i = smap_get(&c->names, name, c->n, &added, &stored);
    if (i == SIZE_MAX)
        return NULL;
    if (!added)
        return &c->e[i];
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 32;
        cat_entry *ne = realloc(c->e, nc * sizeof *ne);
        if (!ne)
            return NULL;
        c->e = ne;
        c->cap = nc;
    }
    cat_entry *e = &c->e[c->n++];
    memset(e, 0, sizeof *e);
    arena_init(&e->series.ar);
    arena_init(&e->services.ar);
    e->name = stored;
    return e;
}

static int keep_into(arena *ar, bslice s, bslice *out)
{
    if (s.n == 0) {
        *out = (bslice){NULL, 0};
        return 0;
    }
    void *p = arena_dup(ar, s.p, s.n);
    if (!p)
        return BRAID_ENOMEM;
    *out = (bslice){p, s.n};
    return 0;
}

static int cat_metric_cb(const void *row, void *ud)
{
    cat_ctx *c = ud;
    const model_metric *m = row;
    cat_entry *e = cat_get(c, m->name);
    if (!e) {
        c->err = BRAID_ENOMEM;
        return 1;
    }
    if (e->points++ == 0) {
        e->type = m->type;
        e->temporality = m->temporality;
        e->monotonic = m->monotonic;
        if (keep_into(&c->ar, m->unit, &e->unit) ||
            keep_into(&c->ar, m->description, &e->description)) {
            c->err = BRAID_ENOMEM;
            return 1;
        }
    }
    series_key(&c->key, m);
    bool added;
    if (smap_get(&e->series, (bslice){c->key.p, c->key.n}, e->series.n, &added, NULL) == SIZE_MAX ||
        smap_get(&e->services, m->origin ? m->origin->service : (bslice){NULL, 0}, e->services.n,
                 &added, NULL) == SIZE_MAX) {
        c->err = BRAID_ENOMEM;
        return 1;
    }
    return 0;
}

static int cat_exemplar_cb(const void *row, void *ud)
{
    cat_ctx *c = ud;
    const model_exemplar *x = row;
    size_t i = smap_find(&c->names, x->metric_name);
    if (i != SIZE_MAX)
        c->e[i].exemplars++;
    return 0;
}

static int cat_cmp(const void *a, const void *b)
{
    const cat_entry *x = a, *y = b;
    size_t n = x->name.n < y->name.n ? x->name.n : y->name.n;
    int c = n ? memcmp(x->name.p, y->name.p, n) : 0;
    return c ? c : (x->name.n > y->name.n) - (x->name.n < y->name.n);
}

void api_handle_metric_list(api *a, params *p)
{
    uint64_t start, end;
    if (!p_window(p, &start, &end))
        return;
    cat_ctx c;
    memset(&c, 0, sizeof c);
    arena_init(&c.names.ar);
    arena_init(&c.ar);
    int rc = store_scan(api_store(a), SIGNAL_METRICS, start, end, cat_metric_cb, &c);
    if (!rc && !c.err)
        rc = store_scan(api_store(a), SIGNAL_EXEMPLARS, start, end, cat_exemplar_cb, &c);
    if (rc || c.err) {
        respond_error(p->r, 500, "metric query failed: %s", braid_strerror(rc ? rc : c.err));
    } else {
        if (c.n > 1)
            qsort(c.e, c.n, sizeof *c.e, cat_cmp);
        buf *o = &p->r->body;
        buf_puts(o, "{\"metrics\":[");
        for (size_t i = 0; i < c.n; i++) {
            cat_entry *e = &c.e[i];
            buf_puts(o, i ? ",{\"name\":" : "{\"name\":");
            json_put_str(o, e->name);
            buf_printf(o, ",\"type\":\"%s\",\"unit\":", type_name(e->type));
            json_put_str(o, e->unit);
            buf_puts(o, ",\"description\":");
            json_put_str(o, e->description);
            buf_printf(o, ",\"monotonic\":%s,\"temporality\":\"%s\",\"services\":[",
                       e->monotonic ? "true" : "false", temporality_name(e->temporality));
            size_t ns = 0;
            for (size_t j = 0; j < e->services.cap; j++)
                if (e->services.slots[j].used) {
                    if (ns++)
                        buf_putc(o, ',');
                    json_put_str(o, e->services.slots[j].key);
                }
            buf_printf(o, "],\"series_count\":%zu,\"point_count\":%llu,\"exemplar_count\":%llu}",
                       e->series.n, (unsigned long long)e->points,
                       (unsigned long long)e->exemplars);
        }
        buf_puts(o, "]}");
        respond_json(p->r, o->err ? 500 : 200);
    }
    for (size_t i = 0; i < c.n; i++) {
        smap_free(&c.e[i].series);
        smap_free(&c.e[i].services);
    }
    free(c.e);
    smap_free(&c.names);
    arena_free(&c.ar);
    buf_free(&c.key);
}

/* ---- series query ---- */

/* One bucket boundary and its count: histograms of either kind are reduced
 * to this form, (upper bound, count) with the lower bound being the previous
 * entry's upper bound. */
typedef struct {
    double upper;
    double count;
} hbucket;

typedef struct {
    uint64_t t, start;
    double v;
    hbucket *hb; /* histogram buckets (arena), sorted by upper */
    uint32_t nhb;
    double qv; /* summary: value of the requested quantile, NaN if absent */
} spoint;

typedef struct {
    size_t group;
    spoint *pts;
    size_t n, cap;
} sseries;

typedef struct {
    bslice label; /* the group's label value */
} sgroup;

typedef struct {
    bslice name;
    const char *by;
    double q;
    uint8_t type, temporality, monotonic;
    bool typed;
    bslice unit;
    smap series_map, group_map;
    sseries *series;
    size_t nseries, capseries;
    sgroup *groups;
    size_t ngroups, capgroups;
    arena ar;
    buf key, tmp;
    int err;
} q_ctx;

/* Reduces a histogram payload to (upper, count) buckets in the arena. */
static int hist_buckets(arena *ar, uint8_t type, bslice pl, hbucket **out, uint32_t *n)
{
    const uint8_t *p = pl.p, *end = pl.p + pl.n;
    *out = NULL;
    *n = 0;
    if (type == METRIC_HISTOGRAM) {
        if (pl.n < 8 + 9 * 3 + 4)
            return BRAID_EINVAL;
        p += 8 + 9 * 3;
        uint32_t nb = rd_u32le(p);
        p += 4;
        if ((size_t)(end - p) / 8 < nb)
            return BRAID_EINVAL;
        const uint8_t *counts = p;
        p += (size_t)nb * 8;
        if (end - p < 4)
            return BRAID_EINVAL;
        uint32_t nbounds = rd_u32le(p);
        p += 4;
        if ((size_t)(end - p) / 8 < nbounds || nb == 0)
            return nb == 0 ? 0 : BRAID_EINVAL;
        hbucket *hb = arena_alloc(ar, nb * sizeof *hb);
        if (!hb)
            return BRAID_ENOMEM;
        for (uint32_t i = 0; i < nb; i++) {
            double ub = INFINITY;
            if (i < nbounds) {
                uint64_t bits = rd_u64le(p + 8 * i);
                memcpy(&ub, &bits, 8);
            }
            hb[i] = (hbucket){ub, (double)rd_u64le(counts + 8 * i)};
        }
        *out = hb;
        *n = nb;
        return 0;
    }
    /* Exponential: u64 count, f64 sum, u8, i32 scale, u64 zero_count, f64 zt,
     * f64 min, u8, f64 max, u8, then positive and negative bucket runs. */
    if (pl.n < 8 + 9 + 4 + 8 + 8 + 9 + 9 + 8)
        return BRAID_EINVAL;
    p += 8 + 9;
    int32_t scale = (int32_t)rd_u32le(p);
    p += 4;
    uint64_t zero = rd_u64le(p);
    p += 8 + 8 + 9 + 9;
    int32_t off = (int32_t)rd_u32le(p);
    uint32_t npos = rd_u32le(p + 4);
    p += 8;
    if ((size_t)(end - p) / 8 < npos || scale < -10 || scale > 20)
        return BRAID_EINVAL;
    hbucket *hb = arena_alloc(ar, (npos + 2) * sizeof *hb);
    if (!hb)
        return BRAID_ENOMEM;
    /* Zero bucket, then an empty edge at base^offset so the first positive
     * bucket's lower bound is right, then (base^i, base^(i+1)] buckets. */
    double base = pow(2.0, pow(2.0, -scale));
    hb[0] = (hbucket){0, (double)zero};
    hb[1] = (hbucket){pow(base, (double)off), 0};
    for (uint32_t i = 0; i < npos; i++)
        hb[i + 2] = (hbucket){pow(base, (double)off + i + 1), (double)rd_u64le(p + 8 * i)};
    *out = hb;
    *n = npos + 2;
    return 0;
}

static double summary_quantile(bslice pl, double q)
{
    if (pl.n < 20)
        return NAN;
    uint32_t nq = rd_u32le(pl.p + 16);
    if ((pl.n - 20) / 16 < nq)
        return NAN;
    for (uint32_t i = 0; i < nq; i++) {
        double qq, v;
        uint64_t b1 = rd_u64le(pl.p + 20 + 16 * i), b2 = rd_u64le(pl.p + 28 + 16 * i);
        memcpy(&qq, &b1, 8);
        memcpy(&v, &b2, 8);
        if (fabs(qq - q) < 1e-9)
            return v;
    }
    return NAN;
}

static bslice group_label(q_ctx *c, const model_metric *m)
{
    if (strcmp(c->by, "none") == 0)
        return (bslice){NULL, 0};
    if (strcmp(c->by, "service") == 0)
        return m->origin ? m->origin->service : (bslice){NULL, 0};
    bslice v, s;
    if (av_find(m->attrs, c->by, &v) ||
        (m->origin && av_find(m->origin->resource_attrs, c->by, &v))) {
        if (av_as_str(v, &s))
            return s;
        buf_reset(&c->tmp);
        av_value_to_json(&c->tmp, v);
        return (bslice){c->tmp.p, c->tmp.n};
    }
    return (bslice){NULL, 0};
}

static int q_metric_cb(const void *row, void *ud)
{
    q_ctx *c = ud;
    const model_metric *m = row;
    if (!bslice_eq(m->name, c->name))
        return 0;
    if (!c->typed) {
        c->typed = true;
        c->type = m->type;
        c->temporality = m->temporality;
        c->monotonic = m->monotonic;
        if (keep_into(&c->ar, m->unit, &c->unit))
            goto nomem;
    }
    if (m->type != c->type)
        return 0; /* one name, one type: later type changes are ignored */
    series_key(&c->key, m);
    bool added;
    size_t si = smap_get(&c->series_map, (bslice){c->key.p, c->key.n}, c->nseries, &added, NULL);
    if (si == SIZE_MAX)
        goto nomem;
    if (added) {
        bslice label = group_label(c, m);
        size_t gi = smap_get(&c->group_map, label, c->ngroups, &added, NULL);
        if (gi == SIZE_MAX)
            goto nomem;
        if (added) {
            if (c->ngroups == c->capgroups) {
                size_t nc = c->capgroups ? c->capgroups * 2 : 16;
                sgroup *ng = realloc(c->groups, nc * sizeof *ng);
                if (!ng)
                    goto nomem;
                c->groups = ng;
                c->capgroups = nc;
            }
            if (keep_into(&c->ar, label, &c->groups[c->ngroups].label))
                goto nomem;
            c->ngroups++;
        }
        if (c->nseries == c->capseries) {
            size_t nc = c->capseries ? c->capseries * 2 : 16;
            sseries *ns = realloc(c->series, nc * sizeof *ns);
            if (!ns)
                goto nomem;
            c->series = ns;
            c->capseries = nc;
        }
        c->series[c->nseries++] = (sseries){gi, NULL, 0, 0};
    }
    sseries *s = &c->series[si];
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        spoint *np = realloc(s->pts, nc * sizeof *np);
        if (!np)
            goto nomem;
        s->pts = np;
        s->cap = nc;
    }
    spoint *pt = &s->pts[s->n++];
    memset(pt, 0, sizeof *pt);
    pt->t = m->time_ns;
    pt->start = m->start_ns;
    pt->v = m->is_int ? (double)m->value_int : m->value_double;
    pt->qv = NAN;
    if (m->type == METRIC_HISTOGRAM || m->type == METRIC_EXP_HISTOGRAM) {
        int rc = hist_buckets(&c->ar, m->type, m->payload, &pt->hb, &pt->nhb);
        if (rc == BRAID_ENOMEM)
            goto nomem;
    } else if (m->type == METRIC_SUMMARY) {
        pt->qv = summary_quantile(m->payload, c->q);
    }
    return 0;
nomem:
    c->err = BRAID_ENOMEM;
    return 1;
}

static int spoint_cmp(const void *a, const void *b)
{
    const spoint *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

/* Per (group, step) accumulator. */
typedef struct {
    double sum, last;
    uint64_t n, last_t;
    hbucket *hb; /* merged histogram buckets, malloc'd */
    uint32_t nhb;
} cell;

/* Adds buckets (count scaled by sign) to a cell, merging by upper bound. */
static int cell_add_hist(cell *cl, const hbucket *hb, uint32_t n, const hbucket *prev,
                         uint32_t nprev)
{
    for (uint32_t i = 0; i < n; i++) {
        double cnt = hb[i].count;
        if (prev) {
            /* Cumulative: the increase since the previous point of the same
             * series, bucket by bucket (same bound). */
            double before = 0;
            for (uint32_t j = 0; j < nprev; j++)
                if (prev[j].upper == hb[i].upper) {
                    before = prev[j].count;
                    break;
                }
            cnt -= before;
        }
        if (cnt < 0)
            cnt = 0; /* empty buckets stay: their bounds place the others */
        uint32_t k = 0;
        while (k < cl->nhb && cl->hb[k].upper != hb[i].upper)
            k++;
        if (k == cl->nhb) {
            hbucket *nb = realloc(cl->hb, (cl->nhb + 1) * sizeof *nb);
            if (!nb)
                return BRAID_ENOMEM;
            cl->hb = nb;
            cl->hb[cl->nhb++] = (hbucket){hb[i].upper, 0};
        }
        cl->hb[k].count += cnt;
    }
    return 0;
}

static int hb_cmp(const void *a, const void *b)
{
    const hbucket *x = a, *y = b;
    return (x->upper > y->upper) - (x->upper < y->upper);
}

/* histogram_quantile: linear interpolation inside the bucket holding the
 * rank; the +Inf bucket answers its lower bound. */
static double hist_quantile(hbucket *hb, uint32_t n, double q)
{
    if (n == 0)
        return NAN;
    qsort(hb, n, sizeof *hb, hb_cmp);
    double total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += hb[i].count;
    if (total <= 0)
        return NAN;
    double rank = q * total, cum = 0;
    for (uint32_t i = 0; i < n; i++) {
        double lower = i ? hb[i - 1].upper : (hb[0].upper > 0 ? 0 : hb[0].upper);
        if (cum + hb[i].count >= rank) {
            if (isinf(hb[i].upper))
                return lower;
            if (hb[i].count <= 0)
                return hb[i].upper;
            return lower + (hb[i].upper - lower) * ((rank - cum) / hb[i].count);
        }
        cum += hb[i].count;
    }
    return hb[n - 1].upper;
}

static void put_num(buf *o, double v)
{
    if (isnan(v) || isinf(v))
        buf_puts(o, "null");
    else
        buf_printf(o, "%.10g", v);
}

static int q_exemplar_out(const void *row, void *ud)
{
    q_ctx *c = ud;
    const model_exemplar *x = row;
    if (!bslice_eq(x->metric_name, c->name))
        return 0;
    buf *o = &c->tmp;
    if (o->n > 1)
        buf_putc(o, ',');
    api_json_exemplar(o, x);
    return 0;
}

void api_handle_metric_query(api *a, bslice name, params *p)
{
    uint64_t start, end, step = 0;
    char qs[32], by[128];
    double q = 0.99;
    if (!p_window(p, &start, &end))
        return;
    p_duration(p, "step", &step);
    if (p_str(p, "quantile", qs, sizeof qs)) {
        char *e;
        q = strtod(qs, &e);
        if (*e || !(q >= 0 && q <= 1)) {
            respond_error(p->r, 400, "parameter quantile: \"%s\" is not a number from 0 to 1", qs);
            return;
        }
    }
    if (!p_str(p, "by", by, sizeof by))
        strcpy(by, "service");
    if (p->failed)
        return;
    if (step == 0) {
        step = (end - start) / 120;
        step = (step + 999999999ull) / 1000000000ull * 1000000000ull;
        if (step < 1000000000ull)
            step = 1000000000ull;
    }
    uint64_t nsteps = (end - start) / step + 1;
    if (nsteps > 11000) {
        respond_error(p->r, 400,
                      "parameter step: %llu steps over this range, more than 11000; use a "
                      "larger step",
                      (unsigned long long)nsteps);
        return;
    }
    q_ctx c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.by = by;
    c.q = q;
    arena_init(&c.ar);
    arena_init(&c.series_map.ar);
    arena_init(&c.group_map.ar);
    cell *cells = NULL;
    int rc = store_scan(api_store(a), SIGNAL_METRICS, start, end, q_metric_cb, &c);
    if (rc || c.err) {
        respond_error(p->r, 500, "metric query failed: %s", braid_strerror(rc ? rc : c.err));
        goto out;
    }
    if (c.nseries == 0) {
        respond_error(p->r, 404, "metric %.*s has no points in this time range",
                      (int)(name.n > 200 ? 200 : name.n), (const char *)name.p);
        goto out;
    }
    cells = calloc(c.ngroups * nsteps, sizeof *cells);
    if (!cells) {
        respond_error(p->r, 500, "out of memory");
        goto out;
    }
    bool rate = c.type == METRIC_SUM && c.monotonic;
    bool cumulative = c.temporality == 2;
    for (size_t si = 0; si < c.nseries; si++) {
        sseries *s = &c.series[si];
        if (s->n > 1)
            qsort(s->pts, s->n, sizeof *s->pts, spoint_cmp);
        for (size_t k = 0; k < s->n; k++) {
            spoint *pt = &s->pts[k], *prev = k ? &s->pts[k - 1] : NULL;
            if (pt->t < start || pt->t > end)
                continue;
            cell *cl = &cells[s->group * nsteps + (pt->t - start) / step];
            /* A cumulative series restarts when its start time changes. */
            bool reset = prev && pt->start != prev->start;
            switch (c.type) {
            case METRIC_GAUGE:
                cl->sum += pt->v;
                cl->n++;
                break;
            case METRIC_SUM:
                if (!rate) {
                    if (pt->t >= cl->last_t) {
                        cl->last_t = pt->t;
                        cl->last = pt->v;
                    }
                    cl->n++;
                } else if (!cumulative) {
                    cl->sum += pt->v;
                    cl->n++;
                } else if (prev) {
                    double inc = reset || pt->v < prev->v ? pt->v : pt->v - prev->v;
                    cl->sum += inc;
                    cl->n++;
                }
                break;
            case METRIC_HISTOGRAM:
            case METRIC_EXP_HISTOGRAM:
                if (cumulative && !prev)
                    break;
                if (cell_add_hist(cl, pt->hb, pt->nhb, cumulative && !reset ? prev->hb : NULL,
                                  cumulative && !reset ? prev->nhb : 0)) {
                    respond_error(p->r, 500, "out of memory");
                    goto out;
                }
                cl->n++;
                break;
            case METRIC_SUMMARY:
                if (!isnan(pt->qv)) {
                    cl->sum += pt->qv;
                    cl->n++;
                }
                break;
            }
        }
    }
    buf *o = &p->r->body;
    buf_puts(o, "{\"name\":");
    json_put_str(o, name);
    buf_printf(o, ",\"type\":\"%s\",\"unit\":", type_name(c.type));
    json_put_str(o, c.unit);
    buf_printf(o, ",\"quantile\":%g,\"by\":", q);
    json_put_str(o, bslice_cstr(by));
    buf_printf(o,
               ",\"step_ns\":\"%llu\",\"start_unix_nano\":\"%llu\",\"end_unix_nano\":\"%llu\","
               "\"series\":[",
               (unsigned long long)step, (unsigned long long)start, (unsigned long long)end);
    double step_s = (double)step / 1e9;
    for (size_t g = 0; g < c.ngroups; g++) {
        buf_puts(o, g ? ",{\"labels\":{" : "{\"labels\":{");
        if (strcmp(by, "none") != 0) {
            json_put_str(o, bslice_cstr(by));
            buf_putc(o, ':');
            json_put_str(o, c.groups[g].label);
        }
        buf_puts(o, "},\"points\":[");
        for (uint64_t k = 0; k < nsteps; k++) {
            cell *cl = &cells[g * nsteps + k];
            double v = NAN;
            if (cl->n) {
                switch (c.type) {
                case METRIC_GAUGE:
                case METRIC_SUMMARY:
                    v = cl->sum / (double)cl->n;
                    break;
                case METRIC_SUM:
                    v = rate ? cl->sum / step_s : cl->last;
                    break;
                default:
                    v = hist_quantile(cl->hb, cl->nhb, q);
                    break;
                }
            }
            buf_printf(o, "%s{\"t\":\"%llu\",\"v\":", k ? "," : "",
                       (unsigned long long)(start + k * step));
            put_num(o, v);
            buf_putc(o, '}');
        }
        buf_puts(o, "]}");
    }
    buf_puts(o, "],\"exemplars\":[");
    buf_reset(&c.tmp);
    buf_putc(&c.tmp, '[');
    rc = store_scan(api_store(a), SIGNAL_EXEMPLARS, start, end, q_exemplar_out, &c);
    if (rc) {
        respond_error(p->r, 500, "exemplar query failed: %s", braid_strerror(rc));
        goto out;
    }
    buf_append(o, c.tmp.p + 1, c.tmp.n - 1);
    buf_puts(o, "]}");
    respond_json(p->r, o->err || c.tmp.err ? 500 : 200);
out:
    if (cells)
        for (size_t i = 0; i < c.ngroups * nsteps; i++)
            free(cells[i].hb);
    free(cells);
    for (size_t i = 0; i < c.nseries; i++)
        free(c.series[i].pts);
    free(c.series);
    free(c.groups);
    smap_free(&c.series_map);
    smap_free(&c.group_map);
    arena_free(&c.ar);
    buf_free(&c.key);
    buf_free(&c.tmp);
}

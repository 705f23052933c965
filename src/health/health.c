/* health: the state behind the correlation report and how it changes: rows
 * observed in WAL order bump per-minute counters; traces are followed
 * (hash-sampled when there are too many) until their grace period ends and
 * then judged: did the logs' traces arrive, did every parent arrive, which
 * service called which. Owns all of it and its serialized form; the store
 * writes that form to disk. Never queries the store except through the
 * lookup it is given, and only from the judging thread. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "internal.h"

void health_opts_default(health_opts *o)
{
    *o = (health_opts){.grace_ns = 300ull * 1000000000ull,
                       .retention_ns = 30ull * 86400ull * 1000000000ull,
                       .coverage_min = 0.5,
                       .lost_max = 0.01,
                       .broken_max = 0.01,
                       .drift_max = 0.0,
                       .cardinality_max = 10000,
                       .max_traces = 65536,
                       .max_spans = 262144,
                       .now = now_unix_ns};
}

/* ---- map ---- */
static size_t hkey_hash(const hkey *k)
{
    return (size_t)XXH3_64bits(k, sizeof *k);
}

void hmap_free(hmap *m)
{
    free(m->keys);
    free(m->vals);
    *m = (hmap){0};
}

uint32_t hmap_get(const hmap *m, const hkey *k)
{
    if (!m->cap)
        return UINT32_MAX;
    size_t mask = m->cap - 1;
    for (size_t i = hkey_hash(k) & mask;; i = (i + 1) & mask) {
        if (m->vals[i] == UINT32_MAX)
            return UINT32_MAX;
        if (memcmp(&m->keys[i], k, sizeof *k) == 0)
            return m->vals[i];
    }
}

static int hmap_grow(hmap *m)
{
    size_t nc = m->cap ? m->cap * 2 : 64;
    hkey *nk = malloc(nc * sizeof *nk);
    uint32_t *nv = malloc(nc * sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return BRAID_ENOMEM;
    }
    memset(nv, 0xff, nc * sizeof *nv);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->vals[i] == UINT32_MAX)
            continue;
        size_t j = hkey_hash(&m->keys[i]) & (nc - 1);
        while (nv[j] != UINT32_MAX)
            j = (j + 1) & (nc - 1);
        nk[j] = m->keys[i];
        nv[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = nc;
    return 0;
}

int hmap_put(hmap *m, const hkey *k, uint32_t v)
{
    if ((m->n + 1) * 4 > m->cap * 3 && hmap_grow(m))
        return BRAID_ENOMEM;
    size_t mask = m->cap - 1;
    size_t i = hkey_hash(k) & mask;
    while (m->vals[i] != UINT32_MAX) {
        if (memcmp(&m->keys[i], k, sizeof *k) == 0) {
            m->vals[i] = v;
            return 0;
        }
        i = (i + 1) & mask;
    }
    m->keys[i] = *k;
    m->vals[i] = v;
    m->n++;
    return 0;
}

void hmap_del(hmap *m, const hkey *k)
{
    if (!m->cap)
        return;
    size_t mask = m->cap - 1;
    size_t i = hkey_hash(k) & mask;
    for (;; i = (i + 1) & mask) {
        if (m->vals[i] == UINT32_MAX)
            return;
        if (memcmp(&m->keys[i], k, sizeof *k) == 0)
            break;
    }
    /* Backward shift: move later entries of the run into the hole when their
     * home slot does not lie cyclically between the hole and them. */
    size_t j = i;
    for (;;) {
        m->vals[i] = UINT32_MAX;
        for (;;) {
            j = (j + 1) & mask;
            if (m->vals[j] == UINT32_MAX) {
                m->n--;
                return;
            }
            size_t home = hkey_hash(&m->keys[j]) & mask;
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays)
                break;
        }
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        i = j;
    }
}

/* Grows a vector of elements of size sz to hold one more. */
int health_vgrow(void **p, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, nc * sz);
    if (!q)
        return BRAID_ENOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

void *health_keyed(hmap *m, void **arr, size_t *n, size_t *cap, size_t sz, const hkey *k,
                   bool *created)
{
    uint32_t i = hmap_get(m, k);
    *created = i == UINT32_MAX;
    if (!*created)
        return (uint8_t *)*arr + (size_t)i * sz;
    if (health_vgrow(arr, cap, *n, sz) || hmap_put(m, k, (uint32_t)*n))
        return NULL;
    void *e = (uint8_t *)*arr + *n * sz;
    memset(e, 0, sz);
    (*n)++;
    return e;
}

/* ---- interned strings ---- */
static hkey str_key(bslice s)
{
    XXH128_hash_t x = XXH3_128bits(s.p ? (const void *)s.p : (const void *)"", s.n);
    return (hkey){{(uint32_t)x.low64, (uint32_t)(x.low64 >> 32), (uint32_t)x.high64,
                   (uint32_t)(x.high64 >> 32)}};
}

uint32_t health_str(health *h, bslice s)
{
    hkey k = str_key(s);
    uint32_t id = hmap_get(&h->strmap, &k);
    if (id != UINT32_MAX)
        return id;
    if (health_vgrow((void **)&h->strs, &h->capstrs, h->nstrs, sizeof *h->strs))
        return UINT32_MAX;
    uint8_t *c = malloc(s.n ? s.n : 1);
    if (!c)
        return UINT32_MAX;
    if (s.n)
        memcpy(c, s.p, s.n);
    id = (uint32_t)h->nstrs;
    if (hmap_put(&h->strmap, &k, id)) {
        free(c);
        return UINT32_MAX;
    }
    h->strs[h->nstrs++] = (bslice){c, s.n};
    return id;
}

/* ---- aggregates ---- */
hbucket *health_bucket(health *h, uint32_t svc, uint32_t minute)
{
    hkey k = {{svc, minute, 0, 0}};
    bool created;
    hbucket *b =
        health_keyed(&h->bmap, (void **)&h->b, &h->nb, &h->capb, sizeof *h->b, &k, &created);
    if (b && created) {
        b->svc = svc;
        b->minute = minute;
    }
    return b;
}

static uint64_t *idf_count(health *h, uint32_t svc, uint32_t minute, uint32_t field, uint8_t form)
{
    hkey k = {{svc, minute, field, form}};
    bool created;
    hidf *d = health_keyed(&h->idfmap, (void **)&h->idf, &h->nidf, &h->capidf, sizeof *h->idf, &k,
                           &created);
    if (!d)
        return NULL;
    d->key = k;
    return &d->count;
}

static void edge_add(health *h, uint32_t caller, uint32_t callee, uint32_t minute, double w)
{
    hkey k = {{caller, callee, minute, 0}};
    bool created;
    hedge *e = health_keyed(&h->edgemap, (void **)&h->edges, &h->nedges, &h->capedges,
                            sizeof *h->edges, &k, &created);
    if (!e)
        return;
    e->key = k;
    e->calls += w;
}

void health_example(health *h, uint32_t svc, uint32_t kind, uint32_t field, const trace_id_t *tid,
                    uint32_t minute)
{
    hkey k = {{svc, kind, field, 0}};
    bool created;
    hex *e =
        health_keyed(&h->exmap, (void **)&h->ex, &h->nex, &h->capex, sizeof *h->ex, &k, &created);
    if (!e)
        return;
    e->key = k;
    for (uint8_t j = 0; j < e->n; j++)
        if (memcmp(&e->id[j], tid, sizeof *tid) == 0)
            return;
    e->id[e->next] = *tid;
    e->minute[e->next] = minute;
    e->next = (uint8_t)((e->next + 1) % 3);
    if (e->n < 3)
        e->n++;
}

/* ---- ids in metric labels ---- */
static bool all_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')))
            return false;
    return true;
}

bool health_looks_like_id(bslice v)
{
    if ((v.n == 32 || v.n == 16) && all_hex(v.p, v.n)) {
        /* Hex ids are random: a word made of a-f or a number is not one. */
        bool digit = false, letter = false;
        for (size_t i = 0; i < v.n; i++) {
            if (v.p[i] <= '9')
                digit = true;
            else
                letter = true;
        }
        return digit && letter;
    }
    if (v.n == 36) {
        for (size_t i = 0; i < 36; i++) {
            bool dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash ? v.p[i] != '-' : !all_hex(v.p + i, 1))
                return false;
        }
        return true;
    }
    if (v.n == 55 && v.p[2] == '-' && v.p[35] == '-' && v.p[52] == '-')
        return all_hex(v.p, 2) && all_hex(v.p + 3, 32) && all_hex(v.p + 36, 16) &&
               all_hex(v.p + 53, 2);
    return false;
}

static void card_add(health *h, uint32_t svc, uint32_t metric, bslice key, bslice val,
                     uint32_t hour)
{
    uint32_t lk = health_str(h, key);
    if (lk == UINT32_MAX)
        return;
    hkey k = {{svc, metric, lk, hour}};
    bool created;
    hcard *c = health_keyed(&h->cardmap, (void **)&h->card, &h->ncard, &h->capcard, sizeof *h->card,
                            &k, &created);
    if (!c)
        return;
    c->key = k;
    c->points++;
    uint64_t x = XXH3_64bits(val.p ? (const void *)val.p : (const void *)"", val.n);
    uint32_t reg = (uint32_t)(x & (HEALTH_HLL_REGS - 1));
    uint64_t rest = x >> 8;
    uint8_t rank = (uint8_t)(rest ? __builtin_ctzll(rest) + 1 : 57);
    if (rank > c->hll[reg])
        c->hll[reg] = rank;
    bool id = health_looks_like_id(val);
    if (id)
        c->idlike++;
    /* Keep the first two distinct values seen, preferring ids. */
    size_t n = val.n < HEALTH_EX_LEN ? val.n : HEALTH_EX_LEN;
    for (uint8_t j = 0; j < c->nex; j++)
        if (c->exlen[j] == n && memcmp(c->ex[j], val.p, n) == 0)
            return;
    if (c->nex < 2 ||
        (id && !health_looks_like_id((bslice){(const uint8_t *)c->ex[1], c->exlen[1]}))) {
        uint8_t j = c->nex < 2 ? c->nex++ : 1;
        memcpy(c->ex[j], val.p, n);
        c->exlen[j] = (uint8_t)n;
    }
}

/* ---- following traces ---- */
/* The top 16 bits: the maps place keys by the low bits of the same hash,
 * and a sample chosen by those would crowd into a few slots. */
static uint32_t trace_hash16(const trace_id_t *t)
{
    return (uint32_t)(XXH3_64bits(t->b, 16) >> 48);
}

static hkey tid_key(const trace_id_t *t)
{
    hkey k;
    memcpy(&k, t->b, 16);
    return k;
}

static void tentry_release(health *h, uint32_t i)
{
    tentry *e = &h->t[i];
    hkey k = tid_key(&e->tid);
    hmap_del(&h->tmap, &k);
    h->tspans -= e->nspans;
    h->tlive--;
    free(e->spans);
    free(e->logs);
    *e = (tentry){0};
    if (!health_vgrow((void **)&h->tfree, &h->captfree, h->ntfree, sizeof *h->tfree))
        h->tfree[h->ntfree++] = i;
}

/* Halves the share of traces followed, letting go of the ones now outside it
 * (they are simply not judged: the shares stay unbiased). */
static void tracker_shrink(health *h)
{
    while (h->sample > 1 && (h->tlive >= h->o.max_traces || h->tspans >= h->o.max_spans)) {
        h->sample /= 2;
        for (size_t i = 0; i < h->nt; i++)
            if (h->t[i].used && trace_hash16(&h->t[i].tid) >= h->sample)
                tentry_release(h, (uint32_t)i);
    }
}

static tentry *tracker_get(health *h, const trace_id_t *tid, uint64_t now)
{
    if (trace_hash16(tid) >= h->sample)
        return NULL;
    hkey k = tid_key(tid);
    uint32_t i = hmap_get(&h->tmap, &k);
    if (i != UINT32_MAX) {
        h->t[i].last_ns = now;
        return &h->t[i];
    }
    if (h->tlive >= h->o.max_traces) {
        tracker_shrink(h);
        if (trace_hash16(tid) >= h->sample)
            return NULL;
    }
    if (h->ntfree) {
        i = h->tfree[--h->ntfree];
    } else {
        if (health_vgrow((void **)&h->t, &h->capt, h->nt, sizeof *h->t))
            return NULL;
        i = (uint32_t)h->nt++;
    }
    if (hmap_put(&h->tmap, &k, i)) {
        if (!health_vgrow((void **)&h->tfree, &h->captfree, h->ntfree, sizeof *h->tfree))
            h->tfree[h->ntfree++] = i;
        return NULL;
    }
    h->t[i] = (tentry){.tid = *tid, .last_ns = now, .used = true};
    h->tlive++;
    return &h->t[i];
}

static void tracker_log(health *h, const model_log *l, uint32_t svc, uint32_t minute, uint64_t now)
{
    tentry *e = tracker_get(h, &l->trace_id, now);
    if (!e)
        return;
    for (uint32_t j = 0; j < e->nlogs; j++)
        if (e->logs[j].svc == svc)
            return;
    size_t cap = e->caplogs;
    if (health_vgrow((void **)&e->logs, &cap, e->nlogs, sizeof *e->logs))
        return;
    e->caplogs = (uint32_t)cap;
    uint8_t state = TLOG_UNKNOWN;
    /* The sampled bit means something only where the producer set it: the
     * OTLP field itself, or a traceparent. */
    if (l->id_field.n == 0 || l->id_form == ID_FORM_TRACEPARENT)
        state = (l->flags & 1) ? TLOG_SAMPLED : TLOG_UNSAMPLED;
    e->logs[e->nlogs++] = (tlog){.minute = minute, .svc = svc, .state = state, .form = l->id_form};
}

static void tracker_span(health *h, const model_span *s, uint32_t svc, uint32_t minute,
                         uint64_t now)
{
    if (h->tspans >= h->o.max_spans)
        tracker_shrink(h);
    tentry *e = tracker_get(h, &s->trace_id, now);
    if (!e)
        return;
    size_t cap = e->capspans;
    if (health_vgrow((void **)&e->spans, &cap, e->nspans, sizeof *e->spans))
        return;
    e->capspans = (uint32_t)cap;
    tspan *t = &e->spans[e->nspans++];
    memcpy(&t->span, s->span_id.b, 8);
    memcpy(&t->parent, s->parent_span_id.b, 8);
    t->minute = minute;
    t->svc = svc;
    t->kind = (uint8_t)s->kind;
    h->tspans++;
}

/* ---- observing rows ---- */
static uint32_t minute_of(uint64_t t)
{
    uint64_t m = t / HEALTH_NS_PER_MIN;
    return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

typedef struct {
    const model_origin *origin;
    uint32_t svc;
} svc_cache;

static uint32_t svc_of(health *h, svc_cache *c, const model_origin *o)
{
    if (o == c->origin && c->origin)
        return c->svc;
    c->origin = o;
    c->svc = health_str(h, o ? o->service : (bslice){0});
    return c->svc;
}

void health_observe(health *h, const store_rows *r)
{
    uint64_t now = h->o.now();
    svc_cache sc = {0};
    pthread_mutex_lock(&h->mu);
    hbucket *b = NULL;
    for (size_t i = 0; i < r->nlogs; i++) {
        const model_log *l = &r->logs[i];
        uint32_t svc = svc_of(h, &sc, l->origin);
        if (svc == UINT32_MAX)
            continue;
        uint32_t minute = minute_of(l->time_ns ? l->time_ns : l->observed_ns);
        if (!b || b->svc != svc || b->minute != minute)
            b = health_bucket(h, svc, minute);
        if (!b)
            continue;
        b->logs++;
        if (trace_id_is_zero(&l->trace_id))
            continue;
        b->logs_tid++;
        uint32_t field = health_str(h, l->id_field);
        uint8_t form =
            l->id_field.n == 0 && l->id_form == ID_FORM_NONE ? ID_FORM_BINARY : l->id_form;
        uint64_t *c = field == UINT32_MAX ? NULL : idf_count(h, svc, minute, field, form);
        if (c) {
            (*c)++;
            if (!health_field_usual(l->id_field) || form == ID_FORM_HEX32_UPPER ||
                form == ID_FORM_HEX16 || form == ID_FORM_DECIMAL)
                health_example(h, svc, EX_DRIFT, field, &l->trace_id, minute);
        }
        tracker_log(h, l, svc, minute, now);
    }
    b = NULL;
    for (size_t i = 0; i < r->nspans; i++) {
        const model_span *s = &r->spans[i];
        uint32_t svc = svc_of(h, &sc, s->origin);
        if (svc == UINT32_MAX)
            continue;
        uint32_t minute = minute_of(s->start_ns);
        if (!b || b->svc != svc || b->minute != minute)
            b = health_bucket(h, svc, minute);
        if (!b)
            continue;
        b->spans++;
        bool root = span_id_is_zero(&s->parent_span_id);
        if (!root)
            b->with_parent++;
        if (s->kind == 2 || s->kind == 5) { /* server, consumer */
            b->entry++;
            if (root) {
                b->entry_roots++;
                health_example(h, svc, EX_ROOT, 0, &s->trace_id, minute);
            } else {
                b->entry_with_parent++;
            }
        }
        if (i + 1 == r->nspans || r->spans[i + 1].origin != s->origin)
            health_example(h, svc, EX_COVERAGE, 0, &s->trace_id, minute);
        tracker_span(h, s, svc, minute, now);
    }
    for (size_t i = 0; i < r->nmetrics; i++) {
        const model_metric *m = &r->metrics[i];
        if (!m->attrs.n)
            continue;
        uint32_t svc = svc_of(h, &sc, m->origin);
        uint32_t metric = health_str(h, m->name);
        if (svc == UINT32_MAX || metric == UINT32_MAX)
            continue;
        uint32_t hour = minute_of(m->time_ns) / 60;
        av_iter it;
        av_iter_init(&it, m->attrs);
        bslice k, v, sv;
        while (av_iter_next(&it, &k, &v) == 1)
            if (av_as_str(v, &sv))
                card_add(h, svc, metric, k, sv, hour);
    }
    pthread_mutex_unlock(&h->mu);
}

static void obs_observe(void *ud, uint64_t seq, const store_rows *rows)
{
    health *h = ud;
    health_observe(h, rows);
    pthread_mutex_lock(&h->mu);
    h->seq = seq;
    pthread_mutex_unlock(&h->mu);
}

/* ---- judging ---- */
typedef struct {
    uint64_t span;
    uint32_t svc;
} known_span;

static int cmp_known(const void *a, const void *b)
{
    uint64_t x = ((const known_span *)a)->span, y = ((const known_span *)b)->span;
    return x < y ? -1 : x > y;
}

static const known_span *find_known(const known_span *k, size_t n, uint64_t span)
{
    known_span key = {.span = span};
    return bsearch(&key, k, n, sizeof *k, cmp_known);
}

/* What the store holds of a trace, when the followed rows cannot answer. */
typedef struct {
    known_span *spans;
    size_t n;
    bool asked, failed;
} stored;

static int ask_store(health *h, const trace_id_t *tid, stored *st)
{
    st->asked = true;
    if (!h->lookup)
        return 0;
    model_batch mb;
    model_batch_init(&mb);
    int rc = h->lookup(h->lookup_ud, tid, &mb);
    if (!rc && mb.nspans) {
        st->spans = malloc(mb.nspans * sizeof *st->spans);
        if (!st->spans) {
            rc = BRAID_ENOMEM;
        } else {
            pthread_mutex_lock(&h->mu);
            for (size_t i = 0; i < mb.nspans; i++) {
                memcpy(&st->spans[i].span, mb.spans[i].span_id.b, 8);
                st->spans[i].svc =
                    health_str(h, mb.spans[i].origin ? mb.spans[i].origin->service : (bslice){0});
            }
            pthread_mutex_unlock(&h->mu);
            st->n = mb.nspans;
            qsort(st->spans, st->n, sizeof *st->spans, cmp_known);
        }
    }
    model_batch_free(&mb);
    if (rc)
        st->failed = true;
    return rc;
}

/* Judges one trace taken out of the tracker; takes ownership of e's arrays. */
static int judge(health *h, tentry *e, double w)
{
    int rc = 0;
    known_span *own = NULL;
    if (e->nspans) {
        own = malloc(e->nspans * sizeof *own);
        if (!own)
            rc = BRAID_ENOMEM;
        for (uint32_t i = 0; own && i < e->nspans; i++)
            own[i] = (known_span){.span = e->spans[i].span, .svc = e->spans[i].svc};
        if (own)
            qsort(own, e->nspans, sizeof *own, cmp_known);
    }
    stored st = {0};
    if (e->nlogs && !e->nspans) {
        int r = ask_store(h, &e->tid, &st);
        if (r && !rc)
            rc = r;
    }
    /* Parents not among the followed spans may have been stored earlier. */
    for (uint32_t i = 0; own && i < e->nspans; i++) {
        const tspan *s = &e->spans[i];
        if (s->parent && !find_known(own, e->nspans, s->parent) && !st.asked) {
            int r = ask_store(h, &e->tid, &st);
            if (r && !rc)
                rc = r;
        }
    }
    pthread_mutex_lock(&h->mu);
    bool has_spans = e->nspans > 0 || st.n > 0;
    for (uint32_t i = 0; i < e->nlogs; i++) {
        const tlog *l = &e->logs[i];
        hbucket *b = health_bucket(h, l->svc, l->minute);
        if (!b)
            continue;
        b->traces += w;
        if (has_spans || st.failed) {
            b->linked += w;
        } else if (l->form == ID_FORM_DECIMAL || l->form == ID_FORM_HEX16) {
            b->truncated += w;
            health_example(h, l->svc, EX_TRUNCATED, 0, &e->tid, l->minute);
        } else if (l->state == TLOG_UNSAMPLED) {
            b->sampled_out += w;
            health_example(h, l->svc, EX_SAMPLED_OUT, 0, &e->tid, l->minute);
        } else {
            b->lost += w;
            health_example(h, l->svc, EX_LOST, 0, &e->tid, l->minute);
        }
    }
    for (uint32_t i = 0; own && i < e->nspans; i++) {
        const tspan *s = &e->spans[i];
        if (!s->parent)
            continue;
        const known_span *p = find_known(own, e->nspans, s->parent);
        if (!p && st.n)
            p = find_known(st.spans, st.n, s->parent);
        if (p) {
            if (p->svc != s->svc)
                edge_add(h, p->svc, s->svc, s->minute, w);
        } else if (!st.failed) {
            hbucket *b = health_bucket(h, s->svc, s->minute);
            if (b)
                b->missing_parent += w;
            health_example(h, s->svc, EX_MISSING_PARENT, 0, &e->tid, s->minute);
        }
    }
    pthread_mutex_unlock(&h->mu);
    free(own);
    free(st.spans);
    free(e->spans);
    free(e->logs);
    return rc;
}

static void retention(health *h, uint64_t now_ns)
{
    uint64_t keep = now_ns > h->o.retention_ns ? now_ns - h->o.retention_ns : 0;
    uint32_t min_minute = minute_of(keep);
    for (size_t i = 0; i < h->nb;) {
        if (h->b[i].minute >= min_minute) {
            i++;
            continue;
        }
        hkey k = {{h->b[i].svc, h->b[i].minute, 0, 0}};
        hmap_del(&h->bmap, &k);
        if (i + 1 < h->nb) {
            h->b[i] = h->b[h->nb - 1];
            hkey mk = {{h->b[i].svc, h->b[i].minute, 0, 0}};
            hmap_put(&h->bmap, &mk, (uint32_t)i);
        }
        h->nb--;
    }
#define DROP_OLD(arr, n, map, minute_expr)                                                         \
    for (size_t i = 0; i < (n);) {                                                                 \
        if ((minute_expr) >= min_minute) {                                                         \
            i++;                                                                                   \
            continue;                                                                              \
        }                                                                                          \
        hmap_del(&(map), &(arr)[i].key);                                                           \
        if (i + 1 < (n)) {                                                                         \
            (arr)[i] = (arr)[(n)-1];                                                               \
            hmap_put(&(map), &(arr)[i].key, (uint32_t)i);                                          \
        }                                                                                          \
        (n)--;                                                                                     \
    }
    DROP_OLD(h->idf, h->nidf, h->idfmap, h->idf[i].key.k[1])
    DROP_OLD(h->edges, h->nedges, h->edgemap, h->edges[i].key.k[2])
    DROP_OLD(h->card, h->ncard, h->cardmap, (uint64_t)h->card[i].key.k[3] * 60)
#undef DROP_OLD
}

int health_tick(health *h, uint64_t now_ns)
{
    pthread_mutex_lock(&h->mu);
    tentry *due = NULL;
    size_t ndue = 0, capdue = 0;
    for (size_t i = 0; i < h->nt; i++) {
        tentry *e = &h->t[i];
        if (!e->used || e->last_ns + h->o.grace_ns > now_ns)
            continue;
        if (health_vgrow((void **)&due, &capdue, ndue, sizeof *due))
            break;
        due[ndue++] = *e;
        e->spans = NULL; /* now owned by due */
        e->logs = NULL;
        e->nspans = e->nlogs = 0;
        h->tspans -= due[ndue - 1].nspans;
        tentry_release(h, (uint32_t)i);
    }
    double w = (double)HEALTH_SAMPLE_ONE / (double)h->sample;
    if (now_ns - h->last_retention_ns >= HEALTH_NS_PER_MIN) {
        h->last_retention_ns = now_ns;
        retention(h, now_ns);
    }
    pthread_mutex_unlock(&h->mu);
    int rc = 0;
    for (size_t i = 0; i < ndue; i++) {
        int r = judge(h, &due[i], w);
        if (r && !rc)
            rc = r;
    }
    free(due);
    return rc;
}

/* ---- thread ---- */
static void *tick_main(void *arg)
{
    health *h = arg;
    pthread_setname_np(pthread_self(), "braid-health");
    pthread_mutex_lock(&h->stop_mu);
    while (!h->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&h->stop_cv, &h->stop_mu, &ts);
        if (h->stop)
            break;
        pthread_mutex_unlock(&h->stop_mu);
        int rc = health_tick(h, h->o.now());
        if (rc)
            LOG_WARN("health: judging traces: %s", braid_strerror(rc));
        pthread_mutex_lock(&h->stop_mu);
    }
    pthread_mutex_unlock(&h->stop_mu);
    return NULL;
}

int health_start(health *h)
{
    if (h->started)
        return 0;
    h->stop = false;
    if (pthread_create(&h->thread, NULL, tick_main, h) != 0)
        return BRAID_ENOMEM;
    h->started = true;
    return 0;
}

void health_stop(health *h)
{
    if (!h || !h->started)
        return;
    pthread_mutex_lock(&h->stop_mu);
    h->stop = true;
    pthread_cond_broadcast(&h->stop_cv);
    pthread_mutex_unlock(&h->stop_mu);
    pthread_join(h->thread, NULL);
    h->started = false;
}

/* ---- life cycle ---- */
static int obs_load(void *ud, bslice saved, uint64_t *covered)
{
    health *h = ud;
    int rc = health_load(h, saved);
    pthread_mutex_lock(&h->mu);
    *covered = h->seq;
    pthread_mutex_unlock(&h->mu);
    return rc;
}

static int obs_save(void *ud, buf *out, uint64_t *covered)
{
    health *h = ud;
    pthread_mutex_lock(&h->mu);
    *covered = h->seq;
    pthread_mutex_unlock(&h->mu);
    return health_save(h, out);
}

int health_new(const health_opts *o, health **out)
{
    *out = NULL;
    health *h = calloc(1, sizeof *h);
    if (!h)
        return BRAID_ENOMEM;
    if (o)
        h->o = *o;
    else
        health_opts_default(&h->o);
    if (!h->o.now)
        h->o.now = now_unix_ns;
    if (!h->o.max_traces)
        h->o.max_traces = 65536;
    if (!h->o.max_spans)
        h->o.max_spans = 262144;
    h->sample = HEALTH_SAMPLE_ONE;
    h->obs = (store_observer){.ud = h, .load = obs_load, .observe = obs_observe, .save = obs_save};
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->stop_mu, NULL);
    pthread_cond_init(&h->stop_cv, NULL);
    *out = h;
    return 0;
}

const store_observer *health_observer(health *h)
{
    return &h->obs;
}

void health_set_lookup(health *h, health_lookup_fn fn, void *ud)
{
    h->lookup = fn;
    h->lookup_ud = ud;
}

/* Frees the state (not the locks, the options or the observer). */
void health_clear(health *h)
{
    for (size_t i = 0; i < h->nstrs; i++)
        free((void *)h->strs[i].p);
    free(h->strs);
    for (size_t i = 0; i < h->nt; i++) {
        free(h->t[i].spans);
        free(h->t[i].logs);
    }
    free(h->t);
    free(h->tfree);
    free(h->b);
    free(h->idf);
    free(h->edges);
    free(h->card);
    free(h->ex);
    hmap_free(&h->strmap);
    hmap_free(&h->bmap);
    hmap_free(&h->idfmap);
    hmap_free(&h->edgemap);
    hmap_free(&h->cardmap);
    hmap_free(&h->exmap);
    hmap_free(&h->tmap);
    h->strs = NULL;
    h->nstrs = h->capstrs = 0;
    h->t = NULL;
    h->nt = h->capt = h->tlive = h->tspans = 0;
    h->tfree = NULL;
    h->ntfree = h->captfree = 0;
    h->b = NULL;
    h->nb = h->capb = 0;
    h->idf = NULL;
    h->nidf = h->capidf = 0;
    h->edges = NULL;
    h->nedges = h->capedges = 0;
    h->card = NULL;
    h->ncard = h->capcard = 0;
    h->ex = NULL;
    h->nex = h->capex = 0;
    h->sample = HEALTH_SAMPLE_ONE;
    h->seq = 0;
}

void health_free(health *h)
{
    if (!h)
        return;
    health_stop(h);
    health_clear(h);
    pthread_mutex_destroy(&h->mu);
    pthread_mutex_destroy(&h->stop_mu);
    pthread_cond_destroy(&h->stop_cv);
    free(h);
}

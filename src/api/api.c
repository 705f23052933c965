/* api: routing and handlers of the native query API, health endpoints and
 * /metrics. Each handler validates its parameters (400 with a message naming
 * the parameter), reads the store, and renders JSON. Owns the query latency
 * histogram and the list of /metrics contributors; never writes the store. */
#include "api_internal.h"

#include "../net/http1.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define API_MAX_METRICS 8
#define LAT_BUCKETS 12
static const double lat_bounds_s[LAT_BUCKETS] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                 0.05,   0.1,   0.25,  0.5,   1,    5};

struct api {
    store *s;
    health *h;
    api_metrics_fn mfn[API_MAX_METRICS];
    void *mud[API_MAX_METRICS];
    int nm;
    atomic_bool ready;
    atomic_uint_fast64_t lat_bucket[LAT_BUCKETS + 1];
    atomic_uint_fast64_t lat_count, lat_sum_ns;
};

void api_response_free(api_response *r)
{
    buf_free(&r->body);
}

int api_create(store *s, api **out)
{
    api *a = calloc(1, sizeof *a);
    if (!a)
        return BRAID_ENOMEM;
    a->s = s;
    *out = a;
    return 0;
}

void api_free(api *a)
{
    free(a);
}

int api_add_metrics_source(api *a, api_metrics_fn fn, void *ud)
{
    if (a->nm == API_MAX_METRICS)
        return BRAID_ETOOBIG;
    a->mfn[a->nm] = fn;
    a->mud[a->nm++] = ud;
    return 0;
}

store *api_store(api *a)
{
    return a->s;
}

void api_set_ready(api *a, bool ready)
{
    atomic_store(&a->ready, ready);
}

/* ---- responses ---- */
void respond_json(api_response *r, int status)
{
    r->status = status;
    r->content_type = "application/json";
}

void respond_error(api_response *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    buf_reset(&r->body);
    buf_puts(&r->body, "{\"error\":");
    json_put_str(&r->body, bslice_cstr(msg));
    buf_putc(&r->body, '}');
    respond_json(r, status);
}

/* ---- query parameters ---- */
/* Decoded value of query parameter `name` (NUL-terminated) into out. Returns
 * 1 found, 0 absent, BRAID_EINVAL malformed escape, BRAID_ETOOBIG too long. */
static int qget(bslice q, const char *name, char *out, size_t cap)
{
    size_t n;
    int rc = http1_query_get(q, name, (uint8_t *)out, cap - 1, &n);
    if (rc == BRAID_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    out[n] = 0;
    return 1;
}

/* Reads a string parameter; on a malformed value answers 400 and marks failed. */
bool p_str(params *p, const char *name, char *out, size_t cap)
{
    out[0] = 0;
    if (p->failed)
        return false;
    int rc = qget(p->q, name, out, cap);
    if (rc < 0) {
        respond_error(p->r, 400, "parameter %s: %s", name,
                      rc == BRAID_ETOOBIG ? "value too long" : "malformed percent-escape");
        p->failed = true;
        return false;
    }
    return rc == 1 && out[0];
}

bool p_time(params *p, const char *name, uint64_t *out)
{
    char v[80];
    if (!p_str(p, name, v, sizeof v))
        return false;
    if (api_parse_time(bslice_cstr(v), p->now, out)) {
        respond_error(p->r, 400,
                      "parameter %s: \"%s\" is not a time (use Unix seconds, RFC 3339, or a "
                      "relative duration like 15m)",
                      name, v);
        p->failed = true;
        return false;
    }
    return true;
}

bool p_uint(params *p, const char *name, uint64_t max, uint64_t *out)
{
    char v[32];
    if (!p_str(p, name, v, sizeof v))
        return false;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end || v[0] == '-' || x > max) {
        respond_error(p->r, 400, "parameter %s: \"%s\" is not a whole number from 0 to %llu", name,
                      v, (unsigned long long)max);
        p->failed = true;
        return false;
    }
    *out = x;
    return true;
}

bool p_duration(params *p, const char *name, uint64_t *out)
{
    char v[32];
    if (!p_str(p, name, v, sizeof v))
        return false;
    if (parse_duration_ns(v, out)) {
        respond_error(p->r, 400, "parameter %s: \"%s\" is not a duration (like 250ms or 2s)", name,
                      v);
        p->failed = true;
        return false;
    }
    return true;
}

/* The time window of a query: [start, end], default the last hour. */
bool p_window(params *p, uint64_t *start, uint64_t *end)
{
    *end = p->now;
    p_time(p, "end", end);
    *start = *end > 3600000000000ull ? *end - 3600000000000ull : 0;
    p_time(p, "start", start);
    if (p->failed)
        return false;
    if (*start > *end) {
        respond_error(p->r, 400, "parameter start is after end");
        p->failed = true;
        return false;
    }
    return true;
}

/* Severity "at least": a number 1..24 or a name. Returns 0 when unknown. */
static int severity_from_name(bslice s)
{
    static const struct {
        const char *name;
        int num;
    } names[] = {{"trace", 1},  {"debug", 5},     {"info", 9},   {"information", 9},
                 {"warn", 13},  {"warning", 13},  {"error", 17}, {"err", 17},
                 {"fatal", 21}, {"critical", 21}, {"crit", 21},  {"panic", 21}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (bslice_eq_nocase(s, names[i].name))
            return names[i].num;
    return 0;
}

static int log_severity(const model_log *l)
{
    if (l->severity_number > 0)
        return l->severity_number;
    return severity_from_name(l->severity_text);
}

/* ---- hash set of trace ids (open addressing) ---- */
typedef struct {
    trace_id_t id;
    bool used;
    bool has_root;
    uint64_t start, end, root_start;
    uint32_t spans, errors;
    bool service_match;
    bslice root_service, root_name; /* copied into the summary arena */
} trace_sum;

typedef struct {
    trace_sum *slots;
    size_t cap, n;
    arena ar;
    int err;
} trace_map;

static uint64_t tid_hash(const trace_id_t *t)
{
    uint64_t a = rd_u64le(t->b), b = rd_u64le(t->b + 8);
    uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
    return h ^ (h >> 29);
}

static trace_sum *tmap_get(trace_map *m, const trace_id_t *t)
{
    if (m->n * 2 >= m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 1024;
        trace_sum *ns = calloc(nc, sizeof *ns);
        if (!ns) {
            m->err = BRAID_ENOMEM;
            return NULL;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].used)
                continue;
            size_t j = tid_hash(&m->slots[i].id) & (nc - 1);
            while (ns[j].used)
                j = (j + 1) & (nc - 1);
            ns[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = ns;
        m->cap = nc;
    }
    size_t j = tid_hash(t) & (m->cap - 1);
    while (m->slots[j].used) {
        if (memcmp(m->slots[j].id.b, t->b, 16) == 0)
            return &m->slots[j];
        j = (j + 1) & (m->cap - 1);
    }
    trace_sum *s = &m->slots[j];
    s->used = true;
    s->id = *t;
    s->start = UINT64_MAX;
    m->n++;
    return s;
}

/* ---- GET /api/v1/traces/{id} ---- */
static void handle_trace(api *a, bslice id, params *p)
{
    api_response *r = p->r;
    trace_id_t tid;
    int rc = trace_id_parse_api(id, &tid);
    if (rc == BRAID_EINVAL) {
        respond_error(r, 400,
                      "malformed trace id \"%.*s\": expected 32 or 16 hex digits, a W3C "
                      "traceparent, or a decimal 64-bit id",
                      (int)(id.n > 80 ? 80 : id.n), (const char *)id.p);
        return;
    }
    if (rc == BRAID_ENOTFOUND) {
        respond_error(r, 404, "trace id is all zeros: no trace is stored under it");
        return;
    }
    uint64_t start = 0, end = UINT64_MAX;
    p_time(p, "start", &start);
    p_time(p, "end", &end);
    if (p->failed)
        return;
    model_batch b;
    model_batch_init(&b);
    rc = store_trace(a->s, &tid, &b);
    char hex[33];
    trace_id_hex(&tid, hex);
    if (rc) {
        model_batch_free(&b);
        respond_error(r, 500, "trace lookup failed: %s", braid_strerror(rc));
        return;
    }
    buf *o = &r->body;
    buf_printf(o, "{\"trace_id\":\"%s\",\"spans\":[", hex);
    size_t shown = 0;
    for (size_t i = 0; i < b.nspans; i++) {
        if (b.spans[i].start_ns < start || b.spans[i].start_ns > end)
            continue;
        if (shown++)
            buf_putc(o, ',');
        api_json_span(o, &b.spans[i]);
    }
    buf_puts(o, "],\"logs\":[");
    size_t nl = 0;
    for (size_t i = 0; i < b.nlogs; i++) {
        if (b.logs[i].time_ns < start || b.logs[i].time_ns > end)
            continue;
        if (nl++)
            buf_putc(o, ',');
        api_json_log(o, &b.logs[i]);
    }
    buf_puts(o, "],\"exemplars\":[");
    size_t ne = 0;
    for (size_t i = 0; i < b.nexemplars; i++) {
        if (b.exemplars[i].time_ns < start || b.exemplars[i].time_ns > end)
            continue;
        if (ne++)
            buf_putc(o, ',');
        api_json_exemplar(o, &b.exemplars[i]);
    }
    buf_puts(o, "]}");
    model_batch_free(&b);
    if (shown + nl + ne == 0) {
        respond_error(r, 404, "trace %s not found", hex);
        return;
    }
    respond_json(r, o->err ? 500 : 200);
}

/* ---- GET /api/v1/traces ---- */
typedef struct {
    trace_map m;
    bslice service;
} search_ctx;

static int search_cb(const void *row, void *ud)
{
    search_ctx *c = ud;
    const model_span *s = row;
    trace_sum *t = tmap_get(&c->m, &s->trace_id);
    if (!t)
        return 1;
    t->spans++;
    if (s->status_code == 2)
        t->errors++;
    if (s->start_ns < t->start)
        t->start = s->start_ns;
    if (s->end_ns > t->end)
        t->end = s->end_ns;
    bslice svc = s->origin ? s->origin->service : (bslice){NULL, 0};
    if (c->service.n == 0 || bslice_eq(svc, c->service))
        t->service_match = true;
    bool root = span_id_is_zero(&s->parent_span_id);
    if (!t->has_root || (root && s->start_ns <= t->root_start) || (!root && t->root_name.n == 0)) {
        if (root || !t->has_root) {
            void *n = arena_dup(&c->m.ar, s->name.p, s->name.n);
            void *v = arena_dup(&c->m.ar, svc.p, svc.n);
            if (!n || !v) {
                c->m.err = BRAID_ENOMEM;
                return 1;
            }
            t->root_name = (bslice){n, s->name.n};
            t->root_service = (bslice){v, svc.n};
            t->root_start = s->start_ns;
            t->has_root = root;
        }
    }
    return 0;
}

static int sum_cmp_newest(const void *a, const void *b)
{
    const trace_sum *x = *(trace_sum *const *)a, *y = *(trace_sum *const *)b;
    return x->start < y->start ? 1 : x->start > y->start ? -1 : 0;
}

static void handle_trace_search(api *a, params *p)
{
    uint64_t start, end, min_dur = 0, limit = 20;
    char service[256], status[16];
    if (!p_window(p, &start, &end))
        return;
    p_str(p, "service", service, sizeof service);
    p_str(p, "status", status, sizeof status);
    p_duration(p, "min_duration", &min_dur);
    p_uint(p, "limit", 10000, &limit);
    if (p->failed)
        return;
    bool only_errors = false;
    if (status[0]) {
        if (strcmp(status, "error") == 0)
            only_errors = true;
        else if (strcmp(status, "any") != 0) {
            respond_error(p->r, 400, "parameter status: \"%s\" is not one of error, any", status);
            return;
        }
    }
    search_ctx c;
    memset(&c, 0, sizeof c);
    arena_init(&c.m.ar);
    c.service = bslice_cstr(service);
    int rc = store_scan(a->s, SIGNAL_SPANS, start, end, search_cb, &c);
    if (rc || c.m.err) {
        respond_error(p->r, 500, "trace search failed: %s", braid_strerror(rc ? rc : c.m.err));
        goto out;
    }
    trace_sum **hits = malloc((c.m.n ? c.m.n : 1) * sizeof *hits);
    if (!hits) {
        respond_error(p->r, 500, "out of memory");
        goto out;
    }
    size_t nh = 0;
    for (size_t i = 0; i < c.m.cap; i++) {
        trace_sum *t = &c.m.slots[i];
        if (!t->used || !t->service_match || (only_errors && t->errors == 0) ||
            t->end - t->start < min_dur)
            continue;
        hits[nh++] = t;
    }
    qsort(hits, nh, sizeof *hits, sum_cmp_newest);
    if (nh > limit)
        nh = limit;
    buf *o = &p->r->body;
    buf_puts(o, "{\"traces\":[");
    for (size_t i = 0; i < nh; i++) {
        trace_sum *t = hits[i];
        model_batch tb;
        model_batch_init(&tb);
        size_t logs = 0;
        if (store_trace(a->s, &t->id, &tb) == 0)
            logs = tb.nlogs;
        model_batch_free(&tb);
        char hex[33];
        trace_id_hex(&t->id, hex);
        buf_printf(o, "%s{\"trace_id\":\"%s\",\"root_service\":", i ? "," : "", hex);
        json_put_str(o, t->root_service);
        buf_puts(o, ",\"root_name\":");
        json_put_str(o, t->root_name);
        buf_printf(o,
                   ",\"start_unix_nano\":\"%llu\",\"duration_ns\":\"%llu\",\"span_count\":%u,"
                   "\"error_count\":%u,\"log_count\":%zu,\"has_root\":%s}",
                   (unsigned long long)t->start, (unsigned long long)(t->end - t->start), t->spans,
                   t->errors, logs, t->has_root ? "true" : "false");
    }
    buf_puts(o, "]}");
    free(hits);
    respond_json(p->r, o->err ? 500 : 200);
out:
    free(c.m.slots);
    arena_free(&c.m.ar);
}

/* ---- GET /api/v1/logs ---- */
typedef struct {
    bool has_trace, has_span;
    trace_id_t trace;
    span_id_t span;
    bslice service, q;
    int min_sev;
} log_filter;

static bool body_contains(const model_log *l, bslice q, buf *tmp)
{
    if (q.n == 0)
        return true;
    bslice s;
    if (!av_as_str(l->body, &s)) {
        buf_reset(tmp);
        av_value_to_json(tmp, l->body);
        s = (bslice){tmp->p, tmp->n};
    }
    if (s.n < q.n)
        return false;
    return memmem(s.p, s.n, q.p, q.n) != NULL;
}

static bool log_match(const log_filter *f, const model_log *l, buf *tmp)
{
    if (f->has_trace && memcmp(l->trace_id.b, f->trace.b, 16) != 0)
        return false;
    if (f->has_span && memcmp(l->span_id.b, f->span.b, 8) != 0)
        return false;
    if (f->service.n && !bslice_eq(l->origin ? l->origin->service : (bslice){NULL, 0}, f->service))
        return false;
    if (f->min_sev && log_severity(l) < f->min_sev)
        return false;
    return body_contains(l, f->q, tmp);
}

/* Newest-first selection in two passes with bounded memory: a min-heap of the
 * `limit` newest matching times finds the cut-off, then rows at or above it
 * are collected. */
typedef struct {
    const log_filter *f;
    uint64_t *heap;
    size_t n, limit;
    buf tmp;
    /* second pass */
    uint64_t cut;
    size_t above; /* rows strictly newer than cut still allowed */
    size_t at_cut;
    model_batch *out;
    int err;
} logs_ctx;

static void heap_push(uint64_t *h, size_t *n, size_t limit, uint64_t v)
{
    if (*n < limit) {
        size_t i = (*n)++;
        h[i] = v;
        while (i && h[(i - 1) / 2] > h[i]) {
            uint64_t t = h[i];
            h[i] = h[(i - 1) / 2];
            h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
        return;
    }
    if (v <= h[0])
        return;
    h[0] = v;
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && h[l] < h[m])
            m = l;
        if (r < *n && h[r] < h[m])
            m = r;
        if (m == i)
            break;
        uint64_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int logs_pass1(const void *row, void *ud)
{
    logs_ctx *c = ud;
    const model_log *l = row;
    if (log_match(c->f, l, &c->tmp))
        heap_push(c->heap, &c->n, c->limit, l->time_ns);
    return 0;
}

static int copy_log(model_batch *out, const model_log *l)
{
    model_log *d = model_batch_add_log(out);
    model_origin *o = model_batch_add_origin(out);
    if (!d || !o)
        return BRAID_ENOMEM;
    *d = *l;
    if (l->origin)
        *o = *l->origin;
    d->origin = o;
    bslice *fields[] = {
        &o->service,       &o->resource_attrs, &o->resource_schema_url, &o->scope_name,
        &o->scope_version, &o->scope_attrs,    &o->scope_schema_url,    &d->severity_text,
        &d->body,          &d->attrs,          &d->event_name,          &d->source,
        &d->id_field};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (model_batch_keep(out, fields[i]->p, fields[i]->n, fields[i]))
            return BRAID_ENOMEM;
    return 0;
}

static int logs_pass2(const void *row, void *ud)
{
    logs_ctx *c = ud;
    const model_log *l = row;
    if (l->time_ns < c->cut || c->out->nlogs >= c->limit)
        return 0;
    if (l->time_ns == c->cut) {
        if (c->at_cut == 0)
            return 0;
    }
    if (!log_match(c->f, l, &c->tmp))
        return 0;
    if (l->time_ns == c->cut)
        c->at_cut--;
    if (copy_log(c->out, l)) {
        c->err = BRAID_ENOMEM;
        return 1;
    }
    return 0;
}

static int log_cmp_newest(const void *a, const void *b)
{
    const model_log *x = a, *y = b;
    return x->time_ns < y->time_ns ? 1 : x->time_ns > y->time_ns ? -1 : 0;
}

static void handle_logs(api *a, params *p)
{
    char tid[80], sid[40], service[256], sev[32], q[1024];
    uint64_t start, end, limit = 100;
    log_filter f;
    memset(&f, 0, sizeof f);
    char probe[80];
    bool windowed = qget(p->q, "start", probe, sizeof probe) == 1 ||
                    qget(p->q, "end", probe, sizeof probe) == 1;
    if (!p_window(p, &start, &end))
        return;
    if (p_str(p, "trace_id", tid, sizeof tid)) {
        if (trace_id_parse_api(bslice_cstr(tid), &f.trace) == BRAID_EINVAL) {
            respond_error(p->r, 400, "parameter trace_id: \"%s\" is not a trace id", tid);
            return;
        }
        f.has_trace = true;
    }
    if (p_str(p, "span_id", sid, sizeof sid)) {
        if (!span_id_parse(bslice_cstr(sid), &f.span, NULL)) {
            respond_error(p->r, 400, "parameter span_id: \"%s\" is not a span id", sid);
            return;
        }
        f.has_span = true;
    }
    if (p_str(p, "service", service, sizeof service))
        f.service = bslice_cstr(service);
    if (p_str(p, "severity", sev, sizeof sev)) {
        char *e;
        long n = strtol(sev, &e, 10);
        f.min_sev = *e == 0 && n >= 1 && n <= 24 ? (int)n : severity_from_name(bslice_cstr(sev));
        if (!f.min_sev) {
            respond_error(p->r, 400,
                          "parameter severity: \"%s\" is not a severity (a number 1-24 or "
                          "trace, debug, info, warn, error, fatal)",
                          sev);
            return;
        }
    }
    if (p_str(p, "q", q, sizeof q))
        f.q = bslice_cstr(q);
    p_uint(p, "limit", 5000, &limit);
    if (p->failed)
        return;
    model_batch out;
    model_batch_init(&out);
    logs_ctx c;
    memset(&c, 0, sizeof c);
    c.f = &f;
    c.limit = limit;
    c.out = &out;
    int rc = 0;
    if (f.has_trace) {
        /* A trace lookup needs no time window unless one was given. */
        model_batch tb;
        model_batch_init(&tb);
        rc = store_trace(a->s, &f.trace, &tb);
        if (!windowed) {
            start = 0;
            end = UINT64_MAX;
        }
        for (size_t i = 0; rc == 0 && i < tb.nlogs; i++) {
            const model_log *l = &tb.logs[i];
            if (l->time_ns >= start && l->time_ns <= end && log_match(&f, l, &c.tmp))
                rc = copy_log(&out, l);
        }
        model_batch_free(&tb);
    } else if (limit > 0) {
        c.heap = malloc(limit * sizeof *c.heap);
        if (!c.heap)
            rc = BRAID_ENOMEM;
        if (!rc)
            rc = store_scan(a->s, SIGNAL_LOGS, start, end, logs_pass1, &c);
        if (!rc && c.n > 0) {
            c.cut = c.heap[0];
            /* Rows exactly at the cut-off may be more than fit; allow only as
             * many as the heap kept. */
            for (size_t i = 0; i < c.n; i++)
                if (c.heap[i] == c.cut)
                    c.at_cut++;
            rc = store_scan(a->s, SIGNAL_LOGS, start, end, logs_pass2, &c);
            if (!rc)
                rc = c.err;
        }
    }
    if (rc) {
        respond_error(p->r, 500, "log query failed: %s", braid_strerror(rc));
    } else {
        if (out.nlogs > 1)
            qsort(out.logs, out.nlogs, sizeof *out.logs, log_cmp_newest);
        size_t n = out.nlogs < limit ? out.nlogs : limit;
        buf *o = &p->r->body;
        buf_puts(o, "{\"logs\":[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_putc(o, ',');
            api_json_log(o, &out.logs[i]);
        }
        buf_puts(o, "]}");
        respond_json(p->r, o->err ? 500 : 200);
    }
    free(c.heap);
    buf_free(&c.tmp);
    model_batch_free(&out);
}

/* ---- GET /api/v1/services ---- */
typedef struct {
    char name[128];
    size_t nlen;
    uint64_t logs, logs_tid, spans, points;
} svc_row;

typedef struct {
    svc_row *rows;
    size_t n, cap;
    int err;
    signal_t sig;
} svc_ctx;

static svc_row *svc_get(svc_ctx *c, bslice name)
{
    if (name.n > sizeof c->rows[0].name - 1)
        name.n = sizeof c->rows[0].name - 1;
    for (size_t i = 0; i < c->n; i++)
        if (c->rows[i].nlen == name.n && memcmp(c->rows[i].name, name.p, name.n) == 0)
            return &c->rows[i];
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        svc_row *r = realloc(c->rows, nc * sizeof *r);
        if (!r) {
            c->err = BRAID_ENOMEM;
            return NULL;
        }
        c->rows = r;
        c->cap = nc;
    }
    svc_row *r = &c->rows[c->n++];
    memset(r, 0, sizeof *r);
    if (name.n)
        memcpy(r->name, name.p, name.n);
    r->nlen = name.n;
    return r;
}

static int svc_cb(const void *row, void *ud)
{
    svc_ctx *c = ud;
    const model_origin *o;
    switch (c->sig) {
    case SIGNAL_LOGS:
        o = ((const model_log *)row)->origin;
        break;
    case SIGNAL_SPANS:
        o = ((const model_span *)row)->origin;
        break;
    default:
        o = ((const model_metric *)row)->origin;
        break;
    }
    svc_row *r = svc_get(c, o ? o->service : (bslice){NULL, 0});
    if (!r)
        return 1;
    if (c->sig == SIGNAL_LOGS) {
        r->logs++;
        if (!trace_id_is_zero(&((const model_log *)row)->trace_id))
            r->logs_tid++;
    } else if (c->sig == SIGNAL_SPANS) {
        r->spans++;
    } else {
        r->points++;
    }
    return 0;
}

static int svc_cmp(const void *a, const void *b)
{
    const svc_row *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static void handle_services(api *a, params *p)
{
    uint64_t start, end;
    if (!p_window(p, &start, &end))
        return;
    svc_ctx c;
    memset(&c, 0, sizeof c);
    signal_t sigs[] = {SIGNAL_LOGS, SIGNAL_SPANS, SIGNAL_METRICS};
    int rc = 0;
    for (int i = 0; i < 3 && !rc && !c.err; i++) {
        c.sig = sigs[i];
        rc = store_scan(a->s, sigs[i], start, end, svc_cb, &c);
    }
    if (rc || c.err) {
        respond_error(p->r, 500, "service query failed: %s", braid_strerror(rc ? rc : c.err));
        free(c.rows);
        return;
    }
    if (c.n > 1)
        qsort(c.rows, c.n, sizeof *c.rows, svc_cmp);
    buf *o = &p->r->body;
    buf_puts(o, "{\"services\":[");
    for (size_t i = 0; i < c.n; i++) {
        svc_row *r = &c.rows[i];
        buf_puts(o, i ? ",{\"name\":" : "{\"name\":");
        json_put_str(o, (bslice){(const uint8_t *)r->name, r->nlen});
        buf_printf(o,
                   ",\"logs\":%llu,\"logs_with_trace_id\":%llu,\"spans\":%llu,"
                   "\"metric_points\":%llu,\"coverage\":",
                   (unsigned long long)r->logs, (unsigned long long)r->logs_tid,
                   (unsigned long long)r->spans, (unsigned long long)r->points);
        if (r->logs)
            buf_printf(o, "%.4f}", (double)r->logs_tid / (double)r->logs);
        else
            buf_puts(o, "null}");
    }
    buf_puts(o, "]}");
    free(c.rows);
    respond_json(p->r, o->err ? 500 : 200);
}

/* ---- /metrics ---- */
static void handle_metrics(api *a, api_response *r)
{
    buf *o = &r->body;
    store_stats st;
    store_get_stats(a->s, &st);
    buf_puts(o, "# HELP braid_store_rows Rows stored, by signal.\n# TYPE braid_store_rows gauge\n");
    for (int i = 0; i < SIGNAL_COUNT; i++)
        buf_printf(o, "braid_store_rows{signal=\"%s\"} %llu\n", signal_name((signal_t)i),
                   (unsigned long long)st.rows[i]);
    buf_puts(o, "# HELP braid_store_parts Immutable parts on disk, by signal.\n"
                "# TYPE braid_store_parts gauge\n");
    for (int i = 0; i < SIGNAL_COUNT; i++)
        buf_printf(o, "braid_store_parts{signal=\"%s\"} %llu\n", signal_name((signal_t)i),
                   (unsigned long long)st.parts[i]);
    buf_puts(o, "# HELP braid_store_part_bytes Bytes on disk in parts, by signal.\n"
                "# TYPE braid_store_part_bytes gauge\n");
    for (int i = 0; i < SIGNAL_COUNT; i++)
        buf_printf(o, "braid_store_part_bytes{signal=\"%s\"} %llu\n", signal_name((signal_t)i),
                   (unsigned long long)st.part_bytes[i]);
    buf_printf(o,
               "# HELP braid_wal_bytes_total Bytes appended to the write-ahead log.\n"
               "# TYPE braid_wal_bytes_total counter\nbraid_wal_bytes_total %llu\n"
               "# HELP braid_wal_fsyncs_total fsync calls on the write-ahead log.\n"
               "# TYPE braid_wal_fsyncs_total counter\nbraid_wal_fsyncs_total %llu\n"
               "# HELP braid_wal_group_commits_total WAL writes that carried more than one "
               "request.\n# TYPE braid_wal_group_commits_total counter\n"
               "braid_wal_group_commits_total %llu\n"
               "# HELP braid_store_flushes_total Memtable flushes to parts.\n"
               "# TYPE braid_store_flushes_total counter\nbraid_store_flushes_total %llu\n"
               "# HELP braid_store_memory_bytes Memory held by memtables and in-flight "
               "appends.\n# TYPE braid_store_memory_bytes gauge\nbraid_store_memory_bytes %llu\n",
               (unsigned long long)st.wal_bytes, (unsigned long long)st.wal_fsyncs,
               (unsigned long long)st.group_commits, (unsigned long long)st.flushes,
               (unsigned long long)st.memory_bytes);
    buf_puts(o, "# HELP braid_query_duration_seconds Query API request latency.\n"
                "# TYPE braid_query_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < LAT_BUCKETS; i++) {
        cum += atomic_load(&a->lat_bucket[i]);
        buf_printf(o, "braid_query_duration_seconds_bucket{le=\"%g\"} %llu\n", lat_bounds_s[i],
                   (unsigned long long)cum);
    }
    cum += atomic_load(&a->lat_bucket[LAT_BUCKETS]);
    buf_printf(o,
               "braid_query_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
               "braid_query_duration_seconds_sum %.9f\nbraid_query_duration_seconds_count %llu\n",
               (unsigned long long)cum, (double)atomic_load(&a->lat_sum_ns) / 1e9,
               (unsigned long long)atomic_load(&a->lat_count));
    for (int i = 0; i < a->nm; i++)
        a->mfn[i](o, a->mud[i]);
    r->status = o->err ? 500 : 200;
    r->content_type = "text/plain; version=0.0.4";
}

static void observe_latency(api *a, uint64_t ns)
{
    double s = (double)ns / 1e9;
    int i = 0;
    while (i < LAT_BUCKETS && s > lat_bounds_s[i])
        i++;
    atomic_fetch_add(&a->lat_bucket[i], 1);
    atomic_fetch_add(&a->lat_count, 1);
    atomic_fetch_add(&a->lat_sum_ns, ns);
}

/* ---- GET /api/v1/correlation ---- */
void api_set_health(api *a, health *h)
{
    a->h = h;
}

static void handle_correlation(api *a, params *p)
{
    if (!a->h) {
        respond_error(p->r, 404,
                      "correlation health is off on this server (braid serve --correlation on)");
        return;
    }
    uint64_t start, end;
    if (!p_window(p, &start, &end))
        return;
    char service[512];
    p_str(p, "service", service, sizeof service);
    if (p->failed)
        return;
    int rc = health_report_json(a->h, start, end, bslice_cstr(service), &p->r->body);
    if (rc) {
        buf_reset(&p->r->body);
        respond_error(p->r, 500, "correlation report failed: %s", braid_strerror(rc));
        return;
    }
    respond_json(p->r, 200);
}

static bool path_is(bslice path, const char *s)
{
    return bslice_eq_cstr(path, s) || (path.n == strlen(s) + 1 && path.p[path.n - 1] == '/' &&
                                       memcmp(path.p, s, path.n - 1) == 0);
}

void api_handle(api *a, bslice method, bslice path, bslice query, api_response *r)
{
    buf_init(&r->body);
    r->status = 500;
    r->content_type = "application/json";
    params p = {r, query, now_unix_ns(), false};
    bool get = bslice_eq_cstr(method, "GET") || bslice_eq_cstr(method, "HEAD");
    static const char trace_prefix[] = "/api/v1/traces/";
    static const char metric_prefix[] = "/api/v1/metrics/";
    uint64_t t0 = now_mono_ns();
    bool known = true;
    if (path_is(path, "/healthz")) {
        buf_puts(&r->body, "{\"status\":\"ok\"}");
        respond_json(r, 200);
    } else if (path_is(path, "/readyz")) {
        bool ready = atomic_load(&a->ready);
        buf_puts(&r->body, ready ? "{\"status\":\"ready\"}" : "{\"status\":\"starting\"}");
        respond_json(r, ready ? 200 : 503);
    } else if (path_is(path, "/metrics")) {
        if (get)
            handle_metrics(a, r);
    } else if (path.n > sizeof trace_prefix - 1 &&
               memcmp(path.p, trace_prefix, sizeof trace_prefix - 1) == 0) {
        if (get)
            handle_trace(
                a, (bslice){path.p + sizeof trace_prefix - 1, path.n - (sizeof trace_prefix - 1)},
                &p);
    } else if (path_is(path, "/api/v1/traces")) {
        if (get)
            handle_trace_search(a, &p);
    } else if (path_is(path, "/api/v1/logs")) {
        if (get)
            handle_logs(a, &p);
    } else if (path_is(path, "/api/v1/services")) {
        if (get)
            handle_services(a, &p);
    } else if (path_is(path, "/api/v1/correlation")) {
        if (get)
            handle_correlation(a, &p);
    } else if (path_is(path, "/api/v1/metrics")) {
        if (get)
            api_handle_metric_list(a, &p);
    } else if (path.n > sizeof metric_prefix - 1 &&
               memcmp(path.p, metric_prefix, sizeof metric_prefix - 1) == 0) {
        if (get) {
            char name[512];
            size_t nl;
            bslice raw = {path.p + sizeof metric_prefix - 1, path.n - (sizeof metric_prefix - 1)};
            if (http1_pct_decode(raw, false, (uint8_t *)name, sizeof name, &nl))
                respond_error(r, 400, "metric name in the path is malformed or too long");
            else
                api_handle_metric_query(a, (bslice){(const uint8_t *)name, nl}, &p);
        }
    } else {
        known = false;
        respond_error(r, 404, "no such endpoint: %.*s (see docs/api.md)",
                      (int)(path.n > 200 ? 200 : path.n), (const char *)path.p);
    }
    if (known && !get) {
        respond_error(r, 405, "method %.*s not allowed here: use GET",
                      (int)(method.n > 16 ? 16 : method.n), (const char *)method.p);
    }
    if (known && get)
        observe_latency(a, now_mono_ns() - t0);
}

/* health/report: turns the per-minute state into the correlation report:
 * per-service sums over a time range, the call edges, the metric labels, and
 * the findings with their counts, examples and the one sentence that says
 * what to change; rendered as the JSON of GET /api/v1/correlation or as
 * Prometheus gauges. Reads the state under its lock; owns nothing after
 * returning. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct {
    uint32_t svc;
    uint64_t logs, logs_tid, spans, with_parent, entry, entry_roots, entry_with_parent;
    double traces, linked, sampled_out, lost, truncated, missing_parent, pending;
} agg;

typedef struct {
    uint32_t svc, field;
    uint8_t form;
    uint64_t count;
} idf_sum;

typedef struct {
    uint32_t caller, callee;
    double calls;
} edge_sum;

typedef struct {
    uint32_t svc, metric, label;
    uint64_t points, idlike;
    uint8_t hll[HEALTH_HLL_REGS];
    uint8_t nex;
    uint8_t exlen[2];
    char ex[2][HEALTH_EX_LEN];
} card_sum;

enum {
    F_COVERAGE,
    F_LOST,
    F_TRUNCATED,
    F_SAMPLED_OUT,
    F_MISSING_PARENT,
    F_LOST_CONTEXT,
    F_CARDINALITY,
    F_DRIFT,
    F_KINDS
};
static const char *const kind_name[F_KINDS] = {
    "coverage",       "dangling_lost", "dangling_truncated", "sampled_out",
    "missing_parent", "lost_context",  "cardinality",        "format_drift"};

typedef struct {
    int kind;
    bool fault;
    uint32_t svc;
    double count, total;
    uint32_t field; /* drift, truncated: field string; UINT32_MAX none */
    uint8_t form;
    const card_sum *card;
    uint32_t caller; /* UINT32_MAX unknown */
    uint64_t distinct;
    char msg[512];
} finding;

typedef struct {
    agg *a;
    size_t na;
    uint32_t *at; /* svc -> index in a, UINT32_MAX none */
    idf_sum *idf;
    size_t nidf, capidf;
    edge_sum *edges;
    size_t nedges, capedges;
    card_sum *card;
    size_t ncard, capcard;
    finding *f;
    size_t nf;
    uint32_t min_minute, max_minute;
    double weight;
} report;

static void report_free(report *r)
{
    free(r->a);
    free(r->at);
    free(r->idf);
    free(r->edges);
    free(r->card);
    free(r->f);
}

static agg *agg_of(health *h, report *r, uint32_t svc)
{
    if (r->at[svc] != UINT32_MAX)
        return &r->a[r->at[svc]];
    size_t cap = r->na; /* grown one at a time: services are few */
    agg *q = realloc(r->a, (cap + 1) * sizeof *q);
    if (!q)
        return NULL;
    r->a = q;
    r->at[svc] = (uint32_t)r->na;
    r->a[r->na] = (agg){.svc = svc};
    (void)h;
    return &r->a[r->na++];
}

static bool in_range(const report *r, uint32_t minute)
{
    return minute >= r->min_minute && minute <= r->max_minute;
}

static const char *form_names[] = {"none",        "hex32",   "hex32_upper", "hex16",
                                   "traceparent", "decimal", "binary"};

const char *health_form_name(uint8_t form)
{
    return form < sizeof form_names / sizeof form_names[0] ? form_names[form] : "unknown";
}

bool health_field_usual(bslice f)
{
    static const char *const usual[] = {"",         "trace_id",    "traceId",    "traceID",
                                        "trace.id", "traceparent", "otelTraceID"};
    for (size_t i = 0; i < sizeof usual / sizeof usual[0]; i++)
        if (bslice_eq_cstr(f, usual[i]))
            return true;
    return false;
}

static bool drift_of(health *h, uint32_t field, uint8_t form)
{
    return !health_field_usual(h->strs[field]) || form == ID_FORM_HEX32_UPPER ||
           form == ID_FORM_HEX16 || form == ID_FORM_DECIMAL;
}

static uint64_t hll_estimate(const uint8_t *reg)
{
    double sum = 0;
    int zeros = 0;
    for (int i = 0; i < HEALTH_HLL_REGS; i++) {
        sum += ldexp(1.0, -reg[i]);
        zeros += reg[i] == 0;
    }
    double m = HEALTH_HLL_REGS;
    double e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (e <= 2.5 * m && zeros)
        e = m * log(m / zeros);
    return (uint64_t)(e + 0.5);
}

/* Sums everything in range into r. Caller holds h->mu. */
static int gather(health *h, report *r, uint64_t start_ns, uint64_t end_ns, uint32_t only)
{
    r->min_minute = (uint32_t)(start_ns / HEALTH_NS_PER_MIN);
    uint64_t mx = end_ns / HEALTH_NS_PER_MIN;
    r->max_minute = mx > UINT32_MAX ? UINT32_MAX : (uint32_t)mx;
    r->weight = (double)HEALTH_SAMPLE_ONE / (double)h->sample;
    r->at = malloc((h->nstrs + 1) * sizeof *r->at);
    if (!r->at)
        return BRAID_ENOMEM;
    memset(r->at, 0xff, (h->nstrs + 1) * sizeof *r->at);
    for (size_t i = 0; i < h->nb; i++) {
        const hbucket *b = &h->b[i];
        if (!in_range(r, b->minute) || (only != UINT32_MAX && b->svc != only))
            continue;
        agg *a = agg_of(h, r, b->svc);
        if (!a)
            return BRAID_ENOMEM;
        a->logs += b->logs;
        a->logs_tid += b->logs_tid;
        a->spans += b->spans;
        a->with_parent += b->with_parent;
        a->entry += b->entry;
        a->entry_roots += b->entry_roots;
        a->entry_with_parent += b->entry_with_parent;
        a->traces += b->traces;
        a->linked += b->linked;
        a->sampled_out += b->sampled_out;
        a->lost += b->lost;
        a->truncated += b->truncated;
        a->missing_parent += b->missing_parent;
    }
    for (size_t i = 0; i < h->nt; i++) {
        const tentry *e = &h->t[i];
        for (uint32_t j = 0; e->used && j < e->nlogs; j++) {
            if (!in_range(r, e->logs[j].minute) || (only != UINT32_MAX && e->logs[j].svc != only))
                continue;
            agg *a = agg_of(h, r, e->logs[j].svc);
            if (!a)
                return BRAID_ENOMEM;
            a->pending += r->weight;
        }
    }
    hmap m = {0};
    for (size_t i = 0; i < h->nidf; i++) {
        const hidf *d = &h->idf[i];
        if (!in_range(r, d->key.k[1]) || (only != UINT32_MAX && d->key.k[0] != only))
            continue;
        hkey k = {{d->key.k[0], d->key.k[2], d->key.k[3], 0}};
        bool created;
        idf_sum *x =
            health_keyed(&m, (void **)&r->idf, &r->nidf, &r->capidf, sizeof *r->idf, &k, &created);
        if (!x) {
            hmap_free(&m);
            return BRAID_ENOMEM;
        }
        *x = (idf_sum){
            .svc = k.k[0], .field = k.k[1], .form = (uint8_t)k.k[2], .count = x->count + d->count};
    }
    hmap_free(&m);
    for (size_t i = 0; i < h->nedges; i++) {
        const hedge *d = &h->edges[i];
        if (!in_range(r, d->key.k[2]) ||
            (only != UINT32_MAX && d->key.k[0] != only && d->key.k[1] != only))
            continue;
        hkey k = {{d->key.k[0], d->key.k[1], 0, 0}};
        bool created;
        edge_sum *x = health_keyed(&m, (void **)&r->edges, &r->nedges, &r->capedges,
                                   sizeof *r->edges, &k, &created);
        if (!x) {
            hmap_free(&m);
            return BRAID_ENOMEM;
        }
        *x = (edge_sum){.caller = k.k[0], .callee = k.k[1], .calls = x->calls + d->calls};
    }
    hmap_free(&m);
    uint32_t min_hour = r->min_minute / 60, max_hour = r->max_minute / 60;
    for (size_t i = 0; i < h->ncard; i++) {
        const hcard *c = &h->card[i];
        if (c->key.k[3] < min_hour || c->key.k[3] > max_hour ||
            (only != UINT32_MAX && c->key.k[0] != only))
            continue;
        hkey k = {{c->key.k[0], c->key.k[1], c->key.k[2], 0}};
        bool created;
        card_sum *s = health_keyed(&m, (void **)&r->card, &r->ncard, &r->capcard, sizeof *r->card,
                                   &k, &created);
        if (!s) {
            hmap_free(&m);
            return BRAID_ENOMEM;
        }
        s->svc = k.k[0];
        s->metric = k.k[1];
        s->label = k.k[2];
        s->points += c->points;
        s->idlike += c->idlike;
        for (int j = 0; j < HEALTH_HLL_REGS; j++)
            if (c->hll[j] > s->hll[j])
                s->hll[j] = c->hll[j];
        for (uint8_t j = 0; j < c->nex && s->nex < 2; j++) {
            memcpy(s->ex[s->nex], c->ex[j], c->exlen[j]);
            s->exlen[s->nex++] = c->exlen[j];
        }
    }
    hmap_free(&m);
    return 0;
}

static finding *add_finding(report *r, int kind, uint32_t svc, double count, double total)
{
    finding *q = realloc(r->f, (r->nf + 1) * sizeof *q);
    if (!q)
        return NULL;
    r->f = q;
    finding *f = &r->f[r->nf++];
    *f = (finding){.kind = kind,
                   .fault = kind != F_SAMPLED_OUT,
                   .svc = svc,
                   .count = count,
                   .total = total,
                   .field = UINT32_MAX,
                   .caller = UINT32_MAX};
    return f;
}

static double pct(double a, double b)
{
    return b > 0 ? 100.0 * a / b : 0;
}

#define SVC(id) ((int)h->strs[id].n), (const char *)h->strs[id].p

static int findings(health *h, report *r)
{
    const health_opts *o = &h->o;
    for (size_t i = 0; i < r->na; i++) {
        const agg *a = &r->a[i];
        finding *f;
        if (a->spans && a->logs && (double)a->logs_tid / (double)a->logs < o->coverage_min) {
            if (!(f = add_finding(r, F_COVERAGE, a->svc, (double)(a->logs - a->logs_tid),
                                  (double)a->logs)))
                return BRAID_ENOMEM;
            snprintf(f->msg, sizeof f->msg,
                     "Inject the active span into log records in %.*s: %.0f of %.0f log lines "
                     "(%.0f%%) carry no trace id, so its logger has no trace context.",
                     SVC(a->svc), f->count, f->total, pct(f->count, f->total));
        }
        double judged = a->traces;
        if (a->lost > 0 && judged > 0 && a->lost / judged > o->lost_max) {
            if (!(f = add_finding(r, F_LOST, a->svc, a->lost, judged)))
                return BRAID_ENOMEM;
            snprintf(f->msg, sizeof f->msg,
                     "Log lines in %.*s point at %.0f traces that were not sampled out yet never "
                     "arrived: check that the spans of these requests reach braid (exporter "
                     "errors, a collector or tail sampler dropping them).",
                     SVC(a->svc), f->count);
        }
        if (a->truncated > 0) {
            if (!(f = add_finding(r, F_TRUNCATED, a->svc, a->truncated, judged)))
                return BRAID_ENOMEM;
            uint64_t best = 0;
            for (size_t j = 0; j < r->nidf; j++) {
                const idf_sum *d = &r->idf[j];
                if (d->svc == a->svc && (d->form == ID_FORM_DECIMAL || d->form == ID_FORM_HEX16) &&
                    d->count > best) {
                    best = d->count;
                    f->field = d->field;
                    f->form = d->form;
                }
            }
            snprintf(f->msg, sizeof f->msg,
                     "%.*s logs carry 64-bit trace ids%s%.*s%s, which cannot join 128-bit "
                     "OpenTelemetry traces: configure its tracer for 128-bit ids and W3C trace "
                     "context.",
                     SVC(a->svc), f->field != UINT32_MAX ? " (" : "",
                     f->field != UINT32_MAX ? (int)h->strs[f->field].n : 0,
                     f->field != UINT32_MAX ? (const char *)h->strs[f->field].p : "",
                     f->field != UINT32_MAX ? ")" : "");
        }
        if (a->sampled_out > 0) {
            if (!(f = add_finding(r, F_SAMPLED_OUT, a->svc, a->sampled_out, judged)))
                return BRAID_ENOMEM;
            snprintf(f->msg, sizeof f->msg,
                     "%.0f%% of the traces that logs of %.*s point at were sampled out by "
                     "their producer; expected with head sampling (keep those traces if you "
                     "need them).",
                     pct(f->count, f->total), SVC(a->svc));
        }
        if (a->with_parent && a->missing_parent / (double)a->with_parent > o->broken_max) {
            if (!(f = add_finding(r, F_MISSING_PARENT, a->svc, a->missing_parent,
                                  (double)a->with_parent)))
                return BRAID_ENOMEM;
            snprintf(f->msg, sizeof f->msg,
                     "%.0f spans in %.*s name a parent span that never arrived: the caller does "
                     "not export its spans, or they are dropped on the way.",
                     f->count, SVC(a->svc));
        }
        bool called = a->entry_with_parent > 0 && a->entry_with_parent >= a->entry_roots;
        if (called && (double)a->entry_roots / (double)a->entry > o->broken_max) {
            if (!(f = add_finding(r, F_LOST_CONTEXT, a->svc, (double)a->entry_roots,
                                  (double)a->entry)))
                return BRAID_ENOMEM;
            double best = 0;
            for (size_t j = 0; j < r->nedges; j++)
                if (r->edges[j].callee == a->svc && r->edges[j].calls > best) {
                    best = r->edges[j].calls;
                    f->caller = r->edges[j].caller;
                }
            if (f->caller != UINT32_MAX)
                snprintf(f->msg, sizeof f->msg,
                         "%.0f server/consumer spans in %.*s started a new trace although %.*s "
                         "usually calls it: propagate the trace context (traceparent) across "
                         "that hop, e.g. in message headers.",
                         f->count, SVC(a->svc), SVC(f->caller));
            else
                snprintf(f->msg, sizeof f->msg,
                         "%.0f server/consumer spans in %.*s started a new trace although it is "
                         "usually called with a parent: propagate the trace context across "
                         "that hop.",
                         f->count, SVC(a->svc));
        }
    }
    for (size_t j = 0; j < r->nidf; j++) {
        const idf_sum *d = &r->idf[j];
        if (!drift_of(h, d->field, d->form))
            continue;
        const agg *a = r->at[d->svc] != UINT32_MAX ? &r->a[r->at[d->svc]] : NULL;
        double total = a ? (double)a->logs_tid : (double)d->count;
        if (total <= 0 || (double)d->count / total <= o->drift_max)
            continue;
        finding *f = add_finding(r, F_DRIFT, d->svc, (double)d->count, total);
        if (!f)
            return BRAID_ENOMEM;
        f->field = d->field;
        f->form = d->form;
        snprintf(f->msg, sizeof f->msg,
                 "%.*s logs carry trace ids under \"%.*s\" in %s form: emit them as 32 "
                 "lower-case hex digits in the OTLP trace id field or under trace_id so every "
                 "tool can join them.",
                 SVC(d->svc), SVC(d->field), health_form_name(d->form));
    }
    for (size_t j = 0; j < r->ncard; j++) {
        const card_sum *c = &r->card[j];
        uint64_t distinct = hll_estimate(c->hll);
        bool ids = c->idlike && c->idlike * 2 >= c->points;
        if (!ids && distinct <= o->cardinality_max)
            continue;
        finding *f = add_finding(r, F_CARDINALITY, c->svc, (double)(ids ? c->idlike : distinct),
                                 (double)c->points);
        if (!f)
            return BRAID_ENOMEM;
        f->card = c;
        f->distinct = distinct;
        if (ids)
            snprintf(f->msg, sizeof f->msg,
                     "Drop the label \"%.*s\" from metric %.*s in %.*s: its values are trace or "
                     "span ids, one series per request; attach the trace id as an exemplar "
                     "instead.",
                     SVC(c->label), SVC(c->metric), SVC(c->svc));
        else
            snprintf(f->msg, sizeof f->msg,
                     "The label \"%.*s\" of metric %.*s in %.*s has about %llu distinct values: "
                     "drop it or bucket its values, each one is a series.",
                     SVC(c->label), SVC(c->metric), SVC(c->svc), (unsigned long long)distinct);
    }
    return 0;
}

static int cmp_finding(const void *pa, const void *pb)
{
    const finding *a = pa, *b = pb;
    if (a->fault != b->fault)
        return a->fault ? -1 : 1;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return a->kind - b->kind;
}

static int build(health *h, report *r, uint64_t start_ns, uint64_t end_ns, bslice service)
{
    uint32_t only = UINT32_MAX;
    r->weight = (double)HEALTH_SAMPLE_ONE / (double)h->sample;
    if (service.n) {
        for (size_t i = 0; i < h->nstrs; i++)
            if (bslice_eq(h->strs[i], service)) {
                only = (uint32_t)i;
                break;
            }
        if (only == UINT32_MAX) {
            r->min_minute = 1;
            r->max_minute = 0;
            return 0; /* an unknown service: an empty report */
        }
    }
    int rc = gather(h, r, start_ns, end_ns, only);
    if (!rc)
        rc = findings(h, r);
    if (!rc && r->nf)
        qsort(r->f, r->nf, sizeof *r->f, cmp_finding);
    return rc;
}

static void put_num(buf *out, double v)
{
    if (v == floor(v) && fabs(v) < 9e15)
        buf_printf(out, "%.0f", v);
    else
        buf_printf(out, "%.6g", v);
}

static void put_ratio(buf *out, double a, double b)
{
    if (b > 0)
        buf_printf(out, "%.4g", a / b);
    else
        buf_puts(out, "null");
}

static void put_examples(health *h, buf *out, uint32_t svc, uint32_t kind, uint32_t field,
                         const report *r)
{
    buf_puts(out, "\"examples\":[");
    hkey k = {{svc, kind, field == UINT32_MAX ? 0 : field, 0}};
    uint32_t i = hmap_get(&h->exmap, &k);
    int n = 0;
    if (i != UINT32_MAX) {
        const hex *e = &h->ex[i];
        for (uint8_t j = 0; j < e->n; j++) {
            if (!in_range(r, e->minute[j]))
                continue;
            char hexs[33];
            trace_id_hex(&e->id[j], hexs);
            buf_printf(out, "%s\"%s\"", n++ ? "," : "", hexs);
        }
    }
    buf_putc(out, ']');
}

static const uint32_t example_kind[F_KINDS] = {[F_COVERAGE] = EX_COVERAGE,
                                               [F_LOST] = EX_LOST,
                                               [F_TRUNCATED] = EX_TRUNCATED,
                                               [F_SAMPLED_OUT] = EX_SAMPLED_OUT,
                                               [F_MISSING_PARENT] = EX_MISSING_PARENT,
                                               [F_LOST_CONTEXT] = EX_ROOT,
                                               [F_DRIFT] = EX_DRIFT,
                                               [F_CARDINALITY] = EX_KINDS};

static void put_finding(health *h, buf *out, const report *r, const finding *f)
{
    buf_printf(out, "{\"kind\":\"%s\",\"severity\":\"%s\",\"service\":", kind_name[f->kind],
               f->fault ? "fault" : "info");
    json_put_str(out, h->strs[f->svc]);
    buf_puts(out, ",\"count\":");
    put_num(out, f->count);
    buf_puts(out, ",\"total\":");
    put_num(out, f->total);
    buf_puts(out, ",\"share\":");
    put_ratio(out, f->count, f->total);
    if (f->field != UINT32_MAX) {
        buf_puts(out, ",\"field\":");
        json_put_str(out, h->strs[f->field]);
        buf_printf(out, ",\"form\":\"%s\"", health_form_name(f->form));
    }
    if (f->caller != UINT32_MAX) {
        buf_puts(out, ",\"caller\":");
        json_put_str(out, h->strs[f->caller]);
    }
    buf_putc(out, ',');
    if (f->card) {
        buf_puts(out, "\"metric\":");
        json_put_str(out, h->strs[f->card->metric]);
        buf_puts(out, ",\"label\":");
        json_put_str(out, h->strs[f->card->label]);
        buf_printf(out, ",\"distinct\":%llu,\"examples\":[", (unsigned long long)f->distinct);
        for (uint8_t j = 0; j < f->card->nex; j++) {
            if (j)
                buf_putc(out, ',');
            json_put_str(out, (bslice){(const uint8_t *)f->card->ex[j], f->card->exlen[j]});
        }
        buf_putc(out, ']');
    } else {
        put_examples(h, out, f->svc, example_kind[f->kind],
                     f->kind == F_DRIFT ? f->field : UINT32_MAX, r);
    }
    buf_puts(out, ",\"message\":");
    json_put_str(out, bslice_cstr(f->msg));
    buf_putc(out, '}');
}

static int cmp_agg_name(const void *pa, const void *pb, void *ud)
{
    health *h = ud;
    bslice a = h->strs[((const agg *)pa)->svc], b = h->strs[((const agg *)pb)->svc];
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    return c ? c : (a.n > b.n) - (a.n < b.n);
}

int health_report_json(health *h, uint64_t start_ns, uint64_t end_ns, bslice service, buf *out)
{
    report r = {0};
    pthread_mutex_lock(&h->mu);
    int rc = build(h, &r, start_ns, end_ns, service);
    if (rc) {
        pthread_mutex_unlock(&h->mu);
        report_free(&r);
        return rc;
    }
    if (r.na > 1) {
        qsort_r(r.a, r.na, sizeof *r.a, cmp_agg_name, h);
        for (size_t i = 0; i < r.na; i++)
            r.at[r.a[i].svc] = (uint32_t)i;
    }
    size_t faults = 0;
    for (size_t i = 0; i < r.nf; i++)
        faults += r.f[i].fault;
    const health_opts *o = &h->o;
    buf_printf(out,
               "{\"start_unix_nano\":\"%llu\",\"end_unix_nano\":\"%llu\",\"grace_seconds\":%llu,"
               "\"sample_rate\":%.6g,\"thresholds\":{\"coverage\":%.6g,\"lost\":%.6g,"
               "\"broken\":%.6g,\"drift\":%.6g,\"cardinality_distinct\":%llu},\"ok\":%s,",
               (unsigned long long)start_ns, (unsigned long long)end_ns,
               (unsigned long long)(o->grace_ns / 1000000000ull), 1.0 / r.weight, o->coverage_min,
               o->lost_max, o->broken_max, o->drift_max, (unsigned long long)o->cardinality_max,
               faults ? "false" : "true");
    buf_puts(out, "\"services\":[");
    for (size_t i = 0; i < r.na; i++) {
        const agg *a = &r.a[i];
        if (i)
            buf_putc(out, ',');
        buf_puts(out, "{\"service\":");
        json_put_str(out, h->strs[a->svc]);
        buf_printf(out, ",\"logs\":%llu,\"logs_with_trace_id\":%llu,\"spans\":%llu,\"coverage\":",
                   (unsigned long long)a->logs, (unsigned long long)a->logs_tid,
                   (unsigned long long)a->spans);
        put_ratio(out, (double)a->logs_tid, (double)a->logs);
        buf_printf(out, ",\"emits_spans\":%s,\"links\":{\"traces\":", a->spans ? "true" : "false");
        put_num(out, a->traces + a->pending);
        const double lv[] = {a->linked, a->sampled_out, a->lost, a->truncated, a->pending};
        const char *ln[] = {"linked", "sampled_out", "lost", "truncated", "pending"};
        for (int j = 0; j < 5; j++) {
            buf_printf(out, ",\"%s\":", ln[j]);
            put_num(out, round(lv[j]));
        }
        buf_printf(out, "},\"spans_detail\":{\"with_parent\":%llu,\"missing_parent\":",
                   (unsigned long long)a->with_parent);
        put_num(out, round(a->missing_parent));
        bool called = a->entry_with_parent > 0 && a->entry_with_parent >= a->entry_roots;
        buf_printf(out,
                   ",\"entry_spans\":%llu,\"entry_roots\":%llu,\"lost_context_roots\":%llu},"
                   "\"id_fields\":[",
                   (unsigned long long)a->entry, (unsigned long long)a->entry_roots,
                   (unsigned long long)(called ? a->entry_roots : 0));
        int n = 0;
        for (size_t j = 0; j < r.nidf; j++) {
            const idf_sum *d = &r.idf[j];
            if (d->svc != a->svc)
                continue;
            buf_puts(out, n++ ? ",{\"field\":" : "{\"field\":");
            json_put_str(out, h->strs[d->field]);
            buf_printf(out, ",\"form\":\"%s\",\"count\":%llu}", health_form_name(d->form),
                       (unsigned long long)d->count);
        }
        buf_puts(out, "]}");
    }
    buf_puts(out, "],\"edges\":[");
    for (size_t i = 0; i < r.nedges; i++) {
        const edge_sum *e = &r.edges[i];
        buf_puts(out, i ? ",{\"caller\":" : "{\"caller\":");
        json_put_str(out, h->strs[e->caller]);
        buf_puts(out, ",\"callee\":");
        json_put_str(out, h->strs[e->callee]);
        buf_puts(out, ",\"calls\":");
        put_num(out, round(e->calls));
        double lost = 0;
        for (size_t j = 0; j < r.nf; j++)
            if (r.f[j].kind == F_LOST_CONTEXT && r.f[j].svc == e->callee &&
                r.f[j].caller == e->caller)
                lost = r.f[j].count;
        buf_puts(out, ",\"lost_context\":");
        put_num(out, lost);
        buf_putc(out, '}');
    }
    buf_puts(out, "],\"findings\":[");
    for (size_t i = 0; i < r.nf; i++) {
        if (i)
            buf_putc(out, ',');
        put_finding(h, out, &r, &r.f[i]);
    }
    buf_puts(out, "]}");
    pthread_mutex_unlock(&h->mu);
    report_free(&r);
    return out->err ? BRAID_ENOMEM : 0;
}

static void put_label(buf *out, bslice v)
{
    for (size_t i = 0; i < v.n; i++) {
        uint8_t c = v.p[i];
        if (c == '\\' || c == '"')
            buf_putc(out, '\\');
        if (c == '\n') {
            buf_puts(out, "\\n");
            continue;
        }
        buf_putc(out, c);
    }
}

void health_metrics(health *h, uint64_t now_ns, buf *out)
{
    report r = {0};
    uint64_t start = now_ns > 3600ull * 1000000000ull ? now_ns - 3600ull * 1000000000ull : 0;
    pthread_mutex_lock(&h->mu);
    if (build(h, &r, start, now_ns, (bslice){0}) == 0) {
        buf_puts(out, "# HELP braid_correlation_coverage_ratio Share of log records with a trace "
                      "id over the last hour, per service.\n"
                      "# TYPE braid_correlation_coverage_ratio gauge\n");
        for (size_t i = 0; i < r.na; i++) {
            if (!r.a[i].logs)
                continue;
            buf_puts(out, "braid_correlation_coverage_ratio{service=\"");
            put_label(out, h->strs[r.a[i].svc]);
            buf_printf(out, "\"} %.6g\n", (double)r.a[i].logs_tid / (double)r.a[i].logs);
        }
        buf_puts(out, "# HELP braid_correlation_dangling_ratio Share of judged log trace ids "
                      "with no stored span over the last hour, per service and cause.\n"
                      "# TYPE braid_correlation_dangling_ratio gauge\n");
        for (size_t i = 0; i < r.na; i++) {
            const agg *a = &r.a[i];
            if (a->traces <= 0)
                continue;
            const char *cause[] = {"lost", "sampled_out", "truncated"};
            const double v[] = {a->lost, a->sampled_out, a->truncated};
            for (int j = 0; j < 3; j++) {
                buf_puts(out, "braid_correlation_dangling_ratio{service=\"");
                put_label(out, h->strs[a->svc]);
                buf_printf(out, "\",cause=\"%s\"} %.6g\n", cause[j], v[j] / a->traces);
            }
        }
        buf_puts(out, "# HELP braid_correlation_findings Correlation findings over the last "
                      "hour, per kind.\n"
                      "# TYPE braid_correlation_findings gauge\n");
        for (int k = 0; k < F_KINDS; k++) {
            size_t n = 0;
            for (size_t i = 0; i < r.nf; i++)
                n += r.f[i].kind == k;
            buf_printf(out, "braid_correlation_findings{kind=\"%s\"} %zu\n", kind_name[k], n);
        }
    }
    pthread_mutex_unlock(&h->mu);
    report_free(&r);
}

void health_metrics_text(buf *out, void *ud)
{
    health *h = ud;
    health_metrics(h, h->o.now(), out);
}

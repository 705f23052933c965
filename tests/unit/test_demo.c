/* test_demo: `braid demo`'s generator (src/demo/demo_gen.c). A fixed seed is
 * generated, encoded and decoded back with braid's own OTLP protobuf decoder,
 * then the shop's structure is checked: the six services, each trace's span
 * tree, exemplars that point at real server spans with their durations, the
 * incident (payment.charge ~940 ms, three resets, the culprit log line), the
 * defects in their stated shares, the cumulative metrics, and clean mode (the
 * same requests with none of the correlation defects). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "demo/demo.h"
#include "otlp/otlp.h"

#include <stdio.h>
#include <stdlib.h>

#define T0 1700000000000000000ull
#define DT 50000000ull /* 20 requests/s */
#define N 1000
#define INC_AT (T0 + 20000000000ull)
#define INC_LEN 20000000000ull

static const char *const SERVICES[] = {"auth",      "checkout",      "frontend",
                                       "inventory", "notifications", "payment"};

/* Every payload of one run, kept alive for the decoded slices. */
typedef struct {
    buf bodies[64];
    int n;
    model_batch spans, logs, metrics;
    demo_stats st;
} run;

static void decode(run *r, otlp_kind k, const buf *body, model_batch *into)
{
    if (!body->n)
        return;
    assert_true(r->n < 64);
    buf *keep = &r->bodies[r->n++];
    buf_init(keep);
    buf_append(keep, body->p, body->n);
    char err[256] = "";
    int rc = otlp_decode_pb(k, keep->p, keep->n, into, err, sizeof err);
    if (rc)
        fail_msg("decode: %s", err);
    assert_int_equal(into->rejected, 0);
}

static void run_generate(run *r, uint64_t seed, bool per_request, bool clean)
{
    memset(r, 0, sizeof *r);
    model_batch_init(&r->spans);
    model_batch_init(&r->logs);
    model_batch_init(&r->metrics);
    demo_opts o = {.seed = seed,
                   .incident_at_ns = INC_AT,
                   .incident_every_ns = 0,
                   .incident_len_ns = INC_LEN,
                   .exemplar_per_request = per_request,
                   .clean = clean};
    demo_gen *g;
    assert_int_equal(demo_gen_create(&o, &g), 0);
    demo_batch b;
    demo_batch_init(&b);
    for (int i = 0; i < N; i += 100) {
        assert_int_equal(demo_gen_requests(g, T0 + (uint64_t)i * DT, DT, 100), 0);
        assert_int_equal(demo_gen_flush(g, T0 + (uint64_t)(i + 100) * DT, true, &b), 0);
        decode(r, OTLP_TRACES, &b.traces, &r->spans);
        decode(r, OTLP_LOGS, &b.logs, &r->logs);
        decode(r, OTLP_METRICS, &b.metrics, &r->metrics);
    }
    demo_gen_stats(g, &r->st);
    demo_batch_free(&b);
    demo_gen_free(g);
}

static void run_free(run *r)
{
    model_batch_free(&r->spans);
    model_batch_free(&r->logs);
    model_batch_free(&r->metrics);
    for (int i = 0; i < r->n; i++)
        buf_free(&r->bodies[i]);
}

/* ---- helpers over decoded rows ---- */
static bool svc_is(const model_origin *o, const char *name)
{
    return bslice_eq_cstr(o->service, name);
}

static int idcmp(const model_span *a, const trace_id_t *t, const span_id_t *s)
{
    int c = memcmp(a->trace_id.b, t->b, 16);
    return c ? c : memcmp(a->span_id.b, s->b, 8);
}

static int span_sort(const void *x, const void *y)
{
    const model_span *a = *(const model_span *const *)x, *b = *(const model_span *const *)y;
    return idcmp(a, &b->trace_id, &b->span_id);
}

typedef struct {
    model_span **v;
    size_t n;
} span_index;

static void index_build(span_index *ix, model_batch *b)
{
    ix->n = b->nspans;
    ix->v = malloc(ix->n * sizeof *ix->v);
    assert_non_null(ix->v);
    for (size_t i = 0; i < ix->n; i++)
        ix->v[i] = &b->spans[i];
    qsort(ix->v, ix->n, sizeof *ix->v, span_sort);
}

static model_span *index_find(const span_index *ix, const trace_id_t *t, const span_id_t *s)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = idcmp(ix->v[mid], t, s);
        if (c == 0)
            return ix->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Whether any span of the run belongs to trace t. */
static bool index_has_trace(const span_index *ix, const trace_id_t *t)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp(ix->v[mid]->trace_id.b, t->b, 16);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static bool attr_str(bslice attrs, const char *key, const char *want)
{
    bslice v, s;
    return av_find(attrs, key, &v) == 1 && av_as_str(v, &s) == 1 && bslice_eq_cstr(s, want);
}

static int64_t attr_int(bslice attrs, const char *key)
{
    bslice v;
    if (av_find(attrs, key, &v) != 1 || v.n != 9 || v.p[0] != AV_INT)
        return INT64_MIN;
    return (int64_t)rd_u64le(v.p + 1);
}

static bool body_is(const model_log *l, const char *want)
{
    bslice s;
    return av_as_str(l->body, &s) == 1 && bslice_eq_cstr(s, want);
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* ---- tests ---- */
static void test_reproducible(void **state)
{
    (void)state;
    demo_opts o = {.seed = 42, .incident_at_ns = T0, .incident_len_ns = INC_LEN};
    demo_gen *a, *b, *c;
    assert_int_equal(demo_gen_create(&o, &a), 0);
    assert_int_equal(demo_gen_create(&o, &b), 0);
    o.seed = 43;
    assert_int_equal(demo_gen_create(&o, &c), 0);
    demo_batch x, y, z;
    demo_batch_init(&x);
    demo_batch_init(&y);
    demo_batch_init(&z);
    assert_int_equal(demo_gen_requests(a, T0, DT, 50), 0);
    assert_int_equal(demo_gen_requests(b, T0, DT, 50), 0);
    assert_int_equal(demo_gen_requests(c, T0, DT, 50), 0);
    assert_int_equal(demo_gen_flush(a, T0 + 50 * DT, true, &x), 0);
    assert_int_equal(demo_gen_flush(b, T0 + 50 * DT, true, &y), 0);
    assert_int_equal(demo_gen_flush(c, T0 + 50 * DT, true, &z), 0);
    assert_true(x.traces.n > 1000 && x.logs.n > 1000 && x.metrics.n > 1000);
    assert_int_equal(x.traces.n, y.traces.n);
    assert_memory_equal(x.traces.p, y.traces.p, x.traces.n);
    assert_int_equal(x.logs.n, y.logs.n);
    assert_memory_equal(x.logs.p, y.logs.p, x.logs.n);
    assert_int_equal(x.metrics.n, y.metrics.n);
    assert_memory_equal(x.metrics.p, y.metrics.p, x.metrics.n);
    assert_false(x.traces.n == z.traces.n && memcmp(x.traces.p, z.traces.p, x.traces.n) == 0);
    /* A flush without metrics leaves the metrics body empty. */
    assert_int_equal(demo_gen_requests(a, T0 + 50 * DT, DT, 5), 0);
    assert_int_equal(demo_gen_flush(a, T0 + 55 * DT, false, &x), 0);
    assert_true(x.traces.n > 0);
    assert_int_equal(x.metrics.n, 0);
    demo_batch_free(&x);
    demo_batch_free(&y);
    demo_batch_free(&z);
    demo_gen_free(a);
    demo_gen_free(b);
    demo_gen_free(c);
}

static void test_incident_window(void **state)
{
    (void)state;
    /* Table: start, every, length, probe time, in an incident?, reason. */
    static const struct {
        uint64_t at, every, len, t;
        bool in;
        const char *why;
    } rows[] = {
        {100, 0, 10, 99, false, "before the first incident"},
        {100, 0, 10, 100, true, "its first instant"},
        {100, 0, 10, 109, true, "its last instant"},
        {100, 0, 10, 110, false, "right after it, and none repeats"},
        {100, 50, 10, 155, true, "the second incident"},
        {100, 50, 10, 160, false, "between incidents"},
        {UINT64_MAX, 50, 10, 5000, false, "incidents off"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        demo_opts o = {.incident_at_ns = rows[i].at,
                       .incident_every_ns = rows[i].every,
                       .incident_len_ns = rows[i].len};
        if (demo_in_incident(&o, rows[i].t) != rows[i].in)
            fail_msg("row %zu (%s)", i, rows[i].why);
    }
}

static void test_services_and_tree(void **state)
{
    run *r = *state;
    /* The six services, in spans and in logs. */
    for (size_t s = 0; s < 6; s++) {
        bool in_spans = false, in_logs = false;
        for (size_t i = 0; i < r->spans.nspans && !in_spans; i++)
            in_spans = svc_is(r->spans.spans[i].origin, SERVICES[s]);
        for (size_t i = 0; i < r->logs.nlogs && !in_logs; i++)
            in_logs = svc_is(r->logs.logs[i].origin, SERVICES[s]);
        if (!in_spans || !in_logs)
            fail_msg("service %s: spans %d logs %d", SERVICES[s], in_spans, in_logs);
    }
    span_index ix;
    index_build(&ix, &r->spans);
    size_t roots = 0, lost = 0, consumers = 0;
    for (size_t i = 0; i < r->spans.nspans; i++) {
        const model_span *s = &r->spans.spans[i];
        if (span_id_is_zero(&s->parent_span_id)) {
            if (s->kind == 5) { /* a consumer that lost its context */
                lost++;
                consumers++;
                assert_true(svc_is(s->origin, "notifications"));
                continue;
            }
            roots++;
            assert_true(bslice_eq_cstr(s->name, "POST /checkout"));
            assert_true(svc_is(s->origin, "frontend"));
            assert_int_equal(s->kind, 2);
            continue;
        }
        const model_span *p = index_find(&ix, &s->trace_id, &s->parent_span_id);
        if (!p)
            fail_msg("span %.*s has no parent in its trace", (int)s->name.n, s->name.p);
        assert_true(p->start_ns <= s->start_ns);
        /* Who is whose child. */
        static const struct {
            const char *child, *parent;
            int kind;
        } edges[] = {
            {"POST /api/orders", "POST /checkout", 2},
            {"auth.verify", "POST /api/orders", 2},
            {"inventory.reserve", "POST /api/orders", 2},
            {"payment.charge", "POST /api/orders", 2},
            {"notifications.send", "POST /api/orders", 4},
            {"UPDATE inventory", "inventory.reserve", 3},
            {"POST /v1/charges", "payment.charge", 3},
            {"process order-events", "notifications.send", 5},
        };
        bool known = false;
        for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
            if (!bslice_eq_cstr(s->name, edges[e].child))
                continue;
            known = true;
            if (!bslice_eq_cstr(p->name, edges[e].parent) || s->kind != edges[e].kind)
                fail_msg("%s under %.*s (kind %d)", edges[e].child, (int)p->name.n, p->name.p,
                         s->kind);
        }
        assert_true(known);
        if (s->kind == 5)
            consumers++;
        else if (s->kind != 3 && s->kind != 4)
            assert_true(s->end_ns <= p->end_ns);
    }
    /* Every request but the sampled-out ones is a stored trace. */
    assert_int_equal(roots, N - r->st.sampled_out);
    assert_true(r->st.sampled_out >= N * 7 / 100 && r->st.sampled_out <= N * 13 / 100);
    /* About 5 % of queue consumers start a trace of their own. */
    assert_true(lost > 0);
    assert_true(lost * 100 >= consumers * 2 && lost * 100 <= consumers * 9);
    free(ix.v);
}

static double hist_bound(int i)
{
    static const double b[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                               0.5,   0.75, 1,     2.5,  5,     7.5, 10};
    return i < 14 ? b[i] : 1e300;
}

/* Which export (100 requests each) a span's request went out in. */
static int chunk_of(const span_index *ix, const model_span *s)
{
    while (!span_id_is_zero(&s->parent_span_id))
        s = index_find(ix, &s->trace_id, &s->parent_span_id);
    return (int)((s->start_ns - T0) / DT / 100);
}

static void test_exemplars(void **state)
{
    run *r = *state;
    span_index ix;
    index_build(&ix, &r->spans);
    /* The reservoir keeps, per service, export and bucket, the last sampled
     * request: recompute that from the spans (requests are generated in
     * time order, so "last" is the latest start). */
    enum { NCHUNK = N / 100, NB = 15, NS = 6 };
    static const model_span *want[NS][NCHUNK][NB];
    memset(want, 0, sizeof want);
    size_t nwant = 0;
    for (size_t i = 0; i < r->spans.nspans; i++) {
        const model_span *s = &r->spans.spans[i];
        if (s->kind != 2)
            continue;
        int svc = 0;
        while (!svc_is(s->origin, SERVICES[svc]))
            svc++;
        double v = (double)(s->end_ns - s->start_ns) / 1e9;
        int b = 0;
        while (v > hist_bound(b))
            b++;
        const model_span **slot = &want[svc][chunk_of(&ix, s)][b];
        nwant += *slot == NULL;
        if (!*slot || (*slot)->start_ns < s->start_ns)
            *slot = s;
    }
    assert_int_equal(r->metrics.nexemplars, nwant);
    assert_int_equal(r->st.exemplars, nwant);
    for (size_t i = 0; i < r->metrics.nexemplars; i++) {
        const model_exemplar *e = &r->metrics.exemplars[i];
        assert_true(bslice_eq_cstr(e->metric_name, "http.server.request.duration"));
        const model_span *s = index_find(&ix, &e->trace_id, &e->span_id);
        assert_non_null(s);
        assert_int_equal(s->kind, 2);
        assert_true(bslice_eq(s->origin->service, e->origin->service));
        int svc = 0;
        while (!svc_is(s->origin, SERVICES[svc]))
            svc++;
        assert_ptr_equal(want[svc][chunk_of(&ix, s)][e->bucket], s);
        double v = (double)(s->end_ns - s->start_ns) / 1e9;
        assert_true(e->value_double > v - 1e-9 && e->value_double < v + 1e-9);
        assert_int_equal(e->time_ns, s->end_ns);
    }
    free(ix.v);
}

/* --exemplars request: one exemplar for every request of a stored trace,
 * each on the span that served it. */
static void test_exemplars_per_request(void **state)
{
    (void)state;
    run *r = malloc(sizeof *r);
    assert_non_null(r);
    run_generate(r, 11, true, false);
    span_index ix;
    index_build(&ix, &r->spans);
    size_t servers = 0;
    for (size_t i = 0; i < r->spans.nspans; i++)
        servers += r->spans.spans[i].kind == 2;
    assert_int_equal(r->metrics.nexemplars, servers);
    assert_int_equal(r->st.exemplars, servers);
    for (size_t i = 0; i < r->metrics.nexemplars; i++) {
        const model_exemplar *e = &r->metrics.exemplars[i];
        const model_span *s = index_find(&ix, &e->trace_id, &e->span_id);
        assert_non_null(s);
        assert_int_equal(s->kind, 2);
        assert_true(bslice_eq(s->origin->service, e->origin->service));
        double v = (double)(s->end_ns - s->start_ns) / 1e9;
        assert_true(e->value_double > v - 1e-9 && e->value_double < v + 1e-9);
    }
    free(ix.v);
    run_free(r);
    free(r);
}

static void test_incident(void **state)
{
    run *r = *state;
    span_index ix;
    index_build(&ix, &r->spans);
    size_t failed = 0, incident_charges = 0;
    for (size_t i = 0; i < r->spans.nspans; i++) {
        const model_span *s = &r->spans.spans[i];
        if (!bslice_eq_cstr(s->name, "payment.charge"))
            continue;
        const model_span *ck = index_find(&ix, &s->trace_id, &s->parent_span_id);
        const model_span *root = index_find(&ix, &ck->trace_id, &ck->parent_span_id);
        bool in = root->start_ns >= INC_AT && root->start_ns < INC_AT + INC_LEN;
        uint64_t ms = (s->end_ns - s->start_ns) / 1000000;
        incident_charges += in;
        if (s->status_code != 2) {
            assert_true(ms < 700);
            continue;
        }
        failed++;
        assert_true(in);
        assert_true(ms >= 900 && ms <= 990);
        assert_int_equal(root->status_code, 2);
        assert_int_equal(attr_int(root->attrs, "http.response.status_code"), 502);
        /* Three provider calls, each reset. */
        int resets = 0;
        for (size_t k = 0; k < r->spans.nspans; k++) {
            const model_span *c = &r->spans.spans[k];
            if (memcmp(c->parent_span_id.b, s->span_id.b, 8) == 0 &&
                memcmp(c->trace_id.b, s->trace_id.b, 16) == 0) {
                assert_int_equal(c->status_code, 2);
                assert_true(c->events.n > 0);
                resets++;
            }
        }
        assert_int_equal(resets, 3);
        /* The culprit line, in the payment span. */
        int culprit = 0;
        for (size_t k = 0; k < r->logs.nlogs; k++) {
            const model_log *l = &r->logs.logs[k];
            if (memcmp(l->trace_id.b, s->trace_id.b, 16) ||
                !body_is(l, "payment_provider=stripe error=\"connection reset by peer\" retry=3"))
                continue;
            culprit++;
            assert_true(svc_is(l->origin, "payment"));
            assert_memory_equal(l->span_id.b, s->span_id.b, 8);
            assert_int_equal(l->severity_number, 17);
            assert_int_equal(l->flags & 1, 1);
            assert_true(attr_str(l->attrs, "payment_provider", "stripe"));
            assert_true(attr_str(l->attrs, "error", "connection reset by peer"));
            assert_int_equal(attr_int(l->attrs, "retry"), 3);
            assert_true(l->time_ns >= s->start_ns && l->time_ns <= s->end_ns);
        }
        assert_int_equal(culprit, 1);
    }
    /* About 30 % of the payments in the incident fail. */
    assert_true(incident_charges > 200);
    assert_true(failed * 100 >= incident_charges * 22 && failed * 100 <= incident_charges * 38);
    free(ix.v);
}

static void test_defects(void **state)
{
    run *r = *state;
    span_index ix;
    index_build(&ix, &r->spans);
    size_t notify = 0, inventory = 0, inventory_joined = 0, nout = 0, with_ctx = 0;
    static trace_id_t out[N];
    for (size_t i = 0; i < r->logs.nlogs; i++) {
        const model_log *l = &r->logs.logs[i];
        if (svc_is(l->origin, "notifications")) {
            notify++;
            assert_true(trace_id_is_zero(&l->trace_id));
            continue;
        }
        if (svc_is(l->origin, "inventory")) {
            inventory++;
            assert_true(trace_id_is_zero(&l->trace_id));
            bslice v, s;
            assert_int_equal(av_find(l->attrs, "dd.trace_id", &v), 1);
            assert_int_equal(av_as_str(v, &s), 1);
            char dec[24];
            snprintf(dec, sizeof dec, "%.*s", (int)s.n, (const char *)s.p);
            /* The decimal id is the low 64 bits of a real trace's id. */
            for (size_t k = 0; k < r->spans.nspans; k++) {
                const model_span *sp = &r->spans.spans[k];
                if (!bslice_eq_cstr(sp->name, "inventory.reserve"))
                    continue;
                char want[24];
                snprintf(want, sizeof want, "%llu", (unsigned long long)be64(sp->trace_id.b + 8));
                if (strcmp(want, dec) == 0) {
                    char sid[24];
                    snprintf(sid, sizeof sid, "%llu", (unsigned long long)be64(sp->span_id.b));
                    assert_true(attr_str(l->attrs, "dd.span_id", sid));
                    inventory_joined++;
                    break;
                }
            }
            continue;
        }
        assert_false(trace_id_is_zero(&l->trace_id));
        with_ctx++;
        if (l->flags & 1) {
            assert_true(index_has_trace(&ix, &l->trace_id));
        } else {
            /* Sampled out: the logs are kept, no span of the trace is sent. */
            assert_false(index_has_trace(&ix, &l->trace_id));
            assert_true(nout < N);
            bool seen = false;
            for (size_t k = 0; k < nout && !seen; k++)
                seen = memcmp(out[k].b, l->trace_id.b, 16) == 0;
            if (!seen)
                out[nout++] = l->trace_id;
        }
    }
    assert_int_equal(nout, r->st.sampled_out);
    /* One per request past auth (1 % fail there); the stored ones join. */
    assert_true(inventory > N * 95 / 100 && inventory < N);
    assert_true(inventory_joined >= inventory * 85 / 100 && inventory_joined < inventory);
    assert_true(notify > N * 80 / 100);
    assert_true(with_ctx > 4 * N);

    /* checkout.cart.size: one point per request, each labelled with its trace id. */
    size_t cart = 0;
    for (size_t i = 0; i < r->metrics.nmetrics; i++) {
        const model_metric *m = &r->metrics.metrics[i];
        if (!bslice_eq_cstr(m->name, "checkout.cart.size"))
            continue;
        cart++;
        assert_int_equal(m->type, METRIC_GAUGE);
        bslice v, s;
        assert_int_equal(av_find(m->attrs, "trace_id", &v), 1);
        assert_int_equal(av_as_str(v, &s), 1);
        trace_id_t t;
        assert_int_equal(s.n, 32);
        assert_int_equal(trace_id_parse(s, &t, NULL, NULL, NULL), 1);
        assert_true(m->value_int >= 1 && m->value_int <= 6);
    }
    assert_int_equal(cart, N);
    free(ix.v);
}

static void test_counters(void **state)
{
    run *r = *state;
    static const struct {
        const char *svc;
        bool all;
    } rows[] = {{"frontend", true},
                {"checkout", true},
                {"auth", true},
                {"inventory", false},
                {"payment", false}};
    for (size_t s = 0; s < sizeof rows / sizeof rows[0]; s++) {
        int64_t prev = -1, last_err = -1;
        uint64_t hist_count = 0, prev_time = 0;
        for (size_t i = 0; i < r->metrics.nmetrics; i++) {
            const model_metric *m = &r->metrics.metrics[i];
            if (!svc_is(m->origin, rows[s].svc))
                continue;
            if (bslice_eq_cstr(m->name, "http.server.requests")) {
                assert_int_equal(m->type, METRIC_SUM);
                assert_int_equal(m->monotonic, 1);
                assert_int_equal(m->temporality, 2);
                assert_true(m->value_int >= prev);
                assert_true(m->time_ns > prev_time);
                assert_true(m->start_ns >= T0 && m->start_ns < T0 + DT);
                prev = m->value_int;
                prev_time = m->time_ns;
            } else if (bslice_eq_cstr(m->name, "http.server.errors")) {
                assert_true(m->value_int >= last_err);
                last_err = m->value_int;
            } else if (bslice_eq_cstr(m->name, "http.server.request.duration")) {
                assert_int_equal(m->type, METRIC_HISTOGRAM);
                assert_true(bslice_eq_cstr(m->unit, "s"));
                hist_count = rd_u64le(m->payload.p);
            }
        }
        if (rows[s].all)
            assert_int_equal(prev, N);
        else
            assert_true(prev > N * 95 / 100 && prev < N);
        assert_int_equal(hist_count, (uint64_t)prev);
        if (strcmp(rows[s].svc, "auth") && strcmp(rows[s].svc, "inventory"))
            assert_int_equal(last_err, (int64_t)r->st.payment_failures);
        else
            assert_int_equal(last_err, 0);
    }
}

/* --clean: the same seed gives the same requests (same ids, same sampling),
 * and none of the defects: every log carries a trace id in the OTLP field,
 * none a dd.* attribute, every sampled log joins a stored trace, no consumer
 * is a root, and checkout.cart.size has no trace_id label. */
static void test_clean(void **state)
{
    run *dirty = *state;
    run *r = malloc(sizeof *r);
    assert_non_null(r);
    run_generate(r, 7, false, true);
    assert_int_equal(r->st.requests, N);
    assert_int_equal(r->st.sampled_out, dirty->st.sampled_out);
    assert_int_equal(r->st.lost_context, 0);
    assert_true(dirty->st.lost_context > 0);
    span_index ix;
    index_build(&ix, &r->spans);
    /* The same requests: the frontend roots match the default run's, in order. */
    size_t roots = 0, dirty_roots = 0;
    for (size_t i = 0, j = 0; i < r->spans.nspans; i++) {
        const model_span *s = &r->spans.spans[i];
        if (!bslice_eq_cstr(s->name, "POST /checkout"))
            continue;
        roots++;
        while (j < dirty->spans.nspans &&
               !bslice_eq_cstr(dirty->spans.spans[j].name, "POST /checkout"))
            j++;
        assert_true(j < dirty->spans.nspans);
        assert_memory_equal(s->trace_id.b, dirty->spans.spans[j].trace_id.b, 16);
        assert_int_equal(s->start_ns, dirty->spans.spans[j].start_ns);
        j++;
    }
    for (size_t j = 0; j < dirty->spans.nspans; j++)
        dirty_roots += bslice_eq_cstr(dirty->spans.spans[j].name, "POST /checkout");
    assert_int_equal(roots, N - r->st.sampled_out);
    assert_int_equal(roots, dirty_roots);
    /* No consumer lost its parent: the only roots are the frontend's. */
    size_t consumers = 0;
    for (size_t i = 0; i < r->spans.nspans; i++) {
        const model_span *s = &r->spans.spans[i];
        consumers += s->kind == 5;
        if (span_id_is_zero(&s->parent_span_id))
            assert_true(bslice_eq_cstr(s->name, "POST /checkout"));
        else
            assert_non_null(index_find(&ix, &s->trace_id, &s->parent_span_id));
    }
    assert_true(consumers > N * 70 / 100); /* stored: sampled, past auth and payment */
    /* Every log carries its trace context; sampled ones join a stored span. */
    size_t per_svc[6] = {0}, unsampled = 0;
    for (size_t i = 0; i < r->logs.nlogs; i++) {
        const model_log *l = &r->logs.logs[i];
        assert_false(trace_id_is_zero(&l->trace_id));
        assert_false(span_id_is_zero(&l->span_id));
        bslice v;
        assert_int_equal(av_find(l->attrs, "dd.trace_id", &v), 0);
        assert_int_equal(av_find(l->attrs, "dd.span_id", &v), 0);
        size_t s = 0;
        while (s < 6 && !svc_is(l->origin, SERVICES[s]))
            s++;
        assert_true(s < 6);
        per_svc[s]++;
        if (l->flags & 1) {
            const model_span *sp = index_find(&ix, &l->trace_id, &l->span_id);
            assert_non_null(sp);
            assert_true(bslice_eq(sp->origin->service, l->origin->service));
        } else {
            unsampled++;
            assert_false(index_has_trace(&ix, &l->trace_id));
        }
        bslice body;
        assert_int_equal(av_as_str(l->body, &body), 1);
        for (size_t k = 0; k + 3 <= body.n; k++)
            assert_false(memcmp(body.p + k, "dd.", 3) == 0);
    }
    assert_int_equal(r->logs.nlogs, dirty->logs.nlogs);
    assert_true(unsampled > 0);
    assert_true(per_svc[3] > N * 95 / 100 && per_svc[4] > N * 80 / 100); /* inventory, notify */
    /* checkout.cart.size: one point per request, no label at all. */
    size_t cart = 0;
    for (size_t i = 0; i < r->metrics.nmetrics; i++) {
        const model_metric *m = &r->metrics.metrics[i];
        bslice v;
        assert_int_equal(av_find(m->attrs, "trace_id", &v), 0);
        if (!bslice_eq_cstr(m->name, "checkout.cart.size"))
            continue;
        cart++;
        av_iter it;
        av_iter_init(&it, m->attrs);
        bslice k;
        assert_int_equal(av_iter_next(&it, &k, &v), 0);
        assert_true(m->value_int >= 1 && m->value_int <= 6);
    }
    assert_int_equal(cart, N);
    free(ix.v);
    run_free(r);
    free(r);
}

static int setup(void **state)
{
    run *r = malloc(sizeof *r);
    if (!r)
        return -1;
    run_generate(r, 7, false, false);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    run_free(*state);
    free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_incident_window),
        cmocka_unit_test(test_services_and_tree),
        cmocka_unit_test(test_exemplars),
        cmocka_unit_test(test_exemplars_per_request),
        cmocka_unit_test(test_incident),
        cmocka_unit_test(test_defects),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

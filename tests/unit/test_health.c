/* Unit tests for src/health: each finding from small hand-built rows with
 * exact expected numbers (coverage, dangling links by cause, missing parents
 * and call edges, lost context, metric labels holding ids, format drift),
 * the grace period, trace sampling under pressure, the state's round trip
 * and refusal of damaged state, and the id-likeness table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/health.h"

#define MIN 60000000000ull
#define T0 (1700000000000000000ull - 1700000000000000000ull % MIN) /* a minute boundary */
#define GRACE 5000000000ull

static uint64_t fake_now;
static uint64_t clock_fn(void)
{
    return fake_now;
}

static health *new_health(uint32_t max_traces)
{
    health_opts o;
    health_opts_default(&o);
    o.grace_ns = GRACE;
    o.now = clock_fn;
    if (max_traces)
        o.max_traces = max_traces;
    health *h;
    assert_int_equal(health_new(&o, &h), 0);
    return h;
}

static trace_id_t tid_of(uint32_t n)
{
    trace_id_t t = {{0}};
    t.b[0] = 0xab;
    t.b[12] = (uint8_t)(n >> 24);
    t.b[13] = (uint8_t)(n >> 16);
    t.b[14] = (uint8_t)(n >> 8);
    t.b[15] = (uint8_t)n;
    return t;
}

static span_id_t sid_of(uint32_t n)
{
    span_id_t s = {{0}};
    s.b[0] = 0x5a;
    s.b[7] = (uint8_t)n;
    s.b[6] = (uint8_t)(n >> 8);
    return s;
}

static model_origin origin(const char *svc)
{
    return (model_origin){.service = bslice_cstr(svc)};
}

static model_log log_row(const model_origin *o, uint32_t trace, uint32_t flags, uint8_t form,
                         const char *field)
{
    model_log l = {.origin = o, .time_ns = T0 + 1000, .flags = flags};
    if (trace) {
        l.trace_id = tid_of(trace);
        l.id_form = form;
        l.id_field = bslice_cstr(field ? field : "");
    }
    return l;
}

static model_span span_row(const model_origin *o, uint32_t trace, uint32_t span, uint32_t parent,
                           int kind)
{
    model_span s = {.origin = o, .trace_id = tid_of(trace), .kind = kind, .start_ns = T0 + 2000};
    s.span_id = sid_of(span);
    if (parent)
        s.parent_span_id = sid_of(parent);
    return s;
}

static void observe(health *h, const model_log *logs, size_t nl, const model_span *spans, size_t ns)
{
    store_rows r = {.logs = logs, .nlogs = nl, .spans = spans, .nspans = ns};
    health_observe(h, &r);
}

static char *report(health *h, const char *service)
{
    buf b;
    buf_init(&b);
    assert_int_equal(health_report_json(h, T0, T0 + 10 * MIN, bslice_cstr(service), &b), 0);
    buf_putc(&b, 0);
    return (char *)buf_detach(&b, NULL);
}

static void expect(const char *json, const char *fragment)
{
    if (!strstr(json, fragment))
        fail_msg("missing %s\nin %s", fragment, json);
}

static void expect_not(const char *json, const char *fragment)
{
    if (strstr(json, fragment))
        fail_msg("unexpected %s\nin %s", fragment, json);
}

/* A lookup standing in for the store: knows trace 900 with spans 1 and 2 in
 * service "early". */
static model_origin early;
static int lookup(void *ud, const trace_id_t *tid, model_batch *out)
{
    int *calls = ud;
    (*calls)++;
    trace_id_t t900 = tid_of(900);
    if (memcmp(tid, &t900, sizeof *tid) != 0)
        return 0;
    for (uint32_t i = 1; i <= 2; i++) {
        model_span *s = model_batch_add_span(out);
        assert_non_null(s);
        *s = span_row(&early, 900, i, 0, 2);
    }
    return 0;
}

static void test_coverage(void **state)
{
    (void)state;
    fake_now = T0;
    health *h = new_health(0);
    model_origin a = origin("a"), quiet = origin("quiet");
    model_log logs[] = {log_row(&a, 1, 1, ID_FORM_BINARY, NULL), log_row(&a, 0, 0, 0, NULL),
                        log_row(&a, 0, 0, 0, NULL), log_row(&a, 0, 0, 0, NULL),
                        /* a service without spans is not held to coverage */
                        log_row(&quiet, 0, 0, 0, NULL)};
    model_span spans[] = {span_row(&a, 1, 1, 0, 2), span_row(&a, 2, 2, 0, 2)};
    observe(h, logs, 5, spans, 2);
    char *j = report(h, "");
    expect(j,
           "{\"service\":\"a\",\"logs\":4,\"logs_with_trace_id\":1,\"spans\":2,\"coverage\":0.25");
    expect(j, "\"kind\":\"coverage\",\"severity\":\"fault\",\"service\":\"a\",\"count\":3,"
              "\"total\":4,\"share\":0.75");
    expect_not(j, "\"kind\":\"coverage\",\"severity\":\"fault\",\"service\":\"quiet\"");
    expect(j, "\"ok\":false");
    free(j);
    /* The service filter keeps only that service. */
    j = report(h, "nobody");
    expect(j, "\"sample_rate\":1,");
    expect(j, "\"services\":[],\"edges\":[],\"findings\":[]}");
    free(j);
    j = report(h, "quiet");
    expect(j, "\"services\":[{\"service\":\"quiet\",\"logs\":1,");
    expect(j, "\"ok\":true");
    free(j);
    health_free(h);
}

static void test_dangling_by_cause(void **state)
{
    (void)state;
    fake_now = T0;
    health *h = new_health(0);
    int calls = 0;
    early = origin("early");
    health_set_lookup(h, lookup, &calls);
    model_origin b = origin("b");
    model_log logs[] = {
        log_row(&b, 1, 1, ID_FORM_BINARY, NULL),           /* sampled, never arrives: lost */
        log_row(&b, 2, 0, ID_FORM_BINARY, NULL),           /* not sampled: sampled out */
        log_row(&b, 3, 0, ID_FORM_DECIMAL, "dd.trace_id"), /* 64-bit: truncated */
        log_row(&b, 4, 1, ID_FORM_BINARY, NULL),           /* its span arrives: linked */
        log_row(&b, 4, 1, ID_FORM_BINARY, NULL),           /* same trace: one link */
        log_row(&b, 5, 0, ID_FORM_HEX32, "trace_id"),      /* no flags known: lost */
        log_row(&b, 900, 1, ID_FORM_BINARY, NULL),         /* stored before: linked */
    };
    model_span spans[] = {span_row(&b, 4, 1, 0, 2)};
    observe(h, logs, 7, spans, 1);
    /* Inside the grace period everything is pending. */
    assert_int_equal(health_tick(h, T0 + GRACE - 1), 0);
    char *j = report(h, "");
    expect(j, "\"links\":{\"traces\":6,\"linked\":0,\"sampled_out\":0,\"lost\":0,\"truncated\":0,"
              "\"pending\":6}");
    free(j);
    assert_int_equal(calls, 0);
    assert_int_equal(health_tick(h, T0 + GRACE), 0);
    /* Only traces without a followed span are looked up: 1, 2, 3, 5, 900. */
    assert_int_equal(calls, 5);
    j = report(h, "");
    expect(j, "\"links\":{\"traces\":6,\"linked\":2,\"sampled_out\":1,\"lost\":2,\"truncated\":1,"
              "\"pending\":0}");
    expect(j, "\"kind\":\"dangling_lost\",\"severity\":\"fault\",\"service\":\"b\",\"count\":2,"
              "\"total\":6");
    expect(j, "\"kind\":\"dangling_truncated\",\"severity\":\"fault\",\"service\":\"b\","
              "\"count\":1,\"total\":6,\"share\":0.1667,\"field\":\"dd.trace_id\","
              "\"form\":\"decimal\",\"examples\":[\"ab000000000000000000000000000003\"]");
    expect(j, "\"kind\":\"sampled_out\",\"severity\":\"info\",\"service\":\"b\",\"count\":1");
    /* lost examples are the two lost traces */
    expect(j, "ab000000000000000000000000000001");
    expect(j, "ab000000000000000000000000000005");
    free(j);
    health_free(h);
}

static void test_missing_parent_and_edges(void **state)
{
    (void)state;
    fake_now = T0;
    health *h = new_health(0);
    int calls = 0;
    early = origin("early");
    health_set_lookup(h, lookup, &calls);
    model_origin fe = origin("fe"), api = origin("api");
    model_span spans[] = {
        span_row(&fe, 10, 1, 0, 2),   /* root */
        span_row(&fe, 10, 2, 1, 3),   /* client */
        span_row(&api, 10, 3, 2, 2),  /* fe -> api */
        span_row(&api, 11, 4, 77, 2), /* parent 77 never arrives */
        span_row(&api, 900, 5, 2, 2), /* parent stored before, in "early" */
    };
    observe(h, NULL, 0, spans, 5);
    assert_int_equal(health_tick(h, T0 + GRACE), 0);
    assert_int_equal(calls, 2); /* traces 11 and 900 */
    char *j = report(h, "");
    expect(j, "{\"caller\":\"fe\",\"callee\":\"api\",\"calls\":1,\"lost_context\":0}");
    expect(j, "{\"caller\":\"early\",\"callee\":\"api\",\"calls\":1,\"lost_context\":0}");
    expect(j, "\"kind\":\"missing_parent\",\"severity\":\"fault\",\"service\":\"api\",\"count\":1,"
              "\"total\":3,\"share\":0.3333,\"examples\":[\"ab00000000000000000000000000000b\"]");
    expect_not(j, "\"kind\":\"missing_parent\",\"severity\":\"fault\",\"service\":\"fe\"");
    free(j);
    health_free(h);
}

static void test_lost_context(void **state)
{
    (void)state;
    fake_now = T0;
    health *h = new_health(0);
    model_origin prod = origin("orders"), cons = origin("mailer");
    model_span spans[] = {
        span_row(&prod, 1, 1, 0, 2),  span_row(&prod, 1, 2, 1, 4), span_row(&cons, 1, 3, 2, 5),
        span_row(&prod, 2, 4, 0, 2),  span_row(&prod, 2, 5, 4, 4), span_row(&cons, 2, 6, 5, 5),
        span_row(&prod, 3, 7, 0, 2),  span_row(&prod, 3, 8, 7, 4), span_row(&cons, 3, 9, 8, 5),
        span_row(&cons, 4, 10, 0, 5), /* the consumer lost the context */
    };
    observe(h, NULL, 0, spans, 10);
    assert_int_equal(health_tick(h, T0 + GRACE), 0);
    char *j = report(h, "");
    expect(j, "\"kind\":\"lost_context\",\"severity\":\"fault\",\"service\":\"mailer\",\"count\":1,"
              "\"total\":4,\"share\":0.25,\"caller\":\"orders\","
              "\"examples\":[\"ab000000000000000000000000000004\"]");
    expect(j, "{\"caller\":\"orders\",\"callee\":\"mailer\",\"calls\":3,\"lost_context\":1}");
    /* orders' roots are where requests start: nobody calls orders. */
    expect_not(j, "\"kind\":\"lost_context\",\"severity\":\"fault\",\"service\":\"orders\"");
    expect(j, "\"entry_spans\":4,\"entry_roots\":1,\"lost_context_roots\":1");
    free(j);
    health_free(h);
}

static void add_point(model_metric *m, const model_origin *o, const char *name, buf *attrs,
                      const char *key, const char *val)
{
    buf_reset(attrs);
    size_t pos = av_begin_count(attrs);
    av_put_key(attrs, bslice_cstr(key));
    av_put_str(attrs, bslice_cstr(val));
    av_end_count(attrs, pos, 1);
    uint8_t *copy = malloc(attrs->n);
    assert_non_null(copy);
    memcpy(copy, attrs->p, attrs->n);
    *m = (model_metric){.origin = o,
                        .name = bslice_cstr(name),
                        .type = METRIC_GAUGE,
                        .attrs = {copy, attrs->n},
                        .time_ns = T0 + 3000};
}

static void test_cardinality(void **state)
{
    (void)state;
    fake_now = T0;
    health *h = new_health(0);
    model_origin c = origin("shop");
    enum { N = 40 };
    model_metric m[2 * N];
    buf attrs;
    buf_init(&attrs);
    char val[64];
    for (int i = 0; i < N; i++) {
        snprintf(val, sizeof val, "%08x%08x%08x%08x", 0x1234abcdu + i, 0x9u, 0xfeu, 0x77u + i);
        add_point(&m[i], &c, "cart.size", &attrs, "trace_id", val);
        add_point(&m[N + i], &c, "cart.size", &attrs, "route", i % 2 ? "/a" : "/b");
    }
    store_rows r = {.metrics = m, .nmetrics = 2 * N};
    health_observe(h, &r);
    char *j = report(h, "");
    expect(j, "\"kind\":\"cardinality\",\"severity\":\"fault\",\"service\":\"shop\",\"count\":40,"
              "\"total\":40,\"share\":1,\"metric\":\"cart.size\",\"label\":\"trace_id\","
              "\"distinct\":");
    expect(j, "\"examples\":[\"1234abcd00000009000000fe00000077\"");
    expect_not(j, "\"label\":\"route\"");
    free(j);
    for (int i = 0; i < 2 * N; i++)
        free((void *)m[i].attrs.p);
    buf_free(&attrs);
    health_free(h);
}

static void test_format_drift(void **state)
{
    (void)state;
    fake_now = T0;
    health *h = new_health(0);
    model_origin a = origin("py");
    model_log logs[] = {
        log_row(&a, 1, 0, ID_FORM_HEX32, "trace_id"),      /* canonical */
        log_row(&a, 2, 0, ID_FORM_HEX32_UPPER, "TraceID"), /* odd field and form */
        log_row(&a, 3, 0, ID_FORM_HEX32_UPPER, "TraceID"),
        log_row(&a, 4, 1, ID_FORM_TRACEPARENT, "traceparent"), /* canonical */
    };
    observe(h, logs, 4, NULL, 0);
    char *j = report(h, "");
    expect(j, "\"kind\":\"format_drift\",\"severity\":\"fault\",\"service\":\"py\",\"count\":2,"
              "\"total\":4,\"share\":0.5,\"field\":\"TraceID\",\"form\":\"hex32_upper\","
              "\"examples\":[\"ab000000000000000000000000000002\","
              "\"ab000000000000000000000000000003\"]");
    expect(j, "{\"field\":\"trace_id\",\"form\":\"hex32\",\"count\":1}");
    expect(j, "{\"field\":\"traceparent\",\"form\":\"traceparent\",\"count\":1}");
    expect_not(j, "\"field\":\"trace_id\",\"form\":\"hex32\",\"examples\"");
    free(j);
    health_free(h);
}

/* With room for 8 traces, 64 traces are followed at a sampled share and the
 * judged counts are scaled back to estimates. */
static void test_sampling_under_pressure(void **state)
{
    (void)state;
    fake_now = T0;
    health *h = new_health(8);
    model_origin a = origin("busy");
    model_log logs[64];
    for (uint32_t i = 0; i < 64; i++)
        logs[i] = log_row(&a, 1000 + i, 1, ID_FORM_BINARY, NULL);
    observe(h, logs, 64, NULL, 0);
    assert_int_equal(health_tick(h, T0 + GRACE), 0);
    char *j = report(h, "");
    expect_not(j, "\"sample_rate\":1,");
    expect(j, "\"logs\":64,\"logs_with_trace_id\":64");
    free(j);
    health_free(h);
}

static void test_state_round_trip(void **state)
{
    (void)state;
    fake_now = T0;
    health *h = new_health(0);
    model_origin a = origin("a"), b = origin("b");
    model_log logs[] = {log_row(&a, 1, 1, ID_FORM_BINARY, NULL), log_row(&a, 0, 0, 0, NULL),
                        log_row(&b, 2, 0, ID_FORM_DECIMAL, "dd.trace_id")};
    model_span spans[] = {span_row(&a, 1, 1, 0, 2), span_row(&b, 1, 2, 1, 2),
                          span_row(&b, 3, 3, 9, 5)};
    observe(h, logs, 3, spans, 3);
    assert_int_equal(health_tick(h, T0 + GRACE), 0);
    /* Rows still inside their grace period travel in the state too. */
    model_log later[] = {log_row(&a, 7, 1, ID_FORM_BINARY, NULL)};
    fake_now = T0 + 2 * GRACE;
    observe(h, later, 1, NULL, 0);
    char *before = report(h, "");
    buf st;
    buf_init(&st);
    assert_int_equal(health_save(h, &st), 0);
    health *h2 = new_health(0);
    assert_int_equal(health_load(h2, (bslice){st.p, st.n}), 0);
    char *after = report(h2, "");
    assert_string_equal(before, after);
    /* The pending trace is judged after the restart. */
    assert_int_equal(health_tick(h2, T0 + 3 * GRACE), 0);
    char *judged = report(h2, "a");
    expect(judged, "\"lost\":1,\"truncated\":0,\"pending\":0");
    /* Every truncation of the state is refused and leaves it empty. */
    for (size_t n = 0; n < st.n; n++) {
        health *h3 = new_health(0);
        int rc = health_load(h3, (bslice){st.p, n});
        if (n == 0)
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, BRAID_EFORMAT);
        char *e = report(h3, "");
        expect(e, "\"services\":[]");
        free(e);
        health_free(h3);
    }
    free(before);
    free(after);
    free(judged);
    buf_free(&st);
    health_free(h);
    health_free(h2);
}

static void test_looks_like_id(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        bool id;
        const char *why;
    } cases[] = {
        {"4bf92f3577b34da6a3ce929d0e0e4736", true, "trace id"},
        {"4BF92F3577B34DA6A3CE929D0E0E4736", true, "upper-case trace id"},
        {"00f067aa0ba902b7", true, "span id"},
        {"123e4567-e89b-12d3-a456-426614174000", true, "UUID"},
        {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true, "traceparent"},
        {"deadbeefdeadbeef", false, "hex letters only: a word, not random"},
        {"1234567890123456", false, "digits only: a number"},
        {"/api/orders", false, "a route"},
        {"4bf92f3577b34da6a3ce929d0e0e473", false, "31 hex digits"},
        {"4bf92f3577b34da6a3ce929d0e0e473g", false, "not hex"},
        {"123e4567_e89b_12d3_a456_426614174000", false, "UUID with other separators"},
        {"", false, "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (health_looks_like_id(bslice_cstr(cases[i].v)) != cases[i].id)
            fail_msg("%s (%s): expected %d", cases[i].v, cases[i].why, cases[i].id);
}

static void test_metrics_gauges(void **state)
{
    (void)state;
    fake_now = T0 + 5 * MIN;
    health *h = new_health(0);
    model_origin a = origin("a\"b");
    model_log logs[] = {log_row(&a, 1, 0, ID_FORM_BINARY, NULL), log_row(&a, 0, 0, 0, NULL)};
    model_span spans[] = {span_row(&a, 9, 1, 0, 2)};
    observe(h, logs, 2, spans, 1);
    assert_int_equal(health_tick(h, T0 + 5 * MIN + GRACE), 0);
    buf b;
    buf_init(&b);
    health_metrics(h, T0 + 5 * MIN, &b);
    buf_putc(&b, 0);
    expect((char *)b.p, "braid_correlation_coverage_ratio{service=\"a\\\"b\"} 0.5\n");
    expect((char *)b.p,
           "braid_correlation_dangling_ratio{service=\"a\\\"b\",cause=\"sampled_out\"} 1\n");
    expect((char *)b.p, "braid_correlation_findings{kind=\"coverage\"} 0\n");
    expect((char *)b.p, "braid_correlation_findings{kind=\"sampled_out\"} 1\n");
    buf_free(&b);
    health_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coverage),
        cmocka_unit_test(test_dangling_by_cause),
        cmocka_unit_test(test_missing_parent_and_edges),
        cmocka_unit_test(test_lost_context),
        cmocka_unit_test(test_cardinality),
        cmocka_unit_test(test_format_drift),
        cmocka_unit_test(test_sampling_under_pressure),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_looks_like_id),
        cmocka_unit_test(test_metrics_gauges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for src/api: query time parsing (table-driven), the JSON
 * rendering of spans, logs and exemplars, and the handlers over a real store
 * in a temporary directory (routing, parameter errors, pivot, search, logs,
 * services, metrics). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "api/api.h"

#define NOW 1700000000000000000ull /* 2023-11-14T22:13:20Z */

typedef struct {
    const char *in;
    int rc;
    uint64_t want;
    const char *why;
} time_case;

static const time_case time_cases[] = {
    {"1700000000", 0, NOW, "Unix seconds"},
    {"1700000000.25", 0, NOW + 250000000ull, "Unix seconds with fraction"},
    {"1700000000000", 0, NOW, "Unix milliseconds by magnitude"},
    {"1700000000000000", 0, NOW, "Unix microseconds by magnitude"},
    {"1700000000000000000", 0, NOW, "Unix nanoseconds by magnitude"},
    {"2023-11-14T22:13:20Z", 0, NOW, "RFC 3339 UTC"},
    {"2023-11-14T22:13:20.5Z", 0, NOW + 500000000ull, "RFC 3339 fraction"},
    {"2023-11-14T23:13:20+01:00", 0, NOW, "RFC 3339 positive offset"},
    {"2023-11-14T21:13:20-01:00", 0, NOW, "RFC 3339 negative offset"},
    {"2023-11-14t22:13:20z", 0, NOW, "lower-case T and Z"},
    {"15m", 0, NOW - 900000000000ull, "relative minutes"},
    {"2h", 0, NOW - 7200000000000ull, "relative hours"},
    {"7d", 0, NOW - 7 * 86400000000000ull, "relative days"},
    {"now", 0, NOW, "now"},
    {"", BRAID_EINVAL, 0, "empty"},
    {"yesterday", BRAID_EINVAL, 0, "words"},
    {"2023-13-14T22:13:20Z", BRAID_EINVAL, 0, "month 13"},
    {"2023-11-14T22:13:20", BRAID_EINVAL, 0, "RFC 3339 needs a zone"},
    {"2023-11-14T22:13:20.Z", BRAID_EINVAL, 0, "empty fraction"},
    {"15x", BRAID_EINVAL, 0, "unknown unit"},
    {"-5m", BRAID_EINVAL, 0, "negative duration"},
    {"1700000000.", BRAID_EINVAL, 0, "dangling dot"},
    {"99999999999999999999999", BRAID_EINVAL, 0, "overflow"},
};

static void test_parse_time_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof time_cases / sizeof time_cases[0]; i++) {
        const time_case *c = &time_cases[i];
        uint64_t got = 0;
        int rc = api_parse_time(bslice_cstr(c->in), NOW, &got);
        if (rc != c->rc || (rc == 0 && got != c->want))
            fail_msg("case %zu (%s): rc %d got %llu want %llu", i, c->why, rc,
                     (unsigned long long)got, (unsigned long long)c->want);
    }
}

static bslice attrs1(buf *b, const char *k, const char *v)
{
    size_t pos = av_begin_count(b);
    av_put_key(b, bslice_cstr(k));
    av_put_str(b, bslice_cstr(v));
    av_end_count(b, pos, 1);
    return (bslice){b->p, b->n};
}

static void test_span_json(void **state)
{
    (void)state;
    buf a, out;
    buf_init(&a);
    buf_init(&out);
    model_origin o = {.service = BSLICE_LIT("checkout"), .scope_name = BSLICE_LIT("lib")};
    model_span s = {.origin = &o,
                    .name = BSLICE_LIT("pay"),
                    .kind = 3,
                    .start_ns = 10,
                    .end_ns = 25,
                    .status_code = 2,
                    .status_message = BSLICE_LIT("boom")};
    s.trace_id.b[15] = 1;
    s.span_id.b[7] = 2;
    s.attrs = attrs1(&a, "k", "v");
    api_json_span(&out, &s);
    buf_putc(&out, 0);
    assert_string_equal(
        (char *)out.p,
        "{\"trace_id\":\"00000000000000000000000000000001\",\"span_id\":\"0000000000000002\","
        "\"parent_span_id\":\"\",\"name\":\"pay\",\"kind\":\"client\",\"service\":\"checkout\","
        "\"start_unix_nano\":\"10\",\"end_unix_nano\":\"25\",\"duration_ns\":\"15\","
        "\"status\":{\"code\":\"error\",\"message\":\"boom\"},\"attributes\":{\"k\":\"v\"},"
        "\"events\":[],\"links\":[],\"trace_state\":\"\",\"flags\":0,"
        "\"dropped_attributes_count\":0,\"dropped_events_count\":0,\"dropped_links_count\":0,"
        "\"resource\":{},\"scope\":{\"name\":\"lib\",\"version\":\"\",\"attributes\":{}}}");
    buf_free(&a);
    buf_free(&out);
}

static void test_log_and_exemplar_json(void **state)
{
    (void)state;
    buf body, out;
    buf_init(&body);
    buf_init(&out);
    av_put_str(&body, BSLICE_LIT("reset by peer"));
    model_log l = {.time_ns = 5,
                   .observed_ns = 6,
                   .severity_number = 17,
                   .severity_text = BSLICE_LIT("ERROR"),
                   .body = {body.p, body.n},
                   .source = BSLICE_LIT("otlp"),
                   .flags = 1,
                   .id_field = BSLICE_LIT("dd.trace_id"),
                   .id_form = ID_FORM_DECIMAL};
    api_json_log(&out, &l);
    buf_putc(&out, 0);
    assert_string_equal((char *)out.p,
                        "{\"trace_id\":\"\",\"span_id\":\"\",\"time_unix_nano\":\"5\","
                        "\"observed_time_unix_nano\":\"6\",\"severity_text\":\"ERROR\","
                        "\"severity_number\":17,\"service\":\"\",\"body\":\"reset by peer\","
                        "\"attributes\":{},\"flags\":1,\"event_name\":\"\",\"source\":\"otlp\","
                        "\"trace_id_field\":\"dd.trace_id\",\"trace_id_form\":\"decimal\","
                        "\"dropped_attributes_count\":0,\"resource\":{},\"scope\":{\"name\":\"\","
                        "\"version\":\"\",\"attributes\":{}}}");
    buf_reset(&out);
    model_exemplar e = {
        .metric_name = BSLICE_LIT("latency"), .time_ns = 9, .value_double = 0.25, .bucket = 3};
    e.trace_id.b[0] = 0xab;
    api_json_exemplar(&out, &e);
    buf_putc(&out, 0);
    assert_string_equal((char *)out.p,
                        "{\"trace_id\":\"ab000000000000000000000000000000\",\"span_id\":\"\","
                        "\"metric\":\"latency\",\"service\":\"\",\"labels\":{},"
                        "\"time_unix_nano\":\"9\",\"value\":0.25,\"bucket\":3,"
                        "\"filtered_attributes\":{}}");
    buf_free(&body);
    buf_free(&out);
}

/* ---- handlers over a real store ---- */
typedef struct {
    char dir[64];
    store *s;
    api *a;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/braid-test-api-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    store_opts o;
    store_opts_default(&o);
    o.dir = f->dir;
    o.fsync = STORE_FSYNC_NONE;
    if (store_open(&o, &f->s) || api_create(f->s, &f->a))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    api_free(f->a);
    store_close(f->s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Two traces: T1 (2 spans, 3 logs, one error) in service "web"/"db", and a
 * log with no trace in "web". Times are near now so the default hour holds. */
static void load(fixture *f, uint64_t now)
{
    model_batch b;
    model_batch_init(&b);
    model_origin *web = model_batch_add_origin(&b), *db = model_batch_add_origin(&b);
    web->service = BSLICE_LIT("web");
    db->service = BSLICE_LIT("db");
    buf bodies[4];
    const char *texts[] = {"GET /cart", "query slow", "connection reset by peer", "no trace"};
    for (int i = 0; i < 4; i++) {
        buf_init(&bodies[i]);
        av_put_str(&bodies[i], bslice_cstr(texts[i]));
    }
    model_span *root = model_batch_add_span(&b);
    root->origin = web;
    root->trace_id.b[15] = 0x11;
    root->span_id.b[7] = 1;
    root->name = BSLICE_LIT("GET /cart");
    root->kind = 2;
    root->start_ns = now - 5000000000ull;
    root->end_ns = root->start_ns + 900000000ull;
    model_span *child = model_batch_add_span(&b);
    *child = *root;
    child->origin = db;
    child->span_id.b[7] = 2;
    child->parent_span_id.b[7] = 1;
    child->name = BSLICE_LIT("SELECT");
    child->start_ns += 100;
    child->end_ns -= 100;
    child->status_code = 2;
    for (int i = 0; i < 4; i++) {
        model_log *l = model_batch_add_log(&b);
        l->origin = i == 1 ? db : web;
        l->time_ns = now - 4000000000ull + (uint64_t)i;
        l->severity_number = i == 2 ? 17 : 9;
        l->severity_text = i == 2 ? BSLICE_LIT("ERROR") : BSLICE_LIT("INFO");
        l->body = (bslice){bodies[i].p, bodies[i].n};
        l->source = BSLICE_LIT("otlp");
        if (i < 3) {
            l->trace_id.b[15] = 0x11;
            l->span_id.b[7] = i == 0 ? 1 : 2;
        }
    }
    assert_int_equal(0, store_append(f->s, &b));
    for (int i = 0; i < 4; i++)
        buf_free(&bodies[i]);
    model_batch_free(&b);
}

static char *get(fixture *f, const char *path, const char *query, int *status)
{
    api_response r;
    api_handle(f->a, BSLICE_LIT("GET"), bslice_cstr(path), bslice_cstr(query), &r);
    *status = r.status;
    buf_putc(&r.body, 0);
    return (char *)buf_detach(&r.body, NULL);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_handlers(void **state)
{
    fixture *f = *state;
    load(f, now_unix_ns());
    int st;
    char *b = get(f, "/api/v1/traces/00000000000000000000000000000011", "", &st);
    assert_int_equal(st, 200);
    assert_int_equal(count(b, "\"name\":\"SELECT\""), 1);
    assert_int_equal(count(b, "\"time_unix_nano\""), 3 + 0);
    assert_non_null(strstr(b, "connection reset by peer"));
    free(b);
    /* Same trace as 16 hex and as upper-case. */
    b = get(f, "/api/v1/traces/0000000000000011", "", &st);
    assert_int_equal(st, 200);
    free(b);
    b = get(f, "/api/v1/traces/not-an-id", "", &st);
    assert_int_equal(st, 400);
    assert_non_null(strstr(b, "malformed trace id"));
    free(b);
    b = get(f, "/api/v1/traces/00000000000000000000000000000099", "", &st);
    assert_int_equal(st, 404);
    free(b);
    b = get(f, "/api/v1/traces/00000000000000000000000000000000", "", &st);
    assert_int_equal(st, 404);
    free(b);

    b = get(f, "/api/v1/traces", "status=error", &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(b, "\"root_name\":\"GET /cart\""));
    assert_non_null(strstr(b, "\"span_count\":2,\"error_count\":1,\"log_count\":3"));
    free(b);
    b = get(f, "/api/v1/traces", "min_duration=2s", &st);
    assert_int_equal(st, 200);
    assert_string_equal(b, "{\"traces\":[]}");
    free(b);
    b = get(f, "/api/v1/traces", "status=bogus", &st);
    assert_int_equal(st, 400);
    free(b);

    b = get(f, "/api/v1/logs", "", &st);
    assert_int_equal(st, 200);
    assert_int_equal(count(b, "\"time_unix_nano\""), 4);
    /* Newest first: "no trace" (i=3) before "GET /cart" (i=0). */
    assert_true(strstr(b, "no trace") < strstr(b, "GET /cart"));
    free(b);
    b = get(f, "/api/v1/logs", "severity=error", &st);
    assert_int_equal(count(b, "\"time_unix_nano\""), 1);
    free(b);
    b = get(f, "/api/v1/logs", "limit=2", &st);
    assert_int_equal(count(b, "\"time_unix_nano\""), 2);
    assert_non_null(strstr(b, "no trace"));
    assert_non_null(strstr(b, "connection reset"));
    free(b);
    b = get(f, "/api/v1/logs", "q=reset%20by", &st);
    assert_int_equal(count(b, "\"time_unix_nano\""), 1);
    free(b);
    b = get(f, "/api/v1/logs", "trace_id=0000000000000011&span_id=0000000000000002", &st);
    assert_int_equal(count(b, "\"time_unix_nano\""), 2);
    free(b);
    b = get(f, "/api/v1/logs", "service=db", &st);
    assert_int_equal(count(b, "\"time_unix_nano\""), 1);
    free(b);
    b = get(f, "/api/v1/logs", "start=yesterday", &st);
    assert_int_equal(st, 400);
    assert_non_null(strstr(b, "parameter start"));
    free(b);
    b = get(f, "/api/v1/logs", "q=%zz", &st);
    assert_int_equal(st, 400);
    free(b);
    b = get(f, "/api/v1/logs", "limit=-1", &st);
    assert_int_equal(st, 400);
    free(b);

    b = get(f, "/api/v1/services", "", &st);
    assert_int_equal(st, 200);
    assert_string_equal(b, "{\"services\":[{\"name\":\"db\",\"logs\":1,\"logs_with_trace_id\":1,"
                           "\"spans\":1,\"metric_points\":0,\"coverage\":1.0000},"
                           "{\"name\":\"web\",\"logs\":3,\"logs_with_trace_id\":2,\"spans\":1,"
                           "\"metric_points\":0,\"coverage\":0.6667}]}");
    free(b);

    b = get(f, "/metrics", "", &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(b, "braid_store_rows{signal=\"logs\"} 4"));
    assert_non_null(strstr(b, "braid_query_duration_seconds_count"));
    free(b);
    b = get(f, "/readyz", "", &st);
    assert_int_equal(st, 503);
    free(b);
    api_set_ready(f->a, true);
    b = get(f, "/readyz", "", &st);
    assert_int_equal(st, 200);
    free(b);
    b = get(f, "/nope", "", &st);
    assert_int_equal(st, 404);
    free(b);
    api_response r;
    api_handle(f->a, BSLICE_LIT("POST"), BSLICE_LIT("/api/v1/logs"), BSLICE_LIT(""), &r);
    assert_int_equal(r.status, 405);
    api_response_free(&r);

    /* After a flush the same answers come from parts. */
    assert_int_equal(0, store_flush(f->s));
    b = get(f, "/api/v1/traces/00000000000000000000000000000011", "", &st);
    assert_int_equal(st, 200);
    assert_int_equal(count(b, "\"time_unix_nano\""), 3);
    free(b);
    b = get(f, "/api/v1/logs", "", &st);
    assert_int_equal(count(b, "\"time_unix_nano\""), 4);
    free(b);
}

static void put_f64(buf *b, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, 8);
    buf_put_u64le(b, bits);
}

/* An explicit-bounds histogram payload with bounds {1,2,4}. */
static bslice hist_payload(buf *b, const uint64_t counts[4])
{
    uint64_t total = counts[0] + counts[1] + counts[2] + counts[3];
    buf_put_u64le(b, total);
    put_f64(b, 0);
    buf_putc(b, 0);
    put_f64(b, 0);
    buf_putc(b, 0);
    put_f64(b, 0);
    buf_putc(b, 0);
    buf_put_u32le(b, 4);
    for (int i = 0; i < 4; i++)
        buf_put_u64le(b, counts[i]);
    buf_put_u32le(b, 3);
    put_f64(b, 1);
    put_f64(b, 2);
    put_f64(b, 4);
    return (bslice){b->p, b->n};
}

/* /api/v1/correlation: off without a health tracker, 400 on bad
 * parameters, the report for a service otherwise. */
static void test_correlation(void **state)
{
    fixture *f = *state;
    int st;
    char *b = get(f, "/api/v1/correlation", "", &st);
    assert_int_equal(st, 404);
    assert_non_null(strstr(b, "correlation health is off"));
    free(b);
    health *h;
    assert_int_equal(health_new(NULL, &h), 0);
    api_set_health(f->a, h);
    model_origin web = {.service = BSLICE_LIT("web")};
    model_log logs[2] = {{.origin = &web, .time_ns = now_unix_ns()},
                         {.origin = &web, .time_ns = now_unix_ns()}};
    logs[0].trace_id.b[15] = 7;
    logs[0].id_form = ID_FORM_BINARY;
    model_span sp = {.origin = &web, .start_ns = now_unix_ns(), .kind = 2};
    sp.trace_id.b[15] = 7;
    sp.span_id.b[7] = 1;
    store_rows r = {.logs = logs, .nlogs = 2, .spans = &sp, .nspans = 1};
    health_observe(h, &r);
    b = get(f, "/api/v1/correlation", "service=web&start=15m", &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(b, "\"service\":\"web\",\"logs\":2,\"logs_with_trace_id\":1,"));
    assert_non_null(strstr(b, "\"ok\":true"));
    free(b);
    b = get(f, "/api/v1/correlation", "start=yesterday-ish", &st);
    assert_int_equal(st, 400);
    assert_non_null(strstr(b, "start"));
    free(b);
    b = get(f, "/api/v1/correlation", "service=%zz", &st);
    assert_int_equal(st, 400);
    free(b);
    b = get(f, "/api/v1/correlation", "start=1h&end=2h", &st);
    assert_int_equal(st, 400);
    free(b);
    api_set_health(f->a, NULL);
    health_free(h);
}

static void test_metrics_queries(void **state)
{
    fixture *f = *state;
    const uint64_t s = 1000000000ull, T0 = (now_unix_ns() / s - 600) * s;
    model_batch b;
    model_batch_init(&b);
    model_origin *oa = model_batch_add_origin(&b), *ob = model_batch_add_origin(&b);
    oa->service = BSLICE_LIT("a");
    ob->service = BSLICE_LIT("b");
    struct {
        const char *name;
        uint8_t type, temp, mono;
        model_origin *o;
        uint64_t t, start;
        double v;
    } pts[] = {
        {"g", METRIC_GAUGE, 0, 0, oa, T0 + 1 * s, 0, 2},
        {"g", METRIC_GAUGE, 0, 0, oa, T0 + 2 * s, 0, 4},
        {"c", METRIC_SUM, 2, 1, oa, T0 + 1 * s, T0, 10},
        {"c", METRIC_SUM, 2, 1, oa, T0 + 11 * s, T0, 30},
        {"c", METRIC_SUM, 2, 1, oa, T0 + 21 * s, T0 + 20 * s, 5}, /* restarted */
    };
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        model_metric *m = model_batch_add_metric(&b);
        m->origin = pts[i].o;
        m->name = bslice_cstr(pts[i].name);
        m->type = pts[i].type;
        m->temporality = pts[i].temp;
        m->monotonic = pts[i].mono;
        m->time_ns = pts[i].t;
        m->start_ns = pts[i].start;
        m->value_double = pts[i].v;
    }
    buf ha, hb;
    buf_init(&ha);
    buf_init(&hb);
    const uint64_t ca[4] = {0, 10, 0, 0}, cb[4] = {10, 0, 0, 0};
    model_origin *os[2] = {oa, ob};
    bslice pls[2] = {hist_payload(&ha, ca), hist_payload(&hb, cb)};
    for (int i = 0; i < 2; i++) {
        model_metric *m = model_batch_add_metric(&b);
        m->origin = os[i];
        m->name = BSLICE_LIT("h");
        m->unit = BSLICE_LIT("s");
        m->type = METRIC_HISTOGRAM;
        m->temporality = 1;
        m->time_ns = T0 + 1 * s;
        m->payload = pls[i];
        model_exemplar *x = model_batch_add_exemplar(&b);
        x->origin = os[i];
        x->metric_name = BSLICE_LIT("h");
        x->time_ns = T0 + 1 * s;
        x->value_double = 1.5;
        x->trace_id.b[0] = (uint8_t)(0x10 + i);
        x->bucket = 1;
    }
    assert_int_equal(0, store_append(f->s, &b));
    model_batch_free(&b);
    buf_free(&ha);
    buf_free(&hb);

    char q[256];
    int st;
    snprintf(q, sizeof q, "start=%llu&end=%llu", (unsigned long long)(T0 / s),
             (unsigned long long)(T0 / s + 59));
    char *r = get(f, "/api/v1/metrics", q, &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(r,
                           "{\"name\":\"c\",\"type\":\"sum\",\"unit\":\"\",\"description\":\"\","
                           "\"monotonic\":true,\"temporality\":\"cumulative\",\"services\":[\"a\"],"
                           "\"series_count\":1,\"point_count\":3,\"exemplar_count\":0}"));
    assert_non_null(strstr(r, "\"name\":\"h\",\"type\":\"histogram\",\"unit\":\"s\""));
    assert_non_null(strstr(r, "\"series_count\":2,\"point_count\":2,\"exemplar_count\":2"));
    free(r);

    snprintf(q, sizeof q, "start=%llu&end=%llu&step=10s", (unsigned long long)(T0 / s),
             (unsigned long long)(T0 / s + 59));
    r = get(f, "/api/v1/metrics/g", q, &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(r, "\"labels\":{\"service\":\"a\"},\"points\":[{\"t\":"));
    assert_non_null(strstr(r, ",\"v\":3},"));
    free(r);
    r = get(f, "/api/v1/metrics/c", q, &st);
    assert_int_equal(st, 200);
    /* Step 0 has no earlier point to diff against; step 1 grew by 20 over
     * 10 s; step 2 restarted at 5. */
    assert_non_null(strstr(r, ",\"v\":null},"));
    assert_non_null(strstr(r, ",\"v\":2},"));
    assert_non_null(strstr(r, ",\"v\":0.5},"));
    free(r);
    char q2[300];
    snprintf(q2, sizeof q2, "%s&quantile=0.5", q);
    r = get(f, "/api/v1/metrics/h", q2, &st);
    assert_int_equal(st, 200);
    assert_non_null(strstr(r, "\"labels\":{\"service\":\"a\"},\"points\":[{\"t\":\""));
    assert_non_null(strstr(r, ",\"v\":1.5},"));
    assert_non_null(strstr(r, ",\"v\":0.5},"));
    assert_int_equal(count(r, "\"trace_id\":\"1"), 2);
    free(r);
    snprintf(q2, sizeof q2, "%s&by=none", q);
    r = get(f, "/api/v1/metrics/h", q2, &st);
    assert_int_equal(count(r, "\"labels\":{},\"points\""), 1);
    free(r);
    r = get(f, "/api/v1/metrics/nope", q, &st);
    assert_int_equal(st, 404);
    free(r);
    r = get(f, "/api/v1/metrics/h", "quantile=2", &st);
    assert_int_equal(st, 400);
    free(r);
    r = get(f, "/api/v1/metrics/h", "start=0&step=1ms", &st);
    assert_int_equal(st, 400);
    assert_non_null(strstr(r, "more than 11000"));
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time_table),
        cmocka_unit_test(test_span_json),
        cmocka_unit_test(test_log_and_exemplar_json),
        cmocka_unit_test_setup_teardown(test_handlers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_correlation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

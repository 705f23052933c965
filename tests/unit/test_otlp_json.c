/* Tests for src/otlp/otlp_json.c: OTLP/JSON documents (one exactly as the
 * OpenTelemetry JS SDK's http/json exporter writes them) decoded into rows
 * whose every field is asserted; AnyValue forms; record rejections (partial
 * success) and malformed messages with their exact messages; responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "otlp/otlp.h"

/* ---- helpers ---- */

static int decode(otlp_kind k, const char *doc, model_batch *b, char *err)
{
    model_batch_init(b);
    return otlp_decode_json(k, (const uint8_t *)doc, strlen(doc), b, err, 256);
}

#define assert_slice(s, want) assert_slice_at((s), (want), __LINE__)
static void assert_slice_at(bslice s, const char *want, int line)
{
    if (!bslice_eq_cstr(s, want))
        fail_msg("line %d: got \"%.*s\" want \"%s\"", line, (int)s.n, s.p ? (const char *)s.p : "",
                 want);
}

#define assert_attrs_json(a, want) assert_attrs_json_at((a), (want), __LINE__)
static void assert_attrs_json_at(bslice a, const char *want, int line)
{
    assert_int_equal(av_validate_attrs(a), 0);
    buf j;
    buf_init(&j);
    av_attrs_to_json(&j, a);
    buf_putc(&j, 0);
    if (strcmp((char *)j.p, want) != 0)
        fail_msg("line %d: got %s want %s", line, (char *)j.p, want);
    buf_free(&j);
}

#define assert_bytes(got, want) assert_bytes_at((got), (want), __LINE__)
static void assert_bytes_at(bslice got, const buf *want, int line)
{
    if (got.n != want->n || (got.n && memcmp(got.p, want->p, got.n) != 0))
        fail_msg("line %d: encoding differs (%zu bytes, want %zu)", line, got.n, want->n);
}

static void assert_hex(const uint8_t *b, size_t n, const char *hex)
{
    char s[33];
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", b[i]);
    assert_string_equal(s, hex);
}

static void put_f64(buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    buf_put_u64le(b, bits);
}

static void put_kv_str(buf *b, const char *k, const char *v)
{
    av_put_key(b, bslice_cstr(k));
    av_put_str(b, bslice_cstr(v));
}

/* Every encoding a row carries must pass the model's validators. */
static void assert_batch_valid(const model_batch *b)
{
    for (size_t i = 0; i < b->nlogs; i++) {
        assert_int_equal(av_validate_attrs(b->logs[i].attrs), 0);
        if (b->logs[i].body.n)
            assert_int_equal(av_validate_value(b->logs[i].body), 0);
        assert_int_equal(av_validate_attrs(b->logs[i].origin->resource_attrs), 0);
        assert_int_equal(av_validate_attrs(b->logs[i].origin->scope_attrs), 0);
    }
    for (size_t i = 0; i < b->nspans; i++) {
        assert_int_equal(av_validate_attrs(b->spans[i].attrs), 0);
        assert_int_equal(model_validate_events(b->spans[i].events), 0);
        assert_int_equal(model_validate_links(b->spans[i].links), 0);
    }
    for (size_t i = 0; i < b->nmetrics; i++) {
        assert_int_equal(av_validate_attrs(b->metrics[i].attrs), 0);
        assert_int_equal(av_validate_attrs(b->metrics[i].metadata), 0);
    }
    for (size_t i = 0; i < b->nexemplars; i++)
        assert_int_equal(av_validate_attrs(b->exemplars[i].filtered_attrs), 0);
}

/* ---- traces, exactly as the JS SDK's JsonTraceSerializer writes them ---- */

static const char js_traces[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
    "{\"key\":\"telemetry.sdk.language\",\"value\":{\"stringValue\":\"nodejs\"}},"
    "{\"key\":\"telemetry.sdk.name\",\"value\":{\"stringValue\":\"opentelemetry\"}},"
    "{\"key\":\"telemetry.sdk.version\",\"value\":{\"stringValue\":\"1.30.1\"}},"
    "{\"key\":\"process.pid\",\"value\":{\"intValue\":4242}}],"
    "\"droppedAttributesCount\":0},"
    "\"scopeSpans\":[{\"scope\":{\"name\":\"checkout-app\",\"version\":\"0.1.0\"},\"spans\":["
    "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\","
    "\"parentSpanId\":\"eee19b7ec3c1b173\",\"name\":\"POST /cart/checkout\",\"kind\":2,"
    "\"startTimeUnixNano\":\"1700000000123456789\",\"endTimeUnixNano\":\"1700000000623456789\","
    "\"attributes\":[{\"key\":\"http.method\",\"value\":{\"stringValue\":\"POST\"}},"
    "{\"key\":\"http.status_code\",\"value\":{\"intValue\":500}},"
    "{\"key\":\"retry\",\"value\":{\"boolValue\":true}},"
    "{\"key\":\"ratio\",\"value\":{\"doubleValue\":0.5}}],"
    "\"droppedAttributesCount\":0,"
    "\"events\":[{\"attributes\":[{\"key\":\"exception.type\",\"value\":{\"stringValue\":"
    "\"TimeoutError\"}}],\"name\":\"exception\",\"timeUnixNano\":\"1700000000600000000\","
    "\"droppedAttributesCount\":0}],"
    "\"droppedEventsCount\":0,\"status\":{\"code\":2,\"message\":\"payment timed out\"},"
    "\"links\":[],\"droppedLinksCount\":0},"
    "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b173\","
    "\"name\":\"checkout\",\"kind\":1,\"startTimeUnixNano\":1700000000000000000,"
    "\"endTimeUnixNano\":1700000001000000000,\"attributes\":[],\"droppedAttributesCount\":0,"
    "\"events\":[],\"droppedEventsCount\":0,\"status\":{\"code\":0},"
    "\"links\":[{\"attributes\":[{\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}}],"
    "\"spanId\":\"00f067aa0ba902b7\",\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
    "\"traceState\":\"rojo=00f067aa0ba902b7\",\"droppedAttributesCount\":2}],"
    "\"droppedLinksCount\":0,\"flags\":257}]}]}]}";

static void test_js_sdk_traces(void **state)
{
    (void)state;
    model_batch b;
    char err[256];
    assert_int_equal(decode(OTLP_TRACES, js_traces, &b, err), 0);
    assert_string_equal(err, "");
    assert_int_equal(b.nspans, 2);
    assert_int_equal(b.rejected, 0);
    assert_batch_valid(&b);

    const model_span *s = &b.spans[0];
    const model_origin *o = s->origin;
    assert_non_null(o);
    assert_ptr_equal(b.spans[1].origin, o);
    assert_slice(o->service, "checkout");
    assert_attrs_json(o->resource_attrs,
                      "{\"service.name\":\"checkout\",\"telemetry.sdk.language\":\"nodejs\","
                      "\"telemetry.sdk.name\":\"opentelemetry\",\"telemetry.sdk.version\":"
                      "\"1.30.1\",\"process.pid\":4242}");
    assert_int_equal(o->resource_dropped, 0);
    assert_int_equal(o->resource_schema_url.n, 0);
    assert_slice(o->scope_name, "checkout-app");
    assert_slice(o->scope_version, "0.1.0");
    assert_int_equal(o->scope_attrs.n, 0);
    assert_int_equal(o->scope_dropped, 0);
    assert_int_equal(o->scope_schema_url.n, 0);

    assert_hex(s->trace_id.b, 16, "5b8efff798038103d269b633813fc60c");
    assert_hex(s->span_id.b, 8, "eee19b7ec3c1b174");
    assert_hex(s->parent_span_id.b, 8, "eee19b7ec3c1b173");
    assert_int_equal(s->trace_state.n, 0);
    assert_int_equal(s->flags, 0);
    assert_slice(s->name, "POST /cart/checkout");
    assert_int_equal(s->kind, 2);
    assert_true(s->start_ns == 1700000000123456789ull);
    assert_true(s->end_ns == 1700000000623456789ull);
    assert_attrs_json(s->attrs, "{\"http.method\":\"POST\",\"http.status_code\":500,"
                                "\"retry\":true,\"ratio\":0.5}");
    /* The attrs encoding, byte for byte. */
    buf want;
    buf_init(&want);
    buf_put_u32le(&want, 4);
    put_kv_str(&want, "http.method", "POST");
    av_put_key(&want, BSLICE_LIT("http.status_code"));
    av_put_int(&want, 500);
    av_put_key(&want, BSLICE_LIT("retry"));
    av_put_bool(&want, true);
    av_put_key(&want, BSLICE_LIT("ratio"));
    av_put_double(&want, 0.5);
    assert_bytes(s->attrs, &want);
    assert_int_equal(s->dropped_attrs, 0);
    /* Events, byte for byte. */
    buf_reset(&want);
    buf_put_u32le(&want, 1);
    buf_put_u64le(&want, 1700000000600000000ull);
    buf_put_u32le(&want, 9);
    buf_append(&want, "exception", 9);
    buf ea;
    buf_init(&ea);
    buf_put_u32le(&ea, 1);
    put_kv_str(&ea, "exception.type", "TimeoutError");
    buf_put_u32le(&want, (uint32_t)ea.n);
    buf_append(&want, ea.p, ea.n);
    buf_put_u32le(&want, 0);
    assert_bytes(s->events, &want);
    assert_int_equal(s->dropped_events, 0);
    assert_int_equal(s->links.n, 0);
    assert_int_equal(s->dropped_links, 0);
    assert_int_equal(s->status_code, 2);
    assert_slice(s->status_message, "payment timed out");

    s = &b.spans[1];
    assert_hex(s->span_id.b, 8, "eee19b7ec3c1b173");
    assert_hex(s->parent_span_id.b, 8, "0000000000000000");
    assert_slice(s->name, "checkout");
    assert_int_equal(s->kind, 1);
    assert_true(s->start_ns == 1700000000000000000ull);
    assert_true(s->end_ns == 1700000001000000000ull);
    assert_int_equal(s->attrs.n, 0);
    assert_int_equal(s->events.n, 0);
    assert_int_equal(s->status_code, 0);
    assert_int_equal(s->status_message.n, 0);
    assert_int_equal(s->flags, 257);
    /* Links, byte for byte. */
    buf_reset(&want);
    buf_put_u32le(&want, 1);
    const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                             0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    const uint8_t sid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    buf_append(&want, tid, 16);
    buf_append(&want, sid, 8);
    buf_put_u32le(&want, 21);
    buf_append(&want, "rojo=00f067aa0ba902b7", 21);
    buf_reset(&ea);
    buf_put_u32le(&ea, 1);
    put_kv_str(&ea, "k", "v");
    buf_put_u32le(&want, (uint32_t)ea.n);
    buf_append(&want, ea.p, ea.n);
    buf_put_u32le(&want, 2);
    buf_put_u32le(&want, 0);
    assert_bytes(s->links, &want);
    buf_free(&ea);
    buf_free(&want);
    model_batch_free(&b);
}

/* The same spans spelled with the proto field names and enum names give the
 * same rows. */
static void test_snake_case_and_enum_names(void **state)
{
    (void)state;
    static const char snake[] =
        "{\"resource_spans\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"service.name\",\"value\":{\"string_value\":\"checkout\"}}],"
        "\"dropped_attributes_count\":3},\"schema_url\":\"https://x/1\","
        "\"scope_spans\":[{\"scope\":{\"name\":\"s\",\"dropped_attributes_count\":1},"
        "\"schema_url\":\"https://x/2\",\"spans\":[{"
        "\"trace_id\":\"5B8EFFF798038103D269B633813FC60C\",\"span_id\":\"EEE19B7EC3C1B174\","
        "\"parent_span_id\":\"\",\"trace_state\":\"a=b\",\"name\":\"GET\","
        "\"kind\":\"SPAN_KIND_SERVER\",\"start_time_unix_nano\":\"5\","
        "\"end_time_unix_nano\":\"6\",\"dropped_attributes_count\":\"7\","
        "\"dropped_events_count\":8,\"dropped_links_count\":9,"
        "\"status\":{\"code\":\"STATUS_CODE_ERROR\",\"message\":\"m\"}}]}]}]}";
    model_batch b;
    char err[256];
    assert_int_equal(decode(OTLP_TRACES, snake, &b, err), 0);
    assert_int_equal(b.nspans, 1);
    const model_span *s = &b.spans[0];
    assert_slice(s->origin->service, "checkout");
    assert_int_equal(s->origin->resource_dropped, 3);
    assert_slice(s->origin->resource_schema_url, "https://x/1");
    assert_slice(s->origin->scope_name, "s");
    assert_int_equal(s->origin->scope_version.n, 0);
    assert_int_equal(s->origin->scope_dropped, 1);
    assert_slice(s->origin->scope_schema_url, "https://x/2");
    assert_hex(s->trace_id.b, 16, "5b8efff798038103d269b633813fc60c");
    assert_hex(s->span_id.b, 8, "eee19b7ec3c1b174");
    assert_hex(s->parent_span_id.b, 8, "0000000000000000");
    assert_slice(s->trace_state, "a=b");
    assert_slice(s->name, "GET");
    assert_int_equal(s->kind, 2);
    assert_true(s->start_ns == 5 && s->end_ns == 6);
    assert_int_equal(s->dropped_attrs, 7);
    assert_int_equal(s->dropped_events, 8);
    assert_int_equal(s->dropped_links, 9);
    assert_int_equal(s->status_code, 2);
    assert_slice(s->status_message, "m");
    model_batch_free(&b);
}

/* Each resource+scope pair gets its own origin; unknown fields and nulls are
 * ignored; strings with escapes are decoded. */
static void test_origins_unknown_and_null(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"unknownTop\":{\"deep\":[1,2,{\"x\":null}]},\"resourceSpans\":["
        "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
        "\"a\\u00e9\"}}],\"entityRefs\":[]},\"scopeSpans\":["
        "{\"scope\":{\"name\":\"one\"},\"spans\":[{\"traceId\":"
        "\"5b8efff798038103d269b633813fc60c\","
        "\"spanId\":\"eee19b7ec3c1b174\",\"name\":\"x\\ty\",\"traceState\":null,\"kind\":null,"
        "\"somethingNew\":42}]},"
        "{\"scope\":null,\"spans\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\","
        "\"spanId\":\"eee19b7ec3c1b175\",\"status\":null,\"events\":null}]},"
        "{\"scope\":{\"name\":\"empty\"}}]},"
        "{\"resource\":null,\"scopeSpans\":[{\"spans\":[{\"traceId\":"
        "\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b176\"}]}]},"
        "{\"scopeSpans\":null},{}]}";
    model_batch b;
    char err[256];
    assert_int_equal(decode(OTLP_TRACES, doc, &b, err), 0);
    assert_int_equal(b.nspans, 3);
    assert_int_equal(b.rejected, 0);
    const model_origin *o0 = b.spans[0].origin, *o1 = b.spans[1].origin, *o2 = b.spans[2].origin;
    assert_true(o0 != o1 && o1 != o2 && o0 != o2);
    assert_slice(o0->service, "a\xc3\xa9");
    assert_slice(o1->service, "a\xc3\xa9");
    assert_ptr_equal(o0->resource_attrs.p, o1->resource_attrs.p);
    assert_slice(o0->scope_name, "one");
    assert_int_equal(o1->scope_name.n, 0);
    assert_int_equal(o2->service.n, 0);
    assert_int_equal(o2->resource_attrs.n, 0);
    assert_slice(b.spans[0].name, "x\ty");
    assert_int_equal(b.spans[0].kind, 0);
    assert_int_equal(b.spans[0].trace_state.n, 0);
    assert_int_equal(b.spans[1].status_code, 0);
    model_batch_free(&b);
}

/* ---- logs ---- */

static const char js_logs[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"checkout\"}}],\"droppedAttributesCount\":0},"
    "\"scopeLogs\":[{\"scope\":{\"name\":\"checkout-logger\"},\"logRecords\":["
    "{\"timeUnixNano\":\"1700000000500000000\",\"observedTimeUnixNano\":"
    "\"1700000000500000123\",\"severityNumber\":17,\"severityText\":\"ERROR\","
    "\"body\":{\"stringValue\":\"payment provider timed out\"},"
    "\"attributes\":[{\"key\":\"order.id\",\"value\":{\"stringValue\":\"A-1001\"}}],"
    "\"droppedAttributesCount\":0,\"flags\":1,"
    "\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\"},"
    "{\"timeUnixNano\":1700000000000000000,\"severityNumber\":\"SEVERITY_NUMBER_INFO2\","
    "\"body\":{\"kvlistValue\":{\"values\":[{\"key\":\"msg\",\"value\":{\"stringValue\":"
    "\"hi\"}},{\"key\":\"n\",\"value\":{\"intValue\":\"-3\"}}]}},"
    "\"eventName\":\"app.start\",\"droppedAttributesCount\":4,"
    "\"traceId\":\"5B8EFFF798038103D269B633813FC60C\",\"spanId\":\"\"},"
    "{\"traceId\":\"00000000000000000000000000000000\",\"spanId\":\"0000000000000000\","
    "\"body\":{}}]}]}]}";

static void test_js_sdk_logs(void **state)
{
    (void)state;
    model_batch b;
    char err[256];
    assert_int_equal(decode(OTLP_LOGS, js_logs, &b, err), 0);
    assert_int_equal(b.nlogs, 3);
    assert_int_equal(b.rejected, 0);
    assert_batch_valid(&b);

    const model_log *l = &b.logs[0];
    assert_slice(l->origin->service, "checkout");
    assert_slice(l->origin->scope_name, "checkout-logger");
    assert_true(l->time_ns == 1700000000500000000ull);
    assert_true(l->observed_ns == 1700000000500000123ull);
    assert_int_equal(l->severity_number, 17);
    assert_slice(l->severity_text, "ERROR");
    buf want;
    buf_init(&want);
    av_put_str(&want, BSLICE_LIT("payment provider timed out"));
    assert_bytes(l->body, &want);
    assert_attrs_json(l->attrs, "{\"order.id\":\"A-1001\"}");
    assert_int_equal(l->dropped_attrs, 0);
    assert_int_equal(l->flags, 1);
    assert_hex(l->trace_id.b, 16, "5b8efff798038103d269b633813fc60c");
    assert_hex(l->span_id.b, 8, "eee19b7ec3c1b174");
    assert_int_equal(l->id_form, ID_FORM_HEX32);
    assert_int_equal(l->id_field.n, 0);
    assert_slice(l->source, "otlp");
    assert_int_equal(l->event_name.n, 0);

    l = &b.logs[1];
    assert_true(l->time_ns == 1700000000000000000ull);
    assert_true(l->observed_ns == 0);
    assert_int_equal(l->severity_number, 10);
    assert_int_equal(l->severity_text.n, 0);
    buf_reset(&want);
    size_t pos = av_begin_kvlist(&want);
    put_kv_str(&want, "msg", "hi");
    av_put_key(&want, BSLICE_LIT("n"));
    av_put_int(&want, -3);
    av_end_count(&want, pos, 2);
    assert_bytes(l->body, &want);
    assert_int_equal(l->attrs.n, 0);
    assert_int_equal(l->dropped_attrs, 4);
    assert_int_equal(l->flags, 0);
    assert_hex(l->trace_id.b, 16, "5b8efff798038103d269b633813fc60c");
    assert_hex(l->span_id.b, 8, "0000000000000000");
    assert_int_equal(l->id_form, ID_FORM_HEX32_UPPER);
    assert_slice(l->event_name, "app.start");
    assert_slice(l->source, "otlp");

    /* All-zero ids mean "no id"; an empty AnyValue body is AV_EMPTY. */
    l = &b.logs[2];
    assert_true(trace_id_is_zero(&l->trace_id));
    assert_true(span_id_is_zero(&l->span_id));
    assert_int_equal(l->id_form, ID_FORM_NONE);
    assert_int_equal(l->body.n, 1);
    assert_int_equal(l->body.p[0], AV_EMPTY);
    buf_free(&want);
    model_batch_free(&b);
}

/* ---- AnyValue forms, through a log body ---- */

typedef struct {
    const char *value; /* AnyValue JSON */
    uint8_t tag;
    const char *rendered; /* av_value_to_json of the result */
    const char *why;
} av_case;

static const av_case av_cases[] = {
    {"{\"stringValue\":\"a\\\"b\\u00e9\\ud83d\\ude00\"}", AV_STR,
     "\"a\\\"b\xc3\xa9\xf0\x9f\x98\x80\"", "string with escapes and a surrogate pair"},
    {"{\"string_value\":\"snake\"}", AV_STR, "\"snake\"", "proto field name"},
    {"{\"stringValue\":\"\"}", AV_STR, "\"\"", "empty string is a string"},
    {"{\"boolValue\":false}", AV_BOOL, "false", "false"},
    {"{\"intValue\":\"-9223372036854775808\"}", AV_INT, "-9223372036854775808",
     "INT64_MIN as a string"},
    {"{\"intValue\":9223372036854775807}", AV_INT, "9223372036854775807", "INT64_MAX as a number"},
    {"{\"intValue\":1e3}", AV_INT, "1000", "exponent form of an integer"},
    {"{\"doubleValue\":2.5}", AV_DOUBLE, "2.5", "double"},
    {"{\"doubleValue\":\"NaN\"}", AV_DOUBLE, "\"NaN\"", "NaN string"},
    {"{\"doubleValue\":\"Infinity\"}", AV_DOUBLE, "\"Infinity\"", "Infinity string"},
    {"{\"doubleValue\":\"-Infinity\"}", AV_DOUBLE, "\"-Infinity\"", "-Infinity string"},
    {"{\"doubleValue\":\"0.25\"}", AV_DOUBLE, "0.25", "double as a string"},
    {"{\"doubleValue\":7}", AV_DOUBLE, "7", "integral double stays a double"},
    {"{\"bytesValue\":\"AQID\"}", AV_BYTES, "\"AQID\"", "base64 without padding need"},
    {"{\"bytesValue\":\"AQI=\"}", AV_BYTES, "\"AQI=\"", "base64 with padding"},
    {"{\"bytesValue\":\"AQI\"}", AV_BYTES, "\"AQI=\"", "base64 with padding left off"},
    {"{\"bytesValue\":\"_-8\"}", AV_BYTES, "\"/+8=\"", "URL-safe alphabet"},
    {"{\"bytesValue\":\"\"}", AV_BYTES, "\"\"", "empty bytes"},
    {"{\"arrayValue\":{\"values\":[{\"stringValue\":\"x\"},{\"doubleValue\":1.5},null,{}]}}",
     AV_ARRAY, "[\"x\",1.5,null,null]", "array with null and empty elements"},
    {"{\"arrayValue\":{}}", AV_ARRAY, "[]", "array without values"},
    {"{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":{\"arrayValue\":{\"values\":"
     "[{\"boolValue\":true}]}}},{\"key\":\"b\"},{\"value\":{\"intValue\":1}}]}}",
     AV_KVLIST, "{\"a\":[true],\"b\":null,\"\":1}", "kvlist with missing value and key"},
    {"{}", AV_EMPTY, "null", "no value set"},
    {"{\"stringValue\":null}", AV_EMPTY, "null", "null member is absent"},
    {"{\"stringValue\":\"first\",\"intValue\":2}", AV_INT, "2", "oneof set twice: last wins"},
    {"{\"unknownValue\":1,\"boolValue\":true}", AV_BOOL, "true", "unknown member ignored"},
};

static void test_anyvalue_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof av_cases / sizeof av_cases[0]; c++) {
        const av_case *tc = &av_cases[c];
        char *doc = NULL;
        assert_true(asprintf(&doc,
                             "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":%s,"
                             "\"attributes\":[{\"key\":\"k\",\"value\":%s}]}]}]}]}",
                             tc->value, tc->value) > 0);
        model_batch b;
        char err[256];
        int rc = decode(OTLP_LOGS, doc, &b, err);
        if (rc != 0 || b.nlogs != 1)
            fail_msg("case %zu (%s): rc %d: %s", c, tc->why, rc, err);
        bslice body = b.logs[0].body;
        if (body.n == 0 || body.p[0] != tc->tag)
            fail_msg("case %zu (%s): tag %d want %d", c, tc->why, body.n ? body.p[0] : -1, tc->tag);
        buf j;
        buf_init(&j);
        av_value_to_json(&j, body);
        buf_putc(&j, 0);
        if (av_validate_value(body) != 0 || strcmp((char *)j.p, tc->rendered) != 0)
            fail_msg("case %zu (%s): got %s want %s", c, tc->why, (char *)j.p, tc->rendered);
        /* The same value as an attribute encodes the same bytes. */
        bslice v;
        assert_int_equal(av_find(b.logs[0].attrs, "k", &v), 1);
        assert_true(bslice_eq(v, body));
        buf_free(&j);
        model_batch_free(&b);
        free(doc);
    }
}

/* Nested arrays: the value at depth AV_MAX_DEPTH is kept, one deeper rejects
 * the record (not the message). */
static char *nested_body_doc(int levels, bool kvlist)
{
    buf d;
    buf_init(&d);
    buf_puts(&d, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":");
    for (int i = 0; i < levels; i++)
        buf_puts(&d, kvlist ? "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":"
                            : "{\"arrayValue\":{\"values\":[");
    buf_puts(&d, "{\"stringValue\":\"leaf\"}");
    for (int i = 0; i < levels; i++)
        buf_puts(&d, kvlist ? "}]}}" : "]}}");
    buf_puts(&d, "},{\"body\":{\"stringValue\":\"ok\"}}]}]}]}");
    buf_putc(&d, 0);
    return (char *)buf_detach(&d, NULL);
}

static void test_anyvalue_depth(void **state)
{
    (void)state;
    for (int kv = 0; kv < 2; kv++) {
        model_batch b;
        char err[256];
        char *doc = nested_body_doc(AV_MAX_DEPTH, kv);
        assert_int_equal(decode(OTLP_LOGS, doc, &b, err), 0);
        assert_int_equal(b.nlogs, 2);
        assert_int_equal(b.rejected, 0);
        assert_int_equal(av_validate_value(b.logs[0].body), 0);
        model_batch_free(&b);
        free(doc);

        doc = nested_body_doc(AV_MAX_DEPTH + 1, kv);
        assert_int_equal(decode(OTLP_LOGS, doc, &b, err), 0);
        assert_int_equal(b.nlogs, 1);
        assert_int_equal(b.rejected, 1);
        assert_string_equal(b.reject_msg, "resourceLogs[0].scopeLogs[0].logRecords[0]: value "
                                          "nested deeper than 32 levels");
        assert_int_equal(b.logs[0].body.n, 7);
        assert_memory_equal(b.logs[0].body.p, "\x01\x02\x00\x00\x00ok", 7);
        model_batch_free(&b);
        free(doc);
    }
    /* Past the reader's depth limit the message itself is refused. */
    model_batch b;
    char err[256];
    char *doc = nested_body_doc(200, false);
    assert_int_equal(decode(OTLP_LOGS, doc, &b, err), BRAID_EINVAL);
    assert_non_null(strstr(err, "nesting deeper than 512 levels"));
    assert_true(strncmp(err, "invalid JSON at byte ", 21) == 0);
    model_batch_free(&b);
    free(doc);
}

/* ---- metrics ---- */

static const char metrics_doc[] =
    "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"payments\"}}]},\"schemaUrl\":\"https://opentelemetry.io/schemas/1.24.0\","
    "\"scopeMetrics\":[{\"scope\":{\"name\":\"meter\",\"version\":\"2.0\",\"attributes\":"
    "[{\"key\":\"lib\",\"value\":{\"stringValue\":\"x\"}}],\"droppedAttributesCount\":1},"
    "\"schemaUrl\":\"s2\",\"metrics\":["
    /* 0: gauge, two points, double and int */
    "{\"name\":\"queue.depth\",\"description\":\"items\",\"unit\":\"{item}\",\"gauge\":"
    "{\"dataPoints\":[{\"attributes\":[{\"key\":\"q\",\"value\":{\"stringValue\":\"a\"}}],"
    "\"startTimeUnixNano\":\"1\",\"timeUnixNano\":\"2\",\"asDouble\":2.5,\"flags\":1},"
    "{\"timeUnixNano\":3,\"asInt\":\"-7\"}]}},"
    /* 1: monotonic cumulative sum with an exemplar and metadata */
    "{\"name\":\"requests\",\"sum\":{\"aggregationTemporality\":"
    "\"AGGREGATION_TEMPORALITY_CUMULATIVE\",\"isMonotonic\":true,\"dataPoints\":["
    "{\"timeUnixNano\":\"10\",\"asInt\":\"9223372036854775807\",\"exemplars\":[{"
    "\"timeUnixNano\":\"9\",\"asInt\":5,\"traceId\":\"5b8efff798038103d269b633813fc60c\","
    "\"spanId\":\"eee19b7ec3c1b174\",\"filteredAttributes\":[{\"key\":\"user\",\"value\":"
    "{\"stringValue\":\"u1\"}}]}]}]},\"metadata\":[{\"key\":\"m\",\"value\":{\"boolValue\":true}}]}"
    ","
    /* 2: delta histogram with two exemplars */
    "{\"name\":\"latency\",\"unit\":\"ms\",\"histogram\":{\"aggregationTemporality\":1,"
    "\"dataPoints\":[{\"attributes\":[{\"key\":\"route\",\"value\":{\"stringValue\":\"/pay\"}}],"
    "\"startTimeUnixNano\":\"100\",\"timeUnixNano\":\"200\",\"count\":\"6\",\"sum\":12.5,"
    "\"min\":0.5,\"max\":\"Infinity\",\"bucketCounts\":[\"1\",2,\"3\"],\"explicitBounds\":[1,5],"
    "\"exemplars\":[{\"timeUnixNano\":\"150\",\"asDouble\":3.0,\"traceId\":"
    "\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"00f067aa0ba902b7\"},"
    "{\"asDouble\":7.5,\"traceId\":\"\"}]}]}},"
    /* 3: exponential histogram */
    "{\"name\":\"size\",\"exponentialHistogram\":{\"aggregationTemporality\":2,\"dataPoints\":["
    "{\"timeUnixNano\":\"5\",\"count\":\"4\",\"sum\":\"10\",\"scale\":-2,\"zeroCount\":\"1\","
    "\"zeroThreshold\":0.25,\"positive\":{\"offset\":-1,\"bucketCounts\":[\"2\",\"1\"]},"
    "\"negative\":{},\"min\":-1,\"exemplars\":[{\"asInt\":3}]}]}},"
    /* 4: summary */
    "{\"name\":\"rpc.duration\",\"summary\":{\"dataPoints\":[{\"timeUnixNano\":\"7\","
    "\"count\":\"3\",\"sum\":6,\"quantileValues\":[{\"quantile\":0.5,\"value\":2},"
    "{\"quantile\":1,\"value\":3}]}]}},"
    /* 5: no data at all: no rows */
    "{\"name\":\"empty\"}]}]}]}";

static void test_metrics(void **state)
{
    (void)state;
    model_batch b;
    char err[256];
    assert_int_equal(decode(OTLP_METRICS, metrics_doc, &b, err), 0);
    assert_string_equal(err, "");
    assert_int_equal(b.nmetrics, 6);
    assert_int_equal(b.nexemplars, 4);
    assert_int_equal(b.rejected, 0);
    assert_batch_valid(&b);

    const model_origin *o = b.metrics[0].origin;
    for (size_t i = 0; i < b.nmetrics; i++)
        assert_ptr_equal(b.metrics[i].origin, o);
    assert_slice(o->service, "payments");
    assert_slice(o->resource_schema_url, "https://opentelemetry.io/schemas/1.24.0");
    assert_slice(o->scope_name, "meter");
    assert_slice(o->scope_version, "2.0");
    assert_attrs_json(o->scope_attrs, "{\"lib\":\"x\"}");
    assert_int_equal(o->scope_dropped, 1);
    assert_slice(o->scope_schema_url, "s2");

    const model_metric *m = &b.metrics[0];
    assert_slice(m->name, "queue.depth");
    assert_slice(m->description, "items");
    assert_slice(m->unit, "{item}");
    assert_int_equal(m->type, METRIC_GAUGE);
    assert_int_equal(m->temporality, 0);
    assert_int_equal(m->monotonic, 0);
    assert_int_equal(m->is_int, 0);
    assert_true(m->value_double == 2.5);
    assert_true(m->value_int == 0);
    assert_attrs_json(m->attrs, "{\"q\":\"a\"}");
    assert_true(m->start_ns == 1 && m->time_ns == 2);
    assert_int_equal(m->flags, 1);
    assert_int_equal(m->payload.n, 0);
    assert_int_equal(m->metadata.n, 0);

    m = &b.metrics[1];
    assert_slice(m->name, "queue.depth");
    assert_int_equal(m->type, METRIC_GAUGE);
    assert_int_equal(m->is_int, 1);
    assert_true(m->value_int == -7);
    assert_true(m->value_double == 0);
    assert_int_equal(m->attrs.n, 0);
    assert_true(m->start_ns == 0 && m->time_ns == 3);
    assert_int_equal(m->flags, 0);

    m = &b.metrics[2];
    assert_slice(m->name, "requests");
    assert_int_equal(m->description.n, 0);
    assert_int_equal(m->type, METRIC_SUM);
    assert_int_equal(m->temporality, 2);
    assert_int_equal(m->monotonic, 1);
    assert_int_equal(m->is_int, 1);
    assert_true(m->value_int == INT64_MAX);
    assert_true(m->time_ns == 10);
    assert_attrs_json(m->metadata, "{\"m\":true}");

    const model_exemplar *x = &b.exemplars[0];
    assert_ptr_equal(x->origin, o);
    assert_slice(x->metric_name, "requests");
    assert_int_equal(x->metric_type, METRIC_SUM);
    assert_int_equal(x->series_attrs.n, 0);
    assert_true(x->time_ns == 9);
    assert_int_equal(x->is_int, 1);
    assert_true(x->value_int == 5);
    assert_hex(x->trace_id.b, 16, "5b8efff798038103d269b633813fc60c");
    assert_hex(x->span_id.b, 8, "eee19b7ec3c1b174");
    assert_attrs_json(x->filtered_attrs, "{\"user\":\"u1\"}");
    assert_int_equal(x->bucket, -1);

    m = &b.metrics[3];
    assert_slice(m->name, "latency");
    assert_slice(m->unit, "ms");
    assert_int_equal(m->type, METRIC_HISTOGRAM);
    assert_int_equal(m->temporality, 1);
    assert_int_equal(m->monotonic, 0);
    assert_int_equal(m->is_int, 0);
    assert_true(m->start_ns == 100 && m->time_ns == 200);
    assert_attrs_json(m->attrs, "{\"route\":\"/pay\"}");
    buf want;
    buf_init(&want);
    buf_put_u64le(&want, 6);
    put_f64(&want, 12.5);
    buf_putc(&want, 1);
    put_f64(&want, 0.5);
    buf_putc(&want, 1);
    put_f64(&want, INFINITY);
    buf_putc(&want, 1);
    buf_put_u32le(&want, 3);
    buf_put_u64le(&want, 1);
    buf_put_u64le(&want, 2);
    buf_put_u64le(&want, 3);
    buf_put_u32le(&want, 2);
    put_f64(&want, 1);
    put_f64(&want, 5);
    assert_bytes(m->payload, &want);

    x = &b.exemplars[1];
    assert_slice(x->metric_name, "latency");
    assert_int_equal(x->metric_type, METRIC_HISTOGRAM);
    assert_true(bslice_eq(x->series_attrs, m->attrs));
    assert_true(x->time_ns == 150);
    assert_int_equal(x->is_int, 0);
    assert_true(x->value_double == 3.0);
    assert_hex(x->trace_id.b, 16, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_hex(x->span_id.b, 8, "00f067aa0ba902b7");
    assert_int_equal(x->filtered_attrs.n, 0);
    assert_int_equal(x->bucket, 1);
    x = &b.exemplars[2];
    assert_true(x->value_double == 7.5);
    assert_true(trace_id_is_zero(&x->trace_id));
    assert_true(span_id_is_zero(&x->span_id));
    assert_int_equal(x->bucket, 2);

    m = &b.metrics[4];
    assert_slice(m->name, "size");
    assert_int_equal(m->type, METRIC_EXP_HISTOGRAM);
    assert_int_equal(m->temporality, 2);
    assert_true(m->time_ns == 5);
    buf_reset(&want);
    buf_put_u64le(&want, 4);
    put_f64(&want, 10);
    buf_putc(&want, 1);
    buf_put_u32le(&want, (uint32_t)-2);
    buf_put_u64le(&want, 1);
    put_f64(&want, 0.25);
    put_f64(&want, -1);
    buf_putc(&want, 1);
    put_f64(&want, 0);
    buf_putc(&want, 0);
    buf_put_u32le(&want, (uint32_t)-1);
    buf_put_u32le(&want, 2);
    buf_put_u64le(&want, 2);
    buf_put_u64le(&want, 1);
    buf_put_u32le(&want, 0);
    buf_put_u32le(&want, 0);
    assert_bytes(m->payload, &want);
    x = &b.exemplars[3];
    assert_slice(x->metric_name, "size");
    assert_int_equal(x->metric_type, METRIC_EXP_HISTOGRAM);
    assert_int_equal(x->is_int, 1);
    assert_true(x->value_int == 3);
    assert_int_equal(x->bucket, -1);

    m = &b.metrics[5];
    assert_slice(m->name, "rpc.duration");
    assert_int_equal(m->type, METRIC_SUMMARY);
    assert_int_equal(m->temporality, 0);
    buf_reset(&want);
    buf_put_u64le(&want, 3);
    put_f64(&want, 6);
    buf_put_u32le(&want, 2);
    put_f64(&want, 0.5);
    put_f64(&want, 2);
    put_f64(&want, 1);
    put_f64(&want, 3);
    assert_bytes(m->payload, &want);
    buf_free(&want);
    model_batch_free(&b);
}

/* ---- partial success: records refused, message accepted ---- */

typedef struct {
    otlp_kind kind;
    const char *doc;
    size_t rows; /* spans, logs or metric points kept */
    uint64_t rejected;
    const char *msg; /* first reason */
    const char *why;
} partial_case;

#define SPAN1(fields)                                                                              \
    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"ok\",\"traceId\":"               \
    "\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\"}," fields "]}]}]}"
#define LOG1(fields) "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{}," fields "]}]}]}"
#define GAUGE1(point)                                                                              \
    "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"g\",\"gauge\":"            \
    "{\"dataPoints\":[{\"asInt\":1}," point "]}}]}]}]}"
#define TID "\"traceId\":\"5b8efff798038103d269b633813fc60c\""
#define SID "\"spanId\":\"eee19b7ec3c1b174\""
#define SPAN_AT "resourceSpans[0].scopeSpans[0].spans[1]: "
#define LOG_AT "resourceLogs[0].scopeLogs[0].logRecords[1]: "
#define POINT_AT "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[1]: "

static const partial_case partial_cases[] = {
    {OTLP_TRACES, SPAN1("{" SID "}"), 1, 1, SPAN_AT "traceId is not 32 hex digits or is all zero",
     "span without traceId"},
    {OTLP_TRACES, SPAN1("{\"traceId\":\"5b8efff798038103d269b633813fc60\"," SID "}"), 1, 1,
     SPAN_AT "traceId is not 32 hex digits or is all zero", "31 hex digits"},
    {OTLP_TRACES, SPAN1("{\"traceId\":\"5b8efff798038103d269b633813fc60cc\"," SID "}"), 1, 1,
     SPAN_AT "traceId is not 32 hex digits or is all zero", "33 hex digits"},
    {OTLP_TRACES, SPAN1("{\"traceId\":\"5b8efff798038103d269b633813fc60g\"," SID "}"), 1, 1,
     SPAN_AT "traceId is not 32 hex digits or is all zero", "non-hex digit"},
    {OTLP_TRACES, SPAN1("{\"traceId\":\"W47/95gDgQPSabYzgT/GDA==\"," SID "}"), 1, 1,
     SPAN_AT "traceId is not 32 hex digits or is all zero", "base64 id is not OTLP/JSON"},
    {OTLP_TRACES, SPAN1("{\"traceId\":\"00000000000000000000000000000000\"," SID "}"), 1, 1,
     SPAN_AT "traceId is not 32 hex digits or is all zero", "all-zero traceId"},
    {OTLP_TRACES, SPAN1("{" TID "}"), 1, 1, SPAN_AT "spanId is not 16 hex digits or is all zero",
     "span without spanId"},
    {OTLP_TRACES, SPAN1("{" TID ",\"spanId\":\"0000000000000000\"}"), 1, 1,
     SPAN_AT "spanId is not 16 hex digits or is all zero", "all-zero spanId"},
    {OTLP_TRACES, SPAN1("{" TID ",\"spanId\":\"eee19b7ec3c1b1\"}"), 1, 1,
     SPAN_AT "spanId is not 16 hex digits or is all zero", "short spanId"},
    {OTLP_TRACES, SPAN1("{" TID "," SID ",\"parentSpanId\":\"xyz\"}"), 1, 1,
     SPAN_AT "parentSpanId is not 16 hex digits", "malformed parentSpanId"},
    {OTLP_TRACES, SPAN1("{" TID "," SID ",\"parentSpanId\":\"0000000000000000\"}"), 2, 0, "",
     "all-zero parentSpanId is a root"},
    {OTLP_TRACES, SPAN1("{" TID "," SID ",\"links\":[{\"traceId\":\"abc\"}]}"), 1, 1,
     SPAN_AT "link traceId is not 32 hex digits", "malformed link traceId"},
    {OTLP_TRACES, SPAN1("{" TID "," SID ",\"links\":[{" TID ",\"spanId\":\"12\"}]}"), 1, 1,
     SPAN_AT "link spanId is not 16 hex digits", "malformed link spanId"},
    {OTLP_TRACES, SPAN1("{" SID "},{" TID "}"), 1, 2,
     SPAN_AT "traceId is not 32 hex digits or is all zero", "first reason kept, both counted"},
    {OTLP_LOGS, LOG1("{\"traceId\":\"123\"}"), 1, 1, LOG_AT "traceId is not 32 hex digits",
     "malformed log traceId"},
    {OTLP_LOGS, LOG1("{\"spanId\":\"eee19b7ec3c1b174ff\"}"), 1, 1,
     LOG_AT "spanId is not 16 hex digits", "malformed log spanId"},
    {OTLP_LOGS, LOG1("{\"traceId\":\"\",\"spanId\":\"\"}"), 2, 0, "", "empty ids mean none"},
    {OTLP_METRICS, GAUGE1("{\"asInt\":2,\"exemplars\":[{\"traceId\":\"zz\"}]}"), 1, 1,
     POINT_AT "exemplar traceId is not 32 hex digits", "exemplar traceId rejects its point"},
    {OTLP_METRICS, GAUGE1("{\"asInt\":2,\"exemplars\":[{" TID "},{\"spanId\":\"1\"}]}"), 1, 1,
     POINT_AT "exemplar spanId is not 16 hex digits", "exemplar spanId rejects its point"},
};

static void test_partial_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof partial_cases / sizeof partial_cases[0]; c++) {
        const partial_case *tc = &partial_cases[c];
        otlp_kind k = tc->kind;
        model_batch b;
        char err[256];
        int rc = decode(k, tc->doc, &b, err);
        if (rc != 0)
            fail_msg("case %zu (%s): rc %d: %s", c, tc->why, rc, err);
        size_t rows = k == OTLP_TRACES ? b.nspans : k == OTLP_LOGS ? b.nlogs : b.nmetrics;
        if (rows != tc->rows || b.rejected != tc->rejected)
            fail_msg("case %zu (%s): rows %zu rejected %llu", c, tc->why, rows,
                     (unsigned long long)b.rejected);
        if (strcmp(b.reject_msg, tc->msg) != 0)
            fail_msg("case %zu (%s): got \"%s\" want \"%s\"", c, tc->why, b.reject_msg, tc->msg);
        if (k == OTLP_METRICS)
            assert_int_equal(b.nexemplars, 0);
        assert_batch_valid(&b);
        model_batch_free(&b);
    }
}

/* A resource whose attributes are too deep refuses every record under it,
 * and only those. */
static void test_resource_too_deep(void **state)
{
    (void)state;
    buf d;
    buf_init(&d);
    buf_puts(&d, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"x\",\"value\":");
    for (int i = 0; i < AV_MAX_DEPTH + 1; i++)
        buf_puts(&d, "{\"arrayValue\":{\"values\":[");
    buf_puts(&d, "{}");
    for (int i = 0; i < AV_MAX_DEPTH + 1; i++)
        buf_puts(&d, "]}}");
    buf_puts(&d, "}]},\"scopeSpans\":[{\"spans\":[{" TID "," SID "},{" TID "," SID "}]},"
                 "{\"spans\":[{" TID "," SID "}]}]},"
                 "{\"scopeSpans\":[{\"spans\":[{" TID "," SID "}]}]}]}");
    buf_putc(&d, 0);
    model_batch b;
    char err[256];
    assert_int_equal(decode(OTLP_TRACES, (char *)d.p, &b, err), 0);
    assert_int_equal(b.nspans, 1);
    assert_int_equal(b.rejected, 3);
    assert_string_equal(b.reject_msg, "resourceSpans[0].scopeSpans[0].spans[0]: resource "
                                      "attribute value nested deeper than 32 levels");
    assert_int_equal(b.spans[0].origin->resource_attrs.n, 0);
    model_batch_free(&b);
    buf_free(&d);
}

/* ---- malformed messages ---- */

typedef struct {
    otlp_kind kind;
    const char *doc;
    const char *msg;
    const char *why;
} bad_case;

#define LOGS3(third) "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{},{}," third "]}]}]}"
#define LOGS3_AT "resourceLogs[0].scopeLogs[0].logRecords[2]."
#define SPANS(span) "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" span "]}]}]}"
#define SPANS_AT "resourceSpans[0].scopeSpans[0].spans[0]."
#define METRIC(m) "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[" m "]}]}]}"
#define METRIC_AT "resourceMetrics[0].scopeMetrics[0].metrics[0]."

static const bad_case bad_cases[] = {
    {OTLP_LOGS, "{", "invalid JSON at byte 1: unexpected end of input", "truncated JSON"},
    {OTLP_LOGS, "{\"resourceLogs\":[],}", "invalid JSON at byte 19: expected a string key",
     "trailing comma"},
    {OTLP_LOGS, "{\"resourceLogs\":[{\"x\":\"\xff\"}]}",
     "invalid JSON at byte 23: invalid UTF-8 in string", "invalid UTF-8"},
    {OTLP_LOGS, "", "invalid JSON at byte 0: empty input", "empty body"},
    {OTLP_LOGS, "[]", "request: expected a JSON object", "top level array"},
    {OTLP_LOGS, "{\"resourceLogs\":{}}", "resourceLogs: expected an array", "top field type"},
    {OTLP_LOGS, "{\"resourceLogs\":[5]}", "resourceLogs[0]: expected an object",
     "resource element type"},
    {OTLP_LOGS, "{\"resourceLogs\":[{\"resource\":\"x\"}]}",
     "resourceLogs[0].resource: expected an object", "resource type"},
    {OTLP_LOGS, "{\"resourceLogs\":[{\"resource\":{\"droppedAttributesCount\":-1}}]}",
     "resourceLogs[0].resource.droppedAttributesCount: integer out of range", "negative uint32"},
    {OTLP_LOGS, "{\"resourceLogs\":[{\"scopeLogs\":[{\"scope\":{\"name\":1}}]}]}",
     "resourceLogs[0].scopeLogs[0].scope.name: expected a string", "scope name type"},
    {OTLP_LOGS, LOGS3("{\"timeUnixNano\":\"abc\"}"), LOGS3_AT "timeUnixNano: expected an integer",
     "time as text"},
    {OTLP_LOGS, LOGS3("{\"timeUnixNano\":1.5}"), LOGS3_AT "timeUnixNano: expected an integer",
     "fractional time"},
    {OTLP_LOGS, LOGS3("{\"timeUnixNano\":\"-1\"}"), LOGS3_AT "timeUnixNano: integer out of range",
     "negative fixed64"},
    {OTLP_LOGS, LOGS3("{\"timeUnixNano\":\"18446744073709551616\"}"),
     LOGS3_AT "timeUnixNano: integer out of range", "fixed64 overflow"},
    {OTLP_LOGS, LOGS3("{\"flags\":4294967296}"), LOGS3_AT "flags: integer out of range",
     "uint32 overflow"},
    {OTLP_LOGS, LOGS3("{\"severityNumber\":\"SEVERITY_NUMBER_LOUD\"}"),
     LOGS3_AT "severityNumber: unknown enum value", "unknown enum name"},
    {OTLP_LOGS, LOGS3("{\"severityNumber\":true}"), LOGS3_AT "severityNumber: expected an integer",
     "enum as bool"},
    {OTLP_LOGS, LOGS3("{\"traceId\":5}"), LOGS3_AT "traceId: expected a hex string",
     "id as number"},
    {OTLP_LOGS, LOGS3("{\"body\":\"text\"}"), LOGS3_AT "body: expected an object",
     "body not an AnyValue"},
    {OTLP_LOGS, LOGS3("{\"body\":{\"arrayValue\":{\"values\":[{},{\"doubleValue\":true}]}}}"),
     LOGS3_AT "body.arrayValue.values[1].doubleValue: expected a number", "nested value type"},
    {OTLP_LOGS, LOGS3("{\"body\":{\"arrayValue\":{\"values\":{}}}}"),
     LOGS3_AT "body.arrayValue.values: expected an array", "array values type"},
    {OTLP_LOGS, LOGS3("{\"body\":{\"kvlistValue\":[]}}"),
     LOGS3_AT "body.kvlistValue: expected an object", "kvlist type"},
    {OTLP_LOGS, LOGS3("{\"body\":{\"doubleValue\":1e999}}"),
     LOGS3_AT "body.doubleValue: number out of range", "double overflow"},
    {OTLP_LOGS, LOGS3("{\"body\":{\"bytesValue\":\"!!!!\"}}"),
     LOGS3_AT "body.bytesValue: invalid base64", "bad base64"},
    {OTLP_LOGS, LOGS3("{\"body\":{\"bytesValue\":\"AAAAA\"}}"),
     LOGS3_AT "body.bytesValue: invalid base64", "base64 length"},
    {OTLP_LOGS, LOGS3("{\"body\":{\"boolValue\":\"true\"}}"),
     LOGS3_AT "body.boolValue: expected a boolean", "bool as string"},
    {OTLP_LOGS, LOGS3("{\"body\":{\"intValue\":\"9223372036854775808\"}}"),
     LOGS3_AT "body.intValue: integer out of range", "int64 overflow"},
    {OTLP_LOGS, LOGS3("{\"attributes\":{}}"), LOGS3_AT "attributes: expected an array",
     "attributes type"},
    {OTLP_LOGS, LOGS3("{\"attributes\":[{\"key\":\"a\"},null]}"),
     LOGS3_AT "attributes[1]: expected an object", "null attribute"},
    {OTLP_LOGS, LOGS3("{\"attributes\":[{\"key\":\"a\",\"value\":{\"intValue\":\"x\"}}]}"),
     LOGS3_AT "attributes[0].value.intValue: expected an integer", "attribute value type"},
    {OTLP_LOGS, LOGS3("{\"attributes\":[{\"key\":7}]}"),
     LOGS3_AT "attributes[0].key: expected a string", "key type"},
    {OTLP_TRACES, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":{}}]}]}",
     "resourceSpans[0].scopeSpans[0].spans: expected an array", "spans type"},
    {OTLP_TRACES, SPANS("null"), "resourceSpans[0].scopeSpans[0].spans[0]: expected an object",
     "null span"},
    {OTLP_TRACES, SPANS("{\"kind\":\"SPAN_KIND_BOGUS\"}"), SPANS_AT "kind: unknown enum value",
     "unknown span kind"},
    {OTLP_TRACES, SPANS("{\"kind\":2147483648}"), SPANS_AT "kind: integer out of range",
     "int32 overflow"},
    {OTLP_TRACES, SPANS("{\"name\":[]}"), SPANS_AT "name: expected a string", "name type"},
    {OTLP_TRACES, SPANS("{\"status\":[]}"), SPANS_AT "status: expected an object", "status type"},
    {OTLP_TRACES, SPANS("{\"status\":{\"code\":\"ERROR\"}}"),
     SPANS_AT "status.code: unknown enum value", "short enum name"},
    {OTLP_TRACES, SPANS("{\"events\":[5]}"), SPANS_AT "events[0]: expected an object",
     "event type"},
    {OTLP_TRACES, SPANS("{\"events\":[{},{\"attributes\":[{\"value\":{\"stringValue\":1}}]}]}"),
     SPANS_AT "events[1].attributes[0].value.stringValue: expected a string",
     "event attribute type"},
    {OTLP_TRACES, SPANS("{\"links\":[{\"flags\":\"x\"}]}"),
     SPANS_AT "links[0].flags: expected an integer", "link flags type"},
    {OTLP_METRICS, METRIC("{\"sum\":{\"isMonotonic\":\"true\"}}"),
     METRIC_AT "sum.isMonotonic: expected a boolean", "isMonotonic type"},
    {OTLP_METRICS, METRIC("{\"gauge\":{\"dataPoints\":{}}}"),
     METRIC_AT "gauge.dataPoints: expected an array", "dataPoints type"},
    {OTLP_METRICS, METRIC("{\"gauge\":[]}"), METRIC_AT "gauge: expected an object", "gauge type"},
    {OTLP_METRICS, METRIC("{\"histogram\":{\"dataPoints\":[{\"bucketCounts\":[1,\"x\"]}]}}"),
     METRIC_AT "histogram.dataPoints[0].bucketCounts[1]: expected an integer", "bucket count type"},
    {OTLP_METRICS, METRIC("{\"histogram\":{\"dataPoints\":[{\"explicitBounds\":[1,null]}]}}"),
     METRIC_AT "histogram.dataPoints[0].explicitBounds[1]: expected a number", "null bound"},
    {OTLP_METRICS,
     METRIC("{\"exponentialHistogram\":{\"dataPoints\":[{\"positive\":{\"offset\":1.5}}]}}"),
     METRIC_AT "exponentialHistogram.dataPoints[0].positive.offset: expected an integer",
     "offset type"},
    {OTLP_METRICS,
     METRIC("{\"summary\":{\"dataPoints\":[{\"quantileValues\":[{\"quantile\":\"x\"}]}]}}"),
     METRIC_AT "summary.dataPoints[0].quantileValues[0].quantile: expected a number",
     "quantile type"},
    {OTLP_METRICS, METRIC("{\"sum\":{\"aggregationTemporality\":\"DELTA\"}}"),
     METRIC_AT "sum.aggregationTemporality: unknown enum value", "temporality name"},
    {OTLP_METRICS, METRIC("{\"gauge\":{\"dataPoints\":[{\"exemplars\":[{\"asDouble\":\"x\"}]}]}}"),
     METRIC_AT "gauge.dataPoints[0].exemplars[0].asDouble: expected a number", "exemplar value"},
    {OTLP_METRICS, METRIC("{\"name\":\"x\",\"metadata\":{}}"),
     METRIC_AT "metadata: expected an array", "metadata type"},
};

static void test_malformed_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++) {
        const bad_case *tc = &bad_cases[c];
        model_batch b;
        char err[256];
        int rc = decode(tc->kind, tc->doc, &b, err);
        if (rc != BRAID_EINVAL)
            fail_msg("case %zu (%s): rc %d", c, tc->why, rc);
        if (strcmp(err, tc->msg) != 0)
            fail_msg("case %zu (%s): got \"%s\" want \"%s\"", c, tc->why, err, tc->msg);
        model_batch_free(&b);
    }
}

/* Fields of another signal or another point type are unknown fields, and
 * therefore ignored whatever their type. */
static void test_foreign_fields_ignored(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"resourceSpans\":\"not mine\",\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"g\",\"gauge\":{\"aggregationTemporality\":\"bogus\",\"isMonotonic\":5,"
        "\"dataPoints\":[{\"asDouble\":1,\"bucketCounts\":\"x\",\"quantileValues\":7}]}}]}]}]}";
    model_batch b;
    char err[256];
    assert_int_equal(decode(OTLP_METRICS, doc, &b, err), 0);
    assert_int_equal(b.nmetrics, 1);
    assert_int_equal(b.metrics[0].payload.n, 0);
    assert_true(b.metrics[0].value_double == 1.0);
    model_batch_free(&b);
    assert_int_equal(decode(OTLP_LOGS, doc, &b, err), 0);
    assert_int_equal(b.nlogs, 0);
    model_batch_free(&b);
}

/* ---- responses ---- */

static void test_responses(void **state)
{
    (void)state;
    buf out;
    buf_init(&out);
    otlp_encode_response_json(OTLP_LOGS, 0, NULL, &out);
    otlp_encode_response_json(OTLP_LOGS, 0, "", &out);
    buf_putc(&out, '|');
    otlp_encode_response_json(OTLP_LOGS, 3, "bad \"id\"", &out);
    buf_putc(&out, '|');
    otlp_encode_response_json(OTLP_TRACES, 18446744073709551615ull, NULL, &out);
    buf_putc(&out, '|');
    otlp_encode_response_json(OTLP_METRICS, 2, "x", &out);
    buf_putc(&out, '|');
    otlp_encode_response_json(OTLP_METRICS, 0, "warning only", &out);
    buf_putc(&out, '|');
    otlp_encode_status_json(3, "invalid JSON at byte 1: \"x\"", &out);
    buf_putc(&out, '|');
    otlp_encode_status_json(8, NULL, &out);
    buf_putc(&out, 0);
    assert_string_equal(
        (char *)out.p,
        "{}{}|{\"partialSuccess\":{\"rejectedLogRecords\":\"3\",\"errorMessage\":\"bad "
        "\\\"id\\\"\"}}|{\"partialSuccess\":{\"rejectedSpans\":\"18446744073709551615\"}}|"
        "{\"partialSuccess\":{\"rejectedDataPoints\":\"2\",\"errorMessage\":\"x\"}}|"
        "{\"partialSuccess\":{\"errorMessage\":\"warning only\"}}|"
        "{\"code\":3,\"message\":\"invalid JSON at byte 1: \\\"x\\\"\"}|{\"code\":8}");
    buf_free(&out);
}

/* A small error buffer is truncated, never overrun. */
static void test_small_err_buffer(void **state)
{
    (void)state;
    model_batch b;
    model_batch_init(&b);
    char err[8];
    static const char doc[] = "{\"resourceLogs\":7}";
    assert_int_equal(
        otlp_decode_json(OTLP_LOGS, (const uint8_t *)doc, strlen(doc), &b, err, sizeof err),
        BRAID_EINVAL);
    assert_string_equal(err, "resourc");
    assert_int_equal(otlp_decode_json(OTLP_LOGS, (const uint8_t *)doc, strlen(doc), &b, NULL, 0),
                     BRAID_EINVAL);
    model_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_js_sdk_traces),
        cmocka_unit_test(test_snake_case_and_enum_names),
        cmocka_unit_test(test_origins_unknown_and_null),
        cmocka_unit_test(test_js_sdk_logs),
        cmocka_unit_test(test_anyvalue_table),
        cmocka_unit_test(test_anyvalue_depth),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_partial_table),
        cmocka_unit_test(test_resource_too_deep),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_foreign_fields_ignored),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_small_err_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for src/model: trace/span id parsing in every accepted form, the
 * av value encoding (writers, iteration, validation, JSON rendering), metric
 * payload rendering and the batch container. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "model/model.h"

typedef struct {
    const char *in;
    int ok;
    const char *hex; /* expected canonical form when ok */
    id_form form;
    const char *why;
} tid_case;

static const tid_case tid_cases[] = {
    {"4bf92f3577b34da6a3ce929d0e0e4736", 1, "4bf92f3577b34da6a3ce929d0e0e4736", ID_FORM_HEX32,
     "canonical lowercase"},
    {"4BF92F3577B34DA6A3CE929D0E0E4736", 1, "4bf92f3577b34da6a3ce929d0e0e4736", ID_FORM_HEX32_UPPER,
     "upper case is normalized"},
    {"a3ce929d0e0e4736", 1, "0000000000000000a3ce929d0e0e4736", ID_FORM_HEX16,
     "64-bit id left-padded"},
    {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 1,
     "4bf92f3577b34da6a3ce929d0e0e4736", ID_FORM_TRACEPARENT, "traceparent"},
    {"1234567890123456789", 1, "0000000000000000112210f47de98115", ID_FORM_DECIMAL,
     "Datadog decimal"},
    {"18446744073709551615", 1, "0000000000000000ffffffffffffffff", ID_FORM_DECIMAL,
     "max uint64 decimal"},
    {"18446744073709551616", 0, NULL, 0, "decimal overflow"},
    {"0", 0, NULL, 0, "literal zero means none"},
    {"00000000000000000000000000000000", 0, NULL, 0, "all zeros means none"},
    {"", 0, NULL, 0, "empty"},
    {"4bf92f3577b34da6a3ce929d0e0e473", 0, NULL, 0, "odd length 31"},
    {"4bf92f3577b34da6a3ce929d0e0e4736a", 0, NULL, 0, "too long 33"},
    {"4bf92f3577b34da6a3ce929d0e0e47zz", 0, NULL, 0, "non-hex"},
    {"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 0, NULL, 0,
     "traceparent version ff is invalid"},
    {"00-00000000000000000000000000000000-00f067aa0ba902b7-01", 0, NULL, 0,
     "traceparent with zero trace id"},
    {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", 0, NULL, 0,
     "version 00 must be exactly 55 chars"},
    {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", 1,
     "4bf92f3577b34da6a3ce929d0e0e4736", ID_FORM_TRACEPARENT, "future version may extend"},
    {" 4bf92f3577b34da6a3ce929d0e0e4736 ", 1, "4bf92f3577b34da6a3ce929d0e0e4736", ID_FORM_HEX32,
     "surrounding blanks trimmed"},
    {"-123", 0, NULL, 0, "negative decimal"},
    {"a3ce929d-0e0e-4736-a3ce-929d0e0e4736", 0, NULL, 0, "UUID is not a trace id"},
};

static void test_trace_id_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof tid_cases / sizeof tid_cases[0]; i++) {
        const tid_case *c = &tid_cases[i];
        trace_id_t t;
        id_form f = ID_FORM_NONE;
        int ok = trace_id_parse(bslice_cstr(c->in), &t, &f, NULL, NULL);
        if (ok != c->ok)
            fail_msg("case %zu (%s): got %d", i, c->why, ok);
        if (ok) {
            char hex[33];
            trace_id_hex(&t, hex);
            if (strcmp(hex, c->hex) != 0 || f != c->form)
                fail_msg("case %zu (%s): got %s form %d", i, c->why, hex, f);
        }
    }
}

static void test_traceparent_span_and_flags(void **state)
{
    (void)state;
    trace_id_t t;
    span_id_t s;
    uint8_t fl = 0xee;
    assert_int_equal(1, trace_id_parse(BSLICE_LIT("00-4bf92f3577b34da6a3ce929d0e0e4736-"
                                                  "00f067aa0ba902b7-00"),
                                       &t, NULL, &s, &fl));
    char sh[17];
    span_id_hex(&s, sh);
    assert_string_equal(sh, "00f067aa0ba902b7");
    assert_int_equal(fl, 0);
}

static void test_span_id(void **state)
{
    (void)state;
    span_id_t s;
    char h[17];
    assert_int_equal(1, span_id_parse(BSLICE_LIT("00F067AA0BA902B7"), &s, NULL));
    span_id_hex(&s, h);
    assert_string_equal(h, "00f067aa0ba902b7");
    assert_int_equal(1, span_id_parse(BSLICE_LIT("255"), &s, NULL));
    span_id_hex(&s, h);
    assert_string_equal(h, "00000000000000ff");
    assert_int_equal(0, span_id_parse(BSLICE_LIT("0000000000000000"), &s, NULL));
    assert_int_equal(0, span_id_parse(BSLICE_LIT("xyz"), &s, NULL));
}

typedef struct {
    const char *in;
    int ok;
    const char *hex; /* trace id when ok; the span id is its low 16 digits */
    const char *why;
} dec_case;

static const dec_case dec_cases[] = {
    {"1234567890123456", 1, "0000000000000000000462d53c8abac0",
     "16 digits stay decimal (hex parsing would read 1234567890123456 as hex)"},
    {"5", 1, "00000000000000000000000000000005", "one digit"},
    {"18446744073709551615", 1, "0000000000000000ffffffffffffffff", "max uint64"},
    {" 42 ", 1, "0000000000000000000000000000002a", "blanks trimmed"},
    {"18446744073709551616", 0, NULL, "overflow"},
    {"0", 0, NULL, "zero means none"},
    {"000", 0, NULL, "zeros mean none"},
    {"4bf92f3577b34da6", 0, NULL, "hex is not decimal"},
    {"", 0, NULL, "empty"},
    {"-7", 0, NULL, "negative"},
    {"123456789012345678901", 0, NULL, "21 digits"},
};

static void test_decimal_only(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dec_cases / sizeof dec_cases[0]; i++) {
        const dec_case *c = &dec_cases[i];
        trace_id_t t;
        span_id_t s;
        int ok = trace_id_parse_dec(bslice_cstr(c->in), &t);
        int oks = span_id_parse_dec(bslice_cstr(c->in), &s);
        if (ok != c->ok || oks != c->ok)
            fail_msg("case %zu (%s): got %d/%d", i, c->why, ok, oks);
        if (ok) {
            char hex[33], sh[17];
            trace_id_hex(&t, hex);
            span_id_hex(&s, sh);
            if (strcmp(hex, c->hex) != 0 || strcmp(sh, c->hex + 16) != 0)
                fail_msg("case %zu (%s): got %s / %s", i, c->why, hex, sh);
        }
    }
}

static void test_trace_id_api(void **state)
{
    (void)state;
    trace_id_t t;
    assert_int_equal(0, trace_id_parse_api(BSLICE_LIT("4bf92f3577b34da6a3ce929d0e0e4736"), &t));
    assert_int_equal(BRAID_ENOTFOUND,
                     trace_id_parse_api(BSLICE_LIT("00000000000000000000000000000000"), &t));
    assert_int_equal(BRAID_EINVAL, trace_id_parse_api(BSLICE_LIT("xyz"), &t));
    assert_int_equal(BRAID_EINVAL,
                     trace_id_parse_api(BSLICE_LIT("4bf92f3577b34da6a3ce929d0e"), &t));
}

static void test_av_roundtrip_json(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    size_t top = av_begin_count(&b);
    av_put_key(&b, BSLICE_LIT("s"));
    av_put_str(&b, BSLICE_LIT("a\"b\n\xff"));
    av_put_key(&b, BSLICE_LIT("i"));
    av_put_int(&b, -42);
    av_put_key(&b, BSLICE_LIT("d"));
    av_put_double(&b, 1.5);
    av_put_key(&b, BSLICE_LIT("b"));
    av_put_bool(&b, true);
    av_put_key(&b, BSLICE_LIT("y"));
    av_put_bytes(&b, BSLICE_LIT("hi!"));
    av_put_key(&b, BSLICE_LIT("arr"));
    size_t arr = av_begin_array(&b);
    av_put_int(&b, 1);
    av_put_empty(&b);
    av_end_count(&b, arr, 2);
    av_put_key(&b, BSLICE_LIT("kv"));
    size_t kv = av_begin_kvlist(&b);
    av_put_key(&b, BSLICE_LIT("x"));
    av_put_str(&b, BSLICE_LIT("y"));
    av_end_count(&b, kv, 1);
    av_end_count(&b, top, 7);
    assert_int_equal(b.err, 0);
    bslice attrs = {b.p, b.n};
    assert_int_equal(0, av_validate_attrs(attrs));

    buf j;
    buf_init(&j);
    av_attrs_to_json(&j, attrs);
    buf_putc(&j, 0);
    assert_string_equal((char *)j.p,
                        "{\"s\":\"a\\\"b\\n\xEF\xBF\xBD\",\"i\":-42,\"d\":1.5,\"b\":true,"
                        "\"y\":\"aGkh\",\"arr\":[1,null],\"kv\":{\"x\":\"y\"}}");
    bslice v, s;
    assert_int_equal(1, av_find(attrs, "kv", &v));
    assert_int_equal(v.p[0], AV_KVLIST);
    assert_int_equal(1, av_find(attrs, "s", &v));
    assert_int_equal(1, av_as_str(v, &s));
    assert_int_equal(s.n, 5);
    assert_int_equal(0, av_find(attrs, "missing", &v));

    /* Every truncation of a valid encoding must be rejected, never overread. */
    for (size_t cut = 1; cut < b.n; cut++)
        assert_int_equal(BRAID_EINVAL, av_validate_attrs((bslice){b.p, cut}));
    buf_free(&j);
    buf_free(&b);
}

static void test_av_depth_limit(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    size_t pos[AV_MAX_DEPTH + 2];
    for (int i = 0; i < AV_MAX_DEPTH + 2; i++)
        pos[i] = av_begin_array(&b);
    for (int i = AV_MAX_DEPTH + 1; i >= 0; i--)
        av_end_count(&b, pos[i], i == AV_MAX_DEPTH + 1 ? 0 : 1);
    assert_int_equal(BRAID_EINVAL, av_validate_value((bslice){b.p, b.n}));
    buf_free(&b);
}

static void test_metric_payload_json(void **state)
{
    (void)state;
    buf p;
    buf_init(&p);
    double sum = 12.5, mn = 0.5, mx = 9;
    uint64_t bits;
    buf_put_u64le(&p, 3);
    memcpy(&bits, &sum, 8);
    buf_put_u64le(&p, bits);
    buf_putc(&p, 1);
    memcpy(&bits, &mn, 8);
    buf_put_u64le(&p, bits);
    buf_putc(&p, 1);
    memcpy(&bits, &mx, 8);
    buf_put_u64le(&p, bits);
    buf_putc(&p, 0);
    buf_put_u32le(&p, 3);
    buf_put_u64le(&p, 1);
    buf_put_u64le(&p, 1);
    buf_put_u64le(&p, 1);
    buf_put_u32le(&p, 2);
    double b1 = 1, b2 = 5;
    memcpy(&bits, &b1, 8);
    buf_put_u64le(&p, bits);
    memcpy(&bits, &b2, 8);
    buf_put_u64le(&p, bits);
    bslice pl = {p.p, p.n};
    assert_int_equal(0, model_hist_bucket(pl, 0.7));
    assert_int_equal(0, model_hist_bucket(pl, 1.0));
    assert_int_equal(1, model_hist_bucket(pl, 3));
    assert_int_equal(2, model_hist_bucket(pl, 50));
    buf j;
    buf_init(&j);
    assert_int_equal(0, model_metric_payload_to_json(&j, METRIC_HISTOGRAM, pl));
    buf_putc(&j, 0);
    assert_string_equal((char *)j.p, "{\"count\":\"3\",\"sum\":12.5,\"min\":0.5,\"max\":null,"
                                     "\"bucket_counts\":[\"1\",\"1\",\"1\"],"
                                     "\"explicit_bounds\":[1,5]}");
    buf_reset(&j);
    assert_int_equal(BRAID_EINVAL,
                     model_metric_payload_to_json(&j, METRIC_HISTOGRAM, (bslice){p.p, 20}));
    buf_free(&j);
    buf_free(&p);
}

static void test_batch(void **state)
{
    (void)state;
    model_batch b;
    model_batch_init(&b);
    for (int i = 0; i < 1000; i++) {
        model_log *l = model_batch_add_log(&b);
        assert_non_null(l);
        l->time_ns = (uint64_t)i;
    }
    assert_int_equal(b.nlogs, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(b.logs[i].time_ns, (uint64_t)i);
    model_batch_reject(&b, "first %d", 1);
    model_batch_reject(&b, "second");
    assert_int_equal(b.rejected, 2);
    assert_string_equal(b.reject_msg, "first 1");
    model_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_id_table), cmocka_unit_test(test_traceparent_span_and_flags),
        cmocka_unit_test(test_span_id),        cmocka_unit_test(test_decimal_only),
        cmocka_unit_test(test_trace_id_api),   cmocka_unit_test(test_av_roundtrip_json),
        cmocka_unit_test(test_av_depth_limit), cmocka_unit_test(test_metric_payload_json),
        cmocka_unit_test(test_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

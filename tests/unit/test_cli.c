/* Unit tests for src/cli: the terminal waterfall of a trace document —
 * indentation by parent, bars scaled to the trace, durations, error marks,
 * log lines under their span, orphans (missing parent) shown as such — and
 * `braid doctor`'s report of a correlation document with its exit code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const char doc[] =
    "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spans\":["
    "{\"span_id\":\"a1\",\"parent_span_id\":\"\",\"name\":\"POST /checkout\",\"service\":"
    "\"frontend\",\"start_unix_nano\":\"1000000000\",\"end_unix_nano\":\"2000000000\","
    "\"status\":{\"code\":\"unset\",\"message\":\"\"}},"
    "{\"span_id\":\"b2\",\"parent_span_id\":\"a1\",\"name\":\"payment.charge\",\"service\":"
    "\"payment\",\"start_unix_nano\":\"1500000000\",\"end_unix_nano\":\"2000000000\","
    "\"status\":{\"code\":\"error\",\"message\":\"reset\"}},"
    "{\"span_id\":\"c3\",\"parent_span_id\":\"zz\",\"name\":\"consume\",\"service\":\"mail\","
    "\"start_unix_nano\":\"1000000000\",\"end_unix_nano\":\"1100000000\","
    "\"status\":{\"code\":\"ok\",\"message\":\"\"}}],"
    "\"logs\":[{\"span_id\":\"b2\",\"time_unix_nano\":\"1600000000\",\"severity_text\":"
    "\"ERROR\",\"service\":\"payment\",\"body\":\"connection reset by peer\",\"attributes\":"
    "{\"retry\":3}},"
    "{\"span_id\":\"\",\"time_unix_nano\":\"1700000000\",\"severity_text\":\"INFO\","
    "\"service\":\"frontend\",\"body\":{\"k\":1},\"attributes\":{}}]}";

static void test_render(void **state)
{
    (void)state;
    buf out;
    buf_init(&out);
    assert_int_equal(0, cli_render_trace((const uint8_t *)doc, sizeof doc - 1, 10, false, &out));
    buf_putc(&out, 0);
    const char *s = (const char *)out.p;
    assert_non_null(strstr(s, "trace 4bf92f3577b34da6a3ce929d0e0e4736  3 spans  2 log lines  1 "
                              "errors  1000.000 ms"));
    /* Root at column 0, child indented under it, with a half-width bar. */
    const char *root = strstr(s, "frontend POST /checkout");
    const char *child = strstr(s, "  payment payment.charge");
    assert_non_null(root);
    assert_non_null(child);
    assert_true(root < child);
    assert_non_null(strstr(child, "|     \xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96"
                                  "\x88|   500.000 ms  ERROR reset"));
    /* The log line sits under its span, indented one level deeper. */
    const char *log =
        strstr(s, "      |  +600.000 ms ERROR payment: connection reset by peer retry=3");
    assert_non_null(log);
    assert_true(log > child);
    /* A span whose parent is missing is shown, and marked. */
    assert_non_null(strstr(s, "(parent zz missing)"));
    /* A log outside every span is listed at the end, structured body as JSON. */
    assert_non_null(strstr(s, "log lines outside any span of this trace:\n  |  +700.000 ms INFO  "
                              "frontend: {\"k\":1}"));
    buf_free(&out);
}

static void test_render_rejects_non_trace(void **state)
{
    (void)state;
    buf out;
    buf_init(&out);
    assert_int_equal(BRAID_EINVAL,
                     cli_render_trace((const uint8_t *)"{\"error\":\"x\"}", 13, 10, false, &out));
    assert_int_equal(BRAID_EINVAL, cli_render_trace((const uint8_t *)"{", 1, 10, false, &out));
    buf_free(&out);
}

/* A correlation report as GET /api/v1/correlation writes it: one fault
 * with a field, one with a caller, one cardinality finding, one info. */
static const char corr_doc[] =
    "{\"start_unix_nano\":\"1700000000000000000\",\"end_unix_nano\":\"1700003600000000000\","
    "\"grace_seconds\":300,\"sample_rate\":1,\"thresholds\":{\"coverage\":0.5,\"lost\":0.01,"
    "\"broken\":0.01,\"drift\":0,\"cardinality_distinct\":10000},\"ok\":false,"
    "\"services\":["
    "{\"service\":\"inventory\",\"logs\":1978,\"logs_with_trace_id\":1978,\"spans\":3554,"
    "\"coverage\":1,\"emits_spans\":true,\"links\":{\"traces\":1978,\"linked\":0,"
    "\"sampled_out\":0,\"lost\":0,\"truncated\":1978,\"pending\":0},\"spans_detail\":{"
    "\"with_parent\":3554,\"missing_parent\":0,\"entry_spans\":1777,\"entry_roots\":0,"
    "\"lost_context_roots\":0},\"id_fields\":[]},"
    "{\"service\":\"notifications\",\"logs\":0,\"logs_with_trace_id\":0,\"spans\":1771,"
    "\"coverage\":null,\"emits_spans\":true,\"links\":{\"traces\":12,\"linked\":0,"
    "\"sampled_out\":0,\"lost\":0,\"truncated\":0,\"pending\":12},\"spans_detail\":{"
    "\"with_parent\":1694,\"missing_parent\":0,\"entry_spans\":1771,\"entry_roots\":77,"
    "\"lost_context_roots\":77},\"id_fields\":[]}],"
    "\"edges\":[],\"findings\":["
    "{\"kind\":\"format_drift\",\"severity\":\"fault\",\"service\":\"inventory\",\"count\":1978,"
    "\"total\":1978,\"share\":1,\"field\":\"dd.trace_id\",\"form\":\"decimal\",\"examples\":["
    "\"00000000000000007ec01655386fb7c9\",\"0000000000000000340528e77cfd6add\"],\"message\":"
    "\"inventory logs carry trace ids under \\\"dd.trace_id\\\" in decimal form: emit them as 32 "
    "lower-case hex digits in the OTLP trace id field or under trace_id so every tool can join "
    "them.\"},"
    "{\"kind\":\"lost_context\",\"severity\":\"fault\",\"service\":\"notifications\","
    "\"count\":77,\"total\":1771,\"share\":0.04348,\"caller\":\"checkout\",\"examples\":[],"
    "\"message\":\"propagate it\"},"
    "{\"kind\":\"cardinality\",\"severity\":\"fault\",\"service\":\"checkout\",\"count\":2000,"
    "\"total\":2000,\"share\":1,\"metric\":\"checkout.cart.size\",\"label\":\"trace_id\","
    "\"distinct\":1944,\"examples\":[\"89a9817b8a6f46b301dd50d0a6e8eb9c\"],\"message\":\"drop "
    "it\"},"
    "{\"kind\":\"sampled_out\",\"severity\":\"info\",\"service\":\"frontend\",\"count\":204,"
    "\"total\":2000,\"share\":0.102,\"examples\":[],\"message\":\"expected\"}]}";

static void test_doctor_report(void **state)
{
    (void)state;
    buf out;
    buf_init(&out);
    int code = -1;
    assert_int_equal(
        0, cli_render_doctor((const uint8_t *)corr_doc, sizeof corr_doc - 1, false, &out, &code));
    assert_int_equal(code, 1);
    buf_putc(&out, 0);
    const char *s = (const char *)out.p;
    /* Headline: the time range, the verdict, the counts and the thresholds. */
    assert_non_null(strstr(s, "braid doctor: correlation health from 2023-11-14T22:13:20Z to "
                              "2023-11-14T23:13:20Z\n"
                              "NOT OK: 3 faults (1 note, 2 services)\n"
                              "thresholds: coverage >= 50%, lost <= 1%, broken <= 1%, drift <= "
                              "0%, distinct <= 10000; grace 300s\n\n"));
    assert_null(strstr(s, "estimates"));
    /* One block per finding, in the server's order, the message wrapped at
     * 100 columns and indented. */
    const char *drift = strstr(
        s, "FAULT format_drift in inventory: 1978 of 1978 (100.0%)\n"
           "  field \"dd.trace_id\", decimal form\n"
           "  inventory logs carry trace ids under \"dd.trace_id\" in decimal form: emit them as "
           "32 lower-case hex\n"
           "  digits in the OTLP trace id field or under trace_id so every tool can join them.\n"
           "  examples: 00000000000000007ec01655386fb7c9, 0000000000000000340528e77cfd6add\n\n");
    const char *lost = strstr(s, "FAULT lost_context in notifications: 77 of 1771 (4.3%)\n"
                                 "  called by checkout\n  propagate it\n\n");
    const char *card = strstr(s, "FAULT cardinality in checkout: 2000 of 2000 (100.0%)\n"
                                 "  metric checkout.cart.size, label \"trace_id\", ~1944 distinct "
                                 "values\n  drop it\n"
                                 "  examples: 89a9817b8a6f46b301dd50d0a6e8eb9c\n\n");
    const char *info =
        strstr(s, "INFO  sampled_out in frontend: 204 of 2000 (10.2%)\n  expected\n\n");
    assert_non_null(drift);
    assert_non_null(lost);
    assert_non_null(card);
    assert_non_null(info);
    assert_true(drift < lost && lost < card && card < info);
    /* The table: a header, one row per service, "-" for a null coverage. */
    const char *table = strstr(
        s, "service        logs  coverage  spans  traces  linked  sampled_out  lost  truncated  "
           "pending  no_parent  lost_ctx\n"
           "inventory      1978    100.0%   3554    1978       0            0     0       1978  "
           "      0          0         0\n"
           "notifications     0         -   1771      12       0            0     0          0  "
           "     12          0        77\n");
    assert_non_null(table);
    assert_true(info < table);
    assert_non_null(strstr(s, "\n12 log trace ids are not judged yet: inside the grace period, "
                              "their spans may still arrive\n"));
    /* No line is longer than 100 columns but the table's. */
    for (const char *l = s; *l;) {
        const char *e = strchr(l, '\n');
        assert_non_null(e);
        if (l < table || l > table + 400)
            assert_true(e - l <= 100);
        l = e + 1;
    }
    buf_free(&out);
}

static void test_doctor_ok_and_not_a_report(void **state)
{
    (void)state;
    static const char ok_doc[] =
        "{\"start_unix_nano\":\"0\",\"end_unix_nano\":\"3600000000000\",\"sample_rate\":0.25,"
        "\"ok\":true,\"services\":[],\"findings\":[]}";
    buf out;
    buf_init(&out);
    int code = -1;
    assert_int_equal(
        0, cli_render_doctor((const uint8_t *)ok_doc, sizeof ok_doc - 1, false, &out, &code));
    assert_int_equal(code, 0);
    buf_putc(&out, 0);
    assert_string_equal((const char *)out.p,
                        "braid doctor: correlation health from 1970-01-01T00:00:00Z to "
                        "1970-01-01T01:00:00Z\n"
                        "ok: every threshold holds (0 notes, 0 services)\n"
                        "counts are estimates: the server followed 25.0% of traces to judge "
                        "links\n\n"
                        "no logs, spans or metrics in this time range\n");
    /* Not a report: an error body, a trace, broken JSON, "ok" not a boolean. */
    static const char *const bad[] = {
        "{\"error\":\"x\"}",
        "{\"trace_id\":\"ab\",\"spans\":[],\"logs\":[]}",
        "{\"ok\":true,\"services\":[]",
        "{\"ok\":\"yes\",\"services\":[],\"findings\":[]}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_reset(&out);
        code = -1;
        assert_int_equal(BRAID_EINVAL, cli_render_doctor((const uint8_t *)bad[i], strlen(bad[i]),
                                                         false, &out, &code));
        assert_int_equal(code, -1);
    }
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_render_rejects_non_trace),
        cmocka_unit_test(test_doctor_report),
        cmocka_unit_test(test_doctor_ok_and_not_a_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

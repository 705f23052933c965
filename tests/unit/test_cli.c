/* Unit tests for src/cli: the terminal waterfall of a trace document —
 * indentation by parent, bars scaled to the trace, durations, error marks,
 * log lines under their span, orphans (missing parent) shown as such. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_render_rejects_non_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

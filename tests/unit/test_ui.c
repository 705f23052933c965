/* test_ui: routing of the web UI's paths (src/ui/ui.c) over a small bundle
 * made here: which paths are the UI's, which file or status each gets, the
 * cache headers and ETag revalidation. Table-driven, one row per case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ui/ui.h"

static const uint8_t PAGE[] = "<!doctype html><title>braid</title>";
static const uint8_t JS[] = "console.log(1)";
static const ui_asset ASSETS[] = {
    {"/", "text/html; charset=utf-8", "\"p1\"", false, PAGE, sizeof PAGE - 1},
    {"/ui/assets/app-abc.js", "text/javascript; charset=utf-8", "\"j1\"", true, JS, sizeof JS - 1},
};
static const ui_bundle BUNDLE = {ASSETS, 2};

static const char *header(const ui_response *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void test_routes(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *inm;
        bool ui;
        int status;
        const uint8_t *body; /* NULL: a JSON error or no body */
        const char *why;
    } rows[] = {
        {"GET", "/", "", true, 200, PAGE, "the page at the root"},
        {"GET", "/index.html", "", true, 200, PAGE, "the page by name"},
        {"GET", "/ui", "", true, 200, PAGE, "the UI prefix without slash"},
        {"GET", "/ui/", "", true, 200, PAGE, "the overview"},
        {"GET", "/ui/trace/4bf92f3577b34da6a3ce929d0e0e4736", "", true, 200, PAGE,
         "a trace view URL pasted into a browser"},
        {"GET", "/ui/logs", "", true, 200, PAGE, "the logs view"},
        {"HEAD", "/ui/metrics", "", true, 200, PAGE, "HEAD is GET without a body"},
        {"GET", "/ui/assets/app-abc.js", "", true, 200, JS, "a bundle file"},
        {"GET", "/ui/assets/missing.js", "", true, 404, NULL, "a missing asset is not the page"},
        {"POST", "/ui/", "", true, 405, NULL, "the UI is read-only"},
        {"GET", "/ui/assets/app-abc.js", "\"j1\"", true, 304, NULL, "revalidation hit"},
        {"GET", "/", "W/\"p1\"", true, 304, NULL, "weak validator matches"},
        {"GET", "/", "\"x\", \"p1\"", true, 304, NULL, "one of a list matches"},
        {"GET", "/", "*", true, 304, NULL, "any"},
        {"GET", "/", "\"p2\"", true, 200, PAGE, "stale validator"},
        {"GET", "/api/v1/traces", "", false, 0, NULL, "the API keeps its paths"},
        {"GET", "/api/v1/nope", "", false, 0, NULL, "unknown API paths stay the API's 404"},
        {"GET", "/metrics", "", false, 0, NULL, "Prometheus page"},
        {"GET", "/uix", "", false, 0, NULL, "a prefix that is not /ui/"},
        {"GET", "/favicon.ico", "", false, 0, NULL, "not part of the UI"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ui_response r;
        memset(&r, 0xAB, sizeof r);
        bool ui = ui_route(&BUNDLE, bslice_cstr(rows[i].method), bslice_cstr(rows[i].path),
                           bslice_cstr(rows[i].inm), &r);
        if (ui != rows[i].ui)
            fail_msg("row %zu (%s): ui %d", i, rows[i].why, ui);
        if (!ui)
            continue;
        if (r.status != rows[i].status)
            fail_msg("row %zu (%s): status %d", i, rows[i].why, r.status);
        if (rows[i].body) {
            assert_ptr_equal(r.body, rows[i].body);
            assert_int_equal(r.len, rows[i].body == PAGE ? sizeof PAGE - 1 : sizeof JS - 1);
        } else if (r.status == 304) {
            assert_int_equal(r.len, 0);
            assert_null(r.content_type);
        } else {
            assert_string_equal(r.content_type, "application/json");
            assert_true(r.len > 10 && r.body[0] == '{');
        }
    }
}

static void test_headers(void **state)
{
    (void)state;
    ui_response r;
    assert_true(ui_route(&BUNDLE, BSLICE_LIT("GET"), BSLICE_LIT("/ui/logs"), BSLICE_LIT(""), &r));
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    assert_string_equal(header(&r, "ETag"), "\"p1\"");
    assert_string_equal(header(&r, "Cache-Control"), "no-cache");
    assert_non_null(strstr(header(&r, "Content-Security-Policy"), "connect-src 'self'"));
    assert_string_equal(header(&r, "X-Content-Type-Options"), "nosniff");

    assert_true(ui_route(&BUNDLE, BSLICE_LIT("GET"), BSLICE_LIT("/ui/assets/app-abc.js"),
                         BSLICE_LIT(""), &r));
    assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
    assert_string_equal(header(&r, "Cache-Control"), "public, max-age=31536000, immutable");
    assert_string_equal(header(&r, "ETag"), "\"j1\"");

    /* A 304 repeats the validator and caching policy. */
    assert_true(ui_route(&BUNDLE, BSLICE_LIT("GET"), BSLICE_LIT("/ui/assets/app-abc.js"),
                         BSLICE_LIT("\"j1\""), &r));
    assert_int_equal(r.status, 304);
    assert_string_equal(header(&r, "ETag"), "\"j1\"");
    assert_string_equal(header(&r, "Cache-Control"), "public, max-age=31536000, immutable");

    assert_true(ui_route(&BUNDLE, BSLICE_LIT("DELETE"), BSLICE_LIT("/"), BSLICE_LIT(""), &r));
    assert_int_equal(r.status, 405);
    assert_string_equal(header(&r, "Allow"), "GET, HEAD");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

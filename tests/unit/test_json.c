/* Tests for src/json: the strict reader. Tables of valid documents (checked
 * by re-serializing the node array), invalid documents (checked by their exact
 * error message), numbers at the int64/uint64/double limits, and the
 * navigation helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "json/json.h"

/* Re-serializes node i canonically (no whitespace, strings unescaped and
 * re-escaped minimally) so a table row can state the whole tree it expects. */
static uint32_t dump(const json_doc *d, uint32_t i, buf *out)
{
    const json_node *x = &d->nodes[i];
    switch (x->type) {
    case JSON_NULL:
        buf_puts(out, "null");
        break;
    case JSON_TRUE:
        buf_puts(out, "true");
        break;
    case JSON_FALSE:
        buf_puts(out, "false");
        break;
    case JSON_NUMBER:
        buf_append(out, d->src + x->off, x->len);
        break;
    case JSON_STRING: {
        buf raw;
        buf_init(&raw);
        assert_int_equal(json_str_buf(d, i, &raw), 0);
        buf_putc(out, '"');
        for (size_t k = 0; k < raw.n; k++) {
            uint8_t c = raw.p[k];
            if (c == '"' || c == '\\') {
                buf_putc(out, '\\');
                buf_putc(out, c);
            } else if (c < 0x20) {
                buf_printf(out, "\\u%04x", c);
            } else {
                buf_putc(out, c);
            }
        }
        buf_putc(out, '"');
        buf_free(&raw);
        break;
    }
    case JSON_ARRAY:
    case JSON_OBJECT: {
        bool obj = x->type == JSON_OBJECT;
        buf_putc(out, obj ? '{' : '[');
        json_iter it;
        json_iter_init(&it, d, i);
        uint32_t k, v, seen = 0;
        while (json_iter_next(&it, &k, &v)) {
            if (seen++)
                buf_putc(out, ',');
            if (obj) {
                dump(d, k, out);
                buf_putc(out, ':');
            }
            assert_int_equal(dump(d, v, out), json_next(d, v));
        }
        assert_int_equal(seen, x->count);
        buf_putc(out, obj ? '}' : ']');
        break;
    }
    default:
        fail_msg("bad node type %d", x->type);
    }
    return x->end;
}

typedef struct {
    const char *in;
    const char *canon;
    const char *why;
} valid_case;

static const valid_case valid_cases[] = {
    {"0", "0", "a bare number is a document"},
    {"-0", "-0", "negative zero"},
    {"1.5e-3", "1.5e-3", "fraction and signed exponent"},
    {"1E+2", "1E+2", "upper-case exponent with plus"},
    {" \t\r\ntrue\n", "true", "all four whitespace characters around a literal"},
    {"false", "false", "literal false"},
    {"null", "null", "literal null"},
    {"\"\"", "\"\"", "empty string"},
    {"[]", "[]", "empty array"},
    {"{}", "{}", "empty object"},
    {"[ [ ] , { } ]", "[[],{}]", "empty containers nested"},
    {"{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}",
     "nested objects and arrays"},
    {"{\"a\":1,\"a\":2}", "{\"a\":1,\"a\":2}", "duplicate keys are kept"},
    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\\"\\\\/\\u0008\\u000c\\u000a\\u000d\\u0009\"",
     "every short escape"},
    {"\"\\u00e9\\u00C9\"", "\"\xc3\xa9\xc3\x89\"", "\\u escapes, both hex cases, to UTF-8"},
    {"\"\\u20ac\"", "\"\xe2\x82\xac\"", "three-byte code point from an escape"},
    {"\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"", "surrogate pair to one 4-byte code point"},
    {"\"\\uDBFF\\uDFFF\"", "\"\xf4\x8f\xbf\xbf\"", "highest surrogate pair is U+10FFFF"},
    {"\"a\\u0000b\"", "\"a\\u0000b\"", "escaped NUL is allowed"},
    {"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
     "raw 2-, 3- and 4-byte UTF-8"},
    {"\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"", "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"",
     "U+FFFF and U+10FFFF raw"},
    {"\"abcdefghijklmnopqrstuvwxyz0123456789\"", "\"abcdefghijklmnopqrstuvwxyz0123456789\"",
     "long ASCII string takes the 8-byte path"},
    {"\"abcdefgh\\nijklmnop\xc3\xa9qrstuvwx\"", "\"abcdefgh\\u000aijklmnop\xc3\xa9qrstuvwx\"",
     "escape and UTF-8 in the middle of the 8-byte path"},
    {"123456789012345678901234567890", "123456789012345678901234567890",
     "huge number is kept as text"},
    {"[1,-2,3.5,4e4]", "[1,-2,3.5,4e4]", "numbers as array elements"},
};

static void test_valid_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof valid_cases / sizeof valid_cases[0]; c++) {
        const valid_case *tc = &valid_cases[c];
        size_t len = strlen(tc->in);
        arena ar;
        arena_init(&ar);
        json_doc d;
        char err[128];
        int rc = json_parse(&d, (const uint8_t *)tc->in, len, 64, &ar, err, sizeof err);
        if (rc != 0)
            fail_msg("case %zu (%s): rc %d: %s", c, tc->why, rc, err);
        assert_string_equal(err, "");
        buf out;
        buf_init(&out);
        assert_int_equal(dump(&d, 0, &out), d.n);
        buf_putc(&out, 0);
        if (strcmp((char *)out.p, tc->canon) != 0)
            fail_msg("case %zu (%s): got %s want %s", c, tc->why, (char *)out.p, tc->canon);
        buf_free(&out);
        arena_free(&ar);
    }
}

typedef struct {
    const char *in;
    const char *msg;
    const char *why;
} invalid_case;

static const invalid_case invalid_cases[] = {
    {"", "invalid JSON at byte 0: empty input", "nothing at all"},
    {"   ", "invalid JSON at byte 3: empty input", "only whitespace"},
    {"[1,]", "invalid JSON at byte 3: expected a value", "trailing comma in array"},
    {"{\"a\":1,}", "invalid JSON at byte 7: expected a string key", "trailing comma in object"},
    {"[1,,2]", "invalid JSON at byte 3: expected a value", "empty array element"},
    {"01", "invalid JSON at byte 1: leading zero in number", "leading zero"},
    {"-01", "invalid JSON at byte 2: leading zero in number", "leading zero after minus"},
    {"-", "invalid JSON at byte 1: expected a digit", "minus alone"},
    {"-a", "invalid JSON at byte 1: expected a digit", "minus then letter"},
    {"1.", "invalid JSON at byte 2: expected a digit after '.'", "fraction without digits"},
    {"1.e5", "invalid JSON at byte 2: expected a digit after '.'", "dot then exponent"},
    {"1e", "invalid JSON at byte 2: expected a digit in exponent", "exponent without digits"},
    {"1e+", "invalid JSON at byte 3: expected a digit in exponent", "signed empty exponent"},
    {"+1", "invalid JSON at byte 0: expected a value", "plus sign"},
    {".5", "invalid JSON at byte 0: expected a value", "no integer part"},
    {"0x10", "invalid JSON at byte 1: unexpected characters after the JSON value", "hex number"},
    {"NaN", "invalid JSON at byte 0: expected a value", "NaN is not JSON"},
    {"Infinity", "invalid JSON at byte 0: expected a value", "Infinity is not JSON"},
    {"True", "invalid JSON at byte 0: expected a value", "literals are lower case"},
    {"tru", "invalid JSON at byte 0: invalid literal", "truncated literal"},
    {"nul", "invalid JSON at byte 0: invalid literal", "truncated null"},
    {"fals e", "invalid JSON at byte 0: invalid literal", "broken literal"},
    {"'a'", "invalid JSON at byte 0: expected a value", "single quotes"},
    {"\"a\x01\"", "invalid JSON at byte 2: control character in string", "raw control char"},
    {"\"a\tb\"", "invalid JSON at byte 2: control character in string", "raw tab in string"},
    {"\"abcdefghij\x1fklmnop\"", "invalid JSON at byte 11: control character in string",
     "control char found by the 8-byte path"},
    {"\"\\ud800\"", "invalid JSON at byte 1: lone surrogate in \\u escape", "lone high surrogate"},
    {"\"\\udc00\"", "invalid JSON at byte 1: lone surrogate in \\u escape", "lone low surrogate"},
    {"\"\\ud800\\u0041\"", "invalid JSON at byte 1: lone surrogate in \\u escape",
     "high surrogate followed by a non-surrogate"},
    {"\"\\ud800\\ud800\"", "invalid JSON at byte 1: lone surrogate in \\u escape",
     "two high surrogates"},
    {"\"\\ud800x\"", "invalid JSON at byte 1: lone surrogate in \\u escape",
     "high surrogate at end of escapes"},
    {"\"\\x\"", "invalid JSON at byte 1: invalid escape in string", "unknown escape"},
    {"\"\\'\"", "invalid JSON at byte 1: invalid escape in string", "escaped single quote"},
    {"\"\\u12g4\"", "invalid JSON at byte 1: invalid \\u escape", "bad hex digit"},
    {"\"\\u12\"", "invalid JSON at byte 1: invalid \\u escape", "short \\u escape"},
    {"\"\xc0\x80\"", "invalid JSON at byte 1: invalid UTF-8 in string", "overlong NUL"},
    {"\"\xc1\xbf\"", "invalid JSON at byte 1: invalid UTF-8 in string", "overlong 2-byte"},
    {"\"\xe0\x80\xaf\"", "invalid JSON at byte 1: invalid UTF-8 in string", "overlong 3-byte"},
    {"\"\xf0\x80\x80\xaf\"", "invalid JSON at byte 1: invalid UTF-8 in string", "overlong 4-byte"},
    {"\"\xed\xa0\x80\"", "invalid JSON at byte 1: invalid UTF-8 in string",
     "UTF-8 encoded surrogate"},
    {"\"\xf4\x90\x80\x80\"", "invalid JSON at byte 1: invalid UTF-8 in string",
     "code point above U+10FFFF"},
    {"\"\xf5\x80\x80\x80\"", "invalid JSON at byte 1: invalid UTF-8 in string", "lead byte F5"},
    {"\"\xe2\x82\"", "invalid JSON at byte 1: invalid UTF-8 in string", "truncated sequence"},
    {"\"\x80\"", "invalid JSON at byte 1: invalid UTF-8 in string", "stray continuation byte"},
    {"\"\xff\"", "invalid JSON at byte 1: invalid UTF-8 in string", "byte FF"},
    {"\"abcdefghijklmnopqrstu\xffvw\"", "invalid JSON at byte 22: invalid UTF-8 in string",
     "invalid byte found by the 8-byte path"},
    {"\xef\xbb\xbf{}", "invalid JSON at byte 0: expected a value", "byte-order mark"},
    {"\xc3\xa9", "invalid JSON at byte 0: expected a value", "UTF-8 outside a string"},
    {"{} x", "invalid JSON at byte 3: unexpected characters after the JSON value",
     "trailing garbage"},
    {"{}{}", "invalid JSON at byte 2: unexpected characters after the JSON value", "two documents"},
    {"1 2", "invalid JSON at byte 2: unexpected characters after the JSON value", "two numbers"},
    {"[1 2]", "invalid JSON at byte 3: expected ',' or ']'", "missing comma in array"},
    {"{\"a\" 1}", "invalid JSON at byte 5: expected ':'", "missing colon"},
    {"{\"a\":1 \"b\":2}", "invalid JSON at byte 7: expected ',' or '}'", "missing comma"},
    {"{\"a\":1]", "invalid JSON at byte 6: expected ',' or '}'", "mismatched bracket"},
    {"[1}", "invalid JSON at byte 2: expected ',' or ']'", "mismatched brace"},
    {"{1:2}", "invalid JSON at byte 1: expected a string key", "number as key"},
    {"{a:1}", "invalid JSON at byte 1: expected a string key", "bare word key"},
    {"[", "invalid JSON at byte 1: unexpected end of input", "unclosed array"},
    {"{\"a\":", "invalid JSON at byte 5: unexpected end of input", "missing value at end"},
    {"{\"a\"", "invalid JSON at byte 4: expected ':'", "missing colon at end"},
    {"{", "invalid JSON at byte 1: unexpected end of input", "unclosed object"},
    {"[1,", "invalid JSON at byte 3: unexpected end of input", "comma at end"},
    {"\"abc", "invalid JSON at byte 4: unterminated string", "unterminated string"},
    {"\"abc\\", "invalid JSON at byte 4: unterminated string", "backslash at end"},
    {"]", "invalid JSON at byte 0: expected a value", "closing bracket alone"},
};

static void test_invalid_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof invalid_cases / sizeof invalid_cases[0]; c++) {
        const invalid_case *tc = &invalid_cases[c];
        arena ar;
        arena_init(&ar);
        json_doc d;
        char err[128];
        int rc = json_parse(&d, (const uint8_t *)tc->in, strlen(tc->in), 64, &ar, err, sizeof err);
        if (rc != BRAID_EINVAL)
            fail_msg("case %zu (%s): rc %d, want EINVAL", c, tc->why, rc);
        if (strcmp(err, tc->msg) != 0)
            fail_msg("case %zu (%s): got \"%s\" want \"%s\"", c, tc->why, err, tc->msg);
        assert_int_equal(d.n, 0);
        arena_free(&ar);
    }
}

static int parse_depth(const char *s, unsigned depth, char *err, size_t errlen)
{
    arena ar;
    arena_init(&ar);
    json_doc d;
    int rc = json_parse(&d, (const uint8_t *)s, strlen(s), depth, &ar, err, errlen);
    arena_free(&ar);
    return rc;
}

static void test_depth_limit(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(parse_depth("[[[1]]]", 3, err, sizeof err), 0);
    assert_int_equal(parse_depth("[[[[1]]]]", 3, err, sizeof err), BRAID_EINVAL);
    assert_string_equal(err, "invalid JSON at byte 3: nesting deeper than 3 levels");
    assert_int_equal(parse_depth("{\"a\":{\"b\":[]}}", 3, err, sizeof err), 0);
    assert_int_equal(parse_depth("{\"a\":{\"b\":[[]]}}", 3, err, sizeof err), BRAID_EINVAL);
    assert_string_equal(err, "invalid JSON at byte 11: nesting deeper than 3 levels");
    /* Siblings do not add depth. */
    assert_int_equal(parse_depth("[[1],[2],[[3]]]", 3, err, sizeof err), 0);
    assert_int_equal(parse_depth("1", 0, err, sizeof err), 0);
    assert_int_equal(parse_depth("[]", 0, err, sizeof err), BRAID_EINVAL);
    assert_string_equal(err, "invalid JSON at byte 0: nesting deeper than 0 levels");

    /* Very deep input is an error, never a crash. */
    size_t n = 200000;
    char *deep = malloc(2 * n + 1);
    assert_non_null(deep);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = 0;
    assert_int_equal(parse_depth(deep, 64, err, sizeof err), BRAID_EINVAL);
    assert_string_equal(err, "invalid JSON at byte 64: nesting deeper than 64 levels");
    /* And with a limit above it, the explicit stack copes. */
    assert_int_equal(parse_depth(deep, 1000000, err, sizeof err), 0);
    free(deep);
}

static void test_error_buffer(void **state)
{
    (void)state;
    arena ar;
    arena_init(&ar);
    json_doc d;
    char small[12];
    assert_int_equal(json_parse(&d, (const uint8_t *)"[", 1, 8, &ar, small, sizeof small),
                     BRAID_EINVAL);
    assert_string_equal(small, "invalid JSO");
    assert_int_equal(json_parse(&d, (const uint8_t *)"[", 1, 8, &ar, NULL, 0), BRAID_EINVAL);
    arena_free(&ar);
}

typedef struct {
    const char *text;
    int i64_rc;
    int64_t i64;
    int u64_rc;
    uint64_t u64;
    const char *why;
} int_case;

static const int_case int_cases[] = {
    {"0", 0, 0, 0, 0, "zero"},
    {"-0", 0, 0, 0, 0, "negative zero is zero"},
    {"1", 0, 1, 0, 1, "one"},
    {"-1", 0, -1, BRAID_ETOOBIG, 0, "negative is out of uint64 range"},
    {"9223372036854775807", 0, INT64_MAX, 0, 9223372036854775807ull, "INT64_MAX"},
    {"9223372036854775808", BRAID_ETOOBIG, 0, 0, 9223372036854775808ull, "INT64_MAX + 1"},
    {"-9223372036854775808", 0, INT64_MIN, BRAID_ETOOBIG, 0, "INT64_MIN"},
    {"-9223372036854775809", BRAID_ETOOBIG, 0, BRAID_ETOOBIG, 0, "INT64_MIN - 1"},
    {"18446744073709551615", BRAID_ETOOBIG, 0, 0, UINT64_MAX, "UINT64_MAX"},
    {"18446744073709551616", BRAID_ETOOBIG, 0, BRAID_ETOOBIG, 0, "UINT64_MAX + 1"},
    {"99999999999999999999", BRAID_ETOOBIG, 0, BRAID_ETOOBIG, 0, "20 nines"},
    {"100000000000000000000000", BRAID_ETOOBIG, 0, BRAID_ETOOBIG, 0, "24 digits"},
    {"1e3", 0, 1000, 0, 1000, "exponent form of an integer"},
    {"1.5e1", 0, 15, 0, 15, "fraction cancelled by exponent"},
    {"2.50e1", 0, 25, 0, 25, "trailing zero in fraction"},
    {"100e-2", 0, 1, 0, 1, "negative exponent that stays integral"},
    {"0.0", 0, 0, 0, 0, "zero with fraction"},
    {"-0.0e5", 0, 0, 0, 0, "negative zero with exponent"},
    {"0e999999999999", 0, 0, 0, 0, "zero with huge exponent"},
    {"0.0000000000000000000000001e25", 0, 1, 0, 1, "many fraction digits"},
    {"1e19", BRAID_ETOOBIG, 0, 0, 10000000000000000000ull, "1e19 fits uint64 only"},
    {"1e20", BRAID_ETOOBIG, 0, BRAID_ETOOBIG, 0, "1e20 fits neither"},
    {"1e999999999999", BRAID_ETOOBIG, 0, BRAID_ETOOBIG, 0, "saturating exponent"},
    {"1.8446744073709551615e19", BRAID_ETOOBIG, 0, 0, UINT64_MAX, "UINT64_MAX in e-notation"},
    {"1.5", BRAID_EINVAL, 0, BRAID_EINVAL, 0, "not integral"},
    {"1e-1", BRAID_EINVAL, 0, BRAID_EINVAL, 0, "negative exponent, not integral"},
    {"", BRAID_EINVAL, 0, BRAID_EINVAL, 0, "empty"},
    {" 1", BRAID_EINVAL, 0, BRAID_EINVAL, 0, "leading space"},
    {"1 ", BRAID_EINVAL, 0, BRAID_EINVAL, 0, "trailing space"},
    {"+1", BRAID_EINVAL, 0, BRAID_EINVAL, 0, "plus sign"},
    {"01", BRAID_EINVAL, 0, BRAID_EINVAL, 0, "leading zero"},
    {"0x10", BRAID_EINVAL, 0, BRAID_EINVAL, 0, "hex"},
    {"1_000", BRAID_EINVAL, 0, BRAID_EINVAL, 0, "separator"},
    {"NaN", BRAID_EINVAL, 0, BRAID_EINVAL, 0, "NaN is not an integer"},
};

static void test_int_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof int_cases / sizeof int_cases[0]; c++) {
        const int_case *tc = &int_cases[c];
        int64_t i = 42;
        uint64_t u = 42;
        int rc = json_parse_i64(bslice_cstr(tc->text), &i);
        if (rc != tc->i64_rc || (rc == 0 && i != tc->i64))
            fail_msg("case %zu (%s): i64 rc %d value %lld", c, tc->why, rc, (long long)i);
        rc = json_parse_u64(bslice_cstr(tc->text), &u);
        if (rc != tc->u64_rc || (rc == 0 && u != tc->u64))
            fail_msg("case %zu (%s): u64 rc %d value %llu", c, tc->why, rc, (unsigned long long)u);
    }
}

/* The same numbers through nodes: as JSON numbers and as strings. */
static void test_int_nodes(void **state)
{
    (void)state;
    const char *doc = "[9223372036854775807,\"-9223372036854775808\",\"18446744073709551615\","
                      "\"\\u0031\\u0032\",\"1.5\",true,null,[],\"\",\" 1\",1e2,\"abc\"]";
    arena ar;
    arena_init(&ar);
    json_doc d;
    assert_int_equal(json_parse(&d, (const uint8_t *)doc, strlen(doc), 8, &ar, NULL, 0), 0);
    int64_t i;
    uint64_t u;
    assert_int_equal(json_get_i64(&d, json_arr_get(&d, 0, 0), &i), 0);
    assert_true(i == INT64_MAX);
    assert_int_equal(json_get_i64(&d, json_arr_get(&d, 0, 1), &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(json_get_u64(&d, json_arr_get(&d, 0, 2), &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(json_get_i64(&d, json_arr_get(&d, 0, 2), &i), BRAID_ETOOBIG);
    assert_int_equal(json_get_u64(&d, json_arr_get(&d, 0, 3), &u), 0);
    assert_true(u == 12);
    assert_int_equal(json_get_i64(&d, json_arr_get(&d, 0, 4), &i), BRAID_EINVAL);
    for (uint32_t k = 5; k <= 9; k++) {
        assert_int_equal(json_get_i64(&d, json_arr_get(&d, 0, k), &i), BRAID_EINVAL);
        assert_int_equal(json_get_u64(&d, json_arr_get(&d, 0, k), &u), BRAID_EINVAL);
    }
    assert_int_equal(json_get_u64(&d, json_arr_get(&d, 0, 10), &u), 0);
    assert_true(u == 100);
    assert_int_equal(json_get_u64(&d, json_arr_get(&d, 0, 11), &u), BRAID_EINVAL);
    arena_free(&ar);
}

typedef struct {
    const char *text;
    int rc;
    double v;
    const char *why;
} double_case;

static const double_case double_cases[] = {
    {"0", 0, 0.0, "zero"},
    {"1.5", 0, 1.5, "fraction"},
    {"-2.5e-3", 0, -2.5e-3, "negative with exponent"},
    {"0.1", 0, 0.1, "correctly rounded 0.1"},
    {"9007199254740993", 0, 9007199254740992.0, "2^53 + 1 rounds to even"},
    {"1.7976931348623157e308", 0, 1.7976931348623157e308, "DBL_MAX"},
    {"1e309", BRAID_ETOOBIG, 0, "overflow"},
    {"-1e309", BRAID_ETOOBIG, 0, "negative overflow"},
    {"5e-324", 0, 5e-324, "smallest subnormal"},
    {"1e-400", 0, 0.0, "underflow to zero is not an error"},
    {"12345678901234567890123", 0, 12345678901234567890123.0, "beyond int64"},
    {"Infinity", 0, INFINITY, "Infinity string"},
    {"-Infinity", 0, -INFINITY, "-Infinity string"},
    {"inf", BRAID_EINVAL, 0, "C spelling of infinity"},
    {"nan", BRAID_EINVAL, 0, "lower-case nan"},
    {"0x1p3", BRAID_EINVAL, 0, "hex float"},
    {" 1", BRAID_EINVAL, 0, "leading space"},
    {"1.", BRAID_EINVAL, 0, "dangling dot"},
    {"", BRAID_EINVAL, 0, "empty"},
};

static void test_double_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof double_cases / sizeof double_cases[0]; c++) {
        const double_case *tc = &double_cases[c];
        double v = 42;
        int rc = json_parse_double(bslice_cstr(tc->text), &v);
        if (rc != tc->rc || (rc == 0 && memcmp(&v, &tc->v, sizeof v) != 0))
            fail_msg("case %zu (%s): rc %d value %.17g", c, tc->why, rc, v);
    }
    double v;
    assert_int_equal(json_parse_double(BSLICE_LIT("NaN"), &v), 0);
    assert_true(isnan(v));
    assert_int_equal(json_parse_double(BSLICE_LIT("-0.0"), &v), 0);
    assert_true(v == 0 && signbit(v));
    /* Longer than the stack copy. */
    char longnum[400];
    memset(longnum, '0', sizeof longnum);
    longnum[0] = '2';
    longnum[1] = '.';
    longnum[sizeof longnum - 2] = '1';
    longnum[sizeof longnum - 1] = 0;
    assert_int_equal(json_parse_double(bslice_cstr(longnum), &v), 0);
    assert_true(v == 2.0);
    longnum[1] = '0';
    longnum[sizeof longnum - 2] = '0';
    assert_int_equal(json_parse_double(bslice_cstr(longnum), &v), BRAID_ETOOBIG);
}

static void test_double_nodes(void **state)
{
    (void)state;
    const char *doc = "[2.5,\"NaN\",\"-Infinity\",\"3.25\",true,\"x\",null]";
    arena ar;
    arena_init(&ar);
    json_doc d;
    assert_int_equal(json_parse(&d, (const uint8_t *)doc, strlen(doc), 8, &ar, NULL, 0), 0);
    double v;
    assert_int_equal(json_get_double(&d, json_arr_get(&d, 0, 0), &v), 0);
    assert_true(v == 2.5);
    assert_int_equal(json_get_double(&d, json_arr_get(&d, 0, 1), &v), 0);
    assert_true(isnan(v));
    assert_int_equal(json_get_double(&d, json_arr_get(&d, 0, 2), &v), 0);
    assert_true(isinf(v) && v < 0);
    assert_int_equal(json_get_double(&d, json_arr_get(&d, 0, 3), &v), 0);
    assert_true(v == 3.25);
    assert_int_equal(json_get_double(&d, json_arr_get(&d, 0, 4), &v), BRAID_EINVAL);
    assert_int_equal(json_get_double(&d, json_arr_get(&d, 0, 5), &v), BRAID_EINVAL);
    assert_int_equal(json_get_double(&d, json_arr_get(&d, 0, 6), &v), BRAID_EINVAL);
    bool b = false;
    assert_int_equal(json_get_bool(&d, json_arr_get(&d, 0, 4), &b), 0);
    assert_true(b);
    assert_int_equal(json_get_bool(&d, json_arr_get(&d, 0, 6), &b), BRAID_EINVAL);
    arena_free(&ar);
}

static void test_navigation(void **state)
{
    (void)state;
    const char *doc = "{\"a\":1,\"n\":{\"x\":[1,2,{\"y\":3}]},\"\\u0061\":\"two\","
                      "\"s\":\"plain\",\"e\":\"tab\\there\",\"k\\\"q\":null}";
    arena ar;
    arena_init(&ar);
    json_doc d;
    assert_int_equal(json_parse(&d, (const uint8_t *)doc, strlen(doc), 8, &ar, NULL, 0), 0);
    assert_int_equal(json_type_of(&d, 0), JSON_OBJECT);
    assert_int_equal(json_count(&d, 0), 6);
    assert_int_equal(json_next(&d, 0), d.n);

    /* Last duplicate wins, and an escaped key matches its decoded form. */
    uint32_t a = json_obj_get(&d, 0, "a");
    assert_int_equal(json_type_of(&d, a), JSON_STRING);
    assert_true(json_str_eq(&d, a, BSLICE_LIT("two")));
    assert_false(json_str_eq(&d, a, BSLICE_LIT("tw")));
    assert_false(json_str_eq(&d, a, BSLICE_LIT("twoo")));

    uint32_t n = json_obj_get(&d, 0, "n");
    uint32_t x = json_obj_get(&d, n, "x");
    assert_int_equal(json_type_of(&d, x), JSON_ARRAY);
    assert_int_equal(json_count(&d, x), 3);
    uint32_t third = json_arr_get(&d, x, 2);
    assert_int_equal(json_type_of(&d, third), JSON_OBJECT);
    int64_t y;
    assert_int_equal(json_get_i64(&d, json_obj_get(&d, third, "y"), &y), 0);
    assert_int_equal(y, 3);
    assert_int_equal(json_arr_get(&d, x, 3), JSON_NONE);
    assert_int_equal(json_arr_get(&d, 0, 0), JSON_NONE);
    assert_int_equal(json_obj_get(&d, x, "y"), JSON_NONE);
    assert_int_equal(json_obj_get(&d, 0, "missing"), JSON_NONE);
    /* json_next skips the whole nested subtree. */
    assert_int_equal(json_type_of(&d, json_next(&d, n)), JSON_STRING);
    assert_true(json_str_eq(&d, json_next(&d, n), BSLICE_LIT("a")));

    /* Zero-copy for plain strings, arena copy for escaped ones. */
    uint32_t s = json_obj_get(&d, 0, "s");
    bslice v;
    assert_int_equal(json_str(&d, s, &ar, &v), 0);
    assert_ptr_equal(v.p, (const uint8_t *)doc + json_offset(&d, s));
    assert_true(bslice_eq_cstr(v, "plain"));
    assert_true(bslice_eq_cstr(json_raw(&d, s), "plain"));
    uint32_t e = json_obj_get(&d, 0, "e");
    assert_int_equal(json_str(&d, e, &ar, &v), 0);
    assert_true(bslice_eq_cstr(v, "tab\there"));
    assert_true(bslice_eq_cstr(json_raw(&d, e), "tab\\there"));
    assert_int_equal(json_str(&d, x, &ar, &v), BRAID_EINVAL);
    assert_true(json_is_null(&d, json_obj_get(&d, 0, "k\"q")));

    buf b;
    buf_init(&b);
    buf_puts(&b, ">");
    assert_int_equal(json_str_buf(&d, e, &b), 0);
    assert_int_equal(json_str_buf(&d, s, &b), 0);
    assert_int_equal(json_str_buf(&d, n, &b), BRAID_EINVAL);
    assert_int_equal(b.n, 14);
    assert_memory_equal(b.p, ">tab\thereplain", 14);
    buf_free(&b);

    /* Iterating an object gives keys in order; a scalar iterates as empty. */
    json_iter it;
    uint32_t k, val, count = 0;
    const char *keys[] = {"a", "n", "a", "s", "e", "k\"q"};
    json_iter_init(&it, &d, 0);
    while (json_iter_next(&it, &k, &val)) {
        assert_true(json_str_eq(&d, k, bslice_cstr(keys[count])));
        count++;
    }
    assert_int_equal(count, 6);
    json_iter_init(&it, &d, s);
    assert_false(json_iter_next(&it, &k, &val));
    json_iter_init(&it, &d, x);
    assert_true(json_iter_next(&it, &k, &val));
    assert_int_equal(k, JSON_NONE);
    arena_free(&ar);
}

/* JSON_NONE, as returned by a failed lookup, reads as an absent value. */
static void test_none_is_absent(void **state)
{
    (void)state;
    const char *doc = "{\"a\":[1]}";
    arena ar;
    arena_init(&ar);
    json_doc d;
    assert_int_equal(json_parse(&d, (const uint8_t *)doc, strlen(doc), 8, &ar, NULL, 0), 0);
    uint32_t none = json_obj_get(&d, 0, "missing");
    assert_int_equal(none, JSON_NONE);
    assert_int_equal(json_type_of(&d, none), JSON_NULL);
    assert_true(json_is_null(&d, none));
    assert_int_equal(json_count(&d, none), 0);
    assert_int_equal(json_next(&d, none), JSON_NONE);
    assert_int_equal(json_offset(&d, none), 0);
    assert_int_equal(json_raw(&d, none).n, 0);
    assert_int_equal(json_obj_get(&d, none, "a"), JSON_NONE);
    assert_int_equal(json_arr_get(&d, none, 0), JSON_NONE);
    assert_false(json_str_eq(&d, none, BSLICE_LIT("")));
    json_iter it;
    uint32_t k, v;
    json_iter_init(&it, &d, none);
    assert_false(json_iter_next(&it, &k, &v));
    bslice s;
    assert_int_equal(json_str(&d, none, &ar, &s), BRAID_EINVAL);
    buf b;
    buf_init(&b);
    assert_int_equal(json_str_buf(&d, none, &b), BRAID_EINVAL);
    int64_t i;
    uint64_t u;
    double x;
    bool t;
    assert_int_equal(json_get_i64(&d, none, &i), BRAID_EINVAL);
    assert_int_equal(json_get_u64(&d, none, &u), BRAID_EINVAL);
    assert_int_equal(json_get_double(&d, none, &x), BRAID_EINVAL);
    assert_int_equal(json_get_bool(&d, none, &t), BRAID_EINVAL);
    /* One past the last node is just as absent. */
    assert_int_equal(json_type_of(&d, d.n), JSON_NULL);
    arena_free(&ar);
}

/* Raw text and offsets of each node kind. */
static void test_offsets(void **state)
{
    (void)state;
    const char *doc = " [ \"ab\" , -1.5e2 , { \"k\" : [ ] } ] ";
    arena ar;
    arena_init(&ar);
    json_doc d;
    assert_int_equal(json_parse(&d, (const uint8_t *)doc, strlen(doc), 8, &ar, NULL, 0), 0);
    assert_int_equal(d.n, 6);
    assert_int_equal(json_offset(&d, 0), 1);
    assert_true(bslice_eq_cstr(json_raw(&d, 0), "[ \"ab\" , -1.5e2 , { \"k\" : [ ] } ]"));
    assert_int_equal(json_offset(&d, 1), 4);
    assert_true(bslice_eq_cstr(json_raw(&d, 2), "-1.5e2"));
    assert_true(bslice_eq_cstr(json_raw(&d, 3), "{ \"k\" : [ ] }"));
    assert_int_equal(json_next(&d, 3), 6);
    assert_true(bslice_eq_cstr(json_raw(&d, 5), "[ ]"));
    arena_free(&ar);
}

/* Many nodes force the node array to grow several times. */
static void test_growth(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    buf_putc(&b, '[');
    for (int i = 0; i < 20000; i++)
        buf_printf(&b, "%s{\"i\":%d}", i ? "," : "", i);
    buf_putc(&b, ']');
    arena ar;
    arena_init(&ar);
    json_doc d;
    assert_int_equal(json_parse(&d, b.p, b.n, 8, &ar, NULL, 0), 0);
    assert_int_equal(d.n, 1 + 20000 * 3);
    json_iter it;
    json_iter_init(&it, &d, 0);
    uint32_t k, v;
    int64_t sum = 0, iv;
    while (json_iter_next(&it, &k, &v)) {
        assert_int_equal(json_get_i64(&d, json_obj_get(&d, v, "i"), &iv), 0);
        sum += iv;
    }
    assert_true(sum == (int64_t)20000 * 19999 / 2);
    arena_free(&ar);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_table),  cmocka_unit_test(test_invalid_table),
        cmocka_unit_test(test_depth_limit),  cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_int_table),    cmocka_unit_test(test_int_nodes),
        cmocka_unit_test(test_double_table), cmocka_unit_test(test_double_nodes),
        cmocka_unit_test(test_navigation),   cmocka_unit_test(test_none_is_absent),
        cmocka_unit_test(test_offsets),      cmocka_unit_test(test_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

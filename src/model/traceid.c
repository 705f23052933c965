/* model/traceid: parsing and printing of trace and span ids in every form
 * braid accepts (32/16 hex any case, W3C traceparent, Datadog decimal).
 * Pure functions; an invalid or all-zero id is "no id", never an error. */
#include "model.h"

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes 2*n hex digits into out[n]; sets *upper if any digit was A-F. */
static bool hex_decode(const uint8_t *s, size_t n, uint8_t *out, bool *upper)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        if ((s[2 * i] >= 'A' && s[2 * i] <= 'F') || (s[2 * i + 1] >= 'A' && s[2 * i + 1] <= 'F'))
            *upper = true;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool all_digits(bslice s)
{
    if (s.n == 0)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

/* Parses an unsigned decimal of up to 20 digits; false on overflow. */
static bool parse_dec_u64(bslice s, uint64_t *out)
{
    if (!all_digits(s) || s.n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        uint64_t d = (uint64_t)(s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bslice trim(bslice s)
{
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.n--;
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

bool trace_id_is_zero(const trace_id_t *t)
{
    for (int i = 0; i < 16; i++)
        if (t->b[i])
            return false;
    return true;
}

bool span_id_is_zero(const span_id_t *s)
{
    for (int i = 0; i < 8; i++)
        if (s->b[i])
            return false;
    return true;
}

static void to_hex(const uint8_t *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = 0;
}

void trace_id_hex(const trace_id_t *t, char out[33])
{
    to_hex(t->b, 16, out);
}

void span_id_hex(const span_id_t *s, char out[17])
{
    to_hex(s->b, 8, out);
}

/* W3C traceparent: version "-" trace-id "-" parent-id "-" flags. Version 00
 * is exactly 55 characters; later versions may append "-" fields. */
static int parse_traceparent(bslice s, trace_id_t *out, span_id_t *span, uint8_t *flags)
{
    if (s.n < 55 || s.p[2] != '-' || s.p[35] != '-' || s.p[52] != '-')
        return 0;
    bool up = false;
    uint8_t ver, fl;
    if (!hex_decode(s.p, 1, &ver, &up) || ver == 0xff)
        return 0;
    if (ver == 0 && s.n != 55)
        return 0;
    if (s.n > 55 && s.p[55] != '-')
        return 0;
    trace_id_t t;
    span_id_t sp;
    if (!hex_decode(s.p + 3, 16, t.b, &up) || !hex_decode(s.p + 36, 8, sp.b, &up) ||
        !hex_decode(s.p + 53, 1, &fl, &up))
        return 0;
    if (trace_id_is_zero(&t))
        return 0;
    *out = t;
    if (span)
        *span = sp;
    if (flags)
        *flags = fl;
    return 1;
}

int trace_id_parse(bslice s, trace_id_t *out, id_form *form, span_id_t *span, uint8_t *flags)
{
    s = trim(s);
    trace_id_t t;
    memset(&t, 0, sizeof t);
    id_form f;
    bool up = false;
    if (s.n == 32) {
        if (!hex_decode(s.p, 16, t.b, &up))
            return 0;
        f = up ? ID_FORM_HEX32_UPPER : ID_FORM_HEX32;
    } else if (s.n == 16) {
        if (!hex_decode(s.p, 8, t.b + 8, &up))
            return 0;
        f = ID_FORM_HEX16;
    } else if (s.n >= 55) {
        if (!parse_traceparent(s, &t, span, flags))
            return 0;
        f = ID_FORM_TRACEPARENT;
    } else {
        uint64_t v;
        if (!parse_dec_u64(s, &v))
            return 0;
        for (int i = 0; i < 8; i++)
            t.b[15 - i] = (uint8_t)(v >> (8 * i));
        f = ID_FORM_DECIMAL;
    }
    if (trace_id_is_zero(&t))
        return 0;
    *out = t;
    if (form)
        *form = f;
    return 1;
}

int span_id_parse(bslice s, span_id_t *out, id_form *form)
{
    s = trim(s);
    span_id_t sp;
    bool up = false;
    id_form f;
    if (s.n == 16) {
        if (!hex_decode(s.p, 8, sp.b, &up))
            return 0;
        f = up ? ID_FORM_HEX32_UPPER : ID_FORM_HEX32;
    } else {
        uint64_t v;
        if (!parse_dec_u64(s, &v))
            return 0;
        for (int i = 0; i < 8; i++)
            sp.b[7 - i] = (uint8_t)(v >> (8 * i));
        f = ID_FORM_DECIMAL;
    }
    if (span_id_is_zero(&sp))
        return 0;
    *out = sp;
    if (form)
        *form = f;
    return 1;
}

int trace_id_parse_dec(bslice s, trace_id_t *out)
{
    uint64_t v;
    if (!parse_dec_u64(trim(s), &v) || v == 0)
        return 0;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 8; i++)
        out->b[15 - i] = (uint8_t)(v >> (8 * i));
    return 1;
}

int span_id_parse_dec(bslice s, span_id_t *out)
{
    uint64_t v;
    if (!parse_dec_u64(trim(s), &v) || v == 0)
        return 0;
    for (int i = 0; i < 8; i++)
        out->b[7 - i] = (uint8_t)(v >> (8 * i));
    return 1;
}

int trace_id_parse_api(bslice s, trace_id_t *out)
{
    if (trace_id_parse(s, out, NULL, NULL, NULL))
        return 0;
    /* Well-formed but zero ("0", 16 or 32 zeros) is a valid spelling of "no
     * trace": nothing can be stored under it, so it is not found. */
    s = trim(s);
    bool zeros = s.n == 1 || s.n == 16 || s.n == 32;
    for (size_t i = 0; i < s.n && zeros; i++)
        zeros = s.p[i] == '0';
    return zeros ? BRAID_ENOTFOUND : BRAID_EINVAL;
}

/* fuzz_json: the JSON reader alone. Every accepted document is walked with
 * every accessor, re-serialized with minimal escaping and parsed again: the
 * second parse must succeed with the same shape. Never writes outside
 * memory it allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

/* Writes node i canonically into out (strings unescaped, then re-escaped). */
static uint32_t reserialize(const json_doc *d, uint32_t i, arena *ar, buf *out)
{
    const json_node *x = &d->nodes[i];
    switch (x->type) {
    case JSON_STRING: {
        bslice s;
        if (json_str(d, i, ar, &s))
            abort();
        if (s.n > x->len || !json_str_eq(d, i, s))
            abort();
        buf_putc(out, '"');
        for (size_t k = 0; k < s.n; k++) {
            uint8_t c = s.p[k];
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
        break;
    }
    case JSON_ARRAY:
    case JSON_OBJECT: {
        bool obj = x->type == JSON_OBJECT;
        buf_putc(out, obj ? '{' : '[');
        json_iter it;
        json_iter_init(&it, d, i);
        uint32_t k, v, n = 0;
        while (json_iter_next(&it, &k, &v)) {
            if (n++)
                buf_putc(out, ',');
            if (obj) {
                reserialize(d, k, ar, out);
                buf_putc(out, ':');
                if (json_obj_get(d, i, "a") != JSON_NONE &&
                    json_type_of(d, json_obj_get(d, i, "a")) > JSON_OBJECT)
                    abort();
            }
            if (reserialize(d, v, ar, out) != json_next(d, v))
                abort();
        }
        if (n != x->count || (n && json_arr_get(d, i, n) != JSON_NONE))
            abort();
        buf_putc(out, obj ? '}' : ']');
        break;
    }
    default: {
        int64_t iv;
        uint64_t uv;
        double dv;
        bool bv;
        (void)json_get_i64(d, i, &iv);
        (void)json_get_u64(d, i, &uv);
        (void)json_get_double(d, i, &dv);
        (void)json_get_bool(d, i, &bv);
        bslice raw = json_raw(d, i);
        buf_append(out, raw.p, raw.n);
        break;
    }
    }
    if (x->end <= i || x->end > d->n)
        abort();
    return x->end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena ar;
    arena_init(&ar);
    json_doc d;
    char err[128];
    if (json_parse(&d, data, size, 64, &ar, err, sizeof err) == 0) {
        buf out;
        buf_init(&out);
        if (reserialize(&d, 0, &ar, &out) != d.n)
            abort();
        json_doc d2;
        if (out.err || json_parse(&d2, out.p, out.n, 64, &ar, err, sizeof err) != 0)
            abort();
        if (d2.n != d.n)
            abort();
        for (uint32_t i = 0; i < d.n; i++)
            if (d2.nodes[i].type != d.nodes[i].type || d2.nodes[i].count != d.nodes[i].count ||
                d2.nodes[i].end != d.nodes[i].end)
                abort();
        buf_free(&out);
    } else if (strncmp(err, "invalid JSON at byte ", 21) != 0) {
        abort();
    }
    arena_free(&ar);
    return 0;
}

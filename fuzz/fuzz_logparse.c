/* fuzz_logparse: the log line parsers on arbitrary bytes — runtime formats,
 * the joiner with a small limit, message parsing with trace id extraction,
 * the OTLP record search over the attributes the parser produced and over
 * the input as a string body, and the file reader fed in uneven pieces.
 * Checks that attributes always validate, that a found trace id is non-zero
 * with a form, and that pieces never exceed the limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logparse/logparse.h"
#include "tail/tail.h"

#define LIMIT 96

typedef struct {
    arena *ar;
    buf attrs;
} ctx;

static void check_ids(const logparse_ids *ids)
{
    if ((ids->form == ID_FORM_NONE) != trace_id_is_zero(&ids->trace_id))
        abort();
    if (ids->form == ID_FORM_NONE && !span_id_is_zero(&ids->span_id))
        abort();
}

static int on_piece(void *ud, const logparse_piece *p)
{
    ctx *c = ud;
    if (p->msg.n > LIMIT && p->split)
        abort();
    buf_reset(&c->attrs);
    size_t pos = av_begin_count(&c->attrs);
    uint32_t n;
    logparse_msg m;
    if (logparse_message(p->msg, c->ar, &c->attrs, &n, &m) != 0)
        return 0;
    av_end_count(&c->attrs, pos, n);
    if (av_validate_attrs((bslice){c->attrs.p, c->attrs.n}) != 0)
        abort();
    check_ids(&m.ids);
    /* the same message as an OTLP record: attributes as parsed, body as text */
    buf body;
    buf_init(&body);
    av_put_str(&body, p->msg);
    model_log l;
    memset(&l, 0, sizeof l);
    l.attrs = (bslice){c->attrs.p, c->attrs.n};
    l.body = (bslice){body.p, body.n};
    logparse_ids ids;
    if (logparse_extract_record(&l, c->ar, &ids) == 1)
        check_ids(&ids);
    buf_free(&body);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena ar;
    arena_init(&ar);
    ctx c = {.ar = &ar};
    buf_init(&c.attrs);
    logparse_joiner j;
    logparse_joiner_init(&j, LIMIT);
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n')
            continue;
        logparse_line l;
        if (logparse_runtime((bslice){data + start, i - start}, &ar, &l) == 0)
            logparse_joiner_feed(&j, &l, on_piece, &c);
        start = i + 1;
    }
    logparse_joiner_flush(&j, on_piece, &c);
    logparse_joiner_free(&j);

    /* the reader, fed in pieces whose sizes come from the input */
    tail_reader r;
    if (tail_reader_init(&r, "/var/log/pods/ns_pod_uid/app/0.log", TAIL_MAX_LINE_MIN) == 0) {
        tail_out o;
        tail_out_init(&o);
        size_t pos = 0, keep = 0; /* data[pos - keep, pos) read but not consumed */
        while (pos < size) {
            size_t step = 1 + (size_t)(data[pos] % 97);
            if (step > size - pos)
                step = size - pos;
            pos += step;
            keep += step;
            size_t used = 0;
            if (tail_reader_feed(&r, data + pos - keep, keep, false, &o, 0, &used) != 0)
                break;
            keep -= used;
        }
        size_t used;
        tail_reader_feed(&r, data + size - keep, keep, true, &o, 0, &used);
        tail_reader_flush(&r, &o);
        for (size_t i = 0; i < o.b.nlogs; i++) {
            const model_log *l = &o.b.logs[i];
            if (av_validate_attrs(l->attrs) != 0 || av_validate_value(l->body) != 0 ||
                av_validate_attrs(l->origin->resource_attrs) != 0)
                abort();
        }
        tail_out_free(&o);
        tail_reader_free(&r);
    }
    buf_free(&c.attrs);
    arena_free(&ar);
    return 0;
}

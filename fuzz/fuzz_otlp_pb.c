/* fuzz_otlp_pb: libFuzzer target for the OTLP/protobuf decoder. The first byte
 * picks the signal (traces, logs, metrics), the rest is the request. When a
 * request decodes, every row must hold only what the decoder promises: valid
 * av encodings, events, links and metric payloads, UTF-8 strings, ids of the
 * right kind; when it does not, the error must be a non-empty message. */
#include "otlp/otlp.h"

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_otlp_pb: check failed: %s (line %d)\n", #cond, __LINE__);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool utf8(bslice s)
{
    return otlp_utf8_valid(s.p, s.n);
}

static void check_attrs(bslice a)
{
    CHECK(av_validate_attrs(a) == 0);
    if (a.n == 0)
        return;
    av_iter it;
    av_iter_init(&it, a);
    bslice k, v;
    int rc;
    while ((rc = av_iter_next(&it, &k, &v)) == 1) {
        CHECK(utf8(k));
        CHECK(av_validate_value(v) == 0);
    }
    CHECK(rc == 0);
}

static void check_origin(const model_origin *o)
{
    CHECK(o != NULL);
    check_attrs(o->resource_attrs);
    check_attrs(o->scope_attrs);
    CHECK(utf8(o->service) && utf8(o->scope_name) && utf8(o->scope_version));
    CHECK(utf8(o->resource_schema_url) && utf8(o->scope_schema_url));
}

static uint32_t hist_bounds(bslice payload)
{
    /* count, sum+has, min+has, max+has, nbuckets, buckets, nbounds */
    size_t off = 8 + 9 + 9 + 9;
    CHECK(payload.n >= off + 4);
    uint32_t nb = rd_u32le(payload.p + off);
    off += 4 + (size_t)nb * 8;
    CHECK(payload.n >= off + 4);
    return rd_u32le(payload.p + off);
}

static void check_batch(const model_batch *b)
{
    for (size_t i = 0; i < b->nlogs; i++) {
        const model_log *g = &b->logs[i];
        check_origin(g->origin);
        check_attrs(g->attrs);
        if (g->body.n)
            CHECK(av_validate_value(g->body) == 0);
        CHECK(utf8(g->severity_text) && utf8(g->event_name));
        CHECK(g->severity_number >= 0 && g->severity_number <= 24);
        CHECK(bslice_eq_cstr(g->source, "otlp"));
        CHECK((g->id_form == ID_FORM_BINARY) == !trace_id_is_zero(&g->trace_id));
    }
    for (size_t i = 0; i < b->nspans; i++) {
        const model_span *s = &b->spans[i];
        check_origin(s->origin);
        check_attrs(s->attrs);
        CHECK(model_validate_events(s->events) == 0);
        CHECK(model_validate_links(s->links) == 0);
        CHECK(!trace_id_is_zero(&s->trace_id) && !span_id_is_zero(&s->span_id));
        CHECK(utf8(s->name) && utf8(s->trace_state) && utf8(s->status_message));
        CHECK(s->kind >= 0 && s->kind <= 5);
        CHECK(s->status_code >= 0 && s->status_code <= 2);
        buf j;
        buf_init(&j);
        model_events_to_json(&j, s->events);
        model_links_to_json(&j, s->links);
        buf_free(&j);
    }
    for (size_t i = 0; i < b->nmetrics; i++) {
        const model_metric *m = &b->metrics[i];
        check_origin(m->origin);
        check_attrs(m->attrs);
        check_attrs(m->metadata);
        CHECK(utf8(m->name) && utf8(m->description) && utf8(m->unit));
        CHECK(m->type >= METRIC_GAUGE && m->type <= METRIC_SUMMARY);
        CHECK(m->temporality <= 2);
        if (m->type == METRIC_GAUGE || m->type == METRIC_SUM) {
            CHECK(m->payload.n == 0);
        } else {
            buf j;
            buf_init(&j);
            CHECK(model_metric_payload_to_json(&j, m->type, m->payload) == 0);
            buf_free(&j);
        }
    }
    for (size_t i = 0; i < b->nexemplars; i++) {
        const model_exemplar *x = &b->exemplars[i];
        check_origin(x->origin);
        check_attrs(x->series_attrs);
        check_attrs(x->filtered_attrs);
        CHECK(utf8(x->metric_name));
        CHECK(x->metric_type >= METRIC_GAUGE && x->metric_type <= METRIC_SUMMARY);
        if (x->metric_type != METRIC_HISTOGRAM)
            CHECK(x->bucket == -1);
    }
    /* exemplars of histogram points fall into one of the point's buckets */
    for (size_t i = 0; i < b->nmetrics; i++) {
        const model_metric *m = &b->metrics[i];
        if (m->type != METRIC_HISTOGRAM)
            continue;
        uint32_t nbounds = hist_bounds(m->payload);
        for (size_t k = 0; k < b->nexemplars; k++) {
            const model_exemplar *x = &b->exemplars[k];
            if (x->metric_type == METRIC_HISTOGRAM && x->series_attrs.p == m->attrs.p &&
                x->series_attrs.n == m->attrs.n && m->attrs.n)
                CHECK(x->bucket >= 0 && (uint32_t)x->bucket <= nbounds);
        }
    }
    CHECK((b->rejected == 0) == (b->reject_msg[0] == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    otlp_kind k = (otlp_kind)(data[0] % 3);
    model_batch b;
    model_batch_init(&b);
    char err[256];
    memset(err, 'x', sizeof err);
    int rc = otlp_decode_pb(k, data + 1, size - 1, &b, err, sizeof err);
    CHECK(memchr(err, 0, sizeof err) != NULL);
    if (rc == 0) {
        CHECK(err[0] == 0);
        check_batch(&b);
    } else {
        CHECK(rc == BRAID_EINVAL || rc == BRAID_ENOMEM);
        CHECK(err[0] != 0);
    }
    model_batch_free(&b);
    return 0;
}

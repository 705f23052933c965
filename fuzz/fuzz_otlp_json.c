/* fuzz_otlp_json: otlp_decode_json for the three signals (the first byte
 * picks the signal, the rest is the request body). On success every encoding
 * in every row must pass the model's validators, and every row must have an
 * origin; on failure the reason must be non-empty. */
#include <stdint.h>
#include <stdlib.h>

#include "otlp/otlp.h"

static void check(int rc)
{
    if (rc)
        abort();
}

static void check_origin(const model_origin *o)
{
    if (!o)
        abort();
    check(av_validate_attrs(o->resource_attrs));
    check(av_validate_attrs(o->scope_attrs));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    otlp_kind k = (otlp_kind)(data[0] % 3);
    model_batch b;
    model_batch_init(&b);
    char err[256];
    int rc = otlp_decode_json(k, data + 1, size - 1, &b, err, sizeof err);
    if (rc == 0) {
        for (size_t i = 0; i < b.nlogs; i++) {
            check_origin(b.logs[i].origin);
            check(av_validate_attrs(b.logs[i].attrs));
            if (b.logs[i].body.n)
                check(av_validate_value(b.logs[i].body));
        }
        for (size_t i = 0; i < b.nspans; i++) {
            check_origin(b.spans[i].origin);
            check(av_validate_attrs(b.spans[i].attrs));
            check(model_validate_events(b.spans[i].events));
            check(model_validate_links(b.spans[i].links));
            if (trace_id_is_zero(&b.spans[i].trace_id) || span_id_is_zero(&b.spans[i].span_id))
                abort();
        }
        buf out;
        buf_init(&out);
        for (size_t i = 0; i < b.nmetrics; i++) {
            check_origin(b.metrics[i].origin);
            check(av_validate_attrs(b.metrics[i].attrs));
            check(av_validate_attrs(b.metrics[i].metadata));
            /* Gauges and sums carry no payload (model.h). */
            if (b.metrics[i].type == METRIC_GAUGE || b.metrics[i].type == METRIC_SUM) {
                if (b.metrics[i].payload.n)
                    abort();
                continue;
            }
            buf_reset(&out);
            check(model_metric_payload_to_json(&out, b.metrics[i].type, b.metrics[i].payload));
        }
        buf_free(&out);
        for (size_t i = 0; i < b.nexemplars; i++) {
            check_origin(b.exemplars[i].origin);
            check(av_validate_attrs(b.exemplars[i].filtered_attrs));
            check(av_validate_attrs(b.exemplars[i].series_attrs));
        }
        if (b.rejected && !b.reject_msg[0])
            abort();
    } else if (rc != BRAID_EINVAL || !err[0]) {
        abort();
    }
    model_batch_free(&b);
    return 0;
}

/* otlp_grpc: the three OTLP Export methods over gRPC, on ingest_otlp. Maps
 * each ingest outcome to a gRPC status as the OTLP specification says:
 * retryable refusals carry a RetryInfo so exporters back off instead of
 * dropping data. Runs its work on threadpool threads only. */
#include "otlp_grpc.h"

#include <stdio.h>

#define RETRY_DELAY_MS 1000

const char *const otlp_grpc_methods[3] = {
    [OTLP_TRACES] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    [OTLP_LOGS] = "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    [OTLP_METRICS] = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
};

void otlp_grpc_work(grpc_call *call, grpc_reply *r, void *ud)
{
    ingest *g = ud;
    otlp_kind k = (otlp_kind)grpc_call_method(call);
    bslice msg;
    int rc = grpc_call_message(call, &msg, r->msg, sizeof r->msg);
    if (rc) {
        r->code = rc == BRAID_ETOOBIG  ? GRPC_STATUS_RESOURCE_EXHAUSTED
                  : rc == BRAID_EINVAL ? GRPC_STATUS_INTERNAL
                                       : GRPC_STATUS_UNAVAILABLE;
        if (rc == BRAID_ENOMEM)
            r->retry_delay_ms = RETRY_DELAY_MS;
        return;
    }
    ingest_result res;
    ingest_otlp(g, k, false, msg.p, msg.n, INGEST_GRPC, &res);
    switch (res.rc) {
    case 0:
        r->code = GRPC_STATUS_OK;
        otlp_encode_response_pb(k, res.rejected, res.rejected ? res.msg : NULL, &r->body);
        break;
    case BRAID_EINVAL:
        r->code = GRPC_STATUS_INVALID_ARGUMENT;
        snprintf(r->msg, sizeof r->msg, "%s", res.msg);
        break;
    case BRAID_EBUSY:
        r->code = GRPC_STATUS_RESOURCE_EXHAUSTED;
        r->retry_delay_ms = RETRY_DELAY_MS;
        snprintf(r->msg, sizeof r->msg, "%s", res.msg);
        break;
    default:
        r->code = GRPC_STATUS_UNAVAILABLE;
        r->retry_delay_ms = RETRY_DELAY_MS;
        snprintf(r->msg, sizeof r->msg, "%s", res.msg);
        break;
    }
}

int otlp_grpc_listen(uv_loop_t *loop, const char *addr, const grpc_server_opts *opts, ingest *g,
                     grpc_server **out, char *err, size_t errlen)
{
    grpc_server_opts o = {0};
    if (opts)
        o = *opts;
    o.methods = otlp_grpc_methods;
    o.n_methods = 3;
    return grpc_server_listen(loop, addr, &o, otlp_grpc_work, g, out, err, errlen);
}

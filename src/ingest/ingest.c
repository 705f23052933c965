/* ingest: decode → append → count for every OTLP transport, and the OTLP/HTTP
 * request handler (content type, gzip with a size limit, status mapping as
 * the OTLP specification says). Owns the per-signal, per-transport counters.
 * Nothing here touches a socket. */
#include "ingest.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../logparse/logparse.h"
#include "../net/gzip.h"

struct ingest {
    store *s;
    ingest_opts o;
    atomic_uint_fast64_t received[3][INGEST_TRANSPORTS];
    atomic_uint_fast64_t rejected[3][INGEST_TRANSPORTS];
    atomic_uint_fast64_t requests[3][INGEST_TRANSPORTS];
    atomic_uint_fast64_t failed[3][INGEST_TRANSPORTS]; /* whole requests refused */
};

static const char *kind_name(otlp_kind k)
{
    return k == OTLP_TRACES ? "traces" : k == OTLP_LOGS ? "logs" : "metrics";
}

static const char *transport_name(int t)
{
    return t == INGEST_HTTP ? "http" : t == INGEST_GRPC ? "grpc" : "file";
}

int ingest_create(store *s, const ingest_opts *o, ingest **out)
{
    ingest *g = calloc(1, sizeof *g);
    if (!g)
        return BRAID_ENOMEM;
    g->s = s;
    g->o = *o;
    if (g->o.max_request_size == 0)
        g->o.max_request_size = 32u << 20;
    *out = g;
    return 0;
}

void ingest_free(ingest *g)
{
    free(g);
}

static uint64_t batch_rows(const model_batch *b, otlp_kind k)
{
    /* Exemplars ride along with their data points and are not counted apart. */
    return k == OTLP_TRACES ? b->nspans : k == OTLP_LOGS ? b->nlogs : b->nmetrics;
}

int ingest_otlp(ingest *g, otlp_kind k, bool json, const uint8_t *data, size_t n,
                ingest_transport t, ingest_result *res)
{
    memset(res, 0, sizeof *res);
    atomic_fetch_add(&g->requests[k][t], 1);
    model_batch b;
    model_batch_init(&b);
    int rc = json ? otlp_decode_json(k, data, n, &b, res->msg, sizeof res->msg)
                  : otlp_decode_pb(k, data, n, &b, res->msg, sizeof res->msg);
    if (rc == 0) {
        res->rejected = b.rejected;
        if (b.rejected)
            snprintf(res->msg, sizeof res->msg, "%s", b.reject_msg);
        /* Records without a trace id of their own (a collector's filelog
         * receiver, an unparsed log line) get one from their fields. */
        if (k == OTLP_LOGS) {
            int f = logparse_fill_batch(&b);
            rc = f < 0 ? f : 0;
        }
        if (rc == 0)
            rc = store_append(g->s, &b);
        if (rc == 0)
            res->accepted = batch_rows(&b, k);
    } else if (rc == BRAID_EINVAL && res->msg[0] == 0) {
        snprintf(res->msg, sizeof res->msg, "malformed %s request",
                 json ? "OTLP/JSON" : "OTLP protobuf");
    }
    if (rc == BRAID_EBUSY)
        snprintf(res->msg, sizeof res->msg, "braid is over its memory limit; retry later");
    else if (rc == BRAID_EIO)
        snprintf(res->msg, sizeof res->msg, "the store could not write the data; retry later");
    else if (rc == BRAID_ENOSPC)
        snprintf(res->msg, sizeof res->msg,
                 "the store could not write the data: no space left on device; retry later");
    else if (rc == BRAID_ENOMEM)
        snprintf(res->msg, sizeof res->msg, "out of memory; retry later");
    model_batch_free(&b);
    res->rc = rc;
    if (rc == 0) {
        atomic_fetch_add(&g->received[k][t], res->accepted);
        atomic_fetch_add(&g->rejected[k][t], res->rejected);
    } else {
        atomic_fetch_add(&g->failed[k][t], 1);
    }
    return rc;
}

int ingest_file_batch(ingest *g, const model_batch *b, bslice ckpt)
{
    atomic_fetch_add(&g->requests[OTLP_LOGS][INGEST_FILE], 1);
    int rc = store_append_ckpt(g->s, b, ckpt);
    if (rc == 0)
        atomic_fetch_add(&g->received[OTLP_LOGS][INGEST_FILE], b->nlogs);
    else
        atomic_fetch_add(&g->failed[OTLP_LOGS][INGEST_FILE], 1);
    return rc;
}

/* gRPC status codes used in google.rpc.Status bodies. */
enum { GRPC_INVALID_ARGUMENT = 3, GRPC_RESOURCE_EXHAUSTED = 8, GRPC_UNAVAILABLE = 14 };

static void http_status_body(ingest_http_response *r, bool json, int status, int grpc_code,
                             const char *msg)
{
    r->status = status;
    buf_reset(&r->body);
    if (json) {
        r->content_type = "application/json";
        otlp_encode_status_json(grpc_code, msg, &r->body);
    } else {
        r->content_type = "application/x-protobuf";
        otlp_encode_status_pb(grpc_code, msg, &r->body);
    }
}

/* Media type without parameters, compared case-insensitively. */
static bslice media_type(bslice ct)
{
    size_t n = 0;
    while (n < ct.n && ct.p[n] != ';')
        n++;
    while (n && (ct.p[n - 1] == ' ' || ct.p[n - 1] == '\t'))
        n--;
    return (bslice){ct.p, n};
}

void ingest_http(ingest *g, bslice method, bslice path, bslice content_type,
                 bslice content_encoding, bslice body, ingest_http_response *r)
{
    buf_init(&r->body);
    r->retry_after = NULL;
    otlp_kind k;
    if (bslice_eq_cstr(path, "/v1/traces"))
        k = OTLP_TRACES;
    else if (bslice_eq_cstr(path, "/v1/logs"))
        k = OTLP_LOGS;
    else
        k = OTLP_METRICS;
    bslice mt = media_type(content_type);
    bool json = bslice_eq_nocase(mt, "application/json");
    bool pb = bslice_eq_nocase(mt, "application/x-protobuf") ||
              bslice_eq_nocase(mt, "application/protobuf");
    char msg[400];
    if (!bslice_eq_cstr(method, "POST")) {
        snprintf(msg, sizeof msg, "method %.*s not allowed on %s: OTLP/HTTP takes POST",
                 (int)(method.n > 16 ? 16 : method.n), (const char *)method.p, kind_name(k));
        http_status_body(r, true, 405, GRPC_INVALID_ARGUMENT, msg);
        return;
    }
    if (!json && !pb) {
        snprintf(msg, sizeof msg,
                 "unsupported content type \"%.*s\": use application/x-protobuf or "
                 "application/json",
                 (int)(content_type.n > 100 ? 100 : content_type.n), (const char *)content_type.p);
        http_status_body(r, true, 415, GRPC_INVALID_ARGUMENT, msg);
        return;
    }
    buf inflated;
    buf_init(&inflated);
    gzip_format fmt;
    int rc = gzip_format_from_encoding(content_encoding, &fmt);
    if (rc == BRAID_EUNSUPPORTED) {
        snprintf(msg, sizeof msg,
                 "unsupported content encoding \"%.*s\": use gzip, deflate or identity",
                 (int)(content_encoding.n > 60 ? 60 : content_encoding.n),
                 (const char *)content_encoding.p);
        http_status_body(r, json, 415, GRPC_INVALID_ARGUMENT, msg);
        return;
    }
    if (rc == 0) {
        rc = gzip_decompress(fmt, body.p, body.n, g->o.max_request_size, &inflated);
        if (rc == BRAID_ETOOBIG) {
            snprintf(msg, sizeof msg,
                     "decompressed request body is larger than the limit of %llu bytes",
                     (unsigned long long)g->o.max_request_size);
            http_status_body(r, json, 413, GRPC_INVALID_ARGUMENT, msg);
            buf_free(&inflated);
            return;
        }
        if (rc) {
            snprintf(msg, sizeof msg, "request body is not valid %s data: %s",
                     fmt == GZIP_FMT_GZIP ? "gzip" : "deflate", braid_strerror(rc));
            http_status_body(r, json, rc == BRAID_ENOMEM ? 503 : 400, GRPC_INVALID_ARGUMENT, msg);
            buf_free(&inflated);
            return;
        }
        body = (bslice){inflated.p, inflated.n};
    }
    ingest_result res;
    ingest_otlp(g, k, json, body.p, body.n, INGEST_HTTP, &res);
    buf_free(&inflated);
    switch (res.rc) {
    case 0:
        r->status = 200;
        r->content_type = json ? "application/json" : "application/x-protobuf";
        if (json)
            otlp_encode_response_json(k, res.rejected, res.rejected ? res.msg : NULL, &r->body);
        else
            otlp_encode_response_pb(k, res.rejected, res.rejected ? res.msg : NULL, &r->body);
        break;
    case BRAID_EINVAL:
        http_status_body(r, json, 400, GRPC_INVALID_ARGUMENT, res.msg);
        break;
    case BRAID_EBUSY:
        http_status_body(r, json, 429, GRPC_RESOURCE_EXHAUSTED, res.msg);
        r->retry_after = "1";
        break;
    default:
        http_status_body(r, json, 503, GRPC_UNAVAILABLE, res.msg);
        r->retry_after = "1";
        break;
    }
}

void ingest_metrics_text(buf *out, void *ud)
{
    ingest *g = ud;
    static const struct {
        const char *name, *help;
        size_t off;
    } fam[] = {
        {"braid_ingest_records_received_total", "Records stored, by signal and transport.",
         offsetof(ingest, received)},
        {"braid_ingest_records_rejected_total",
         "Records refused individually (partial success), by signal and transport.",
         offsetof(ingest, rejected)},
        {"braid_ingest_requests_total", "Export requests, by signal and transport.",
         offsetof(ingest, requests)},
        {"braid_ingest_requests_failed_total",
         "Export requests refused whole (malformed, over the memory limit, store error).",
         offsetof(ingest, failed)},
    };
    for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
        buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", fam[f].name, fam[f].help, fam[f].name);
        atomic_uint_fast64_t(*tab)[INGEST_TRANSPORTS] =
            (atomic_uint_fast64_t(*)[INGEST_TRANSPORTS])((char *)g + fam[f].off);
        for (int k = 0; k < 3; k++)
            for (int t = 0; t < INGEST_TRANSPORTS; t++)
                buf_printf(out, "%s{signal=\"%s\",transport=\"%s\"} %llu\n", fam[f].name,
                           kind_name((otlp_kind)k), transport_name(t),
                           (unsigned long long)atomic_load(&tab[k][t]));
    }
}

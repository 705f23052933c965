/* api: braid's native query API (/api/v1/...), health endpoints and the
 * Prometheus /metrics page, as sans-I/O handlers: a request view in, a status
 * and a JSON body out. Reads the store; never writes it; never blocks the
 * event loop itself (callers run api_handle on a worker thread). */
#ifndef BRAID_API_H
#define BRAID_API_H

#include "../health/health.h"
#include "../store/store.h"

typedef struct api api;

typedef struct {
    int status;
    const char *content_type; /* static string */
    buf body;                 /* owned by the response; free with api_response_free */
} api_response;

void api_response_free(api_response *r);

/* Appends Prometheus text exposition lines for another module's counters. */
typedef void (*api_metrics_fn)(buf *out, void *ud);

/* Creates the API over a store (not owned). Returns 0 or BRAID_ENOMEM; free
 * with api_free. */
int api_create(store *s, api **out);
void api_free(api *a);
/* Registers a contributor to /metrics (at most 8). Not thread-safe: call
 * before serving. */
int api_add_metrics_source(api *a, api_metrics_fn fn, void *ud);
/* Serves GET /api/v1/correlation from h (not owned; NULL: the endpoint says
 * correlation health is off). Not thread-safe: call before serving. */
void api_set_health(api *a, health *h);
/* Marks the daemon ready (/readyz answers 200 from then on). */
void api_set_ready(api *a, bool ready);

/* Handles one request. `query` is the raw query string (without '?').
 * Always fills resp (status, content type, body); thread-safe. */
void api_handle(api *a, bslice method, bslice path, bslice query, api_response *resp);

/* Parses a query time: Unix seconds (with optional fraction), RFC 3339
 * (Z or ±hh:mm offset, optional fraction), or a relative duration such as
 * "15m" meaning now minus 15 minutes. now_ns is "now". Returns 0 or
 * BRAID_EINVAL. */
int api_parse_time(bslice s, uint64_t now_ns, uint64_t *out_ns);

/* JSON renderings of rows, as documented in docs/api.md. */
void api_json_span(buf *out, const model_span *s);
void api_json_log(buf *out, const model_log *l);
void api_json_exemplar(buf *out, const model_exemplar *e);

#endif

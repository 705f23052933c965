/* Fuzz target for the query API's parameter parsing: arbitrary bytes become a
 * path and a raw query string handed to api_handle over a small real store,
 * plus api_parse_time on the raw bytes; the correlation report has a health
 * tracker fed by the store. Any crash, sanitizer report or a
 * status outside 200/400/404/405 is a bug. */
#include <stdio.h>
#include <stdlib.h>

#include "api/api.h"

static store *fz_store;
static api *fz_api;
static health *fz_health;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static char dir[] = "/tmp/braid-fuzz-api-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    store_opts o;
    store_opts_default(&o);
    o.dir = dir;
    o.fsync = STORE_FSYNC_NONE;
    o.background = false;
    if (health_new(NULL, &fz_health))
        abort();
    o.observer = health_observer(fz_health);
    if (store_open(&o, &fz_store) || api_create(fz_store, &fz_api))
        abort();
    api_set_health(fz_api, fz_health);
    /* One trace with a span and a log so lookups have something to find. */
    model_batch b;
    model_batch_init(&b);
    model_origin *org = model_batch_add_origin(&b);
    org->service = BSLICE_LIT("svc");
    model_span *s = model_batch_add_span(&b);
    s->origin = org;
    s->trace_id.b[15] = 1;
    s->span_id.b[7] = 1;
    s->name = BSLICE_LIT("root");
    s->start_ns = now_unix_ns() - 1000;
    s->end_ns = s->start_ns + 10;
    model_log *l = model_batch_add_log(&b);
    l->origin = org;
    l->trace_id = s->trace_id;
    l->time_ns = s->start_ns;
    if (store_append(fz_store, &b))
        abort();
    model_batch_free(&b);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t t;
    api_parse_time((bslice){data, size}, now_unix_ns(), &t);
    static const char *paths[] = {"/api/v1/traces",  "/api/v1/logs", "/api/v1/services",
                                  "/api/v1/traces/", "/metrics",     "/api/v1/correlation"};
    if (size == 0)
        return 0;
    const char *base = paths[data[0] % 6];
    bslice query = {data + 1, size - 1};
    char path[512];
    size_t n = strlen(base);
    memcpy(path, base, n);
    if (data[0] % 6 == 3) {
        /* Trace pivot: the bytes up to the first '?' are the id. */
        size_t i = 0;
        while (i < query.n && query.p[i] != '?' && n + i < sizeof path)
            path[n + i] = (char)query.p[i], i++;
        n += i;
        query = i < query.n ? (bslice){query.p + i + 1, query.n - i - 1} : (bslice){NULL, 0};
    }
    api_response r;
    api_handle(fz_api, BSLICE_LIT("GET"), (bslice){(const uint8_t *)path, n}, query, &r);
    if (r.status != 200 && r.status != 400 && r.status != 404 && r.status != 405)
        abort();
    api_response_free(&r);
    return 0;
}

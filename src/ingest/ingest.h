/* ingest: the one path from a received OTLP message to the store, shared by
 * every transport: decode (protobuf or JSON), append (acknowledged only once
 * in the WAL), count. Also the sans-I/O OTLP/HTTP request handler that maps
 * content types, gzip, limits and outcomes to HTTP statuses and bodies.
 * Thread-safe; runs on worker threads, never on the event loop. */
#ifndef BRAID_INGEST_H
#define BRAID_INGEST_H

#include "../otlp/otlp.h"
#include "../store/store.h"

typedef enum { INGEST_HTTP = 0, INGEST_GRPC = 1, INGEST_FILE = 2 } ingest_transport;
#define INGEST_TRANSPORTS 3

typedef struct ingest ingest;

typedef struct {
    uint64_t max_request_size; /* bytes, applied to the body and to its gunzipped size */
} ingest_opts;

/* Creates the ingest path over a store (not owned). Free with ingest_free. */
int ingest_create(store *s, const ingest_opts *o, ingest **out);
void ingest_free(ingest *g);

/* Outcome of one export, transport-neutral. */
typedef struct {
    int rc;            /* 0 stored; BRAID_EINVAL malformed; BRAID_EBUSY over memory
                          limit; BRAID_EIO store failure; BRAID_ENOSPC disk full;
                          BRAID_ENOMEM */
    uint64_t accepted; /* rows stored */
    uint64_t rejected; /* records refused individually (partial success) */
    char msg[320];     /* what was wrong (malformed or partial success), or "" */
} ingest_result;

/* Decodes one Export…ServiceRequest and appends its rows. Returns res->rc. */
int ingest_otlp(ingest *g, otlp_kind k, bool json, const uint8_t *data, size_t n,
                ingest_transport t, ingest_result *res);

/* Appends log rows read from files (the tail) together with the follower's
 * checkpoint in one WAL record (store_append_ckpt) and counts them under
 * transport "file". The batch may have no rows. Returns the store's code. */
int ingest_file_batch(ingest *g, const model_batch *b, bslice ckpt);

typedef struct {
    int status;
    const char *content_type; /* static */
    const char *retry_after;  /* static, or NULL */
    buf body;                 /* owned; free with buf_free */
} ingest_http_response;

/* Handles POST /v1/{traces,logs,metrics}. `path` selects the signal; the
 * caller routes only those three paths here. Always fills resp. */
void ingest_http(ingest *g, bslice method, bslice path, bslice content_type,
                 bslice content_encoding, bslice body, ingest_http_response *resp);

/* Appends braid_ingest_* counters in Prometheus text format (api_metrics_fn). */
void ingest_metrics_text(buf *out, void *g);

#endif

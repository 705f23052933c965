/* otlp_grpc: the OTLP/gRPC receiver. Serves TraceService, LogsService and
 * MetricsService Export on a grpc_server; each request is decoded and stored
 * through ingest_otlp on the threadpool and answered only after it returned
 * (acknowledged = in the WAL), with the status codes the OTLP specification
 * names. Owns nothing but the server it starts; never decodes on the loop. */
#ifndef BRAID_NET_OTLP_GRPC_H
#define BRAID_NET_OTLP_GRPC_H

#include "../ingest/ingest.h"
#include "grpc_server.h"

/* The Export method paths, indexed by otlp_kind. */
extern const char *const otlp_grpc_methods[3];

/* One Export call (threadpool; ud is the ingest): the message decompressed
 * and decoded, its rows appended, reply filled: OK with an
 * Export…ServiceResponse (partial_success when records were rejected),
 * INVALID_ARGUMENT for a malformed message, RESOURCE_EXHAUSTED with a
 * RetryInfo over the memory limit or the size limit, UNAVAILABLE when the
 * store failed, INTERNAL for corrupt compressed data. */
void otlp_grpc_work(grpc_call *call, grpc_reply *reply, void *ud);

/* Starts the receiver on addr over g (not owned). opts may be NULL; its
 * methods are ignored (the three above are served). Returns as
 * grpc_server_listen. */
int otlp_grpc_listen(uv_loop_t *loop, const char *addr, const grpc_server_opts *opts, ingest *g,
                     grpc_server **out, char *err, size_t errlen);

#endif

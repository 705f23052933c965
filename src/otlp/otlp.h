/* otlp: decoding of OTLP Export{Trace,Logs,Metrics}ServiceRequest messages
 * (protobuf and OTLP/JSON) into model rows, and encoding of the responses
 * (Export…ServiceResponse with partial_success, google.rpc.Status). Pure
 * functions over buffers: no I/O, no global state. Field numbers and names
 * come from the OTLP specification (opentelemetry-proto v1). */
#ifndef BRAID_OTLP_H
#define BRAID_OTLP_H

#include "../model/model.h"

typedef enum { OTLP_TRACES = 0, OTLP_LOGS = 1, OTLP_METRICS = 2 } otlp_kind;

/* Decodes a whole request and appends its rows to `b`.
 * - Returns 0 when the message is well-formed. Records that are individually
 *   invalid (a trace id that is not 16 bytes, a span id that is not 8, a
 *   string that is not UTF-8, an AnyValue nested deeper than AV_MAX_DEPTH)
 *   are not added; they are counted with model_batch_reject, which keeps the
 *   first reason for partial_success.
 * - Returns BRAID_EINVAL when the message itself is malformed (truncated,
 *   wrong wire type, length past the end, invalid JSON, ...) and writes a
 *   one-line reason into err (always NUL-terminated). Rows added before the
 *   error must then be discarded by the caller.
 * - Returns BRAID_ENOMEM on allocation failure.
 * Slices in the rows point into `data` (which must outlive `b`) or into b->ar.
 * Every row gets origin->service from the resource attribute service.name. */
int otlp_decode_pb(otlp_kind k, const uint8_t *data, size_t n, model_batch *b, char *err,
                   size_t errlen);
int otlp_decode_json(otlp_kind k, const uint8_t *data, size_t n, model_batch *b, char *err,
                     size_t errlen);

/* Export…ServiceResponse. partial_success is written only when rejected > 0
 * or msg is non-empty (msg may be NULL). Appends to out. */
void otlp_encode_response_pb(otlp_kind k, uint64_t rejected, const char *msg, buf *out);
void otlp_encode_response_json(otlp_kind k, uint64_t rejected, const char *msg, buf *out);

/* google.rpc.Status {code (gRPC code number), message}. Appends to out. */
void otlp_encode_status_pb(int code, const char *msg, buf *out);
void otlp_encode_status_json(int code, const char *msg, buf *out);

/* Whether bytes are valid UTF-8 (shared by both decoders). */
bool otlp_utf8_valid(const uint8_t *p, size_t n);

#endif

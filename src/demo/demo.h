/* demo: `braid demo`, the telemetry of a small shop (frontend, checkout, auth,
 * inventory, payment, notifications) with a recurring payment-provider
 * incident and the correlation defects real systems have (or, clean, the same
 * traffic without them), sent to an OTLP/HTTP receiver as protobuf. The
 * generator is pure and seeded, so a seed always yields the same bytes; only
 * demo_main does I/O. Never exits the process. */
#ifndef BRAID_DEMO_H
#define BRAID_DEMO_H

#include "../util/util.h"

/* What the generator makes. Times are Unix nanoseconds. */
typedef struct {
    uint64_t seed;
    /* Incidents: the first starts at incident_at_ns (UINT64_MAX: never), then
     * one every incident_every_ns (0: only the first), each incident_len_ns
     * long. A request belongs to an incident when its root span starts in one. */
    uint64_t incident_at_ns, incident_every_ns, incident_len_ns;
    /* Exemplars: false keeps what OpenTelemetry SDKs keep by default for
     * explicit-bucket histograms (the last sampled request of each bucket
     * per export); true keeps one per sampled request. */
    bool exemplar_per_request;
    /* Clean: the same requests (the same ids and timings for a seed) without
     * the correlation defects: notifications and inventory logs carry the
     * OTLP trace context (no dd.* decimal ids), no queue consumer loses its
     * parent, checkout.cart.size has no trace_id label. Sampling stays. */
    bool clean;
} demo_opts;

/* Shares of requests, fixed by design; exposed so tests and docs agree. */
#define DEMO_SAMPLED_OUT 0.10    /* traces dropped by the sampler, logs kept */
#define DEMO_LOST_CONTEXT 0.05   /* queue consumers that start a new trace (not when clean) */
#define DEMO_INCIDENT_FAIL 0.30  /* payments that fail after 3 resets */
#define DEMO_INCIDENT_RETRY 0.20 /* payments that succeed after 1 reset */

/* Counts of what has been generated since demo_gen_create. */
typedef struct {
    uint64_t requests, spans, logs, points, exemplars;
    uint64_t sampled_out, lost_context, payment_failures;
} demo_stats;

/* One export: the three OTLP request bodies (Export{Trace,Logs,Metrics}
 * ServiceRequest, protobuf). A body is empty when there is nothing of that
 * signal. Owned by the batch: free with demo_batch_free. */
typedef struct {
    buf traces, logs, metrics;
} demo_batch;

void demo_batch_init(demo_batch *b);
void demo_batch_free(demo_batch *b);

typedef struct demo_gen demo_gen;

/* Creates a generator. Returns 0 or BRAID_ENOMEM; free with demo_gen_free. */
int demo_gen_create(const demo_opts *o, demo_gen **out);
void demo_gen_free(demo_gen *g);

/* Generates n requests whose root spans start at t0_ns, t0_ns + dt_ns, ...
 * (each moved by up to a fifth of dt_ns of jitter). Their rows wait in the
 * generator until demo_gen_flush. Returns 0 or BRAID_ENOMEM. */
int demo_gen_requests(demo_gen *g, uint64_t t0_ns, uint64_t dt_ns, size_t n);

/* Encodes the spans and logs generated since the last flush into b (whose
 * previous contents are replaced) and, when metrics is true, one cumulative
 * data point per metric series stamped at now_ns carrying the exemplars
 * recorded since the last metrics flush (metrics are exported less often
 * than spans, as SDKs do). Returns 0 or BRAID_ENOMEM. */
int demo_gen_flush(demo_gen *g, uint64_t now_ns, bool metrics, demo_batch *b);

void demo_gen_stats(const demo_gen *g, demo_stats *out);

/* Whether a request starting at t_ns falls in an incident. */
bool demo_in_incident(const demo_opts *o, uint64_t t_ns);

/* `braid demo [flags]`: returns the process exit code (0 done, 1 the server
 * refused the data, 2 usage error, 3 the server cannot be reached). */
int demo_main(int argc, char **argv);

#endif

/* health: correlation health. Watches every acknowledged row (as the store's
 * observer) and keeps, per service and minute, what is needed to say where
 * the trace id gets lost: log coverage, log trace ids whose trace never
 * arrived (judged after a grace period, split by the sampled flag), spans
 * whose parent never arrived and entry spans that lost their caller's
 * context, metric labels that hold ids, and the fields and forms ids arrived
 * in. Owns that state and its serialized form (persisted by the store); never
 * writes rows. Thread-safe. */
#ifndef BRAID_HEALTH_H
#define BRAID_HEALTH_H

#include "../model/model.h"
#include "../store/store.h"

typedef struct health health;

/* Looks up a trace's stored spans (any time): appends them to out. The
 * daemon passes store_trace. 0 or an error. */
typedef int (*health_lookup_fn)(void *ud, const trace_id_t *tid, model_batch *out);

typedef struct {
    uint64_t grace_ns;        /* judge a trace this long after its last row (default 5 min) */
    uint64_t retention_ns;    /* forget minutes older than this (default 30 days) */
    double coverage_min;      /* coverage below this is a finding (0.5) */
    double lost_max;          /* lost dangling links above this share (0.01) */
    double broken_max;        /* missing parents / lost-context roots above this share (0.01) */
    double drift_max;         /* ids in odd forms or fields above this share (0) */
    uint64_t cardinality_max; /* distinct values of one metric label (10000) */
    uint32_t max_traces;      /* traces followed at once before sampling (65536) */
    uint32_t max_spans;       /* spans held by followed traces before sampling (262144) */
    uint64_t (*now)(void);    /* wall clock in Unix ns (now_unix_ns); tests pass their own */
} health_opts;

void health_opts_default(health_opts *o);

/* Allocates a health tracker; free with health_free. 0 or BRAID_ENOMEM. */
int health_new(const health_opts *o, health **out);
/* Stops the judging thread if running and frees everything. */
void health_free(health *h);

/* The store observer feeding h (valid as long as h). */
const store_observer *health_observer(health *h);
void health_set_lookup(health *h, health_lookup_fn fn, void *ud);

/* Starts / stops the thread that calls health_tick every second. */
int health_start(health *h);
void health_stop(health *h);

/* Judges every followed trace whose last row is at least the grace period
 * older than now_ns, and forgets minutes past retention. 0 or an error from
 * the lookup (the trace is then judged without it). */
int health_tick(health *h, uint64_t now_ns);

/* The report for [start_ns, end_ns] (inclusive; minutes overlapping it) and
 * optionally one service (service.n == 0: all), as the JSON body of
 * GET /api/v1/correlation (docs/api.md). Appends to out; 0 or BRAID_ENOMEM. */
int health_report_json(health *h, uint64_t start_ns, uint64_t end_ns, bslice service, buf *out);

/* Appends the Prometheus gauges (coverage and dangling ratios per service,
 * findings per kind) over the hour before now_ns. */
void health_metrics(health *h, uint64_t now_ns, buf *out);

/* health_metrics over the hour before now, shaped for api_add_metrics_source
 * (ud is the health). */
void health_metrics_text(buf *out, void *ud);

/* The observer callbacks, exposed for tests (health_observer wraps them). */
void health_observe(health *h, const store_rows *rows);
/* Serializes the state into out (appends); 0 or BRAID_ENOMEM. */
int health_save(health *h, buf *out);
/* Replaces the state with a serialized one (n == 0: empty state). 0, or
 * BRAID_EFORMAT when the bytes are not a state this version wrote (the state
 * is then empty). */
int health_load(health *h, bslice saved);

/* Whether a metric label value looks like a trace id, span id or UUID. */
bool health_looks_like_id(bslice v);

#endif

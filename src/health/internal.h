/* health/internal: the state shared by the health module's files: interned
 * strings, a small open-addressing map, the per-minute counters, the traces
 * being followed until their grace period ends. Only src/health includes it. */
#ifndef BRAID_HEALTH_INTERNAL_H
#define BRAID_HEALTH_INTERNAL_H

#include <pthread.h>

#include "health.h"

#define HEALTH_NS_PER_MIN 60000000000ull
#define HEALTH_SAMPLE_ONE 65536u /* sampling threshold meaning "every trace" */
#define HEALTH_HLL_REGS 256      /* registers of a distinct-count sketch (~6.5 % error) */
#define HEALTH_EX_LEN 48         /* bytes kept of an example label value */

/* A 16-byte key -> u32 value map (linear probing, backward-shift delete). */
typedef struct {
    uint32_t k[4];
} hkey;
typedef struct {
    hkey *keys;
    uint32_t *vals; /* UINT32_MAX = empty slot */
    size_t cap, n;
} hmap;
void hmap_free(hmap *m);
/* Returns the slot value or UINT32_MAX. */
uint32_t hmap_get(const hmap *m, const hkey *k);
/* Inserts or overwrites. 0 or BRAID_ENOMEM. */
int hmap_put(hmap *m, const hkey *k, uint32_t v);
void hmap_del(hmap *m, const hkey *k);

/* Kinds of example ids kept per service. */
enum {
    EX_COVERAGE = 0, /* traces of a service whose logs lack ids */
    EX_LOST,
    EX_TRUNCATED,
    EX_SAMPLED_OUT,
    EX_MISSING_PARENT,
    EX_ROOT,  /* entry spans without a parent */
    EX_DRIFT, /* per field */
    EX_KINDS
};

typedef struct {
    uint32_t svc, minute;
    /* counted as rows arrive */
    uint64_t logs, logs_tid, spans, with_parent, entry, entry_roots, entry_with_parent;
    /* judged after the grace period, weighted by 1 / sample rate */
    double traces, linked, sampled_out, lost, truncated, missing_parent;
} hbucket;

typedef struct {
    hkey key; /* svc, minute, field string, form */
    uint64_t count;
} hidf;

typedef struct {
    hkey key; /* caller, callee, minute */
    double calls;
} hedge;

typedef struct {
    hkey key; /* svc, metric string, label string, hour */
    uint64_t points, idlike;
    uint8_t hll[HEALTH_HLL_REGS];
    uint8_t nex;
    uint8_t exlen[2];
    char ex[2][HEALTH_EX_LEN];
} hcard;

typedef struct {
    hkey key; /* svc, kind, field string */
    trace_id_t id[3];
    uint32_t minute[3];
    uint8_t n, next;
} hex;

typedef struct {
    uint64_t span, parent;
    uint32_t minute, svc;
    uint8_t kind;
} tspan;

enum { TLOG_UNSAMPLED = 0, TLOG_SAMPLED = 1, TLOG_UNKNOWN = 2 };
typedef struct {
    uint32_t minute, svc;
    uint8_t state; /* TLOG_* */
    uint8_t form;  /* id_form */
} tlog;

typedef struct {
    trace_id_t tid;
    uint64_t last_ns;
    tspan *spans;
    uint32_t nspans, capspans;
    tlog *logs;
    uint32_t nlogs, caplogs;
    bool used;
} tentry;

struct health {
    health_opts o;
    store_observer obs;
    health_lookup_fn lookup;
    void *lookup_ud;
    pthread_mutex_t mu;

    /* interned strings: services, id fields, metric names, label keys */
    bslice *strs; /* each owned (malloc) */
    size_t nstrs, capstrs;
    hmap strmap;

    hbucket *b;
    size_t nb, capb;
    hmap bmap;
    hidf *idf;
    size_t nidf, capidf;
    hmap idfmap;
    hedge *edges;
    size_t nedges, capedges;
    hmap edgemap;
    hcard *card;
    size_t ncard, capcard;
    hmap cardmap;
    hex *ex;
    size_t nex, capex;
    hmap exmap;

    tentry *t;
    size_t nt, capt;
    uint32_t *tfree;
    size_t ntfree, captfree;
    size_t tlive, tspans;
    hmap tmap;
    uint32_t sample; /* follow a trace when (hash & 0xffff) < sample */

    uint64_t seq; /* last WAL record observed */
    uint64_t last_retention_ns;

    pthread_t thread;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool started, stop;
};

/* Grows a vector of elements of size sz so it holds n + 1. 0 or BRAID_ENOMEM. */
int health_vgrow(void **p, size_t *cap, size_t n, size_t sz);
/* A keyed vector: the element of arr (n used of cap, each sz bytes) that map
 * says has key k, or a new zeroed one appended (*created then true). NULL on
 * ENOMEM. Pointers into arr last until the next append. */
void *health_keyed(hmap *m, void **arr, size_t *n, size_t *cap, size_t sz, const hkey *k,
                   bool *created);
/* Interns s; returns its id or UINT32_MAX on ENOMEM. Caller holds mu. */
uint32_t health_str(health *h, bslice s);
/* The bucket of (svc, minute), created if missing; NULL on ENOMEM. */
hbucket *health_bucket(health *h, uint32_t svc, uint32_t minute);
void health_example(health *h, uint32_t svc, uint32_t kind, uint32_t field, const trace_id_t *tid,
                    uint32_t minute);
/* Frees the state (not the locks, options or observer): back to empty. */
void health_clear(health *h);

/* A canonical field name for a trace id ("" = native OTLP, trace_id, ...). */
bool health_field_usual(bslice field);
const char *health_form_name(uint8_t form);

#endif

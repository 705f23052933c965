/* bench_ingest: OTLP ingest throughput of a `braid serve` child, over HTTP/1.1
 * (OTLP/HTTP protobuf) and gRPC (OTLP/gRPC), with the same pre-built
 * protobuf Export…ServiceRequest batches (logs, spans, metrics) on N
 * connections with one request in flight each; then memory, bytes on disk
 * after a clean shutdown, and a restart to check that sampled traces came
 * back whole. Prints both transports side by side; exits non-zero only when
 * something is functionally broken (daemon will not start, an answer other
 * than OK or retry-later, a lookup returning wrong data). */
#include "benchlib.c" /* shared bench helpers; see the note at its top */

#include <getopt.h>
#include <stdatomic.h>
#include <sys/resource.h>

#include "net/otlp_grpc.h"
#include "otlp/otlp.h"
#include "pb/pb.h"

/* Goals the design sets for log ingest, printed next to the figures. */
#define GOAL_LOG_ROWS_S 300000.0
#define GOAL_RSS_BYTES (1024.0 * 1024 * 1024)
#define GOAL_LOG_BYTES_ROW 40.0

#define MIN_POOL 64
#define DEFAULT_BACKOFF_S 1.0 /* a retry-later answer without a delay of its own */

enum { T_HTTP = 0, T_GRPC = 1 };

typedef struct {
    double seconds;
    int connections;
    int batch;
    bool sig[3];       /* OTLP_TRACES, OTLP_LOGS, OTLP_METRICS */
    bool transport[2]; /* T_HTTP, T_GRPC */
    const char *braid;
    const char *correlation; /* braid serve --correlation on|off */
    bool keep;
} config;

/* ---------------------------------------------------------------------------
 * Pre-built request bodies. Each send shifts every timestamp to "now" and
 * XORs the first half of every trace id with a per-send mask, so no two
 * requests carry the same trace ids while records of one trace stay together.
 * ------------------------------------------------------------------------- */
typedef struct {
    uint8_t *data;
    size_t len;
    uint32_t *time_off; /* offsets of fixed64 timestamps */
    size_t ntime;
    uint32_t *tid_off; /* offsets of 16-byte trace ids */
    size_t ntid;
    uint64_t time_base; /* the instant the timestamps are currently relative to */
    uint64_t mask;      /* XOR now applied to the first 8 bytes of each trace id */
    uint64_t rows, exemplars;
    uint8_t probe_tid[16]; /* one trace of this batch, unmasked */
    uint32_t probe_rows;   /* rows (logs, spans or exemplars) that trace has here */
} batch;

typedef struct {
    uint32_t *v;
    size_t n, cap;
} offsets;

static int offsets_add(offsets *o, size_t off)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 1024;
        uint32_t *p = realloc(o->v, cap * sizeof *p);
        if (!p)
            return BRAID_ENOMEM;
        o->v = p;
        o->cap = cap;
    }
    o->v[o->n++] = (uint32_t)off;
    return 0;
}

/* Finds every field at `path` (field numbers from the message root) and
 * records where its value starts: fixed64 values for timestamps, 16-byte
 * payloads for trace ids. Done after encoding because pb_end may move
 * payloads while the message is built. */
static int collect(const uint8_t *base, bslice msg, const uint32_t *path, int depth, bool tid,
                   offsets *out)
{
    pb_reader r;
    pb_field f;
    int rc;
    pb_reader_init_slice(&r, msg);
    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.num != path[0])
            continue;
        if (depth == 1) {
            if (!tid && f.wire == PB_I64)
                rc = offsets_add(out, (size_t)(r.p - 8 - base));
            else if (tid && f.wire == PB_LEN && f.s.n == 16)
                rc = offsets_add(out, (size_t)(f.s.p - base));
        } else if (f.wire == PB_LEN) {
            rc = collect(base, f.s, path + 1, depth - 1, tid, out);
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

typedef struct {
    uint32_t path[8];
    int depth;
    bool tid;
} field_path;

/* Where the timestamps and trace ids live in each request type. */
static const field_path logs_paths[] = {
    {{1, 2, 2, 1}, 4, false},  /* LogRecord.time_unix_nano */
    {{1, 2, 2, 11}, 4, false}, /* LogRecord.observed_time_unix_nano */
    {{1, 2, 2, 9}, 4, true},   /* LogRecord.trace_id */
};
static const field_path spans_paths[] = {
    {{1, 2, 2, 7}, 4, false},     /* Span.start_time_unix_nano */
    {{1, 2, 2, 8}, 4, false},     /* Span.end_time_unix_nano */
    {{1, 2, 2, 11, 1}, 5, false}, /* Span.Event.time_unix_nano */
    {{1, 2, 2, 1}, 4, true},      /* Span.trace_id */
};
static const field_path metrics_paths[] = {
    {{1, 2, 2, 5, 1, 2}, 6, false},    /* gauge point start */
    {{1, 2, 2, 5, 1, 3}, 6, false},    /* gauge point time */
    {{1, 2, 2, 5, 1, 5, 2}, 7, false}, /* gauge exemplar time */
    {{1, 2, 2, 5, 1, 5, 5}, 7, true},  /* gauge exemplar trace id */
    {{1, 2, 2, 7, 1, 2}, 6, false},    /* sum point start */
    {{1, 2, 2, 7, 1, 3}, 6, false},    /* sum point time */
    {{1, 2, 2, 7, 1, 5, 2}, 7, false}, /* sum exemplar time */
    {{1, 2, 2, 7, 1, 5, 5}, 7, true},  /* sum exemplar trace id */
    {{1, 2, 2, 9, 1, 2}, 6, false},    /* histogram point start */
    {{1, 2, 2, 9, 1, 3}, 6, false},    /* histogram point time */
    {{1, 2, 2, 9, 1, 8, 2}, 7, false}, /* histogram exemplar time */
    {{1, 2, 2, 9, 1, 8, 5}, 7, true},  /* histogram exemplar trace id */
};

static int batch_index(batch *b, otlp_kind k)
{
    const field_path *fp = k == OTLP_LOGS     ? logs_paths
                           : k == OTLP_TRACES ? spans_paths
                                              : metrics_paths;
    size_t n = k == OTLP_LOGS     ? sizeof logs_paths / sizeof *fp
               : k == OTLP_TRACES ? sizeof spans_paths / sizeof *fp
                                  : sizeof metrics_paths / sizeof *fp;
    offsets t = {0}, d = {0};
    for (size_t i = 0; i < n; i++) {
        int rc = collect(b->data, (bslice){b->data, b->len}, fp[i].path, fp[i].depth, fp[i].tid,
                         fp[i].tid ? &d : &t);
        if (rc < 0) {
            free(t.v);
            free(d.v);
            return rc;
        }
    }
    b->time_off = t.v;
    b->ntime = t.n;
    b->tid_off = d.v;
    b->ntid = d.n;
    return 0;
}

static void batch_patch(batch *b, uint64_t now_ns, uint64_t seq)
{
    /* Whole milliseconds, so timestamps keep the resolution they were made with. */
    uint64_t delta = (now_ns - b->time_base) / 1000000 * 1000000;
    for (size_t i = 0; i < b->ntime; i++) {
        uint8_t *p = b->data + b->time_off[i];
        wr_u64le(p, rd_u64le(p) + delta);
    }
    b->time_base += delta;
    uint64_t m = bench_mix64(seq * 0x2545f4914f6cdd1dull + 1);
    uint64_t x = m ^ b->mask;
    for (size_t i = 0; i < b->ntid; i++) {
        uint8_t *p = b->data + b->tid_off[i];
        wr_u64le(p, rd_u64le(p) ^ x);
    }
    b->mask = m;
}

static void batch_free(batch *b)
{
    free(b->data);
    free(b->time_off);
    free(b->tid_off);
    memset(b, 0, sizeof *b);
}

/* ---------------------------------------------------------------------------
 * Protobuf helpers (OTLP common.proto: KeyValue{key=1, value=2}, AnyValue
 * {string=1, bool=2, int=3, double=4}).
 * ------------------------------------------------------------------------- */
static void kv_str(buf *b, uint32_t field, const char *k, const char *v)
{
    size_t kv = pb_begin(b, field);
    pb_put_string(b, 1, k);
    size_t av = pb_begin(b, 2);
    pb_put_string(b, 1, v);
    pb_end(b, av);
    pb_end(b, kv);
}

static void kv_int(buf *b, uint32_t field, const char *k, int64_t v)
{
    size_t kv = pb_begin(b, field);
    pb_put_string(b, 1, k);
    size_t av = pb_begin(b, 2);
    pb_put_int64(b, 3, v);
    pb_end(b, av);
    pb_end(b, kv);
}

static void kv_bool(buf *b, uint32_t field, const char *k, bool v)
{
    size_t kv = pb_begin(b, field);
    pb_put_string(b, 1, k);
    size_t av = pb_begin(b, 2);
    pb_put_bool(b, 2, v);
    pb_end(b, av);
    pb_end(b, kv);
}

static void kv_double(buf *b, uint32_t field, const char *k, double v)
{
    size_t kv = pb_begin(b, field);
    pb_put_string(b, 1, k);
    size_t av = pb_begin(b, 2);
    pb_put_double(b, 4, v);
    pb_end(b, av);
    pb_end(b, kv);
}

/* Resource{attributes=1} for one pod of a service, as field 1 of the
 * Resource{Logs,Spans,Metrics} message. */
static void put_resource(buf *b, int svc, int pod)
{
    const bench_service *s = &bench_services[svc];
    char pod_name[64], node[96], cid[65];
    bench_pod_name(svc, pod, pod_name, sizeof pod_name);
    bench_node_name(svc, pod, node, sizeof node);
    bench_container_id(svc, pod, cid);
    char deploy[64], inst[80];
    snprintf(deploy, sizeof deploy, "%s", s->name);
    snprintf(inst, sizeof inst, "%s-%d", pod_name, pod);
    size_t r = pb_begin(b, 1);
    kv_str(b, 1, "service.name", s->name);
    kv_str(b, 1, "service.namespace", "shop");
    kv_str(b, 1, "service.version", s->version);
    kv_str(b, 1, "service.instance.id", inst);
    kv_str(b, 1, "deployment.environment.name", "production");
    kv_str(b, 1, "telemetry.sdk.name", "opentelemetry");
    kv_str(b, 1, "telemetry.sdk.language", s->language);
    kv_str(b, 1, "telemetry.sdk.version", "1.38.0");
    kv_str(b, 1, "k8s.cluster.name", "prod-eu-west-1");
    kv_str(b, 1, "k8s.namespace.name", "shop");
    kv_str(b, 1, "k8s.deployment.name", deploy);
    kv_str(b, 1, "k8s.pod.name", pod_name);
    kv_str(b, 1, "k8s.node.name", node);
    kv_str(b, 1, "container.id", cid);
    kv_str(b, 1, "host.name", node);
    kv_str(b, 1, "host.arch", "amd64");
    kv_str(b, 1, "os.type", "linux");
    kv_str(b, 1, "cloud.provider", "aws");
    kv_str(b, 1, "cloud.region", "eu-west-1");
    pb_end(b, r);
}

static void put_scope(buf *b, int svc)
{
    size_t sc = pb_begin(b, 1);
    pb_put_string(b, 1, bench_services[svc].scope);
    pb_put_string(b, 2, "0.52.0");
    pb_end(b, sc);
}

static void random_bytes(bench_rng *r, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = bench_rand(r);
        memcpy(out + i, &v, n - i < 8 ? n - i : 8);
    }
}

static const uint32_t method_w[] = {70, 20, 7, 3};
static const char *const agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "okhttp/4.12.0",
    "shop-ios/5.31.0 (iPhone15,2; iOS 17.4)",
};

static int status_code(bench_rng *r, int32_t severity)
{
    if (severity >= 17)
        return bench_below(r, 4) ? 500 : 503;
    if (severity >= 13)
        return bench_below(r, 2) ? 429 : 404;
    static const int codes[] = {200, 201, 204, 304};
    static const uint32_t w[] = {85, 8, 5, 2};
    return codes[bench_pick(r, w, 4)];
}

/* ---------------------------------------------------------------------------
 * Logs: ExportLogsServiceRequest{resource_logs=1: ResourceLogs{resource=1,
 * scope_logs=2: ScopeLogs{scope=1, log_records=2}}}.
 * ------------------------------------------------------------------------- */
typedef struct {
    uint64_t t;
    int svc, route;
    bool traced;
    uint8_t tid[16], sid[8];
    uint8_t flags;
    bench_request q;
} log_plan;

static int cmp_log_plan(const void *a, const void *b)
{
    const log_plan *x = a, *y = b;
    if (x->svc != y->svc)
        return x->svc - y->svc;
    return x->t < y->t ? -1 : x->t > y->t;
}

static void put_log_record(buf *b, bench_rng *r, const log_plan *p)
{
    const bench_service *s = &bench_services[p->svc];
    bench_severity sev = bench_pick_severity(r);
    char line[320], tmp[128];
    size_t ln = bench_log_line(r, p->svc, p->route, sev.number, &p->q, line, sizeof line);
    size_t lr = pb_begin(b, 2);
    /* Loggers stamp the record a few microseconds before the SDK observes it. */
    pb_put_fixed64(b, 1, p->t);
    pb_put_fixed64(b, 11, p->t + 2000 + bench_below(r, 100000));
    pb_put_uint64(b, 2, (uint64_t)sev.number);
    pb_put_string(b, 3, sev.text);
    size_t body = pb_begin(b, 5);
    pb_put_bytes(b, 1, line, ln);
    pb_end(b, body);

    kv_str(b, 6, "http.request.method", bench_methods[p->q.method]);
    kv_str(b, 6, "http.route", s->routes[p->route]);
    kv_int(b, 6, "http.response.status_code", status_code(r, sev.number));
    kv_str(b, 6, "user.tier", bench_tiers[p->q.tier]);
    kv_str(b, 6, "client.region", bench_regions[p->q.region]);
    kv_str(b, 6, "request.id", p->q.request_id);
    snprintf(tmp, sizeof tmp, "u_%06u", p->q.user);
    kv_str(b, 6, "enduser.id", tmp);
    kv_str(b, 6, "client.address", p->q.client);
    kv_int(b, 6, "duration_ms", bench_latency_ms(r, 25));
    snprintf(tmp, sizeof tmp, "http-nio-8080-exec-%u", 1 + bench_below(r, 50));
    kv_str(b, 6, "thread.name", tmp);
    kv_str(b, 6, "code.function", s->functions[p->route]);
    kv_str(b, 6, "log.logger", s->logger);
    /* A few optional attributes, so records do not all have the same keys. */
    uint32_t extra = bench_below(r, 7);
    if (extra > 0)
        kv_str(b, 6, "session.id", p->q.session_id);
    if (extra > 1)
        kv_bool(b, 6, "cache.hit", bench_below(r, 3) != 0);
    if (extra > 2)
        kv_str(b, 6, "db.operation.name", bench_below(r, 4) ? "SELECT" : "UPDATE");
    if (extra > 3)
        kv_int(b, 6, "retry.count", bench_below(r, 8) ? 0 : 1 + bench_below(r, 3));
    if (extra > 4)
        kv_str(b, 6, "user_agent.original", agents[bench_below(r, 5)]);
    if (extra > 5)
        kv_str(b, 6, "feature_flag.new_checkout", bench_below(r, 5) ? "off" : "on");
    if (sev.number >= 13)
        kv_str(b, 6, "error.type", sev.number >= 17 ? "java.net.SocketTimeoutException" : "slow");

    pb_put_fixed32(b, 8, p->flags);
    if (p->traced) {
        pb_put_bytes(b, 9, p->tid, 16);
        pb_put_bytes(b, 10, p->sid, 8);
    }
    pb_end(b, lr);
}

static void gen_logs(bench_rng *r, int n, uint64_t base, buf *b, batch *out)
{
    log_plan *plan = calloc((size_t)n, sizeof *plan);
    if (!plan) {
        b->err = BRAID_ENOMEM;
        return;
    }
    /* 80 % of records in traces of 5-10 records each, spread over 2-3 services
     * and a handful of spans; the rest without a trace id. */
    int traced = n * 8 / 10, k = 0;
    bool first = true;
    while (k < traced) {
        int size = 5 + (int)bench_below(r, 6);
        if (size > traced - k)
            size = traced - k;
        uint8_t tid[16], sids[3][8];
        random_bytes(r, tid, 16);
        for (int i = 0; i < 3; i++)
            random_bytes(r, sids[i], 8);
        int chain[3] = {(int)bench_below(r, BENCH_NSERVICES), 0, 0};
        chain[1] = (chain[0] + 1 + (int)bench_below(r, 5)) % BENCH_NSERVICES;
        chain[2] = (chain[1] + 1 + (int)bench_below(r, 5)) % BENCH_NSERVICES;
        int routes[3];
        for (int i = 0; i < 3; i++)
            routes[i] = (int)bench_below(r, BENCH_NROUTES);
        uint64_t t0 = base - 2500000000ull + bench_below(r, 1800000000u);
        uint8_t flags = bench_below(r, 10) ? 1 : 0;
        bench_request q;
        bench_request_new(r, &q);
        if (first) {
            memcpy(out->probe_tid, tid, 16);
            out->probe_rows = (uint32_t)size;
            first = false;
        }
        for (int j = 0; j < size; j++, k++) {
            int hop = j * 3 / size;
            log_plan *p = &plan[k];
            p->t = t0 + (uint64_t)j * (1000000ull + bench_below(r, 30000000));
            p->svc = chain[hop];
            p->route = routes[hop];
            p->traced = true;
            memcpy(p->tid, tid, 16);
            memcpy(p->sid, sids[hop], 8);
            p->flags = flags;
            p->q = q;
        }
    }
    for (; k < n; k++) {
        plan[k].t = base - 2000000000ull + bench_below(r, 1900000000u);
        plan[k].svc = (int)bench_below(r, BENCH_NSERVICES);
        plan[k].route = (int)bench_below(r, BENCH_NROUTES);
        bench_request_new(r, &plan[k].q);
    }
    for (k = 0; k < n; k++)
        plan[k].t -= plan[k].t % bench_services[plan[k].svc].time_res_ns;
    qsort(plan, (size_t)n, sizeof *plan, cmp_log_plan);
    for (int i = 0; i < n;) {
        int svc = plan[i].svc;
        size_t rl = pb_begin(b, 1);
        put_resource(b, svc, (int)bench_below(r, BENCH_NPODS));
        size_t sl = pb_begin(b, 2);
        put_scope(b, svc);
        for (; i < n && plan[i].svc == svc; i++)
            put_log_record(b, r, &plan[i]);
        pb_end(b, sl);
        pb_end(b, rl);
    }
    out->rows = (uint64_t)n;
    free(plan);
}

/* ---------------------------------------------------------------------------
 * Spans: ExportTraceServiceRequest{resource_spans=1: ResourceSpans{resource=1,
 * scope_spans=2: ScopeSpans{scope=1, spans=2}}}. Traces of 6-14 spans: a
 * frontend server root, calls between services (client + server pairs),
 * database calls and internal work; 4 % of traces fail somewhere.
 * ------------------------------------------------------------------------- */
enum { SP_SERVER, SP_CLIENT, SP_DB, SP_INTERNAL };

typedef struct {
    int svc, route, type, callee;
    uint64_t start, end;
    uint8_t tid[16], sid[8], parent[8];
    bool root, error, link;
} span_plan;

static int cmp_span_plan(const void *a, const void *b)
{
    const span_plan *x = a, *y = b;
    if (x->svc != y->svc)
        return x->svc - y->svc;
    return x->start < y->start ? -1 : x->start > y->start;
}

static void child_times(bench_rng *r, const span_plan *p, span_plan *c)
{
    uint64_t d = p->end - p->start;
    c->start = p->start + (uint64_t)((double)d * 0.6 * bench_unit(r));
    c->end = c->start + (uint64_t)((double)(p->end - c->start) * (0.1 + 0.85 * bench_unit(r)));
    if (c->end <= c->start)
        c->end = c->start + 1000;
}

static int plan_trace(bench_rng *r, span_plan *sp, int size, uint64_t base)
{
    uint8_t tid[16];
    random_bytes(r, tid, 16);
    span_plan *root = &sp[0];
    memset(root, 0, sizeof *root);
    root->svc = 0;
    root->route = (int)bench_below(r, BENCH_NROUTES);
    root->type = SP_SERVER;
    root->root = true;
    random_bytes(r, root->sid, 8);
    root->start = base - 3000000000ull + bench_below(r, 2000000000u);
    root->end = root->start + (uint64_t)bench_latency_ms(r, 60) * 1000000ull;
    int n = 1;
    while (n < size) {
        /* Parent: a server span (work happens inside a request handler). */
        int servers[32], ns = 0;
        for (int i = 0; i < n && ns < 32; i++)
            if (sp[i].type == SP_SERVER)
                servers[ns++] = i;
        span_plan *p = &sp[servers[bench_below(r, (uint32_t)ns)]];
        uint32_t what = bench_below(r, 100);
        span_plan *c = &sp[n];
        memset(c, 0, sizeof *c);
        c->svc = p->svc;
        c->route = p->route;
        memcpy(c->parent, p->sid, 8);
        child_times(r, p, c);
        if (what < 40 && n + 2 <= size) {
            c->type = SP_CLIENT;
            c->callee = (p->svc + 1 + (int)bench_below(r, BENCH_NSERVICES - 1)) % BENCH_NSERVICES;
            random_bytes(r, c->sid, 8);
            span_plan *s = &sp[n + 1];
            memset(s, 0, sizeof *s);
            s->svc = c->callee;
            s->route = (int)bench_below(r, BENCH_NROUTES);
            s->type = SP_SERVER;
            memcpy(s->parent, c->sid, 8);
            s->start = c->start + 150000 + bench_below(r, 300000);
            s->end = c->end > s->start + 400000 ? c->end - 200000 : s->start + 200000;
            s->link = bench_below(r, 100) == 0;
            random_bytes(r, s->sid, 8);
            n += 2;
            continue;
        }
        c->type = what < 75 ? SP_DB : SP_INTERNAL;
        random_bytes(r, c->sid, 8);
        n++;
    }
    for (int i = 0; i < n; i++)
        memcpy(sp[i].tid, tid, 16);
    if (bench_below(r, 25) == 0) {
        int culprit = n > 1 ? 1 + (int)bench_below(r, (uint32_t)(n - 1)) : 0;
        sp[culprit].error = true;
        root->error = true;
    }
    return n;
}

static void put_event(buf *b, uint64_t t, const char *name, const char *k1, const char *v1,
                      const char *k2, const char *v2)
{
    size_t ev = pb_begin(b, 11);
    pb_put_fixed64(b, 1, t);
    pb_put_string(b, 2, name);
    if (k1)
        kv_str(b, 3, k1, v1);
    if (k2)
        kv_str(b, 3, k2, v2);
    pb_end(b, ev);
}

static void put_span(buf *b, bench_rng *r, const span_plan *p)
{
    const bench_service *s = &bench_services[p->svc];
    char name[128], tmp[256], path[96];
    const char *method = bench_methods[bench_pick(r, method_w, 4)];
    size_t sp = pb_begin(b, 2);
    pb_put_bytes(b, 1, p->tid, 16);
    pb_put_bytes(b, 2, p->sid, 8);
    if (!p->root)
        pb_put_bytes(b, 4, p->parent, 8);
    pb_put_fixed32(b, 16, p->type == SP_SERVER && !p->root ? 0x301 : 0x101);
    int kind = p->type == SP_SERVER ? 2 : p->type == SP_INTERNAL ? 1 : 3;
    switch (p->type) {
    case SP_SERVER:
        snprintf(name, sizeof name, "%s %s", method, s->routes[p->route]);
        break;
    case SP_CLIENT:
        snprintf(name, sizeof name, "%s", method);
        break;
    case SP_DB:
        snprintf(name, sizeof name, "%s shop.%s_items", bench_below(r, 4) ? "SELECT" : "UPDATE",
                 s->name);
        break;
    default:
        snprintf(name, sizeof name, "%s", s->functions[p->route]);
    }
    pb_put_string(b, 5, name);
    pb_put_uint64(b, 6, (uint64_t)kind);
    pb_put_fixed64(b, 7, p->start);
    pb_put_fixed64(b, 8, p->end);
    int code = p->error ? 500 : 200;
    snprintf(path, sizeof path, "%s", s->routes[p->route]);
    switch (p->type) {
    case SP_SERVER:
        kv_str(b, 9, "http.request.method", method);
        kv_str(b, 9, "http.route", s->routes[p->route]);
        kv_int(b, 9, "http.response.status_code", code);
        kv_str(b, 9, "url.path", path);
        kv_str(b, 9, "url.scheme", "http");
        snprintf(tmp, sizeof tmp, "%s.shop.svc.cluster.local", s->name);
        kv_str(b, 9, "server.address", tmp);
        kv_int(b, 9, "server.port", 8080);
        kv_str(b, 9, "network.protocol.version", "1.1");
        snprintf(tmp, sizeof tmp, "10.%u.%u.%u", 20 + bench_below(r, 4), bench_below(r, 32),
                 bench_below(r, 250));
        kv_str(b, 9, "client.address", tmp);
        if (p->root) {
            kv_str(b, 9, "user_agent.original", agents[bench_below(r, 5)]);
            snprintf(tmp, sizeof tmp, "u_%06u", bench_below(r, 200000));
            kv_str(b, 9, "enduser.id", tmp);
        }
        break;
    case SP_CLIENT: {
        const bench_service *c = &bench_services[p->callee];
        snprintf(tmp, sizeof tmp, "http://%s.shop.svc.cluster.local:8080%s", c->name,
                 c->routes[bench_below(r, BENCH_NROUTES)]);
        kv_str(b, 9, "http.request.method", method);
        kv_str(b, 9, "url.full", tmp);
        snprintf(tmp, sizeof tmp, "%s.shop.svc.cluster.local", c->name);
        kv_str(b, 9, "server.address", tmp);
        kv_int(b, 9, "server.port", 8080);
        kv_int(b, 9, "http.response.status_code", code);
        snprintf(tmp, sizeof tmp, "10.%u.%u.%u", 20 + bench_below(r, 4), bench_below(r, 32),
                 bench_below(r, 250));
        kv_str(b, 9, "network.peer.address", tmp);
        break;
    }
    case SP_DB:
        kv_str(b, 9, "db.system", s->db_system);
        kv_str(b, 9, "db.namespace", "shop");
        kv_str(b, 9, "db.operation.name", "SELECT");
        snprintf(tmp, sizeof tmp, "%s_items", s->name);
        kv_str(b, 9, "db.collection.name", tmp);
        snprintf(tmp, sizeof tmp,
                 "SELECT id, sku, qty, price_cents FROM %s_items WHERE owner_id = $1 AND "
                 "status = $2 ORDER BY id LIMIT 100",
                 s->name);
        kv_str(b, 9, "db.query.text", tmp);
        snprintf(tmp, sizeof tmp, "%s-db-%u.internal", s->name, bench_below(r, 3));
        kv_str(b, 9, "server.address", tmp);
        kv_int(b, 9, "server.port", 5432);
        break;
    default:
        kv_str(b, 9, "code.function", s->functions[p->route]);
        kv_str(b, 9, "code.namespace", s->logger);
        kv_int(b, 9, "app.items.count", 1 + bench_below(r, 12));
        kv_bool(b, 9, "app.cache.hit", bench_below(r, 3) != 0);
        kv_double(b, 9, "app.order.total", (double)(500 + bench_below(r, 50000)) / 100.0);
    }
    uint64_t mid = p->start + (p->end - p->start) / 2;
    if (p->error) {
        snprintf(tmp, sizeof tmp,
                 "java.net.SocketTimeoutException: Read timed out\n\tat "
                 "java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)\n\tat "
                 "com.shop.%s.%s(%sClient.java:%u)",
                 s->name, s->functions[p->route], s->name, 40 + bench_below(r, 400));
        put_event(b, mid, "exception", "exception.type", "java.net.SocketTimeoutException",
                  "exception.stacktrace", tmp);
    } else if (p->type == SP_INTERNAL && bench_below(r, 3) == 0) {
        put_event(b, mid, bench_below(r, 2) ? "cache.miss" : "validation.passed", "app.key",
                  s->functions[p->route], NULL, NULL);
    }
    if (p->link) {
        uint8_t lt[16], ls[8];
        random_bytes(r, lt, 16);
        random_bytes(r, ls, 8);
        size_t lk = pb_begin(b, 13);
        pb_put_bytes(b, 1, lt, 16);
        pb_put_bytes(b, 2, ls, 8);
        kv_str(b, 4, "messaging.operation.type", "process");
        pb_end(b, lk);
    }
    size_t st = pb_begin(b, 15);
    if (p->error)
        pb_put_string(b, 2, "Read timed out");
    pb_put_uint64(b, 3, p->error ? 2 : 0);
    pb_end(b, st);
    pb_end(b, sp);
}

static void gen_spans(bench_rng *r, int n, uint64_t base, buf *b, batch *out)
{
    span_plan *plan = calloc((size_t)n + 16, sizeof *plan);
    if (!plan) {
        b->err = BRAID_ENOMEM;
        return;
    }
    int k = 0;
    while (k < n) {
        int size = 6 + (int)bench_below(r, 9);
        if (size > n - k)
            size = n - k;
        int got = plan_trace(r, plan + k, size, base);
        if (k == 0) {
            memcpy(out->probe_tid, plan[0].tid, 16);
            out->probe_rows = (uint32_t)got;
        }
        k += got;
    }
    qsort(plan, (size_t)n, sizeof *plan, cmp_span_plan);
    for (int i = 0; i < n;) {
        int svc = plan[i].svc;
        size_t rs = pb_begin(b, 1);
        put_resource(b, svc, (int)bench_below(r, BENCH_NPODS));
        size_t ss = pb_begin(b, 2);
        put_scope(b, svc);
        for (; i < n && plan[i].svc == svc; i++)
            put_span(b, r, &plan[i]);
        pb_end(b, ss);
        pb_end(b, rs);
    }
    out->rows = (uint64_t)n;
    free(plan);
}

/* ---------------------------------------------------------------------------
 * Metrics: ExportMetricsServiceRequest{resource_metrics=1: ResourceMetrics{
 * resource=1, scope_metrics=2: ScopeMetrics{scope=1, metrics=2: Metric{name=1,
 * description=2, unit=3, gauge=5 | sum=7 | histogram=9}}}}. One block per pod
 * export, like an SDK's periodic reader: a latency histogram per route with
 * exemplars, request counters, active requests, CPU, memory, pool and
 * network series. A batch holds exactly n points; exemplars ride along.
 * ------------------------------------------------------------------------- */
typedef struct {
    bench_rng *r;
    buf *b;
    int left; /* points still to write in this batch */
    uint64_t start, now;
    uint64_t exemplars;
    batch *out;
} metric_gen;

static void put_exemplar(metric_gen *g, uint32_t field, double value, bool is_int)
{
    uint8_t tid[16], sid[8];
    random_bytes(g->r, tid, 16);
    random_bytes(g->r, sid, 8);
    size_t ex = pb_begin(g->b, field);
    pb_put_fixed64(g->b, 2, g->now - bench_below(g->r, 10000000u) * 1000ull);
    if (is_int)
        pb_put_fixed64(g->b, 6, (uint64_t)(int64_t)value);
    else
        pb_put_double(g->b, 3, value);
    pb_put_bytes(g->b, 4, sid, 8);
    pb_put_bytes(g->b, 5, tid, 16);
    pb_end(g->b, ex);
    if (g->exemplars++ == 0) {
        memcpy(g->out->probe_tid, tid, 16);
        g->out->probe_rows = 1;
    }
}

/* Opens a Metric and its gauge/sum/histogram body; returns the two positions. */
static void metric_begin(metric_gen *g, const char *name, const char *desc, const char *unit,
                         uint32_t kind, size_t pos[2])
{
    pos[0] = pb_begin(g->b, 2);
    pb_put_string(g->b, 1, name);
    pb_put_string(g->b, 2, desc);
    pb_put_string(g->b, 3, unit);
    pos[1] = pb_begin(g->b, kind);
}

static void metric_end(metric_gen *g, size_t pos[2], int temporality, int monotonic)
{
    if (temporality)
        pb_put_uint64(g->b, 2, (uint64_t)temporality);
    if (monotonic >= 0)
        pb_put_bool(g->b, 3, monotonic != 0);
    pb_end(g->b, pos[1]);
    pb_end(g->b, pos[0]);
}

typedef struct {
    const char *k[3];
    const char *v[3];
} labels;

/* NumberDataPoint{attributes=7, start=2, time=3, as_double=4, as_int=6, exemplars=5}. */
static void put_number_point(metric_gen *g, const labels *l, double v, bool is_int, int exemplar)
{
    buf *b = g->b;
    size_t dp = pb_begin(b, 1);
    for (int i = 0; i < 3 && l->k[i]; i++)
        kv_str(b, 7, l->k[i], l->v[i]);
    pb_put_fixed64(b, 2, g->start);
    pb_put_fixed64(b, 3, g->now);
    if (is_int)
        pb_put_fixed64(b, 6, (uint64_t)(int64_t)v);
    else
        pb_put_double(b, 4, v);
    for (int i = 0; i < exemplar; i++)
        put_exemplar(g, 5, is_int ? 1 : v, is_int);
    pb_end(b, dp);
    g->left--;
}

static void put_histogram_point(metric_gen *g, const labels *l, uint32_t median_ms)
{
    static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                    0.5,   0.75, 1,     2.5,  5,     7.5, 10};
    enum { NB = sizeof bounds / sizeof *bounds };
    buf *b = g->b;
    bench_rng *r = g->r;
    uint64_t counts[NB + 1] = {0}, count = 200 + bench_below(r, 5000);
    double sum = 0, mn = 1e9, mx = 0;
    for (uint64_t i = 0; i < 64; i++) {
        double v = bench_latency_ms(r, median_ms) / 1000.0;
        int k = 0;
        while (k < NB && v > bounds[k])
            k++;
        counts[k] += count / 64;
        sum += v * (double)(count / 64);
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    size_t dp = pb_begin(b, 1);
    for (int i = 0; i < 3 && l->k[i]; i++)
        kv_str(b, 9, l->k[i], l->v[i]);
    pb_put_fixed64(b, 2, g->start);
    pb_put_fixed64(b, 3, g->now);
    pb_put_fixed64(b, 4, count / 64 * 64);
    pb_put_double(b, 5, sum);
    pb_put_packed_fixed64(b, 6, counts, NB + 1);
    pb_put_packed_double(b, 7, bounds, NB);
    int nex = 1 + (int)bench_below(r, 2);
    for (int i = 0; i < nex; i++)
        put_exemplar(g, 8, bench_latency_ms(r, median_ms) / 1000.0, false);
    pb_put_double(b, 11, mn);
    pb_put_double(b, 12, mx);
    pb_end(b, dp);
    g->left--;
}

static void put_pod_metrics(metric_gen *g, int svc)
{
    const bench_service *s = &bench_services[svc];
    bench_rng *r = g->r;
    static const char *const codes[] = {"200", "500"};
    size_t m[2];
    labels l;
    char buf16[16];

    metric_begin(g, "http.server.request.duration", "Duration of HTTP server requests.", "s", 9, m);
    for (int route = 0; route < BENCH_NROUTES && g->left > 0; route++)
        for (int mi = 0; mi < 2 && g->left > 0; mi++)
            for (int ci = 0; ci < 2 && g->left > 0; ci++) {
                l = (labels){{"http.request.method", "http.route", "http.response.status_code"},
                             {bench_methods[mi], s->routes[route], codes[ci]}};
                put_histogram_point(g, &l, ci ? 900 : 40);
            }
    metric_end(g, m, 2, -1);
    if (g->left <= 0)
        return;

    metric_begin(g, "http.server.request.count", "Requests handled.", "{request}", 7, m);
    for (int route = 0; route < BENCH_NROUTES && g->left > 0; route++)
        for (int t = 0; t < 3 && g->left > 0; t++) {
            l = (labels){{"http.route", "user.tier", NULL},
                         {s->routes[route], bench_tiers[t], NULL}};
            put_number_point(g, &l, (double)(1000 + bench_below(r, 900000)), true,
                             bench_below(r, 3) == 0);
        }
    metric_end(g, m, 2, 1);
    if (g->left <= 0)
        return;

    metric_begin(g, "http.server.active_requests", "Requests in flight.", "{request}", 7, m);
    for (int route = 0; route < BENCH_NROUTES && g->left > 0; route++)
        for (int mi = 0; mi < 2 && g->left > 0; mi++) {
            l = (labels){{"http.request.method", "http.route", NULL},
                         {bench_methods[mi], s->routes[route], NULL}};
            put_number_point(g, &l, (double)bench_below(r, 40), true, 0);
        }
    metric_end(g, m, 2, 0);
    if (g->left <= 0)
        return;

    static const char *const modes[] = {"user", "system", "wait"};
    metric_begin(g, "process.cpu.utilization", "CPU utilization of the process.", "1", 5, m);
    for (int i = 0; i < 3 && g->left > 0; i++) {
        l = (labels){{"cpu.mode", NULL, NULL}, {modes[i], NULL, NULL}};
        put_number_point(g, &l, bench_unit(r) * 0.6, false, 0);
    }
    metric_end(g, m, 0, -1);
    if (g->left <= 0)
        return;

    static const char *const mtypes[] = {"heap", "non_heap"};
    static const char *const pools[] = {"eden", "survivor", "old"};
    metric_begin(g, "process.runtime.memory.used", "Memory in use.", "By", 5, m);
    for (int i = 0; i < 2 && g->left > 0; i++)
        for (int j = 0; j < 3 && g->left > 0; j++) {
            l = (labels){{"memory.type", "memory.pool.name", NULL}, {mtypes[i], pools[j], NULL}};
            put_number_point(g, &l, (double)(16000000 + bench_below(r, 400000000)), true, 0);
        }
    metric_end(g, m, 0, -1);
    if (g->left <= 0)
        return;

    static const char *const cstate[] = {"idle", "used"};
    metric_begin(g, "db.client.connection.count", "Connections in the pool.", "{connection}", 7, m);
    for (int i = 0; i < 2 && g->left > 0; i++) {
        snprintf(buf16, sizeof buf16, "%s-pool", s->db_system);
        l = (labels){{"db.client.connection.state", "db.client.connection.pool.name", NULL},
                     {cstate[i], buf16, NULL}};
        put_number_point(g, &l, (double)bench_below(r, 50), true, 0);
    }
    metric_end(g, m, 2, 0);
    if (g->left <= 0)
        return;

    static const char *const dirs[] = {"transmit", "receive"};
    static const char *const ifs[] = {"eth0", "lo"};
    metric_begin(g, "system.network.io", "Bytes sent and received.", "By", 7, m);
    for (int i = 0; i < 2 && g->left > 0; i++)
        for (int j = 0; j < 2 && g->left > 0; j++) {
            l = (labels){{"network.io.direction", "network.interface.name", NULL},
                         {dirs[i], ifs[j], NULL}};
            put_number_point(g, &l, (double)bench_rand(r) / 1e10, true, 0);
        }
    metric_end(g, m, 2, 1);
}

static void gen_metrics(bench_rng *r, int n, uint64_t base, buf *b, batch *out)
{
    metric_gen g = {.r = r, .b = b, .left = n, .out = out};
    while (g.left > 0) {
        int svc = (int)bench_below(r, BENCH_NSERVICES);
        g.now = base - bench_below(r, 1000000000u);
        g.start = base - 3600000000000ull;
        size_t rm = pb_begin(b, 1);
        put_resource(b, svc, (int)bench_below(r, BENCH_NPODS));
        size_t sm = pb_begin(b, 2);
        size_t sc = pb_begin(b, 1);
        pb_put_string(b, 1, "io.opentelemetry.runtime-telemetry");
        pb_put_string(b, 2, "2.4.0");
        pb_end(b, sc);
        put_pod_metrics(&g, svc);
        pb_end(b, sm);
        pb_end(b, rm);
    }
    out->rows = (uint64_t)n;
    out->exemplars = g.exemplars;
}

/* ---------------------------------------------------------------------------
 * Pool generation and a self-check with braid's own decoder.
 * ------------------------------------------------------------------------- */
static const char *kind_name(otlp_kind k)
{
    return k == OTLP_LOGS ? "logs" : k == OTLP_TRACES ? "spans" : "metrics";
}

static const char *kind_path(otlp_kind k)
{
    return k == OTLP_LOGS ? "/v1/logs" : k == OTLP_TRACES ? "/v1/traces" : "/v1/metrics";
}

static int gen_pool(otlp_kind k, int nbatches, int rows, batch *pool, uint64_t *bytes)
{
    uint64_t base = now_unix_ns();
    *bytes = 0;
    for (int i = 0; i < nbatches; i++) {
        bench_rng r = {bench_mix64(0xb7a1d + (uint64_t)k * 1000003 + (uint64_t)i)};
        buf b;
        buf_init(&b);
        batch *bt = &pool[i];
        memset(bt, 0, sizeof *bt);
        if (k == OTLP_LOGS)
            gen_logs(&r, rows, base, &b, bt);
        else if (k == OTLP_TRACES)
            gen_spans(&r, rows, base, &b, bt);
        else
            gen_metrics(&r, rows, base, &b, bt);
        if (b.err) {
            buf_free(&b);
            fprintf(stderr, "bench: out of memory building %s batches\n", kind_name(k));
            return BRAID_ENOMEM;
        }
        bt->data = buf_detach(&b, &bt->len);
        bt->time_base = base;
        int rc = batch_index(bt, k);
        if (rc) {
            fprintf(stderr, "bench: generated %s batch %d does not parse back\n", kind_name(k), i);
            return rc;
        }
        *bytes += bt->len;
    }
    return 0;
}

/* Decodes every batch with the daemon's decoder: a generator bug must show up
 * here, not as a puzzling figure. */
static int self_check(otlp_kind k, batch *pool, int nbatches)
{
    for (int i = 0; i < nbatches; i++) {
        model_batch mb;
        model_batch_init(&mb);
        char err[256] = "";
        int rc = otlp_decode_pb(k, pool[i].data, pool[i].len, &mb, err, sizeof err);
        size_t got = k == OTLP_LOGS ? mb.nlogs : k == OTLP_TRACES ? mb.nspans : mb.nmetrics;
        bool ok = rc == 0 && mb.rejected == 0 && got == pool[i].rows &&
                  (k != OTLP_METRICS || mb.nexemplars == pool[i].exemplars);
        if (!ok)
            fprintf(stderr,
                    "bench: self-check of %s batch %d failed: rc=%d (%s) rows %zu/%llu "
                    "rejected %llu (%s)\n",
                    kind_name(k), i, rc, err, got, (unsigned long long)pool[i].rows,
                    (unsigned long long)mb.rejected, mb.reject_msg);
        model_batch_free(&mb);
        if (!ok)
            return BRAID_EINVAL;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * The load: one thread per connection, one request in flight on each.
 * ------------------------------------------------------------------------- */
typedef struct {
    uint8_t tid[16];
    uint32_t rows;
    bool set;
} probe;

typedef struct {
    int id;
    const config *cfg;
    otlp_kind kind;
    int transport;
    batch *pool;
    int pool_n;
    int port;
    atomic_bool *stop;
    atomic_uint_fast64_t *seq;
    atomic_int *failed; /* 0, the first failing HTTP or gRPC status, or -1 */
    /* results */
    uint64_t rows, bytes, requests, reconnects;
    uint64_t retries; /* retry-later answers (429/503, RESOURCE_EXHAUSTED/UNAVAILABLE) */
    double backoff_s; /* time spent waiting before those retries */
    bench_samples lat;
    probe first, last;
} worker;

/* A 200 carrying partial_success (field 1) with rejected records (field 1 of
 * it) means the daemon dropped rows we consider valid. */
static uint64_t rejected_in_response(const buf *resp)
{
    pb_reader r, pr;
    pb_field f, g;
    pb_reader_init(&r, resp->p, resp->n);
    while (pb_next(&r, &f) == 1) {
        if (f.num != 1 || f.wire != PB_LEN)
            continue;
        pb_reader_init_slice(&pr, f.s);
        while (pb_next(&pr, &g) == 1)
            if (g.num == 1 && g.wire == PB_VARINT)
                return g.v;
    }
    return 0;
}

/* The reason in an error answer: google.rpc.Status.message (field 2) for a
 * protobuf body, else the printable bytes of the body. */
static void error_text(const buf *resp, char *out, size_t n)
{
    pb_reader r;
    pb_field f;
    bslice msg = {resp->p, resp->n};
    pb_reader_init(&r, resp->p, resp->n);
    while (pb_next(&r, &f) == 1)
        if (f.num == 2 && f.wire == PB_LEN)
            msg = f.s;
    size_t o = 0;
    for (size_t i = 0; i < msg.n && o + 1 < n; i++)
        out[o++] = msg.p[i] >= 0x20 && msg.p[i] < 0x7f ? (char)msg.p[i] : '.';
    out[o] = 0;
}

/* Stops every worker; the first failure is the one reported. status is the
 * HTTP status, or -1 for a failure below HTTP. */
static void worker_fail(worker *w, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void worker_fail(worker *w, int status, const char *fmt, ...)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(w->failed, &expected, status)) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    atomic_store(w->stop, true);
}

/* Waits before a retry, as OTel exporters do, waking early when the load
 * ends. Returns false when it ended. */
static bool backoff(worker *w, double seconds)
{
    double until = bench_now_s() + seconds;
    while (bench_now_s() < until) {
        if (atomic_load(w->stop))
            return false;
        usleep(10000);
    }
    w->backoff_s += seconds;
    return true;
}

typedef enum { SEND_OK, SEND_RETRY, SEND_FAIL } send_outcome;

/* One attempt over HTTP. */
static send_outcome send_http(worker *w, bench_conn *c, const batch *b, buf *resp, double *delay)
{
    int status = 0;
    int rc = bench_http(c, "POST", kind_path(w->kind), "application/x-protobuf", b->data, b->len,
                        &status, resp);
    if (rc != 0) {
        worker_fail(w, -1, "bench: POST %s failed at the socket level\n", kind_path(w->kind));
        return SEND_FAIL;
    }
    if (status == 429 || status == 503) {
        *delay = c->retry_after_s > 0 ? c->retry_after_s : DEFAULT_BACKOFF_S;
        return SEND_RETRY;
    }
    if (status != 200) {
        char why[200];
        error_text(resp, why, sizeof why);
        worker_fail(w, status, "bench: POST %s answered %d: %s\n", kind_path(w->kind), status, why);
        return SEND_FAIL;
    }
    return SEND_OK;
}

/* One attempt over gRPC. */
static send_outcome send_grpc(worker *w, bench_grpc *g, const batch *b, buf *resp, double *delay)
{
    const char *method = otlp_grpc_methods[w->kind];
    if (bench_grpc_call(g, method, b->data, b->len, resp) != 0) {
        worker_fail(w, -1, "bench: gRPC %s failed below gRPC\n", method);
        return SEND_FAIL;
    }
    if (g->status == GRPC_STATUS_RESOURCE_EXHAUSTED || g->status == GRPC_STATUS_UNAVAILABLE) {
        *delay = g->retry_ms ? g->retry_ms / 1000.0 : DEFAULT_BACKOFF_S;
        return SEND_RETRY;
    }
    if (g->status != GRPC_STATUS_OK) {
        worker_fail(w, 1000 + g->status, "bench: gRPC %s answered %s: %s\n", method,
                    grpc_status_name(g->status), g->message);
        return SEND_FAIL;
    }
    return SEND_OK;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    bench_conn c = {.fd = -1};
    bench_grpc g = {.fd = -1};
    buf resp;
    buf_init(&resp);
    bench_samples_init(&w->lat);
    int rc = w->transport == T_HTTP ? bench_conn_open(&c, w->port) : bench_grpc_open(&g, w->port);
    if (rc) {
        worker_fail(w, -1, "bench: cannot connect to the %s port\n",
                    w->transport == T_HTTP ? "otlp-http" : "otlp-grpc");
        buf_free(&resp);
        return NULL;
    }
    /* Batches i with i % connections == id belong to this thread only, so
     * patching them in place needs no locking. */
    int mine = 0;
    for (uint64_t i = 0; !atomic_load(w->stop); i++) {
        int idx =
            w->id + w->cfg->connections * (int)(i % (uint64_t)(w->pool_n / w->cfg->connections));
        batch *b = &w->pool[idx];
        uint64_t seq = atomic_fetch_add(w->seq, 1) + 1;
        batch_patch(b, now_unix_ns(), seq);
        send_outcome out;
        uint64_t dt;
        for (;;) {
            double delay = 0;
            uint64_t t0 = now_mono_ns();
            out = w->transport == T_HTTP ? send_http(w, &c, b, &resp, &delay)
                                         : send_grpc(w, &g, b, &resp, &delay);
            dt = now_mono_ns() - t0;
            if (out != SEND_RETRY)
                break;
            /* refused whole (nothing stored): the same request again, later */
            w->retries++;
            if (!backoff(w, delay))
                break;
        }
        if (out != SEND_OK)
            break;
        uint64_t rej = rejected_in_response(&resp);
        if (rej) {
            worker_fail(w, -1, "bench: %s: the daemon rejected %llu records of a valid batch\n",
                        kind_path(w->kind), (unsigned long long)rej);
            break;
        }
        __atomic_store_n(&w->rows, w->rows + b->rows, __ATOMIC_RELAXED);
        w->bytes += b->len;
        w->requests++;
        if (bench_samples_add(&w->lat, dt)) {
            worker_fail(w, -1, "bench: out of memory\n");
            break;
        }
        probe *p = mine++ == 0 ? &w->first : &w->last;
        memcpy(p->tid, b->probe_tid, 16);
        wr_u64le(p->tid, rd_u64le(p->tid) ^ b->mask);
        p->rows = b->probe_rows;
        p->set = true;
    }
    w->reconnects = w->transport == T_HTTP ? c.reconnects : g.reconnects;
    bench_conn_close(&c);
    bench_grpc_close(&g);
    buf_free(&resp);
    return NULL;
}

typedef struct {
    otlp_kind kind;
    int transport;
    uint64_t rows, requests, bytes, reconnects;
    uint64_t retries;
    double backoff_s;
    uint64_t exemplars; /* per request, for metrics */
    double seconds, gen_s, client_cpu_s;
    uint64_t p50, p99, max;
    uint64_t hwm_kb, maxrss_kb;
    double daemon_cpu_s, load_cpu_s, ready_s, stop_s, restart_s;
    int fail_status; /* the first failing HTTP status (or 1000 + grpc-status), -1 other, 0 none */
    uint64_t part_bytes, part_files, exemplar_bytes, wal_left, data_bytes;
    int probes_ok, probes;
    bool ran;
} result;

static double cpu_self_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Restarts the daemon on the data and checks each probe trace: the right
 * number of logs, spans or exemplars. Returns how many were right, or -1 if
 * the daemon or the API failed. */
static int verify(const config *cfg, otlp_kind k, const char *data, const char *log, probe *probes,
                  int n, double *ready_s)
{
    bench_daemon d;
    if (bench_daemon_start(&d, cfg->braid, data, NULL, log, 600))
        return -1;
    *ready_s = d.ready_s;
    /* Keys only one kind of row has in the API's JSON. */
    const char *key = k == OTLP_LOGS     ? "\"severity_text\""
                      : k == OTLP_TRACES ? "\"parent_span_id\""
                                         : "\"filtered_attributes\"";
    bench_conn c;
    buf resp;
    buf_init(&resp);
    int ok = 0, rc = bench_conn_open(&c, d.api_port);
    for (int i = 0; rc == 0 && i < n; i++) {
        char hex[33], path[80];
        for (int j = 0; j < 16; j++)
            snprintf(hex + 2 * j, 3, "%02x", probes[i].tid[j]);
        snprintf(path, sizeof path, "/api/v1/traces/%s", hex);
        int status = 0;
        rc = bench_http(&c, "GET", path, NULL, NULL, 0, &status, &resp);
        size_t got = rc == 0 && status == 200 ? bench_count(resp.p, resp.n, key) : 0;
        if (rc == 0 && status == 200 && got == probes[i].rows)
            ok++;
        else if (rc == 0)
            fprintf(stderr, "bench: GET %s -> %d with %zu %s rows, expected 200 with %u\n", path,
                    status, got, kind_name(k), probes[i].rows);
    }
    bench_conn_close(&c);
    buf_free(&resp);
    if (bench_daemon_stop(&d, 600))
        rc = BRAID_EIO;
    return rc ? -1 : ok;
}

/* Runs the load against a fresh daemon on `data`, then SIGTERMs it and
 * measures what it left on disk. Fills res and the probes (up to two per
 * connection). Returns 0, or BRAID_EIO when the daemon or a request failed. */
static int load(const config *cfg, otlp_kind k, batch *pool, int pool_n, const char *data,
                const char *log, result *res, probe *probes, int *np)
{
    const char *extra[] = {"--fsync", "batch", "--correlation", cfg->correlation, NULL};
    bench_daemon d;
    if (bench_daemon_start(&d, cfg->braid, data, extra, log, 120))
        return BRAID_EIO;
    res->ready_s = d.ready_s;
    int port = res->transport == T_HTTP ? d.otlp_port : d.grpc_port;
    if (port == 0) {
        fprintf(stderr, "bench: braid did not announce an %s listener\n",
                res->transport == T_HTTP ? "otlp-http" : "otlp-grpc");
        bench_daemon_stop(&d, 60);
        return BRAID_EIO;
    }
    atomic_bool stop = false;
    atomic_uint_fast64_t seq = 0;
    atomic_int failed = 0;
    worker *ws = calloc((size_t)cfg->connections, sizeof *ws);
    pthread_t *th = calloc((size_t)cfg->connections, sizeof *th);
    if (!ws || !th) {
        free(ws);
        free(th);
        bench_daemon_stop(&d, 60);
        return BRAID_ENOMEM;
    }
    double dcpu0 = 0, dcpu1 = 0;
    bench_proc_cpu(d.pid, &dcpu0);
    double cpu0 = cpu_self_s(), t0 = bench_now_s(), next_report = t0 + 5;
    int started = 0;
    for (int i = 0; i < cfg->connections; i++) {
        ws[i] = (worker){.id = i,
                         .cfg = cfg,
                         .kind = k,
                         .transport = res->transport,
                         .pool = pool,
                         .pool_n = pool_n,
                         .port = port,
                         .stop = &stop,
                         .seq = &seq,
                         .failed = &failed};
        if (pthread_create(&th[i], NULL, worker_main, &ws[i]) != 0) {
            atomic_store(&stop, true);
            atomic_store(&failed, -1);
            break;
        }
        started++;
    }
    while (!atomic_load(&stop)) {
        usleep(100000);
        double now = bench_now_s();
        if (now - t0 >= cfg->seconds)
            atomic_store(&stop, true);
        if (now >= next_report) {
            uint64_t rows = 0, rss = 0, hwm = 0;
            for (int i = 0; i < started; i++)
                rows += __atomic_load_n(&ws[i].rows, __ATOMIC_RELAXED);
            bench_proc_mem(d.pid, &rss, &hwm);
            char a[32], b[32], m[32];
            fprintf(stderr, "%s/%s: %4.0f s  %s rows  %s rows/s  daemon RSS %s\n", kind_name(k),
                    res->transport == T_HTTP ? "http" : "grpc", now - t0, bench_fmt_u64(rows, a),
                    bench_fmt_u64((uint64_t)((double)rows / (now - t0)), b),
                    bench_fmt_bytes(rss * 1024, m));
            next_report += 5;
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    res->seconds = bench_now_s() - t0;
    res->client_cpu_s = cpu_self_s() - cpu0;
    bench_proc_cpu(d.pid, &dcpu1);
    res->load_cpu_s = dcpu1 - dcpu0;
    uint64_t rss_kb = 0;
    bench_proc_mem(d.pid, &rss_kb, &res->hwm_kb);

    bench_samples all;
    bench_samples_init(&all);
    for (int i = 0; i < started; i++) {
        res->rows += ws[i].rows;
        res->bytes += ws[i].bytes;
        res->requests += ws[i].requests;
        res->reconnects += ws[i].reconnects;
        res->retries += ws[i].retries;
        res->backoff_s += ws[i].backoff_s;
        if (bench_samples_merge(&all, &ws[i].lat))
            atomic_store(&failed, -1);
        bench_samples_free(&ws[i].lat);
        if (ws[i].first.set)
            probes[(*np)++] = ws[i].first;
        if (ws[i].last.set)
            probes[(*np)++] = ws[i].last;
    }
    res->p50 = bench_samples_pct(&all, 50);
    res->p99 = bench_samples_pct(&all, 99);
    res->max = bench_samples_pct(&all, 100);
    bench_samples_free(&all);
    free(ws);
    free(th);

    fprintf(stderr, "%s: load done; SIGTERM and wait for the flush\n", kind_name(k));
    res->fail_status = atomic_load(&failed);
    int rc = res->fail_status ? BRAID_EIO : 0;
    if (bench_daemon_stop(&d, 600))
        rc = BRAID_EIO;
    res->stop_s = d.stop_s;
    res->maxrss_kb = d.maxrss_kb;
    res->daemon_cpu_s = d.cpu_s;

    signal_t sig = k == OTLP_LOGS ? SIGNAL_LOGS : k == OTLP_TRACES ? SIGNAL_SPANS : SIGNAL_METRICS;
    char path[700];
    snprintf(path, sizeof path, "%s/parts/%s", data, signal_name(sig));
    res->part_bytes = bench_du(path, &res->part_files);
    snprintf(path, sizeof path, "%s/parts/%s", data, signal_name(SIGNAL_EXEMPLARS));
    res->exemplar_bytes = bench_du(path, NULL);
    snprintf(path, sizeof path, "%s/wal", data);
    res->wal_left = bench_du(path, NULL);
    res->data_bytes = bench_du(data, NULL);
    return rc;
}

static const char *transport_name(int t)
{
    return t == T_HTTP ? "http" : "grpc";
}

static int run_signal(const config *cfg, otlp_kind k, int transport, const char *root, result *res)
{
    memset(res, 0, sizeof *res);
    res->kind = k;
    res->transport = transport;
    res->ran = true;
    int per = (MIN_POOL + cfg->connections - 1) / cfg->connections;
    int pool_n = per * cfg->connections;
    batch *pool = calloc((size_t)pool_n, sizeof *pool);
    probe *probes = calloc((size_t)cfg->connections * 2, sizeof *probes);
    int rc = pool && probes ? 0 : BRAID_ENOMEM, np = 0;
    uint64_t pool_bytes = 0;
    double g0 = bench_now_s();
    if (rc == 0)
        rc = gen_pool(k, pool_n, cfg->batch, pool, &pool_bytes);
    if (rc == 0)
        rc = self_check(k, pool, pool_n);
    res->gen_s = bench_now_s() - g0;
    for (int i = 0; rc == 0 && i < pool_n; i++)
        res->exemplars += pool[i].exemplars;
    if (rc == 0) {
        char mb[32];
        fprintf(stderr,
                "%s: built %d distinct requests of %d rows (%s) in %.1f s; "
                "decoder self-check ok\n",
                kind_name(k), pool_n, cfg->batch, bench_fmt_bytes(pool_bytes, mb), res->gen_s);
    }
    char data[600], log[640];
    snprintf(data, sizeof data, "%s/%s-%s", root, kind_name(k), transport_name(transport));
    snprintf(log, sizeof log, "%s/%s-%s.log", root, kind_name(k), transport_name(transport));
    if (rc == 0)
        rc = load(cfg, k, pool, pool_n, data, log, res, probes, &np);
    for (int i = 0; pool && i < pool_n; i++)
        batch_free(&pool[i]);
    free(pool);
    if (rc == 0) {
        fprintf(stderr, "%s: restart and look up %d sampled traces\n", kind_name(k), np);
        res->probes = np;
        res->probes_ok = verify(cfg, k, data, log, probes, np, &res->restart_s);
        if (res->probes_ok != np)
            rc = BRAID_EIO;
    }
    free(probes);
    res->exemplars = pool_n ? res->exemplars / (uint64_t)pool_n : 0;
    return rc;
}

/* ---------------------------------------------------------------------------
 * Output.
 * ------------------------------------------------------------------------- */
/* One "label  value  [goal: met|MISSED]" line of a result block. */
static void line(const char *label, const char *value, const char *goal, bool met)
{
    if (goal)
        printf("  %-34s %-22s goal %s: %s\n", label, value, goal, met ? "met" : "MISSED");
    else
        printf("  %-34s %s\n", label, value);
}

static void print_result(const config *cfg, const result *r)
{
    char a[32], b[32], c[32], v[160];
    const char *name = kind_name(r->kind);
    double rows_s = r->seconds > 0 ? (double)r->rows / r->seconds : 0;
    double peak = (double)r->hwm_kb * 1024;
    double bpr = r->rows ? (double)r->part_bytes / (double)r->rows : 0;
    bool logs = r->kind == OTLP_LOGS;
    bool grpc = r->transport == T_GRPC;
    printf("\n== OTLP/%s ingest: %s (protobuf, %d connections, %d %s/request, --fsync batch)\n",
           grpc ? "gRPC" : "HTTP", name, cfg->connections, cfg->batch,
           r->kind == OTLP_METRICS ? "points" : name);
    line(grpc ? "rows sent (all answered OK)" : "rows sent (all answered 200)",
         bench_fmt_u64(r->rows, a), NULL, false);
    if (r->fail_status >= 1000) {
        snprintf(v, sizeof v, "after %.1f s: grpc-status %s", r->seconds,
                 grpc_status_name(r->fail_status - 1000));
        line("STOPPED EARLY", v, NULL, false);
    } else if (r->fail_status > 0) {
        snprintf(v, sizeof v, "after %.1f s: HTTP %d", r->seconds, r->fail_status);
        line("STOPPED EARLY", v, NULL, false);
    } else if (r->fail_status < 0) {
        snprintf(v, sizeof v, "after %.1f s (see stderr)", r->seconds);
        line("STOPPED EARLY", v, NULL, false);
    }
    if (r->kind == OTLP_METRICS) {
        snprintf(v, sizeof v, "~%llu per request", (unsigned long long)r->exemplars);
        line("exemplars sent with them", v, NULL, false);
    }
    snprintf(v, sizeof v, "%s (%llu reconnects)", bench_fmt_u64(r->requests, a),
             (unsigned long long)r->reconnects);
    line("requests", v, NULL, false);
    snprintf(v, sizeof v, "%s, %.1f s spent backing off", bench_fmt_u64(r->retries, a),
             r->backoff_s);
    line(grpc ? "RESOURCE_EXHAUSTED/UNAVAILABLE, retried" : "429/503 answers, retried", v, NULL,
         false);
    snprintf(v, sizeof v, "%.2f", r->seconds);
    line("seconds", v, NULL, false);
    /* A rate that ended in a refusal was not sustained: it does not meet the goal. */
    line("rows/s", bench_fmt_u64((uint64_t)rows_s, a), logs ? ">= 300,000" : NULL,
         rows_s >= GOAL_LOG_ROWS_S && r->fail_status == 0);
    snprintf(v, sizeof v, "%.1f MB/s (%s total, %.0f bytes/row)",
             r->seconds > 0 ? (double)r->bytes / 1e6 / r->seconds : 0, bench_fmt_bytes(r->bytes, a),
             r->rows ? (double)r->bytes / (double)r->rows : 0);
    line("request bodies", v, NULL, false);
    snprintf(v, sizeof v, "%s / %s / %s", bench_fmt_ns(r->p50, a), bench_fmt_ns(r->p99, b),
             bench_fmt_ns(r->max, c));
    line("request latency p50 / p99 / max", v, NULL, false);
    line("daemon peak RSS (VmHWM, ingest)", bench_fmt_bytes((uint64_t)peak, a),
         logs ? "<= 1 GiB" : NULL, peak <= GOAL_RSS_BYTES);
    line("daemon peak RSS incl. shutdown", bench_fmt_bytes(r->maxrss_kb * 1024, a), NULL, false);
    snprintf(v, sizeof v, "%.1f s during the load (%.2f cores), %.1f s in all", r->load_cpu_s,
             r->seconds > 0 ? r->load_cpu_s / r->seconds : 0, r->daemon_cpu_s);
    line("daemon CPU", v, NULL, false);
    snprintf(v, sizeof v, "%.1f s (%.2f cores)", r->client_cpu_s,
             r->seconds > 0 ? r->client_cpu_s / r->seconds : 0);
    line("bench client CPU", v, NULL, false);
    snprintf(v, sizeof v, "%.2f s (start %.2f s)", r->stop_s, r->ready_s);
    line("shutdown (SIGTERM to exit)", v, NULL, false);
    snprintf(v, sizeof v, "%s in %llu files", bench_fmt_bytes(r->part_bytes, a),
             (unsigned long long)r->part_files);
    line("on disk after flush: parts", v, NULL, false);
    if (r->kind == OTLP_METRICS)
        line("on disk: exemplar parts", bench_fmt_bytes(r->exemplar_bytes, a), NULL, false);
    snprintf(v, sizeof v, "%.1f", bpr);
    line("bytes/row on disk", v, logs ? "<= 40" : NULL, r->rows > 0 && bpr <= GOAL_LOG_BYTES_ROW);
    snprintf(v, sizeof v, "%s (WAL left: %s)", bench_fmt_bytes(r->data_bytes, a),
             bench_fmt_bytes(r->wal_left, b));
    line("data dir total", v, NULL, false);
    if (r->probes)
        snprintf(v, sizeof v, "%d/%d correct (restart to ready %.2f s)", r->probes_ok, r->probes,
                 r->restart_s);
    else
        snprintf(v, sizeof v, "not run");
    line("trace lookups after restart", v, NULL, false);
}

/* One signal over both transports, side by side. */
static void print_compare(const result *h, const result *g)
{
    char a[32], b[32], c[32], d[32];
    printf("\n== %s: OTLP/HTTP vs OTLP/gRPC (same requests, same connections)\n",
           kind_name(h->kind));
    printf("  %-30s %22s %22s\n", "", "http/protobuf", "grpc");
    printf("  %-30s %22s %22s\n", "rows/s",
           bench_fmt_u64(h->seconds > 0 ? (uint64_t)((double)h->rows / h->seconds) : 0, a),
           bench_fmt_u64(g->seconds > 0 ? (uint64_t)((double)g->rows / g->seconds) : 0, b));
    printf("  %-30s %22.1f %22.1f\n", "MB/s",
           h->seconds > 0 ? (double)h->bytes / 1e6 / h->seconds : 0,
           g->seconds > 0 ? (double)g->bytes / 1e6 / g->seconds : 0);
    snprintf(c, sizeof c, "%s", bench_fmt_ns(h->p50, a));
    snprintf(d, sizeof d, "%s", bench_fmt_ns(g->p50, b));
    printf("  %-30s %22s %22s\n", "request latency p50", c, d);
    snprintf(c, sizeof c, "%s", bench_fmt_ns(h->p99, a));
    snprintf(d, sizeof d, "%s", bench_fmt_ns(g->p99, b));
    printf("  %-30s %22s %22s\n", "request latency p99", c, d);
    printf("  %-30s %22.2f %22.2f\n", "daemon CPU during load (cores)",
           h->seconds > 0 ? h->load_cpu_s / h->seconds : 0,
           g->seconds > 0 ? g->load_cpu_s / g->seconds : 0);
    printf("  %-30s %22s %22s\n", "daemon peak RSS", bench_fmt_bytes(h->hwm_kb * 1024, a),
           bench_fmt_bytes(g->hwm_kb * 1024, b));
    printf("  %-30s %22llu %22llu\n", "retry-later answers retried", (unsigned long long)h->retries,
           (unsigned long long)g->retries);
    if (h->kind == OTLP_LOGS) {
        double hr = h->seconds > 0 ? (double)h->rows / h->seconds : 0;
        double gr = g->seconds > 0 ? (double)g->rows / g->seconds : 0;
        printf("  %-30s %45s\n", "goal: gRPC >= HTTP/protobuf", gr >= hr ? "met" : "MISSED");
        printf("  %-30s %45s\n", "goal: gRPC >= 300,000 logs/s",
               gr >= GOAL_LOG_ROWS_S && g->fail_status == 0 ? "met" : "MISSED");
    }
}

static void print_summary(const result *rs, int n)
{
    printf("\n%-8s %-5s %12s %8s %10s %8s %9s %9s %9s %10s %9s %8s\n", "signal", "via", "rows",
           "seconds", "rows/s", "MB/s", "p50", "p99", "max", "peak RSS", "bytes/row", "retried");
    for (int i = 0; i < n; i++) {
        const result *r = &rs[i];
        if (!r->ran)
            continue;
        char a[32], b[32], c[32], d[32], e[32], f[32];
        printf(
            "%-8s %-5s %12s %8.1f %10s %8.1f %9s %9s %9s %10s %9.1f %8llu\n", kind_name(r->kind),
            transport_name(r->transport), bench_fmt_u64(r->rows, a), r->seconds,
            bench_fmt_u64(r->seconds > 0 ? (uint64_t)((double)r->rows / r->seconds) : 0, b),
            r->seconds > 0 ? (double)r->bytes / 1e6 / r->seconds : 0, bench_fmt_ns(r->p50, c),
            bench_fmt_ns(r->p99, d), bench_fmt_ns(r->max, e), bench_fmt_bytes(r->hwm_kb * 1024, f),
            r->rows ? (double)r->part_bytes / (double)r->rows : 0, (unsigned long long)r->retries);
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_ingest [--seconds N] [--connections N] [--batch N]\n"
            "                    [--signal logs|spans|metrics|all] [--transport http|grpc|both]\n"
            "                    [--braid PATH] [--correlation on|off] [--keep]\n");
}

int main(int argc, char **argv)
{
    config cfg = {.seconds = 60,
                  .connections = 8,
                  .batch = 1000,
                  .braid = "build/braid",
                  .correlation = "on"};
    const char *which = "all", *via = "both";
    static const struct option opts[] = {{"seconds", required_argument, NULL, 's'},
                                         {"connections", required_argument, NULL, 'c'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"signal", required_argument, NULL, 'g'},
                                         {"braid", required_argument, NULL, 'B'},
                                         {"keep", no_argument, NULL, 'k'},
                                         {"correlation", required_argument, NULL, 'C'},
                                         {"transport", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            cfg.seconds = atof(optarg);
            break;
        case 'c':
            cfg.connections = atoi(optarg);
            break;
        case 'b':
            cfg.batch = atoi(optarg);
            break;
        case 'g':
            which = optarg;
            break;
        case 'B':
            cfg.braid = optarg;
            break;
        case 't':
            via = optarg;
            break;
        case 'k':
            cfg.keep = true;
            break;
        case 'C':
            cfg.correlation = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (cfg.seconds <= 0 || cfg.connections < 1 || cfg.connections > 256 || cfg.batch < 10 ||
        cfg.batch > 100000 || optind != argc ||
        (strcmp(cfg.correlation, "on") && strcmp(cfg.correlation, "off"))) {
        usage(stderr);
        return 2;
    }
    bool all = strcmp(which, "all") == 0;
    cfg.sig[OTLP_LOGS] = all || strcmp(which, "logs") == 0;
    cfg.sig[OTLP_TRACES] = all || strcmp(which, "spans") == 0;
    cfg.sig[OTLP_METRICS] = all || strcmp(which, "metrics") == 0;
    cfg.transport[T_HTTP] = !strcmp(via, "both") || !strcmp(via, "http");
    cfg.transport[T_GRPC] = !strcmp(via, "both") || !strcmp(via, "grpc");
    if ((!cfg.sig[0] && !cfg.sig[1] && !cfg.sig[2]) || (!cfg.transport[0] && !cfg.transport[1])) {
        usage(stderr);
        return 2;
    }
    if (access(cfg.braid, X_OK) != 0) {
        fprintf(stderr, "bench: %s is not an executable (build it with make, or pass --braid)\n",
                cfg.braid);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    char root[512];
    if (bench_mkdtemp("braid-bench-ingest-", root, sizeof root))
        return 1;
    printf("bench_ingest: OTLP ingest (%s) into %s\n",
           cfg.transport[T_HTTP] && cfg.transport[T_GRPC] ? "HTTP and gRPC"
           : cfg.transport[T_HTTP]                        ? "HTTP"
                                                          : "gRPC",
           cfg.braid);
    bench_print_machine(stdout);
    printf("load: %.0f s per signal and transport, %d connections (one request in flight on "
           "each), %d rows per request, correlation health %s, data in %s\n",
           cfg.seconds, cfg.connections, cfg.batch, cfg.correlation, root);

    static const otlp_kind order[] = {OTLP_LOGS, OTLP_TRACES, OTLP_METRICS};
    result rs[6];
    memset(rs, 0, sizeof rs);
    int rc = 0, nrun = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (!cfg.sig[order[i]])
            continue;
        for (int t = 0; t < 2 && rc == 0; t++) {
            if (!cfg.transport[t])
                continue;
            result *r = &rs[2 * i + t];
            rc = run_signal(&cfg, order[i], t, root, r);
            if (r->requests > 0 || rc == 0)
                print_result(&cfg, r);
            nrun++;
        }
        if (rc == 0 && rs[2 * i].ran && rs[2 * i + 1].ran)
            print_compare(&rs[2 * i], &rs[2 * i + 1]);
    }
    if (nrun > 1 && rc == 0)
        print_summary(rs, 6);
    if (rc) {
        printf("\nbench_ingest: FAILED (see stderr); data kept in %s\n", root);
        return 1;
    }
    if (cfg.keep)
        printf("\ndata kept in %s\n", root);
    else
        bench_rm_rf(root);
    return 0;
}

/* bench_pivot: latency of the trace pivot, GET /api/v1/traces/{id}, on a large
 * store. Loads spans and logs of many traces spread over days straight through
 * the store API (much faster than OTLP over HTTP), then starts `braid serve`
 * on that directory and times sequential lookups of known and unknown ids
 * over one keep-alive connection, checking every answer. Prints figures;
 * exits non-zero only when data is wrong or the daemon fails. */
#include "benchlib.c" /* shared bench helpers; see the note at its top */

#include <dirent.h>
#include <getopt.h>
#include <sys/resource.h>

#include "store/store.h"

#define GOAL_P99_NS 2000000ull
#define MARKER "bench_pivot.marker"
#define SEED 0x5eedb1a5u
#define ROWS_PER_BATCH 10000
#define DAY_NS 86400000000000ull

typedef struct {
    uint64_t traces;
    uint32_t spans_per, logs_per;
    uint32_t days;
    uint64_t lookups, store_lookups;
    const char *data; /* NULL: a temporary directory */
    const char *braid;
    bool keep;
} config;

/* What a load produced; also what the marker file remembers. */
typedef struct {
    uint64_t rows;
    double seconds, close_s;
    uint64_t busy_retries;
    uint64_t t_end; /* newest trace start; the 7 days end here */
    uint64_t loader_rss_kb;
} load_info;

/* ---------------------------------------------------------------------------
 * Deterministic ids: trace i of the load has id known_tid(i); unknown ids come
 * from another stream, so a run can regenerate both without storing them.
 * ------------------------------------------------------------------------- */
static trace_id_t known_tid(uint64_t i)
{
    trace_id_t t;
    wr_u64le(t.b, bench_mix64(SEED + 2 * i));
    wr_u64le(t.b + 8, bench_mix64(SEED + 2 * i + 1));
    return t;
}

static trace_id_t unknown_tid(bench_rng *r)
{
    trace_id_t t;
    wr_u64le(t.b, bench_rand(r) | 1);
    wr_u64le(t.b + 8, bench_rand(r));
    return t;
}

/* ---------------------------------------------------------------------------
 * Rows. Resource encodings are built once and outlive every batch; per-row
 * bytes go to the batch arena with model_batch_keep.
 * ------------------------------------------------------------------------- */
typedef struct {
    buf res[BENCH_NSERVICES]; /* resource attrs encoding per service (pod 0) */
    buf scratch;
    bench_rng rng;
} gen;

static void attr_str(buf *b, const char *k, const char *v)
{
    av_put_key(b, bslice_cstr(k));
    av_put_str(b, bslice_cstr(v));
}

static void attr_int(buf *b, const char *k, int64_t v)
{
    av_put_key(b, bslice_cstr(k));
    av_put_int(b, v);
}

static void gen_init(gen *g)
{
    memset(g, 0, sizeof *g);
    g->rng.s = SEED;
    buf_init(&g->scratch);
    for (int s = 0; s < BENCH_NSERVICES; s++) {
        const bench_service *sv = &bench_services[s];
        char pod[64], node[96], cid[65];
        bench_pod_name(s, 0, pod, sizeof pod);
        bench_node_name(s, 0, node, sizeof node);
        bench_container_id(s, 0, cid);
        buf *b = &g->res[s];
        buf_init(b);
        size_t pos = av_begin_count(b);
        attr_str(b, "service.name", sv->name);
        attr_str(b, "service.namespace", "shop");
        attr_str(b, "service.version", sv->version);
        attr_str(b, "deployment.environment.name", "production");
        attr_str(b, "telemetry.sdk.language", sv->language);
        attr_str(b, "k8s.namespace.name", "shop");
        attr_str(b, "k8s.deployment.name", sv->name);
        attr_str(b, "k8s.pod.name", pod);
        attr_str(b, "k8s.node.name", node);
        attr_str(b, "container.id", cid);
        attr_str(b, "host.name", node);
        attr_str(b, "cloud.region", "eu-west-1");
        av_end_count(b, pos, 12);
    }
}

static void gen_free(gen *g)
{
    for (int s = 0; s < BENCH_NSERVICES; s++)
        buf_free(&g->res[s]);
    buf_free(&g->scratch);
}

/* Keeps scratch in the batch arena as the slice *out. */
static int keep_scratch(gen *g, model_batch *mb, bslice *out)
{
    if (g->scratch.err)
        return g->scratch.err;
    return model_batch_keep(mb, g->scratch.p, g->scratch.n, out);
}

typedef struct {
    span_id_t sid;
    int svc, route;
    uint64_t start, end;
} span_info;

/* Adds trace i (its spans, then its logs) starting at t0 to mb. */
static int add_trace(gen *g, const config *cfg, model_batch *mb, model_origin **origins, uint64_t i,
                     uint64_t t0)
{
    bench_rng *r = &g->rng;
    trace_id_t tid = known_tid(i);
    span_info sp[256];
    uint32_t ns = cfg->spans_per < 256 ? cfg->spans_per : 256;
    uint64_t dur = 200000000ull + bench_below(r, 3800000000u); /* 0.2-4 s */
    bool failed = bench_below(r, 25) == 0;
    bench_request q;
    bench_request_new(r, &q);
    char tmp[320];
    for (uint32_t j = 0; j < ns; j++) {
        span_info *s = &sp[j];
        wr_u64le(s->sid.b, bench_rand(r) | 1);
        if (j == 0) {
            s->svc = 0;
            s->start = t0;
            s->end = t0 + dur;
        } else {
            const span_info *p = &sp[bench_below(r, j)];
            s->svc = (int)bench_below(r, BENCH_NSERVICES);
            uint64_t pd = p->end - p->start;
            s->start = p->start + (uint64_t)((double)pd * 0.5 * bench_unit(r));
            s->end =
                s->start + (uint64_t)((double)(p->end - s->start) * (0.1 + 0.8 * bench_unit(r)));
        }
        s->route = (int)bench_below(r, BENCH_NROUTES);
        model_span *m = model_batch_add_span(mb);
        if (!m)
            return BRAID_ENOMEM;
        const bench_service *sv = &bench_services[s->svc];
        m->origin = origins[s->svc];
        m->trace_id = tid;
        m->span_id = s->sid;
        if (j > 0)
            m->parent_span_id = sp[bench_below(r, j)].sid;
        m->flags = 1;
        m->kind = j == 0 ? 2 : (int32_t)(1 + bench_below(r, 3));
        m->start_ns = s->start;
        m->end_ns = s->end;
        snprintf(tmp, sizeof tmp, "%s %s", j == 0 || bench_below(r, 2) ? "GET" : "POST",
                 sv->routes[s->route]);
        int rc = model_batch_keep(mb, tmp, strlen(tmp), &m->name);
        buf_reset(&g->scratch);
        size_t pos = av_begin_count(&g->scratch);
        attr_str(&g->scratch, "http.request.method", "GET");
        attr_str(&g->scratch, "http.route", sv->routes[s->route]);
        attr_int(&g->scratch, "http.response.status_code", failed && j == 0 ? 500 : 200);
        snprintf(tmp, sizeof tmp, "%s.shop.svc.cluster.local", sv->name);
        attr_str(&g->scratch, "server.address", tmp);
        attr_int(&g->scratch, "server.port", 8080);
        attr_str(&g->scratch, "code.function", sv->functions[s->route]);
        av_end_count(&g->scratch, pos, 6);
        if (!rc)
            rc = keep_scratch(g, mb, &m->attrs);
        m->status_code = failed && j == 0 ? 2 : 0;
        if (rc)
            return rc;
    }
    for (uint32_t k = 0; k < cfg->logs_per; k++) {
        const span_info *s = &sp[bench_below(r, ns)];
        const bench_service *sv = &bench_services[s->svc];
        model_log *l = model_batch_add_log(mb);
        if (!l)
            return BRAID_ENOMEM;
        bench_severity sev = bench_pick_severity(r);
        l->origin = origins[s->svc];
        l->time_ns = s->start + (uint64_t)((double)(s->end - s->start) * bench_unit(r));
        l->time_ns -= l->time_ns % sv->time_res_ns;
        l->observed_ns = l->time_ns + 2000 + bench_below(r, 100000);
        l->trace_id = tid;
        l->span_id = s->sid;
        l->flags = 1;
        l->severity_number = sev.number;
        l->severity_text = bslice_cstr(sev.text);
        l->source = BSLICE_LIT("otlp");
        l->id_form = ID_FORM_BINARY;
        size_t n = bench_log_line(r, s->svc, s->route, sev.number, &q, tmp, sizeof tmp);
        buf_reset(&g->scratch);
        av_put_str(&g->scratch, (bslice){(const uint8_t *)tmp, n});
        int rc = keep_scratch(g, mb, &l->body);
        buf_reset(&g->scratch);
        size_t pos = av_begin_count(&g->scratch);
        char user[16];
        snprintf(user, sizeof user, "u_%06u", q.user);
        attr_str(&g->scratch, "http.route", sv->routes[s->route]);
        attr_str(&g->scratch, "request.id", q.request_id);
        attr_str(&g->scratch, "enduser.id", user);
        attr_str(&g->scratch, "log.logger", sv->logger);
        attr_str(&g->scratch, "code.function", sv->functions[s->route]);
        attr_int(&g->scratch, "duration_ms", bench_latency_ms(r, 25));
        snprintf(tmp, sizeof tmp, "http-nio-8080-exec-%u", 1 + bench_below(r, 50));
        attr_str(&g->scratch, "thread.name", tmp);
        attr_str(&g->scratch, "user.tier", bench_tiers[q.tier]);
        av_end_count(&g->scratch, pos, 8);
        if (!rc)
            rc = keep_scratch(g, mb, &l->attrs);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Loading through the store.
 * ------------------------------------------------------------------------- */
static int load(const config *cfg, load_info *li)
{
    store_opts o;
    store_opts_default(&o);
    o.dir = cfg->data;
    /* Durability is not what this benchmark measures; the final store_close
     * flushes everything to parts. */
    o.fsync = STORE_FSYNC_NONE;
    store *st;
    int rc = store_open(&o, &st);
    if (rc) {
        fprintf(stderr, "bench: store_open(%s): %s\n", cfg->data, braid_strerror(rc));
        return rc;
    }
    gen g;
    gen_init(&g);
    uint64_t rows_per_trace = cfg->spans_per + cfg->logs_per;
    uint64_t per_batch = ROWS_PER_BATCH / rows_per_trace ? ROWS_PER_BATCH / rows_per_trace : 1;
    uint64_t total = cfg->traces * rows_per_trace;
    uint64_t span_ns = (uint64_t)cfg->days * DAY_NS;
    uint64_t step = span_ns / cfg->traces;
    uint32_t jitter = step > 1000000000u ? 1000000000u : (uint32_t)step + 1;
    /* Traces evenly spread (with jitter) over the days before now. */
    li->t_end = now_unix_ns() - 60000000000ull;
    uint64_t t_start = li->t_end - span_ns;
    double t0 = bench_now_s(), next = t0 + 2;
    for (uint64_t i = 0; i < cfg->traces && rc == 0;) {
        model_batch mb;
        model_batch_init(&mb);
        model_origin *origins[BENCH_NSERVICES];
        for (int s = 0; s < BENCH_NSERVICES && rc == 0; s++) {
            origins[s] = model_batch_add_origin(&mb);
            if (!origins[s]) {
                rc = BRAID_ENOMEM;
                break;
            }
            origins[s]->service = bslice_cstr(bench_services[s].name);
            origins[s]->resource_attrs = (bslice){g.res[s].p, g.res[s].n};
            origins[s]->scope_name = bslice_cstr(bench_services[s].scope);
            origins[s]->scope_version = BSLICE_LIT("0.52.0");
        }
        for (uint64_t k = 0; k < per_batch && i < cfg->traces && rc == 0; k++, i++)
            rc = add_trace(&g, cfg, &mb, origins, i,
                           t_start + i * step + bench_below(&g.rng, jitter));
        while (rc == 0 && (rc = store_append(st, &mb)) == BRAID_EBUSY) {
            /* Over the memory limit while flushes catch up: back off. */
            li->busy_retries++;
            rc = 0;
            usleep(20000);
        }
        if (rc == 0)
            li->rows += mb.nlogs + mb.nspans;
        else
            fprintf(stderr, "bench: store_append: %s\n", braid_strerror(rc));
        model_batch_free(&mb);
        double now = bench_now_s();
        if (now >= next) {
            char a[32], b[32], c[32];
            double rate = (double)li->rows / (now - t0);
            fprintf(stderr, "load: %s / %s rows (%.0f%%), %s rows/s, ETA %.0f s\n",
                    bench_fmt_u64(li->rows, a), bench_fmt_u64(total, b),
                    100.0 * (double)li->rows / (double)total, bench_fmt_u64((uint64_t)rate, c),
                    rate > 0 ? (double)(total - li->rows) / rate : 0);
            next += 5;
        }
    }
    li->seconds = bench_now_s() - t0;
    gen_free(&g);
    fprintf(stderr, "load: appended in %.1f s; closing the store (final flush)\n", li->seconds);
    double c0 = bench_now_s();
    int crc = store_close(st);
    li->close_s = bench_now_s() - c0;
    if (crc) {
        fprintf(stderr, "bench: store_close: %s\n", braid_strerror(crc));
        if (rc == 0)
            rc = crc;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    li->loader_rss_kb = (uint64_t)ru.ru_maxrss;
    return rc;
}

/* The marker says which parameters built the directory and what the load
 * took, so a rerun with --data can skip the load. */
static int marker_write(const config *cfg, const load_info *li)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", cfg->data, MARKER);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
        return BRAID_EIO;
    }
    fprintf(f,
            "traces=%llu spans_per_trace=%u logs_per_trace=%u days=%u seed=%u\n"
            "rows=%llu load_seconds=%.3f close_seconds=%.3f busy_retries=%llu t_end=%llu "
            "loader_rss_kb=%llu\n",
            (unsigned long long)cfg->traces, cfg->spans_per, cfg->logs_per, cfg->days, SEED,
            (unsigned long long)li->rows, li->seconds, li->close_s,
            (unsigned long long)li->busy_retries, (unsigned long long)li->t_end,
            (unsigned long long)li->loader_rss_kb);
    return fclose(f) == 0 ? 0 : BRAID_EIO;
}

/* 1: the marker matches cfg (li filled); 0: no marker; BRAID_EINVAL: it
 * describes other parameters. */
static int marker_read(const config *cfg, load_info *li)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", cfg->data, MARKER);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long long traces, rows, busy, t_end, rss;
    unsigned spans, logs, days, seed;
    int n = fscanf(f,
                   "traces=%llu spans_per_trace=%u logs_per_trace=%u days=%u seed=%u rows=%llu "
                   "load_seconds=%lf close_seconds=%lf busy_retries=%llu t_end=%llu "
                   "loader_rss_kb=%llu",
                   &traces, &spans, &logs, &days, &seed, &rows, &li->seconds, &li->close_s, &busy,
                   &t_end, &rss);
    fclose(f);
    if (n != 11 || traces != cfg->traces || spans != cfg->spans_per || logs != cfg->logs_per ||
        days != cfg->days || seed != SEED) {
        fprintf(stderr,
                "bench: %s was built with other parameters (traces=%llu spans=%u logs=%u "
                "days=%u); use another --data directory\n",
                path, traces, spans, logs, days);
        return BRAID_EINVAL;
    }
    li->rows = rows;
    li->busy_retries = busy;
    li->t_end = t_end;
    li->loader_rss_kb = rss;
    return 1;
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return true;
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            empty = false;
            break;
        }
    closedir(d);
    return empty;
}

/* ---------------------------------------------------------------------------
 * Lookups.
 * ------------------------------------------------------------------------- */
typedef struct {
    bench_samples lat;
    uint64_t n, wrong, resp_bytes;
    double seconds;
    uint64_t first_ns;
} lookup_result;

/* In-process store_trace on random known ids: the store's share of the
 * pivot, without HTTP and JSON. */
static int store_lookups(const config *cfg, lookup_result *res, double *open_s)
{
    store_opts o;
    store_opts_default(&o);
    o.dir = cfg->data;
    o.background = false;
    store *st;
    double t0 = bench_now_s();
    int rc = store_open(&o, &st);
    *open_s = bench_now_s() - t0;
    if (rc) {
        fprintf(stderr, "bench: store_open(%s): %s\n", cfg->data, braid_strerror(rc));
        return rc;
    }
    bench_rng r = {SEED ^ 0x1234};
    double s0 = bench_now_s();
    for (uint64_t k = 0; k < cfg->store_lookups; k++) {
        trace_id_t tid = known_tid(bench_rand(&r) % cfg->traces);
        model_batch mb;
        model_batch_init(&mb);
        uint64_t a = now_mono_ns();
        rc = store_trace(st, &tid, &mb);
        uint64_t dt = now_mono_ns() - a;
        if (rc == 0 && (mb.nspans != cfg->spans_per || mb.nlogs != cfg->logs_per)) {
            if (res->wrong++ < 5)
                fprintf(stderr, "bench: store_trace returned %zu spans and %zu logs, want %u/%u\n",
                        mb.nspans, mb.nlogs, cfg->spans_per, cfg->logs_per);
        }
        model_batch_free(&mb);
        if (rc) {
            fprintf(stderr, "bench: store_trace: %s\n", braid_strerror(rc));
            break;
        }
        if (k == 0)
            res->first_ns = dt;
        bench_samples_add(&res->lat, dt);
        res->n++;
    }
    res->seconds = bench_now_s() - s0;
    int crc = store_close(st);
    return rc ? rc : crc;
}

/* Sequential GETs over one connection: known ids must come back with every
 * span and log, unknown ids must be 404. */
static int http_lookups(const config *cfg, int port, bool known, lookup_result *res)
{
    bench_conn c;
    if (bench_conn_open(&c, port))
        return BRAID_EIO;
    buf resp;
    buf_init(&resp);
    bench_rng r = {known ? SEED ^ 0xabcdef : SEED ^ 0xfedcba};
    int rc = 0;
    double s0 = bench_now_s();
    for (uint64_t k = 0; k < cfg->lookups; k++) {
        trace_id_t tid = known ? known_tid(bench_rand(&r) % cfg->traces) : unknown_tid(&r);
        char hex[33], path[64];
        trace_id_hex(&tid, hex);
        snprintf(path, sizeof path, "/api/v1/traces/%s", hex);
        int status = 0;
        uint64_t a = now_mono_ns();
        rc = bench_http(&c, "GET", path, NULL, NULL, 0, &status, &resp);
        uint64_t dt = now_mono_ns() - a;
        if (rc)
            break;
        bool ok;
        size_t spans = 0, logs = 0;
        if (known) {
            spans = bench_count(resp.p, resp.n, "\"parent_span_id\"");
            logs = bench_count(resp.p, resp.n, "\"severity_text\"");
            ok = status == 200 && spans == cfg->spans_per && logs == cfg->logs_per &&
                 memmem(resp.p, resp.n, hex, 32) != NULL;
        } else {
            ok = status == 404;
        }
        if (!ok && res->wrong++ < 5)
            fprintf(stderr, "bench: GET %s -> %d with %zu spans, %zu logs (want %s)\n", path,
                    status, spans, logs, known ? "200 with all rows" : "404");
        if (k == 0)
            res->first_ns = dt;
        res->resp_bytes += resp.n;
        if (bench_samples_add(&res->lat, dt)) {
            rc = BRAID_ENOMEM;
            break;
        }
        res->n++;
    }
    res->seconds = bench_now_s() - s0;
    if (c.reconnects)
        fprintf(stderr, "bench: the server closed the keep-alive connection %llu times\n",
                (unsigned long long)c.reconnects);
    bench_conn_close(&c);
    buf_free(&resp);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Output.
 * ------------------------------------------------------------------------- */
static void print_lookups(const char *what, lookup_result *r, bool goal)
{
    char a[32], b[32], c[32], d[32], e[32];
    if (r->n == 0) {
        printf("  %-30s not run\n", what);
        return;
    }
    uint64_t p99 = bench_samples_pct(&r->lat, 99);
    char f[32];
    printf("  %-30s %8s %10.0f  %9s %9s %9s %9s %9s", what, bench_fmt_u64(r->n, f),
           r->seconds > 0 ? (double)r->n / r->seconds : 0,
           bench_fmt_ns(bench_samples_pct(&r->lat, 50), b),
           bench_fmt_ns(bench_samples_pct(&r->lat, 90), c), bench_fmt_ns(p99, d),
           bench_fmt_ns(bench_samples_pct(&r->lat, 100), e), bench_fmt_ns(r->first_ns, a));
    if (goal)
        printf("  p99 <= 2 ms: %s", p99 <= GOAL_P99_NS ? "met" : "MISSED");
    if (r->wrong)
        printf("  WRONG: %llu", (unsigned long long)r->wrong);
    printf("\n");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_pivot [--traces N] [--spans-per-trace N] [--logs-per-trace N]\n"
               "                   [--days N] [--lookups N] [--store-lookups N] [--data DIR]\n"
               "                   [--braid PATH] [--keep]\n");
}

static int parse_args(int argc, char **argv, config *cfg)
{
    static const struct option opts[] = {{"traces", required_argument, NULL, 't'},
                                         {"spans-per-trace", required_argument, NULL, 's'},
                                         {"logs-per-trace", required_argument, NULL, 'l'},
                                         {"days", required_argument, NULL, 'd'},
                                         {"lookups", required_argument, NULL, 'n'},
                                         {"store-lookups", required_argument, NULL, 'S'},
                                         {"data", required_argument, NULL, 'D'},
                                         {"braid", required_argument, NULL, 'B'},
                                         {"keep", no_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't':
            cfg->traces = strtoull(optarg, NULL, 10);
            break;
        case 's':
            cfg->spans_per = (uint32_t)atoi(optarg);
            break;
        case 'l':
            cfg->logs_per = (uint32_t)atoi(optarg);
            break;
        case 'd':
            cfg->days = (uint32_t)atoi(optarg);
            break;
        case 'n':
            cfg->lookups = strtoull(optarg, NULL, 10);
            break;
        case 'S':
            cfg->store_lookups = strtoull(optarg, NULL, 10);
            break;
        case 'D':
            cfg->data = optarg;
            break;
        case 'B':
            cfg->braid = optarg;
            break;
        case 'k':
            cfg->keep = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return 2;
        }
    }
    if (optind != argc || cfg->traces < 1 || cfg->spans_per < 1 || cfg->spans_per > 256 ||
        cfg->logs_per > 100000 || cfg->days < 1 || cfg->days > 3650)
        return 2;
    return 0;
}

int main(int argc, char **argv)
{
    config cfg = {.traces = 100000,
                  .spans_per = 10,
                  .logs_per = 100,
                  .days = 7,
                  .lookups = 20000,
                  .store_lookups = 2000,
                  .braid = "build/braid"};
    if (parse_args(argc, argv, &cfg)) {
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

    char tmpdir[512], data[600];
    bool temporary = cfg.data == NULL;
    if (temporary) {
        if (bench_mkdtemp("braid-bench-pivot-", tmpdir, sizeof tmpdir))
            return 1;
        snprintf(data, sizeof data, "%s/data", tmpdir);
        cfg.data = data;
    }
    uint64_t rows_total = cfg.traces * (cfg.spans_per + cfg.logs_per);
    char a[32], b[32], c[32];
    printf("bench_pivot: GET /api/v1/traces/{id} on %s\n", cfg.braid);
    bench_print_machine(stdout);
    printf("data: %s traces x (%u spans + %u logs) = %s rows over %u days, in %s\n",
           bench_fmt_u64(cfg.traces, a), cfg.spans_per, cfg.logs_per, bench_fmt_u64(rows_total, b),
           cfg.days, cfg.data);

    load_info li = {0};
    int m = marker_read(&cfg, &li);
    if (m < 0)
        return 1;
    bool reused = m == 1;
    if (!reused) {
        if (!dir_is_empty(cfg.data)) {
            fprintf(stderr,
                    "bench: %s holds data without a %s marker; loading again would "
                    "duplicate rows; remove it or pass an empty directory\n",
                    cfg.data, MARKER);
            return 1;
        }
        if (load(&cfg, &li) || marker_write(&cfg, &li)) {
            printf("\nbench_pivot: FAILED while loading (see stderr)\n");
            return 1;
        }
    }
    char path[700];
    uint64_t files;
    snprintf(path, sizeof path, "%s/parts/%s", cfg.data, signal_name(SIGNAL_LOGS));
    uint64_t log_bytes = bench_du(path, NULL);
    snprintf(path, sizeof path, "%s/parts/%s", cfg.data, signal_name(SIGNAL_SPANS));
    uint64_t span_bytes = bench_du(path, NULL);
    uint64_t all_bytes = bench_du(cfg.data, &files);

    printf("\n== load through store_append (%s)\n",
           reused ? "reused from an earlier run" : "this run");
    printf("  %-34s %s\n", "rows", bench_fmt_u64(li.rows, a));
    printf("  %-34s %.1f s append + %.1f s final flush\n", "seconds", li.seconds, li.close_s);
    printf("  %-34s %s\n", "rows/s",
           bench_fmt_u64(li.seconds + li.close_s > 0
                             ? (uint64_t)((double)li.rows / (li.seconds + li.close_s))
                             : 0,
                         a));
    printf("  %-34s %llu\n", "appends refused (EBUSY, retried)",
           (unsigned long long)li.busy_retries);
    printf("  %-34s %s\n", "loader peak RSS", bench_fmt_bytes(li.loader_rss_kb * 1024, a));
    printf("  %-34s %s in %llu files\n", "on disk", bench_fmt_bytes(all_bytes, a),
           (unsigned long long)files);
    printf("  %-34s logs %s (%.1f B/row), spans %s (%.1f B/row)\n", "parts",
           bench_fmt_bytes(log_bytes, b), (double)log_bytes / (double)(cfg.traces * cfg.logs_per),
           bench_fmt_bytes(span_bytes, c),
           (double)span_bytes / (double)(cfg.traces * cfg.spans_per));

    int rc = 0;
    lookup_result sl = {0};
    bench_samples_init(&sl.lat);
    double store_open_s = 0;
    if (cfg.store_lookups) {
        fprintf(stderr, "lookups: %llu in-process store_trace calls\n",
                (unsigned long long)cfg.store_lookups);
        rc = store_lookups(&cfg, &sl, &store_open_s);
    }

    lookup_result known = {0}, unknown = {0};
    bench_samples_init(&known.lat);
    bench_samples_init(&unknown.lat);
    bench_daemon d = {0};
    uint64_t rss_kb = 0, hwm_kb = 0;
    char logpath[700];
    snprintf(logpath, sizeof logpath, "%s.braid.log", cfg.data);
    if (rc == 0) {
        fprintf(stderr, "lookups: starting braid serve on %s\n", cfg.data);
        rc = bench_daemon_start(&d, cfg.braid, cfg.data, NULL, logpath, 900);
        if (rc == 0) {
            fprintf(stderr, "lookups: %llu known ids over HTTP\n", (unsigned long long)cfg.lookups);
            rc = http_lookups(&cfg, d.api_port, true, &known);
            if (rc == 0) {
                fprintf(stderr, "lookups: %llu unknown ids over HTTP\n",
                        (unsigned long long)cfg.lookups);
                rc = http_lookups(&cfg, d.api_port, false, &unknown);
            }
            bench_proc_mem(d.pid, &rss_kb, &hwm_kb);
            if (bench_daemon_stop(&d, 600))
                rc = BRAID_EIO;
        }
    }

    printf("\n== trace pivot lookups (sequential, one keep-alive connection, no time range)\n");
    printf("  %-30s %8s %10s  %9s %9s %9s %9s %9s\n", "", "lookups", "per s", "p50", "p90", "p99",
           "max", "first");
    print_lookups("known ids, HTTP (10+100 rows)", &known, true);
    print_lookups("unknown ids, HTTP (404)", &unknown, true);
    print_lookups("known ids, store_trace only", &sl, false);
    printf("  %-34s %.0f bytes\n", "mean response (known)",
           known.n ? (double)known.resp_bytes / (double)known.n : 0);
    printf("  %-34s %.2f s (store_open in-process %.2f s)\n", "daemon start to ready", d.ready_s,
           store_open_s);
    printf("  %-34s %s (now %s)\n", "daemon peak RSS (VmHWM)", bench_fmt_bytes(hwm_kb * 1024, a),
           bench_fmt_bytes(rss_kb * 1024, b));
    printf("  %-34s %.2f s; CPU %.1f s\n", "daemon shutdown", d.stop_s, d.cpu_s);

    bool wrong = known.wrong || unknown.wrong || sl.wrong;
    bench_samples_free(&known.lat);
    bench_samples_free(&unknown.lat);
    bench_samples_free(&sl.lat);
    if (rc || wrong) {
        printf("\nbench_pivot: FAILED (see stderr); data kept in %s\n", cfg.data);
        return 1;
    }
    if (temporary && !cfg.keep)
        bench_rm_rf(tmpdir);
    else
        printf("\ndata kept in %s (rerun with --data %s to skip the load)\n", cfg.data, cfg.data);
    return 0;
}

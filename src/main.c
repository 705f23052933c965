/* main: the braid binary. Dispatches subcommands; `braid serve` wires the
 * store, the ingest path, the query API and the HTTP listeners onto one libuv
 * loop, prints the bound addresses, and shuts down cleanly on SIGTERM/SIGINT
 * (stop accepting, finish requests, flush the store, exit 0). The only place
 * that calls exit codes into being. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "api/api.h"
#include "cli/cli.h"
#include "demo/demo.h"
#include "ingest/ingest.h"
#include "net/otlp_grpc.h"
#include "net/server.h"
#include "store/store.h"
#include "ui/ui.h"
#include "tail/tail.h"

#ifndef BRAID_VERSION
#define BRAID_VERSION "dev"
#endif

typedef struct {
    const char *data, *api_addr, *otlp_http_addr, *otlp_grpc_addr, *fsync, *log_level;
    uint64_t memory_limit, max_request, retention_ns, memtable_bytes;
    const char *tail[64]; /* --tail globs, else BRAID_TAIL's ':'-separated ones */
    size_t ntail;
    char *tail_env; /* owned copy of BRAID_TAIL that tail[] points into */
    uint64_t max_line;
    bool correlation;
    uint64_t correlation_grace_ns;
} serve_cfg;

typedef struct {
    uv_loop_t *loop;
    store *st;
    health *health;
    api *api;
    ingest *ing;
    http_server *otlp_http, *api_srv;
    grpc_server *otlp_grpc;
    uv_signal_t sig_term, sig_int;
    int open_servers;
    uv_mutex_t stats_mu;
    http_server_stats otlp_stats, api_stats;
    grpc_server_stats grpc_stats;
} daemon_t;

/* health's lookup of a trace's stored spans. */
static int health_store_lookup(void *ud, const trace_id_t *tid, model_batch *out)
{
    return store_trace(ud, tid, out);
}

/* ---- OTLP/HTTP listener ---- */
typedef struct {
    daemon_t *d;
    ingest_http_response resp;
} otlp_job;

static void otlp_work(http_exchange *ex, void *ud)
{
    otlp_job *j = ud;
    const http1_request *rq = http_exchange_request(ex);
    bslice ct = {NULL, 0}, ce = {NULL, 0};
    http_exchange_header(ex, "content-type", &ct);
    http_exchange_header(ex, "content-encoding", &ce);
    ingest_http(j->d->ing, rq->method, rq->path, ct, ce, http_exchange_body(ex), &j->resp);
}

static void otlp_done(http_exchange *ex, void *ud)
{
    otlp_job *j = ud;
    http_header_kv hdr[2];
    size_t nh = 0;
    if (j->resp.retry_after)
        hdr[nh++] = (http_header_kv){"Retry-After", j->resp.retry_after};
    if (j->resp.status == 405)
        hdr[nh++] = (http_header_kv){"Allow", "POST"};
    http_respond_buf(ex, j->resp.status, j->resp.content_type, hdr, nh, &j->resp.body);
    buf_free(&j->resp.body);
    free(j);
}

static void otlp_handler(http_exchange *ex, void *ud)
{
    daemon_t *d = ud;
    const http1_request *rq = http_exchange_request(ex);
    if (!bslice_eq_cstr(rq->path, "/v1/traces") && !bslice_eq_cstr(rq->path, "/v1/logs") &&
        !bslice_eq_cstr(rq->path, "/v1/metrics")) {
        http_respond_error(ex, 404,
                           "no such path: OTLP/HTTP serves /v1/traces, /v1/logs, /v1/metrics");
        return;
    }
    otlp_job *j = calloc(1, sizeof *j);
    if (!j) {
        http_respond_error(ex, 503, "out of memory; retry later");
        return;
    }
    j->d = d;
    if (http_exchange_offload(ex, otlp_work, otlp_done, j)) {
        free(j);
        http_respond_error(ex, 500, "could not schedule the request");
    }
}

/* ---- query API listener ---- */
typedef struct {
    daemon_t *d;
    api_response resp;
} api_job;

static void api_work(http_exchange *ex, void *ud)
{
    api_job *j = ud;
    const http1_request *rq = http_exchange_request(ex);
    api_handle(j->d->api, rq->method, rq->path, rq->query, &j->resp);
}

static void api_done(http_exchange *ex, void *ud)
{
    api_job *j = ud;
    http_header_kv hdr[] = {{"Cache-Control", "no-store"}};
    http_respond_buf(ex, j->resp.status, j->resp.content_type, hdr, 1, &j->resp.body);
    api_response_free(&j->resp);
    free(j);
}

static void api_handler(http_exchange *ex, void *ud)
{
    daemon_t *d = ud;
    if (ui_serve(&ui_embedded, ex))
        return;
    const http1_request *rq = http_exchange_request(ex);
    if (bslice_eq_cstr(rq->path, "/metrics")) {
        /* Server counters are loop-thread only: snapshot them here. */
        uv_mutex_lock(&d->stats_mu);
        if (d->otlp_http)
            http_server_stats_get(d->otlp_http, &d->otlp_stats);
        if (d->api_srv)
            http_server_stats_get(d->api_srv, &d->api_stats);
        if (d->otlp_grpc)
            grpc_server_stats_get(d->otlp_grpc, &d->grpc_stats);
        uv_mutex_unlock(&d->stats_mu);
    }
    api_job *j = calloc(1, sizeof *j);
    if (!j) {
        http_respond_error(ex, 503, "out of memory; retry later");
        return;
    }
    j->d = d;
    if (http_exchange_offload(ex, api_work, api_done, j)) {
        free(j);
        http_respond_error(ex, 500, "could not schedule the request");
    }
}

static void server_metrics_text(buf *out, void *ud)
{
    daemon_t *d = ud;
    uv_mutex_lock(&d->stats_mu);
    const struct {
        const char *name;
        http_server_stats *st;
    } l[] = {{"otlp-http", &d->otlp_stats}, {"api", &d->api_stats}};
    buf_puts(out, "# HELP braid_http_requests_total HTTP requests, by listener.\n"
                  "# TYPE braid_http_requests_total counter\n");
    for (int i = 0; i < 2; i++)
        buf_printf(out, "braid_http_requests_total{listener=\"%s\"} %llu\n", l[i].name,
                   (unsigned long long)l[i].st->requests);
    buf_puts(out, "# HELP braid_http_rejected_requests_total Requests the HTTP layer refused "
                  "itself (malformed, too large).\n"
                  "# TYPE braid_http_rejected_requests_total counter\n");
    for (int i = 0; i < 2; i++)
        buf_printf(out, "braid_http_rejected_requests_total{listener=\"%s\"} %llu\n", l[i].name,
                   (unsigned long long)l[i].st->rejected_requests);
    buf_puts(out, "# HELP braid_http_bytes_received_total Bytes read, by listener.\n"
                  "# TYPE braid_http_bytes_received_total counter\n");
    for (int i = 0; i < 2; i++)
        buf_printf(out, "braid_http_bytes_received_total{listener=\"%s\"} %llu\n", l[i].name,
                   (unsigned long long)l[i].st->bytes_in);
    buf_puts(out, "# HELP braid_http_open_connections Open connections, by listener.\n"
                  "# TYPE braid_http_open_connections gauge\n");
    for (int i = 0; i < 2; i++)
        buf_printf(out, "braid_http_open_connections{listener=\"%s\"} %llu\n", l[i].name,
                   (unsigned long long)l[i].st->connections_open);
    grpc_server_stats_text(&d->grpc_stats, out);
    uv_mutex_unlock(&d->stats_mu);
}

/* ---- lifecycle ---- */
static void on_server_closed(void *ud)
{
    daemon_t *d = ud;
    if (--d->open_servers == 0) {
        uv_close((uv_handle_t *)&d->sig_term, NULL);
        uv_close((uv_handle_t *)&d->sig_int, NULL);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    daemon_t *d = h->data;
    LOG_INFO("%s received: finishing requests, flushing, shutting down",
             signum == SIGTERM ? "SIGTERM" : "SIGINT");
    uv_signal_stop(&d->sig_term);
    uv_signal_stop(&d->sig_int);
    api_set_ready(d->api, false);
    if (d->otlp_http) {
        http_server_close(d->otlp_http, on_server_closed, d);
        d->otlp_http = NULL;
    }
    if (d->api_srv) {
        http_server_close(d->api_srv, on_server_closed, d);
        d->api_srv = NULL;
    }
    if (d->otlp_grpc) {
        grpc_server_close(d->otlp_grpc, on_server_closed, d);
        d->otlp_grpc = NULL;
    }
}

static const char *http_error_json(int status, const char *reason, buf *body, void *ud)
{
    (void)status;
    (void)ud;
    buf_puts(body, "{\"error\":");
    json_put_str(body, bslice_cstr(reason));
    buf_putc(body, '}');
    return "application/json";
}

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static void serve_usage(FILE *f)
{
    fprintf(f, "usage: braid serve [flags]\n"
               "  --data DIR               data directory (BRAID_DATA, default ./braid-data)\n"
               "  --api ADDR               query API and UI (BRAID_API, default 127.0.0.1:4320)\n"
               "  --otlp-http ADDR         OTLP/HTTP receiver (BRAID_OTLP_HTTP, default "
               "0.0.0.0:4318)\n"
               "  --otlp-grpc ADDR         OTLP/gRPC receiver (BRAID_OTLP_GRPC, default "
               "0.0.0.0:4317)\n"
               "  --fsync batch|always|none  WAL sync policy (BRAID_FSYNC, default batch)\n"
               "  --memory-limit SIZE      above it ingest answers 429 (BRAID_MEMORY_LIMIT, "
               "default 1GiB)\n"
               "  --max-request-size SIZE  per request, also after gunzip "
               "(BRAID_MAX_REQUEST_SIZE, default 32MiB)\n"
               "  --retention DURATION     drop days older than this (BRAID_RETENTION, default "
               "keep)\n"
               "  --memtable-size SIZE     flush to parts above this (BRAID_MEMTABLE_SIZE, "
               "default 64MiB)\n"
               "  --log-level LEVEL        error|warn|info|debug (BRAID_LOG_LEVEL, default "
               "info)\n"
               "  --tail GLOB              follow log files (repeatable; BRAID_TAIL, globs "
               "separated by ':')\n"
               "  --max-line-size SIZE     longer log lines are split (BRAID_MAX_LINE_SIZE, "
               "default 1MiB)\n"
               "  --correlation on|off     correlation health report (BRAID_CORRELATION, "
               "default on)\n"
               "  --correlation-grace DURATION  judge a log's trace link this long after its "
               "trace's\n"
               "                           last row (BRAID_CORRELATION_GRACE, default 5m)\n"
               "ADDR is host:port; port 0 picks a free port.\n");
}

static int parse_serve(int argc, char **argv, serve_cfg *c)
{
    const char *mem = env_or("BRAID_MEMORY_LIMIT", "1GiB");
    const char *maxreq = env_or("BRAID_MAX_REQUEST_SIZE", "32MiB");
    const char *ret = env_or("BRAID_RETENTION", NULL);
    const char *memt = env_or("BRAID_MEMTABLE_SIZE", "64MiB");
    const char *maxline = env_or("BRAID_MAX_LINE_SIZE", "1MiB");
    const char *corr = env_or("BRAID_CORRELATION", "on");
    const char *grace = env_or("BRAID_CORRELATION_GRACE", "5m");
    c->ntail = 0;
    c->tail_env = NULL;
    c->data = env_or("BRAID_DATA", "./braid-data");
    c->api_addr = env_or("BRAID_API", "127.0.0.1:4320");
    c->otlp_http_addr = env_or("BRAID_OTLP_HTTP", "0.0.0.0:4318");
    c->otlp_grpc_addr = env_or("BRAID_OTLP_GRPC", "0.0.0.0:4317");
    c->fsync = env_or("BRAID_FSYNC", "batch");
    c->log_level = env_or("BRAID_LOG_LEVEL", "info");
    struct {
        const char *flag;
        const char **dst;
    } flags[] = {{"--data", &c->data},
                 {"--api", &c->api_addr},
                 {"--otlp-http", &c->otlp_http_addr},
                 {"--otlp-grpc", &c->otlp_grpc_addr},
                 {"--fsync", &c->fsync},
                 {"--log-level", &c->log_level},
                 {"--memory-limit", &mem},
                 {"--max-request-size", &maxreq},
                 {"--retention", &ret},
                 {"--memtable-size", &memt},
                 {"--max-line-size", &maxline},
                 {"--correlation", &corr},
                 {"--correlation-grace", &grace}};
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            serve_usage(stdout);
            return 1;
        }
        bool ok = false;
        if (strncmp(argv[i], "--tail", 6) == 0 && (argv[i][6] == 0 || argv[i][6] == '=')) {
            const char *g = argv[i][6] == '=' ? argv[i] + 7 : i + 1 < argc ? argv[++i] : NULL;
            if (!g || !*g || c->ntail == sizeof c->tail / sizeof c->tail[0]) {
                fprintf(stderr, "braid serve: --tail needs a glob (at most 64 of them)\n");
                return 2;
            }
            c->tail[c->ntail++] = g;
            continue;
        }
        for (size_t f = 0; f < sizeof flags / sizeof flags[0] && !ok; f++) {
            size_t n = strlen(flags[f].flag);
            if (strncmp(argv[i], flags[f].flag, n) == 0 && argv[i][n] == '=') {
                *flags[f].dst = argv[i] + n + 1;
                ok = true;
            } else if (strcmp(argv[i], flags[f].flag) == 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "braid serve: %s needs a value\n", argv[i]);
                    return 2;
                }
                *flags[f].dst = argv[++i];
                ok = true;
            }
        }
        if (!ok) {
            fprintf(stderr, "braid serve: unknown flag %s (see braid serve --help)\n", argv[i]);
            return 2;
        }
    }
    if (parse_size(mem, &c->memory_limit) || c->memory_limit == 0) {
        fprintf(stderr, "braid serve: --memory-limit %s is not a size like 512MiB or 2GiB\n", mem);
        return 2;
    }
    if (parse_size(maxreq, &c->max_request) || c->max_request == 0) {
        fprintf(stderr, "braid serve: --max-request-size %s is not a size like 32MiB\n", maxreq);
        return 2;
    }
    if (parse_size(memt, &c->memtable_bytes) || c->memtable_bytes == 0) {
        fprintf(stderr, "braid serve: --memtable-size %s is not a size like 64MiB\n", memt);
        return 2;
    }
    if (parse_size(maxline, &c->max_line) || c->max_line < TAIL_MAX_LINE_MIN) {
        fprintf(stderr, "braid serve: --max-line-size %s is not a size of at least 256\n", maxline);
        return 2;
    }
    const char *tenv = env_or("BRAID_TAIL", NULL);
    if (c->ntail == 0 && tenv && (c->tail_env = strdup(tenv)) != NULL)
        for (char *sv, *g = strtok_r(c->tail_env, ":", &sv); g && c->ntail < 64;
             g = strtok_r(NULL, ":", &sv))
            c->tail[c->ntail++] = g;
    c->retention_ns = 0;
    if (ret && parse_duration_ns(ret, &c->retention_ns)) {
        fprintf(stderr, "braid serve: --retention %s is not a duration like 7d or 72h\n", ret);
        return 2;
    }
    if (strcmp(corr, "on") && strcmp(corr, "off")) {
        fprintf(stderr, "braid serve: --correlation must be on or off (got %s)\n", corr);
        return 2;
    }
    c->correlation = strcmp(corr, "on") == 0;
    if (parse_duration_ns(grace, &c->correlation_grace_ns)) {
        fprintf(stderr, "braid serve: --correlation-grace %s is not a duration like 5m or 30s\n",
                grace);
        return 2;
    }
    if (strcmp(c->fsync, "batch") && strcmp(c->fsync, "always") && strcmp(c->fsync, "none")) {
        fprintf(stderr, "braid serve: --fsync must be batch, always or none (got %s)\n", c->fsync);
        return 2;
    }
    int lvl = braid_log_level_parse(c->log_level);
    if (lvl < 0) {
        fprintf(stderr, "braid serve: --log-level must be error, warn, info or debug\n");
        return 2;
    }
    braid_log_level = lvl;
    return 0;
}

static int print_listen(const char *name, const char *addr, int port)
{
    /* Print the address as given, with the bound port (useful after :0). */
    const char *colon = strrchr(addr, ':');
    int hostlen = colon ? (int)(colon - addr) : 0;
    printf("braid: listening %s %.*s:%d\n", name, hostlen, addr, port);
    return 0;
}

static int cmd_serve(int argc, char **argv)
{
    serve_cfg cfg;
    int rc = parse_serve(argc, argv, &cfg);
    if (rc)
        return rc == 1 ? 0 : rc;
    signal(SIGPIPE, SIG_IGN);
    /* Decoding and store appends run on the threadpool and wait for group
     * commits there, so give it more threads than libuv's default four. */
    if (!getenv("UV_THREADPOOL_SIZE"))
        setenv("UV_THREADPOOL_SIZE", "16", 1);

    daemon_t d;
    memset(&d, 0, sizeof d);
    uv_mutex_init(&d.stats_mu);
    store_opts so;
    store_opts_default(&so);
    so.dir = cfg.data;
    so.fsync = strcmp(cfg.fsync, "always") == 0 ? STORE_FSYNC_ALWAYS
               : strcmp(cfg.fsync, "none") == 0 ? STORE_FSYNC_NONE
                                                : STORE_FSYNC_BATCH;
    so.memory_limit = cfg.memory_limit;
    so.retention_ns = cfg.retention_ns;
    so.memtable_bytes = cfg.memtable_bytes;
    if (cfg.correlation) {
        health_opts ho;
        health_opts_default(&ho);
        ho.grace_ns = cfg.correlation_grace_ns;
        if (cfg.retention_ns)
            ho.retention_ns = cfg.retention_ns;
        if (health_new(&ho, &d.health)) {
            fprintf(stderr, "braid serve: out of memory\n");
            return 1;
        }
        so.observer = health_observer(d.health);
    }
    rc = store_open(&so, &d.st);
    if (rc) {
        fprintf(stderr, "braid serve: cannot open the store in %s: %s\n", cfg.data,
                braid_strerror(rc));
        health_free(d.health);
        return 1;
    }
    if (d.health) {
        health_set_lookup(d.health, health_store_lookup, d.st);
        if (health_start(d.health)) {
            fprintf(stderr, "braid serve: cannot start the correlation health thread\n");
            store_close(d.st);
            health_free(d.health);
            return 1;
        }
    }
    ingest_opts io = {.max_request_size = cfg.max_request};
    if (ingest_create(d.st, &io, &d.ing) || api_create(d.st, &d.api) ||
        api_add_metrics_source(d.api, ingest_metrics_text, d.ing) ||
        api_add_metrics_source(d.api, server_metrics_text, &d) ||
        (d.health && api_add_metrics_source(d.api, health_metrics_text, d.health))) {
        fprintf(stderr, "braid serve: out of memory\n");
        health_stop(d.health);
        store_close(d.st);
        health_free(d.health);
        return 1;
    }
    api_set_health(d.api, d.health);
    tail *tl = NULL;
    if (cfg.ntail) {
        tail_opts to = {.globs = cfg.tail,
                        .nglobs = cfg.ntail,
                        .st = d.st,
                        .ing = d.ing,
                        .max_line = (size_t)cfg.max_line};
        if (tail_start(&to, &tl) || api_add_metrics_source(d.api, tail_metrics_text, tl)) {
            fprintf(stderr, "braid serve: cannot start following --tail files\n");
            tail_stop(tl);
            health_stop(d.health);
            store_close(d.st);
            health_free(d.health);
            return 1;
        }
    }
    d.loop = uv_default_loop();
    http_server_opts otlp_opts = {.max_body = cfg.max_request, .format_error = http_error_json};
    http_server_opts api_opts = {.max_body = 1 << 20, .format_error = http_error_json};
    grpc_server_opts grpc_opts = {.max_message = cfg.max_request};
    char err[256];
    int exit_code = 0;
    if (http_server_listen(d.loop, cfg.otlp_http_addr, &otlp_opts, otlp_handler, &d, &d.otlp_http,
                           err, sizeof err)) {
        fprintf(stderr, "braid serve: --otlp-http %s: %s\n", cfg.otlp_http_addr, err);
        exit_code = 1;
    } else if (http_server_listen(d.loop, cfg.api_addr, &api_opts, api_handler, &d, &d.api_srv, err,
                                  sizeof err)) {
        fprintf(stderr, "braid serve: --api %s: %s\n", cfg.api_addr, err);
        exit_code = 1;
    } else if (otlp_grpc_listen(d.loop, cfg.otlp_grpc_addr, &grpc_opts, d.ing, &d.otlp_grpc, err,
                                sizeof err)) {
        fprintf(stderr, "braid serve: --otlp-grpc %s: %s\n", cfg.otlp_grpc_addr, err);
        exit_code = 1;
    }
    if (exit_code) {
        if (d.otlp_http)
            http_server_close(d.otlp_http, NULL, NULL);
        if (d.api_srv)
            http_server_close(d.api_srv, NULL, NULL);
        uv_run(d.loop, UV_RUN_DEFAULT);
    } else {
        d.open_servers = 3;
        uv_signal_init(d.loop, &d.sig_term);
        uv_signal_init(d.loop, &d.sig_int);
        d.sig_term.data = d.sig_int.data = &d;
        uv_signal_start(&d.sig_term, on_signal, SIGTERM);
        uv_signal_start(&d.sig_int, on_signal, SIGINT);
        print_listen("otlp-http", cfg.otlp_http_addr, http_server_port(d.otlp_http));
        print_listen("otlp-grpc", cfg.otlp_grpc_addr, grpc_server_port(d.otlp_grpc));
        print_listen("api", cfg.api_addr, http_server_port(d.api_srv));
        const char *colon = strrchr(cfg.api_addr, ':');
        int hostlen = colon ? (int)(colon - cfg.api_addr) : 0;
        printf("braid: data in %s; query API and UI at http://%.*s:%d/\n", cfg.data, hostlen,
               cfg.api_addr, http_server_port(d.api_srv));
        printf("braid: ready\n");
        fflush(stdout);
        api_set_ready(d.api, true);
        uv_run(d.loop, UV_RUN_DEFAULT);
    }
    rc = uv_loop_close(d.loop);
    if (rc)
        LOG_WARN("event loop closed with handles still open: %s", uv_strerror(rc));
    tail_stop(tl); /* appends what it read before the store closes */
    free(cfg.tail_env);
    health_stop(d.health); /* no judging against a closing store */
    rc = store_close(d.st);
    if (rc) {
        fprintf(stderr, "braid serve: flushing the store on shutdown failed: %s\n",
                braid_strerror(rc));
        exit_code = 1;
    }
    api_free(d.api);
    health_free(d.health);
    ingest_free(d.ing);
    uv_mutex_destroy(&d.stats_mu);
    if (!exit_code)
        LOG_INFO("shut down cleanly");
    return exit_code;
}

static void usage(FILE *f)
{
    fprintf(f,
            "braid %s: logs, traces and metrics in one store, keyed by trace id\n\n"
            "usage:\n"
            "  braid serve [flags]        run the daemon (braid serve --help)\n"
            "  braid demo [flags]         send a demo shop with an incident (braid demo --help)\n"
            "  braid trace ID [--json]    a trace as a waterfall with its log lines\n"
            "  braid logs [--trace-id ID] [--service S] [--since 15m] [-f]\n"
            "  braid doctor [--since 1h] [--service S] [--json]  correlation health; exit 1 on "
            "a fault\n"
            "  braid ingest FILE...|-     parse log files (or stdin) and send them over OTLP\n"
            "  braid version\n\n"
            "Client commands talk to --server (BRAID_SERVER, default http://127.0.0.1:4320).\n",
            BRAID_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "trace") == 0)
        return cli_trace(argc - 2, argv + 2);
    if (strcmp(cmd, "demo") == 0)
        return demo_main(argc - 2, argv + 2);
    if (strcmp(cmd, "logs") == 0)
        return cli_logs(argc - 2, argv + 2);
    if (strcmp(cmd, "ingest") == 0)
        return cli_ingest(argc - 2, argv + 2);
    if (strcmp(cmd, "doctor") == 0)
        return cli_doctor(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("braid %s\n", BRAID_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "braid: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}

/* bench_tail: file-to-durable-store throughput of `braid serve --tail` on CRI
 * files (zap JSON, logfmt and Log4j text lines of ~250 bytes, 70 % with a
 * trace id): a burst of pre-written files, then appending at a target rate
 * with rotation while sampling memory. Prints figures; exits non-zero only
 * when something is functionally broken (the daemon does not start or stop
 * cleanly, lines go missing, a trace lookup returns the wrong rows). */
#include "benchlib.c" /* shared bench helpers; see the note at its top */

#include <getopt.h>
#include <stdatomic.h>

#define GOAL_LINES_S 400000.0
#define GOAL_RSS_GROWTH 1.10      /* second-half peak RSS / first-half peak RSS */
#define ROTATE_BYTES (256u << 20) /* a file is rotated (rename + create) above this */
#define POOL_LINES 65536          /* pre-generated lines per file for the sustained phase */
#define PROBES 3

typedef struct {
    uint64_t lines;
    int files;
    double seconds;
    double rate;
    const char *braid;
    bool keep;
} config;

typedef enum { STYLE_JSON = 0, STYLE_LOGFMT = 1, STYLE_TEXT = 2 } style;

/* ---------------------------------------------------------------------------
 * Lines. Each file is one container with one logging style; lines come in
 * requests of 3-7 lines that share a trace id (70 % of requests are traced).
 * ------------------------------------------------------------------------- */
typedef struct {
    bench_rng rng;
    int svc, route, left;
    bool traced;
    char tid[33], sid[17];
    bench_request q;
    style st;
    uint64_t lines, traced_lines;
} gen;

static void hexrand(bench_rng *r, char *out, int nbytes)
{
    static const char h[] = "0123456789abcdef";
    for (int i = 0; i < nbytes; i++) {
        uint8_t b = (uint8_t)bench_rand(r);
        out[2 * i] = h[b >> 4];
        out[2 * i + 1] = h[b & 15];
    }
    out[2 * nbytes] = 0;
}

static void gen_init(gen *g, int file)
{
    memset(g, 0, sizeof *g);
    g->rng.s = 0x5eed0000u + (uint64_t)file * 7919u;
    g->svc = file % BENCH_NSERVICES;
    g->st = (style)(file % 3);
}

/* One CRI line (with its '\n') of about 250 bytes into out; returns its length. */
static size_t gen_line(gen *g, uint64_t now_ns, char *out, size_t cap)
{
    bench_rng *r = &g->rng;
    if (g->left == 0) {
        g->left = 3 + (int)bench_below(r, 5);
        g->route = (int)bench_below(r, BENCH_NROUTES);
        g->traced = bench_below(r, 100) < 70;
        hexrand(r, g->tid, 16);
        bench_request_new(r, &g->q);
    }
    g->left--;
    hexrand(r, g->sid, 8);
    bench_severity sev = bench_pick_severity(r);
    char msg[320];
    size_t ml = bench_log_line(r, g->svc, g->route, sev.number, &g->q, msg, sizeof msg);
    /* keep lines near 250 bytes: header and fields take 90-150 of them */
    size_t want = g->st == STYLE_JSON ? 75 : g->st == STYLE_LOGFMT ? 90 : 85;
    if (!g->traced)
        want += 60;
    if (ml > want)
        ml = want;
    while (ml && (msg[ml - 1] == ' ' || msg[ml - 1] == '\\'))
        ml--;
    for (size_t i = 0; i < ml; i++)
        if (msg[i] == '"')
            msg[i] = '\'';
    time_t secs = (time_t)(now_ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[40];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    int n = snprintf(out, cap, "%s.%09lluZ %s F ", ts, (unsigned long long)(now_ns % 1000000000ull),
                     sev.number >= 13 ? "stderr" : "stdout");
    char ids[96] = "";
    const bench_service *s = &bench_services[g->svc];
    switch (g->st) {
    case STYLE_JSON:
        if (g->traced)
            snprintf(ids, sizeof ids, ",\"trace_id\":\"%s\",\"span_id\":\"%s\"", g->tid, g->sid);
        n +=
            snprintf(out + n, cap - (size_t)n,
                     "{\"level\":\"%s\",\"ts\":%llu.%06llu,\"caller\":\"%s\",\"msg\":\"%.*s\"%s}\n",
                     sev.text, (unsigned long long)(now_ns / 1000000000ull),
                     (unsigned long long)(now_ns / 1000 % 1000000), s->functions[g->route], (int)ml,
                     msg, ids);
        break;
    case STYLE_LOGFMT:
        if (g->traced)
            snprintf(ids, sizeof ids, " trace_id=%s span_id=%s", g->tid, g->sid);
        n += snprintf(out + n, cap - (size_t)n, "time=%sZ level=%s msg=\"%.*s\"%s dur=%ums\n", ts,
                      sev.text, (int)ml, msg, ids, bench_latency_ms(r, 40));
        break;
    case STYLE_TEXT:
        if (g->traced)
            snprintf(ids, sizeof ids, " trace_id=%s span_id=%s trace_flags=01", g->tid, g->sid);
        n += snprintf(out + n, cap - (size_t)n, "%s,%03llu %-5s [exec-%u] %s - %.*s%s\n", ts,
                      (unsigned long long)(now_ns / 1000000 % 1000), sev.text,
                      1 + bench_below(r, 16), s->logger, (int)ml, msg, ids);
        break;
    }
    g->lines++;
    g->traced_lines += g->traced;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

static void file_path(const char *dir, int i, char *out, size_t cap)
{
    char pod[64], cid[65];
    int svc = i % BENCH_NSERVICES;
    bench_pod_name(svc, i / BENCH_NSERVICES, pod, sizeof pod);
    bench_container_id(svc, i / BENCH_NSERVICES, cid);
    snprintf(out, cap, "%s/%s_shop_%s-%s.log", dir, pod, bench_services[svc].name, cid);
}

/* ---------------------------------------------------------------------------
 * The daemon's file counter.
 * ------------------------------------------------------------------------- */
static uint64_t metric_value(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* The file ingest counter and (when mem is not NULL) the store's memory. */
static int file_counter2(bench_conn *c, uint64_t *out, uint64_t *mem)
{
    static const char key[] =
        "braid_ingest_records_received_total{signal=\"logs\",transport=\"file\"} ";
    buf resp;
    buf_init(&resp);
    int status = 0;
    int rc = bench_http(c, "GET", "/metrics", NULL, NULL, 0, &status, &resp);
    if (!rc && status != 200)
        rc = BRAID_EIO;
    if (!rc) {
        buf_putc(&resp, 0);
        const char *p = strstr((const char *)resp.p, key);
        rc = p ? 0 : BRAID_EIO;
        if (p)
            *out = strtoull(p + sizeof key - 1, NULL, 10);
        if (mem)
            *mem = metric_value((const char *)resp.p, "\nbraid_store_memory_bytes ");
    }
    if (rc)
        fprintf(stderr, "bench: cannot read the file counter from /metrics (status %d)\n", status);
    buf_free(&resp);
    return rc;
}

static int file_counter(bench_conn *c, uint64_t *out)
{
    return file_counter2(c, out, NULL);
}

typedef struct {
    double t;
    uint64_t stored, written;
    uint64_t rss_kb, store_mem;
} sample;

/* ---------------------------------------------------------------------------
 * Sustained phase: a writer thread appends pre-generated lines at `rate`.
 * ------------------------------------------------------------------------- */
typedef struct {
    const config *cfg;
    const char *dir;
    char **pool;        /* per file: POOL_LINES lines back to back */
    size_t *pool_len;   /* bytes */
    uint32_t **offsets; /* per file: start of each line in the pool */
    atomic_uint_fast64_t written;
    atomic_bool stop;
    uint64_t rotations;
    int err;
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    const config *cfg = w->cfg;
    int nf = cfg->files;
    int *fds = calloc((size_t)nf, sizeof *fds);
    uint64_t *bytes = calloc((size_t)nf, sizeof *bytes);
    size_t *cursor = calloc((size_t)nf, sizeof *cursor);
    char path[1024], old[1100];
    for (int i = 0; i < nf; i++) {
        file_path(w->dir, i, path, sizeof path);
        fds[i] = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
        struct stat st;
        bytes[i] = fstat(fds[i], &st) == 0 ? (uint64_t)st.st_size : 0;
    }
    double t0 = bench_now_s(), tick = 0.01;
    uint64_t due_total = 0;
    int next_file = 0;
    while (!atomic_load(&w->stop)) {
        double now = bench_now_s();
        uint64_t due = (uint64_t)((now - t0) * cfg->rate);
        while (due_total < due) {
            int f = next_file;
            next_file = (next_file + 1) % nf;
            /* write a run of up to 256 consecutive pool lines to one file */
            uint64_t n = due - due_total < 256 ? due - due_total : 256;
            size_t a = cursor[f], b = a + n;
            if (b > POOL_LINES)
                b = POOL_LINES;
            size_t from = w->offsets[f][a];
            size_t to = b == POOL_LINES ? w->pool_len[f] : w->offsets[f][b];
            if (write(fds[f], w->pool[f] + from, to - from) != (ssize_t)(to - from)) {
                w->err = BRAID_EIO;
                atomic_store(&w->stop, true);
                break;
            }
            bytes[f] += to - from;
            cursor[f] = b == POOL_LINES ? 0 : b;
            due_total += b - a;
            atomic_fetch_add(&w->written, b - a);
            if (bytes[f] > ROTATE_BYTES) {
                /* kubelet-style: rename to .1 (dropping the previous .1, which
                 * the daemon has read or still holds open), create anew */
                file_path(w->dir, f, path, sizeof path);
                snprintf(old, sizeof old, "%s.1", path);
                unlink(old);
                rename(path, old);
                close(fds[f]);
                fds[f] = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
                bytes[f] = 0;
                w->rotations++;
            }
        }
        struct timespec ts = {0, (long)(tick * 1e9)};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < nf; i++)
        close(fds[i]);
    free(fds);
    free(bytes);
    free(cursor);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Checks and output.
 * ------------------------------------------------------------------------- */
typedef struct {
    char tid[33];
    uint32_t lines;
} probe;

static int check_probes(bench_conn *c, const probe *p, int n)
{
    for (int i = 0; i < n; i++) {
        char path[160];
        snprintf(path, sizeof path, "/api/v1/logs?trace_id=%s&limit=1000", p[i].tid);
        buf resp;
        buf_init(&resp);
        int status = 0;
        int rc = bench_http(c, "GET", path, NULL, NULL, 0, &status, &resp);
        size_t got = rc ? 0 : bench_count(resp.p, resp.n, "\"time_unix_nano\"");
        buf_free(&resp);
        if (rc || status != 200 || got != p[i].lines) {
            fprintf(stderr, "bench: trace %s: %zu log rows, expected %u (status %d)\n", p[i].tid,
                    got, p[i].lines, status);
            return BRAID_EIO;
        }
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_tail [--lines N] [--files N] [--seconds N] [--rate LINES_PER_S]\n"
               "                  [--braid PATH] [--keep]\n");
}

int main(int argc, char **argv)
{
    config cfg = {
        .lines = 1000000, .files = 8, .seconds = 15, .rate = GOAL_LINES_S, .braid = "build/braid"};
    static const struct option opts[] = {
        {"lines", required_argument, NULL, 'n'},   {"files", required_argument, NULL, 'f'},
        {"seconds", required_argument, NULL, 's'}, {"rate", required_argument, NULL, 'r'},
        {"braid", required_argument, NULL, 'B'},   {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'n':
            cfg.lines = strtoull(optarg, NULL, 10);
            break;
        case 'f':
            cfg.files = atoi(optarg);
            break;
        case 's':
            cfg.seconds = atof(optarg);
            break;
        case 'r':
            cfg.rate = atof(optarg);
            break;
        case 'B':
            cfg.braid = optarg;
            break;
        case 'k':
            cfg.keep = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (cfg.lines < 1000 || cfg.files < 1 || cfg.files > 256 || cfg.seconds < 0 ||
        cfg.rate < 1000 || optind != argc) {
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
    char root[512], dir[600], data[600], glob[700], logp[700], path[1024];
    if (bench_mkdtemp("braid-bench-tail-", root, sizeof root))
        return 1;
    snprintf(dir, sizeof dir, "%s/containers", root);
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(glob, sizeof glob, "%s/*.log", dir);
    snprintf(logp, sizeof logp, "%s/braid.log", root);
    mkdir(dir, 0755);
    printf("bench_tail: container log files to the durable store, %s\n", cfg.braid);
    bench_print_machine(stdout);

    /* ---- write the burst ---- */
    gen *g = calloc((size_t)cfg.files, sizeof *g);
    probe probes[PROBES];
    int nprobes = 0;
    uint64_t per = cfg.lines / (uint64_t)cfg.files, total_bytes = 0, traced = 0;
    uint64_t now = now_unix_ns();
    double tw = bench_now_s();
    buf out;
    buf_init(&out);
    for (int i = 0; i < cfg.files; i++) {
        gen_init(&g[i], i);
        file_path(dir, i, path, sizeof path);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            fprintf(stderr, "bench: cannot create %s: %s\n", path, strerror(errno));
            return 1;
        }
        uint64_t n = per + (i == 0 ? cfg.lines % (uint64_t)cfg.files : 0);
        for (uint64_t k = 0; k < n; k++) {
            if (buf_reserve(&out, 1024))
                return 1;
            bool starts = g[i].left == 0;
            size_t len = gen_line(&g[i], now + k * 1000, (char *)out.p + out.n, 1024);
            out.n += len;
            if (starts && g[i].traced && nprobes < PROBES && i == nprobes) {
                memcpy(probes[nprobes].tid, g[i].tid, 33);
                probes[nprobes].lines = (uint32_t)g[i].left + 1;
                nprobes++;
            }
            if (out.n > (4u << 20) || k + 1 == n) {
                if (write(fd, out.p, out.n) != (ssize_t)out.n) {
                    fprintf(stderr, "bench: writing %s: %s\n", path, strerror(errno));
                    return 1;
                }
                total_bytes += out.n;
                buf_reset(&out);
            }
        }
        traced += g[i].traced_lines;
        close(fd);
    }
    tw = bench_now_s() - tw;
    char f1[32], f2[32], f3[32], f4[32];
    printf("data: %s lines in %d files (%s, %.0f bytes/line, %.0f %% with a trace id; JSON, "
           "logfmt and text containers), written in %.1f s; %s\n",
           bench_fmt_u64(cfg.lines, f1), cfg.files, bench_fmt_bytes(total_bytes, f2),
           (double)total_bytes / (double)cfg.lines, 100.0 * (double)traced / (double)cfg.lines, tw,
           root);

    /* ---- burst: start the daemon on the files, wait for every line ---- */
    const char *extra[] = {"--tail", glob, "--fsync", "batch", NULL};
    bench_daemon d;
    double t0 = bench_now_s();
    if (bench_daemon_start(&d, cfg.braid, data, extra, logp, 120))
        return 1;
    bench_conn c;
    if (bench_conn_open(&c, d.api_port))
        return 1;
    sample *samples = NULL;
    size_t nsamples = 0, capsamples = 0;
    uint64_t stored = 0, peak_kb = 0;
    double last_sample = 0, last_progress = bench_now_s();
    uint64_t last_stored = 0;
    int rc = 0;
    while (stored < cfg.lines) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
        if ((rc = file_counter(&c, &stored)))
            break;
        double t = bench_now_s();
        if (t - last_sample >= 0.5) {
            uint64_t rss, hwm;
            if (bench_proc_mem(d.pid, &rss, &hwm) == 0 && rss > peak_kb)
                peak_kb = rss;
            fprintf(stderr, "bench: %.1f s: %s lines stored, RSS %s\n", t - t0,
                    bench_fmt_u64(stored, f1), bench_fmt_bytes(rss * 1024, f2));
            last_sample = t;
        }
        if (stored != last_stored) {
            last_stored = stored;
            last_progress = t;
        } else if (t - last_progress > 30) {
            fprintf(stderr, "bench: no progress for 30 s at %llu of %llu lines\n",
                    (unsigned long long)stored, (unsigned long long)cfg.lines);
            rc = BRAID_EIO;
            break;
        }
    }
    double burst_s = bench_now_s() - t0;
    double cpu_burst = 0;
    bench_proc_cpu(d.pid, &cpu_burst);
    if (!rc)
        rc = check_probes(&c, probes, nprobes);
    if (rc) {
        bench_daemon_log_tail(&d, 40);
        bench_daemon_stop(&d, 60);
        return 1;
    }
    printf("\n%-34s %14s\n", "burst (files written before start)", "");
    printf("%-34s %14s\n", "lines stored", bench_fmt_u64(stored, f1));
    printf("%-34s %14.2f   (exec to the last line durable)\n", "seconds", burst_s);
    double lps = (double)stored / burst_s;
    printf("%-34s %14.0f   goal >= %.0f: %s\n", "lines/s", lps, GOAL_LINES_S,
           lps >= GOAL_LINES_S ? "met" : "MISSED");
    printf("%-34s %14.1f   (%.0f bytes of files per line)\n", "MB/s of log files",
           (double)total_bytes / burst_s / 1e6, (double)total_bytes / (double)cfg.lines);
    printf("%-34s %14.2f   (%.2f cores)\n", "daemon CPU seconds", cpu_burst, cpu_burst / burst_s);
    printf("%-34s %14s\n", "daemon peak RSS (sampled)", bench_fmt_bytes(peak_kb * 1024, f1));
    printf("%-34s %14d   (exact row counts)\n", "trace lookups checked", nprobes);

    /* ---- sustained: append at --rate for --seconds, with rotation ---- */
    if (cfg.seconds > 0) {
        writer w = {.cfg = &cfg, .dir = dir};
        w.pool = calloc((size_t)cfg.files, sizeof *w.pool);
        w.pool_len = calloc((size_t)cfg.files, sizeof *w.pool_len);
        w.offsets = calloc((size_t)cfg.files, sizeof *w.offsets);
        for (int i = 0; i < cfg.files; i++) {
            buf p;
            buf_init(&p);
            w.offsets[i] = malloc(POOL_LINES * sizeof(uint32_t));
            for (int k = 0; k < POOL_LINES; k++) {
                buf_reserve(&p, 1024);
                w.offsets[i][k] = (uint32_t)p.n;
                p.n += gen_line(&g[i], now_unix_ns() + (uint64_t)k * 1000, (char *)p.p + p.n, 1024);
            }
            w.pool_len[i] = p.n;
            w.pool[i] = (char *)buf_detach(&p, NULL);
        }
        uint64_t base = stored;
        pthread_t th;
        double ts0 = bench_now_s();
        pthread_create(&th, NULL, writer_main, &w);
        double next = ts0;
        while (bench_now_s() - ts0 < cfg.seconds && !atomic_load(&w.stop)) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
            double t = bench_now_s();
            if (t < next)
                continue;
            next = t + (cfg.seconds >= 60 ? 5.0 : 1.0);
            uint64_t rss = 0, hwm;
            bench_proc_mem(d.pid, &rss, &hwm);
            uint64_t smem = 0;
            if ((rc = file_counter2(&c, &stored, &smem)))
                break;
            if (nsamples == capsamples) {
                capsamples = capsamples ? capsamples * 2 : 64;
                samples = realloc(samples, capsamples * sizeof *samples);
            }
            samples[nsamples++] =
                (sample){t - ts0, stored - base, atomic_load(&w.written), rss, smem};
            fprintf(stderr, "bench: sustained %.0f s: %s written, %s stored, RSS %s\n", t - ts0,
                    bench_fmt_u64(atomic_load(&w.written), f1), bench_fmt_u64(stored - base, f2),
                    bench_fmt_bytes(rss * 1024, f3));
        }
        atomic_store(&w.stop, true);
        pthread_join(th, NULL);
        double wrote_s = bench_now_s() - ts0;
        uint64_t written = atomic_load(&w.written);
        /* drain: everything written must arrive */
        double td = bench_now_s();
        while (!rc && stored - base < written && bench_now_s() - td < 120) {
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
            rc = file_counter(&c, &stored);
        }
        double drain_s = bench_now_s() - td;
        if (!rc && stored - base != written) {
            fprintf(stderr, "bench: %llu lines written, %llu stored\n", (unsigned long long)written,
                    (unsigned long long)(stored - base));
            rc = BRAID_EIO;
        }
        if (w.err)
            rc = w.err;
        if (rc) {
            bench_daemon_log_tail(&d, 40);
            bench_daemon_stop(&d, 60);
            return 1;
        }
        uint64_t peak1 = 0, peak2 = 0;
        for (size_t i = 0; i < nsamples; i++) {
            uint64_t *pk = samples[i].t < wrote_s / 2 ? &peak1 : &peak2;
            if (samples[i].rss_kb > *pk)
                *pk = samples[i].rss_kb;
        }
        double growth = peak1 ? (double)peak2 / (double)peak1 : 0;
        printf("\n%-34s %14s\n", "sustained (appending while tailing)", "");
        printf("%-34s %14.0f   (target rate)\n", "lines/s offered", cfg.rate);
        printf("%-34s %14s   in %.1f s, %llu rotations\n", "lines written",
               bench_fmt_u64(written, f1), wrote_s, (unsigned long long)w.rotations);
        /* The writer paces itself, so the stored rate cannot beat the
         * offered one: the daemon met it when it kept up (the backlog left
         * when the writer stopped drained within a second). */
        double slps = (double)written / (wrote_s + drain_s);
        double wlps = (double)written / wrote_s;
        bool kept_up = drain_s <= 1.0 && wlps >= 0.99 * cfg.rate;
        printf("%-34s %14.0f   (written / (writing + drain %.2f s)); kept up with %.0f/s: %s; "
               "goal >= %.0f: %s\n",
               "lines/s stored", slps, drain_s, wlps, kept_up ? "yes" : "no", GOAL_LINES_S,
               kept_up && wlps >= 0.99 * GOAL_LINES_S ? "met" : "MISSED");
        printf("%-34s %14s   first half %s, second half %s: x%.2f; goal <= x%.2f: %s\n",
               "daemon RSS peak", bench_fmt_bytes((peak1 > peak2 ? peak1 : peak2) * 1024, f1),
               bench_fmt_bytes(peak1 * 1024, f2), bench_fmt_bytes(peak2 * 1024, f3), growth,
               GOAL_RSS_GROWTH, growth <= GOAL_RSS_GROWTH ? "met (flat)" : "MISSED");
        printf("\n%10s %14s %14s %12s %14s\n", "seconds", "written", "stored", "RSS",
               "store memory");
        size_t step = nsamples > 12 ? nsamples / 12 : 1;
        for (size_t i = 0; i < nsamples; i += step)
            printf("%10.0f %14s %14s %12s %14s\n", samples[i].t,
                   bench_fmt_u64(samples[i].written, f1), bench_fmt_u64(samples[i].stored, f2),
                   bench_fmt_bytes(samples[i].rss_kb * 1024, f3),
                   bench_fmt_bytes(samples[i].store_mem, f4));
        for (int i = 0; i < cfg.files; i++) {
            free(w.pool[i]);
            free(w.offsets[i]);
        }
        free(w.pool);
        free(w.pool_len);
        free(w.offsets);
    }
    bench_conn_close(&c);
    if (bench_daemon_stop(&d, 120))
        return 1;
    printf("\n%-34s %14.2f s   (SIGTERM to exit, final flush)\n", "shutdown", d.stop_s);
    printf("%-34s %14s\n", "daemon peak RSS (whole life)", bench_fmt_bytes(d.maxrss_kb * 1024, f1));
    uint64_t nfiles;
    printf("%-34s %14s\n", "data dir after shutdown", bench_fmt_bytes(bench_du(data, &nfiles), f1));
    printf("\ncommand: bench_tail --lines %llu --files %d --seconds %.0f --rate %.0f\n",
           (unsigned long long)cfg.lines, cfg.files, cfg.seconds, cfg.rate);
    free(samples);
    free(g);
    buf_free(&out);
    if (!cfg.keep)
        bench_rm_rf(root);
    return 0;
}

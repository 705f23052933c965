/* bench_tail: file-to-durable-store throughput of `braid serve --tail` on CRI
 * files (zap JSON, logfmt and Log4j text lines of ~250 bytes, 70 % with a
 * trace id): a burst of pre-written files, then appending at a target rate
 * while rotating the files as the kubelet (rename) and logrotate
 * (copytruncate) do, so the log directory stays bounded, and sampling the
 * daemon's memory (heap and mapped files apart) and the disk. Prints figures;
 * exits non-zero only when something is functionally broken (the daemon does
 * not start or stop cleanly, lines go missing, a trace lookup returns the
 * wrong rows) or the disk ran low and the run was cut short. */
#include "benchlib.c" /* shared bench helpers; see the note at its top */

#include <dirent.h>
#include <getopt.h>
#include <stdatomic.h>

#define GOAL_LINES_S 400000.0
#define GOAL_RSS_GROWTH 1.10 /* second-half peak heap / first-half peak heap */
#define POOL_LINES 65536     /* pre-generated lines per file for the sustained phase */
#define PROBES 3
#define MARKER_TIMEOUT_S 120.0 /* a copytruncate waits this long for braid to read the file */

typedef enum { ROT_MIXED = 0, ROT_RENAME = 1, ROT_COPYTRUNCATE = 2 } rotation;

typedef struct {
    uint64_t lines;
    int files;
    double seconds;
    double rate;
    const char *braid;
    bool keep;
    uint64_t max_size; /* rotate a file above this many bytes (kubelet containerLogMaxSize) */
    int max_files;     /* files per container, the live one included (containerLogMaxFiles) */
    rotation rot;
    uint64_t min_free; /* stop the sustained phase when the file system has less free */
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
 * The daemon's counters.
 * ------------------------------------------------------------------------- */
static uint64_t metric_value(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

typedef struct {
    uint64_t stored;      /* file lines the store acknowledged */
    uint64_t store_mem;   /* braid_store_memory_bytes */
    uint64_t rotations;   /* braid_tail_rotations_total */
    uint64_t truncations; /* braid_tail_truncations_total */
} counters;

/* Reads the daemon's /metrics: the file ingest counter (required) and a few
 * gauges beside it. */
static int read_counters(bench_conn *c, counters *out)
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
        const char *text = (const char *)resp.p;
        const char *p = strstr(text, key);
        rc = p ? 0 : BRAID_EIO;
        if (p)
            out->stored = strtoull(p + sizeof key - 1, NULL, 10);
        out->store_mem = metric_value(text, "\nbraid_store_memory_bytes ");
        out->rotations = metric_value(text, "\nbraid_tail_rotations_total ");
        out->truncations = metric_value(text, "\nbraid_tail_truncations_total ");
    }
    if (rc)
        fprintf(stderr, "bench: cannot read the file counter from /metrics (status %d)\n", status);
    buf_free(&resp);
    return rc;
}

static int file_counter(bench_conn *c, uint64_t *out)
{
    counters k;
    int rc = read_counters(c, &k);
    if (!rc)
        *out = k.stored;
    return rc;
}

typedef struct {
    double t;
    uint64_t stored, written;
    bench_mem mem;
    uint64_t store_mem, parts_bytes, wal_bytes, log_bytes, fs_free;
} sample;

/* ---------------------------------------------------------------------------
 * Sustained phase: a writer thread appends pre-generated lines at `rate`; a
 * rotator thread rotates the files it marks as full.
 *
 * rename (the kubelet): the file is renamed to <name>.<YYYYmmdd-HHMMSS> and a
 * new one created at the name; the writer keeps writing into the renamed file
 * until it picks the new descriptor up, as a container runtime does until it
 * reopens its log. The kubelet checks sizes every 10 s, so braid has always
 * found a file before it is rotated; here a file fills in about a second, so
 * the rename waits until braid holds the file open (seen in /proc/PID/fd),
 * or braid would never learn of it. The oldest rotated files beyond
 * max_files - 1 are deleted.
 *
 * copytruncate (logrotate): copy to <name>.1 (shifting .1 to .2 ...) and
 * truncate in place. Lines written between braid's last read and the
 * truncation are lost by design, so the writer stops writing to that one
 * file, appends a marker line with a trace id of its own, and the rotator
 * truncates only once that line can be looked up through the API: braid reads
 * a file in order, so every line before the marker is stored too.
 * ------------------------------------------------------------------------- */
enum {
    FS_WRITING = 0, /* the writer appends */
    FS_RENAME_DUE,  /* over max_size; the writer still appends */
    FS_RENAMED,     /* newfd is the new file; the writer switches to it */
    FS_DRAINING,    /* marker written; the writer skips the file */
    FS_TRUNCATED,   /* truncated in place; the writer resumes at 0 */
};

typedef struct {
    atomic_int state;
    bool copytruncate;
    /* writer thread only */
    int fd;
    uint64_t bytes;
    size_t cursor; /* next pool line */
    /* handed from writer to rotator (before FS_DRAINING) and back (FS_RENAMED) */
    char marker[33];
    int newfd;
    /* rotator thread only */
    double due_since, next_try;
    bool deferred;
    char (*rotated)[1100]; /* rename style: rotated names, oldest first */
    int nrotated;
} wfile;

typedef struct {
    const config *cfg;
    const char *dir;
    pid_t daemon;
    int api_port;
    char **pool;        /* per file: POOL_LINES lines back to back */
    size_t *pool_len;   /* bytes */
    uint32_t **offsets; /* per file: start of each line in the pool */
    gen *gens;          /* per file, for marker lines (already advanced past the pool) */
    wfile *wf;
    atomic_uint_fast64_t written;
    atomic_bool stop, rot_stop;
    atomic_int err;
    /* rotator results */
    uint64_t renames, copytruncates, deleted, rename_deferred, markers;
    double rename_wait_max, ct_wait_max, ct_wait_sum;
} writer;

static void writer_fail(writer *w, const char *what, const char *path)
{
    fprintf(stderr, "bench: %s %s: %s\n", what, path, strerror(errno));
    atomic_store(&w->err, BRAID_EIO);
    atomic_store(&w->stop, true);
}

/* Picks the next file the writer may append to, taking up what the rotator
 * did to it. -1 when every file is waiting for a copytruncate. */
static int writer_pick(writer *w, int *next)
{
    int nf = w->cfg->files;
    for (int k = 0; k < nf; k++) {
        int f = (*next + k) % nf;
        wfile *wf = &w->wf[f];
        int st = atomic_load(&wf->state);
        if (st == FS_DRAINING)
            continue;
        if (st == FS_RENAMED) {
            close(wf->fd);
            wf->fd = wf->newfd;
            wf->newfd = -1;
            wf->bytes = 0;
            atomic_store(&wf->state, FS_WRITING);
        } else if (st == FS_TRUNCATED) {
            wf->bytes = 0;
            atomic_store(&wf->state, FS_WRITING);
        }
        *next = (f + 1) % nf;
        return f;
    }
    return -1;
}

/* Appends a line carrying a trace id no other line has, and hands the file to
 * the rotator. */
static void writer_mark(writer *w, int f)
{
    wfile *wf = &w->wf[f];
    gen m = w->gens[f];
    m.left = 1;
    m.traced = true;
    snprintf(m.tid, sizeof m.tid, "b4a1d0%02x%024llx", (unsigned)(uint8_t)f,
             (unsigned long long)w->markers);
    w->markers++;
    char line[1024];
    size_t n = gen_line(&m, now_unix_ns(), line, sizeof line);
    if (write(wf->fd, line, n) != (ssize_t)n) {
        char path[1024];
        file_path(w->dir, f, path, sizeof path);
        writer_fail(w, "cannot write to", path);
        return;
    }
    wf->bytes += n;
    atomic_fetch_add(&w->written, 1);
    memcpy(wf->marker, m.tid, sizeof wf->marker);
    atomic_store(&wf->state, FS_DRAINING);
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    const config *cfg = w->cfg;
    int nf = cfg->files;
    char path[1024];
    for (int i = 0; i < nf; i++) {
        file_path(w->dir, i, path, sizeof path);
        w->wf[i].fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        struct stat st;
        w->wf[i].bytes = fstat(w->wf[i].fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    }
    double t0 = bench_now_s(), tick = 0.01;
    uint64_t due_total = 0;
    int next_file = 0;
    while (!atomic_load(&w->stop)) {
        double now = bench_now_s();
        uint64_t due = (uint64_t)((now - t0) * cfg->rate);
        while (due_total < due && !atomic_load(&w->stop)) {
            int f = writer_pick(w, &next_file);
            if (f < 0)
                break;
            wfile *wf = &w->wf[f];
            /* write a run of up to 256 consecutive pool lines to one file */
            uint64_t n = due - due_total < 256 ? due - due_total : 256;
            size_t a = wf->cursor, b = a + n;
            if (b > POOL_LINES)
                b = POOL_LINES;
            size_t from = w->offsets[f][a];
            size_t to = b == POOL_LINES ? w->pool_len[f] : w->offsets[f][b];
            if (write(wf->fd, w->pool[f] + from, to - from) != (ssize_t)(to - from)) {
                file_path(w->dir, f, path, sizeof path);
                writer_fail(w, "cannot write to", path);
                break;
            }
            wf->bytes += to - from;
            wf->cursor = b == POOL_LINES ? 0 : b;
            due_total += b - a;
            atomic_fetch_add(&w->written, b - a);
            if (wf->bytes > cfg->max_size && atomic_load(&wf->state) == FS_WRITING) {
                if (wf->copytruncate)
                    writer_mark(w, f);
                else
                    atomic_store(&wf->state, FS_RENAME_DUE);
            }
        }
        struct timespec ts = {0, (long)(tick * 1e9)};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < nf; i++)
        close(w->wf[i].fd);
    return NULL;
}

/* Whether the daemon has a descriptor on the file at path. */
static bool daemon_has_open(pid_t pid, const char *path)
{
    struct stat want, st;
    if (stat(path, &want) != 0)
        return false;
    char dpath[64], fpath[330];
    snprintf(dpath, sizeof dpath, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dpath);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(fpath, sizeof fpath, "%s/%s", dpath, e->d_name);
        found = stat(fpath, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino;
    }
    closedir(d);
    return found;
}

static void rotator_fail(writer *w, const char *what, const char *path)
{
    writer_fail(w, what, path);
    atomic_store(&w->rot_stop, true);
}

static void rotate_rename(writer *w, int f)
{
    wfile *wf = &w->wf[f];
    char path[1024], rot[1100], ts[32];
    file_path(w->dir, f, path, sizeof path);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", &tm); /* the kubelet's format */
    snprintf(rot, sizeof rot, "%s.%s", path, ts);
    struct stat st;
    for (int k = 2; lstat(rot, &st) == 0; k++)
        snprintf(rot, sizeof rot, "%s.%s-%d", path, ts, k);
    if (rename(path, rot) != 0) {
        rotator_fail(w, "cannot rename", path);
        return;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rotator_fail(w, "cannot create", path);
        return;
    }
    wf->newfd = fd;
    atomic_store(&wf->state, FS_RENAMED);
    w->renames++;
    snprintf(wf->rotated[wf->nrotated++], sizeof wf->rotated[0], "%s", rot);
    while (wf->nrotated > w->cfg->max_files - 1) {
        if (unlink(wf->rotated[0]) == 0)
            w->deleted++;
        memmove(wf->rotated[0], wf->rotated[1], (size_t)(wf->nrotated - 1) * sizeof wf->rotated[0]);
        wf->nrotated--;
    }
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return BRAID_EIO;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return BRAID_EIO;
    }
    int rc = 0;
    char b[1 << 16];
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1u << 30, 0);
        if (n < 0 && (errno == ENOSYS || errno == EXDEV || errno == EINVAL)) {
            /* the plain way when the kernel cannot copy between these */
            while ((n = read(in, b, sizeof b)) > 0)
                if (write(out, b, (size_t)n) != n) {
                    n = -1;
                    break;
                }
        }
        if (n < 0)
            rc = BRAID_EIO;
        if (n <= 0)
            break;
    }
    close(in);
    if (close(out) != 0)
        rc = BRAID_EIO;
    return rc;
}

static void rotate_copytruncate(writer *w, int f)
{
    wfile *wf = &w->wf[f];
    char path[1024], a[1100], b[1100];
    file_path(w->dir, f, path, sizeof path);
    int keep = w->cfg->max_files - 1;
    snprintf(a, sizeof a, "%s.%d", path, keep);
    if (unlink(a) == 0)
        w->deleted++;
    for (int k = keep - 1; k >= 1; k--) {
        snprintf(a, sizeof a, "%s.%d", path, k);
        snprintf(b, sizeof b, "%s.%d", path, k + 1);
        if (rename(a, b) != 0 && errno != ENOENT) {
            rotator_fail(w, "cannot rename", a);
            return;
        }
    }
    snprintf(a, sizeof a, "%s.1", path);
    if (copy_file(path, a)) {
        rotator_fail(w, "cannot copy", path);
        return;
    }
    if (truncate(path, 0) != 0) {
        rotator_fail(w, "cannot truncate", path);
        return;
    }
    atomic_store(&wf->state, FS_TRUNCATED);
    w->copytruncates++;
}

/* 1 when the marker's row is stored, 0 when not yet, BRAID_EIO on failure. */
static int marker_stored(bench_conn *c, const char *tid)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v1/logs?trace_id=%s&limit=10", tid);
    buf resp;
    buf_init(&resp);
    int status = 0;
    int rc = bench_http(c, "GET", path, NULL, NULL, 0, &status, &resp);
    size_t got = rc ? 0 : bench_count(resp.p, resp.n, "\"time_unix_nano\"");
    buf_free(&resp);
    if (rc || (status != 200 && status != 404)) {
        fprintf(stderr, "bench: looking up marker %s failed (status %d)\n", tid, status);
        return BRAID_EIO;
    }
    return got > 0;
}

static void *rotator_main(void *arg)
{
    writer *w = arg;
    bench_conn c;
    if (bench_conn_open(&c, w->api_port)) {
        atomic_store(&w->err, BRAID_EIO);
        atomic_store(&w->stop, true);
        return NULL;
    }
    char path[1024];
    while (!atomic_load(&w->rot_stop)) {
        double now = bench_now_s();
        for (int f = 0; f < w->cfg->files && !atomic_load(&w->rot_stop); f++) {
            wfile *wf = &w->wf[f];
            int st = atomic_load(&wf->state);
            if ((st != FS_RENAME_DUE && st != FS_DRAINING) || now < wf->next_try)
                continue;
            if (wf->due_since == 0)
                wf->due_since = now;
            double waited = now - wf->due_since;
            if (st == FS_RENAME_DUE) {
                file_path(w->dir, f, path, sizeof path);
                if (!daemon_has_open(w->daemon, path)) {
                    wf->deferred = true;
                    wf->next_try = now + 0.05;
                    continue;
                }
                rotate_rename(w, f);
                w->rename_deferred += wf->deferred;
                if (waited > w->rename_wait_max)
                    w->rename_wait_max = waited;
            } else {
                int found = marker_stored(&c, wf->marker);
                if (found < 0 || (!found && waited > MARKER_TIMEOUT_S)) {
                    if (!found)
                        fprintf(stderr, "bench: marker %s not stored after %.0f s\n", wf->marker,
                                waited);
                    atomic_store(&w->err, BRAID_EIO);
                    atomic_store(&w->stop, true);
                    atomic_store(&w->rot_stop, true);
                    break;
                }
                if (!found) {
                    wf->next_try = now + 0.02;
                    continue;
                }
                rotate_copytruncate(w, f);
                w->ct_wait_sum += waited;
                if (waited > w->ct_wait_max)
                    w->ct_wait_max = waited;
            }
            wf->due_since = wf->next_try = 0;
            wf->deferred = false;
        }
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    bench_conn_close(&c);
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
               "                  [--max-size SIZE] [--max-files N]\n"
               "                  [--rotation mixed|rename|copytruncate] [--min-free SIZE]\n"
               "                  [--braid PATH] [--keep]\n");
}

static const char *rotation_name(rotation r)
{
    return r == ROT_RENAME ? "rename" : r == ROT_COPYTRUNCATE ? "copytruncate" : "mixed";
}

/* Raises each figure of p to m's where m's is higher. */
static void mem_max(bench_mem *p, const bench_mem *m)
{
    p->rss_kb = m->rss_kb > p->rss_kb ? m->rss_kb : p->rss_kb;
    p->hwm_kb = m->hwm_kb > p->hwm_kb ? m->hwm_kb : p->hwm_kb;
    p->anon_kb = m->anon_kb > p->anon_kb ? m->anon_kb : p->anon_kb;
    p->file_kb = m->file_kb > p->file_kb ? m->file_kb : p->file_kb;
    p->shmem_kb = m->shmem_kb > p->shmem_kb ? m->shmem_kb : p->shmem_kb;
}

/* Peaks of each memory figure over the samples taken in [from, to) s. */
static bench_mem mem_peak(const sample *s, size_t n, double from, double to)
{
    bench_mem p = {0};
    for (size_t i = 0; i < n; i++)
        if (s[i].t >= from && s[i].t < to)
            mem_max(&p, &s[i].mem);
    return p;
}

static void print_mem(const char *what, const bench_mem *m)
{
    char a[32], b[32], c[32], d[32];
    printf("%-34s %14s   heap (RssAnon) %s, mapped files (RssFile) %s, VmHWM %s\n", what,
           bench_fmt_bytes(m->rss_kb * 1024, a), bench_fmt_bytes(m->anon_kb * 1024, b),
           bench_fmt_bytes(m->file_kb * 1024, c), bench_fmt_bytes(m->hwm_kb * 1024, d));
}

int main(int argc, char **argv)
{
    config cfg = {.lines = 1000000,
                  .files = 8,
                  .seconds = 15,
                  .rate = GOAL_LINES_S,
                  .braid = "build/braid",
                  .max_size = 10u << 20,
                  .max_files = 5,
                  .rot = ROT_MIXED,
                  .min_free = 2ull << 30};
    static const struct option opts[] = {
        {"lines", required_argument, NULL, 'n'},    {"files", required_argument, NULL, 'f'},
        {"seconds", required_argument, NULL, 's'},  {"rate", required_argument, NULL, 'r'},
        {"braid", required_argument, NULL, 'B'},    {"keep", no_argument, NULL, 'k'},
        {"max-size", required_argument, NULL, 'S'}, {"max-files", required_argument, NULL, 'F'},
        {"rotation", required_argument, NULL, 'R'}, {"min-free", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    int o;
    bool bad = false;
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
        case 'S':
            bad |= parse_size(optarg, &cfg.max_size) != 0;
            break;
        case 'F':
            cfg.max_files = atoi(optarg);
            break;
        case 'R':
            if (strcmp(optarg, "mixed") == 0)
                cfg.rot = ROT_MIXED;
            else if (strcmp(optarg, "rename") == 0)
                cfg.rot = ROT_RENAME;
            else if (strcmp(optarg, "copytruncate") == 0)
                cfg.rot = ROT_COPYTRUNCATE;
            else
                bad = true;
            break;
        case 'M':
            bad |= parse_size(optarg, &cfg.min_free) != 0;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    /* the kubelet refuses fewer than 2 files (the live one and one rotated) */
    if (bad || cfg.lines < 1000 || cfg.files < 1 || cfg.files > 256 || cfg.seconds < 0 ||
        cfg.rate < 1000 || cfg.max_size < 4096 || cfg.max_files < 2 || cfg.max_files > 1000 ||
        optind != argc) {
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
    uint64_t free_start = bench_fs_free(root);
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
    char f1[32], f2[32], f3[32], f4[32], f5[32], f6[32], f7[32], f8[32], f9[32];
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
    uint64_t stored = 0;
    bench_mem burst_peak = {0};
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
            bench_mem m;
            if (bench_proc_mem_detail(d.pid, &m) == 0)
                mem_max(&burst_peak, &m);
            fprintf(stderr, "bench: %.1f s: %s lines stored, RSS %s (heap %s, files %s)\n", t - t0,
                    bench_fmt_u64(stored, f1), bench_fmt_bytes(m.rss_kb * 1024, f2),
                    bench_fmt_bytes(m.anon_kb * 1024, f3), bench_fmt_bytes(m.file_kb * 1024, f4));
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
    print_mem("daemon RSS peak (sampled)", &burst_peak);
    printf("%-34s %14d   (exact row counts)\n", "trace lookups checked", nprobes);
    char parts_dir[700], wal_dir[700];
    snprintf(parts_dir, sizeof parts_dir, "%s/parts", data);
    snprintf(wal_dir, sizeof wal_dir, "%s/wal", data);
    printf("%-34s %14s   (parts %s, WAL %s)\n", "data dir after the burst",
           bench_fmt_bytes(bench_du(data, NULL), f1),
           bench_fmt_bytes(bench_du(parts_dir, NULL), f2),
           bench_fmt_bytes(bench_du(wal_dir, NULL), f3));

    /* ---- sustained: append at --rate for --seconds, with rotation ---- */
    bool cut_short = false;
    if (cfg.seconds > 0) {
        /* Rotation bounds the log directory and flushes trim the WAL, but
         * retention drops whole days, so the parts grow with every line of
         * the run: stop before the disk is full rather than measure a
         * daemon that cannot write. */
        uint64_t free_now = bench_fs_free(root);
        double logs_bound = (double)cfg.files * cfg.max_files * (double)cfg.max_size;
        printf("\n%-34s %14s   on the file system of %s; the sustained phase stops below %s\n",
               "free space before sustained", bench_fmt_bytes(free_now, f1), root,
               bench_fmt_bytes(cfg.min_free, f2));

        writer w = {.cfg = &cfg, .dir = dir, .daemon = d.pid, .api_port = d.api_port, .gens = g};
        w.pool = calloc((size_t)cfg.files, sizeof *w.pool);
        w.pool_len = calloc((size_t)cfg.files, sizeof *w.pool_len);
        w.offsets = calloc((size_t)cfg.files, sizeof *w.offsets);
        w.wf = calloc((size_t)cfg.files, sizeof *w.wf);
        if (!w.pool || !w.pool_len || !w.offsets || !w.wf)
            return 1;
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
            wfile *wf = &w.wf[i];
            wf->fd = wf->newfd = -1;
            wf->copytruncate = cfg.rot == ROT_COPYTRUNCATE || (cfg.rot == ROT_MIXED && i % 4 == 3);
            wf->rotated = calloc((size_t)cfg.max_files, sizeof *wf->rotated);
            if (!w.offsets[i] || !w.pool[i] || !wf->rotated)
                return 1;
        }
        int nct = 0;
        for (int i = 0; i < cfg.files; i++)
            nct += w.wf[i].copytruncate;
        uint64_t base = stored;
        pthread_t th, rt;
        double ts0 = bench_now_s();
        pthread_create(&rt, NULL, rotator_main, &w);
        pthread_create(&th, NULL, writer_main, &w);
        double next = ts0;
        uint64_t fs_low = free_now;
        while (bench_now_s() - ts0 < cfg.seconds && !atomic_load(&w.stop)) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
            double t = bench_now_s();
            if (t < next)
                continue;
            next = t + (cfg.seconds >= 60 ? 5.0 : 1.0);
            sample sm = {.t = t - ts0};
            bench_proc_mem_detail(d.pid, &sm.mem);
            counters k;
            if ((rc = read_counters(&c, &k)))
                break;
            stored = k.stored;
            sm.stored = stored - base;
            sm.written = atomic_load(&w.written);
            sm.store_mem = k.store_mem;
            sm.parts_bytes = bench_du(parts_dir, NULL);
            sm.wal_bytes = bench_du(wal_dir, NULL);
            sm.log_bytes = bench_du(dir, NULL);
            sm.fs_free = bench_fs_free(root);
            if (sm.fs_free < fs_low)
                fs_low = sm.fs_free;
            if (nsamples == capsamples) {
                capsamples = capsamples ? capsamples * 2 : 64;
                samples = realloc(samples, capsamples * sizeof *samples);
                if (!samples)
                    return 1;
            }
            samples[nsamples++] = sm;
            fprintf(stderr,
                    "bench: sustained %.0f s: %s written, %s stored, RSS %s (heap %s, files %s), "
                    "parts %s, WAL %s, logs %s, %s free\n",
                    sm.t, bench_fmt_u64(sm.written, f1), bench_fmt_u64(sm.stored, f2),
                    bench_fmt_bytes(sm.mem.rss_kb * 1024, f3),
                    bench_fmt_bytes(sm.mem.anon_kb * 1024, f4),
                    bench_fmt_bytes(sm.mem.file_kb * 1024, f5), bench_fmt_bytes(sm.parts_bytes, f6),
                    bench_fmt_bytes(sm.wal_bytes, f7), bench_fmt_bytes(sm.log_bytes, f8),
                    bench_fmt_bytes(sm.fs_free, f9));
            if (sm.fs_free && sm.fs_free < cfg.min_free) {
                fprintf(stderr,
                        "bench: only %s free on the file system of %s (--min-free %s); stopping "
                        "the sustained phase early: this run is not a valid measurement\n",
                        bench_fmt_bytes(sm.fs_free, f1), root, bench_fmt_bytes(cfg.min_free, f2));
                cut_short = true;
                break;
            }
        }
        atomic_store(&w.stop, true);
        pthread_join(th, NULL);
        atomic_store(&w.rot_stop, true);
        pthread_join(rt, NULL);
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
        if (atomic_load(&w.err))
            rc = atomic_load(&w.err);
        counters k = {0};
        if (!rc)
            rc = read_counters(&c, &k);
        if (rc) {
            bench_daemon_log_tail(&d, 40);
            bench_daemon_stop(&d, 60);
            return 1;
        }
        printf("\n%-34s %14s\n", "sustained (appending while tailing)", "");
        if (cut_short)
            printf("%-34s %14s   stopped after %.0f of %.0f s: under %s free; not a valid run\n",
                   "CUT SHORT", "", wrote_s, cfg.seconds, bench_fmt_bytes(cfg.min_free, f1));
        printf("%-34s %14.0f   (target rate)\n", "lines/s offered", cfg.rate);
        printf("%-34s %14s   in %.1f s; stored %s (== written, checked through /metrics)\n",
               "lines written", bench_fmt_u64(written, f1), wrote_s,
               bench_fmt_u64(stored - base, f2));
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
        printf("%-34s %14s   %s: %d of %d files copytruncate, the rest rename; above %s, at "
               "most %d files per container\n",
               "rotation", "", rotation_name(cfg.rot), nct, cfg.files,
               bench_fmt_bytes(cfg.max_size, f1), cfg.max_files);
        printf("%-34s %14llu   (to <name>.<time>); %llu waited for braid to open the file "
               "first (longest %.2f s)\n",
               "  renames", (unsigned long long)w.renames, (unsigned long long)w.rename_deferred,
               w.rename_wait_max);
        printf("%-34s %14llu   (copy to <name>.1, truncate); waited for braid to read to the "
               "end: mean %.3f s, longest %.3f s\n",
               "  copytruncates", (unsigned long long)w.copytruncates,
               w.copytruncates ? w.ct_wait_sum / (double)w.copytruncates : 0, w.ct_wait_max);
        printf("%-34s %14llu   (over --max-files)\n", "  old files deleted",
               (unsigned long long)w.deleted);
        printf("%-34s %14s   %llu rotated files let go, %llu truncations seen "
               "(braid_tail_*_total)\n",
               "  braid's view", "", (unsigned long long)k.rotations,
               (unsigned long long)k.truncations);
        /* Heap is what the daemon allocated; mapped part files are page
         * cache the kernel drops under pressure, so flatness is judged on
         * the heap. */
        bench_mem h1 = mem_peak(samples, nsamples, 0, wrote_s / 2);
        bench_mem h2 = mem_peak(samples, nsamples, wrote_s / 2, 1e300);
        bench_mem all = mem_peak(samples, nsamples, 0, 1e300);
        double growth = h1.anon_kb ? (double)h2.anon_kb / (double)h1.anon_kb : 0;
        print_mem("daemon RSS peak (sampled)", &all);
        printf("%-34s %14s   first half %s, second half %s: x%.2f; goal <= x%.2f: %s\n",
               "daemon heap (RssAnon) peak", bench_fmt_bytes(all.anon_kb * 1024, f1),
               bench_fmt_bytes(h1.anon_kb * 1024, f2), bench_fmt_bytes(h2.anon_kb * 1024, f3),
               growth, GOAL_RSS_GROWTH, growth <= GOAL_RSS_GROWTH ? "met (flat)" : "MISSED");
        printf("%-34s %14s   first half %s, second half %s (page cache of mmapped parts)\n",
               "daemon mapped files (RssFile)", bench_fmt_bytes(all.file_kb * 1024, f1),
               bench_fmt_bytes(h1.file_kb * 1024, f2), bench_fmt_bytes(h2.file_kb * 1024, f3));
        printf("\n%8s %12s %12s %10s %10s %10s %10s %10s %10s %10s\n", "seconds", "written",
               "stored", "RSS", "heap", "files", "store mem", "parts", "WAL", "log dir");
        size_t step = nsamples > 12 ? nsamples / 12 : 1;
        for (size_t i = 0; i < nsamples; i += step) {
            const sample *x = &samples[i];
            printf("%8.0f %12s %12s %10s %10s %10s %10s %10s %10s %10s\n", x->t,
                   bench_fmt_u64(x->written, f1), bench_fmt_u64(x->stored, f2),
                   bench_fmt_bytes(x->mem.rss_kb * 1024, f3),
                   bench_fmt_bytes(x->mem.anon_kb * 1024, f4),
                   bench_fmt_bytes(x->mem.file_kb * 1024, f5), bench_fmt_bytes(x->store_mem, f6),
                   bench_fmt_bytes(x->parts_bytes, f7), bench_fmt_bytes(x->wal_bytes, f8),
                   bench_fmt_bytes(x->log_bytes, f9));
        }
        uint64_t peak_logs = 0, peak_wal = 0;
        for (size_t i = 0; i < nsamples; i++) {
            peak_logs = samples[i].log_bytes > peak_logs ? samples[i].log_bytes : peak_logs;
            peak_wal = samples[i].wal_bytes > peak_wal ? samples[i].wal_bytes : peak_wal;
        }
        uint64_t end_logs = bench_du(dir, NULL), end_parts = bench_du(parts_dir, NULL);
        uint64_t end_wal = bench_du(wal_dir, NULL), end_data = bench_du(data, NULL);
        /* a file can pass max_size by what is written while braid has not
         * yet opened its successor or read it to the end */
        printf("\n%-34s %14s   peak %s; bound ~%s (%d containers x %d files x %s) plus what a "
               "file gains while a rotation waits\n",
               "log dir at the end", bench_fmt_bytes(end_logs, f1), bench_fmt_bytes(peak_logs, f2),
               bench_fmt_bytes((uint64_t)logs_bound, f3), cfg.files, cfg.max_files,
               bench_fmt_bytes(cfg.max_size, f4));
        double parts_line = stored ? (double)end_parts / (double)stored : 0;
        printf("%-34s %14s   parts %s (%.0f bytes per line stored: %s per minute at the offered "
               "rate; retention drops whole days, so nothing trims them within a run), WAL %s "
               "(peak %s, trimmed after flushes)\n",
               "data dir at the end", bench_fmt_bytes(end_data, f1), bench_fmt_bytes(end_parts, f2),
               parts_line, bench_fmt_bytes((uint64_t)(parts_line * cfg.rate * 60), f3),
               bench_fmt_bytes(end_wal, f4), bench_fmt_bytes(peak_wal, f5));
        printf("%-34s %14s   at start %s, lowest sampled %s\n", "free space on its file system",
               bench_fmt_bytes(bench_fs_free(root), f1), bench_fmt_bytes(free_start, f2),
               bench_fmt_bytes(fs_low, f3));
        for (int i = 0; i < cfg.files; i++) {
            if (w.wf[i].newfd >= 0)
                close(w.wf[i].newfd);
            free(w.wf[i].rotated);
            free(w.pool[i]);
            free(w.offsets[i]);
        }
        free(w.wf);
        free(w.pool);
        free(w.pool_len);
        free(w.offsets);
    }
    bench_conn_close(&c);
    if (bench_daemon_stop(&d, 120))
        return 1;
    printf("\n%-34s %14.2f s   (SIGTERM to exit, final flush)\n", "shutdown", d.stop_s);
    printf("%-34s %14s   (ru_maxrss: heap and mapped files together)\n",
           "daemon peak RSS (whole life)", bench_fmt_bytes(d.maxrss_kb * 1024, f1));
    uint64_t nfiles, data_end = bench_du(data, &nfiles);
    printf("%-34s %14s   (%llu files)\n", "data dir after shutdown", bench_fmt_bytes(data_end, f1),
           (unsigned long long)nfiles);
    printf("\ncommand: bench_tail --lines %llu --files %d --seconds %.0f --rate %.0f --max-size "
           "%llu --max-files %d --rotation %s\n",
           (unsigned long long)cfg.lines, cfg.files, cfg.seconds, cfg.rate,
           (unsigned long long)cfg.max_size, cfg.max_files, rotation_name(cfg.rot));
    free(samples);
    free(g);
    buf_free(&out);
    if (!cfg.keep)
        bench_rm_rf(root);
    else
        printf("kept: %s\n", root);
    return cut_short ? 1 : 0;
}

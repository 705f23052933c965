/* benchlib: the helpers declared in benchlib.h. The Makefile builds each
 * bench/bench_X.c on its own (build/bench_X links every src object but knows
 * no other bench file), so each benchmark includes this file directly; it is
 * never compiled alone. Owns nothing global; every failure is reported on
 * stderr with its reason and returned as a BRAID_E* code. */
#include "benchlib.h"

#include "pb/pb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- random numbers ---- */

uint64_t bench_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

uint32_t bench_pick(bench_rng *r, const uint32_t *weights, uint32_t n)
{
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += weights[i];
    uint32_t x = bench_below(r, total);
    for (uint32_t i = 0; i < n; i++) {
        if (x < weights[i])
            return i;
        x -= weights[i];
    }
    return n - 1;
}

uint32_t bench_latency_ms(bench_rng *r, uint32_t median)
{
    /* Log-normal with sigma 0.8: p99 is about 6.4x the median, like real
     * request latencies. Box-Muller from two uniforms. */
    double u1 = bench_unit(r) + 1e-12, u2 = bench_unit(r);
    double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    double v = (double)median * exp(0.8 * z);
    return v < 1 ? 1 : v > 600000 ? 600000 : (uint32_t)v;
}

/* ---- vocabulary ---- */

const bench_service bench_services[BENCH_NSERVICES] = {
    {"frontend",
     "2.14.1",
     "nodejs",
     "@opentelemetry/instrumentation-http",
     "web.server",
     "redis",
     1000000,
     {"/", "/api/products", "/api/products/{id}", "/api/cart", "/api/checkout"},
     {"renderHome", "listProducts", "getProduct", "viewCart", "submitCheckout"}},
    {"checkout",
     "1.8.0",
     "java",
     "io.opentelemetry.spring-webmvc-6.0",
     "com.shop.checkout.CheckoutController",
     "postgresql",
     1000000,
     {"/checkout", "/checkout/{orderId}", "/checkout/{orderId}/confirm", "/orders",
      "/orders/{orderId}"},
     {"placeOrder", "getCheckout", "confirmOrder", "listOrders", "getOrder"}},
    {"payment",
     "3.2.7",
     "go",
     "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
     "payment/charge",
     "postgresql",
     1,
     {"/v1/charges", "/v1/charges/{id}", "/v1/refunds", "/v1/authorize", "/v1/capture"},
     {"CreateCharge", "GetCharge", "CreateRefund", "Authorize", "Capture"}},
    {"cart",
     "0.9.12",
     "dotnet",
     "OpenTelemetry.Instrumentation.AspNetCore",
     "Cart.Api.CartController",
     "redis",
     100,
     {"/cart/{userId}", "/cart/{userId}/items", "/cart/{userId}/items/{sku}",
      "/cart/{userId}/empty", "/cart/health"},
     {"GetCart", "AddItem", "UpdateItem", "EmptyCart", "Health"}},
    {"inventory",
     "5.0.3",
     "python",
     "opentelemetry.instrumentation.flask",
     "inventory.api",
     "mysql",
     1000,
     {"/stock/{sku}", "/stock/reserve", "/stock/release", "/warehouses", "/warehouses/{id}/stock"},
     {"get_stock", "reserve_stock", "release_stock", "list_warehouses", "warehouse_stock"}},
    {"shipping",
     "1.1.4",
     "rust",
     "opentelemetry-http",
     "shipping::quote",
     "postgresql",
     1,
     {"/quote", "/shipments", "/shipments/{id}", "/shipments/{id}/track", "/carriers"},
     {"quote", "create_shipment", "get_shipment", "track_shipment", "list_carriers"}},
};

bench_severity bench_pick_severity(bench_rng *r)
{
    static const bench_severity sev[] = {{5, "DEBUG"}, {9, "INFO"}, {13, "WARN"}, {17, "ERROR"}};
    static const uint32_t w[] = {15, 70, 10, 5};
    return sev[bench_pick(r, w, 4)];
}

void bench_pod_name(int svc, int pod, char *out, size_t n)
{
    uint64_t h = bench_mix64((uint64_t)svc * 131 + (uint64_t)pod + 7);
    static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
    char sfx[6];
    for (int i = 0; i < 5; i++, h /= 27)
        sfx[i] = alnum[h % 27];
    sfx[5] = 0;
    snprintf(out, n, "%s-7d9f8b6c4-%s", bench_services[svc].name, sfx);
}

void bench_node_name(int svc, int pod, char *out, size_t n)
{
    snprintf(out, n, "ip-10-0-%d-%d.eu-west-1.compute.internal", 16 + (svc * 3 + pod) % 5,
             40 + (svc * 7 + pod * 3) % 90);
}

void bench_container_id(int svc, int pod, char out[65])
{
    uint64_t h = (uint64_t)svc << 8 | (uint64_t)pod;
    for (int i = 0; i < 4; i++) {
        h = bench_mix64(h + 0x51ed27);
        snprintf(out + i * 16, 17, "%016llx", (unsigned long long)h);
    }
}

void bench_uuid(bench_rng *r, char out[37])
{
    uint64_t a = bench_rand(r), b = bench_rand(r);
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             (unsigned)((b >> 48) & 0x3fff) | 0x8000, (unsigned long long)(b & 0xffffffffffffull));
}

/* Copies a route template, replacing each {param} with a plausible value. */
static void fill_route(bench_rng *r, const char *tpl, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = tpl; *p && o + 24 < n; p++) {
        if (*p != '{') {
            out[o++] = *p;
            continue;
        }
        const char *end = strchr(p, '}');
        if (!end)
            break;
        o += (size_t)snprintf(out + o, n - o, "%u", 10000 + bench_below(r, 990000));
        p = end;
    }
    out[o] = 0;
}

const char *const bench_methods[4] = {"GET", "POST", "PUT", "DELETE"};
const char *const bench_tiers[3] = {"free", "pro", "enterprise"};
const char *const bench_regions[3] = {"us-east", "eu-west", "ap-south"};

void bench_request_new(bench_rng *r, bench_request *q)
{
    static const uint32_t method_w[] = {70, 20, 7, 3};
    static const uint32_t tier_w[] = {60, 30, 10};
    bench_uuid(r, q->request_id);
    snprintf(q->session_id, sizeof q->session_id, "%016llx", (unsigned long long)bench_rand(r));
    snprintf(q->client, sizeof q->client, "10.%u.%u.%u", 20 + bench_below(r, 4), bench_below(r, 32),
             bench_below(r, 250));
    q->user = bench_below(r, 200000);
    q->method = (uint8_t)bench_pick(r, method_w, 4);
    q->tier = (uint8_t)bench_pick(r, tier_w, 3);
    q->region = (uint8_t)bench_below(r, 3);
}

size_t bench_log_line(bench_rng *r, int svc, int route, int32_t severity, const bench_request *q,
                      char *out, size_t n)
{
    const bench_service *s = &bench_services[svc];
    const bench_service *peer = &bench_services[(svc + 1 + (int)bench_below(r, 5)) % 6];
    char path[96];
    fill_route(r, s->routes[route], path, sizeof path);
    unsigned user = q->user;
    const char *tier = bench_tiers[q->tier], *region = bench_regions[q->region];
    int w;
    if (severity >= 17) {
        static const char *const codes[] = {"card_declined", "processing_error", "expired_card",
                                            "rate_limited", "gateway_timeout"};
        if (bench_below(r, 2))
            w = snprintf(out, n,
                         "payment authorization failed for order ord_%08x: provider=%s "
                         "code=%s amount=%u.%02u USD attempt=%u/3 latency_ms=%u "
                         "idempotency_key=ik_%016llx user=u_%06u",
                         (unsigned)bench_rand(r), bench_below(r, 3) ? "stripe" : "adyen",
                         codes[bench_below(r, 5)], 5 + bench_below(r, 400), bench_below(r, 100),
                         1 + bench_below(r, 3), bench_latency_ms(r, 600),
                         (unsigned long long)bench_rand(r), user);
        else
            w = snprintf(out, n,
                         "unhandled exception in %s: java.net.SocketTimeoutException: Read "
                         "timed out after %u ms calling %s (route=%s, user=u_%06u, "
                         "attempt=%u, pool=%s-primary)",
                         s->functions[route], 1000 * (1 + bench_below(r, 10)), peer->name, path,
                         user, 1 + bench_below(r, 3), s->db_system);
    } else if (severity >= 13) {
        if (bench_below(r, 2))
            w = snprintf(out, n,
                         "slow upstream response from %s: %ums exceeds budget %ums for route %s "
                         "(retries=%u, circuit=%s, queue_depth=%u, tier=%s)",
                         peer->name, 800 + bench_latency_ms(r, 400), 800, path, bench_below(r, 3),
                         bench_below(r, 8) ? "closed" : "half-open", bench_below(r, 40), tier);
        else
            w = snprintf(out, n,
                         "rate limit nearly exhausted for client %s: %u/1200 requests "
                         "in 60s window, tier=%s, region=%s, throttling starts at 100%%, "
                         "route=%s",
                         q->client, 1000 + bench_below(r, 200), tier, region, path);
    } else if (severity >= 9) {
        unsigned kind = bench_below(r, 4);
        if (kind < 2)
            w = snprintf(out, n,
                         "%s %s completed status=%d duration_ms=%u bytes=%u user=u_%06u "
                         "tier=%s region=%s cache=%s upstream=%s.shop.svc.cluster.local:%d",
                         bench_methods[q->method], path, bench_below(r, 20) ? 200 : 404,
                         bench_latency_ms(r, 30), 200 + bench_below(r, 40000), user, tier, region,
                         bench_below(r, 3) ? "hit" : "miss", peer->name, 8080);
        else if (kind == 2)
            w = snprintf(out, n,
                         "order ord_%08x accepted: %u items, subtotal=%u.%02u EUR, shipping=%s, "
                         "promo=%s, customer u_%06u, reservation res_%06x held for 900s",
                         (unsigned)bench_rand(r), 1 + bench_below(r, 9), 5 + bench_below(r, 900),
                         bench_below(r, 100), bench_below(r, 2) ? "standard" : "express",
                         bench_below(r, 5) ? "none" : "SPRING25", user,
                         (unsigned)bench_rand(r) & 0xffffff);
        else
            w = snprintf(out, n,
                         "connection pool stats pool=%s-primary active=%u idle=%u waiting=%u "
                         "max=50 acquire_p99_ms=%u.%u evictions=%u host=%s-db-%u.internal",
                         s->db_system, bench_below(r, 50), bench_below(r, 20), bench_below(r, 5),
                         bench_below(r, 30), bench_below(r, 10), bench_below(r, 3), s->name,
                         bench_below(r, 3));
    } else {
        if (bench_below(r, 2))
            w = snprintf(out, n,
                         "cache lookup key=%s:u_%06u:v3 result=%s ttl_s=%u backend=redis-%s-%u "
                         "latency_us=%u serialized_bytes=%u compression=zstd shard=%u/16",
                         s->name, user, bench_below(r, 3) ? "hit" : "miss", 60 * bench_below(r, 30),
                         s->name, bench_below(r, 3), 100 + bench_below(r, 2000),
                         100 + bench_below(r, 9000), bench_below(r, 16));
        else
            w = snprintf(out, n,
                         "query ok in %u.%03u ms rows=%u: SELECT id, sku, qty, price_cents FROM "
                         "%s_items WHERE owner_id = $1 AND status = $2 ORDER BY id LIMIT 100",
                         bench_below(r, 40), bench_below(r, 1000), bench_below(r, 100), s->name);
    }
    if (w < 0)
        w = 0;
    return (size_t)w < n ? (size_t)w : n - 1;
}

/* ---- machine, time, formatting ---- */

void bench_print_machine(FILE *f)
{
    char cpu[256] = "unknown CPU", line[512];
    FILE *ci = fopen("/proc/cpuinfo", "r");
    while (ci && fgets(line, sizeof line, ci)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 1 + strspn(v + 1, " \t");
                v[strcspn(v, "\n")] = 0;
                snprintf(cpu, sizeof cpu, "%s", v);
            }
            break;
        }
    }
    if (ci)
        fclose(ci);
    unsigned long long mem_kb = 0;
    FILE *mi = fopen("/proc/meminfo", "r");
    while (mi && fgets(line, sizeof line, mi))
        if (sscanf(line, "MemTotal: %llu kB", &mem_kb) == 1)
            break;
    if (mi)
        fclose(mi);
    char ram[32];
    fprintf(f, "machine: %s, %ld cores, %s RAM\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
            bench_fmt_bytes(mem_kb * 1024, ram));
}

double bench_now_s(void)
{
    return (double)now_mono_ns() / 1e9;
}

const char *bench_fmt_u64(uint64_t v, char *out)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    int o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = 0;
    return out;
}

const char *bench_fmt_bytes(uint64_t v, char *out)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)v;
    int u = 0;
    while (d >= 1024 && u < 4) {
        d /= 1024;
        u++;
    }
    snprintf(out, 32, u ? "%.1f %s" : "%.0f %s", d, units[u]);
    return out;
}

const char *bench_fmt_ns(uint64_t ns, char *out)
{
    if (ns < 10000000)
        snprintf(out, 32, "%.3f ms", (double)ns / 1e6);
    else if (ns < 1000000000)
        snprintf(out, 32, "%.1f ms", (double)ns / 1e6);
    else
        snprintf(out, 32, "%.2f s", (double)ns / 1e9);
    return out;
}

/* ---- samples ---- */

void bench_samples_init(bench_samples *s)
{
    memset(s, 0, sizeof *s);
}

void bench_samples_free(bench_samples *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

int bench_samples_add(bench_samples *s, uint64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        uint64_t *p = realloc(s->v, cap * sizeof *p);
        if (!p)
            return BRAID_ENOMEM;
        s->v = p;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    s->sorted = false;
    return 0;
}

int bench_samples_merge(bench_samples *dst, bench_samples *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (bench_samples_add(dst, src->v[i]))
            return BRAID_ENOMEM;
    src->n = 0;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t bench_samples_pct(bench_samples *s, double p)
{
    if (s->n == 0)
        return 0;
    if (!s->sorted) {
        qsort(s->v, s->n, sizeof *s->v, cmp_u64);
        s->sorted = true;
    }
    size_t rank = (size_t)ceil(p / 100.0 * (double)s->n);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->v[rank - 1];
}

/* ---- files ---- */

int bench_mkdtemp(const char *prefix, char *out, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if ((size_t)snprintf(out, cap, "%s/%sXXXXXX", tmp, prefix) >= cap || !mkdtemp(out)) {
        fprintf(stderr, "bench: cannot create a directory under %s: %s\n", tmp, strerror(errno));
        return BRAID_EIO;
    }
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((type == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT) {
        fprintf(stderr, "bench: cannot remove %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int bench_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : BRAID_EIO;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : BRAID_EIO;
}

/* nftw has no user pointer; the walk is single-threaded, so statics suffice. */
static uint64_t du_bytes, du_files;

static int du_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F && S_ISREG(st->st_mode)) {
        du_bytes += (uint64_t)st->st_size;
        du_files++;
    }
    return 0;
}

uint64_t bench_du(const char *path, uint64_t *files)
{
    du_bytes = du_files = 0;
    struct stat st;
    if (lstat(path, &st) == 0)
        nftw(path, du_one, 16, FTW_PHYS);
    if (files)
        *files = du_files;
    return du_bytes;
}

uint64_t bench_fs_free(const char *path)
{
    struct statvfs sv;
    if (statvfs(path, &sv) != 0)
        return 0;
    return (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
}

/* ---- the daemon ---- */

/* Copies whatever the daemon prints on stdout after "ready" to our stderr,
 * so its pipe never fills and blocks it. Ends at EOF (the child exited). */
static void *drain_main(void *arg)
{
    bench_daemon *d = arg;
    char b[4096];
    for (;;) {
        ssize_t n = read(d->out_fd, b, sizeof b);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        fprintf(stderr, "braid stdout: %.*s", (int)n, b);
    }
    return NULL;
}

void bench_daemon_log_tail(const bench_daemon *d, int lines)
{
    uint8_t *p = NULL;
    FILE *f = fopen(d->log_path, "r");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > 8192 ? size - 8192 : 0;
    fseek(f, from, SEEK_SET);
    p = malloc((size_t)(size - from) + 1);
    size_t n = p ? fread(p, 1, (size_t)(size - from), f) : 0;
    fclose(f);
    if (!p)
        return;
    size_t start = n;
    int seen = 0;
    while (start > 0 && seen <= lines)
        if (p[--start] == '\n')
            seen++;
    fprintf(stderr, "---- last lines of %s ----\n%.*s\n----\n", d->log_path, (int)(n - start),
            (const char *)p + start);
    free(p);
}

/* Waits for the child (SIGKILL after timeout_s) and records its resource
 * usage. Returns 0 with *status filled, or BRAID_EIO if it could not be
 * waited for. */
static int reap(bench_daemon *d, double timeout_s, int *status)
{
    double until = bench_now_s() + timeout_s;
    struct rusage ru;
    pid_t r;
    while ((r = wait4(d->pid, status, WNOHANG, &ru)) == 0 || (r < 0 && errno == EINTR)) {
        if (bench_now_s() > until) {
            fprintf(stderr, "bench: braid (pid %d) did not exit within %.0f s; killing it\n",
                    (int)d->pid, timeout_s);
            kill(d->pid, SIGKILL);
            while ((r = wait4(d->pid, status, 0, &ru)) < 0 && errno == EINTR) {
            }
            break;
        }
        usleep(5000);
    }
    if (r != d->pid)
        return BRAID_EIO;
    d->maxrss_kb = (uint64_t)ru.ru_maxrss;
    d->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return 0;
}

/* Handles one stdout line during start-up. Returns 1 on "braid: ready". */
static int start_line(bench_daemon *d, const char *line)
{
    char name[32];
    char addr[128];
    if (sscanf(line, "braid: listening %31s %127s", name, addr) == 2) {
        const char *colon = strrchr(addr, ':');
        int port = colon ? atoi(colon + 1) : 0;
        if (strcmp(name, "api") == 0)
            d->api_port = port;
        else if (strcmp(name, "otlp-http") == 0)
            d->otlp_port = port;
        else if (strcmp(name, "otlp-grpc") == 0)
            d->grpc_port = port;
        return 0;
    }
    if (strcmp(line, "braid: ready") == 0)
        return 1;
    fprintf(stderr, "braid stdout: %s\n", line);
    return 0;
}

int bench_daemon_start(bench_daemon *d, const char *braid, const char *data,
                       const char *const *extra, const char *log_path, double timeout_s)
{
    memset(d, 0, sizeof *d);
    d->out_fd = -1;
    snprintf(d->log_path, sizeof d->log_path, "%s", log_path);
    const char *argv[64];
    int argc = 0;
    const char *fixed[] = {braid,         "serve",       "--data",      data,
                           "--api",       "127.0.0.1:0", "--otlp-http", "127.0.0.1:0",
                           "--otlp-grpc", "127.0.0.1:0"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        argv[argc++] = fixed[i];
    for (int i = 0; extra && extra[i] && argc < 63; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        fprintf(stderr, "bench: pipe: %s\n", strerror(errno));
        return BRAID_EIO;
    }
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        fprintf(stderr, "bench: cannot open %s: %s\n", log_path, strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return BRAID_EIO;
    }
    pid_t parent = getpid();
    double t0 = bench_now_s();
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls from here to exec. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        /* The benchmark ignores SIGPIPE; the daemon must start as it would
         * from a shell. */
        signal(SIGPIPE, SIG_DFL);
        dup2(pfd[1], 1);
        dup2(logfd, 2);
        execv(braid, (char *const *)argv);
        static const char msg[] = "bench: exec of the braid binary failed\n";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        (void)ignored;
        _exit(127);
    }
    close(pfd[1]);
    close(logfd);
    if (pid < 0) {
        fprintf(stderr, "bench: fork: %s\n", strerror(errno));
        close(pfd[0]);
        return BRAID_EIO;
    }
    d->pid = pid;
    d->out_fd = pfd[0];

    char line[512];
    size_t ln = 0;
    int ready = 0;
    const char *why = NULL;
    while (!ready && !why) {
        double left = t0 + timeout_s - bench_now_s();
        if (left <= 0) {
            why = "timed out waiting for \"braid: ready\"";
            break;
        }
        struct pollfd p = {.fd = d->out_fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        char c;
        ssize_t n = read(d->out_fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            why = "exited (stdout closed) before \"braid: ready\"";
            break;
        }
        if (c != '\n') {
            if (ln + 1 < sizeof line)
                line[ln++] = c;
            continue;
        }
        line[ln] = 0;
        ln = 0;
        ready = start_line(d, line);
    }
    d->ready_s = bench_now_s() - t0;
    if (ready && d->api_port == 0)
        why = "did not announce an api listener";
    if (why) {
        fprintf(stderr, "bench: braid %s after %.1f s (%s serve --data %s)\n", why, d->ready_s,
                braid, data);
        kill(d->pid, SIGKILL);
        int st;
        if (reap(d, 10, &st) == 0 && WIFEXITED(st))
            fprintf(stderr, "bench: braid exit status %d\n", WEXITSTATUS(st));
        bench_daemon_log_tail(d, 20);
        close(d->out_fd);
        d->out_fd = -1;
        return BRAID_EIO;
    }
    if (pthread_create(&d->drain_thread, NULL, drain_main, d) == 0)
        d->drain_started = true;
    return 0;
}

int bench_daemon_stop(bench_daemon *d, double timeout_s)
{
    double t0 = bench_now_s();
    int status = 0;
    kill(d->pid, SIGTERM);
    int rc = reap(d, timeout_s, &status);
    d->stop_s = bench_now_s() - t0;
    if (d->drain_started)
        pthread_join(d->drain_thread, NULL);
    d->drain_started = false;
    if (d->out_fd >= 0)
        close(d->out_fd);
    d->out_fd = -1;
    if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (rc != 0)
            fprintf(stderr, "bench: could not wait for braid (pid %d)\n", (int)d->pid);
        else if (WIFSIGNALED(status))
            fprintf(stderr, "bench: braid was killed by signal %d during shutdown\n",
                    WTERMSIG(status));
        else
            fprintf(stderr, "bench: braid exited with status %d after SIGTERM\n",
                    WEXITSTATUS(status));
        bench_daemon_log_tail(d, 20);
        return BRAID_EIO;
    }
    return 0;
}

int bench_proc_mem_detail(pid_t pid, bench_mem *m)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "r");
    if (!f)
        return BRAID_EIO;
    unsigned long long v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %llu kB", &v) == 1)
            m->rss_kb = v;
        else if (sscanf(line, "VmHWM: %llu kB", &v) == 1)
            m->hwm_kb = v;
        else if (sscanf(line, "RssAnon: %llu kB", &v) == 1)
            m->anon_kb = v;
        else if (sscanf(line, "RssFile: %llu kB", &v) == 1)
            m->file_kb = v;
        else if (sscanf(line, "RssShmem: %llu kB", &v) == 1)
            m->shmem_kb = v;
    }
    fclose(f);
    return 0;
}

int bench_proc_mem(pid_t pid, uint64_t *rss_kb, uint64_t *hwm_kb)
{
    bench_mem m;
    int rc = bench_proc_mem_detail(pid, &m);
    *rss_kb = m.rss_kb;
    *hwm_kb = m.hwm_kb;
    return rc;
}

int bench_proc_cpu(pid_t pid, double *seconds)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return BRAID_EIO;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    /* Fields after the command name, which may itself hold spaces and ')'. */
    const char *p = strrchr(line, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return BRAID_EIO;
    *seconds = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    return 0;
}

/* ---- HTTP client ---- */

int bench_conn_open(bench_conn *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->port = port;
    buf_init(&c->in);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "bench: socket: %s\n", strerror(errno));
        return BRAID_EIO;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "bench: connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
        close(fd);
        return BRAID_EIO;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    return 0;
}

void bench_conn_close(bench_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    buf_free(&c->in);
}

/* Reads more bytes into c->in. 0, or BRAID_EIO at EOF or error (eof_ok makes
 * EOF return BRAID_ECLOSED silently, for close-delimited bodies). */
static int conn_fill(bench_conn *c, bool eof_ok)
{
    if (buf_reserve(&c->in, 65536))
        return BRAID_ENOMEM;
    for (;;) {
        ssize_t n = recv(c->fd, c->in.p + c->in.n, c->in.cap - c->in.n, 0);
        if (n > 0) {
            c->in.n += (size_t)n;
            return 0;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 && eof_ok)
            return BRAID_ECLOSED;
        fprintf(stderr, "bench: reading from 127.0.0.1:%d: %s\n", c->port,
                n == 0 ? "connection closed by the server" : strerror(errno));
        return BRAID_EIO;
    }
}

static int send_all(bench_conn *c, struct iovec *iov, int iovcnt)
{
    while (iovcnt > 0) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "bench: writing to 127.0.0.1:%d: %s\n", c->port, strerror(errno));
            return BRAID_EIO;
        }
        size_t done = (size_t)n;
        while (iovcnt > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

static void *find_crlfcrlf(const uint8_t *p, size_t n)
{
    return n ? memmem(p, n, "\r\n\r\n", 4) : NULL;
}

/* Reads a chunked body starting at c->in.p[*off] into resp. */
static int read_chunked(bench_conn *c, size_t *off, buf *resp)
{
    for (;;) {
        uint8_t *eol;
        while (!(eol = memmem(c->in.p + *off, c->in.n - *off, "\r\n", 2)))
            if (conn_fill(c, false))
                return BRAID_EIO;
        unsigned long long size = strtoull((const char *)c->in.p + *off, NULL, 16);
        *off = (size_t)(eol - c->in.p) + 2;
        if (size == 0) {
            /* Trailer fields, then the empty line. */
            for (;;) {
                while (!(eol = memmem(c->in.p + *off, c->in.n - *off, "\r\n", 2)))
                    if (conn_fill(c, false))
                        return BRAID_EIO;
                bool empty = eol == c->in.p + *off;
                *off = (size_t)(eol - c->in.p) + 2;
                if (empty)
                    return 0;
            }
        }
        while (c->in.n - *off < size + 2)
            if (conn_fill(c, false))
                return BRAID_EIO;
        if (resp)
            buf_append(resp, c->in.p + *off, (size_t)size);
        *off += (size_t)size + 2;
    }
}

int bench_http(bench_conn *c, const char *method, const char *path, const char *ctype,
               const void *body, size_t n, int *status, buf *resp)
{
    if (c->fd < 0) {
        bench_conn tmp;
        uint64_t rc = c->reconnects + 1;
        int port = c->port;
        bench_conn_close(c);
        if (bench_conn_open(&tmp, port))
            return BRAID_EIO;
        *c = tmp;
        c->reconnects = rc;
    }
    if (resp)
        buf_reset(resp);
    c->retry_after_s = 0;
    char head[512];
    int hn = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", method, path,
                      c->port);
    if (ctype)
        hn += snprintf(head + hn, sizeof head - (size_t)hn, "Content-Type: %s\r\n", ctype);
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
        hn += snprintf(head + hn, sizeof head - (size_t)hn, "Content-Length: %zu\r\n", n);
    hn += snprintf(head + hn, sizeof head - (size_t)hn, "\r\n");
    if ((size_t)hn >= sizeof head) {
        fprintf(stderr, "bench: request path too long\n");
        return BRAID_EINVAL;
    }
    struct iovec iov[2] = {{head, (size_t)hn}, {(void *)body, n}};
    if (send_all(c, iov, n ? 2 : 1))
        goto broken;

    uint8_t *hend;
    while (!(hend = find_crlfcrlf(c->in.p, c->in.n)))
        if (conn_fill(c, false))
            goto broken;
    size_t head_len = (size_t)(hend - c->in.p) + 4;
    int code = 0;
    if (c->in.n < 12 || memcmp(c->in.p, "HTTP/1.", 7) != 0 ||
        sscanf((const char *)c->in.p + 8, " %3d", &code) != 1) {
        fprintf(stderr, "bench: malformed response status line from 127.0.0.1:%d\n", c->port);
        goto broken;
    }
    long long clen = -1;
    bool chunked = false, close_after = c->in.p[7] == '0';
    for (const uint8_t *l = (const uint8_t *)memchr(c->in.p, '\n', head_len) + 1; l < hend;) {
        const uint8_t *e = memchr(l, '\n', (size_t)(hend + 2 - l));
        if (!e)
            break;
        const char *s = (const char *)l;
        if (strncasecmp(s, "content-length:", 15) == 0)
            clen = strtoll(s + 15, NULL, 10);
        else if (strncasecmp(s, "transfer-encoding:", 18) == 0)
            chunked = memmem(s, (size_t)(e - l), "chunked", 7) != NULL;
        else if (strncasecmp(s, "connection:", 11) == 0)
            close_after = memmem(s, (size_t)(e - l), "close", 5) != NULL;
        else if (strncasecmp(s, "retry-after:", 12) == 0)
            c->retry_after_s = strtod(s + 12, NULL);
        l = e + 1;
    }
    size_t off = head_len;
    bool no_body = strcmp(method, "HEAD") == 0 || code == 204 || code == 304 || code / 100 == 1;
    if (no_body) {
    } else if (chunked) {
        if (read_chunked(c, &off, resp))
            goto broken;
    } else if (clen >= 0) {
        while (c->in.n - off < (size_t)clen)
            if (conn_fill(c, false))
                goto broken;
        if (resp)
            buf_append(resp, c->in.p + off, (size_t)clen);
        off += (size_t)clen;
    } else {
        int rc;
        while ((rc = conn_fill(c, true)) == 0) {
        }
        if (rc != BRAID_ECLOSED)
            goto broken;
        if (resp)
            buf_append(resp, c->in.p + off, c->in.n - off);
        off = c->in.n;
        close_after = true;
    }
    memmove(c->in.p, c->in.p + off, c->in.n - off);
    c->in.n -= off;
    *status = code;
    if (close_after) {
        close(c->fd);
        c->fd = -1;
        c->in.n = 0;
    }
    if (resp && resp->err)
        return BRAID_ENOMEM;
    return 0;
broken:
    close(c->fd);
    c->fd = -1;
    c->in.n = 0;
    return BRAID_EIO;
}

/* ---- gRPC client ---- */

#define GRPC_FRAME_MAX (256u << 10) /* DATA frames this large, when the server allows */

static int b64_val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* RetryInfo delay in a grpc-status-details-bin value: base64 of
 * google.rpc.Status{details=3: Any{value=2: RetryInfo{retry_delay=1:
 * Duration{seconds=1, nanos=2}}}}. 0 when there is none. */
static uint32_t retry_delay_ms(const uint8_t *v, size_t n)
{
    buf raw;
    buf_init(&raw);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int x = b64_val(v[i]);
        if (x < 0)
            break;
        acc = acc << 6 | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_putc(&raw, (uint8_t)(acc >> bits));
        }
    }
    uint64_t secs = 0, nanos = 0;
    pb_reader st, any, ri, d;
    pb_field f;
    pb_reader_init(&st, raw.p, raw.n);
    while (pb_next(&st, &f) == 1) {
        if (f.num != 3 || f.wire != PB_LEN)
            continue;
        pb_reader_init_slice(&any, f.s);
        while (pb_next(&any, &f) == 1) {
            if (f.num != 2 || f.wire != PB_LEN)
                continue;
            pb_reader_init_slice(&ri, f.s);
            while (pb_next(&ri, &f) == 1) {
                if (f.num != 1 || f.wire != PB_LEN)
                    continue;
                pb_reader_init_slice(&d, f.s);
                while (pb_next(&d, &f) == 1) {
                    if (f.num == 1)
                        secs = f.v;
                    else if (f.num == 2)
                        nanos = f.v;
                }
            }
        }
    }
    buf_free(&raw);
    return (uint32_t)(secs * 1000 + nanos / 1000000);
}

static int grpc_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                          size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                          void *ud)
{
    (void)s;
    (void)flags;
    bench_grpc *g = ud;
    if (f->hd.stream_id != g->stream)
        return 0;
    if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
        g->status = 0;
        for (size_t i = 0; i < valuelen && value[i] >= '0' && value[i] <= '9'; i++)
            g->status = g->status * 10 + (value[i] - '0');
    } else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
        size_t o = 0;
        for (size_t i = 0; i < valuelen && o + 1 < sizeof g->message; i++) {
            if (value[i] == '%' && i + 2 < valuelen) {
                char hex[3] = {(char)value[i + 1], (char)value[i + 2], 0};
                g->message[o++] = (char)strtol(hex, NULL, 16);
                i += 2;
            } else {
                g->message[o++] = (char)value[i];
            }
        }
        g->message[o] = 0;
    } else if (namelen == 23 && memcmp(name, "grpc-status-details-bin", 23) == 0) {
        g->retry_ms = retry_delay_ms(value, valuelen);
    }
    return 0;
}

static int grpc_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
                        void *ud)
{
    (void)s;
    (void)flags;
    bench_grpc *g = ud;
    if (id == g->stream && g->resp)
        buf_append(g->resp, d, n);
    return 0;
}

static int grpc_on_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    (void)s;
    bench_grpc *g = ud;
    if (id == g->stream) {
        g->done = true;
        g->refused = code == NGHTTP2_REFUSED_STREAM;
    }
    return 0;
}

static ssize_t grpc_read_body(nghttp2_session *s, int32_t id, uint8_t *out, size_t len,
                              uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)src;
    bench_grpc *g = ud;
    size_t done = 0;
    while (done < len && g->body_off < g->body_len + 5) {
        size_t off = g->body_off, n;
        if (off < 5) {
            n = 5 - off < len - done ? 5 - off : len - done;
            memcpy(out + done, g->prefix + off, n);
        } else {
            n = g->body_len + 5 - off < len - done ? g->body_len + 5 - off : len - done;
            memcpy(out + done, g->body + off - 5, n);
        }
        done += n;
        g->body_off += n;
    }
    if (g->body_off == g->body_len + 5)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)done;
}

static ssize_t grpc_frame_len(nghttp2_session *s, uint8_t type, int32_t id, int32_t conn_window,
                              int32_t stream_window, uint32_t max_frame, void *ud)
{
    (void)s;
    (void)type;
    (void)id;
    (void)ud;
    ssize_t n = conn_window < stream_window ? conn_window : stream_window;
    if ((uint32_t)n > max_frame)
        n = (ssize_t)max_frame;
    return n > (ssize_t)GRPC_FRAME_MAX ? (ssize_t)GRPC_FRAME_MAX : n;
}

static int grpc_flush(bench_grpc *g)
{
    const uint8_t *d;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(g->h2, &d)) > 0) {
        struct iovec iov = {(void *)d, (size_t)n};
        bench_conn tmp = {.fd = g->fd, .port = g->port};
        if (send_all(&tmp, &iov, 1))
            return BRAID_EIO;
    }
    return n < 0 ? BRAID_EIO : 0;
}

int bench_grpc_open(bench_grpc *g, int port)
{
    uint64_t reconnects = g->reconnects;
    memset(g, 0, sizeof *g);
    g->fd = -1;
    g->port = port;
    g->reconnects = reconnects;
    bench_conn c;
    if (bench_conn_open(&c, port))
        return BRAID_EIO;
    g->fd = c.fd;
    buf_free(&c.in);
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb)) {
        bench_grpc_close(g);
        return BRAID_EIO;
    }
    nghttp2_session_callbacks_set_on_header_callback(cb, grpc_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, grpc_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, grpc_on_close);
    nghttp2_session_callbacks_set_data_source_read_length_callback(cb, grpc_frame_len);
    nghttp2_session *h2;
    int rc = nghttp2_session_client_new(&h2, cb, g);
    nghttp2_session_callbacks_del(cb);
    if (rc) {
        bench_grpc_close(g);
        return BRAID_EIO;
    }
    g->h2 = h2;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    if (nghttp2_submit_settings(h2, NGHTTP2_FLAG_NONE, iv, 1) || grpc_flush(g)) {
        fprintf(stderr, "bench: cannot start HTTP/2 on 127.0.0.1:%d\n", port);
        bench_grpc_close(g);
        return BRAID_EIO;
    }
    return 0;
}

void bench_grpc_close(bench_grpc *g)
{
    if (g->h2)
        nghttp2_session_del(g->h2);
    g->h2 = NULL;
    if (g->fd >= 0)
        close(g->fd);
    g->fd = -1;
}

/* One attempt on the current connection. 0 when the stream ended (answered or
 * refused), BRAID_EIO when the connection failed. */
static int grpc_attempt(bench_grpc *g, const char *path, const void *msg, size_t n, buf *resp)
{
    g->status = -1;
    g->message[0] = 0;
    g->retry_ms = 0;
    g->done = g->refused = false;
    g->body = msg;
    g->body_len = n;
    g->body_off = 0;
    g->prefix[0] = 0;
    g->prefix[1] = (uint8_t)(n >> 24);
    g->prefix[2] = (uint8_t)(n >> 16);
    g->prefix[3] = (uint8_t)(n >> 8);
    g->prefix[4] = (uint8_t)n;
    g->resp = resp;
    if (resp)
        buf_reset(resp);
    nghttp2_nv nv[] = {
#define NV(k, v) {(uint8_t *)(k), (uint8_t *)(v), sizeof(k) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
        NV(":method", "POST"),
        NV(":scheme", "http"),
        NV(":path", path),
        NV(":authority", "127.0.0.1"),
        NV("content-type", "application/grpc"),
        NV("te", "trailers"),
#undef NV
    };
    nghttp2_data_provider prd = {.read_callback = grpc_read_body};
    g->stream = nghttp2_submit_request(g->h2, NULL, nv, sizeof nv / sizeof nv[0], &prd, NULL);
    if (g->stream < 0)
        return BRAID_EIO;
    static __thread uint8_t rbuf[65536];
    while (!g->done) {
        if (grpc_flush(g))
            return BRAID_EIO;
        if (g->done)
            break;
        ssize_t r = recv(g->fd, rbuf, sizeof rbuf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return BRAID_EIO;
        if (nghttp2_session_mem_recv(g->h2, rbuf, (size_t)r) != r)
            return BRAID_EIO;
    }
    return grpc_flush(g);
}

int bench_grpc_call(bench_grpc *g, const char *path, const void *msg, size_t n, buf *resp)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (g->fd < 0 && bench_grpc_open(g, g->port))
            return BRAID_EIO;
        int rc = grpc_attempt(g, path, msg, n, resp);
        if (rc != 0) {
            fprintf(stderr, "bench: gRPC connection to 127.0.0.1:%d failed during %s\n", g->port,
                    path);
            bench_grpc_close(g);
            return BRAID_EIO;
        }
        if (!nghttp2_session_want_read(g->h2)) {
            /* GOAWAY: the next call needs a new connection */
            bench_grpc_close(g);
            g->reconnects++;
        }
        if (g->refused && g->status < 0)
            continue; /* refused before it was processed: safe to send again */
        if (g->status < 0) {
            fprintf(stderr, "bench: gRPC call %s ended without a grpc-status\n", path);
            return BRAID_EIO;
        }
        if (resp && resp->n >= 5) {
            memmove(resp->p, resp->p + 5, resp->n - 5);
            resp->n -= 5;
        }
        return resp && resp->err ? BRAID_ENOMEM : 0;
    }
    fprintf(stderr, "bench: gRPC call %s refused three times\n", path);
    return BRAID_EIO;
}

size_t bench_count(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle), count = 0;
    const uint8_t *p = hay, *end = hay + n;
    while (p < end && (p = memmem(p, (size_t)(end - p), needle, k)) != NULL) {
        count++;
        p += k;
    }
    return count;
}

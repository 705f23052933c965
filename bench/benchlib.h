/* benchlib: what braid's benchmark programs share — a deterministic random
 * source and a vocabulary of realistic telemetry values, the machine
 * description, latency samples and percentiles, temporary data directories,
 * starting/stopping a `braid serve` child and reading its memory, a minimal
 * blocking HTTP/1.1 keep-alive client and a minimal blocking gRPC (HTTP/2)
 * client. Benchmark code only: it prints its own failure reasons to stderr and
 * never decides pass/fail on time. */
#ifndef BRAID_BENCHLIB_H
#define BRAID_BENCHLIB_H

#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>

#include "util/util.h"

/* ---------------------------------------------------------------------------
 * Random numbers: splitmix64, deterministic per seed so runs are comparable.
 * ------------------------------------------------------------------------- */
typedef struct {
    uint64_t s;
} bench_rng;

uint64_t bench_mix64(uint64_t x); /* a bijective 64-bit hash (splitmix64 finalizer) */
static inline uint64_t bench_rand(bench_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ull;
    return bench_mix64(r->s);
}
/* Uniform in [0, n); n > 0. */
static inline uint32_t bench_below(bench_rng *r, uint32_t n)
{
    return (uint32_t)(((bench_rand(r) >> 32) * (uint64_t)n) >> 32);
}
/* Uniform in [0, 1). */
static inline double bench_unit(bench_rng *r)
{
    return (double)(bench_rand(r) >> 11) * (1.0 / 9007199254740992.0);
}
/* Picks an index from weights (sum > 0). */
uint32_t bench_pick(bench_rng *r, const uint32_t *weights, uint32_t n);
/* A duration-like value in ms: mostly near median, with a long tail. */
uint32_t bench_latency_ms(bench_rng *r, uint32_t median);

/* ---------------------------------------------------------------------------
 * Vocabulary: the same small shop every benchmark pretends to observe.
 * ------------------------------------------------------------------------- */
#define BENCH_NSERVICES 6
#define BENCH_NROUTES 5
#define BENCH_NPODS 3

typedef struct {
    const char *name;      /* service.name */
    const char *version;   /* service.version */
    const char *language;  /* telemetry.sdk.language */
    const char *scope;     /* instrumentation scope name */
    const char *logger;    /* log.logger */
    const char *db_system; /* what its data store is */
    uint32_t time_res_ns;  /* clock resolution of its log timestamps (ms for Java, ...) */
    const char *routes[BENCH_NROUTES];
    const char *functions[BENCH_NROUTES]; /* code.function for each route */
} bench_service;

extern const bench_service bench_services[BENCH_NSERVICES];

/* OTLP severity numbers and texts used by the generators. */
typedef struct {
    int32_t number;
    const char *text;
} bench_severity;
/* Picks DEBUG 15 %, INFO 70 %, WARN 10 %, ERROR 5 %. */
bench_severity bench_pick_severity(bench_rng *r);

/* A pod of a service: name and the node it runs on (stable per index). */
void bench_pod_name(int svc, int pod, char *out, size_t n);
void bench_node_name(int svc, int pod, char *out, size_t n);
/* 64 hex digits, stable per (svc, pod). */
void bench_container_id(int svc, int pod, char out[65]);
/* A random version-4 UUID as text. */
void bench_uuid(bench_rng *r, char out[37]);

extern const char *const bench_methods[4]; /* picked GET 70 %, POST 20 %, PUT 7 %, DELETE 3 % */
extern const char *const bench_tiers[3];   /* free 60 %, pro 30 %, enterprise 10 % */
extern const char *const bench_regions[3];

/* What every record of one request shares: a request-scoped logger stamps
 * the same request id, session, user and client on each line, so these
 * high-cardinality values repeat within a trace and differ across traces. */
typedef struct {
    char request_id[37]; /* UUID */
    char session_id[17]; /* 16 hex */
    char client[20];     /* IPv4 */
    uint32_t user;       /* printed "u_%06u" */
    uint8_t method, tier, region;
} bench_request;

void bench_request_new(bench_rng *r, bench_request *q);

/* Writes a log line of roughly 150-250 bytes that looks like what the service
 * would print at that severity while serving request q, with variable
 * numbers, ids and routes in it. Returns its length (out is always
 * NUL-terminated). */
size_t bench_log_line(bench_rng *r, int svc, int route, int32_t severity, const bench_request *q,
                      char *out, size_t n);

/* ---------------------------------------------------------------------------
 * Machine, time, formatting.
 * ------------------------------------------------------------------------- */
/* "Intel(R) Xeon(R) ... , 2 cores, 23.4 GiB RAM" on one line, to f. */
void bench_print_machine(FILE *f);
double bench_now_s(void); /* monotonic seconds */
/* 1234567 -> "1,234,567" into out (at least 32 bytes). Returns out. */
const char *bench_fmt_u64(uint64_t v, char *out);
/* Bytes with a binary unit: "512.0 MiB". Returns out (at least 32 bytes). */
const char *bench_fmt_bytes(uint64_t v, char *out);
/* Nanoseconds as "0.84 ms" / "12.3 ms" / "1.20 s". Returns out (>= 32 bytes). */
const char *bench_fmt_ns(uint64_t ns, char *out);

/* ---------------------------------------------------------------------------
 * Latency samples.
 * ------------------------------------------------------------------------- */
typedef struct {
    uint64_t *v; /* malloc'd; freed by bench_samples_free */
    size_t n, cap;
    bool sorted;
} bench_samples;

void bench_samples_init(bench_samples *s);
void bench_samples_free(bench_samples *s);
/* Returns 0 or BRAID_ENOMEM. */
int bench_samples_add(bench_samples *s, uint64_t v);
/* Moves every sample of src into dst (src is left empty). 0 or BRAID_ENOMEM. */
int bench_samples_merge(bench_samples *dst, bench_samples *src);
/* Nearest-rank percentile, p in (0, 100]; sorts on first use. 0 when empty. */
uint64_t bench_samples_pct(bench_samples *s, double p);

/* ---------------------------------------------------------------------------
 * Files.
 * ------------------------------------------------------------------------- */
/* Creates a fresh directory $TMPDIR/<prefix>XXXXXX (or /tmp) into out.
 * Returns 0 or BRAID_EIO. */
int bench_mkdtemp(const char *prefix, char *out, size_t cap);
/* Removes a tree (no symlinks followed); missing is fine. 0 or BRAID_EIO. */
int bench_rm_rf(const char *path);
/* Sum of the sizes of regular files under path (0 if missing), and how many. */
uint64_t bench_du(const char *path, uint64_t *files);
/* Bytes an unprivileged writer can still use on the file system holding
 * path (statvfs f_bavail); 0 if it cannot be read. */
uint64_t bench_fs_free(const char *path);

/* ---------------------------------------------------------------------------
 * The daemon under test.
 * ------------------------------------------------------------------------- */
typedef struct {
    pid_t pid;
    int out_fd; /* read end of the child's stdout */
    char log_path[512];
    int api_port, otlp_port; /* 0 when that listener was not announced */
    int grpc_port;           /* otlp-grpc; 0 when not announced */
    double ready_s;          /* seconds from exec to "braid: ready" */
    double stop_s;           /* seconds from SIGTERM to exit */
    uint64_t maxrss_kb;      /* after stop: peak RSS over the whole life */
    double cpu_s;            /* after stop: user + system CPU seconds */
    bool drain_started;
    pthread_t drain_thread; /* copies the child's later stdout to our stderr */
} bench_daemon;

/* Runs `<braid> serve --data <data> --api 127.0.0.1:0 --otlp-http 127.0.0.1:0
 * --otlp-grpc 127.0.0.1:0 <extra...>` (extra is NULL-terminated, may be NULL), with stderr appended
 * to log_path, and waits up to timeout_s for "braid: ready", parsing the "braid: listening <name>
 * <host>:<port>" lines. The child gets SIGTERM if the calling thread dies (PR_SET_PDEATHSIG), so
 * call this from main. Returns 0, or BRAID_EIO with the reason and the log tail on stderr (the
 * child is then reaped). */
int bench_daemon_start(bench_daemon *d, const char *braid, const char *data,
                       const char *const *extra, const char *log_path, double timeout_s);
/* SIGTERM, then waits up to timeout_s for the exit (SIGKILL after that).
 * Fills stop_s, maxrss_kb, cpu_s. Returns 0 on a clean exit 0, BRAID_EIO
 * otherwise (reason on stderr). */
int bench_daemon_stop(bench_daemon *d, double timeout_s);
/* Current and peak resident set of a live process, from /proc/<pid>/status
 * (VmRSS, VmHWM), in KiB. Returns 0 or BRAID_EIO. */
int bench_proc_mem(pid_t pid, uint64_t *rss_kb, uint64_t *hwm_kb);
/* The resident set split as the kernel counts it, in KiB: anon is heap and
 * stacks (what the process allocated), file is pages of mapped files (part
 * files the store mmaps: page cache the kernel can drop and read again),
 * shmem is shared memory. rss = anon + file + shmem; hwm is the peak rss. */
typedef struct {
    uint64_t rss_kb, hwm_kb, anon_kb, file_kb, shmem_kb;
} bench_mem;
/* Fills m from /proc/<pid>/status. Returns 0 or BRAID_EIO. */
int bench_proc_mem_detail(pid_t pid, bench_mem *m);
/* User + system CPU seconds a live process has used so far, from
 * /proc/<pid>/stat. Returns 0 or BRAID_EIO. */
int bench_proc_cpu(pid_t pid, double *seconds);
/* Prints the last lines of the daemon's log to stderr. */
void bench_daemon_log_tail(const bench_daemon *d, int lines);

/* ---------------------------------------------------------------------------
 * HTTP/1.1 client: one connection, blocking, one request at a time.
 * ------------------------------------------------------------------------- */
typedef struct {
    int fd; /* -1 when not connected */
    int port;
    buf in;               /* bytes read but not yet consumed */
    uint64_t reconnects;  /* times the server closed and we connected again */
    double retry_after_s; /* Retry-After of the last response; 0 when it had none */
} bench_conn;

/* Connects to 127.0.0.1:port. Returns 0 or BRAID_EIO (reason on stderr). */
int bench_conn_open(bench_conn *c, int port);
void bench_conn_close(bench_conn *c);

/* Sends one request (body may be NULL with n == 0; ctype may be NULL) and
 * reads the whole response. *status gets the status code; the body is
 * appended to resp after resetting it (resp may be NULL to discard). A
 * response with "Connection: close" closes the socket; the next request
 * reconnects. Returns 0, or BRAID_EIO when the exchange failed at the socket
 * or framing level (reason on stderr). */
int bench_http(bench_conn *c, const char *method, const char *path, const char *ctype,
               const void *body, size_t n, int *status, buf *resp);

/* ---------------------------------------------------------------------------
 * gRPC client: one cleartext HTTP/2 connection (prior knowledge) on nghttp2's
 * client session, blocking, one unary call at a time.
 * ------------------------------------------------------------------------- */
typedef struct {
    int fd; /* -1 when not connected */
    int port;
    void *h2;            /* nghttp2_session */
    uint64_t reconnects; /* times the server closed (or refused a call) and we connected again */
    /* the last call's answer */
    int status;        /* grpc-status; -1 when none arrived */
    char message[256]; /* grpc-message, percent-decoded */
    uint32_t retry_ms; /* RetryInfo delay from grpc-status-details-bin; 0 when none */
    /* the call in progress */
    int32_t stream;
    bool done, refused;
    const uint8_t *body;
    size_t body_len, body_off;
    uint8_t prefix[5];
    buf *resp;
} bench_grpc;

/* Connects to 127.0.0.1:port and sends the preface. 0 or BRAID_EIO. */
int bench_grpc_open(bench_grpc *g, int port);
void bench_grpc_close(bench_grpc *g);

/* One unary call: msg (n bytes, uncompressed) as the request message on a new
 * stream; waits for the whole answer. g->status, g->message and g->retry_ms
 * describe it; the response message (without its length prefix) is appended
 * to resp after resetting it (resp may be NULL). Reconnects when the server
 * had closed the connection or refused the stream (GOAWAY). Returns 0, or
 * BRAID_EIO when the exchange failed below gRPC (reason on stderr). */
int bench_grpc_call(bench_grpc *g, const char *path, const void *msg, size_t n, buf *resp);

/* Counts non-overlapping occurrences of needle in hay. */
size_t bench_count(const uint8_t *hay, size_t n, const char *needle);

#endif

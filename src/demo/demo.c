/* demo: the `braid demo` command. Parses its flags, paces the generator in
 * real time (or sends --once N requests as fast as the server takes them) and
 * POSTs each batch to the OTLP/HTTP receiver with libcurl, honouring
 * Retry-After. Owns one curl handle and one generator for the run; never
 * exits the process (returns its exit code to main). */
#include "demo.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../otlp/otlp.h"
#include "../pb/pb.h"

#define DEFAULT_OTLP "http://127.0.0.1:4318"
#define TICK_NS 200000000ull           /* spans and logs are exported this often */
#define METRICS_EVERY_NS 5000000000ull /* metrics this often */
#define ONCE_CHUNK 100                 /* requests per export with --once */

static volatile sig_atomic_t demo_stop;

static void on_stop(int sig)
{
    (void)sig;
    demo_stop = 1;
}

typedef struct {
    const char *otlp;
    double rate;
    uint64_t seed, once, wait_ns;
    bool has_seed, quiet, exemplar_per_request, clean;
    const char *incident;
    uint64_t every_ns, length_ns;
} demo_cfg;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: braid demo [flags]\n"
            "Sends the telemetry of a small shop (frontend, checkout, auth, inventory, payment,\n"
            "notifications) over OTLP/HTTP protobuf until stopped, with a recurring incident:\n"
            "the payment provider resets connections, payment.charge retries for ~940 ms and\n"
            "fails. Some logs lack trace ids, 10%% of traces are sampled out, inventory logs\n"
            "carry Datadog decimal ids, some queue consumers lose their parent, and\n"
            "checkout.cart.size has a trace_id label (braid doctor reports each of these).\n\n"
            "  --otlp URL              OTLP/HTTP receiver (default " DEFAULT_OTLP ")\n"
            "  --rate R                requests per second (default 20)\n"
            "  --seed N                make the run reproducible (default: from the clock)\n"
            "  --once N                send N requests as fast as accepted, then exit\n"
            "  --incident now|auto|off now: start with an incident; auto (default): the first\n"
            "                          after 2m; off: none\n"
            "  --incident-every DUR    time between incident starts (default 5m)\n"
            "  --incident-length DUR   how long an incident lasts (default 60s)\n"
            "  --exemplars bucket|request  bucket (default): the last sampled request of each\n"
            "                          histogram bucket per export, as SDKs do; request: one\n"
            "                          exemplar for every sampled request\n"
            "  --clean                 the same traffic without the correlation defects: every\n"
            "                          log carries its trace context, no consumer loses its\n"
            "                          parent, no trace_id label (sampling stays)\n"
            "  --wait DUR              how long to retry an unreachable server (default 10s)\n"
            "  --quiet                 print nothing but errors\n"
            "Exit codes: 0 done (or stopped by Ctrl-C), 1 the server refused data, 2 usage,\n"
            "3 the server cannot be reached.\n");
}

static const char *flag_value(int *i, int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    *out = v;
    return *end == 0;
}

static bool parse_dur(const char *v, bool nonzero, uint64_t *out)
{
    if (parse_duration_ns(v, out) == 0 && (!nonzero || *out > 0))
        return true;
    fprintf(stderr, "braid demo: %s is not a duration like 90s or 5m\n", v);
    return false;
}

static int parse_args(int argc, char **argv, demo_cfg *c)
{
    c->otlp = DEFAULT_OTLP;
    c->rate = 20;
    c->incident = "auto";
    c->every_ns = 300000000000ull;
    c->length_ns = 60000000000ull;
    c->wait_ns = 10000000000ull;
    for (int i = 0; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            c->quiet = true;
        } else if (strcmp(argv[i], "--clean") == 0) {
            c->clean = true;
        } else if ((v = flag_value(&i, argc, argv, "--exemplars"))) {
            if (strcmp(v, "bucket") && strcmp(v, "request")) {
                fprintf(stderr, "braid demo: --exemplars must be bucket or request (got %s)\n", v);
                return 2;
            }
            c->exemplar_per_request = strcmp(v, "request") == 0;
        } else if ((v = flag_value(&i, argc, argv, "--otlp"))) {
            c->otlp = v;
        } else if ((v = flag_value(&i, argc, argv, "--rate"))) {
            char *end;
            c->rate = strtod(v, &end);
            if (*end || !(c->rate > 0 && c->rate <= 100000)) {
                fprintf(stderr,
                        "braid demo: --rate %s is not a number of requests/s "
                        "from 0 to 100000\n",
                        v);
                return 2;
            }
        } else if ((v = flag_value(&i, argc, argv, "--seed"))) {
            if (!parse_u64(v, &c->seed)) {
                fprintf(stderr, "braid demo: --seed %s is not a whole number\n", v);
                return 2;
            }
            c->has_seed = true;
        } else if ((v = flag_value(&i, argc, argv, "--once"))) {
            if (!parse_u64(v, &c->once) || c->once == 0 || c->once > 100000000) {
                fprintf(stderr, "braid demo: --once %s is not a count from 1 to 100000000\n", v);
                return 2;
            }
        } else if ((v = flag_value(&i, argc, argv, "--incident"))) {
            if (strcmp(v, "now") && strcmp(v, "auto") && strcmp(v, "off")) {
                fprintf(stderr, "braid demo: --incident must be now, auto or off (got %s)\n", v);
                return 2;
            }
            c->incident = v;
        } else if ((v = flag_value(&i, argc, argv, "--incident-every"))) {
            if (!parse_dur(v, true, &c->every_ns))
                return 2;
        } else if ((v = flag_value(&i, argc, argv, "--incident-length"))) {
            if (!parse_dur(v, true, &c->length_ns))
                return 2;
        } else if ((v = flag_value(&i, argc, argv, "--wait"))) {
            if (!parse_dur(v, false, &c->wait_ns))
                return 2;
        } else {
            static const char *const valued[] = {"--otlp",
                                                 "--rate",
                                                 "--seed",
                                                 "--once",
                                                 "--incident",
                                                 "--incident-every",
                                                 "--incident-length",
                                                 "--wait"};
            for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
                if (strcmp(argv[i], valued[k]) == 0) {
                    fprintf(stderr, "braid demo: %s needs a value\n", argv[i]);
                    return 2;
                }
            fprintf(stderr, "braid demo: unknown argument %s (see braid demo --help)\n", argv[i]);
            return 2;
        }
    }
    if (strncmp(c->otlp, "http://", 7) && strncmp(c->otlp, "https://", 8)) {
        fprintf(stderr, "braid demo: --otlp %s is not an http:// or https:// URL\n", c->otlp);
        return 2;
    }
    return 0;
}

/* ---- HTTP ---- */
typedef struct {
    CURL *curl;
    struct curl_slist *hdr;
    const char *base;
    uint64_t wait_ns;
    buf body;
    long retry_after;
} sender;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf *b = ud;
    if (b->n < 4096)
        buf_append(b, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sender *s = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 &&
        bslice_eq_nocase((bslice){(const uint8_t *)p, sizeof name - 1}, name))
        s->retry_after = strtol(p + sizeof name - 1, NULL, 10);
    return len;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) == -1 && !demo_stop)
        ;
}

/* The message of a google.rpc.Status (field 2) or of a JSON error body. */
static void print_refusal(const char *path, long status, const buf *body)
{
    pb_reader r;
    pb_field f;
    pb_reader_init(&r, body->p, body->n);
    while (pb_next(&r, &f) == 1) {
        if (f.num == 2 && f.wire == PB_LEN && otlp_utf8_valid(f.s.p, f.s.n)) {
            fprintf(stderr, "braid demo: the server refused %s: HTTP %ld: %.*s\n", path, status,
                    (int)f.s.n, (const char *)f.s.p);
            return;
        }
    }
    fprintf(stderr, "braid demo: the server refused %s: HTTP %ld: %.*s\n", path, status,
            (int)(body->n > 300 ? 300 : body->n), body->n ? (const char *)body->p : "");
}

/* POSTs one protobuf body. Returns 0, 1 refused, 3 unreachable. Retries a
 * connection failure for wait_ns, and 429/503 after their Retry-After. */
static int post(sender *s, const char *path, const buf *payload)
{
    if (!payload->n)
        return 0;
    char url[1024];
    size_t bl = strlen(s->base);
    while (bl && s->base[bl - 1] == '/')
        bl--;
    snprintf(url, sizeof url, "%.*s%s", (int)bl, s->base, path);
    uint64_t first_fail = 0;
    for (;;) {
        buf_reset(&s->body);
        s->retry_after = -1;
        char err[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(s->curl, CURLOPT_URL, url);
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, (const char *)payload->p);
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload->n);
        curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, err);
        CURLcode rc = curl_easy_perform(s->curl);
        long status = 0;
        if (rc == CURLE_OK)
            curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && status >= 200 && status < 300)
            return 0;
        if (demo_stop)
            return 0;
        uint64_t now = now_mono_ns();
        if (rc != CURLE_OK) {
            if (!first_fail)
                first_fail = now;
            if (now - first_fail >= s->wait_ns) {
                fprintf(stderr,
                        "braid demo: cannot reach %s (%s); is `braid serve` running? Set "
                        "--otlp.\n",
                        url, err[0] ? err : curl_easy_strerror(rc));
                return 3;
            }
            sleep_ns(250000000ull);
            continue;
        }
        if (status == 429 || status == 503) {
            long ra = s->retry_after > 0 && s->retry_after < 60 ? s->retry_after : 1;
            sleep_ns((uint64_t)ra * 1000000000ull);
            continue;
        }
        print_refusal(path, status, &s->body);
        return 1;
    }
}

static int send_batch(sender *s, const demo_batch *b)
{
    int rc = post(s, "/v1/traces", &b->traces);
    if (!rc)
        rc = post(s, "/v1/logs", &b->logs);
    if (!rc)
        rc = post(s, "/v1/metrics", &b->metrics);
    return rc;
}

static int sender_init(sender *s, const demo_cfg *c)
{
    memset(s, 0, sizeof *s);
    buf_init(&s->body);
    s->base = c->otlp;
    s->wait_ns = c->wait_ns;
    s->curl = curl_easy_init();
    s->hdr = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    if (!s->curl || !s->hdr)
        return BRAID_ENOMEM;
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->hdr);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &s->body);
    curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "braid-demo");
    return 0;
}

static void sender_free(sender *s)
{
    if (s->curl)
        curl_easy_cleanup(s->curl);
    curl_slist_free_all(s->hdr);
    buf_free(&s->body);
}

/* ---- runs ---- */
static uint64_t once_start(const demo_cfg *c, uint64_t dt)
{
    return now_unix_ns() - c->once * dt - 2000000000ull;
}

static int run_once(const demo_cfg *c, demo_gen *g, sender *s, uint64_t dt)
{
    /* End two seconds ago, so that even the slowest request of the run has
     * finished by "now" and queries ending now see all of it. */
    uint64_t t0 = once_start(c, dt);
    demo_batch b;
    demo_batch_init(&b);
    int rc = 0;
    for (uint64_t done = 0; done < c->once && !rc && !demo_stop;) {
        uint64_t n = c->once - done < ONCE_CHUNK ? c->once - done : ONCE_CHUNK;
        rc = demo_gen_requests(g, t0 + done * dt, dt, n);
        done += n;
        if (!rc)
            rc = demo_gen_flush(g, t0 + done * dt, true, &b);
        if (rc) {
            fprintf(stderr, "braid demo: out of memory\n");
            rc = 1;
        } else {
            rc = send_batch(s, &b);
        }
    }
    demo_batch_free(&b);
    return rc;
}

static void announce(const demo_cfg *c, const demo_opts *o, bool *was, uint64_t now)
{
    bool is = demo_in_incident(o, now);
    if (is != *was && !c->quiet) {
        time_t t = (time_t)(now / 1000000000ull);
        struct tm tm;
        localtime_r(&t, &tm);
        if (is)
            printf("braid demo: %02d:%02d:%02d incident: the payment provider resets "
                   "connections; payment.charge retries and fails (for %llus)\n",
                   tm.tm_hour, tm.tm_min, tm.tm_sec,
                   (unsigned long long)(c->length_ns / 1000000000ull));
        else
            printf("braid demo: %02d:%02d:%02d incident over\n", tm.tm_hour, tm.tm_min, tm.tm_sec);
        fflush(stdout);
    }
    *was = is;
}

static int run_stream(const demo_cfg *c, const demo_opts *o, demo_gen *g, sender *s, uint64_t start,
                      uint64_t dt)
{
    uint64_t mono0 = now_mono_ns(), sent = 0, next_metrics = mono0 + METRICS_EVERY_NS;
    bool in_incident = false;
    demo_batch b;
    demo_batch_init(&b);
    int rc = 0;
    for (uint64_t tick = 1; !rc && !demo_stop; tick++) {
        uint64_t due_at = mono0 + tick * TICK_NS, mono = now_mono_ns();
        if (due_at > mono)
            sleep_ns(due_at - mono);
        mono = now_mono_ns();
        uint64_t elapsed = mono - mono0;
        uint64_t want = (uint64_t)((double)elapsed / (double)dt);
        /* Behind (a slow server): skip ahead rather than bursting. */
        uint64_t cap = (uint64_t)(c->rate * 10) + 1;
        if (want > sent + cap)
            sent = want - cap;
        uint64_t now = start + elapsed;
        announce(c, o, &in_incident, now);
        if (want > sent && demo_gen_requests(g, start + sent * dt, dt, want - sent)) {
            fprintf(stderr, "braid demo: out of memory\n");
            rc = 1;
            break;
        }
        sent = want > sent ? want : sent;
        bool metrics = mono >= next_metrics || demo_stop;
        if (metrics)
            next_metrics += METRICS_EVERY_NS;
        if (demo_gen_flush(g, now, metrics, &b)) {
            fprintf(stderr, "braid demo: out of memory\n");
            rc = 1;
            break;
        }
        rc = send_batch(s, &b);
    }
    demo_batch_free(&b);
    return rc;
}

int demo_main(int argc, char **argv)
{
    demo_cfg c;
    memset(&c, 0, sizeof c);
    int rc = parse_args(argc, argv, &c);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!c.has_seed)
        c.seed = now_unix_ns() ^ ((uint64_t)getpid() << 32);
    uint64_t dt = (uint64_t)(1e9 / c.rate);
    if (dt == 0)
        dt = 1;
    uint64_t start = now_unix_ns();
    demo_opts o = {.seed = c.seed,
                   .incident_every_ns = c.every_ns,
                   .incident_len_ns = c.length_ns,
                   .exemplar_per_request = c.exemplar_per_request,
                   .clean = c.clean};
    if (strcmp(c.incident, "off") == 0)
        o.incident_at_ns = UINT64_MAX;
    else if (strcmp(c.incident, "now") == 0)
        o.incident_at_ns = c.once ? once_start(&c, dt) - 1000000000ull : start;
    else
        o.incident_at_ns = start + 120000000000ull;

    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        fprintf(stderr, "braid demo: cannot start the HTTP client\n");
        return 1;
    }
    demo_gen *g = NULL;
    sender s;
    if (demo_gen_create(&o, &g) || sender_init(&s, &c)) {
        fprintf(stderr, "braid demo: out of memory\n");
        demo_gen_free(g);
        curl_global_cleanup();
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (c.once) {
        rc = run_once(&c, g, &s, dt);
    } else {
        if (!c.quiet) {
            printf("braid demo: sending ~%g requests/s to %s (seed %llu%s); ", c.rate, c.otlp,
                   (unsigned long long)c.seed, c.clean ? ", clean" : "");
            if (o.incident_at_ns == UINT64_MAX)
                printf("no incidents");
            else
                printf("an incident every %llus for %llus, the first %s",
                       (unsigned long long)(c.every_ns / 1000000000ull),
                       (unsigned long long)(c.length_ns / 1000000000ull),
                       o.incident_at_ns == start ? "now" : "in 2 minutes");
            printf("; Ctrl-C stops\n");
            fflush(stdout);
        }
        rc = run_stream(&c, &o, g, &s, start, dt);
    }
    demo_stats st;
    demo_gen_stats(g, &st);
    if (!c.quiet && rc == 0) {
        printf("braid demo: sent %llu requests: %llu spans, %llu log records, %llu metric points "
               "with %llu exemplars (seed %llu)\n",
               (unsigned long long)st.requests, (unsigned long long)st.spans,
               (unsigned long long)st.logs, (unsigned long long)st.points,
               (unsigned long long)st.exemplars, (unsigned long long)c.seed);
        fflush(stdout);
    }
    sender_free(&s);
    demo_gen_free(g);
    curl_global_cleanup();
    return rc;
}

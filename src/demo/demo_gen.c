/* demo_gen: the shop's requests as OTLP protobuf. Each request is one trace
 * (frontend POST /checkout -> checkout -> auth.verify, inventory.reserve,
 * payment.charge, notifications.send -> a queue consumer) with log records
 * inside its spans, a latency histogram with exemplars (the last sampled
 * request of each bucket per export) and request/error counters. Owns its
 * PRNG (splitmix64) and pending buffers; never reads the clock or the
 * environment, so a seed fixes every byte. Clean mode draws exactly the same
 * random numbers, so it differs from the default only where a defect was. */
#include "demo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../pb/pb.h"

enum { SVC_FRONTEND, SVC_CHECKOUT, SVC_AUTH, SVC_INVENTORY, SVC_PAYMENT, SVC_NOTIFY, SVC_N };

static const struct {
    const char *name, *version, *lang, *route, *pod;
} svc_info[SVC_N] = {
    {"frontend", "2.14.0", "nodejs", "/checkout", "frontend-7f9c6d8b5-x2kqp"},
    {"checkout", "1.9.3", "go", "/api/orders", "checkout-5d7b9c4f8-m4tzr"},
    {"auth", "3.2.1", "go", "/verify", "auth-6c8d7f5b9-q8wnl"},
    {"inventory", "0.41.0", "python", "/reserve", "inventory-84b6c9d7f-h5vjs"},
    {"payment", "4.0.2", "java", "/charge", "payment-9f7d6c5b8-t2rkx"},
    {"notifications", "1.3.0", "python", NULL, "notifications-7b5c8d9f6-p9mzc"},
};

/* OpenTelemetry's default bucket bounds for http.server.request.duration. */
static const double hist_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                     0.5,   0.75, 1,     2.5,  5,     7.5, 10};
#define NBOUNDS (sizeof hist_bounds / sizeof hist_bounds[0])

enum { KIND_INTERNAL = 1, KIND_SERVER = 2, KIND_CLIENT = 3, KIND_PRODUCER = 4, KIND_CONSUMER = 5 };
enum { SEV_DEBUG = 5, SEV_INFO = 9, SEV_WARN = 13, SEV_ERROR = 17 };
enum { STATUS_UNSET = 0, STATUS_ERROR = 2 };

#define MS 1000000ull

typedef struct {
    uint64_t time_ns;
    double value;
    uint8_t tid[16], sid[8];
} exemplar;

/* One series' cumulative histogram and counters, and its exemplar reservoir:
 * as OpenTelemetry SDKs do by default for explicit-bucket histograms, the
 * last sampled measurement of each bucket since the previous export. */
typedef struct {
    bool seen;
    uint64_t bucket[NBOUNDS + 1], count, requests, errors;
    double sum, min, max;
    exemplar res[NBOUNDS + 1];
    bool has[NBOUNDS + 1];
    exemplar *all; /* with exemplar_per_request: every one since the export */
    size_t nall, capall;
} svc_metrics;

typedef struct {
    uint64_t time_ns;
    int64_t items;
    char tid_hex[33];
} cart_point;

struct demo_gen {
    demo_opts o;
    uint64_t rng;
    uint64_t t_first; /* start of the cumulative metrics: the first request */
    buf spans[SVC_N], logs[SVC_N];
    buf discard; /* spans of sampled-out traces are written here and dropped */
    svc_metrics m[SVC_N];
    cart_point *cart;
    size_t ncart, capcart;
    demo_stats st;
    int err;
};

/* ---- PRNG ---- */
static uint64_t rng_next(demo_gen *g)
{
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(demo_gen *g)
{
    return (double)(rng_next(g) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(demo_gen *g, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(g);
}

static uint64_t rng_int(demo_gen *g, uint64_t lo, uint64_t hi)
{
    return lo + rng_next(g) % (hi - lo + 1);
}

/* Log-normal with the given median: latencies have a long right tail. */
static double rng_lognormal(demo_gen *g, double median, double sigma)
{
    double u1 = rng_unit(g), u2 = rng_unit(g);
    if (u1 < 1e-12)
        u1 = 1e-12;
    double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    return median * exp(sigma * z);
}

static uint64_t ms_ns(double ms)
{
    return (uint64_t)(ms * (double)MS);
}

static void rng_id(demo_gen *g, uint8_t *p, size_t n)
{
    bool zero;
    do {
        zero = true;
        for (size_t i = 0; i < n; i += 8) {
            uint64_t v = rng_next(g);
            for (size_t k = 0; k < 8 && i + k < n; k++) {
                p[i + k] = (uint8_t)(v >> (8 * k));
                zero = zero && p[i + k] == 0;
            }
        }
    } while (zero);
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

bool demo_in_incident(const demo_opts *o, uint64_t t_ns)
{
    if (o->incident_at_ns == UINT64_MAX || t_ns < o->incident_at_ns)
        return false;
    uint64_t since = t_ns - o->incident_at_ns;
    if (o->incident_every_ns)
        since %= o->incident_every_ns;
    return since < o->incident_len_ns;
}

/* ---- protobuf pieces (OTLP v1 field numbers) ---- */
static void kv_open(buf *b, uint32_t field, const char *key, size_t *kv, size_t *any)
{
    *kv = pb_begin(b, field);
    pb_put_string(b, 1, key);
    *any = pb_begin(b, 2);
}

static void kv_close(buf *b, size_t kv, size_t any)
{
    pb_end(b, any);
    pb_end(b, kv);
}

static void kv_str(buf *b, uint32_t field, const char *key, const char *v)
{
    size_t kv, any;
    kv_open(b, field, key, &kv, &any);
    pb_put_string(b, 1, v);
    kv_close(b, kv, any);
}

static void kv_int(buf *b, uint32_t field, const char *key, int64_t v)
{
    size_t kv, any;
    kv_open(b, field, key, &kv, &any);
    pb_put_int64(b, 3, v);
    kv_close(b, kv, any);
}

static void kv_dbl(buf *b, uint32_t field, const char *key, double v)
{
    size_t kv, any;
    kv_open(b, field, key, &kv, &any);
    pb_put_double(b, 4, v);
    kv_close(b, kv, any);
}

static void put_resource(buf *b, int svc)
{
    char instance[64];
    snprintf(instance, sizeof instance, "%s-0", svc_info[svc].pod);
    size_t r = pb_begin(b, 1);
    kv_str(b, 1, "service.name", svc_info[svc].name);
    kv_str(b, 1, "service.namespace", "shop");
    kv_str(b, 1, "service.version", svc_info[svc].version);
    kv_str(b, 1, "service.instance.id", instance);
    kv_str(b, 1, "deployment.environment.name", "demo");
    kv_str(b, 1, "k8s.namespace.name", "shop");
    kv_str(b, 1, "k8s.pod.name", svc_info[svc].pod);
    kv_str(b, 1, "telemetry.sdk.name", "opentelemetry");
    kv_str(b, 1, "telemetry.sdk.language", svc_info[svc].lang);
    pb_end(b, r);
}

static void put_scope(buf *b, int svc)
{
    char name[64];
    snprintf(name, sizeof name, "shop.%s", svc_info[svc].name);
    size_t s = pb_begin(b, 1);
    pb_put_string(b, 1, name);
    pb_put_string(b, 2, svc_info[svc].version);
    pb_end(b, s);
}

/* A span being written: open with span_open, add attributes (field 9) and
 * events, close with span_close. Spans of sampled-out traces go to discard. */
typedef struct {
    buf *b;
    size_t pos;
} span_w;

static span_w span_open(demo_gen *g, int svc, bool sampled, const uint8_t *tid, const uint8_t *sid,
                        const uint8_t *parent, const char *name, int kind, uint64_t start,
                        uint64_t end)
{
    span_w w = {sampled ? &g->spans[svc] : &g->discard, 0};
    if (sampled)
        g->st.spans++;
    w.pos = pb_begin(w.b, 2);
    pb_put_bytes(w.b, 1, tid, 16);
    pb_put_bytes(w.b, 2, sid, 8);
    if (parent)
        pb_put_bytes(w.b, 4, parent, 8);
    pb_put_string(w.b, 5, name);
    pb_put_uint64(w.b, 6, (uint64_t)kind);
    pb_put_fixed64(w.b, 7, start);
    pb_put_fixed64(w.b, 8, end);
    pb_put_fixed32(w.b, 16, 0x01); /* sampled */
    return w;
}

static void span_event_reset(span_w *w, uint64_t t)
{
    size_t e = pb_begin(w->b, 11);
    pb_put_fixed64(w->b, 1, t);
    pb_put_string(w->b, 2, "exception");
    kv_str(w->b, 3, "exception.type", "java.net.SocketException");
    kv_str(w->b, 3, "exception.message", "Connection reset by peer");
    pb_end(w->b, e);
}

static void span_close(span_w *w, int status, const char *msg)
{
    if (status != STATUS_UNSET) {
        size_t s = pb_begin(w->b, 15);
        if (msg)
            pb_put_string(w->b, 2, msg);
        pb_put_uint64(w->b, 3, (uint64_t)status);
        pb_end(w->b, s);
    }
    pb_end(w->b, w->pos);
}

/* A log record: open, add attributes (field 6), pb_end. tid/sid may be NULL
 * (a record without trace context). */
static size_t log_open(demo_gen *g, int svc, uint64_t t, int sev, const char *body,
                       const uint8_t *tid, const uint8_t *sid, bool sampled)
{
    static const char *const sev_text[] = {
        [SEV_DEBUG] = "DEBUG", [SEV_INFO] = "INFO", [SEV_WARN] = "WARN", [SEV_ERROR] = "ERROR"};
    buf *b = &g->logs[svc];
    g->st.logs++;
    size_t pos = pb_begin(b, 2);
    pb_put_fixed64(b, 1, t);
    pb_put_fixed64(b, 11, t + 150000 + (rng_next(g) % 900000));
    pb_put_uint64(b, 2, (uint64_t)sev);
    pb_put_string(b, 3, sev_text[sev]);
    size_t any = pb_begin(b, 5);
    pb_put_string(b, 1, body);
    pb_end(b, any);
    if (tid) {
        pb_put_fixed32(b, 8, sampled ? 0x01 : 0x00);
        pb_put_bytes(b, 9, tid, 16);
        pb_put_bytes(b, 10, sid, 8);
    }
    return pos;
}

/* ---- metrics state ---- */
static void record(demo_gen *g, int svc, uint64_t end, double seconds, int http_status,
                   bool sampled, const uint8_t *tid, const uint8_t *sid)
{
    svc_metrics *m = &g->m[svc];
    size_t i = 0;
    while (i < NBOUNDS && seconds > hist_bounds[i])
        i++;
    m->bucket[i]++;
    if (!m->seen || seconds < m->min)
        m->min = seconds;
    if (!m->seen || seconds > m->max)
        m->max = seconds;
    m->seen = true;
    m->count++;
    m->sum += seconds;
    m->requests++;
    if (http_status >= 500)
        m->errors++;
    /* Trace-based exemplar filter (the SDK default): only sampled requests
     * leave an exemplar, so every exemplar opens a stored trace. */
    if (!sampled)
        return;
    exemplar *e = &m->res[i];
    if (g->o.exemplar_per_request) {
        if (m->nall == m->capall) {
            size_t cap = m->capall ? 2 * m->capall : 64;
            exemplar *p = realloc(m->all, cap * sizeof *p);
            if (!p) {
                g->err = BRAID_ENOMEM;
                return;
            }
            m->all = p;
            m->capall = cap;
        }
        e = &m->all[m->nall++];
    } else {
        m->has[i] = true;
    }
    e->time_ns = end;
    e->value = seconds;
    memcpy(e->tid, tid, 16);
    memcpy(e->sid, sid, 8);
}

static void record_cart(demo_gen *g, uint64_t t, int64_t items, const uint8_t *tid)
{
    if (g->ncart == g->capcart) {
        size_t cap = g->capcart ? 2 * g->capcart : 64;
        cart_point *p = realloc(g->cart, cap * sizeof *p);
        if (!p) {
            g->err = BRAID_ENOMEM;
            return;
        }
        g->cart = p;
        g->capcart = cap;
    }
    cart_point *c = &g->cart[g->ncart++];
    c->time_ns = t;
    c->items = items;
    hex(tid, 16, c->tid_hex);
}

/* ---- one request ---- */
typedef struct {
    uint8_t tid[16];
    bool sampled, incident;
    uint8_t fe[8], ck[8];
    int items;
    double amount;
    char order[24], user[16];
} req;

/* auth.verify; returns its end time, sets *ok. */
static uint64_t gen_auth(demo_gen *g, const req *r, uint64_t start, bool *ok)
{
    uint8_t sid[8];
    rng_id(g, sid, 8);
    *ok = rng_unit(g) >= 0.01;
    uint64_t end = start + ms_ns(rng_lognormal(g, 4.0, 0.35));
    int code = *ok ? 200 : 401;
    span_w w = span_open(g, SVC_AUTH, r->sampled, r->tid, sid, r->ck, "auth.verify", KIND_SERVER,
                         start, end);
    kv_str(w.b, 9, "rpc.system", "grpc");
    kv_str(w.b, 9, "rpc.service", "shop.auth.Auth");
    kv_str(w.b, 9, "rpc.method", "Verify");
    kv_str(w.b, 9, "http.route", "/verify");
    kv_int(w.b, 9, "http.response.status_code", code);
    kv_str(w.b, 9, "enduser.id", r->user);
    span_close(&w, STATUS_UNSET, NULL);
    char body[96];
    if (*ok)
        snprintf(body, sizeof body, "token verified user_id=%s scope=checkout", r->user);
    else
        snprintf(body, sizeof body, "token expired user_id=%s", r->user);
    size_t l = log_open(g, SVC_AUTH, end - ms_ns(0.4), *ok ? SEV_DEBUG : SEV_WARN, body, r->tid,
                        sid, r->sampled);
    kv_str(&g->logs[SVC_AUTH], 6, "user_id", r->user);
    pb_end(&g->logs[SVC_AUTH], l);
    record(g, SVC_AUTH, end, (double)(end - start) / 1e9, code, r->sampled, r->tid, sid);
    return end;
}

/* inventory.reserve with its database call. Logs the Datadog way: decimal
 * 64-bit ids in the text and attributes, no OTLP trace context; clean, it
 * logs through OpenTelemetry with the span's context instead. */
static uint64_t gen_inventory(demo_gen *g, const req *r, uint64_t start)
{
    uint8_t sid[8], db[8];
    rng_id(g, sid, 8);
    rng_id(g, db, 8);
    double db_ms = rng_lognormal(g, 9.0, 0.4);
    uint64_t db_start = start + ms_ns(rng_range(g, 0.8, 1.6));
    uint64_t db_end = db_start + ms_ns(db_ms);
    uint64_t end = db_end + ms_ns(rng_range(g, 0.5, 1.5));
    span_w w = span_open(g, SVC_INVENTORY, r->sampled, r->tid, sid, r->ck, "inventory.reserve",
                         KIND_SERVER, start, end);
    kv_str(w.b, 9, "rpc.system", "grpc");
    kv_str(w.b, 9, "rpc.service", "shop.inventory.Inventory");
    kv_str(w.b, 9, "rpc.method", "Reserve");
    kv_str(w.b, 9, "http.route", "/reserve");
    kv_int(w.b, 9, "http.response.status_code", 200);
    kv_int(w.b, 9, "inventory.items", r->items);
    span_close(&w, STATUS_UNSET, NULL);
    span_w d = span_open(g, SVC_INVENTORY, r->sampled, r->tid, db, sid, "UPDATE inventory",
                         KIND_CLIENT, db_start, db_end);
    kv_str(d.b, 9, "db.system.name", "postgresql");
    kv_str(d.b, 9, "db.operation.name", "UPDATE");
    kv_str(d.b, 9, "db.collection.name", "inventory");
    kv_str(d.b, 9, "db.query.text",
           "UPDATE inventory SET reserved = reserved + $1 WHERE sku = $2 AND stock >= $1");
    kv_str(d.b, 9, "server.address", "inventory-db.shop.svc");
    span_close(&d, STATUS_UNSET, NULL);

    char dd_tid[24], dd_sid[24], sku[16], body[192];
    snprintf(dd_tid, sizeof dd_tid, "%llu", (unsigned long long)be64(r->tid + 8));
    snprintf(dd_sid, sizeof dd_sid, "%llu", (unsigned long long)be64(sid));
    snprintf(sku, sizeof sku, "SKU-%04u", (unsigned)rng_int(g, 1000, 1999));
    buf *lb = &g->logs[SVC_INVENTORY];
    size_t l;
    if (g->o.clean) {
        snprintf(body, sizeof body, "reserved %d x %s", r->items, sku);
        l = log_open(g, SVC_INVENTORY, db_end + ms_ns(0.2), SEV_INFO, body, r->tid, sid,
                     r->sampled);
    } else {
        snprintf(body, sizeof body,
                 "reserved %d x %s dd.service=inventory dd.trace_id=%s dd.span_id=%s", r->items,
                 sku, dd_tid, dd_sid);
        l = log_open(g, SVC_INVENTORY, db_end + ms_ns(0.2), SEV_INFO, body, NULL, NULL, false);
        kv_str(lb, 6, "dd.trace_id", dd_tid);
        kv_str(lb, 6, "dd.span_id", dd_sid);
        kv_str(lb, 6, "dd.service", "inventory");
        kv_str(lb, 6, "dd.env", "demo");
    }
    kv_str(lb, 6, "sku", sku);
    kv_int(lb, 6, "quantity", r->items);
    pb_end(lb, l);
    record(g, SVC_INVENTORY, end, (double)(end - start) / 1e9, 200, r->sampled, r->tid, sid);
    return end;
}

/* One call to the payment provider; a reset ends it with an error. */
static uint64_t gen_provider_call(demo_gen *g, const req *r, const uint8_t *parent, uint64_t start,
                                  int attempt, bool reset)
{
    uint8_t sid[8];
    rng_id(g, sid, 8);
    double dur = reset ? rng_range(g, 296, 314) : rng_lognormal(g, 55, 0.3);
    uint64_t end = start + ms_ns(dur);
    span_w w = span_open(g, SVC_PAYMENT, r->sampled, r->tid, sid, parent, "POST /v1/charges",
                         KIND_CLIENT, start, end);
    kv_str(w.b, 9, "http.request.method", "POST");
    kv_str(w.b, 9, "url.full", "https://api.stripe.com/v1/charges");
    kv_str(w.b, 9, "server.address", "api.stripe.com");
    kv_str(w.b, 9, "payment_provider", "stripe");
    if (attempt > 0)
        kv_int(w.b, 9, "http.request.resend_count", attempt);
    if (reset) {
        kv_str(w.b, 9, "error.type", "java.net.SocketException");
        span_event_reset(&w, end);
        span_close(&w, STATUS_ERROR, "connection reset by peer");
    } else {
        kv_int(w.b, 9, "http.response.status_code", 200);
        span_close(&w, STATUS_UNSET, NULL);
    }
    return end;
}

/* payment.charge: normally one provider call; in an incident some calls are
 * reset and retried, up to three times. Sets *ok. */
static uint64_t gen_payment(demo_gen *g, const req *r, uint64_t start, bool *ok)
{
    uint8_t sid[8];
    rng_id(g, sid, 8);
    int resets = 0;
    if (r->incident) {
        double u = rng_unit(g);
        resets = u < DEMO_INCIDENT_FAIL ? 3 : u < DEMO_INCIDENT_FAIL + DEMO_INCIDENT_RETRY ? 1 : 0;
    }
    *ok = resets < 3;
    buf *lb = &g->logs[SVC_PAYMENT];
    char body[160];
    snprintf(body, sizeof body, "charging card payment_provider=stripe amount=%.2f currency=EUR",
             r->amount);
    size_t l =
        log_open(g, SVC_PAYMENT, start + ms_ns(0.6), SEV_INFO, body, r->tid, sid, r->sampled);
    kv_str(lb, 6, "payment_provider", "stripe");
    kv_dbl(lb, 6, "amount", r->amount);
    kv_str(lb, 6, "currency", "EUR");
    pb_end(lb, l);

    uint64_t t = start + ms_ns(rng_range(g, 1.0, 2.0));
    for (int attempt = 0; attempt <= resets && attempt < 3; attempt++) {
        bool reset = attempt < resets;
        t = gen_provider_call(g, r, sid, t, attempt, reset);
        if (!reset)
            break;
        int retry = attempt + 1;
        snprintf(body, sizeof body,
                 "payment_provider=stripe error=\"connection reset by peer\" retry=%d", retry);
        l = log_open(g, SVC_PAYMENT, t + ms_ns(0.3), retry == 3 ? SEV_ERROR : SEV_WARN, body,
                     r->tid, sid, r->sampled);
        kv_str(lb, 6, "payment_provider", "stripe");
        kv_str(lb, 6, "error", "connection reset by peer");
        kv_int(lb, 6, "retry", retry);
        pb_end(lb, l);
        if (retry < 3)
            t += ms_ns(rng_range(g, 8, 15)); /* backoff */
    }
    uint64_t end = t + ms_ns(rng_range(g, 1.0, 3.0));
    if (*ok) {
        char charge[32];
        snprintf(charge, sizeof charge, "ch_%016llx", (unsigned long long)rng_next(g));
        snprintf(body, sizeof body, "charge succeeded charge_id=%s payment_provider=stripe",
                 charge);
        l = log_open(g, SVC_PAYMENT, end - ms_ns(0.5), SEV_INFO, body, r->tid, sid, r->sampled);
        kv_str(lb, 6, "charge_id", charge);
        pb_end(lb, l);
    }
    span_w w = span_open(g, SVC_PAYMENT, r->sampled, r->tid, sid, r->ck, "payment.charge",
                         KIND_SERVER, start, end);
    kv_str(w.b, 9, "rpc.system", "grpc");
    kv_str(w.b, 9, "rpc.service", "shop.payment.Payment");
    kv_str(w.b, 9, "rpc.method", "Charge");
    kv_str(w.b, 9, "http.route", "/charge");
    kv_int(w.b, 9, "http.response.status_code", *ok ? 200 : 502);
    kv_str(w.b, 9, "payment_provider", "stripe");
    kv_dbl(w.b, 9, "payment.amount", r->amount);
    kv_str(w.b, 9, "payment.currency", "EUR");
    if (resets)
        kv_int(w.b, 9, "retry", resets);
    if (!*ok)
        kv_str(w.b, 9, "error.type", "java.net.SocketException");
    span_close(&w, *ok ? STATUS_UNSET : STATUS_ERROR, *ok ? NULL : "connection reset by peer");
    record(g, SVC_PAYMENT, end, (double)(end - start) / 1e9, *ok ? 200 : 502, r->sampled, r->tid,
           sid);
    if (!*ok)
        g->st.payment_failures++;
    return end;
}

/* notifications.send (checkout, producer) and its consumer in
 * notifications. Some consumers lose the context across the queue and start
 * a trace of their own, and the consumer's logger has no trace context; not
 * when clean. Returns the producer's end. */
static uint64_t gen_notify(demo_gen *g, const req *r, uint64_t start)
{
    uint8_t prod[8], cons[8];
    rng_id(g, prod, 8);
    rng_id(g, cons, 8);
    uint64_t end = start + ms_ns(rng_range(g, 0.8, 2.5));
    span_w w = span_open(g, SVC_CHECKOUT, r->sampled, r->tid, prod, r->ck, "notifications.send",
                         KIND_PRODUCER, start, end);
    kv_str(w.b, 9, "messaging.system", "kafka");
    kv_str(w.b, 9, "messaging.destination.name", "order-events");
    kv_str(w.b, 9, "messaging.operation.type", "send");
    kv_str(w.b, 9, "messaging.message.id", r->order);
    span_close(&w, STATUS_UNSET, NULL);

    bool lost = rng_unit(g) < DEMO_LOST_CONTEXT;
    uint8_t own[16];
    const uint8_t *tid = r->tid;
    const uint8_t *parent = prod;
    bool sampled = r->sampled;
    if (lost) {
        /* Drawn even when clean, so both modes stay on the same sequence. */
        rng_id(g, own, 16);
        bool own_sampled = rng_unit(g) >= DEMO_SAMPLED_OUT;
        if (!g->o.clean) {
            tid = own;
            parent = NULL;
            sampled = own_sampled;
            g->st.lost_context++;
        }
    }
    uint64_t c_start = end + ms_ns(rng_range(g, 2, 40));
    uint64_t c_end = c_start + ms_ns(rng_lognormal(g, 12, 0.3));
    span_w c = span_open(g, SVC_NOTIFY, sampled, tid, cons, parent, "process order-events",
                         KIND_CONSUMER, c_start, c_end);
    kv_str(c.b, 9, "messaging.system", "kafka");
    kv_str(c.b, 9, "messaging.destination.name", "order-events");
    kv_str(c.b, 9, "messaging.operation.type", "process");
    kv_str(c.b, 9, "messaging.consumer.group.name", "notifications");
    kv_str(c.b, 9, "messaging.message.id", r->order);
    span_close(&c, STATUS_UNSET, NULL);
    /* Unless clean, this service's logger has no trace context at all. */
    char body[128];
    snprintf(body, sizeof body, "order confirmation sent order_id=%s channel=email", r->order);
    size_t l = g->o.clean
                   ? log_open(g, SVC_NOTIFY, c_end - ms_ns(1), SEV_INFO, body, tid, cons, sampled)
                   : log_open(g, SVC_NOTIFY, c_end - ms_ns(1), SEV_INFO, body, NULL, NULL, false);
    kv_str(&g->logs[SVC_NOTIFY], 6, "order_id", r->order);
    kv_str(&g->logs[SVC_NOTIFY], 6, "template", "order_confirmation");
    pb_end(&g->logs[SVC_NOTIFY], l);
    return end;
}

static void gen_request(demo_gen *g, uint64_t t)
{
    req r;
    memset(&r, 0, sizeof r);
    rng_id(g, r.tid, 16);
    rng_id(g, r.fe, 8);
    rng_id(g, r.ck, 8);
    r.sampled = rng_unit(g) >= DEMO_SAMPLED_OUT;
    r.incident = demo_in_incident(&g->o, t);
    r.items = (int)rng_int(g, 1, 6);
    r.amount = (double)rng_int(g, 900, 24900) / 100.0;
    snprintf(r.order, sizeof r.order, "ord_%010llu",
             (unsigned long long)(rng_next(g) % 10000000000ull));
    snprintf(r.user, sizeof r.user, "u-%05u", (unsigned)rng_int(g, 1, 99999));
    if (!g->t_first)
        g->t_first = t;
    g->st.requests++;
    if (!r.sampled)
        g->st.sampled_out++;

    uint64_t ck_start = t + ms_ns(rng_range(g, 0.4, 1.2));
    char body[192];
    snprintf(body, sizeof body, "placing order cart_items=%d user_id=%s", r.items, r.user);
    size_t l =
        log_open(g, SVC_CHECKOUT, ck_start + ms_ns(0.2), SEV_INFO, body, r.tid, r.ck, r.sampled);
    kv_int(&g->logs[SVC_CHECKOUT], 6, "cart_items", r.items);
    pb_end(&g->logs[SVC_CHECKOUT], l);
    record_cart(g, ck_start, r.items, r.tid);

    bool auth_ok, pay_ok = false;
    uint64_t cur = gen_auth(g, &r, ck_start + ms_ns(rng_range(g, 0.3, 0.8)), &auth_ok);
    int code = 401;
    if (auth_ok) {
        cur = gen_inventory(g, &r, cur + ms_ns(rng_range(g, 0.2, 0.6)));
        cur = gen_payment(g, &r, cur + ms_ns(rng_range(g, 0.2, 0.6)), &pay_ok);
        code = pay_ok ? 200 : 502;
        if (pay_ok)
            cur = gen_notify(g, &r, cur + ms_ns(rng_range(g, 0.2, 0.5)));
    }
    uint64_t ck_end = cur + ms_ns(rng_range(g, 0.3, 0.9));
    buf *lb = &g->logs[SVC_CHECKOUT];
    if (code == 200) {
        snprintf(body, sizeof body, "order placed order_id=%s items=%d total=%.2f EUR", r.order,
                 r.items, r.amount);
        l = log_open(g, SVC_CHECKOUT, ck_end - ms_ns(0.2), SEV_INFO, body, r.tid, r.ck, r.sampled);
        kv_str(lb, 6, "order_id", r.order);
    } else if (code == 502) {
        snprintf(body, sizeof body,
                 "order failed order_id=%s reason=\"payment provider unavailable\"", r.order);
        l = log_open(g, SVC_CHECKOUT, ck_end - ms_ns(0.2), SEV_ERROR, body, r.tid, r.ck, r.sampled);
        kv_str(lb, 6, "order_id", r.order);
    } else {
        l = log_open(g, SVC_CHECKOUT, ck_end - ms_ns(0.2), SEV_WARN,
                     "order rejected: caller is not authenticated", r.tid, r.ck, r.sampled);
    }
    pb_end(lb, l);
    span_w w = span_open(g, SVC_CHECKOUT, r.sampled, r.tid, r.ck, r.fe, "POST /api/orders",
                         KIND_SERVER, ck_start, ck_end);
    kv_str(w.b, 9, "http.request.method", "POST");
    kv_str(w.b, 9, "http.route", "/api/orders");
    kv_str(w.b, 9, "url.path", "/api/orders");
    kv_int(w.b, 9, "http.response.status_code", code);
    kv_str(w.b, 9, "order.id", r.order);
    kv_int(w.b, 9, "cart.items", r.items);
    span_close(&w, code >= 500 ? STATUS_ERROR : STATUS_UNSET,
               code >= 500 ? "payment failed: connection reset by peer" : NULL);
    record(g, SVC_CHECKOUT, ck_end, (double)(ck_end - ck_start) / 1e9, code, r.sampled, r.tid,
           r.ck);

    uint64_t fe_end = ck_end + ms_ns(rng_range(g, 0.4, 1.0));
    span_w f = span_open(g, SVC_FRONTEND, r.sampled, r.tid, r.fe, NULL, "POST /checkout",
                         KIND_SERVER, t, fe_end);
    kv_str(f.b, 9, "http.request.method", "POST");
    kv_str(f.b, 9, "http.route", "/checkout");
    kv_str(f.b, 9, "url.path", "/checkout");
    kv_str(f.b, 9, "url.scheme", "https");
    kv_str(f.b, 9, "user_agent.original",
           "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36");
    kv_int(f.b, 9, "http.response.status_code", code);
    span_close(&f, code >= 500 ? STATUS_ERROR : STATUS_UNSET, NULL);
    double fe_ms = (double)(fe_end - t) / 1e6;
    snprintf(body, sizeof body, "POST /checkout %d %.1fms", code, fe_ms);
    l = log_open(g, SVC_FRONTEND, fe_end - ms_ns(0.1),
                 code >= 500   ? SEV_ERROR
                 : code >= 400 ? SEV_WARN
                               : SEV_INFO,
                 body, r.tid, r.fe, r.sampled);
    kv_str(&g->logs[SVC_FRONTEND], 6, "http.request.method", "POST");
    kv_int(&g->logs[SVC_FRONTEND], 6, "http.response.status_code", code);
    kv_dbl(&g->logs[SVC_FRONTEND], 6, "duration_ms", fe_ms);
    pb_end(&g->logs[SVC_FRONTEND], l);
    record(g, SVC_FRONTEND, fe_end, (double)(fe_end - t) / 1e9, code, r.sampled, r.tid, r.fe);
    buf_reset(&g->discard);
}

/* ---- API ---- */
void demo_batch_init(demo_batch *b)
{
    buf_init(&b->traces);
    buf_init(&b->logs);
    buf_init(&b->metrics);
}

void demo_batch_free(demo_batch *b)
{
    buf_free(&b->traces);
    buf_free(&b->logs);
    buf_free(&b->metrics);
}

int demo_gen_create(const demo_opts *o, demo_gen **out)
{
    demo_gen *g = calloc(1, sizeof *g);
    if (!g)
        return BRAID_ENOMEM;
    g->o = *o;
    g->rng = o->seed;
    for (int s = 0; s < SVC_N; s++) {
        buf_init(&g->spans[s]);
        buf_init(&g->logs[s]);
    }
    buf_init(&g->discard);
    *out = g;
    return 0;
}

void demo_gen_free(demo_gen *g)
{
    if (!g)
        return;
    for (int s = 0; s < SVC_N; s++) {
        buf_free(&g->spans[s]);
        buf_free(&g->logs[s]);
        free(g->m[s].all);
    }
    buf_free(&g->discard);
    free(g->cart);
    free(g);
}

void demo_gen_stats(const demo_gen *g, demo_stats *out)
{
    *out = g->st;
}

int demo_gen_requests(demo_gen *g, uint64_t t0_ns, uint64_t dt_ns, size_t n)
{
    for (size_t i = 0; i < n && !g->err; i++) {
        uint64_t jitter = dt_ns >= 5 ? rng_next(g) % (dt_ns / 5) : 0;
        gen_request(g, t0_ns + i * dt_ns + jitter);
    }
    for (int s = 0; s < SVC_N; s++)
        if (g->spans[s].err || g->logs[s].err || g->discard.err)
            g->err = BRAID_ENOMEM;
    return g->err;
}

/* Wraps the pending records of each service in Resource{Spans,Logs}. */
static void flush_records(buf *pending, buf *out)
{
    for (int s = 0; s < SVC_N; s++) {
        if (!pending[s].n)
            continue;
        size_t r = pb_begin(out, 1);
        put_resource(out, s);
        size_t sc = pb_begin(out, 2);
        put_scope(out, s);
        buf_append(out, pending[s].p, pending[s].n);
        pb_end(out, sc);
        pb_end(out, r);
        buf_reset(&pending[s]);
    }
}

static void put_sum(buf *b, const char *name, const char *desc, const char *route, uint64_t start,
                    uint64_t now, uint64_t v)
{
    size_t m = pb_begin(b, 2);
    pb_put_string(b, 1, name);
    pb_put_string(b, 2, desc);
    pb_put_string(b, 3, "{request}");
    size_t sum = pb_begin(b, 7);
    size_t dp = pb_begin(b, 1);
    kv_str(b, 7, "http.route", route);
    pb_put_fixed64(b, 2, start);
    pb_put_fixed64(b, 3, now);
    pb_put_fixed64(b, 6, v); /* as_int (sfixed64) */
    pb_end(b, dp);
    pb_put_uint64(b, 2, 2); /* cumulative */
    pb_put_bool(b, 3, true);
    pb_end(b, sum);
    pb_end(b, m);
}

static void put_exemplar(buf *b, const exemplar *e)
{
    size_t x = pb_begin(b, 8);
    pb_put_fixed64(b, 2, e->time_ns);
    pb_put_double(b, 3, e->value);
    pb_put_bytes(b, 4, e->sid, 8);
    pb_put_bytes(b, 5, e->tid, 16);
    pb_end(b, x);
}

static void put_histogram(buf *b, const svc_metrics *sm, const char *route, uint64_t start,
                          uint64_t now)
{
    size_t m = pb_begin(b, 2);
    pb_put_string(b, 1, "http.server.request.duration");
    pb_put_string(b, 2, "Duration of HTTP server requests.");
    pb_put_string(b, 3, "s");
    size_t h = pb_begin(b, 9);
    size_t dp = pb_begin(b, 1);
    kv_str(b, 9, "http.request.method", "POST");
    kv_str(b, 9, "http.route", route);
    pb_put_fixed64(b, 2, start);
    pb_put_fixed64(b, 3, now);
    pb_put_fixed64(b, 4, sm->count);
    pb_put_double(b, 5, sm->sum);
    pb_put_packed_fixed64(b, 6, sm->bucket, NBOUNDS + 1);
    pb_put_packed_double(b, 7, hist_bounds, NBOUNDS);
    for (size_t i = 0; i <= NBOUNDS; i++)
        if (sm->has[i])
            put_exemplar(b, &sm->res[i]);
    for (size_t i = 0; i < sm->nall; i++)
        put_exemplar(b, &sm->all[i]);
    pb_put_double(b, 11, sm->min);
    pb_put_double(b, 12, sm->max);
    pb_end(b, dp);
    pb_put_uint64(b, 2, 2); /* cumulative */
    pb_end(b, h);
    pb_end(b, m);
}

/* The one metric with a trace id as a label: a cardinality offender (clean:
 * one unlabelled series). */
static void put_cart(buf *b, const cart_point *c, size_t n, bool clean)
{
    size_t m = pb_begin(b, 2);
    pb_put_string(b, 1, "checkout.cart.size");
    pb_put_string(b, 2, "Items in the cart at checkout.");
    pb_put_string(b, 3, "{item}");
    size_t gauge = pb_begin(b, 5);
    for (size_t i = 0; i < n; i++) {
        size_t dp = pb_begin(b, 1);
        if (!clean)
            kv_str(b, 7, "trace_id", c[i].tid_hex);
        pb_put_fixed64(b, 3, c[i].time_ns);
        pb_put_fixed64(b, 6, (uint64_t)c[i].items);
        pb_end(b, dp);
    }
    pb_end(b, gauge);
    pb_end(b, m);
}

static void flush_metrics(demo_gen *g, uint64_t now, buf *out)
{
    for (int s = 0; s < SVC_N; s++) {
        svc_metrics *sm = &g->m[s];
        if (!sm->seen)
            continue;
        uint64_t t = now < g->t_first ? g->t_first : now;
        size_t r = pb_begin(out, 1);
        put_resource(out, s);
        size_t sc = pb_begin(out, 2);
        put_scope(out, s);
        put_histogram(out, sm, svc_info[s].route, g->t_first, t);
        put_sum(out, "http.server.requests", "Requests served.", svc_info[s].route, g->t_first, t,
                sm->requests);
        put_sum(out, "http.server.errors", "Requests that failed with a 5xx status.",
                svc_info[s].route, g->t_first, t, sm->errors);
        g->st.points += 3 + (s == SVC_CHECKOUT ? g->ncart : 0);
        for (size_t i = 0; i <= NBOUNDS; i++)
            g->st.exemplars += sm->has[i];
        g->st.exemplars += sm->nall;
        if (s == SVC_CHECKOUT && g->ncart)
            put_cart(out, g->cart, g->ncart, g->o.clean);
        pb_end(out, sc);
        pb_end(out, r);
        memset(sm->has, 0, sizeof sm->has);
        sm->nall = 0;
    }
    g->ncart = 0;
}

int demo_gen_flush(demo_gen *g, uint64_t now_ns, bool metrics, demo_batch *b)
{
    buf_reset(&b->traces);
    buf_reset(&b->logs);
    buf_reset(&b->metrics);
    if (g->err)
        return g->err;
    flush_records(g->spans, &b->traces);
    flush_records(g->logs, &b->logs);
    if (metrics)
        flush_metrics(g, now_ns, &b->metrics);
    if (b->traces.err || b->logs.err || b->metrics.err)
        return BRAID_ENOMEM;
    return 0;
}

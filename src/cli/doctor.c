/* cli/doctor: `braid doctor`, the correlation health report as a command:
 * fetches GET /api/v1/correlation and prints either the JSON unchanged or a
 * readable report (findings first, then a table per service), with an exit
 * code a CI job or cron can test. The rendering is pure (cli_render_doctor);
 * the command owns one HTTP exchange and never judges anything itself: the
 * verdict is the server's "ok". */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define RED "\x1b[31m"
#define DIM "\x1b[2m"
#define BOLD "\x1b[1m"
#define RESET "\x1b[0m"

static double jnum(const json_doc *d, uint32_t obj, const char *key, bool *present)
{
    double v = 0;
    uint32_t n = json_obj_get(d, obj, key);
    bool ok = n != JSON_NONE && !json_is_null(d, n) && json_get_double(d, n, &v) == 0;
    if (present)
        *present = ok;
    return ok ? v : 0;
}

/* Appends an RFC 3339 UTC time (to the second) for Unix ns t. */
static void put_time(buf *out, uint64_t t)
{
    time_t secs = (time_t)(t / 1000000000ull);
    struct tm tm;
    char ts[32];
    gmtime_r(&secs, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_puts(out, ts);
}

static void put_share(buf *out, double count, double total)
{
    buf_printf(out, "%.0f of %.0f", count, total);
    if (total > 0)
        buf_printf(out, " (%.1f%%)", 100.0 * count / total);
}

/* Appends text word-wrapped to WRAP columns, each line indented by two
 * spaces; a word longer than a line stays whole. */
#define WRAP 100
static void put_wrapped(buf *out, bslice text)
{
    size_t i = 0;
    while (i < text.n) {
        while (i < text.n && text.p[i] == ' ')
            i++;
        if (i == text.n)
            break;
        size_t end = i + (WRAP - 2);
        if (end >= text.n) {
            end = text.n;
        } else {
            size_t cut = end; /* the byte after a full line: a space there ends it */
            while (cut > i && text.p[cut] != ' ')
                cut--;
            if (cut > i)
                end = cut;
            else
                while (end < text.n && text.p[end] != ' ')
                    end++;
        }
        buf_puts(out, "  ");
        buf_append(out, text.p + i, end - i);
        buf_putc(out, '\n');
        i = end;
    }
}

/* The examples array as "a, b, c"; nothing when empty. */
static void put_examples(buf *out, const json_doc *d, uint32_t f, bool color)
{
    uint32_t ex = json_obj_get(d, f, "examples");
    if (json_type_of(d, ex) != JSON_ARRAY || json_count(d, ex) == 0)
        return;
    buf_printf(out, "  %sexamples:%s ", color ? DIM : "", color ? RESET : "");
    json_iter it;
    json_iter_init(&it, d, ex);
    uint32_t k, v;
    bool first = true;
    while (json_iter_next(&it, &k, &v)) {
        if (json_type_of(d, v) != JSON_STRING)
            continue;
        if (!first)
            buf_puts(out, ", ");
        json_str_buf(d, v, out);
        first = false;
    }
    buf_putc(out, '\n');
}

static void render_finding(buf *out, const json_doc *d, uint32_t f, bool color, arena *ar)
{
    bslice kind = cli_jstr(d, f, "kind", ar), sev = cli_jstr(d, f, "severity", ar);
    bslice svc = cli_jstr(d, f, "service", ar);
    bool fault = !bslice_eq_cstr(sev, "info");
    buf_printf(out, "%s%-5s%s %.*s in %s%.*s%s: ", color ? (fault ? RED BOLD : DIM) : "",
               fault ? "FAULT" : "INFO", color ? RESET : "", (int)kind.n, (const char *)kind.p,
               color ? BOLD : "", (int)svc.n, (const char *)svc.p, color ? RESET : "");
    put_share(out, jnum(d, f, "count", NULL), jnum(d, f, "total", NULL));
    buf_putc(out, '\n');
    bslice field = cli_jstr(d, f, "field", ar), form = cli_jstr(d, f, "form", ar);
    if (json_obj_get(d, f, "field") != JSON_NONE)
        buf_printf(out, "  field \"%.*s\", %.*s form\n", (int)field.n, (const char *)field.p,
                   (int)form.n, (const char *)form.p);
    bslice metric = cli_jstr(d, f, "metric", ar), label = cli_jstr(d, f, "label", ar);
    if (metric.n) {
        buf_printf(out, "  metric %.*s, label \"%.*s\"", (int)metric.n, (const char *)metric.p,
                   (int)label.n, (const char *)label.p);
        bool has;
        double distinct = jnum(d, f, "distinct", &has);
        if (has)
            buf_printf(out, ", ~%.0f distinct values", distinct);
        buf_putc(out, '\n');
    }
    bslice caller = cli_jstr(d, f, "caller", ar);
    if (caller.n)
        buf_printf(out, "  called by %.*s\n", (int)caller.n, (const char *)caller.p);
    put_wrapped(out, cli_jstr(d, f, "message", ar));
    put_examples(out, d, f, color);
    buf_putc(out, '\n');
}

/* One column of the per-service table: header, JSON object and key. */
typedef struct {
    const char *head, *obj, *key;
} column;

static const column columns[] = {
    {"logs", NULL, "logs"},
    {"coverage", NULL, "coverage"},
    {"spans", NULL, "spans"},
    {"traces", "links", "traces"},
    {"linked", "links", "linked"},
    {"sampled_out", "links", "sampled_out"},
    {"lost", "links", "lost"},
    {"truncated", "links", "truncated"},
    {"pending", "links", "pending"},
    {"no_parent", "spans_detail", "missing_parent"},
    {"lost_ctx", "spans_detail", "lost_context_roots"},
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

static void render_services(buf *out, const json_doc *d, uint32_t services, bool color, arena *ar)
{
    int w = 7; /* "service" */
    json_iter it;
    uint32_t k, s;
    json_iter_init(&it, d, services);
    while (json_iter_next(&it, &k, &s)) {
        bslice name = cli_jstr(d, s, "service", ar);
        if ((int)name.n > w)
            w = name.n > 40 ? 40 : (int)name.n;
    }
    buf_printf(out, "%s%-*s", color ? BOLD : "", w, "service");
    for (size_t c = 0; c < NCOLUMNS; c++)
        buf_printf(out, " %*s", c == 1 ? 9 : (int)strlen(columns[c].head) + 1, columns[c].head);
    buf_puts(out, color ? RESET "\n" : "\n");
    json_iter_init(&it, d, services);
    while (json_iter_next(&it, &k, &s)) {
        bslice name = cli_jstr(d, s, "service", ar);
        buf_printf(out, "%-*.*s", w, (int)(name.n > 40 ? 40 : name.n), (const char *)name.p);
        for (size_t c = 0; c < NCOLUMNS; c++) {
            uint32_t o = columns[c].obj ? json_obj_get(d, s, columns[c].obj) : s;
            int cw = c == 1 ? 9 : (int)strlen(columns[c].head) + 1;
            bool has;
            double v = jnum(d, o, columns[c].key, &has);
            if (!has)
                buf_printf(out, " %*s", cw, "-");
            else if (c == 1)
                buf_printf(out, " %*.1f%%", cw - 1, 100.0 * v);
            else
                buf_printf(out, " %*.0f", cw, v);
        }
        buf_putc(out, '\n');
    }
}

int cli_render_doctor(const uint8_t *json, size_t n, bool color, buf *out, int *exit_code)
{
    arena ar;
    arena_init(&ar);
    json_doc d;
    int rc = BRAID_EINVAL;
    if (json_parse(&d, json, n, 16, &ar, NULL, 0) || json_type_of(&d, 0) != JSON_OBJECT)
        goto done;
    uint32_t okn = json_obj_get(&d, 0, "ok"), findings = json_obj_get(&d, 0, "findings");
    uint32_t services = json_obj_get(&d, 0, "services");
    bool ok;
    if (json_get_bool(&d, okn, &ok) || json_type_of(&d, findings) != JSON_ARRAY ||
        json_type_of(&d, services) != JSON_ARRAY)
        goto done;
    size_t faults = 0, notes = 0;
    json_iter it;
    uint32_t k, f;
    json_iter_init(&it, &d, findings);
    while (json_iter_next(&it, &k, &f)) {
        if (bslice_eq_cstr(cli_jstr(&d, f, "severity", &ar), "info"))
            notes++;
        else
            faults++;
    }
    buf_puts(out, "braid doctor: correlation health from ");
    put_time(out, cli_ju64(&d, 0, "start_unix_nano"));
    buf_puts(out, " to ");
    put_time(out, cli_ju64(&d, 0, "end_unix_nano"));
    buf_putc(out, '\n');
    if (ok)
        buf_printf(out, "%sok%s: every threshold holds", color ? BOLD : "", color ? RESET : "");
    else
        buf_printf(out, "%sNOT OK%s: %zu fault%s", color ? RED BOLD : "", color ? RESET : "",
                   faults, faults == 1 ? "" : "s");
    buf_printf(out, " (%zu note%s, %u service%s)\n", notes, notes == 1 ? "" : "s",
               json_count(&d, services), json_count(&d, services) == 1 ? "" : "s");
    uint32_t th = json_obj_get(&d, 0, "thresholds");
    if (json_type_of(&d, th) == JSON_OBJECT)
        buf_printf(out,
                   "thresholds: coverage >= %g%%, lost <= %g%%, broken <= %g%%, drift <= %g%%, "
                   "distinct <= %.0f; grace %.0fs\n",
                   100.0 * jnum(&d, th, "coverage", NULL), 100.0 * jnum(&d, th, "lost", NULL),
                   100.0 * jnum(&d, th, "broken", NULL), 100.0 * jnum(&d, th, "drift", NULL),
                   jnum(&d, th, "cardinality_distinct", NULL), jnum(&d, 0, "grace_seconds", NULL));
    bool has_rate;
    double rate = jnum(&d, 0, "sample_rate", &has_rate);
    if (has_rate && rate < 1)
        buf_printf(out,
                   "counts are estimates: the server followed %.1f%% of traces to judge links\n",
                   100.0 * rate);
    buf_putc(out, '\n');
    json_iter_init(&it, &d, findings);
    while (json_iter_next(&it, &k, &f))
        render_finding(out, &d, f, color, &ar);
    if (json_count(&d, services) == 0)
        buf_puts(out, "no logs, spans or metrics in this time range\n");
    else
        render_services(out, &d, services, color, &ar);
    double pending = 0;
    json_iter_init(&it, &d, services);
    while (json_iter_next(&it, &k, &f))
        pending += jnum(&d, json_obj_get(&d, f, "links"), "pending", NULL);
    if (pending > 0)
        buf_printf(out,
                   "\n%.0f log trace id%s not judged yet: inside the grace period, their spans "
                   "may still arrive\n",
                   pending, pending == 1 ? " is" : "s are");
    *exit_code = ok ? 0 : 1;
    rc = out->err;
done:
    arena_free(&ar);
    return rc;
}

static void doctor_usage(FILE *f)
{
    fprintf(f, "usage: braid doctor [--since 1h] [--service S] [--json] [--server URL]\n"
               "Reports where the trace id gets lost between logs, traces and metrics: log\n"
               "coverage, dangling links, broken traces, id-like metric labels, id format drift.\n"
               "  --since DURATION   how far back to look (default 1h)\n"
               "  --service S        one service (its service.name) only\n"
               "  --json             print the server's JSON report unchanged\n"
               "  --server URL       braid's query API (BRAID_SERVER, default " CLI_DEFAULT_SERVER
               ")\n"
               "Exit codes: 0 every threshold holds, 1 a fault was found, 2 usage error,\n"
               "3 the server cannot be reached or gave no report.\n");
}

int cli_doctor(int argc, char **argv)
{
    const char *server = cli_env_or("BRAID_SERVER", CLI_DEFAULT_SERVER);
    const char *since = NULL, *service = NULL;
    bool json = false;
    for (int i = 0; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            doctor_usage(stdout);
            return 0;
        } else if ((v = cli_arg_value(&i, argc, argv, "--server"))) {
            server = v;
        } else if ((v = cli_arg_value(&i, argc, argv, "--since"))) {
            since = v;
        } else if ((v = cli_arg_value(&i, argc, argv, "--service"))) {
            service = v;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--server") == 0 || strcmp(argv[i], "--since") == 0 ||
                   strcmp(argv[i], "--service") == 0) {
            fprintf(stderr, "braid doctor: %s needs a value\n", argv[i]);
            return 2;
        } else {
            fprintf(stderr,
                    "braid doctor: unknown argument %s (usage: braid doctor [--since 1h] "
                    "[--service S] [--json] [--server URL])\n",
                    argv[i]);
            return 2;
        }
    }
    uint64_t ns;
    if (since && (parse_duration_ns(since, &ns) || ns == 0)) {
        fprintf(stderr, "braid doctor: --since %s is not a duration like 15m, 1h or 7d\n", since);
        return 2;
    }
    buf url, body;
    buf_init(&url);
    buf_init(&body);
    buf_printf(&url, "%s/api/v1/correlation?", server);
    if (since) {
        buf_puts(&url, "start=");
        cli_url_escape(&url, since);
        buf_putc(&url, '&');
    }
    if (service) {
        buf_puts(&url, "service=");
        cli_url_escape(&url, service);
    }
    buf_putc(&url, 0);
    long status = 0;
    char err[256];
    int code = 3;
    if (url.err || cli_http_get((char *)url.p, &body, &status, err, sizeof err)) {
        cli_print_unreachable(server, url.err ? "out of memory" : err);
    } else if (status != 200) {
        cli_print_server_error(status, &body);
        code = status == 400 ? 2 : 3;
    } else {
        buf out;
        buf_init(&out);
        int rc = cli_render_doctor(body.p, body.n, !json && isatty(1), &out, &code);
        if (rc) {
            if (rc == BRAID_ENOMEM)
                fprintf(stderr, "braid doctor: out of memory\n");
            else
                fprintf(stderr, "braid doctor: the server's answer is not a correlation report; "
                                "is --server a braid query API?\n");
            code = 3;
        } else if (json) {
            fwrite(body.p, 1, body.n, stdout);
            if (!body.n || body.p[body.n - 1] != '\n')
                putchar('\n');
        } else {
            fwrite(out.p, 1, out.n, stdout);
        }
        buf_free(&out);
    }
    buf_free(&url);
    buf_free(&body);
    return code;
}

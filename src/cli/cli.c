/* cli: `braid trace` (a waterfall with each span's log lines under it) and
 * `braid logs` (a log query, optionally followed), as HTTP clients of the
 * query API using libcurl, and the helpers every client subcommand shares
 * (cli/internal.h). Owns nothing beyond one command's run. */
#include "internal.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../json/json.h"

/* ---- HTTP ---- */
static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf *b = ud;
    buf_append(b, p, size * n);
    return b->err ? 0 : size * n;
}

int cli_http_get(const char *url, buf *body, long *status, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot start the HTTP client");
        return BRAID_EIO;
    }
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    else
        snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : BRAID_EIO;
}

void cli_url_escape(buf *url, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            buf_putc(url, c);
        else {
            buf_putc(url, '%');
            buf_putc(url, (uint8_t)hex[c >> 4]);
            buf_putc(url, (uint8_t)hex[c & 15]);
        }
    }
}

const char *cli_env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

void cli_print_server_error(long status, const buf *body)
{
    arena ar;
    arena_init(&ar);
    json_doc d;
    bslice msg = {NULL, 0};
    if (json_parse(&d, body->p, body->n, 16, &ar, NULL, 0) == 0) {
        uint32_t e = json_obj_get(&d, 0, "error");
        if (e != JSON_NONE)
            json_str(&d, e, &ar, &msg);
    }
    if (msg.n)
        fprintf(stderr, "braid: %.*s (HTTP %ld)\n", (int)msg.n, (const char *)msg.p, status);
    else
        fprintf(stderr, "braid: the server answered HTTP %ld\n", status);
    arena_free(&ar);
}

void cli_print_unreachable(const char *server, const char *err)
{
    fprintf(stderr, "braid: cannot reach %s (%s); is `braid serve` running? Set --server.\n",
            server, err);
}

/* ---- trace rendering ---- */
typedef struct {
    uint32_t node;
    bslice id, parent, name, service, status_msg;
    uint64_t start, end;
    bool error, orphan;
    int depth;
    int first_child, next_sibling; /* indexes into the span array, -1 = none */
} rspan;

bslice cli_jstr(const json_doc *d, uint32_t obj, const char *key, arena *ar)
{
    bslice s = {(const uint8_t *)"", 0};
    uint32_t v = json_obj_get(d, obj, key);
    if (v != JSON_NONE && json_type_of(d, v) == JSON_STRING)
        json_str(d, v, ar, &s);
    return s;
}

uint64_t cli_ju64(const json_doc *d, uint32_t obj, const char *key)
{
    uint64_t v = 0;
    uint32_t n = json_obj_get(d, obj, key);
    if (n != JSON_NONE)
        json_get_u64(d, n, &v);
    return v;
}

static void put_value(buf *out, const json_doc *d, uint32_t v)
{
    if (json_type_of(d, v) == JSON_STRING)
        json_str_buf(d, v, out);
    else {
        bslice r = json_raw(d, v);
        buf_append(out, r.p, r.n);
    }
}

static int span_start_cmp(const void *a, const void *b, void *ud)
{
    const rspan *s = ud;
    const rspan *x = &s[*(const int *)a], *y = &s[*(const int *)b];
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static void render_log(buf *out, const json_doc *d, uint32_t l, int depth, uint64_t t0, bool color,
                       arena *ar)
{
    uint64_t t = cli_ju64(d, l, "time_unix_nano");
    bslice sev = cli_jstr(d, l, "severity_text", ar);
    bslice svc = cli_jstr(d, l, "service", ar);
    for (int i = 0; i < depth; i++)
        buf_puts(out, "  ");
    bool err = sev.n && (sev.p[0] == 'E' || sev.p[0] == 'e' || sev.p[0] == 'F' || sev.p[0] == 'f');
    buf_printf(out, "%s  | %+9.3f ms %-5.*s %.*s: ", color && err ? "\x1b[31m" : "",
               t >= t0 ? (double)(t - t0) / 1e6 : -(double)(t0 - t) / 1e6, (int)sev.n,
               (const char *)sev.p, (int)svc.n, (const char *)svc.p);
    uint32_t body = json_obj_get(d, l, "body");
    if (body != JSON_NONE && !json_is_null(d, body))
        put_value(out, d, body);
    uint32_t attrs = json_obj_get(d, l, "attributes");
    json_iter ai;
    json_iter_init(&ai, d, attrs);
    uint32_t ak, av;
    while (json_iter_next(&ai, &ak, &av)) {
        buf_putc(out, ' ');
        json_str_buf(d, ak, out);
        buf_putc(out, '=');
        put_value(out, d, av);
    }
    buf_puts(out, color && err ? "\x1b[0m\n" : "\n");
}

/* Renders the log lines whose span_id is span_id, under that span. */
static void render_logs_of(buf *out, const json_doc *d, uint32_t logs, bslice span_id, int depth,
                           uint64_t t0, bool color, arena *ar)
{
    json_iter it;
    json_iter_init(&it, d, logs);
    uint32_t k, l;
    while (json_iter_next(&it, &k, &l))
        if (bslice_eq(cli_jstr(d, l, "span_id", ar), span_id))
            render_log(out, d, l, depth, t0, color, ar);
}

int cli_render_trace(const uint8_t *json, size_t n, int width, bool color, buf *out)
{
    arena ar;
    arena_init(&ar);
    json_doc d;
    int rc = BRAID_EINVAL;
    rspan *sp = NULL;
    int *order = NULL;
    if (json_parse(&d, json, n, 64, &ar, NULL, 0))
        goto done;
    uint32_t spans = json_obj_get(&d, 0, "spans"), logs = json_obj_get(&d, 0, "logs");
    if (spans == JSON_NONE || logs == JSON_NONE || json_type_of(&d, spans) != JSON_ARRAY)
        goto done;
    size_t ns = json_count(&d, spans);
    sp = calloc(ns ? ns : 1, sizeof *sp);
    order = calloc(ns ? ns : 1, sizeof *order);
    if (!sp || !order) {
        rc = BRAID_ENOMEM;
        goto done;
    }
    json_iter it;
    json_iter_init(&it, &d, spans);
    uint32_t k, v;
    size_t i = 0;
    uint64_t t0 = UINT64_MAX, t1 = 0;
    size_t errors = 0;
    while (json_iter_next(&it, &k, &v)) {
        rspan *s = &sp[i];
        s->node = v;
        s->id = cli_jstr(&d, v, "span_id", &ar);
        s->parent = cli_jstr(&d, v, "parent_span_id", &ar);
        s->name = cli_jstr(&d, v, "name", &ar);
        s->service = cli_jstr(&d, v, "service", &ar);
        s->start = cli_ju64(&d, v, "start_unix_nano");
        s->end = cli_ju64(&d, v, "end_unix_nano");
        uint32_t st = json_obj_get(&d, v, "status");
        if (st != JSON_NONE) {
            s->error = bslice_eq_cstr(cli_jstr(&d, st, "code", &ar), "error");
            s->status_msg = cli_jstr(&d, st, "message", &ar);
        }
        errors += s->error;
        s->first_child = s->next_sibling = -1;
        if (s->start < t0)
            t0 = s->start;
        if (s->end > t1)
            t1 = s->end;
        order[i] = (int)i;
        i++;
    }
    /* Children in start order: link them from the sorted order, last first. */
    qsort_r(order, ns, sizeof *order, span_start_cmp, sp);
    for (size_t j = ns; j-- > 0;) {
        rspan *s = &sp[order[j]];
        int parent = -1;
        if (s->parent.n) {
            for (size_t q = 0; q < ns; q++)
                if (bslice_eq(sp[q].id, s->parent)) {
                    parent = (int)q;
                    break;
                }
            s->orphan = parent < 0;
        }
        if (parent >= 0) {
            s->next_sibling = sp[parent].first_child;
            sp[parent].first_child = order[j];
        }
    }
    if (t0 == UINT64_MAX)
        t0 = t1 = 0;
    uint64_t dur = t1 > t0 ? t1 - t0 : 1;
    char hex[40];
    bslice tid = cli_jstr(&d, 0, "trace_id", &ar);
    snprintf(hex, sizeof hex, "%.*s", (int)(tid.n > 32 ? 32 : tid.n), (const char *)tid.p);
    buf_printf(out, "trace %s  %zu spans  %zu log lines  %zu errors  %.3f ms\n\n", hex, ns,
               (size_t)json_count(&d, logs), errors, (double)dur / 1e6);
    /* Depth-first from every root (no parent) and every orphan (parent missing). */
    int *stack = calloc(ns ? ns : 1, sizeof *stack);
    int *depth = calloc(ns ? ns : 1, sizeof *depth);
    if (!stack || !depth) {
        free(stack);
        free(depth);
        rc = BRAID_ENOMEM;
        goto done;
    }
    for (size_t j = 0; j < ns; j++) {
        rspan *root = &sp[order[j]];
        if (root->parent.n && !root->orphan)
            continue;
        size_t top = 0;
        stack[top] = order[j];
        depth[top++] = 0;
        while (top) {
            top--;
            int idx = stack[top], dep = depth[top];
            rspan *s = &sp[idx];
            char label[256];
            int ll = snprintf(label, sizeof label, "%*s%.*s %.*s", dep * 2, "", (int)s->service.n,
                              (const char *)s->service.p, (int)s->name.n, (const char *)s->name.p);
            if (ll > 48)
                label[48] = 0;
            buf_printf(out, "%s%-48s ", color && s->error ? "\x1b[31m" : "", label);
            int off = (int)((double)(s->start - t0) / (double)dur * width);
            int len =
                (int)((double)(s->end > s->start ? s->end - s->start : 0) / (double)dur * width);
            if (len < 1)
                len = 1;
            if (off >= width)
                off = width - 1;
            if (off + len > width)
                len = width - off;
            buf_putc(out, '|');
            for (int c = 0; c < width; c++)
                buf_puts(out, c >= off && c < off + len ? "\xe2\x96\x88" : " ");
            buf_printf(out, "| %9.3f ms",
                       (double)(s->end > s->start ? s->end - s->start : 0) / 1e6);
            if (s->error)
                buf_printf(out, "  ERROR %.*s", (int)s->status_msg.n,
                           (const char *)s->status_msg.p);
            if (s->orphan)
                buf_printf(out, "  (parent %.*s missing)", (int)s->parent.n,
                           (const char *)s->parent.p);
            buf_puts(out, color && s->error ? "\x1b[0m\n" : "\n");
            render_logs_of(out, &d, logs, s->id, dep + 1, t0, color, &ar);
            /* Push children in reverse so the earliest prints first. */
            int kids[256], nk = 0;
            for (int c = s->first_child; c >= 0 && nk < 256; c = sp[c].next_sibling)
                kids[nk++] = c;
            while (nk-- > 0 && top < ns) {
                stack[top] = kids[nk];
                depth[top++] = dep + 1;
            }
        }
    }
    free(stack);
    free(depth);
    /* Log lines that belong to no span of this trace. */
    bool header = false;
    json_iter_init(&it, &d, logs);
    while (json_iter_next(&it, &k, &v)) {
        bslice sid = cli_jstr(&d, v, "span_id", &ar);
        bool found = false;
        for (size_t q = 0; q < ns && !found; q++)
            found = sid.n && bslice_eq(sp[q].id, sid);
        if (found)
            continue;
        if (!header) {
            buf_puts(out, "\nlog lines outside any span of this trace:\n");
            header = true;
        }
        render_log(out, &d, v, 0, t0, color, &ar);
    }
    rc = out->err;
done:
    free(sp);
    free(order);
    arena_free(&ar);
    return rc;
}

/* ---- argument helpers ---- */
const char *cli_arg_value(int *i, int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int cli_trace(int argc, char **argv)
{
    const char *server = cli_env_or("BRAID_SERVER", CLI_DEFAULT_SERVER), *id = NULL;
    bool json = false;
    for (int i = 0; i < argc; i++) {
        const char *v;
        if ((v = cli_arg_value(&i, argc, argv, "--server")))
            server = v;
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr,
                    "braid trace: unknown flag %s (try: braid trace ID [--json] "
                    "[--server URL])\n",
                    argv[i]);
            return 2;
        } else if (!id)
            id = argv[i];
        else {
            fprintf(stderr, "braid trace: one trace id at a time\n");
            return 2;
        }
    }
    if (!id) {
        fprintf(stderr, "braid trace: give a trace id (usage: braid trace ID [--json])\n");
        return 2;
    }
    buf url, body;
    buf_init(&url);
    buf_init(&body);
    buf_printf(&url, "%s/api/v1/traces/", server);
    cli_url_escape(&url, id);
    buf_putc(&url, 0);
    long status = 0;
    char err[256];
    int code;
    if (url.err || cli_http_get((char *)url.p, &body, &status, err, sizeof err)) {
        cli_print_unreachable(server, err);
        code = 3;
    } else if (status != 200) {
        cli_print_server_error(status, &body);
        code = status == 404 ? 1 : status == 400 ? 2 : 3;
    } else if (json) {
        fwrite(body.p, 1, body.n, stdout);
        putchar('\n');
        code = 0;
    } else {
        buf out;
        buf_init(&out);
        if (cli_render_trace(body.p, body.n, 40, isatty(1), &out)) {
            fprintf(stderr, "braid: the server's answer is not a trace document\n");
            code = 3;
        } else {
            fwrite(out.p, 1, out.n, stdout);
            code = 0;
        }
        buf_free(&out);
    }
    buf_free(&url);
    buf_free(&body);
    return code;
}

/* Prints log rows oldest first; returns the newest time seen (or since). */
static uint64_t print_logs(const buf *body, bool json, uint64_t since)
{
    arena ar;
    arena_init(&ar);
    json_doc d;
    uint64_t newest = since;
    if (json_parse(&d, body->p, body->n, 64, &ar, NULL, 0) == 0) {
        uint32_t logs = json_obj_get(&d, 0, "logs");
        uint32_t cnt = logs == JSON_NONE ? 0 : json_count(&d, logs);
        buf line;
        buf_init(&line);
        for (uint32_t i = cnt; i-- > 0;) {
            uint32_t l = json_arr_get(&d, logs, i);
            uint64_t t = cli_ju64(&d, l, "time_unix_nano");
            if (t > newest)
                newest = t;
            buf_reset(&line);
            if (json) {
                bslice r = json_raw(&d, l);
                buf_append(&line, r.p, r.n);
            } else {
                time_t secs = (time_t)(t / 1000000000ull);
                struct tm tm;
                gmtime_r(&secs, &tm);
                char ts[32];
                strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
                bslice sev = cli_jstr(&d, l, "severity_text", &ar),
                       svc = cli_jstr(&d, l, "service", &ar),
                       tid = cli_jstr(&d, l, "trace_id", &ar);
                buf_printf(&line, "%s.%03uZ %-5.*s %-14.*s ", ts, (unsigned)(t / 1000000ull % 1000),
                           (int)sev.n, (const char *)sev.p, (int)svc.n, (const char *)svc.p);
                uint32_t b = json_obj_get(&d, l, "body");
                if (b != JSON_NONE && !json_is_null(&d, b))
                    put_value(&line, &d, b);
                if (tid.n)
                    buf_printf(&line, "  trace_id=%.*s", (int)tid.n, (const char *)tid.p);
            }
            buf_putc(&line, '\n');
            fwrite(line.p, 1, line.n, stdout);
        }
        buf_free(&line);
    }
    fflush(stdout);
    arena_free(&ar);
    return newest;
}

int cli_logs(int argc, char **argv)
{
    const char *server = cli_env_or("BRAID_SERVER", CLI_DEFAULT_SERVER);
    const char *keys[] = {"--trace-id", "--service", "--severity", "--since", "--limit", "--q"};
    const char *params[] = {"trace_id", "service", "severity", "start", "limit", "q"};
    const char *vals[6] = {0};
    bool follow = false, json = false;
    for (int i = 0; i < argc; i++) {
        const char *v;
        bool matched = false;
        if ((v = cli_arg_value(&i, argc, argv, "--server"))) {
            server = v;
            continue;
        }
        for (int k = 0; k < 6 && !matched; k++)
            if ((v = cli_arg_value(&i, argc, argv, keys[k]))) {
                vals[k] = v;
                matched = true;
            }
        if (matched)
            continue;
        if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--follow") == 0)
            follow = true;
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else {
            fprintf(stderr,
                    "braid logs: unknown argument %s (flags: --trace-id ID --service S "
                    "--severity LEVEL --since 15m --limit N --q TEXT -f --json --server URL)\n",
                    argv[i]);
            return 2;
        }
    }
    uint64_t newest = 0;
    int code = 0;
    for (;;) {
        buf url, body;
        buf_init(&url);
        buf_init(&body);
        buf_printf(&url, "%s/api/v1/logs?", server);
        for (int k = 0; k < 6; k++) {
            if (!vals[k] || (k == 3 && newest))
                continue;
            buf_printf(&url, "%s=", params[k]);
            cli_url_escape(&url, vals[k]);
            buf_putc(&url, '&');
        }
        if (newest)
            buf_printf(&url, "start=%llu.%09llu&",
                       (unsigned long long)((newest + 1) / 1000000000ull),
                       (unsigned long long)((newest + 1) % 1000000000ull));
        buf_putc(&url, 0);
        long status = 0;
        char err[256];
        if (url.err || cli_http_get((char *)url.p, &body, &status, err, sizeof err)) {
            cli_print_unreachable(server, err);
            code = 3;
        } else if (status != 200) {
            cli_print_server_error(status, &body);
            code = status == 400 ? 2 : 3;
        } else {
            uint64_t nw = print_logs(&body, json, newest);
            newest = nw ? nw : now_unix_ns() - 1;
        }
        buf_free(&url);
        buf_free(&body);
        if (!follow || code)
            return code;
        sleep(1);
    }
}

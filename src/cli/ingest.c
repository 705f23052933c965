/* cli/ingest: `braid ingest FILE…|-` reads log files (or stdin) with the same
 * reader the follower uses — runtime formats, joining, splitting, message
 * parsing, trace id extraction, Kubernetes metadata from the path — and sends
 * the records to a running server as OTLP/HTTP protobuf
 * (ExportLogsServiceRequest, POST /v1/logs). For back-filling and tests.
 * Owns nothing beyond one run; retries only what the server asks to retry. */
#include "cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../pb/pb.h"
#include "../tail/tail.h"

#define DEFAULT_OTLP "http://127.0.0.1:4318"
#define READ_CHUNK ((size_t)256 << 10)
#define SEND_RETRIES 10

/* ---- OTLP protobuf ----
 * Field numbers from opentelemetry-proto: ExportLogsServiceRequest
 * {resource_logs=1}; ResourceLogs {resource=1, scope_logs=2}; Resource
 * {attributes=1}; ScopeLogs {scope=1, log_records=2}; InstrumentationScope
 * {name=1}; LogRecord {time_unix_nano=1 fixed64, severity_number=2,
 * severity_text=3, body=5, attributes=6, flags=8 fixed32, trace_id=9,
 * span_id=10, observed_time_unix_nano=11 fixed64}; KeyValue {key=1,
 * value=2}; AnyValue {string=1, bool=2, int=3, double=4, array=5, kvlist=6,
 * bytes=7}; ArrayValue/KeyValueList {values=1}. */
static int put_anyvalue(buf *b, uint32_t field, bslice v, int depth);

/* Writes the entries of an attrs encoding (or a kvlist payload) as KeyValue
 * fields numbered `field`. */
static int put_kvs(buf *b, uint32_t field, bslice attrs, int depth)
{
    av_iter it;
    av_iter_init(&it, attrs);
    bslice k, v;
    int r;
    while ((r = av_iter_next(&it, &k, &v)) == 1) {
        size_t kv = pb_begin(b, field);
        pb_put_slice(b, 1, k);
        int rc = put_anyvalue(b, 2, v, depth + 1);
        if (rc)
            return rc;
        pb_end(b, kv);
    }
    return r < 0 ? r : 0;
}

static int put_anyvalue(buf *b, uint32_t field, bslice v, int depth)
{
    if (depth > AV_MAX_DEPTH)
        return BRAID_EINVAL;
    size_t pos = pb_begin(b, field);
    if (v.n > 0) {
        switch (v.p[0]) {
        case AV_STR:
        case AV_BYTES:
            if (v.n < 5)
                return BRAID_EINVAL;
            pb_put_bytes(b, v.p[0] == AV_STR ? 1 : 7, v.p + 5, rd_u32le(v.p + 1));
            break;
        case AV_BOOL:
            pb_put_bool(b, 2, v.n > 1 && v.p[1]);
            break;
        case AV_INT:
            pb_put_int64(b, 3, v.n >= 9 ? (int64_t)rd_u64le(v.p + 1) : 0);
            break;
        case AV_DOUBLE: {
            double d = 0;
            if (v.n >= 9) {
                uint64_t bits = rd_u64le(v.p + 1);
                memcpy(&d, &bits, sizeof d);
            }
            pb_put_double(b, 4, d);
            break;
        }
        case AV_ARRAY: {
            size_t arr = pb_begin(b, 5);
            const uint8_t *p = v.p + 5, *end = v.p + v.n;
            uint32_t n = v.n >= 5 ? rd_u32le(v.p + 1) : 0;
            for (uint32_t i = 0; i < n; i++) {
                size_t len;
                if (av_value_len(p, (size_t)(end - p), &len) != 0)
                    return BRAID_EINVAL;
                int rc = put_anyvalue(b, 1, (bslice){p, len}, depth + 1);
                if (rc)
                    return rc;
                p += len;
            }
            pb_end(b, arr);
            break;
        }
        case AV_KVLIST: {
            size_t kl = pb_begin(b, 6);
            int rc = put_kvs(b, 1, (bslice){v.p + 1, v.n - 1}, depth);
            if (rc)
                return rc;
            pb_end(b, kl);
            break;
        }
        default:
            break;
        }
    }
    pb_end(b, pos);
    return b->err;
}

static int put_record(buf *b, const model_log *l, const char *file)
{
    size_t rec = pb_begin(b, 2);
    if (l->time_ns)
        pb_put_fixed64(b, 1, l->time_ns);
    if (l->severity_number)
        pb_put_int64(b, 2, l->severity_number);
    if (l->severity_text.n)
        pb_put_slice(b, 3, l->severity_text);
    int rc = l->body.n ? put_anyvalue(b, 5, l->body, 0) : 0;
    if (!rc)
        rc = put_kvs(b, 6, l->attrs, 0);
    if (rc)
        return rc;
    if (file) {
        size_t kv = pb_begin(b, 6);
        pb_put_string(b, 1, "log.file.path");
        size_t av = pb_begin(b, 2);
        pb_put_string(b, 1, file);
        pb_end(b, av);
        pb_end(b, kv);
    }
    if (l->flags)
        pb_put_fixed32(b, 8, l->flags);
    if (!trace_id_is_zero(&l->trace_id))
        pb_put_bytes(b, 9, l->trace_id.b, 16);
    if (!span_id_is_zero(&l->span_id))
        pb_put_bytes(b, 10, l->span_id.b, 8);
    if (l->observed_ns)
        pb_put_fixed64(b, 11, l->observed_ns);
    pb_end(b, rec);
    return b->err;
}

/* One ResourceLogs per distinct origin, its records in batch order. */
static int encode_request(const model_batch *mb, const char *file, buf *out)
{
    buf_reset(out);
    bool *done = calloc(mb->nlogs ? mb->nlogs : 1, sizeof *done);
    if (!done)
        return BRAID_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < mb->nlogs && !rc; i++) {
        if (done[i])
            continue;
        const model_origin *o = mb->logs[i].origin;
        size_t rl = pb_begin(out, 1);
        size_t res = pb_begin(out, 1);
        rc = put_kvs(out, 1, o->resource_attrs, 0);
        pb_end(out, res);
        size_t sl = pb_begin(out, 2);
        size_t sc = pb_begin(out, 1);
        pb_put_string(out, 1, "braid.ingest");
        pb_end(out, sc);
        for (size_t j = i; j < mb->nlogs && !rc; j++)
            if (!done[j] && mb->logs[j].origin == o) {
                done[j] = true;
                rc = put_record(out, &mb->logs[j], file);
            }
        pb_end(out, sl);
        pb_end(out, rl);
    }
    free(done);
    return rc ? rc : out->err;
}

/* ---- sending ---- */
typedef struct {
    const char *url;
    CURL *c;
    buf resp;
    uint64_t sent, requests;
} sender;

static size_t on_resp(char *p, size_t size, size_t n, void *ud)
{
    buf *b = ud;
    buf_append(b, p, size * n);
    return b->err ? 0 : size * n;
}

/* 0 sent; 1 refused by the server (message printed); 3 unreachable. */
static int post(sender *s, const buf *body, size_t nrecords)
{
    for (int attempt = 0;; attempt++) {
        buf_reset(&s->resp);
        char cerr[CURL_ERROR_SIZE] = "";
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
        curl_easy_setopt(s->c, CURLOPT_URL, s->url);
        curl_easy_setopt(s->c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(s->c, CURLOPT_POSTFIELDS, (const char *)body->p);
        curl_easy_setopt(s->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->n);
        curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, on_resp);
        curl_easy_setopt(s->c, CURLOPT_WRITEDATA, &s->resp);
        curl_easy_setopt(s->c, CURLOPT_ERRORBUFFER, cerr);
        curl_easy_setopt(s->c, CURLOPT_CONNECTTIMEOUT, 5L);
        curl_easy_setopt(s->c, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(s->c, CURLOPT_NOSIGNAL, 1L);
        CURLcode rc = curl_easy_perform(s->c);
        curl_slist_free_all(h);
        long status = 0;
        if (rc == CURLE_OK)
            curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && status == 200) {
            s->sent += nrecords;
            s->requests++;
            return 0;
        }
        bool retry =
            rc == CURLE_OK && (status == 429 || status == 502 || status == 503 || status == 504);
        if (retry && attempt < SEND_RETRIES) {
            struct timespec ts = {attempt < 3 ? 0 : 1, attempt < 3 ? 300000000L : 0};
            nanosleep(&ts, NULL);
            continue;
        }
        if (rc != CURLE_OK) {
            fprintf(stderr,
                    "braid ingest: cannot reach %s (%s); is `braid serve` running? Set --otlp.\n",
                    s->url, cerr[0] ? cerr : curl_easy_strerror(rc));
            return 3;
        }
        fprintf(stderr, "braid ingest: the server answered HTTP %ld to %zu records", status,
                nrecords);
        if (s->resp.n)
            fprintf(stderr, ": %.*s", (int)(s->resp.n > 300 ? 300 : s->resp.n),
                    (const char *)s->resp.p);
        fprintf(stderr, "\n");
        return 1;
    }
}

static int send_batch(sender *s, tail_out *o, const char *file, buf *body)
{
    if (o->b.nlogs == 0)
        return 0;
    int rc = encode_request(&o->b, file, body);
    if (rc) {
        fprintf(stderr, "braid ingest: cannot encode records: %s\n", braid_strerror(rc));
        return 1;
    }
    int code = post(s, body, o->b.nlogs);
    tail_out_free(o);
    tail_out_init(o);
    return code;
}

/* Reads one file (NULL path = stdin) through the reader, sending a request
 * every `batch` records. */
static int ingest_stream(sender *s, const char *path, size_t max_line, size_t batch)
{
    FILE *f = path ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "braid ingest: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    tail_reader r;
    tail_out o;
    buf data, body;
    buf_init(&data);
    buf_init(&body);
    tail_out_init(&o);
    int code = tail_reader_init(&r, path ? path : "stdin", max_line) ? 1 : 0;
    bool eof = false;
    while (!code) {
        if (!eof) {
            if (buf_reserve(&data, READ_CHUNK)) {
                code = 1;
                break;
            }
            size_t n = fread(data.p + data.n, 1, READ_CHUNK, f);
            data.n += n;
            if (n == 0) {
                if (ferror(f)) {
                    fprintf(stderr, "braid ingest: reading %s: %s\n", path ? path : "stdin",
                            strerror(errno));
                    code = 1;
                    break;
                }
                eof = true;
            }
        }
        size_t pos = 0;
        for (;;) {
            size_t used;
            int rc = tail_reader_feed(&r, data.p + pos, data.n - pos, eof, &o, batch, &used);
            if (rc) {
                fprintf(stderr, "braid ingest: %s: %s\n", path ? path : "stdin",
                        braid_strerror(rc));
                code = 1;
                break;
            }
            pos += used;
            if (o.b.nlogs < batch)
                break;
            code = send_batch(s, &o, path, &body);
            if (code)
                break;
        }
        memmove(data.p, data.p + pos, data.n - pos);
        data.n -= pos;
        if (eof && !code) {
            if (tail_reader_flush(&r, &o)) {
                code = 1;
                break;
            }
            code = send_batch(s, &o, path, &body);
            break;
        }
    }
    tail_reader_free(&r);
    tail_out_free(&o);
    buf_free(&data);
    buf_free(&body);
    if (path)
        fclose(f);
    return code;
}

static void ingest_usage(FILE *f)
{
    fprintf(f,
            "usage: braid ingest [flags] FILE...|-\n"
            "  Parses log files (or stdin, as -) like `braid serve --tail` does and sends\n"
            "  the records to a running server over OTLP/HTTP.\n"
            "  --otlp URL             OTLP/HTTP endpoint (BRAID_OTLP, default " DEFAULT_OTLP ")\n"
            "  --max-line-size SIZE   longer lines are split (default 1MiB)\n"
            "  --batch N              records per request (default 1000)\n");
}

int cli_ingest(int argc, char **argv)
{
    const char *otlp = getenv("BRAID_OTLP");
    if (!otlp || !*otlp)
        otlp = DEFAULT_OTLP;
    const char *maxline = "1MiB", *batch_s = "1000";
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!files)
        return 1;
    size_t nfiles = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = strcmp(a, "--otlp") == 0            ? &otlp
                           : strcmp(a, "--max-line-size") == 0 ? &maxline
                           : strcmp(a, "--batch") == 0         ? &batch_s
                                                               : NULL;
        if (dst) {
            if (i + 1 >= argc) {
                fprintf(stderr, "braid ingest: %s needs a value\n", a);
                free(files);
                return 2;
            }
            *dst = argv[++i];
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            ingest_usage(stdout);
            free(files);
            return 0;
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "braid ingest: unknown flag %s (see braid ingest --help)\n", a);
            free(files);
            return 2;
        } else {
            files[nfiles++] = a;
        }
    }
    uint64_t ml, bn;
    char *end;
    errno = 0;
    bn = strtoull(batch_s, &end, 10);
    if (nfiles == 0 || parse_size(maxline, &ml) || ml == 0 || *end || errno || bn == 0 ||
        bn > 1000000) {
        ingest_usage(stderr);
        free(files);
        return 2;
    }
    char url[2048];
    size_t ul = strlen(otlp);
    while (ul && otlp[ul - 1] == '/')
        ul--;
    snprintf(url, sizeof url, "%.*s/v1/logs", (int)ul, otlp);
    sender s = {.url = url};
    buf_init(&s.resp);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    s.c = curl_easy_init();
    int code = s.c ? 0 : 3;
    for (size_t i = 0; i < nfiles && !code; i++)
        code =
            ingest_stream(&s, strcmp(files[i], "-") == 0 ? NULL : files[i], (size_t)ml, (size_t)bn);
    if (!code)
        fprintf(stderr, "braid ingest: sent %llu records in %llu requests\n",
                (unsigned long long)s.sent, (unsigned long long)s.requests);
    if (s.c)
        curl_easy_cleanup(s.c);
    curl_global_cleanup();
    buf_free(&s.resp);
    free(files);
    return code;
}

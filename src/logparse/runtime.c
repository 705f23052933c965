/* logparse/runtime: the container runtime layer — which format a physical
 * line is in (CRI, Docker json-file, plain), its stream, time and content —
 * the RFC 3339 and Unix-time parsers the message layer shares, and the joiner
 * that turns partial lines into messages and cuts messages over the size
 * limit into pieces. Pure functions; the joiner's buffers are its caller's. */
#include "internal.h"

#include "../json/json.h"

/* ---- time ---- */
/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil, valid for any year we accept). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const uint8_t *p, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return true;
}

static bool leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int lp_time_prefix(bslice s, uint64_t *ns, bool *zoned, size_t *used)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const uint8_t *p = s.p;
    size_t n = s.n;
    unsigned Y, M, D, h, m, sec;
    if (n < 19 || !digits(p, 4, &Y) || p[4] != '-' || !digits(p + 5, 2, &M) || p[7] != '-' ||
        !digits(p + 8, 2, &D) || (p[10] != 'T' && p[10] != 't' && p[10] != ' ') ||
        !digits(p + 11, 2, &h) || p[13] != ':' || !digits(p + 14, 2, &m) || p[16] != ':' ||
        !digits(p + 17, 2, &sec))
        return 0;
    if (Y < 1970 || Y > 2500 || M < 1 || M > 12 || D < 1 ||
        D > mdays[M - 1] + (M == 2 && leap(Y)) || h > 23 || m > 59 || sec > 60)
        return 0;
    size_t i = 19;
    uint64_t frac = 0;
    if (i < n && (p[i] == '.' || p[i] == ',') && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '9') {
        i++;
        unsigned nd = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (uint64_t)(p[i] - '0');
                nd++;
            }
            i++;
        }
        for (; nd < 9; nd++)
            frac *= 10;
    }
    int64_t off_s = 0;
    bool z = false;
    if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
        z = true;
        i++;
    } else if (i < n && (p[i] == '+' || p[i] == '-')) {
        unsigned oh, om = 0;
        if (i + 3 > n || !digits(p + i + 1, 2, &oh))
            return 0;
        size_t j = i + 3;
        if (j + 3 <= n && p[j] == ':' && digits(p + j + 1, 2, &om))
            j += 3;
        else if (j + 2 <= n && digits(p + j, 2, &om))
            j += 2;
        if (oh > 23 || om > 59)
            return 0;
        off_s = ((int64_t)oh * 3600 + (int64_t)om * 60) * (p[i] == '-' ? -1 : 1);
        z = true;
        i = j;
    }
    int64_t t = days_from_civil(Y, M, D) * 86400 + (int64_t)h * 3600 + (int64_t)m * 60 +
                (int64_t)(sec > 59 ? 59 : sec) - off_s;
    if (t < 0)
        return 0;
    *ns = (uint64_t)t * 1000000000ull + frac;
    if (zoned)
        *zoned = z;
    *used = i;
    return 1;
}

int logparse_time_rfc3339(bslice s, uint64_t *ns, bool *zoned)
{
    size_t used;
    uint64_t v;
    bool z;
    if (!lp_time_prefix(s, &v, &z, &used) || used != s.n)
        return 0;
    *ns = v;
    if (zoned)
        *zoned = z;
    return 1;
}

int logparse_time_epoch(bslice s, uint64_t *ns)
{
    size_t i = 0;
    uint64_t ip = 0;
    while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9') {
        if (i >= 19)
            return 0;
        ip = ip * 10 + (uint64_t)(s.p[i] - '0');
        i++;
    }
    if (i == 0)
        return 0;
    uint64_t frac = 0, fscale = 1;
    if (i < s.n) {
        if (s.p[i] != '.' || i + 1 >= s.n)
            return 0;
        i++;
        while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9') {
            if (fscale < 1000000000ull) {
                frac = frac * 10 + (uint64_t)(s.p[i] - '0');
                fscale *= 10;
            }
            i++;
        }
        if (i != s.n)
            return 0;
    }
    uint64_t unit;
    if (ip < 100000000000ull)
        unit = 1000000000ull; /* seconds: up to the year 5138 */
    else if (ip < 100000000000000ull)
        unit = 1000000ull;
    else if (ip < 100000000000000000ull)
        unit = 1000ull;
    else
        unit = 1;
    uint64_t v = ip * unit + (unit > 1 ? frac * unit / fscale : 0);
    if (v == 0)
        return 0;
    *ns = v;
    return 1;
}

/* ---- runtime formats ---- */
static bslice drop_cr(bslice s)
{
    if (s.n && s.p[s.n - 1] == '\r')
        s.n--;
    return s;
}

/* "<time> <stdout|stderr> <P|F> <msg>" with an RFC 3339 time that has a zone. */
static bool parse_cri(bslice line, logparse_line *out)
{
    size_t sp = 0;
    while (sp < line.n && sp < 48 && line.p[sp] != ' ')
        sp++;
    if (sp >= line.n || line.p[sp] != ' ')
        return false;
    uint64_t t;
    bool zoned;
    if (!logparse_time_rfc3339((bslice){line.p, sp}, &t, &zoned) || !zoned)
        return false;
    const uint8_t *p = line.p + sp + 1;
    size_t left = line.n - sp - 1;
    if (left < 8 || p[6] != ' ' || (p[7] != 'P' && p[7] != 'F'))
        return false;
    uint8_t stream;
    if (memcmp(p, "stdout", 6) == 0)
        stream = LOGPARSE_STDOUT;
    else if (memcmp(p, "stderr", 6) == 0)
        stream = LOGPARSE_STDERR;
    else
        return false;
    if (left > 8 && p[8] != ' ')
        return false;
    out->format = LOGPARSE_CRI;
    out->stream = stream;
    out->partial = p[7] == 'P';
    out->time_ns = t;
    out->msg = left > 8 ? (bslice){p + 9, left - 9} : (bslice){p + 8, 0};
    if (!out->partial)
        out->msg = drop_cr(out->msg);
    return true;
}

/* Docker json-file always writes "log" first, so the prefix is the test. */
static int parse_docker(bslice line, arena *ar, logparse_line *out, bool *ok)
{
    *ok = false;
    json_doc d;
    if (json_parse(&d, line.p, line.n, 1, ar, NULL, 0) != 0 || json_type_of(&d, 0) != JSON_OBJECT)
        return 0;
    uint32_t lg = json_obj_get(&d, 0, "log");
    if (json_type_of(&d, lg) != JSON_STRING)
        return 0;
    uint32_t st = json_obj_get(&d, 0, "stream");
    uint32_t tm = json_obj_get(&d, 0, "time");
    bslice msg;
    int rc = json_str(&d, lg, ar, &msg);
    if (rc)
        return rc == BRAID_ENOMEM ? rc : 0;
    out->format = LOGPARSE_DOCKER;
    out->stream = json_str_eq(&d, st, BSLICE_LIT("stderr")) ? LOGPARSE_STDERR : LOGPARSE_STDOUT;
    out->time_ns = 0;
    if (json_type_of(&d, tm) == JSON_STRING) {
        bslice ts;
        if (json_str(&d, tm, ar, &ts) == 0)
            logparse_time_rfc3339(ts, &out->time_ns, NULL);
    }
    out->partial = !(msg.n && msg.p[msg.n - 1] == '\n');
    if (!out->partial) {
        msg.n--;
        msg = drop_cr(msg);
    }
    out->msg = msg;
    *ok = true;
    return 0;
}

int logparse_runtime(bslice line, arena *ar, logparse_line *out)
{
    memset(out, 0, sizeof *out);
    if (line.n >= 8 && memcmp(line.p, "{\"log\":", 7) == 0) {
        bool ok;
        int rc = parse_docker(line, ar, out, &ok);
        if (rc)
            return rc;
        if (ok)
            return 0;
        memset(out, 0, sizeof *out);
    } else if (line.n >= 29 && line.p[0] >= '0' && line.p[0] <= '9' && parse_cri(line, out)) {
        return 0;
    }
    out->format = LOGPARSE_PLAIN;
    out->stream = LOGPARSE_STDOUT;
    out->msg = drop_cr(line);
    return 0;
}

/* ---- joiner ---- */
#define JOIN_MIN 64

void logparse_joiner_init(logparse_joiner *j, size_t max)
{
    memset(j, 0, sizeof *j);
    j->max = max < JOIN_MIN ? JOIN_MIN : max;
    for (int s = 0; s < LOGPARSE_STREAMS; s++)
        buf_init(&j->acc[s]);
}

void logparse_joiner_free(logparse_joiner *j)
{
    for (int s = 0; s < LOGPARSE_STREAMS; s++)
        buf_free(&j->acc[s]);
}

void logparse_joiner_reset(logparse_joiner *j)
{
    for (int s = 0; s < LOGPARSE_STREAMS; s++) {
        buf_reset(&j->acc[s]);
        j->open[s] = false;
        j->pieces[s] = 0;
    }
}

/* Where to cut n > max bytes so a piece holds at most max bytes and no
 * UTF-8 sequence is torn (a run of continuation bytes longer than three is
 * not UTF-8 anyway, so the cut stays at max then). */
size_t logparse_utf8_cut(const uint8_t *p, size_t max)
{
    size_t cut = max;
    while (cut > 0 && max - cut < 3 && (p[cut] & 0xC0) == 0x80)
        cut--;
    if ((p[cut] & 0xC0) == 0x80 || cut == 0)
        cut = max;
    return cut;
}

static int emit_piece(logparse_joiner *j, int s, bslice msg, bool last, logparse_emit_fn emit,
                      void *ud)
{
    logparse_piece pc = {.msg = msg,
                         .time_ns = j->time_ns[s],
                         .format = j->format[s],
                         .stream = (uint8_t)s,
                         .split = !last || j->pieces[s] > 0,
                         .index = j->pieces[s],
                         .last = last};
    if (!last)
        j->pieces[s]++;
    return emit(ud, &pc);
}

int logparse_joiner_feed(logparse_joiner *j, const logparse_line *l, logparse_emit_fn emit,
                         void *ud)
{
    int s = l->stream < LOGPARSE_STREAMS ? l->stream : 0;
    buf *acc = &j->acc[s];
    if (!j->open[s]) {
        j->open[s] = true;
        j->pieces[s] = 0;
        j->time_ns[s] = l->time_ns;
        j->format[s] = l->format;
        buf_reset(acc);
    }
    bslice data = l->msg;
    int rc = 0;
    while (!rc && acc->n + data.n > j->max) {
        if (acc->n == 0) {
            size_t cut = logparse_utf8_cut(data.p, j->max);
            rc = emit_piece(j, s, (bslice){data.p, cut}, false, emit, ud);
            data.p += cut;
            data.n -= cut;
        } else {
            /* one byte past the piece rides along so the cut can see it */
            size_t take = j->max - acc->n;
            buf_append(acc, data.p, take + 1);
            if (acc->err)
                return BRAID_ENOMEM;
            size_t cut = logparse_utf8_cut(acc->p, j->max);
            acc->n = j->max;
            data.p += take;
            data.n -= take;
            rc = emit_piece(j, s, (bslice){acc->p, cut}, false, emit, ud);
            memmove(acc->p, acc->p + cut, acc->n - cut);
            acc->n -= cut;
        }
    }
    if (rc)
        return rc;
    if (!l->partial && acc->n == 0) {
        j->open[s] = false;
        return emit_piece(j, s, data, true, emit, ud);
    }
    buf_append(acc, data.p, data.n);
    if (acc->err)
        return BRAID_ENOMEM;
    if (l->partial)
        return 0;
    j->open[s] = false;
    rc = emit_piece(j, s, (bslice){acc->p, acc->n}, true, emit, ud);
    buf_reset(acc);
    return rc;
}

int logparse_joiner_flush(logparse_joiner *j, logparse_emit_fn emit, void *ud)
{
    int rc = 0;
    for (int s = 0; s < LOGPARSE_STREAMS && !rc; s++) {
        if (!j->open[s])
            continue;
        j->open[s] = false;
        if (j->acc[s].n)
            rc = emit_piece(j, s, (bslice){j->acc[s].p, j->acc[s].n}, true, emit, ud);
        buf_reset(&j->acc[s]);
    }
    return rc;
}

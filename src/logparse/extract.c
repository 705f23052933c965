/* logparse/extract: which field names carry trace context, how each one's
 * value is spelled, and how candidates are weighed when a line has several;
 * also the search of OTLP records that arrived without a trace id. Names
 * match after normalization (lower case, separators dropped) on the whole
 * path or any tail of it starting at a key boundary. Never matches a value
 * by its shape under another name. The list and its priority: docs/logs.md. */
#include "internal.h"

#include <stdio.h>

/* How a value under a name is read. */
typedef enum {
    P_ANY = 0,   /* trace_id_parse / span_id_parse: hex 32/16, traceparent, decimal */
    P_HEX,       /* 16 or 32 hex digits only */
    P_DEC,       /* Datadog: decimal 64-bit (or 32 hex when 128-bit ids are logged) */
    P_B3,        /* b3 single header: trace-span[-sampled[-parent]] */
    P_UBER,      /* Jaeger uber-trace-id: trace:span:parent:flags, hex without padding */
    P_GCP,       /* projects/<p>/traces/<32 hex> */
    P_FLAGS,     /* W3C trace flags: hex byte or number, bit 0 = sampled */
    P_BOOL,      /* sampled as a boolean */
    P_B3SAMPLED, /* "1", "d", "true" / "0", "false" */
} parse_kind;

typedef enum { W_TRACE = 0, W_SPAN = 1, W_FLAGS = 2 } what_kind;

typedef struct {
    const char *norm; /* normalized name */
    uint8_t len, what, rank, parse;
} id_name;

#define NAME(n, w, r, p)                                                                           \
    {                                                                                              \
        n, sizeof(n) - 1, w, r, p                                                                  \
    }

/* Rank = priority, lower wins. Span names share the rank of their trace
 * family, so the span id comes from the same family as the trace id. */
static const id_name names[] = {
    NAME("oteltraceid", W_TRACE, 1, P_ANY),
    NAME("otelspanid", W_SPAN, 1, P_ANY),
    NAME("oteltracesampled", W_FLAGS, 1, P_BOOL),
    NAME("traceid", W_TRACE, 2, P_ANY),
    NAME("spanid", W_SPAN, 2, P_ANY),
    NAME("traceflags", W_FLAGS, 2, P_FLAGS),
    NAME("traceparent", W_TRACE, 3, P_ANY),
    NAME("xb3traceid", W_TRACE, 4, P_HEX),
    NAME("xb3spanid", W_SPAN, 4, P_HEX),
    NAME("xb3sampled", W_FLAGS, 4, P_B3SAMPLED),
    NAME("b3", W_TRACE, 5, P_B3),
    NAME("ubertraceid", W_TRACE, 6, P_UBER),
    NAME("ddtraceid", W_TRACE, 7, P_DEC),
    NAME("ddspanid", W_SPAN, 7, P_DEC),
    NAME("logginggoogleapiscomtrace", W_TRACE, 8, P_GCP),
    NAME("logginggoogleapiscomspanid", W_SPAN, 8, P_HEX),
    NAME("logginggoogleapiscomtracesampled", W_FLAGS, 8, P_BOOL),
};
#define NNAMES (sizeof names / sizeof names[0])
#define NORM_MAX 160

void lp_ids_init(lp_ids *c, arena *ar)
{
    memset(c, 0, sizeof *c);
    c->ar = ar;
    c->trace_rank = LP_RANKS;
}

static inline uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static inline bool alnum(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool lp_ids_interesting(bslice k)
{
    /* every name ends in "id", "parent", "b3", "trace", "flags" or "sampled":
     * look at the last two letters or digits */
    uint8_t a = 0, b = 0;
    for (size_t i = k.n; i > 0; i--) {
        uint8_t c = lower(k.p[i - 1]);
        if (!alnum(c))
            continue;
        if (!b)
            b = c;
        else {
            a = c;
            break;
        }
    }
    return (a == 'i' && b == 'd') || (a == 'n' && b == 't') || (a == 'b' && b == '3') ||
           (a == 'c' && b == 'e') || (a == 'g' && b == 's') || (a == 'e' && b == 'd');
}

/* Normalizes the path into out with the start of each key part (split at
 * '.' and between path elements) in starts. Returns false when too long. */
static bool normalize(const bslice *path, size_t npath, char *out, size_t *n, uint8_t *starts,
                      size_t *nstarts)
{
    size_t o = 0, ns = 0;
    for (size_t i = 0; i < npath; i++) {
        bool at_start = true;
        for (size_t j = 0; j < path[i].n; j++) {
            uint8_t c = path[i].p[j];
            if (c == '.') {
                at_start = true;
                continue;
            }
            if (at_start) {
                if (ns >= LP_PATH_MAX * 2)
                    return false;
                starts[ns++] = (uint8_t)o;
                at_start = false;
            }
            if (!alnum(c))
                continue;
            if (o >= NORM_MAX)
                return false;
            out[o++] = (char)lower(c);
        }
    }
    *n = o;
    *nstarts = ns;
    return true;
}

static const id_name *lookup(const bslice *path, size_t npath)
{
    char norm[NORM_MAX];
    uint8_t starts[LP_PATH_MAX * 2];
    size_t n, ns;
    if (!normalize(path, npath, norm, &n, starts, &ns))
        return NULL;
    /* the longest tail first: "dd.trace_id" is Datadog's before it is "trace_id" */
    for (size_t s = 0; s < ns; s++) {
        size_t len = n - starts[s];
        const char *t = norm + starts[s];
        for (size_t i = 0; i < NNAMES; i++)
            if (names[i].len == len && memcmp(names[i].norm, t, len) == 0)
                return &names[i];
    }
    return NULL;
}

static int hexv(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static bool all_hex(bslice s)
{
    for (size_t i = 0; i < s.n; i++)
        if (hexv(s.p[i]) < 0)
            return false;
    return s.n > 0;
}

static bslice trim(bslice s)
{
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.n--;
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

/* Left-pads hex digits with zeros to 16 or 32 (Jaeger drops leading zeros). */
static bool pad_hex(bslice s, size_t width, char *out)
{
    if (s.n == 0 || s.n > width || !all_hex(s))
        return false;
    memset(out, '0', width - s.n);
    memcpy(out + width - s.n, s.p, s.n);
    return true;
}

typedef struct {
    bool trace_ok, span_ok, sampled_known, sampled;
    trace_id_t t;
    span_id_t s;
    uint8_t form;
} parsed;

static bool truthy(bslice s, bool *out)
{
    s = trim(s);
    if (bslice_eq_nocase(s, "true") || bslice_eq_cstr(s, "1") || bslice_eq_nocase(s, "yes")) {
        *out = true;
        return true;
    }
    if (bslice_eq_nocase(s, "false") || bslice_eq_cstr(s, "0") || bslice_eq_nocase(s, "no")) {
        *out = false;
        return true;
    }
    return false;
}

static void parse_trace(const id_name *nm, lp_value v, parsed *r)
{
    memset(r, 0, sizeof *r);
    if (v.type == LPV_BYTES) {
        if (v.s.n == 16) {
            memcpy(r->t.b, v.s.p, 16);
            r->trace_ok = !trace_id_is_zero(&r->t);
            r->form = ID_FORM_BINARY;
        }
        return;
    }
    if (v.type != LPV_STR && v.type != LPV_NUM)
        return;
    bslice s = trim(v.s);
    id_form f = ID_FORM_NONE;
    switch (nm->parse) {
    case P_ANY: {
        uint8_t fl = 0;
        r->trace_ok = trace_id_parse(s, &r->t, &f, &r->s, &fl) == 1;
        if (r->trace_ok && f == ID_FORM_TRACEPARENT) {
            r->span_ok = !span_id_is_zero(&r->s);
            r->sampled_known = true;
            r->sampled = fl & 1;
        }
        break;
    }
    case P_HEX:
        if ((s.n == 16 || s.n == 32) && all_hex(s))
            r->trace_ok = trace_id_parse(s, &r->t, &f, NULL, NULL) == 1;
        break;
    case P_DEC:
        if (s.n == 32 && all_hex(s)) {
            r->trace_ok = trace_id_parse(s, &r->t, &f, NULL, NULL) == 1;
        } else {
            r->trace_ok = trace_id_parse_dec(s, &r->t) == 1;
            f = ID_FORM_DECIMAL;
        }
        break;
    case P_B3: {
        /* {trace}-{span}[-{sampled}[-{parent}]]; a lone "0"/"1"/"d" has no ids */
        size_t d1 = 0;
        while (d1 < s.n && s.p[d1] != '-')
            d1++;
        bslice tr = {s.p, d1};
        if (d1 >= s.n || (tr.n != 16 && tr.n != 32) || !all_hex(tr))
            break;
        size_t d2 = d1 + 1;
        while (d2 < s.n && s.p[d2] != '-')
            d2++;
        bslice sp = {s.p + d1 + 1, d2 - d1 - 1};
        if (sp.n != 16 || !all_hex(sp))
            break;
        r->trace_ok = trace_id_parse(tr, &r->t, &f, NULL, NULL) == 1;
        r->span_ok = span_id_parse(sp, &r->s, NULL) == 1;
        if (d2 + 1 < s.n) {
            uint8_t c = s.p[d2 + 1];
            if (c == '1' || c == 'd' || c == '0') {
                r->sampled_known = true;
                r->sampled = c != '0';
            }
        }
        break;
    }
    case P_UBER: {
        /* {trace}:{span}:{parent}:{flags}; ids are hex without leading zeros */
        bslice part[4];
        size_t np = 0, st = 0;
        for (size_t i = 0; i <= s.n && np < 4; i++)
            if (i == s.n || s.p[i] == ':') {
                part[np++] = (bslice){s.p + st, i - st};
                st = i + 1;
            }
        if (np != 4 || st <= s.n)
            break;
        char tb[32], sb[16];
        size_t w = part[0].n <= 16 ? 16 : 32;
        if (!pad_hex(part[0], w, tb) || !pad_hex(part[1], 16, sb))
            break;
        r->trace_ok = trace_id_parse((bslice){(const uint8_t *)tb, w}, &r->t, &f, NULL, NULL) == 1;
        r->span_ok = span_id_parse((bslice){(const uint8_t *)sb, 16}, &r->s, NULL) == 1;
        if (part[3].n && part[3].n <= 2 && all_hex(part[3])) {
            r->sampled_known = true;
            r->sampled = hexv(part[3].p[part[3].n - 1]) & 1;
        }
        break;
    }
    case P_GCP: {
        size_t i = s.n;
        while (i > 0 && s.p[i - 1] != '/')
            i--;
        bslice h = {s.p + i, s.n - i};
        if (h.n == 32 && all_hex(h))
            r->trace_ok = trace_id_parse(h, &r->t, &f, NULL, NULL) == 1;
        break;
    }
    default:
        break;
    }
    r->form = (uint8_t)f;
}

static bool parse_span(const id_name *nm, lp_value v, span_id_t *out)
{
    if (v.type == LPV_BYTES) {
        if (v.s.n != 8)
            return false;
        memcpy(out->b, v.s.p, 8);
        return !span_id_is_zero(out);
    }
    if (v.type != LPV_STR && v.type != LPV_NUM)
        return false;
    bslice s = trim(v.s);
    switch (nm->parse) {
    case P_HEX:
        return s.n == 16 && all_hex(s) && span_id_parse(s, out, NULL) == 1;
    case P_DEC:
        return span_id_parse_dec(s, out) == 1;
    default:
        return span_id_parse(s, out, NULL) == 1;
    }
}

static bool parse_flags(const id_name *nm, lp_value v, bool *sampled)
{
    if (v.type == LPV_BOOL) {
        *sampled = v.b;
        return true;
    }
    if (v.type != LPV_STR && v.type != LPV_NUM)
        return false;
    bslice s = trim(v.s);
    switch (nm->parse) {
    case P_FLAGS:
        if (s.n == 0 || s.n > 2 || !all_hex(s))
            return false;
        *sampled = hexv(s.p[s.n - 1]) & 1;
        return true;
    case P_B3SAMPLED:
        if (bslice_eq_cstr(s, "d")) {
            *sampled = true;
            return true;
        }
        return truthy(s, sampled);
    default:
        return truthy(s, sampled);
    }
}

/* Joins the path as written ("trace" + "id" -> "trace.id") into the arena. */
static bslice join_path(lp_ids *c, const bslice *path, size_t npath)
{
    size_t n = 0;
    for (size_t i = 0; i < npath; i++)
        n += path[i].n + (i > 0);
    if (npath == 1)
        return path[0];
    uint8_t *p = arena_alloc(c->ar, n ? n : 1);
    if (!p) {
        c->err = BRAID_ENOMEM;
        return (bslice){NULL, 0};
    }
    size_t o = 0;
    for (size_t i = 0; i < npath; i++) {
        if (i)
            p[o++] = '.';
        if (path[i].n)
            memcpy(p + o, path[i].p, path[i].n);
        o += path[i].n;
    }
    return (bslice){p, n};
}

static void take_trace(lp_ids *c, uint8_t rank, const parsed *r, bslice field)
{
    if (c->trace_rank < LP_RANKS && c->tr_sampled_known && !c->alt_known) {
        c->alt_known = true;
        c->alt_sampled = c->tr_sampled;
        c->alt_trace = c->trace;
    }
    c->trace_rank = rank;
    c->trace = r->t;
    c->form = r->form;
    c->field = field;
    c->tr_sampled_known = r->sampled_known;
    c->tr_sampled = r->sampled;
}

/* tr: the trace id the span came with, or NULL for a span field of its own */
static void offer_span(lp_ids *c, uint8_t rank, const span_id_t *s, const trace_id_t *tr)
{
    if (rank < LP_RANKS && !c->has_span[rank]) {
        c->has_span[rank] = true;
        c->span[rank] = *s;
        c->span_bound[rank] = tr != NULL;
        if (tr)
            c->span_trace[rank] = *tr;
    }
}

static bool span_fits(const lp_ids *c, int r)
{
    return c->has_span[r] && (!c->span_bound[r] || memcmp(c->span_trace[r].b, c->trace.b, 16) == 0);
}

int lp_ids_offer(lp_ids *c, const bslice *path, size_t npath, lp_value v)
{
    if (npath == 0 || npath > LP_PATH_MAX || !lp_ids_interesting(path[npath - 1]))
        return 0;
    const id_name *nm = lookup(path, npath);
    if (!nm)
        return 0;
    if (nm->what == W_TRACE) {
        parsed r;
        parse_trace(nm, v, &r);
        if (!r.trace_ok)
            return 0;
        if (nm->rank < c->trace_rank) {
            bslice f = join_path(c, path, npath);
            if (c->err)
                return c->err;
            take_trace(c, nm->rank, &r, f);
        } else if (r.sampled_known && !c->alt_known) {
            c->alt_known = true;
            c->alt_sampled = r.sampled;
            c->alt_trace = r.t;
        }
        if (r.span_ok)
            offer_span(c, nm->rank, &r.s, &r.t);
    } else if (nm->what == W_SPAN) {
        span_id_t s;
        if (parse_span(nm, v, &s))
            offer_span(c, nm->rank, &s, NULL);
    } else {
        bool sm;
        if (!c->flags_known && parse_flags(nm, v, &sm)) {
            c->flags_known = true;
            c->flags_sampled = sm;
        }
    }
    return 0;
}

void lp_ids_offer_bare_traceparent(lp_ids *c, bslice v)
{
    static const id_name bare = NAME("traceparent", W_TRACE, LP_RANKS - 1, P_ANY);
    parsed r;
    parse_trace(&bare, (lp_value){.type = LPV_STR, .s = v}, &r);
    if (!r.trace_ok || r.form != ID_FORM_TRACEPARENT)
        return;
    if (bare.rank < c->trace_rank) {
        take_trace(c, bare.rank, &r, BSLICE_LIT("traceparent"));
    } else if (!c->alt_known) {
        c->alt_known = true;
        c->alt_sampled = r.sampled;
        c->alt_trace = r.t;
    }
    if (r.span_ok)
        offer_span(c, bare.rank, &r.s, &r.t);
}

void lp_ids_finish(const lp_ids *c, logparse_ids *out)
{
    memset(out, 0, sizeof *out);
    if (c->trace_rank >= LP_RANKS)
        return;
    out->trace_id = c->trace;
    out->form = c->form;
    out->field = c->field;
    if (span_fits(c, c->trace_rank)) {
        out->span_id = c->span[c->trace_rank];
    } else {
        for (int r = 0; r < LP_RANKS; r++)
            if (span_fits(c, r)) {
                out->span_id = c->span[r];
                break;
            }
    }
    if (c->tr_sampled_known) {
        out->sampled_known = true;
        out->sampled = c->tr_sampled;
    } else if (c->flags_known) {
        out->sampled_known = true;
        out->sampled = c->flags_sampled;
    } else if (c->alt_known && memcmp(c->alt_trace.b, c->trace.b, 16) == 0) {
        out->sampled_known = true;
        out->sampled = c->alt_sampled;
    }
}

/* ---- OTLP records ---- */
/* Walks an attrs encoding (or a kvlist payload) offering every string, int,
 * bool and bytes value by path; kvlists are descended, arrays are not (ids in
 * a list belong to other traces). */
static int walk_attrs(lp_ids *c, bslice attrs, bslice *path, size_t depth)
{
    if (depth >= LP_PATH_MAX)
        return 0;
    av_iter it;
    av_iter_init(&it, attrs);
    bslice k, v;
    int r;
    while ((r = av_iter_next(&it, &k, &v)) == 1) {
        if (v.n == 0)
            continue;
        path[depth] = k;
        lp_value lv = {.type = LPV_STR};
        switch (v.p[0]) {
        case AV_STR:
        case AV_BYTES:
            if (v.n < 5)
                continue;
            lv.type = v.p[0] == AV_STR ? LPV_STR : LPV_BYTES;
            lv.s = (bslice){v.p + 5, rd_u32le(v.p + 1)};
            break;
        case AV_INT: {
            if (v.n < 9)
                continue;
            int64_t x = (int64_t)rd_u64le(v.p + 1);
            char tmp[24];
            int n = snprintf(tmp, sizeof tmp, "%lld", (long long)x);
            lv.type = LPV_NUM;
            lv.s = (bslice){(const uint8_t *)tmp, (size_t)n};
            int rc = lp_ids_offer(c, path, depth + 1, lv);
            if (rc)
                return rc;
            continue;
        }
        case AV_BOOL:
            if (v.n < 2)
                continue;
            lv.type = LPV_BOOL;
            lv.b = v.p[1] != 0;
            break;
        case AV_KVLIST: {
            int rc = walk_attrs(c, (bslice){v.p + 1, v.n - 1}, path, depth + 1);
            if (rc)
                return rc;
            continue;
        }
        default:
            continue;
        }
        int rc = lp_ids_offer(c, path, depth + 1, lv);
        if (rc)
            return rc;
    }
    return 0;
}

int logparse_extract_record(const model_log *l, arena *ar, logparse_ids *out)
{
    lp_ids c;
    lp_ids_init(&c, ar);
    bslice path[LP_PATH_MAX];
    int rc = walk_attrs(&c, l->attrs, path, 0);
    if (!rc && l->body.n > 0) {
        if (l->body.p[0] == AV_KVLIST)
            rc = walk_attrs(&c, (bslice){l->body.p + 1, l->body.n - 1}, path, 0);
        else if (l->body.p[0] == AV_STR && l->body.n >= 5) {
            bslice s = {l->body.p + 5, rd_u32le(l->body.p + 1)};
            if (s.n <= l->body.n - 5)
                rc = lp_ids_from_message(s, ar, &c);
        }
    }
    if (!rc)
        rc = c.err;
    if (rc)
        return rc;
    lp_ids_finish(&c, out);
    return out->form != ID_FORM_NONE;
}

int logparse_fill_batch(model_batch *b)
{
    int filled = 0;
    for (size_t i = 0; i < b->nlogs; i++) {
        model_log *l = &b->logs[i];
        if (!trace_id_is_zero(&l->trace_id))
            continue;
        logparse_ids ids;
        int r = logparse_extract_record(l, &b->ar, &ids);
        if (r < 0)
            return r;
        if (r == 0)
            continue;
        l->trace_id = ids.trace_id;
        if (span_id_is_zero(&l->span_id))
            l->span_id = ids.span_id;
        l->id_form = ids.form;
        if (model_batch_keep(b, ids.field.p, ids.field.n, &l->id_field))
            return BRAID_ENOMEM;
        if (ids.sampled_known && ids.sampled)
            l->flags |= 0x01;
        filled++;
    }
    return filled;
}

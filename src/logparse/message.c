/* logparse/message: one message to its parts — JSON objects (any nesting),
 * logfmt, or text with a leading time and level and key=value fragments.
 * Picks message, level, time and service by name, turns the rest into
 * attributes and offers every field to the trace id collector on the way.
 * Writes only to the caller's arena and buf; never fails on bad input: what
 * is not JSON or logfmt is text. */
#include "internal.h"

#include "../json/json.h"

/* ---- severity ---- */
typedef struct {
    const char *name;
    uint8_t len;
    int32_t num;
} sev_name;

#define SEV(n, v)                                                                                  \
    {                                                                                              \
        n, sizeof(n) - 1, v                                                                        \
    }
static const sev_name sev_names[] = {
    SEV("trace", 1),   SEV("trc", 1),         SEV("finest", 1),  SEV("finer", 1),
    SEV("verbose", 1), SEV("vrb", 1),         SEV("t", 1),       SEV("debug", 5),
    SEV("dbg", 5),     SEV("fine", 5),        SEV("d", 5),       SEV("info", 9),
    SEV("inf", 9),     SEV("information", 9), SEV("i", 9),       SEV("informational", 9),
    SEV("notice", 10), SEV("warn", 13),       SEV("wrn", 13),    SEV("warning", 13),
    SEV("w", 13),      SEV("error", 17),      SEV("err", 17),    SEV("eror", 17),
    SEV("severe", 17), SEV("e", 17),          SEV("dpanic", 19), SEV("fatal", 21),
    SEV("ftl", 21),    SEV("critical", 21),   SEV("crit", 21),   SEV("panic", 21),
    SEV("emerg", 21),  SEV("emergency", 21),  SEV("alert", 21),  SEV("f", 21),
};

static const char *const sev_canon[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

int32_t logparse_severity(bslice s)
{
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.n--;
    if (s.n == 0 || s.n > 16)
        return 0;
    if (s.p[0] >= '0' && s.p[0] <= '9') {
        /* pino and bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal */
        if (s.n == 2 && s.p[1] == '0' && s.p[0] >= '1' && s.p[0] <= '6')
            return 1 + 4 * (s.p[0] - '1');
        return 0;
    }
    for (size_t i = 0; i < sizeof sev_names / sizeof sev_names[0]; i++)
        if (sev_names[i].len == s.n && bslice_eq_nocase(s, sev_names[i].name))
            return sev_names[i].num;
    return 0;
}

static bslice sev_text_for_number(bslice raw)
{
    int32_t n = logparse_severity(raw);
    int k = n <= 1 ? 0 : n <= 5 ? 1 : n <= 12 ? 2 : n <= 16 ? 3 : n <= 20 ? 4 : 5;
    return bslice_cstr(sev_canon[k]);
}

/* ---- field names ---- */
typedef enum { F_OTHER = 0, F_MSG, F_LEVEL, F_TIME, F_SERVICE } field_kind;

typedef struct {
    const char *name;
    uint8_t len, kind, prio;
} field_name;

/* Lower prio wins when a line has several of a kind. */
#define FLD(n, k, p)                                                                               \
    {                                                                                              \
        n, sizeof(n) - 1, k, p                                                                     \
    }
static const field_name field_names[] = {
    FLD("msg", F_MSG, 0),
    FLD("message", F_MSG, 1),
    FLD("@m", F_MSG, 2),
    FLD("log", F_MSG, 3),
    FLD("event", F_MSG, 4),
    FLD("level", F_LEVEL, 0),
    FLD("lvl", F_LEVEL, 1),
    FLD("severity", F_LEVEL, 2),
    FLD("loglevel", F_LEVEL, 3),
    FLD("log_level", F_LEVEL, 4),
    FLD("log.level", F_LEVEL, 5),
    FLD("levelname", F_LEVEL, 6),
    FLD("level_name", F_LEVEL, 7),
    FLD("@l", F_LEVEL, 8),
    FLD("severity_text", F_LEVEL, 9),
    FLD("time", F_TIME, 0),
    FLD("ts", F_TIME, 1),
    FLD("timestamp", F_TIME, 2),
    FLD("@timestamp", F_TIME, 3),
    FLD("@t", F_TIME, 4),
    FLD("t", F_TIME, 5),
    FLD("datetime", F_TIME, 6),
    FLD("asctime", F_TIME, 7),
    FLD("service.name", F_SERVICE, 0),
    FLD("service_name", F_SERVICE, 1),
    FLD("service", F_SERVICE, 2),
};

static const field_name *classify(bslice key)
{
    if (key.n == 0 || key.n > 16)
        return NULL;
    for (size_t i = 0; i < sizeof field_names / sizeof field_names[0]; i++)
        if (field_names[i].len == key.n && bslice_eq_nocase(key, field_names[i].name))
            return &field_names[i];
    return NULL;
}

/* ---- the parse context ---- */
typedef struct {
    arena *ar;
    buf *attrs;
    uint32_t nattrs;
    lp_ids ids;
    logparse_msg *out;
    /* chosen fields: priority (255 = none) */
    uint8_t msg_prio, level_prio, time_prio, svc_prio;
} pctx;

static bslice trim(bslice s)
{
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t' || s.p[0] == '\r' || s.p[0] == '\n'))
        s.p++, s.n--;
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t' || s.p[s.n - 1] == '\r' ||
                   s.p[s.n - 1] == '\n'))
        s.n--;
    return s;
}

/* A time field's value: RFC 3339, or a Unix time as digits. */
static bool time_value(bslice s, uint64_t *ns, bool *zoned)
{
    s = trim(s);
    if (logparse_time_rfc3339(s, ns, zoned))
        return true;
    if (logparse_time_epoch(s, ns)) {
        *zoned = true;
        return true;
    }
    return false;
}

/* ---- JSON ---- */
static int json_key(const json_doc *d, uint32_t k, arena *ar, bslice *out)
{
    return json_str(d, k, ar, out);
}

static int put_json(pctx *x, const json_doc *d, uint32_t v, bslice *path, size_t depth,
                    bool in_array);

/* Writes the members of object o as attrs/kvlist entries; returns the count
 * through *count. skip[] lists member value nodes to leave out (top level). */
static int put_members(pctx *x, const json_doc *d, uint32_t o, bslice *path, size_t depth,
                       bool in_array, const uint32_t *skip, size_t nskip, uint32_t *count)
{
    json_iter it;
    json_iter_init(&it, d, o);
    uint32_t k, v;
    uint32_t n = 0;
    while (json_iter_next(&it, &k, &v)) {
        bool skipped = false;
        for (size_t s = 0; s < nskip; s++)
            skipped |= skip[s] == v;
        if (skipped)
            continue;
        bslice key;
        int rc = json_key(d, k, x->ar, &key);
        if (rc)
            return rc;
        av_put_key(x->attrs, key);
        if (depth < LP_PATH_MAX)
            path[depth] = key;
        rc = put_json(x, d, v, path, depth + 1, in_array);
        if (rc)
            return rc;
        n++;
    }
    *count = n;
    return x->attrs->err;
}

static int put_json(pctx *x, const json_doc *d, uint32_t v, bslice *path, size_t depth,
                    bool in_array)
{
    buf *b = x->attrs;
    bool offer = !in_array && depth <= LP_PATH_MAX;
    switch (json_type_of(d, v)) {
    case JSON_NULL:
        av_put_empty(b);
        return b->err;
    case JSON_TRUE:
    case JSON_FALSE: {
        bool t = json_type_of(d, v) == JSON_TRUE;
        av_put_bool(b, t);
        if (offer)
            return lp_ids_offer(&x->ids, path, depth, (lp_value){.type = LPV_BOOL, .b = t});
        return b->err;
    }
    case JSON_NUMBER: {
        bslice raw = json_raw(d, v);
        bool frac = false;
        for (size_t i = 0; i < raw.n; i++)
            frac |= raw.p[i] == '.' || raw.p[i] == 'e' || raw.p[i] == 'E';
        int64_t iv;
        double dv = 0;
        if (!frac && json_get_i64(d, v, &iv) == 0)
            av_put_int(b, iv);
        else {
            json_get_double(d, v, &dv);
            av_put_double(b, dv);
        }
        if (offer)
            return lp_ids_offer(&x->ids, path, depth, (lp_value){.type = LPV_NUM, .s = raw});
        return b->err;
    }
    case JSON_STRING: {
        buf_putc(b, AV_STR);
        size_t lenpos = b->n;
        buf_put_u32le(b, 0);
        json_str_buf(d, v, b);
        if (b->err)
            return b->err;
        size_t n = b->n - lenpos - 4;
        wr_u32le(b->p + lenpos, (uint32_t)n);
        if (offer && lp_ids_interesting(path[depth - 1]))
            return lp_ids_offer(&x->ids, path, depth,
                                (lp_value){.type = LPV_STR, .s = {b->p + lenpos + 4, n}});
        return 0;
    }
    case JSON_ARRAY: {
        size_t pos = av_begin_array(b);
        json_iter it;
        json_iter_init(&it, d, v);
        uint32_t k, e, n = 0;
        while (json_iter_next(&it, &k, &e)) {
            int rc = put_json(x, d, e, path, depth, true);
            if (rc)
                return rc;
            n++;
        }
        av_end_count(b, pos, n);
        return b->err;
    }
    case JSON_OBJECT: {
        size_t pos = av_begin_kvlist(b);
        uint32_t n;
        int rc = put_members(x, d, v, path, depth, in_array, NULL, 0, &n);
        if (rc)
            return rc;
        av_end_count(b, pos, n);
        return b->err;
    }
    }
    return 0;
}

/* Picks message, level, time and service among the top-level members (and
 * ECS's nested log.level / service.name). Returns the member value nodes
 * consumed (left out of the attributes). */
static int json_pick(pctx *x, const json_doc *d, uint32_t *skip, size_t *nskip)
{
    logparse_msg *o = x->out;
    uint32_t msg_v = JSON_NONE, lvl_v = JSON_NONE, time_v = JSON_NONE;
    uint64_t time_ns = 0;
    bool time_zoned = false;
    json_iter it;
    json_iter_init(&it, d, 0);
    uint32_t k, v;
    while (json_iter_next(&it, &k, &v)) {
        bslice key;
        int rc = json_key(d, k, x->ar, &key);
        if (rc)
            return rc;
        json_type t = json_type_of(d, v);
        if (t == JSON_OBJECT &&
            (bslice_eq_nocase(key, "log") || bslice_eq_nocase(key, "service"))) {
            bool is_log = bslice_eq_nocase(key, "log");
            uint32_t in = json_obj_get(d, v, is_log ? "level" : "name");
            if (json_type_of(d, in) == JSON_STRING) {
                bslice s;
                rc = json_str(d, in, x->ar, &s);
                if (rc)
                    return rc;
                if (is_log && x->level_prio > 5 && logparse_severity(s)) {
                    /* nested: used, but the object stays an attribute */
                    x->level_prio = 5;
                    lvl_v = JSON_NONE;
                    o->severity_number = logparse_severity(s);
                    o->severity_text = s;
                } else if (!is_log && x->svc_prio > 0) {
                    x->svc_prio = 0;
                    o->service = s;
                }
            }
            continue;
        }
        const field_name *f = classify(key);
        if (!f)
            continue;
        if (f->kind == F_MSG && t == JSON_STRING && f->prio < x->msg_prio) {
            x->msg_prio = f->prio;
            msg_v = v;
        } else if (f->kind == F_LEVEL && f->prio < x->level_prio &&
                   (t == JSON_STRING || t == JSON_NUMBER)) {
            bslice s;
            if (t == JSON_STRING) {
                rc = json_str(d, v, x->ar, &s);
                if (rc)
                    return rc;
            } else {
                s = json_raw(d, v);
            }
            int32_t sev = logparse_severity(s);
            if (sev) {
                x->level_prio = f->prio;
                lvl_v = v;
                o->severity_number = sev;
                o->severity_text = t == JSON_NUMBER ? sev_text_for_number(s) : s;
            }
        } else if (f->kind == F_TIME && f->prio < x->time_prio &&
                   (t == JSON_STRING || t == JSON_NUMBER)) {
            bslice s;
            if (t == JSON_STRING) {
                rc = json_str(d, v, x->ar, &s);
                if (rc)
                    return rc;
            } else {
                s = json_raw(d, v);
            }
            uint64_t ns;
            bool z;
            if (time_value(s, &ns, &z)) {
                x->time_prio = f->prio;
                time_v = v;
                time_ns = ns;
                time_zoned = z;
            }
        } else if (f->kind == F_SERVICE && t == JSON_STRING && f->prio < x->svc_prio) {
            bslice s;
            rc = json_str(d, v, x->ar, &s);
            if (rc)
                return rc;
            if (s.n) {
                x->svc_prio = f->prio;
                o->service = s;
            }
        }
    }
    size_t n = 0;
    if (msg_v != JSON_NONE) {
        int rc = json_str(d, msg_v, x->ar, &o->body);
        if (rc)
            return rc;
        skip[n++] = msg_v;
    }
    if (lvl_v != JSON_NONE)
        skip[n++] = lvl_v;
    if (time_v != JSON_NONE) {
        skip[n++] = time_v;
        o->time_ns = time_ns;
        o->time_zoned = time_zoned;
    }
    *nskip = n;
    return 0;
}

/* 1 when msg is a JSON object and was parsed; 0 when it is not JSON. */
static int parse_json(pctx *x, bslice msg)
{
    json_doc d;
    if (json_parse(&d, msg.p, msg.n, AV_MAX_DEPTH - 1, x->ar, NULL, 0) != 0 ||
        json_type_of(&d, 0) != JSON_OBJECT)
        return 0;
    x->out->kind = LOGPARSE_JSON;
    uint32_t skip[3];
    size_t nskip;
    int rc = json_pick(x, &d, skip, &nskip);
    if (rc)
        return rc;
    bslice path[LP_PATH_MAX];
    uint32_t n;
    rc = put_members(x, &d, 0, path, 0, false, skip, nskip, &n);
    if (rc)
        return rc;
    x->nattrs += n;
    if (x->msg_prio == 255)
        x->out->body = msg;
    return 1;
}

/* ---- logfmt ---- */
typedef struct {
    bslice key, val;
    bool quoted, escaped;
} lf_pair;

/* Next key=value pair from *pos: 1 with a pair, 0 at the end, -1 when the
 * text is not logfmt (a bare word, an unterminated quote). */
static int lf_next(bslice s, size_t *pos, lf_pair *p)
{
    size_t i = *pos;
    while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'))
        i++;
    if (i >= s.n)
        return 0;
    size_t k0 = i;
    while (i < s.n && s.p[i] != '=' && s.p[i] != ' ' && s.p[i] != '\t' && s.p[i] != '"')
        i++;
    if (i == k0 || i >= s.n || s.p[i] != '=')
        return -1;
    p->key = (bslice){s.p + k0, i - k0};
    i++;
    p->quoted = p->escaped = false;
    if (i < s.n && s.p[i] == '"') {
        size_t v0 = ++i;
        while (i < s.n && s.p[i] != '"') {
            if (s.p[i] == '\\') {
                p->escaped = true;
                i++;
            }
            i++;
        }
        if (i >= s.n)
            return -1;
        p->val = (bslice){s.p + v0, i - v0};
        p->quoted = true;
        i++;
        if (i < s.n && s.p[i] != ' ' && s.p[i] != '\t')
            return -1;
    } else {
        size_t v0 = i;
        while (i < s.n && s.p[i] != ' ' && s.p[i] != '\t')
            i++;
        p->val = (bslice){s.p + v0, i - v0};
    }
    *pos = i;
    return 1;
}

/* Unescapes \" \\ \n \t \r of a quoted value into the arena. */
static int lf_value(arena *ar, const lf_pair *p, bslice *out)
{
    if (!p->escaped) {
        *out = p->val;
        return 0;
    }
    uint8_t *d = arena_alloc(ar, p->val.n ? p->val.n : 1);
    if (!d)
        return BRAID_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < p->val.n; i++) {
        uint8_t c = p->val.p[i];
        if (c == '\\' && i + 1 < p->val.n) {
            c = p->val.p[++i];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
        }
        d[o++] = c;
    }
    *out = (bslice){d, o};
    return 0;
}

#define LF_KEEP 32

static int parse_logfmt(pctx *x, bslice msg)
{
    /* pass 1: is it logfmt, and which pairs are the message, level and time */
    size_t pos = 0, npairs = 0;
    lf_pair p;
    int r;
    size_t msg_i = SIZE_MAX, lvl_i = SIZE_MAX, time_i = SIZE_MAX;
    logparse_msg *o = x->out;
    lf_pair seen[LF_KEEP]; /* pass 2 reuses them instead of tokenizing again */
    while ((r = lf_next(msg, &pos, &p)) == 1) {
        if (npairs < LF_KEEP)
            seen[npairs] = p;
        const field_name *f = classify(p.key);
        if (f) {
            bslice v;
            int rc = lf_value(x->ar, &p, &v);
            if (rc)
                return rc;
            if (f->kind == F_MSG && f->prio < x->msg_prio) {
                x->msg_prio = f->prio;
                msg_i = npairs;
                o->body = v;
            } else if (f->kind == F_LEVEL && f->prio < x->level_prio && logparse_severity(v)) {
                x->level_prio = f->prio;
                lvl_i = npairs;
                o->severity_number = logparse_severity(v);
                o->severity_text = v;
            } else if (f->kind == F_TIME && f->prio < x->time_prio) {
                uint64_t ns;
                bool z;
                if (time_value(v, &ns, &z)) {
                    x->time_prio = f->prio;
                    time_i = npairs;
                    o->time_ns = ns;
                    o->time_zoned = z;
                }
            } else if (f->kind == F_SERVICE && f->prio < x->svc_prio && v.n) {
                x->svc_prio = f->prio;
                o->service = v;
            }
        }
        npairs++;
    }
    if (r < 0 || npairs == 0) {
        x->msg_prio = x->level_prio = x->time_prio = x->svc_prio = 255;
        o->body = (bslice){NULL, 0};
        o->severity_number = 0;
        o->severity_text = (bslice){NULL, 0};
        o->time_ns = 0;
        o->time_zoned = false;
        o->service = (bslice){NULL, 0};
        return 0;
    }
    o->kind = LOGPARSE_LOGFMT;
    pos = 0;
    for (size_t i = 0; i < npairs; i++) {
        if (i < LF_KEEP)
            p = seen[i];
        else if (i == LF_KEEP)
            for (size_t k = 0; k <= LF_KEEP; k++)
                lf_next(msg, &pos, &p);
        else
            lf_next(msg, &pos, &p);
        if (i == msg_i || i == lvl_i || i == time_i)
            continue;
        bslice v;
        int rc = lf_value(x->ar, &p, &v);
        if (rc)
            return rc;
        av_put_key(x->attrs, p.key);
        av_put_str(x->attrs, v);
        x->nattrs++;
        rc = lp_ids_offer(&x->ids, &p.key, 1, (lp_value){.type = LPV_STR, .s = v});
        if (rc)
            return rc;
    }
    if (x->msg_prio == 255)
        o->body = msg;
    return x->attrs->err ? x->attrs->err : 1;
}

/* ---- text ---- */
static bool is_upper_word(bslice w)
{
    for (size_t i = 0; i < w.n; i++)
        if (w.p[i] < 'A' || w.p[i] > 'Z')
            return false;
    return w.n > 0;
}

/* A level token at s[*i]: "ERROR", "[warn]", "[info     ]", "<debug>",
 * "WARNING:"; bare words must be upper case and at least 3 letters (so prose
 * such as "I think" or "error handling" is not a level). */
static int32_t level_token(bslice s, size_t *i, bslice *text, bool *bracketed_other)
{
    size_t p = *i;
    *bracketed_other = false;
    uint8_t open = 0;
    if (p < s.n && (s.p[p] == '[' || s.p[p] == '<')) {
        open = s.p[p];
        p++;
    }
    size_t w0 = p;
    while (p < s.n && ((s.p[p] >= 'a' && s.p[p] <= 'z') || (s.p[p] >= 'A' && s.p[p] <= 'Z')))
        p++;
    bslice w = {s.p + w0, p - w0};
    if (open) {
        size_t q = p;
        while (q < s.n && s.p[q] == ' ')
            q++;
        uint8_t close = open == '[' ? ']' : '>';
        if (q >= s.n || s.p[q] != close) {
            /* a bracketed token that is not a level, like a thread name */
            size_t z = p;
            while (z < s.n && s.p[z] != close && z - *i < 64)
                z++;
            if (z < s.n && s.p[z] == close) {
                *bracketed_other = true;
                *i = z + 1;
            }
            return 0;
        }
        int32_t sev = logparse_severity(w);
        if (!sev) {
            *bracketed_other = true;
            *i = q + 1;
            return 0;
        }
        *text = w;
        *i = q + 1;
        return sev;
    }
    if (w.n < 3 || !is_upper_word(w))
        return 0;
    if (p < s.n && s.p[p] != ' ' && s.p[p] != ':' && s.p[p] != '\t')
        return 0;
    int32_t sev = logparse_severity(w);
    if (sev) {
        *text = w;
        *i = p;
    }
    return sev;
}

/* "2024/04/12 10:00:00" (Go's log package) as RFC 3339 without zone. */
static int time_prefix_any(bslice s, uint64_t *ns, bool *zoned, size_t *used)
{
    if (lp_time_prefix(s, ns, zoned, used))
        return 1;
    if (s.n >= 19 && s.p[4] == '/' && s.p[7] == '/') {
        uint8_t tmp[40];
        size_t n = s.n < sizeof tmp ? s.n : sizeof tmp;
        memcpy(tmp, s.p, n);
        tmp[4] = tmp[7] = '-';
        return lp_time_prefix((bslice){tmp, n}, ns, zoned, used);
    }
    return 0;
}

static const char glog_letters[4] = {'I', 'W', 'E', 'F'};
static const int32_t glog_sev[4] = {9, 13, 17, 21};

static int parse_text(pctx *x, bslice msg)
{
    logparse_msg *o = x->out;
    o->kind = LOGPARSE_TEXT;
    o->body = msg;
    size_t i = 0;
    bool bracket = msg.n && msg.p[0] == '[';
    uint64_t ns;
    bool zoned;
    size_t used;
    if (time_prefix_any((bslice){msg.p + bracket, msg.n - bracket}, &ns, &zoned, &used)) {
        o->time_ns = ns;
        o->time_zoned = zoned;
        i = bracket + used;
        if (bracket && i < msg.n && msg.p[i] == ']')
            i++;
    } else if (msg.n > 21 && msg.p[5] == ' ' && msg.p[8] == ':' && msg.p[11] == ':' &&
               msg.p[14] == '.') {
        /* glog: Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg */
        int lv = -1;
        for (int k = 0; k < 4; k++)
            if (msg.p[0] == glog_letters[k])
                lv = k;
        for (int k = 1; k <= 4 && lv >= 0; k++)
            if (msg.p[k] < '0' || msg.p[k] > '9')
                lv = -1;
        if (lv >= 0) {
            o->severity_number = glog_sev[lv];
            o->severity_text = bslice_cstr(sev_canon[2 + lv]);
        }
    }
    for (int tok = 0; tok < 3 && !o->severity_number; tok++) {
        while (i < msg.n && (msg.p[i] == ' ' || msg.p[i] == '\t'))
            i++;
        bool other;
        bslice t;
        int32_t sev = level_token(msg, &i, &t, &other);
        if (sev) {
            o->severity_number = sev;
            o->severity_text = t;
        }
        if (!other)
            break;
    }
    int rc = lp_scan_text(msg, x->ar, &x->ids, x->attrs, &x->nattrs);
    return rc ? rc : 1;
}

/* ---- fragments in text ---- */
static bool key_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == '@' || c == '/';
}

static bool key_start(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '@';
}

static bool sep_before(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '[' || c == '(' || c == '{' || c == ',' || c == ';' ||
           c == '|' || c == '"' || c == '\'';
}

static bool value_end(uint8_t c)
{
    return c == ' ' || c == '\t' || c == ',' || c == ';' || c == ']' || c == ')' || c == '}' ||
           c == '|' || c == '"' || c == '\'' || c == '&';
}

static bool is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* "00-<32 hex>-<16 hex>-<2 hex>" starting at p (n bytes available). */
static bool bare_traceparent(const uint8_t *p, size_t n)
{
    if (n < 55 || p[2] != '-' || p[35] != '-' || p[52] != '-')
        return false;
    for (size_t i = 0; i < 55; i++)
        if (i != 2 && i != 35 && i != 52 && !is_hex(p[i]))
            return false;
    return n == 55 || !is_hex(p[55]);
}

int lp_scan_text(bslice s, arena *ar, lp_ids *ids, buf *attrs, uint32_t *nattrs)
{
    size_t i = 0;
    while (i < s.n) {
        uint8_t c = s.p[i];
        bool at_sep = i == 0 || sep_before(s.p[i - 1]);
        if (c == '0' && at_sep && i + 55 <= s.n && bare_traceparent(s.p + i, s.n - i)) {
            lp_ids_offer_bare_traceparent(ids, (bslice){s.p + i, 55});
            i += 55;
            continue;
        }
        if (!key_start(c) || !at_sep) {
            i++;
            continue;
        }
        bool quoted_key = i > 0 && s.p[i - 1] == '"';
        size_t k0 = i;
        while (i < s.n && key_char(s.p[i]))
            i++;
        bslice key = {s.p + k0, i - k0};
        size_t j = i;
        if (quoted_key && j < s.n && s.p[j] == '"')
            j++;
        bool eq;
        if (j < s.n && s.p[j] == '=' && !quoted_key)
            eq = true;
        else if (j < s.n && s.p[j] == ':' &&
                 (quoted_key || (j + 1 < s.n && (s.p[j + 1] == ' ' || s.p[j + 1] == '"'))))
            eq = false;
        else
            continue;
        j++;
        if (!eq)
            while (j < s.n && s.p[j] == ' ')
                j++;
        bslice val;
        bool esc = false;
        if (j < s.n && s.p[j] == '"') {
            size_t v0 = ++j;
            while (j < s.n && s.p[j] != '"') {
                if (s.p[j] == '\\') {
                    esc = true;
                    j++;
                }
                j++;
            }
            if (j > s.n)
                j = s.n;
            val = (bslice){s.p + v0, j - v0};
            if (j < s.n)
                j++;
        } else {
            size_t v0 = j;
            while (j < s.n && !value_end(s.p[j]))
                j++;
            val = (bslice){s.p + v0, j - v0};
        }
        if (esc) {
            lf_pair lp = {.val = val, .escaped = true};
            int rc = lf_value(ar, &lp, &val);
            if (rc)
                return rc;
        }
        int rc = lp_ids_offer(ids, &key, 1, (lp_value){.type = LPV_STR, .s = val});
        if (rc)
            return rc;
        if (eq && attrs) {
            av_put_key(attrs, key);
            av_put_str(attrs, val);
            (*nattrs)++;
            if (attrs->err)
                return attrs->err;
        }
        i = j > i ? j : i + 1;
    }
    return 0;
}

/* ---- entry points ---- */
static void pctx_init(pctx *x, arena *ar, buf *attrs, logparse_msg *out)
{
    memset(x, 0, sizeof *x);
    x->ar = ar;
    x->attrs = attrs;
    x->out = out;
    x->msg_prio = x->level_prio = x->time_prio = x->svc_prio = 255;
    lp_ids_init(&x->ids, ar);
    memset(out, 0, sizeof *out);
}

static int parse_any(pctx *x, bslice msg)
{
    int r = 0;
    if (msg.n && msg.p[0] == '{')
        r = parse_json(x, msg);
    if (r == 0) {
        size_t mark = x->attrs->n;
        uint32_t nmark = x->nattrs;
        r = parse_logfmt(x, msg);
        if (r == 0) {
            x->attrs->n = mark;
            x->nattrs = nmark;
            r = parse_text(x, msg);
        }
    }
    return r < 0 ? r : 0;
}

int logparse_message(bslice msg, arena *ar, buf *attrs, uint32_t *nattrs, logparse_msg *out)
{
    pctx x;
    pctx_init(&x, ar, attrs, out);
    msg = trim(msg);
    size_t mark = attrs->n;
    int rc = parse_any(&x, msg);
    if (!rc)
        rc = x.ids.err ? x.ids.err : attrs->err;
    if (rc) {
        attrs->n = mark;
        *nattrs = 0;
        return rc;
    }
    lp_ids_finish(&x.ids, &out->ids);
    *nattrs = x.nattrs;
    return 0;
}

int lp_ids_from_message(bslice msg, arena *ar, lp_ids *ids)
{
    buf scratch;
    buf_init(&scratch);
    logparse_msg out;
    pctx x;
    pctx_init(&x, ar, &scratch, &out);
    x.ids = *ids;
    int rc = parse_any(&x, trim(msg));
    if (!rc)
        rc = scratch.err;
    *ids = x.ids;
    buf_free(&scratch);
    return rc;
}

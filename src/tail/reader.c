/* tail/reader: the sans-I/O half of the follower — one file's bytes to log
 * rows. Cuts physical lines (chunks of max_line for longer ones), reads the
 * runtime format, joins partial lines, parses each message, and builds a row
 * with the file's Kubernetes metadata as its resource. Knows what a restart
 * already stored, so re-read lines are not emitted twice. Owns its copy of
 * the path and its scratch buffers; never touches a file descriptor. */
#include "tail.h"

#include <stdatomic.h>
#include <stdlib.h>

/* ---- Kubernetes metadata ---- */
static bool all_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* Splits "a_b_rest" at its first two underscores. */
static bool split3(bslice s, bslice *a, bslice *b, bslice *rest)
{
    const uint8_t *u1 = memchr(s.p, '_', s.n);
    if (!u1 || u1 == s.p)
        return false;
    size_t o1 = (size_t)(u1 - s.p) + 1;
    const uint8_t *u2 = memchr(s.p + o1, '_', s.n - o1);
    if (!u2 || u2 == s.p + o1)
        return false;
    size_t o2 = (size_t)(u2 - s.p) + 1;
    if (o2 >= s.n)
        return false;
    *a = (bslice){s.p, o1 - 1};
    *b = (bslice){s.p + o1, o2 - o1 - 1};
    *rest = (bslice){s.p + o2, s.n - o2};
    return true;
}

/* The last path component before position end (exclusive), and where it starts. */
static bslice component_before(bslice path, size_t end, size_t *start)
{
    size_t i = end;
    while (i > 0 && path.p[i - 1] != '/')
        i--;
    *start = i;
    return (bslice){path.p + i, end - i};
}

int tail_k8s_from_path(bslice path, tail_k8s *out)
{
    memset(out, 0, sizeof *out);
    out->restart_count = -1;
    size_t bstart;
    bslice base = component_before(path, path.n, &bstart);
    /* /var/log/containers/<pod>_<namespace>_<container>-<id>.log */
    if (base.n > 4 && memcmp(base.p + base.n - 4, ".log", 4) == 0) {
        bslice stem = {base.p, base.n - 4}, pod, ns, rest;
        if (split3(stem, &pod, &ns, &rest) && rest.n > 65 && rest.p[rest.n - 65] == '-' &&
            all_hex(rest.p + rest.n - 64, 64)) {
            out->pod = pod;
            out->namespace_ = ns;
            out->container = (bslice){rest.p, rest.n - 65};
            out->container_id = (bslice){rest.p + rest.n - 64, 64};
            return 1;
        }
    }
    /* /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log[.rotated] */
    size_t d = 0;
    int restarts = 0;
    while (d < base.n && base.p[d] >= '0' && base.p[d] <= '9' && d < 9)
        restarts = restarts * 10 + (base.p[d++] - '0');
    if (d == 0 || base.n < d + 4 || memcmp(base.p + d, ".log", 4) != 0 ||
        (base.n > d + 4 && base.p[d + 4] != '.') || bstart < 2)
        return 0;
    size_t cstart, pstart;
    bslice container = component_before(path, bstart - 1, &cstart);
    if (container.n == 0 || cstart < 2)
        return 0;
    bslice poddir = component_before(path, cstart - 1, &pstart);
    bslice ns, pod, uid;
    if (!split3(poddir, &ns, &pod, &uid))
        return 0;
    out->namespace_ = ns;
    out->pod = pod;
    out->pod_uid = uid;
    out->container = container;
    out->restart_count = restarts;
    return 1;
}

/* ---- batches ---- */
static atomic_uint_fast64_t out_gen = 1;

void tail_out_init(tail_out *o)
{
    model_batch_init(&o->b);
    o->gen = atomic_fetch_add(&out_gen, 1);
}

void tail_out_free(tail_out *o)
{
    model_batch_free(&o->b);
}

/* ---- reader ---- */
int tail_reader_init(tail_reader *r, const char *path, size_t max_line)
{
    memset(r, 0, sizeof *r);
    r->path = strdup(path);
    if (!r->path)
        return BRAID_ENOMEM;
    r->is_k8s = tail_k8s_from_path(bslice_cstr(r->path), &r->k8s) == 1;
    r->max_line = max_line < TAIL_MAX_LINE_MIN ? TAIL_MAX_LINE_MIN : max_line;
    logparse_joiner_init(&r->j, r->max_line);
    arena_init(&r->scratch);
    buf_init(&r->attrs);
    buf_init(&r->enc);
    return 0;
}

void tail_reader_free(tail_reader *r)
{
    logparse_joiner_free(&r->j);
    arena_free(&r->scratch);
    buf_free(&r->attrs);
    buf_free(&r->enc);
    free(r->path);
    memset(r, 0, sizeof *r);
}

static void clear_replay(tail_reader *r)
{
    r->replay_until = 0;
    for (int s = 0; s < LOGPARSE_STREAMS; s++) {
        r->rp_open[s] = false;
        r->split_has[s] = false;
    }
}

void tail_reader_reset(tail_reader *r)
{
    logparse_joiner_reset(&r->j);
    r->off = 0;
    r->in_line = false;
    clear_replay(r);
}

void tail_reader_resume(tail_reader *r, const tail_pos *pos)
{
    tail_reader_reset(r);
    uint64_t start = pos->off;
    for (int s = 0; s < LOGPARSE_STREAMS; s++) {
        r->rp_open[s] = pos->open[s];
        r->rp_pstart[s] = pos->pstart[s];
        r->rp_skip[s] = pos->pieces[s];
        if (pos->open[s] && pos->pstart[s] < start)
            start = pos->pstart[s];
    }
    r->off = start;
    r->replay_until = pos->off;
    r->rp_pos = *pos;
}

void tail_reader_pos(const tail_reader *r, tail_pos *pos)
{
    /* Below replay_until nothing new has been stored yet (the open message
     * re-emits only pieces stored before), so the old position still holds. */
    if (r->off < r->replay_until) {
        *pos = r->rp_pos;
        return;
    }
    memset(pos, 0, sizeof *pos);
    pos->off = r->off;
    for (int s = 0; s < LOGPARSE_STREAMS; s++) {
        pos->open[s] = r->j.open[s];
        pos->pstart[s] = r->j.open[s] ? r->pstart[s] : 0;
        pos->pieces[s] = r->j.open[s] ? r->j.pieces[s] : 0;
    }
}

/* ---- rows ---- */
static int keep(tail_reader *r, const void *p, size_t n, bslice *out)
{
    if (model_batch_keep(&r->cur->b, p, n, out)) {
        r->err = BRAID_ENOMEM;
        return BRAID_ENOMEM;
    }
    return 0;
}

static void put_kv_str(buf *b, const char *k, bslice v, uint32_t *n)
{
    if (!v.n)
        return;
    av_put_key(b, bslice_cstr(k));
    av_put_str(b, v);
    (*n)++;
}

/* An origin for this batch: the file's metadata as resource attributes. */
static model_origin *make_origin(tail_reader *r, int stream, bslice service)
{
    buf *b = &r->enc;
    buf_reset(b);
    size_t pos = av_begin_count(b);
    uint32_t n = 0;
    put_kv_str(b, "service.name", service, &n);
    if (r->is_k8s) {
        put_kv_str(b, "k8s.namespace.name", r->k8s.namespace_, &n);
        put_kv_str(b, "k8s.pod.name", r->k8s.pod, &n);
        put_kv_str(b, "k8s.pod.uid", r->k8s.pod_uid, &n);
        put_kv_str(b, "k8s.container.name", r->k8s.container, &n);
        if (r->k8s.restart_count >= 0) {
            av_put_key(b, BSLICE_LIT("k8s.container.restart_count"));
            av_put_int(b, r->k8s.restart_count);
            n++;
        }
        put_kv_str(b, "container.id", r->k8s.container_id, &n);
    }
    put_kv_str(b, "log.iostream",
               stream == LOGPARSE_STDERR ? BSLICE_LIT("stderr") : BSLICE_LIT("stdout"), &n);
    av_end_count(b, pos, n);
    if (b->err) {
        r->err = BRAID_ENOMEM;
        return NULL;
    }
    model_origin *o = model_batch_add_origin(&r->cur->b);
    if (!o) {
        r->err = BRAID_ENOMEM;
        return NULL;
    }
    if (keep(r, service.p, service.n, &o->service) || keep(r, b->p, b->n, &o->resource_attrs))
        return NULL;
    return o;
}

static const model_origin *origin_for(tail_reader *r, int stream, bslice line_service)
{
    tail_out *o = r->cur;
    if (o->gen != r->cache_gen) {
        r->cache_gen = o->gen;
        memset(r->cache_origin, 0, sizeof r->cache_origin);
        r->cache_svc_origin = NULL;
        if (keep(r, r->path, strlen(r->path), &r->cache_source))
            return NULL;
    }
    bslice dflt = r->is_k8s ? r->k8s.container : (bslice){NULL, 0};
    if (line_service.n && !bslice_eq(line_service, dflt)) {
        model_origin *c = r->cache_svc_origin;
        if (c && r->cache_svc_stream == stream && bslice_eq(c->service, line_service))
            return c;
        c = make_origin(r, stream, line_service);
        r->cache_svc_origin = c;
        r->cache_svc_stream = (uint8_t)stream;
        return c;
    }
    if (!r->cache_origin[stream])
        r->cache_origin[stream] = make_origin(r, stream, dflt);
    return r->cache_origin[stream];
}

static bool blank(bslice s)
{
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] != ' ' && s.p[i] != '\t' && s.p[i] != '\r')
            return false;
    return true;
}

/* Pieces after the first carry the trace context of the first (so a split
 * line stays on its trace); ids of a piece are remembered per stream. */
static void split_ids(tail_reader *r, int s, const logparse_piece *pc, logparse_ids *ids)
{
    if (ids->form != ID_FORM_NONE && !r->split_has[s]) {
        r->split_has[s] = true;
        r->split_ids[s] = *ids;
        size_t fl =
            ids->field.n < sizeof r->split_field[s] ? ids->field.n : sizeof r->split_field[s];
        if (fl)
            memcpy(r->split_field[s], ids->field.p, fl);
        r->split_ids[s].field = (bslice){r->split_field[s], fl};
    } else if (ids->form == ID_FORM_NONE && r->split_has[s]) {
        *ids = r->split_ids[s];
    }
    if (pc->last)
        r->split_has[s] = false;
}

static int add_row(tail_reader *r, const logparse_piece *pc)
{
    if (!pc->split && blank(pc->msg))
        return 0;
    int s = pc->stream < LOGPARSE_STREAMS ? pc->stream : 0;
    buf *a = &r->attrs;
    buf_reset(a);
    size_t apos = av_begin_count(a);
    uint32_t na = 0;
    logparse_msg m;
    int rc = logparse_message(pc->msg, &r->scratch, a, &na, &m);
    if (rc)
        return r->err = rc;
    if (pc->split) {
        av_put_key(a, BSLICE_LIT("log.split"));
        av_put_bool(a, true);
        av_put_key(a, BSLICE_LIT("log.split.index"));
        av_put_int(a, pc->index);
        av_put_key(a, BSLICE_LIT("log.split.last"));
        av_put_bool(a, pc->last);
        na += 3;
        r->splits++;
        split_ids(r, s, pc, &m.ids);
    }
    av_end_count(a, apos, na);
    if (a->err)
        return r->err = BRAID_ENOMEM;
    const model_origin *og = origin_for(r, s, m.service);
    if (!og)
        return r->err ? r->err : BRAID_ENOMEM;
    model_log *l = model_batch_add_log(&r->cur->b);
    if (!l)
        return r->err = BRAID_ENOMEM;
    l->origin = og;
    /* A zone-less time in the line is only a guess; the runtime's is exact. */
    l->time_ns = m.time_ns && (m.time_zoned || pc->time_ns == 0) ? m.time_ns : pc->time_ns;
    l->observed_ns = r->now;
    l->severity_number = m.severity_number;
    buf *e = &r->enc;
    buf_reset(e);
    av_put_str(e, m.body);
    if (e->err)
        return r->err = BRAID_ENOMEM;
    if (keep(r, m.severity_text.p, m.severity_text.n, &l->severity_text) ||
        keep(r, e->p, e->n, &l->body) || keep(r, a->p, a->n, &l->attrs) ||
        keep(r, m.ids.field.p, m.ids.field.n, &l->id_field))
        return r->err;
    l->trace_id = m.ids.trace_id;
    l->span_id = m.ids.span_id;
    l->id_form = m.ids.form;
    if (m.ids.sampled_known && m.ids.sampled)
        l->flags |= 0x01;
    l->source = r->cache_source;
    r->rows++;
    return 0;
}

static int on_piece(void *ud, const logparse_piece *pc)
{
    tail_reader *r = ud;
    int s = pc->stream < LOGPARSE_STREAMS ? pc->stream : 0;
    if (r->rp_open[s] && r->pstart[s] == r->rp_pstart[s]) {
        if (!pc->last && pc->index < r->rp_skip[s]) {
            /* stored before the restart; its ids still pass to later pieces */
            buf_reset(&r->attrs);
            uint32_t na;
            logparse_msg m;
            int rc = logparse_message(pc->msg, &r->scratch, &r->attrs, &na, &m);
            if (rc)
                return rc;
            split_ids(r, s, pc, &m.ids);
            return 0;
        }
        if (pc->last)
            r->rp_open[s] = false;
    }
    return add_row(r, pc);
}

/* One physical line, or one chunk of a line longer than max_line. */
static int chunk(tail_reader *r, const uint8_t *p, size_t n, bool complete)
{
    logparse_line l;
    if (!r->in_line) {
        if (r->scratch.total > ((size_t)4 << 20)) {
            arena_free(&r->scratch);
            arena_init(&r->scratch);
        }
        int rc = logparse_runtime((bslice){p, n}, &r->scratch, &l);
        if (rc)
            return rc;
        r->line_start = r->off;
        r->hdr_format = l.format;
        r->hdr_stream = l.stream;
        r->hdr_partial = l.partial;
        r->hdr_time = l.time_ns;
        if (!complete) {
            l.partial = true;
            r->in_line = true;
        }
    } else {
        memset(&l, 0, sizeof l);
        l.format = r->hdr_format;
        l.stream = r->hdr_stream;
        l.time_ns = r->hdr_time;
        l.msg = (bslice){p, n};
        if (complete && n && p[n - 1] == '\r')
            l.msg.n--;
        l.partial = complete ? r->hdr_partial : true;
        if (complete)
            r->in_line = false;
    }
    int s = l.stream < LOGPARSE_STREAMS ? l.stream : 0;
    if (r->line_start < r->replay_until && !(r->rp_open[s] && r->line_start >= r->rp_pstart[s]))
        return 0; /* stored before the restart */
    if (!r->j.open[s])
        r->pstart[s] = r->line_start;
    int rc = logparse_joiner_feed(&r->j, &l, on_piece, r);
    return rc ? rc : r->err;
}

int tail_reader_feed(tail_reader *r, const uint8_t *data, size_t n, bool eof, tail_out *o,
                     size_t max_rows, size_t *used)
{
    r->cur = o;
    r->now = now_unix_ns();
    r->err = 0;
    size_t pos = 0;
    int rc = 0;
    while (pos < n && !rc) {
        if (max_rows && o->b.nlogs >= max_rows)
            break;
        const uint8_t *p = data + pos;
        size_t avail = n - pos, lim = r->max_line;
        const uint8_t *nl = memchr(p, '\n', avail < lim + 1 ? avail : lim + 1);
        size_t clen, adv;
        bool complete;
        if (nl) {
            clen = (size_t)(nl - p);
            adv = clen + 1;
            complete = true;
        } else if (avail > lim) {
            clen = logparse_utf8_cut(p, lim);
            adv = clen;
            complete = false;
        } else if (eof) {
            clen = adv = avail;
            complete = true;
        } else {
            break;
        }
        rc = chunk(r, p, clen, complete);
        if (rc)
            break;
        pos += adv;
        r->off += adv;
        r->lines++;
    }
    *used = pos;
    r->cur = NULL;
    return rc;
}

int tail_reader_flush(tail_reader *r, tail_out *o)
{
    r->cur = o;
    r->now = now_unix_ns();
    r->err = 0;
    r->in_line = false;
    int rc = logparse_joiner_flush(&r->j, on_piece, r);
    r->cur = NULL;
    return rc ? rc : r->err;
}

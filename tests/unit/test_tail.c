/* Tests for src/tail: Kubernetes metadata from paths (table); the reader
 * (partial lines, CRI P/F joining across reads, split marking, resuming
 * without re-emitting); the follower on a real store: both rotations, a clean
 * restart, a rotation while stopped, and kill -9 of a child running store and
 * follower at random moments — afterwards every line is stored exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tail/tail.h"

#define CID "4f2d6f8c9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d"

/* ---- helpers ---- */
static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void rm_tree(const char *d)
{
    nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void append_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    size_t n = strlen(s);
    assert_int_equal((ssize_t)n, write(fd, s, n));
    close(fd);
}

static store *open_store(const char *dir)
{
    store_opts o;
    store_opts_default(&o);
    o.dir = dir;
    store *s;
    assert_int_equal(0, store_open(&o, &s));
    return s;
}

static tail *start_tail(store *st, const char *glob, size_t max_line)
{
    const char *globs[] = {glob};
    tail_opts o = {.globs = globs,
                   .nglobs = 1,
                   .st = st,
                   .max_line = max_line,
                   .batch_rows = 64,
                   .batch_ns = 2000000,
                   .rescan_ns = 20000000};
    tail *t;
    assert_int_equal(0, tail_start(&o, &t));
    return t;
}

/* Waits until the follower has stored at least n rows; returns the count. */
static uint64_t wait_rows(tail *t, uint64_t n, int timeout_ms)
{
    tail_stats st;
    for (int waited = 0;; waited += 10) {
        tail_get_stats(t, &st);
        if (st.rows_stored >= n || waited >= timeout_ms)
            return st.rows_stored;
        sleep_ms(10);
    }
}

/* Every stored log as "body|trace|split index|last" lines, for counting. */
typedef struct {
    char **v;
    size_t n, cap;
} rowlist;

static int collect_cb(const void *row, void *ud)
{
    const model_log *l = row;
    rowlist *r = ud;
    bslice body = {(const uint8_t *)"", 0};
    if (l->body.n >= 5)
        body = (bslice){l->body.p + 5, rd_u32le(l->body.p + 1)};
    char th[33];
    trace_id_hex(&l->trace_id, th);
    bslice v;
    int64_t idx = -1;
    if (av_find(l->attrs, "log.split.index", &v) == 1 && v.n == 9)
        idx = (int64_t)rd_u64le(v.p + 1);
    char *s;
    assert_true(asprintf(&s, "%.*s|%s|%lld", (int)body.n, (const char *)body.p,
                         trace_id_is_zero(&l->trace_id) ? "-" : th, (long long)idx) > 0);
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        assert_non_null(r->v);
    }
    r->v[r->n++] = s;
    return 0;
}

static void rows_of(store *st, rowlist *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(0, store_scan(st, SIGNAL_LOGS, 0, UINT64_MAX, collect_cb, r));
}

static void rows_free(rowlist *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i]);
    free(r->v);
}

static size_t count_prefix(const rowlist *r, const char *prefix)
{
    size_t c = 0, n = strlen(prefix);
    for (size_t i = 0; i < r->n; i++)
        c += strncmp(r->v[i], prefix, n) == 0;
    return c;
}

/* ---- Kubernetes metadata ---- */
typedef struct {
    const char *path;
    int ok;
    const char *pod, *ns, *container, *cid, *uid;
    int restarts;
    const char *why;
} k8s_case;

static bool eq(bslice s, const char *c)
{
    return c ? bslice_eq_cstr(s, c) : s.n == 0;
}

static void test_k8s_paths(void **state)
{
    (void)state;
    static const k8s_case cases[] = {
        {"/var/log/containers/checkout-7d9f8b6c5-x2x9q_shop_app-" CID ".log", 1,
         "checkout-7d9f8b6c5-x2x9q", "shop", "app", CID, NULL, -1, "containers layout"},
        {"/tmp/x/web_default_istio-proxy-" CID ".log", 1, "web", "default", "istio-proxy", CID,
         NULL, -1, "container names with dashes, any directory"},
        {"/var/log/pods/shop_checkout-7d9f_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/app/3.log", 1,
         "checkout-7d9f", "shop", "app", NULL, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", 3,
         "pods layout with restart count"},
        {"/var/log/pods/shop_checkout_uid1/app/0.log.20240412-101010", 1, "checkout", "shop", "app",
         NULL, "uid1", 0, "rotated kubelet file"},
        {"/var/log/containers/web_default_app-1234.log", 0, NULL, NULL, NULL, NULL, NULL, -1,
         "container id too short"},
        {"/var/log/syslog.log", 0, NULL, NULL, NULL, NULL, NULL, -1, "not Kubernetes"},
        {"/var/log/pods/nounderscores/app/0.log", 0, NULL, NULL, NULL, NULL, NULL, -1,
         "pod directory without namespace_pod_uid"},
        {"0.log", 0, NULL, NULL, NULL, NULL, NULL, -1, "no directories"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const k8s_case *c = &cases[i];
        tail_k8s k;
        int ok = tail_k8s_from_path(bslice_cstr(c->path), &k);
        if (ok != c->ok)
            fail_msg("case %zu (%s): got %d", i, c->why, ok);
        if (!ok)
            continue;
        if (!eq(k.pod, c->pod) || !eq(k.namespace_, c->ns) || !eq(k.container, c->container) ||
            !eq(k.container_id, c->cid) || !eq(k.pod_uid, c->uid) || k.restart_count != c->restarts)
            fail_msg("case %zu (%s): pod %.*s ns %.*s container %.*s restarts %d", i, c->why,
                     (int)k.pod.n, (const char *)k.pod.p, (int)k.namespace_.n,
                     (const char *)k.namespace_.p, (int)k.container.n, (const char *)k.container.p,
                     k.restart_count);
    }
}

/* ---- reader ---- */
static bslice body_of(const model_log *l)
{
    return (bslice){l->body.p + 5, rd_u32le(l->body.p + 1)};
}

static void feed_str(tail_reader *r, tail_out *o, const char *s, size_t *used)
{
    assert_int_equal(0, tail_reader_feed(r, (const uint8_t *)s, strlen(s), false, o, 0, used));
}

static void test_reader_partial_and_join(void **state)
{
    (void)state;
    tail_reader r;
    assert_int_equal(0,
                     tail_reader_init(&r, "/var/log/containers/web_shop_app-" CID ".log", 1 << 20));
    tail_out o;
    tail_out_init(&o);
    size_t used;
    /* a physical line cut by the read: nothing consumed until its '\n' */
    const char *a = "2024-04-12T10:00:00.1Z stdout P {\"msg\":\"charged card\",";
    feed_str(&r, &o, a, &used);
    assert_int_equal(used, 0);
    char buf1[512];
    snprintf(buf1, sizeof buf1, "%s\n2024-04-12T10:00:00.2Z stdout F \"trace_id\":\"4bf92f3577b3",
             a);
    feed_str(&r, &o, buf1, &used);
    assert_int_equal(used, strlen(a) + 1);
    assert_int_equal(o.b.nlogs, 0);
    assert_true(r.j.open[LOGPARSE_STDOUT]);
    /* the F line arrives whole on the next read */
    feed_str(&r, &o,
             "2024-04-12T10:00:00.2Z stdout F \"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
             "\"level\":\"error\"}\n2024-04-12T10:00:00.3Z stderr F plain stderr\n",
             &used);
    assert_int_equal(o.b.nlogs, 2);
    const model_log *l = &o.b.logs[0];
    assert_true(bslice_eq_cstr(body_of(l), "charged card"));
    assert_int_equal(l->severity_number, 17);
    assert_int_equal(l->time_ns, 1712916000100000000ull);
    char th[33];
    trace_id_hex(&l->trace_id, th);
    assert_string_equal(th, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_true(bslice_eq_cstr(l->id_field, "trace_id"));
    assert_int_equal(l->id_form, ID_FORM_HEX32);
    assert_true(bslice_eq_cstr(l->source, "/var/log/containers/web_shop_app-" CID ".log"));
    assert_true(bslice_eq_cstr(l->origin->service, "app"));
    bslice v, s;
    assert_int_equal(1, av_find(l->origin->resource_attrs, "k8s.pod.name", &v));
    assert_true(av_as_str(v, &s) && bslice_eq_cstr(s, "web"));
    assert_int_equal(1, av_find(l->origin->resource_attrs, "k8s.namespace.name", &v));
    assert_true(av_as_str(v, &s) && bslice_eq_cstr(s, "shop"));
    assert_int_equal(1, av_find(l->origin->resource_attrs, "container.id", &v));
    assert_true(av_as_str(v, &s) && bslice_eq_cstr(s, CID));
    assert_int_equal(1, av_find(l->origin->resource_attrs, "log.iostream", &v));
    assert_true(av_as_str(v, &s) && bslice_eq_cstr(s, "stdout"));
    assert_int_equal(1, av_find(o.b.logs[1].origin->resource_attrs, "log.iostream", &v));
    assert_true(av_as_str(v, &s) && bslice_eq_cstr(s, "stderr"));
    /* a line that names its service gets its own origin */
    feed_str(&r, &o, "2024-04-12T10:00:01Z stdout F {\"service\":\"payments\",\"msg\":\"x\"}\n",
             &used);
    assert_int_equal(o.b.nlogs, 3);
    assert_true(bslice_eq_cstr(o.b.logs[2].origin->service, "payments"));
    /* a last line without '\n' is complete only at the end of input */
    assert_int_equal(0,
                     tail_reader_feed(&r, (const uint8_t *)"no newline", 10, true, &o, 0, &used));
    assert_int_equal(used, 10);
    assert_int_equal(o.b.nlogs, 4);
    tail_out_free(&o);
    tail_reader_free(&r);
}

static void test_reader_split(void **state)
{
    (void)state;
    tail_reader r;
    assert_int_equal(0, tail_reader_init(&r, "/logs/app.log", 256));
    tail_out o;
    tail_out_init(&o);
    char line[1024];
    int n = snprintf(line, sizeof line,
                     "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"msg\":\"");
    memset(line + n, 'x', 600);
    strcpy(line + n + 600, "\"}\n");
    size_t used;
    feed_str(&r, &o, line, &used);
    assert_int_equal(used, strlen(line));
    assert_int_equal(o.b.nlogs, 3);
    size_t total = 0;
    for (size_t i = 0; i < 3; i++) {
        const model_log *l = &o.b.logs[i];
        bslice v;
        assert_int_equal(1, av_find(l->attrs, "log.split", &v));
        assert_int_equal(1, av_find(l->attrs, "log.split.index", &v));
        assert_int_equal((int64_t)rd_u64le(v.p + 1), (int64_t)i);
        assert_int_equal(1, av_find(l->attrs, "log.split.last", &v));
        assert_int_equal(v.p[1], i == 2);
        char th[33];
        trace_id_hex(&l->trace_id, th);
        assert_string_equal(th, "4bf92f3577b34da6a3ce929d0e0e4736");
        total += body_of(l).n;
    }
    assert_int_equal(total, strlen(line) - 1);
    assert_int_equal(body_of(&o.b.logs[0]).n, 256);
    tail_out_free(&o);
    tail_reader_free(&r);
}

/* A checkpoint taken with a split message open on stdout and a whole
 * stderr line after it: resuming re-reads from the open message but emits
 * neither the stored piece nor the stored stderr line. */
static void test_reader_resume(void **state)
{
    (void)state;
    char l1[512], l3[256];
    snprintf(l1, sizeof l1, "2024-04-12T10:00:00Z stdout P %0300d\n", 0);
    snprintf(l3, sizeof l3, "2024-04-12T10:00:02Z stdout P %0100d\n", 0);
    const char *l2 = "2024-04-12T10:00:01Z stderr F err-one\n";
    const char *l4 = "2024-04-12T10:00:03Z stderr F err-two\n";
    const char *l5 = "2024-04-12T10:00:04Z stdout F end\n";
    char all[2048];
    snprintf(all, sizeof all, "%s%s%s%s%s", l1, l2, l3, l4, l5);
    size_t upto3 = strlen(l1) + strlen(l2) + strlen(l3);

    /* reference: one reader over everything */
    tail_reader ref;
    tail_reader_init(&ref, "/logs/a.log", 256);
    tail_out ro;
    tail_out_init(&ro);
    size_t used;
    feed_str(&ref, &ro, all, &used);
    assert_int_equal(ro.b.nlogs, 4); /* piece 0, err-one, err-two, last piece */

    /* first run: up to l3, then the checkpoint */
    tail_reader a;
    tail_reader_init(&a, "/logs/a.log", 256);
    tail_out ao;
    tail_out_init(&ao);
    assert_int_equal(0, tail_reader_feed(&a, (const uint8_t *)all, upto3, false, &ao, 0, &used));
    assert_int_equal(ao.b.nlogs, 2);
    tail_pos pos;
    tail_reader_pos(&a, &pos);
    assert_int_equal(pos.off, upto3);
    assert_true(pos.open[LOGPARSE_STDOUT]);
    assert_false(pos.open[LOGPARSE_STDERR]);
    assert_int_equal(pos.pstart[LOGPARSE_STDOUT], 0);
    assert_int_equal(pos.pieces[LOGPARSE_STDOUT], 1);

    /* second run: resume, read again from the offset it asks for */
    tail_reader b;
    tail_reader_init(&b, "/logs/a.log", 256);
    tail_reader_resume(&b, &pos);
    assert_int_equal(tail_reader_offset(&b), 0);
    tail_out bo;
    tail_out_init(&bo);
    /* a checkpoint while re-reading still reports the old position */
    assert_int_equal(0,
                     tail_reader_feed(&b, (const uint8_t *)all, strlen(l1), false, &bo, 0, &used));
    tail_pos mid;
    tail_reader_pos(&b, &mid);
    assert_int_equal(mid.off, upto3);
    assert_int_equal(mid.pieces[LOGPARSE_STDOUT], 1);
    assert_int_equal(0, tail_reader_feed(&b, (const uint8_t *)all + strlen(l1),
                                         strlen(all) - strlen(l1), false, &bo, 0, &used));
    assert_int_equal(bo.b.nlogs, 2);
    /* together the two runs give exactly what one run gives */
    assert_true(bslice_eq(body_of(&ao.b.logs[0]), body_of(&ro.b.logs[0])));
    assert_true(bslice_eq(body_of(&ao.b.logs[1]), body_of(&ro.b.logs[1])));
    assert_true(bslice_eq(body_of(&bo.b.logs[0]), body_of(&ro.b.logs[2])));
    assert_true(bslice_eq(body_of(&bo.b.logs[1]), body_of(&ro.b.logs[3])));
    assert_true(bslice_eq_cstr(body_of(&bo.b.logs[0]), "err-two"));
    tail_pos end;
    tail_reader_pos(&b, &end);
    assert_int_equal(end.off, strlen(all));
    assert_false(end.open[LOGPARSE_STDOUT]);
    tail_out_free(&ro);
    tail_out_free(&ao);
    tail_out_free(&bo);
    tail_reader_free(&ref);
    tail_reader_free(&a);
    tail_reader_free(&b);
}

/* ---- follower ---- */
static void cri_line(char *out, size_t cap, const char *stream, const char *flag, const char *msg)
{
    static unsigned ns;
    snprintf(out, cap, "2024-04-12T10:00:00.%09uZ %s %s %s\n", ++ns, stream, flag, msg);
}

static void write_lines(const char *path, const char *tag, int from, int to)
{
    char l[256], m[128];
    for (int i = from; i < to; i++) {
        snprintf(m, sizeof m, "{\"msg\":\"%s-%d\",\"level\":\"info\"}", tag, i);
        cri_line(l, sizeof l, "stdout", "F", m);
        append_file(path, l);
    }
}

static void test_follow_rotation_restart(void **state)
{
    (void)state;
    char root[] = "/tmp/braid-tail-XXXXXX";
    assert_non_null(mkdtemp(root));
    char data[600], logs[600], glob[700], a[700], a1[800], b[700];
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(logs, sizeof logs, "%s/logs", root);
    assert_int_equal(0, mkdir(logs, 0755));
    snprintf(glob, sizeof glob, "%s/*.log", logs);
    snprintf(a, sizeof a, "%s/web_shop_app-" CID ".log", logs);
    snprintf(a1, sizeof a1, "%s.1", a);
    snprintf(b, sizeof b, "%s/b.log", logs);

    write_lines(a, "a", 0, 50);
    store *st = open_store(data);
    tail *t = start_tail(st, glob, 0);
    assert_int_equal(wait_rows(t, 50, 5000), 50);

    /* rename-and-create: the writer still appends to the renamed file for a
     * moment; both files are read, the old one to its end */
    int old = open(a, O_WRONLY | O_APPEND);
    assert_true(old >= 0);
    assert_int_equal(0, rename(a, a1));
    write_lines(a, "a-new", 0, 5);
    char l[256];
    cri_line(l, sizeof l, "stdout", "F", "{\"msg\":\"a-late-0\"}");
    assert_int_equal((ssize_t)strlen(l), write(old, l, strlen(l)));
    close(old);
    assert_int_equal(wait_rows(t, 56, 5000), 56);

    /* copytruncate */
    write_lines(b, "b", 0, 10);
    assert_int_equal(wait_rows(t, 66, 5000), 66);
    int fd = open(b, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    close(fd);
    sleep_ms(60);
    write_lines(b, "b-after", 0, 3);
    assert_int_equal(wait_rows(t, 69, 5000), 69);
    sleep_ms(200); /* the renamed file is let go after two quiet scans */
    tail_stats ts;
    tail_get_stats(t, &ts);
    assert_int_equal(ts.rotations, 1);
    assert_int_equal(ts.truncations, 1);
    tail_stop(t);
    assert_int_equal(0, store_close(st));

    /* a clean restart stores nothing again; new lines only */
    st = open_store(data);
    t = start_tail(st, glob, 0);
    sleep_ms(200);
    write_lines(a, "a-new", 5, 8);
    assert_int_equal(wait_rows(t, 3, 5000), 3);
    sleep_ms(100);
    tail_get_stats(t, &ts);
    assert_int_equal(ts.rows_stored, 3);
    tail_stop(t);

    rowlist r;
    rows_of(st, &r);
    assert_int_equal(r.n, 72);
    char p[64];
    for (int i = 0; i < 50; i++) {
        snprintf(p, sizeof p, "a-%d|", i);
        assert_int_equal(count_prefix(&r, p), 1);
    }
    for (int i = 0; i < 8; i++) {
        snprintf(p, sizeof p, "a-new-%d|", i);
        assert_int_equal(count_prefix(&r, p), 1);
    }
    assert_int_equal(count_prefix(&r, "a-late-0|"), 1);
    for (int i = 0; i < 10; i++) {
        snprintf(p, sizeof p, "b-%d|", i);
        assert_int_equal(count_prefix(&r, p), 1);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "b-after-%d|", i);
        assert_int_equal(count_prefix(&r, p), 1);
    }
    rows_free(&r);
    assert_int_equal(0, store_close(st));
    rm_tree(root);
}

/* kubelet's layout: /var/log/containers/<...>.log are symlinks into
 * /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log. The file is rotated
 * while braid is down; on start the old inode is found through the link's
 * directory and read to its end, the new file from its beginning. */
static void test_rotated_while_down(void **state)
{
    (void)state;
    char root[] = "/tmp/braid-tail-down-XXXXXX";
    assert_non_null(mkdtemp(root));
    char data[600], pods[600], cont[600], glob[700], real[800], rot[900], link[800], tgt[800];
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(pods, sizeof pods, "%s/pods", root);
    snprintf(cont, sizeof cont, "%s/containers", root);
    assert_int_equal(0, mkdir(pods, 0755));
    assert_int_equal(0, mkdir(cont, 0755));
    snprintf(real, sizeof real, "%s/shop_web_uid1", pods);
    assert_int_equal(0, mkdir(real, 0755));
    snprintf(real, sizeof real, "%s/shop_web_uid1/app", pods);
    assert_int_equal(0, mkdir(real, 0755));
    snprintf(real, sizeof real, "%s/shop_web_uid1/app/0.log", pods);
    snprintf(rot, sizeof rot, "%s.20240412-101010", real);
    snprintf(link, sizeof link, "%s/web_shop_app-" CID ".log", cont);
    snprintf(tgt, sizeof tgt, "../pods/shop_web_uid1/app/0.log");
    assert_int_equal(0, symlink(tgt, link));
    snprintf(glob, sizeof glob, "%s/*.log", cont);

    write_lines(real, "old", 0, 20);
    store *st = open_store(data);
    tail *t = start_tail(st, glob, 0);
    assert_int_equal(wait_rows(t, 20, 5000), 20);
    tail_stop(t);
    assert_int_equal(0, store_close(st));

    write_lines(real, "old", 20, 25); /* written before the rotation, never read */
    assert_int_equal(0, rename(real, rot));
    write_lines(real, "new", 0, 4);

    st = open_store(data);
    t = start_tail(st, glob, 0);
    assert_int_equal(wait_rows(t, 9, 5000), 9);
    sleep_ms(200);
    tail_stats ts;
    tail_get_stats(t, &ts);
    assert_int_equal(ts.rows_stored, 9);
    assert_int_equal(ts.rotations, 1);
    tail_stop(t);
    rowlist r;
    rows_of(st, &r);
    assert_int_equal(r.n, 29);
    char p[64];
    for (int i = 0; i < 25; i++) {
        snprintf(p, sizeof p, "old-%d|", i);
        assert_int_equal(count_prefix(&r, p), 1);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "new-%d|", i);
        assert_int_equal(count_prefix(&r, p), 1);
    }
    rows_free(&r);
    assert_int_equal(0, store_close(st));
    rm_tree(root);
}

/* The store side of checkpointing that the follower relies on: the blob of
 * the last acknowledged append wins, appends without rows carry one too, and
 * it survives a clean close (flush, WAL trimmed: the sources file) and a crash
 * (a child that exits without closing: WAL replay). */
static int count_cb(const void *row, void *ud)
{
    (void)row;
    (*(size_t *)ud)++;
    return 0;
}

static void append_blob(store *st, int rows, const char *blob)
{
    model_batch b;
    model_batch_init(&b);
    for (int i = 0; i < rows; i++) {
        model_log *l = model_batch_add_log(&b);
        l->time_ns = 1712916000000000000ull + (uint64_t)i;
        l->trace_id.b[0] = (uint8_t)(i + 1);
    }
    assert_int_equal(0, store_append_ckpt(st, &b, bslice_cstr(blob)));
    model_batch_free(&b);
}

static void expect_blob(store *st, const char *want, size_t rows)
{
    buf b;
    buf_init(&b);
    assert_int_equal(0, store_source_ckpt(st, &b));
    if (!bslice_eq_cstr((bslice){b.p, b.n}, want))
        fail_msg("blob \"%.*s\", want \"%s\"", (int)b.n, (const char *)b.p, want);
    buf_free(&b);
    size_t n = 0;
    assert_int_equal(0, store_scan(st, SIGNAL_LOGS, 0, UINT64_MAX, count_cb, &n));
    assert_int_equal(n, rows);
}

static void test_store_source_ckpt(void **state)
{
    (void)state;
    char root[] = "/tmp/braid-tail-ckpt-XXXXXX";
    assert_non_null(mkdtemp(root));
    char data[600];
    snprintf(data, sizeof data, "%s/data", root);
    store *st = open_store(data);
    expect_blob(st, "", 0);
    append_blob(st, 3, "after-3-rows");
    append_blob(st, 0, "no rows");
    expect_blob(st, "no rows", 3);
    assert_int_equal(0, store_close(st));
    st = open_store(data);
    expect_blob(st, "no rows", 3);
    append_blob(st, 2, "after-5-rows");
    append_blob(st, 0, "latest");
    assert_int_equal(0, store_close(st));
    /* a crash: appended, never closed */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        store_opts o;
        store_opts_default(&o);
        o.dir = data;
        store *cs;
        if (store_open(&o, &cs) != 0)
            _exit(3);
        append_blob(cs, 4, "crashed-after-9-rows");
        append_blob(cs, 0, "crashed-last");
        _exit(0);
    }
    int status;
    assert_int_equal(pid, waitpid(pid, &status, 0));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    st = open_store(data);
    expect_blob(st, "crashed-last", 9);
    assert_int_equal(0, store_close(st));
    rm_tree(root);
}

/* kill -9: a child runs store and follower; the parent writes lines (CRI
 * partials, lines cut across writes, lines longer than the limit that are
 * split) and kills the child at random moments, three times; a final run
 * must hold every message and every piece exactly once. */
#define KILL_MAX_LINE 512

static void child_run(const char *data, const char *glob)
{
    store_opts o;
    store_opts_default(&o);
    o.dir = data;
    store *st;
    if (store_open(&o, &st) != 0)
        _exit(3);
    const char *globs[] = {glob};
    tail_opts to = {.globs = globs,
                    .nglobs = 1,
                    .st = st,
                    .max_line = KILL_MAX_LINE,
                    .batch_rows = 16,
                    .batch_ns = 1000000,
                    .rescan_ns = 20000000};
    tail *t;
    if (tail_start(&to, &t) != 0)
        _exit(4);
    for (;;)
        pause();
}

typedef struct {
    int messages;    /* whole messages written (each "m-<n>" once) */
    int interleaved; /* stderr lines between CRI partials */
    int long_lines;  /* split messages (3 pieces, each with the line's trace id) */
} written;

static void write_burst(const char *path, int *seq, written *w, unsigned *rng)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    char l[4096], m[2048];
    for (int k = 0; k < 40; k++) {
        *rng = *rng * 1103515245u + 12345u;
        unsigned r = (*rng >> 16) % 10;
        int n = (*seq)++;
        if (r < 6) {
            snprintf(m, sizeof m, "{\"msg\":\"m-%d\",\"n\":%d}", n, n);
            cri_line(l, sizeof l, r < 3 ? "stdout" : "stderr", "F", m);
            assert_int_equal((ssize_t)strlen(l), write(fd, l, strlen(l)));
            w->messages++;
        } else if (r < 8) {
            /* a CRI message in two partial lines and a final one */
            snprintf(m, sizeof m, "{\"msg\":\"m-%d", n);
            cri_line(l, sizeof l, "stdout", "P", m);
            assert_int_equal((ssize_t)strlen(l), write(fd, l, strlen(l)));
            cri_line(l, sizeof l, "stderr", "F", "{\"msg\":\"interleaved\"}");
            snprintf(m, sizeof m, "\",\"n\":");
            char l2[256];
            cri_line(l2, sizeof l2, "stdout", "P", m);
            strcat(l, l2);
            snprintf(m, sizeof m, "%d}", n);
            cri_line(l2, sizeof l2, "stdout", "F", m);
            strcat(l, l2);
            /* cut the write in the middle of a line */
            size_t half = strlen(l) / 2;
            assert_int_equal((ssize_t)half, write(fd, l, half));
            sleep_ms(1);
            assert_int_equal((ssize_t)(strlen(l) - half), write(fd, l + half, strlen(l) - half));
            w->messages++;
            w->interleaved++;
        } else {
            /* longer than the limit: 3 pieces, all with the line's trace id */
            int o = snprintf(m, sizeof m, "{\"trace_id\":\"%032x\",\"msg\":\"L%d ", n + 1, n);
            memset(m + o, 'a' + n % 26, 1100 - (size_t)o);
            strcpy(m + 1100, "\"}");
            cri_line(l, sizeof l, "stdout", "F", m);
            assert_int_equal((ssize_t)strlen(l), write(fd, l, strlen(l)));
            w->long_lines++;
        }
    }
    close(fd);
}

static void test_kill9_no_loss_no_dup(void **state)
{
    (void)state;
    char root[] = "/tmp/braid-tail-kill-XXXXXX";
    assert_non_null(mkdtemp(root));
    char data[600], logs[600], glob[700], path[700];
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(logs, sizeof logs, "%s/logs", root);
    assert_int_equal(0, mkdir(logs, 0755));
    snprintf(glob, sizeof glob, "%s/*.log", logs);
    snprintf(path, sizeof path, "%s/app.log", logs);
    int seq = 0;
    written w = {0};
    unsigned rng = 12345;
    for (int cycle = 0; cycle < 3; cycle++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_run(data, glob);
        for (int burst = 0; burst < 4; burst++) {
            rng = rng * 1103515245u + 12345u;
            sleep_ms(5 + (int)((rng >> 16) % 40));
            write_burst(path, &seq, &w, &rng);
        }
        /* kill while the last burst is being read */
        sleep_ms((int)((rng >> 20) % 4));
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(pid, waitpid(pid, &status, 0));
        assert_true(WIFSIGNALED(status));
    }
    /* the final run picks up where the last killed one stopped */
    store *st = open_store(data);
    tail *t = start_tail(st, glob, KILL_MAX_LINE);
    uint64_t expect_rows = (uint64_t)w.messages + 3u * (uint64_t)w.long_lines;
    tail_stats ts;
    rowlist r;
    for (int waited = 0;; waited += 50) {
        sleep_ms(50);
        rows_of(st, &r);
        size_t n = r.n;
        tail_get_stats(t, &ts);
        if (n >= expect_rows + (uint64_t)w.interleaved || waited > 10000) {
            sleep_ms(100);
            rows_free(&r);
            break;
        }
        rows_free(&r);
    }
    tail_get_stats(t, &ts);
    tail_stop(t);
    /* the killed runs stored most of it: the last one only resumed */
    assert_true(ts.rows_stored > 0);
    assert_true(ts.rows_stored < expect_rows / 2);
    rows_of(st, &r);
    size_t interleaved = count_prefix(&r, "interleaved|");
    assert_int_equal(interleaved, w.interleaved);
    assert_int_equal(r.n - interleaved, expect_rows);
    /* each whole message once; each piece of each long line once */
    char p[128];
    int found_long = 0;
    for (int n = 0; n < seq; n++) {
        char tid[40];
        snprintf(tid, sizeof tid, "|%032x|", n + 1);
        size_t pieces[3] = {0}, other = 0;
        for (size_t i = 0; i < r.n; i++) {
            const char *at = strstr(r.v[i], tid);
            if (!at)
                continue;
            long idx = strtol(at + strlen(tid), NULL, 10);
            if (idx >= 0 && idx < 3)
                pieces[idx]++;
            else
                other++;
        }
        snprintf(p, sizeof p, "m-%d|", n);
        size_t c = count_prefix(&r, p);
        if (pieces[0] + pieces[1] + pieces[2] + other) {
            found_long++;
            if (pieces[0] != 1 || pieces[1] != 1 || pieces[2] != 1 || other || c)
                fail_msg("long line %d: pieces %zu/%zu/%zu, other %zu", n, pieces[0], pieces[1],
                         pieces[2], other);
        } else if (c != 1) {
            fail_msg("message m-%d stored %zu times", n, c);
        }
    }
    assert_int_equal(found_long, w.long_lines);
    rows_free(&r);
    assert_int_equal(0, store_close(st));
    rm_tree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_k8s_paths),
        cmocka_unit_test(test_reader_partial_and_join),
        cmocka_unit_test(test_reader_split),
        cmocka_unit_test(test_reader_resume),
        cmocka_unit_test(test_follow_rotation_restart),
        cmocka_unit_test(test_rotated_while_down),
        cmocka_unit_test(test_store_source_ckpt),
        cmocka_unit_test(test_kill9_no_loss_no_dup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

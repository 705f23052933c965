/* store/maint: what changes the set of parts — the start-up scan that makes
 * parts/ agree with the checkpoint, installing a part, merges within a signal
 * and day, retention by whole days. Owns the partset (reference-counted
 * snapshots, so a query in flight keeps its parts). Never loses or duplicates
 * a row: a merge replaces a contiguous run of sequence ranges, and start-up
 * removes whatever a finished merge left behind. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *const sig_dirs[SIGNAL_COUNT] = {"logs", "spans", "metrics", "exemplars"};

const char *store_sig_dir(signal_t sig)
{
    return (unsigned)sig < SIGNAL_COUNT ? sig_dirs[sig] : "unknown";
}

/* ---- part sets ---- */
void partset_unref(partset *ps)
{
    if (!ps || atomic_fetch_sub(&ps->ref, 1) != 1)
        return;
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        for (size_t i = 0; i < ps->n[s]; i++)
            part_unref(ps->p[s][i]);
        free(ps->p[s]);
    }
    free(ps);
}

static int cmp_part(const void *a, const void *b)
{
    const part *x = *(const part *const *)a, *y = *(const part *const *)b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    if (x->seq_lo != y->seq_lo)
        return x->seq_lo < y->seq_lo ? -1 : 1;
    return x->seq_hi < y->seq_hi ? -1 : x->seq_hi > y->seq_hi;
}

partset *partset_edit(const partset *old, part *const *add, size_t nadd, part *const *del,
                      size_t ndel)
{
    partset *ps = calloc(1, sizeof *ps);
    if (!ps)
        return NULL;
    atomic_init(&ps->ref, 1);
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        size_t cap = (old ? old->n[s] : 0) + nadd;
        ps->p[s] = malloc((cap ? cap : 1) * sizeof(part *));
        if (!ps->p[s]) {
            partset_unref(ps);
            return NULL;
        }
        for (size_t i = 0; old && i < old->n[s]; i++) {
            part *p = old->p[s][i];
            bool gone = false;
            for (size_t k = 0; k < ndel && !gone; k++)
                gone = del[k] == p;
            if (gone)
                continue;
            part_ref(p);
            ps->p[s][ps->n[s]++] = p;
        }
        for (size_t k = 0; k < nadd; k++) {
            if (add[k]->sig != (signal_t)s)
                continue;
            part_ref(add[k]);
            ps->p[s][ps->n[s]++] = add[k];
        }
        qsort(ps->p[s], ps->n[s], sizeof(part *), cmp_part);
    }
    return ps;
}

/* Swaps the published set for an edited one. */
static int publish(store *s, part *const *add, size_t nadd, part *const *del, size_t ndel)
{
    pthread_mutex_lock(&s->view_mu);
    partset *next = partset_edit(s->ps, add, nadd, del, ndel);
    partset *old = s->ps;
    if (next)
        s->ps = next;
    pthread_mutex_unlock(&s->view_mu);
    if (!next)
        return BRAID_ENOMEM;
    partset_unref(old);
    return 0;
}

/* ---- directories ---- */
int store_remove_part_dir(const char *path)
{
    char meta[4200];
    snprintf(meta, sizeof meta, "%s/meta", path);
    if (unlink(meta) != 0 && errno != ENOENT)
        return BRAID_EIO;
    return fs_rm_rf(path);
}

static int day_dir(store *s, signal_t sig, uint32_t day, char *out, size_t cap)
{
    char dn[16];
    day_name(day, dn);
    return fs_path(out, cap, "%s/%s/%s", s->parts_dir, store_sig_dir(sig), dn);
}

/* Creates the day directory (and makes its name durable) and a temporary
 * directory inside it. Caller holds dir_mu. */
static int make_tmp(store *s, signal_t sig, uint32_t day, char *dd, size_t ddcap, char *tmp,
                    size_t tmpcap)
{
    if (day_dir(s, sig, day, dd, ddcap))
        return BRAID_EINVAL;
    bool created;
    int rc = fs_mkdir(dd, &created);
    if (!rc && created) {
        char sd[4200];
        snprintf(sd, sizeof sd, "%s/%s", s->parts_dir, store_sig_dir(sig));
        rc = fs_fsync_dir(sd);
    }
    if (rc)
        return rc;
    if (fs_path(tmp, tmpcap, "%s/.tmp-XXXXXX", dd))
        return BRAID_EINVAL;
    return mkdtemp(tmp) ? 0 : braid_err_from_errno(errno);
}

/* Renames a finished temporary part into place and opens it. */
static int install(const char *dd, const char *tmp, signal_t sig, uint32_t day, uint64_t lo,
                   uint64_t hi, part **out)
{
    char name[64], final[4200];
    part_name_make(lo, hi, name);
    snprintf(final, sizeof final, "%s/%s", dd, name);
    /* A directory of that name can only be a leftover of a failed attempt at
     * this same flush (it is above the checkpoint and not published). */
    if (fs_exists(final) && store_remove_part_dir(final))
        return BRAID_EIO;
    if (rename(tmp, final) != 0)
        return braid_err_from_errno(errno);
    int rc = fs_fsync_dir(dd);
    if (!rc)
        rc = part_open(final, sig, day, out);
    if (rc)
        store_remove_part_dir(final);
    return rc;
}

int store_write_part(store *s, signal_t sig, uint32_t day, uint64_t lo, uint64_t hi,
                     const void *const *rows, size_t n, part **out)
{
    *out = NULL;
    char dd[4200], tmp[4300];
    pthread_mutex_lock(&s->dir_mu);
    int rc = make_tmp(s, sig, day, dd, sizeof dd, tmp, sizeof tmp);
    if (rc) {
        pthread_mutex_unlock(&s->dir_mu);
        return rc;
    }
    part_writer *w;
    rc = part_writer_open(tmp, sig, lo, hi, &w);
    if (!rc)
        part_writer_set_stable_origins(w);
    for (size_t i = 0; i < n && !rc; i++)
        rc = part_writer_add(w, rows[i]);
    if (!rc)
        rc = part_writer_finish(w, NULL);
    else if (w)
        part_writer_abort(w);
    if (!rc)
        rc = install(dd, tmp, sig, day, lo, hi, out);
    if (rc)
        fs_rm_rf(tmp);
    pthread_mutex_unlock(&s->dir_mu);
    return rc;
}

/* ---- start-up ---- */
typedef struct {
    uint64_t lo, hi;
    char name[64];
} cand;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->hi > y->hi ? -1 : x->hi < y->hi;
}

static int load_day(store *s, signal_t sig, const char *dd, uint32_t day, part ***acc, size_t *nacc,
                    size_t *capacc)
{
    DIR *d = opendir(dd);
    if (!d)
        return BRAID_EIO;
    cand *cs = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    uint64_t ckpt = atomic_load(&s->flushed_seq);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && !rc) {
        const char *nm = e->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
            continue;
        char path[4300];
        if (fs_path(path, sizeof path, "%s/%s", dd, nm)) {
            LOG_WARN("store: %s/%s: path too long; left alone", dd, nm);
            continue;
        }
        if (nm[0] == '.') {
            rc = fs_rm_rf(path); /* an unfinished write */
            continue;
        }
        uint64_t lo, hi;
        if (part_name_parse(nm, &lo, &hi)) {
            LOG_WARN("store: %s is not a part; left alone", path);
            continue;
        }
        char meta[4400];
        snprintf(meta, sizeof meta, "%s/meta", path);
        if (!fs_exists(meta)) {
            rc = fs_rm_rf(path); /* deletion interrupted */
            continue;
        }
        if (hi > ckpt) {
            LOG_INFO("store: %s holds WAL records above the checkpoint %" PRIu64
                     " (unfinished flush); removed, the WAL replays them",
                     path, ckpt);
            rc = store_remove_part_dir(path);
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            cand *q = realloc(cs, nc * sizeof *q);
            if (!q) {
                rc = BRAID_ENOMEM;
                break;
            }
            cs = q;
            cap = nc;
        }
        cs[n].lo = lo;
        cs[n].hi = hi;
        memcpy(cs[n].name, nm, strlen(nm) + 1); /* 33 chars: part_name_parse checked */
        n++;
    }
    closedir(d);
    if (!rc && n)
        qsort(cs, n, sizeof *cs, cmp_cand);
    uint64_t covered = 0;
    bool any = false;
    for (size_t i = 0; i < n && !rc; i++) {
        char path[4400];
        if (fs_path(path, sizeof path, "%s/%s", dd, cs[i].name)) {
            rc = BRAID_EINVAL;
            break;
        }
        if (any && cs[i].hi <= covered) {
            /* Inside a merged part whose inputs were not all deleted yet. */
            LOG_INFO("store: %s was merged into a later part; removed", path);
            rc = store_remove_part_dir(path);
            continue;
        }
        if (any && cs[i].lo <= covered)
            LOG_ERROR("store: %s overlaps another part's WAL range", path);
        part *p;
        int r = part_open(path, sig, day, &p);
        if (r == BRAID_ENOMEM) {
            rc = r;
            break;
        }
        if (r) {
            char bad[4400];
            snprintf(bad, sizeof bad, "%s/corrupt-%s", dd, cs[i].name);
            LOG_ERROR("store: %s cannot be read (%s); moved aside as %s", path, braid_strerror(r),
                      bad);
            if (rename(path, bad) != 0)
                rc = BRAID_EIO;
            continue;
        }
        any = true;
        if (cs[i].hi > covered)
            covered = cs[i].hi;
        if (*nacc == *capacc) {
            size_t nc = *capacc ? *capacc * 2 : 64;
            part **q = realloc(*acc, nc * sizeof *q);
            if (!q) {
                part_unref(p);
                rc = BRAID_ENOMEM;
                break;
            }
            *acc = q;
            *capacc = nc;
        }
        (*acc)[(*nacc)++] = p;
    }
    free(cs);
    if (!rc && rmdir(dd) == 0)
        LOG_DEBUG("store: removed empty %s", dd);
    return rc;
}

bool store_any_part(store *s)
{
    bool any = false;
    for (int sig = 0; sig < SIGNAL_COUNT && !any; sig++) {
        char sd[4200];
        snprintf(sd, sizeof sd, "%s/%s", s->parts_dir, store_sig_dir((signal_t)sig));
        DIR *d = opendir(sd);
        if (!d)
            continue;
        struct dirent *e;
        while (!any && (e = readdir(d)) != NULL) {
            uint32_t day;
            if (day_parse(e->d_name, &day) != 0)
                continue;
            char dd[4300];
            if (fs_path(dd, sizeof dd, "%s/%s", sd, e->d_name))
                continue;
            DIR *d2 = opendir(dd);
            if (!d2)
                continue;
            struct dirent *f;
            uint64_t lo, hi;
            while (!any && (f = readdir(d2)) != NULL)
                any = part_name_parse(f->d_name, &lo, &hi) == 0;
            closedir(d2);
        }
        closedir(d);
    }
    return any;
}

int store_load_parts(store *s)
{
    part **acc = NULL;
    size_t nacc = 0, capacc = 0;
    int rc = 0;
    for (int sig = 0; sig < SIGNAL_COUNT && !rc; sig++) {
        char sd[4200];
        snprintf(sd, sizeof sd, "%s/%s", s->parts_dir, store_sig_dir((signal_t)sig));
        DIR *d = opendir(sd);
        if (!d) {
            rc = BRAID_EIO;
            break;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL && !rc) {
            const char *nm = e->d_name;
            if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
                continue;
            char dd[4300];
            if (fs_path(dd, sizeof dd, "%s/%s", sd, nm)) {
                LOG_WARN("store: %s/%s: path too long; left alone", sd, nm);
                continue;
            }
            if (nm[0] == '.') {
                rc = fs_rm_rf(dd); /* a day being dropped */
                continue;
            }
            uint32_t day;
            if (day_parse(nm, &day)) {
                LOG_WARN("store: %s is not a day directory; left alone", dd);
                continue;
            }
            rc = load_day(s, (signal_t)sig, dd, day, &acc, &nacc, &capacc);
        }
        closedir(d);
    }
    if (!rc) {
        partset *ps = partset_edit(s->ps, acc, nacc, NULL, 0);
        if (ps) {
            partset_unref(s->ps);
            s->ps = ps;
        } else {
            rc = BRAID_ENOMEM;
        }
    }
    for (size_t i = 0; i < nacc; i++)
        part_unref(acc[i]);
    free(acc);
    return rc;
}

/* ---- merges ---- */
typedef struct {
    part *p;
    part_reader *rd;
    uint32_t g, i;
    const void *row;
} cursor;

static int cursor_next(cursor *c)
{
    c->row = NULL;
    while (c->g < c->p->ngroups) {
        if (c->i == 0) {
            int rc = part_reader_load(c->rd, c->p, c->g);
            if (rc)
                return rc;
        }
        if (c->i < c->p->groups[c->g].nrows)
            return part_reader_row(c->rd, c->i++, &c->row);
        c->g++;
        c->i = 0;
    }
    return 0;
}

/* Whether the store is shutting down: a merge in progress gives up (its
 * inputs stay) rather than hold up the shutdown. */
static bool stopping(store *s)
{
    pthread_mutex_lock(&s->bg_mu);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->bg_mu);
    return stop;
}

#define MERGE_STOP_CHECK 4096 /* rows between checks for a shutdown or a busy flush */

/* Whether the flush is behind: memtables hold more than two memtable sizes
 * (appends wait at FLUSH_BACKLOG_MEMTABLES). Merges then give their CPU to
 * ingest and the flush, unless a day has piled up MERGE_PILEUP parts and
 * lookups would start to feel it. */
static bool flush_busy(store *s)
{
    return atomic_load(&s->mem_bytes) > 2 * s->o.memtable_bytes;
}

/* Streams the rows of in[0..n) (each sorted) into one sorted part. Equal
 * keys keep input order, so older rows stay first. BRAID_ECLOSED when the
 * store began shutting down meanwhile, BRAID_EBUSY when the flush fell
 * behind and the merge may wait (yield). */
static int merge_run(store *s, signal_t sig, part *const *in, size_t n, bool yield, part **out)
{
    *out = NULL;
    uint32_t day = in[0]->day;
    uint64_t lo = in[0]->seq_lo, hi = in[n - 1]->seq_hi;
    char dd[4200], tmp[4300];
    pthread_mutex_lock(&s->dir_mu);
    int rc = make_tmp(s, sig, day, dd, sizeof dd, tmp, sizeof tmp);
    pthread_mutex_unlock(&s->dir_mu);
    if (rc)
        return rc;
    cursor cur[MERGE_MAX_INPUTS];
    memset(cur, 0, sizeof cur);
    for (size_t k = 0; k < n && !rc; k++) {
        cur[k].p = in[k];
        cur[k].rd = part_reader_new();
        rc = cur[k].rd ? cursor_next(&cur[k]) : BRAID_ENOMEM;
    }
    part_writer *w = NULL;
    if (!rc)
        rc = part_writer_open(tmp, sig, lo, hi, &w);
    if (!rc)
        part_writer_set_level(w, PART_ZSTD_LEVEL_MERGE);
    uint64_t want = 0;
    for (size_t k = 0; k < n; k++)
        want += in[k]->nrows;
    uint64_t done = 0;
    while (!rc) {
        if (++done % MERGE_STOP_CHECK == 0 && (stopping(s) || (yield && flush_busy(s)))) {
            rc = stopping(s) ? BRAID_ECLOSED : BRAID_EBUSY;
            break;
        }
        size_t best = n;
        for (size_t k = 0; k < n; k++)
            if (cur[k].row && (best == n || row_cmp(sig, cur[k].row, cur[best].row) < 0))
                best = k;
        if (best == n)
            break;
        rc = part_writer_add(w, cur[best].row);
        if (!rc)
            rc = cursor_next(&cur[best]);
    }
    uint64_t got = 0;
    if (!rc) {
        rc = part_writer_finish(w, &got);
        w = NULL;
        if (!rc && got != want) {
            LOG_ERROR("store: merge produced %" PRIu64 " rows from %" PRIu64, got, want);
            rc = BRAID_EFORMAT;
        }
    }
    part_writer_abort(w);
    for (size_t k = 0; k < n; k++)
        part_reader_free(cur[k].rd);
    if (!rc) {
        pthread_mutex_lock(&s->dir_mu);
        rc = install(dd, tmp, sig, day, lo, hi, out);
        pthread_mutex_unlock(&s->dir_mu);
    }
    if (rc)
        fs_rm_rf(tmp);
    return rc;
}

/* Picks, in one day of one signal, the contiguous run (by sequence range) of
 * parts that is cheapest to merge per part removed. Only parts at or below
 * the checkpoint qualify: anything above it may be dropped at start-up. */
static bool pick_merge(store *s, const partset *ps, signal_t sig, size_t *from, size_t *len,
                       bool *yield)
{
    uint64_t ckpt = atomic_load(&s->flushed_seq);
    size_t n = ps->n[sig];
    bool busy = flush_busy(s);
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && ps->p[sig][b]->day == ps->p[sig][a]->day)
            b++;
        size_t ne = 0;
        while (a + ne < b && ps->p[sig][a + ne]->seq_hi <= ckpt)
            ne++;
        *yield = b - a <= MERGE_PILEUP;
        if (b - a > s->merge_trigger && ne >= 2 && !(busy && *yield)) {
            double best = 0;
            bool found = false;
            for (size_t L = 2; L <= MERGE_MAX_INPUTS && L <= ne; L++) {
                for (size_t i = a; i + L <= a + ne; i++) {
                    double bytes = 0;
                    for (size_t k = i; k < i + L; k++)
                        bytes += (double)ps->p[sig][k]->disk_bytes;
                    double cost = bytes / (double)(L - 1);
                    if (!found || cost < best) {
                        best = cost;
                        *from = i;
                        *len = L;
                        found = true;
                    }
                }
            }
            if (found)
                return true;
        }
        a = b;
    }
    return false;
}

static int merge_once(store *s, signal_t sig, bool *did)
{
    *did = false;
    partset *ps = store_partset(s);
    size_t from, len;
    bool yield;
    if (!pick_merge(s, ps, sig, &from, &len, &yield)) {
        partset_unref(ps);
        return 0;
    }
    part *in[MERGE_MAX_INPUTS];
    for (size_t k = 0; k < len; k++)
        in[k] = ps->p[sig][from + k];
    part *merged;
    int rc = merge_run(s, sig, in, len, yield, &merged);
    if (!rc) {
        rc = publish(s, &merged, 1, in, len);
        if (rc) {
            store_remove_part_dir(merged->path);
        } else {
            /* Readers holding the old set keep the files mapped. */
            for (size_t k = 0; k < len; k++)
                store_remove_part_dir(in[k]->path);
            atomic_fetch_add(&s->merges, 1);
            *did = true;
        }
        part_unref(merged);
    } else if (rc == BRAID_ECLOSED || rc == BRAID_EBUSY) {
        rc = 0; /* shutting down, or the flush needs the CPU: the inputs stay */
    } else {
        LOG_ERROR("store: merge of %zu %s parts failed: %s", len, store_sig_dir(sig),
                  braid_strerror(rc));
    }
    partset_unref(ps);
    return rc;
}

/* ---- retention ---- */
static int retention(store *s)
{
    if (!s->o.retention_ns)
        return 0;
    uint64_t now = now_unix_ns();
    if (now < s->o.retention_ns)
        return 0;
    uint64_t cutoff = now - s->o.retention_ns;
    partset *ps = store_partset(s);
    size_t nv = 0;
    for (int sig = 0; sig < SIGNAL_COUNT; sig++)
        nv += ps->n[sig];
    part **victims = malloc((nv ? nv : 1) * sizeof *victims);
    if (!victims) {
        partset_unref(ps);
        return BRAID_ENOMEM;
    }
    nv = 0;
    for (int sig = 0; sig < SIGNAL_COUNT; sig++)
        for (size_t i = 0; i < ps->n[sig]; i++) {
            part *p = ps->p[sig][i];
            if (((uint64_t)p->day + 1) * 86400ull * 1000000000ull <= cutoff)
                victims[nv++] = p;
        }
    int rc = 0;
    if (nv) {
        pthread_mutex_lock(&s->dir_mu);
        rc = publish(s, NULL, 0, victims, nv);
        for (size_t i = 0; i < nv && !rc; i++) {
            int r = store_remove_part_dir(victims[i]->path);
            if (r)
                rc = r;
            char dd[4200];
            if (!day_dir(s, victims[i]->sig, victims[i]->day, dd, sizeof dd))
                rmdir(dd); /* fails while other parts of the day remain */
        }
        pthread_mutex_unlock(&s->dir_mu);
        if (!rc)
            LOG_INFO("store: retention dropped %zu parts", nv);
    }
    free(victims);
    partset_unref(ps);
    return rc;
}

void store_maint_thread_priority(void)
{
    /* On Linux a thread id names one thread for setpriority. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) != 0)
        LOG_DEBUG("store: cannot lower the merge thread's priority: %s", strerror(errno));
}

int store_maintain(store *s)
{
    pthread_mutex_lock(&s->maint_mu);
    int rc = retention(s);
    for (int sig = 0; sig < SIGNAL_COUNT && !rc; sig++) {
        bool did = true;
        while (did && !rc && !stopping(s))
            rc = merge_once(s, (signal_t)sig, &did);
    }
    pthread_mutex_unlock(&s->maint_mu);
    return rc;
}

/* store: the embedded durable store (store.h). Owns the data directory, WAL,
 * memtables, part set and the flush and maintenance threads. An append is
 * encoded outside any lock, group-committed and linked into the memtable by
 * the group leader in sequence order before it is acknowledged. Queries take
 * references to a consistent view under a short lock and read without it.
 * Never holds a lock across a callback or across I/O on the append path. */
#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CKPT_MAGIC "BRAIDCKP"
#define CKPT_LEN 28
#define READER_POOL_MAX 32

void store_opts_default(store_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dir = "./braid-data";
    o->fsync = STORE_FSYNC_BATCH;
    o->memtable_bytes = (uint64_t)64 << 20;
    o->memory_limit = (uint64_t)1 << 30;
    o->retention_ns = 0;
    o->background = true;
}

/* ---- checkpoint ---- */
static int ckpt_read(const char *dir, uint64_t *seq, bool *missing)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    uint8_t *p;
    size_t n;
    *seq = 0;
    *missing = false;
    int rc = fs_read_file(path, &p, &n);
    if (rc == BRAID_ENOTFOUND) {
        *missing = true;
        return 0;
    }
    if (rc)
        return rc;
    rc = BRAID_EFORMAT;
    if (n == CKPT_LEN && memcmp(p, CKPT_MAGIC, 8) == 0 && rd_u32le(p + 8) == STORE_FORMAT_VERSION &&
        crc32c(0, p, 24) == rd_u32le(p + 24)) {
        *seq = rd_u64le(p + 16);
        rc = 0;
    }
    free(p);
    if (rc)
        LOG_ERROR("store: %s is damaged; refusing to guess which WAL records are in parts", path);
    return rc;
}

static int ckpt_write(store *s, uint64_t seq)
{
    /* Records up to seq may leave the WAL after this: a source checkpoint
     * they carried must be on disk first. */
    int src_rc = store_src_save(s);
    if (src_rc)
        return src_rc;
    /* Best effort: a failed write only keeps more of the WAL. */
    (void)store_obs_save(s, false);
    uint8_t b[CKPT_LEN] = {0};
    memcpy(b, CKPT_MAGIC, 8);
    wr_u32le(b + 8, STORE_FORMAT_VERSION);
    wr_u64le(b + 16, seq);
    wr_u32le(b + 24, crc32c(0, b, 24));
    int rc = fs_write_atomic(s->dir, "checkpoint", b, sizeof b);
    if (!rc)
        atomic_store(&s->flushed_seq, seq);
    return rc;
}

/* ---- background wake-ups ---- */
static void wake_bg(store *s)
{
    pthread_mutex_lock(&s->bg_mu);
    s->flush_wanted = true;
    pthread_cond_broadcast(&s->bg_cv);
    pthread_mutex_unlock(&s->bg_mu);
}

/* ---- memtables ---- */
/* Caller holds view_mu. Moves a non-empty active memtable to the frozen list. */
static void freeze_locked(store *s)
{
    if (!s->active->head)
        return;
    memtable *n = memtable_new();
    if (!n)
        return;
    memtable *old = s->active;
    s->active = n;
    old->next = NULL;
    if (s->frozen_tail)
        s->frozen_tail->next = old;
    else
        s->frozen_head = old;
    s->frozen_tail = old;
}

void store_drop_memtable(store *s, memtable *m)
{
    size_t freed = memtable_unref(m);
    if (freed)
        atomic_fetch_sub(&s->mem_bytes, freed);
}

/* Links acknowledged chunks in; one group at a time, in sequence order. */
static void insert_chunk(store *s, mchunk *ck)
{
    memtable_insert(s->active, ck);
}

static void on_commit(void *ud, wal_rec *first, size_t n)
{
    store *s = ud;
    bool froze = false;
    pthread_mutex_lock(&s->view_mu);
    wal_rec *r = first;
    for (size_t i = 0; i < n; i++, r = r->next) {
        store_src_commit(s, r);
        mchunk *ck = r->user;
        if (!ck) /* a source checkpoint without rows */
            continue;
        ck->seq = r->seq;
        insert_chunk(s, ck);
        store_obs_commit(s, s->active, ck, r->seq);
    }
    if (s->active->bytes >= s->o.memtable_bytes) {
        freeze_locked(s);
        froze = true;
    }
    pthread_mutex_unlock(&s->view_mu);
    if (froze)
        wake_bg(s);
}

static int on_replay(void *ud, uint64_t seq, const uint8_t *body, size_t len)
{
    store *s = ud;
    int src_rc = store_src_replay(s, seq, &body, &len);
    if (src_rc == BRAID_EFORMAT)
        LOG_WARN("store: WAL record %" PRIu64 " has a malformed source checkpoint; skipped", seq);
    if (src_rc)
        return 0;
    bool in_parts = seq <= atomic_load(&s->flushed_seq);
    if (in_parts && !store_obs_wants(s, seq))
        return 0;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return BRAID_ENOMEM;
    memcpy(copy, body, len);
    mchunk *ck;
    int rc = mchunk_new(copy, len, len, &ck);
    if (rc == BRAID_EFORMAT) {
        LOG_WARN("store: WAL record %" PRIu64 " has an intact frame but undecodable rows; skipped",
                 seq);
        return 0;
    }
    if (rc)
        return rc;
    ck->seq = seq;
    store_obs_replay(s, seq, ck);
    if (in_parts) {
        mchunk_free(ck);
        return 0;
    }
    atomic_fetch_add(&s->mem_bytes, ck->bytes);
    pthread_mutex_lock(&s->view_mu);
    insert_chunk(s, ck);
    if (s->active->bytes >= s->o.memtable_bytes)
        freeze_locked(s);
    pthread_mutex_unlock(&s->view_mu);
    /* Replaying more than fits in memory: write parts as we go. */
    if (atomic_load(&s->mem_bytes) > s->o.memory_limit)
        return store_flush_frozen(s, false);
    return 0;
}

/* ---- flush ---- */
static void discard_parts(part **ps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        store_remove_part_dir(ps[i]->path);
        part_unref(ps[i]);
    }
}

/* Writes one frozen memtable as parts, publishes them in place of the
 * memtable, then moves the checkpoint. */
static int flush_memtable(store *s, memtable *m)
{
    part **made = NULL;
    size_t nmade = 0, capmade = 0;
    int rc = 0;
    for (int sig = 0; sig < SIGNAL_COUNT && !rc; sig++) {
        if (!m->rows[sig])
            continue;
        size_t n = (size_t)m->rows[sig];
        const void **rows;
        if ((rc = memtable_sorted_rows(m, (signal_t)sig, &rows)) != 0)
            break;
        for (size_t i = 0; i < n && !rc;) {
            uint32_t day = row_day(row_time((signal_t)sig, rows[i]));
            size_t j = i + 1;
            while (j < n && row_day(row_time((signal_t)sig, rows[j])) == day)
                j++;
            if (nmade == capmade) {
                size_t nc = capmade ? capmade * 2 : 8;
                part **q = realloc(made, nc * sizeof *q);
                if (!q) {
                    rc = BRAID_ENOMEM;
                    break;
                }
                made = q;
                capmade = nc;
            }
            part *p;
            rc = store_write_part(s, (signal_t)sig, day, m->seq_lo, m->seq_hi, rows + i, j - i, &p);
            if (!rc)
                made[nmade++] = p;
            i = j;
        }
        free(rows);
    }
    partset *next = NULL;
    if (!rc) {
        pthread_mutex_lock(&s->view_mu);
        next = partset_edit(s->ps, made, nmade, NULL, 0);
        if (next) {
            partset *old = s->ps;
            s->ps = next;
            s->frozen_head = m->next;
            if (!s->frozen_head)
                s->frozen_tail = NULL;
            m->next = NULL;
            pthread_mutex_unlock(&s->view_mu);
            partset_unref(old);
            store_drop_memtable(s, m); /* the view's reference */
        } else {
            pthread_mutex_unlock(&s->view_mu);
            rc = BRAID_ENOMEM;
        }
    }
    if (rc) {
        LOG_ERROR("store: flush of WAL records %" PRIu64 "..%" PRIu64 " failed: %s", m->seq_lo,
                  m->seq_hi, braid_strerror(rc));
        discard_parts(made, nmade);
        free(made);
        return rc;
    }
    for (size_t i = 0; i < nmade; i++)
        part_unref(made[i]);
    free(made);
    atomic_fetch_add(&s->flushes, 1);
    /* The parts are published; the checkpoint makes them authoritative. If it
     * cannot be written, a restart deletes them and replays the WAL instead,
     * and merges leave them alone (they only take parts at or below it). */
    rc = ckpt_write(s, m->seq_hi);
    if (rc)
        LOG_ERROR("store: cannot write the checkpoint: %s", braid_strerror(rc));
    return rc;
}

int store_flush_frozen(store *s, bool freeze_active)
{
    pthread_mutex_lock(&s->flush_mu);
    if (freeze_active) {
        pthread_mutex_lock(&s->view_mu);
        freeze_locked(s);
        pthread_mutex_unlock(&s->view_mu);
    }
    int rc = 0;
    uint64_t published = 0;
    for (;;) {
        pthread_mutex_lock(&s->view_mu);
        memtable *m = s->frozen_head;
        if (m)
            memtable_ref(m);
        pthread_mutex_unlock(&s->view_mu);
        if (!m)
            break;
        published = m->seq_hi;
        rc = flush_memtable(s, m);
        store_drop_memtable(s, m);
        if (rc)
            break;
    }
    /* A checkpoint that failed earlier is retried once everything is out. */
    if (!rc && published == 0) {
        pthread_mutex_lock(&s->view_mu);
        uint64_t top = 0;
        for (int sig = 0; sig < SIGNAL_COUNT; sig++)
            for (size_t i = 0; i < s->ps->n[sig]; i++)
                if (s->ps->p[sig][i]->seq_hi > top)
                    top = s->ps->p[sig][i]->seq_hi;
        pthread_mutex_unlock(&s->view_mu);
        if (top > atomic_load(&s->flushed_seq))
            rc = ckpt_write(s, top);
    }
    if (!rc && s->w)
        rc = wal_trim(s->w, store_obs_trim_limit(s, atomic_load(&s->flushed_seq)));
    pthread_mutex_unlock(&s->flush_mu);
    return rc;
}

/* Flow control. When flushes fall behind (on a small machine ingest and the
 * flush share the cores), an append waits a little for the flush to catch up
 * instead of adding to the backlog: a waiting appender uses no CPU, so the
 * flush gets it, and ingest settles at the rate the flush sustains instead of
 * running into the memory limit and its "retry later". The wait is bounded,
 * so a flush that cannot make progress still ends in the limit's refusal. */
#define THROTTLE_STEP_NS 2000000ull
#define THROTTLE_MAX_NS 2000000000ull

static void flush_throttle(store *s)
{
    /* Without a flush thread (tests, or a store that flushes by hand),
     * waiting cannot help. */
    if (!s->threads_started)
        return;
    uint64_t over = s->o.memtable_bytes * FLUSH_BACKLOG_MEMTABLES;
    if (over > s->o.memory_limit / 2)
        over = s->o.memory_limit / 2;
    if (atomic_load(&s->mem_bytes) <= over)
        return;
    wake_bg(s);
    for (uint64_t waited = 0; waited < THROTTLE_MAX_NS && atomic_load(&s->mem_bytes) > over;
         waited += THROTTLE_STEP_NS) {
        struct timespec ts = {0, (long)THROTTLE_STEP_NS};
        nanosleep(&ts, NULL);
    }
}

int store_flush(store *s)
{
    return store_flush_frozen(s, true);
}

/* ---- threads ---- */
static void *flush_main(void *arg)
{
    store *s = arg;
    pthread_setname_np(pthread_self(), "braid-flush");
    pthread_mutex_lock(&s->bg_mu);
    while (!s->stop) {
        if (!s->flush_wanted) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&s->bg_cv, &s->bg_mu, &ts);
        }
        s->flush_wanted = false;
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->bg_mu);
        pthread_mutex_lock(&s->view_mu);
        /* A quiet memtable is written out after a while, so the WAL stays
         * short and a restart replays little. */
        if (s->active->head && now_mono_ns() - s->active->born_ns > atomic_load(&s->max_age_ns))
            freeze_locked(s);
        bool work = s->frozen_head != NULL;
        pthread_mutex_unlock(&s->view_mu);
        int rc = work ? store_flush_frozen(s, false) : 0;
        pthread_mutex_lock(&s->bg_mu);
        if (rc)
            s->bg_error = rc;
    }
    pthread_mutex_unlock(&s->bg_mu);
    return NULL;
}

static void *maint_main(void *arg)
{
    store *s = arg;
    pthread_setname_np(pthread_self(), "braid-merge");
    store_maint_thread_priority();
    pthread_mutex_lock(&s->bg_mu);
    while (!s->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&s->bg_cv, &s->bg_mu, &ts);
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->bg_mu);
        int rc = store_maintain(s);
        pthread_mutex_lock(&s->bg_mu);
        if (rc)
            s->bg_error = rc;
    }
    pthread_mutex_unlock(&s->bg_mu);
    return NULL;
}

static void stop_threads(store *s)
{
    if (!s->threads_started)
        return;
    pthread_mutex_lock(&s->bg_mu);
    s->stop = true;
    pthread_cond_broadcast(&s->bg_cv);
    pthread_mutex_unlock(&s->bg_mu);
    pthread_join(s->flush_thread, NULL);
    pthread_join(s->maint_thread, NULL);
    s->threads_started = false;
}

/* ---- open / close ---- */
/* mkdir -p. A directory created here is made durable in its parent: acked
 * data will live below it. */
static int mkdir_p(const char *path)
{
    char tmp[4096];
    if (fs_path(tmp, sizeof tmp, "%s", path))
        return BRAID_EINVAL;
    size_t n = strlen(tmp);
    while (n > 1 && tmp[n - 1] == '/')
        tmp[--n] = 0;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        bool created;
        int rc = fs_mkdir(tmp, &created);
        char *slash = strrchr(tmp, '/');
        if (!rc && created && slash) {
            *slash = 0;
            rc = fs_fsync_dir(slash == tmp ? "/" : tmp);
            *slash = '/';
        }
        *p = '/';
        if (rc)
            return rc;
    }
    bool created;
    int rc = fs_mkdir(tmp, &created);
    char *slash = strrchr(tmp, '/');
    if (!rc && created) {
        if (slash) {
            *slash = 0;
            rc = fs_fsync_dir(slash == tmp ? "/" : tmp);
        } else {
            rc = fs_fsync_dir(".");
        }
    }
    return rc;
}

/* Creates dir/name if missing and fsyncs dir when it did. */
static int make_subdir(const char *dir, const char *name)
{
    char p[4200];
    if (fs_path(p, sizeof p, "%s/%s", dir, name))
        return BRAID_EINVAL;
    bool created;
    int rc = fs_mkdir(p, &created);
    if (!rc && created)
        rc = fs_fsync_dir(dir);
    return rc;
}

static void free_store(store *s)
{
    store_obs_free(s); /* first: its queue holds memtable references */
    if (s->active)
        store_drop_memtable(s, s->active);
    for (memtable *m = s->frozen_head; m;) {
        memtable *next = m->next;
        store_drop_memtable(s, m);
        m = next;
    }
    if (s->ps)
        partset_unref(s->ps);
    store_src_free(s);
    for (size_t i = 0; i < s->readers.n; i++)
        part_reader_free(s->readers.free[i]);
    free(s->readers.free);
    pthread_mutex_destroy(&s->readers.mu);
    pthread_mutex_destroy(&s->view_mu);
    pthread_mutex_destroy(&s->flush_mu);
    pthread_mutex_destroy(&s->maint_mu);
    pthread_mutex_destroy(&s->dir_mu);
    pthread_mutex_destroy(&s->bg_mu);
    pthread_cond_destroy(&s->bg_cv);
    free(s->dir);
    free(s);
}

int store_open(const store_opts *o, store **out)
{
    *out = NULL;
    if (!o || !o->dir || !*o->dir)
        return BRAID_EINVAL;
    store *s = calloc(1, sizeof *s);
    if (!s)
        return BRAID_ENOMEM;
    s->o = *o;
    if (!s->o.memtable_bytes)
        s->o.memtable_bytes = (uint64_t)64 << 20;
    if (!s->o.memory_limit)
        s->o.memory_limit = (uint64_t)1 << 30;
    s->merge_trigger = MERGE_TRIGGER;
    atomic_init(&s->max_age_ns, MEMTABLE_MAX_AGE_NS);
    pthread_mutex_init(&s->readers.mu, NULL);
    pthread_mutex_init(&s->view_mu, NULL);
    pthread_mutex_init(&s->flush_mu, NULL);
    pthread_mutex_init(&s->maint_mu, NULL);
    pthread_mutex_init(&s->dir_mu, NULL);
    pthread_mutex_init(&s->bg_mu, NULL);
    pthread_cond_init(&s->bg_cv, NULL);
    atomic_init(&s->mem_bytes, 0);
    atomic_init(&s->flushed_seq, 0);
    atomic_init(&s->flushes, 0);
    atomic_init(&s->merges, 0);
    s->dir = strdup(o->dir);
    s->active = memtable_new();
    s->ps = partset_edit(NULL, NULL, 0, NULL, 0);
    int rc = s->dir && s->active && s->ps ? 0 : BRAID_ENOMEM;
    s->o.dir = s->dir;
    if (!rc && (fs_path(s->wal_dir, sizeof s->wal_dir, "%s/wal", s->dir) ||
                fs_path(s->parts_dir, sizeof s->parts_dir, "%s/parts", s->dir)))
        rc = BRAID_EINVAL;
    if (!rc)
        rc = mkdir_p(s->dir);
    if (!rc)
        rc = make_subdir(s->dir, "wal");
    if (!rc)
        rc = make_subdir(s->dir, "parts");
    for (int sig = 0; sig < SIGNAL_COUNT && !rc; sig++)
        rc = make_subdir(s->parts_dir, store_sig_dir((signal_t)sig));
    if (!rc)
        rc = store_src_open(s);
    if (!rc)
        rc = store_obs_open(s);
    uint64_t ck = 0;
    bool missing = false;
    if (!rc)
        rc = ckpt_read(s->dir, &ck, &missing);
    atomic_store(&s->flushed_seq, ck);
    /* Every data directory gets a checkpoint before its first part, so a
     * missing one next to parts means damage: deleting those parts as
     * "above the checkpoint" would lose them. */
    if (!rc && missing) {
        if (store_any_part(s)) {
            LOG_ERROR("store: %s/checkpoint is missing but parts exist; restore it or move "
                      "parts/ away",
                      s->dir);
            rc = BRAID_EFORMAT;
        } else {
            rc = ckpt_write(s, 0);
        }
    }
    if (!rc)
        rc = store_load_parts(s);
    if (!rc) {
        wal_opts wo = {.fsync = o->fsync,
                       .min_next_seq = ck + 1,
                       .replay = on_replay,
                       .commit = on_commit,
                       .ud = s};
        rc = wal_open(s->wal_dir, &wo, &s->w);
    }
    if (!rc)
        rc = wal_trim(s->w, store_obs_trim_limit(s, atomic_load(&s->flushed_seq)));
    if (!rc)
        rc = store_obs_start(s);
    if (!rc && s->o.background) {
        if (pthread_create(&s->flush_thread, NULL, flush_main, s) != 0)
            rc = BRAID_ENOMEM;
        else if (pthread_create(&s->maint_thread, NULL, maint_main, s) != 0) {
            pthread_mutex_lock(&s->bg_mu);
            s->stop = true;
            pthread_cond_broadcast(&s->bg_cv);
            pthread_mutex_unlock(&s->bg_mu);
            pthread_join(s->flush_thread, NULL);
            rc = BRAID_ENOMEM;
        } else {
            s->threads_started = true;
        }
    }
    if (rc) {
        LOG_ERROR("store: cannot open %s: %s", o->dir, braid_strerror(rc));
        if (s->w)
            wal_close(s->w, 0);
        free_store(s);
        return rc;
    }
    *out = s;
    return 0;
}

int store_close(store *s)
{
    if (!s)
        return 0;
    stop_threads(s);
    int rc = store_flush_frozen(s, true);
    store_obs_drain(s);
    store_obs_stop(s);
    if (s->obs)
        (void)store_obs_save(s, true); /* on failure the WAL keeps the records */
    int rc2 = wal_close(s->w, store_obs_trim_limit(s, atomic_load(&s->flushed_seq)));
    s->w = NULL;
    if (!rc)
        rc = rc2;
    free_store(s);
    return rc;
}

/* ---- append ---- */
int store_append(store *s, const model_batch *b)
{
    if (!s || !b)
        return BRAID_EINVAL;
    if (b->nlogs + b->nspans + b->nmetrics + b->nexemplars == 0)
        return 0;
    flush_throttle(s);
    if (atomic_load(&s->mem_bytes) > s->o.memory_limit) {
        wake_bg(s);
        return BRAID_EBUSY;
    }
    buf enc;
    buf_init(&enc);
    int rc = rowcodec_encode(b, &enc);
    if (!rc)
        rc = buf_reserve(&enc, WAL_TRAILER);
    if (rc) {
        buf_free(&enc);
        return rc;
    }
    size_t len = enc.n, cap = enc.cap;
    uint8_t *p = buf_detach(&enc, NULL);
    mchunk *ck;
    rc = mchunk_new(p, len, cap, &ck);
    if (rc)
        return rc == BRAID_EFORMAT ? BRAID_EINVAL : rc;
    atomic_fetch_add(&s->mem_bytes, ck->bytes);
    wal_rec r = {.data = ck->payload, .len = len, .user = ck};
    rc = wal_append(s->w, &r);
    if (rc) {
        atomic_fetch_sub(&s->mem_bytes, ck->bytes);
        mchunk_free(ck);
    }
    return rc;
}

/* ---- views ---- */
partset *store_partset(store *s)
{
    pthread_mutex_lock(&s->view_mu);
    partset *ps = s->ps;
    atomic_fetch_add(&ps->ref, 1);
    pthread_mutex_unlock(&s->view_mu);
    return ps;
}

static part_reader *reader_get(store *s)
{
    part_reader *r = NULL;
    pthread_mutex_lock(&s->readers.mu);
    if (s->readers.n)
        r = s->readers.free[--s->readers.n];
    pthread_mutex_unlock(&s->readers.mu);
    return r ? r : part_reader_new();
}

static void reader_put(store *s, part_reader *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&s->readers.mu);
    if (s->readers.n == s->readers.cap && s->readers.cap < READER_POOL_MAX) {
        size_t nc = s->readers.cap ? s->readers.cap * 2 : 4;
        part_reader **q = realloc(s->readers.free, nc * sizeof *q);
        if (q) {
            s->readers.free = q;
            s->readers.cap = nc;
        }
    }
    if (s->readers.n < s->readers.cap) {
        s->readers.free[s->readers.n++] = r;
        r = NULL;
    }
    pthread_mutex_unlock(&s->readers.mu);
    part_reader_free(r);
}

/* Memtables of a view, oldest first, each with the tail seen at snapshot. */
typedef struct {
    partset *ps;
    memtable **mt;
    mchunk **tail;
    size_t nmt;
} view;

static int view_take(store *s, view *v)
{
    memset(v, 0, sizeof *v);
    pthread_mutex_lock(&s->view_mu);
    size_t n = 1;
    for (memtable *m = s->frozen_head; m; m = m->next)
        n++;
    v->mt = malloc(n * sizeof *v->mt);
    v->tail = malloc(n * sizeof *v->tail);
    if (!v->mt || !v->tail) {
        pthread_mutex_unlock(&s->view_mu);
        free(v->mt);
        free(v->tail);
        return BRAID_ENOMEM;
    }
    for (memtable *m = s->frozen_head; m; m = m->next) {
        memtable_ref(m);
        v->tail[v->nmt] = m->tail;
        v->mt[v->nmt++] = m;
    }
    memtable_ref(s->active);
    v->tail[v->nmt] = s->active->tail;
    v->mt[v->nmt++] = s->active;
    v->ps = s->ps;
    atomic_fetch_add(&v->ps->ref, 1);
    pthread_mutex_unlock(&s->view_mu);
    return 0;
}

static void view_drop(store *s, view *v)
{
    for (size_t i = 0; i < v->nmt; i++)
        store_drop_memtable(s, v->mt[i]);
    if (v->ps)
        partset_unref(v->ps);
    free(v->mt);
    free(v->tail);
    memset(v, 0, sizeof *v);
}

/* ---- copying rows out ---- */
typedef struct {
    model_batch *out;
    const model_origin *last_src;
    model_origin *last_dst;
    int err;
} copier;

static bslice keep(copier *c, bslice s)
{
    bslice d = {NULL, 0};
    if (!c->err && model_batch_keep(c->out, s.p, s.n, &d))
        c->err = BRAID_ENOMEM;
    return d;
}

static bool origin_same(const model_origin *a, const model_origin *b)
{
    return bslice_eq(a->service, b->service) && bslice_eq(a->resource_attrs, b->resource_attrs) &&
           a->resource_dropped == b->resource_dropped &&
           bslice_eq(a->resource_schema_url, b->resource_schema_url) &&
           bslice_eq(a->scope_name, b->scope_name) &&
           bslice_eq(a->scope_version, b->scope_version) &&
           bslice_eq(a->scope_attrs, b->scope_attrs) && a->scope_dropped == b->scope_dropped &&
           bslice_eq(a->scope_schema_url, b->scope_schema_url);
}

static const model_origin *copy_origin(copier *c, const model_origin *o)
{
    if (!o)
        o = &store_empty_origin;
    if (c->last_dst && (c->last_src == o || origin_same(c->last_dst, o))) {
        c->last_src = o;
        return c->last_dst;
    }
    model_origin *d = model_batch_add_origin(c->out);
    if (!d) {
        c->err = BRAID_ENOMEM;
        return &store_empty_origin;
    }
    d->service = keep(c, o->service);
    d->resource_attrs = keep(c, o->resource_attrs);
    d->resource_dropped = o->resource_dropped;
    d->resource_schema_url = keep(c, o->resource_schema_url);
    d->scope_name = keep(c, o->scope_name);
    d->scope_version = keep(c, o->scope_version);
    d->scope_attrs = keep(c, o->scope_attrs);
    d->scope_dropped = o->scope_dropped;
    d->scope_schema_url = keep(c, o->scope_schema_url);
    c->last_src = o;
    c->last_dst = d;
    return d;
}

/* Appends a deep copy of row to the batch. Memtable origins are stable, so
 * last_src short-cuts them; part rows share one reader origin struct, so
 * those are compared by content. */
static void copy_row(copier *c, signal_t sig, const void *row, bool stable_origin)
{
    if (!stable_origin)
        c->last_src = NULL;
    switch (sig) {
    case SIGNAL_LOGS: {
        const model_log *s = row;
        model_log *d = model_batch_add_log(c->out);
        if (!d) {
            c->err = BRAID_ENOMEM;
            return;
        }
        *d = *s;
        d->origin = copy_origin(c, s->origin);
        d->severity_text = keep(c, s->severity_text);
        d->body = keep(c, s->body);
        d->attrs = keep(c, s->attrs);
        d->event_name = keep(c, s->event_name);
        d->source = keep(c, s->source);
        d->id_field = keep(c, s->id_field);
        break;
    }
    case SIGNAL_SPANS: {
        const model_span *s = row;
        model_span *d = model_batch_add_span(c->out);
        if (!d) {
            c->err = BRAID_ENOMEM;
            return;
        }
        *d = *s;
        d->origin = copy_origin(c, s->origin);
        d->trace_state = keep(c, s->trace_state);
        d->name = keep(c, s->name);
        d->attrs = keep(c, s->attrs);
        d->events = keep(c, s->events);
        d->links = keep(c, s->links);
        d->status_message = keep(c, s->status_message);
        break;
    }
    case SIGNAL_EXEMPLARS: {
        const model_exemplar *s = row;
        model_exemplar *d = model_batch_add_exemplar(c->out);
        if (!d) {
            c->err = BRAID_ENOMEM;
            return;
        }
        *d = *s;
        d->origin = copy_origin(c, s->origin);
        d->metric_name = keep(c, s->metric_name);
        d->series_attrs = keep(c, s->series_attrs);
        d->filtered_attrs = keep(c, s->filtered_attrs);
        break;
    }
    case SIGNAL_METRICS: {
        const model_metric *s = row;
        model_metric *d = model_batch_add_metric(c->out);
        if (!d) {
            c->err = BRAID_ENOMEM;
            return;
        }
        *d = *s;
        d->origin = copy_origin(c, s->origin);
        d->name = keep(c, s->name);
        d->description = keep(c, s->description);
        d->unit = keep(c, s->unit);
        d->attrs = keep(c, s->attrs);
        d->payload = keep(c, s->payload);
        d->metadata = keep(c, s->metadata);
        break;
    }
    }
}

static int cmp_log(const void *a, const void *b)
{
    const model_log *x = a, *y = b;
    uint64_t tx = row_time(SIGNAL_LOGS, x), ty = row_time(SIGNAL_LOGS, y);
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return x->observed_ns < y->observed_ns ? -1 : x->observed_ns > y->observed_ns;
}

static int cmp_span(const void *a, const void *b)
{
    const model_span *x = a, *y = b;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return x->end_ns < y->end_ns ? -1 : x->end_ns > y->end_ns;
}

static int cmp_exemplar(const void *a, const void *b)
{
    const model_exemplar *x = a, *y = b;
    return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

/* ---- trace lookup ---- */
typedef struct {
    const void *row;
    uint8_t sig;
} hit;

static int trace_parts(store *s, const partset *ps, const trace_id_t *tid, copier *c)
{
    static const signal_t sigs[] = {SIGNAL_LOGS, SIGNAL_SPANS, SIGNAL_EXEMPLARS};
    part_reader *rd = NULL;
    int rc = 0;
    for (size_t k = 0; k < 3 && !rc; k++) {
        signal_t sig = sigs[k];
        for (size_t i = 0; i < ps->n[sig] && !rc; i++) {
            const part *p = ps->p[sig][i];
            if (!p->has_tidx)
                continue;
            uint32_t first, cnt;
            int r = tidx_lookup(&p->tx, tid, &first, &cnt);
            if (r < 0) {
                LOG_ERROR("store: %s: trace index page fails its check", p->path);
                rc = r;
                break;
            }
            if (r == 0)
                continue;
            if (!rd && !(rd = reader_get(s))) {
                rc = BRAID_ENOMEM;
                break;
            }
            uint32_t end = first + cnt;
            for (uint32_t g = part_group_of(p, first); g < p->ngroups && !rc; g++) {
                uint32_t gf = p->groups[g].first_row;
                if (gf >= end)
                    break;
                uint32_t from = first > gf ? first - gf : 0;
                uint32_t to = end - gf < p->groups[g].nrows ? end - gf : p->groups[g].nrows;
                rc = part_reader_load_rows(rd, p, g, from, to);
                for (uint32_t j = from; j < to && !rc; j++) {
                    const void *row;
                    rc = part_reader_row(rd, j, &row);
                    if (!rc) {
                        copy_row(c, sig, row, false);
                        rc = c->err;
                    }
                }
            }
        }
    }
    reader_put(s, rd);
    return rc;
}

int store_trace(store *s, const trace_id_t *tid, model_batch *out)
{
    if (!s || !tid || !out)
        return BRAID_EINVAL;
    if (trace_id_is_zero(tid))
        return 0;
    size_t n0l = out->nlogs, n0s = out->nspans, n0e = out->nexemplars;
    view v;
    memset(&v, 0, sizeof v);
    hit *hits = NULL;
    size_t nhits = 0, caphits = 0;
    int rc = 0;
    /* Memtable chains are walked under the lock (index growth relinks them);
     * the rows themselves stay valid through the references taken. */
    pthread_mutex_lock(&s->view_mu);
    size_t n = 1;
    for (memtable *m = s->frozen_head; m; m = m->next)
        n++;
    v.mt = malloc(n * sizeof *v.mt);
    if (!v.mt)
        rc = BRAID_ENOMEM;
    for (memtable *m = s->frozen_head; !rc; m = m->next) {
        memtable *cur = m ? m : s->active;
        memtable_ref(cur);
        v.mt[v.nmt++] = cur;
        for (const mref *r = memtable_bucket(cur, tid); r && !rc; r = r->next) {
            if (memcmp(r->tid.b, tid->b, 16) != 0)
                continue;
            if (nhits == caphits) {
                size_t nc = caphits ? caphits * 2 : 64;
                hit *q = realloc(hits, nc * sizeof *q);
                if (!q) {
                    rc = BRAID_ENOMEM;
                    break;
                }
                hits = q;
                caphits = nc;
            }
            hits[nhits++] = (hit){(const uint8_t *)r->ck->rows[r->sig] +
                                      (size_t)r->idx * row_size((signal_t)r->sig),
                                  r->sig};
        }
        if (!m)
            break;
    }
    v.ps = s->ps;
    atomic_fetch_add(&v.ps->ref, 1);
    pthread_mutex_unlock(&s->view_mu);

    copier c = {.out = out};
    for (size_t i = 0; i < nhits && !rc; i++) {
        copy_row(&c, (signal_t)hits[i].sig, hits[i].row, true);
        rc = c.err;
    }
    free(hits);
    if (!rc)
        rc = trace_parts(s, v.ps, tid, &c);
    view_drop(s, &v);
    if (rc)
        return rc;
    if (out->nlogs > n0l)
        qsort(out->logs + n0l, out->nlogs - n0l, sizeof *out->logs, cmp_log);
    if (out->nspans > n0s)
        qsort(out->spans + n0s, out->nspans - n0s, sizeof *out->spans, cmp_span);
    if (out->nexemplars > n0e)
        qsort(out->exemplars + n0e, out->nexemplars - n0e, sizeof *out->exemplars, cmp_exemplar);
    return 0;
}

/* ---- scan ---- */
static int scan_parts(store *s, const partset *ps, signal_t sig, uint64_t a, uint64_t b,
                      store_scan_cb cb, void *ud, bool *stop)
{
    part_reader *rd = NULL;
    int rc = 0;
    for (size_t i = 0; i < ps->n[sig] && !rc && !*stop; i++) {
        const part *p = ps->p[sig][i];
        if (p->max_time < a || p->min_time > b)
            continue;
        if (!rd && !(rd = reader_get(s))) {
            rc = BRAID_ENOMEM;
            break;
        }
        for (uint32_t g = 0; g < p->ngroups && !rc && !*stop; g++) {
            if (p->groups[g].max_time < a || p->groups[g].min_time > b)
                continue;
            rc = part_reader_load(rd, p, g);
            for (uint32_t j = 0; j < p->groups[g].nrows && !rc && !*stop; j++) {
                const void *row;
                rc = part_reader_row(rd, j, &row);
                if (rc)
                    break;
                uint64_t t = row_time(sig, row);
                if (t < a || t > b)
                    continue;
                int r = cb(row, ud);
                if (r) {
                    *stop = true;
                    if (r < 0)
                        rc = r;
                }
            }
        }
    }
    reader_put(s, rd);
    return rc;
}

int store_scan(store *s, signal_t sig, uint64_t start_ns, uint64_t end_ns, store_scan_cb cb,
               void *ud)
{
    if (!s || !cb || (unsigned)sig >= SIGNAL_COUNT)
        return BRAID_EINVAL;
    if (start_ns > end_ns)
        return 0;
    view v;
    int rc = view_take(s, &v);
    if (rc)
        return rc;
    bool stop = false;
    rc = scan_parts(s, v.ps, sig, start_ns, end_ns, cb, ud, &stop);
    size_t rs = row_size(sig);
    for (size_t i = 0; i < v.nmt && !rc && !stop; i++) {
        mchunk *tail = v.tail[i];
        if (!tail)
            continue;
        for (mchunk *ck = v.mt[i]->head; ck && !stop; ck = ck == tail ? NULL : ck->next) {
            if (!ck->n[sig] || ck->max_time < start_ns || ck->min_time > end_ns)
                continue;
            for (uint32_t j = 0; j < ck->n[sig] && !stop; j++) {
                const void *row = (const uint8_t *)ck->rows[sig] + (size_t)j * rs;
                uint64_t t = row_time(sig, row);
                if (t < start_ns || t > end_ns)
                    continue;
                int r = cb(row, ud);
                if (r) {
                    stop = true;
                    if (r < 0)
                        rc = r;
                }
            }
        }
    }
    view_drop(s, &v);
    return rc;
}

/* ---- stats ---- */
void store_get_stats(store *s, store_stats *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&s->view_mu);
    for (int sig = 0; sig < SIGNAL_COUNT; sig++) {
        st->memtable_rows[sig] = s->active->rows[sig];
        for (memtable *m = s->frozen_head; m; m = m->next)
            st->memtable_rows[sig] += m->rows[sig];
        st->parts[sig] = s->ps->n[sig];
        st->rows[sig] = st->memtable_rows[sig];
        for (size_t i = 0; i < s->ps->n[sig]; i++) {
            st->rows[sig] += s->ps->p[sig][i]->nrows;
            st->part_bytes[sig] += s->ps->p[sig][i]->disk_bytes;
        }
    }
    pthread_mutex_unlock(&s->view_mu);
    wal_stats ws;
    wal_get_stats(s->w, &ws);
    st->wal_bytes = ws.bytes;
    st->wal_fsyncs = ws.fsyncs;
    st->group_commits = ws.group_commits;
    st->flushes = atomic_load(&s->flushes);
    st->memory_bytes = atomic_load(&s->mem_bytes);
}

/* store/observer: hands every acknowledged WAL record's rows to the store's
 * observer (store_opts.observer) exactly once and in sequence order, on a
 * thread of its own so the WAL leader never waits for it, and persists the
 * observer's state in <data>/observer. Owns that file, the queue and the
 * thread; keeps a memtable reference per queued record so its rows stay alive
 * until observed. Never changes what is stored. Layout of the file:
 * docs/storage-format.md, "Observer state". */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define OBS_MAGIC "BRAIDOBS"
#define OBS_FILE "observer"
#define OBS_HDR 28 /* magic, version, zero, covered seq, length */
/* Queued records above this make the WAL leader wait: the observer is much
 * cheaper per row than ingest, so this only bounds a stalled observer. */
#define OBS_QUEUE_MAX 512
/* The state is written at checkpoints, at most this often (and at close);
 * the WAL keeps what the last write does not cover, so a crash loses none. */
#define OBS_SAVE_EVERY_NS 10000000000ull

typedef struct obs_item {
    struct obs_item *next;
    memtable *m; /* a reference, dropped once observed */
    const mchunk *ck;
    uint64_t seq;
} obs_item;

struct store_obs {
    const store_observer *o;
    uint64_t loaded_seq; /* covered by the state read at open */
    atomic_uint_fast64_t saved_seq;
    uint64_t last_save_ns;
    pthread_mutex_t save_mu;

    pthread_mutex_t mu;
    pthread_cond_t cv;      /* work queued, or stop */
    pthread_cond_t idle_cv; /* queue shrank or drained */
    obs_item *head, *tail;
    size_t n;
    bool busy, stop, started;
    pthread_t thread;
};

static void rows_of(const mchunk *ck, store_rows *r)
{
    r->logs = ck->rows[SIGNAL_LOGS];
    r->nlogs = ck->n[SIGNAL_LOGS];
    r->spans = ck->rows[SIGNAL_SPANS];
    r->nspans = ck->n[SIGNAL_SPANS];
    r->metrics = ck->rows[SIGNAL_METRICS];
    r->nmetrics = ck->n[SIGNAL_METRICS];
    r->exemplars = ck->rows[SIGNAL_EXEMPLARS];
    r->nexemplars = ck->n[SIGNAL_EXEMPLARS];
}

static void observe(struct store_obs *ob, uint64_t seq, const mchunk *ck)
{
    store_rows r;
    rows_of(ck, &r);
    ob->o->observe(ob->o->ud, seq, &r);
}

int store_obs_open(store *s)
{
    if (!s->o.observer)
        return 0;
    struct store_obs *ob = calloc(1, sizeof *ob);
    if (!ob)
        return BRAID_ENOMEM;
    ob->o = s->o.observer;
    pthread_mutex_init(&ob->mu, NULL);
    pthread_mutex_init(&ob->save_mu, NULL);
    pthread_cond_init(&ob->cv, NULL);
    pthread_cond_init(&ob->idle_cv, NULL);
    atomic_init(&ob->saved_seq, 0);
    s->obs = ob;

    char path[4200];
    if (fs_path(path, sizeof path, "%s/%s", s->dir, OBS_FILE))
        return BRAID_EINVAL;
    uint8_t *p = NULL;
    size_t n = 0;
    int rc = fs_read_file(path, &p, &n);
    if (rc && rc != BRAID_ENOTFOUND)
        return rc;
    bslice blob = {0};
    uint64_t seq = 0;
    if (!rc) {
        bool ok = n >= OBS_HDR + 4 && memcmp(p, OBS_MAGIC, 8) == 0 &&
                  rd_u32le(p + 8) == STORE_FORMAT_VERSION && rd_u32le(p + 24) == n - OBS_HDR - 4 &&
                  crc32c(0, p, n - 4) == rd_u32le(p + n - 4);
        if (ok) {
            seq = rd_u64le(p + 16);
            blob = (bslice){p + OBS_HDR, n - OBS_HDR - 4};
        } else {
            LOG_WARN("store: %s is damaged; derived state restarts from the WAL", path);
        }
    }
    uint64_t covered = 0;
    rc = ob->o->load(ob->o->ud, blob, &covered);
    free(p);
    if (rc) {
        LOG_WARN("store: %s cannot be restored (%s); derived state restarts from the WAL", path,
                 braid_strerror(rc));
        ob->o->load(ob->o->ud, (bslice){0}, &covered);
        covered = 0;
    } else if (covered != seq && blob.n) {
        covered = seq; /* the header is authoritative */
    }
    ob->loaded_seq = covered;
    atomic_store(&ob->saved_seq, covered);
    return 0;
}

bool store_obs_wants(store *s, uint64_t seq)
{
    return s->obs && seq > s->obs->loaded_seq;
}

void store_obs_replay(store *s, uint64_t seq, const mchunk *ck)
{
    if (store_obs_wants(s, seq))
        observe(s->obs, seq, ck);
}

static void *obs_main(void *arg)
{
    store *s = arg;
    struct store_obs *ob = s->obs;
    pthread_setname_np(pthread_self(), "braid-observe");
    pthread_mutex_lock(&ob->mu);
    for (;;) {
        while (!ob->head && !ob->stop)
            pthread_cond_wait(&ob->cv, &ob->mu);
        if (!ob->head)
            break;
        obs_item *it = ob->head;
        ob->head = it->next;
        if (!ob->head)
            ob->tail = NULL;
        ob->n--;
        ob->busy = true;
        pthread_mutex_unlock(&ob->mu);
        observe(ob, it->seq, it->ck);
        store_drop_memtable(s, it->m);
        free(it);
        pthread_mutex_lock(&ob->mu);
        ob->busy = false;
        pthread_cond_broadcast(&ob->idle_cv);
    }
    pthread_mutex_unlock(&ob->mu);
    return NULL;
}

int store_obs_start(store *s)
{
    struct store_obs *ob = s->obs;
    if (!ob)
        return 0;
    if (pthread_create(&ob->thread, NULL, obs_main, s) != 0)
        return BRAID_ENOMEM;
    ob->started = true;
    return 0;
}

void store_obs_commit(store *s, memtable *m, const mchunk *ck, uint64_t seq)
{
    struct store_obs *ob = s->obs;
    if (!ob)
        return;
    obs_item *it = ob->started ? malloc(sizeof *it) : NULL;
    if (!it) {
        /* No thread (or no memory for the queue): observe here, after what
         * is queued, so the order holds. */
        pthread_mutex_lock(&ob->mu);
        while (ob->head || ob->busy)
            pthread_cond_wait(&ob->idle_cv, &ob->mu);
        pthread_mutex_unlock(&ob->mu);
        observe(ob, seq, ck);
        return;
    }
    memtable_ref(m);
    *it = (obs_item){.m = m, .ck = ck, .seq = seq};
    pthread_mutex_lock(&ob->mu);
    while (ob->n >= OBS_QUEUE_MAX)
        pthread_cond_wait(&ob->idle_cv, &ob->mu);
    if (ob->tail)
        ob->tail->next = it;
    else
        ob->head = it;
    ob->tail = it;
    ob->n++;
    pthread_cond_signal(&ob->cv);
    pthread_mutex_unlock(&ob->mu);
}

void store_obs_drain(store *s)
{
    struct store_obs *ob = s->obs;
    if (!ob)
        return;
    pthread_mutex_lock(&ob->mu);
    while (ob->head || ob->busy)
        pthread_cond_wait(&ob->idle_cv, &ob->mu);
    pthread_mutex_unlock(&ob->mu);
}

int store_obs_save(store *s, bool force)
{
    struct store_obs *ob = s->obs;
    if (!ob)
        return 0;
    pthread_mutex_lock(&ob->save_mu);
    uint64_t now = now_mono_ns();
    if (!force && ob->last_save_ns && now - ob->last_save_ns < OBS_SAVE_EVERY_NS) {
        pthread_mutex_unlock(&ob->save_mu);
        return 0;
    }
    buf b;
    buf_init(&b);
    uint8_t hdr[OBS_HDR] = {0};
    buf_append(&b, hdr, sizeof hdr);
    uint64_t covered = 0;
    int rc = b.err;
    if (!rc)
        rc = ob->o->save(ob->o->ud, &b, &covered);
    if (!rc && b.n - OBS_HDR > UINT32_MAX)
        rc = BRAID_ETOOBIG;
    if (!rc) {
        memcpy(b.p, OBS_MAGIC, 8);
        wr_u32le(b.p + 8, STORE_FORMAT_VERSION);
        wr_u64le(b.p + 16, covered);
        wr_u32le(b.p + 24, (uint32_t)(b.n - OBS_HDR));
        buf_put_u32le(&b, crc32c(0, b.p, b.n));
        rc = b.err;
    }
    if (!rc)
        rc = fs_write_atomic(s->dir, OBS_FILE, b.p, b.n);
    buf_free(&b);
    if (!rc) {
        atomic_store(&ob->saved_seq, covered);
        ob->last_save_ns = now;
    } else {
        /* The WAL keeps the records the file does not cover: nothing lost. */
        LOG_ERROR("store: cannot write %s/%s: %s", s->dir, OBS_FILE, braid_strerror(rc));
    }
    pthread_mutex_unlock(&ob->save_mu);
    return rc;
}

uint64_t store_obs_trim_limit(store *s, uint64_t flushed)
{
    if (!s->obs)
        return flushed;
    uint64_t saved = atomic_load(&s->obs->saved_seq);
    return saved < flushed ? saved : flushed;
}

void store_obs_stop(store *s)
{
    struct store_obs *ob = s->obs;
    if (!ob || !ob->started)
        return;
    pthread_mutex_lock(&ob->mu);
    ob->stop = true;
    pthread_cond_broadcast(&ob->cv);
    pthread_mutex_unlock(&ob->mu);
    pthread_join(ob->thread, NULL);
    ob->started = false;
}

void store_obs_free(store *s)
{
    struct store_obs *ob = s->obs;
    if (!ob)
        return;
    store_obs_stop(s);
    pthread_mutex_destroy(&ob->mu);
    pthread_mutex_destroy(&ob->save_mu);
    pthread_cond_destroy(&ob->cv);
    pthread_cond_destroy(&ob->idle_cv);
    free(ob);
    s->obs = NULL;
}

/* store/wal: the write-ahead log, braid's acknowledgement point. Owns the
 * segments in wal/ (framed records: u32 length, u32 CRC32C, payload ending in
 * its u64 sequence number). Appends from many threads share one write and one
 * fdatasync (group commit; the first waiter leads). Never acknowledges a
 * record not fully written and synced per policy; at open, never treats a
 * damaged tail as fatal — it is cut. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define WAL_HDR 8
#define WAL_IOV_BATCH 512

typedef struct {
    uint64_t no;
    uint64_t max_seq; /* 0 while it holds no record */
    uint64_t bytes;
} wal_seg;

struct wal {
    char dir[4096];
    wal_opts o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    wal_rec *qhead, *qtail;
    bool leading;
    bool closed;
    bool open_seg; /* under mu: the last entry of segs is being written */

    /* Leader-owned: only the thread holding `leading` touches these. */
    int fd;
    uint64_t cur_size;
    bool cur_broken;
    int fail_writes, fail_syncs;

    /* Under mu. The last entry is the open segment when fd >= 0. */
    wal_seg *segs;
    size_t nsegs, capsegs;
    uint64_t next_seq, next_no;
    wal_stats st;
};

static void seg_name(const wal *w, uint64_t no, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%016" PRIu64 ".wal", w->dir, no);
}

static int seg_push(wal *w, uint64_t no, uint64_t max_seq, uint64_t bytes)
{
    if (w->nsegs == w->capsegs) {
        size_t nc = w->capsegs ? w->capsegs * 2 : 16;
        wal_seg *s = realloc(w->segs, nc * sizeof *s);
        if (!s)
            return BRAID_ENOMEM;
        w->segs = s;
        w->capsegs = nc;
    }
    w->segs[w->nsegs++] = (wal_seg){no, max_seq, bytes};
    return 0;
}

/* ---- replay ---- */
static int parse_seg_name(const char *name, uint64_t *no)
{
    if (strlen(name) != 20 || strcmp(name + 16, ".wal") != 0)
        return BRAID_EINVAL;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        if (name[i] < '0' || name[i] > '9')
            return BRAID_EINVAL;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *no = v;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Replays one segment; cuts it at the first damaged record. */
static int replay_segment(wal *w, uint64_t no, uint64_t *max_seen)
{
    char path[4200];
    seg_name(w, no, path, sizeof path);
    uint8_t *p;
    size_t n;
    int rc = fs_read_file(path, &p, &n);
    if (rc)
        return rc;
    size_t off = 0;
    uint64_t seg_max = 0;
    const char *why = NULL;
    while (off < n) {
        if (n - off < WAL_HDR) {
            why = "short header";
            break;
        }
        uint32_t len = rd_u32le(p + off), crc = rd_u32le(p + off + 4);
        if (len <= WAL_TRAILER || len > WAL_MAX_RECORD) {
            why = "bad length";
            break;
        }
        if (len > n - off - WAL_HDR) {
            why = "short record";
            break;
        }
        const uint8_t *pl = p + off + WAL_HDR;
        if (crc32c(0, pl, len) != crc) {
            why = "CRC mismatch";
            break;
        }
        uint64_t seq = rd_u64le(pl + len - WAL_TRAILER);
        if (seq == 0 || seq <= *max_seen) {
            LOG_WARN("wal: %s: record at offset %zu has sequence %" PRIu64 " not above %" PRIu64
                     "; skipped",
                     path, off, seq, *max_seen);
        } else {
            *max_seen = seq;
            seg_max = seq;
            w->st.replayed++;
            if (w->o.replay && (rc = w->o.replay(w->o.ud, seq, pl, len - WAL_TRAILER)) != 0) {
                free(p);
                return rc;
            }
        }
        off += WAL_HDR + len;
    }
    free(p);
    if (why) {
        LOG_WARN("wal: %s: %s at offset %zu; cutting the segment there, dropping %zu bytes", path,
                 why, off, n - off);
        w->st.cut_bytes += n - off;
        if (truncate(path, (off_t)off) != 0)
            return BRAID_EIO;
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return BRAID_EIO;
        int src = fsync(fd);
        close(fd);
        if (src != 0)
            return BRAID_EIO;
    }
    if (seg_max == 0) {
        /* Nothing acknowledged lives here: an empty or wholly damaged file. */
        if (unlink(path) != 0)
            return BRAID_EIO;
        return 0;
    }
    return seg_push(w, no, seg_max, off);
}

static int replay_all(wal *w)
{
    DIR *d = opendir(w->dir);
    if (!d)
        return BRAID_EIO;
    uint64_t *nos = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        uint64_t no;
        if (parse_seg_name(e->d_name, &no))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            uint64_t *q = realloc(nos, nc * sizeof *q);
            if (!q) {
                rc = BRAID_ENOMEM;
                break;
            }
            nos = q;
            cap = nc;
        }
        nos[n++] = no;
    }
    closedir(d);
    if (!rc && n)
        qsort(nos, n, sizeof *nos, cmp_u64);
    uint64_t max_seen = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = replay_segment(w, nos[i], &max_seen);
        if (nos[i] >= w->next_no)
            w->next_no = nos[i] + 1;
    }
    free(nos);
    if (rc)
        return rc;
    w->next_seq = max_seen + 1;
    if (w->next_seq < w->o.min_next_seq)
        w->next_seq = w->o.min_next_seq;
    return 0;
}

int wal_open(const char *dir, const wal_opts *o, wal **out)
{
    *out = NULL;
    wal *w = calloc(1, sizeof *w);
    if (!w)
        return BRAID_ENOMEM;
    if (fs_path(w->dir, sizeof w->dir, "%s", dir)) {
        free(w);
        return BRAID_EINVAL;
    }
    w->o = *o;
    if (!w->o.segment_bytes)
        w->o.segment_bytes = WAL_SEGMENT_BYTES;
    if (w->o.min_next_seq == 0)
        w->o.min_next_seq = 1;
    w->fd = -1;
    w->next_no = 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int rc = fs_mkdir(dir, NULL);
    if (!rc)
        rc = replay_all(w);
    if (rc) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w->segs);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

/* ---- writing (leader only) ---- */
static int open_segment(wal *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    char path[4200];
    pthread_mutex_lock(&w->mu);
    uint64_t no = w->next_no++;
    pthread_mutex_unlock(&w->mu);
    seg_name(w, no, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return braid_err_from_errno(errno);
    /* The new name must be durable before anything in the file is acked. */
    int drc = w->o.fsync != STORE_FSYNC_NONE ? fs_fsync_dir(w->dir) : 0;
    if (drc) {
        close(fd);
        unlink(path);
        return drc;
    }
    pthread_mutex_lock(&w->mu);
    int rc = seg_push(w, no, 0, 0);
    if (!rc)
        w->open_seg = true;
    pthread_mutex_unlock(&w->mu);
    if (rc) {
        close(fd);
        unlink(path);
        return rc;
    }
    w->fd = fd;
    w->cur_size = 0;
    w->cur_broken = false;
    return 0;
}

static int ensure_segment(wal *w, uint64_t need)
{
    if (w->fd < 0 || w->cur_broken || (w->cur_size > 0 && w->cur_size + need > w->o.segment_bytes))
        return open_segment(w);
    return 0;
}

/* Writes n records starting at first, at the end of the open segment. */
static int write_records(wal *w, wal_rec *first, size_t n)
{
    struct iovec iov[WAL_IOV_BATCH * 2];
    uint64_t off = w->cur_size;
    wal_rec *x = first;
    size_t left = n;
    while (left > 0) {
        int cnt = 0;
        uint64_t chunk = 0;
        while (left > 0 && cnt < WAL_IOV_BATCH * 2) {
            iov[cnt++] = (struct iovec){x->hdr, WAL_HDR};
            iov[cnt++] = (struct iovec){x->data, x->len + WAL_TRAILER};
            chunk += WAL_HDR + x->len + WAL_TRAILER;
            x = x->next;
            left--;
        }
        if (w->fail_writes > 0) {
            /* Simulated failure in the middle of a record: half the bytes of
             * the first record land, the call reports EIO. */
            w->fail_writes--;
            size_t part = iov[1].iov_len / 2;
            if (pwrite(w->fd, iov[0].iov_base, WAL_HDR, (off_t)off) == WAL_HDR)
                (void)!pwrite(w->fd, iov[1].iov_base, part, (off_t)(off + WAL_HDR));
            return BRAID_EIO;
        }
        struct iovec *v = iov;
        int vc = cnt;
        while (chunk > 0) {
            ssize_t wr = pwritev(w->fd, v, vc > IOV_MAX ? IOV_MAX : vc, (off_t)off);
            if (wr < 0) {
                if (errno == EINTR)
                    continue;
                return braid_err_from_errno(errno);
            }
            off += (uint64_t)wr;
            chunk -= (uint64_t)wr;
            size_t adv = (size_t)wr;
            while (vc > 0 && adv >= v->iov_len) {
                adv -= v->iov_len;
                v++;
                vc--;
            }
            if (vc > 0 && adv) {
                v->iov_base = (uint8_t *)v->iov_base + adv;
                v->iov_len -= adv;
            }
        }
    }
    return 0;
}

static int sync_segment(wal *w)
{
    w->st.fsyncs++;
    if (w->fail_syncs > 0) {
        w->fail_syncs--;
        return BRAID_EIO;
    }
    return fdatasync(w->fd) == 0 ? 0 : braid_err_from_errno(errno);
}

/* After a failed write or sync: cut the segment back to its last good size
 * so no partial record stays behind; if even that fails, abandon the file
 * (replay will cut whatever half record it holds). */
static void recover_segment(wal *w, uint64_t good)
{
    if (w->fd < 0)
        return;
    if (ftruncate(w->fd, (off_t)good) == 0 &&
        (w->o.fsync == STORE_FSYNC_NONE || fdatasync(w->fd) == 0)) {
        w->cur_size = good;
        return;
    }
    LOG_ERROR("wal: cannot cut the segment back after a failed write; rotating");
    w->cur_broken = true;
}

/* Writes (and syncs) n records as one unit; all succeed or all fail. */
static int commit_unit(wal *w, wal_rec *first, size_t n)
{
    uint64_t total = 0;
    wal_rec *x = first;
    for (size_t i = 0; i < n; i++, x = x->next)
        total += WAL_HDR + x->len + WAL_TRAILER;
    int rc = ensure_segment(w, total);
    if (rc)
        return rc;
    uint64_t before = w->cur_size;
    rc = write_records(w, first, n);
    if (!rc && w->o.fsync != STORE_FSYNC_NONE)
        rc = sync_segment(w);
    if (rc) {
        recover_segment(w, before);
        return rc;
    }
    w->cur_size += total;
    x = first;
    for (size_t i = 1; i < n; i++)
        x = x->next;
    pthread_mutex_lock(&w->mu);
    wal_seg *s = &w->segs[w->nsegs - 1];
    s->max_seq = x->seq;
    s->bytes = w->cur_size;
    w->st.bytes += total;
    w->st.records += n;
    if (n > 1)
        w->st.group_commits++;
    pthread_mutex_unlock(&w->mu);
    if (w->o.commit)
        w->o.commit(w->o.ud, first, n);
    return 0;
}

static void lead(wal *w, wal_rec *g, size_t n)
{
    for (wal_rec *x = g; x; x = x->next) {
        uint8_t *tr = x->data + x->len;
        wr_u64le(tr, x->seq);
        uint32_t crc = crc32c(x->crc, tr, WAL_TRAILER);
        wr_u32le(x->hdr, (uint32_t)(x->len + WAL_TRAILER));
        wr_u32le(x->hdr + 4, crc);
    }
    if (w->o.fsync == STORE_FSYNC_ALWAYS) {
        for (wal_rec *x = g; x; x = x->next) {
            wal_rec *next = x->next;
            x->next = NULL;
            x->status = commit_unit(w, x, 1);
            x->next = next;
        }
        return;
    }
    int rc = commit_unit(w, g, n);
    for (wal_rec *x = g; x; x = x->next)
        x->status = rc;
}

int wal_append(wal *w, wal_rec *r)
{
    if ((uint64_t)r->len + WAL_TRAILER > WAL_MAX_RECORD)
        return BRAID_ETOOBIG;
    r->crc = crc32c(0, r->data, r->len);
    r->done = false;
    r->status = 0;
    r->next = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->closed) {
        pthread_mutex_unlock(&w->mu);
        return BRAID_ECLOSED;
    }
    if (w->qtail)
        w->qtail->next = r;
    else
        w->qhead = r;
    w->qtail = r;
    while (!r->done) {
        if (w->leading) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        w->leading = true;
        wal_rec *g = w->qhead;
        w->qhead = w->qtail = NULL;
        size_t n = 0;
        for (wal_rec *x = g; x; x = x->next, n++)
            x->seq = w->next_seq++;
        pthread_mutex_unlock(&w->mu);
        lead(w, g, n);
        pthread_mutex_lock(&w->mu);
        for (wal_rec *x = g; x;) {
            wal_rec *next = x->next;
            x->done = true;
            x = next;
        }
        w->leading = false;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return r->status;
}

int wal_trim(wal *w, uint64_t upto)
{
    uint64_t *gone = NULL;
    size_t ngone = 0;
    pthread_mutex_lock(&w->mu);
    /* The open segment may be written to right now; it is never trimmed. */
    size_t closed = w->open_seg && w->nsegs > 0 ? w->nsegs - 1 : w->nsegs;
    gone = malloc((closed ? closed : 1) * sizeof *gone);
    if (!gone) {
        pthread_mutex_unlock(&w->mu);
        return BRAID_ENOMEM;
    }
    size_t keep = 0;
    for (size_t i = 0; i < w->nsegs; i++) {
        if (i < closed && w->segs[i].max_seq <= upto) {
            gone[ngone++] = w->segs[i].no;
            continue;
        }
        w->segs[keep++] = w->segs[i];
    }
    w->nsegs = keep;
    pthread_mutex_unlock(&w->mu);
    int rc = 0;
    for (size_t i = 0; i < ngone; i++) {
        char path[4200];
        seg_name(w, gone[i], path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT)
            rc = BRAID_EIO;
    }
    free(gone);
    return rc;
}

int wal_close(wal *w, uint64_t covered)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    w->closed = true;
    while (w->leading)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    int rc = 0;
    if (w->fd >= 0) {
        if (w->o.fsync != STORE_FSYNC_NONE && fdatasync(w->fd) != 0)
            rc = braid_err_from_errno(errno);
        close(w->fd);
        w->fd = -1;
    }
    for (size_t i = 0; i < w->nsegs; i++) {
        if (w->segs[i].max_seq > covered)
            continue;
        char path[4200];
        seg_name(w, w->segs[i].no, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT && !rc)
            rc = BRAID_EIO;
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->segs);
    free(w);
    return rc;
}

uint64_t wal_last_seq(wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t s = w->next_seq - 1;
    pthread_mutex_unlock(&w->mu);
    return s;
}

void wal_get_stats(wal *w, wal_stats *st)
{
    pthread_mutex_lock(&w->mu);
    *st = w->st;
    st->segments = w->nsegs;
    pthread_mutex_unlock(&w->mu);
}

void wal_inject_faults(wal *w, int writes, int fsyncs)
{
    pthread_mutex_lock(&w->mu);
    while (w->leading)
        pthread_cond_wait(&w->cv, &w->mu);
    w->fail_writes = writes;
    w->fail_syncs = fsyncs;
    pthread_mutex_unlock(&w->mu);
}

/* tail/tail: the follower. A reader thread rescans the globs every second,
 * tracks files by device and inode through rename-and-create and copytruncate
 * rotation, and turns appended bytes into rows; an appender thread hands each
 * sealed batch to the store with every file's position in the same WAL
 * record. Owns the descriptors and both threads; never runs on the event loop
 * and never skips a batch the store refused. */
#include "tail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FP_MAX 256 /* bytes of a file's start that identify it */
#define READ_CHUNK ((size_t)256 << 10)
#define READ_BUDGET ((size_t)4 << 20) /* per file per round, for fairness */
#define IDLE_WAIT_NS 20000000ull
#define QUEUE_MAX 2
#define CKPT_VERSION 1
#define STOP_RETRIES 20

typedef struct tfile {
    struct tfile *next;
    uint64_t dev, ino;
    int fd;
    tail_reader rd;
    buf pend; /* bytes read; [pend_pos, pend.n) not consumed yet */
    size_t pend_pos;
    uint32_t fp_len, fp_crc;
    bool seen, at_eof;
    int unseen_scans;
} tfile;

typedef struct saved {
    uint64_t dev, ino;
    uint32_t fp_len, fp_crc;
    char *path;
    tail_pos pos;
    bool used;
} saved;

typedef struct qitem {
    struct qitem *next;
    tail_out out;
    buf ckpt;
} qitem;

struct tail {
    tail_opts o;
    char **globs;
    pthread_t rd_thread, wr_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* queue changes, stop */
    bool stop, reader_done;
    qitem *q_head, *q_tail;
    int qlen;
    tfile *files;
    saved *saved;
    size_t nsaved;
    tail_out cur;
    uint64_t cur_since; /* monotonic time the current batch got its first row */
    atomic_uint_fast64_t nfiles, lines, rows, appends, append_errors, rotations, truncations;
};

/* ---- clocks and waits ---- */
static void abs_deadline(struct timespec *ts, uint64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t t = (uint64_t)ts->tv_nsec + ns;
    ts->tv_sec += (time_t)(t / 1000000000ull);
    ts->tv_nsec = (long)(t % 1000000000ull);
}

/* ---- checkpoint blob ----
 * u8 version, varint nfiles, then per file: varint dev, varint ino, varint
 * fp_len, u32 fp_crc, varint path length, path, varint off, u8 open mask,
 * and per open stream: varint pstart, varint pieces. */
static void ckpt_encode(tail *t, buf *b)
{
    buf_reset(b);
    buf_putc(b, CKPT_VERSION);
    uint64_t n = 0;
    for (tfile *f = t->files; f; f = f->next)
        n++;
    buf_put_varint(b, n);
    for (tfile *f = t->files; f; f = f->next) {
        tail_pos pos;
        tail_reader_pos(&f->rd, &pos);
        buf_put_varint(b, f->dev);
        buf_put_varint(b, f->ino);
        buf_put_varint(b, f->fp_len);
        buf_put_u32le(b, f->fp_crc);
        size_t pl = strlen(f->rd.path);
        buf_put_varint(b, pl);
        buf_append(b, f->rd.path, pl);
        buf_put_varint(b, pos.off);
        uint8_t mask = 0;
        for (int s = 0; s < LOGPARSE_STREAMS; s++)
            mask |= (uint8_t)(pos.open[s] << s);
        buf_putc(b, mask);
        for (int s = 0; s < LOGPARSE_STREAMS; s++)
            if (pos.open[s]) {
                buf_put_varint(b, pos.pstart[s]);
                buf_put_varint(b, pos.pieces[s]);
            }
    }
}

static void saved_free(tail *t)
{
    for (size_t i = 0; i < t->nsaved; i++)
        free(t->saved[i].path);
    free(t->saved);
    t->saved = NULL;
    t->nsaved = 0;
}

static int ckpt_decode(tail *t, bslice blob)
{
    if (blob.n == 0)
        return 0;
    const uint8_t *p = blob.p, *end = blob.p + blob.n;
    if (*p++ != CKPT_VERSION)
        return BRAID_EFORMAT;
    uint64_t n;
    if (rd_varint(&p, end, &n) || n > blob.n)
        return BRAID_EFORMAT;
    t->saved = calloc(n ? n : 1, sizeof *t->saved);
    if (!t->saved)
        return BRAID_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        saved *s = &t->saved[t->nsaved];
        uint64_t fpl, pl, off;
        if (rd_varint(&p, end, &s->dev) || rd_varint(&p, end, &s->ino) ||
            rd_varint(&p, end, &fpl) || fpl > FP_MAX || end - p < 4)
            return BRAID_EFORMAT;
        s->fp_len = (uint32_t)fpl;
        s->fp_crc = rd_u32le(p);
        p += 4;
        if (rd_varint(&p, end, &pl) || pl > (uint64_t)(end - p))
            return BRAID_EFORMAT;
        s->path = strndup((const char *)p, (size_t)pl);
        if (!s->path)
            return BRAID_ENOMEM;
        t->nsaved++;
        p += pl;
        if (rd_varint(&p, end, &off) || p >= end)
            return BRAID_EFORMAT;
        s->pos.off = off;
        uint8_t mask = *p++;
        for (int k = 0; k < LOGPARSE_STREAMS; k++) {
            if (!(mask & (1u << k)))
                continue;
            uint64_t ps, pc;
            if (rd_varint(&p, end, &ps) || rd_varint(&p, end, &pc) || pc > UINT32_MAX || ps > off)
                return BRAID_EFORMAT;
            s->pos.open[k] = true;
            s->pos.pstart[k] = ps;
            s->pos.pieces[k] = (uint32_t)pc;
        }
    }
    return p == end ? 0 : BRAID_EFORMAT;
}

/* ---- files ---- */
/* CRC of the first len bytes, or false when the file is shorter. */
static bool fingerprint(int fd, uint32_t len, uint32_t *crc)
{
    uint8_t b[FP_MAX];
    if (len == 0) {
        *crc = 0;
        return true;
    }
    ssize_t n = pread(fd, b, len, 0);
    if (n != (ssize_t)len)
        return false;
    *crc = crc32c(0, b, len);
    return true;
}

static void file_free(tfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    tail_reader_free(&f->rd);
    buf_free(&f->pend);
    free(f);
}

static tfile *file_find(tail *t, uint64_t dev, uint64_t ino)
{
    for (tfile *f = t->files; f; f = f->next)
        if (f->dev == dev && f->ino == ino)
            return f;
    return NULL;
}

static saved *saved_find(tail *t, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < t->nsaved; i++)
        if (!t->saved[i].used && t->saved[i].dev == dev && t->saved[i].ino == ino)
            return &t->saved[i];
    return NULL;
}

/* Starts following an open descriptor; resumes from a saved position when
 * the file is the one it was saved for. Takes fd. */
static tfile *file_add(tail *t, int fd, const struct stat *st, const char *path, saved *sv)
{
    tfile *f = calloc(1, sizeof *f);
    if (!f || tail_reader_init(&f->rd, sv ? sv->path : path, t->o.max_line)) {
        free(f);
        close(fd);
        return NULL;
    }
    f->fd = fd;
    f->dev = (uint64_t)st->st_dev;
    f->ino = (uint64_t)st->st_ino;
    buf_init(&f->pend);
    uint32_t crc;
    if (sv && (uint64_t)st->st_size >= sv->pos.off && fingerprint(fd, sv->fp_len, &crc) &&
        crc == sv->fp_crc) {
        f->fp_len = sv->fp_len;
        f->fp_crc = sv->fp_crc;
        tail_reader_resume(&f->rd, &sv->pos);
        LOG_DEBUG("tail: %s: resuming at byte %llu", f->rd.path,
                  (unsigned long long)tail_reader_offset(&f->rd));
    } else if (sv) {
        LOG_INFO("tail: %s is not the file that was being read; starting at its beginning", path);
    }
    if (sv)
        sv->used = true;
    f->seen = true;
    f->next = t->files;
    t->files = f;
    atomic_fetch_add(&t->nfiles, 1);
    LOG_INFO("tail: following %s", f->rd.path);
    return f;
}

static void truncated(tail *t, tfile *f)
{
    LOG_INFO("tail: %s was truncated; reading it again from its beginning", f->rd.path);
    tail_reader_reset(&f->rd);
    buf_reset(&f->pend);
    f->pend_pos = 0;
    f->fp_len = 0;
    f->fp_crc = 0;
    atomic_fetch_add(&t->truncations, 1);
}

/* Extends the fingerprint while the file is shorter than FP_MAX. */
static void grow_fingerprint(tfile *f, uint64_t size)
{
    uint32_t want = size < FP_MAX ? (uint32_t)size : FP_MAX;
    uint32_t crc;
    if (want > f->fp_len && fingerprint(f->fd, want, &crc)) {
        f->fp_len = want;
        f->fp_crc = crc;
    }
}

static void seal(tail *t);

/* Reads what was appended and feeds it; returns whether anything moved. */
static bool pump(tail *t, tfile *f)
{
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return false;
    uint64_t size = (uint64_t)st.st_size;
    uint64_t read_at = tail_reader_offset(&f->rd) + (f->pend.n - f->pend_pos);
    if (size < read_at)
        truncated(t, f);
    bool moved = false;
    size_t budget = READ_BUDGET;
    for (;;) {
        if (f->pend_pos < f->pend.n) {
            size_t used;
            uint64_t before = f->rd.lines;
            int rc = tail_reader_feed(&f->rd, f->pend.p + f->pend_pos, f->pend.n - f->pend_pos,
                                      false, &t->cur, t->o.batch_rows, &used);
            if (rc) {
                LOG_ERROR("tail: %s: %s", f->rd.path, braid_strerror(rc));
                return moved;
            }
            atomic_fetch_add(&t->lines, f->rd.lines - before);
            f->pend_pos += used;
            if (t->cur.b.nlogs && !t->cur_since)
                t->cur_since = now_mono_ns();
            if (t->cur.b.nlogs >= t->o.batch_rows) {
                seal(t);
                moved = true;
                continue;
            }
        }
        if (f->pend_pos == f->pend.n) {
            buf_reset(&f->pend);
            f->pend_pos = 0;
        } else if (f->pend_pos > f->pend.n / 2) {
            memmove(f->pend.p, f->pend.p + f->pend_pos, f->pend.n - f->pend_pos);
            f->pend.n -= f->pend_pos;
            f->pend_pos = 0;
        }
        if (budget == 0 || t->stop)
            break;
        if (buf_reserve(&f->pend, READ_CHUNK))
            break;
        read_at = tail_reader_offset(&f->rd) + (f->pend.n - f->pend_pos);
        ssize_t n = pread(f->fd, f->pend.p + f->pend.n, READ_CHUNK, (off_t)read_at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            f->at_eof = true;
            break;
        }
        f->at_eof = false;
        f->pend.n += (size_t)n;
        budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
        moved = true;
    }
    if (f->fp_len < FP_MAX)
        grow_fingerprint(f, size > read_at ? size : read_at);
    return moved;
}

/* A file no glob matches any more, read to its end: its last line (even
 * without '\n') and any open message are emitted, then it is let go. */
static void release(tail *t, tfile *f)
{
    pump(t, f);
    if (f->pend_pos < f->pend.n) {
        size_t used;
        tail_reader_feed(&f->rd, f->pend.p + f->pend_pos, f->pend.n - f->pend_pos, true, &t->cur, 0,
                         &used);
        f->pend_pos += used;
    }
    tail_reader_flush(&f->rd, &t->cur);
    if (t->cur.b.nlogs && !t->cur_since)
        t->cur_since = now_mono_ns();
    for (tfile **pp = &t->files; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    LOG_INFO("tail: %s read to its end and let go", f->rd.path);
    atomic_fetch_add(&t->rotations, 1);
    atomic_fetch_sub(&t->nfiles, 1);
    file_free(f);
}

/* Looks in dir for the saved file's inode; follows it when found. */
static bool find_in_dir(tail *t, saved *sv, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_ino != sv->ino)
            continue;
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0 || (uint64_t)st.st_dev != sv->dev || (uint64_t)st.st_ino != sv->ino ||
            !S_ISREG(st.st_mode))
            continue;
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        LOG_INFO("tail: %s was rotated to %s; reading it to its end", sv->path, p);
        tfile *f = file_add(t, fd, &st, sv->path, sv);
        if (f)
            f->seen = false;
        found = true;
    }
    closedir(d);
    return found;
}

static void dir_of(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == out)
        out[1] = 0; /* "/x" is in "/" */
    else
        *slash = 0;
}

/* A saved file no glob matched: it was rotated while braid was down. It is
 * looked for in its old directory and, for a symlink (/var/log/containers
 * points into /var/log/pods), in the directory the link points into now. */
static void find_rotated(tail *t, saved *sv)
{
    char dir[4096], real[PATH_MAX], rdir[4096];
    dir_of(sv->path, dir, sizeof dir);
    if (find_in_dir(t, sv, dir))
        return;
    if (realpath(sv->path, real)) {
        dir_of(real, rdir, sizeof rdir);
        if (strcmp(rdir, dir) != 0)
            find_in_dir(t, sv, rdir);
    }
}

static void scan(tail *t, bool first)
{
    for (tfile *f = t->files; f; f = f->next)
        f->seen = false;
    for (size_t g = 0; g < t->o.nglobs; g++) {
        glob_t gl;
        memset(&gl, 0, sizeof gl);
        if (glob(t->globs[g], GLOB_NOSORT, NULL, &gl) != 0) {
            globfree(&gl);
            continue;
        }
        for (size_t i = 0; i < gl.gl_pathc; i++) {
            const char *path = gl.gl_pathv[i];
            struct stat st;
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            tfile *f = file_find(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
            if (f) {
                f->seen = true;
                continue;
            }
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                LOG_WARN("tail: cannot open %s: %s", path, strerror(errno));
                continue;
            }
            struct stat fst;
            if (fstat(fd, &fst) != 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
                close(fd); /* replaced between stat and open: next scan */
                continue;
            }
            file_add(t, fd, &fst, path, saved_find(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino));
        }
        globfree(&gl);
    }
    if (first) {
        for (size_t i = 0; i < t->nsaved; i++)
            if (!t->saved[i].used)
                find_rotated(t, &t->saved[i]);
        saved_free(t);
    }
    for (tfile *f = t->files, *next; f; f = next) {
        next = f->next;
        if (f->seen) {
            f->unseen_scans = 0;
            uint32_t crc;
            if (f->fp_len && (!fingerprint(f->fd, f->fp_len, &crc) || crc != f->fp_crc))
                truncated(t, f);
            continue;
        }
        /* Two quiet scans at the end before letting go: a writer may still
         * flush into a file it had open when it was renamed. */
        if (f->at_eof && f->pend_pos == f->pend.n && ++f->unseen_scans >= 2)
            release(t, f);
    }
}

/* ---- batches ---- */
static void seal(tail *t)
{
    qitem *q = calloc(1, sizeof *q);
    if (!q) {
        LOG_ERROR("tail: out of memory sealing a batch; retrying");
        return;
    }
    q->out = t->cur;
    buf_init(&q->ckpt);
    ckpt_encode(t, &q->ckpt);
    tail_out_init(&t->cur);
    t->cur_since = 0;
    pthread_mutex_lock(&t->mu);
    while (t->qlen >= QUEUE_MAX)
        pthread_cond_wait(&t->cv, &t->mu);
    if (t->q_tail)
        t->q_tail->next = q;
    else
        t->q_head = q;
    t->q_tail = q;
    t->qlen++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void *reader_main(void *arg)
{
    tail *t = arg;
    uint64_t next_scan = 0;
    bool first = true;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        pthread_mutex_unlock(&t->mu);
        uint64_t now = now_mono_ns();
        if (now >= next_scan) {
            scan(t, first);
            first = false;
            next_scan = now_mono_ns() + t->o.rescan_ns;
        }
        bool moved = false;
        for (tfile *f = t->files; f; f = f->next)
            moved |= pump(t, f);
        now = now_mono_ns();
        if (t->cur.b.nlogs && (!moved || now - t->cur_since >= t->o.batch_ns))
            seal(t);
        pthread_mutex_lock(&t->mu);
        if (!moved && !t->stop) {
            struct timespec ts;
            abs_deadline(&ts, IDLE_WAIT_NS);
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (t->cur.b.nlogs)
        seal(t);
    pthread_mutex_lock(&t->mu);
    t->reader_done = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static int append(tail *t, qitem *q)
{
    bslice ck = {q->ckpt.p, q->ckpt.n};
    if (t->o.ing)
        return ingest_file_batch(t->o.ing, &q->out.b, ck);
    return store_append_ckpt(t->o.st, &q->out.b, ck);
}

static void qitem_free(qitem *q)
{
    tail_out_free(&q->out);
    buf_free(&q->ckpt);
    free(q);
}

static void *writer_main(void *arg)
{
    tail *t = arg;
    bool give_up = false;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->q_head && !t->reader_done)
            pthread_cond_wait(&t->cv, &t->mu);
        qitem *q = t->q_head;
        if (!q)
            break;
        pthread_mutex_unlock(&t->mu);
        int tries = 0;
        while (!give_up) {
            int rc = append(t, q);
            if (rc == 0) {
                atomic_fetch_add(&t->appends, 1);
                atomic_fetch_add(&t->rows, q->out.b.nlogs);
                break;
            }
            atomic_fetch_add(&t->append_errors, 1);
            if (tries++ == 0)
                LOG_WARN("tail: the store refused %zu rows (%s); retrying", q->out.b.nlogs,
                         braid_strerror(rc));
            /* Never skip a batch: the next one's checkpoint covers this one's
             * lines. When stopping, give up on all of them instead; the
             * stored checkpoint then still points before them. */
            pthread_mutex_lock(&t->mu);
            bool stopping = t->stop;
            pthread_mutex_unlock(&t->mu);
            if (stopping && tries >= STOP_RETRIES) {
                LOG_WARN("tail: giving up on unstored rows at shutdown; they are read again on "
                         "the next start");
                give_up = true;
                break;
            }
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
        pthread_mutex_lock(&t->mu);
        t->q_head = q->next;
        if (!t->q_head)
            t->q_tail = NULL;
        t->qlen--;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        qitem_free(q);
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* ---- life cycle ---- */
static void tail_free(tail *t)
{
    while (t->files) {
        tfile *f = t->files;
        t->files = f->next;
        file_free(f);
    }
    while (t->q_head) {
        qitem *q = t->q_head;
        t->q_head = q->next;
        qitem_free(q);
    }
    saved_free(t);
    tail_out_free(&t->cur);
    for (size_t i = 0; i < t->o.nglobs; i++)
        free(t->globs[i]);
    free(t->globs);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}

int tail_start(const tail_opts *o, tail **out)
{
    *out = NULL;
    if (!o || !o->st || (o->nglobs && !o->globs))
        return BRAID_EINVAL;
    tail *t = calloc(1, sizeof *t);
    if (!t)
        return BRAID_ENOMEM;
    t->o = *o;
    if (!t->o.max_line)
        t->o.max_line = TAIL_MAX_LINE_DEFAULT;
    if (t->o.max_line < TAIL_MAX_LINE_MIN)
        t->o.max_line = TAIL_MAX_LINE_MIN;
    if (!t->o.batch_rows)
        t->o.batch_rows = 8192;
    if (!t->o.batch_ns)
        t->o.batch_ns = 10000000ull;
    if (!t->o.rescan_ns)
        t->o.rescan_ns = 1000000000ull;
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    tail_out_init(&t->cur);
    t->globs = calloc(o->nglobs ? o->nglobs : 1, sizeof *t->globs);
    int rc = t->globs ? 0 : BRAID_ENOMEM;
    for (size_t i = 0; i < o->nglobs && !rc; i++)
        if (!(t->globs[i] = strdup(o->globs[i])))
            rc = BRAID_ENOMEM;
    buf blob;
    buf_init(&blob);
    if (!rc)
        rc = store_source_ckpt(o->st, &blob);
    if (!rc) {
        rc = ckpt_decode(t, (bslice){blob.p, blob.n});
        if (rc == BRAID_EFORMAT) {
            LOG_WARN("tail: the stored file positions do not decode; files are read from their "
                     "beginning");
            saved_free(t);
            rc = 0;
        }
    }
    buf_free(&blob);
    if (!rc && pthread_create(&t->wr_thread, NULL, writer_main, t) != 0)
        rc = BRAID_ENOMEM;
    if (!rc && pthread_create(&t->rd_thread, NULL, reader_main, t) != 0) {
        pthread_mutex_lock(&t->mu);
        t->reader_done = true;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        pthread_join(t->wr_thread, NULL);
        rc = BRAID_ENOMEM;
    }
    if (rc) {
        tail_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void tail_stop(tail *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->rd_thread, NULL);
    pthread_join(t->wr_thread, NULL);
    tail_free(t);
}

void tail_get_stats(tail *t, tail_stats *st)
{
    memset(st, 0, sizeof *st);
    st->files = atomic_load(&t->nfiles);
    st->lines_read = atomic_load(&t->lines);
    st->rows_stored = atomic_load(&t->rows);
    st->appends = atomic_load(&t->appends);
    st->append_errors = atomic_load(&t->append_errors);
    st->rotations = atomic_load(&t->rotations);
    st->truncations = atomic_load(&t->truncations);
}

void tail_metrics_text(buf *out, void *ud)
{
    tail_stats st;
    tail_get_stats(ud, &st);
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } m[] = {
        {"braid_tail_files", "gauge", "Log files followed now.", offsetof(tail_stats, files)},
        {"braid_tail_lines_read_total", "counter",
         "Physical lines (and chunks of long lines) read.", offsetof(tail_stats, lines_read)},
        {"braid_tail_rows_stored_total", "counter", "Log rows from files the store acknowledged.",
         offsetof(tail_stats, rows_stored)},
        {"braid_tail_append_errors_total", "counter", "Appends the store refused (retried).",
         offsetof(tail_stats, append_errors)},
        {"braid_tail_rotations_total", "counter", "Rotated or removed files read to their end.",
         offsetof(tail_stats, rotations)},
        {"braid_tail_truncations_total", "counter", "Files truncated in place (copytruncate).",
         offsetof(tail_stats, truncations)},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", m[i].name, m[i].help, m[i].name,
                   m[i].type, m[i].name,
                   (unsigned long long)*(const uint64_t *)((const char *)&st + m[i].off));
}

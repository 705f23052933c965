/* store/srcckpt: source checkpoints. A source's opaque position blob travels
 * in the same WAL record as its rows (store_append_ckpt), so both become
 * durable together or not at all; the newest acknowledged blob is rebuilt from
 * the WAL at open and written to <data>/sources before the checkpoint lets its
 * records go. Owns that file only; never changes how rows are stored. Layout:
 * docs/storage-format.md, "Source checkpoints". */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define SRC_MARK 0xC1 /* first byte of a WAL body that carries a blob */
#define SRC_MAGIC "BRAIDSRC"
#define SRC_FILE "sources"
#define SRC_HDR 28 /* magic, version, zero, seq, length */

struct store_src {
    pthread_mutex_t mu;
    uint64_t seq; /* WAL sequence number of the record that carried blob; 0 = none */
    buf blob;
    uint64_t saved_seq; /* the seq whose blob is in <data>/sources */
};

static int read_file(store *s, struct store_src *src)
{
    char path[4200];
    if (fs_path(path, sizeof path, "%s/%s", s->dir, SRC_FILE))
        return BRAID_EINVAL;
    uint8_t *p;
    size_t n;
    int rc = fs_read_file(path, &p, &n);
    if (rc == BRAID_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    bool ok = n >= SRC_HDR + 4 && memcmp(p, SRC_MAGIC, 8) == 0 &&
              rd_u32le(p + 8) == STORE_FORMAT_VERSION && rd_u32le(p + 24) == n - SRC_HDR - 4 &&
              crc32c(0, p, n - 4) == rd_u32le(p + n - 4);
    if (ok) {
        src->seq = src->saved_seq = rd_u64le(p + 16);
        buf_append(&src->blob, p + SRC_HDR, n - SRC_HDR - 4);
        rc = src->blob.err;
    } else {
        /* Losing the positions means re-reading sources from their start:
         * duplicates, never loss. Better than refusing to start. */
        LOG_WARN("store: %s is damaged; sources resume from their beginning", path);
    }
    free(p);
    return rc;
}

int store_src_open(store *s)
{
    struct store_src *src = calloc(1, sizeof *src);
    if (!src)
        return BRAID_ENOMEM;
    pthread_mutex_init(&src->mu, NULL);
    buf_init(&src->blob);
    s->src = src;
    return read_file(s, src);
}

void store_src_free(store *s)
{
    if (!s->src)
        return;
    buf_free(&s->src->blob);
    pthread_mutex_destroy(&s->src->mu);
    free(s->src);
    s->src = NULL;
}

/* Splits a marked body into blob and row codec part. */
static int split(const uint8_t *p, size_t n, bslice *blob, size_t *rows_off)
{
    const uint8_t *q = p + 1, *end = p + n;
    uint64_t len;
    if (n < 2 || p[0] != SRC_MARK || rd_varint(&q, end, &len) != 0 || len > (uint64_t)(end - q))
        return BRAID_EFORMAT;
    *blob = (bslice){q, (size_t)len};
    *rows_off = (size_t)(q - p) + (size_t)len;
    return 0;
}

static void note(struct store_src *src, uint64_t seq, bslice blob)
{
    pthread_mutex_lock(&src->mu);
    if (seq > src->seq) {
        buf_reset(&src->blob);
        buf_append(&src->blob, blob.p, blob.n);
        if (src->blob.err)
            /* keep the older position: re-reading is safe, skipping is not */
            buf_reset(&src->blob);
        else
            src->seq = seq;
    }
    pthread_mutex_unlock(&src->mu);
}

static bool rowless(const uint8_t *p, size_t n)
{
    rc_counts c;
    if (rowcodec_count(p, n, &c) != 0)
        return false;
    for (int i = 0; i < SIGNAL_COUNT; i++)
        if (c.n[i])
            return false;
    return true;
}

int store_src_replay(store *s, uint64_t seq, const uint8_t **body, size_t *len)
{
    if (*len == 0 || (*body)[0] != SRC_MARK)
        return 0;
    bslice blob;
    size_t off;
    if (split(*body, *len, &blob, &off))
        return BRAID_EFORMAT;
    note(s->src, seq, blob);
    *body += off;
    *len -= off;
    return rowless(*body, *len) ? 1 : 0;
}

void store_src_commit(store *s, const wal_rec *r)
{
    bslice blob;
    size_t off;
    if (r->len && r->data[0] == SRC_MARK && split(r->data, r->len, &blob, &off) == 0)
        note(s->src, r->seq, blob);
}

int store_src_save(store *s)
{
    struct store_src *src = s->src;
    if (!src)
        return 0;
    buf f;
    buf_init(&f);
    pthread_mutex_lock(&src->mu);
    uint64_t seq = src->seq;
    if (seq > src->saved_seq) {
        buf_append(&f, SRC_MAGIC, 8);
        buf_put_u32le(&f, STORE_FORMAT_VERSION);
        buf_put_u32le(&f, 0);
        buf_put_u64le(&f, seq);
        buf_put_u32le(&f, (uint32_t)src->blob.n);
        buf_append(&f, src->blob.p, src->blob.n);
    }
    pthread_mutex_unlock(&src->mu);
    if (f.n == 0)
        return 0;
    buf_put_u32le(&f, crc32c(0, f.p, f.n));
    int rc = f.err ? BRAID_ENOMEM : fs_write_atomic(s->dir, SRC_FILE, f.p, f.n);
    buf_free(&f);
    if (rc) {
        LOG_ERROR("store: cannot write %s/%s: %s", s->dir, SRC_FILE, braid_strerror(rc));
        return rc;
    }
    pthread_mutex_lock(&src->mu);
    if (seq > src->saved_seq)
        src->saved_seq = seq;
    pthread_mutex_unlock(&src->mu);
    return 0;
}

int store_append_ckpt(store *s, const model_batch *b, bslice ckpt)
{
    if (!s || !b || ckpt.n > STORE_SOURCE_CKPT_MAX)
        return BRAID_EINVAL;
    size_t nrows = b->nlogs + b->nspans + b->nmetrics + b->nexemplars;
    if (nrows && atomic_load(&s->mem_bytes) > s->o.memory_limit) {
        pthread_mutex_lock(&s->bg_mu);
        s->flush_wanted = true;
        pthread_cond_broadcast(&s->bg_cv);
        pthread_mutex_unlock(&s->bg_mu);
        return BRAID_EBUSY;
    }
    buf enc, rec;
    buf_init(&enc);
    buf_init(&rec);
    int rc = rowcodec_encode(b, &enc);
    if (!rc) {
        buf_putc(&rec, SRC_MARK);
        buf_put_varint(&rec, ckpt.n);
        buf_append(&rec, ckpt.p, ckpt.n);
        buf_append(&rec, enc.p, enc.n);
        rc = rec.err ? BRAID_ENOMEM : buf_reserve(&rec, WAL_TRAILER);
    }
    mchunk *ck = NULL;
    if (!rc && nrows) {
        /* the memtable keeps the rows' own copy; the WAL record is transient */
        size_t len = enc.n, cap = enc.cap;
        uint8_t *p = buf_detach(&enc, NULL);
        rc = mchunk_new(p, len, cap, &ck);
        if (rc == BRAID_EFORMAT)
            rc = BRAID_EINVAL;
        if (!rc)
            atomic_fetch_add(&s->mem_bytes, ck->bytes);
    }
    if (!rc) {
        wal_rec r = {.data = rec.p, .len = rec.n, .user = ck};
        rc = wal_append(s->w, &r);
        if (rc && ck) {
            atomic_fetch_sub(&s->mem_bytes, ck->bytes);
            mchunk_free(ck);
        }
    }
    buf_free(&enc);
    buf_free(&rec);
    return rc;
}

int store_source_ckpt(store *s, buf *out)
{
    if (!s || !out)
        return BRAID_EINVAL;
    buf_reset(out);
    if (!s->src)
        return 0;
    pthread_mutex_lock(&s->src->mu);
    buf_append(out, s->src->blob.p, s->src->blob.n);
    pthread_mutex_unlock(&s->src->mu);
    return out->err ? BRAID_ENOMEM : 0;
}

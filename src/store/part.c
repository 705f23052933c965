/* store/part: immutable columnar parts: a directory with `cols` (zstd blocks
 * per column per row group, then part and zstd dictionaries), `tidx` (trace
 * index; not for metric points) and `meta` (header, groups, entries, CRC'd as
 * a whole), written by part_writer into a temporary directory the caller
 * renames into place. Readers map `cols`, load the dictionaries at open and
 * check each block's CRC before decompressing it. Never modifies a part. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define META_MAGIC "BRAIDPRT"
#define META_HDR 80
#define META_GROUP 24
#define META_BLOCK 16 /* u32 stored length, u32 raw length, u32 CRC, u8 codec, 3 zero */
#define MAX_BLOCK_RAW ((uint64_t)1 << 30)
#define WRITE_CHUNK ((size_t)1 << 20)

/* ---- names ---- */
void part_name_make(uint64_t lo, uint64_t hi, char out[64])
{
    snprintf(out, 64, "%016" PRIx64 "-%016" PRIx64, lo, hi);
}

static int hex16(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return BRAID_EINVAL;
        x = x << 4 | (uint64_t)d;
    }
    *v = x;
    return 0;
}

int part_name_parse(const char *name, uint64_t *lo, uint64_t *hi)
{
    if (strlen(name) != 33 || name[16] != '-')
        return BRAID_EINVAL;
    if (hex16(name, lo) || hex16(name + 17, hi) || *lo > *hi)
        return BRAID_EINVAL;
    return 0;
}

/* ---- writer ---- */
struct part_writer {
    char dir[4096];
    signal_t sig;
    const col_schema *sc;
    uint64_t seq_lo, seq_hi;
    int fd;
    colw cols[COL_MAX];
    buf blk, cblk, wbuf;
    buf groups, blocks;
    uint64_t cols_off;
    uint32_t ngroups, grows;
    uint64_t gmin, gmax;
    uint64_t nrows, min_time, max_time;
    tidx_writer tw;
    ZSTD_CCtx *cctx;
    int level;
    /* Per column: the first block, raw, which compresses every block of the
     * column (and is stored once, after the groups), or nothing. */
    buf zraw[COL_MAX];
    ZSTD_CDict *cdict[COL_MAX];
    bool have_prev;
    bool prev_has_tid;
    trace_id_t prev_tid;
    uint64_t prev_time;
};

int part_writer_open(const char *dir, signal_t sig, uint64_t seq_lo, uint64_t seq_hi,
                     part_writer **out)
{
    *out = NULL;
    const col_schema *sc = col_schema_for(sig);
    if (!sc)
        return BRAID_EINVAL;
    part_writer *w = calloc(1, sizeof *w);
    if (!w)
        return BRAID_ENOMEM;
    if (fs_path(w->dir, sizeof w->dir, "%s", dir)) {
        free(w);
        return BRAID_EINVAL;
    }
    w->sig = sig;
    w->sc = sc;
    w->seq_lo = seq_lo;
    w->seq_hi = seq_hi;
    w->min_time = UINT64_MAX;
    w->gmin = UINT64_MAX;
    w->level = PART_ZSTD_LEVEL_FLUSH;
    for (uint32_t c = 0; c < COL_MAX; c++)
        colw_init(&w->cols[c]);
    buf_init(&w->blk);
    buf_init(&w->cblk);
    buf_init(&w->wbuf);
    buf_init(&w->groups);
    buf_init(&w->blocks);
    tidx_writer_init(&w->tw);
    w->fd = -1;
    w->cctx = ZSTD_createCCtx();
    char path[4200];
    snprintf(path, sizeof path, "%s/cols", dir);
    if (w->cctx)
        w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (!w->cctx || w->fd < 0) {
        int rc = w->cctx ? braid_err_from_errno(errno) : BRAID_ENOMEM;
        part_writer_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

void part_writer_abort(part_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    for (uint32_t c = 0; c < COL_MAX; c++) {
        colw_free(&w->cols[c]);
        buf_free(&w->zraw[c]);
        ZSTD_freeCDict(w->cdict[c]);
    }
    buf_free(&w->blk);
    buf_free(&w->cblk);
    buf_free(&w->wbuf);
    buf_free(&w->groups);
    buf_free(&w->blocks);
    tidx_writer_free(&w->tw);
    ZSTD_freeCCtx(w->cctx);
    free(w);
}

static int drain(part_writer *w, bool all)
{
    if (w->wbuf.n == 0 || (!all && w->wbuf.n < WRITE_CHUNK))
        return 0;
    int rc = fs_write_all(w->fd, w->wbuf.p, w->wbuf.n);
    buf_reset(&w->wbuf);
    return rc;
}

/* Compresses w->blk (when that makes it smaller), each of its sections
 * (starting at sect[0..nsect), after the first at 0) as a zstd frame of its
 * own, with cdict when not NULL, queues it for `cols` and fills its 24-byte
 * directory entry e. */
static int put_block(part_writer *w, const uint32_t *sect, uint32_t nsect, const ZSTD_CDict *cdict,
                     uint8_t e[META_BLOCK])
{
    if (w->blk.n > MAX_BLOCK_RAW)
        return BRAID_ETOOBIG;
    const uint8_t *data = w->blk.p;
    size_t len = w->blk.n;
    uint8_t codec = 0;
    if (len > 0) {
        size_t bound = ZSTD_compressBound(len) + (size_t)nsect * ZSTD_compressBound(0);
        buf_reset(&w->cblk);
        if (buf_reserve(&w->cblk, bound))
            return BRAID_ENOMEM;
        size_t z = 0, from = 0;
        for (uint32_t k = 0; k <= nsect && !ZSTD_isError(z); k++) {
            size_t to = k < nsect ? sect[k] : len;
            if (to <= from)
                continue;
            size_t f = cdict ? ZSTD_compress_usingCDict(w->cctx, w->cblk.p + z, bound - z,
                                                        w->blk.p + from, to - from, cdict)
                             : ZSTD_compressCCtx(w->cctx, w->cblk.p + z, bound - z, w->blk.p + from,
                                                 to - from, w->level);
            z = ZSTD_isError(f) ? f : z + f;
            from = to;
        }
        if (!ZSTD_isError(z) && z < len) {
            data = w->cblk.p;
            len = z;
            codec = 1;
        }
    }
    /* No offset: blocks lie in `cols` in directory order. */
    memset(e, 0, META_BLOCK);
    wr_u32le(e, (uint32_t)len);
    wr_u32le(e + 4, (uint32_t)w->blk.n);
    wr_u32le(e + 8, crc32c(0, data, len));
    e[12] = codec;
    buf_append(&w->wbuf, data, len);
    w->cols_off += len;
    if (w->wbuf.err)
        return BRAID_ENOMEM;
    return drain(w, false);
}

/* Blocks of the string columns that follow a pattern (attributes, log
 * bodies, other strings) repeat each other's keys, skeletons and
 * dictionaries: the first one's sections that compress well (random ids
 * and numbers do not, and would only take room), raw, become the zstd
 * dictionary every block of the column is compressed with, so those cost
 * next to nothing after the first group. The part stores it once and a
 * reader keeps it in memory. */
#define ZDICT_MIN 1024

static int make_zdict(part_writer *w, uint32_t c, const uint32_t *sect, uint32_t nsect)
{
    uint8_t k = w->sc->cols[c].kind;
    if ((k != CK_ATTRS && k != CK_BODY && k != CK_BYTES) || w->blk.n < ZDICT_MIN)
        return 0;
    size_t from = 0;
    for (uint32_t s = 0; s <= nsect; s++) {
        size_t to = s < nsect ? sect[s] : w->blk.n;
        if (to <= from)
            continue;
        size_t bound = ZSTD_compressBound(to - from);
        buf_reset(&w->cblk);
        if (buf_reserve(&w->cblk, bound))
            return BRAID_ENOMEM;
        size_t z = ZSTD_compressCCtx(w->cctx, w->cblk.p, bound, w->blk.p + from, to - from, 1);
        if (!ZSTD_isError(z) && z * 3 < (to - from) * 2)
            buf_append(&w->zraw[c], w->blk.p + from, to - from);
        from = to;
    }
    if (w->zraw[c].err)
        return w->zraw[c].err;
    if (w->zraw[c].n < ZDICT_MIN) {
        buf_reset(&w->zraw[c]);
        return 0;
    }
    w->cdict[c] = ZSTD_createCDict(w->zraw[c].p, w->zraw[c].n, w->level);
    return w->cdict[c] ? 0 : BRAID_ENOMEM;
}

/* Encodes, compresses and queues every column block of the current group. */
static int flush_group(part_writer *w)
{
    if (w->grows == 0)
        return 0;
    for (uint32_t c = 0; c < w->sc->ncols; c++) {
        buf_reset(&w->blk);
        colw *cw = &w->cols[c];
        int rc = colw_finish(cw, &w->sc->cols[c], &w->blk);
        uint8_t e[META_BLOCK];
        if (!rc && w->ngroups == 0)
            rc = make_zdict(w, c, cw->sect, cw->nsect);
        if (!rc)
            rc = put_block(w, cw->sect, cw->nsect, w->cdict[c], e);
        if (rc)
            return rc;
        buf_append(&w->blocks, e, sizeof e);
        if (w->blocks.err)
            return BRAID_ENOMEM;
        colw_reset(&w->cols[c]);
    }
    uint8_t g[META_GROUP];
    wr_u32le(g, (uint32_t)(w->nrows - w->grows));
    wr_u32le(g + 4, w->grows);
    wr_u64le(g + 8, w->gmin);
    wr_u64le(g + 16, w->gmax);
    buf_append(&w->groups, g, sizeof g);
    w->ngroups++;
    w->grows = 0;
    w->gmin = UINT64_MAX;
    w->gmax = 0;
    return w->groups.err;
}

/* Queues every column's part dictionary after the groups; fills their
 * directory (an all-zero entry for a column without one). */
static int flush_dicts(part_writer *w, buf *dir)
{
    for (uint32_t c = 0; c < w->sc->ncols; c++) {
        buf_reset(&w->blk);
        uint8_t e[META_BLOCK] = {0};
        int rc = colw_finish_pdict(&w->cols[c], &w->blk);
        if (!rc && w->blk.n)
            rc = put_block(w, NULL, 0, NULL, e);
        if (rc)
            return rc;
        buf_append(dir, e, sizeof e);
    }
    for (uint32_t c = 0; c < w->sc->ncols; c++) {
        uint8_t e[META_BLOCK] = {0};
        buf_reset(&w->blk);
        buf_append(&w->blk, w->zraw[c].p, w->zraw[c].n);
        int rc = w->blk.err;
        if (!rc && w->blk.n)
            rc = put_block(w, NULL, 0, NULL, e);
        if (rc)
            return rc;
        buf_append(dir, e, sizeof e);
    }
    return dir->err;
}

void part_writer_set_level(part_writer *w, int level)
{
    w->level = level;
}

void part_writer_set_stable_origins(part_writer *w)
{
    for (uint32_t c = 0; c < w->sc->ncols; c++)
        w->cols[c].stable_ptrs = true;
}

int part_writer_add(part_writer *w, const void *row)
{
    const trace_id_t *tid = row_tid(w->sig, row);
    bool has = tid && !tid_zero(tid);
    uint64_t t = row_time(w->sig, row);
    if (w->have_prev) {
        int c = 0;
        if (has != w->prev_has_tid)
            c = has ? -1 : 1;
        else if (has)
            c = memcmp(tid->b, w->prev_tid.b, 16);
        if (c == 0)
            c = t < w->prev_time ? -1 : 0;
        if (c < 0)
            return BRAID_EINVAL;
    }
    if (w->nrows >= UINT32_MAX)
        return BRAID_ETOOBIG;
    w->have_prev = true;
    w->prev_has_tid = has;
    if (has)
        w->prev_tid = *tid;
    w->prev_time = t;
    if (has) {
        int rc = tidx_writer_add(&w->tw, tid, (uint32_t)w->nrows);
        if (rc)
            return rc;
    }
    size_t bytes = 0;
    for (uint32_t c = 0; c < w->sc->ncols; c++) {
        int rc = colw_add(&w->cols[c], &w->sc->cols[c], row);
        if (rc)
            return rc;
        bytes += colw_bytes(&w->cols[c]);
    }
    if (t < w->gmin)
        w->gmin = t;
    if (t > w->gmax)
        w->gmax = t;
    if (t < w->min_time)
        w->min_time = t;
    if (t > w->max_time)
        w->max_time = t;
    w->grows++;
    w->nrows++;
    if (w->grows >= PART_GROUP_ROWS || bytes >= PART_GROUP_BYTES)
        return flush_group(w);
    return 0;
}

static int write_file(const char *dir, const char *name, const void *p, size_t n,
                      int (*fill)(void *, int), void *ud)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return braid_err_from_errno(errno);
    int rc = fill ? fill(ud, fd) : fs_write_all(fd, p, n);
    if (!rc && fsync(fd) != 0)
        rc = braid_err_from_errno(errno);
    if (close(fd) != 0 && !rc)
        rc = braid_err_from_errno(errno);
    return rc;
}

typedef struct {
    tidx_writer *tw;
    uint64_t nrows;
} tidx_fill;

static int fill_tidx(void *ud, int fd)
{
    tidx_fill *f = ud;
    return tidx_writer_write(f->tw, fd, f->nrows);
}

int part_writer_finish(part_writer *w, uint64_t *nrows)
{
    buf dicts;
    buf_init(&dicts);
    int rc = flush_group(w);
    if (!rc && w->nrows == 0)
        rc = BRAID_EINVAL;
    if (!rc)
        rc = flush_dicts(w, &dicts);
    if (!rc)
        rc = drain(w, true);
    if (!rc && fsync(w->fd) != 0)
        rc = braid_err_from_errno(errno);
    if (close(w->fd) != 0 && !rc)
        rc = braid_err_from_errno(errno);
    w->fd = -1;
    bool has_tidx = w->sig != SIGNAL_METRICS;
    if (!rc && has_tidx) {
        tidx_fill f = {&w->tw, w->nrows};
        rc = write_file(w->dir, "tidx", NULL, 0, fill_tidx, &f);
    }
    if (!rc) {
        buf m;
        buf_init(&m);
        uint8_t h[META_HDR] = {0};
        memcpy(h, META_MAGIC, 8);
        wr_u32le(h + 8, STORE_FORMAT_VERSION);
        wr_u32le(h + 12, (uint32_t)w->sig);
        wr_u64le(h + 16, w->nrows);
        wr_u64le(h + 24, w->min_time);
        wr_u64le(h + 32, w->max_time);
        wr_u64le(h + 40, w->seq_lo);
        wr_u64le(h + 48, w->seq_hi);
        wr_u64le(h + 56, w->cols_off);
        wr_u32le(h + 64, w->ngroups);
        wr_u32le(h + 68, w->sc->ncols);
        wr_u32le(h + 72, has_tidx);
        buf_append(&m, h, sizeof h);
        buf_append(&m, w->groups.p, w->groups.n);
        buf_append(&m, w->blocks.p, w->blocks.n);
        buf_append(&m, dicts.p, dicts.n);
        if (!m.err)
            buf_put_u32le(&m, crc32c(0, m.p, m.n));
        rc = m.err ? m.err : write_file(w->dir, "meta", m.p, m.n, NULL, NULL);
        buf_free(&m);
    }
    if (!rc)
        rc = fs_fsync_dir(w->dir);
    if (nrows)
        *nrows = w->nrows;
    buf_free(&dicts);
    part_writer_abort(w);
    return rc;
}

/* ---- open ---- */
void part_ref(part *p)
{
    atomic_fetch_add(&p->ref, 1);
}

void part_unref(part *p)
{
    if (!p || atomic_fetch_sub(&p->ref, 1) != 1)
        return;
    if (p->cols)
        munmap(p->cols, p->cols_len);
    if (p->has_tidx)
        tidx_close(&p->tx);
    for (uint32_t c = 0; c < COL_MAX; c++) {
        col_pdict_free(&p->pdict[c]);
        free(p->pdict_mem[c]);
        ZSTD_freeDDict(p->zdict[c]);
    }
    pthread_mutex_destroy(&p->dict_mu);
    free(p->groups);
    free(p->blocks);
    free(p->path);
    free(p);
}

static int parse_meta(part *p, const uint8_t *m, size_t n, signal_t sig)
{
    if (n < META_HDR + 4 || memcmp(m, META_MAGIC, 8) != 0)
        return BRAID_EFORMAT;
    if (crc32c(0, m, n - 4) != rd_u32le(m + n - 4))
        return BRAID_EFORMAT;
    if (rd_u32le(m + 8) != STORE_FORMAT_VERSION || rd_u32le(m + 12) != (uint32_t)sig)
        return BRAID_EFORMAT;
    const col_schema *sc = col_schema_for(sig);
    p->nrows = rd_u64le(m + 16);
    p->min_time = rd_u64le(m + 24);
    p->max_time = rd_u64le(m + 32);
    uint64_t lo = rd_u64le(m + 40), hi = rd_u64le(m + 48);
    p->cols_len = (size_t)rd_u64le(m + 56);
    p->ngroups = rd_u32le(m + 64);
    p->ncols = rd_u32le(m + 68);
    p->has_tidx = rd_u32le(m + 72) != 0;
    if (lo != p->seq_lo || hi != p->seq_hi || p->ncols != sc->ncols ||
        p->has_tidx != (sig != SIGNAL_METRICS) || p->nrows == 0 || p->nrows > UINT32_MAX ||
        p->ngroups == 0 || p->ngroups > p->nrows)
        return BRAID_EFORMAT;
    uint64_t want = META_HDR + (uint64_t)p->ngroups * META_GROUP +
                    (uint64_t)p->ngroups * p->ncols * META_BLOCK +
                    2 * (uint64_t)p->ncols * META_BLOCK + 4;
    if (want != n)
        return BRAID_EFORMAT;
    p->groups = calloc(p->ngroups, sizeof *p->groups);
    p->blocks = calloc((size_t)(p->ngroups + 2) * p->ncols, sizeof *p->blocks);
    if (!p->groups || !p->blocks)
        return BRAID_ENOMEM;
    const uint8_t *g = m + META_HDR;
    uint64_t next = 0;
    for (uint32_t i = 0; i < p->ngroups; i++, g += META_GROUP) {
        part_group *x = &p->groups[i];
        x->first_row = rd_u32le(g);
        x->nrows = rd_u32le(g + 4);
        x->min_time = rd_u64le(g + 8);
        x->max_time = rd_u64le(g + 16);
        if (x->first_row != next || x->nrows == 0 || x->nrows > PART_GROUP_ROWS)
            return BRAID_EFORMAT;
        next += x->nrows;
    }
    if (next != p->nrows)
        return BRAID_EFORMAT;
    /* The block directory, then per column a part dictionary entry, then
     * per column a zstd dictionary entry (an all-zero entry means none). */
    uint64_t off = 0;
    for (size_t i = 0; i < (size_t)(p->ngroups + 2) * p->ncols; i++, g += META_BLOCK) {
        part_block *b = &p->blocks[i];
        b->off = off;
        b->clen = rd_u32le(g);
        b->rlen = rd_u32le(g + 4);
        b->crc = rd_u32le(g + 8);
        b->codec = g[12];
        if (b->codec > 1 || (b->codec == 0 && b->clen != b->rlen) || b->rlen > MAX_BLOCK_RAW ||
            b->clen > p->cols_len - off || g[13] || g[14] || g[15])
            return BRAID_EFORMAT;
        off += b->clen;
    }
    return off == p->cols_len ? 0 : BRAID_EFORMAT;
}

#define ZDICT_MAX ((size_t)64 << 20)

/* The bytes of a dictionary entry, checked like a block, into a malloc'd
 * *out (caller frees); *out is NULL for an all-zero (absent) entry. */
static int check_dict(const part *p, const part_block *b, size_t max)
{
    if (b->clen == 0 && b->rlen == 0)
        return 0;
    if (b->rlen == 0 || b->rlen > max)
        return BRAID_EFORMAT;
    return crc32c(0, p->cols + b->off, b->clen) == b->crc ? 0 : BRAID_EFORMAT;
}

static int read_dict(const part *p, const part_block *b, size_t max, uint8_t **out)
{
    *out = NULL;
    int rc = check_dict(p, b, max);
    if (rc || b->rlen == 0)
        return rc;
    const uint8_t *src = p->cols + b->off;
    uint8_t *m = malloc(b->rlen);
    if (!m)
        return BRAID_ENOMEM;
    if (b->codec == 1) {
        size_t z = ZSTD_decompress(m, b->rlen, src, b->clen);
        if (ZSTD_isError(z) || z != b->rlen) {
            free(m);
            return BRAID_EFORMAT;
        }
    } else {
        memcpy(m, src, b->rlen);
    }
    *out = m;
    return 0;
}

/* Reads every column's part dictionary and zstd dictionary into memory,
 * where the part's blocks refer to them for as long as the part is open. */
/* At open: every dictionary block is where the directory says, of a kind
 * that may have one, and intact. */
static int check_dicts(const part *p)
{
    const col_schema *sc = col_schema_for(p->sig);
    const part_block *pdir = &p->blocks[(size_t)p->ngroups * p->ncols];
    const part_block *zdir = pdir + p->ncols;
    for (uint32_t c = 0; c < p->ncols; c++) {
        uint8_t k = sc->cols[c].kind;
        bool strings = k == CK_BYTES || k == CK_ORIGIN || k == CK_BODY || k == CK_ATTRS;
        bool pd = pdir[c].clen || pdir[c].rlen, zd = zdir[c].clen || zdir[c].rlen;
        if ((pd && (k == CK_ATTRS || !strings)) || (zd && !strings))
            return BRAID_EFORMAT;
        int rc = check_dict(p, &pdir[c], 2 * PDICT_MAX_BYTES);
        if (!rc)
            rc = check_dict(p, &zdir[c], ZDICT_MAX);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_dicts(part *p)
{
    const col_schema *sc = col_schema_for(p->sig);
    const part_block *pdir = &p->blocks[(size_t)p->ngroups * p->ncols];
    const part_block *zdir = pdir + p->ncols;
    for (uint32_t c = 0; c < p->ncols; c++) {
        uint8_t k = sc->cols[c].kind;
        bool strings = k == CK_BYTES || k == CK_ORIGIN || k == CK_BODY || k == CK_ATTRS;
        uint8_t *m;
        int rc = read_dict(p, &pdir[c], 2 * PDICT_MAX_BYTES, &m);
        if (!rc && m) {
            p->pdict_mem[c] = m;
            rc = k == CK_ATTRS || !strings ? BRAID_EFORMAT
                                           : col_pdict_parse(m, pdir[c].rlen, &p->pdict[c]);
        }
        if (!rc)
            rc = read_dict(p, &zdir[c], ZDICT_MAX, &m);
        if (!rc && m) {
            if (strings) {
                p->zdict[c] = ZSTD_createDDict(m, zdir[c].rlen);
                rc = p->zdict[c] ? 0 : BRAID_ENOMEM;
            } else {
                rc = BRAID_EFORMAT;
            }
            free(m);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int part_open(const char *path, signal_t sig, uint32_t day, part **out)
{
    *out = NULL;
    if (!col_schema_for(sig))
        return BRAID_EINVAL;
    part *p = calloc(1, sizeof *p);
    if (!p)
        return BRAID_ENOMEM;
    atomic_init(&p->ref, 1);
    pthread_mutex_init(&p->dict_mu, NULL);
    atomic_init(&p->dicts_loaded, false);
    p->sig = sig;
    p->day = day;
    p->path = strdup(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int rc = p->path ? 0 : BRAID_ENOMEM;
    if (!rc && (strlen(base) >= sizeof p->name || part_name_parse(base, &p->seq_lo, &p->seq_hi)))
        rc = BRAID_EINVAL;
    if (!rc)
        memcpy(p->name, base, strlen(base) + 1);
    char fp[4200];
    uint8_t *meta = NULL;
    size_t mlen = 0;
    if (!rc) {
        snprintf(fp, sizeof fp, "%s/meta", path);
        rc = fs_read_file(fp, &meta, &mlen);
        if (rc == BRAID_ENOTFOUND)
            rc = BRAID_EFORMAT;
    }
    if (!rc)
        rc = parse_meta(p, meta, mlen, sig);
    free(meta);
    p->disk_bytes = mlen;
    if (!rc) {
        snprintf(fp, sizeof fp, "%s/cols", path);
        int fd = open(fp, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0)
            rc = BRAID_EFORMAT;
        else if ((uint64_t)st.st_size != p->cols_len || p->cols_len == 0)
            rc = BRAID_EFORMAT;
        if (!rc) {
            void *m = mmap(NULL, p->cols_len, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m == MAP_FAILED) {
                p->cols_len = 0;
                rc = BRAID_EIO;
            } else {
                p->cols = m;
                p->disk_bytes += p->cols_len;
            }
        } else {
            p->cols_len = 0;
        }
        if (fd >= 0)
            close(fd);
    }
    if (!rc)
        rc = check_dicts(p);
    if (!rc && p->has_tidx) {
        snprintf(fp, sizeof fp, "%s/tidx", path);
        rc = tidx_open(&p->tx, fp);
        if (!rc && p->tx.nrows != p->nrows)
            rc = BRAID_EFORMAT;
        if (!rc)
            p->disk_bytes += p->tx.len;
        else
            p->has_tidx = false, tidx_close(&p->tx);
    }
    if (rc) {
        part_unref(p);
        return rc;
    }
    *out = p;
    return 0;
}

uint32_t part_group_of(const part *p, uint32_t row)
{
    uint32_t lo = 0, hi = p->ngroups;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->groups[mid].first_row <= row)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* ---- reader ---- */
struct part_reader {
    ZSTD_DCtx *dctx;
    buf scratch[COL_MAX];
    buf recon[COL_MAX];
    colval *vals[COL_MAX];
    bslice *dict;
    const part *p;
    const col_schema *sc;
    uint32_t nrows, from, to;
    union {
        model_log l;
        model_span s;
        model_metric m;
        model_exemplar e;
    } row;
    model_origin origin;
    bslice origin_blob;
    bool origin_ok;
};

part_reader *part_reader_new(void)
{
    part_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->dctx = ZSTD_createDCtx();
    bool ok = r->dctx != NULL;
    for (int c = 0; c < COL_MAX; c++) {
        buf_init(&r->scratch[c]);
        buf_init(&r->recon[c]);
        r->vals[c] = malloc(PART_GROUP_ROWS * sizeof(colval));
        ok = ok && r->vals[c];
    }
    r->dict = malloc(PART_GROUP_ROWS * sizeof(bslice));
    if (!ok || !r->dict) {
        part_reader_free(r);
        return NULL;
    }
    return r;
}

void part_reader_free(part_reader *r)
{
    if (!r)
        return;
    ZSTD_freeDCtx(r->dctx);
    for (int c = 0; c < COL_MAX; c++) {
        buf_free(&r->scratch[c]);
        buf_free(&r->recon[c]);
        free(r->vals[c]);
    }
    free(r->dict);
    free(r);
}

uint32_t part_reader_rows(const part_reader *r)
{
    return r->p ? r->nrows : 0;
}

int part_reader_load(part_reader *r, const part *p, uint32_t g)
{
    return part_reader_load_rows(r, p, g, 0, UINT32_MAX);
}

/* Decodes the part's dictionaries once, for every reader after. The part is
 * shared and otherwise immutable; these fields are written once under
 * dict_mu and published by dicts_loaded. */
static int part_dicts(const part *cp)
{
    part *p = (part *)cp;
    if (atomic_load_explicit(&p->dicts_loaded, memory_order_acquire))
        return p->dicts_rc;
    pthread_mutex_lock(&p->dict_mu);
    if (!atomic_load_explicit(&p->dicts_loaded, memory_order_relaxed)) {
        p->dicts_rc = load_dicts(p);
        if (p->dicts_rc)
            LOG_ERROR("store: %s: a dictionary cannot be decoded: %s", p->path,
                      braid_strerror(p->dicts_rc));
        atomic_store_explicit(&p->dicts_loaded, true, memory_order_release);
    }
    pthread_mutex_unlock(&p->dict_mu);
    return p->dicts_rc;
}

int part_reader_load_rows(part_reader *r, const part *p, uint32_t g, uint32_t from, uint32_t to)
{
    r->p = NULL;
    r->origin_ok = false;
    if (g >= p->ngroups)
        return BRAID_EINVAL;
    int drc = part_dicts(p);
    if (drc)
        return drc;
    const col_schema *sc = col_schema_for(p->sig);
    uint32_t nrows = p->groups[g].nrows;
    for (uint32_t c = 0; c < p->ncols; c++) {
        const part_block *b = &p->blocks[(size_t)g * p->ncols + c];
        const uint8_t *src = p->cols + b->off;
        if (crc32c(0, src, b->clen) != b->crc) {
            LOG_ERROR("store: %s: block %u/%u fails its CRC", p->path, g, c);
            return BRAID_EFORMAT;
        }
        if (b->codec == 1) {
            buf *s = &r->scratch[c];
            buf_reset(s);
            if (buf_reserve(s, b->rlen ? b->rlen : 1))
                return BRAID_ENOMEM;
            size_t z = p->zdict[c] ? ZSTD_decompress_usingDDict(r->dctx, s->p, b->rlen, src,
                                                                b->clen, p->zdict[c])
                                   : ZSTD_decompressDCtx(r->dctx, s->p, b->rlen, src, b->clen);
            if (ZSTD_isError(z) || z != b->rlen)
                return BRAID_EFORMAT;
            src = s->p;
        }
        const col_pdict *pd = p->pdict[c].n ? &p->pdict[c] : NULL;
        int rc = col_decode(&sc->cols[c], src, b->rlen, nrows, r->vals[c], r->dict, &r->recon[c],
                            from, to, pd);
        if (rc)
            return rc;
    }
    uint32_t lo = from < nrows ? from : nrows, hi = to < nrows ? to : nrows;
    for (uint32_t c = 0; c < p->ncols && lo < hi; c++) {
        if (sc->cols[c].kind != CK_TID)
            continue;
        if (!p->has_tidx)
            return BRAID_EFORMAT;
        const uint8_t **ids = (const uint8_t **)r->dict; /* scratch of PART_GROUP_ROWS */
        _Static_assert(sizeof(bslice) >= sizeof(const uint8_t *), "scratch too small");
        int rc = tidx_rows(&p->tx, p->groups[g].first_row + lo, hi - lo, ids);
        if (rc) {
            LOG_ERROR("store: %s: trace index page fails its check", p->path);
            return rc;
        }
        static const uint8_t zero[16];
        for (uint32_t i = lo; i < hi; i++)
            r->vals[c][i].s = (bslice){ids[i - lo] ? ids[i - lo] : zero, 16};
    }
    r->p = p;
    r->sc = sc;
    r->nrows = nrows;
    r->from = from;
    r->to = to < nrows ? to : nrows;
    return 0;
}

int part_reader_row(part_reader *r, uint32_t i, const void **row)
{
    if (!r->p || i < r->from || i >= r->to)
        return BRAID_EINVAL;
    uint8_t *dst = (uint8_t *)&r->row;
    memset(dst, 0, sizeof r->row);
    for (uint32_t c = 0; c < r->sc->ncols; c++) {
        const col_desc *d = &r->sc->cols[c];
        colval v = r->vals[c][i];
        uint8_t *f = dst + d->off;
        switch (d->kind) {
        case CK_TIME:
        case CK_I64:
        case CK_F64:
            memcpy(f, &v.u, 8);
            break;
        case CK_TREL: {
            uint64_t base;
            memcpy(&base, dst + d->base, 8);
            base += v.u;
            memcpy(f, &base, 8);
            break;
        }
        case CK_U32: {
            uint32_t x = (uint32_t)v.u;
            memcpy(f, &x, 4);
            break;
        }
        case CK_I32: {
            int32_t x = (int32_t)(int64_t)v.u;
            memcpy(f, &x, 4);
            break;
        }
        case CK_U8:
            *f = (uint8_t)v.u;
            break;
        case CK_ID16:
        case CK_ID8:
        case CK_TID:
            memcpy(f, v.s.p, v.s.n);
            break;
        case CK_BYTES:
        case CK_ATTRS:
        case CK_BODY:
            memcpy(f, &v.s, sizeof v.s);
            break;
        case CK_ORIGIN: {
            if (!r->origin_ok || r->origin_blob.p != v.s.p || r->origin_blob.n != v.s.n) {
                r->origin_ok = false;
                if (rowcodec_get_origin(v.s, &r->origin))
                    return BRAID_EFORMAT;
                r->origin_blob = v.s;
                r->origin_ok = true;
            }
            const model_origin *o = &r->origin;
            memcpy(f, &o, sizeof o);
            break;
        }
        default:
            return BRAID_EFORMAT;
        }
    }
    *row = &r->row;
    return 0;
}

/* store/tidx: the trace index file of a part: sorted distinct trace ids with
 * the row count each owns, in CRC'd pages, after a bloom filter and fences of
 * each page's first id and first row. A lookup (or the ids of a row range; the
 * part keeps them nowhere else) costs a bloom test, a binary search in memory
 * and one page. Owns its mapping; never trusts the file: sizes are checked at
 * open and each page's CRC when it is read. */
#include "internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TIDX_MAGIC "BRAIDTIX"
#define TIDX_HDR 64
/* On disk an entry is the 16 id bytes and its row count in 1, 2 or 4
 * bytes (the fewest every count of the file fits in; most traces have a
 * handful of rows). */
#define PAGE_BYTES(esz) ((size_t)TIDX_PAGE_ENTRIES * (esz) + 4)

static uint32_t ent_count(const tidx *t, const uint8_t *ent)
{
    const uint8_t *c = ent + 16;
    return t->esz == 17 ? c[0] : t->esz == 18 ? (uint32_t)(c[0] | c[1] << 8) : rd_u32le(c);
}

void tidx_writer_init(tidx_writer *t)
{
    memset(t, 0, sizeof *t);
    buf_init(&t->entries);
}

void tidx_writer_free(tidx_writer *t)
{
    buf_free(&t->entries);
    memset(t, 0, sizeof *t);
}

static void emit(tidx_writer *t)
{
    if (!t->have)
        return;
    buf_append(&t->entries, t->cur.b, 16);
    buf_put_u32le(&t->entries, t->count);
    t->n++;
    t->have = false;
}

int tidx_writer_add(tidx_writer *t, const trace_id_t *tid, uint32_t row)
{
    /* Entries hold no first row: the rows of the traces follow each other
     * from row 0, which the row fence and the counts give back. */
    uint32_t next = t->have ? t->first + t->count : 0;
    if (row != next)
        return BRAID_EINVAL;
    if (t->have) {
        int c = memcmp(tid->b, t->cur.b, 16);
        if (c < 0)
            return BRAID_EINVAL;
        if (c == 0) {
            t->count++;
            return 0;
        }
        emit(t);
    }
    t->cur = *tid;
    t->first = row;
    t->count = 1;
    t->have = true;
    return t->entries.err;
}

int tidx_writer_write(tidx_writer *t, int fd, uint64_t nrows)
{
    emit(t);
    if (t->entries.err)
        return t->entries.err;
    uint64_t n = t->n;
    uint32_t npages = (uint32_t)((n + TIDX_PAGE_ENTRIES - 1) / TIDX_PAGE_ENTRIES);
    uint32_t maxc = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t c = rd_u32le(t->entries.p + i * TIDX_ENTRY + 16);
        maxc = c > maxc ? c : maxc;
    }
    uint32_t cw = maxc < 0x100 ? 1 : maxc < 0x10000 ? 2 : 4, esz = 16 + cw;
    uint64_t mbits = bloom_bits_for(n);
    buf out;
    buf_init(&out);
    uint8_t hdr[TIDX_HDR] = {0};
    memcpy(hdr, TIDX_MAGIC, 8);
    wr_u32le(hdr + 8, STORE_FORMAT_VERSION);
    wr_u32le(hdr + 12, TIDX_PAGE_ENTRIES);
    wr_u64le(hdr + 16, n);
    wr_u64le(hdr + 24, mbits);
    wr_u32le(hdr + 32, BLOOM_K);
    wr_u32le(hdr + 36, npages);
    wr_u64le(hdr + 40, nrows);
    wr_u32le(hdr + 48, esz);
    buf_append(&out, hdr, sizeof hdr);
    size_t bloom_off = out.n;
    if (buf_reserve(&out, (size_t)(mbits / 8)) == 0) {
        memset(out.p + out.n, 0, (size_t)(mbits / 8));
        out.n += (size_t)(mbits / 8);
    }
    for (uint64_t i = 0; i < n && !out.err; i++) {
        trace_id_t id;
        memcpy(id.b, t->entries.p + i * TIDX_ENTRY, 16);
        bloom_add(out.p + bloom_off, mbits, BLOOM_K, &id);
    }
    for (uint32_t pg = 0; pg < npages; pg++)
        buf_append(&out, t->entries.p + (size_t)pg * TIDX_PAGE_ENTRIES * TIDX_ENTRY, 16);
    uint32_t row = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (i % TIDX_PAGE_ENTRIES == 0)
            buf_put_u32le(&out, row);
        row += rd_u32le(t->entries.p + i * TIDX_ENTRY + 16);
    }
    if (!out.err)
        wr_u32le(out.p + 60, crc32c(crc32c(0, out.p, 60), out.p + TIDX_HDR, out.n - TIDX_HDR));
    for (uint32_t pg = 0; pg < npages; pg++) {
        uint64_t first = (uint64_t)pg * TIDX_PAGE_ENTRIES;
        uint64_t cnt = n - first < TIDX_PAGE_ENTRIES ? n - first : TIDX_PAGE_ENTRIES;
        size_t at = out.n;
        for (uint64_t i = first; i < first + cnt; i++) {
            const uint8_t *src = t->entries.p + i * TIDX_ENTRY;
            uint8_t c[4];
            wr_u32le(c, rd_u32le(src + 16));
            buf_append(&out, src, 16);
            buf_append(&out, c, cw);
        }
        if (!out.err)
            buf_put_u32le(&out, crc32c(0, out.p + at, out.n - at));
    }
    int rc = out.err ? out.err : fs_write_all(fd, out.p, out.n);
    buf_free(&out);
    return rc;
}

void tidx_close(tidx *t)
{
    if (t->map)
        munmap(t->map, t->len);
    memset(t, 0, sizeof *t);
}

int tidx_open(tidx *t, const char *path)
{
    memset(t, 0, sizeof *t);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return BRAID_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return BRAID_EIO;
    }
    size_t len = (size_t)st.st_size;
    if (len < TIDX_HDR) {
        close(fd);
        return BRAID_EFORMAT;
    }
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return BRAID_EIO;
    t->map = m;
    t->len = len;
    const uint8_t *h = t->map;
    int rc = BRAID_EFORMAT;
    if (memcmp(h, TIDX_MAGIC, 8) != 0 || rd_u32le(h + 8) != STORE_FORMAT_VERSION ||
        rd_u32le(h + 12) != TIDX_PAGE_ENTRIES)
        goto bad;
    t->nentries = rd_u64le(h + 16);
    t->bloom_bits = rd_u64le(h + 24);
    t->bloom_k = rd_u32le(h + 32);
    t->npages = rd_u32le(h + 36);
    t->nrows = rd_u64le(h + 40);
    t->esz = rd_u32le(h + 48);
    if (t->esz != 17 && t->esz != 18 && t->esz != 20)
        goto bad;
    if (t->nentries > len / t->esz || t->bloom_bits == 0 || t->bloom_bits % 64 ||
        t->bloom_bits / 8 > len || t->bloom_k == 0 || t->bloom_k > 32 ||
        t->npages != (t->nentries + TIDX_PAGE_ENTRIES - 1) / TIDX_PAGE_ENTRIES)
        goto bad;
    uint64_t want = TIDX_HDR + t->bloom_bits / 8 + (uint64_t)t->npages * 20 + t->nentries * t->esz +
                    (uint64_t)t->npages * 4;
    if (want != len)
        goto bad;
    size_t meta_end = TIDX_HDR + (size_t)(t->bloom_bits / 8) + (size_t)t->npages * 20;
    if (crc32c(crc32c(0, h, 60), h + TIDX_HDR, meta_end - TIDX_HDR) != rd_u32le(h + 60))
        goto bad;
    t->bloom = h + TIDX_HDR;
    t->fence = t->bloom + t->bloom_bits / 8;
    t->row_fence = t->fence + (size_t)t->npages * 16;
    t->pages = t->row_fence + (size_t)t->npages * 4;
    /* Pages start at row 0 and each holds at least one row per entry. */
    for (uint32_t pg = 0; pg < t->npages; pg++) {
        uint64_t r = rd_u32le(t->row_fence + (size_t)pg * 4);
        if (pg == 0 ? r != 0
                    : r < rd_u32le(t->row_fence + (size_t)(pg - 1) * 4) + TIDX_PAGE_ENTRIES ||
                          r >= t->nrows)
            goto bad;
    }
    return 0;
bad:
    tidx_close(t);
    return rc;
}

int tidx_lookup(const tidx *t, const trace_id_t *tid, uint32_t *first, uint32_t *count)
{
    if (t->nentries == 0 || !bloom_test(t->bloom, t->bloom_bits, t->bloom_k, tid))
        return 0;
    uint32_t lo = 0, hi = t->npages;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (memcmp(t->fence + (size_t)mid * 16, tid->b, 16) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    uint32_t pg = lo - 1;
    uint64_t base = (uint64_t)pg * TIDX_PAGE_ENTRIES;
    uint32_t cnt =
        (uint32_t)(t->nentries - base < TIDX_PAGE_ENTRIES ? t->nentries - base : TIDX_PAGE_ENTRIES);
    const uint8_t *page = t->pages + (size_t)pg * PAGE_BYTES(t->esz);
    if (crc32c(0, page, (size_t)cnt * t->esz) != rd_u32le(page + (size_t)cnt * t->esz))
        return BRAID_EFORMAT;
    uint32_t a = 0, b = cnt;
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        int c = memcmp(page + (size_t)mid * t->esz, tid->b, 16);
        if (c == 0) {
            uint64_t f = rd_u32le(t->row_fence + (size_t)pg * 4);
            for (uint32_t i = 0; i < mid; i++)
                f += ent_count(t, page + (size_t)i * t->esz);
            uint32_t n = ent_count(t, page + (size_t)mid * t->esz);
            if (n == 0 || f + n > t->nrows)
                return BRAID_EFORMAT;
            *first = (uint32_t)f;
            *count = n;
            return 1;
        }
        if (c < 0)
            a = mid + 1;
        else
            b = mid;
    }
    return 0;
}

/* Checks page pg's CRC; returns its entries and their count, or NULL. */
static const uint8_t *page_at(const tidx *t, uint32_t pg, uint32_t *cnt)
{
    uint64_t base = (uint64_t)pg * TIDX_PAGE_ENTRIES;
    *cnt =
        (uint32_t)(t->nentries - base < TIDX_PAGE_ENTRIES ? t->nentries - base : TIDX_PAGE_ENTRIES);
    const uint8_t *page = t->pages + (size_t)pg * PAGE_BYTES(t->esz);
    if (crc32c(0, page, (size_t)*cnt * t->esz) != rd_u32le(page + (size_t)*cnt * t->esz))
        return NULL;
    return page;
}

int tidx_rows(const tidx *t, uint32_t first, uint32_t n, const uint8_t **ids)
{
    for (uint32_t i = 0; i < n; i++)
        ids[i] = NULL;
    if (t->nentries == 0 || n == 0)
        return 0;
    /* The last page whose first row is at or before `first`. */
    uint32_t lo = 0, hi = t->npages;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (rd_u32le(t->row_fence + (size_t)mid * 4) <= first)
            lo = mid;
        else
            hi = mid;
    }
    uint32_t cnt, pg = lo;
    const uint8_t *page = page_at(t, pg, &cnt);
    if (!page)
        return BRAID_EFORMAT;
    /* Walk the page's entries from its first row. */
    uint64_t f = rd_u32le(t->row_fence + (size_t)pg * 4), end = (uint64_t)first + n;
    for (uint32_t e = 0;;) {
        const uint8_t *ent = page + (size_t)e * t->esz;
        uint64_t c = ent_count(t, ent);
        if (c == 0 || f + c > t->nrows)
            return BRAID_EFORMAT;
        if (f >= end)
            break;
        for (uint64_t r = f > first ? f : first; r < f + c && r < end; r++)
            ids[r - first] = ent;
        f += c;
        if (++e == cnt) {
            if (++pg == t->npages)
                break;
            if (!(page = page_at(t, pg, &cnt)) || rd_u32le(t->row_fence + (size_t)pg * 4) != f)
                return BRAID_EFORMAT;
            e = 0;
        }
    }
    return 0;
}

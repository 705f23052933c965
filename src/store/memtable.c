/* store/memtable: the in-memory generation of acknowledged rows. A chunk is
 * one appended batch: its WAL payload (the single copy of the request bytes)
 * and the rows decoded from it; a memtable links chunks in sequence order and
 * indexes rows by trace id. Chunks never change once linked, so readers walk
 * them without locks; linking and index growth happen under the store's view
 * lock. Never fails after a WAL write: index growth degrades instead. */
#include "internal.h"

#include <stdlib.h>

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

void mchunk_free(mchunk *ck)
{
    if (!ck)
        return;
    free(ck->payload);
    free(ck->refs);
    free(ck);
}

int mchunk_new(uint8_t *payload, size_t len, size_t cap, mchunk **out)
{
    *out = NULL;
    /* An encoding buffer grows by doubling, so up to half of it can be
     * slack: give that back before the chunk lives in the memtable (keeping
     * the room for the WAL trailer when the caller left it). */
    if (cap >= len + WAL_TRAILER && cap - len - WAL_TRAILER > 4096) {
        uint8_t *q = realloc(payload, len + WAL_TRAILER);
        if (q) {
            payload = q;
            cap = len + WAL_TRAILER;
        }
    }
    rc_counts c;
    int rc = rowcodec_count(payload, len, &c);
    if (rc) {
        free(payload);
        return rc;
    }
    size_t off_origins = ALIGN8(sizeof(mchunk));
    size_t off = off_origins + ALIGN8((size_t)c.norigins * sizeof(model_origin));
    size_t off_rows[SIGNAL_COUNT];
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        off_rows[s] = off;
        off += ALIGN8((size_t)c.n[s] * row_size((signal_t)s));
    }
    uint8_t *blk = calloc(1, off);
    if (!blk) {
        free(payload);
        return BRAID_ENOMEM;
    }
    mchunk *ck = (mchunk *)blk;
    ck->payload = payload;
    ck->payload_len = len;
    ck->origins = (model_origin *)(blk + off_origins);
    rc_rows rows = {.origins = ck->origins};
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        ck->rows[s] = blk + off_rows[s];
        ck->n[s] = c.n[s];
        rows.rows[s] = ck->rows[s];
    }
    rc = rowcodec_decode(payload, len, &c, &rows);
    if (rc) {
        mchunk_free(ck);
        return rc;
    }
    uint32_t ntid = 0;
    ck->min_time = UINT64_MAX;
    for (int s = 0; s < SIGNAL_COUNT; s++) {
        size_t rs = row_size((signal_t)s);
        for (uint32_t i = 0; i < ck->n[s]; i++) {
            const void *row = (const uint8_t *)ck->rows[s] + i * rs;
            uint64_t t = row_time((signal_t)s, row);
            if (t < ck->min_time)
                ck->min_time = t;
            if (t > ck->max_time)
                ck->max_time = t;
            const trace_id_t *tid = row_tid((signal_t)s, row);
            if (tid && !trace_id_is_zero(tid))
                ntid++;
        }
    }
    if (ntid) {
        ck->refs = malloc((size_t)ntid * sizeof *ck->refs);
        if (!ck->refs) {
            mchunk_free(ck);
            return BRAID_ENOMEM;
        }
        for (int s = 0; s < SIGNAL_COUNT; s++) {
            size_t rs = row_size((signal_t)s);
            for (uint32_t i = 0; i < ck->n[s]; i++) {
                const trace_id_t *tid = row_tid((signal_t)s, (const uint8_t *)ck->rows[s] + i * rs);
                if (!tid || trace_id_is_zero(tid))
                    continue;
                ck->refs[ck->nrefs++] = (mref){NULL, ck, *tid, i, (uint8_t)s};
            }
        }
    }
    ck->bytes = off + (size_t)ntid * sizeof(mref) + cap;
    *out = ck;
    return 0;
}

memtable *memtable_new(void)
{
    memtable *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->nbuckets = 1024;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    atomic_init(&m->ref, 1);
    m->min_time = UINT64_MAX;
    m->bytes = sizeof *m + m->nbuckets * sizeof *m->buckets;
    return m;
}

void memtable_ref(memtable *m)
{
    atomic_fetch_add(&m->ref, 1);
}

size_t memtable_unref(memtable *m)
{
    if (!m || atomic_fetch_sub(&m->ref, 1) != 1)
        return 0;
    size_t bytes = m->chunk_bytes;
    for (mchunk *ck = m->head; ck;) {
        mchunk *next = ck->next;
        mchunk_free(ck);
        ck = next;
    }
    free(m->buckets);
    free(m);
    return bytes;
}

static size_t tid_hash(const trace_id_t *t)
{
    uint64_t h = rd_u64le(t->b) ^ (rd_u64le(t->b + 8) * 0x9E3779B97F4A7C15ull);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (size_t)h;
}

static void link_ref(mref **b, size_t nb, mref *r)
{
    size_t i = tid_hash(&r->tid) & (nb - 1);
    r->next = b[i];
    b[i] = r;
}

/* Doubles the bucket array; on ENOMEM keeps the old one (longer chains). */
static void grow_index(memtable *m, size_t want)
{
    size_t nb = m->nbuckets;
    while (nb < want)
        nb *= 2;
    if (nb == m->nbuckets)
        return;
    mref **b = calloc(nb, sizeof *b);
    if (!b)
        return;
    for (mchunk *ck = m->head; ck; ck = ck->next)
        for (uint32_t i = 0; i < ck->nrefs; i++)
            link_ref(b, nb, &ck->refs[i]);
    m->bytes += (nb - m->nbuckets) * sizeof *b;
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

void memtable_insert(memtable *m, mchunk *ck)
{
    ck->next = NULL;
    if (m->nrefs + ck->nrefs > m->nbuckets)
        grow_index(m, m->nrefs + ck->nrefs);
    if (m->tail) {
        m->tail->next = ck;
    } else {
        m->head = ck;
        m->seq_lo = ck->seq;
        m->born_ns = now_mono_ns();
    }
    m->tail = ck;
    m->seq_hi = ck->seq;
    for (int s = 0; s < SIGNAL_COUNT; s++)
        m->rows[s] += ck->n[s];
    m->bytes += ck->bytes;
    m->chunk_bytes += ck->bytes;
    if (ck->min_time < m->min_time)
        m->min_time = ck->min_time;
    if (ck->max_time > m->max_time)
        m->max_time = ck->max_time;
    for (uint32_t i = 0; i < ck->nrefs; i++)
        link_ref(m->buckets, m->nbuckets, &ck->refs[i]);
    m->nrefs += ck->nrefs;
}

const mref *memtable_bucket(const memtable *m, const trace_id_t *tid)
{
    return m->buckets[tid_hash(tid) & (m->nbuckets - 1)];
}

/* ---- part order for a flush ---- */
typedef struct {
    uint64_t key;
    const void *row;
    uint32_t pos; /* append order, for rows that compare equal */
} sort_ent;

/* Stable LSD radix sort of n entries by key, 8 bits a pass, skipping the
 * passes where every key has the same byte. tmp has room for n entries. */
static void radix_sort(sort_ent *a, sort_ent *tmp, size_t n)
{
    sort_ent *src = a, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 8) {
        size_t cnt[256] = {0};
        for (size_t i = 0; i < n; i++)
            cnt[(src[i].key >> shift) & 0xff]++;
        if (cnt[(src[0].key >> shift) & 0xff] == n)
            continue;
        size_t pos = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = cnt[b];
            cnt[b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[(src[i].key >> shift) & 0xff]++] = src[i];
        sort_ent *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

static int cmp_ent(const void *x, const void *y, void *ud)
{
    const sort_ent *a = x, *b = y;
    int c = row_cmp((signal_t)(intptr_t)ud, a->row, b->row);
    return c ? c : a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int cmp_day_row(const void *x, const void *y, void *ud)
{
    signal_t sig = (signal_t)(intptr_t)ud;
    const void *a = *(const void *const *)x, *b = *(const void *const *)y;
    uint32_t da = row_day(row_time(sig, a)), db = row_day(row_time(sig, b));
    if (da != db)
        return da < db ? -1 : 1;
    return row_cmp(sig, a, b);
}

#define NS_PER_DAY (86400ull * 1000000000ull)

int memtable_sorted_rows(const memtable *m, signal_t sig, const void ***out)
{
    *out = NULL;
    size_t n = (size_t)m->rows[sig], k = 0;
    const void **rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows)
        return BRAID_ENOMEM;
    size_t rs = row_size(sig);
    for (const mchunk *ck = m->head; ck && k < n; ck = ck->next)
        for (uint32_t i = 0; i < ck->n[sig] && k < n; i++)
            rows[k++] = (const uint8_t *)ck->rows[sig] + (size_t)i * rs;
    n = k;
    uint32_t dmin = UINT32_MAX, dmax = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t d = row_day(row_time(sig, rows[i]));
        dmin = d < dmin ? d : dmin;
        dmax = d > dmax ? d : dmax;
    }
    sort_ent *a = n > 1 && dmax - dmin < 0xffff ? malloc(2 * n * sizeof *a) : NULL;
    if (!a) {
        /* Days too far apart for the packed key (or no memory for it). */
        if (n > 1)
            qsort_r(rows, n, sizeof *rows, cmp_day_row, (void *)(intptr_t)sig);
        *out = rows;
        return 0;
    }
    /* Key: 16 bits of day, then a "no trace id" bit, then 47 bits of either
     * the trace id's leading bytes or the time within the day (which fits:
     * a day is under 2^47 ns). Rows without a trace id are thus fully
     * ordered by the key; rows with one only tie within a trace (or on a
     * 47-bit prefix collision), which the pass below settles. */
    for (size_t i = 0; i < n; i++) {
        const void *row = rows[i];
        uint64_t t = row_time(sig, row);
        uint64_t day = row_day(t);
        const trace_id_t *tid = row_tid(sig, row);
        uint64_t low;
        bool has = tid && !tid_zero(tid);
        if (has) {
            uint64_t hi = 0;
            for (int b = 0; b < 8; b++)
                hi = hi << 8 | tid->b[b];
            low = hi >> 17;
        } else {
            low = t - day * NS_PER_DAY;
        }
        a[i].key = (day - dmin) << 48 | (uint64_t)!has << 47 | low;
        a[i].row = row;
        a[i].pos = (uint32_t)i;
    }
    radix_sort(a, a + n, n);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && a[j].key == a[i].key)
            j++;
        /* Equal keys with a trace id: sorted by the full order, in append
         * order when equal. Runs are usually a trace long (insertion sort);
         * ids that share their leading bits (64-bit ids padded with zeros)
         * make long ones. */
        if (j - i > 16 && !(a[i].key >> 47 & 1))
            qsort_r(a + i, j - i, sizeof *a, cmp_ent, (void *)(intptr_t)sig);
        else if (j - i > 1 && !(a[i].key >> 47 & 1))
            for (size_t x = i + 1; x < j; x++) {
                sort_ent e = a[x];
                size_t y = x;
                while (y > i && row_cmp(sig, a[y - 1].row, e.row) > 0) {
                    a[y] = a[y - 1];
                    y--;
                }
                a[y] = e;
            }
        i = j;
    }
    for (size_t i = 0; i < n; i++)
        rows[i] = a[i].row;
    free(a);
    *out = rows;
    return 0;
}

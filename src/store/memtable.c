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

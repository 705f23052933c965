/* store/bloom: the per-part bloom filter over trace ids that lets a lookup
 * skip parts without touching disk. XXH3-64 of the 16 id bytes, split into
 * two hashes combined as h1 + i*h2 (double hashing) for the k probes. Owns
 * nothing: the caller supplies the bit array. */
#include "internal.h"

#include <xxhash.h>

uint64_t bloom_bits_for(uint64_t nkeys)
{
    uint64_t m = nkeys * BLOOM_BITS_PER_KEY;
    if (m < 64)
        m = 64;
    return (m + 63) & ~(uint64_t)63;
}

static void bloom_hashes(const trace_id_t *tid, uint64_t *h1, uint64_t *h2)
{
    uint64_t h = XXH3_64bits(tid->b, sizeof tid->b);
    *h1 = h;
    *h2 = ((h >> 23) | (h << 41)) | 1;
}

void bloom_add(uint8_t *bits, uint64_t nbits, uint32_t k, const trace_id_t *tid)
{
    uint64_t h1, h2;
    bloom_hashes(tid, &h1, &h2);
    for (uint32_t i = 0; i < k; i++) {
        uint64_t b = (h1 + i * h2) % nbits;
        bits[b >> 3] |= (uint8_t)(1u << (b & 7));
    }
}

bool bloom_test(const uint8_t *bits, uint64_t nbits, uint32_t k, const trace_id_t *tid)
{
    uint64_t h1, h2;
    bloom_hashes(tid, &h1, &h2);
    for (uint32_t i = 0; i < k; i++) {
        uint64_t b = (h1 + i * h2) % nbits;
        if (!(bits[b >> 3] & (1u << (b & 7))))
            return false;
    }
    return true;
}

/* util: implementation of the shared helpers declared in util.h (errors,
 * slices, buffers, arena, varints, CRC32C, clocks, logging, size and duration
 * parsing). Owns only the log level. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const char *braid_strerror(int err)
{
    switch (err) {
    case BRAID_OK:
        return "ok";
    case BRAID_ENOMEM:
        return "out of memory";
    case BRAID_EINVAL:
        return "invalid input";
    case BRAID_EIO:
        return "I/O error";
    case BRAID_ENOTFOUND:
        return "not found";
    case BRAID_ETOOBIG:
        return "too large";
    case BRAID_EAGAIN:
        return "need more data";
    case BRAID_EFORMAT:
        return "corrupt or unknown format";
    case BRAID_EBUSY:
        return "over the memory limit, retry later";
    case BRAID_ECLOSED:
        return "shutting down";
    case BRAID_EUNSUPPORTED:
        return "unsupported";
    case BRAID_ENOSPC:
        return "no space left on device";
    default:
        return "unknown error";
    }
}

int braid_err_from_errno(int e)
{
    return e == ENOSPC || e == EDQUOT ? BRAID_ENOSPC : BRAID_EIO;
}

bool bslice_eq_nocase(bslice a, const char *s)
{
    size_t n = strlen(s);
    if (a.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower(a.p[i]) != tolower((unsigned char)s[i]))
            return false;
    return true;
}

/* ---- buf ---- */
void buf_init(buf *b)
{
    memset(b, 0, sizeof *b);
}

void buf_free(buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void buf_reset(buf *b)
{
    b->n = 0;
    b->err = 0;
}

int buf_reserve(buf *b, size_t extra)
{
    if (b->err)
        return b->err;
    if (extra > SIZE_MAX - b->n) {
        b->err = BRAID_ENOMEM;
        return b->err;
    }
    size_t need = b->n + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->err = BRAID_ENOMEM;
        return b->err;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void buf_append(buf *b, const void *p, size_t n)
{
    if (n == 0 || buf_reserve(b, n))
        return;
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

void buf_putc(buf *b, uint8_t c)
{
    if (buf_reserve(b, 1))
        return;
    b->p[b->n++] = c;
}

void buf_puts(buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->err = BRAID_EINVAL;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        buf_append(b, tmp, (size_t)n);
        return;
    }
    if (buf_reserve(b, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

void buf_put_u32le(buf *b, uint32_t v)
{
    if (buf_reserve(b, 4))
        return;
    wr_u32le(b->p + b->n, v);
    b->n += 4;
}

void buf_put_u64le(buf *b, uint64_t v)
{
    if (buf_reserve(b, 8))
        return;
    wr_u64le(b->p + b->n, v);
    b->n += 8;
}

void buf_put_varint(buf *b, uint64_t v)
{
    if (buf_reserve(b, 10))
        return;
    while (v >= 0x80) {
        b->p[b->n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->p[b->n++] = (uint8_t)v;
}

uint8_t *buf_detach(buf *b, size_t *len)
{
    uint8_t *p = b->p;
    if (len)
        *len = b->n;
    memset(b, 0, sizeof *b);
    return p;
}

int rd_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return BRAID_EINVAL;
        uint8_t c = *p++;
        if (shift == 63 && c > 1)
            return BRAID_EINVAL;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return BRAID_EINVAL;
}

/* ---- arena ---- */
struct arena_chunk {
    arena_chunk *next;
    size_t used, cap;
    _Alignas(16) uint8_t data[];
};

void arena_init(arena *a)
{
    a->head = NULL;
    a->total = 0;
}

void arena_free(arena *a)
{
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}

void *arena_alloc(arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n == 0)
        n = 8;
    arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = a->total < 4096 ? 4096 : a->total;
        if (cap > (size_t)64 << 20)
            cap = (size_t)64 << 20;
        if (cap < n)
            cap = n;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
        a->total += cap;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void *arena_dup(arena *a, const void *p, size_t n)
{
    void *d = arena_alloc(a, n);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

void *arena_grow(arena *a, void *old, size_t old_bytes, size_t new_bytes)
{
    void *p = arena_alloc(a, new_bytes);
    if (p && old && old_bytes)
        memcpy(p, old, old_bytes < new_bytes ? old_bytes : new_bytes);
    return p;
}

/* ---- crc32c (table-driven, slicing by one byte; the WAL is not CRC-bound) ---- */
static uint32_t crc_table[8][256];
static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

#include <pthread.h>
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

uint32_t crc32c_sw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = data;
    crc = ~crc;
    while (n >= 8) {
        uint64_t v = rd_u64le(p) ^ crc;
        crc = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^
              crc_table[5][(v >> 16) & 0xff] ^ crc_table[4][(v >> 24) & 0xff] ^
              crc_table[3][(v >> 32) & 0xff] ^ crc_table[2][(v >> 40) & 0xff] ^
              crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
/* SSE4.2 has a CRC32C instruction: ~8 bytes per cycle against ~1 for tables,
 * and the WAL and every part block checksum all their bytes. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data,
                                                            size_t n)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (n >= 8) {
        c = __builtin_ia32_crc32di(c, rd_u64le(p));
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#endif

bool crc32c_hw_available(void)
{
#if defined(__x86_64__)
    return __builtin_cpu_supports("sse4.2");
#else
    return false;
#endif
}

uint32_t crc32c(uint32_t crc, const void *data, size_t n)
{
#if defined(__x86_64__)
    static int hw = -1;
    if (hw < 0)
        hw = crc32c_hw_available();
    if (hw)
        return crc32c_hw(crc, data, n);
#endif
    return crc32c_sw(crc, data, n);
}

/* ---- clocks ---- */
uint64_t now_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- logging ---- */
int braid_log_level = 2;

void braid_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (level > braid_log_level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "braid %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level], line);
}

int braid_log_level_parse(const char *s)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* ---- sizes and durations ---- */
int parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !isdigit((unsigned char)*s))
        return BRAID_EINVAL;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = 1;
    bslice unit = bslice_cstr(end);
    if (unit.n == 0 || bslice_eq_nocase(unit, "b"))
        mul = 1;
    else if (bslice_eq_nocase(unit, "k") || bslice_eq_nocase(unit, "kb") ||
             bslice_eq_nocase(unit, "kib"))
        mul = 1ull << 10;
    else if (bslice_eq_nocase(unit, "m") || bslice_eq_nocase(unit, "mb") ||
             bslice_eq_nocase(unit, "mib"))
        mul = 1ull << 20;
    else if (bslice_eq_nocase(unit, "g") || bslice_eq_nocase(unit, "gb") ||
             bslice_eq_nocase(unit, "gib"))
        mul = 1ull << 30;
    else
        return BRAID_EINVAL;
    if (v > UINT64_MAX / mul)
        return BRAID_EINVAL;
    *out = v * mul;
    return 0;
}

int parse_duration_ns(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !isdigit((unsigned char)*s))
        return BRAID_EINVAL;
    double v = strtod(s, &end);
    double mul;
    if (strcmp(end, "ns") == 0)
        mul = 1;
    else if (strcmp(end, "us") == 0)
        mul = 1e3;
    else if (strcmp(end, "ms") == 0)
        mul = 1e6;
    else if (strcmp(end, "s") == 0 || *end == 0)
        mul = 1e9;
    else if (strcmp(end, "m") == 0)
        mul = 60e9;
    else if (strcmp(end, "h") == 0)
        mul = 3600e9;
    else if (strcmp(end, "d") == 0)
        mul = 86400e9;
    else if (strcmp(end, "w") == 0)
        mul = 7 * 86400e9;
    else
        return BRAID_EINVAL;
    double ns = v * mul;
    if (!(ns >= 0) || ns > 1.8e19)
        return BRAID_EINVAL;
    *out = (uint64_t)ns;
    return 0;
}

/* util: the small pieces every braid module shares — error codes, byte slices,
 * growable buffers, a bump arena, CRC32C, little-endian helpers, clocks and the
 * process logger. Owns no global state except the log level. Never blocks. */
#ifndef BRAID_UTIL_H
#define BRAID_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Error codes: functions return 0 or one of these (always negative). */
enum {
    BRAID_OK = 0,
    BRAID_ENOMEM = -1, /* allocation failed */
    BRAID_EINVAL = -2, /* malformed input or bad argument */
    BRAID_EIO = -3,    /* read/write/fsync failed */
    BRAID_ENOTFOUND = -4,
    BRAID_ETOOBIG = -5, /* over a configured size limit */
    BRAID_EAGAIN = -6,  /* need more bytes / retry later */
    BRAID_EFORMAT = -7, /* on-disk data fails a check (CRC, version) */
    BRAID_EBUSY = -8,   /* over the memory limit: retry later */
    BRAID_ECLOSED = -9, /* the object is shutting down */
    BRAID_EUNSUPPORTED = -10,
    BRAID_ENOSPC = -11, /* a write failed because the disk (or quota) is full */
};

/* Returns a static string describing a BRAID_E* code. */
const char *braid_strerror(int err);
/* The code for a failed file-system call's errno: BRAID_ENOSPC for ENOSPC and
 * EDQUOT (the operator must free space, not look for a broken disk),
 * BRAID_EIO for anything else. */
int braid_err_from_errno(int e);

/* A view into bytes owned by someone else. Never freed through the slice. */
typedef struct {
    const uint8_t *p;
    size_t n;
} bslice;

#define BSLICE_LIT(s) ((bslice){(const uint8_t *)(s), sizeof(s) - 1})
static inline bslice bslice_cstr(const char *s)
{
    return (bslice){(const uint8_t *)s, s ? strlen(s) : 0};
}
static inline bool bslice_eq(bslice a, bslice b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}
static inline bool bslice_eq_cstr(bslice a, const char *s)
{
    return bslice_eq(a, bslice_cstr(s));
}
bool bslice_eq_nocase(bslice a, const char *s);

/* Growable byte buffer. Owns `p`; release with buf_free. On ENOMEM the buffer
 * keeps its previous contents and `err` is set so a chain of appends can be
 * checked once at the end. */
typedef struct {
    uint8_t *p;
    size_t n, cap;
    int err;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
void buf_reset(buf *b); /* length 0, keeps capacity, clears err */
int buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *p, size_t n);
void buf_putc(buf *b, uint8_t c);
void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_put_u32le(buf *b, uint32_t v);
void buf_put_u64le(buf *b, uint64_t v);
void buf_put_varint(buf *b, uint64_t v);
/* Takes ownership of the bytes out of the buffer; caller frees with free(). */
uint8_t *buf_detach(buf *b, size_t *len);

/* Bump arena: many small allocations freed at once by arena_free. Memory is
 * owned by the arena. Allocations are 8-byte aligned. */
typedef struct arena_chunk arena_chunk;
typedef struct {
    arena_chunk *head;
    size_t total; /* bytes allocated from the system */
} arena;

void arena_init(arena *a);
void arena_free(arena *a);
/* Returns NULL on ENOMEM. */
void *arena_alloc(arena *a, size_t n);
void *arena_dup(arena *a, const void *p, size_t n);
/* Grows a typed array stored in the arena (old storage is abandoned, not freed). */
void *arena_grow(arena *a, void *old, size_t old_bytes, size_t new_bytes);

/* Little-endian loads/stores (unaligned safe). */
static inline uint32_t rd_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd_u64le(const uint8_t *p)
{
    return (uint64_t)rd_u32le(p) | (uint64_t)rd_u32le(p + 4) << 32;
}
static inline void wr_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void wr_u64le(uint8_t *p, uint64_t v)
{
    wr_u32le(p, (uint32_t)v);
    wr_u32le(p + 4, (uint32_t)(v >> 32));
}
/* Reads a LEB128 varint from [*p, end). Returns 0 or BRAID_EINVAL. */
int rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* CRC32C (Castagnoli), as used by the WAL and part files. crc32c uses the
 * CPU's instruction when it has one; crc32c_sw is the portable table version
 * (exposed so tests can check that both agree). */
uint32_t crc32c(uint32_t crc, const void *data, size_t n);
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t n);
bool crc32c_hw_available(void);

/* Clocks, in nanoseconds. */
uint64_t now_unix_ns(void);
uint64_t now_mono_ns(void);

/* Process logger, to stderr. Levels: 0 error, 1 warn, 2 info, 3 debug. */
extern int braid_log_level;
void braid_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define LOG_ERROR(...) braid_log(0, __VA_ARGS__)
#define LOG_WARN(...) braid_log(1, __VA_ARGS__)
#define LOG_INFO(...) braid_log(2, __VA_ARGS__)
#define LOG_DEBUG(...) braid_log(3, __VA_ARGS__)
/* Parses "error|warn|info|debug"; returns -1 if unknown. */
int braid_log_level_parse(const char *s);

/* Parses sizes like "512", "64k", "32MiB", "1g". Returns 0 or BRAID_EINVAL. */
int parse_size(const char *s, uint64_t *out);
/* Parses durations like "15m", "2h", "7d", "30s", "500ms" into ns. */
int parse_duration_ns(const char *s, uint64_t *out);

#endif

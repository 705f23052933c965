/* gzip: zlib-backed compression and bounded decompression (see gzip.h). The
 * output buffer is grown by hand rather than with buf_reserve, whose doubling
 * could overshoot the caller's limit: the capacity added here never exceeds the
 * bytes still allowed. Owns nothing beyond one call; never blocks. */
#include "gzip.h"

#include <limits.h>
#include <stdlib.h>
#include <zlib.h>

int gzip_format_from_encoding(bslice ce, gzip_format *out)
{
    while (ce.n && (ce.p[0] == ' ' || ce.p[0] == '\t')) {
        ce.p++;
        ce.n--;
    }
    while (ce.n && (ce.p[ce.n - 1] == ' ' || ce.p[ce.n - 1] == '\t'))
        ce.n--;
    if (ce.n == 0 || bslice_eq_nocase(ce, "identity"))
        return BRAID_ENOTFOUND;
    if (bslice_eq_nocase(ce, "gzip") || bslice_eq_nocase(ce, "x-gzip")) {
        *out = GZIP_FMT_GZIP;
        return 0;
    }
    if (bslice_eq_nocase(ce, "deflate")) {
        *out = GZIP_FMT_DEFLATE;
        return 0;
    }
    return BRAID_EUNSUPPORTED;
}

/* RFC 1950 header: CM 8, window at most 32 KiB, FCHECK makes it a multiple of 31. */
static bool looks_like_zlib(const uint8_t *in, size_t n)
{
    return n >= 2 && (in[0] & 0x0f) == 8 && (in[0] >> 4) <= 7 &&
           (((unsigned)in[0] << 8) | in[1]) % 31 == 0;
}

/* Makes room for more output: roughly doubles what was produced, never past
 * base + max_out. */
static int out_grow(buf *out, size_t base, size_t max_out, size_t hint)
{
    size_t used = out->n - base;
    size_t left = max_out - used;
    size_t want = used > hint ? used : hint;
    if (want > left)
        want = left;
    if (out->cap - out->n >= want)
        return 0;
    size_t cap = out->n + want;
    uint8_t *p = realloc(out->p, cap);
    if (!p)
        return BRAID_ENOMEM;
    out->p = p;
    out->cap = cap;
    return 0;
}

static void feed_input(z_stream *zs, const uint8_t **in, size_t *left)
{
    if (zs->avail_in == 0 && *left) {
        uInt take = *left > UINT_MAX ? UINT_MAX : (uInt)*left;
        zs->next_in = (Bytef *)(uintptr_t)*in;
        zs->avail_in = take;
        *in += take;
        *left -= take;
    }
}

/* Bytes of input not yet given to or not yet used by zlib. */
static size_t input_remaining(const z_stream *zs, size_t left)
{
    return zs->avail_in + left;
}

int gzip_decompress(gzip_format fmt, const uint8_t *in, size_t n, size_t max_out, buf *out)
{
    if (out->err)
        return out->err;
    int wbits;
    switch (fmt) {
    case GZIP_FMT_GZIP:
        wbits = 16 + MAX_WBITS;
        break;
    case GZIP_FMT_DEFLATE:
        wbits = looks_like_zlib(in, n) ? MAX_WBITS : -MAX_WBITS;
        break;
    case GZIP_FMT_RAW:
        wbits = -MAX_WBITS;
        break;
    default:
        return BRAID_EINVAL;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, wbits) != Z_OK)
        return BRAID_ENOMEM;

    size_t base = out->n;
    size_t hint = n < SIZE_MAX / 4 ? n * 4 : SIZE_MAX;
    if (hint < 4096)
        hint = 4096;
    if (hint > 1u << 20)
        hint = 1u << 20;
    const uint8_t *next = in;
    size_t left = n;
    int rc = 0;
    for (;;) {
        feed_input(&zs, &next, &left);
        size_t produced = out->n - base;
        uint8_t probe;
        bool probing = produced == max_out;
        if (probing) {
            /* at the limit: one more byte of output means the body is too big */
            zs.next_out = &probe;
            zs.avail_out = 1;
        } else {
            rc = out_grow(out, base, max_out, hint);
            if (rc)
                break;
            size_t room = out->cap - out->n;
            if (room > max_out - produced)
                room = max_out - produced;
            zs.next_out = out->p + out->n;
            zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        }
        uInt avail_before = zs.avail_out;
        int zr = inflate(&zs, Z_NO_FLUSH);
        size_t wrote = avail_before - zs.avail_out;
        if (probing && wrote) {
            rc = BRAID_ETOOBIG;
            break;
        }
        out->n += probing ? 0 : wrote;
        if (zr == Z_STREAM_END) {
            feed_input(&zs, &next, &left);
            if (input_remaining(&zs, left) == 0)
                break;
            /* another gzip member may follow; anything else is garbage */
            if (fmt != GZIP_FMT_GZIP || zs.avail_in < 2 || zs.next_in[0] != 0x1f ||
                zs.next_in[1] != 0x8b) {
                rc = BRAID_EINVAL;
                break;
            }
            if (inflateReset(&zs) != Z_OK) {
                rc = BRAID_EINVAL;
                break;
            }
            continue;
        }
        if (zr == Z_MEM_ERROR) {
            rc = BRAID_ENOMEM;
            break;
        }
        if (zr == Z_BUF_ERROR) {
            /* no progress: with room left to write, the input has run out */
            if (zs.avail_out != 0 && input_remaining(&zs, left) == 0) {
                rc = BRAID_EINVAL;
                break;
            }
            continue;
        }
        if (zr != Z_OK) {
            rc = BRAID_EINVAL;
            break;
        }
    }
    inflateEnd(&zs);
    if (rc)
        out->n = base;
    return rc;
}

int gzip_compress(gzip_format fmt, int level, const uint8_t *in, size_t n, buf *out)
{
    if (out->err)
        return out->err;
    if (level < -1 || level > 9)
        return BRAID_EINVAL;
    int wbits;
    switch (fmt) {
    case GZIP_FMT_GZIP:
        wbits = 16 + MAX_WBITS;
        break;
    case GZIP_FMT_DEFLATE:
        wbits = MAX_WBITS;
        break;
    case GZIP_FMT_RAW:
        wbits = -MAX_WBITS;
        break;
    default:
        return BRAID_EINVAL;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return BRAID_ENOMEM;
    size_t base = out->n;
    int rc = buf_reserve(out, deflateBound(&zs, n));
    const uint8_t *next = in;
    size_t left = n;
    while (rc == 0) {
        feed_input(&zs, &next, &left);
        if (out->cap == out->n && buf_reserve(out, 64 * 1024) != 0) {
            rc = BRAID_ENOMEM;
            break;
        }
        size_t room = out->cap - out->n;
        zs.next_out = out->p + out->n;
        zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        uInt avail_before = zs.avail_out;
        int zr = deflate(&zs, left ? Z_NO_FLUSH : Z_FINISH);
        out->n += avail_before - zs.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            rc = BRAID_ENOMEM;
    }
    deflateEnd(&zs);
    if (rc) {
        out->n = base;
        out->err = 0;
    }
    return rc;
}

/* pb: the protobuf wire reader and writer declared in pb.h. The reader checks
 * every length against the bytes it was given before it builds a slice, so a
 * caller can trust any slice it returns. The writer only appends to a buf.
 * Owns no memory of its own and keeps no state between calls. */
#include "pb.h"

#include <stdio.h>

void pb_reader_init(pb_reader *r, const uint8_t *p, size_t n)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->end = n ? p + n : p; /* never offset a NULL pointer */
}

/* Decodes a LEB128 varint of at most 10 bytes whose value fits 64 bits.
 * The one-byte case is inlined because tags and small integers dominate. */
static inline int get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    return rd_varint(pp, end, out);
}

static int fail(pb_reader *r, pb_error e, const uint8_t *at, uint32_t field, unsigned wire,
                uint64_t len, size_t left)
{
    r->err = e;
    r->err_at = at;
    r->err_field = field;
    r->err_wire = (uint8_t)wire;
    r->err_len = len;
    r->err_left = left;
    return BRAID_EINVAL;
}

int pb_next(pb_reader *r, pb_field *f)
{
    if (r->err)
        return BRAID_EINVAL;
    if (r->p >= r->end)
        return 0;
    const uint8_t *at = r->p;
    uint64_t tag;
    if (get_varint(&r->p, r->end, &tag) || tag > UINT32_MAX)
        return fail(r, PB_ERR_TAG, at, 0, 0, 0, (size_t)(r->end - at));
    uint32_t num = (uint32_t)(tag >> 3);
    unsigned wire = (unsigned)(tag & 7);
    if (num == 0)
        return fail(r, PB_ERR_FIELD_ZERO, at, 0, wire, 0, (size_t)(r->end - at));
    size_t left = (size_t)(r->end - r->p);
    f->num = num;
    f->wire = (uint8_t)wire;
    f->v = 0;
    f->s = (bslice){NULL, 0};
    switch (wire) {
    case PB_VARINT:
        if (get_varint(&r->p, r->end, &f->v))
            return fail(r, PB_ERR_VARINT, at, num, wire, 0, left);
        return 1;
    case PB_I64:
        if (left < 8)
            return fail(r, PB_ERR_FIXED, at, num, wire, 8, left);
        f->v = rd_u64le(r->p);
        r->p += 8;
        return 1;
    case PB_I32:
        if (left < 4)
            return fail(r, PB_ERR_FIXED, at, num, wire, 4, left);
        f->v = rd_u32le(r->p);
        r->p += 4;
        return 1;
    case PB_LEN: {
        uint64_t len;
        if (get_varint(&r->p, r->end, &len))
            return fail(r, PB_ERR_VARINT, at, num, wire, 0, left);
        left = (size_t)(r->end - r->p);
        if (len > left)
            return fail(r, PB_ERR_LENGTH, at, num, wire, len, left);
        f->s = (bslice){r->p, (size_t)len};
        r->p += len;
        return 1;
    }
    case PB_SGROUP:
    case PB_EGROUP:
        return fail(r, PB_ERR_GROUP, at, num, wire, 0, left);
    default:
        return fail(r, PB_ERR_WIRE_TYPE, at, num, wire, 0, left);
    }
}

int pb_read_varint(pb_reader *r, uint64_t *v)
{
    if (r->err)
        return BRAID_EINVAL;
    if (r->p >= r->end)
        return 0;
    const uint8_t *at = r->p;
    if (get_varint(&r->p, r->end, v))
        return fail(r, PB_ERR_VARINT, at, 0, PB_VARINT, 0, (size_t)(r->end - at));
    return 1;
}

int pb_read_fixed64(pb_reader *r, uint64_t *v)
{
    if (r->err)
        return BRAID_EINVAL;
    if (r->p >= r->end)
        return 0;
    size_t left = (size_t)(r->end - r->p);
    if (left < 8)
        return fail(r, PB_ERR_PACKED, r->p, 0, PB_I64, 8, left);
    *v = rd_u64le(r->p);
    r->p += 8;
    return 1;
}

int pb_read_fixed32(pb_reader *r, uint32_t *v)
{
    if (r->err)
        return BRAID_EINVAL;
    if (r->p >= r->end)
        return 0;
    size_t left = (size_t)(r->end - r->p);
    if (left < 4)
        return fail(r, PB_ERR_PACKED, r->p, 0, PB_I32, 4, left);
    *v = rd_u32le(r->p);
    r->p += 4;
    return 1;
}

const char *pb_wire_name(unsigned wire)
{
    switch (wire) {
    case PB_VARINT:
        return "varint";
    case PB_I64:
        return "fixed64";
    case PB_LEN:
        return "length-delimited";
    case PB_SGROUP:
        return "start-group";
    case PB_EGROUP:
        return "end-group";
    case PB_I32:
        return "fixed32";
    case 6:
        return "wire type 6";
    case 7:
        return "wire type 7";
    default:
        return "unknown wire type";
    }
}

const char *pb_reader_strerror(const pb_reader *r, char *out, size_t outlen)
{
    if (outlen == 0)
        return out;
    unsigned long long len = (unsigned long long)r->err_len;
    unsigned long long left = (unsigned long long)r->err_left;
    switch (r->err) {
    case PB_ERR_NONE:
        snprintf(out, outlen, "no error");
        break;
    case PB_ERR_TAG:
        snprintf(out, outlen, "truncated or invalid field tag");
        break;
    case PB_ERR_FIELD_ZERO:
        snprintf(out, outlen, "field number 0 is invalid");
        break;
    case PB_ERR_GROUP:
        snprintf(out, outlen, "groups (wire type %u) are not supported", r->err_wire);
        break;
    case PB_ERR_WIRE_TYPE:
        snprintf(out, outlen, "invalid wire type %u", r->err_wire);
        break;
    case PB_ERR_VARINT:
        snprintf(out, outlen, "%s",
                 r->err_wire == PB_LEN ? "truncated or invalid length varint"
                                       : "truncated or invalid varint");
        break;
    case PB_ERR_FIXED:
        snprintf(out, outlen, "%s needs %llu bytes, %llu left", pb_wire_name(r->err_wire), len,
                 left);
        break;
    case PB_ERR_LENGTH:
        snprintf(out, outlen, "length %llu past end of message (%llu bytes left)", len, left);
        break;
    case PB_ERR_PACKED:
        snprintf(out, outlen, "packed %s array length is not a multiple of %llu (%llu left over)",
                 pb_wire_name(r->err_wire), len, left);
        break;
    }
    return out;
}

/* ---- writer ---- */

void pb_put_tag(buf *b, uint32_t field, unsigned wire)
{
    buf_put_varint(b, (uint64_t)field << 3 | (wire & 7));
}

void pb_put_uint64(buf *b, uint32_t field, uint64_t v)
{
    pb_put_tag(b, field, PB_VARINT);
    buf_put_varint(b, v);
}

void pb_put_int64(buf *b, uint32_t field, int64_t v)
{
    pb_put_tag(b, field, PB_VARINT);
    buf_put_varint(b, (uint64_t)v);
}

void pb_put_sint64(buf *b, uint32_t field, int64_t v)
{
    pb_put_tag(b, field, PB_VARINT);
    buf_put_varint(b, pb_zigzag_enc64(v));
}

void pb_put_bool(buf *b, uint32_t field, bool v)
{
    pb_put_tag(b, field, PB_VARINT);
    buf_putc(b, v ? 1 : 0);
}

void pb_put_fixed64(buf *b, uint32_t field, uint64_t v)
{
    pb_put_tag(b, field, PB_I64);
    buf_put_u64le(b, v);
}

void pb_put_double(buf *b, uint32_t field, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    pb_put_fixed64(b, field, bits);
}

void pb_put_fixed32(buf *b, uint32_t field, uint32_t v)
{
    pb_put_tag(b, field, PB_I32);
    buf_put_u32le(b, v);
}

void pb_put_float(buf *b, uint32_t field, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    pb_put_fixed32(b, field, bits);
}

void pb_put_bytes(buf *b, uint32_t field, const void *p, size_t n)
{
    pb_put_tag(b, field, PB_LEN);
    buf_put_varint(b, n);
    buf_append(b, p, n);
}

void pb_put_slice(buf *b, uint32_t field, bslice s)
{
    pb_put_bytes(b, field, s.p, s.n);
}

void pb_put_string(buf *b, uint32_t field, const char *s)
{
    pb_put_bytes(b, field, s, s ? strlen(s) : 0);
}

void pb_put_packed_varint(buf *b, uint32_t field, const uint64_t *v, size_t n)
{
    size_t pos = pb_begin(b, field);
    for (size_t i = 0; i < n; i++)
        buf_put_varint(b, v[i]);
    pb_end(b, pos);
}

void pb_put_packed_fixed64(buf *b, uint32_t field, const uint64_t *v, size_t n)
{
    pb_put_tag(b, field, PB_LEN);
    buf_put_varint(b, (uint64_t)n * 8);
    for (size_t i = 0; i < n; i++)
        buf_put_u64le(b, v[i]);
}

void pb_put_packed_double(buf *b, uint32_t field, const double *v, size_t n)
{
    pb_put_tag(b, field, PB_LEN);
    buf_put_varint(b, (uint64_t)n * 8);
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        buf_put_u64le(b, bits);
    }
}

size_t pb_begin(buf *b, uint32_t field)
{
    pb_put_tag(b, field, PB_LEN);
    size_t pos = b->n;
    buf_putc(b, 0);
    return pos;
}

void pb_end(buf *b, size_t pos)
{
    if (b->err || pos >= b->n)
        return;
    size_t len = b->n - pos - 1;
    size_t width = 1;
    for (uint64_t v = len; v >= 0x80; v >>= 7)
        width++;
    if (width > 1) {
        if (buf_reserve(b, width - 1))
            return;
        memmove(b->p + pos + width, b->p + pos + 1, len);
        b->n += width - 1;
    }
    uint64_t v = len;
    uint8_t *q = b->p + pos;
    while (v >= 0x80) {
        *q++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *q = (uint8_t)v;
}

/* pb: protobuf wire format. A zero-copy reader over a complete message in memory
 * (sans-I/O: it never allocates and never reads past the bytes it was given; a
 * length-delimited value is a slice into the input) and a writer that appends
 * to a util `buf`. Knows nothing of any schema: callers map field numbers.
 * Never copies input bytes, never recurses, never calls exit. */
#ifndef BRAID_PB_H
#define BRAID_PB_H

#include "../util/util.h"

/* Wire types. 3 and 4 (groups) are deprecated and rejected; 6 and 7 do not exist. */
enum {
    PB_VARINT = 0,
    PB_I64 = 1,
    PB_LEN = 2,
    PB_SGROUP = 3,
    PB_EGROUP = 4,
    PB_I32 = 5,
};

/* Largest field number the format allows (2^29 - 1). */
#define PB_FIELD_MAX 536870911u

/* Why a reader stopped (pb_reader.err). */
typedef enum {
    PB_ERR_NONE = 0,
    PB_ERR_TAG,        /* tag is a truncated or over-long varint, or above 2^32 */
    PB_ERR_FIELD_ZERO, /* field number 0 */
    PB_ERR_GROUP,      /* wire type 3 or 4 */
    PB_ERR_WIRE_TYPE,  /* wire type 6 or 7 */
    PB_ERR_VARINT,     /* value varint truncated or longer than 10 bytes */
    PB_ERR_FIXED,      /* fewer than 4/8 bytes left for a fixed32/fixed64 */
    PB_ERR_LENGTH,     /* length-delimited value runs past the end */
    PB_ERR_PACKED,     /* packed fixed-width array whose length is not a multiple */
} pb_error;

/* One field as read. For PB_VARINT, PB_I64 and PB_I32, `v` holds the raw
 * value (fixed-width values decoded from little-endian); for PB_LEN, `s` is
 * the payload, a slice into the reader's input. */
typedef struct {
    uint32_t num;
    uint8_t wire;
    uint64_t v;
    bslice s;
} pb_field;

/* Reader state. Errors are sticky: after the first one every call fails
 * again. The err_* members describe the failure for messages. */
typedef struct {
    const uint8_t *p, *end;
    pb_error err;
    uint32_t err_field;    /* field whose value was bad; 0 if the tag itself was */
    uint8_t err_wire;      /* wire type of that tag */
    uint64_t err_len;      /* declared length (LENGTH); element width (FIXED, PACKED) */
    size_t err_left;       /* bytes that were left when the failure happened */
    const uint8_t *err_at; /* where the failing tag (or packed element) starts */
} pb_reader;

void pb_reader_init(pb_reader *r, const uint8_t *p, size_t n);
static inline void pb_reader_init_slice(pb_reader *r, bslice s)
{
    pb_reader_init(r, s.p, s.n);
}

/* Reads the next field. Returns 1 with *f filled, 0 at the end of the input,
 * or BRAID_EINVAL when the input is malformed (r->err says how). Unknown fields
 * need no special handling: every valid wire type is read whole, so a caller
 * skips a field by ignoring it. A message is complete in memory, so running
 * out of bytes is malformed, never "need more". */
int pb_next(pb_reader *r, pb_field *f);

/* Element readers for packed repeated fields: initialise a reader over the
 * PB_LEN payload and call one of these until it returns 0. Each returns 1 with
 * a value, 0 at the end, BRAID_EINVAL when the payload is malformed. */
int pb_read_varint(pb_reader *r, uint64_t *v);
int pb_read_fixed64(pb_reader *r, uint64_t *v);
int pb_read_fixed32(pb_reader *r, uint32_t *v);

/* Writes a one-line reason for r's failure ("length 300 past end of message
 * (12 bytes left)") into out, always NUL-terminated. Returns out. */
const char *pb_reader_strerror(const pb_reader *r, char *out, size_t outlen);
/* "varint", "fixed64", "length-delimited", "fixed32", or "wire type N" text
 * for the invalid ones (static strings). */
const char *pb_wire_name(unsigned wire);

/* Value conversions, with the semantics protoc-generated code has. */
static inline int64_t pb_zigzag_dec64(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}
static inline int32_t pb_zigzag_dec32(uint32_t v)
{
    return (int32_t)(v >> 1) ^ -(int32_t)(v & 1);
}
static inline uint64_t pb_zigzag_enc64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v < 0 ? -1 : 0);
}
static inline uint32_t pb_zigzag_enc32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v < 0 ? -1 : 0);
}
static inline double pb_bits_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}
static inline float pb_bits_float(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}
/* int32/enum fields carry negative values as 10-byte varints; protobuf
 * truncates to the low 32 bits, and so do we. */
static inline int32_t pb_as_int32(uint64_t v)
{
    return (int32_t)(uint32_t)v;
}

/* ---------------------------------------------------------------------------
 * Writer. Every function appends to b; errors (ENOMEM) accumulate in b->err,
 * so a whole message can be written and checked once at the end. Each writes
 * the field even when the value is the proto3 default: the caller decides
 * what to omit. Output is canonical (minimal varints), so it compares equal
 * byte for byte with what the official encoders emit.
 *
 * Nested messages: pos = pb_begin(b, field); ...write the fields...;
 * pb_end(b, pos). pb_begin writes the tag and reserves one length byte;
 * pb_end writes the length and, when the payload is 128 bytes or more, moves
 * it forward to make room for a longer varint. Begin/end pairs must nest
 * (last begun, first ended). The move costs one memmove per enclosing level
 * for large messages, which keeps small messages (the common case) free of
 * any copy and the output canonical.
 * ------------------------------------------------------------------------- */
void pb_put_tag(buf *b, uint32_t field, unsigned wire);
void pb_put_uint64(buf *b, uint32_t field, uint64_t v); /* uint64, uint32, enum >= 0 */
void pb_put_int64(buf *b, uint32_t field, int64_t v);   /* int64, int32, enum (sign-extended) */
void pb_put_sint64(buf *b, uint32_t field, int64_t v);  /* sint64 and sint32 (zigzag) */
void pb_put_bool(buf *b, uint32_t field, bool v);
void pb_put_fixed64(buf *b, uint32_t field, uint64_t v); /* fixed64, sfixed64 (cast) */
void pb_put_double(buf *b, uint32_t field, double v);
void pb_put_fixed32(buf *b, uint32_t field, uint32_t v); /* fixed32, sfixed32 (cast) */
void pb_put_float(buf *b, uint32_t field, float v);
void pb_put_bytes(buf *b, uint32_t field, const void *p, size_t n); /* bytes, string, message */
void pb_put_slice(buf *b, uint32_t field, bslice s);
void pb_put_string(buf *b, uint32_t field, const char *s); /* NUL-terminated; NULL = "" */
/* Packed repeated scalars (one PB_LEN field holding every element). */
void pb_put_packed_varint(buf *b, uint32_t field, const uint64_t *v, size_t n);
void pb_put_packed_fixed64(buf *b, uint32_t field, const uint64_t *v, size_t n);
void pb_put_packed_double(buf *b, uint32_t field, const double *v, size_t n);
/* Nested message (or any length-delimited value built in place). */
size_t pb_begin(buf *b, uint32_t field);
void pb_end(buf *b, size_t pos);

#endif

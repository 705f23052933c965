/* json: a strict RFC 8259 reader. Parses a whole document in one pass into a
 * flat array of nodes (in a caller's arena) whose strings and numbers are
 * slices of the input, so reading a document copies nothing until a caller
 * asks for an unescaped string. Sans-I/O and iterative: nesting is bounded
 * by a caller's depth limit, never by the C stack. Never writes JSON (that is
 * json_put_str and friends in model/model.h). */
#ifndef BRAID_JSON_H
#define BRAID_JSON_H

#include "../util/util.h"

typedef enum {
    JSON_NULL = 0,
    JSON_FALSE = 1,
    JSON_TRUE = 2,
    JSON_NUMBER = 3,
    JSON_STRING = 4,
    JSON_ARRAY = 5,
    JSON_OBJECT = 6,
} json_type;

/* Node flags. */
#define JSON_F_ESCAPED 0x01 /* string: contains backslash escapes */

/* One value of a parsed document, in document order (pre-order). An object's
 * members are stored as a key node (JSON_STRING) immediately followed by the
 * value's subtree. */
typedef struct {
    uint8_t type;   /* json_type */
    uint8_t flags;  /* JSON_F_* */
    uint32_t off;   /* byte offset of the text: for strings, just after the opening quote */
    uint32_t len;   /* text length: strings exclude the quotes, containers include brackets */
    uint32_t end;   /* index of the first node after this subtree (the next sibling) */
    uint32_t count; /* arrays: elements; objects: members; scalars: 0 */
} json_node;

/* A parsed document. Node 0 is the root. `src` is the caller's input (which
 * must outlive every slice taken from the document); `nodes` lives in the
 * arena given to json_parse. */
typedef struct {
    const uint8_t *src;
    size_t len;
    json_node *nodes;
    uint32_t n;
} json_doc;

/* "No node": returned by lookups that find nothing. */
#define JSON_NONE UINT32_MAX

/* Parses src[0..n) as exactly one JSON value with optional surrounding
 * whitespace. Rejects what RFC 8259 rejects (trailing commas, leading zeros,
 * unescaped control characters, invalid escapes, lone surrogates in \u
 * escapes, invalid UTF-8 anywhere, a byte-order mark, trailing garbage) and
 * containers nested deeper than max_depth (0 means no container at all).
 * Returns 0; BRAID_EINVAL with a reason such as
 *   "invalid JSON at byte 17: expected ',' or '}'"
 * in err (always NUL-terminated when errlen > 0; err may be NULL);
 * BRAID_ETOOBIG when n does not fit the 32-bit offsets (4 GiB);
 * BRAID_ENOMEM. Nodes are allocated in `ar` and freed with it; on error the
 * document is left empty (n == 0). */
int json_parse(json_doc *doc, const uint8_t *src, size_t n, unsigned max_depth, arena *ar,
               char *err, size_t errlen);

/* Every accessor below takes JSON_NONE (or any index past the end) and reads
 * it as an absent value: type JSON_NULL, no children, no text, getters fail
 * with BRAID_EINVAL. So a lookup result can be passed on without a check. */
static inline json_type json_type_of(const json_doc *d, uint32_t i)
{
    return i < d->n ? (json_type)d->nodes[i].type : JSON_NULL;
}
/* Index of the node after i's subtree: its next sibling in an array, or the
 * next key in an object. */
static inline uint32_t json_next(const json_doc *d, uint32_t i)
{
    return i < d->n ? d->nodes[i].end : JSON_NONE;
}
/* Number of elements (array) or members (object); 0 for scalars. */
static inline uint32_t json_count(const json_doc *d, uint32_t i)
{
    return i < d->n ? d->nodes[i].count : 0;
}
/* Byte offset of node i in the input (strings: just after the quote). */
static inline uint32_t json_offset(const json_doc *d, uint32_t i)
{
    return i < d->n ? d->nodes[i].off : 0;
}
/* The raw text of node i: a number as written, a string between its quotes
 * with escapes left in, a whole container including its brackets. */
static inline bslice json_raw(const json_doc *d, uint32_t i)
{
    if (i >= d->n)
        return (bslice){(const uint8_t *)"", 0};
    return (bslice){d->src + d->nodes[i].off, d->nodes[i].len};
}
static inline bool json_is_null(const json_doc *d, uint32_t i)
{
    return json_type_of(d, i) == JSON_NULL;
}

/* Iterates the elements of an array or the members of an object:
 *   json_iter it; json_iter_init(&it, d, obj);
 *   uint32_t k, v; while (json_iter_next(&it, &k, &v)) ...
 * For arrays *key is JSON_NONE. A scalar iterates as empty. */
typedef struct {
    const json_doc *d;
    uint32_t cur, left;
    bool object;
} json_iter;
void json_iter_init(json_iter *it, const json_doc *d, uint32_t container);
bool json_iter_next(json_iter *it, uint32_t *key, uint32_t *val);

/* Whether string node i, once unescaped, equals s. False for non-strings. */
bool json_str_eq(const json_doc *d, uint32_t i, bslice s);
/* Looks a key up in object node obj. Returns the value of the last member
 * with that key (as JavaScript's JSON.parse keeps), or JSON_NONE when the key
 * is absent or obj is not an object. Linear in the number of members. */
uint32_t json_obj_get(const json_doc *d, uint32_t obj, const char *key);
/* Element idx of array node arr, or JSON_NONE. Linear in idx. */
uint32_t json_arr_get(const json_doc *d, uint32_t arr, uint32_t idx);

/* The unescaped value of string node i. Without escapes it is a slice of the
 * input (no copy); with escapes it is decoded (\u escapes and surrogate pairs to
 * UTF-8) into memory from `ar`, owned by the arena. Returns 0, BRAID_EINVAL
 * when i is not a string, BRAID_ENOMEM. */
int json_str(const json_doc *d, uint32_t i, arena *ar, bslice *out);
/* Appends the unescaped value of string node i to out (check out->err for
 * ENOMEM). Returns 0 or BRAID_EINVAL when i is not a string. */
int json_str_buf(const json_doc *d, uint32_t i, buf *out);

/* Boolean node. 0 or BRAID_EINVAL. */
int json_get_bool(const json_doc *d, uint32_t i, bool *out);
/* Exact integers from a number (1, -7, 1e3, 2.50e1) or from a string holding
 * such a number ("123", as the protobuf JSON mapping writes 64-bit values).
 * Returns 0; BRAID_EINVAL when the node is not an integral number;
 * BRAID_ETOOBIG when the integer does not fit. */
int json_get_i64(const json_doc *d, uint32_t i, int64_t *out);
int json_get_u64(const json_doc *d, uint32_t i, uint64_t *out);
/* A double from a number, from a string holding a number, or from the
 * strings "NaN", "Infinity" and "-Infinity". Parsing is locale-independent
 * and correctly rounded. Returns 0; BRAID_EINVAL when not a number;
 * BRAID_ETOOBIG when a finite number overflows a double. */
int json_get_double(const json_doc *d, uint32_t i, double *out);

/* The same conversions over bare text (not a node): s must be exactly one
 * JSON number (json_parse_double also takes the three special strings). */
int json_parse_i64(bslice s, int64_t *out);
int json_parse_u64(bslice s, uint64_t *out);
int json_parse_double(bslice s, double *out);

#endif

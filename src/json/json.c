/* json: the strict JSON reader declared in json.h. One iterative pass over the
 * input validates it (grammar, UTF-8, escapes) and records a pre-order node
 * array; every later accessor trusts that validation, so unescaping never
 * re-checks. Owns nothing: nodes and decoded strings live in caller arenas.
 * Must never recurse over the input (depth is data, not stack). */
#include "json.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- parsing ---- */

typedef struct {
    const uint8_t *s;
    size_t n, pos;
    json_node *nodes;
    uint32_t nn, cap;
    uint32_t *stack; /* indexes of the open containers */
    uint32_t depth, scap;
    arena *ar;
    char *err;
    size_t errlen;
} parser;

static int perr(parser *p, size_t at, const char *what)
{
    if (p->err && p->errlen)
        snprintf(p->err, p->errlen, "invalid JSON at byte %zu: %s", at, what);
    return BRAID_EINVAL;
}

static inline bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static inline void skip_ws(parser *p)
{
    while (p->pos < p->n && is_ws(p->s[p->pos]))
        p->pos++;
}

static int new_node(parser *p, json_type type, size_t off, uint32_t *idx)
{
    if (p->nn == p->cap) {
        /* The input is < 4 GiB and every node consumes at least one byte, so
         * the count cannot wrap; doubling wastes at most the final size. */
        size_t ncap = (size_t)p->cap * 2;
        if (ncap > UINT32_MAX)
            ncap = UINT32_MAX;
        json_node *nodes =
            arena_grow(p->ar, p->nodes, (size_t)p->cap * sizeof *nodes, ncap * sizeof *nodes);
        if (!nodes)
            return BRAID_ENOMEM;
        p->nodes = nodes;
        p->cap = (uint32_t)ncap;
    }
    json_node *x = &p->nodes[p->nn];
    x->type = (uint8_t)type;
    x->flags = 0;
    x->off = (uint32_t)off;
    x->len = 0;
    x->end = p->nn + 1;
    x->count = 0;
    *idx = p->nn++;
    return 0;
}

static int push(parser *p, uint32_t idx)
{
    if (p->depth == p->scap) {
        size_t ncap = p->scap ? (size_t)p->scap * 2 : 32;
        if (ncap > UINT32_MAX)
            ncap = UINT32_MAX;
        uint32_t *st = arena_grow(p->ar, p->stack, (size_t)p->scap * sizeof *st, ncap * sizeof *st);
        if (!st)
            return BRAID_ENOMEM;
        p->stack = st;
        p->scap = (uint32_t)ncap;
    }
    p->stack[p->depth++] = idx;
    return 0;
}

/* Length of the valid UTF-8 sequence at s (Unicode 15, table 3-7: no
 * overlongs, no surrogates, nothing past U+10FFFF), or 0 if invalid. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c < 0xF0) {
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        if (n < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
            return 0;
        return 3;
    }
    if (c > 0xF4)
        return 0;
    if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
        return 0;
    return 4;
}

static int hex4(const uint8_t *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = s[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    return v;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero when any byte of w is '"', '\\', a control character or non-ASCII:
 * the bytes a string scan must look at one by one. */
static inline uint64_t needs_care(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
    return ((q - ONES) & ~q) | ((b - ONES) & ~b) | (w - ONES * 0x20) | w;
}

/* Scans the string whose opening quote is at p->pos; leaves pos after the
 * closing quote. */
static int scan_string(parser *p, uint8_t *flags)
{
    const uint8_t *s = p->s;
    size_t n = p->n, i = p->pos + 1;
    for (;;) {
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (needs_care(w) & HIGHS)
                break;
            i += 8;
        }
        if (i >= n)
            return perr(p, i, "unterminated string");
        uint8_t c = s[i];
        if (c == '"') {
            p->pos = i + 1;
            return 0;
        }
        if (c == '\\') {
            if (i + 1 >= n)
                return perr(p, i, "unterminated string");
            *flags |= JSON_F_ESCAPED;
            switch (s[i + 1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                i += 2;
                continue;
            case 'u':
                break;
            default:
                return perr(p, i, "invalid escape in string");
            }
            int cp = n - i >= 6 ? hex4(s + i + 2) : -1;
            if (cp < 0)
                return perr(p, i, "invalid \\u escape");
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return perr(p, i, "lone surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                int lo = n - i >= 12 && s[i + 6] == '\\' && s[i + 7] == 'u' ? hex4(s + i + 8) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return perr(p, i, "lone surrogate in \\u escape");
                i += 6;
            }
            i += 6;
            continue;
        }
        if (c < 0x20)
            return perr(p, i, "control character in string");
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t l = utf8_len(s + i, n - i);
        if (!l)
            return perr(p, i, "invalid UTF-8 in string");
        i += l;
    }
}

/* Checks the number grammar of RFC 8259 section 6 on s[start..n); returns the
 * end of the number or, on error, SIZE_MAX with *at and *why set. */
static size_t number_end(const uint8_t *s, size_t n, size_t start, size_t *at, const char **why)
{
    size_t i = start;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n || !is_digit(s[i])) {
        *at = i;
        *why = "expected a digit";
        return SIZE_MAX;
    }
    if (s[i] == '0') {
        i++;
        if (i < n && is_digit(s[i])) {
            *at = i;
            *why = "leading zero in number";
            return SIZE_MAX;
        }
    } else {
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i])) {
            *at = i;
            *why = "expected a digit after '.'";
            return SIZE_MAX;
        }
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i])) {
            *at = i;
            *why = "expected a digit in exponent";
            return SIZE_MAX;
        }
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i;
}

static int scan_literal(parser *p, const char *lit, size_t l)
{
    if (p->n - p->pos < l || memcmp(p->s + p->pos, lit, l) != 0)
        return perr(p, p->pos, "invalid literal");
    p->pos += l;
    return 0;
}

/* Parses one scalar starting at p->pos (already known not to be '{' or '['). */
static int scan_scalar(parser *p)
{
    uint32_t idx;
    int rc;
    size_t start = p->pos;
    switch (p->s[start]) {
    case '"': {
        if ((rc = new_node(p, JSON_STRING, start + 1, &idx)))
            return rc;
        uint8_t flags = 0;
        if ((rc = scan_string(p, &flags)))
            return rc;
        p->nodes[idx].flags = flags;
        p->nodes[idx].len = (uint32_t)(p->pos - 1 - (start + 1));
        return 0;
    }
    case 't':
        if ((rc = new_node(p, JSON_TRUE, start, &idx)) || (rc = scan_literal(p, "true", 4)))
            return rc;
        break;
    case 'f':
        if ((rc = new_node(p, JSON_FALSE, start, &idx)) || (rc = scan_literal(p, "false", 5)))
            return rc;
        break;
    case 'n':
        if ((rc = new_node(p, JSON_NULL, start, &idx)) || (rc = scan_literal(p, "null", 4)))
            return rc;
        break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': {
        if ((rc = new_node(p, JSON_NUMBER, start, &idx)))
            return rc;
        size_t at;
        const char *why;
        size_t end = number_end(p->s, p->n, start, &at, &why);
        if (end == SIZE_MAX)
            return perr(p, at, why);
        p->pos = end;
        break;
    }
    default:
        return perr(p, start, "expected a value");
    }
    p->nodes[idx].len = (uint32_t)(p->pos - start);
    return 0;
}

static int parse(parser *p, unsigned max_depth)
{
    int rc;
    uint32_t idx;

value:
    skip_ws(p);
    if (p->pos >= p->n)
        return perr(p, p->pos, p->nn == 0 ? "empty input" : "unexpected end of input");
    {
        uint8_t c = p->s[p->pos];
        if (c == '{' || c == '[') {
            if (p->depth >= max_depth) {
                char why[64];
                snprintf(why, sizeof why, "nesting deeper than %u levels", max_depth);
                return perr(p, p->pos, why);
            }
            if ((rc = new_node(p, c == '{' ? JSON_OBJECT : JSON_ARRAY, p->pos, &idx)) ||
                (rc = push(p, idx)))
                return rc;
            p->pos++;
            skip_ws(p);
            if (p->pos < p->n && p->s[p->pos] == (c == '{' ? '}' : ']'))
                goto close;
            if (c == '{')
                goto key;
            goto value;
        }
        if ((rc = scan_scalar(p)))
            return rc;
        goto after;
    }

key:
    skip_ws(p);
    if (p->pos >= p->n)
        return perr(p, p->pos, "unexpected end of input");
    if (p->s[p->pos] != '"')
        return perr(p, p->pos, "expected a string key");
    if ((rc = scan_scalar(p)))
        return rc;
    skip_ws(p);
    if (p->pos >= p->n || p->s[p->pos] != ':')
        return perr(p, p->pos, "expected ':'");
    p->pos++;
    goto value;

close : {
    /* p->pos is at the closing bracket of the innermost open container. */
    json_node *top = &p->nodes[p->stack[--p->depth]];
    top->len = (uint32_t)(p->pos + 1 - top->off);
    top->end = p->nn;
    p->pos++;
}

after:
    if (p->depth == 0) {
        skip_ws(p);
        if (p->pos != p->n)
            return perr(p, p->pos, "unexpected characters after the JSON value");
        return 0;
    }
    {
        json_node *top = &p->nodes[p->stack[p->depth - 1]];
        bool obj = top->type == JSON_OBJECT;
        top->count++;
        skip_ws(p);
        if (p->pos >= p->n)
            return perr(p, p->pos, "unexpected end of input");
        uint8_t c = p->s[p->pos];
        if (c == ',') {
            p->pos++;
            if (obj)
                goto key;
            goto value;
        }
        if (c == (obj ? '}' : ']'))
            goto close;
        return perr(p, p->pos, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

int json_parse(json_doc *doc, const uint8_t *src, size_t n, unsigned max_depth, arena *ar,
               char *err, size_t errlen)
{
    memset(doc, 0, sizeof *doc);
    if (err && errlen)
        err[0] = 0;
    if (n >= UINT32_MAX) {
        if (err && errlen)
            snprintf(err, errlen, "JSON document of %zu bytes is over the 4 GiB limit", n);
        return BRAID_ETOOBIG;
    }
    parser p = {.s = src, .n = n, .ar = ar, .err = err, .errlen = errlen};
    /* Typical documents hold one node per 8-16 bytes; start near that. */
    size_t cap = n / 12 + 16;
    p.nodes = arena_alloc(ar, cap * sizeof *p.nodes);
    if (!p.nodes)
        return BRAID_ENOMEM;
    p.cap = (uint32_t)cap;
    int rc = parse(&p, max_depth);
    if (rc)
        return rc;
    doc->src = src;
    doc->len = n;
    doc->nodes = p.nodes;
    doc->n = p.nn;
    return 0;
}

/* ---- navigation ---- */

void json_iter_init(json_iter *it, const json_doc *d, uint32_t container)
{
    json_type t = json_type_of(d, container);
    it->d = d;
    it->cur = container + 1;
    it->object = t == JSON_OBJECT;
    it->left = t == JSON_OBJECT || t == JSON_ARRAY ? d->nodes[container].count : 0;
}

bool json_iter_next(json_iter *it, uint32_t *key, uint32_t *val)
{
    if (it->left == 0)
        return false;
    it->left--;
    if (it->object) {
        *key = it->cur;
        *val = it->cur + 1;
    } else {
        *key = JSON_NONE;
        *val = it->cur;
    }
    it->cur = it->d->nodes[*val].end;
    return true;
}

/* Writes code point cp as UTF-8; returns the byte count. */
static size_t utf8_put(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escape sequence at r[*i] (already validated by the parser)
 * into o; advances *i and returns the number of bytes written. */
static size_t unescape_one(const uint8_t *r, size_t *i, uint8_t o[4])
{
    uint8_t c = r[*i + 1];
    *i += 2;
    switch (c) {
    case 'b':
        o[0] = '\b';
        return 1;
    case 'f':
        o[0] = '\f';
        return 1;
    case 'n':
        o[0] = '\n';
        return 1;
    case 'r':
        o[0] = '\r';
        return 1;
    case 't':
        o[0] = '\t';
        return 1;
    case 'u':
        break;
    default:
        o[0] = c;
        return 1;
    }
    uint32_t cp = (uint32_t)hex4(r + *i);
    *i += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t lo = (uint32_t)hex4(r + *i + 2);
        *i += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return utf8_put(o, cp);
}

/* Unescapes a validated raw string into out (room for n bytes suffices:
 * every escape is at least as long as what it decodes to). */
static size_t unescape(const uint8_t *r, size_t n, uint8_t *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        const uint8_t *bs = memchr(r + i, '\\', n - i);
        size_t run = bs ? (size_t)(bs - (r + i)) : n - i;
        memcpy(out + o, r + i, run);
        o += run;
        i += run;
        if (i < n)
            o += unescape_one(r, &i, out + o);
    }
    return o;
}

bool json_str_eq(const json_doc *d, uint32_t i, bslice s)
{
    if (json_type_of(d, i) != JSON_STRING)
        return false;
    const json_node *x = &d->nodes[i];
    const uint8_t *r = d->src + x->off;
    if (!(x->flags & JSON_F_ESCAPED))
        return x->len == s.n && (s.n == 0 || memcmp(r, s.p, s.n) == 0);
    size_t j = 0, k = 0;
    while (j < x->len) {
        if (r[j] != '\\') {
            if (k >= s.n || s.p[k] != r[j])
                return false;
            j++;
            k++;
            continue;
        }
        uint8_t tmp[4];
        size_t l = unescape_one(r, &j, tmp);
        if (s.n - k < l || memcmp(s.p + k, tmp, l) != 0)
            return false;
        k += l;
    }
    return k == s.n;
}

uint32_t json_obj_get(const json_doc *d, uint32_t obj, const char *key)
{
    bslice k = bslice_cstr(key);
    uint32_t found = JSON_NONE, kn, vn;
    json_iter it;
    if (json_type_of(d, obj) != JSON_OBJECT)
        return JSON_NONE;
    json_iter_init(&it, d, obj);
    while (json_iter_next(&it, &kn, &vn))
        if (json_str_eq(d, kn, k))
            found = vn;
    return found;
}

uint32_t json_arr_get(const json_doc *d, uint32_t arr, uint32_t idx)
{
    if (json_type_of(d, arr) != JSON_ARRAY || idx >= d->nodes[arr].count)
        return JSON_NONE;
    uint32_t cur = arr + 1;
    while (idx--)
        cur = d->nodes[cur].end;
    return cur;
}

int json_str(const json_doc *d, uint32_t i, arena *ar, bslice *out)
{
    if (json_type_of(d, i) != JSON_STRING)
        return BRAID_EINVAL;
    const json_node *x = &d->nodes[i];
    const uint8_t *r = d->src + x->off;
    if (!(x->flags & JSON_F_ESCAPED)) {
        *out = (bslice){r, x->len};
        return 0;
    }
    uint8_t *o = arena_alloc(ar, x->len);
    if (!o)
        return BRAID_ENOMEM;
    *out = (bslice){o, unescape(r, x->len, o)};
    return 0;
}

int json_str_buf(const json_doc *d, uint32_t i, buf *out)
{
    if (json_type_of(d, i) != JSON_STRING)
        return BRAID_EINVAL;
    const json_node *x = &d->nodes[i];
    const uint8_t *r = d->src + x->off;
    if (!(x->flags & JSON_F_ESCAPED)) {
        buf_append(out, r, x->len);
        return 0;
    }
    if (buf_reserve(out, x->len))
        return 0;
    out->n += unescape(r, x->len, out->p + out->n);
    return 0;
}

/* ---- scalars ---- */

int json_get_bool(const json_doc *d, uint32_t i, bool *out)
{
    switch (json_type_of(d, i)) {
    case JSON_TRUE:
        *out = true;
        return 0;
    case JSON_FALSE:
        *out = false;
        return 0;
    default:
        return BRAID_EINVAL;
    }
}

/* Exact magnitude of the integer written as JSON number s (which must be one
 * number and nothing else), and its sign. The value is digits * 10^exp where
 * digits are the integer and fraction digits together; it is an integer iff
 * no nonzero digit lands right of the decimal point. */
static int number_magnitude(bslice s, bool *neg, uint64_t *mag)
{
    size_t at;
    const char *why;
    if (s.n == 0 || number_end(s.p, s.n, 0, &at, &why) != s.n)
        return BRAID_EINVAL;
    const uint8_t *p = s.p, *end = s.p + s.n;
    *neg = *p == '-';
    if (*neg)
        p++;
    const uint8_t *ip = p;
    while (p < end && is_digit(*p))
        p++;
    size_t in = (size_t)(p - ip), fn = 0;
    const uint8_t *fp = p;
    if (p < end && *p == '.') {
        fp = ++p;
        while (p < end && is_digit(*p))
            p++;
        fn = (size_t)(p - fp);
    }
    int64_t exp = 0;
    if (p < end) { /* 'e' or 'E' */
        p++;
        bool eneg = *p == '-';
        if (*p == '+' || *p == '-')
            p++;
        for (; p < end; p++)
            if (exp < 1000000000)
                exp = exp * 10 + (*p - '0');
        if (eneg)
            exp = -exp;
    }
#define DIGIT(k) ((k) < in ? ip[k] : fp[(k)-in])
    size_t total = in + fn, first = 0, last = total;
    while (first < total && DIGIT(first) == '0')
        first++;
    if (first == total) {
        *mag = 0;
        return 0;
    }
    while (DIGIT(last - 1) == '0')
        last--;
    int64_t e = exp - (int64_t)fn + (int64_t)(total - last);
    if (e < 0)
        return BRAID_EINVAL;
    if (e > 20 || last - first + (size_t)e > 20)
        return BRAID_ETOOBIG;
    uint64_t m = 0;
    for (size_t k = first; k < last; k++) {
        uint64_t dg = (uint64_t)(DIGIT(k) - '0');
        if (m > (UINT64_MAX - dg) / 10)
            return BRAID_ETOOBIG;
        m = m * 10 + dg;
    }
#undef DIGIT
    for (int64_t k = 0; k < e; k++) {
        if (m > UINT64_MAX / 10)
            return BRAID_ETOOBIG;
        m *= 10;
    }
    *mag = m;
    return 0;
}

int json_parse_i64(bslice s, int64_t *out)
{
    bool neg;
    uint64_t m;
    int rc = number_magnitude(s, &neg, &m);
    if (rc)
        return rc;
    if (neg) {
        if (m > (uint64_t)INT64_MAX + 1)
            return BRAID_ETOOBIG;
        *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    } else {
        if (m > (uint64_t)INT64_MAX)
            return BRAID_ETOOBIG;
        *out = (int64_t)m;
    }
    return 0;
}

int json_parse_u64(bslice s, uint64_t *out)
{
    bool neg;
    uint64_t m;
    int rc = number_magnitude(s, &neg, &m);
    if (rc)
        return rc;
    if (neg && m != 0)
        return BRAID_ETOOBIG;
    *out = m;
    return 0;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

int json_parse_double(bslice s, double *out)
{
    if (bslice_eq_cstr(s, "NaN")) {
        *out = NAN;
        return 0;
    }
    if (bslice_eq_cstr(s, "Infinity")) {
        *out = INFINITY;
        return 0;
    }
    if (bslice_eq_cstr(s, "-Infinity")) {
        *out = -INFINITY;
        return 0;
    }
    size_t at;
    const char *why;
    if (s.n == 0 || number_end(s.p, s.n, 0, &at, &why) != s.n)
        return BRAID_EINVAL;
    /* strtod needs a terminator; the grammar check above means it will
     * consume exactly these bytes. */
    char small[128], *tmp = small;
    if (s.n >= sizeof small && !(tmp = malloc(s.n + 1)))
        return BRAID_ENOMEM;
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = 0;
    pthread_once(&c_locale_once, c_locale_init);
    double v = c_locale ? strtod_l(tmp, NULL, c_locale) : strtod(tmp, NULL);
    if (tmp != small)
        free(tmp);
    if (isinf(v))
        return BRAID_ETOOBIG;
    *out = v;
    return 0;
}

/* The text a numeric getter reads: a number's raw text, or a string's
 * unescaped content (escaped strings are decoded into `tmp`, as numbers in
 * strings are short). */
static int numeric_text(const json_doc *d, uint32_t i, uint8_t *tmp, size_t tmpn, bslice *out)
{
    if (i >= d->n)
        return BRAID_EINVAL;
    const json_node *x = &d->nodes[i];
    if (x->type == JSON_NUMBER || (x->type == JSON_STRING && !(x->flags & JSON_F_ESCAPED))) {
        *out = json_raw(d, i);
        return 0;
    }
    if (x->type != JSON_STRING || x->len > tmpn)
        return BRAID_EINVAL;
    *out = (bslice){tmp, unescape(d->src + x->off, x->len, tmp)};
    return 0;
}

int json_get_i64(const json_doc *d, uint32_t i, int64_t *out)
{
    uint8_t tmp[128];
    bslice s;
    int rc = numeric_text(d, i, tmp, sizeof tmp, &s);
    return rc ? rc : json_parse_i64(s, out);
}

int json_get_u64(const json_doc *d, uint32_t i, uint64_t *out)
{
    uint8_t tmp[128];
    bslice s;
    int rc = numeric_text(d, i, tmp, sizeof tmp, &s);
    return rc ? rc : json_parse_u64(s, out);
}

int json_get_double(const json_doc *d, uint32_t i, double *out)
{
    uint8_t tmp[128];
    bslice s;
    int rc = numeric_text(d, i, tmp, sizeof tmp, &s);
    return rc ? rc : json_parse_double(s, out);
}

/* http1: the HTTP/1.1 request-head parser, chunked de-chunker and query-string
 * decoder declared in http1.h. Pure functions over caller buffers: owns no
 * memory, never allocates, never performs I/O. Each parser walks its input once
 * from left to right so that feeding it in pieces cannot change its verdict. */
#include "http1.h"

#include <assert.h>

static bool is_tchar(uint8_t c)
{
    uint8_t l = c | 0x20;
    if ((l >= 'a' && l <= 'z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

/* field-vchar, SP, HTAB and obs-text: what a field value may contain. */
static bool is_value_char(uint8_t c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Visible ASCII except '#': a fragment never belongs in a request-target. */
static bool is_target_char(uint8_t c)
{
    return c > 0x20 && c < 0x7f && c != '#';
}

static bool is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static int hex_val(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    uint8_t l = c | 0x20;
    if (l >= 'a' && l <= 'f')
        return l - 'a' + 10;
    return -1;
}

static bslice trim_ows(const uint8_t *p, size_t n)
{
    while (n && is_ows(p[0])) {
        p++;
        n--;
    }
    while (n && is_ows(p[n - 1]))
        n--;
    return (bslice){p, n};
}

static bool slice_eq_nocase(const uint8_t *p, size_t n, const char *s)
{
    return bslice_eq_nocase((bslice){p, n}, s);
}

/* ---- head ----------------------------------------------------------------- */

static int head_fail(http1_request *r, int rc, int status, const char *reason)
{
    r->status = status;
    r->reason = reason;
    return rc;
}

static int head_bad(http1_request *r, const char *reason)
{
    return head_fail(r, BRAID_EINVAL, 400, reason);
}

/* Ran out of bytes at the end of the window: either more may come, or the
 * window is the whole head budget and the head does not fit. */
static int head_short(http1_request *r, bool capped)
{
    if (capped)
        return head_fail(r, BRAID_ETOOBIG, 431, "request header section too large");
    return BRAID_EAGAIN;
}

/* Reason for a byte that ended a token where CRLF or a delimiter was due. */
static const char *bad_byte_reason(uint8_t c, const char *otherwise)
{
    if (c == '\n')
        return "bare LF line ending (CRLF is required)";
    if (c == '\r')
        return "unexpected CR";
    return otherwise;
}

/* Splits r->target into path and query according to its form. */
static void split_target(http1_request *r)
{
    const uint8_t *t = r->target.p;
    size_t n = r->target.n;
    size_t start = 0;
    if (t[0] != '/' && !(n == 1 && t[0] == '*')) {
        /* absolute-form (scheme "://" authority path) or authority-form */
        size_t i = 0;
        while (i + 2 < n && !(t[i] == ':' && t[i + 1] == '/' && t[i + 2] == '/'))
            i++;
        if (i + 2 >= n) {
            r->path = r->target;
            r->query = (bslice){t + n, 0};
            return;
        }
        start = i + 3;
        while (start < n && t[start] != '/' && t[start] != '?')
            start++;
        if (start == n || t[start] == '?') {
            r->path = BSLICE_LIT("/");
            r->query = start < n ? (bslice){t + start + 1, n - start - 1} : (bslice){t + n, 0};
            return;
        }
    }
    size_t q = start;
    while (q < n && t[q] != '?')
        q++;
    r->path = (bslice){t + start, q - start};
    r->query = q < n ? (bslice){t + q + 1, n - q - 1} : (bslice){t + n, 0};
}

/* Parses one Content-Length field value: a list of identical decimal numbers.
 * Sets *v (saturating at UINT64_MAX) or returns BRAID_EINVAL. *seen says
 * whether an earlier value exists that this one must equal. */
static int parse_content_length(bslice v, uint64_t *out, bool *seen)
{
    size_t i = 0;
    for (;;) {
        size_t s = i;
        while (i < v.n && v.p[i] != ',')
            i++;
        bslice e = trim_ows(v.p + s, i - s);
        if (e.n == 0)
            return BRAID_EINVAL;
        uint64_t x = 0;
        for (size_t k = 0; k < e.n; k++) {
            if (e.p[k] < '0' || e.p[k] > '9')
                return BRAID_EINVAL;
            unsigned d = (unsigned)(e.p[k] - '0');
            x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
        }
        if (*seen && x != *out)
            return BRAID_EINVAL;
        *out = x;
        *seen = true;
        if (i == v.n)
            return 0;
        i++;
    }
}

typedef struct {
    int n_codings, n_chunked;
    bool last_chunked;
} te_summary;

static void scan_transfer_encoding(bslice v, te_summary *te)
{
    size_t i = 0;
    while (i <= v.n) {
        size_t s = i;
        while (i < v.n && v.p[i] != ',')
            i++;
        bslice e = trim_ows(v.p + s, i - s);
        if (e.n) {
            bool ch = bslice_eq_nocase(e, "chunked");
            te->n_codings++;
            te->n_chunked += ch;
            te->last_chunked = ch;
        }
        i++;
    }
}

/* Decides framing, persistence and expectations once the head is complete. */
static int head_semantics(http1_request *r, const http1_limits *lim)
{
    int hosts = 0;
    bool have_cl = false, have_te = false;
    uint64_t cl = 0;
    te_summary te = {0, 0, false};
    for (size_t i = 0; i < r->n_headers; i++) {
        const http1_header *h = &r->headers[i];
        if (bslice_eq_nocase(h->name, "host")) {
            hosts++;
        } else if (bslice_eq_nocase(h->name, "content-length")) {
            if (parse_content_length(h->value, &cl, &have_cl) != 0)
                return head_bad(r, "invalid or conflicting Content-Length");
        } else if (bslice_eq_nocase(h->name, "transfer-encoding")) {
            have_te = true;
            scan_transfer_encoding(h->value, &te);
        }
    }
    if (have_te && have_cl)
        return head_bad(r, "both Content-Length and Transfer-Encoding");
    if (have_te) {
        if (r->version_minor == 0)
            return head_bad(r, "Transfer-Encoding in an HTTP/1.0 request");
        if (!te.last_chunked)
            return head_bad(r, "chunked is not the final transfer coding");
        if (te.n_chunked > 1)
            return head_bad(r, "chunked transfer coding applied more than once");
        if (te.n_codings > 1)
            return head_fail(r, BRAID_EUNSUPPORTED, 501, "unsupported transfer coding");
        r->body_kind = HTTP1_BODY_CHUNKED;
    } else if (have_cl) {
        r->body_kind = HTTP1_BODY_LENGTH;
        r->content_length = cl;
    }
    if (r->version_minor >= 1 && hosts != 1)
        return head_bad(r, hosts ? "more than one Host field" : "missing Host field");
    if (hosts > 1)
        return head_bad(r, "more than one Host field");

    bool close = http1_header_has_token(r, "connection", "close");
    if (r->version_minor >= 1)
        r->keep_alive = !close;
    else
        r->keep_alive = !close && http1_header_has_token(r, "connection", "keep-alive");

    if (r->version_minor >= 1) {
        for (size_t i = 0; i < r->n_headers; i++) {
            const http1_header *h = &r->headers[i];
            if (!bslice_eq_nocase(h->name, "expect"))
                continue;
            if (!bslice_eq_nocase(h->value, "100-continue"))
                return head_fail(r, BRAID_EUNSUPPORTED, 417, "unsupported Expect value");
            r->expect_continue = true;
        }
    }

    if (r->body_kind == HTTP1_BODY_LENGTH && lim && r->content_length > lim->max_body)
        return head_fail(r, BRAID_ETOOBIG, 413, "request body larger than the limit");
    return 0;
}

int http1_parse_head(const uint8_t *b, size_t len, const http1_limits *lim, http1_request *r)
{
    r->method = r->target = r->path = r->query = (bslice){NULL, 0};
    r->version_minor = 0;
    r->n_headers = 0;
    r->head_len = 0;
    r->body_kind = HTTP1_BODY_NONE;
    r->content_length = 0;
    r->keep_alive = false;
    r->expect_continue = false;
    r->status = 0;
    r->reason = NULL;

    size_t max_head = lim && lim->max_head ? lim->max_head : HTTP1_DEFAULT_MAX_HEAD;
    bool capped = len >= max_head;
    size_t end = capped ? max_head : len;
    size_t i = 0;

    /* empty lines before the request line */
    for (;;) {
        if (i >= end)
            return head_short(r, capped);
        if (b[i] != '\r')
            break;
        if (i + 1 >= end)
            return head_short(r, capped);
        if (b[i + 1] != '\n')
            return head_bad(r, "bare CR (CRLF is required)");
        i += 2;
    }

    size_t s = i;
    while (i < end && is_tchar(b[i]))
        i++;
    if (i >= end)
        return head_short(r, capped);
    if (i == s || b[i] != ' ')
        return head_bad(r, bad_byte_reason(b[i], "malformed method"));
    r->method = (bslice){b + s, i - s};
    i++;

    s = i;
    while (i < end && is_target_char(b[i]))
        i++;
    if (i >= end)
        return head_short(r, capped);
    if (i == s || b[i] != ' ')
        return head_bad(r, bad_byte_reason(b[i], "malformed request target"));
    r->target = (bslice){b + s, i - s};
    split_target(r);
    i++;

    static const char proto[] = "HTTP/";
    for (size_t k = 0; k < 5; k++, i++) {
        if (i >= end)
            return head_short(r, capped);
        if (b[i] != (uint8_t)proto[k])
            return head_bad(r, "malformed HTTP version");
    }
    if (i + 2 >= end)
        return head_short(r, capped);
    if (b[i] < '0' || b[i] > '9' || b[i + 1] != '.' || b[i + 2] < '0' || b[i + 2] > '9')
        return head_bad(r, "malformed HTTP version");
    if (b[i] != '1')
        return head_fail(r, BRAID_EUNSUPPORTED, 505, "HTTP version not supported");
    r->version_minor = b[i + 2] == '0' ? 0 : 1;
    i += 3;
    if (i >= end)
        return head_short(r, capped);
    if (b[i] != '\r')
        return head_bad(r, bad_byte_reason(b[i], "malformed request line"));
    if (i + 1 >= end)
        return head_short(r, capped);
    if (b[i + 1] != '\n')
        return head_bad(r, "bare CR (CRLF is required)");
    i += 2;

    for (;;) {
        if (i >= end)
            return head_short(r, capped);
        if (b[i] == '\r') {
            if (i + 1 >= end)
                return head_short(r, capped);
            if (b[i + 1] != '\n')
                return head_bad(r, "bare CR (CRLF is required)");
            i += 2;
            break;
        }
        if (is_ows(b[i]))
            return head_bad(r, r->n_headers ? "obs-fold line folding is not accepted"
                                            : "whitespace before the first header field");
        s = i;
        while (i < end && is_tchar(b[i]))
            i++;
        if (i >= end)
            return head_short(r, capped);
        if (b[i] != ':' || i == s) {
            if (i > s && is_ows(b[i]))
                return head_bad(r, "whitespace between header field name and colon");
            return head_bad(r, bad_byte_reason(b[i], "malformed header field name"));
        }
        bslice name = {b + s, i - s};
        i++;
        s = i;
        while (i < end && is_value_char(b[i]))
            i++;
        if (i >= end)
            return head_short(r, capped);
        if (b[i] != '\r')
            return head_bad(r, bad_byte_reason(b[i], "invalid character in header field value"));
        if (i + 1 >= end)
            return head_short(r, capped);
        if (b[i + 1] != '\n')
            return head_bad(r, "bare CR (CRLF is required)");
        if (r->n_headers == HTTP1_MAX_HEADERS)
            return head_fail(r, BRAID_ETOOBIG, 431, "too many header fields");
        r->headers[r->n_headers].name = name;
        r->headers[r->n_headers].value = trim_ows(b + s, i - s);
        r->n_headers++;
        i += 2;
    }
    r->head_len = i;
    return head_semantics(r, lim);
}

int http1_header_get(const http1_request *r, const char *name, bslice *value)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (bslice_eq_nocase(r->headers[i].name, name)) {
            *value = r->headers[i].value;
            return 0;
        }
    }
    return BRAID_ENOTFOUND;
}

bool http1_header_has_token(const http1_request *r, const char *name, const char *token)
{
    for (size_t h = 0; h < r->n_headers; h++) {
        if (!bslice_eq_nocase(r->headers[h].name, name))
            continue;
        bslice v = r->headers[h].value;
        size_t i = 0;
        while (i <= v.n) {
            size_t s = i;
            while (i < v.n && v.p[i] != ',')
                i++;
            bslice e = trim_ows(v.p + s, i - s);
            if (slice_eq_nocase(e.p, e.n, token))
                return true;
            i++;
        }
    }
    return false;
}

const char *http1_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* ---- chunked -------------------------------------------------------------- */

enum {
    CH_SIZE_FIRST, /* first hex digit of a chunk size */
    CH_SIZE,       /* more hex digits, or what ends the size */
    CH_SIZE_WS,    /* whitespace after the size: only ';' may follow */
    CH_EXT,        /* chunk extensions, ignored up to CR */
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TR_START, /* start of a trailer line, or the final CRLF */
    CH_TR_NAME,
    CH_TR_VALUE,
    CH_TR_LF,
    CH_END_LF,
    CH_DONE,
};

void http1_chunked_init(http1_chunked *d, uint64_t max_body, size_t max_trailer)
{
    memset(d, 0, sizeof *d);
    d->max_body = max_body;
    d->max_trailer = max_trailer;
    d->state = CH_SIZE_FIRST;
}

static int chunk_fail(http1_chunked *d, int rc, int status, const char *reason)
{
    d->status = status;
    d->reason = reason;
    return rc;
}

int http1_chunked_decode(http1_chunked *d, const uint8_t *in, size_t n, uint8_t *out,
                         size_t *consumed, size_t *produced)
{
    size_t i = 0, o = 0;
    int rc = BRAID_EAGAIN;
    if (d->status) {
        *consumed = *produced = 0;
        return d->status == 400 ? BRAID_EINVAL : BRAID_ETOOBIG;
    }
    while (i < n && d->state != CH_DONE) {
        if (d->state == CH_DATA) {
            size_t take = n - i;
            if (take > d->size)
                take = (size_t)d->size;
            memmove(out + o, in + i, take);
            o += take;
            i += take;
            d->size -= take;
            d->total += take;
            if (d->size == 0)
                d->state = CH_DATA_CR;
            continue;
        }
        uint8_t c = in[i];
        int hv;
        switch (d->state) {
        case CH_SIZE_FIRST:
        case CH_SIZE:
            hv = hex_val(c);
            if (hv >= 0) {
                if (d->size > (UINT64_MAX - (uint64_t)hv) / 16 ||
                    d->size * 16 + (uint64_t)hv > d->max_body - d->total) {
                    rc = chunk_fail(d, BRAID_ETOOBIG, 413, "request body larger than the limit");
                    goto out;
                }
                d->size = d->size * 16 + (uint64_t)hv;
                d->state = CH_SIZE;
            } else if (d->state == CH_SIZE_FIRST) {
                rc = chunk_fail(d, BRAID_EINVAL, 400, "malformed chunk size");
                goto out;
            } else if (c == '\r') {
                d->state = CH_SIZE_LF;
            } else if (c == ';') {
                d->state = CH_EXT;
            } else if (is_ows(c)) {
                d->state = CH_SIZE_WS;
            } else {
                rc = chunk_fail(d, BRAID_EINVAL, 400, bad_byte_reason(c, "malformed chunk size"));
                goto out;
            }
            break;
        case CH_SIZE_WS:
            if (c == ';') {
                d->state = CH_EXT;
            } else if (!is_ows(c)) {
                rc = chunk_fail(d, BRAID_EINVAL, 400, "malformed chunk size");
                goto out;
            }
            break;
        case CH_EXT:
            if (c == '\r') {
                d->state = CH_SIZE_LF;
            } else if (!is_value_char(c)) {
                rc = chunk_fail(d, BRAID_EINVAL, 400,
                                bad_byte_reason(c, "invalid character in chunk extension"));
                goto out;
            }
            break;
        case CH_SIZE_LF:
            if (c != '\n') {
                rc = chunk_fail(d, BRAID_EINVAL, 400, "bare CR (CRLF is required)");
                goto out;
            }
            d->line = 0;
            d->state = d->size ? CH_DATA : CH_TR_START;
            i++;
            continue;
        case CH_DATA_CR:
            if (c != '\r') {
                rc = chunk_fail(d, BRAID_EINVAL, 400, "chunk data not followed by CRLF");
                goto out;
            }
            d->state = CH_DATA_LF;
            i++;
            continue;
        case CH_DATA_LF:
            if (c != '\n') {
                rc = chunk_fail(d, BRAID_EINVAL, 400, "chunk data not followed by CRLF");
                goto out;
            }
            d->state = CH_SIZE_FIRST;
            i++;
            continue;
        case CH_TR_START:
            if (c == '\r') {
                d->state = CH_END_LF;
                i++;
                continue;
            }
            if (!is_tchar(c)) {
                rc =
                    chunk_fail(d, BRAID_EINVAL, 400, bad_byte_reason(c, "malformed trailer field"));
                goto out;
            }
            d->state = CH_TR_NAME;
            break;
        case CH_TR_NAME:
            if (c == ':') {
                d->state = CH_TR_VALUE;
            } else if (!is_tchar(c)) {
                rc =
                    chunk_fail(d, BRAID_EINVAL, 400, bad_byte_reason(c, "malformed trailer field"));
                goto out;
            }
            break;
        case CH_TR_VALUE:
            if (c == '\r') {
                d->state = CH_TR_LF;
            } else if (!is_value_char(c)) {
                rc = chunk_fail(d, BRAID_EINVAL, 400,
                                bad_byte_reason(c, "invalid character in trailer field"));
                goto out;
            }
            break;
        case CH_TR_LF:
            if (c != '\n') {
                rc = chunk_fail(d, BRAID_EINVAL, 400, "bare CR (CRLF is required)");
                goto out;
            }
            d->state = CH_TR_START;
            break;
        case CH_END_LF:
            if (c != '\n') {
                rc = chunk_fail(d, BRAID_EINVAL, 400, "bare CR (CRLF is required)");
                goto out;
            }
            d->state = CH_DONE;
            i++;
            continue;
        default:
            assert(0);
            break;
        }
        /* only size-line and trailer bytes reach here; bound them */
        i++;
        if (d->state >= CH_TR_START) {
            if (++d->trailer > d->max_trailer) {
                rc = chunk_fail(d, BRAID_ETOOBIG, 431, "chunked trailer section too large");
                goto out;
            }
        } else if (++d->line > HTTP1_MAX_CHUNK_LINE) {
            rc = chunk_fail(d, BRAID_EINVAL, 400, "chunk size line too long");
            goto out;
        }
    }
    if (d->state == CH_DONE)
        rc = 0;
out:
    *consumed = i;
    *produced = o;
    return rc;
}

/* ---- query strings -------------------------------------------------------- */

/* Checks every escape in [p, p+n): '%' must start "%HH" with HH != 00. */
static bool escapes_ok(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%')
            continue;
        if (i + 2 >= n)
            return false;
        int hi = hex_val(p[i + 1]), lo = hex_val(p[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        i += 2;
    }
    return true;
}

void http1_query_init(http1_query_iter *it, bslice query)
{
    it->p = query.p;
    it->end = query.n ? query.p + query.n : query.p; /* never offset a NULL pointer */
    it->err = 0;
}

int http1_query_next(http1_query_iter *it, bslice *key, bslice *value)
{
    if (it->err)
        return it->err;
    while (it->p && it->p < it->end) {
        const uint8_t *s = it->p;
        const uint8_t *amp = memchr(s, '&', (size_t)(it->end - s));
        const uint8_t *e = amp ? amp : it->end;
        it->p = amp ? amp + 1 : it->end;
        if (e == s)
            continue;
        const uint8_t *eq = memchr(s, '=', (size_t)(e - s));
        *key = (bslice){s, (size_t)((eq ? eq : e) - s)};
        *value = eq ? (bslice){eq + 1, (size_t)(e - eq - 1)} : (bslice){e, 0};
        if (!escapes_ok(key->p, key->n) || !escapes_ok(value->p, value->n)) {
            it->err = BRAID_EINVAL;
            return it->err;
        }
        return 0;
    }
    return BRAID_ENOTFOUND;
}

int http1_pct_decode(bslice src, bool plus_is_space, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < src.n; i++) {
        uint8_t c = src.p[i];
        if (c == '%') {
            if (i + 2 >= src.n)
                return BRAID_EINVAL;
            int hi = hex_val(src.p[i + 1]), lo = hex_val(src.p[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return BRAID_EINVAL;
            c = (uint8_t)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (o == cap)
            return BRAID_ETOOBIG;
        out[o++] = c;
    }
    *out_len = o;
    return 0;
}

bool http1_query_key_is(bslice raw, const char *name)
{
    size_t j = 0, nl = strlen(name);
    for (size_t i = 0; i < raw.n; i++, j++) {
        uint8_t c = raw.p[i];
        if (c == '%') {
            if (i + 2 >= raw.n)
                return false;
            int hi = hex_val(raw.p[i + 1]), lo = hex_val(raw.p[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (uint8_t)(hi << 4 | lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (j >= nl || (uint8_t)name[j] != c)
            return false;
    }
    return j == nl;
}

int http1_query_get(bslice query, const char *name, uint8_t *out, size_t cap, size_t *out_len)
{
    http1_query_iter it;
    bslice k, v;
    int rc;
    http1_query_init(&it, query);
    while ((rc = http1_query_next(&it, &k, &v)) == 0) {
        if (http1_query_key_is(k, name))
            return http1_pct_decode(v, true, out, cap, out_len);
    }
    return rc;
}

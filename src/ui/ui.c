/* ui: routing of the UI's paths to the compiled-in bundle and the headers
 * that go with each file: a strong ETag and revalidation for the page,
 * a year of caching for content-hashed assets, and a Content-Security-Policy
 * that lets the page talk to its own origin only. Owns no state. */
#include "ui.h"

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self' "
                          "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                          "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

static const char NOT_FOUND[] = "{\"error\":\"no such file in the web UI\"}";
static const char NOT_ALLOWED[] = "{\"error\":\"the web UI answers GET and HEAD only\"}";

static bool has_prefix(bslice s, const char *p)
{
    size_t n = strlen(p);
    return s.n >= n && memcmp(s.p, p, n) == 0;
}

/* Whether an If-None-Match value names etag (or is "*"). Weak forms match
 * too (W/"x"), as RFC 9110 asks of GET revalidation. */
static bool etag_matches(bslice inm, const char *etag)
{
    size_t n = strlen(etag);
    for (size_t i = 0; i < inm.n; i++) {
        if (inm.p[i] == '*')
            return true;
        if (inm.p[i] == '"' && inm.n - i >= n && memcmp(inm.p + i, etag, n) == 0)
            return true;
    }
    return false;
}

static const ui_asset *find(const ui_bundle *b, bslice path)
{
    for (size_t i = 0; i < b->n; i++)
        if (bslice_eq_cstr(path, b->assets[i].path))
            return &b->assets[i];
    return NULL;
}

static void add_header(ui_response *r, const char *name, const char *value)
{
    r->headers[r->nheaders++] = (http_header_kv){name, value};
}

static void respond_json(ui_response *r, int status, const char *body, size_t len)
{
    r->status = status;
    r->content_type = "application/json";
    r->body = (const uint8_t *)body;
    r->len = len;
    add_header(r, "Cache-Control", "no-store");
}

bool ui_route(const ui_bundle *b, bslice method, bslice path, bslice if_none_match, ui_response *r)
{
    bool page = bslice_eq_cstr(path, "/") || bslice_eq_cstr(path, "/index.html") ||
                bslice_eq_cstr(path, "/ui");
    if (!page && !has_prefix(path, "/ui/"))
        return false;
    memset(r, 0, sizeof *r);
    if (!bslice_eq_cstr(method, "GET") && !bslice_eq_cstr(method, "HEAD")) {
        respond_json(r, 405, NOT_ALLOWED, sizeof NOT_ALLOWED - 1);
        add_header(r, "Allow", "GET, HEAD");
        return true;
    }
    const ui_asset *a = page ? NULL : find(b, path);
    if (!a && !has_prefix(path, "/ui/assets/"))
        a = find(b, BSLICE_LIT("/"));
    if (!a) {
        respond_json(r, 404, NOT_FOUND, sizeof NOT_FOUND - 1);
        return true;
    }
    add_header(r, "ETag", a->etag);
    add_header(r, "Cache-Control",
               a->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    add_header(r, "X-Content-Type-Options", "nosniff");
    add_header(r, "Referrer-Policy", "no-referrer");
    if (!a->immutable)
        add_header(r, "Content-Security-Policy", CSP);
    if (if_none_match.n && etag_matches(if_none_match, a->etag)) {
        r->status = 304;
        return true;
    }
    r->status = 200;
    r->content_type = a->content_type;
    r->body = a->data;
    r->len = a->len;
    return true;
}

bool ui_serve(const ui_bundle *b, http_exchange *ex)
{
    const http1_request *rq = http_exchange_request(ex);
    bslice inm = {NULL, 0};
    http_exchange_header(ex, "if-none-match", &inm);
    ui_response r;
    if (!ui_route(b, rq->method, rq->path, inm, &r))
        return false;
    http_respond(ex, r.status, r.content_type, r.headers, r.nheaders, r.body, r.len);
    return true;
}

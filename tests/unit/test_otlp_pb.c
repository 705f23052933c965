/* test_otlp_pb: OTLP/protobuf decoding (src/otlp/otlp_pb.c) and the UTF-8 check
 * (src/otlp/otlp_common.c). Requests are built with the pb writer and every
 * decoded row field is compared exactly, encodings byte for byte; payloads
 * laid out as the OpenTelemetry JS SDK emits them are decoded too. Tables
 * cover partial success (refused records and their reasons) and malformed
 * requests (the exact error message). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "otlp/otlp.h"
#include "pb/pb.h"

#include <stdio.h>
#include <stdlib.h>

static const uint8_t TID[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                                0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
static const uint8_t TID2[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t SID[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74};
static const uint8_t SID2[8] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
static const uint8_t PSID[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73};
static const uint8_t ZERO[16];
static const char BAD_UTF8[] = "bad\xC0\xAF"; /* overlong '/' */

/* ---------------------------------------------------------------------------
 * Request builders (pb writer).
 * ------------------------------------------------------------------------- */
static size_t kv_begin(buf *b, uint32_t field, const char *key)
{
    size_t p = pb_begin(b, field);
    pb_put_string(b, 1, key);
    return p;
}

static void put_kv_str(buf *b, uint32_t field, const char *key, const char *val)
{
    size_t p = kv_begin(b, field, key);
    size_t v = pb_begin(b, 2);
    pb_put_string(b, 1, val);
    pb_end(b, v);
    pb_end(b, p);
}

static void put_kv_int(buf *b, uint32_t field, const char *key, int64_t val)
{
    size_t p = kv_begin(b, field, key);
    size_t v = pb_begin(b, 2);
    pb_put_int64(b, 3, val);
    pb_end(b, v);
    pb_end(b, p);
}

static void put_kv_bool(buf *b, uint32_t field, const char *key, bool val)
{
    size_t p = kv_begin(b, field, key);
    size_t v = pb_begin(b, 2);
    pb_put_bool(b, 2, val);
    pb_end(b, v);
    pb_end(b, p);
}

/* ResourceX (request field 1) with a Resource carrying service.name. */
static size_t begin_resource(buf *b, const char *service)
{
    size_t rs = pb_begin(b, 1);
    size_t r = pb_begin(b, 1);
    if (service)
        put_kv_str(b, 1, "service.name", service);
    pb_end(b, r);
    return rs;
}

/* ScopeX (ResourceX field 2) with an InstrumentationScope name. */
static size_t begin_scope(buf *b, const char *name)
{
    size_t ss = pb_begin(b, 2);
    size_t s = pb_begin(b, 1);
    pb_put_string(b, 1, name);
    pb_end(b, s);
    return ss;
}

static void put_span(buf *b, const uint8_t *tid, size_t tn, const uint8_t *sid, size_t sn,
                     const char *name)
{
    size_t p = pb_begin(b, 2);
    pb_put_bytes(b, 1, tid, tn);
    pb_put_bytes(b, 2, sid, sn);
    pb_put_string(b, 5, name);
    pb_end(b, p);
}

static void put_log(buf *b, const char *body)
{
    size_t p = pb_begin(b, 2);
    pb_put_fixed64(b, 1, 5);
    size_t v = pb_begin(b, 5);
    pb_put_string(b, 1, body);
    pb_end(b, v);
    pb_end(b, p);
}

/* A gauge Metric (ScopeMetrics field 2) with one double point per value. */
static void put_gauge(buf *b, const char *name, const double *vals, size_t n)
{
    size_t m = pb_begin(b, 2);
    pb_put_string(b, 1, name);
    size_t g = pb_begin(b, 5);
    for (size_t i = 0; i < n; i++) {
        size_t p = pb_begin(b, 1);
        pb_put_fixed64(b, 3, 100 + i);
        pb_put_double(b, 4, vals[i]);
        pb_end(b, p);
    }
    pb_end(b, g);
    pb_end(b, m);
}

/* An AnyValue message nested `levels` deep: levels - 1 array_values around an
 * int_value 7. Built by computing sizes inside-out and writing prefixes
 * outside-in, so very deep values cost linear time. */
static void put_deep_anyvalue(buf *b, uint32_t field, size_t levels)
{
    size_t *sz = calloc(levels + 1, sizeof *sz);
    assert_non_null(sz);
    uint8_t inner[] = {0x18, 0x07};
    sz[0] = sizeof inner; /* innermost AnyValue payload */
    for (size_t i = 1; i < levels; i++) {
        buf t;
        buf_init(&t);
        buf_put_varint(&t, sz[i - 1]);
        size_t arr = 1 + t.n + sz[i - 1]; /* ArrayValue { values = 1 } */
        buf_reset(&t);
        buf_put_varint(&t, arr);
        sz[i] = 1 + t.n + arr; /* AnyValue { array_value = 5 } */
        buf_free(&t);
    }
    pb_put_tag(b, field, PB_LEN);
    buf_put_varint(b, sz[levels - 1]);
    for (size_t i = levels - 1; i >= 1; i--) {
        buf t;
        buf_init(&t);
        buf_put_varint(&t, sz[i - 1]);
        pb_put_tag(b, 5, PB_LEN);
        buf_put_varint(b, 1 + t.n + sz[i - 1]);
        pb_put_tag(b, 1, PB_LEN);
        buf_put_varint(b, sz[i - 1]);
        buf_free(&t);
    }
    buf_append(b, inner, sizeof inner);
    free(sz);
}

static int decode(otlp_kind k, const buf *req, model_batch *b, char *err)
{
    assert_int_equal(req->err, 0);
    return otlp_decode_pb(k, req->p, req->n, b, err, 256);
}

/* ---------------------------------------------------------------------------
 * Assertions.
 * ------------------------------------------------------------------------- */
static void assert_str(bslice s, const char *want)
{
    if (!bslice_eq_cstr(s, want))
        fail_msg("got '%.*s' (%zu bytes), want '%s'", (int)s.n, s.p ? (const char *)s.p : "", s.n,
                 want);
}

static void assert_slice_buf(bslice s, const buf *want)
{
    assert_int_equal(want->err, 0);
    assert_int_equal(s.n, want->n);
    if (s.n)
        assert_memory_equal(s.p, want->p, s.n);
}

/* A zero-copy slice points into the request. */
static void assert_in_request(bslice s, const buf *req)
{
    assert_true(s.n > 0);
    assert_true(s.p >= req->p && s.p + s.n <= req->p + req->n);
}

static void assert_id(const uint8_t *got, const uint8_t *want, size_t n)
{
    assert_memory_equal(got, want, n);
}

/* Expected attrs holding one string entry. */
static void want_attr_str(buf *w, const char *k, const char *v)
{
    buf_reset(w);
    size_t c = av_begin_count(w);
    av_put_key(w, bslice_cstr(k));
    av_put_str(w, bslice_cstr(v));
    av_end_count(w, c, 1);
}

static void put_f64(buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    buf_put_u64le(b, bits);
}

/* ---------------------------------------------------------------------------
 * Traces.
 * ------------------------------------------------------------------------- */
static void test_traces_every_field(void **state)
{
    (void)state;
    buf req;
    buf_init(&req);
    size_t rs = pb_begin(&req, 1);
    size_t r = pb_begin(&req, 1);
    put_kv_str(&req, 1, "service.name", "checkout");
    put_kv_str(&req, 1, "host.name", "h1");
    pb_put_uint64(&req, 2, 3);
    pb_end(&req, r);
    size_t ss = pb_begin(&req, 2);
    size_t sc = pb_begin(&req, 1);
    pb_put_string(&req, 1, "lib");
    pb_put_string(&req, 2, "1.2");
    put_kv_bool(&req, 3, "scope.k", true);
    pb_put_uint64(&req, 4, 1);
    pb_end(&req, sc);

    size_t sp = pb_begin(&req, 2);
    pb_put_bytes(&req, 1, TID, 16);
    pb_put_bytes(&req, 2, SID, 8);
    pb_put_string(&req, 3, "k=v");
    pb_put_bytes(&req, 4, PSID, 8);
    pb_put_string(&req, 5, "GET /");
    pb_put_uint64(&req, 6, 2);
    pb_put_fixed64(&req, 7, 1700000000123456789ull);
    pb_put_fixed64(&req, 8, 1700000002500000000ull);
    /* every AnyValue kind */
    put_kv_str(&req, 9, "s", "str");
    put_kv_bool(&req, 9, "b", true);
    put_kv_int(&req, 9, "i", -5);
    size_t kv = kv_begin(&req, 9, "d"), v = pb_begin(&req, 2);
    pb_put_double(&req, 4, 1.5);
    pb_end(&req, v);
    pb_end(&req, kv);
    kv = kv_begin(&req, 9, "arr");
    v = pb_begin(&req, 2);
    size_t a = pb_begin(&req, 5), x = pb_begin(&req, 1);
    pb_put_int64(&req, 3, 1);
    pb_end(&req, x);
    x = pb_begin(&req, 1);
    pb_put_string(&req, 1, "x");
    pb_end(&req, x);
    pb_end(&req, a);
    pb_end(&req, v);
    pb_end(&req, kv);
    kv = kv_begin(&req, 9, "kv");
    v = pb_begin(&req, 2);
    size_t l = pb_begin(&req, 6), e = kv_begin(&req, 1, "inner"), iv = pb_begin(&req, 2);
    size_t l2 = pb_begin(&req, 6), e2 = kv_begin(&req, 1, "deep"), dv = pb_begin(&req, 2);
    pb_put_bool(&req, 2, false);
    pb_end(&req, dv);
    pb_end(&req, e2);
    pb_end(&req, l2);
    pb_end(&req, iv);
    pb_end(&req, e);
    pb_end(&req, l);
    pb_end(&req, v);
    pb_end(&req, kv);
    kv = kv_begin(&req, 9, "bytes");
    v = pb_begin(&req, 2);
    pb_put_bytes(&req, 7, (const uint8_t[]){0, 1, 2}, 3);
    pb_end(&req, v);
    pb_end(&req, kv);
    kv = kv_begin(&req, 9, "empty");
    v = pb_begin(&req, 2);
    pb_end(&req, v);
    pb_end(&req, kv);
    kv = kv_begin(&req, 9, "novalue");
    pb_end(&req, kv);
    pb_put_uint64(&req, 10, 4);
    /* events */
    size_t ev = pb_begin(&req, 11);
    pb_put_fixed64(&req, 1, 1700000001000000000ull);
    pb_put_string(&req, 2, "boot");
    put_kv_str(&req, 3, "k", "v");
    pb_put_uint64(&req, 4, 7);
    pb_end(&req, ev);
    ev = pb_begin(&req, 11);
    pb_put_fixed64(&req, 1, 1700000001500000000ull);
    pb_put_string(&req, 2, "idle");
    pb_end(&req, ev);
    pb_put_uint64(&req, 12, 5);
    /* a link */
    size_t lk = pb_begin(&req, 13);
    pb_put_bytes(&req, 1, TID2, 16);
    pb_put_bytes(&req, 2, SID2, 8);
    pb_put_string(&req, 3, "ts=1");
    put_kv_int(&req, 4, "lk", 9);
    pb_put_uint64(&req, 5, 2);
    pb_put_fixed32(&req, 6, 0x101);
    pb_end(&req, lk);
    pb_put_uint64(&req, 14, 6);
    size_t st = pb_begin(&req, 15);
    pb_put_string(&req, 2, "boom");
    pb_put_uint64(&req, 3, 2);
    pb_end(&req, st);
    pb_put_fixed32(&req, 16, 0x301);
    pb_end(&req, sp);
    pb_put_string(&req, 3, "https://scope");
    pb_end(&req, ss);
    pb_put_string(&req, 3, "https://res");
    pb_end(&req, rs);

    model_batch b;
    model_batch_init(&b);
    char err[256];
    assert_int_equal(decode(OTLP_TRACES, &req, &b, err), 0);
    assert_string_equal(err, "");
    assert_int_equal(b.nspans, 1);
    assert_int_equal(b.rejected, 0);
    const model_span *s = &b.spans[0];

    const model_origin *o = s->origin;
    buf w;
    buf_init(&w);
    assert_str(o->service, "checkout");
    size_t c = av_begin_count(&w);
    av_put_key(&w, BSLICE_LIT("service.name"));
    av_put_str(&w, BSLICE_LIT("checkout"));
    av_put_key(&w, BSLICE_LIT("host.name"));
    av_put_str(&w, BSLICE_LIT("h1"));
    av_end_count(&w, c, 2);
    assert_slice_buf(o->resource_attrs, &w);
    assert_int_equal(o->resource_dropped, 3);
    assert_str(o->resource_schema_url, "https://res");
    assert_str(o->scope_name, "lib");
    assert_str(o->scope_version, "1.2");
    buf_reset(&w);
    c = av_begin_count(&w);
    av_put_key(&w, BSLICE_LIT("scope.k"));
    av_put_bool(&w, true);
    av_end_count(&w, c, 1);
    assert_slice_buf(o->scope_attrs, &w);
    assert_int_equal(o->scope_dropped, 1);
    assert_str(o->scope_schema_url, "https://scope");

    assert_id(s->trace_id.b, TID, 16);
    assert_id(s->span_id.b, SID, 8);
    assert_id(s->parent_span_id.b, PSID, 8);
    assert_str(s->trace_state, "k=v");
    assert_int_equal(s->flags, 0x301);
    assert_str(s->name, "GET /");
    assert_in_request(s->name, &req);
    assert_in_request(s->trace_state, &req);
    assert_in_request(o->scope_name, &req);
    assert_int_equal(s->kind, 2);
    assert_true(s->start_ns == 1700000000123456789ull);
    assert_true(s->end_ns == 1700000002500000000ull);
    assert_int_equal(s->dropped_attrs, 4);
    assert_int_equal(s->dropped_events, 5);
    assert_int_equal(s->dropped_links, 6);
    assert_int_equal(s->status_code, 2);
    assert_str(s->status_message, "boom");

    buf_reset(&w);
    c = av_begin_count(&w);
    av_put_key(&w, BSLICE_LIT("s"));
    av_put_str(&w, BSLICE_LIT("str"));
    av_put_key(&w, BSLICE_LIT("b"));
    av_put_bool(&w, true);
    av_put_key(&w, BSLICE_LIT("i"));
    av_put_int(&w, -5);
    av_put_key(&w, BSLICE_LIT("d"));
    av_put_double(&w, 1.5);
    av_put_key(&w, BSLICE_LIT("arr"));
    size_t ap = av_begin_array(&w);
    av_put_int(&w, 1);
    av_put_str(&w, BSLICE_LIT("x"));
    av_end_count(&w, ap, 2);
    av_put_key(&w, BSLICE_LIT("kv"));
    size_t k1 = av_begin_kvlist(&w);
    av_put_key(&w, BSLICE_LIT("inner"));
    size_t k2 = av_begin_kvlist(&w);
    av_put_key(&w, BSLICE_LIT("deep"));
    av_put_bool(&w, false);
    av_end_count(&w, k2, 1);
    av_end_count(&w, k1, 1);
    av_put_key(&w, BSLICE_LIT("bytes"));
    av_put_bytes(&w, (bslice){(const uint8_t[]){0, 1, 2}, 3});
    av_put_key(&w, BSLICE_LIT("empty"));
    av_put_empty(&w);
    av_put_key(&w, BSLICE_LIT("novalue"));
    av_put_empty(&w);
    av_end_count(&w, c, 9);
    assert_slice_buf(s->attrs, &w);
    assert_int_equal(av_validate_attrs(s->attrs), 0);

    /* events: u32 count, (u64 time, u32 len, name, u32 len, attrs, u32 dropped)* */
    buf ea;
    buf_init(&ea);
    want_attr_str(&ea, "k", "v");
    buf_reset(&w);
    buf_put_u32le(&w, 2);
    buf_put_u64le(&w, 1700000001000000000ull);
    buf_put_u32le(&w, 4);
    buf_puts(&w, "boot");
    buf_put_u32le(&w, (uint32_t)ea.n);
    buf_append(&w, ea.p, ea.n);
    buf_put_u32le(&w, 7);
    buf_put_u64le(&w, 1700000001500000000ull);
    buf_put_u32le(&w, 4);
    buf_puts(&w, "idle");
    buf_put_u32le(&w, 0);
    buf_put_u32le(&w, 0);
    assert_slice_buf(s->events, &w);
    assert_int_equal(model_validate_events(s->events), 0);

    /* links: u32 count, (tid, sid, u32 len, state, u32 len, attrs, u32 dropped, u32 flags)* */
    buf_reset(&ea);
    c = av_begin_count(&ea);
    av_put_key(&ea, BSLICE_LIT("lk"));
    av_put_int(&ea, 9);
    av_end_count(&ea, c, 1);
    buf_reset(&w);
    buf_put_u32le(&w, 1);
    buf_append(&w, TID2, 16);
    buf_append(&w, SID2, 8);
    buf_put_u32le(&w, 4);
    buf_puts(&w, "ts=1");
    buf_put_u32le(&w, (uint32_t)ea.n);
    buf_append(&w, ea.p, ea.n);
    buf_put_u32le(&w, 2);
    buf_put_u32le(&w, 0x101);
    assert_slice_buf(s->links, &w);
    assert_int_equal(model_validate_links(s->links), 0);

    buf_free(&ea);
    buf_free(&w);
    buf_free(&req);
    model_batch_free(&b);
}

/* One origin per (resource, scope) pair; service from service.name only when
 * it is a string. A span with nothing but ids gets empty encodings. */
static void test_traces_origins(void **state)
{
    (void)state;
    buf req;
    buf_init(&req);
    size_t rs = begin_resource(&req, "svc-a");
    size_t ss = begin_scope(&req, "s1");
    put_span(&req, TID, 16, SID, 8, "a1");
    put_span(&req, TID, 16, SID2, 8, "a2");
    pb_end(&req, ss);
    ss = begin_scope(&req, "s2");
    put_span(&req, TID, 16, SID, 8, "a3");
    pb_end(&req, ss);
    pb_end(&req, rs);
    rs = pb_begin(&req, 1);
    size_t r = pb_begin(&req, 1);
    put_kv_int(&req, 1, "service.name", 5); /* not a string: no service */
    pb_end(&req, r);
    ss = begin_scope(&req, "s3");
    put_span(&req, TID2, 16, SID, 8, "b1");
    pb_end(&req, ss);
    pb_end(&req, rs);

    model_batch b;
    model_batch_init(&b);
    char err[256];
    assert_int_equal(decode(OTLP_TRACES, &req, &b, err), 0);
    assert_int_equal(b.nspans, 4);
    assert_ptr_equal(b.spans[0].origin, b.spans[1].origin);
    assert_ptr_not_equal(b.spans[1].origin, b.spans[2].origin);
    assert_ptr_not_equal(b.spans[2].origin, b.spans[3].origin);
    assert_str(b.spans[0].origin->scope_name, "s1");
    assert_str(b.spans[2].origin->scope_name, "s2");
    assert_str(b.spans[3].origin->scope_name, "s3");
    assert_str(b.spans[0].origin->service, "svc-a");
    assert_str(b.spans[2].origin->service, "svc-a");
    assert_int_equal(b.spans[3].origin->service.n, 0);
    assert_str(b.spans[3].name, "b1");
    const model_span *s = &b.spans[3];
    assert_int_equal(s->attrs.n, 0);
    assert_int_equal(s->events.n, 0);
    assert_int_equal(s->links.n, 0);
    assert_true(span_id_is_zero(&s->parent_span_id));
    assert_int_equal(s->kind, 0);
    assert_int_equal(s->status_code, 0);
    assert_int_equal(s->status_message.n, 0);
    buf_free(&req);
    model_batch_free(&b);
}

/* Protobuf allows fields in any order, repeats of a singular message (merged),
 * and unknown fields anywhere; oneof members present twice: the last wins. */
static void test_field_order_unknowns_and_merging(void **state)
{
    (void)state;
    buf req;
    buf_init(&req);
    pb_put_uint64(&req, 99, 1); /* unknown field in the request */
    size_t rs = pb_begin(&req, 1);
    pb_put_string(&req, 3, "https://res"); /* schema_url before everything */
    size_t ss = pb_begin(&req, 2);
    pb_put_fixed32(&req, 77, 1); /* unknown fixed32 */
    /* span before its scope, fields in reverse order, unknowns in between */
    size_t sp = pb_begin(&req, 2);
    pb_put_fixed32(&req, 16, 1);
    size_t st = pb_begin(&req, 15);
    pb_put_uint64(&req, 3, 1);
    pb_put_string(&req, 2, "ok");
    pb_end(&req, st);
    pb_put_fixed64(&req, 200, 1); /* unknown fixed64 */
    size_t kv = kv_begin(&req, 9, "one");
    size_t v = pb_begin(&req, 2);
    pb_put_string(&req, 1, "first");
    pb_put_int64(&req, 3, 42); /* last oneof member wins */
    pb_put_uint64(&req, 8, 3); /* string_value_strindex: ignored */
    pb_end(&req, v);
    pb_end(&req, kv);
    pb_put_fixed64(&req, 8, 20);
    pb_put_fixed64(&req, 7, 10);
    pb_put_uint64(&req, 6, 9); /* unknown SpanKind: unspecified */
    pb_put_string(&req, 5, "rev");
    size_t un = pb_begin(&req, 300); /* unknown nested message */
    pb_put_string(&req, 1, "ignored");
    pb_end(&req, un);
    pb_put_bytes(&req, 2, SID, 8);
    pb_put_bytes(&req, 1, TID, 16);
    pb_end(&req, sp);
    size_t sc = pb_begin(&req, 1);
    pb_put_string(&req, 2, "v1");
    pb_put_string(&req, 1, "late-scope");
    pb_end(&req, sc);
    pb_end(&req, ss);
    /* the resource after its scopes, and in two parts */
    size_t r = pb_begin(&req, 1);
    put_kv_str(&req, 1, "service.name", "svc");
    pb_end(&req, r);
    r = pb_begin(&req, 1);
    put_kv_str(&req, 1, "zone", "eu");
    pb_put_uint64(&req, 2, 8);
    pb_end(&req, r);
    pb_end(&req, rs);

    model_batch b;
    model_batch_init(&b);
    char err[256];
    assert_int_equal(decode(OTLP_TRACES, &req, &b, err), 0);
    assert_int_equal(b.nspans, 1);
    const model_span *s = &b.spans[0];
    assert_str(s->name, "rev");
    assert_int_equal(s->kind, 0);
    assert_true(s->start_ns == 10 && s->end_ns == 20);
    assert_int_equal(s->flags, 1);
    assert_int_equal(s->status_code, 1);
    assert_str(s->status_message, "ok");
    assert_str(s->origin->scope_name, "late-scope");
    assert_str(s->origin->scope_version, "v1");
    assert_str(s->origin->service, "svc");
    assert_str(s->origin->resource_schema_url, "https://res");
    assert_int_equal(s->origin->resource_dropped, 8);
    buf w;
    buf_init(&w);
    size_t c = av_begin_count(&w);
    av_put_key(&w, BSLICE_LIT("service.name"));
    av_put_str(&w, BSLICE_LIT("svc"));
    av_put_key(&w, BSLICE_LIT("zone"));
    av_put_str(&w, BSLICE_LIT("eu"));
    av_end_count(&w, c, 2);
    assert_slice_buf(s->origin->resource_attrs, &w);
    buf_reset(&w);
    c = av_begin_count(&w);
    av_put_key(&w, BSLICE_LIT("one"));
    av_put_int(&w, 42);
    av_end_count(&w, c, 1);
    assert_slice_buf(s->attrs, &w);
    buf_free(&w);
    buf_free(&req);
    model_batch_free(&b);
}

/* ---------------------------------------------------------------------------
 * Logs.
 * ------------------------------------------------------------------------- */
static void test_logs_every_field(void **state)
{
    (void)state;
    buf req;
    buf_init(&req);
    size_t rs = begin_resource(&req, "api");
    size_t ss = begin_scope(&req, "logger");
    size_t lr = pb_begin(&req, 2);
    pb_put_fixed64(&req, 1, 1700000000000000001ull);
    pb_put_fixed64(&req, 11, 1700000000000000002ull);
    pb_put_uint64(&req, 2, 17);
    pb_put_string(&req, 3, "ERROR");
    size_t body = pb_begin(&req, 5);
    size_t l = pb_begin(&req, 6);
    put_kv_str(&req, 1, "msg", "hi");
    put_kv_int(&req, 1, "n", 2);
    pb_end(&req, l);
    pb_end(&req, body);
    put_kv_str(&req, 6, "a", "b");
    pb_put_uint64(&req, 7, 3);
    pb_put_fixed32(&req, 8, 1);
    pb_put_bytes(&req, 9, TID, 16);
    pb_put_bytes(&req, 10, SID, 8);
    pb_put_string(&req, 12, "ev.name");
    pb_end(&req, lr);
    pb_end(&req, ss);
    pb_end(&req, rs);

    model_batch b;
    model_batch_init(&b);
    char err[256];
    assert_int_equal(decode(OTLP_LOGS, &req, &b, err), 0);
    assert_int_equal(b.nlogs, 1);
    const model_log *g = &b.logs[0];
    assert_str(g->origin->service, "api");
    assert_str(g->origin->scope_name, "logger");
    assert_true(g->time_ns == 1700000000000000001ull);
    assert_true(g->observed_ns == 1700000000000000002ull);
    assert_int_equal(g->severity_number, 17);
    assert_str(g->severity_text, "ERROR");
    assert_in_request(g->severity_text, &req);
    buf w;
    buf_init(&w);
    size_t k = av_begin_kvlist(&w);
    av_put_key(&w, BSLICE_LIT("msg"));
    av_put_str(&w, BSLICE_LIT("hi"));
    av_put_key(&w, BSLICE_LIT("n"));
    av_put_int(&w, 2);
    av_end_count(&w, k, 2);
    assert_slice_buf(g->body, &w);
    assert_int_equal(av_validate_value(g->body), 0);
    want_attr_str(&w, "a", "b");
    assert_slice_buf(g->attrs, &w);
    assert_int_equal(g->dropped_attrs, 3);
    assert_int_equal(g->flags, 1);
    assert_id(g->trace_id.b, TID, 16);
    assert_id(g->span_id.b, SID, 8);
    assert_str(g->event_name, "ev.name");
    assert_str(g->source, "otlp");
    assert_int_equal(g->id_form, ID_FORM_BINARY);
    assert_int_equal(g->id_field.n, 0);
    buf_free(&w);
    buf_free(&req);
    model_batch_free(&b);
}

/* Trace id absent or all zeros: no trace id (later stages may extract one);
 * no body: n == 0; an empty AnyValue body is AV_EMPTY. */
static void test_logs_ids_and_bodies(void **state)
{
    (void)state;
    buf req;
    buf_init(&req);
    size_t rs = begin_resource(&req, NULL);
    size_t ss = begin_scope(&req, "s");
    size_t lr = pb_begin(&req, 2); /* 0: nothing at all */
    pb_end(&req, lr);
    lr = pb_begin(&req, 2); /* 1: zero trace id, span id, empty body */
    pb_put_bytes(&req, 9, ZERO, 16);
    pb_put_bytes(&req, 10, SID, 8);
    size_t v = pb_begin(&req, 5);
    pb_end(&req, v);
    pb_end(&req, lr);
    lr = pb_begin(&req, 2); /* 2: empty (present) ids */
    pb_put_bytes(&req, 9, NULL, 0);
    pb_put_bytes(&req, 10, NULL, 0);
    pb_put_uint64(&req, 2, 99); /* out-of-range severity: unspecified */
    pb_end(&req, lr);
    pb_end(&req, ss);
    pb_end(&req, rs);

    model_batch b;
    model_batch_init(&b);
    char err[256];
    assert_int_equal(decode(OTLP_LOGS, &req, &b, err), 0);
    assert_int_equal(b.nlogs, 3);
    assert_int_equal(b.rejected, 0);
    for (size_t i = 0; i < 3; i++) {
        assert_true(trace_id_is_zero(&b.logs[i].trace_id));
        assert_int_equal(b.logs[i].id_form, ID_FORM_NONE);
        assert_str(b.logs[i].source, "otlp");
        assert_int_equal(b.logs[i].origin->service.n, 0);
    }
    assert_int_equal(b.logs[0].body.n, 0);
    assert_int_equal(b.logs[1].body.n, 1);
    assert_int_equal(b.logs[1].body.p[0], AV_EMPTY);
    assert_id(b.logs[1].span_id.b, SID, 8);
    assert_true(span_id_is_zero(&b.logs[2].span_id));
    assert_int_equal(b.logs[2].severity_number, 0);
    buf_free(&req);
    model_batch_free(&b);
}

/* ---------------------------------------------------------------------------
 * Metrics.
 * ------------------------------------------------------------------------- */
static void test_metrics_gauge_and_sum(void **state)
{
    (void)state;
    buf req;
    buf_init(&req);
    size_t rs = begin_resource(&req, "svc");
    size_t ss = begin_scope(&req, "meter");
    /* gauge, double value, one exemplar with every field */
    size_t m = pb_begin(&req, 2);
    pb_put_string(&req, 1, "cpu.util");
    pb_put_string(&req, 2, "CPU use");
    pb_put_string(&req, 3, "1");
    put_kv_str(&req, 12, "meta", "x");
    size_t g = pb_begin(&req, 5);
    size_t p = pb_begin(&req, 1);
    put_kv_str(&req, 7, "cpu", "0");
    pb_put_fixed64(&req, 2, 100);
    pb_put_fixed64(&req, 3, 200);
    pb_put_double(&req, 4, 0.75);
    pb_put_uint64(&req, 8, 1);
    size_t ex = pb_begin(&req, 5);
    put_kv_str(&req, 7, "f", "g");
    pb_put_fixed64(&req, 2, 150);
    pb_put_double(&req, 3, 0.9);
    pb_put_bytes(&req, 4, SID, 8);
    pb_put_bytes(&req, 5, TID, 16);
    pb_end(&req, ex);
    pb_end(&req, p);
    pb_end(&req, g);
    pb_end(&req, m);
    /* sum, int values, cumulative, monotonic; temporality after the points */
    m = pb_begin(&req, 2);
    pb_put_string(&req, 1, "requests");
    size_t sm = pb_begin(&req, 7);
    for (int i = 0; i < 2; i++) {
        p = pb_begin(&req, 1);
        pb_put_fixed64(&req, 3, 300 + (uint64_t)i);
        pb_put_fixed64(&req, 6, (uint64_t)(int64_t)(i ? -7 : 12));
        if (i) {
            ex = pb_begin(&req, 5);
            pb_put_fixed64(&req, 6, (uint64_t)(int64_t)-3);
            pb_end(&req, ex);
        }
        pb_end(&req, p);
    }
    pb_put_uint64(&req, 2, 2);
    pb_put_bool(&req, 3, true);
    pb_end(&req, sm);
    pb_end(&req, m);
    pb_end(&req, ss);
    pb_end(&req, rs);

    model_batch b;
    model_batch_init(&b);
    char err[256];
    assert_int_equal(decode(OTLP_METRICS, &req, &b, err), 0);
    assert_int_equal(b.nmetrics, 3);
    assert_int_equal(b.nexemplars, 2);
    buf w;
    buf_init(&w);

    const model_metric *pt = &b.metrics[0];
    assert_str(pt->origin->service, "svc");
    assert_str(pt->name, "cpu.util");
    assert_in_request(pt->name, &req);
    assert_str(pt->description, "CPU use");
    assert_str(pt->unit, "1");
    want_attr_str(&w, "meta", "x");
    assert_slice_buf(pt->metadata, &w);
    assert_int_equal(pt->type, METRIC_GAUGE);
    assert_int_equal(pt->temporality, 0);
    assert_int_equal(pt->monotonic, 0);
    assert_int_equal(pt->is_int, 0);
    assert_true(pt->value_double == 0.75);
    assert_int_equal(pt->start_ns, 100);
    assert_int_equal(pt->time_ns, 200);
    assert_int_equal(pt->flags, 1);
    assert_int_equal(pt->payload.n, 0);
    want_attr_str(&w, "cpu", "0");
    assert_slice_buf(pt->attrs, &w);

    const model_exemplar *x = &b.exemplars[0];
    assert_ptr_equal(x->origin, pt->origin);
    assert_str(x->metric_name, "cpu.util");
    assert_int_equal(x->metric_type, METRIC_GAUGE);
    assert_slice_buf(x->series_attrs, &w);
    assert_int_equal(x->time_ns, 150);
    assert_int_equal(x->is_int, 0);
    assert_true(x->value_double == 0.9);
    assert_id(x->trace_id.b, TID, 16);
    assert_id(x->span_id.b, SID, 8);
    want_attr_str(&w, "f", "g");
    assert_slice_buf(x->filtered_attrs, &w);
    assert_int_equal(x->bucket, -1);

    for (int i = 0; i < 2; i++) {
        pt = &b.metrics[1 + i];
        assert_str(pt->name, "requests");
        assert_int_equal(pt->type, METRIC_SUM);
        assert_int_equal(pt->temporality, 2);
        assert_int_equal(pt->monotonic, 1);
        assert_int_equal(pt->is_int, 1);
        assert_int_equal(pt->value_int, i ? -7 : 12);
        assert_int_equal(pt->time_ns, 300 + i);
        assert_int_equal(pt->attrs.n, 0);
        assert_int_equal(pt->metadata.n, 0);
    }
    x = &b.exemplars[1];
    assert_int_equal(x->metric_type, METRIC_SUM);
    assert_int_equal(x->is_int, 1);
    assert_int_equal(x->value_int, -3);
    assert_true(trace_id_is_zero(&x->trace_id));
    assert_int_equal(x->bucket, -1);
    buf_free(&w);
    buf_free(&req);
    model_batch_free(&b);
}

/* Histogram payload bytes, the same from packed and unpacked repeated fields,
 * and exemplars placed in the bucket their value falls in. */
static void test_metrics_histogram(void **state)
{
    (void)state;
    const uint64_t counts[] = {1, 4, 5};
    const double bounds[] = {1.0, 10.0};
    buf req;
    buf_init(&req);
    size_t rs = begin_resource(&req, "svc");
    size_t ss = begin_scope(&req, "meter");
    size_t m = pb_begin(&req, 2);
    pb_put_string(&req, 1, "latency");
    pb_put_string(&req, 3, "ms");
    size_t h = pb_begin(&req, 9);
    pb_put_uint64(&req, 2, 1);
    for (int packed = 1; packed >= 0; packed--) {
        size_t p = pb_begin(&req, 1);
        put_kv_str(&req, 9, "route", "/pay");
        pb_put_fixed64(&req, 2, 10);
        pb_put_fixed64(&req, 3, 20);
        pb_put_fixed64(&req, 4, 10);
        pb_put_double(&req, 5, 55.5);
        if (packed) {
            pb_put_packed_fixed64(&req, 6, counts, 3);
            pb_put_packed_double(&req, 7, bounds, 2);
        } else {
            for (int i = 0; i < 3; i++)
                pb_put_fixed64(&req, 6, counts[i]);
            for (int i = 0; i < 2; i++)
                pb_put_double(&req, 7, bounds[i]);
        }
        pb_put_uint64(&req, 10, 0);
        pb_put_double(&req, 11, 0.5);
        pb_put_double(&req, 12, 20.0);
        if (packed) {
            const double vals[] = {0.5, 10.0, 15.0};
            for (int i = 0; i < 3; i++) {
                size_t ex = pb_begin(&req, 8);
                pb_put_double(&req, 3, vals[i]);
                pb_put_bytes(&req, 5, TID, 16);
                pb_end(&req, ex);
            }
            size_t ex = pb_begin(&req, 8);
            pb_put_fixed64(&req, 6, 3); /* as_int 3 -> bucket 1 */
            pb_end(&req, ex);
        }
        pb_end(&req, p);
    }
    size_t p = pb_begin(&req, 1); /* no sum/min/max, no buckets */
    pb_put_fixed64(&req, 4, 0);
    pb_end(&req, p);
    pb_end(&req, h);
    pb_end(&req, m);
    pb_end(&req, ss);
    pb_end(&req, rs);

    model_batch b;
    model_batch_init(&b);
    char err[256];
    assert_int_equal(decode(OTLP_METRICS, &req, &b, err), 0);
    assert_int_equal(b.nmetrics, 3);
    buf w;
    buf_init(&w);
    buf_put_u64le(&w, 10);
    put_f64(&w, 55.5);
    buf_putc(&w, 1);
    put_f64(&w, 0.5);
    buf_putc(&w, 1);
    put_f64(&w, 20.0);
    buf_putc(&w, 1);
    buf_put_u32le(&w, 3);
    for (int i = 0; i < 3; i++)
        buf_put_u64le(&w, counts[i]);
    buf_put_u32le(&w, 2);
    for (int i = 0; i < 2; i++)
        put_f64(&w, bounds[i]);
    for (int i = 0; i < 2; i++) {
        const model_metric *pt = &b.metrics[i];
        assert_int_equal(pt->type, METRIC_HISTOGRAM);
        assert_int_equal(pt->temporality, 1);
        assert_str(pt->unit, "ms");
        assert_int_equal(pt->start_ns, 10);
        assert_int_equal(pt->time_ns, 20);
        assert_slice_buf(pt->payload, &w);
    }
    buf_reset(&w);
    buf_put_u64le(&w, 0);
    put_f64(&w, 0);
    buf_putc(&w, 0);
    put_f64(&w, 0);
    buf_putc(&w, 0);
    put_f64(&w, 0);
    buf_putc(&w, 0);
    buf_put_u32le(&w, 0);
    buf_put_u32le(&w, 0);
    assert_slice_buf(b.metrics[2].payload, &w);

    assert_int_equal(b.nexemplars, 4);
    const int32_t want_bucket[] = {0, 1, 2, 1};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(b.exemplars[i].bucket, want_bucket[i]);
        assert_int_equal(b.exemplars[i].metric_type, METRIC_HISTOGRAM);
        assert_str(b.exemplars[i].metric_name, "latency");
        assert_ptr_equal(b.exemplars[i].series_attrs.p, b.metrics[0].attrs.p);
    }
    assert_int_equal(b.exemplars[3].is_int, 1);
    assert_int_equal(b.exemplars[3].value_int, 3);
    buf_free(&w);
    buf_free(&req);
    model_batch_free(&b);
}

static void test_metrics_exponential_histogram(void **state)
{
    (void)state;
    buf req;
    buf_init(&req);
    size_t rs = begin_resource(&req, "svc");
    size_t ss = begin_scope(&req, "meter");
    size_t m = pb_begin(&req, 2);
    pb_put_string(&req, 1, "size");
    size_t h = pb_begin(&req, 10);
    size_t p = pb_begin(&req, 1);
    put_kv_str(&req, 1, "k", "v");
    pb_put_fixed64(&req, 2, 1);
    pb_put_fixed64(&req, 3, 2);
    pb_put_fixed64(&req, 4, 7);
    pb_put_double(&req, 5, 3.5);
    pb_put_sint64(&req, 6, -2);
    pb_put_fixed64(&req, 7, 1);
    size_t bk = pb_begin(&req, 8);
    pb_put_sint64(&req, 1, -3);
    const uint64_t pos[] = {1, 2};
    pb_put_packed_varint(&req, 2, pos, 2);
    pb_end(&req, bk);
    bk = pb_begin(&req, 9);
    pb_put_sint64(&req, 1, 5);
    pb_put_uint64(&req, 2, 3); /* unpacked */
    pb_put_uint64(&req, 2, 300);
    pb_end(&req, bk);
    pb_put_uint64(&req, 10, 1);
    size_t ex = pb_begin(&req, 11);
    pb_put_double(&req, 3, 2.0);
    pb_end(&req, ex);
    pb_put_double(&req, 12, -1.0);
    pb_put_double(&req, 13, 4.0);
    pb_put_double(&req, 14, 1e-9);
    pb_end(&req, p);
    pb_put_uint64(&req, 2, 2);
    pb_end(&req, h);
    pb_end(&req, m);
    pb_end(&req, ss);
    pb_end(&req, rs);

    model_batch b;
    model_batch_init(&b);
    char err[256];
    assert_int_equal(decode(OTLP_METRICS, &req, &b, err), 0);
    assert_int_equal(b.nmetrics, 1);
    const model_metric *pt = &b.metrics[0];
    assert_int_equal(pt->type, METRIC_EXP_HISTOGRAM);
    assert_int_equal(pt->temporality, 2);
    assert_int_equal(pt->flags, 1);
    buf w;
    buf_init(&w);
    want_attr_str(&w, "k", "v");
    assert_slice_buf(pt->attrs, &w);
    buf_reset(&w);
    buf_put_u64le(&w, 7);
    put_f64(&w, 3.5);
    buf_putc(&w, 1);
    buf_put_u32le(&w, (uint32_t)-2);
    buf_put_u64le(&w, 1);
    put_f64(&w, 1e-9);
    put_f64(&w, -1.0);
    buf_putc(&w, 1);
    put_f64(&w, 4.0);
    buf_putc(&w, 1);
    buf_put_u32le(&w, (uint32_t)-3);
    buf_put_u32le(&w, 2);
    buf_put_u64le(&w, 1);
    buf_put_u64le(&w, 2);
    buf_put_u32le(&w, 5);
    buf_put_u32le(&w, 2);
    buf_put_u64le(&w, 3);
    buf_put_u64le(&w, 300);
    assert_slice_buf(pt->payload, &w);
    assert_int_equal(b.nexemplars, 1);
    assert_int_equal(b.exemplars[0].bucket, -1);
    assert_int_equal(b.exemplars[0].metric_type, METRIC_EXP_HISTOGRAM);
    buf mj;
    buf_init(&mj);
    assert_int_equal(model_metric_payload_to_json(&mj, pt->type, pt->payload), 0);
    buf_free(&mj);
    buf_free(&w);
    buf_free(&req);
    model_batch_free(&b);
}

static void test_metrics_summary(void **state)
{
    (void)state;
    buf req;
    buf_init(&req);
    size_t rs = begin_resource(&req, "svc");
    size_t ss = begin_scope(&req, "meter");
    size_t m = pb_begin(&req, 2);
    pb_put_string(&req, 1, "rpc.duration");
    size_t s = pb_begin(&req, 11);
    size_t p = pb_begin(&req, 1);
    put_kv_str(&req, 7, "rpc", "get");
    pb_put_fixed64(&req, 3, 9);
    pb_put_fixed64(&req, 4, 4);
    pb_put_double(&req, 5, 10.0);
    size_t q = pb_begin(&req, 6);
    pb_put_double(&req, 1, 0.5);
    pb_put_double(&req, 2, 2.0);
    pb_end(&req, q);
    q = pb_begin(&req, 6);
    pb_put_double(&req, 2, 4.0); /* value before quantile */
    pb_put_double(&req, 1, 0.99);
    pb_end(&req, q);
    pb_put_uint64(&req, 8, 1);
    pb_end(&req, p);
    pb_end(&req, s);
    pb_end(&req, m);
    pb_end(&req, ss);
    pb_end(&req, rs);

    model_batch b;
    model_batch_init(&b);
    char err[256];
    assert_int_equal(decode(OTLP_METRICS, &req, &b, err), 0);
    assert_int_equal(b.nmetrics, 1);
    const model_metric *pt = &b.metrics[0];
    assert_int_equal(pt->type, METRIC_SUMMARY);
    assert_int_equal(pt->time_ns, 9);
    assert_int_equal(pt->flags, 1);
    buf w;
    buf_init(&w);
    want_attr_str(&w, "rpc", "get");
    assert_slice_buf(pt->attrs, &w);
    buf_reset(&w);
    buf_put_u64le(&w, 4);
    put_f64(&w, 10.0);
    buf_put_u32le(&w, 2);
    put_f64(&w, 0.5);
    put_f64(&w, 2.0);
    put_f64(&w, 0.99);
    put_f64(&w, 4.0);
    assert_slice_buf(pt->payload, &w);
    buf_free(&w);
    buf_free(&req);
    model_batch_free(&b);
}

/* ---------------------------------------------------------------------------
 * AnyValue depth.
 * ------------------------------------------------------------------------- */
static void test_anyvalue_depth(void **state)
{
    (void)state;
    static const struct {
        size_t levels;
        bool accepted;
    } cases[] = {{1, true}, {AV_MAX_DEPTH, true}, {AV_MAX_DEPTH + 1, false}, {20000, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf req;
        buf_init(&req);
        size_t rs = begin_resource(&req, "svc");
        size_t ss = begin_scope(&req, "s");
        size_t lr = pb_begin(&req, 2);
        put_deep_anyvalue(&req, 5, cases[i].levels);
        size_t kv = kv_begin(&req, 6, "deep");
        put_deep_anyvalue(&req, 2, cases[i].levels);
        pb_end(&req, kv);
        pb_end(&req, lr);
        pb_end(&req, ss);
        pb_end(&req, rs);
        model_batch b;
        model_batch_init(&b);
        char err[256];
        assert_int_equal(decode(OTLP_LOGS, &req, &b, err), 0);
        if (cases[i].accepted) {
            assert_int_equal(b.nlogs, 1);
            const model_log *g = &b.logs[0];
            assert_int_equal(av_validate_value(g->body), 0);
            assert_int_equal(av_validate_attrs(g->attrs), 0);
            av_iter it;
            bslice key, val;
            av_iter_init(&it, g->attrs);
            assert_int_equal(av_iter_next(&it, &key, &val), 1);
            assert_str(key, "deep");
            assert_int_equal(val.n, g->body.n);
            /* levels - 1 arrays of one element, then int 7 */
            assert_int_equal(g->body.n, (cases[i].levels - 1) * 5 + 9);
            assert_int_equal(g->body.p[g->body.n - 9], AV_INT);
        } else {
            assert_int_equal(b.nlogs, 0);
            assert_int_equal(b.rejected, 1);
            assert_string_equal(b.reject_msg,
                                "log record 0: body has AnyValue nesting deeper than 32 levels");
        }
        buf_free(&req);
        model_batch_free(&b);
    }
}

/* ---------------------------------------------------------------------------
 * Partial success: refused records, with the first reason.
 * ------------------------------------------------------------------------- */
static void ps_span_tid12(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    put_span(r, TID, 12, SID, 8, "bad");
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_tid_zero(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    put_span(r, ZERO, 16, SID, 8, "bad");
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_tid_missing(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_bytes(r, 2, SID, 8);
    pb_end(r, sp);
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_sid7(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    put_span(r, TID, 16, SID, 7, "bad");
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_sid_zero(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    put_span(r, TID, 16, ZERO, 8, "bad");
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_parent3(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_bytes(r, 1, TID, 16);
    pb_put_bytes(r, 2, SID, 8);
    pb_put_bytes(r, 4, PSID, 3);
    pb_end(r, sp);
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_name_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    put_span(r, TID, 16, SID, 8, "good");
    put_span(r, TID, 16, SID, 8, BAD_UTF8);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_nested_attr_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_bytes(r, 1, TID, 16);
    pb_put_bytes(r, 2, SID, 8);
    put_kv_str(r, 9, "fine", "yes");
    size_t kv = kv_begin(r, 9, "list"), v = pb_begin(r, 2), a = pb_begin(r, 5), x = pb_begin(r, 1);
    pb_put_string(r, 1, BAD_UTF8);
    pb_end(r, x);
    pb_end(r, a);
    pb_end(r, v);
    pb_end(r, kv);
    pb_end(r, sp);
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_attr_key_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_bytes(r, 1, TID, 16);
    pb_put_bytes(r, 2, SID, 8);
    put_kv_str(r, 9, BAD_UTF8, "v");
    pb_end(r, sp);
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_event_name_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_bytes(r, 1, TID, 16);
    pb_put_bytes(r, 2, SID, 8);
    size_t ev = pb_begin(r, 11);
    pb_put_string(r, 2, BAD_UTF8);
    pb_end(r, ev);
    pb_end(r, sp);
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_link_tid4(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_bytes(r, 1, TID, 16);
    pb_put_bytes(r, 2, SID, 8);
    size_t lk = pb_begin(r, 13);
    pb_put_bytes(r, 1, TID, 4);
    pb_put_bytes(r, 2, SID, 8);
    pb_end(r, lk);
    pb_end(r, sp);
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_status_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_bytes(r, 1, TID, 16);
    pb_put_bytes(r, 2, SID, 8);
    size_t st = pb_begin(r, 15);
    pb_put_string(r, 2, BAD_UTF8);
    pb_end(r, st);
    pb_end(r, sp);
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_resource_utf8(buf *r)
{
    size_t rs = pb_begin(r, 1), res = pb_begin(r, 1);
    put_kv_str(r, 1, "service.name", BAD_UTF8);
    pb_end(r, res);
    size_t ss = begin_scope(r, "s");
    put_span(r, TID, 16, SID, 8, "bad1");
    put_span(r, TID, 16, SID, 8, "bad2");
    pb_end(r, ss);
    pb_end(r, rs);
    rs = begin_resource(r, "svc");
    ss = begin_scope(r, "s");
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_scope_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc");
    size_t ss = begin_scope(r, BAD_UTF8);
    put_span(r, TID, 16, SID, 8, "bad");
    pb_end(r, ss);
    ss = begin_scope(r, "s");
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_resource_schema_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc");
    size_t ss = begin_scope(r, "s");
    put_span(r, TID, 16, SID, 8, "bad");
    pb_end(r, ss);
    pb_put_string(r, 3, BAD_UTF8);
    pb_end(r, rs);
    rs = begin_resource(r, "svc");
    ss = begin_scope(r, "s");
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_span_attr_too_deep(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_bytes(r, 1, TID, 16);
    pb_put_bytes(r, 2, SID, 8);
    size_t kv = kv_begin(r, 9, "deep");
    put_deep_anyvalue(r, 2, AV_MAX_DEPTH + 1);
    pb_end(r, kv);
    pb_end(r, sp);
    put_span(r, TID, 16, SID, 8, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_log_tid5(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t lr = pb_begin(r, 2);
    pb_put_bytes(r, 9, TID, 5);
    pb_end(r, lr);
    put_log(r, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_log_sid3(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t lr = pb_begin(r, 2);
    pb_put_bytes(r, 9, TID, 16);
    pb_put_bytes(r, 10, SID, 3);
    pb_end(r, lr);
    put_log(r, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_log_body_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    put_log(r, BAD_UTF8);
    put_log(r, "good");
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_log_severity_text_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    put_log(r, "good");
    size_t lr = pb_begin(r, 2);
    pb_put_string(r, 3, BAD_UTF8);
    pb_end(r, lr);
    pb_end(r, ss);
    pb_end(r, rs);
}
/* Point 0 has a good and a bad exemplar; point 1 one good exemplar. */
static void exemplar_points(buf *r, uint32_t bad_field, size_t bad_len)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t m = pb_begin(r, 2);
    pb_put_string(r, 1, "g");
    size_t g = pb_begin(r, 5);
    for (int i = 0; i < 2; i++) {
        size_t p = pb_begin(r, 1);
        pb_put_double(r, 4, 1.0);
        size_t ex = pb_begin(r, 5);
        pb_put_bytes(r, 5, TID, 16);
        pb_put_bytes(r, 4, SID, 8);
        pb_end(r, ex);
        if (i == 0) {
            ex = pb_begin(r, 5);
            pb_put_bytes(r, bad_field, TID, bad_len);
            pb_end(r, ex);
        }
        pb_end(r, p);
    }
    pb_end(r, g);
    pb_end(r, m);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_exemplar_tid3(buf *r)
{
    exemplar_points(r, 5, 3);
}
static void ps_exemplar_sid9(buf *r)
{
    exemplar_points(r, 4, 9);
}
static void ps_metric_name_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    const double two[] = {1, 2}, one[] = {3};
    put_gauge(r, BAD_UTF8, two, 2);
    put_gauge(r, "good", one, 1);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_point_attr_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t m = pb_begin(r, 2);
    pb_put_string(r, 1, "g");
    size_t g = pb_begin(r, 5);
    size_t p = pb_begin(r, 1);
    put_kv_str(r, 7, BAD_UTF8, "x");
    pb_end(r, p);
    p = pb_begin(r, 1);
    pb_end(r, p);
    pb_end(r, g);
    pb_end(r, m);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void ps_metadata_utf8(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t m = pb_begin(r, 2);
    pb_put_string(r, 1, "g");
    size_t g = pb_begin(r, 5);
    for (int i = 0; i < 3; i++) {
        size_t p = pb_begin(r, 1);
        pb_end(r, p);
    }
    pb_end(r, g);
    put_kv_str(r, 12, BAD_UTF8, "x");
    pb_end(r, m);
    const double one[] = {3};
    put_gauge(r, "good", one, 1);
    pb_end(r, ss);
    pb_end(r, rs);
}

typedef struct {
    const char *why;
    otlp_kind kind;
    void (*build)(buf *);
    uint64_t rejected;
    const char *msg;
    size_t rows;      /* rows kept (spans, logs or metric points) */
    size_t exemplars; /* exemplar rows kept */
} ps_case;

static const ps_case PS[] = {
    {"span trace_id of 12 bytes", OTLP_TRACES, ps_span_tid12, 1,
     "span 0: trace_id must be 16 bytes, got 12", 1, 0},
    {"span trace_id all zeros", OTLP_TRACES, ps_span_tid_zero, 1,
     "span 0: trace_id must not be all zeros", 1, 0},
    {"span without trace_id", OTLP_TRACES, ps_span_tid_missing, 1,
     "span 0: trace_id must be 16 bytes, got 0", 1, 0},
    {"span_id of 7 bytes", OTLP_TRACES, ps_span_sid7, 1, "span 0: span_id must be 8 bytes, got 7",
     1, 0},
    {"span_id all zeros", OTLP_TRACES, ps_span_sid_zero, 1, "span 0: span_id must not be all zeros",
     1, 0},
    {"parent_span_id of 3 bytes", OTLP_TRACES, ps_span_parent3, 1,
     "span 0: parent_span_id must be empty or 8 bytes, got 3", 1, 0},
    {"second span's name is not UTF-8", OTLP_TRACES, ps_span_name_utf8, 1,
     "span 1: name is not valid UTF-8", 1, 0},
    {"string inside an array attribute is not UTF-8", OTLP_TRACES, ps_span_nested_attr_utf8, 1,
     "span 0: attributes[1].value.array_value.values[0].string_value is not valid UTF-8", 1, 0},
    {"attribute key is not UTF-8", OTLP_TRACES, ps_span_attr_key_utf8, 1,
     "span 0: attributes[0].key is not valid UTF-8", 1, 0},
    {"event name is not UTF-8", OTLP_TRACES, ps_span_event_name_utf8, 1,
     "span 0: events[0].name is not valid UTF-8", 1, 0},
    {"link trace_id of 4 bytes", OTLP_TRACES, ps_span_link_tid4, 1,
     "span 0: links[0].trace_id must be 16 bytes, got 4", 1, 0},
    {"status message is not UTF-8", OTLP_TRACES, ps_span_status_utf8, 1,
     "span 0: status.message is not valid UTF-8", 1, 0},
    {"bad resource refuses all its spans", OTLP_TRACES, ps_resource_utf8, 2,
     "span 0: resource.attributes[0].value.string_value is not valid UTF-8", 1, 0},
    {"bad scope refuses its spans only", OTLP_TRACES, ps_scope_utf8, 1,
     "span 0: scope.name is not valid UTF-8", 1, 0},
    {"resource schema_url after the spans", OTLP_TRACES, ps_resource_schema_utf8, 1,
     "span 0: schema_url is not valid UTF-8", 1, 0},
    {"attribute nested 33 levels", OTLP_TRACES, ps_span_attr_too_deep, 1,
     "span 0: attributes[0] has AnyValue nesting deeper than 32 levels", 1, 0},
    {"log trace_id of 5 bytes", OTLP_LOGS, ps_log_tid5, 1,
     "log record 0: trace_id must be 16 bytes, got 5", 1, 0},
    {"log span_id of 3 bytes", OTLP_LOGS, ps_log_sid3, 1,
     "log record 0: span_id must be 8 bytes, got 3", 1, 0},
    {"log body is not UTF-8", OTLP_LOGS, ps_log_body_utf8, 1,
     "log record 0: body.string_value is not valid UTF-8", 1, 0},
    {"log severity_text is not UTF-8", OTLP_LOGS, ps_log_severity_text_utf8, 1,
     "log record 1: severity_text is not valid UTF-8", 1, 0},
    {"exemplar trace_id of 3 bytes refuses the point and its exemplars", OTLP_METRICS,
     ps_exemplar_tid3, 1, "data point 0: exemplars[1].trace_id must be 16 bytes, got 3", 1, 1},
    {"exemplar span_id of 9 bytes", OTLP_METRICS, ps_exemplar_sid9, 1,
     "data point 0: exemplars[1].span_id must be 8 bytes, got 9", 1, 1},
    {"metric name not UTF-8 refuses all its points", OTLP_METRICS, ps_metric_name_utf8, 2,
     "data point 0: name is not valid UTF-8", 1, 0},
    {"point attribute key not UTF-8", OTLP_METRICS, ps_point_attr_utf8, 1,
     "data point 0: attributes[0].key is not valid UTF-8", 1, 0},
    {"metadata after the points refuses them all", OTLP_METRICS, ps_metadata_utf8, 3,
     "data point 0: metadata[0].key is not valid UTF-8", 1, 0},
};

static void test_partial_success_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof PS / sizeof PS[0]; i++) {
        const ps_case *c = &PS[i];
        buf req;
        buf_init(&req);
        c->build(&req);
        model_batch b;
        model_batch_init(&b);
        char err[256];
        int rc = decode(c->kind, &req, &b, err);
        size_t rows = c->kind == OTLP_TRACES ? b.nspans
                      : c->kind == OTLP_LOGS ? b.nlogs
                                             : b.nmetrics;
        if (rc != 0 || b.rejected != c->rejected || strcmp(b.reject_msg, c->msg) != 0 ||
            rows != c->rows || b.nexemplars != c->exemplars)
            fail_msg("case '%s': rc %d (%s) rejected %llu rows %zu exemplars %zu msg '%s'", c->why,
                     rc, err, (unsigned long long)b.rejected, rows, b.nexemplars, b.reject_msg);
        /* the rows kept are the good ones */
        if (c->kind == OTLP_TRACES)
            assert_str(b.spans[0].name, "good");
        if (c->kind == OTLP_LOGS) {
            bslice s;
            assert_int_equal(av_as_str(b.logs[0].body, &s), 1);
            assert_str(s, "good");
        }
        buf_free(&req);
        model_batch_free(&b);
    }
}

/* ---------------------------------------------------------------------------
 * Malformed requests: BRAID_EINVAL and a message naming message and field.
 * ------------------------------------------------------------------------- */
static void mf_log_body_past_end(buf *r)
{
    size_t rs = begin_resource(r, "svc");
    size_t ss = begin_scope(r, "s0");
    pb_end(r, ss);
    ss = begin_scope(r, "s1");
    for (int i = 0; i < 4; i++)
        put_log(r, "ok");
    const uint8_t rec[] = {0x2A, 0xAC, 0x02, 'a', 'b', 'c'}; /* body: length 300 */
    pb_put_bytes(r, 2, rec, sizeof rec);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_span_start_varint(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_uint64(r, 7, 1);
    pb_end(r, sp);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_group_in_resource(buf *r)
{
    size_t rs = pb_begin(r, 1);
    const uint8_t res[] = {0x2B, 0x2C}; /* field 5 start/end group */
    pb_put_bytes(r, 1, res, sizeof res);
    pb_end(r, rs);
}
static void mf_field_zero(buf *r)
{
    const uint8_t raw[] = {0x00, 0x01};
    buf_append(r, raw, sizeof raw);
}
static void mf_top_truncated(buf *r)
{
    const uint8_t raw[] = {0x0A, 0x0A, 0x01, 0x02};
    buf_append(r, raw, sizeof raw);
}
static void mf_packed_buckets_7(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t m = pb_begin(r, 2), h = pb_begin(r, 9), p = pb_begin(r, 1);
    pb_put_bytes(r, 6, "1234567", 7);
    pb_end(r, p);
    pb_end(r, h);
    pb_end(r, m);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_wire7_nested(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_bytes(r, 1, TID, 16);
    size_t kv = kv_begin(r, 9, "k"), v = pb_begin(r, 2), l = pb_begin(r, 6);
    size_t e = kv_begin(r, 1, "inner"), iv = pb_begin(r, 2);
    const uint8_t raw[] = {0x4F, 0x00}; /* field 9, wire type 7 */
    buf_append(r, raw, sizeof raw);
    pb_end(r, iv);
    pb_end(r, e);
    pb_end(r, l);
    pb_end(r, v);
    pb_end(r, kv);
    pb_end(r, sp);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_kvlist_as_varint(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    size_t kv = kv_begin(r, 9, "k"), v = pb_begin(r, 2);
    pb_put_uint64(r, 6, 1);
    pb_end(r, v);
    pb_end(r, kv);
    pb_end(r, sp);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_severity_cut(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    const uint8_t rec[] = {0x10, 0x91};
    pb_put_bytes(r, 2, rec, sizeof rec);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_exp_buckets_cut(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t m = pb_begin(r, 2), h = pb_begin(r, 10), p = pb_begin(r, 1), bk = pb_begin(r, 8);
    pb_put_bytes(r, 2, (const uint8_t[]){0x01, 0x80}, 2);
    pb_end(r, bk);
    pb_end(r, p);
    pb_end(r, h);
    pb_end(r, m);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_resource_spans_fixed32(buf *r)
{
    pb_put_fixed32(r, 1, 5);
}
static void mf_span_flags_varint(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_uint64(r, 16, 1);
    pb_end(r, sp);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_monotonic_fixed64(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t m = pb_begin(r, 2), s = pb_begin(r, 7);
    pb_put_fixed64(r, 3, 1);
    pb_end(r, s);
    pb_end(r, m);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_log_cut_tag(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    const uint8_t rec[] = {0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x80};
    pb_put_bytes(r, 2, rec, sizeof rec);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_in_rejected_record(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t sp = pb_begin(r, 2);
    pb_put_bytes(r, 1, TID, 3); /* refused anyway, still checked */
    const uint8_t raw[] = {0x4A, 0x02, 0x0A, 0x05};
    buf_append(r, raw, sizeof raw);
    pb_end(r, sp);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_exemplar_time_len(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = begin_scope(r, "s");
    size_t m = pb_begin(r, 2), g = pb_begin(r, 5), p = pb_begin(r, 1), ex = pb_begin(r, 5);
    pb_put_string(r, 2, "x");
    pb_end(r, ex);
    pb_end(r, p);
    pb_end(r, g);
    pb_end(r, m);
    pb_end(r, ss);
    pb_end(r, rs);
}
static void mf_scope_name_varint(buf *r)
{
    size_t rs = begin_resource(r, "svc"), ss = pb_begin(r, 2), s = pb_begin(r, 1);
    pb_put_uint64(r, 1, 3);
    pb_end(r, s);
    pb_end(r, ss);
    pb_end(r, rs);
}

typedef struct {
    const char *why;
    otlp_kind kind;
    void (*build)(buf *);
    const char *msg;
} mf_case;

#define SPAN0 "ExportTraceServiceRequest.resource_spans[0].scope_spans[0].spans[0]"
#define MET0 "ExportMetricsServiceRequest.resource_metrics[0].scope_metrics[0].metrics[0]"
static const mf_case MF[] = {
    {"body length past the end of its record", OTLP_LOGS, mf_log_body_past_end,
     "ExportLogsServiceRequest.resource_logs[0].scope_logs[1].log_records[4].body: length 300 "
     "past end of message (3 bytes left)"},
    {"fixed64 time sent as varint", OTLP_TRACES, mf_span_start_varint,
     SPAN0 ".start_time_unix_nano: wire type 0 (varint), expected fixed64"},
    {"group in a resource", OTLP_TRACES, mf_group_in_resource,
     "ExportTraceServiceRequest.resource_spans[0].resource field 5: groups (wire type 3) are not "
     "supported"},
    {"field number 0", OTLP_TRACES, mf_field_zero,
     "ExportTraceServiceRequest: field number 0 is invalid"},
    {"request cut short", OTLP_METRICS, mf_top_truncated,
     "ExportMetricsServiceRequest.resource_metrics: length 10 past end of message (2 bytes left)"},
    {"packed bucket_counts of 7 bytes", OTLP_METRICS, mf_packed_buckets_7,
     MET0 ".histogram.data_points[0].bucket_counts: packed fixed64 array length is not a "
          "multiple of 8 (7 left over)"},
    {"wire type 7 deep in an attribute", OTLP_TRACES, mf_wire7_nested,
     SPAN0 ".attributes[0].value.kvlist_value.values[0].value field 9: invalid wire type 7"},
    {"kvlist_value sent as varint", OTLP_TRACES, mf_kvlist_as_varint,
     SPAN0 ".attributes[0].value.kvlist_value: wire type 0 (varint), expected length-delimited"},
    {"severity_number varint cut", OTLP_LOGS, mf_severity_cut,
     "ExportLogsServiceRequest.resource_logs[0].scope_logs[0].log_records[0].severity_number: "
     "truncated or invalid varint"},
    {"packed uint64 bucket counts cut", OTLP_METRICS, mf_exp_buckets_cut,
     MET0 ".exponential_histogram.data_points[0].positive.bucket_counts: truncated or invalid "
          "varint"},
    {"resource_spans sent as fixed32", OTLP_TRACES, mf_resource_spans_fixed32,
     "ExportTraceServiceRequest.resource_spans: wire type 5 (fixed32), expected length-delimited"},
    {"span flags sent as varint", OTLP_TRACES, mf_span_flags_varint,
     SPAN0 ".flags: wire type 0 (varint), expected fixed32"},
    {"is_monotonic sent as fixed64", OTLP_METRICS, mf_monotonic_fixed64,
     MET0 ".sum.is_monotonic: wire type 1 (fixed64), expected varint"},
    {"record ends in half a tag", OTLP_LOGS, mf_log_cut_tag,
     "ExportLogsServiceRequest.resource_logs[0].scope_logs[0].log_records[0]: truncated or "
     "invalid field tag"},
    {"malformed data inside a refused record", OTLP_TRACES, mf_in_rejected_record,
     SPAN0 ".attributes[0].key: length 5 past end of message (0 bytes left)"},
    {"exemplar time sent as bytes", OTLP_METRICS, mf_exemplar_time_len,
     MET0 ".gauge.data_points[0].exemplars[0].time_unix_nano: wire type 2 (length-delimited), "
          "expected fixed64"},
    {"scope name sent as varint", OTLP_TRACES, mf_scope_name_varint,
     "ExportTraceServiceRequest.resource_spans[0].scope_spans[0].scope.name: wire type 0 "
     "(varint), expected length-delimited"},
};

static void test_malformed_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof MF / sizeof MF[0]; i++) {
        const mf_case *c = &MF[i];
        buf req;
        buf_init(&req);
        c->build(&req);
        model_batch b;
        model_batch_init(&b);
        char err[256];
        int rc = decode(c->kind, &req, &b, err);
        if (rc != BRAID_EINVAL || strcmp(err, c->msg) != 0)
            fail_msg("case '%s': rc %d\n got: %s\nwant: %s", c->why, rc, err, c->msg);
        buf_free(&req);
        model_batch_free(&b);
    }
}

/* The error text is cut to errlen and always NUL-terminated. */
static void test_error_buffer_bounds(void **state)
{
    (void)state;
    buf req;
    buf_init(&req);
    mf_log_body_past_end(&req);
    model_batch b;
    model_batch_init(&b);
    char err[16];
    memset(err, 'x', sizeof err);
    assert_int_equal(otlp_decode_pb(OTLP_LOGS, req.p, req.n, &b, err, 10), BRAID_EINVAL);
    assert_string_equal(err, "ExportLog");
    assert_int_equal(err[10], 'x');
    assert_int_equal(otlp_decode_pb(OTLP_LOGS, req.p, req.n, &b, NULL, 0), BRAID_EINVAL);
    buf_free(&req);
    model_batch_free(&b);

    model_batch_init(&b);
    strcpy(err, "stale");
    assert_int_equal(otlp_decode_pb(OTLP_TRACES, NULL, 0, &b, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(b.nspans, 0);
    model_batch_free(&b);
}

/* ---------------------------------------------------------------------------
 * Payloads as the OpenTelemetry JS SDK (@opentelemetry/otlp-transformer,
 * ProtobufWriter) lays them out: ids as bytes, times as fixed64, attributes as
 * KeyValue in insertion order, dropped counts written even when 0, Resource
 * with dropped_attributes_count 0, span flags with the has-is-remote bit
 * (0x100) set, kind = API kind + 1, Status.code always present.
 * Traces: resource {service.name=checkout, telemetry.sdk.*}, scope
 * checkout-tracer 1.0.0; span payment.charge (CLIENT, child of eee19b7ec3c1b173,
 * attributes http.response.status_code=502, payment.provider=acme, retry=true,
 * amount=12.5, tags=[a,b], event "exception" with exception.type, status
 * ERROR "upstream timeout", flags 0x101) and its parent POST /checkout
 * (SERVER, remote parent: flags 0x301).
 * ------------------------------------------------------------------------- */
static const uint8_t SDK_TRACES[543] = {
    0x0a, 0x9c, 0x04, 0x0a, 0x8b, 0x01, 0x0a, 0x1a, 0x0a, 0x0c, 0x73, 0x65, 0x72, 0x76, 0x69, 0x63,
    0x65, 0x2e, 0x6e, 0x61, 0x6d, 0x65, 0x12, 0x0a, 0x0a, 0x08, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x6f,
    0x75, 0x74, 0x0a, 0x22, 0x0a, 0x16, 0x74, 0x65, 0x6c, 0x65, 0x6d, 0x65, 0x74, 0x72, 0x79, 0x2e,
    0x73, 0x64, 0x6b, 0x2e, 0x6c, 0x61, 0x6e, 0x67, 0x75, 0x61, 0x67, 0x65, 0x12, 0x08, 0x0a, 0x06,
    0x6e, 0x6f, 0x64, 0x65, 0x6a, 0x73, 0x0a, 0x25, 0x0a, 0x12, 0x74, 0x65, 0x6c, 0x65, 0x6d, 0x65,
    0x74, 0x72, 0x79, 0x2e, 0x73, 0x64, 0x6b, 0x2e, 0x6e, 0x61, 0x6d, 0x65, 0x12, 0x0f, 0x0a, 0x0d,
    0x6f, 0x70, 0x65, 0x6e, 0x74, 0x65, 0x6c, 0x65, 0x6d, 0x65, 0x74, 0x72, 0x79, 0x0a, 0x20, 0x0a,
    0x15, 0x74, 0x65, 0x6c, 0x65, 0x6d, 0x65, 0x74, 0x72, 0x79, 0x2e, 0x73, 0x64, 0x6b, 0x2e, 0x76,
    0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x12, 0x07, 0x0a, 0x05, 0x32, 0x2e, 0x30, 0x2e, 0x31, 0x10,
    0x00, 0x12, 0x8b, 0x03, 0x0a, 0x18, 0x0a, 0x0f, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x6f, 0x75, 0x74,
    0x2d, 0x74, 0x72, 0x61, 0x63, 0x65, 0x72, 0x12, 0x05, 0x31, 0x2e, 0x30, 0x2e, 0x30, 0x12, 0x9c,
    0x02, 0x0a, 0x10, 0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81,
    0x3f, 0xc6, 0x0c, 0x12, 0x08, 0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74, 0x22, 0x08, 0xee,
    0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73, 0x2a, 0x0e, 0x70, 0x61, 0x79, 0x6d, 0x65, 0x6e, 0x74,
    0x2e, 0x63, 0x68, 0x61, 0x72, 0x67, 0x65, 0x30, 0x03, 0x39, 0x15, 0xcd, 0x85, 0x3d, 0xfe, 0x9c,
    0x97, 0x17, 0x41, 0x00, 0xf9, 0x2c, 0xcb, 0xfe, 0x9c, 0x97, 0x17, 0x4a, 0x20, 0x0a, 0x19, 0x68,
    0x74, 0x74, 0x70, 0x2e, 0x72, 0x65, 0x73, 0x70, 0x6f, 0x6e, 0x73, 0x65, 0x2e, 0x73, 0x74, 0x61,
    0x74, 0x75, 0x73, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x12, 0x03, 0x18, 0xf6, 0x03, 0x4a, 0x1a, 0x0a,
    0x10, 0x70, 0x61, 0x79, 0x6d, 0x65, 0x6e, 0x74, 0x2e, 0x70, 0x72, 0x6f, 0x76, 0x69, 0x64, 0x65,
    0x72, 0x12, 0x06, 0x0a, 0x04, 0x61, 0x63, 0x6d, 0x65, 0x4a, 0x0b, 0x0a, 0x05, 0x72, 0x65, 0x74,
    0x72, 0x79, 0x12, 0x02, 0x10, 0x01, 0x4a, 0x13, 0x0a, 0x06, 0x61, 0x6d, 0x6f, 0x75, 0x6e, 0x74,
    0x12, 0x09, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x29, 0x40, 0x4a, 0x14, 0x0a, 0x04, 0x74,
    0x61, 0x67, 0x73, 0x12, 0x0c, 0x2a, 0x0a, 0x0a, 0x03, 0x0a, 0x01, 0x61, 0x0a, 0x03, 0x0a, 0x01,
    0x62, 0x50, 0x00, 0x5a, 0x38, 0x09, 0x00, 0x18, 0x37, 0xc5, 0xfe, 0x9c, 0x97, 0x17, 0x12, 0x09,
    0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x69, 0x6f, 0x6e, 0x1a, 0x20, 0x0a, 0x0e, 0x65, 0x78, 0x63,
    0x65, 0x70, 0x74, 0x69, 0x6f, 0x6e, 0x2e, 0x74, 0x79, 0x70, 0x65, 0x12, 0x0e, 0x0a, 0x0c, 0x54,
    0x69, 0x6d, 0x65, 0x6f, 0x75, 0x74, 0x45, 0x72, 0x72, 0x6f, 0x72, 0x20, 0x00, 0x60, 0x00, 0x70,
    0x00, 0x7a, 0x14, 0x12, 0x10, 0x75, 0x70, 0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x20, 0x74, 0x69,
    0x6d, 0x65, 0x6f, 0x75, 0x74, 0x18, 0x02, 0x85, 0x01, 0x01, 0x01, 0x00, 0x00, 0x12, 0x50, 0x0a,
    0x10, 0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6,
    0x0c, 0x12, 0x08, 0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73, 0x2a, 0x0e, 0x50, 0x4f, 0x53,
    0x54, 0x20, 0x2f, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x6f, 0x75, 0x74, 0x30, 0x02, 0x39, 0x00, 0xe1,
    0x1f, 0x3c, 0xfe, 0x9c, 0x97, 0x17, 0x41, 0x00, 0xda, 0x22, 0xd1, 0xfe, 0x9c, 0x97, 0x17, 0x50,
    0x00, 0x60, 0x00, 0x70, 0x00, 0x7a, 0x02, 0x18, 0x00, 0x85, 0x01, 0x01, 0x03, 0x00, 0x00,
};

static void test_sdk_traces_payload(void **state)
{
    (void)state;
    model_batch b;
    model_batch_init(&b);
    char err[256];
    assert_int_equal(
        otlp_decode_pb(OTLP_TRACES, SDK_TRACES, sizeof SDK_TRACES, &b, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(b.nspans, 2);
    assert_int_equal(b.rejected, 0);
    const model_span *s = &b.spans[0];
    const model_origin *o = s->origin;
    assert_str(o->service, "checkout");
    assert_str(o->scope_name, "checkout-tracer");
    assert_str(o->scope_version, "1.0.0");
    assert_int_equal(o->resource_dropped, 0);
    bslice v, str;
    assert_int_equal(av_find(o->resource_attrs, "telemetry.sdk.language", &v), 1);
    assert_int_equal(av_as_str(v, &str), 1);
    assert_str(str, "nodejs");
    assert_int_equal(av_find(o->resource_attrs, "telemetry.sdk.version", &v), 1);
    assert_int_equal(av_as_str(v, &str), 1);
    assert_str(str, "2.0.1");

    assert_id(s->trace_id.b, TID, 16);
    assert_id(s->span_id.b, SID, 8);
    assert_id(s->parent_span_id.b, PSID, 8);
    assert_str(s->name, "payment.charge");
    assert_int_equal(s->kind, 3);
    assert_true(s->start_ns == 1700000000123456789ull);
    assert_true(s->end_ns == 1700000002500000000ull);
    assert_int_equal(s->flags, 0x101);
    assert_int_equal(s->status_code, 2);
    assert_str(s->status_message, "upstream timeout");
    assert_int_equal(s->trace_state.n, 0);
    buf w;
    buf_init(&w);
    size_t c = av_begin_count(&w);
    av_put_key(&w, BSLICE_LIT("http.response.status_code"));
    av_put_int(&w, 502);
    av_put_key(&w, BSLICE_LIT("payment.provider"));
    av_put_str(&w, BSLICE_LIT("acme"));
    av_put_key(&w, BSLICE_LIT("retry"));
    av_put_bool(&w, true);
    av_put_key(&w, BSLICE_LIT("amount"));
    av_put_double(&w, 12.5);
    av_put_key(&w, BSLICE_LIT("tags"));
    size_t a = av_begin_array(&w);
    av_put_str(&w, BSLICE_LIT("a"));
    av_put_str(&w, BSLICE_LIT("b"));
    av_end_count(&w, a, 2);
    av_end_count(&w, c, 5);
    assert_slice_buf(s->attrs, &w);
    buf ea;
    buf_init(&ea);
    want_attr_str(&ea, "exception.type", "TimeoutError");
    buf_reset(&w);
    buf_put_u32le(&w, 1);
    buf_put_u64le(&w, 1700000002400000000ull);
    buf_put_u32le(&w, 9);
    buf_puts(&w, "exception");
    buf_put_u32le(&w, (uint32_t)ea.n);
    buf_append(&w, ea.p, ea.n);
    buf_put_u32le(&w, 0);
    assert_slice_buf(s->events, &w);
    assert_int_equal(s->links.n, 0);

    s = &b.spans[1];
    assert_ptr_equal(s->origin, o);
    assert_str(s->name, "POST /checkout");
    assert_int_equal(s->kind, 2);
    assert_true(span_id_is_zero(&s->parent_span_id));
    assert_id(s->span_id.b, PSID, 8);
    assert_int_equal(s->flags, 0x301);
    assert_int_equal(s->status_code, 0);
    assert_int_equal(s->status_message.n, 0);
    assert_int_equal(s->attrs.n, 0);
    assert_int_equal(s->events.n, 0);
    assert_true(s->end_ns - s->start_ns == 2500000000ull);
    buf_free(&ea);
    buf_free(&w);
    model_batch_free(&b);
}

/* Logs from the same SDK: an ERROR record inside the payment.charge span
 * (trace flags 1, ids as bytes) and an INFO event record with a map body
 * outside any span (no flags, no ids). */
static const uint8_t SDK_LOGS[390] = {
    0x0a, 0x83, 0x03, 0x0a, 0x8b, 0x01, 0x0a, 0x1a, 0x0a, 0x0c, 0x73, 0x65, 0x72, 0x76, 0x69, 0x63,
    0x65, 0x2e, 0x6e, 0x61, 0x6d, 0x65, 0x12, 0x0a, 0x0a, 0x08, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x6f,
    0x75, 0x74, 0x0a, 0x22, 0x0a, 0x16, 0x74, 0x65, 0x6c, 0x65, 0x6d, 0x65, 0x74, 0x72, 0x79, 0x2e,
    0x73, 0x64, 0x6b, 0x2e, 0x6c, 0x61, 0x6e, 0x67, 0x75, 0x61, 0x67, 0x65, 0x12, 0x08, 0x0a, 0x06,
    0x6e, 0x6f, 0x64, 0x65, 0x6a, 0x73, 0x0a, 0x25, 0x0a, 0x12, 0x74, 0x65, 0x6c, 0x65, 0x6d, 0x65,
    0x74, 0x72, 0x79, 0x2e, 0x73, 0x64, 0x6b, 0x2e, 0x6e, 0x61, 0x6d, 0x65, 0x12, 0x0f, 0x0a, 0x0d,
    0x6f, 0x70, 0x65, 0x6e, 0x74, 0x65, 0x6c, 0x65, 0x6d, 0x65, 0x74, 0x72, 0x79, 0x0a, 0x20, 0x0a,
    0x15, 0x74, 0x65, 0x6c, 0x65, 0x6d, 0x65, 0x74, 0x72, 0x79, 0x2e, 0x73, 0x64, 0x6b, 0x2e, 0x76,
    0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x12, 0x07, 0x0a, 0x05, 0x32, 0x2e, 0x30, 0x2e, 0x31, 0x10,
    0x00, 0x12, 0xf2, 0x01, 0x0a, 0x11, 0x0a, 0x0f, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x6f, 0x75, 0x74,
    0x2d, 0x6c, 0x6f, 0x67, 0x67, 0x65, 0x72, 0x12, 0x86, 0x01, 0x09, 0x80, 0x08, 0x32, 0xc8, 0xfe,
    0x9c, 0x97, 0x17, 0x10, 0x11, 0x1a, 0x05, 0x45, 0x52, 0x52, 0x4f, 0x52, 0x2a, 0x21, 0x0a, 0x1f,
    0x63, 0x68, 0x61, 0x72, 0x67, 0x65, 0x20, 0x66, 0x61, 0x69, 0x6c, 0x65, 0x64, 0x3a, 0x20, 0x75,
    0x70, 0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x20, 0x74, 0x69, 0x6d, 0x65, 0x6f, 0x75, 0x74, 0x32,
    0x14, 0x0a, 0x08, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x2e, 0x69, 0x64, 0x12, 0x08, 0x0a, 0x06, 0x6f,
    0x2d, 0x31, 0x32, 0x33, 0x34, 0x32, 0x0d, 0x0a, 0x07, 0x61, 0x74, 0x74, 0x65, 0x6d, 0x70, 0x74,
    0x12, 0x02, 0x18, 0x03, 0x38, 0x00, 0x45, 0x01, 0x00, 0x00, 0x00, 0x4a, 0x10, 0x5b, 0x8e, 0xff,
    0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c, 0x52, 0x08, 0xee,
    0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74, 0x59, 0x20, 0x8f, 0x33, 0xc8, 0xfe, 0x9c, 0x97, 0x17,
    0x12, 0x54, 0x09, 0x00, 0x5e, 0xfa, 0xe8, 0xfe, 0x9c, 0x97, 0x17, 0x10, 0x09, 0x1a, 0x04, 0x49,
    0x4e, 0x46, 0x4f, 0x2a, 0x26, 0x32, 0x24, 0x0a, 0x11, 0x0a, 0x03, 0x6d, 0x73, 0x67, 0x12, 0x0a,
    0x0a, 0x08, 0x72, 0x65, 0x74, 0x72, 0x79, 0x69, 0x6e, 0x67, 0x0a, 0x0f, 0x0a, 0x08, 0x64, 0x65,
    0x6c, 0x61, 0x79, 0x5f, 0x6d, 0x73, 0x12, 0x03, 0x18, 0xfa, 0x01, 0x38, 0x00, 0x59, 0xe8, 0x61,
    0xfa, 0xe8, 0xfe, 0x9c, 0x97, 0x17, 0x62, 0x0e, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x6f, 0x75, 0x74,
    0x2e, 0x72, 0x65, 0x74, 0x72, 0x79,
};

static void test_sdk_logs_payload(void **state)
{
    (void)state;
    model_batch b;
    model_batch_init(&b);
    char err[256];
    assert_int_equal(otlp_decode_pb(OTLP_LOGS, SDK_LOGS, sizeof SDK_LOGS, &b, err, sizeof err), 0);
    assert_int_equal(b.nlogs, 2);
    const model_log *g = &b.logs[0];
    assert_str(g->origin->service, "checkout");
    assert_str(g->origin->scope_name, "checkout-logger");
    assert_int_equal(g->origin->scope_version.n, 0);
    assert_true(g->time_ns == 1700000002450000000ull);
    assert_true(g->observed_ns == 1700000002450100000ull);
    assert_int_equal(g->severity_number, 17);
    assert_str(g->severity_text, "ERROR");
    bslice body;
    assert_int_equal(av_as_str(g->body, &body), 1);
    assert_str(body, "charge failed: upstream timeout");
    assert_int_equal(g->flags, 1);
    assert_id(g->trace_id.b, TID, 16);
    assert_id(g->span_id.b, SID, 8);
    assert_int_equal(g->id_form, ID_FORM_BINARY);
    buf w;
    buf_init(&w);
    size_t c = av_begin_count(&w);
    av_put_key(&w, BSLICE_LIT("order.id"));
    av_put_str(&w, BSLICE_LIT("o-1234"));
    av_put_key(&w, BSLICE_LIT("attempt"));
    av_put_int(&w, 3);
    av_end_count(&w, c, 2);
    assert_slice_buf(g->attrs, &w);

    g = &b.logs[1];
    assert_int_equal(g->severity_number, 9);
    assert_str(g->severity_text, "INFO");
    assert_str(g->event_name, "checkout.retry");
    assert_true(trace_id_is_zero(&g->trace_id));
    assert_int_equal(g->id_form, ID_FORM_NONE);
    assert_int_equal(g->flags, 0);
    buf_reset(&w);
    size_t k = av_begin_kvlist(&w);
    av_put_key(&w, BSLICE_LIT("msg"));
    av_put_str(&w, BSLICE_LIT("retrying"));
    av_put_key(&w, BSLICE_LIT("delay_ms"));
    av_put_int(&w, 250);
    av_end_count(&w, k, 2);
    assert_slice_buf(g->body, &w);
    assert_int_equal(g->attrs.n, 0);
    buf_free(&w);
    model_batch_free(&b);
}

/* ---------------------------------------------------------------------------
 * Responses.
 * ------------------------------------------------------------------------- */
static void test_responses(void **state)
{
    (void)state;
    buf out;
    buf_init(&out);
    otlp_encode_response_pb(OTLP_TRACES, 0, NULL, &out);
    otlp_encode_response_pb(OTLP_LOGS, 0, "", &out);
    assert_int_equal(out.n, 0); /* full success: an empty message */

    otlp_encode_response_pb(OTLP_LOGS, 3, "bad", &out);
    const uint8_t want1[] = {0x0A, 0x07, 0x08, 0x03, 0x12, 0x03, 'b', 'a', 'd'};
    assert_int_equal(out.n, sizeof want1);
    assert_memory_equal(out.p, want1, sizeof want1);

    buf_reset(&out);
    otlp_encode_response_pb(OTLP_METRICS, 0, "warn", &out);
    const uint8_t want2[] = {0x0A, 0x06, 0x12, 0x04, 'w', 'a', 'r', 'n'};
    assert_int_equal(out.n, sizeof want2);
    assert_memory_equal(out.p, want2, sizeof want2);

    buf_reset(&out);
    buf_putc(&out, 0xEE); /* appends, does not reset */
    otlp_encode_response_pb(OTLP_TRACES, 300, NULL, &out);
    const uint8_t want3[] = {0xEE, 0x0A, 0x03, 0x08, 0xAC, 0x02};
    assert_int_equal(out.n, sizeof want3);
    assert_memory_equal(out.p, want3, sizeof want3);

    buf_reset(&out);
    otlp_encode_status_pb(8, "over the memory limit", &out);
    assert_int_equal(out.n, 2 + 2 + 21);
    assert_memory_equal(out.p, ((const uint8_t[]){0x08, 0x08, 0x12, 21}), 4);
    assert_memory_equal(out.p + 4, "over the memory limit", 21);

    buf_reset(&out);
    otlp_encode_status_pb(0, NULL, &out);
    assert_int_equal(out.n, 0);
    otlp_encode_status_pb(3, "", &out);
    assert_int_equal(out.n, 2);
    assert_memory_equal(out.p, ((const uint8_t[]){0x08, 0x03}), 2);

    /* the partial-success message round-trips through the reader */
    buf_reset(&out);
    char msg[200];
    memset(msg, 'm', sizeof msg - 1);
    msg[sizeof msg - 1] = 0;
    otlp_encode_response_pb(OTLP_TRACES, 1, msg, &out);
    pb_reader r, in;
    pb_field f;
    pb_reader_init(&r, out.p, out.n);
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.num, 1);
    pb_reader_init_slice(&in, f.s);
    assert_int_equal(pb_next(&in, &f), 1);
    assert_int_equal(f.v, 1);
    assert_int_equal(pb_next(&in, &f), 1);
    assert_int_equal(f.s.n, 199);
    assert_int_equal(pb_next(&in, &f), 0);
    assert_int_equal(pb_next(&r, &f), 0);
    buf_free(&out);
}

/* ---------------------------------------------------------------------------
 * UTF-8.
 * ------------------------------------------------------------------------- */
static void test_utf8_table(void **state)
{
    (void)state;
    static const struct {
        const char *why;
        const char *s;
        bool valid;
    } cases[] = {
        {"empty", "", true},
        {"ASCII", "hello, world", true},
        {"long ASCII run", "0123456789abcdefghijklmnopqrstuvwxyz", true},
        {"2-byte (é)", "caf\xC3\xA9", true},
        {"3-byte (€)", "\xE2\x82\xAC", true},
        {"4-byte (😀)", "\xF0\x9F\x98\x80", true},
        {"U+0080, smallest 2-byte", "\xC2\x80", true},
        {"U+0800, smallest 3-byte", "\xE0\xA0\x80", true},
        {"U+D7FF, below surrogates", "\xED\x9F\xBF", true},
        {"U+E000, above surrogates", "\xEE\x80\x80", true},
        {"U+10000, smallest 4-byte", "\xF0\x90\x80\x80", true},
        {"U+10FFFF, largest", "\xF4\x8F\xBF\xBF", true},
        {"multibyte after an 8-byte ASCII run", "abcdefgh\xC3\xA9xyz", true},
        {"overlong NUL (C0 80)", "\xC0\x80", false},
        {"overlong '/' (C1 BF)", "\xC1\xBF", false},
        {"overlong 3-byte (E0 80 AF)", "\xE0\x80\xAF", false},
        {"overlong 3-byte (E0 9F BF)", "\xE0\x9F\xBF", false},
        {"overlong 4-byte (F0 8F BF BF)", "\xF0\x8F\xBF\xBF", false},
        {"surrogate U+D800", "\xED\xA0\x80", false},
        {"surrogate U+DFFF", "\xED\xBF\xBF", false},
        {"U+110000", "\xF4\x90\x80\x80", false},
        {"F5 lead byte", "\xF5\x80\x80\x80", false},
        {"FF byte", "\xFF", false},
        {"lone continuation byte", "a\x80z", false},
        {"2-byte cut at the end", "abc\xC3", false},
        {"3-byte cut at the end", "\xE2\x82", false},
        {"4-byte cut at the end", "\xF0\x9F\x98", false},
        {"bad continuation in 3-byte", "\xE2\x28\xA1", false},
        {"bad third byte in 4-byte", "\xF0\x9F\x28\x80", false},
        {"invalid byte after an 8-byte ASCII run", "abcdefgh\xFE", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool got = otlp_utf8_valid((const uint8_t *)cases[i].s, strlen(cases[i].s));
        if (got != cases[i].valid)
            fail_msg("case '%s': got %d", cases[i].why, got);
    }
    /* embedded NUL is a valid code point */
    assert_true(otlp_utf8_valid((const uint8_t *)"a\0b", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traces_every_field),
        cmocka_unit_test(test_traces_origins),
        cmocka_unit_test(test_field_order_unknowns_and_merging),
        cmocka_unit_test(test_logs_every_field),
        cmocka_unit_test(test_logs_ids_and_bodies),
        cmocka_unit_test(test_metrics_gauge_and_sum),
        cmocka_unit_test(test_metrics_histogram),
        cmocka_unit_test(test_metrics_exponential_histogram),
        cmocka_unit_test(test_metrics_summary),
        cmocka_unit_test(test_anyvalue_depth),
        cmocka_unit_test(test_partial_success_table),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_error_buffer_bounds),
        cmocka_unit_test(test_sdk_traces_payload),
        cmocka_unit_test(test_sdk_logs_payload),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_utf8_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

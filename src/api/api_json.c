/* api/json: renders spans, log records and exemplars as the JSON objects the
 * native API returns (docs/api.md). Pure functions appending to a buf. */
#include "api.h"

static const char *kind_name(int32_t k)
{
    static const char *names[] = {"unspecified", "internal", "server",
                                  "client",      "producer", "consumer"};
    return k >= 0 && k <= 5 ? names[k] : "unspecified";
}

static const char *status_name(int32_t c)
{
    return c == 1 ? "ok" : c == 2 ? "error" : "unset";
}

static void put_trace_id(buf *out, const char *key, const trace_id_t *t)
{
    char h[33];
    if (trace_id_is_zero(t))
        h[0] = 0;
    else
        trace_id_hex(t, h);
    buf_printf(out, "\"%s\":\"%s\"", key, h);
}

static void put_span_id(buf *out, const char *key, const span_id_t *s)
{
    char h[17];
    if (span_id_is_zero(s))
        h[0] = 0;
    else
        span_id_hex(s, h);
    buf_printf(out, "\"%s\":\"%s\"", key, h);
}

static void put_ns(buf *out, const char *key, uint64_t ns)
{
    buf_printf(out, "\"%s\":\"%llu\"", key, (unsigned long long)ns);
}

static void put_str(buf *out, const char *key, bslice s)
{
    buf_printf(out, "\"%s\":", key);
    json_put_str(out, s);
}

static void put_origin(buf *out, const model_origin *o)
{
    static const model_origin none;
    if (!o)
        o = &none;
    buf_puts(out, ",\"resource\":");
    av_attrs_to_json(out, o->resource_attrs);
    buf_puts(out, ",\"scope\":{");
    put_str(out, "name", o->scope_name);
    buf_putc(out, ',');
    put_str(out, "version", o->scope_version);
    buf_puts(out, ",\"attributes\":");
    av_attrs_to_json(out, o->scope_attrs);
    buf_putc(out, '}');
}

static const char *id_form_name(uint8_t f)
{
    static const char *names[] = {"",        "hex32", "hex32_upper", "hex16", "traceparent",
                                  "decimal", "binary"};
    return f < sizeof names / sizeof names[0] ? names[f] : "";
}

static bslice origin_service(const model_origin *o)
{
    return o ? o->service : (bslice){NULL, 0};
}

void api_json_span(buf *out, const model_span *s)
{
    buf_putc(out, '{');
    put_trace_id(out, "trace_id", &s->trace_id);
    buf_putc(out, ',');
    put_span_id(out, "span_id", &s->span_id);
    buf_putc(out, ',');
    put_span_id(out, "parent_span_id", &s->parent_span_id);
    buf_putc(out, ',');
    put_str(out, "name", s->name);
    buf_printf(out, ",\"kind\":\"%s\",", kind_name(s->kind));
    put_str(out, "service", origin_service(s->origin));
    buf_putc(out, ',');
    put_ns(out, "start_unix_nano", s->start_ns);
    buf_putc(out, ',');
    put_ns(out, "end_unix_nano", s->end_ns);
    buf_putc(out, ',');
    put_ns(out, "duration_ns", s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0);
    buf_printf(out, ",\"status\":{\"code\":\"%s\",", status_name(s->status_code));
    put_str(out, "message", s->status_message);
    buf_puts(out, "},\"attributes\":");
    av_attrs_to_json(out, s->attrs);
    buf_puts(out, ",\"events\":");
    model_events_to_json(out, s->events);
    buf_puts(out, ",\"links\":");
    model_links_to_json(out, s->links);
    buf_putc(out, ',');
    put_str(out, "trace_state", s->trace_state);
    buf_printf(out,
               ",\"flags\":%u,\"dropped_attributes_count\":%u,\"dropped_events_count\":%u,"
               "\"dropped_links_count\":%u",
               s->flags, s->dropped_attrs, s->dropped_events, s->dropped_links);
    put_origin(out, s->origin);
    buf_putc(out, '}');
}

void api_json_log(buf *out, const model_log *l)
{
    buf_putc(out, '{');
    put_trace_id(out, "trace_id", &l->trace_id);
    buf_putc(out, ',');
    put_span_id(out, "span_id", &l->span_id);
    buf_putc(out, ',');
    put_ns(out, "time_unix_nano", l->time_ns);
    buf_putc(out, ',');
    put_ns(out, "observed_time_unix_nano", l->observed_ns);
    buf_putc(out, ',');
    put_str(out, "severity_text", l->severity_text);
    buf_printf(out, ",\"severity_number\":%d,", l->severity_number);
    put_str(out, "service", origin_service(l->origin));
    buf_puts(out, ",\"body\":");
    av_value_to_json(out, l->body);
    buf_puts(out, ",\"attributes\":");
    av_attrs_to_json(out, l->attrs);
    buf_printf(out, ",\"flags\":%u,", l->flags);
    put_str(out, "event_name", l->event_name);
    buf_putc(out, ',');
    put_str(out, "source", l->source);
    /* Where the trace id came from: the field it was extracted from (empty
     * when it arrived in the OTLP field itself) and how it was spelled. */
    buf_putc(out, ',');
    put_str(out, "trace_id_field", l->id_field);
    buf_printf(out, ",\"trace_id_form\":\"%s\"", id_form_name(l->id_form));
    buf_printf(out, ",\"dropped_attributes_count\":%u", l->dropped_attrs);
    put_origin(out, l->origin);
    buf_putc(out, '}');
}

void api_json_exemplar(buf *out, const model_exemplar *e)
{
    buf_putc(out, '{');
    put_trace_id(out, "trace_id", &e->trace_id);
    buf_putc(out, ',');
    put_span_id(out, "span_id", &e->span_id);
    buf_putc(out, ',');
    put_str(out, "metric", e->metric_name);
    buf_putc(out, ',');
    put_str(out, "service", origin_service(e->origin));
    buf_puts(out, ",\"labels\":");
    av_attrs_to_json(out, e->series_attrs);
    buf_putc(out, ',');
    put_ns(out, "time_unix_nano", e->time_ns);
    buf_puts(out, ",\"value\":");
    if (e->is_int)
        buf_printf(out, "%lld", (long long)e->value_int);
    else if (e->value_double != e->value_double)
        buf_puts(out, "\"NaN\"");
    else if (e->value_double > 1.7976931348623157e308 || e->value_double < -1.7976931348623157e308)
        buf_puts(out, e->value_double > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        buf_printf(out, "%.17g", e->value_double);
    buf_printf(out, ",\"bucket\":%d,\"filtered_attributes\":", e->bucket);
    av_attrs_to_json(out, e->filtered_attrs);
    buf_putc(out, '}');
}

/* Tests for src/logparse: one table of physical lines, each run through the
 * runtime layer and the message parser, with the exact trace/span id, form,
 * winning field, sampled flag, body, severity, time and attributes it must
 * give (one row per case, with its reason); then the joiner (CRI P/F, Docker
 * 16 KiB lines, splitting at the limit on UTF-8 boundaries), the time parsers,
 * and the search of OTLP records that arrived without a trace id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "logparse/logparse.h"

#define T32 "4bf92f3577b34da6a3ce929d0e0e4736"
#define T32U "4BF92F3577B34DA6A3CE929D0E0E4736"
#define S16 "00f067aa0ba902b7"
#define T2 "0af7651916cd43dd8448eb211c80319c"
#define S2 "b7ad6b7169203331"
#define TP "00-" T32 "-" S16 "-01"
#define NONE ((int64_t)-1)

typedef struct {
    const char *why;
    const char *line;
    int format;          /* expected logparse_format */
    const char *trace;   /* expected trace id (32 hex) or NULL for none */
    const char *span;    /* expected span id (16 hex) or NULL for none */
    int form;            /* expected id_form */
    const char *field;   /* expected id_field */
    int sampled;         /* -1 unknown, 0 not sampled, 1 sampled */
    const char *body;    /* expected body, NULL: not checked */
    int sev;             /* expected severity number, -1: not checked */
    const char *sevtext; /* expected severity text, NULL: not checked */
    int64_t time;        /* expected message time ns, NONE: not checked, 0: none */
    const char *has;     /* substring the attributes' JSON must contain, or NULL */
    const char *hasnt;   /* substring it must not contain, or NULL */
} row;

/* Shorthands: a row that checks ids only, and one that checks the rest. */
#define IDS(why, line, trace, span, form, field, sampled)                                          \
    {                                                                                              \
        why, line, LOGPARSE_PLAIN, trace, span, form, field, sampled, NULL, -1, NULL, NONE, NULL,  \
            NULL                                                                                   \
    }
#define NOID(why, line) IDS(why, line, NULL, NULL, ID_FORM_NONE, NULL, -1)

static const row rows[] = {
    /* ---- runtime formats ---- */
    {"CRI full line with a zap JSON message",
     "2024-04-12T10:00:00.123456789Z stdout F {\"level\":\"info\",\"ts\":1712916000.5,\"msg\":"
     "\"charged\",\"trace_id\":\"" T32 "\",\"span_id\":\"" S16 "\"}",
     LOGPARSE_CRI, T32, S16, ID_FORM_HEX32, "trace_id", -1, "charged", 9, "info",
     1712916000500000000, "\"trace_id\":\"" T32 "\"", "\"msg\""},
    {"CRI stderr with a plain ERROR line", "2024-04-12T10:00:00Z stderr F ERROR disk full",
     LOGPARSE_CRI, NULL, NULL, ID_FORM_NONE, NULL, -1, "ERROR disk full", 17, "ERROR", 0, NULL,
     NULL},
    {"CRI time with an offset zone and nanoseconds",
     "2024-04-12T12:00:00.000000001+02:00 stdout F hello", LOGPARSE_CRI, NULL, NULL, ID_FORM_NONE,
     NULL, -1, "hello", 0, NULL, 0, NULL, NULL},
    {"CRI with an unknown stream is plain text", "2024-04-12T10:00:00Z stdin F x", LOGPARSE_PLAIN,
     NULL, NULL, ID_FORM_NONE, NULL, -1, "2024-04-12T10:00:00Z stdin F x", 0, NULL, NONE, NULL,
     NULL},
    {"CRI without a zone in its time is plain text", "2024-04-12T10:00:00 stdout F x",
     LOGPARSE_PLAIN, NULL, NULL, ID_FORM_NONE, NULL, -1, NULL, -1, NULL, NONE, NULL, NULL},
    {"Docker json-file line holding a JSON message",
     "{\"log\":\"{\\\"msg\\\":\\\"hi\\\",\\\"traceId\\\":\\\"" T32
     "\\\"}\\n\",\"stream\":\"stdout\",\"time\":\"2024-04-12T10:00:00.5Z\"}",
     LOGPARSE_DOCKER, T32, NULL, ID_FORM_HEX32, "traceId", -1, "hi", 0, NULL, 0, NULL, NULL},
    {"Docker prefix but broken JSON is plain text", "{\"log\":broken", LOGPARSE_PLAIN, NULL, NULL,
     ID_FORM_NONE, NULL, -1, "{\"log\":broken", -1, NULL, NONE, NULL, NULL},
    {"plain text line", "hello world", LOGPARSE_PLAIN, NULL, NULL, ID_FORM_NONE, NULL, -1,
     "hello world", 0, NULL, 0, NULL, NULL},
    {"plain line with CRLF loses the CR", "hello\r", LOGPARSE_PLAIN, NULL, NULL, ID_FORM_NONE, NULL,
     -1, "hello", -1, NULL, NONE, NULL, NULL},

    /* ---- spellings, top level ---- */
    IDS("snake case", "{\"trace_id\":\"" T32 "\"}", T32, NULL, ID_FORM_HEX32, "trace_id", -1),
    IDS("camel case traceId/spanId", "{\"traceId\":\"" T32 "\",\"spanId\":\"" S16 "\"}", T32, S16,
        ID_FORM_HEX32, "traceId", -1),
    IDS("traceID/spanID (Go)", "{\"traceID\":\"" T32 "\",\"spanID\":\"" S16 "\"}", T32, S16,
        ID_FORM_HEX32, "traceID", -1),
    IDS("dotted key trace.id", "{\"trace.id\":\"" T32 "\",\"span.id\":\"" S16 "\"}", T32, S16,
        ID_FORM_HEX32, "trace.id", -1),
    IDS("kebab key trace-id", "{\"trace-id\":\"" T32 "\"}", T32, NULL, ID_FORM_HEX32, "trace-id",
        -1),
    IDS("Pascal case TraceId (.NET)", "{\"TraceId\":\"" T32 "\",\"SpanId\":\"" S16 "\"}", T32, S16,
        ID_FORM_HEX32, "TraceId", -1),
    IDS("OpenTelemetry Python logging names",
        "{\"otelTraceID\":\"" T32 "\",\"otelSpanID\":\"" S16 "\",\"otelTraceSampled\":true}", T32,
        S16, ID_FORM_HEX32, "otelTraceID", 1),
    IDS("Datadog dd.trace_id: 16 digits are decimal",
        "{\"dd.trace_id\":\"1234567890123456\",\"dd.span_id\":\"255\"}",
        "0000000000000000000462d53c8abac0", "00000000000000ff", ID_FORM_DECIMAL, "dd.trace_id", -1),
    IDS("Datadog id as a JSON number", "{\"dd.trace_id\":1234567890123456}",
        "0000000000000000000462d53c8abac0", NULL, ID_FORM_DECIMAL, "dd.trace_id", -1),
    IDS("Datadog 128-bit id logged as 32 hex", "{\"dd.trace_id\":\"" T32 "\"}", T32, NULL,
        ID_FORM_HEX32, "dd.trace_id", -1),
    IDS("traceparent gives trace, span and sampled", "{\"traceparent\":\"" TP "\"}", T32, S16,
        ID_FORM_TRACEPARENT, "traceparent", 1),
    IDS("traceparent with flags 00 is not sampled", "{\"traceparent\":\"00-" T32 "-" S16 "-00\"}",
        T32, S16, ID_FORM_TRACEPARENT, "traceparent", 0),
    IDS("B3 multi headers",
        "{\"x-b3-traceid\":\"" T32 "\",\"x-b3-spanid\":\"" S16 "\",\"x-b3-sampled\":\"1\"}", T32,
        S16, ID_FORM_HEX32, "x-b3-traceid", 1),
    IDS("B3 trace id is hex even when all digits", "{\"X-B3-TraceId\":\"1234567890123456\"}",
        "00000000000000001234567890123456", NULL, ID_FORM_HEX16, "X-B3-TraceId", -1),
    IDS("B3 single header", "{\"b3\":\"" T32 "-" S16 "-1\"}", T32, S16, ID_FORM_HEX32, "b3", 1),
    IDS("Jaeger uber-trace-id without leading zeros", "{\"uber-trace-id\":\"3f2a1b:5c:0:1\"}",
        "000000000000000000000000003f2a1b", "000000000000005c", ID_FORM_HEX16, "uber-trace-id", 1),
    IDS("Google Cloud structured logging trace",
        "{\"logging.googleapis.com/trace\":\"projects/shop/traces/" T32
        "\",\"logging.googleapis.com/spanId\":\"" S16 "\"}",
        T32, S16, ID_FORM_HEX32, "logging.googleapis.com/trace", -1),

    /* ---- nesting ---- */
    IDS("ECS nested trace.id / span.id",
        "{\"trace\":{\"id\":\"" T32 "\"},\"span\":{\"id\":\"" S16 "\"}}", T32, S16, ID_FORM_HEX32,
        "trace.id", -1),
    IDS("nested Datadog object", "{\"dd\":{\"trace_id\":\"123\",\"span_id\":\"456\"}}",
        "0000000000000000000000000000007b", "00000000000001c8", ID_FORM_DECIMAL, "dd.trace_id", -1),
    IDS("nested otel object", "{\"otel\":{\"trace_id\":\"" T32 "\",\"span_id\":\"" S16 "\"}}", T32,
        S16, ID_FORM_HEX32, "otel.trace_id", -1),
    IDS("trace_id under an MDC object", "{\"mdc\":{\"trace_id\":\"" T32 "\"}}", T32, NULL,
        ID_FORM_HEX32, "mdc.trace_id", -1),
    IDS("deeply nested Datadog under a context object", "{\"ctx\":{\"dd\":{\"trace_id\":\"77\"}}}",
        "0000000000000000000000000000004d", NULL, ID_FORM_DECIMAL, "ctx.dd.trace_id", -1),

    /* ---- forms ---- */
    IDS("upper-case hex is normalized", "{\"trace_id\":\"" T32U "\"}", T32, NULL,
        ID_FORM_HEX32_UPPER, "trace_id", -1),
    IDS("16 hex digits are a 64-bit id, padded", "{\"trace_id\":\"a3ce929d0e0e4736\"}",
        "0000000000000000a3ce929d0e0e4736", NULL, ID_FORM_HEX16, "trace_id", -1),
    IDS("short decimal under a generic name", "{\"trace_id\":\"12345\"}",
        "00000000000000000000000000003039", NULL, ID_FORM_DECIMAL, "trace_id", -1),
    IDS("surrounding blanks in the value", "{\"trace_id\":\" " T32 " \"}", T32, NULL, ID_FORM_HEX32,
        "trace_id", -1),

    /* ---- invalid and zero ---- */
    NOID("literal 0 means no id", "{\"trace_id\":\"0\"}"),
    NOID("32 zeros mean no id", "{\"trace_id\":\"00000000000000000000000000000000\"}"),
    NOID("number 0 means no id", "{\"dd.trace_id\":0}"),
    NOID("garbage value", "{\"trace_id\":\"not-a-trace\"}"),
    NOID("31 hex digits", "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e473\"}"),
    NOID("a UUID under trace_id is malformed",
         "{\"trace_id\":\"4bf92f35-77b3-4da6-a3ce-929d0e0e4736\"}"),
    NOID("empty string", "{\"trace_id\":\"\"}"),
    NOID("object where a string belongs", "{\"trace_id\":{\"x\":1}}"),
    NOID("traceparent with zero trace id", "{\"traceparent\":\"00-00000000000000000000000000000000-"
                                           "00f067aa0ba902b7-01\"}"),
    NOID("Datadog decimal overflow", "{\"dd.trace_id\":\"18446744073709551616\"}"),

    /* ---- must not match ---- */
    NOID("32-hex request id under another name", "{\"request_id\":\"" T32 "\"}"),
    NOID("UUID request id", "{\"requestId\":\"4bf92f35-77b3-4da6-a3ce-929d0e0e4736\"}"),
    NOID("32 hex inside the message text", "{\"msg\":\"request " T32 " failed\"}"),
    NOID("key only containing 'trace'", "{\"tracer\":\"" T32 "\",\"trace\":\"" T32 "\"}"),
    NOID("ids in an array belong to other traces", "{\"links\":[{\"trace_id\":\"" T32 "\"}]}"),
    NOID("bare 32 hex in text", "request 4bf92f3577b34da6a3ce929d0e0e4736 failed"),
    NOID("hex inside a URL query string", "GET /x?trace_id_hint=" T32 " 200"),
    IDS("parent_span_id is not the span id",
        "{\"trace_id\":\"" T32 "\",\"parent_span_id\":\"" S16 "\"}", T32, NULL, ID_FORM_HEX32,
        "trace_id", -1),
    NOID("a span id alone gives nothing", "{\"span_id\":\"" S16 "\"}"),

    /* ---- two candidates ---- */
    IDS("request_id and trace_id: trace_id wins",
        "{\"request_id\":\"" T2 "\",\"trace_id\":\"" T32 "\"}", T32, NULL, ID_FORM_HEX32,
        "trace_id", -1),
    IDS("dd.trace_id and trace_id: the 128-bit trace_id wins",
        "{\"dd.trace_id\":\"42\",\"dd.span_id\":\"7\",\"trace_id\":\"" T32 "\",\"span_id\":\"" S16
        "\"}",
        T32, S16, ID_FORM_HEX32, "trace_id", -1),
    IDS("trace_id beats traceparent; span from the trace_id family, sampled from the "
        "traceparent of the same trace",
        "{\"traceparent\":\"00-" T32 "-" S2 "-01\",\"trace_id\":\"" T32 "\",\"span_id\":\"" S16
        "\"}",
        T32, S16, ID_FORM_HEX32, "trace_id", 1),
    IDS("a traceparent of another trace lends no sampled flag",
        "{\"traceparent\":\"00-" T2 "-" S2 "-01\",\"trace_id\":\"" T32 "\"}", T32, NULL,
        ID_FORM_HEX32, "trace_id", -1),
    IDS("invalid trace_id falls back to dd.trace_id", "{\"trace_id\":\"0\",\"dd.trace_id\":\"99\"}",
        "00000000000000000000000000000063", NULL, ID_FORM_DECIMAL, "dd.trace_id", -1),
    IDS("otelTraceID beats trace_id", "{\"trace_id\":\"" T2 "\",\"otelTraceID\":\"" T32 "\"}", T32,
        NULL, ID_FORM_HEX32, "otelTraceID", -1),
    IDS("same name twice: the first wins", "{\"traceId\":\"" T32 "\",\"trace_id\":\"" T2 "\"}", T32,
        NULL, ID_FORM_HEX32, "traceId", -1),
    IDS("top-level trace_id and nested trace.id: same rank, first wins",
        "{\"trace\":{\"id\":\"" T2 "\"},\"trace_id\":\"" T32 "\"}", T2, NULL, ID_FORM_HEX32,
        "trace.id", -1),

    /* ---- text styles ---- */
    {"logfmt (go-kit, logrus)",
     "time=2024-04-12T10:00:00Z level=warn msg=\"slow query\" trace_id=" T32 " span_id=" S16
     " dur=5ms",
     LOGPARSE_PLAIN, T32, S16, ID_FORM_HEX32, "trace_id", -1, "slow query", 13, "warn",
     1712916000000000000, "\"dur\":\"5ms\"", "\"level\""},
    {"Log4j pattern with MDC trace_id= fragments",
     "2024-04-12 10:00:00,123 INFO  [http-nio-8080-exec-1] c.e.shop.Checkout - charging card "
     "trace_id=" T32 " span_id=" S16 " trace_flags=01",
     LOGPARSE_PLAIN, T32, S16, ID_FORM_HEX32, "trace_id", 1, NULL, 9, "INFO", 1712916000123000000,
     "\"span_id\":\"" S16 "\"", NULL},
    {"Log4j MDC map printed with commas",
     "2024-04-12 10:00:00,123 WARN [main] App - retry {trace_id=" T32 ", span_id=" S16 "}",
     LOGPARSE_PLAIN, T32, S16, ID_FORM_HEX32, "trace_id", -1, NULL, 13, "WARN", NONE, NULL, NULL},
    {"structlog console renderer with a padded level",
     "2024-04-12T10:00:00.123456Z [warning  ] payment retry      trace_id=" T32 " attempt=2",
     LOGPARSE_PLAIN, T32, NULL, ID_FORM_HEX32, "trace_id", -1, NULL, 13, "warning",
     1712916000123456000, "\"attempt\":\"2\"", NULL},
    {"nginx access line with traceparent=",
     "10.0.0.1 - - [12/Apr/2024:10:00:00 +0000] \"GET /api/cart HTTP/1.1\" 200 512 \"-\" "
     "\"curl/8.0\" traceparent=\"" TP "\"",
     LOGPARSE_PLAIN, T32, S16, ID_FORM_TRACEPARENT, "traceparent", 1, NULL, 0, NULL, 0, NULL, NULL},
    IDS("nginx line with a bare traceparent value",
        "10.0.0.1 - - [12/Apr/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"" TP "\"", T32, S16,
        ID_FORM_TRACEPARENT, "traceparent", 1),
    {"text with a key: value fragment is found but not an attribute",
     "request failed trace_id: " T32, LOGPARSE_PLAIN, T32, NULL, ID_FORM_HEX32, "trace_id", -1,
     NULL, -1, NULL, NONE, NULL, "trace_id"},
    {"truncated JSON is read as text, the id still found",
     "{\"level\":\"error\",\"trace_id\":\"" T32 "\",\"msg\":\"cut he", LOGPARSE_PLAIN, T32, NULL,
     ID_FORM_HEX32, "trace_id", -1,
     "{\"level\":\"error\",\"trace_id\":\"" T32 "\",\"msg\":\"cut he", -1, NULL, NONE, NULL, NULL},
    NOID("truncated JSON cut inside the id", "{\"trace_id\":\"4bf92f3577b34d"),

    /* ---- unicode and escapes ---- */
    {"unicode message kept byte for byte",
     "{\"msg\":\"caf\xc3\xa9 \xe2\x98\x95 \xe6\x97\xa5\xe6\x9c\xac\",\"trace_id\":\"" T32 "\"}",
     LOGPARSE_PLAIN, T32, NULL, ID_FORM_HEX32, "trace_id", -1,
     "caf\xc3\xa9 \xe2\x98\x95 \xe6\x97\xa5\xe6\x9c\xac", -1, NULL, NONE, NULL, NULL},
    {"JSON escapes in the message are decoded",
     "{\"msg\":\"a\\nb \\\"q\\\" \\u00e9 \\ud83d\\ude00\"}", LOGPARSE_PLAIN, NULL, NULL,
     ID_FORM_NONE, NULL, -1, "a\nb \"q\" \xc3\xa9 \xf0\x9f\x98\x80", -1, NULL, NONE, NULL, NULL},
    IDS("escaped key trace\\u005fid is trace_id", "{\"trace\\u005fid\":\"" T32 "\"}", T32, NULL,
        ID_FORM_HEX32, "trace_id", -1),
    {"invalid UTF-8 makes JSON text, the id still found",
     "{\"msg\":\"\xff\",\"trace_id\":\"" T32 "\"}", LOGPARSE_PLAIN, T32, NULL, ID_FORM_HEX32,
     "trace_id", -1, NULL, -1, NULL, NONE, NULL, NULL},

    /* ---- severity ---- */
    {"lvl WARNING", "{\"lvl\":\"WARNING\",\"msg\":\"x\"}", LOGPARSE_PLAIN, NULL, NULL, ID_FORM_NONE,
     NULL, -1, "x", 13, "WARNING", NONE, NULL, "lvl"},
    {"severity single letter E", "{\"severity\":\"E\",\"msg\":\"x\"}", LOGPARSE_PLAIN, NULL, NULL,
     ID_FORM_NONE, NULL, -1, "x", 17, "E", NONE, NULL, NULL},
    {"pino numeric level 50", "{\"level\":50,\"msg\":\"boom\",\"pid\":7}", LOGPARSE_PLAIN, NULL,
     NULL, ID_FORM_NONE, NULL, -1, "boom", 17, "ERROR", NONE, "\"pid\":7", "\"level\""},
    {"Python levelname CRITICAL", "{\"levelname\":\"CRITICAL\",\"message\":\"down\"}",
     LOGPARSE_PLAIN, NULL, NULL, ID_FORM_NONE, NULL, -1, "down", 21, "CRITICAL", NONE, NULL, NULL},
    {"ECS flattened log.level", "{\"log.level\":\"debug\",\"message\":\"m\"}", LOGPARSE_PLAIN, NULL,
     NULL, ID_FORM_NONE, NULL, -1, "m", 5, "debug", NONE, NULL, NULL},
    {"ECS nested log.level stays an attribute",
     "{\"log\":{\"level\":\"warn\",\"logger\":\"app\"},\"message\":\"m\"}", LOGPARSE_PLAIN, NULL,
     NULL, ID_FORM_NONE, NULL, -1, "m", 13, "warn", NONE, "\"logger\":\"app\"", NULL},
    {"Serilog CLEF @l/@m/@t",
     "{\"@t\":\"2024-04-12T10:00:00.0000000Z\",\"@l\":\"Error\",\"@m\":\"failed\"}", LOGPARSE_PLAIN,
     NULL, NULL, ID_FORM_NONE, NULL, -1, "failed", 17, "Error", 1712916000000000000, NULL, NULL},
    {"glog header", "E0412 10:00:00.123456    1 main.go:42] connect failed", LOGPARSE_PLAIN, NULL,
     NULL, ID_FORM_NONE, NULL, -1, NULL, 17, "ERROR", 0, NULL, NULL},
    {"bracketed [ERROR]", "[ERROR] disk full", LOGPARSE_PLAIN, NULL, NULL, ID_FORM_NONE, NULL, -1,
     NULL, 17, "ERROR", NONE, NULL, NULL},
    {"Python default format WARNING:root:", "WARNING:root:disk almost full", LOGPARSE_PLAIN, NULL,
     NULL, ID_FORM_NONE, NULL, -1, NULL, 13, "WARNING", NONE, NULL, NULL},
    {"lower-case prose is not a level", "error handling done", LOGPARSE_PLAIN, NULL, NULL,
     ID_FORM_NONE, NULL, -1, NULL, 0, NULL, NONE, NULL, NULL},
    {"unknown level value stays an attribute", "{\"level\":\"chatty\",\"msg\":\"x\"}",
     LOGPARSE_PLAIN, NULL, NULL, ID_FORM_NONE, NULL, -1, "x", 0, NULL, NONE, "\"level\":\"chatty\"",
     NULL},

    /* ---- time ---- */
    {"timestamp RFC 3339", "{\"timestamp\":\"2024-04-12T10:00:00Z\",\"msg\":\"x\"}", LOGPARSE_PLAIN,
     NULL, NULL, ID_FORM_NONE, NULL, -1, "x", -1, NULL, 1712916000000000000, NULL, "timestamp"},
    {"@timestamp with +00:00", "{\"@timestamp\":\"2024-04-12T10:00:00.250+00:00\"}", LOGPARSE_PLAIN,
     NULL, NULL, ID_FORM_NONE, NULL, -1, NULL, -1, NULL, 1712916000250000000, NULL, NULL},
    {"time as Unix milliseconds", "{\"time\":1712916000123,\"msg\":\"x\"}", LOGPARSE_PLAIN, NULL,
     NULL, ID_FORM_NONE, NULL, -1, "x", -1, NULL, 1712916000123000000, NULL, NULL},
    {"ts as a nanosecond string", "{\"ts\":\"1712916000123456789\",\"msg\":\"x\"}", LOGPARSE_PLAIN,
     NULL, NULL, ID_FORM_NONE, NULL, -1, "x", -1, NULL, 1712916000123456789, NULL, NULL},
    {"unparseable time stays an attribute", "{\"t\":\"soon\",\"msg\":\"x\"}", LOGPARSE_PLAIN, NULL,
     NULL, ID_FORM_NONE, NULL, -1, "x", -1, NULL, 0, "\"t\":\"soon\"", NULL},

    /* ---- message and attributes ---- */
    {"structlog JSON: event is the message", "{\"event\":\"user login\",\"level\":\"info\"}",
     LOGPARSE_PLAIN, NULL, NULL, ID_FORM_NONE, NULL, -1, "user login", 9, NULL, NONE, NULL, NULL},
    {"msg beats message; message stays an attribute", "{\"message\":\"second\",\"msg\":\"first\"}",
     LOGPARSE_PLAIN, NULL, NULL, ID_FORM_NONE, NULL, -1, "first", -1, NULL, NONE,
     "\"message\":\"second\"", NULL},
    {"no message field: the whole line is the body", "{\"a\":1}", LOGPARSE_PLAIN, NULL, NULL,
     ID_FORM_NONE, NULL, -1, "{\"a\":1}", -1, NULL, NONE, "\"a\":1", NULL},
    {"attribute types: int, double, bool, kvlist, array, null",
     "{\"msg\":\"m\",\"n\":42,\"f\":1.5,\"b\":true,\"o\":{\"k\":\"v\"},\"a\":[1,\"x\"],\"z\":null}",
     LOGPARSE_PLAIN, NULL, NULL, ID_FORM_NONE, NULL, -1, "m", -1, NULL, NONE,
     "{\"n\":42,\"f\":1.5,\"b\":true,\"o\":{\"k\":\"v\"},\"a\":[1,\"x\"],\"z\":null}", NULL},
    {"JSON array line is text", "[1,2]", LOGPARSE_PLAIN, NULL, NULL, ID_FORM_NONE, NULL, -1,
     "[1,2]", -1, NULL, NONE, NULL, NULL},
    {"trace_flags field gives the sampled bit",
     "{\"trace_id\":\"" T32 "\",\"span_id\":\"" S16 "\",\"trace_flags\":\"00\"}", LOGPARSE_PLAIN,
     T32, S16, ID_FORM_HEX32, "trace_id", 0, NULL, -1, NULL, NONE, NULL, NULL},
    {"logfmt with more pairs than the parser keeps between its passes",
     "a0=0 a1=1 a2=2 a3=3 a4=4 a5=5 a6=6 a7=7 a8=8 a9=9 b0=0 b1=1 b2=2 b3=3 b4=4 b5=5 b6=6 "
     "b7=7 b8=8 b9=9 c0=0 c1=1 c2=2 c3=3 c4=4 c5=5 c6=6 c7=7 c8=8 c9=9 d0=0 d1=1 d2=2 d3=3 "
     "msg=\"late message\" d4=4 trace_id=" T32 " d5=5",
     LOGPARSE_PLAIN, T32, NULL, ID_FORM_HEX32, "trace_id", -1, "late message", -1, NULL, NONE,
     "\"d3\":\"3\",\"d4\":\"4\",\"trace_id\":\"" T32 "\",\"d5\":\"5\"}", "msg"},
    {"logfmt with an upper-case id", "level=info msg=ok trace_id=" T32U, LOGPARSE_PLAIN, T32, NULL,
     ID_FORM_HEX32_UPPER, "trace_id", -1, "ok", 9, "info", NONE, "\"trace_id\":\"" T32U "\"", NULL},
};

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[b[i] >> 4];
        out[2 * i + 1] = h[b[i] & 15];
    }
    out[2 * n] = 0;
}

static void check_row(size_t i, const row *r)
{
    arena ar;
    arena_init(&ar);
    buf attrs, js;
    buf_init(&attrs);
    buf_init(&js);
    logparse_line l;
    assert_int_equal(0, logparse_runtime(bslice_cstr(r->line), &ar, &l));
    if (l.format != r->format)
        fail_msg("row %zu (%s): format %d, want %d", i, r->why, l.format, r->format);
    size_t pos = av_begin_count(&attrs);
    uint32_t n = 0;
    logparse_msg m;
    assert_int_equal(0, logparse_message(l.msg, &ar, &attrs, &n, &m));
    av_end_count(&attrs, pos, n);
    if (av_validate_attrs((bslice){attrs.p, attrs.n}) != 0)
        fail_msg("row %zu (%s): attributes do not validate", i, r->why);
    av_attrs_to_json(&js, (bslice){attrs.p, attrs.n});
    buf_putc(&js, 0);
    char th[33], sh[17];
    hex_of(m.ids.trace_id.b, 16, th);
    hex_of(m.ids.span_id.b, 8, sh);
    bool has_t = !trace_id_is_zero(&m.ids.trace_id), has_s = !span_id_is_zero(&m.ids.span_id);
    if (has_t != (r->trace != NULL) || (has_t && strcmp(th, r->trace) != 0))
        fail_msg("row %zu (%s): trace %s, want %s", i, r->why, has_t ? th : "none",
                 r->trace ? r->trace : "none");
    if (has_s != (r->span != NULL) || (has_s && strcmp(sh, r->span) != 0))
        fail_msg("row %zu (%s): span %s, want %s", i, r->why, has_s ? sh : "none",
                 r->span ? r->span : "none");
    if (m.ids.form != r->form)
        fail_msg("row %zu (%s): form %d, want %d", i, r->why, m.ids.form, r->form);
    if (r->field && !bslice_eq_cstr(m.ids.field, r->field))
        fail_msg("row %zu (%s): field \"%.*s\", want \"%s\"", i, r->why, (int)m.ids.field.n,
                 (const char *)m.ids.field.p, r->field);
    int sampled = m.ids.sampled_known ? m.ids.sampled : -1;
    if (r->trace && sampled != r->sampled)
        fail_msg("row %zu (%s): sampled %d, want %d", i, r->why, sampled, r->sampled);
    if (r->body && !bslice_eq_cstr(m.body, r->body))
        fail_msg("row %zu (%s): body \"%.*s\", want \"%s\"", i, r->why, (int)m.body.n,
                 (const char *)m.body.p, r->body);
    if (r->sev >= 0 && m.severity_number != r->sev)
        fail_msg("row %zu (%s): severity %d, want %d", i, r->why, m.severity_number, r->sev);
    if (r->sevtext && !bslice_eq_cstr(m.severity_text, r->sevtext))
        fail_msg("row %zu (%s): severity text \"%.*s\", want \"%s\"", i, r->why,
                 (int)m.severity_text.n, (const char *)m.severity_text.p, r->sevtext);
    if (r->time != NONE && (int64_t)m.time_ns != r->time)
        fail_msg("row %zu (%s): time %llu, want %lld", i, r->why, (unsigned long long)m.time_ns,
                 (long long)r->time);
    if (r->has && !strstr((const char *)js.p, r->has))
        fail_msg("row %zu (%s): attributes %s lack %s", i, r->why, (const char *)js.p, r->has);
    if (r->hasnt && strstr((const char *)js.p, r->hasnt))
        fail_msg("row %zu (%s): attributes %s have %s", i, r->why, (const char *)js.p, r->hasnt);
    buf_free(&attrs);
    buf_free(&js);
    arena_free(&ar);
}

static void test_table(void **state)
{
    (void)state;
    size_t n = sizeof rows / sizeof rows[0];
    assert_true(n >= 60);
    for (size_t i = 0; i < n; i++)
        check_row(i, &rows[i]);
}

/* The runtime times the table could not show (it checks message times). */
static void test_runtime_fields(void **state)
{
    (void)state;
    arena ar;
    arena_init(&ar);
    logparse_line l;
    assert_int_equal(0, logparse_runtime(BSLICE_LIT("2024-04-12T12:00:00.000000001+02:00 stderr "
                                                    "P part one"),
                                         &ar, &l));
    assert_int_equal(l.format, LOGPARSE_CRI);
    assert_int_equal(l.stream, LOGPARSE_STDERR);
    assert_true(l.partial);
    assert_int_equal(l.time_ns, 1712916000000000001ull);
    assert_true(bslice_eq_cstr(l.msg, "part one"));
    assert_int_equal(0, logparse_runtime(BSLICE_LIT("2024-04-12T10:00:00Z stdout F"), &ar, &l));
    assert_int_equal(l.format, LOGPARSE_CRI);
    assert_int_equal(l.msg.n, 0);
    assert_int_equal(0, logparse_runtime(BSLICE_LIT("{\"log\":\"half a line\",\"stream\":"
                                                    "\"stderr\",\"time\":\"2024-04-12T10:00:"
                                                    "01Z\"}"),
                                         &ar, &l));
    assert_int_equal(l.format, LOGPARSE_DOCKER);
    assert_int_equal(l.stream, LOGPARSE_STDERR);
    assert_true(l.partial);
    assert_int_equal(l.time_ns, 1712916001000000000ull);
    assert_true(bslice_eq_cstr(l.msg, "half a line"));
    arena_free(&ar);
}

/* ---- joiner ---- */
typedef struct {
    char msg[8][256];
    logparse_piece p[8];
    int n;
} sink;

static int collect(void *ud, const logparse_piece *p)
{
    sink *s = ud;
    assert_true(s->n < 8);
    assert_true(p->msg.n < 256);
    memcpy(s->msg[s->n], p->msg.p, p->msg.n);
    s->msg[s->n][p->msg.n] = 0;
    s->p[s->n] = *p;
    s->p[s->n].msg = (bslice){NULL, p->msg.n};
    s->n++;
    return 0;
}

static void feed_line(logparse_joiner *j, const char *line, sink *s)
{
    arena ar;
    arena_init(&ar);
    logparse_line l;
    assert_int_equal(0, logparse_runtime(bslice_cstr(line), &ar, &l));
    assert_int_equal(0, logparse_joiner_feed(j, &l, collect, s));
    arena_free(&ar);
}

static void test_cri_join(void **state)
{
    (void)state;
    logparse_joiner j;
    logparse_joiner_init(&j, 1 << 20);
    sink s = {0};
    feed_line(&j, "2024-04-12T10:00:00.1Z stdout P {\"msg\":\"hel", &s);
    feed_line(&j, "2024-04-12T10:00:00.2Z stderr F other stream whole", &s);
    feed_line(&j, "2024-04-12T10:00:00.3Z stdout P lo\",\"trace_", &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.msg[0], "other stream whole");
    assert_true(j.open[LOGPARSE_STDOUT]);
    feed_line(&j, "2024-04-12T10:00:00.4Z stdout F id\":\"" T32 "\"}", &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.msg[1], "{\"msg\":\"hello\",\"trace_id\":\"" T32 "\"}");
    assert_int_equal(s.p[1].time_ns, 1712916000100000000ull);
    assert_false(s.p[1].split);
    assert_true(s.p[1].last);
    assert_false(j.open[LOGPARSE_STDOUT]);
    logparse_joiner_free(&j);
}

static void test_docker_join(void **state)
{
    (void)state;
    logparse_joiner j;
    logparse_joiner_init(&j, 1 << 20);
    sink s = {0};
    feed_line(&j,
              "{\"log\":\"first 16 KiB \",\"stream\":\"stdout\",\"time\":\"2024-04-12T10:00:00Z\"}",
              &s);
    feed_line(&j, "{\"log\":\"rest\\n\",\"stream\":\"stdout\",\"time\":\"2024-04-12T10:00:01Z\"}",
              &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.msg[0], "first 16 KiB rest");
    assert_int_equal(s.p[0].format, LOGPARSE_DOCKER);
    assert_int_equal(s.p[0].time_ns, 1712916000000000000ull);
    logparse_joiner_free(&j);
}

static void test_split(void **state)
{
    (void)state;
    logparse_joiner j;
    logparse_joiner_init(&j, 64);
    sink s = {0};
    char line[200];
    memset(line, 'a', 150);
    line[150] = 0;
    feed_line(&j, line, &s);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.p[0].msg.n, 64);
    assert_int_equal(s.p[1].msg.n, 64);
    assert_int_equal(s.p[2].msg.n, 22);
    for (int k = 0; k < 3; k++) {
        assert_true(s.p[k].split);
        assert_int_equal(s.p[k].index, (uint32_t)k);
        assert_int_equal(s.p[k].last, k == 2);
    }
    /* exactly the limit is not split */
    s.n = 0;
    line[64] = 0;
    feed_line(&j, line, &s);
    assert_int_equal(s.n, 1);
    assert_false(s.p[0].split);
    /* a two-byte character straddling the limit moves to the next piece */
    s.n = 0;
    memset(line, 'b', 63);
    memcpy(line + 63, "\xc3\xa9zz", 5);
    feed_line(&j, line, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.p[0].msg.n, 63);
    assert_string_equal(s.msg[1], "\xc3\xa9zz");
    /* partial lines that together pass the limit: pieces cut from the joined text */
    s.n = 0;
    char a[120];
    snprintf(a, sizeof a, "2024-04-12T10:00:00Z stdout P %.*s", 40, line);
    feed_line(&j, a, &s);
    feed_line(&j, a, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.p[0].msg.n, 64);
    assert_false(s.p[0].last);
    snprintf(a, sizeof a, "2024-04-12T10:00:00Z stdout F tail");
    feed_line(&j, a, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.msg[1], "bbbbbbbbbbbbbbbbtail");
    assert_int_equal(s.p[1].index, 1);
    assert_true(s.p[1].last && s.p[1].split);
    /* flush emits a message left open */
    s.n = 0;
    feed_line(&j, "2024-04-12T10:00:00Z stderr P never finished", &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(0, logparse_joiner_flush(&j, collect, &s));
    assert_int_equal(s.n, 1);
    assert_string_equal(s.msg[0], "never finished");
    assert_int_equal(s.p[0].stream, LOGPARSE_STDERR);
    logparse_joiner_free(&j);
}

/* ---- time parsers ---- */
typedef struct {
    const char *in;
    int ok;
    uint64_t ns;
    const char *why;
} time_case;

static void test_times(void **state)
{
    (void)state;
    static const time_case rfc[] = {
        {"2024-04-12T10:00:00Z", 1, 1712916000000000000ull, "UTC"},
        {"2024-04-12t10:00:00z", 1, 1712916000000000000ull, "lower-case t and z"},
        {"2024-04-12 10:00:00,5", 1, 1712916000500000000ull, "space and comma, no zone"},
        {"2024-04-12T10:00:00.1234567891Z", 1, 1712916000123456789ull, "digits past ns dropped"},
        {"2024-04-12T05:30:00-04:30", 1, 1712916000000000000ull, "negative offset"},
        {"2024-04-12T12:00:00+0200", 1, 1712916000000000000ull, "offset without colon"},
        {"2024-02-30T00:00:00Z", 0, 0, "no February 30"},
        {"2024-04-12T25:00:00Z", 0, 0, "hour 25"},
        {"1969-12-31T23:59:59Z", 0, 0, "before 1970"},
        {"2024-04-12T10:00:00Zjunk", 0, 0, "trailing garbage"},
    };
    for (size_t i = 0; i < sizeof rfc / sizeof rfc[0]; i++) {
        uint64_t ns = 0;
        int ok = logparse_time_rfc3339(bslice_cstr(rfc[i].in), &ns, NULL);
        if (ok != rfc[i].ok || (ok && ns != rfc[i].ns))
            fail_msg("rfc3339 case %zu (%s): %d %llu", i, rfc[i].why, ok, (unsigned long long)ns);
    }
    static const time_case ep[] = {
        {"1712916000", 1, 1712916000000000000ull, "seconds"},
        {"1712916000.25", 1, 1712916000250000000ull, "seconds with a fraction"},
        {"1712916000123", 1, 1712916000123000000ull, "milliseconds"},
        {"1712916000123456", 1, 1712916000123456000ull, "microseconds"},
        {"1712916000123456789", 1, 1712916000123456789ull, "nanoseconds"},
        {"0", 0, 0, "zero is no time"},
        {"-5", 0, 0, "negative"},
        {"12a", 0, 0, "not a number"},
    };
    for (size_t i = 0; i < sizeof ep / sizeof ep[0]; i++) {
        uint64_t ns = 0;
        int ok = logparse_time_epoch(bslice_cstr(ep[i].in), &ns);
        if (ok != ep[i].ok || (ok && ns != ep[i].ns))
            fail_msg("epoch case %zu (%s): %d %llu", i, ep[i].why, ok, (unsigned long long)ns);
    }
}

/* ---- OTLP records ---- */
static void test_records(void **state)
{
    (void)state;
    model_batch b;
    model_batch_init(&b);
    buf a1, a2, body2, a3, body3;
    buf_init(&a1);
    buf_init(&a2);
    buf_init(&body2);
    buf_init(&a3);
    buf_init(&body3);

    /* 1: the id as a string attribute, and a Datadog int under a nested kvlist */
    size_t p = av_begin_count(&a1);
    av_put_key(&a1, BSLICE_LIT("http.route"));
    av_put_str(&a1, BSLICE_LIT("/cart"));
    av_put_key(&a1, BSLICE_LIT("trace_id"));
    av_put_str(&a1, BSLICE_LIT(T32U));
    av_end_count(&a1, p, 2);
    model_log *l1 = model_batch_add_log(&b);
    l1->attrs = (bslice){a1.p, a1.n};

    /* 2: nothing in the attributes; a kvlist body {"dd": {"trace_id": 42}} */
    p = av_begin_count(&a2);
    av_end_count(&a2, p, 0);
    size_t k = av_begin_kvlist(&body2);
    av_put_key(&body2, BSLICE_LIT("dd"));
    size_t k2 = av_begin_kvlist(&body2);
    av_put_key(&body2, BSLICE_LIT("trace_id"));
    av_put_int(&body2, 42);
    av_end_count(&body2, k2, 1);
    av_end_count(&body2, k, 1);
    model_log *l2 = model_batch_add_log(&b);
    l2->attrs = (bslice){a2.p, a2.n};
    l2->body = (bslice){body2.p, body2.n};

    /* 3: a string body holding a JSON line with a traceparent */
    av_put_str(&body3, BSLICE_LIT("{\"msg\":\"hi\",\"traceparent\":\"" TP "\"}"));
    model_log *l3 = model_batch_add_log(&b);
    l3->body = (bslice){body3.p, body3.n};

    /* 4: a record with its own id is left alone */
    model_log *l4 = model_batch_add_log(&b);
    l4->trace_id.b[15] = 9;
    l4->attrs = (bslice){a1.p, a1.n};

    /* 5: nothing anywhere */
    model_log *l5 = model_batch_add_log(&b);
    l5->body = (bslice){body3.p, 0};

    assert_int_equal(3, logparse_fill_batch(&b));
    char h[33];
    hex_of(b.logs[0].trace_id.b, 16, h);
    assert_string_equal(h, T32);
    assert_int_equal(b.logs[0].id_form, ID_FORM_HEX32_UPPER);
    assert_true(bslice_eq_cstr(b.logs[0].id_field, "trace_id"));
    hex_of(b.logs[1].trace_id.b, 16, h);
    assert_string_equal(h, "0000000000000000000000000000002a");
    assert_int_equal(b.logs[1].id_form, ID_FORM_DECIMAL);
    assert_true(bslice_eq_cstr(b.logs[1].id_field, "dd.trace_id"));
    hex_of(b.logs[2].trace_id.b, 16, h);
    assert_string_equal(h, T32);
    hex_of(b.logs[2].span_id.b, 8, h);
    assert_string_equal(h, S16);
    assert_int_equal(b.logs[2].flags & 1, 1);
    assert_int_equal(b.logs[2].id_form, ID_FORM_TRACEPARENT);
    assert_int_equal(b.logs[3].trace_id.b[15], 9);
    assert_int_equal(b.logs[3].id_field.n, 0);
    assert_true(trace_id_is_zero(&b.logs[4].trace_id));
    /* the record's own fields are untouched */
    assert_true(b.logs[0].attrs.p == a1.p && b.logs[0].attrs.n == a1.n);
    assert_true(b.logs[2].body.p == body3.p);

    model_batch_free(&b);
    buf_free(&a1);
    buf_free(&a2);
    buf_free(&body2);
    buf_free(&a3);
    buf_free(&body3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),    cmocka_unit_test(test_runtime_fields),
        cmocka_unit_test(test_cri_join), cmocka_unit_test(test_docker_join),
        cmocka_unit_test(test_split),    cmocka_unit_test(test_times),
        cmocka_unit_test(test_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

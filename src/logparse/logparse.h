/* logparse: sans-I/O parsing of container log lines and trace context
 * extraction. Three layers over buffers: the runtime format of one physical
 * line (CRI, Docker json-file, plain), a joiner for partial lines and the size
 * limit, and the message (JSON, logfmt, text) with severity, time, body,
 * attributes and trace/span ids; the same search serves OTLP records without
 * a trace id. Never does I/O; allocates only in a caller's arena or buf. */
#ifndef BRAID_LOGPARSE_H
#define BRAID_LOGPARSE_H

#include "../model/model.h"

/* ---------------------------------------------------------------------------
 * Runtime formats (one physical line, without its '\n').
 * ------------------------------------------------------------------------- */
typedef enum {
    LOGPARSE_PLAIN = 0,  /* anything else: the whole line is the message */
    LOGPARSE_CRI = 1,    /* "<RFC3339Nano> <stdout|stderr> <P|F> <message>" */
    LOGPARSE_DOCKER = 2, /* {"log":"…","stream":"…","time":"…"} */
} logparse_format;

enum { LOGPARSE_STDOUT = 0, LOGPARSE_STDERR = 1 };
#define LOGPARSE_STREAMS 2

typedef struct {
    uint8_t format;   /* logparse_format */
    uint8_t stream;   /* LOGPARSE_STDOUT or LOGPARSE_STDERR (plain lines: stdout) */
    bool partial;     /* continues on a later line: CRI "P", Docker "log" without '\n' */
    uint64_t time_ns; /* the runtime's time, 0 when the format has none */
    bslice msg;       /* the content: a slice of the line, or of the arena (Docker) */
} logparse_line;

/* Classifies one physical line and slices out its content. A line that looks
 * like CRI or Docker but is not well-formed is plain. A trailing '\r' is
 * dropped from plain and CRI content. Docker content is unescaped into `ar`
 * (freed with it). Returns 0 or BRAID_ENOMEM. */
int logparse_runtime(bslice line, arena *ar, logparse_line *out);

/* Parses an RFC 3339 time ("2024-04-12T10:00:00.123456789Z", also with a
 * space for 'T', a comma for '.', "+02:00"/"+0200" zones or no zone) into
 * Unix ns. *zoned (may be NULL) says whether a zone was given; a zone-less
 * time is read as UTC. Returns 1 or 0 when s is not such a time. */
int logparse_time_rfc3339(bslice s, uint64_t *ns, bool *zoned);
/* A Unix time as digits with an optional fraction ("1712916000",
 * "1712916000.123", "1712916000123"): seconds, milliseconds, microseconds or
 * nanoseconds chosen by magnitude. Returns 1 or 0. */
int logparse_time_epoch(bslice s, uint64_t *ns);

/* Where to cut a buffer of more than max bytes (p[max] must be readable) so
 * the first piece holds at most max bytes and no UTF-8 sequence is torn. */
size_t logparse_utf8_cut(const uint8_t *p, size_t max);

/* ---------------------------------------------------------------------------
 * Joiner: partial lines to messages, messages over the limit to pieces. One
 * per file; streams are joined separately because a runtime interleaves
 * stdout and stderr lines in one file.
 * ------------------------------------------------------------------------- */
typedef struct {
    bslice msg;
    uint64_t time_ns; /* runtime time of the message's first line */
    uint8_t format, stream;
    bool split;     /* one piece of a message longer than the limit */
    uint32_t index; /* piece number, from 0 (0 when not split) */
    bool last;      /* the final piece (true when not split) */
} logparse_piece;

/* Receives each piece; the slice is valid only during the call. A non-zero
 * return stops the feed and is passed back. */
typedef int (*logparse_emit_fn)(void *ud, const logparse_piece *p);

typedef struct {
    size_t max; /* largest message emitted whole; longer ones are split */
    buf acc[LOGPARSE_STREAMS];
    bool open[LOGPARSE_STREAMS];       /* a message is in progress on the stream */
    uint32_t pieces[LOGPARSE_STREAMS]; /* pieces already emitted for it */
    uint64_t time_ns[LOGPARSE_STREAMS];
    uint8_t format[LOGPARSE_STREAMS];
} logparse_joiner;

/* max below 64 is raised to 64. Release with logparse_joiner_free. */
void logparse_joiner_init(logparse_joiner *j, size_t max);
void logparse_joiner_free(logparse_joiner *j);
/* Drops any message in progress (the file was truncated or replaced). */
void logparse_joiner_reset(logparse_joiner *j);
/* Feeds one line's content. A complete message is emitted at once (without a
 * copy when nothing was pending); a partial one is kept until the line that
 * completes it; whenever more than `max` bytes are pending, a piece of `max`
 * bytes (cut at a UTF-8 boundary) is emitted. Returns 0, the emitter's
 * return, or BRAID_ENOMEM. */
int logparse_joiner_feed(logparse_joiner *j, const logparse_line *l, logparse_emit_fn emit,
                         void *ud);
/* Emits every message still in progress as complete (end of input, or a
 * rotated file let go). */
int logparse_joiner_flush(logparse_joiner *j, logparse_emit_fn emit, void *ud);

/* ---------------------------------------------------------------------------
 * Trace context found in a message or a record.
 * ------------------------------------------------------------------------- */
typedef struct {
    trace_id_t trace_id; /* all zero: none found */
    span_id_t span_id;   /* all zero: none found (only set with a trace id) */
    uint8_t form;        /* id_form of the trace id; ID_FORM_NONE when none */
    bool sampled_known;  /* the source said whether the trace is sampled */
    bool sampled;
    bslice field; /* where the trace id came from, as written ("dd.trace_id", "trace.id") */
} logparse_ids;

/* ---------------------------------------------------------------------------
 * Messages.
 * ------------------------------------------------------------------------- */
typedef enum { LOGPARSE_TEXT = 0, LOGPARSE_JSON = 1, LOGPARSE_LOGFMT = 2 } logparse_kind;

typedef struct {
    uint8_t kind;            /* logparse_kind */
    uint64_t time_ns;        /* from the message; 0 when none was usable */
    bool time_zoned;         /* the time was absolute (a zone or a Unix time) */
    int32_t severity_number; /* OTLP SeverityNumber; 0 when none was found */
    bslice severity_text;    /* as written (canonical name for numeric levels) */
    bslice body;             /* the message text */
    bslice service;          /* service name the line names, or empty */
    logparse_ids ids;
} logparse_msg;

/* Parses one message. Fields other than the message, level and time (and
 * key=value fragments of text) are appended to attrs as attrs entries (key +
 * value, no leading count; *nattrs gets how many), nested JSON objects as
 * kvlists, numbers as ints or doubles, booleans as booleans. Slices in out
 * point into msg or into ar. Returns 0 or BRAID_ENOMEM (attrs->err). */
int logparse_message(bslice msg, arena *ar, buf *attrs, uint32_t *nattrs, logparse_msg *out);

/* Searches an OTLP log record for trace context: its attributes (keys, and
 * kvlists by path) and its body (a string is read as a message, a kvlist is
 * searched by path). Returns 1 with *out filled, 0 when nothing valid was
 * found, BRAID_ENOMEM. Paths built for out->field live in ar. */
int logparse_extract_record(const model_log *l, arena *ar, logparse_ids *out);

/* For every log of b whose trace id is zero, runs logparse_extract_record and
 * sets trace_id, span_id, id_form, id_field (in b's arena) and the sampled
 * flag; the record's attributes and body are left as they were. Returns the
 * number of records given an id, or BRAID_ENOMEM. */
int logparse_fill_batch(model_batch *b);

/* OTLP SeverityNumber for a level name or number as loggers write them
 * ("warn", "WARNING", "E", "err", "30" as pino's info), or 0. */
int32_t logparse_severity(bslice s);

#endif

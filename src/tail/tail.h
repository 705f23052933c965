/* tail: container log files into the store. A sans-I/O reader (one file's
 * bytes to log rows, shared with `braid ingest`) and the follower (globs,
 * rotation by device+inode, a reader and an appender thread, offsets
 * checkpointed in the same WAL record as their rows). Never runs on the event
 * loop and never counts a line the store has not acknowledged. */
#ifndef BRAID_TAIL_H
#define BRAID_TAIL_H

#include "../ingest/ingest.h"
#include "../logparse/logparse.h"
#include "../store/store.h"

#define TAIL_MAX_LINE_DEFAULT ((size_t)1 << 20)
#define TAIL_MAX_LINE_MIN ((size_t)256)

/* ---------------------------------------------------------------------------
 * Kubernetes metadata from a log file's path.
 * ------------------------------------------------------------------------- */
typedef struct {
    bslice pod, namespace_, container, container_id, pod_uid;
    int restart_count; /* -1 when unknown */
} tail_k8s;

/* Recognizes /var/log/containers/<pod>_<namespace>_<container>-<64 hex id>.log
 * and /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log (also their
 * rotated names, "<n>.log.<suffix>"), anywhere in a directory tree. Slices
 * point into path. Returns 1 when the path is one of those, else 0. */
int tail_k8s_from_path(bslice path, tail_k8s *out);

/* ---------------------------------------------------------------------------
 * Reader: one file's bytes to rows.
 * ------------------------------------------------------------------------- */
/* A batch being filled, with a generation number so readers can cache what
 * they already copied into it (origins, the source path). */
typedef struct {
    model_batch b;
    uint64_t gen;
} tail_out;

/* Starts an empty batch with a fresh generation. Free with tail_out_free. */
void tail_out_init(tail_out *o);
void tail_out_free(tail_out *o);

/* What a checkpoint records about a reader (see docs/logs.md). */
typedef struct {
    uint64_t off; /* bytes consumed: every message they completed is stored */
    bool open[LOGPARSE_STREAMS];
    uint64_t pstart[LOGPARSE_STREAMS]; /* where an open message's first line starts */
    uint32_t pieces[LOGPARSE_STREAMS]; /* pieces of it already stored (split messages) */
} tail_pos;

typedef struct {
    char *path; /* owned copy; the rows' source and the metadata's origin */
    tail_k8s k8s;
    bool is_k8s;
    size_t max_line;
    uint64_t off; /* file offset of the next byte to consume */
    /* the physical line being consumed in chunks (over max_line, or open) */
    bool in_line;
    uint8_t hdr_format, hdr_stream;
    bool hdr_partial;
    uint64_t hdr_time, line_start;
    logparse_joiner j;
    uint64_t pstart[LOGPARSE_STREAMS];
    /* after a restart: what was already stored below replay_until */
    uint64_t replay_until;
    bool rp_open[LOGPARSE_STREAMS];
    uint64_t rp_pstart[LOGPARSE_STREAMS];
    uint32_t rp_skip[LOGPARSE_STREAMS];
    tail_pos rp_pos; /* the position resumed from, reported until replay_until */
    /* ids of a split message's earlier pieces, for pieces that carry none */
    bool split_has[LOGPARSE_STREAMS];
    logparse_ids split_ids[LOGPARSE_STREAMS];
    uint8_t split_field[LOGPARSE_STREAMS][128];
    /* per batch caches */
    uint64_t cache_gen;
    bslice cache_source;
    model_origin *cache_origin[LOGPARSE_STREAMS];
    model_origin *cache_svc_origin;
    uint8_t cache_svc_stream;
    /* scratch, reused */
    arena scratch;
    buf attrs, enc;
    uint64_t lines, rows, splits;
    /* while feeding */
    tail_out *cur;
    uint64_t now;
    int err;
} tail_reader;

/* path is copied. max_line below TAIL_MAX_LINE_MIN is raised to it. Release
 * with tail_reader_free. 0 or BRAID_ENOMEM. */
int tail_reader_init(tail_reader *r, const char *path, size_t max_line);
void tail_reader_free(tail_reader *r);
/* Starts over at offset 0 (the file was truncated). */
void tail_reader_reset(tail_reader *r);
/* Resumes at a checkpointed position: consumption restarts at the earliest
 * open message, and lines re-read below pos->off are not emitted again. */
void tail_reader_resume(tail_reader *r, const tail_pos *pos);
/* Where a resumed reader must read from (the file offset of r->off). */
static inline uint64_t tail_reader_offset(const tail_reader *r)
{
    return r->off;
}
void tail_reader_pos(const tail_reader *r, tail_pos *pos);

/* Consumes physical lines from data[0..n), which starts at file offset
 * r->off: complete lines, and max_line-sized chunks of longer ones. With eof,
 * a last line without '\n' is complete too. Adds one row per message (or
 * piece) to o; stops at a line boundary once o holds max_rows rows (0 = no
 * limit). *used gets the bytes consumed. Returns 0 or BRAID_ENOMEM. */
int tail_reader_feed(tail_reader *r, const uint8_t *data, size_t n, bool eof, tail_out *o,
                     size_t max_rows, size_t *used);
/* Emits every message still open as complete (a file let go, end of input). */
int tail_reader_flush(tail_reader *r, tail_out *o);

/* ---------------------------------------------------------------------------
 * Follower.
 * ------------------------------------------------------------------------- */
typedef struct tail tail;

typedef struct {
    const char *const *globs; /* patterns as glob(3) takes them */
    size_t nglobs;
    store *st;           /* rows go here, with the checkpoint (required) */
    ingest *ing;         /* counts rows under transport "file"; may be NULL */
    size_t max_line;     /* 0 = TAIL_MAX_LINE_DEFAULT */
    uint32_t batch_rows; /* rows per append, 0 = 8192 */
    uint64_t batch_ns;   /* longest a row waits for its batch, 0 = 10 ms */
    uint64_t rescan_ns;  /* glob rescan period, 0 = 1 s */
} tail_opts;

typedef struct {
    uint64_t files;       /* followed now */
    uint64_t lines_read;  /* physical lines (and chunks) consumed */
    uint64_t rows_stored; /* rows the store acknowledged */
    uint64_t appends;
    uint64_t append_errors; /* appends refused (retried) */
    uint64_t rotations;     /* files let go after being read to their end */
    uint64_t truncations;   /* copytruncate detected */
} tail_stats;

/* Loads the checkpoint from the store and starts the reader and appender
 * threads. Free with tail_stop. */
int tail_start(const tail_opts *o, tail **out);
/* Stops reading, appends what was read (retrying a short while), joins the
 * threads and frees t. Messages still open are left for the next start. */
void tail_stop(tail *t);
void tail_get_stats(tail *t, tail_stats *st);
/* Appends braid_tail_* metrics in Prometheus text format (api_metrics_fn). */
void tail_metrics_text(buf *out, void *t);

#endif

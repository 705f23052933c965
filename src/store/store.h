/* store: braid's embedded, durable store for all signals. Owns the data
 * directory: the WAL (acknowledgement point), the memtables, the immutable
 * columnar parts and their trace indexes. Thread-safe: any thread may append
 * or query; appends share fsyncs (group commit); queries never block appends
 * for longer than a memtable snapshot takes. The on-disk format is described
 * in docs/storage-format.md. */
#ifndef BRAID_STORE_H
#define BRAID_STORE_H

#include "../model/model.h"

typedef struct store store;

typedef enum {
    STORE_FSYNC_BATCH = 0,  /* one fsync per group commit (default) */
    STORE_FSYNC_ALWAYS = 1, /* one fsync per append, no sharing */
    STORE_FSYNC_NONE = 2,   /* leave it to the OS */
} store_fsync;

/* The rows of one acknowledged WAL record, as an observer sees them. */
typedef struct {
    const model_log *logs;
    size_t nlogs;
    const model_span *spans;
    size_t nspans;
    const model_metric *metrics;
    size_t nmetrics;
    const model_exemplar *exemplars;
    size_t nexemplars;
} store_rows;

/* An observer sees every acknowledged row exactly once, in WAL order, and
 * keeps derived state (correlation health) that the store persists for it in
 * <data>/observer, so a restart neither resets nor double counts it: the WAL
 * keeps every record the saved state does not cover yet, and replay hands
 * the observer exactly those. Callbacks run on the store's threads. */
typedef struct {
    void *ud;
    /* At open, before replay: restores from the last saved blob (n == 0 when
     * there is none) and sets *covered_seq to the WAL sequence number it
     * covers. A non-zero return is logged and the observer starts empty. */
    int (*load)(void *ud, bslice saved, uint64_t *covered_seq);
    /* Rows of WAL record seq, in sequence order, live (on the store's
     * observer thread, shortly after the acknowledgement) and at open for the
     * records above covered_seq. Must not block for long; cannot fail. */
    void (*observe)(void *ud, uint64_t seq, const store_rows *rows);
    /* Serializes the state into out (empty on entry) and sets *covered_seq
     * to the highest seq it has observed. 0 or an error (nothing written). */
    int (*save)(void *ud, buf *out, uint64_t *covered_seq);
} store_observer;

typedef struct {
    const char *dir; /* data directory; created if missing */
    store_fsync fsync;
    uint64_t memtable_bytes; /* flush a signal's memtable above this (default 64 MiB) */
    uint64_t memory_limit;   /* above this appends return BRAID_EBUSY (default 1 GiB) */
    uint64_t retention_ns;   /* drop days older than this; 0 = keep forever */
    bool background; /* run flush/merge/retention threads (default true via store_opts_default) */
    const store_observer *observer; /* may be NULL; must outlive the store */
} store_opts;

void store_opts_default(store_opts *o);

/* Opens (creating if needed) the store, replaying the WAL. On error returns a
 * BRAID_E* code and *out is NULL. Free with store_close. */
int store_open(const store_opts *o, store **out);
/* Flushes memtables to parts, stops background threads, frees everything.
 * Returns the first error met while flushing (the store is freed regardless). */
int store_close(store *s);

/* Appends every row of the batch. Returns 0 only once the rows are in the WAL
 * (and fsynced per the policy); then they are visible to queries. Returns
 * BRAID_EBUSY when over the memory limit (nothing appended), BRAID_EIO or
 * BRAID_ENOSPC (disk or quota full) when the WAL could not be written
 * (nothing acknowledged). Thread-safe. */
int store_append(store *s, const model_batch *b);

/* Source checkpoints: a source that resumes from a position (the file
 * follower's offsets) appends its rows together with an opaque blob saying
 * how far it got, in one WAL record, so after a crash either both are there
 * or neither. One source per store. */
#define STORE_SOURCE_CKPT_MAX ((size_t)16 << 20)
/* Appends the batch (which may have no rows) like store_append, with ckpt
 * (at most STORE_SOURCE_CKPT_MAX bytes) in the same WAL record. Same returns
 * as store_append; on 0 the blob is the one store_source_ckpt returns. */
int store_append_ckpt(store *s, const model_batch *b, bslice ckpt);
/* Copies the blob of the last acknowledged store_append_ckpt, across
 * restarts, into out (reset first; out->n == 0 when there is none).
 * Returns 0 or BRAID_ENOMEM. */
int store_source_ckpt(store *s, buf *out);

/* Writes all memtables to parts now and trims the WAL. For tests and shutdown. */
int store_flush(store *s);

/* Every span, log and exemplar with this trace id, from parts and memtables,
 * with no time range. Rows are appended to `out` (which owns copies of all
 * bytes in its arena). Order: spans by start time, logs by time, exemplars by
 * time. Returns 0 (possibly with no rows) or an error. */
int store_trace(store *s, const trace_id_t *tid, model_batch *out);

/* Full scans over a time range [start_ns, end_ns] (inclusive) of one signal.
 * The callback gets a row (model_log*, model_span*, model_metric* or
 * model_exemplar* by signal) valid only during the call, and returns 0 to go on
 * or 1 to stop. Parts whose time range misses the window are skipped. */
typedef int (*store_scan_cb)(const void *row, void *ud);
int store_scan(store *s, signal_t sig, uint64_t start_ns, uint64_t end_ns, store_scan_cb cb,
               void *ud);

typedef struct {
    uint64_t rows[SIGNAL_COUNT]; /* rows stored (memtable + parts) */
    uint64_t memtable_rows[SIGNAL_COUNT];
    uint64_t parts[SIGNAL_COUNT];
    uint64_t part_bytes[SIGNAL_COUNT]; /* bytes on disk in parts */
    uint64_t wal_bytes;                /* bytes appended to the WAL since open */
    uint64_t wal_fsyncs;
    uint64_t group_commits; /* WAL writes that carried >1 append */
    uint64_t flushes;
    uint64_t memory_bytes; /* memtables + in-flight */
} store_stats;
void store_get_stats(store *s, store_stats *st);

#endif

/* store/internal.h: the pieces of the store that nothing outside src/store
 * (and its unit tests) may include — file helpers, the row codec used by WAL
 * payloads, the WAL with group commit, memtables, columnar parts, the trace
 * index and its bloom filter. Byte layouts are in docs/storage-format.md; any
 * change to them bumps STORE_FORMAT_VERSION. */
#ifndef BRAID_STORE_INTERNAL_H
#define BRAID_STORE_INTERNAL_H

#include "store.h"

#include <pthread.h>
#include <stdatomic.h>

/* One number for every on-disk structure (WAL payload, part meta, trace
 * index, checkpoint); readers refuse anything else with BRAID_EFORMAT. */
#define STORE_FORMAT_VERSION 2

/* ---------------------------------------------------------------------------
 * File helpers (fsutil.c). All return 0, BRAID_EIO or BRAID_ENOSPC
 * (BRAID_ENOMEM where they allocate) and log nothing: callers know the
 * context.
 * ------------------------------------------------------------------------- */
/* mkdir that accepts an existing directory; *created (may be NULL) says
 * whether it was new, so the caller knows to fsync the parent. */
int fs_mkdir(const char *path, bool *created);
int fs_fsync_dir(const char *path);
/* Writes all n bytes (retrying short writes and EINTR). */
int fs_write_all(int fd, const void *p, size_t n);
/* Reads a whole file; *out is malloc'd, caller frees. BRAID_ENOTFOUND if the
 * file does not exist. */
int fs_read_file(const char *path, uint8_t **out, size_t *len);
/* Replaces dir/name atomically: dir/name.tmp, fsync, rename, fsync dir. */
int fs_write_atomic(const char *dir, const char *name, const void *p, size_t n);
/* Removes a file or a directory tree (no symlinks followed). Missing is ok. */
int fs_rm_rf(const char *path);
/* snprintf into out; BRAID_EINVAL if it would not fit. */
int fs_path(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool fs_exists(const char *path);

/* ---------------------------------------------------------------------------
 * Rows (rowcodec.c): the per-signal facts the store needs, and the compact
 * serialization of a model_batch that forms a WAL payload.
 * ------------------------------------------------------------------------- */
extern const model_origin store_empty_origin;
/* trace_id_is_zero without the call, for loops over many rows. */
static inline bool tid_zero(const trace_id_t *t)
{
    return (rd_u64le(t->b) | rd_u64le(t->b + 8)) == 0;
}
size_t row_size(signal_t sig);
/* The time a row is filed under: log time (observed time when the log has
 * none), span start, metric point time, exemplar time. */
uint64_t row_time(signal_t sig, const void *row);
/* The row's trace id, or NULL for metric points (which have none). */
const trace_id_t *row_tid(signal_t sig, const void *row);
/* Part order: rows with a trace id first by (trace id, time), then rows
 * without one by time. <0, 0, >0. */
int row_cmp(signal_t sig, const void *a, const void *b);
/* UTC day number (days since 1970-01-01) of a time, and its YYYY-MM-DD. */
uint32_t row_day(uint64_t time_ns);
void day_name(uint32_t day, char out[16]);
int day_parse(const char *s, uint32_t *day);

/* Appends the encoding of every row of b to out (errors in out->err, also
 * returned). Origins are written once per batch and referenced by index. */
int rowcodec_encode(const model_batch *b, buf *out);

typedef struct {
    uint32_t norigins;
    uint32_t n[SIGNAL_COUNT];
} rc_counts;
/* Reads the counts of a payload and checks they can fit in n bytes (so a
 * hostile payload cannot ask for a huge allocation). 0 or BRAID_EFORMAT. */
int rowcodec_count(const uint8_t *p, size_t n, rc_counts *c);
/* Decodes a payload into caller-provided arrays sized per rowcodec_count.
 * Slices point into p; every row gets a non-NULL origin. 0 or BRAID_EFORMAT. */
typedef struct {
    model_origin *origins;
    void *rows[SIGNAL_COUNT]; /* model_log*, model_span*, model_metric*, model_exemplar* */
} rc_rows;
int rowcodec_decode(const uint8_t *p, size_t n, const rc_counts *c, rc_rows *out);
/* An origin on its own (the part's origin column uses it). */
void rowcodec_put_origin(buf *b, const model_origin *o);
int rowcodec_get_origin(bslice blob, model_origin *o);

/* ---------------------------------------------------------------------------
 * WAL (wal.c): segments of framed records, group commit, replay.
 * ------------------------------------------------------------------------- */
#define WAL_SEGMENT_BYTES ((uint64_t)64 << 20)
#define WAL_MAX_RECORD ((uint64_t)1 << 30)
#define WAL_TRAILER 8 /* the u64 sequence number ends every payload */

typedef struct wal wal;

/* One append. The caller fills data/len/user; data must have room for
 * len + WAL_TRAILER bytes (the WAL writes the sequence number there). */
typedef struct wal_rec {
    uint8_t *data;
    size_t len;
    void *user;
    uint64_t seq; /* set by the WAL */
    /* private to wal.c */
    uint32_t crc;
    uint8_t hdr[8];
    int status;
    bool done;
    struct wal_rec *next;
} wal_rec;

/* Called for every intact record found at open, in order. A non-zero return
 * aborts the open with that code. */
typedef int (*wal_replay_fn)(void *ud, uint64_t seq, const uint8_t *body, size_t len);
/* Called by the group leader once records are durable: n records starting at
 * first, linked by ->next, in sequence order, before any of their appenders
 * returns. Must not fail: the records are acknowledged. Runs with no WAL lock
 * held, one group at a time. */
typedef void (*wal_commit_fn)(void *ud, wal_rec *first, size_t n);

typedef struct {
    store_fsync fsync;
    uint64_t segment_bytes; /* 0 = WAL_SEGMENT_BYTES */
    uint64_t min_next_seq;  /* new records get sequence numbers >= this */
    wal_replay_fn replay;   /* may be NULL */
    wal_commit_fn commit;   /* may be NULL */
    void *ud;
} wal_opts;

typedef struct {
    uint64_t bytes; /* appended since open */
    uint64_t fsyncs;
    uint64_t group_commits; /* writes that carried more than one record */
    uint64_t records;       /* appended since open */
    uint64_t replayed;      /* intact records found at open */
    uint64_t cut_bytes;     /* bytes dropped from damaged segments at open */
    uint64_t segments;      /* segment files present */
} wal_stats;

/* Opens dir (created if missing), replays every segment through o->replay,
 * cuts damaged tails (truncating the file), deletes empty segments. New
 * records go to a fresh segment. Free with wal_close. */
int wal_open(const char *dir, const wal_opts *o, wal **out);
/* Appends one record; returns once it is durable per the policy and the
 * commit callback has seen it (0), or BRAID_EIO / BRAID_ENOSPC (nothing
 * acknowledged), BRAID_ETOOBIG, BRAID_ECLOSED. Thread-safe. */
int wal_append(wal *w, wal_rec *r);
/* Deletes closed segments whose records all have seq <= upto. */
int wal_trim(wal *w, uint64_t upto);
/* Closes the WAL, deleting every segment (the open one included) whose
 * records all have seq <= covered. Frees w. */
int wal_close(wal *w, uint64_t covered);
uint64_t wal_last_seq(wal *w); /* highest sequence number handed out or replayed */
void wal_get_stats(wal *w, wal_stats *st);
/* Fault injection for tests: the next n writes (or fsyncs) fail with EIO. */
void wal_inject_faults(wal *w, int writes, int fsyncs);

/* ---------------------------------------------------------------------------
 * Memtable (memtable.c). A memtable is one generation of appended batches
 * (chunks) for all signals, plus a hash index trace id -> rows. Chunks are
 * immutable once inserted; the chunk list and the index are only changed
 * under the store's view lock, so a reader that saw `tail` under the lock may
 * walk head..tail without it.
 * ------------------------------------------------------------------------- */
typedef struct mchunk mchunk;

typedef struct mref {
    struct mref *next;
    const mchunk *ck;
    trace_id_t tid;
    uint32_t idx;
    uint8_t sig;
} mref;

struct mchunk {
    mchunk *next;
    uint64_t seq;
    uint8_t *payload; /* owned (malloc), the one copy of the request bytes */
    size_t payload_len;
    model_origin *origins;
    void *rows[SIGNAL_COUNT];
    uint32_t n[SIGNAL_COUNT];
    mref *refs; /* one per row that has a trace id */
    uint32_t nrefs;
    size_t bytes; /* memory accounted for this chunk */
    uint64_t min_time, max_time;
};

/* Builds a chunk from a payload it takes ownership of (payload must come from
 * malloc; it is freed on error too). cap is the payload allocation size. Free
 * with mchunk_free, or link it into a memtable, which then owns it. */
int mchunk_new(uint8_t *payload, size_t len, size_t cap, mchunk **out);
void mchunk_free(mchunk *ck);

typedef struct memtable {
    atomic_int ref;
    mchunk *head, *tail;
    uint64_t seq_lo, seq_hi; /* seqs of the first and last chunk */
    uint64_t rows[SIGNAL_COUNT];
    size_t bytes;       /* chunks + index */
    size_t chunk_bytes; /* chunks only (what store memory accounting counts) */
    uint64_t min_time, max_time;
    uint64_t born_ns; /* monotonic time of the first insert */
    mref **buckets;
    size_t nbuckets, nrefs;
    struct memtable *next; /* frozen list link */
} memtable;

/* NULL on ENOMEM. The caller holds the one reference; memtable_unref frees. */
memtable *memtable_new(void);
void memtable_ref(memtable *m);
/* Drops a reference; the last one frees every chunk. Returns the chunk bytes
 * freed (0 unless this was the last reference). */
size_t memtable_unref(memtable *m);
/* Links a chunk in (caller holds the view lock). Never fails: if the index
 * cannot grow, chains get longer. */
void memtable_insert(memtable *m, mchunk *ck);
/* First ref of the bucket for tid; walk ->next and compare tid. The caller
 * holds the view lock for the whole walk (index growth relinks chains). */
const mref *memtable_bucket(const memtable *m, const trace_id_t *tid);
/* Every row of signal sig in m, sorted as parts are written: by UTC day of
 * row_time, then row_cmp; rows that compare equal keep their append order.
 * *out holds m->rows[sig] pointers into the chunks; malloc'd, caller frees.
 * 0 or BRAID_ENOMEM. */
int memtable_sorted_rows(const memtable *m, signal_t sig, const void ***out);

/* ---------------------------------------------------------------------------
 * Bloom filter over trace ids (bloom.c): XXH3-64 with double hashing.
 * ------------------------------------------------------------------------- */
#define BLOOM_BITS_PER_KEY 10
#define BLOOM_K 7
uint64_t bloom_bits_for(uint64_t nkeys);
void bloom_add(uint8_t *bits, uint64_t nbits, uint32_t k, const trace_id_t *tid);
bool bloom_test(const uint8_t *bits, uint64_t nbits, uint32_t k, const trace_id_t *tid);

/* ---------------------------------------------------------------------------
 * Trace index (tidx.c): per part, the sorted distinct trace ids with (first
 * row, row count), in CRC'd pages of TIDX_PAGE_ENTRIES, a fence of each
 * page's first id, and a bloom filter. The file is mapped; header, fence and
 * bloom are checked at open, a page when it is read.
 * ------------------------------------------------------------------------- */
#define TIDX_PAGE_ENTRIES 64
#define TIDX_ENTRY 20 /* in memory: 16 id bytes, u32 row count (rows follow each other from 0) */

typedef struct {
    buf entries; /* TIDX_ENTRY bytes each, in trace id order */
    uint64_t n;
    trace_id_t cur;
    uint32_t first, count;
    bool have;
} tidx_writer;

void tidx_writer_init(tidx_writer *t);
void tidx_writer_free(tidx_writer *t);
/* Feed every row's trace id in part order (rows without one are skipped by
 * the caller). BRAID_EINVAL if ids go backwards. */
int tidx_writer_add(tidx_writer *t, const trace_id_t *tid, uint32_t row);
/* Writes the whole index file to fd. */
int tidx_writer_write(tidx_writer *t, int fd, uint64_t nrows);

typedef struct {
    uint8_t *map;
    size_t len;
    uint64_t nentries, nrows;
    uint32_t npages;
    uint32_t esz; /* bytes of an entry on disk: 17, 18 or 20 */
    const uint8_t *bloom;
    uint64_t bloom_bits;
    uint32_t bloom_k;
    const uint8_t *fence;
    const uint8_t *row_fence;
    const uint8_t *pages;
} tidx;

/* Maps and checks an index file. Release with tidx_close. */
int tidx_open(tidx *t, const char *path);
void tidx_close(tidx *t);
/* 1 with the row range when tid is in the part, 0 when not, BRAID_EFORMAT
 * when the page fails its CRC or points outside the part. */
int tidx_lookup(const tidx *t, const trace_id_t *tid, uint32_t *first, uint32_t *count);
/* The trace id of each row [first, first + n) of the part: ids[i] points at
 * the 16 id bytes in the index, or is NULL for a row without one. 0, or
 * BRAID_EFORMAT when a page fails its CRC or is inconsistent. */
int tidx_rows(const tidx *t, uint32_t first, uint32_t n, const uint8_t **ids);

/* ---------------------------------------------------------------------------
 * Columns (column.c): per-signal column schemas, the encoding of one column
 * of one row group (a "block" before compression) and row assembly.
 * ------------------------------------------------------------------------- */
/* Column kinds; every block layout is in docs/storage-format.md. */
enum {
    CK_TIME = 1,    /* u64: first value, then byte planes of scaled zigzag deltas */
    CK_TREL = 2,    /* u64: byte planes of the scaled difference to another field */
    CK_U32 = 3,     /* varints, or few distinct values and packed codes */
    CK_I32 = 4,     /* as U32, zigzag */
    CK_U8 = 5,      /* as U32 */
    CK_I64 = 6,     /* as U32, zigzag */
    CK_F64 = 7,     /* 8 bytes LE */
    CK_ID16 = 8,    /* runs of 16-byte ids: run lengths, then ids */
    CK_ID8 = 9,     /* runs of 8-byte ids */
    CK_BYTES = 10,  /* plain, block dictionary or part dictionary */
    CK_ORIGIN = 11, /* CK_BYTES holding rowcodec_put_origin blobs */
    CK_ATTRS = 12,  /* attrs encodings split into typed value streams per key */
    CK_BODY = 13,   /* AnyValue encodings; CK_BYTES or text templates */
    CK_TID = 14     /* the trace id: not stored in blocks, read from the trace index */
};

typedef struct {
    uint8_t kind;
    uint16_t off;  /* field offset in the row struct */
    uint16_t base; /* CK_TREL: offset of the base field */
} col_desc;

typedef struct {
    const col_desc *cols;
    uint32_t ncols;
} col_schema;

#define COL_MAX 20
const col_schema *col_schema_for(signal_t sig);
/* The column's name as docs/storage-format.md spells it (for tools). */
const char *col_name(signal_t sig, uint32_t c);

typedef union {
    uint64_t u;
    bslice s;
} colval;

/* A small deduplicating set of byte strings (dictionaries). */
typedef struct {
    buf bytes;
    uint32_t *off, *len;
    uint64_t *hash;
    uint32_t n, cap;
    uint32_t *slots;
    uint32_t nslots;
} sdict;

/* A part dictionary caps: a column's distinct values shared by every block
 * of a part (origins, severity texts, ...), kept in memory while the part
 * is open. Blocks with more distinct values than PDICT_BLOCK_MAX, and
 * values past the caps, stay in their blocks. */
#define PDICT_MAX_VALUES 4096
#define PDICT_MAX_BYTES ((size_t)1 << 20)
#define PDICT_BLOCK_MAX 64

#define COL_SECTIONS 32      /* most sections a block is cut into */
#define COL_SECTION_MIN 1024 /* bytes a section has before another starts */

/* Per-column accumulation of one row group (and, for string columns, of the
 * part dictionary across groups). */
typedef struct {
    buf raw;  /* numbers: u64 each (zigzag when signed); ids back to back; ATTRS/BODY: rows */
    sdict d;  /* BYTES/ORIGIN: the block's distinct values */
    sdict pd; /* BYTES/ORIGIN/BODY: the part dictionary (kept across groups) */
    bool pd_full;
    sdict keys, shapes, vals; /* ATTRS/BODY: scratch while finishing */
    uint32_t *rowidx;         /* BYTES/ORIGIN: value index; ATTRS/BODY: offset in raw */
    uint32_t *rowlen;         /* ATTRS/BODY: length */
    uint32_t nrows, caprows;
    uint64_t prev;
    bool stable_ptrs; /* ORIGIN: a row's origin struct never changes while written */
    /* ORIGIN with stable_ptrs: origin struct address -> its blob's index in
     * og (every distinct blob the writer has seen), and og index -> index
     * in d plus one for the current block (0: not in the block yet). */
    struct colw_optr *omap;
    uint32_t omap_cap, omap_n;
    sdict og;
    uint32_t *gblk, *gtouched;
    uint32_t gcap, ntouched;
    buf scratch;
    /* Where colw_finish started new sections of the block (offsets in its
     * output): each section is compressed on its own, so streams of unlike
     * data do not share one entropy table. */
    uint32_t sect[COL_SECTIONS];
    uint32_t nsect;
} colw;

void colw_init(colw *c);
void colw_free(colw *c);
/* Starts the next row group (the part dictionary is kept). */
void colw_reset(colw *c);
/* Adds one row's value of column d. */
int colw_add(colw *c, const col_desc *d, const void *row);
size_t colw_bytes(const colw *c);
/* Writes the block encoding of the accumulated rows into out. */
int colw_finish(colw *c, const col_desc *d, buf *out);
/* Writes the column's part dictionary (varint count, then each value as
 * bytes) into out; nothing when the column has none. */
int colw_finish_pdict(const colw *c, buf *out);

/* A part dictionary as read back: values point into the caller's copy of
 * the dictionary bytes, in the order (and address order) they were
 * written. */
typedef struct {
    bslice *vals; /* malloc'd; col_pdict_free */
    uint32_t n;
} col_pdict;
/* Parses a dictionary written by colw_finish_pdict. 0, BRAID_EFORMAT or
 * BRAID_ENOMEM. */
int col_pdict_parse(const uint8_t *p, size_t n, col_pdict *out);
void col_pdict_free(col_pdict *pd);

/* Decodes a block of nrows values. Slices point into p, into the part
 * dictionary pd (NULL when the part has none for the column), or into recon
 * for CK_ATTRS and CK_BODY text blocks, which rebuild only rows [from, to)
 * (the others read as empty; keep recon while the values are used). dict is
 * scratch of at least nrows entries. 0, BRAID_EFORMAT or BRAID_ENOMEM. */
int col_decode(const col_desc *d, const uint8_t *p, size_t n, uint32_t nrows, colval *out,
               bslice *dict, buf *recon, uint32_t from, uint32_t to, const col_pdict *pd);

/* ---------------------------------------------------------------------------
 * Parts (part.c): an immutable directory of three files — meta (header,
 * row groups, block directory), cols (compressed blocks) and tidx.
 * ------------------------------------------------------------------------- */
#define PART_GROUP_ROWS 1024
#define PART_GROUP_BYTES ((size_t)2 << 20)
/* zstd levels: a flush must keep up with ingest on a small machine, so it
 * compresses fast; a merge runs in the background at low priority and
 * spends more to make the part smaller. */
#define PART_ZSTD_LEVEL_FLUSH 1
#define PART_ZSTD_LEVEL_MERGE 6

typedef struct {
    uint32_t first_row, nrows;
    uint64_t min_time, max_time;
} part_group;

typedef struct {
    uint64_t off;
    uint32_t clen, rlen, crc;
    uint8_t codec; /* 0 stored, 1 zstd */
} part_block;

typedef struct part {
    atomic_int ref;
    signal_t sig;
    uint32_t day;
    uint64_t seq_lo, seq_hi;
    uint64_t nrows, min_time, max_time;
    uint64_t disk_bytes;
    char *path;
    char name[64];
    uint32_t ngroups, ncols;
    part_group *groups;
    part_block *blocks; /* ngroups * ncols, then ncols part and ncols zstd dictionaries */
    uint8_t *cols;
    size_t cols_len;
    /* The dictionaries are checked at open but decoded on the first read
     * (part_dicts), so parts nobody reads (fresh flushes waiting for a merge)
     * hold no heap for them. */
    pthread_mutex_t dict_mu;
    atomic_bool dicts_loaded;
    int dicts_rc;
    col_pdict pdict[COL_MAX]; /* part dictionaries */
    uint8_t *pdict_mem[COL_MAX];
    struct ZSTD_DDict_s *zdict[COL_MAX]; /* zstd dictionaries of the blocks, or NULL */
    bool has_tidx;
    tidx tx;
} part;

/* Opens the part in directory path (its name must be "<lo>-<hi>" in hex).
 * The caller owns one reference; drop it with part_unref. */
int part_open(const char *path, signal_t sig, uint32_t day, part **out);
void part_ref(part *p);
void part_unref(part *p);
/* Parses a part directory name into its sequence range. */
int part_name_parse(const char *name, uint64_t *lo, uint64_t *hi);
void part_name_make(uint64_t lo, uint64_t hi, char out[64]);

typedef struct part_writer part_writer;
/* Starts writing a part into the existing (temporary) directory dir. Rows
 * must come in row_cmp order. part_writer_finish fsyncs every file and frees
 * the writer; part_writer_abort frees it (the caller removes dir). */
int part_writer_open(const char *dir, signal_t sig, uint64_t seq_lo, uint64_t seq_hi,
                     part_writer **out);
/* The zstd level of the blocks written from now on (default
 * PART_ZSTD_LEVEL_FLUSH). */
void part_writer_set_level(part_writer *w, int level);
/* Promises that every row's origin pointer keeps pointing at the same
 * origin until the writer is finished (memtable rows do; rows read back
 * from parts do not), so origins are recognized by address. */
void part_writer_set_stable_origins(part_writer *w);
int part_writer_add(part_writer *w, const void *row);
int part_writer_finish(part_writer *w, uint64_t *nrows);
void part_writer_abort(part_writer *w);

/* A reader holds the scratch for decoding one row group; reused across
 * lookups (the store pools them). */
typedef struct part_reader part_reader;
part_reader *part_reader_new(void); /* NULL on ENOMEM; free with part_reader_free */
void part_reader_free(part_reader *r);
/* Decompresses (checking every block's CRC) and decodes group g of p. The
 * _rows form prepares only rows [from, to) of the group for reading. */
int part_reader_load(part_reader *r, const part *p, uint32_t g);
int part_reader_load_rows(part_reader *r, const part *p, uint32_t g, uint32_t from, uint32_t to);
/* Row i of the loaded group, as a model_* struct valid until the next call.
 * BRAID_EINVAL outside the loaded rows, BRAID_EFORMAT if its origin does not
 * decode. */
int part_reader_row(part_reader *r, uint32_t i, const void **row);
uint32_t part_reader_rows(const part_reader *r);
/* Group index of a row number (binary search). */
uint32_t part_group_of(const part *p, uint32_t row);

/* ---------------------------------------------------------------------------
 * Store internals used by tests and by the background threads.
 * ------------------------------------------------------------------------- */
typedef struct partset {
    atomic_int ref;
    part **p[SIGNAL_COUNT]; /* by (day, seq_lo) */
    size_t n[SIGNAL_COUNT];
} partset;

#define MERGE_TRIGGER 8 /* merge a day when it has more parts than this */
#define MEMTABLE_MAX_AGE_NS (600ull * 1000000000ull) /* flush a quiet memtable */
#define MERGE_MAX_INPUTS 8                           /* parts merged at once */
/* Appends wait for the flush once memtables (active and frozen) hold this
 * many memtable sizes (or half the memory limit, if less). */
#define FLUSH_BACKLOG_MEMTABLES 4
/* While the flush is behind, merges wait, unless a day has more parts than
 * this. */
#define MERGE_PILEUP 256

typedef struct part_reader_pool {
    pthread_mutex_t mu;
    part_reader **free;
    size_t n, cap;
} part_reader_pool;

struct store {
    store_opts o;
    char *dir;
    char wal_dir[4096];
    char parts_dir[4096];
    wal *w;

    /* view: what queries see. Held briefly; never across I/O. */
    pthread_mutex_t view_mu;
    memtable *active;
    memtable *frozen_head, *frozen_tail; /* oldest first */
    partset *ps;
    atomic_uint_fast64_t mem_bytes;

    pthread_mutex_t flush_mu;         /* one flusher at a time */
    atomic_uint_fast64_t flushed_seq; /* the durable checkpoint */
    pthread_mutex_t maint_mu;         /* merges and retention */
    pthread_mutex_t dir_mu;           /* creation and removal of day directories */

    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    bool stop;
    bool flush_wanted;
    bool threads_started;
    pthread_t flush_thread, maint_thread;
    int bg_error;

    part_reader_pool readers;

    atomic_uint_fast64_t flushes, merges;
    uint32_t merge_trigger;
    atomic_uint_fast64_t max_age_ns; /* MEMTABLE_MAX_AGE_NS; tests shorten it */

    struct store_src *src; /* source checkpoint (srcckpt.c) */
    struct store_obs *obs; /* the observer's queue and state (observer.c); NULL without one */
};

/* ---------------------------------------------------------------------------
 * Source checkpoints (srcckpt.c): a WAL body that starts with 0xC1 carries a
 * blob before its row codec part.
 * ------------------------------------------------------------------------- */
/* Allocates s->src (freed by store_src_free) and reads <data>/sources.
 * 0, BRAID_ENOMEM or BRAID_EIO. */
int store_src_open(store *s);
void store_src_free(store *s);
/* At replay, for every intact record: notes a carried blob and narrows
 * body/len to the row codec part. Returns 0 (rows follow), 1 (the record
 * has no rows) or BRAID_EFORMAT. */
int store_src_replay(store *s, uint64_t seq, const uint8_t **body, size_t *len);
/* In the commit callback, for every record, in sequence order. */
void store_src_commit(store *s, const wal_rec *r);
/* Writes <data>/sources if a newer blob was acknowledged since the last
 * write; called before the checkpoint moves. 0 or BRAID_EIO/ENOMEM. */
int store_src_save(store *s);

/* ---------------------------------------------------------------------------
 * Observer (observer.c): store_opts.observer's queue, thread and state file.
 * Every function is a no-op without an observer.
 * ------------------------------------------------------------------------- */
/* Allocates s->obs (freed by store_obs_free), reads <data>/observer and hands
 * it to the observer's load. 0, BRAID_ENOMEM or BRAID_EIO. */
int store_obs_open(store *s);
void store_obs_free(store *s);
/* Whether replay must hand record seq to the observer. */
bool store_obs_wants(store *s, uint64_t seq);
/* At replay (open, before the thread starts): observes ck inline if wanted. */
void store_obs_replay(store *s, uint64_t seq, const mchunk *ck);
int store_obs_start(store *s);
/* In the commit callback, in sequence order, after ck is linked into m:
 * queues it (taking a reference on m). May wait while the queue is full. */
void store_obs_commit(store *s, memtable *m, const mchunk *ck, uint64_t seq);
/* Waits until every queued record is observed. */
void store_obs_drain(store *s);
void store_obs_stop(store *s);
/* Writes <data>/observer (at most every few seconds unless force). Errors
 * are logged and returned; the WAL then keeps what the file lacks. */
int store_obs_save(store *s, bool force);
/* How far the WAL may be trimmed: min(flushed, what the observer's file covers). */
uint64_t store_obs_trim_limit(store *s, uint64_t flushed);
/* Drops a memtable reference, returning the freed bytes to the accounting. */
void store_drop_memtable(store *s, memtable *m);

/* Writes every frozen memtable to parts (and freezes the active one first
 * when freeze_active). Serialized by flush_mu. */
int store_flush_frozen(store *s, bool freeze_active);
/* One pass of retention and merges (what the maintenance thread runs). */
int store_maintain(store *s);
/* Lowers the calling thread's scheduling priority to the minimum, so merges
 * run on CPU that ingest and flushes leave idle. Best effort. */
void store_maint_thread_priority(void);
/* The current part set with a reference; release with partset_unref. */
partset *store_partset(store *s);
void partset_unref(partset *ps);
/* A new set: old minus del plus add (every part in it gets a reference).
 * NULL on ENOMEM; release with partset_unref. */
partset *partset_edit(const partset *old, part *const *add, size_t nadd, part *const *del,
                      size_t ndel);
/* Directory name of a signal under parts/. */
const char *store_sig_dir(signal_t sig);
/* Scans parts/ at open: removes temporaries, half-deleted parts, parts of an
 * unfinished flush (above the checkpoint) and inputs of a finished merge;
 * opens the rest into s->ps. */
int store_load_parts(store *s);
/* Whether any part directory exists under parts/ (before loading). */
bool store_any_part(store *s);
/* Writes rows (sorted by row_cmp, all of one UTC day) as a part named by the
 * sequence range, renames it into place and opens it; the caller owns the
 * returned reference (part_unref). */
int store_write_part(store *s, signal_t sig, uint32_t day, uint64_t lo, uint64_t hi,
                     const void *const *rows, size_t n, part **out);
/* Deletes a part directory, its meta first so a crash midway leaves a
 * directory that start-up recognizes as half-deleted. */
int store_remove_part_dir(const char *path);

#endif

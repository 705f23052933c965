/* logparse/internal.h: what the files of src/logparse share and nothing else
 * includes — the time prefix parser, the UTF-8-safe cut, and the collector
 * that weighs trace/span id candidates by field name while a message or a
 * record is walked. */
#ifndef BRAID_LOGPARSE_INTERNAL_H
#define BRAID_LOGPARSE_INTERNAL_H

#include "logparse.h"

/* RFC 3339 time at the start of s; *used gets its length. 1 or 0. */
int lp_time_prefix(bslice s, uint64_t *ns, bool *zoned, size_t *used);

/* A value offered to the collector. */
typedef enum { LPV_STR = 0, LPV_NUM = 1, LPV_BOOL = 2, LPV_BYTES = 3 } lp_vtype;
typedef struct {
    uint8_t type; /* lp_vtype */
    bslice s;     /* text of STR and NUM (a JSON number as written), bytes of BYTES */
    bool b;       /* BOOL */
} lp_value;

#define LP_RANKS 10
#define LP_PATH_MAX 32

/* Weighs candidates as they are offered; the best-ranked valid trace id
 * wins, the first one on a tie. The winning field's path is joined with '.'
 * into ar. */
typedef struct {
    arena *ar;
    int err;
    uint8_t trace_rank; /* LP_RANKS: none yet */
    trace_id_t trace;
    uint8_t form;
    bslice field;
    bool tr_sampled_known, tr_sampled; /* from the winning value itself */
    bool has_span[LP_RANKS];
    span_id_t span[LP_RANKS];
    bool span_bound[LP_RANKS]; /* came with a trace id (traceparent, b3, uber) */
    trace_id_t span_trace[LP_RANKS];
    bool flags_known, flags_sampled; /* from a separate flags field */
    /* the sampled flag of the first traceparent/b3/uber value that did not
     * win, used when it names the same trace as the winner */
    bool alt_known, alt_sampled;
    trace_id_t alt_trace;
} lp_ids;

void lp_ids_init(lp_ids *c, arena *ar);
/* Whether a key could name an id (a cheap test on its last component), so a
 * walker can skip building paths for the rest. */
bool lp_ids_interesting(bslice last_key);
/* Offers one field: its path (keys from the outermost, each may contain
 * dots) and value. Returns 0 or BRAID_ENOMEM. */
int lp_ids_offer(lp_ids *c, const bslice *path, size_t npath, lp_value v);
/* Offers a bare W3C traceparent found in text with no key (lowest rank). */
void lp_ids_offer_bare_traceparent(lp_ids *c, bslice v);
void lp_ids_finish(const lp_ids *c, logparse_ids *out);

/* Scans text for key=value, key: value and "key":"value" fragments: offers
 * every one to ids; key=value ones are also appended to attrs (when attrs is
 * not NULL) as string attributes. Returns 0 or BRAID_ENOMEM. */
int lp_scan_text(bslice text, arena *ar, lp_ids *ids, buf *attrs, uint32_t *nattrs);
/* Parses msg as JSON, logfmt or text for ids only (a string body of an OTLP
 * record). Returns 0 or BRAID_ENOMEM. */
int lp_ids_from_message(bslice msg, arena *ar, lp_ids *ids);

#endif

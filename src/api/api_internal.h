/* api internals: what the API's handler files share — request parameters,
 * response helpers and the per-file handlers. Nothing outside src/api/
 * includes this. */
#ifndef BRAID_API_INTERNAL_H
#define BRAID_API_INTERNAL_H

#include "api.h"

/* One request's query parameters and its response under construction. */
typedef struct {
    api_response *r;
    bslice q;     /* raw query string */
    uint64_t now; /* request time, for relative times */
    bool failed;  /* a parameter was bad and a 400 is already written */
} params;

store *api_store(api *a);
void respond_json(api_response *r, int status);
/* Replaces the body with {"error": ...} and sets the status. */
void respond_error(api_response *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parameter readers: return true when present and valid; on a malformed
 * value they write a 400 naming the parameter and set p->failed. */
bool p_str(params *p, const char *name, char *out, size_t cap);
bool p_time(params *p, const char *name, uint64_t *out);
bool p_uint(params *p, const char *name, uint64_t max, uint64_t *out);
bool p_duration(params *p, const char *name, uint64_t *out);
/* [start, end] from the parameters, default the last hour. */
bool p_window(params *p, uint64_t *start, uint64_t *end);

void api_handle_metric_list(api *a, params *p);
void api_handle_metric_query(api *a, bslice name, params *p);

#endif

/* fuzz_health: loads the input as a saved correlation-health state. Loading
 * must never crash or read outside the bytes, only refuse; whatever it
 * accepts must render as a report, be judged, and save back to the same
 * bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health/health.h"

static uint64_t fixed_now(void)
{
    return 1700000000000000000ull;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    health_opts o;
    health_opts_default(&o);
    o.now = fixed_now;
    health *h;
    if (health_new(&o, &h))
        abort();
    /* Copy so reading past the end is caught. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        abort();
    memcpy(copy, data, size);
    int rc = health_load(h, (bslice){copy, size});
    if (rc == 0) {
        buf out;
        buf_init(&out);
        if (health_save(h, &out))
            abort();
        if (size && (out.n != size || memcmp(out.p, copy, size) != 0))
            abort();
        buf_reset(&out);
        if (health_report_json(h, 0, UINT64_MAX / 2, (bslice){0}, &out))
            abort();
        buf_reset(&out);
        health_metrics(h, fixed_now(), &out);
        health_tick(h, UINT64_MAX / 2);
        buf_free(&out);
    }
    free(copy);
    health_free(h);
    return 0;
}

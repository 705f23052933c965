/* fuzz_column: decodes the input as one column block (byte 0: kind, 1: rows,
 * 2: rows rebuilt) with a small part dictionary; decoding must never crash or
 * read outside the block, only refuse, and what it accepts is read whole. The
 * input is also cut into attribute and body rows, encoded and decoded: every
 * row must come back. */
#include <stdint.h>
#include <stdlib.h>

#include "store/internal.h"

static const uint8_t kinds[] = {CK_TIME, CK_TREL, CK_U32,   CK_I32,    CK_U8,    CK_I64,  CK_F64,
                                CK_ID16, CK_ID8,  CK_BYTES, CK_ORIGIN, CK_ATTRS, CK_BODY, CK_TID};

static void decode(const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    col_desc d = {kinds[data[0] % sizeof kinds], 0, 0};
    uint32_t nrows = (uint32_t)data[1] + 1;
    uint32_t from = data[2] % nrows, to = from + (uint32_t)(data[2] >> 4) + 1;
    static const uint8_t pdmem[] = {3, 1, 'a', 0, 5, 'h', 'e', 'l', 'l', 'o'};
    col_pdict pd;
    if (col_pdict_parse(pdmem, sizeof pdmem, &pd))
        abort();
    colval *out = calloc(nrows, sizeof *out);
    bslice *dict = calloc(nrows, sizeof *dict);
    buf recon;
    buf_init(&recon);
    /* Copy the block so reading past its end is caught. */
    size_t n = size - 3;
    uint8_t *blk = malloc(n ? n : 1);
    memcpy(blk, data + 3, n);
    int rc = col_decode(&d, blk, n, nrows, out, dict, &recon, from, to, &pd);
    if (rc == 0 && d.kind != CK_TID) {
        uint64_t sum = 0;
        for (uint32_t i = 0; i < nrows; i++) {
            bool slice = d.kind >= CK_ID16 && d.kind != CK_TID;
            if (!slice)
                sum += out[i].u;
            else if ((d.kind != CK_ATTRS && d.kind != CK_BODY) || (i >= from && i < to))
                for (size_t k = 0; k < out[i].s.n; k++)
                    sum += out[i].s.p[k];
        }
        if (sum == 0x5555555555555555ull)
            abort(); /* keeps the reads */
    }
    free(blk);
    buf_free(&recon);
    free(out);
    free(dict);
    col_pdict_free(&pd);
}

/* Cuts the input into rows (0xff separates them) and encodes them as an
 * attrs block (when each is a valid attrs encoding) and as a body block,
 * then decodes both and checks every row came back. */
static void encode(const uint8_t *data, size_t size)
{
    static const col_desc cols[] = {{CK_ATTRS, offsetof(model_log, attrs), 0},
                                    {CK_BODY, offsetof(model_log, body), 0}};
    for (size_t c = 0; c < 2; c++) {
        colw w;
        colw_init(&w);
        bslice rows[256];
        uint32_t nrows = 0;
        for (size_t at = 0; at <= size && nrows < 256;) {
            size_t end = at;
            while (end < size && data[end] != 0xff)
                end++;
            bslice v = {end > at ? data + at : NULL, end - at};
            if (cols[c].kind == CK_BODY || av_validate_attrs(v) == 0) {
                model_log l = {0};
                if (cols[c].kind == CK_ATTRS)
                    l.attrs = v;
                else
                    l.body = v;
                if (colw_add(&w, &cols[c], &l))
                    abort();
                rows[nrows++] = v;
            }
            at = end + 1;
        }
        buf out, recon, mem;
        buf_init(&out);
        buf_init(&recon);
        buf_init(&mem);
        if (nrows && colw_finish(&w, &cols[c], &out) == 0) {
            col_pdict pd = {0};
            if (w.pd.n) {
                if (colw_finish_pdict(&w, &mem) || col_pdict_parse(mem.p, mem.n, &pd))
                    abort();
            }
            colval *v = calloc(nrows, sizeof *v);
            bslice *dict = calloc(nrows, sizeof *dict);
            if (col_decode(&cols[c], out.p, out.n, nrows, v, dict, &recon, 0, nrows,
                           w.pd.n ? &pd : NULL))
                abort();
            for (uint32_t i = 0; i < nrows; i++)
                if (!bslice_eq(v[i].s, rows[i]))
                    abort();
            free(v);
            free(dict);
            col_pdict_free(&pd);
        }
        buf_free(&out);
        buf_free(&recon);
        buf_free(&mem);
        colw_free(&w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    braid_log_level = -1;
    decode(data, size);
    encode(data, size);
    return 0;
}

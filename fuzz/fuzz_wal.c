/* fuzz_wal: writes the input as a WAL segment in a fresh data directory and
 * opens the store on it; replay must never crash, only cut or skip. What
 * survives is looked up, scanned, flushed to parts and read back. First byte
 * even: the rest is the raw segment; odd: the rest is split into payloads
 * (2-byte lengths) framed with valid CRCs, to reach the row decoder. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/internal.h"

static char base[256];

static int count_cb(const void *row, void *ud)
{
    (void)row;
    (*(uint64_t *)ud)++;
    return 0;
}

static void write_segment(const char *path, const uint8_t *data, size_t size)
{
    buf seg;
    buf_init(&seg);
    if (size > 0 && (data[0] & 1)) {
        size_t off = 1;
        uint64_t seq = 1;
        while (off + 2 <= size) {
            size_t n = (size_t)data[off] | (size_t)data[off + 1] << 8;
            off += 2;
            if (n > size - off)
                n = size - off;
            buf body;
            buf_init(&body);
            buf_append(&body, data + off, n);
            buf_put_u64le(&body, seq++);
            buf_put_u32le(&seg, (uint32_t)body.n);
            buf_put_u32le(&seg, crc32c(0, body.p, body.n));
            buf_append(&seg, body.p, body.n);
            buf_free(&body);
            off += n;
        }
    } else if (size > 0) {
        buf_append(&seg, data + 1, size - 1);
    }
    FILE *f = fopen(path, "wb");
    if (f) {
        if (seg.n)
            fwrite(seg.p, 1, seg.n, f);
        fclose(f);
    }
    buf_free(&seg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base[0]) {
        braid_log_level = -1;
        const char *root = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(base, sizeof base, "%s/braid-fuzz-wal-%d", root, (int)getpid());
    }
    fs_rm_rf(base);
    char wal[512], seg[600];
    snprintf(wal, sizeof wal, "%s/wal", base);
    if (fs_mkdir(base, NULL) || fs_mkdir(wal, NULL))
        return 0;
    snprintf(seg, sizeof seg, "%s/0000000000000001.wal", wal);
    write_segment(seg, data, size);

    store_opts o;
    store_opts_default(&o);
    o.dir = base;
    o.background = false;
    o.fsync = STORE_FSYNC_NONE;
    store *s = NULL;
    if (store_open(&o, &s) == 0) {
        for (int sig = 0; sig < SIGNAL_COUNT; sig++) {
            uint64_t n = 0;
            store_scan(s, (signal_t)sig, 0, UINT64_MAX, count_cb, &n);
        }
        trace_id_t tid;
        memset(&tid, 0, sizeof tid);
        if (size >= 17)
            memcpy(tid.b, data + 1, 16);
        else
            tid.b[15] = 1;
        model_batch out;
        model_batch_init(&out);
        store_trace(s, &tid, &out);
        model_batch_free(&out);
        store_close(s);
        /* Reopen: now the rows come from parts. */
        if (store_open(&o, &s) == 0) {
            for (int sig = 0; sig < SIGNAL_COUNT; sig++) {
                uint64_t n = 0;
                store_scan(s, (signal_t)sig, 0, UINT64_MAX, count_cb, &n);
            }
            model_batch_init(&out);
            store_trace(s, &tid, &out);
            model_batch_free(&out);
            store_close(s);
        }
    }
    fs_rm_rf(base);
    return 0;
}

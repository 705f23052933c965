/* bench_part: what the parts of a braid data directory are made of: per
 * signal and column, stored and raw block bytes per row, with the trace index
 * and meta. --rewrite writes every part again through this build's writer (as
 * a flush would) and prints the same for the result and the writer's CPU time
 * per row. Reads store internals; never modifies the directory it measures. */
#include "benchlib.c" /* shared bench helpers; see the note at its top */

#include <dirent.h>
#include <getopt.h>
#include <zstd.h>

#include "store/internal.h"

typedef struct {
    uint64_t stored[COL_MAX], raw[COL_MAX];
    uint64_t rows, parts, groups, meta, tidx, cols;
} totals;

typedef struct {
    bool rewrite;
    const char *only;        /* signal name or NULL */
    const char *dump;        /* directory for per-column value dumps of the first part, or NULL */
    const char *dump_blocks; /* directory for the raw blocks of the first part, or NULL */
    int level;               /* zstd level of rewrites; 0: the writer's default (a flush's) */
} config;

/* Writes every block of p, decompressed, as dir/<column>.<group>. */
static int dump_blocks(const part *p, const char *dir)
{
    ZSTD_DCtx *z = ZSTD_createDCtx();
    buf out;
    buf_init(&out);
    int rc = z ? 0 : BRAID_ENOMEM;
    for (uint32_t g = 0; g < p->ngroups && !rc; g++)
        for (uint32_t c = 0; c < p->ncols && !rc; c++) {
            const part_block *b = &p->blocks[(size_t)g * p->ncols + c];
            buf_reset(&out);
            if (buf_reserve(&out, b->rlen + 1)) {
                rc = BRAID_ENOMEM;
                break;
            }
            if (b->codec == 1) {
                size_t n = ZSTD_decompressDCtx(z, out.p, b->rlen, p->cols + b->off, b->clen);
                if (ZSTD_isError(n) || n != b->rlen) {
                    rc = BRAID_EFORMAT;
                    break;
                }
            } else if (b->rlen) {
                memcpy(out.p, p->cols + b->off, b->rlen);
            }
            char path[1400];
            snprintf(path, sizeof path, "%s/%s.%05u", dir, col_name(p->sig, c), g);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(out.p, 1, b->rlen, f) != b->rlen)
                rc = BRAID_EIO;
            if (f && fclose(f) != 0)
                rc = BRAID_EIO;
        }
    buf_free(&out);
    ZSTD_freeDCtx(z);
    return rc;
}

/* Writes every row of p as one file per column under dir: fixed-width
 * columns as their row struct bytes, strings and encodings as u32 length
 * plus bytes (origins as their row-codec blob). For studying the data with
 * other tools. */
static int dump_part(const part *p, const char *dir)
{
    const col_schema *sc = col_schema_for(p->sig);
    FILE *f[COL_MAX] = {0};
    int rc = 0;
    for (uint32_t c = 0; c < sc->ncols && !rc; c++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s.%s", dir, store_sig_dir(p->sig), col_name(p->sig, c));
        if (!(f[c] = fopen(path, "wb")))
            rc = BRAID_EIO;
    }
    part_reader *rd = rc ? NULL : part_reader_new();
    buf ob;
    buf_init(&ob);
    if (!rc && !rd)
        rc = BRAID_ENOMEM;
    for (uint32_t g = 0; g < p->ngroups && !rc; g++) {
        rc = part_reader_load(rd, p, g);
        for (uint32_t i = 0; i < p->groups[g].nrows && !rc; i++) {
            const uint8_t *row;
            rc = part_reader_row(rd, i, (const void **)&row);
            for (uint32_t c = 0; c < sc->ncols && !rc; c++) {
                const col_desc *d = &sc->cols[c];
                const uint8_t *v = row + d->off;
                size_t n = 0;
                uint8_t len[4];
                switch (d->kind) {
                case CK_TIME:
                case CK_TREL:
                case CK_I64:
                case CK_F64:
                    n = 8;
                    break;
                case CK_U32:
                case CK_I32:
                    n = 4;
                    break;
                case CK_U8:
                    n = 1;
                    break;
                case CK_ID16:
                    n = 16;
                    break;
                case CK_ID8:
                    n = 8;
                    break;
                case CK_ORIGIN: {
                    buf_reset(&ob);
                    rowcodec_put_origin(&ob, *(const model_origin *const *)row);
                    wr_u32le(len, (uint32_t)ob.n);
                    fwrite(len, 1, 4, f[c]);
                    v = ob.p;
                    n = ob.n;
                    break;
                }
                default: {
                    bslice s;
                    memcpy(&s, v, sizeof s);
                    wr_u32le(len, (uint32_t)s.n);
                    fwrite(len, 1, 4, f[c]);
                    v = s.p;
                    n = s.n;
                }
                }
                if (n && fwrite(v, 1, n, f[c]) != n)
                    rc = BRAID_EIO;
            }
        }
    }
    buf_free(&ob);
    part_reader_free(rd);
    for (uint32_t c = 0; c < sc->ncols; c++)
        if (f[c] && fclose(f[c]) != 0 && !rc)
            rc = BRAID_EIO;
    return rc;
}

static void add_part(totals *t, const part *p)
{
    t->rows += p->nrows;
    t->parts++;
    t->groups += p->ngroups;
    t->cols += p->cols_len;
    t->tidx += p->has_tidx ? p->tx.len : 0;
    t->meta += p->disk_bytes - p->cols_len - (p->has_tidx ? p->tx.len : 0);
    for (uint32_t g = 0; g < p->ngroups; g++)
        for (uint32_t c = 0; c < p->ncols; c++) {
            const part_block *b = &p->blocks[(size_t)g * p->ncols + c];
            t->stored[c] += b->clen;
            t->raw[c] += b->rlen;
        }
}

static void print_totals(const char *title, signal_t sig, const totals *t)
{
    const col_schema *sc = col_schema_for(sig);
    char a[32], b[32];
    double rows = t->rows ? (double)t->rows : 1;
    char g[32];
    printf("\n%s: %s rows in %s parts, %s groups\n", title, bench_fmt_u64(t->rows, a),
           bench_fmt_u64(t->parts, b), bench_fmt_u64(t->groups, g));
    printf("  %-18s %12s %10s %10s %7s\n", "column", "stored", "B/row", "raw B/row", "ratio");
    uint64_t all = 0;
    for (uint32_t c = 0; c < sc->ncols; c++) {
        all += t->stored[c];
        printf("  %-18s %12s %10.2f %10.2f %7.2f\n", col_name(sig, c),
               bench_fmt_bytes(t->stored[c], a), (double)t->stored[c] / rows,
               (double)t->raw[c] / rows,
               t->stored[c] ? (double)t->raw[c] / (double)t->stored[c] : 0);
    }
    printf("  %-18s %12s %10.2f\n", "(cols file)", bench_fmt_bytes(t->cols, a),
           (double)t->cols / rows);
    if (t->cols > all)
        printf("  %-18s %12s %10.2f\n", "(part dictionaries)", bench_fmt_bytes(t->cols - all, a),
               (double)(t->cols - all) / rows);
    printf("  %-18s %12s %10.2f\n", "tidx", bench_fmt_bytes(t->tidx, a), (double)t->tidx / rows);
    printf("  %-18s %12s %10.2f\n", "meta", bench_fmt_bytes(t->meta, a), (double)t->meta / rows);
    uint64_t total = t->cols + t->tidx + t->meta;
    printf("  %-18s %12s %10.2f\n", "total", bench_fmt_bytes(total, a), (double)total / rows);
}

/* CPU seconds of the calling thread (steadier than wall time on a shared
 * machine). */
static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Rows of one part copied out of it, as a flush would hand them to the
 * writer: every string in one arena, origins shared by the rows that have
 * the same one (like a request's rows in a memtable). */
typedef struct {
    uint8_t *rows; /* n rows of row_size(sig) */
    size_t n;
    arena ar;
    buf blobs;           /* origin blobs seen, back to back */
    size_t *blob_off;    /* per distinct origin: offset of its blob ... */
    size_t *blob_len;    /* ... and length */
    model_origin **orig; /* ... and the copy rows point to */
    size_t norig;
} copied;

static void copied_free(copied *c)
{
    free(c->rows);
    arena_free(&c->ar);
    buf_free(&c->blobs);
    free(c->blob_off);
    free(c->blob_len);
    free(c->orig);
    memset(c, 0, sizeof *c);
}

static bslice keep(copied *c, bslice s)
{
    if (!s.n)
        return (bslice){NULL, 0};
    uint8_t *p = arena_alloc(&c->ar, s.n);
    if (!p)
        return (bslice){NULL, 0};
    memcpy(p, s.p, s.n);
    return (bslice){p, s.n};
}

static const model_origin *keep_origin(copied *c, const model_origin *o, buf *tmp)
{
    buf_reset(tmp);
    rowcodec_put_origin(tmp, o);
    for (size_t i = 0; i < c->norig; i++)
        if (c->blob_len[i] == tmp->n && memcmp(c->blobs.p + c->blob_off[i], tmp->p, tmp->n) == 0)
            return c->orig[i];
    size_t n = c->norig + 1;
    c->blob_off = realloc(c->blob_off, n * sizeof *c->blob_off);
    c->blob_len = realloc(c->blob_len, n * sizeof *c->blob_len);
    c->orig = realloc(c->orig, n * sizeof *c->orig);
    model_origin *d = arena_alloc(&c->ar, sizeof *d);
    if (!c->blob_off || !c->blob_len || !c->orig || !d)
        return NULL;
    *d = *o;
    d->service = keep(c, o->service);
    d->resource_attrs = keep(c, o->resource_attrs);
    d->resource_schema_url = keep(c, o->resource_schema_url);
    d->scope_name = keep(c, o->scope_name);
    d->scope_version = keep(c, o->scope_version);
    d->scope_attrs = keep(c, o->scope_attrs);
    d->scope_schema_url = keep(c, o->scope_schema_url);
    c->blob_off[c->norig] = c->blobs.n;
    c->blob_len[c->norig] = tmp->n;
    c->orig[c->norig] = d;
    buf_append(&c->blobs, tmp->p, tmp->n);
    c->norig = n;
    return d;
}

static int copy_part(const part *p, copied *c)
{
    memset(c, 0, sizeof *c);
    arena_init(&c->ar);
    buf_init(&c->blobs);
    const col_schema *sc = col_schema_for(p->sig);
    size_t rs = row_size(p->sig);
    c->rows = malloc((size_t)p->nrows * rs);
    part_reader *rd = part_reader_new();
    buf tmp;
    buf_init(&tmp);
    int rc = c->rows && rd ? 0 : BRAID_ENOMEM;
    for (uint32_t g = 0; g < p->ngroups && !rc; g++) {
        rc = part_reader_load(rd, p, g);
        for (uint32_t i = 0; i < p->groups[g].nrows && !rc; i++) {
            const void *row;
            if ((rc = part_reader_row(rd, i, &row)) != 0)
                break;
            uint8_t *d = c->rows + c->n++ * rs;
            memcpy(d, row, rs);
            for (uint32_t k = 0; k < sc->ncols; k++) {
                uint8_t *f = d + sc->cols[k].off;
                uint8_t kind = sc->cols[k].kind;
                if (kind == CK_BYTES || kind == CK_ATTRS || kind == CK_BODY) {
                    bslice v;
                    memcpy(&v, f, sizeof v);
                    v = keep(c, v);
                    memcpy(f, &v, sizeof v);
                } else if (kind == CK_ORIGIN) {
                    const model_origin *o;
                    memcpy(&o, f, sizeof o);
                    o = keep_origin(c, o, &tmp);
                    if (!o)
                        rc = BRAID_ENOMEM;
                    memcpy(f, &o, sizeof o);
                }
            }
        }
    }
    buf_free(&tmp);
    part_reader_free(rd);
    return rc;
}

/* Copies every row of p out (as a flush finds them in a memtable), then
 * writes them through a part writer into dir. Adds the writer's CPU time to
 * *write_s. */
static int rewrite_part(const part *p, const char *dir, int level, double *write_s)
{
    copied c;
    int rc = copy_part(p, &c);
    part_writer *w = NULL;
    double t0 = thread_cpu_s();
    if (!rc)
        rc = part_writer_open(dir, p->sig, p->seq_lo, p->seq_hi, &w);
    if (!rc)
        part_writer_set_stable_origins(w);
    if (!rc && level)
        part_writer_set_level(w, level);
    size_t rs = row_size(p->sig);
    for (size_t i = 0; i < c.n && !rc; i++)
        rc = part_writer_add(w, c.rows + i * rs);
    if (!rc) {
        rc = part_writer_finish(w, NULL);
        w = NULL;
    }
    *write_s += thread_cpu_s() - t0;
    part_writer_abort(w);
    copied_free(&c);
    return rc;
}

static int scan_signal(const config *cfg, const char *data, signal_t sig, const char *tmp)
{
    char sd[1024];
    snprintf(sd, sizeof sd, "%s/parts/%s", data, store_sig_dir(sig));
    DIR *d = opendir(sd);
    if (!d)
        return 0;
    totals before, after;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    double write_s = 0;
    int rc = 0, seq = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && !rc) {
        uint32_t day;
        if (day_parse(e->d_name, &day))
            continue;
        char dd[1400];
        snprintf(dd, sizeof dd, "%s/%s", sd, e->d_name);
        DIR *d2 = opendir(dd);
        if (!d2)
            continue;
        struct dirent *f;
        while ((f = readdir(d2)) != NULL && !rc) {
            uint64_t lo, hi;
            if (part_name_parse(f->d_name, &lo, &hi))
                continue;
            char pp[1800];
            snprintf(pp, sizeof pp, "%s/%s", dd, f->d_name);
            part *p;
            if ((rc = part_open(pp, sig, day, &p)) != 0) {
                fprintf(stderr, "bench_part: %s: %s\n", pp, braid_strerror(rc));
                break;
            }
            add_part(&before, p);
            if (cfg->dump && before.parts == 1 && (rc = dump_part(p, cfg->dump)) != 0)
                fprintf(stderr, "bench_part: dumping %s: %s\n", pp, braid_strerror(rc));
            if (cfg->dump_blocks && before.parts == 1 &&
                (rc = dump_blocks(p, cfg->dump_blocks)) != 0)
                fprintf(stderr, "bench_part: dumping blocks of %s: %s\n", pp, braid_strerror(rc));
            if (cfg->rewrite) {
                char out[1200], name[64];
                snprintf(out, sizeof out, "%s/%s-%d", tmp, store_sig_dir(sig), seq++);
                part_name_make(lo, hi, name);
                char final[1300];
                snprintf(final, sizeof final, "%s/%s", out, name);
                if (mkdir(out, 0755) || mkdir(final, 0755)) {
                    rc = BRAID_EIO;
                } else {
                    rc = rewrite_part(p, final, cfg->level, &write_s);
                    part *q;
                    if (!rc && (rc = part_open(final, sig, day, &q)) == 0) {
                        add_part(&after, q);
                        part_unref(q);
                    }
                    bench_rm_rf(out);
                }
                if (rc)
                    fprintf(stderr, "bench_part: rewriting %s: %s\n", pp, braid_strerror(rc));
            }
            part_unref(p);
        }
        closedir(d2);
    }
    closedir(d);
    if (before.parts == 0)
        return rc;
    print_totals(store_sig_dir(sig), sig, &before);
    if (cfg->rewrite && !rc) {
        char title[128];
        snprintf(title, sizeof title, "%s rewritten by this build", store_sig_dir(sig));
        print_totals(title, sig, &after);
        printf("  writer CPU time: %.3f s, %.2f us/row\n", write_s,
               after.rows ? write_s * 1e6 / (double)after.rows : 0);
    }
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_part [--rewrite [--level N]] [--dump DIR] [--dump-blocks DIR]\n"
               "                  [--signal logs|spans|metrics|exemplars] DATA_DIR\n");
}

int main(int argc, char **argv)
{
    config cfg = {0};
    static const struct option opts[] = {{"rewrite", no_argument, NULL, 'r'},
                                         {"signal", required_argument, NULL, 's'},
                                         {"dump", required_argument, NULL, 'd'},
                                         {"dump-blocks", required_argument, NULL, 'D'},
                                         {"level", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'r':
            cfg.rewrite = true;
            break;
        case 's':
            cfg.only = optarg;
            break;
        case 'd':
            cfg.dump = optarg;
            break;
        case 'D':
            cfg.dump_blocks = optarg;
            break;
        case 'l':
            cfg.level = atoi(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *data = argv[optind];
    char tmp[512] = "";
    if (cfg.rewrite && bench_mkdtemp("braid-bench-part-", tmp, sizeof tmp))
        return 1;
    printf("bench_part: parts under %s\n", data);
    bench_print_machine(stdout);
    int rc = 0;
    for (int s = 0; s < SIGNAL_COUNT && !rc; s++) {
        if (cfg.only && strcmp(cfg.only, store_sig_dir((signal_t)s)) != 0)
            continue;
        rc = scan_signal(&cfg, data, (signal_t)s, tmp);
    }
    if (tmp[0])
        bench_rm_rf(tmp);
    return rc ? 1 : 0;
}

/*
 * soa_web.c: any system's transfer path, from its layout table
 * (soa_web.h).
 *
 * The page's side is a runtime snapshot (soa_snap_init/build/commit):
 * the reply's values go into its columns at the rows its bitsets name, the
 * bits into its changed bitsets, and soa_snap_commit does the rest.  The
 * worker's side is a snapshot that was never built: soa_snap_init gives it
 * its layout, and its rows, column and changed-bitset pointers are set
 * here at the offsets the layout publishes (soa_snap_head, soa_sys_col.snap,
 * soa_sys_term.snap_changed) to columns this file owns, so
 * soa_snap_run_range runs the kernel on them as on any snapshot.
 *
 * The reply comes from another instance: the page uses only what its own
 * snapshot and the reply's masked bitsets say, and checks the size before
 * reading a value.
 */
#include "soa_web.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SYSTEMS 16

typedef struct web_sys {
    const soa_system_desc *sys;
    const soa_sys_layout *L;
    soa_fn kernel;
    void *ctx;
    /* The page's: */
    void *snap;               /* an S_snap, built by soa_web_build */
    uint64_t *inbox;          /* the reply, 8-byte aligned */
    size_t inbox_cap;         /* bytes */
    /* The worker's: */
    void *wsnap;              /* an S_snap pointing at the columns below */
    unsigned char **wcol;     /* [ncols] */
    uint64_t **wbits;         /* [nterms], NULL for terms without columns */
    size_t wcap;              /* rows every column holds */
    unsigned char *out;       /* the packed reply */
} web_sys;

static struct {
    bool setup, failed;
    int n;
    web_sys s[MAX_SYSTEMS];
} reg;

static web_sys *sys_of(int id)
{
    return id >= 0 && id < reg.n ? &reg.s[id] : NULL;
}

static void *get_ptr(const void *base, size_t off)
{
    void *p;
    memcpy(&p, (const unsigned char *)base + off, sizeof p);
    return p;
}

static void set_ptr(void *base, size_t off, const void *p)
{
    memcpy((unsigned char *)base + off, &p, sizeof p);
}

static void set_size(void *base, size_t off, size_t v)
{
    memcpy((unsigned char *)base + off, &v, sizeof v);
}

static bool term_written(const soa_sys_term *t)
{
    return t->access == SOA_ACCESS_WRITE && t->ncols > 0;
}

static size_t pad8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}

/* Storage for an S_snap of `L`, initialised (columns from the heap). */
static void *new_snap(const soa_sys_layout *L)
{
    size_t align = L->snap_align > 16 ? L->snap_align : 16;
    size_t size = (L->snap_size + align - 1u) & ~(align - 1u);
    void *s = aligned_alloc(align, size);
    if (s && soa_snap_init(s, L, NULL) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

int soa_web_register(const soa_system_desc *sys, soa_fn kernel, void *ctx)
{
    if (!sys || !sys->name || !sys->layout || !kernel ||
        reg.n == MAX_SYSTEMS)
        return -1;
    for (int i = 0; i < reg.n; i++)
        if (strcmp(reg.s[i].sys->name, sys->name) == 0)
            return -1;
    web_sys *s = &reg.s[reg.n];
    memset(s, 0, sizeof *s);
    s->sys = sys;
    s->L = sys->layout;
    s->kernel = kernel;
    s->ctx = ctx;
    s->snap = new_snap(s->L);
    s->wsnap = new_snap(s->L);
    s->wcol = calloc(s->L->ncols + 1u, sizeof *s->wcol);
    s->wbits = calloc(s->L->nterms + 1u, sizeof *s->wbits);
    if (!s->snap || !s->wsnap || !s->wcol || !s->wbits) {
        free(s->snap);
        free(s->wsnap);
        free(s->wcol);
        free(s->wbits);
        return -1;
    }
    return reg.n++;
}

int soa_web_find(const char *name)
{
    if (!reg.setup) {
        reg.setup = true;
        reg.failed = soa_web_setup() != 0;
    }
    for (int i = 0; name && !reg.failed && i < reg.n; i++)
        if (strcmp(reg.s[i].sys->name, name) == 0)
            return i;
    return -1;
}

/* ---- moving values at the rows of a bitset -------------------------- */

/* gather_T: the values of `src` at the set bits of words [0, nw), packed
 * into `dst`; scatter_T: the other way.  A full word moves as a block. */
#define SOA_WEB_MOVE(T)                                                       \
    static void gather_##T(T *dst, const T *src, const uint64_t *bits,        \
                           size_t nw)                                         \
    {                                                                         \
        for (size_t w = 0; w < nw; w++) {                                     \
            uint64_t b = bits[w];                                             \
            if (b == ~(uint64_t)0) {                                          \
                memcpy(dst, src + w * 64u, 64u * sizeof(T));                  \
                dst += 64;                                                    \
                continue;                                                     \
            }                                                                 \
            for (; b; b &= b - 1u)                                            \
                *dst++ = src[w * 64u + soa__ctz64(b)];                        \
        }                                                                     \
    }                                                                         \
    static void scatter_##T(T *dst, const T *src, const uint64_t *bits,       \
                            size_t nw)                                        \
    {                                                                         \
        for (size_t w = 0; w < nw; w++) {                                     \
            uint64_t b = bits[w];                                             \
            if (b == ~(uint64_t)0) {                                          \
                memcpy(dst + w * 64u, src, 64u * sizeof(T));                  \
                src += 64;                                                    \
                continue;                                                     \
            }                                                                 \
            for (; b; b &= b - 1u)                                            \
                dst[w * 64u + soa__ctz64(b)] = *src++;                        \
        }                                                                     \
    }
SOA_WEB_MOVE(uint8_t)
SOA_WEB_MOVE(uint16_t)
SOA_WEB_MOVE(uint32_t)
SOA_WEB_MOVE(uint64_t)

/* Column data of `size` bytes (1, 2, 4, 8: soa_snap_init checked) between
 * a column and its packed rows; `gather` packs. */
static void move_rows(bool gather, void *col, void *packed, size_t size,
                      const uint64_t *bits, size_t nw)
{
    switch (size) {
    case 1:
        gather ? gather_uint8_t(packed, col, bits, nw)
               : scatter_uint8_t(col, packed, bits, nw);
        break;
    case 2:
        gather ? gather_uint16_t(packed, col, bits, nw)
               : scatter_uint16_t(col, packed, bits, nw);
        break;
    case 4:
        gather ? gather_uint32_t(packed, col, bits, nw)
               : scatter_uint32_t(col, packed, bits, nw);
        break;
    default:
        gather ? gather_uint64_t(packed, col, bits, nw)
               : scatter_uint64_t(col, packed, bits, nw);
        break;
    }
}

/* Clears the bits of rows past `rows` in its last word. */
static void mask_tail(uint64_t *bits, size_t rows)
{
    if (rows % 64u)
        bits[rows / 64u] &= ((uint64_t)1 << (rows % 64u)) - 1u;
}

static size_t count_bits(const uint64_t *bits, size_t nw)
{
    size_t n = 0;
    for (size_t w = 0; w < nw; w++)
        n += soa__popcount64(bits[w]);
    return n;
}

/* ---- the page ------------------------------------------------------- */

int soa_web_build(int id, soa_world *w)
{
    web_sys *s = sys_of(id);
    if (!s || soa_snap_build(s->snap, w) != 0)
        return -1;
    if (soa_snap_rows(s->snap) > INT_MAX) {
        soa_snap_release(s->snap); /* empty: a commit writes nothing */
        return -1;
    }
    return (int)soa_snap_rows(s->snap);
}

int soa_web_rows(int id)
{
    web_sys *s = sys_of(id);
    return s ? (int)soa_snap_rows(s->snap) : -1;
}

int soa_web_ncols(int id)
{
    web_sys *s = sys_of(id);
    return s ? (int)s->L->ncols : -1;
}

static bool col_in(const web_sys *s, int k)
{
    return s && k >= 0 && (uint32_t)k < s->L->ncols;
}

int soa_web_col_size(int id, int k)
{
    web_sys *s = sys_of(id);
    return col_in(s, k) ? (int)s->L->cols[k].size : 0;
}

int soa_web_col_written(int id, int k)
{
    web_sys *s = sys_of(id);
    if (!col_in(s, k))
        return -1;
    for (uint32_t i = 0; i < s->L->nterms; i++) {
        const soa_sys_term *t = &s->L->terms[i];
        if ((uint32_t)k >= t->col0 && (uint32_t)k - t->col0 < t->ncols)
            return t->access == SOA_ACCESS_WRITE;
    }
    return -1; /* soa_snap_init checked that every column has a term */
}

void *soa_web_col(int id, int k)
{
    web_sys *s = sys_of(id);
    return col_in(s, k) ? get_ptr(s->snap, s->L->cols[k].snap) : NULL;
}

void *soa_web_inbox(int id, int bytes)
{
    web_sys *s = sys_of(id);
    if (!s || bytes < 0)
        return NULL;
    size_t need = pad8((size_t)bytes) + 8u;
    if (need > s->inbox_cap) {
        uint64_t *p = malloc(need);
        if (!p)
            return NULL;
        free(s->inbox);
        s->inbox = p;
        s->inbox_cap = need;
    }
    return s->inbox;
}

/* The size of a reply whose written terms' bitsets (masked to `rows`) lie
 * in `reply` where this layout puts them, reading no further than `bytes`;
 * false when they do not fit in `bytes` (the size is then meaningless). */
static bool reply_size(const web_sys *s, uint64_t *reply, size_t bytes,
                       size_t rows, size_t *size)
{
    size_t nw = soa_bitset_words(rows), at = 0;
    for (uint32_t i = 0; i < s->L->nterms; i++) {
        const soa_sys_term *t = &s->L->terms[i];
        if (!term_written(t))
            continue;
        if (nw * 8u > bytes - at) /* at <= bytes holds: checked below */
            return false;
        uint64_t *bits = reply + at / 8u;
        if (nw)
            mask_tail(bits, rows);
        size_t n = count_bits(bits, nw);
        at += nw * 8u;
        for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++) {
            /* n <= rows <= INT_MAX and sizes are at most 8: padded,
             * n * size < 2^34, which a 32-bit size_t cannot hold. */
            size_t vals;
            if (!soa_mul_ok(n, s->L->cols[j].size, &vals) ||
                !soa_add_ok(at, pad8(vals), &at) || at > bytes)
                return false;
        }
    }
    *size = at;
    return true;
}

int soa_web_commit(int id, soa_world *w, int bytes)
{
    web_sys *s = sys_of(id);
    if (!s || !w || bytes < 0 || (size_t)bytes > s->inbox_cap ||
        bytes % 8 != 0)
        return -1;
    size_t rows = soa_snap_rows(s->snap), nw = soa_bitset_words(rows), size;
    if (!reply_size(s, s->inbox, (size_t)bytes, rows, &size) ||
        size != (size_t)bytes)
        return -1;
    const unsigned char *at = (const unsigned char *)s->inbox;
    for (uint32_t i = 0; i < s->L->nterms; i++) {
        const soa_sys_term *t = &s->L->terms[i];
        if (!term_written(t))
            continue;
        const uint64_t *bits = (const uint64_t *)(const void *)at;
        uint64_t *changed = get_ptr(s->snap, t->snap_changed);
        size_t n = count_bits(bits, nw);
        for (size_t k = 0; k < nw; k++)
            changed[k] |= bits[k];
        at += nw * 8u;
        for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++) {
            size_t sz = s->L->cols[j].size;
            move_rows(false, get_ptr(s->snap, s->L->cols[j].snap),
                      (void *)(uintptr_t)at, sz, bits, nw);
            at += pad8(n * sz);
        }
    }
    size_t put = soa_snap_commit(s->snap, w);
    return put > INT_MAX ? INT_MAX : (int)put;
}

/* ---- the worker ----------------------------------------------------- */

/* The most bytes a reply for `rows` rows takes; false on overflow. */
static bool reply_cap(const soa_sys_layout *L, size_t rows, size_t *out)
{
    size_t sum = 0, b;
    for (uint32_t i = 0; i < L->nterms; i++) {
        const soa_sys_term *t = &L->terms[i];
        if (!term_written(t))
            continue;
        if (!soa_add_ok(sum, soa_bitset_words(rows) * 8u, &sum))
            return false;
        for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++)
            if (!soa_mul_ok(rows, L->cols[j].size, &b) ||
                !soa_add_ok(sum, pad8(b), &sum))
                return false;
    }
    *out = sum;
    return true;
}

static void free_worker(web_sys *s)
{
    for (uint32_t j = 0; j < s->L->ncols; j++) {
        free(s->wcol[j]);
        s->wcol[j] = NULL;
        set_ptr(s->wsnap, s->L->cols[j].snap, NULL);
    }
    for (uint32_t i = 0; i < s->L->nterms; i++) {
        free(s->wbits[i]);
        s->wbits[i] = NULL;
        if (s->L->terms[i].ncols)
            set_ptr(s->wsnap, s->L->terms[i].snap_changed, NULL);
    }
    free(s->out);
    s->out = NULL;
    s->wcap = 0;
}

/* Allocates every column, bitset and the reply for `cap` rows and points
 * the worker's snapshot at them; false (all freed) without memory. */
static bool alloc_worker(web_sys *s, size_t cap)
{
    const soa_sys_layout *L = s->L;
    size_t bytes, out;
    bool ok = reply_cap(L, cap, &out) && (s->out = malloc(out + 8u));
    for (uint32_t j = 0; ok && j < L->ncols; j++) {
        ok = soa_mul_ok(cap, L->cols[j].size, &bytes) &&
             (s->wcol[j] = aligned_alloc(SOA_ALIGN, bytes));
        if (ok)
            set_ptr(s->wsnap, L->cols[j].snap, s->wcol[j]);
    }
    for (uint32_t i = 0; ok && i < L->nterms; i++) {
        const soa_sys_term *t = &L->terms[i];
        if (!t->ncols)
            continue;
        ok = (s->wbits[i] = calloc(soa_bitset_words(cap), 8u)) != NULL;
        if (ok) {
            set_ptr(s->wsnap, t->snap_changed, s->wbits[i]);
            set_size(s->wsnap, t->snap_cap, cap);
        }
    }
    if (!ok) {
        free_worker(s);
        return false;
    }
    s->wcap = cap;
    set_size(s->wsnap, offsetof(soa_snap_head, cap), cap);
    return true;
}

int soa_web_kernel_reserve(int id, int rows)
{
    web_sys *s = sys_of(id);
    if (!s || rows < 0)
        return -1;
    if ((size_t)rows <= s->wcap && s->wcap)
        return 0;
    /* Half again, in whole 64-row words: no new columns for small
     * changes, and aligned_alloc sizes that are multiples of 64. */
    size_t cap = (size_t)rows + (size_t)rows / 2u + 64u;
    cap &= ~(size_t)63u;
    free_worker(s);
    return alloc_worker(s, cap) ? 0 : -1;
}

void *soa_web_kernel_col(int id, int k)
{
    web_sys *s = sys_of(id);
    return col_in(s, k) ? s->wcol[k] : NULL;
}

int soa_web_kernel_run(int id, int rows, double dt, double time,
                       double index)
{
    web_sys *s = sys_of(id);
    if (!s || rows < 0 || (size_t)rows > s->wcap || !s->wcap ||
        !(index >= 0 && index < 18446744073709551616.0))
        return -1;
    const soa_sys_layout *L = s->L;
    size_t n = (size_t)rows, nw = soa_bitset_words(n);
    for (uint32_t i = 0; i < L->nterms; i++)
        if (s->wbits[i])
            memset(s->wbits[i], 0, nw * 8u);
    set_size(s->wsnap, offsetof(soa_snap_head, rows), n);
    soa_frame f = {dt, time, (uint64_t)index};
    soa_snap_run_range(s->wsnap, s->kernel, &f, s->ctx, 0, n);
    unsigned char *at = s->out;
    for (uint32_t i = 0; i < L->nterms; i++) {
        const soa_sys_term *t = &L->terms[i];
        if (!term_written(t))
            continue;
        if (nw)
            mask_tail(s->wbits[i], n);
        memcpy(at, s->wbits[i], nw * 8u);
        at += nw * 8u;
        size_t c = count_bits(s->wbits[i], nw);
        for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++) {
            move_rows(true, s->wcol[j], at, L->cols[j].size, s->wbits[i], nw);
            at += pad8(c * L->cols[j].size);
        }
    }
    size_t len = (size_t)(at - s->out);
    return len > INT_MAX ? -1 : (int)len;
}

void *soa_web_kernel_out(int id)
{
    web_sys *s = sys_of(id);
    return s && s->wcap ? s->out : NULL;
}

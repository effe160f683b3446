/* desc.c: the runtime's version, the scalar-type tables, and a component's
 * columns (soa_cols_init / soa_cols_release, which every generated
 * C_cols_init and C_cols_release call). */
#include "soa/soa.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

const char *soa_version(void)
{
    return SOA_VERSION_STRING;
}

size_t soa_scalar_size(soa_scalar t)
{
    switch (t) {
    case SOA_I8: case SOA_U8: case SOA_BOOL: return 1;
    case SOA_I16: case SOA_U16: return 2;
    case SOA_F32: case SOA_I32: case SOA_U32: return 4;
    case SOA_F64: case SOA_I64: case SOA_U64: return 8;
    }
    return 0;
}

const char *soa_scalar_name(soa_scalar t)
{
    switch (t) {
    case SOA_F32: return "f32";
    case SOA_F64: return "f64";
    case SOA_I8: return "i8";
    case SOA_I16: return "i16";
    case SOA_I32: return "i32";
    case SOA_I64: return "i64";
    case SOA_U8: return "u8";
    case SOA_U16: return "u16";
    case SOA_U32: return "u32";
    case SOA_U64: return "u64";
    case SOA_BOOL: return "bool";
    }
    return "?";
}

/* ---- a component's columns (C_cols) ---------------------------------- */

/* Pointer k of a C_cols (the columns, then the bitset at k = ncols). */
static void *cols_ptr(const void *cols, size_t k)
{
    void *p;
    memcpy(&p, (const unsigned char *)cols + k * sizeof p, sizeof p);
    return p;
}

static void cols_set_ptr(void *cols, size_t k, const void *p)
{
    memcpy((unsigned char *)cols + k * sizeof p, &p, sizeof p);
}

static size_t cols_count(const soa_component_desc *d)
{
    size_t n = 0;
    for (uint32_t i = 0; i < d->nfields; i++)
        n += d->fields[i].count;
    return n;
}

/* Each column k of a C_cols, in order, with its element size and its byte
 * offset in a value (the field's, plus the element's in an array). */
#define EACH_COLUMN(d, k, off, size)                                           \
    for (uint32_t i_ = 0, k = 0; i_ < (d)->nfields; i_++)                      \
        for (size_t size = soa_scalar_size((d)->fields[i_].type), j_ = 0,       \
                    off = (d)->fields[i_].offset;                              \
             j_ < (d)->fields[i_].count; j_++, k++, off += size)

/* Where a C_cols keeps `cap`, and its whole size. */
#define COLS_CAP_AT(n) (((n) + 1) * sizeof(void *))
#define COLS_BYTES(n) (COLS_CAP_AT(n) + sizeof(size_t))

void soa_cols_release(void *cols, const soa_component_desc *d, soa_alloc *alloc)
{
    soa_alloc *a = soa_alloc_or_heap(alloc);
    size_t n = cols_count(d), cap;
    memcpy(&cap, (unsigned char *)cols + COLS_CAP_AT(n), sizeof cap);
    EACH_COLUMN(d, k, off, size) {
        a->free(a, cols_ptr(cols, k), cap * size);
        (void)off;
    }
    a->free(a, cols_ptr(cols, n), soa_bitset_words(cap) * sizeof(uint64_t));
    memset(cols, 0, COLS_BYTES(n));
}

int soa_cols_init(void *cols, const soa_component_desc *d, size_t cap,
                  soa_alloc *alloc)
{
    soa_alloc *a = soa_alloc_or_heap(alloc);
    size_t n = cols_count(d), widest = sizeof(uint64_t), bytes;
    memset(cols, 0, COLS_BYTES(n));
    for (uint32_t i = 0; i < d->nfields; i++)
        if (soa_scalar_size(d->fields[i].type) > widest)
            widest = soa_scalar_size(d->fields[i].type);
    /* the widest column bounds every size computed below */
    if (!soa_mul_ok(cap, widest, &bytes)) {
        errno = EOVERFLOW;
        return -1;
    }
    memcpy((unsigned char *)cols + COLS_CAP_AT(n), &cap, sizeof cap);
    EACH_COLUMN(d, k, off, size) {
        void *p = a->alloc(a, cap * size, SOA_ALIGN);
        cols_set_ptr(cols, k, p);
        if (!p && cap)
            goto fail;
        (void)off;
    }
    uint64_t *bits = a->alloc(a, soa_bitset_words(cap) * sizeof(uint64_t), SOA_ALIGN);
    cols_set_ptr(cols, n, bits);
    if (!bits && cap)
        goto fail;
    if (cap)
        soa_bitset_clear_all(bits, cap);
    return 0;
fail:;
    int e = errno ? errno : ENOMEM;
    soa_cols_release(cols, d, alloc);
    errno = e;
    return -1;
}

/* Copies n elements of `size` bytes between a column and a field of n
 * values `stride` bytes apart: into the column (in), or out of it.
 * Inlined with a constant size, each element is one move. */
static inline void strided(bool in, unsigned char *col, unsigned char *field,
                           size_t stride, size_t size, size_t n)
{
    if (in)
        for (size_t i = 0; i < n; i++)
            memcpy(col + i * size, field + i * stride, size);
    else
        for (size_t i = 0; i < n; i++)
            memcpy(field + i * stride, col + i * size, size);
}

static void copy_strided(bool in, unsigned char *col, unsigned char *field,
                         size_t stride, size_t size, size_t n)
{
    switch (size) {
    case 1: strided(in, col, field, stride, 1, n); break;
    case 2: strided(in, col, field, stride, 2, n); break;
    case 4: strided(in, col, field, stride, 4, n); break;
    case 8: strided(in, col, field, stride, 8, n); break;
    default: assert(size == 1 && "a scalar is 1, 2, 4 or 8 bytes");
    }
}

void soa_cols_gather(void *cols, const soa_component_desc *d, size_t row0,
                     const void *src, size_t n)
{
    /* src is only read (strided copies in) */
    unsigned char *values = (unsigned char *)(uintptr_t)src;
    EACH_COLUMN(d, k, off, size)
        copy_strided(true, (unsigned char *)cols_ptr(cols, k) + row0 * size,
                     values + off, d->size, size, n);
}

void soa_cols_scatter(const void *cols, const soa_component_desc *d, size_t row0,
                      void *dst, size_t n)
{
    EACH_COLUMN(d, k, off, size)
        copy_strided(false, (unsigned char *)cols_ptr(cols, k) + row0 * size,
                     (unsigned char *)dst + off, d->size, size, n);
}

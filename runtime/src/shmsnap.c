/*
 * shmsnap.c: the header that describes a snapshot in shared memory.
 *
 * Layout at the header's offset (8-byte aligned, all little-endian host
 * integers, no pointers):
 *
 *   snap_hdr                      magic .. cap
 *   uint64_t comp_hash[ncomps]
 *   snap_col col[ncols]           { offset, bytes per row }
 *
 * The reader copies every field it uses out of shared memory once, checks
 * the copy, and uses only the copy: a peer that rewrites the header while
 * it is read can make the attach fail, never make it reach outside the
 * arena.
 */
#include "soa/shmsnap.h"

#include <errno.h>
#include <string.h>

#include "soa/bitset.h"
#include "internal.h"

#define SNAP_MAGIC UINT64_C(0x3150414e53414f53) /* "SOASNAP1" */

typedef struct snap_hdr {
    uint64_t magic;
    uint32_t version;
    uint32_t ncomps;
    uint32_t ncols;
    uint32_t reserved;
    uint64_t system_hash;
    uint64_t rows, cap;
} snap_hdr;

typedef struct snap_col {
    uint64_t offset;
    uint64_t size; /* bytes per row; 0: a changed bitset */
} snap_col;

static int fail(int code)
{
    switch (code) {
    case SOA_SHM_EVERSION:
    case SOA_SHM_ELAYOUT: errno = EPROTO; break;
    case SOA_SHM_EBOUNDS: errno = ERANGE; break;
    case SOA_SHM_ENOTARENA: errno = EFAULT; break;
    default: errno = EINVAL; break;
    }
    return code;
}

size_t soa__shm_snap_bytes(size_t ncomps, size_t ncols)
{
    size_t h, c, n;
    if (!soa_mul_ok(ncomps, sizeof(uint64_t), &h) ||
        !soa_mul_ok(ncols, sizeof(snap_col), &c) ||
        !soa_add_ok(h, c, &n) || !soa_add_ok(n, sizeof(snap_hdr), &n))
        return 0;
    return n;
}

size_t soa_shm_snap_bytes(const soa_shm_layout *layout)
{
    return layout ? soa__shm_snap_bytes(layout->ncomps, layout->ncols) : 0;
}

/* Bytes a column of `size` bytes per row (0: a bitset) takes for `cap`
 * rows; false on overflow. */
static bool col_bytes(uint64_t size, uint64_t cap, size_t *out)
{
    if (cap > SIZE_MAX || size > SIZE_MAX)
        return false;
    if (size == 0)
        return soa_mul_ok(soa_bitset_words((size_t)cap), sizeof(uint64_t),
                          out);
    return soa_mul_ok((size_t)cap, (size_t)size, out);
}

/* Whether [off, off + bytes) lies inside the arena, off aligned to the
 * column's elements (a bitset's are 8 bytes). */
static bool col_inside(const soa_arena *a, uint64_t off, uint64_t size,
                       uint64_t cap)
{
    size_t bytes, end, align = size == 0 || size >= 8 ? 8 : (size_t)size;
    if (off > SIZE_MAX || !col_bytes(size, cap, &bytes) ||
        !soa_add_ok((size_t)off, bytes, &end))
        return false;
    return end <= soa_arena_capacity(a) && off % align == 0;
}

/* The header's place in the arena, or NULL when it does not fit there. */
static unsigned char *header_at(const soa_arena *a, size_t offset,
                                size_t bytes)
{
    size_t end;
    if (offset % 8 != 0 || !soa_add_ok(offset, bytes, &end) ||
        end > soa_arena_capacity(a))
        return NULL;
    return (unsigned char *)soa_arena_ptr(a, offset);
}

int soa_shm_snap_write(soa_arena *a, size_t offset,
                       const soa_shm_layout *layout, const void *const *cols,
                       size_t rows, size_t cap)
{
    size_t bytes = soa_shm_snap_bytes(layout);
    if (!a || !layout || !cols || bytes == 0 || rows > cap)
        return fail(SOA_SHM_EINVAL);
    unsigned char *p = header_at(a, offset, bytes);
    if (!p)
        return fail(SOA_SHM_EBOUNDS);
    snap_hdr h = {SNAP_MAGIC, SOA_SHM_SNAP_VERSION, layout->ncomps,
                  layout->ncols, 0, layout->system_hash, rows, cap};
    unsigned char *hashes = p + sizeof h;
    unsigned char *colp = hashes + layout->ncomps * sizeof(uint64_t);
    for (uint32_t i = 0; i < layout->ncols; i++) {
        snap_col c = {0, layout->col_sizes[i]};
        if (cols[i]) {
            c.offset = soa_arena_offset(a, cols[i]);
            if (c.offset == SOA_ARENA_BAD_OFFSET)
                return fail(SOA_SHM_ENOTARENA);
        } else if (cap != 0) {
            return fail(SOA_SHM_EINVAL);
        }
        if (!col_inside(a, c.offset, c.size, cap))
            return fail(SOA_SHM_EBOUNDS);
        memcpy(colp + i * sizeof c, &c, sizeof c);
    }
    memcpy(hashes, layout->comp_hashes, layout->ncomps * sizeof(uint64_t));
    memcpy(p, &h, sizeof h);
    return SOA_SHM_OK;
}

/* Checks the fixed part against the reader's layout. */
static int check_header(const snap_hdr *h, const soa_shm_layout *layout)
{
    if (h->magic != SNAP_MAGIC)
        return SOA_SHM_EMAGIC;
    if (h->version != SOA_SHM_SNAP_VERSION)
        return SOA_SHM_EVERSION;
    if (h->system_hash != layout->system_hash ||
        h->ncomps != layout->ncomps || h->ncols != layout->ncols)
        return SOA_SHM_ELAYOUT;
    if (h->rows > h->cap)
        return SOA_SHM_EBOUNDS;
    return SOA_SHM_OK;
}

int soa_shm_snap_read(const soa_arena *a, size_t offset,
                      const soa_shm_layout *layout, size_t *off,
                      size_t *rows, size_t *cap)
{
    size_t bytes = soa_shm_snap_bytes(layout);
    if (!a || !layout || !off || !rows || !cap || bytes == 0)
        return fail(SOA_SHM_EINVAL);
    /* The fixed part first: the reader's layout decides how much more to
     * read, never the header. */
    const unsigned char *p = header_at(a, offset, sizeof(snap_hdr));
    if (!p)
        return fail(SOA_SHM_EBOUNDS);
    snap_hdr h;
    memcpy(&h, p, sizeof h);
    int rc = check_header(&h, layout);
    if (rc != SOA_SHM_OK)
        return fail(rc);
    if (!(p = header_at(a, offset, bytes)))
        return fail(SOA_SHM_EBOUNDS);
    for (uint32_t i = 0; i < layout->ncomps; i++) {
        uint64_t hash;
        memcpy(&hash, p + sizeof h + i * sizeof hash, sizeof hash);
        if (hash != layout->comp_hashes[i])
            return fail(SOA_SHM_ELAYOUT);
    }
    const unsigned char *colp = p + sizeof h + layout->ncomps * sizeof(uint64_t);
    for (uint32_t i = 0; i < layout->ncols; i++) {
        snap_col c;
        memcpy(&c, colp + i * sizeof c, sizeof c);
        if (c.size != layout->col_sizes[i])
            return fail(SOA_SHM_ELAYOUT);
        if (!col_inside(a, c.offset, c.size, h.cap))
            return fail(SOA_SHM_EBOUNDS);
        off[i] = (size_t)c.offset;
    }
    *rows = (size_t)h.rows;
    *cap = (size_t)h.cap;
    return SOA_SHM_OK;
}

const char *soa_shm_strerror(int code)
{
    switch (code) {
    case SOA_SHM_OK: return "ok";
    case SOA_SHM_EINVAL: return "invalid argument or misaligned offset";
    case SOA_SHM_EMAGIC: return "no snapshot header at that offset";
    case SOA_SHM_EVERSION:
        return "snapshot header has another format version";
    case SOA_SHM_ELAYOUT:
        return "layout hashes differ: the programs were compiled from "
               "different schemas";
    case SOA_SHM_EBOUNDS:
        return "an offset or size in the snapshot header reaches outside "
               "the arena";
    case SOA_SHM_ENOTARENA: return "a snapshot column is not in the arena";
    default: return "unknown snapshot error";
    }
}

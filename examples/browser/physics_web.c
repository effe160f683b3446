/*
 * physics_web.c: the physics example for the transfer path (no
 * SharedArrayBuffer), built without threads into physics_web.js and
 * loaded twice by transfer.js:
 *
 *   the page's instance holds the world.  Each frame web_build gathers
 *   Integrate's snapshot; the page copies its columns out (web_column),
 *   transfers them to the Web Worker, and with the changed rows that come
 *   back calls web_commit, which writes them into the snapshot and commits
 *   them to the world.
 *
 *   the Web Worker's instance holds only columns (web_kernel_reserve,
 *   web_kernel_column): the page's rows are copied in, web_kernel_run runs
 *   the example's kernel on them and packs the rows it changed.
 *
 * Both halves run physics_integrate, the kernel the native and threaded
 * builds run, so every path prints the same checksum.  Each function
 * returns -1 (or 0 for a pointer) when memory runs out; JavaScript calls
 * them through the module's exports (mk/wasm.mk lists them).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "physics_sim.h"

/* Entry points, exported by name (declared here for -Wmissing-prototypes). */
int web_init(uint32_t entities);
int web_build(void);
float *web_column(int k);
void *web_scratch(int count);
int web_commit(int count);
const char *web_checksum(void);
int web_kernel_reserve(int rows);
void *web_kernel_column(int k);
int web_kernel_run(int rows, double dt, double time, double index);

/* ---- the page's half ------------------------------------------------- */

static struct {
    soa_world *w;
    soa_entity *ents;
    size_t n;
    soa_cid pos;
    Integrate_snap snap;
    void *scratch; /* changed rows coming back: rows, x, y */
    size_t scratch_cap;
} page;

/* A world of `entities` as the physics example makes it, once per
 * instance; 0 or -1. */
int web_init(uint32_t entities)
{
    if (page.w)
        return -1;
    page.w = soa_world_create(NULL);
    if (!page.w || Integrate_snap_init(&page.snap, NULL) != 0)
        return -1;
    page.pos = soa_world_register(page.w, &Position_desc);
    soa_cid vel = soa_world_register(page.w, &Velocity_desc);
    page.n = entities;
    page.ents = physics_populate(page.w, entities, page.pos, vel);
    return page.ents ? 0 : -1;
}

/* Gathers the snapshot: its row count, or -1. */
int web_build(void)
{
    if (Integrate_build(&page.snap, page.w) != 0)
        return -1;
    return (int)page.snap.rows;
}

/* The snapshot's columns: 0 Velocity.x, 1 Velocity.y, 2 Position.x,
 * 3 Position.y (rows [0, web_build()) of each). */
float *web_column(int k)
{
    switch (k) {
    case 0: return page.snap.Velocity.x;
    case 1: return page.snap.Velocity.y;
    case 2: return page.snap.Position.x;
    case 3: return page.snap.Position.y;
    default: return NULL;
    }
}

/* Room for `count` changed rows (uint32 row, float x, float y each, as
 * three arrays one after the other), or NULL. */
void *web_scratch(int count)
{
    size_t need;
    if (count < 0 || !soa_mul_ok((size_t)count, 12u, &need))
        return NULL;
    if (need > page.scratch_cap) {
        void *p = realloc(page.scratch, need);
        if (!p)
            return NULL;
        page.scratch = p;
        page.scratch_cap = need;
    }
    return page.scratch;
}

/* Writes the `count` changed rows in the scratch into the snapshot, marks
 * them and commits: the rows written to the world, or -1 for a row out of
 * range (a worker that answered about another frame). */
int web_commit(int count)
{
    if (count < 0 || (size_t)count * 12u > page.scratch_cap)
        return -1; /* not what web_scratch made room for */
    const uint32_t *row = page.scratch;
    const float *x = (const float *)(row + count), *y = x + count;
    for (int i = 0; i < count; i++) {
        if (row[i] >= page.snap.rows)
            return -1;
        page.snap.Position.x[row[i]] = x[i];
        page.snap.Position.y[row[i]] = y[i];
        soa_bitset_set(page.snap.Position.changed, row[i]);
    }
    return (int)Integrate_commit(&page.snap, page.w);
}

/* The example's checksum, as 16 hex digits. */
const char *web_checksum(void)
{
    static char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64,
             physics_checksum(page.w, page.ents, page.n, page.pos));
    return hex;
}

/* ---- the Web Worker's half ------------------------------------------ */

enum { VX, VY, PX, PY, OUT_ROW, OUT_X, OUT_Y, NCOLS };

static struct {
    void *col[NCOLS];
    uint64_t *changed;
    size_t cap;
} kern;

/* Room for `rows` rows in every column; 0 or -1. */
int web_kernel_reserve(int rows)
{
    size_t n = rows > 0 ? (size_t)rows : 1u, bytes;
    if (n <= kern.cap)
        return 0;
    n += n / 2; /* grow by half: no new columns for small changes */
    if (!soa_mul_ok(n, 4u, &bytes) || !soa_add_ok(bytes, 63u, &bytes))
        return -1;
    for (int k = 0; k < NCOLS; k++) {
        free(kern.col[k]);
        kern.col[k] = aligned_alloc(64, bytes & ~(size_t)63u);
    }
    free(kern.changed);
    kern.changed = calloc(soa_bitset_words(n), sizeof *kern.changed);
    kern.cap = n;
    for (int k = 0; k < NCOLS; k++)
        if (!kern.col[k])
            kern.cap = 0;
    if (!kern.changed)
        kern.cap = 0;
    return kern.cap ? 0 : -1;
}

/* Column k of the worker's copy: VX, VY, PX, PY in, OUT_ROW, OUT_X, OUT_Y
 * (the changed rows, packed) out. */
void *web_kernel_column(int k)
{
    return k >= 0 && k < NCOLS ? kern.col[k] : NULL;
}

/* Runs the kernel over rows [0, rows) for frame `index` and packs the
 * rows it changed: their count, or -1 without room. */
int web_kernel_run(int rows, double dt, double time, double index)
{
    if (rows < 0 || (size_t)rows > kern.cap)
        return -1;
    size_t n = (size_t)rows;
    memset(kern.changed, 0, soa_bitset_words(n) * sizeof *kern.changed);
    Integrate_view v = {0};
    v.begin = 0;
    v.end = n;
    v.Velocity.x = kern.col[VX];
    v.Velocity.y = kern.col[VY];
    v.Position.x = kern.col[PX];
    v.Position.y = kern.col[PY];
    v.Position.changed = kern.changed;
    soa_frame f = {dt, time, (uint64_t)index};
    physics_integrate(&v, &f, NULL);
    uint32_t *out_row = kern.col[OUT_ROW];
    float *out_x = kern.col[OUT_X], *out_y = kern.col[OUT_Y];
    const float *px = kern.col[PX], *py = kern.col[PY];
    int count = 0;
    for (size_t r = soa_bitset_next(kern.changed, n, 0); r < n;
         r = soa_bitset_next(kern.changed, n, r + 1)) {
        out_row[count] = (uint32_t)r;
        out_x[count] = px[r];
        out_y[count] = py[r];
        count++;
    }
    return count;
}

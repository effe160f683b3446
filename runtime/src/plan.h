/*
 * plan.h: which tables of a world a system matches and where its columns
 * lie in their blocks.  Snapshot builds and commits (system.c) and
 * in-place runs (the scheduler) both walk a system through its plan.
 * Internal to libsoa.
 *
 * A plan lists the matching tables in creation order.  Tables are never
 * destroyed, so it only ever appends: soa__plan_match looks at the tables
 * made since the last call.  soa__plan_layout then numbers the rows: match
 * m covers rows [base, base + rows) of a virtual row space, each base a
 * multiple of `align` (1 packs the rows, as a snapshot does; SOA_POOL_GRAIN
 * makes every pool chunk of that grain lie inside one block of one table).
 */
#ifndef SOA_PLAN_H
#define SOA_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "soa/desc.h"
#include "soa/pool.h"
#include "soa/world.h"
#include "internal.h"

typedef struct soa__match {
    const soa_table *t;
    size_t base, rows;  /* set by soa__plan_layout */
    size_t *off;        /* [ncols]: each layout column's offset in a block;
                           [ncols + k]: term k's changed bitset (SIZE_MAX:
                           the term has no columns) */
} soa__match;

typedef struct soa__plan {
    const soa_sys_layout *L;
    soa_alloc *mem;        /* where the plan's arrays come from */
    const soa_world *w;    /* the world matched; NULL: none yet */
    uint64_t world_id;     /* ... and its identity (a world may be freed
                              and another made at the same address) */
    soa_cid *cids;         /* [nterms], the terms' components in w */
    uint32_t nall;         /* read and written terms: terms[0 .. nall) */
    uint32_t seen;         /* tables of w looked at */
    soa__match *m;
    uint32_t nm, cap;
    size_t total;          /* rows laid out, padding included */
} soa__plan;

/* An empty plan for system L whose arrays will come from `a` (NULL: the
 * heap).  No allocation. */
SOA__HIDDEN void soa__plan_init(soa__plan *p, const soa_sys_layout *L,
                                soa_alloc *a);

/* Frees what the plan allocated.  The plan stays usable. */
SOA__HIDDEN void soa__plan_free(soa__plan *p);

/*
 * Registers the system's components in w (idempotent) and appends the
 * tables made since the last call that match.  A plan made for another
 * world starts over.  0, or -1 with errno EINVAL (a component w refuses)
 * or ENOMEM (the plan is then empty, and a later call retries).
 */
SOA__HIDDEN int soa__plan_match(soa__plan *p, soa_world *w);

/* Numbers the matched tables' rows as they are now, each table's first
 * row a multiple of `align` (a power of two); returns the total (also in
 * p->total).  O(matches). */
SOA__HIDDEN size_t soa__plan_layout(soa__plan *p, size_t align);

/* The match whose rows (padding included) hold virtual row `row` (<
 * p->total), by binary search. */
SOA__HIDDEN uint32_t soa__plan_find(const soa__plan *p, size_t row);

/* Runs `kernel` (through L->call) on virtual rows [begin, end) of a laid
 * out plan, one call per piece that lies in one block of one table, the
 * padding skipped.  With align a multiple of 64 dividing SOA_BLOCK_ROWS
 * and begin, end multiples of align (or end == p->total), the pieces'
 * bounds are multiples of 64 in their block, so chunks never share a
 * changed-bitset word.  What an in-place run's pool job calls. */
SOA__HIDDEN void soa__plan_run(const soa__plan *p, soa_fn kernel,
                               const soa_frame *frame, void *ctx,
                               size_t begin, size_t end);

/* ---- the debug check for writes not marked changed (SOA_DEBUG) ---- */

/* How often the environment asks for it, read once: 0 (SOA_DEBUG unset,
 * empty or "0"), N for SOA_DEBUG=N (every Nth frame of each system), 1 for
 * any other value ("1", "on"). */
SOA__HIDDEN unsigned soa__debug_every(void);
/* The period SOA_DEBUG's text asks for (see soa__debug_every). */
SOA__HIDDEN unsigned soa__debug_parse(const char *text);
/* Whether this run of a system is checked, with period `every` (0: never):
 * the first of every `every` runs, counted in *runs. */
SOA__HIDDEN bool soa__debug_due(unsigned every, uint64_t *runs);

/* Copies every written column of a laid-out plan's rows from the world
 * into cols[j] (one array per layout column, indexed by virtual row,
 * p->total rows; NULL for columns not written). */
SOA__HIDDEN void soa__plan_save_written(const soa__plan *p,
                                        unsigned char *const *cols);

/* The plan's rows whose written values in cols[j] (as above) differ from
 * the world's and that are not marked changed: in bits[k] (term k's, by
 * virtual row) or, when bits is NULL, in the world's own bits.  How many;
 * the first one's entity and component into *first and *comp. */
SOA__HIDDEN size_t soa__plan_unmarked(const soa__plan *p,
                                      unsigned char *const *cols,
                                      const uint64_t *const *bits,
                                      soa_entity *first, const char **comp);

/* Tells the developer, once per *warned flag, that system `name` changed
 * n rows of component `comp` without marking them (in frame `frame`, or
 * UINT64_MAX: not known). */
SOA__HIDDEN void soa__debug_report(bool *warned, const char *name, size_t n,
                                   const char *comp, soa_entity first,
                                   uint64_t frame);

/* Where a kernel call's view comes from (soa_view_fill, system.c): rows
 * [begin, end) of a snapshot, through the view its build prepared (tmpl,
 * or NULL: from the snapshot's members); of a table block, through its
 * match's offsets; or of a chunk given as pointers (a worker's frame
 * plan): ptrs[0] the ids, ptrs[1 + j] column j, ptrs[1 + ncols + k] term
 * k's changed bitset. */
struct soa_view_src {
    const soa_sys_layout *layout;
    const void *snap;
    const unsigned char *tmpl;
    const unsigned char *block;
    const size_t *off;
    const unsigned char *const *ptrs;
    size_t begin, end;
};

#endif /* SOA_PLAN_H */

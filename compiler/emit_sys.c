/*
 * emit_sys.c: the generated code of one `system` (SPEC "generated header",
 * system table): S_snap, S_view, S_kernel, S_kernel_fn, S_snap_init,
 * S_snap_release, S_snap_reserve, S_build, S_run_range, S_run, S_commit, and
 * S_system with its type-erased wrappers (S_erased_*, S_reads, S_writes,
 * S_without, S_run_args, S_run_chunk).
 *
 * The output compiles warning-free as C99, C11 and C++17 under -Wall
 * -Wextra -Wpedantic -Wconversion -Wshadow, so: explicit casts from
 * void *, no designated initialisers, no empty arrays, no mixed
 * declarations needed.
 *
 * It reads the system's terms (ast.h): reads, then writes, then without.
 * Tags (components without fields) have no columns: in a system they are
 * only query terms.  A snapshot's private members start with `soa_`, a
 * prefix schema names may not use, so they never collide with a component.
 *
 * Templates: $S is the system's C name and $S_build ... its generated
 * names; per term, $C is the component's C name (with $C_cols ...), $N
 * its schema name (the member of S_snap and S_view) and $k its index.
 */
#include <assert.h>

#include "compile.h"
#include "emit.h"
#include "template.h"

typedef struct sys_ctx {
    soac_tpl t;
    const soac_system *sys;
} sys_ctx;

static void put(sys_ctx *x, const char *text)
{
    soac_tpl_put(&x->t, text);
}

/* ---- terms ---------------------------------------------------------- */

/* Sets $C, $N, $k and $use for term k. */
static void term_vars(sys_ctx *x, size_t k)
{
    const soac_term *t = &x->sys->terms[k];
    soac_tpl_names(&x->t, "C", t->comp->cname, &soac_component_names);
    soac_tpl_set(&x->t, "N", t->comp->name);
    soac_tpl_setu(&x->t, "k", k);
    soac_tpl_set(&x->t, "use", t->access == SOAC_WRITE ? "write" : "read");
}

typedef void term_fn(sys_ctx *x, const soac_term *t);

/* Calls fn for every term with columns (reads, then writes), its
 * variables set. */
static void each_cols(sys_ctx *x, term_fn *fn)
{
    for (size_t k = 0; k < x->sys->nterms; k++) {
        const soac_term *t = &x->sys->terms[k];
        if (t->ncols == 0)
            continue;
        term_vars(x, k);
        fn(x, t);
    }
}

/* Expands `line` for every term with columns. */
static void each_cols_put(sys_ctx *x, const char *line)
{
    for (size_t k = 0; k < x->sys->nterms; k++) {
        if (x->sys->terms[k].ncols == 0)
            continue;
        term_vars(x, k);
        put(x, line);
    }
}

/* Expands `line` for every written term with columns. */
static void each_written_put(sys_ctx *x, const char *line)
{
    for (size_t k = 0; k < x->sys->nterms; k++) {
        const soac_term *t = &x->sys->terms[k];
        if (t->ncols == 0 || t->access != SOAC_WRITE)
            continue;
        term_vars(x, k);
        put(x, line);
    }
}

static bool writes_columns(const soac_system *s)
{
    for (size_t k = 0; k < s->nterms; k++)
        if (s->terms[k].access == SOAC_WRITE && s->terms[k].ncols)
            return true;
    return false;
}

/* ---- types ---------------------------------------------------------- */

static void emit_snap(sys_ctx *x)
{
    put(x,
        "/* The rows system $name works on, gathered by $S_build: eids[row]\n"
        " * is the entity of each row, and each component has its columns. */\n"
        "typedef struct $S_snap {\n"
        "    size_t rows, cap;\n"
        "    soa_entity *eids;\n");
    each_cols_put(x, "    $C_cols $N; /* $use */\n");
    put(x, "    soa_alloc *soa_mem; /* private: where the columns live */\n");
    each_cols_put(x,
        "    uint32_t *soa_base_$N; /* private: world row of each block */\n"
        "    uint32_t *soa_rows_$N; /* private: of each row, in other blocks */\n");
    put(x,
        "    size_t soa_gaps; /* private: the last walk skipped candidates */\n"
        "    soa_stamp soa_terms[$nterms1]; /* private: each term's rows at the build */\n"
        "} $S_snap;\n\n");
}

static void view_member(sys_ctx *x, const soac_term *t)
{
    bool written = t->access == SOAC_WRITE;
    put(x, "    struct {\n");
    soac_emit_members(x->t.o, t->comp, written ? "        " : "        const ",
                      "*", false);
    if (written)
        put(x, "        uint64_t *changed;\n");
    put(x, "    } $N;\n");
}

static void emit_view(sys_ctx *x)
{
    put(x,
        "/* What a kernel sees: rows [begin, end) of the snapshot.  Pointers\n"
        " * index absolute rows; read-only components are const.  A kernel\n"
        " * that changes a row of a written component sets its bit in\n"
        " * `changed` (soa_bitset_set: chunks never share a word). */\n"
        "typedef struct $S_view {\n"
        "    size_t begin, end;\n"
        "    const soa_entity *eids;\n");
    each_cols(x, view_member);
    put(x,
        "} $S_view;\n\n"
        "typedef void (*$S_kernel)(const $S_view *v, const soa_frame *frame,\n"
        "    void *ctx);\n\n"
        "/* The kernel type-erased, for soa_sched_spec.kernel. */\n"
        "static inline soa_fn $S_kernel_fn($S_kernel k)\n"
        "{\n"
        "    return (soa_fn)k;\n"
        "}\n\n");
}

/* ---- storage -------------------------------------------------------- */

static void emit_snap_init(sys_ctx *x)
{
    put(x,
        "/* An empty snapshot whose columns will come from `alloc` (NULL: the\n"
        " * heap).  Allocates nothing until the first build.  0, or -1 (EINVAL\n"
        " * for a NULL snapshot). */\n"
        "static inline int $S_snap_init($S_snap *s, soa_alloc *alloc)\n"
        "{\n"
        "    if (!s) {\n"
        "        errno = EINVAL;\n"
        "        return -1;\n"
        "    }\n"
        "    memset(s, 0, sizeof *s);\n"
        "    s->soa_mem = soa_alloc_or_heap(alloc);\n"
        "    return 0;\n"
        "}\n\n");
}

static void emit_snap_release(sys_ctx *x)
{
    put(x,
        "/* Frees every column; the snapshot stays usable (empty).  NULL and an\n"
        " * uninitialised (zeroed) snapshot are no-ops. */\n"
        "static inline void $S_snap_release($S_snap *s)\n"
        "{\n"
        "    if (!s || !s->soa_mem)\n"
        "        return;\n");
    each_cols_put(x,
        "    $C_cols_release(&s->$N, s->soa_mem);\n"
        "    s->soa_mem->free(s->soa_mem, s->soa_base_$N,\n"
        "        soa_bitset_words(s->cap) * sizeof(uint32_t));\n"
        "    s->soa_mem->free(s->soa_mem, s->soa_rows_$N, s->cap * sizeof(uint32_t));\n"
        "    s->soa_base_$N = NULL;\n"
        "    s->soa_rows_$N = NULL;\n");
    put(x,
        "    s->soa_mem->free(s->soa_mem, s->eids, s->cap * sizeof(soa_entity));\n"
        "    memset(s->soa_terms, 0, sizeof s->soa_terms);\n"
        "    s->soa_gaps = 0;\n"
        "    s->eids = NULL;\n"
        "    s->rows = s->cap = 0;\n"
        "}\n\n");
}

static void emit_snap_reserve(sys_ctx *x)
{
    put(x,
        "/* Room for at least `rows` rows: the old columns are freed (a build\n"
        " * refills them), the new capacity is at least twice the old one,\n"
        " * rounded up to 64 rows.  0, or -1 (EOVERFLOW, ENOMEM) with the\n"
        " * snapshot empty. */\n"
        "static inline int $S_snap_reserve($S_snap *s, size_t rows)\n"
        "{\n"
        "    soa_alloc *a = s->soa_mem;\n"
        "    size_t cap = s->cap, bytes;\n"
        "    int err;\n"
        "    $S_snap_release(s);\n"
        "    if (cap > (size_t)-1 / 4u || rows > (size_t)-1 / 4u) {\n"
        "        errno = EOVERFLOW;\n"
        "        return -1;\n"
        "    }\n"
        "    cap = cap * 2u > rows ? cap * 2u : rows;\n"
        "    cap = (cap + 63u) & ~(size_t)63u;\n"
        "    if (!soa_mul_ok(cap, sizeof(soa_entity), &bytes)) {\n"
        "        errno = EOVERFLOW;\n"
        "        return -1;\n"
        "    }\n"
        "    s->eids = (soa_entity *)a->alloc(a, bytes, SOA_ALIGN);\n"
        "    if (!s->eids) {\n"
        "        errno = ENOMEM;\n"
        "        return -1;\n"
        "    }\n"
        "    s->cap = cap;\n");
    each_cols_put(x,
        "    if ($C_cols_init(&s->$N, cap, a) != 0) {\n"
        "        err = errno;\n"
        "        $S_snap_release(s);\n"
        "        errno = err;\n"
        "        return -1;\n"
        "    }\n"
        "    s->soa_base_$N = (uint32_t *)a->alloc(a,\n"
        "        soa_bitset_words(cap) * sizeof(uint32_t), SOA_ALIGN);\n"
        "    s->soa_rows_$N = (uint32_t *)a->alloc(a, cap * sizeof(uint32_t), SOA_ALIGN);\n"
        "    if (!s->soa_base_$N || !s->soa_rows_$N) {\n"
        "        $S_snap_release(s);\n"
        "        errno = ENOMEM;\n"
        "        return -1;\n"
        "    }\n");
    put(x, x->sys->ncols ? "    return 0;\n}\n\n"
                         : "    (void)err;\n    return 0;\n}\n\n");
}

/* ---- build ---------------------------------------------------------- */

/* Where one batch of a term lies in the world: the block's first row when
 * its rows run on (a block copy later), else each row.  `runs` has a bit
 * for the first 64 terms only. */
static void locate_cols(sys_ctx *x, const soac_term *t)
{
    size_t k = (size_t)(t - x->sys->terms);
    put(x, k < 64
        ? "        if ((runs >> $k) & 1u) {\n"
          "            s->soa_base_$N[row / 64u] = rows[$k * SOA_FETCH_BATCH];\n"
          "        } else {\n"
        : "        {\n");
    put(x,
        "            memcpy(s->soa_rows_$N + row, rows + $k * SOA_FETCH_BATCH,\n"
        "                n * sizeof(uint32_t));\n"
        "            s->soa_base_$N[row / 64u] = SOA_ROW_NONE;\n"
        "        }\n");
}

/* The private chunk of a parallel walk: lead positions [begin, end)
 * become snapshot rows [begin, end) when every candidate matches (then the
 * chunk copies them and returns end - begin); 0 as soon as one does not
 * (the caller then walks again serially). */
static void emit_walk_rows(sys_ctx *x)
{
    put(x,
        "static inline size_t soa_${S}_walk_rows(void *p, size_t begin, size_t end)\n"
        "{\n"
        "    const soa_${S}_build_args *a = (const soa_${S}_build_args *)p;\n"
        "    $S_snap *s = a->s;\n"
        "    uint32_t rows[SOA_FETCH_BATCH * $nall1];\n"
        "    soa_query_iter it;\n"
        "    uint64_t runs;\n"
        "    size_t row = begin, n;\n"
        "    soa_query_begin_at(a->w, a->q, &it, begin, end);\n"
        "    while ((n = soa_query_fetch_rows(&it, s->eids + row, rows,\n"
        "                SOA_FETCH_BATCH, &runs)) != 0) {\n"
        "        if (n != (end - row < SOA_FETCH_BATCH ? end - row : SOA_FETCH_BATCH))\n"
        "            return 0;\n");
    each_cols(x, locate_cols);
    put(x,
        "        row += n;\n"
        "    }\n"
        "    if (row != end)\n"
        "        return 0;\n"
        "    soa_${S}_build_rows(p, begin, end);\n"
        "    (void)runs;\n"
        "    return end - begin;\n"
        "}\n\n");
}

/* The private chunk of a build: copies rows [begin, end) (multiples of 64
 * but for the last row) from where the walk found them, and clears their
 * changed bits.  Chunks touch disjoint rows and bitset words. */
static void emit_build_rows(sys_ctx *x)
{
    put(x,
        "typedef struct soa_${S}_build_args {\n"
        "    $S_snap *s;\n"
        "    soa_world *w;\n"
        "    const soa_query *q;\n");
    each_cols_put(x, "    const $C *v$k;\n");
    put(x,
        "} soa_${S}_build_args;\n\n"
        "static inline size_t soa_${S}_build_rows(void *p, size_t begin, size_t end)\n"
        "{\n"
        "    const soa_${S}_build_args *a = (const soa_${S}_build_args *)p;\n"
        "    $S_snap *s = a->s;\n");
    each_cols_put(x, "    const $C *v$k = a->v$k;\n");
    put(x,
        "    size_t row, n, j;\n"
        "    for (row = begin; row < end; row += n) {\n"
        "        n = end - row < SOA_FETCH_BATCH ? end - row : SOA_FETCH_BATCH;\n");
    each_cols_put(x,
        "        if (s->soa_base_$N[row / 64u] != SOA_ROW_NONE)\n"
        "            $C_cols_gather(&s->$N, row, v$k + s->soa_base_$N[row / 64u], n);\n"
        "        else\n"
        "            for (j = 0; j < n; j++)\n"
        "                $C_cols_store(&s->$N, row + j, v$k + s->soa_rows_$N[row + j]);\n");
    put(x, "    }\n");
    each_cols_put(x,
        "    soa_bitset_clear_all(s->$N.changed + begin / 64u, end - begin);\n");
    put(x, x->sys->ncols ? "    return 0;\n}\n\n"
                         : "    (void)s;\n    (void)j;\n    return 0;\n}\n\n");
    emit_walk_rows(x);
}

/* Registers every term's component and checks the ids: all[k] for read
 * and written terms, none[k - nall] for `without` ones. */
static void emit_register(sys_ctx *x)
{
    size_t nall = x->sys->nreads + x->sys->nwrites;
    for (size_t k = 0; k < x->sys->nterms; k++) {
        term_vars(x, k);
        soac_tpl_set(&x->t, "arr", k < nall ? "all" : "none");
        soac_tpl_setu(&x->t, "i", k < nall ? k : k - nall);
        put(x, "    $arr[$i] = soa_world_register(w, &$C_desc);\n");
    }
    for (size_t k = 0; k < x->sys->nterms; k++) {
        soac_tpl_set(&x->t, "arr", k < nall ? "all" : "none");
        soac_tpl_setu(&x->t, "i", k < nall ? k : k - nall);
        put(x, "    if ($arr[$i] == SOA_CID_INVALID)\n        return -1;\n");
    }
}

static void emit_build_on_head(sys_ctx *x)
{
    put(x,
        "/* S_build with the copying spread over `pool` (NULL: this thread\n"
        " * alone) in chunks of whole 64-row blocks: the query walk records\n"
        " * where each row lies (a block's first row when its rows run on,\n"
        " * else each row), then the chunks copy the values.  The walk runs on\n"
        " * the pool as well while every candidate matches (the lead term's\n"
        " * positions are the rows), else on the caller.  When no term's rows\n"
        " * were added or removed since the last build, the walk is skipped\n"
        " * and the same rows are copied again.\n"
        " * The same rows and values as $S_build, for any pool size.  Call\n"
        " * it from the thread that drives `pool`, not from a pool task (it\n"
        " * would run inline).  0, or -1 with errno as for $S_build. */\n"
        "static inline int $S_build_on($S_snap *s, soa_world *w, soa_pool *pool)\n"
        "{\n"
        "    soa_cid all[$nall1];\n"
        "    uint32_t rows[SOA_FETCH_BATCH * $nall1];\n");
    if (x->sys->nwithout)
        put(x, "    soa_cid none[$nwithout];\n");
    put(x,
        "    soa_${S}_build_args a;\n"
        "    soa_query q;\n"
        "    soa_query_iter it;\n"
        "    uint64_t runs;\n"
        "    size_t bound, row = 0, n;\n"
        "    int walked = 0;\n"
        "    if (!s || !s->soa_mem || !w) {\n"
        "        errno = EINVAL;\n"
        "        return -1;\n"
        "    }\n");
    emit_register(x);
    put(x, "    memset(&a, 0, sizeof a);\n    a.s = s;\n");
    each_cols_put(x, "    a.v$k = (const $C *)soa_world_values(w, all[$k]);\n");
}

static void emit_build_on_walk(sys_ctx *x)
{
    put(x,
        "    if (soa_world_same_shape(w, s->soa_terms, $nterms)) {\n"
        "        soa_snap_for(pool, s->rows, soa_${S}_build_rows, &a);\n"
        "        return 0;\n"
        "    }\n"
        "    s->rows = 0;\n"
        "    q.all = all;\n"
        "    q.nall = $nall;\n"
        "    q.none = $none;\n"
        "    q.nnone = $nwithout;\n"
        "    bound = soa_query_begin(w, &q, &it);\n"
        "    if (bound > s->cap && $S_snap_reserve(s, bound) != 0)\n"
        "        return -1;\n"
        "    a.w = w;\n"
        "    a.q = &q;\n"
        "    if (!s->soa_gaps && bound >= SOA_SNAP_PARALLEL_ROWS &&\n"
        "        soa_pool_size(pool) > 1 &&\n"
        "        soa_snap_for(pool, bound, soa_${S}_walk_rows, &a) == bound)\n"
        "        walked = 1;\n"
        "    while (!walked && bound &&\n"
        "           (n = soa_query_fetch_rows(&it, s->eids + row, rows,\n"
        "                SOA_FETCH_BATCH, &runs)) != 0) {\n");
    each_cols(x, locate_cols);
    put(x,
        "        row += n;\n"
        "    }\n"
        "    if (walked)\n"
        "        row = bound;\n"
        "    else\n"
        "        s->soa_gaps = row != bound;\n"
        "    s->rows = row;\n");
}

static void emit_build_on_tail(sys_ctx *x)
{
    size_t nall = x->sys->nreads + x->sys->nwrites;
    for (size_t k = 0; k < x->sys->nterms; k++) {
        soac_tpl_set(&x->t, "arr", k < nall ? "all" : "none");
        soac_tpl_setu(&x->t, "i", k < nall ? k : k - nall);
        soac_tpl_setu(&x->t, "k", k);
        put(x, "    soa_world_stamp(w, $arr[$i], &s->soa_terms[$k]);\n");
    }
    put(x,
        "    if (!walked)\n"
        "        soa_snap_for(pool, s->rows, soa_${S}_build_rows, &a);\n"
        "    (void)runs;\n"
        "    return 0;\n"
        "}\n\n");
}

static void emit_build(sys_ctx *x)
{
    emit_build_rows(x);
    emit_build_on_head(x);
    emit_build_on_walk(x);
    emit_build_on_tail(x);
    put(x,
        "/* Gathers every entity that matches $name into rows [0, rows) and\n"
        " * clears the changed bits, on this thread ($S_build_on with no\n"
        " * pool).  Registers the components in `w` (idempotent).  Rows come\n"
        " * in batches of SOA_FETCH_BATCH in the world's order; a batch whose\n"
        " * values lie in a row of the world is copied as a block.  When no\n"
        " * term's rows were added or removed since the last build, the same\n"
        " * rows are copied again without walking the query.  Allocates only\n"
        " * when the matching entities outgrow the capacity.  0, or -1 with\n"
        " * errno: EINVAL (a NULL argument, an uninitialised snapshot, a\n"
        " * component the world refuses), ENOMEM. */\n"
        "static inline int $S_build($S_snap *s, soa_world *w)\n"
        "{\n"
        "    return $S_build_on(s, w, NULL);\n"
        "}\n\n");
}

/* ---- run ------------------------------------------------------------ */

static void view_assign(sys_ctx *x, const soac_term *t)
{
    for (size_t i = 0; i < t->comp->fields.len; i++) {
        const soac_field *f = t->comp->fields.items[i];
        soac_tpl_set(&x->t, "f", f->name);
        soac_tpl_setu(&x->t, "n", f->ncols);
        put(x, f->type.is_array
            ? "    for (i = 0; i < $n; i++)\n"
              "        v.$N.$f[i] = s->$N.$f[i];\n"
            : "    v.$N.$f = s->$N.$f;\n");
    }
    if (t->access == SOAC_WRITE)
        put(x, "    v.$N.changed = s->$N.changed;\n");
}

static void emit_run_range(sys_ctx *x)
{
    put(x,
        "/* Calls `k` on rows [begin, end) of a built snapshot, on this thread.\n"
        " * begin and end (unless it is rows) are multiples of 64. */\n"
        "static inline void $S_run_range($S_snap *s, $S_kernel k,\n"
        "    const soa_frame *frame, void *ctx, size_t begin, size_t end)\n"
        "{\n"
        "    $S_view v;\n");
    if (soac_system_has_array(x->sys))
        put(x, "    size_t i;\n");
    put(x,
        "    v.begin = begin;\n"
        "    v.end = end;\n"
        "    v.eids = s->eids;\n");
    each_cols(x, view_assign);
    put(x, "    k(&v, frame, ctx);\n}\n\n");
}

static void emit_run(sys_ctx *x)
{
    emit_run_range(x);
    put(x,
        "typedef struct $S_run_args {\n"
        "    $S_snap *s;\n"
        "    $S_kernel k;\n"
        "    const soa_frame *frame;\n"
        "    void *ctx;\n"
        "} $S_run_args;\n\n"
        "static inline void $S_run_chunk(void *p, size_t begin, size_t end,\n"
        "    unsigned worker)\n"
        "{\n"
        "    const $S_run_args *a = (const $S_run_args *)p;\n"
        "    (void)worker;\n"
        "    $S_run_range(a->s, a->k, a->frame, a->ctx, begin, end);\n"
        "}\n\n"
        "/* Runs `k` over every row of a built snapshot, in chunks whose\n"
        " * boundaries are multiples of 64 rows, on `pool` (NULL: this thread\n"
        " * alone; a NULL frame reads as all zeros).  Returns when every chunk\n"
        " * ran.  0, or -1 (EINVAL: a NULL snapshot or kernel). */\n"
        "static inline int $S_run($S_snap *s, soa_pool *pool, $S_kernel k,\n"
        "    const soa_frame *frame, void *ctx)\n"
        "{\n"
        "    $S_run_args a;\n"
        "    soa_frame zero;\n"
        "    if (!s || !k) {\n"
        "        errno = EINVAL;\n"
        "        return -1;\n"
        "    }\n"
        "    if (!frame) {\n"
        "        memset(&zero, 0, sizeof zero);\n"
        "        frame = &zero;\n"
        "    }\n"
        "    a.s = s;\n"
        "    a.k = k;\n"
        "    a.frame = frame;\n"
        "    a.ctx = ctx;\n"
        "    soa_pool_for(pool, s->rows, SOA_POOL_GRAIN, $S_run_chunk, &a);\n"
        "    return 0;\n"
        "}\n\n");
}

/* ---- commit --------------------------------------------------------- */

/* The private chunk of a commit: rows [begin, end), a multiple of 64 but
 * for the last row.  Chunks write different entities' values.  Per
 * written term, one 64-row block at a time: while the stamp holds, a
 * block gathered as a run is written straight to its rows in the world (a
 * whole changed block as one scatter); otherwise each row's entity is
 * looked up, which skips the dead, recycled and stripped. */
static void emit_commit_rows(sys_ctx *x)
{
    put(x,
        "typedef struct soa_${S}_commit_args {\n"
        "    const $S_snap *s;\n"
        "    soa_world *w;\n");
    each_written_put(x,
        "    $C *d$k; /* NULL: look each entity up */\n"
        "    soa_cid c$k;\n");
    put(x,
        "} soa_${S}_commit_args;\n\n"
        "static inline size_t soa_${S}_commit_rows(void *p, size_t begin, size_t end)\n"
        "{\n"
        "    const soa_${S}_commit_args *a = (const soa_${S}_commit_args *)p;\n"
        "    const $S_snap *s = a->s;\n"
        "    size_t n = 0, nw = soa_bitset_words(end), k, row, j;\n"
        "    uint64_t bits;\n"
        "    uint32_t base;\n");
    each_written_put(x,
        "    for (k = begin / 64u; k < nw; k++) {\n"
        "        if (!(bits = s->$N.changed[k]))\n"
        "            continue;\n"
        "        row = k * 64u;\n"
        "        if (s->rows - row < 64u)\n"
        "            bits &= ((uint64_t)1 << (s->rows - row)) - 1u;\n"
        "        base = a->d$k ? s->soa_base_$N[k] : SOA_ROW_NONE;\n"
        "        if (base != SOA_ROW_NONE && bits == ~(uint64_t)0) {\n"
        "            $C_cols_scatter(&s->$N, row, a->d$k + base, 64u);\n"
        "            n += 64u;\n"
        "            continue;\n"
        "        }\n"
        "        for (j = soa_bitset_next(&bits, 64u, 0); j < 64u;\n"
        "             j = soa_bitset_next(&bits, 64u, j + 1u)) {\n"
        "            $C *d = base != SOA_ROW_NONE ? a->d$k + base + j :\n"
        "                a->d$k ? a->d$k + s->soa_rows_$N[row + j] :\n"
        "                ($C *)soa_world_get(a->w, s->eids[row + j], a->c$k);\n"
        "            if (d) {\n"
        "                *d = $C_cols_load(&s->$N, row + j);\n"
        "                n++;\n"
        "            }\n"
        "        }\n"
        "    }\n");
    put(x, "    return n;\n}\n\n");
}

static void emit_commit_on(sys_ctx *x)
{
    bool cols = writes_columns(x->sys);
    put(x,
        "/* S_commit with the changed rows spread over `pool` (NULL: this\n"
        " * thread alone) in chunks of whole 64-row blocks, each writing\n"
        " * different entities' values.  The same values written and the same\n"
        " * count as $S_commit, for any pool size.  Call it from the thread\n"
        " * that drives `pool`. */\n"
        "static inline size_t $S_commit_on(const $S_snap *s, soa_world *w,\n"
        "    soa_pool *pool)\n"
        "{\n");
    if (!cols) {
        put(x, "    (void)s;\n    (void)w;\n    (void)pool;\n    return 0;\n}\n\n");
        return;
    }
    put(x,
        "    soa_${S}_commit_args a;\n"
        "    if (!s || !w || !s->rows)\n"
        "        return 0;\n"
        "    a.s = s;\n"
        "    a.w = w;\n");
    each_written_put(x,
        "    a.d$k = ($C *)soa_world_values_stamped(w, &s->soa_terms[$k]);\n"
        "    a.c$k = soa_world_lookup(w, $C_desc.name);\n");
    put(x,
        "    return soa_snap_for(pool, s->rows, soa_${S}_commit_rows, &a);\n"
        "}\n\n");
}

static void emit_commit(sys_ctx *x)
{
    if (writes_columns(x->sys))
        emit_commit_rows(x);
    emit_commit_on(x);
    put(x,
        "/* Writes every changed row of each written component back to its\n"
        " * entity, only to entities still alive with the component, on this\n"
        " * thread ($S_commit_on with no pool).  When no row of the component\n"
        " * lost its entity since the build (its stamp holds), rows go straight\n"
        " * to where the build found them; otherwise each is looked up\n"
        " * (soa_world_get checks the generation), skipping entities that\n"
        " * died, were recycled or lost the component.  Returns the values\n"
        " * written (a row changed in two components counts twice).\n"
        " * O(rows / 64 + changed rows). */\n"
        "static inline size_t $S_commit(const $S_snap *s, soa_world *w)\n"
        "{\n"
        "    return $S_commit_on(s, w, NULL);\n"
        "}\n\n");
}

/* ---- the descriptor ------------------------------------------------- */

static void emit_erased(sys_ctx *x)
{
    put(x,
        "/* $S_system's functions, with the snapshot and kernel erased. */\n"
        "static inline int $S_erased_snap_init(void *s, soa_alloc *a)\n"
        "{\n"
        "    return $S_snap_init(($S_snap *)s, a);\n"
        "}\n\n"
        "static inline void $S_erased_snap_release(void *s)\n"
        "{\n"
        "    $S_snap_release(($S_snap *)s);\n"
        "}\n\n"
        "static inline int $S_erased_build(void *s, soa_world *w)\n"
        "{\n"
        "    return $S_build(($S_snap *)s, w);\n"
        "}\n\n"
        "static inline int $S_erased_run(void *s, soa_pool *p, soa_fn k,\n"
        "    const soa_frame *f, void *ctx)\n"
        "{\n"
        "    return $S_run(($S_snap *)s, p, ($S_kernel)k, f, ctx);\n"
        "}\n\n"
        "static inline size_t $S_erased_commit(const void *s, soa_world *w)\n"
        "{\n"
        "    return $S_commit((const $S_snap *)s, w);\n"
        "}\n\n"
        "static inline void $S_erased_run_range(void *s, soa_fn k,\n"
        "    const soa_frame *f, void *ctx, size_t begin, size_t end)\n"
        "{\n"
        "    $S_run_range(($S_snap *)s, ($S_kernel)k, f, ctx, begin, end);\n"
        "}\n\n"
        "static inline int soa_${S}_erased_build_on(void *s, soa_world *w,\n"
        "    soa_pool *p)\n"
        "{\n"
        "    return $S_build_on(($S_snap *)s, w, p);\n"
        "}\n\n"
        "static inline size_t soa_${S}_erased_commit_on(const void *s,\n"
        "    soa_world *w, soa_pool *p)\n"
        "{\n"
        "    return $S_commit_on((const $S_snap *)s, w, p);\n"
        "}\n\n");
}

/* `static const soa_component_desc *const S_reads[] = {...};` (`list`
 * is the template of the name, "$S_reads") for the terms of kind `use`, or
 * nothing when there are none (C has no empty arrays). */
static void emit_desc_list(sys_ctx *x, soac_access use, const char *list)
{
    bool first = true;
    for (size_t k = 0; k < x->sys->nterms; k++) {
        if (x->sys->terms[k].access != use)
            continue;
        term_vars(x, k);
        if (first) {
            put(x, "static const soa_component_desc *const ");
            put(x, list);
            put(x, "[] = {&$C_desc");
        } else {
            put(x, ", &$C_desc");
        }
        first = false;
    }
    if (!first)
        put(x, "};\n");
}

/* The S_system entries for a list of `n` terms: the list (`list`, as in
 * emit_desc_list) and its length, or NULL, 0. */
static void emit_list_ref(sys_ctx *x, size_t n, const char *list)
{
    if (!n) {
        put(x, "    NULL, 0,\n");
        return;
    }
    soac_tpl_setu(&x->t, "n", n);
    put(x, "    ");
    put(x, list);
    put(x, ", $n,\n");
}

static void emit_desc(sys_ctx *x)
{
    const soac_system *s = x->sys;
    emit_erased(x);
    emit_desc_list(x, SOAC_READ, "$S_reads");
    emit_desc_list(x, SOAC_WRITE, "$S_writes");
    emit_desc_list(x, SOAC_WITHOUT, "$S_without");
    put(x,
        "\n/* System $name for the scheduler: soa_sched_spec.system. */\n"
        "static const soa_system_desc $S_system = {\n"
        "    \"$S\",\n"
        "    UINT64_C(0x$hash),\n");
    emit_list_ref(x, s->nreads, "$S_reads");
    emit_list_ref(x, s->nwrites, "$S_writes");
    emit_list_ref(x, s->nwithout, "$S_without");
    put(x,
        "    sizeof($S_snap), SOA_ALIGNOF($S_snap),\n"
        "    $S_erased_snap_init,\n"
        "    $S_erased_snap_release,\n"
        "    $S_erased_build,\n"
        "    $S_erased_run,\n"
        "    $S_erased_commit,\n"
        "    $S_erased_run_range,\n"
        "    soa_${S}_erased_build_on,\n"
        "    soa_${S}_erased_commit_on\n"
        "};\n\n");
}

/* ---- entry ---------------------------------------------------------- */

void soac_emit_system(soac_out *o, const soac_system *sys)
{
    size_t nall = sys->nreads + sys->nwrites;
    sys_ctx x;
    assert(sys->nterms == nall + sys->nwithout);
    soac_tpl_system(&x.t, o, sys);
    x.sys = sys;
    soac_tpl_setu(&x.t, "nterms", sys->nterms);
    soac_tpl_setu(&x.t, "nterms1", sys->nterms ? sys->nterms : 1);
    soac_tpl_setu(&x.t, "nall", nall);
    soac_tpl_setu(&x.t, "nall1", nall ? nall : 1);
    soac_tpl_setu(&x.t, "nwithout", sys->nwithout);
    soac_tpl_set(&x.t, "none", sys->nwithout ? "none" : "NULL");
    put(&x, "/* ---- system $name ---- */\n\n");
    soac_emit_doc(o, sys->doc, "");
    emit_snap(&x);
    emit_view(&x);
    emit_snap_init(&x);
    emit_snap_release(&x);
    emit_snap_reserve(&x);
    emit_build(&x);
    emit_run(&x);
    emit_commit(&x);
    emit_desc(&x);
}

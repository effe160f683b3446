/*
 * emit_sys.c: the generated code of one `system` (SPEC "generated header",
 * system table): S_snap, S_view, S_kernel, S_kernel_fn, S_snap_init,
 * S_snap_release, S_snap_reserve, S_build, S_run_range, S_run, S_commit, and
 * S_system with its type-erased wrappers (S_erased_*, S_reads, S_writes,
 * S_without, S_run_args, S_run_chunk).
 *
 * Every function is short and reads like hand-written C: a person stepping
 * through a kernel's build should not need this file.  The output compiles
 * warning-free as C99, C11 and C++17 under -Wall -Wextra -Wpedantic
 * -Wconversion -Wshadow, so: explicit casts from void *, no designated
 * initialisers, no empty arrays, no mixed declarations needed.
 *
 * Tags (components without fields) have no columns: in a system they are
 * only query terms.  A snapshot's private members start with `soa_`, a
 * prefix schema names may not use, so they never collide with a component.
 */
#include <string.h>

#include "emit.h"

typedef struct sys_ctx {
    soac_out *o;
    const soac_system *sys;
    const char *S; /* the system's C name */
} sys_ctx;

/* ---- component lists ------------------------------------------------ */

static const soac_component *comp_at(const soac_list *l, size_t i)
{
    return (const soac_component *)l->items[i];
}

static bool is_tag(const soac_component *c)
{
    return c->fields.len == 0;
}

static const soac_field *field_at(const soac_component *c, size_t i)
{
    return (const soac_field *)c->fields.items[i];
}

/* The C element type of a field's column. */
static const char *field_ctype(const soac_field *f)
{
    return f->type.enm ? f->type.enm->cname : soac_scalar_ctype(f->type.scalar);
}

/* Calls fn for every component with columns: reads first, then writes, in
 * the order the checker resolved them. */
typedef void (*comp_fn)(const sys_ctx *x, const soac_component *c,
                        bool written);

static void each_cols(const sys_ctx *x, comp_fn fn)
{
    for (size_t i = 0; i < x->sys->r.len; i++)
        if (!is_tag(comp_at(&x->sys->r, i)))
            fn(x, comp_at(&x->sys->r, i), false);
    for (size_t i = 0; i < x->sys->w.len; i++)
        if (!is_tag(comp_at(&x->sys->w, i)))
            fn(x, comp_at(&x->sys->w, i), true);
}

/* Whether any component of the system has columns (not only tags): the
 * generated loops over columns then use every local they declare. */
static bool has_cols(const soac_system *s)
{
    for (size_t i = 0; i < s->r.len; i++)
        if (!is_tag(comp_at(&s->r, i)))
            return true;
    for (size_t i = 0; i < s->w.len; i++)
        if (!is_tag(comp_at(&s->w, i)))
            return true;
    return false;
}

static size_t n_all(const soac_system *s)
{
    return s->r.len + s->w.len;
}

/* The i-th `all` term of the query: reads, then writes. */
static const soac_component *all_at(const soac_system *s, size_t i)
{
    return i < s->r.len ? comp_at(&s->r, i) : comp_at(&s->w, i - s->r.len);
}

/* Index of c among the `all` terms. */
static size_t all_index(const soac_system *s, const soac_component *c)
{
    for (size_t i = 0; i < n_all(s); i++)
        if (all_at(s, i) == c)
            return i;
    return 0;
}

/* Writes a doc comment safely: no text can end the comment early. */
static void emit_doc(soac_out *o, const char *doc)
{
    if (!doc || !*doc)
        return;
    soac_out_puts(o, "/*");
    for (const char *p = doc; *p; p++) {
        if (*p == '\n') {
            soac_out_puts(o, "\n *");
            continue;
        }
        if (p == doc || p[-1] == '\n')
            soac_out_puts(o, " ");
        /* Neither a comment's end nor a nested start (-Wcomment). */
        if (p > doc && ((*p == '/' && p[-1] == '*') ||
                        (*p == '*' && p[-1] == '/')))
            soac_out_puts(o, " ");
        soac_out_write(o, p, 1);
    }
    soac_out_puts(o, " */\n");
}

/* ---- types ---------------------------------------------------------- */

static void snap_member(const sys_ctx *x, const soac_component *c,
                        bool written)
{
    soac_out_printf(x->o, "    %s_cols %s; /* %s */\n", c->cname, c->name,
                    written ? "write" : "read");
}

/* Private, per component with columns: for each 64-row block, the dense
 * row in the world of the block's first row when the block's rows are
 * consecutive there (else SOA_ROW_NONE, and the block's rows are in
 * soa_rows_X). */
static void snap_private(const sys_ctx *x, const soac_component *c,
                         bool written)
{
    (void)written;
    soac_out_printf(x->o,
        "    uint32_t *soa_base_%s; /* private: world row of each block */\n"
        "    uint32_t *soa_rows_%s; /* private: of each row, in other blocks */\n",
        c->name, c->name);
}

/* The query's terms: `all` (reads, then writes), then `none`. */
static size_t n_terms(const soac_system *y)
{
    return n_all(y) + y->wo.len;
}

static void emit_snap(const sys_ctx *x)
{
    soac_out *o = x->o;
    soac_out_printf(o,
        "/* The rows system %s works on, gathered by %s_build: eids[row]\n"
        " * is the entity of each row, and each component has its columns. */\n"
        "typedef struct %s_snap {\n"
        "    size_t rows, cap;\n"
        "    soa_entity *eids;\n", x->sys->name, x->S, x->S);
    each_cols(x, snap_member);
    soac_out_puts(o,
        "    soa_alloc *soa_mem; /* private: where the columns live */\n");
    each_cols(x, snap_private);
    soac_out_printf(o,
        "    size_t soa_gaps; /* private: the last walk skipped candidates */\n"
        "    soa_stamp soa_terms[%zu]; /* private: each term's rows at the build */\n"
        "} %s_snap;\n\n", n_terms(x->sys) ? n_terms(x->sys) : 1, x->S);
}

static void view_member(const sys_ctx *x, const soac_component *c,
                        bool written)
{
    const char *cq = written ? "" : "const ";
    soac_out_puts(x->o, "    struct {\n");
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = field_at(c, i);
        if (f->type.is_array)
            soac_out_printf(x->o, "        %s%s *%s[%llu];\n", cq,
                            field_ctype(f), f->name,
                            (unsigned long long)f->type.array_len);
        else
            soac_out_printf(x->o, "        %s%s *%s;\n", cq, field_ctype(f),
                            f->name);
    }
    if (written)
        soac_out_puts(x->o, "        uint64_t *changed;\n");
    soac_out_printf(x->o, "    } %s;\n", c->name);
}

static void emit_view(const sys_ctx *x)
{
    soac_out *o = x->o;
    soac_out_printf(o,
        "/* What a kernel sees: rows [begin, end) of the snapshot.  Pointers\n"
        " * index absolute rows; read-only components are const.  A kernel\n"
        " * that changes a row of a written component sets its bit in\n"
        " * `changed` (soa_bitset_set: chunks never share a word). */\n"
        "typedef struct %s_view {\n"
        "    size_t begin, end;\n"
        "    const soa_entity *eids;\n", x->S);
    each_cols(x, view_member);
    soac_out_printf(o, "} %s_view;\n\n", x->S);
    soac_out_printf(o,
        "typedef void (*%s_kernel)(const %s_view *v, const soa_frame *frame,\n"
        "    void *ctx);\n\n"
        "/* The kernel type-erased, for soa_sched_spec.kernel. */\n"
        "static inline soa_fn %s_kernel_fn(%s_kernel k)\n"
        "{\n"
        "    return (soa_fn)k;\n"
        "}\n\n", x->S, x->S, x->S, x->S);
}

/* ---- storage -------------------------------------------------------- */

static void release_cols(const sys_ctx *x, const soac_component *c, bool w)
{
    soac_out_printf(x->o, "    %s_cols_release(&s->%s, s->soa_mem);\n",
                    c->cname, c->name);
    (void)w;
    soac_out_printf(x->o,
        "    s->soa_mem->free(s->soa_mem, s->soa_base_%s,\n"
        "        soa_bitset_words(s->cap) * sizeof(uint32_t));\n"
        "    s->soa_mem->free(s->soa_mem, s->soa_rows_%s, s->cap * sizeof(uint32_t));\n"
        "    s->soa_base_%s = NULL;\n"
        "    s->soa_rows_%s = NULL;\n", c->name, c->name, c->name, c->name);
}

static void init_cols(const sys_ctx *x, const soac_component *c, bool w)
{
    soac_out_printf(x->o,
        "    if (%s_cols_init(&s->%s, cap, a) != 0) {\n"
        "        err = errno;\n"
        "        %s_snap_release(s);\n"
        "        errno = err;\n"
        "        return -1;\n"
        "    }\n", c->cname, c->name, x->S);
    (void)w;
    soac_out_printf(x->o,
            "    s->soa_base_%s = (uint32_t *)a->alloc(a,\n"
            "        soa_bitset_words(cap) * sizeof(uint32_t), SOA_ALIGN);\n"
            "    s->soa_rows_%s = (uint32_t *)a->alloc(a, cap * sizeof(uint32_t), SOA_ALIGN);\n"
            "    if (!s->soa_base_%s || !s->soa_rows_%s) {\n"
            "        %s_snap_release(s);\n"
            "        errno = ENOMEM;\n"
            "        return -1;\n"
            "    }\n", c->name, c->name, c->name, c->name, x->S);
}

static void emit_storage(const sys_ctx *x)
{
    soac_out *o = x->o;
    const char *S = x->S;
    soac_out_printf(o,
        "/* An empty snapshot whose columns will come from `alloc` (NULL: the\n"
        " * heap).  Allocates nothing until the first build.  0, or -1 (EINVAL\n"
        " * for a NULL snapshot). */\n"
        "static inline int %s_snap_init(%s_snap *s, soa_alloc *alloc)\n"
        "{\n"
        "    if (!s) {\n"
        "        errno = EINVAL;\n"
        "        return -1;\n"
        "    }\n"
        "    memset(s, 0, sizeof *s);\n"
        "    s->soa_mem = soa_alloc_or_heap(alloc);\n"
        "    return 0;\n"
        "}\n\n", S, S);
    soac_out_printf(o,
        "/* Frees every column; the snapshot stays usable (empty).  NULL and an\n"
        " * uninitialised (zeroed) snapshot are no-ops. */\n"
        "static inline void %s_snap_release(%s_snap *s)\n"
        "{\n"
        "    if (!s || !s->soa_mem)\n"
        "        return;\n", S, S);
    each_cols(x, release_cols);
    soac_out_printf(o,
        "    s->soa_mem->free(s->soa_mem, s->eids, s->cap * sizeof(soa_entity));\n"
        "    memset(s->soa_terms, 0, sizeof s->soa_terms);\n"
        "    s->soa_gaps = 0;\n"
        "    s->eids = NULL;\n"
        "    s->rows = s->cap = 0;\n"
        "}\n\n");
    soac_out_printf(o,
        "/* Room for at least `rows` rows: the old columns are freed (a build\n"
        " * refills them), the new capacity is at least twice the old one,\n"
        " * rounded up to 64 rows.  0, or -1 (EOVERFLOW, ENOMEM) with the\n"
        " * snapshot empty. */\n"
        "static inline int %s_snap_reserve(%s_snap *s, size_t rows)\n"
        "{\n"
        "    soa_alloc *a = s->soa_mem;\n"
        "    size_t cap = s->cap, bytes;\n"
        "    int err;\n"
        "    %s_snap_release(s);\n"
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
        "    s->cap = cap;\n", S, S, S);
    each_cols(x, init_cols);
    soac_out_puts(o, has_cols(x->sys) ? "    return 0;\n}\n\n"
                                      : "    (void)err;\n    return 0;\n}\n\n");
}

/* ---- build ---------------------------------------------------------- */

/* The dense values of each `all` term, as the build chunks read them. */
static void args_values(const sys_ctx *x, const soac_component *c, bool w)
{
    (void)w;
    soac_out_printf(x->o, "    const %s *v%zu;\n", c->cname,
                    all_index(x->sys, c));
}

static void get_values(const sys_ctx *x, const soac_component *c, bool w)
{
    size_t k = all_index(x->sys, c);
    (void)w;
    soac_out_printf(x->o,
        "    a.v%zu = (const %s *)soa_world_values(w, all[%zu]);\n", k,
        c->cname, k);
}

/* Where one batch of c lies in the world: the block's first row when its
 * rows run on (a block copy later), else each row. */
static void locate_cols(const sys_ctx *x, const soac_component *c, bool w)
{
    size_t k = all_index(x->sys, c);
    const char *N = c->name;
    (void)w;
    if (k < 64)
        soac_out_printf(x->o,
            "        if ((runs >> %zu) & 1u) {\n"
            "            s->soa_base_%s[row / 64u] = rows[%zu * SOA_FETCH_BATCH];\n"
            "        } else {\n", k, N, k);
    else
        soac_out_puts(x->o, "        {\n");
    soac_out_printf(x->o,
        "            memcpy(s->soa_rows_%s + row, rows + %zu * SOA_FETCH_BATCH,\n"
        "                n * sizeof(uint32_t));\n"
        "            s->soa_base_%s[row / 64u] = SOA_ROW_NONE;\n"
        "        }\n", N, k, N);
}

/* One block of c from the rows the walk found. */
static void regather_cols(const sys_ctx *x, const soac_component *c, bool w)
{
    size_t k = all_index(x->sys, c);
    const char *T = c->cname, *N = c->name;
    (void)w;
    soac_out_printf(x->o,
        "        if (s->soa_base_%s[row / 64u] != SOA_ROW_NONE)\n"
        "            %s_cols_gather(&s->%s, row, v%zu + s->soa_base_%s[row / 64u], n);\n"
        "        else\n"
        "            for (j = 0; j < n; j++)\n"
        "                %s_cols_store(&s->%s, row + j, v%zu + s->soa_rows_%s[row + j]);\n",
        N, T, N, k, N, T, N, k, N);
}

/* The chunk's local copy of v<k> (kept in a register through the loop). */
static void local_values(const sys_ctx *x, const soac_component *c, bool w)
{
    size_t k = all_index(x->sys, c);
    (void)w;
    soac_out_printf(x->o, "    const %s *v%zu = a->v%zu;\n", c->cname, k, k);
}

static void clear_cols(const sys_ctx *x, const soac_component *c, bool w)
{
    (void)w;
    soac_out_printf(x->o,
        "    soa_bitset_clear_all(s->%s.changed + begin / 64u, end - begin);\n",
        c->name);
}

/* Registers each component of `l` into arr[base + i]. */
static void emit_register(const sys_ctx *x, const soac_list *l,
                          const char *arr, size_t base)
{
    for (size_t i = 0; i < l->len; i++)
        soac_out_printf(x->o, "    %s[%zu] = soa_world_register(w, &%s_desc);\n",
                        arr, base + i, comp_at(l, i)->cname);
}

static void emit_check_cids(const sys_ctx *x, const char *arr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        soac_out_printf(x->o,
            "    if (%s[%zu] == SOA_CID_INVALID)\n"
            "        return -1;\n", arr, i);
}

/* The private chunk of a parallel walk: lead positions [begin, end)
 * become snapshot rows [begin, end) when every candidate matches (then the
 * chunk copies them and returns end - begin); 0 as soon as one does not
 * (the caller then walks again serially). */
static void emit_walk_rows(const sys_ctx *x)
{
    soac_out *o = x->o;
    const char *S = x->S;
    size_t na = n_all(x->sys);
    soac_out_printf(o,
        "static inline size_t soa_%s_walk_rows(void *p, size_t begin, size_t end)\n"
        "{\n"
        "    const soa_%s_build_args *a = (const soa_%s_build_args *)p;\n"
        "    %s_snap *s = a->s;\n"
        "    uint32_t rows[SOA_FETCH_BATCH * %zu];\n"
        "    soa_query_iter it;\n"
        "    uint64_t runs;\n"
        "    size_t row = begin, n;\n"
        "    soa_query_begin_at(a->w, a->q, &it, begin, end);\n"
        "    while ((n = soa_query_fetch_rows(&it, s->eids + row, rows,\n"
        "                SOA_FETCH_BATCH, &runs)) != 0) {\n"
        "        if (n != (end - row < SOA_FETCH_BATCH ? end - row : SOA_FETCH_BATCH))\n"
        "            return 0;\n", S, S, S, S, na ? na : 1);
    each_cols(x, locate_cols);
    soac_out_printf(o,
        "        row += n;\n"
        "    }\n"
        "    if (row != end)\n"
        "        return 0;\n"
        "    soa_%s_build_rows(p, begin, end);\n"
        "    (void)runs;\n"
        "    return end - begin;\n"
        "}\n\n", S);
}

/* The private chunk of a build: copies rows [begin, end) (multiples of 64
 * but for the last row) from where the walk found them, and clears their
 * changed bits.  Chunks touch disjoint rows and bitset words. */
static void emit_build_rows(const sys_ctx *x)
{
    soac_out *o = x->o;
    const char *S = x->S;
    soac_out_printf(o,
        "typedef struct soa_%s_build_args {\n"
        "    %s_snap *s;\n"
        "    soa_world *w;\n"
        "    const soa_query *q;\n", S, S);
    each_cols(x, args_values);
    soac_out_printf(o,
        "} soa_%s_build_args;\n\n"
        "static inline size_t soa_%s_build_rows(void *p, size_t begin, size_t end)\n"
        "{\n"
        "    const soa_%s_build_args *a = (const soa_%s_build_args *)p;\n"
        "    %s_snap *s = a->s;\n", S, S, S, S, S);
    each_cols(x, local_values);
    soac_out_puts(o,
        "    size_t row, n, j;\n"
        "    for (row = begin; row < end; row += n) {\n"
        "        n = end - row < SOA_FETCH_BATCH ? end - row : SOA_FETCH_BATCH;\n");
    each_cols(x, regather_cols);
    soac_out_puts(o, "    }\n");
    each_cols(x, clear_cols);
    soac_out_puts(o, has_cols(x->sys) ? "    return 0;\n}\n\n"
                                      : "    (void)s;\n    (void)j;\n    return 0;\n}\n\n");
    emit_walk_rows(x);
}

static void emit_build(const sys_ctx *x)
{
    soac_out *o = x->o;
    const soac_system *y = x->sys;
    const char *S = x->S;
    size_t na = n_all(y), nn = y->wo.len, nt = n_terms(y);
    emit_build_rows(x);
    soac_out_printf(o,
        "/* S_build with the copying spread over `pool` (NULL: this thread\n"
        " * alone) in chunks of whole 64-row blocks: the query walk records\n"
        " * where each row lies (a block's first row when its rows run on,\n"
        " * else each row), then the chunks copy the values.  The walk runs on\n"
        " * the pool as well while every candidate matches (the lead term's\n"
        " * positions are the rows), else on the caller.  When no term's rows\n"
        " * were added or removed since the last build, the walk is skipped\n"
        " * and the same rows are copied again.\n"
        " * The same rows and values as %s_build, for any pool size.  Call\n"
        " * it from the thread that drives `pool`, not from a pool task (it\n"
        " * would run inline).  0, or -1 with errno as for %s_build. */\n"
        "static inline int %s_build_on(%s_snap *s, soa_world *w, soa_pool *pool)\n"
        "{\n"
        "    soa_cid all[%zu];\n"
        "    uint32_t rows[SOA_FETCH_BATCH * %zu];\n", S, S, S, S,
        na ? na : 1, na ? na : 1);
    if (nn)
        soac_out_printf(o, "    soa_cid none[%zu];\n", nn);
    soac_out_printf(o,
        "    soa_%s_build_args a;\n"
        "    soa_query q;\n"
        "    soa_query_iter it;\n"
        "    uint64_t runs;\n"
        "    size_t bound, row = 0, n;\n"
        "    int walked = 0;\n"
        "    if (!s || !s->soa_mem || !w) {\n"
        "        errno = EINVAL;\n"
        "        return -1;\n"
        "    }\n", S);
    emit_register(x, &y->r, "all", 0);
    emit_register(x, &y->w, "all", y->r.len);
    emit_register(x, &y->wo, "none", 0);
    emit_check_cids(x, "all", na);
    emit_check_cids(x, "none", nn);
    soac_out_puts(o, "    memset(&a, 0, sizeof a);\n    a.s = s;\n");
    each_cols(x, get_values);
    soac_out_printf(o,
        "    if (soa_world_same_shape(w, s->soa_terms, %zu)) {\n"
        "        soa_snap_for(pool, s->rows, soa_%s_build_rows, &a);\n"
        "        return 0;\n"
        "    }\n"
        "    s->rows = 0;\n"
        "    q.all = all;\n"
        "    q.nall = %zu;\n"
        "    q.none = %s;\n"
        "    q.nnone = %zu;\n"
        "    bound = soa_query_begin(w, &q, &it);\n"
        "    if (bound > s->cap && %s_snap_reserve(s, bound) != 0)\n"
        "        return -1;\n",
        nt, S, na, nn ? "none" : "NULL", nn, S);
    soac_out_printf(o,
        "    a.w = w;\n"
        "    a.q = &q;\n"
        "    if (!s->soa_gaps && bound >= SOA_SNAP_PARALLEL_ROWS &&\n"
        "        soa_pool_size(pool) > 1 &&\n"
        "        soa_snap_for(pool, bound, soa_%s_walk_rows, &a) == bound)\n"
        "        walked = 1;\n"
        "    while (!walked && bound &&\n"
        "           (n = soa_query_fetch_rows(&it, s->eids + row, rows,\n"
        "                SOA_FETCH_BATCH, &runs)) != 0) {\n", S);
    each_cols(x, locate_cols);
    soac_out_puts(o,
        "        row += n;\n"
        "    }\n"
        "    if (walked)\n"
        "        row = bound;\n"
        "    else\n"
        "        s->soa_gaps = row != bound;\n"
        "    s->rows = row;\n");
    for (size_t k = 0; k < na; k++)
        soac_out_printf(o, "    soa_world_stamp(w, all[%zu], &s->soa_terms[%zu]);\n",
                        k, k);
    for (size_t k = 0; k < nn; k++)
        soac_out_printf(o, "    soa_world_stamp(w, none[%zu], &s->soa_terms[%zu]);\n",
                        k, na + k);
    soac_out_printf(o,
        "    if (!walked)\n"
        "        soa_snap_for(pool, s->rows, soa_%s_build_rows, &a);\n"
        "    (void)runs;\n"
        "    return 0;\n"
        "}\n\n", S);
    soac_out_printf(o,
        "/* Gathers every entity that matches %s into rows [0, rows) and\n"
        " * clears the changed bits, on this thread (%s_build_on with no\n"
        " * pool).  Registers the components in `w` (idempotent).  Rows come\n"
        " * in batches of SOA_FETCH_BATCH in the world's order; a batch whose\n"
        " * values lie in a row of the world is copied as a block.  When no\n"
        " * term's rows were added or removed since the last build, the same\n"
        " * rows are copied again without walking the query.  Allocates only\n"
        " * when the matching entities outgrow the capacity.  0, or -1 with\n"
        " * errno: EINVAL (a NULL argument, an uninitialised snapshot, a\n"
        " * component the world refuses), ENOMEM. */\n"
        "static inline int %s_build(%s_snap *s, soa_world *w)\n"
        "{\n"
        "    return %s_build_on(s, w, NULL);\n"
        "}\n\n", y->name, S, S, S, S);
}

/* ---- run ------------------------------------------------------------ */

static void view_assign(const sys_ctx *x, const soac_component *c,
                        bool written)
{
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = field_at(c, i);
        if (f->type.is_array)
            soac_out_printf(x->o,
                "    for (i = 0; i < %llu; i++)\n"
                "        v.%s.%s[i] = s->%s.%s[i];\n",
                (unsigned long long)f->type.array_len, c->name, f->name,
                c->name, f->name);
        else
            soac_out_printf(x->o, "    v.%s.%s = s->%s.%s;\n", c->name,
                            f->name, c->name, f->name);
    }
    if (written)
        soac_out_printf(x->o, "    v.%s.changed = s->%s.changed;\n", c->name,
                        c->name);
}

static bool has_array_field(const soac_system *y)
{
    for (size_t i = 0; i < n_all(y); i++) {
        const soac_component *c = all_at(y, i);
        for (size_t k = 0; k < c->fields.len; k++)
            if (field_at(c, k)->type.is_array)
                return true;
    }
    return false;
}

static void emit_run(const sys_ctx *x)
{
    soac_out *o = x->o;
    const char *S = x->S;
    soac_out_printf(o,
        "/* Calls `k` on rows [begin, end) of a built snapshot, on this thread.\n"
        " * begin and end (unless it is rows) are multiples of 64. */\n"
        "static inline void %s_run_range(%s_snap *s, %s_kernel k,\n"
        "    const soa_frame *frame, void *ctx, size_t begin, size_t end)\n"
        "{\n"
        "    %s_view v;\n", S, S, S, S);
    if (has_array_field(x->sys))
        soac_out_puts(o, "    size_t i;\n");
    soac_out_puts(o,
        "    v.begin = begin;\n"
        "    v.end = end;\n"
        "    v.eids = s->eids;\n");
    each_cols(x, view_assign);
    soac_out_puts(o, "    k(&v, frame, ctx);\n}\n\n");
    soac_out_printf(o,
        "typedef struct %s_run_args {\n"
        "    %s_snap *s;\n"
        "    %s_kernel k;\n"
        "    const soa_frame *frame;\n"
        "    void *ctx;\n"
        "} %s_run_args;\n\n"
        "static inline void %s_run_chunk(void *p, size_t begin, size_t end,\n"
        "    unsigned worker)\n"
        "{\n"
        "    const %s_run_args *a = (const %s_run_args *)p;\n"
        "    (void)worker;\n"
        "    %s_run_range(a->s, a->k, a->frame, a->ctx, begin, end);\n"
        "}\n\n", S, S, S, S, S, S, S, S);
    soac_out_printf(o,
        "/* Runs `k` over every row of a built snapshot, in chunks whose\n"
        " * boundaries are multiples of 64 rows, on `pool` (NULL: this thread\n"
        " * alone; a NULL frame reads as all zeros).  Returns when every chunk\n"
        " * ran.  0, or -1 (EINVAL: a NULL snapshot or kernel). */\n"
        "static inline int %s_run(%s_snap *s, soa_pool *pool, %s_kernel k,\n"
        "    const soa_frame *frame, void *ctx)\n"
        "{\n"
        "    %s_run_args a;\n"
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
        "    soa_pool_for(pool, s->rows, SOA_POOL_GRAIN, %s_run_chunk, &a);\n"
        "    return 0;\n"
        "}\n\n", S, S, S, S, S);
}

/* ---- commit --------------------------------------------------------- */

static void commit_args(const sys_ctx *x, const soac_component *c,
                        bool written)
{
    size_t k = all_index(x->sys, c);
    if (!written)
        return;
    soac_out_printf(x->o,
        "    %s *d%zu; /* NULL: look each entity up */\n"
        "    soa_cid c%zu;\n", c->cname, k, k);
}

static void commit_init(const sys_ctx *x, const soac_component *c,
                        bool written)
{
    size_t k = all_index(x->sys, c);
    if (!written)
        return;
    soac_out_printf(x->o,
        "    a.d%zu = (%s *)soa_world_values_stamped(w, &s->soa_terms[%zu]);\n"
        "    a.c%zu = soa_world_lookup(w, %s_desc.name);\n",
        k, c->cname, k, k, c->cname);
}

/* Commits c's changed rows of one chunk, one 64-row block at a time.
 * While the stamp holds, a block gathered as a run is written straight to
 * its rows in the world (a whole changed block as one scatter); otherwise
 * each row's entity is looked up, which skips the dead, recycled and
 * stripped. */
static void commit_cols(const sys_ctx *x, const soac_component *c,
                        bool written)
{
    if (!written)
        return;
    const char *T = c->cname, *N = c->name;
    size_t i = all_index(x->sys, c);
    soac_out_printf(x->o,
        "    for (k = begin / 64u; k < nw; k++) {\n"
        "        if (!(bits = s->%s.changed[k]))\n"
        "            continue;\n"
        "        row = k * 64u;\n"
        "        if (s->rows - row < 64u)\n"
        "            bits &= ((uint64_t)1 << (s->rows - row)) - 1u;\n"
        "        base = a->d%zu ? s->soa_base_%s[k] : SOA_ROW_NONE;\n"
        "        if (base != SOA_ROW_NONE && bits == ~(uint64_t)0) {\n"
        "            %s_cols_scatter(&s->%s, row, a->d%zu + base, 64u);\n"
        "            n += 64u;\n"
        "            continue;\n"
        "        }\n"
        "        for (j = soa_bitset_next(&bits, 64u, 0); j < 64u;\n"
        "             j = soa_bitset_next(&bits, 64u, j + 1u)) {\n"
        "            %s *d = base != SOA_ROW_NONE ? a->d%zu + base + j :\n"
        "                a->d%zu ? a->d%zu + s->soa_rows_%s[row + j] :\n"
        "                (%s *)soa_world_get(a->w, s->eids[row + j], a->c%zu);\n"
        "            if (d) {\n"
        "                *d = %s_cols_load(&s->%s, row + j);\n"
        "                n++;\n"
        "            }\n"
        "        }\n"
        "    }\n",
        N, i, N, T, N, i, T, i, i, i, N, T, i, T, N);
}

static bool writes_columns(const soac_system *y)
{
    for (size_t i = 0; i < y->w.len; i++)
        if (!is_tag(comp_at(&y->w, i)))
            return true;
    return false;
}

/* The private chunk of a commit: rows [begin, end), a multiple of 64 but
 * for the last row.  Chunks write different entities' values. */
static void emit_commit_rows(const sys_ctx *x)
{
    soac_out *o = x->o;
    const char *S = x->S;
    soac_out_printf(o,
        "typedef struct soa_%s_commit_args {\n"
        "    const %s_snap *s;\n"
        "    soa_world *w;\n", S, S);
    each_cols(x, commit_args);
    soac_out_printf(o,
        "} soa_%s_commit_args;\n\n"
        "static inline size_t soa_%s_commit_rows(void *p, size_t begin, size_t end)\n"
        "{\n"
        "    const soa_%s_commit_args *a = (const soa_%s_commit_args *)p;\n"
        "    const %s_snap *s = a->s;\n"
        "    size_t n = 0, nw = soa_bitset_words(end), k, row, j;\n"
        "    uint64_t bits;\n"
        "    uint32_t base;\n", S, S, S, S, S);
    each_cols(x, commit_cols);
    soac_out_puts(o, "    return n;\n}\n\n");
}

static void emit_commit(const sys_ctx *x)
{
    soac_out *o = x->o;
    const char *S = x->S;
    bool cols = writes_columns(x->sys);
    if (cols)
        emit_commit_rows(x);
    soac_out_printf(o,
        "/* S_commit with the changed rows spread over `pool` (NULL: this\n"
        " * thread alone) in chunks of whole 64-row blocks, each writing\n"
        " * different entities' values.  The same values written and the same\n"
        " * count as %s_commit, for any pool size.  Call it from the thread\n"
        " * that drives `pool`. */\n"
        "static inline size_t %s_commit_on(const %s_snap *s, soa_world *w,\n"
        "    soa_pool *pool)\n"
        "{\n", S, S, S);
    if (!cols) {
        soac_out_puts(o,
            "    (void)s;\n    (void)w;\n    (void)pool;\n    return 0;\n}\n\n");
    } else {
        soac_out_printf(o,
            "    soa_%s_commit_args a;\n"
            "    if (!s || !w || !s->rows)\n"
            "        return 0;\n"
            "    a.s = s;\n"
            "    a.w = w;\n", S);
        each_cols(x, commit_init);
        soac_out_printf(o,
            "    return soa_snap_for(pool, s->rows, soa_%s_commit_rows, &a);\n"
            "}\n\n", S);
    }
    soac_out_printf(o,
        "/* Writes every changed row of each written component back to its\n"
        " * entity, only to entities still alive with the component, on this\n"
        " * thread (%s_commit_on with no pool).  When no row of the component\n"
        " * lost its entity since the build (its stamp holds), rows go straight\n"
        " * to where the build found them; otherwise each is looked up\n"
        " * (soa_world_get checks the generation), skipping entities that\n"
        " * died, were recycled or lost the component.  Returns the values\n"
        " * written (a row changed in two components counts twice).\n"
        " * O(rows / 64 + changed rows). */\n"
        "static inline size_t %s_commit(const %s_snap *s, soa_world *w)\n"
        "{\n"
        "    return %s_commit_on(s, w, NULL);\n"
        "}\n\n", S, S, S, S);
}

/* ---- the descriptor ------------------------------------------------- */

static void emit_erased(const sys_ctx *x)
{
    const char *S = x->S;
    soac_out_printf(x->o,
        "/* %s_system's functions, with the snapshot and kernel erased. */\n"
        "static inline int %s_erased_snap_init(void *s, soa_alloc *a)\n"
        "{\n"
        "    return %s_snap_init((%s_snap *)s, a);\n"
        "}\n\n"
        "static inline void %s_erased_snap_release(void *s)\n"
        "{\n"
        "    %s_snap_release((%s_snap *)s);\n"
        "}\n\n"
        "static inline int %s_erased_build(void *s, soa_world *w)\n"
        "{\n"
        "    return %s_build((%s_snap *)s, w);\n"
        "}\n\n", S, S, S, S, S, S, S, S, S, S);
    soac_out_printf(x->o,
        "static inline int %s_erased_run(void *s, soa_pool *p, soa_fn k,\n"
        "    const soa_frame *f, void *ctx)\n"
        "{\n"
        "    return %s_run((%s_snap *)s, p, (%s_kernel)k, f, ctx);\n"
        "}\n\n"
        "static inline size_t %s_erased_commit(const void *s, soa_world *w)\n"
        "{\n"
        "    return %s_commit((const %s_snap *)s, w);\n"
        "}\n\n"
        "static inline void %s_erased_run_range(void *s, soa_fn k,\n"
        "    const soa_frame *f, void *ctx, size_t begin, size_t end)\n"
        "{\n"
        "    %s_run_range((%s_snap *)s, (%s_kernel)k, f, ctx, begin, end);\n"
        "}\n\n", S, S, S, S, S, S, S, S, S, S, S);
    soac_out_printf(x->o,
        "static inline int soa_%s_erased_build_on(void *s, soa_world *w,\n"
        "    soa_pool *p)\n"
        "{\n"
        "    return %s_build_on((%s_snap *)s, w, p);\n"
        "}\n\n"
        "static inline size_t soa_%s_erased_commit_on(const void *s,\n"
        "    soa_world *w, soa_pool *p)\n"
        "{\n"
        "    return %s_commit_on((const %s_snap *)s, w, p);\n"
        "}\n\n", S, S, S, S, S, S);
}

/* `static const soa_component_desc *const S_what[] = {...};` or nothing
 * for an empty list (C has no empty arrays). */
static void emit_desc_list(const sys_ctx *x, const soac_list *l,
                           const char *what)
{
    if (!l->len)
        return;
    soac_out_printf(x->o, "static const soa_component_desc *const %s_%s[] = {",
                    x->S, what);
    for (size_t i = 0; i < l->len; i++)
        soac_out_printf(x->o, "%s&%s_desc", i ? ", " : "",
                        comp_at(l, i)->cname);
    soac_out_puts(x->o, "};\n");
}

static void emit_list_ref(const sys_ctx *x, const soac_list *l,
                          const char *what)
{
    if (l->len)
        soac_out_printf(x->o, "    %s_%s, %zu,\n", x->S, what, l->len);
    else
        soac_out_puts(x->o, "    NULL, 0,\n");
}

static void emit_desc(const sys_ctx *x)
{
    soac_out *o = x->o;
    const soac_system *y = x->sys;
    const char *S = x->S;
    emit_erased(x);
    emit_desc_list(x, &y->r, "reads");
    emit_desc_list(x, &y->w, "writes");
    emit_desc_list(x, &y->wo, "without");
    soac_out_printf(o,
        "\n/* System %s for the scheduler: soa_sched_spec.system. */\n"
        "static const soa_system_desc %s_system = {\n"
        "    \"%s\",\n"
        "    UINT64_C(0x%016llx),\n", y->name, S, S,
        (unsigned long long)y->layout_hash);
    emit_list_ref(x, &y->r, "reads");
    emit_list_ref(x, &y->w, "writes");
    emit_list_ref(x, &y->wo, "without");
    soac_out_printf(o,
        "    sizeof(%s_snap), SOA_ALIGNOF(%s_snap),\n"
        "    %s_erased_snap_init,\n"
        "    %s_erased_snap_release,\n"
        "    %s_erased_build,\n"
        "    %s_erased_run,\n"
        "    %s_erased_commit,\n"
        "    %s_erased_run_range,\n"
        "    soa_%s_erased_build_on,\n"
        "    soa_%s_erased_commit_on\n"
        "};\n\n", S, S, S, S, S, S, S, S, S, S);
}

/* ---- entry ---------------------------------------------------------- */

void soac_emit_system(soac_out *o, const soac_schema *s,
                      const soac_system *sys)
{
    (void)s;
    sys_ctx x = {o, sys, sys->cname ? sys->cname : sys->name};
    soac_out_printf(o, "/* ---- system %s ---- */\n\n", sys->name);
    emit_doc(o, sys->doc);
    emit_snap(&x);
    emit_view(&x);
    emit_storage(&x);
    emit_build(&x);
    emit_run(&x);
    emit_commit(&x);
    emit_desc(&x);
}

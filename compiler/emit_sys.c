/*
 * emit_sys.c: the generated code of one `system` (SPEC "generated header",
 * system table).  The machinery (the query walk, chunking on the pool,
 * build, run, commit, shared memory) is the runtime's, once (soa/system.h);
 * a system gets only its types, a layout table the runtime reads and
 * one-line typed wrappers:
 *
 *   S_snap, S_view        what a kernel reads and writes (SPEC)
 *   S_kernel, S_kernel_fn the kernel's type, and it type-erased
 *   S_call                how the runtime calls an erased kernel
 *   S_layout_cols         per column: its place in the value, S_snap, S_view
 *   S_layout_terms        per term: the component, its use, its columns
 *   S_layout              the system's soa_sys_layout
 *   S_snap_init ... S_snap_attach, S_erased_snap_init   the wrappers
 *   S_reads, S_writes, S_without, S_system, S_shm       the descriptors
 *
 * It reads the system's terms (ast.h: reads, then writes, then without)
 * and their components' columns.  Tags (components without fields) have no
 * columns: in a system they are only query terms.  The output compiles
 * warning-free as C99, C11 and C++17 under -Wall -Wextra -Wpedantic
 * -Wconversion -Wshadow: no designated initialisers, no empty arrays.
 *
 * Templates: $S is the system's C name and $S_build ... its generated
 * names; per term, $C is the component's C name (with $C_desc ...) and
 * $N its schema name (its member in S_snap and S_view).
 */
#include <assert.h>

#include "compile.h"
#include "emit.h"

typedef struct sys_ctx {
    soac_tpl t;
    const soac_system *sys;
} sys_ctx;

static void put(sys_ctx *x, const char *text)
{
    soac_tpl_put(&x->t, text);
}

/* Sets $C and $N for term t. */
static void term_vars(sys_ctx *x, const soac_term *t)
{
    soac_tpl_names(&x->t, "C", t->comp->cname, &soac_component_names);
    soac_tpl_set(&x->t, "N", t->comp->name);
}

static const char *access_name(soac_access use)
{
    switch (use) {
    case SOAC_READ: return "READ";
    case SOAC_WRITE: return "WRITE";
    case SOAC_WITHOUT: return "WITHOUT";
    }
    assert(!"a term's access is read, write or without");
    return "WITHOUT";
}

/* ---- types ---------------------------------------------------------- */

static void emit_snap(sys_ctx *x)
{
    put(x,
        "/* The rows $name works on, gathered by $S_build: eids[row] is each row's entity. */\n"
        "typedef struct $S_snap {\n"
        "    size_t rows, cap;\n"
        "    soa_entity *eids;\n"
        "    soa_snap_core soa; /* private: the runtime's */\n");
    for (size_t k = 0; k < x->sys->nterms; k++) {
        const soac_term *t = &x->sys->terms[k];
        if (t->ncols == 0)
            continue;
        term_vars(x, t);
        put(x, t->access == SOAC_WRITE ? "    $C_cols $N; /* write */\n"
                                       : "    $C_cols $N; /* read */\n");
    }
    put(x, "} $S_snap;\n\n");
}

/* One component's struct of column pointers in S_view.  Every pointer is
 * SOA_RESTRICT: a view's columns and bitsets never overlap, so a kernel's
 * stores to one column need not reload another. */
static void view_member(sys_ctx *x, const soac_term *t)
{
    bool written = t->access == SOAC_WRITE;
    term_vars(x, t);
    put(x, "    struct {\n");
    soac_emit_members(x->t.o, t->comp, written ? "        " : "        const ",
                      "*SOA_RESTRICT ", false);
    if (written)
        put(x, "        uint64_t *SOA_RESTRICT changed;\n");
    put(x, "    } $N;\n");
}

static void emit_view(sys_ctx *x)
{
    put(x,
        "/* What a kernel sees: rows [begin, end), pointers indexing absolute rows, read-only\n"
        " * columns const.  A kernel sets a written component's `changed` bit per row it changes. */\n"
        "typedef struct $S_view {\n"
        "    size_t begin, end;\n"
        "    const soa_entity *eids;\n");
    for (size_t k = 0; k < x->sys->nterms; k++)
        if (x->sys->terms[k].ncols)
            view_member(x, &x->sys->terms[k]);
    put(x, "} $S_view;\n\n");
}

static void emit_kernel(sys_ctx *x)
{
    put(x,
        "typedef void (*$S_kernel)(const $S_view *v, const soa_frame *frame, void *ctx);\n\n"
        "/* The kernel type-erased, for soa_sched_spec.kernel. */\n"
        "static inline soa_fn $S_kernel_fn($S_kernel k)\n"
        "{\n"
        "    return SOA_FN_CAST(soa_fn, k);\n"
        "}\n\n"
        "/* How the runtime calls an erased kernel: with a view it fills. */\n"
        "static inline void $S_call(const soa_view_src *src, soa_fn k,\n"
        "    const soa_frame *frame, void *ctx)\n"
        "{\n"
        "    $S_view v;\n"
        "    soa_view_fill(src, &v, sizeof v);\n"
        "    SOA_FN_CAST($S_kernel, k)(&v, frame, ctx);\n"
        "}\n\n");
}

/* ---- the layout table ----------------------------------------------- */

/* One soa_sys_col: element $e of field $f (of C type $T) of term $N; an
 * array's element k > 0 lies k elements (and k pointers) further. */
static void layout_col(sys_ctx *x, const soac_col *col)
{
    soac_tpl_set(&x->t, "f", col->field->name);
    soac_tpl_set(&x->t, "T", col->ctype);
    soac_tpl_setu(&x->t, "e", col->elem);
    put(x, col->elem == 0
        ? "    {offsetof($C, $f), sizeof($T), offsetof($S_snap, $N.$f), "
          "offsetof($S_view, $N.$f)},\n"
        : "    {offsetof($C, $f) + $e * sizeof($T), sizeof($T), "
          "offsetof($S_snap, $N.$f) + $e * sizeof($T *), "
          "offsetof($S_view, $N.$f) + $e * sizeof($T *)},\n");
}

static void emit_layout_cols(sys_ctx *x)
{
    if (x->sys->ncols == 0)
        return; /* C has no empty arrays: the layout says 0, NULL */
    put(x, "static const soa_sys_col $S_layout_cols[$ncols] = {\n");
    for (size_t k = 0; k < x->sys->nterms; k++) {
        const soac_term *t = &x->sys->terms[k];
        term_vars(x, t);
        for (size_t i = 0; i < t->ncols; i++)
            layout_col(x, &t->comp->cols[i]);
    }
    put(x, "};\n\n");
}

/* One soa_sys_term: a term with columns says where its C_cols keeps
 * `changed` and `cap` (and, written, where S_view has `changed`); a tag
 * or a `without` term is only the component and its use. */
static void layout_term(sys_ctx *x, const soac_term *t)
{
    term_vars(x, t);
    soac_tpl_set(&x->t, "use", access_name(t->access));
    soac_tpl_setu(&x->t, "col0", t->col0);
    soac_tpl_setu(&x->t, "n", t->ncols);
    if (t->ncols == 0)
        put(x, "    {&$C_desc, SOA_ACCESS_$use, 0, 0, 0, 0, 0},\n");
    else if (t->access == SOAC_WRITE)
        put(x, "    {&$C_desc, SOA_ACCESS_$use, $col0, $n, offsetof($S_snap, $N.changed), "
               "offsetof($S_snap, $N.cap), offsetof($S_view, $N.changed)},\n");
    else
        put(x, "    {&$C_desc, SOA_ACCESS_$use, $col0, $n, offsetof($S_snap, $N.changed), "
               "offsetof($S_snap, $N.cap), 0},\n");
}

static void emit_layout(sys_ctx *x)
{
    put(x,
        "/* $S's layout, for the runtime (soa/system.h; fields: soa/desc.h). */\n");
    emit_layout_cols(x);
    if (x->sys->nterms) {
        put(x, "static const soa_sys_term $S_layout_terms[$nterms] = {\n");
        for (size_t k = 0; k < x->sys->nterms; k++)
            layout_term(x, &x->sys->terms[k]);
        put(x, "};\n\n");
    }
    put(x,
        "static const soa_sys_layout $S_layout = {\n"
        "    \"$S\", $S_LAYOUT_HASH,\n");
    put(x, x->sys->nterms ? "    $nterms, $S_layout_terms,\n" : "    0, SOA_NULL,\n");
    put(x, x->sys->ncols ? "    $ncols, $S_layout_cols,\n" : "    0, SOA_NULL,\n");
    put(x,
        "    sizeof($S_snap), SOA_ALIGNOF($S_snap), offsetof($S_snap, soa),\n"
        "    sizeof($S_view), $S_call\n"
        "};\n\n");
}

/* ---- the wrappers --------------------------------------------------- */

static void emit_storage(sys_ctx *x)
{
    put(x,
        "/* The runtime's functions (soa/system.h), typed for $name. */\n"
        "static inline int $S_snap_init($S_snap *s, soa_alloc *alloc)\n"
        "{\n"
        "    return soa_snap_init(s, &$S_layout, alloc);\n"
        "}\n\n"
        "static inline void $S_snap_release($S_snap *s)\n"
        "{\n"
        "    soa_snap_release(s);\n"
        "}\n\n");
}

static void emit_build_run_commit(sys_ctx *x)
{
    put(x,
        "static inline int $S_build($S_snap *s, soa_world *w)\n"
        "{\n"
        "    return soa_snap_build(s, w);\n"
        "}\n\n"
        "static inline int $S_build_on($S_snap *s, soa_world *w, soa_pool *pool)\n"
        "{\n"
        "    return soa_snap_build_on(s, w, pool);\n"
        "}\n\n"
        "static inline int $S_run($S_snap *s, soa_pool *pool, $S_kernel k,\n"
        "    const soa_frame *frame, void *ctx)\n"
        "{\n"
        "    return soa_snap_run(s, pool, SOA_FN_CAST(soa_fn, k), frame, ctx);\n"
        "}\n\n"
        "static inline void $S_run_range($S_snap *s, $S_kernel k,\n"
        "    const soa_frame *frame, void *ctx, size_t begin, size_t end)\n"
        "{\n"
        "    soa_snap_run_range(s, SOA_FN_CAST(soa_fn, k), frame, ctx, begin, end);\n"
        "}\n\n"
        "static inline size_t $S_commit(const $S_snap *s, soa_world *w)\n"
        "{\n"
        "    return soa_snap_commit(s, w);\n"
        "}\n\n"
        "static inline size_t $S_commit_on(const $S_snap *s, soa_world *w,\n"
        "    soa_pool *pool)\n"
        "{\n"
        "    return soa_snap_commit_on(s, w, pool);\n"
        "}\n\n");
}

static void emit_shm(sys_ctx *x)
{
    put(x,
        "static inline int $S_snap_publish(const $S_snap *s, soa_arena *a,\n"
        "    size_t offset)\n"
        "{\n"
        "    return soa_snap_publish(s, a, offset);\n"
        "}\n\n"
        "static inline int $S_snap_attach($S_snap *s, const soa_arena *a,\n"
        "    size_t offset)\n"
        "{\n"
        "    return soa_snap_attach(s, &$S_layout, a, offset);\n"
        "}\n\n");
}

/* ---- the descriptors ------------------------------------------------ */

/* `static const soa_component_desc *const S_reads[] = {...};` (`list` is
 * the template of the name, "$S_reads") for the terms of kind `use`, or
 * nothing when there are none (C has no empty arrays). */
static void emit_desc_list(sys_ctx *x, soac_access use, const char *list)
{
    bool first = true;
    for (size_t k = 0; k < x->sys->nterms; k++) {
        if (x->sys->terms[k].access != use)
            continue;
        term_vars(x, &x->sys->terms[k]);
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

/* The S_system entries for a list of `n` terms: the list (named as in
 * emit_desc_list) and its length, or NULL, 0. */
static void emit_list_ref(sys_ctx *x, size_t n, const char *list)
{
    if (!n) {
        put(x, "    SOA_NULL, 0,\n");
        return;
    }
    soac_tpl_setu(&x->t, "n", n);
    put(x, "    ");
    put(x, list);
    put(x, ", $n,\n");
}

static void emit_system_desc(sys_ctx *x)
{
    const soac_system *s = x->sys;
    put(x,
        "static inline int $S_erased_snap_init(void *s, soa_alloc *alloc)\n"
        "{\n"
        "    return soa_snap_init(s, &$S_layout, alloc);\n"
        "}\n\n");
    emit_desc_list(x, SOAC_READ, "$S_reads");
    emit_desc_list(x, SOAC_WRITE, "$S_writes");
    emit_desc_list(x, SOAC_WITHOUT, "$S_without");
    put(x,
        "\n/* System $name for the scheduler: soa_sched_spec.system. */\n"
        "static const soa_system_desc $S_system = {\n"
        "    \"$S\", $S_LAYOUT_HASH,\n");
    emit_list_ref(x, s->nreads, "$S_reads");
    emit_list_ref(x, s->nwrites, "$S_writes");
    emit_list_ref(x, s->nwithout, "$S_without");
    put(x,
        "    sizeof($S_snap), SOA_ALIGNOF($S_snap),\n"
        "    $S_erased_snap_init, soa_snap_release, soa_snap_build, soa_snap_run,\n"
        "    soa_snap_commit, soa_snap_run_range, soa_snap_build_on, soa_snap_commit_on,\n"
        "    &$S_layout\n"
        "};\n\n"
        "static const soa_shm_system $S_shm = {&$S_system}; /* for soa/worker.h */\n\n");
}

/* ---- entry ---------------------------------------------------------- */

void soac_emit_system(soac_out *o, const soac_system *sys)
{
    sys_ctx x;
    assert(sys->nterms == sys->nreads + sys->nwrites + sys->nwithout);
    assert(sys->nreads + sys->nwrites > 0); /* the checker's rule */
    soac_tpl_system(&x.t, o, sys);
    x.sys = sys;
    soac_tpl_setu(&x.t, "nterms", sys->nterms);
    soac_tpl_setu(&x.t, "ncols", sys->ncols);
    put(&x, "/* ---- system $name ---- */\n\n");
    soac_emit_doc(o, sys->doc, "");
    emit_snap(&x);
    emit_view(&x);
    emit_kernel(&x);
    emit_layout(&x);
    emit_storage(&x);
    emit_build_run_commit(&x);
    emit_shm(&x);
    emit_system_desc(&x);
}

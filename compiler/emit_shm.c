/*
 * emit_shm.c: the generated code that puts a system's snapshot in shared
 * memory and lets a worker process attach to it (runtime: soa/shmsnap.h).
 *
 * For system S:
 *   S_shm_hashes, S_shm_sizes, S_shm_layout   the layout, compiled in
 *   S_snap_publish(const S_snap *, soa_arena *, size_t offset)
 *   S_snap_attach(S_snap *, const soa_arena *, size_t offset)
 *   S_shm                                     a soa_shm_system
 *
 * Column order, shared by publish, attach and the size table: eids, then
 * each term with columns in S_snap order (reads, then writes): its
 * columns (ast.h), then its changed bitset.  So term t's columns are
 * shared columns 1 + t.col0 + (terms with columns before t) and on.
 */

#include "compile.h"
#include "emit.h"
#include "template.h"

typedef struct shm_ctx {
    soac_tpl t;
    const soac_system *sys;
} shm_ctx;

static void put(shm_ctx *x, const char *text)
{
    soac_tpl_put(&x->t, text);
}

typedef void term_fn(shm_ctx *x, const soac_term *t, size_t col);

/* Calls fn for every term with columns, in S_snap order, with $C and $N
 * set and `col` the shared column of its first column. */
static void each_cols(shm_ctx *x, term_fn *fn)
{
    size_t col = 1; /* eids */
    for (size_t k = 0; k < x->sys->nterms; k++) {
        const soac_term *t = &x->sys->terms[k];
        if (t->ncols == 0)
            continue;
        soac_tpl_names(&x->t, "C", t->comp->cname, &soac_component_names);
        soac_tpl_set(&x->t, "N", t->comp->name);
        fn(x, t, col);
        col += t->ncols + 1; /* and changed */
    }
}

static size_t ncomps(const soac_system *s)
{
    size_t n = 0;
    for (size_t k = 0; k < s->nterms; k++)
        n += s->terms[k].ncols != 0;
    return n;
}

/* Per field of term t: `line` for a scalar, `loop` for an array, with $f
 * the field, $n its length and $col its first shared column; then
 * `changed` with $col the bitset's. */
static void each_field(shm_ctx *x, const soac_term *t, size_t col,
                       const char *line, const char *loop,
                       const char *changed)
{
    for (size_t i = 0; i < t->comp->fields.len; i++) {
        const soac_field *f = t->comp->fields.items[i];
        soac_tpl_set(&x->t, "f", f->name);
        soac_tpl_set(&x->t, "T", f->cols[0].ctype);
        soac_tpl_setu(&x->t, "n", f->ncols);
        soac_tpl_setu(&x->t, "col", col);
        put(x, f->type.is_array ? loop : line);
        col += f->ncols;
    }
    soac_tpl_setu(&x->t, "col", col);
    put(x, changed);
}

/* ---- the layout tables ------------------------------------------------ */

static void hash_item(shm_ctx *x, const soac_term *t, size_t col)
{
    (void)t;
    put(x, col == 1 ? "$C_LAYOUT_HASH" : ", $C_LAYOUT_HASH");
}

static void size_items(shm_ctx *x, const soac_term *t, size_t col)
{
    (void)col;
    for (size_t i = 0; i < t->ncols; i++) {
        soac_tpl_set(&x->t, "T", t->comp->cols[i].ctype);
        put(x, ",\n    (uint32_t)sizeof($T)");
    }
    put(x, ",\n    0 /* $N.changed */");
}

static void emit_layout(shm_ctx *x)
{
    /* C has no empty arrays: a system of tags only gets one unused 0. */
    put(x, "static const uint64_t $S_shm_hashes[] = {");
    each_cols(x, hash_item);
    put(x, ncomps(x->sys) ? "};\n" : "0};\n");
    put(x,
        "static const uint32_t $S_shm_sizes[] = {\n"
        "    (uint32_t)sizeof(soa_entity)");
    each_cols(x, size_items);
    put(x,
        "\n};\n"
        "static const soa_shm_layout $S_shm_layout = {\n"
        "    \"$S\", UINT64_C(0x$hash),\n"
        "    $ncomps, $S_shm_hashes,\n"
        "    $ncols, $S_shm_sizes\n"
        "};\n\n");
}

/* ---- publish ---------------------------------------------------------- */

static void publish_cols(shm_ctx *x, const soac_term *t, size_t col)
{
    each_field(x, t, col,
        "    cols[$col] = s->$N.$f;\n",
        "    for (i = 0; i < $n; i++)\n"
        "        cols[$col + i] = s->$N.$f[i];\n",
        "    cols[$col] = s->$N.changed;\n");
}

static void emit_publish(shm_ctx *x)
{
    put(x,
        "/* Describes snapshot `s`, whose columns must come from arena `a`\n"
        " * ($S_snap_init with soa_arena_allocator(a)), in a header at\n"
        " * `offset` in `a` (soa_shm_snap_bytes(&$S_shm_layout) bytes,\n"
        " * 8-byte aligned), for a worker process to attach to.  Publish\n"
        " * again after every build: a build may move the columns.\n"
        " * SOA_SHM_OK, or a negative SOA_SHM_* code with errno set. */\n"
        "static inline int $S_snap_publish(const $S_snap *s, soa_arena *a,\n"
        "    size_t offset)\n"
        "{\n"
        "    const void *cols[$ncols];\n");
    if (soac_system_has_array(x->sys))
        put(x, "    size_t i;\n");
    put(x,
        "    if (!s) {\n"
        "        errno = EINVAL;\n"
        "        return SOA_SHM_EINVAL;\n"
        "    }\n"
        "    cols[0] = s->eids;\n");
    each_cols(x, publish_cols);
    put(x,
        "    return soa_shm_snap_write(a, offset, &$S_shm_layout, cols,\n"
        "        s->rows, s->cap);\n"
        "}\n\n");
}

/* ---- attach ----------------------------------------------------------- */

static void attach_cols(shm_ctx *x, const soac_term *t, size_t col)
{
    each_field(x, t, col,
        "    s->$N.$f = ($T *)soa_arena_ptr(a, off[$col]);\n",
        "    for (i = 0; i < $n; i++)\n"
        "        s->$N.$f[i] = ($T *)soa_arena_ptr(a, off[$col + i]);\n",
        "    s->$N.changed = (uint64_t *)soa_arena_ptr(a, off[$col]);\n"
        "    s->$N.cap = cap;\n");
}

static void emit_attach(shm_ctx *x)
{
    put(x,
        "/* Points `s` at the snapshot whose header $S_snap_publish wrote at\n"
        " * `offset` in `a` (typically in another process).  Refuses, with\n"
        " * `s` untouched, a header from another format version or another\n"
        " * schema (any layout hash differs) and any offset or size that\n"
        " * reaches outside `a`.  The result can be run ($S_run) but not\n"
        " * built or released: its memory belongs to the arena.\n"
        " * SOA_SHM_OK, or a negative SOA_SHM_* code with errno set. */\n"
        "static inline int $S_snap_attach($S_snap *s, const soa_arena *a,\n"
        "    size_t offset)\n"
        "{\n"
        "    size_t off[$ncols], rows, cap;\n");
    if (soac_system_has_array(x->sys))
        put(x, "    size_t i;\n");
    put(x,
        "    int rc;\n"
        "    if (!s) {\n"
        "        errno = EINVAL;\n"
        "        return SOA_SHM_EINVAL;\n"
        "    }\n"
        "    rc = soa_shm_snap_read(a, offset, &$S_shm_layout, off, &rows, &cap);\n"
        "    if (rc != SOA_SHM_OK)\n"
        "        return rc;\n"
        "    memset(s, 0, sizeof *s);\n"
        "    s->rows = rows;\n"
        "    s->cap = cap;\n"
        "    s->eids = (soa_entity *)soa_arena_ptr(a, off[0]);\n");
    each_cols(x, attach_cols);
    put(x, "    return SOA_SHM_OK;\n}\n\n");
}

/* ---- the descriptor --------------------------------------------------- */

static void emit_desc(shm_ctx *x)
{
    put(x,
        "static inline int $S_erased_snap_publish(const void *s, soa_arena *a,\n"
        "    size_t offset)\n"
        "{\n"
        "    return $S_snap_publish((const $S_snap *)s, a, offset);\n"
        "}\n\n"
        "static inline int $S_erased_snap_attach(void *s, const soa_arena *a,\n"
        "    size_t offset)\n"
        "{\n"
        "    return $S_snap_attach(($S_snap *)s, a, offset);\n"
        "}\n\n"
        "/* System $S for a worker process (soa/worker.h). */\n"
        "static const soa_shm_system $S_shm = {\n"
        "    &$S_system,\n"
        "    &$S_shm_layout,\n"
        "    $S_erased_snap_publish,\n"
        "    $S_erased_snap_attach\n"
        "};\n\n");
}

void soac_emit_shm(soac_out *o, const soac_system *sys)
{
    shm_ctx x;
    soac_tpl_system(&x.t, o, sys);
    x.sys = sys;
    soac_tpl_setu(&x.t, "ncomps", ncomps(sys));
    /* eids, every column, a changed bitset per term with columns */
    soac_tpl_setu(&x.t, "ncols", 1 + sys->ncols + ncomps(sys));
    put(&x, "/* ---- system $name in shared memory ---- */\n\n");
    emit_layout(&x);
    emit_publish(&x);
    emit_attach(&x);
    emit_desc(&x);
}

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
 * each component with columns in S_snap order (reads, then writes): its
 * fields in schema order (an array field element by element), then its
 * changed bitset.
 */
#include <string.h>

#include "emit.h"

typedef struct shm_ctx {
    soac_out *o;
    const soac_system *sys;
    const char *S;
} shm_ctx;

static const soac_component *comp_at(const soac_list *l, size_t i)
{
    return (const soac_component *)l->items[i];
}

static const soac_field *field_at(const soac_component *c, size_t i)
{
    return (const soac_field *)c->fields.items[i];
}

static const char *field_ctype(const soac_field *f)
{
    return f->type.enm ? f->type.enm->cname : soac_scalar_ctype(f->type.scalar);
}

static size_t field_cols(const soac_field *f)
{
    return f->type.is_array ? (size_t)f->type.array_len : 1;
}

/* Calls fn for every component with columns, in S_snap order. */
typedef void (*comp_fn)(const shm_ctx *x, const soac_component *c,
                        size_t *col);

static void each_cols(const shm_ctx *x, comp_fn fn, size_t *col)
{
    const soac_list *lists[2] = {&x->sys->r, &x->sys->w};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < lists[k]->len; i++)
            if (comp_at(lists[k], i)->fields.len)
                fn(x, comp_at(lists[k], i), col);
}

static void count_comp(const shm_ctx *x, const soac_component *c, size_t *n)
{
    (void)x;
    (void)c;
    (*n)++;
}

static void count_cols(const shm_ctx *x, const soac_component *c, size_t *n)
{
    (void)x;
    for (size_t i = 0; i < c->fields.len; i++)
        *n += field_cols(field_at(c, i));
    (*n)++; /* changed */
}

static bool has_array(const shm_ctx *x)
{
    const soac_list *lists[2] = {&x->sys->r, &x->sys->w};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < lists[k]->len; i++)
            for (size_t f = 0; f < comp_at(lists[k], i)->fields.len; f++)
                if (field_at(comp_at(lists[k], i), f)->type.is_array)
                    return true;
    return false;
}

/* ---- the layout tables ------------------------------------------------ */

static void hash_item(const shm_ctx *x, const soac_component *c, size_t *n)
{
    soac_out_printf(x->o, "%s%s_LAYOUT_HASH", *n ? ", " : "", c->cname);
    (*n)++;
}

static void size_items(const shm_ctx *x, const soac_component *c, size_t *n)
{
    (void)n;
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = field_at(c, i);
        for (size_t k = 0; k < field_cols(f); k++)
            soac_out_printf(x->o, ",\n    (uint32_t)sizeof(%s)", field_ctype(f));
    }
    soac_out_printf(x->o, ",\n    0 /* %s.changed */", c->name);
}

static void emit_layout(const shm_ctx *x, size_t ncomps, size_t ncols)
{
    soac_out *o = x->o;
    size_t n = 0;
    /* C has no empty arrays: a system of tags only gets one unused 0. */
    soac_out_printf(o, "static const uint64_t %s_shm_hashes[] = {", x->S);
    each_cols(x, hash_item, &n);
    soac_out_printf(o, "%s};\n", ncomps ? "" : "0");
    soac_out_printf(o, "static const uint32_t %s_shm_sizes[] = {\n"
                       "    (uint32_t)sizeof(soa_entity)", x->S);
    each_cols(x, size_items, &n);
    soac_out_printf(o, "\n};\n"
        "static const soa_shm_layout %s_shm_layout = {\n"
        "    \"%s\", UINT64_C(0x%016llx),\n"
        "    %zu, %s_shm_hashes,\n"
        "    %zu, %s_shm_sizes\n"
        "};\n\n", x->S, x->S, (unsigned long long)x->sys->layout_hash,
        ncomps, x->S, ncols, x->S);
}

/* ---- publish ---------------------------------------------------------- */

static void publish_cols(const shm_ctx *x, const soac_component *c,
                         size_t *col)
{
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = field_at(c, i);
        if (f->type.is_array) {
            soac_out_printf(x->o,
                "    for (i = 0; i < %zu; i++)\n"
                "        cols[%zu + i] = s->%s.%s[i];\n",
                field_cols(f), *col, c->name, f->name);
        } else {
            soac_out_printf(x->o, "    cols[%zu] = s->%s.%s;\n", *col,
                            c->name, f->name);
        }
        *col += field_cols(f);
    }
    soac_out_printf(x->o, "    cols[%zu] = s->%s.changed;\n", *col, c->name);
    (*col)++;
}

static void emit_publish(const shm_ctx *x, size_t ncols)
{
    soac_out *o = x->o;
    size_t col = 1;
    soac_out_printf(o,
        "/* Describes snapshot `s`, whose columns must come from arena `a`\n"
        " * (%s_snap_init with soa_arena_allocator(a)), in a header at\n"
        " * `offset` in `a` (soa_shm_snap_bytes(&%s_shm_layout) bytes,\n"
        " * 8-byte aligned), for a worker process to attach to.  Publish\n"
        " * again after every build: a build may move the columns.\n"
        " * SOA_SHM_OK, or a negative SOA_SHM_* code with errno set. */\n"
        "static inline int %s_snap_publish(const %s_snap *s, soa_arena *a,\n"
        "    size_t offset)\n"
        "{\n"
        "    const void *cols[%zu];\n", x->S, x->S, x->S, x->S, ncols);
    if (has_array(x))
        soac_out_puts(o, "    size_t i;\n");
    soac_out_puts(o,
        "    if (!s) {\n"
        "        errno = EINVAL;\n"
        "        return SOA_SHM_EINVAL;\n"
        "    }\n"
        "    cols[0] = s->eids;\n");
    each_cols(x, publish_cols, &col);
    soac_out_printf(o,
        "    return soa_shm_snap_write(a, offset, &%s_shm_layout, cols,\n"
        "        s->rows, s->cap);\n"
        "}\n\n", x->S);
}

/* ---- attach ----------------------------------------------------------- */

static void attach_cols(const shm_ctx *x, const soac_component *c,
                        size_t *col)
{
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = field_at(c, i);
        const char *t = field_ctype(f);
        if (f->type.is_array) {
            soac_out_printf(x->o,
                "    for (i = 0; i < %zu; i++)\n"
                "        s->%s.%s[i] = (%s *)soa_arena_ptr(a, off[%zu + i]);\n",
                field_cols(f), c->name, f->name, t, *col);
        } else {
            soac_out_printf(x->o,
                "    s->%s.%s = (%s *)soa_arena_ptr(a, off[%zu]);\n",
                c->name, f->name, t, *col);
        }
        *col += field_cols(f);
    }
    soac_out_printf(x->o,
        "    s->%s.changed = (uint64_t *)soa_arena_ptr(a, off[%zu]);\n"
        "    s->%s.cap = cap;\n", c->name, *col, c->name);
    (*col)++;
}

static void emit_attach(const shm_ctx *x, size_t ncols)
{
    soac_out *o = x->o;
    size_t col = 1;
    soac_out_printf(o,
        "/* Points `s` at the snapshot whose header %s_snap_publish wrote at\n"
        " * `offset` in `a` (typically in another process).  Refuses, with\n"
        " * `s` untouched, a header from another format version or another\n"
        " * schema (any layout hash differs) and any offset or size that\n"
        " * reaches outside `a`.  The result can be run (%s_run) but not\n"
        " * built or released: its memory belongs to the arena.\n"
        " * SOA_SHM_OK, or a negative SOA_SHM_* code with errno set. */\n"
        "static inline int %s_snap_attach(%s_snap *s, const soa_arena *a,\n"
        "    size_t offset)\n"
        "{\n"
        "    size_t off[%zu], rows, cap;\n", x->S, x->S, x->S, x->S, ncols);
    if (has_array(x))
        soac_out_puts(o, "    size_t i;\n");
    soac_out_printf(o,
        "    int rc;\n"
        "    if (!s) {\n"
        "        errno = EINVAL;\n"
        "        return SOA_SHM_EINVAL;\n"
        "    }\n"
        "    rc = soa_shm_snap_read(a, offset, &%s_shm_layout, off, &rows, &cap);\n"
        "    if (rc != SOA_SHM_OK)\n"
        "        return rc;\n"
        "    memset(s, 0, sizeof *s);\n"
        "    s->rows = rows;\n"
        "    s->cap = cap;\n"
        "    s->eids = (soa_entity *)soa_arena_ptr(a, off[0]);\n", x->S);
    each_cols(x, attach_cols, &col);
    soac_out_puts(o, "    return SOA_SHM_OK;\n}\n\n");
}

/* ---- the descriptor --------------------------------------------------- */

static void emit_desc(const shm_ctx *x)
{
    const char *S = x->S;
    soac_out_printf(x->o,
        "static inline int %s_erased_snap_publish(const void *s, soa_arena *a,\n"
        "    size_t offset)\n"
        "{\n"
        "    return %s_snap_publish((const %s_snap *)s, a, offset);\n"
        "}\n\n"
        "static inline int %s_erased_snap_attach(void *s, const soa_arena *a,\n"
        "    size_t offset)\n"
        "{\n"
        "    return %s_snap_attach((%s_snap *)s, a, offset);\n"
        "}\n\n"
        "/* System %s for a worker process (soa/worker.h). */\n"
        "static const soa_shm_system %s_shm = {\n"
        "    &%s_system,\n"
        "    &%s_shm_layout,\n"
        "    %s_erased_snap_publish,\n"
        "    %s_erased_snap_attach\n"
        "};\n\n", S, S, S, S, S, S, S, S, S, S, S, S);
}

void soac_emit_shm(soac_out *o, const soac_schema *s, const soac_system *sys)
{
    (void)s;
    shm_ctx x = {o, sys, sys->cname ? sys->cname : sys->name};
    size_t ncomps = 0, ncols = 1;
    each_cols(&x, count_comp, &ncomps);
    each_cols(&x, count_cols, &ncols);
    soac_out_printf(o, "/* ---- system %s in shared memory ---- */\n\n",
                    sys->name);
    emit_layout(&x, ncomps, ncols);
    emit_publish(&x, ncols);
    emit_attach(&x, ncols);
    emit_desc(&x);
}

/*
 * emit_c.c: the generated header (see SPEC "The generated header").
 *
 * Order: banner, include guard, runtime include and ABI check, extern "C",
 * then enums, then per component its value struct, layout hash, defaults,
 * reflection, columns and column functions, then the systems.  Each enum
 * and component block is guarded by its own macro, so two headers that
 * include the same common schema can meet in one translation unit.
 *
 * Tags (components without fields) get their layout hash, a descriptor
 * (size 0, defaults NULL) and a column struct holding only the changed
 * bitset, with init/release and the bitset functions; they have no value
 * struct (an empty struct is not valid C), no C_default and no row copies.
 */
#include <float.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "emit.h"

/* A doc comment as a C comment: no "*" "/" or "/" "*" (which would end or
 * nest it), no "??" (trigraphs), no control characters. */
static void emit_doc(soac_out *o, const char *doc, const char *indent)
{
    if (!doc)
        return;
    soac_out_printf(o, "%s/*", indent);
    for (const char *p = doc;;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        soac_out_puts(o, n ? " " : "");
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)p[i];
            char next = i + 1 < n ? p[i + 1] : '\0';
            if (c < 0x20 || c == 0x7f)
                c = ' ';
            soac_out_write(o, (const char *)&c, 1);
            if ((c == '*' && next == '/') || (c == '/' && next == '*') ||
                (c == '?' && next == '?'))
                soac_out_puts(o, " ");
        }
        if (!nl)
            break;
        soac_out_printf(o, "\n%s *", indent);
        p = nl + 1;
    }
    soac_out_puts(o, " */\n");
}

/* ---- literals ------------------------------------------------------ */

/* The shortest decimal that reads back as the same float/double. */
static void emit_float(soac_out *o, double x, bool f32)
{
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (f32 ? strtof(buf, NULL) == (float)x : strtod(buf, NULL) == x)
            break;
    }
    if (!strpbrk(buf, ".en"))
        strcat(buf, ".0");
    soac_out_printf(o, "%s%s", buf, f32 ? "f" : "");
}

static void emit_int(soac_out *o, soac_scalar t, bool negative, uint64_t mag)
{
    if (negative && mag != 0) {
        if (mag == (uint64_t)1 << 63)
            soac_out_puts(o, "(-9223372036854775807LL - 1)");
        else if (mag <= 2147483647u)
            soac_out_printf(o, "-%" PRIu64, mag);
        else
            soac_out_printf(o, "-%" PRIu64 "LL", mag);
    } else if (soac_scalar_is_signed(t)) {
        soac_out_printf(o, "%" PRIu64 "%s", mag, mag > 2147483647u ? "LL" : "");
    } else {
        soac_out_printf(o, "%" PRIu64 "%s", mag, mag > 4294967295u ? "ULL" : "u");
    }
}

static void emit_enum_ref(soac_out *o, const soac_enum *e, const char *name)
{
    const soac_enum_item *it = soac_enum_find(e, name);
    soac_out_puts(o, it ? it->cname : "0");
}

/* One element's default (zero when absent). */
static void emit_scalar_value(soac_out *o, const soac_type *t,
                              const soac_value *v)
{
    if (t->enm) {
        if (v)
            emit_enum_ref(o, t->enm, v->name);
        else
            soac_out_printf(o, "(%s)0", t->enm->cname);
        return;
    }
    switch (t->scalar) {
    case SOAC_BOOL:
        soac_out_puts(o, v && v->bval ? "true" : "false");
        return;
    case SOAC_F32:
    case SOAC_F64: {
        double x = !v ? 0.0 : v->kind == SOAC_VAL_FLOAT ? v->fval
                 : v->negative ? -(double)v->magnitude : (double)v->magnitude;
        emit_float(o, x, t->scalar == SOAC_F32);
        return;
    }
    default:
        emit_int(o, t->scalar, v && v->negative, v ? v->magnitude : 0);
        return;
    }
}

static void emit_field_value(soac_out *o, const soac_field *f)
{
    if (!f->type.is_array) {
        emit_scalar_value(o, &f->type, f->def);
        return;
    }
    soac_out_puts(o, "{");
    for (uint64_t i = 0; i < f->type.array_len; i++) {
        soac_out_puts(o, i ? ", " : "");
        emit_scalar_value(o, &f->type, f->def ? f->def->elems.items[i] : NULL);
    }
    soac_out_puts(o, "}");
}

/* The C element type of a field. */
static const char *ctype(const soac_field *f)
{
    return f->type.enm ? f->type.enm->cname : soac_scalar_ctype(f->type.scalar);
}

/* ---- enums --------------------------------------------------------- */

static void emit_enum(soac_out *o, const soac_enum *e)
{
    const char *n = e->cname;
    soac_out_printf(o, "/* ---- enum %s : %s ---- */\n", e->name,
                    soac_scalar_name(e->base.scalar));
    soac_out_printf(o, "#ifndef SOA_GEN_ENUM_%s\n#define SOA_GEN_ENUM_%s\n\n", n, n);
    emit_doc(o, e->doc, "");
    soac_out_printf(o, "typedef %s %s;\n", soac_scalar_ctype(e->base.scalar), n);
    for (size_t i = 0; i < e->items.len; i++) {
        const soac_enum_item *it = e->items.items[i];
        emit_doc(o, it->doc, "");
        soac_out_printf(o, "#define %s ((%s)", it->cname, n);
        if (soac_scalar_is_signed(e->base.scalar))
            emit_int(o, e->base.scalar, it->ival < 0,
                     it->ival < 0 ? 0 - (uint64_t)it->ival : (uint64_t)it->ival);
        else
            emit_int(o, e->base.scalar, false, (uint64_t)it->ival);
        soac_out_puts(o, ")\n");
    }
    soac_out_printf(o, "\n/* The value's name in the schema, or \"?\" for a number that is not one\n"
                       " * of %s's values. */\n", e->name);
    soac_out_printf(o, "static inline const char *%s_str(%s v)\n{\n    switch (v) {\n", n, n);
    for (size_t i = 0; i < e->items.len; i++) {
        const soac_enum_item *it = e->items.items[i];
        soac_out_printf(o, "    case %s: return \"%s\";\n", it->cname, it->name);
    }
    soac_out_puts(o, "    default: return \"?\";\n    }\n}\n\n");
    soac_out_printf(o, "#endif /* SOA_GEN_ENUM_%s */\n\n", n);
}

/* ---- components ---------------------------------------------------- */

static void emit_value_struct(soac_out *o, const soac_component *c)
{
    const char *n = c->cname;
    emit_doc(o, c->doc, "");
    soac_out_printf(o, "typedef struct %s {\n", n);
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = c->fields.items[i];
        emit_doc(o, f->doc, "    ");
        if (f->type.is_array)
            soac_out_printf(o, "    %s %s[%" PRIu64 "];\n", ctype(f), f->name,
                            f->type.array_len);
        else
            soac_out_printf(o, "    %s %s;\n", ctype(f), f->name);
    }
    soac_out_printf(o, "} %s;\n\n", n);

    soac_out_printf(o, "/* The schema's defaults (what C_default() returns). */\n"
                       "static const %s %s_default_value = {", n, n);
    for (size_t i = 0; i < c->fields.len; i++) {
        soac_out_puts(o, i ? ", " : "");
        emit_field_value(o, c->fields.items[i]);
    }
    soac_out_puts(o, "};\n\n");
    soac_out_printf(o, "static inline %s %s_default(void)\n{\n    return %s_default_value;\n}\n\n",
                    n, n, n);
}

static void emit_desc(soac_out *o, const soac_component *c)
{
    const char *n = c->cname;
    bool tag = soac_is_tag(c);
    if (!tag) {
        soac_out_printf(o, "static const soa_field_desc %s_desc_fields[%zu] = {\n",
                        n, c->fields.len);
        for (size_t i = 0; i < c->fields.len; i++) {
            const soac_field *f = c->fields.items[i];
            soac_out_printf(o, "    {\"%s\", %s, ", f->name, soac_scalar_enum(f->type.scalar));
            if (f->type.enm)
                soac_out_printf(o, "\"%s\", ", f->type.enm->cname);
            else
                soac_out_puts(o, "NULL, ");
            soac_out_printf(o, "%" PRIu64 "u, offsetof(%s, %s)},\n",
                            f->type.is_array ? f->type.array_len : 1, n, f->name);
        }
        soac_out_puts(o, "};\n\n");
    }
    soac_out_printf(o, "/* Reflection: what soa_world_register takes. */\n"
                       "static const soa_component_desc %s_desc = {\n"
                       "    \"%s\", %s_LAYOUT_HASH,\n", n, n, n);
    if (tag)
        soac_out_puts(o, "    0, 1, NULL,\n    0, NULL\n};\n\n");
    else
        soac_out_printf(o, "    sizeof(%s), SOA_ALIGNOF(%s), &%s_default_value,\n"
                           "    %zu, %s_desc_fields\n};\n\n",
                        n, n, n, c->fields.len, n);
}

static void emit_cols_struct(soac_out *o, const soac_component *c)
{
    const char *n = c->cname;
    soac_out_printf(o, "/* %s as columns: element [row] of each column is one row's field. */\n"
                       "typedef struct %s_cols {\n", c->name, n);
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = c->fields.items[i];
        if (f->type.is_array)
            soac_out_printf(o, "    %s *%s[%" PRIu64 "];\n", ctype(f), f->name,
                            f->type.array_len);
        else
            soac_out_printf(o, "    %s *%s;\n", ctype(f), f->name);
    }
    soac_out_puts(o, "    uint64_t *changed; /* bit row of word row/64 */\n"
                     "    size_t cap;        /* rows every column holds */\n");
    soac_out_printf(o, "} %s_cols;\n\n", n);
}

/* Calls `line(o, f, col, idx)` once per column of the component. */
typedef void column_fn(soac_out *o, const soac_field *f, const char *col,
                       const char *idx, const char *ctx);

static void each_column(soac_out *o, const soac_component *c, column_fn *fn,
                        const char *ctx)
{
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = c->fields.items[i];
        if (!f->type.is_array) {
            fn(o, f, f->name, "", ctx);
            continue;
        }
        for (uint64_t k = 0; k < f->type.array_len; k++) {
            char idx[32];
            soac_out col = { NULL, 0, 0 };
            snprintf(idx, sizeof idx, "[%" PRIu64 "]", k);
            soac_out_printf(&col, "%s%s", f->name, idx);
            fn(o, f, col.data, idx, ctx);
            soac_out_free(&col);
        }
    }
}

static void col_release(soac_out *o, const soac_field *f, const char *col,
                        const char *idx, const char *ctx)
{
    (void)idx; (void)ctx;
    soac_out_printf(o, "    a->free(a, c->%s, c->cap * sizeof(%s));\n", col, ctype(f));
}

static void col_init(soac_out *o, const soac_field *f, const char *col,
                     const char *idx, const char *ctx)
{
    (void)idx; (void)ctx;
    soac_out_printf(o, "    c->%s = (%s *)a->alloc(a, cap * sizeof(%s), SOA_ALIGN);\n"
                       "    if (!c->%s && cap)\n        goto fail;\n",
                    col, ctype(f), ctype(f), col);
}

static void col_store(soac_out *o, const soac_field *f, const char *col,
                      const char *idx, const char *ctx)
{
    (void)f; (void)idx;
    soac_out_printf(o, "    c->%s[row] = %s->%s;\n", col, ctx, col);
}

static void col_load(soac_out *o, const soac_field *f, const char *col,
                     const char *idx, const char *ctx)
{
    (void)f; (void)idx; (void)ctx;
    soac_out_printf(o, "    v.%s = c->%s[row];\n", col, col);
}

static void col_gather(soac_out *o, const soac_field *f, const char *col,
                       const char *idx, const char *ctx)
{
    (void)f; (void)idx; (void)ctx;
    soac_out_printf(o, "    for (i = 0; i < n; i++)\n        c->%s[row0 + i] = src[i].%s;\n",
                    col, col);
}

static void col_scatter(soac_out *o, const soac_field *f, const char *col,
                        const char *idx, const char *ctx)
{
    (void)f; (void)idx; (void)ctx;
    soac_out_printf(o, "    for (i = 0; i < n; i++)\n        dst[i].%s = c->%s[row0 + i];\n",
                    col, col);
}

static size_t widest_element(const soac_component *c)
{
    size_t w = 8; /* the changed bitset's words */
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = c->fields.items[i];
        size_t s = soac_scalar_size(f->type.scalar);
        if (s > w)
            w = s;
    }
    return w;
}

static void emit_cols_alloc(soac_out *o, const soac_component *c)
{
    const char *n = c->cname;
    soac_out_printf(o,
        "/* Frees every column of `c` (allocated from `alloc`, NULL: the heap) and\n"
        " * zeroes it.  A zeroed or partly initialised c is fine. */\n"
        "static inline void %s_cols_release(%s_cols *c, soa_alloc *alloc)\n{\n"
        "    soa_alloc *a = soa_alloc_or_heap(alloc);\n", n, n);
    each_column(o, c, col_release, NULL);
    soac_out_printf(o,
        "    a->free(a, c->changed, soa_bitset_words(c->cap) * sizeof(uint64_t));\n"
        "    memset(c, 0, sizeof *c);\n}\n\n");
    soac_out_printf(o,
        "/* Allocates every column for `cap` rows, each 64-byte aligned, from `alloc`\n"
        " * (NULL: the heap), and a cleared changed bitset.  0, or -1 with errno\n"
        " * (EOVERFLOW: cap too large; or the allocator's, ENOMEM) and nothing left\n"
        " * allocated.  Release with %s_cols_release and the same allocator. */\n"
        "static inline int %s_cols_init(%s_cols *c, size_t cap, soa_alloc *alloc)\n{\n"
        "    soa_alloc *a = soa_alloc_or_heap(alloc);\n"
        "    size_t bytes = 0;\n"
        "    int e;\n"
        "    memset(c, 0, sizeof *c);\n"
        "    /* the widest column bounds every size computed below */\n"
        "    if (!soa_mul_ok(cap, %zu, &bytes)) {\n"
        "        errno = EOVERFLOW;\n"
        "        return -1;\n"
        "    }\n"
        "    c->cap = cap;\n", n, n, n, widest_element(c));
    each_column(o, c, col_init, NULL);
    soac_out_printf(o,
        "    c->changed = (uint64_t *)a->alloc(a, soa_bitset_words(cap) * sizeof(uint64_t), SOA_ALIGN);\n"
        "    if (!c->changed && cap)\n        goto fail;\n"
        "    if (cap)\n        soa_bitset_clear_all(c->changed, cap);\n"
        "    return 0;\n"
        "fail:\n"
        "    e = errno ? errno : ENOMEM;\n"
        "    %s_cols_release(c, alloc);\n"
        "    errno = e;\n"
        "    return -1;\n}\n\n", n);
}

static void emit_rows(soac_out *o, const soac_component *c)
{
    const char *n = c->cname;
    soac_out_printf(o, "/* Copies one value into row `row` (< c->cap) of the columns. */\n"
                       "static inline void %s_cols_store(%s_cols *c, size_t row, const %s *v)\n{\n",
                    n, n, n);
    each_column(o, c, col_store, "v");
    soac_out_printf(o, "}\n\n/* Row `row` (< c->cap) of the columns as a value. */\n"
                       "static inline %s %s_cols_load(const %s_cols *c, size_t row)\n{\n"
                       "    %s v;\n    memset(&v, 0, sizeof v);\n", n, n, n, n);
    each_column(o, c, col_load, NULL);
    soac_out_printf(o, "    return v;\n}\n\n"
                       "/* Copies n values from src into rows [row0, row0 + n) (<= c->cap). */\n"
                       "static inline void %s_cols_gather(%s_cols *c, size_t row0, const %s *src, size_t n)\n{\n"
                       "    size_t i;\n", n, n, n);
    each_column(o, c, col_gather, NULL);
    soac_out_printf(o, "}\n\n"
                       "/* Copies rows [row0, row0 + n) (<= c->cap) into dst[0 .. n). */\n"
                       "static inline void %s_cols_scatter(const %s_cols *c, size_t row0, %s *dst, size_t n)\n{\n"
                       "    size_t i;\n", n, n, n);
    each_column(o, c, col_scatter, NULL);
    soac_out_puts(o, "}\n\n");
}

static void emit_changed(soac_out *o, const soac_component *c)
{
    const char *n = c->cname;
    soac_out_printf(o,
        "/* Marks row `row` (< c->cap) changed.  A plain write: threads may mark\n"
        " * rows at the same time only in different 64-row blocks. */\n"
        "static inline void %s_mark_changed(%s_cols *c, size_t row)\n{\n"
        "    soa_bitset_set(c->changed, row);\n}\n\n"
        "static inline bool %s_is_changed(const %s_cols *c, size_t row)\n{\n"
        "    return soa_bitset_test(c->changed, row);\n}\n\n"
        "/* Clears the changed bits of rows [0, rows) (rows <= c->cap). */\n"
        "static inline void %s_clear_changed(%s_cols *c, size_t rows)\n{\n"
        "    soa_bitset_clear_all(c->changed, rows);\n}\n\n"
        "/* How many of rows [0, rows) (rows <= c->cap) are marked changed. */\n"
        "static inline size_t %s_count_changed(const %s_cols *c, size_t rows)\n{\n"
        "    return soa_bitset_count(c->changed, rows);\n}\n\n",
        n, n, n, n, n, n, n, n);
    if (soac_is_tag(c))
        return;
    soac_out_printf(o,
        "/* Calls apply(ctx, row, &value) for each changed row below `rows`\n"
        " * (<= c->cap), in ascending order; returns how many.  How an ECS takes\n"
        " * changes back: row i of a snapshot is the entity it was gathered from. */\n"
        "static inline size_t %s_commit_changed(const %s_cols *c, size_t rows,\n"
        "    void (*apply)(void *ctx, size_t row, const %s *v), void *ctx)\n{\n"
        "    size_t n = 0, row;\n"
        "    for (row = soa_bitset_next(c->changed, rows, 0); row < rows;\n"
        "         row = soa_bitset_next(c->changed, rows, row + 1)) {\n"
        "        %s v = %s_cols_load(c, row);\n"
        "        apply(ctx, row, &v);\n"
        "        n++;\n"
        "    }\n"
        "    return n;\n}\n\n", n, n, n, n, n);
}

static void emit_component(soac_out *o, const soac_component *c)
{
    const char *n = c->cname;
    soac_out_printf(o, "/* ---- component %s%s ---- */\n", c->name,
                    soac_is_tag(c) ? " (tag)" : "");
    soac_out_printf(o, "#ifndef %s_LAYOUT_HASH\n#define %s_LAYOUT_HASH 0x%016" PRIx64 "ULL\n\n",
                    n, n, c->layout_hash);
    if (soac_is_tag(c))
        emit_doc(o, c->doc, "");
    else
        emit_value_struct(o, c);
    emit_desc(o, c);
    emit_cols_struct(o, c);
    emit_cols_alloc(o, c);
    if (!soac_is_tag(c))
        emit_rows(o, c);
    emit_changed(o, c);
    soac_out_printf(o, "#elif %s_LAYOUT_HASH != 0x%016" PRIx64 "ULL\n"
                       "#error \"two generated headers disagree on the layout of %s: regenerate them from one schema\"\n"
                       "#endif /* %s_LAYOUT_HASH */\n\n", n, c->layout_hash, n, n);
}

/* ---- the header ---------------------------------------------------- */

static const char prologue[] =
    "#include <soa/soa.h>\n\n"
    "#if !defined(SOA_ABI_VERSION) || SOA_ABI_VERSION != 1\n"
    "#error \"this header was generated by soac for libsoa ABI 1: regenerate it with the soac of the libsoa you build with\"\n"
    "#endif\n\n"
    "#include <errno.h>\n"
    "#include <stdbool.h>\n"
    "#include <stddef.h>\n"
    "#include <stdint.h>\n"
    "#include <string.h>\n\n"
    "#ifdef __cplusplus\n"
    "extern \"C\" {\n"
    "#endif\n\n";

void soac_emit_header(soac_out *o, const soac_schema *s, const char *guard,
                      const char *source_name)
{
    soac_out_printf(o, "/* Generated by soac %s from %s. Do not edit. */\n",
                    SOAC_VERSION, source_name);
    soac_out_printf(o, "#ifndef %s\n#define %s\n\n", guard, guard);
    soac_out_puts(o, prologue);
    for (size_t i = 0; i < s->enums.len; i++)
        emit_enum(o, s->enums.items[i]);
    for (size_t i = 0; i < s->components.len; i++)
        emit_component(o, s->components.items[i]);

    /* Systems: emit_sys.c and emit_shm.c.  Each is guarded like a
     * component, so two headers that include one schema with a system can
     * meet in a translation unit. */
    for (size_t i = 0; i < s->systems.len; i++) {
        const soac_system *sys = s->systems.items[i];
        soac_out_printf(o, "#ifndef %s_LAYOUT_HASH\n#define %s_LAYOUT_HASH 0x%016" PRIx64 "ULL\n\n",
                        sys->cname, sys->cname, sys->layout_hash);
        soac_emit_system(o, s, sys);
        soac_emit_shm(o, s, sys);
        soac_out_printf(o, "#elif %s_LAYOUT_HASH != 0x%016" PRIx64 "ULL\n"
                           "#error \"two generated headers disagree on system %s: regenerate them from one schema\"\n"
                           "#endif /* %s_LAYOUT_HASH */\n\n",
                        sys->cname, sys->layout_hash, sys->cname, sys->cname);
    }

    soac_out_printf(o, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s */\n", guard);
}

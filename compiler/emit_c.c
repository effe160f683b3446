/*
 * emit_c.c: the generated header (see SPEC "The generated header").
 *
 * Order: banner, include guard, runtime include and ABI check, extern "C",
 * then enums, then per component its value struct, layout hash, defaults,
 * reflection, columns and column functions and its typed accessors of the
 * world (C_get ... C_reset_changed, over soa/world.h), then the systems
 * (emit_sys.c).
 * Each enum, component and system block is guarded by its own macro, so
 * two headers that include the same common schema can meet in one
 * translation unit; when the second one's block differs from the first's
 * (a component's layout or defaults, an enum's values), it stops the
 * compilation, naming both schemas, instead of being skipped.  The header's
 * own guard ends in a hash of its contents, so headers of one file name
 * from different schemas are both read.
 *
 * Tags (components without fields) get their layout hash, a descriptor
 * (size 0, defaults NULL) and a column struct holding only the changed
 * bitset, with init/release and the bitset functions; they have no value
 * struct (an empty struct is not valid C), no C_default, no row copies and
 * of the world accessors only C_add, C_has and C_remove.
 *
 * Every block is a template (template.h) in which $C is the component's C
 * name and $C_cols_init ... its generated names (names.h).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "compile.h"
#include "emit.h"
#include "template.h"

void soac_emit_doc(soac_out *o, const char *doc, const char *indent)
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

void soac_tpl_system(soac_tpl *t, soac_out *o, const soac_system *s)
{
    soac_tpl_init(t, o);
    soac_tpl_names(t, "S", s->cname, &soac_system_names);
    soac_tpl_set(t, "S", s->cname);
    soac_tpl_set(t, "name", s->name);
    soac_tpl_setx(t, "hash", s->layout_hash);
}

/* ---- default values ------------------------------------------------ */

/* One element's default (zero when absent). */
static void emit_element_value(soac_out *o, const soac_col *col,
                               const soac_value *v)
{
    const soac_enum *e = col->field->type.enm;
    if (!e) {
        col->scalar->literal(o, col->scalar, v);
    } else if (v) {
        const soac_enum_item *it = soac_enum_find(e, v->name);
        assert(it); /* the checker refused any other name */
        soac_out_puts(o, it->cname);
    } else {
        soac_out_printf(o, "SOA_CAST(%s, 0)", e->cname);
    }
}

static void emit_field_value(soac_out *o, const soac_field *f)
{
    if (!f->type.is_array) {
        emit_element_value(o, &f->cols[0], f->def);
        return;
    }
    soac_out_puts(o, "{");
    for (uint32_t k = 0; k < f->ncols; k++) {
        soac_out_puts(o, k ? ", " : "");
        emit_element_value(o, &f->cols[k], f->def ? f->def->elems.items[k] : NULL);
    }
    soac_out_puts(o, "}");
}

/* ---- two headers in one translation unit -------------------------- */

/* Appends `text` as the inside of a C string literal: '"', '\\', control
 * bytes and "??" (a trigraph in C99) escaped. */
static void put_c_string(soac_out *o, const char *text)
{
    for (const char *p = text; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            soac_out_printf(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            soac_out_printf(o, "\\%03o", c);
        else if (c == '?' && p[1] == '?')
            soac_out_puts(o, "?\\");
        else
            soac_out_write(o, p, 1);
    }
}

/* Sets $schema to the name of the schema `f` (soac_file.name) as the
 * inside of a string literal, written into `buf` (the caller frees it
 * once done with the template). */
static void set_schema(soac_tpl *t, const soac_file *f, soac_out *buf)
{
    put_c_string(buf, f->name);
    soac_tpl_set(t, "schema", buf->data);
}

/*
 * The #elif branch of a block whose first definition came from another
 * header (included first) with other contents: an #error naming `what`
 * (a template: "the defaults of $C") and this header's schema, then, when
 * the other header says where it came from (`macro`, a template of its
 * string: "$C_SCHEMA"), a static assertion whose message names both
 * schemas (#error cannot expand a macro; a static assertion's string can).
 */
static void emit_mismatch(soac_tpl *t, const char *what, const char *macro)
{
    soac_tpl_put(t, "#error \"two generated headers disagree on ");
    soac_tpl_put(t, what);
    soac_tpl_put(t, " (this one is from $schema; the next error names the other's schema): "
                    "regenerate them from one schema\"\n#if defined(");
    soac_tpl_put(t, macro);
    soac_tpl_put(t, ")\nSOA_SCHEMA_MISMATCH(\"");
    soac_tpl_put(t, what);
    soac_tpl_put(t, " differ between \" ");
    soac_tpl_put(t, macro);
    soac_tpl_put(t, " \" and $schema\");\n#endif\n");
}

/* FNV-1a of an enum's base type and each value's name and number: two
 * headers with one enum must agree on it. */
static uint64_t enum_hash(const soac_enum *e)
{
    const char *base = soac_scalar_get(e->base.scalar)->name;
    uint64_t h = soac_fnv1a(SOAC_FNV_OFFSET, base, strlen(base) + 1);
    for (size_t i = 0; i < e->items.len; i++) {
        const soac_enum_item *it = e->items.items[i];
        h = soac_fnv1a(h, it->name, strlen(it->name) + 1);
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)it->ival);
        h = soac_fnv1a(h, num, strlen(num) + 1);
    }
    return h;
}

/* ---- enums --------------------------------------------------------- */

static void emit_enum_items(soac_tpl *t, const soac_enum *e)
{
    const soac_scalar_info *base = soac_scalar_get(e->base.scalar);
    for (size_t i = 0; i < e->items.len; i++) {
        const soac_enum_item *it = e->items.items[i];
        bool neg = base->kind == SOAC_KIND_SIGNED && it->ival < 0;
        soac_emit_doc(t->o, it->doc, "");
        soac_tpl_set(t, "item", it->cname);
        soac_tpl_put(t, "#define $item SOA_CAST($E, ");
        soac_int_literal(t->o, base, neg,
                         neg ? 0 - (uint64_t)it->ival : (uint64_t)it->ival);
        soac_out_puts(t->o, ")\n");
    }
}

static void emit_enum_str(soac_tpl *t, const soac_enum *e)
{
    soac_tpl_put(t,
        "\n/* The value's name in the schema, or \"?\" for a number that is not one\n"
        " * of $name's values. */\n"
        "static inline const char *$E_str($E v)\n{\n    switch (v) {\n");
    for (size_t i = 0; i < e->items.len; i++) {
        const soac_enum_item *it = e->items.items[i];
        soac_tpl_set(t, "item", it->cname);
        soac_tpl_set(t, "item_name", it->name);
        soac_tpl_put(t, "    case $item: return \"$item_name\";\n");
    }
    soac_tpl_put(t, "    default: return \"?\";\n    }\n}\n\n");
}

static void emit_enum(soac_out *o, const soac_enum *e)
{
    const soac_scalar_info *base = soac_scalar_get(e->base.scalar);
    soac_tpl t;
    soac_tpl_init(&t, o);
    soac_tpl_names(&t, "E", e->cname, &soac_enum_names);
    soac_tpl_set(&t, "name", e->name);
    soac_tpl_set(&t, "base", base->name);
    soac_tpl_set(&t, "T", base->ctype);
    soac_out schema = { NULL, 0, 0 };
    set_schema(&t, e->file, &schema);
    soac_tpl_setx(&t, "hash", enum_hash(e));
    soac_tpl_put(&t,
        "/* ---- enum $name : $base ---- */\n"
        "#ifndef SOA_GEN_ENUM_$E\n#define SOA_GEN_ENUM_$E\n"
        "#define $E_VALUES_HASH 0x${hash}ULL\n"
        "#define $E_SCHEMA \"$schema\"\n\n");
    soac_emit_doc(o, e->doc, "");
    soac_tpl_put(&t, "typedef $T $E;\n");
    emit_enum_items(&t, e);
    emit_enum_str(&t, e);
    soac_tpl_put(&t, "#elif defined($E_VALUES_HASH) && $E_VALUES_HASH != 0x${hash}ULL\n");
    emit_mismatch(&t, "the values of enum $E", "$E_SCHEMA");
    soac_tpl_put(&t, "#endif /* SOA_GEN_ENUM_$E */\n\n");
    soac_out_free(&schema);
}

/* ---- components: the value ----------------------------------------- */

void soac_emit_members(soac_out *o, const soac_component *c, const char *pre,
                       const char *star, bool docs)
{
    soac_tpl t;
    soac_tpl_init(&t, o);
    soac_tpl_set(&t, "pre", pre);
    soac_tpl_set(&t, "star", star);
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = c->fields.items[i];
        if (docs)
            soac_emit_doc(o, f->doc, "    ");
        soac_tpl_set(&t, "T", f->cols[0].ctype);
        soac_tpl_set(&t, "f", f->name);
        soac_tpl_setu(&t, "n", f->ncols);
        soac_tpl_put(&t, f->type.is_array ? "$pre$T $star$f[$n];\n"
                                          : "$pre$T $star$f;\n");
    }
}

/* The initializer of C_default_value: "{1.0f, Team_blue}". */
static void emit_defaults(soac_out *o, const soac_component *c)
{
    soac_out_puts(o, "{");
    for (size_t i = 0; i < c->fields.len; i++) {
        soac_out_puts(o, i ? ", " : "");
        emit_field_value(o, c->fields.items[i]);
    }
    soac_out_puts(o, "}");
}

/* FNV-1a of the defaults' initializer: two headers with one component
 * must agree on it, as they must on its layout. */
static uint64_t defaults_hash(const soac_component *c)
{
    soac_out init = { NULL, 0, 0 };
    emit_defaults(&init, c);
    uint64_t h = soac_fnv1a(SOAC_FNV_OFFSET, init.data, init.len);
    soac_out_free(&init);
    return h;
}

static void emit_value_struct(soac_tpl *t, const soac_component *c)
{
    soac_emit_doc(t->o, c->doc, "");
    soac_tpl_put(t, "typedef struct $C {\n");
    soac_emit_members(t->o, c, "    ", "", true);
    soac_tpl_put(t, "} $C;\n\n"
                    "/* The schema's defaults (what C_default() returns). */\n"
                    "static const $C $C_default_value = ");
    emit_defaults(t->o, c);
    soac_tpl_put(t, ";\n\n"
                    "static inline $C $C_default(void)\n{\n"
                    "    return $C_default_value;\n}\n\n");
}

static void emit_desc_fields(soac_tpl *t, const soac_component *c)
{
    soac_tpl_setu(t, "n", c->fields.len);
    soac_tpl_put(t, "static const soa_field_desc $C_desc_fields[$n] = {\n");
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = c->fields.items[i];
        const soac_enum *e = f->type.enm;
        soac_tpl_set(t, "f", f->name);
        soac_tpl_set(t, "rt", f->cols[0].scalar->rt_enum);
        soac_tpl_setu(t, "count", f->ncols);
        soac_tpl_set(t, "enum", e ? e->cname : "");
        soac_tpl_put(t, e ? "    {\"$f\", $rt, \"$enum\", ${count}u, offsetof($C, $f)},\n"
                          : "    {\"$f\", $rt, SOA_NULL, ${count}u, offsetof($C, $f)},\n");
    }
    soac_tpl_put(t, "};\n\n");
}

static void emit_desc(soac_tpl *t, const soac_component *c)
{
    if (!soac_is_tag(c))
        emit_desc_fields(t, c);
    soac_tpl_setu(t, "n", c->fields.len);
    soac_tpl_put(t,
        "/* Reflection: what soa_world_register takes. */\n"
        "static const soa_component_desc $C_desc = {\n"
        "    \"$C\", $C_LAYOUT_HASH,\n");
    soac_tpl_put(t, soac_is_tag(c)
        ? "    0, 1, SOA_NULL,\n    0, SOA_NULL\n};\n\n"
        : "    sizeof($C), SOA_ALIGNOF($C), &$C_default_value,\n"
          "    $n, $C_desc_fields\n};\n\n");
}

/* ---- components: the columns --------------------------------------- */

/* Expands `line` once per column, with $col its member ("x", "pos[1]"),
 * $T its C type and $k its place in C_cols (the world's column number). */
static void each_column(soac_tpl *t, const soac_component *c, const char *line)
{
    for (size_t i = 0; i < c->ncols; i++) {
        soac_tpl_set(t, "col", c->cols[i].name);
        soac_tpl_set(t, "T", c->cols[i].ctype);
        soac_tpl_setu(t, "k", i);
        soac_tpl_put(t, line);
    }
}

static void emit_cols_struct(soac_tpl *t, const soac_component *c)
{
    soac_tpl_put(t,
        "/* $name as columns: element [row] of each column is one row's field. */\n"
        "typedef struct $C_cols {\n");
    soac_emit_members(t->o, c, "    ", "*", false);
    soac_tpl_put(t,
        "    uint64_t *changed; /* bit row of word row/64 */\n"
        "    size_t cap;        /* rows every column holds */\n"
        "} $C_cols;\n\n");
}

/* The columns are allocated and freed by the runtime, from the
 * descriptor; the struct's shape is checked where it is defined. */
static void emit_cols_init_release(soac_tpl *t, const soac_component *c)
{
    soac_tpl_setu(t, "ncols", c->ncols);
    soac_tpl_put(t,
        "typedef char $C_cols_shape[SOA_COLS_LAYOUT_OK($C_cols, $ncols) ? 1 : -1];\n\n"
        "/* Allocates every column for `cap` rows, each 64-byte aligned, from `alloc`\n"
        " * (NULL: the heap), and a cleared changed bitset.  0, or -1 with errno\n"
        " * (EOVERFLOW: cap too large; or the allocator's, ENOMEM) and nothing left\n"
        " * allocated.  Release with $C_cols_release and the same allocator. */\n"
        "static inline int $C_cols_init($C_cols *c, size_t cap, soa_alloc *alloc)\n{\n"
        "    return soa_cols_init(c, &$C_desc, cap, alloc);\n}\n\n"
        "/* Frees every column of `c` (allocated from `alloc`, NULL: the heap) and\n"
        " * zeroes it.  A zeroed or partly initialised c is fine. */\n"
        "static inline void $C_cols_release($C_cols *c, soa_alloc *alloc)\n{\n"
        "    soa_cols_release(c, &$C_desc, alloc);\n}\n\n");
}

static void emit_store_load(soac_tpl *t, const soac_component *c)
{
    soac_tpl_put(t,
        "/* Copies one value into row `row` (< c->cap) of the columns. */\n"
        "static inline void $C_cols_store($C_cols *c, size_t row, const $C *v)\n{\n");
    each_column(t, c, "    c->$col[row] = v->$col;\n");
    soac_tpl_put(t,
        "}\n\n/* Row `row` (< c->cap) of the columns as a value. */\n"
        "static inline $C $C_cols_load(const $C_cols *c, size_t row)\n{\n"
        "    $C v;\n    memset(&v, 0, sizeof v);\n");
    each_column(t, c, "    v.$col = c->$col[row];\n");
    soac_tpl_put(t, "    return v;\n}\n\n");
}

static void emit_gather_scatter(soac_tpl *t)
{
    soac_tpl_put(t,
        "/* Copies n values from src into rows [row0, row0 + n) (<= c->cap). */\n"
        "static inline void $C_cols_gather($C_cols *c, size_t row0, const $C *src, size_t n)\n{\n"
        "    soa_cols_gather(c, &$C_desc, row0, src, n);\n}\n\n"
        "/* Copies rows [row0, row0 + n) (<= c->cap) into dst[0 .. n). */\n"
        "static inline void $C_cols_scatter(const $C_cols *c, size_t row0, $C *dst, size_t n)\n{\n"
        "    soa_cols_scatter(c, &$C_desc, row0, dst, n);\n}\n\n");
}

static void emit_changed(soac_tpl *t)
{
    soac_tpl_put(t,
        "/* Marks row `row` (< c->cap) changed.  A plain write: threads may mark\n"
        " * rows at the same time only in different 64-row blocks. */\n"
        "static inline void $C_mark_changed($C_cols *c, size_t row)\n{\n"
        "    soa_bitset_set(c->changed, row);\n}\n\n"
        "static inline bool $C_is_changed(const $C_cols *c, size_t row)\n{\n"
        "    return soa_bitset_test(c->changed, row);\n}\n\n"
        "/* Clears the changed bits of rows [0, rows) (rows <= c->cap). */\n"
        "static inline void $C_clear_changed($C_cols *c, size_t rows)\n{\n"
        "    soa_bitset_clear_all(c->changed, rows);\n}\n\n"
        "/* How many of rows [0, rows) (rows <= c->cap) are marked changed. */\n"
        "static inline size_t $C_count_changed(const $C_cols *c, size_t rows)\n{\n"
        "    return soa_bitset_count(c->changed, rows);\n}\n\n");
}

static void emit_commit_changed(soac_tpl *t)
{
    soac_tpl_put(t,
        "/* Calls apply(ctx, row, &value) for each changed row below `rows`\n"
        " * (<= c->cap), in ascending order; returns how many.  How an ECS takes\n"
        " * changes back: row i of a snapshot is the entity it was gathered from. */\n"
        "static inline size_t $C_commit_changed(const $C_cols *c, size_t rows,\n"
        "    void (*apply)(void *ctx, size_t row, const $C *v), void *ctx)\n{\n"
        "    size_t n = 0, row;\n"
        "    for (row = soa_bitset_next(c->changed, rows, 0); row < rows;\n"
        "         row = soa_bitset_next(c->changed, rows, row + 1)) {\n"
        "        $C v = $C_cols_load(c, row);\n"
        "        apply(ctx, row, &v);\n"
        "        n++;\n"
        "    }\n"
        "    return n;\n}\n\n");
}

/* ---- components: typed accessors of the world (soa/world.h) -------- */

/* Add, has and remove: what a tag has too. */
static void emit_world_membership(soac_tpl *t, bool tag)
{
    soac_tpl_put(t, tag
        ? "/* Adds tag $name to e (a no-op when e has it): 0 or -1 with errno. */\n"
        : "/* Adds $name to e with its defaults (a no-op when e has it): 0 or -1\n"
          " * with errno. */\n");
    soac_tpl_put(t,
        "static inline int $C_add(soa_world *w, soa_entity e)\n{\n"
        "    soa_cid cid = soa_world_register(w, &$C_desc);\n"
        "    return cid == SOA_CID_INVALID ? -1 : soa_world_add(w, e, cid);\n}\n\n"
        "/* Whether e is alive and has $name. */\n"
        "static inline bool $C_has(const soa_world *w, soa_entity e)\n{\n"
        "    return soa_world_has(w, e, soa_world_cid(w, &$C_desc));\n}\n\n"
        "/* Removes $name from e: 0, or -1 with errno (ESRCH: dead entity; ENOENT:\n"
        " * e has no $name; EINVAL: $name is not registered in w). */\n"
        "static inline int $C_remove(soa_world *w, soa_entity e)\n{\n"
        "    return soa_world_remove(w, e, soa_world_cid(w, &$C_desc));\n}\n\n");
}

static void emit_world_value(soac_tpl *t)
{
    soac_tpl_put(t,
        "/* Copies e's $name into *out: 0, or -1 with errno (ESRCH: dead entity;\n"
        " * ENOENT: e has no $name; EINVAL: $name is not registered in w). */\n"
        "static inline int $C_get(const soa_world *w, soa_entity e, $C *out)\n{\n"
        "    return soa_world_read(w, e, soa_world_cid(w, &$C_desc), out);\n}\n\n"
        "/* Sets e's $name to *v, adding it (and registering $name) when needed:\n"
        " * 0 or -1 with errno. */\n"
        "static inline int $C_set(soa_world *w, soa_entity e, const $C *v)\n{\n"
        "    soa_cid cid = soa_world_register(w, &$C_desc);\n"
        "    return cid == SOA_CID_INVALID ? -1 : soa_world_set(w, e, cid, v);\n}\n\n");
}

static void emit_world_chunk(soac_tpl *t, const soac_component *c)
{
    soac_tpl_put(t,
        "/* $name's columns in chunk c of a query whose all[term] is $name:\n"
        " * element [i] of each is row i's, c->begin <= i < c->end (= cap). */\n"
        "static inline $C_cols $C_chunk(const soa_chunk *c, uint32_t term)\n{\n"
        "    $C_cols v;\n");
    each_column(t, c, "    v.$col = SOA_CAST($T *, soa_chunk_column(c, term, $k));\n");
    soac_tpl_put(t,
        "    v.changed = soa_chunk_changed(c, term);\n"
        "    v.cap = c->end;\n"
        "    return v;\n}\n\n");
}

static void emit_world_changed(soac_tpl *t)
{
    soac_tpl_put(t,
        "/* Calls fn(ctx, e) for each entity whose $name is marked changed in w\n"
        " * (fn must not change w's structure); returns how many. */\n"
        "static inline size_t $C_each_changed(const soa_world *w,\n"
        "    void (*fn)(void *ctx, soa_entity e), void *ctx)\n{\n"
        "    return soa_world_each_changed(w, soa_world_cid(w, &$C_desc), fn, ctx);\n}\n\n"
        "/* Clears $name's changed bits in every table of w (nothing when $name is\n"
        " * not registered). */\n"
        "static inline void $C_reset_changed(soa_world *w)\n{\n"
        "    soa_cid cid = soa_world_cid(w, &$C_desc);\n"
        "    if (cid != SOA_CID_INVALID)\n"
        "        soa_world_clear_changed(w, cid);\n}\n\n");
}

/* The typed world API, so user code never casts void * nor holds a cid. */
static void emit_world(soac_tpl *t, const soac_component *c)
{
    bool tag = soac_is_tag(c);
    if (!tag)
        emit_world_value(t);
    emit_world_membership(t, tag);
    if (tag)
        return;
    emit_world_chunk(t, c);
    emit_world_changed(t);
}

static void emit_component(soac_out *o, const soac_component *c)
{
    bool tag = soac_is_tag(c);
    soac_tpl t;
    soac_tpl_init(&t, o);
    soac_tpl_names(&t, "C", c->cname, &soac_component_names);
    soac_tpl_set(&t, "name", c->name);
    soac_tpl_setx(&t, "hash", c->layout_hash);
    soac_tpl_put(&t, tag ? "/* ---- component $name (tag) ---- */\n"
                         : "/* ---- component $name ---- */\n");
    soac_out schema = { NULL, 0, 0 };
    set_schema(&t, c->file, &schema);
    soac_tpl_put(&t, "#ifndef $C_LAYOUT_HASH\n#define $C_LAYOUT_HASH 0x${hash}ULL\n");
    if (!tag) {
        soac_tpl_setx(&t, "defaults", defaults_hash(c));
        soac_tpl_put(&t, "#define $C_DEFAULTS_HASH 0x${defaults}ULL\n");
    }
    soac_tpl_put(&t, "#define $C_SCHEMA \"$schema\"\n\n");
    if (tag)
        soac_emit_doc(o, c->doc, "");
    else
        emit_value_struct(&t, c);
    emit_desc(&t, c);
    emit_cols_struct(&t, c);
    emit_cols_init_release(&t, c);
    if (!tag) {
        emit_store_load(&t, c);
        emit_gather_scatter(&t);
    }
    emit_changed(&t);
    if (!tag)
        emit_commit_changed(&t);
    emit_world(&t, c);
    soac_tpl_put(&t, "#elif $C_LAYOUT_HASH != 0x${hash}ULL\n");
    emit_mismatch(&t, "the layout of $C", "$C_SCHEMA");
    if (!tag) {
        soac_tpl_put(&t, "#elif defined($C_DEFAULTS_HASH) && $C_DEFAULTS_HASH != 0x${defaults}ULL\n");
        emit_mismatch(&t, "the defaults of $C", "$C_SCHEMA");
    }
    soac_tpl_put(&t, "#endif /* $C_LAYOUT_HASH */\n\n");
    soac_out_free(&schema);
}

/* ---- systems ------------------------------------------------------- */

/* Each system is guarded like a component, so two headers that include
 * one schema with a system can meet in a translation unit. */
static void emit_system(soac_out *o, const soac_system *sys)
{
    soac_tpl t;
    soac_tpl_system(&t, o, sys);
    soac_tpl_put(&t, "#ifndef $S_LAYOUT_HASH\n#define $S_LAYOUT_HASH 0x${hash}ULL\n\n");
    soac_emit_system(o, sys);
    soac_tpl_put(&t,
        "#elif $S_LAYOUT_HASH != 0x${hash}ULL\n"
        "#error \"two generated headers disagree on system $S: regenerate them from one schema\"\n"
        "#endif /* $S_LAYOUT_HASH */\n\n");
}

/* ---- the header ---------------------------------------------------- */

#define STR_(x) #x
#define STR(x) STR_(x)
static const char prologue[] =
    "#include <soa/soa.h>\n\n"
    "#if !defined(SOA_ABI_VERSION) || SOA_ABI_VERSION != " STR(SOAC_ABI_VERSION) "\n"
    "#error \"this header was generated by soac for libsoa ABI " STR(SOAC_ABI_VERSION)
    ": regenerate it with the soac of the libsoa you build with\"\n"
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
    assert(s->modelled);
    soac_out body = { NULL, 0, 0 };
    soac_out_puts(&body, prologue);
    for (size_t i = 0; i < s->enums.len; i++)
        emit_enum(&body, s->enums.items[i]);
    for (size_t i = 0; i < s->components.len; i++)
        emit_component(&body, s->components.items[i]);
    for (size_t i = 0; i < s->systems.len; i++)
        emit_system(&body, s->systems.items[i]);
    soac_out_puts(&body, "#ifdef __cplusplus\n}\n#endif\n\n");
    /* the guard ends in a hash of the body: two headers of one file name
     * (ai/components.h, phys/components.h) are both included, and one
     * header reached twice, however named, is skipped the second time */
    char full[32];
    snprintf(full, sizeof full, "_%016" PRIX64,
             soac_fnv1a(SOAC_FNV_OFFSET, body.data, body.len));
    soac_out_printf(o, "/* Generated by soac %s from %s. Do not edit. */\n",
                    SOAC_VERSION, source_name);
    soac_out_printf(o, "#ifndef %s%s\n#define %s%s\n\n", guard, full, guard, full);
    soac_out_write(o, body.data, body.len);
    soac_out_printf(o, "#endif /* %s%s */\n", guard, full);
    soac_out_free(&body);
}

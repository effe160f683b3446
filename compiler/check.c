/*
 * check.c: semantic checks of a loaded schema (see compile.h).
 *
 * In order: namespaces, C names, the one global scope of schema names,
 * enums (base, values), components (fields, types, defaults, layout hash),
 * systems (references and terms), and last the generated C identifiers
 * (names.h), which must not collide.  Every error is reported; checking
 * goes on after one.  A schema with no error gets its model (model.c).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "map.h"
#include "names.h"
#include "suggest.h"

/* ---- lookups ------------------------------------------------------- */

const soac_enum_item *soac_enum_find(const soac_enum *e, const char *name)
{
    return soac_map_get_str(&e->index, name);
}

/* ---- reserved names ------------------------------------------------ */

static const char *const keywords[] = {
    /* C11 and C23 */
    "auto", "break", "case", "char", "const", "continue", "default", "do",
    "double", "else", "enum", "extern", "float", "for", "goto", "if",
    "inline", "int", "long", "register", "restrict", "return", "short",
    "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
    "unsigned", "void", "volatile", "while", "alignas", "alignof", "bool",
    "constexpr", "false", "nullptr", "static_assert", "thread_local", "true",
    "typeof", "typeof_unqual",
    /* C++ */
    "and", "and_eq", "asm", "bitand", "bitor", "catch", "char8_t",
    "char16_t", "char32_t", "class", "compl", "concept", "consteval",
    "constinit", "const_cast", "co_await", "co_return", "co_yield",
    "decltype", "delete", "dynamic_cast", "explicit", "export", "friend",
    "mutable", "namespace", "new", "noexcept", "not", "not_eq", "operator",
    "or", "or_eq", "private", "protected", "public", "reinterpret_cast",
    "requires", "static_cast", "template", "this", "throw", "try", "typeid",
    "typename", "using", "virtual", "wchar_t", "xor", "xor_eq",
};

/* Names the generated code or the headers it includes already use. */
static const char *const library_names[] = {
    "size_t", "ptrdiff_t", "max_align_t", "int8_t", "int16_t", "int32_t",
    "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "intptr_t",
    "uintptr_t", "intmax_t", "uintmax_t", "NULL", "errno", "offsetof",
    "memset", "memcpy", "EOVERFLOW", "ENOMEM", "EINVAL", "main",
};

/* Parameter and local names of the generated functions: a component or
 * enum with no namespace may not be called this (-Wshadow). */
static const char *const local_names[] = {
    "a", "c", "e", "i", "k", "n", "s", "v", "w", "row", "row0", "rows",
    "src", "dst", "apply", "ctx", "alloc", "bytes", "cap", "frame", "pool",
    "begin", "end", "offset", "out", "term", "fn", "cid",
};

/* Members every generated S_snap and S_view has (soa/system.h's
 * soa_snap_head and soa_view_head): a component, whose columns are the
 * member named after it, may not be called this. */
static const char *const snap_members[] = { "rows", "cap", "eids", "soa", "begin", "end" };

/* Members of the generated C_cols and S_view structs that come after
 * members whose type may be an enum: in C++ an enum (with no namespace)
 * of one of these names would change meaning inside the struct. */
static const char *const struct_members[] = { "changed", "eids" };

static bool in(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}
#define IN(list, name) in(list, sizeof list / sizeof list[0], name)

/* Reports a name no declaration may have; true when it was fine. */
static bool check_name(soac_diag *d, const char *name, soac_loc loc,
                       const char *what)
{
    if (IN(keywords, name)) {
        soac_error(d, loc, "%s name '%s' is a C or C++ keyword", what, name);
        return false;
    }
    if (strncmp(name, "soa_", 4) == 0 || strncmp(name, "SOA_", 4) == 0) {
        soac_error(d, loc, "%s name '%s' starts with '%.4s', which is reserved for libsoa",
                   what, name, name);
        return false;
    }
    if (name[0] == '_' && (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z'))) {
        soac_error(d, loc, "%s name '%s' is reserved in C (it starts with '_' and a capital or a second '_')",
                   what, name);
        return false;
    }
    if (IN(library_names, name)) {
        soac_error(d, loc, "%s name '%s' is already used by the C library headers the generated code includes",
                   what, name);
        return false;
    }
    return true;
}

/* ---- declared names ------------------------------------------------ */

/* What a name in a soac_map of names stands for. */
typedef struct map_entry {
    const char *key;
    const char *what;   /* "component", "enum", ... */
    const char *owner;  /* the declaration's schema name */
    soac_loc loc;
    void *decl;         /* names: the soac_enum/soac_component/soac_system */
} map_entry;

/* The entry for `key`: the existing one, or a new one (key set, rest
 * zero, in the arena) when it was absent; *fresh says which. */
static map_entry *map_put(soac_arena *a, soac_map *m, const char *key,
                          bool *fresh)
{
    void **slot = soac_map_put_str(m, key, fresh);
    if (*fresh) {
        map_entry *e = soac_arena_alloc(a, sizeof *e);
        e->key = key;
        *slot = e;
    }
    return *slot;
}

static const map_entry *map_get(const soac_map *m, const char *key)
{
    return soac_map_get_str(m, key);
}

/* ---- the checker --------------------------------------------------- */

typedef struct checker {
    soac_schema *s;
    soac_diag *d;
    soac_map names;  /* schema names: every enum, component and system */
    soac_map cnames; /* generated C identifiers */
    unsigned hints;  /* "did you mean" searches so far (see hint_begin) */
} checker;

static char *cat(soac_arena *a, const char *x, const char *sep, const char *y)
{
    size_t nx = strlen(x), ns = strlen(sep), ny = strlen(y);
    char *p = soac_arena_alloc(a, nx + ns + ny + 1);
    memcpy(p, x, nx);
    memcpy(p + nx, sep, ns);
    memcpy(p + nx + ns, y, ny + 1);
    return p;
}

static char *prefixed(checker *ck, const soac_file *f, const char *name)
{
    return f->ns ? cat(ck->s->arena, f->ns, "_", name)
                 : soac_arena_strndup(ck->s->arena, name, strlen(name));
}

/* ---- "did you mean" ------------------------------------------------ */

/* The most "did you mean" searches per compilation: each may look at
 * every declaration, and past the first errors few messages are shown. */
#define MAX_HINTS 100

/* Starts a search for the candidate nearest `name`; false when the budget
 * is spent (no hint then). */
static bool hint_begin(checker *ck, soac_suggest *sg, const char *name)
{
    soac_suggest_init(sg, name);
    return ck->hints++ < MAX_HINTS;
}

/* "; did you mean 'X'?" for the search's result, or "". */
static const char *hint_text(checker *ck, const soac_suggest *sg)
{
    return sg->best ? cat(ck->s->arena, "; did you mean '",
                          cat(ck->s->arena, sg->best, "", "'?"), "")
                    : "";
}

/* Whether a type name asks for a string, which the language has not. */
static bool string_type(const char *name)
{
    static const char *const names[] = { "string", "String", "str", "text", "cstring" };
    return IN(names, name);
}

/* What to add to "unknown type 'NAME'": why, or the nearest scalar (or,
 * unless an integer is wanted, enum) name. */
static const char *type_hint(checker *ck, const char *name, bool want_int)
{
    if (string_type(name))
        return ": strings are not supported (store bytes in a fixed array such as u8[32])";
    soac_suggest sg;
    if (!hint_begin(ck, &sg, name))
        return "";
    soac_scalar alias = soac_scalar_alias(name);
    for (int t = SOAC_NONE + 1; t < SOAC_NSCALARS; t++) {
        const soac_scalar_info *sc = soac_scalar_get((soac_scalar)t);
        if (want_int && !soac_scalar_is_int(sc))
            continue;
        if (alias == sc->id) {
            sg.best = sc->name;
            return hint_text(ck, &sg);
        }
        soac_suggest_try(&sg, sc->name);
    }
    for (size_t i = 0; !want_int && i < ck->s->enums.len; i++)
        soac_suggest_try(&sg, ((const soac_enum *)ck->s->enums.items[i])->name);
    return hint_text(ck, &sg);
}

/* The component nearest an unknown name in a system, as a hint. */
static const char *component_hint(checker *ck, const char *name)
{
    soac_suggest sg;
    if (!hint_begin(ck, &sg, name))
        return "";
    for (size_t i = 0; i < ck->s->components.len; i++)
        soac_suggest_try(&sg, ((const soac_component *)ck->s->components.items[i])->name);
    return hint_text(ck, &sg);
}

/* The value of enum `e` nearest an unknown name, as a hint. */
static const char *item_hint(checker *ck, const soac_enum *e, const char *name)
{
    soac_suggest sg;
    if (!hint_begin(ck, &sg, name))
        return "";
    for (size_t i = 0; i < e->items.len; i++)
        soac_suggest_try(&sg, ((const soac_enum_item *)e->items.items[i])->name);
    return hint_text(ck, &sg);
}

/* true or false, when near a name given as a bool ("ture", "TRUE"). */
static const char *bool_hint(checker *ck, const char *name)
{
    soac_suggest sg;
    if (!hint_begin(ck, &sg, name))
        return "";
    soac_suggest_try(&sg, "true");
    soac_suggest_try(&sg, "false");
    return hint_text(ck, &sg);
}

static void check_namespaces(checker *ck, soac_file *f)
{
    for (size_t i = 0; i < f->namespaces.len; i++) {
        const soac_ns_decl *n = f->namespaces.items[i];
        if (i == 0) {
            if (check_name(ck->d, n->name, n->loc, "namespace")) {
                f->ns = n->name;
                f->ns_loc = n->loc;
            }
            continue;
        }
        const soac_ns_decl *first = f->namespaces.items[0];
        soac_error(ck->d, n->loc,
                   "a second namespace in one file (the first, '%s', is at line %u)",
                   first->name, first->loc.line);
    }
}

/* Adds a schema name to the global scope, or reports the duplicate. */
static void declare(checker *ck, const char *name, soac_loc loc,
                    const char *what, void *decl)
{
    bool fresh;
    map_entry *e = map_put(ck->s->arena, &ck->names, name, &fresh);
    if (!fresh) {
        soac_error(ck->d, loc, "duplicate name '%s': already declared as %s %s at %s:%u:%u",
                   name, e->what[0] == 'e' ? "an" : "a", e->what,
                   e->loc.src ? e->loc.src->display : "?", e->loc.line,
                   e->loc.col);
        return;
    }
    e->what = what;
    e->owner = name;
    e->loc = loc;
    e->decl = decl;
}

static const char *kind_name(soac_decl_kind k)
{
    return k == SOAC_DECL_ENUM ? "enum"
         : k == SOAC_DECL_COMPONENT ? "component" : "system";
}

/* Names an enum or component whose C name is its bare name may not have. */
static void check_bare_name(checker *ck, soac_decl_kind kind, const char *name,
                            soac_loc loc, const char *what)
{
    if (kind == SOAC_DECL_SYSTEM)
        return;
    if (IN(local_names, name) &&
        !(kind == SOAC_DECL_COMPONENT && IN(snap_members, name)))
        soac_error(ck->d, loc, "%s name '%s' is reserved: the generated functions use it for a parameter or local variable (or add a namespace)",
                   what, name);
    else if (kind == SOAC_DECL_ENUM && IN(struct_members, name))
        soac_error(ck->d, loc, "enum name '%s' is reserved: the generated column structs have a member of that name, which C++ refuses beside a type of that name (or add a namespace)",
                   name);
}

/* Every declaration's name, C name and place in the global scope. */
static void declare_all(checker *ck)
{
    for (size_t i = 0; i < ck->s->files.len; i++) {
        soac_file *f = ck->s->files.items[i];
        for (size_t k = 0; k < f->decls.len; k++) {
            soac_decl *dc = f->decls.items[k];
            const char *what = kind_name(dc->kind);
            const char **name, **cname;
            const soac_file **file;
            soac_loc loc;
            switch (dc->kind) {
            case SOAC_DECL_ENUM:
                name = &dc->u.enm->name; cname = &dc->u.enm->cname;
                file = &dc->u.enm->file; loc = dc->u.enm->loc;
                break;
            case SOAC_DECL_COMPONENT:
                name = &dc->u.comp->name; cname = &dc->u.comp->cname;
                file = &dc->u.comp->file; loc = dc->u.comp->loc;
                break;
            default:
                name = &dc->u.sys->name; cname = &dc->u.sys->cname;
                file = &dc->u.sys->file; loc = dc->u.sys->loc;
                break;
            }
            *file = f;
            *cname = prefixed(ck, f, *name);
            if (check_name(ck->d, *name, loc, what) && !f->ns)
                check_bare_name(ck, dc->kind, *name, loc, what);
            declare(ck, *name, loc, what, (void *)dc->u.enm);
        }
    }
}

/* ---- types and values ---------------------------------------------- */

/* Resolves a written type; false (reported) when it is not a field type. */
static bool resolve_type(checker *ck, soac_type *t, bool want_int)
{
    t->scalar = soac_scalar_lookup(t->name);
    if (!t->scalar) {
        const map_entry *e = map_get(&ck->names, t->name);
        if (e && strcmp(e->what, "enum") == 0) {
            t->enm = e->decl;
            t->scalar = t->enm ? t->enm->base.scalar : SOAC_NONE;
            if (want_int) {
                soac_error(ck->d, t->loc, "enum base type must be an integer type (i8 ... u64), not the enum '%s'",
                           t->name);
                return false;
            }
            return t->scalar != SOAC_NONE;
        }
        if (e)
            soac_error(ck->d, t->loc, "'%s' is a %s, not a type (a field type is a scalar, an enum, or an array of one)",
                       t->name, e->what);
        else
            soac_error(ck->d, t->loc, "unknown type '%s'%s", t->name,
                       type_hint(ck, t->name, want_int));
        return false;
    }
    if (want_int && !soac_scalar_is_int(soac_scalar_get(t->scalar))) {
        soac_error(ck->d, t->loc, "enum base type must be an integer type (i8 ... u64), not '%s'",
                   t->name);
        return false;
    }
    return true;
}

static bool int_fits(soac_scalar t, bool negative, uint64_t mag)
{
    const soac_scalar_info *sc = soac_scalar_get(t);
    assert(soac_scalar_is_int(sc));
    return negative ? mag <= sc->neg_max : mag <= sc->pos_max;
}

static void range_text(soac_scalar t, char *buf, size_t n)
{
    const soac_scalar_info *sc = soac_scalar_get(t);
    snprintf(buf, n, "%s%llu..%llu", sc->neg_max ? "-" : "",
             (unsigned long long)sc->neg_max, (unsigned long long)sc->pos_max);
}

static const char *type_text(const soac_type *t)
{
    return t->enm ? t->enm->name : soac_scalar_get(t->scalar)->name;
}

/* Checks one scalar default against the element type of `t`. */
static void check_scalar_default(checker *ck, const soac_type *t,
                                 const soac_value *v)
{
    char range[64];
    if (v->kind == SOAC_VAL_ARRAY) {
        soac_error(ck->d, v->loc, "bad default: a %s value cannot be an array", type_text(t));
        return;
    }
    if (v->kind == SOAC_VAL_STRING) {
        soac_error(ck->d, v->loc, "bad default: strings are not supported (a default is a number, true or false, an enum value, or [...] for an array)");
        return;
    }
    if (t->enm) {
        if (v->kind != SOAC_VAL_NAME)
            soac_error(ck->d, v->loc, "bad default: '%s' is not a value of enum %s (use one of its names)",
                       v->text, t->enm->name);
        else if (!soac_enum_find(t->enm, v->name))
            soac_error(ck->d, v->loc, "bad default: '%s' is not a value of enum %s%s",
                       v->name, t->enm->name, item_hint(ck, t->enm, v->name));
        return;
    }
    const soac_scalar_info *sc = soac_scalar_get(t->scalar);
    switch (sc->kind) {
    case SOAC_KIND_BOOL:
        if (v->kind != SOAC_VAL_BOOL)
            soac_error(ck->d, v->loc, "bad default: '%s' is not a bool (use true or false)%s",
                       v->text, v->kind == SOAC_VAL_NAME ? bool_hint(ck, v->name) : "");
        return;
    case SOAC_KIND_FLOAT: {
        if (v->kind != SOAC_VAL_INT && v->kind != SOAC_VAL_FLOAT) {
            soac_error(ck->d, v->loc, "bad default: '%s' is not a number", v->text);
            return;
        }
        double x;
        char limit[64];
        soac_float_fit fit = soac_float_value(sc, v->text, &x);
        if (fit == SOAC_FLOAT_OVERFLOW) {
            soac_float_text(sc, sc->max, limit, sizeof limit);
            soac_error(ck->d, v->loc, "bad default: %s does not fit %s (largest magnitude %s)",
                       v->text, type_text(t), limit);
        } else if (fit == SOAC_FLOAT_UNDERFLOW) {
            soac_float_text(sc, sc->min, limit, sizeof limit);
            soac_error(ck->d, v->loc, "bad default: %s is too small for %s: it rounds to zero (smallest magnitude %s)",
                       v->text, type_text(t), limit);
        }
        return;
    }
    case SOAC_KIND_SIGNED:
    case SOAC_KIND_UNSIGNED:
        if (v->kind == SOAC_VAL_FLOAT) {
            soac_error(ck->d, v->loc, "bad default: %s is not an integer (the field is %s)",
                       v->text, type_text(t));
            return;
        }
        if (v->kind != SOAC_VAL_INT) {
            soac_error(ck->d, v->loc, "bad default: '%s' is not an integer (the field is %s)",
                       v->text, type_text(t));
            return;
        }
        range_text(t->scalar, range, sizeof range);
        if (v->too_big || !int_fits(t->scalar, v->negative, v->magnitude))
            soac_error(ck->d, v->loc, "bad default: %s does not fit %s (%s)",
                       v->text, type_text(t), range);
        return;
    }
}

static void check_default(checker *ck, const soac_field *f)
{
    const soac_value *v = f->def;
    if (!v)
        return;
    if (!f->type.is_array) {
        check_scalar_default(ck, &f->type, v);
        return;
    }
    if (v->kind == SOAC_VAL_STRING) {
        check_scalar_default(ck, &f->type, v); /* says strings are not supported */
        return;
    }
    if (v->kind != SOAC_VAL_ARRAY) {
        soac_error(ck->d, v->loc, "bad default: '%s' is an array of %llu; write its default as [v, ...]",
                   f->name, (unsigned long long)f->type.array_len);
        return;
    }
    if (v->elems.len != f->type.array_len) {
        soac_error(ck->d, v->loc, "bad default: wrong array length: '%s' has %llu elements, the default gives %zu",
                   f->name, (unsigned long long)f->type.array_len, v->elems.len);
        return;
    }
    for (size_t i = 0; i < v->elems.len; i++)
        check_scalar_default(ck, &f->type, v->elems.items[i]);
}

/* ---- enums --------------------------------------------------------- */

static void check_enum(checker *ck, soac_enum *e)
{
    char range[64];
    if (!resolve_type(ck, &e->base, true))
        e->base.scalar = SOAC_NONE;
    if (e->base.is_array)
        soac_error(ck->d, e->base.loc, "enum base type cannot be an array");
    if (e->items.len == 0)
        soac_error(ck->d, e->loc, "enum '%s' has no values", e->name);
    bool neg = false, have = false;
    uint64_t mag = 0;
    /* e->index: each name's first item; values: each value's first item */
    soac_map values;
    soac_map_init(&e->index, ck->s->arena, e->items.len);
    soac_map_init(&values, NULL, e->items.len);
    for (size_t i = 0; i < e->items.len; i++) {
        soac_enum_item *it = e->items.items[i];
        it->cname = cat(ck->s->arena, e->cname, "_", it->name);
        check_name(ck->d, it->name, it->loc, "enum value");
        bool fresh;
        void **first = soac_map_put_str(&e->index, it->name, &fresh);
        if (fresh) {
            *first = it;
        } else {
            const soac_enum_item *o = *first;
            soac_error(ck->d, it->loc, "duplicate enum value name '%s' in enum %s (first at line %u)",
                       it->name, e->name, o->loc.line);
        }
        bool overflow = false;
        if (it->value) {
            const soac_value *v = it->value;
            if (v->kind == SOAC_VAL_STRING) {
                soac_error(ck->d, v->loc, "enum value '%s' must be an integer, not a string (strings are not supported)",
                           it->name);
                continue;
            }
            if (v->kind != SOAC_VAL_INT) {
                soac_error(ck->d, v->loc, "enum value '%s' must be an integer, not '%s'",
                           it->name, v->text);
                continue;
            }
            if (v->too_big) {
                overflow = true;
            } else {
                neg = v->negative && v->magnitude != 0;
                mag = v->magnitude;
            }
        } else if (have) {
            if (neg) {
                mag--;
                neg = mag != 0;
            } else if (mag == UINT64_MAX) {
                overflow = true;
            } else {
                mag++;
            }
        }
        have = true;
        if (!e->base.scalar)
            continue;
        if (overflow || !int_fits(e->base.scalar, neg, mag)) {
            range_text(e->base.scalar, range, sizeof range);
            soac_error(ck->d, it->value ? it->value->loc : it->loc,
                       "enum value '%s' is out of range for %s (%s)", it->name,
                       soac_scalar_get(e->base.scalar)->name, range);
            have = false;
            continue;
        }
        it->ival = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        void **same = soac_map_put(&values, &it->ival, sizeof it->ival, &fresh);
        if (fresh) {
            *same = it;
        } else {
            const soac_enum_item *o = *same;
            /* one name twice with one value was reported as a name */
            if (strcmp(o->name, it->name) != 0)
                soac_error(ck->d, it->loc, "enum value '%s' has the same value as '%s' (each value needs its own number)",
                           it->name, o->name);
        }
    }
    soac_map_free(&values);
}

/* ---- components ---------------------------------------------------- */

/* FNV-1a over the canonical layout: what the world compares to decide
 * whether two builds agree on a component's bytes.  0 while a field's type
 * is unresolved (an error was reported; no header is written). */
static uint64_t layout_hash(const soac_component *c)
{
    char num[32];
    uint64_t h = SOAC_FNV_OFFSET;
    h = soac_fnv1a(h, "soa-layout-1", 13);
    h = soac_fnv1a(h, c->cname, strlen(c->cname) + 1);
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = c->fields.items[i];
        if (f->type.scalar == SOAC_NONE)
            return 0;
        const char *ty = soac_scalar_get(f->type.scalar)->name;
        h = soac_fnv1a(h, f->name, strlen(f->name) + 1);
        if (f->type.enm) {
            h = soac_fnv1a(h, "enum", 4);
            h = soac_fnv1a(h, f->type.enm->cname, strlen(f->type.enm->cname) + 1);
        }
        h = soac_fnv1a(h, ty, strlen(ty) + 1);
        snprintf(num, sizeof num, "%llu",
                 (unsigned long long)(f->type.is_array ? f->type.array_len : 1));
        h = soac_fnv1a(h, num, strlen(num) + 1);
    }
    return h;
}


static void check_component(checker *ck, soac_component *c)
{
    if (IN(snap_members, c->name))
        soac_error(ck->d, c->loc, "component name '%s' collides with a member of the generated system snapshot and view (rows, cap, eids, soa, begin, end)",
                   c->name);
    soac_map seen; /* each field name's first field */
    soac_map_init(&seen, NULL, c->fields.len);
    for (size_t i = 0; i < c->fields.len; i++) {
        soac_field *f = c->fields.items[i];
        check_name(ck->d, f->name, f->loc, "field");
        if (strcmp(f->name, "changed") == 0 || strcmp(f->name, "cap") == 0)
            soac_error(ck->d, f->loc, "field name '%s' collides with the '%s' member of %s_cols",
                       f->name, f->name, c->cname);
        bool fresh;
        void **first = soac_map_put_str(&seen, f->name, &fresh);
        if (fresh) {
            *first = f;
        } else {
            const soac_field *o = *first;
            soac_error(ck->d, f->loc, "duplicate field '%s' in component %s (first at line %u)",
                       f->name, c->name, o->loc.line);
        }
        if (f->type.is_array &&
            (f->type.array_len < 1 || f->type.array_len > SOAC_MAX_ARRAY)) {
            char n[32];
            if (f->type.array_len == UINT64_MAX)
                snprintf(n, sizeof n, "a number that large");
            else
                snprintf(n, sizeof n, "%llu", (unsigned long long)f->type.array_len);
            soac_error(ck->d, f->type.len_loc, "array length must be between 1 and 4096, not %s", n);
        }
        if (resolve_type(ck, &f->type, false))
            check_default(ck, f);
    }
    soac_map_free(&seen);
    c->layout_hash = layout_hash(c);
}

/* ---- systems ------------------------------------------------------- */

/* Resolves one list (read, write or without); reports unknown names and
 * names listed twice in it. */
static void resolve_refs(checker *ck, soac_system *s, soac_list *refs,
                         const char *list)
{
    soac_map listed; /* the names resolved so far */
    soac_map_init(&listed, NULL, refs->len);
    for (size_t i = 0; i < refs->len; i++) {
        soac_ref *r = refs->items[i];
        const map_entry *e = map_get(&ck->names, r->name);
        if (!e) {
            soac_error(ck->d, r->loc, "unknown component '%s' in system %s%s",
                       r->name, s->name, component_hint(ck, r->name));
            continue;
        }
        if (strcmp(e->what, "component") != 0) {
            soac_error(ck->d, r->loc, "'%s' is %s %s, not a component",
                       r->name, e->what[0] == 'e' ? "an" : "a", e->what);
            continue;
        }
        bool fresh;
        soac_map_put_str(&listed, r->name, &fresh);
        if (!fresh)
            soac_error(ck->d, r->loc, "duplicate: '%s' is listed twice in %s of system %s",
                       r->name, list, s->name);
        r->comp = e->decl;
    }
    soac_map_free(&listed);
}

/* The hash of the system's name and its terms' layouts, each group of
 * terms (read, write, without) after its letter. */
static uint64_t system_hash(const soac_system *s)
{
    uint64_t h = soac_fnv1a(SOAC_FNV_OFFSET, "soa-system-1", 13);
    h = soac_fnv1a(h, s->cname, strlen(s->cname) + 1);
    for (soac_access use = SOAC_READ; use <= SOAC_WITHOUT; use++) {
        h = soac_fnv1a(h, &"rwx"[use - SOAC_READ], 1);
        for (size_t i = 0; i < s->nterms; i++)
            if (s->terms[i].access == use)
                h = soac_fnv1a(h, &s->terms[i].comp->layout_hash,
                          sizeof s->terms[i].comp->layout_hash);
    }
    return h;
}

/* The resolved components of one kind, in the order ast.h gives. */
typedef struct term_lists {
    soac_list r, w, wo;
} term_lists;

/* How a system uses a component so far (0: not at all); the key is the
 * pointer's bytes, borrowed from the soac_ref holding it. */
static soac_access use_of(const soac_map *uses, const soac_component *const *c)
{
    return (soac_access)(uintptr_t)soac_map_get(uses, c, sizeof *c);
}

static void set_use(soac_map *uses, const soac_component *const *c,
                    soac_access use)
{
    bool fresh;
    *soac_map_put(uses, c, sizeof *c, &fresh) = (void *)(uintptr_t)use;
}

static void resolve_terms(checker *ck, soac_system *s, term_lists *t)
{
    soac_arena *a = ck->s->arena;
    soac_map uses;
    soac_map_init(&uses, NULL, s->writes.len + s->reads.len + s->without.len);
    for (size_t i = 0; i < s->writes.len; i++) {
        const soac_ref *r = s->writes.items[i];
        if (r->comp && !use_of(&uses, &r->comp)) {
            set_use(&uses, &r->comp, SOAC_WRITE);
            soac_list_push(a, &t->w, (void *)r->comp);
        }
    }
    for (size_t i = 0; i < s->reads.len; i++) {
        const soac_ref *r = s->reads.items[i];
        if (r->comp && !use_of(&uses, &r->comp)) {
            set_use(&uses, &r->comp, SOAC_READ);
            soac_list_push(a, &t->r, (void *)r->comp);
        }
    }
    for (size_t i = 0; i < s->without.len; i++) {
        const soac_ref *r = s->without.items[i];
        if (!r->comp)
            continue;
        soac_access use = use_of(&uses, &r->comp);
        if (use == SOAC_WRITE || use == SOAC_READ) {
            soac_error(ck->d, r->loc, "'%s' is both in %s and in without of system %s: no entity can match",
                       r->name, use == SOAC_WRITE ? "write" : "read", s->name);
        } else if (!use) {
            set_use(&uses, &r->comp, SOAC_WITHOUT);
            soac_list_push(a, &t->wo, (void *)r->comp);
        }
    }
    soac_map_free(&uses);
}

static void add_terms(soac_system *s, const soac_list *l, soac_access use)
{
    for (size_t i = 0; i < l->len; i++) {
        soac_term *t = &s->terms[s->nterms++];
        t->comp = l->items[i];
        t->access = use;
    }
}

/* The columns of the read and written components, as far as their
 * fields' lengths are valid (the others were reported). */
static size_t system_width(const term_lists *t)
{
    size_t n = 0;
    const soac_list *l[2] = { &t->r, &t->w };
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < l[k]->len; i++) {
            const soac_component *c = l[k]->items[i];
            for (size_t j = 0; j < c->fields.len; j++) {
                const soac_field *f = c->fields.items[j];
                if (!f->type.is_array || f->type.array_len <= SOAC_MAX_ARRAY)
                    n += soac_field_width(f);
            }
        }
    return n;
}

static void check_system(checker *ck, soac_system *s)
{
    term_lists t;
    memset(&t, 0, sizeof t);
    resolve_refs(ck, s, &s->reads, "read");
    resolve_refs(ck, s, &s->writes, "write");
    resolve_refs(ck, s, &s->without, "without");
    resolve_terms(ck, s, &t);
    if (s->reads.len == 0 && s->writes.len == 0)
        soac_error(ck->d, s->loc, "system %s reads and writes no component (it needs at least one read or write)",
                   s->name);
    size_t width = system_width(&t);
    if (width > SOAC_MAX_SYSTEM_COLS)
        soac_error(ck->d, s->loc, "system %s has %zu columns (a column per scalar field and per array element); libsoa runs at most %u",
                   s->name, width, SOAC_MAX_SYSTEM_COLS);
    s->terms = soac_arena_alloc(ck->s->arena,
                                (t.r.len + t.w.len + t.wo.len + 1) * sizeof *s->terms);
    s->nreads = t.r.len;
    s->nwrites = t.w.len;
    s->nwithout = t.wo.len;
    add_terms(s, &t.r, SOAC_READ);
    add_terms(s, &t.w, SOAC_WRITE);
    add_terms(s, &t.wo, SOAC_WITHOUT);
    s->layout_hash = system_hash(s);
}

/* ---- generated C identifiers --------------------------------------- */

/* Claims one generated identifier for a declaration; reports (once per
 * declaration) when another one already generates it. */
static bool claim(checker *ck, const char *id, const char *what,
                  const char *owner, soac_loc loc)
{
    bool fresh;
    map_entry *e = map_put(ck->s->arena, &ck->cnames, id, &fresh);
    if (fresh) {
        e->what = what;
        e->owner = owner;
        e->loc = loc;
        return true;
    }
    soac_error(ck->d, loc, "generated name '%s' of %s '%s' collides with '%s' generated for %s '%s' at %s:%u:%u",
               id, what, owner, id, e->what, e->owner,
               e->loc.src ? e->loc.src->display : "?", e->loc.line, e->loc.col);
    return false;
}

/* Claims every name of list `l` for the declaration `owner` of C name
 * `cname`; false after the first collision (reported). */
static bool claim_all(checker *ck, const char *cname, const soac_names *l,
                      const char *owner, soac_loc loc)
{
    for (size_t i = 0; i < l->n; i++)
        if (!claim(ck, cat(ck->s->arena, cname, "", l->suffixes[i]), l->kind,
                   owner, loc))
            return false;
    return true;
}

static void claim_names(checker *ck, const soac_decl *dc)
{
    /* a declaration whose name is a duplicate was reported as one */
    const char *name = dc->kind == SOAC_DECL_ENUM ? dc->u.enm->name
                     : dc->kind == SOAC_DECL_COMPONENT ? dc->u.comp->name
                     : dc->u.sys->name;
    const map_entry *e = map_get(&ck->names, name);
    if (!e || e->decl != (void *)dc->u.enm)
        return;
    if (dc->kind == SOAC_DECL_COMPONENT) {
        const soac_component *c = dc->u.comp;
        claim_all(ck, c->cname, &soac_component_names, c->name, c->loc);
    } else if (dc->kind == SOAC_DECL_SYSTEM) {
        const soac_system *s = dc->u.sys;
        claim_all(ck, s->cname, &soac_system_names, s->name, s->loc);
    } else {
        const soac_enum *e = dc->u.enm;
        if (!claim_all(ck, e->cname, &soac_enum_names, e->name, e->loc))
            return;
        for (size_t i = 0; i < e->items.len; i++) {
            const soac_enum_item *it = e->items.items[i];
            if (soac_enum_find(e, it->name) != it)
                continue; /* a duplicate value name, already reported */
            if (!claim(ck, it->cname, "enum", e->name, it->loc))
                return;
        }
    }
}

/* A field named like something the header defines would be replaced by
 * a macro (E_item, C_LAYOUT_HASH) or, in C++, would change the meaning of
 * a type name inside its struct: neither compiles. */
static void check_field_names(checker *ck, const soac_component *c)
{
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = c->fields.items[i];
        const map_entry *e = map_get(&ck->cnames, f->name);
        if (e)
            soac_error(ck->d, f->loc, "field name '%s' is also a name the header defines (for %s '%s'); rename the field",
                       f->name, e->what, e->owner);
    }
}

/* ---- driver -------------------------------------------------------- */

void soac_check(soac_schema *s, soac_diag *d)
{
    checker ck;
    memset(&ck, 0, sizeof ck);
    ck.s = s;
    ck.d = d;
    for (size_t i = 0; i < s->files.len; i++)
        check_namespaces(&ck, s->files.items[i]);
    declare_all(&ck);
    /* enums first: component fields refer to their resolved bases */
    for (size_t i = 0; i < s->files.len; i++) {
        const soac_file *f = s->files.items[i];
        for (size_t k = 0; k < f->decls.len; k++) {
            soac_decl *dc = f->decls.items[k];
            if (dc->kind == SOAC_DECL_ENUM) {
                check_enum(&ck, dc->u.enm);
                soac_list_push(s->arena, &s->enums, dc->u.enm);
            }
        }
    }
    for (size_t i = 0; i < s->files.len; i++) {
        const soac_file *f = s->files.items[i];
        for (size_t k = 0; k < f->decls.len; k++) {
            soac_decl *dc = f->decls.items[k];
            if (dc->kind == SOAC_DECL_COMPONENT) {
                check_component(&ck, dc->u.comp);
                soac_list_push(s->arena, &s->components, dc->u.comp);
            }
        }
    }
    for (size_t i = 0; i < s->files.len; i++) {
        const soac_file *f = s->files.items[i];
        for (size_t k = 0; k < f->decls.len; k++) {
            soac_decl *dc = f->decls.items[k];
            if (dc->kind == SOAC_DECL_SYSTEM) {
                check_system(&ck, dc->u.sys);
                soac_list_push(s->arena, &s->systems, dc->u.sys);
            }
        }
    }
    for (size_t i = 0; i < s->files.len; i++) {
        const soac_file *f = s->files.items[i];
        for (size_t k = 0; k < f->decls.len; k++)
            claim_names(&ck, f->decls.items[k]);
    }
    for (size_t i = 0; i < s->components.len; i++)
        check_field_names(&ck, s->components.items[i]);
    soac_map_free(&ck.names);
    soac_map_free(&ck.cnames);
    if (d->errors == 0)
        soac_model_build(s);
}

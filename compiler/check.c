/*
 * check.c: semantic checks of a loaded schema (see compile.h).
 *
 * In order: namespaces, C names, the one global scope of schema names,
 * enums (base, values), components (fields, types, defaults, layout hash),
 * systems (references), and last the generated C identifiers, which must
 * not collide.  Every error is reported; checking goes on after one.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "emit.h"

/* ---- scalars ------------------------------------------------------- */

static const struct {
    const char *name;
    soac_scalar t;
    size_t size;
} scalars[] = {
    { "f32", SOAC_F32, 4 }, { "f64", SOAC_F64, 8 }, { "i8", SOAC_I8, 1 },
    { "i16", SOAC_I16, 2 }, { "i32", SOAC_I32, 4 }, { "i64", SOAC_I64, 8 },
    { "u8", SOAC_U8, 1 },   { "u16", SOAC_U16, 2 }, { "u32", SOAC_U32, 4 },
    { "u64", SOAC_U64, 8 }, { "bool", SOAC_BOOL, 1 },
};
#define NSCALARS (sizeof scalars / sizeof scalars[0])

static soac_scalar scalar_by_name(const char *name)
{
    for (size_t i = 0; i < NSCALARS; i++)
        if (strcmp(scalars[i].name, name) == 0)
            return scalars[i].t;
    return SOAC_NONE;
}

const char *soac_scalar_name(soac_scalar t)
{
    for (size_t i = 0; i < NSCALARS; i++)
        if (scalars[i].t == t)
            return scalars[i].name;
    return "?";
}

size_t soac_scalar_size(soac_scalar t)
{
    for (size_t i = 0; i < NSCALARS; i++)
        if (scalars[i].t == t)
            return scalars[i].size;
    return 0;
}

bool soac_scalar_is_int(soac_scalar t)
{
    return t >= SOAC_I8 && t <= SOAC_U64;
}

bool soac_scalar_is_signed(soac_scalar t)
{
    return t >= SOAC_I8 && t <= SOAC_I64;
}

const soac_enum_item *soac_enum_find(const soac_enum *e, const char *name)
{
    for (size_t i = 0; i < e->items.len; i++) {
        const soac_enum_item *it = e->items.items[i];
        if (strcmp(it->name, name) == 0)
            return it;
    }
    return NULL;
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
    "a", "c", "e", "f", "i", "k", "n", "p", "q", "s", "v", "w", "it", "row",
    "row0", "rows", "src", "dst", "apply", "ctx", "alloc", "bytes", "words",
    "all", "none", "err", "bound", "zero", "checks", "frame", "pool",
    "worker", "cid",
};

/* Component names a system snapshot/view already uses as members. */
static const char *const snap_members[] = { "rows", "cap", "eids", "begin", "end" };

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

/* ---- a string map (open addressing; keys are borrowed) ------------- */

typedef struct map_entry {
    const char *key;
    const char *what;   /* "component", "enum", ... */
    const char *owner;  /* the declaration's schema name */
    soac_loc loc;
    void *decl;         /* names: the soac_enum/soac_component/soac_system */
} map_entry;

typedef struct map {
    map_entry *slots;
    size_t cap, len;
} map;

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV_OFFSET 0xcbf29ce484222325ull

static map_entry *map_slot(map *m, const char *key)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)fnv1a(FNV_OFFSET, key, strlen(key)) & mask;
    while (m->slots[i].key && strcmp(m->slots[i].key, key) != 0)
        i = (i + 1) & mask;
    return &m->slots[i];
}

static void map_grow(map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    map old = *m;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) {
        fputs("soac: out of memory\n", stderr);
        exit(2);
    }
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *map_slot(m, old.slots[i].key) = old.slots[i];
    free(old.slots);
}

/* The entry for `key`: the existing one, or a new one (key set, rest
 * zero) when it was absent; *fresh says which. */
static map_entry *map_put(map *m, const char *key, bool *fresh)
{
    if ((m->len + 1) * 2 > m->cap)
        map_grow(m);
    map_entry *e = map_slot(m, key);
    *fresh = e->key == NULL;
    if (*fresh) {
        e->key = key;
        m->len++;
    }
    return e;
}

static const map_entry *map_get(const map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    map_entry *e = map_slot((map *)m, key);
    return e->key ? e : NULL;
}

/* ---- the checker --------------------------------------------------- */

typedef struct checker {
    soac_schema *s;
    soac_diag *d;
    map names;      /* schema names: every enum, component and system */
    map cnames;     /* generated C identifiers */
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
    map_entry *e = map_put(&ck->names, name, &fresh);
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
            if (check_name(ck->d, *name, loc, what) && !f->ns &&
                dc->kind != SOAC_DECL_SYSTEM && IN(local_names, *name) &&
                !(dc->kind == SOAC_DECL_COMPONENT && IN(snap_members, *name)))
                soac_error(ck->d, loc, "%s name '%s' is reserved: the generated functions use it for a parameter or local variable (or add a namespace)",
                           what, *name);
            declare(ck, *name, loc, what, (void *)dc->u.enm);
        }
    }
}

/* ---- types and values ---------------------------------------------- */

/* Resolves a written type; false (reported) when it is not a field type. */
static bool resolve_type(checker *ck, soac_type *t, bool want_int)
{
    t->scalar = scalar_by_name(t->name);
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
            soac_error(ck->d, t->loc, "unknown type '%s'", t->name);
        return false;
    }
    if (want_int && !soac_scalar_is_int(t->scalar)) {
        soac_error(ck->d, t->loc, "enum base type must be an integer type (i8 ... u64), not '%s'",
                   t->name);
        return false;
    }
    return true;
}

/* The range of an integer scalar as (negative bound magnitude, max). */
static void int_range(soac_scalar t, uint64_t *neg_max, uint64_t *pos_max)
{
    switch (t) {
    case SOAC_I8: *neg_max = 128; *pos_max = 127; break;
    case SOAC_I16: *neg_max = 32768; *pos_max = 32767; break;
    case SOAC_I32: *neg_max = 2147483648u; *pos_max = 2147483647; break;
    case SOAC_I64: *neg_max = (uint64_t)1 << 63; *pos_max = ((uint64_t)1 << 63) - 1; break;
    case SOAC_U8: *neg_max = 0; *pos_max = 255; break;
    case SOAC_U16: *neg_max = 0; *pos_max = 65535; break;
    case SOAC_U32: *neg_max = 0; *pos_max = 4294967295u; break;
    default: *neg_max = 0; *pos_max = UINT64_MAX; break;
    }
}

static bool int_fits(soac_scalar t, bool negative, uint64_t mag)
{
    uint64_t nmax, pmax;
    int_range(t, &nmax, &pmax);
    return negative ? mag <= nmax : mag <= pmax;
}

static void range_text(soac_scalar t, char *buf, size_t n)
{
    uint64_t nmax, pmax;
    int_range(t, &nmax, &pmax);
    snprintf(buf, n, "%s%llu..%llu", nmax ? "-" : "",
             (unsigned long long)nmax, (unsigned long long)pmax);
}

static const char *type_text(const soac_type *t)
{
    return t->enm ? t->enm->name : soac_scalar_name(t->scalar);
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
    if (t->enm) {
        if (v->kind != SOAC_VAL_NAME)
            soac_error(ck->d, v->loc, "bad default: '%s' is not a value of enum %s (use one of its names)",
                       v->text, t->enm->name);
        else if (!soac_enum_find(t->enm, v->name))
            soac_error(ck->d, v->loc, "bad default: '%s' is not a value of enum %s",
                       v->name, t->enm->name);
        return;
    }
    switch (t->scalar) {
    case SOAC_BOOL:
        if (v->kind != SOAC_VAL_BOOL)
            soac_error(ck->d, v->loc, "bad default: '%s' is not a bool (use true or false)", v->text);
        return;
    case SOAC_F32:
    case SOAC_F64: {
        if (v->kind == SOAC_VAL_INT && v->too_big) {
            soac_error(ck->d, v->loc, "bad default: %s does not fit %s", v->text, type_text(t));
            return;
        }
        if (v->kind != SOAC_VAL_INT && v->kind != SOAC_VAL_FLOAT) {
            soac_error(ck->d, v->loc, "bad default: '%s' is not a number", v->text);
            return;
        }
        double x = v->kind == SOAC_VAL_FLOAT ? v->fval : (double)v->magnitude;
        double max = t->scalar == SOAC_F32 ? (double)FLT_MAX : DBL_MAX;
        if (!isfinite(x) || fabs(x) > max)
            soac_error(ck->d, v->loc, "bad default: %s does not fit %s (largest magnitude %g)",
                       v->text, type_text(t), max);
        return;
    }
    default:
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
    bool *valid = soac_arena_alloc(ck->s->arena, e->items.len + 1);
    for (size_t i = 0; i < e->items.len; i++) {
        soac_enum_item *it = e->items.items[i];
        it->cname = cat(ck->s->arena, e->cname, "_", it->name);
        check_name(ck->d, it->name, it->loc, "enum value");
        for (size_t k = 0; k < i; k++) {
            const soac_enum_item *o = e->items.items[k];
            if (strcmp(o->name, it->name) == 0) {
                soac_error(ck->d, it->loc, "duplicate enum value name '%s' in enum %s (first at line %u)",
                           it->name, e->name, o->loc.line);
                break;
            }
        }
        bool overflow = false;
        if (it->value) {
            const soac_value *v = it->value;
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
                       soac_scalar_name(e->base.scalar), range);
            have = false;
            continue;
        }
        it->ival = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        valid[i] = true;
        for (size_t k = 0; k < i; k++) {
            const soac_enum_item *o = e->items.items[k];
            if (valid[k] && o->ival == it->ival &&
                strcmp(o->name, it->name) != 0) {
                soac_error(ck->d, it->loc, "enum value '%s' has the same value as '%s' (each value needs its own number)",
                           it->name, o->name);
                break;
            }
        }
    }
}

/* ---- components ---------------------------------------------------- */

/* FNV-1a over the canonical layout: what the world compares to decide
 * whether two builds agree on a component's bytes. */
static uint64_t layout_hash(const soac_component *c)
{
    char num[32];
    uint64_t h = FNV_OFFSET;
    h = fnv1a(h, "soa-layout-1", 13);
    h = fnv1a(h, c->cname, strlen(c->cname) + 1);
    for (size_t i = 0; i < c->fields.len; i++) {
        const soac_field *f = c->fields.items[i];
        const char *ty = soac_scalar_name(f->type.scalar);
        h = fnv1a(h, f->name, strlen(f->name) + 1);
        if (f->type.enm) {
            h = fnv1a(h, "enum", 4);
            h = fnv1a(h, f->type.enm->cname, strlen(f->type.enm->cname) + 1);
        }
        h = fnv1a(h, ty, strlen(ty) + 1);
        snprintf(num, sizeof num, "%llu",
                 (unsigned long long)(f->type.is_array ? f->type.array_len : 1));
        h = fnv1a(h, num, strlen(num) + 1);
    }
    return h;
}


static void check_component(checker *ck, soac_component *c)
{
    if (IN(snap_members, c->name))
        soac_error(ck->d, c->loc, "component name '%s' collides with a member of the generated system snapshot and view (rows, cap, eids, begin, end)",
                   c->name);
    for (size_t i = 0; i < c->fields.len; i++) {
        soac_field *f = c->fields.items[i];
        check_name(ck->d, f->name, f->loc, "field");
        if (strcmp(f->name, "changed") == 0 || strcmp(f->name, "cap") == 0)
            soac_error(ck->d, f->loc, "field name '%s' collides with the '%s' member of %s_cols",
                       f->name, f->name, c->cname);
        for (size_t k = 0; k < i; k++) {
            const soac_field *o = c->fields.items[k];
            if (strcmp(o->name, f->name) == 0) {
                soac_error(ck->d, f->loc, "duplicate field '%s' in component %s (first at line %u)",
                           f->name, c->name, o->loc.line);
                break;
            }
        }
        if (f->type.is_array &&
            (f->type.array_len < 1 || f->type.array_len > 4096)) {
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
    c->layout_hash = layout_hash(c);
}

/* ---- systems ------------------------------------------------------- */

static bool has(const soac_list *l, const soac_component *c)
{
    for (size_t i = 0; i < l->len; i++)
        if (l->items[i] == c)
            return true;
    return false;
}

/* Resolves one list (read, write or without); reports unknown names and
 * names listed twice in it. */
static void resolve_refs(checker *ck, soac_system *s, soac_list *refs,
                         const char *list)
{
    for (size_t i = 0; i < refs->len; i++) {
        soac_ref *r = refs->items[i];
        const map_entry *e = map_get(&ck->names, r->name);
        if (!e) {
            soac_error(ck->d, r->loc, "unknown component '%s' in system %s",
                       r->name, s->name);
            continue;
        }
        if (strcmp(e->what, "component") != 0) {
            soac_error(ck->d, r->loc, "'%s' is %s %s, not a component",
                       r->name, e->what[0] == 'e' ? "an" : "a", e->what);
            continue;
        }
        for (size_t k = 0; k < i; k++) {
            const soac_ref *o = refs->items[k];
            if (strcmp(o->name, r->name) == 0) {
                soac_error(ck->d, r->loc, "duplicate: '%s' is listed twice in %s of system %s",
                           r->name, list, s->name);
                break;
            }
        }
        r->comp = e->decl;
    }
}

static uint64_t system_hash(const soac_system *s)
{
    uint64_t h = fnv1a(FNV_OFFSET, "soa-system-1", 13);
    h = fnv1a(h, s->cname, strlen(s->cname) + 1);
    const soac_list *lists[3] = { &s->r, &s->w, &s->wo };
    for (int l = 0; l < 3; l++) {
        h = fnv1a(h, &"rwx"[l], 1);
        for (size_t i = 0; i < lists[l]->len; i++) {
            const soac_component *c = lists[l]->items[i];
            h = fnv1a(h, &c->layout_hash, sizeof c->layout_hash);
        }
    }
    return h;
}

static void check_system(checker *ck, soac_system *s)
{
    soac_arena *a = ck->s->arena;
    resolve_refs(ck, s, &s->reads, "read");
    resolve_refs(ck, s, &s->writes, "write");
    resolve_refs(ck, s, &s->without, "without");
    for (size_t i = 0; i < s->writes.len; i++) {
        const soac_ref *r = s->writes.items[i];
        if (r->comp && !has(&s->w, r->comp))
            soac_list_push(a, &s->w, (void *)r->comp);
    }
    for (size_t i = 0; i < s->reads.len; i++) {
        const soac_ref *r = s->reads.items[i];
        if (r->comp && !has(&s->w, r->comp) && !has(&s->r, r->comp))
            soac_list_push(a, &s->r, (void *)r->comp);
    }
    for (size_t i = 0; i < s->without.len; i++) {
        const soac_ref *r = s->without.items[i];
        if (!r->comp)
            continue;
        if (has(&s->w, r->comp))
            soac_error(ck->d, r->loc, "'%s' is both in write and in without of system %s: no entity can match",
                       r->name, s->name);
        else if (has(&s->r, r->comp))
            soac_error(ck->d, r->loc, "'%s' is both in read and in without of system %s: no entity can match",
                       r->name, s->name);
        else if (!has(&s->wo, r->comp))
            soac_list_push(a, &s->wo, (void *)r->comp);
    }
    if (s->reads.len == 0 && s->writes.len == 0)
        soac_error(ck->d, s->loc, "system %s reads and writes no component (it needs at least one read or write)",
                   s->name);
    s->layout_hash = system_hash(s);
}

/* ---- generated C identifiers --------------------------------------- */

static const char *const comp_suffixes[] = {
    "", "_LAYOUT_HASH", "_default", "_default_value", "_desc",
    "_desc_fields", "_cols", "_cols_init", "_cols_release", "_cols_store",
    "_cols_load", "_cols_gather", "_cols_scatter", "_mark_changed",
    "_is_changed", "_clear_changed", "_count_changed", "_commit_changed",
};
static const char *const sys_suffixes[] = {
    "_LAYOUT_HASH", "_snap", "_view", "_snap_init", "_snap_release", "_snap_reserve",
    "_build", "_build_on", "_commit_on", "_kernel", "_kernel_fn", "_run",
    "_run_range", "_run_args",
    "_run_chunk", "_commit", "_system", "_reads", "_writes", "_without",
    "_erased_snap_init", "_erased_snap_release", "_erased_build",
    "_erased_run", "_erased_run_range", "_erased_commit",
    /* emit_shm.c */
    "_shm", "_shm_hashes", "_shm_sizes", "_shm_layout", "_snap_publish",
    "_snap_attach", "_erased_snap_publish", "_erased_snap_attach",
};

/* Claims one generated identifier for a declaration; reports (once per
 * declaration) when another one already generates it. */
static bool claim(checker *ck, const char *id, const char *what,
                  const char *owner, soac_loc loc)
{
    bool fresh;
    map_entry *e = map_put(&ck->cnames, id, &fresh);
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

static void claim_all(checker *ck, const char *cname, const char *const *sfx,
                      size_t n, const char *what, const char *owner,
                      soac_loc loc)
{
    for (size_t i = 0; i < n; i++)
        if (!claim(ck, cat(ck->s->arena, cname, "", sfx[i]), what, owner, loc))
            return;
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
        claim_all(ck, c->cname, comp_suffixes,
                  sizeof comp_suffixes / sizeof *comp_suffixes, "component",
                  c->name, c->loc);
    } else if (dc->kind == SOAC_DECL_SYSTEM) {
        const soac_system *s = dc->u.sys;
        claim_all(ck, s->cname, sys_suffixes,
                  sizeof sys_suffixes / sizeof *sys_suffixes, "system",
                  s->name, s->loc);
    } else {
        const soac_enum *e = dc->u.enm;
        if (!claim(ck, e->cname, "enum", e->name, e->loc) ||
            !claim(ck, cat(ck->s->arena, e->cname, "", "_str"), "enum", e->name, e->loc))
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
    free(ck.names.slots);
    free(ck.cnames.slots);
}

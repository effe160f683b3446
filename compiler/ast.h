/*
 * ast.h: the syntax tree of a schema and everything the checker resolves.
 *
 * The parser only builds these nodes (names, types as written, defaults as
 * written); check.c resolves names, computes values and layout hashes, and
 * fills the fields marked "resolved".  When a schema checks without errors,
 * model.c adds "the model": each component's columns and each system's
 * terms with their columns.  The emitters and --explain read that model
 * (never rebuilding it) and never fail on a checked tree.
 *
 * Every node lives in the compilation's arena (soac_arena) and is freed with
 * it in one shot.  Lists are arrays of pointers grown in the arena.
 */
#ifndef SOAC_AST_H
#define SOAC_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "scalar.h"

/* ---- arena ---------------------------------------------------------- */

typedef struct soac_arena soac_arena;

soac_arena *soac_arena_new(void);
void soac_arena_free(soac_arena *a);
/* Zeroed memory; aborts the compiler on out-of-memory (a CLI may). */
void *soac_arena_alloc(soac_arena *a, size_t bytes);
char *soac_arena_strndup(soac_arena *a, const char *s, size_t n);

/* A growable array of pointers whose storage comes from an arena. */
typedef struct soac_list {
    void **items;
    size_t len, cap;
} soac_list;

void soac_list_push(soac_arena *a, soac_list *l, void *item);

/* ---- locations ------------------------------------------------------ */

typedef struct soac_source soac_source; /* a loaded file: see source.h */

/* A position in a source file: 1-based line and column (columns count
 * bytes), plus the byte offset for caret display. */
typedef struct soac_loc {
    const soac_source *src;
    uint32_t line, col;
    uint32_t offset;
} soac_loc;

/* ---- types ---------------------------------------------------------- */

typedef struct soac_enum soac_enum;

/* A field type as written (`name`, `name[len]`) and as resolved. */
typedef struct soac_type {
    const char *name;      /* as written: "f32", "Team" */
    soac_loc loc;
    bool is_array;
    uint64_t array_len;    /* as written (checked 1..4096) */
    soac_loc len_loc;
    /* resolved */
    soac_scalar scalar;    /* the scalar, or the enum's base */
    const soac_enum *enm;  /* the enum, or NULL */
} soac_type;

/* ---- default values ------------------------------------------------- */

typedef enum soac_value_kind {
    SOAC_VAL_INT,    /* decimal or hex literal, with optional '-' */
    SOAC_VAL_FLOAT,  /* has '.', or an exponent */
    SOAC_VAL_BOOL,
    SOAC_VAL_NAME,   /* an enum value name */
    SOAC_VAL_ARRAY,  /* [v, v, ...] */
    SOAC_VAL_STRING  /* "..." (text): never a valid default, but worth
                      * its own message */
} soac_value_kind;

typedef struct soac_value {
    soac_value_kind kind;
    soac_loc loc;
    const char *text;      /* the literal as written ('-' included): the
                            * value of a FLOAT (soac_float_value) */
    bool negative;         /* INT: a leading '-' */
    uint64_t magnitude;    /* INT: absolute value (checked for overflow) */
    bool too_big;          /* INT: the literal does not fit 64 bits */
    bool bval;             /* BOOL */
    const char *name;      /* NAME */
    soac_list elems;       /* ARRAY: soac_value * */
} soac_value;

/* ---- declarations --------------------------------------------------- */

typedef struct soac_enum_item {
    const char *name;
    soac_loc loc;
    const char *doc;
    const soac_value *value; /* explicit `= v`, or NULL */
    /* resolved */
    int64_t ival;            /* for a u64 base, the bits as uint64_t */
    const char *cname;       /* E_name, namespace prefixed */
} soac_enum_item;

struct soac_enum {
    const char *name;
    soac_loc loc;
    const char *doc;
    soac_type base;          /* must be an integer scalar */
    soac_list items;         /* soac_enum_item * */
    /* resolved */
    const char *cname;       /* ns_Name */
    const struct soac_file *file;
    soac_map index;          /* item name -> its first soac_enum_item */
};

typedef struct soac_field soac_field;

/*
 * One column of a component (model.c): a scalar field, or one element of
 * an array field.  Element k of `pos: f32[3]` is the column "pos[k]".
 */
typedef struct soac_col {
    const soac_field *field;
    bool in_array;           /* an element of an array field */
    uint32_t elem;           /* its index (0 for a scalar field) */
    const char *name;        /* as a C member: "x", "pos[1]" */
    const char *ctype;       /* "float", or the enum's C name */
    const soac_scalar_info *scalar; /* the scalar, or the enum's base */
} soac_col;

struct soac_field {
    const char *name;
    soac_loc loc;
    const char *doc;
    soac_type type;
    const soac_value *def;   /* `= v`, or NULL (zero) */
    /* the model: this field's columns, in the component's `cols` */
    const soac_col *cols;
    uint32_t ncols;          /* the array length; 1 for a scalar */
};

typedef struct soac_component {
    const char *name;
    soac_loc loc;
    const char *doc;
    soac_list fields;        /* soac_field * */
    /* resolved */
    const char *cname;       /* ns_Name */
    uint64_t layout_hash;
    const struct soac_file *file;
    /* the model: every column, fields in schema order, arrays element by
     * element (none for a tag) */
    soac_col *cols;
    size_t ncols;
} soac_component;

/* A name in a system's read/write/without list. */
typedef struct soac_ref {
    const char *name;
    soac_loc loc;
    /* resolved */
    const soac_component *comp;
} soac_ref;

/* How a system uses a component (the order of the runtime's soa_access). */
typedef enum soac_access {
    SOAC_READ = 1,           /* read-only columns */
    SOAC_WRITE,              /* written (and readable) columns */
    SOAC_WITHOUT             /* only entities without it match */
} soac_access;

/* One term of a system: a component and how the system uses it. */
typedef struct soac_term {
    const soac_component *comp;
    soac_access access;
    /* the model: the term's columns are the system's columns
     * [col0, col0 + ncols): the component's, or none for a tag or a
     * `without` term */
    size_t col0, ncols;
} soac_term;

typedef struct soac_system {
    const char *name;
    soac_loc loc;
    const char *doc;
    soac_list reads, writes, without; /* soac_ref *, as written */
    /* resolved: every read, then every written, then every `without`
     * component, each group in order of first appearance, duplicates
     * removed; a component both read and written is only written */
    soac_term *terms;
    size_t nterms, nreads, nwrites, nwithout;
    size_t ncols;            /* the model: columns of every term */
    const char *cname;
    uint64_t layout_hash;
    const struct soac_file *file;
} soac_system;

typedef enum soac_decl_kind {
    SOAC_DECL_ENUM, SOAC_DECL_COMPONENT, SOAC_DECL_SYSTEM
} soac_decl_kind;

typedef struct soac_decl {
    soac_decl_kind kind;
    union {
        soac_enum *enm;
        soac_component *comp;
        soac_system *sys;
    } u;
} soac_decl;

typedef struct soac_include {
    const char *path;        /* as written */
    soac_loc loc;
    const struct soac_file *file; /* resolved: the included file */
} soac_include;

/* One `namespace NAME;` statement (a file may have at most one: check.c
 * reports the others). */
typedef struct soac_ns_decl {
    const char *name;
    soac_loc loc;
} soac_ns_decl;

/* One parsed file. */
typedef struct soac_file {
    const soac_source *src;
    const char *display;     /* the path as shown in messages and depfiles */
    const char *name;        /* the path as the generated code names it:
                              * relative to the -I directory or including
                              * file it was found by (load.c), so the same
                              * however soac was run */
    const char *ns;          /* namespace, or NULL */
    soac_loc ns_loc;
    soac_list includes;      /* soac_include * */
    soac_list decls;         /* soac_decl *, in source order */
    soac_list namespaces;    /* soac_ns_decl *, every namespace statement */
} soac_file;

/*
 * A whole compilation: the main file and everything it includes, each read
 * once.  After a successful check, `enums`, `components` and `systems` list
 * every declaration in emission order: included files first (depth-first,
 * in include order), then the main file, each in source order.
 */
typedef struct soac_schema {
    soac_arena *arena;
    const soac_file *main;
    soac_list files;         /* soac_file *, emission order, main last */
    soac_list enums;         /* soac_enum * */
    soac_list components;    /* soac_component * */
    soac_list systems;       /* soac_system * */
    soac_list sources;       /* soac_source *, every file read (owned) */
    bool modelled;           /* checked without errors: the model is built */
} soac_schema;

#endif /* SOAC_AST_H */

/*
 * compile.h: from a schema path to a checked soac_schema.
 *
 * soac_compile loads the main file and its includes (each file once, cycles
 * reported), parses them and runs the semantic checks.  Files come from a
 * soac_loader, so the fuzzer can compile from memory without ever touching
 * the file system.
 */
#ifndef SOAC_COMPILE_H
#define SOAC_COMPILE_H

#include <stddef.h>

#include "ast.h"
#include "source.h"

#define SOAC_VERSION "0.1.0"
/* The generated-code ABI the headers need: the runtime's SOA_ABI_VERSION. */
#define SOAC_ABI_VERSION 3

typedef struct soac_loader {
    /*
     * Finds `path` and reads it: 0 and a new source (key: the file's
     * identity, so one file reached by two paths is read once; display:
     * `path`), or -1 with errno (ENOENT: no such file, try the next place;
     * anything else is reported with soac_read_strerror).  `include` says
     * whether a schema asked for the file (the main file is the user's).
     */
    int (*load)(void *ctx, const char *path, bool include, soac_source **out);
    void *ctx;
} soac_loader;

/* The file-system loader (realpath identity; soac_read_file, which refuses
 * an include that is not a regular file). */
extern const soac_loader soac_fs_loader;

typedef struct soac_options {
    const char *const *include_dirs; /* -I, searched after the file's dir */
    size_t ninclude_dirs;
    const soac_loader *loader;       /* NULL: soac_fs_loader */
} soac_options;

/*
 * Compiles `path`.  Returns NULL when the main file cannot be read (reported
 * to `diag` with no location: a usage/I-O error); otherwise a schema, checked
 * when diag->errors did not grow.  Free with soac_schema_free.
 */
soac_schema *soac_compile(const char *path, const soac_options *opt,
                          soac_diag *diag);
void soac_schema_free(soac_schema *s);

/* check.c: resolves names, types, defaults and layout hashes of a loaded
 * schema (schema->files in emission order) and fills schema->enums,
 * components and systems.  Reports every error to `diag`; when there is
 * none (diag->errors is 0), builds the model (soac_model_build). */
void soac_check(soac_schema *s, soac_diag *diag);

/* model.c: builds the model (ast.h) of a schema checked without errors;
 * soac_check calls it.  Sets s->modelled. */
void soac_model_build(soac_schema *s);

/* The longest array field. */
#define SOAC_MAX_ARRAY 4096u
/* The most columns a system may have: the runtime's SOA_SYS_MAX_COLS
 * (soa/system.h), which refuses a larger layout. */
#define SOAC_MAX_SYSTEM_COLS 8192u

/* The columns of a field whose type was checked: its array length, or 1. */
static inline size_t soac_field_width(const soac_field *f)
{
    return f->type.is_array ? (size_t)f->type.array_len : 1;
}

/* The enum item named `name`, or NULL. */
const soac_enum_item *soac_enum_find(const soac_enum *e, const char *name);
/* Whether a component is a tag (no fields: no value struct, no columns). */
static inline bool soac_is_tag(const soac_component *c)
{
    return c->fields.len == 0;
}

#endif /* SOAC_COMPILE_H */

/*
 * template.h: the emitters' templates: C text with named placeholders.
 *
 *   soac_tpl t;
 *   soac_tpl_init(&t, o);
 *   soac_tpl_names(&t, "C", c->cname, &soac_component_names);
 *   soac_tpl_setu(&t, "n", c->ncols);
 *   soac_tpl_put(&t, "static inline void $C_cols_release($C_cols *c)\n");
 *
 * A placeholder is `$name` (the longest run of letters, digits and '_'
 * after the '$') or `${name}`; `$$` is a '$'.  It expands to, first, a
 * value set with soac_tpl_set/soac_tpl_setu under exactly that name; else,
 * when it is PREFIX or PREFIX_suffix of a name list bound with
 * soac_tpl_names and the suffix is in that list (names.h), the bound C
 * name with the suffix.  So `$C_cols_init` is `Position_cols_init`, and a
 * generated name that check.c does not reserve cannot be written.  An
 * unknown placeholder is a bug in soac: it stops the compiler.
 */
#ifndef SOAC_TEMPLATE_H
#define SOAC_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "out.h"

#define SOAC_TPL_VARS 24
#define SOAC_TPL_GROUPS 4

typedef struct soac_tpl_var {
    const char *name;
    const char *value;  /* NULL: the number in `num` */
    char num[24];
} soac_tpl_var;

typedef struct soac_tpl_group {
    const char *prefix;         /* "C" */
    const char *cname;          /* "Position" */
    const soac_names *names;
} soac_tpl_group;

typedef struct soac_tpl {
    soac_out *o;
    soac_tpl_var vars[SOAC_TPL_VARS];
    size_t nvars;
    soac_tpl_group groups[SOAC_TPL_GROUPS];
    size_t ngroups;
} soac_tpl;

/* A template writing to `o`, with no values. */
void soac_tpl_init(soac_tpl *t, soac_out *o);
/* Sets `name` (a string the caller keeps alive) to `value` (likewise),
 * replacing an earlier value of that name. */
void soac_tpl_set(soac_tpl *t, const char *name, const char *value);
/* Sets `name` to a decimal number. */
void soac_tpl_setu(soac_tpl *t, const char *name, uint64_t value);
/* Sets `name` to a number as 16 hex digits (a hash: 0x${name}ULL). */
void soac_tpl_setx(soac_tpl *t, const char *name, uint64_t value);
/* Binds `prefix` (and prefix_suffix for every suffix of `names`) to C
 * name `cname`, replacing an earlier binding of that prefix. */
void soac_tpl_names(soac_tpl *t, const char *prefix, const char *cname,
                    const soac_names *names);
/* Appends `text` with every placeholder expanded. */
void soac_tpl_put(const soac_tpl *t, const char *text);

#endif /* SOAC_TEMPLATE_H */

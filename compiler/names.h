/*
 * names.h: every C identifier a generated header defines for a
 * declaration, as a suffix of the declaration's C name (`Position` +
 * `_cols_init`).
 *
 * One list per kind of declaration, read by both sides: check.c reserves
 * each name (a component called `Position_cols` beside `Position` is an
 * error, not a header that fails to compile), and the emitters can only
 * write a generated name through a template placeholder (`$C_cols_init`,
 * template.h), which must be in these lists.  A new generated function is
 * added here, or the emitter that writes it stops the compiler.
 */
#ifndef SOAC_NAMES_H
#define SOAC_NAMES_H

#include <stdbool.h>
#include <stddef.h>

typedef struct soac_names {
    const char *kind;               /* "component", "system", "enum" */
    const char *const *suffixes;    /* "" is the C name itself */
    size_t n;
} soac_names;

extern const soac_names soac_component_names;
extern const soac_names soac_system_names;
/* An enum's; each of its values E_name is a name of its own. */
extern const soac_names soac_enum_names;

/* Whether `suffix` ("_cols_init") is in the list. */
bool soac_names_has(const soac_names *l, const char *suffix);

#endif /* SOAC_NAMES_H */

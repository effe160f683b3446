/* names.c: the generated names of each kind of declaration (see names.h). */
#include <string.h>

#include "names.h"

static const char *const component_suffixes[] = {
    "", "_LAYOUT_HASH", "_DEFAULTS_HASH", "_SCHEMA", "_default", "_default_value", "_desc",
    "_desc_fields", "_cols", "_cols_shape", "_cols_init", "_cols_release", "_cols_store",
    "_cols_load", "_cols_gather", "_cols_scatter", "_mark_changed",
    "_is_changed", "_clear_changed", "_count_changed", "_commit_changed",
    /* the typed accessors of soa/world.h (a tag has _add, _has, _remove) */
    "_get", "_set", "_add", "_has", "_remove", "_chunk", "_each_changed",
    "_reset_changed",
};

static const char *const system_suffixes[] = {
    "_LAYOUT_HASH", "_snap", "_view", "_kernel", "_kernel_fn", "_call",
    "_layout_cols", "_layout_terms", "_layout", "_snap_init",
    "_snap_release", "_build", "_build_on", "_run", "_run_range", "_commit",
    "_commit_on", "_snap_publish", "_snap_attach", "_erased_snap_init",
    "_reads", "_writes", "_without", "_system", "_shm",
};

static const char *const enum_suffixes[] = { "", "_str", "_VALUES_HASH", "_SCHEMA" };

#define LIST(kind, a) { kind, a, sizeof a / sizeof a[0] }
const soac_names soac_component_names = LIST("component", component_suffixes);
const soac_names soac_system_names = LIST("system", system_suffixes);
const soac_names soac_enum_names = LIST("enum", enum_suffixes);

bool soac_names_has(const soac_names *l, const char *suffix)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->suffixes[i], suffix) == 0)
            return true;
    return false;
}

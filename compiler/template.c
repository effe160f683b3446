/* template.c: placeholders in emitter templates (see template.h). */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

void soac_tpl_init(soac_tpl *t, soac_out *o)
{
    memset(t, 0, sizeof *t);
    t->o = o;
}

static soac_tpl_var *var_slot(soac_tpl *t, const char *name)
{
    for (size_t i = 0; i < t->nvars; i++)
        if (strcmp(t->vars[i].name, name) == 0)
            return &t->vars[i];
    assert(t->nvars < SOAC_TPL_VARS);
    if (t->nvars == SOAC_TPL_VARS)
        abort();
    t->vars[t->nvars].name = name;
    return &t->vars[t->nvars++];
}

void soac_tpl_set(soac_tpl *t, const char *name, const char *value)
{
    assert(value);
    var_slot(t, name)->value = value;
}

void soac_tpl_setu(soac_tpl *t, const char *name, uint64_t value)
{
    soac_tpl_var *v = var_slot(t, name);
    v->value = NULL;
    snprintf(v->num, sizeof v->num, "%" PRIu64, value);
}

void soac_tpl_setx(soac_tpl *t, const char *name, uint64_t value)
{
    soac_tpl_var *v = var_slot(t, name);
    v->value = NULL;
    snprintf(v->num, sizeof v->num, "%016" PRIx64, value);
}

void soac_tpl_names(soac_tpl *t, const char *prefix, const char *cname,
                    const soac_names *names)
{
    size_t i = 0;
    while (i < t->ngroups && strcmp(t->groups[i].prefix, prefix) != 0)
        i++;
    assert(i < SOAC_TPL_GROUPS);
    if (i == SOAC_TPL_GROUPS)
        abort();
    t->groups[i].prefix = prefix;
    t->groups[i].cname = cname;
    t->groups[i].names = names;
    if (i == t->ngroups)
        t->ngroups++;
}

static bool ident_char(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

static bool put_var(const soac_tpl *t, const char *name, size_t n)
{
    for (size_t i = 0; i < t->nvars; i++) {
        const soac_tpl_var *v = &t->vars[i];
        if (strlen(v->name) == n && memcmp(v->name, name, n) == 0) {
            soac_out_puts(t->o, v->value ? v->value : v->num);
            return true;
        }
    }
    return false;
}

/* PREFIX_suffix of a bound name list: the C name and the suffix. */
static bool put_name(const soac_tpl *t, const char *name, size_t n)
{
    for (size_t i = 0; i < t->ngroups; i++) {
        const soac_tpl_group *g = &t->groups[i];
        size_t np = strlen(g->prefix);
        if (n < np || memcmp(name, g->prefix, np) != 0 ||
            (n > np && name[np] != '_'))
            continue;
        char suffix[64];
        if (n - np >= sizeof suffix)
            return false;
        memcpy(suffix, name + np, n - np);
        suffix[n - np] = '\0';
        if (!soac_names_has(g->names, suffix))
            return false;
        soac_out_puts(t->o, g->cname);
        soac_out_puts(t->o, suffix);
        return true;
    }
    return false;
}

static void put_placeholder(const soac_tpl *t, const char *name, size_t n)
{
    if (put_var(t, name, n) || put_name(t, name, n))
        return;
    fprintf(stderr, "soac: internal error: template placeholder '$%.*s' is unknown\n",
            (int)n, name);
    abort();
}

void soac_tpl_put(const soac_tpl *t, const char *text)
{
    const char *p = text;
    for (;;) {
        const char *d = strchr(p, '$');
        if (!d) {
            soac_out_puts(t->o, p);
            return;
        }
        soac_out_write(t->o, p, (size_t)(d - p));
        if (d[1] == '$') {
            soac_out_puts(t->o, "$");
            p = d + 2;
        } else if (d[1] == '{') {
            const char *end = strchr(d + 2, '}');
            assert(end);
            if (!end)
                abort();
            put_placeholder(t, d + 2, (size_t)(end - d - 2));
            p = end + 1;
        } else {
            size_t n = 0;
            while (ident_char(d[1 + n]))
                n++;
            put_placeholder(t, d + 1, n);
            p = d + 1 + n;
        }
    }
}

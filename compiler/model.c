/*
 * model.c: the checked model every emitter and --explain read (see
 * ast.h): each component's columns and each system's terms with their
 * columns.  Built once, after a check that found no errors, so every type
 * here is resolved and every reference points at a component.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "compile.h"

/* "pos[1]": element k of array field `name`. */
static const char *element_name(soac_arena *a, const char *name, uint32_t k)
{
    size_t n = strlen(name) + 16;
    char *p = soac_arena_alloc(a, n);
    snprintf(p, n, "%s[%u]", name, (unsigned)k);
    return p;
}

static void field_columns(soac_arena *a, soac_field *f, soac_col *cols)
{
    const soac_scalar_info *sc = soac_scalar_get(f->type.scalar);
    const char *ctype = f->type.enm ? f->type.enm->cname : sc->ctype;
    assert(!f->type.is_array ||
           (f->type.array_len >= 1 && f->type.array_len <= SOAC_MAX_ARRAY));
    f->ncols = f->type.is_array ? (uint32_t)f->type.array_len : 1;
    f->cols = cols;
    for (uint32_t k = 0; k < f->ncols; k++) {
        soac_col *c = &cols[k];
        c->field = f;
        c->in_array = f->type.is_array;
        c->elem = k;
        c->name = c->in_array ? element_name(a, f->name, k) : f->name;
        c->ctype = ctype;
        c->scalar = sc;
    }
}

static void component_columns(soac_arena *a, soac_component *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->fields.len; i++)
        n += soac_field_width(c->fields.items[i]);
    c->ncols = n;
    c->cols = n ? soac_arena_alloc(a, n * sizeof *c->cols) : NULL;
    n = 0;
    for (size_t i = 0; i < c->fields.len; i++) {
        soac_field *f = c->fields.items[i];
        field_columns(a, f, c->cols + n);
        n += f->ncols;
    }
    assert(n == c->ncols);
}

/* Places each term's columns: reads, then writes; `without` terms and
 * tags have none (and col0 0). */
static void system_columns(soac_system *s)
{
    size_t col = 0;
    for (size_t i = 0; i < s->nterms; i++) {
        soac_term *t = &s->terms[i];
        assert(t->comp);
        assert(i < s->nreads ? t->access == SOAC_READ
               : i < s->nreads + s->nwrites ? t->access == SOAC_WRITE
               : t->access == SOAC_WITHOUT);
        t->ncols = t->access == SOAC_WITHOUT ? 0 : t->comp->ncols;
        t->col0 = t->ncols ? col : 0;
        col += t->ncols;
    }
    s->ncols = col;
}

void soac_model_build(soac_schema *s)
{
    assert(!s->modelled);
    for (size_t i = 0; i < s->components.len; i++)
        component_columns(s->arena, s->components.items[i]);
    for (size_t i = 0; i < s->systems.len; i++)
        system_columns(s->systems.items[i]);
    s->modelled = true;
}

/* load.c: reading the main file and its includes (see compile.h).
 *
 * Includes are followed depth-first; a file is appended to schema->files
 * after everything it includes, so the list is in emission order (included
 * files first, the main file last).  A file reached twice is read once; a
 * file reached while it is still being loaded closes a cycle. */
#define _DEFAULT_SOURCE 1 /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "out.h"
#include "parse.h"

static int fs_load(void *ctx, const char *path, soac_source **out)
{
    (void)ctx;
    char *key = realpath(path, NULL);
    if (!key)
        return -1;
    char *text;
    size_t len;
    if (soac_read_file(path, &text, &len) != 0) {
        int e = errno;
        free(key);
        errno = e;
        return -1;
    }
    *out = soac_source_new(key, path, text, len);
    free(key);
    return 0;
}

const soac_loader soac_fs_loader = { fs_load, NULL };

typedef struct loader_state {
    soac_schema *s;
    const soac_options *opt;
    soac_diag *diag;
    soac_list stack;   /* soac_file * being loaded, outermost first */
    soac_list done;    /* soac_file * fully loaded */
    unsigned syntax_errors;
} loader_state;

static const soac_file *find_key(const soac_list *l, const char *key)
{
    for (size_t i = 0; i < l->len; i++) {
        const soac_file *f = l->items[i];
        if (strcmp(f->src->key, key) == 0)
            return f;
    }
    return NULL;
}

/* "dir/" of a display path ("" when it has no directory). */
static char *dir_of(soac_arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    return soac_arena_strndup(a, path, slash ? (size_t)(slash - path) + 1 : 0);
}

static char *join(soac_arena *a, const char *dir, const char *name)
{
    size_t d = strlen(dir), n = strlen(name);
    bool sep = d && dir[d - 1] != '/';
    char *p = soac_arena_alloc(a, d + sep + n + 1);
    memcpy(p, dir, d);
    if (sep)
        p[d] = '/';
    memcpy(p + d + sep, name, n + 1);
    return p;
}

static soac_file *load(loader_state *st, soac_source *src);

/* Reports the cycle that `inc` closes: the stack from `target` on. */
static void report_cycle(loader_state *st, const soac_include *inc,
                         const soac_file *target)
{
    soac_out msg = { 0 };
    size_t i = 0;
    while (i < st->stack.len && st->stack.items[i] != target)
        i++;
    for (; i < st->stack.len; i++) {
        const soac_file *f = st->stack.items[i];
        soac_out_printf(&msg, "%s -> ", f->display);
    }
    soac_error(st->diag, inc->loc, "include cycle: %s%s",
               msg.data ? msg.data : "", target->display);
    soac_out_free(&msg);
}

/* Resolves and loads one include of `from`. */
static void follow(loader_state *st, const soac_file *from, soac_include *inc)
{
    soac_arena *a = st->s->arena;
    const soac_loader *ld = st->opt && st->opt->loader ? st->opt->loader
                                                       : &soac_fs_loader;
    size_t ndirs = st->opt ? st->opt->ninclude_dirs : 0;
    if (inc->path[0] == '\0') {
        soac_error(st->diag, inc->loc, "empty include path");
        return;
    }
    for (size_t i = 0; i <= ndirs; i++) {
        if (inc->path[0] == '/' && i > 0)
            break;
        const char *dir = inc->path[0] == '/' ? ""
                        : i == 0 ? dir_of(a, from->display)
                        : st->opt->include_dirs[i - 1];
        char *cand = join(a, dir, inc->path);
        soac_source *src;
        if (ld->load(ld->ctx, cand, &src) != 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            soac_error(st->diag, inc->loc, "cannot read '%s': %s", cand,
                       strerror(errno));
            return;
        }
        const soac_file *f = find_key(&st->stack, src->key);
        if (f) {
            report_cycle(st, inc, f);
            soac_source_free(src);
            return;
        }
        if ((f = find_key(&st->done, src->key))) {
            inc->file = f;
            soac_source_free(src);
            return;
        }
        inc->file = load(st, src);
        return;
    }
    if (ndirs)
        soac_error(st->diag, inc->loc,
                   "cannot find include \"%s\" (looked next to %s and in %zu -I director%s)",
                   inc->path, from->display, ndirs, ndirs == 1 ? "y" : "ies");
    else
        soac_error(st->diag, inc->loc,
                   "cannot find include \"%s\" (looked next to %s; add -I DIR to search elsewhere)",
                   inc->path, from->display);
}

static soac_file *load(loader_state *st, soac_source *src)
{
    soac_list_push(st->s->arena, &st->s->sources, src);
    soac_file *f = soac_parse(st->s->arena, st->diag, src, &st->syntax_errors);
    soac_list_push(st->s->arena, &st->stack, f);
    for (size_t i = 0; i < f->includes.len; i++)
        follow(st, f, f->includes.items[i]);
    st->stack.len--;
    soac_list_push(st->s->arena, &st->done, f);
    soac_list_push(st->s->arena, &st->s->files, f);
    return f;
}

soac_schema *soac_compile(const char *path, const soac_options *opt,
                          soac_diag *diag)
{
    const soac_loader *ld = opt && opt->loader ? opt->loader : &soac_fs_loader;
    soac_source *src;
    if (ld->load(ld->ctx, path, &src) != 0) {
        soac_error_noloc(diag, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    soac_arena *a = soac_arena_new();
    soac_schema *s = soac_arena_alloc(a, sizeof *s);
    s->arena = a;
    loader_state st;
    memset(&st, 0, sizeof st);
    st.s = s;
    st.opt = opt;
    st.diag = diag;
    s->main = load(&st, src);
    /* a schema with syntax errors is not checked: its half-parsed
     * declarations would only add confusing follow-up errors */
    if (st.syntax_errors == 0)
        soac_check(s, diag);
    return s;
}

void soac_schema_free(soac_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->sources.len; i++)
        soac_source_free(s->sources.items[i]);
    soac_arena_free(s->arena);
}

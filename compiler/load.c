/* load.c: reading the main file and its includes (see compile.h).
 *
 * Includes are followed depth-first; a file is appended to schema->files
 * after everything it includes, so the list is in emission order (included
 * files first, the main file last).  A file reached twice is read once; a
 * file reached while it is still being loaded closes a cycle. */
#define _DEFAULT_SOURCE 1 /* realpath */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "out.h"
#include "parse.h"

/* The main schema "-" is standard input, named "<stdin>" (a key no
 * canonical path can be): its includes are found from the current
 * directory, then -I. */
static int stdin_load(soac_source **out)
{
    char *text;
    size_t len;
    if (soac_read_file("/dev/stdin", SOAC_MAX_SOURCE, false, &text, &len) != 0)
        return -1;
    *out = soac_source_new("<stdin>", "<stdin>", text, len);
    return 0;
}

static int fs_load(void *ctx, const char *path, bool include, soac_source **out)
{
    (void)ctx;
    if (!include && strcmp(path, "-") == 0)
        return stdin_load(out);
    char *key = realpath(path, NULL);
    if (!key)
        return -1;
    char *text;
    size_t len;
    if (soac_read_file(path, SOAC_MAX_SOURCE, include, &text, &len) != 0) {
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

/* A file being loaded: its includes are followed one at a time. */
typedef struct frame {
    soac_file *file;
    size_t next;       /* the next of file->includes to follow */
} frame;

/* What the loader knows of each file it read (keyed by its source's key):
 * whether it is still open (on the stack: reaching it again closes a
 * cycle), and where. */
typedef struct seen_file {
    soac_file *file;
    bool open;
    size_t depth;      /* its frame, while open */
} seen_file;

typedef struct loader_state {
    soac_schema *s;
    const soac_options *opt;
    soac_diag *diag;
    frame *stack;      /* the files being loaded, outermost first */
    size_t depth, cap;
    soac_map seen;     /* source key -> seen_file */
    unsigned syntax_errors;
} loader_state;

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

/* `path` with "." and empty parts dropped and "dir/.." folded, by its
 * text alone ("a/./b//../c.soa" is "a/c.soa"; a leading "/" and leading
 * ".." parts stay). */
static char *normalize(soac_arena *a, const char *path)
{
    size_t n = strlen(path);
    char *out = soac_arena_alloc(a, n + 2);
    size_t len = 0, keep = 0; /* keep: the part ".." may not fold */
    if (path[0] == '/')
        out[len++] = '/', keep = 1;
    for (const char *p = path; *p;) {
        size_t k = strcspn(p, "/");
        if (k == 2 && p[0] == '.' && p[1] == '.' && len > keep) {
            while (len > keep && out[len - 1] != '/')
                len--;
            if (len > keep)
                len--; /* the '/' before the folded part */
        } else if (k && !(k == 1 && p[0] == '.')) {
            if (len > (size_t)(path[0] == '/'))
                out[len++] = '/';
            memcpy(out + len, p, k);
            len += k;
            if (k == 2 && p[0] == '.' && p[1] == '.')
                keep = len;
        }
        p += k + (p[k] == '/');
    }
    out[len] = '\0';
    return out;
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The main file's name (soac_file.name): its path relative to the first
 * -I directory it lies under, else its base name. */
static const char *main_name(loader_state *st, const char *path)
{
    soac_arena *a = st->s->arena;
    const char *p = normalize(a, path);
    size_t ndirs = st->opt ? st->opt->ninclude_dirs : 0;
    for (size_t i = 0; i < ndirs; i++) {
        const char *d = normalize(a, st->opt->include_dirs[i]);
        size_t n = strlen(d);
        bool up = p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2]);
        if (n == 0 && p[0] != '/' && !up)
            return p;
        if (n && strncmp(p, d, n) == 0 && p[n] == '/' && p[n + 1])
            return p + n + 1;
    }
    return base_of(p);
}

/* An included file's name: next to `from`, the include path beside its
 * name; found in an -I directory, the include path; absolute, its base
 * name. */
static const char *include_name(soac_arena *a, const soac_file *from,
                                const char *path, bool beside)
{
    if (path[0] == '/')
        return base_of(path);
    return normalize(a, beside ? join(a, dir_of(a, from->name), path) : path);
}

/* How many files of a cycle its message names: the first CYCLE_HEAD and
 * the last CYCLE_TAIL of a longer one, so that one message stays short. */
#define CYCLE_HEAD 4
#define CYCLE_TAIL 3

/* Reports the cycle that `inc` closes: the stack from `target` on. */
static void report_cycle(loader_state *st, const soac_include *inc,
                         const seen_file *target)
{
    soac_out msg = { 0 };
    size_t n = st->depth - target->depth;
    for (size_t i = target->depth; i < st->depth; i++) {
        size_t k = i - target->depth;
        if (n > CYCLE_HEAD + CYCLE_TAIL && k == CYCLE_HEAD) {
            soac_out_printf(&msg, "... (%zu more) -> ", n - CYCLE_HEAD - CYCLE_TAIL);
            i += n - CYCLE_HEAD - CYCLE_TAIL - 1;
            continue;
        }
        soac_out_printf(&msg, "%s -> ", st->stack[i].file->display);
    }
    soac_error(st->diag, inc->loc, "include cycle: %s%s",
               msg.data ? msg.data : "", target->file->display);
    soac_out_free(&msg);
}

/* Starts loading `src` (not seen before; `name` is its soac_file.name):
 * parses it and pushes its frame. */
static soac_file *open_file(loader_state *st, soac_source *src,
                            const char *name)
{
    soac_arena *a = st->s->arena;
    soac_list_push(a, &st->s->sources, src);
    soac_file *f = soac_parse(a, st->diag, src, &st->syntax_errors);
    f->name = name;
    if (st->depth == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        frame *stack = cap > (size_t)-1 / sizeof *stack
                     ? NULL : realloc(st->stack, cap * sizeof *stack);
        if (!stack) {
            fputs("soac: out of memory\n", stderr);
            exit(2);
        }
        st->stack = stack;
        st->cap = cap;
    }
    seen_file *sf = soac_arena_alloc(a, sizeof *sf);
    sf->file = f;
    sf->open = true;
    sf->depth = st->depth;
    bool fresh;
    *soac_map_put_str(&st->seen, src->key, &fresh) = sf;
    assert(fresh);
    st->stack[st->depth++] = (frame){ f, 0 };
    return f;
}

/* Resolves one include of `from`: the source of a file to load next (and
 * its *name), or NULL when there is none (the file was loaded already, or
 * an error was reported). */
static soac_source *follow(loader_state *st, const soac_file *from,
                           soac_include *inc, const char **name)
{
    soac_arena *a = st->s->arena;
    const soac_loader *ld = st->opt && st->opt->loader ? st->opt->loader
                                                       : &soac_fs_loader;
    size_t ndirs = st->opt ? st->opt->ninclude_dirs : 0;
    if (inc->path[0] == '\0') {
        soac_error(st->diag, inc->loc, "empty include path");
        return NULL;
    }
    for (size_t i = 0; i <= ndirs; i++) {
        if (inc->path[0] == '/' && i > 0)
            break;
        const char *dir = inc->path[0] == '/' ? ""
                        : i == 0 ? dir_of(a, from->display)
                        : st->opt->include_dirs[i - 1];
        char *cand = join(a, dir, inc->path);
        soac_source *src;
        if (ld->load(ld->ctx, cand, true, &src) != 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            soac_error(st->diag, inc->loc, "cannot read '%s': %s", cand,
                       soac_read_strerror(errno));
            return NULL;
        }
        const seen_file *f = soac_map_get_str(&st->seen, src->key);
        if (f && f->open)
            report_cycle(st, inc, f);
        else if (f)
            inc->file = f->file;
        if (!f) {
            src->included_at = inc->loc;
            *name = include_name(a, from, inc->path, i == 0);
            return src;
        }
        soac_source_free(src);
        return NULL;
    }
    if (ndirs)
        soac_error(st->diag, inc->loc,
                   "cannot find include \"%s\" (looked next to %s and in %zu -I director%s)",
                   inc->path, from->display, ndirs, ndirs == 1 ? "y" : "ies");
    else
        soac_error(st->diag, inc->loc,
                   "cannot find include \"%s\" (looked next to %s; add -I DIR to search elsewhere)",
                   inc->path, from->display);
    return NULL;
}

/* Loads `main` and everything it includes, depth first with a stack of
 * its own (an include chain may be as long as there are files), each file
 * appended to schema->files once its includes are. */
static soac_file *load_all(loader_state *st, soac_source *main)
{
    soac_file *first = open_file(st, main, main_name(st, main->display));
    while (st->depth) {
        frame *top = &st->stack[st->depth - 1];
        soac_file *f = top->file;
        if (top->next == f->includes.len) {
            seen_file *sf = soac_map_get_str(&st->seen, f->src->key);
            sf->open = false;
            st->depth--;
            soac_list_push(st->s->arena, &st->s->files, f);
            continue;
        }
        soac_include *inc = f->includes.items[top->next++];
        const char *name = NULL;
        soac_source *src = follow(st, f, inc, &name);
        if (src)
            inc->file = open_file(st, src, name);
    }
    return first;
}

soac_schema *soac_compile(const char *path, const soac_options *opt,
                          soac_diag *diag)
{
    const soac_loader *ld = opt && opt->loader ? opt->loader : &soac_fs_loader;
    soac_source *src;
    if (ld->load(ld->ctx, path, false, &src) != 0) {
        soac_error_noloc(diag, "cannot read '%s': %s", path,
                         soac_read_strerror(errno));
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
    soac_map_init(&st.seen, NULL, 0);
    s->main = load_all(&st, src);
    free(st.stack);
    soac_map_free(&st.seen);
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

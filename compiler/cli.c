/*
 * cli.c: the soac command line (see cli.h and SPEC "soac, the command").
 *
 * Exit status: 0 success, 1 schema errors, 2 usage or I/O errors.  Output
 * files are written as write.h says: whole or not at all, and only when
 * their content changes.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "compile.h"
#include "emit.h"
#include "write.h"

static const char usage_text[] =
    "usage: soac [-I DIR]... [-o OUT.h] [--depfile FILE] [--explain] [--check] SCHEMA.soa\n"
    "       soac --version | --help\n";

static const char help_text[] =
    "soac compiles a .soa component schema into one C header: value structs,\n"
    "struct-of-arrays columns, reflection, layout hashes and per-system code,\n"
    "for programs built on libsoa.\n"
    "\n"
    "Options:\n"
    "  -I DIR            search DIR for included schemas (after the including\n"
    "                    file's own directory); may be repeated, searched in order\n"
    "  -o OUT.h          write the header to OUT.h (default: SCHEMA.h next to\n"
    "                    the schema, e.g. physics.soa -> physics.h)\n"
    "  --depfile FILE    also write a make rule 'OUT.h: SCHEMA.soa included.soa ...'\n"
    "                    so make, ninja or CMake rebuild when any schema changes\n"
    "  --explain         print each component's columns (C type, bytes per row,\n"
    "                    memory per 1M rows) and layout hash; write no header\n"
    "  --check           parse and check only; write nothing\n"
    "  --version         print the version and exit\n"
    "  -h, --help        print this help and exit\n"
    "\n"
    "Examples:\n"
    "  soac schemas/physics.soa                     writes schemas/physics.h\n"
    "  soac -I schemas -o gen/game.h schemas/game.soa\n"
    "  soac -o gen/game.h --depfile gen/game.d schemas/game.soa\n"
    "  soac --explain schemas/physics.soa\n"
    "  soac --check schemas/game.soa                for editors and CI\n"
    "\n"
    "Errors are printed as FILE:LINE:COL: error: MESSAGE (at most 20 per run).\n"
    "Exit status: 0 success, 1 schema errors, 2 usage or I/O errors.  A failed\n"
    "run never touches an existing output; an unchanged output is not rewritten.\n";

typedef struct cli {
    const char **incdirs;
    size_t nincdirs;
    const char *out, *depfile, *schema;
    bool explain, check;
} cli;

static int usage_error(const char *fmt, const char *arg)
{
    fputs("soac: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(usage_text, stderr);
    fputs("Try 'soac --help' for more.\n", stderr);
    return 2;
}

/* Parses argv into `c`; -1 to exit 0 (help, version), 2 on a usage error,
 * 0 to go on. */
static int parse_args(int argc, char **argv, cli *c)
{
    c->incdirs = calloc((size_t)argc, sizeof *c->incdirs);
    if (!c->incdirs)
        return usage_error("%s", "out of memory");
    bool opts = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!opts || a[0] != '-' || strcmp(a, "-") == 0) {
            if (c->schema)
                return usage_error("more than one schema given ('%s'): soac compiles one schema per run", a);
            c->schema = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            opts = false;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            fputs("\n", stdout);
            fputs(help_text, stdout);
            return -1;
        } else if (strcmp(a, "--version") == 0) {
            printf("soac %s (generated-code ABI %d)\n", SOAC_VERSION, SOAC_ABI_VERSION);
            return -1;
        } else if (strcmp(a, "--explain") == 0) {
            c->explain = true;
        } else if (strcmp(a, "--check") == 0) {
            c->check = true;
        } else if (strncmp(a, "-I", 2) == 0) {
            if (a[2]) {
                c->incdirs[c->nincdirs++] = a + 2;
                continue;
            }
            slot = &c->incdirs[c->nincdirs++];
        } else if (strcmp(a, "-o") == 0) {
            slot = &c->out;
        } else if (strcmp(a, "--depfile") == 0) {
            slot = &c->depfile;
        } else if (strncmp(a, "--depfile=", 10) == 0) {
            c->depfile = a + 10;
            continue;
        } else {
            return usage_error("unknown option '%s'", a);
        }
        if (slot) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs an argument", a);
            *slot = argv[++i];
        }
    }
    if (!c->schema)
        return usage_error("%s", "no schema given");
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* SCHEMA.soa -> SCHEMA.h (anything else: SCHEMA.h appended). */
static char *default_output(const char *schema)
{
    size_t n = strlen(schema);
    if (n > 4 && strcmp(schema + n - 4, ".soa") == 0)
        n -= 4;
    char *o = malloc(n + 3);
    if (!o)
        return NULL;
    memcpy(o, schema, n);
    memcpy(o + n, ".h", 3);
    return o;
}

/* SOAC_<NAMESPACE>_<OUTPUT NAME>_H, letters upper-cased, anything not a
 * letter or digit as '_'. */
static void make_guard(soac_out *g, const char *ns, const char *out)
{
    soac_out_puts(g, "SOAC_");
    const char *parts[2] = { ns, base_name(out) };
    for (int k = 0; k < 2; k++) {
        if (!parts[k])
            continue;
        for (const char *p = parts[k]; *p; p++) {
            char ch = *p;
            if (ch >= 'a' && ch <= 'z')
                ch = (char)(ch - 'a' + 'A');
            else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
                ch = '_';
            soac_out_write(g, &ch, 1);
        }
        soac_out_puts(g, "_");
    }
    g->data[--g->len] = '\0';
}

/* Whether two paths name one existing regular file (anything else may be
 * written twice: -o /dev/null --depfile /dev/null). */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && S_ISREG(sa.st_mode) &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Whether two outputs would be one regular file: they name one, or they
 * are one path to no file yet. */
static bool same_output(const char *a, const char *b)
{
    struct stat st;
    return same_file(a, b) || (strcmp(a, b) == 0 && stat(a, &st) != 0);
}

/* Refuses outputs that would overwrite the schema or each other: 0, or 2
 * after saying which. */
static int check_outputs(const cli *c, const char *out)
{
    if (same_file(out, c->schema) ||
        (c->depfile && same_file(c->depfile, c->schema))) {
        fprintf(stderr, "soac: error: refusing to overwrite '%s' with generated output\n",
                c->schema);
        return 2;
    }
    if (c->depfile && same_output(c->depfile, out)) {
        fprintf(stderr, "soac: error: refusing to write the depfile '%s' over the header '%s'\n",
                c->depfile, out);
        return 2;
    }
    return 0;
}

/* A path as a make target or prerequisite: spaces and '#' escaped with a
 * backslash, '$' doubled. */
static void put_make_path(soac_out *o, const char *p)
{
    for (; *p; p++) {
        if (*p == ' ' || *p == '#' || *p == '\t')
            soac_out_puts(o, "\\");
        else if (*p == '$')
            soac_out_puts(o, "$");
        soac_out_write(o, p, 1);
    }
}

/* The first path of the rule that make cannot name (a newline ends a
 * rule, and no escape puts one in a path), or NULL. */
static const char *unnameable(const soac_schema *s, const char *out)
{
    if (strchr(out, '\n'))
        return out;
    for (size_t i = 0; i < s->files.len; i++) {
        const soac_file *f = s->files.items[i];
        if (strchr(f->display, '\n'))
            return f->display;
    }
    return NULL;
}

/* `OUT: SCHEMA included...` and an empty rule per included file; every
 * path can be named (unnameable() is NULL). */
static void make_depfile(soac_out *o, const soac_schema *s, const char *out)
{
    put_make_path(o, out);
    soac_out_puts(o, ":");
    soac_out_puts(o, " ");
    put_make_path(o, s->main->display);
    for (size_t i = 0; i < s->files.len; i++) {
        const soac_file *f = s->files.items[i];
        if (f == s->main)
            continue;
        soac_out_puts(o, " \\\n  ");
        put_make_path(o, f->display);
    }
    soac_out_puts(o, "\n");
    /* like gcc -MP: a deleted include does not break the build */
    for (size_t i = 0; i < s->files.len; i++) {
        const soac_file *f = s->files.items[i];
        if (f == s->main)
            continue;
        soac_out_puts(o, "\n");
        put_make_path(o, f->display);
        soac_out_puts(o, ":\n");
    }
}

/* Refuses a depfile whose rule would name `path` (which has a newline). */
static int depfile_error(const char *depfile, const char *path)
{
    fprintf(stderr, "soac: error: cannot write the depfile '%s': the path '", depfile);
    for (const char *p = path; *p; p++) {
        if (*p == '\n')
            fputs("\\n", stderr);
        else
            fputc(*p, stderr);
    }
    fputs("' has a newline, which no make rule can hold\n", stderr);
    return 2;
}

/* Per component, one line per field (an array field on one line) and the
 * changed bitset, from the model. */
static void explain(const soac_schema *s)
{
    assert(s->modelled);
    for (size_t i = 0; i < s->components.len; i++) {
        const soac_component *c = s->components.items[i];
        printf("%scomponent %s  (C name %s, layout hash 0x%016llx)\n", i ? "\n" : "",
               c->name, c->cname, (unsigned long long)c->layout_hash);
        printf("  %-20s %-12s %10s %14s %12s\n", "column", "C type",
               "bytes/row", "bytes/1M rows", "MiB/1M rows");
        double total = 0;
        for (size_t k = 0; k < c->fields.len; k++) {
            const soac_field *f = c->fields.items[k];
            const char *ct = f->cols[0].ctype;
            uint64_t n = f->ncols;
            double bytes = (double)(n * f->cols[0].scalar->size);
            soac_out name = { NULL, 0, 0 }, type = { NULL, 0, 0 };
            if (f->type.is_array) {
                soac_out_printf(&name, "%s[%llu]", f->name, (unsigned long long)n);
                soac_out_printf(&type, "%llu x %s", (unsigned long long)n, ct);
            } else {
                soac_out_puts(&name, f->name);
                soac_out_puts(&type, ct);
            }
            printf("  %-20s %-12s %10.0f %14.0f %12.2f\n", name.data, type.data,
                   bytes, bytes * 1e6, bytes * 1e6 / 1048576.0);
            soac_out_free(&name);
            soac_out_free(&type);
            total += bytes;
        }
        printf("  %-20s %-12s %10.3f %14.0f %12.2f\n", "changed", "1 bit", 0.125,
               0.125e6, 0.125e6 / 1048576.0);
        total += 0.125;
        printf("  %-20s %-12s %10.3f %14.0f %12.2f\n", "total", "", total,
               total * 1e6, total * 1e6 / 1048576.0);
    }
    if (s->components.len == 0)
        printf("no components\n");
}

static int run(const cli *c)
{
    soac_diag diag;
    memset(&diag, 0, sizeof diag);
    diag.out = stderr;
    soac_options opt = { c->incdirs, c->nincdirs, NULL };
    soac_schema *s = soac_compile(c->schema, &opt, &diag);
    if (!s)
        return 2;
    if (diag.errors) {
        soac_diag_flush(&diag);
        soac_schema_free(s);
        return 1;
    }
    int rc = 0;
    if (c->explain) {
        explain(s);
    } else if (!c->check) {
        char *def = c->out ? NULL : default_output(c->schema);
        const char *out = c->out ? c->out : def;
        soac_out header = { 0 }, guard = { 0 }, dep = { 0 };
        if (check_outputs(c, out) != 0) {
            free(def);
            soac_schema_free(s);
            return 2;
        }
        make_guard(&guard, s->main->ns, out);
        soac_emit_header(&header, s, guard.data, base_name(c->schema));
        /* The depfile first: if it cannot be written the header stays as
         * it was (older than the schema), so the build runs soac again
         * instead of trusting a header whose dependencies it never saw. */
        if (c->depfile) {
            const char *bad = unnameable(s, out);
            if (bad) {
                rc = depfile_error(c->depfile, bad);
            } else {
                make_depfile(&dep, s, out);
                rc = soac_write_output(c->depfile, &dep);
            }
        }
        if (rc == 0)
            rc = soac_write_output(out, &header);
        soac_out_free(&header);
        soac_out_free(&guard);
        soac_out_free(&dep);
        free(def);
    }
    soac_schema_free(s);
    return rc;
}

int soac_cli_main(int argc, char **argv)
{
    /* past a file size limit (ulimit -f) a write fails with EFBIG, and
     * the temporary file is removed, instead of a kill leaving it */
    signal(SIGXFSZ, SIG_IGN);
    cli c;
    memset(&c, 0, sizeof c);
    int rc = parse_args(argc, argv, &c);
    if (rc == 0)
        rc = run(&c);
    else if (rc < 0)
        rc = 0;
    free(c.incdirs);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "soac: error: cannot write to standard output: %s\n", strerror(errno));
        rc = 2;
    }
    return rc;
}

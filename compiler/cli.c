/*
 * cli.c: the soac command line (see cli.h and SPEC "soac, the command").
 *
 * Exit status: 0 success, 1 schema errors, 2 usage or I/O errors.  Output
 * files are written as write.h says: whole or not at all, and only when
 * their content changes.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
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
    "usage: soac [-I DIR]... [-o OUT.h | -o DIR/ | --stdout] [--depfile FILE [--deptarget T]]\n"
    "            [--explain] [--check] SCHEMA.soa|- ...\n"
    "       soac --version | --help\n";

static const char help_text[] =
    "soac compiles a .soa component schema into one C header: value structs,\n"
    "struct-of-arrays columns, reflection, layout hashes and per-system code,\n"
    "for programs built on libsoa.\n"
    "\n"
    "Options:\n"
    "  -I DIR            search DIR for included schemas (after the including\n"
    "                    file's own directory); may be repeated, searched in order\n"
    "  -o OUT.h, -oOUT.h write the header to OUT.h (default: SCHEMA.h next to\n"
    "                    the schema, e.g. physics.soa -> physics.h)\n"
    "  -o DIR/           write each schema's header into DIR (a directory that\n"
    "                    exists, or a path ending in '/'): DIR/SCHEMA.h\n"
    "  --stdout          write the header to standard output\n"
    "  -                 (as a schema) read the schema from standard input;\n"
    "                    includes are found from the current directory and -I\n"
    "  --depfile FILE    also write a make rule 'OUT.h: SCHEMA.soa included.soa ...'\n"
    "                    so make, ninja or CMake rebuild when any schema changes\n"
    "                    (one rule per header)\n"
    "  --deptarget T     name T as the rule's target instead of the header's path\n"
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
    "  soac -I schemas -o gen/ schemas/*.soa        one header each, in gen/\n"
    "  cat game.soa | soac --stdout - > game.h\n"
    "\n"
    "Errors are printed as FILE:LINE:COL: error: MESSAGE (at most 20 per schema).\n"
    "Exit status: 0 success, 1 schema errors, 2 usage or I/O errors.  Every\n"
    "schema is checked before anything is written: a failed run never touches\n"
    "an existing output; an unchanged output is not rewritten.\n";

typedef struct cli {
    const char **incdirs;
    size_t nincdirs;
    const char **schemas;   /* the inputs, in order; "-" is standard input */
    size_t nschemas;
    const char *out, *depfile, *deptarget;
    bool explain, check, to_stdout;
    bool out_dir;           /* -o names a directory: DIR/SCHEMA.h each */
} cli;

/* The name standard input has in messages, banners and guards. */
static const char stdin_name[] = "<stdin>";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("soac: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(usage_text, stderr);
    fputs("Try 'soac --help' for more.\n", stderr);
    return 2;
}

/* Whether `-o PATH` names a directory: it ends in '/' or is one. */
static bool names_dir(const char *path)
{
    struct stat st;
    size_t n = strlen(path);
    return (n && path[n - 1] == '/') || (stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

/* Options that only make sense together: 0, or 2 after saying why. */
static int check_combinations(cli *c)
{
    const char *writes_none = c->explain ? "--explain" : c->check ? "--check" : NULL;
    if (writes_none) {
        if (c->depfile)
            return usage_error("--depfile describes a header, and %s writes none", writes_none);
        if (c->deptarget)
            return usage_error("--deptarget describes a header, and %s writes none", writes_none);
        if (c->to_stdout)
            return usage_error("--stdout writes the header, and %s writes none", writes_none);
    }
    if (c->deptarget && !c->depfile)
        return usage_error("%s", "--deptarget names the target of --depfile's rule: give --depfile FILE too");
    if (c->to_stdout && c->out)
        return usage_error("%s", "--stdout and -o both say where the header goes: give one");
    if (c->to_stdout && c->nschemas > 1)
        return usage_error("%s", "--stdout writes one header: give one schema (or -o DIR/ for several)");
    if (c->to_stdout && c->depfile && !c->deptarget)
        return usage_error("%s", "a header on standard output has no path for the depfile's rule: give --deptarget T");
    if (c->deptarget && c->nschemas > 1)
        return usage_error("%s", "--deptarget names one header's rule, and several schemas give several: drop it");
    c->out_dir = c->out && names_dir(c->out);
    if (c->out && !c->out_dir && c->nschemas > 1)
        return usage_error("-o '%s' names one file, and several schemas give several headers: "
                           "give a directory (-o DIR/)", c->out);
    bool writes = !c->explain && !c->check;
    for (size_t i = 0; writes && i < c->nschemas; i++)
        if (strcmp(c->schemas[i], "-") == 0 && !c->to_stdout && !(c->out && !c->out_dir))
            return usage_error("%s", "a schema from standard input ('-') has no name for its header: "
                                     "give -o OUT.h or --stdout");
    return 0;
}

/* Parses argv into `c`; -1 to exit 0 (help, version), 2 on a usage error,
 * 0 to go on. */
static int parse_args(int argc, char **argv, cli *c)
{
    c->incdirs = calloc((size_t)argc, sizeof *c->incdirs);
    c->schemas = calloc((size_t)argc, sizeof *c->schemas);
    if (!c->incdirs || !c->schemas)
        return usage_error("%s", "out of memory");
    bool opts = true, stdin_seen = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!opts || a[0] != '-' || strcmp(a, "-") == 0) {
            if (strcmp(a, "-") == 0 && opts) {
                if (stdin_seen)
                    return usage_error("%s", "standard input ('-') given twice");
                stdin_seen = true;
            }
            c->schemas[c->nschemas++] = a;
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
        } else if (strcmp(a, "--stdout") == 0) {
            c->to_stdout = true;
        } else if (strncmp(a, "-I", 2) == 0) {
            if (a[2]) {
                c->incdirs[c->nincdirs++] = a + 2;
                continue;
            }
            slot = &c->incdirs[c->nincdirs++];
        } else if (strncmp(a, "-o", 2) == 0) {
            if (c->out)
                return usage_error("-o given twice (the second: '%s')", a[2] ? a + 2 : i + 1 < argc ? argv[i + 1] : "");
            if (a[2]) {
                c->out = a + 2;
                continue;
            }
            slot = &c->out;
        } else if (strcmp(a, "--depfile") == 0) {
            slot = &c->depfile;
        } else if (strncmp(a, "--depfile=", 10) == 0) {
            c->depfile = a + 10;
            continue;
        } else if (strcmp(a, "--deptarget") == 0) {
            slot = &c->deptarget;
        } else if (strncmp(a, "--deptarget=", 12) == 0) {
            c->deptarget = a + 12;
            continue;
        } else {
            return usage_error("unknown option '%s'", a);
        }
        if (slot) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs an argument", a);
            *slot = argv[++i];
            if (!**slot)
                return usage_error("option '%s' needs a non-empty argument", a);
        }
    }
    if (!c->nschemas)
        return usage_error("%s", "no schema given");
    if (c->out && !*c->out)
        return usage_error("%s", "option '-o' needs a non-empty argument");
    return check_combinations(c);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* SCHEMA.soa -> SCHEMA.h (anything else: SCHEMA.h appended), next to the
 * schema or, with `dir`, as DIR/SCHEMA.h. */
static char *default_output(const char *schema, const char *dir)
{
    const char *name = dir ? base_name(schema) : schema;
    size_t n = strlen(name), d = dir ? strlen(dir) : 0;
    if (n > 4 && strcmp(name + n - 4, ".soa") == 0)
        n -= 4;
    bool sep = d && dir[d - 1] != '/';
    char *o = malloc(d + sep + n + 3);
    if (!o)
        return NULL;
    if (d)
        memcpy(o, dir, d);
    if (sep)
        o[d] = '/';
    memcpy(o + d + sep, name, n);
    memcpy(o + d + sep + n, ".h", 3);
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
static int check_outputs(const cli *c, const char *schema, const char *out)
{
    if (strcmp(schema, "-") != 0 &&
        ((out && same_file(out, schema)) || (c->depfile && same_file(c->depfile, schema)))) {
        fprintf(stderr, "soac: error: refusing to overwrite '%s' with generated output\n",
                schema);
        return 2;
    }
    if (!out)
        return 0;
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

/* `TARGET: SCHEMA included...` and an empty rule per included file; every
 * path can be named (unnameable() is NULL).  A schema from standard input
 * is no prerequisite (there is no file to watch), its includes are. */
static void make_depfile(soac_out *o, const soac_schema *s, const char *target,
                         bool from_stdin)
{
    put_make_path(o, target);
    soac_out_puts(o, ":");
    const char *sep = " ";
    if (!from_stdin) {
        soac_out_puts(o, sep);
        put_make_path(o, s->main->display);
        sep = " \\\n  ";
    }
    for (size_t i = 0; i < s->files.len; i++) {
        const soac_file *f = s->files.items[i];
        if (f == s->main)
            continue;
        soac_out_puts(o, sep);
        put_make_path(o, f->display);
        sep = " \\\n  ";
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

/* One schema of a run: compiled, and where its header goes. */
typedef struct job {
    const char *schema;  /* as given; "-" is standard input */
    soac_schema *s;
    char *out;           /* the header's path, or NULL: standard output */
} job;

static bool from_stdin(const job *j)
{
    return strcmp(j->schema, "-") == 0;
}

/* Where each header goes, refusing outputs that would overwrite a schema,
 * the depfile or each other: 0, or 2 after saying why. */
static int plan_outputs(const cli *c, job *jobs)
{
    for (size_t i = 0; i < c->nschemas; i++) {
        job *j = &jobs[i];
        if (!c->to_stdout) {
            j->out = c->out && !c->out_dir ? strdup(c->out)
                                           : default_output(j->schema, c->out);
            if (!j->out) {
                fprintf(stderr, "soac: error: out of memory\n");
                return 2;
            }
        }
        if (check_outputs(c, j->schema, j->out) != 0)
            return 2;
        for (size_t k = 0; k < i; k++) {
            if (j->out && same_output(jobs[k].out, j->out)) {
                fprintf(stderr, "soac: error: '%s' and '%s' would both write '%s': "
                                "give them different names or compile them apart\n",
                        from_stdin(&jobs[k]) ? stdin_name : jobs[k].schema,
                        from_stdin(j) ? stdin_name : j->schema, j->out);
                return 2;
            }
        }
    }
    return 0;
}

/* The header of one job, into `header`. */
static void make_header(soac_out *header, const job *j)
{
    const char *name = from_stdin(j) ? "stdin.soa" : j->schema;
    char *def = j->out ? NULL : default_output(name, NULL);
    soac_out guard = { NULL, 0, 0 };
    make_guard(&guard, j->s->main->ns, j->out ? j->out : def ? def : "stdin.h");
    soac_emit_header(header, j->s, guard.data,
                     from_stdin(j) ? stdin_name : base_name(j->schema));
    soac_out_free(&guard);
    free(def);
}

/* The depfile: a rule per header.  0, or 2 after saying why not. */
static int write_depfile(const cli *c, const job *jobs)
{
    soac_out dep = { NULL, 0, 0 };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < c->nschemas; i++) {
        const char *target = c->deptarget ? c->deptarget : jobs[i].out;
        assert(target);
        const char *bad = unnameable(jobs[i].s, target);
        if (bad) {
            rc = depfile_error(c->depfile, bad);
            break;
        }
        if (i)
            soac_out_puts(&dep, "\n");
        make_depfile(&dep, jobs[i].s, target, from_stdin(&jobs[i]));
    }
    if (rc == 0)
        rc = soac_write_output(c->depfile, &dep);
    soac_out_free(&dep);
    return rc;
}

/* Writes every header (after the depfile: if that cannot be written the
 * headers stay as they were, older than their schemas, so the build runs
 * soac again instead of trusting headers whose dependencies it never
 * saw). */
static int write_outputs(const cli *c, job *jobs)
{
    int rc = plan_outputs(c, jobs);
    if (rc == 0 && c->depfile)
        rc = write_depfile(c, jobs);
    for (size_t i = 0; rc == 0 && i < c->nschemas; i++) {
        soac_out header = { NULL, 0, 0 };
        make_header(&header, &jobs[i]);
        if (jobs[i].out)
            rc = soac_write_output(jobs[i].out, &header);
        else if (fwrite(header.data, 1, header.len, stdout) != header.len)
            rc = 2; /* said by soac_cli_main's check of stdout */
        soac_out_free(&header);
    }
    return rc;
}

/* Compiles every schema (all of them are checked, and their errors shown,
 * before anything is written), then explains them or writes their
 * headers. */
static int run(const cli *c)
{
    job *jobs = calloc(c->nschemas, sizeof *jobs);
    if (!jobs) {
        fprintf(stderr, "soac: error: out of memory\n");
        return 2;
    }
    int rc = 0;
    soac_options opt = { c->incdirs, c->nincdirs, NULL };
    for (size_t i = 0; i < c->nschemas; i++) {
        soac_diag diag;
        memset(&diag, 0, sizeof diag);
        diag.out = stderr;
        jobs[i].schema = c->schemas[i];
        soac_schema *s = soac_compile(c->schemas[i], &opt, &diag);
        if (!s) {
            rc = 2;
            continue;
        }
        if (diag.errors) {
            soac_diag_flush(&diag);
            soac_schema_free(s);
            rc = rc ? rc : 1;
            continue;
        }
        jobs[i].s = s;
    }
    if (rc == 0 && c->explain) {
        for (size_t i = 0; i < c->nschemas; i++) {
            if (c->nschemas > 1)
                printf("%sschema %s\n\n", i ? "\n" : "",
                       from_stdin(&jobs[i]) ? stdin_name : jobs[i].schema);
            explain(jobs[i].s);
        }
    } else if (rc == 0 && !c->check) {
        rc = write_outputs(c, jobs);
    }
    for (size_t i = 0; i < c->nschemas; i++) {
        soac_schema_free(jobs[i].s);
        free(jobs[i].out);
    }
    free(jobs);
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
    free(c.schemas);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "soac: error: cannot write to standard output: %s\n", strerror(errno));
        rc = 2;
    }
    return rc;
}

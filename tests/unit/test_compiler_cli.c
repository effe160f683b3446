/*
 * soac, the command: exit statuses, --help/--version, output files (never
 * truncated on error, not rewritten when unchanged, default name), the
 * depfile, --check/--explain, and layout hashes as --explain prints them.
 */
#include "../compiler/soac_run.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tmpdir.h"

/* Runs `PREFIX FMT...` through the shell ("$SOAC" is the soac under
 * test): its exit status, and its output in *out (or freed). */
static int vsh(char **out, const char *prefix, const char *fmt, va_list ap)
{
    char cmd[2048];
    int n = snprintf(cmd, sizeof cmd, "%s", prefix);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    char *o;
    int rc = soac_sh(cmd, &o);
    if (out)
        *out = o;
    else
        free(o);
    return rc;
}

/* Runs soac with printf-style arguments, as vsh. */
static int run(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vsh(out, "\"$SOAC\" ", fmt, ap);
    va_end(ap);
    return rc;
}

/* Runs a printf-style shell command line, as vsh. */
static int sh(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vsh(out, "", fmt, ap);
    va_end(ap);
    return rc;
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static const char good[] =
    "component Position { x: f32; y: f32; }\n"
    "component Velocity { x: f32; y: f32 = -9.81; }\n";

static void usage_errors(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run(&out, "%s", path("missing.soa")), 2);
    assert_non_null(strstr(out, "soac: error: cannot read"));
    assert_non_null(strstr(out, "No such file"));
    free(out);
    assert_int_equal(run(&out, "--frobnicate x.soa"), 2);
    assert_non_null(strstr(out, "unknown option '--frobnicate'"));
    assert_non_null(strstr(out, "usage: soac"));
    free(out);
    assert_int_equal(run(&out, "schemas/physics.soa -o"), 2);
    assert_non_null(strstr(out, "option '-o' needs an argument"));
    free(out);
    assert_int_equal(run(&out, ""), 2);
    assert_non_null(strstr(out, "no schema given"));
    free(out);
    assert_int_equal(run(&out, "-o x.h a.soa b.soa"), 2);
    assert_non_null(strstr(out, "-o 'x.h' names one file, and several schemas"));
    free(out);
    /* a directory as the output: an I/O error, nothing left behind */
    assert_int_equal(spit(path("p.soa"), good), 0);
    assert_int_equal(run(&out, "-o %s/nodir/x.h %s", tmpdir, path("p.soa")), 2);
    assert_non_null(strstr(out, "cannot create a temporary file"));
    free(out);
    /* the schema itself as the output: refused, the schema intact */
    assert_int_equal(run(&out, "-o %s %s", path("p.soa"), path("p.soa")), 2);
    assert_non_null(strstr(out, "refusing to overwrite"));
    free(out);
    char *kept = slurp(path("p.soa"), NULL);
    assert_string_equal(kept, good);
    free(kept);
    /* the header and the depfile in one file: refused */
    assert_int_equal(spit(path("p.h"), "old\n"), 0);
    assert_int_equal(run(&out, "-o %s --depfile %s %s", path("p.h"), path("p.h"), path("p.soa")), 2);
    assert_non_null(strstr(out, "refusing to write the depfile"));
    free(out);
    kept = slurp(path("p.h"), NULL);
    assert_string_equal(kept, "old\n");
    free(kept);
    /* ... and before either exists (the header overwrote the depfile) */
    assert_int_equal(run(&out, "-o %s --depfile %s %s", path("q.h"), path("q.h"), path("p.soa")), 2);
    assert_non_null(strstr(out, "refusing to write the depfile"));
    free(out);
    assert_int_equal(access(path("q.h"), F_OK), -1);
}

/* Several schemas per run (-o DIR/), standard input ('-') and output
 * (--stdout), --deptarget, -oFILE, and the options that cannot go
 * together: refused, nothing written. */
static void several_schemas_and_streams(void **state)
{
    (void)state;
    char dir[512], gen[600], p[1024];
    snprintf(dir, sizeof dir, "%s/multi", tmpdir);
    snprintf(gen, sizeof gen, "%s/gen", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(p, sizeof p, "%s/lib.soa", dir);
    assert_int_equal(spit(p, "component L { x: f32; }\n"), 0);
    snprintf(p, sizeof p, "%s/main.soa", dir);
    assert_int_equal(spit(p, "include \"lib.soa\";\ncomponent M { y: f32; }\n"), 0);
    char *out;
    /* -o DIR/ (not there yet: a write error names it, nothing is made) */
    assert_int_equal(run(&out, "-o %s/ %s/main.soa %s/lib.soa", gen, dir, dir), 2);
    assert_non_null(strstr(out, "gen/main.h"));
    free(out);
    assert_int_equal(mkdir(gen, 0755), 0);
    assert_int_equal(run(&out, "-o %s/ --depfile %s/all.d %s/main.soa %s/lib.soa", gen, gen, dir, dir), 0);
    free(out);
    assert_int_equal(entries(gen), 3);
    /* each header is what a run of its own writes */
    assert_int_equal(sh(&out, "mkdir %s/single", dir), 0);
    free(out);
    const char *names[] = { "main", "lib" };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run(&out, "-o %s/single/%s.h %s/%s.soa", dir, names[i], dir, names[i]), 0);
        free(out);
        snprintf(p, sizeof p, "%s/single/%s.h", dir, names[i]);
        char *one = slurp(p, NULL);
        snprintf(p, sizeof p, "%s/%s.h", gen, names[i]);
        char *many = slurp(p, NULL);
        assert_non_null(one);
        assert_non_null(many);
        assert_string_equal(one, many);
        free(one);
        free(many);
    }
    /* one depfile, a rule per header */
    snprintf(p, sizeof p, "%s/all.d", gen);
    char *d = slurp(p, NULL);
    char want[4096];
    snprintf(want, sizeof want,
             "%s/main.h: %s/main.soa \\\n  %s/lib.soa\n\n%s/lib.soa:\n\n%s/lib.h: %s/lib.soa\n",
             gen, dir, dir, dir, gen, dir);
    assert_string_equal(d, want);
    free(d);
    /* a directory named without its '/' is one too; two schemas that
     * would write one header are refused before either is written */
    assert_int_equal(sh(&out, "mkdir %s/b && cp %s/lib.soa %s/b/lib.soa", dir, dir, dir), 0);
    free(out);
    snprintf(p, sizeof p, "%s/lib.h", gen);
    assert_int_equal(spit(p, "old\n"), 0);
    assert_int_equal(run(&out, "-o %s %s/lib.soa %s/b/lib.soa", gen, dir, dir), 2);
    assert_non_null(strstr(out, "would both write"));
    free(out);
    char *kept = slurp(p, NULL);
    assert_string_equal(kept, "old\n");
    free(kept);
    /* an error in one schema: every schema is reported, nothing written */
    snprintf(p, sizeof p, "%s/bad.soa", dir);
    assert_int_equal(spit(p, "component B { x: f33; }\n"), 0);
    snprintf(p, sizeof p, "%s/bad2.soa", dir);
    assert_int_equal(spit(p, "component C { x: i33; }\n"), 0);
    assert_int_equal(run(&out, "-o %s/ %s/bad.soa %s/main.soa %s/bad2.soa", gen, dir, dir, dir), 1);
    assert_non_null(strstr(out, "bad.soa:1:18: error: unknown type 'f33'"));
    assert_non_null(strstr(out, "bad2.soa:1:18: error: unknown type 'i33'"));
    free(out);
    kept = slurp(p, NULL);
    snprintf(p, sizeof p, "%s/lib.h", gen);
    kept = (free(kept), slurp(p, NULL));
    assert_string_equal(kept, "old\n");
    free(kept);
    snprintf(p, sizeof p, "%s/bad2.h", gen);
    assert_int_equal(access(p, F_OK), -1);

    /* --stdout: the header -o writes; '-': the schema from stdin, its
     * includes found from the current directory, errors named <stdin> */
    assert_int_equal(sh(&out, "\"$SOAC\" --stdout %s/main.soa > %s/so.h", dir, dir), 0);
    free(out);
    assert_int_equal(run(&out, "-o %s/main.h %s/main.soa", dir, dir), 0);
    free(out);
    snprintf(p, sizeof p, "%s/so.h", dir);
    char *a = slurp(p, NULL);
    snprintf(p, sizeof p, "%s/main.h", dir);
    char *b = slurp(p, NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(sh(&out, "S=$(realpath \"$SOAC\") && cd %s && \"$S\" --stdout --depfile s.d --deptarget 'gen/s.h' - < main.soa > s.h",
                        dir), 0);
    free(out);
    snprintf(p, sizeof p, "%s/s.h", dir);
    a = slurp(p, NULL);
    assert_non_null(strstr(a, "from <stdin>. Do not edit."));
    assert_non_null(strstr(a, "typedef struct M {"));
    assert_non_null(strstr(a, "typedef struct L {"));
    free(a);
    snprintf(p, sizeof p, "%s/s.d", dir);
    d = slurp(p, NULL);
    assert_string_equal(d, "gen/s.h: lib.soa\n\nlib.soa:\n");
    free(d);
    assert_int_equal(sh(&out, "printf 'component A { x: f33; }' | \"$SOAC\" --check - 2>&1"), 1);
    assert_non_null(strstr(out, "<stdin>:1:18: error: unknown type 'f33'; did you mean 'f32'?"));
    free(out);
    /* -oFILE, and --deptarget naming the rule's target */
    assert_int_equal(run(&out, "-o%s/att.h --depfile %s/att.d --deptarget 'build/$x y.h' %s/lib.soa",
                         dir, dir, dir), 0);
    free(out);
    snprintf(p, sizeof p, "%s/att.h", dir);
    assert_int_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/att.d", dir);
    d = slurp(p, NULL);
    snprintf(want, sizeof want, "build/$$x\\ y.h: %s/lib.soa\n", dir);
    assert_string_equal(d, want);
    free(d);

    /* what cannot go together is refused, nothing written */
    static const struct { const char *args, *says; } refused[] = {
        { "--explain --depfile X.d", "--depfile describes a header, and --explain writes none" },
        { "--check --depfile X.d", "--depfile describes a header, and --check writes none" },
        { "--explain --stdout", "--stdout writes the header, and --explain writes none" },
        { "--deptarget t", "--deptarget names the target of --depfile's rule" },
        { "--stdout -o X.h", "--stdout and -o both say where the header goes" },
        { "--stdout --depfile X.d", "give --deptarget T" },
        { "-o X.h -o Y.h", "-o given twice" },
        { "-", "has no name for its header: give -o OUT.h or --stdout" },
        { "- -", "standard input ('-') given twice" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        int rc = sh(&out, "S=$(realpath \"$SOAC\") && cd %s && \"$S\" %s lib.soa < /dev/null 2>&1", dir, refused[i].args);
        if (rc != 2 || !strstr(out, refused[i].says))
            fail_msg("soac %s lib.soa: exit %d, output:\n%s", refused[i].args, rc, out);
        free(out);
        snprintf(p, sizeof p, "%s/X.d", dir);
        assert_int_equal(access(p, F_OK), -1);
        snprintf(p, sizeof p, "%s/X.h", dir);
        assert_int_equal(access(p, F_OK), -1);
    }
    assert_int_equal(sh(&out, "S=$(realpath \"$SOAC\") && cd %s && \"$S\" --stdout lib.soa main.soa 2>&1", dir), 2);
    assert_non_null(strstr(out, "--stdout writes one header"));
    free(out);
}

static void help_and_version(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run(&out, "--version"), 0);
    assert_non_null(strstr(out, "soac 0.1.0"));
    free(out);
    assert_int_equal(run(&out, "--help"), 0);
    const char *must[] = { "usage: soac", "-I DIR", "-o OUT.h", "-o DIR/", "--stdout",
                           "--deptarget T", "standard input", "--depfile FILE",
                           "--explain", "--check", "--version", "--help",
                           "Examples:", "Exit status" };
    for (size_t i = 0; i < sizeof must / sizeof *must; i++)
        if (!strstr(out, must[i]))
            fail_msg("--help lacks \"%s\"", must[i]);
    free(out);
}

static void failed_run_keeps_output(void **state)
{
    (void)state;
    const char *out_h = path("keep.h");
    assert_int_equal(spit(out_h, "/* an earlier header */\n"), 0);
    assert_int_equal(spit(path("bad.soa"), "component A { x: f33; }\n"), 0);
    int before = entries(tmpdir);
    char *out;
    assert_int_equal(run(&out, "-o %s %s", out_h, path("bad.soa")), 1);
    assert_non_null(strstr(out, "bad.soa:1:18: error: unknown type 'f33'"));
    free(out);
    char *now = slurp(out_h, NULL);
    assert_string_equal(now, "/* an earlier header */\n");
    free(now);
    assert_int_equal(entries(tmpdir), before); /* no temporary left */
    /* and a schema error with no output yet creates none */
    assert_int_equal(run(NULL, "-o %s %s", path("never.h"), path("bad.soa")), 1);
    assert_int_equal(access(path("never.h"), F_OK), -1);
}

static void unchanged_output_keeps_mtime(void **state)
{
    (void)state;
    const char *schema = path("m.soa"), *out_h = path("m.h");
    assert_int_equal(spit(schema, good), 0);
    assert_int_equal(run(NULL, "-o %s %s", out_h, schema), 0);
    struct timeval old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    assert_int_equal(utimes(out_h, old), 0);
    /* a comment changes nothing in the header */
    char *edited = malloc(sizeof good + 32);
    strcpy(edited, "// a comment\n");
    strcat(edited, good);
    assert_int_equal(spit(schema, edited), 0);
    free(edited);
    assert_int_equal(run(NULL, "-o %s %s", out_h, schema), 0);
    struct stat st;
    assert_int_equal(stat(out_h, &st), 0);
    assert_int_equal(st.st_mtime, 1000000000);
    /* a new field does */
    assert_int_equal(spit(schema, "component Position { x: f32; y: f32; z: f32; }\n"), 0);
    assert_int_equal(run(NULL, "-o %s %s", out_h, schema), 0);
    assert_int_equal(stat(out_h, &st), 0);
    assert_true(st.st_mtime != 1000000000);
    char *h = slurp(out_h, NULL);
    assert_non_null(strstr(h, "float z;"));
    free(h);
}

static void default_output_and_check(void **state)
{
    (void)state;
    assert_int_equal(spit(path("phys.soa"), good), 0);
    /* --check and --explain write nothing */
    assert_int_equal(run(NULL, "--check %s", path("phys.soa")), 0);
    assert_int_equal(access(path("phys.h"), F_OK), -1);
    char *out;
    assert_int_equal(run(&out, "--explain %s", path("phys.soa")), 0);
    assert_int_equal(access(path("phys.h"), F_OK), -1);
    assert_non_null(strstr(out, "component Velocity"));
    assert_non_null(strstr(out, "bytes/row"));
    assert_non_null(strstr(out, "MiB/1M rows"));
    assert_non_null(strstr(out, "float                 4        4000000         3.81"));
    free(out);
    /* SCHEMA.soa -> SCHEMA.h next to it, with a guard from its name */
    assert_int_equal(run(NULL, "%s", path("phys.soa")), 0);
    char *h = slurp(path("phys.h"), NULL);
    assert_non_null(h);
    assert_true(strncmp(h, "/* Generated by soac 0.1.0 from phys.soa. Do not edit. */\n", 58) == 0);
    assert_non_null(strstr(h, "#ifndef SOAC_PHYS_H"));
    assert_null(strstr(h, tmpdir)); /* no paths in the output */
    free(h);
}

static void depfile(void **state)
{
    (void)state;
    char dir[512], cmd[1024];
    snprintf(dir, sizeof dir, "%s/a b", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(cmd, sizeof cmd, "%s/main.soa", dir);
    assert_int_equal(spit(cmd, "include \"lib.soa\";\ncomponent M { t: T; }\n"), 0);
    snprintf(cmd, sizeof cmd, "%s/lib.soa", dir);
    assert_int_equal(spit(cmd, "enum T : u8 { a }\n"), 0);
    char *out;
    int rc = run(&out, "-o '%s/out.h' --depfile %s '%s/main.soa'", dir,
                 path("out.d"), dir);
    assert_int_equal(rc, 0);
    free(out);
    char *d = slurp(path("out.d"), NULL);
    assert_non_null(d);
    char want[2048];
    snprintf(want, sizeof want,
             "%s/a\\ b/out.h: %s/a\\ b/main.soa \\\n  %s/a\\ b/lib.soa\n\n%s/a\\ b/lib.soa:\n",
             tmpdir, tmpdir, tmpdir, tmpdir);
    assert_string_equal(d, want);
    free(d);
}

/* A depfile that cannot be written fails the run before the header is
 * touched: a header newer than its schema with no depfile beside it would
 * make a build miss later edits of included schemas. */
static void depfile_failure_keeps_header(void **state)
{
    (void)state;
    assert_int_equal(spit(path("k.soa"), "component K { a: u8; }\n"), 0);
    assert_int_equal(spit(path("k.h"), "old header\n"), 0);
    char *out;
    int rc = run(&out, "-o %s --depfile %s/no/such/dir/k.d %s", path("k.h"),
                 tmpdir, path("k.soa"));
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "k.d"));
    free(out);
    char *h = slurp(path("k.h"), NULL);
    assert_non_null(h);
    assert_string_equal(h, "old header\n");
    free(h);
}

/* The layout hash --explain prints for the first component of `src`. */
static uint64_t hash_of(const char *src)
{
    assert_int_equal(spit(path("h.soa"), src), 0);
    char *out;
    assert_int_equal(run(&out, "--explain %s", path("h.soa")), 0);
    const char *p = strstr(out, "layout hash 0x");
    assert_non_null(p);
    uint64_t h = strtoull(p + 14, NULL, 16);
    free(out);
    return h;
}

static void layout_hash(void **state)
{
    (void)state;
    uint64_t base = hash_of("component H { a: f32; b: i32[2]; }");
    /* whitespace, comments, docs and defaults do not change it */
    assert_true(hash_of("/// doc\ncomponent   H\n{\n  a : f32 = 1.5; // c\n  b: i32[2] = [1, 2];\n}\n") == base);
    assert_true(hash_of("component H { /* x */ a: f32; b: i32[ 2 ]; }\r\n") == base);
    /* order, types, names and lengths do */
    assert_true(hash_of("component H { b: i32[2]; a: f32; }") != base);
    assert_true(hash_of("component H { a: f64; b: i32[2]; }") != base);
    assert_true(hash_of("component H { a: f32; b: u32[2]; }") != base);
    assert_true(hash_of("component H { a: f32; c: i32[2]; }") != base);
    assert_true(hash_of("component G { a: f32; b: i32[2]; }") != base);
    assert_true(hash_of("component H { a: f32; b: i32[3]; }") != base);
    assert_true(hash_of("component H { a: f32; b: i32; }") != base);
    assert_true(hash_of("component H { a: f32; b: i32[2]; c: u8; }") != base);
    /* the namespace is part of the C name, so of the layout */
    assert_true(hash_of("namespace n; component H { a: f32; b: i32[2]; }") != base);

    /* what the header says is what --explain says */
    char *h = slurp("generated/physics.h", NULL);
    assert_non_null(h);
    const char *p = strstr(h, "#define Position_LAYOUT_HASH 0x");
    assert_non_null(p);
    uint64_t in_header = strtoull(p + 31, NULL, 16);
    free(h);
    char *out;
    assert_int_equal(run(&out, "--explain schemas/physics.soa"), 0);
    p = strstr(out, "layout hash 0x");
    assert_non_null(p);
    assert_true(strtoull(p + 14, NULL, 16) == in_header);
    free(out);
}

static void limits(void **state)
{
    (void)state;
    /* the largest array, and 200 components in one file */
    assert_int_equal(spit(path("big.soa"), "component Big { v: u8[4096]; }\n"), 0);
    assert_int_equal(run(NULL, "--check %s", path("big.soa")), 0);
    char *src = malloc(200 * 48);
    src[0] = '\0';
    for (int i = 0; i < 200; i++)
        sprintf(src + strlen(src), "component C%d { a: f32; b: u8; }\n", i);
    assert_int_equal(spit(path("many.soa"), src), 0);
    free(src);
    assert_int_equal(run(NULL, "-o %s %s", path("many.h"), path("many.soa")), 0);
    char *h = slurp(path("many.h"), NULL);
    assert_non_null(strstr(h, "C199_commit_changed"));
    free(h);
    /* an include found through -I, and each file once */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/inc", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    char lib[600];
    snprintf(lib, sizeof lib, "%s/lib.soa", dir);
    assert_int_equal(spit(lib, "component L { x: f32; }\n"), 0);
    assert_int_equal(spit(path("useinc.soa"),
                          "include \"lib.soa\";\ninclude \"lib.soa\";\nsystem S { write L; }\n"), 0);
    char *out;
    assert_int_equal(run(&out, "--check %s", path("useinc.soa")), 1);
    assert_non_null(strstr(out, "cannot find include \"lib.soa\""));
    free(out);
    assert_int_equal(run(&out, "-I %s --check %s", dir, path("useinc.soa")), 0);
    free(out);
    /* a diamond: both sides include d.soa, which is read once */
    assert_int_equal(spit(path("d.soa"), "component D { v: f32; }\n"), 0);
    assert_int_equal(spit(path("b.soa"), "include \"d.soa\";\ncomponent B { v: f32; }\n"), 0);
    assert_int_equal(spit(path("c.soa"), "include \"d.soa\";\ncomponent C { v: f32; }\n"), 0);
    assert_int_equal(spit(path("a.soa"), "include \"b.soa\";\ninclude \"c.soa\";\nsystem S { read B, C; write D; }\n"), 0);
    assert_int_equal(run(&out, "-o %s --depfile %s %s", path("a.h"), path("a.d"), path("a.soa")), 0);
    free(out);
    char *dep = slurp(path("a.d"), NULL);
    char want[2048];
    snprintf(want, sizeof want, "%s/a.h: %s/a.soa \\\n  %s/d.soa \\\n  %s/b.soa \\\n  %s/c.soa\n",
             tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
    assert_true(strncmp(dep, want, strlen(want)) == 0);
    free(dep);
}

/* Duplicate checks look names up in hash tables: declarations of 100,000
 * names check in well under a second (bench/soac_dups.sh times them; the
 * quadratic checks took a minute), and the duplicates are still found. */
static void wide_declarations(void **state)
{
    (void)state;
    enum { N = 100000, TAGS = 2000 };
    FILE *f = fopen(path("wide.soa"), "w");
    assert_non_null(f);
    fputs("component Wide {\n", f);
    for (int i = 0; i < N; i++)
        fprintf(f, "    f%d: f32;\n", i);
    fputs("    f77777: u8;\n}\nenum Big : u32 {\n", f);
    for (int i = 0; i < N; i++)
        fprintf(f, "    v%d,\n", i);
    fputs("    v5, w = 9\n}\n", f);
    for (int i = 0; i < TAGS; i++)
        fprintf(f, "component T%d {}\n", i);
    fputs("system S { write T0; read", f);
    for (int i = 0; i < TAGS; i++)
        fprintf(f, "%s T%d", i ? "," : "", i);
    fputs(", T1999; without T1, T7, T7; }\n", f);
    assert_int_equal(fclose(f), 0);
    char *out;
    assert_int_equal(run(&out, "--check %s", path("wide.soa")), 1);
    const char *want[] = {
        "wide.soa:100002:5: error: duplicate field 'f77777' in component Wide (first at line 77779)",
        "wide.soa:200005:5: error: duplicate enum value name 'v5' in enum Big (first at line 100010)",
        "wide.soa:200005:9: error: enum value 'w' has the same value as 'v9'",
        ": error: duplicate: 'T1999' is listed twice in read of system S",
        ": error: 'T1' is both in read and in without of system S",
        ": error: duplicate: 'T7' is listed twice in without of system S",
        "8 errors generated.",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(out, want[i]))
            fail_msg("soac --check lacks \"%s\"; it said:\n%.3000s", want[i], out);
    free(out);
}

/* Includes are followed with a stack of the loader's own: a 60,000-file
 * chain compiles in a 2 MiB stack (recursion overflowed 8 MiB at 60,000
 * files, at 30,000 under ASan), and a cycle through all of them is named
 * in one short message. */
static void include_chain(void **state)
{
    (void)state;
    enum { N = 60000 };
    char dir[512], file[600];
    snprintf(dir, sizeof dir, "%s/chain", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    for (int i = 0; i < N; i++) {
        snprintf(file, sizeof file, "%s/f%d.soa", dir, i);
        FILE *f = fopen(file, "w");
        assert_non_null(f);
        if (i < N - 1)
            fprintf(f, "include \"f%d.soa\";\n%s", i + 1,
                    i == 0 ? "component C0 { x: f32; }\n" : "");
        else
            fprintf(f, "component Z { x: f32; }\n");
        assert_int_equal(fclose(f), 0);
    }
    char *out;
    int rc = sh(&out, "ulimit -s 2048 && exec \"$SOAC\" -o %s --depfile %s %s/f0.soa",
                path("chain.h"), path("chain.d"), dir);
    if (rc != 0)
        fail_msg("soac: exit %d: %.2000s", rc, out);
    free(out);
    char *h = slurp(path("chain.h"), NULL);
    assert_non_null(h);
    /* emission order: the deepest include first */
    const char *z = strstr(h, "typedef struct Z {"), *c0 = strstr(h, "typedef struct C0 {");
    assert_true(z && c0 && z < c0);
    free(h);
    char *d = slurp(path("chain.d"), NULL);
    snprintf(file, sizeof file, "\n%s/f59999.soa:\n", dir);
    assert_non_null(strstr(d, file));
    free(d);

    /* the last file closes a cycle through every one */
    snprintf(file, sizeof file, "%s/f%d.soa", dir, N - 1);
    assert_int_equal(spit(file, "include \"f0.soa\";\n"), 0);
    rc = sh(&out, "ulimit -s 2048 && exec \"$SOAC\" --check %s/f0.soa", dir);
    assert_int_equal(rc, 1);
    char want[8192];
    snprintf(want, sizeof want,
             "%s/f59999.soa:1:9: error: include cycle: %s/f0.soa -> %s/f1.soa -> "
             "%s/f2.soa -> %s/f3.soa -> ... (59993 more) -> %s/f59997.soa -> "
             "%s/f59998.soa -> %s/f59999.soa -> %s/f0.soa\n",
             dir, dir, dir, dir, dir, dir, dir, dir, dir);
    if (!strstr(out, want))
        fail_msg("soac lacks \"%s\"; it said:\n%.3000s", want, out);
    free(out);
}

/* An include that is not a regular file is refused before it is read (a
 * FIFO would wait for ever, /dev/zero fill the memory); a file over 1 GiB
 * is refused by its size.  The main file is the user's: a FIFO works. */
static void include_not_regular(void **state)
{
    (void)state;
    assert_int_equal(mkfifo(path("fifo.soa"), 0644), 0);
    assert_int_equal(spit(path("usefifo.soa"), "include \"fifo.soa\";\ncomponent A { x: f32; }\n"), 0);
    char *out, want[1024];
    assert_int_equal(sh(&out, "timeout 60 \"$SOAC\" --check %s", path("usefifo.soa")), 1);
    snprintf(want, sizeof want, "%s:1:9: error: cannot read '%s': not a regular file",
             path("usefifo.soa"), path("fifo.soa"));
    if (!strstr(out, want))
        fail_msg("soac lacks \"%s\"; it said:\n%s", want, out);
    free(out);

    assert_int_equal(sh(&out, "printf 'component F { x: f32; }\\n' > %s & "
                              "timeout 60 \"$SOAC\" -o %s %s; rc=$?; wait; exit $rc",
                        path("fifo.soa"), path("fifo.h"), path("fifo.soa")), 0);
    free(out);
    char *h = slurp(path("fifo.h"), NULL);
    assert_non_null(h);
    assert_non_null(strstr(h, "typedef struct F {"));
    free(h);

    /* sparse: no disk is used */
    assert_int_equal(spit(path("huge.soa"), ""), 0);
    assert_int_equal(truncate(path("huge.soa"), (off_t)1 << 30 | 1), 0);
    assert_int_equal(spit(path("usehuge.soa"), "include \"huge.soa\";\n"), 0);
    assert_int_equal(run(&out, "--check %s", path("usehuge.soa")), 1);
    snprintf(want, sizeof want, "%s:1:9: error: cannot read '%s': file too large",
             path("usehuge.soa"), path("huge.soa"));
    if (!strstr(out, want))
        fail_msg("soac lacks \"%s\"; it said:\n%s", want, out);
    free(out);
    assert_int_equal(run(&out, "--check %s", path("huge.soa")), 2);
    snprintf(want, sizeof want, "soac: error: cannot read '%s': file too large",
             path("huge.soa"));
    if (!strstr(out, want))
        fail_msg("soac lacks \"%s\"; it said:\n%s", want, out);
    free(out);
}

/* Whether `name` in the test directory is a character device (major,
 * minor). */
static bool is_chardev(const char *name, unsigned major_no, unsigned minor_no)
{
    struct stat st;
    return lstat(path(name), &st) == 0 && S_ISCHR(st.st_mode) &&
           major(st.st_rdev) == major_no && minor(st.st_rdev) == minor_no;
}

/* -o and --depfile onto a device write to the device: the node stays (as
 * root, soac replaced it with a regular file).  The test makes a null
 * device of its own; the system's /dev/null is never touched. */
static void output_device(void **state)
{
    (void)state;
    if (mknod(path("null"), S_IFCHR | 0666, makedev(1, 3)) != 0)
        skip(); /* not root, or no device nodes here: nothing to check */
    assert_int_equal(spit(path("dev.soa"), good), 0);
    int before = entries(tmpdir);
    char *out;
    int rc = run(&out, "-o %s --depfile %s %s", path("null"), path("null"), path("dev.soa"));
    if (rc != 0)
        fail_msg("soac: exit %d: %s", rc, out);
    free(out);
    assert_true(is_chardev("null", 1, 3));
    assert_int_equal(entries(tmpdir), before); /* no temporary left */
}

/* -o onto a symbolic link writes the file it names, as cp does: the link
 * stays, the temporary file goes next to the target, an unchanged target
 * keeps its mtime, and a dangling link is refused. */
static void output_symlink(void **state)
{
    (void)state;
    char dir[512], cmd[1024];
    snprintf(dir, sizeof dir, "%s/links", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(cmd, sizeof cmd, "%s/sub", dir);
    assert_int_equal(mkdir(cmd, 0755), 0);
    snprintf(cmd, sizeof cmd, "%s/other", dir);
    assert_int_equal(mkdir(cmd, 0755), 0);
    snprintf(cmd, sizeof cmd, "%s/other/t.h", dir);
    assert_int_equal(spit(cmd, "old\n"), 0);
    snprintf(cmd, sizeof cmd, "%s/sub/l.h", dir);
    assert_int_equal(symlink("../other/t.h", cmd), 0);
    assert_int_equal(spit(path("sym.soa"), good), 0);
    char *out;
    assert_int_equal(run(&out, "-o %s/sub/l.h %s", dir, path("sym.soa")), 0);
    free(out);
    struct stat st;
    assert_int_equal(lstat(cmd, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    snprintf(cmd, sizeof cmd, "%s/sub", dir);
    assert_int_equal(entries(cmd), 1);
    snprintf(cmd, sizeof cmd, "%s/other", dir);
    assert_int_equal(entries(cmd), 1);
    snprintf(cmd, sizeof cmd, "%s/other/t.h", dir);
    char *h = slurp(cmd, NULL);
    assert_non_null(strstr(h, "typedef struct Velocity {"));
    free(h);
    /* unchanged: not rewritten */
    struct timeval old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    assert_int_equal(utimes(cmd, old), 0);
    assert_int_equal(run(NULL, "-o %s/sub/l.h %s", dir, path("sym.soa")), 0);
    assert_int_equal(stat(cmd, &st), 0);
    assert_int_equal(st.st_mtime, 1000000000);
    /* dangling: refused, nothing created */
    snprintf(cmd, sizeof cmd, "%s/sub/d.h", dir);
    assert_int_equal(symlink("../other/none.h", cmd), 0);
    assert_int_equal(run(&out, "-o %s %s", cmd, path("sym.soa")), 2);
    assert_non_null(strstr(out, "not writing through dangling symbolic link"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s/other/none.h", dir);
    assert_int_equal(access(cmd, F_OK), -1);
}

/* Outputs that are streams are written to, never read first: -o
 * /dev/stdout into a pipe (it hung), and a FIFO with a reader. */
static void output_stream(void **state)
{
    (void)state;
    assert_int_equal(spit(path("st.soa"), good), 0);
    char cmp[512];
    snprintf(cmp, sizeof cmp, "%s/cmp", tmpdir);
    assert_int_equal(mkdir(cmp, 0755), 0);
    /* the same base names give the same include guards */
    assert_int_equal(run(NULL, "-o %s/stdout %s", cmp, path("st.soa")), 0);
    assert_int_equal(run(NULL, "-o %s/fifo %s", cmp, path("st.soa")), 0);
    char *want, *out, p[600];
    snprintf(p, sizeof p, "%s/stdout", cmp);
    want = slurp(p, NULL);
    assert_int_equal(sh(&out, "timeout 60 \"$SOAC\" -o /dev/stdout %s | cat", path("st.soa")), 0);
    assert_string_equal(out, want);
    free(out);
    free(want);

    assert_int_equal(mkfifo(path("fifo"), 0644), 0);
    assert_int_equal(sh(&out, "cat %s > %s & timeout 60 \"$SOAC\" -o %s %s; rc=$?; wait; exit $rc",
                        path("fifo"), path("got"), path("fifo"), path("st.soa")), 0);
    free(out);
    snprintf(p, sizeof p, "%s/fifo", cmp);
    want = slurp(p, NULL);
    char *got = slurp(path("got"), NULL);
    assert_string_equal(got, want);
    free(got);
    free(want);
    struct stat st;
    assert_int_equal(lstat(path("fifo"), &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
}

/* Past `ulimit -f` the write fails (SIGXFSZ used to kill soac and leave
 * the temporary file): exit 2, the old output intact, nothing left. */
static void output_file_size_limit(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/fsize", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    char h[600], schema[600];
    snprintf(h, sizeof h, "%s/old.h", dir);
    snprintf(schema, sizeof schema, "%s/s.soa", dir);
    assert_int_equal(spit(h, "old\n"), 0);
    assert_int_equal(spit(schema, good), 0);
    char *out;
    assert_int_equal(sh(&out, "ulimit -f 1 && exec \"$SOAC\" -o %s %s", h, schema), 2);
    assert_non_null(strstr(out, "File too large"));
    free(out);
    char *now = slurp(h, NULL);
    assert_string_equal(now, "old\n");
    free(now);
    assert_int_equal(entries(dir), 2);
}

/* A newline in a path cannot be written in a make rule: a depfile naming
 * one is refused (exit 2, neither output written). */
static void depfile_newline(void **state)
{
    (void)state;
    assert_int_equal(spit(path("nl.soa"), "include \"lib.soa\";\ncomponent N { t: T; }\n"), 0);
    char dir[512], lib[600];
    snprintf(dir, sizeof dir, "%s/in\nc", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(lib, sizeof lib, "%s/lib.soa", dir);
    assert_int_equal(spit(lib, "enum T : u8 { a }\n"), 0);
    char *out;
    assert_int_equal(sh(&out, "\"$SOAC\" -I \"%s/$(printf 'in\\nc')\" -o \"%s/$(printf 'a\\nb.h')\" --depfile %s %s",
                        tmpdir, tmpdir, path("nl.d"), path("nl.soa")), 2);
    char want[1024];
    snprintf(want, sizeof want, "soac: error: cannot write the depfile '%s': the path '%s/a\\nb.h' has a newline",
             path("nl.d"), tmpdir);
    if (!strstr(out, want))
        fail_msg("soac lacks \"%s\"; it said:\n%s", want, out);
    free(out);
    assert_int_equal(access(path("nl.d"), F_OK), -1);
    assert_int_equal(access(path("a\nb.h"), F_OK), -1);
    /* the include's path too */
    assert_int_equal(sh(&out, "\"$SOAC\" -I \"%s/$(printf 'in\\nc')\" -o %s --depfile %s %s",
                        tmpdir, path("nl.h"), path("nl.d"), path("nl.soa")), 2);
    snprintf(want, sizeof want, "the path '%s/in\\nc/lib.soa' has a newline", tmpdir);
    if (!strstr(out, want))
        fail_msg("soac lacks \"%s\"; it said:\n%s", want, out);
    free(out);
    assert_int_equal(access(path("nl.h"), F_OK), -1);
    /* without a depfile there is no rule to break */
    assert_int_equal(sh(&out, "\"$SOAC\" -I \"%s/$(printf 'in\\nc')\" -o \"%s/$(printf 'a\\nb.h')\" %s",
                        tmpdir, tmpdir, path("nl.soa")), 0);
    free(out);
    assert_int_equal(access(path("a\nb.h"), F_OK), 0);
}

/* Each caret line of `out` has its '^' under an '@' of the line above it;
 * returns how many carets there were. */
static int carets_under_at(const char *out)
{
    int n = 0;
    for (const char *l = out, *prev = NULL; *l;) {
        const char *end = strchr(l, '\n');
        if (!end)
            break;
        const char *caret = memchr(l, '^', (size_t)(end - l));
        if (prev && caret && strspn(l, " \t") == (size_t)(caret - l)) {
            assert_true(caret - l < end - l);
            assert_int_equal(prev[caret - l], '@');
            n++;
        }
        prev = l;
        l = end + 1;
    }
    return n;
}

/* An error shows at most ~200 columns of its line around the caret, and at
 * most ~1000 bytes of message: 25 errors on one 4 MB line printed 168 MB. */
static void long_lines(void **state)
{
    (void)state;
    enum { GAP = 160000, ERRORS = 25 };
    char *src = malloc(GAP * ERRORS + 64);
    strcpy(src, "component A { x: f32; }");
    size_t n = strlen(src);
    for (int i = 0; i < ERRORS; i++) {
        memset(src + n, ' ', GAP);
        n += GAP;
        src[n++] = '@';
    }
    strcpy(src + n, "\n");
    assert_int_equal(spit(path("long.soa"), src), 0);
    char *out;
    assert_int_equal(run(&out, "--check %s", path("long.soa")), 1);
    assert_true(strlen(out) < 20 * 600);
    assert_non_null(strstr(out, "long.soa:1:160024: error: unexpected character '@'\n    ...  "));
    assert_non_null(strstr(out, "25 errors generated (only the first 20 shown)."));
    assert_int_equal(carets_under_at(out), 20);
    free(out);

    /* a caret at either end of a long line: the window is cut once */
    memset(src, ' ', 2003);
    src[0] = '@';
    src[1000] = '\n';
    src[2001] = '@';
    strcpy(src + 2002, "\n");
    assert_int_equal(spit(path("ends.soa"), src), 0);
    assert_int_equal(run(&out, "--check %s", path("ends.soa")), 1);
    assert_int_equal(carets_under_at(out), 2);
    char want[512];
    snprintf(want, sizeof want, "ends.soa:1:1: error: unexpected character '@'\n    @%199s...\n    ^\n", "");
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want, "ends.soa:2:1001: error: unexpected character '@'\n    ...%199s@\n", "");
    assert_non_null(strstr(out, want));
    free(out);

    /* a 4 MB name in a message */
    memset(src, 'y', 4000000);
    memcpy(src, "component A { x: ", 17);
    strcpy(src + 4000000, "; }\n");
    assert_int_equal(spit(path("longname.soa"), src), 0);
    assert_int_equal(run(&out, "--check %s", path("longname.soa")), 1);
    assert_true(strlen(out) < 2000);
    assert_non_null(strstr(out, "longname.soa:1:18: error: unknown type 'yyyy"));
    assert_non_null(strstr(out, "yyy...\n    component A { x: yyy"));
    free(out);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usage_errors),
        cmocka_unit_test(help_and_version),
        cmocka_unit_test(failed_run_keeps_output),
        cmocka_unit_test(unchanged_output_keeps_mtime),
        cmocka_unit_test(default_output_and_check),
        cmocka_unit_test(depfile),
        cmocka_unit_test(depfile_failure_keeps_header),
        cmocka_unit_test(layout_hash),
        cmocka_unit_test(limits),
        cmocka_unit_test(wide_declarations),
        cmocka_unit_test(include_chain),
        cmocka_unit_test(include_not_regular),
        cmocka_unit_test(output_device),
        cmocka_unit_test(output_symlink),
        cmocka_unit_test(output_stream),
        cmocka_unit_test(output_file_size_limit),
        cmocka_unit_test(depfile_newline),
        cmocka_unit_test(long_lines),
        cmocka_unit_test(several_schemas_and_streams),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}

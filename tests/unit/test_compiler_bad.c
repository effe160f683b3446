/*
 * The bad-schema corpus: every .soa file in tests/compiler/bad must fail `soac
 * --check` with exit status 1 and exactly the errors its header declares:
 *
 *   // expect: [FILE:]LINE:COL: message substring   (one per error)
 *   // expect-count: N         errors printed, when not one per expect line
 *   // expect-text: text       a line of the output contains it
 *   // args: -I DIR            extra arguments
 *
 * Errors print in file and source order, so the first error printed must
 * be the first one expected.
 * FILE is relative to the corpus directory and defaults to the case itself.
 */
#include "../compiler/soac_run.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define DIR_BAD "tests/compiler/bad"

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of `out` holding ": error: ". */
static int count_errors(const char *out)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, ": error: ")); p++)
        n++;
    return n;
}

/* Whether some line of `out` starts with `prefix` and contains `msg`. */
static int has_line(const char *out, const char *prefix, const char *msg)
{
    for (const char *line = out; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n >= strlen(prefix) && strncmp(line, prefix, strlen(prefix)) == 0) {
            char *copy = strndup(line, n);
            int ok = strstr(copy, msg) != NULL;
            free(copy);
            if (ok)
                return 1;
        }
        if (!end)
            break;
        line = end + 1;
    }
    return 0;
}

/* Checks one case; returns the number of problems (printed). */
static int run_case(const char *name)
{
    char path[512], args[1024] = "", cmd[2048];
    snprintf(path, sizeof path, "%s/%s", DIR_BAD, name);
    char *src = slurp(path, NULL);
    if (!src) {
        print_error("%s: cannot read\n", path);
        return 1;
    }
    int expects = 0, count = -1, problems = 0;
    char first_prefix[1024] = "", first_msg[1024] = "";
    char *out = NULL;
    /* first pass: arguments */
    for (char *l = src; l && strncmp(l, "//", 2) == 0; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, "// args: ", 9) == 0)
            snprintf(args, sizeof args, "%.*s", (int)strcspn(l + 9, "\r\n"), l + 9);
    snprintf(cmd, sizeof cmd, "--check %s '%s'", args, path);
    int rc = soac_run(cmd, &out);
    if (rc != 1) {
        print_error("%s: exit status %d, expected 1\n", path, rc);
        problems++;
    }
    for (char *l = src; l && strncmp(l, "//", 2) == 0; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(l, "\r\n"), l);
        if (strncmp(line, "// expect-count: ", 17) == 0) {
            count = atoi(line + 17);
        } else if (strncmp(line, "// expect-text: ", 16) == 0) {
            if (!strstr(out, line + 16)) {
                print_error("%s: output lacks \"%s\"\n", path, line + 16);
                problems++;
            }
        } else if (strncmp(line, "// expect: ", 11) == 0) {
            char *spec = line + 11, file[512], prefix[1024];
            unsigned ln, col;
            char *msg;
            expects++;
            /* [FILE:]LINE:COL: message */
            char *colon = strchr(spec, ':');
            if (colon && (colon[1] < '0' || colon[1] > '9' || spec[0] < '0' || spec[0] > '9')) {
                snprintf(file, sizeof file, "%s/%.*s", DIR_BAD, (int)(colon - spec), spec);
                spec = colon + 1;
            } else {
                snprintf(file, sizeof file, "%s", path);
            }
            if (sscanf(spec, "%u:%u:", &ln, &col) != 2 || !(msg = strstr(spec, ": "))) {
                print_error("%s: bad expect line: %s\n", path, line);
                problems++;
                continue;
            }
            msg += 2;
            snprintf(prefix, sizeof prefix, "%s:%u:%u: error: ", file, ln, col);
            if (expects == 1) {
                snprintf(first_prefix, sizeof first_prefix, "%s", prefix);
                snprintf(first_msg, sizeof first_msg, "%s", msg);
            }
            if (!has_line(out, prefix, msg)) {
                print_error("%s: expected \"%s%s\"\n", path, prefix, msg);
                problems++;
            }
        }
    }
    if (expects == 0) {
        print_error("%s: no // expect: line\n", path);
        problems++;
    }
    /* the first error line is the first expected one */
    const char *first = strstr(out, ": error: ");
    if (first) {
        while (first > out && first[-1] != '\n')
            first--;
        size_t n = strcspn(first, "\n");
        char *line = strndup(first, n);
        if (expects && !has_line(line, first_prefix, first_msg)) {
            print_error("%s: first error printed is not the first expected: %s\n", path, line);
            problems++;
        }
        free(line);
    }
    int want = count >= 0 ? count : expects;
    if (count_errors(out) != want) {
        print_error("%s: %d errors printed, expected %d\n", path, count_errors(out), want);
        problems++;
    }
    if (problems)
        print_error("--- soac said:\n%s---\n", out);
    free(out);
    free(src);
    return problems;
}

static void bad_corpus(void **state)
{
    (void)state;
    DIR *d = opendir(DIR_BAD);
    assert_non_null(d);
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".soa") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    int problems = 0;
    for (size_t i = 0; i < n; i++) {
        problems += run_case(names[i]);
        free(names[i]);
    }
    print_message("%zu bad schemas checked\n", n);
    assert_true(n >= 40);
    assert_int_equal(problems, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

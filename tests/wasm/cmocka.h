/*
 * cmocka.h for the wasm builds: the part of cmocka's API the unit tests
 * use (a test table, group run, assert_*, fail, skip, print_*), written
 * for emscripten, which has no cmocka.  It prints cmocka's summary lines
 * ("[  PASSED  ] N test(s).", "[  FAILED  ] N test(s), listed below:"),
 * so tests/run.sh counts these tests as it counts the native ones.
 *
 * A failed assertion prints where and why, then longjmps out of the test
 * (as cmocka does); setup and teardown run around each test.  The test
 * sources include <stdarg.h>, <stddef.h> and <setjmp.h> first, as real
 * cmocka wants; this header includes what it needs itself.
 */
#ifndef SOA_WASM_CMOCKA_H
#define SOA_WASM_CMOCKA_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*CMUnitTestFunction)(void **state);
typedef int (*CMFixtureFunction)(void **state);

struct CMUnitTest {
    const char *name;
    CMUnitTestFunction test_func;
    CMFixtureFunction setup_func;
    CMFixtureFunction teardown_func;
    void *initial_state;
};

#define cmocka_unit_test(f) {#f, f, NULL, NULL, NULL}
#define cmocka_unit_test_setup(f, s) {#f, f, s, NULL, NULL}
#define cmocka_unit_test_setup_teardown(f, s, t) {#f, f, s, t, NULL}

/* Per program: the test that runs and how it ended. */
enum { CMW_RUNNING, CMW_FAILED, CMW_SKIPPED };
static jmp_buf cmw_jump;
static int cmw_how;

__attribute__((noreturn)) static inline void cmw_end(int how)
{
    cmw_how = how;
    longjmp(cmw_jump, 1);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static inline void print_message(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static inline void print_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

__attribute__((noreturn, format(printf, 3, 4)))
static inline void cmw_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[   ERROR  ] --- ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n[   LINE   ] --- %s:%d: error: Failure!\n", file, line);
    va_end(ap);
    cmw_end(CMW_FAILED);
}

/* cmocka compares integers as the widest unsigned type. */
static inline void cmw_int(uintmax_t a, uintmax_t b, int want_equal,
                    const char *file, int line)
{
    if ((a == b) != want_equal)
        cmw_fail(file, line, "%#" PRIxMAX " %s %#" PRIxMAX, a,
                 want_equal ? "!=" : "==", b);
}

static inline void cmw_str(const char *a, const char *b, int want_equal,
                    const char *file, int line)
{
    int same = a && b ? strcmp(a, b) == 0 : a == b;
    if (same != want_equal)
        cmw_fail(file, line, "\"%s\" %s \"%s\"", a ? a : "(null)",
                 want_equal ? "!=" : "==", b ? b : "(null)");
}

#define assert_true(c) \
    ((c) ? (void)0 : cmw_fail(__FILE__, __LINE__, "%s", #c))
#define assert_false(c) \
    (!(c) ? (void)0 : cmw_fail(__FILE__, __LINE__, "%s", #c))
#define assert_non_null(p) \
    ((p) != NULL ? (void)0 : cmw_fail(__FILE__, __LINE__, "%s is NULL", #p))
#define assert_null(p) \
    ((p) == NULL ? (void)0 : cmw_fail(__FILE__, __LINE__, "%s is not NULL", #p))
#define assert_int_equal(a, b) \
    cmw_int((uintmax_t)(a), (uintmax_t)(b), 1, __FILE__, __LINE__)
#define assert_int_not_equal(a, b) \
    cmw_int((uintmax_t)(a), (uintmax_t)(b), 0, __FILE__, __LINE__)
#define assert_ptr_equal(a, b) \
    cmw_int((uintmax_t)(uintptr_t)(const void *)(a), \
            (uintmax_t)(uintptr_t)(const void *)(b), 1, __FILE__, __LINE__)
#define assert_string_equal(a, b) \
    cmw_str((const char *)(a), (const char *)(b), 1, __FILE__, __LINE__)
#define assert_string_not_equal(a, b) \
    cmw_str((const char *)(a), (const char *)(b), 0, __FILE__, __LINE__)
#define assert_memory_equal(a, b, n) \
    (memcmp((a), (b), (n)) == 0 ? (void)0 : \
     cmw_fail(__FILE__, __LINE__, "%s and %s differ", #a, #b))
#define fail() cmw_fail(__FILE__, __LINE__, "fail()")
#define fail_msg(...) cmw_fail(__FILE__, __LINE__, __VA_ARGS__)
#define skip() cmw_end(CMW_SKIPPED)

/* Runs one test with its fixtures; its CMW_ outcome. */
static inline int cmw_run(const struct CMUnitTest *t)
{
    void *state = t->initial_state;
    cmw_how = CMW_RUNNING;
    if (setjmp(cmw_jump) == 0) {
        if (t->setup_func && t->setup_func(&state) != 0)
            cmw_fail(__FILE__, __LINE__, "setup of %s failed", t->name);
        t->test_func(&state);
        if (t->teardown_func && t->teardown_func(&state) != 0)
            cmw_fail(__FILE__, __LINE__, "teardown of %s failed", t->name);
    }
    return cmw_how;
}

static inline int cmw_run_group(const char *group, const struct CMUnitTest *tests,
                         size_t n, CMFixtureFunction gsetup,
                         CMFixtureFunction gteardown)
{
    void *gstate = NULL;
    size_t passed = 0, failed = 0, skipped = 0;
    const char **bad = calloc(n ? n : 1, sizeof *bad);
    printf("[==========] %s: Running %zu test(s).\n", group, n);
    if (gsetup && gsetup(&gstate) != 0) {
        printf("[  ERROR   ] %s: group setup failed\n", group);
        printf("[  FAILED  ] %zu test(s), listed below:\n", n);
        free(bad);
        return (int)n;
    }
    for (size_t i = 0; i < n; i++) {
        struct CMUnitTest t = tests[i];
        if (!t.initial_state)
            t.initial_state = gstate;
        printf("[ RUN      ] %s\n", t.name);
        fflush(stdout);
        int how = cmw_run(&t);
        fflush(stderr);
        if (how == CMW_FAILED) {
            printf("[  FAILED  ] %s\n", t.name);
            if (bad)
                bad[failed] = t.name;
            failed++;
        } else if (how == CMW_SKIPPED) {
            printf("[  SKIPPED ] %s\n", t.name);
            skipped++;
        } else {
            printf("[       OK ] %s\n", t.name);
            passed++;
        }
    }
    if (gteardown)
        gteardown(&gstate);
    printf("[==========] %s: %zu test(s) run.\n", group, n);
    printf("[  PASSED  ] %zu test(s).\n", passed);
    if (skipped)
        printf("[  SKIPPED ] %zu test(s).\n", skipped);
    if (failed) {
        printf("[  FAILED  ] %zu test(s), listed below:\n", failed);
        for (size_t i = 0; bad && i < failed; i++)
            printf("[  FAILED  ] %s\n", bad[i]);
    }
    free(bad);
    fflush(stdout);
    return (int)failed;
}

#define cmocka_run_group_tests(tests, gsetup, gteardown) \
    cmw_run_group(#tests, tests, sizeof(tests) / sizeof((tests)[0]), \
                  gsetup, gteardown)

#endif

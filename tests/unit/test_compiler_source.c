/*
 * soac_read_file (compiler/source.c), what every schema goes through: the
 * size limit holds while reading, not only for what fstat says; an
 * include that is not a regular file is refused before it is read or
 * waited on.
 */
#define _DEFAULT_SOURCE 1 /* mknod, makedev */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../compiler/source.h"
#include "tmpdir.h"

/* soac_read_file's errno, or 0 when it read the file (then *len). */
static int read_err(const char *p, size_t max, bool regular_only, size_t *len)
{
    char *text = NULL;
    errno = 0;
    if (soac_read_file(p, max, regular_only, &text, len) != 0) {
        assert_null(text);
        return errno ? errno : -1;
    }
    assert_int_equal(text[*len], '\0');
    free(text);
    return 0;
}

static void regular_files(void **state)
{
    (void)state;
    size_t len;
    FILE *f = fopen(path("a.soa"), "w");
    assert_non_null(f);
    for (int i = 0; i < 1000; i++)
        fputs("0123456789", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(read_err(path("a.soa"), 10000, true, &len), 0);
    assert_int_equal(len, 10000);
    assert_int_equal(read_err(path("a.soa"), 9999, true, &len), EFBIG);
    assert_int_equal(read_err(path("a.soa"), 9999, false, &len), EFBIG);
    assert_int_equal(read_err(tmpdir, 100, true, &len), EISDIR);
    assert_int_equal(read_err(tmpdir, 100, false, &len), EISDIR);
    assert_int_equal(read_err(path("none.soa"), 100, true, &len), ENOENT);
    assert_string_equal(soac_read_strerror(ENOENT), strerror(ENOENT));
    assert_non_null(strstr(soac_read_strerror(EFBIG), "file too large"));
    assert_non_null(strstr(soac_read_strerror(SOAC_ENOTREG), "not a regular file"));
}

/* A zero device of the test's own (never the system's /dev): endless
 * input that only the limit while reading stops. */
static void endless_device(void **state)
{
    (void)state;
    if (mknod(path("zero"), S_IFCHR | 0444, makedev(1, 5)) != 0)
        skip(); /* not root, or no device nodes here: nothing to check */
    size_t len;
    assert_int_equal(read_err(path("zero"), 1 << 20, true, &len), SOAC_ENOTREG);
    assert_int_equal(read_err(path("zero"), 1 << 20, false, &len), EFBIG);
    assert_int_equal(read_err(path("zero"), 0, false, &len), EFBIG);
}

/* A FIFO nobody writes: refused at once when only regular files will do
 * (a hang here is the bug); read to its end otherwise. */
static void fifo(void **state)
{
    (void)state;
    assert_int_equal(mkfifo(path("fifo"), 0644), 0);
    size_t len;
    assert_int_equal(read_err(path("fifo"), 100, true, &len), SOAC_ENOTREG);
    /* each writer is waited for before the next: a FIFO's data outlives
     * its reader while a writer holds it open */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "head -c 5000 /dev/zero > %s", path("fifo"));
    FILE *w = popen(cmd, "r");
    assert_non_null(w);
    assert_int_equal(read_err(path("fifo"), 100, false, &len), EFBIG);
    pclose(w);
    snprintf(cmd, sizeof cmd, "printf 'component A {}' > %s", path("fifo"));
    w = popen(cmd, "r");
    assert_non_null(w);
    assert_int_equal(read_err(path("fifo"), 100, false, &len), 0);
    assert_int_equal(len, 14);
    assert_int_equal(pclose(w), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regular_files),
        cmocka_unit_test(endless_device),
        cmocka_unit_test(fifo),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}

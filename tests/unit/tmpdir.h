/*
 * tmpdir.h: a temporary directory for a cmocka test program (made by the
 * group setup, removed with everything in it by the group teardown) and
 * paths in it.  Header-only, for tests/unit/test_compiler_*.c, which
 * define _DEFAULT_SOURCE (mkdtemp) before any header.
 */
#ifndef SOAC_TEST_TMPDIR_H
#define SOAC_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[256];

static inline int tmpdir_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/soac-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int tmpdir_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* tmpdir/name, in one of four static buffers (so a call may use four). */
static inline char *path(const char *name)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", tmpdir, name);
    return buf[i];
}

#endif /* SOAC_TEST_TMPDIR_H */

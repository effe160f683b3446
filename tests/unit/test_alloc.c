/*
 * test_alloc.c: the heap allocator and arenas, including sharing with fork()
 * children and with a separately exec'd process that attaches by fd.
 *
 * The test program doubles as the exec'd helper: run as
 *   test_alloc --attach-child FD OFFSET
 * it attaches the arena behind FD, checks the parent's bytes at OFFSET and
 * writes its own after them (exit status 0 when all went well).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "soa/alloc.h"

#define PARENT_BYTE 0x5a
#define CHILD_BYTE 0xc3
#define SHARE_LEN 4096u

static bool aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1u)) == 0;
}

/* Waits for a child; its exit status, or -1 if it did not exit normally. */
static int child_status(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* What a process that attached does: check the parent's SHARE_LEN bytes at
 * `off`, write CHILD_BYTE into the SHARE_LEN after them.  0 when fine, else
 * which step failed. */
static int attached_peer(int fd, size_t off)
{
    soa_arena *b = soa_arena_attach(fd);
    if (!b)
        return 10;
    if (soa_arena_kind(b) != SOA_ARENA_NAMED || soa_arena_fd(b) == fd)
        return 11;
    unsigned char *p = soa_arena_ptr(b, off);
    if (!p || soa_arena_capacity(b) < off + 2 * SHARE_LEN)
        return 12;
    for (size_t i = 0; i < SHARE_LEN; i++)
        if (p[i] != PARENT_BYTE)
            return 13;
    memset(p + SHARE_LEN, CHILD_BYTE, SHARE_LEN);
    soa_arena_destroy(b);
    if (fcntl(fd, F_GETFD) < 0) /* attach dup'ed: our fd is still ours */
        return 14;
    return 0;
}

/* ---- the heap allocator ---------------------------------------------- */

static void test_heap_alignment_and_sizes(void **state)
{
    (void)state;
    soa_alloc *h = soa_alloc_heap();
    assert_non_null(h);
    assert_ptr_equal(soa_alloc_or_heap(NULL), h);
    for (size_t align = 1; align <= 8192; align *= 2) {
        static const size_t sizes[] = {0, 1, 7, 63, 64, 65, 1000, 100000};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            unsigned char *p = h->alloc(h, sizes[k], align);
            assert_non_null(p); /* even for 0 bytes: only passed to free */
            assert_true(aligned(p, align));
            memset(p, 0xab, sizes[k]); /* ASan: all of it is ours */
            h->free(h, p, sizes[k]);
        }
    }
    h->free(h, NULL, 0);
}

static void test_heap_errors(void **state)
{
    (void)state;
    soa_alloc *h = soa_alloc_heap();
    errno = 0;
    assert_null(h->alloc(h, 64, 3)); /* not a power of two */
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(h->alloc(h, 64, 0));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(h->alloc(h, SIZE_MAX, 64)); /* rounding up would wrap */
    assert_int_equal(errno, ENOMEM);
}

/* ---- arenas ----------------------------------------------------------- */

static int kinds[] = {SOA_ARENA_PRIVATE, SOA_ARENA_SHARED, SOA_ARENA_NAMED};

static void test_arena_create_errors(void **state)
{
    (void)state;
    errno = 0;
    assert_null(soa_arena_create(0, SOA_ARENA_PRIVATE));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(soa_arena_create(4096, 3));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(soa_arena_create(4096, -1));
    assert_int_equal(errno, EINVAL);
    for (size_t k = 0; k < 3; k++) {
        errno = 0;
        assert_null(soa_arena_create(SIZE_MAX, kinds[k]));
        assert_int_equal(errno, EOVERFLOW);
        errno = 0;
        assert_null(soa_arena_create(SIZE_MAX - 40, kinds[k]));
        assert_int_equal(errno, EOVERFLOW);
        errno = 0;
        assert_null(soa_arena_create((size_t)PTRDIFF_MAX, kinds[k]));
        assert_int_equal(errno, EOVERFLOW);
    }
    soa_arena_destroy(NULL);
    assert_int_equal(soa_arena_fd(NULL), -1);
    assert_int_equal(soa_arena_capacity(NULL), 0);
    assert_null(soa_arena_allocator(NULL));
}

static void test_arena_alignment(void **state)
{
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        soa_arena *a = soa_arena_create(100000, kinds[k]);
        assert_non_null(a);
        assert_int_equal(soa_arena_kind(a), kinds[k]);
        assert_true(soa_arena_capacity(a) >= 100000);
        assert_int_equal(soa_arena_used(a), 0);
        assert_int_equal(soa_arena_fd(a) >= 0, kinds[k] == SOA_ARENA_NAMED);
        uintptr_t prev = 0;
        static const size_t aligns[] = {0, 1, 8, 64, 128, 4096, 64};
        for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
            size_t want = aligns[i] < SOA_ALIGN ? SOA_ALIGN : aligns[i];
            unsigned char *p = soa_arena_alloc(a, 13, aligns[i]);
            assert_non_null(p);
            assert_true(aligned(p, want));
            assert_true((uintptr_t)p > prev); /* bump order, no overlap */
            for (size_t j = 0; j < 13; j++)
                assert_int_equal(p[j], 0); /* starts zeroed */
            memset(p, 0xee, 13);
            size_t off = soa_arena_offset(a, p);
            assert_true(off < soa_arena_capacity(a));
            assert_ptr_equal(soa_arena_ptr(a, off), p);
            assert_true(soa_arena_used(a) == off + 13);
            prev = (uintptr_t)p + 12u;
        }
        errno = 0;
        assert_null(soa_arena_alloc(a, 8, 48)); /* not a power of two */
        assert_int_equal(errno, EINVAL);
        soa_arena_destroy(a);
    }
}

static void test_arena_full_overflow_reset(void **state)
{
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        soa_arena *a = soa_arena_create(8192, kinds[k]);
        assert_non_null(a);
        size_t cap = soa_arena_capacity(a);
        unsigned char *first = soa_arena_alloc(a, cap, 0); /* exactly all */
        assert_non_null(first);
        assert_int_equal(soa_arena_offset(a, first), 0);
        memset(first, 1, cap);
        assert_int_equal(soa_arena_used(a), cap);
        errno = 0;
        assert_null(soa_arena_alloc(a, 1, 0));
        assert_int_equal(errno, ENOMEM);
        soa_arena_reset(a);
        assert_int_equal(soa_arena_used(a), 0);
        errno = 0;
        assert_null(soa_arena_alloc(a, cap + 1, 0));
        assert_int_equal(errno, ENOMEM);
        errno = 0;
        assert_null(soa_arena_alloc(a, SIZE_MAX, 0));
        assert_int_equal(errno, ENOMEM);
        errno = 0;
        assert_null(soa_arena_alloc(a, 1, SIZE_MAX / 4 + 1)); /* align huge */
        assert_true(errno == ENOMEM || errno == EOVERFLOW);
        assert_int_equal(soa_arena_used(a), 0); /* failures take nothing */
        unsigned char *again = soa_arena_alloc(a, 100, 0);
        assert_ptr_equal(again, first); /* reset starts over */
        assert_int_equal(again[0], 1);  /* and does not clear */
        /* fill with 64-byte pieces: exactly cap / 64 fit */
        soa_arena_reset(a);
        size_t count = 0;
        while (soa_arena_alloc(a, 1, 0))
            count++;
        assert_int_equal(count, cap / 64u);
        soa_arena_destroy(a);
    }
}

static void test_arena_offsets(void **state)
{
    (void)state;
    soa_arena *a = soa_arena_create(4096, SOA_ARENA_PRIVATE);
    assert_non_null(a);
    size_t cap = soa_arena_capacity(a);
    unsigned char *start = soa_arena_ptr(a, 0);
    assert_non_null(start);
    assert_int_equal(soa_arena_offset(a, start), 0);
    assert_int_equal(soa_arena_offset(a, start + cap), cap);
    assert_ptr_equal(soa_arena_ptr(a, cap), start + cap);
    assert_null(soa_arena_ptr(a, cap + 1));
    assert_null(soa_arena_ptr(a, SIZE_MAX));
    int local;
    assert_int_equal(soa_arena_offset(a, &local), SOA_ARENA_BAD_OFFSET);
    assert_int_equal(soa_arena_offset(a, NULL), SOA_ARENA_BAD_OFFSET);
    assert_int_equal(soa_arena_offset(a, start + cap + 1),
                     SOA_ARENA_BAD_OFFSET);
    assert_int_equal(soa_arena_offset(a, start - 1), SOA_ARENA_BAD_OFFSET);
    soa_arena_destroy(a);
}

static void test_arena_as_allocator(void **state)
{
    (void)state;
    soa_arena *a = soa_arena_create(4096, SOA_ARENA_PRIVATE);
    assert_non_null(a);
    soa_alloc *al = soa_arena_allocator(a);
    assert_non_null(al);
    void *p = al->alloc(al, 100, 16);
    assert_non_null(p);
    assert_true(aligned(p, SOA_ALIGN));
    assert_int_equal(soa_arena_offset(a, p), 0);
    al->free(al, p, 100); /* no-op: nothing reclaimed */
    void *q = al->alloc(al, 100, 64);
    assert_int_equal(soa_arena_offset(a, q), 128);
    soa_arena_destroy(a);
}

/* ---- sharing between processes ---------------------------------------- */

static void test_shm_available(void **state)
{
    (void)state;
    errno = 1234;
    bool first = soa_shm_available();
    assert_int_equal(errno, 1234); /* the probe leaves errno alone */
    assert_int_equal(soa_shm_available(), first);
    assert_true(first); /* Linux with memfd: the machines we run on */
}

static void *probe_thread(void *arg)
{
    *(bool *)arg = soa_shm_available();
    return NULL;
}

/* The first calls race from several threads: one probe, one answer. */
static void test_shm_available_from_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    bool got[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, probe_thread, &got[i]),
                         0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(got[i], soa_shm_available());
    }
}

/* A fork()ed child writes into a SHARED arena; the parent sees it.  The
 * same with a PRIVATE arena stays private. */
static void test_shared_arena_seen_by_fork_child(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        soa_arena *a = soa_arena_create(SHARE_LEN,
                                        k ? SOA_ARENA_SHARED : SOA_ARENA_PRIVATE);
        assert_non_null(a);
        unsigned char *p = soa_arena_alloc(a, SHARE_LEN, 0);
        assert_non_null(p);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            memset(p, CHILD_BYTE, SHARE_LEN);
            _exit(0);
        }
        assert_int_equal(child_status(pid), 0);
        unsigned char want = k ? CHILD_BYTE : 0;
        for (size_t i = 0; i < SHARE_LEN; i++)
            assert_int_equal(p[i], want);
        soa_arena_destroy(a);
    }
}

/* Makes a NAMED arena with PARENT_BYTE at an offset; returns the offset. */
static size_t named_with_data(soa_arena **out)
{
    soa_arena *a = soa_arena_create(3 * SHARE_LEN, SOA_ARENA_NAMED);
    assert_non_null(a);
    assert_non_null(soa_arena_alloc(a, 100, 0)); /* so the offset is not 0 */
    unsigned char *p = soa_arena_alloc(a, 2 * SHARE_LEN, 0);
    assert_non_null(p);
    memset(p, PARENT_BYTE, SHARE_LEN);
    *out = a;
    return soa_arena_offset(a, p);
}

static void test_named_arena_attached_in_fork_child(void **state)
{
    (void)state;
    soa_arena *a;
    size_t off = named_with_data(&a);
    unsigned char *p = soa_arena_ptr(a, off);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A second, separate mapping: our copy of the parent's mapping
         * is still there, so the new one must be elsewhere. */
        soa_arena *b = soa_arena_attach(soa_arena_fd(a));
        if (!b || soa_arena_ptr(b, off) == p)
            _exit(20);
        soa_arena_destroy(b);
        _exit(attached_peer(soa_arena_fd(a), off));
    }
    assert_int_equal(child_status(pid), 0);
    for (size_t i = 0; i < SHARE_LEN; i++)
        assert_int_equal(p[SHARE_LEN + i], CHILD_BYTE);
    soa_arena_destroy(a);
}

static char self_exe[PATH_MAX];

/* The fd is close-on-exec (as memfds should be): the child dup2s it to a
 * known number, which clears the flag, and execs this program. */
static void test_named_arena_attached_after_exec(void **state)
{
    (void)state;
    ssize_t len = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    assert_true(len > 0);
    self_exe[len] = '\0';
    soa_arena *a;
    size_t off = named_with_data(&a);
    int fd = soa_arena_fd(a);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    char offs[32];
    snprintf(offs, sizeof offs, "%zu", off);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (dup2(fd, 77) != 77)
            _exit(30);
        execl(self_exe, self_exe, "--attach-child", "77", offs, (char *)NULL);
        _exit(31);
    }
    assert_int_equal(child_status(pid), 0);
    unsigned char *p = soa_arena_ptr(a, off);
    for (size_t i = 0; i < SHARE_LEN; i++)
        assert_int_equal(p[SHARE_LEN + i], CHILD_BYTE);
    soa_arena_destroy(a);
}

/* Nobody can shrink a NAMED arena's memfd under a mapping (no SIGBUS). */
static void test_named_arena_cannot_shrink(void **state)
{
    (void)state;
    soa_arena *a = soa_arena_create(8192, SOA_ARENA_NAMED);
    assert_non_null(a);
    errno = 0;
    assert_int_equal(ftruncate(soa_arena_fd(a), 100), -1);
    assert_int_equal(errno, EPERM);
    errno = 0;
    assert_int_equal(fcntl(soa_arena_fd(a), F_ADD_SEALS, F_SEAL_WRITE), -1);
    assert_int_equal(errno, EPERM); /* sealed seals */
    soa_arena_destroy(a);
}

/* ---- attach of bad fds -------------------------------------------------- */

/* A memfd holding `len` bytes of `data` padded to `size`, sealed with
 * `seals` (0: none). */
static int crafted_memfd(const void *data, size_t len, size_t size, int seals)
{
    int fd = memfd_create("crafted", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    if (len)
        assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
    if (seals)
        assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
    return fd;
}

/* A valid header (see alloc.c) for `capacity` usable bytes. */
static void make_header(unsigned char h[64], uint32_t version, uint64_t cap)
{
    uint32_t hsize = 64;
    memset(h, 0, 64);
    memcpy(h, "SOAARENA", 8);
    memcpy(h + 8, &version, 4);
    memcpy(h + 12, &hsize, 4);
    memcpy(h + 16, &cap, 8);
}

static void expect_attach_fails(int fd, int err)
{
    errno = 0;
    soa_arena *a = soa_arena_attach(fd);
    if (a) {
        soa_arena_destroy(a);
        fail_msg("attach of fd %d succeeded", fd);
    }
    assert_int_equal(errno, err);
}

static void test_attach_rejects_bad_fds(void **state)
{
    (void)state;
    const int seals = F_SEAL_SHRINK | F_SEAL_SEAL;
    unsigned char h[64];

    expect_attach_fails(-1, EBADF);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[1]);
    expect_attach_fails(fds[1], EBADF); /* closed */
    expect_attach_fails(fds[0], EINVAL); /* a pipe */
    close(fds[0]);

    /* A regular file with a perfect header: no seals, not an arena. */
    FILE *f = tmpfile();
    assert_non_null(f);
    make_header(h, 1, 4096);
    assert_int_equal(fwrite(h, 1, 64, f), 64);
    assert_int_equal(ftruncate(fileno(f), 64 + 4096), 0);
    fflush(f);
    expect_attach_fails(fileno(f), EINVAL);
    fclose(f);

    int fd = crafted_memfd(h, 64, 64 + 4096, 0); /* unsealed */
    expect_attach_fails(fd, EINVAL);
    close(fd);
    fd = crafted_memfd(h, 64, 64 + 4096, F_SEAL_SHRINK); /* seals open */
    expect_attach_fails(fd, EINVAL);
    close(fd);

    unsigned char junk[64];
    memset(junk, 'x', sizeof junk);
    fd = crafted_memfd(junk, 64, 8192, seals); /* wrong magic */
    expect_attach_fails(fd, EINVAL);
    close(fd);
    fd = crafted_memfd(NULL, 0, 8192, seals); /* all zeros */
    expect_attach_fails(fd, EINVAL);
    close(fd);
    fd = crafted_memfd(h, 10, 10, seals); /* smaller than a header */
    expect_attach_fails(fd, EINVAL);
    close(fd);
    fd = crafted_memfd(NULL, 0, 0, seals); /* empty */
    expect_attach_fails(fd, EINVAL);
    close(fd);
    fd = crafted_memfd(h, 64, 64 + 4095, seals); /* truncated */
    expect_attach_fails(fd, EINVAL);
    close(fd);
    make_header(h, 1, UINT64_MAX); /* a lying capacity */
    fd = crafted_memfd(h, 64, 8192, seals);
    expect_attach_fails(fd, EINVAL);
    close(fd);
    make_header(h, 2, 4096); /* another version */
    fd = crafted_memfd(h, 64, 64 + 4096, seals);
    expect_attach_fails(fd, EPROTO);
    close(fd);

    /* The crafted header with the right version is accepted: the checks
     * above failed for the reason each names, not for any reason. */
    make_header(h, 1, 4096);
    fd = crafted_memfd(h, 64, 64 + 4096, seals);
    soa_arena *a = soa_arena_attach(fd);
    assert_non_null(a);
    assert_int_equal(soa_arena_capacity(a), 4096);
    soa_arena_destroy(a);
    close(fd);
}

/* Near-valid headers with random bytes changed, over random sizes: attach
 * either refuses (EINVAL or EPROTO) or gives an arena whose whole capacity
 * is backed by the file (touching its last byte must not SIGBUS). */
static void test_attach_random_headers(void **state)
{
    (void)state;
    const int seals = F_SEAL_SHRINK | F_SEAL_SEAL;
    uint64_t r = 0x243f6a8885a308d3u;
    size_t accepted = 0;
    for (int iter = 0; iter < 1500; iter++) {
        unsigned char h[64];
        r = r * 6364136223846793005u + 1442695040888963407u;
        uint64_t cap = (r >> 20) % 9000u;
        make_header(h, 1, cap);
        for (unsigned k = (unsigned)(r >> 60) % 4u; k > 0; k--) {
            r = r * 6364136223846793005u + 1442695040888963407u;
            h[(r >> 33) % 24u] = (unsigned char)(r >> 50);
        }
        r = r * 6364136223846793005u + 1442695040888963407u;
        size_t size = (size_t)(r >> 33) % 9200u;
        int fd = crafted_memfd(h, size < 64 ? size : 64, size, seals);
        errno = 0;
        soa_arena *a = soa_arena_attach(fd);
        if (a) {
            struct stat st;
            assert_int_equal(fstat(fd, &st), 0);
            size_t c = soa_arena_capacity(a);
            assert_true(c + 64u <= (size_t)st.st_size);
            if (c) {
                unsigned char *last = soa_arena_ptr(a, c - 1);
                *last ^= 1u;
            }
            soa_arena_destroy(a);
            accepted++;
        } else {
            assert_true(errno == EINVAL || errno == EPROTO);
        }
        close(fd);
    }
    assert_true(accepted > 0); /* the unmutated headers that fit */
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--attach-child") == 0)
        return attached_peer(atoi(argv[2]), (size_t)strtoull(argv[3], NULL, 10));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shm_available_from_threads),
        cmocka_unit_test(test_heap_alignment_and_sizes),
        cmocka_unit_test(test_heap_errors),
        cmocka_unit_test(test_arena_create_errors),
        cmocka_unit_test(test_arena_alignment),
        cmocka_unit_test(test_arena_full_overflow_reset),
        cmocka_unit_test(test_arena_offsets),
        cmocka_unit_test(test_arena_as_allocator),
        cmocka_unit_test(test_shm_available),
        cmocka_unit_test(test_shared_arena_seen_by_fork_child),
        cmocka_unit_test(test_named_arena_attached_in_fork_child),
        cmocka_unit_test(test_named_arena_attached_after_exec),
        cmocka_unit_test(test_named_arena_cannot_shrink),
        cmocka_unit_test(test_attach_rejects_bad_fds),
        cmocka_unit_test(test_attach_random_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_worker_ipc: the mailbox between two processes.  A forked child
 * receives 1M requests through a shared arena, checks that every sequence
 * number comes exactly once and in order, with its payload intact, and
 * echoes each one back; the parent checks the replies the same way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "soa/alloc.h"
#include "soa/mailbox.h"

#define MESSAGES 1000000u
#define TIMEOUT_NS INT64_C(10000000000) /* 10 s: only a broken peer */

static uint64_t payload(uint64_t i)
{
    return i * UINT64_C(0x9e3779b97f4a7c15);
}

/* The child: exit code 0 when every request arrived exactly once, in
 * order, intact, and every echo was sent. */
static int echo_child(soa_arena *a, size_t off, size_t bytes)
{
    soa_mailbox mb;
    if (soa_mailbox_open(&mb, soa_arena_ptr(a, off), bytes) != 0)
        return 10;
    for (uint64_t i = 0; i < MESSAGES; i++) {
        soa_msg m;
        if (soa_ring_recv(&mb.req, &m, TIMEOUT_NS) != 0)
            return 11;
        if (m.seq != i + 1)
            return 12; /* skipped or repeated */
        if (m.u[0] != i || m.u[1] != payload(i))
            return 13;
        m.u[2] = m.seq;
        if (soa_ring_send(&mb.rep, &m, TIMEOUT_NS) != 0)
            return 14;
        if (i % 4096 == 0)
            soa_mailbox_set_progress(&mb, i + 1);
    }
    soa_mailbox_set_progress(&mb, MESSAGES);
    return 0;
}

static void test_million_messages_two_processes(void **state)
{
    (void)state;
    if (!soa_shm_available()) {
        skip();
    }
    size_t bytes = soa_mailbox_bytes(1024);
    soa_arena *a = soa_arena_create(bytes + 4096, SOA_ARENA_SHARED);
    assert_non_null(a);
    void *mem = soa_arena_alloc(a, bytes, 64);
    assert_non_null(mem);
    size_t off = soa_arena_offset(a, mem);
    soa_mailbox mb;
    assert_int_equal(soa_mailbox_init(&mb, mem, bytes, 1024), 0);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(echo_child(a, off, bytes));

    uint64_t sent = 0, got = 0, bad = 0;
    /* Keep up to half a ring in flight, so both directions stream. */
    while (got < MESSAGES) {
        while (sent < MESSAGES && sent - got < 512) {
            soa_msg m = {0};
            m.kind = 4;
            m.u[0] = sent;
            m.u[1] = payload(sent);
            if (soa_ring_send(&mb.req, &m, TIMEOUT_NS) != 0)
                break;
            sent++;
        }
        soa_msg r;
        if (soa_ring_recv(&mb.rep, &r, TIMEOUT_NS) != 0) {
            bad++;
            break;
        }
        if (r.seq != got + 1 || r.u[2] != got + 1 || r.u[0] != got ||
            r.u[1] != payload(got))
            bad++;
        got++;
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(got, MESSAGES);
    assert_int_equal(soa_mailbox_progress(&mb), MESSAGES);
    soa_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_million_messages_two_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

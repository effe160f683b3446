# Worker processes: the mailbox (runtime/src/mailbox.c), the worker host
# (runtime/src/worker.c), their tests, the worker-process example and the
# mailbox benchmark.

# The in-process ring test also runs under ThreadSanitizer (TSan and fork
# do not mix well, so the two-process tests run under ASan only).
TSAN_TESTS += test_mailbox test_worker_threads

# Shared-memory snapshots: two headers from two versions of one schema, so
# the test can attach across a layout change (worker_snap_v2.c is compiled
# against the second).
TEST_GEN_HEADERS += $(BUILD)/gen/worker_snap.h $(BUILD)/gen/worker_snap_v2.h
test_worker_snap_SRCS := tests/unit/worker_snap_v2.c

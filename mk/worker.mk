# Worker processes: the mailbox (runtime/src/mailbox.c), the worker host
# (runtime/src/worker.c), their tests, the worker-process example and the
# mailbox benchmark.

# The in-process ring test also runs under ThreadSanitizer (TSan and fork
# do not mix well, so the two-process tests run under ASan only).
TSAN_TESTS += test_mailbox

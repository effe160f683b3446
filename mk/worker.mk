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

# examples/worker-process: the main program and the worker binary it
# fork+execs (both link the kernel: the main program needs it for the
# thread fallback).
WP_DIR  := examples/worker-process
WP_MAIN := $(BIN_rel)/worker-process
WP_WORK := $(BIN_rel)/worker-process-worker
$(call objs,rel,$(WP_DIR)/main.c $(WP_DIR)/worker.c $(WP_DIR)/integrate.c): generated/physics.h
$(call objs,rel,$(WP_DIR)/main.c $(WP_DIR)/worker.c $(WP_DIR)/integrate.c): EXTRA_CPPFLAGS = -Iexamples/physics
$(WP_MAIN): $(call objs,rel,$(WP_DIR)/main.c $(WP_DIR)/integrate.c $(PHYSICS_SIM)) $(LIBSOA)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS_rel) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(WP_WORK): $(call objs,rel,$(WP_DIR)/worker.c $(WP_DIR)/integrate.c $(PHYSICS_SIM)) $(LIBSOA)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS_rel) $(LDFLAGS) -o $@ $^ $(LDLIBS)
ALL_TARGETS += $(WP_MAIN) $(WP_WORK)

# Same checksum as examples/physics, in a process and as a thread.
TEST_DEPS     += $(WP_MAIN) $(WP_WORK) $(BIN_rel)/physics
TEST_PROGRAMS += tests/worker_process.sh

# bench/mailbox.c: round trip of a tick through the mailbox vs a pipe, and
# ticks/s with 1, 8, 64 ticks per request.  `make bench QUICK=1` is short.
BENCH_MAILBOX := $(BUILD)/bench/bench_mailbox
$(call objs,rel,bench/mailbox.c): generated/physics.h
$(BENCH_MAILBOX): $(call objs,rel,bench/mailbox.c) $(LIBSOA)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS_rel) $(LDFLAGS) -o $@ $^ $(LDLIBS)
bench:: $(BENCH_MAILBOX)
	$(BENCH_MAILBOX) $(if $(filter-out 0,$(QUICK)),--quick)

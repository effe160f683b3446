# WebAssembly: `make wasm` builds libsoa, the physics example and the wasm
# unit tests with emscripten (emcc) into build/wasm/, twice:
#
#   build/wasm/threads/   -pthread: the pool's threads are Web Workers
#                         (worker_threads in Node) on a SharedArrayBuffer
#   build/wasm/single/    no threads: runs anywhere, SharedArrayBuffer or not
#
# In each: libsoa.a, physics.js (+ .wasm; the physics example, run by
# `node physics.js -n ... -f ...`), tests/test_NAME.js (tests.txt lists
# them for tests/wasm_node.sh), and in single/ also
# physics_web.js and web_mix.js, modules for the transfer path, which the
# page and each Web Worker load (soa_web.h).  Generated headers come from the native
# soac.  The platform file is platform_emscripten.c.
#
# Debian's emscripten 3.1.6 wants NODE_PATH to find acorn, and Node 20
# --no-experimental-fetch to run its output from a file.

EMCC      ?= emcc
WASM_DIR  := $(BUILD)/wasm
WASM_NODE := node --no-experimental-fetch
EMCC_ENV  := NODE_PATH=/usr/share/nodejs
WASM_VARIANTS := threads single

WASM_CFLAGS = -std=c11 -Wall -Wextra -Wpedantic $(WERROR) -O2
WASM_CFLAGS_threads := -pthread
WASM_CFLAGS_single  :=
# Memory grows on demand (a million entities need more than the default);
# EXIT_RUNTIME: Node exits when main returns.
WASM_LDFLAGS = -O2 -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=2GB -sEXIT_RUNTIME=1 \
               -sENVIRONMENT=web,worker,node
# The threaded main runs on a pthread of its own (a browser's main thread
# must not block), with a few Web Workers started up front for the pool.
WASM_LDFLAGS_threads := -pthread -sPROXY_TO_PTHREAD=1 -sPTHREAD_POOL_SIZE=4 \
                        -Wno-pthreads-mem-growth
WASM_LDFLAGS_single  :=

WASM_RUNTIME_SRCS := $(RUNTIME_COMMON_SRCS) runtime/src/platform_emscripten.c

# The unit tests that mean something without processes or shared memory
# between processes (those that do test soa_shm_available() and skip),
# and in the single build the ones without threads.
WASM_TESTS_single  := test_wasm_platform test_desc test_world test_world_moves test_gen_api \
                      test_gen_world test_gen_limits test_system_ns
WASM_TESTS_threads := $(WASM_TESTS_single) test_bitset test_snap test_system \
                      test_pool test_sched test_mailbox test_worker_threads

wasm_objs = $(patsubst %.c,$(WASM_DIR)/obj/$(1)/%.o,$(2))

define wasm_variant
$(WASM_DIR)/obj/$(1)/%.o: %.c | $(DEPS_STAMP) $(WASM_DIR)/.emcc-ok $(TEST_GEN_HEADERS)
	@mkdir -p $$(@D)
	$$(call say,EMCC,$$<)$$(EMCC_ENV) $$(EMCC) $$(WASM_CFLAGS) $$(WASM_CFLAGS_$(1)) $$(SOA_CPPFLAGS) $$(EXTRA_CPPFLAGS) -MMD -MP -c $$< -o $$@

$(WASM_DIR)/$(1)/libsoa.a: $(call wasm_objs,$(1),$(WASM_RUNTIME_SRCS))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(call say,EMAR,$$@)$$(EMCC_ENV) emar rcs $$@ $$^

$(call wasm_objs,$(1),examples/physics/main.c $(PHYSICS_SIM)): \
    EXTRA_CPPFLAGS = -Iexamples/physics
$(call wasm_objs,$(1),examples/browser/physics_web.c): \
    EXTRA_CPPFLAGS = -Iexamples/physics -Iexamples/browser
$(WASM_DIR)/$(1)/physics.js: $(call wasm_objs,$(1),examples/physics/main.c $(PHYSICS_SIM)) $(WASM_DIR)/$(1)/libsoa.a
	$$(call say,EMLD,$$@)$$(EMCC_ENV) $$(EMCC) $$(WASM_LDFLAGS) $$(WASM_LDFLAGS_$(1)) -o $$@ $$^

$(call wasm_objs,$(1),$(foreach t,$(WASM_TESTS_$(1)),tests/unit/$(t).c $($(t)_SRCS))): \
    EXTRA_CPPFLAGS = -Itests/wasm
$(call wasm_objs,$(1),tests/wasm/test_wasm_platform.c): EXTRA_CPPFLAGS = -Itests/wasm
$(WASM_DIR)/$(1)/tests/%.js: $(WASM_DIR)/obj/$(1)/tests/unit/%.o $(WASM_DIR)/$(1)/libsoa.a
	@mkdir -p $$(@D)
	$$(call say,EMLD,$$@)$$(EMCC_ENV) $$(EMCC) $$(WASM_LDFLAGS) $$(WASM_LDFLAGS_$(1)) -o $$@ $$^
$(WASM_DIR)/$(1)/tests/test_wasm_platform.js: $(WASM_DIR)/obj/$(1)/tests/wasm/test_wasm_platform.o $(WASM_DIR)/$(1)/libsoa.a
	@mkdir -p $$(@D)
	$$(call say,EMLD,$$@)$$(EMCC_ENV) $$(EMCC) $$(WASM_LDFLAGS) $$(WASM_LDFLAGS_$(1)) -o $$@ $$^

WASM_BINS += $(WASM_DIR)/$(1)/physics.js \
             $(foreach t,$(WASM_TESTS_$(1)),$(WASM_DIR)/$(1)/tests/$(t).js)
endef
WASM_BINS :=
$(foreach v,$(WASM_VARIANTS),$(eval $(call wasm_variant,$(v))))

# examples/browser's transfer path: modules without threads, each a
# program's world and offloaded systems with soa_web.c (soa_web.h), loaded
# by the page and again by each Web Worker (soa-worker.js).  web_module(OUT,
# FACTORY, SOURCES, PROGRAM EXPORTS) links one; every module exports
# soa_web.h's functions, which transfer.js calls, and the program's own
# (PROGRAM EXPORTS: a variable, commas and all).
WASM_WEB_EXPORTS := _soa_web_find,_soa_web_build,_soa_web_rows,_soa_web_ncols,_soa_web_col_size,_soa_web_col_written,_soa_web_col,_soa_web_inbox,_soa_web_commit,_soa_web_kernel_reserve,_soa_web_kernel_col,_soa_web_kernel_run,_soa_web_kernel_out,_malloc,_free
define web_module
$(1): $(call wasm_objs,single,examples/browser/soa_web.c $(3)) $(WASM_DIR)/single/libsoa.a
	$$(call say,EMLD,$$@)$$(EMCC_ENV) $$(EMCC) $$(WASM_LDFLAGS) -sEXIT_RUNTIME=0 -sMODULARIZE=1 \
	    -sEXPORT_NAME=$(2) -sEXPORTED_FUNCTIONS=$$(WASM_WEB_EXPORTS),$(4) \
	    -sEXPORTED_RUNTIME_METHODS=UTF8ToString,ccall -o $$@ $$^
WASM_BINS += $(1)
endef

# The physics example (its page: examples/browser/index.html).
WASM_WEB := $(WASM_DIR)/single/physics_web.js
WEB_PAGE_EXPORTS := _web_init,_web_world,_web_checksum
$(eval $(call web_module,$(WASM_WEB),createPhysicsWeb,examples/browser/physics_web.c $(PHYSICS_SIM),$(WEB_PAGE_EXPORTS)))
$(call wasm_objs,single,examples/browser/soa_web.c): EXTRA_CPPFLAGS = -Iexamples/browser

# tests/wasm/web_mix.c: a second system through the same path
# (tests/wasm/web_mix.js), and natively, for tests/wasm_node.sh to compare.
$(eval $(call web_module,$(WASM_DIR)/single/web_mix.js,createWebMix,tests/wasm/web_mix.c,$(WEB_PAGE_EXPORTS)))
$(call wasm_objs,single,tests/wasm/web_mix.c): EXTRA_CPPFLAGS = -Iexamples/browser
$(call wasm_objs,single,tests/wasm/web_mix.c): | $(BUILD)/gen/web_mix.h
WEB_MIX_NATIVE := $(BUILD)/rel/tests/web_mix
$(call objs,rel,tests/wasm/web_mix.c): | $(BUILD)/gen/web_mix.h
$(WEB_MIX_NATIVE): $(call objs,rel,tests/wasm/web_mix.c) $(LIBSOA)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS_rel) $(LDFLAGS) -o $@ $^ $(LDLIBS)
TEST_GEN_HEADERS += $(BUILD)/gen/web_mix.h
TEST_DEPS += $(WEB_MIX_NATIVE)

# emcc is there, or `make wasm` says how to get it (make test skips the
# wasm tests instead: tests/wasm_*.sh).
$(WASM_DIR)/.emcc-ok:
	@command -v $(EMCC) >/dev/null 2>&1 || { echo "make wasm: $(EMCC) not found (apt-get install emscripten)" >&2; exit 1; }
	@mkdir -p $(@D) && touch $@

.PHONY: wasm
wasm: $(WASM_BINS)
	@$(foreach v,$(WASM_VARIANTS),printf '%s\n' $(WASM_TESTS_$(v)) >$(WASM_DIR)/$(v)/tests.txt;)

-include $(shell find $(WASM_DIR)/obj -name '*.d' 2>/dev/null)

# make test: the wasm builds, when emcc is here by the time the tests run
# (tools/ensure-deps.sh installs it; it cannot be known when this file is
# read on a fresh machine, hence the sub-make).  Without it
# tests/wasm_node.sh says SKIPPED.
.PHONY: wasm-if-available
wasm-if-available: $(TEST_GEN_HEADERS) $(SOAC) $(BIN_rel)/physics | $(DEPS_STAMP)
	@if command -v $(EMCC) >/dev/null 2>&1; then $(MAKE) --no-print-directory wasm; fi
TEST_DEPS += wasm-if-available
TEST_PROGRAMS += tests/wasm_node.sh tests/wasm_browser.sh

# make bench-wasm: the move scenario in wasm under Node against native, in
# one run (bench/wasm.sh; QUICK=1 for a short one).  Not part of make bench
# (it needs emscripten).
.PHONY: bench-wasm
bench-wasm: wasm $(BIN_rel)/physics
	sh bench/wasm.sh $(if $(filter-out 0,$(QUICK)),--quick)

# tests/unit/test_web.c: soa_web.c natively, under ASan and UBSan, page and
# worker in one process.
test_web_SRCS := examples/browser/soa_web.c
$(call objs,asan,tests/unit/test_web.c examples/browser/soa_web.c): EXTRA_CPPFLAGS = -Iexamples/browser

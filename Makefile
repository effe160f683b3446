# soac: the schema compiler and libsoa, its runtime.
#
#   make          build soac, libsoa and the examples
#   make run      build, then run the main example
#   make test     every test (unit, golden, corpus, sanitizers)
#   make bench    benchmarks (never part of make test)
#   make wasm     libsoa, the physics example and tests for WebAssembly
#                 (emscripten) in build/wasm/; make bench-wasm times them
#   make install  PREFIX=/usr/local (and DESTDIR)
#
# Each part of the project has its fragment in mk/; mk/config.mk comes first
# and holds the flags and the build-variant machinery the others use.

.DEFAULT_GOAL := all

include mk/config.mk
include mk/runtime.mk
include $(filter-out mk/config.mk mk/runtime.mk mk/tests.mk,$(sort $(wildcard mk/*.mk)))
include mk/tests.mk

.PHONY: all run test bench clean
all: $(ALL_TARGETS)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Unit tests: tests/unit/test_NAME.c, each a cmocka program linked with
# libsoa.  Every test runs under ASan+UBSan; those named in TSAN_TESTS (set by
# the fragments) run under ThreadSanitizer too.  Fragments add:
#   TSAN_TESTS        += test_NAME
#   test_NAME_SRCS    := extra sources linked into that test
#   TEST_GEN_HEADERS  += headers (in $(BUILD)/gen) tests need generated first
#   TEST_PROGRAMS     += other executables or scripts run by make test
#   TEST_DEPS         += anything that must be built before tests run

UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_NAMES := $(notdir $(UNIT_SRCS:.c=))
TSAN_TESTS ?=
TEST_PROGRAMS ?=

define unit_test
$(BUILD)/$(2)/tests/$(1): $(call objs,$(2),tests/unit/$(1).c $($(1)_SRCS)) $(LIBSOA_$(2))
	@mkdir -p $$(@D)
	$$(call say,LD,$$@)$$(CC) $$(CFLAGS_$(2)) $$(LDFLAGS) -o $$@ $$^ -lcmocka $$(LDLIBS) $$($(1)_LDLIBS)
$(call objs,$(2),tests/unit/$(1).c $($(1)_SRCS)): | $$(TEST_GEN_HEADERS)
endef
$(foreach t,$(UNIT_NAMES),$(eval $(call unit_test,$(t),asan)))
$(foreach t,$(TSAN_TESTS),$(eval $(call unit_test,$(t),tsan)))

UNIT_BINS := $(foreach t,$(UNIT_NAMES),$(BUILD)/asan/tests/$(t)) \
             $(foreach t,$(TSAN_TESTS),$(BUILD)/tsan/tests/$(t))

# Public headers alone, and the README's tour compiled and run as a new user
# would.
TEST_PROGRAMS += tests/headers.sh tests/readme_tour.sh
TEST_DEPS     += $(SOAC) $(LIBSOA)

# The Makefile's own conventions (V=1, CC/CFLAGS/..., -Werror), in a
# private build directory.
TEST_PROGRAMS += tests/build_conventions.sh

test: $(UNIT_BINS) $(TEST_DEPS)
	@sh tests/run.sh $(UNIT_BINS) $(TEST_PROGRAMS)

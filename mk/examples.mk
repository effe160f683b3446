# The world/scheduler part: the examples (built by plain `make`), `make run`,
# and the system tests' generated headers.
#
#   build/bin/physics             examples/physics: Integrate via the scheduler
#   build/bin/bring-your-own-ecs  examples/bring-your-own-ecs: per-component API
#
# Both use generated/physics.h (soac's output for schemas/physics.soa).

EXAMPLES := physics bring-your-own-ecs
EXAMPLE_BINS := $(foreach e,$(EXAMPLES),$(BIN_rel)/$(e))
ALL_TARGETS += $(EXAMPLE_BINS)

# examples/physics/physics_sim.c: the starting world, kernel and checksum that
# every build of the physics example shares (physics_sim.h).
PHYSICS_SIM := examples/physics/physics_sim.c
$(call objs,rel,$(PHYSICS_SIM)): generated/physics.h
$(BIN_rel)/physics: $(call objs,rel,$(PHYSICS_SIM))
$(call objs,rel,examples/physics/main.c): EXTRA_CPPFLAGS = -Iexamples/physics

define example_rules
$(call objs,rel,examples/$(1)/main.c): generated/physics.h
$(BIN_rel)/$(1): $(call objs,rel,examples/$(1)/main.c) $(LIBSOA)
	@mkdir -p $$(@D)
	$$(call say,LD,$$@)$$(CC) $$(CFLAGS_rel) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach e,$(EXAMPLES),$(eval $(call example_rules,$(e))))

# `make run`: the physics example with defaults that finish in seconds
# (replaces the placeholder RUN_CMD of mk/compiler.mk).
RUN_CMD = $(BIN_rel)/physics
run: $(BIN_rel)/physics

# Headers of tests/schemas/*.soa for the system tests, in $(BUILD)/gen.
$(BUILD)/gen/%.h: tests/schemas/%.soa $(SOAC)
	@mkdir -p $(@D)
	$(call say,SOAC,$<)$(SOAC) -I tests/schemas -o $@ $<

TEST_GEN_HEADERS += $(BUILD)/gen/systems.h $(BUILD)/gen/sched_systems.h
TSAN_TESTS += test_sched test_system test_system_ns
TEST_DEPS += $(BIN_rel)/physics $(BUILD)/gen/systems.h
TEST_PROGRAMS += tests/system_readonly.sh tests/physics_checksum.sh \
                 tests/kernel_vectorises.sh

# libsoa_mpi: one world sharded over MPI ranks (runtime/mpi/, soa/mpi.h).
#
#   make mpi        build/lib/libsoa_mpi.a, build/bin/mpi-physics and the
#                   MPI test programs (plain `make` builds them too when
#                   mpicc and mpirun are installed)
#   make bench-mpi  ns per entity per frame on 1, 2, 4 ranks, bytes per frame
#                   (and bench_mpi_shard: one migration's phases, one process)
#
# libsoa itself never needs MPI.  The MPI sources are compiled by the
# project's compiler with mpicc's flags, which tools/mpi-config.sh writes
# to $(MPI_CONFIG) once the dependency installer has run (it installs
# Open MPI), so a fresh clone's first `make test` already has them: make
# re-reads its makefiles after making an included one.
#
# The MPI tests run in the release build only: ASan and TSan report Open
# MPI's own allocations and shared-memory transport as errors and leaks,
# so runtime/mpi/wire.c, everything that parses the wire without MPI, is
# unit-tested under ASan+UBSan instead (tests/unit/test_mpi_wire.c).

MPI_CONFIG := $(BUILD)/mpi-config.mk
ifeq ($(filter clean,$(MAKECMDGOALS)),)
-include $(MPI_CONFIG)
endif
$(MPI_CONFIG): tools/mpi-config.sh | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@sh tools/mpi-config.sh > $@.tmp && mv $@.tmp $@

MPI_SRCS     := $(sort $(wildcard runtime/mpi/*.c))
LIBSOA_MPI   := $(LIB_rel)/libsoa_mpi.a
MPI_PHYSICS  := $(BIN_rel)/mpi-physics
MPI_TEST_DIR := $(BUILD)/mpi
MPI_TESTS    := $(MPI_TEST_DIR)/mpi_world $(MPI_TEST_DIR)/mpi_fail
BENCH_MPI    := $(BUILD)/bench/bench_mpi
BENCH_SHARD  := $(BUILD)/bench/bench_mpi_shard
MPI_LINK      = $(LIBSOA_MPI) $(LIBSOA) $(MPI_LDLIBS) $(LDLIBS) -lm

# The wire format without MPI, under ASan+UBSan.
test_mpi_wire_SRCS := runtime/mpi/wire.c runtime/mpi/shard.c

ifneq ($(MPI_HAVE),)
ALL_TARGETS += $(LIBSOA_MPI) $(MPI_PHYSICS)
TEST_DEPS   += $(MPI_PHYSICS) $(MPI_TESTS) $(BIN_rel)/physics

STRIPS   := $(call objs,rel,examples/mpi-physics/strips.c $(PHYSICS_SIM))
MPI_OBJS := $(call objs,rel,$(MPI_SRCS) examples/mpi-physics/main.c \
              tests/mpi/mpi_world.c tests/mpi/mpi_fail.c bench/mpi.c)
$(MPI_OBJS): private EXTRA_CPPFLAGS += $(MPI_CPPFLAGS) -Iexamples/physics
$(STRIPS): private EXTRA_CPPFLAGS += -Iexamples/physics
$(call objs,rel,bench/mpi.c): private EXTRA_CPPFLAGS += -Iexamples/mpi-physics
$(call objs,rel,examples/mpi-physics/main.c bench/mpi.c examples/mpi-physics/strips.c): generated/physics.h
$(call objs,rel,tests/mpi/mpi_world.c tests/mpi/mpi_fail.c): $(BUILD)/gen/mpi_test.h

$(LIBSOA_MPI): $(call objs,rel,$(MPI_SRCS))
	@mkdir -p $(@D)
	@rm -f $@
	$(call say,AR,$@)$(AR) rcs $@ $^

$(MPI_PHYSICS): $(call objs,rel,examples/mpi-physics/main.c) $(STRIPS) $(LIBSOA_MPI) $(LIBSOA)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS_rel) $(LDFLAGS) -o $@ $< $(STRIPS) $(MPI_LINK)

$(MPI_TEST_DIR)/%: $(call objs,rel,tests/mpi/%.c) $(LIBSOA_MPI) $(LIBSOA)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS_rel) $(LDFLAGS) -o $@ $< $(MPI_LINK)

$(BENCH_MPI): $(call objs,rel,bench/mpi.c) $(STRIPS) $(LIBSOA_MPI) $(LIBSOA)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS_rel) $(LDFLAGS) -o $@ $< $(STRIPS) $(MPI_LINK)

# One migration's phases per entity, in one process without MPI.
$(call objs,rel,bench/mpi_shard.c): generated/physics.h
$(BENCH_SHARD): $(call objs,rel,bench/mpi_shard.c runtime/mpi/wire.c runtime/mpi/shard.c) $(LIBSOA)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS_rel) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

.PHONY: mpi bench-mpi
mpi: $(LIBSOA_MPI) $(MPI_PHYSICS) $(MPI_TESTS)
bench-mpi: $(BENCH_MPI) $(BENCH_SHARD) $(BIN_rel)/physics
	@sh bench/mpi.sh $(BENCH_MPI) $(if $(filter-out 0,$(QUICK)),--quick)
	@echo
	@$(BENCH_SHARD) $(if $(filter-out 0,$(QUICK)),-n 200000 -r 3)
bench:: bench-mpi
else
.PHONY: mpi bench-mpi
mpi bench-mpi:
	@echo "make $@: needs mpicc and mpirun (apt-get install libopenmpi-dev openmpi-bin)" >&2; exit 1
endif

TEST_GEN_HEADERS += $(BUILD)/gen/mpi_test.h
TEST_PROGRAMS += tests/mpi_world.sh tests/mpi_fail.sh tests/mpi_physics.sh

# make install also installs libsoa_mpi.a when it was built (soa/mpi.h is
# installed with the other headers).
ifneq ($(MPI_HAVE),)
INSTALL_ITEMS += 644 $(LIBSOA_MPI) lib/libsoa_mpi.a
install: $(LIBSOA_MPI)
endif

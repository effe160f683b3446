# The soac benchmark (bench/ecs), one of the `bench::` rules of
# `make bench`; `make bench QUICK=1` runs a short version.
# Every file is built like the rest of the release variant (-O2, see
# CFLAGS_rel); only bench/ecs/plain.c, the OpenMP variant, adds -fopenmp.
# Output: the table on stdout, build/bench/results.json and results.svg.
# BENCH_ARGS passes more options (e.g. BENCH_ARGS="--only heavy --threads 1").

BENCH_ECS_DIR  := $(BUILD)/bench
BENCH_ECS_GEN  := $(BENCH_ECS_DIR)/gen/bench_ecs.h
BENCH_ECS_SRCS := bench/ecs/main.c bench/ecs/measure.c bench/ecs/plain.c \
                  bench/ecs/report.c bench/ecs/plot.c bench/ecs/soac.c \
                  bench/ecs/structural.c
BENCH_ECS_OBJS := $(call objs,rel,$(BENCH_ECS_SRCS))
BENCH_ECS_BIN  := $(BENCH_ECS_DIR)/bench_ecs
BENCH_ECS_OMP  := $(call objs,rel,bench/ecs/plain.c)

$(BENCH_ECS_GEN): bench/schemas/bench_ecs.soa $(BIN_rel)/soac
	@mkdir -p $(@D)
	$(call say,SOAC,$<)$(BIN_rel)/soac -o $@ $<

# `private`: these flags must not leak into prerequisites (soac itself).
$(BENCH_ECS_OBJS): private EXTRA_CPPFLAGS += -I$(BENCH_ECS_DIR)/gen
$(BENCH_ECS_OMP): private CFLAGS_rel += -fopenmp
$(BENCH_ECS_OBJS): | $(BENCH_ECS_GEN)

$(BENCH_ECS_BIN): $(BENCH_ECS_OBJS) $(LIBSOA)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS_rel) $(LDFLAGS) -fopenmp -o $@ $^ $(LDLIBS) -lm

# OpenMP threads sleep at once between loops unless you say otherwise:
# libgomp's default (spin a while, then sleep) made frames of 1k-256k rows
# take milliseconds on a 2-vCPU VM, a comparison against a broken
# configuration rather than against OpenMP.
bench:: $(BENCH_ECS_BIN)
	OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-passive} $(BENCH_ECS_BIN) $(if $(filter-out 0,$(QUICK)),--quick) --out $(BENCH_ECS_DIR) $(BENCH_ARGS)

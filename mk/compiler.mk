# soac, the schema compiler: build/bin/soac (rel) and build/asan/bin/soac
# (ASan+UBSan, what the tests run).  flex/bison output goes to
# $(BUILD)/gen/compiler/ and is never committed.

COMPILER_GEN  := $(BUILD)/gen/compiler
COMPILER_SRCS := $(sort $(wildcard compiler/*.c))
COMPILER_GEN_SRCS := $(COMPILER_GEN)/parser.c $(COMPILER_GEN)/lexer.c
# the front end without main.c: shared by soac, the fuzzer and its replayer
SOAC_LIB_SRCS := $(filter-out compiler/main.c,$(COMPILER_SRCS)) $(COMPILER_GEN_SRCS)

SOAC      := $(BIN_rel)/soac
SOAC_asan := $(BIN_asan)/soac
ALL_TARGETS += $(SOAC)

$(COMPILER_GEN)/parser.c: compiler/parser.y | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,BISON,$<)bison -Wall -Werror -d -o $(COMPILER_GEN)/parser.c $<
$(COMPILER_GEN)/parser.h: $(COMPILER_GEN)/parser.c ;

$(COMPILER_GEN)/lexer.c: compiler/lexer.l $(COMPILER_GEN)/parser.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,FLEX,$<)flex -o $@ $<

# Our own files keep every warning as an error; the generated scanner and
# parser get the few warnings flex/bison code is known to trip relaxed.
COMPILER_GEN_RELAX := -Wno-unused-function -Wno-sign-compare -Wno-unused-parameter \
                      -Wno-missing-field-initializers
define compiler_objs
$(call objs,$(1),$(COMPILER_SRCS) $(COMPILER_GEN_SRCS) tests/fuzz/replay.c): \
    EXTRA_CPPFLAGS = -Icompiler -I$(COMPILER_GEN)
$(call objs,$(1),$(COMPILER_GEN_SRCS)): \
    EXTRA_CPPFLAGS = -Icompiler -I$(COMPILER_GEN) $(COMPILER_GEN_RELAX)
$(call objs,$(1),$(COMPILER_SRCS) $(COMPILER_GEN_SRCS) tests/fuzz/replay.c): $(COMPILER_GEN)/parser.h
$(BIN_$(1))/soac: $(call objs,$(1),$(COMPILER_SRCS) $(COMPILER_GEN_SRCS))
	@mkdir -p $$(@D)
	$$(call say,LD,$$@)$$(CC) $$(CFLAGS_$(1)) $$(LDFLAGS) -o $$@ $$^ -lm
endef
$(foreach v,rel asan,$(eval $(call compiler_objs,$(v))))

# `make run`: what RUN_CMD says (mk/examples.mk sets the physics example);
# soac --explain of the physics schema when no fragment sets it.
RUN_DEPS ?= $(SOAC)
RUN_CMD  ?= $(SOAC) --explain schemas/physics.soa
run: all $(RUN_DEPS)
	$(RUN_CMD)

# generated/ holds soac's output for schemas/, and tests/compiler/golden/
# the expected output for the golden schemas, both committed.  `make regen`
# rewrites both (soac leaves unchanged headers alone); make test checks them.
GENERATED := $(patsubst schemas/%.soa,generated/%.h,$(wildcard schemas/*.soa))
.PHONY: regen
regen: $(SOAC)
	@for s in $(GENERATED:generated/%.h=schemas/%.soa); do \
	    echo "soac -I schemas -o generated/$$(basename $$s .soa).h $$s"; \
	    $(SOAC) -I schemas -o generated/$$(basename $$s .soa).h $$s || exit 1; \
	done
	@for s in tests/compiler/golden/*.soa; do \
	    echo "soac -I tests/compiler/golden/lib -o $${s%.soa}.h $$s"; \
	    $(SOAC) -I tests/compiler/golden/lib -o $${s%.soa}.h $$s || exit 1; \
	done

TEST_DEPS     += $(SOAC) $(SOAC_asan) $(LIBSOA)
TEST_PROGRAMS += tests/compiler/regen.sh tests/compiler/golden.sh \
                 tests/compiler/compile.sh tests/compiler/reserved.sh

# test_compiler_source checks compiler/source.c's file reading directly.
test_compiler_source_SRCS := compiler/source.c compiler/out.c

# Headers generated from test schemas for the generated-API tests.
$(BUILD)/gen/%.h: tests/compiler/schemas/%.soa $(SOAC)
	@mkdir -p $(@D)
	$(call say,SOAC,$<)$(SOAC) -I tests/compiler/schemas -o $@ $<
TEST_GEN_HEADERS += $(BUILD)/gen/gen_test.h $(BUILD)/gen/scalar_limits.h

# Fuzzing the front end: `make fuzz` runs libFuzzer (clang) for FUZZ_TIME
# seconds, new inputs in $(BUILD)/fuzz/corpus, seeds from tests/fuzz/corpus.
# make test replays the committed corpus with a gcc ASan+UBSan driver.
FUZZ_TIME ?= 60
FUZZ_SRCS := $(SOAC_LIB_SRCS) tests/fuzz/fuzz_soac.c
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all -Icompiler -I$(COMPILER_GEN) -Iruntime/include
$(BUILD)/fuzz/obj/%.o: %.c $(COMPILER_GEN)/parser.h $(wildcard compiler/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $(if $(filter $(BUILD)/%,$<),-w,$(WARN)) -c $< -o $@
$(BUILD)/fuzz/soac_fuzz: $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_SRCS))
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ -lm

.PHONY: fuzz
fuzz: $(BUILD)/fuzz/soac_fuzz
	@mkdir -p $(BUILD)/fuzz/corpus
	$(BUILD)/fuzz/soac_fuzz -max_total_time=$(FUZZ_TIME) -timeout=10 \
	    -rss_limit_mb=2048 -dict=tests/fuzz/soa.dict $(BUILD)/fuzz/corpus tests/fuzz/corpus

# `make fuzz-cli`: the command line against a real temporary directory
# (tests/fuzz/fuzz_soac_cli.c): arguments, include resolution, outputs.
# It runs in that directory, so findings are written by absolute path.
$(BUILD)/fuzz/soac_cli_fuzz: $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(SOAC_LIB_SRCS) tests/fuzz/fuzz_soac_cli.c)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ -lm
$(BUILD)/fuzz/cli.dict: tests/fuzz/soa.dict tests/fuzz/soa_cli.dict
	@mkdir -p $(@D)
	cat $^ > $@
.PHONY: fuzz-cli
fuzz-cli: $(BUILD)/fuzz/soac_cli_fuzz $(BUILD)/fuzz/cli.dict
	@mkdir -p $(BUILD)/fuzz/corpus_cli
	$(BUILD)/fuzz/soac_cli_fuzz -max_total_time=$(FUZZ_TIME) -timeout=10 \
	    -rss_limit_mb=2048 -close_fd_mask=3 -dict=$(BUILD)/fuzz/cli.dict \
	    -artifact_prefix=$(abspath $(BUILD)/fuzz)/ $(BUILD)/fuzz/corpus_cli tests/fuzz/corpus_cli

FUZZ_HARNESSES := tests/fuzz/fuzz_soac.c tests/fuzz/fuzz_soac_cli.c
$(call objs,asan,$(FUZZ_HARNESSES) tests/fuzz/replay.c): \
    EXTRA_CPPFLAGS = -Icompiler -I$(COMPILER_GEN)
$(call objs,asan,$(FUZZ_HARNESSES)): $(COMPILER_GEN)/parser.h
$(BIN_asan)/soac_fuzz_replay: $(call objs,asan,$(SOAC_LIB_SRCS) tests/fuzz/fuzz_soac.c tests/fuzz/replay.c)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS_asan) $(LDFLAGS) -o $@ $^ -lm
$(BIN_asan)/soac_cli_fuzz_replay: $(call objs,asan,$(SOAC_LIB_SRCS) tests/fuzz/fuzz_soac_cli.c tests/fuzz/replay.c)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(CFLAGS_asan) $(LDFLAGS) -o $@ $^ -lm
TEST_DEPS     += $(BIN_asan)/soac_fuzz_replay $(BIN_asan)/soac_cli_fuzz_replay
TEST_PROGRAMS += tests/fuzz/replay.sh

# Two generated headers meeting in one translation unit.
TEST_PROGRAMS += tests/compiler/headers_meet.sh

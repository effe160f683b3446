# Flags, directories and the three build variants:
#   rel   build/        -O2, what users get (build/bin/soac, build/lib/libsoa.a)
#   asan  build/asan/   AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan  build/tsan/   ThreadSanitizer
# An object for variant V of source S is $(BUILD)/obj/V/S.o.

BUILD   ?= build
CC      := gcc
CXX     := g++
CLANG   ?= clang
AR      ?= ar

CSTD     := -std=c11
WARN     := -Wall -Wextra -Wpedantic -Werror
OPT      ?= -O2
CPPFLAGS := -Iruntime/include -Igenerated -I$(BUILD)/gen
LDLIBS   := -lpthread

SAN_rel  :=
SAN_asan := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_tsan := -fsanitize=thread

CFLAGS_rel  := $(CSTD) $(WARN) $(OPT) -g
CFLAGS_asan := $(CSTD) $(WARN) -O1 -g $(SAN_asan)
CFLAGS_tsan := $(CSTD) $(WARN) -O1 -g $(SAN_tsan)

BIN_rel  := $(BUILD)/bin
BIN_asan := $(BUILD)/asan/bin
BIN_tsan := $(BUILD)/tsan/bin
LIB_rel  := $(BUILD)/lib
LIB_asan := $(BUILD)/asan/lib
LIB_tsan := $(BUILD)/tsan/lib

ALL_TARGETS :=

# Tools every build needs (flex, bison, cmocka): installed when missing.
DEPS_STAMP := $(BUILD)/.deps-ok
$(DEPS_STAMP): tools/ensure-deps.sh
	@sh tools/ensure-deps.sh
	@mkdir -p $(@D) && touch $@

define variant_rules
$(BUILD)/obj/$(1)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_$(1)) $$(CPPFLAGS) $$(EXTRA_CPPFLAGS) -MMD -MP -c $$< -o $$@
endef
$(foreach v,rel asan tsan,$(eval $(call variant_rules,$(v))))

# objs(VARIANT, SOURCES)
objs = $(patsubst %.c,$(BUILD)/obj/$(1)/%.o,$(2))

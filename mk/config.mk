# Flags, directories and the three build variants:
#   rel   build/        -O2, what users get (build/bin/soac, build/lib/libsoa.a)
#   asan  build/asan/   AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan  build/tsan/   ThreadSanitizer
# An object for variant V of source S is $(BUILD)/obj/V/S.o.

# CC, CFLAGS, CPPFLAGS and LDFLAGS from the environment or the command line
# are honoured: yours come after ours, so they win.  make's built-in CC
# ("cc") is replaced by gcc, which the tests are written against.
BUILD   ?= build
ifeq ($(origin CC),default)
CC      := gcc
endif
ifeq ($(origin CXX),default)
CXX     := g++
endif
CLANG   ?= clang
AR      ?= ar

# -Werror in development builds and in make test; `make install` builds
# without it (a new compiler's new warning must not stop an install).
WERROR  ?= -Werror
CSTD     := -std=c11
WARN      = -Wall -Wextra -Wpedantic $(WERROR)
OPT      ?= -O2
SOA_CPPFLAGS := -Iruntime/include -Igenerated -I$(BUILD)/gen
LDLIBS   := -lpthread

SAN_rel  :=
SAN_asan := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_tsan := -fsanitize=thread

CFLAGS_rel   = $(CSTD) $(WARN) $(OPT) -g $(CFLAGS)
CFLAGS_asan  = $(CSTD) $(WARN) -O1 -g $(SAN_asan) $(CFLAGS)
CFLAGS_tsan  = $(CSTD) $(WARN) -O1 -g $(SAN_tsan) $(CFLAGS)

# Short lines ("  CC      runtime/src/pool.c") unless make V=1.  In a
# recipe: $(call say,CC,$<)$(CC) ...
V ?= 0
ifeq ($(V),1)
say =
else
say = @printf '  %-7s %s\n' '$(1)' '$(2)';
endif

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
	$$(call say,CC,$$<)$$(CC) $$(CFLAGS_$(1)) $$(SOA_CPPFLAGS) $$(EXTRA_CPPFLAGS) $$(CPPFLAGS) -MMD -MP -c $$< -o $$@
endef
$(foreach v,rel asan tsan,$(eval $(call variant_rules,$(v))))

# objs(VARIANT, SOURCES)
objs = $(patsubst %.c,$(BUILD)/obj/$(1)/%.o,$(2))

# libsoa: every runtime/src/*.c, in each variant, with one platform file:
# platform_linux.c here, platform_emscripten.c in the wasm builds
# (mk/wasm.mk).

RUNTIME_PLATFORM_SRCS := $(wildcard runtime/src/platform_*.c)
RUNTIME_COMMON_SRCS := $(filter-out $(RUNTIME_PLATFORM_SRCS),$(sort $(wildcard runtime/src/*.c)))
RUNTIME_SRCS := $(RUNTIME_COMMON_SRCS) runtime/src/platform_linux.c
RUNTIME_HDRS := $(sort $(wildcard runtime/include/soa/*.h))

define runtime_lib
$(LIB_$(1))/libsoa.a: $(call objs,$(1),$(RUNTIME_SRCS))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(call say,AR,$$@)$$(AR) rcs $$@ $$^
endef
$(foreach v,rel asan tsan,$(eval $(call runtime_lib,$(v))))

LIBSOA      := $(LIB_rel)/libsoa.a
LIBSOA_asan := $(LIB_asan)/libsoa.a
LIBSOA_tsan := $(LIB_tsan)/libsoa.a
ALL_TARGETS += $(LIBSOA)

# Installing soac for other projects: `make install PREFIX=... [DESTDIR=...]`
# and `make uninstall` with the same PREFIX and DESTDIR.
#
# What goes where (under $(DESTDIR)$(PREFIX)):
#   bin/soac                              the compiler (rel build)
#   lib/libsoa.a                          libsoa, static
#   lib/libsoa.so.$(SOA_VERSION)          libsoa, shared (soname libsoa.so.$(SOA_SOVERSION)),
#   lib/libsoa.so.$(SOA_SOVERSION), lib/libsoa.so   and its two symlinks
#   include/soa/*.h                       the public runtime headers
#   lib/pkgconfig/soa.pc                  pkg-config (PREFIX substituted)
#   lib/cmake/soac/soacConfig*.cmake      find_package(soac) (relocatable)
#   share/soac/soac.mk                    make rules: %.h: %.soa
#   share/man/man1/soac.1                 the man page, made from soac --help
#   share/soac/install-manifest           what install wrote, so uninstall
#                                         removes exactly that
# The copying is packaging/install.sh; this fragment builds what it copies:
# the shared library (from PIC objects, variant "pic" in build/obj/pic/),
# the man page and the versioned CMake file.

PREFIX  ?= /usr/local
DESTDIR ?=

SOA_VERSION   := $(shell sed -n 's/^[#]define SOA_VERSION_STRING "\(.*\)"/\1/p' runtime/include/soa/soa.h)
SOA_SOVERSION := $(firstword $(subst ., ,$(SOA_VERSION)))

# The pic variant: the release flags plus -fPIC, for libsoa.so only.
CFLAGS_pic = $(CFLAGS_rel) -fPIC
$(eval $(call variant_rules,pic))

LIBSOA_SO_REAL := $(LIB_rel)/libsoa.so.$(SOA_VERSION)
LIBSOA_SO      := $(LIB_rel)/libsoa.so

# -z defs: a missing library (say -lm) fails here, not in a user's link.
$(LIBSOA_SO_REAL): $(call objs,pic,$(RUNTIME_SRCS))
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -shared -Wl,-soname,libsoa.so.$(SOA_SOVERSION) -Wl,-z,defs -o $@ $^ $(LDLIBS)

$(LIBSOA_SO): $(LIBSOA_SO_REAL)
	@ln -sf libsoa.so.$(SOA_VERSION) $(LIB_rel)/libsoa.so.$(SOA_SOVERSION)
	@ln -sf libsoa.so.$(SOA_SOVERSION) $@

PKG_DIR   := $(BUILD)/packaging
SOAC_MAN  := $(PKG_DIR)/soac.1
SOAC_CMAKE_VERSION := $(PKG_DIR)/soacConfigVersion.cmake

# The man page is soac's own --help text, so the two cannot disagree.
$(SOAC_MAN): $(SOAC) packaging/gen-man.sh
	@mkdir -p $(@D)
	$(call say,MAN,$@)sh packaging/gen-man.sh $(SOAC) $@

$(SOAC_CMAKE_VERSION): packaging/soacConfigVersion.cmake.in runtime/include/soa/soa.h
	@mkdir -p $(@D)
	$(call say,GEN,$@)sed 's|@SOA_VERSION@|$(SOA_VERSION)|g' $< > $@.tmp && mv $@.tmp $@

INSTALL_BUILT := $(SOAC) $(LIBSOA) $(LIBSOA_SO) $(SOAC_MAN) $(SOAC_CMAKE_VERSION)
ALL_TARGETS   += $(LIBSOA_SO) $(SOAC_MAN)

# MODE SOURCE DEST triples for packaging/install.sh; DEST is relative to the
# prefix, MODE is an octal mode, "link" (SOURCE is the symlink's target) or
# "subst" (a template: @PREFIX@ and @VERSION@ replaced, then mode 644).
INSTALL_ITEMS = \
    755 $(SOAC) bin/soac \
    644 $(LIBSOA) lib/libsoa.a \
    755 $(LIBSOA_SO_REAL) lib/libsoa.so.$(SOA_VERSION) \
    link libsoa.so.$(SOA_VERSION) lib/libsoa.so.$(SOA_SOVERSION) \
    link libsoa.so.$(SOA_SOVERSION) lib/libsoa.so \
    $(foreach h,$(RUNTIME_HDRS),644 $(h) include/soa/$(notdir $(h))) \
    subst packaging/soa.pc.in lib/pkgconfig/soa.pc \
    644 packaging/soacConfig.cmake lib/cmake/soac/soacConfig.cmake \
    644 $(SOAC_CMAKE_VERSION) lib/cmake/soac/soacConfigVersion.cmake \
    subst packaging/soac.mk.in share/soac/soac.mk \
    644 $(SOAC_MAN) share/man/man1/soac.1

.PHONY: install uninstall
# What `make install` builds, it builds without -Werror (mk/config.mk).
install: WERROR :=
install: $(INSTALL_BUILT)
	@SOA_VERSION='$(SOA_VERSION)' sh packaging/install.sh install '$(DESTDIR)' '$(PREFIX)' $(INSTALL_ITEMS)

uninstall:
	@sh packaging/install.sh uninstall '$(DESTDIR)' '$(PREFIX)' $(INSTALL_ITEMS)

# The outside-project test: make install into a temporary prefix, then a
# CMake project and a make + pkg-config project built against it.
# It runs `make install` itself, with the BUILD this make uses.
TEST_DEPS     += $(INSTALL_BUILT)
TEST_PROGRAMS += tests/integration/run.sh
test: export SOAC_TEST_BUILD := $(BUILD)

#!/bin/sh
# Uses soac the way another project would: `make install` into a temporary
# prefix, then tests/integration/project/ (main.c, body.soa including
# shared/common.soa, a C++ file) built against that prefix
#   - with plain make + pkg-config + soac.mk,
#   - with CMake (find_package, soac_generate), for the Unix Makefiles
#     generator and, when ninja is installed, Ninja (with SOAC_USE_SHARED).
# Each build runs its programs (static, shared, C++) and checks what they
# print; then edits only the included schema and checks that the header was
# regenerated and the program rebuilt and changed; then rebuilds with no
# change and checks that nothing was; then touches the included schema
# without changing it and checks that nothing downstream of the header is
# rebuilt; with make, also that a schema error stops the build with soac's
# message and keeps the last good header.  Also: install + uninstall leaves
# an empty prefix empty, keeps what was there before, works with DESTDIR;
# the installed man page renders; libsoa.so exports only soa_ names; the
# README's tour builds from a directory of its own, against the build tree
# and against the prefix, with the README's command lines.
set -u
cd "$(dirname "$0")/../.." || exit 2
# Sub-makes here are not part of the outer make's job pool; `make install`
# uses the build directory of the `make test` that runs this.
unset MAKEFLAGS MFLAGS MAKELEVEL
build=${SOAC_TEST_BUILD:-build}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
failed=0

ok()   { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { # check DESCRIPTION COMMAND...
    d=$1; shift
    if "$@"; then ok "$d"; else fail "$d"; fi
}
mtime() { stat -c %.9Y "$1" 2>/dev/null || echo missing; }
# The file system's clock can be coarse (a few ms): wait so an edit is
# strictly newer than what the last build wrote.
tick() { sleep 0.05; }
# Runs a command quietly, showing its output only when it fails.
quiet() {
    if "$@" > "$tmp/log" 2>&1; then return 0; fi
    echo "command failed: $*"; cat "$tmp/log"; return 1
}
expect_output() { # expect_output PROGRAM HP
    printf '%s\n' "moved 4 of 5" \
        "(0.5, -1) (1.5, -1) (2.5, -1) (3.5, -1) (4, 0)" \
        "hp $2 team blue" "libsoa $version" > "$tmp/want"
    "$1" > "$tmp/got" 2>&1 && cmp -s "$tmp/want" "$tmp/got" && return 0
    echo "$1 printed:"; cat "$tmp/got"; echo "expected:"; cat "$tmp/want"
    return 1
}
# shared_and_static SHARED STATIC: the first needs libsoa.so.0, the second
# carries libsoa in itself.
shared_and_static() {
    readelf -d "$1" | grep -q 'NEEDED.*\[libsoa\.so\.0\]' &&
        ! readelf -d "$2" | grep -q 'NEEDED.*libsoa'
}
both_print() { expect_output "$1/app" "$2" && expect_output "$1/app_shared" "$2"; }
# copy_project DIR: the project's sources only (never a build someone left
# in the source tree, whose body.h would shadow the generated one).
copy_project() {
    mkdir -p "$1/shared" "$1/cxx" &&
    for f in CMakeLists.txt Makefile main.c body.soa shared/common.soa cxx/main.cpp; do
        cp tests/integration/project/$f "$1/$f" || return 1
    done
}
set_hp() { # set_hp DIR VALUE: edits only the included schema
    sed "s/hp: i32 = [0-9]*;/hp: i32 = $2;/" "$1/shared/common.soa" > "$tmp/c.soa" &&
        cat "$tmp/c.soa" > "$1/shared/common.soa"
}

version=$(sed -n 's/^#define SOA_VERSION_STRING "\(.*\)"/\1/p' runtime/include/soa/soa.h)

# --- install and uninstall ------------------------------------------------
p1="$tmp/empty"; mkdir "$p1"
if quiet make BUILD="$build" install PREFIX="$p1"; then
    check "install wrote the files another project needs" test -x "$p1/bin/soac" \
        -a -f "$p1/lib/libsoa.a" -a -f "$p1/lib/libsoa.so.$version" \
        -a -L "$p1/lib/libsoa.so" -a -L "$p1/lib/libsoa.so.0" \
        -a -f "$p1/include/soa/soa.h" -a -f "$p1/lib/pkgconfig/soa.pc" \
        -a -f "$p1/lib/cmake/soac/soacConfig.cmake" \
        -a -f "$p1/lib/cmake/soac/soacConfigVersion.cmake" \
        -a -f "$p1/share/soac/soac.mk" -a -f "$p1/share/man/man1/soac.1"
    check "every public header is installed" \
        sh -c 'for h in runtime/include/soa/*.h; do cmp -s "$h" "$1/include/soa/${h##*/}" || exit 1; done' \
        sh "$p1"
    quiet make BUILD="$build" uninstall PREFIX="$p1"
    check "uninstall leaves an empty prefix empty" \
        test -d "$p1" -a -z "$(ls -A "$p1")"
else
    fail "make install PREFIX=$p1"
fi

p2="$tmp/used"; mkdir -p "$p2/bin" "$p2/share/soac"
echo keep > "$p2/bin/other"
if quiet make BUILD="$build" install PREFIX="$p2"; then
    t1=$(mtime "$p2/include/soa/soa.h") t2=$(mtime "$p2/lib/pkgconfig/soa.pc")
    tick; quiet make BUILD="$build" install PREFIX="$p2"
    check "reinstalling the same files keeps their mtimes (no rebuild cascades)" \
        test "$(mtime "$p2/include/soa/soa.h")" = "$t1" -a "$(mtime "$p2/lib/pkgconfig/soa.pc")" = "$t2"
    quiet make BUILD="$build" uninstall PREFIX="$p2"
    check "uninstall keeps what was there before install" \
        test "$(cd "$p2" && find . | sort | tr '\n' ' ')" = ". ./bin ./bin/other ./share ./share/soac "
else
    fail "make install into a used prefix"
fi

stage="$tmp/stage"
if quiet make BUILD="$build" install DESTDIR="$stage" PREFIX=/opt/soac-test; then
    check "DESTDIR stages under DESTDIR/PREFIX, files refer to PREFIX" \
        grep -qx 'prefix=/opt/soac-test' "$stage/opt/soac-test/lib/pkgconfig/soa.pc"
    quiet make BUILD="$build" uninstall DESTDIR="$stage" PREFIX=/opt/soac-test
    check "uninstall with DESTDIR removes every staged file" \
        test -z "$(find "$stage" ! -type d)"
else
    fail "make install DESTDIR=..."
fi

# --- the prefix the outside project builds against ---------------------
prefix="$tmp/prefix"
if ! quiet make BUILD="$build" install PREFIX="$prefix"; then
    fail "make install PREFIX=$prefix"; echo "$failed failed"; exit 1
fi
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
check "pkg-config finds soa $version" test "$(pkg-config --modversion soa)" = "$version"
check "pkg-config --libs soa is -L<prefix>/lib -lsoa -lpthread" \
    test "$(echo $(pkg-config --libs soa))" = "-L$prefix/lib -lsoa -lpthread"
bad_syms=$(nm -D --defined-only "$prefix/lib/libsoa.so" | awk '{ print $3 }' | grep -v '^soa_[^_]')
check "libsoa.so exports only public soa_ names${bad_syms:+ (also: $bad_syms)}" test -z "$bad_syms"
check "libsoa.so has soname libsoa.so.0" \
    sh -c 'readelf -d "$1" | grep -q "SONAME.*\[libsoa\.so\.0\]"' sh "$prefix/lib/libsoa.so"
# Which find_package(soac VERSION) requests the installed version file takes.
version_ok() { # version_ok REQUEST: prints TRUE or FALSE
    printf '%s\n' 'set(CMAKE_SIZEOF_VOID_P 8)' \
        "set(PACKAGE_FIND_VERSION \"$1\")" \
        'string(REPLACE "." ";" v "${PACKAGE_FIND_VERSION}")' \
        'list(LENGTH v PACKAGE_FIND_VERSION_COUNT)' \
        'list(APPEND v 0 0 0)' \
        'list(GET v 0 PACKAGE_FIND_VERSION_MAJOR)' \
        'list(GET v 1 PACKAGE_FIND_VERSION_MINOR)' \
        "include(\"$prefix/lib/cmake/soac/soacConfigVersion.cmake\")" \
        'message("${PACKAGE_VERSION_COMPATIBLE}")' > "$tmp/v.cmake"
    cmake -P "$tmp/v.cmake" 2>&1
}
if command -v cmake > /dev/null 2>&1; then
    answers=""
    for v in 0 0.1 "$version" 0.0.9 0.2 1.0; do answers="$answers $v:$(version_ok "$v")"; done
    check "find_package(soac V) accepts 0, 0.1, $version; refuses 0.0.9, 0.2, 1.0" \
        test "$answers" = " 0:TRUE 0.1:TRUE $version:TRUE 0.0.9:FALSE 0.2:FALSE 1.0:FALSE"
fi

man_page="$prefix/share/man/man1/soac.1"
render_man() {
    if command -v man > /dev/null 2>&1; then MANWIDTH=80 man --warnings -l "$1"
    else nroff -man -ww "$1"; fi
}
if ! command -v man > /dev/null 2>&1 && ! command -v nroff > /dev/null 2>&1; then
    echo "skip: neither man nor nroff is installed (the man page is not rendered)"
elif render_man "$man_page" > "$tmp/man.txt" 2> "$tmp/man.err" && [ ! -s "$tmp/man.err" ]; then
    missing=""
    for flag in $("$prefix/bin/soac" --help | sed -n 's/^  \(-[^ ,]*\).*/\1/p'); do
        grep -q -- "^ *$flag" "$tmp/man.txt" || missing="$missing $flag"
    done
    check "man soac renders and lists every option of --help${missing:+ (missing:$missing)}" \
        test -z "$missing"
else
    fail "the installed man page renders without warnings"; cat "$tmp/man.err"
fi

# --- the README's tour, in a directory of its own ------------------------
# The schema and program of the tour, built with the README's command lines
# for a build tree and for an installed prefix, from outside this checkout.
tour="$tmp/tour"; mkdir -p "$tour/tree" "$tour/prefix"
awk -v dir="$tour" -f tests/readme_tour.awk README.md
for d in tree prefix; do cp "$tour/hello.soa" "$tour/main.c" "$tour/$d/"; done
S=$(pwd) P=$prefix
case $build in /*) B=$build ;; *) B=$S/$build ;; esac
( cd "$tour/tree" && "$B/bin/soac" hello.soa &&
  cc -std=c11 -O2 -I"$S/runtime/include" -I. main.c "$B/lib/libsoa.a" \
     -lpthread -o hello ) > "$tmp/log" 2>&1 || cat "$tmp/log"
check "the tour builds outside the checkout, against the build tree" \
    test "$("$tour/tree/hello" 2>&1)" = "after 1 s: y = -9.81"
( cd "$tour/prefix" && "$P/bin/soac" hello.soa &&
  cc -std=c11 -O2 $(pkg-config --cflags soa) main.c $(pkg-config --libs soa) \
     -Wl,-rpath,"$P/lib" -o hello ) > "$tmp/log" 2>&1 || cat "$tmp/log"
check "the tour builds against an installed prefix (pkg-config, rpath)" \
    test "$("$tour/prefix/hello" 2>&1)" = "after 1 s: y = -9.81"

# --- plain make + pkg-config + soac.mk -----------------------------------
mk="$tmp/make-project"
copy_project "$mk"
if quiet make -C "$mk"; then
    check "make: static program runs" expect_output "$mk/app_static" 100
    check "make: shared program runs" expect_output "$mk/app" 100
    check "make: shared program needs libsoa.so.0, static one does not" \
        shared_and_static "$mk/app" "$mk/app_static"
    check "make: C++ program links and runs" \
        test "$("$mk/app_cxx")" = "c++ hp 100 team blue changed 1 y -2 libsoa $version"

    h0=$(mtime "$mk/body.h") g0=$(mtime "$mk/build/gen/body.h")
    o0=$(mtime "$mk/main.o") a0=$(mtime "$mk/app")
    tick; set_hp "$mk" 250
    quiet make -C "$mk"
    check "make: editing the included schema regenerates the header (%.h: %.soa)" \
        test "$(mtime "$mk/body.h")" != "$h0"
    check "make: ... and the one in build/gen (a rule with SOAC_RECIPE)" \
        test "$(mtime "$mk/build/gen/body.h")" != "$g0"
    check "make: ... recompiles and relinks" \
        test "$(mtime "$mk/main.o")" != "$o0" -a "$(mtime "$mk/app")" != "$a0"
    check "make: ... and the programs see the new default" expect_output "$mk/app" 250
    check "make: ... the C++ one too" \
        test "$("$mk/app_cxx")" = "c++ hp 250 team blue changed 1 y -2 libsoa $version"

    h1=$(mtime "$mk/body.h") a1=$(mtime "$mk/app")
    check "make: with nothing changed, make -q says up to date" make -q --no-print-directory -C "$mk"
    quiet make -C "$mk"
    check "make: ... and a rebuild touches nothing" \
        test "$(mtime "$mk/body.h")" = "$h1" -a "$(mtime "$mk/app")" = "$a1"

    tick; touch "$mk/shared/common.soa"
    quiet make -C "$mk"
    check "make: touching the included schema rewrites no header, relinks nothing" \
        test "$(mtime "$mk/body.h")" = "$h1" -a "$(mtime "$mk/app")" = "$a1"

    # A schema error: make stops with soac's FILE:LINE:COL diagnostic, the
    # last good header stays, and fixing the schema builds again.
    cp "$mk/body.h" "$tmp/body.h.good"
    tick; printf 'component Broken { x: f33; }\n' >> "$mk/shared/common.soa"
    if make -C "$mk" > "$tmp/err.log" 2>&1; then
        fail "make: a schema error fails the build"
    else
        check "make: a schema error fails the build with soac's FILE:LINE:COL message" \
            grep -q '^shared/common\.soa:[0-9]*:[0-9]*: error: ' "$tmp/err.log"
        check "make: ... and leaves the last good header as it was" \
            cmp -s "$mk/body.h" "$tmp/body.h.good"
    fi
    tick; sed '/Broken/d' "$mk/shared/common.soa" > "$tmp/c.soa" && cat "$tmp/c.soa" > "$mk/shared/common.soa"
    quiet make -C "$mk"
    check "make: ... and after the fix it builds again" expect_output "$mk/app" 250
else
    fail "make: the outside project builds"
fi

# --- CMake -----------------------------------------------------------------
cmake_project() { # cmake_project GENERATOR DIR SOAC_USE_SHARED
    gen=$1 src=$2 shared=$3 b="$2/build"
    copy_project "$src"
    if ! quiet cmake -S "$src" -B "$b" -G "$gen" -DCMAKE_PREFIX_PATH="$prefix" \
             -DSOAC_USE_SHARED="$shared" ||
       ! quiet cmake --build "$b"; then
        fail "cmake ($gen): the outside project configures and builds"; return
    fi
    hdr="$b/soac_gen/app/body.h"
    check "cmake ($gen): app (soac::soa) runs" expect_output "$b/app" 100
    check "cmake ($gen): app_shared (soac::soa_shared) runs" expect_output "$b/app_shared" 100
    if [ "$shared" = ON ]; then
        check "cmake ($gen): with SOAC_USE_SHARED, soac::soa links libsoa.so.0" \
            sh -c 'readelf -d "$1" | grep -q "NEEDED.*\[libsoa\.so\.0\]"' sh "$b/app"
    else
        check "cmake ($gen): soac::soa links libsoa.a, soac::soa_shared libsoa.so.0" \
            shared_and_static "$b/app_shared" "$b/app"
    fi

    h0=$(mtime "$hdr") a0=$(mtime "$b/app")
    tick; set_hp "$src" 250
    quiet cmake --build "$b"
    check "cmake ($gen): editing the included schema regenerates the header" \
        test "$(mtime "$hdr")" != "$h0"
    check "cmake ($gen): ... relinks the program" test "$(mtime "$b/app")" != "$a0"
    check "cmake ($gen): ... and both programs see the new default" \
        both_print "$b" 250

    h1=$(mtime "$hdr") a1=$(mtime "$b/app")
    if [ "$gen" = Ninja ]; then
        check "cmake ($gen): with nothing changed, ninja has no work to do" \
            sh -c 'ninja -C "$1" -n | grep -q "no work to do"' sh "$b"
    fi
    quiet cmake --build "$b"
    check "cmake ($gen): with nothing changed, a rebuild touches nothing" \
        test "$(mtime "$hdr")" = "$h1" -a "$(mtime "$b/app")" = "$a1"

    tick; touch "$src/shared/common.soa"
    quiet cmake --build "$b"
    check "cmake ($gen): touching the included schema rewrites no header, relinks nothing" \
        test "$(mtime "$hdr")" = "$h1" -a "$(mtime "$b/app")" = "$a1"
}
if command -v cmake > /dev/null 2>&1; then
    # Spaces in the paths: CMake quotes them, soac's depfile escapes them.
    cmake_project "Unix Makefiles" "$tmp/cmake make" OFF
    if command -v ninja > /dev/null 2>&1; then
        cmake_project Ninja "$tmp/cmake ninja" ON
    else
        echo "skip: ninja is not installed (CMake's Ninja generator untested)"
    fi
else
    fail "cmake is not installed"
fi

echo
if [ $failed -ne 0 ]; then echo "integration: $failed failed"; exit 1; fi
echo "integration: all passed"

#!/bin/sh
# Every public runtime header compiles on its own, with no warning, as C99,
# C11 (gcc and clang) and C++17 (g++ and clang++), under the strictest flags
# we promise users (in C++ also -Wold-style-cast and
# -Wzero-as-null-pointer-constant).
cd "$(dirname "$0")/.." || exit 2
strict="-Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
# soa/mpi.h needs MPI's headers: mpicc's include flags, as -isystem (MPI's
# own header is not ours to keep warning-free).
mpi_inc=""
if command -v mpicc >/dev/null 2>&1 && f=$(mpicc --showme:compile 2>/dev/null); then
    for x in $f; do case "$x" in -I*) mpi_inc="$mpi_inc -isystem ${x#-I}" ;; esac; done
fi
for h in runtime/include/soa/*.h; do
    extra_inc=""
    if [ "$(basename "$h")" = mpi.h ]; then
        [ -n "$mpi_inc" ] || { echo "SKIPPED: $h (no mpicc)"; continue; }
        extra_inc=$mpi_inc
    fi
    printf '#include "soa/%s"\n#include "soa/%s"\nint soa_header_test_dummy;\n' \
        "$(basename "$h")" "$(basename "$h")" > "$tmp/t.c"
    cp "$tmp/t.c" "$tmp/t.cpp"
    for cc in "gcc -std=c99" "gcc -std=c11" "clang -std=c99" "clang -std=c11" \
              "g++ -std=c++17" "clang++ -std=c++17"; do
        case "$cc" in
        *++*) src="$tmp/t.cpp"; extra="-Wold-style-cast -Wzero-as-null-pointer-constant" ;;
        *) src="$tmp/t.c"; extra="" ;;
        esac
        if ! $cc $strict $extra $extra_inc -Iruntime/include -c "$src" -o "$tmp/t.o" 2>"$tmp/err"; then
            echo "FAIL: $h with $cc"; cat "$tmp/err"; fail=1
        fi
    done
done
# The public macros, expanded in the user's code (a macro that casts the
# C way warns there, not in the header).
cat > "$tmp/m.c" <<'EOM'
#include "soa/soa.h"
#ifdef SOA_TEST_MPI
#include "soa/mpi.h"
#endif
void soa_macros_test(void);
void soa_macros_test(void)
{
    soa_entity e = SOA_ENTITY_NULL;
    soa_cid c = SOA_CID_INVALID;
    size_t off = SOA_ARENA_BAD_OFFSET, room = SOA_REGION_DEFAULT_BYTES;
    int64_t forever = SOA_WAIT_FOREVER;
    void *none = SOA_NULL;
#ifdef SOA_TEST_MPI
    soa_gid g = SOA_GID_NULL;
    int all = SOA_MPI_ALL, none_rank = SOA_MPI_NONE;
    (void)g, (void)all, (void)none_rank;
#endif
    (void)e, (void)c, (void)off, (void)room, (void)forever, (void)none;
}
EOM
cp "$tmp/m.c" "$tmp/m.cpp"
for cc in "gcc -std=c99" "clang -std=c11" "g++ -std=c++17" "clang++ -std=c++17"; do
    case "$cc" in
    *++*) src="$tmp/m.cpp"; extra="-Wold-style-cast -Wzero-as-null-pointer-constant" ;;
    *) src="$tmp/m.c"; extra="" ;;
    esac
    if ! $cc $strict $extra ${mpi_inc:+-DSOA_TEST_MPI $mpi_inc} -Iruntime/include -c "$src" -o "$tmp/m.o" 2>"$tmp/err"; then
        echo "FAIL: the public macros with $cc"; cat "$tmp/err"; fail=1
    fi
done
# What a C++ user compiles: every public header and a generated header in
# one unit, under the C++ flags above.  The committed headers cover enums
# (negative values too), arrays, tags, includes and systems.  soa/mpi.h is
# in it when MPI's headers are here.
for h in generated/*.h tests/compiler/golden/*.h; do
    { for p in runtime/include/soa/*.h; do
          [ "$(basename "$p")" = mpi.h ] && [ -z "$mpi_inc" ] && continue
          printf '#include "soa/%s"\n' "$(basename "$p")"
      done
      printf '#include "%s"\nint soa_generated_test_dummy;\n' "$(basename "$h")"; } > "$tmp/g.cpp"
    for cxx in "clang++ -std=c++17" "g++ -std=c++17"; do
        if ! $cxx $strict -Wold-style-cast -Wzero-as-null-pointer-constant $mpi_inc \
                -Iruntime/include -I"$(dirname "$h")" -c "$tmp/g.cpp" -o "$tmp/g.o" 2>"$tmp/err"; then
            echo "FAIL: $h with every public header, $cxx"; head -20 "$tmp/err"; fail=1
        fi
    done
done
[ $fail -eq 0 ] && echo "all public headers compile cleanly (C99, C11, C++17; gcc, clang), and with each generated header in C++"
exit $fail
